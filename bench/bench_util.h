/* What the socket-less benchmarks (bench_txn, bench_proxy) share: a
 * manual clock for the core and the process's CPU time. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <sipsrv/sipsrv.h>

#include <stdint.h>
#include <time.h>

/* The core's clock and wall clock: the uint64_t (ms) that user points to. */
static inline uint64_t bench_clock(void *user)
{
  return *(uint64_t *)user;
}

/* CPU time of the process so far, in seconds. */
static inline double bench_cpu_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A core on the manual clocks *now and *wall (ms), one UDP transport of
 * ops on 127.0.0.1:5060 and a memory store. 0, or -1. */
static inline int bench_core(sipsrv_core **core, sipsrv_transport **tp, sipsrv_store **store,
                             const struct sipsrv_transport_ops *ops, uint64_t *now,
                             uint64_t *wall)
{
  sipsrv_core_cfg cc = SIPSRV_CORE_CFG_INIT;
  cc.clock = bench_clock;
  cc.clock_user = now;
  cc.wall_clock = bench_clock;
  cc.wall_clock_user = wall;
  if (sipsrv_core_new(core, &cc) < 0 ||
      sipsrv_core_add_transport(*core, ops, NULL, "127.0.0.1", 5060, tp) < 0 ||
      sipsrv_store_memory_new(store, *core) < 0)
    return -1;
  return 0;
}

#endif
