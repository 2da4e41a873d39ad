// statekill's pf netlink client: resolves the "pfctl" family and its operation list, streams
// GETSTATES into 384-byte pf_state_export records chunk by chunk, kills by id in batches, kills
// by filter, clears. One verb per function, no policy. Throws NlError.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pf/kill_filter.h"
#include "pf/netlink/endpoint.h"
#include "pf/netlink/requests.h"

namespace pf::nl {

struct FamilyInfo {
  uint16_t id = 0;
  uint32_t version = 0;
  std::vector<uint32_t> ops;  // command ids the running kernel lists
  bool Has(uint32_t cmd) const;
};

struct KillTally {
  uint32_t killed = 0, alreadyGone = 0, failed = 0;
};

struct NlStatus {
  uint32_t states = 0;  // PF_GS_STATES: V_pf_status.states
  uint32_t hostid = 0;  // the raw in-kernel hostid (a record's creatorid for local states)
};

// Bound on the rules one GETRULES may announce before statekill asks for each (pfSense rulesets
// hold thousands; this only stops a corrupt count from looping).
constexpr int64_t kMaxRules = 1 << 20;

class Client {
 public:
  explicit Client(EndpointFactory factory);

  // CTRL_CMD_GETFAMILY "pfctl". ENOENT when the kernel has no pf family (13.x and older).
  void Resolve();
  const FamilyInfo& family() const { return fam_; }
  const std::string& endpointName() const { return name_; }

  // Starts a dump (abandoning any unfinished one).
  void StartStates(const StateQuery& q);
  // Parses whole state messages into `out` (room for `capRecords` 384-byte records). Reads more
  // socket data only when the parsed data runs out, so memory is bounded by the receive buffer.
  size_t ReadStates(uint8_t* out, size_t capRecords, bool* done);
  bool dumping() const { return dumping_; }

  // Per entry: 0 killed, 1 already gone, -errno. id 0 is refused without sending (-EINVAL): pf
  // would read it as a filter kill matching every state. `batch` messages per write.
  KillTally KillByIds(const uint64_t* ids, const uint32_t* creators, size_t n, int32_t* out, size_t batch = 256);
  // KILLSTATES / CLRSTATES with a filter; returns PF_CS_KILLED.
  uint32_t Kill(uint8_t cmd, const KillFilter& f);
  // GET_STATUS (15-era): the state counter and host id.
  NlStatus Status();
  // GETRULES + one GETRULE per rule: the labels of the main ruleset's filter rules, by number.
  std::vector<std::vector<std::string>> RuleLabels();

 private:
  Endpoint& cmd();
  void Require(uint8_t command) const;
  void Transact(uint8_t command, const Writer& w, uint32_t seq, const std::function<void(const Attr&)>& onAttr);
  uint32_t NextSeq() { return ++seq_; }
  void AbandonDump();

  EndpointFactory factory_;
  std::unique_ptr<Endpoint> cmd_, dump_;
  std::string name_;
  FamilyInfo fam_;
  uint32_t seq_ = 0;
  // The dump's receive buffer: [rxPos_, rxLen_) not yet parsed.
  std::vector<uint8_t> rx_;
  size_t rxPos_ = 0, rxLen_ = 0;
  uint32_t dumpSeq_ = 0;
  bool dumping_ = false;
  std::vector<uint8_t> cmdRx_;
};

// Receive buffer per recv: whole messages up to this size (a state message is ~0.5 KiB).
constexpr size_t kRecvBytes = 256 * 1024;

}  // namespace pf::nl
