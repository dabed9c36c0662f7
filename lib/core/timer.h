/* Private: a min-heap of intrusive timers on absolute millisecond deadlines.
 *
 * A timer is a struct embedded in its owner (no allocation per start); the
 * heap holds pointers to armed timers. Start, stop and re-arm are O(log n);
 * the next deadline is O(1). Time comes from the caller: nothing here reads a
 * clock. */
#ifndef SS_TIMER_H
#define SS_TIMER_H

#include "core_int.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct ss_timer ss_timer;
typedef void (*ss_timer_fn)(ss_timer *t, void *arg);

struct ss_timer {
  uint64_t when;      /* absolute deadline, ms */
  uint64_t seq;       /* start order: equal deadlines fire first-started first */
  size_t idx;         /* slot in the heap, SIZE_MAX when not armed */
  ss_timer_fn fn;
  void *arg;
};

struct ss_timers {
  const sipsrv_core *core;  /* allocator */
  ss_timer **heap;
  size_t n, cap;
  uint64_t seq;
};
typedef struct ss_timers ss_timers;

void ss_timers_init(ss_timers *ts, const sipsrv_core *core);
void ss_timers_fini(ss_timers *ts);

/* A timer that was never started must be initialised (not armed). */
void ss_timer_init(ss_timer *t);
bool ss_timer_armed(const ss_timer *t);

/* Arm t to fire fn(t, arg) at `when` (re-arming it if armed). 0 or SIPSRV_E_NOMEM. */
int ss_timer_start(ss_timers *ts, ss_timer *t, uint64_t when, ss_timer_fn fn, void *arg);
/* Disarm t; no-op if not armed. */
void ss_timer_stop(ss_timers *ts, ss_timer *t);

/* The earliest deadline: 0 with *when set, or SIPSRV_E_NOTFOUND. */
int ss_timers_next(const ss_timers *ts, uint64_t *when);
/* Fire every timer due at `now`, in deadline order (equal deadlines in start
 * order); a callback may start or stop timers, and one it starts for a time
 * <= now fires in this call too. Returns the number fired. */
int ss_timers_expire(ss_timers *ts, uint64_t now);

#endif
