// N-API glue only: each module registers its own functions. Per-env instance data keeps the addon
// safe to load in piscina workers.
#include <napi.h>

#include "common/errors.h"
#include "modules.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new sk::AddonData());
  sk::InitErrors(env, exports);
  sk::InitPfDevice(env, exports);
  sk::InitSim(env, exports);
  sk::InitEngine(env, exports);
  sk::InitNvlist(env, exports);
  sk::InitPfNetlink(env, exports);
  sk::InitConntrack(env, exports);
  return exports;
}

NODE_API_MODULE(statekill, Init)
