// Where an ioctl goes: the real /dev/pf, or the simulated kernel. The device layer cannot tell
// them apart except by describe(), so every probe, read and kill path is exercised by the tests.
#pragma once
#include <cstdint>
#include <string>

namespace pf {

class IoctlTarget {
 public:
  virtual ~IoctlTarget() = default;
  // 0 on success, else an errno, exactly like ioctl(2) on FreeBSD.
  virtual int Ioctl(uint32_t cmd, void* arg) = 0;
  virtual std::string Name() const = 0;
};

}  // namespace pf
