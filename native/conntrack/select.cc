#include "select.h"

#include <algorithm>

#include "record.h"

namespace sk::ct {

static bool CidrMatch(const Cidr& c, const uint8_t* rec, size_t off) {
  if (rec[kAf] != c.af) return false;
  const uint8_t* a = rec + off;
  for (int i = 0; i < 16; i++)
    if ((a[i] & c.mask[i]) != c.addr[i]) return false;
  return true;
}

template <typename T, typename V>
static bool AnyOf(const std::vector<T>& l, V v) {
  for (const T& x : l)
    if (x == v) return true;
  return false;
}

static bool AnyCidr(const std::vector<Cidr>& l, const uint8_t* rec, size_t off) {
  for (const Cidr& c : l)
    if (CidrMatch(c, rec, off)) return true;
  return false;
}

bool Matches(const Spec& s, const uint8_t* rec) {
  if (!s.afs.empty() && !AnyOf(s.afs, rec[kAf])) return false;
  if (!s.protos.empty() && !AnyOf(s.protos, rec[kProto])) return false;
  if (s.hasMark && (Get<uint32_t>(rec, kMark) & s.markMask) != s.mark) return false;
  if (s.zone >= 0 && Get<uint16_t>(rec, kZone) != s.zone) return false;
  if (!s.ids.empty() &&
      (!(rec[kFlags] & kHasId) || !std::binary_search(s.ids.begin(), s.ids.end(), Get<uint32_t>(rec, kId))))
    return false;
  if (!s.srcPorts.empty() && !AnyOf(s.srcPorts, Get<uint16_t>(rec, kOrigSport))) return false;
  if (!s.dstPorts.empty() && !AnyOf(s.dstPorts, Get<uint16_t>(rec, kOrigDport))) return false;
  if (!s.src.empty() && !AnyCidr(s.src, rec, kOrigSrc)) return false;
  if (!s.dst.empty() && !AnyCidr(s.dst, rec, kOrigDst)) return false;
  if (s.replyDst.af && !CidrMatch(s.replyDst, rec, kReplyDst)) return false;
  return true;
}

size_t Select(const uint8_t* records, size_t from, size_t to, const std::vector<Spec>& specs, int32_t* outIdx,
              uint32_t* outMask, size_t cap) {
  size_t n = 0;
  for (size_t i = from; i < to && n < cap; i++) {
    const uint8_t* rec = records + i * kStride;
    uint32_t bits = 0;
    for (size_t s = 0; s < specs.size(); s++)
      if (Matches(specs[s], rec)) bits |= 1u << s;
    if (bits) {
      outIdx[n] = static_cast<int32_t>(i);
      outMask[n] = bits;
      n++;
    }
  }
  return n;
}

}  // namespace sk::ct
