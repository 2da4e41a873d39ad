// DIOCKILLSTATESNV / DIOCCLRSTATESNV / DIOCGETSTATUSNV of the simulated kernel.
// (Wired to the nvlist codec when it lands; until then the NV commands answer ENODEV.)
#include <cerrno>

#include "pf/sim/kernel.h"

namespace pf::sim {

int Kernel::NvIoctl(uint32_t, pfioc_nv*) { return ENODEV; }

}  // namespace pf::sim
