/* The cost of one trivial system call on this machine: ioctl(FIONREAD) on a pipe, which the kernel
 * answers without touching any table. A real pf kernel adds at least this per by-id kill (one
 * DIOCKILLSTATES/NV per state). bench/micro.mjs compiles and runs it; prints ns per call. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000000;
  int fds[2], avail = 0;
  if (pipe(fds) != 0) return 1;
  double best = 1e30;
  for (int round = 0; round < 5; round++) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++)
      if (ioctl(fds[0], FIONREAD, &avail) != 0) return 2;
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
    if (ns < best) best = ns;
  }
  printf("%.1f\n", best);
  return 0;
}
