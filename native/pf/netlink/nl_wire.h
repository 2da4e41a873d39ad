// Generic netlink framing (FreeBSD netlink(4), same wire format as Linux): nlmsghdr, genlmsghdr,
// nlattr with 4-byte alignment and nesting. A writer that appends messages into one buffer (many
// requests per send) and bounds-checked readers that never trust a length field.
#pragma once
#include "common/kernel_error.h"
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace pf::nl {

// ---- constants (pf-abi.md 5.1) --------------------------------------------------------------------
constexpr uint16_t kMsgError = 2, kMsgDone = 3;
constexpr uint16_t kFRequest = 0x1, kFMulti = 0x2, kFAck = 0x4, kFDump = 0x300;
constexpr uint16_t kNlaNested = 0x8000, kNlaNetByteOrder = 0x4000, kNlaTypeMask = 0x3fff;
constexpr uint16_t kGenlIdCtrl = 16;
constexpr uint8_t kCtrlCmdNewFamily = 1, kCtrlCmdGetFamily = 3;
constexpr uint16_t kCtrlAttrFamilyId = 1, kCtrlAttrFamilyName = 2, kCtrlAttrVersion = 3, kCtrlAttrHdrSize = 4,
                   kCtrlAttrMaxAttr = 5, kCtrlAttrOps = 6;
constexpr uint16_t kCtrlAttrOpId = 1, kCtrlAttrOpFlags = 2;
constexpr size_t kHdrLen = 16, kGenlHdrLen = 4, kAttrHdrLen = 4;

inline size_t Align4(size_t n) { return (n + 3) & ~size_t(3); }

// A protocol error: a malformed message or a kernel's nlmsgerr. The binding maps it to StatekillError.
using NlError = sk::KernelError;

inline uint16_t Rd16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t Rd32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t Rd64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Appends messages; offsets (not pointers) survive the buffer growing.
class Writer {
 public:
  const uint8_t* data() const { return b_.data(); }
  uint8_t* data() { return b_.data(); }
  size_t size() const { return size_; }
  void clear() { size_ = 0; }

  size_t BeginMsg(uint16_t type, uint16_t flags, uint32_t seq, uint32_t pid = 0) {
    size_t off = size_;
    Put32(0);
    Put16(type);
    Put16(flags);
    Put32(seq);
    Put32(pid);
    return off;
  }
  void Genl(uint8_t cmd, uint8_t version) {
    uint8_t g[4] = {cmd, version, 0, 0};
    std::memcpy(Grow(4), g, 4);
  }
  void EndMsg(size_t off) { Patch32(off, uint32_t(size_ - off)); }

  void Attr(uint16_t type, const void* data, size_t len) {
    uint8_t* p = Grow(Align4(kAttrHdrLen + len));
    uint16_t h[2] = {uint16_t(kAttrHdrLen + len), type};
    std::memcpy(p, h, 4);
    std::memcpy(p + 4, data, len);
    std::memset(p + 4 + len, 0, Align4(kAttrHdrLen + len) - kAttrHdrLen - len);
  }
  void U8(uint16_t t, uint8_t v) { Attr(t, &v, 1); }
  void U16(uint16_t t, uint16_t v) { Attr(t, &v, 2); }
  void U32(uint16_t t, uint32_t v) { Attr(t, &v, 4); }
  void U64(uint16_t t, uint64_t v) { Attr(t, &v, 8); }
  void Str(uint16_t t, const char* s, size_t max) { Attr(t, s, strnlen(s, max - 1) + 1); }

  size_t BeginNested(uint16_t type) {
    size_t off = size_;
    Put16(0);
    Put16(type);  // FreeBSD's writers leave NLA_F_NESTED clear; readers mask it either way
    return off;
  }
  void EndNested(size_t off) { Patch16(off, uint16_t(size_ - off)); }

  // Appends n bytes (the caller writes them all). The buffer only grows, so a writer reused for a
  // stream allocates and zero-fills nothing per message.
  uint8_t* Grow(size_t n) {
    if (b_.size() < size_ + n) b_.resize(std::max(size_ + n, b_.size() * 2));
    uint8_t* p = b_.data() + size_;
    size_ += n;
    return p;
  }

 private:
  void Put16(uint16_t v) { std::memcpy(Grow(2), &v, 2); }
  void Put32(uint32_t v) { std::memcpy(Grow(4), &v, 4); }
  void Patch16(size_t off, uint16_t v) { std::memcpy(&b_[off], &v, 2); }
  void Patch32(size_t off, uint32_t v) { std::memcpy(&b_[off], &v, 4); }
  std::vector<uint8_t> b_;
  size_t size_ = 0;
};

struct Msg {
  uint32_t len;
  uint16_t type, flags;
  uint32_t seq, pid;
  const uint8_t* payload;  // after the 16-byte header
  size_t payloadLen;
};

// Walks the messages of one received buffer. A header whose length runs past the buffer or is
// shorter than a header is an error: the stream cannot be resynchronised after it.
class MsgReader {
 public:
  MsgReader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool Next(Msg* m) {
    if (pos_ >= n_) return false;
    if (n_ - pos_ < kHdrLen) throw NlError(EBADMSG, "EBADMSG", "netlink: truncated message header");
    const uint8_t* h = p_ + pos_;
    m->len = Rd32(h);
    if (m->len < kHdrLen || m->len > n_ - pos_)
      throw NlError(EBADMSG, "EBADMSG", "netlink: message length " + std::to_string(m->len) + " runs past the data");
    m->type = Rd16(h + 4);
    m->flags = Rd16(h + 6);
    m->seq = Rd32(h + 8);
    m->pid = Rd32(h + 12);
    m->payload = h + kHdrLen;
    m->payloadLen = m->len - kHdrLen;
    pos_ += std::min(Align4(m->len), n_ - pos_);
    return true;
  }
  size_t pos() const { return pos_; }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

struct Attr {
  uint16_t type;  // NLA_F_NESTED / NLA_F_NET_BYTEORDER masked off
  const uint8_t* data;
  size_t len;  // payload bytes
};

// Walks attributes; `where` names the enclosing attribute in errors ("PF_ST_KEY_WIRE"). It must
// outlive the reader (a literal or a name table entry): no string is built unless there is an error.
class AttrReader {
 public:
  using NameFn = const char* (*)(uint16_t);
  AttrReader(const uint8_t* p, size_t n, const char* where, NameFn names = nullptr)
      : p_(p), n_(n), where_(where), names_(names) {}
  bool Next(Attr* a) {
    if (pos_ >= n_) return false;
    if (n_ - pos_ < kAttrHdrLen) throw NlError(EBADMSG, "EBADMSG", std::string(where_) + ": truncated attribute header");
    uint16_t len = Rd16(p_ + pos_);
    uint16_t type = Rd16(p_ + pos_ + 2) & kNlaTypeMask;
    if (len < kAttrHdrLen || len > n_ - pos_)
      throw NlError(EBADMSG, "EBADMSG",
                    std::string(where_) + ": attribute " + (names_ ? std::string(names_(type)) + " (" : "") +
                        std::to_string(type) + (names_ ? ")" : "") + " length " + std::to_string(len) + " runs past the message");
    a->type = type;
    a->data = p_ + pos_ + kAttrHdrLen;
    a->len = len - kAttrHdrLen;
    pos_ += std::min(Align4(len), n_ - pos_);
    return true;
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  const char* where_;
  NameFn names_;
};

// The errno of an NLMSG_ERROR payload (0 = ACK); a short payload is itself malformed.
inline int ErrorOf(const Msg& m) {
  if (m.payloadLen < 4) throw NlError(EBADMSG, "EBADMSG", "netlink: short NLMSG_ERROR");
  int32_t e;
  std::memcpy(&e, m.payload, 4);
  return -e;
}

}  // namespace pf::nl
