/* sipsrv-registrar: a registrar for one domain (RFC 3261 10.3).
 *
 *   sipsrv-registrar --domain D [--listen udp|tcp:IP:PORT]...
 *                    [--store memory|sqlite:PATH] [--min-expires N] [--max-expires N]
 *                    [--log-level L] [--users FILE [--realm R] [--auth-algs md5|all]]
 *
 * Bindings live in memory, or with sqlite:PATH in that file, where they
 * survive a restart (and a kill -9). With --users, every REGISTER
 * authenticates with digest (realm R, the domain by default) against FILE's
 * "user:password" lines ('#' starts a comment); a user registers only its
 * own AOR. It offers MD5, the one algorithm sipp and sipsak answer;
 * --auth-algs all offers SHA-512-256, SHA-256 and MD5. */
#include <sipsrv/sipsrv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LISTEN 16

static void log_stderr(sipsrv_log_level level, const char *msg, void *user)
{
  (void)user;
  fprintf(stderr, "sipsrv-registrar: %s: %s\n", sipsrv_log_level_name(level), msg);
}

/* Drop expired bindings once a second (the store hides them anyway). */
typedef struct app { sipsrv_core *core; sipsrv_store *store; } app;

static void sweep(void *user)
{
  app *a = user;
  sipsrv_store_expire(a->store, (int64_t)sipsrv_clock_realtime(NULL));
  sipsrv_core_timer_new(a->core, 1000, sweep, a, NULL);
}

static int usage(void)
{
  fprintf(stderr, "usage: sipsrv-registrar --domain D [--listen udp|tcp:IP:PORT]... [--store "
          "memory|sqlite:PATH] [--min-expires N] [--max-expires N] [--log-level L] [--users FILE "
          "[--realm R] [--auth-algs md5|all]]\n");
  return 2;
}

int main(int argc, char **argv)
{
  const char *listen[MAX_LISTEN], *domains[2] = { NULL, NULL }, *users = NULL, *realm = NULL,
             *db = NULL;
  int nlisten = 0, level = SIPSRV_LOG_WARN, rc = 1;
  app a = { NULL, NULL };
  sipsrv_core_cfg ccfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_registrar_cfg rcfg = SIPSRV_REGISTRAR_CFG_INIT;
  sipsrv_registrar *reg = NULL;
  sipsrv_uas *uas = NULL;
  sipsrv_loop *loop = NULL;

  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    char *end = NULL;
    if (!v)
      return usage();
    if (strcmp(argv[i], "--listen") == 0 && nlisten < MAX_LISTEN)
      listen[nlisten++] = v;
    else if (strcmp(argv[i], "--domain") == 0)
      domains[0] = v;
    else if (strcmp(argv[i], "--store") == 0 && (!strcmp(v, "memory") || !strncmp(v, "sqlite:", 7)))
      db = strcmp(v, "memory") ? v + 7 : NULL;
    else if (strcmp(argv[i], "--min-expires") == 0)
      rcfg.min_expires = (uint32_t)strtoul(v, &end, 10);
    else if (strcmp(argv[i], "--max-expires") == 0)
      rcfg.max_expires = (uint32_t)strtoul(v, &end, 10);
    else if (strcmp(argv[i], "--users") == 0)
      users = v;
    else if (strcmp(argv[i], "--realm") == 0)
      realm = v;
    else if (strcmp(argv[i], "--auth-algs") == 0 && (!strcmp(v, "md5") || !strcmp(v, "all")))
      rcfg.auth_algs = strcmp(v, "all") == 0 ? SIPSRV_DIGEST_ALL : SIPSRV_DIGEST_MD5;
    else if (strcmp(argv[i], "--log-level") == 0)
      level = sipsrv_log_level_parse(v);
    else
      return usage();
    if ((end && *end) || level < 0)
      return usage();
    i++;
  }
  if (!domains[0] || ((realm || rcfg.auth_algs) && !users))
    return usage();
  if (!nlisten) {
    listen[nlisten++] = "udp:127.0.0.1:5060";
    listen[nlisten++] = "tcp:127.0.0.1:5060";
  }
  ccfg.clock = sipsrv_clock_monotonic;
  ccfg.wall_clock = sipsrv_clock_realtime;
  ccfg.log_cb = log_stderr;
  ccfg.log_level = (sipsrv_log_level)level;
  rcfg.domains = domains;
  if (sipsrv_core_new(&a.core, &ccfg) < 0)
    goto out;
  if (db) {   /* created with its schema if missing; says why if unusable */
    char err[256];
    sipsrv_store_sqlite_cfg scfg = SIPSRV_STORE_SQLITE_CFG_INIT;
    scfg.path = db;
    scfg.errmsg = err;
    scfg.errmsg_size = sizeof err;
    if (sipsrv_store_sqlite_new(&a.store, a.core, &scfg) < 0) {
      fprintf(stderr, "sipsrv-registrar: %s\n", err);
      goto out;
    }
  } else if (sipsrv_store_memory_new(&a.store, a.core) < 0)
    goto out;
  rcfg.store = a.store;
  if (users) {
    rcfg.auth_realm = realm ? realm : domains[0];
    rcfg.auth_algs = rcfg.auth_algs ? rcfg.auth_algs : SIPSRV_DIGEST_MD5;
    unsigned line;
    int n = sipsrv_store_load_users(a.store, users, rcfg.auth_realm, &line);
    if (n < 0) {
      fprintf(stderr, "sipsrv-registrar: %s:%u: %s\n", users, line,
              n == SIPSRV_E_PARSE ? "not USER:PASSWORD" : sipsrv_strerror(n));
      goto out;
    }
    printf("%d users for realm %s\n", n, rcfg.auth_realm);
  }
  /* The registrar first: it claims REGISTER for the domain; the UAS answers
   * the rest (OPTIONS, 405 for what a registrar does not do...). */
  if (sipsrv_registrar_new(&reg, a.core, &rcfg) < 0 || sipsrv_uas_new(&uas, a.core, NULL) < 0 ||
      sipsrv_loop_new(&loop, a.core) < 0 || sipsrv_loop_handle_signals(loop) < 0 ||
      sipsrv_core_timer_new(a.core, 1000, sweep, &a, NULL) < 0) {
    fprintf(stderr, "sipsrv-registrar: cannot start (bad --min/--max-expires?)\n");
    goto out;
  }
  for (int i = 0; i < nlisten; i++) {
    unsigned port;
    int err = sipsrv_loop_listen(loop, listen[i], &port);
    if (err < 0) {
      fprintf(stderr, "sipsrv-registrar: cannot listen on %s: %s\n", listen[i], sipsrv_strerror(err));
      goto out;
    }
    printf("listening on %.3s port %u (%s)\n", listen[i], port, listen[i]);
  }
  fflush(stdout);
  rc = sipsrv_loop_run(loop) < 0;
out:
  sipsrv_registrar_free(reg);
  sipsrv_uas_free(uas);
  sipsrv_loop_free(loop);
  sipsrv_core_free(a.core);
  sipsrv_store_free(a.store);
  return rc;
}
