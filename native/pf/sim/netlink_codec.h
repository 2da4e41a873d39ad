// The simulated kernel's side of the pfctl netlink family: how pf_nl.c writes a state message and
// parses kill/clear and GETSTATES requests. Kept apart from the responder so tests can drive it.
#pragma once
#include <cstdint>
#include <string>

#include "pf/abi.h"
#include "pf/kill_filter.h"
#include "pf/netlink/nl_wire.h"
#include "pf/netlink/requests.h"

namespace pf::sim {

// One GETSTATES reply message for `s` (a record in V2 byte orders): integers in host order,
// creatorid as htonl(creatorid), ports and addresses as stored. `major` 15 adds the 15-era attrs.
void EncodeStateMsg(nl::Writer& w, const pf_state_export& s, uint16_t family, uint16_t flags, uint32_t seq,
                    uint32_t pid, int major);

// KILLSTATES/CLRSTATES request -> the kernel's pf_kstate_kill. 0 or the errno the kernel's
// attribute parser answers (EINVAL for a wrong-size attribute or an unterminated string).
int ParseKillMsg(const nl::Msg& m, KillFilter* f);

// GETSTATES request filters. `id` is the single-state get (u32: the kernel's parser quirk).
struct StateFilter {
  nl::StateQuery q;
  uint32_t id = 0;
  uint32_t creatorid = 0;
};
// `afIntoProto`: the defect of a late-2023 pf_nl.c (`{ .type = PF_ST_AF, .off = _OUT(proto), .cb =
// nlattr_get_uint8 }`): PF_ST_AF's byte lands in the low byte of the u16 proto filter and the af
// filter stays 0. Attributes are applied in message order, so a PROTO after AF overwrites it.
int ParseStateQuery(const nl::Msg& m, StateFilter* f, bool afIntoProto = false);

// GETRULES / GETRULE requests (pf_getrules_type_t).
struct RuleQuery {
  std::string anchor;
  uint8_t action = 0;
  uint32_t nr = 0, ticket = 0;
};
int ParseRuleQuery(const nl::Msg& m, RuleQuery* q);

}  // namespace pf::sim
