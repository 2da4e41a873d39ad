// pf_killstates / pf_clear_states semantics (pf-abi.md 4.1-4.4), per personality.
#include <arpa/inet.h>

#include <cstring>

#include "pf/sim/kernel.h"

namespace pf::sim {

// PF_MATCHA: address under mask, optionally negated. A zero mask matches everything.
static bool MatchAddr(const pf_rule_addr& ra, const pf_addr& b, uint8_t af) {
  const pf_addr& a = ra.addr.v.a.addr;
  const pf_addr& m = ra.addr.v.a.mask;
  int words = af == kAfInet ? 1 : 4;
  bool match = true;
  for (int i = 0; i < words; i++)
    if ((a.a32[i] & m.a32[i]) != (b.a32[i] & m.a32[i])) match = false;
  return ra.neg ? !match : match;
}

// pf_match_port: operands and port in network order, compared in host order.
static bool MatchPort(uint8_t op, uint16_t a1n, uint16_t a2n, uint16_t pn) {
  uint16_t a1 = ntohs(a1n), a2 = ntohs(a2n), p = ntohs(pn);
  switch (op) {
    case kOpIrg: return p > a1 && p < a2;
    case kOpXrg: return p < a1 || p > a2;
    case kOpRrg: return p >= a1 && p <= a2;
    case kOpEq: return p == a1;
    case kOpNe: return p != a1;
    case kOpLt: return p < a1;
    case kOpLe: return p <= a1;
    case kOpGt: return p > a1;
    case kOpGe: return p >= a1;
    default: return false;
  }
}

bool Kernel::LabelMatches(uint32_t ruleBE, const char* label) const {
  // The model knows the labels of the main ruleset's rules only (states with no anchor): a state
  // created inside an anchor has a rule of that anchor's ruleset, whose labels it does not hold.
  auto it = ruleLabels_.find(ntohl(ruleBE));
  if (it == ruleLabels_.end()) return false;
  // 12.x compares the rule's single label; 13.1+ any of up to five.
  size_t n = p_.major <= 12 ? std::min<size_t>(1, it->second.size()) : it->second.size();
  for (size_t i = 0; i < n; i++)
    if (it->second[i] == label) return true;
  return false;
}

bool Kernel::Matches(const pf_state_export& s, const KillFilter& f) const {
  // 13.1+ matches floating states by their original interface; 12.x only by s->kif ("all").
  const char* kif = s.ifname;
  if (p_.major >= 13 && std::strncmp(s.ifname, "all", kIfNameSize) == 0) kif = s.orig_ifname;
  // psk_nat picks the stack key where the kernel has it; 12.x/13.x/14.0 ignore the request's nat.
  int idx = f.nat && p_.HasPskNat() ? kSkStack : kSkWire;
  const pfsync_state_key& sk = s.key[idx];
  const uint8_t* rec = reinterpret_cast<const uint8_t*>(&s);
  uint8_t af = KeyAf(rec, kExportOffsets, idx), proto = KeyProto(rec, kExportOffsets, idx);  // sk->af, sk->proto
  bool out = s.direction == kDirOut;
  const pf_addr& srcaddr = out ? sk.addr[1] : sk.addr[0];
  const pf_addr& dstaddr = out ? sk.addr[0] : sk.addr[1];
  uint16_t srcport = out ? sk.port[1] : sk.port[0];
  uint16_t dstport = out ? sk.port[0] : sk.port[1];
  if (f.af && af != f.af) return false;
  if (f.proto && f.proto != proto) return false;
  if (!MatchAddr(f.src, srcaddr, af)) return false;
  if (!MatchAddr(f.dst, dstaddr, af)) return false;
  // The next hop under the key's family, even where 15 knows the next hop's own (rt_af): every
  // stored pf_killstates_row (sys/netpfil/pf/pf_ioctl.c, 14.0 and 15 with psk_nat) passes sk->af.
  // An IPv4 state routed via an IPv6 next hop is then matched on the next hop's first four bytes.
  if (p_.major >= 13 && !MatchAddr(f.rt_addr, s.rt_addr, af)) return false;
  if (f.src.port_op && !MatchPort(f.src.port_op, f.src.port[0], f.src.port[1], srcport)) return false;
  if (f.dst.port_op && !MatchPort(f.dst.port_op, f.dst.port[0], f.dst.port[1], dstport)) return false;
  if (f.label[0] && (s.anchor != 0xffffffffu || !LabelMatches(s.rule, f.label))) return false;
  if (f.ifname[0] && std::strncmp(f.ifname, kif, kIfNameSize) != 0) return false;
  return true;
}

// pf_kill_matching_state: unlink the partner only when exactly one state matches.
uint32_t Kernel::KillMatching(const KeyCmp& k, uint8_t dir) {
  int more = 0;
  int32_t i = table_.FindAll(k, dir, &more);
  if (i < 0 || more) return 0;
  table_.Remove(i);
  return 1;
}

uint32_t Kernel::KillStates(const KillFilter& f) {
  if (f.id != 0) {
    // By id: every other field, kill_match included, is ignored; creatorid 0 = this host.
    uint32_t creator = f.creatorid ? f.creatorid : hostid_;
    int32_t i = table_.FindById(f.id, creator);
    if (i < 0) return 0;
    table_.Remove(i);
    return 1;
  }
  bool killMatch = f.kill_match && p_.major >= 13;
  uint32_t killed = 0;
  for (int32_t i = 0; i < int32_t(table_.capacity()); i++) {
    if (!table_.at(i).live) continue;
    const pf_state_export& s = table_.at(i).rec;
    if (!Matches(s, f)) continue;
    KeyCmp k;
    uint8_t dir = killMatch ? OppositeKey(reinterpret_cast<const uint8_t*>(&s), kExportOffsets, f.nat && p_.HasPskNat(), &k) : 0;
    table_.Remove(i);
    killed++;
    if (killMatch) killed += KillMatching(k, dir);
  }
  return killed;
}

uint32_t Kernel::ClearStates(const KillFilter& f) {
  // Only the interface filter (and kill_match from 13.1) applies; every other field is ignored.
  bool killMatch = f.kill_match && p_.major >= 13;
  uint32_t killed = 0;
  for (int32_t i = 0; i < int32_t(table_.capacity()); i++) {
    if (!table_.at(i).live) continue;
    const pf_state_export& s = table_.at(i).rec;
    if (f.ifname[0]) {
      const char* kif = s.ifname;
      if (p_.major >= 13 && std::strncmp(s.ifname, "all", kIfNameSize) == 0) kif = s.orig_ifname;
      if (std::strncmp(f.ifname, kif, kIfNameSize) != 0) continue;
    }
    KeyCmp k;
    uint8_t dir = killMatch ? OppositeKey(reinterpret_cast<const uint8_t*>(&s), kExportOffsets, false, &k) : 0;
    table_.Remove(i);
    killed++;
    if (killMatch) killed += KillMatching(k, dir);
  }
  return killed;
}

}  // namespace pf::sim
