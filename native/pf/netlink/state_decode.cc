#include "pf/netlink/state_decode.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "pf/netlink/pf_nl_defs.h"
#include "pf/record_codec.h"

namespace pf::nl {

namespace {

// An attribute's name for errors: "PF_ST_RULE" or "PF_ST_KEY_WIRE.PF_STK_ADDR0". Built only when
// something is wrong, so the per-state hot path allocates nothing.
struct Where {
  const char* outer;  // the enclosing attribute, or nullptr at the top level
  AttrReader::NameFn names;
  uint16_t type;
  std::string str() const { return outer ? std::string(outer) + "." + names(type) : std::string(names(type)); }
};
const char* Literal(uint16_t) { return "genlmsghdr"; }

[[noreturn]] void Bad(const Where& w, const std::string& what) {
  throw NlError(EBADMSG, "EBADMSG", "malformed pf state message: " + w.str() + ": " + what);
}

void NeedLen(const Attr& a, size_t n, const Where& w) {
  if (a.len != n) Bad(w, std::to_string(a.len) + " bytes, expected " + std::to_string(n));
}
uint8_t GetU8(const Attr& a, const Where& w) { NeedLen(a, 1, w); return a.data[0]; }
uint16_t GetU16(const Attr& a, const Where& w) { NeedLen(a, 2, w); return Rd16(a.data); }
uint32_t GetU32(const Attr& a, const Where& w) { NeedLen(a, 4, w); return Rd32(a.data); }
uint64_t GetU64(const Attr& a, const Where& w) { NeedLen(a, 8, w); return Rd64(a.data); }

// An address attribute: 4 bytes (IPv4, first word of pf_addr) or 16 (IPv6), network order.
void GetAddr(const Attr& a, const Where& w, pf_addr* out) {
  if (a.len != 4 && a.len != 16) Bad(w, std::to_string(a.len) + " bytes, expected 4 or 16");
  std::memset(out, 0, sizeof *out);
  std::memcpy(out->a8, a.data, a.len);
}

// A NUL-terminated string that must fit the record's field (IFNAMSIZ including the NUL).
void GetName(const Attr& a, const Where& w, char* out, size_t cap) {
  size_t n = strnlen(reinterpret_cast<const char*>(a.data), a.len);
  if (n >= cap) Bad(w, "string of " + std::to_string(n) + " bytes does not fit " + std::to_string(cap - 1));
  std::memset(out, 0, cap);
  std::memcpy(out, a.data, n);
}

// Fills the key; *af/*proto get the key's own PF_STK_AF/PF_STK_PROTO (15+), else stay 0.
void DecodeKey(const Attr& outer, const char* name, pfsync_state_key* k, uint8_t* af, uint8_t* proto) {
  std::memset(k, 0, sizeof *k);
  AttrReader r(outer.data, outer.len, name, KeyAttrName);
  Attr a;
  while (r.Next(&a)) {
    Where n{name, KeyAttrName, a.type};
    switch (a.type) {
      case kStkAddr0: GetAddr(a, n, &k->addr[0]); break;
      case kStkAddr1: GetAddr(a, n, &k->addr[1]); break;
      case kStkPort0: k->port[0] = GetU16(a, n); break;  // network order, kept as is
      case kStkPort1: k->port[1] = GetU16(a, n); break;
      case kStkAf: *af = GetU8(a, n); break;  // 15: per-key af (af-to: the keys differ)
      case kStkProto: {                        // u16 on the wire, a protocol number in the key
        uint16_t p = GetU16(a, n);
        if (p > 255) Bad(n, "protocol " + std::to_string(p) + " out of range");
        *proto = uint8_t(p);
        break;
      }
      default: break;
    }
  }
}

void DecodePeer(const Attr& outer, const char* name, pfsync_state_peer* p) {
  std::memset(p, 0, sizeof *p);
  AttrReader r(outer.data, outer.len, name, PeerAttrName);
  Attr a;
  while (r.Next(&a)) {
    Where n{name, PeerAttrName, a.type};
    switch (a.type) {
      case kStpPfssFlags: p->scrub.pfss_flags = htons(GetU16(a, n)); break;
      case kStpPfssTtl: p->scrub.pfss_ttl = GetU8(a, n); break;
      case kStpScrubFlag: p->scrub.scrub_flag = GetU8(a, n); break;
      case kStpPfssTsMod: p->scrub.pfss_ts_mod = htonl(GetU32(a, n)); break;
      case kStpSeqLo: p->seqlo = htonl(GetU32(a, n)); break;
      case kStpSeqHi: p->seqhi = htonl(GetU32(a, n)); break;
      case kStpSeqDiff: p->seqdiff = htonl(GetU32(a, n)); break;
      case kStpMaxWin: p->max_win = htons(GetU16(a, n)); break;
      case kStpMss: p->mss = htons(GetU16(a, n)); break;
      case kStpState: p->state = GetU8(a, n); break;
      case kStpWscale: p->wscale = GetU8(a, n); break;
      default: break;
    }
  }
}

}  // namespace

void DecodeState(const Msg& m, pf_state_export* out) {
  if (m.payloadLen < kGenlHdrLen) Bad(Where{nullptr, Literal, 0}, "message too short");
  pf_state_export& s = *out;
  std::memset(&s, 0, sizeof s);
  s.version = kStateVersion14;
  bool haveId = false;
  uint8_t keyAf[2] = {0, 0}, keyProto[2] = {0, 0}, rtAf = 0;
  bool haveRtAf = false;
  size_t rtLen = 0;
  AttrReader r(m.payload + kGenlHdrLen, m.payloadLen - kGenlHdrLen, "pf state message", StateAttrName);
  Attr a;
  while (r.Next(&a)) {
    Where n{nullptr, StateAttrName, a.type};
    switch (a.type) {
      case kStId: s.id = GetU64(a, n); haveId = true; break;  // raw, opaque
      case kStCreatorId: s.creatorid = ntohl(GetU32(a, n)); break;  // dumped as htonl(creatorid)
      case kStIfName: GetName(a, n, s.ifname, sizeof s.ifname); break;
      case kStOrigIfName: GetName(a, n, s.orig_ifname, sizeof s.orig_ifname); break;
      case kStKeyWire: DecodeKey(a, StateAttrName(a.type), &s.key[kSkWire], &keyAf[0], &keyProto[0]); break;
      case kStKeyStack: DecodeKey(a, StateAttrName(a.type), &s.key[kSkStack], &keyAf[1], &keyProto[1]); break;
      case kStPeerSrc: DecodePeer(a, StateAttrName(a.type), &s.src); break;
      case kStPeerDst: DecodePeer(a, StateAttrName(a.type), &s.dst); break;
      case kStRtAddr: GetAddr(a, n, &s.rt_addr); rtLen = a.len; break;
      case kStRule: s.rule = htonl(GetU32(a, n)); break;
      case kStAnchor: s.anchor = htonl(GetU32(a, n)); break;
      case kStNatRule: s.nat_rule = htonl(GetU32(a, n)); break;
      case kStCreation: s.creation = htonl(GetU32(a, n)); break;
      case kStExpire: s.expire = htonl(GetU32(a, n)); break;
      case kStPackets0: s.packets[0] = GetU64(a, n); break;  // host order in both
      case kStPackets1: s.packets[1] = GetU64(a, n); break;
      case kStBytes0: s.bytes[0] = GetU64(a, n); break;
      case kStBytes1: s.bytes[1] = GetU64(a, n); break;
      case kStAf: s.af = GetU8(a, n); break;
      case kStProto: s.proto = GetU8(a, n); break;
      case kStDirection: s.direction = GetU8(a, n); break;
      case kStLog: s.log = GetU8(a, n); break;
      case kStTimeout: s.timeout = GetU8(a, n); break;
      case kStStateFlags: {
        // Documented as u8, 16-bit in the 14+ kernel: take either width.
        uint16_t f = 0;
        if (a.len == 1) f = a.data[0];
        else if (a.len == 2) f = Rd16(a.data);
        else Bad(n, std::to_string(a.len) + " bytes, expected 1 or 2");
        s.state_flags = htons(f);
        s.state_flags_compat = uint8_t(f);  // what the V2 export carries there
        break;
      }
      case kStSyncFlags: s.sync_flags = GetU8(a, n); break;
      case kStUpdates: s.updates = GetU8(a, n); break;
      case kStVersion: s.version = GetU64(a, n); break;
      case kStRtableId: s.rtableid = int32_t(htonl(GetU32(a, n))); break;
      case kStMinTtl: s.min_ttl = GetU8(a, n); break;
      case kStMaxMss: s.max_mss = htons(GetU16(a, n)); break;
      case kStDnPipe: s.dnpipe = htons(GetU16(a, n)); break;
      case kStDnRPipe: s.dnrpipe = htons(GetU16(a, n)); break;
      case kStRt: s.rt = GetU8(a, n); break;
      case kStRtIfName: GetName(a, n, s.rt_ifname, sizeof s.rt_ifname); break;
      case kStRtAf: rtAf = GetU8(a, n); haveRtAf = true; break;  // 15: the next hop's own family
      default: break;  // newer kernels add attributes; skipping them is the contract
    }
  }
  if (!haveId) Bad(Where{nullptr, StateAttrName, kStId}, "missing (a state without an id cannot be killed)");
  // 15 keeps families per key (af-to) and per next hop (an IPv4 state routed via an IPv6 next
  // hop): the record's one af cannot say so, so they go to statekill's private bytes
  // (record_codec.h). A next hop's address length must agree with its family.
  if (keyAf[0] || keyAf[1]) {
    for (int k = 0; k < 2; k++)
      if (keyAf[k] != kAfInet && keyAf[k] != kAfInet6)
        Bad(Where{k ? "PF_ST_KEY_STACK" : "PF_ST_KEY_WIRE", KeyAttrName, kStkAf},
            "family " + std::to_string(keyAf[k]) + " is neither inet (2) nor inet6 (28)");
    if (keyAf[0] != s.af) Bad(Where{nullptr, StateAttrName, kStAf}, "differs from the wire key's PF_STK_AF");
    SetKeyFamilies(&s, keyAf[0], keyProto[0], keyAf[1], keyProto[1]);
  }
  if (haveRtAf && rtAf != 0) {
    if (rtAf != kAfInet && rtAf != kAfInet6)
      Bad(Where{nullptr, StateAttrName, kStRtAf}, "family " + std::to_string(rtAf) + " is neither inet nor inet6");
    if (rtLen != 0 && rtLen != (rtAf == kAfInet ? 4u : 16u))
      Bad(Where{nullptr, StateAttrName, kStRtAddr}, std::to_string(rtLen) + " bytes for a next hop of family " + std::to_string(rtAf));
    SetRtAf(&s, rtAf);
  }
}

}  // namespace pf::nl
