// Selection kernels over pf records in place (both layouts). One Spec = one Selection compiled
// in TS (src/engine/compile.ts); fields AND together, list entries OR.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "pf/record_codec.h"

namespace engine {

struct CidrSpec {
  uint8_t af = 0;  // pf af: 2 or 28
  uint8_t addr[16]{}, mask[16]{};
  std::string ifname;  // scope (IPv6 link-local gateway): must equal the state's rt_ifname
};

struct Spec {
  std::vector<CidrSpec> gateways, natAddrs;
  std::vector<std::string> interfaces, rtInterfaces;
  uint8_t af = 0;
  int proto = -1;
  bool hasSrc = false, hasDst = false;
  CidrSpec src, dst;
  int srcPort = -1, dstPort = -1;
  std::vector<uint32_t> rules;
  bool defaultRouted = false;  // rt_addr all zero: no route-to/reply-to next hop (Selection.defaultRouted)
  // Selection.labels resolved to main-ruleset rule numbers: a state matches when it has no anchor
  // and its rule is one of them (none = nothing matches).
  bool hasLabelRules = false;
  std::vector<uint32_t> labelRules;
};

// Bit i of the result = record matches specs[i] (at most 32 specs).
uint32_t MatchRecord(const uint8_t* rec, const pf::RecordOffsets& o, const std::vector<Spec>& specs);

// Scan records [from, to): write the absolute index of each match and its spec mask; returns n.
size_t SelectRange(const uint8_t* base, const pf::RecordOffsets& o, size_t from, size_t to,
                   const std::vector<Spec>& specs, int32_t* outIdx, uint32_t* outMask);

}  // namespace engine
