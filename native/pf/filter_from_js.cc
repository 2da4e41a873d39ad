#include "pf/filter_from_js.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>

#include "common/errors.h"

namespace pf {

static void RuleAddrFromJs(const Napi::Env& env, const Napi::Value& v, const char* what, pf_rule_addr* ra) {
  if (v.IsUndefined() || v.IsNull()) return;
  if (!v.IsObject()) throw sk::Error(env, EINVAL, std::string(what) + " must be an object", "E_BAD_INPUT");
  Napi::Object o = v.As<Napi::Object>();
  ra->addr.type = kAddrAddrMask;
  for (const char* part : {"addr", "mask"}) {
    Napi::Value b = o.Get(part);
    if (b.IsUndefined()) continue;
    size_t len;
    uint8_t* p = sk::TypedArrayBytes(b, what, &len);
    if (len != 16) throw sk::Error(env, EINVAL, std::string(what) + "." + part + " must be 16 bytes", "E_BAD_INPUT");
    std::memcpy(part[0] == 'a' ? &ra->addr.v.a.addr : &ra->addr.v.a.mask, p, 16);
  }
  ra->neg = o.Get("neg").ToBoolean() ? 1 : 0;
  Napi::Value op = o.Get("portOp");
  if (!op.IsUndefined()) {
    uint32_t n = op.ToNumber().Uint32Value();
    if (n > kOpRrg) throw sk::Error(env, EINVAL, std::string(what) + ".portOp out of range", "E_BAD_INPUT");
    ra->port_op = uint8_t(n);
  }
  Napi::Value ports = o.Get("ports");
  if (ports.IsArray()) {
    Napi::Array a = ports.As<Napi::Array>();
    for (uint32_t i = 0; i < 2 && i < a.Length(); i++) {
      uint32_t p = a.Get(i).ToNumber().Uint32Value();
      if (p > 65535) throw sk::Error(env, EINVAL, std::string(what) + ".ports out of range", "E_BAD_INPUT");
      ra->port[i] = htons(uint16_t(p));
    }
  }
}

static void CopyName(const Napi::Env& env, const Napi::Value& v, char* dst, size_t n, const char* what) {
  if (v.IsUndefined() || v.IsNull()) return;
  std::string s = v.ToString().Utf8Value();
  if (s.size() >= n)
    throw sk::Error(env, EINVAL, std::string(what) + " '" + s + "' is longer than " + std::to_string(n - 1) + " bytes",
                    "E_BAD_INPUT");
  std::memcpy(dst, s.c_str(), s.size() + 1);
}

KillFilter KillFilterFromJs(const Napi::Object& o) {
  Napi::Env env = o.Env();
  KillFilter f;
  Napi::Value id = o.Get("id");
  if (id.IsBigInt()) {
    bool lossless;
    f.id = id.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  if (o.Get("creatorid").IsNumber()) f.creatorid = o.Get("creatorid").ToNumber().Uint32Value();
  if (o.Get("af").IsNumber()) {
    uint32_t af = o.Get("af").ToNumber().Uint32Value();
    if (af != 0 && af != kAfInet && af != kAfInet6) throw sk::Error(env, EINVAL, "af must be 0, 2 or 28", "E_BAD_INPUT");
    f.af = uint8_t(af);
  }
  if (o.Get("proto").IsNumber()) f.proto = o.Get("proto").ToNumber().Int32Value();
  RuleAddrFromJs(env, o.Get("src"), "src", &f.src);
  RuleAddrFromJs(env, o.Get("dst"), "dst", &f.dst);
  RuleAddrFromJs(env, o.Get("rtAddr"), "rtAddr", &f.rt_addr);
  CopyName(env, o.Get("ifname"), f.ifname, sizeof f.ifname, "ifname");
  CopyName(env, o.Get("label"), f.label, sizeof f.label, "label");
  f.kill_match = o.Get("killMatch").ToBoolean();
  f.nat = o.Get("nat").ToBoolean();
  return f;
}

}  // namespace pf
