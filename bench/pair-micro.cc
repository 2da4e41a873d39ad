// The pair pass without Node (issue 14's profile method): generates the bench-profile table in the
// simulated kernel, reads it, selects gateway 198.51.100.1 and times PairOpposite, wall and thread CPU.
// Build and run from the repository root (no addon needed; one command line):
//   g++ -O2 -std=c++17 -Inative -o /tmp/pair-micro bench/pair-micro.cc native/engine/pair.cc
//       native/engine/select.cc native/pf/sim/{generator,kernel,kill,table,nv_ioctls}.cc
//       native/pf/{nv_requests,nvlist,nvlist_unpack,nvlist_legacy_size}.cc
//   /tmp/pair-micro 1000000 5        # states, repetitions (the first pays the page faults)
// Under valgrind --tool=callgrind --toggle-collect='engine::PairOpposite*' it counts instructions.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>
#include <ctime>
static double cpu(){timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t); return t.tv_sec*1e3+t.tv_nsec/1e6;}
#include "engine/pair.h"
#include "engine/select.h"
#include "pf/sim/generator.h"
#include "pf/sim/kernel.h"
using namespace std::chrono;
int main(int argc, char** argv) {
  size_t n = argc > 1 ? atol(argv[1]) : 1000000;
  int reps = argc > 2 ? atoi(argv[2]) : 3;
  pf::sim::Kernel k(pf::sim::Personality{14, false});
  pf::sim::GenSpec spec; spec.states = n; spec.seed = 1; spec.profile = "bench";
  pf::sim::Generate(k, spec);
  std::vector<uint8_t> buf(n * 384 + 64 * 384);
  pf::pfioc_states_v2 ps{}; ps.ps_len = int(buf.size()); ps.ps_req_version = pf::kStateVersion14; ps.ps_buf = buf.data();
  if (k.Ioctl(pf::DIOCGETSTATESV2, &ps)) return 1;
  size_t count = ps.ps_len / 384;
  const auto& o = pf::kExportOffsets;
  engine::Spec s; engine::CidrSpec g; g.af = pf::kAfInet; uint8_t gw[4] = {198,51,100,1}; memcpy(g.addr, gw, 4); memset(g.mask, 0xff, 4); s.gateways.push_back(g);
  std::vector<engine::Spec> specs{s};
  std::vector<int32_t> idx(count); std::vector<uint32_t> mask(count);
  size_t ns = engine::SelectRange(buf.data(), o, 0, count, specs, idx.data(), mask.data());
  for (int r = 0; r < reps; r++) {
    auto t = steady_clock::now(); double c0 = cpu();
    engine::PairResult pr = engine::PairOpposite(buf.data(), o, count, idx.data(), mask.data(), ns, true);
    double ms = duration<double, std::milli>(steady_clock::now() - t).count(); double cms = cpu() - c0;
    printf("n %zu selected %zu paired %zu amb %zu pair %.1f ms cpu %.1f ms\n", count, ns, pr.paired.index.size(), pr.ambiguous.index.size(), ms, cms);
  }
}
