#include "engine/select.h"

#include <algorithm>
#include <cstring>

namespace engine {

static bool InCidr(const CidrSpec& c, uint8_t af, const uint8_t* a) {
  if (c.af != af) return false;
  int n = af == pf::kAfInet ? 4 : 16;
  for (int i = 0; i < n; i++)
    if ((a[i] & c.mask[i]) != c.addr[i]) return false;
  return true;
}

static bool AnyCidr(const std::vector<CidrSpec>& l, uint8_t af, const uint8_t* a) {
  for (const CidrSpec& c : l)
    if (InCidr(c, af, a)) return true;
  return false;
}

static bool AnyPort(const std::vector<uint16_t>& l, uint16_t p) {
  for (uint16_t x : l)
    if (x == p) return true;
  return false;
}

static bool IsZero(const uint8_t* a, int n) {
  for (int i = 0; i < n; i++)
    if (a[i]) return false;
  return true;
}

static bool NameIs(const uint8_t* field, const std::string& s) {
  return s.size() < 16 && std::memcmp(field, s.c_str(), s.size() + 1) == 0;
}

static uint64_t Be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

void PrepareSpec(Spec* s) {
  std::sort(s->ids.begin(), s->ids.end(), [](const IdSpec& a, const IdSpec& b) { return a.id < b.id; });
}

static bool IdMatches(const Spec& s, const uint8_t* rec, const pf::RecordOffsets& o) {
  uint64_t id = Be64(rec + o.id);
  auto it = std::lower_bound(s.ids.begin(), s.ids.end(), id, [](const IdSpec& a, uint64_t v) { return a.id < v; });
  uint32_t creator;
  std::memcpy(&creator, rec + o.creatorid, 4);
  for (; it != s.ids.end() && it->id == id; ++it)
    if (it->anyCreator || it->creatorid == creator) return true;
  return false;
}

static bool MatchOne(const uint8_t* rec, const pf::RecordOffsets& o, const Spec& s) {
  uint8_t af = rec[o.af];
  if (!s.anyAf && !(af == pf::kAfInet ? s.inet : af == pf::kAfInet6 ? s.inet6 : false)) return false;
  if (!s.anyProto && !s.protos[rec[o.proto]]) return false;
  if (!s.ids.empty() && !IdMatches(s, rec, o)) return false;
  bool out = rec[o.direction] == pf::kDirOut;
  if (!s.gateways.empty()) {
    // The next hop in its own family: an IPv4 state may be routed via an IPv6 next hop (RFC 8950;
    // FreeBSD 15 sends PF_ST_RT_AF), so a gateway matches the next hop's family, not the state's.
    // Table-routed states (rt_addr all zero) are on no gateway, whatever the prefix.
    const uint8_t* rt = rec + o.rt_addr;
    uint8_t rtaf = pf::RtAf(rec, o);
    if (IsZero(rt, rtaf == pf::kAfInet ? 4 : 16)) return false;
    bool any = false;
    for (const CidrSpec& g : s.gateways)
      if (InCidr(g, rtaf, rt) && (g.ifname.empty() || NameIs(rec + o.rt_ifname, g.ifname))) {
        any = true;
        break;
      }
    if (!any) return false;
  }
  if (s.defaultRouted && !IsZero(rec + o.rt_addr, pf::RtAf(rec, o) == pf::kAfInet ? 4 : 16)) return false;
  const uint8_t* wire = rec + o.key;  // key[PF_SK_WIRE]
  // Outbound states leaving with this source on the wire (initiator = addr[1] for PF_OUT).
  if (!s.natAddrs.empty() && !(out && AnyCidr(s.natAddrs, af, wire + 16))) return false;
  if (!s.interfaces.empty()) {
    const uint8_t* kif = rec + o.ifname;
    if (o.orig_ifname >= 0 && std::memcmp(kif, "all", 4) == 0) kif = rec + o.orig_ifname;  // floating state
    bool any = false;
    for (const std::string& n : s.interfaces) any = any || NameIs(kif, n);
    if (!any) return false;
  }
  if (!s.rtInterfaces.empty()) {
    bool any = false;
    for (const std::string& n : s.rtInterfaces) any = any || NameIs(rec + o.rt_ifname, n);
    if (!any) return false;
  }
  // Source/destination as pf's kill filter sees them: wire key, oriented by direction.
  const uint8_t* srcA = out ? wire + 16 : wire;
  const uint8_t* dstA = out ? wire : wire + 16;
  if (!s.src.empty() && !AnyCidr(s.src, af, srcA)) return false;
  if (!s.dst.empty() && !AnyCidr(s.dst, af, dstA)) return false;
  if (!s.srcPorts.empty() || !s.dstPorts.empty()) {
    uint16_t p0 = pf::be16(wire + 32), p1 = pf::be16(wire + 34);
    uint16_t sp = out ? p1 : p0, dp = out ? p0 : p1;
    if (!s.srcPorts.empty() && !AnyPort(s.srcPorts, sp)) return false;
    if (!s.dstPorts.empty() && !AnyPort(s.dstPorts, dp)) return false;
  }
  if (!s.rules.empty()) {
    uint32_t r = pf::be32(rec + o.rule);
    bool any = false;
    for (uint32_t x : s.rules) any = any || x == r;
    if (!any) return false;
  }
  if (s.hasLabelRules) {
    // The labels belong to main-ruleset rules; a state made inside an anchor has a rule number of
    // that anchor's ruleset (pf_state_export.anchor != -1), so it cannot be one of them.
    if (pf::be32(rec + o.anchor) != 0xffffffffu) return false;
    uint32_t r = pf::be32(rec + o.rule);
    bool any = false;
    for (uint32_t x : s.labelRules) any = any || x == r;
    if (!any) return false;
  }
  return true;
}

uint32_t MatchRecord(const uint8_t* rec, const pf::RecordOffsets& o, const std::vector<Spec>& specs) {
  uint32_t m = 0;
  for (size_t i = 0; i < specs.size(); i++)
    if (MatchOne(rec, o, specs[i])) m |= 1u << i;
  return m;
}

size_t SelectRange(const uint8_t* base, const pf::RecordOffsets& o, size_t from, size_t to,
                   const std::vector<Spec>& specs, int32_t* outIdx, uint32_t* outMask) {
  size_t n = 0;
  for (size_t i = from; i < to; i++) {
    uint32_t m = MatchRecord(base + i * o.stride, o, specs);
    if (m) {
      outIdx[n] = int32_t(i);
      outMask[n] = m;
      n++;
    }
  }
  return n;
}

}  // namespace engine
