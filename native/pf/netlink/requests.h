// Request builders for the pfctl family (what libpfctl sends): family resolution, GETSTATES with
// the kernel-side filters, KILLSTATES/CLRSTATES from a pf::KillFilter. Each appends one message.
#pragma once
#include <cstdint>

#include "pf/abi.h"
#include "pf/kill_filter.h"
#include "pf/netlink/nl_wire.h"

namespace pf::nl {

// The kernel-side GETSTATES filters (D42280). Zero/empty = no filter. `addr`/`mask` match when any
// of the four key addresses (wire and stack, both ends) match under the mask.
struct StateQuery {
  char ifname[kIfNameSize]{};  // compared with the state's interface ("all" for floating states)
  uint8_t af = 0;
  uint16_t proto = 0;
  bool hasAddr = false;
  pf_addr addr{}, mask{};
  // Diagnostics only (doctor): send PF_ST_AF without the PF_ST_PROTO that always follows it, to see
  // whether this kernel has the af-into-proto defect. Never used to read states for a kill.
  bool afAlone = false;
};

void AddGetFamily(Writer& w, uint32_t seq, const char* name);
void AddGetStates(Writer& w, uint16_t family, uint32_t seq, const StateQuery& q);
// cmd = kCmdKillStates or kCmdClrStates. creatorid is the raw in-kernel value (a record's own
// field; from a netlink dump that is ntohl(dumped)); a by-id request carries only id + creatorid.
void AddKillStates(Writer& w, uint16_t family, uint8_t cmd, uint32_t seq, const KillFilter& f);
void AddKillById(Writer& w, uint16_t family, uint32_t seq, uint64_t id, uint32_t creatorid);
// GETRULES / GETRULE of the main ruleset's filter rules (anchor "", action PF_PASS); GET_STATUS.
void AddGetRules(Writer& w, uint16_t family, uint32_t seq);
void AddGetRule(Writer& w, uint16_t family, uint32_t seq, uint32_t ticket, uint32_t nr);
void AddGetStatus(Writer& w, uint16_t family, uint32_t seq);

}  // namespace pf::nl
