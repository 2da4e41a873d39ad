// KillFilter / StatusInfo <-> plain JS objects, for the nvlist bindings and their tests.
// Filter shape: {id: 16-hex raw u64, creatorid, direction, af, proto, src, dst, rt_addr, ifname,
// label, kill_match, nat}; rule addresses {type, iflags, addr: hex32, mask: hex32, port: [raw u16,
// raw u16], neg, port_op, ifname?, tblname?}. Ports are the raw network-order u16s pf stores.
#pragma once
#include <napi.h>

#include "pf/kill_filter.h"
#include "pf/nv_requests.h"

namespace sk {

Napi::Object KillFilterToJs(Napi::Env env, const pf::KillFilter& f);
pf::KillFilter KillFilterFromJs(const Napi::Value& v);  // missing fields stay zero
Napi::Object StatusToJs(Napi::Env env, const pf::StatusInfo& s);
pf::StatusInfo StatusFromJs(const Napi::Value& v);  // starts from DefaultStatusInfo()

}  // namespace sk
