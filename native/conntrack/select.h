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

// One CompiledSelection (src/engine/compile.ts); every present criterion must hold.
struct Spec {
  bool hasMark = false;
  uint32_t mark = 0, markMask = 0;
  int32_t zone = -1;
  uint8_t af = 0;
  int32_t proto = -1;
  Cidr src, dst, replyDst;  // src/dst: original tuple; replyDst: reply tuple destination
  int32_t srcPort = -1, dstPort = -1;  // original tuple
};

bool Matches(const Spec& s, const uint8_t* rec);

// Writes absolute indices of records in [from, to) matching any spec to outIdx, and which specs
// matched (bit i = spec i) to outMask; stops at `cap` and returns the count.
size_t Select(const uint8_t* records, size_t from, size_t to, const std::vector<Spec>& specs, int32_t* outIdx,
              uint32_t* outMask, size_t cap);

}  // namespace sk::ct
