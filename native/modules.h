// One Init function per native module; each lives beside its code.
#pragma once
#include <napi.h>

namespace sk {
void InitPfDevice(Napi::Env env, Napi::Object exports);   // pf/device_binding.cc
void InitSim(Napi::Env env, Napi::Object exports);        // pf/sim/sim_binding.cc
void InitEngine(Napi::Env env, Napi::Object exports);     // engine/engine_binding.cc
void InitNvlist(Napi::Env env, Napi::Object exports);     // pf/nvlist_binding.cc
void InitPfNetlink(Napi::Env env, Napi::Object exports);  // pf/netlink/netlink_binding.cc
void InitConntrack(Napi::Env env, Napi::Object exports);  // conntrack/conntrack_binding.cc
}  // namespace sk
