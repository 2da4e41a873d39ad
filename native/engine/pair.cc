#include "engine/pair.h"

namespace engine {

PairIndex::PairIndex(const uint8_t* base, const pf::RecordOffsets& o, size_t count) : base_(base), o_(o) {
  size_t cap = 16;
  while (cap < count * 2) cap <<= 1;
  mask_ = cap - 1;
  in_.assign(cap, 0);
  out_.assign(cap, 0);
  for (size_t i = 0; i < count; i++) {
    const uint8_t* rec = base + i * o.stride;
    uint8_t dir = rec[o.direction];
    if (dir != pf::kDirIn && dir != pf::kDirOut) continue;
    pf::KeyCmp k;
    pf::LoadKey(rec, o, pf::LookupSlotFor(dir), &k);
    uint64_t h = pf::HashKey(k);
    std::vector<uint64_t>& t = dir == pf::kDirIn ? in_ : out_;
    size_t b = h & mask_;
    while (t[b]) b = (b + 1) & mask_;
    t[b] = (h >> 32 << 32) | uint64_t(i + 1);
  }
}

int32_t PairIndex::PartnerOf(size_t i, std::vector<int32_t>* candidates, bool nat) const {
  const uint8_t* rec = base_ + i * o_.stride;
  pf::KeyCmp k;
  uint8_t dir = pf::OppositeKey(rec, o_, nat, &k);
  const std::vector<uint64_t>& t = dir == pf::kDirIn ? in_ : out_;
  uint64_t h = pf::HashKey(k);
  int32_t found = kNoPartner;
  size_t n = 0;
  for (size_t b = h & mask_; t[b]; b = (b + 1) & mask_) {
    if ((t[b] >> 32) != (h >> 32)) continue;
    size_t j = size_t(t[b] & 0xffffffffu) - 1;
    pf::KeyCmp c;
    pf::LoadKey(base_ + j * o_.stride, o_, pf::LookupSlotFor(dir), &c);
    if (!(c == k)) continue;
    if (n++ == 0) found = int32_t(j);
    if (candidates) candidates->push_back(int32_t(j));
  }
  if (n > 1) return kAmbiguous;
  if (candidates) candidates->clear();
  return found;
}

}  // namespace engine
