// Selection over 'ct' records: pure computation, portable (no kernel involved).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sk::ct {

struct Cidr {
  uint8_t af = 0;  // 0 = unused
  uint8_t addr[16] = {};
  uint8_t mask[16] = {};
};

// One CompiledSelection (src/engine/compile.ts); every present criterion must hold, and the
// entries of a list OR (an empty list = no restriction; validate.ts never sends one).
struct Spec {
  bool hasMark = false;
  uint32_t mark = 0, markMask = 0;
  int32_t zone = -1;
  std::vector<uint8_t> afs, protos;
  std::vector<Cidr> src, dst;  // original tuple
  Cidr replyDst;  // reply tuple destination
  std::vector<uint16_t> srcPorts, dstPorts;  // original tuple
  std::vector<uint32_t> ids;  // CTA_ID, sorted
};

bool Matches(const Spec& s, const uint8_t* rec);

// Writes absolute indices of records in [from, to) matching any spec to outIdx, and which specs
// matched (bit i = spec i) to outMask; stops at `cap` and returns the count.
size_t Select(const uint8_t* records, size_t from, size_t to, const std::vector<Spec>& specs, int32_t* outIdx,
              uint32_t* outMask, size_t cap);

}  // namespace sk::ct
