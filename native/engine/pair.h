// Opposite-direction pairing by pf's own rule (kill_match, pf-abi.md 4.1): for each selected
// state, reverse its stack key (outbound) or wire key (inbound) and look it up among states of
// the other direction, by their wire key (inbound) or stack key (outbound). Unique = partner.
//
// A hash join: the wanted keys (one or two per selected state) go into a small table, then one
// sequential pass over every record probes it. The small table stays in cache and the records
// stream, which is faster than hashing the whole table (measured on 1M states).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pf/record_codec.h"

namespace engine {

constexpr int32_t kNoPartner = -1;
constexpr int32_t kAmbiguous = -2;

struct PairResult {
  std::vector<int32_t> partner;                         // per selected state: index, kNoPartner, kAmbiguous
  std::vector<std::pair<int32_t, int32_t>> ambiguous;  // (selected index, candidate index)
};

// `alsoStack`: where pf's rule finds nothing, use the partner found with the other key (pf's
// `nat` rule), which pairs port-forwards.
PairResult PairOpposite(const uint8_t* base, const pf::RecordOffsets& o, size_t count, const int32_t* selected,
                        size_t nsel, bool alsoStack);

}  // namespace engine
