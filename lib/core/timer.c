/* The timer heap (see timer.h). */
#include "timer.h"

#include <sipsrv/error.h>

#include <string.h>

void ss_timers_init(ss_timers *ts, const sipsrv_core *core)
{
  memset(ts, 0, sizeof *ts);
  ts->core = core;
}

void ss_timers_fini(ss_timers *ts)
{
  for (size_t i = 0; i < ts->n; i++)
    ts->heap[i]->idx = SIZE_MAX;
  ss_free(ts->core, ts->heap);
  ts->heap = NULL;
  ts->n = ts->cap = 0;
}

void ss_timer_init(ss_timer *t)
{
  memset(t, 0, sizeof *t);
  t->idx = SIZE_MAX;
}

bool ss_timer_armed(const ss_timer *t)
{
  return t->idx != SIZE_MAX;
}

static bool before(const ss_timer *a, const ss_timer *b)
{
  return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void place(ss_timers *ts, size_t i, ss_timer *t)
{
  ts->heap[i] = t;
  t->idx = i;
}

static void sift_up(ss_timers *ts, size_t i)
{
  ss_timer *t = ts->heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(t, ts->heap[parent]))
      break;
    place(ts, i, ts->heap[parent]);
    i = parent;
  }
  place(ts, i, t);
}

static void sift_down(ss_timers *ts, size_t i)
{
  ss_timer *t = ts->heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= ts->n)
      break;
    if (c + 1 < ts->n && before(ts->heap[c + 1], ts->heap[c]))
      c++;
    if (!before(ts->heap[c], t))
      break;
    place(ts, i, ts->heap[c]);
    i = c;
  }
  place(ts, i, t);
}

void ss_timer_stop(ss_timers *ts, ss_timer *t)
{
  size_t i = t->idx;
  ss_timer *last;

  if (i == SIZE_MAX || i >= ts->n || ts->heap[i] != t)
    return;
  t->idx = SIZE_MAX;
  last = ts->heap[--ts->n];
  if (i == ts->n)
    return;
  place(ts, i, last);
  if (i > 0 && before(last, ts->heap[(i - 1) / 2]))
    sift_up(ts, i);
  else
    sift_down(ts, i);
}

int ss_timer_start(ss_timers *ts, ss_timer *t, uint64_t when, ss_timer_fn fn, void *arg)
{
  ss_timer_stop(ts, t);
  if (ts->n == ts->cap) {
    size_t cap = ts->cap ? ts->cap * 2 : 64;
    ss_timer **h = ss_alloc(ts->core, cap * sizeof *h);
    if (!h)
      return SIPSRV_E_NOMEM;
    if (ts->n)
      memcpy(h, ts->heap, ts->n * sizeof *h);
    ss_free(ts->core, ts->heap);
    ts->heap = h;
    ts->cap = cap;
  }
  t->when = when;
  t->seq = ts->seq++;
  t->fn = fn;
  t->arg = arg;
  place(ts, ts->n++, t);
  sift_up(ts, ts->n - 1);
  return 0;
}

int ss_timers_next(const ss_timers *ts, uint64_t *when)
{
  if (!ts->n)
    return SIPSRV_E_NOTFOUND;
  *when = ts->heap[0]->when;
  return 0;
}

int ss_timers_expire(ss_timers *ts, uint64_t now)
{
  int fired = 0;
  while (ts->n && ts->heap[0]->when <= now) {
    ss_timer *t = ts->heap[0];
    ss_timer_stop(ts, t);
    fired++;
    t->fn(t, t->arg);
  }
  return fired;
}
