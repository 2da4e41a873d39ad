#include "engine/pair.h"

#include <algorithm>
#include <cstring>

namespace engine {

namespace {

constexpr uint32_t kNone = 0xffffffffu;

// One distinct wanted (key, direction). Selected states wanting the same key share it.
struct Entry {
  pf::KeyCmp key;
  uint8_t dir;
  uint8_t usedAmbiguous = 0;  // some selected state takes its (non-unique) answer
  uint32_t matches = 0;
  int32_t first = -1;          // first matching record
  uint64_t firstId = 0;
  uint32_t firstCreator = 0;
  uint32_t kernelMask = 0;     // selection masks of the selected states whose pf-rule want this is
  uint32_t pairedPos = kNone;  // position of `first` in the paired list, once added
  uint32_t offDirection = 0;   // states of the *wanted* direction's opposite that have this key in the lookup slot
};

uint64_t DirHash(uint8_t dir) { return uint64_t(dir) * 0x9e3779b97f4a7c15ull; }
uint64_t WantHash(const pf::KeyCmp& k, uint8_t dir) { return pf::HashKey(k) ^ DirHash(dir); }

// The pass's working memory, kept by the thread between calls: a long-lived process (watch, a
// library user's next plan) then pairs in pages already faulted in (about 25 MB at 1M states).
struct Scratch {
  std::vector<uint64_t> slots, bits, taken;
  std::vector<Entry> entries;
  std::vector<uint32_t> wantOf;
};
thread_local Scratch scratch;

// Open addressing over 64-bit slots: the hash's upper 32 bits as a tag, entry index + 1 below.
// A probe compares tags in the slot array and touches an entry only on a tag hit.
class WantTable {
 public:
  explicit WantTable(size_t maxEntries) : slots_(scratch.slots), bits_(scratch.bits), entries_(scratch.entries) {
    size_t cap = 16;
    while (cap < maxEntries * 2) cap <<= 1;
    slots_.assign(cap, 0);
    mask_ = cap - 1;
    // The bit filter: about 8 bits per entry, at most 2^23 bits (1 MiB), so that it stays in cache
    // while the records stream past; most records that match nothing stop here.
    size_t bits = 4096;
    while (bits < maxEntries * 8 && bits < (size_t(1) << 23)) bits <<= 1;
    bits_.assign(bits / 64, 0);
    bitMask_ = bits - 1;
    entries_.clear();
    entries_.reserve(maxEntries);
  }

  // The entry for (k, dir) with hash h, created if new.
  uint32_t Intern(const pf::KeyCmp& k, uint8_t dir, uint64_t h) {
    uint32_t tag = uint32_t(h >> 32);
    size_t b = h & mask_;
    for (; slots_[b]; b = (b + 1) & mask_) {
      if (uint32_t(slots_[b] >> 32) != tag) continue;
      uint32_t e = uint32_t(slots_[b]) - 1;
      if (entries_[e].dir == dir && entries_[e].key == k) return e;
    }
    uint32_t e = uint32_t(entries_.size());
    entries_.push_back(Entry{k, dir});
    slots_[b] = (uint64_t(tag) << 32) | (e + 1);
    size_t bit = (h >> 20) & bitMask_;
    bits_[bit >> 6] |= uint64_t(1) << (bit & 63);
    dirs_ |= uint8_t(1u << dir);
    return e;
  }

  // False when no entry has hash h (the bit filter); true means "maybe".
  bool MayHave(uint64_t h) const {
    size_t bit = (h >> 20) & bitMask_;
    return bits_[bit >> 6] >> (bit & 63) & 1;
  }
  void Prefetch(uint64_t h) const { __builtin_prefetch(&slots_[h & mask_]); }

  // The entry a record with lookup key `k` (hash h) in direction `dir` answers, or kNone.
  uint32_t Find(const pf::KeyCmp& k, uint8_t dir, uint64_t h) const {
    uint32_t tag = uint32_t(h >> 32);
    for (size_t b = h & mask_; slots_[b]; b = (b + 1) & mask_) {
      if (uint32_t(slots_[b] >> 32) != tag) continue;
      uint32_t e = uint32_t(slots_[b]) - 1;
      if (entries_[e].dir == dir && entries_[e].key == k) return e;
    }
    return kNone;
  }

  bool WantsDirection(uint8_t dir) const { return dir < 8 && (dirs_ >> dir & 1); }
  std::vector<Entry>& entries() { return entries_; }

 private:
  std::vector<uint64_t>& slots_;
  std::vector<uint64_t>& bits_;
  std::vector<Entry>& entries_;
  size_t mask_ = 0, bitMask_ = 0;
  uint8_t dirs_ = 0;
};

// Block size and prefetch distance of the two passes (tried 8-32 and 8-16 on 1M states: flat).
constexpr size_t kBlock = 16, kAhead = 8;

// The lines of a record the passes read: id, the keys, direction/af/proto.
void PrefetchRecord(const uint8_t* rec, const pf::RecordOffsets& o) {
  __builtin_prefetch(rec + o.id);
  __builtin_prefetch(rec + o.key + 40);
  __builtin_prefetch(rec + o.direction);
}

uint64_t IdOf(const uint8_t* rec, const pf::RecordOffsets& o) {
  uint64_t v;
  std::memcpy(&v, rec + o.id, 8);
  return v;
}
uint32_t CreatorOf(const uint8_t* rec, const pf::RecordOffsets& o) {
  uint32_t v;
  std::memcpy(&v, rec + o.creatorid, 4);
  return v;
}

}  // namespace

PairResult PairOpposite(const uint8_t* base, const pf::RecordOffsets& o, size_t count, const int32_t* selected,
                        const uint32_t* masks, size_t nsel, bool alsoStack, bool offDirection) {
  PairResult r;
  const size_t rules = alsoStack ? 2 : 1;
  WantTable table(nsel * rules);
  std::vector<uint32_t>& wantOf = scratch.wantOf;  // [s * rules + rule]: rule 0 = pf's, 1 = the other key
  wantOf.assign(nsel * rules, 0);
  r.selectedId.resize(nsel);
  r.selectedCreator.resize(nsel);
  // In blocks: hashes first, with the slots they land on prefetched, then the inserts; records
  // are prefetched a few selected states ahead. (Measured on 1M bench states: 80 -> 45 ms.)
  {
    struct Want {
      uint64_t h;
      pf::KeyCmp k;
      uint8_t dir;
    };
    Want block[kBlock * 2];
    for (size_t s0 = 0; s0 < nsel; s0 += kBlock) {
      size_t end = std::min(nsel, s0 + kBlock), nw = 0;
      for (size_t s = s0; s < end; s++) {
        if (s + kAhead < nsel) PrefetchRecord(base + size_t(selected[s + kAhead]) * o.stride, o);
        const uint8_t* rec = base + size_t(selected[s]) * o.stride;
        r.selectedId[s] = IdOf(rec, o);
        r.selectedCreator[s] = CreatorOf(rec, o);
        for (size_t k = 0; k < rules; k++) {
          Want& w = block[nw++];
          w.dir = pf::OppositeKey(rec, o, k == 1, &w.k);
          if (k == 1 && w.k == block[nw - 2].k) {  // untranslated state: both rules want one key
            w.h = block[nw - 2].h;
            continue;
          }
          w.h = WantHash(w.k, w.dir);
          table.Prefetch(w.h);
        }
      }
      for (size_t j = 0; j < nw; j++) wantOf[s0 * rules + j] = table.Intern(block[j].k, block[j].dir, block[j].h);
    }
  }
  std::vector<Entry>& entries = table.entries();

  // The scan. A record matches at most one entry, so `extra` (candidates once an entry has two
  // matches) holds at most one item per record: linear whatever the duplicates.
  std::vector<std::pair<uint32_t, int32_t>> extra;
  std::vector<std::pair<uint64_t, uint32_t>> extraIds;
  auto hit = [&](uint32_t e, int32_t i, const uint8_t* rec) {
    Entry& w = entries[e];
    if (++w.matches == 1) {
      w.first = i;
      w.firstId = IdOf(rec, o);
      w.firstCreator = CreatorOf(rec, o);
      return;
    }
    if (w.matches == 2) {
      extra.emplace_back(e, w.first);
      extraIds.emplace_back(w.firstId, w.firstCreator);
    }
    extra.emplace_back(e, i);
    extraIds.emplace_back(IdOf(rec, o), CreatorOf(rec, o));
  };
  // In blocks, as above: records that pass the bit filter get their slot prefetched, then the
  // block is probed. (1M bench states: 95 -> 55 ms with the record prefetch.)
  // Each record is also probed the way the kernel's lookup sees it from the other side: as a
  // PF_IN candidate by its wire key and a PF_OUT candidate by its stack key, whatever its own
  // direction (pf_find_state_all, sys/netpfil/pf/pf.c). Those hits are not partners of the plan;
  // they are counted per entry so the fast path knows where pf's kill_match would differ.
  struct Probe {
    uint64_t h;
    pf::KeyCmp k;
    int32_t i;
    uint8_t dir;
    bool off;  // a hit of the other direction's lookup: counted, never a partner
  };
  Probe block[kBlock * 2];
  for (size_t i0 = 0; i0 < count; i0 += kBlock) {
    size_t n = 0, end = std::min(count, i0 + kBlock);
    for (size_t i = i0; i < end; i++) {
      const uint8_t* rec = base + i * o.stride;
      if (i + kAhead < count) PrefetchRecord(rec + kAhead * o.stride, o);
      uint8_t dir = rec[o.direction];
      if (dir != pf::kDirIn && dir != pf::kDirOut) continue;
      uint8_t other = dir == pf::kDirIn ? pf::kDirOut : pf::kDirIn;
      pf::KeyCmp ownKey;
      uint64_t own = 0;
      bool haveOwn = false;
      if (table.WantsDirection(dir)) {
        pf::LoadKey(rec, o, pf::LookupSlotFor(dir), &ownKey);
        own = pf::HashKey(ownKey);
        haveOwn = true;
        uint64_t h = own ^ DirHash(dir);
        if (table.MayHave(h)) {
          table.Prefetch(h);
          block[n++] = Probe{h, ownKey, int32_t(i), dir, false};
        }
      }
      if (offDirection && table.WantsDirection(other)) {
        pf::KeyCmp k;
        pf::LoadKey(rec, o, pf::LookupSlotFor(other), &k);
        // Untranslated states have one key in both slots: its hash is the one just computed.
        uint64_t h = (haveOwn && k == ownKey ? own : pf::HashKey(k)) ^ DirHash(other);
        if (table.MayHave(h)) {
          table.Prefetch(h);
          block[n++] = Probe{h, k, int32_t(i), other, true};
        }
      }
    }
    for (size_t j = 0; j < n; j++) {
      uint32_t e = table.Find(block[j].k, block[j].dir, block[j].h);
      if (e == kNone) continue;
      if (block[j].off) entries[e].offDirection++;
      else hit(e, block[j].i, base + size_t(block[j].i) * o.stride);
    }
  }

  // Which answer each selected state takes; partners each once, never a selected state.
  std::vector<uint64_t>& taken = scratch.taken;
  taken.assign((count + 63) / 64, 0);
  auto isTaken = [&](int32_t i) { return taken[size_t(i) >> 6] >> (i & 63) & 1; };
  auto take = [&](int32_t i) { taken[size_t(i) >> 6] |= uint64_t(1) << (i & 63); };
  for (size_t s = 0; s < nsel; s++) take(selected[s]);
  for (size_t s = 0; s < nsel; s++) {
    uint32_t e0 = wantOf[s * rules];
    uint32_t e = entries[e0].matches == 0 && alsoStack ? wantOf[s * rules + 1] : e0;
    Entry& w = entries[e];
    entries[e0].kernelMask |= masks[s];
    if (w.matches == 1) {
      if (!isTaken(w.first)) {
        take(w.first);
        w.pairedPos = uint32_t(r.paired.index.size());
        r.paired.Add(w.first, w.firstId, w.firstCreator);
      }
    } else if (w.matches >= 2) {
      w.usedAmbiguous = 1;
      r.ambiguousSelected++;
    }
  }
  for (size_t k = 0; k < extra.size(); k++) {
    const auto& [e, i] = extra[k];
    if (entries[e].kernelMask) {  // pf's rule for some selected state, and not unique
      r.kernelAmbiguous.push_back(i);
      r.kernelAmbiguousMask.push_back(entries[e].kernelMask);
    }
    if (entries[e].usedAmbiguous && !isTaken(i)) {
      take(i);
      r.ambiguous.Add(i, extraIds[k].first, extraIds[k].second);
    }
  }

  if (!offDirection) r.kernelOffDirectionMask = ~0u;
  for (const Entry& w : entries)
    if (w.offDirection && w.kernelMask) r.kernelOffDirectionMask |= w.kernelMask;

  // pf's rule, per kill-list entry: which selections' states it is the unique partner of.
  r.selectedKernelMask.assign(nsel, 0);
  r.pairedKernelMask.assign(r.paired.index.size(), 0);
  for (const Entry& w : entries) {
    if (w.matches != 1 || !w.kernelMask) continue;
    if (w.pairedPos != kNone) {
      r.pairedKernelMask[w.pairedPos] |= w.kernelMask;
    } else {  // the partner is itself selected
      const int32_t* p = std::lower_bound(selected, selected + nsel, w.first);
      if (p != selected + nsel && *p == w.first) r.selectedKernelMask[size_t(p - selected)] |= w.kernelMask;
    }
  }
  return r;
}

}  // namespace engine
