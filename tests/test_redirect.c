/* Tests of the redirect area: the redirect server role (lib/roles/redirect.c)
 * on a core with a fake UDP transport that records what is sent and where,
 * a manual monotonic clock and a manual wall clock, with the memory store
 * (or an asynchronous one) as location service. Requests come from a caller
 * at 192.0.2.1:5070. Each test cites the rule of RFC 3261 (8.3, 21.3, 21.4)
 * it checks. */
#include <check.h>

#include "harness.h"

#include <sipsrv/core.h>
#include <sipsrv/error.h>
#include <sipsrv/msg.h>
#include <sipsrv/redirect.h>
#include <sipsrv/registrar.h>
#include <sipsrv/store.h>
#include <sipsrv/transport.h>
#include <sipsrv/uas.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WALL0 1795000000000ll
#define MONO0 100000ull
#define SRV_HOST "192.0.2.10"
#define CALLER "192.0.2.1:5070"
#define BOB "sip:bob@example.com"
#define C1 "sip:bob@192.0.2.20:5062"
#define C2 "sip:bob@192.0.2.21:5064"

typedef struct sent_msg {
  char *data;
  char dst[64];
} sent_msg;

typedef struct async_store {
  sipsrv_store_get_cb done;
  void *ctx;
  bool pending;
} async_store;

typedef enum rule_mode { RULE_NONE, RULE_CAROL, RULE_REJECT, RULE_KNOWN, RULE_SELF, RULE_MANY } rule_mode;

typedef struct world {
  bool live;
  tclock clock, wall;
  sipsrv_core *core;
  sipsrv_transport *tp;
  sipsrv_store *store;
  async_store as;
  sipsrv_redirect *rd;
  sipsrv_registrar *reg;
  sipsrv_uas *uas;
  sent_msg sent[64];
  size_t nsent;
  sipsrv_msg *parsed[64];
  size_t nparsed;
  rule_mode rule;
  int rule_rc[4];
} world;

static world W;

static int fake_send(void *user, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
                     const struct iovec *iov, int iovcnt)
{
  world *w = user;
  const struct sockaddr_in *a = (const void *)dst;
  char ip[32];
  size_t len = 0;
  sent_msg *s;
  (void)conn;
  (void)dstlen;
  ck_assert_uint_lt(w->nsent, 64);
  s = &w->sent[w->nsent++];
  for (int i = 0; i < iovcnt; i++)
    len += iov[i].iov_len;
  s->data = malloc(len + 1);
  ck_assert_ptr_nonnull(s->data);
  len = 0;
  for (int i = 0; i < iovcnt; i++) {
    memcpy(s->data + len, iov[i].iov_base, iov[i].iov_len);
    len += iov[i].iov_len;
  }
  s->data[len] = '\0';
  inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
  snprintf(s->dst, sizeof s->dst, "%s:%u", ip, ntohs(a->sin_port));
  return 0;
}

static const struct sipsrv_transport_ops udp_ops = {
  SIPSRV_TRANSPORT_OPS_VERSION, sizeof(struct sipsrv_transport_ops), "UDP", 0, fake_send, NULL
};

static int as_get(void *user, const char *aor, int64_t now_ms, sipsrv_store_get_cb done, void *ctx)
{
  async_store *s = user;
  (void)aor;
  (void)now_ms;
  ck_assert(!s->pending);
  s->done = done;
  s->ctx = ctx;
  s->pending = true;
  return 0;
}

static int as_put(void *user, const char *aor, const sipsrv_binding *b, size_t n,
                  sipsrv_store_done_cb done, void *ctx)
{
  (void)user;
  (void)aor;
  (void)b;
  (void)n;
  done(ctx, 0);
  return 0;
}

static const struct sipsrv_store_ops async_ops = {
  SIPSRV_STORE_OPS_VERSION, sizeof(struct sipsrv_store_ops), as_get, as_put, NULL, NULL, NULL, NULL,
  NULL
};

static const char *const domains[] = { "example.com", NULL };

static void rule_cb(sipsrv_redirect *rd, sipsrv_redirect_targets *t, const sipsrv_msg *req,
                    void *user)
{
  world *w = user;
  const char *ruri = NULL;
  char buf[256];
  (void)rd;
  if (sipsrv_msg_request_uri_str(req, buf, sizeof buf) > 0)
    ruri = buf;
  switch (w->rule) {
  case RULE_CAROL:
    if (ruri && strncmp(ruri, "sip:carol@", 10) == 0)
      w->rule_rc[0] = sipsrv_redirect_add(t, "sip:carol@192.0.2.50:5070", -1, -1);
    break;
  case RULE_REJECT:
    w->rule_rc[0] = sipsrv_redirect_add(t, "sip:x@192.0.2.50", 500, 60);
    w->rule_rc[1] = sipsrv_redirect_reject(t, 603, "Go Away");
    w->rule_rc[2] = sipsrv_redirect_add(t, "sip:y@192.0.2.50", 500, 60);
    break;
  case RULE_KNOWN:
    w->rule_rc[0] = sipsrv_redirect_known(t);
    break;
  case RULE_SELF:
    w->rule_rc[0] = sipsrv_redirect_add(t, ruri ? ruri : "sip:x@y", -1, -1);
    break;
  case RULE_MANY:
    for (int i = 0; i < 16; i++)
      ck_assert_int_eq(sipsrv_redirect_add(t, "sip:many@192.0.2.60", i * 10, 30), 0);
    w->rule_rc[0] = sipsrv_redirect_add(t, "sip:many@192.0.2.61", 0, 30);
    w->rule_rc[1] = sipsrv_redirect_add(t, "not a uri", 0, 30);
    w->rule_rc[2] = sipsrv_redirect_add(t, "sip:a@b", 1001, 30);
    w->rule_rc[3] = sipsrv_redirect_add(t, "sip:a@b", 0, -2);
    break;
  default:
    break;
  }
}

#define W_ASYNC 1u
#define W_UAS 2u
#define W_REG 4u
#define W_NOLOC 8u

static void world_fini(world *w)
{
  if (!w->live)
    return;
  w->live = false;
  sipsrv_redirect_free(w->rd);
  sipsrv_registrar_free(w->reg);
  sipsrv_uas_free(w->uas);
  sipsrv_core_free(w->core);
  sipsrv_store_free(w->store);
  for (size_t i = 0; i < w->nsent; i++)
    free(w->sent[i].data);
  for (size_t i = 0; i < w->nparsed; i++)
    sipsrv_msg_free(w->parsed[i]);
  memset(w, 0, sizeof *w);
}

static void teardown(void)
{
  world_fini(&W);
}

static world *world_new(unsigned flags, rule_mode rule)
{
  world *w = &W;
  sipsrv_core_cfg cc = SIPSRV_CORE_CFG_INIT;
  sipsrv_redirect_cfg rc = SIPSRV_REDIRECT_CFG_INIT;

  world_fini(w);
  memset(w, 0, sizeof *w);
  w->live = true;
  w->clock.now_ms = MONO0;
  w->wall.now_ms = (uint64_t)WALL0;
  w->rule = rule;
  cc.clock = tclock_now;
  cc.clock_user = &w->clock;
  cc.wall_clock = tclock_now;
  cc.wall_clock_user = &w->wall;
  ck_assert_int_eq(sipsrv_core_new(&w->core, &cc), 0);
  ck_assert_int_eq(sipsrv_core_add_transport(w->core, &udp_ops, w, SRV_HOST, 5060, &w->tp), 0);
  if (flags & W_ASYNC)
    ck_assert_int_eq(sipsrv_store_new(&w->store, &async_ops, &w->as), 0);
  else
    ck_assert_int_eq(sipsrv_store_memory_new(&w->store, w->core), 0);
  if (flags & W_REG) {
    sipsrv_registrar_cfg g = SIPSRV_REGISTRAR_CFG_INIT;
    g.domains = domains;
    g.store = w->store;
    ck_assert_int_eq(sipsrv_registrar_new(&w->reg, w->core, &g), 0);
  }
  rc.domains = domains;
  rc.location = (flags & W_NOLOC) ? NULL : w->store;
  rc.on_redirect = rule != RULE_NONE ? rule_cb : NULL;
  rc.user = w;
  ck_assert_int_eq(sipsrv_redirect_new(&w->rd, w->core, &rc), 0);
  if (flags & W_UAS)
    ck_assert_int_eq(sipsrv_uas_new(&w->uas, w->core, NULL), 0);
  return w;
}

static void put_done(void *ctx, int err)
{
  *(int *)ctx = err;
}

/* Bindings of BOB: contact, q (-1 none), seconds left. */
static void bind_bob(world *w, const char *c1, int q1, int s1, const char *c2, int q2, int s2)
{
  sipsrv_binding b[2];
  int err = 1;
  memset(b, 0, sizeof b);
  b[0].contact = c1;
  b[0].q = q1;
  b[0].expires = WALL0 + s1 * 1000ll;
  b[0].call_id = "reg-1";
  b[0].cseq = 1;
  b[1] = b[0];
  b[1].contact = c2;
  b[1].q = q2;
  b[1].expires = WALL0 + s2 * 1000ll;
  ck_assert_int_eq(sipsrv_store_put(w->store, "sip:bob@example.com", b, c2 ? 2 : 1, put_done, &err), 0);
  ck_assert_int_eq(err, 0);
}

static void send_raw(world *w, const char *data)
{
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(5070);
  inet_pton(AF_INET, "192.0.2.1", &a.sin_addr);
  ck_assert_int_eq(sipsrv_core_recv(w->core, w->tp, 0, (const struct sockaddr *)&a, sizeof a, data,
                                    strlen(data)),
                   0);
}

/* A request from the caller; method, Request-URI, branch. */
static void send_rq(world *w, const char *method, const char *uri, const char *branch)
{
  char buf[2048];
  const char *cseq_method = strcmp(method, "ACK") == 0 || strcmp(method, "CANCEL") == 0 ? "INVITE" : method;
  (void)cseq_method;
  snprintf(buf, sizeof buf,
           "%s %s SIP/2.0\r\n"
           "Via: SIP/2.0/UDP " CALLER ";branch=%s\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:alice@example.org>;tag=a1\r\n"
           "To: <%s>%s\r\n"
           "Call-ID: call-%s@192.0.2.1\r\n"
           "CSeq: 1 %s\r\n"
           "Contact: <sip:alice@" CALLER ">\r\n"
           "Content-Length: 0\r\n\r\n",
           method, uri, branch, uri, strcmp(method, "ACK") == 0 ? ";tag=t1" : "", branch, method);
  send_raw(w, buf);
}

static sipsrv_msg *parse_at(world *w, size_t i)
{
  sipsrv_msg *m = NULL;
  sipsrv_verdict v;
  ck_assert_uint_lt(i, w->nsent);
  ck_assert_int_eq(sipsrv_msg_parse(&m, w->sent[i].data, strlen(w->sent[i].data), 0, &v), 0);
  w->parsed[w->nparsed++] = m;
  return m;
}

/* The last response sent: its status. */
static int last_status(world *w)
{
  ck_assert_uint_gt(w->nsent, 0);
  ck_assert_str_eq(w->sent[w->nsent - 1].dst, CALLER);
  return sipsrv_msg_status(parse_at(w, w->nsent - 1));
}

/* The Contact values of the last response, in order, as one string. */
static const char *contacts(world *w, char *buf, size_t size)
{
  sipsrv_msg *m = parse_at(w, w->nsent - 1);
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; i < 20; i++) {
    char v[512];
    int k = sipsrv_msg_header(m, "Contact", i, v, sizeof v);
    if (k <= 0)
      break;
    n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? " | " : "", v);
  }
  return buf;
}

/* RFC 3261 8.3 and 21.3.3: one binding: 302 with its Contact, q and the
 * seconds it has left; the ACK is absorbed by the transaction (17.2.1: no
 * more 302 retransmissions once it came). */
START_TEST(redirect_302_one_binding)
{
  world *w = world_new(0, RULE_NONE);
  char buf[1024];
  size_t n;
  bind_bob(w, C1, 700, 3600, NULL, 0, 0);
  send_rq(w, "INVITE", BOB, "z9hG4bKr1");
  ck_assert_int_eq(last_status(w), 302);
  ck_assert_str_eq(contacts(w, buf, sizeof buf), "<" C1 ">;q=0.700;expires=3600");
  send_rq(w, "ACK", BOB, "z9hG4bKr1");
  n = w->nsent;
  tclock_advance(&w->clock, 40000);
  sipsrv_core_expire(w->core);
  ck_assert_uint_eq(w->nsent, n);
}
END_TEST

/* Without the ACK the 302 is retransmitted (17.2.1, Timer G): the 3xx went
 * through the INVITE server transaction. */
START_TEST(redirect_302_retransmitted_until_ack)
{
  world *w = world_new(0, RULE_NONE);
  bind_bob(w, C1, -1, 3600, NULL, 0, 0);
  send_rq(w, "INVITE", BOB, "z9hG4bKr1");
  ck_assert_int_eq(last_status(w), 302);
  tclock_advance(&w->clock, 600);
  sipsrv_core_expire(w->core);
  ck_assert_uint_eq(w->nsent, 2);
  ck_assert_int_eq(last_status(w), 302);
}
END_TEST

/* 21.3.1: several bindings: 300, ordered by q (highest first, none counts
 * as 1), each with its expires, which counts down with the wall clock. */
START_TEST(redirect_300_ordered_by_q)
{
  world *w = world_new(0, RULE_NONE);
  char buf[1024];
  bind_bob(w, C1, 500, 3600, C2, -1, 100);
  w->wall.now_ms += 40000;
  send_rq(w, "INVITE", BOB, "z9hG4bKr1");
  ck_assert_int_eq(last_status(w), 300);
  ck_assert_str_eq(contacts(w, buf, sizeof buf),
                   "<" C2 ">;expires=60 | <" C1 ">;q=0.500;expires=3560");
}
END_TEST

/* 8.3: any method is redirected, not only INVITE. */
START_TEST(redirect_message_302)
{
  world *w = world_new(0, RULE_NONE);
  bind_bob(w, C1, -1, 3600, NULL, 0, 0);
  send_rq(w, "MESSAGE", BOB, "z9hG4bKm1");
  ck_assert_int_eq(last_status(w), 302);
}
END_TEST

/* 21.4.4 and 21.4.18: no binding: 404 for an unknown user, 480 for a
 * known one (credentials in the realm); 404 for a domain not ours. */
START_TEST(redirect_404_unknown_480_known)
{
  world *w = world_new(0, RULE_NONE);
  send_rq(w, "INVITE", "sip:nobody@example.com", "z9hG4bKr1");
  ck_assert_int_eq(last_status(w), 404);
  ck_assert_int_eq(sipsrv_store_add_user(w->store, "bob", "example.com", "secret"), 0);
  send_rq(w, "INVITE", BOB, "z9hG4bKr2");
  ck_assert_int_eq(last_status(w), 480);
  send_rq(w, "INVITE", "sip:bob@other.test", "z9hG4bKr3");
  ck_assert_int_eq(last_status(w), 404);
}
END_TEST

/* RFC 3261 8.2.2.1 (RFC 4475 3.3.2): an unknown Request-URI scheme: 416. */
START_TEST(redirect_unknown_scheme_416)
{
  world *w = world_new(0, RULE_NONE);
  send_rq(w, "INVITE", "nobodyknowsthisscheme:totallyopaquecontent", "z9hG4bKr1");
  ck_assert_int_eq(last_status(w), 416);
}
END_TEST

/* redirect.h: the application's rules come first; the location service's
 * contacts are added to them. */
START_TEST(redirect_rule_targets)
{
  world *w = world_new(0, RULE_CAROL);
  char buf[1024];
  send_rq(w, "INVITE", "sip:carol@example.com", "z9hG4bKr1");
  ck_assert_int_eq(w->rule_rc[0], 0);
  ck_assert_int_eq(last_status(w), 302);
  ck_assert_str_eq(contacts(w, buf, sizeof buf), "<sip:carol@192.0.2.50:5070>");
  /* A rule for a foreign domain works too. */
  send_rq(w, "INVITE", "sip:carol@other.test", "z9hG4bKr2");
  ck_assert_int_eq(last_status(w), 302);
  bind_bob(w, C1, 300, 3600, NULL, 0, 0);
  send_rq(w, "INVITE", BOB, "z9hG4bKr3");
  ck_assert_int_eq(last_status(w), 302);
}
END_TEST

/* redirect.h: a reject wins over targets added before it; none can be added after. */
START_TEST(redirect_rule_reject)
{
  world *w = world_new(0, RULE_REJECT);
  bind_bob(w, C1, -1, 3600, NULL, 0, 0);
  send_rq(w, "INVITE", BOB, "z9hG4bKr1");
  ck_assert_int_eq(w->rule_rc[0], 0);
  ck_assert_int_eq(w->rule_rc[1], 0);
  ck_assert_int_eq(w->rule_rc[2], SIPSRV_E_STATE);
  ck_assert_int_eq(last_status(w), 603);
  ck_assert_ptr_nonnull(strstr(w->sent[w->nsent - 1].data, "SIP/2.0 603 Go Away\r\n"));
}
END_TEST

/* redirect.h: a user the application knows gets 480 without a binding. */
START_TEST(redirect_rule_known_480)
{
  world *w = world_new(W_NOLOC, RULE_KNOWN);
  send_rq(w, "INVITE", "sip:dave@example.com", "z9hG4bKr1");
  ck_assert_int_eq(last_status(w), 480);
}
END_TEST

/* 8.3: never a redirect to the Request-URI itself (a loop): 404. */
START_TEST(redirect_not_to_request_uri)
{
  world *w = world_new(W_NOLOC, RULE_SELF);
  send_rq(w, "INVITE", "sip:eve@example.com", "z9hG4bKr1");
  ck_assert_int_eq(last_status(w), 404);
}
END_TEST

/* redirect.h: at most 16 targets; bad URIs and values refused. */
START_TEST(redirect_add_limits)
{
  world *w = world_new(W_NOLOC, RULE_MANY);
  char buf[4096];
  send_rq(w, "INVITE", "sip:many@example.com", "z9hG4bKr1");
  ck_assert_int_eq(w->rule_rc[0], SIPSRV_E_TOOBIG);
  ck_assert_int_eq(w->rule_rc[1], SIPSRV_E_INVAL);
  ck_assert_int_eq(w->rule_rc[2], SIPSRV_E_INVAL);
  ck_assert_int_eq(w->rule_rc[3], SIPSRV_E_INVAL);
  ck_assert_int_eq(last_status(w), 300);
  /* Highest q first. */
  contacts(w, buf, sizeof buf);
  ck_assert_msg(strncmp(buf, "<sip:many@192.0.2.60>;q=0.150;", 30) == 0, "%s", buf);
}
END_TEST

/* 9.2: a CANCEL of the INVITE we answered gets 200; of none, 481. */
START_TEST(redirect_cancel)
{
  world *w = world_new(0, RULE_NONE);
  bind_bob(w, C1, -1, 3600, NULL, 0, 0);
  send_rq(w, "INVITE", BOB, "z9hG4bKr1");
  ck_assert_int_eq(last_status(w), 302);
  send_rq(w, "CANCEL", BOB, "z9hG4bKr1");
  ck_assert_int_eq(last_status(w), 200);
  ck_assert_ptr_nonnull(strstr(w->sent[w->nsent - 1].data, "CSeq: 1 CANCEL"));
  send_rq(w, "CANCEL", BOB, "z9hG4bKnone");
  ck_assert_int_eq(last_status(w), 481);
}
END_TEST

/* redirect.h: REGISTER is the registrar's and requests to the server itself
 * the UAS's (OPTIONS to its address: 200, not a redirect). */
START_TEST(redirect_leaves_register_and_own_requests)
{
  world *w = world_new(W_REG | W_UAS, RULE_NONE);
  send_raw(w, "REGISTER sip:example.com SIP/2.0\r\n"
              "Via: SIP/2.0/UDP " CALLER ";branch=z9hG4bKreg1\r\n"
              "Max-Forwards: 70\r\n"
              "From: <sip:bob@example.com>;tag=r1\r\n"
              "To: <sip:bob@example.com>\r\n"
              "Call-ID: reg-9@192.0.2.1\r\n"
              "CSeq: 1 REGISTER\r\n"
              "Contact: <" C1 ">\r\n"
              "Expires: 600\r\n"
              "Content-Length: 0\r\n\r\n");
  ck_assert_int_eq(last_status(w), 200);
  send_rq(w, "OPTIONS", "sip:" SRV_HOST ":5060", "z9hG4bKo1");
  ck_assert_int_eq(last_status(w), 200);
  send_rq(w, "OPTIONS", "sip:example.com", "z9hG4bKo2");
  ck_assert_int_eq(last_status(w), 200);
  /* The binding just registered is where bob is now. */
  send_rq(w, "INVITE", BOB, "z9hG4bKr1");
  ck_assert_int_eq(last_status(w), 302);
}
END_TEST

/* store.h: an asynchronous store answers later; the 302 goes then. A store
 * failure is logged once per episode (ARCHITECTURE.md). */
START_TEST(redirect_async_store)
{
  world *w = world_new(W_ASYNC, RULE_NONE);
  sipsrv_binding b;
  tlogcount log = { "redirect: location store failing", "redirect: location store works again", 0, 0 };
  ck_assert_int_eq(sipsrv_core_set_log(w->core, tlog_count, SIPSRV_LOG_WARN, &log), 0);
  memset(&b, 0, sizeof b);
  b.contact = C1;
  b.q = -1;
  b.expires = WALL0 + 120000;
  send_rq(w, "INVITE", BOB, "z9hG4bKr1");
  ck_assert(w->as.pending);
  ck_assert_uint_eq(w->nsent, 0);
  w->as.pending = false;
  w->as.done(w->as.ctx, 0, &b, 1);
  ck_assert_int_eq(last_status(w), 302);
  /* A store failure: 500 with Retry-After. */
  send_rq(w, "INVITE", BOB, "z9hG4bKr2");
  w->as.pending = false;
  w->as.done(w->as.ctx, SIPSRV_E_STORE, NULL, 0);
  ck_assert_int_eq(last_status(w), 500);
  ck_assert_ptr_nonnull(strstr(w->sent[w->nsent - 1].data, "Retry-After: 5"));
  send_rq(w, "INVITE", BOB, "z9hG4bKr3");
  w->as.pending = false;
  w->as.done(w->as.ctx, SIPSRV_E_STORE, NULL, 0);
  ck_assert_int_eq(last_status(w), 500);
  ck_assert_int_eq(log.nfail, 1);
  send_rq(w, "INVITE", BOB, "z9hG4bKr4");
  w->as.pending = false;
  w->as.done(w->as.ctx, 0, &b, 1);
  ck_assert_int_eq(last_status(w), 302);
  ck_assert_int_eq(log.nfail, 1);
  ck_assert_int_eq(log.nback, 1);
}
END_TEST

/* Freed while the store works: the caller gets 500, the store's late answer
 * frees the request (no leak, no use after free under valgrind). */
START_TEST(redirect_free_while_store_pending)
{
  world *w = world_new(W_ASYNC, RULE_NONE);
  send_rq(w, "INVITE", BOB, "z9hG4bKr1");
  ck_assert(w->as.pending);
  sipsrv_redirect_free(w->rd);
  w->rd = NULL;
  ck_assert_int_eq(last_status(w), 500);
  w->as.pending = false;
  w->as.done(w->as.ctx, 0, NULL, 0);
}
END_TEST

/* redirect.h: the configuration checks. */
START_TEST(redirect_api_checks)
{
  world *w = world_new(0, RULE_NONE);
  sipsrv_redirect_cfg c = SIPSRV_REDIRECT_CFG_INIT;
  sipsrv_redirect *rd = NULL;
  sipsrv_core *bare = NULL;
  sipsrv_core_cfg cc = SIPSRV_CORE_CFG_INIT;
  ck_assert_int_eq(sipsrv_redirect_new(NULL, w->core, &c), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_redirect_new(&rd, NULL, &c), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_redirect_new(&rd, w->core, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_redirect_new(&rd, w->core, &c), SIPSRV_E_INVAL);   /* no domain */
  c.domains = domains;
  c.version = 99;
  ck_assert_int_eq(sipsrv_redirect_new(&rd, w->core, &c), SIPSRV_E_VERSION);
  c.version = SIPSRV_REDIRECT_CFG_VERSION;
  c.location = w->store;
  cc.clock = tclock_now;
  cc.clock_user = &w->clock;
  ck_assert_int_eq(sipsrv_core_new(&bare, &cc), 0);
  ck_assert_int_eq(sipsrv_redirect_new(&rd, bare, &c), SIPSRV_E_STATE);
  ck_assert_ptr_null(rd);
  sipsrv_core_free(bare);
  ck_assert_int_eq(sipsrv_redirect_add(NULL, "sip:a@b", 0, 0), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_redirect_known(NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_redirect_reject(NULL, 404, NULL), SIPSRV_E_INVAL);
  sipsrv_redirect_free(NULL);
}
END_TEST

/* core.h sipsrv_core_counters(), seen through a redirect server: requests
 * and responses by class, retransmissions both ways (17.2.1), transactions
 * created and alive, and the drops by reason; an older caller's smaller
 * struct is written only as far as it goes. */
START_TEST(redirect_core_counters)
{
  world *w = world_new(0, RULE_NONE);
  sipsrv_counters c;
  size_t part = offsetof(sipsrv_counters, requests_out);

  bind_bob(w, C1, -1, 3600, NULL, 0, 0);
  send_rq(w, "INVITE", BOB, "z9hG4bKr1");
  send_rq(w, "INVITE", BOB, "z9hG4bKr1");   /* a retransmission: the 302 again */
  ck_assert_int_eq(sipsrv_core_counters(w->core, &c, sizeof c), 0);
  ck_assert_uint_eq(c.requests_in, 2);
  ck_assert_uint_eq(c.responses_out[2], 2);
  ck_assert_uint_eq(c.retransmissions_in, 1);
  ck_assert_uint_eq(c.retransmissions_out, 0);
  ck_assert_uint_eq(c.transactions, 1);
  ck_assert_uint_eq(c.transactions_live, 1);
  tclock_advance(&w->clock, 500);           /* Timer G */
  sipsrv_core_expire(w->core);
  ck_assert_int_eq(sipsrv_core_counters(w->core, &c, sizeof c), 0);
  ck_assert_uint_eq(c.retransmissions_out, 1);
  ck_assert_uint_eq(c.responses_out[2], 3);
  send_rq(w, "ACK", BOB, "z9hG4bKr1");
  /* Malformed: a request whose CSeq names another method gets 400 without
   * a transaction (RFC 4475 3.1.2.x); bytes that are no message are
   * dropped; a response not for us is dropped; an ACK no transaction waits
   * for is dropped. */
  send_raw(w, "OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP " CALLER
              ";branch=z9hG4bKbad\r\nMax-Forwards: 70\r\nFrom: <sip:a@b>;tag=1\r\n"
              "To: <sip:bob@example.com>\r\nCall-ID: bad@x\r\nCSeq: 1 INVITE\r\n"
              "Content-Length: 0\r\n\r\n");
  send_raw(w, "\x01\x02 no SIP here\r\n\r\n");
  send_raw(w, "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bKother\r\n"
              "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x@y\r\n"
              "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
  send_rq(w, "ACK", BOB, "z9hG4bKnobody");
  ck_assert_int_eq(sipsrv_core_counters(w->core, &c, sizeof c), 0);
  ck_assert_uint_eq(c.rejected, 1);
  ck_assert_uint_eq(c.responses_out[3], 1);
  ck_assert_uint_ge(c.dropped_malformed, 1);
  ck_assert_uint_eq(c.dropped_not_ours, 1);
  ck_assert_uint_eq(c.dropped_unmatched, 1);
  ck_assert_uint_eq(c.received, 7);
  /* Timer I ends the transaction (T4 after the ACK). */
  tclock_advance(&w->clock, 6000);
  sipsrv_core_expire(w->core);
  ck_assert_int_eq(sipsrv_core_counters(w->core, &c, sizeof c), 0);
  ck_assert_uint_eq(c.transactions_live, 0);
  memset(&c, 0xab, sizeof c);
  ck_assert_int_eq(sipsrv_core_counters(w->core, &c, part), 0);
  ck_assert_uint_eq(c.received, 7);
  ck_assert_uint_eq(c.requests_out, 0xababababababababull);
  ck_assert_int_eq(sipsrv_core_counters(NULL, &c, sizeof c), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_counters(w->core, NULL, sizeof c), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_counters(w->core, &c, 0), SIPSRV_E_INVAL);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("redirect");
  TCase *tc = tcase_create("redirect");
  tcase_add_checked_fixture(tc, NULL, teardown);
  tcase_add_test(tc, redirect_302_one_binding);
  tcase_add_test(tc, redirect_302_retransmitted_until_ack);
  tcase_add_test(tc, redirect_300_ordered_by_q);
  tcase_add_test(tc, redirect_message_302);
  tcase_add_test(tc, redirect_404_unknown_480_known);
  tcase_add_test(tc, redirect_unknown_scheme_416);
  tcase_add_test(tc, redirect_rule_targets);
  tcase_add_test(tc, redirect_rule_reject);
  tcase_add_test(tc, redirect_rule_known_480);
  tcase_add_test(tc, redirect_not_to_request_uri);
  tcase_add_test(tc, redirect_add_limits);
  tcase_add_test(tc, redirect_cancel);
  tcase_add_test(tc, redirect_leaves_register_and_own_requests);
  tcase_add_test(tc, redirect_async_store);
  tcase_add_test(tc, redirect_free_while_store_pending);
  tcase_add_test(tc, redirect_api_checks);
  tcase_add_test(tc, redirect_core_counters);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return harness_run(suite());
}
