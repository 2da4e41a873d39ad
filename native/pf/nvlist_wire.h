// Internal to the nvlist codec: wire constants (FORMAT.md §2-5), a byte writer of either order, and
// the helpers the pack, legacy-size and unpack files share. Not part of the public nvlist.h API.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pf/nvlist.h"

namespace nv {

constexpr size_t kListHeaderSize = 19;
constexpr size_t kPairHeaderSize = 19;
constexpr size_t kNameMax = 2048;  // NV_NAME_MAX, including the NUL
constexpr uint8_t kHeaderMagic = 0x6c;
constexpr uint8_t kHeaderVersion = 0;
constexpr uint8_t kFlagIgnoreCase = 0x01, kFlagNoUnique = 0x02, kFlagBigEndian = 0x80;
constexpr uint8_t kPublicFlags = kFlagIgnoreCase | kFlagNoUnique;
constexpr uint8_t kHeaderFlagsAllowed = kPublicFlags | kFlagBigEndian;  // IN_ARRAY cannot fit a u8
constexpr uint8_t kTypeLast = 12, kTypeArrayNext = 254, kTypeNvlistUp = 255;
constexpr size_t kNoElement = static_cast<size_t>(-1);

// One step from the root down to a nested list: the pair `pair` of `list`, element `element` of
// an nvlist array (kNoElement for a plain nested nvlist).
struct PathStep {
  const List* list;
  size_t pair;
  size_t element;
};

// Datasize the pre-FreeBSD-14 nvlist_size() walk gives the NVLIST pair at the end of `path`.
uint64_t LegacyNestedSize(const List& root, const std::vector<PathStep>& path);

uint64_t ValueSize(const Pair& p);  // value bytes after the name (0 for nested lists)
uint64_t ItemCount(const Pair& p);  // nitems field

inline bool EqualIgnoreCase(const std::string& a, const std::string& b) {  // strcasecmp, C locale
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    unsigned char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x += 32;
    if (y >= 'A' && y <= 'Z') y += 32;
    if (x != y) return false;
  }
  return true;
}

struct Writer {
  explicit Writer(bool be) : bigEndian(be) {}
  bool bigEndian;
  std::vector<uint8_t> out;

  void u8(uint8_t v) { out.push_back(v); }
  void u16(uint16_t v) { put(v, 2); }
  void u64(uint64_t v) { put(v, 8); }
  void bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  }

 private:
  void put(uint64_t v, int n) {
    for (int i = 0; i < n; i++) {
      int shift = bigEndian ? 8 * (n - 1 - i) : 8 * i;
      out.push_back(static_cast<uint8_t>(v >> shift));
    }
  }
};

inline uint64_t ReadUint(const uint8_t* p, int n, bool bigEndian) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) {
    int shift = bigEndian ? 8 * (n - 1 - i) : 8 * i;
    v |= static_cast<uint64_t>(p[i]) << shift;
  }
  return v;
}

}  // namespace nv
