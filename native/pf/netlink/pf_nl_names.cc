// Attribute and command names for error messages ("PF_ST_KEY_WIRE.PF_STK_ADDR0: 3 bytes").
#include <string>

#include "pf/netlink/pf_nl_defs.h"

namespace pf::nl {

namespace {
template <size_t N>
const char* Lookup(const char* const (&names)[N], uint16_t t) {
  return t < N && names[t] ? names[t] : nullptr;
}
// Unknown ids (newer kernels) get a generic name; no allocation, since the decoder asks per attribute.
const char* Unknown(const char* prefix, uint16_t) { return prefix; }
}  // namespace

const char* StateAttrName(uint16_t t) {
  static const char* const n[] = {
      nullptr, "PF_ST_ID", "PF_ST_CREATORID", "PF_ST_IFNAME", "PF_ST_ORIG_IFNAME", "PF_ST_KEY_WIRE",
      "PF_ST_KEY_STACK", "PF_ST_PEER_SRC", "PF_ST_PEER_DST", "PF_ST_RT_ADDR", "PF_ST_RULE", "PF_ST_ANCHOR",
      "PF_ST_NAT_RULE", "PF_ST_CREATION", "PF_ST_EXPIRE", "PF_ST_PACKETS0", "PF_ST_PACKETS1", "PF_ST_BYTES0",
      "PF_ST_BYTES1", "PF_ST_AF", nullptr, "PF_ST_PROTO", "PF_ST_DIRECTION", "PF_ST_LOG", "PF_ST_TIMEOUT",
      "PF_ST_STATE_FLAGS", "PF_ST_SYNC_FLAGS", "PF_ST_UPDATES", "PF_ST_VERSION", "PF_ST_FILTER_ADDR",
      "PF_ST_FILTER_MASK", "PF_ST_RTABLEID", "PF_ST_MIN_TTL", "PF_ST_MAX_MSS", "PF_ST_DNPIPE", "PF_ST_DNRPIPE",
      "PF_ST_RT", "PF_ST_RT_IFNAME", "PF_ST_SRC_NODE_FLAGS", "PF_ST_RT_AF"};
  const char* s = Lookup(n, t);
  return s ? s : Unknown("PF_ST_(unknown)", t);
}

const char* KeyAttrName(uint16_t t) {
  static const char* const n[] = {nullptr, "PF_STK_ADDR0", "PF_STK_ADDR1", "PF_STK_PORT0", "PF_STK_PORT1",
                                  "PF_STK_AF", "PF_STK_PROTO"};
  const char* s = Lookup(n, t);
  return s ? s : Unknown("PF_STK_(unknown)", t);
}

const char* PeerAttrName(uint16_t t) {
  static const char* const n[] = {nullptr, "PF_STP_PFSS_FLAGS", "PF_STP_PFSS_TTL", "PF_STP_SCRUB_FLAG",
                                  "PF_STP_PFSS_TS_MOD", "PF_STP_SEQLO", "PF_STP_SEQHI", "PF_STP_SEQDIFF",
                                  "PF_STP_MAX_WIN", "PF_STP_MSS", "PF_STP_STATE", "PF_STP_WSCALE"};
  const char* s = Lookup(n, t);
  return s ? s : Unknown("PF_STP_(unknown)", t);
}

const char* ClearAttrName(uint16_t t) {
  static const char* const n[] = {nullptr, "PF_CS_CMP_ID", "PF_CS_CMP_CREATORID", "PF_CS_CMP_DIR", "PF_CS_AF",
                                  "PF_CS_PROTO", "PF_CS_SRC", "PF_CS_DST", "PF_CS_RT_ADDR", "PF_CS_IFNAME",
                                  "PF_CS_LABEL", "PF_CS_KILL_MATCH", "PF_CS_NAT", "PF_CS_KILLED"};
  const char* s = Lookup(n, t);
  return s ? s : Unknown("PF_CS_(unknown)", t);
}

const char* CmdName(uint8_t c) {
  static const char* const n[] = {nullptr, "GETSTATES", "GETCREATORS", "START", "STOP", "ADDRULE", "GETRULES",
                                  "GETRULE", "CLRSTATES", "KILLSTATES", "SET_STATUSIF", "GET_STATUS"};
  const char* s = Lookup(n, c);
  return s ? s : Unknown("CMD_", c);
}

}  // namespace pf::nl
