#pragma once
#include <napi.h>

#include "pf/ioctl_target.h"

namespace sk {
// The simulated kernel behind a JS SimKernel object, or nullptr when `v` is not one.
pf::IoctlTarget* SimTargetOf(const Napi::Value& v);
}  // namespace sk
