// PfDevice: the JS handle on a pf kernel (real /dev/pf or a SimKernel object).
#include <cerrno>

#include "common/errors.h"
#include "modules.h"
#include "pf/device.h"
#include "pf/filter_from_js.h"
#include "pf/rule_labels_js.h"
#include "pf/sim/sim_binding.h"

namespace sk {

namespace {

const char* ReadPathName(pf::ReadPath p) {
  return p == pf::ReadPath::V2 ? "DIOCGETSTATESV2" : p == pf::ReadPath::Struct1301 ? "DIOCGETSTATES" : "none";
}
const char* KillPathName(pf::KillPath p) {
  return p == pf::KillPath::Nv ? "DIOCKILLSTATESNV" : p == pf::KillPath::Struct ? "DIOCKILLSTATES" : "none";
}

class PfDevice : public Napi::ObjectWrap<PfDevice> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "PfDevice",
                                   {InstanceMethod("describe", &PfDevice::Describe),
                                    InstanceMethod("probeBytes", &PfDevice::ProbeBytes),
                                    InstanceMethod("read", &PfDevice::Read),
                                    InstanceMethod("killByIds", &PfDevice::KillByIds),
                                    InstanceMethod("flush", &PfDevice::Flush),
                                    InstanceMethod("killByFilter", &PfDevice::KillByFilter),
                                    InstanceMethod("stateCount", &PfDevice::StateCount),
                                    InstanceMethod("status", &PfDevice::Status),
                                    InstanceMethod("ruleLabels", &PfDevice::RuleLabels),
                                    InstanceMethod("close", &PfDevice::Close)});
    exports.Set("PfDevice", f);
  }

  explicit PfDevice(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PfDevice>(info) {
    Napi::Env env = info.Env();
    RequireArgs(info, 1, "PfDevice");
    Guard(env, [&] {
      if (info[0].IsString()) {
        owned_ = pf::OpenRealDevice(info[0].As<Napi::String>().Utf8Value());
        target_ = owned_.get();
      } else if (pf::IoctlTarget* sim = SimTargetOf(info[0])) {
        simRef_ = Napi::Persistent(info[0].As<Napi::Object>());  // keep the simulated kernel alive
        target_ = sim;
      } else {
        throw Error(env, EINVAL, "PfDevice: expected a device path or a SimKernel", "E_BAD_INPUT");
      }
      dev_ = std::make_unique<pf::Device>(target_);
      dev_->Probe();
    });
  }

 private:
  pf::Device& dev(const Napi::Env& env) {
    if (!dev_) throw Error(env, EBADF, "pf device is closed", "EBADF");
    return *dev_;
  }

  Napi::Value Describe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    pf::Device& d = dev(env);
    Napi::Object o = Napi::Object::New(env);
    o.Set("target", d.target());
    o.Set("read", ReadPathName(d.readPath()));
    o.Set("kill", KillPathName(d.killPath()));
    o.Set("killById", KillPathName(d.killByIdPath()));
    o.Set("recordSize", double(d.recordSize()));
    o.Set("stateVersion", double(d.stateVersion()));
    o.Set("hasRouteInfo", d.hasRouteInfo());
    o.Set("status", d.statusPath());
    o.Set("rules", d.rulePath());
    o.Set("compactRead", d.compactRead());
    return o;
  }

  // probeBytes(compact?)
  Napi::Value ProbeBytes(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    bool compact = info.Length() > 0 && info[0].ToBoolean();
    return Napi::Number::New(env, double(Guard(env, [&] { return dev(env).ProbeBytes(compact); })));
  }

  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireArgs(info, 1, "read");
    size_t len;
    uint8_t* buf = TypedArrayBytes(info[0], "read buffer", &len);
    // read(into, compact?): compact = the 242-byte DIOCGETSTATES read where compactRead.
    bool compact = info.Length() > 1 && info[1].ToBoolean() && dev(env).compactRead();
    pf::ReadResult r = Guard(env, [&] { return dev(env).Read(buf, len, compact); });
    Napi::Object o = Napi::Object::New(env);
    o.Set("bytes", double(r.bytes));
    o.Set("truncated", r.truncated);
    o.Set("needed", double(r.needed));
    o.Set("recordSize", compact ? 242.0 : double(dev(env).recordSize()));
    o.Set("hasRouteInfo", !compact && dev(env).hasRouteInfo());
    return o;
  }

  Napi::Value KillByIds(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireArgs(info, 3, "killByIds");
    size_t n, nc, no;
    uint64_t* ids = TypedArrayOf<uint64_t>(info[0], napi_biguint64_array, "ids", &n);
    uint32_t* creators = TypedArrayOf<uint32_t>(info[1], napi_uint32_array, "creators", &nc);
    int32_t* out = TypedArrayOf<int32_t>(info[2], napi_int32_array, "results", &no);
    if (nc != n || no < n) throw Error(env, EINVAL, "killByIds: ids, creators and results differ in length", "E_BAD_INPUT");
    pf::KillCounts c = Guard(env, [&] { return dev(env).KillByIds(ids, creators, n, out); });
    Napi::Object o = Napi::Object::New(env);
    o.Set("killed", c.killed);
    o.Set("alreadyGone", c.alreadyGone);
    o.Set("failed", c.failed);
    return o;
  }

  Napi::Value Flush(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string ifname = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    if (ifname.size() >= pf::kIfNameSize) throw Error(env, EINVAL, "flush: interface name too long", "E_BAD_INPUT");
    bool killMatch = info.Length() > 1 && info[1].ToBoolean();
    return Napi::Number::New(env, Guard(env, [&] { return dev(env).Flush(ifname.c_str(), killMatch); }));
  }

  Napi::Value KillByFilter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireArgs(info, 1, "killByFilter");
    if (!info[0].IsObject()) throw Error(env, EINVAL, "killByFilter: expected a filter object", "E_BAD_INPUT");
    pf::KillFilter f = pf::KillFilterFromJs(info[0].As<Napi::Object>());
    return Napi::Number::New(env, Guard(env, [&] { return dev(env).KillByFilter(f); }));
  }

  Napi::Value StateCount(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Napi::Number::New(env, Guard(env, [&] { return dev(env).StateCount(); }));
  }

  // status(): { states, hostid, source }: the kernel's own state counter (preflight, doctor).
  Napi::Value Status(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    pf::StatusCount c = Guard(env, [&] { return dev(env).Status(); });
    Napi::Object o = Napi::Object::New(env);
    o.Set("states", double(c.states));
    o.Set("hostid", double(c.hostid));
    o.Set("source", c.source);
    return o;
  }

  // ruleLabels(): string[][] indexed by rule number (the main ruleset's filter rules).
  Napi::Value RuleLabels(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto rules = Guard(env, [&] { return dev(env).RuleLabels(); });
    return LabelsToJs(env, rules);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    dev_.reset();
    owned_.reset();
    if (!simRef_.IsEmpty()) simRef_.Reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<pf::IoctlTarget> owned_;
  pf::IoctlTarget* target_ = nullptr;
  Napi::ObjectReference simRef_;
  std::unique_ptr<pf::Device> dev_;
};

}  // namespace

void InitPfDevice(Napi::Env env, Napi::Object exports) { PfDevice::Init(env, exports); }

}  // namespace sk
