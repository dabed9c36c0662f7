/* sipsrv-proxy: a registrar and a proxy for one domain in one process.
 *
 *   sipsrv-proxy --domain D [--listen udp|tcp:IP:PORT]...
 *                [--mode stateless|stateful|dialog] [--store memory|sqlite:PATH]
 *                [--users FILE] [--to HOST[:PORT]] [--gateway PREFIX=HOST[:PORT]]...
 *                [--serial] [--max-dialogs N] [--resolv-conf FILE] [--log-level L]
 *
 * REGISTER for D goes to the registrar; requests for users of D go to their
 * registered contacts (in parallel, or with --serial one after another by
 * q); numbers (tel: or a numeric user) of a --gateway PREFIX ("+33", "00",
 * "" for all) go to its gateways, the next on a timeout, 408 or 5xx; other
 * requests go to --to, or get 403. A HOST may be a name, resolved by RFC
 * 3263 (NAPTR, SRV, A/AAAA; the name servers of --resolv-conf or
 * /etc/resolv.conf), or a SIP URI ("sip:example.com;transport=tcp"). With --users (USER:PASSWORD
 * lines) REGISTER needs digest (401) and so do calls from users of D (407,
 * stateful modes), who reach other domains only so. In dialog mode it
 * Record-Routes every call and logs dialogs (--log-level info). Stops on
 * SIGINT/SIGTERM having freed everything. */
#include <sipsrv/sipsrv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LISTEN 16
#define MAX_GW 16

static void log_stderr(sipsrv_log_level level, const char *msg, void *user)
{
  (void)user;
  fprintf(stderr, "sipsrv-proxy: %s: %s\n", sipsrv_log_level_name(level), msg);
}

static void on_dialog(sipsrv_proxy *p, const sipsrv_dialog_info *d, void *user)
{
  (void)p;
  if (*(int *)user >= SIPSRV_LOG_INFO)
    fprintf(stderr, "sipsrv-proxy: dialog %s %s -> %s (%d)\n", d->ended_ms ? "ended" : "started",
            d->from_uri, d->to_uri, d->end_status);
}

typedef struct app { sipsrv_core *core; sipsrv_store *store; } app;

static void sweep(void *user)     /* expired bindings go once a second */
{
  app *a = user;
  sipsrv_store_expire(a->store, (int64_t)sipsrv_clock_realtime(NULL));
  sipsrv_core_timer_new(a->core, 1000, sweep, a, NULL);
}

/* "sip:..." or "sips:..." is a URI already; "sip.example.com" is a host. */
static int has_scheme(const char *s)
{
  return strncmp(s, "sip:", 4) == 0 || strncmp(s, "sips:", 5) == 0;
}

static int usage(void)
{
  fprintf(stderr, "usage: sipsrv-proxy --domain D [--listen udp|tcp:IP:PORT]... [--mode "
                  "stateless|stateful|dialog] [--store memory|sqlite:PATH] [--users FILE] [--to HOST[:PORT]] "
                  "[--gateway PREFIX=HOST[:PORT]]... [--serial] [--max-dialogs N] [--resolv-conf FILE] "
                  "[--log-level L]\n");
  return 2;
}

int main(int argc, char **argv)
{
  const char *listen[MAX_LISTEN], *domains[2] = { NULL, NULL }, *db = NULL, *to = NULL,
             *users = NULL, *resolv_conf = NULL;
  int nlisten = 0, level = SIPSRV_LOG_WARN, rc = 1;
  char hop[300], err[256], gwuri[MAX_GW][80];
  const char *gwlist[MAX_GW][2];
  sipsrv_proxy_gateway gw[MAX_GW];
  size_t ngw = 0;
  app a = { NULL, NULL };
  sipsrv_core_cfg ccfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_registrar_cfg rcfg = SIPSRV_REGISTRAR_CFG_INIT;
  sipsrv_proxy_cfg pcfg = SIPSRV_PROXY_CFG_INIT;
  sipsrv_store_sqlite_cfg scfg = SIPSRV_STORE_SQLITE_CFG_INIT;
  sipsrv_registrar *reg = NULL;
  sipsrv_proxy *proxy = NULL;
  sipsrv_uas *uas = NULL;
  sipsrv_loop *loop = NULL;
  sipsrv_resolver *resolver = NULL;

  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--serial") == 0) {
      pcfg.serial = 1;
      continue;
    }
    if (!v)
      return usage();
    if (strcmp(argv[i], "--listen") == 0 && nlisten < MAX_LISTEN)
      listen[nlisten++] = v;
    else if (strcmp(argv[i], "--domain") == 0)
      domains[0] = v;
    else if (strcmp(argv[i], "--mode") == 0 && !strcmp(v, "stateless"))
      pcfg.mode = SIPSRV_PROXY_STATELESS;
    else if (strcmp(argv[i], "--mode") == 0 && !strcmp(v, "stateful"))
      pcfg.mode = SIPSRV_PROXY_STATEFUL;
    else if (strcmp(argv[i], "--mode") == 0 && !strcmp(v, "dialog"))
      pcfg.mode = SIPSRV_PROXY_DIALOG;
    else if (strcmp(argv[i], "--store") == 0 && (!strcmp(v, "memory") || !strncmp(v, "sqlite:", 7)))
      db = strcmp(v, "memory") ? v + 7 : NULL;
    else if (strcmp(argv[i], "--to") == 0)
      to = v;
    else if (strcmp(argv[i], "--users") == 0)
      users = v;
    else if (strcmp(argv[i], "--gateway") == 0 && strchr(v, '=') && ngw < MAX_GW) {
      /* One route per option; a prefix given twice gets its gateways in order. */
      char *eq = strchr(v, '=');
      *eq = '\0';
      snprintf(gwuri[ngw], sizeof gwuri[ngw], "%s%s", has_scheme(eq + 1) ? "" : "sip:",
               eq + 1);
      gwlist[ngw][0] = gwuri[ngw];
      gwlist[ngw][1] = NULL;
      gw[ngw].prefix = v;
      gw[ngw].gateways = gwlist[ngw];
      ngw++;
    }
    else if (strcmp(argv[i], "--resolv-conf") == 0)
      resolv_conf = v;
    else if (strcmp(argv[i], "--max-dialogs") == 0)
      pcfg.max_dialogs = (unsigned)strtoul(v, NULL, 10);
    else if (strcmp(argv[i], "--log-level") == 0 && (level = sipsrv_log_level_parse(v)) >= 0)
      ;
    else
      return usage();
    i++;
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
    fprintf(stderr, "sipsrv-proxy: %s\n", db ? err : "no memory");
    goto out;
  }
  rcfg.domains = pcfg.domains = domains;
  rcfg.store = pcfg.location = a.store;
  if (users) {   /* MD5: the one algorithm sipp and sipsak answer */
    unsigned line;
    int n = sipsrv_store_load_users(a.store, users, domains[0], &line);
    if (n < 0) {
      fprintf(stderr, "sipsrv-proxy: %s:%u: %s\n", users, line, sipsrv_strerror(n));
      goto out;
    }
    rcfg.auth_realm = domains[0];
    rcfg.auth_algs = pcfg.auth_algs = SIPSRV_DIGEST_MD5;
    if (pcfg.mode != SIPSRV_PROXY_STATELESS)
      pcfg.auth_realm = domains[0];
  }
  if (to) {
    snprintf(hop, sizeof hop, "%s%s", has_scheme(to) ? "" : "sip:", to);
    pcfg.next_hop = hop;
  }
  pcfg.gateways = gw;
  pcfg.ngateways = ngw;
  pcfg.on_dialog = on_dialog;
  pcfg.user = &level;
  if (sipsrv_loop_new(&loop, a.core) < 0 || sipsrv_loop_handle_signals(loop) < 0)
    goto out;
  if (sipsrv_loop_resolver_new(&resolver, loop, resolv_conf) < 0) {
    fprintf(stderr, "sipsrv-proxy: cannot set up DNS\n");
    goto out;
  }
  pcfg.resolver = resolver;
  /* Attach order: the registrar claims REGISTER for D, the proxy what it
   * forwards, the UAS answers what is for this server itself. */
  if (sipsrv_registrar_new(&reg, a.core, &rcfg) < 0 ||
      sipsrv_proxy_new(&proxy, a.core, &pcfg) < 0) {
    fprintf(stderr, "sipsrv-proxy: bad --to or --gateway (a host and port)\n");
    goto out;
  }
  if (sipsrv_uas_new(&uas, a.core, NULL) < 0 ||
      sipsrv_core_timer_new(a.core, 1000, sweep, &a, NULL) < 0)
    goto out;
  for (int i = 0; i < nlisten; i++) {
    unsigned port;
    int e = sipsrv_loop_listen(loop, listen[i], &port);
    if (e < 0) {
      fprintf(stderr, "sipsrv-proxy: cannot listen on %s: %s\n", listen[i], sipsrv_strerror(e));
      goto out;
    }
    printf("listening on %.3s port %u (%s)\n", listen[i], port, listen[i]);
  }
  fflush(stdout);
  rc = sipsrv_loop_run(loop) < 0;
out:
  sipsrv_proxy_free(proxy);
  sipsrv_registrar_free(reg);
  sipsrv_uas_free(uas);
  sipsrv_resolver_free(resolver);
  sipsrv_loop_free(loop);
  sipsrv_core_free(a.core);
  sipsrv_store_free(a.store);
  return rc;
}
