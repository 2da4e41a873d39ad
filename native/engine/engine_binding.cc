// Placeholder until this module lands.
#include "../modules.h"

namespace sk {
void InitEngine(Napi::Env, Napi::Object) {}
}  // namespace sk
