/* sipsrv-stateless-proxy: forwards every request to one next hop and every
 * response back, keeping no state (RFC 3261 16.11).
 *
 *   sipsrv-stateless-proxy --to HOST[:PORT] [--transport udp|tcp]
 *                          [--listen udp|tcp:IP:PORT]... [--resolv-conf FILE]
 *                          [--log-level L]
 *
 * Requests keep their Request-URI and go to --to (over --transport, UDP by
 * default; a host name is resolved by RFC 3263 through the name servers of
 * --resolv-conf or /etc/resolv.conf, and the first place it gives is used);
 * Max-Forwards, loops (483) and Proxy-Require (420) are checked,
 * responses go back by their Via. Stops on SIGINT/SIGTERM. */
#include <sipsrv/sipsrv.h>
#include <stdio.h>
#include <string.h>

#define MAX_LISTEN 16

static void log_stderr(sipsrv_log_level level, const char *msg, void *user)
{
  (void)user;
  fprintf(stderr, "sipsrv-stateless-proxy: %s: %s\n", sipsrv_log_level_name(level), msg);
}

/* "sip:..." or "sips:..." is a URI already; "sip.example.com" is a host. */
static int has_scheme(const char *s)
{
  return strncmp(s, "sip:", 4) == 0 || strncmp(s, "sips:", 5) == 0;
}

static int usage(void)
{
  fprintf(stderr, "usage: sipsrv-stateless-proxy --to HOST[:PORT] [--transport udp|tcp] "
                  "[--listen udp|tcp:IP:PORT]... [--resolv-conf FILE] [--log-level L]\n");
  return 2;
}

int main(int argc, char **argv)
{
  const char *listen[MAX_LISTEN], *to = NULL, *tp = "udp", *resolv_conf = NULL;
  int nlisten = 0, level = SIPSRV_LOG_WARN, rc = 1;
  char hop[300];
  sipsrv_core_cfg ccfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_proxy_cfg pcfg = SIPSRV_PROXY_CFG_INIT;
  sipsrv_core *core = NULL;
  sipsrv_proxy *proxy = NULL;
  sipsrv_uas *uas = NULL;
  sipsrv_loop *loop = NULL;
  sipsrv_resolver *resolver = NULL;

  for (int i = 1; i < argc; i += 2) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v)
      return usage();
    if (strcmp(argv[i], "--listen") == 0 && nlisten < MAX_LISTEN)
      listen[nlisten++] = v;
    else if (strcmp(argv[i], "--to") == 0)
      to = v;
    else if (strcmp(argv[i], "--transport") == 0 && (!strcmp(v, "udp") || !strcmp(v, "tcp")))
      tp = v;
    else if (strcmp(argv[i], "--resolv-conf") == 0)
      resolv_conf = v;
    else if (strcmp(argv[i], "--log-level") == 0 && (level = sipsrv_log_level_parse(v)) >= 0)
      ;
    else
      return usage();
  }
  if (!to)
    return usage();
  if (!nlisten) {
    listen[nlisten++] = "udp:127.0.0.1:5060";
    listen[nlisten++] = "tcp:127.0.0.1:5060";
  }
  /* The next hop as a SIP URI: sip:HOST:PORT, with its transport. */
  snprintf(hop, sizeof hop, "%s%s%s", has_scheme(to) ? "" : "sip:", to,
           strcmp(tp, "tcp") ? "" : ";transport=tcp");
  ccfg.clock = sipsrv_clock_monotonic;
  ccfg.wall_clock = sipsrv_clock_realtime;
  ccfg.log_cb = log_stderr;
  ccfg.log_level = (sipsrv_log_level)level;
  pcfg.mode = SIPSRV_PROXY_STATELESS;
  pcfg.next_hop = hop;
  if (sipsrv_core_new(&core, &ccfg) < 0 || sipsrv_loop_new(&loop, core) < 0 ||
      sipsrv_loop_handle_signals(loop) < 0 ||
      sipsrv_loop_resolver_new(&resolver, loop, resolv_conf) < 0)
    goto out;
  pcfg.resolver = resolver;
  if (sipsrv_proxy_new(&proxy, core, &pcfg) < 0) {
    fprintf(stderr, "sipsrv-stateless-proxy: bad --to %s (a host and port)\n", to);
    goto out;
  }
  /* Requests for the proxy itself (OPTIONS pings) get the UAS's answers. */
  if (sipsrv_uas_new(&uas, core, NULL) < 0)
    goto out;
  for (int i = 0; i < nlisten; i++) {
    unsigned port;
    int err = sipsrv_loop_listen(loop, listen[i], &port);
    if (err < 0) {
      fprintf(stderr, "sipsrv-stateless-proxy: cannot listen on %s: %s\n", listen[i],
              sipsrv_strerror(err));
      goto out;
    }
    printf("listening on %.3s port %u (%s)\n", listen[i], port, listen[i]);
  }
  fflush(stdout);
  rc = sipsrv_loop_run(loop) < 0;
out:
  sipsrv_proxy_free(proxy);
  sipsrv_uas_free(uas);
  sipsrv_resolver_free(resolver);
  sipsrv_loop_free(loop);
  sipsrv_core_free(core);
  return rc;
}
