#include "pf/sim/netlink_responder.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pf/netlink/pf_nl_defs.h"

namespace pf::sim {

using namespace pf::nl;

std::vector<uint32_t> NetlinkOpsFor(const Personality& p) {
  std::vector<uint32_t> ops;
  if (p.major < 14) return ops;  // pf_nl arrived with 14.0
  // 14.0-RELEASE's pf_nl.c: GETSTATES, GETCREATORS, START, STOP (kills go over the ioctls).
  uint32_t last = p.major >= 15 ? kCmdMax15 : p.Is140() ? kCmdStop : kCmdSetStatusIf;
  for (uint32_t c = 1; c <= last; c++) ops.push_back(c);
  return ops;
}

NetlinkResponder::NetlinkResponder(Kernel* k, std::vector<uint32_t> ops) : k_(k), ops_(std::move(ops)) {}

void NetlinkResponder::Send(const uint8_t* p, size_t n) {
  // A kernel processes each message of a write in turn; a broken framing ends the write there.
  MsgReader r(p, n);
  Msg m;
  try {
    while (r.Next(&m)) Handle(m);
  } catch (const NlError&) {
    // Like netlink(4): the rest of a write whose framing is broken is dropped.
  }
}

void NetlinkResponder::ReplyError(const Msg& m, int err) {
  // nlmsgerr: the error, then the request's header (capped: no payload echo).
  size_t o = out_.BeginMsg(kMsgError, 0x100 /* NLM_F_CAPPED */, m.seq, m.pid);
  int32_t e = -err;
  std::memcpy(out_.Grow(4), &e, 4);
  uint8_t hdr[kHdrLen];
  std::memcpy(hdr, &m.len, 4);
  std::memcpy(hdr + 4, &m.type, 2);
  std::memcpy(hdr + 6, &m.flags, 2);
  std::memcpy(hdr + 8, &m.seq, 4);
  std::memcpy(hdr + 12, &m.pid, 4);
  std::memcpy(out_.Grow(kHdrLen), hdr, kHdrLen);
  out_.EndMsg(o);
}

void NetlinkResponder::Done(uint32_t seq, uint32_t pid, int err) {
  size_t o = out_.BeginMsg(kMsgDone, kFMulti, seq, pid);
  int32_t e = -err;
  std::memcpy(out_.Grow(4), &e, 4);
  out_.EndMsg(o);
}

void NetlinkResponder::Handle(const Msg& m) {
  if (!(m.flags & kFRequest)) return;  // the kernel ignores non-requests
  if (m.type == kGenlIdCtrl) return HandleCtrl(m);
  if (m.type != kSimPfFamilyId || ops_.empty()) return ReplyError(m, ENOENT);
  if (m.payloadLen < kGenlHdrLen) return ReplyError(m, EINVAL);
  uint8_t cmd = m.payload[0];
  if (std::find(ops_.begin(), ops_.end(), cmd) == ops_.end()) return ReplyError(m, EOPNOTSUPP);
  if (dumping_) return ReplyError(m, EBUSY);  // this socket is still streaming a dump
  switch (cmd) {
    case kCmdGetStates: return HandleGetStates(m);
    case kCmdKillStates:
    case kCmdClrStates: return HandleKill(m, cmd);
    case kCmdGetCreators: return HandleGetCreators(m);
    case kCmdGetStatus: return HandleGetStatus(m);
    case kCmdGetRules: return HandleGetRules(m);
    case kCmdGetRule: return HandleGetRule(m);
    case kCmdStart:
    case kCmdStop:
      if (m.flags & kFAck) ReplyError(m, 0);
      return;
    default: return ReplyError(m, EOPNOTSUPP);  // listed, but not part of the simulation
  }
}

void NetlinkResponder::HandleCtrl(const Msg& m) {
  if (m.payloadLen < kGenlHdrLen || m.payload[0] != kCtrlCmdGetFamily) return ReplyError(m, EOPNOTSUPP);
  std::string name;
  try {
    AttrReader r(m.payload + kGenlHdrLen, m.payloadLen - kGenlHdrLen, "CTRL");
    Attr a;
    while (r.Next(&a))
      if (a.type == kCtrlAttrFamilyName) name.assign(reinterpret_cast<const char*>(a.data), strnlen(reinterpret_cast<const char*>(a.data), a.len));
  } catch (const NlError&) {
    return ReplyError(m, EINVAL);
  }
  if (name != kFamilyName || ops_.empty()) return ReplyError(m, ENOENT);
  size_t o = out_.BeginMsg(kGenlIdCtrl, 0, m.seq, m.pid);
  out_.Genl(kCtrlCmdNewFamily, 2);
  out_.Str(kCtrlAttrFamilyName, kFamilyName, 16);
  out_.U16(kCtrlAttrFamilyId, kSimPfFamilyId);
  out_.U32(kCtrlAttrVersion, kFamilyVersion);
  out_.U32(kCtrlAttrHdrSize, 0);
  out_.U32(kCtrlAttrMaxAttr, 0);
  size_t ops = out_.BeginNested(kCtrlAttrOps);
  for (size_t i = 0; i < ops_.size(); i++) {
    size_t op = out_.BeginNested(uint16_t(i + 1));
    out_.U32(kCtrlAttrOpId, ops_[i]);
    // GENL_CMD_CAP_DO|DUMP|HASPOL for the state commands, DO for the rest.
    out_.U32(kCtrlAttrOpFlags, ops_[i] <= 2 || ops_[i] == 8 || ops_[i] == 9 ? 0x2 | 0x4 | 0x8 : 0x2);
    out_.EndNested(op);
  }
  out_.EndNested(ops);
  out_.EndMsg(o);
  if (m.flags & kFAck) ReplyError(m, 0);
}

void NetlinkResponder::HandleGetStates(const Msg& m) {
  StateFilter f;
  const Personality& p = k_->personality();
  if (int e = ParseStateQuery(m, &f, p.afIntoProto)) return ReplyError(m, e);
  // 14.0's parser knew PF_ST_ID and PF_ST_CREATORID only: the filters (D42280) are unknown
  // attributes there, which netlink skips, so every state is dumped.
  if (p.Is140()) f.q = StateQuery{};
  if (f.id != 0) {
    // Single-state get by a 32-bit id (the kernel's parser quirk): rarely useful, answered faithfully.
    int32_t slot = k_->table().FindById(uint64_t(f.id), f.creatorid);
    if (slot < 0) return ReplyError(m, ENOENT);
    EncodeStateMsg(out_, k_->table().at(slot).rec, kSimPfFamilyId, 0, m.seq, m.pid, k_->personality().major);
    if (m.flags & kFAck) ReplyError(m, 0);
    return;
  }
  filter_ = f;
  emitted_ = 0;
  k_->BeforeDump();  // churn the tests asked for happens as the dump starts
  dumping_ = true;
  cursor_ = 0;
  dumpSeq_ = m.seq;
  dumpPid_ = m.pid;
}

static bool AddrMatch(const pf_addr& want, const pf_addr& mask, const pf_addr& a, uint8_t af) {
  int words = af == kAfInet ? 1 : 4;
  for (int i = 0; i < words; i++)
    if ((want.a32[i] & mask.a32[i]) != (a.a32[i] & mask.a32[i])) return false;
  return true;
}

bool NetlinkResponder::DumpMatches(const pf_state_export& s) const {
  const StateQuery& q = filter_.q;
  if (filter_.creatorid != 0 && s.creatorid != filter_.creatorid) return false;
  if (q.ifname[0] && std::strncmp(q.ifname, s.ifname, kIfNameSize) != 0) return false;
  if (q.proto != 0 && s.proto != q.proto) return false;
  if (q.af != 0 && s.af != q.af) return false;
  // Kept when any of the four key addresses matches (a zero mask matches everything).
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < 2; i++)
      if (AddrMatch(q.addr, q.mask, s.key[k].addr[i], s.af)) return true;
  return false;
}

void NetlinkResponder::ProduceDump(size_t budget) {
  Table& t = k_->table();
  int major = k_->personality().major;
  while (out_.size() < budget && cursor_ < int32_t(t.capacity())) {
    int32_t i = cursor_++;
    const Table::Slot& slot = t.at(i);
    if (!slot.live || k_->DumpDrops(i) || !DumpMatches(slot.rec)) continue;
    size_t start = out_.size();
    EncodeStateMsg(out_, slot.rec, kSimPfFamilyId, kFMulti, dumpSeq_, dumpPid_, major);
    if (emitted_++ == corruptAt_) {
      uint8_t* b = out_.data();
      for (size_t o = start + kHdrLen + kGenlHdrLen; o + kAttrHdrLen <= out_.size(); o += Align4(Rd16(&b[o])))
        if ((Rd16(&b[o + 2]) & kNlaTypeMask) == kStRule) {
          uint16_t bad = kAttrHdrLen + 3;  // still padded to the same 8 bytes: framing stays intact
          std::memcpy(&b[o], &bad, 2);
          break;
        }
    }
  }
  if (cursor_ >= int32_t(t.capacity())) {
    Done(dumpSeq_, dumpPid_, 0);
    dumping_ = false;
  }
}

size_t NetlinkResponder::Recv(uint8_t* buf, size_t cap) {
  size_t w = 0;
  for (;;) {
    // Whole messages that fit, copied in one piece.
    const uint8_t* b = out_.data();
    size_t end = outPos_;
    while (end < out_.size()) {
      size_t step = std::min(Align4(Rd32(b + end)), out_.size() - end);
      if (w + (end - outPos_) + step > cap) break;
      end += step;
    }
    if (end == outPos_ && outPos_ < out_.size()) {
      if (w == 0) throw NlError(ENOBUFS, "ENOBUFS", "netlink: receive buffer smaller than one message");
      return w;
    }
    std::memcpy(buf + w, b + outPos_, end - outPos_);
    w += end - outPos_;
    outPos_ = end;
    if (outPos_ < out_.size()) return w;  // the rest waits for the next receive
    out_.clear();
    outPos_ = 0;
    if (!dumping_ || w >= cap) return w;
    // Produce about what is left of this receive: the dump advances only as it is read.
    ProduceDump(cap - w);
  }
}

void NetlinkResponder::HandleKill(const Msg& m, uint8_t cmd) {
  KillFilter f;
  if (int e = ParseKillMsg(m, &f)) return ReplyError(m, e);
  uint32_t killed = cmd == kCmdKillStates ? k_->KillStates(f) : k_->ClearStates(f);
  size_t o = out_.BeginMsg(kSimPfFamilyId, 0, m.seq, m.pid);
  out_.Genl(cmd, 0);
  out_.U32(kCsKilled, killed);
  out_.EndMsg(o);
  if (m.flags & kFAck) ReplyError(m, 0);
}

void NetlinkResponder::HandleGetCreators(const Msg& m) {
  std::vector<uint32_t> creators;
  Table& t = k_->table();
  for (int32_t i = 0; i < int32_t(t.capacity()) && creators.size() < 16; i++) {
    if (!t.at(i).live) continue;
    uint32_t c = t.at(i).rec.creatorid;
    if (std::find(creators.begin(), creators.end(), c) == creators.end()) creators.push_back(c);
  }
  for (uint32_t c : creators) {
    size_t o = out_.BeginMsg(kSimPfFamilyId, kFMulti, m.seq, m.pid);
    out_.Genl(kCmdGetCreators, 0);
    out_.U32(kStCreatorId, htonl(c));
    out_.EndMsg(o);
  }
  Done(m.seq, m.pid, 0);
}

void NetlinkResponder::HandleGetStatus(const Msg& m) {
  size_t o = out_.BeginMsg(kSimPfFamilyId, 0, m.seq, m.pid);
  out_.Genl(kCmdGetStatus, 0);
  out_.U32(kGsHostId, ntohl(k_->hostid()));  // pf_nl.c sends ntohl(V_pf_status.hostid)
  out_.U32(kGsStates, uint32_t(k_->table().size()));
  out_.EndMsg(o);
  if (m.flags & kFAck) ReplyError(m, 0);
}

// GETRULES / GETRULE over the main ruleset's filter rules (pf_nl.c pf_handle_getrules /
// pf_handle_getrule): an anchor other than "" is ENOENT (GETRULE) or EINVAL (GETRULES, via
// pf_ioctl_getrules), a stale ticket or a number past the end EBUSY. Only the attributes
// statekill reads are answered (PF_RT_NR, PF_RT_LABELS); a real kernel sends ~70 more.
void NetlinkResponder::HandleGetRules(const Msg& m) {
  RuleQuery q;
  if (int e = ParseRuleQuery(m, &q)) return ReplyError(m, e);
  if (!q.anchor.empty()) return ReplyError(m, EINVAL);
  size_t o = out_.BeginMsg(kSimPfFamilyId, 0, m.seq, m.pid);
  out_.Genl(kCmdGetRules, 0);
  out_.U32(kGrNr, k_->RuleCount());
  out_.U32(kGrTicket, k_->RuleTicket());
  out_.EndMsg(o);
  if (m.flags & kFAck) ReplyError(m, 0);
}

void NetlinkResponder::HandleGetRule(const Msg& m) {
  RuleQuery q;
  if (int e = ParseRuleQuery(m, &q)) return ReplyError(m, e);
  if (!q.anchor.empty()) return ReplyError(m, ENOENT);
  if (q.ticket != k_->RuleTicket() || q.nr >= k_->RuleCount()) return ReplyError(m, EBUSY);
  size_t o = out_.BeginMsg(kSimPfFamilyId, 0, m.seq, m.pid);
  out_.Genl(kCmdGetRule, 0);
  size_t labels = out_.BeginNested(kRtLabels);
  for (const std::string& l : k_->RuleLabels(q.nr)) out_.Str(kLtLabel, l.c_str(), kRuleLabelSize);
  out_.EndNested(labels);
  out_.U32(kRtNr, q.nr);
  out_.EndMsg(o);
  if (m.flags & kFAck) ReplyError(m, 0);
}

}  // namespace pf::sim
