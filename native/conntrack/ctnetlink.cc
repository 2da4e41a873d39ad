#include "ctnetlink.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "record.h"

#ifdef __linux__
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <thread>
#endif

namespace sk::ct {

// ---- kernel version guard (portable: pure text logic, tested everywhere) ----

static bool ParseRelease(const std::string& r, int* major, int* minor) {
  return std::sscanf(r.c_str(), "%d.%d", major, minor) == 2;
}

std::string KernelFilterRefusal(const std::string& release, const std::string& kind, bool hasMask, uint32_t mask) {
  int maj = 0, min = 0;
  if (!ParseRelease(release, &maj, &min)) return "cannot read the kernel version '" + release + "'";
  int v = maj * 1000 + min;
  if (kind == "mark") {
    // A tuple-less DELETE is a full flush unless the kernel honours the mark filter: absent before
    // 4.0, and on 4.0-5.7 applied only when both CTA_MARK and CTA_MARK_MASK are sent.
    if (!hasMask) return "a mark filter needs a mask (without one, kernels before 5.8 flush everything)";
    if (mask == 0) return "mask 0 matches every entry: that is a full flush";
    if (v < 4000) return "kernel " + release + " ignores the mark on a tuple-less delete (needs 4.0+): it would flush everything";
    return "";
  }
  if (kind == "replyDst") {
    // CTA_FILTER on flush arrived in 6.12; 5.8-6.11 reject it, older kernels do not know it.
    if (v < 6012) return "kernel " + release + " has no CTA_FILTER on flush (needs 6.12+)";
    return "";
  }
  return "unknown kernel filter kind '" + kind + "'";
}

#ifdef __linux__

namespace {

constexpr uint16_t kMsgType(uint8_t msg) { return (NFNL_SUBSYS_CTNETLINK << 8) | msg; }
constexpr size_t kRecvBuf = 256 * 1024;
// Attribute bits of CTA_FILTER_{ORIG,REPLY}_FLAGS (kernel-internal names CTA_FILTER_F_*).
constexpr uint32_t kFilterIpDst = 1u << 1;

[[noreturn]] void Fail(int err, const std::string& what) { throw KernelError(err, "", what + ": " + std::strerror(err)); }

// Builds netlink messages back to back in one buffer (many per sendmsg).
class MsgBuf {
 public:
  void Begin(uint16_t type, uint16_t flags, uint32_t seq, uint8_t family) {
    start_ = b_.size();
    b_.resize(start_ + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)), 0);
    auto* h = reinterpret_cast<nlmsghdr*>(&b_[start_]);
    h->nlmsg_type = type;
    h->nlmsg_flags = flags;
    h->nlmsg_seq = seq;
    auto* g = reinterpret_cast<nfgenmsg*>(&b_[start_ + NLMSG_HDRLEN]);
    g->nfgen_family = family;
    g->version = NFNETLINK_V0;
    g->res_id = 0;
  }
  void End() { reinterpret_cast<nlmsghdr*>(&b_[start_])->nlmsg_len = b_.size() - start_; }
  void SetFlags(uint16_t f) { reinterpret_cast<nlmsghdr*>(&b_[start_])->nlmsg_flags |= f; }
  void Put(uint16_t type, const void* data, size_t len) {
    size_t at = b_.size();
    b_.resize(at + NLA_ALIGN(NLA_HDRLEN + len), 0);
    auto* a = reinterpret_cast<nlattr*>(&b_[at]);
    a->nla_type = type;
    a->nla_len = NLA_HDRLEN + len;
    std::memcpy(&b_[at + NLA_HDRLEN], data, len);
  }
  void Put8(uint16_t t, uint8_t v) { Put(t, &v, 1); }
  void Put16(uint16_t t, uint16_t v) { v = htons(v); Put(t, &v, 2); }
  void Put32(uint16_t t, uint32_t v) { v = htonl(v); Put(t, &v, 4); }
  size_t Nest(uint16_t type) {
    size_t at = b_.size();
    b_.resize(at + NLA_HDRLEN, 0);
    reinterpret_cast<nlattr*>(&b_[at])->nla_type = type | NLA_F_NESTED;
    return at;
  }
  void EndNest(size_t at) { reinterpret_cast<nlattr*>(&b_[at])->nla_len = b_.size() - at; }
  void Clear() { b_.clear(); }
  const uint8_t* data() const { return b_.data(); }
  size_t size() const { return b_.size(); }

 private:
  std::vector<uint8_t> b_;
  size_t start_ = 0;
};

uint32_t NextSeq() {
  static thread_local uint32_t seq = 0x5e000000u ^ static_cast<uint32_t>(getpid());
  return ++seq;
}

void SendAll(int fd, const MsgBuf& m) {
  sockaddr_nl k{};
  k.nl_family = AF_NETLINK;
  for (;;) {
    ssize_t n = sendto(fd, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&k), sizeof k);
    if (n >= 0) return;
    if (errno == EINTR) continue;
    Fail(errno, "ctnetlink send");
  }
}

ssize_t RecvSome(int fd, std::vector<uint8_t>& buf) {
  for (;;) {
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) Fail(ETIMEDOUT, "ctnetlink receive (no answer from the kernel)");
    Fail(errno, "ctnetlink receive");
  }
}

int NlErrno(const nlmsghdr* h) {
  if (h->nlmsg_len < NLMSG_HDRLEN + sizeof(int)) return EPROTO;
  return -reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
}

// Calls fn(nlmsghdr*) for each message until fn returns false. Skips messages for other seqs
// (a stale ACK from an earlier, interrupted request).
template <typename Fn>
void RecvUntil(int fd, Fn fn) {
  std::vector<uint8_t> buf(kRecvBuf);
  for (;;) {
    ssize_t n = RecvSome(fd, buf);
    size_t len = static_cast<size_t>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len))
      if (!fn(h)) return;
  }
}

// One request, one ACK (or error).
void Transact(int fd, MsgBuf& m, uint32_t seq, const char* what) {
  SendAll(fd, m);
  int err = 0;
  RecvUntil(fd, [&](const nlmsghdr* h) {
    if (h->nlmsg_seq != seq) return true;
    if (h->nlmsg_type == NLMSG_ERROR) {
      err = NlErrno(h);
      return false;
    }
    return true;
  });
  if (err) Fail(err, what);
}

uint8_t NfFamily(uint8_t af) { return af == 6 ? AF_INET6 : af == 4 ? AF_INET : AF_UNSPEC; }

// ---- attribute parsing ----

struct Attrs {
  const nlattr* a[32] = {};
};
void ParseAttrs(const void* data, size_t len, Attrs* out) {
  auto* p = static_cast<const uint8_t*>(data);
  while (len >= NLA_HDRLEN) {
    auto* a = reinterpret_cast<const nlattr*>(p);
    if (a->nla_len < NLA_HDRLEN || a->nla_len > len) break;
    uint16_t t = a->nla_type & NLA_TYPE_MASK;
    if (t < 32) out->a[t] = a;
    size_t step = NLA_ALIGN(a->nla_len);
    if (step >= len) break;
    p += step;
    len -= step;
  }
}
void ParseNested(const nlattr* a, Attrs* out) { ParseAttrs(reinterpret_cast<const uint8_t*>(a) + NLA_HDRLEN, a->nla_len - NLA_HDRLEN, out); }
const uint8_t* Payload(const nlattr* a) { return reinterpret_cast<const uint8_t*>(a) + NLA_HDRLEN; }
size_t PayloadLen(const nlattr* a) { return a->nla_len - NLA_HDRLEN; }
uint8_t U8(const nlattr* a) { return PayloadLen(a) >= 1 ? Payload(a)[0] : 0; }
uint16_t Be16(const nlattr* a) {
  uint16_t v = 0;
  if (PayloadLen(a) >= 2) std::memcpy(&v, Payload(a), 2);
  return ntohs(v);
}
uint32_t Be32(const nlattr* a) {
  uint32_t v = 0;
  if (PayloadLen(a) >= 4) std::memcpy(&v, Payload(a), 4);
  return ntohl(v);
}

// Returns whether the tuple carried CTA_PROTO_SRC_PORT/DST_PORT (a delete must echo them).
bool ParseTuple(const nlattr* t, uint8_t* rec, size_t srcOff, size_t dstOff, size_t sportOff, size_t dportOff,
                size_t protoOff) {
  bool ports = false;
  Attrs ta;
  ParseNested(t, &ta);
  if (const nlattr* ip = ta.a[CTA_TUPLE_IP]) {
    Attrs ia;
    ParseNested(ip, &ia);
    if (ia.a[CTA_IP_V4_SRC] && PayloadLen(ia.a[CTA_IP_V4_SRC]) >= 4) std::memcpy(rec + srcOff, Payload(ia.a[CTA_IP_V4_SRC]), 4);
    if (ia.a[CTA_IP_V4_DST] && PayloadLen(ia.a[CTA_IP_V4_DST]) >= 4) std::memcpy(rec + dstOff, Payload(ia.a[CTA_IP_V4_DST]), 4);
    if (ia.a[CTA_IP_V6_SRC] && PayloadLen(ia.a[CTA_IP_V6_SRC]) >= 16) std::memcpy(rec + srcOff, Payload(ia.a[CTA_IP_V6_SRC]), 16);
    if (ia.a[CTA_IP_V6_DST] && PayloadLen(ia.a[CTA_IP_V6_DST]) >= 16) std::memcpy(rec + dstOff, Payload(ia.a[CTA_IP_V6_DST]), 16);
  }
  if (const nlattr* pr = ta.a[CTA_TUPLE_PROTO]) {
    Attrs pa;
    ParseNested(pr, &pa);
    if (pa.a[CTA_PROTO_NUM]) rec[protoOff] = U8(pa.a[CTA_PROTO_NUM]);
    uint16_t sport = 0, dport = 0;
    if (pa.a[CTA_PROTO_SRC_PORT]) sport = Be16(pa.a[CTA_PROTO_SRC_PORT]);
    if (pa.a[CTA_PROTO_DST_PORT]) dport = Be16(pa.a[CTA_PROTO_DST_PORT]);
    ports = pa.a[CTA_PROTO_SRC_PORT] && pa.a[CTA_PROTO_DST_PORT];
    if (pa.a[CTA_PROTO_ICMP_ID]) sport = Be16(pa.a[CTA_PROTO_ICMP_ID]);
    if (pa.a[CTA_PROTO_ICMPV6_ID]) sport = Be16(pa.a[CTA_PROTO_ICMPV6_ID]);
    if (pa.a[CTA_PROTO_ICMP_TYPE]) dport = (U8(pa.a[CTA_PROTO_ICMP_TYPE]) << 8) | (pa.a[CTA_PROTO_ICMP_CODE] ? U8(pa.a[CTA_PROTO_ICMP_CODE]) : 0);
    if (pa.a[CTA_PROTO_ICMPV6_TYPE]) dport = (U8(pa.a[CTA_PROTO_ICMPV6_TYPE]) << 8) | (pa.a[CTA_PROTO_ICMPV6_CODE] ? U8(pa.a[CTA_PROTO_ICMPV6_CODE]) : 0);
    Put<uint16_t>(rec, sportOff, sport);
    Put<uint16_t>(rec, dportOff, dport);
  }
  return ports;
}

// One CT_NEW message of a dump into one record.
void DecodeEntry(const nlmsghdr* h, uint8_t* rec) {
  std::memset(rec, 0, kStride);
  auto* g = static_cast<const nfgenmsg*>(NLMSG_DATA(h));
  rec[kAf] = g->nfgen_family == AF_INET6 ? 6 : 4;
  rec[kTcpState] = 0xff;
  size_t hdr = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
  Attrs at;
  ParseAttrs(reinterpret_cast<const uint8_t*>(h) + hdr, h->nlmsg_len - hdr, &at);
  uint8_t flags = 0;
  if (at.a[CTA_TUPLE_ORIG] && ParseTuple(at.a[CTA_TUPLE_ORIG], rec, kOrigSrc, kOrigDst, kOrigSport, kOrigDport, kProto))
    flags |= kHasPorts;
  if (at.a[CTA_TUPLE_REPLY]) ParseTuple(at.a[CTA_TUPLE_REPLY], rec, kReplySrc, kReplyDst, kReplySport, kReplyDport, kReplyProto);
  if (at.a[CTA_STATUS]) Put<uint32_t>(rec, kStatus, Be32(at.a[CTA_STATUS])), flags |= kHasStatus;
  if (at.a[CTA_TIMEOUT]) Put<uint32_t>(rec, kTimeout, Be32(at.a[CTA_TIMEOUT])), flags |= kHasTimeout;
  if (at.a[CTA_MARK]) Put<uint32_t>(rec, kMark, Be32(at.a[CTA_MARK])), flags |= kHasMark;
  if (at.a[CTA_ID]) Put<uint32_t>(rec, kId, Be32(at.a[CTA_ID])), flags |= kHasId;
  if (at.a[CTA_ZONE]) Put<uint16_t>(rec, kZone, Be16(at.a[CTA_ZONE])), flags |= kHasZone;
  if (at.a[CTA_PROTOINFO]) {
    Attrs pi;
    ParseNested(at.a[CTA_PROTOINFO], &pi);
    if (pi.a[CTA_PROTOINFO_TCP]) {
      Attrs tcp;
      ParseNested(pi.a[CTA_PROTOINFO_TCP], &tcp);
      if (tcp.a[CTA_PROTOINFO_TCP_STATE]) rec[kTcpState] = U8(tcp.a[CTA_PROTOINFO_TCP_STATE]);
    }
  }
  rec[kFlags] = flags;
}

// ---- message building from records ----

// Protocols whose kernel tuple travels in CTA_PROTO_SRC_PORT/DST_PORT (nf_ct_port_nlattr_to_tuple):
// TCP, UDP, UDP-Lite, SCTP, DCCP, and GRE, whose keys (PPTP call ids) sit where ports would
// (net/netfilter/nf_conntrack_proto_gre.c: .nlattr_to_tuple = nf_ct_port_nlattr_to_tuple). The
// kernel answers EINVAL to a DELETE that leaves them out.
bool PortProto(uint8_t proto) {
  return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP || proto == IPPROTO_DCCP ||
         proto == IPPROTO_UDPLITE || proto == IPPROTO_GRE;
}

void PutTuple(MsgBuf& m, uint16_t type, const uint8_t* rec, size_t srcOff, size_t dstOff, size_t sportOff,
              size_t dportOff, uint8_t proto) {
  bool v6 = rec[kAf] == 6;
  size_t t = m.Nest(type);
  size_t ip = m.Nest(CTA_TUPLE_IP);
  m.Put(v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, rec + srcOff, v6 ? 16 : 4);
  m.Put(v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, rec + dstOff, v6 ? 16 : 4);
  m.EndNest(ip);
  size_t pr = m.Nest(CTA_TUPLE_PROTO);
  m.Put8(CTA_PROTO_NUM, proto);
  uint16_t sport = Get<uint16_t>(rec, sportOff), dport = Get<uint16_t>(rec, dportOff);
  if (proto == IPPROTO_ICMP) {
    m.Put16(CTA_PROTO_ICMP_ID, sport);
    m.Put8(CTA_PROTO_ICMP_TYPE, dport >> 8);
    m.Put8(CTA_PROTO_ICMP_CODE, dport & 0xff);
  } else if (proto == IPPROTO_ICMPV6) {
    m.Put16(CTA_PROTO_ICMPV6_ID, sport);
    m.Put8(CTA_PROTO_ICMPV6_TYPE, dport >> 8);
    m.Put8(CTA_PROTO_ICMPV6_CODE, dport & 0xff);
  } else if (PortProto(proto) || (rec[kFlags] & kHasPorts)) {
    m.Put16(CTA_PROTO_SRC_PORT, sport);
    m.Put16(CTA_PROTO_DST_PORT, dport);
  }
  m.EndNest(pr);
  m.EndNest(t);
}

void PutOrigTuple(MsgBuf& m, const uint8_t* rec) {
  PutTuple(m, CTA_TUPLE_ORIG, rec, kOrigSrc, kOrigDst, kOrigSport, kOrigDport, rec[kProto]);
}

// Builds `count` messages with consecutive sequence numbers (build(m, k, seq) adds message k), the
// last one asking for an ACK; returns the first sequence number.
template <typename Build>
uint32_t BuildBatch(MsgBuf& m, size_t count, Build build) {
  m.Clear();
  uint32_t base = NextSeq();
  for (size_t k = 1; k < count; k++) NextSeq();  // reserve base .. base + count - 1
  for (size_t k = 0; k < count; k++) {
    build(m, k, base + static_cast<uint32_t>(k));
    if (k + 1 == count) m.SetFlags(NLM_F_ACK);
    m.End();
  }
  return base;
}

// Sends a batch from BuildBatch and hands every answer to one of its messages to on(h, k) until
// the ACK of the last. The kernel handles a buffer in order and answers the others only with data
// or an error, so that ACK means every earlier answer has been queued.
template <typename On>
void Exchange(int fd, const MsgBuf& m, uint32_t base, size_t count, On on) {
  SendAll(fd, m);
  std::vector<uint8_t> buf(kRecvBuf);
  const uint32_t last = base + static_cast<uint32_t>(count - 1);
  for (bool done = false; !done;) {
    size_t len = static_cast<size_t>(RecvSome(fd, buf));
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      uint32_t k = h->nlmsg_seq - base;
      if (k >= count) continue;  // not ours (stale)
      on(h, static_cast<size_t>(k));
      if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq == last) done = true;
    }
  }
}

// Sends `n` messages built by build(m, i, seq) in batches; results[i]: 0, 1 when the kernel
// answered okOnErr (ENOENT: already gone, EEXIST: already there), else -errno.
template <typename Build>
void Batched(int fd, size_t n, size_t batch, int32_t* results, int okOnErr, Build build) {
  if (batch == 0) batch = 512;
  MsgBuf m;
  for (size_t from = 0; from < n; from += batch) {
    size_t count = batch < n - from ? batch : n - from;
    for (size_t k = 0; k < count; k++) results[from + k] = 0;
    uint32_t base = BuildBatch(m, count, [&](MsgBuf& mb, size_t k, uint32_t seq) { build(mb, from + k, seq); });
    Exchange(fd, m, base, count, [&](const nlmsghdr* h, size_t k) {
      if (h->nlmsg_type != NLMSG_ERROR) return;
      int err = NlErrno(h);
      if (err) results[from + k] = err == okOnErr ? 1 : -err;
    });
  }
}

uint8_t RecFamily(const uint8_t* rec) { return rec[kAf] == 6 ? AF_INET6 : AF_INET; }

// The kernel's key for an entry: original tuple and zone (without the zone it looks in zone 0).
void PutKey(MsgBuf& m, const uint8_t* rec) {
  PutOrigTuple(m, rec);
  if (Get<uint16_t>(rec, kZone)) m.Put16(CTA_ZONE, Get<uint16_t>(rec, kZone));
}

// Whether `now` (the entry as the kernel holds it now) is still the entry the plan listed in
// `planned`: the same CTA_ID, and matching the plan's selections (or, without them, the same
// selecting fields). The id alone does not prove it: the kernel derives it from the entry's address
// and tuple, so an entry re-created in the same memory gets it again, possibly with another mark.
bool StillSelected(const uint8_t* planned, const uint8_t* now, const std::vector<Spec>& specs) {
  if ((planned[kFlags] & kHasId) && (!(now[kFlags] & kHasId) || Get<uint32_t>(planned, kId) != Get<uint32_t>(now, kId)))
    return false;
  if (!specs.empty()) {
    for (const Spec& s : specs)
      if (Matches(s, now)) return true;
    return false;
  }
  return Get<uint32_t>(planned, kMark) == Get<uint32_t>(now, kMark) && Get<uint16_t>(planned, kZone) == Get<uint16_t>(now, kZone) &&
         std::memcmp(planned + kReplySport, now + kReplySport, 4) == 0 &&
         std::memcmp(planned + kReplySrc, now + kReplySrc, 32) == 0;
}

}  // namespace

namespace {

// A ctnetlink socket in the calling thread's netns, or -1 with *err set.
int OpenHere(int* err) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
    *err = errno;
    close(fd);
    return -1;
  }
  int one = 1;
  // ACKs without the request echoed: a batch of failed deletes stays small in the receive queue.
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  int big = 16 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  int sbig = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sbig, sizeof sbig) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sbig, sizeof sbig);
  // A lost ACK must not hang the process forever.
  timeval tv{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

}  // namespace

int Open(const std::string& netns) {
  int fd = -1, err = 0;
  if (netns.empty()) {
    fd = OpenHere(&err);
  } else {
    // setns on a short-lived thread: the socket keeps the namespace it was created in, and no
    // thread of Node's ever changes namespace.
    std::string path = netns.find('/') == std::string::npos ? "/run/netns/" + netns : netns;
    std::thread t([&] {
      int ns = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0) {
        err = errno;
        return;
      }
      if (setns(ns, CLONE_NEWNET) < 0) {
        err = errno;
        close(ns);
        return;
      }
      close(ns);
      fd = OpenHere(&err);
    });
    t.join();
    if (err) Fail(err, "ctnetlink socket in netns " + path);
  }
  if (fd < 0) Fail(err ? err : EIO, "ctnetlink socket");
  return fd;
}

void Close(int fd) {
  if (fd >= 0) close(fd);
}

uint32_t Count(int fd) {
  MsgBuf m;
  uint32_t seq = NextSeq();
  m.Begin(kMsgType(IPCTNL_MSG_CT_GET_STATS), NLM_F_REQUEST | NLM_F_ACK, seq, AF_UNSPEC);
  m.End();
  SendAll(fd, m);
  uint32_t count = 0;
  int err = 0;
  bool got = false;
  RecvUntil(fd, [&](const nlmsghdr* h) {
    if (h->nlmsg_seq != seq) return true;
    if (h->nlmsg_type == NLMSG_ERROR) {
      err = NlErrno(h);
      return false;
    }
    size_t hdr = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
    if (h->nlmsg_len < hdr) return true;
    Attrs at;
    ParseAttrs(reinterpret_cast<const uint8_t*>(h) + hdr, h->nlmsg_len - hdr, &at);
    if (at.a[CTA_STATS_GLOBAL_ENTRIES]) count = Be32(at.a[CTA_STATS_GLOBAL_ENTRIES]), got = true;
    return true;
  });
  if (err) Fail(err, "ctnetlink stats");
  if (!got) Fail(EPROTO, "ctnetlink stats: no entry count in the answer");
  return count;
}

DumpResult Dump(int fd, uint8_t* out, size_t capacity, const DumpFilter& f) {
  MsgBuf m;
  uint32_t seq = NextSeq();
  m.Begin(kMsgType(IPCTNL_MSG_CT_GET), NLM_F_REQUEST | NLM_F_DUMP, seq, NfFamily(f.af));
  if (f.hasMark) {
    m.Put32(CTA_MARK, f.mark);
    m.Put32(CTA_MARK_MASK, f.mask);
  }
  m.End();
  SendAll(fd, m);
  DumpResult r{0, 0};
  int err = 0;
  RecvUntil(fd, [&](const nlmsghdr* h) {
    if (h->nlmsg_seq != seq) return true;
    if (h->nlmsg_type == NLMSG_DONE) return false;
    if (h->nlmsg_type == NLMSG_ERROR) {
      err = NlErrno(h);
      return err == 0;
    }
    if (h->nlmsg_type != kMsgType(IPCTNL_MSG_CT_NEW)) return true;
    if (h->nlmsg_len < NLMSG_HDRLEN + sizeof(nfgenmsg)) return true;
    // Decode into the caller's next slot (or a scratch record once it is full) and keep it only if
    // it passes the filters the kernel may not apply (zone always; mark on kernels that ignore it).
    alignas(8) uint8_t scratch[kStride];
    uint8_t* rec = r.written < capacity ? out + r.written * kStride : scratch;
    DecodeEntry(h, rec);
    if (f.hasZone && Get<uint16_t>(rec, kZone) != f.zone) return true;
    if (f.hasMark && (Get<uint32_t>(rec, kMark) & f.mask) != f.mark) return true;
    if (f.af && rec[kAf] != f.af) return true;
    r.total++;
    if (rec != scratch) r.written++;
    return true;
  });
  if (err) Fail(err, "ctnetlink dump");
  return r;
}

void Delete(int fd, const uint8_t* records, const int32_t* indices, size_t n, int32_t* results, size_t batch,
            const std::vector<Spec>& specs) {
  if (batch == 0) batch = 512;
  auto rec = [&](size_t i) { return records + static_cast<size_t>(indices[i]) * kStride; };
  MsgBuf m;
  std::vector<size_t> still;
  for (size_t from = 0; from < n; from += batch) {
    size_t count = batch < n - from ? batch : n - from;
    for (size_t k = 0; k < count; k++) results[from + k] = 1;  // gone, unless re-read, still selected and deleted
    // 1. Re-read each entry by its key: a DELETE can check the id but not the mark or the reply tuple.
    uint32_t base = BuildBatch(m, count, [&](MsgBuf& mb, size_t k, uint32_t seq) {
      mb.Begin(kMsgType(IPCTNL_MSG_CT_GET), NLM_F_REQUEST, seq, RecFamily(rec(from + k)));
      PutKey(mb, rec(from + k));
    });
    still.clear();
    Exchange(fd, m, base, count, [&](const nlmsghdr* h, size_t k) {
      if (h->nlmsg_type == NLMSG_ERROR) {
        int err = NlErrno(h);
        if (err && err != ENOENT) results[from + k] = -err;
        return;
      }
      if (h->nlmsg_type != kMsgType(IPCTNL_MSG_CT_NEW) || h->nlmsg_len < NLMSG_HDRLEN + sizeof(nfgenmsg)) return;
      alignas(8) uint8_t now[kStride];
      DecodeEntry(h, now);
      if (StillSelected(rec(from + k), now, specs)) still.push_back(k);
    });
    if (still.empty()) continue;
    // 2. Delete what is still selected, by key and id. What remains unchecked is the time between
    //    the two round trips of this batch.
    base = BuildBatch(m, still.size(), [&](MsgBuf& mb, size_t j, uint32_t seq) {
      const uint8_t* r = rec(from + still[j]);
      mb.Begin(kMsgType(IPCTNL_MSG_CT_DELETE), NLM_F_REQUEST, seq, RecFamily(r));
      PutKey(mb, r);
      // The kernel refuses (ENOENT) an entry whose id differs: a new connection reusing the tuple.
      if (r[kFlags] & kHasId) mb.Put32(CTA_ID, Get<uint32_t>(r, kId));
    });
    for (size_t k : still) results[from + k] = 0;
    Exchange(fd, m, base, still.size(), [&](const nlmsghdr* h, size_t j) {
      if (h->nlmsg_type != NLMSG_ERROR) return;
      int err = NlErrno(h);
      if (err) results[from + still[j]] = err == ENOENT ? 1 : -err;
    });
  }
}

void Insert(int fd, const uint8_t* records, size_t n, int32_t* results, size_t batch) {
  Batched(fd, n, batch, results, EEXIST, [&](MsgBuf& m, size_t i, uint32_t seq) {
    const uint8_t* rec = records + i * kStride;
    m.Begin(kMsgType(IPCTNL_MSG_CT_NEW), NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL, seq,
            rec[kAf] == 6 ? AF_INET6 : AF_INET);
    PutOrigTuple(m, rec);
    uint8_t rproto = rec[kReplyProto] ? rec[kReplyProto] : rec[kProto];
    PutTuple(m, CTA_TUPLE_REPLY, rec, kReplySrc, kReplyDst, kReplySport, kReplyDport, rproto);
    // The kernel sets CONFIRMED itself and rejects a status that would clear it (EBUSY).
    uint32_t status = Get<uint32_t>(rec, kStatus) | IPS_CONFIRMED;
    m.Put32(CTA_STATUS, status);
    uint32_t timeout = Get<uint32_t>(rec, kTimeout);
    m.Put32(CTA_TIMEOUT, timeout ? timeout : 600);
    m.Put32(CTA_MARK, Get<uint32_t>(rec, kMark));
    if (Get<uint16_t>(rec, kZone)) m.Put16(CTA_ZONE, Get<uint16_t>(rec, kZone));
    if (rec[kProto] == IPPROTO_TCP) {
      size_t pi = m.Nest(CTA_PROTOINFO);
      size_t tcp = m.Nest(CTA_PROTOINFO_TCP);
      m.Put8(CTA_PROTOINFO_TCP_STATE, rec[kTcpState] == 0xff ? 3 /* ESTABLISHED */ : rec[kTcpState]);
      m.EndNest(tcp);
      m.EndNest(pi);
    }
  });
}

void FlushAll(int fd) {
  MsgBuf m;
  uint32_t seq = NextSeq();
  m.Begin(kMsgType(IPCTNL_MSG_CT_DELETE), NLM_F_REQUEST | NLM_F_ACK, seq, AF_UNSPEC);
  m.End();
  Transact(fd, m, seq, "ctnetlink flush");
}

static void Refuse(const std::string& why) { throw KernelError(EINVAL, "E_UNSAFE_FILTER", "refusing a kernel-filtered delete: " + why); }

void FlushMark(int fd, uint32_t mark, uint32_t mask) {
  std::string why = KernelFilterRefusal(KernelRelease(), "mark", true, mask);
  if (!why.empty()) Refuse(why);
  MsgBuf m;
  uint32_t seq = NextSeq();
  // AF_UNSPEC + version 0: both families in one walk. Both attributes, always (4.0-5.7 need both).
  m.Begin(kMsgType(IPCTNL_MSG_CT_DELETE), NLM_F_REQUEST | NLM_F_ACK, seq, AF_UNSPEC);
  m.Put32(CTA_MARK, mark);
  m.Put32(CTA_MARK_MASK, mask);
  m.End();
  Transact(fd, m, seq, "ctnetlink delete by mark");
}

void FlushReplyDst(int fd, uint8_t af, const uint8_t addr[16]) {
  if (af != 4 && af != 6) Refuse("the reply destination needs a family (4 or 6)");
  std::string why = KernelFilterRefusal(KernelRelease(), "replyDst", false, 0);
  if (!why.empty()) Refuse(why);
  MsgBuf m;
  uint32_t seq = NextSeq();
  // Address filters apply only with a concrete family, so one request per family.
  m.Begin(kMsgType(IPCTNL_MSG_CT_DELETE), NLM_F_REQUEST | NLM_F_ACK, seq, NfFamily(af));
  size_t t = m.Nest(CTA_TUPLE_REPLY);
  size_t ip = m.Nest(CTA_TUPLE_IP);
  m.Put(af == 6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, addr, af == 6 ? 16 : 4);
  m.EndNest(ip);
  m.EndNest(t);
  size_t f = m.Nest(CTA_FILTER);
  // The filter flags are the one host-order u32 in ctnetlink (nla_get_u32, not be32).
  uint32_t flags = kFilterIpDst;
  m.Put(CTA_FILTER_REPLY_FLAGS, &flags, sizeof flags);
  m.EndNest(f);
  m.End();
  Transact(fd, m, seq, "ctnetlink delete by reply destination");
}

// ---- probing a kernel filter in a throwaway namespace ----

namespace {

struct ProbeEntry {
  uint8_t af;
  const char* replyDst;  // text address of the reply destination
  uint32_t mark;
  bool target;  // must be deleted by the probed filter, and nothing else may be
};

void ProbeRecord(uint8_t* rec, const ProbeEntry& e, uint16_t sport) {
  std::memset(rec, 0, kStride);
  rec[kAf] = e.af;
  rec[kProto] = IPPROTO_UDP;
  rec[kReplyProto] = IPPROTO_UDP;
  rec[kTcpState] = 0xff;
  int fam = e.af == 6 ? AF_INET6 : AF_INET;
  // Every entry: client -> server; the reply goes to the "WAN address" under test.
  inet_pton(fam, e.af == 6 ? "2001:db8:5::10" : "198.18.5.10", rec + kOrigSrc);
  inet_pton(fam, e.af == 6 ? "2001:db8:7::80" : "198.18.7.80", rec + kOrigDst);
  inet_pton(fam, e.af == 6 ? "2001:db8:7::80" : "198.18.7.80", rec + kReplySrc);
  inet_pton(fam, e.replyDst, rec + kReplyDst);
  Put<uint16_t>(rec, kOrigSport, sport);
  Put<uint16_t>(rec, kOrigDport, 53);
  Put<uint16_t>(rec, kReplySport, 53);
  Put<uint16_t>(rec, kReplyDport, sport);
  Put<uint32_t>(rec, kMark, e.mark);
  Put<uint32_t>(rec, kStatus, IPS_SEEN_REPLY | IPS_ASSURED);
  Put<uint32_t>(rec, kTimeout, 120);
}

// What the probed filter must tell apart.
std::vector<ProbeEntry> ProbeEntries(const std::string& kind, uint8_t af) {
  // mwan3-style mark under a mask, noise in the low bits, both families, a near miss (0x1100).
  if (kind == "mark")
    return {{4, "198.18.1.2", 0x105, true}, {4, "198.18.2.2", 0x205, false}, {6, "2001:db8:1::2", 0x100, true},
            {6, "2001:db8:2::2", 0x0, false}, {4, "198.18.1.2", 0x1100, false}};
  // The target, another address of the family, a neighbour, and the same bits in the other family.
  if (af == 6)
    return {{6, "2001:db8:1::2", 0, true}, {6, "2001:db8:2::2", 0, false}, {6, "2001:db8:1::3", 0, false},
            {4, "198.18.1.2", 0, false}};
  return {{4, "198.18.1.2", 0, true}, {4, "198.18.2.2", 0, false}, {4, "198.18.1.3", 0, false}, {6, "2001:db8:1::2", 0, false}};
}

// In the probe's own netns: create the entries, send the filtered delete, and check what is left.
std::string RunProbe(int fd, const std::string& kind, uint8_t af) {
  const std::vector<ProbeEntry> es = ProbeEntries(kind, af);
  std::vector<uint8_t> recs(es.size() * kStride);
  for (size_t i = 0; i < es.size(); i++) ProbeRecord(&recs[i * kStride], es[i], static_cast<uint16_t>(40000 + i));
  std::vector<int32_t> res(es.size());
  Insert(fd, recs.data(), es.size(), res.data(), 0);
  for (size_t i = 0; i < es.size(); i++)
    if (res[i] != 0) return "could not probe: creating probe entry " + std::to_string(i) + " failed (" + std::to_string(res[i]) + ")";
  if (kind == "mark") {
    FlushMark(fd, 0x100, 0xff00);
  } else {
    uint8_t addr[16] = {};
    inet_pton(af == 6 ? AF_INET6 : AF_INET, es[0].replyDst, addr);
    FlushReplyDst(fd, af, addr);
  }
  std::vector<uint8_t> left(es.size() * 2 * kStride);
  DumpResult d = Dump(fd, left.data(), es.size() * 2, DumpFilter{});
  std::vector<bool> alive(es.size(), false);
  for (size_t i = 0; i < d.written; i++) {
    size_t k = Get<uint16_t>(&left[i * kStride], kOrigSport) - 40000u;
    if (k < es.size()) alive[k] = true;
  }
  std::string wrong;
  for (size_t i = 0; i < es.size(); i++)
    if (alive[i] == es[i].target) wrong += std::string(wrong.empty() ? "" : ", ") + (es[i].target ? "kept " : "deleted ") + es[i].replyDst +
                                           (kind == "mark" ? " mark " + std::to_string(es[i].mark) : "");
  if (wrong.empty()) return "";
  return "the kernel's filtered delete " + std::string(kind == "mark" ? "by mark" : af == 6 ? "by IPv6 reply destination" : "by IPv4 reply destination") +
         " selected the wrong entries in a probe (" + wrong + ")";
}

}  // namespace

std::string ProbeKernelFilter(const std::string& kind, uint8_t af) {
  if (kind != "mark" && kind != "replyDst") return "unknown kernel filter kind '" + kind + "'";
  if (kind == "replyDst" && af != 4 && af != 6) return "a reply-destination probe needs af 4 or 6";
  std::string why;
  // A thread of our own enters a new, empty netns: nothing of the caller's table is ever touched,
  // and the namespace goes away with the thread's socket.
  std::thread t([&] {
    if (unshare(CLONE_NEWNET) < 0) {
      why = std::string("could not probe: unshare(CLONE_NEWNET): ") + std::strerror(errno);
      return;
    }
    int err = 0;
    int fd = OpenHere(&err);
    if (fd < 0) {
      why = std::string("could not probe: ctnetlink socket: ") + std::strerror(err);
      return;
    }
    try {
      why = RunProbe(fd, kind, af);
    } catch (const KernelError& e) {
      why = std::string("could not probe: ") + e.what();
    }
    close(fd);
  });
  t.join();
  return why;
}

std::string KernelRelease() {
  utsname u{};
  if (uname(&u) < 0) return "";
  return u.release;
}

#else  // not Linux: conntrack does not exist here.

[[noreturn]] static void NotHere() { throw KernelError(EOPNOTSUPP, "", "conntrack is Linux-only"); }
int Open(const std::string&) { NotHere(); }
void Close(int) {}
uint32_t Count(int) { NotHere(); }
DumpResult Dump(int, uint8_t*, size_t, const DumpFilter&) { NotHere(); }
void Delete(int, const uint8_t*, const int32_t*, size_t, int32_t*, size_t, const std::vector<Spec>&) { NotHere(); }
void Insert(int, const uint8_t*, size_t, int32_t*, size_t) { NotHere(); }
void FlushAll(int) { NotHere(); }
void FlushMark(int, uint32_t, uint32_t) { NotHere(); }
void FlushReplyDst(int, uint8_t, const uint8_t*) { NotHere(); }
std::string KernelRelease() { return ""; }
std::string ProbeKernelFilter(const std::string&, uint8_t) { return "conntrack is Linux-only"; }

#endif

}  // namespace sk::ct
