#pragma once
#include <napi.h>

#include "pf/ioctl_target.h"

namespace pf::sim {
class Kernel;
}

namespace sk {
// The simulated kernel behind a JS SimKernel object, or nullptr when `v` is not one.
pf::IoctlTarget* SimTargetOf(const Napi::Value& v);
// The same kernel as itself (the netlink responder talks to it directly), or nullptr.
pf::sim::Kernel* SimKernelOf(const Napi::Value& v);
}  // namespace sk
