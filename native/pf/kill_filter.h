// The kernel's parsed form of every state kill/clear request (FreeBSD's pf_kstate_kill), whatever
// transport carried it: struct pfioc_state_kill, the DIOCKILLSTATESNV/DIOCCLRSTATESNV nvlist, or a
// netlink PFNL_CMD_KILLSTATES/CLRSTATES message. Both the device layer (building requests) and the
// simulated kernel (answering them) use it.
#pragma once
#include <cstdint>
#include <cstring>

#include "pf/abi.h"

namespace pf {

struct KillFilter {
  uint64_t id = 0;         // raw; non-zero = kill exactly that state (all other fields ignored)
  uint32_t creatorid = 0;  // raw; 0 = the host's own hostid
  uint8_t direction = 0;
  uint8_t af = 0;  // 0 = any
  int proto = 0;   // 0 = any
  pf_rule_addr src{}, dst{}, rt_addr{};
  char ifname[kIfNameSize]{};
  char label[kRuleLabelSize]{};
  bool kill_match = false;  // also kill the unique opposite-direction state (13.1+ NV/netlink only)
  bool nat = false;         // match on the stack key instead of the wire key

  // True when the request would match every state: no id, no af/proto, no address with a
  // non-zero mask or negation, no ports, no interface, no label. pf treats that as "kill all".
  bool MatchesEverything() const {
    auto openAddr = [](const pf_rule_addr& a) {
      static const pf_addr zero{};
      return a.neg == 0 && a.port_op == 0 && std::memcmp(&a.addr.v.a.mask, &zero, sizeof zero) == 0 &&
             a.addr.type == kAddrAddrMask;
    };
    return id == 0 && af == 0 && proto == 0 && openAddr(src) && openAddr(dst) && openAddr(rt_addr) &&
           ifname[0] == 0 && label[0] == 0;
  }
};

}  // namespace pf
