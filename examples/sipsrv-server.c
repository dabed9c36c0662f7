/* sipsrv-server: the all-in-one SIP server.
 *
 *   sipsrv-server [--domain D] [--listen udp|tcp:IP:PORT]...
 *                 [--role proxy|redirect] [--mode stateless|stateful|dialog]
 *                 [--store memory|sqlite:PATH] [--users FILE] [--to HOST[:PORT]]
 *                 [--resolv-conf FILE] [--log-level L]
 *
 * One process, one core, these roles in this order:
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
 * cleanly on SIGINT and SIGTERM. */
#include <sipsrv/sipsrv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LISTEN 16

typedef struct app {
  sipsrv_core *core;
  sipsrv_store *store;
  sipsrv_proxy *proxy;
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

/* The counters on one line (stdout, flushed). */
static void summary(app *a)
{
  sipsrv_counters c;
  int bindings = sipsrv_store_count(a->store);
  if (sipsrv_core_counters(a->core, &c, sizeof c) < 0)
    return;
  printf("sipsrv-server: up %llus; requests in %llu out %llu; responses in %llu/%llu/%llu/%llu/%llu/%llu"
         " out %llu/%llu/%llu/%llu/%llu/%llu (1xx-6xx); retransmissions in %llu out %llu;"
         " transactions %llu live %llu; dialogs %zu; bindings %d; rejected %llu;"
         " dropped malformed %llu not-ours %llu unmatched %llu; send failures %llu\n",
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
         a->proxy ? sipsrv_proxy_dialog_count(a->proxy) : (size_t)0, bindings < 0 ? 0 : bindings,
         (unsigned long long)c.rejected, (unsigned long long)c.dropped_malformed,
         (unsigned long long)c.dropped_not_ours, (unsigned long long)c.dropped_unmatched,
         (unsigned long long)c.send_failures);
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
                  "[--users FILE] [--to HOST[:PORT]] [--resolv-conf FILE] [--log-level L]\n");
  return 2;
}

int main(int argc, char **argv)
{
  const char *listen[MAX_LISTEN], *domains[2] = { "localhost", NULL }, *db = NULL, *to = NULL,
             *users = NULL, *resolv_conf = NULL;
  int nlisten = 0, rc = 1, redirect = 0;
  char hop[300], err[256];
  static app a;
  sipsrv_core_cfg ccfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_registrar_cfg gcfg = SIPSRV_REGISTRAR_CFG_INIT;
  sipsrv_proxy_cfg pcfg = SIPSRV_PROXY_CFG_INIT;
  sipsrv_redirect_cfg rcfg = SIPSRV_REDIRECT_CFG_INIT;
  sipsrv_store_sqlite_cfg scfg = SIPSRV_STORE_SQLITE_CFG_INIT;
  sipsrv_registrar *reg = NULL;
  sipsrv_redirect *rd = NULL;
  sipsrv_uas *uas = NULL;
  sipsrv_loop *loop = NULL;
  sipsrv_resolver *resolver = NULL;

  a.level = SIPSRV_LOG_WARN;
  pcfg.mode = SIPSRV_PROXY_STATEFUL;
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
    else
      return usage();
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
  if (sipsrv_core_new(&a.core, &ccfg) < 0)
    goto out;
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
  if (sipsrv_loop_new(&loop, a.core) < 0 || sipsrv_loop_on_signal(loop, SIGUSR1, on_usr1, &a) < 0 ||
      sipsrv_loop_handle_signals(loop) < 0 ||
      sipsrv_loop_resolver_new(&resolver, loop, resolv_conf) < 0) {
    fprintf(stderr, "sipsrv-server: cannot set up the event loop\n");
    goto out;
  }
  pcfg.resolver = resolver;
  /* Attach order: the registrar claims REGISTER for D, the proxy or the
   * redirect server what goes elsewhere, the UAS what is for the server. */
  if (sipsrv_registrar_new(&reg, a.core, &gcfg) < 0) {
    fprintf(stderr, "sipsrv-server: cannot make the registrar\n");
    goto out;
  }
  if (redirect ? sipsrv_redirect_new(&rd, a.core, &rcfg) < 0
               : sipsrv_proxy_new(&a.proxy, a.core, &pcfg) < 0) {
    fprintf(stderr, "sipsrv-server: cannot make the %s (bad --to?)\n", redirect ? "redirect server" : "proxy");
    goto out;
  }
  if (sipsrv_uas_new(&uas, a.core, NULL) < 0 || sipsrv_core_timer_new(a.core, 1000, sweep, &a, NULL) < 0)
    goto out;
  for (int i = 0; i < nlisten; i++) {
    unsigned port;
    int e = sipsrv_loop_listen(loop, listen[i], &port);
    if (e < 0) {
      fprintf(stderr, "sipsrv-server: cannot listen on %s: %s\n", listen[i], sipsrv_strerror(e));
      goto out;
    }
    printf("listening on %.3s port %u (%s)\n", listen[i], port, listen[i]);
  }
  printf("sipsrv-server: domain %s, %s%s, %s store%s\n", domains[0],
         redirect ? "redirect server"
         : pcfg.mode == SIPSRV_PROXY_STATELESS ? "stateless proxy"
         : pcfg.mode == SIPSRV_PROXY_DIALOG    ? "call-stateful proxy"
                                               : "stateful proxy",
         to && !redirect ? ", other domains via --to" : "", db ? "SQLite" : "memory",
         users ? ", digest authentication" : "");
  fflush(stdout);
  rc = sipsrv_loop_run(loop) < 0;
  summary(&a);
out:
  sipsrv_proxy_free(a.proxy);
  sipsrv_redirect_free(rd);
  sipsrv_registrar_free(reg);
  sipsrv_uas_free(uas);
  sipsrv_resolver_free(resolver);
  sipsrv_loop_free(loop);
  sipsrv_core_free(a.core);
  sipsrv_store_free(a.store);
  return rc;
}
