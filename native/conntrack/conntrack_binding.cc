// Placeholder until this module lands.
#include "../modules.h"

namespace sk {
void InitConntrack(Napi::Env, Napi::Object) {}
}  // namespace sk
