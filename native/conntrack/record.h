// statekill's 128-byte conntrack record ('ct' layout). One record = one conntrack entry, both
// directions. Addresses are 16 bytes in network order (IPv4 in the first 4, rest zero); every other
// integer is in host byte order, because records never leave the process. ICMP/ICMPv6 tuples store
// the echo id as the source port and (type << 8 | code) as the destination port, as the kernel does.
// src/backends/conntrack.ts documents the same layout for TypeScript readers; keep both in step.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sk::ct {

constexpr size_t kStride = 128;

enum Offset : size_t {
  kAf = 0,          // u8: 4 or 6
  kProto = 1,       // u8: IP protocol of the original tuple
  kTcpState = 2,    // u8: CTA_PROTOINFO_TCP_STATE, 0xff when absent
  kFlags = 3,       // u8: kHas* bits
  kOrigSport = 4,   // u16
  kOrigDport = 6,   // u16
  kReplySport = 8,  // u16
  kReplyDport = 10, // u16
  kZone = 12,       // u16 (CTA_ZONE; 0 = default zone)
  kReplyProto = 14, // u8: protocol of the reply tuple (differs only for odd entries)
  kReserved15 = 15, // u8, zero
  kMark = 16,       // u32
  kStatus = 20,     // u32: IPS_* bits
  kTimeout = 24,    // u32: seconds left
  kId = 28,         // u32: CTA_ID, echoed on delete so a reused tuple is not hit
  kOrigSrc = 32,    // 16 bytes
  kOrigDst = 48,    // 16 bytes
  kReplySrc = 64,   // 16 bytes
  kReplyDst = 80,   // 16 bytes
  // 96..127 reserved, zero
};

// kHasPorts: the kernel sent CTA_PROTO_SRC_PORT/DST_PORT for the original tuple (TCP, UDP, SCTP, DCCP,
// UDP-Lite, and GRE, whose keys travel in the port attributes): a delete must echo them.
enum Flag : uint8_t { kHasId = 1, kHasMark = 2, kHasZone = 4, kHasTimeout = 8, kHasStatus = 16, kHasPorts = 32 };

template <typename T>
inline T Get(const uint8_t* rec, size_t off) {
  T v;
  std::memcpy(&v, rec + off, sizeof v);
  return v;
}
template <typename T>
inline void Put(uint8_t* rec, size_t off, T v) {
  std::memcpy(rec + off, &v, sizeof v);
}

}  // namespace sk::ct
