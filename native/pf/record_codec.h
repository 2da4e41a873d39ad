// Field access over records in the kernel's own layouts (pf_state_export 384 B, pfsync_state_1301
// 242 B), and conversion between them. Records are read in place: no per-state objects.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pf/abi.h"

namespace pf {

inline uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
inline uint16_t be16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }
inline void put_be32(uint8_t* p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

// Offsets of the fields the engine reads, per layout; -1 where the layout lacks the field.
// `priv` is statekill's private block (below), which only export records have.
struct RecordOffsets {
  int stride, id, ifname, orig_ifname, key, rt_addr, rule, creatorid, af, proto, direction, rt, rt_ifname, anchor,
      priv;
};

// ---- statekill's private bytes in pf_state_export.spare ---------------------------------------------
// Facts the kernel has but pf_state_export cannot hold (FreeBSD 15's netlink dump sends them:
// sys/netpfil/pf/pf_nl.c dump_state(), PF_ST_RT_AF = 39 and the per-key PF_STK_AF = 5 /
// PF_STK_PROTO = 6). Every kernel zeroes `spare` (pf_state_export() bzero()s the record, and
// 15's pfvar.h still declares spare[72] at 311), so all-zero here means "not known": the
// state's own af/proto apply, as they always did. Only statekill's netlink decoder and the
// simulated kernel write these bytes; the ioctl exports never carry them.
constexpr int kPrivOffset = 376;           // spare[65..70]
constexpr uint8_t kPrivHasKeyAf = 0x01;    // bytes 2..5 hold each key's af and proto (af-to, NAT64)
constexpr uint8_t kPrivHasRtAf = 0x02;     // byte 1 holds the route-to next hop's af
// +0 flags, +1 rt_af, +2 key[WIRE].af, +3 key[WIRE].proto, +4 key[STACK].af, +5 key[STACK].proto

constexpr RecordOffsets kExportOffsets{384, 8, 16, 32, 48, 184, 200, 256, 264, 265, 266, 294, 295, 204, kPrivOffset};
constexpr RecordOffsets kS1301Offsets{242, 0, 8, -1, 24, 160, 176, 228, 232, 233, 234, -1, -1, 180, -1};
static_assert(kPrivOffset >= 311 && kPrivOffset + 6 <= 383, "the private block lies inside pf_state_export.spare");

#define SK_SAME_OFFSET(table, type, field, member) static_assert(table.field == offsetof(type, member), #type "." #member)
SK_SAME_OFFSET(kExportOffsets, pf_state_export, id, id);
SK_SAME_OFFSET(kExportOffsets, pf_state_export, ifname, ifname);
SK_SAME_OFFSET(kExportOffsets, pf_state_export, orig_ifname, orig_ifname);
SK_SAME_OFFSET(kExportOffsets, pf_state_export, key, key);
SK_SAME_OFFSET(kExportOffsets, pf_state_export, rt_addr, rt_addr);
SK_SAME_OFFSET(kExportOffsets, pf_state_export, rule, rule);
SK_SAME_OFFSET(kExportOffsets, pf_state_export, creatorid, creatorid);
SK_SAME_OFFSET(kExportOffsets, pf_state_export, af, af);
SK_SAME_OFFSET(kExportOffsets, pf_state_export, proto, proto);
SK_SAME_OFFSET(kExportOffsets, pf_state_export, direction, direction);
SK_SAME_OFFSET(kExportOffsets, pf_state_export, rt, rt);
SK_SAME_OFFSET(kExportOffsets, pf_state_export, rt_ifname, rt_ifname);
SK_SAME_OFFSET(kExportOffsets, pf_state_export, anchor, anchor);
SK_SAME_OFFSET(kS1301Offsets, pfsync_state_1301, anchor, anchor);
SK_SAME_OFFSET(kS1301Offsets, pfsync_state_1301, id, id);
SK_SAME_OFFSET(kS1301Offsets, pfsync_state_1301, ifname, ifname);
SK_SAME_OFFSET(kS1301Offsets, pfsync_state_1301, key, key);
SK_SAME_OFFSET(kS1301Offsets, pfsync_state_1301, rt_addr, rt_addr);
SK_SAME_OFFSET(kS1301Offsets, pfsync_state_1301, rule, rule);
SK_SAME_OFFSET(kS1301Offsets, pfsync_state_1301, creatorid, creatorid);
SK_SAME_OFFSET(kS1301Offsets, pfsync_state_1301, af, af);
SK_SAME_OFFSET(kS1301Offsets, pfsync_state_1301, proto, proto);
SK_SAME_OFFSET(kS1301Offsets, pfsync_state_1301, direction, direction);
#undef SK_SAME_OFFSET
static_assert(kExportOffsets.stride == sizeof(pf_state_export) && kS1301Offsets.stride == sizeof(pfsync_state_1301),
              "record strides");

inline const RecordOffsets& OffsetsFor(int stride) { return stride == 242 ? kS1301Offsets : kExportOffsets; }

// The family and protocol of key `idx` (kSkWire/kSkStack): the private per-key values where the
// kernel sent them (af-to states translate between families), else the state's own.
inline uint8_t KeyAf(const uint8_t* rec, const RecordOffsets& o, int idx) {
  if (o.priv >= 0 && (rec[o.priv] & kPrivHasKeyAf) && rec[o.priv + 2 + idx * 2]) return rec[o.priv + 2 + idx * 2];
  return rec[o.af];
}
inline uint8_t KeyProto(const uint8_t* rec, const RecordOffsets& o, int idx) {
  if (o.priv >= 0 && (rec[o.priv] & kPrivHasKeyAf) && rec[o.priv + 2 + idx * 2]) return rec[o.priv + 3 + idx * 2];
  return rec[o.proto];
}
// The family of rt_addr: the next hop's own where known (an IPv4 state routed via an IPv6 next
// hop, RFC 8950), else the state's.
inline uint8_t RtAf(const uint8_t* rec, const RecordOffsets& o) {
  if (o.priv >= 0 && (rec[o.priv] & kPrivHasRtAf) && rec[o.priv + 1]) return rec[o.priv + 1];
  return rec[o.af];
}
inline void SetKeyFamilies(pf_state_export* e, uint8_t wireAf, uint8_t wireProto, uint8_t stackAf, uint8_t stackProto) {
  uint8_t* p = reinterpret_cast<uint8_t*>(e) + kPrivOffset;
  p[0] |= kPrivHasKeyAf;
  p[2] = wireAf, p[3] = wireProto, p[4] = stackAf, p[5] = stackProto;
}
inline void SetRtAf(pf_state_export* e, uint8_t rtAf) {
  uint8_t* p = reinterpret_cast<uint8_t*>(e) + kPrivOffset;
  p[0] |= kPrivHasRtAf;
  p[1] = rtAf;
}
// What an ioctl export carries: the private bytes are statekill's, never the kernel's.
inline void ClearPrivate(pf_state_export* e) { std::memset(reinterpret_cast<uint8_t*>(e) + kPrivOffset, 0, 6); }

// pf_state_export -> pfsync_state_1301 (what DIOCGETSTATES returns for the same state).
inline void ExportTo1301(const pf_state_export& e, pfsync_state_1301* s) {
  std::memset(s, 0, sizeof *s);
  s->id = e.id;
  std::memcpy(s->ifname, e.ifname, sizeof s->ifname);
  std::memcpy(s->key, e.key, sizeof s->key);
  s->src = e.src;
  s->dst = e.dst;
  s->rt_addr = e.rt_addr;
  s->rule = e.rule;
  s->anchor = e.anchor;
  s->nat_rule = e.nat_rule;
  s->creation = e.creation;
  s->expire = e.expire;
  for (int i = 0; i < 2; i++) {
    uint8_t* pk = reinterpret_cast<uint8_t*>(&s->packets[i][0]);
    uint8_t* by = reinterpret_cast<uint8_t*>(&s->bytes[i][0]);
    put_be32(pk, uint32_t(e.packets[i] >> 32));
    put_be32(pk + 4, uint32_t(e.packets[i]));
    put_be32(by, uint32_t(e.bytes[i] >> 32));
    put_be32(by + 4, uint32_t(e.bytes[i]));
  }
  s->creatorid = e.creatorid;
  s->af = e.af;
  s->proto = e.proto;
  s->direction = e.direction;
  s->log = e.log;
  s->state_flags = e.state_flags_compat;
  s->timeout = e.timeout;
  s->sync_flags = e.sync_flags;
  s->updates = e.updates;
}

// pfsync_state_1301 -> pf_state_export (loading a 12.x/13.0-era dump; orig_ifname is unknown there).
inline void S1301ToExport(const pfsync_state_1301& s, pf_state_export* e) {
  std::memset(e, 0, sizeof *e);
  e->version = kStateVersion14;
  e->id = s.id;
  std::memcpy(e->ifname, s.ifname, sizeof e->ifname);
  std::memcpy(e->orig_ifname, s.ifname, sizeof e->orig_ifname);
  std::memcpy(e->key, s.key, sizeof e->key);
  e->src = s.src;
  e->dst = s.dst;
  e->rt_addr = s.rt_addr;
  e->rule = s.rule;
  e->anchor = s.anchor;
  e->nat_rule = s.nat_rule;
  e->creation = s.creation;
  e->expire = s.expire;
  for (int i = 0; i < 2; i++) {
    const uint8_t* pk = reinterpret_cast<const uint8_t*>(&s.packets[i][0]);
    const uint8_t* by = reinterpret_cast<const uint8_t*>(&s.bytes[i][0]);
    e->packets[i] = (uint64_t(be32(pk)) << 32) | be32(pk + 4);
    e->bytes[i] = (uint64_t(be32(by)) << 32) | be32(by + 4);
  }
  e->creatorid = s.creatorid;
  e->af = s.af;
  e->proto = s.proto;
  e->direction = s.direction;
  e->log = s.log;
  e->state_flags_compat = s.state_flags;
  e->timeout = s.timeout;
  e->sync_flags = s.sync_flags;
  e->updates = s.updates;
}

// The state key as pf compares it (pf_state_key_cmp): addresses, ports, af, proto.
struct KeyCmp {
  pf_addr addr[2];
  uint16_t port[2];
  uint8_t af, proto;
  uint8_t pad[2];  // always zero, so whole-struct compare and hash are exact
  bool operator==(const KeyCmp& o) const { return std::memcmp(this, &o, sizeof *this) == 0; }
};
static_assert(sizeof(KeyCmp) == 40, "KeyCmp has no implicit padding");

// The key's own af/proto, as pf_state_key_cmp compares them: an af-to state's stack key is of the
// other family, so its partner is found only by that family (never across families by accident).
inline void LoadKey(const uint8_t* rec, const RecordOffsets& o, int idx, KeyCmp* k) {
  std::memcpy(k->addr, rec + o.key + idx * 36, 32);
  std::memcpy(k->port, rec + o.key + idx * 36 + 32, 4);
  k->af = KeyAf(rec, o, idx);
  k->proto = KeyProto(rec, o, idx);
  k->pad[0] = k->pad[1] = 0;
}

inline void SwapKey(KeyCmp* k) {
  pf_addr a = k->addr[0];
  k->addr[0] = k->addr[1];
  k->addr[1] = a;
  uint16_t p = k->port[0];
  k->port[0] = k->port[1];
  k->port[1] = p;
}

inline uint64_t HashKey(const KeyCmp& k) {
  // Five 64-bit words (the struct is 40 bytes, padding zeroed), multiply-xor mixed.
  uint64_t w[5];
  std::memcpy(w, &k, sizeof w);
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (uint64_t x : w) {
    h ^= x * 0xbf58476d1ce4e5b9ull;
    h = (h << 27 | h >> 37) * 0x94d049bb133111ebull;
  }
  return h ^ (h >> 31);
}

// The key pf's kill_match looks up for state `rec`, and the direction of the state it wants
// (pf-abi.md 4.1): stack key for outbound states, wire key for inbound ones (nat swaps the
// choice), addresses and ports swapped, looked up among states of the opposite direction.
inline uint8_t OppositeKey(const uint8_t* rec, const RecordOffsets& o, bool nat, KeyCmp* k) {
  bool out = rec[o.direction] == kDirOut;
  int idx = out ? (nat ? kSkWire : kSkStack) : (nat ? kSkStack : kSkWire);
  LoadKey(rec, o, idx, k);
  SwapKey(k);
  return out ? kDirIn : kDirOut;
}

// Which of a candidate's keys is compared for a lookup in direction `dir` (pf_find_state_all):
// inbound states by their wire key, outbound ones by their stack key.
inline int LookupSlotFor(uint8_t dir) { return dir == kDirIn ? kSkWire : kSkStack; }

}  // namespace pf
