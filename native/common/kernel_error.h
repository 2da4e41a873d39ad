// What kernel-facing C++ code (pf device, pf netlink) throws: an errno and, for refusals, a
// statekill code. Plain C++ (no N-API), so the kernel code stays testable on its own; the
// bindings turn it into a StatekillError with sk::Guard (common/errors.h).
#pragma once
#include <stdexcept>
#include <string>

namespace sk {

struct KernelError : std::runtime_error {
  int err;
  std::string code;  // "" = the errno's own name
  KernelError(int e, std::string c, const std::string& m) : std::runtime_error(m), err(e), code(std::move(c)) {}
};

}  // namespace sk
