/* The transaction layer (lib/txn): the four machines of RFC 3261 17 with
 * every timer of table 4 asserted at its exact time, RFC 6026's Accepted
 * state (Timers L and M), RFC 4320's rules for responses to non-INVITE
 * requests, matching (RFC 3261 17.1.3, 17.2.3, 9.2), transport errors,
 * argument errors and freeing.
 *
 * A fake TU records every callback and every message the layer sends (as
 * bytes, with the time and the peer). The test owns the clock and the timer
 * heap: advance() walks the clock from one deadline to the next, so each
 * timer fires at its exact time and nothing sleeps. Times are asserted
 * relative to BASE, an arbitrary non-zero epoch. */
#include <check.h>

#include "harness.h"

#include <sipsrv/error.h>
#include <sipsrv/msg.h>

#include "core/timer.h"
#include "msg/msg_int.h"
#include "txn/txn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 3261 17.1.1.1 and table 4: the defaults of SS_TXN_CFG_DEFAULT. */
#define T1 500u
#define T2 4000u
#define T4 5000u
#define T64 (64u * T1)          /* Timers B, F, H, J (UDP), L, M */
#define TD 32000u               /* Timer D over UDP: more than 32 s */

#define BASE 1000000u           /* the clock's epoch: 0 in every assertion */
#define MAXREC 256

/* ---- the fake TU ------------------------------------------------------- */

typedef struct sent {
  char *data;                   /* the serialized message, NUL-terminated */
  size_t len;
  uint64_t at;                  /* relative to BASE */
  bool reliable;                /* of the peer it went to */
  uint64_t conn;
} sent;

typedef struct fx {
  tclock clk;
  ss_timers ts;
  ss_txn_layer *l;
  ss_txn_tu tu;

  sent *sent;                   /* what send() was given, in order */
  size_t nsent, capsent;
  unsigned send_calls;          /* failed ones included */
  bool fail_send;               /* send() returns -1 */

  ss_txn *req_txn[MAXREC];      /* request(): the new server transactions */
  sipsrv_msg *req_copy[MAXREC]; /* and a copy of each one's request (a TU's own:
                                   the transaction drops its copy once Completed
                                   and unowned) */
  size_t nreq;
  int answer;                   /* request() answers at once with this status, 0 none */
  int answer_rc;                /* what ss_txn_respond returned then */

  ss_txn *ack_txn[MAXREC];      /* ack(): the IST, or NULL */
  char ack_branch[MAXREC][64];
  size_t nack;

  ss_txn *rsp_txn[MAXREC];      /* response() */
  int rsp_status[MAXREC];
  uint64_t rsp_at[MAXREC];
  size_t nrsp;

  int stray_status[MAXREC];     /* stray_response() */
  size_t nstray;

  ss_txn *timeout_txn[MAXREC];  /* timeout() */
  uint64_t timeout_at[MAXREC];
  size_t ntimeout;

  ss_txn *err_txn[MAXREC];      /* transport_error() */
  size_t nerr;

  ss_txn *term_txn[MAXREC];     /* terminated() */
  ss_txn_kind term_kind[MAXREC];
  uint64_t term_at[MAXREC];
  size_t nterm;

  /* One letter per callback, in order: Q request, A ack, R response,
   * S stray, T timeout, E transport error, X terminated. */
  char ev[1024];
  size_t nev;
} fx;

static fx F;

static uint64_t now_rel(void)
{
  return F.clk.now_ms - BASE;
}

static void event(char c)
{
  ck_assert_uint_lt(F.nev + 1, sizeof F.ev);
  F.ev[F.nev++] = c;
  F.ev[F.nev] = '\0';
}

static void tu_request(void *user, ss_txn *st, sipsrv_msg *req)
{
  fx *f = user;
  ck_assert_ptr_eq(f, &F);
  ck_assert_uint_lt(f->nreq, MAXREC);
  ck_assert_ptr_eq(ss_txn_request_msg(st), req);
  f->req_copy[f->nreq] = ss_msg_dup(req);
  ck_assert_ptr_nonnull(f->req_copy[f->nreq]);
  f->req_txn[f->nreq++] = st;
  event('Q');
  if (f->answer) {
    sipsrv_msg *rsp = NULL;
    ck_assert_int_eq(sipsrv_msg_reply(&rsp, req, f->answer, NULL, NULL), 0);
    f->answer_rc = ss_txn_respond(st, rsp);
  }
}

static void tu_ack(void *user, ss_txn *ist, sipsrv_msg *ack, const ss_peer *src)
{
  fx *f = user;
  sipsrv_via v;
  ck_assert_ptr_eq(f, &F);
  ck_assert_ptr_nonnull(src);
  ck_assert_uint_lt(f->nack, MAXREC);
  ck_assert_int_eq(sipsrv_msg_method(ack), SIPSRV_METHOD_ACK);
  ck_assert_int_eq(sipsrv_msg_via(ack, 0, &v), 0);
  snprintf(f->ack_branch[f->nack], sizeof f->ack_branch[0], "%s", v.branch ? v.branch : "");
  f->ack_txn[f->nack++] = ist;
  event('A');
  sipsrv_msg_free(ack);                  /* the TU takes it */
}

static void tu_response(void *user, ss_txn *ct, sipsrv_msg *rsp)
{
  fx *f = user;
  ck_assert_ptr_eq(f, &F);
  ck_assert_uint_lt(f->nrsp, MAXREC);
  f->rsp_txn[f->nrsp] = ct;
  f->rsp_status[f->nrsp] = sipsrv_msg_status(rsp);
  f->rsp_at[f->nrsp++] = now_rel();
  event('R');                            /* borrowed: not freed */
}

static void tu_stray(void *user, sipsrv_msg *rsp, const ss_peer *src)
{
  fx *f = user;
  ck_assert_ptr_eq(f, &F);
  ck_assert_ptr_nonnull(src);
  ck_assert_uint_lt(f->nstray, MAXREC);
  f->stray_status[f->nstray++] = sipsrv_msg_status(rsp);
  event('S');
  sipsrv_msg_free(rsp);                  /* the TU takes it */
}

static void tu_timeout(void *user, ss_txn *t)
{
  fx *f = user;
  ck_assert_uint_lt(f->ntimeout, MAXREC);
  f->timeout_txn[f->ntimeout] = t;
  f->timeout_at[f->ntimeout++] = now_rel();
  event('T');
}

static void tu_transport_error(void *user, ss_txn *t)
{
  fx *f = user;
  ck_assert_uint_lt(f->nerr, MAXREC);
  f->err_txn[f->nerr++] = t;
  event('E');
}

static void tu_terminated(void *user, ss_txn *t)
{
  fx *f = user;
  ck_assert_uint_lt(f->nterm, MAXREC);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_TERMINATED);
  f->term_txn[f->nterm] = t;
  f->term_kind[f->nterm] = ss_txn_kind_of(t);
  f->term_at[f->nterm++] = now_rel();
  event('X');
}

static int tu_send(void *user, const ss_peer *peer, sipsrv_msg *m)
{
  fx *f = user;
  long n;
  char *buf;

  ck_assert_ptr_eq(f, &F);
  ck_assert_ptr_nonnull(peer);
  f->send_calls++;
  if (f->fail_send)
    return -1;
  n = sipsrv_msg_serialize(m, NULL, 0);
  ck_assert_int_gt(n, 0);
  buf = malloc((size_t)n + 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_int_eq(sipsrv_msg_serialize(m, buf, (size_t)n), n);
  buf[n] = '\0';
  if (f->nsent == f->capsent) {
    size_t cap = f->capsent ? 2 * f->capsent : 16;
    sent *s = realloc(f->sent, cap * sizeof *s);
    ck_assert_ptr_nonnull(s);
    f->sent = s;
    f->capsent = cap;
  }
  f->sent[f->nsent].data = buf;
  f->sent[f->nsent].len = (size_t)n;
  f->sent[f->nsent].at = now_rel();
  f->sent[f->nsent].reliable = peer->reliable;
  f->sent[f->nsent].conn = peer->conn;
  f->nsent++;
  return 0;
}

static uint64_t tu_now(void *user)
{
  return tclock_now(&((fx *)user)->clk);
}

/* ---- fixture ------------------------------------------------------------ */

static void new_layer(const ss_txn_cfg *cfg)
{
  ss_txn_layer_free(F.l);
  F.l = NULL;
  ck_assert_int_eq(ss_txn_layer_new(&F.l, NULL, &F.ts, cfg, &F.tu), 0);
  ck_assert_ptr_nonnull(F.l);
}

static void setup(void)
{
  static const ss_txn_cfg cfg = SS_TXN_CFG_DEFAULT;
  memset(&F, 0, sizeof F);
  F.clk.now_ms = BASE;
  ss_timers_init(&F.ts, NULL);
  F.tu.request = tu_request;
  F.tu.ack = tu_ack;
  F.tu.response = tu_response;
  F.tu.stray_response = tu_stray;
  F.tu.timeout = tu_timeout;
  F.tu.transport_error = tu_transport_error;
  F.tu.terminated = tu_terminated;
  F.tu.send = tu_send;
  F.tu.now = tu_now;
  F.tu.user = &F;
  new_layer(&cfg);
}

static void teardown(void)
{
  ss_txn_layer_free(F.l);
  ss_timers_fini(&F.ts);
  for (size_t i = 0; i < F.nreq; i++)
    sipsrv_msg_free(F.req_copy[i]);
  for (size_t i = 0; i < F.nsent; i++)
    free(F.sent[i].data);
  free(F.sent);
  memset(&F, 0, sizeof F);
}

/* Move the clock forward by ms, stopping at every deadline on the way so
 * that each timer fires at its exact time; reap after each expire. */
static void advance(uint64_t ms)
{
  uint64_t end = F.clk.now_ms + ms, when;
  while (ss_timers_next(&F.ts, &when) == 0 && when <= end) {
    if (when > F.clk.now_ms)
      F.clk.now_ms = when;
    ss_timers_expire(&F.ts, F.clk.now_ms);
    ss_txn_layer_reap(F.l);
  }
  F.clk.now_ms = end;
}

/* Advance to a time relative to BASE. */
static void advance_to(uint64_t rel)
{
  ck_assert_uint_ge(rel, now_rel());
  advance(rel - now_rel());
}

/* ---- messages ------------------------------------------------------------ */

/* What a request is made of; responses to it reuse its fields. */
typedef struct rq {
  const char *method;
  const char *ruri;
  const char *sentby;           /* of the top Via */
  const char *branch;           /* NULL: no branch (RFC 2543) */
  const char *callid;
  const char *from_tag;
  const char *to_tag;           /* NULL: none */
  unsigned cseq;
  const char *vias;             /* Via lines under the top one, CRLF-ended */
  const char *headers;          /* more header lines (requests only), CRLF-ended */
} rq;

static rq rq_new(const char *method, const char *branch)
{
  rq r = { method, "sip:bob@example.com", "client.example.com:5060", branch,
           "a84b4c76e66710@client.example.com", "1928301774", NULL, 1, "", "" };
  return r;
}

/* The ACK of r (same Via, CSeq number, Request-URI) with To tag to_tag. */
static rq rq_ack(const rq *inv, const char *to_tag)
{
  rq a = *inv;
  a.method = "ACK";
  a.to_tag = to_tag;
  a.headers = "";
  return a;
}

static sipsrv_msg *parse_bytes(const char *data, size_t len)
{
  sipsrv_msg *m = NULL;
  sipsrv_verdict v;
  ck_assert_int_eq(sipsrv_msg_parse(&m, data, len, 0, &v), 0);
  ck_assert_msg(v.action == SIPSRV_ACCEPT, "verdict %d (%d %s) for:\n%s", (int)v.action, v.status,
                v.phrase, data);
  ck_assert_ptr_nonnull(m);
  return m;
}

static sipsrv_msg *mkreq(const rq *r)
{
  char buf[2048];
  int n = snprintf(buf, sizeof buf,
                   "%s %s SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP %s%s%s\r\n"
                   "%s"
                   "Max-Forwards: 70\r\n"
                   "From: Alice <sip:alice@example.com>;tag=%s\r\n"
                   "To: Bob <sip:bob@example.com>%s%s\r\n"
                   "Call-ID: %s\r\n"
                   "CSeq: %u %s\r\n"
                   "%s"
                   "Content-Length: 0\r\n"
                   "\r\n",
                   r->method, r->ruri, r->sentby, r->branch ? ";branch=" : "",
                   r->branch ? r->branch : "", r->vias, r->from_tag, r->to_tag ? ";tag=" : "",
                   r->to_tag ? r->to_tag : "", r->callid, r->cseq, r->method, r->headers);
  ck_assert(n > 0 && (size_t)n < sizeof buf);
  return parse_bytes(buf, (size_t)n);
}

/* A response to the request r (its Vias, From, Call-ID and CSeq). */
static sipsrv_msg *mkrsp(const rq *r, int status, const char *to_tag)
{
  char buf[2048];
  int n = snprintf(buf, sizeof buf,
                   "SIP/2.0 %d %s\r\n"
                   "Via: SIP/2.0/UDP %s%s%s\r\n"
                   "%s"
                   "From: Alice <sip:alice@example.com>;tag=%s\r\n"
                   "To: Bob <sip:bob@example.com>%s%s\r\n"
                   "Call-ID: %s\r\n"
                   "CSeq: %u %s\r\n"
                   "Content-Length: 0\r\n"
                   "\r\n",
                   status, sipsrv_status_phrase(status), r->sentby, r->branch ? ";branch=" : "",
                   r->branch ? r->branch : "", r->vias, r->from_tag, to_tag ? ";tag=" : "",
                   to_tag ? to_tag : "", r->callid, r->cseq, r->method);
  ck_assert(n > 0 && (size_t)n < sizeof buf);
  return parse_bytes(buf, (size_t)n);
}

static ss_peer mkpeer(bool reliable)
{
  ss_peer p;
  struct sockaddr_in sin;
  memset(&p, 0, sizeof p);
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(5060);
  sin.sin_addr.s_addr = htonl(0xC0000201);       /* 192.0.2.1 */
  memcpy(&p.addr, &sin, sizeof sin);
  p.addrlen = sizeof sin;
  p.reliable = reliable;
  p.conn = reliable ? 7 : 0;
  return p;
}

/* Start a client transaction for r. */
static ss_txn *client(const rq *r, bool reliable)
{
  ss_txn *t = NULL;
  ss_peer p = mkpeer(reliable);
  ck_assert_int_eq(ss_txn_request(F.l, &t, mkreq(r), &p, NULL), 0);
  ck_assert_ptr_nonnull(t);
  return t;
}

static void recv_req(const rq *r, bool reliable)
{
  ss_peer p = mkpeer(reliable);
  ss_txn_recv(F.l, mkreq(r), &p);
}

static void recv_rsp(const rq *r, int status, const char *to_tag, bool reliable)
{
  ss_peer p = mkpeer(reliable);
  ss_txn_recv(F.l, mkrsp(r, status, to_tag), &p);
}

/* Receive r, which must make a new server transaction; return it. */
static ss_txn *server(const rq *r, bool reliable)
{
  size_t before = F.nreq;
  recv_req(r, reliable);
  ck_assert_uint_eq(F.nreq, before + 1);
  return F.req_txn[before];
}

/* The TU answers st with a response built from its request (the TU's copy). */
static int respond(ss_txn *st, int status)
{
  sipsrv_msg *rsp = NULL;
  const sipsrv_msg *req = NULL;
  for (size_t i = 0; i < F.nreq; i++)
    if (F.req_txn[i] == st)
      req = F.req_copy[i];
  ck_assert_ptr_nonnull(req);
  ck_assert_int_eq(sipsrv_msg_reply(&rsp, req, status, NULL, NULL), 0);
  return ss_txn_respond(st, rsp);
}


/* ---- what was sent ----------------------------------------------------- */

static bool sent_starts(size_t i, const char *prefix)
{
  ck_assert_uint_lt(i, F.nsent);
  return strncmp(F.sent[i].data, prefix, strlen(prefix)) == 0;
}

/* The status of sent message i, 0 for a request. */
static int sent_status(size_t i)
{
  return sent_starts(i, "SIP/2.0 ") ? atoi(F.sent[i].data + 8) : 0;
}

static bool sent_same(size_t i, size_t j)
{
  ck_assert_uint_lt(i, F.nsent);
  ck_assert_uint_lt(j, F.nsent);
  return F.sent[i].len == F.sent[j].len && memcmp(F.sent[i].data, F.sent[j].data, F.sent[i].len) == 0;
}

static sipsrv_msg *parse_sent(size_t i)
{
  ck_assert_uint_lt(i, F.nsent);
  return parse_bytes(F.sent[i].data, F.sent[i].len);
}

/* The To tag of sent message i. */
static void sent_to_tag(size_t i, char *buf, size_t size)
{
  sipsrv_msg *m = parse_sent(i);
  sipsrv_addr a;
  ck_assert_int_eq(sipsrv_msg_to(m, &a), 0);
  ck_assert_ptr_nonnull(a.tag);
  snprintf(buf, size, "%s", a.tag);
  sipsrv_msg_free(m);
}

static void check_times(const uint64_t *expect, size_t n)
{
  for (size_t i = 0; i < n && i < F.nsent; i++)
    ck_assert_msg(F.sent[i].at == expect[i], "send %zu at %llu ms, expected %llu ms", i,
                  (unsigned long long)F.sent[i].at, (unsigned long long)expect[i]);
  ck_assert_msg(F.nsent == n, "%zu sends, expected %zu (last at %llu ms)", F.nsent, n,
                F.nsent ? (unsigned long long)F.sent[F.nsent - 1].at : 0ULL);
}

/* Exactly these sends, at these times (ms after BASE). */
#define CHECK_SENDS_AT(...)                                                  \
  do {                                                                       \
    static const uint64_t expect_[] = { __VA_ARGS__ };                       \
    check_times(expect_, sizeof expect_ / sizeof expect_[0]);                \
  } while (0)

/* Every sent message from `from` on is a copy of message `first`. */
static void check_all_same(size_t first, size_t from)
{
  for (size_t i = from; i < F.nsent; i++)
    ck_assert_msg(sent_same(first, i), "send %zu differs from send %zu", i, first);
}

/* ---- layer: construction ------------------------------------------------- */

START_TEST(txn_layer_new_invalid)
{
  ss_txn_layer *l = NULL;
  ss_txn_cfg cfg = SS_TXN_CFG_DEFAULT, bad;
  ss_txn_tu tu = F.tu;

  ck_assert_int_eq(ss_txn_layer_new(&l, NULL, &F.ts, &cfg, NULL), SIPSRV_E_INVAL);
  tu.send = NULL;
  ck_assert_int_eq(ss_txn_layer_new(&l, NULL, &F.ts, &cfg, &tu), SIPSRV_E_INVAL);
  tu = F.tu;
  tu.now = NULL;
  ck_assert_int_eq(ss_txn_layer_new(&l, NULL, &F.ts, &cfg, &tu), SIPSRV_E_INVAL);
  ck_assert_int_eq(ss_txn_layer_new(NULL, NULL, &F.ts, &cfg, &F.tu), SIPSRV_E_INVAL);
  ck_assert_int_eq(ss_txn_layer_new(&l, NULL, NULL, &cfg, &F.tu), SIPSRV_E_INVAL);
  bad = cfg;
  bad.t2 = bad.t1 - 1;                   /* T2 below T1 */
  ck_assert_int_eq(ss_txn_layer_new(&l, NULL, &F.ts, &bad, &F.tu), SIPSRV_E_INVAL);
  bad = cfg;
  bad.t1 = 0;
  ck_assert_int_eq(ss_txn_layer_new(&l, NULL, &F.ts, &bad, &F.tu), SIPSRV_E_INVAL);
  bad = cfg;
  bad.t4 = 0;
  ck_assert_int_eq(ss_txn_layer_new(&l, NULL, &F.ts, &bad, &F.tu), SIPSRV_E_INVAL);
  ck_assert_ptr_null(l);                 /* never written on failure */

  /* T2 equal to T1 is allowed, and a NULL cfg means the defaults. */
  bad = cfg;
  bad.t2 = bad.t1;
  ck_assert_int_eq(ss_txn_layer_new(&l, NULL, &F.ts, &bad, &F.tu), 0);
  ss_txn_layer_free(l);
  l = NULL;
  ck_assert_int_eq(ss_txn_layer_new(&l, NULL, &F.ts, NULL, &F.tu), 0);
  ck_assert_uint_eq(ss_txn_layer_count(l), 0);
  ss_txn_layer_free(l);
}
END_TEST

/* Every callback but send and now may be NULL: messages the TU would take
 * are then freed by the layer (valgrind checks), nothing crashes. */
START_TEST(txn_layer_minimal_tu)
{
  ss_txn_tu tu;
  ss_txn_layer *l = NULL;
  ss_peer p = mkpeer(false);
  rq inv = rq_new("INVITE", "z9hG4bKmin1"), opt = rq_new("OPTIONS", "z9hG4bKmin2");
  rq srv = rq_new("INVITE", "z9hG4bKmin3"), ack2xx = rq_ack(&srv, "x");
  ss_txn *t = NULL;

  memset(&tu, 0, sizeof tu);
  tu.send = tu_send;
  tu.now = tu_now;
  tu.user = &F;
  ss_txn_layer_free(F.l);
  F.l = NULL;
  ck_assert_int_eq(ss_txn_layer_new(&l, NULL, &F.ts, NULL, &tu), 0);
  F.l = l;

  ck_assert_int_eq(ss_txn_request(l, &t, mkreq(&inv), &p, NULL), 0);
  ck_assert_int_eq(ss_txn_request(l, &t, mkreq(&opt), &p, NULL), 0);
  ss_txn_recv(l, mkrsp(&inv, 180, "r"), &p);           /* response() NULL */
  ss_txn_recv(l, mkreq(&srv), &p);                     /* request() NULL */
  ack2xx.branch = "z9hG4bKother";
  ss_txn_recv(l, mkreq(&ack2xx), &p);                  /* ack() NULL */
  {
    rq stray = rq_new("OPTIONS", "z9hG4bKnobody");
    ss_txn_recv(l, mkrsp(&stray, 200, "s"), &p);       /* stray_response() NULL */
  }
  ck_assert_uint_eq(ss_txn_layer_count(l), 3);
  advance(100000);                                     /* timeout(), terminated() NULL */
  /* Left: the ICT in Proceeding and the IST nobody answered (RFC 3261 has
   * no timer for either; the TU's Timer C or its answer ends them). */
  ck_assert_uint_eq(ss_txn_layer_count(l), 2);
  ck_assert_uint_eq(F.nev, 0);
}
END_TEST

/* ---- api: accessors -------------------------------------------------- */

START_TEST(txn_api_accessors)
{
  int owner1, owner2;
  ss_peer p = mkpeer(true);
  rq r = rq_new("INVITE", "z9hG4bKacc");
  ss_txn *t = NULL;

  ck_assert_int_eq(ss_txn_request(F.l, &t, mkreq(&r), &p, &owner1), 0);
  ck_assert_int_eq(ss_txn_kind_of(t), SS_TXN_ICT);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_CALLING);
  ck_assert_ptr_eq(ss_txn_owner(t), &owner1);
  ss_txn_set_owner(t, &owner2);
  ck_assert_ptr_eq(ss_txn_owner(t), &owner2);
  ck_assert_int_eq(ss_txn_status(t), 0);
  ck_assert_int_eq(sipsrv_msg_method(ss_txn_request_msg(t)), SIPSRV_METHOD_INVITE);
  ck_assert(ss_txn_peer(t)->reliable);
  ck_assert_uint_eq(ss_txn_peer(t)->conn, 7);
  ck_assert_int_eq(memcmp(&ss_txn_peer(t)->addr, &p.addr, p.addrlen), 0);
  ck_assert_uint_eq(F.nsent, 1);
  ck_assert(F.sent[0].reliable);
  ck_assert_uint_eq(F.sent[0].conn, 7);
  recv_rsp(&r, 183, "x", true);
  ck_assert_int_eq(ss_txn_status(t), 183);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 1);
  ck_assert_uint_eq(ss_txn_layer_count(NULL), 0);
}
END_TEST

START_TEST(txn_api_state_names)
{
  ck_assert_str_eq(ss_txn_state_name(SS_TXN_CALLING), "calling");
  ck_assert_str_eq(ss_txn_state_name(SS_TXN_TRYING), "trying");
  ck_assert_str_eq(ss_txn_state_name(SS_TXN_PROCEEDING), "proceeding");
  ck_assert_str_eq(ss_txn_state_name(SS_TXN_COMPLETED), "completed");
  ck_assert_str_eq(ss_txn_state_name(SS_TXN_CONFIRMED), "confirmed");
  ck_assert_str_eq(ss_txn_state_name(SS_TXN_ACCEPTED), "accepted");
  ck_assert_str_eq(ss_txn_state_name(SS_TXN_TERMINATED), "terminated");
  ck_assert_str_eq(ss_txn_state_name((ss_txn_state)99), "?");
}
END_TEST

/* ---- ict: INVITE client transaction (RFC 3261 17.1.1, RFC 6026 7.2) ---- */

/* 17.1.1.2: Timer A starts at T1 and doubles, with no T2 cap, in Calling. */
START_TEST(txn_ict_udp_timer_a)
{
  rq r = rq_new("INVITE", "z9hG4bKicta");
  ss_txn *t = client(&r, false);

  ck_assert_int_eq(ss_txn_kind_of(t), SS_TXN_ICT);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_CALLING);
  advance_to(T64 - 1);
  CHECK_SENDS_AT(0, T1, 3 * T1, 7 * T1, 15 * T1, 31 * T1, 63 * T1);
  ck_assert(sent_starts(0, "INVITE sip:bob@example.com SIP/2.0\r\n"));
  check_all_same(0, 1);
  ck_assert(!F.sent[0].reliable);
  ck_assert_uint_eq(F.ntimeout, 0);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_CALLING);
}
END_TEST

/* 17.1.1.2: Timer B (64*T1) in Calling: one timeout, then terminated, and
 * nothing more is sent. */
START_TEST(txn_ict_udp_timer_b)
{
  rq r = rq_new("INVITE", "z9hG4bKictb");
  ss_txn *t = client(&r, false);

  advance_to(T64 - 1);
  ck_assert_uint_eq(F.ntimeout, 0);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 1);
  advance(1);
  ck_assert_uint_eq(F.ntimeout, 1);
  ck_assert_ptr_eq(F.timeout_txn[0], t);
  ck_assert_uint_eq(F.timeout_at[0], T64);
  ck_assert_str_eq(F.ev, "TX");
  ck_assert_ptr_eq(F.term_txn[0], t);
  ck_assert_uint_eq(F.term_at[0], T64);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 0);
  advance(10 * T64);
  ck_assert_uint_eq(F.nsent, 7);
  ck_assert_uint_eq(F.send_calls, 7);
  ck_assert_str_eq(F.ev, "TX");
}
END_TEST

/* 17.1.1.2: a 1xx moves to Proceeding: no more retransmissions and no
 * Timer B; the TU gets the provisional. */
START_TEST(txn_ict_provisional_stops_retransmit)
{
  rq r = rq_new("INVITE", "z9hG4bKict1xx");
  ss_txn *t = client(&r, false);

  advance_to(600);
  recv_rsp(&r, 180, "ring", false);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_PROCEEDING);
  ck_assert_uint_eq(F.nrsp, 1);
  ck_assert_int_eq(F.rsp_status[0], 180);
  ck_assert_ptr_eq(F.rsp_txn[0], t);
  recv_rsp(&r, 183, "ring", false);      /* more provisionals reach the TU too */
  ck_assert_uint_eq(F.nrsp, 2);
  ck_assert_int_eq(F.rsp_status[1], 183);
  advance(10 * T64);
  CHECK_SENDS_AT(0, T1);
  ck_assert_uint_eq(F.ntimeout, 0);
  ck_assert_uint_eq(F.nterm, 0);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_PROCEEDING);
}
END_TEST

/* 17.1.1.3: the ACK of a non-2xx final: Request-URI, Call-ID, From and CSeq
 * number of the INVITE, To of the response, one Via (the INVITE's top one),
 * the INVITE's Route, method ACK. */
START_TEST(txn_ict_486_ack_bytes)
{
  rq r = rq_new("INVITE", "z9hG4bKict486");
  ss_txn *t;
  sipsrv_msg *inv, *ack;
  char a[512], b[512];
  sipsrv_via va;
  sipsrv_addr ta, fa, fi;
  uint32_t seq = 0;
  const char *method = NULL;

  r.cseq = 4711;
  r.vias = "Via: SIP/2.0/UDP lower.example.com;branch=z9hG4bKlower\r\n";
  r.headers = "Route: <sip:proxy.example.com;lr>\r\n";
  t = client(&r, false);
  advance_to(100);
  recv_rsp(&r, 486, "busy1", false);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_COMPLETED);
  ck_assert_int_eq(ss_txn_status(t), 486);
  ck_assert_uint_eq(F.nrsp, 1);
  ck_assert_int_eq(F.rsp_status[0], 486);
  ck_assert_ptr_eq(F.rsp_txn[0], t);
  CHECK_SENDS_AT(0, 100);
  ck_assert(sent_starts(1, "ACK sip:bob@example.com SIP/2.0\r\n"));

  inv = parse_sent(0);
  ack = parse_sent(1);
  ck_assert_int_eq(sipsrv_msg_method(ack), SIPSRV_METHOD_ACK);
  ck_assert_int_gt(sipsrv_msg_request_uri_str(ack, a, sizeof a), 0);
  ck_assert_str_eq(a, "sip:bob@example.com");
  ck_assert_int_eq(sipsrv_msg_via_count(ack), 1);
  ck_assert_int_gt(sipsrv_msg_header(ack, "Via", 0, a, sizeof a), 0);
  ck_assert_int_gt(sipsrv_msg_header(inv, "Via", 0, b, sizeof b), 0);
  ck_assert_str_eq(a, b);
  ck_assert_int_eq(sipsrv_msg_via(ack, 0, &va), 0);
  ck_assert_str_eq(va.branch, "z9hG4bKict486");
  ck_assert_str_eq(va.host, "client.example.com");
  ck_assert_str_eq(va.port, "5060");
  ck_assert_int_eq(sipsrv_msg_to(ack, &ta), 0);
  ck_assert_str_eq(ta.tag, "busy1");
  ck_assert_int_eq(sipsrv_msg_cseq(ack, &seq, &method), 0);
  ck_assert_uint_eq(seq, 4711);
  ck_assert_str_eq(method, "ACK");
  ck_assert_str_eq(sipsrv_msg_call_id(ack), sipsrv_msg_call_id(inv));
  ck_assert_int_eq(sipsrv_msg_from(ack, &fa), 0);
  ck_assert_int_eq(sipsrv_msg_from(inv, &fi), 0);
  ck_assert_str_eq(fa.tag, fi.tag);
  ck_assert_int_gt(sipsrv_msg_header(ack, "From", 0, a, sizeof a), 0);
  ck_assert_int_gt(sipsrv_msg_header(inv, "From", 0, b, sizeof b), 0);
  ck_assert_str_eq(a, b);
  ck_assert_int_gt(sipsrv_msg_header(ack, "Route", 0, a, sizeof a), 0);
  ck_assert_str_eq(a, "<sip:proxy.example.com;lr>");
  sipsrv_msg_free(inv);
  sipsrv_msg_free(ack);
}
END_TEST

/* 17.1.1.2: a final response in Proceeding also gets its ACK. */
START_TEST(txn_ict_486_in_proceeding)
{
  rq r = rq_new("INVITE", "z9hG4bKictp486");
  ss_txn *t = client(&r, false);

  advance_to(100);
  recv_rsp(&r, 180, "busy2", false);
  advance_to(2000);
  recv_rsp(&r, 486, "busy2", false);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_COMPLETED);
  CHECK_SENDS_AT(0, 2000);
  ck_assert(sent_starts(1, "ACK "));
  ck_assert_uint_eq(F.nrsp, 2);
  ck_assert_int_eq(F.rsp_status[0], 180);
  ck_assert_int_eq(F.rsp_status[1], 486);
}
END_TEST

/* 17.1.1.2: a retransmitted final in Completed is ACKed again and not passed
 * to the TU; Completed sends nothing on its own. */
START_TEST(txn_ict_486_retransmitted)
{
  rq r = rq_new("INVITE", "z9hG4bKictr486");
  ss_txn *t = client(&r, false);

  advance_to(100);
  recv_rsp(&r, 486, "busy3", false);
  advance_to(600);
  recv_rsp(&r, 486, "busy3", false);
  advance_to(5000);
  recv_rsp(&r, 486, "busy3", false);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_COMPLETED);
  CHECK_SENDS_AT(0, 100, 600, 5000);
  ck_assert(sent_starts(1, "ACK "));
  check_all_same(1, 2);
  ck_assert_uint_eq(F.nrsp, 1);
  advance_to(TD);
  ck_assert_uint_eq(F.nsent, 4);
}
END_TEST

/* Timer D: 32 s after the final over UDP, then terminated (no timeout). */
START_TEST(txn_ict_udp_timer_d)
{
  rq r = rq_new("INVITE", "z9hG4bKictd");
  ss_txn *t = client(&r, false);

  advance_to(1000);
  recv_rsp(&r, 486, "busy4", false);
  advance_to(1000 + TD - 1);
  ck_assert_uint_eq(F.nterm, 0);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_COMPLETED);
  advance(1);
  ck_assert_uint_eq(F.nterm, 1);
  ck_assert_ptr_eq(F.term_txn[0], t);
  ck_assert_uint_eq(F.term_at[0], 1000 + TD);
  ck_assert_str_eq(F.ev, "RX");
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 0);
  CHECK_SENDS_AT(0, T1, 1000);
}
END_TEST

/* Timer D is 0 over a reliable transport: terminated at the next expire. */
START_TEST(txn_ict_tcp_timer_d)
{
  rq r = rq_new("INVITE", "z9hG4bKictdtcp");
  ss_txn *t = client(&r, true);

  advance_to(100);
  recv_rsp(&r, 486, "busy5", true);
  CHECK_SENDS_AT(0, 100);
  ck_assert(sent_starts(1, "ACK "));
  ck_assert(F.sent[1].reliable);
  ck_assert_uint_eq(F.nrsp, 1);
  advance(0);
  ck_assert_uint_eq(F.nterm, 1);
  ck_assert_ptr_eq(F.term_txn[0], t);
  ck_assert_uint_eq(F.term_at[0], 100);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 0);
}
END_TEST

/* RFC 6026 7.2: a 2xx moves to Accepted; the TU gets it and every 2xx
 * retransmission; the transaction sends no ACK; Timer M (64*T1) ends it. */
START_TEST(txn_ict_2xx_accepted)
{
  rq r = rq_new("INVITE", "z9hG4bKict2xx");
  ss_txn *t = client(&r, false);

  advance_to(1000);
  recv_rsp(&r, 200, "ok1", false);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_ACCEPTED);
  ck_assert_int_eq(ss_txn_status(t), 200);
  ck_assert_uint_eq(F.nrsp, 1);
  ck_assert_int_eq(F.rsp_status[0], 200);
  advance_to(1500);
  recv_rsp(&r, 200, "ok1", false);
  ck_assert_uint_eq(F.nrsp, 2);
  ck_assert_int_eq(F.rsp_status[1], 200);
  ck_assert_ptr_eq(F.rsp_txn[1], t);
  ck_assert_uint_eq(F.rsp_at[1], 1500);
  advance_to(1000 + T64 - 1);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_ACCEPTED);
  CHECK_SENDS_AT(0, T1);                 /* no ACK, no more INVITEs */
  advance(1);
  ck_assert_uint_eq(F.nterm, 1);
  ck_assert_uint_eq(F.term_at[0], 1000 + T64);
  ck_assert_str_eq(F.ev, "RRX");
  ck_assert_uint_eq(F.nsent, 2);
}
END_TEST

/* A response taken from its bytes (ss_txn_client_find(), 17.1.3: branch and
 * CSeq method; ss_txn_client_status()): the same state changes as a parsed
 * one, and true exactly where the TU would have had it; no TU event. A
 * 3xx-6xx is not taken that way (its ACK needs the parsed response). */
START_TEST(txn_client_status_from_bytes)
{
  rq r = rq_new("INVITE", "z9hG4bKictraw");
  rq o = rq_new("OPTIONS", "z9hG4bKnictraw");
  ss_txn *t = client(&r, false), *n = client(&o, false);

  ck_assert_ptr_eq(ss_txn_client_find(F.l, "z9hG4bKictraw", "INVITE"), t);
  ck_assert_ptr_null(ss_txn_client_find(F.l, "z9hG4bKictraw", "CANCEL"));
  ck_assert_ptr_null(ss_txn_client_find(F.l, "z9hG4bKother", "INVITE"));
  ck_assert_ptr_eq(ss_txn_client_find(F.l, "z9hG4bKnictraw", "OPTIONS"), n);
  ss_txn_hold(F.l);
  ck_assert(!ss_txn_client_status(t, 486));
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_CALLING);
  advance_to(100);
  ck_assert(ss_txn_client_status(t, 180));
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_PROCEEDING);
  ck_assert(ss_txn_client_status(t, 200));
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_ACCEPTED);
  ck_assert(ss_txn_client_status(t, 200));     /* RFC 6026 7.2: to the TU */
  ck_assert(!ss_txn_client_status(t, 180));
  ck_assert(ss_txn_client_status(n, 100));
  ck_assert_int_eq(ss_txn_state_of(n), SS_TXN_PROCEEDING);
  ck_assert(ss_txn_client_status(n, 200));
  ck_assert_int_eq(ss_txn_state_of(n), SS_TXN_COMPLETED);
  ck_assert(!ss_txn_client_status(n, 200));    /* Completed absorbs it */
  ss_txn_release(F.l);
  ck_assert_uint_eq(F.nrsp, 0);
  advance_to(100 + T64);                     /* Timer M; Timer K long since */
  ck_assert_uint_eq(F.nterm, 2);
  CHECK_SENDS_AT(0, 0);                      /* Timer A and E stopped at 100 ms */
}
END_TEST

/* 17.1.1.2: over a reliable transport Timer A is not set, Timer B is. */
START_TEST(txn_ict_tcp_no_retransmit)
{
  rq r = rq_new("INVITE", "z9hG4bKicttcp");
  ss_txn *t = client(&r, true);

  advance_to(T64 - 1);
  CHECK_SENDS_AT(0);
  ck_assert(F.sent[0].reliable);
  ck_assert_uint_eq(F.ntimeout, 0);
  advance(1);
  ck_assert_uint_eq(F.ntimeout, 1);
  ck_assert_ptr_eq(F.timeout_txn[0], t);
  ck_assert_uint_eq(F.timeout_at[0], T64);
  ck_assert_str_eq(F.ev, "TX");
  ck_assert_uint_eq(F.nsent, 1);
}
END_TEST

/* ---- nict: non-INVITE client transaction (RFC 3261 17.1.2) ------------- */

/* 17.1.2.2: Timer E doubles from T1 up to T2, then stays at T2. */
START_TEST(txn_nict_udp_timer_e)
{
  rq r = rq_new("OPTIONS", "z9hG4bKnicte");
  ss_txn *t = client(&r, false);

  ck_assert_int_eq(ss_txn_kind_of(t), SS_TXN_NICT);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_TRYING);
  advance_to(T64 - 1);
  CHECK_SENDS_AT(0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500);
  ck_assert(sent_starts(0, "OPTIONS sip:bob@example.com SIP/2.0\r\n"));
  check_all_same(0, 1);
  ck_assert_uint_eq(F.ntimeout, 0);
}
END_TEST

/* 17.1.2.2: Timer F (64*T1): timeout, terminated, nothing more sent. */
START_TEST(txn_nict_udp_timer_f)
{
  rq r = rq_new("OPTIONS", "z9hG4bKnictf");
  ss_txn *t = client(&r, false);

  advance_to(T64 - 1);
  ck_assert_uint_eq(F.ntimeout, 0);
  advance(1);
  ck_assert_uint_eq(F.ntimeout, 1);
  ck_assert_ptr_eq(F.timeout_txn[0], t);
  ck_assert_uint_eq(F.timeout_at[0], T64);
  ck_assert_str_eq(F.ev, "TX");
  ck_assert_uint_eq(F.term_at[0], T64);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 0);
  advance(10 * T64);
  ck_assert_uint_eq(F.nsent, 11);
  ck_assert_uint_eq(F.send_calls, 11);
}
END_TEST

/* 17.1.2.2: in Proceeding, Timer E fires as armed and is then reset to T2;
 * Timer F still applies. */
START_TEST(txn_nict_provisional_t2)
{
  rq r = rq_new("OPTIONS", "z9hG4bKnictp");
  ss_txn *t = client(&r, false);

  advance_to(600);
  recv_rsp(&r, 100, NULL, false);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_PROCEEDING);
  ck_assert_uint_eq(F.nrsp, 1);
  ck_assert_int_eq(F.rsp_status[0], 100);
  advance_to(T64 - 1);
  CHECK_SENDS_AT(0, 500, 1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500);
  check_all_same(0, 1);
  advance(1);
  ck_assert_uint_eq(F.ntimeout, 1);
  ck_assert_uint_eq(F.timeout_at[0], T64);
  ck_assert_str_eq(F.ev, "RTX");
}
END_TEST

/* 17.1.2.2: a final moves to Completed (TU once, retransmissions absorbed,
 * no more requests), Timer K = T4 over UDP. */
START_TEST(txn_nict_final_completed)
{
  rq r = rq_new("OPTIONS", "z9hG4bKnictc");
  ss_txn *t = client(&r, false);

  advance_to(1000);
  recv_rsp(&r, 200, "ok", false);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_COMPLETED);
  ck_assert_int_eq(ss_txn_status(t), 200);
  ck_assert_uint_eq(F.nrsp, 1);
  ck_assert_ptr_eq(F.rsp_txn[0], t);
  ck_assert_uint_eq(F.rsp_at[0], 1000);
  advance_to(2000);
  recv_rsp(&r, 200, "ok", false);
  recv_rsp(&r, 100, NULL, false);
  ck_assert_uint_eq(F.nrsp, 1);
  ck_assert_uint_eq(F.nstray, 0);
  advance_to(1000 + T4 - 1);
  ck_assert_uint_eq(F.nterm, 0);
  advance(1);
  ck_assert_uint_eq(F.nterm, 1);
  ck_assert_ptr_eq(F.term_txn[0], t);
  ck_assert_uint_eq(F.term_at[0], 1000 + T4);
  ck_assert_str_eq(F.ev, "RX");
  CHECK_SENDS_AT(0, 500);
  ck_assert_uint_eq(F.ntimeout, 0);
}
END_TEST

/* Timer K is 0 over a reliable transport. */
START_TEST(txn_nict_tcp_timer_k)
{
  rq r = rq_new("OPTIONS", "z9hG4bKnictk");
  ss_txn *t = client(&r, true);

  advance_to(100);
  recv_rsp(&r, 404, "nf", true);
  ck_assert_uint_eq(F.nrsp, 1);
  ck_assert_int_eq(F.rsp_status[0], 404);
  advance(0);
  ck_assert_uint_eq(F.nterm, 1);
  ck_assert_ptr_eq(F.term_txn[0], t);
  ck_assert_uint_eq(F.term_at[0], 100);
  CHECK_SENDS_AT(0);
}
END_TEST

/* 17.1.2.2: no Timer E over a reliable transport; Timer F fires. */
START_TEST(txn_nict_tcp_no_retransmit)
{
  rq r = rq_new("OPTIONS", "z9hG4bKnicttcp");
  client(&r, true);

  advance_to(T64 - 1);
  CHECK_SENDS_AT(0);
  ck_assert_uint_eq(F.ntimeout, 0);
  advance(1);
  ck_assert_uint_eq(F.ntimeout, 1);
  ck_assert_uint_eq(F.timeout_at[0], T64);
  ck_assert_str_eq(F.ev, "TX");
}
END_TEST

/* ---- timers: configurable T1, T2, T4 ----------------------------------- */

START_TEST(txn_timers_ict_scaled)
{
  ss_txn_cfg cfg = { 100, 400, 1000, 200 };
  rq r = rq_new("INVITE", "z9hG4bKscaled1"), r2 = rq_new("INVITE", "z9hG4bKscaled2");
  ss_txn *t, *t2;

  new_layer(&cfg);
  t = client(&r, false);
  advance_to(6399);
  CHECK_SENDS_AT(0, 100, 300, 700, 1500, 3100, 6300);   /* A: 100 doubling, no cap */
  ck_assert_uint_eq(F.ntimeout, 0);
  advance(1);
  ck_assert_uint_eq(F.ntimeout, 1);                       /* B: 64*100 */
  ck_assert_ptr_eq(F.timeout_txn[0], t);
  ck_assert_uint_eq(F.timeout_at[0], 6400);

  /* Timer M: 64*T1 after the 2xx. */
  t2 = client(&r2, false);
  advance_to(6500);
  recv_rsp(&r2, 200, "ok", false);
  advance_to(6500 + 6399);
  ck_assert_uint_eq(F.nterm, 1);
  advance(1);
  ck_assert_uint_eq(F.nterm, 2);
  ck_assert_ptr_eq(F.term_txn[1], t2);
  ck_assert_uint_eq(F.term_at[1], 6500 + 6400);
}
END_TEST

START_TEST(txn_timers_nict_scaled)
{
  ss_txn_cfg cfg = { 100, 400, 1000, 200 };
  rq r = rq_new("OPTIONS", "z9hG4bKscaled3"), r2 = rq_new("OPTIONS", "z9hG4bKscaled4");
  ss_txn *t, *t2;

  new_layer(&cfg);
  t = client(&r, false);
  advance_to(6399);
  CHECK_SENDS_AT(0, 100, 300, 700, 1100, 1500, 1900, 2300, 2700, 3100, 3500, 3900, 4300, 4700,
                 5100, 5500, 5900, 6300);               /* E: 100, 200, then T2 = 400 */
  ck_assert_uint_eq(F.ntimeout, 0);
  advance(1);
  ck_assert_uint_eq(F.ntimeout, 1);                       /* F: 64*100 */
  ck_assert_ptr_eq(F.timeout_txn[0], t);
  ck_assert_uint_eq(F.timeout_at[0], 6400);

  /* Timer K: T4 after the final. */
  t2 = client(&r2, false);
  advance_to(6450);
  recv_rsp(&r2, 200, "ok", false);
  advance_to(6450 + 999);
  ck_assert_uint_eq(F.nterm, 1);
  advance(1);
  ck_assert_uint_eq(F.nterm, 2);
  ck_assert_ptr_eq(F.term_txn[1], t2);
  ck_assert_uint_eq(F.term_at[1], 6450 + 1000);
}
END_TEST

START_TEST(txn_timers_ist_scaled)
{
  ss_txn_cfg cfg = { 100, 400, 1000, -1 };
  rq r = rq_new("INVITE", "z9hG4bKscaled5");
  ss_txn *st;

  new_layer(&cfg);
  st = server(&r, false);
  advance_to(50);
  ck_assert_int_eq(respond(st, 486), 0);
  advance_to(50 + 6399);
  CHECK_SENDS_AT(50, 150, 350, 750, 1150, 1550, 1950, 2350, 2750, 3150, 3550, 3950, 4350, 4750,
                 5150, 5550, 5950, 6350);               /* G: 100, 200, then T2 = 400 */
  ck_assert_uint_eq(F.ntimeout, 0);
  advance(1);
  ck_assert_uint_eq(F.ntimeout, 1);                       /* H: 64*100 */
  ck_assert_uint_eq(F.timeout_at[0], 50 + 6400);
}
END_TEST

/* ---- ist: INVITE server transaction (RFC 3261 17.2.1, RFC 6026 7.1) ---- */

START_TEST(txn_ist_new_request)
{
  rq r = rq_new("INVITE", "z9hG4bKist1");
  ss_txn *st = server(&r, false);

  ck_assert_int_eq(ss_txn_kind_of(st), SS_TXN_IST);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_PROCEEDING);
  ck_assert_int_eq(sipsrv_msg_method(ss_txn_request_msg(st)), SIPSRV_METHOD_INVITE);
  ck_assert(!ss_txn_peer(st)->reliable);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 1);
  ck_assert_str_eq(F.ev, "Q");
  ck_assert_uint_eq(F.nsent, 0);
}
END_TEST

/* 17.2.1: a 100 Trying when the TU has not answered within 200 ms. */
START_TEST(txn_ist_trying_at_200ms)
{
  rq r = rq_new("INVITE", "z9hG4bKist100");
  ss_txn *st = server(&r, false);
  sipsrv_msg *m;
  sipsrv_addr to;

  advance_to(199);
  ck_assert_uint_eq(F.nsent, 0);
  advance(1);
  CHECK_SENDS_AT(200);
  ck_assert_int_eq(sent_status(0), 100);
  ck_assert_int_eq(ss_txn_status(st), 100);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_PROCEEDING);
  m = parse_sent(0);
  ck_assert_int_eq(sipsrv_msg_to(m, &to), 0);
  ck_assert_ptr_null(to.tag);                  /* 8.2.6.1: no To tag in a 100 */
  sipsrv_msg_free(m);
  advance(10000);
  ck_assert_uint_eq(F.nsent, 1);
}
END_TEST

/* No 100 when the TU answered (with a 180) before 200 ms. */
START_TEST(txn_ist_no_trying_when_answered)
{
  rq r = rq_new("INVITE", "z9hG4bKist180");
  ss_txn *st;

  F.answer = 180;
  st = server(&r, false);
  ck_assert_int_eq(F.answer_rc, 0);
  CHECK_SENDS_AT(0);
  ck_assert_int_eq(sent_status(0), 180);
  advance(10000);
  ck_assert_uint_eq(F.nsent, 1);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_PROCEEDING);

  /* A TU answering later than the Trying timer but before it fires: none either. */
  {
    rq r2 = rq_new("INVITE", "z9hG4bKist180b");
    ss_txn *st2;
    F.answer = 0;
    st2 = server(&r2, false);
    advance(150);
    ck_assert_int_eq(respond(st2, 183), 0);
    advance(10000);
    ck_assert_uint_eq(F.nsent, 2);
    ck_assert_int_eq(sent_status(1), 183);
  }
}
END_TEST

/* trying_ms -1: never a 100 of the layer's own. */
START_TEST(txn_ist_trying_disabled)
{
  ss_txn_cfg cfg = SS_TXN_CFG_DEFAULT;
  rq r = rq_new("INVITE", "z9hG4bKistno100");

  cfg.trying_ms = -1;
  new_layer(&cfg);
  server(&r, false);
  advance(T64 - 1);
  ck_assert_uint_eq(F.nsent, 0);
}
END_TEST

/* 17.2.1: a retransmitted INVITE in Proceeding gets the last provisional
 * again and is not passed to the TU. */
START_TEST(txn_ist_retransmit_in_proceeding)
{
  rq r = rq_new("INVITE", "z9hG4bKistrp");
  ss_txn *st = server(&r, false);

  advance_to(100);
  recv_req(&r, false);                    /* nothing sent yet: nothing to repeat */
  ck_assert_uint_eq(F.nsent, 0);
  advance_to(500);                        /* the 100 went out at 200 */
  recv_req(&r, false);
  CHECK_SENDS_AT(200, 500);
  check_all_same(0, 1);
  advance_to(700);
  ck_assert_int_eq(respond(st, 180), 0);
  advance_to(900);
  recv_req(&r, false);
  CHECK_SENDS_AT(200, 500, 700, 900);
  ck_assert_int_eq(sent_status(2), 180);
  check_all_same(2, 3);
  ck_assert_uint_eq(F.nreq, 1);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 1);
}
END_TEST

/* 17.2.1: a non-2xx final: Completed; Timer G from T1 doubling up to T2,
 * counted from the final. */
START_TEST(txn_ist_486_timer_g)
{
  rq r = rq_new("INVITE", "z9hG4bKistg");
  ss_txn *st = server(&r, false);

  advance_to(1000);
  ck_assert_int_eq(respond(st, 486), 0);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_COMPLETED);
  ck_assert_int_eq(ss_txn_status(st), 486);
  advance_to(1000 + T64 - 1);
  CHECK_SENDS_AT(200, 1000, 1500, 2500, 4500, 8500, 12500, 16500, 20500, 24500, 28500, 32500);
  ck_assert_int_eq(sent_status(0), 100);
  ck_assert_int_eq(sent_status(1), 486);
  check_all_same(1, 2);
  ck_assert_uint_eq(F.ntimeout, 0);
}
END_TEST

/* 17.2.1: Timer H (64*T1 after the final) without an ACK: timeout, then
 * terminated; nothing more is sent. */
START_TEST(txn_ist_timer_h)
{
  rq r = rq_new("INVITE", "z9hG4bKisth");
  ss_txn *st;

  F.answer = 486;
  st = server(&r, false);
  advance_to(T64 - 1);
  ck_assert_uint_eq(F.ntimeout, 0);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_COMPLETED);
  advance(1);
  ck_assert_uint_eq(F.ntimeout, 1);
  ck_assert_ptr_eq(F.timeout_txn[0], st);
  ck_assert_uint_eq(F.timeout_at[0], T64);
  ck_assert_str_eq(F.ev, "QTX");
  ck_assert_ptr_eq(F.term_txn[0], st);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 0);
  advance(10 * T64);
  CHECK_SENDS_AT(0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500);
}
END_TEST

/* 17.2.1: an ACK in Completed: Confirmed, retransmissions stop, the ACK is
 * absorbed, Timer I = T4 over UDP. */
START_TEST(txn_ist_ack_confirmed)
{
  rq r = rq_new("INVITE", "z9hG4bKistack");
  rq a;
  char tag[64];
  ss_txn *st;

  F.answer = 486;
  st = server(&r, false);
  sent_to_tag(0, tag, sizeof tag);
  a = rq_ack(&r, tag);
  advance_to(2000);
  recv_req(&a, false);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_CONFIRMED);
  ck_assert_uint_eq(F.nack, 0);
  advance_to(3000);
  recv_req(&a, false);                     /* Confirmed absorbs ACKs... */
  recv_req(&r, false);                     /* ...and INVITEs */
  ck_assert_uint_eq(F.nack, 0);
  ck_assert_uint_eq(F.nreq, 1);
  advance_to(2000 + T4 - 1);
  ck_assert_uint_eq(F.nterm, 0);
  advance(1);
  ck_assert_uint_eq(F.nterm, 1);
  ck_assert_ptr_eq(F.term_txn[0], st);
  ck_assert_uint_eq(F.term_at[0], 2000 + T4);
  ck_assert_str_eq(F.ev, "QX");
  advance(10 * T64);
  CHECK_SENDS_AT(0, 500, 1500);
}
END_TEST

/* Timer I is 0 over a reliable transport; no Timer G there either. */
START_TEST(txn_ist_tcp_timer_i)
{
  rq r = rq_new("INVITE", "z9hG4bKisti");
  rq a;
  char tag[64];
  ss_txn *st;

  F.answer = 486;
  st = server(&r, true);
  sent_to_tag(0, tag, sizeof tag);
  a = rq_ack(&r, tag);
  advance_to(3000);
  CHECK_SENDS_AT(0);
  recv_req(&a, true);
  advance(0);
  ck_assert_uint_eq(F.nterm, 1);
  ck_assert_ptr_eq(F.term_txn[0], st);
  ck_assert_uint_eq(F.term_at[0], 3000);
  ck_assert_uint_eq(F.nack, 0);
}
END_TEST

/* 17.2.1: a retransmitted INVITE in Completed gets the final again. */
START_TEST(txn_ist_retransmit_in_completed)
{
  rq r = rq_new("INVITE", "z9hG4bKistrc");

  F.answer = 486;
  server(&r, false);
  advance_to(200);
  recv_req(&r, false);
  CHECK_SENDS_AT(0, 200);
  check_all_same(0, 1);
  ck_assert_int_eq(sent_status(1), 486);
  ck_assert_uint_eq(F.nreq, 1);
}
END_TEST

/* 17.2.1: over a reliable transport no Timer G; Timer H still fires. */
START_TEST(txn_ist_tcp_no_timer_g)
{
  rq r = rq_new("INVITE", "z9hG4bKisttcp");

  F.answer = 486;
  server(&r, true);
  advance_to(T64 - 1);
  CHECK_SENDS_AT(0);
  ck_assert(F.sent[0].reliable);
  ck_assert_uint_eq(F.ntimeout, 0);
  advance(1);
  ck_assert_uint_eq(F.ntimeout, 1);
  ck_assert_uint_eq(F.timeout_at[0], T64);
  ck_assert_str_eq(F.ev, "QTX");
}
END_TEST

/* RFC 6026 7.1: a 2xx moves to Accepted: INVITE retransmissions absorbed,
 * the TU's 2xx retransmissions go out, ACKs go to the TU, Timer L. */
START_TEST(txn_ist_2xx_accepted)
{
  rq r = rq_new("INVITE", "z9hG4bKist2xx");
  rq a, a2;
  char tag[64];
  ss_txn *st;

  F.answer = 200;
  st = server(&r, false);
  ck_assert_int_eq(F.answer_rc, 0);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_ACCEPTED);
  ck_assert_int_eq(sent_status(0), 200);
  advance_to(5000);
  CHECK_SENDS_AT(0);                       /* no Timer G for a 2xx */
  recv_req(&r, false);
  CHECK_SENDS_AT(0);                       /* absorbed */
  ck_assert_uint_eq(F.nreq, 1);
  ck_assert_int_eq(respond(st, 200), 0);   /* the TU retransmits its 2xx */
  CHECK_SENDS_AT(0, 5000);
  check_all_same(0, 1);

  sent_to_tag(0, tag, sizeof tag);
  advance_to(6000);
  a = rq_ack(&r, tag);                     /* same branch: this transaction */
  recv_req(&a, false);
  ck_assert_uint_eq(F.nack, 1);
  ck_assert_ptr_eq(F.ack_txn[0], st);
  ck_assert_str_eq(F.ack_branch[0], "z9hG4bKist2xx");
  a2 = a;
  a2.branch = "z9hG4bKist2xxack";          /* the 2xx ACK's own branch */
  recv_req(&a2, false);
  ck_assert_uint_eq(F.nack, 2);
  ck_assert_ptr_null(F.ack_txn[1]);
  ck_assert_str_eq(F.ack_branch[1], "z9hG4bKist2xxack");
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_ACCEPTED);
  ck_assert_uint_eq(F.nsent, 2);

  advance_to(T64 - 1);
  ck_assert_uint_eq(F.nterm, 0);
  advance(1);
  ck_assert_uint_eq(F.nterm, 1);
  ck_assert_ptr_eq(F.term_txn[0], st);
  ck_assert_uint_eq(F.term_at[0], T64);
  ck_assert_uint_eq(F.ntimeout, 0);
  ck_assert_str_eq(F.ev, "QAAX");
}
END_TEST

/* ---- nist: non-INVITE server transaction (RFC 3261 17.2.2) ------------- */

START_TEST(txn_nist_new_request)
{
  rq r = rq_new("OPTIONS", "z9hG4bKnist1");
  ss_txn *st = server(&r, false);

  ck_assert_int_eq(ss_txn_kind_of(st), SS_TXN_NIST);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_TRYING);
  ck_assert_int_eq(sipsrv_msg_method(ss_txn_request_msg(st)), SIPSRV_METHOD_OPTIONS);
  ck_assert_str_eq(F.ev, "Q");
  advance(3000);
  ck_assert_uint_eq(F.nsent, 0);         /* no 100 of its own (RFC 4320) */
}
END_TEST

/* 17.2.2: a retransmission in Trying is absorbed. */
START_TEST(txn_nist_retransmit_in_trying)
{
  rq r = rq_new("OPTIONS", "z9hG4bKnistrt");
  ss_txn *st = server(&r, false);

  advance_to(500);
  recv_req(&r, false);
  ck_assert_uint_eq(F.nsent, 0);
  ck_assert_uint_eq(F.nreq, 1);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_TRYING);
}
END_TEST

/* 17.2.2: a final: Completed, retransmissions answered with it, Timer J =
 * 64*T1 over UDP. */
START_TEST(txn_nist_final_completed)
{
  rq r = rq_new("OPTIONS", "z9hG4bKnistc");
  ss_txn *st = server(&r, false);

  advance_to(1000);
  ck_assert_int_eq(respond(st, 200), 0);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_COMPLETED);
  ck_assert_int_eq(ss_txn_status(st), 200);
  advance_to(1500);
  recv_req(&r, false);
  CHECK_SENDS_AT(1000, 1500);
  check_all_same(0, 1);
  ck_assert_int_eq(sent_status(0), 200);
  ck_assert_uint_eq(F.nreq, 1);
  advance_to(1000 + T64 - 1);
  ck_assert_uint_eq(F.nterm, 0);
  advance(1);
  ck_assert_uint_eq(F.nterm, 1);
  ck_assert_ptr_eq(F.term_txn[0], st);
  ck_assert_uint_eq(F.term_at[0], 1000 + T64);
  ck_assert_uint_eq(F.nsent, 2);         /* a NIST never retransmits on its own */
  ck_assert_str_eq(F.ev, "QX");
}
END_TEST

/* A final response given as bytes (ss_txn_respond_wire(), built by
 * ss_reply_wire()): the same state machines (17.2.1, 17.2.2). Over a TU
 * without send_wire the bytes go through send as parsed. */
static int respond_wire(ss_txn *st, int status)
{
  const sipsrv_msg *req = NULL;
  char buf[2048], tag[24];
  long n;
  for (size_t i = 0; i < F.nreq; i++)
    if (F.req_txn[i] == st)
      req = F.req_copy[i];
  ck_assert_ptr_nonnull(req);
  if (status < 200) {          /* provisionals: bytes as a proxy forwards them */
    sipsrv_msg *rsp = NULL;
    ck_assert_int_eq(sipsrv_msg_reply(&rsp, req, status, NULL, NULL), 0);
    n = sipsrv_msg_serialize(rsp, buf, sizeof buf);
    sipsrv_msg_free(rsp);
    ck_assert_int_gt(n, 0);
    return ss_txn_respond_wire(st, status, buf, (size_t)n, "");
  }
  n = ss_reply_wire(req, status, NULL, NULL, "Retry-After: 5", buf, sizeof buf, tag, sizeof tag);
  ck_assert_int_gt(n, 0);
  return ss_txn_respond_wire(st, status, buf, (size_t)n, tag);
}

/* 17.2.2 with the final as bytes: Completed, each retransmission answered
 * with the same bytes, Timer J; a second final, or a 408 (RFC 4320 4.2),
 * refused. */
START_TEST(txn_nist_wire_final)
{
  rq r = rq_new("OPTIONS", "z9hG4bKnistw");
  ss_txn *st = server(&r, false);

  ck_assert_int_eq(ss_txn_respond_wire(st, 408, "x", 1, ""), SIPSRV_E_INVAL);
  ck_assert_int_eq(ss_txn_respond_wire(st, 180, "x", 1, ""), SIPSRV_E_INVAL);
  advance_to(1000);
  ck_assert_int_eq(respond_wire(st, 200), 0);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_COMPLETED);
  ck_assert_int_eq(ss_txn_status(st), 200);
  ck_assert_int_eq(respond_wire(st, 500), SIPSRV_E_STATE);
  advance_to(1500);
  recv_req(&r, false);
  advance_to(2500);
  recv_req(&r, false);
  CHECK_SENDS_AT(1000, 1500, 2500);
  check_all_same(0, 1);
  ck_assert_int_eq(sent_status(0), 200);
  ck_assert_ptr_nonnull(strstr(F.sent[0].data, "\r\nRetry-After: 5\r\n"));
  advance_to(1000 + T64);
  ck_assert_uint_eq(F.nterm, 1);
  ck_assert_uint_eq(F.nsent, 3);
}
END_TEST

/* 17.2.1 with the final as bytes: Timer G retransmits the same bytes, the
 * ACK matched by the To tag they carry confirms. */
START_TEST(txn_ist_wire_final)
{
  rq r = rq_new("INVITE", "z9hG4bKistw");
  rq a;
  char tag[64];
  ss_txn *st = server(&r, false);

  ck_assert_int_eq(respond_wire(st, 486), 0);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_COMPLETED);
  sent_to_tag(0, tag, sizeof tag);
  advance_to(1600);
  CHECK_SENDS_AT(0, 500, 1500);
  check_all_same(0, 1);
  a = rq_ack(&r, tag);
  recv_req(&a, false);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_CONFIRMED);
  ck_assert_uint_eq(F.nack, 0);
  advance(10 * T64);
  CHECK_SENDS_AT(0, 500, 1500);
}
END_TEST

/* 17.2.1 with a provisional as bytes (a proxy forwarding a 180 upstream):
 * a retransmitted INVITE in Proceeding gets those bytes again, the 100
 * Trying is not sent after it, and the final replaces it. */
START_TEST(txn_ist_wire_provisional)
{
  rq r = rq_new("INVITE", "z9hG4bKistwp");
  ss_txn *st = server(&r, false);

  advance_to(100);
  ck_assert_int_eq(respond_wire(st, 180), 0);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_PROCEEDING);
  advance_to(400);                        /* no 100 at 200: a provisional went */
  recv_req(&r, false);
  CHECK_SENDS_AT(100, 400);
  ck_assert_int_eq(sent_status(0), 180);
  check_all_same(0, 1);
  ck_assert_int_eq(respond_wire(st, 183), 0);
  advance_to(600);
  recv_req(&r, false);
  CHECK_SENDS_AT(100, 400, 400, 600);
  ck_assert_int_eq(sent_status(2), 183);
  check_all_same(2, 3);
  ck_assert_int_eq(respond_wire(st, 486), 0);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_COMPLETED);
  recv_req(&r, false);
  ck_assert_uint_eq(F.nsent, 6);
  ck_assert_int_eq(sent_status(4), 486);
  check_all_same(4, 5);
  ck_assert_uint_eq(F.nreq, 1);
}
END_TEST

/* Timer J is 0 over a reliable transport. */
START_TEST(txn_nist_tcp_timer_j)
{
  rq r = rq_new("OPTIONS", "z9hG4bKnistj");
  ss_txn *st = server(&r, true);

  advance_to(100);
  ck_assert_int_eq(respond(st, 200), 0);
  CHECK_SENDS_AT(100);
  advance(0);
  ck_assert_uint_eq(F.nterm, 1);
  ck_assert_ptr_eq(F.term_txn[0], st);
  ck_assert_uint_eq(F.term_at[0], 100);
}
END_TEST

/* Not in RFC 3261: a NIST the TU never answers ends after 64*T1, silently. */
START_TEST(txn_nist_guard)
{
  rq r = rq_new("OPTIONS", "z9hG4bKnistg");
  ss_txn *st = server(&r, false);

  advance_to(T64 - 1);
  ck_assert_uint_eq(F.nterm, 0);
  advance(1);
  ck_assert_uint_eq(F.nterm, 1);
  ck_assert_ptr_eq(F.term_txn[0], st);
  ck_assert_uint_eq(F.term_at[0], T64);
  ck_assert_uint_eq(F.nsent, 0);
  ck_assert_uint_eq(F.send_calls, 0);
  ck_assert_str_eq(F.ev, "QX");
}
END_TEST

/* ---- rfc4320: responses to non-INVITE requests ------------------------ */

/* RFC 4320 4.2: never a 408 to a non-INVITE. */
START_TEST(txn_rfc4320_no_408)
{
  rq r = rq_new("OPTIONS", "z9hG4bK4320a");
  ss_txn *st = server(&r, false);

  ck_assert_int_eq(respond(st, 408), SIPSRV_E_INVAL);
  ck_assert_uint_eq(F.send_calls, 0);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_TRYING);
  ck_assert_int_eq(respond(st, 200), 0);  /* still answerable */
  ck_assert_uint_eq(F.nsent, 1);
}
END_TEST

/* RFC 4320 4.1: no provisional other than 100. */
START_TEST(txn_rfc4320_no_180)
{
  rq r = rq_new("OPTIONS", "z9hG4bK4320b");
  ss_txn *st = server(&r, true);

  ck_assert_int_eq(respond(st, 180), SIPSRV_E_INVAL);
  ck_assert_int_eq(respond(st, 101), SIPSRV_E_INVAL);
  ck_assert_int_eq(respond(st, 199), SIPSRV_E_INVAL);
  ck_assert_uint_eq(F.send_calls, 0);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_TRYING);
}
END_TEST

/* RFC 4320 4.1: no 100 over UDP before the client's Timer E reached T2. */
START_TEST(txn_rfc4320_100_udp_early)
{
  rq r = rq_new("OPTIONS", "z9hG4bK4320c");
  ss_txn *st = server(&r, false);

  ck_assert_int_eq(respond(st, 100), SIPSRV_E_STATE);
  advance_to(1000);
  ck_assert_int_eq(respond(st, 100), SIPSRV_E_STATE);
  ck_assert_uint_eq(F.send_calls, 0);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_TRYING);
}
END_TEST

/* After T2 the 100 goes out, moves to Proceeding, and is repeated for a
 * retransmission (17.2.2); the final still follows. */
START_TEST(txn_rfc4320_100_udp_after_t2)
{
  rq r = rq_new("OPTIONS", "z9hG4bK4320d");
  ss_txn *st = server(&r, false);

  advance_to(T2);
  ck_assert_int_eq(respond(st, 100), 0);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_PROCEEDING);
  advance_to(T2 + 500);
  recv_req(&r, false);
  CHECK_SENDS_AT(T2, T2 + 500);
  ck_assert_int_eq(sent_status(0), 100);
  check_all_same(0, 1);
  ck_assert_uint_eq(F.nreq, 1);
  advance_to(T2 + 1000);
  ck_assert_int_eq(respond(st, 200), 0);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_COMPLETED);
  CHECK_SENDS_AT(T2, T2 + 500, T2 + 1000);
  ck_assert_int_eq(sent_status(2), 200);
}
END_TEST

/* Over a reliable transport a 100 may go at once. */
START_TEST(txn_rfc4320_100_tcp)
{
  rq r = rq_new("OPTIONS", "z9hG4bK4320e");
  ss_txn *st = server(&r, true);

  ck_assert_int_eq(respond(st, 100), 0);
  CHECK_SENDS_AT(0);
  ck_assert_int_eq(sent_status(0), 100);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_PROCEEDING);
}
END_TEST

/* ---- match: RFC 3261 17.1.3 and 17.2.3 ----------------------------------- */

/* 17.2.3, RFC 2543 fallback (no branch): a retransmission with the same
 * Request-URI, Call-ID, From tag, CSeq and Via matches. */
START_TEST(txn_match_2543_no_branch)
{
  rq r = rq_new("INVITE", NULL);
  ss_txn *st;

  F.answer = 486;
  st = server(&r, false);
  advance_to(100);
  recv_req(&r, false);
  ck_assert_uint_eq(F.nreq, 1);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 1);
  CHECK_SENDS_AT(0, 100);
  check_all_same(0, 1);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_COMPLETED);
}
END_TEST

/* RFC 2543 matching keys on the Request-URI: one longer than the key holds
 * is dropped whole, never keyed on a cut (unterminated) copy (SOFIA-NOTES:
 * url_e); under valgrind and ASan this reads nothing past the buffer. */
START_TEST(txn_match_2543_long_uri_dropped)
{
  static char uri[800];
  rq r = rq_new("OPTIONS", NULL);

  snprintf(uri, sizeof uri, "sip:bob@example.com;x=%0700d", 3);
  r.ruri = uri;
  recv_req(&r, false);
  ck_assert_uint_eq(F.nreq, 0);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 0);
  r.ruri = "sip:bob@example.com";            /* a normal one still works */
  recv_req(&r, false);
  ck_assert_uint_eq(F.nreq, 1);
}
END_TEST

/* A branch without the magic cookie is RFC 2543 matching too. */
START_TEST(txn_match_2543_old_branch)
{
  rq r = rq_new("OPTIONS", "1a2b3c4d");
  ss_txn *st = server(&r, false);

  ck_assert_int_eq(respond(st, 200), 0);
  advance_to(100);
  recv_req(&r, false);
  ck_assert_uint_eq(F.nreq, 1);
  CHECK_SENDS_AT(0, 100);
  check_all_same(0, 1);
}
END_TEST

/* 17.2.3: the ACK of an RFC 2543 INVITE (To with the response's tag)
 * matches its IST. */
START_TEST(txn_match_2543_ack)
{
  rq r = rq_new("INVITE", NULL);
  rq a;
  char tag[64];
  ss_txn *st;

  F.answer = 486;
  st = server(&r, false);
  sent_to_tag(0, tag, sizeof tag);
  a = rq_ack(&r, tag);
  advance_to(100);
  recv_req(&a, false);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_CONFIRMED);
  ck_assert_uint_eq(F.nack, 0);
  advance(T64);
  CHECK_SENDS_AT(0);
}
END_TEST

/* 17.2.3: an RFC 2543 ACK matches only when its To tag is the tag of the
 * response the IST sent; an ACK with another To tag is not this
 * transaction's and must not confirm it. */
START_TEST(txn_match_2543_ack_to_tag)
{
  rq r = rq_new("INVITE", NULL);
  rq a;
  ss_txn *st;

  F.answer = 486;
  st = server(&r, false);
  a = rq_ack(&r, "notthetagwesent");
  advance_to(100);
  recv_req(&a, false);
  ck_assert_msg(ss_txn_state_of(st) == SS_TXN_COMPLETED,
                "an ACK with a foreign To tag moved the IST to %s",
                ss_txn_state_name(ss_txn_state_of(st)));
  advance_to(T1);
  CHECK_SENDS_AT(0, T1);                 /* Timer G still runs */
}
END_TEST

/* A different CSeq number is a new request, so a new transaction. */
START_TEST(txn_match_2543_new_cseq)
{
  rq r = rq_new("INVITE", NULL), r2;
  ss_txn *st, *st2;

  st = server(&r, false);
  r2 = r;
  r2.cseq = 2;
  st2 = server(&r2, false);
  ck_assert_ptr_ne(st, st2);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 2);
}
END_TEST

/* RFC 2543 matching compares the Call-ID byte by byte (RFC 3261 20.8:
 * Call-IDs are case-sensitive): a Call-ID that differs only in case is
 * another call, so another transaction. */
START_TEST(txn_match_2543_callid_case)
{
  rq r = rq_new("INVITE", NULL), r2;

  server(&r, false);
  r2 = r;
  r2.callid = "A84B4C76E66710@client.example.com";
  recv_req(&r2, false);
  ck_assert_msg(F.nreq == 2, "a Call-ID differing in case matched the first transaction");
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 2);
}
END_TEST

/* 17.2.3: the same branch from another sent-by is another transaction. */
START_TEST(txn_match_sent_by)
{
  rq r = rq_new("INVITE", "z9hG4bKsame"), r2, r3;

  server(&r, false);
  r2 = r;
  r2.sentby = "other.example.com:5060";
  server(&r2, false);
  r3 = r;
  r3.sentby = "client.example.com:5070";
  server(&r3, false);
  ck_assert_uint_eq(F.nreq, 3);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 3);
  recv_req(&r2, false);                  /* and each one's retransmission its own */
  ck_assert_uint_eq(F.nreq, 3);
}
END_TEST

/* Hosts compare case-insensitively (RFC 3261 19.1.4). */
START_TEST(txn_match_host_case)
{
  rq r = rq_new("INVITE", "z9hG4bKhostcase"), r2;

  F.answer = 486;
  server(&r, false);
  r2 = r;
  r2.sentby = "CLIENT.Example.COM:5060";
  advance_to(100);
  recv_req(&r2, false);
  ck_assert_uint_eq(F.nreq, 1);
  CHECK_SENDS_AT(0, 100);
  check_all_same(0, 1);
}
END_TEST

/* 17.2.3: the method is part of the match: an OPTIONS with the branch of
 * an INVITE is not its retransmission. */
START_TEST(txn_match_method)
{
  rq r = rq_new("INVITE", "z9hG4bKmeth"), r2;
  ss_txn *st, *st2;

  st = server(&r, false);
  r2 = r;
  r2.method = "OPTIONS";
  st2 = server(&r2, false);
  ck_assert_int_eq(ss_txn_kind_of(st), SS_TXN_IST);
  ck_assert_int_eq(ss_txn_kind_of(st2), SS_TXN_NIST);
}
END_TEST

/* 17.1.3: the CSeq method is part of a response's match: a response for a
 * CANCEL with the INVITE's branch does not reach the ICT. */
START_TEST(txn_match_response_cseq_method)
{
  rq r = rq_new("INVITE", "z9hG4bKcseqm"), c;
  ss_txn *t = client(&r, false);

  c = r;
  c.method = "CANCEL";
  recv_rsp(&c, 200, "x", false);
  ck_assert_uint_eq(F.nstray, 1);
  ck_assert_int_eq(F.stray_status[0], 200);
  ck_assert_uint_eq(F.nrsp, 0);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_CALLING);
  ck_assert_str_eq(F.ev, "S");
}
END_TEST

/* 17.1.3: a response matching no client transaction goes to the TU as a
 * stray (the TU takes it). */
START_TEST(txn_match_stray_response)
{
  rq r = rq_new("INVITE", "z9hG4bKmine"), other = rq_new("INVITE", "z9hG4bKnotmine");
  rq nobranch = rq_new("INVITE", NULL);
  ss_txn *t = client(&r, false);

  recv_rsp(&other, 200, "x", false);
  recv_rsp(&nobranch, 486, "y", false);
  ck_assert_uint_eq(F.nstray, 2);
  ck_assert_int_eq(F.stray_status[0], 200);
  ck_assert_int_eq(F.stray_status[1], 486);
  ck_assert_uint_eq(F.nrsp, 0);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_CALLING);
  ck_assert_uint_eq(F.nsent, 1);
}
END_TEST

/* 17.2.3: an ACK matching no transaction (a 2xx ACK) goes to the TU. */
START_TEST(txn_match_ack_no_transaction)
{
  rq a = rq_new("ACK", "z9hG4bKlonelyack");

  a.to_tag = "t";
  recv_req(&a, false);
  ck_assert_uint_eq(F.nack, 1);
  ck_assert_ptr_null(F.ack_txn[0]);
  ck_assert_uint_eq(F.nreq, 0);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 0);
}
END_TEST

/* ---- cancel: RFC 3261 9.1, 9.2 ------------------------------------------- */

/* 9.2: the CANCEL with the INVITE's branch and sent-by finds its IST; the
 * CANCEL makes its own NIST. */
START_TEST(txn_cancel_target_cookie)
{
  rq inv = rq_new("INVITE", "z9hG4bKcxl"), c, other;
  sipsrv_msg *cm;
  ss_txn *ist, *nist;

  ist = server(&inv, false);
  c = inv;
  c.method = "CANCEL";
  cm = mkreq(&c);
  ck_assert_ptr_eq(ss_txn_cancel_target(F.l, cm), ist);
  sipsrv_msg_free(cm);

  other = c;
  other.branch = "z9hG4bKcxlother";
  cm = mkreq(&other);
  ck_assert_ptr_null(ss_txn_cancel_target(F.l, cm));
  sipsrv_msg_free(cm);
  other = c;
  other.sentby = "other.example.com:5060";
  cm = mkreq(&other);
  ck_assert_ptr_null(ss_txn_cancel_target(F.l, cm));
  sipsrv_msg_free(cm);

  nist = server(&c, false);
  ck_assert_ptr_ne(nist, ist);
  ck_assert_int_eq(ss_txn_kind_of(nist), SS_TXN_NIST);
  ck_assert_int_eq(sipsrv_msg_method(ss_txn_request_msg(nist)), SIPSRV_METHOD_CANCEL);
  ck_assert_int_eq(ss_txn_state_of(ist), SS_TXN_PROCEEDING);
  ck_assert_uint_eq(F.nsent, 0);          /* not a retransmission of the INVITE */
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 2);
  ck_assert_int_eq(respond(nist, 200), 0);
  ck_assert_int_eq(respond(ist, 487), 0);
  ck_assert_int_eq(sent_status(0), 200);
  ck_assert_int_eq(sent_status(1), 487);
}
END_TEST

/* 9.2: the same for an RFC 2543 INVITE (matched on Request-URI, Call-ID,
 * From tag, CSeq number and Via). */
START_TEST(txn_cancel_target_2543)
{
  rq inv = rq_new("INVITE", NULL), c, other;
  sipsrv_msg *cm;
  ss_txn *ist, *nist;

  ist = server(&inv, false);
  c = inv;
  c.method = "CANCEL";
  cm = mkreq(&c);
  ck_assert_ptr_eq(ss_txn_cancel_target(F.l, cm), ist);
  sipsrv_msg_free(cm);

  other = c;
  other.from_tag = "someoneelse";
  cm = mkreq(&other);
  ck_assert_ptr_null(ss_txn_cancel_target(F.l, cm));
  sipsrv_msg_free(cm);
  other = c;
  other.cseq = 2;
  cm = mkreq(&other);
  ck_assert_ptr_null(ss_txn_cancel_target(F.l, cm));
  sipsrv_msg_free(cm);

  nist = server(&c, false);
  ck_assert_int_eq(ss_txn_kind_of(nist), SS_TXN_NIST);
  ck_assert_int_eq(ss_txn_state_of(ist), SS_TXN_PROCEEDING);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 2);
}
END_TEST

/* Only an IST is a CANCEL's target, and NULL arguments find nothing. */
START_TEST(txn_cancel_target_none)
{
  rq opt = rq_new("OPTIONS", "z9hG4bKcxlopt"), c;
  sipsrv_msg *cm;

  server(&opt, false);
  c = opt;
  c.method = "CANCEL";
  cm = mkreq(&c);
  ck_assert_ptr_null(ss_txn_cancel_target(F.l, cm));
  ck_assert_ptr_null(ss_txn_cancel_target(NULL, cm));
  ck_assert_ptr_null(ss_txn_cancel_target(F.l, NULL));
  sipsrv_msg_free(cm);
}
END_TEST

/* 9.1: a client CANCEL has the INVITE's branch; it is its own NICT and the
 * responses of each reach their own transaction (17.1.3). */
START_TEST(txn_cancel_client)
{
  rq inv = rq_new("INVITE", "z9hG4bKccl"), c;
  ss_txn *ict, *nict;

  ict = client(&inv, false);
  c = inv;
  c.method = "CANCEL";
  nict = client(&c, false);
  ck_assert_ptr_ne(ict, nict);
  ck_assert_int_eq(ss_txn_kind_of(nict), SS_TXN_NICT);
  recv_rsp(&c, 200, "x", false);
  ck_assert_int_eq(ss_txn_state_of(nict), SS_TXN_COMPLETED);
  ck_assert_int_eq(ss_txn_state_of(ict), SS_TXN_CALLING);
  ck_assert_uint_eq(F.nrsp, 1);
  ck_assert_ptr_eq(F.rsp_txn[0], nict);
  recv_rsp(&inv, 487, "x", false);
  ck_assert_int_eq(ss_txn_state_of(ict), SS_TXN_COMPLETED);
  ck_assert_uint_eq(F.nrsp, 2);
  ck_assert_ptr_eq(F.rsp_txn[1], ict);
  ck_assert_int_eq(F.rsp_status[1], 487);
  ck_assert_uint_eq(F.nsent, 3);
  ck_assert(sent_starts(0, "INVITE "));
  ck_assert(sent_starts(1, "CANCEL "));
  ck_assert(sent_starts(2, "ACK "));
}
END_TEST

/* ---- transport: send failures (RFC 3261 17.1.4, 17.2.4) ---------------- */

START_TEST(txn_transport_ict_start)
{
  rq r = rq_new("INVITE", "z9hG4bKtxe1");
  ss_peer p = mkpeer(false);
  ss_txn *t = NULL;

  F.fail_send = true;
  (void)ss_txn_request(F.l, &t, mkreq(&r), &p, NULL);
  ck_assert_str_eq(F.ev, "EX");
  ck_assert_ptr_eq(F.err_txn[0], F.term_txn[0]);
  ck_assert_int_eq(F.term_kind[0], SS_TXN_ICT);
  ck_assert_uint_eq(F.send_calls, 1);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 0);
  F.fail_send = false;
  advance(10 * T64);
  ck_assert_uint_eq(F.send_calls, 1);
  ck_assert_str_eq(F.ev, "EX");
}
END_TEST

START_TEST(txn_transport_nict_start)
{
  rq r = rq_new("OPTIONS", "z9hG4bKtxe2");
  ss_peer p = mkpeer(true);
  ss_txn *t = NULL;

  F.fail_send = true;
  (void)ss_txn_request(F.l, &t, mkreq(&r), &p, NULL);
  ck_assert_str_eq(F.ev, "EX");
  ck_assert_ptr_eq(F.err_txn[0], F.term_txn[0]);
  ck_assert_int_eq(F.term_kind[0], SS_TXN_NICT);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 0);
  F.fail_send = false;
  advance(10 * T64);
  ck_assert_uint_eq(F.send_calls, 1);
}
END_TEST

/* The transaction is gone (freed) when ss_txn_request returns after a
 * failed first send: it must say so, and leave *out alone, rather than
 * return 0 with a dangling pointer (STYLE.md: a constructor writes its
 * out-pointer only on success). */
START_TEST(txn_transport_request_fails)
{
  rq r = rq_new("INVITE", "z9hG4bKtxe3");
  ss_peer p = mkpeer(false);
  ss_txn *t = NULL;
  int rc;

  F.fail_send = true;
  rc = ss_txn_request(F.l, &t, mkreq(&r), &p, NULL);
  ck_assert_uint_eq(F.nterm, 1);
  ck_assert_msg(rc == SIPSRV_E_IO, "ss_txn_request returned %d for a transaction already freed", rc);
  ck_assert_ptr_null(t);
}
END_TEST

/* A failed retransmission ends the transaction the same way. */
START_TEST(txn_transport_retransmit)
{
  rq r = rq_new("INVITE", "z9hG4bKtxe4");
  ss_txn *t = client(&r, false);

  advance_to(400);
  F.fail_send = true;
  advance_to(1000);
  ck_assert_str_eq(F.ev, "EX");
  ck_assert_ptr_eq(F.err_txn[0], t);
  ck_assert_uint_eq(F.term_at[0], T1);
  ck_assert_uint_eq(F.send_calls, 2);
  advance(10 * T64);
  ck_assert_uint_eq(F.send_calls, 2);
  ck_assert_uint_eq(F.ntimeout, 0);
}
END_TEST

START_TEST(txn_transport_ist_respond)
{
  rq r = rq_new("INVITE", "z9hG4bKtxe5");
  ss_txn *st = server(&r, false);

  F.fail_send = true;
  ck_assert_int_eq(respond(st, 486), SIPSRV_E_IO);
  ck_assert_str_eq(F.ev, "QEX");
  ck_assert_ptr_eq(F.err_txn[0], st);
  ck_assert_ptr_eq(F.term_txn[0], st);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 0);
  F.fail_send = false;
  advance(10 * T64);
  ck_assert_uint_eq(F.send_calls, 1);
  ck_assert_uint_eq(F.ntimeout, 0);
}
END_TEST

START_TEST(txn_transport_nist_respond)
{
  rq r = rq_new("OPTIONS", "z9hG4bKtxe6");
  ss_txn *st = server(&r, false);

  F.fail_send = true;
  ck_assert_int_eq(respond(st, 200), SIPSRV_E_IO);
  ck_assert_str_eq(F.ev, "QEX");
  ck_assert_ptr_eq(F.err_txn[0], st);
  ck_assert_ptr_eq(F.term_txn[0], st);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 0);
  F.fail_send = false;
  recv_req(&r, false);                   /* a retransmission is a new request now */
  ck_assert_uint_eq(F.nreq, 2);
}
END_TEST

/* ---- request: ss_txn_request errors -------------------------------------- */

START_TEST(txn_request_no_branch)
{
  rq r = rq_new("INVITE", NULL);
  ss_peer p = mkpeer(false);
  ss_txn *t = NULL;

  ck_assert_int_eq(ss_txn_request(F.l, &t, mkreq(&r), &p, NULL), SIPSRV_E_INVAL);
  ck_assert_ptr_null(t);
  ck_assert_uint_eq(F.send_calls, 0);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 0);
}
END_TEST

/* 17.1.1.3: an ACK is never a client transaction of its own. */
START_TEST(txn_request_ack)
{
  rq r = rq_new("ACK", "z9hG4bKreqack");
  ss_peer p = mkpeer(false);
  ss_txn *t = NULL;

  r.to_tag = "t";
  ck_assert_int_eq(ss_txn_request(F.l, &t, mkreq(&r), &p, NULL), SIPSRV_E_INVAL);
  ck_assert_ptr_null(t);
  ck_assert_uint_eq(F.send_calls, 0);
}
END_TEST

/* 8.1.1.7: a branch is unique: the same branch and method twice fails. */
START_TEST(txn_request_exists)
{
  rq r = rq_new("INVITE", "z9hG4bKtwice");
  ss_peer p = mkpeer(false);
  ss_txn *t = client(&r, false), *t2 = NULL;

  ck_assert_int_eq(ss_txn_request(F.l, &t2, mkreq(&r), &p, NULL), SIPSRV_E_EXISTS);
  ck_assert_ptr_null(t2);
  ck_assert_uint_eq(F.send_calls, 1);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 1);
  ck_assert_int_eq(ss_txn_state_of(t), SS_TXN_CALLING);
}
END_TEST

START_TEST(txn_request_invalid_args)
{
  rq r = rq_new("OPTIONS", "z9hG4bKargs");
  ss_peer p = mkpeer(false);
  ss_txn *t = NULL;

  ck_assert_int_eq(ss_txn_request(NULL, &t, mkreq(&r), &p, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(ss_txn_request(F.l, &t, NULL, &p, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(ss_txn_request(F.l, &t, mkreq(&r), NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(ss_txn_request(F.l, &t, mkrsp(&r, 200, "x"), &p, NULL), SIPSRV_E_INVAL);
  ck_assert_ptr_null(t);
  ck_assert_uint_eq(F.send_calls, 0);
  /* out may be NULL */
  ck_assert_int_eq(ss_txn_request(F.l, NULL, mkreq(&r), &p, NULL), 0);
  ck_assert_uint_eq(F.nsent, 1);
}
END_TEST

/* ---- respond: ss_txn_respond errors -------------------------------------- */

/* RFC 3261 17.2.1, 17.2.2 (and txn.h): a server transaction in Completed
 * that no TU owns keeps only what retransmissions need: its request is
 * dropped (memory: the 32 s of Timer J), yet a retransmitted request still
 * gets the final response again and the ACK still matches. An owned one
 * keeps it. */
START_TEST(txn_server_compact_completed)
{
  rq opt = rq_new("OPTIONS", "z9hG4bKcmp"), inv = rq_new("INVITE", "z9hG4bKcmpi");
  ss_txn *nist, *ist;
  char tag[64];
  rq a;
  int owner;

  nist = server(&opt, false);
  ck_assert_int_eq(respond(nist, 200), 0);
  ck_assert_ptr_null(ss_txn_request_msg(nist));
  recv_req(&opt, false);                                  /* retransmission */
  ck_assert_uint_eq(F.nsent, 2);
  ck_assert(sent_same(0, 1));

  ist = server(&inv, false);
  ss_txn_set_owner(ist, &owner);
  ck_assert_int_eq(respond(ist, 486), 0);
  ck_assert_ptr_nonnull(ss_txn_request_msg(ist));         /* owned: kept */
  ss_txn_set_owner(ist, NULL);
  ck_assert_ptr_null(ss_txn_request_msg(ist));
  sent_to_tag(2, tag, sizeof tag);
  a = rq_ack(&inv, tag);
  recv_req(&a, false);
  ck_assert_int_eq(ss_txn_state_of(ist), SS_TXN_CONFIRMED);
}
END_TEST

/* txn.h ss_txn_compact(): an ICT in Completed keeps only its ACK, so a
 * retransmitted 486 is still ACKed (17.1.1.2); an IST in Accepted drops
 * all but its key, and the TU's 2xx retransmissions still go out (RFC 6026
 * 7.1); a transaction still at work is not touched. */
START_TEST(txn_compact_client_and_accepted)
{
  rq inv = rq_new("INVITE", "z9hG4bKcpc"), inv2 = rq_new("INVITE", "z9hG4bKcps");
  ss_txn *ict = client(&inv, false), *ist;
  size_t n;

  ss_txn_compact(ict);                                    /* Calling: kept */
  ck_assert_ptr_nonnull(ss_txn_request_msg(ict));
  recv_rsp(&inv, 486, "t486", false);
  ck_assert_int_eq(ss_txn_state_of(ict), SS_TXN_COMPLETED);
  ss_txn_compact(ict);
  ck_assert_ptr_null(ss_txn_request_msg(ict));
  n = F.nsent;
  recv_rsp(&inv, 486, "t486", false);                     /* retransmitted */
  ck_assert_uint_eq(F.nsent, n + 1);
  ck_assert(sent_starts(n, "ACK "));

  ist = server(&inv2, false);
  ck_assert_int_eq(respond(ist, 200), 0);
  ck_assert_int_eq(ss_txn_state_of(ist), SS_TXN_ACCEPTED);
  ss_txn_compact(ist);
  ck_assert_ptr_null(ss_txn_request_msg(ist));
  n = F.nsent;
  ck_assert_int_eq(respond(ist, 200), 0);                 /* the TU's retransmission */
  ck_assert_uint_eq(F.nsent, n + 1);
}
END_TEST

START_TEST(txn_respond_state)
{
  rq inv = rq_new("INVITE", "z9hG4bKrsi"), opt = rq_new("OPTIONS", "z9hG4bKrsn");
  rq inv2 = rq_new("INVITE", "z9hG4bKrsi2");
  ss_txn *ist, *nist, *ist2;
  rq a;
  char tag[64];

  ist = server(&inv, false);
  ck_assert_int_eq(respond(ist, 486), 0);
  ck_assert_int_eq(respond(ist, 486), SIPSRV_E_STATE);    /* Completed */
  ck_assert_int_eq(respond(ist, 200), SIPSRV_E_STATE);
  ck_assert_int_eq(respond(ist, 180), SIPSRV_E_STATE);
  sent_to_tag(0, tag, sizeof tag);
  a = rq_ack(&inv, tag);
  recv_req(&a, false);
  ck_assert_int_eq(ss_txn_state_of(ist), SS_TXN_CONFIRMED);
  ck_assert_int_eq(respond(ist, 200), SIPSRV_E_STATE);    /* Confirmed */

  nist = server(&opt, false);
  ck_assert_int_eq(respond(nist, 200), 0);
  ck_assert_int_eq(respond(nist, 200), SIPSRV_E_STATE);   /* Completed */
  ck_assert_int_eq(respond(nist, 500), SIPSRV_E_STATE);

  ist2 = server(&inv2, false);
  ck_assert_int_eq(respond(ist2, 200), 0);
  ck_assert_int_eq(respond(ist2, 486), SIPSRV_E_STATE);   /* Accepted takes only 2xx */
  ck_assert_int_eq(respond(ist2, 180), SIPSRV_E_STATE);
  ck_assert_uint_eq(F.nsent, 3);
}
END_TEST

START_TEST(txn_respond_client)
{
  rq inv = rq_new("INVITE", "z9hG4bKrc1"), opt = rq_new("OPTIONS", "z9hG4bKrc2");
  ss_txn *ict = client(&inv, false), *nict = client(&opt, false);

  ck_assert_int_eq(ss_txn_respond(ict, mkrsp(&inv, 200, "x")), SIPSRV_E_INVAL);
  ck_assert_int_eq(ss_txn_respond(nict, mkrsp(&opt, 200, "x")), SIPSRV_E_INVAL);
  ck_assert_uint_eq(F.nsent, 2);
  ck_assert_int_eq(ss_txn_state_of(ict), SS_TXN_CALLING);
  ck_assert_int_eq(ss_txn_state_of(nict), SS_TXN_TRYING);
}
END_TEST

START_TEST(txn_respond_invalid_args)
{
  rq r = rq_new("OPTIONS", "z9hG4bKrinv");
  ss_txn *st = server(&r, false);

  ck_assert_int_eq(ss_txn_respond(NULL, mkrsp(&r, 200, "x")), SIPSRV_E_INVAL);
  ck_assert_int_eq(ss_txn_respond(st, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(ss_txn_respond(st, mkreq(&r)), SIPSRV_E_INVAL);   /* not a response */
  ck_assert_uint_eq(F.send_calls, 0);
  ck_assert_int_eq(ss_txn_state_of(st), SS_TXN_TRYING);
}
END_TEST

/* ss_txn_recv takes the message also when it cannot use it. */
START_TEST(txn_recv_invalid_args)
{
  rq r = rq_new("OPTIONS", "z9hG4bKrecv");
  ss_peer p = mkpeer(false);

  ss_txn_recv(NULL, mkreq(&r), &p);
  ss_txn_recv(F.l, NULL, &p);
  ss_txn_recv(F.l, mkreq(&r), NULL);
  ck_assert_uint_eq(F.nev, 0);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 0);
}
END_TEST

/* ---- free: life cycle and freeing ------------------------------------- */

/* ss_txn_layer_free ends live transactions of every kind and state without
 * callbacks and frees them (valgrind checks), leaving no timer armed. */
START_TEST(txn_free_live_every_kind)
{
  rq c1 = rq_new("INVITE", "z9hG4bKf1"), c2 = rq_new("INVITE", "z9hG4bKf2");
  rq c3 = rq_new("INVITE", "z9hG4bKf3"), c4 = rq_new("OPTIONS", "z9hG4bKf4");
  rq c5 = rq_new("OPTIONS", "z9hG4bKf5"), c6 = rq_new("OPTIONS", "z9hG4bKf6");
  rq s1 = rq_new("INVITE", "z9hG4bKs1"), s2 = rq_new("INVITE", "z9hG4bKs2");
  rq s3 = rq_new("INVITE", "z9hG4bKs3"), s4 = rq_new("INVITE", "z9hG4bKs4");
  rq s5 = rq_new("OPTIONS", "z9hG4bKs5"), s6 = rq_new("OPTIONS", "z9hG4bKs6");
  rq s7 = rq_new("OPTIONS", "z9hG4bKs7"), a;
  char tag[64];
  size_t n;

  client(&c1, false);                                      /* ICT Calling */
  client(&c2, false);
  recv_rsp(&c2, 486, "x", false);                          /* ICT Completed, keeps an ACK */
  client(&c3, true);
  recv_rsp(&c3, 200, "y", true);                           /* ICT Accepted */
  client(&c4, false);                                      /* NICT Trying */
  client(&c5, false);
  recv_rsp(&c5, 100, NULL, false);                         /* NICT Proceeding */
  client(&c6, false);
  recv_rsp(&c6, 200, "z", false);                          /* NICT Completed */
  server(&s1, false);                                      /* IST Proceeding, 100 kept */
  ck_assert_int_eq(respond(server(&s2, false), 486), 0);   /* IST Completed */
  n = F.nsent;
  ck_assert_int_eq(respond(server(&s3, false), 486), 0);
  sent_to_tag(n, tag, sizeof tag);
  a = rq_ack(&s3, tag);
  recv_req(&a, false);                                     /* IST Confirmed */
  ck_assert_int_eq(respond(server(&s4, false), 200), 0);   /* IST Accepted */
  server(&s5, false);                                      /* NIST Trying */
  ck_assert_int_eq(respond(server(&s6, true), 100), 0);    /* NIST Proceeding */
  ck_assert_int_eq(respond(server(&s7, false), 200), 0);   /* NIST Completed */
  advance(300);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 13);
  ck_assert_uint_eq(F.nterm, 0);
  ck_assert_uint_gt(F.ts.n, 0);

  ss_txn_layer_free(F.l);
  F.l = NULL;
  ck_assert_uint_eq(F.nterm, 0);         /* without callbacks */
  ck_assert_uint_eq(F.ts.n, 0);          /* every timer disarmed */
  ss_txn_layer_free(NULL);               /* NULL-safe */
}
END_TEST

/* Every transaction ends on its own: the count drops to 0, each
 * terminated() is called once, the heap is empty. */
START_TEST(txn_free_count_to_zero)
{
  rq c1 = rq_new("INVITE", "z9hG4bKz1"), c2 = rq_new("INVITE", "z9hG4bKz2");
  rq c3 = rq_new("OPTIONS", "z9hG4bKz3"), c4 = rq_new("OPTIONS", "z9hG4bKz4");
  rq s1 = rq_new("INVITE", "z9hG4bKz5"), s2 = rq_new("INVITE", "z9hG4bKz6");
  rq s3 = rq_new("OPTIONS", "z9hG4bKz7"), s4 = rq_new("OPTIONS", "z9hG4bKz8");

  client(&c1, false);                                      /* ends by Timer B */
  client(&c2, false);
  recv_rsp(&c2, 200, "a", false);                          /* Timer M */
  client(&c3, false);                                      /* Timer F */
  client(&c4, true);
  recv_rsp(&c4, 404, "b", true);                           /* Timer K = 0 */
  ck_assert_int_eq(respond(server(&s1, false), 486), 0);   /* Timer H */
  ck_assert_int_eq(respond(server(&s2, false), 200), 0);   /* Timer L */
  server(&s3, false);                                      /* the guard */
  ck_assert_int_eq(respond(server(&s4, false), 200), 0);   /* Timer J */
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 8);           /* c4 ends at the next expire */
  advance(0);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 7);
  ck_assert_uint_eq(F.nterm, 1);
  advance(T64 + TD);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 0);
  ck_assert_uint_eq(F.nterm, 8);
  ck_assert_uint_eq(F.ntimeout, 3);                        /* B, F, H */
  ck_assert_uint_eq(F.ts.n, 0);
}
END_TEST

/* More transactions than the table's first 64 buckets: after it grows,
 * every retransmission still finds its own transaction. */
START_TEST(txn_free_many)
{
  char branch[200][32];
  rq r[200];
  ss_txn *st[200];

  for (int i = 0; i < 200; i++) {
    snprintf(branch[i], sizeof branch[i], "z9hG4bKmany%d", i);
    r[i] = rq_new(i % 2 ? "OPTIONS" : "INVITE", branch[i]);
    st[i] = server(&r[i], false);
  }
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 200);
  for (int i = 0; i < 200; i++)
    ck_assert_int_eq(respond(st[i], i % 2 ? 200 : 486), 0);
  ck_assert_uint_eq(F.nsent, 200);
  for (int i = 0; i < 200; i++)
    recv_req(&r[i], false);
  ck_assert_uint_eq(F.nreq, 200);
  ck_assert_uint_eq(F.nsent, 400);
  for (int i = 0; i < 200; i++)
    ck_assert_msg(sent_same((size_t)i, (size_t)(200 + i)), "retransmission %d answered wrongly", i);
  advance(T64);
  ck_assert_uint_eq(ss_txn_layer_count(F.l), 0);
  ck_assert_uint_eq(F.nterm, 200);
}
END_TEST

/* ------------------------------------------------------------------------ */

static TCase *tcase(Suite *s, const char *name)
{
  TCase *tc = tcase_create(name);
  tcase_add_checked_fixture(tc, setup, teardown);
  suite_add_tcase(s, tc);
  return tc;
}

static Suite *suite(void)
{
  Suite *s = suite_create("txn");
  TCase *tc;

  tc = tcase(s, "layer");
  tcase_add_test(tc, txn_layer_new_invalid);
  tcase_add_test(tc, txn_layer_minimal_tu);

  tc = tcase(s, "api");
  tcase_add_test(tc, txn_api_accessors);
  tcase_add_test(tc, txn_api_state_names);

  tc = tcase(s, "ict");
  tcase_add_test(tc, txn_ict_udp_timer_a);
  tcase_add_test(tc, txn_ict_udp_timer_b);
  tcase_add_test(tc, txn_ict_provisional_stops_retransmit);
  tcase_add_test(tc, txn_ict_486_ack_bytes);
  tcase_add_test(tc, txn_ict_486_in_proceeding);
  tcase_add_test(tc, txn_ict_486_retransmitted);
  tcase_add_test(tc, txn_ict_udp_timer_d);
  tcase_add_test(tc, txn_ict_tcp_timer_d);
  tcase_add_test(tc, txn_ict_2xx_accepted);
  tcase_add_test(tc, txn_client_status_from_bytes);
  tcase_add_test(tc, txn_ict_tcp_no_retransmit);

  tc = tcase(s, "nict");
  tcase_add_test(tc, txn_nict_udp_timer_e);
  tcase_add_test(tc, txn_nict_udp_timer_f);
  tcase_add_test(tc, txn_nict_provisional_t2);
  tcase_add_test(tc, txn_nict_final_completed);
  tcase_add_test(tc, txn_nict_tcp_timer_k);
  tcase_add_test(tc, txn_nict_tcp_no_retransmit);

  tc = tcase(s, "timers");
  tcase_add_test(tc, txn_timers_ict_scaled);
  tcase_add_test(tc, txn_timers_nict_scaled);
  tcase_add_test(tc, txn_timers_ist_scaled);

  tc = tcase(s, "ist");
  tcase_add_test(tc, txn_ist_new_request);
  tcase_add_test(tc, txn_ist_trying_at_200ms);
  tcase_add_test(tc, txn_ist_no_trying_when_answered);
  tcase_add_test(tc, txn_ist_trying_disabled);
  tcase_add_test(tc, txn_ist_retransmit_in_proceeding);
  tcase_add_test(tc, txn_ist_486_timer_g);
  tcase_add_test(tc, txn_ist_timer_h);
  tcase_add_test(tc, txn_ist_ack_confirmed);
  tcase_add_test(tc, txn_ist_tcp_timer_i);
  tcase_add_test(tc, txn_ist_retransmit_in_completed);
  tcase_add_test(tc, txn_ist_tcp_no_timer_g);
  tcase_add_test(tc, txn_ist_2xx_accepted);

  tc = tcase(s, "nist");
  tcase_add_test(tc, txn_nist_new_request);
  tcase_add_test(tc, txn_nist_retransmit_in_trying);
  tcase_add_test(tc, txn_nist_final_completed);
  tcase_add_test(tc, txn_nist_wire_final);
  tcase_add_test(tc, txn_ist_wire_final);
  tcase_add_test(tc, txn_ist_wire_provisional);
  tcase_add_test(tc, txn_nist_tcp_timer_j);
  tcase_add_test(tc, txn_nist_guard);

  tc = tcase(s, "rfc4320");
  tcase_add_test(tc, txn_rfc4320_no_408);
  tcase_add_test(tc, txn_rfc4320_no_180);
  tcase_add_test(tc, txn_rfc4320_100_udp_early);
  tcase_add_test(tc, txn_rfc4320_100_udp_after_t2);
  tcase_add_test(tc, txn_rfc4320_100_tcp);

  tc = tcase(s, "match");
  tcase_add_test(tc, txn_match_2543_no_branch);
  tcase_add_test(tc, txn_match_2543_long_uri_dropped);
  tcase_add_test(tc, txn_match_2543_old_branch);
  tcase_add_test(tc, txn_match_2543_ack);
  tcase_add_test(tc, txn_match_2543_ack_to_tag);
  tcase_add_test(tc, txn_match_2543_new_cseq);
  tcase_add_test(tc, txn_match_2543_callid_case);
  tcase_add_test(tc, txn_match_sent_by);
  tcase_add_test(tc, txn_match_host_case);
  tcase_add_test(tc, txn_match_method);
  tcase_add_test(tc, txn_match_response_cseq_method);
  tcase_add_test(tc, txn_match_stray_response);
  tcase_add_test(tc, txn_match_ack_no_transaction);

  tc = tcase(s, "cancel");
  tcase_add_test(tc, txn_cancel_target_cookie);
  tcase_add_test(tc, txn_cancel_target_2543);
  tcase_add_test(tc, txn_cancel_target_none);
  tcase_add_test(tc, txn_cancel_client);

  tc = tcase(s, "transport");
  tcase_add_test(tc, txn_transport_ict_start);
  tcase_add_test(tc, txn_transport_nict_start);
  tcase_add_test(tc, txn_transport_request_fails);
  tcase_add_test(tc, txn_transport_retransmit);
  tcase_add_test(tc, txn_transport_ist_respond);
  tcase_add_test(tc, txn_transport_nist_respond);

  tc = tcase(s, "request");
  tcase_add_test(tc, txn_request_no_branch);
  tcase_add_test(tc, txn_request_ack);
  tcase_add_test(tc, txn_request_exists);
  tcase_add_test(tc, txn_request_invalid_args);

  tc = tcase(s, "respond");
  tcase_add_test(tc, txn_respond_state);
  tcase_add_test(tc, txn_server_compact_completed);
  tcase_add_test(tc, txn_compact_client_and_accepted);
  tcase_add_test(tc, txn_respond_client);
  tcase_add_test(tc, txn_respond_invalid_args);
  tcase_add_test(tc, txn_recv_invalid_args);

  tc = tcase(s, "free");
  tcase_add_test(tc, txn_free_live_every_kind);
  tcase_add_test(tc, txn_free_count_to_zero);
  tcase_add_test(tc, txn_free_many);

  return s;
}

int main(void)
{
  return harness_run(suite());
}
