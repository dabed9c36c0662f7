/* Private: a hierarchical timer wheel of intrusive timers on absolute
 * millisecond deadlines.
 *
 * A timer is a struct embedded in its owner (no allocation per start). The
 * wheel has SS_WHEEL_LEVELS levels of 64 slots; level k holds the timers
 * whose deadline first differs from the wheel's current time in bits
 * 6k..6k+5, so every deadline of the 64-bit range has a place and nothing
 * overflows. Start and stop are O(1); a timer moves down one level at a time
 * as the wheel's time reaches its slot (at most SS_WHEEL_LEVELS - 1 moves in
 * its life, usually two or three). The next deadline is the first occupied
 * slot's, found with one bit scan per level (above level 0, the slot keeps
 * its earliest deadline; once the timer that had it was stopped, the slot's
 * start stands for it: see ss_timers_next()). Time comes from the caller:
 * nothing here reads a clock. */
#ifndef SS_TIMER_H
#define SS_TIMER_H

#include "core_int.h"

#include <stdbool.h>
#include <stdint.h>

#define SS_WHEEL_BITS 6
#define SS_WHEEL_SLOTS (1u << SS_WHEEL_BITS)
#define SS_WHEEL_LEVELS 11  /* 11 x 6 bits >= 64 */

typedef struct ss_timer ss_timer;
typedef struct ss_timers ss_timers;
typedef void (*ss_timer_fn)(ss_timer *t, void *arg);

/* A doubly linked list node; a slot's head is one too. */
typedef struct ss_tlink {
  struct ss_tlink *prev, *next;
} ss_tlink;

struct ss_timer {
  ss_tlink link;      /* first: a link is its timer; next == NULL when not armed */
  uint64_t when;      /* absolute deadline, ms */
  ss_timers *owner;   /* the wheel it is armed in */
  ss_timer_fn fn;
  void *arg;
};

struct ss_timers {
  ss_tlink slot[SS_WHEEL_LEVELS][SS_WHEEL_SLOTS];
  uint64_t occupied[SS_WHEEL_LEVELS]; /* bit j: slot j is not empty */
  /* Above level 0, a slot's earliest deadline (its timers differ in the
   * lower digits), for ss_timers_next(); a stale bit when its earliest
   * timer was stopped (then the slot's start stands for it until its
   * timers come down a level). */
  uint64_t slot_min[SS_WHEEL_LEVELS][SS_WHEEL_SLOTS];
  uint64_t min_stale[SS_WHEEL_LEVELS];
  ss_tlink due;       /* started for a time already passed, by deadline */
  uint64_t cur;       /* every timer due before this has fired */
  size_t n;           /* armed timers */
};

/* The wheel must stay where it was initialised (its slots point at
 * themselves). core is unused: the wheel allocates nothing. */
void ss_timers_init(ss_timers *ts, const sipsrv_core *core);
/* Disarms what is left (no callback). */
void ss_timers_fini(ss_timers *ts);

/* A timer that was never started must be initialised (not armed). */
void ss_timer_init(ss_timer *t);
bool ss_timer_armed(const ss_timer *t);

/* Arm t to fire fn(t, arg) at `when` (re-arming it if armed). Always 0. */
int ss_timer_start(ss_timers *ts, ss_timer *t, uint64_t when, ss_timer_fn fn, void *arg);
/* Disarm t; no-op if not armed in ts. */
void ss_timer_stop(ss_timers *ts, ss_timer *t);

/* When ss_timers_expire() is next needed: 0 with *when set, or
 * SIPSRV_E_NOTFOUND. That is the earliest deadline, or earlier, the start
 * of a higher slot whose earliest timer was stopped: there its timers come
 * down a level (nothing fires) and the answer after is exact. So at most
 * one such early call per wheel slot and level. */
int ss_timers_next(const ss_timers *ts, uint64_t *when);
/* Fire every timer due at `now`, in deadline order (equal deadlines in start
 * order); a callback may start or stop timers, and one it starts for a time
 * <= now fires in this call too. Returns the number fired. */
int ss_timers_expire(ss_timers *ts, uint64_t now);
/* Any armed timer (to empty the wheel), or NULL. */
ss_timer *ss_timers_any(ss_timers *ts);

#endif
