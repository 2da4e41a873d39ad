// Opposite-direction pairing by pf's own rule (kill_match, pf-abi.md 4.1): for each selected
// state, reverse its stack key (outbound) or wire key (inbound) and look it up among states of
// the other direction, by their wire key (inbound) or stack key (outbound). Unique = partner.
//
// A hash join over *distinct* wanted keys: selected states that want the same key share one entry,
// and a record can match at most one entry (its own lookup key and direction), so the work and the
// output are linear in the table even when thousands of states share a key (issue 10 item 18).
// One sequential pass over the records probes a small bit filter first (in cache), then a table of
// hash tags, and copies ids while each matching record is in cache (the plan needs them).
// One thread: more did not help (issue 14's profile), the pass is memory-bound.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pf/record_codec.h"

namespace engine {

struct IdList {
  std::vector<int32_t> index;
  std::vector<uint64_t> id;
  std::vector<uint32_t> creator;
  void Add(int32_t i, uint64_t d, uint32_t c) {
    index.push_back(i);
    id.push_back(d);
    creator.push_back(c);
  }
};

struct PairResult {
  // Per selected state, in input order: its id and creatorid (raw, as exported).
  std::vector<uint64_t> selectedId;
  std::vector<uint32_t> selectedCreator;
  // Partners, each once, in the order of the first selected state that found it; never a
  // selected state (a selected partner is already killed as selected).
  IdList paired;
  // Candidates of every selected state whose partner is not unique: not selected, not paired,
  // each once, in the order the scan met them.
  IdList ambiguous;
  uint32_t ambiguousSelected = 0;  // selected states whose partner is not unique
  // pf's own rule alone (what the kernel's kill_match does), for the filter-kill fast path:
  // per selected state and per paired entry, the OR of the selection masks of the selected states
  // whose unique partner by pf's rule it is (0 = none);
  std::vector<uint32_t> selectedKernelMask, pairedKernelMask;
  // and every candidate (selected or not) of a non-unique pf-rule match, with the OR of the
  // selection masks of the selected states that wanted it.
  std::vector<int32_t> kernelAmbiguous;
  std::vector<uint32_t> kernelAmbiguousMask;
  // The kernel's lookup (pf_find_state_all) walks the key's wire list for PF_IN and its stack list
  // for PF_OUT, whatever each state's direction; the pairing above looks among the other direction
  // only. OR of the selection masks of the selected states whose pf-rule key some state of the
  // *same* direction also has: there the kernel's kill_match answers differently from the plan.
  // All ones when the pass was asked not to probe (unknown).
  uint32_t kernelOffDirectionMask = 0;
};

// `selected` ascending record indices (< count), `masks` their selection bits. `alsoStack`: where
// pf's rule finds nothing, use the partner found with the other key (pf's `nat` rule), which pairs
// port-forwards. `offDirection`: also probe each record as pf's lookup sees it from the other
// direction (kernelOffDirectionMask); without it (no selection pf's gateway kill could take) the
// mask says "unknown" (all ones), so nothing can trust an unprobed answer.
PairResult PairOpposite(const uint8_t* base, const pf::RecordOffsets& o, size_t count, const int32_t* selected,
                        const uint32_t* masks, size_t nsel, bool alsoStack, bool offDirection = true);

}  // namespace engine
