// A kill filter from its JS form (src/backends/pf-filter.ts builds it), validated field by field.
#pragma once
#include <napi.h>

#include "pf/kill_filter.h"

namespace pf {

// { id?: bigint, creatorid?: number, af?: 0|2|28, proto?: number, src?/dst?/rtAddr?: { addr: Uint8Array(16),
//   mask: Uint8Array(16), neg?: boolean, portOp?: number, ports?: [number, number] (host order) },
//   ifname?: string, label?: string, killMatch?: boolean, nat?: boolean }
KillFilter KillFilterFromJs(const Napi::Object& o);

}  // namespace pf
