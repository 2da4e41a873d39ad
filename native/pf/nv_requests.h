// pf's nvlist request and reply shapes for DIOCKILLSTATESNV / DIOCCLRSTATESNV / DIOCGETSTATUSNV,
// both sides: what libpfctl builds and parses (device layer) and what the kernel parses and builds
// (simulated kernel). Shapes: test/fixtures/nvlist-vectors/FORMAT.md §9, pf-abi.md §4.5.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "pf/kill_filter.h"
#include "pf/nvlist.h"

namespace pf {

// The kill/clear request in libpfctl's key order (_pfctl_clear_states): cmp, af, proto, src, dst,
// rt_addr, ifname, label, kill_match, then nat. "nat" is written when filter.nat is set, or always
// with alwaysIncludeNat (what the newest libpfctl does; vector g). Vectors a-d carry no "nat".
nv::List BuildStateKillRequest(const KillFilter& filter);
nv::List BuildStateKillRequest(const KillFilter& filter, bool alwaysIncludeNat);

// The kernel's pf_nvstate_kill_to_kstate_kill() (sys/netpfil/pf/pf_nv.c): 0, or the errno the ioctl
// returns. Like the kernel: a required key missing or of another type -> EINVAL; a number too big
// for its field -> ERANGE; "port" with more than 2 items -> E2BIG (1 item is taken, port[1] = 0);
// unknown address type, unknown port_op, ifname/label/table name not fitting its buffer, "addr"
// binary over 16 bytes -> EINVAL.
// Checks run in the kernel's order, so the first fault decides the errno. "rt_addr" is optional;
// "nat" is read when it is a bool (newer kernels), otherwise ignored. *out is fully reset first.
int ParseStateKillRequest(const nv::List& request, KillFilter* out);

// {killed: n}: the reply of both ioctls (pf_killstates_nv / pf_clearstates_nv; vector e).
nv::List BuildKilledReply(uint32_t killed);
// 0, or EINVAL if "killed" is missing or not a number; values over 32 bits give ERANGE.
int ParseKilledReply(const nv::List& reply, uint32_t* killed);

// One counter group of the status reply: the kernel appends values, names and ids 0..n-1.
struct StatusCounters {
  std::vector<uint64_t> values;
  std::vector<std::string> names;
};

// DIOCGETSTATUSNV reply, as built by pf_getstatus() in sys/netpfil/pf/pf_ioctl.c (read in
// freebsd/freebsd-src, the 14/15-era file beside pf_killstates_nv): running, since, debug, hostid,
// states, src_nodes, reass, syncookies_active, nested lists counters / lcounters / fcounters /
// scounters ({counters: number[], names: string[], ids: number[]}), ifname, chksum (16-byte
// binary), then number arrays pcounters (8: [af][dir][pass,drop]) and bcounters (4: [af][dir]).
// hostid is V_pf_status.hostid unchanged (the netlink reply sends ntohl of it instead).
struct StatusInfo {
  bool running = false;
  uint64_t since = 0;  // uptime second pf was enabled
  uint32_t debug = 0;
  uint32_t hostid = 0;
  uint32_t states = 0;
  uint32_t src_nodes = 0;
  uint32_t reass = 0;               // 14+
  bool syncookies_active = false;   // 14+
  bool has_reass = true;            // carries reass / syncookies_active (false = 13.x shape)
  StatusCounters counters, lcounters, fcounters, scounters;
  std::string ifname;  // loginterface
  std::array<uint8_t, 16> chksum{};
  std::array<uint64_t, 8> pcounters{};
  std::array<uint64_t, 4> bcounters{};
};

// A StatusInfo with the 14.x kernel's counter name tables (PFRES_NAMES with "map-failed",
// KLCNT_NAMES, FCNT_NAMES) and zero values; scounters reuse the fcounter names as the kernel does.
StatusInfo DefaultStatusInfo();

// DIOCGETRULENV (13.0+, sys/netpfil/pf/pf_ioctl.c): the request {anchor, ruleset, ticket, nr} and
// the reply {nr, rule: {..., labels: string[5]}, anchor_call}. 13.0's rule nvlist carries one
// "label" string instead of the "labels" array; both are read. The kernel answers EBADMSG when a
// request key is missing, EBUSY when the ticket is stale or nr is not a rule.
struct GetRuleRequest {
  std::string anchor;
  uint32_t ruleset = 0;  // a rule action: PF_PASS names the filter ruleset
  uint32_t ticket = 0;
  uint32_t nr = 0;
};
nv::List BuildGetRuleRequest(const GetRuleRequest& r);
int ParseGetRuleRequest(const nv::List& request, GetRuleRequest* out);
nv::List BuildGetRuleReply(uint32_t nr, const std::vector<std::string>& labels);
// Labels in order, empty ones dropped. EINVAL when "rule" is missing or "labels" is malformed.
int ParseGetRuleReply(const nv::List& reply, std::vector<std::string>* labels);

nv::List BuildStatusReply(const StatusInfo& status);
// Required: running (bool), since, debug, hostid, states, src_nodes (numbers) -> else EINVAL,
// out-of-range numbers -> ERANGE. Everything else is read when present with the right type.
int ParseStatusReply(const nv::List& reply, StatusInfo* out);

}  // namespace pf
