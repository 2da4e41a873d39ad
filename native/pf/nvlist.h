// FreeBSD libnv packed-nvlist codec, byte-compatible with nvlist_pack()/nvlist_unpack()
// (format: test/fixtures/nvlist-vectors/FORMAT.md). Only what pf's *NV ioctls need, but every type
// libnv can pack is accepted so real kernel replies never trip it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nv {

enum class Type : uint8_t {
  Null = 1, Bool = 2, Number = 3, String = 4, Nvlist = 5, Descriptor = 6, Binary = 7,
  BoolArray = 8, NumberArray = 9, StringArray = 10, NvlistArray = 11, DescriptorArray = 12,
};

struct PackOptions {
  bool bigEndian = false;        // write as a big-endian host would (flag 0x80 in every header)
  bool legacyNestedSize = false; // pre-FreeBSD-14 datasize for nested lists (the *.fbsd13 vectors)
};

struct UnpackOptions {
  // libnv byte-swaps namesize/datasize of foreign-endian pairs but never nitems, so on amd64 every
  // big-endian buffer holding an array fails (EINVAL). false = that exact behaviour (what the amd64
  // kernel does); true = also swap nitems, which decodes *.be.hex vectors that hold arrays.
  bool swapForeignNitems = false;
};

// Why unpack failed: the errno libnv would set, the byte offset where the fault was seen, and words.
struct UnpackError {
  int err = 0;
  size_t offset = 0;
  std::string message;
};

// Nesting bound (libnv has none; pf messages nest 4 deep). Keeps every recursive walk (destructors,
// pack, JS conversion) far from any stack limit.
constexpr size_t kMaxDepth = 64;
// Bound on nvlists one unpack may allocate (libnv would try to allocate what nitems claims).
constexpr size_t kMaxUnpackedLists = size_t{1} << 20;

class List;

struct Pair {
  Type type;
  std::string name;
  bool b = false;
  uint64_t num = 0;                  // Number, Descriptor
  std::string str;                   // String
  std::vector<uint8_t> bin;          // Binary
  std::vector<bool> bools;           // BoolArray
  std::vector<uint64_t> nums;        // NumberArray, DescriptorArray
  std::vector<std::string> strs;     // StringArray
  std::vector<List> lists;           // Nvlist (one element), NvlistArray
};

class List {
 public:
  uint8_t flags = 0;  // public flags: 0x01 IGNORE_CASE, 0x02 NO_UNIQUE

  // Like libnv's nvl_error: the first failed add (EINVAL empty array/binary, ENAMETOOLONG name of
  // 2048+ bytes, EEXIST duplicate name without NO_UNIQUE) sticks, later adds are ignored and pack()
  // returns an empty vector. Names and strings are C strings: they end at their first NUL.
  int error() const { return error_; }

  List& addNull(const std::string& name);
  List& addBool(const std::string& name, bool v);
  List& addNumber(const std::string& name, uint64_t v);
  List& addString(const std::string& name, const std::string& v);
  List& addBinary(const std::string& name, const void* data, size_t len);
  List& addNvlist(const std::string& name, const List& v);
  List& addBoolArray(const std::string& name, const std::vector<bool>& v);
  List& addNumberArray(const std::string& name, const std::vector<uint64_t>& v);
  List& addStringArray(const std::string& name, const std::vector<std::string>& v);
  List& addNvlistArray(const std::string& name, const std::vector<List>& v);

  // Lookups by name and type (nullptr when absent or of another type), like libnv's nvlist_get_*.
  const Pair* find(const std::string& name, Type type) const;
  const uint64_t* number(const std::string& name) const;
  const bool* boolean(const std::string& name) const;
  const std::string* string(const std::string& name) const;
  const List* nvlist(const std::string& name) const;
  const std::vector<uint8_t>* binary(const std::string& name) const;
  const std::vector<uint64_t>* numberArray(const std::string& name) const;

  const std::vector<Pair>& pairs() const { return pairs_; }
  size_t packedSize() const;
  std::vector<uint8_t> pack(const PackOptions& opt = {}) const;

  // 0 on success, else libnv's errno: EINVAL for a malformed buffer, EILSEQ when `flags` differs
  // from the top-level header's public flags (the pf kernel passes 0), EEXIST for a duplicate
  // name, ENOMEM past kMaxUnpackedLists. *out is empty after a failure. `why` says what and where.
  static int unpack(const uint8_t* buf, size_t len, int flags, List* out);
  static int unpack(const uint8_t* buf, size_t len, int flags, List* out, UnpackError* why,
                    const UnpackOptions& opt = {});

  // Nesting depth of this list (1 = no nested lists).
  size_t depth() const;

 private:
  friend class Unpacker;
  bool admit(const std::string& name);  // error/uniqueness/name checks shared by every add
  Pair& push(Type type, const std::string& name);
  bool exists(const std::string& name) const;

  std::vector<Pair> pairs_;
  int error_ = 0;
};

}  // namespace nv
