#include "pf/netlink/requests.h"

#include <cstring>

#include "pf/netlink/pf_nl_defs.h"

namespace pf::nl {

void AddGetFamily(Writer& w, uint32_t seq, const char* name) {
  size_t m = w.BeginMsg(kGenlIdCtrl, kFRequest, seq);
  w.Genl(kCtrlCmdGetFamily, 1);
  w.Str(kCtrlAttrFamilyName, name, 64);
  w.EndMsg(m);
}

void AddGetStates(Writer& w, uint16_t family, uint32_t seq, const StateQuery& q) {
  size_t m = w.BeginMsg(family, kFRequest | kFDump, seq);
  w.Genl(kCmdGetStates, kFamilyVersion);
  if (q.ifname[0]) w.Str(kStIfName, q.ifname, kIfNameSize);
  // A late-2023 pf_nl.c parses PF_ST_AF into the proto filter (`.off = _OUT(proto)`): an af alone
  // would filter the dump down to protocol 2 or 28. Attributes apply in message order, so a
  // PF_ST_PROTO after it (0 = any) always undoes that; on such a kernel the af filter is then
  // simply not applied, which only reads more. (statekill's read hints never set af: read-hint.ts.)
  if (q.af) {
    w.U8(kStAf, q.af);
    if (!q.afAlone) w.U16(kStProto, q.proto);  // u16 in the request, u8 in replies
  } else if (q.proto) {
    w.U16(kStProto, q.proto);
  }
  if (q.hasAddr) {
    w.Attr(kStFilterAddr, q.addr.a8, 16);
    w.Attr(kStFilterMask, q.mask.a8, 16);
  }
  w.EndMsg(m);
}

static void AddRuleAddr(Writer& w, uint16_t type, const pf_rule_addr& r) {
  size_t n = w.BeginNested(type);
  size_t aw = w.BeginNested(kRatAddr);
  w.Attr(kAtAddr, r.addr.v.a.addr.a8, 16);
  w.Attr(kAtMask, r.addr.v.a.mask.a8, 16);
  w.U8(kAtType, r.addr.type);
  w.U8(kAtIflags, r.addr.iflags);
  w.EndNested(aw);
  w.U16(kRatSrcPort, r.port[0]);  // the two port_op operands, network order
  w.U16(kRatDstPort, r.port[1]);
  w.U8(kRatNeg, r.neg);
  w.U8(kRatOp, r.port_op);
  w.EndNested(n);
}

void AddKillStates(Writer& w, uint16_t family, uint8_t cmd, uint32_t seq, const KillFilter& f) {
  size_t m = w.BeginMsg(family, kFRequest | kFAck, seq);
  w.Genl(cmd, kFamilyVersion);
  w.U64(kCsCmpId, f.id);
  w.U32(kCsCmpCreatorId, f.creatorid);
  w.U8(kCsCmpDir, f.direction);
  w.U8(kCsAf, f.af);
  w.U8(kCsProto, uint8_t(f.proto));
  AddRuleAddr(w, kCsSrc, f.src);
  AddRuleAddr(w, kCsDst, f.dst);
  AddRuleAddr(w, kCsRtAddr, f.rt_addr);
  w.Str(kCsIfName, f.ifname, kIfNameSize);
  w.Str(kCsLabel, f.label, kRuleLabelSize);
  w.U8(kCsKillMatch, f.kill_match ? 1 : 0);  // bool: one byte, as snl writes it
  w.U8(kCsNat, f.nat ? 1 : 0);
  w.EndMsg(m);
}

void AddKillById(Writer& w, uint16_t family, uint32_t seq, uint64_t id, uint32_t creatorid) {
  size_t m = w.BeginMsg(family, kFRequest | kFAck, seq);
  w.Genl(kCmdKillStates, kFamilyVersion);
  w.U64(kCsCmpId, id);
  w.U32(kCsCmpCreatorId, creatorid);
  w.EndMsg(m);
}

// A GETRULES/GETRULE request for the main ruleset's filter rules (anchor "", action PF_PASS);
// returns the message start for EndMsg.
static size_t BeginRuleRequest(Writer& w, uint16_t family, uint8_t cmd, uint32_t seq) {
  size_t m = w.BeginMsg(family, kFRequest | kFAck, seq);
  w.Genl(cmd, kFamilyVersion);
  w.Str(kGrAnchor, "", 2);
  w.U8(kGrAction, kPfPass);
  return m;
}

void AddGetRules(Writer& w, uint16_t family, uint32_t seq) { w.EndMsg(BeginRuleRequest(w, family, kCmdGetRules, seq)); }

void AddGetRule(Writer& w, uint16_t family, uint32_t seq, uint32_t ticket, uint32_t nr) {
  size_t m = BeginRuleRequest(w, family, kCmdGetRule, seq);
  w.U32(kGrNr, nr);
  w.U32(kGrTicket, ticket);
  w.EndMsg(m);
}

void AddGetStatus(Writer& w, uint16_t family, uint32_t seq) {
  size_t m = w.BeginMsg(family, kFRequest | kFAck, seq);
  w.Genl(kCmdGetStatus, kFamilyVersion);
  w.EndMsg(m);
}

}  // namespace pf::nl
