// The datasize pre-FreeBSD-14 libnv wrote for NVLIST pairs (the *.fbsd13 vectors, FORMAT.md §4).
// Its nvlist_size() started at the child list but, following parent and array-next links, kept
// walking through the rest of every enclosing list, counting pairs, nested headers and their
// markers but not the markers of the lists it climbed out of. This replays that walk on our tree.
#include "pf/nvlist_wire.h"

namespace nv {

namespace {

const List& ListAt(const PathStep& s) {
  const Pair& p = s.list->pairs()[s.pair];
  return p.lists[s.element == kNoElement ? 0 : s.element];
}

}  // namespace

uint64_t LegacyNestedSize(const List& root, const std::vector<PathStep>& start) {
  (void)root;  // the path's first step names the root
  std::vector<PathStep> path = start;  // steps from the root down to `cur`
  const List* cur = &ListAt(path.back());
  uint64_t size = kListHeaderSize;
  if (cur->pairs().empty()) return size;
  size_t idx = 0;
  const uint64_t marker = kPairHeaderSize + 1;

  for (;;) {
    const Pair& p = cur->pairs()[idx];
    size += kPairHeaderSize + p.name.size() + 1;
    if (p.type == Type::Nvlist) {
      size += kListHeaderSize + marker;
      if (!p.lists[0].pairs().empty()) {
        path.push_back({cur, idx, kNoElement});
        cur = &p.lists[0];
        idx = 0;
        continue;
      }
    } else if (p.type == Type::NvlistArray) {
      size += (kListHeaderSize + marker) * p.lists.size();
      size_t k = 0;
      while (k < p.lists.size() && p.lists[k].pairs().empty()) k++;
      if (k < p.lists.size()) {  // descend into the first element that has pairs
        path.push_back({cur, idx, k});
        cur = &p.lists[k];
        idx = 0;
        continue;
      }
    } else {
      size += ValueSize(p);
    }

    // Next pair: in this list, else the next array element's first pair, else climb to the
    // pair after the one owning this list.
    for (;;) {
      if (++idx < cur->pairs().size()) break;
      bool enteredElement = false;
      for (;;) {
        if (path.empty()) return size;
        PathStep& s = path.back();
        const Pair& owner = s.list->pairs()[s.pair];
        if (s.element != kNoElement && s.element + 1 < owner.lists.size()) {
          s.element++;
          cur = &owner.lists[s.element];
          if (cur->pairs().empty()) continue;
          idx = 0;
          enteredElement = true;
          break;
        }
        cur = s.list;
        idx = s.pair;
        path.pop_back();
        break;
      }
      if (enteredElement) break;
    }
  }
}

}  // namespace nv
