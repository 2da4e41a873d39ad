// The simulated kernel's netlink socket: accepts request bytes and produces the reply bytes
// pf_nl.c and the generic netlink controller would. GETSTATES is produced lazily, a receive
// buffer at a time, so a dump of millions of states never exists in memory as a whole.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "pf/netlink/endpoint.h"
#include "pf/netlink/nl_wire.h"
#include "pf/sim/kernel.h"
#include "pf/sim/netlink_codec.h"

namespace pf::sim {

// The family id the simulated controller hands out for "pfctl" (dynamic on a real kernel).
constexpr uint16_t kSimPfFamilyId = 0x1e;

// The commands a personality's pfctl family lists; empty for 12 and 13 (no family).
std::vector<uint32_t> NetlinkOpsFor(const Personality& p);

class NetlinkResponder : public nl::Endpoint {
 public:
  // `ops` overrides the personality's list (an early 14.0 kernel lists only 1-4); not owned: kernel.
  NetlinkResponder(Kernel* k, std::vector<uint32_t> ops);

  void Send(const uint8_t* p, size_t n) override;
  size_t Recv(uint8_t* buf, size_t cap) override;
  std::string Name() const override { return "netlink (" + k_->Name() + ")"; }
  // Fault injection for tests: the n-th state message of every dump (0-based) gets a 3-byte
  // PF_ST_RULE, as a buggy or foreign kernel might send.
  void CorruptStateMessage(int64_t n) { corruptAt_ = n; }

 private:
  void Handle(const nl::Msg& m);
  void HandleCtrl(const nl::Msg& m);
  void HandleGetStates(const nl::Msg& m);
  void HandleKill(const nl::Msg& m, uint8_t cmd);
  void HandleGetCreators(const nl::Msg& m);
  void HandleGetStatus(const nl::Msg& m);
  void HandleGetRules(const nl::Msg& m);
  void HandleGetRule(const nl::Msg& m);
  void ReplyError(const nl::Msg& m, int err);
  void Done(uint32_t seq, uint32_t pid, int err);
  bool DumpMatches(const pf_state_export& s) const;
  void ProduceDump(size_t budget);

  Kernel* k_;
  std::vector<uint32_t> ops_;
  nl::Writer out_;  // reply bytes not yet received; [outPos_, size) pending
  size_t outPos_ = 0;
  // The GETSTATES dump in progress: next table slot to look at.
  bool dumping_ = false;
  int32_t cursor_ = 0;
  uint32_t dumpSeq_ = 0, dumpPid_ = 0;
  StateFilter filter_;
  int64_t corruptAt_ = -1;
  int64_t emitted_ = 0;
};

}  // namespace pf::sim
