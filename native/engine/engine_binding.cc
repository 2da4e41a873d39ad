// Engine kernels for JS: select (called by worker threads, one chunk per call), pair, gather ids.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/errors.h"
#include "engine/pair.h"
#include "engine/select.h"
#include "modules.h"

namespace sk {

namespace {

const pf::RecordOffsets& Offsets(const Napi::Value& v) {
  uint32_t stride = v.ToNumber().Uint32Value();
  if (stride != 384 && stride != 242) throw Error(v.Env(), EINVAL, "record stride must be 384 or 242", "E_BAD_INPUT");
  return pf::OffsetsFor(int(stride));
}

const uint8_t* Records(const Napi::Value& v, const pf::RecordOffsets& o, size_t need) {
  size_t len;
  const uint8_t* p = TypedArrayBytes(v, "records", &len);
  if (len < need * size_t(o.stride)) throw Error(v.Env(), EINVAL, "records view is shorter than the range asked", "E_BAD_INPUT");
  return p;
}

engine::CidrSpec Cidr(const Napi::Value& v) {
  Napi::Env env = v.Env();
  if (!v.IsObject()) throw Error(env, EINVAL, "selection address must be an object", "E_BAD_INPUT");
  Napi::Object o = v.As<Napi::Object>();
  engine::CidrSpec c;
  Napi::Value afv = o.Get("af");
  uint32_t af = afv.IsNumber() ? afv.As<Napi::Number>().Uint32Value() : 0;
  if (af != 4 && af != 6) throw Error(env, EINVAL, "selection address af must be 4 or 6", "E_BAD_INPUT");
  c.af = af == 6 ? pf::kAfInet6 : pf::kAfInet;
  size_t n;
  const uint8_t* a = TypedArrayBytes(o.Get("addr"), "addr", &n);
  if (n != 16) throw Error(env, EINVAL, "selection addr must be 16 bytes", "E_BAD_INPUT");
  std::memcpy(c.addr, a, 16);
  const uint8_t* m = TypedArrayBytes(o.Get("mask"), "mask", &n);
  if (n != 16) throw Error(env, EINVAL, "selection mask must be 16 bytes", "E_BAD_INPUT");
  std::memcpy(c.mask, m, 16);
  for (int i = 0; i < 16; i++) c.addr[i] &= c.mask[i];
  if (o.Get("ifname").IsString()) c.ifname = o.Get("ifname").ToString().Utf8Value();
  return c;
}

// validate.ts checked every value; these parsers only refuse shapes that would crash or widen.
std::vector<std::string> Names(const Napi::Value& v) {
  std::vector<std::string> out;
  if (v.IsUndefined()) return out;
  if (!v.IsArray()) throw Error(v.Env(), EINVAL, "selection interface list must be an array", "E_BAD_INPUT");
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() == 0) throw Error(v.Env(), EINVAL, "selection interface list is empty", "E_BAD_INPUT");
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).ToString().Utf8Value());
  return out;
}

// A compiled list of numbers in [0, max]; undefined = no restriction.
std::vector<uint32_t> Numbers(const Napi::Value& v, const char* what, double max) {
  std::vector<uint32_t> out;
  if (v.IsUndefined()) return out;
  if (!v.IsArray()) throw Error(v.Env(), EINVAL, std::string("selection ") + what + " must be an array", "E_BAD_INPUT");
  Napi::Array a = v.As<Napi::Array>();
  // An empty list would mean "no restriction" below: a widening nobody asked for.
  if (a.Length() == 0) throw Error(v.Env(), EINVAL, std::string("selection ") + what + " is an empty list", "E_BAD_INPUT");
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value x = a.Get(i);
    double d = x.IsNumber() ? x.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d <= max) || d != double(uint32_t(d)))
      throw Error(v.Env(), EINVAL, std::string("selection ") + what + " out of range", "E_BAD_INPUT");
    out.push_back(uint32_t(d));
  }
  return out;
}

std::vector<engine::CidrSpec> Cidrs(const Napi::Value& v, const char* what) {
  std::vector<engine::CidrSpec> out;
  if (v.IsUndefined()) return out;
  if (!v.IsArray()) throw Error(v.Env(), EINVAL, std::string("selection ") + what + " must be an array", "E_BAD_INPUT");
  Napi::Array arr = v.As<Napi::Array>();
  if (arr.Length() == 0) throw Error(v.Env(), EINVAL, std::string("selection ") + what + " is an empty list", "E_BAD_INPUT");
  for (uint32_t j = 0; j < arr.Length(); j++) out.push_back(Cidr(arr.Get(j)));
  return out;
}

std::vector<engine::IdSpec> Ids(const Napi::Value& v) {
  std::vector<engine::IdSpec> out;
  if (v.IsUndefined()) return out;
  Napi::Env env = v.Env();
  if (!v.IsObject()) throw Error(env, EINVAL, "selection ids must be an object", "E_BAD_INPUT");
  Napi::Object o = v.As<Napi::Object>();
  size_t ni, nc, na;
  uint64_t* id = TypedArrayOf<uint64_t>(o.Get("id"), napi_biguint64_array, "ids.id", &ni);
  uint32_t* cr = TypedArrayOf<uint32_t>(o.Get("creatorid"), napi_uint32_array, "ids.creatorid", &nc);
  size_t nb;
  const uint8_t* any = TypedArrayBytes(o.Get("anyCreator"), "ids.anyCreator", &nb);
  na = nb;
  if (nc != ni || na != ni) throw Error(env, EINVAL, "selection ids: lists of different lengths", "E_BAD_INPUT");
  if (ni == 0) throw Error(env, EINVAL, "selection ids is an empty list", "E_BAD_INPUT");
  for (size_t i = 0; i < ni; i++) {
    if (id[i] == 0) throw Error(env, EINVAL, "selection ids: id 0", "E_BAD_INPUT");
    out.push_back({id[i], cr[i], any[i] != 0});
  }
  return out;
}

std::vector<engine::Spec> Specs(const Napi::Value& v, const pf::RecordOffsets& o) {
  Napi::Env env = v.Env();
  if (!v.IsArray()) throw Error(env, EINVAL, "selections must be an array", "E_BAD_INPUT");
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() == 0 || a.Length() > 32) throw Error(env, EINVAL, "between 1 and 32 selections per pass", "E_BAD_INPUT");
  std::vector<engine::Spec> specs(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    if (!a.Get(i).IsObject()) throw Error(env, EINVAL, "each selection must be an object", "E_BAD_INPUT");
    Napi::Object s = a.Get(i).As<Napi::Object>();
    engine::Spec& sp = specs[i];
    // conntrack-only criteria cannot be answered on pf records: never drop them silently.
    for (const char* k : {"mark", "zone", "replyDst"})
      if (!s.Get(k).IsUndefined())
        throw Error(env, EINVAL, std::string("'") + k + "' does not apply to pf states", "E_BAD_INPUT");
    sp.gateways = Cidrs(s.Get("gateways"), "gateways");
    sp.natAddrs = Cidrs(s.Get("natAddrs"), "natAddrs");
    sp.src = Cidrs(s.Get("src"), "src");
    sp.dst = Cidrs(s.Get("dst"), "dst");
    sp.interfaces = Names(s.Get("interfaces"));
    sp.rtInterfaces = Names(s.Get("rtInterfaces"));
    bool scoped = false;
    for (auto& g : sp.gateways) scoped = scoped || !g.ifname.empty();
    if ((scoped || !sp.rtInterfaces.empty()) && o.rt_ifname < 0)
      throw Error(env, ENOTSUP, "these records carry no route-to interface (rt_ifname): cannot scope by it",
                  "E_BAD_INPUT");
    for (uint32_t af : Numbers(s.Get("af"), "af", 6)) {
      if (af != 4 && af != 6) throw Error(env, EINVAL, "selection af must be 4 or 6", "E_BAD_INPUT");
      sp.anyAf = false;
      (af == 6 ? sp.inet6 : sp.inet) = true;
    }
    for (uint32_t p : Numbers(s.Get("proto"), "proto", 255)) sp.anyProto = false, sp.protos.set(p);
    for (uint32_t p : Numbers(s.Get("srcPort"), "srcPort", 65535)) sp.srcPorts.push_back(uint16_t(p));
    for (uint32_t p : Numbers(s.Get("dstPort"), "dstPort", 65535)) sp.dstPorts.push_back(uint16_t(p));
    sp.rules = Numbers(s.Get("rules"), "rules", 4294967294.0);
    sp.ids = Ids(s.Get("ids"));
    sp.defaultRouted = s.Get("defaultRouted").IsBoolean() && s.Get("defaultRouted").ToBoolean().Value();
    if (s.Get("labelRules").IsArray()) {  // rules of the main ruleset the labels resolved to
      sp.hasLabelRules = true;  // an empty list is a label no rule carries: nothing matches
      if (s.Get("labelRules").As<Napi::Array>().Length() > 0)
        sp.labelRules = Numbers(s.Get("labelRules"), "labelRules", 4294967294.0);
    }
    engine::PrepareSpec(&sp);
  }
  return specs;
}

// pfSelect(records, stride, from, to, selections, outIdx: Int32Array, outMask: Uint32Array) -> n
Napi::Value PfSelect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 7, "pfSelect");
  const pf::RecordOffsets& o = Offsets(info[1]);
  int64_t from = info[2].ToNumber().Int64Value(), to = info[3].ToNumber().Int64Value();
  if (from < 0 || to < from) throw Error(env, EINVAL, "pfSelect: bad range", "E_BAD_INPUT");
  const uint8_t* base = Records(info[0], o, size_t(to));
  std::vector<engine::Spec> specs = Specs(info[4], o);
  size_t ni, nm;
  int32_t* idx = TypedArrayOf<int32_t>(info[5], napi_int32_array, "outIdx", &ni);
  uint32_t* mask = TypedArrayOf<uint32_t>(info[6], napi_uint32_array, "outMask", &nm);
  if (ni < size_t(to - from) || nm < size_t(to - from)) throw Error(env, EINVAL, "pfSelect: outputs too small", "E_BAD_INPUT");
  return Napi::Number::New(env, double(engine::SelectRange(base, o, size_t(from), size_t(to), specs, idx, mask)));
}

template <typename T, typename Arr>
Arr Copy(Napi::Env env, const std::vector<T>& v) {
  Arr a = Arr::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(T));
  return a;
}

Napi::Value Ids(Napi::Env env, const engine::IdList& l) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("indices", Copy<int32_t, Napi::Int32Array>(env, l.index));
  o.Set("ids", Copy<uint64_t, Napi::BigUint64Array>(env, l.id));
  o.Set("creatorids", Copy<uint32_t, Napi::Uint32Array>(env, l.creator));
  return o;
}

// pfPair(records, stride, count, selected: Int32Array (ascending), masks: Uint32Array, alsoStackKey,
//        offDirection = true)
// -> { selectedIds, selectedCreatorids, paired: {indices, ids, creatorids}, ambiguous: {...},
//      ambiguousSelected, selectedKernelMask, pairedKernelMask, kernelAmbiguous, kernelAmbiguousMask,
//      kernelOffDirectionMask }
// alsoStackKey: where pf's own rule finds no partner, retry with the other key (pf's `nat` rule),
// which pairs port-forwards (rdr) whose inbound wire key never matches the inside state.
// offDirection false skips the either-direction probe (kernelOffDirectionMask is then all ones).
Napi::Value PfPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 5, "pfPair");
  const pf::RecordOffsets& o = Offsets(info[1]);
  int64_t count64 = info[2].ToNumber().Int64Value();
  if (count64 < 0) throw Error(env, EINVAL, "pfPair: bad count", "E_BAD_INPUT");
  size_t count = size_t(count64);
  const uint8_t* base = Records(info[0], o, count);
  size_t ns, nm;
  int32_t* sel = TypedArrayOf<int32_t>(info[3], napi_int32_array, "selected", &ns);
  uint32_t* masks = TypedArrayOf<uint32_t>(info[4], napi_uint32_array, "masks", &nm);
  if (nm != ns) throw Error(env, EINVAL, "pfPair: selected and masks differ in length", "E_BAD_INPUT");
  for (size_t i = 0; i < ns; i++) {
    if (sel[i] < 0 || size_t(sel[i]) >= count) throw Error(env, EINVAL, "pfPair: selected index out of range", "E_BAD_INPUT");
    if (i > 0 && sel[i] <= sel[i - 1]) throw Error(env, EINVAL, "pfPair: selected indices must ascend", "E_BAD_INPUT");
  }
  bool alsoStack = info.Length() > 5 && info[5].ToBoolean();
  // Probing is the default: only a caller that knows no gateway kill can use the answer skips it.
  bool offDirection = info.Length() <= 6 || info[6].IsUndefined() || info[6].ToBoolean();
  engine::PairResult pr = engine::PairOpposite(base, o, count, sel, masks, ns, alsoStack, offDirection);
  Napi::Object r = Napi::Object::New(env);
  r.Set("selectedIds", Copy<uint64_t, Napi::BigUint64Array>(env, pr.selectedId));
  r.Set("selectedCreatorids", Copy<uint32_t, Napi::Uint32Array>(env, pr.selectedCreator));
  r.Set("paired", Ids(env, pr.paired));
  r.Set("ambiguous", Ids(env, pr.ambiguous));
  r.Set("ambiguousSelected", double(pr.ambiguousSelected));
  r.Set("selectedKernelMask", Copy<uint32_t, Napi::Uint32Array>(env, pr.selectedKernelMask));
  r.Set("pairedKernelMask", Copy<uint32_t, Napi::Uint32Array>(env, pr.pairedKernelMask));
  r.Set("kernelAmbiguous", Copy<int32_t, Napi::Int32Array>(env, pr.kernelAmbiguous));
  r.Set("kernelAmbiguousMask", Copy<uint32_t, Napi::Uint32Array>(env, pr.kernelAmbiguousMask));
  r.Set("kernelOffDirectionMask", double(pr.kernelOffDirectionMask));
  return r;
}

// pfGatherIds(records, stride, indices: Int32Array, outIds: BigUint64Array, outCreators: Uint32Array)
// Copies each state's id and creatorid exactly as the kernel exported them (raw bytes).
Napi::Value PfGatherIds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 5, "pfGatherIds");
  const pf::RecordOffsets& o = Offsets(info[1]);
  size_t len, n, ni, nc;
  const uint8_t* base = TypedArrayBytes(info[0], "records", &len);
  int32_t* idx = TypedArrayOf<int32_t>(info[2], napi_int32_array, "indices", &n);
  uint64_t* ids = TypedArrayOf<uint64_t>(info[3], napi_biguint64_array, "outIds", &ni);
  uint32_t* cr = TypedArrayOf<uint32_t>(info[4], napi_uint32_array, "outCreators", &nc);
  if (ni < n || nc < n) throw Error(env, EINVAL, "pfGatherIds: outputs too small", "E_BAD_INPUT");
  size_t count = len / size_t(o.stride);
  for (size_t i = 0; i < n; i++) {
    if (idx[i] < 0 || size_t(idx[i]) >= count) throw Error(env, EINVAL, "pfGatherIds: index out of range", "E_BAD_INPUT");
    const uint8_t* rec = base + size_t(idx[i]) * o.stride;
    std::memcpy(&ids[i], rec + o.id, 8);
    std::memcpy(&cr[i], rec + o.creatorid, 4);
  }
  return env.Undefined();
}

}  // namespace

void InitEngine(Napi::Env env, Napi::Object exports) {
  exports.Set("pfSelect", Napi::Function::New(env, PfSelect, "pfSelect"));
  exports.Set("pfPair", Napi::Function::New(env, PfPair, "pfPair"));
  exports.Set("pfGatherIds", Napi::Function::New(env, PfGatherIds, "pfGatherIds"));
}

}  // namespace sk
