// Kill/clear requests, the {killed} reply and the status reply (contract in nv_requests.h).
// Key names, order and checks follow lib/libpfctl/libpfctl.c, sys/netpfil/pf/pf_nv.c and
// sys/netpfil/pf/pf_ioctl.c (facts only; see FORMAT.md §9 and pf-abi.md §4.5).
#include "pf/nv_requests.h"

#include <cerrno>
#include <climits>
#include <cstring>

namespace pf {

// ---- building (libpfctl's side) ------------------------------------------------------------------

static nv::List AddrList(const pf_addr& a) {
  nv::List l;
  l.addBinary("addr", a.a8, sizeof a.a8);
  return l;
}

static std::string Bounded(const char* s, size_t max) { return std::string(s, strnlen(s, max)); }

static nv::List AddrWrapList(const pf_addr_wrap& w) {  // pfctl_nv_add_addr_wrap
  nv::List l;
  l.addNumber("type", w.type);
  l.addNumber("iflags", w.iflags);
  if (w.type == kAddrDynIfTl) l.addString("ifname", Bounded(w.v.ifname, sizeof w.v.ifname));
  if (w.type == kAddrTable) l.addString("tblname", Bounded(w.v.tblname, sizeof w.v.tblname));
  l.addNvlist("addr", AddrList(w.v.a.addr));
  l.addNvlist("mask", AddrList(w.v.a.mask));
  return l;
}

static nv::List RuleAddrList(const pf_rule_addr& r) {  // pfctl_nv_add_rule_addr
  nv::List l;
  l.addNvlist("addr", AddrWrapList(r.addr));
  l.addNumberArray("port", {r.port[0], r.port[1]});  // raw network-order u16s, as libpfctl sends
  l.addNumber("neg", r.neg);
  l.addNumber("port_op", r.port_op);
  return l;
}

nv::List BuildStateKillRequest(const KillFilter& f, bool alwaysIncludeNat) {
  nv::List cmp;  // pfctl_nv_add_state_cmp
  cmp.addNumber("id", f.id);
  cmp.addNumber("creatorid", f.creatorid);
  cmp.addNumber("direction", f.direction);

  nv::List l;
  l.addNvlist("cmp", cmp);
  l.addNumber("af", f.af);
  // pf_nvint() reads the number as int64, so a negative proto travels sign-extended.
  l.addNumber("proto", static_cast<uint64_t>(static_cast<int64_t>(f.proto)));
  l.addNvlist("src", RuleAddrList(f.src));
  l.addNvlist("dst", RuleAddrList(f.dst));
  l.addNvlist("rt_addr", RuleAddrList(f.rt_addr));
  l.addString("ifname", Bounded(f.ifname, sizeof f.ifname));
  l.addString("label", Bounded(f.label, sizeof f.label));
  l.addBool("kill_match", f.kill_match);
  if (f.nat || alwaysIncludeNat) l.addBool("nat", f.nat);
  return l;
}

nv::List BuildStateKillRequest(const KillFilter& f) { return BuildStateKillRequest(f, false); }

// ---- parsing (the kernel's side, pf_nv.c helpers) -----------------------------------------------

namespace {

int Uint(const nv::List& l, const char* name, uint64_t max, uint64_t* out) {  // pf_nvuintN
  const uint64_t* v = l.number(name);
  if (!v) return EINVAL;
  if (*v > max) return ERANGE;
  *out = *v;
  return 0;
}

template <typename T>
int UintField(const nv::List& l, const char* name, uint64_t max, T* out) {
  uint64_t v;
  if (int e = Uint(l, name, max, &v)) return e;
  *out = static_cast<T>(v);
  return 0;
}

int IntField(const nv::List& l, const char* name, int* out) {  // pf_nvint: the number as int64
  const uint64_t* v = l.number(name);
  if (!v) return EINVAL;
  int64_t raw = static_cast<int64_t>(*v);
  if (raw > INT_MAX || raw < INT_MIN) return ERANGE;
  *out = static_cast<int>(raw);
  return 0;
}

int StringField(const nv::List& l, const char* name, char* dst, size_t max) {  // pf_nvstring
  const std::string* s = l.string(name);
  if (!s) return EINVAL;
  size_t n = s->size() < max ? s->size() : max - 1;  // strlcpy copies what fits, then we judge
  std::memcpy(dst, s->data(), n);
  dst[n] = 0;
  return s->size() >= max ? EINVAL : 0;
}

int AddrField(const nv::List& l, pf_addr* out) {  // pf_nvaddr_to_addr -> pf_nvbinary("addr", 16)
  std::memset(out, 0, sizeof *out);
  const std::vector<uint8_t>* b = l.binary("addr");
  if (!b) return EINVAL;
  if (b->size() > sizeof *out) return EINVAL;
  std::memcpy(out->a8, b->data(), b->size());
  return 0;
}

int AddrWrap(const nv::List& l, pf_addr_wrap* w) {  // pf_nvaddr_wrap_to_addr_wrap
  std::memset(w, 0, sizeof *w);
  if (int e = UintField(l, "type", 0xff, &w->type)) return e;
  if (int e = UintField(l, "iflags", 0xff, &w->iflags)) return e;
  if (w->type == kAddrDynIfTl)
    if (int e = StringField(l, "ifname", w->v.ifname, sizeof w->v.ifname)) return e;
  if (w->type == kAddrTable)
    if (int e = StringField(l, "tblname", w->v.tblname, sizeof w->v.tblname)) return e;
  // addr and mask share the union with ifname/tblname and are written after them, as in pf_nv.c.
  const nv::List* a = l.nvlist("addr");
  if (!a) return EINVAL;
  if (int e = AddrField(*a, &w->v.a.addr)) return e;
  const nv::List* m = l.nvlist("mask");
  if (!m) return EINVAL;
  if (int e = AddrField(*m, &w->v.a.mask)) return e;
  switch (w->type) {  // PF_ADDR_ADDRMASK..PF_ADDR_RANGE
    case 0: case 1: case 2: case 3: case 4: case 5: return 0;
    default: return EINVAL;
  }
}

int RuleAddr(const nv::List& l, pf_rule_addr* r) {  // pf_nvrule_addr_to_rule_addr
  const nv::List* a = l.nvlist("addr");
  if (!a) return EINVAL;
  if (int e = AddrWrap(*a, &r->addr)) return e;
  // pf_nvuint16_array(nvl, "port", addr->port, 2, NULL) in sys/netpfil/pf/pf_nv.c: the array is
  // zeroed, then up to 2 items are taken (1 leaves port[1] = 0); more is E2BIG, > 0xffff ERANGE.
  r->port[0] = r->port[1] = 0;
  const std::vector<uint64_t>* port = l.numberArray("port");
  if (!port) return EINVAL;
  if (port->size() > 2) return E2BIG;
  for (size_t i = 0; i < port->size(); i++) {
    if ((*port)[i] > 0xffff) return ERANGE;
    r->port[i] = static_cast<uint16_t>((*port)[i]);
  }
  if (int e = UintField(l, "neg", 0xff, &r->neg)) return e;
  if (int e = UintField(l, "port_op", 0xff, &r->port_op)) return e;
  return r->port_op <= kOpRrg ? 0 : EINVAL;  // pf_validate_op
}

}  // namespace

int ParseStateKillRequest(const nv::List& l, KillFilter* f) {  // pf_nvstate_kill_to_kstate_kill
  *f = KillFilter{};
  const nv::List* cmp = l.nvlist("cmp");
  if (!cmp) return EINVAL;
  if (int e = UintField(*cmp, "id", UINT64_MAX, &f->id)) return e;
  if (int e = UintField(*cmp, "creatorid", UINT32_MAX, &f->creatorid)) return e;
  if (int e = UintField(*cmp, "direction", 0xff, &f->direction)) return e;
  if (int e = UintField(l, "af", 0xff, &f->af)) return e;
  if (int e = IntField(l, "proto", &f->proto)) return e;
  const nv::List* src = l.nvlist("src");
  if (!src) return EINVAL;
  if (int e = RuleAddr(*src, &f->src)) return e;
  const nv::List* dst = l.nvlist("dst");
  if (!dst) return EINVAL;
  if (int e = RuleAddr(*dst, &f->dst)) return e;
  if (const nv::List* rt = l.nvlist("rt_addr"))
    if (int e = RuleAddr(*rt, &f->rt_addr)) return e;
  if (int e = StringField(l, "ifname", f->ifname, sizeof f->ifname)) return e;
  if (int e = StringField(l, "label", f->label, sizeof f->label)) return e;
  const bool* km = l.boolean("kill_match");
  if (!km) return EINVAL;
  f->kill_match = *km;
  if (const bool* nat = l.boolean("nat")) f->nat = *nat;
  return 0;
}

// ---- {killed} -------------------------------------------------------------------------------------

nv::List BuildKilledReply(uint32_t killed) {
  nv::List l;
  l.addNumber("killed", killed);
  return l;
}

int ParseKilledReply(const nv::List& l, uint32_t* killed) {
  return UintField(l, "killed", UINT32_MAX, killed);
}

// ---- status ----------------------------------------------------------------------------------------

StatusInfo DefaultStatusInfo() {
  StatusInfo s;
  s.counters.names = {"match",         "bad-offset",     "fragment",     "short",     "normalize", "memory",
                      "bad-timestamp", "congestion",     "ip-option",    "proto-cksum", "state-mismatch",
                      "state-insert",  "state-limit",    "src-limit",    "synproxy",  "map-failed"};
  s.lcounters.names = {"max states per rule", "max-src-states",           "max-src-nodes",
                       "max-src-conn",        "max-src-conn-rate",        "overload table insertion",
                       "overload flush states", "synfloods detected",     "syncookies sent",
                       "syncookies validated"};
  s.fcounters.names = {"searches", "inserts", "removals"};
  s.scounters.names = s.fcounters.names;  // the kernel labels src-node counters with these too
  for (StatusCounters* c : {&s.counters, &s.lcounters, &s.fcounters, &s.scounters})
    c->values.assign(c->names.size(), 0);
  return s;
}

static nv::List CounterList(const StatusCounters& c) {  // pf_add_status_counters
  nv::List l;
  size_t n = c.values.size();
  if (n == 0) return l;  // nothing appended, so no keys
  std::vector<uint64_t> ids(n);
  std::vector<std::string> names(n);
  for (size_t i = 0; i < n; i++) {
    ids[i] = i;
    names[i] = i < c.names.size() ? c.names[i] : std::string();
  }
  l.addNumberArray("counters", c.values);
  l.addStringArray("names", names);
  l.addNumberArray("ids", ids);
  return l;
}

nv::List BuildStatusReply(const StatusInfo& s) {
  nv::List l;
  l.addBool("running", s.running);
  l.addNumber("since", s.since);
  l.addNumber("debug", s.debug);
  l.addNumber("hostid", s.hostid);
  l.addNumber("states", s.states);
  l.addNumber("src_nodes", s.src_nodes);
  if (s.has_reass) {  // 14+ kernels only
    l.addNumber("reass", s.reass);
    l.addBool("syncookies_active", s.syncookies_active);
  }
  l.addNvlist("counters", CounterList(s.counters));
  l.addNvlist("lcounters", CounterList(s.lcounters));
  l.addNvlist("fcounters", CounterList(s.fcounters));
  l.addNvlist("scounters", CounterList(s.scounters));
  l.addString("ifname", s.ifname);
  l.addBinary("chksum", s.chksum.data(), s.chksum.size());
  l.addNumberArray("pcounters", std::vector<uint64_t>(s.pcounters.begin(), s.pcounters.end()));
  l.addNumberArray("bcounters", std::vector<uint64_t>(s.bcounters.begin(), s.bcounters.end()));
  return l;
}

static void ReadCounters(const nv::List& l, const char* name, StatusCounters* c) {
  *c = StatusCounters{};
  const nv::List* g = l.nvlist(name);
  if (!g) return;
  if (const auto* v = g->numberArray("counters")) c->values = *v;
  if (const nv::Pair* p = g->find("names", nv::Type::StringArray)) c->names = p->strs;
}

int ParseStatusReply(const nv::List& l, StatusInfo* s) {
  *s = StatusInfo{};
  const bool* running = l.boolean("running");
  if (!running) return EINVAL;
  s->running = *running;
  if (int e = UintField(l, "since", UINT64_MAX, &s->since)) return e;
  if (int e = UintField(l, "debug", UINT32_MAX, &s->debug)) return e;
  if (int e = UintField(l, "hostid", UINT32_MAX, &s->hostid)) return e;
  if (int e = UintField(l, "states", UINT32_MAX, &s->states)) return e;
  if (int e = UintField(l, "src_nodes", UINT32_MAX, &s->src_nodes)) return e;
  s->has_reass = l.number("reass") != nullptr;
  if (s->has_reass)
    if (int e = UintField(l, "reass", UINT32_MAX, &s->reass)) return e;
  if (const bool* sc = l.boolean("syncookies_active")) s->syncookies_active = *sc;
  ReadCounters(l, "counters", &s->counters);
  ReadCounters(l, "lcounters", &s->lcounters);
  ReadCounters(l, "fcounters", &s->fcounters);
  ReadCounters(l, "scounters", &s->scounters);
  if (const std::string* ifname = l.string("ifname")) s->ifname = *ifname;
  if (const auto* ck = l.binary("chksum"))
    std::memcpy(s->chksum.data(), ck->data(), ck->size() < 16 ? ck->size() : 16);
  if (const auto* pc = l.numberArray("pcounters"))
    for (size_t i = 0; i < pc->size() && i < 8; i++) s->pcounters[i] = (*pc)[i];
  if (const auto* bc = l.numberArray("bcounters"))
    for (size_t i = 0; i < bc->size() && i < 4; i++) s->bcounters[i] = (*bc)[i];
  return 0;
}

// ---- DIOCGETRULENV -----------------------------------------------------------------------------------

nv::List BuildGetRuleRequest(const GetRuleRequest& r) {  // libpfctl pfctl_get_clear_rule's keys
  nv::List l;
  l.addString("anchor", r.anchor);
  l.addNumber("ruleset", r.ruleset);
  l.addNumber("ticket", r.ticket);
  l.addNumber("nr", r.nr);
  return l;
}

int ParseGetRuleRequest(const nv::List& l, GetRuleRequest* r) {  // the DIOCGETRULENV handler's checks
  *r = GetRuleRequest{};
  const std::string* anchor = l.string("anchor");
  if (!anchor || !l.number("ruleset") || !l.number("ticket") || !l.number("nr")) return EBADMSG;
  r->anchor = *anchor;
  r->ruleset = uint32_t(*l.number("ruleset"));
  r->ticket = uint32_t(*l.number("ticket"));
  r->nr = uint32_t(*l.number("nr"));
  return 0;
}

nv::List BuildGetRuleReply(uint32_t nr, const std::vector<std::string>& labels) {
  // pf_krule_to_nvrule appends all PF_RULE_MAX_LABEL_COUNT labels, empty ones included.
  std::vector<std::string> five(5);
  for (size_t i = 0; i < labels.size() && i < 5; i++) five[i] = labels[i];
  nv::List rule;
  rule.addNumber("nr", nr);
  rule.addStringArray("labels", five);
  rule.addNumber("action", kPfPass);
  nv::List l;
  l.addNumber("nr", nr);
  l.addNvlist("rule", rule);
  l.addString("anchor_call", "");
  return l;
}

int ParseGetRuleReply(const nv::List& l, std::vector<std::string>* labels) {
  labels->clear();
  const nv::List* rule = l.nvlist("rule");
  if (!rule) return EINVAL;
  if (const nv::Pair* p = rule->find("labels", nv::Type::StringArray)) {
    if (p->strs.size() > size_t(kMaxRuleLabels)) return EINVAL;
    for (const std::string& s : p->strs)
      if (!s.empty()) labels->push_back(s);
  } else if (const std::string* one = rule->string("label")) {
    if (!one->empty()) labels->push_back(*one);
  }
  for (const std::string& s : *labels)
    if (s.size() >= size_t(kRuleLabelSize)) return EINVAL;
  return 0;
}

}  // namespace pf
