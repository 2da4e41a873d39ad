// SimKernel: the JS handle on a simulated pf kernel (load records, generate, test hooks).
#include "pf/sim/sim_binding.h"

#include <cerrno>
#include <cstring>
#include <memory>

#include "common/errors.h"
#include "modules.h"
#include "pf/record_codec.h"
#include "pf/sim/generator.h"
#include "pf/sim/kernel.h"

namespace sk {

namespace {

class SimKernel : public Napi::ObjectWrap<SimKernel> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "SimKernel",
                                   {InstanceMethod("load", &SimKernel::Load),
                                    InstanceMethod("generate", &SimKernel::GenerateStates),
                                    InstanceMethod("count", &SimKernel::Count),
                                    InstanceMethod("setRuleLabels", &SimKernel::SetRuleLabels),
                                    InstanceMethod("growBeforeNextFetch", &SimKernel::GrowBeforeNextFetch),
                                    InstanceMethod("ioctlCount", &SimKernel::IoctlCount),
                                    InstanceMethod("describe", &SimKernel::Describe)});
    env.GetInstanceData<AddonData>()->simKernelClass = Napi::Persistent(f);
    exports.Set("SimKernel", f);
  }

  // new SimKernel({ version?: 12|13|14|15, minor?: 0 (14.0), compat14?: boolean, hostid?: number,
  //                 quirks?: { afIntoProto?: boolean, dumpDropEvery?: number },
  //                 abiFault?: { probeSkew?: number, exportVersion?: number } })
  explicit SimKernel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SimKernel>(info) {
    Napi::Env env = info.Env();
    pf::sim::Personality p;
    uint32_t hostid = 0x0badc0de;
    int probeSkew = 0;
    uint64_t exportVersion = 0;
    if (info.Length() > 0 && info[0].IsObject()) {
      Napi::Object o = info[0].As<Napi::Object>();
      if (o.Get("version").IsNumber()) p.major = o.Get("version").ToNumber().Int32Value();
      p.compat14 = o.Get("compat14").ToBoolean();
      if (o.Get("minor").IsNumber()) p.minor = o.Get("minor").ToNumber().Int32Value();
      if (o.Get("quirks").IsObject()) {
        Napi::Object q = o.Get("quirks").As<Napi::Object>();
        p.afIntoProto = q.Get("afIntoProto").ToBoolean();
        if (q.Get("dumpDropEvery").IsNumber()) {
          double n = q.Get("dumpDropEvery").ToNumber().DoubleValue();
          if (!(n >= 0 && n <= 1e6 && n == double(uint32_t(n))) || n == 1)
            throw Error(env, EINVAL, "SimKernel: quirks.dumpDropEvery must be 0 or an integer 2..1000000", "E_BAD_INPUT");
          p.dumpDropEvery = uint32_t(n);
        }
      }
      if (o.Get("hostid").IsNumber()) hostid = o.Get("hostid").ToNumber().Uint32Value();
      if (o.Get("abiFault").IsObject()) {
        Napi::Object f = o.Get("abiFault").As<Napi::Object>();
        probeSkew = f.Get("probeSkew").IsNumber() ? f.Get("probeSkew").ToNumber().Int32Value() : 0;
        exportVersion = f.Get("exportVersion").IsNumber() ? uint64_t(f.Get("exportVersion").ToNumber().Int64Value()) : 0;
      }
    }
    if (p.major < 12 || p.major > 15)
      throw Error(env, EINVAL, "SimKernel: version must be 12, 13, 14 or 15", "E_BAD_INPUT");
    if (p.minor != -1 && !(p.major == 14 && p.minor == 0))
      throw Error(env, EINVAL, "SimKernel: minor is only 0, with version 14 (14.0)", "E_BAD_INPUT");
    k_ = std::make_unique<pf::sim::Kernel>(p, hostid);
    k_->InjectAbiFault(probeSkew, exportVersion);
  }

  pf::sim::Kernel* kernel() { return k_.get(); }

 private:
  // load(records: Uint8Array, stride: 384|242): all or nothing.
  Napi::Value Load(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireArgs(info, 2, "load");
    size_t len;
    const uint8_t* p = TypedArrayBytes(info[0], "records", &len);
    uint32_t stride = info[1].ToNumber().Uint32Value();
    if (stride != 384 && stride != 242) throw Error(env, EINVAL, "load: stride must be 384 or 242", "E_BAD_INPUT");
    if (len % stride) throw Error(env, EINVAL, "load: " + std::to_string(len) + " bytes is not a whole number of " +
                                                   std::to_string(stride) + "-byte records (truncated dump?)",
                                  "E_BAD_INPUT");
    size_t n = len / stride;
    std::vector<pf::pf_state_export> recs(n);
    for (size_t i = 0; i < n; i++) {
      if (stride == 384)
        std::memcpy(&recs[i], p + i * 384, 384);
      else
        pf::S1301ToExport(*reinterpret_cast<const pf::pfsync_state_1301*>(p + i * 242), &recs[i]);
      const pf::pf_state_export& r = recs[i];
      if (r.af != pf::kAfInet && r.af != pf::kAfInet6)
        throw Error(env, EINVAL, "record " + std::to_string(i) + ": unknown address family " + std::to_string(r.af),
                    "E_BAD_INPUT");
      if (r.direction != pf::kDirIn && r.direction != pf::kDirOut)
        throw Error(env, EINVAL, "record " + std::to_string(i) + ": direction must be in (1) or out (2), not " +
                                     std::to_string(r.direction), "E_BAD_INPUT");
      if (r.id == 0) throw Error(env, EINVAL, "record " + std::to_string(i) + ": state id 0", "E_BAD_INPUT");
      if (stride == 384) {  // statekill's private per-key / next-hop families (record_codec.h)
        const uint8_t* rec = reinterpret_cast<const uint8_t*>(&r);
        auto fam = [](uint8_t af) { return af == pf::kAfInet || af == pf::kAfInet6; };
        if ((rec[pf::kPrivOffset] & pf::kPrivHasKeyAf) &&
            (pf::KeyAf(rec, pf::kExportOffsets, 0) != r.af || !fam(pf::KeyAf(rec, pf::kExportOffsets, 1))))
          throw Error(env, EINVAL, "record " + std::to_string(i) + ": per-key families disagree with the state's", "E_BAD_INPUT");
        if ((rec[pf::kPrivOffset] & pf::kPrivHasRtAf) && !fam(pf::RtAf(rec, pf::kExportOffsets)))
          throw Error(env, EINVAL, "record " + std::to_string(i) + ": unknown next-hop family", "E_BAD_INPUT");
      }
    }
    std::vector<int32_t> added;
    added.reserve(n);
    k_->table().Reserve(k_->table().size() + n);
    for (size_t i = 0; i < n; i++) {
      int32_t slot = k_->table().Insert(recs[i]);
      if (slot < 0) {
        for (int32_t s : added) k_->table().Remove(s);
        throw Error(env, EEXIST, "record " + std::to_string(i) + ": duplicate state (id, creatorid); nothing loaded",
                    "E_BAD_INPUT");
      }
      added.push_back(slot);
    }
    return Napi::Number::New(env, double(n));
  }

  // generate({ states, seed?, profile?: 'realistic'|'bench' })
  Napi::Value GenerateStates(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    pf::sim::GenSpec spec;
    if (info.Length() > 0 && info[0].IsObject()) {
      Napi::Object o = info[0].As<Napi::Object>();
      if (o.Get("states").IsNumber()) {
        double s = o.Get("states").ToNumber().DoubleValue();
        if (!(s >= 0 && s <= 50e6)) throw Error(env, EINVAL, "generate: states must be 0..50000000", "E_BAD_INPUT");
        spec.states = uint64_t(s);
      }
      if (o.Get("seed").IsNumber()) spec.seed = uint64_t(o.Get("seed").ToNumber().Int64Value());
      if (o.Get("profile").IsString()) spec.profile = o.Get("profile").ToString().Utf8Value();
    }
    if (spec.profile != "realistic" && spec.profile != "bench")
      throw Error(env, EINVAL, "generate: profile must be 'realistic' or 'bench'", "E_BAD_INPUT");
    return Napi::Number::New(env, double(pf::sim::Generate(*k_, spec)));
  }

  Napi::Value Count(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(k_->table().size())); }

  Napi::Value SetRuleLabels(const Napi::CallbackInfo& info) {
    RequireArgs(info, 2, "setRuleLabels");
    std::vector<std::string> labels;
    if (info[1].IsArray()) {
      Napi::Array a = info[1].As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length() && i < 5; i++) labels.push_back(a.Get(i).ToString().Utf8Value());
    }
    k_->SetRuleLabels(info[0].ToNumber().Uint32Value(), labels);
    return info.Env().Undefined();
  }

  // growBeforeNextFetch(add, remove = 0): churn at the start of the next state read.
  Napi::Value GrowBeforeNextFetch(const Napi::CallbackInfo& info) {
    RequireArgs(info, 1, "growBeforeNextFetch");
    k_->GrowBeforeNextFetch(info[0].ToNumber().Uint32Value(), info.Length() > 1 ? info[1].ToNumber().Uint32Value() : 0);
    return info.Env().Undefined();
  }

  Napi::Value IoctlCount(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(k_->ioctlCount())); }

  Napi::Value Describe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", k_->Name());
    o.Set("version", k_->personality().major);
    if (k_->personality().minor >= 0) o.Set("minor", k_->personality().minor);
    Napi::Object q = Napi::Object::New(env);
    q.Set("afIntoProto", k_->personality().afIntoProto);
    q.Set("dumpDropEvery", k_->personality().dumpDropEvery);
    o.Set("quirks", q);
    o.Set("compat14", k_->personality().compat14);
    o.Set("hostid", k_->hostid());
    o.Set("states", double(k_->table().size()));
    return o;
  }

  std::unique_ptr<pf::sim::Kernel> k_;
};

}  // namespace

pf::IoctlTarget* SimTargetOf(const Napi::Value& v) {
  if (!v.IsObject()) return nullptr;
  auto* data = v.Env().GetInstanceData<AddonData>();
  if (data->simKernelClass.IsEmpty() || !v.As<Napi::Object>().InstanceOf(data->simKernelClass.Value())) return nullptr;
  return SimKernel::Unwrap(v.As<Napi::Object>())->kernel();
}

pf::sim::Kernel* SimKernelOf(const Napi::Value& v) { return static_cast<pf::sim::Kernel*>(SimTargetOf(v)); }

void InitSim(Napi::Env env, Napi::Object exports) { SimKernel::Init(env, exports); }

}  // namespace sk
