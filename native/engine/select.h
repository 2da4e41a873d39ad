// Selection kernels over pf records in place (both layouts). One Spec = one Selection compiled
// in TS (src/engine/compile.ts, validated by src/engine/validate.ts); fields AND together, the
// entries of a list OR. An empty list means "no restriction" here: validate.ts never sends one.
#pragma once
#include <bitset>
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

struct IdSpec {
  uint64_t id = 0;  // as printed: the raw id bytes read big-endian
  uint32_t creatorid = 0;  // raw, as the record holds it (read in host order)
  bool anyCreator = false;
};

struct Spec {
  std::vector<CidrSpec> gateways, natAddrs, src, dst;
  std::vector<std::string> interfaces, rtInterfaces;
  bool anyAf = true, inet = false, inet6 = false;
  bool anyProto = true;
  std::bitset<256> protos;
  std::vector<uint16_t> srcPorts, dstPorts;
  std::vector<uint32_t> rules;
  std::vector<IdSpec> ids;  // sorted by id (binary search: a list of thousands stays cheap)
  bool defaultRouted = false;  // rt_addr all zero: no route-to/reply-to next hop (Selection.defaultRouted)
  // Selection.labels resolved to main-ruleset rule numbers: a state matches when it has no anchor
  // and its rule is one of them (none = nothing matches).
  bool hasLabelRules = false;
  std::vector<uint32_t> labelRules;
};

// Sorts `ids` for MatchRecord; call once per Spec after filling it.
void PrepareSpec(Spec* s);

// Bit i of the result = record matches specs[i] (at most 32 specs).
uint32_t MatchRecord(const uint8_t* rec, const pf::RecordOffsets& o, const std::vector<Spec>& specs);

// Scan records [from, to): write the absolute index of each match and its spec mask; returns n.
size_t SelectRange(const uint8_t* base, const pf::RecordOffsets& o, size_t from, size_t to,
                   const std::vector<Spec>& specs, int32_t* outIdx, uint32_t* outMask);

}  // namespace engine
