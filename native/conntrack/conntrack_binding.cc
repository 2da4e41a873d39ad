// N-API glue for the conntrack module: argument checks, typed arrays in and out, errors as
// StatekillError. Kernel work lives in ctnetlink.cc, selection in select.cc.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "../common/errors.h"
#include "../modules.h"
#include "ctnetlink.h"
#include "record.h"
#include "select.h"

namespace sk {
namespace {

[[noreturn]] void Bad(Napi::Env env, const std::string& m) { throw Error(env, EINVAL, m, "EINVAL"); }

[[noreturn]] void BadInput(Napi::Env env, const std::string& m) { throw Error(env, EINVAL, m, "E_BAD_INPUT"); }

// A mark selector is exact or refused, on every path: value bits outside the mask could never
// match (a silent miss, or, masked away, a much wider kill), and mask 0 matches every entry.
void CheckMark(Napi::Env env, uint32_t value, uint32_t mask, const std::string& what) {
  if (mask == 0) BadInput(env, what + ": mask 0 matches every entry");
  if ((value & ~mask) != 0) {
    char buf[96];
    std::snprintf(buf, sizeof buf, ": value 0x%x has bits outside mask 0x%x; it can never match", value, mask);
    BadInput(env, what + buf);
  }
}

int FdArg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (!info[i].IsNumber()) Bad(info.Env(), std::string(fn) + ": handle must be a number");
  int fd = info[i].As<Napi::Number>().Int32Value();
  if (fd < 0) Bad(info.Env(), std::string(fn) + ": closed handle");
  return fd;
}

// `code`: EINVAL for the addon's own arguments, E_BAD_INPUT for a selection's values (SpecU32).
uint32_t U32(const Napi::Value& v, const std::string& what, const char* code = "EINVAL") {
  if (!v.IsNumber()) throw Error(v.Env(), EINVAL, what + " must be a number", code);
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d)))
    throw Error(v.Env(), EINVAL, what + " must be an integer 0..0xffffffff", code);
  return static_cast<uint32_t>(d);
}

size_t Records(const Napi::Value& v, const char* what, uint8_t** data) {
  size_t len;
  *data = TypedArrayBytes(v, what, &len);
  return len / ct::kStride;
}

Napi::Value Open(const Napi::CallbackInfo& info) {
  std::string ns;
  if (info.Length() > 0 && info[0].IsString()) ns = info[0].As<Napi::String>().Utf8Value();
  else if (info.Length() > 0 && !info[0].IsUndefined() && !info[0].IsNull()) Bad(info.Env(), "ctOpen: netns must be a string");
  return Napi::Number::New(info.Env(), Guard(info.Env(), [&] { return ct::Open(ns); }));
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1, "ctClose");
  if (info[0].IsNumber()) ct::Close(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Value Count(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1, "ctCount");
  int fd = FdArg(info, 0, "ctCount");
  return Napi::Number::New(info.Env(), Guard(info.Env(), [&] { return ct::Count(fd); }));
}

// ctDump(fd, bytes, {af?, mark?, mask?, zone?}) -> {count, total}
Napi::Value Dump(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2, "ctDump");
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0, "ctDump");
  uint8_t* out;
  size_t cap = Records(info[1], "ctDump: bytes", &out);
  ct::DumpFilter f;
  if (info.Length() > 2 && info[2].IsObject()) {
    auto o = info[2].As<Napi::Object>();
    if (o.Has("af") && !o.Get("af").IsUndefined()) {
      uint32_t af = U32(o.Get("af"), "ctDump: af");
      if (af != 0 && af != 4 && af != 6) Bad(env, "ctDump: af must be 4 or 6");
      f.af = static_cast<uint8_t>(af);
    }
    bool hasMark = o.Has("mark") && !o.Get("mark").IsUndefined();
    if (hasMark) {
      f.hasMark = true;
      f.mark = U32(o.Get("mark"), "ctDump: mark");
      f.mask = o.Has("mask") && !o.Get("mask").IsUndefined() ? U32(o.Get("mask"), "ctDump: mask") : 0xffffffffu;
      if ((f.mark & ~f.mask) != 0) CheckMark(env, f.mark, f.mask, "ctDump: mark filter");
    }
    if (o.Has("zone") && !o.Get("zone").IsUndefined()) {
      uint32_t z = U32(o.Get("zone"), "ctDump: zone");
      if (z > 65535) Bad(env, "ctDump: zone must be 0..65535");
      f.hasZone = true;
      f.zone = static_cast<uint16_t>(z);
    }
  }
  ct::DumpResult r = Guard(env, [&] { return ct::Dump(fd, out, cap, f); });
  auto res = Napi::Object::New(env);
  res.Set("count", Napi::Number::New(env, static_cast<double>(r.written)));
  res.Set("total", Napi::Number::New(env, static_cast<double>(r.total)));
  return res;
}

size_t BatchArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return 512;
  uint32_t b = U32(info[i], "batch");
  if (b < 1 || b > 8192) Bad(info.Env(), "batch must be 1..8192");
  return b;
}

ct::Spec ParseSpec(Napi::Env env, const Napi::Value& v);

// Selections to re-check each entry against before it is deleted (undefined: the record's own
// selecting fields); at most 32, like ctSelect.
std::vector<ct::Spec> SpecsArg(Napi::Env env, const Napi::Value& v, const char* fn) {
  std::vector<ct::Spec> specs;
  if (v.IsUndefined() || v.IsNull()) return specs;
  if (!v.IsArray()) Bad(env, std::string(fn) + ": specs must be an array");
  auto arr = v.As<Napi::Array>();
  if (arr.Length() == 0) BadInput(env, std::string(fn) + ": an empty list of selections selects nothing; pass none to re-check the records themselves");
  if (arr.Length() > 32) Bad(env, std::string(fn) + ": at most 32 selections (one mask bit each)");
  for (uint32_t i = 0; i < arr.Length(); i++) specs.push_back(ParseSpec(env, arr.Get(i)));
  return specs;
}

// ctDelete(fd, bytes, indices: Int32Array, out: Int32Array, batch?, specs?)
Napi::Value Delete(const Napi::CallbackInfo& info) {
  RequireArgs(info, 4, "ctDelete");
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0, "ctDelete");
  uint8_t* recs;
  size_t nrec = Records(info[1], "ctDelete: bytes", &recs);
  size_t n, nout;
  int32_t* idx = TypedArrayOf<int32_t>(info[2], napi_int32_array, "ctDelete: indices", &n);
  int32_t* out = TypedArrayOf<int32_t>(info[3], napi_int32_array, "ctDelete: out", &nout);
  if (nout < n) Bad(env, "ctDelete: out is shorter than indices");
  // Check every index before sending anything: no half-done batch on bad input.
  for (size_t i = 0; i < n; i++)
    if (idx[i] < 0 || static_cast<size_t>(idx[i]) >= nrec) Bad(env, "ctDelete: index " + std::to_string(idx[i]) + " is outside the snapshot");
  size_t batch = BatchArg(info, 4);
  std::vector<ct::Spec> specs = SpecsArg(env, info.Length() > 5 ? info[5] : env.Undefined(), "ctDelete");
  Guard(env, [&] { ct::Delete(fd, recs, idx, n, out, batch, specs); return 0; });
  return env.Undefined();
}

// ctInsert(fd, bytes, count, out: Int32Array, batch?) -> created
Napi::Value Insert(const Napi::CallbackInfo& info) {
  RequireArgs(info, 4, "ctInsert");
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0, "ctInsert");
  uint8_t* recs;
  size_t nrec = Records(info[1], "ctInsert: bytes", &recs);
  size_t n = U32(info[2], "ctInsert: count"), nout;
  int32_t* out = TypedArrayOf<int32_t>(info[3], napi_int32_array, "ctInsert: out", &nout);
  if (n > nrec || nout < n) Bad(env, "ctInsert: count exceeds the records or the out array");
  for (size_t i = 0; i < n; i++) {
    uint8_t af = recs[i * ct::kStride + ct::kAf];
    if (af != 4 && af != 6) Bad(env, "ctInsert: record " + std::to_string(i) + " has no family (4 or 6)");
  }
  size_t batch = BatchArg(info, 4);
  Guard(env, [&] { ct::Insert(fd, recs, n, out, batch); return 0; });
  size_t created = 0;
  for (size_t i = 0; i < n; i++) created += out[i] == 0;
  return Napi::Number::New(env, static_cast<double>(created));
}

Napi::Value FlushAll(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1, "ctFlushAll");
  int fd = FdArg(info, 0, "ctFlushAll");
  Guard(info.Env(), [&] { ct::FlushAll(fd); return 0; });
  return info.Env().Undefined();
}

[[noreturn]] void Unsafe(Napi::Env env, const std::string& m) { throw Error(env, EINVAL, m, "E_UNSAFE_FILTER"); }

// ctFlushMark(fd, mark, mask): both are required; refusing here is the guard against a full flush.
Napi::Value FlushMark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || info[1].IsUndefined() || info[2].IsUndefined() || info[1].IsNull() || info[2].IsNull())
    Unsafe(env, "refusing a kernel-filtered delete: mark and mask are both required (a tuple-less delete without them flushes everything)");
  int fd = FdArg(info, 0, "ctFlushMark");
  uint32_t mark = U32(info[1], "ctFlushMark: mark"), mask = U32(info[2], "ctFlushMark: mask");
  if (mask == 0) Unsafe(env, "refusing a kernel-filtered delete: mask 0 matches every entry (a full flush)");
  CheckMark(env, mark, mask, "ctFlushMark");
  Guard(env, [&] { ct::FlushMark(fd, mark, mask); return 0; });
  return env.Undefined();
}

// ctFlushReplyDst(fd, af, addr16)
Napi::Value FlushReplyDst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[2].IsTypedArray()) Unsafe(env, "refusing a kernel-filtered delete: no reply destination address");
  int fd = FdArg(info, 0, "ctFlushReplyDst");
  uint32_t af = U32(info[1], "ctFlushReplyDst: af");
  size_t len;
  uint8_t* addr = TypedArrayBytes(info[2], "ctFlushReplyDst: addr", &len);
  if (len != 16) Bad(env, "ctFlushReplyDst: addr must be 16 bytes");
  if (af != 4 && af != 6) Unsafe(env, "refusing a kernel-filtered delete: the reply destination needs af 4 or 6");
  Guard(env, [&] { ct::FlushReplyDst(fd, static_cast<uint8_t>(af), addr); return 0; });
  return env.Undefined();
}

// ctKernelFilterRefusal(release, kind, mask?) -> reason string, or null when the kernel honours it
Napi::Value KernelFilterRefusal(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2, "ctKernelFilterRefusal");
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsString()) Bad(env, "ctKernelFilterRefusal: release and kind must be strings");
  bool hasMask = info.Length() > 2 && !info[2].IsUndefined();
  uint32_t mask = hasMask ? U32(info[2], "ctKernelFilterRefusal: mask") : 0;
  std::string why = ct::KernelFilterRefusal(info[0].As<Napi::String>(), info[1].As<Napi::String>(), hasMask, mask);
  return why.empty() ? env.Null() : Napi::String::New(env, why);
}

Napi::Value KernelRelease(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), ct::KernelRelease()); }

// ctProbeKernelFilter(kind, af?) -> null when the kernel selected exactly in a throwaway netns, else why not
Napi::Value ProbeKernelFilter(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1, "ctProbeKernelFilter");
  Napi::Env env = info.Env();
  if (!info[0].IsString()) Bad(env, "ctProbeKernelFilter: kind must be a string");
  uint32_t af = info.Length() > 1 && !info[1].IsUndefined() ? U32(info[1], "ctProbeKernelFilter: af") : 0;
  if (af > 255) Bad(env, "ctProbeKernelFilter: af must be 4 or 6");
  std::string why = ct::ProbeKernelFilter(info[0].As<Napi::String>(), static_cast<uint8_t>(af));
  return why.empty() ? env.Null() : Napi::String::New(env, why);
}

// ---- ctSelect ----

void ParseCidr(Napi::Env env, const Napi::Value& v, ct::Cidr* c, const char* what) {
  if (!v.IsObject()) Bad(env, std::string("ctSelect: ") + what + " must be a compiled CIDR");
  auto o = v.As<Napi::Object>();
  uint32_t af = U32(o.Get("af"), std::string("ctSelect: ") + what + ".af");
  if (af != 4 && af != 6) Bad(env, std::string("ctSelect: ") + what + ".af must be 4 or 6");
  size_t la, lm;
  uint8_t* a = TypedArrayBytes(o.Get("addr"), "ctSelect: cidr addr", &la);
  uint8_t* m = TypedArrayBytes(o.Get("mask"), "ctSelect: cidr mask", &lm);
  if (la != 16 || lm != 16) Bad(env, std::string("ctSelect: ") + what + " addr and mask must be 16 bytes");
  c->af = static_cast<uint8_t>(af);
  for (int i = 0; i < 16; i++) c->mask[i] = m[i], c->addr[i] = a[i] & m[i];
}

bool Present(const Napi::Object& o, const char* k) {
  if (!o.Has(k)) return false;
  Napi::Value v = o.Get(k);
  return !v.IsUndefined() && !v.IsNull();
}

// A selection's values are the caller's input: out of range is E_BAD_INPUT, like the library's checks.
uint32_t SpecU32(const Napi::Value& v, const std::string& what) { return U32(v, what, "E_BAD_INPUT"); }

// A compiled list (or, from older callers, one bare value) of integers 0..max; never empty.
template <typename T>
std::vector<T> Ints(Napi::Env env, const Napi::Value& v, const std::string& what, uint32_t max) {
  std::vector<T> out;
  auto one = [&](const Napi::Value& x) {
    uint32_t n = SpecU32(x, what);
    if (n > max) BadInput(env, what + " must be 0.." + std::to_string(max));
    out.push_back(static_cast<T>(n));
  };
  if (!v.IsArray()) {
    one(v);
    return out;
  }
  auto a = v.As<Napi::Array>();
  if (a.Length() == 0) BadInput(env, what + " is an empty list (that would be no restriction)");
  for (uint32_t i = 0; i < a.Length(); i++) one(a.Get(i));
  return out;
}

std::vector<ct::Cidr> Cidrs(Napi::Env env, const Napi::Value& v, const char* what) {
  std::vector<ct::Cidr> out;
  auto one = [&](const Napi::Value& x) {
    out.emplace_back();
    ParseCidr(env, x, &out.back(), what);
  };
  if (!v.IsArray()) {
    one(v);
    return out;
  }
  auto a = v.As<Napi::Array>();
  if (a.Length() == 0) BadInput(env, std::string("ctSelect: ") + what + " is an empty list (that would be no restriction)");
  for (uint32_t i = 0; i < a.Length(); i++) one(a.Get(i));
  return out;
}


ct::Spec ParseSpec(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) BadInput(env, "ctSelect: each selection must be an object");
  auto o = v.As<Napi::Object>();
  // pf-only criteria would be silently ignored here, widening the selection: refuse them.
  for (const char* k : {"gateways", "natAddrs", "interfaces", "rtInterfaces", "rules"})
    if (Present(o, k)) throw Error(env, EINVAL, std::string("ctSelect: '") + k + "' does not apply to conntrack entries", "E_BAD_INPUT");
  ct::Spec s;
  bool any = false;
  if (Present(o, "mark")) {
    if (!o.Get("mark").IsObject()) BadInput(env, "ctSelect: mark must be {value, mask}");
    auto m = o.Get("mark").As<Napi::Object>();
    s.hasMark = true;
    s.mark = SpecU32(m.Get("value"), "ctSelect: mark.value");
    s.markMask = SpecU32(m.Get("mask"), "ctSelect: mark.mask");
    CheckMark(env, s.mark, s.markMask, "ctSelect: mark");
    any = true;
  }
  if (Present(o, "zone")) {
    uint32_t z = SpecU32(o.Get("zone"), "ctSelect: zone");
    if (z > 65535) BadInput(env, "ctSelect: zone must be 0..65535");
    s.zone = static_cast<int32_t>(z), any = true;
  }
  if (Present(o, "af")) {
    s.afs = Ints<uint8_t>(env, o.Get("af"), "ctSelect: af", 6);
    for (uint8_t af : s.afs)
      if (af != 4 && af != 6) BadInput(env, "ctSelect: af must be 4 or 6");
    any = true;
  }
  if (Present(o, "proto")) s.protos = Ints<uint8_t>(env, o.Get("proto"), "ctSelect: proto", 255), any = true;
  if (Present(o, "srcPort")) s.srcPorts = Ints<uint16_t>(env, o.Get("srcPort"), "ctSelect: srcPort", 65535), any = true;
  if (Present(o, "dstPort")) s.dstPorts = Ints<uint16_t>(env, o.Get("dstPort"), "ctSelect: dstPort", 65535), any = true;
  if (Present(o, "src")) s.src = Cidrs(env, o.Get("src"), "src"), any = true;
  if (Present(o, "dst")) s.dst = Cidrs(env, o.Get("dst"), "dst"), any = true;
  if (Present(o, "replyDst")) ParseCidr(env, o.Get("replyDst"), &s.replyDst, "replyDst"), any = true;
  if (Present(o, "ids")) {
    // compile.ts CompiledIds: {id: BigUint64Array, ...}; a conntrack id is CTA_ID (u32).
    if (!o.Get("ids").IsObject()) Bad(env, "ctSelect: ids must be an object");
    size_t n;
    uint64_t* ids = TypedArrayOf<uint64_t>(o.Get("ids").As<Napi::Object>().Get("id"), napi_biguint64_array, "ctSelect: ids.id", &n);
    if (n == 0) Bad(env, "ctSelect: ids is an empty list (that would be no restriction)");
    for (size_t i = 0; i < n; i++) {
      if (ids[i] == 0 || ids[i] > 0xffffffffull) Bad(env, "ctSelect: a conntrack id is 1..0xffffffff");
      s.ids.push_back(static_cast<uint32_t>(ids[i]));
    }
    std::sort(s.ids.begin(), s.ids.end());
    any = true;
  }
  if (!any) throw Error(env, EINVAL, "ctSelect: a spec with no criterion would select every entry", "E_BAD_INPUT");
  return s;
}

// ctSelect(bytes, from, to, specs, outIdx, outMask) -> count
Napi::Value Select(const Napi::CallbackInfo& info) {
  RequireArgs(info, 6, "ctSelect");
  Napi::Env env = info.Env();
  uint8_t* recs;
  size_t nrec = Records(info[0], "ctSelect: bytes", &recs);
  uint32_t from = U32(info[1], "ctSelect: from"), to = U32(info[2], "ctSelect: to");
  if (from > to || to > nrec) Bad(env, "ctSelect: range [" + std::to_string(from) + ", " + std::to_string(to) + ") is outside the snapshot");
  if (!info[3].IsArray()) Bad(env, "ctSelect: specs must be an array");
  auto arr = info[3].As<Napi::Array>();
  if (arr.Length() > 32) Bad(env, "ctSelect: at most 32 selections (one mask bit each)");
  std::vector<ct::Spec> specs;
  for (uint32_t i = 0; i < arr.Length(); i++) specs.push_back(ParseSpec(env, arr.Get(i)));
  size_t ni, nm;
  int32_t* outIdx = TypedArrayOf<int32_t>(info[4], napi_int32_array, "ctSelect: outIdx", &ni);
  uint32_t* outMask = TypedArrayOf<uint32_t>(info[5], napi_uint32_array, "ctSelect: outMask", &nm);
  if (ni < to - from || nm < to - from) Bad(env, "ctSelect: outIdx and outMask need room for to - from entries");
  size_t n = ct::Select(recs, from, to, specs, outIdx, outMask, to - from);
  return Napi::Number::New(env, static_cast<double>(n));
}

}  // namespace

void InitConntrack(Napi::Env env, Napi::Object exports) {
  exports.Set("ctOpen", Napi::Function::New(env, Open, "ctOpen"));
  exports.Set("ctClose", Napi::Function::New(env, Close, "ctClose"));
  exports.Set("ctCount", Napi::Function::New(env, Count, "ctCount"));
  exports.Set("ctDump", Napi::Function::New(env, Dump, "ctDump"));
  exports.Set("ctDelete", Napi::Function::New(env, Delete, "ctDelete"));
  exports.Set("ctInsert", Napi::Function::New(env, Insert, "ctInsert"));
  exports.Set("ctFlushAll", Napi::Function::New(env, FlushAll, "ctFlushAll"));
  exports.Set("ctFlushMark", Napi::Function::New(env, FlushMark, "ctFlushMark"));
  exports.Set("ctFlushReplyDst", Napi::Function::New(env, FlushReplyDst, "ctFlushReplyDst"));
  exports.Set("ctKernelFilterRefusal", Napi::Function::New(env, KernelFilterRefusal, "ctKernelFilterRefusal"));
  exports.Set("ctKernelRelease", Napi::Function::New(env, KernelRelease, "ctKernelRelease"));
  exports.Set("ctProbeKernelFilter", Napi::Function::New(env, ProbeKernelFilter, "ctProbeKernelFilter"));
  exports.Set("ctSelect", Napi::Function::New(env, Select, "ctSelect"));
}

}  // namespace sk
