// JS object conversions for KillFilter and StatusInfo (shapes in nv_requests_js.h).
#include "pf/nv_requests_js.h"

#include <cerrno>
#include <cstring>

#include "common/errors.h"
#include "pf/nvlist_content.h"

namespace sk {

namespace {

[[noreturn]] void Bad(Napi::Env env, const std::string& what) {
  throw Error(env, EINVAL, "filter " + what, "EINVAL");
}

uint64_t Field(const Napi::Object& o, const char* name, uint64_t max, const std::string& path) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return 0;
  uint64_t n = U64FromJs(v, path + "." + name);
  if (n > max) Bad(o.Env(), path + "." + name + " is out of range");
  return n;
}

std::string Text(const Napi::Object& o, const char* name, size_t max, const std::string& path) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return "";
  if (!v.IsString()) Bad(o.Env(), path + "." + name + " must be a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.size() >= max) Bad(o.Env(), path + "." + name + " is too long");
  return s;
}

bool Flag(const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  return !v.IsUndefined() && v.ToBoolean().Value();
}

void AddrFromHex(const Napi::Object& o, const char* name, pf::pf_addr* out, const std::string& path) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return;
  std::vector<uint8_t> b = BytesFromHex(v, path + "." + name);
  if (b.size() > 16) Bad(o.Env(), path + "." + name + " is longer than 16 bytes");
  std::memcpy(out->a8, b.data(), b.size());
}

pf::pf_rule_addr RuleAddrFromJs(const Napi::Object& parent, const char* name) {
  pf::pf_rule_addr r{};
  Napi::Value v = parent.Get(name);
  if (v.IsUndefined()) return r;
  if (!v.IsObject()) Bad(parent.Env(), std::string(name) + " must be an object");
  Napi::Object o = v.As<Napi::Object>();
  r.addr.type = static_cast<uint8_t>(Field(o, "type", 0xff, name));
  r.addr.iflags = static_cast<uint8_t>(Field(o, "iflags", 0xff, name));
  AddrFromHex(o, "addr", &r.addr.v.a.addr, name);
  AddrFromHex(o, "mask", &r.addr.v.a.mask, name);
  // ifname / tblname share the union with addr/mask, exactly as in struct pf_addr_wrap.
  if (o.Has("ifname")) {
    std::string s = Text(o, "ifname", sizeof r.addr.v.ifname, name);
    std::memset(r.addr.v.ifname, 0, sizeof r.addr.v.ifname);
    std::memcpy(r.addr.v.ifname, s.data(), s.size());
  }
  if (o.Has("tblname")) {
    std::string s = Text(o, "tblname", sizeof r.addr.v.tblname, name);
    std::memset(r.addr.v.tblname, 0, sizeof r.addr.v.tblname);
    std::memcpy(r.addr.v.tblname, s.data(), s.size());
  }
  Napi::Value port = o.Get("port");
  if (!port.IsUndefined()) {
    if (!port.IsArray() || port.As<Napi::Array>().Length() != 2) Bad(o.Env(), std::string(name) + ".port must be [p0, p1]");
    for (uint32_t i = 0; i < 2; i++) {
      uint64_t p = U64FromJs(port.As<Napi::Array>().Get(i), std::string(name) + ".port");
      if (p > 0xffff) Bad(o.Env(), std::string(name) + ".port is out of range");
      r.port[i] = static_cast<uint16_t>(p);
    }
  }
  r.neg = static_cast<uint8_t>(Field(o, "neg", 0xff, name));
  r.port_op = static_cast<uint8_t>(Field(o, "port_op", 0xff, name));
  return r;
}

Napi::Object RuleAddrToJs(Napi::Env env, const pf::pf_rule_addr& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("type", r.addr.type);
  o.Set("iflags", r.addr.iflags);
  o.Set("addr", HexOf(r.addr.v.a.addr.a8, 16));
  o.Set("mask", HexOf(r.addr.v.a.mask.a8, 16));
  Napi::Array port = Napi::Array::New(env, 2);
  port.Set(0u, r.port[0]);
  port.Set(1u, r.port[1]);
  o.Set("port", port);
  o.Set("neg", r.neg);
  o.Set("port_op", r.port_op);
  return o;
}

}  // namespace

Napi::Object KillFilterToJs(Napi::Env env, const pf::KillFilter& f) {
  Napi::Object o = Napi::Object::New(env);
  char id[17];
  snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(f.id));
  o.Set("id", std::string(id));
  o.Set("creatorid", f.creatorid);
  o.Set("direction", f.direction);
  o.Set("af", f.af);
  o.Set("proto", f.proto);
  o.Set("src", RuleAddrToJs(env, f.src));
  o.Set("dst", RuleAddrToJs(env, f.dst));
  o.Set("rt_addr", RuleAddrToJs(env, f.rt_addr));
  o.Set("ifname", std::string(f.ifname, strnlen(f.ifname, sizeof f.ifname)));
  o.Set("label", std::string(f.label, strnlen(f.label, sizeof f.label)));
  o.Set("kill_match", f.kill_match);
  o.Set("nat", f.nat);
  return o;
}

pf::KillFilter KillFilterFromJs(const Napi::Value& v) {
  if (!v.IsObject()) Bad(v.Env(), "must be an object");
  Napi::Object o = v.As<Napi::Object>();
  pf::KillFilter f;
  Napi::Value id = o.Get("id");
  if (!id.IsUndefined()) {
    std::vector<uint8_t> b = BytesFromHex(id, "filter.id");
    if (b.size() != 8) Bad(v.Env(), "id must be 16 hex digits");
    for (uint8_t x : b) f.id = f.id << 8 | x;
  }
  f.creatorid = static_cast<uint32_t>(Field(o, "creatorid", UINT32_MAX, "filter"));
  f.direction = static_cast<uint8_t>(Field(o, "direction", 0xff, "filter"));
  f.af = static_cast<uint8_t>(Field(o, "af", 0xff, "filter"));
  Napi::Value proto = o.Get("proto");
  if (!proto.IsUndefined()) {
    if (!proto.IsNumber()) Bad(v.Env(), "proto must be a number");
    f.proto = proto.As<Napi::Number>().Int32Value();
  }
  f.src = RuleAddrFromJs(o, "src");
  f.dst = RuleAddrFromJs(o, "dst");
  f.rt_addr = RuleAddrFromJs(o, "rt_addr");
  std::string ifname = Text(o, "ifname", sizeof f.ifname, "filter");
  std::memcpy(f.ifname, ifname.data(), ifname.size());
  std::string label = Text(o, "label", sizeof f.label, "filter");
  std::memcpy(f.label, label.data(), label.size());
  f.kill_match = Flag(o, "kill_match");
  f.nat = Flag(o, "nat");
  return f;
}

namespace {

Napi::Object CountersToJs(Napi::Env env, const pf::StatusCounters& c) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Array values = Napi::Array::New(env, c.values.size());
  for (size_t i = 0; i < c.values.size(); i++) values.Set(static_cast<uint32_t>(i), std::to_string(c.values[i]));
  Napi::Array names = Napi::Array::New(env, c.names.size());
  for (size_t i = 0; i < c.names.size(); i++) names.Set(static_cast<uint32_t>(i), c.names[i]);
  o.Set("values", values);
  o.Set("names", names);
  return o;
}

void CountersFromJs(const Napi::Object& o, const char* name, pf::StatusCounters* c) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return;
  if (!v.IsObject()) Bad(o.Env(), std::string("status.") + name + " must be {values, names}");
  Napi::Object g = v.As<Napi::Object>();
  Napi::Value values = g.Get("values"), names = g.Get("names");
  if (!values.IsUndefined()) {
    if (!values.IsArray()) Bad(o.Env(), std::string("status.") + name + ".values must be an array");
    c->values.clear();
    Napi::Array a = values.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) c->values.push_back(U64FromJs(a.Get(i), std::string("status.") + name));
  }
  if (!names.IsUndefined()) {
    if (!names.IsArray()) Bad(o.Env(), std::string("status.") + name + ".names must be an array");
    c->names.clear();
    Napi::Array a = names.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) c->names.push_back(a.Get(i).ToString().Utf8Value());
  }
}

}  // namespace

Napi::Object StatusToJs(Napi::Env env, const pf::StatusInfo& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("running", s.running);
  o.Set("since", std::to_string(s.since));
  o.Set("debug", s.debug);
  o.Set("hostid", s.hostid);
  o.Set("states", s.states);
  o.Set("src_nodes", s.src_nodes);
  o.Set("has_reass", s.has_reass);
  o.Set("reass", s.reass);
  o.Set("syncookies_active", s.syncookies_active);
  o.Set("counters", CountersToJs(env, s.counters));
  o.Set("lcounters", CountersToJs(env, s.lcounters));
  o.Set("fcounters", CountersToJs(env, s.fcounters));
  o.Set("scounters", CountersToJs(env, s.scounters));
  o.Set("ifname", s.ifname);
  o.Set("chksum", HexOf(s.chksum.data(), s.chksum.size()));
  Napi::Array pc = Napi::Array::New(env, 8), bc = Napi::Array::New(env, 4);
  for (uint32_t i = 0; i < 8; i++) pc.Set(i, std::to_string(s.pcounters[i]));
  for (uint32_t i = 0; i < 4; i++) bc.Set(i, std::to_string(s.bcounters[i]));
  o.Set("pcounters", pc);
  o.Set("bcounters", bc);
  return o;
}

pf::StatusInfo StatusFromJs(const Napi::Value& v) {
  if (!v.IsObject()) throw Error(v.Env(), EINVAL, "status must be an object", "EINVAL");
  Napi::Object o = v.As<Napi::Object>();
  pf::StatusInfo s = pf::DefaultStatusInfo();
  s.running = Flag(o, "running");
  s.since = Field(o, "since", UINT64_MAX, "status");
  s.debug = static_cast<uint32_t>(Field(o, "debug", UINT32_MAX, "status"));
  s.hostid = static_cast<uint32_t>(Field(o, "hostid", UINT32_MAX, "status"));
  s.states = static_cast<uint32_t>(Field(o, "states", UINT32_MAX, "status"));
  s.src_nodes = static_cast<uint32_t>(Field(o, "src_nodes", UINT32_MAX, "status"));
  if (o.Has("has_reass")) s.has_reass = Flag(o, "has_reass");
  s.reass = static_cast<uint32_t>(Field(o, "reass", UINT32_MAX, "status"));
  s.syncookies_active = Flag(o, "syncookies_active");
  CountersFromJs(o, "counters", &s.counters);
  CountersFromJs(o, "lcounters", &s.lcounters);
  CountersFromJs(o, "fcounters", &s.fcounters);
  CountersFromJs(o, "scounters", &s.scounters);
  if (o.Has("ifname")) s.ifname = Text(o, "ifname", 16, "status");
  if (o.Has("chksum")) {
    std::vector<uint8_t> b = BytesFromHex(o.Get("chksum"), "status.chksum");
    if (b.size() != 16) Bad(v.Env(), "status.chksum must be 16 bytes");
    std::memcpy(s.chksum.data(), b.data(), 16);
  }
  auto arr = [&](const char* name, uint64_t* out, uint32_t n) {
    Napi::Value a = o.Get(name);
    if (a.IsUndefined()) return;
    if (!a.IsArray() || a.As<Napi::Array>().Length() != n)
      Bad(v.Env(), std::string("status.") + name + " must have " + std::to_string(n) + " items");
    for (uint32_t i = 0; i < n; i++) out[i] = U64FromJs(a.As<Napi::Array>().Get(i), std::string("status.") + name);
  };
  arr("pcounters", s.pcounters.data(), 8);
  arr("bcounters", s.bcounters.data(), 4);
  return s;
}

}  // namespace sk
