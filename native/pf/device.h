// statekill's view of a pf kernel: probes which state ioctls answer (pf-abi.md section 7), reads
// every state into caller memory, kills by (id, creatorid) in batches, flushes, kills by filter.
// Works over any IoctlTarget: the real /dev/pf or the simulated kernel.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/kernel_error.h"
#include "pf/ioctl_target.h"
#include "pf/kill_filter.h"

namespace pf {

// A refusal or kernel error; the binding turns it into StatekillError(errno, code).
using DeviceError = sk::KernelError;

enum class ReadPath { None, V2, Struct1301 };
enum class KillPath { None, Nv, Struct };

struct ReadResult {
  size_t bytes = 0;        // whole records written
  size_t needed = 0;       // the kernel's size estimate, when the buffer was too small
  bool truncated = false;  // retry with a larger buffer (pf fills silently up to what fits)
};

struct KillCounts {
  uint32_t killed = 0, alreadyGone = 0, failed = 0;
};

struct StatusCount {
  uint32_t states = 0;  // pf_status.states (V_pf_status.states: refreshed by pf's purge thread)
  uint32_t hostid = 0;
  const char* source = "none";  // which ioctl answered
};

// Open /dev/pf (or another path) read-write: kills need FWRITE. Throws DeviceError.
std::unique_ptr<IoctlTarget> OpenRealDevice(const std::string& path);

class Device {
 public:
  explicit Device(IoctlTarget* target);  // not owned

  void Probe();  // throws DeviceError(E_NO_PF / E_ABI_MISMATCH) when nothing known answers

  ReadPath readPath() const { return read_; }
  // Whether DIOCGETSTATES (242-byte pfsync_state) answers beside DIOCGETSTATESV2: a compact read,
  // for selections that need none of the fields only the export record has (issue 14).
  bool compactRead() const { return read_ == ReadPath::V2 && structRead_; }
  KillPath killPath() const { return kill_; }        // filter kills and flush
  KillPath killByIdPath() const { return killById_; }
  size_t recordSize() const { return read_ == ReadPath::V2 ? 384 : 242; }
  bool hasRouteInfo() const { return hasRouteInfo_; }
  uint64_t stateVersion() const { return v2Version_; }
  const std::string& target() const;

  // Bytes the kernel says the table needs now (a size probe). `compact`: for the DIOCGETSTATES
  // read where compactRead() (ignored elsewhere: the one read there is).
  size_t ProbeBytes(bool compact = false);
  // Fill buf with whole records. truncated = the table may not have fit; grow and call again.
  ReadResult Read(uint8_t* buf, size_t cap, bool compact = false);

  // One result per entry: 0 killed, 1 already gone, -errno failed. id 0 is refused (-EINVAL):
  // pf would treat it as a filter kill matching every state.
  KillCounts KillByIds(const uint64_t* ids, const uint32_t* creators, size_t n, int32_t* out);
  uint32_t Flush(const char* ifname, bool killMatch);
  uint32_t KillByFilter(const KillFilter& f);  // refuses a filter that matches everything
  uint32_t StateCount();
  // The kernel's state counter and host id: DIOCGETSTATUSNV, else DIOCGETSTATUS, else (no status
  // ioctl) the size probe's count with hostid 0.
  StatusCount Status();
  const char* statusPath() const { return nvStatus_ ? "DIOCGETSTATUSNV" : structStatus_ ? "DIOCGETSTATUS" : "none"; }

  // Labels of the main ruleset's filter rules, by rule number: DIOCGETRULES, then per rule
  // DIOCGETRULENV (13.0+) or the struct DIOCGETRULE (12.x: one label). device_rules.cc.
  std::vector<std::vector<std::string>> RuleLabels();
  // sizeof(struct pfioc_rule) of this kernel (learnt; 0 = no DIOCGETRULES), and the rule path.
  uint32_t PfiocRuleSize();
  const char* rulePath() const { return rulePath_; }

 private:
  int ProbeNv();
  int NvKillById(uint64_t id, uint32_t creator, uint32_t* killed);
  int NvKill(const KillFilter& f, bool clear, uint32_t* killed);
  int NvStatus(uint32_t* states, uint32_t* hostid);
  int StructKill(const KillFilter& f, bool clear, uint32_t* killed);
  int NvGetRule(uint32_t ticket, uint32_t nr, std::vector<std::string>* labels);

  void CheckExportVersion(const uint8_t* buf, size_t bytes);  // throws E_ABI_MISMATCH
  ReadPath PathFor(bool compact) const { return compact && compactRead() ? ReadPath::Struct1301 : read_; }

  IoctlTarget* t_;
  std::string name_;
  ReadPath read_ = ReadPath::None;
  bool structRead_ = false;
  KillPath kill_ = KillPath::None;
  KillPath killById_ = KillPath::None;
  uint64_t v2Version_ = 0;
  bool hasRouteInfo_ = false;
  bool nvStatus_ = false, structStatus_ = false;
  int64_t pfiocRuleSize_ = -1;  // -1 = not probed yet
  const char* rulePath_ = "none";
  std::shared_ptr<void> nvTemplate_;  // the packed by-id request, patched per state (device_nv.cc)
};

}  // namespace pf
