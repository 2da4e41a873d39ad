// Placeholder until this module lands.
#include "../modules.h"

namespace sk {
void InitPfDevice(Napi::Env, Napi::Object) {}
}  // namespace sk
