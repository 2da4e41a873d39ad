// JS surface of the nvlist codec and pf's NV request/reply shapes (typed in src/native/types-nvlist.ts).
#include <cerrno>
#include <cstring>

#include "../modules.h"
#include "common/errors.h"
#include "pf/nv_requests.h"
#include "pf/nv_requests_js.h"
#include "pf/nvlist.h"
#include "pf/nvlist_content.h"

namespace sk {

namespace {

bool OptFlag(const Napi::Value& opts, const char* name) {
  if (!opts.IsObject()) return false;
  Napi::Value v = opts.As<Napi::Object>().Get(name);
  return !v.IsUndefined() && v.ToBoolean().Value();
}

nv::PackOptions PackOpts(const Napi::Value& opts) {
  nv::PackOptions o;
  o.bigEndian = OptFlag(opts, "bigEndian");
  o.legacyNestedSize = OptFlag(opts, "legacyNestedSize");
  return o;
}

Napi::Uint8Array ToBytes(Napi::Env env, const std::vector<uint8_t>& v) {
  Napi::Uint8Array a = Napi::Uint8Array::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size());
  return a;
}

std::vector<uint8_t> Pack(Napi::Env env, const nv::List& l, const nv::PackOptions& o) {
  if (l.error() != 0) throw Error(env, l.error(), "nvlist: cannot pack a list in error");
  return l.pack(o);
}

// Unpacks or throws StatekillError carrying libnv's errno and what was wrong where.
nv::List Unpack(const Napi::Value& bytes, int flags, const nv::UnpackOptions& o, const char* fn) {
  size_t len;
  const uint8_t* buf = TypedArrayBytes(bytes, fn, &len);
  nv::List l;
  nv::UnpackError why;
  if (nv::List::unpack(buf, len, flags, &l, &why, o) != 0) throw Error(bytes.Env(), why.err, why.message);
  return l;
}

Napi::Value NvPack(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1, "nvPack");
  nv::List l = ListFromContent(info[0]);
  if (info.Length() > 1 && info[1].IsObject() && info[1].As<Napi::Object>().Has("flags")) {
    uint64_t f = U64FromJs(info[1].As<Napi::Object>().Get("flags"), "opts.flags");
    if (f & ~uint64_t{3}) throw Error(info.Env(), EINVAL, "nvPack: flags may only hold 0x01 and 0x02");
    l.flags = static_cast<uint8_t>(f);
  }
  return ToBytes(info.Env(), Pack(info.Env(), l, PackOpts(info.Length() > 1 ? info[1] : info.Env().Undefined())));
}

Napi::Value NvUnpack(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1, "nvUnpack");
  int flags = 0;
  nv::UnpackOptions o;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object opts = info[1].As<Napi::Object>();
    if (opts.Has("flags")) flags = static_cast<int>(U64FromJs(opts.Get("flags"), "opts.flags") & 0xff);
    o.swapForeignNitems = OptFlag(opts, "swapForeignNitems");
  }
  return ListToContent(info.Env(), Unpack(info[0], flags, o, "nvUnpack: bytes"));
}

// The kernel's view of a kill/clear request: unpack as nvlist_unpack(buf, len, 0), then
// pf_nvstate_kill_to_kstate_kill. Failures are results, not exceptions: an unpack failure is what
// the ioctl reports as EBADMSG (libnv's own errno in unpackErrno), a parse failure its errno.
Napi::Value NvKillRequestFromContent(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1, "nvKillRequestFromContent");
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  nv::List l;
  if (info[0].IsTypedArray()) {
    size_t len;
    const uint8_t* buf = TypedArrayBytes(info[0], "nvKillRequestFromContent: bytes", &len);
    nv::UnpackError why;
    if (nv::List::unpack(buf, len, 0, &l, &why) != 0) {
      r.Set("ok", false);
      r.Set("errno", EBADMSG);
      r.Set("stage", "unpack");
      r.Set("unpackErrno", why.err);
      r.Set("message", why.message);
      return r;
    }
  } else {
    l = ListFromContent(info[0]);
  }
  pf::KillFilter f;
  int err = pf::ParseStateKillRequest(l, &f);
  if (err != 0) {
    r.Set("ok", false);
    r.Set("errno", err);
    r.Set("stage", "parse");
    r.Set("message", std::string("pf_nvstate_kill_to_kstate_kill: ") + strerror(err));
    return r;
  }
  r.Set("ok", true);
  r.Set("errno", 0);
  r.Set("filter", KillFilterToJs(env, f));
  return r;
}

Napi::Value NvBuildKillRequest(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1, "nvBuildKillRequest");
  Napi::Value opts = info.Length() > 1 ? info[1] : info.Env().Undefined();
  nv::List l = pf::BuildStateKillRequest(KillFilterFromJs(info[0]), OptFlag(opts, "alwaysIncludeNat"));
  return ToBytes(info.Env(), Pack(info.Env(), l, PackOpts(opts)));
}

Napi::Value NvBuildKilledReply(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1, "nvBuildKilledReply");
  uint64_t n = U64FromJs(info[0], "killed");
  if (n > UINT32_MAX) throw Error(info.Env(), ERANGE, "nvBuildKilledReply: killed does not fit u32");
  Napi::Value opts = info.Length() > 1 ? info[1] : info.Env().Undefined();
  return ToBytes(info.Env(), Pack(info.Env(), pf::BuildKilledReply(static_cast<uint32_t>(n)), PackOpts(opts)));
}

Napi::Value NvParseKilledReply(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1, "nvParseKilledReply");
  nv::List l = Unpack(info[0], 0, {}, "nvParseKilledReply: bytes");
  uint32_t killed;
  if (int e = pf::ParseKilledReply(l, &killed)) throw Error(info.Env(), e, "nvParseKilledReply: no u32 'killed'");
  return Napi::Number::New(info.Env(), killed);
}

Napi::Value NvBuildStatusReply(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1, "nvBuildStatusReply");
  Napi::Value opts = info.Length() > 1 ? info[1] : info.Env().Undefined();
  return ToBytes(info.Env(), Pack(info.Env(), pf::BuildStatusReply(StatusFromJs(info[0])), PackOpts(opts)));
}

Napi::Value NvParseStatusReply(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1, "nvParseStatusReply");
  nv::List l = Unpack(info[0], 0, {}, "nvParseStatusReply: bytes");
  pf::StatusInfo s;
  if (int e = pf::ParseStatusReply(l, &s))
    throw Error(info.Env(), e, "nvParseStatusReply: a required key is missing, mistyped or out of range");
  return StatusToJs(info.Env(), s);
}

Napi::Value NvDefaultStatus(const Napi::CallbackInfo& info) {
  return StatusToJs(info.Env(), pf::DefaultStatusInfo());
}

}  // namespace

void InitNvlist(Napi::Env env, Napi::Object exports) {
  exports.Set("nvPack", Napi::Function::New(env, NvPack, "nvPack"));
  exports.Set("nvUnpack", Napi::Function::New(env, NvUnpack, "nvUnpack"));
  exports.Set("nvKillRequestFromContent", Napi::Function::New(env, NvKillRequestFromContent, "nvKillRequestFromContent"));
  exports.Set("nvBuildKillRequest", Napi::Function::New(env, NvBuildKillRequest, "nvBuildKillRequest"));
  exports.Set("nvBuildKilledReply", Napi::Function::New(env, NvBuildKilledReply, "nvBuildKilledReply"));
  exports.Set("nvParseKilledReply", Napi::Function::New(env, NvParseKilledReply, "nvParseKilledReply"));
  exports.Set("nvBuildStatusReply", Napi::Function::New(env, NvBuildStatusReply, "nvBuildStatusReply"));
  exports.Set("nvParseStatusReply", Napi::Function::New(env, NvParseStatusReply, "nvParseStatusReply"));
  exports.Set("nvDefaultStatus", Napi::Function::New(env, NvDefaultStatus, "nvDefaultStatus"));
}

}  // namespace sk
