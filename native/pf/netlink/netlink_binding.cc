// PfNetlink: the JS handle on pf's netlink family, over a real socket (FreeBSD 14+) or a
// SimKernel's responder; plus codec entry points for tests (encode/decode one message).
#include <arpa/inet.h>

#include <cerrno>
#include <cstring>

#include "common/errors.h"
#include "modules.h"
#include "pf/filter_from_js.h"
#include "pf/rule_labels_js.h"
#include "pf/netlink/client.h"
#include "pf/netlink/pf_nl_defs.h"
#include "pf/netlink/state_decode.h"
#include "pf/sim/netlink_codec.h"
#include "pf/sim/netlink_responder.h"
#include "pf/sim/sim_binding.h"

namespace sk {

namespace {

void AddrFromJs(const Napi::Value& v, const char* what, pf::pf_addr* out) {
  size_t len;
  uint8_t* p = TypedArrayBytes(v, what, &len);
  if (len != 16) throw Error(v.Env(), EINVAL, std::string(what) + " must be 16 bytes", "E_BAD_INPUT");
  std::memcpy(out->a8, p, 16);
}

// { ifname?, af?: 0|2|28, proto?, addr?: Uint8Array(16), mask?: Uint8Array(16) }
pf::nl::StateQuery QueryFromJs(const Napi::Value& v) {
  pf::nl::StateQuery q;
  if (v.IsUndefined() || v.IsNull()) return q;
  Napi::Env env = v.Env();
  if (!v.IsObject()) throw Error(env, EINVAL, "read filter must be an object", "E_BAD_INPUT");
  Napi::Object o = v.As<Napi::Object>();
  if (o.Get("ifname").IsString()) {
    std::string s = o.Get("ifname").As<Napi::String>().Utf8Value();
    if (s.size() >= pf::kIfNameSize) throw Error(env, EINVAL, "read filter: ifname too long", "E_BAD_INPUT");
    std::memcpy(q.ifname, s.c_str(), s.size() + 1);
  }
  if (o.Get("af").IsNumber()) {
    uint32_t af = o.Get("af").ToNumber().Uint32Value();
    if (af != 0 && af != pf::kAfInet && af != pf::kAfInet6) throw Error(env, EINVAL, "read filter: af must be 0, 2 or 28", "E_BAD_INPUT");
    q.af = uint8_t(af);
  }
  if (o.Get("proto").IsNumber()) {
    uint32_t p = o.Get("proto").ToNumber().Uint32Value();
    if (p > 255) throw Error(env, EINVAL, "read filter: proto must be 0..255", "E_BAD_INPUT");
    q.proto = uint16_t(p);
  }
  if (!o.Get("addr").IsUndefined()) {
    AddrFromJs(o.Get("addr"), "read filter addr", &q.addr);
    std::memset(q.mask.a8, 0xff, 16);
    q.hasAddr = true;
  }
  if (!o.Get("mask").IsUndefined()) {
    AddrFromJs(o.Get("mask"), "read filter mask", &q.mask);
    q.hasAddr = true;
  }
  q.afAlone = o.Get("afAlone").ToBoolean() && q.af != 0 && q.proto == 0;
  return q;
}

class PfNetlink : public Napi::ObjectWrap<PfNetlink> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "PfNetlink",
                                   {InstanceMethod("describe", &PfNetlink::Describe),
                                    InstanceMethod("startRead", &PfNetlink::StartRead),
                                    InstanceMethod("readChunk", &PfNetlink::ReadChunk),
                                    InstanceMethod("killByIds", &PfNetlink::KillByIds),
                                    InstanceMethod("killByFilter", &PfNetlink::KillByFilter),
                                    InstanceMethod("flush", &PfNetlink::Flush),
                                    InstanceMethod("status", &PfNetlink::Status),
                                    InstanceMethod("ruleLabels", &PfNetlink::RuleLabels),
                                    InstanceMethod("close", &PfNetlink::Close)});
    exports.Set("PfNetlink", f);
  }

  // new PfNetlink()                      the real kernel (FreeBSD 14+)
  // new PfNetlink(sim, { ops?: number[], corruptState?: n }) a SimKernel; `ops` = what its family lists
  // (e.g. 14.0's 1-4); `corruptState` = fault injection for tests (the n-th state message is malformed)
  explicit PfNetlink(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PfNetlink>(info) {
    Napi::Env env = info.Env();
    pf::nl::EndpointFactory factory;
    if (info.Length() == 0 || info[0].IsUndefined() || info[0].IsNull()) {
      factory = [] { return pf::nl::OpenSocketEndpoint(); };
    } else if (pf::sim::Kernel* k = SimKernelOf(info[0])) {
      simRef_ = Napi::Persistent(info[0].As<Napi::Object>());  // keep the kernel alive
      std::vector<uint32_t> ops = pf::sim::NetlinkOpsFor(k->personality());
      if (info.Length() > 1 && info[1].IsObject() && info[1].As<Napi::Object>().Get("ops").IsArray()) {
        Napi::Array a = info[1].As<Napi::Object>().Get("ops").As<Napi::Array>();
        ops.clear();
        for (uint32_t i = 0; i < a.Length(); i++) ops.push_back(a.Get(i).ToNumber().Uint32Value());
        if (k->personality().major < 14) ops.clear();  // no family before 14, whatever is asked
      }
      int64_t corrupt = -1;
      if (info.Length() > 1 && info[1].IsObject() && info[1].As<Napi::Object>().Get("corruptState").IsNumber())
        corrupt = info[1].As<Napi::Object>().Get("corruptState").ToNumber().Int64Value();
      factory = [k, ops, corrupt] {
        auto r = std::make_unique<pf::sim::NetlinkResponder>(k, ops);
        r->CorruptStateMessage(corrupt);
        return r;
      };
    } else {
      throw Error(env, EINVAL, "PfNetlink: expected nothing (the real kernel) or a SimKernel", "E_BAD_INPUT");
    }
    client_ = std::make_unique<pf::nl::Client>(std::move(factory));
    Guard(env, [&] { client_->Resolve(); });
  }

 private:
  pf::nl::Client& client(const Napi::Env& env) {
    if (!client_) throw Error(env, EBADF, "pf netlink handle is closed", "EBADF");
    return *client_;
  }

  Napi::Value Describe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    pf::nl::Client& c = client(env);
    const pf::nl::FamilyInfo& f = c.family();
    Napi::Object o = Napi::Object::New(env);
    o.Set("target", c.endpointName());
    o.Set("familyId", double(f.id));
    o.Set("familyVersion", double(f.version));
    Napi::Array ops = Napi::Array::New(env, f.ops.size());
    for (size_t i = 0; i < f.ops.size(); i++) ops.Set(uint32_t(i), double(f.ops[i]));
    o.Set("ops", ops);
    Napi::Object paths = Napi::Object::New(env);
    auto path = [&](uint32_t cmd) { return f.Has(cmd) ? std::string(pf::nl::CmdName(uint8_t(cmd))) : std::string("none"); };
    paths.Set("read", path(pf::nl::kCmdGetStates));
    paths.Set("killById", path(pf::nl::kCmdKillStates));
    paths.Set("killByFilter", path(pf::nl::kCmdKillStates));
    paths.Set("flush", path(pf::nl::kCmdClrStates));
    paths.Set("status", path(pf::nl::kCmdGetStatus));
    paths.Set("rules", f.Has(pf::nl::kCmdGetRules) && f.Has(pf::nl::kCmdGetRule) ? "GETRULES+GETRULE" : "none");
    o.Set("paths", paths);
    o.Set("recordSize", 384);
    o.Set("stateVersion", double(pf::kStateVersion14));
    return o;
  }

  // startRead(filter?): begins a fresh GETSTATES dump with the kernel-side filters.
  Napi::Value StartRead(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    pf::nl::StateQuery q = QueryFromJs(info.Length() > 0 ? info[0] : env.Undefined());
    Guard(env, [&] { client(env).StartStates(q); });
    return env.Undefined();
  }

  // readChunk(view): whole 384-byte records into view; starts an unfiltered dump if none is running.
  Napi::Value ReadChunk(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireArgs(info, 1, "readChunk");
    size_t len;
    uint8_t* buf = TypedArrayBytes(info[0], "readChunk view", &len);
    size_t cap = len / sizeof(pf::pf_state_export);
    if (cap == 0) throw Error(env, EINVAL, "readChunk: the view holds no whole 384-byte record", "E_BAD_INPUT");
    pf::nl::Client& c = client(env);
    bool done = false;
    size_t n = Guard(env, [&] {
      if (!c.dumping()) c.StartStates(pf::nl::StateQuery{});
      return c.ReadStates(buf, cap, &done);
    });
    Napi::Object o = Napi::Object::New(env);
    o.Set("records", double(n));
    o.Set("done", done);
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
    size_t batch = 256;
    if (info.Length() > 3 && info[3].IsNumber()) {
      double b = info[3].ToNumber().DoubleValue();
      if (!(b >= 1 && b <= 4096)) throw Error(env, EINVAL, "killByIds: batch must be 1..4096", "E_BAD_INPUT");
      batch = size_t(b);
    }
    pf::nl::KillTally t = Guard(env, [&] { return client(env).KillByIds(ids, creators, n, out, batch); });
    Napi::Object o = Napi::Object::New(env);
    o.Set("killed", t.killed);
    o.Set("alreadyGone", t.alreadyGone);
    o.Set("failed", t.failed);
    return o;
  }

  Napi::Value KillByFilter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireArgs(info, 1, "killByFilter");
    if (!info[0].IsObject()) throw Error(env, EINVAL, "killByFilter: expected a filter object", "E_BAD_INPUT");
    pf::KillFilter f = pf::KillFilterFromJs(info[0].As<Napi::Object>());
    if (f.MatchesEverything())
      throw Error(env, EINVAL, "killByFilter: this filter matches every state (pf would kill the whole table); use flush() for that",
                  "E_UNSAFE_FILTER");
    return Napi::Number::New(env, Guard(env, [&] { return client(env).Kill(pf::nl::kCmdKillStates, f); }));
  }

  // flush(ifname?, killMatch?): CLRSTATES (pfctl -F states [-i ifname]).
  Napi::Value Flush(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    pf::KillFilter f;
    std::string ifname = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    if (ifname.size() >= pf::kIfNameSize) throw Error(env, EINVAL, "flush: interface name too long", "E_BAD_INPUT");
    std::memcpy(f.ifname, ifname.c_str(), ifname.size() + 1);
    f.kill_match = info.Length() > 1 && info[1].ToBoolean();
    return Napi::Number::New(env, Guard(env, [&] { return client(env).Kill(pf::nl::kCmdClrStates, f); }));
  }

  // status(): { states, hostid } from GET_STATUS (ENOTSUP where the family lists none).
  Napi::Value Status(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    pf::nl::NlStatus st = Guard(env, [&] { return client(env).Status(); });
    Napi::Object o = Napi::Object::New(env);
    o.Set("states", double(st.states));
    o.Set("hostid", double(st.hostid));
    o.Set("source", "netlink GET_STATUS");
    return o;
  }

  Napi::Value RuleLabels(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto rules = Guard(env, [&] { return client(env).RuleLabels(); });
    return LabelsToJs(env, rules);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    client_.reset();
    if (!simRef_.IsEmpty()) simRef_.Reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<pf::nl::Client> client_;
  Napi::ObjectReference simRef_;
};

// ---- codec entry points for tests -----------------------------------------------------------------

Napi::Object RuleAddrToJs(const Napi::Env& env, const pf::pf_rule_addr& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("addr", Napi::Buffer<uint8_t>::Copy(env, r.addr.v.a.addr.a8, 16));
  o.Set("mask", Napi::Buffer<uint8_t>::Copy(env, r.addr.v.a.mask.a8, 16));
  o.Set("neg", r.neg != 0);
  o.Set("portOp", double(r.port_op));
  Napi::Array ports = Napi::Array::New(env, 2);
  ports.Set(0u, double(ntohs(r.port[0])));
  ports.Set(1u, double(ntohs(r.port[1])));
  o.Set("ports", ports);
  o.Set("type", double(r.addr.type));
  return o;
}

// pfNlEncodeState(record: Uint8Array(384), major = 14): the kernel's message for that state.
Napi::Value EncodeState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 1, "pfNlEncodeState");
  size_t len;
  uint8_t* p = TypedArrayBytes(info[0], "record", &len);
  if (len != sizeof(pf::pf_state_export)) throw Error(env, EINVAL, "pfNlEncodeState: record must be 384 bytes", "E_BAD_INPUT");
  pf::pf_state_export s;
  std::memcpy(&s, p, sizeof s);
  int major = info.Length() > 1 && info[1].IsNumber() ? info[1].ToNumber().Int32Value() : 14;
  pf::nl::Writer w;
  pf::sim::EncodeStateMsg(w, s, pf::sim::kSimPfFamilyId, pf::nl::kFMulti, 1, 0, major);
  return Napi::Buffer<uint8_t>::Copy(env, w.data(), w.size());
}

// pfNlDecodeState(message: Uint8Array): Uint8Array(384); throws EBADMSG naming the attribute.
Napi::Value DecodeState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 1, "pfNlDecodeState");
  size_t len;
  uint8_t* p = TypedArrayBytes(info[0], "message", &len);
  pf::pf_state_export s;
  Guard(env, [&] {
    pf::nl::MsgReader r(p, len);
    pf::nl::Msg m;
    if (!r.Next(&m)) throw pf::nl::NlError(EBADMSG, "EBADMSG", "pfNlDecodeState: no message");
    pf::nl::DecodeState(m, &s);
  });
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(&s), sizeof s);
}

// pfNlBuildKill(filter, cmd = 9): the request statekill sends.
Napi::Value BuildKill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 1, "pfNlBuildKill");
  if (!info[0].IsObject()) throw Error(env, EINVAL, "pfNlBuildKill: expected a filter object", "E_BAD_INPUT");
  pf::KillFilter f = pf::KillFilterFromJs(info[0].As<Napi::Object>());
  uint32_t cmd = info.Length() > 1 && info[1].IsNumber() ? info[1].ToNumber().Uint32Value() : uint32_t(pf::nl::kCmdKillStates);
  if (cmd != pf::nl::kCmdKillStates && cmd != pf::nl::kCmdClrStates)
    throw Error(env, EINVAL, "pfNlBuildKill: cmd must be 8 or 9", "E_BAD_INPUT");
  pf::nl::Writer w;
  pf::nl::AddKillStates(w, pf::sim::kSimPfFamilyId, uint8_t(cmd), 1, f);
  return Napi::Buffer<uint8_t>::Copy(env, w.data(), w.size());
}

// pfNlParseKill(bytes): what the kernel parses from a request, or { errno }.
Napi::Value ParseKill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 1, "pfNlParseKill");
  size_t len;
  uint8_t* p = TypedArrayBytes(info[0], "request", &len);
  pf::KillFilter f;
  int e;
  try {
    pf::nl::MsgReader r(p, len);
    pf::nl::Msg m;
    e = r.Next(&m) ? pf::sim::ParseKillMsg(m, &f) : EINVAL;
  } catch (const pf::nl::NlError& x) {
    e = x.err;  // broken framing: the kernel drops such a write
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("errno", e);
  if (e) return o;
  o.Set("id", Napi::BigInt::New(env, f.id));
  o.Set("creatorid", double(f.creatorid));
  o.Set("direction", double(f.direction));
  o.Set("af", double(f.af));
  o.Set("proto", double(f.proto));
  o.Set("src", RuleAddrToJs(env, f.src));
  o.Set("dst", RuleAddrToJs(env, f.dst));
  o.Set("rtAddr", RuleAddrToJs(env, f.rt_addr));
  o.Set("ifname", std::string(f.ifname));
  o.Set("label", std::string(f.label));
  o.Set("killMatch", f.kill_match);
  o.Set("nat", f.nat);
  return o;
}

}  // namespace

void InitPfNetlink(Napi::Env env, Napi::Object exports) {
  PfNetlink::Init(env, exports);
  exports.Set("pfNlEncodeState", Napi::Function::New(env, EncodeState, "pfNlEncodeState"));
  exports.Set("pfNlDecodeState", Napi::Function::New(env, DecodeState, "pfNlDecodeState"));
  exports.Set("pfNlBuildKill", Napi::Function::New(env, BuildKill, "pfNlBuildKill"));
  exports.Set("pfNlParseKill", Napi::Function::New(env, ParseKill, "pfNlParseKill"));
}

}  // namespace sk
