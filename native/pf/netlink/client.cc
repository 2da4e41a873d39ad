#include "pf/netlink/client.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pf/netlink/pf_nl_defs.h"
#include "pf/netlink/state_decode.h"

namespace pf::nl {

bool FamilyInfo::Has(uint32_t cmd) const { return std::find(ops.begin(), ops.end(), cmd) != ops.end(); }

Client::Client(EndpointFactory factory) : factory_(std::move(factory)) {}

Endpoint& Client::cmd() {
  if (!cmd_) {
    cmd_ = factory_();
    name_ = cmd_->Name();
  }
  return *cmd_;
}

static std::string Errno(int e) { return std::string(std::strerror(e)); }

void Client::Resolve() {
  Writer w;
  uint32_t seq = NextSeq();
  AddGetFamily(w, seq, kFamilyName);
  cmd().Send(w.data(), w.size());
  cmdRx_.resize(kRecvBytes);
  bool got = false;
  for (;;) {
    size_t n = cmd().Recv(cmdRx_.data(), cmdRx_.size());
    if (n == 0) throw NlError(EIO, "EIO", "netlink: no reply to the pfctl family lookup");
    MsgReader r(cmdRx_.data(), n);
    Msg m;
    while (r.Next(&m)) {
      if (m.seq != seq) continue;
      if (m.type == kMsgError) {
        int e = ErrorOf(m);
        if (e == 0) {  // ACK: fine after the family message, a protocol error without it
          if (got) return;
          throw NlError(EBADMSG, "EBADMSG", "netlink: pfctl family lookup acknowledged without a family message");
        }
        if (e == ENOENT) throw NlError(ENOENT, "ENOENT", "this kernel has no pf netlink family (\"pfctl\" needs FreeBSD 14+)");
        throw NlError(e, "", "netlink: pfctl family lookup failed: " + Errno(e));
      }
      if (m.type != kGenlIdCtrl || m.payloadLen < kGenlHdrLen) continue;
      AttrReader ar(m.payload + kGenlHdrLen, m.payloadLen - kGenlHdrLen, "CTRL");
      Attr a;
      fam_ = FamilyInfo{};
      while (ar.Next(&a)) {
        if (a.type == kCtrlAttrFamilyId) {
          if (a.len != 2) throw NlError(EBADMSG, "EBADMSG", "malformed CTRL_ATTR_FAMILY_ID: " + std::to_string(a.len) + " bytes");
          fam_.id = Rd16(a.data);
        } else if (a.type == kCtrlAttrVersion && a.len == 4) {
          fam_.version = Rd32(a.data);
        } else if (a.type == kCtrlAttrOps) {
          AttrReader ops(a.data, a.len, "CTRL_ATTR_OPS");
          Attr op;
          while (ops.Next(&op)) {
            AttrReader f(op.data, op.len, "CTRL_ATTR_OPS entry");
            Attr x;
            while (f.Next(&x))
              if (x.type == kCtrlAttrOpId) {
                if (x.len != 4) throw NlError(EBADMSG, "EBADMSG", "malformed CTRL_ATTR_OP_ID: " + std::to_string(x.len) + " bytes");
                fam_.ops.push_back(Rd32(x.data));
              }
          }
        }
      }
      if (fam_.id == 0) throw NlError(EBADMSG, "EBADMSG", "netlink: family reply without CTRL_ATTR_FAMILY_ID");
      std::sort(fam_.ops.begin(), fam_.ops.end());
      got = true;
    }
    // FreeBSD answers GETFAMILY with the family message and no ACK unless asked: done once seen.
    if (got) return;
  }
}

void Client::AbandonDump() {
  dump_.reset();  // closing the socket drops whatever the kernel still had queued
  dumping_ = false;
  rxPos_ = rxLen_ = 0;
}

void Client::StartStates(const StateQuery& q) {
  if (fam_.id == 0) throw NlError(EINVAL, "EINVAL", "netlink: resolve the pfctl family first");
  if (!fam_.Has(kCmdGetStates)) throw NlError(ENOTSUP, "ENOTSUP", "this kernel's pfctl family lists no GETSTATES");
  AbandonDump();
  dump_ = factory_();
  rx_.resize(kRecvBytes);
  Writer w;
  dumpSeq_ = NextSeq();
  AddGetStates(w, fam_.id, dumpSeq_, q);
  dump_->Send(w.data(), w.size());
  dumping_ = true;
}

size_t Client::ReadStates(uint8_t* out, size_t capRecords, bool* done) {
  *done = false;
  if (!dumping_) throw NlError(EINVAL, "EINVAL", "netlink: no state dump in progress");
  size_t n = 0;
  try {
    while (n < capRecords) {
      if (rxPos_ >= rxLen_) {
        rxPos_ = 0;
        rxLen_ = dump_->Recv(rx_.data(), rx_.size());
        if (rxLen_ == 0) throw NlError(EIO, "EIO", "netlink: the state dump ended without NLMSG_DONE");
      }
      MsgReader r(rx_.data() + rxPos_, rxLen_ - rxPos_);
      Msg m;
      r.Next(&m);
      rxPos_ += r.pos();
      if (m.seq != dumpSeq_) continue;  // nothing else is sent on this socket; ignore strays
      if (m.type == kMsgDone) {
        // The dump's own error, if it stopped early, travels in the DONE payload.
        if (m.payloadLen >= 4) {
          int32_t e;
          std::memcpy(&e, m.payload, 4);
          if (e != 0) throw NlError(-e, "", "netlink: the state dump ended with an error: " + Errno(-e));
        }
        dumping_ = false;
        dump_.reset();
        *done = true;
        return n;
      }
      if (m.type == kMsgError) {
        int e = ErrorOf(m);
        if (e != 0) throw NlError(e, "", "netlink GETSTATES: " + Errno(e));
        continue;
      }
      if (m.type != fam_.id) continue;
      DecodeState(m, reinterpret_cast<pf_state_export*>(out + n * sizeof(pf_state_export)));
      n++;
    }
  } catch (...) {
    AbandonDump();  // a broken stream is never resumed: the caller reads again from scratch
    throw;
  }
  return n;
}

KillTally Client::KillByIds(const uint64_t* ids, const uint32_t* creators, size_t n, int32_t* out, size_t batch) {
  if (fam_.id == 0) throw NlError(EINVAL, "EINVAL", "netlink: resolve the pfctl family first");
  if (!fam_.Has(kCmdKillStates)) throw NlError(ENOTSUP, "ENOTSUP", "this kernel's pfctl family lists no KILLSTATES");
  KillTally t;
  cmdRx_.resize(kRecvBytes);
  std::vector<int64_t> killed;  // per entry of the batch: PF_CS_KILLED seen (-1 = not yet)
  std::vector<uint8_t> acked;
  for (size_t from = 0; from < n; from += batch) {
    size_t to = std::min(n, from + batch);
    Writer w;
    uint32_t base = seq_ + 1;
    seq_ += uint32_t(to - from);
    size_t pending = 0;
    killed.assign(to - from, -1);
    acked.assign(to - from, 0);
    for (size_t i = from; i < to; i++) {
      if (ids[i] == 0) {
        out[i] = -EINVAL;
        acked[i - from] = 1;
        t.failed++;
        continue;
      }
      AddKillById(w, fam_.id, base + uint32_t(i - from), ids[i], creators[i]);
      pending++;
    }
    if (pending == 0) continue;
    cmd().Send(w.data(), w.size());
    while (pending > 0) {
      size_t got = cmd().Recv(cmdRx_.data(), cmdRx_.size());
      if (got == 0) throw NlError(EIO, "EIO", "netlink: KILLSTATES replies stopped early");
      MsgReader r(cmdRx_.data(), got);
      Msg m;
      while (r.Next(&m)) {
        uint32_t k = m.seq - base;
        if (k >= to - from || acked[k]) continue;
        size_t i = from + k;
        if (m.type == kMsgError) {
          int e = ErrorOf(m);
          if (e != 0) {
            out[i] = -e;
            t.failed++;
          } else if (killed[k] >= 1) {
            out[i] = 0;
            t.killed++;
          } else {
            out[i] = 1;  // vanished between snapshot and kill
            t.alreadyGone++;
          }
          acked[k] = 1;
          pending--;
        } else if (m.type == fam_.id && m.payloadLen >= kGenlHdrLen) {
          AttrReader ar(m.payload + kGenlHdrLen, m.payloadLen - kGenlHdrLen, "KILLSTATES reply");
          Attr a;
          while (ar.Next(&a))
            if (a.type == kCsKilled) {
              if (a.len != 4) throw NlError(EBADMSG, "EBADMSG", "malformed PF_CS_KILLED: " + std::to_string(a.len) + " bytes");
              killed[k] = Rd32(a.data);
            }
        }
      }
    }
  }
  return t;
}

void Client::Require(uint8_t command) const {
  if (fam_.id == 0) throw NlError(EINVAL, "EINVAL", "netlink: resolve the pfctl family first");
  if (!fam_.Has(command))
    throw NlError(ENOTSUP, "ENOTSUP", std::string("this kernel's pfctl family lists no ") + CmdName(command));
}

// Sends one request (built with `seq`) and hands each attribute of the family's reply messages
// to `onAttr`, until the ACK. A kernel error is thrown; `onAttr` throws for malformed values.
void Client::Transact(uint8_t command, const Writer& w, uint32_t seq, const std::function<void(const Attr&)>& onAttr) {
  cmd().Send(w.data(), w.size());
  cmdRx_.resize(kRecvBytes);
  for (;;) {
    size_t got = cmd().Recv(cmdRx_.data(), cmdRx_.size());
    if (got == 0) throw NlError(EIO, "EIO", std::string("netlink: no reply to ") + CmdName(command));
    MsgReader r(cmdRx_.data(), got);
    Msg m;
    while (r.Next(&m)) {
      if (m.seq != seq) continue;
      if (m.type == kMsgError) {
        int e = ErrorOf(m);
        if (e != 0) throw NlError(e, "", std::string("netlink ") + CmdName(command) + ": " + Errno(e));
        return;
      }
      if (m.type != fam_.id || m.payloadLen < kGenlHdrLen) continue;
      AttrReader ar(m.payload + kGenlHdrLen, m.payloadLen - kGenlHdrLen, CmdName(command));
      Attr a;
      while (ar.Next(&a)) onAttr(a);
    }
  }
}

static uint32_t U32Of(const Attr& a, const char* name) {
  if (a.len != 4) throw NlError(EBADMSG, "EBADMSG", std::string("malformed ") + name + ": " + std::to_string(a.len) + " bytes");
  return Rd32(a.data);
}

uint32_t Client::Kill(uint8_t command, const KillFilter& f) {
  Require(command);
  Writer w;
  uint32_t seq = NextSeq();
  AddKillStates(w, fam_.id, command, seq, f);
  int64_t killed = -1;
  Transact(command, w, seq, [&](const Attr& a) {
    if (a.type == kCsKilled) killed = U32Of(a, "PF_CS_KILLED");
  });
  if (killed < 0) throw NlError(EBADMSG, "EBADMSG", std::string("netlink ") + CmdName(command) + ": ACK without PF_CS_KILLED");
  return uint32_t(killed);
}

NlStatus Client::Status() {
  Require(kCmdGetStatus);
  Writer w;
  uint32_t seq = NextSeq();
  AddGetStatus(w, fam_.id, seq);
  NlStatus st;
  bool haveStates = false;
  Transact(kCmdGetStatus, w, seq, [&](const Attr& a) {
    if (a.type == kGsStates) st.states = U32Of(a, "PF_GS_STATES"), haveStates = true;
    if (a.type == kGsHostId) st.hostid = htonl(U32Of(a, "PF_GS_HOSTID"));  // sent as ntohl(hostid): undo it
  });
  if (!haveStates) throw NlError(EBADMSG, "EBADMSG", "netlink GET_STATUS: reply without PF_GS_STATES");
  return st;
}

std::vector<std::vector<std::string>> Client::RuleLabels() {
  Require(kCmdGetRules);
  Require(kCmdGetRule);
  // A ruleset reload between GETRULES and a GETRULE makes the ticket stale (EBUSY): start over.
  for (int attempt = 0;; attempt++) {
    Writer w;
    uint32_t seq = NextSeq();
    AddGetRules(w, fam_.id, seq);
    int64_t nr = -1, ticket = -1;
    Transact(kCmdGetRules, w, seq, [&](const Attr& a) {
      if (a.type == kGrNr) nr = U32Of(a, "PF_GR_NR");
      if (a.type == kGrTicket) ticket = U32Of(a, "PF_GR_TICKET");
    });
    if (nr < 0 || ticket < 0) throw NlError(EBADMSG, "EBADMSG", "netlink GETRULES: reply without PF_GR_NR/PF_GR_TICKET");
    if (nr > kMaxRules) throw NlError(E2BIG, "E2BIG", "netlink GETRULES: " + std::to_string(nr) + " rules");
    std::vector<std::vector<std::string>> out(static_cast<size_t>(nr));
    try {
      for (uint32_t i = 0; i < uint32_t(nr); i++) {
        Writer g;
        uint32_t gseq = NextSeq();
        AddGetRule(g, fam_.id, gseq, uint32_t(ticket), i);
        Transact(kCmdGetRule, g, gseq, [&](const Attr& a) {
          if (a.type != kRtLabels) return;
          AttrReader lr(a.data, a.len, "PF_RT_LABELS");
          Attr l;
          while (lr.Next(&l)) {
            if (l.type != kLtLabel) continue;
            size_t n = strnlen(reinterpret_cast<const char*>(l.data), l.len);
            if (n >= size_t(kRuleLabelSize) || out[i].size() >= size_t(kMaxRuleLabels))
              throw NlError(EBADMSG, "EBADMSG", "malformed PF_RT_LABELS of rule " + std::to_string(i));
            if (n) out[i].emplace_back(reinterpret_cast<const char*>(l.data), n);
          }
        });
      }
    } catch (const NlError& e) {
      if (e.err == EBUSY && attempt < 3) continue;
      throw;
    }
    return out;
  }
}

}  // namespace pf::nl
