#include "pf/sim/netlink_codec.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pf/netlink/pf_nl_defs.h"
#include "pf/record_codec.h"

namespace pf::sim {

using namespace pf::nl;

static void AddAddr(Writer& w, uint16_t t, const pf_addr& a, uint8_t af) {
  if (af == kAfInet) w.Attr(t, a.a8, 4);
  else if (af == kAfInet6) w.Attr(t, a.a8, 16);
}

static void AddKey(Writer& w, uint16_t t, const pfsync_state_key& k, uint8_t af, uint8_t proto, int major) {
  size_t n = w.BeginNested(t);
  AddAddr(w, kStkAddr0, k.addr[0], af);
  AddAddr(w, kStkAddr1, k.addr[1], af);
  w.U16(kStkPort0, k.port[0]);
  w.U16(kStkPort1, k.port[1]);
  if (major >= 15) {
    w.U8(kStkAf, af);
    w.U16(kStkProto, proto);
  }
  w.EndNested(n);
}

static void AddPeer(Writer& w, uint16_t t, const pfsync_state_peer& p) {
  size_t n = w.BeginNested(t);
  w.U32(kStpSeqLo, ntohl(p.seqlo));
  w.U32(kStpSeqHi, ntohl(p.seqhi));
  w.U32(kStpSeqDiff, ntohl(p.seqdiff));
  w.U16(kStpMaxWin, ntohs(p.max_win));
  w.U16(kStpMss, ntohs(p.mss));
  w.U8(kStpState, p.state);
  w.U8(kStpWscale, p.wscale);
  if (p.scrub.scrub_flag) {  // only states with scrub data carry these
    w.U16(kStpPfssFlags, ntohs(p.scrub.pfss_flags));
    w.U32(kStpPfssTsMod, ntohl(p.scrub.pfss_ts_mod));
    w.U8(kStpPfssTtl, p.scrub.pfss_ttl);
    w.U8(kStpScrubFlag, p.scrub.scrub_flag);
  }
  w.EndNested(n);
}

void EncodeStateMsg(Writer& w, const pf_state_export& s, uint16_t family, uint16_t flags, uint32_t seq, uint32_t pid,
                    int major) {
  const uint8_t* rec = reinterpret_cast<const uint8_t*>(&s);
  size_t m = w.BeginMsg(family, flags, seq, pid);
  w.Genl(kCmdGetStates, 0);
  w.U64(kStVersion, kStateVersion14);
  // Each key with its own family (an af-to state's stack key is of the other one, pf_nl.c
  // dump_state_key); a 14 kernel has one family per state.
  for (int k : {kSkWire, kSkStack}) {
    uint8_t af = major >= 15 ? KeyAf(rec, kExportOffsets, k) : s.af;
    AddKey(w, k == kSkWire ? kStKeyWire : kStKeyStack, s.key[k], af, major >= 15 ? KeyProto(rec, kExportOffsets, k) : s.proto,
           major);
  }
  w.U8(kStProto, s.proto);
  w.U8(kStAf, s.af);
  w.Str(kStIfName, s.ifname, kIfNameSize);
  w.Str(kStOrigIfName, s.orig_ifname, kIfNameSize);
  // 15 dumps the next hop with its own family (s->act.rt_af), 14 with the state's.
  uint8_t rtAf = major >= 15 ? RtAf(rec, kExportOffsets) : s.af;
  bool routed = s.rt != 0 || std::any_of(s.rt_addr.a8, s.rt_addr.a8 + 16, [](uint8_t b) { return b != 0; });
  if (major < 15 || routed) AddAddr(w, kStRtAddr, s.rt_addr, rtAf);
  w.U32(kStCreation, ntohl(s.creation));
  w.U32(kStExpire, ntohl(s.expire));
  w.U8(kStDirection, s.direction);
  w.U8(kStLog, s.log);
  w.U8(kStTimeout, s.timeout);
  w.U16(kStStateFlags, ntohs(s.state_flags));
  w.U8(kStSyncFlags, s.sync_flags);
  w.U64(kStId, s.id);
  w.U32(kStCreatorId, htonl(s.creatorid));  // pf_nl.c's byte-order quirk (pf-abi.md 3.1)
  w.U32(kStRule, ntohl(s.rule));
  w.U32(kStAnchor, ntohl(s.anchor));
  w.U32(kStNatRule, ntohl(s.nat_rule));
  w.U64(kStPackets0, s.packets[0]);
  w.U64(kStPackets1, s.packets[1]);
  w.U64(kStBytes0, s.bytes[0]);
  w.U64(kStBytes1, s.bytes[1]);
  w.U32(kStRtableId, ntohl(uint32_t(s.rtableid)));
  w.U8(kStMinTtl, s.min_ttl);
  w.U16(kStMaxMss, ntohs(s.max_mss));
  w.U16(kStDnPipe, ntohs(s.dnpipe));
  w.U16(kStDnRPipe, ntohs(s.dnrpipe));
  w.U8(kStRt, s.rt);
  if (s.rt_ifname[0]) w.Str(kStRtIfName, s.rt_ifname, kIfNameSize);
  if (major >= 15) {
    w.U8(kStSrcNodeFlags, 0);
    w.U8(kStRtAf, routed ? rtAf : 0);
  }
  AddPeer(w, kStPeerSrc, s.src);
  AddPeer(w, kStPeerDst, s.dst);
  w.EndMsg(m);
}

// ---- the kernel's attribute parsers: exact sizes, EINVAL otherwise --------------------------------
namespace {

bool U8(const Attr& a, uint8_t* v) { return a.len == 1 && (*v = a.data[0], true); }
bool U16(const Attr& a, uint16_t* v) { return a.len == 2 && (*v = Rd16(a.data), true); }
bool U32(const Attr& a, uint32_t* v) { return a.len == 4 && (*v = Rd32(a.data), true); }
bool U64(const Attr& a, uint64_t* v) { return a.len == 8 && (*v = Rd64(a.data), true); }
bool In6(const Attr& a, pf_addr* v) { return a.len == 16 && (std::memcpy(v->a8, a.data, 16), true); }
bool Bool(const Attr& a, bool* v) {
  if (a.len == 1) return *v = a.data[0] != 0, true;
  if (a.len == 4) return *v = Rd32(a.data) != 0, true;
  return false;
}
// nlattr_get_chara: a terminated string that fits.
bool Chara(const Attr& a, char* out, size_t cap) {
  if (a.len > cap || a.len == 0 || std::memchr(a.data, 0, a.len) == nullptr) return false;
  std::memset(out, 0, cap);
  std::memcpy(out, a.data, a.len);
  return true;
}

bool ParseAddrWrap(const Attr& outer, pf_addr_wrap* aw) {
  AttrReader r(outer.data, outer.len, "PF_RAT_ADDR");
  Attr a;
  while (r.Next(&a)) {
    bool ok = true;
    switch (a.type) {
      case kAtAddr: ok = In6(a, &aw->v.a.addr); break;
      case kAtMask: ok = In6(a, &aw->v.a.mask); break;
      case kAtIfName: ok = Chara(a, aw->v.ifname, kIfNameSize); break;
      case kAtTableName: ok = Chara(a, aw->v.tblname, 32); break;
      case kAtType: ok = U8(a, &aw->type); break;
      case kAtIflags: ok = U8(a, &aw->iflags); break;
      default: break;
    }
    if (!ok) return false;
  }
  return true;
}

bool ParseRuleAddr(const Attr& outer, pf_rule_addr* ra) {
  AttrReader r(outer.data, outer.len, "rule_addr");
  Attr a;
  while (r.Next(&a)) {
    bool ok = true;
    switch (a.type) {
      case kRatAddr: ok = ParseAddrWrap(a, &ra->addr); break;
      case kRatSrcPort: ok = U16(a, &ra->port[0]); break;
      case kRatDstPort: ok = U16(a, &ra->port[1]); break;
      case kRatNeg: ok = U8(a, &ra->neg); break;
      case kRatOp: ok = U8(a, &ra->port_op); break;
      default: break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace

// The kernel's request parsing (nl_parse_nlmsg): each attribute in message order through `each`,
// EINVAL for one it refuses or one running past the message.
template <typename F>
int ParseRequestAttrs(const Msg& m, const char* what, F each) {
  if (m.payloadLen < kGenlHdrLen) return EINVAL;
  try {
    AttrReader r(m.payload + kGenlHdrLen, m.payloadLen - kGenlHdrLen, what);
    Attr a;
    while (r.Next(&a))
      if (!each(a)) return EINVAL;
  } catch (const NlError&) {
    return EINVAL;  // an attribute running past the message
  }
  return 0;
}

int ParseKillMsg(const Msg& m, KillFilter* f) {
  *f = KillFilter{};
  return ParseRequestAttrs(m, "kill", [&](const Attr& a) {
    uint8_t u8 = 0;
    switch (a.type) {
      case kCsCmpId: return U64(a, &f->id);
      case kCsCmpCreatorId: return U32(a, &f->creatorid);
      case kCsCmpDir: return U8(a, &f->direction);
      case kCsAf: return U8(a, &f->af);
      case kCsProto: return U8(a, &u8) && (f->proto = u8, true);
      case kCsSrc: return ParseRuleAddr(a, &f->src);
      case kCsDst: return ParseRuleAddr(a, &f->dst);
      case kCsRtAddr: return ParseRuleAddr(a, &f->rt_addr);
      case kCsIfName: return Chara(a, f->ifname, sizeof f->ifname);
      case kCsLabel: return Chara(a, f->label, sizeof f->label);
      case kCsKillMatch: return Bool(a, &f->kill_match);
      case kCsNat: return Bool(a, &f->nat);
      default: return true;
    }
  });
}

int ParseStateQuery(const Msg& m, StateFilter* f, bool afIntoProto) {
  *f = StateFilter{};
  bool haveAddr = false, haveMask = false;
  int e = ParseRequestAttrs(m, "getstates", [&](const Attr& a) {
    switch (a.type) {
      case kStId: return U32(a, &f->id);
      case kStCreatorId: return U32(a, &f->creatorid);
      case kStIfName: return Chara(a, f->q.ifname, kIfNameSize);
      case kStAf: {
        if (!afIntoProto) return U8(a, &f->q.af);
        uint8_t af = 0;  // nlattr_get_uint8 into the first (low, amd64) byte of `proto`
        if (!U8(a, &af)) return false;
        f->q.proto = uint16_t((f->q.proto & 0xff00) | af);
        return true;
      }
      case kStProto: return U16(a, &f->q.proto);
      case kStFilterAddr: return haveAddr = true, In6(a, &f->q.addr);
      case kStFilterMask: return haveMask = true, In6(a, &f->q.mask);
      default: return true;
    }
  });
  f->q.hasAddr = haveAddr || haveMask;
  return e;
}

int ParseRuleQuery(const Msg& m, RuleQuery* q) {
  *q = RuleQuery{};
  return ParseRequestAttrs(m, "getrule", [&](const Attr& a) {
    uint8_t clear = 0;
    switch (a.type) {
      case kGrAnchor: {
        char anchor[kMaxPathLen];
        return Chara(a, anchor, sizeof anchor) && (q->anchor = anchor, true);
      }
      case kGrAction: return U8(a, &q->action);
      case kGrNr: return U32(a, &q->nr);
      case kGrTicket: return U32(a, &q->ticket);
      case kGrClear: return U8(a, &clear);
      default: return true;
    }
  });
}

}  // namespace pf::sim
