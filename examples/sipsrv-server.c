/* sipsrv-server: the all-in-one SIP server.
 *
 *   sipsrv-server [--domain D] [--listen udp|tcp:IP:PORT]...
 *                 [--role proxy|redirect] [--mode stateless|stateful|dialog]
 *                 [--store memory|sqlite:PATH] [--users FILE] [--to HOST[:PORT]]
 *                 [--resolv-conf FILE] [--log-level L] [--threads N]
 *                 [--limit-source RATE[:BURST]] [--limit-user RATE[:BURST]]
 *                 [--limit-drop 0|1] [--auth-lockout FAILURES[:MS]]
 *
 * One process, one core per thread (--threads, default 1), these roles in
 * this order on each:
 * - a registrar for D (REGISTER; with --users, digest MD5 against FILE's
 *   "user:password" lines);
 * - a proxy (the default, stateful; --mode stateless or dialog) that sends
 *   requests for users of D to their registered contacts and other requests
 *   to --to (403 without it); with --users, calls from users of D
 *   authenticate too (407, stateful modes); or, with --role redirect, a
 *   redirect server that answers 302/300 with the contacts instead;
 * - a UAS that answers what is for the server itself (OPTIONS pings).
 *
 * Defaults: domain localhost, UDP and TCP on 127.0.0.1:5060, a stateful
 * proxy, the memory store, no authentication. It prints what it listens
 * on, a one-line summary of its counters on SIGUSR1 and at exit, and stops
 * cleanly on SIGINT and SIGTERM.
 *
 * With --threads N (2 or more), N loops in a group (loop.h) share each UDP
 * and TCP port and the memory store; each message is handled by the thread
 * that owns its Call-ID, and a TCP connection is written by the thread
 * that accepted or opened it. The memory store only.
 *
 * Flood protection (sipsrv_core_set_limits()): --limit-source and
 * --limit-user cap new requests a second per source address and per From
 * user (503 with Retry-After above, or dropped with --limit-drop 1); off by
 * default. --auth-lockout locks a user out from a source after FAILURES
 * wrong digest responses in a row, for MS (doubling each time); default
 * 5:30000, 0 turns it off. */
#include <sipsrv/sipsrv.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LISTEN 16
#define MAX_THREADS 64

/* What one thread runs: a core, its loop and its roles. */
typedef struct worker {
  sipsrv_core *core;
  sipsrv_loop *loop;
  sipsrv_resolver *resolver;
  sipsrv_registrar *reg;
  sipsrv_redirect *rd;
  sipsrv_proxy *proxy;
  sipsrv_uas *uas;
  pthread_t thread;
  int running;
} worker;

typedef struct app {
  sipsrv_core *core;          /* worker 0's */
  sipsrv_store *store;
  worker w[MAX_THREADS];
  int nw;
  sipsrv_loop_group *group;
  sipsrv_limits limits;       /* every worker's core */
  uint64_t started;
  int level;
} app;

static void log_stderr(sipsrv_log_level level, const char *msg, void *user)
{
  (void)user;
  fprintf(stderr, "sipsrv-server: %s: %s\n", sipsrv_log_level_name(level), msg);
}

static void sweep(void *user)     /* expired bindings go once a second */
{
  app *a = user;
  sipsrv_store_expire(a->store, (int64_t)sipsrv_clock_realtime(NULL));
  sipsrv_core_timer_new(a->core, 1000, sweep, a, NULL);
}

/* The counters of every thread on one line (stdout, flushed). */
static void summary(app *a)
{
  sipsrv_counters c, t;
  size_t dialogs = 0;
  int bindings = sipsrv_store_count(a->store);
  memset(&c, 0, sizeof c);
  for (int k = 0; k < a->nw; k++) {
    uint64_t *sum = (uint64_t *)(void *)&c;
    const uint64_t *one = (const uint64_t *)(const void *)&t;
    if (!a->w[k].core || sipsrv_core_counters(a->w[k].core, &t, sizeof t) < 0)
      continue;
    /* sipsrv_counters is all uint64_t (core.h). */
    for (size_t i = 0; i < sizeof c / sizeof(uint64_t); i++)
      sum[i] += one[i];
    dialogs += a->w[k].proxy ? sipsrv_proxy_dialog_count(a->w[k].proxy) : 0;
  }
  printf("sipsrv-server: up %llus; requests in %llu out %llu; responses in %llu/%llu/%llu/%llu/%llu/%llu"
         " out %llu/%llu/%llu/%llu/%llu/%llu (1xx-6xx); retransmissions in %llu out %llu;"
         " transactions %llu live %llu; dialogs %zu; bindings %d; rejected %llu;"
         " dropped malformed %llu not-ours %llu unmatched %llu; send failures %llu;"
         " rate-limited %llu; auth failures %llu locked %llu; responses relayed from bytes %llu",
         (unsigned long long)((sipsrv_clock_monotonic(NULL) - a->started) / 1000),
         (unsigned long long)c.requests_in, (unsigned long long)c.requests_out,
         (unsigned long long)c.responses_in[0], (unsigned long long)c.responses_in[1],
         (unsigned long long)c.responses_in[2], (unsigned long long)c.responses_in[3],
         (unsigned long long)c.responses_in[4], (unsigned long long)c.responses_in[5],
         (unsigned long long)c.responses_out[0], (unsigned long long)c.responses_out[1],
         (unsigned long long)c.responses_out[2], (unsigned long long)c.responses_out[3],
         (unsigned long long)c.responses_out[4], (unsigned long long)c.responses_out[5],
         (unsigned long long)c.retransmissions_in, (unsigned long long)c.retransmissions_out,
         (unsigned long long)c.transactions, (unsigned long long)c.transactions_live,
         dialogs, bindings < 0 ? 0 : bindings,
         (unsigned long long)c.rejected, (unsigned long long)c.dropped_malformed,
         (unsigned long long)c.dropped_not_ours, (unsigned long long)c.dropped_unmatched,
         (unsigned long long)c.send_failures, (unsigned long long)c.rate_limited,
         (unsigned long long)c.auth_failures, (unsigned long long)c.auth_locked,
         (unsigned long long)c.responses_relayed);
  if (a->group)
    printf("; threads %d, handed over %llu", a->nw,
           (unsigned long long)sipsrv_loop_group_handoffs(a->group));
  printf("\n");
  fflush(stdout);
}

static void on_usr1(int signo, void *user)
{
  (void)signo;
  summary(user);
}

static void on_dialog(sipsrv_proxy *p, const sipsrv_dialog_info *d, void *user)
{
  app *a = user;
  (void)p;
  if (a->level >= SIPSRV_LOG_INFO)
    fprintf(stderr, "sipsrv-server: dialog %s %s -> %s (%d)\n", d->ended_ms ? "ended" : "started",
            d->from_uri, d->to_uri, d->end_status);
}

/* "sip:..." or "sips:..." is a URI already; "sip.example.com" is a host. */
static int has_scheme(const char *s)
{
  return strncmp(s, "sip:", 4) == 0 || strncmp(s, "sips:", 5) == 0;
}

static int usage(void)
{
  fprintf(stderr, "usage: sipsrv-server [--domain D] [--listen udp|tcp:IP:PORT]... [--role "
                  "proxy|redirect] [--mode stateless|stateful|dialog] [--store memory|sqlite:PATH] "
                  "[--users FILE] [--to HOST[:PORT]] [--resolv-conf FILE] [--log-level L] [--threads N] "
                  "[--limit-source RATE[:BURST]] [--limit-user RATE[:BURST]] [--limit-drop 0|1] "
                  "[--auth-lockout FAILURES[:MS]]\n");
  return 2;
}

/* "A" or "A:B" into two numbers (B 0 when absent); -1 when malformed. */
static int pair(const char *v, unsigned *a, unsigned *b)
{
  char *end;
  unsigned long x = strtoul(v, &end, 10), y = 0;
  if (end == v || x > 0xffffffffUL)
    return -1;
  if (*end == ':') {
    const char *p = end + 1;
    y = strtoul(p, &end, 10);
    if (end == p || y > 0xffffffffUL)
      return -1;
  }
  if (*end)
    return -1;
  *a = (unsigned)x;
  *b = (unsigned)y;
  return 0;
}

static void *run_worker(void *arg)
{
  worker *w = arg;
  sipsrv_loop_run(w->loop);
  return NULL;
}

/* Worker k: its core (worker 0 has one already), loop, resolver and roles. */
static int worker_new(app *a, int k, sipsrv_core_cfg *ccfg, sipsrv_registrar_cfg *gcfg,
                      sipsrv_proxy_cfg *pcfg, const sipsrv_redirect_cfg *rcfg, int redirect,
                      const char *resolv_conf)
{
  worker *w = &a->w[k];
  if (!w->core && sipsrv_core_new(&w->core, ccfg) < 0)
    return -1;
  if (sipsrv_core_set_limits(w->core, &a->limits, sizeof a->limits) < 0)
    return -1;
  if (sipsrv_loop_new(&w->loop, w->core) < 0 ||
      (k == 0 && (sipsrv_loop_on_signal(w->loop, SIGUSR1, on_usr1, a) < 0 ||
                  sipsrv_loop_handle_signals(w->loop) < 0)) ||
      sipsrv_loop_resolver_new(&w->resolver, w->loop, resolv_conf) < 0) {
    fprintf(stderr, "sipsrv-server: cannot set up the event loop\n");
    return -1;
  }
  pcfg->resolver = w->resolver;
  /* Attach order: the registrar claims REGISTER for D, the proxy or the
   * redirect server what goes elsewhere, the UAS what is for the server. */
  if (sipsrv_registrar_new(&w->reg, w->core, gcfg) < 0) {
    fprintf(stderr, "sipsrv-server: cannot make the registrar\n");
    return -1;
  }
  if (redirect ? sipsrv_redirect_new(&w->rd, w->core, rcfg) < 0
               : sipsrv_proxy_new(&w->proxy, w->core, pcfg) < 0) {
    fprintf(stderr, "sipsrv-server: cannot make the %s (bad --to?)\n", redirect ? "redirect server" : "proxy");
    return -1;
  }
  if (sipsrv_uas_new(&w->uas, w->core, NULL) < 0 ||
      (k == 0 && sipsrv_core_timer_new(w->core, 1000, sweep, a, NULL) < 0))
    return -1;
  return 0;
}

/* "udp:IP:PORT" with PORT replaced by port (the port worker 0 got). */
static void with_port(const char *spec, unsigned port, char *out, size_t size)
{
  const char *colon = strrchr(spec, ':');
  snprintf(out, size, "%.*s:%u", (int)(colon ? colon - spec : (long)strlen(spec)), spec, port);
}

int main(int argc, char **argv)
{
  const char *listen[MAX_LISTEN], *domains[2] = { "localhost", NULL }, *db = NULL, *to = NULL,
             *users = NULL, *resolv_conf = NULL;
  int nlisten = 0, rc = 1, redirect = 0, threads = 1, ran = 0;
  sipsrv_limits limits = SIPSRV_LIMITS_INIT;
  char hop[300], err[256];
  static app a;
  sipsrv_core_cfg ccfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_registrar_cfg gcfg = SIPSRV_REGISTRAR_CFG_INIT;
  sipsrv_proxy_cfg pcfg = SIPSRV_PROXY_CFG_INIT;
  sipsrv_redirect_cfg rcfg = SIPSRV_REDIRECT_CFG_INIT;
  sipsrv_store_sqlite_cfg scfg = SIPSRV_STORE_SQLITE_CFG_INIT;
  sipsrv_loop *loops[MAX_THREADS];

  a.level = SIPSRV_LOG_WARN;
  pcfg.mode = SIPSRV_PROXY_STATEFUL;
  limits.auth_failures = 5;
  limits.auth_lockout_ms = 30000;
  for (int i = 1; i < argc; i += 2) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v)
      return usage();
    if (strcmp(argv[i], "--listen") == 0 && nlisten < MAX_LISTEN)
      listen[nlisten++] = v;
    else if (strcmp(argv[i], "--domain") == 0)
      domains[0] = v;
    else if (strcmp(argv[i], "--role") == 0 && (!strcmp(v, "proxy") || !strcmp(v, "redirect")))
      redirect = strcmp(v, "redirect") == 0;
    else if (strcmp(argv[i], "--mode") == 0 && !strcmp(v, "stateless"))
      pcfg.mode = SIPSRV_PROXY_STATELESS;
    else if (strcmp(argv[i], "--mode") == 0 && !strcmp(v, "stateful"))
      pcfg.mode = SIPSRV_PROXY_STATEFUL;
    else if (strcmp(argv[i], "--mode") == 0 && !strcmp(v, "dialog"))
      pcfg.mode = SIPSRV_PROXY_DIALOG;
    else if (strcmp(argv[i], "--store") == 0 && (!strcmp(v, "memory") || !strncmp(v, "sqlite:", 7)))
      db = strcmp(v, "memory") ? v + 7 : NULL;
    else if (strcmp(argv[i], "--users") == 0)
      users = v;
    else if (strcmp(argv[i], "--to") == 0)
      to = v;
    else if (strcmp(argv[i], "--resolv-conf") == 0)
      resolv_conf = v;
    else if (strcmp(argv[i], "--log-level") == 0 && (a.level = sipsrv_log_level_parse(v)) >= 0)
      ;
    else if (strcmp(argv[i], "--threads") == 0 && (threads = atoi(v)) >= 1 && threads <= MAX_THREADS)
      ;
    else if (strcmp(argv[i], "--limit-source") == 0 &&
             pair(v, &limits.source_rate, &limits.source_burst) == 0)
      ;
    else if (strcmp(argv[i], "--limit-user") == 0 &&
             pair(v, &limits.user_rate, &limits.user_burst) == 0)
      ;
    else if (strcmp(argv[i], "--limit-drop") == 0 && (!strcmp(v, "0") || !strcmp(v, "1")))
      limits.drop = strcmp(v, "1") == 0;
    else if (strcmp(argv[i], "--auth-lockout") == 0 &&
             pair(v, &limits.auth_failures, &limits.auth_lockout_ms) == 0)
      ;
    else
      return usage();
  }
  if (threads > 1 && db) {
    fprintf(stderr, "sipsrv-server: --threads needs the memory store (the SQLite store is one thread's)\n");
    return 2;
  }
  if (!nlisten) {
    listen[nlisten++] = "udp:127.0.0.1:5060";
    listen[nlisten++] = "tcp:127.0.0.1:5060";
  }
  ccfg.clock = sipsrv_clock_monotonic;
  ccfg.wall_clock = sipsrv_clock_realtime;
  ccfg.log_cb = log_stderr;
  ccfg.log_level = (sipsrv_log_level)a.level;
  scfg.path = db;
  scfg.errmsg = err;
  scfg.errmsg_size = sizeof err;
  a.started = sipsrv_clock_monotonic(NULL);
  a.nw = threads;
  a.limits = limits;
  if (sipsrv_core_new(&a.w[0].core, &ccfg) < 0)
    goto out;
  a.core = a.w[0].core;
  if (db ? sipsrv_store_sqlite_new(&a.store, a.core, &scfg) < 0
         : sipsrv_store_memory_new(&a.store, a.core) < 0) {
    fprintf(stderr, "sipsrv-server: %s\n", db ? err : "no memory");
    goto out;
  }
  gcfg.domains = pcfg.domains = rcfg.domains = domains;
  gcfg.store = pcfg.location = rcfg.location = a.store;
  if (users) {   /* MD5: the one algorithm sipp and sipsak answer */
    unsigned line;
    int n = sipsrv_store_load_users(a.store, users, domains[0], &line);
    if (n < 0) {
      fprintf(stderr, "sipsrv-server: %s:%u: %s\n", users, line, sipsrv_strerror(n));
      goto out;
    }
    gcfg.auth_realm = domains[0];
    gcfg.auth_algs = pcfg.auth_algs = SIPSRV_DIGEST_MD5;
    if (pcfg.mode != SIPSRV_PROXY_STATELESS)
      pcfg.auth_realm = domains[0];
  }
  if (to) {
    snprintf(hop, sizeof hop, "%s%s", has_scheme(to) ? "" : "sip:", to);
    pcfg.next_hop = hop;
  }
  pcfg.on_dialog = on_dialog;
  pcfg.user = &a;
  /* Worker 0 first: it blocks the signals it reads, and the threads
   * started later inherit that mask, so signals reach worker 0 only. */
  for (int k = 0; k < threads; k++) {
    if (worker_new(&a, k, &ccfg, &gcfg, &pcfg, &rcfg, redirect, resolv_conf) < 0)
      goto out;
    loops[k] = a.w[k].loop;
  }
  if (threads > 1 && sipsrv_loop_group_new(&a.group, loops, (size_t)threads) < 0) {
    fprintf(stderr, "sipsrv-server: cannot group the threads' loops\n");
    goto out;
  }
  for (int i = 0; i < nlisten; i++) {
    unsigned port = 0;
    for (int k = 0; k < threads; k++) {
      char spec[300];
      int e;
      if (k)
        with_port(listen[i], port, spec, sizeof spec);
      e = sipsrv_loop_listen(a.w[k].loop, k ? spec : listen[i], k ? NULL : &port);
      if (e < 0) {
        fprintf(stderr, "sipsrv-server: cannot listen on %s: %s\n", listen[i], sipsrv_strerror(e));
        goto out;
      }
    }
    printf("listening on %.3s port %u (%s)\n", listen[i], port, listen[i]);
  }
  printf("sipsrv-server: domain %s, %s%s, %s store%s", domains[0],
         redirect ? "redirect server"
         : pcfg.mode == SIPSRV_PROXY_STATELESS ? "stateless proxy"
         : pcfg.mode == SIPSRV_PROXY_DIALOG    ? "call-stateful proxy"
                                               : "stateful proxy",
         to && !redirect ? ", other domains via --to" : "", db ? "SQLite" : "memory",
         users ? ", digest authentication" : "");
  if (threads > 1)
    printf(", %d threads", threads);
  printf("\n");
  fflush(stdout);
  for (int k = 1; k < threads; k++) {
    if (pthread_create(&a.w[k].thread, NULL, run_worker, &a.w[k]) != 0) {
      fprintf(stderr, "sipsrv-server: cannot start thread %d\n", k);
      goto out;
    }
    a.w[k].running = 1;
  }
  rc = sipsrv_loop_run(a.w[0].loop) < 0;
  ran = 1;
out:
  for (int k = 1; k < threads; k++)
    if (a.w[k].running) {
      sipsrv_loop_stop(a.w[k].loop);
      pthread_join(a.w[k].thread, NULL);
      a.w[k].running = 0;
    }
  if (ran)
    summary(&a);
  sipsrv_loop_group_free(a.group);
  for (int k = threads - 1; k >= 0; k--) {
    worker *w = &a.w[k];
    sipsrv_proxy_free(w->proxy);
    sipsrv_redirect_free(w->rd);
    sipsrv_registrar_free(w->reg);
    sipsrv_uas_free(w->uas);
    sipsrv_resolver_free(w->resolver);
    sipsrv_loop_free(w->loop);
    if (k)
      sipsrv_core_free(w->core);
  }
  sipsrv_store_free(a.store);
  sipsrv_core_free(a.core);
  return rc;
}
