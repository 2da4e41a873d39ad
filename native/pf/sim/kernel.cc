#include "pf/sim/kernel.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>

namespace pf::sim {

static uint64_t ToBE64(uint64_t v) {
  uint64_t r = 0;
  uint8_t* p = reinterpret_cast<uint8_t*>(&r);
  for (int i = 7; i >= 0; i--) p[7 - i] = uint8_t(v >> (i * 8));
  return r;
}

Kernel::Kernel(Personality p, uint32_t hostid) : p_(p), hostid_(hostid) {}

std::string Kernel::Name() const {
  std::string v = p_.major == 12 ? "12.x" : p_.major == 13 ? "13.1+" : p_.Is140() ? "14.0" : std::to_string(p_.major);
  std::string quirks;
  if (p_.afIntoProto) quirks += ", GETSTATES af-into-proto defect";
  if (p_.dumpDropEvery) quirks += ", dumps leave out 1 state in " + std::to_string(p_.dumpDropEvery);
  return "simulated pf (FreeBSD " + v + (p_.major >= 15 && p_.compat14 ? " with COMPAT_FREEBSD14" : "") + quirks + ")";
}

const std::vector<std::string>& Kernel::RuleLabels(uint32_t nr) const {
  static const std::vector<std::string> none;
  auto it = ruleLabels_.find(nr);
  return it == ruleLabels_.end() ? none : it->second;
}

uint64_t Kernel::NextId() { return ToBE64(++idCounter_); }

bool Kernel::Insert(pf_state_export rec) {
  if (rec.id == 0) rec.id = NextId();
  if (rec.creatorid == 0) rec.creatorid = hostid_;
  return table_.Insert(rec) >= 0;
}

int Kernel::Ioctl(uint32_t cmd, void* arg) {
  ioctls_++;
  if (arg == nullptr) return EFAULT;
  switch (cmd) {
    case DIOCGETSTATES:
      if (!StructReadAvailable()) break;
      return GetStates(static_cast<pfioc_states*>(arg));
    case DIOCGETSTATESV2:
      if (!V2Available()) break;
      return GetStatesV2(static_cast<pfioc_states_v2*>(arg));
    case DIOCGETSTATUS:
      if (p_.major > 14) break;
      return GetStatus(static_cast<pf_status*>(arg));
    case DIOCKILLSTATES:
      if (!StructKillAvailable()) break;
      return KillStatesStruct(static_cast<pfioc_state_kill*>(arg), false);
    case DIOCCLRSTATES:
      if (!StructKillAvailable()) break;
      return KillStatesStruct(static_cast<pfioc_state_kill*>(arg), true);
    case DIOCKILLSTATESNV:
    case DIOCCLRSTATESNV:
    case DIOCGETSTATUSNV:
      if (!NvAvailable()) break;
      return NvIoctl(cmd, static_cast<pfioc_nv*>(arg));
    default:
      return RuleIoctl(cmd, arg);  // ENODEV unless it is one of the rule reads
  }
  return ENODEV;  // what pfioctl answers for a command it does not know (removed or never added)
}

void Kernel::MaybeGrow() {
  // New connections arriving between the caller's size probe and its fetch.
  for (uint32_t n = growBeforeFetch_, i = 0; i < n; i++) {
    pf_state_export r{};
    std::memcpy(r.ifname, "igb1", 5);
    std::memcpy(r.orig_ifname, "igb1", 5);
    r.af = kAfInet;
    r.proto = 6;
    r.direction = kDirIn;
    uint32_t c = uint32_t(idCounter_ + 1);
    for (int k = 0; k < 2; k++) {
      r.key[k].addr[0].a8[0] = 192, r.key[k].addr[0].a8[1] = 168, r.key[k].addr[0].a8[2] = 200;
      r.key[k].addr[0].a8[3] = uint8_t(c % 250 + 1);
      r.key[k].addr[1].a8[0] = 192, r.key[k].addr[1].a8[1] = 168, r.key[k].addr[1].a8[2] = 1, r.key[k].addr[1].a8[3] = 1;
      r.key[k].port[0] = htons(uint16_t(1024 + (c / 250) % 60000));
      r.key[k].port[1] = htons(22);
    }
    r.rule = r.anchor = r.nat_rule = 0xffffffffu;
    Insert(r);
  }
  growBeforeFetch_ = 0;
  // ...and connections expiring meanwhile: the oldest (lowest slots) go first.
  for (int32_t i = 0; shrinkBeforeFetch_ > 0 && i < int32_t(table_.capacity()); i++)
    if (table_.at(i).live) {
      table_.Remove(i);
      shrinkBeforeFetch_--;
    }
  shrinkBeforeFetch_ = 0;
}

template <typename Rec, typename Fill>
static int CopyOutStates(const Kernel& k, Table& t, int* ps_len, void* buf, Fill fill) {
  if (*ps_len > 0 && buf == nullptr) return EFAULT;
  size_t room = size_t(*ps_len) / sizeof(Rec), n = 0;
  uint8_t* out = static_cast<uint8_t*>(buf);
  for (int32_t i = 0; i < int32_t(t.capacity()) && n < room; i++) {
    if (!t.at(i).live || k.DumpDrops(i)) continue;
    // Whole records only; the rest is silently left out (pf does the same, by hash row).
    fill(t.at(i).rec, reinterpret_cast<Rec*>(out + n * sizeof(Rec)));
    n++;
  }
  *ps_len = int(n * sizeof(Rec));
  return 0;
}

int Kernel::GetStates(pfioc_states* ps) {
  if (ps->ps_len <= 0) {  // size probe
    ps->ps_len = int(table_.size() * sizeof(pfsync_state_1301)) + probeSkew_;
    return 0;
  }
  MaybeGrow();
  return CopyOutStates<pfsync_state_1301>(*this, table_, &ps->ps_len, ps->ps_buf,
                                          [](const pf_state_export& e, pfsync_state_1301* s) { ExportTo1301(e, s); });
}

int Kernel::GetStatesV2(pfioc_states_v2* ps) {
  if (ps->ps_req_version > StateVersion()) return ENOTSUP;
  if (ps->ps_len <= 0) {
    ps->ps_len = int(table_.size() * sizeof(pf_state_export)) + probeSkew_;
    return 0;
  }
  MaybeGrow();
  uint64_t version = exportVersion_ ? exportVersion_ : StateVersion();
  return CopyOutStates<pf_state_export>(*this, table_, &ps->ps_len, ps->ps_buf,
                                        [version](const pf_state_export& e, pf_state_export* o) {
                                          std::memcpy(o, &e, sizeof e);
                                          o->version = version;
                                          ClearPrivate(o);  // pf_state_export() carries no per-key/next-hop af
                                          // 13.x has no route info: bytes 272..383 are spare.
                                          if (version == kStateVersion13)
                                            std::memset(reinterpret_cast<uint8_t*>(o) + 272, 0, 112);
                                        });
}

int Kernel::GetStatus(pf_status* st) {
  std::memset(st, 0, sizeof *st);
  st->running = 1;
  st->states = uint32_t(table_.size());
  st->hostid = hostid_;
  return 0;
}

static bool NulTerminated(const char* s, size_t n) { return std::memchr(s, 0, n) != nullptr; }

int Kernel::KillStatesStruct(pfioc_state_kill* psk, bool clear) {
  KillFilter f;
  if (p_.major >= 13) {
    // pf_state_kill_to_kstate_kill: strings must be terminated; no gateway, no kill_match.
    if (!NulTerminated(psk->psk_ifname, sizeof psk->psk_ifname) || !NulTerminated(psk->psk_label, sizeof psk->psk_label))
      return EINVAL;
    psk->psk_killed = 0;
  }
  f.id = psk->psk_pfcmp.id;
  f.creatorid = psk->psk_pfcmp.creatorid;
  f.direction = psk->psk_pfcmp.direction;
  f.af = psk->psk_af;
  f.proto = psk->psk_proto;
  f.src = psk->psk_src;
  f.dst = psk->psk_dst;
  std::memcpy(f.ifname, psk->psk_ifname, sizeof f.ifname);
  f.ifname[sizeof f.ifname - 1] = 0;
  std::memcpy(f.label, psk->psk_label, sizeof f.label);
  f.label[sizeof f.label - 1] = 0;
  uint32_t killed = clear ? ClearStates(f) : KillStates(f);
  // 12.x leaves psk_killed untouched when a by-id kill misses (callers must zero it first).
  if (p_.major <= 12 && !clear && f.id != 0 && killed == 0) return 0;
  psk->psk_killed = killed;
  return 0;
}

}  // namespace pf::sim
