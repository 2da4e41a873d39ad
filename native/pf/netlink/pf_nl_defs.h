// pf's generic netlink family "pfctl": command and attribute numbers (pf-abi.md 5.2-5.4), plus
// names for error messages. Numbers only; the semantics live beside the code that uses them.
#pragma once
#include <cstdint>

namespace pf::nl {

constexpr const char* kFamilyName = "pfctl";
constexpr uint8_t kFamilyVersion = 2;  // the version pfctl's family registers (and libpfctl sends)

enum Cmd : uint8_t {
  kCmdGetStates = 1,
  kCmdGetCreators = 2,
  kCmdStart = 3,
  kCmdStop = 4,
  kCmdAddRule = 5,
  kCmdGetRules = 6,
  kCmdGetRule = 7,
  kCmdClrStates = 8,
  kCmdKillStates = 9,
  kCmdSetStatusIf = 10,
  kCmdGetStatus = 11,
  kCmdMax15 = 33,  // the last command of the 15-era header
};

// pfstate_type_t (GETSTATES request filters and reply attributes)
enum StateAttr : uint16_t {
  kStId = 1, kStCreatorId = 2, kStIfName = 3, kStOrigIfName = 4, kStKeyWire = 5, kStKeyStack = 6,
  kStPeerSrc = 7, kStPeerDst = 8, kStRtAddr = 9, kStRule = 10, kStAnchor = 11, kStNatRule = 12,
  kStCreation = 13, kStExpire = 14, kStPackets0 = 15, kStPackets1 = 16, kStBytes0 = 17, kStBytes1 = 18,
  kStAf = 19, kStProto = 21, kStDirection = 22, kStLog = 23, kStTimeout = 24, kStStateFlags = 25,
  kStSyncFlags = 26, kStUpdates = 27, kStVersion = 28, kStFilterAddr = 29, kStFilterMask = 30,
  kStRtableId = 31, kStMinTtl = 32, kStMaxMss = 33, kStDnPipe = 34, kStDnRPipe = 35, kStRt = 36,
  kStRtIfName = 37, kStSrcNodeFlags = 38, kStRtAf = 39,
};
enum KeyAttr : uint16_t { kStkAddr0 = 1, kStkAddr1 = 2, kStkPort0 = 3, kStkPort1 = 4, kStkAf = 5, kStkProto = 6 };
enum PeerAttr : uint16_t {
  kStpPfssFlags = 1, kStpPfssTtl = 2, kStpScrubFlag = 3, kStpPfssTsMod = 4, kStpSeqLo = 5, kStpSeqHi = 6,
  kStpSeqDiff = 7, kStpMaxWin = 8, kStpMss = 9, kStpState = 10, kStpWscale = 11,
};

// pf_clear_states_type_t (KILLSTATES / CLRSTATES)
enum ClearAttr : uint16_t {
  kCsCmpId = 1, kCsCmpCreatorId = 2, kCsCmpDir = 3, kCsAf = 4, kCsProto = 5, kCsSrc = 6, kCsDst = 7,
  kCsRtAddr = 8, kCsIfName = 9, kCsLabel = 10, kCsKillMatch = 11, kCsNat = 12, kCsKilled = 13,
};
enum RuleAddrAttr : uint16_t { kRatAddr = 1, kRatSrcPort = 2, kRatDstPort = 3, kRatNeg = 4, kRatOp = 5 };
enum AddrWrapAttr : uint16_t { kAtAddr = 1, kAtMask = 2, kAtIfName = 3, kAtTableName = 4, kAtType = 5, kAtIflags = 6 };

constexpr uint16_t kGsStates = 6;  // PF_GS_STATES in the GET_STATUS reply (u32)
constexpr uint16_t kGsHostId = 5;  // PF_GS_HOSTID (u32, ntohl(hostid))

// pf_getrules_type_t (GETRULES request/reply, GETRULE request)
enum GetRulesAttr : uint16_t { kGrAnchor = 1, kGrAction = 2, kGrNr = 3, kGrTicket = 4, kGrClear = 5 };
// pf_rule_type_t: the GETRULE reply attributes statekill reads
constexpr uint16_t kRtLabels = 4;   // nested: PF_LT_LABEL strings (up to 5)
constexpr uint16_t kRtNr = 23;      // u32
constexpr uint16_t kLtLabel = 1;    // pf_labels_type_t

const char* StateAttrName(uint16_t t);
const char* KeyAttrName(uint16_t t);
const char* PeerAttrName(uint16_t t);
const char* ClearAttrName(uint16_t t);
const char* CmdName(uint8_t c);

}  // namespace pf::nl
