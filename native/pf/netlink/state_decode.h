// One GETSTATES reply message -> one pf_state_export record (the 14.x V2 layout the engine reads).
#pragma once
#include <cstdint>

#include "pf/abi.h"
#include "pf/netlink/nl_wire.h"

namespace pf::nl {

// Fills *out from the message's attributes (after the genlmsghdr). Netlink integers are host order
// except ports and addresses; the record keeps V2's byte orders (rule/creation/expire and the peer
// fields big-endian) and creatorid as the raw in-kernel value (the dump carries htonl of it).
// Unknown attributes are skipped; a malformed one throws NlError(EBADMSG) naming it.
void DecodeState(const Msg& m, pf_state_export* out);

}  // namespace pf::nl
