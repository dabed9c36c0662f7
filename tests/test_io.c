/* Tests of the io area: bytes in and out of a core (lib/core/io.c) over a
 * fake transport: registering transports, sipsrv_core_recv's arguments, the
 * answers the core gives with nothing above it, RFC 3261 18.2.1 and RFC
 * 3581 on the Via and the response's destination, malformed input, stream
 * framing per connection, and the transaction layer's retransmissions on
 * the core's timers driven by a manual clock. */
#include <check.h>

#include "harness.h"

#include <sipsrv/core.h>
#include <sipsrv/error.h>
#include <sipsrv/msg.h>
#include <sipsrv/transport.h>

#include "core/core_int.h"
#include "transport/transport_int.h"
#include "txn/txn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a fake transport ---------------------------------------------------- */

#define FAKE_MAX_SENT 64
#define FAKE_MAX_CLOSED 16

/* One message the core sent: the concatenated iovecs, the connection and the
 * destination. */
typedef struct sent_msg {
  char *data;
  size_t len;
  uint64_t conn;
  struct sockaddr_storage dst;
  socklen_t dstlen;
} sent_msg;

typedef struct fake_tp {
  sipsrv_transport *tp;
  sent_msg sent[FAKE_MAX_SENT];
  size_t nsent;
  unsigned send_calls;
  int fail;                         /* send returns SIPSRV_E_IO (nothing recorded) */
  /* Behave like a real stream transport: tell the core a connection is
   * gone, from close (close_reenters) or from a failed send (fail_closes). */
  sipsrv_core *core;
  int close_reenters, fail_closes;
  uint64_t closed[FAKE_MAX_CLOSED];
  size_t nclosed;
} fake_tp;

static int fake_send(void *user, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
                     const struct iovec *iov, int iovcnt)
{
  fake_tp *f = user;
  sent_msg *s;
  size_t len = 0;

  f->send_calls++;
  ck_assert_ptr_nonnull(dst);
  ck_assert_uint_gt(dstlen, 0);
  ck_assert_uint_le(dstlen, sizeof s->dst);
  ck_assert_int_gt(iovcnt, 0);
  if (f->fail) {
    if (f->fail_closes)
      ck_assert_int_eq(sipsrv_core_conn_closed(f->core, f->tp, conn), 0);
    return SIPSRV_E_IO;
  }
  ck_assert_uint_lt(f->nsent, FAKE_MAX_SENT);
  s = &f->sent[f->nsent++];
  for (int i = 0; i < iovcnt; i++)
    len += iov[i].iov_len;
  s->data = malloc(len + 1);
  ck_assert_ptr_nonnull(s->data);
  s->len = 0;
  for (int i = 0; i < iovcnt; i++) {
    memcpy(s->data + s->len, iov[i].iov_base, iov[i].iov_len);
    s->len += iov[i].iov_len;
  }
  s->data[len] = '\0';
  s->conn = conn;
  memset(&s->dst, 0, sizeof s->dst);
  memcpy(&s->dst, dst, dstlen);
  s->dstlen = dstlen;
  return 0;
}

static void fake_close(void *user, uint64_t conn)
{
  fake_tp *f = user;
  ck_assert_uint_lt(f->nclosed, FAKE_MAX_CLOSED);
  f->closed[f->nclosed++] = conn;
  if (f->close_reenters)
    ck_assert_int_eq(sipsrv_core_conn_closed(f->core, f->tp, conn), 0);
}

static const struct sipsrv_transport_ops udp_ops = {
  SIPSRV_TRANSPORT_OPS_VERSION, sizeof(struct sipsrv_transport_ops), "UDP", 0,
  fake_send, fake_close
};

static const struct sipsrv_transport_ops tcp_ops = {
  SIPSRV_TRANSPORT_OPS_VERSION, sizeof(struct sipsrv_transport_ops), "TCP",
  SIPSRV_TP_RELIABLE | SIPSRV_TP_STREAM, fake_send, fake_close
};

static void fake_reset(fake_tp *f)
{
  for (size_t i = 0; i < f->nsent; i++)
    free(f->sent[i].data);
  f->nsent = 0;
  f->nclosed = 0;
  f->send_calls = 0;
}

/* ---- a world: a manual clock, a core, a UDP and a TCP transport ----------- */

typedef struct world {
  tclock clock;
  sipsrv_core *core;
  fake_tp udp, tcp;
} world;

static void world_init_cfg(world *w, sipsrv_core_cfg *cfg)
{
  memset(w, 0, sizeof *w);
  /* Not 0: deadlines must be absolute, on the core's clock. */
  w->clock.now_ms = 100000;
  cfg->clock = tclock_now;
  cfg->clock_user = &w->clock;
  ck_assert_int_eq(sipsrv_core_new(&w->core, cfg), 0);
  ck_assert_int_eq(sipsrv_core_add_transport(w->core, &udp_ops, &w->udp, "127.0.0.1", 5060,
                                             &w->udp.tp), 0);
  ck_assert_int_eq(sipsrv_core_add_transport(w->core, &tcp_ops, &w->tcp, "127.0.0.1", 5060,
                                             &w->tcp.tp), 0);
  ck_assert_ptr_nonnull(w->udp.tp);
  ck_assert_ptr_nonnull(w->tcp.tp);
  w->udp.core = w->core;
  w->tcp.core = w->core;
}

static void world_init(world *w)
{
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  world_init_cfg(w, &cfg);
}

static void world_fini(world *w)
{
  sipsrv_core_free(w->core);
  fake_reset(&w->udp);
  fake_reset(&w->tcp);
}

static struct sockaddr_in addr4(const char *ip, unsigned port)
{
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  ck_assert_int_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
  return a;
}

/* The source every test sends from unless it says otherwise. */
#define SRC_PORT 40000

static int recv_from(world *w, fake_tp *f, uint64_t conn, unsigned port, const char *text,
                     size_t len)
{
  struct sockaddr_in src = addr4("127.0.0.1", port);
  return sipsrv_core_recv(w->core, f->tp, conn, (const struct sockaddr *)&src, sizeof src, text,
                          len);
}

static int recv_udp(world *w, const char *text)
{
  return recv_from(w, &w->udp, 0, SRC_PORT, text, strlen(text));
}

static int recv_tcp(world *w, uint64_t conn, const char *text)
{
  return recv_from(w, &w->tcp, conn, SRC_PORT, text, strlen(text));
}

/* The port and IP of a recorded destination. */
static unsigned sent_port(const sent_msg *s)
{
  const struct sockaddr_in *a = (const struct sockaddr_in *)&s->dst;
  ck_assert_int_eq(a->sin_family, AF_INET);
  ck_assert_uint_eq(s->dstlen, sizeof *a);
  return ntohs(a->sin_port);
}

static const char *sent_ip(const sent_msg *s, char *buf, size_t size)
{
  const struct sockaddr_in *a = (const struct sockaddr_in *)&s->dst;
  ck_assert_ptr_nonnull(inet_ntop(AF_INET, &a->sin_addr, buf, (socklen_t)size));
  return buf;
}

/* Parse a recorded message; the verdict goes to *v when v is not NULL. */
static sipsrv_msg *sent_parse_v(const fake_tp *f, size_t i, sipsrv_verdict *v)
{
  sipsrv_msg *m = NULL;
  sipsrv_verdict vv;

  ck_assert_uint_lt(i, f->nsent);
  ck_assert_int_eq(sipsrv_msg_parse(&m, f->sent[i].data, f->sent[i].len, 0, v ? v : &vv), 0);
  ck_assert_ptr_nonnull(m);
  return m;
}

/* Parse a recorded message that must be a well-formed response. */
static sipsrv_msg *sent_parse(const fake_tp *f, size_t i)
{
  sipsrv_verdict v;
  sipsrv_msg *m = sent_parse_v(f, i, &v);
  ck_assert_msg(v.action == SIPSRV_ACCEPT, "sent message %zu: %s: %s", i, v.phrase,
                f->sent[i].data);
  ck_assert(!sipsrv_msg_is_request(m));
  return m;
}

/* A request. via is the whole top Via value; to_tag may be NULL. The CSeq
 * carries the method (an ACK's too). */
static void build_req(char *buf, size_t size, const char *method, const char *via,
                      const char *call_id, const char *to_tag)
{
  int n = snprintf(buf, size,
                   "%s sip:service@127.0.0.1 SIP/2.0\r\n"
                   "Via: %s\r\n"
                   "Max-Forwards: 70\r\n"
                   "From: \"Alice\" <sip:alice@example.com>;tag=fa1\r\n"
                   "To: <sip:service@127.0.0.1>%s%s\r\n"
                   "Call-ID: %s\r\n"
                   "CSeq: 1 %s\r\n"
                   "Content-Length: 0\r\n"
                   "\r\n",
                   method, via, to_tag ? ";tag=" : "", to_tag ? to_tag : "", call_id, method);
  ck_assert_int_gt(n, 0);
  ck_assert_uint_lt((size_t)n, size);
}

#define VIA_UDP "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKio1"
#define VIA_TCP "SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKio2"

static const char options_udp[] =
  "OPTIONS sip:service@127.0.0.1 SIP/2.0\r\n"
  "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKopt1\r\n"
  "Via: SIP/2.0/UDP 192.0.2.9:5080;branch=z9hG4bKfar;received=192.0.2.10\r\n"
  "Max-Forwards: 70\r\n"
  "From: \"Alice\" <sip:alice@example.com>;tag=fa1\r\n"
  "To: <sip:service@127.0.0.1>\r\n"
  "Call-ID: opt-1@127.0.0.1\r\n"
  "CSeq: 7 OPTIONS\r\n"
  "Content-Length: 0\r\n"
  "\r\n";

/* Check that rsp answers options_udp-like request fields: status, the To
 * has a tag, and From, Call-ID, CSeq are the request's. */
static void check_reply_fields(sipsrv_msg *rsp, int status, const char *call_id, uint32_t cseq,
                               const char *method)
{
  sipsrv_addr to, from;
  uint32_t seq = 0;
  const char *cm = NULL;

  ck_assert_int_eq(sipsrv_msg_status(rsp), status);
  ck_assert_int_eq(sipsrv_msg_to(rsp, &to), 0);
  ck_assert_ptr_nonnull(to.tag);
  ck_assert_uint_gt(strlen(to.tag), 0);
  ck_assert_str_eq(to.uri.user, "service");
  ck_assert_int_eq(sipsrv_msg_from(rsp, &from), 0);
  ck_assert_str_eq(from.tag, "fa1");
  ck_assert_str_eq(sipsrv_msg_call_id(rsp), call_id);
  ck_assert_int_eq(sipsrv_msg_cseq(rsp, &seq, &cm), 0);
  ck_assert_uint_eq(seq, cseq);
  ck_assert_str_eq(cm, method);
}

/* ---- a test role on the core's transaction layer ------------------------------ */

typedef struct test_role {
  ss_txn_role role;
  unsigned invites, options, others, acks, strays;
  int respond_rc;
  char stray_call_id[128];
} test_role;

static bool role_request(void *self, ss_txn *st, sipsrv_msg *req)
{
  test_role *r = self;
  sipsrv_msg *rsp = NULL;
  int status;

  switch (sipsrv_msg_method(req)) {
  case SIPSRV_METHOD_INVITE:
    r->invites++;
    status = 486;
    break;
  case SIPSRV_METHOD_OPTIONS:
    r->options++;
    status = 200;
    break;
  default:
    r->others++;
    return false;
  }
  ck_assert_int_eq(sipsrv_msg_reply(&rsp, req, status, NULL, NULL), 0);
  r->respond_rc = ss_txn_respond(st, rsp);
  return true;
}

static bool role_ack(void *self, ss_txn *ist, sipsrv_msg *ack, const ss_peer *src)
{
  test_role *r = self;
  (void)ist;
  (void)src;
  r->acks++;
  sipsrv_msg_free(ack);
  return true;
}

static bool role_stray(void *self, sipsrv_msg *rsp, const ss_peer *src)
{
  test_role *r = self;
  (void)src;
  r->strays++;
  snprintf(r->stray_call_id, sizeof r->stray_call_id, "%s",
           sipsrv_msg_call_id(rsp) ? sipsrv_msg_call_id(rsp) : "");
  sipsrv_msg_free(rsp);
  return true;
}

static void role_attach(world *w, test_role *r)
{
  ss_core_txn *c = ss_core_txn_of(w->core);

  ck_assert_ptr_nonnull(c);
  ck_assert_ptr_eq(ss_core_txn_of(w->core), c);
  memset(r, 0, sizeof *r);
  r->role.request = role_request;
  r->role.ack = role_ack;
  r->role.stray_response = role_stray;
  r->role.self = r;
  ss_core_txn_attach(c, &r->role);
}

static uint64_t next_timeout(world *w)
{
  uint64_t when = 0;
  ck_assert_int_eq(sipsrv_core_next_timeout(w->core, &when), 0);
  return when;
}

/* Move the manual clock to `at` and run the core's timers. */
static int expire_at(world *w, uint64_t at)
{
  ck_assert_uint_ge(at, w->clock.now_ms);
  w->clock.now_ms = at;
  return sipsrv_core_expire(w->core);
}

static bool sent_same(const sent_msg *a, const sent_msg *b)
{
  return a->len == b->len && memcmp(a->data, b->data, a->len) == 0 && a->conn == b->conn &&
         a->dstlen == b->dstlen && memcmp(&a->dst, &b->dst, a->dstlen) == 0;
}

/* ---- sipsrv_core_add_transport ------------------------------------------ */

/* Addresses from IP literals: what a Via's received and rport or a URI's
 * host and port give (RFC 3261 18.2.2, 19.1.1; IPv6 references with
 * brackets, RFC 3261 25.1), printed and parsed or made directly alike. */
START_TEST(io_sockaddr_make)
{
  static const struct { const char *host; unsigned port; const char *as; int ok; } c[] = {
    { "192.0.2.1", 5060, "192.0.2.1:5060", 1 },
    { "[2001:db8::1]", 5070, "[2001:db8::1]:5070", 1 },
    { "2001:db8::1", 5070, "[2001:db8::1]:5070", 1 },
    { "192.0.2.1", 65536, NULL, 0 },
    { "example.com", 5060, NULL, 0 },
    { "[2001:db8::1", 5060, NULL, 0 },
    { "[]", 5060, NULL, 0 },
    { "192.0.2.256", 5060, NULL, 0 },
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    struct sockaddr_storage a, b;
    socklen_t al = 0, bl = 0;
    int rc = ss_sockaddr_make(c[i].host, c[i].port, &a, &al);
    ck_assert_msg((rc == 0) == c[i].ok, "%s: %d", c[i].host, rc);
    if (!c[i].ok)
      continue;
    ck_assert_int_eq(ss_sockaddr_parse(c[i].as, &b, &bl), 0);
    ck_assert_uint_eq(al, bl);
    ck_assert_int_eq(memcmp(&a, &b, al), 0);
  }
  /* "host:port" keeps IPv6 inside brackets: a bare one is ambiguous. */
  {
    struct sockaddr_storage a;
    socklen_t al;
    ck_assert_int_lt(ss_sockaddr_parse("2001:db8::1:5060", &a, &al), 0);
    ck_assert_int_lt(ss_sockaddr_parse("[192.0.2.1]:5060", &a, &al), 0);
  }
}
END_TEST

START_TEST(io_addtp_null_args)
{
  sipsrv_core *core = NULL;
  fake_tp f = { 0 };
  sipsrv_transport *tp = NULL;

  ck_assert_int_eq(sipsrv_core_new(&core, NULL), 0);
  ck_assert_int_eq(sipsrv_core_add_transport(NULL, &udp_ops, &f, "127.0.0.1", 5060, &tp),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_add_transport(core, NULL, &f, "127.0.0.1", 5060, &tp),
                   SIPSRV_E_INVAL);
  ck_assert_ptr_null(tp);
  /* out may be NULL, user too. */
  ck_assert_int_eq(sipsrv_core_add_transport(core, &udp_ops, NULL, "127.0.0.1", 5060, NULL), 0);
  sipsrv_core_free(core);
}
END_TEST

START_TEST(io_addtp_bad_version)
{
  sipsrv_core *core = NULL;
  struct sipsrv_transport_ops ops = udp_ops;
  struct {
    struct sipsrv_transport_ops ops;
    void (*future[2])(void);
  } big;
  sipsrv_transport *tp = NULL;

  ck_assert_int_eq(sipsrv_core_new(&core, NULL), 0);
  ops.version = 0;
  ck_assert_int_eq(sipsrv_core_add_transport(core, &ops, NULL, "127.0.0.1", 5060, &tp),
                   SIPSRV_E_VERSION);
  ops.version = 99;
  ck_assert_int_eq(sipsrv_core_add_transport(core, &ops, NULL, "127.0.0.1", 5060, &tp),
                   SIPSRV_E_VERSION);
  ops = udp_ops;
  ops.size = sizeof(struct sipsrv_transport_ops) - 1;
  ck_assert_int_eq(sipsrv_core_add_transport(core, &ops, NULL, "127.0.0.1", 5060, &tp),
                   SIPSRV_E_VERSION);
  ops.size = 0;
  ck_assert_int_eq(sipsrv_core_add_transport(core, &ops, NULL, "127.0.0.1", 5060, &tp),
                   SIPSRV_E_VERSION);
  /* A version check comes before any slot is read. */
  ops.version = 99;
  ops.send = NULL;
  ck_assert_int_eq(sipsrv_core_add_transport(core, &ops, NULL, "127.0.0.1", 5060, &tp),
                   SIPSRV_E_VERSION);
  ck_assert_ptr_null(tp);
  /* A larger table (a newer header's, with slots appended) is taken. */
  big.ops = udp_ops;
  big.ops.size = sizeof big;
  big.future[0] = big.future[1] = NULL;
  ck_assert_int_eq(sipsrv_core_add_transport(core, &big.ops, NULL, "127.0.0.1", 5060, &tp), 0);
  ck_assert_ptr_nonnull(tp);
  sipsrv_core_free(core);
}
END_TEST

START_TEST(io_addtp_bad_fields)
{
  sipsrv_core *core = NULL;
  struct sipsrv_transport_ops ops;
  sipsrv_transport *tp = NULL;

  ck_assert_int_eq(sipsrv_core_new(&core, NULL), 0);
  ops = udp_ops;
  ops.send = NULL;
  ck_assert_int_eq(sipsrv_core_add_transport(core, &ops, NULL, "127.0.0.1", 5060, &tp),
                   SIPSRV_E_INVAL);
  ops = udp_ops;
  ops.name = NULL;
  ck_assert_int_eq(sipsrv_core_add_transport(core, &ops, NULL, "127.0.0.1", 5060, &tp),
                   SIPSRV_E_INVAL);
  ops.name = "";
  ck_assert_int_eq(sipsrv_core_add_transport(core, &ops, NULL, "127.0.0.1", 5060, &tp),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_add_transport(core, &udp_ops, NULL, NULL, 5060, &tp),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_add_transport(core, &udp_ops, NULL, "", 5060, &tp),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_add_transport(core, &udp_ops, NULL, "127.0.0.1", 0, &tp),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_add_transport(core, &udp_ops, NULL, "127.0.0.1", 70000, &tp),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_add_transport(core, &udp_ops, NULL, "127.0.0.1", 65536, &tp),
                   SIPSRV_E_INVAL);
  ck_assert_ptr_null(tp);
  /* The bounds themselves, a NULL close slot and a host name are fine. */
  ops = udp_ops;
  ops.close = NULL;
  ck_assert_int_eq(sipsrv_core_add_transport(core, &ops, NULL, "sip.example.com", 1, &tp), 0);
  ck_assert_ptr_nonnull(tp);
  ck_assert_int_eq(sipsrv_core_add_transport(core, &udp_ops, NULL, "127.0.0.1", 65535, NULL), 0);
  sipsrv_core_free(core);
}
END_TEST

START_TEST(io_addtp_host_copied)
{
  world w;
  test_role r;
  char host[32] = "127.0.0.1";
  fake_tp f = { 0 };
  char rsp[1024];
  uint64_t dropped;

  world_init(&w);
  role_attach(&w, &r);
  /* A third transport, its host from a buffer that changes afterwards: the
   * core keeps its own copy, so a response with Via 127.0.0.1:5080 is still
   * this element's (RFC 3261 18.1.2) and reaches the roles. */
  ck_assert_int_eq(sipsrv_core_add_transport(w.core, &udp_ops, &f, host, 5080, &f.tp), 0);
  strcpy(host, "10.9.9.9");
  dropped = ss_core_counters(w.core)->dropped;
  snprintf(rsp, sizeof rsp,
           "SIP/2.0 200 OK\r\n"
           "Via: SIP/2.0/UDP %s:5080;branch=z9hG4bKmine\r\n"
           "From: <sip:service@127.0.0.1>;tag=s1\r\n"
           "To: <sip:bob@example.com>;tag=b1\r\n"
           "Call-ID: own-1@127.0.0.1\r\n"
           "CSeq: 1 OPTIONS\r\n"
           "Content-Length: 0\r\n\r\n", "127.0.0.1");
  ck_assert_int_eq(recv_from(&w, &f, 0, SRC_PORT, rsp, strlen(rsp)), 0);
  ck_assert_uint_eq(r.strays, 1);
  ck_assert_str_eq(r.stray_call_id, "own-1@127.0.0.1");
  snprintf(rsp, sizeof rsp,
           "SIP/2.0 200 OK\r\n"
           "Via: SIP/2.0/UDP %s:5080;branch=z9hG4bKmine\r\n"
           "From: <sip:service@127.0.0.1>;tag=s1\r\n"
           "To: <sip:bob@example.com>;tag=b1\r\n"
           "Call-ID: own-2@127.0.0.1\r\n"
           "CSeq: 1 OPTIONS\r\n"
           "Content-Length: 0\r\n\r\n", "10.9.9.9");
  ck_assert_int_eq(recv_from(&w, &f, 0, SRC_PORT, rsp, strlen(rsp)), 0);
  ck_assert_uint_eq(r.strays, 1);
  ck_assert_uint_eq(ss_core_counters(w.core)->dropped, dropped + 1);
  ck_assert_uint_eq(f.send_calls, 0);
  world_fini(&w);
  fake_reset(&f);
}
END_TEST

/* RFC 3261 18.1.2 over IPv6: a transport whose host is an IPv6 literal
 * writes it bracketed in its Via (25.1), so the response's top Via reads
 * "[2001:db8::10]:5080": that is this element's and reaches the roles; the
 * same with another address is not. */
START_TEST(io_response_via_ipv6_ours)
{
  world w;
  test_role r;
  fake_tp f = { 0 };
  char rsp[1024];
  uint64_t dropped;
  static const char fmt[] = "SIP/2.0 200 OK\r\n"
                            "Via: SIP/2.0/UDP [%s]:5080;branch=z9hG4bKmine6\r\n"
                            "From: <sip:service@[2001:db8::10]>;tag=s1\r\n"
                            "To: <sip:bob@example.com>;tag=b1\r\n"
                            "Call-ID: %s@h\r\n"
                            "CSeq: 1 OPTIONS\r\n"
                            "Content-Length: 0\r\n\r\n";

  world_init(&w);
  role_attach(&w, &r);
  ck_assert_int_eq(sipsrv_core_add_transport(w.core, &udp_ops, &f, "2001:db8::10", 5080, &f.tp), 0);
  dropped = ss_core_counters(w.core)->dropped_not_ours;
  snprintf(rsp, sizeof rsp, fmt, "2001:DB8::10", "own6-1");
  ck_assert_int_eq(recv_from(&w, &f, 0, SRC_PORT, rsp, strlen(rsp)), 0);
  ck_assert_uint_eq(r.strays, 1);
  ck_assert_str_eq(r.stray_call_id, "own6-1@h");
  snprintf(rsp, sizeof rsp, fmt, "2001:db8::11", "own6-2");
  ck_assert_int_eq(recv_from(&w, &f, 0, SRC_PORT, rsp, strlen(rsp)), 0);
  ck_assert_uint_eq(r.strays, 1);
  ck_assert_uint_eq(ss_core_counters(w.core)->dropped_not_ours, dropped + 1);
  world_fini(&w);
  fake_reset(&f);
}
END_TEST

/* ---- sipsrv_core_recv: arguments ------------------------------------------ */

START_TEST(io_recv_bad_args)
{
  world w;
  struct sockaddr_in src = addr4("127.0.0.1", SRC_PORT);
  const struct sockaddr *sa = (const struct sockaddr *)&src;
  char req[1024];

  world_init(&w);
  build_req(req, sizeof req, "OPTIONS", VIA_UDP, "args@127.0.0.1", NULL);
  ck_assert_int_eq(sipsrv_core_recv(NULL, w.udp.tp, 0, sa, sizeof src, req, strlen(req)),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_recv(w.core, NULL, 0, sa, sizeof src, req, strlen(req)),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_recv(w.core, w.udp.tp, 0, NULL, sizeof src, req, strlen(req)),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_recv(w.core, w.udp.tp, 0, sa, 0, req, strlen(req)),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_recv(w.core, w.udp.tp, 0, sa,
                                    (socklen_t)sizeof(struct sockaddr_storage) + 1, req,
                                    strlen(req)),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_recv(w.core, w.udp.tp, 0, sa, sizeof src, NULL, 10),
                   SIPSRV_E_INVAL);
  /* A stream needs its connection. */
  ck_assert_int_eq(sipsrv_core_recv(w.core, w.tcp.tp, 0, sa, sizeof src, req, strlen(req)),
                   SIPSRV_E_INVAL);
  ck_assert_uint_eq(w.udp.send_calls + w.tcp.send_calls, 0);
  ck_assert_uint_eq(ss_core_counters(w.core)->received, 0);
  world_fini(&w);
}
END_TEST

START_TEST(io_recv_no_clock)
{
  sipsrv_core *core = NULL;
  fake_tp f = { 0 };
  struct sockaddr_in src = addr4("127.0.0.1", SRC_PORT);
  char req[1024];

  ck_assert_int_eq(sipsrv_core_new(&core, NULL), 0);
  ck_assert_int_eq(sipsrv_core_add_transport(core, &udp_ops, &f, "127.0.0.1", 5060, &f.tp), 0);
  build_req(req, sizeof req, "OPTIONS", VIA_UDP, "noclock@127.0.0.1", NULL);
  ck_assert_int_eq(sipsrv_core_recv(core, f.tp, 0, (const struct sockaddr *)&src, sizeof src,
                                    req, strlen(req)),
                   SIPSRV_E_STATE);
  ck_assert_uint_eq(f.send_calls, 0);
  sipsrv_core_free(core);
}
END_TEST

START_TEST(io_recv_other_core_tp)
{
  world a, b;
  struct sockaddr_in src = addr4("127.0.0.1", SRC_PORT);
  char req[1024];

  world_init(&a);
  world_init(&b);
  build_req(req, sizeof req, "OPTIONS", VIA_UDP, "other@127.0.0.1", NULL);
  ck_assert_int_eq(sipsrv_core_recv(a.core, b.udp.tp, 0, (const struct sockaddr *)&src,
                                    sizeof src, req, strlen(req)),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_recv(a.core, b.tcp.tp, 9, (const struct sockaddr *)&src,
                                    sizeof src, req, strlen(req)),
                   SIPSRV_E_INVAL);
  ck_assert_uint_eq(a.udp.send_calls + b.udp.send_calls, 0);
  world_fini(&a);
  world_fini(&b);
}
END_TEST

START_TEST(io_recv_empty_and_garbage)
{
  world w;

  world_init(&w);
  ck_assert_int_eq(recv_from(&w, &w.udp, 0, SRC_PORT, NULL, 0), 0);
  ck_assert_int_eq(recv_udp(&w, "hello, world"), 0);
  ck_assert_int_eq(recv_udp(&w, "\r\n\r\n"), 0);
  ck_assert_uint_eq(w.udp.send_calls, 0);
  ck_assert_uint_eq(ss_core_counters(w.core)->received, 3);
  ck_assert_uint_eq(ss_core_counters(w.core)->dropped, 3);
  world_fini(&w);
}
END_TEST

/* ---- nothing above the core: 501 ----------------------------------------- */

START_TEST(io_noroles_options_501)
{
  world w;
  sipsrv_msg *rsp;
  sipsrv_via v0, v1;
  char ip[INET_ADDRSTRLEN];

  world_init(&w);
  ck_assert_int_eq(recv_udp(&w, options_udp), 0);
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_uint_eq(w.tcp.send_calls, 0);
  ck_assert_uint_eq(w.udp.sent[0].conn, 0);
  ck_assert_str_eq(sent_ip(&w.udp.sent[0], ip, sizeof ip), "127.0.0.1");
  ck_assert_uint_eq(sent_port(&w.udp.sent[0]), 5070);
  ck_assert_int_eq(strncmp(w.udp.sent[0].data, "SIP/2.0 501 Not Implemented\r\n", 29), 0);
  rsp = sent_parse(&w.udp, 0);
  check_reply_fields(rsp, 501, "opt-1@127.0.0.1", 7, "OPTIONS");
  /* Every Via copied, in order (RFC 3261 8.2.6.2); the top one's sent-by
   * is the source address, so no received (18.2.1). */
  ck_assert_int_eq(sipsrv_msg_via_count(rsp), 2);
  ck_assert_int_eq(sipsrv_msg_via(rsp, 0, &v0), 0);
  ck_assert_str_eq(v0.protocol, "SIP/2.0/UDP");
  ck_assert_str_eq(v0.host, "127.0.0.1");
  ck_assert_str_eq(v0.port, "5070");
  ck_assert_str_eq(v0.branch, "z9hG4bKopt1");
  ck_assert_ptr_null(v0.received);
  ck_assert_ptr_null(v0.rport);
  ck_assert_int_eq(sipsrv_msg_via(rsp, 1, &v1), 0);
  ck_assert_str_eq(v1.host, "192.0.2.9");
  ck_assert_str_eq(v1.port, "5080");
  ck_assert_str_eq(v1.branch, "z9hG4bKfar");
  ck_assert_str_eq(v1.received, "192.0.2.10");
  sipsrv_msg_free(rsp);
  ck_assert_uint_eq(ss_core_counters(w.core)->received, 1);
  ck_assert_uint_eq(ss_core_counters(w.core)->sent, 1);
  world_fini(&w);
}
END_TEST

START_TEST(io_noroles_ack_nothing)
{
  world w;
  char req[1024];

  world_init(&w);
  build_req(req, sizeof req, "ACK", VIA_UDP, "ack@127.0.0.1", "t1");
  ck_assert_int_eq(recv_udp(&w, req), 0);
  ck_assert_uint_eq(w.udp.send_calls, 0);
  ck_assert_uint_eq(ss_core_counters(w.core)->dropped, 1);
  /* A response with our own Via: nothing above to take it. */
  ck_assert_int_eq(recv_udp(&w, "SIP/2.0 200 OK\r\n"
                                "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKours\r\n"
                                "From: <sip:service@127.0.0.1>;tag=s1\r\n"
                                "To: <sip:bob@example.com>;tag=b1\r\n"
                                "Call-ID: ours@127.0.0.1\r\n"
                                "CSeq: 1 OPTIONS\r\n"
                                "Content-Length: 0\r\n\r\n"),
                   0);
  ck_assert_uint_eq(w.udp.send_calls, 0);
  ck_assert_uint_eq(ss_core_counters(w.core)->dropped, 2);
  world_fini(&w);
}
END_TEST

START_TEST(io_noroles_send_fails)
{
  world w;

  world_init(&w);
  w.udp.fail = 1;
  ck_assert_int_eq(recv_udp(&w, options_udp), 0);
  ck_assert_uint_eq(w.udp.send_calls, 1);
  ck_assert_uint_eq(w.udp.nsent, 0);
  ck_assert_uint_eq(ss_core_counters(w.core)->send_failures, 1);
  ck_assert_uint_eq(ss_core_counters(w.core)->sent, 0);
  world_fini(&w);
}
END_TEST

/* ---- RFC 3261 18.2.1 and RFC 3581: received, rport, destination ----------- */

/* Send an OPTIONS with this top Via from 127.0.0.1:src_port and return the
 * 501's top Via (in *rsp, to free) and destination port. */
static unsigned via_case(world *w, const char *via, unsigned src_port, sipsrv_msg **rsp,
                         sipsrv_via *top)
{
  char req[1024], ip[INET_ADDRSTRLEN];
  size_t before = w->udp.nsent;

  build_req(req, sizeof req, "OPTIONS", via, "via@127.0.0.1", NULL);
  ck_assert_int_eq(recv_from(w, &w->udp, 0, src_port, req, strlen(req)), 0);
  ck_assert_uint_eq(w->udp.nsent, before + 1);
  *rsp = sent_parse(&w->udp, before);
  ck_assert_int_eq(sipsrv_msg_status(*rsp), 501);
  ck_assert_int_eq(sipsrv_msg_via(*rsp, 0, top), 0);
  /* Always to the source IP (the received one, 18.2.2). */
  ck_assert_str_eq(sent_ip(&w->udp.sent[before], ip, sizeof ip), "127.0.0.1");
  return sent_port(&w->udp.sent[before]);
}

START_TEST(io_via_received_hostname)
{
  world w;
  sipsrv_msg *rsp;
  sipsrv_via v;
  char hdr[256];

  world_init(&w);
  ck_assert_uint_eq(via_case(&w, "SIP/2.0/UDP client.example.com:5070;branch=z9hG4bKh1",
                             SRC_PORT, &rsp, &v),
                    5070);
  ck_assert_str_eq(v.host, "client.example.com");
  ck_assert_str_eq(v.received, "127.0.0.1");
  ck_assert_ptr_null(v.rport);
  ck_assert_int_gt(sipsrv_msg_header(rsp, "Via", 0, hdr, sizeof hdr), 0);
  ck_assert_str_eq(hdr, "SIP/2.0/UDP client.example.com:5070;branch=z9hG4bKh1;received=127.0.0.1");
  sipsrv_msg_free(rsp);
  world_fini(&w);
}
END_TEST

START_TEST(io_via_received_other_ip)
{
  world w;
  sipsrv_msg *rsp;
  sipsrv_via v;

  world_init(&w);
  /* sent-by another IP, no port: the answer goes to the source IP, 5060. */
  ck_assert_uint_eq(via_case(&w, "SIP/2.0/UDP 10.1.2.3;branch=z9hG4bKh2", SRC_PORT, &rsp, &v),
                    5060);
  ck_assert_str_eq(v.host, "10.1.2.3");
  ck_assert_ptr_null(v.port);
  ck_assert_str_eq(v.received, "127.0.0.1");
  ck_assert_ptr_null(v.rport);
  sipsrv_msg_free(rsp);
  world_fini(&w);
}
END_TEST

START_TEST(io_via_same_ip_no_received)
{
  world w;
  sipsrv_msg *rsp;
  sipsrv_via v;
  char hdr[256];

  world_init(&w);
  ck_assert_uint_eq(via_case(&w, "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKh3", SRC_PORT, &rsp,
                             &v),
                    5070);
  ck_assert_ptr_null(v.received);
  ck_assert_ptr_null(v.rport);
  ck_assert_int_gt(sipsrv_msg_header(rsp, "Via", 0, hdr, sizeof hdr), 0);
  ck_assert_str_eq(hdr, "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKh3");
  sipsrv_msg_free(rsp);
  /* Without a port: 5060, even though the datagram came from 40000. */
  ck_assert_uint_eq(via_case(&w, "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKh4", SRC_PORT, &rsp, &v),
                    5060);
  ck_assert_ptr_null(v.received);
  sipsrv_msg_free(rsp);
  world_fini(&w);
}
END_TEST

START_TEST(io_via_rport)
{
  world w;
  sipsrv_msg *rsp;
  sipsrv_via v;

  world_init(&w);
  /* RFC 3581 4: rport gets the source port and received is added even when
   * sent-by is the source IP; the answer goes to the source port. */
  ck_assert_uint_eq(via_case(&w, "SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bKr1", 40123,
                             &rsp, &v),
                    40123);
  ck_assert_str_eq(v.rport, "40123");
  ck_assert_str_eq(v.received, "127.0.0.1");
  ck_assert_str_eq(v.port, "5070");
  ck_assert_str_eq(v.branch, "z9hG4bKr1");
  sipsrv_msg_free(rsp);
  /* With a host name and no port. */
  ck_assert_uint_eq(via_case(&w, "SIP/2.0/UDP client.example.com;branch=z9hG4bKr2;rport", 6000,
                             &rsp, &v),
                    6000);
  ck_assert_str_eq(v.rport, "6000");
  ck_assert_str_eq(v.received, "127.0.0.1");
  sipsrv_msg_free(rsp);
  world_fini(&w);
}
END_TEST

START_TEST(io_via_maddr)
{
  world w;
  sipsrv_msg *rsp;
  sipsrv_via v;
  char req[1024], ip[INET_ADDRSTRLEN] = "";
  unsigned port = 0;
  size_t nsent;

  world_init(&w);
  /* RFC 3261 18.2.2: with maddr (and no rport) the response MUST go to the
   * maddr address, at the sent-by port. */
  build_req(req, sizeof req, "OPTIONS",
            "SIP/2.0/UDP 127.0.0.1:5070;maddr=127.0.0.2;branch=z9hG4bKmaddr", "maddr@h", NULL);
  ck_assert_int_eq(recv_udp(&w, req), 0);
  nsent = w.udp.nsent;
  if (nsent) {
    rsp = sent_parse(&w.udp, 0);
    ck_assert_int_eq(sipsrv_msg_via(rsp, 0, &v), 0);
    ck_assert_str_eq(v.maddr, "127.0.0.2");
    sipsrv_msg_free(rsp);
    sent_ip(&w.udp.sent[0], ip, sizeof ip);
    port = sent_port(&w.udp.sent[0]);
  }
  /* Free first: a failed check here leaks nothing under CK_FORK=no. */
  world_fini(&w);
  ck_assert_uint_eq(nsent, 1);
  ck_assert_str_eq(ip, "127.0.0.2");
  ck_assert_uint_eq(port, 5070);
}
END_TEST

static struct sockaddr_in6 addr6(const char *ip, unsigned port)
{
  struct sockaddr_in6 a;
  memset(&a, 0, sizeof a);
  a.sin6_family = AF_INET6;
  a.sin6_port = htons((uint16_t)port);
  ck_assert_int_eq(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
  return a;
}

START_TEST(io_via_ipv6)
{
  world w;
  struct sockaddr_in6 src = addr6("::1", 40600);
  const struct sockaddr_in6 *dst;
  char req[1024], ip[INET6_ADDRSTRLEN];
  sipsrv_msg *rsp;
  sipsrv_via v;

  world_init(&w);
  /* sent-by is the source address, bracketed: no received; to sent-by's port. */
  build_req(req, sizeof req, "OPTIONS", "SIP/2.0/UDP [::1]:5070;branch=z9hG4bK6a", "v6a@h", NULL);
  ck_assert_int_eq(sipsrv_core_recv(w.core, w.udp.tp, 0, (const struct sockaddr *)&src,
                                    sizeof src, req, strlen(req)),
                   0);
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_uint_eq(w.udp.sent[0].dstlen, sizeof src);
  dst = (const struct sockaddr_in6 *)&w.udp.sent[0].dst;
  ck_assert_int_eq(dst->sin6_family, AF_INET6);
  ck_assert_uint_eq(ntohs(dst->sin6_port), 5070);
  ck_assert_str_eq(inet_ntop(AF_INET6, &dst->sin6_addr, ip, sizeof ip), "::1");
  rsp = sent_parse(&w.udp, 0);
  ck_assert_int_eq(sipsrv_msg_via(rsp, 0, &v), 0);
  ck_assert_ptr_null(v.received);
  sipsrv_msg_free(rsp);

  /* Another address with rport: received (an IPv6address, RFC 3261 20.42)
   * and rport, to the source port. */
  build_req(req, sizeof req, "OPTIONS", "SIP/2.0/UDP [2001:db8::9]:5070;rport;branch=z9hG4bK6b",
            "v6b@h", NULL);
  ck_assert_int_eq(sipsrv_core_recv(w.core, w.udp.tp, 0, (const struct sockaddr *)&src,
                                    sizeof src, req, strlen(req)),
                   0);
  ck_assert_uint_eq(w.udp.nsent, 2);
  dst = (const struct sockaddr_in6 *)&w.udp.sent[1].dst;
  ck_assert_uint_eq(ntohs(dst->sin6_port), 40600);
  rsp = sent_parse(&w.udp, 1);
  ck_assert_int_eq(sipsrv_msg_via(rsp, 0, &v), 0);
  ck_assert_str_eq(v.received, "::1");
  ck_assert_str_eq(v.rport, "40600");
  sipsrv_msg_free(rsp);
  world_fini(&w);
}
END_TEST

/* ---- malformed input -------------------------------------------------------- */

START_TEST(io_malformed_badvers_505)
{
  world w;
  sipsrv_msg *rsp;
  sipsrv_verdict v;
  static const char req[] =
    "OPTIONS sip:service@127.0.0.1 SIP/7.0\r\n"
    "Via: SIP/7.0/UDP 127.0.0.1:5070;branch=z9hG4bKbadv\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@example.com>;tag=fa1\r\n"
    "To: <sip:service@127.0.0.1>\r\n"
    "Call-ID: badvers@127.0.0.1\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Length: 0\r\n\r\n";

  world_init(&w);
  ck_assert_int_eq(recv_udp(&w, req), 0);
  ck_assert_uint_eq(w.udp.nsent, 1);
  rsp = sent_parse_v(&w.udp, 0, &v);
  ck_assert_int_eq(sipsrv_msg_status(rsp), 505);
  ck_assert_str_eq(sipsrv_msg_call_id(rsp), "badvers@127.0.0.1");
  sipsrv_msg_free(rsp);
  ck_assert_int_eq(strncmp(w.udp.sent[0].data, "SIP/2.0 505 ", 12), 0);
  ck_assert_uint_eq(ss_core_counters(w.core)->rejected, 1);
  world_fini(&w);
}
END_TEST

START_TEST(io_malformed_sip3_505)
{
  world w;
  sipsrv_msg *rsp;
  sipsrv_verdict v;
  static const char req[] =
    "OPTIONS sip:service@127.0.0.1 SIP/3.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKsip3\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@example.com>;tag=fa1\r\n"
    "To: <sip:service@127.0.0.1>\r\n"
    "Call-ID: sip3@127.0.0.1\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Length: 0\r\n\r\n";

  world_init(&w);
  ck_assert_int_eq(recv_udp(&w, req), 0);
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_uint_eq(sent_port(&w.udp.sent[0]), 5070);
  rsp = sent_parse_v(&w.udp, 0, &v);
  ck_assert_int_eq(v.action, SIPSRV_ACCEPT);
  ck_assert_int_eq(sipsrv_msg_status(rsp), 505);
  check_reply_fields(rsp, 505, "sip3@127.0.0.1", 1, "OPTIONS");
  sipsrv_msg_free(rsp);
  ck_assert_uint_eq(ss_core_counters(w.core)->rejected, 1);
  world_fini(&w);
}
END_TEST

START_TEST(io_malformed_no_callid_400)
{
  world w;
  sipsrv_msg *rsp;
  sipsrv_verdict v;
  sipsrv_via via;
  static const char req[] =
    "OPTIONS sip:service@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP client.example.com:5070;branch=z9hG4bKnocid\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@example.com>;tag=fa1\r\n"
    "To: <sip:service@127.0.0.1>\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Length: 0\r\n\r\n";

  world_init(&w);
  ck_assert_int_eq(recv_udp(&w, req), 0);
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_uint_eq(sent_port(&w.udp.sent[0]), 5070);
  rsp = sent_parse_v(&w.udp, 0, &v);
  ck_assert_int_eq(sipsrv_msg_status(rsp), 400);
  ck_assert_ptr_null(sipsrv_msg_call_id(rsp));
  /* The stateless answer's Via carries received too (18.2.1). */
  ck_assert_int_eq(sipsrv_msg_via(rsp, 0, &via), 0);
  ck_assert_str_eq(via.branch, "z9hG4bKnocid");
  ck_assert_str_eq(via.received, "127.0.0.1");
  sipsrv_msg_free(rsp);
  ck_assert_uint_eq(ss_core_counters(w.core)->rejected, 1);
  world_fini(&w);
}
END_TEST

START_TEST(io_malformed_ack_no_answer)
{
  world w;
  unsigned sends;
  uint64_t dropped, rejected;
  static const char no_callid[] =
    "ACK sip:service@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKack1\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@example.com>;tag=fa1\r\n"
    "To: <sip:service@127.0.0.1>;tag=t1\r\n"
    "CSeq: 1 ACK\r\n"
    "Content-Length: 0\r\n\r\n";
  static const char badvers[] =
    "ACK sip:service@127.0.0.1 SIP/3.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKack2\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@example.com>;tag=fa1\r\n"
    "To: <sip:service@127.0.0.1>;tag=t1\r\n"
    "Call-ID: ack2@h\r\n"
    "CSeq: 1 ACK\r\n"
    "Content-Length: 0\r\n\r\n";

  world_init(&w);
  /* No response is ever sent to an ACK (RFC 3261 17; msg.h: "ACK is never
   * answered"), malformed or not: a bad ACK is dropped and counted. */
  ck_assert_int_eq(recv_udp(&w, no_callid), 0);
  ck_assert_int_eq(recv_udp(&w, badvers), 0);
  sends = w.udp.send_calls;
  dropped = ss_core_counters(w.core)->dropped;
  rejected = ss_core_counters(w.core)->rejected;
  /* Free first: a failed check here leaks nothing under CK_FORK=no. */
  world_fini(&w);
  ck_assert_uint_eq(sends, 0);
  ck_assert_uint_eq(rejected, 0);
  ck_assert_uint_eq(dropped, 2);
}
END_TEST

START_TEST(io_malformed_response_dropped)
{
  world w;
  uint64_t dropped;

  world_init(&w);
  dropped = ss_core_counters(w.core)->dropped;
  /* No CSeq. */
  ck_assert_int_eq(recv_udp(&w, "SIP/2.0 200 OK\r\n"
                                "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKbad\r\n"
                                "From: <sip:service@127.0.0.1>;tag=s1\r\n"
                                "To: <sip:bob@example.com>;tag=b1\r\n"
                                "Call-ID: badrsp@127.0.0.1\r\n"
                                "Content-Length: 0\r\n\r\n"),
                   0);
  ck_assert_uint_eq(ss_core_counters(w.core)->dropped, dropped + 1);
  /* A status out of range. */
  ck_assert_int_eq(recv_udp(&w, "SIP/2.0 999 Odd\r\n"
                                "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKbad\r\n"
                                "From: <sip:service@127.0.0.1>;tag=s1\r\n"
                                "To: <sip:bob@example.com>;tag=b1\r\n"
                                "Call-ID: badrsp@127.0.0.1\r\n"
                                "CSeq: 1 OPTIONS\r\n"
                                "Content-Length: 0\r\n\r\n"),
                   0);
  ck_assert_uint_eq(ss_core_counters(w.core)->dropped, dropped + 2);
  ck_assert_uint_eq(w.udp.send_calls, 0);
  ck_assert_uint_eq(ss_core_counters(w.core)->rejected, 0);
  world_fini(&w);
}
END_TEST

#define VIA_INV "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKinv1"

START_TEST(io_txn_invite_486_timer_g)
{
  world w;
  test_role r;
  char inv[1024], ack[1024];
  sipsrv_msg *rsp;
  sipsrv_addr to;
  uint64_t t0;
  const uint64_t T1 = 500, T2 = 4000, T4 = 5000;

  world_init(&w);
  role_attach(&w, &r);
  t0 = w.clock.now_ms;
  build_req(inv, sizeof inv, "INVITE", VIA_INV, "inv-1@127.0.0.1", NULL);
  ck_assert_int_eq(recv_udp(&w, inv), 0);
  ck_assert_uint_eq(r.invites, 1);
  ck_assert_int_eq(r.respond_rc, 0);
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_uint_eq(sent_port(&w.udp.sent[0]), 5070);
  rsp = sent_parse(&w.udp, 0);
  check_reply_fields(rsp, 486, "inv-1@127.0.0.1", 1, "INVITE");
  ck_assert_int_eq(sipsrv_msg_to(rsp, &to), 0);
  build_req(ack, sizeof ack, "ACK", VIA_INV, "inv-1@127.0.0.1", to.tag);
  sipsrv_msg_free(rsp);

  /* Timer G (RFC 3261 17.2.1): T1, then doubling: at T1, 3*T1, 7*T1. */
  ck_assert_uint_eq(next_timeout(&w), t0 + T1);
  ck_assert_int_eq(expire_at(&w, t0 + T1 - 1), 0);
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_int_eq(expire_at(&w, t0 + T1), 1);
  ck_assert_uint_eq(w.udp.nsent, 2);
  ck_assert(sent_same(&w.udp.sent[1], &w.udp.sent[0]));
  ck_assert_uint_eq(next_timeout(&w), t0 + 3 * T1);
  ck_assert_int_eq(expire_at(&w, t0 + 3 * T1 - 1), 0);
  ck_assert_uint_eq(w.udp.nsent, 2);
  ck_assert_int_eq(expire_at(&w, t0 + 3 * T1), 1);
  ck_assert_uint_eq(w.udp.nsent, 3);
  ck_assert(sent_same(&w.udp.sent[2], &w.udp.sent[0]));
  ck_assert_uint_eq(next_timeout(&w), t0 + 7 * T1);
  ck_assert_int_eq(expire_at(&w, t0 + 7 * T1), 1);
  ck_assert_uint_eq(w.udp.nsent, 4);
  ck_assert(sent_same(&w.udp.sent[3], &w.udp.sent[0]));
  /* Then capped at T2. */
  ck_assert_uint_eq(next_timeout(&w), t0 + 7 * T1 + T2);

  /* A retransmitted INVITE gets the 486 again; the role is not asked. */
  ck_assert_int_eq(recv_udp(&w, inv), 0);
  ck_assert_uint_eq(w.udp.nsent, 5);
  ck_assert(sent_same(&w.udp.sent[4], &w.udp.sent[0]));
  ck_assert_uint_eq(r.invites, 1);

  /* The ACK stops the retransmissions (Confirmed); Timer I is T4. */
  ck_assert_int_eq(recv_udp(&w, ack), 0);
  ck_assert_uint_eq(r.acks, 0);                 /* absorbed by the transaction */
  ck_assert_uint_eq(w.udp.nsent, 5);
  ck_assert_uint_eq(next_timeout(&w), w.clock.now_ms + T4);
  ck_assert_int_eq(expire_at(&w, t0 + 7 * T1 + T2), 0);
  ck_assert_uint_eq(w.udp.nsent, 5);
  /* A retransmitted ACK or INVITE in Confirmed is absorbed. */
  ck_assert_int_eq(recv_udp(&w, ack), 0);
  ck_assert_int_eq(recv_udp(&w, inv), 0);
  ck_assert_uint_eq(w.udp.nsent, 5);
  ck_assert_uint_eq(r.invites, 1);
  ck_assert_int_eq(expire_at(&w, t0 + 7 * T1 + T4), 1);
  ck_assert_uint_eq(ss_txn_layer_count(ss_core_txn_layer(ss_core_txn_of(w.core))), 0);
  {
    uint64_t when;
    ck_assert_int_eq(sipsrv_core_next_timeout(w.core, &when), SIPSRV_E_NOTFOUND);
  }
  ck_assert_uint_eq(w.udp.nsent, 5);
  world_fini(&w);
}
END_TEST

START_TEST(io_txn_invite_timer_h)
{
  world w;
  test_role r;
  char inv[1024];
  uint64_t t0, when;
  const uint64_t T1 = 500;

  world_init(&w);
  role_attach(&w, &r);
  t0 = w.clock.now_ms;
  build_req(inv, sizeof inv, "INVITE", VIA_INV, "inv-h@127.0.0.1", NULL);
  ck_assert_int_eq(recv_udp(&w, inv), 0);
  /* Without an ACK: retransmissions at 0.5, 1.5, 3.5, 7.5, then every 4 s,
   * until Timer H (64*T1 = 32 s) ends it. */
  while (sipsrv_core_next_timeout(w.core, &when) == 0)
    ck_assert_int_ge(expire_at(&w, when), 1);
  ck_assert_uint_eq(w.clock.now_ms, t0 + 64 * T1);
  /* 1 + retransmissions at 500, 1500, 3500, 7500, 11500, ... 31500. */
  ck_assert_uint_eq(w.udp.nsent, 1 + 4 + 6);
  ck_assert_uint_eq(ss_txn_layer_count(ss_core_txn_layer(ss_core_txn_of(w.core))), 0);
  world_fini(&w);
}
END_TEST

START_TEST(io_txn_options_200_retransmit)
{
  world w;
  test_role r;
  char req[1024];
  sipsrv_msg *rsp;
  uint64_t t0;

  world_init(&w);
  role_attach(&w, &r);
  t0 = w.clock.now_ms;
  build_req(req, sizeof req, "OPTIONS", VIA_UDP, "opt-2@127.0.0.1", NULL);
  ck_assert_int_eq(recv_udp(&w, req), 0);
  ck_assert_uint_eq(r.options, 1);
  ck_assert_int_eq(r.respond_rc, 0);
  ck_assert_uint_eq(w.udp.nsent, 1);
  rsp = sent_parse(&w.udp, 0);
  check_reply_fields(rsp, 200, "opt-2@127.0.0.1", 1, "OPTIONS");
  sipsrv_msg_free(rsp);
  /* No retransmission of a non-INVITE final on its own; Timer J is 64*T1. */
  ck_assert_uint_eq(next_timeout(&w), t0 + 64 * 500);
  tclock_advance(&w.clock, 1000);
  ck_assert_int_eq(recv_udp(&w, req), 0);
  ck_assert_uint_eq(w.udp.nsent, 2);
  ck_assert(sent_same(&w.udp.sent[1], &w.udp.sent[0]));
  ck_assert_uint_eq(r.options, 1);
  /* After Timer J the same request is new again. */
  ck_assert_int_eq(expire_at(&w, t0 + 64 * 500), 1);
  ck_assert_int_eq(recv_udp(&w, req), 0);
  ck_assert_uint_eq(r.options, 2);
  ck_assert_uint_eq(w.udp.nsent, 3);
  world_fini(&w);
}
END_TEST

START_TEST(io_txn_unclaimed_501)
{
  world w;
  test_role r;
  char req[1024];
  sipsrv_msg *rsp;

  world_init(&w);
  role_attach(&w, &r);
  build_req(req, sizeof req, "MESSAGE", VIA_UDP, "msg-1@127.0.0.1", NULL);
  ck_assert_int_eq(recv_udp(&w, req), 0);
  ck_assert_uint_eq(r.others, 1);
  ck_assert_uint_eq(w.udp.nsent, 1);
  rsp = sent_parse(&w.udp, 0);
  check_reply_fields(rsp, 501, "msg-1@127.0.0.1", 1, "MESSAGE");
  sipsrv_msg_free(rsp);
  /* Its retransmission gets the same 501 from the transaction. */
  ck_assert_int_eq(recv_udp(&w, req), 0);
  ck_assert_uint_eq(r.others, 1);
  ck_assert_uint_eq(w.udp.nsent, 2);
  ck_assert(sent_same(&w.udp.sent[1], &w.udp.sent[0]));
  world_fini(&w);
}
END_TEST

START_TEST(io_txn_ack_unmatched)
{
  world w;
  test_role r;
  char ack[1024];

  world_init(&w);
  role_attach(&w, &r);
  /* An ACK no transaction absorbs (the ACK for a 2xx has a branch of its
   * own, RFC 3261 17.2.3) goes to the roles' ack hook; nothing is sent. */
  build_req(ack, sizeof ack, "ACK", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKack2xx",
            "ack-2xx@h", "t2xx");
  ck_assert_int_eq(recv_udp(&w, ack), 0);
  ck_assert_uint_eq(r.acks, 1);
  ck_assert_uint_eq(r.invites + r.options + r.others, 0);
  ck_assert_uint_eq(w.udp.send_calls, 0);
  ck_assert_uint_eq(ss_txn_layer_count(ss_core_txn_layer(ss_core_txn_of(w.core))), 0);
  world_fini(&w);
}
END_TEST

START_TEST(io_txn_stray_response)
{
  world w;
  test_role r;
  uint64_t dropped;

  world_init(&w);
  role_attach(&w, &r);
  dropped = ss_core_counters(w.core)->dropped;
  /* Top Via ours (127.0.0.1:5060), no client transaction: the roles see it. */
  ck_assert_int_eq(recv_udp(&w, "SIP/2.0 200 OK\r\n"
                                "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKours\r\n"
                                "From: <sip:service@127.0.0.1>;tag=s1\r\n"
                                "To: <sip:bob@example.com>;tag=b1\r\n"
                                "Call-ID: ours@127.0.0.1\r\n"
                                "CSeq: 1 OPTIONS\r\n"
                                "Content-Length: 0\r\n\r\n"),
                   0);
  ck_assert_uint_eq(r.strays, 1);
  ck_assert_str_eq(r.stray_call_id, "ours@127.0.0.1");
  ck_assert_uint_eq(ss_core_counters(w.core)->dropped, dropped);
  /* No port means 5060 (RFC 3261 18.1.2), and the host compares without case. */
  ck_assert_int_eq(recv_udp(&w, "SIP/2.0 200 OK\r\n"
                                "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKours2\r\n"
                                "From: <sip:service@127.0.0.1>;tag=s1\r\n"
                                "To: <sip:bob@example.com>;tag=b1\r\n"
                                "Call-ID: ours2@127.0.0.1\r\n"
                                "CSeq: 1 OPTIONS\r\n"
                                "Content-Length: 0\r\n\r\n"),
                   0);
  ck_assert_uint_eq(r.strays, 2);
  /* Another element's Via (RFC 3261 18.1.2): dropped before the layer. */
  ck_assert_int_eq(recv_udp(&w, "SIP/2.0 200 OK\r\n"
                                "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKtheirs\r\n"
                                "From: <sip:service@127.0.0.1>;tag=s1\r\n"
                                "To: <sip:bob@example.com>;tag=b1\r\n"
                                "Call-ID: theirs@127.0.0.1\r\n"
                                "CSeq: 1 OPTIONS\r\n"
                                "Content-Length: 0\r\n\r\n"),
                   0);
  ck_assert_int_eq(recv_udp(&w, "SIP/2.0 200 OK\r\n"
                                "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKtheirs2\r\n"
                                "From: <sip:service@127.0.0.1>;tag=s1\r\n"
                                "To: <sip:bob@example.com>;tag=b1\r\n"
                                "Call-ID: theirs2@127.0.0.1\r\n"
                                "CSeq: 1 OPTIONS\r\n"
                                "Content-Length: 0\r\n\r\n"),
                   0);
  ck_assert_uint_eq(r.strays, 2);
  ck_assert_uint_eq(ss_core_counters(w.core)->dropped, dropped + 2);
  ck_assert_uint_eq(w.udp.send_calls, 0);
  world_fini(&w);
}
END_TEST

START_TEST(io_txn_tcp_no_retransmit)
{
  world w;
  test_role r;
  char inv[1024], ack[1024];
  sipsrv_msg *rsp;
  sipsrv_addr to;
  uint64_t t0;

  world_init(&w);
  role_attach(&w, &r);
  t0 = w.clock.now_ms;
  build_req(inv, sizeof inv, "INVITE", "SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKtcpinv",
            "inv-tcp@127.0.0.1", NULL);
  ck_assert_int_eq(recv_tcp(&w, 11, inv), 0);
  ck_assert_uint_eq(w.tcp.nsent, 1);
  ck_assert_uint_eq(w.tcp.sent[0].conn, 11);
  /* Over a stream the response goes on the connection; the address, for
   * when it is gone, is the received one with the sent-by port (18.2.2). */
  ck_assert_uint_eq(sent_port(&w.tcp.sent[0]), 5070);
  rsp = sent_parse(&w.tcp, 0);
  ck_assert_int_eq(sipsrv_msg_status(rsp), 486);
  ck_assert_int_eq(sipsrv_msg_to(rsp, &to), 0);
  build_req(ack, sizeof ack, "ACK", "SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKtcpinv",
            "inv-tcp@127.0.0.1", to.tag);
  sipsrv_msg_free(rsp);
  /* Reliable: no Timer G; Timer H is the next deadline. */
  ck_assert_uint_eq(next_timeout(&w), t0 + 64 * 500);
  ck_assert_int_eq(recv_tcp(&w, 11, ack), 0);
  /* Timer I is 0 over a reliable transport. */
  ck_assert_uint_eq(next_timeout(&w), t0);
  ck_assert_int_eq(sipsrv_core_expire(w.core), 1);
  ck_assert_uint_eq(ss_txn_layer_count(ss_core_txn_layer(ss_core_txn_of(w.core))), 0);
  ck_assert_uint_eq(w.tcp.nsent, 1);
  ck_assert_uint_eq(w.udp.send_calls, 0);
  world_fini(&w);
}
END_TEST

START_TEST(io_txn_send_fails)
{
  world w;
  test_role r;
  char inv[1024];
  uint64_t when;

  world_init(&w);
  role_attach(&w, &r);
  w.udp.fail = 1;
  build_req(inv, sizeof inv, "INVITE", VIA_INV, "inv-fail@127.0.0.1", NULL);
  ck_assert_int_eq(recv_udp(&w, inv), 0);
  ck_assert_uint_eq(r.invites, 1);
  /* RFC 3261 17.2.4: the transaction ends on a transport error. */
  ck_assert_int_eq(r.respond_rc, SIPSRV_E_IO);
  ck_assert_uint_eq(ss_core_counters(w.core)->send_failures, 1);
  ck_assert_uint_eq(ss_txn_layer_count(ss_core_txn_layer(ss_core_txn_of(w.core))), 0);
  ck_assert_int_eq(sipsrv_core_next_timeout(w.core, &when), SIPSRV_E_NOTFOUND);
  world_fini(&w);
}
END_TEST

/* ---- timer values ------------------------------------------------------------ */

START_TEST(io_timer_custom_t1)
{
  world w;
  test_role r;
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  char inv[1024];
  uint64_t t0;

  cfg.t1_ms = 100;
  world_init_cfg(&w, &cfg);
  role_attach(&w, &r);
  t0 = w.clock.now_ms;
  build_req(inv, sizeof inv, "INVITE", VIA_INV, "inv-t1@127.0.0.1", NULL);
  ck_assert_int_eq(recv_udp(&w, inv), 0);
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_uint_eq(next_timeout(&w), t0 + 100);
  ck_assert_int_eq(expire_at(&w, t0 + 99), 0);
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_int_eq(expire_at(&w, t0 + 100), 1);
  ck_assert_uint_eq(w.udp.nsent, 2);
  ck_assert_uint_eq(next_timeout(&w), t0 + 300);
  world_fini(&w);
}
END_TEST

START_TEST(io_timer_bad_cfg)
{
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_core *core = NULL;

  cfg.t1_ms = 500;
  cfg.t2_ms = 499;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), SIPSRV_E_INVAL);
  ck_assert_ptr_null(core);
  cfg.t2_ms = 4000;
  cfg.t1_ms = 0;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), SIPSRV_E_INVAL);
  cfg.t1_ms = 500;
  cfg.t4_ms = 0;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), SIPSRV_E_INVAL);
  ck_assert_ptr_null(core);
  /* T1 == T2 is allowed. */
  cfg.t4_ms = 5000;
  cfg.t2_ms = 500;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), 0);
  sipsrv_core_free(core);
}
END_TEST

START_TEST(io_timeout_bad_args)
{
  world w;
  uint64_t when = 42;

  world_init(&w);
  ck_assert_int_eq(sipsrv_core_next_timeout(NULL, &when), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_next_timeout(w.core, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_next_timeout(w.core, &when), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_core_expire(NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_expire(w.core), 0);
  /* A layer made but idle arms nothing. */
  ck_assert_ptr_nonnull(ss_core_txn_of(w.core));
  ck_assert_int_eq(sipsrv_core_next_timeout(w.core, &when), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_core_expire(w.core), 0);
  world_fini(&w);
}
END_TEST

START_TEST(io_expire_no_clock)
{
  sipsrv_core *core = NULL;
  uint64_t when;

  ck_assert_int_eq(sipsrv_core_new(&core, NULL), 0);
  ck_assert_int_eq(sipsrv_core_expire(core), SIPSRV_E_STATE);
  ck_assert_int_eq(sipsrv_core_next_timeout(core, &when), SIPSRV_E_NOTFOUND);
  sipsrv_core_free(core);
}
END_TEST

/* ---- streams (TCP) --------------------------------------------------------------- */

START_TEST(io_tcp_two_in_one)
{
  world w;
  char a[1024], b[1024], both[2048];
  sipsrv_msg *rsp;

  world_init(&w);
  build_req(a, sizeof a, "OPTIONS", "SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKt1", "tcp-a@h",
            NULL);
  build_req(b, sizeof b, "OPTIONS", "SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKt2", "tcp-b@h",
            NULL);
  snprintf(both, sizeof both, "%s%s", a, b);
  ck_assert_int_eq(recv_tcp(&w, 7, both), 0);
  ck_assert_uint_eq(w.tcp.nsent, 2);
  ck_assert_uint_eq(w.udp.send_calls, 0);
  for (size_t i = 0; i < 2; i++) {
    ck_assert_uint_eq(w.tcp.sent[i].conn, 7);
    /* RFC 3261 18.2.2: on connection 7; were it gone, to the sent-by port. */
    ck_assert_uint_eq(sent_port(&w.tcp.sent[i]), 5070);
    rsp = sent_parse(&w.tcp, i);
    check_reply_fields(rsp, 501, i == 0 ? "tcp-a@h" : "tcp-b@h", 1, "OPTIONS");
    sipsrv_msg_free(rsp);
  }
  world_fini(&w);
}
END_TEST

START_TEST(io_tcp_split_three)
{
  world w;
  char a[1024];
  size_t len, cut1, cut2;
  sipsrv_msg *rsp;

  world_init(&w);
  build_req(a, sizeof a, "OPTIONS", VIA_TCP, "tcp-split@h", NULL);
  len = strlen(a);
  cut1 = 10;                    /* inside the request line */
  cut2 = len - 3;               /* inside the empty line */
  ck_assert_int_eq(recv_from(&w, &w.tcp, 8, SRC_PORT, a, cut1), 0);
  ck_assert_uint_eq(w.tcp.send_calls, 0);
  ck_assert_int_eq(recv_from(&w, &w.tcp, 8, SRC_PORT, a + cut1, cut2 - cut1), 0);
  ck_assert_uint_eq(w.tcp.send_calls, 0);
  ck_assert_int_eq(recv_from(&w, &w.tcp, 8, SRC_PORT, a + cut2, len - cut2), 0);
  ck_assert_uint_eq(w.tcp.nsent, 1);
  ck_assert_uint_eq(w.tcp.sent[0].conn, 8);
  rsp = sent_parse(&w.tcp, 0);
  check_reply_fields(rsp, 501, "tcp-split@h", 1, "OPTIONS");
  sipsrv_msg_free(rsp);
  ck_assert_uint_eq(ss_core_counters(w.core)->received, 1);
  world_fini(&w);
}
END_TEST

START_TEST(io_tcp_body_split)
{
  world w;
  sipsrv_msg *rsp;
  static const char head[] =
    "MESSAGE sip:service@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKbody\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@example.com>;tag=fa1\r\n"
    "To: <sip:service@127.0.0.1>\r\n"
    "Call-ID: body@h\r\n"
    "CSeq: 1 MESSAGE\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 11\r\n"
    "\r\n";

  world_init(&w);
  /* The header section complete, the body not yet: wait for it. */
  ck_assert_int_eq(recv_tcp(&w, 3, head), 0);
  ck_assert_int_eq(recv_tcp(&w, 3, "hello"), 0);
  ck_assert_uint_eq(w.tcp.send_calls, 0);
  ck_assert_int_eq(recv_tcp(&w, 3, " world"), 0);
  ck_assert_uint_eq(w.tcp.nsent, 1);
  rsp = sent_parse(&w.tcp, 0);
  check_reply_fields(rsp, 501, "body@h", 1, "MESSAGE");
  sipsrv_msg_free(rsp);
  world_fini(&w);
}
END_TEST

START_TEST(io_tcp_keepalive)
{
  world w;

  world_init(&w);
  ck_assert_int_eq(recv_tcp(&w, 5, "\r\n\r\n"), 0);
  ck_assert_uint_eq(w.tcp.nsent, 1);
  ck_assert_uint_eq(w.tcp.sent[0].len, 2);
  ck_assert_int_eq(memcmp(w.tcp.sent[0].data, "\r\n", 2), 0);
  ck_assert_uint_eq(w.tcp.sent[0].conn, 5);
  ck_assert_uint_eq(sent_port(&w.tcp.sent[0]), SRC_PORT);
  ck_assert_uint_eq(ss_core_counters(w.core)->keepalives, 1);
  ck_assert_uint_eq(w.tcp.nclosed, 0);
  /* Two pings in one read, then a ping split across reads. */
  ck_assert_int_eq(recv_tcp(&w, 5, "\r\n\r\n\r\n\r\n"), 0);
  ck_assert_uint_eq(ss_core_counters(w.core)->keepalives, 3);
  ck_assert_int_eq(recv_tcp(&w, 5, "\r\n"), 0);
  ck_assert_uint_eq(ss_core_counters(w.core)->keepalives, 3);
  ck_assert_int_eq(recv_tcp(&w, 5, "\r\n"), 0);
  ck_assert_uint_eq(ss_core_counters(w.core)->keepalives, 4);
  ck_assert_uint_eq(w.tcp.nsent, 4);
  for (size_t i = 0; i < w.tcp.nsent; i++) {
    ck_assert_uint_eq(w.tcp.sent[i].len, 2);
    ck_assert_uint_eq(w.tcp.sent[i].conn, 5);
  }
  /* Not a message: nothing received or dropped. */
  ck_assert_uint_eq(ss_core_counters(w.core)->received, 0);
  world_fini(&w);
}
END_TEST

static const char two_cl[] =
  "OPTIONS sip:service@127.0.0.1 SIP/2.0\r\n"
  "Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKtwocl\r\n"
  "Max-Forwards: 70\r\n"
  "From: <sip:alice@example.com>;tag=fa1\r\n"
  "To: <sip:service@127.0.0.1>\r\n"
  "Call-ID: twocl@h\r\n"
  "CSeq: 1 OPTIONS\r\n"
  "Content-Length: 0\r\n"
  "Content-Length: 4\r\n"
  "\r\n"
  "abcd";

START_TEST(io_tcp_two_content_length)
{
  world w;
  sipsrv_msg *rsp;
  sipsrv_verdict v;
  char a[1024];

  world_init(&w);
  ck_assert_int_eq(recv_tcp(&w, 9, two_cl), SIPSRV_E_CLOSED);
  ck_assert_uint_eq(w.tcp.nsent, 1);
  ck_assert_uint_eq(w.tcp.sent[0].conn, 9);
  rsp = sent_parse_v(&w.tcp, 0, &v);
  ck_assert_int_eq(sipsrv_msg_status(rsp), 400);
  ck_assert_str_eq(sipsrv_msg_call_id(rsp), "twocl@h");
  sipsrv_msg_free(rsp);
  ck_assert_uint_eq(w.tcp.nclosed, 1);
  ck_assert_uint_eq(w.tcp.closed[0], 9);
  /* Later bytes on the same id are a new connection with a fresh framer. */
  build_req(a, sizeof a, "OPTIONS", VIA_TCP, "after@h", NULL);
  ck_assert_int_eq(recv_tcp(&w, 9, a), 0);
  ck_assert_uint_eq(w.tcp.nsent, 2);
  ck_assert_uint_eq(w.tcp.sent[1].conn, 9);
  rsp = sent_parse(&w.tcp, 1);
  check_reply_fields(rsp, 501, "after@h", 1, "OPTIONS");
  sipsrv_msg_free(rsp);
  ck_assert_uint_eq(w.tcp.nclosed, 1);
  world_fini(&w);
}
END_TEST

START_TEST(io_tcp_error_after_good)
{
  world w;
  char a[1024], buf[4096];
  sipsrv_msg *rsp;

  world_init(&w);
  /* A good message, then one that loses the framing, then a good one that
   * must not be read (the connection is gone). */
  build_req(a, sizeof a, "OPTIONS", VIA_TCP, "first@h", NULL);
  snprintf(buf, sizeof buf, "%s%s%s", a, two_cl, a);
  ck_assert_int_eq(recv_tcp(&w, 4, buf), SIPSRV_E_CLOSED);
  ck_assert_uint_eq(w.tcp.nsent, 2);
  rsp = sent_parse(&w.tcp, 0);
  ck_assert_int_eq(sipsrv_msg_status(rsp), 501);
  sipsrv_msg_free(rsp);
  rsp = sent_parse_v(&w.tcp, 1, NULL);
  ck_assert_int_eq(sipsrv_msg_status(rsp), 400);
  sipsrv_msg_free(rsp);
  ck_assert_uint_eq(w.tcp.nclosed, 1);
  ck_assert_uint_eq(w.tcp.closed[0], 4);
  world_fini(&w);
}
END_TEST

START_TEST(io_tcp_content_length_too_large)
{
  world w;
  sipsrv_msg *rsp;
  int rc, status;
  size_t nsent, nclosed;
  uint64_t closed;
  static const char req[] =
    "OPTIONS sip:service@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKbig\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@example.com>;tag=fa1\r\n"
    "To: <sip:service@127.0.0.1>\r\n"
    "Call-ID: big@h\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Length: 9999999\r\n"
    "\r\n";

  world_init(&w);
  /* The framer gives up with 513 Message Too Large (RFC 3261 21.5.14,
   * framer.h: the status to answer): the core answers that and closes. */
  rc = recv_tcp(&w, 6, req);
  nsent = w.tcp.nsent;
  nclosed = w.tcp.nclosed;
  closed = nclosed ? w.tcp.closed[0] : 0;
  status = 0;
  if (nsent) {
    rsp = sent_parse_v(&w.tcp, 0, NULL);
    status = sipsrv_msg_status(rsp);
    sipsrv_msg_free(rsp);
  }
  /* Free first: a failed check here leaks nothing under CK_FORK=no. */
  world_fini(&w);
  ck_assert_int_eq(rc, SIPSRV_E_CLOSED);
  ck_assert_uint_eq(nclosed, 1);
  ck_assert_uint_eq(closed, 6);
  ck_assert_uint_eq(nsent, 1);
  ck_assert_int_eq(status, 513);
}
END_TEST

START_TEST(io_tcp_head_too_large)
{
  world w;
  test_role r;
  size_t n = SIPSRV_MSG_MAX_DEFAULT + 4096, off;
  char *big = malloc(n);

  ck_assert_ptr_nonnull(big);
  world_init(&w);
  role_attach(&w, &r);
  off = (size_t)snprintf(big, n,
                         "OPTIONS sip:service@127.0.0.1 SIP/2.0\r\n"
                         "Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKhuge\r\n"
                         "Call-ID: huge@h\r\n"
                         "X-Pad: ");
  memset(big + off, 'a', n - off);
  /* A header section that never ends: the connection is closed, and
   * nothing reaches the roles. */
  ck_assert_int_eq(recv_from(&w, &w.tcp, 13, SRC_PORT, big, n), SIPSRV_E_CLOSED);
  ck_assert_uint_eq(w.tcp.nclosed, 1);
  ck_assert_uint_eq(w.tcp.closed[0], 13);
  ck_assert_uint_eq(r.options, 0);
  free(big);
  world_fini(&w);
}
END_TEST

START_TEST(io_tcp_close_reenters)
{
  world w;
  char a[1024];
  sipsrv_msg *rsp;

  world_init(&w);
  /* The transport's close calls sipsrv_core_conn_closed at once, while the
   * core is still handling the connection's frames. */
  w.tcp.close_reenters = 1;
  ck_assert_int_eq(recv_tcp(&w, 14, two_cl), SIPSRV_E_CLOSED);
  ck_assert_uint_eq(w.tcp.nclosed, 1);
  ck_assert_uint_eq(w.tcp.nsent, 1);
  build_req(a, sizeof a, "OPTIONS", VIA_TCP, "reenter@h", NULL);
  ck_assert_int_eq(recv_tcp(&w, 14, a), 0);
  ck_assert_uint_eq(w.tcp.nsent, 2);
  rsp = sent_parse(&w.tcp, 1);
  check_reply_fields(rsp, 501, "reenter@h", 1, "OPTIONS");
  sipsrv_msg_free(rsp);
  world_fini(&w);
}
END_TEST

START_TEST(io_tcp_send_fail_closes)
{
  world w;
  char a[1024], b[1024], both[2048];
  sipsrv_msg *rsp;

  world_init(&w);
  build_req(a, sizeof a, "OPTIONS", "SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKsf1", "sf-a@h",
            NULL);
  build_req(b, sizeof b, "OPTIONS", "SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKsf2", "sf-b@h",
            NULL);
  snprintf(both, sizeof both, "%s%s", a, b);
  /* The first answer's send fails and the transport reports the connection
   * gone from inside send: the second message of the read is not handled. */
  w.tcp.fail = 1;
  w.tcp.fail_closes = 1;
  ck_assert_int_eq(recv_tcp(&w, 15, both), 0);
  ck_assert_uint_eq(w.tcp.send_calls, 1);
  ck_assert_uint_eq(ss_core_counters(w.core)->send_failures, 1);
  ck_assert_uint_eq(ss_core_counters(w.core)->received, 1);
  ck_assert_uint_eq(w.tcp.nclosed, 0);
  /* The id is free again: a new connection. */
  w.tcp.fail = 0;
  ck_assert_int_eq(recv_tcp(&w, 15, b), 0);
  ck_assert_uint_eq(w.tcp.nsent, 1);
  rsp = sent_parse(&w.tcp, 0);
  check_reply_fields(rsp, 501, "sf-b@h", 1, "OPTIONS");
  sipsrv_msg_free(rsp);
  world_fini(&w);
}
END_TEST

START_TEST(io_tcp_conn_closed_drops_partial)
{
  world w;
  char a[1024], b[1024];
  sipsrv_msg *rsp;

  world_init(&w);
  build_req(a, sizeof a, "OPTIONS", VIA_TCP, "half@h", NULL);
  build_req(b, sizeof b, "OPTIONS", VIA_TCP, "whole@h", NULL);
  ck_assert_int_eq(recv_from(&w, &w.tcp, 12, SRC_PORT, a, strlen(a) / 2), 0);
  ck_assert_int_eq(sipsrv_core_conn_closed(w.core, w.tcp.tp, 12), 0);
  ck_assert_int_eq(recv_tcp(&w, 12, b), 0);
  ck_assert_uint_eq(w.tcp.nsent, 1);
  rsp = sent_parse(&w.tcp, 0);
  check_reply_fields(rsp, 501, "whole@h", 1, "OPTIONS");
  sipsrv_msg_free(rsp);
  ck_assert_uint_eq(w.tcp.nclosed, 0);
  world_fini(&w);
}
END_TEST

START_TEST(io_tcp_conns_independent)
{
  world w;
  char a[1024];
  size_t len;
  sipsrv_msg *rsp;

  world_init(&w);
  build_req(a, sizeof a, "OPTIONS", VIA_TCP, "conn-a@h", NULL);
  len = strlen(a);
  /* Halves on two connections do not join; each completes on its own. */
  ck_assert_int_eq(recv_from(&w, &w.tcp, 1, SRC_PORT, a, len / 2), 0);
  ck_assert_int_eq(recv_from(&w, &w.tcp, 2, SRC_PORT, a, len / 2), 0);
  ck_assert_uint_eq(w.tcp.send_calls, 0);
  ck_assert_int_eq(recv_from(&w, &w.tcp, 2, SRC_PORT, a + len / 2, len - len / 2), 0);
  ck_assert_uint_eq(w.tcp.nsent, 1);
  ck_assert_uint_eq(w.tcp.sent[0].conn, 2);
  ck_assert_int_eq(recv_from(&w, &w.tcp, 1, SRC_PORT, a + len / 2, len - len / 2), 0);
  ck_assert_uint_eq(w.tcp.nsent, 2);
  ck_assert_uint_eq(w.tcp.sent[1].conn, 1);
  rsp = sent_parse(&w.tcp, 1);
  check_reply_fields(rsp, 501, "conn-a@h", 1, "OPTIONS");
  sipsrv_msg_free(rsp);
  world_fini(&w);
}
END_TEST

START_TEST(io_tcp_many_conns)
{
  world w;
  char a[1024];
  size_t len;

  world_init(&w);
  build_req(a, sizeof a, "OPTIONS", VIA_TCP, "many@h", NULL);
  len = strlen(a);
  /* More connections than the first table holds, each with a partial
   * message; then close half of them and free the core with the rest. */
  for (uint64_t id = 1; id <= 300; id++)
    ck_assert_int_eq(recv_from(&w, &w.tcp, id, SRC_PORT, a, len - 1), 0);
  for (uint64_t id = 1; id <= 300; id += 2)
    ck_assert_int_eq(sipsrv_core_conn_closed(w.core, w.tcp.tp, id), 0);
  ck_assert_uint_eq(w.tcp.send_calls, 0);
  /* The survivors still hold their bytes. */
  ck_assert_int_eq(recv_from(&w, &w.tcp, 2, SRC_PORT, a + len - 1, 1), 0);
  ck_assert_uint_eq(w.tcp.nsent, 1);
  ck_assert_uint_eq(w.tcp.sent[0].conn, 2);
  ck_assert_int_eq(recv_from(&w, &w.tcp, 1, SRC_PORT, a + len - 1, 1), 0);
  ck_assert_uint_eq(w.tcp.nsent, 1);
  world_fini(&w);
}
END_TEST

START_TEST(io_conn_closed_bad_args)
{
  world w;

  world_init(&w);
  ck_assert_int_eq(sipsrv_core_conn_closed(NULL, w.tcp.tp, 1), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_conn_closed(w.core, NULL, 1), SIPSRV_E_INVAL);
  /* An unknown connection, or a datagram transport: nothing to do. */
  ck_assert_int_eq(sipsrv_core_conn_closed(w.core, w.tcp.tp, 77), 0);
  ck_assert_int_eq(sipsrv_core_conn_closed(w.core, w.udp.tp, 0), 0);
  world_fini(&w);
}
END_TEST

/* ---- freeing a busy core ------------------------------------------------------- */

START_TEST(io_free_busy_core)
{
  world w;
  test_role r;
  char inv[1024], opt[1024], part[1024];

  world_init(&w);
  role_attach(&w, &r);
  /* A Completed INVITE transaction with Timer G armed, a Completed
   * non-INVITE one, an open TCP connection with half a message, a second
   * with a whole message answered, and the registered transports. */
  build_req(inv, sizeof inv, "INVITE", VIA_INV, "busy-inv@h", NULL);
  build_req(opt, sizeof opt, "OPTIONS", VIA_UDP, "busy-opt@h", NULL);
  build_req(part, sizeof part, "OPTIONS", VIA_TCP, "busy-tcp@h", NULL);
  ck_assert_int_eq(recv_udp(&w, inv), 0);
  ck_assert_int_eq(recv_udp(&w, opt), 0);
  ck_assert_int_eq(recv_from(&w, &w.tcp, 21, SRC_PORT, part, strlen(part) - 5), 0);
  ck_assert_int_eq(recv_tcp(&w, 22, part), 0);
  ck_assert_uint_eq(w.udp.nsent, 2);
  ck_assert_uint_eq(w.tcp.nsent, 1);
  ck_assert_uint_eq(ss_txn_layer_count(ss_core_txn_layer(ss_core_txn_of(w.core))), 3);
  /* world_fini frees the core with all of it live (valgrind checks). */
  world_fini(&w);
}
END_TEST

START_TEST(io_free_null)
{
  sipsrv_core_free(NULL);
}
END_TEST

/* ---- suite --------------------------------------------------------------------- */

/* RFC 5923 5: a request over a connection whose top Via has "alias" lets a
 * request to its sent-by go over that connection; without alias a new one is
 * opened (conn 0 to the transport). */
START_TEST(io_tcp_alias_reuse)
{
  world w;
  char req[1024];
  sipsrv_msg *out;
  sipsrv_verdict v;
  ss_peer peer;
  struct sockaddr_in dst = addr4("127.0.0.1", 5071);
  uint64_t conn_alias = 0, conn_plain = 1;
  static const char bye[] = "BYE sip:alice@127.0.0.1:5071 SIP/2.0\r\n"
                            "Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKalias1\r\n"
                            "From: <sip:service@127.0.0.1>;tag=s1\r\nTo: <sip:alice@example.com>;tag=fa1\r\n"
                            "Call-ID: alias1\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";

  memset(&peer, 0, sizeof peer);
  memcpy(&peer.addr, &dst, sizeof dst);
  peer.addrlen = sizeof dst;
  peer.reliable = true;
  for (int with_alias = 1; with_alias >= 0; with_alias--) {
    world_init(&w);
    peer.transport = w.tcp.tp;
    build_req(req, sizeof req, "OPTIONS",
              with_alias ? "SIP/2.0/TCP 127.0.0.1:5071;branch=z9hG4bKa1;alias"
                         : "SIP/2.0/TCP 127.0.0.1:5071;branch=z9hG4bKa1",
              "alias-cid", NULL);
    ck_assert_int_eq(recv_tcp(&w, 7, req), 0);   /* answered 501 on conn 7 */
    ck_assert_int_eq(sipsrv_msg_parse(&out, bye, sizeof bye - 1, 0, &v), 0);
    fake_reset(&w.tcp);
    ck_assert_int_eq(ss_core_send(w.core, &peer, out), 0);
    ck_assert_uint_eq(w.tcp.nsent, 1);
    if (with_alias)
      conn_alias = w.tcp.sent[0].conn;
    else
      conn_plain = w.tcp.sent[0].conn;
    sipsrv_msg_free(out);
    world_fini(&w);
  }
  ck_assert_uint_eq(conn_alias, 7);
  ck_assert_uint_eq(conn_plain, 0);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("io");
  TCase *tc;

  tc = tcase_create("addtp");
  tcase_add_test(tc, io_sockaddr_make);
  tcase_add_test(tc, io_addtp_null_args);
  tcase_add_test(tc, io_addtp_bad_version);
  tcase_add_test(tc, io_addtp_bad_fields);
  tcase_add_test(tc, io_addtp_host_copied);
  tcase_add_test(tc, io_response_via_ipv6_ours);
  suite_add_tcase(s, tc);

  tc = tcase_create("recv");
  tcase_add_test(tc, io_recv_bad_args);
  tcase_add_test(tc, io_recv_no_clock);
  tcase_add_test(tc, io_recv_other_core_tp);
  tcase_add_test(tc, io_recv_empty_and_garbage);
  suite_add_tcase(s, tc);

  tc = tcase_create("noroles");
  tcase_add_test(tc, io_noroles_options_501);
  tcase_add_test(tc, io_noroles_ack_nothing);
  tcase_add_test(tc, io_noroles_send_fails);
  suite_add_tcase(s, tc);

  tc = tcase_create("via");
  tcase_add_test(tc, io_via_received_hostname);
  tcase_add_test(tc, io_via_received_other_ip);
  tcase_add_test(tc, io_via_same_ip_no_received);
  tcase_add_test(tc, io_via_rport);
  tcase_add_test(tc, io_via_ipv6);
  tcase_add_test(tc, io_via_maddr);
  suite_add_tcase(s, tc);

  tc = tcase_create("malformed");
  tcase_add_test(tc, io_malformed_badvers_505);
  tcase_add_test(tc, io_malformed_sip3_505);
  tcase_add_test(tc, io_malformed_no_callid_400);
  tcase_add_test(tc, io_malformed_ack_no_answer);
  tcase_add_test(tc, io_malformed_response_dropped);
  suite_add_tcase(s, tc);

  tc = tcase_create("tcp");
  tcase_add_test(tc, io_tcp_two_in_one);
  tcase_add_test(tc, io_tcp_alias_reuse);
  tcase_add_test(tc, io_tcp_split_three);
  tcase_add_test(tc, io_tcp_body_split);
  tcase_add_test(tc, io_tcp_keepalive);
  tcase_add_test(tc, io_tcp_two_content_length);
  tcase_add_test(tc, io_tcp_error_after_good);
  tcase_add_test(tc, io_tcp_content_length_too_large);
  tcase_add_test(tc, io_tcp_head_too_large);
  tcase_add_test(tc, io_tcp_close_reenters);
  tcase_add_test(tc, io_tcp_send_fail_closes);
  tcase_add_test(tc, io_tcp_conn_closed_drops_partial);
  tcase_add_test(tc, io_tcp_conns_independent);
  tcase_add_test(tc, io_tcp_many_conns);
  tcase_add_test(tc, io_conn_closed_bad_args);
  suite_add_tcase(s, tc);

  tc = tcase_create("txn");
  tcase_add_test(tc, io_txn_invite_486_timer_g);
  tcase_add_test(tc, io_txn_invite_timer_h);
  tcase_add_test(tc, io_txn_options_200_retransmit);
  tcase_add_test(tc, io_txn_unclaimed_501);
  tcase_add_test(tc, io_txn_ack_unmatched);
  tcase_add_test(tc, io_txn_stray_response);
  tcase_add_test(tc, io_txn_tcp_no_retransmit);
  tcase_add_test(tc, io_txn_send_fails);
  suite_add_tcase(s, tc);

  tc = tcase_create("timer");
  tcase_add_test(tc, io_timer_custom_t1);
  tcase_add_test(tc, io_timer_bad_cfg);
  tcase_add_test(tc, io_timeout_bad_args);
  tcase_add_test(tc, io_expire_no_clock);
  suite_add_tcase(s, tc);

  tc = tcase_create("free");
  tcase_add_test(tc, io_free_busy_core);
  tcase_add_test(tc, io_free_null);
  suite_add_tcase(s, tc);

  return s;
}

int main(void)
{
  return harness_run(suite());
}
