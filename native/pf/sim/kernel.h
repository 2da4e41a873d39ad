// The simulated pf kernel: answers pf's state ioctls with the same command numbers, structs and
// kill semantics as FreeBSD, from an in-memory table. Which ioctls exist depends on the
// personality (FreeBSD 12, 13.1+, 14, 15 with or without COMPAT_FREEBSD14), so the device
// layer's probing is exercised exactly as on real kernels. Always chosen explicitly.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pf/ioctl_target.h"
#include "pf/kill_filter.h"
#include "pf/sim/table.h"

namespace pf::sim {

struct Personality {
  int major = 14;         // 12 (12.x/13.0), 13 (13.1+), 14, 15
  int minor = -1;         // 14 only: 0 = 14.0-RELEASE (see Is140); -1 = a later 14.x
  bool compat14 = false;  // 15 only: kernel built with COMPAT_FREEBSD14 keeps DIOCGETSTATES/V2

  // Quirks of real kernels the model reproduces (README "simulated kernel"):
  // GETSTATES stores PF_ST_AF into the proto filter (a late-2023 pf_nl.c: `.off = _OUT(proto)`).
  bool afIntoProto = false;
  // Every n-th state is silently left out of every state dump (ioctl and netlink) while the
  // status counter still counts it: a kernel whose status disagrees with its dump.
  uint32_t dumpDropEvery = 0;

  // 14.0: pf_nl.c has GETSTATES/GETCREATORS/START/STOP only, with no state filters (D42280 came
  // later), and pf_kstate_kill has no psk_nat (the NV "nat" key is ignored).
  bool Is140() const { return major == 14 && minor == 0; }
  // psk_nat: in every kernel whose pfctl family has KILLSTATES (pf_nl.h has PF_CS_NAT = 12 from
  // the first version with it) and in 15; not in 12.x/13.x (pf_nv.c reads no "nat") nor 14.0.
  bool HasPskNat() const { return major >= 15 || (major == 14 && !Is140()); }
};

class Kernel : public IoctlTarget {
 public:
  explicit Kernel(Personality p, uint32_t hostid = 0x0badc0de);

  int Ioctl(uint32_t cmd, void* arg) override;
  std::string Name() const override;

  // ---- the kernel's own operations (what pf_ioctl.c calls) ----
  uint32_t KillStates(const KillFilter& f);   // pf_killstates semantics of this personality
  uint32_t ClearStates(const KillFilter& f);  // pf_clear_states
  bool StructKillAvailable() const { return p_.major <= 14; }
  bool NvAvailable() const { return p_.major >= 13; }
  bool StructReadAvailable() const { return p_.major <= 14 || p_.compat14; }
  bool V2Available() const { return p_.major >= 13 && StructReadAvailable(); }
  uint64_t StateVersion() const { return p_.major >= 14 ? kStateVersion14 : kStateVersion13; }

  // ---- loading and test hooks ----
  // Adds a state; returns false on a duplicate (id, creatorid). id 0 gets the next kernel id.
  bool Insert(pf_state_export rec);
  uint64_t NextId();
  // The main ruleset's filter rules are 0..n-1, n = 1 + the highest rule given labels here.
  void SetRuleLabels(uint32_t rule, std::vector<std::string> labels) {
    ruleLabels_[rule] = std::move(labels);
    ruleTicket_++;
  }
  uint32_t RuleCount() const { return ruleLabels_.empty() ? 0 : ruleLabels_.rbegin()->first + 1; }
  uint32_t RuleTicket() const { return ruleTicket_; }
  // Labels of main-ruleset rule `nr` (empty if none, or nr is not a rule).
  const std::vector<std::string>& RuleLabels(uint32_t nr) const;
  // Emulates churn: the next state read (after a size probe, or a netlink dump) first adds this
  // many states and removes `shrink` (the oldest), as connections come and go during a read.
  void GrowBeforeNextFetch(uint32_t n, uint32_t shrink = 0) {
    growBeforeFetch_ = n;
    shrinkBeforeFetch_ = shrink;
  }
  void BeforeDump() { MaybeGrow(); }
  // True when the dump quirk leaves out the state in `slot` (dumpDropEvery).
  bool DumpDrops(int32_t slot) const { return p_.dumpDropEvery && uint32_t(slot) % p_.dumpDropEvery == p_.dumpDropEvery - 1; }
  // Fault injection for the ABI checks: a kernel whose sizes or record version statekill does not
  // know. `probeSkew` bytes are added to every size probe; `exportVersion` replaces the version
  // written into pf_state_export records (0 = the personality's own).
  void InjectAbiFault(int probeSkew, uint64_t exportVersion) {
    probeSkew_ = probeSkew;
    exportVersion_ = exportVersion;
  }

  Table& table() { return table_; }
  const Personality& personality() const { return p_; }
  uint32_t hostid() const { return hostid_; }
  uint64_t ioctlCount() const { return ioctls_; }

 private:
  int GetStates(pfioc_states* ps);
  int GetStatesV2(pfioc_states_v2* ps);
  int GetStatus(pf_status* st);
  int KillStatesStruct(pfioc_state_kill* psk, bool clear);
  int NvIoctl(uint32_t cmd, pfioc_nv* nv);
  int RuleIoctl(uint32_t cmd, void* arg);  // DIOCGETRULES / DIOCGETRULE / DIOCGETRULENV (rules.cc)
  bool LabelMatches(uint32_t ruleBE, const char* label) const;
  bool Matches(const pf_state_export& s, const KillFilter& f) const;
  uint32_t KillMatching(const KeyCmp& k, uint8_t dir);
  void MaybeGrow();

  Personality p_;
  uint32_t hostid_;
  uint64_t idCounter_ = 0;
  uint64_t ioctls_ = 0;
  uint32_t growBeforeFetch_ = 0, shrinkBeforeFetch_ = 0;
  uint32_t ruleTicket_ = 1;
  int probeSkew_ = 0;
  uint64_t exportVersion_ = 0;
  Table table_;
  std::map<uint32_t, std::vector<std::string>> ruleLabels_;
};

}  // namespace pf::sim
