// The simulated kernel's state table: states stored in pf_state_export form, an id hash
// (id + creatorid, like pf_find_state_byid) and two key hashes answering pf_find_state_all's
// question: PF_IN walks the states whose wire key is K, PF_OUT those whose stack key is K, of
// either direction (sys/netpfil/pf/pf.c pf_find_state_all: sk->states[idx], no direction check).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pf/abi.h"
#include "pf/record_codec.h"

namespace pf::sim {

class Table {
 public:
  struct Slot {
    pf_state_export rec;
    int32_t idNext = -1;
    int32_t wireNext = -1;   // chain of states with this wire key (PF_IN lookups)
    int32_t stackNext = -1;  // chain of states with this stack key (PF_OUT lookups)
    bool live = false;
  };

  // Slot index, or -1 when (id, creatorid) is already present (pf refuses duplicates too).
  int32_t Insert(const pf_state_export& rec);
  int32_t FindById(uint64_t id, uint32_t creatorid) const;
  // First state whose key of `dir`'s slot (PF_IN: wire, PF_OUT: stack) equals `k`, of either
  // direction; `*more` = how many others match.
  int32_t FindAll(const KeyCmp& k, uint8_t dir, int* more) const;
  void Remove(int32_t slot);
  void Clear();
  void Reserve(size_t n);

  size_t size() const { return live_; }
  size_t capacity() const { return slots_.size(); }
  const Slot& at(int32_t i) const { return slots_[i]; }
  Slot& at(int32_t i) { return slots_[i]; }

 private:
  static uint64_t IdHash(uint64_t id, uint32_t creatorid);
  static uint64_t KeyHash(const KeyCmp& k, uint8_t dir);
  static void KeyOf(const pf_state_export& r, int slot, KeyCmp* k);
  void Rehash(size_t buckets);
  void Link(int32_t i);

  std::vector<Slot> slots_;
  std::vector<int32_t> free_;
  std::vector<int32_t> idBuckets_, wireBuckets_, stackBuckets_;
  size_t live_ = 0;
};

}  // namespace pf::sim
