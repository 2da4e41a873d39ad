// Building, lookup and nvlist_pack()-compatible packing (FORMAT.md §1-7). Unpacking is in
// nvlist_unpack.cc, the pre-FreeBSD-14 nested datasize rule in nvlist_legacy_size.cc.
#include "pf/nvlist.h"

#include <cerrno>
#include <cstring>

#include "pf/nvlist_wire.h"

namespace nv {

// ---- building ------------------------------------------------------------------------------------

static std::string CString(const std::string& s) {  // libnv takes const char*: stop at the first NUL
  size_t n = s.find('\0');
  return n == std::string::npos ? s : s.substr(0, n);
}

bool List::exists(const std::string& name) const {
  for (const Pair& p : pairs_) {
    if ((flags & kFlagIgnoreCase) ? EqualIgnoreCase(p.name, name) : p.name == name) return true;
  }
  return false;
}

bool List::admit(const std::string& name) {
  if (error_ != 0) return false;
  if (name.size() >= kNameMax) {  // nvpair_allocv(): strlen(name) >= NV_NAME_MAX
    error_ = ENAMETOOLONG;
    return false;
  }
  if (!(flags & kFlagNoUnique) && exists(name)) {
    error_ = EEXIST;
    return false;
  }
  return true;
}

Pair& List::push(Type type, const std::string& name) {
  pairs_.push_back(Pair{});
  Pair& p = pairs_.back();
  p.type = type;
  p.name = name;
  return p;
}

List& List::addNull(const std::string& name) {
  std::string n = CString(name);
  if (admit(n)) push(Type::Null, n);
  return *this;
}

List& List::addBool(const std::string& name, bool v) {
  std::string n = CString(name);
  if (admit(n)) push(Type::Bool, n).b = v;
  return *this;
}

List& List::addNumber(const std::string& name, uint64_t v) {
  std::string n = CString(name);
  if (admit(n)) push(Type::Number, n).num = v;
  return *this;
}

List& List::addString(const std::string& name, const std::string& v) {
  std::string n = CString(name);
  if (admit(n)) push(Type::String, n).str = CString(v);
  return *this;
}

List& List::addBinary(const std::string& name, const void* data, size_t len) {
  std::string n = CString(name);
  if (error_ == 0 && (data == nullptr || len == 0)) error_ = EINVAL;  // nvpair_create_binary()
  if (admit(n)) {
    const auto* b = static_cast<const uint8_t*>(data);
    push(Type::Binary, n).bin.assign(b, b + len);
  }
  return *this;
}

List& List::addNvlist(const std::string& name, const List& v) {
  std::string n = CString(name);
  if (error_ == 0 && v.error_ != 0) error_ = v.error_;  // nvlist_clone() of a failed list fails
  if (error_ == 0 && v.depth() + 1 > kMaxDepth) error_ = EINVAL;
  if (admit(n)) push(Type::Nvlist, n).lists.push_back(v);
  return *this;
}

List& List::addBoolArray(const std::string& name, const std::vector<bool>& v) {
  std::string n = CString(name);
  if (error_ == 0 && v.empty()) error_ = EINVAL;  // arrays need at least one item
  if (admit(n)) push(Type::BoolArray, n).bools = v;
  return *this;
}

List& List::addNumberArray(const std::string& name, const std::vector<uint64_t>& v) {
  std::string n = CString(name);
  if (error_ == 0 && v.empty()) error_ = EINVAL;
  if (admit(n)) push(Type::NumberArray, n).nums = v;
  return *this;
}

List& List::addStringArray(const std::string& name, const std::vector<std::string>& v) {
  std::string n = CString(name);
  if (error_ == 0 && v.empty()) error_ = EINVAL;
  if (admit(n)) {
    Pair& p = push(Type::StringArray, n);
    for (const std::string& s : v) p.strs.push_back(CString(s));
  }
  return *this;
}

List& List::addNvlistArray(const std::string& name, const std::vector<List>& v) {
  std::string n = CString(name);
  if (error_ == 0 && v.empty()) error_ = EINVAL;
  for (const List& e : v) {
    if (error_ == 0 && e.error_ != 0) error_ = e.error_;
    if (error_ == 0 && e.depth() + 1 > kMaxDepth) error_ = EINVAL;
  }
  if (admit(n)) push(Type::NvlistArray, n).lists = v;
  return *this;
}

size_t List::depth() const {
  size_t deepest = 0;
  for (const Pair& p : pairs_) {
    for (const List& l : p.lists) {
      size_t d = l.depth();
      if (d > deepest) deepest = d;
    }
  }
  return deepest + 1;
}

// ---- lookup --------------------------------------------------------------------------------------

const Pair* List::find(const std::string& name, Type type) const {
  for (const Pair& p : pairs_) {
    if (p.type != type) continue;
    if ((flags & kFlagIgnoreCase) ? EqualIgnoreCase(p.name, name) : p.name == name) return &p;
  }
  return nullptr;
}

const uint64_t* List::number(const std::string& name) const {
  const Pair* p = find(name, Type::Number);
  return p ? &p->num : nullptr;
}

const bool* List::boolean(const std::string& name) const {
  const Pair* p = find(name, Type::Bool);
  return p ? &p->b : nullptr;
}

const std::string* List::string(const std::string& name) const {
  const Pair* p = find(name, Type::String);
  return p ? &p->str : nullptr;
}

const List* List::nvlist(const std::string& name) const {
  const Pair* p = find(name, Type::Nvlist);
  return p && !p->lists.empty() ? &p->lists[0] : nullptr;
}

const std::vector<uint8_t>* List::binary(const std::string& name) const {
  const Pair* p = find(name, Type::Binary);
  return p ? &p->bin : nullptr;
}

const std::vector<uint64_t>* List::numberArray(const std::string& name) const {
  const Pair* p = find(name, Type::NumberArray);
  return p ? &p->nums : nullptr;
}

// ---- sizes ---------------------------------------------------------------------------------------

uint64_t ValueSize(const Pair& p) {
  switch (p.type) {
    case Type::Null: return 0;
    case Type::Bool: return 1;
    case Type::Number:
    case Type::Descriptor: return 8;
    case Type::String: return p.str.size() + 1;
    case Type::Binary: return p.bin.size();
    case Type::BoolArray: return p.bools.size();
    case Type::NumberArray:
    case Type::DescriptorArray: return 8 * p.nums.size();
    case Type::StringArray: {
      uint64_t n = 0;
      for (const std::string& s : p.strs) n += s.size() + 1;
      return n;
    }
    case Type::Nvlist:
    case Type::NvlistArray: return 0;
  }
  return 0;
}

uint64_t ItemCount(const Pair& p) {
  switch (p.type) {
    case Type::BoolArray: return p.bools.size();
    case Type::NumberArray:
    case Type::DescriptorArray: return p.nums.size();
    case Type::StringArray: return p.strs.size();
    case Type::NvlistArray: return p.lists.size();
    default: return 0;
  }
}

// FreeBSD 14's nvl_datasize: the list packed on its own (FORMAT.md §7).
size_t List::packedSize() const {
  size_t size = kListHeaderSize;
  for (const Pair& p : pairs_) {
    size += kPairHeaderSize + p.name.size() + 1;
    if (p.type == Type::Nvlist) {
      size += p.lists[0].packedSize() + kPairHeaderSize + 1;
    } else if (p.type == Type::NvlistArray) {
      for (const List& e : p.lists) size += e.packedSize() + kPairHeaderSize + 1;
    } else {
      size += ValueSize(p);
    }
  }
  return size;
}

// ---- packing -------------------------------------------------------------------------------------

namespace {

class Packer {
 public:
  Packer(const List& root, const PackOptions& opt) : root_(root), opt_(opt), w_(opt.bigEndian) {}

  std::vector<uint8_t> run() {
    total_ = root_.packedSize();
    w_.out.reserve(total_);
    writeList(root_, 0);
    return std::move(w_.out);
  }

 private:
  void writeHeader(const List& l) {
    w_.u8(kHeaderMagic);
    w_.u8(kHeaderVersion);
    // IN_ARRAY (0x100) does not fit the u8 field, so array elements show only their public flags.
    w_.u8(static_cast<uint8_t>((l.flags & kPublicFlags) | (opt_.bigEndian ? kFlagBigEndian : 0)));
    w_.u64(0);  // descriptors: pack refuses lists holding any
    w_.u64(total_ - w_.out.size() - 8);  // bytes after this header to the end of the buffer
  }

  void writeMarker(uint8_t type) {
    w_.u8(type);
    w_.u16(1);
    w_.u64(0);
    w_.u64(0);
    w_.u8(0);
  }

  void writeList(const List& l, size_t depth) {
    writeHeader(l);
    const auto& pairs = l.pairs();
    for (size_t i = 0; i < pairs.size(); i++) {
      const Pair& p = pairs[i];
      uint64_t datasize = ValueSize(p);
      if (p.type == Type::Nvlist) {
        path_.push_back({&l, i, kNoElement});
        datasize = opt_.legacyNestedSize ? LegacyNestedSize(root_, path_) : p.lists[0].packedSize();
        path_.pop_back();
      }
      w_.u8(static_cast<uint8_t>(p.type));
      w_.u16(static_cast<uint16_t>(p.name.size() + 1));
      w_.u64(datasize);
      w_.u64(ItemCount(p));
      w_.bytes(p.name.data(), p.name.size());
      w_.u8(0);
      writeValue(l, i, p, depth);
    }
  }

  void writeValue(const List& l, size_t i, const Pair& p, size_t depth) {
    switch (p.type) {
      case Type::Null: break;
      case Type::Bool: w_.u8(p.b ? 1 : 0); break;
      case Type::Number:
      case Type::Descriptor: w_.u64(p.num); break;
      case Type::String: w_.bytes(p.str.data(), p.str.size()); w_.u8(0); break;
      case Type::Binary: w_.bytes(p.bin.data(), p.bin.size()); break;
      case Type::BoolArray:
        for (bool b : p.bools) w_.u8(b ? 1 : 0);
        break;
      case Type::NumberArray:
      case Type::DescriptorArray:
        for (uint64_t n : p.nums) w_.u64(n);
        break;
      case Type::StringArray:
        for (const std::string& s : p.strs) {
          w_.bytes(s.data(), s.size());
          w_.u8(0);
        }
        break;
      case Type::Nvlist:
        path_.push_back({&l, i, kNoElement});
        writeList(p.lists[0], depth + 1);
        path_.pop_back();
        writeMarker(kTypeNvlistUp);
        break;
      case Type::NvlistArray:
        for (size_t e = 0; e < p.lists.size(); e++) {
          path_.push_back({&l, i, e});
          writeList(p.lists[e], depth + 1);
          path_.pop_back();
          writeMarker(kTypeArrayNext);
        }
        break;
    }
  }

  const List& root_;
  PackOptions opt_;
  Writer w_;
  size_t total_ = 0;
  std::vector<PathStep> path_;
};

}  // namespace

std::vector<uint8_t> List::pack(const PackOptions& opt) const {
  if (error_ != 0) return {};  // nvlist_pack() of a list in error returns NULL
  return Packer(*this, opt).run();
}

}  // namespace nv
