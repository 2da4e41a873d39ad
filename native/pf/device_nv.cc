// The nvlist kill/clear/status paths of the device (DIOCKILLSTATESNV, DIOCCLRSTATESNV,
// DIOCGETSTATUSNV). Wired to the nvlist codec when it lands; until then NV is reported absent.
#include <cerrno>

#include "pf/device.h"

namespace pf {

int Device::ProbeNv() { return ENODEV; }
int Device::NvKillById(uint64_t, uint32_t, uint32_t*) { return ENODEV; }
int Device::NvKill(const KillFilter&, bool, uint32_t*) { return ENODEV; }
int Device::NvStatus(uint32_t*, uint32_t*) { return ENODEV; }

}  // namespace pf
