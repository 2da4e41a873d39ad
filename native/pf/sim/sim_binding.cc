// Placeholder until this module lands.
#include "../../modules.h"

namespace sk {
void InitSim(Napi::Env, Napi::Object) {}
}  // namespace sk
