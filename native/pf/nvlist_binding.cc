// Placeholder until this module lands.
#include "../modules.h"

namespace sk {
void InitNvlist(Napi::Env, Napi::Object) {}
}  // namespace sk
