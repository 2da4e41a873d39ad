// nvlist_unpack() with libnv's exact verdicts (FORMAT.md §8 checklist), replayed as amd64 libnv does
// it: nvlist_xunpack()'s flat loop over pairs, with UP / ARRAY_NEXT markers moving between lists.
// Every read is bounds-checked against what is left; nothing recurses, so input cannot exhaust the
// stack. Deliberate differences from libnv, all for inputs no libnv writer produces:
//  * nesting deeper than kMaxDepth, or more than kMaxUnpackedLists lists, is refused;
//  * descriptor pairs are refused with EINVAL (userland libnv with no fds does the same; a kernel
//    libnv would panic on them);
//  * a string array whose last string runs past its datasize is accepted only if a NUL follows
//    somewhere in the buffer (libnv's strdup would read past the buffer otherwise).
// Where libnv itself is quirky we follow it: markers may carry any name and datasize (ignored),
// an ARRAY_NEXT inside a plain nested list acts as UP, an UP inside an array element skips the
// remaining (empty) elements, only array-element headers change the byte order used for pairs,
// nitems is never byte-swapped (see UnpackOptions), bool array bytes are not range-checked, and
// the buffer may end with lists still open.
#include <cerrno>
#include <cstring>
#include <string>
#include <unordered_set>

#include "pf/nvlist.h"
#include "pf/nvlist_wire.h"

namespace nv {

class Unpacker {
 public:
  Unpacker(const uint8_t* buf, size_t len, const UnpackOptions& opt) : buf_(buf), len_(len), opt_(opt) {}

  int run(int flags, List* out);
  UnpackError error;

 private:
  struct Frame {
    List* list;
    Pair* array;     // the NVLIST_ARRAY pair when `list` is one of its elements
    size_t element;  // index of `list` in array->lists
    std::unordered_set<std::string> names;
  };

  size_t pos() const { return len_ - left_; }
  const uint8_t* ptr() const { return buf_ + pos(); }
  int fail(int err, size_t at, const std::string& what) {
    error.err = err;
    error.offset = at;
    error.message = "nvlist: " + what + " at offset " + std::to_string(at);
    return err;
  }

  int header(List* l, bool updatesByteOrder);  // nested-nvlist headers leave the byte order alone
  int pairValue(Pair& p, size_t at, uint64_t datasize, uint64_t nitems);
  int insert(Pair&& p, size_t at);
  int descend(List* child, Pair* array, size_t element, size_t at);

  const uint8_t* buf_;
  size_t len_;
  size_t left_ = 0;
  UnpackOptions opt_;
  bool isbe_ = false;
  size_t lists_ = 0;
  std::vector<Frame> stack_;  // stack_.back() is the list pairs currently go into
};

// nvlist_unpack_header(): magic, flag bits, exact size, no descriptors.
int Unpacker::header(List* l, bool updatesByteOrder) {
  size_t at = pos();
  if (left_ < kListHeaderSize) return fail(EINVAL, at, "truncated nvlist header");
  const uint8_t* p = ptr();
  if (p[0] != kHeaderMagic) return fail(EINVAL, at, "bad nvlist magic " + std::to_string(p[0]) + " (want 108)");
  uint8_t f = p[2];
  if (f & ~kHeaderFlagsAllowed) return fail(EINVAL, at, "unknown nvlist flag bits " + std::to_string(f));
  bool be = (f & kFlagBigEndian) != 0;  // each header's own size fields follow its own flag
  uint64_t descriptors = ReadUint(p + 3, 8, be);
  uint64_t size = ReadUint(p + 11, 8, be);
  if (size != left_ - kListHeaderSize)
    return fail(EINVAL, at,
                "nvlist header size " + std::to_string(size) + " but " + std::to_string(left_ - kListHeaderSize) +
                    " bytes follow");
  if (descriptors > 0) return fail(EINVAL, at, "nvlist header claims " + std::to_string(descriptors) + " descriptors");
  l->flags = f & kPublicFlags;
  if (updatesByteOrder) isbe_ = be;
  left_ -= kListHeaderSize;
  return 0;
}

// nvlist_move_nvpair(): unique names unless NO_UNIQUE, case-folded under IGNORE_CASE.
int Unpacker::insert(Pair&& p, size_t at) {
  Frame& f = stack_.back();
  if (!(f.list->flags & kFlagNoUnique)) {
    std::string key = p.name;
    if (f.list->flags & kFlagIgnoreCase)
      for (char& c : key) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    if (!f.names.insert(key).second) return fail(EEXIST, at, "duplicate pair '" + p.name + "'");
  }
  f.list->pairs_.push_back(std::move(p));
  return 0;
}

int Unpacker::descend(List* child, Pair* array, size_t element, size_t at) {
  if (stack_.size() >= kMaxDepth) return fail(EINVAL, at, "nesting deeper than " + std::to_string(kMaxDepth));
  stack_.push_back(Frame{child, array, element, {}});
  return 0;
}

// The per-type nvpair_unpack_*() checks; `left_` is just past the name.
int Unpacker::pairValue(Pair& p, size_t at, uint64_t datasize, uint64_t nitems) {
  const std::string who = "pair '" + p.name + "'";
  const uint8_t* v = ptr();
  switch (p.type) {
    case Type::Null:
      if (datasize != 0) return fail(EINVAL, at, who + " (null) datasize " + std::to_string(datasize));
      return 0;
    case Type::Bool:
      if (datasize != 1) return fail(EINVAL, at, who + " (bool) datasize " + std::to_string(datasize));
      if (v[0] > 1) return fail(EINVAL, at, who + " (bool) value " + std::to_string(v[0]));
      p.b = v[0] == 1;
      left_ -= 1;
      return 0;
    case Type::Number:
      if (datasize != 8) return fail(EINVAL, at, who + " (number) datasize " + std::to_string(datasize));
      p.num = ReadUint(v, 8, isbe_);
      left_ -= 8;
      return 0;
    case Type::String:
      if (datasize == 0) return fail(EINVAL, at, who + " (string) datasize 0");
      if (strnlen(reinterpret_cast<const char*>(v), datasize) != datasize - 1)
        return fail(EINVAL, at, who + " (string) is not one NUL-terminated string of its datasize");
      p.str.assign(reinterpret_cast<const char*>(v), datasize - 1);
      left_ -= datasize;
      return 0;
    case Type::Binary:
      if (datasize == 0) return fail(EINVAL, at, who + " (binary) datasize 0");
      p.bin.assign(v, v + datasize);
      left_ -= datasize;
      return 0;
    case Type::Descriptor:
    case Type::DescriptorArray:
      return fail(EINVAL, at, who + " is a descriptor, and no descriptors come with a buffer");
    case Type::BoolArray:
      if (nitems == 0 || datasize != nitems)
        return fail(EINVAL, at, who + " (bool array) datasize " + std::to_string(datasize) + " for " +
                                    std::to_string(nitems) + " items");
      for (uint64_t i = 0; i < nitems; i++) p.bools.push_back(v[i] != 0);
      left_ -= datasize;
      return 0;
    case Type::NumberArray: {
      uint64_t size;
      if (nitems == 0 || __builtin_mul_overflow(nitems, uint64_t{8}, &size) || size != datasize)
        return fail(EINVAL, at, who + " (number array) datasize " + std::to_string(datasize) + " for " +
                                    std::to_string(nitems) + " items");
      p.nums.reserve(nitems);
      for (uint64_t i = 0; i < nitems; i++) p.nums.push_back(ReadUint(v + 8 * i, 8, isbe_));
      left_ -= datasize;
      return 0;
    }
    case Type::StringArray: {
      if (datasize == 0 || nitems == 0)
        return fail(EINVAL, at, who + " (string array) datasize " + std::to_string(datasize) + " for " +
                                    std::to_string(nitems) + " items");
      // libnv's check: each string's length is measured within what remains of datasize.
      uint64_t remain = datasize;
      const char* s = reinterpret_cast<const char*>(v);
      for (uint64_t i = 0; i < nitems; i++) {
        if (remain == 0) return fail(EINVAL, at, who + " (string array) has fewer strings than nitems");
        uint64_t n = strnlen(s, remain - 1) + 1;
        remain -= n;
        s += n;
      }
      if (remain != 0) return fail(EINVAL, at, who + " (string array) has bytes after its last string");
      // Then it copies each as a C string, which for an unterminated last one reads on past datasize.
      for (uint64_t i = 0; i < nitems; i++) {
        const char* str = reinterpret_cast<const char*>(ptr());
        size_t n = strnlen(str, left_);
        if (n == left_) return fail(EINVAL, at, who + " (string array) runs off the end of the buffer");
        p.strs.emplace_back(str, n);
        left_ -= n + 1;
      }
      return 0;
    }
    case Type::Nvlist:
    case Type::NvlistArray:
      return 0;  // handled by the caller
  }
  return fail(EINVAL, at, who + " has an unknown type");
}

int Unpacker::run(int flags, List* out) {
  *out = List();
  left_ = len_;
  if (flags & ~kPublicFlags) return fail(EINVAL, 0, "unpack flags " + std::to_string(flags));
  if (int e = header(out, true)) return e;
  if (out->flags != flags)
    return fail(EILSEQ, 0,
                "nvlist flags " + std::to_string(out->flags) + " but the caller expects " + std::to_string(flags));
  stack_.push_back(Frame{out, nullptr, 0, {}});

  while (left_ > 0) {
    // nvpair_unpack_header()
    size_t at = pos();
    if (left_ < kPairHeaderSize) return fail(EINVAL, at, "truncated pair header");
    const uint8_t* h = ptr();
    uint8_t type = h[0];
    if (type < 1 || (type > kTypeLast && type != kTypeNvlistUp && type != kTypeArrayNext))
      return fail(EINVAL, at, "unknown pair type " + std::to_string(type));
    uint64_t namesize = ReadUint(h + 1, 2, isbe_);
    uint64_t datasize = ReadUint(h + 3, 8, isbe_);
    uint64_t nitems = ReadUint(h + 11, 8, isbe_ && opt_.swapForeignNitems);
    left_ -= kPairHeaderSize;
    if (namesize > kNameMax) return fail(EINVAL, at, "name size " + std::to_string(namesize) + " over 2048");
    if (left_ < namesize) return fail(EINVAL, at, "name runs off the end of the buffer");
    if (namesize < 1) return fail(EINVAL, at, "name size 0");
    const char* name = reinterpret_cast<const char*>(ptr());
    if (strnlen(name, namesize) != namesize - 1)
      return fail(EINVAL, at, "name does not end with its only NUL at name size " + std::to_string(namesize));
    Pair p;
    p.type = static_cast<Type>(type);
    p.name.assign(name, namesize - 1);
    left_ -= namesize;
    if (left_ < datasize)
      return fail(EINVAL, at, "pair '" + p.name + "' datasize " + std::to_string(datasize) + " but " +
                                  std::to_string(left_) + " bytes left");

    Frame& f = stack_.back();
    if (type == kTypeNvlistUp) {  // back to the list holding the pair that opened this one
      if (stack_.size() == 1) return fail(EINVAL, at, "NVLIST_UP marker at top level");
      stack_.pop_back();
      continue;
    }
    if (type == kTypeArrayNext) {
      bool hasNext = f.array != nullptr && f.element + 1 < f.array->lists.size();
      if (!hasNext) {  // last element, or a plain nested list: behaves as UP
        if (stack_.size() == 1) return fail(EINVAL, at, "NVLIST_ARRAY_NEXT marker at top level");
        stack_.pop_back();
        continue;
      }
      Frame next{&f.array->lists[f.element + 1], f.array, f.element + 1, {}};
      stack_.back() = std::move(next);
      if (int e = header(stack_.back().list, true)) return e;
      continue;
    }

    if (p.type == Type::Nvlist) {  // nvpair_unpack_nvlist(): header follows; byte order unchanged
      if (datasize == 0) return fail(EINVAL, at, "pair '" + p.name + "' (nvlist) datasize 0");
      if (++lists_ > kMaxUnpackedLists) return fail(ENOMEM, at, "too many nested lists");
      p.lists.resize(1);
      if (int e = header(&p.lists[0], false)) return e;
      if (int e = insert(std::move(p), at)) return e;
      List* parent = stack_.back().list;
      if (int e = descend(&parent->pairs_.back().lists[0], nullptr, 0, at)) return e;
      continue;
    }
    if (p.type == Type::NvlistArray) {  // nvpair_unpack_nvlist_array(): element 0's header follows
      uint64_t sizeup;
      if (nitems == 0 || __builtin_mul_overflow(nitems, uint64_t{kPairHeaderSize}, &sizeup) || sizeup > left_)
        return fail(EINVAL, at, "pair '" + p.name + "' (nvlist array) of " + std::to_string(nitems) + " items");
      lists_ += nitems;
      if (lists_ > kMaxUnpackedLists) return fail(ENOMEM, at, "too many nested lists");
      p.lists.resize(nitems);
      if (int e = header(&p.lists[0], true)) return e;
      if (int e = insert(std::move(p), at)) return e;
      List* parent = stack_.back().list;
      Pair* array = &parent->pairs_.back();
      if (int e = descend(&array->lists[0], array, 0, at)) return e;
      continue;
    }

    if (int e = pairValue(p, at, datasize, nitems)) return e;
    if (int e = insert(std::move(p), at)) return e;
  }
  return 0;
}

int List::unpack(const uint8_t* buf, size_t len, int flags, List* out, UnpackError* why,
                 const UnpackOptions& opt) {
  Unpacker u(buf, len, opt);
  int err = u.run(flags, out);
  if (err != 0) *out = List();
  if (why) *why = err ? u.error : UnpackError{};
  return err;
}

int List::unpack(const uint8_t* buf, size_t len, int flags, List* out) {
  return unpack(buf, len, flags, out, nullptr);
}

}  // namespace nv
