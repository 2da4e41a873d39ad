#include "engine/pair.h"

#include <algorithm>
#include <thread>

namespace engine {

namespace {

struct Want {
  pf::KeyCmp key;
  uint64_t hash;
  uint8_t dir;
  int32_t found = kNoPartner;
  uint32_t matches = 0;
};

uint64_t WantHash(const pf::KeyCmp& k, uint8_t dir) { return pf::HashKey(k) ^ (uint64_t(dir) * 0x9e3779b97f4a7c15ull); }

}  // namespace

PairResult PairOpposite(const uint8_t* base, const pf::RecordOffsets& o, size_t count, const int32_t* selected,
                        size_t nsel, bool alsoStack) {
  size_t rules = alsoStack ? 2 : 1;
  std::vector<Want> wants(nsel * rules);  // wants[s * rules + r]: rule 0 = pf's, rule 1 = other key
  for (size_t s = 0; s < nsel; s++)
    for (size_t r = 0; r < rules; r++) {
      Want& w = wants[s * rules + r];
      w.dir = pf::OppositeKey(base + size_t(selected[s]) * o.stride, o, r == 1, &w.key);
      w.hash = WantHash(w.key, w.dir);
    }
  size_t cap = 16;
  while (cap < wants.size() * 2) cap <<= 1;
  size_t mask = cap - 1;
  std::vector<uint32_t> slots(cap, 0);  // want index + 1; 0 = empty
  for (size_t i = 0; i < wants.size(); i++) {
    size_t b = wants[i].hash & mask;
    while (slots[b]) b = (b + 1) & mask;
    slots[b] = uint32_t(i + 1);
  }
  // The probe pass, split across threads for large tables: each scans its own range and records
  // (want, record) hits; hits are then applied in record order, so any thread count agrees.
  using Hits = std::vector<std::pair<uint32_t, int32_t>>;
  auto scan = [&](size_t from, size_t to, Hits* hits) {
    for (size_t i = from; i < to; i++) {
      const uint8_t* rec = base + i * o.stride;
      uint8_t dir = rec[o.direction];
      if (dir != pf::kDirIn && dir != pf::kDirOut) continue;
      pf::KeyCmp k;
      pf::LoadKey(rec, o, pf::LookupSlotFor(dir), &k);
      uint64_t h = WantHash(k, dir);
      for (size_t b = h & mask; slots[b]; b = (b + 1) & mask) {
        const Want& w = wants[slots[b] - 1];
        if (w.hash == h && w.dir == dir && w.key == k) hits->emplace_back(slots[b] - 1, int32_t(i));
      }
    }
  };
  size_t threads = count < 262144 ? 1 : std::min<size_t>(4, std::max(1u, std::thread::hardware_concurrency()));
  std::vector<Hits> hits(threads);
  std::vector<std::thread> pool;
  size_t per = (count + threads - 1) / threads;
  for (size_t t = 1; t < threads; t++) pool.emplace_back(scan, std::min(count, t * per), std::min(count, (t + 1) * per), &hits[t]);
  scan(0, std::min(count, per), &hits[0]);
  for (auto& th : pool) th.join();
  std::vector<std::pair<uint32_t, int32_t>> extra;  // (want, candidate) once a want has 2+ matches
  for (const Hits& hs : hits)
    for (const auto& [wi, i] : hs) {
      Want& w = wants[wi];
      if (++w.matches == 1) {
        w.found = i;
      } else {
        if (w.matches == 2) extra.emplace_back(wi, w.found);
        extra.emplace_back(wi, i);
      }
    }
  PairResult r;
  r.partner.resize(nsel);
  std::vector<uint8_t> useRule(nsel, 0);
  for (size_t s = 0; s < nsel; s++) {
    const Want& w0 = wants[s * rules];
    const Want* w = &w0;
    if (w0.matches == 0 && alsoStack) {
      w = &wants[s * rules + 1];
      useRule[s] = 1;
    }
    r.partner[s] = w->matches == 0 ? kNoPartner : w->matches == 1 ? w->found : kAmbiguous;
  }
  for (const auto& [wi, cand] : extra) {
    size_t s = wi / rules;
    if (wi % rules == useRule[s] && r.partner[s] == kAmbiguous) r.ambiguous.emplace_back(selected[s], cand);
  }
  return r;
}

}  // namespace engine
