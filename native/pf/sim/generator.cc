// Topology (also in the README):
//   igb1 LAN   192.168.1.0/24, 2001:db8:1::/64, firewall 192.168.1.1
//   igb2 LAN2  10.20.0.0/16, firewall 10.20.0.1
//   igb0 WAN1  198.51.100.2 (NAT address); gateways GW_WAN1 198.51.100.1 and GW_WAN1B 198.51.100.254
//              (two gateways on one interface); IPv6 2001:db8:a::2, gateway fe80::1%igb0
//   igb3 WAN2  203.0.113.2 (NAT address); gateway GW_WAN2 203.0.113.1; IPv6 2001:db8:b::2, gateway
//              fe80::1%igb3 (the same link-local address as WAN1's, on another interface)
// Kinds of state (realistic profile, share of connections):
//   policy-routed LAN client -> internet: IN on igb1 with route-to (rt_addr = gateway) + OUT on the
//     WAN (NAT for IPv4): 45%
//   default-routed NAT via WAN1: IN on igb1 (rt_addr 0) + OUT NAT on igb0: 15%
//   firewall-originated via route-to: one OUT state on the WAN from its address: 5%
//   port-forward with reply-to: IN on the WAN (rdr to 192.168.1.10) + OUT on igb1: 10%
//   LAN-to-LAN: IN on igb1 + OUT on igb2: 12%
//   to the firewall itself: one IN state on igb1: 12.9%
//   ambiguous: a policy-routed pair plus a second OUT state with the same stack key on the other
//     WAN (a floating duplicate), so the LAN state's partner is not unique: 0.1%
#include "pf/sim/generator.h"

#include <arpa/inet.h>

#include <cstring>

namespace pf::sim {

namespace {

struct Rng {  // splitmix64: tiny, fast, same sequence everywhere
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint32_t below(uint32_t n) { return uint32_t(next() % n); }
};

pf_addr V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  pf_addr x{};
  x.a8[0] = a, x.a8[1] = b, x.a8[2] = c, x.a8[3] = d;
  return x;
}

pf_addr V6(uint16_t g0, uint16_t g1, uint16_t g2, uint16_t g7, uint16_t g6 = 0) {
  pf_addr x{};
  uint16_t g[8] = {g0, g1, g2, 0, 0, 0, g6, g7};
  for (int i = 0; i < 8; i++) x.a16[i] = htons(g[i]);
  return x;
}

struct Gateway {
  const char* ifname;
  bool v6;
  pf_addr gw, wanAddr;
};

const Gateway kGateways[] = {
    {"igb0", false, V4(198, 51, 100, 1), V4(198, 51, 100, 2)},    // GW_WAN1
    {"igb0", false, V4(198, 51, 100, 254), V4(198, 51, 100, 2)},  // GW_WAN1B (same interface)
    {"igb3", false, V4(203, 0, 113, 1), V4(203, 0, 113, 2)},      // GW_WAN2
    {"igb0", true, V6(0xfe80, 0, 0, 1), V6(0x2001, 0xdb8, 0xa, 2)},  // GW_WAN1_V6 fe80::1%igb0
    {"igb3", true, V6(0xfe80, 0, 0, 1), V6(0x2001, 0xdb8, 0xb, 2)},  // GW_WAN2_V6 fe80::1%igb3
};

class Gen {
 public:
  Gen(Kernel& k, const GenSpec& s) : k_(k), rng_{s.seed * 0x2545F4914F6CDD1Dull + 1} {}

  uint64_t added = 0;

  // One connection routed through the box: an IN state on `inIf` and an OUT state on `outIf`.
  // `client` initiates to `server`; the OUT state's wire source is `natAddr` (or the client).
  void Pair(const char* inIf, const char* outIf, bool v6, const pf_addr& client, uint16_t cport,
            const pf_addr& server, uint16_t sport, const pf_addr* natAddr, uint16_t natPort, uint8_t inRt,
            const pf_addr* rtAddr, const char* rtIf, uint32_t rule) {
    pf_state_export in = Base(inIf, v6, kDirIn, rule);
    // IN: addr[0]/port[0] = initiator. No translation on the LAN side: wire == stack.
    SetKey(in, kSkWire, client, cport, server, sport);
    SetKey(in, kSkStack, client, cport, server, sport);
    if (rtAddr) {
      in.rt = inRt;
      in.rt_addr = *rtAddr;
      std::strncpy(in.rt_ifname, rtIf, kIfNameSize - 1);
    }
    Add(in);
    pf_state_export out = Base(outIf, v6, kDirOut, rule);
    // OUT: addr[1]/port[1] = initiator. Wire = after NAT, stack = before.
    SetKey(out, kSkStack, server, sport, client, cport);
    if (natAddr)
      SetKey(out, kSkWire, server, sport, *natAddr, natPort);
    else
      SetKey(out, kSkWire, server, sport, client, cport);
    Add(out);
  }

  void PolicyRouted(const Gateway& g, uint32_t c, bool ambiguous = false) {
    pf_addr client = Client(g.v6, c), server = Server(g.v6);
    uint16_t cport = Port(c), sport = ServicePort();
    pf_addr nat = g.wanAddr;
    Pair("igb1", g.ifname, g.v6, client, cport, server, sport, g.v6 ? nullptr : &nat, NatPort(c), kRtRouteTo, &g.gw,
         g.ifname, 10);
    if (ambiguous) {
      // A floating duplicate of the OUT state on the other WAN: same stack key, different wire.
      pf_state_export dup = Base("all", g.v6, kDirOut, 10);
      std::strncpy(dup.orig_ifname, std::strcmp(g.ifname, "igb0") == 0 ? "igb3" : "igb0", kIfNameSize - 1);
      SetKey(dup, kSkStack, server, sport, client, cport);
      SetKey(dup, kSkWire, server, sport, client, cport);
      Add(dup);
    }
  }

  void DefaultNat(uint32_t c) {
    pf_addr client = Client(false, c), server = Server(false), nat = kGateways[0].wanAddr;
    Pair("igb1", "igb0", false, client, Port(c), server, ServicePort(), &nat, NatPort(c), 0, nullptr, "", 20);
  }

  void FirewallOut(const Gateway& g, uint32_t c) {
    pf_state_export s = Base(g.ifname, g.v6, kDirOut, 30);
    pf_addr server = Server(g.v6);
    SetKey(s, kSkWire, server, 53, g.wanAddr, Port(c));
    SetKey(s, kSkStack, server, 53, g.wanAddr, Port(c));
    s.proto = 17;
    s.rt = kRtRouteTo;
    s.rt_addr = g.gw;
    std::strncpy(s.rt_ifname, g.ifname, kIfNameSize - 1);
    Add(s);
  }

  void PortForward(const Gateway& g, uint32_t c) {
    // A remote client reaches the WAN address; rdr to 192.168.1.10; replies leave by reply-to.
    pf_addr remote = Server(g.v6), wan = g.wanAddr;
    pf_addr internal = g.v6 ? V6(0x2001, 0xdb8, 1, 10) : V4(192, 168, 1, 10);
    uint16_t rport = Port(c);
    pf_state_export in = Base(g.ifname, g.v6, kDirIn, 40);
    SetKey(in, kSkWire, remote, rport, wan, 443);
    SetKey(in, kSkStack, remote, rport, internal, 8443);
    in.rt = kRtReplyTo;
    in.rt_addr = g.gw;
    std::strncpy(in.rt_ifname, g.ifname, kIfNameSize - 1);
    Add(in);
    pf_state_export out = Base("igb1", g.v6, kDirOut, 40);
    SetKey(out, kSkWire, internal, 8443, remote, rport);
    SetKey(out, kSkStack, internal, 8443, remote, rport);
    Add(out);
  }

  void LanToLan(uint32_t c) {
    pf_addr client = Client(false, c), server = V4(10, 20, uint8_t(1 + rng_.below(200)), uint8_t(1 + rng_.below(250)));
    Pair("igb1", "igb2", false, client, Port(c), server, 445, nullptr, 0, 0, nullptr, "", 50);
  }

  void ToSelf(uint32_t c) {
    bool v6 = rng_.below(4) == 0;
    pf_state_export s = Base("igb1", v6, kDirIn, 60);
    pf_addr fw = v6 ? V6(0x2001, 0xdb8, 1, 1) : V4(192, 168, 1, 1);
    SetKey(s, kSkWire, Client(v6, c), Port(c), fw, 443);
    SetKey(s, kSkStack, Client(v6, c), Port(c), fw, 443);
    Add(s);
  }

 private:
  pf_state_export Base(const char* ifname, bool v6, uint8_t dir, uint32_t rule) {
    pf_state_export s{};
    s.version = kStateVersion14;
    std::strncpy(s.ifname, ifname, kIfNameSize - 1);
    std::strncpy(s.orig_ifname, ifname, kIfNameSize - 1);
    s.af = v6 ? kAfInet6 : kAfInet;
    s.proto = 6;
    s.direction = dir;
    s.rule = htonl(rule);
    s.anchor = s.nat_rule = 0xffffffffu;
    s.creation = htonl(rng_.below(86400));
    s.expire = htonl(86400);
    s.packets[0] = 1 + rng_.below(1000);
    s.packets[1] = rng_.below(1000);
    s.bytes[0] = s.packets[0] * 100;
    s.bytes[1] = s.packets[1] * 600;
    s.timeout = 4;  // TCP established
    return s;
  }

  static void SetKey(pf_state_export& s, int idx, const pf_addr& a0, uint16_t p0, const pf_addr& a1, uint16_t p1) {
    s.key[idx].addr[0] = a0;
    s.key[idx].addr[1] = a1;
    s.key[idx].port[0] = htons(p0);
    s.key[idx].port[1] = htons(p1);
  }

  // Client address and port from the connection counter: unique per connection up to 15M.
  pf_addr Client(bool v6, uint32_t c) {
    uint32_t h = c % 250;
    return v6 ? V6(0x2001, 0xdb8, 1, uint16_t(0x100 + h)) : V4(192, 168, 1, uint8_t(2 + h));
  }
  static uint16_t Port(uint32_t c) { return uint16_t(1024 + (c / 250) % 60000); }
  static uint16_t NatPort(uint32_t c) { return uint16_t(1024 + (c * 7919u) % 64000); }
  pf_addr Server(bool v6) {
    uint32_t r = uint32_t(rng_.next());
    return v6 ? V6(0x2606, 0x4700, uint16_t(r >> 16), uint16_t(r)) : V4(uint8_t(1 + (r >> 24) % 223), uint8_t(r >> 16), uint8_t(r >> 8), uint8_t(r));
  }
  uint16_t ServicePort() {
    static const uint16_t ports[] = {443, 443, 443, 80, 5060, 993, 22};
    return ports[rng_.below(7)];
  }
  void Add(pf_state_export& s) {
    if (k_.Insert(s)) added++;
  }

  Kernel& k_;
  Rng rng_;
};

}  // namespace

uint64_t Generate(Kernel& k, const GenSpec& spec) {
  Gen g(k, spec);
  Rng pick{spec.seed ^ 0xa5a5a5a5ull};
  k.table().Reserve(k.table().size() + spec.states);
  uint64_t conn = 0;
  bool bench = spec.profile == "bench";
  while (g.added < spec.states) {
    uint64_t left = spec.states - g.added;
    uint32_t c = uint32_t(conn++);
    if (left == 1) {  // exact count: finish with a single-state kind
      g.ToSelf(c);
      continue;
    }
    uint32_t r = pick.below(1000);
    if (bench) {
      if (r < 400) g.PolicyRouted(kGateways[0], c);
      else if (r < 800) g.PolicyRouted(kGateways[2], c);
      else if (r < 900) g.LanToLan(c);
      else g.ToSelf(c);
      continue;
    }
    if (r < 450) {
      // Gateways weighted: WAN1 most, WAN1B, WAN2, and the two IPv6 link-local ones.
      uint32_t w = pick.below(100);
      const Gateway& gw = w < 40 ? kGateways[0] : w < 50 ? kGateways[1] : w < 80 ? kGateways[2] : w < 90 ? kGateways[3] : kGateways[4];
      g.PolicyRouted(gw, c);
    } else if (r < 600) {
      g.DefaultNat(c);
    } else if (r < 650) {
      g.FirewallOut(kGateways[pick.below(5)], c);
    } else if (r < 750) {
      g.PortForward(kGateways[pick.below(3) == 2 ? 2 : 0], c);
    } else if (r < 870) {
      g.LanToLan(c);
    } else if (r < 999 || left < 3) {
      g.ToSelf(c);
    } else {
      g.PolicyRouted(kGateways[pick.below(2) ? 0 : 2], c, true);
    }
  }
  return g.added;
}

}  // namespace pf::sim
