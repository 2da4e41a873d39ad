// Reading the labels of the main ruleset's filter rules over the ioctls (what `pfctl -sr` reads):
// DIOCGETRULES for the count and ticket, then per rule DIOCGETRULENV (13.0+, all five labels) or
// the struct DIOCGETRULE (12.x; gone in 15: one label). Handlers: sys/netpfil/pf/pf_ioctl.c.
//
// DIOCGETRULES and DIOCGETRULE carry struct pfioc_rule, whose size grew with struct pf_rule from
// release to release, and an ioctl number encodes the size. Rather than trust a table of sizes,
// the device asks the kernel: pfioctl() answers ENODEV for a number it does not have, so the one
// size it accepts for the read-only DIOCGETRULES is its own sizeof(struct pfioc_rule).
#include <cerrno>
#include <cstring>
#include <vector>

#include "pf/device.h"
#include "pf/nv_requests.h"
#include "pf/nvlist.h"

namespace pf {

namespace {

constexpr int kRuleRetries = 3;  // a ruleset reload mid-walk (EBUSY) restarts the walk this often

uint32_t Rd32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
void Wr32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

bool Unknown(int e) { return e == ENODEV || e == ENOTTY || e == ENOSYS; }

}  // namespace

uint32_t Device::PfiocRuleSize() {
  if (pfiocRuleSize_ >= 0) return uint32_t(pfiocRuleSize_);
  pfiocRuleSize_ = 0;
  // Zeroed: anchor "" (the main ruleset), rule.action PF_PASS (its filter rules). A wrong size is a
  // command the kernel does not have, so nothing is read or written until the right one.
  std::vector<uint8_t> buf(kIocParmMax + 1, 0);
  int refused = 0;  // pfioctl answers EPERM (securelevel > 2) / EACCES for commands off its allow-lists
  for (uint32_t len = kPfiocRuleRule + kPfRuleLabel + kRuleLabelSize; len <= kIocParmMax; len++) {
    int e = t_->Ioctl(DIOCGETRULES_OF(len), buf.data());
    if (Unknown(e)) continue;
    if (e == EPERM || e == EACCES) {
      refused = e;
      continue;
    }
    if (e != 0) throw DeviceError(e, "", name_ + ": DIOCGETRULES failed: " + std::strerror(e));
    pfiocRuleSize_ = len;
    break;
  }
  if (pfiocRuleSize_ == 0 && refused)
    throw DeviceError(refused, "", name_ + ": DIOCGETRULES refused: " + std::strerror(refused) + " (securelevel > 2?)");
  return uint32_t(pfiocRuleSize_);
}

int Device::NvGetRule(uint32_t ticket, uint32_t nr, std::vector<std::string>* labels) {
  GetRuleRequest q;
  q.ruleset = kPfPass;
  q.ticket = ticket;
  q.nr = nr;
  std::vector<uint8_t> req = BuildGetRuleRequest(q).pack();
  // A rule's nvlist is a few KiB; grow on ENOSPC (the read has no side effect, so retrying is safe).
  for (size_t room = 16 * 1024; room <= 1024 * 1024; room *= 4) {
    std::vector<uint8_t> buf(std::max(room, req.size()));
    std::memcpy(buf.data(), req.data(), req.size());
    pfioc_nv nv{buf.data(), req.size(), buf.size()};
    int e = t_->Ioctl(DIOCGETRULENV, &nv);
    if (e == ENOSPC) continue;
    if (e) return e;
    nv::List reply;
    if (nv.len > buf.size() || nv::List::unpack(buf.data(), nv.len, 0, &reply)) return EPROTO;
    return ParseGetRuleReply(reply, labels) ? EPROTO : 0;
  }
  return ENOSPC;
}

std::vector<std::vector<std::string>> Device::RuleLabels() {
  uint32_t size = PfiocRuleSize();
  if (size == 0)
    throw DeviceError(ENODEV, "E_NO_PF", name_ + ": this kernel answers no DIOCGETRULES (read the rules over netlink)");
  std::vector<uint8_t> pr(size);
  bool nv = true;
  for (int attempt = 0;; attempt++) {
    std::fill(pr.begin(), pr.end(), 0);
    if (int e = t_->Ioctl(DIOCGETRULES_OF(size), pr.data()))
      throw DeviceError(e, "", name_ + ": DIOCGETRULES failed: " + std::strerror(e));
    uint32_t n = Rd32(&pr[kPfiocRuleNr]), ticket = Rd32(&pr[kPfiocRuleTicket]);
    if (n > (1u << 20)) throw DeviceError(E2BIG, "E2BIG", name_ + ": DIOCGETRULES reports " + std::to_string(n) + " rules");
    std::vector<std::vector<std::string>> out(n);
    int busy = 0;
    for (uint32_t i = 0; i < n && !busy; i++) {
      int e = nv ? NvGetRule(ticket, i, &out[i]) : ENODEV;
      if (Unknown(e)) {  // 12.x: no DIOCGETRULENV; the struct rule holds one label
        nv = false;
        std::fill(pr.begin(), pr.end(), 0);
        Wr32(&pr[kPfiocRuleTicket], ticket);
        Wr32(&pr[kPfiocRuleNr], i);
        e = t_->Ioctl(DIOCGETRULE_OF(size), pr.data());
        if (e == 0) {
          const char* l = reinterpret_cast<const char*>(&pr[kPfiocRuleRule + kPfRuleLabel]);
          size_t len = strnlen(l, kRuleLabelSize);
          if (len == size_t(kRuleLabelSize)) e = EPROTO;
          else if (len) out[i].assign(1, std::string(l, len));
        }
        if (Unknown(e)) throw DeviceError(e, "E_NO_PF", name_ + ": neither DIOCGETRULENV nor DIOCGETRULE answers");
      }
      if (e == EBUSY) busy = e;  // the ruleset changed under us (stale ticket)
      else if (e == EPROTO) throw DeviceError(EPROTO, "E_ABI_MISMATCH", name_ + ": a rule reply statekill cannot read");
      else if (e) throw DeviceError(e, "", name_ + ": reading rule " + std::to_string(i) + " failed: " + std::strerror(e));
    }
    if (!busy) {
      rulePath_ = nv ? "DIOCGETRULENV" : "DIOCGETRULE";
      return out;
    }
    if (attempt >= kRuleRetries)
      throw DeviceError(EBUSY, "EBUSY", name_ + ": the ruleset kept changing while its labels were read");
  }
}

}  // namespace pf
