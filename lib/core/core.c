/* The core object: log callback and allocator shared by everything made from it. */
#include "core_obj.h"

#include <sipsrv/error.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

static void *libc_malloc(size_t size, void *user) { (void)user; return malloc(size); }
static void *libc_realloc(void *p, size_t size, void *user) { (void)user; return realloc(p, size); }
static void libc_free(void *p, void *user) { (void)user; free(p); }

static const sipsrv_allocator libc_alloc = { libc_malloc, libc_realloc, libc_free, NULL };

const sipsrv_allocator *ss_core_allocator(const sipsrv_core *core)
{
  return core ? &core->alloc : &libc_alloc;
}

void *ss_alloc(const sipsrv_core *core, size_t size)
{
  const sipsrv_allocator *a = core ? &core->alloc : &libc_alloc;
  return a->malloc_fn(size ? size : 1, a->user);
}

void *ss_zalloc(const sipsrv_core *core, size_t size)
{
  void *p = ss_alloc(core, size);
  if (p)
    memset(p, 0, size);
  return p;
}

void ss_free(const sipsrv_core *core, void *ptr)
{
  const sipsrv_allocator *a = core ? &core->alloc : &libc_alloc;
  if (ptr)
    a->free_fn(ptr, a->user);
}

int ss_log_enabled(const sipsrv_core *core, sipsrv_log_level level)
{
  return core && core->log_cb && level != SIPSRV_LOG_NONE && level <= core->log_level;
}

void ss_log(const sipsrv_core *core, sipsrv_log_level level, const char *fmt, ...)
{
  char buf[512];
  va_list ap;

  if (!ss_log_enabled(core, level))
    return;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  core->log_cb(level, buf, core->log_user);
}

const char *sipsrv_log_level_name(sipsrv_log_level level)
{
  static const char *const names[] = { "none", "error", "warn", "info", "debug", "trace" };
  if ((int)level < 0 || (size_t)level >= sizeof names / sizeof names[0])
    return "unknown";
  return names[level];
}

int sipsrv_log_level_parse(const char *name)
{
  if (!name || !*name)
    return SIPSRV_E_INVAL;
  if (name[0] >= '0' && name[0] <= '5' && name[1] == '\0')
    return name[0] - '0';
  for (int l = SIPSRV_LOG_NONE; l <= SIPSRV_LOG_TRACE; l++)
    if (strcasecmp(name, sipsrv_log_level_name((sipsrv_log_level)l)) == 0)
      return l;
  if (strcasecmp(name, "warning") == 0)
    return SIPSRV_LOG_WARN;
  return SIPSRV_E_INVAL;
}

static int level_ok(sipsrv_log_level level)
{
  return (int)level >= SIPSRV_LOG_NONE && level <= SIPSRV_LOG_TRACE;
}

int sipsrv_core_new(sipsrv_core **out, const sipsrv_core_cfg *cfg)
{
  static const sipsrv_core_cfg defaults = SIPSRV_CORE_CFG_INIT;
  const sipsrv_allocator *a;
  sipsrv_core *core;

  if (!out)
    return SIPSRV_E_INVAL;
  if (!cfg)
    cfg = &defaults;
  if (cfg->version != SIPSRV_CORE_CFG_VERSION)
    return SIPSRV_E_VERSION;
  a = cfg->alloc ? cfg->alloc : &libc_alloc;
  if (!a->malloc_fn || !a->realloc_fn || !a->free_fn || !level_ok(cfg->log_level))
    return SIPSRV_E_INVAL;
  /* RFC 3261 17.1.1.1: T1 is an estimate of the round trip, T2 the cap of
   * non-INVITE retransmission intervals; T1 <= T2. */
  if (!cfg->t1_ms || cfg->t2_ms < cfg->t1_ms || !cfg->t4_ms)
    return SIPSRV_E_INVAL;

  core = a->malloc_fn(sizeof *core, a->user);
  if (!core)
    return SIPSRV_E_NOMEM;
  memset(core, 0, sizeof *core);
  core->alloc = *a;
  core->log_cb = cfg->log_cb;
  core->log_user = cfg->log_user;
  core->log_level = cfg->log_level;
  core->clock = cfg->clock;
  core->clock_user = cfg->clock_user;
  core->wall_clock = cfg->wall_clock;
  core->wall_clock_user = cfg->wall_clock_user;
  core->t1 = cfg->t1_ms;
  core->t2 = cfg->t2_ms;
  core->t4 = cfg->t4_ms;
  ss_timers_init(&core->timers, core);
  ss_htab_init(&core->conns, core);
  /* Unpredictable tags (RFC 3261 19.3): a secret mixed into each. */
  if (getrandom(&core->secret, sizeof core->secret, GRND_NONBLOCK) != (ssize_t)sizeof core->secret)
    core->secret = (uint64_t)(uintptr_t)core ^ 0x5bd1e9955bd1e995ULL;
  *out = core;
  return 0;
}

static void app_timer_fire(ss_timer *tm, void *arg);

void sipsrv_core_free(sipsrv_core *core)
{
  if (!core)
    return;
  /* The layers above first (they stop their timers), then transports and
   * connections, then the timers. */
  if (core->has_sink && core->sink.fini)
    core->sink.fini(core->sink.self);
  core->has_sink = false;
  ss_core_io_fini(core);
  /* Application timers still armed are the core's to free. */
  for (ss_timer *tm; (tm = ss_timers_any(&core->timers));) {
    ss_timer_stop(&core->timers, tm);
    if (tm->fn == app_timer_fire)
      ss_free(core, tm->arg);
  }
  ss_timers_fini(&core->timers);
  ss_limiter_free(core->limiter);
  core->alloc.free_fn(core, core->alloc.user);
}

bool ss_core_has_clock(const sipsrv_core *core)
{
  return core->clock != NULL;
}

uint64_t ss_core_now(const sipsrv_core *core)
{
  return core->clock ? core->clock(core->clock_user) : 0;
}

bool ss_core_has_wall_clock(const sipsrv_core *core)
{
  return core->wall_clock != NULL;
}

int64_t ss_core_wall_now(const sipsrv_core *core)
{
  return core->wall_clock ? (int64_t)core->wall_clock(core->wall_clock_user) : 0;
}

ss_timers *ss_core_timers(sipsrv_core *core)
{
  return &core->timers;
}

void ss_core_timer_values(const sipsrv_core *core, uint32_t *t1, uint32_t *t2, uint32_t *t4)
{
  *t1 = core->t1;
  *t2 = core->t2;
  *t4 = core->t4;
}

int ss_core_set_sink(sipsrv_core *core, const ss_sink *sink)
{
  if (core->has_sink)
    return SIPSRV_E_EXISTS;
  core->sink = *sink;
  core->has_sink = true;
  return 0;
}

void *ss_core_sink_self(const sipsrv_core *core)
{
  return core->has_sink ? core->sink.self : NULL;
}

uint64_t ss_core_secret(const sipsrv_core *core)
{
  return core->secret;
}

const ss_counters *ss_core_counters(const sipsrv_core *core)
{
  return &core->counters;
}

ss_counters *ss_core_counters_of(sipsrv_core *core)
{
  return &core->counters;
}

int sipsrv_core_counters(const sipsrv_core *core, sipsrv_counters *out, size_t size)
{
  const ss_counters *c;
  sipsrv_counters all;
  if (!core || !out || size == 0)
    return SIPSRV_E_INVAL;
  c = &core->counters;
  memset(&all, 0, sizeof all);
  all.received = c->received;
  all.requests_in = c->requests_in;
  all.requests_out = c->requests_out;
  for (int i = 0; i < 6; i++) {
    all.responses_in[i] = c->responses_in[i];
    all.responses_out[i] = c->responses_out[i];
  }
  all.retransmissions_in = c->retrans_in;
  all.retransmissions_out = c->retrans_out;
  all.transactions = c->transactions;
  all.transactions_live = c->transactions_live;
  all.rejected = c->rejected;
  all.dropped_malformed = c->dropped_malformed;
  all.dropped_not_ours = c->dropped_not_ours;
  all.dropped_unmatched = c->dropped_unmatched;
  all.send_failures = c->send_failures;
  all.keepalives = c->keepalives;
  all.rate_limited = c->rate_limited;
  all.auth_failures = c->auth_failures;
  all.auth_locked = c->auth_locked;
  all.responses_relayed = c->responses_relayed;
  all.requests_relayed = c->requests_relayed;
  /* An older caller's smaller struct gets its own fields (appended only). */
  memcpy(out, &all, size < sizeof all ? size : sizeof all);
  return 0;
}

int sipsrv_core_next_timeout(const sipsrv_core *core, uint64_t *deadline_ms)
{
  if (!core || !deadline_ms)
    return SIPSRV_E_INVAL;
  return ss_timers_next(&core->timers, deadline_ms);
}

int sipsrv_core_expire(sipsrv_core *core)
{
  int n;
  if (!core)
    return SIPSRV_E_INVAL;
  if (!core->clock)
    return SIPSRV_E_STATE;
  n = ss_timers_expire(&core->timers, ss_core_now(core));
  if (core->has_sink && core->sink.after_expire)
    core->sink.after_expire(core->sink.self);
  return n;
}

int sipsrv_core_set_log(sipsrv_core *core, sipsrv_log_cb cb, sipsrv_log_level level, void *user)
{
  if (!core || !level_ok(level))
    return SIPSRV_E_INVAL;
  core->log_cb = cb;
  core->log_level = level;
  core->log_user = user;
  return 0;
}

struct sipsrv_timer {
  ss_timer tm;
  sipsrv_core *core;
  sipsrv_timer_cb cb;
  void *user;
};

static void app_timer_fire(ss_timer *tm, void *arg)
{
  sipsrv_timer *t = arg;
  sipsrv_timer_cb cb = t->cb;
  void *user = t->user;
  (void)tm;
  ss_free(t->core, t);
  cb(user);
}

int sipsrv_core_timer_new(sipsrv_core *core, uint64_t delay_ms, sipsrv_timer_cb cb, void *user,
                          sipsrv_timer **out)
{
  sipsrv_timer *t;
  if (!core || !cb)
    return SIPSRV_E_INVAL;
  if (!core->clock)
    return SIPSRV_E_STATE;
  t = ss_zalloc(core, sizeof *t);
  if (!t)
    return SIPSRV_E_NOMEM;
  ss_timer_init(&t->tm);
  t->core = core;
  t->cb = cb;
  t->user = user;
  if (ss_timer_start(&core->timers, &t->tm, ss_core_now(core) + delay_ms, app_timer_fire, t) < 0) {
    ss_free(core, t);
    return SIPSRV_E_NOMEM;
  }
  if (out)
    *out = t;
  return 0;
}

void sipsrv_timer_cancel(sipsrv_timer *t)
{
  if (!t)
    return;
  ss_timer_stop(&t->core->timers, &t->tm);
  ss_free(t->core, t);
}

int sipsrv_core_set_limits(sipsrv_core *core, const sipsrv_limits *limits, size_t size)
{
  sipsrv_limits l = SIPSRV_LIMITS_INIT;
  if (!core || (limits && size == 0))
    return SIPSRV_E_INVAL;
  if (limits)
    memcpy(&l, limits, size < sizeof l ? size : sizeof l);
  if (!core->limiter) {
    int rc;
    if (!limits)
      return 0;
    rc = ss_limiter_new(&core->limiter, core);
    if (rc < 0)
      return rc;
  }
  ss_limiter_set(core->limiter, &l);
  return 0;
}

ss_limiter *ss_core_limiter(sipsrv_core *core)
{
  return core->limiter;
}
