/* sipsrv-uas: answers calls.
 *
 *   sipsrv-uas [--listen udp:IP:PORT]... [--listen tcp:IP:PORT]...
 *              [--ring-ms N] [--answer CODE] [--log-level L]
 *
 * INVITE gets 180 Ringing, then after --ring-ms the --answer status (200
 * with a minimal SDP by default); BYE ends the call. Everything else is the
 * UAS role's built-in behaviour (OPTIONS, 501, 420, CANCEL...). Stops on
 * SIGINT/SIGTERM having freed everything. */
#include <sipsrv/sipsrv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LISTEN 16

static const char sdp[] = "v=0\r\no=sipsrv 1 1 IN IP4 127.0.0.1\r\ns=sipsrv\r\n"
                          "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n"
                          "a=rtpmap:0 PCMU/8000\r\n";

typedef struct app { unsigned ring_ms; int answer; sipsrv_core *core; } app;

typedef struct call { app *app; sipsrv_request *req; sipsrv_timer *ring; } call;

static void log_stderr(sipsrv_log_level level, const char *msg, void *user)
{
  (void)user;
  fprintf(stderr, "sipsrv-uas: %s: %s\n", sipsrv_log_level_name(level), msg);
}

static void answer(void *user)
{
  call *c = user;
  sipsrv_reply_opts opts = SIPSRV_REPLY_OPTS_INIT;
  if (c->app->answer >= 200 && c->app->answer < 300) {
    opts.body = sdp;
    opts.body_len = sizeof sdp - 1;
    opts.content_type = "application/sdp";
  }
  sipsrv_request_respond(c->req, c->app->answer, NULL, &opts);
  free(c);
}

static int on_request(sipsrv_uas *uas, sipsrv_request *req, void *user)
{
  app *a = user;
  call *c;
  (void)uas;
  if (sipsrv_msg_method(sipsrv_request_msg(req)) != SIPSRV_METHOD_INVITE)
    return 0;                           /* the built-in behaviour */
  c = calloc(1, sizeof *c);
  if (!c)
    return 0;
  c->app = a;
  c->req = req;
  sipsrv_request_set_user(req, c);
  sipsrv_request_respond(req, 180, NULL, NULL);
  if (sipsrv_core_timer_new(a->core, a->ring_ms, answer, c, &c->ring) < 0) {
    sipsrv_request_respond(req, 500, NULL, NULL);
    free(c);
  }
  return 1;
}

static void on_cancel(sipsrv_uas *uas, sipsrv_request *req, void *user)
{
  call *c = sipsrv_request_user(req);
  (void)uas, (void)user;
  if (c) {
    sipsrv_timer_cancel(c->ring);
    free(c);
  }
}

static int usage(void)
{
  fprintf(stderr, "usage: sipsrv-uas [--listen udp|tcp:IP:PORT]... [--ring-ms N] "
                  "[--answer CODE] [--log-level LEVEL]\n");
  return 2;
}

int main(int argc, char **argv)
{
  const char *listen[MAX_LISTEN];
  int nlisten = 0, level = SIPSRV_LOG_WARN, rc = 1;
  app a = { 0, 200, NULL };
  sipsrv_core_cfg ccfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_uas_cfg ucfg = SIPSRV_UAS_CFG_INIT;
  sipsrv_uas *uas = NULL;
  sipsrv_loop *loop = NULL;

  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    char *end = NULL;
    if (!v)
      return usage();
    if (strcmp(argv[i], "--listen") == 0 && nlisten < MAX_LISTEN)
      listen[nlisten++] = v;
    else if (strcmp(argv[i], "--ring-ms") == 0)
      a.ring_ms = (unsigned)strtoul(v, &end, 10);
    else if (strcmp(argv[i], "--answer") == 0)
      a.answer = (int)strtol(v, &end, 10);
    else if (strcmp(argv[i], "--log-level") == 0)
      level = sipsrv_log_level_parse(v);
    else
      return usage();
    if ((end && *end) || level < 0 || a.answer < 200 || a.answer > 699)
      return usage();
    i++;
  }
  if (!nlisten) {
    listen[nlisten++] = "udp:127.0.0.1:5060";
    listen[nlisten++] = "tcp:127.0.0.1:5060";
  }
  ccfg.clock = sipsrv_clock_monotonic;
  ccfg.wall_clock = sipsrv_clock_realtime;
  ccfg.log_cb = log_stderr;
  ccfg.log_level = (sipsrv_log_level)level;
  ucfg.on_request = on_request;
  ucfg.on_cancel = on_cancel;
  ucfg.user = &a;
  if (sipsrv_core_new(&a.core, &ccfg) < 0 || sipsrv_uas_new(&uas, a.core, &ucfg) < 0 ||
      sipsrv_loop_new(&loop, a.core) < 0 || sipsrv_loop_handle_signals(loop) < 0)
    goto out;
  for (int i = 0; i < nlisten; i++) {
    unsigned port;
    int err = sipsrv_loop_listen(loop, listen[i], &port);
    if (err < 0) {
      fprintf(stderr, "sipsrv-uas: cannot listen on %s: %s\n", listen[i], sipsrv_strerror(err));
      goto out;
    }
    printf("listening on %.3s port %u (%s)\n", listen[i], port, listen[i]);
  }
  fflush(stdout);
  rc = sipsrv_loop_run(loop) < 0;
out:
  sipsrv_uas_free(uas);
  sipsrv_loop_free(loop);
  sipsrv_core_free(a.core);
  return rc;
}
