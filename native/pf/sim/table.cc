#include "pf/sim/table.h"

#include <cstring>

namespace pf::sim {

uint64_t Table::IdHash(uint64_t id, uint32_t creatorid) {
  uint64_t h = id ^ (uint64_t(creatorid) * 0x9e3779b97f4a7c15ull);
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 29);
}

uint64_t Table::KeyHash(const KeyCmp& k, uint8_t dir) { return HashKey(k) ^ (uint64_t(dir) * 0x9e3779b97f4a7c15ull); }

void Table::KeyOf(const pf_state_export& r, int slot, KeyCmp* k) {
  LoadKey(reinterpret_cast<const uint8_t*>(&r), kExportOffsets, slot, k);
}

void Table::Reserve(size_t n) {
  slots_.reserve(n);
  size_t b = 1024;
  while (b < n * 2) b <<= 1;
  if (b > idBuckets_.size()) Rehash(b);
}

void Table::Rehash(size_t buckets) {
  idBuckets_.assign(buckets, -1);
  wireBuckets_.assign(buckets, -1);
  stackBuckets_.assign(buckets, -1);
  for (int32_t i = 0; i < int32_t(slots_.size()); i++)
    if (slots_[i].live) Link(i);
}

void Table::Link(int32_t i) {
  Slot& s = slots_[i];
  size_t mask = idBuckets_.size() - 1;
  size_t b = IdHash(s.rec.id, s.rec.creatorid) & mask;
  s.idNext = idBuckets_[b];
  idBuckets_[b] = i;
  // Each state is found by its wire key (PF_IN lookups) and by its stack key (PF_OUT lookups).
  KeyCmp k;
  KeyOf(s.rec, kSkWire, &k);
  size_t kb = KeyHash(k, kDirIn) & mask;
  s.wireNext = wireBuckets_[kb];
  wireBuckets_[kb] = i;
  KeyOf(s.rec, kSkStack, &k);
  kb = KeyHash(k, kDirOut) & mask;
  s.stackNext = stackBuckets_[kb];
  stackBuckets_[kb] = i;
}

int32_t Table::Insert(const pf_state_export& rec) {
  if (idBuckets_.empty() || live_ + 1 > idBuckets_.size() / 2) Rehash(idBuckets_.empty() ? 1024 : idBuckets_.size() * 2);
  if (FindById(rec.id, rec.creatorid) >= 0) return -1;
  int32_t i;
  if (!free_.empty()) {
    i = free_.back();
    free_.pop_back();
  } else {
    i = int32_t(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[i];
  s.rec = rec;
  s.live = true;
  Link(i);
  live_++;
  return i;
}

int32_t Table::FindById(uint64_t id, uint32_t creatorid) const {
  if (idBuckets_.empty()) return -1;
  for (int32_t i = idBuckets_[IdHash(id, creatorid) & (idBuckets_.size() - 1)]; i >= 0; i = slots_[i].idNext)
    if (slots_[i].rec.id == id && slots_[i].rec.creatorid == creatorid) return i;
  return -1;
}

int32_t Table::FindAll(const KeyCmp& k, uint8_t dir, int* more) const {
  *more = 0;
  if (dir != kDirIn && dir != kDirOut) return -1;
  const bool wire = dir == kDirIn;
  const std::vector<int32_t>& buckets = wire ? wireBuckets_ : stackBuckets_;
  if (buckets.empty()) return -1;
  int32_t found = -1;
  for (int32_t i = buckets[KeyHash(k, dir) & (buckets.size() - 1)]; i >= 0; i = wire ? slots_[i].wireNext : slots_[i].stackNext) {
    KeyCmp c;
    KeyOf(slots_[i].rec, LookupSlotFor(dir), &c);
    if (!(c == k)) continue;
    if (found < 0)
      found = i;
    else
      (*more)++;
  }
  return found;
}

static void Unchain(std::vector<int32_t>& buckets, size_t b, int32_t i, int32_t Table::Slot::*next,
                    std::vector<Table::Slot>& slots) {
  int32_t* p = &buckets[b];
  while (*p >= 0 && *p != i) p = &(slots[*p].*next);
  if (*p == i) *p = slots[i].*next;
}

void Table::Remove(int32_t i) {
  Slot& s = slots_[i];
  if (!s.live) return;
  size_t mask = idBuckets_.size() - 1;
  Unchain(idBuckets_, IdHash(s.rec.id, s.rec.creatorid) & mask, i, &Slot::idNext, slots_);
  KeyCmp k;
  KeyOf(s.rec, kSkWire, &k);
  Unchain(wireBuckets_, KeyHash(k, kDirIn) & mask, i, &Slot::wireNext, slots_);
  KeyOf(s.rec, kSkStack, &k);
  Unchain(stackBuckets_, KeyHash(k, kDirOut) & mask, i, &Slot::stackNext, slots_);
  s.live = false;
  free_.push_back(i);
  live_--;
}

void Table::Clear() {
  slots_.clear();
  free_.clear();
  idBuckets_.clear();
  wireBuckets_.clear();
  stackBuckets_.clear();
  live_ = 0;
}

}  // namespace pf::sim
