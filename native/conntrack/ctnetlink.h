// Raw ctnetlink (NETLINK_NETFILTER, subsystem CTNETLINK): one function per kernel verb, plain
// buffers in and out, no N-API and no policy. Raw netlink rather than libmnl/libnetfilter_conntrack:
// the handful of messages we need fit in ~300 lines, it adds no system dependency to `npm install`,
// and libnetfilter_conntrack 1.0.9's NFCT_Q_FLUSH_FILTER silently drops the mark (conntrack.md §3.5).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/kernel_error.h"
#include "select.h"

namespace sk::ct {

// Every function here throws sk::KernelError; the binding turns it into a StatekillError.

struct DumpFilter {
  uint8_t af = 0;  // 0 both, 4, 6 (nfgenmsg family: the kernel filters)
  bool hasMark = false;
  uint32_t mark = 0, mask = 0;  // kernel-side CTA_MARK + CTA_MARK_MASK
  bool hasZone = false;
  uint16_t zone = 0;  // filtered here: the kernel's zone filter never excludes zone 0
};

struct DumpResult {
  size_t written;  // records stored (<= capacity)
  size_t total;    // records the kernel sent that passed the filter
};

// A ctnetlink socket opened in the current netns, or in `netns` (a path, e.g. /run/netns/x).
int Open(const std::string& netns);
void Close(int fd);

// Entries in this netns (IPCTNL_MSG_CT_GET_STATS), O(1).
uint32_t Count(int fd);
DumpResult Dump(int fd, uint8_t* out, size_t capacity, const DumpFilter& f);

// Per-entry delete by original tuple (+ zone, + id), `batch` messages per sendmsg, each batch
// re-checked first: one GET per entry, and only entries that still carry the id read AND still
// match are deleted. "Match" is any of `specs` (the plan's selections); with no specs, the entry's
// selecting fields (mark, reply tuple) must equal the record's. results[i]: 0 deleted, 1 already
// gone (ENOENT, or no longer matching: the entry the plan listed no longer exists), <0 -errno.
void Delete(int fd, const uint8_t* records, const int32_t* indices, size_t n, int32_t* results, size_t batch,
            const std::vector<Spec>& specs);
// Creates entries from records (test and bench fill); results as Delete (1 = EEXIST).
void Insert(int fd, const uint8_t* records, size_t n, int32_t* results, size_t batch);

// Tuple-less DELETE with no attributes: the kernel flushes this netns's whole table.
void FlushAll(int fd);
// Kernel-filtered deletes. Both refuse (code E_UNSAFE_FILTER) unless KernelFilterRefusal() is empty.
void FlushMark(int fd, uint32_t mark, uint32_t mask);
void FlushReplyDst(int fd, uint8_t af, const uint8_t addr[16]);

// Why a tuple-less filtered DELETE would be unsafe on kernel `release` ("" when it is safe).
// kind: "mark" (needs >= 4.0 and mask != 0) or "replyDst" (CTA_FILTER on flush: >= 6.12).
std::string KernelFilterRefusal(const std::string& release, const std::string& kind, bool hasMask, uint32_t mask);

// Proves a kernel-filtered DELETE on this kernel before it is used: in a throwaway network namespace
// (unshare on a short-lived thread), creates entries the filter must tell apart, sends the filtered
// delete, and checks exactly the right ones went. kind "mark" (af ignored: both families) or
// "replyDst" (af 4 or 6). Returns "" when the kernel selected exactly, else why not (including "could
// not probe: ..."). Linux 6.18 fails "replyDst" for IPv6: its CTA_FILTER address compare is inverted.
std::string ProbeKernelFilter(const std::string& kind, uint8_t af);
std::string KernelRelease();

}  // namespace sk::ct
