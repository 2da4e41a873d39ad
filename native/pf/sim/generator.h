// Deterministic generator of realistic pf state tables (same seed, same table), for the demo,
// tests and benchmarks. The topology it draws from is fixed and documented in the README.
#pragma once
#include <cstdint>
#include <string>

#include "pf/sim/kernel.h"

namespace pf::sim {

struct GenSpec {
  uint64_t states = 1000000;
  uint64_t seed = 1;
  // "realistic": every kind of state (see generator.cc); "bench": 40% via GW_WAN1 with partners,
  // 40% via GW_WAN2 with partners, 20% local (LAN-to-LAN and to the firewall).
  std::string profile = "realistic";
};

// Adds exactly spec.states states to the kernel's table. Returns how many were added.
uint64_t Generate(Kernel& k, const GenSpec& spec);

}  // namespace pf::sim
