// The simulated kernel's rule reads: DIOCGETRULES (count + ticket), DIOCGETRULE (12.x: the rule
// struct with its single label) and DIOCGETRULENV (13.0+: the rule as an nvlist with its labels),
// over the main ruleset's filter rules, whose labels SetRuleLabels() holds. Handler rules as in
// sys/netpfil/pf/pf_ioctl.c: an unknown anchor or ruleset is EINVAL (ENOENT for the NV anchor), a
// stale ticket or a rule number past the end is EBUSY.
#include <cerrno>
#include <cstring>

#include "pf/nv_requests.h"
#include "pf/nvlist.h"
#include "pf/sim/kernel.h"

namespace pf::sim {

// sizeof(struct pfioc_rule) this model's kernel was "built" with. Real kernels differ per release
// (struct pf_rule grew); statekill never assumes one: the device learns it from the kernel
// (device_rules.cc), so a stand-in inside the real range is enough here.
constexpr uint32_t kSimPfiocRuleSize = 3216;
static_assert(kSimPfiocRuleSize > kPfiocRuleRule + kPfRuleLabel + kRuleLabelSize && kSimPfiocRuleSize <= kIocParmMax,
              "a pfioc_rule the ioctl encoding can carry");

namespace {

uint32_t Rd32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
void Wr32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

}  // namespace

int Kernel::RuleIoctl(uint32_t cmd, void* arg) {
  uint8_t* pr = static_cast<uint8_t*>(arg);
  bool isRules = cmd == DIOCGETRULES_OF(kSimPfiocRuleSize);
  bool isRule = cmd == DIOCGETRULE_OF(kSimPfiocRuleSize) && p_.major <= 14;  // 15 removed the struct DIOCGETRULE
  if (isRules || isRule) {
    pr[kPfiocRuleAnchor + kMaxPathLen - 1] = 0;
    if (pr[kPfiocRuleAnchor] != 0) return EINVAL;                         // only the main ruleset exists here
    // rule.action picks the ruleset; a zeroed request (PF_PASS) is the filter ruleset, the only one here.
    if (isRules) {
      Wr32(pr + kPfiocRuleNr, RuleCount());
      Wr32(pr + kPfiocRuleTicket, RuleTicket());
      return 0;
    }
    uint32_t nr = Rd32(pr + kPfiocRuleNr);
    if (Rd32(pr + kPfiocRuleTicket) != RuleTicket() || nr >= RuleCount()) return EBUSY;
    // pf_krule_to_rule copies the first label only (the userland struct has one).
    char* label = reinterpret_cast<char*>(pr + kPfiocRuleRule + kPfRuleLabel);
    std::memset(label, 0, kRuleLabelSize);
    const std::vector<std::string>& l = RuleLabels(nr);
    if (!l.empty()) std::strncpy(label, l[0].c_str(), kRuleLabelSize - 1);
    return 0;
  }
  if (cmd == DIOCGETRULENV && p_.major >= 13) {
    pfioc_nv* nv = static_cast<pfioc_nv*>(arg);
    if (nv->len > 65535 || nv->data == nullptr) return nv->data ? ENOMEM : EFAULT;
    nv::List req;
    if (nv::List::unpack(static_cast<const uint8_t*>(nv->data), nv->len, 0, &req) != 0) return EBADMSG;
    GetRuleRequest r;
    if (int e = ParseGetRuleRequest(req, &r)) return e;
    if (!r.anchor.empty()) return ENOENT;
    if (r.ticket != RuleTicket() || r.nr >= RuleCount()) return EBUSY;
    std::vector<uint8_t> reply = BuildGetRuleReply(r.nr, RuleLabels(r.nr)).pack();
    nv->len = reply.size();
    if (nv->size == 0) return 0;
    if (nv->size < reply.size()) return ENOSPC;
    std::memcpy(nv->data, reply.data(), reply.size());
    return 0;
  }
  return ENODEV;
}

}  // namespace pf::sim
