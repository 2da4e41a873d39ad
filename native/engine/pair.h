// Opposite-direction pairing by pf's own rule (kill_match, pf-abi.md 4.1): for each selected
// state, reverse its stack key (outbound) or wire key (inbound) and look it up among states of
// the other direction, by their wire key (inbound) or stack key (outbound). Unique = partner.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pf/record_codec.h"

namespace engine {

constexpr int32_t kNoPartner = -1;
constexpr int32_t kAmbiguous = -2;

class PairIndex {
 public:
  PairIndex(const uint8_t* base, const pf::RecordOffsets& o, size_t count);
  // Partner of record `i`: its index, kNoPartner, or kAmbiguous (then `candidates` gets them all).
  // `nat` uses the other key of the state, as pf's kill_match does with psk_nat.
  int32_t PartnerOf(size_t i, std::vector<int32_t>* candidates, bool nat = false) const;

 private:
  const uint8_t* base_;
  pf::RecordOffsets o_;
  size_t mask_;
  std::vector<uint64_t> in_, out_;  // (hash32 << 32) | (index + 1); 0 = empty slot
};

}  // namespace engine
