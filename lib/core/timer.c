/* The timer wheel (see timer.h).
 *
 * Invariants, with d_k(x) the k-th 6-bit digit of x:
 * - a timer in level k, slot j has d_k(when) == j > d_k(cur), and the digits
 *   of `when` above k equal those of cur;
 * - so every timer of level k is earlier than every timer of level k + 1,
 *   and within a level the slots after d_k(cur) are in deadline order;
 * - a level-0 slot holds one deadline; every slot list is in start order
 *   (a timer only reaches a slot by moving down before any timer can be
 *   started straight into it), so equal deadlines fire in start order;
 * - `due` holds the timers started for a time before cur, in deadline order.
 * When cur reaches the start of a slot's range (its lower digits all zero),
 * that slot's timers move down, the highest level first. */
#include "timer.h"

#include <sipsrv/error.h>

#include <string.h>

static unsigned digit(uint64_t x, unsigned k)
{
  return (unsigned)(x >> (SS_WHEEL_BITS * k)) & (SS_WHEEL_SLOTS - 1);
}

/* The first time level k, slot j covers, for the current time cur. */
static uint64_t slot_start(uint64_t cur, unsigned k, unsigned j)
{
  unsigned above = SS_WHEEL_BITS * (k + 1);
  uint64_t high = above >= 64 ? 0 : cur >> above << above;
  return high | ((uint64_t)j << (SS_WHEEL_BITS * k));
}

static void list_init(ss_tlink *l)
{
  l->prev = l->next = l;
}

static bool list_empty(const ss_tlink *l)
{
  return l->next == l;
}

static void link_before(ss_tlink *pos, ss_tlink *n)
{
  n->prev = pos->prev;
  n->next = pos;
  pos->prev->next = n;
  pos->prev = n;
}

/* Where armed timer t is: false for the due list, else its level and slot
 * (the invariants above give them from its deadline and cur). */
static bool locate(const ss_timers *ts, const ss_timer *t, unsigned *k, unsigned *j)
{
  uint64_t d;
  if (t->when < ts->cur)
    return false;
  d = t->when ^ ts->cur;
  *k = d ? (unsigned)(63 - __builtin_clzll(d)) / SS_WHEEL_BITS : 0;
  *j = digit(t->when, *k);
  return true;
}

/* Put an armed timer where its deadline belongs relative to cur. */
static void place(ss_timers *ts, ss_timer *t)
{
  unsigned k, j;
  uint64_t bit;

  if (!locate(ts, t, &k, &j)) {
    ss_tlink *pos = &ts->due;
    while (pos->prev != &ts->due && ((ss_timer *)pos->prev)->when > t->when)
      pos = pos->prev;                   /* after the equal ones: start order */
    link_before(pos, &t->link);
    return;
  }
  bit = (uint64_t)1 << j;
  link_before(&ts->slot[k][j], &t->link);
  if (k && !(ts->occupied[k] & bit)) {
    ts->slot_min[k][j] = t->when;        /* the first: its own minimum */
    ts->min_stale[k] &= ~bit;
  } else if (k && t->when < ts->slot_min[k][j]) {
    ts->slot_min[k][j] = t->when;        /* (a stale one stays stale) */
  }
  ts->occupied[k] |= bit;
}

/* Unlink t, clearing its slot's bit when that leaves the slot empty. */
static void unlink_timer(ss_timers *ts, ss_timer *t)
{
  ss_tlink *prev = t->link.prev, *next = t->link.next;
  unsigned k, j;

  prev->next = next;
  next->prev = prev;
  if (locate(ts, t, &k, &j)) {
    uint64_t bit = (uint64_t)1 << j;
    if (prev == next)
      ts->occupied[k] &= ~bit;           /* the slot is empty now */
    else if (k && t->when == ts->slot_min[k][j])
      ts->min_stale[k] |= bit;           /* maybe its only earliest one */
  }
  t->link.prev = t->link.next = NULL;
}

/* cur has just moved: bring down the slots whose range starts here. */
static void cascade(ss_timers *ts)
{
  for (unsigned k = SS_WHEEL_LEVELS - 1; k > 0; k--) {
    unsigned j;
    ss_tlink moving;
    if (ts->cur & ((((uint64_t)1) << (SS_WHEEL_BITS * k)) - 1))
      continue;                          /* not the start of a level-k slot */
    j = digit(ts->cur, k);
    if (!(ts->occupied[k] & ((uint64_t)1 << j)))
      continue;
    /* Detach the whole list, then place each in order (start order kept). */
    moving = ts->slot[k][j];
    moving.next->prev = &moving;
    moving.prev->next = &moving;
    list_init(&ts->slot[k][j]);
    ts->occupied[k] &= ~((uint64_t)1 << j);
    while (!list_empty(&moving)) {
      ss_timer *t = (ss_timer *)moving.next;
      moving.next = t->link.next;
      moving.next->prev = &moving;
      place(ts, t);
    }
  }
}

/* The first slot after digit d (or from d itself when `from`) in mask. */
static bool first_after(uint64_t mask, unsigned d, bool from, unsigned *j)
{
  unsigned start = from ? d : d + 1;
  if (start >= 64)
    return false;
  mask &= ~(uint64_t)0 << start;
  if (!mask)
    return false;
  *j = (unsigned)__builtin_ctzll(mask);
  return true;
}

/* The next time after cur at which something happens in the wheel: a
 * level-0 slot to fire or a higher slot to bring down. */
static bool next_event(const ss_timers *ts, uint64_t *at)
{
  for (unsigned k = 0; k < SS_WHEEL_LEVELS; k++) {
    unsigned j;
    if (first_after(ts->occupied[k], digit(ts->cur, k), false, &j)) {
      *at = slot_start(ts->cur, k, j);
      return true;                       /* lower levels are earlier */
    }
  }
  return false;
}

void ss_timers_init(ss_timers *ts, const sipsrv_core *core)
{
  (void)core;
  memset(ts->occupied, 0, sizeof ts->occupied);
  memset(ts->min_stale, 0, sizeof ts->min_stale);
  for (unsigned k = 0; k < SS_WHEEL_LEVELS; k++)
    for (unsigned j = 0; j < SS_WHEEL_SLOTS; j++)
      list_init(&ts->slot[k][j]);
  list_init(&ts->due);
  ts->cur = 0;
  ts->n = 0;
}

void ss_timers_fini(ss_timers *ts)
{
  ss_timer *t;
  while ((t = ss_timers_any(ts)))
    ss_timer_stop(ts, t);
}

void ss_timer_init(ss_timer *t)
{
  memset(t, 0, sizeof *t);
}

bool ss_timer_armed(const ss_timer *t)
{
  return t->link.next != NULL;
}

void ss_timer_stop(ss_timers *ts, ss_timer *t)
{
  if (!t->link.next || t->owner != ts)
    return;
  unlink_timer(ts, t);
  ts->n--;
}

int ss_timer_start(ss_timers *ts, ss_timer *t, uint64_t when, ss_timer_fn fn, void *arg)
{
  if (t->link.next) {
    if (t->owner == ts)
      ss_timer_stop(ts, t);
    else
      ss_timer_stop(t->owner, t);        /* moves to this wheel */
  }
  t->when = when;
  t->fn = fn;
  t->arg = arg;
  t->owner = ts;
  place(ts, t);
  ts->n++;
  return 0;
}

int ss_timers_next(const ss_timers *ts, uint64_t *when)
{
  unsigned j;

  if (!ts->n)
    return SIPSRV_E_NOTFOUND;
  if (!list_empty(&ts->due)) {
    *when = ((const ss_timer *)ts->due.next)->when;
    return 0;
  }
  if (first_after(ts->occupied[0], digit(ts->cur, 0), true, &j)) {
    *when = slot_start(ts->cur, 0, j);
    return 0;
  }
  /* The first occupied slot of the lowest occupied level: the earliest of
   * its timers (their deadlines differ below that level). */
  for (unsigned k = 1; k < SS_WHEEL_LEVELS; k++)
    if (first_after(ts->occupied[k], digit(ts->cur, k), true, &j)) {
      /* Its earliest timer was stopped: the slot's start, when
       * ss_timers_expire() brings its timers down a level and the answer
       * is exact again. Searching the slot instead cost a stateful proxy
       * 5% of its CPU at 2000 calls/s: transactions stop their timers in
       * the order they started them, so the earliest of a slot of a
       * hundred goes on nearly every response. */
      *when = ts->min_stale[k] & ((uint64_t)1 << j) ? slot_start(ts->cur, k, j)
                                                     : ts->slot_min[k][j];
      return 0;
    }
  return SIPSRV_E_NOTFOUND;              /* not reached: n counts them */
}

static void fire(ss_timers *ts, ss_timer *t)
{
  unlink_timer(ts, t);
  ts->n--;
  t->fn(t, t->arg);
}

int ss_timers_expire(ss_timers *ts, uint64_t now)
{
  int fired = 0;

  for (;;) {
    ss_tlink *head;
    uint64_t at;
    /* Started for a time already passed (also by a callback of this call):
     * earlier than anything in the wheel. */
    if (!list_empty(&ts->due) && ((ss_timer *)ts->due.next)->when <= now) {
      fire(ts, (ss_timer *)ts->due.next);
      fired++;
      continue;
    }
    if (ts->cur > now || !ts->n)
      break;
    head = &ts->slot[0][digit(ts->cur, 0)];
    if (!list_empty(head)) {             /* due now, in start order */
      fire(ts, (ss_timer *)head->next);
      fired++;
      continue;
    }
    /* Nothing more at cur: on to the next event, or past now. */
    if (next_event(ts, &at) && at <= now)
      ts->cur = at;
    else if (now == UINT64_MAX)
      break;                             /* cur stays: nothing is due */
    else
      ts->cur = now + 1;
    cascade(ts);
  }
  /* Keep cur up with the clock even with nothing armed, so that later
   * starts land in the low levels. */
  if (!ts->n && ts->cur <= now && now != UINT64_MAX)
    ts->cur = now + 1;
  return fired;
}

ss_timer *ss_timers_any(ss_timers *ts)
{
  if (!ts->n)
    return NULL;
  if (!list_empty(&ts->due))
    return (ss_timer *)ts->due.next;
  for (unsigned k = 0; k < SS_WHEEL_LEVELS; k++)
    if (ts->occupied[k])
      return (ss_timer *)ts->slot[k][__builtin_ctzll(ts->occupied[k])].next;
  return NULL;
}
