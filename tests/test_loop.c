#define _GNU_SOURCE /* memmem, strcasestr */
/* Tests of the loop area: the ready event loop (lib/loop) and the socket
 * transports (lib/transport) with real sockets on 127.0.0.1 and ::1, a core
 * on CLOCK_MONOTONIC and a UAS answering. Also a core driven from a loop of
 * the test's own (poll() and a UDP socket with a transport vtable of its
 * own), the way loop.h documents for applications with a loop of their own.
 *
 * Socket rules: loopback addresses only, port 0 everywhere (the bound port
 * is read back), every wait is bounded in rounds and in time, and every
 * socket is closed. */
#include <check.h>

#include "harness.h"

#include <sipsrv/core.h>
#include <sipsrv/error.h>
#include <sipsrv/loop.h>
#include <sipsrv/msg.h>
#include <sipsrv/proxy.h>
#include <sipsrv/transport.h>
#include <sipsrv/uas.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Fast RFC 3261 timers for the retransmission tests: Timer G fires at T1,
 * then doubles up to T2. */
#define FAST_T1 50u
#define FAST_T2 200u

/* The longest any single wait for an expected reply may take. */
#define REPLY_WAIT_MS 2000

/* ---- time ------------------------------------------------------------------ */

/* CLOCK_MONOTONIC in milliseconds, read here and not through the library. */
static uint64_t real_ms(void)
{
  struct timespec ts;
  ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
  struct timespec ts = { (time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L };
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* ---- addresses and client sockets -------------------------------------------- */

static socklen_t loopback(int family, unsigned port, struct sockaddr_storage *ss)
{
  memset(ss, 0, sizeof *ss);
  if (family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    a->sin6_addr = in6addr_loopback;
    return sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof *a;
  }
}

static unsigned local_port(int fd)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
  if (ss.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Whether a socket can be bound to ::1 on this machine. */
static bool ipv6_loopback_available(void)
{
  struct sockaddr_storage ss;
  socklen_t len = loopback(AF_INET6, 0, &ss);
  int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  bool ok;
  if (fd < 0)
    return false;
  ok = bind(fd, (struct sockaddr *)&ss, len) == 0;
  close(fd);
  return ok;
}

/* A UDP client bound to the loopback address, port 0. */
static int udp_client(int family, unsigned *port)
{
  struct sockaddr_storage ss;
  socklen_t len = loopback(family, 0, &ss);
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
  *port = local_port(fd);
  return fd;
}

static void udp_send_to(int fd, int family, unsigned port, const char *text)
{
  struct sockaddr_storage ss;
  socklen_t len = loopback(family, port, &ss);
  ssize_t n = sendto(fd, text, strlen(text), 0, (struct sockaddr *)&ss, len);
  ck_assert_int_eq(n, (ssize_t)strlen(text));
}

/* A TCP client bound to the loopback address, port 0, connected to port
 * (the kernel completes the handshake from the listen backlog). */
static int tcp_client(int family, unsigned port, unsigned *lport)
{
  struct sockaddr_storage ss;
  socklen_t len = loopback(family, 0, &ss);
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
  len = loopback(family, port, &ss);
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&ss, len), 0);
  if (lport)
    *lport = local_port(fd);
  return fd;
}

/* tcp_client() with a small receive buffer (set before connecting, so the
 * window stays small): the server's writes back up sooner. */
static int tcp_client_rcvbuf(int family, unsigned port, unsigned *lport, int rcvbuf)
{
  struct sockaddr_storage ss;
  socklen_t len = loopback(family, 0, &ss);
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
  len = loopback(family, port, &ss);
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&ss, len), 0);
  if (lport)
    *lport = local_port(fd);
  return fd;
}

static void tcp_write(int fd, const void *data, size_t len)
{
  const char *p = data;
  while (len) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    ck_assert_int_gt(n, 0);
    p += n;
    len -= (size_t)n;
  }
}

/* ---- requests ------------------------------------------------------------------ */

typedef struct req_spec {
  const char *method;
  const char *transport;  /* "UDP", "TCP" */
  const char *host;       /* "127.0.0.1" or "[::1]" */
  unsigned srv_port;      /* the Request-URI port */
  unsigned port;          /* the Via sent-by port */
  const char *branch;     /* after z9hG4bK */
  const char *call_id;
  const char *to_tag;     /* NULL: none */
  bool rport;
} req_spec;

static void build_req(char *buf, size_t size, const req_spec *r)
{
  int n = snprintf(buf, size,
                   "%s sip:uas@%s:%u SIP/2.0\r\n"
                   "Via: SIP/2.0/%s %s:%u;branch=z9hG4bK%s%s\r\n"
                   "Max-Forwards: 70\r\n"
                   "From: <sip:client@%s>;tag=cl-%s\r\n"
                   "To: <sip:uas@%s>%s%s\r\n"
                   "Call-ID: %s\r\n"
                   "CSeq: 1 %s\r\n"
                   "Contact: <sip:client@%s:%u;transport=%s>\r\n"
                   "Content-Length: 0\r\n"
                   "\r\n",
                   r->method, r->host, r->srv_port,
                   r->transport, r->host, r->port, r->branch, r->rport ? ";rport" : "",
                   r->host, r->branch,
                   r->host, r->to_tag ? ";tag=" : "", r->to_tag ? r->to_tag : "",
                   r->call_id,
                   r->method,
                   r->host, r->port, r->transport);
  ck_assert_int_gt(n, 0);
  ck_assert_int_lt(n, (int)size);
}

/* ---- a server: core, UAS and the ready loop --------------------------------------- */

typedef struct srv {
  sipsrv_core *core;
  sipsrv_uas *uas;
  sipsrv_loop *loop;
  unsigned udp_port, tcp_port;
} srv;

static void srv_core_cfg(sipsrv_core_cfg *cfg, bool fast)
{
  sipsrv_core_cfg init = SIPSRV_CORE_CFG_INIT;
  *cfg = init;
  cfg->clock = sipsrv_clock_monotonic;
  if (fast) {
    cfg->t1_ms = FAST_T1;
    cfg->t2_ms = FAST_T2;
  }
}

/* A core (fast timers or RFC ones), a UAS with ucfg (NULL: defaults) and a
 * loop listening on each spec that is not NULL. */
static void srv_start(srv *s, bool fast, const sipsrv_uas_cfg *ucfg, const char *udp_spec,
                      const char *tcp_spec)
{
  sipsrv_core_cfg ccfg;
  sipsrv_uas_cfg dflt = SIPSRV_UAS_CFG_INIT;

  memset(s, 0, sizeof *s);
  srv_core_cfg(&ccfg, fast);
  ck_assert_int_eq(sipsrv_core_new(&s->core, &ccfg), 0);
  ck_assert_int_eq(sipsrv_uas_new(&s->uas, s->core, ucfg ? ucfg : &dflt), 0);
  ck_assert_int_eq(sipsrv_loop_new(&s->loop, s->core), 0);
  ck_assert_ptr_nonnull(s->loop);
  if (udp_spec) {
    ck_assert_int_eq(sipsrv_loop_listen(s->loop, udp_spec, &s->udp_port), 0);
    ck_assert_uint_gt(s->udp_port, 0);
    ck_assert_uint_le(s->udp_port, 65535);
  }
  if (tcp_spec) {
    ck_assert_int_eq(sipsrv_loop_listen(s->loop, tcp_spec, &s->tcp_port), 0);
    ck_assert_uint_gt(s->tcp_port, 0);
    ck_assert_uint_le(s->tcp_port, 65535);
  }
}

/* The order loop.h and uas.h ask for: the loop, then the UAS, then the core. */
static void srv_stop(srv *s)
{
  sipsrv_loop_free(s->loop);
  sipsrv_uas_free(s->uas);
  sipsrv_core_free(s->core);
  memset(s, 0, sizeof *s);
}

/* Run the server's loop in rounds of at most 10 ms until fd has bytes, for
 * at most max_ms. Returns what recv returned (> 0 bytes; 0 at the end of a
 * stream), or -1 when nothing came in time (errno EAGAIN) or on an error. */
static ssize_t pump_recv(srv *s, int fd, char *buf, size_t size, unsigned max_ms)
{
  uint64_t end = real_ms() + max_ms;
  for (unsigned round = 0; round < 10000; round++) {
    ssize_t n = recv(fd, buf, size, MSG_DONTWAIT);
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
      return n;
    if (real_ms() >= end)
      break;
    ck_assert_int_ge(sipsrv_loop_run_once(s->loop, 10), 0);
  }
  errno = EAGAIN;
  return -1;
}

/* Run the server's loop for about ms, in bounded rounds. */
static void pump_for(srv *s, unsigned ms)
{
  uint64_t end = real_ms() + ms;
  for (unsigned round = 0; round < 10000; round++) {
    uint64_t now = real_ms();
    if (now >= end)
      break;
    ck_assert_int_ge(sipsrv_loop_run_once(s->loop, (int)(end - now)), 0);
  }
}

/* ---- reading stream messages (a small client-side framer) --------------------------- */

typedef struct stream {
  char buf[16384];
  size_t len;
  bool eof;
} stream;

/* The length of the first whole stream message in buf, or 0 if there is
 * none yet. */
static size_t msg_len(const char *buf, size_t len)
{
  const char *end = memmem(buf, len, "\r\n\r\n", 4);
  size_t head, body = 0;
  char hdr[8192];
  const char *cl;

  if (!end)
    return 0;
  head = (size_t)(end - buf) + 4;
  ck_assert_uint_lt(head, sizeof hdr - 1);
  memcpy(hdr + 1, buf, head);
  hdr[0] = '\n';
  hdr[head + 1] = '\0';
  cl = strcasestr(hdr, "\nContent-Length:");
  if (cl)
    body = strtoul(cl + 16, NULL, 10);
  else if ((cl = strcasestr(hdr, "\nl:")) != NULL)
    body = strtoul(cl + 3, NULL, 10);
  else
    ck_abort_msg("a stream message without Content-Length");
  return len >= head + body ? head + body : 0;
}

static size_t stream_msg_len(const stream *st)
{
  return msg_len(st->buf, st->len);
}

static void stream_take(stream *st, size_t n)
{
  memmove(st->buf, st->buf + n, st->len - n);
  st->len -= n;
}

/* Pump the server until st holds at least want bytes or a whole message
 * (want 0), or the stream ends. */
static void stream_fill(srv *s, int fd, stream *st, size_t want)
{
  uint64_t end = real_ms() + REPLY_WAIT_MS;
  while (!st->eof && (want ? st->len < want : stream_msg_len(st) == 0)) {
    ssize_t n;
    ck_assert_uint_lt(st->len, sizeof st->buf);
    ck_assert_msg(real_ms() < end, "no reply within %d ms (%zu bytes so far)", REPLY_WAIT_MS,
                  st->len);
    n = pump_recv(s, fd, st->buf + st->len, sizeof st->buf - st->len,
                  (unsigned)(end > real_ms() ? end - real_ms() : 0));
    if (n == 0)
      st->eof = true;
    else if (n < 0 && errno != EAGAIN)
      ck_abort_msg("recv on the TCP client: %s", strerror(errno));
    else if (n > 0)
      st->len += (size_t)n;
  }
}

/* The next whole stream message, parsed (the caller frees it). */
static sipsrv_msg *stream_next(srv *s, int fd, stream *st)
{
  sipsrv_msg *m = NULL;
  sipsrv_verdict v;
  size_t n;

  stream_fill(s, fd, st, 0);
  n = stream_msg_len(st);
  ck_assert_msg(n > 0, "the stream ended before a whole message (%zu bytes)", st->len);
  ck_assert_int_eq(sipsrv_msg_parse(&m, st->buf, n, SIPSRV_PARSE_STREAM, &v), 0);
  ck_assert_int_eq(v.action, SIPSRV_ACCEPT);
  stream_take(st, n);
  return m;
}

/* ---- checking responses ----------------------------------------------------------- */

static sipsrv_msg *parse_dgram(const char *buf, size_t len)
{
  sipsrv_msg *m = NULL;
  sipsrv_verdict v;
  ck_assert_int_eq(sipsrv_msg_parse(&m, buf, len, 0, &v), 0);
  ck_assert_int_eq(v.action, SIPSRV_ACCEPT);
  ck_assert(!sipsrv_msg_is_request(m));
  return m;
}

/* A 200 to OPTIONS (RFC 3261 11.2: with Allow), with the Via stamped as
 * RFC 3261 18.2.1 and RFC 3581 4 ask: received=ip;rport=port. */
static void check_options_200(const sipsrv_msg *m, const char *call_id, const char *ip,
                              unsigned rport)
{
  sipsrv_via via;
  char allow[512], want[16];
  uint32_t seq;
  const char *method;

  ck_assert_int_eq(sipsrv_msg_status(m), 200);
  ck_assert_str_eq(sipsrv_msg_phrase(m), "OK");
  ck_assert_str_eq(sipsrv_msg_call_id(m), call_id);
  ck_assert_int_eq(sipsrv_msg_cseq(m, &seq, &method), 0);
  ck_assert_uint_eq(seq, 1);
  ck_assert_str_eq(method, "OPTIONS");
  ck_assert_int_gt(sipsrv_msg_header(m, "Allow", 0, allow, sizeof allow), 0);
  ck_assert_ptr_nonnull(strstr(allow, "OPTIONS"));
  ck_assert_ptr_nonnull(strstr(allow, "INVITE"));
  ck_assert_int_eq(sipsrv_msg_via_count(m), 1);
  ck_assert_int_eq(sipsrv_msg_via(m, 0, &via), 0);
  ck_assert_ptr_nonnull(via.received);
  ck_assert_str_eq(via.received, ip);
  ck_assert_ptr_nonnull(via.rport);
  snprintf(want, sizeof want, "%u", rport);
  ck_assert_str_eq(via.rport, want);
}

/* ---- UAS callbacks ------------------------------------------------------------------ */

typedef struct app {
  unsigned requests, invites;
  int respond_rc;
  int status;               /* what INVITEs get */
  sipsrv_loop *stop_loop;   /* stop this loop from the callback */
  sipsrv_request *held;     /* an INVITE left unanswered (status 0) */
  const char *body;         /* when set, OPTIONS get 200 with this body */
  size_t body_len;
} app;

/* INVITE: answered with a->status (0: not yet); anything else: built-ins. */
static int on_request(sipsrv_uas *uas, sipsrv_request *req, void *user)
{
  app *a = user;
  (void)uas;
  a->requests++;
  if (a->stop_loop)
    sipsrv_loop_stop(a->stop_loop);
  if (a->body && sipsrv_msg_method(sipsrv_request_msg(req)) == SIPSRV_METHOD_OPTIONS) {
    sipsrv_reply_opts opts = SIPSRV_REPLY_OPTS_INIT;
    opts.headers = "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS";
    opts.body = a->body;
    opts.body_len = a->body_len;
    opts.content_type = "text/plain";
    a->respond_rc = sipsrv_request_respond(req, 200, NULL, &opts);
    return 1;
  }
  if (sipsrv_msg_method(sipsrv_request_msg(req)) != SIPSRV_METHOD_INVITE)
    return 0;
  a->invites++;
  if (a->status)
    a->respond_rc = sipsrv_request_respond(req, a->status, NULL, NULL);
  else
    a->held = req;
  return 1;
}

static void app_uas_cfg(sipsrv_uas_cfg *cfg, app *a)
{
  sipsrv_uas_cfg init = SIPSRV_UAS_CFG_INIT;
  *cfg = init;
  cfg->on_request = on_request;
  cfg->user = a;
}

/* ===== clock ========================================================================= */

START_TEST(loop_clock_monotonic_nondecreasing)
{
  uint64_t prev = sipsrv_clock_monotonic(NULL), now;
  int dummy;
  for (int i = 0; i < 20000; i++) {
    now = sipsrv_clock_monotonic(i % 2 ? NULL : &dummy);   /* the argument is ignored */
    ck_assert_uint_ge(now, prev);
    prev = now;
  }
}
END_TEST

START_TEST(loop_clock_monotonic_real_time)
{
  uint64_t r0 = real_ms(), c0 = sipsrv_clock_monotonic(NULL), r1, c1;
  uint64_t dr, dc;

  sleep_ms(60);
  c1 = sipsrv_clock_monotonic(NULL);
  r1 = real_ms();
  dr = r1 - r0;
  dc = c1 - c0;
  /* Both read CLOCK_MONOTONIC: they move together, to the millisecond. */
  ck_assert_uint_ge(dc, 59);
  ck_assert_uint_le(dc, dr + 1);
  ck_assert_uint_ge(dc + 2, dr);
  /* Milliseconds, not seconds or microseconds: CLOCK_MONOTONIC in ms. */
  ck_assert_uint_le(c0 > r0 ? c0 - r0 : r0 - c0, 2);
}
END_TEST

/* ===== invalid arguments ================================================================ */

START_TEST(loop_new_null_args)
{
  sipsrv_core *core;
  sipsrv_loop *l = (sipsrv_loop *)&l;    /* not written on failure */
  sipsrv_core_cfg cfg;

  srv_core_cfg(&cfg, false);
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), 0);
  ck_assert_int_eq(sipsrv_loop_new(NULL, core), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_loop_new(&l, NULL), SIPSRV_E_INVAL);
  ck_assert_ptr_eq(l, (sipsrv_loop *)&l);
  ck_assert_int_eq(sipsrv_loop_new(&l, core), 0);
  ck_assert_ptr_ne(l, (sipsrv_loop *)&l);
  sipsrv_loop_free(l);
  sipsrv_core_free(core);
}
END_TEST

START_TEST(loop_listen_bad_specs)
{
  static const char *const bad[] = {
    "", "sctp:127.0.0.1:0", "udp:127.0.0.1", "udp:[::1", "udp:127.0.0.1:70000",
    "udp:not-an-ip:0", "tcp:", "udp:", "udp:127.0.0.1:", "tcp:[::1]", "tcp:[::1]0",
    "udp:[]:0", "udp::0", "udp:127.0.0.1:65536", "udp:127.0.0.1:-1", "udp:127.0.0.1:5x",
    "tcp:localhost:0", "udp127.0.0.1:0", "tls:127.0.0.1:0", NULL
  };
  sipsrv_core *core;
  sipsrv_loop *l;
  sipsrv_core_cfg cfg;
  unsigned port;

  srv_core_cfg(&cfg, false);
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), 0);
  ck_assert_int_eq(sipsrv_loop_new(&l, core), 0);
  for (int i = 0; bad[i]; i++) {
    port = 12345;
    ck_assert_msg(sipsrv_loop_listen(l, bad[i], &port) == SIPSRV_E_INVAL,
                  "spec \"%s\" was not rejected with SIPSRV_E_INVAL", bad[i]);
    ck_assert_uint_eq(port, 12345);
  }
  ck_assert_int_eq(sipsrv_loop_listen(NULL, "udp:127.0.0.1:0", &port), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_loop_listen(l, NULL, &port), SIPSRV_E_INVAL);
  /* Good specs still work after all that; port may be NULL; any case. */
  ck_assert_int_eq(sipsrv_loop_listen(l, "udp:127.0.0.1:0", NULL), 0);
  ck_assert_int_eq(sipsrv_loop_listen(l, "TCP:127.0.0.1:0", &port), 0);
  ck_assert_uint_gt(port, 0);
  sipsrv_loop_free(l);
  sipsrv_core_free(core);
}
END_TEST

/* A port taken already: SIPSRV_E_IO, nothing leaks, the loop still works. */
START_TEST(loop_listen_port_in_use)
{
  srv s;
  char spec[64];
  unsigned port = 7;

  srv_start(&s, false, NULL, "udp:127.0.0.1:0", "tcp:127.0.0.1:0");
  snprintf(spec, sizeof spec, "udp:127.0.0.1:%u", s.udp_port);
  ck_assert_int_eq(sipsrv_loop_listen(s.loop, spec, &port), SIPSRV_E_IO);
  snprintf(spec, sizeof spec, "tcp:127.0.0.1:%u", s.tcp_port);
  ck_assert_int_eq(sipsrv_loop_listen(s.loop, spec, &port), SIPSRV_E_IO);
  ck_assert_uint_eq(port, 7);
  ck_assert_int_ge(sipsrv_loop_run_once(s.loop, 0), 0);
  srv_stop(&s);
}
END_TEST

START_TEST(loop_free_stop_null)
{
  sipsrv_loop_free(NULL);
  sipsrv_loop_stop(NULL);
}
END_TEST

START_TEST(loop_run_null)
{
  ck_assert_int_eq(sipsrv_loop_run_once(NULL, 0), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_loop_run_once(NULL, -1), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_loop_run(NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_loop_handle_signals(NULL), SIPSRV_E_INVAL);
}
END_TEST

/* ===== run_once and its wait ================================================================ */

/* Nothing to do: run_once waits its timeout and handles nothing. */
START_TEST(loop_run_once_timeout)
{
  srv s;
  uint64_t t0;

  srv_start(&s, false, NULL, "udp:127.0.0.1:0", NULL);
  t0 = real_ms();
  ck_assert_int_eq(sipsrv_loop_run_once(s.loop, 0), 0);
  ck_assert_uint_lt(real_ms() - t0, 500);
  t0 = real_ms();
  ck_assert_int_eq(sipsrv_loop_run_once(s.loop, 40), 0);
  ck_assert_uint_ge(real_ms() - t0, 39);
  srv_stop(&s);
}
END_TEST

static void timer_fired(void *user)
{
  uint64_t *when = user;
  *when = real_ms();
}

/* A core timer shortens the wait: run_once(-1) and run_once(5000) both
 * return when the timer is due, having run it. */
START_TEST(loop_run_once_core_timer)
{
  srv s;
  uint64_t t0, fired = 0;

  srv_start(&s, false, NULL, "udp:127.0.0.1:0", NULL);
  for (int pass = 0; pass < 2; pass++) {
    int rounds = 0;
    fired = 0;
    t0 = real_ms();
    ck_assert_int_eq(sipsrv_core_timer_new(s.core, 40, timer_fired, &fired, NULL), 0);
    while (!fired && rounds++ < 5 && real_ms() - t0 < 900)
      ck_assert_int_ge(sipsrv_loop_run_once(s.loop, pass ? 5000 : -1), 0);
    ck_assert_msg(fired != 0, "the core timer did not run");
    ck_assert_uint_ge(fired - t0, 39);
    /* Not the loop's 1 s housekeeping wake-up, nor the 5 s timeout. */
    ck_assert_uint_lt(fired - t0, 600);
    ck_assert_int_le(rounds, 2);
  }
  srv_stop(&s);
}
END_TEST

/* ===== UDP ============================================================================ */

static void options_udp(int family, const char *udp_spec, const char *host, const char *ip)
{
  srv s;
  int fd;
  unsigned cport;
  char req[2048], buf[8192];
  ssize_t n;
  sipsrv_msg *m;
  req_spec r = { "OPTIONS", "UDP", host, 0, 0, "opt-udp", "opt-udp@client", NULL, true };

  srv_start(&s, false, NULL, udp_spec, NULL);
  fd = udp_client(family, &cport);
  r.srv_port = s.udp_port;
  r.port = cport;
  build_req(req, sizeof req, &r);
  udp_send_to(fd, family, s.udp_port, req);
  n = pump_recv(&s, fd, buf, sizeof buf - 1, REPLY_WAIT_MS);
  ck_assert_msg(n > 0, "no answer to OPTIONS over UDP within %d ms", REPLY_WAIT_MS);
  buf[n] = '\0';
  ck_assert_msg(strncmp(buf, "SIP/2.0 200 OK\r\n", 16) == 0, "got: %s", buf);
  m = parse_dgram(buf, (size_t)n);
  check_options_200(m, "opt-udp@client", ip, cport);
  sipsrv_msg_free(m);
  /* One answer, no more. */
  ck_assert_int_lt(pump_recv(&s, fd, buf, sizeof buf, 100), 0);
  close(fd);
  srv_stop(&s);
}

START_TEST(loop_udp_options_200)
{
  options_udp(AF_INET, "udp:127.0.0.1:0", "127.0.0.1", "127.0.0.1");
}
END_TEST

/* The Via sent-by says another port than the source's: with rport the
 * answer goes to the source port (RFC 3581 4), where the client is. */
START_TEST(loop_udp_rport_source_port)
{
  srv s;
  int fd;
  unsigned cport;
  char req[2048], buf[8192];
  ssize_t n;
  sipsrv_msg *m;
  req_spec r = { "OPTIONS", "UDP", "127.0.0.1", 0, 9, "nat", "nat@client", NULL, true };

  srv_start(&s, false, NULL, "udp:127.0.0.1:0", "tcp:127.0.0.1:0");
  fd = udp_client(AF_INET, &cport);
  r.srv_port = s.udp_port;
  build_req(req, sizeof req, &r);
  udp_send_to(fd, AF_INET, s.udp_port, req);
  n = pump_recv(&s, fd, buf, sizeof buf - 1, REPLY_WAIT_MS);
  ck_assert_int_gt(n, 0);
  m = parse_dgram(buf, (size_t)n);
  check_options_200(m, "nat@client", "127.0.0.1", cport);
  sipsrv_msg_free(m);
  close(fd);
  srv_stop(&s);
}
END_TEST

/* The ACK for a non-2xx final response: same branch, the To tag of the
 * response (RFC 3261 17.1.1.3). */
static void build_ack(char *buf, size_t size, const req_spec *inv, const sipsrv_msg *rsp)
{
  sipsrv_addr to;
  req_spec a = *inv;
  ck_assert_int_eq(sipsrv_msg_to(rsp, &to), 0);
  ck_assert_ptr_nonnull(to.tag);
  a.method = "ACK";
  a.to_tag = to.tag;
  build_req(buf, size, &a);
}

/* An INVITE answered 486 by the application: the loop retransmits the 486
 * on Timer G (RFC 3261 17.2.1) -- so it arms its wait from
 * sipsrv_core_next_timeout() -- until the ACK comes, then never again. */
START_TEST(loop_udp_invite_486_retransmit)
{
  srv s;
  app a;
  sipsrv_uas_cfg ucfg;
  int fd, rounds;
  unsigned cport;
  char req[2048], ack[2048], first[8192], buf[8192];
  ssize_t n, n1;
  uint64_t t1, t2;
  sipsrv_msg *m;
  req_spec r = { "INVITE", "UDP", "127.0.0.1", 0, 0, "inv486", "inv486@client", NULL, true };

  memset(&a, 0, sizeof a);
  a.status = 486;
  app_uas_cfg(&ucfg, &a);
  srv_start(&s, true, &ucfg, "udp:127.0.0.1:0", "tcp:127.0.0.1:0");
  fd = udp_client(AF_INET, &cport);
  r.srv_port = s.udp_port;
  r.port = cport;
  build_req(req, sizeof req, &r);
  udp_send_to(fd, AF_INET, s.udp_port, req);

  n1 = pump_recv(&s, fd, first, sizeof first - 1, REPLY_WAIT_MS);
  t1 = real_ms();
  ck_assert_int_gt(n1, 0);
  first[n1] = '\0';
  ck_assert_msg(strncmp(first, "SIP/2.0 486 ", 12) == 0, "got: %s", first);
  ck_assert_uint_eq(a.invites, 1);
  ck_assert_int_eq(a.respond_rc, 0);
  m = parse_dgram(first, (size_t)n1);
  ck_assert_str_eq(sipsrv_msg_call_id(m), "inv486@client");
  build_ack(ack, sizeof ack, &r, m);
  sipsrv_msg_free(m);

  /* No ACK: the 486 again after T1. run_once(-1) waits for the core's next
   * timer, not for the loop's 1 s housekeeping. */
  for (rounds = 0; rounds < 3; rounds++) {
    ck_assert_int_ge(sipsrv_loop_run_once(s.loop, -1), 0);
    n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0)
      break;
    ck_assert_uint_lt(real_ms() - t1, 10 * FAST_T1);
  }
  t2 = real_ms();
  ck_assert_msg(n > 0, "the 486 was not retransmitted");
  ck_assert_int_eq(n, n1);
  ck_assert(memcmp(buf, first, (size_t)n) == 0);
  ck_assert_uint_ge(t2 - t1, FAST_T1 - 20);
  ck_assert_uint_lt(t2 - t1, 10 * FAST_T1);
  ck_assert_uint_eq(a.invites, 1);

  /* The ACK: no more 486 within 3*T2. Drain first: nothing can be sent
   * between the drain and the ACK, as the server runs only in pump_*. */
  while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
    ;
  udp_send_to(fd, AF_INET, s.udp_port, ack);
  ck_assert_int_lt(pump_recv(&s, fd, buf, sizeof buf, 3 * FAST_T2), 0);
  ck_assert_uint_eq(a.invites, 1);
  ck_assert_uint_eq(a.requests, 1);       /* the ACK was absorbed */
  close(fd);
  srv_stop(&s);
}
END_TEST

/* ===== TCP ============================================================================ */

static void options_tcp(int family, const char *tcp_spec, const char *host, const char *ip)
{
  srv s;
  int fd;
  unsigned cport;
  char req[2048];
  stream *st = calloc(1, sizeof *st);
  sipsrv_msg *m;
  req_spec r = { "OPTIONS", "TCP", host, 0, 0, "opt-tcp", "opt-tcp@client", NULL, true };

  ck_assert_ptr_nonnull(st);
  srv_start(&s, false, NULL, NULL, tcp_spec);
  fd = tcp_client(family, s.tcp_port, &cport);
  r.srv_port = s.tcp_port;
  r.port = cport;
  build_req(req, sizeof req, &r);
  tcp_write(fd, req, strlen(req));
  stream_fill(&s, fd, st, 16);
  ck_assert_msg(st->len >= 16 && memcmp(st->buf, "SIP/2.0 200 OK\r\n", 16) == 0,
                "got %zu bytes: %.*s", st->len, (int)st->len, st->buf);
  m = stream_next(&s, fd, st);
  check_options_200(m, "opt-tcp@client", ip, cport);
  sipsrv_msg_free(m);
  ck_assert_uint_eq(st->len, 0);
  /* The connection stays open for more. */
  ck_assert(!st->eof);
  close(fd);
  free(st);
  srv_stop(&s);
}

START_TEST(loop_tcp_options_200)
{
  options_tcp(AF_INET, "tcp:127.0.0.1:0", "127.0.0.1", "127.0.0.1");
}
END_TEST

/* Two requests in one write: two responses, in order, on the connection. */
START_TEST(loop_tcp_pipelined)
{
  srv s;
  int fd;
  unsigned cport;
  char req[4096];
  size_t len;
  stream *st = calloc(1, sizeof *st);
  sipsrv_msg *m;
  req_spec r = { "OPTIONS", "TCP", "127.0.0.1", 0, 0, "pipe1", "pipe1@client", NULL, true };

  ck_assert_ptr_nonnull(st);
  srv_start(&s, false, NULL, "udp:127.0.0.1:0", "tcp:127.0.0.1:0");
  fd = tcp_client(AF_INET, s.tcp_port, &cport);
  r.srv_port = s.tcp_port;
  r.port = cport;
  build_req(req, sizeof req, &r);
  len = strlen(req);
  r.branch = "pipe2";
  r.call_id = "pipe2@client";
  build_req(req + len, sizeof req - len, &r);
  tcp_write(fd, req, strlen(req));

  m = stream_next(&s, fd, st);
  check_options_200(m, "pipe1@client", "127.0.0.1", cport);
  sipsrv_msg_free(m);
  m = stream_next(&s, fd, st);
  check_options_200(m, "pipe2@client", "127.0.0.1", cport);
  sipsrv_msg_free(m);
  /* Nothing else. */
  pump_for(&s, 50);
  ck_assert_int_lt(recv(fd, req, sizeof req, MSG_DONTWAIT), 0);
  close(fd);
  free(st);
  srv_stop(&s);
}
END_TEST

/* RFC 5626 4.4.1: a CRLFCRLF ping gets a CRLF pong; the connection goes on. */
START_TEST(loop_tcp_keepalive)
{
  srv s;
  int fd;
  unsigned cport;
  char req[2048];
  stream *st = calloc(1, sizeof *st);
  sipsrv_msg *m;
  req_spec r = { "OPTIONS", "TCP", "127.0.0.1", 0, 0, "ka", "ka@client", NULL, true };

  ck_assert_ptr_nonnull(st);
  srv_start(&s, false, NULL, "udp:127.0.0.1:0", "tcp:127.0.0.1:0");
  fd = tcp_client(AF_INET, s.tcp_port, &cport);
  tcp_write(fd, "\r\n\r\n", 4);
  stream_fill(&s, fd, st, 2);
  ck_assert_uint_eq(st->len, 2);
  ck_assert(memcmp(st->buf, "\r\n", 2) == 0);
  stream_take(st, 2);
  /* No second pong. */
  pump_for(&s, 50);
  ck_assert_int_lt(recv(fd, req, sizeof req, MSG_DONTWAIT), 0);

  r.srv_port = s.tcp_port;
  r.port = cport;
  build_req(req, sizeof req, &r);
  tcp_write(fd, req, strlen(req));
  m = stream_next(&s, fd, st);
  check_options_200(m, "ka@client", "127.0.0.1", cport);
  sipsrv_msg_free(m);
  close(fd);
  free(st);
  srv_stop(&s);
}
END_TEST

/* Framing lost (RFC 4475 3.1.2.3): two Content-Length headers get a 400,
 * then the server closes the connection. */
START_TEST(loop_tcp_two_content_length)
{
  static const char two_cl[] =
    "OPTIONS sip:uas@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKtwocl;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:client@127.0.0.1>;tag=1\r\n"
    "To: <sip:uas@127.0.0.1>\r\n"
    "Call-ID: twocl@client\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Length: 0\r\n"
    "Content-Length: 4\r\n"
    "\r\n"
    "abcd";
  srv s;
  int fd;
  stream *st = calloc(1, sizeof *st);
  sipsrv_msg *m;

  ck_assert_ptr_nonnull(st);
  srv_start(&s, false, NULL, "udp:127.0.0.1:0", "tcp:127.0.0.1:0");
  fd = tcp_client(AF_INET, s.tcp_port, NULL);
  tcp_write(fd, two_cl, sizeof two_cl - 1);
  stream_fill(&s, fd, st, sizeof st->buf);    /* everything, to the end of the stream */
  ck_assert_msg(st->eof, "the server did not close the connection");
  ck_assert_msg(st->len >= 12 && memcmp(st->buf, "SIP/2.0 400 ", 12) == 0,
                "got %zu bytes: %.*s", st->len, (int)st->len, st->buf);
  m = stream_next(&s, fd, st);
  ck_assert_int_eq(sipsrv_msg_status(m), 400);
  ck_assert_str_eq(sipsrv_msg_call_id(m), "twocl@client");
  sipsrv_msg_free(m);
  ck_assert_uint_eq(st->len, 0);
  close(fd);
  free(st);
  srv_stop(&s);
}
END_TEST

/* The start of a request, never finished. */
static const char half_msg[] = "OPTIONS sip:uas@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP";

/* The client closes: the server forgets the connection, and others go on. */
START_TEST(loop_tcp_client_closes)
{
  srv s;
  int fd1, fd2;
  unsigned cport;
  char req[2048];
  stream *st = calloc(1, sizeof *st);
  sipsrv_msg *m;
  req_spec r = { "OPTIONS", "TCP", "127.0.0.1", 0, 0, "cc", "cc@client", NULL, true };

  ck_assert_ptr_nonnull(st);
  srv_start(&s, false, NULL, NULL, "tcp:127.0.0.1:0");
  fd1 = tcp_client(AF_INET, s.tcp_port, NULL);
  /* Half a message, then gone. */
  tcp_write(fd1, half_msg, sizeof half_msg - 1);
  pump_for(&s, 20);
  close(fd1);
  pump_for(&s, 20);
  fd2 = tcp_client(AF_INET, s.tcp_port, &cport);
  r.srv_port = s.tcp_port;
  r.port = cport;
  build_req(req, sizeof req, &r);
  tcp_write(fd2, req, strlen(req));
  m = stream_next(&s, fd2, st);
  check_options_200(m, "cc@client", "127.0.0.1", cport);
  sipsrv_msg_free(m);
  close(fd2);
  free(st);
  srv_stop(&s);
}
END_TEST

/* Answers larger than the kernel takes while the client reads nothing: the
 * rest waits in the connection's write buffer (the loop watches for
 * writability) and everything comes, whole and in order. */
static void write_queue(bool half_close)
{
  enum { N = 60, BODY = 60000 };
  srv s;
  app a;
  sipsrv_uas_cfg ucfg;
  int fd;
  unsigned cport;
  char *reqs, *body, *in, branch[32], call_id[64];
  size_t len = 0, cap = (size_t)N * 1024, have = 0, incap = 4 * BODY;
  int closed_at = -1;
  uint64_t end;
  req_spec r = { "OPTIONS", "TCP", "127.0.0.1", 0, 0, branch, call_id, NULL, true };

  reqs = malloc(cap);
  body = malloc(BODY);
  in = malloc(incap);
  ck_assert_ptr_nonnull(reqs);
  ck_assert_ptr_nonnull(body);
  ck_assert_ptr_nonnull(in);
  for (size_t i = 0; i < BODY; i++)
    body[i] = (char)('a' + i % 26);
  memset(&a, 0, sizeof a);
  a.body = body;
  a.body_len = BODY;
  app_uas_cfg(&ucfg, &a);
  srv_start(&s, false, &ucfg, NULL, "tcp:127.0.0.1:0");
  fd = tcp_client_rcvbuf(AF_INET, s.tcp_port, &cport, 4096);
  r.srv_port = s.tcp_port;
  r.port = cport;
  for (int i = 0; i < N; i++) {
    snprintf(branch, sizeof branch, "wq%d", i);
    snprintf(call_id, sizeof call_id, "wq%d@client", i);
    build_req(reqs + len, cap - len, &r);
    len += strlen(reqs + len);
  }
  tcp_write(fd, reqs, len);
  if (half_close)
    ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
  /* The server answers everything before the client reads a byte. */
  for (int i = 0; i < 500 && a.requests < N; i++)
    ck_assert_int_ge(sipsrv_loop_run_once(s.loop, 10), 0);
  ck_assert_uint_eq(a.requests, N);
  ck_assert_int_eq(a.respond_rc, 0);

  end = real_ms() + 5000;
  for (int i = 0; i < N; i++) {
    sipsrv_msg *m = NULL;
    sipsrv_verdict v;
    const void *data;
    size_t blen, n;

    while ((n = msg_len(in, have)) == 0) {
      ssize_t got;
      ck_assert_msg(real_ms() < end, "answer %d incomplete: %zu bytes", i, have);
      ck_assert_uint_lt(have, incap);
      got = pump_recv(&s, fd, in + have, incap - have, 50);
      if (got == 0) {
        closed_at = i;
        break;
      }
      if (got > 0)
        have += (size_t)got;
    }
    if (closed_at >= 0)
      break;
    ck_assert_int_eq(sipsrv_msg_parse(&m, in, n, SIPSRV_PARSE_STREAM, &v), 0);
    ck_assert_int_eq(v.action, SIPSRV_ACCEPT);
    snprintf(call_id, sizeof call_id, "wq%d@client", i);
    ck_assert_int_eq(sipsrv_msg_status(m), 200);
    ck_assert_str_eq(sipsrv_msg_call_id(m), call_id);
    ck_assert_int_eq(sipsrv_msg_body(m, &data, &blen), 0);
    ck_assert_uint_eq(blen, BODY);
    ck_assert(memcmp(data, body, BODY) == 0);
    sipsrv_msg_free(m);
    memmove(in, in + n, have - n);
    have -= n;
  }
  if (closed_at >= 0) {
    /* Clean up before failing, so that CK_FORK=no runs stay leak-free. */
    close(fd);
    free(reqs);
    free(body);
    free(in);
    srv_stop(&s);
    ck_abort_msg("the server closed the connection with %d of %d answers sent%s", closed_at, N,
                 half_close ? " after the client's half-close: the queued ones were dropped"
                            : "");
  }
  ck_assert_uint_eq(have, 0);
  if (half_close) {
    ssize_t got = pump_recv(&s, fd, in, incap, REPLY_WAIT_MS);
    ck_assert_msg(got == 0, "no end of stream after the answers (%zd)", got);
  }
  close(fd);
  free(reqs);
  free(body);
  free(in);
  srv_stop(&s);
}

START_TEST(loop_tcp_write_queue)
{
  write_queue(false);
}
END_TEST

/* The same, the client shutting its side down after its requests (it
 * reads on): what is queued still goes out before the server closes. */
START_TEST(loop_tcp_write_queue_half_close)
{
  write_queue(true);
}
END_TEST

/* The client sends its request and shuts its side down: the answer still
 * comes, then the server closes. */
START_TEST(loop_tcp_half_close)
{
  srv s;
  int fd;
  unsigned cport;
  char req[2048];
  stream *st = calloc(1, sizeof *st);
  sipsrv_msg *m;
  req_spec r = { "OPTIONS", "TCP", "127.0.0.1", 0, 0, "half", "half@client", NULL, true };

  ck_assert_ptr_nonnull(st);
  srv_start(&s, false, NULL, NULL, "tcp:127.0.0.1:0");
  fd = tcp_client(AF_INET, s.tcp_port, &cport);
  r.srv_port = s.tcp_port;
  r.port = cport;
  build_req(req, sizeof req, &r);
  tcp_write(fd, req, strlen(req));
  ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
  m = stream_next(&s, fd, st);
  check_options_200(m, "half@client", "127.0.0.1", cport);
  sipsrv_msg_free(m);
  stream_fill(&s, fd, st, sizeof st->buf);
  ck_assert(st->eof);
  ck_assert_uint_eq(st->len, 0);
  close(fd);
  free(st);
  srv_stop(&s);
}
END_TEST

/* RFC 3261 18.2.2: a response over TCP goes on the connection the request
 * came on; "if that connection is no longer open, the server SHOULD open a
 * connection to the IP address in the received parameter, if present,
 * using the port in the sent-by value". The client listens on its sent-by
 * port, sends an INVITE from another connection that it then closes; the
 * application answers 486 afterwards. */
START_TEST(loop_tcp_response_after_close_to_sent_by)
{
  srv s;
  app a;
  sipsrv_uas_cfg ucfg;
  int lfd, fd, afd = -1;
  unsigned lport;
  char req[2048];
  stream *st = calloc(1, sizeof *st);
  struct sockaddr_storage ss;
  socklen_t sl = loopback(AF_INET, 0, &ss);
  sipsrv_msg *m;
  uint64_t end;
  req_spec r = { "INVITE", "TCP", "127.0.0.1", 0, 0, "late", "late@client", NULL, false };

  ck_assert_ptr_nonnull(st);
  memset(&a, 0, sizeof a);
  app_uas_cfg(&ucfg, &a);
  srv_start(&s, false, &ucfg, NULL, "tcp:127.0.0.1:0");
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(lfd, 0);
  ck_assert_int_eq(bind(lfd, (struct sockaddr *)&ss, sl), 0);
  ck_assert_int_eq(listen(lfd, 4), 0);
  lport = local_port(lfd);

  fd = tcp_client(AF_INET, s.tcp_port, NULL);
  r.srv_port = s.tcp_port;
  r.port = lport;
  build_req(req, sizeof req, &r);
  tcp_write(fd, req, strlen(req));
  for (int i = 0; i < 200 && !a.held; i++)
    ck_assert_int_ge(sipsrv_loop_run_once(s.loop, 10), 0);
  ck_assert_ptr_nonnull(a.held);
  close(fd);
  pump_for(&s, 30);                        /* the server sees the end of the stream */

  ck_assert_int_eq(sipsrv_request_respond(a.held, 486, NULL, NULL), 0);
  a.held = NULL;
  end = real_ms() + 1000;
  while (afd < 0 && real_ms() < end) {
    afd = accept(lfd, NULL, NULL);
    if (afd < 0)
      ck_assert_int_ge(sipsrv_loop_run_once(s.loop, 10), 0);
  }
  if (afd < 0) {
    /* Clean up before failing, so that CK_FORK=no runs stay leak-free. */
    close(lfd);
    free(st);
    srv_stop(&s);
    ck_abort_msg("the server opened no connection to the sent-by 127.0.0.1:%u to send "
                 "the 486 (RFC 3261 18.2.2)", lport);
  }
  ck_assert_int_eq(fcntl(afd, F_SETFL, O_NONBLOCK), 0);
  m = stream_next(&s, afd, st);
  ck_assert_int_eq(sipsrv_msg_status(m), 486);
  ck_assert_str_eq(sipsrv_msg_call_id(m), "late@client");
  sipsrv_msg_free(m);
  close(afd);
  close(lfd);
  free(st);
  srv_stop(&s);
}
END_TEST

/* ===== IPv6 =========================================================================== */

START_TEST(loop_ipv6_udp_options_200)
{
  if (!ipv6_loopback_available()) {
    printf("loop_ipv6_udp_options_200: skipped: cannot bind a socket to ::1 on this machine\n");
    return;
  }
  options_udp(AF_INET6, "udp:[::1]:0", "[::1]", "::1");
}
END_TEST

START_TEST(loop_ipv6_tcp_options_200)
{
  if (!ipv6_loopback_available()) {
    printf("loop_ipv6_tcp_options_200: skipped: cannot bind a socket to ::1 on this machine\n");
    return;
  }
  options_tcp(AF_INET6, "tcp:[::1]:0", "[::1]", "::1");
}
END_TEST

/* ===== stop ============================================================================ */

/* A safety net for sipsrv_loop_run(): stop it after a while anyway. */
typedef struct guard {
  sipsrv_loop *loop;
  bool fired;
} guard;

static void guard_fire(void *user)
{
  guard *g = user;
  g->fired = true;
  sipsrv_loop_stop(g->loop);
}

/* sipsrv_loop_stop() from a UAS callback: sipsrv_loop_run() returns 0. */
START_TEST(loop_stop_from_callback)
{
  srv s;
  app a;
  guard g;
  sipsrv_timer *t = NULL;
  sipsrv_uas_cfg ucfg;
  int fd;
  unsigned cport;
  char req[2048], buf[8192];
  ssize_t n;
  sipsrv_msg *m;
  req_spec r = { "OPTIONS", "UDP", "127.0.0.1", 0, 0, "stop", "stop@client", NULL, true };

  memset(&a, 0, sizeof a);
  app_uas_cfg(&ucfg, &a);
  srv_start(&s, false, &ucfg, "udp:127.0.0.1:0", NULL);
  a.stop_loop = s.loop;
  g.loop = s.loop;
  g.fired = false;
  ck_assert_int_eq(sipsrv_core_timer_new(s.core, 3000, guard_fire, &g, &t), 0);
  fd = udp_client(AF_INET, &cport);
  r.srv_port = s.udp_port;
  r.port = cport;
  build_req(req, sizeof req, &r);
  udp_send_to(fd, AF_INET, s.udp_port, req);

  alarm(20);                               /* a last resort if run() never returns */
  ck_assert_int_eq(sipsrv_loop_run(s.loop), 0);
  alarm(0);
  ck_assert_msg(!g.fired, "sipsrv_loop_run() did not stop from the callback");
  ck_assert_uint_eq(a.requests, 1);
  sipsrv_timer_cancel(t);
  /* The request was answered in the round the loop stopped in. */
  n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  ck_assert_int_gt(n, 0);
  m = parse_dgram(buf, (size_t)n);
  check_options_200(m, "stop@client", "127.0.0.1", cport);
  sipsrv_msg_free(m);

  /* run() again: it runs until the next stop (the guard timer this time). */
  g.fired = false;
  ck_assert_int_eq(sipsrv_core_timer_new(s.core, 30, guard_fire, &g, NULL), 0);
  alarm(20);
  ck_assert_int_eq(sipsrv_loop_run(s.loop), 0);
  alarm(0);
  ck_assert(g.fired);
  close(fd);
  srv_stop(&s);
}
END_TEST

/* ===== groups: one loop per thread ====================================================== */

START_TEST(loop_group_args)
{
  srv a, b;
  sipsrv_loop_group *g = NULL, *g2 = NULL;
  sipsrv_loop *two[2], *dup[2];
  unsigned port;

  srv_start(&a, false, NULL, NULL, NULL);
  srv_start(&b, false, NULL, NULL, NULL);
  two[0] = a.loop;
  two[1] = b.loop;
  dup[0] = dup[1] = a.loop;
  ck_assert_int_eq(sipsrv_loop_group_new(NULL, two, 2), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_loop_group_new(&g, NULL, 2), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_loop_group_new(&g, two, 0), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_loop_group_new(&g, dup, 2), SIPSRV_E_INVAL);
  ck_assert_uint_eq(sipsrv_loop_group_handoffs(NULL), 0);
  sipsrv_loop_group_free(NULL);
  ck_assert_int_eq(sipsrv_loop_group_new(&g, two, 2), 0);
  ck_assert_ptr_nonnull(g);
  /* A loop in a group already. */
  ck_assert_int_eq(sipsrv_loop_group_new(&g2, two, 1), SIPSRV_E_INVAL);
  /* A grouped loop listens on UDP and TCP. */
  ck_assert_int_eq(sipsrv_loop_listen(a.loop, "tcp:127.0.0.1:0", &port), 0);
  ck_assert_int_eq(sipsrv_loop_listen(a.loop, "udp:127.0.0.1:0", &port), 0);
  sipsrv_loop_group_free(g);
  /* A loop that listens already cannot join a group. */
  ck_assert_int_eq(sipsrv_loop_group_new(&g, two, 2), SIPSRV_E_STATE);
  srv_stop(&a);
  srv_stop(&b);
}
END_TEST

static void *group_run(void *arg)
{
  sipsrv_loop_run(arg);
  return NULL;
}

#define GROUP_CLIENTS 8
#define GROUP_CALLS 40

/* Two loops in two threads on one UDP port, each with its core and UAS:
 * every OPTIONS is answered once whichever socket the kernel gave it to,
 * both cores answer some, and a request sent again from each of eight
 * other sources (so, almost surely, to both sockets) is a retransmission
 * of the one transaction of its Call-ID's owner, not a new transaction on
 * another core (without the handing over, 1 in 128 runs would miss it). */
START_TEST(loop_group_two_threads)
{
  srv s[2];
  sipsrv_loop_group *g = NULL;
  sipsrv_loop *loops[2];
  pthread_t th[2];
  int fds[GROUP_CLIENTS];
  unsigned cports[GROUP_CLIENTS], port = 0;
  char req[2048], buf[8192], spec[64];
  bool seen[GROUP_CALLS] = { false };
  size_t answered = 0, again = 0;
  sipsrv_counters c[2];
  uint64_t end;

  for (int k = 0; k < 2; k++) {
    srv_start(&s[k], false, NULL, NULL, NULL);
    loops[k] = s[k].loop;
  }
  ck_assert_int_eq(sipsrv_loop_group_new(&g, loops, 2), 0);
  ck_assert_int_eq(sipsrv_loop_listen(s[0].loop, "udp:127.0.0.1:0", &port), 0);
  snprintf(spec, sizeof spec, "udp:127.0.0.1:%u", port);
  ck_assert_int_eq(sipsrv_loop_listen(s[1].loop, spec, NULL), 0);
  for (int k = 0; k < 2; k++)
    ck_assert_int_eq(pthread_create(&th[k], NULL, group_run, s[k].loop), 0);
  for (int i = 0; i < GROUP_CLIENTS; i++)
    fds[i] = udp_client(AF_INET, &cports[i]);

  for (int i = 0; i < GROUP_CALLS; i++) {
    char branch[32], callid[32];
    req_spec r = { "OPTIONS", "UDP", "127.0.0.1", port, cports[i % GROUP_CLIENTS], branch, callid,
                   NULL, true };
    snprintf(branch, sizeof branch, "grp%d", i);
    snprintf(callid, sizeof callid, "grp-%d@client", i);
    build_req(req, sizeof req, &r);
    udp_send_to(fds[i % GROUP_CLIENTS], AF_INET, port, req);
  }
  /* The first request again, from every client socket. */
  {
    req_spec r = { "OPTIONS", "UDP", "127.0.0.1", port, cports[0], "grp0", "grp-0@client", NULL,
                   true };
    build_req(req, sizeof req, &r);
    for (int i = 1; i < GROUP_CLIENTS; i++)
      udp_send_to(fds[i], AF_INET, port, req);
  }
  end = real_ms() + 5000;
  for (unsigned round = 0; round < 100000 && answered + again < GROUP_CALLS + GROUP_CLIENTS - 1 &&
                           real_ms() < end; round++) {
    struct pollfd p[GROUP_CLIENTS];
    for (int i = 0; i < GROUP_CLIENTS; i++) {
      p[i].fd = fds[i];
      p[i].events = POLLIN;
    }
    if (poll(p, GROUP_CLIENTS, 50) <= 0)
      continue;
    for (int i = 0; i < GROUP_CLIENTS; i++) {
      ssize_t n;
      sipsrv_msg *m;
      const char *cid;
      int k;
      if (!(p[i].revents & POLLIN) || (n = recv(fds[i], buf, sizeof buf - 1, MSG_DONTWAIT)) <= 0)
        continue;
      buf[n] = '\0';
      ck_assert_msg(strncmp(buf, "SIP/2.0 200 OK\r\n", 16) == 0, "got: %s", buf);
      m = parse_dgram(buf, (size_t)n);
      cid = sipsrv_msg_call_id(m);
      ck_assert_ptr_nonnull(cid);
      ck_assert_int_eq(sscanf(cid, "grp-%d@client", &k), 1);
      ck_assert_int_ge(k, 0);
      ck_assert_int_lt(k, GROUP_CALLS);
      if (seen[k]) {
        ck_assert_int_eq(k, 0);          /* only the first is sent again */
        again++;
      } else {
        seen[k] = true;
        answered++;
      }
      sipsrv_msg_free(m);
    }
  }
  for (int k = 0; k < 2; k++)
    sipsrv_loop_stop(s[k].loop);         /* from another thread */
  for (int k = 0; k < 2; k++)
    ck_assert_int_eq(pthread_join(th[k], NULL), 0);
  ck_assert_uint_eq(answered, GROUP_CALLS);
  ck_assert_uint_eq(again, GROUP_CLIENTS - 1);
  for (int k = 0; k < 2; k++)
    ck_assert_int_eq(sipsrv_core_counters(s[k].core, &c[k], sizeof c[k]), 0);
  ck_assert_uint_gt(c[0].requests_in, 0);
  ck_assert_uint_gt(c[1].requests_in, 0);
  /* One transaction per Call-ID, at its owner; the rest retransmissions. */
  ck_assert_uint_eq(c[0].transactions + c[1].transactions, GROUP_CALLS);
  ck_assert_uint_eq(c[0].retransmissions_in + c[1].retransmissions_in, GROUP_CLIENTS - 1);
  ck_assert_uint_gt(sipsrv_loop_group_handoffs(g), 0);
  sipsrv_loop_group_free(g);
  for (int i = 0; i < GROUP_CLIENTS; i++)
    close(fds[i]);
  for (int k = 0; k < 2; k++)
    srv_stop(&s[k]);
}
END_TEST

/* The next whole message on a TCP socket whose server runs in other
 * threads (parsed; the caller frees it), within REPLY_WAIT_MS. */
static sipsrv_msg *stream_wait(int fd, stream *st)
{
  uint64_t end = real_ms() + REPLY_WAIT_MS;
  sipsrv_msg *m = NULL;
  sipsrv_verdict v;
  size_t n;

  for (unsigned round = 0; round < 100000 && (n = stream_msg_len(st)) == 0; round++) {
    struct pollfd p = { fd, POLLIN, 0 };
    ssize_t k;
    ck_assert_msg(real_ms() < end, "no message within %d ms (%zu bytes so far)", REPLY_WAIT_MS,
                  st->len);
    if (poll(&p, 1, 20) <= 0)
      continue;
    ck_assert_uint_lt(st->len, sizeof st->buf);
    k = recv(fd, st->buf + st->len, sizeof st->buf - st->len, MSG_DONTWAIT);
    ck_assert_msg(k > 0, "the stream ended or failed (%zd)", k);
    st->len += (size_t)k;
  }
  n = stream_msg_len(st);
  ck_assert_uint_gt(n, 0);
  ck_assert_int_eq(sipsrv_msg_parse(&m, st->buf, n, SIPSRV_PARSE_STREAM, &v), 0);
  ck_assert_int_eq(v.action, SIPSRV_ACCEPT);
  stream_take(st, n);
  return m;
}

#define GTCP_CONNS 8
#define GTCP_PER 5

/* loop.h (groups, TCP): two loops in two threads with TCP listeners on one
 * port (SO_REUSEPORT: the kernel gives each connection to one of them).
 * Each OPTIONS is answered once, on the connection it came on (RFC 3261
 * 18.2.2), by the loop owning its Call-ID: a request read by the other
 * loop is handed over and its response written back through the loop that
 * owns the connection. Both cores answer some; one transaction each. */
START_TEST(loop_group_tcp_two_threads)
{
  static stream st[GTCP_CONNS];
  srv s[2];
  sipsrv_loop_group *g = NULL;
  sipsrv_loop *loops[2];
  pthread_t th[2];
  int fds[GTCP_CONNS];
  unsigned lports[GTCP_CONNS], port = 0;
  char req[2048], spec[64];
  bool seen[GTCP_CONNS * GTCP_PER] = { false };
  sipsrv_counters c[2];

  memset(st, 0, sizeof st);
  for (int k = 0; k < 2; k++) {
    srv_start(&s[k], false, NULL, NULL, NULL);
    loops[k] = s[k].loop;
  }
  ck_assert_int_eq(sipsrv_loop_group_new(&g, loops, 2), 0);
  ck_assert_int_eq(sipsrv_loop_listen(s[0].loop, "tcp:127.0.0.1:0", &port), 0);
  snprintf(spec, sizeof spec, "tcp:127.0.0.1:%u", port);
  ck_assert_int_eq(sipsrv_loop_listen(s[1].loop, spec, NULL), 0);
  for (int k = 0; k < 2; k++)
    ck_assert_int_eq(pthread_create(&th[k], NULL, group_run, s[k].loop), 0);
  for (int i = 0; i < GTCP_CONNS; i++)
    fds[i] = tcp_client(AF_INET, port, &lports[i]);
  for (int i = 0; i < GTCP_CONNS; i++)
    for (int j = 0; j < GTCP_PER; j++) {
      char branch[32], callid[32];
      req_spec r = { "OPTIONS", "TCP", "127.0.0.1", port, lports[i], branch, callid, NULL,
                     false };
      snprintf(branch, sizeof branch, "gt%d", i * GTCP_PER + j);
      snprintf(callid, sizeof callid, "gt-%d@client", i * GTCP_PER + j);
      build_req(req, sizeof req, &r);
      tcp_write(fds[i], req, strlen(req));
    }
  for (int i = 0; i < GTCP_CONNS; i++)
    for (int j = 0; j < GTCP_PER; j++) {
      sipsrv_msg *m = stream_wait(fds[i], &st[i]);
      const char *cid = sipsrv_msg_call_id(m);
      int k = -1;
      ck_assert_int_eq(sipsrv_msg_status(m), 200);
      ck_assert_ptr_nonnull(cid);
      ck_assert_int_eq(sscanf(cid, "gt-%d@client", &k), 1);
      /* On its own connection, once. */
      ck_assert_int_eq(k / GTCP_PER, i);
      ck_assert(!seen[k]);
      seen[k] = true;
      sipsrv_msg_free(m);
    }
  for (int k = 0; k < 2; k++)
    sipsrv_loop_stop(s[k].loop);
  for (int k = 0; k < 2; k++)
    ck_assert_int_eq(pthread_join(th[k], NULL), 0);
  for (int k = 0; k < 2; k++)
    ck_assert_int_eq(sipsrv_core_counters(s[k].core, &c[k], sizeof c[k]), 0);
  ck_assert_uint_gt(c[0].transactions, 0);
  ck_assert_uint_gt(c[1].transactions, 0);
  ck_assert_uint_eq(c[0].transactions + c[1].transactions, GTCP_CONNS * GTCP_PER);
  ck_assert_uint_gt(sipsrv_loop_group_handoffs(g), 0);
  sipsrv_loop_group_free(g);
  for (int i = 0; i < GTCP_CONNS; i++)
    close(fds[i]);
  for (int k = 0; k < 2; k++)
    srv_stop(&s[k]);
}
END_TEST

#define GNH_MSGS 24

/* loop.h (groups, TCP by address): a proxy in each of two grouped loops
 * sends requests for another domain to a next hop over TCP. The next hop
 * is a UA that connected to the group (it listens nowhere: a UA behind
 * NAT is reachable only over the connection it opened), and that
 * connection belongs to one loop. Every request, whichever loop owns its
 * Call-ID, reaches it over that connection (RFC 5923 3 reuse; a loop
 * without the connection hands the send to the one with it, else its own
 * connect would be refused), and every 200 it sends back on it reaches
 * the caller over UDP. */
static void group_tcp_next_hop(sipsrv_proxy_mode mode)
{
  static const char *const doms[] = { "example.com", NULL };
  static stream st;
  sipsrv_core *core[2];
  sipsrv_proxy *px[2];
  sipsrv_loop *loops[2];
  sipsrv_loop_group *g = NULL;
  pthread_t th[2];
  struct sockaddr_storage ss;
  socklen_t len;
  char hop[64], spec[64], req[2048], buf[8192];
  unsigned uport = 0, tport = 0, hport, cport;
  int hfd, cfd;
  size_t got = 0;
  bool seen[GNH_MSGS] = { false };
  uint64_t end;

  memset(&st, 0, sizeof st);
  /* The next hop's socket: bound now (its port names the next hop). */
  hfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(hfd, 0);
  len = loopback(AF_INET, 0, &ss);
  ck_assert_int_eq(bind(hfd, (struct sockaddr *)&ss, len), 0);
  hport = local_port(hfd);
  snprintf(hop, sizeof hop, "sip:127.0.0.1:%u;transport=tcp", hport);
  for (int k = 0; k < 2; k++) {
    sipsrv_core_cfg cc;
    sipsrv_proxy_cfg pc = SIPSRV_PROXY_CFG_INIT;
    srv_core_cfg(&cc, false);
    ck_assert_int_eq(sipsrv_core_new(&core[k], &cc), 0);
    pc.mode = mode;
    pc.domains = doms;
    pc.next_hop = hop;
    ck_assert_int_eq(sipsrv_proxy_new(&px[k], core[k], &pc), 0);
    ck_assert_int_eq(sipsrv_loop_new(&loops[k], core[k]), 0);
  }
  ck_assert_int_eq(sipsrv_loop_group_new(&g, loops, 2), 0);
  ck_assert_int_eq(sipsrv_loop_listen(loops[0], "udp:127.0.0.1:0", &uport), 0);
  ck_assert_int_eq(sipsrv_loop_listen(loops[0], "tcp:127.0.0.1:0", &tport), 0);
  snprintf(spec, sizeof spec, "udp:127.0.0.1:%u", uport);
  ck_assert_int_eq(sipsrv_loop_listen(loops[1], spec, NULL), 0);
  snprintf(spec, sizeof spec, "tcp:127.0.0.1:%u", tport);
  ck_assert_int_eq(sipsrv_loop_listen(loops[1], spec, NULL), 0);
  for (int k = 0; k < 2; k++)
    ck_assert_int_eq(pthread_create(&th[k], NULL, group_run, loops[k]), 0);

  /* The next hop connects; a keep-alive's pong (RFC 5626 4.4.1) says the
   * group has its connection. */
  len = loopback(AF_INET, tport, &ss);
  ck_assert_int_eq(connect(hfd, (struct sockaddr *)&ss, len), 0);
  tcp_write(hfd, "\r\n\r\n", 4);
  end = real_ms() + REPLY_WAIT_MS;
  for (unsigned round = 0; round < 1000 && st.len < 2; round++) {
    struct pollfd p = { hfd, POLLIN, 0 };
    ssize_t n;
    ck_assert_msg(real_ms() < end, "no pong");
    if (poll(&p, 1, 20) <= 0)
      continue;
    n = recv(hfd, st.buf + st.len, 2 - st.len, MSG_DONTWAIT);
    ck_assert_int_gt(n, 0);
    st.len += (size_t)n;
  }
  ck_assert_int_eq(memcmp(st.buf, "\r\n", 2), 0);
  st.len = 0;

  cfd = udp_client(AF_INET, &cport);
  for (int i = 0; i < GNH_MSGS; i++) {
    int n = snprintf(req, sizeof req,
                     "MESSAGE sip:bob@example.net SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKnh%d\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:alice@example.com>;tag=a%d\r\n"
                     "To: <sip:bob@example.net>\r\n"
                     "Call-ID: nh-%d@client\r\n"
                     "CSeq: 1 MESSAGE\r\n"
                     "Content-Length: 0\r\n\r\n",
                     cport, i, i, i);
    ck_assert_int_gt(n, 0);
    udp_send_to(cfd, AF_INET, uport, req);
  }
  /* Each request on the next hop's connection: answered there. */
  for (int i = 0; i < GNH_MSGS; i++) {
    sipsrv_msg *m = stream_wait(hfd, &st), *rsp = NULL;
    long n;
    ck_assert_int_eq(sipsrv_msg_method(m), SIPSRV_METHOD_MESSAGE);
    ck_assert_int_eq(sipsrv_msg_reply(&rsp, m, 200, NULL, NULL), 0);
    n = sipsrv_msg_serialize(rsp, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    tcp_write(hfd, buf, (size_t)n);
    sipsrv_msg_free(rsp);
    sipsrv_msg_free(m);
  }
  /* Each 200 back to the caller, once. */
  end = real_ms() + REPLY_WAIT_MS;
  for (unsigned round = 0; round < 100000 && got < GNH_MSGS && real_ms() < end; round++) {
    struct pollfd p = { cfd, POLLIN, 0 };
    ssize_t n;
    sipsrv_msg *m;
    int k = -1;
    if (poll(&p, 1, 20) <= 0 || (n = recv(cfd, buf, sizeof buf - 1, MSG_DONTWAIT)) <= 0)
      continue;
    m = parse_dgram(buf, (size_t)n);
    ck_assert_int_eq(sipsrv_msg_status(m), 200);
    ck_assert_int_eq(sscanf(sipsrv_msg_call_id(m), "nh-%d@client", &k), 1);
    ck_assert(k >= 0 && k < GNH_MSGS && !seen[k]);
    seen[k] = true;
    got++;
    sipsrv_msg_free(m);
  }
  for (int k = 0; k < 2; k++)
    sipsrv_loop_stop(loops[k]);
  for (int k = 0; k < 2; k++)
    ck_assert_int_eq(pthread_join(th[k], NULL), 0);
  ck_assert_uint_eq(got, GNH_MSGS);
  ck_assert_uint_gt(sipsrv_loop_group_handoffs(g), 0);
  sipsrv_loop_group_free(g);
  close(hfd);
  close(cfd);
  for (int k = 0; k < 2; k++) {
    sipsrv_loop_free(loops[k]);
    sipsrv_proxy_free(px[k]);
    sipsrv_core_free(core[k]);
  }
}

START_TEST(loop_group_tcp_next_hop_stateless)
{
  group_tcp_next_hop(SIPSRV_PROXY_STATELESS);
}
END_TEST

START_TEST(loop_group_tcp_next_hop_stateful)
{
  group_tcp_next_hop(SIPSRV_PROXY_STATEFUL);
}
END_TEST


/* ===== signals ========================================================================== */

/* In a child: a loop with handle_signals; the parent sends sig once the
 * child says it is ready; the child reports 'R' when run() returned 0 and
 * exits 0. Everything in the child ends in _exit(). */
static void signal_child(int wfd)
{
  sipsrv_core *core = NULL;
  sipsrv_loop *l = NULL;
  sipsrv_core_cfg cfg;
  sipsrv_core_cfg init = SIPSRV_CORE_CFG_INIT;
  char c;
  int rc;

  alarm(5);                                /* the child always ends */
  cfg = init;
  cfg.clock = sipsrv_clock_monotonic;
  if (sipsrv_core_new(&core, &cfg) != 0 || sipsrv_loop_new(&l, core) != 0 ||
      sipsrv_loop_listen(l, "udp:127.0.0.1:0", NULL) != 0 ||
      sipsrv_loop_listen(l, "tcp:127.0.0.1:0", NULL) != 0 ||
      sipsrv_loop_handle_signals(l) != 0) {
    c = 'F';
    (void)!write(wfd, &c, 1);
    _exit(2);
  }
  c = 'S';
  (void)!write(wfd, &c, 1);
  rc = sipsrv_loop_run(l);
  c = rc == 0 ? 'R' : 'E';
  (void)!write(wfd, &c, 1);
  sipsrv_loop_free(l);
  sipsrv_core_free(core);
  close(wfd);
  _exit(rc == 0 ? 0 : 3);
}

/* Read one byte from fd within ms; -1 if none. */
static int read_byte(int fd, unsigned ms)
{
  struct pollfd p = { fd, POLLIN, 0 };
  char c;
  if (poll(&p, 1, (int)ms) != 1 || read(fd, &c, 1) != 1)
    return -1;
  return (unsigned char)c;
}

/* Wait for pid within ms; kill it if it is still there. Returns the status,
 * or -1 if it had to be killed. */
static int wait_child(pid_t pid, unsigned ms)
{
  uint64_t end = real_ms() + ms;
  int status;
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid)
      return status;
    ck_assert_int_eq(w, 0);
    if (real_ms() >= end)
      break;
    sleep_ms(5);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

static void signal_stops_run(int sig)
{
  int fds[2], c, status;
  pid_t pid;
  uint64_t t0;

  ck_assert_int_eq(pipe(fds), 0);
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    signal_child(fds[1]);
  }
  close(fds[1]);
  c = read_byte(fds[0], 5000);
  if (c != 'S') {
    wait_child(pid, 0);
    close(fds[0]);
    ck_abort_msg("the child did not set up its loop (%d)", c);
  }
  t0 = real_ms();
  ck_assert_int_eq(kill(pid, sig), 0);
  c = read_byte(fds[0], 2000);
  close(fds[0]);
  /* Under valgrind the child's exit (its leak check) may take a while
   * more; run() returning within 2 s is what is tested. */
  status = wait_child(pid, 10000);
  ck_assert_msg(c == 'R', "sipsrv_loop_run() did not return 0 within 2 s of signal %d (%d)",
                sig, c);
  ck_assert_uint_lt(real_ms() - t0, 10000);
  ck_assert_msg(status != -1, "the child did not exit");
  ck_assert_msg(WIFEXITED(status), "the child died of signal %d",
                WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  ck_assert_int_eq(WEXITSTATUS(status), 0);
}

START_TEST(loop_signals_sigterm)
{
  signal_stops_run(SIGTERM);
}
END_TEST

START_TEST(loop_signals_sigint)
{
  signal_stops_run(SIGINT);
}
END_TEST

/* handle_signals twice is harmless; after free, the signal mask of the
 * thread is what it was before handle_signals: SIGTERM, blocked by the
 * application beforehand, stays blocked; SIGINT, not blocked, is not. */
START_TEST(loop_signals_mask_restored)
{
  sigset_t saved, set, now;
  srv s;

  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  ck_assert_int_eq(sigprocmask(SIG_BLOCK, &set, &saved), 0);
  srv_start(&s, false, NULL, "udp:127.0.0.1:0", NULL);
  ck_assert_int_eq(sipsrv_loop_handle_signals(s.loop), 0);
  ck_assert_int_eq(sipsrv_loop_handle_signals(s.loop), 0);
  ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &now), 0);
  ck_assert_int_eq(sigismember(&now, SIGTERM), 1);
  ck_assert_int_eq(sigismember(&now, SIGINT), 1);
  ck_assert_int_eq(sipsrv_loop_run_once(s.loop, 0), 0);
  srv_stop(&s);
  ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &now), 0);
  /* Restore the test process first, then judge. */
  ck_assert_int_eq(sigprocmask(SIG_SETMASK, &saved, NULL), 0);
  ck_assert_int_eq(sigismember(&now, SIGINT), sigismember(&saved, SIGINT));
  ck_assert_msg(sigismember(&now, SIGTERM) == 1,
                "sipsrv_loop_free() unblocked SIGTERM, which the application had blocked "
                "before sipsrv_loop_handle_signals()");
}
END_TEST

static void count_signal(int signo, void *user)
{
  int *seen = user;
  seen[signo == SIGUSR1 ? 0 : 1]++;
}

/* loop.h sipsrv_loop_on_signal(): SIGUSR1 (registered before
 * handle_signals) and SIGUSR2 (after) reach their callbacks from run_once
 * without stopping the loop; after free both are unblocked again. Bad
 * arguments are refused. */
START_TEST(loop_signals_on_signal)
{
  sigset_t saved, now;
  int seen[2] = { 0, 0 };
  srv s;

  ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &saved), 0);
  srv_start(&s, false, NULL, "udp:127.0.0.1:0", NULL);
  ck_assert_int_eq(sipsrv_loop_on_signal(s.loop, SIGUSR1, count_signal, seen), 0);
  ck_assert_int_eq(sipsrv_loop_handle_signals(s.loop), 0);
  ck_assert_int_eq(sipsrv_loop_on_signal(s.loop, SIGUSR2, count_signal, seen), 0);
  ck_assert_int_eq(sipsrv_loop_on_signal(s.loop, SIGINT, count_signal, seen), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_loop_on_signal(s.loop, SIGKILL, count_signal, seen), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_loop_on_signal(s.loop, SIGUSR1, NULL, seen), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_loop_on_signal(NULL, SIGUSR1, count_signal, seen), SIPSRV_E_INVAL);
  ck_assert_int_eq(raise(SIGUSR1), 0);      /* blocked: it waits in the signalfd */
  ck_assert_int_eq(raise(SIGUSR2), 0);
  for (int i = 0; i < 20 && (seen[0] == 0 || seen[1] == 0); i++)
    ck_assert_int_ge(sipsrv_loop_run_once(s.loop, 50), 0);
  ck_assert_int_eq(seen[0], 1);
  ck_assert_int_eq(seen[1], 1);
  srv_stop(&s);
  ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &now), 0);
  ck_assert_int_eq(sigprocmask(SIG_SETMASK, &saved, NULL), 0);
  ck_assert_int_eq(sigismember(&now, SIGUSR1), sigismember(&saved, SIGUSR1));
  ck_assert_int_eq(sigismember(&now, SIGUSR2), sigismember(&saved, SIGUSR2));
}
END_TEST

/* ===== a core driven from a loop of the test's own ================================================ */

typedef struct own {
  sipsrv_core *core;
  sipsrv_uas *uas;
  sipsrv_transport *tp;
  int fd;
  unsigned port;
  unsigned sends;
} own;

static uint64_t own_clock(void *user)
{
  (void)user;
  return real_ms();
}

/* The send slot: gather the iovecs and sendto(). */
static int own_send(void *user, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
                    const struct iovec *iov, int iovcnt)
{
  own *o = user;
  size_t total = 0, off = 0;
  char *buf;
  ssize_t n;

  (void)conn;
  for (int i = 0; i < iovcnt; i++)
    total += iov[i].iov_len;
  buf = malloc(total ? total : 1);
  if (!buf)
    return SIPSRV_E_NOMEM;
  for (int i = 0; i < iovcnt; i++) {
    memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
    off += iov[i].iov_len;
  }
  n = sendto(o->fd, buf, total, MSG_DONTWAIT | MSG_NOSIGNAL, dst, dstlen);
  free(buf);
  o->sends++;
  return n == (ssize_t)total ? 0 : SIPSRV_E_IO;
}

static const struct sipsrv_transport_ops own_ops = {
  SIPSRV_TRANSPORT_OPS_VERSION, sizeof(struct sipsrv_transport_ops), "UDP", 0, own_send, NULL
};

static void own_start(own *o, const sipsrv_uas_cfg *ucfg)
{
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  struct sockaddr_storage ss;
  socklen_t len = loopback(AF_INET, 0, &ss);

  memset(o, 0, sizeof *o);
  o->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(o->fd, 0);
  ck_assert_int_eq(bind(o->fd, (struct sockaddr *)&ss, len), 0);
  o->port = local_port(o->fd);
  cfg.clock = own_clock;
  cfg.t1_ms = FAST_T1;
  cfg.t2_ms = FAST_T2;
  ck_assert_int_eq(sipsrv_core_new(&o->core, &cfg), 0);
  ck_assert_int_eq(sipsrv_core_add_transport(o->core, &own_ops, o, "127.0.0.1", o->port, &o->tp),
                   0);
  ck_assert_int_eq(sipsrv_uas_new(&o->uas, o->core, ucfg), 0);
}

static void own_stop(own *o)
{
  sipsrv_uas_free(o->uas);
  ck_assert_int_eq(sipsrv_core_remove_transport(o->core, o->tp), 0);
  sipsrv_core_free(o->core);
  close(o->fd);
}

/* One round of the test's loop: poll the server socket (and the client's,
 * to wake when a reply is there) until the core's next deadline or max_ms;
 * hand datagrams to sipsrv_core_recv(); run sipsrv_core_expire() when due. */
static void own_round(own *o, int client, unsigned max_ms)
{
  struct pollfd p[2] = { { o->fd, POLLIN, 0 }, { client, POLLIN, 0 } };
  uint64_t deadline, now = own_clock(NULL);
  int wait = (int)max_ms, n;

  if (sipsrv_core_next_timeout(o->core, &deadline) == 0) {
    uint64_t until = deadline > now ? deadline - now : 0;
    if (until < (uint64_t)wait)
      wait = (int)until;
  }
  n = poll(p, 2, wait);
  ck_assert_int_ge(n, 0);
  if (p[0].revents & POLLIN) {
    for (int i = 0; i < 64; i++) {
      char buf[65536];
      struct sockaddr_storage src;
      socklen_t srclen = sizeof src;
      ssize_t got = recvfrom(o->fd, buf, sizeof buf, 0, (struct sockaddr *)&src, &srclen);
      if (got < 0)
        break;
      ck_assert_int_eq(sipsrv_core_recv(o->core, o->tp, 0, (struct sockaddr *)&src, srclen, buf,
                                        (size_t)got), 0);
    }
  }
  if (sipsrv_core_next_timeout(o->core, &deadline) == 0 && own_clock(NULL) >= deadline)
    ck_assert_int_ge(sipsrv_core_expire(o->core), 0);
}

/* Run the test's loop until the client has a datagram (returned), or max_ms. */
static ssize_t own_recv(own *o, int client, char *buf, size_t size, unsigned max_ms)
{
  uint64_t end = real_ms() + max_ms;
  for (unsigned round = 0; round < 10000; round++) {
    ssize_t n = recv(client, buf, size, MSG_DONTWAIT);
    uint64_t now;
    if (n >= 0)
      return n;
    now = real_ms();
    if (now >= end)
      break;
    own_round(o, client, (unsigned)(end - now));
  }
  return -1;
}

START_TEST(loop_ownloop_options_200)
{
  own o;
  sipsrv_uas_cfg ucfg = SIPSRV_UAS_CFG_INIT;
  int fd;
  unsigned cport;
  char req[2048], buf[8192];
  ssize_t n;
  sipsrv_msg *m;
  req_spec r = { "OPTIONS", "UDP", "127.0.0.1", 0, 0, "own-opt", "own-opt@client", NULL, true };

  own_start(&o, &ucfg);
  fd = udp_client(AF_INET, &cport);
  r.srv_port = o.port;
  r.port = cport;
  build_req(req, sizeof req, &r);
  udp_send_to(fd, AF_INET, o.port, req);
  n = own_recv(&o, fd, buf, sizeof buf - 1, REPLY_WAIT_MS);
  ck_assert_int_gt(n, 0);
  buf[n] = '\0';
  ck_assert_msg(strncmp(buf, "SIP/2.0 200 OK\r\n", 16) == 0, "got: %s", buf);
  m = parse_dgram(buf, (size_t)n);
  check_options_200(m, "own-opt@client", "127.0.0.1", cport);
  sipsrv_msg_free(m);
  ck_assert_uint_eq(o.sends, 1);
  close(fd);
  own_stop(&o);
}
END_TEST

/* Timer G on the test's own loop: the 486 at T1, then 2*T1 later, until
 * the ACK; then nothing within 3*T2. */
START_TEST(loop_ownloop_invite_486_retransmit)
{
  own o;
  app a;
  sipsrv_uas_cfg ucfg;
  int fd;
  unsigned cport;
  char req[2048], ack[2048], first[8192], buf[8192];
  ssize_t n, n1;
  uint64_t t[3];
  sipsrv_msg *m;
  req_spec r = { "INVITE", "UDP", "127.0.0.1", 0, 0, "own-inv", "own-inv@client", NULL, true };

  memset(&a, 0, sizeof a);
  a.status = 486;
  app_uas_cfg(&ucfg, &a);
  own_start(&o, &ucfg);
  fd = udp_client(AF_INET, &cport);
  r.srv_port = o.port;
  r.port = cport;
  build_req(req, sizeof req, &r);
  udp_send_to(fd, AF_INET, o.port, req);

  n1 = own_recv(&o, fd, first, sizeof first - 1, REPLY_WAIT_MS);
  t[0] = real_ms();
  ck_assert_int_gt(n1, 0);
  first[n1] = '\0';
  ck_assert_msg(strncmp(first, "SIP/2.0 486 ", 12) == 0, "got: %s", first);
  ck_assert_uint_eq(a.invites, 1);
  ck_assert_int_eq(a.respond_rc, 0);
  m = parse_dgram(first, (size_t)n1);
  build_ack(ack, sizeof ack, &r, m);
  sipsrv_msg_free(m);

  for (int i = 1; i < 3; i++) {
    n = own_recv(&o, fd, buf, sizeof buf, REPLY_WAIT_MS);
    t[i] = real_ms();
    ck_assert_msg(n > 0, "retransmission %d of the 486 did not come", i);
    ck_assert_int_eq(n, n1);
    ck_assert(memcmp(buf, first, (size_t)n) == 0);
  }
  /* T1, then 2*T1 (RFC 3261 17.2.1). */
  ck_assert_uint_ge(t[1] - t[0], FAST_T1 - 20);
  ck_assert_uint_lt(t[1] - t[0], 10 * FAST_T1);
  ck_assert_uint_ge(t[2] - t[1], 2 * FAST_T1 - 20);
  ck_assert_uint_lt(t[2] - t[1], 10 * FAST_T1);
  ck_assert_uint_eq(o.sends, 3);

  udp_send_to(fd, AF_INET, o.port, ack);
  ck_assert_int_lt(own_recv(&o, fd, buf, sizeof buf, 3 * FAST_T2), 0);
  ck_assert_uint_eq(o.sends, 3);
  ck_assert_uint_eq(a.requests, 1);
  close(fd);
  own_stop(&o);
}
END_TEST

/* ===== freeing ========================================================================== */

/* sipsrv_loop_free() with TCP connections open (one idle, one with half a
 * message, one that had an answer), an INVITE transaction retransmitting
 * over UDP and an INVITE held unanswered; then the UAS and the core. The
 * clients see their connections closed. Clean under valgrind. */
START_TEST(loop_free_open_connections)
{
  srv s;
  app a;
  sipsrv_uas_cfg ucfg;
  int c[3], ufd;
  unsigned cport, uport;
  char req[2048], buf[8192];
  stream *st = calloc(1, sizeof *st);
  sipsrv_msg *m;
  req_spec r = { "OPTIONS", "TCP", "127.0.0.1", 0, 0, "free", "free@client", NULL, true };
  req_spec inv = { "INVITE", "UDP", "127.0.0.1", 0, 0, "free-inv", "free-inv@client", NULL, true };
  req_spec held = { "INVITE", "TCP", "127.0.0.1", 0, 0, "held", "held@client", NULL, true };

  ck_assert_ptr_nonnull(st);
  memset(&a, 0, sizeof a);
  a.status = 486;
  app_uas_cfg(&ucfg, &a);
  srv_start(&s, true, &ucfg, "udp:127.0.0.1:0", "tcp:127.0.0.1:0");

  c[0] = tcp_client(AF_INET, s.tcp_port, NULL);
  c[1] = tcp_client(AF_INET, s.tcp_port, NULL);
  tcp_write(c[1], half_msg, sizeof half_msg - 1);
  c[2] = tcp_client(AF_INET, s.tcp_port, &cport);
  r.srv_port = s.tcp_port;
  r.port = cport;
  build_req(req, sizeof req, &r);
  tcp_write(c[2], req, strlen(req));
  m = stream_next(&s, c[2], st);
  check_options_200(m, "free@client", "127.0.0.1", cport);
  sipsrv_msg_free(m);

  ufd = udp_client(AF_INET, &uport);
  inv.srv_port = s.udp_port;
  inv.port = uport;
  build_req(req, sizeof req, &inv);
  udp_send_to(ufd, AF_INET, s.udp_port, req);
  ck_assert_int_gt(pump_recv(&s, ufd, buf, sizeof buf, REPLY_WAIT_MS), 0);

  /* An INVITE the application keeps for later, on the third connection. */
  a.status = 0;
  held.srv_port = s.tcp_port;
  held.port = cport;
  build_req(req, sizeof req, &held);
  tcp_write(c[2], req, strlen(req));
  for (int i = 0; i < 200 && !a.held; i++)
    ck_assert_int_ge(sipsrv_loop_run_once(s.loop, 10), 0);
  ck_assert_ptr_nonnull(a.held);
  pump_for(&s, 20);

  srv_stop(&s);

  /* Every connection was closed by the server: the end of the stream, after
   * whatever was sent (the 100 Trying the held INVITE may have had). */
  for (int i = 0; i < 3; i++) {
    struct pollfd p = { c[i], POLLIN, 0 };
    ssize_t n = 1;
    for (int k = 0; k < 100 && n > 0; k++) {
      ck_assert_int_eq(poll(&p, 1, 1000), 1);
      n = recv(c[i], buf, sizeof buf, 0);
    }
    ck_assert_msg(n == 0, "connection %d: recv returned %zd (%s)", i, n,
                  n < 0 ? strerror(errno) : "data");
    close(c[i]);
  }
  close(ufd);
  free(st);
}
END_TEST

/* The core outlives its loop (loop.h: free the loop first): timers of a
 * transaction whose transport left with the loop fail quietly, and a new
 * loop on the same core serves again. */
START_TEST(loop_free_core_lives_on)
{
  srv s;
  app a;
  sipsrv_uas_cfg ucfg;
  int fd;
  unsigned cport;
  char req[2048], buf[8192];
  ssize_t n;
  sipsrv_msg *m;
  req_spec inv = { "INVITE", "UDP", "127.0.0.1", 0, 0, "live", "live@client", NULL, true };
  req_spec opt = { "OPTIONS", "UDP", "127.0.0.1", 0, 0, "live2", "live2@client", NULL, true };

  memset(&a, 0, sizeof a);
  a.status = 486;
  app_uas_cfg(&ucfg, &a);
  srv_start(&s, true, &ucfg, "udp:127.0.0.1:0", "tcp:127.0.0.1:0");
  fd = udp_client(AF_INET, &cport);
  inv.srv_port = s.udp_port;
  inv.port = cport;
  build_req(req, sizeof req, &inv);
  udp_send_to(fd, AF_INET, s.udp_port, req);
  ck_assert_int_gt(pump_recv(&s, fd, buf, sizeof buf, REPLY_WAIT_MS), 0);

  sipsrv_loop_free(s.loop);
  s.loop = NULL;
  /* Timer G is due: the 486 cannot go anywhere now. */
  sleep_ms(FAST_T1 + 10);
  ck_assert_int_ge(sipsrv_core_expire(s.core), 1);
  ck_assert_int_lt(recv(fd, buf, sizeof buf, MSG_DONTWAIT), 0);

  ck_assert_int_eq(sipsrv_loop_new(&s.loop, s.core), 0);
  ck_assert_int_eq(sipsrv_loop_listen(s.loop, "udp:127.0.0.1:0", &s.udp_port), 0);
  opt.srv_port = s.udp_port;
  opt.port = cport;
  build_req(req, sizeof req, &opt);
  udp_send_to(fd, AF_INET, s.udp_port, req);
  n = pump_recv(&s, fd, buf, sizeof buf, REPLY_WAIT_MS);
  ck_assert_int_gt(n, 0);
  m = parse_dgram(buf, (size_t)n);
  check_options_200(m, "live2@client", "127.0.0.1", cport);
  sipsrv_msg_free(m);
  close(fd);
  srv_stop(&s);
}
END_TEST

/* Freeing at once: a loop that listened and never ran. */
START_TEST(loop_free_unused)
{
  srv s;
  srv_start(&s, false, NULL, "udp:127.0.0.1:0", "tcp:127.0.0.1:0");
  srv_stop(&s);
}
END_TEST

/* ======================================================================================= */

/* sipsrv_clock_realtime is Unix time in ms (it agrees with time()). */
START_TEST(loop_clock_realtime_unix_ms)
{
  time_t before = time(NULL);
  uint64_t ms = sipsrv_clock_realtime(NULL);
  time_t after = time(NULL);
  ck_assert_uint_ge(ms / 1000, (uint64_t)before);
  ck_assert_uint_le(ms / 1000, (uint64_t)after);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("loop");
  TCase *tc;

  tc = tcase_create("clock");
  tcase_add_test(tc, loop_clock_monotonic_nondecreasing);
  tcase_add_test(tc, loop_clock_realtime_unix_ms);
  tcase_add_test(tc, loop_clock_monotonic_real_time);
  suite_add_tcase(s, tc);

  tc = tcase_create("args");
  tcase_add_test(tc, loop_new_null_args);
  tcase_add_test(tc, loop_listen_bad_specs);
  tcase_add_test(tc, loop_listen_port_in_use);
  tcase_add_test(tc, loop_free_stop_null);
  tcase_add_test(tc, loop_run_null);
  suite_add_tcase(s, tc);

  tc = tcase_create("run_once");
  tcase_add_test(tc, loop_run_once_timeout);
  tcase_add_test(tc, loop_run_once_core_timer);
  suite_add_tcase(s, tc);

  tc = tcase_create("udp");
  tcase_add_test(tc, loop_udp_options_200);
  tcase_add_test(tc, loop_udp_rport_source_port);
  tcase_add_test(tc, loop_udp_invite_486_retransmit);
  suite_add_tcase(s, tc);

  tc = tcase_create("tcp");
  tcase_add_test(tc, loop_tcp_options_200);
  tcase_add_test(tc, loop_tcp_pipelined);
  tcase_add_test(tc, loop_tcp_keepalive);
  tcase_add_test(tc, loop_tcp_two_content_length);
  tcase_add_test(tc, loop_tcp_client_closes);
  tcase_add_test(tc, loop_tcp_write_queue);
  tcase_add_test(tc, loop_tcp_write_queue_half_close);
  tcase_add_test(tc, loop_tcp_half_close);
  tcase_add_test(tc, loop_tcp_response_after_close_to_sent_by);
  suite_add_tcase(s, tc);

  tc = tcase_create("ipv6");
  tcase_add_test(tc, loop_ipv6_udp_options_200);
  tcase_add_test(tc, loop_ipv6_tcp_options_200);
  suite_add_tcase(s, tc);

  tc = tcase_create("stop");
  tcase_add_test(tc, loop_stop_from_callback);
  suite_add_tcase(s, tc);

  tc = tcase_create("group");
  tcase_add_test(tc, loop_group_args);
  tcase_add_test(tc, loop_group_two_threads);
  tcase_add_test(tc, loop_group_tcp_two_threads);
  tcase_add_test(tc, loop_group_tcp_next_hop_stateless);
  tcase_add_test(tc, loop_group_tcp_next_hop_stateful);
  suite_add_tcase(s, tc);

  tc = tcase_create("signals");
  tcase_add_test(tc, loop_signals_sigterm);
  tcase_add_test(tc, loop_signals_sigint);
  tcase_add_test(tc, loop_signals_mask_restored);
  tcase_add_test(tc, loop_signals_on_signal);
  suite_add_tcase(s, tc);

  tc = tcase_create("ownloop");
  tcase_add_test(tc, loop_ownloop_options_200);
  tcase_add_test(tc, loop_ownloop_invite_486_retransmit);
  suite_add_tcase(s, tc);

  tc = tcase_create("free");
  tcase_add_test(tc, loop_free_open_connections);
  tcase_add_test(tc, loop_free_core_lives_on);
  tcase_add_test(tc, loop_free_unused);
  suite_add_tcase(s, tc);

  return s;
}

int main(void)
{
  return harness_run(suite());
}
