// Placeholder until this module lands.
#include "../../modules.h"

namespace sk {
void InitPfNetlink(Napi::Env, Napi::Object) {}
}  // namespace sk
