// FreeBSD pf state-table ABI on amd64 (LP64), FreeBSD 12.x to 15.
// Written from ../shared/pf-abi.md (sizes, offsets, byte order, command numbers); no FreeBSD header is
// needed, so the same definitions compile on Linux (for the simulated kernel) and on FreeBSD.
#pragma once
#include <cstddef>
#include <cstdint>

namespace pf {

// ---- constants -----------------------------------------------------------------------------------
constexpr int kIfNameSize = 16;
constexpr int kRuleLabelSize = 64;
constexpr uint8_t kAfInet = 2;    // FreeBSD AF_INET
constexpr uint8_t kAfInet6 = 28;  // FreeBSD AF_INET6 (not Linux's 10)

constexpr uint8_t kDirInOut = 0, kDirIn = 1, kDirOut = 2;
constexpr int kSkWire = 0, kSkStack = 1;

constexpr uint8_t kRtNone = 0, kRtRouteTo = 2, kRtDupTo = 3, kRtReplyTo = 4;
constexpr uint8_t kAddrAddrMask = 0, kAddrDynIfTl = 2, kAddrTable = 3;

constexpr uint8_t kOpNone = 0, kOpIrg = 1, kOpEq = 2, kOpNe = 3, kOpLt = 4, kOpLe = 5, kOpGt = 6,
                  kOpGe = 7, kOpXrg = 8, kOpRrg = 9;

constexpr uint64_t kStateVersion13 = 20210706;  // PF_STATE_VERSION in 13.x
constexpr uint64_t kStateVersion14 = 20230404;  // PF_STATE_VERSION in 14.x and 15

// ---- ioctl command encoding (FreeBSD's <sys/ioccom.h>, not Linux's) ------------------------------
constexpr uint32_t kIocVoid = 0x20000000u, kIocOut = 0x40000000u, kIocIn = 0x80000000u;
constexpr uint32_t kIocInOut = kIocIn | kIocOut;
constexpr uint32_t kIocParmMask = 0x1fffu;
constexpr uint32_t IOWR(char group, uint32_t num, uint32_t len) {
  return kIocInOut | ((len & kIocParmMask) << 16) | (static_cast<uint32_t>(group) << 8) | num;
}

// ---- structs (layouts checked below, offsets in bytes) -------------------------------------------
struct pf_addr {  // network order; IPv4 in the first 4 bytes
  union {
    uint8_t a8[16];
    uint16_t a16[8];
    uint32_t a32[4];
  };
};

struct pf_addr_wrap {
  union {
    struct {
      pf_addr addr;
      pf_addr mask;
    } a;
    char ifname[kIfNameSize];
    char tblname[32];
  } v;
  union {
    void* dyn;
    void* tbl;
    int dyncnt;
    int tblcnt;
  } p;
  uint8_t type;
  uint8_t iflags;
};

struct pf_rule_addr {
  pf_addr_wrap addr;
  uint16_t port[2];  // network order: the two operands of port_op
  uint8_t neg;
  uint8_t port_op;
};

struct pf_state_cmp {
  uint64_t id;         // raw (big-endian counter), opaque
  uint32_t creatorid;  // raw
  uint8_t direction;
  uint8_t pad[3];
};

struct pfioc_state_kill {
  pf_state_cmp psk_pfcmp;
  uint8_t psk_af;
  int psk_proto;
  pf_rule_addr psk_src;
  pf_rule_addr psk_dst;
  char psk_ifname[kIfNameSize];
  char psk_label[kRuleLabelSize];
  unsigned int psk_killed;
};

#pragma pack(push, 1)
struct pfsync_state_scrub {
  uint16_t pfss_flags;
  uint8_t pfss_ttl;
  uint8_t scrub_flag;
  uint32_t pfss_ts_mod;
};

struct pfsync_state_peer {
  pfsync_state_scrub scrub;
  uint32_t seqlo, seqhi, seqdiff;  // BE
  uint16_t max_win, mss;           // BE
  uint8_t state, wscale;
  uint8_t pad[6];
};
#pragma pack(pop)

struct pfsync_state_key {
  pf_addr addr[2];
  uint16_t port[2];  // network order
};

#pragma pack(push, 1)
// Element of DIOCGETSTATES and payload of DIOCGETSTATE in every release (named pfsync_state before 14).
struct pfsync_state_1301 {
  uint64_t id;
  char ifname[kIfNameSize];
  pfsync_state_key key[2];
  pfsync_state_peer src, dst;
  pf_addr rt_addr;
  uint32_t rule, anchor, nat_rule, creation, expire;  // BE
  uint32_t packets[2][2], bytes[2][2];                 // BE, high word first
  uint32_t creatorid;                                  // raw
  uint8_t af, proto, direction;
  uint8_t spare[2];
  uint8_t log, state_flags, timeout, sync_flags, updates;
};
#pragma pack(pop)

// Element of DIOCGETSTATESV2 (13.1+). 13.x leaves bytes 272..383 spare.
struct pf_state_export {
  uint64_t version;  // host order
  uint64_t id;       // raw
  char ifname[kIfNameSize];
  char orig_ifname[kIfNameSize];
  pfsync_state_key key[2];
  pfsync_state_peer src, dst;
  pf_addr rt_addr;
  uint32_t rule, anchor, nat_rule, creation, expire, spare0;  // BE
  uint64_t packets[2], bytes[2];                              // host order
  uint32_t creatorid, spare1;
  uint8_t af, proto, direction, log, state_flags_compat, timeout, sync_flags, updates;
  uint16_t state_flags, qid, pqid, dnpipe, dnrpipe;  // BE
  int32_t rtableid;                                  // BE
  uint8_t min_ttl, set_tos;
  uint16_t max_mss;  // BE
  uint8_t set_prio[2];
  uint8_t rt;
  char rt_ifname[kIfNameSize];
  // Zero from every kernel (15 too). statekill keeps a private block at 376..381 for facts only the
  // netlink dump carries (next hop's af, per-key af/proto): record_codec.h kPrivOffset.
  uint8_t spare[72];
};

struct pfioc_states {
  int ps_len;
  void* ps_buf;
};

struct pfioc_states_v2 {
  int ps_len;
  uint64_t ps_req_version;
  void* ps_buf;
};

struct pfioc_nv {
  void* data;
  size_t len;   // packed nvlist length
  size_t size;  // buffer capacity
};

struct pf_status {
  uint64_t counters[16];
  uint64_t lcounters[7];
  uint64_t fcounters[3];
  uint64_t scounters[3];
  uint64_t pcounters[2][2][3];
  uint64_t bcounters[2][2];
  uint32_t running;
  uint32_t states;
  uint32_t src_nodes;
  uint32_t since;
  uint32_t debug;
  uint32_t hostid;
  char ifname[kIfNameSize];
  uint8_t pf_chksum[16];
};

// ---- command numbers ------------------------------------------------------------------------------
constexpr uint32_t DIOCCLRSTATES = IOWR('D', 18, sizeof(pfioc_state_kill));
constexpr uint32_t DIOCCLRSTATESNV = IOWR('D', 18, sizeof(pfioc_nv));
constexpr uint32_t DIOCGETSTATE = IOWR('D', 19, sizeof(pfsync_state_1301));
constexpr uint32_t DIOCGETSTATENV = IOWR('D', 19, sizeof(pfioc_nv));
constexpr uint32_t DIOCGETSTATUS = IOWR('D', 21, sizeof(pf_status));
constexpr uint32_t DIOCGETSTATUSNV = IOWR('D', 21, sizeof(pfioc_nv));
constexpr uint32_t DIOCGETSTATES = IOWR('D', 25, sizeof(pfioc_states));
constexpr uint32_t DIOCKILLSTATES = IOWR('D', 41, sizeof(pfioc_state_kill));
constexpr uint32_t DIOCKILLSTATESNV = IOWR('D', 41, sizeof(pfioc_nv));
constexpr uint32_t DIOCGETSTATESV2 = IOWR('D', 93, sizeof(pfioc_states_v2));

// ---- reading the main ruleset's rules (labels) ------------------------------------------------------
// struct pfioc_rule { u32 action, ticket, pool_ticket, nr; char anchor[MAXPATHLEN];
// char anchor_call[MAXPATHLEN]; struct pf_rule rule; } (sys/net/pfvar.h, 12.x-15). Its head is
// stable; sizeof(struct pf_rule) is not (it grew with 13.x/14.x/15 fields), so the ioctl numbers of
// DIOCGETRULES/DIOCGETRULE (which encode that size) are learnt from the kernel: device_rules.cc.
constexpr size_t kMaxPathLen = 1024;
constexpr size_t kPfiocRuleTicket = 4, kPfiocRuleNr = 12, kPfiocRuleAnchor = 16;
constexpr size_t kPfiocRuleRule = 16 + 2 * kMaxPathLen;  // 2064, 8-aligned
// struct pf_rule: src (56), dst (56), skip[PF_SKIP_COUNT = 8] (64), then label[64]: the userland
// struct's single label, which DIOCGETRULE fills (12.x has only that one).
constexpr size_t kPfRuleLabel = 56 + 56 + 8 * 8;
constexpr uint8_t kPfPass = 0;            // PF_PASS: rule.action that names the filter ruleset
constexpr uint32_t kIocParmMax = 8191;    // largest length an ioctl number can encode (13 bits)
constexpr uint32_t DIOCGETRULES_OF(uint32_t pfiocRuleSize) { return IOWR('D', 6, pfiocRuleSize); }
constexpr uint32_t DIOCGETRULE_OF(uint32_t pfiocRuleSize) { return IOWR('D', 7, pfiocRuleSize); }
constexpr uint32_t DIOCGETRULENV = IOWR('D', 7, sizeof(pfioc_nv));  // 13.0+
constexpr int kMaxRuleLabels = 5;          // PF_RULE_MAX_LABEL_COUNT (13.1+; 12.x has one)

// ---- the facts from pf-abi.md, checked at compile time --------------------------------------------
static_assert(sizeof(pf_addr) == 16, "pf_addr");
static_assert(sizeof(pf_addr_wrap) == 48 && offsetof(pf_addr_wrap, v.a.mask) == 16 &&
                  offsetof(pf_addr_wrap, p) == 32 && offsetof(pf_addr_wrap, type) == 40 &&
                  offsetof(pf_addr_wrap, iflags) == 41,
              "pf_addr_wrap");
static_assert(sizeof(pf_rule_addr) == 56 && offsetof(pf_rule_addr, port) == 48 &&
                  offsetof(pf_rule_addr, neg) == 52 && offsetof(pf_rule_addr, port_op) == 53,
              "pf_rule_addr");
static_assert(sizeof(pf_state_cmp) == 16 && offsetof(pf_state_cmp, creatorid) == 8 &&
                  offsetof(pf_state_cmp, direction) == 12,
              "pf_state_cmp");
static_assert(sizeof(pfioc_state_kill) == 224 && offsetof(pfioc_state_kill, psk_af) == 16 &&
                  offsetof(pfioc_state_kill, psk_proto) == 20 && offsetof(pfioc_state_kill, psk_src) == 24 &&
                  offsetof(pfioc_state_kill, psk_dst) == 80 && offsetof(pfioc_state_kill, psk_ifname) == 136 &&
                  offsetof(pfioc_state_kill, psk_label) == 152 && offsetof(pfioc_state_kill, psk_killed) == 216,
              "pfioc_state_kill");
static_assert(sizeof(pfsync_state_scrub) == 8, "pfsync_state_scrub");
static_assert(sizeof(pfsync_state_peer) == 32 && offsetof(pfsync_state_peer, seqlo) == 8 &&
                  offsetof(pfsync_state_peer, max_win) == 20 && offsetof(pfsync_state_peer, state) == 24 &&
                  offsetof(pfsync_state_peer, wscale) == 25,
              "pfsync_state_peer");
static_assert(sizeof(pfsync_state_key) == 36 && offsetof(pfsync_state_key, port) == 32, "pfsync_state_key");
static_assert(sizeof(pfsync_state_1301) == 242, "pfsync_state_1301 size");
static_assert(offsetof(pfsync_state_1301, ifname) == 8 && offsetof(pfsync_state_1301, key) == 24 &&
                  offsetof(pfsync_state_1301, key[1]) == 60 && offsetof(pfsync_state_1301, src) == 96 &&
                  offsetof(pfsync_state_1301, dst) == 128 && offsetof(pfsync_state_1301, rt_addr) == 160 &&
                  offsetof(pfsync_state_1301, rule) == 176 && offsetof(pfsync_state_1301, anchor) == 180 &&
                  offsetof(pfsync_state_1301, nat_rule) == 184 && offsetof(pfsync_state_1301, creation) == 188 &&
                  offsetof(pfsync_state_1301, expire) == 192 && offsetof(pfsync_state_1301, packets) == 196 &&
                  offsetof(pfsync_state_1301, bytes) == 212 && offsetof(pfsync_state_1301, creatorid) == 228 &&
                  offsetof(pfsync_state_1301, af) == 232 && offsetof(pfsync_state_1301, proto) == 233 &&
                  offsetof(pfsync_state_1301, direction) == 234 && offsetof(pfsync_state_1301, log) == 237 &&
                  offsetof(pfsync_state_1301, state_flags) == 238 && offsetof(pfsync_state_1301, timeout) == 239 &&
                  offsetof(pfsync_state_1301, sync_flags) == 240 && offsetof(pfsync_state_1301, updates) == 241,
              "pfsync_state_1301 offsets");
static_assert(sizeof(pf_state_export) == 384, "pf_state_export size");
static_assert(offsetof(pf_state_export, id) == 8 && offsetof(pf_state_export, ifname) == 16 &&
                  offsetof(pf_state_export, orig_ifname) == 32 && offsetof(pf_state_export, key) == 48 &&
                  offsetof(pf_state_export, key[1]) == 84 && offsetof(pf_state_export, src) == 120 &&
                  offsetof(pf_state_export, dst) == 152 && offsetof(pf_state_export, rt_addr) == 184 &&
                  offsetof(pf_state_export, rule) == 200 && offsetof(pf_state_export, anchor) == 204 &&
                  offsetof(pf_state_export, nat_rule) == 208 && offsetof(pf_state_export, creation) == 212 &&
                  offsetof(pf_state_export, expire) == 216 && offsetof(pf_state_export, packets) == 224 &&
                  offsetof(pf_state_export, bytes) == 240 && offsetof(pf_state_export, creatorid) == 256 &&
                  offsetof(pf_state_export, af) == 264 && offsetof(pf_state_export, proto) == 265 &&
                  offsetof(pf_state_export, direction) == 266 && offsetof(pf_state_export, log) == 267 &&
                  offsetof(pf_state_export, state_flags_compat) == 268 &&
                  offsetof(pf_state_export, timeout) == 269 && offsetof(pf_state_export, sync_flags) == 270 &&
                  offsetof(pf_state_export, updates) == 271 && offsetof(pf_state_export, state_flags) == 272 &&
                  offsetof(pf_state_export, qid) == 274 && offsetof(pf_state_export, dnpipe) == 278 &&
                  offsetof(pf_state_export, dnrpipe) == 280 && offsetof(pf_state_export, rtableid) == 284 &&
                  offsetof(pf_state_export, min_ttl) == 288 && offsetof(pf_state_export, max_mss) == 290 &&
                  offsetof(pf_state_export, set_prio) == 292 && offsetof(pf_state_export, rt) == 294 &&
                  offsetof(pf_state_export, rt_ifname) == 295 && offsetof(pf_state_export, spare) == 311,
              "pf_state_export offsets");
static_assert(sizeof(pfioc_states) == 16 && offsetof(pfioc_states, ps_buf) == 8, "pfioc_states");
static_assert(sizeof(pfioc_states_v2) == 24 && offsetof(pfioc_states_v2, ps_req_version) == 8 &&
                  offsetof(pfioc_states_v2, ps_buf) == 16,
              "pfioc_states_v2");
static_assert(sizeof(pfioc_nv) == 24 && offsetof(pfioc_nv, len) == 8 && offsetof(pfioc_nv, size) == 16,
              "pfioc_nv");
static_assert(sizeof(pf_status) == 416 && offsetof(pf_status, running) == 360 &&
                  offsetof(pf_status, states) == 364 && offsetof(pf_status, hostid) == 380 &&
                  offsetof(pf_status, ifname) == 384 && offsetof(pf_status, pf_chksum) == 400,
              "pf_status");

static_assert(DIOCCLRSTATES == 0xc0e04412u, "DIOCCLRSTATES");
static_assert(DIOCCLRSTATESNV == 0xc0184412u, "DIOCCLRSTATESNV");
static_assert(DIOCGETSTATE == 0xc0f24413u, "DIOCGETSTATE");
static_assert(DIOCGETSTATENV == 0xc0184413u, "DIOCGETSTATENV");
static_assert(DIOCGETSTATUS == 0xc1a04415u, "DIOCGETSTATUS");
static_assert(DIOCGETSTATUSNV == 0xc0184415u, "DIOCGETSTATUSNV");
static_assert(DIOCGETSTATES == 0xc0104419u, "DIOCGETSTATES");
static_assert(DIOCKILLSTATES == 0xc0e04429u, "DIOCKILLSTATES");
static_assert(DIOCKILLSTATESNV == 0xc0184429u, "DIOCKILLSTATESNV");
static_assert(DIOCGETSTATESV2 == 0xc018445du, "DIOCGETSTATESV2");
static_assert(DIOCGETRULENV == 0xc0184407u, "DIOCGETRULENV");

// The record layouts the engine reads (the kernel's own, unchanged).
enum class Layout : int { Export = 384, S1301 = 242 };

}  // namespace pf
