/* sipsrv-redirect: a redirect server and registrar for one domain
 * (RFC 3261 8.3, 21.3, 10.3).
 *
 *   sipsrv-redirect --domain D [--listen udp|tcp:IP:PORT]...
 *                   [--store memory|sqlite:PATH] [--users FILE]
 *                   [--rule USER=SIP-URI]... [--log-level L]
 *
 * REGISTER for D keeps the bindings (with --users, behind digest MD5).
 * Any other request for a user of D is answered 302 with the user's
 * contacts (300 when there are several, by q, each with its expires) and
 * the contacts of the --rule options for that user; a user with none gets
 * 480 when known (--users, or a rule) and 404 otherwise. The ACK of the
 * 3xx ends its transaction. OPTIONS to the server itself are answered by
 * the UAS. Stops on SIGINT/SIGTERM. */
#include <sipsrv/sipsrv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LISTEN 16
#define MAX_RULES 64

typedef struct rule { char user[64]; const char *uri; } rule;

typedef struct app {
  sipsrv_core *core;
  sipsrv_store *store;
  rule rules[MAX_RULES];
  int nrules;
} app;

static void log_stderr(sipsrv_log_level level, const char *msg, void *user)
{
  (void)user;
  fprintf(stderr, "sipsrv-redirect: %s: %s\n", sipsrv_log_level_name(level), msg);
}

static void sweep(void *user)     /* expired bindings go once a second */
{
  app *a = user;
  sipsrv_store_expire(a->store, (int64_t)sipsrv_clock_realtime(NULL));
  sipsrv_core_timer_new(a->core, 1000, sweep, a, NULL);
}

/* The static rules: every --rule of the Request-URI's user. */
static void on_redirect(sipsrv_redirect *rd, sipsrv_redirect_targets *t, const sipsrv_msg *req,
                        void *user)
{
  app *a = user;
  sipsrv_uri u;
  (void)rd;
  if (sipsrv_msg_request_uri(req, &u) < 0 || !u.user)
    return;
  for (int i = 0; i < a->nrules; i++)
    if (strcmp(a->rules[i].user, u.user) == 0) {
      sipsrv_redirect_known(t);
      sipsrv_redirect_add(t, a->rules[i].uri, -1, -1);
    }
}

static int usage(void)
{
  fprintf(stderr, "usage: sipsrv-redirect --domain D [--listen udp|tcp:IP:PORT]... [--store "
                  "memory|sqlite:PATH] [--users FILE] [--rule USER=SIP-URI]... [--log-level L]\n");
  return 2;
}

int main(int argc, char **argv)
{
  const char *listen[MAX_LISTEN], *domains[2] = { NULL, NULL }, *users = NULL, *db = NULL;
  int nlisten = 0, level = SIPSRV_LOG_WARN, rc = 1;
  char err[256];
  static app a;
  sipsrv_core_cfg ccfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_registrar_cfg gcfg = SIPSRV_REGISTRAR_CFG_INIT;
  sipsrv_redirect_cfg rcfg = SIPSRV_REDIRECT_CFG_INIT;
  sipsrv_store_sqlite_cfg scfg = SIPSRV_STORE_SQLITE_CFG_INIT;
  sipsrv_registrar *reg = NULL;
  sipsrv_redirect *rd = NULL;
  sipsrv_uas *uas = NULL;
  sipsrv_loop *loop = NULL;

  for (int i = 1; i < argc; i += 2) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    const char *eq = v ? strchr(v, '=') : NULL;
    if (!v)
      return usage();
    if (strcmp(argv[i], "--listen") == 0 && nlisten < MAX_LISTEN)
      listen[nlisten++] = v;
    else if (strcmp(argv[i], "--domain") == 0)
      domains[0] = v;
    else if (strcmp(argv[i], "--store") == 0 && (!strcmp(v, "memory") || !strncmp(v, "sqlite:", 7)))
      db = strcmp(v, "memory") ? v + 7 : NULL;
    else if (strcmp(argv[i], "--users") == 0)
      users = v;
    else if (strcmp(argv[i], "--rule") == 0 && eq && eq > v &&
             (size_t)(eq - v) < sizeof a.rules[0].user && a.nrules < MAX_RULES) {
      memcpy(a.rules[a.nrules].user, v, (size_t)(eq - v));
      a.rules[a.nrules].uri = eq + 1;
      a.nrules++;
    } else if (strcmp(argv[i], "--log-level") == 0 && (level = sipsrv_log_level_parse(v)) >= 0)
      ;
    else
      return usage();
  }
  if (!domains[0])
    return usage();
  if (!nlisten) {
    listen[nlisten++] = "udp:127.0.0.1:5060";
    listen[nlisten++] = "tcp:127.0.0.1:5060";
  }
  ccfg.clock = sipsrv_clock_monotonic;
  ccfg.wall_clock = sipsrv_clock_realtime;
  ccfg.log_cb = log_stderr;
  ccfg.log_level = (sipsrv_log_level)level;
  scfg.path = db;
  scfg.errmsg = err;
  scfg.errmsg_size = sizeof err;
  if (sipsrv_core_new(&a.core, &ccfg) < 0)
    goto out;
  if (db ? sipsrv_store_sqlite_new(&a.store, a.core, &scfg) < 0
         : sipsrv_store_memory_new(&a.store, a.core) < 0) {
    fprintf(stderr, "sipsrv-redirect: %s\n", db ? err : "no memory");
    goto out;
  }
  gcfg.domains = rcfg.domains = domains;
  gcfg.store = rcfg.location = a.store;
  if (users) {
    unsigned line;
    int n = sipsrv_store_load_users(a.store, users, domains[0], &line);
    if (n < 0) {
      fprintf(stderr, "sipsrv-redirect: %s:%u: %s\n", users, line, sipsrv_strerror(n));
      goto out;
    }
    gcfg.auth_realm = domains[0];
    gcfg.auth_algs = SIPSRV_DIGEST_MD5;   /* the one algorithm sipp and sipsak answer */
  }
  rcfg.on_redirect = on_redirect;
  rcfg.user = &a;
  for (int i = 0; i < a.nrules; i++)
    if (strncmp(a.rules[i].uri, "sip:", 4) && strncmp(a.rules[i].uri, "sips:", 5) &&
        strncmp(a.rules[i].uri, "tel:", 4)) {
      fprintf(stderr, "sipsrv-redirect: --rule %s=%s: not a SIP, SIPS or tel URI\n",
              a.rules[i].user, a.rules[i].uri);
      goto out;
    }
  /* Attach order: the registrar claims REGISTER for D, the redirect server
   * the requests for users, the UAS what is for the server itself. */
  if (sipsrv_registrar_new(&reg, a.core, &gcfg) < 0 ||
      sipsrv_redirect_new(&rd, a.core, &rcfg) < 0 || sipsrv_uas_new(&uas, a.core, NULL) < 0 ||
      sipsrv_loop_new(&loop, a.core) < 0 || sipsrv_loop_handle_signals(loop) < 0 ||
      sipsrv_core_timer_new(a.core, 1000, sweep, &a, NULL) < 0)
    goto out;
  for (int i = 0; i < nlisten; i++) {
    unsigned port;
    int e = sipsrv_loop_listen(loop, listen[i], &port);
    if (e < 0) {
      fprintf(stderr, "sipsrv-redirect: cannot listen on %s: %s\n", listen[i], sipsrv_strerror(e));
      goto out;
    }
    printf("listening on %.3s port %u (%s)\n", listen[i], port, listen[i]);
  }
  fflush(stdout);
  rc = sipsrv_loop_run(loop) < 0;
out:
  sipsrv_redirect_free(rd);
  sipsrv_registrar_free(reg);
  sipsrv_uas_free(uas);
  sipsrv_loop_free(loop);
  sipsrv_core_free(a.core);
  sipsrv_store_free(a.store);
  return rc;
}
