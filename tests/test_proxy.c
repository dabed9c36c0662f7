/* Tests of the proxy area: the proxy role (lib/roles/proxy*.c) in its three
 * modes on a core driven through fake UDP and TCP transports that record
 * every message sent and where it went, a manual monotonic clock and a
 * manual wall clock, with the memory store (or an asynchronous one) as the
 * location service. Requests come from a caller at 192.0.2.1:5070; the
 * forwarded copies are read back, and the "downstream" answers are built
 * from them and fed in again. Each test cites the rule of RFC 3261 16 (or
 * RFC 3327, 5393, 5658, 6026, 3581) it checks.
 *
 * Tests whose comment says "regression" failed (or crashed) on a defect found
 * while they were written; they keep it fixed.
 *
 * PX_DUMP=1 in the environment prints every message sent, per test. */
#include <check.h>

#include "auth/digest.h"
#include "harness.h"

#include <sipsrv/core.h>
#include <sipsrv/error.h>
#include <sipsrv/msg.h>
#include <sipsrv/proxy.h>
#include <sipsrv/registrar.h>
#include <sipsrv/store.h>
#include <sipsrv/transport.h>
#include <sipsrv/uas.h>

#include <arpa/inet.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The wall clock starts here (Unix ms), the monotonic one at 100 s. */
#define WALL0 1795000000000ull
#define MONO0 100000ull

/* Who is where. */
#define PX_HOST "192.0.2.10"
#define PX "192.0.2.10:5060"
#define PX_RR "<sip:192.0.2.10:5060;lr>"
#define CALLER "192.0.2.1:5070"
#define UA1 "192.0.2.20:5062"
#define UA2 "192.0.2.21:5064"
#define C1 "sip:bob@" UA1
#define C2 "sip:bob@" UA2
#define NEXT_HOP "192.0.2.7:5060"
#define BOB "sip:bob@example.com"

/* ---- fake transports that record what is sent, and to where --------------- */

typedef struct sent_msg {
  char *data;
  size_t len;
  char dst[64];           /* "ip:port" */
  const char *tp;         /* "UDP" or "TCP" */
  uint64_t conn;          /* the connection asked for (0: by address) */
  bool failed;            /* the send op reported an error */
} sent_msg;

struct world;

typedef struct fake_tp {
  sipsrv_transport *tp;
  struct world *w;
  const char *name;
} fake_tp;

/* An asynchronous store: get completes when the test says so. */
typedef struct async_store {
  sipsrv_store_get_cb done;
  void *ctx;
  bool pending;
} async_store;

/* What on_route does (sipsrv_proxy_cfg::on_route). */
typedef enum route_mode {
  RT_NONE = 0,
  RT_CHECKS,        /* argument checks, then one target */
  RT_REJECT_404,    /* reject with 404 */
  RT_TWO,           /* two targets */
  RT_TOOBIG,        /* 17 targets, then DEFAULT */
  RT_ONE_OF_TWO     /* two targets in stateless mode */
} route_mode;

/* A call of on_dialog, copied. */
typedef struct dlg_event {
  char call_id[128], from_tag[64], to_tag[64], from_uri[128], to_uri[128];
  uint64_t started, ended;
  int status;
} dlg_event;

#define MAX_PARSED 256
#define MAX_RC 24

typedef struct world {
  bool live;
  size_t bytes;                 /* W_COUNT: live in the core's allocator */
  tclock clock;                 /* monotonic */
  tclock wall;                  /* Unix ms */
  sipsrv_core *core;
  fake_tp udp, tcp;
  sipsrv_store *store;
  async_store as;
  sipsrv_registrar *reg;
  sipsrv_proxy *proxy;
  sipsrv_uas *uas;
  sent_msg *sent;
  size_t nsent, cap;
  char fail_dst[64];            /* sends to this address fail */
  sipsrv_msg *parsed[MAX_PARSED];
  size_t nparsed;
  /* on_dialog */
  dlg_event ev[8];
  size_t nev;
  /* sipsrv_proxy_dialogs() */
  size_t visited;
  char visited_call_id[128];
  /* on_route */
  route_mode rmode;
  int rc[MAX_RC];
  size_t nrc;
  unsigned route_calls;
  sipsrv_method route_method;
  bool route_proxy_ok;
  /* on_authorize */
  char authz_user[64];
} world;

/* One world at a time, in static storage: the checked teardown frees it
 * even when an assertion ended the test early (CK_FORK=no under valgrind). */
static world W;

static void addr_str(const struct sockaddr *a, char *buf, size_t size)
{
  char ip[INET6_ADDRSTRLEN];
  if (a->sa_family == AF_INET) {
    const struct sockaddr_in *s = (const struct sockaddr_in *)(const void *)a;
    inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
    snprintf(buf, size, "%s:%u", ip, (unsigned)ntohs(s->sin_port));
  } else if (a->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)(const void *)a;
    inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
    snprintf(buf, size, "[%s]:%u", ip, (unsigned)ntohs(s->sin6_port));
  } else {
    snprintf(buf, size, "?");
  }
}

/* The send op: record the bytes and the destination. No assertion here:
 * this runs inside the library. */
static int fake_send(void *user, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
                     const struct iovec *iov, int iovcnt)
{
  fake_tp *f = user;
  world *w = f->w;
  sent_msg *s;
  size_t len = 0;

  (void)dstlen;
  if (w->nsent == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 64;
    sent_msg *n = realloc(w->sent, cap * sizeof *n);
    if (!n)
      return SIPSRV_E_NOMEM;
    w->sent = n;
    w->cap = cap;
  }
  s = &w->sent[w->nsent];
  memset(s, 0, sizeof *s);
  for (int i = 0; i < iovcnt; i++)
    len += iov[i].iov_len;
  s->data = malloc(len + 1);
  if (!s->data)
    return SIPSRV_E_NOMEM;
  for (int i = 0; i < iovcnt; i++) {
    memcpy(s->data + s->len, iov[i].iov_base, iov[i].iov_len);
    s->len += iov[i].iov_len;
  }
  s->data[len] = '\0';
  s->tp = f->name;
  s->conn = conn;
  addr_str(dst, s->dst, sizeof s->dst);
  w->nsent++;
  if (w->fail_dst[0] && strcmp(s->dst, w->fail_dst) == 0) {
    s->failed = true;
    return SIPSRV_E_IO;
  }
  return 0;
}

static const struct sipsrv_transport_ops udp_ops = {
  SIPSRV_TRANSPORT_OPS_VERSION, sizeof(struct sipsrv_transport_ops), "UDP", 0, fake_send, NULL
};

static const struct sipsrv_transport_ops tcp_ops = {
  SIPSRV_TRANSPORT_OPS_VERSION, sizeof(struct sipsrv_transport_ops), "TCP",
  SIPSRV_TP_RELIABLE | SIPSRV_TP_STREAM, fake_send, NULL
};

/* ---- the asynchronous store ------------------------------------------------ */

static int as_get(void *user, const char *aor, int64_t now_ms, sipsrv_store_get_cb done, void *ctx)
{
  async_store *a = user;
  (void)aor;
  (void)now_ms;
  if (a->pending)
    return SIPSRV_E_STATE;
  a->done = done;
  a->ctx = ctx;
  a->pending = true;
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
  SIPSRV_STORE_OPS_VERSION, sizeof(struct sipsrv_store_ops), as_get, as_put, NULL, NULL, NULL,
  NULL, NULL
};

/* Complete the pending get with one binding (contact, or none for NULL). */
static void as_complete(world *w, const char *contact)
{
  sipsrv_binding b;
  async_store *a = &w->as;
  ck_assert(a->pending);
  memset(&b, 0, sizeof b);
  b.contact = contact;
  b.expires = (int64_t)(w->wall.now_ms + 3600000);
  b.q = -1;
  b.call_id = "reg-1@192.0.2.20";
  b.cseq = 1;
  b.updated = (int64_t)w->wall.now_ms;
  a->pending = false;
  a->done(a->ctx, 0, contact ? &b : NULL, contact ? 1 : 0);
}

/* ---- callbacks -------------------------------------------------------------- */

static void copy_str(char *dst, size_t size, const char *src)
{
  snprintf(dst, size, "%s", src ? src : "(null)");
}

static void dialog_cb(sipsrv_proxy *proxy, const sipsrv_dialog_info *i, void *user)
{
  world *w = user;
  dlg_event *e;
  (void)proxy;
  if (w->nev == sizeof w->ev / sizeof w->ev[0])
    return;
  e = &w->ev[w->nev++];
  copy_str(e->call_id, sizeof e->call_id, i->call_id);
  copy_str(e->from_tag, sizeof e->from_tag, i->from_tag);
  copy_str(e->to_tag, sizeof e->to_tag, i->to_tag);
  copy_str(e->from_uri, sizeof e->from_uri, i->from_uri);
  copy_str(e->to_uri, sizeof e->to_uri, i->to_uri);
  e->started = i->started_ms;
  e->ended = i->ended_ms;
  e->status = i->end_status;
}

static void visit_cb(sipsrv_proxy *proxy, const sipsrv_dialog_info *i, void *user)
{
  world *w = user;
  (void)proxy;
  w->visited++;
  copy_str(w->visited_call_id, sizeof w->visited_call_id, i->call_id);
}

static void rc_push(world *w, int rc)
{
  if (w->nrc < MAX_RC)
    w->rc[w->nrc++] = rc;
}

static sipsrv_proxy_decision route_cb(sipsrv_proxy *proxy, sipsrv_proxy_route *rt,
                                      const sipsrv_msg *req, void *user)
{
  world *w = user;
  w->route_calls++;
  w->route_proxy_ok = proxy == w->proxy;
  w->route_method = sipsrv_msg_method(req);
  switch (w->rmode) {
  case RT_CHECKS:
    rc_push(w, sipsrv_proxy_route_add(rt, "http://192.0.2.20/", -1));     /* not SIP */
    rc_push(w, sipsrv_proxy_route_add(rt, "not a uri", -1));
    rc_push(w, sipsrv_proxy_route_add(rt, NULL, -1));
    rc_push(w, sipsrv_proxy_route_add(rt, C1, 1001));                     /* q > 1000 */
    rc_push(w, sipsrv_proxy_route_add(rt, C1, -2));                       /* q < -1 */
    rc_push(w, sipsrv_proxy_route_reject(rt, 200, NULL));                 /* not 300-699 */
    rc_push(w, sipsrv_proxy_route_reject(rt, 700, NULL));
    rc_push(w, sipsrv_proxy_route_add(rt, C1, 500));                      /* fine */
    rc_push(w, sipsrv_proxy_route_reject(rt, 404, NULL));                 /* after add */
    return SIPSRV_PROXY_DECIDED;
  case RT_REJECT_404:
    rc_push(w, sipsrv_proxy_route_reject(rt, 404, "Nobody Here"));
    return SIPSRV_PROXY_DECIDED;
  case RT_TWO:
    rc_push(w, sipsrv_proxy_route_add(rt, C1, -1));
    rc_push(w, sipsrv_proxy_route_add(rt, C2, -1));
    return SIPSRV_PROXY_DECIDED;
  case RT_TOOBIG:
    for (int i = 0; i < 17; i++) {
      char uri[64];
      snprintf(uri, sizeof uri, "sip:bob@192.0.2.%d:5060", 100 + i);
      rc_push(w, sipsrv_proxy_route_add(rt, uri, -1));
    }
    return SIPSRV_PROXY_DEFAULT;
  case RT_ONE_OF_TWO:
    rc_push(w, sipsrv_proxy_route_add(rt, C1, -1));
    rc_push(w, sipsrv_proxy_route_add(rt, C2, -1));
    return SIPSRV_PROXY_DECIDED;
  case RT_NONE:
  default:
    return SIPSRV_PROXY_DEFAULT;
  }
}

/* ---- the world ---------------------------------------------------------------- */

enum {
  W_TCP = 1u << 0,      /* a TCP transport too */
  W_REG = 1u << 1,      /* a registrar before the proxy */
  W_UAS = 1u << 2,      /* a UAS after the proxy */
  W_NOLOC = 1u << 3,    /* no location service for the proxy */
  W_NOPROXY = 1u << 4,  /* the test makes the proxy itself */
  W_ASYNC = 1u << 5,    /* the asynchronous store instead of the memory one */
  W_COUNT = 1u << 6     /* the core's allocator counts the bytes live (bytes) */
};

/* W_COUNT's allocator: each block's size kept before it. */
#define CNT_HDR 16

static void *cnt_malloc(size_t size, void *user)
{
  char *p = malloc(CNT_HDR + size);
  if (!p)
    return NULL;
  memcpy(p, &size, sizeof size);
  *(size_t *)user += size;
  return p + CNT_HDR;
}

static void cnt_free(void *ptr, void *user)
{
  size_t size;
  if (!ptr)
    return;
  memcpy(&size, (char *)ptr - CNT_HDR, sizeof size);
  *(size_t *)user -= size;
  free((char *)ptr - CNT_HDR);
}

static void *cnt_realloc(void *ptr, size_t size, void *user)
{
  void *p = cnt_malloc(size, user);
  size_t old;
  if (p && ptr) {
    memcpy(&old, (char *)ptr - CNT_HDR, sizeof old);
    memcpy(p, ptr, old < size ? old : size);
    cnt_free(ptr, user);
  }
  return p;
}

static const char *const our_domains[] = { "example.com", NULL };

static sipsrv_proxy_cfg base_cfg(sipsrv_proxy_mode mode)
{
  sipsrv_proxy_cfg c = SIPSRV_PROXY_CFG_INIT;
  c.mode = mode;
  c.domains = our_domains;
  return c;
}

static void world_fini(world *w)
{
  if (!w->live)
    return;
  w->live = false;
  if (getenv("PX_DUMP"))
    for (size_t i = 0; i < w->nsent; i++)
      fprintf(stderr, "---- %zu %s to %s\n%s", i, w->sent[i].tp, w->sent[i].dst, w->sent[i].data);
  sipsrv_proxy_free(w->proxy);
  sipsrv_registrar_free(w->reg);
  sipsrv_uas_free(w->uas);
  sipsrv_core_free(w->core);
  sipsrv_store_free(w->store);
  for (size_t i = 0; i < w->nsent; i++)
    free(w->sent[i].data);
  free(w->sent);
  for (size_t i = 0; i < w->nparsed; i++)
    sipsrv_msg_free(w->parsed[i]);
  memset(w, 0, sizeof *w);
}

static void teardown(void)
{
  world_fini(&W);
}

/* A core with a manual clock and wall clock, UDP (and TCP) at 192.0.2.10:5060,
 * a store, and a proxy with cfg (NULL: stateful, example.com, the store as
 * location service); the store is always the location service unless
 * W_NOLOC, on_dialog always records, user is the world. */
static world *world_new(const sipsrv_proxy_cfg *cfg, unsigned flags)
{
  world *w = &W;
  sipsrv_core_cfg cc = SIPSRV_CORE_CFG_INIT;
  sipsrv_proxy_cfg pc = cfg ? *cfg : base_cfg(SIPSRV_PROXY_STATEFUL);

  world_fini(w);
  memset(w, 0, sizeof *w);
  w->live = true;
  w->clock.now_ms = MONO0;
  w->wall.now_ms = WALL0;
  cc.clock = tclock_now;
  cc.clock_user = &w->clock;
  cc.wall_clock = tclock_now;
  cc.wall_clock_user = &w->wall;
  if (flags & W_COUNT) {
    static sipsrv_allocator counting = { cnt_malloc, cnt_realloc, cnt_free, NULL };
    counting.user = &w->bytes;
    cc.alloc = &counting;
  }
  ck_assert_int_eq(sipsrv_core_new(&w->core, &cc), 0);
  w->udp.w = w;
  w->udp.name = "UDP";
  ck_assert_int_eq(sipsrv_core_add_transport(w->core, &udp_ops, &w->udp, PX_HOST, 5060, &w->udp.tp),
                   0);
  if (flags & W_TCP) {
    w->tcp.w = w;
    w->tcp.name = "TCP";
    ck_assert_int_eq(
        sipsrv_core_add_transport(w->core, &tcp_ops, &w->tcp, PX_HOST, 5060, &w->tcp.tp), 0);
  }
  if (flags & W_ASYNC)
    ck_assert_int_eq(sipsrv_store_new(&w->store, &async_ops, &w->as), 0);
  else
    ck_assert_int_eq(sipsrv_store_memory_new(&w->store, w->core), 0);
  if (flags & W_REG) {
    sipsrv_registrar_cfg rc = SIPSRV_REGISTRAR_CFG_INIT;
    rc.domains = our_domains;
    rc.store = w->store;
    ck_assert_int_eq(sipsrv_registrar_new(&w->reg, w->core, &rc), 0);
  }
  if (!(flags & W_NOPROXY)) {
    if (!(flags & W_NOLOC))
      pc.location = w->store;
    pc.on_dialog = dialog_cb;
    pc.user = w;
    ck_assert_int_eq(sipsrv_proxy_new(&w->proxy, w->core, &pc), 0);
    ck_assert_ptr_nonnull(w->proxy);
  }
  if (flags & W_UAS)
    ck_assert_int_eq(sipsrv_uas_new(&w->uas, w->core, NULL), 0);
  return w;
}

/* ---- time ---------------------------------------------------------------------- */

static void set_time(world *w, uint64_t t)
{
  if (t > w->clock.now_ms) {
    w->wall.now_ms += t - w->clock.now_ms;
    w->clock.now_ms = t;
  }
}

/* Run every timer up to t, each at its own deadline. */
static void run_until(world *w, uint64_t t)
{
  uint64_t d;
  int guard = 0;
  while (sipsrv_core_next_timeout(w->core, &d) == 0 && d <= t && guard++ < 100000) {
    set_time(w, d);
    ck_assert_int_ge(sipsrv_core_expire(w->core), 0);
  }
  set_time(w, t);
  ck_assert_int_ge(sipsrv_core_expire(w->core), 0);
}

static void run_for(world *w, uint64_t ms)
{
  run_until(w, w->clock.now_ms + ms);
}

/* ---- bindings ------------------------------------------------------------------ */

typedef struct bspec {
  const char *contact;
  int q;                /* -1: none */
  const char *path;
  int64_t expires_in;   /* ms from now; 0: one hour */
} bspec;

static void put_done(void *ctx, int err)
{
  *(int *)ctx = err;
}

/* Replace the bindings of aor (canonical "sip:user@host"). */
static void put_bindings(world *w, const char *aor, const bspec *b, size_t n)
{
  sipsrv_binding bb[4];
  int err = 1;
  ck_assert_uint_le(n, 4);
  memset(bb, 0, sizeof bb);
  for (size_t i = 0; i < n; i++) {
    bb[i].contact = b[i].contact;
    bb[i].expires = (int64_t)w->wall.now_ms + (b[i].expires_in ? b[i].expires_in : 3600000);
    bb[i].q = b[i].q;
    bb[i].call_id = "reg-1@192.0.2.20";
    bb[i].cseq = 1;
    bb[i].path = b[i].path;
    bb[i].updated = (int64_t)w->wall.now_ms;
  }
  ck_assert_int_eq(sipsrv_store_put(w->store, aor, bb, n, put_done, &err), 0);
  ck_assert_int_eq(err, 0);
}

static void bind_one(world *w, const char *contact)
{
  bspec b = { contact, -1, NULL, 0 };
  put_bindings(w, BOB, &b, 1);
}

static void bind_two(world *w)
{
  bspec b[2] = { { C1, -1, NULL, 0 }, { C2, -1, NULL, 0 } };
  put_bindings(w, BOB, b, 2);
}

/* ---- requests in --------------------------------------------------------------- */

typedef struct rq {
  const char *method;   /* "INVITE" */
  const char *uri;      /* BOB */
  const char *to;       /* "<sip:bob@example.com>" */
  const char *call_id;  /* "call-1@192.0.2.1" */
  const char *branch;   /* "z9hG4bKcaller1" */
  const char *mf;       /* "70"; "" leaves Max-Forwards out */
  const char *via;      /* the whole Via value; NULL: from CALLER with branch */
  const char *headers;  /* extra lines, each ending in CRLF */
  unsigned cseq;        /* 0: 1 */
  const char *from;     /* the From value; NULL: "Alice" <sip:alice@example.org>;tag=caller1 */
} rq;

#define RQ(...) (&(const rq){ __VA_ARGS__ })

static size_t build(char *buf, size_t size, const rq *r)
{
  const char *method = r->method ? r->method : "INVITE";
  char via[256], mf[64];
  int n;

  if (r->via)
    snprintf(via, sizeof via, "%s", r->via);
  else
    snprintf(via, sizeof via, "SIP/2.0/UDP " CALLER ";branch=%s",
             r->branch ? r->branch : "z9hG4bKcaller1");
  if (!r->mf)
    snprintf(mf, sizeof mf, "Max-Forwards: 70\r\n");
  else if (!r->mf[0])
    mf[0] = '\0';
  else
    snprintf(mf, sizeof mf, "Max-Forwards: %s\r\n", r->mf);
  n = snprintf(buf, size,
               "%s %s SIP/2.0\r\n"
               "Via: %s\r\n"
               "%s"
               "From: %s\r\n"
               "To: %s\r\n"
               "Call-ID: %s\r\n"
               "CSeq: %u %s\r\n"
               "%s"
               "%s"
               "Content-Length: 0\r\n"
               "\r\n",
               method, r->uri ? r->uri : BOB, via, mf,
               r->from ? r->from : "\"Alice\" <sip:alice@example.org>;tag=caller1",
               r->to ? r->to : "<" BOB ">",
               r->call_id ? r->call_id : "call-1@192.0.2.1", r->cseq ? r->cseq : 1, method,
               strcmp(method, "INVITE") == 0 ? "Contact: <sip:alice@" CALLER ">\r\n" : "",
               r->headers ? r->headers : "");
  ck_assert_int_gt(n, 0);
  ck_assert_uint_lt((size_t)n, size);
  return (size_t)n;
}

static void sockaddr_of(const char *hostport, struct sockaddr_in *a)
{
  char host[64];
  const char *colon = strrchr(hostport, ':');
  ck_assert_ptr_nonnull(colon);
  ck_assert_uint_lt((size_t)(colon - hostport), sizeof host);
  memcpy(host, hostport, (size_t)(colon - hostport));
  host[colon - hostport] = '\0';
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_port = htons((uint16_t)atoi(colon + 1));
  ck_assert_int_eq(inet_pton(AF_INET, host, &a->sin_addr), 1);
}

/* Bytes arriving on a transport from "ip:port" (TCP: connection 42). */
static void inject(world *w, fake_tp *f, const char *from, const char *data, size_t len)
{
  struct sockaddr_in a;
  sockaddr_of(from, &a);
  ck_assert_ptr_nonnull(f->tp);
  ck_assert_int_eq(sipsrv_core_recv(w->core, f->tp, f == &w->tcp ? 42 : 0,
                                    (const struct sockaddr *)&a, sizeof a, data, len),
                   0);
}

static void send_from(world *w, const char *from, const rq *r)
{
  char buf[4096];
  size_t n = build(buf, sizeof buf, r);
  inject(w, &w->udp, from, buf, n);
}

static void send_rq(world *w, const rq *r)
{
  send_from(w, CALLER, r);
}

/* ---- what was sent --------------------------------------------------------------- */

/* Does sent message s start with what: a method name ("INVITE"), or a
 * status code ("180"), or "final" (a response >= 200), or "any"? */
static bool is_what(const sent_msg *s, const char *what)
{
  char want[64];
  if (strcmp(what, "any") == 0)
    return true;
  if (strcmp(what, "final") == 0)
    return strncmp(s->data, "SIP/2.0 ", 8) == 0 && s->data[8] >= '2';
  if (what[0] >= '0' && what[0] <= '9')
    snprintf(want, sizeof want, "SIP/2.0 %s ", what);
  else
    snprintf(want, sizeof want, "%s ", what);
  return strncmp(s->data, want, strlen(want)) == 0;
}

/* The first message from index from on that is what, to dst (NULL: any
 * destination); -1 if none. */
static long find(const world *w, size_t from, const char *what, const char *dst)
{
  for (size_t i = from; i < w->nsent; i++)
    if (is_what(&w->sent[i], what) && (!dst || strcmp(w->sent[i].dst, dst) == 0))
      return (long)i;
  return -1;
}

static size_t count(const world *w, size_t from, const char *what, const char *dst)
{
  size_t n = 0;
  for (size_t i = from; i < w->nsent; i++)
    if (is_what(&w->sent[i], what) && (!dst || strcmp(w->sent[i].dst, dst) == 0))
      n++;
  return n;
}

/* Exactly one such message from index from on: its index. */
static size_t one(const world *w, size_t from, const char *what, const char *dst)
{
  size_t n = count(w, from, what, dst);
  ck_assert_msg(n == 1, "%zu \"%s\" messages to %s since %zu, want 1 (%zu sent)", n, what,
                dst ? dst : "anywhere", from, w->nsent);
  return (size_t)find(w, from, what, dst);
}

/* The core's counters now. */
static sipsrv_counters counters_of(const world *w)
{
  sipsrv_counters c;
  ck_assert_int_eq(sipsrv_core_counters(w->core, &c, sizeof c), 0);
  return c;
}

/* Parse sent message i (owned by the world). */
static sipsrv_msg *msg_at(world *w, size_t i)
{
  sipsrv_msg *m = NULL;
  sipsrv_verdict v;
  ck_assert_uint_lt(i, w->nsent);
  ck_assert_uint_lt(w->nparsed, MAX_PARSED);
  ck_assert_int_eq(sipsrv_msg_parse(&m, w->sent[i].data, w->sent[i].len, 0, &v), 0);
  ck_assert_ptr_nonnull(m);
  w->parsed[w->nparsed++] = m;
  ck_assert_msg(v.action == SIPSRV_ACCEPT, "sent message %zu: %s:\n%s", i, v.phrase,
                w->sent[i].data);
  return m;
}

/* The one header field named name has exactly this value. */
static void hdr_eq(const sipsrv_msg *m, const char *name, const char *want)
{
  char buf[512];
  int n = sipsrv_msg_header(m, name, 0, buf, sizeof buf);
  ck_assert_msg(n >= 0, "no %s header", name);
  ck_assert_str_eq(buf, want);
  ck_assert_int_eq(sipsrv_msg_header(m, name, 1, buf, sizeof buf), SIPSRV_E_NOTFOUND);
}

static void hdr_absent(const sipsrv_msg *m, const char *name)
{
  char buf[512];
  ck_assert_msg(sipsrv_msg_header(m, name, 0, buf, sizeof buf) == SIPSRV_E_NOTFOUND,
                "unexpected %s: %s", name, buf);
}

static void ruri_eq(const sipsrv_msg *m, const char *want)
{
  char buf[512];
  ck_assert_int_ge(sipsrv_msg_request_uri_str(m, buf, sizeof buf), 0);
  ck_assert_str_eq(buf, want);
}

static void cseq_eq(const sipsrv_msg *m, uint32_t seq, const char *method)
{
  uint32_t s;
  const char *meth;
  ck_assert_int_eq(sipsrv_msg_cseq(m, &s, &meth), 0);
  ck_assert_uint_eq(s, seq);
  ck_assert_str_eq(meth, method);
}

/* The branch of Via idx. */
static const char *via_branch(const sipsrv_msg *m, int idx)
{
  sipsrv_via v;
  ck_assert_int_eq(sipsrv_msg_via(m, idx, &v), 0);
  ck_assert_ptr_nonnull(v.branch);
  return v.branch;
}

/* A response that went upstream: one Via, the caller's (16.7 step 3). */
static void upstream_via_ok(const sipsrv_msg *m, const char *branch)
{
  sipsrv_via v;
  ck_assert_int_eq(sipsrv_msg_via_count(m), 1);
  ck_assert_int_eq(sipsrv_msg_via(m, 0, &v), 0);
  ck_assert_str_eq(v.host, "192.0.2.1");
  ck_assert_str_eq(v.branch, branch);
}

/* Our Via on top of a forwarded request (16.6 step 8): sent-by our address,
 * a branch with the magic cookie (8.1.1.7). */
static void our_via_on_top(const sipsrv_msg *m, const char *transport)
{
  sipsrv_via v;
  ck_assert_int_eq(sipsrv_msg_via(m, 0, &v), 0);
  ck_assert_str_eq(v.transport, transport);
  ck_assert_str_eq(v.host, PX_HOST);
  ck_assert_ptr_nonnull(v.port);
  ck_assert_str_eq(v.port, "5060");
  ck_assert_ptr_nonnull(v.branch);
  ck_assert_msg(strncmp(v.branch, "z9hG4bK", 7) == 0, "branch %s", v.branch);
  ck_assert_uint_gt(strlen(v.branch), 7);
}

/* ---- responses from downstream --------------------------------------------------------- */

static bool name_is(const char *line, size_t len, const char *full, const char *compact)
{
  size_t n = 0;
  while (n < len && line[n] != ':' && line[n] != ' ' && line[n] != '\t')
    n++;
  return (strlen(full) == n && strncasecmp(line, full, n) == 0) ||
         (compact && strlen(compact) == n && strncasecmp(line, compact, n) == 0);
}

/* A response to sent request i: its Via lines, From, To (with to_tag added
 * unless NULL or a 100), Call-ID and CSeq copied (RFC 3261 8.2.6.2), then
 * extra lines (each ending in CRLF) and an empty body; its length. */
static size_t reply_bytes(world *w, size_t i, int status, const char *to_tag, const char *extra,
                          char *buf, size_t size)
{
  size_t n = 0;
  const sent_msg *s;
  const char *p;
  int k;

  ck_assert_uint_lt(i, w->nsent);
  s = &w->sent[i];
  k = snprintf(buf, size, "SIP/2.0 %d %s\r\n", status, sipsrv_status_phrase(status));
  n += (size_t)k;
  p = strstr(s->data, "\r\n");
  ck_assert_ptr_nonnull(p);
  p += 2;
  while (strncmp(p, "\r\n", 2) != 0) {
    const char *e = strstr(p, "\r\n");
    size_t len;
    ck_assert_ptr_nonnull(e);
    len = (size_t)(e - p);
    if (name_is(p, len, "Via", "v") || name_is(p, len, "From", "f") ||
        name_is(p, len, "Call-ID", "i") || name_is(p, len, "CSeq", NULL) ||
        name_is(p, len, "To", "t")) {
      ck_assert_uint_lt(n + len + 64, size);
      memcpy(buf + n, p, len);
      n += len;
      if (name_is(p, len, "To", "t") && to_tag && status > 100) {
        char line[512];
        ck_assert_uint_lt(len, sizeof line);
        memcpy(line, p, len);
        line[len] = '\0';
        if (!strstr(line, ";tag="))
          n += (size_t)snprintf(buf + n, size - n, ";tag=%s", to_tag);
      }
      memcpy(buf + n, "\r\n", 2);
      n += 2;
    }
    p = e + 2;
  }
  k = snprintf(buf + n, size - n, "%sContent-Length: 0\r\n\r\n", extra ? extra : "");
  ck_assert_int_gt(k, 0);
  ck_assert_uint_lt(n + (size_t)k, size);
  n += (size_t)k;
  return n;
}

/* Answer sent request i (reply_bytes()) from where it went, over the
 * transport it used. */
static void reply_to(world *w, size_t i, int status, const char *to_tag, const char *extra)
{
  char buf[8192];
  size_t n = reply_bytes(w, i, status, to_tag, extra, buf, sizeof buf);
  const sent_msg *s = &w->sent[i];
  inject(w, strcmp(s->tp, "TCP") == 0 ? &w->tcp : &w->udp, s->dst, buf, n);
}

/* Send an INVITE (spec r) and check it was forwarded once to dst: its index. */
static size_t invite_to(world *w, const rq *r, const char *dst)
{
  size_t m0 = w->nsent;
  send_rq(w, r);
  return one(w, m0, "INVITE", dst);
}

/* ======================================================================
 * 16.3: request validation
 * ====================================================================== */

/* RFC 3261 16.3 step 3: a request to forward with Max-Forwards 0 gets 483
 * (Too Many Hops) and is not forwarded. */
START_TEST(proxy_validate_max_forwards_483)
{
  world *w = world_new(NULL, 0);
  sipsrv_msg *m;

  bind_one(w, C1);
  send_rq(w, RQ(.mf = "0"));
  ck_assert_uint_eq(w->nsent, 1);
  ck_assert_str_eq(w->sent[0].dst, CALLER);
  m = msg_at(w, 0);
  ck_assert_int_eq(sipsrv_msg_status(m), 483);
  cseq_eq(m, 1, "INVITE");
  upstream_via_ok(m, "z9hG4bKcaller1");
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.3 step 3 and 11: an OPTIONS with Max-Forwards 0 for the
 * proxy's own address is not proxied: the UAS (attached after the proxy)
 * answers 200 (the proxy MAY act as the final recipient). */
START_TEST(proxy_validate_options_max_forwards_zero_local)
{
  world *w = world_new(NULL, W_REG | W_UAS);
  sipsrv_msg *m;
  size_t i;

  send_rq(w, RQ(.method = "OPTIONS", .uri = "sip:" PX, .to = "<sip:" PX ">", .mf = "0"));
  i = one(w, 0, "any", NULL);
  ck_assert_str_eq(w->sent[i].dst, CALLER);
  m = msg_at(w, i);
  ck_assert_int_eq(sipsrv_msg_status(m), 200);
  cseq_eq(m, 1, "OPTIONS");
  world_fini(w);
}
END_TEST

/* proxy.h (what the proxy claims): a REGISTER for one of its domains is the
 * registrar's (RFC 3261 10.3), an OPTIONS to the domain with no user is the
 * UAS's (11): neither is forwarded. */
START_TEST(proxy_claim_register_and_options_local)
{
  world *w = world_new(NULL, W_REG | W_UAS);
  sipsrv_msg *m;
  size_t i;

  send_rq(w, RQ(.method = "REGISTER", .uri = "sip:example.com", .call_id = "reg-9@192.0.2.1",
                .headers = "Contact: <sip:alice@192.0.2.1:5070>\r\nExpires: 600\r\n"));
  i = one(w, 0, "any", NULL);
  ck_assert_str_eq(w->sent[i].dst, CALLER);
  m = msg_at(w, i);
  ck_assert_int_eq(sipsrv_msg_status(m), 200);
  cseq_eq(m, 1, "REGISTER");

  send_rq(w, RQ(.method = "OPTIONS", .uri = "sip:example.com", .to = "<sip:example.com>",
                .branch = "z9hG4bKopt2", .call_id = "opt-2@192.0.2.1"));
  i = one(w, 1, "any", NULL);
  m = msg_at(w, i);
  ck_assert_int_eq(sipsrv_msg_status(m), 200);
  cseq_eq(m, 1, "OPTIONS");
  world_fini(w);
}
END_TEST

/* RFC 3261 16.3 step 4, RFC 5393 4.2: the forwarded copy coming back
 * unchanged (our Via with the same request hash) is a loop: 482, not
 * forwarded again. */
START_TEST(proxy_validate_loop_482)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  world *w;
  size_t i, m0, r;
  sipsrv_msg *m;

  cfg.relay = 1;
  w = world_new(&cfg, 0);
  i = invite_to(w, RQ(.uri = "sip:carol@192.0.2.50:5060", .to = "<sip:carol@192.0.2.50>"),
                "192.0.2.50:5060");
  m0 = w->nsent;
  inject(w, &w->udp, "192.0.2.50:5060", w->sent[i].data, w->sent[i].len);
  ck_assert_int_eq(count(w, m0, "INVITE", NULL), 0);
  r = one(w, m0, "482", NULL);
  m = msg_at(w, r);
  cseq_eq(m, 1, "INVITE");
  ck_assert_int_eq(sipsrv_msg_via_count(m), 2);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.3 step 4, RFC 5393 4.2: the same request back with another
 * Request-URI after our Via is a spiral: forwarded again, with a second
 * Via of ours, not 482. */
START_TEST(proxy_validate_spiral_forwarded)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  world *w;
  size_t i, m0, f;
  sipsrv_msg *m;
  char buf[4096];
  const char *rest;
  int n;

  cfg.relay = 1;
  w = world_new(&cfg, 0);
  i = invite_to(w, RQ(.uri = "sip:carol@192.0.2.50:5060", .to = "<sip:carol@192.0.2.50>"),
                "192.0.2.50:5060");
  /* Retargeted by the next element: a new Request-URI, all else the same. */
  rest = strstr(w->sent[i].data, "\r\n");
  ck_assert_ptr_nonnull(rest);
  n = snprintf(buf, sizeof buf, "INVITE sip:dave@192.0.2.51:5060 SIP/2.0%s", rest);
  ck_assert_uint_lt((size_t)n, sizeof buf);
  m0 = w->nsent;
  inject(w, &w->udp, "192.0.2.50:5060", buf, (size_t)n);
  ck_assert_int_eq(count(w, m0, "482", NULL), 0);
  f = one(w, m0, "INVITE", "192.0.2.51:5060");
  m = msg_at(w, f);
  ruri_eq(m, "sip:dave@192.0.2.51:5060");
  ck_assert_int_eq(sipsrv_msg_via_count(m), 3);
  our_via_on_top(m, "UDP");
  {
    sipsrv_via v;
    ck_assert_int_eq(sipsrv_msg_via(m, 1, &v), 0);
    ck_assert_str_eq(v.host, PX_HOST);
  }
  world_fini(w);
}
END_TEST

/* RFC 3261 16.3 step 5: Proxy-Require with an option the proxy does not
 * support: 420 with Unsupported listing it; not forwarded. */
START_TEST(proxy_validate_proxy_require_420)
{
  world *w = world_new(NULL, 0);
  sipsrv_msg *m;
  size_t r;

  bind_one(w, C1);
  send_rq(w, RQ(.headers = "Proxy-Require: foo\r\n"));
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  r = one(w, 0, "420", CALLER);
  m = msg_at(w, r);
  hdr_eq(m, "Unsupported", "foo");
  world_fini(w);
}
END_TEST

/* ======================================================================
 * 16.4: route information preprocessing
 * ====================================================================== */

/* RFC 3261 16.4, 16.12: a topmost Route naming the proxy is removed; the
 * request goes to the next Route (loose routing) with its Request-URI. */
START_TEST(proxy_route_loose_own_route_removed)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  world *w;
  sipsrv_msg *m;
  sipsrv_addr a;
  size_t i;

  cfg.relay = 1;                           /* the Route leads elsewhere */
  w = world_new(&cfg, 0);
  i = invite_to(w,
                RQ(.uri = "sip:bob@192.0.2.30:5060",
                   .headers = "Route: " PX_RR ", <sip:192.0.2.40:5070;lr>\r\n"),
                "192.0.2.40:5070");
  m = msg_at(w, i);
  ruri_eq(m, "sip:bob@192.0.2.30:5060");
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_ROUTE, 0, &a), 0);
  ck_assert_str_eq(a.uri.host, "192.0.2.40");
  ck_assert_str_eq(a.uri.port, "5070");
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_ROUTE, 1, &a), SIPSRV_E_NOTFOUND);
  world_fini(w);
}
END_TEST

/* proxy.h, RFC 3261 16.4: two Route values of ours on top (we
 * Record-Routed twice, RFC 5658) both go. */
START_TEST(proxy_route_two_own_routes_removed)
{
  world *w = world_new(NULL, W_TCP);
  sipsrv_msg *m;
  size_t i;

  i = invite_to(w,
                RQ(.uri = C1, .to = "<" BOB ">;tag=callee1",
                   .headers = "Route: <sip:192.0.2.10:5060;transport=tcp;lr>, " PX_RR "\r\n"),
                UA1);
  m = msg_at(w, i);
  ruri_eq(m, C1);
  hdr_absent(m, "Route");
  world_fini(w);
}
END_TEST

/* RFC 3261 16.4: a Request-URI that is our Record-Route URI came from a
 * strict router: the last Route value becomes the Request-URI and is
 * removed; the request then follows the remaining Route. */
START_TEST(proxy_route_strict_upstream)
{
  world *w = world_new(NULL, 0);
  sipsrv_msg *m;
  sipsrv_addr a;
  size_t i;

  i = invite_to(w,
                RQ(.uri = "sip:192.0.2.10:5060;lr", .to = "<" BOB ">;tag=callee1",
                   .headers = "Route: <sip:192.0.2.40:5070;lr>, <sip:bob@192.0.2.30:5060>\r\n"),
                "192.0.2.40:5070");
  m = msg_at(w, i);
  ruri_eq(m, "sip:bob@192.0.2.30:5060");
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_ROUTE, 0, &a), 0);
  ck_assert_str_eq(a.uri.host, "192.0.2.40");
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_ROUTE, 1, &a), SIPSRV_E_NOTFOUND);

  /* The last Route was the only one: the request goes to the new Request-URI. */
  i = invite_to(w,
                RQ(.uri = "sip:192.0.2.10:5060;lr", .to = "<" BOB ">;tag=callee1",
                   .branch = "z9hG4bKcaller2", .call_id = "call-2@192.0.2.1",
                   .headers = "Route: <sip:bob@192.0.2.30:5060>\r\n"),
                "192.0.2.30:5060");
  m = msg_at(w, i);
  ruri_eq(m, "sip:bob@192.0.2.30:5060");
  hdr_absent(m, "Route");
  world_fini(w);
}
END_TEST

/* RFC 3261 19.1.1: "lr:5070" in a Request-URI is an other-param, not lr:
 * the request is no strict router's, and its Route is followed as it is.
 * (Regression: Sofia-SIP's url_has_param() read past the URI here, found
 * by tests/fuzz/fuzz_roles; valgrind and ASan runs of this suite see it.) */
START_TEST(proxy_route_lr_lookalike)
{
  world *w = world_new(NULL, 0);
  sipsrv_msg *m;
  size_t i;

  i = invite_to(w,
                RQ(.uri = "sip:bob@192.0.2.30:5060;lr:5070", .to = "<" BOB ">;tag=callee1",
                   .headers = "Route: <sip:192.0.2.40:5070;lr>\r\n"),
                "192.0.2.40:5070");
  m = msg_at(w, i);
  ruri_eq(m, "sip:bob@192.0.2.30:5060;lr:5070");
  world_fini(w);
}
END_TEST

/* RFC 3261 16.6 step 6 and step 7: the next hop (a pre-loaded Route
 * without lr) is a strict router: the copy gets that URI as Request-URI,
 * the original Request-URI as the last Route value, and goes to the new
 * Request-URI ("If the proxy has reformatted the request to send to a
 * strict-routing element as described in step 6 above, the proxy MUST apply
 * those procedures to the Request-URI of the request").
 * (Regression: this failed before the fix.) */
START_TEST(proxy_route_strict_downstream)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  world *w;
  sipsrv_msg *m;
  sipsrv_addr a;
  size_t m0;
  long i;

  cfg.relay = 1;                           /* the Route leads elsewhere */
  w = world_new(&cfg, 0);
  m0 = w->nsent;

  send_rq(w, RQ(.uri = "sip:bob@192.0.2.30:5060", .headers = "Route: <sip:192.0.2.40:5070>\r\n"));
  ck_assert_int_eq(count(w, m0, "INVITE", NULL), 1);
  i = find(w, m0, "INVITE", NULL);
  m = msg_at(w, (size_t)i);
  ruri_eq(m, "sip:192.0.2.40:5070");
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_ROUTE, 0, &a), 0);
  ck_assert_str_eq(a.uri.user, "bob");
  ck_assert_str_eq(a.uri.host, "192.0.2.30");
  ck_assert_str_eq(a.uri.port, "5060");
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_ROUTE, 1, &a), SIPSRV_E_NOTFOUND);
  ck_assert_str_eq(w->sent[i].dst, "192.0.2.40:5070");
  world_fini(w);
}
END_TEST

/* RFC 3261 16.4 and proxy.h (relay): an initial request whose pre-loaded
 * Route leads elsewhere once ours is removed is relaying: without relay,
 * a next hop or an authenticated user, 403 (RFC 4475 3.1.1.1's wsinv does
 * this); with relay it follows the Route; in a dialog it always does. */
START_TEST(proxy_route_preloaded_elsewhere_403)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATELESS);
  world *w = world_new(NULL, 0);
  size_t r, m0;

  send_rq(w, RQ(.uri = "sip:bob@example.com", .headers = "Route: <sip:192.0.2.40:5070;lr>\r\n"));
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  r = one(w, 0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 403);
  /* Inside a dialog (To tag) it follows the Route. */
  m0 = w->nsent;
  send_rq(w, RQ(.method = "BYE", .uri = "sip:bob@example.com", .to = "<" BOB ">;tag=b1",
                .branch = "z9hG4bKbye1", .headers = "Route: <sip:192.0.2.40:5070;lr>\r\n"));
  one(w, m0, "BYE", "192.0.2.40:5070");
  /* Stateless mode checks it the same way. */
  w = world_new(&cfg, 0);
  send_rq(w, RQ(.uri = "sip:bob@example.com", .headers = "Route: <sip:192.0.2.40:5070;lr>\r\n"));
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, one(w, 0, "final", CALLER))), 403);
  cfg.relay = 1;
  w = world_new(&cfg, 0);
  send_rq(w, RQ(.uri = "sip:bob@example.com", .headers = "Route: <sip:192.0.2.40:5070;lr>\r\n"));
  one(w, 0, "INVITE", "192.0.2.40:5070");
  world_fini(w);
}
END_TEST

/* RFC 3261 16.3 step 2 (RFC 4475 3.3.2, 3.3.3): a Request-URI scheme the
 * proxy does not understand gets 416, before any routing decision. */
START_TEST(proxy_validate_unknown_scheme_416)
{
  world *w = world_new(NULL, 0);
  send_rq(w, RQ(.uri = "nobodyknowsthisscheme:totallyopaquecontent", .to = "<sip:bob@example.com>"));
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, one(w, 0, "final", CALLER))), 416);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.4 then 16.5, 8.1.2 (a UA using the proxy as its outbound
 * proxy pre-loads a Route naming it): once the proxy's own Route value is
 * removed, an initial request for one of its domains goes to the location
 * service like any other ("if the domain of the Request-URI indicates a
 * domain this element is responsible for, ... the location service").
 * (Regression: this failed before the fix.) */
START_TEST(proxy_route_preloaded_own_route_uses_location)
{
  world *w = world_new(NULL, 0);
  sipsrv_msg *m;
  size_t m0;
  long i;

  bind_one(w, C1);
  m0 = w->nsent;
  send_rq(w, RQ(.headers = "Route: " PX_RR "\r\n"));
  i = find(w, m0, "final", CALLER);
  ck_assert_msg(i < 0, "answered %d instead of forwarded to the binding",
                sipsrv_msg_status(msg_at(w, (size_t)i)));
  i = find(w, m0, "INVITE", UA1);
  ck_assert_int_ge(i, 0);
  m = msg_at(w, (size_t)i);
  ruri_eq(m, C1);
  hdr_absent(m, "Route");
  world_fini(w);
}
END_TEST

/* ======================================================================
 * 16.5: targets
 * ====================================================================== */

/* RFC 3261 16.5, 16.6 steps 2 and 7: one binding in the location service:
 * the copy's Request-URI is the contact, and it goes to the contact's
 * host:port. */
START_TEST(proxy_target_location_one_binding)
{
  world *w = world_new(NULL, 0);
  sipsrv_msg *m;
  size_t i;

  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  ck_assert_str_eq(w->sent[i].tp, "UDP");
  m = msg_at(w, i);
  ruri_eq(m, C1);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.5: no binding (none, or only an expired one): the target set
 * is empty: 480 (Temporarily Unavailable). */
START_TEST(proxy_target_location_none_480)
{
  world *w = world_new(NULL, 0);
  bspec b = { C1, -1, NULL, 1000 };
  size_t r;

  send_rq(w, RQ(.method = "INVITE"));
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  r = one(w, 0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 480);

  /* A binding that expired on the wall clock does not count. */
  put_bindings(w, BOB, &b, 1);
  w->wall.now_ms += 2000;
  send_rq(w, RQ(.branch = "z9hG4bKcaller2", .call_id = "call-2@192.0.2.1"));
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  r = one(w, r + 1, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 480);
  world_fini(w);
}
END_TEST

/* RFC 3327 5.4 (with RFC 3261 16.6 step 7): a binding with a Path: the copy
 * carries the Path values as its Route and goes to the first Path hop; the
 * Request-URI is the contact. */
START_TEST(proxy_target_location_path)
{
  world *w = world_new(NULL, 0);
  bspec b = { C1, -1, "<sip:192.0.2.60:5080;lr>, <sip:192.0.2.61:5081;lr>", 0 };
  sipsrv_msg *m;
  sipsrv_addr a;
  size_t i;

  put_bindings(w, BOB, &b, 1);
  i = invite_to(w, RQ(.method = "INVITE"), "192.0.2.60:5080");
  m = msg_at(w, i);
  ruri_eq(m, C1);
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_ROUTE, 0, &a), 0);
  ck_assert_str_eq(a.uri.host, "192.0.2.60");
  ck_assert_str_eq(a.uri.port, "5080");
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_ROUTE, 1, &a), 0);
  ck_assert_str_eq(a.uri.host, "192.0.2.61");
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_ROUTE, 2, &a), SIPSRV_E_NOTFOUND);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.5 ("a domain this element is not responsible for: the
 * Request-URI is the only target"), 16.6 step 7 (a local policy next hop):
 * with next_hop, a request for another domain keeps its Request-URI and goes
 * to the next hop. */
START_TEST(proxy_target_next_hop_other_domain)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  world *w;
  sipsrv_msg *m;
  size_t i;

  cfg.next_hop = "sip:" NEXT_HOP;
  w = world_new(&cfg, 0);
  i = invite_to(w, RQ(.uri = "sip:carol@other.test", .to = "<sip:carol@other.test>"), NEXT_HOP);
  m = msg_at(w, i);
  ruri_eq(m, "sip:carol@other.test");
  hdr_absent(m, "Route");
  world_fini(w);
}
END_TEST

/* proxy.h (relay 0: not an open relay): another domain without a next hop
 * gets 403. */
START_TEST(proxy_target_no_relay_403)
{
  world *w = world_new(NULL, 0);
  size_t r;

  send_rq(w, RQ(.uri = "sip:carol@192.0.2.50:5060", .to = "<sip:carol@192.0.2.50>"));
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  r = one(w, 0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 403);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.5 and 16.6 step 7: with relay 1, a request for another
 * domain goes to its own Request-URI's host and port. */
START_TEST(proxy_target_relay_forwards)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  world *w;
  size_t i;

  cfg.relay = 1;
  w = world_new(&cfg, 0);
  i = invite_to(w, RQ(.uri = "sip:carol@192.0.2.50:5070", .to = "<sip:carol@192.0.2.50>"),
                "192.0.2.50:5070");
  ruri_eq(msg_at(w, i), "sip:carol@192.0.2.50:5070");
  world_fini(w);
}
END_TEST

/* proxy.h ("a target whose host is not an IP address gets 503"; RFC 3263
 * is not implemented): a Request-URI with a host name as target: 503.
 * (Regression: this failed before the fix.) */
START_TEST(proxy_target_hostname_503)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  world *w;
  size_t r;

  cfg.relay = 1;
  w = world_new(&cfg, 0);
  send_rq(w, RQ(.uri = "sip:carol@other.test", .to = "<sip:carol@other.test>"));
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  r = one(w, 0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 503);
  world_fini(w);
}
END_TEST

/* store.h (an asynchronous store completes later) and RFC 3261 16.5: the
 * request waits for the location service, then goes to the binding. */
START_TEST(proxy_target_async_lookup)
{
  world *w = world_new(NULL, W_ASYNC);
  size_t i;

  send_rq(w, RQ(.method = "INVITE"));
  ck_assert(w->as.pending);
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  as_complete(w, C1);
  i = one(w, 0, "INVITE", UA1);
  ruri_eq(msg_at(w, i), C1);
  world_fini(w);
}
END_TEST

/* ARCHITECTURE.md (a store failure is a 500 with Retry-After; RFC 3261
 * 21.5.1): a location lookup that fails answers 500 with Retry-After, and
 * the proxy logs the store failing once, not per request, and once when it
 * works again. */
START_TEST(proxy_store_failure_logged_once)
{
  world *w = world_new(NULL, W_ASYNC);
  char branch[32], cid[32];
  size_t from;

  tlogcount log = { "proxy: location store failing",
                    "proxy: location store works again (3 request(s)", 0, 0 };
  ck_assert_int_eq(sipsrv_core_set_log(w->core, tlog_count, SIPSRV_LOG_WARN, &log), 0);
  for (int i = 0; i < 3; i++) {
    snprintf(branch, sizeof branch, "z9hG4bKfail%d", i);
    snprintf(cid, sizeof cid, "fail-%d@192.0.2.1", i);
    from = w->nsent;
    send_rq(w, RQ(.method = "INVITE", .branch = branch, .call_id = cid));
    ck_assert(w->as.pending);
    w->as.pending = false;
    w->as.done(w->as.ctx, SIPSRV_E_STORE, NULL, 0);
    ck_assert_int_eq(sipsrv_msg_status(msg_at(w, one(w, from, "500", CALLER))), 500);
    ck_assert_ptr_nonnull(strstr(w->sent[w->nsent - 1].data, "\r\nRetry-After: 5\r\n"));
  }
  ck_assert_int_eq(log.nfail, 1);
  ck_assert_int_eq(log.nback, 0);
  from = w->nsent;
  send_rq(w, RQ(.method = "INVITE", .branch = "z9hG4bKok", .call_id = "ok@192.0.2.1"));
  as_complete(w, C1);
  one(w, from, "INVITE", UA1);
  ck_assert_int_eq(log.nfail, 1);
  ck_assert_int_eq(log.nback, 1);
  world_fini(w);
}
END_TEST

/* ======================================================================
 * 16.6: the forwarded copy
 * ====================================================================== */

/* RFC 3261 16.6 steps 1, 3, 8: the copy keeps From, To, Call-ID and CSeq,
 * has Max-Forwards decremented (70 -> 69), our Via on top with a branch of
 * ours, the caller's Via below; a stateful proxy without record_route adds
 * no Record-Route (step 4 is optional). */
START_TEST(proxy_forward_copy_fields)
{
  world *w = world_new(NULL, 0);
  sipsrv_msg *m;
  sipsrv_addr a;
  size_t i;

  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  m = msg_at(w, i);
  ck_assert_int_eq(sipsrv_msg_max_forwards(m), 69);
  ck_assert_int_eq(sipsrv_msg_via_count(m), 2);
  our_via_on_top(m, "UDP");
  ck_assert_str_eq(via_branch(m, 1), "z9hG4bKcaller1");
  ck_assert_str_ne(via_branch(m, 0), "z9hG4bKcaller1");
  ck_assert_str_eq(sipsrv_msg_call_id(m), "call-1@192.0.2.1");
  cseq_eq(m, 1, "INVITE");
  ck_assert_int_eq(sipsrv_msg_from(m, &a), 0);
  ck_assert_str_eq(a.tag, "caller1");
  ck_assert_int_eq(sipsrv_msg_to(m, &a), 0);
  ck_assert_ptr_null(a.tag);
  ck_assert_str_eq(a.uri.user, "bob");
  hdr_absent(m, "Record-Route");
  world_fini(w);
}
END_TEST

/* RFC 3261 16.6 on the bytes received: a stateful proxy's branch sends
 * the request line with the target's Request-URI (step 2), then the lines
 * as they came: Max-Forwards less one (step 3), RFC 5393 Max-Breadth
 * replaced by the share of this branch, our Via right above the caller's
 * (step 8), the caller's Via stamped with received and rport (RFC 3261
 * 18.2.1, RFC 3581 4); headers the proxy has no use for, compact forms and
 * the body untouched. The client transaction keeps those bytes: its CANCEL
 * (9.1, 16.10) is built from them, and so is the ACK of a non-2xx
 * (17.1.1.3). */
START_TEST(proxy_forward_from_bytes)
{
  world *w = world_new(NULL, 0);
  static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n"
                            "t=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";
  char buf[4096], want[4096], b1[64];
  const char *mb, *via, *line;
  size_t n, k, i, m0, c;
  sipsrv_msg *m;
  int len;

  bind_two(w);
  n = (size_t)snprintf(buf, sizeof buf,
                       "INVITE " BOB " SIP/2.0\r\n"
                       "X-Odd: a, \"b,c\"\r\n"
                       "Max-Breadth: 9\r\n"
                       "v: SIP/2.0/UDP 10.0.0.5:5070;rport;branch=z9hG4bKwire1\r\n"
                       "Max-Forwards: 12\r\n"
                       "f: \"Alice\" <sip:alice@example.org>;tag=caller1\r\n"
                       "t: <" BOB ">\r\ni: wire1@192.0.2.1\r\nCSeq: 7 INVITE\r\n"
                       "m: <sip:alice@10.0.0.5:5070>\r\nc: application/sdp\r\n"
                       "l: %zu\r\n\r\n%s", strlen(sdp), sdp);
  inject(w, &w->udp, "192.0.2.1:6000", buf, n);
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 2);
  i = one(w, 0, "INVITE", UA1);
  snprintf(b1, sizeof b1, "%s", via_branch(msg_at(w, i), 0));
  via = strstr(buf, "v: ");
  mb = strstr(buf, "Max-Breadth: 9\r\n");
  line = strstr(buf, "\r\n") + 2;
  len = snprintf(want, sizeof want, "INVITE " C1 " SIP/2.0\r\nMax-Breadth: 4\r\n%.*s%.*s",
                 (int)(mb - line), line, (int)(via - (mb + 16)), mb + 16);
  k = (size_t)len;
  k += (size_t)snprintf(want + k, sizeof want - k,
                        "Via: SIP/2.0/UDP " PX ";branch=%s\r\n"
                        "Via: SIP/2.0/UDP 10.0.0.5:5070;rport=6000;branch=z9hG4bKwire1;"
                        "received=192.0.2.1\r\nMax-Forwards: 11\r\n",
                        b1);
  line = strstr(via, "Max-Forwards: 12\r\n") + 18;
  memcpy(want + k, line, n - (size_t)(line - buf));
  k += n - (size_t)(line - buf);
  ck_assert_msg(w->sent[i].len == k && memcmp(w->sent[i].data, want, k) == 0,
                "sent:\n%.*s\nwant:\n%.*s", (int)w->sent[i].len, w->sent[i].data, (int)k, want);
  /* 180 from the first, 486 from the second: the ACK of the 486 from the
   * second branch's bytes (17.1.1.3). */
  reply_to(w, i, 180, "ua1", NULL);
  m0 = w->nsent;
  reply_to(w, one(w, 0, "INVITE", UA2), 486, "ua2", NULL);
  m = msg_at(w, one(w, m0, "ACK", UA2));
  cseq_eq(m, 7, "ACK");
  ruri_eq(m, C2);
  ck_assert_int_eq(sipsrv_msg_via_count(m), 1);
  our_via_on_top(m, "UDP");
  /* The caller cancels: the CANCEL of the first branch from its bytes. */
  m0 = w->nsent;
  n = (size_t)snprintf(buf, sizeof buf,
                       "CANCEL " BOB " SIP/2.0\r\n"
                       "Via: SIP/2.0/UDP 10.0.0.5:5070;rport;branch=z9hG4bKwire1\r\n"
                       "Max-Forwards: 70\r\nFrom: \"Alice\" <sip:alice@example.org>;tag=caller1\r\n"
                       "To: <" BOB ">\r\nCall-ID: wire1@192.0.2.1\r\nCSeq: 7 CANCEL\r\n"
                       "Content-Length: 0\r\n\r\n");
  inject(w, &w->udp, "192.0.2.1:6000", buf, n);
  c = one(w, m0, "CANCEL", UA1);
  m = msg_at(w, c);
  ruri_eq(m, C1);
  cseq_eq(m, 7, "CANCEL");
  ck_assert_str_eq(via_branch(m, 0), b1);
  ck_assert_int_eq(sipsrv_msg_via_count(m), 1);
  ck_assert_str_eq(sipsrv_msg_call_id(m), "wire1@192.0.2.1");
  world_fini(w);
}
END_TEST

/* RFC 3261 16.6 step 3: a request without Max-Forwards gets one, 70. */
START_TEST(proxy_forward_adds_max_forwards)
{
  world *w = world_new(NULL, 0);
  size_t i;

  bind_one(w, C1);
  i = invite_to(w, RQ(.mf = ""), UA1);
  ck_assert_int_eq(sipsrv_msg_max_forwards(msg_at(w, i)), 70);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.6 step 4: call-stateful mode Record-Routes an initial INVITE
 * with a URI naming the proxy, with lr: <sip:192.0.2.10:5060;lr>. */
START_TEST(proxy_forward_record_route_dialog_mode)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_DIALOG);
  world *w;
  sipsrv_msg *m;
  size_t i;

  w = world_new(&cfg, 0);
  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  m = msg_at(w, i);
  hdr_eq(m, "Record-Route", PX_RR);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.6 step 4: record_route = 1 in stateful mode Record-Routes
 * an initial INVITE too; a request inside a dialog (To tag) is not. */
START_TEST(proxy_forward_record_route_cfg)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  world *w;
  size_t i;

  cfg.record_route = 1;
  w = world_new(&cfg, 0);
  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  hdr_eq(msg_at(w, i), "Record-Route", PX_RR);
  i = invite_to(w,
                RQ(.uri = C1, .to = "<" BOB ">;tag=callee1", .branch = "z9hG4bKreinv",
                   .cseq = 2, .headers = "Route: " PX_RR "\r\n"),
                UA1);
  hdr_absent(msg_at(w, i), "Record-Route");
  world_fini(w);
}
END_TEST

/* RFC 3261 16.6 steps 4, 7, 8 and RFC 5658 (double Record-Route): arriving
 * on UDP and leaving on TCP (a ;transport=tcp target), the copy goes out on
 * TCP with a TCP Via and two Record-Route values, the TCP one on top. The
 * 180 coming back on TCP goes upstream on UDP. */
START_TEST(proxy_forward_record_route_transport_change)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_DIALOG);
  world *w;
  sipsrv_msg *m;
  sipsrv_addr a;
  size_t i, m0, r;

  w = world_new(&cfg, W_TCP);
  bind_one(w, C1 ";transport=tcp");
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  ck_assert_str_eq(w->sent[i].tp, "TCP");
  m = msg_at(w, i);
  ruri_eq(m, C1 ";transport=tcp");
  our_via_on_top(m, "TCP");
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_RECORD_ROUTE, 0, &a), 0);
  ck_assert_str_eq(a.uri.host, PX_HOST);
  ck_assert_str_eq(a.uri.port, "5060");
  ck_assert_str_eq(a.uri.params, "transport=tcp;lr");
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_RECORD_ROUTE, 1, &a), 0);
  ck_assert_str_eq(a.uri.host, PX_HOST);
  ck_assert_str_eq(a.uri.port, "5060");
  ck_assert_str_eq(a.uri.params, "lr");
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_RECORD_ROUTE, 2, &a), SIPSRV_E_NOTFOUND);

  m0 = w->nsent;
  reply_to(w, i, 180, "callee1", NULL);
  r = one(w, m0, "180", CALLER);
  ck_assert_str_eq(w->sent[r].tp, "UDP");
  upstream_via_ok(msg_at(w, r), "z9hG4bKcaller1");
  world_fini(w);
}
END_TEST

/* ======================================================================
 * 16.7: responses
 * ====================================================================== */

/* RFC 3261 16.7 steps 3 and 5: a 100 from downstream is not forwarded; a
 * 180 is, at once, with our Via removed. */
START_TEST(proxy_response_provisional)
{
  world *w = world_new(NULL, 0);
  sipsrv_msg *m;
  sipsrv_addr to;
  size_t i, m0, r;

  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  m0 = w->nsent;
  reply_to(w, i, 100, NULL, NULL);
  ck_assert_int_eq(count(w, m0, "any", CALLER), 0);
  reply_to(w, i, 180, "callee1", NULL);
  r = one(w, m0, "any", CALLER);
  m = msg_at(w, r);
  ck_assert_int_eq(sipsrv_msg_status(m), 180);
  upstream_via_ok(m, "z9hG4bKcaller1");
  ck_assert_int_eq(sipsrv_msg_to(m, &to), 0);
  ck_assert_str_eq(to.tag, "callee1");
  cseq_eq(m, 1, "INVITE");
  world_fini(w);
}
END_TEST

/* RFC 3261 17.2.1 (the INVITE server transaction of a stateful proxy sends
 * 100 Trying when nothing was sent within 200 ms): the proxy's own 100
 * reaches the caller at 200 ms, not before. */
START_TEST(proxy_response_own_100_trying)
{
  world *w = world_new(NULL, 0);
  size_t m0, r;

  bind_one(w, C1);
  m0 = w->nsent;
  invite_to(w, RQ(.method = "INVITE"), UA1);
  run_for(w, 199);
  ck_assert_int_eq(count(w, m0, "any", CALLER), 0);
  run_for(w, 1);
  r = one(w, m0, "any", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 100);
  upstream_via_ok(msg_at(w, r), "z9hG4bKcaller1");
  world_fini(w);
}
END_TEST

/* RFC 3261 16.7 step 5: a 200 goes upstream at once, our Via removed, the
 * rest (Contact) as it came. */
START_TEST(proxy_response_200_forwarded)
{
  world *w = world_new(NULL, 0);
  sipsrv_msg *m;
  sipsrv_addr a;
  size_t i, m0, r;

  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  m0 = w->nsent;
  reply_to(w, i, 200, "callee1", "Contact: <" C1 ">\r\n");
  r = one(w, m0, "final", CALLER);
  m = msg_at(w, r);
  ck_assert_int_eq(sipsrv_msg_status(m), 200);
  upstream_via_ok(m, "z9hG4bKcaller1");
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_CONTACT, 0, &a), 0);
  ck_assert_str_eq(a.uri.host, "192.0.2.20");
  world_fini(w);
}
END_TEST

/* One call through the stateful proxy (INVITE, 200; then BYE, 200) in
 * w: the bytes the core's allocator holds once both are answered, over
 * what it held before; *peak: the most while they were pending. */
static size_t call_bytes(world *w, const char *call_id, const char *bye_branch, size_t *peak)
{
  size_t b0 = w->bytes, i, m0, top;

  i = invite_to(w, RQ(.method = "INVITE", .call_id = call_id), UA1);
  top = w->bytes;
  reply_to(w, i, 200, "callee1", "Contact: <" C1 ">\r\n");
  m0 = w->nsent;
  send_rq(w, RQ(.method = "BYE", .uri = C1, .call_id = call_id, .cseq = 2, .branch = bye_branch,
                .to = "<sip:bob@example.com>;tag=callee1"));
  i = one(w, m0, "BYE", UA1);
  if (w->bytes > top)
    top = w->bytes;
  reply_to(w, i, 200, "callee1", NULL);
  *peak = top - b0;
  return w->bytes - b0;
}

/* Memory per live call: a stateful proxy keeps each INVITE's and BYE's
 * transactions (and their response context) for 32 s after the answer
 * (RFC 6026 Timer L and M, RFC 3261 Timer J). Once settled (the caller
 * has its final answer, no branch pending), a context lets go of the
 * request, the branches' finals, the targets and the plan of the
 * branches' bytes: what stays is a fraction of what a pending call
 * holds (under four fifths of it). Once the transactions end, nothing
 * stays. */
START_TEST(proxy_settled_call_small)
{
  world *w = world_new(NULL, W_COUNT);
  size_t peak, kept, b0;

  bind_one(w, C1);
  /* A first call grows the tables; the second one is measured. */
  call_bytes(w, "warm-1@192.0.2.1", "z9hG4bKbye1", &peak);
  run_for(w, 40000);
  b0 = w->bytes;
  kept = call_bytes(w, "call-2@192.0.2.1", "z9hG4bKbye2", &peak);
  /* Measured: 2,992 of 4,036 bytes on x86-64 (4,824 of 4,956 when the
   * context kept all it had). */
  ck_assert_uint_gt(peak, 0);
  ck_assert_msg(kept * 5 < peak * 4, "%zu of %zu bytes kept", kept, peak);
  run_for(w, 40000);
  ck_assert_uint_eq(w->bytes, b0);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.7 steps 4 and 6: parallel forking to two bindings, 486 and
 * 404: nothing upstream until both are final, then exactly one response of
 * the lowest class (4xx), one of the two received. */
START_TEST(proxy_response_fork_best_after_all)
{
  world *w = world_new(NULL, 0);
  size_t m0, i1, i2, r;
  int st;

  bind_two(w);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "INVITE"));
  i1 = one(w, m0, "INVITE", UA1);
  i2 = one(w, m0, "INVITE", UA2);
  ck_assert_str_ne(via_branch(msg_at(w, i1), 0), via_branch(msg_at(w, i2), 0));
  m0 = w->nsent;
  reply_to(w, i1, 486, "t1", NULL);
  ck_assert_int_eq(count(w, m0, "final", CALLER), 0);
  reply_to(w, i2, 404, "t2", NULL);
  r = one(w, m0, "final", CALLER);
  st = sipsrv_msg_status(msg_at(w, r));
  ck_assert_msg(st == 486 || st == 404, "status %d", st);
  upstream_via_ok(msg_at(w, r), "z9hG4bKcaller1");
  world_fini(w);
}
END_TEST

/* RFC 3261 16.7 step 6: the lowest class wins: 500 and 404 give 404. */
START_TEST(proxy_response_fork_lowest_class)
{
  world *w = world_new(NULL, 0);
  size_t m0, i1, i2, r;

  bind_two(w);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "INVITE"));
  i1 = one(w, m0, "INVITE", UA1);
  i2 = one(w, m0, "INVITE", UA2);
  m0 = w->nsent;
  reply_to(w, i1, 500, "t1", NULL);
  reply_to(w, i2, 404, "t2", NULL);
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 404);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.7 step 6 (proxy.h: 401 and 407 first within 4xx): 486 and
 * 401 give the 401, with its challenge. */
START_TEST(proxy_response_fork_401_preferred)
{
  world *w = world_new(NULL, 0);
  size_t m0, i1, i2, r;
  sipsrv_msg *m;
  char buf[256];

  bind_two(w);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "INVITE"));
  i1 = one(w, m0, "INVITE", UA1);
  i2 = one(w, m0, "INVITE", UA2);
  m0 = w->nsent;
  reply_to(w, i1, 486, "t1", NULL);
  reply_to(w, i2, 401, "t2", "WWW-Authenticate: Digest realm=\"b.example\", nonce=\"n2\"\r\n");
  r = one(w, m0, "final", CALLER);
  m = msg_at(w, r);
  ck_assert_int_eq(sipsrv_msg_status(m), 401);
  ck_assert_int_ge(sipsrv_msg_header(m, "WWW-Authenticate", 0, buf, sizeof buf), 0);
  ck_assert_ptr_nonnull(strstr(buf, "realm=\"b.example\""));
  world_fini(w);
}
END_TEST

/* RFC 3261 16.7 step 6 and 10 (16.7: a 6xx is not forwarded at once; the
 * pending branches are cancelled): A 180s, B 180s, A 603: CANCEL to B (the
 * INVITE's branch and Request-URI, CSeq method CANCEL, 9.1), nothing
 * upstream; B's 487 makes the 603 go up. */
START_TEST(proxy_response_fork_6xx_cancels_others)
{
  world *w = world_new(NULL, 0);
  size_t m0, i1, i2, r, c;
  sipsrv_msg *inv, *cancel;

  bind_two(w);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "INVITE"));
  i1 = one(w, m0, "INVITE", UA1);
  i2 = one(w, m0, "INVITE", UA2);
  reply_to(w, i1, 180, "t1", NULL);
  reply_to(w, i2, 180, "t2", NULL);
  ck_assert_int_eq(count(w, m0, "180", CALLER), 2);
  m0 = w->nsent;
  reply_to(w, i1, 603, "t1", NULL);
  ck_assert_int_eq(count(w, m0, "final", CALLER), 0);
  c = one(w, m0, "CANCEL", UA2);
  ck_assert_int_eq(count(w, m0, "CANCEL", UA1), 0);
  inv = msg_at(w, i2);
  cancel = msg_at(w, c);
  ck_assert_str_eq(via_branch(cancel, 0), via_branch(inv, 0));
  ruri_eq(cancel, C2);
  cseq_eq(cancel, 1, "CANCEL");
  m0 = w->nsent;
  reply_to(w, c, 200, NULL, NULL);
  reply_to(w, i2, 487, "t2", NULL);
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 603);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.7 steps 5 and 10: A 180s, B 200s: the 200 goes upstream at
 * once and A (which had a provisional) gets a CANCEL matching its INVITE. */
START_TEST(proxy_response_fork_2xx_cancels_others)
{
  world *w = world_new(NULL, 0);
  size_t m0, i1, i2, r, c;
  sipsrv_msg *cancel;

  bind_two(w);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "INVITE"));
  i1 = one(w, m0, "INVITE", UA1);
  i2 = one(w, m0, "INVITE", UA2);
  reply_to(w, i1, 180, "t1", NULL);
  m0 = w->nsent;
  reply_to(w, i2, 200, "t2", "Contact: <" C2 ">\r\n");
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 200);
  c = one(w, m0, "CANCEL", UA1);
  ck_assert_int_eq(count(w, m0, "CANCEL", UA2), 0);
  cancel = msg_at(w, c);
  ck_assert_str_eq(via_branch(cancel, 0), via_branch(msg_at(w, i1), 0));
  cseq_eq(cancel, 1, "CANCEL");
  ruri_eq(cancel, C1);
  /* A's 487 after that changes nothing upstream. */
  m0 = w->nsent;
  reply_to(w, i1, 487, "t1", NULL);
  ck_assert_int_eq(count(w, m0, "final", CALLER), 0);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.7 step 7: a 401 and a 407 from two branches: one response
 * upstream carrying both the WWW-Authenticate and the Proxy-Authenticate. */
START_TEST(proxy_response_fork_challenges_merged)
{
  world *w = world_new(NULL, 0);
  size_t m0, i1, i2, r;
  sipsrv_msg *m;
  char www[256], prx[256];
  int st;

  bind_two(w);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "INVITE"));
  i1 = one(w, m0, "INVITE", UA1);
  i2 = one(w, m0, "INVITE", UA2);
  m0 = w->nsent;
  reply_to(w, i1, 401, "t1", "WWW-Authenticate: Digest realm=\"a.example\", nonce=\"n1\"\r\n");
  ck_assert_int_eq(count(w, m0, "final", CALLER), 0);
  reply_to(w, i2, 407, "t2", "Proxy-Authenticate: Digest realm=\"b.example\", nonce=\"n2\"\r\n");
  r = one(w, m0, "final", CALLER);
  m = msg_at(w, r);
  st = sipsrv_msg_status(m);
  ck_assert_msg(st == 401 || st == 407, "status %d", st);
  ck_assert_int_ge(sipsrv_msg_header(m, "WWW-Authenticate", 0, www, sizeof www), 0);
  ck_assert_ptr_nonnull(strstr(www, "realm=\"a.example\""));
  ck_assert_int_ge(sipsrv_msg_header(m, "Proxy-Authenticate", 0, prx, sizeof prx), 0);
  ck_assert_ptr_nonnull(strstr(prx, "realm=\"b.example\""));
  upstream_via_ok(m, "z9hG4bKcaller1");
  world_fini(w);
}
END_TEST

/* RFC 3261 16.7 step 6: a 503 from the only branch goes upstream as 500
 * (the next hop's overload is not this proxy's). */
START_TEST(proxy_response_503_becomes_500)
{
  world *w = world_new(NULL, 0);
  size_t i, m0, r;

  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  m0 = w->nsent;
  reply_to(w, i, 503, "callee1", "Retry-After: 30\r\n");
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 500);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.7 step 6 with 17.1.1.2: no response at all: Timer B (64*T1 =
 * 32 s) ends the branch as a 408, and 408 goes upstream then, not before. */
START_TEST(proxy_response_timer_b_408)
{
  world *w = world_new(NULL, 0);
  size_t m0, r;
  uint64_t t0;

  bind_one(w, C1);
  m0 = w->nsent;
  t0 = w->clock.now_ms;
  invite_to(w, RQ(.method = "INVITE"), UA1);
  run_until(w, t0 + 32000 - 1);
  ck_assert_int_eq(count(w, m0, "final", CALLER), 0);
  ck_assert_int_gt(count(w, m0, "INVITE", UA1), 1);    /* Timer A retransmissions */
  run_until(w, t0 + 32000);
  r = (size_t)find(w, m0, "final", CALLER);
  ck_assert_int_eq(count(w, m0, "final", CALLER), 1);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 408);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.9: the transport fails to send the copy: as a 503 from that
 * branch, so (16.7 step 6) 500 upstream. */
START_TEST(proxy_response_transport_error_500)
{
  world *w = world_new(NULL, 0);
  size_t r;

  bind_one(w, "sip:bob@192.0.2.99:5060");
  snprintf(w->fail_dst, sizeof w->fail_dst, "192.0.2.99:5060");
  send_rq(w, RQ(.method = "INVITE"));
  ck_assert_int_eq(count(w, 0, "INVITE", "192.0.2.99:5060"), 1);
  r = one(w, 0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 500);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.7 step 5 and RFC 6026 7.2: a 2xx retransmission is forwarded
 * while the client transaction is in Accepted, and still (by Via, as a
 * stray response) after it and the server transaction have ended. */
START_TEST(proxy_response_2xx_retransmission)
{
  world *w = world_new(NULL, 0);
  size_t i, m0, r;

  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  m0 = w->nsent;
  reply_to(w, i, 200, "callee1", "Contact: <" C1 ">\r\n");
  one(w, m0, "200", CALLER);
  m0 = w->nsent;
  run_for(w, 1000);
  reply_to(w, i, 200, "callee1", "Contact: <" C1 ">\r\n");
  one(w, m0, "200", CALLER);
  /* Timer L and M: both transactions end (64*T1). */
  run_for(w, 40000);
  m0 = w->nsent;
  reply_to(w, i, 200, "callee1", "Contact: <" C1 ">\r\n");
  r = one(w, m0, "any", NULL);
  ck_assert_str_eq(w->sent[r].dst, CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 200);
  upstream_via_ok(msg_at(w, r), "z9hG4bKcaller1");
  world_fini(w);
}
END_TEST

/* ======================================================================
 * Serial forking (16.6, RFC 3261 16.5 q-values)
 * ====================================================================== */

/* RFC 3261 16.6 (serial): the q=1.0 contact first; after its 486 the
 * q=0.5 one; that one's 200 goes upstream. */
START_TEST(proxy_serial_q_order)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  bspec b[2] = { { C1, 500, NULL, 0 }, { C2, 1000, NULL, 0 } };
  world *w;
  size_t m0, i1, i2, r;

  cfg.serial = 1;
  w = world_new(&cfg, 0);
  put_bindings(w, BOB, b, 2);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "INVITE"));
  i2 = one(w, m0, "INVITE", UA2);
  ck_assert_int_eq(count(w, m0, "INVITE", UA1), 0);
  m0 = w->nsent;
  reply_to(w, i2, 486, "t2", NULL);
  ck_assert_int_eq(count(w, m0, "final", CALLER), 0);
  i1 = one(w, m0, "INVITE", UA1);
  ck_assert_str_ne(via_branch(msg_at(w, i1), 0), via_branch(msg_at(w, i2), 0));
  m0 = w->nsent;
  reply_to(w, i1, 200, "t1", "Contact: <" C1 ">\r\n");
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 200);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.6 (serial) and 16.7 step 10: a 2xx from the first target
 * means the second is never tried. */
START_TEST(proxy_serial_2xx_stops)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  bspec b[2] = { { C1, 500, NULL, 0 }, { C2, 1000, NULL, 0 } };
  world *w;
  size_t m0, i2;

  cfg.serial = 1;
  w = world_new(&cfg, 0);
  put_bindings(w, BOB, b, 2);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "INVITE"));
  i2 = one(w, m0, "INVITE", UA2);
  reply_to(w, i2, 200, "t2", "Contact: <" C2 ">\r\n");
  one(w, m0, "200", CALLER);
  run_for(w, 200000);
  ck_assert_int_eq(count(w, 0, "INVITE", UA1), 0);
  world_fini(w);
}
END_TEST

/* ======================================================================
 * 16.10: CANCEL
 * ====================================================================== */

/* RFC 3261 16.10 and 9.1: after a 180, the caller's CANCEL gets 200; a
 * CANCEL goes to the branch (the INVITE's branch and Request-URI, CSeq
 * method CANCEL); the branch's 487 goes upstream. */
START_TEST(proxy_cancel_after_provisional)
{
  world *w = world_new(NULL, 0);
  size_t i, m0, c, r;
  sipsrv_msg *m;

  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  reply_to(w, i, 180, "callee1", NULL);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "CANCEL"));
  r = one(w, m0, "200", CALLER);
  cseq_eq(msg_at(w, r), 1, "CANCEL");
  c = one(w, m0, "CANCEL", UA1);
  m = msg_at(w, c);
  ck_assert_str_eq(via_branch(m, 0), via_branch(msg_at(w, i), 0));
  ck_assert_int_eq(sipsrv_msg_via_count(m), 1);
  cseq_eq(m, 1, "CANCEL");
  ruri_eq(m, C1);
  ck_assert_int_eq(count(w, m0, "final", CALLER), 1);   /* only the CANCEL's 200 */
  m0 = w->nsent;
  reply_to(w, c, 200, NULL, NULL);
  reply_to(w, i, 487, "callee1", NULL);
  r = one(w, m0, "final", CALLER);
  m = msg_at(w, r);
  ck_assert_int_eq(sipsrv_msg_status(m), 487);
  cseq_eq(m, 1, "INVITE");
  world_fini(w);
}
END_TEST

/* RFC 3261 16.10 and 9.1 (a CANCEL is not sent before a provisional
 * response): a CANCEL before any response from downstream gets 200, no
 * CANCEL goes out, and the caller gets its 487 at once (the branch is not
 * waited for until Timer B); the 180 then makes the CANCEL go, and the
 * callee's 487 is not forwarded a second time. */
START_TEST(proxy_cancel_before_provisional)
{
  world *w = world_new(NULL, 0);
  size_t i, m0, c, r;

  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "CANCEL"));
  r = one(w, m0, "200", CALLER);
  cseq_eq(msg_at(w, r), 1, "CANCEL");
  r = one(w, m0, "487", CALLER);
  cseq_eq(msg_at(w, r), 1, "INVITE");
  ck_assert_int_eq(count(w, m0, "CANCEL", NULL), 0);
  m0 = w->nsent;
  reply_to(w, i, 180, "callee1", NULL);
  c = one(w, m0, "CANCEL", UA1);
  ck_assert_str_eq(via_branch(msg_at(w, c), 0), via_branch(msg_at(w, i), 0));
  ck_assert_int_eq(count(w, m0, "any", CALLER), 0);
  m0 = w->nsent;
  reply_to(w, i, 487, "callee1", NULL);
  ck_assert_int_eq(count(w, m0, "any", CALLER), 0);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.10 ("the proxy MUST NOT create new branches" once cancelled)
 * with an asynchronous location service: a CANCEL while the lookup is in
 * flight gets 200; when the lookup completes nothing is forwarded and the
 * INVITE gets 487. */
START_TEST(proxy_cancel_during_lookup)
{
  world *w = world_new(NULL, W_ASYNC);
  size_t r, m0;

  send_rq(w, RQ(.method = "INVITE"));
  ck_assert(w->as.pending);
  send_rq(w, RQ(.method = "CANCEL"));
  r = one(w, 0, "200", CALLER);
  cseq_eq(msg_at(w, r), 1, "CANCEL");
  m0 = w->nsent;
  as_complete(w, C1);
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 487);
  cseq_eq(msg_at(w, r), 1, "INVITE");
  world_fini(w);
}
END_TEST

/* ======================================================================
 * 16.8: Timer C
 * ====================================================================== */

/* RFC 3261 16.8 and 16.7 step 2: Timer C restarts at each provisional;
 * timer_c_ms after the last one with nothing else, the branch is
 * cancelled; its 487 then goes upstream. */
START_TEST(proxy_timer_c_cancels)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  world *w;
  size_t i, m0, r;
  uint64_t t180;

  cfg.timer_c_ms = 200000;
  w = world_new(&cfg, 0);
  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  run_for(w, 1000);
  reply_to(w, i, 180, "callee1", NULL);
  t180 = w->clock.now_ms;
  m0 = w->nsent;
  run_until(w, t180 + 200000 - 1);
  ck_assert_int_eq(count(w, m0, "CANCEL", NULL), 0);
  run_until(w, t180 + 200000);
  ck_assert_int_eq(count(w, m0, "CANCEL", UA1), 1);
  m0 = w->nsent;
  reply_to(w, i, 487, "callee1", NULL);
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 487);
  world_fini(w);
}
END_TEST

/* ======================================================================
 * ACK for a 2xx (16.6, 13.2.2.4)
 * ====================================================================== */

/* RFC 3261 16.6 and 13.2.2.4 (the ACK for a 2xx is a transaction of its
 * own, forwarded by its Route): with our Route then the callee's, it goes
 * to the callee's Route; with only ours, to its Request-URI; Max-Forwards
 * decremented, our Via on top, never answered. */
START_TEST(proxy_ack_2xx_forwarded)
{
  world *w = world_new(NULL, 0);
  size_t i, m0, a;
  sipsrv_msg *m;
  sipsrv_addr r;

  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  reply_to(w, i, 200, "callee1", "Contact: <" C1 ">\r\n");

  m0 = w->nsent;
  send_rq(w, RQ(.method = "ACK", .uri = C1, .to = "<" BOB ">;tag=callee1", .branch = "z9hG4bKack1",
                .headers = "Route: " PX_RR ", <sip:192.0.2.40:5070;lr>\r\n"));
  a = one(w, m0, "any", NULL);
  ck_assert_str_eq(w->sent[a].dst, "192.0.2.40:5070");
  m = msg_at(w, a);
  ck_assert_int_eq(sipsrv_msg_method(m), SIPSRV_METHOD_ACK);
  ruri_eq(m, C1);
  ck_assert_int_eq(sipsrv_msg_max_forwards(m), 69);
  our_via_on_top(m, "UDP");
  ck_assert_int_eq(sipsrv_msg_via_count(m), 2);
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_ROUTE, 0, &r), 0);
  ck_assert_str_eq(r.uri.host, "192.0.2.40");
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_ROUTE, 1, &r), SIPSRV_E_NOTFOUND);

  m0 = w->nsent;
  send_rq(w, RQ(.method = "ACK", .uri = C1, .to = "<" BOB ">;tag=callee1", .branch = "z9hG4bKack2",
                .headers = "Route: " PX_RR "\r\n"));
  a = one(w, m0, "any", NULL);
  ck_assert_str_eq(w->sent[a].dst, UA1);
  m = msg_at(w, a);
  ck_assert_int_eq(sipsrv_msg_method(m), SIPSRV_METHOD_ACK);
  ck_assert_int_eq(sipsrv_msg_max_forwards(m), 69);
  hdr_absent(m, "Route");
  ck_assert_int_eq(count(w, m0, "any", CALLER), 0);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.6 and 13.2.2.4 on the bytes: the ACK of a 2xx passes a
 * stateful proxy without a transaction, from its bytes as a stateless
 * proxy's requests (counted as relayed), our own Route line taken off
 * (16.4); with the branch the full parse makes for it (16.11: a folded
 * line sends it that way). The ACK of a non-2xx is the server
 * transaction's (17.2.3): absorbed, not forwarded. */
START_TEST(proxy_ack_2xx_from_bytes)
{
  world *w = world_new(NULL, 0);
  sipsrv_counters c0;
  char b1[64];
  size_t i, m0, a;
  sipsrv_msg *m;

  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  reply_to(w, i, 200, "callee1", "Contact: <" C1 ">\r\n");
  c0 = counters_of(w);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "ACK", .uri = C1, .to = "<" BOB ">;tag=callee1", .branch = "z9hG4bKack1",
                .headers = "Route: " PX_RR "\r\n"));
  ck_assert_uint_eq(counters_of(w).requests_relayed, c0.requests_relayed + 1);
  a = one(w, m0, "ACK", UA1);
  ck_assert_ptr_null(strstr(w->sent[a].data, "Route:"));
  m = msg_at(w, a);
  ck_assert_int_eq(sipsrv_msg_max_forwards(m), 69);
  our_via_on_top(m, "UDP");
  ck_assert_str_eq(via_branch(m, 1), "z9hG4bKack1");
  snprintf(b1, sizeof b1, "%s", via_branch(m, 0));
  m0 = w->nsent;
  send_rq(w, RQ(.method = "ACK", .uri = C1, .to = "<" BOB ">;tag=callee1", .branch = "z9hG4bKack1",
                .headers = "Route: " PX_RR "\r\nSubject: folded\r\n line\r\n"));
  ck_assert_uint_eq(counters_of(w).requests_relayed, c0.requests_relayed + 1);
  ck_assert_str_eq(via_branch(msg_at(w, one(w, m0, "ACK", UA1)), 0), b1);
  /* A 486 and its ACK, which the INVITE server transaction takes (its
   * Request-URI one the raw path would forward, were it not matched). */
  i = invite_to(w, RQ(.method = "INVITE", .branch = "z9hG4bKnx1", .call_id = "nx1@192.0.2.1"), UA1);
  reply_to(w, i, 486, "ua1", NULL);
  ck_assert_int_eq(count(w, i, "ACK", UA1), 1);              /* the proxy's own, 17.1.1.3 */
  one(w, i, "486", CALLER);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "ACK", .uri = C1, .to = "<" BOB ">;tag=ua1", .branch = "z9hG4bKnx1",
                .call_id = "nx1@192.0.2.1"));
  ck_assert_uint_eq(w->nsent, m0);
  ck_assert_uint_eq(counters_of(w).requests_relayed, c0.requests_relayed + 1);
  world_fini(w);
}
END_TEST

/* The ACK of a 2xx goes to the first role that takes ACKs: with a UAS
 * attached before the proxy, it asks the UAS first (the full path), and
 * the proxy forwards what the UAS does not take. */
START_TEST(proxy_ack_2xx_role_before)
{
  world *w = world_new(NULL, W_NOPROXY);
  sipsrv_proxy_cfg pc = base_cfg(SIPSRV_PROXY_STATEFUL);
  sipsrv_counters c0;
  size_t m0;

  ck_assert_int_eq(sipsrv_uas_new(&w->uas, w->core, NULL), 0);
  pc.location = w->store;
  ck_assert_int_eq(sipsrv_proxy_new(&w->proxy, w->core, &pc), 0);
  c0 = counters_of(w);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "ACK", .uri = C1, .to = "<" BOB ">;tag=callee1", .branch = "z9hG4bKack1",
                .headers = "Route: " PX_RR "\r\n"));
  one(w, m0, "ACK", UA1);
  ck_assert_uint_eq(counters_of(w).requests_relayed, c0.requests_relayed);
  world_fini(w);
}
END_TEST

/* ======================================================================
 * 16.11: stateless mode
 * ====================================================================== */

static sipsrv_proxy_cfg stateless_cfg(void)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATELESS);
  cfg.next_hop = "sip:" NEXT_HOP;
  return cfg;
}

/* RFC 3261 16.11: the branch of a stateless copy is computed from the
 * request: the same for its retransmission, its CANCEL and the ACK of a
 * non-2xx, another for another request; no 100 and no response from the
 * proxy. */
START_TEST(proxy_stateless_branch_stable)
{
  sipsrv_proxy_cfg cfg = stateless_cfg();
  world *w = world_new(&cfg, W_NOLOC);
  const rq inv = { .uri = "sip:carol@other.test", .to = "<sip:carol@other.test>" };
  size_t i1, i2, c, i3, m0;
  const char *b1;
  sipsrv_msg *m;

  i1 = invite_to(w, &inv, NEXT_HOP);
  m = msg_at(w, i1);
  ruri_eq(m, "sip:carol@other.test");
  our_via_on_top(m, "UDP");
  ck_assert_int_eq(sipsrv_msg_max_forwards(m), 69);
  b1 = via_branch(m, 0);
  i2 = invite_to(w, &inv, NEXT_HOP);
  ck_assert_str_eq(via_branch(msg_at(w, i2), 0), b1);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "CANCEL", .uri = "sip:carol@other.test", .to = "<sip:carol@other.test>"));
  c = one(w, m0, "CANCEL", NEXT_HOP);
  ck_assert_str_eq(via_branch(msg_at(w, c), 0), b1);
  i3 = invite_to(w,
                 RQ(.uri = "sip:carol@other.test", .to = "<sip:carol@other.test>",
                    .branch = "z9hG4bKcaller2", .call_id = "call-2@192.0.2.1"),
                 NEXT_HOP);
  ck_assert_str_ne(via_branch(msg_at(w, i3), 0), b1);
  /* The ACK of a non-2xx final response: the INVITE's branch too. */
  m0 = w->nsent;
  send_rq(w, RQ(.method = "ACK", .uri = "sip:carol@other.test",
                .to = "<sip:carol@other.test>;tag=callee1"));
  c = one(w, m0, "ACK", NEXT_HOP);
  ck_assert_str_eq(via_branch(msg_at(w, c), 0), b1);
  /* No transaction, so no 100 Trying however long it waits. */
  run_for(w, 5000);
  ck_assert_int_eq(count(w, 0, "any", CALLER), 0);
  world_fini(w);
}
END_TEST

/* RFC 3261 18.2.2 and 16.11: a stateless proxy keeps no state, yet the
 * response to a request that came over TCP goes back on that connection
 * (its branch names it), not to the Via's sent-by (behind a NAT, nothing
 * listens there). */
START_TEST(proxy_stateless_tcp_response_on_connection)
{
  sipsrv_proxy_cfg cfg = stateless_cfg();
  world *w = world_new(&cfg, W_TCP | W_NOLOC);
  char buf[4096];
  size_t n, i, m0, r;

  n = build(buf, sizeof buf, RQ(.uri = "sip:carol@other.test", .to = "<sip:carol@other.test>",
                                .via = "SIP/2.0/TCP 10.0.0.5:5070;branch=z9hG4bKtcp1"));
  inject(w, &w->tcp, CALLER, buf, n);
  i = one(w, 0, "INVITE", NEXT_HOP);
  m0 = w->nsent;
  reply_to(w, i, 180, "callee1", NULL);
  r = one(w, m0, "180", NULL);
  ck_assert_str_eq(w->sent[r].tp, "TCP");
  ck_assert_uint_eq(w->sent[r].conn, 42);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.11 and 16.7 step 3, 18.2.2, RFC 3581 4: a response with our
 * Via on top goes to the next Via's received address and rport (the
 * caller's NAT binding), our Via removed. */
START_TEST(proxy_stateless_response_by_via)
{
  sipsrv_proxy_cfg cfg = stateless_cfg();
  world *w = world_new(&cfg, W_NOLOC);
  size_t i, m0, r;
  sipsrv_msg *m;
  sipsrv_via v;

  m0 = w->nsent;
  send_from(w, "192.0.2.1:6000",
            RQ(.uri = "sip:carol@other.test", .to = "<sip:carol@other.test>",
               .via = "SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKnat1;rport"));
  i = one(w, m0, "INVITE", NEXT_HOP);
  m = msg_at(w, i);
  ck_assert_int_eq(sipsrv_msg_via(m, 1, &v), 0);
  ck_assert_str_eq(v.received, "192.0.2.1");
  ck_assert_str_eq(v.rport, "6000");
  m0 = w->nsent;
  reply_to(w, i, 180, "callee1", NULL);
  r = one(w, m0, "any", NULL);
  ck_assert_str_eq(w->sent[r].dst, "192.0.2.1:6000");
  m = msg_at(w, r);
  ck_assert_int_eq(sipsrv_msg_status(m), 180);
  ck_assert_int_eq(sipsrv_msg_via_count(m), 1);
  ck_assert_str_eq(via_branch(m, 0), "z9hG4bKnat1");
  m0 = w->nsent;
  reply_to(w, i, 200, "callee1", "Contact: <sip:carol@192.0.2.7:5090>\r\n");
  r = one(w, m0, "any", NULL);
  ck_assert_str_eq(w->sent[r].dst, "192.0.2.1:6000");
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 200);
  world_fini(w);
}
END_TEST

/* The bytes of the sent message r less its first Via line equal [want, n)
 * less its first Via line. */
static void same_less_top_via(const world *w, size_t r, const char *in, size_t n)
{
  const char *via = strstr(in, "\r\nVia: "), *end;
  size_t cut;
  ck_assert_ptr_nonnull(via);
  via += 2;
  end = strstr(via, "\r\n") + 2;
  cut = (size_t)(end - via);
  ck_assert_uint_eq(w->sent[r].len, n - cut);
  ck_assert(memcmp(w->sent[r].data, in, (size_t)(via - in)) == 0);
  ck_assert(memcmp(w->sent[r].data + (via - in), end, n - (size_t)(end - in)) == 0);
}

/* An INVITE from the caller at 192.0.2.1:6000 behind a NAT (rport), with
 * an upstream Via below the caller's: forwarded once to NEXT_HOP, its
 * index. */
static size_t invite_via_nat(world *w, const char *branch)
{
  char via[256];
  snprintf(via, sizeof via,
           "SIP/2.0/UDP 10.0.0.5:5070;branch=%s;rport\r\nVia: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKup1",
           branch);
  send_from(w, "192.0.2.1:6000",
            RQ(.uri = "sip:carol@other.test", .to = "<sip:carol@other.test>", .via = via));
  return one(w, 0, "INVITE", NEXT_HOP);
}

/* Our Via and the next in one Via line ("Via: ours, caller's"). */
static size_t join_top_vias(char *buf, size_t n)
{
  char *a = strstr(buf, "\r\nVia: "), *ae, *b;
  ck_assert_ptr_nonnull(a);
  ae = strstr(a + 2, "\r\n");
  b = ae + 2;
  ck_assert(strncmp(b, "Via: ", 5) == 0);
  memmove(ae + 2, b + 5, n - (size_t)(b + 5 - buf));
  memcpy(ae, ", ", 2);
  return n - 5;
}

/* A 180 to sent request i with our Via and the next in one line
 * (join_top_vias()) into buf (its length returned); want receives what
 * should leave, the same less "<our Via>, ", and *wlen its length. */
static size_t joined_180(world *w, size_t i, char *buf, size_t size, char *want, size_t *wlen)
{
  size_t n = join_top_vias(buf, reply_bytes(w, i, 180, "callee1", NULL, buf, size));
  const char *ours = strstr(buf, "\r\nVia: ") + 7, *rest = strstr(ours, ", ") + 2;
  size_t k = (size_t)(ours - buf);
  memcpy(want, buf, k);
  memcpy(want + k, rest, n - (size_t)(rest - buf));
  *wlen = n - (size_t)(rest - ours);
  return n;
}

/* RFC 3261 16.11: a stateless proxy forwards a response by its Vias alone.
 * A response of the plain form goes on from its bytes: exactly what came,
 * less our Via line, to the next Via's received and rport, counted as
 * relayed (and as a response in). Headers it has no use for, compact
 * forms and a body pass untouched. */
START_TEST(proxy_stateless_response_from_bytes)
{
  sipsrv_proxy_cfg cfg = stateless_cfg();
  world *w = world_new(&cfg, W_NOLOC);
  static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\n"
                            "t=0 0\r\nm=audio 6002 RTP/AVP 0\r\n";
  char buf[8192], extra[512];
  sipsrv_counters c0, c1;
  size_t i, m0, r, n;

  i = invite_via_nat(w, "z9hG4bKraw1");
  n = reply_bytes(w, i, 180, "callee1", "X-Odd: a, \"b,c\"\r\nm: <sip:carol@192.0.2.7:5090>\r\n",
                  buf, sizeof buf);
  c0 = counters_of(w);
  m0 = w->nsent;
  inject(w, &w->udp, NEXT_HOP, buf, n);
  c1 = counters_of(w);
  ck_assert_uint_eq(c1.responses_relayed, c0.responses_relayed + 1);
  ck_assert_uint_eq(c1.responses_in[0], c0.responses_in[0] + 1);
  r = one(w, m0, "any", NULL);
  ck_assert_str_eq(w->sent[r].dst, "192.0.2.1:6000");
  same_less_top_via(w, r, buf, n);
  /* A 200 with a body: the body goes with it. */
  snprintf(extra, sizeof extra, "Content-Type: application/sdp\r\n");
  n = reply_bytes(w, i, 200, "callee1", extra, buf, sizeof buf);
  ck_assert(n > 21 && strcmp(buf + n - 21, "Content-Length: 0\r\n\r\n") == 0);
  n -= 21;
  n += (size_t)snprintf(buf + n, sizeof buf - n, "Content-Length: %zu\r\n\r\n%s", strlen(sdp), sdp);
  m0 = w->nsent;
  inject(w, &w->udp, NEXT_HOP, buf, n);
  ck_assert_uint_eq(counters_of(w).responses_relayed, c0.responses_relayed + 2);
  r = one(w, m0, "any", NULL);
  ck_assert_str_eq(w->sent[r].dst, "192.0.2.1:6000");
  same_less_top_via(w, r, buf, n);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 200);
  world_fini(w);
}
END_TEST

/* 16.11 with the Vias of a response in one line, as sipp's [last_Via:]
 * writes them ("Via: ours, caller's, ..."): from the bytes too, less our
 * value and its comma; the other values and lines stay as they came. */
START_TEST(proxy_stateless_response_from_bytes_joined_vias)
{
  sipsrv_proxy_cfg cfg = stateless_cfg();
  world *w = world_new(&cfg, W_NOLOC);
  char buf[8192], want[8192];
  sipsrv_counters c0;
  size_t i, m0, r, n, wlen;
  sipsrv_msg *m;

  i = invite_via_nat(w, "z9hG4bKjoin1");
  n = joined_180(w, i, buf, sizeof buf, want, &wlen);
  c0 = counters_of(w);
  m0 = w->nsent;
  inject(w, &w->udp, NEXT_HOP, buf, n);
  ck_assert_uint_eq(counters_of(w).responses_relayed, c0.responses_relayed + 1);
  r = one(w, m0, "any", "192.0.2.1:6000");
  ck_assert_uint_eq(w->sent[r].len, wlen);
  ck_assert(memcmp(w->sent[r].data, want, wlen) == 0);
  m = msg_at(w, r);
  ck_assert_int_eq(sipsrv_msg_via_count(m), 2);
  ck_assert_str_eq(via_branch(m, 0), "z9hG4bKjoin1");
  ck_assert_str_eq(via_branch(m, 1), "z9hG4bKup1");
  world_fini(w);
}
END_TEST

/* 16.11 still, for the responses that are not of the plain form: they take
 * the full parse, which forwards them as before (no Content-Length, a
 * folded header) or drops and counts them (no CSeq, a Content-Length beyond
 * the datagram, a top Via not ours); none is counted as relayed. */
START_TEST(proxy_stateless_response_irregular_parsed)
{
  sipsrv_proxy_cfg cfg = stateless_cfg();
  world *w = world_new(&cfg, W_NOLOC);
  char buf[8192];
  sipsrv_counters c0, c1;
  size_t i, m0, r, n;
  char *p;

  i = invite_via_nat(w, "z9hG4bKirr1");
  c0 = counters_of(w);

  /* Forwarded after the full parse. */
  n = reply_bytes(w, i, 180, "callee1", NULL, buf, sizeof buf);
  ck_assert(n > 21 && strcmp(buf + n - 21, "Content-Length: 0\r\n\r\n") == 0);
  n -= 21;
  memcpy(buf + n, "\r\n", 2);         /* no Content-Length (a datagram may omit it) */
  n += 2;
  m0 = w->nsent;
  inject(w, &w->udp, NEXT_HOP, buf, n);
  r = one(w, m0, "any", "192.0.2.1:6000");
  ck_assert_int_eq(sipsrv_msg_via_count(msg_at(w, r)), 2);
  ck_assert_str_eq(via_branch(msg_at(w, r), 0), "z9hG4bKirr1");
  n = reply_bytes(w, i, 183, "callee1", "X-Fold: a,\r\n b\r\n", buf, sizeof buf);
  m0 = w->nsent;
  inject(w, &w->udp, NEXT_HOP, buf, n);
  r = one(w, m0, "any", "192.0.2.1:6000");
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 183);
  ck_assert_int_eq(sipsrv_msg_via_count(msg_at(w, r)), 2);
  c1 = counters_of(w);
  ck_assert_uint_eq(c1.responses_in[0], c0.responses_in[0] + 2);

  /* Dropped and counted. */
  n = reply_bytes(w, i, 200, "callee1", NULL, buf, sizeof buf);
  p = strstr(buf, "\r\nCSeq:");
  ck_assert_ptr_nonnull(p);
  memcpy(p + 2, "XSeq", 4);            /* no CSeq left */
  m0 = w->nsent;
  inject(w, &w->udp, NEXT_HOP, buf, n);
  ck_assert_uint_eq(w->nsent, m0);
  n = reply_bytes(w, i, 200, "callee1", NULL, buf, sizeof buf);
  p = strstr(buf, "Content-Length: 0");
  ck_assert_ptr_nonnull(p);
  p[16] = '9';                          /* 9 bytes of body announced, none came */
  inject(w, &w->udp, NEXT_HOP, buf, n);
  ck_assert_uint_eq(w->nsent, m0);
  c1 = counters_of(w);
  ck_assert_uint_eq(c1.dropped_malformed, c0.dropped_malformed + 2);
  n = reply_bytes(w, i, 200, "callee1", NULL, buf, sizeof buf);
  p = strstr(buf, "Via: SIP/2.0/UDP " PX_HOST);
  ck_assert_ptr_nonnull(p);
  memcpy(p + 17, "198", 3);             /* our Via now names someone else */
  inject(w, &w->udp, NEXT_HOP, buf, n);
  ck_assert_uint_eq(w->nsent, m0);
  c1 = counters_of(w);
  ck_assert_uint_eq(c1.dropped_not_ours, c0.dropped_not_ours + 1);
  ck_assert_uint_eq(c1.responses_relayed, c0.responses_relayed);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.7 for a stateful proxy, responses of the plain form from
 * their bytes: the client transaction finds them by branch and CSeq method
 * (17.1.3) and changes state as for a parsed one (a 100 stops Timer A,
 * 17.1.1.2); the 180, the 200 and the 200's retransmission (RFC 6026 7.2)
 * go upstream exactly as they came less our Via line (16.7 step 3); all
 * four are counted as relayed. */
START_TEST(proxy_stateful_response_from_bytes)
{
  world *w = world_new(NULL, 0);
  static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\n"
                            "t=0 0\r\nm=audio 6002 RTP/AVP 0\r\n";
  char buf[8192];
  sipsrv_counters c0;
  size_t i, m0, r, n;

  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  c0 = counters_of(w);
  n = reply_bytes(w, i, 100, NULL, NULL, buf, sizeof buf);
  m0 = w->nsent;
  inject(w, &w->udp, UA1, buf, n);
  ck_assert_uint_eq(counters_of(w).responses_relayed, c0.responses_relayed + 1);
  run_for(w, 4000);                    /* Timer A stopped: no retransmission */
  ck_assert_int_eq(count(w, m0, "INVITE", UA1), 0);
  /* The callee's 100 stays here (16.7 step 5); the caller has the server
   * transaction's own (17.2.1). */
  one(w, m0, "100", CALLER);
  ck_assert_int_eq(count(w, m0, "any", CALLER), 1);

  n = reply_bytes(w, i, 180, "callee1", "X-Odd: a, \"b,c\"\r\nm: <" C1 ">\r\n", buf, sizeof buf);
  m0 = w->nsent;
  inject(w, &w->udp, UA1, buf, n);
  r = one(w, m0, "any", CALLER);
  same_less_top_via(w, r, buf, n);
  ck_assert_uint_eq(counters_of(w).responses_relayed, c0.responses_relayed + 2);

  n = reply_bytes(w, i, 200, "callee1", "Content-Type: application/sdp\r\n", buf, sizeof buf);
  n -= 21;                             /* "Content-Length: 0\r\n\r\n" */
  n += (size_t)snprintf(buf + n, sizeof buf - n, "Content-Length: %zu\r\n\r\n%s", strlen(sdp), sdp);
  for (int k = 0; k < 2; k++) {        /* the 200, then its retransmission */
    m0 = w->nsent;
    inject(w, &w->udp, UA1, buf, n);
    r = one(w, m0, "any", CALLER);
    same_less_top_via(w, r, buf, n);
    ck_assert_uint_eq(counters_of(w).responses_relayed, c0.responses_relayed + 3 + (unsigned)k);
    run_for(w, 500);
  }
  ck_assert_uint_eq(counters_of(w).responses_in[1], c0.responses_in[1] + 2);
  world_fini(w);
}
END_TEST

/* The same with our Via and the next in one line, as sipp's [last_Via:]
 * writes them: what goes upstream is what came less "<our Via>, ". */
START_TEST(proxy_stateful_response_from_bytes_joined_vias)
{
  world *w = world_new(NULL, 0);
  char buf[8192], want[8192];
  size_t i, m0, r, n, wlen;

  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  n = joined_180(w, i, buf, sizeof buf, want, &wlen);
  m0 = w->nsent;
  inject(w, &w->udp, UA1, buf, n);
  r = one(w, m0, "any", CALLER);
  ck_assert_uint_eq(w->sent[r].len, wlen);
  ck_assert(memcmp(w->sent[r].data, want, wlen) == 0);
  upstream_via_ok(msg_at(w, r), "z9hG4bKcaller1");
  world_fini(w);
}
END_TEST

/* What a stateful proxy does not take from the bytes goes the parsed way,
 * uncounted as relayed: a final 3xx-6xx (16.7 step 6 chooses among parsed
 * ones), a response whose CSeq method names no transaction of ours (17.1.3:
 * a stray, forwarded by Via, 16.7 step 3), and one whose CSeq is beyond
 * 2**31 - 1 (8.1.1.5: dropped as malformed). In the call-stateful mode a
 * 180 is relayed from its bytes, the 200 is parsed (its dialog starts). */
START_TEST(proxy_stateful_response_parsed_when_needed)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_DIALOG);
  world *w = world_new(NULL, 0);
  char buf[8192];
  sipsrv_counters c0, c1;
  size_t i, m0, r, n;
  char *p;

  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  c0 = counters_of(w);
  n = reply_bytes(w, i, 180, "callee1", NULL, buf, sizeof buf);
  p = strstr(buf, " INVITE\r\n");
  ck_assert_ptr_nonnull(p);
  memcpy(p, " UPDATE", 7);              /* no client transaction for UPDATE */
  m0 = w->nsent;
  inject(w, &w->udp, UA1, buf, n);
  ck_assert_int_eq(count(w, m0, "180", CALLER), 1);   /* a stray: by Via */
  n = reply_bytes(w, i, 183, "callee1", NULL, buf, sizeof buf);
  p = strstr(buf, "CSeq: 1 ");
  ck_assert_ptr_nonnull(p);
  memmove(p + 16, p + 7, n - (size_t)(p + 7 - buf));
  memcpy(p + 6, "2147483648", 10);      /* 2**31: parses, out of range */
  n += 9;
  m0 = w->nsent;
  inject(w, &w->udp, UA1, buf, n);
  ck_assert_uint_eq(w->nsent, m0);
  c1 = counters_of(w);
  ck_assert_uint_eq(c1.dropped_malformed, c0.dropped_malformed + 1);
  reply_to(w, i, 486, "callee1", NULL);
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 486);
  ck_assert_uint_eq(counters_of(w).responses_relayed, c0.responses_relayed);
  world_fini(w);

  w = world_new(&cfg, 0);
  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  c0 = counters_of(w);
  reply_to(w, i, 180, "callee1", NULL);
  ck_assert_uint_eq(counters_of(w).responses_relayed, c0.responses_relayed + 1);
  m0 = w->nsent;
  reply_to(w, i, 200, "callee1", "Contact: <" C1 ">\r\n");
  one(w, m0, "200", CALLER);
  ck_assert_uint_eq(counters_of(w).responses_relayed, c0.responses_relayed + 1);
  ck_assert_uint_eq(sipsrv_proxy_dialog_count(w->proxy), 1);
  world_fini(w);
}
END_TEST

/* RFC 3261 16.3 steps 3 and 5, 16.11: a stateless proxy answers 483 and
 * 420 (with Unsupported) itself, to the caller, and forwards nothing. */
START_TEST(proxy_stateless_483_420)
{
  sipsrv_proxy_cfg cfg = stateless_cfg();
  world *w = world_new(&cfg, W_NOLOC);
  size_t r;
  sipsrv_msg *m;

  send_rq(w, RQ(.uri = "sip:carol@other.test", .to = "<sip:carol@other.test>", .mf = "0"));
  r = one(w, 0, "any", NULL);
  ck_assert_str_eq(w->sent[r].dst, CALLER);
  m = msg_at(w, r);
  ck_assert_int_eq(sipsrv_msg_status(m), 483);
  upstream_via_ok(m, "z9hG4bKcaller1");
  send_rq(w, RQ(.uri = "sip:carol@other.test", .to = "<sip:carol@other.test>",
                .branch = "z9hG4bKcaller2", .headers = "Proxy-Require: foo, bar\r\n"));
  r = one(w, 1, "any", NULL);
  ck_assert_str_eq(w->sent[r].dst, CALLER);
  m = msg_at(w, r);
  ck_assert_int_eq(sipsrv_msg_status(m), 420);
  hdr_eq(m, "Unsupported", "foo, bar");
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  world_fini(w);
}
END_TEST

/* The request bytes as a stateless proxy forwarding them from their bytes
 * sends them: the request line, "Via: SIP/2.0/UDP <us>;branch=<branch>",
 * then the lines as they came with "Max-Forwards: 70" less one (16.6
 * steps 3 and 8). */
static size_t forwarded_bytes(const char *in, size_t n, const char *branch, char *out, size_t size)
{
  const char *line = strstr(in, "\r\n") + 2, *mf = strstr(in, "Max-Forwards: 70\r\n");
  size_t k = (size_t)(line - in);
  int v;
  ck_assert_ptr_nonnull(mf);
  memcpy(out, in, k);
  v = snprintf(out + k, size - k, "Via: SIP/2.0/UDP " PX ";branch=%s\r\n", branch);
  k += (size_t)v;
  memcpy(out + k, line, (size_t)(mf - line));
  k += (size_t)(mf - line);
  memcpy(out + k, "Max-Forwards: 69\r\n", 18);
  k += 18;
  memcpy(out + k, mf + 18, n - (size_t)(mf + 18 - in));
  return k + n - (size_t)(mf + 18 - in);
}

/* RFC 3261 16.11 with 16.6: a plain datagram request goes on from its
 * bytes, counted as relayed (and as a request in): exactly the request
 * line, our Via, the header lines as they came (Max-Forwards less one,
 * headers the proxy has no use for, compact forms, the body). The branch
 * is the one the full parse makes for the same request (a request with a
 * folded line takes that path), so its CANCEL and non-2xx ACK match
 * whichever path each takes. */
START_TEST(proxy_stateless_request_from_bytes)
{
  sipsrv_proxy_cfg cfg = stateless_cfg();
  world *w = world_new(&cfg, W_NOLOC);
  static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n"
                            "t=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";
  char buf[4096], want[4096], b1[64];
  sipsrv_counters c0, c1;
  size_t n, k, i, m0;

  n = build(buf, sizeof buf,
            RQ(.uri = "sip:carol@other.test", .to = "<sip:carol@other.test>",
               .headers = "X-Odd: a, \"b,c\"\r\nUser-Agent: test (1.0)\r\ns: hi\r\n"
                          "Supported: replaces, timer\r\nc: application/sdp\r\n"));
  ck_assert(strcmp(buf + n - 21, "Content-Length: 0\r\n\r\n") == 0);
  n -= 21;
  n += (size_t)snprintf(buf + n, sizeof buf - n, "l: %zu\r\n\r\n%s", strlen(sdp), sdp);
  c0 = counters_of(w);
  inject(w, &w->udp, CALLER, buf, n);
  c1 = counters_of(w);
  ck_assert_uint_eq(c1.requests_relayed, c0.requests_relayed + 1);
  ck_assert_uint_eq(c1.requests_in, c0.requests_in + 1);
  ck_assert_uint_eq(c1.requests_out, c0.requests_out + 1);
  i = one(w, 0, "INVITE", NEXT_HOP);
  snprintf(b1, sizeof b1, "%s", via_branch(msg_at(w, i), 0));
  k = forwarded_bytes(buf, n, b1, want, sizeof want);
  ck_assert_uint_eq(w->sent[i].len, k);
  ck_assert_msg(memcmp(w->sent[i].data, want, k) == 0, "sent:\n%.*s\nwant:\n%.*s",
                (int)w->sent[i].len, w->sent[i].data, (int)k, want);
  /* The same request parsed whole (a folded line): the same branch. */
  n = build(buf, sizeof buf,
            RQ(.uri = "sip:carol@other.test", .to = "<sip:carol@other.test>",
               .headers = "Subject: folded\r\n line\r\n"));
  m0 = w->nsent;
  inject(w, &w->udp, CALLER, buf, n);
  ck_assert_uint_eq(counters_of(w).requests_relayed, c0.requests_relayed + 1);
  ck_assert_str_eq(via_branch(msg_at(w, one(w, m0, "INVITE", NEXT_HOP)), 0), b1);
  /* Its CANCEL from the bytes: that branch again. */
  m0 = w->nsent;
  send_rq(w, RQ(.method = "CANCEL", .uri = "sip:carol@other.test", .to = "<sip:carol@other.test>"));
  ck_assert_uint_eq(counters_of(w).requests_relayed, c0.requests_relayed + 2);
  ck_assert_str_eq(via_branch(msg_at(w, one(w, m0, "CANCEL", NEXT_HOP)), 0), b1);
  world_fini(w);
}
END_TEST

/* Bytes from the caller that go on from their bytes: the counter of
 * relayed requests is then relayed; the one message to NEXT_HOP (method). */
static size_t relayed_to_next_hop(world *w, const char *buf, size_t n, uint64_t relayed,
                                  const char *method)
{
  size_t m0 = w->nsent;
  inject(w, &w->udp, CALLER, buf, n);
  ck_assert_uint_eq(counters_of(w).requests_relayed, relayed);
  return one(w, m0, method, NEXT_HOP);
}

/* RFC 3261 18.2.1 and RFC 3581 4 on the bytes: the caller's Via gets
 * received and rport when it asked; 16.6 step 3: Max-Forwards 70 added when
 * the request had none, decremented wherever its line is; step 4:
 * Record-Route on top of a dialog-creating request when configured (not
 * on one inside a dialog). */
START_TEST(proxy_stateless_request_from_bytes_edits)
{
  sipsrv_proxy_cfg cfg = stateless_cfg();
  world *w;
  char buf[4096];
  sipsrv_counters c0;
  sipsrv_via v;
  sipsrv_msg *m;
  size_t n, i, m0;

  cfg.record_route = true;
  w = world_new(&cfg, W_NOLOC);
  c0 = counters_of(w);
  i = invite_via_nat(w, "z9hG4bKnat1");
  ck_assert_uint_eq(counters_of(w).requests_relayed, c0.requests_relayed + 1);
  m = msg_at(w, i);
  our_via_on_top(m, "UDP");
  ck_assert_int_eq(sipsrv_msg_via_count(m), 3);
  ck_assert_int_eq(sipsrv_msg_via(m, 1, &v), 0);
  ck_assert_str_eq(v.host, "10.0.0.5");
  ck_assert_str_eq(v.branch, "z9hG4bKnat1");
  ck_assert_str_eq(v.received, "192.0.2.1");
  ck_assert_str_eq(v.rport, "6000");
  ck_assert_int_eq(sipsrv_msg_via(m, 2, &v), 0);
  ck_assert_ptr_null(v.received);
  hdr_eq(m, "Record-Route", PX_RR);
  ck_assert_int_eq(sipsrv_msg_max_forwards(m), 69);
  /* No Max-Forwards: 70; inside a dialog: no Record-Route. */
  m0 = w->nsent;
  send_rq(w, RQ(.method = "BYE", .uri = "sip:carol@other.test", .mf = "",
                .to = "<sip:carol@other.test>;tag=callee1", .cseq = 2));
  ck_assert_uint_eq(counters_of(w).requests_relayed, c0.requests_relayed + 2);
  m = msg_at(w, one(w, m0, "BYE", NEXT_HOP));
  ck_assert_int_eq(sipsrv_msg_max_forwards(m), 70);
  hdr_absent(m, "Record-Route");
  ck_assert_int_eq(sipsrv_msg_via(m, 1, &v), 0);
  ck_assert_ptr_null(v.received);        /* sent-by is the source: nothing to add */
  /* 16.4: our own Route line goes; the request goes on from its bytes. */
  m0 = w->nsent;
  send_rq(w, RQ(.method = "BYE", .uri = "sip:carol@other.test", .cseq = 3,
                .to = "<sip:carol@other.test>;tag=callee1", .headers = "Route: " PX_RR "\r\n"));
  ck_assert_uint_eq(counters_of(w).requests_relayed, c0.requests_relayed + 3);
  i = one(w, m0, "BYE", NEXT_HOP);
  ck_assert_ptr_null(strstr(w->sent[i].data, "Route:"));
  /* Max-Forwards above the Via line. */
  n = (size_t)snprintf(buf, sizeof buf,
                       "OPTIONS sip:carol@other.test SIP/2.0\r\nMax-Forwards: 7\r\n"
                       "v: SIP/2.0/UDP " CALLER ";branch=z9hG4bKmf1;rport\r\n"
                       "f: <sip:alice@example.org>;tag=a1\r\nt: <sip:carol@other.test>\r\n"
                       "i: mf1@192.0.2.1\r\nCSeq: 5 OPTIONS\r\nl: 0\r\n\r\n");
  i = relayed_to_next_hop(w, buf, n, c0.requests_relayed + 4, "OPTIONS");
  m = msg_at(w, i);
  ck_assert_int_eq(sipsrv_msg_max_forwards(m), 6);
  ck_assert_int_eq(sipsrv_msg_via(m, 1, &v), 0);
  ck_assert_str_eq(v.received, "192.0.2.1");
  ck_assert_str_eq(v.rport, "5070");
  ck_assert_ptr_nonnull(strstr(w->sent[i].data, "\r\nMax-Forwards: 6\r\nVia: SIP/2.0/UDP "));
  /* Header names in any case (RFC 3261 7.3.1), and one that only looks
   * like a known one: copied as it is. */
  n = (size_t)snprintf(buf, sizeof buf,
                       "OPTIONS sip:carol@other.test SIP/2.0\r\nVIA: SIP/2.0/UDP " CALLER
                       ";branch=z9hG4bKcase1\r\nmax-FORWARDS: 9\r\nFROM: <sip:alice@example.org>;tag=a1\r\n"
                       "tO: <sip:carol@other.test>\r\ncAlL-iD: case1@192.0.2.1\r\ncseq: 5 OPTIONS\r\n"
                       "Max-Forwardsx: 0\r\nCONTENT-length: 0\r\n\r\n");
  i = relayed_to_next_hop(w, buf, n, c0.requests_relayed + 5, "OPTIONS");
  ck_assert_int_eq(sipsrv_msg_max_forwards(msg_at(w, i)), 8);
  ck_assert_ptr_nonnull(strstr(w->sent[i].data, "\r\nMax-Forwardsx: 0\r\n"));
  world_fini(w);
}
END_TEST

/* 16.11 from the bytes only where the full parse would forward the same:
 * each request below is not counted as relayed, and gets what the full
 * path gives it (the status, or the forwarded copy). */
START_TEST(proxy_stateless_request_parsed_when_needed)
{
  static const struct {
    rq r;
    int status;             /* 0: forwarded to NEXT_HOP */
  } t[] = {
    { { .mf = "0" }, 483 },
    { { .mf = "256" }, 400 },
    { { .headers = "Proxy-Require: foo\r\n" }, 420 },
    { { .headers = "Route: <sip:192.0.2.7:5060;lr>\r\n" }, 0 },
    { { .headers = "Route: " PX_RR "\r\nRoute: <sip:192.0.2.7:5060;lr>\r\n" }, 0 },
    { { .headers = "Route: " PX_RR ", <sip:192.0.2.7:5060;lr>\r\n" }, 0 },
    { { .headers = "Call-ID: two@192.0.2.1\r\n" }, 400 },
    { { .headers = "Max-Forwards: 70\r\n" }, 400 },
    { { .headers = "Contact: <sip:a@192.0.2.1>, <sip:b@192.0.2.1>\r\n" }, 0 },
    { { .headers = "Contact: <sip:a@192.0.2.1:99999>\r\n" }, 400 },
    { { .headers = "Record-Route: <sip:a@192.0.2.1:99999;lr>\r\n" }, 400 },
    { { .headers = "Expires: soon\r\n" }, 400 },
    { { .headers = "Content-Type: application/sdp\r\nl: 0\r\n" }, 400 },
    { { .from = "<sip:alice@example.org>;tag" }, 400 },
    { { .to = "<sip:carol@other.test:99999>" }, 400 },
    { { .via = "SIP/2.0/UDP 192.0.2.1:99999;branch=z9hG4bKbad" }, 400 },
    { { .via = "SIP/3.0/UDP " CALLER ";branch=z9hG4bKbad" }, 400 },
    { { .uri = "sip:carol@other.test?Subject=x" }, 400 },
    { { .uri = "tel:+15551234" }, 0 },
    { { .uri = "mailto:carol@other.test" }, 416 },
    { { .cseq = 2147483648u }, 400 },
  };
  sipsrv_proxy_cfg cfg = stateless_cfg();
  world *w = world_new(&cfg, W_NOLOC);
  sipsrv_counters c0 = counters_of(w);
  char buf[4096];

  for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
    rq r = t[k].r;
    size_t m0 = w->nsent, i;
    char branch[32];
    snprintf(branch, sizeof branch, "z9hG4bKpn%zu", k);
    if (!r.uri)
      r.uri = "sip:carol@other.test";
    if (!r.to)
      r.to = "<sip:carol@other.test>";
    if (!r.via)
      r.branch = branch;
    inject(w, &w->udp, CALLER, buf, build(buf, sizeof buf, &r));
    ck_assert_msg(counters_of(w).requests_relayed == c0.requests_relayed,
                  "case %zu taken from its bytes", k);
    if (t[k].status) {
      char want[16];
      snprintf(want, sizeof want, "SIP/2.0 %d ", t[k].status);
      i = one(w, m0, "any", CALLER);
      ck_assert_msg(strncmp(w->sent[i].data, want, strlen(want)) == 0, "case %zu: %.20s, want %d",
                    k, w->sent[i].data, t[k].status);
    } else {
      i = one(w, m0, "INVITE", NULL);
      our_via_on_top(msg_at(w, i), "UDP");
    }
  }
  /* A body without Content-Type (RFC 3261 20.15), a Content-Length
   * shorter than the datagram: the full path too. */
  {
    size_t n = build(buf, sizeof buf, RQ(.uri = "sip:carol@other.test", .to = "<sip:carol@other.test>",
                                         .branch = "z9hG4bKbody"));
    size_t m0 = w->nsent;
    n -= 21;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "Content-Length: 3\r\n\r\nabc");
    inject(w, &w->udp, CALLER, buf, n);
    ck_assert_int_eq(sipsrv_msg_status(msg_at(w, one(w, m0, "any", CALLER))), 400);
    n = build(buf, sizeof buf, RQ(.uri = "sip:carol@other.test", .to = "<sip:carol@other.test>",
                                  .branch = "z9hG4bKlong"));
    m0 = w->nsent;
    memcpy(buf + n, "xyz", 3);
    inject(w, &w->udp, CALLER, buf, n + 3);
    one(w, m0, "INVITE", NEXT_HOP);
  }
  ck_assert_uint_eq(counters_of(w).requests_relayed, c0.requests_relayed);
  world_fini(w);
}
END_TEST

/* proxy.h (sipsrv_proxy_route_add: "SIPSRV_E_TOOBIG past 16 targets (one
 * in stateless mode)"), RFC 3261 16.11 (a stateless proxy forwards to one
 * target): the second target of a stateless proxy is refused.
 * (Regression: this failed before the fix.) */
START_TEST(proxy_stateless_route_add_one_target)
{
  sipsrv_proxy_cfg cfg = stateless_cfg();
  world *w;

  cfg.on_route = route_cb;
  w = world_new(&cfg, W_NOLOC);
  w->rmode = RT_ONE_OF_TWO;
  send_rq(w, RQ(.method = "INVITE"));
  ck_assert_uint_eq(w->route_calls, 1);
  ck_assert_uint_eq(w->nrc, 2);
  ck_assert_int_eq(w->rc[0], 0);
  one(w, 0, "INVITE", UA1);
  ck_assert_int_eq(count(w, 0, "INVITE", UA2), 0);
  ck_assert_int_eq(w->rc[1], SIPSRV_E_TOOBIG);
  world_fini(w);
}
END_TEST

/* ======================================================================
 * Call-stateful mode: dialogs
 * ====================================================================== */

/* Establish a dialog through a call-stateful proxy: INVITE, 200 (To tag
 * callee1), ACK. */
static size_t dialog_up(world *w)
{
  size_t i, m0;
  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  m0 = w->nsent;
  reply_to(w, i, 200, "callee1", "Contact: <" C1 ">\r\nRecord-Route: " PX_RR "\r\n");
  one(w, m0, "200", CALLER);
  send_rq(w, RQ(.method = "ACK", .uri = C1, .to = "<" BOB ">;tag=callee1", .branch = "z9hG4bKack1",
                .headers = "Route: " PX_RR "\r\n"));
  one(w, m0, "ACK", UA1);
  return i;
}

/* proxy.h (call-stateful mode), RFC 3261 12.1 and 15.1.2: the 2xx to the
 * initial INVITE starts a dialog (on_dialog with ended_ms 0; count 1;
 * sipsrv_proxy_dialogs visits it); a BYE through the proxy and its 200 end
 * it (on_dialog with ended_ms set and end_status 200; count 0). */
START_TEST(proxy_dialog_start_and_bye)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_DIALOG);
  world *w = world_new(&cfg, 0);
  dlg_event *e;
  size_t m0, b, r;
  uint64_t t_start;

  t_start = w->clock.now_ms;
  dialog_up(w);
  ck_assert_uint_eq(w->nev, 1);
  e = &w->ev[0];
  ck_assert_str_eq(e->call_id, "call-1@192.0.2.1");
  ck_assert_str_eq(e->from_tag, "caller1");
  ck_assert_str_eq(e->to_tag, "callee1");
  ck_assert_str_eq(e->from_uri, "sip:alice@example.org");
  ck_assert_str_eq(e->to_uri, BOB);
  ck_assert_uint_eq(e->started, t_start);
  ck_assert_uint_eq(e->ended, 0);
  ck_assert_int_eq(e->status, 0);
  ck_assert_uint_eq(sipsrv_proxy_dialog_count(w->proxy), 1);
  ck_assert_int_eq(sipsrv_proxy_dialogs(w->proxy, visit_cb, w), 1);
  ck_assert_uint_eq(w->visited, 1);
  ck_assert_str_eq(w->visited_call_id, "call-1@192.0.2.1");

  run_for(w, 5000);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "BYE", .uri = C1, .to = "<" BOB ">;tag=callee1", .branch = "z9hG4bKbye1",
                .cseq = 2, .headers = "Route: " PX_RR "\r\n"));
  b = one(w, m0, "BYE", UA1);
  hdr_absent(msg_at(w, b), "Route");
  ck_assert_uint_eq(w->nev, 1);
  reply_to(w, b, 200, NULL, NULL);
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 200);
  cseq_eq(msg_at(w, r), 2, "BYE");
  ck_assert_uint_eq(w->nev, 2);
  e = &w->ev[1];
  ck_assert_str_eq(e->call_id, "call-1@192.0.2.1");
  ck_assert_uint_eq(e->ended, w->clock.now_ms);
  ck_assert_uint_ne(e->ended, 0);
  ck_assert_int_eq(e->status, 200);
  ck_assert_uint_eq(sipsrv_proxy_dialog_count(w->proxy), 0);
  w->visited = 0;
  ck_assert_int_eq(sipsrv_proxy_dialogs(w->proxy, visit_cb, w), 0);
  ck_assert_uint_eq(w->visited, 0);
  world_fini(w);
}
END_TEST

/* RFC 3261 15.1.2 and 12.2 (either side may send BYE), proxy.h (dialogs are
 * found by Call-ID and both tags in either order): a BYE from the callee
 * through the proxy, and the caller's 200, end the dialog. */
START_TEST(proxy_dialog_bye_from_callee)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_DIALOG);
  world *w = world_new(&cfg, 0);
  char buf[4096];
  int n;
  size_t m0, b, r;

  dialog_up(w);
  n = snprintf(buf, sizeof buf,
               "BYE sip:alice@" CALLER " SIP/2.0\r\n"
               "Via: SIP/2.0/UDP " UA1 ";branch=z9hG4bKcalleebye\r\n"
               "Max-Forwards: 70\r\n"
               "Route: " PX_RR "\r\n"
               "From: <" BOB ">;tag=callee1\r\n"
               "To: \"Alice\" <sip:alice@example.org>;tag=caller1\r\n"
               "Call-ID: call-1@192.0.2.1\r\n"
               "CSeq: 1 BYE\r\n"
               "Content-Length: 0\r\n"
               "\r\n");
  ck_assert_uint_lt((size_t)n, sizeof buf);
  m0 = w->nsent;
  inject(w, &w->udp, UA1, buf, (size_t)n);
  b = one(w, m0, "BYE", CALLER);
  reply_to(w, b, 200, NULL, NULL);
  r = one(w, m0, "final", UA1);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 200);
  ck_assert_uint_eq(w->nev, 2);
  ck_assert_int_eq(w->ev[1].status, 200);
  ck_assert_str_eq(w->ev[1].from_tag, "caller1");
  ck_assert_uint_eq(sipsrv_proxy_dialog_count(w->proxy), 0);
  world_fini(w);
}
END_TEST

/* RFC 6026 7.2 and RFC 3261 16.7 step 5 (a 2xx retransmission is forwarded,
 * it is the same response, not a new dialog), RFC 3261 12.1: after the BYE
 * ended the dialog, a late retransmission of the INVITE's 200 goes upstream
 * but does not start the dialog again.
 * (Regression: this failed before the fix.) */
START_TEST(proxy_dialog_2xx_retransmission_after_bye)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_DIALOG);
  world *w = world_new(&cfg, 0);
  size_t i, m0, b;

  i = dialog_up(w);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "BYE", .uri = C1, .to = "<" BOB ">;tag=callee1", .branch = "z9hG4bKbye1",
                .cseq = 2, .headers = "Route: " PX_RR "\r\n"));
  b = one(w, m0, "BYE", UA1);
  reply_to(w, b, 200, NULL, NULL);
  ck_assert_uint_eq(w->nev, 2);
  ck_assert_uint_eq(sipsrv_proxy_dialog_count(w->proxy), 0);
  run_for(w, 2000);
  m0 = w->nsent;
  reply_to(w, i, 200, "callee1", "Contact: <" C1 ">\r\nRecord-Route: " PX_RR "\r\n");
  one(w, m0, "200", CALLER);
  ck_assert_uint_eq(sipsrv_proxy_dialog_count(w->proxy), 0);
  ck_assert_uint_eq(w->nev, 2);
  world_fini(w);
}
END_TEST

/* proxy.h (max_dialogs), RFC 3261 21.5.4: with max_dialogs 1 and one dialog
 * up, a new initial INVITE gets 503 with Retry-After and is not forwarded;
 * a request inside the dialog still passes. */
START_TEST(proxy_dialog_max_503)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_DIALOG);
  world *w;
  size_t m0, r;
  sipsrv_msg *m;
  char buf[64];

  cfg.max_dialogs = 1;
  w = world_new(&cfg, 0);
  dialog_up(w);
  m0 = w->nsent;
  send_rq(w, RQ(.branch = "z9hG4bKcaller2", .call_id = "call-2@192.0.2.1"));
  ck_assert_int_eq(count(w, m0, "INVITE", NULL), 0);
  r = one(w, m0, "final", CALLER);
  m = msg_at(w, r);
  ck_assert_int_eq(sipsrv_msg_status(m), 503);
  ck_assert_int_gt(sipsrv_msg_header(m, "Retry-After", 0, buf, sizeof buf), 0);
  ck_assert_int_gt(atoi(buf), 0);
  m0 = w->nsent;
  send_rq(w, RQ(.uri = C1, .to = "<" BOB ">;tag=callee1", .branch = "z9hG4bKreinv", .cseq = 3,
                .headers = "Route: " PX_RR "\r\n"));
  one(w, m0, "INVITE", UA1);
  world_fini(w);
}
END_TEST

/* proxy.h (dialog_timeout_ms): a dialog with no BYE ends after the timeout,
 * on_dialog reporting end_status 408. */
START_TEST(proxy_dialog_timeout_408)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_DIALOG);
  world *w;
  uint64_t t0;

  cfg.dialog_timeout_ms = 60000;
  w = world_new(&cfg, 0);
  t0 = w->clock.now_ms;
  dialog_up(w);
  ck_assert_uint_eq(w->nev, 1);
  run_until(w, t0 + 60000 - 1);
  ck_assert_uint_eq(w->nev, 1);
  ck_assert_uint_eq(sipsrv_proxy_dialog_count(w->proxy), 1);
  run_until(w, t0 + 60000);
  ck_assert_uint_eq(w->nev, 2);
  ck_assert_int_eq(w->ev[1].status, 408);
  ck_assert_uint_eq(w->ev[1].ended, t0 + 60000);
  ck_assert_uint_eq(sipsrv_proxy_dialog_count(w->proxy), 0);
  world_fini(w);
}
END_TEST

/* proxy.h (sipsrv_proxy_free: "pending requests get 500, dialogs are
 * forgotten (on_dialog is not called)"): freeing the proxy with a BYE
 * pending answers the BYE 500 and reports nothing.
 * (Regression: this failed before the fix.) */
START_TEST(proxy_dialog_free_no_callback)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_DIALOG);
  world *w = world_new(&cfg, 0);
  size_t m0, r;

  dialog_up(w);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "BYE", .uri = C1, .to = "<" BOB ">;tag=callee1", .branch = "z9hG4bKbye1",
                .cseq = 2, .headers = "Route: " PX_RR "\r\n"));
  one(w, m0, "BYE", UA1);
  ck_assert_uint_eq(w->nev, 1);
  sipsrv_proxy_free(w->proxy);
  w->proxy = NULL;
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 500);
  ck_assert_uint_eq(w->nev, 1);
  world_fini(w);
}
END_TEST

/* ======================================================================
 * The API (proxy.h)
 * ====================================================================== */

/* proxy.h: NULL out, core or cfg: SIPSRV_E_INVAL; out untouched. */
START_TEST(proxy_api_new_null_args)
{
  world *w = world_new(NULL, W_NOPROXY);
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  sipsrv_proxy *p = (sipsrv_proxy *)&cfg;

  ck_assert_int_eq(sipsrv_proxy_new(NULL, w->core, &cfg), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_proxy_new(&p, NULL, &cfg), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_proxy_new(&p, w->core, NULL), SIPSRV_E_INVAL);
  ck_assert_ptr_eq(p, (sipsrv_proxy *)&cfg);
  world_fini(w);
}
END_TEST

/* proxy.h, STYLE.md: an unknown cfg version: SIPSRV_E_VERSION. */
START_TEST(proxy_api_new_bad_version)
{
  world *w = world_new(NULL, W_NOPROXY);
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  sipsrv_proxy *p = NULL;

  cfg.version = 99;
  ck_assert_int_eq(sipsrv_proxy_new(&p, w->core, &cfg), SIPSRV_E_VERSION);
  cfg.version = 0;
  ck_assert_int_eq(sipsrv_proxy_new(&p, w->core, &cfg), SIPSRV_E_VERSION);
  ck_assert_ptr_null(p);
  world_fini(w);
}
END_TEST

/* proxy.h: an unknown mode: SIPSRV_E_INVAL. */
START_TEST(proxy_api_new_bad_mode)
{
  world *w = world_new(NULL, W_NOPROXY);
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  sipsrv_proxy *p = NULL;

  cfg.mode = (sipsrv_proxy_mode)0;
  ck_assert_int_eq(sipsrv_proxy_new(&p, w->core, &cfg), SIPSRV_E_INVAL);
  cfg.mode = (sipsrv_proxy_mode)4;
  ck_assert_int_eq(sipsrv_proxy_new(&p, w->core, &cfg), SIPSRV_E_INVAL);
  ck_assert_ptr_null(p);
  world_fini(w);
}
END_TEST

/* proxy.h: a next hop that is not a SIP URI with an IP address:
 * SIPSRV_E_INVAL; a good one (IPv4, IPv6, sips, with transport) is taken. */
START_TEST(proxy_api_new_bad_next_hop)
{
  static const char *const bad[] = { "sip:proxy.example.net", "http://192.0.2.7/",
                                     "192.0.2.7:5060", "not a uri", "", "sip:", "tel:+15551234" };
  static const char *const good[] = { "sip:192.0.2.7", "sip:192.0.2.7:5070;transport=tcp",
                                      "sips:192.0.2.7:5061", "sip:[2001:db8::7]:5060" };
  world *w = world_new(NULL, W_NOPROXY);
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  sipsrv_proxy *p = NULL;

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cfg.next_hop = bad[i];
    ck_assert_msg(sipsrv_proxy_new(&p, w->core, &cfg) == SIPSRV_E_INVAL, "next_hop \"%s\"",
                  bad[i]);
    ck_assert_ptr_null(p);
  }
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    cfg.next_hop = good[i];
    ck_assert_msg(sipsrv_proxy_new(&p, w->core, &cfg) == 0, "next_hop \"%s\"", good[i]);
    ck_assert_ptr_nonnull(p);
    sipsrv_proxy_free(p);
    p = NULL;
  }
  world_fini(w);
}
END_TEST

/* proxy.h: a core without a clock: SIPSRV_E_STATE. */
START_TEST(proxy_api_new_no_clock)
{
  sipsrv_core *core = NULL;
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  sipsrv_proxy *p = NULL;

  ck_assert_int_eq(sipsrv_core_new(&core, NULL), 0);
  ck_assert_int_eq(sipsrv_proxy_new(&p, core, &cfg), SIPSRV_E_STATE);
  ck_assert_ptr_null(p);
  sipsrv_core_free(core);
}
END_TEST

/* An allocator that remembers what it handed out (no assertion inside:
 * it runs in the library). */
#define ALLOC_MAX 4096

typedef struct track_alloc {
  void *live[ALLOC_MAX];
  size_t n;
} track_alloc;

static void track_add(track_alloc *t, void *p)
{
  if (p && t->n < ALLOC_MAX)
    t->live[t->n++] = p;
}

static void track_del(track_alloc *t, uintptr_t p)
{
  for (size_t i = 0; i < t->n; i++)
    if ((uintptr_t)t->live[i] == p) {
      t->live[i] = t->live[--t->n];
      return;
    }
}

static void *ta_malloc(size_t size, void *user)
{
  void *p = malloc(size);
  track_add(user, p);
  return p;
}

static void *ta_realloc(void *ptr, size_t size, void *user)
{
  uintptr_t old = (uintptr_t)ptr;          /* compared, never used, after realloc */
  void *p = realloc(ptr, size);
  if (p) {
    track_del(user, old);
    track_add(user, p);
  }
  return p;
}

static void ta_free(void *ptr, void *user)
{
  track_del(user, (uintptr_t)ptr);
  free(ptr);
}

static bool track_has(const track_alloc *t, const void *p)
{
  for (size_t i = 0; i < t->n; i++)
    if (t->live[i] == p)
      return true;
  return false;
}

/* core.h ("Allocator policy: sipsrv's own objects are allocated through
 * the sipsrv_allocator given in the config"): the proxy object comes from
 * the core's allocator, as the registrar and the UAS do.
 * (Regression: this failed before the fix.) */
START_TEST(proxy_api_new_core_allocator)
{
  static track_alloc ta;
  sipsrv_allocator al = { ta_malloc, ta_realloc, ta_free, &ta };
  sipsrv_core_cfg cc = SIPSRV_CORE_CFG_INIT;
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  sipsrv_core *core = NULL;
  sipsrv_proxy *p = NULL;
  sipsrv_uas *uas = NULL;
  tclock clk = { MONO0 };
  bool ok;

  memset(&ta, 0, sizeof ta);
  cc.alloc = &al;
  cc.clock = tclock_now;
  cc.clock_user = &clk;
  ck_assert_int_eq(sipsrv_core_new(&core, &cc), 0);
  ck_assert(track_has(&ta, core));
  /* The UAS, for comparison, follows the policy. */
  ck_assert_int_eq(sipsrv_uas_new(&uas, core, NULL), 0);
  ok = track_has(&ta, uas);
  sipsrv_uas_free(uas);
  ck_assert(ok);
  ck_assert_int_eq(sipsrv_proxy_new(&p, core, &cfg), 0);
  ok = track_has(&ta, p);
  sipsrv_proxy_free(p);
  sipsrv_core_free(core);
  ck_assert_msg(ok, "the proxy was not allocated through the core's allocator");
}
END_TEST

/* proxy.h: sipsrv_proxy_free(NULL) is a no-op; the other functions refuse
 * NULL (dialog_count gives 0, dialogs and the route calls SIPSRV_E_INVAL). */
START_TEST(proxy_api_null_args)
{
  world *w = world_new(NULL, 0);

  sipsrv_proxy_free(NULL);
  ck_assert_uint_eq(sipsrv_proxy_dialog_count(NULL), 0);
  ck_assert_uint_eq(sipsrv_proxy_dialog_count(w->proxy), 0);
  ck_assert_int_eq(sipsrv_proxy_dialogs(NULL, visit_cb, w), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_proxy_dialogs(w->proxy, NULL, w), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_proxy_dialogs(w->proxy, visit_cb, w), 0);
  ck_assert_int_eq(sipsrv_proxy_route_add(NULL, C1, -1), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_proxy_route_reject(NULL, 404, NULL), SIPSRV_E_INVAL);
  world_fini(w);
}
END_TEST

/* proxy.h (on_route, route_add, route_reject): bad URIs and q-values
 * (INVAL), statuses outside 300-699 (INVAL), a reject after an add (STATE);
 * the one good target gets the request. */
START_TEST(proxy_api_route_checks)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  static const int want[] = { SIPSRV_E_INVAL, SIPSRV_E_INVAL, SIPSRV_E_INVAL, SIPSRV_E_INVAL,
                              SIPSRV_E_INVAL, SIPSRV_E_INVAL, SIPSRV_E_INVAL, 0,
                              SIPSRV_E_STATE };
  world *w;
  size_t i;

  cfg.on_route = route_cb;
  w = world_new(&cfg, 0);
  w->rmode = RT_CHECKS;
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  ck_assert_uint_eq(w->route_calls, 1);
  ck_assert(w->route_proxy_ok);
  ck_assert_int_eq(w->route_method, SIPSRV_METHOD_INVITE);
  ck_assert_uint_eq(w->nrc, sizeof want / sizeof want[0]);
  for (size_t k = 0; k < w->nrc; k++)
    ck_assert_msg(w->rc[k] == want[k], "call %zu: %d, want %d", k, w->rc[k], want[k]);
  ruri_eq(msg_at(w, i), C1);
  ck_assert_int_eq(count(w, 0, "final", CALLER), 0);
  world_fini(w);
}
END_TEST

/* proxy.h (sipsrv_proxy_route_reject): on_route answers 404 with its
 * phrase; nothing is forwarded, the location service is not asked. */
START_TEST(proxy_api_route_reject_404)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  world *w;
  size_t r;
  sipsrv_msg *m;

  cfg.on_route = route_cb;
  w = world_new(&cfg, 0);
  bind_one(w, C1);
  w->rmode = RT_REJECT_404;
  send_rq(w, RQ(.method = "INVITE"));
  ck_assert_uint_eq(w->nrc, 1);
  ck_assert_int_eq(w->rc[0], 0);
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  r = one(w, 0, "final", CALLER);
  m = msg_at(w, r);
  ck_assert_int_eq(sipsrv_msg_status(m), 404);
  ck_assert_str_eq(sipsrv_msg_phrase(m), "Nobody Here");
  world_fini(w);
}
END_TEST

/* proxy.h (on_route), RFC 3261 16.6 (parallel forking): two targets added
 * by on_route both get the request, each with its own branch. */
START_TEST(proxy_api_route_two_targets)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  world *w;
  size_t i1, i2;

  cfg.on_route = route_cb;
  w = world_new(&cfg, 0);
  w->rmode = RT_TWO;
  send_rq(w, RQ(.method = "INVITE"));
  ck_assert_int_eq(w->rc[0], 0);
  ck_assert_int_eq(w->rc[1], 0);
  i1 = one(w, 0, "INVITE", UA1);
  i2 = one(w, 0, "INVITE", UA2);
  ruri_eq(msg_at(w, i1), C1);
  ruri_eq(msg_at(w, i2), C2);
  ck_assert_str_ne(via_branch(msg_at(w, i1), 0), via_branch(msg_at(w, i2), 0));
  world_fini(w);
}
END_TEST

/* proxy.h (sipsrv_proxy_route_add: SIPSRV_E_TOOBIG past 16 targets; on_route
 * returning DEFAULT lets the built-in sources decide): the 17th target is
 * refused; with DEFAULT none of them is used (no binding: 480). */
START_TEST(proxy_api_route_add_toobig)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  world *w;
  size_t r;

  cfg.on_route = route_cb;
  w = world_new(&cfg, 0);
  w->rmode = RT_TOOBIG;
  send_rq(w, RQ(.method = "INVITE"));
  ck_assert_uint_eq(w->nrc, 17);
  for (size_t k = 0; k < 16; k++)
    ck_assert_int_eq(w->rc[k], 0);
  ck_assert_int_eq(w->rc[16], SIPSRV_E_TOOBIG);
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  r = one(w, 0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 480);
  world_fini(w);
}
END_TEST

/* ======================================================================
 * Freeing
 * ====================================================================== */

/* proxy.h (sipsrv_proxy_free: pending requests get 500): an INVITE
 * forwarded with no final response gets 500 upstream; a late 180 from
 * downstream then goes nowhere. Run under valgrind: nothing leaks. */
START_TEST(proxy_free_pending_invite_500)
{
  world *w = world_new(NULL, 0);
  size_t i, m0, r;

  bind_one(w, C1);
  i = invite_to(w, RQ(.method = "INVITE"), UA1);
  m0 = w->nsent;
  sipsrv_proxy_free(w->proxy);
  w->proxy = NULL;
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 500);
  upstream_via_ok(msg_at(w, r), "z9hG4bKcaller1");
  m0 = w->nsent;
  reply_to(w, i, 180, "callee1", NULL);
  ck_assert_int_eq(count(w, m0, "any", CALLER), 0);
  run_for(w, 40000);
  world_fini(w);
}
END_TEST

/* proxy.h (sipsrv_proxy_free), store.h (an asynchronous get's callback runs
 * exactly once, later): freeing the proxy while a location lookup is in
 * flight answers 500; the lookup completing afterwards must not touch the
 * freed proxy.
 * (Regression: this failed before the fix.) */
START_TEST(proxy_free_pending_lookup)
{
  world *w = world_new(NULL, W_ASYNC);
  size_t r;

  send_rq(w, RQ(.method = "INVITE"));
  ck_assert(w->as.pending);
#ifdef M_PERTURB
  /* glibc: fill freed memory, so that a use after free shows without a
   * memory checker (this test runs in a child of its own). */
  mallopt(M_PERTURB, 0xa5);
#endif
  sipsrv_proxy_free(w->proxy);
  w->proxy = NULL;
  ck_assert_int_eq(count(w, 0, "500", CALLER), 1);
  as_complete(w, C1);
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  r = one(w, 0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 500);
  world_fini(w);
}
END_TEST

/* ---- suite ------------------------------------------------------------------------------- */

/* ======================================================================
 * 22.3: authentication and authorization at the proxy
 * ====================================================================== */

#define ALICE_OURS "<sip:alice@example.com>;tag=caller1"

static sipsrv_proxy_cfg auth_cfg(void)
{
  sipsrv_proxy_cfg c = base_cfg(SIPSRV_PROXY_STATEFUL);
  c.auth_realm = "example.com";
  c.auth_algs = SIPSRV_DIGEST_MD5;
  return c;
}

/* A world whose store knows alice (password "wonder") and bob's binding. */
static world *auth_world(const sipsrv_proxy_cfg *cfg)
{
  world *w = world_new(cfg, 0);
  ck_assert_int_eq(sipsrv_store_add_user(w->store, "alice", "example.com", "wonder"), 0);
  bind_one(w, C1);
  return w;
}

/* The nonce of the Proxy-Authenticate in sent message i. */
static void proxy_nonce(const world *w, size_t i, char nonce[SS_NONCE_LEN + 1])
{
  const char *line = strstr(w->sent[i].data, "\r\nProxy-Authenticate: Digest ");
  const char *n = line ? strstr(line, "nonce=\"") : NULL;
  ck_assert_ptr_nonnull(n);
  memcpy(nonce, n + 7, SS_NONCE_LEN);
  nonce[SS_NONCE_LEN] = '\0';
}

/* A Proxy-Authorization line (with CRLF) answering nonce for an INVITE to uri. */
static void proxy_authz(char *buf, size_t size, const char *user, const char *password,
                        const char *nonce, const char *uri)
{
  char a1[256], ha1[129], rsp[129];
  snprintf(a1, sizeof a1, "%s:example.com:%s", user, password);
  ck_assert_int_eq(ss_digest_hex(SS_DIGEST_MD5, a1, strlen(a1), ha1), 0);
  ck_assert_int_eq(ss_digest_response(SS_DIGEST_MD5, ha1, "INVITE", uri, nonce, "00000001",
                                      "c0ffee", "auth", rsp), 0);
  snprintf(buf, size,
           "Proxy-Authorization: Digest username=\"%s\", realm=\"example.com\", nonce=\"%s\", "
           "uri=\"%s\", response=\"%s\", algorithm=MD5, qop=auth, nc=00000001, "
           "cnonce=\"c0ffee\"\r\n", user, nonce, uri, rsp);
}

/* RFC 3261 22.3: an initial request from a user of our domain without
 * credentials gets 407 with a Proxy-Authenticate for our realm and is not
 * forwarded; answered, it goes on, without our Proxy-Authorization (the
 * next hop has no use for it). */
START_TEST(proxy_auth_407_then_forwarded)
{
  sipsrv_proxy_cfg cfg = auth_cfg();
  world *w = auth_world(&cfg);
  char nonce[SS_NONCE_LEN + 1], h[1024];
  size_t r, i;

  send_rq(w, RQ(.from = ALICE_OURS));
  r = one(w, 0, "407", CALLER);
  ck_assert_ptr_nonnull(strstr(w->sent[r].data, "Proxy-Authenticate: Digest realm=\"example.com\""));
  ck_assert_ptr_nonnull(strstr(w->sent[r].data, "qop=\"auth\""));
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  proxy_nonce(w, r, nonce);
  proxy_authz(h, sizeof h, "alice", "wonder", nonce, BOB);
  i = invite_to(w, RQ(.from = ALICE_OURS, .branch = "z9hG4bKcaller2", .cseq = 2, .headers = h), UA1);
  ck_assert_ptr_null(strstr(w->sent[i].data, "Proxy-Authorization"));
  world_fini(w);
}
END_TEST

/* 22.3 (RFC 7616 3.4): a wrong password, or an unknown user, gets a new
 * 407; nothing is forwarded. A replayed nonce count is refused as well. */
START_TEST(proxy_auth_wrong_password_407)
{
  sipsrv_proxy_cfg cfg = auth_cfg();
  world *w = auth_world(&cfg);
  char nonce[SS_NONCE_LEN + 1], h[1024];
  size_t r, m0;

  send_rq(w, RQ(.from = ALICE_OURS));
  r = one(w, 0, "407", CALLER);
  proxy_nonce(w, r, nonce);
  m0 = w->nsent;
  proxy_authz(h, sizeof h, "alice", "wrong", nonce, BOB);
  send_rq(w, RQ(.from = ALICE_OURS, .branch = "z9hG4bKcaller2", .cseq = 2, .headers = h));
  one(w, m0, "407", CALLER);
  m0 = w->nsent;
  proxy_authz(h, sizeof h, "mallory", "x", nonce, BOB);
  send_rq(w, RQ(.from = "<sip:mallory@example.com>;tag=m1", .branch = "z9hG4bKcaller3",
                .cseq = 3, .headers = h));
  one(w, m0, "407", CALLER);
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  /* The right answer works once; the same nonce count again is a replay. */
  proxy_authz(h, sizeof h, "alice", "wonder", nonce, BOB);
  invite_to(w, RQ(.from = ALICE_OURS, .branch = "z9hG4bKcaller4", .cseq = 4, .headers = h), UA1);
  m0 = w->nsent;
  send_rq(w, RQ(.from = ALICE_OURS, .branch = "z9hG4bKcaller5", .cseq = 5, .headers = h));
  one(w, m0, "407", CALLER);
  world_fini(w);
}
END_TEST

/* Wrong passwords from one source lock the user out from there
 * (sipsrv_core_set_limits): 503 with Retry-After, nothing forwarded, even
 * with the right password, until the lockout ends. */
START_TEST(proxy_auth_lockout)
{
  sipsrv_proxy_cfg cfg = auth_cfg();
  world *w = auth_world(&cfg);
  char nonce[SS_NONCE_LEN + 1], h[1024], branch[32];
  sipsrv_limits l = SIPSRV_LIMITS_INIT;
  sipsrv_counters c;
  size_t r, m0;

  l.auth_failures = 2;
  l.auth_lockout_ms = 5000;
  ck_assert_int_eq(sipsrv_core_set_limits(w->core, &l, sizeof l), 0);
  send_rq(w, RQ(.from = ALICE_OURS));
  r = one(w, 0, "407", CALLER);
  proxy_nonce(w, r, nonce);
  for (int i = 0; i < 2; i++) {
    m0 = w->nsent;
    snprintf(branch, sizeof branch, "z9hG4bKlock%d", i);
    proxy_authz(h, sizeof h, "alice", "guess", nonce, BOB);
    send_rq(w, RQ(.from = ALICE_OURS, .branch = branch, .cseq = (unsigned)i + 2, .headers = h));
    one(w, m0, "407", CALLER);
  }
  m0 = w->nsent;
  proxy_authz(h, sizeof h, "alice", "wonder", nonce, BOB);
  send_rq(w, RQ(.from = ALICE_OURS, .branch = "z9hG4bKlock9", .cseq = 9, .headers = h));
  r = one(w, m0, "503", CALLER);
  ck_assert_ptr_nonnull(strstr(w->sent[r].data, "\r\nRetry-After: 5\r\n"));
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  ck_assert_int_eq(sipsrv_core_counters(w->core, &c, sizeof c), 0);
  ck_assert_uint_eq(c.auth_failures, 2);
  ck_assert_uint_eq(c.auth_locked, 1);
  world_fini(w);
}
END_TEST

/* proxy.h default policy: a user speaks only as itself (authenticated as
 * alice, From bob: 403); a caller from another domain is not challenged
 * and reaches our users, but not other domains. */
START_TEST(proxy_auth_policy)
{
  sipsrv_proxy_cfg cfg = auth_cfg();
  world *w;
  char nonce[SS_NONCE_LEN + 1], h[1024];
  size_t r, m0;

  cfg.next_hop = "sip:" NEXT_HOP;
  w = auth_world(&cfg);
  ck_assert_int_eq(sipsrv_store_add_user(w->store, "bob", "example.com", "builder"), 0);
  send_rq(w, RQ(.from = "<sip:bob@example.com>;tag=b1"));
  r = one(w, 0, "407", CALLER);
  proxy_nonce(w, r, nonce);
  m0 = w->nsent;
  proxy_authz(h, sizeof h, "alice", "wonder", nonce, BOB);
  send_rq(w, RQ(.from = "<sip:bob@example.com>;tag=b1", .branch = "z9hG4bKcaller2", .cseq = 2,
                .headers = h));
  r = one(w, m0, "403", CALLER);
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  /* A caller of another domain: to our user, forwarded without a challenge. */
  m0 = w->nsent;
  invite_to(w, RQ(.branch = "z9hG4bKcaller3", .call_id = "call-3@192.0.2.1"), UA1);
  ck_assert_int_eq(count(w, m0, "407", NULL), 0);
  /* ... to another domain: 403, even with a next hop. */
  m0 = w->nsent;
  send_rq(w, RQ(.uri = "sip:carol@other.test", .to = "<sip:carol@other.test>",
                .branch = "z9hG4bKcaller4", .call_id = "call-4@192.0.2.1"));
  one(w, m0, "403", CALLER);
  ck_assert_int_eq(count(w, m0, "INVITE", NULL), 0);
  world_fini(w);
}
END_TEST

/* RFC 3261 22.1: CANCEL (and ACK) are never challenged: the CANCEL of an
 * authenticated INVITE from our user goes through without credentials. */
START_TEST(proxy_auth_cancel_not_challenged)
{
  sipsrv_proxy_cfg cfg = auth_cfg();
  world *w = auth_world(&cfg);
  char nonce[SS_NONCE_LEN + 1], h[1024];
  size_t r, i, m0;

  send_rq(w, RQ(.from = ALICE_OURS));
  r = one(w, 0, "407", CALLER);
  proxy_nonce(w, r, nonce);
  proxy_authz(h, sizeof h, "alice", "wonder", nonce, BOB);
  i = invite_to(w, RQ(.from = ALICE_OURS, .branch = "z9hG4bKcaller2", .cseq = 2, .headers = h), UA1);
  reply_to(w, i, 180, "callee1", NULL);
  m0 = w->nsent;
  send_rq(w, RQ(.method = "CANCEL", .from = ALICE_OURS, .branch = "z9hG4bKcaller2", .cseq = 2));
  one(w, m0, "200", CALLER);
  one(w, m0, "CANCEL", UA1);
  ck_assert_int_eq(count(w, m0, "407", NULL), 0);
  world_fini(w);
}
END_TEST

static int authorize_404(sipsrv_proxy *p, const char *user, const sipsrv_msg *req, void *app)
{
  world *w = app;
  (void)p;
  (void)req;
  snprintf(w->authz_user, sizeof w->authz_user, "%s", user ? user : "(none)");
  return 404;
}

/* proxy.h: on_authorize decides instead of the default policy, and is told
 * the authenticated user. */
START_TEST(proxy_auth_on_authorize)
{
  sipsrv_proxy_cfg cfg = auth_cfg();
  world *w;
  char nonce[SS_NONCE_LEN + 1], h[1024];
  size_t r, m0;

  cfg.on_authorize = authorize_404;
  w = auth_world(&cfg);
  send_rq(w, RQ(.from = ALICE_OURS));
  r = one(w, 0, "407", CALLER);
  proxy_nonce(w, r, nonce);
  proxy_authz(h, sizeof h, "alice", "wonder", nonce, BOB);
  m0 = w->nsent;
  send_rq(w, RQ(.from = ALICE_OURS, .branch = "z9hG4bKcaller2", .cseq = 2, .headers = h));
  one(w, m0, "404", CALLER);
  ck_assert_str_eq(w->authz_user, "alice");
  /* Without authentication it is asked too, with no user. */
  m0 = w->nsent;
  send_rq(w, RQ(.branch = "z9hG4bKcaller3", .call_id = "call-3@192.0.2.1"));
  one(w, m0, "404", CALLER);
  ck_assert_str_eq(w->authz_user, "(none)");
  world_fini(w);
}
END_TEST

/* proxy.h: authentication needs a stateful mode and a store. */
START_TEST(proxy_auth_new_checks)
{
  sipsrv_proxy_cfg cfg = auth_cfg();
  world *w = world_new(NULL, W_NOPROXY);
  sipsrv_proxy *p = NULL;
  ck_assert_int_eq(sipsrv_proxy_new(&p, w->core, &cfg), SIPSRV_E_INVAL);      /* no store */
  cfg.location = w->store;
  cfg.mode = SIPSRV_PROXY_STATELESS;
  cfg.next_hop = "sip:" NEXT_HOP;
  ck_assert_int_eq(sipsrv_proxy_new(&p, w->core, &cfg), SIPSRV_E_INVAL);
  cfg.mode = SIPSRV_PROXY_STATEFUL;
  cfg.auth_algs = 0x80;
  ck_assert_int_eq(sipsrv_proxy_new(&p, w->core, &cfg), SIPSRV_E_INVAL);
  cfg.auth_algs = 0;
  ck_assert_int_eq(sipsrv_proxy_new(&p, w->core, &cfg), 0);
  sipsrv_proxy_free(p);
  world_fini(w);
}
END_TEST

/* ======================================================================
 * Gateways: calls to the telephone network
 * ====================================================================== */

#define GW1 "192.0.2.31:5060"
#define GW2 "192.0.2.32:5060"
#define GW3 "192.0.2.33:5060"
#define GW4 "192.0.2.34:5060"

static const char *const gws_33[] = { "sip:" GW1, "sip:" GW2, NULL };
static const char *const gws_331[] = { "sip:" GW3, NULL };
static const char *const gws_any[] = { "sip:" GW4, NULL };
static const char *const gws_331b[] = { "sip:" GW2, NULL };
static const sipsrv_proxy_gateway gw_table[] = {
  { "+33", gws_33 }, { "+331", gws_331 }, { "", gws_any }, { "+331", gws_331b },
};

static sipsrv_proxy_cfg gw_cfg(void)
{
  sipsrv_proxy_cfg c = base_cfg(SIPSRV_PROXY_STATEFUL);
  c.gateways = gw_table;
  c.ngateways = 4;
  return c;
}

/* proxy.h gateways: the longest matching prefix wins; a tel: URI and a SIP
 * URI with a number (visual separators dropped) both count; the gateway
 * gets the number as user part; a name goes to the location service. */
START_TEST(proxy_gateway_longest_prefix)
{
  sipsrv_proxy_cfg cfg = gw_cfg();
  world *w = world_new(&cfg, 0);
  size_t i, m0;

  i = invite_to(w, RQ(.uri = "sip:+33-1-23.45@example.com", .to = "<sip:+331234@example.com>"), GW3);
  ruri_eq(msg_at(w, i), "sip:+3312345@192.0.2.33:5060");
  /* The second route of that prefix is the next gateway. */
  m0 = w->nsent;
  reply_to(w, i, 500, "gw3", NULL);
  i = one(w, m0, "INVITE", GW2);
  ruri_eq(msg_at(w, i), "sip:+3312345@192.0.2.32:5060");
  i = invite_to(w, RQ(.uri = "tel:+3398765", .to = "<tel:+3398765>", .branch = "z9hG4bKcaller2",
                      .call_id = "call-2@192.0.2.1"), GW1);
  ruri_eq(msg_at(w, i), "sip:+3398765@192.0.2.31:5060");
  i = invite_to(w, RQ(.uri = "sip:0044123@example.com", .to = "<sip:0044123@example.com>",
                      .branch = "z9hG4bKcaller3", .call_id = "call-3@192.0.2.1"), GW4);
  m0 = w->nsent;
  send_rq(w, RQ(.uri = "sip:alice@example.com", .to = "<sip:alice@example.com>",
                .branch = "z9hG4bKcaller4", .call_id = "call-4@192.0.2.1"));
  one(w, m0, "480", CALLER);
  world_fini(w);
}
END_TEST

/* proxy.h gateways: one gateway at a time; a 503 (or a timeout) moves to
 * the next; any other final response ends the call there. */
START_TEST(proxy_gateway_failover)
{
  sipsrv_proxy_cfg cfg = gw_cfg();
  world *w = world_new(&cfg, 0);
  size_t i, j, m0, r;

  i = invite_to(w, RQ(.uri = "tel:+3398765", .to = "<tel:+3398765>"), GW1);
  ck_assert_int_eq(count(w, 0, "INVITE", GW2), 0);
  m0 = w->nsent;
  reply_to(w, i, 503, "gw1", NULL);
  j = one(w, m0, "INVITE", GW2);
  ck_assert_int_eq(count(w, m0, "final", CALLER), 0);
  m0 = w->nsent;
  reply_to(w, j, 486, "gw2", NULL);
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 486);
  /* A 486 at the first gateway: the second is not tried. */
  i = invite_to(w, RQ(.uri = "tel:+3398766", .to = "<tel:+3398766>", .branch = "z9hG4bKcaller2",
                      .call_id = "call-2@192.0.2.1"), GW1);
  m0 = w->nsent;
  reply_to(w, i, 486, "gw1", NULL);
  ck_assert_int_eq(count(w, m0, "INVITE", NULL), 0);
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 486);
  /* No answer at all (Timer B): the next gateway. */
  i = invite_to(w, RQ(.uri = "tel:+3398767", .to = "<tel:+3398767>", .branch = "z9hG4bKcaller3",
                      .call_id = "call-3@192.0.2.1"), GW1);
  m0 = w->nsent;
  run_for(w, 32000);                       /* Timer B: 64*T1 */
  one(w, m0, "INVITE", GW2);
  world_fini(w);
}
END_TEST

/* transport.h sipsrv_core_conn_failed(), RFC 3261 17.1.4 and 16.9: a TCP
 * gateway that refuses the connection fails its branch at once (a
 * transport error, as a 503), and the next gateway is tried without waiting
 * for Timer B; the caller hears nothing of the first. */
START_TEST(proxy_gateway_connect_refused)
{
  static const char *const tcp_gws[] = { "sip:" GW1 ";transport=tcp", "sip:" GW2 ";transport=tcp",
                                         NULL };
  static const sipsrv_proxy_gateway t[] = { { "+1", tcp_gws } };
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  struct sockaddr_in a;
  world *w;
  size_t m0;

  cfg.gateways = t;
  cfg.ngateways = 1;
  w = world_new(&cfg, W_TCP);
  invite_to(w, RQ(.uri = "tel:+15551234", .to = "<tel:+15551234>"), GW1);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(5060);
  inet_pton(AF_INET, "192.0.2.32", &a.sin_addr);
  /* Another address: nothing happens. */
  ck_assert_int_eq(sipsrv_core_conn_failed(w->core, w->tcp.tp, (struct sockaddr *)&a, sizeof a), 0);
  inet_pton(AF_INET, "192.0.2.31", &a.sin_addr);
  m0 = w->nsent;
  ck_assert_int_eq(sipsrv_core_conn_failed(w->core, w->tcp.tp, (struct sockaddr *)&a, sizeof a), 1);
  one(w, m0, "INVITE", GW2);
  ck_assert_int_eq(count(w, m0, "any", CALLER), 0);
  ck_assert_int_eq(sipsrv_core_conn_failed(NULL, w->tcp.tp, (struct sockaddr *)&a, sizeof a),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_conn_failed(w->core, w->tcp.tp, NULL, 0), SIPSRV_E_INVAL);
  world_fini(w);
}
END_TEST

/* proxy.h: gateways must be SIP URIs with IP addresses. */
START_TEST(proxy_gateway_new_checks)
{
  static const char *const bad[] = { "sip:gw.example.com", NULL };
  static const sipsrv_proxy_gateway t[] = { { "+1", bad } };
  sipsrv_proxy_cfg cfg = gw_cfg();
  world *w = world_new(NULL, W_NOPROXY);
  sipsrv_proxy *p = NULL;
  cfg.gateways = t;
  cfg.ngateways = 1;
  ck_assert_int_eq(sipsrv_proxy_new(&p, w->core, &cfg), SIPSRV_E_INVAL);
  cfg.gateways = NULL;
  ck_assert_int_eq(sipsrv_proxy_new(&p, w->core, &cfg), SIPSRV_E_INVAL);
  ck_assert_ptr_null(p);
  world_fini(w);
}
END_TEST


/* ======================================================================
 * RFC 3263: next hops named by host names, through the resolver vtable
 * ====================================================================== */

#define SRV1 "192.0.2.30:5070"
#define SRV2 "192.0.2.31:5080"

/* A resolver whose answers the test gives: one query at a time, answered
 * inline (fr.inline_ok) or when fr_answer() says. */
typedef struct fake_res {
  char uri[256];              /* the last URI asked */
  unsigned queries, cancels;
  bool pending;
  sipsrv_resolve_cb done;
  void *ctx;
  int token;                  /* the query handle points here */
  bool answer_inline;
  int err;
  const char *tp[4];          /* the answer: transports and "ip:port" */
  const char *addr[4];
  size_t n;
} fake_res;

static fake_res FR;
static sipsrv_resolver *fr_resolver;

static void fr_deliver(void)
{
  sipsrv_resolved r[4];
  for (size_t i = 0; i < FR.n; i++) {
    memset(&r[i], 0, sizeof r[i]);
    snprintf(r[i].transport, sizeof r[i].transport, "%s", FR.tp[i]);
    sockaddr_of(FR.addr[i], (struct sockaddr_in *)&r[i].addr);
    r[i].addrlen = sizeof(struct sockaddr_in);
  }
  FR.pending = false;
  FR.done(FR.ctx, FR.err, FR.err ? NULL : r, FR.err ? 0 : FR.n);
}

static int fr_resolve(void *user, const char *uri, sipsrv_resolve_cb done, void *ctx, void **query)
{
  (void)user;
  ck_assert(!FR.pending);
  snprintf(FR.uri, sizeof FR.uri, "%s", uri);
  FR.queries++;
  FR.done = done;
  FR.ctx = ctx;
  FR.pending = true;
  *query = &FR.token;
  if (FR.answer_inline)
    fr_deliver();
  return 0;
}

static void fr_cancel(void *user, void *query)
{
  (void)user;
  ck_assert_ptr_eq(query, &FR.token);
  ck_assert(FR.pending);
  FR.pending = false;
  FR.cancels++;
}

static const struct sipsrv_resolver_ops fr_ops = {
  SIPSRV_RESOLVER_OPS_VERSION, sizeof(struct sipsrv_resolver_ops), fr_resolve, fr_cancel, NULL
};

static void fr_setup(void)
{
  memset(&FR, 0, sizeof FR);
  FR.tp[0] = "UDP";
  FR.addr[0] = SRV1;
  FR.tp[1] = "UDP";
  FR.addr[1] = SRV2;
  FR.n = 2;
  ck_assert_int_eq(sipsrv_resolver_new(&fr_resolver, &fr_ops, NULL), 0);
}

static void fr_teardown(void)
{
  world_fini(&W);
  sipsrv_resolver_free(fr_resolver);
  fr_resolver = NULL;
}

static void fr_answer(void)
{
  ck_assert(FR.pending);
  fr_deliver();
}

/* A stateful relay for other domains, with the fake resolver. */
static world *dns_world(sipsrv_proxy_mode mode, unsigned flags)
{
  sipsrv_proxy_cfg cfg = base_cfg(mode);
  cfg.relay = 1;
  cfg.resolver = fr_resolver;
  return world_new(&cfg, flags);
}

#define CAROL RQ(.uri = "sip:carol@other.test", .to = "<sip:carol@other.test>")

/* RFC 3263 4.1 and 4.3: the request waits for the resolver, goes to the
 * first place, and after a 503 (ACKed there) to the next one in a new
 * client transaction (a new branch); the caller hears only the answer. */
START_TEST(proxy_dns_503_next_place)
{
  world *w = dns_world(SIPSRV_PROXY_STATEFUL, 0);
  size_t i, j, m0, r;
  char b1[64];

  send_rq(w, CAROL);
  ck_assert_str_eq(FR.uri, "sip:other.test");
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  m0 = w->nsent;
  fr_answer();
  i = one(w, m0, "INVITE", SRV1);
  ruri_eq(msg_at(w, i), "sip:carol@other.test");
  snprintf(b1, sizeof b1, "%s", via_branch(msg_at(w, i), 0));
  m0 = w->nsent;
  reply_to(w, i, 503, "srv1", NULL);
  one(w, m0, "ACK", SRV1);
  j = one(w, m0, "INVITE", SRV2);
  ck_assert_str_ne(via_branch(msg_at(w, j), 0), b1);
  ck_assert_int_eq(count(w, m0, "any", CALLER), 0);
  m0 = w->nsent;
  reply_to(w, j, 200, "srv2", NULL);
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 200);
  ck_assert_uint_eq(FR.queries, 1);
  world_fini(w);
}
END_TEST

/* RFC 3263 4.3: a timeout (Timer B) moves on to the next place too; when
 * every place fails the caller gets the best answer (a 503 as 500, 16.7
 * step 6). */
START_TEST(proxy_dns_timeout_then_all_fail)
{
  world *w = dns_world(SIPSRV_PROXY_STATEFUL, 0);
  size_t j, m0, r;

  FR.answer_inline = true;
  send_rq(w, CAROL);
  one(w, 0, "INVITE", SRV1);
  m0 = w->nsent;
  run_for(w, 32000);                       /* Timer B: 64*T1 */
  j = one(w, m0, "INVITE", SRV2);
  ck_assert_int_eq(count(w, m0, "final", CALLER), 0);
  m0 = w->nsent;
  reply_to(w, j, 503, "srv2", NULL);
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 500);
  world_fini(w);
}
END_TEST

/* RFC 3263 4.3 and RFC 3261 17.1.4: a send that fails at once goes to the
 * next place at once. */
START_TEST(proxy_dns_transport_error_next_place)
{
  world *w = dns_world(SIPSRV_PROXY_STATEFUL, 0);
  size_t j, r, m0;

  FR.answer_inline = true;
  snprintf(w->fail_dst, sizeof w->fail_dst, "%s", SRV1);
  send_rq(w, CAROL);
  ck_assert_int_eq(count(w, 0, "INVITE", SRV1), 1);
  ck_assert(w->sent[find(w, 0, "INVITE", SRV1)].failed);
  j = one(w, 0, "INVITE", SRV2);
  m0 = w->nsent;
  reply_to(w, j, 180, "srv2", NULL);
  reply_to(w, j, 200, "srv2", NULL);
  one(w, m0, "180", CALLER);
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 200);
  world_fini(w);
}
END_TEST

/* RFC 3263 4.3: once a provisional response came the place handles the
 * request; a 503 after it goes to the caller (as 500) and the next place
 * is not tried. Neither after a 486. */
START_TEST(proxy_dns_no_next_after_provisional_or_4xx)
{
  world *w = dns_world(SIPSRV_PROXY_STATEFUL, 0);
  size_t i, m0, r;

  FR.answer_inline = true;
  send_rq(w, CAROL);
  i = one(w, 0, "INVITE", SRV1);
  reply_to(w, i, 180, "srv1", NULL);
  m0 = w->nsent;
  reply_to(w, i, 503, "srv1", NULL);
  ck_assert_int_eq(count(w, m0, "INVITE", NULL), 0);
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 500);

  send_rq(w, RQ(.uri = "sip:carol@other.test", .to = "<sip:carol@other.test>",
                .branch = "z9hG4bKcaller2", .call_id = "call-2@192.0.2.1"));
  i = (size_t)find(w, m0, "INVITE", SRV1);
  m0 = w->nsent;
  reply_to(w, i, 486, "srv1", NULL);
  ck_assert_int_eq(count(w, m0, "INVITE", NULL), 0);
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 486);
  world_fini(w);
}
END_TEST

/* A name without records, or with only transports the proxy lacks: 503. */
START_TEST(proxy_dns_unresolvable_503)
{
  world *w = dns_world(SIPSRV_PROXY_STATEFUL, 0);
  size_t r, m0;

  FR.answer_inline = true;
  FR.err = SIPSRV_E_NOTFOUND;
  send_rq(w, CAROL);
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  r = one(w, 0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 503);

  FR.err = 0;
  FR.tp[0] = FR.tp[1] = "TCP";           /* this world has UDP only */
  m0 = w->nsent;
  send_rq(w, RQ(.uri = "sip:carol@other.test", .to = "<sip:carol@other.test>",
                .branch = "z9hG4bKcaller2", .call_id = "call-2@192.0.2.1"));
  ck_assert_int_eq(count(w, m0, "INVITE", NULL), 0);
  r = one(w, m0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 503);
  world_fini(w);
}
END_TEST

/* 16.10 while resolving: the CANCEL gets 200, the INVITE 487, the query is
 * cancelled and nothing goes downstream. */
START_TEST(proxy_dns_cancel_while_resolving)
{
  world *w = dns_world(SIPSRV_PROXY_STATEFUL, 0);
  size_t r;

  send_rq(w, CAROL);
  ck_assert(FR.pending);
  send_rq(w, RQ(.method = "CANCEL", .uri = "sip:carol@other.test", .to = "<sip:carol@other.test>"));
  ck_assert(!FR.pending);
  ck_assert_uint_eq(FR.cancels, 1);
  one(w, 0, "200", CALLER);
  r = one(w, 0, "487", CALLER);
  (void)r;
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  ck_assert_int_eq(count(w, 0, "CANCEL", NULL), 0);
  world_fini(w);
}
END_TEST

/* Freeing the proxy during a resolution cancels it (stateful: the caller
 * gets 500; stateless: the request is dropped), without a leak. */
START_TEST(proxy_dns_free_while_resolving)
{
  world *w = dns_world(SIPSRV_PROXY_STATEFUL, 0);
  send_rq(w, CAROL);
  ck_assert(FR.pending);
  sipsrv_proxy_free(w->proxy);
  w->proxy = NULL;
  ck_assert_uint_eq(FR.cancels, 1);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, one(w, 0, "final", CALLER))), 500);

  w = dns_world(SIPSRV_PROXY_STATELESS, 0);
  send_rq(w, CAROL);
  ck_assert(FR.pending);
  sipsrv_proxy_free(w->proxy);
  w->proxy = NULL;
  ck_assert_uint_eq(FR.cancels, 2);
  ck_assert_int_eq(count(w, 0, "any", NULL), 0);
  world_fini(w);
}
END_TEST

/* 16.11: a stateless proxy sends to the first place, the same one for a
 * retransmission (with the same branch). */
START_TEST(proxy_dns_stateless_first_place)
{
  world *w = dns_world(SIPSRV_PROXY_STATELESS, 0);
  size_t i, j, m0;
  char b[64];

  send_rq(w, CAROL);
  fr_answer();
  i = one(w, 0, "INVITE", SRV1);
  snprintf(b, sizeof b, "%s", via_branch(msg_at(w, i), 0));
  m0 = w->nsent;
  send_rq(w, CAROL);
  fr_answer();
  j = one(w, m0, "INVITE", SRV1);
  ck_assert_str_eq(via_branch(msg_at(w, j), 0), b);
  ck_assert_uint_eq(FR.queries, 2);
  world_fini(w);
}
END_TEST

/* An outbound proxy whose next hop is a name: accepted only with a
 * resolver, and resolved with its transport parameter (RFC 3263 4.1). */
START_TEST(proxy_dns_next_hop_name)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  world *w = world_new(NULL, W_NOPROXY);
  sipsrv_proxy *p = NULL;

  cfg.next_hop = "sip:outbound.test;transport=tcp";
  ck_assert_int_eq(sipsrv_proxy_new(&p, w->core, &cfg), SIPSRV_E_INVAL);
  ck_assert_ptr_null(p);
  cfg.resolver = fr_resolver;
  FR.answer_inline = true;
  FR.tp[0] = "TCP";
  w = world_new(&cfg, W_TCP);
  send_rq(w, CAROL);
  ck_assert_str_eq(FR.uri, "sip:outbound.test;transport=tcp");
  ck_assert_str_eq(w->sent[one(w, 0, "INVITE", SRV1)].tp, "TCP");
  world_fini(w);
}
END_TEST

static void fr_resolve_cb_unused(void *ctx, int err, const sipsrv_resolved *r, size_t n)
{
  (void)ctx;
  (void)err;
  (void)r;
  (void)n;
  ck_abort_msg("not called");
}

/* resolver.h: the table is checked like the store's. */
START_TEST(proxy_dns_resolver_api)
{
  struct sipsrv_resolver_ops ops = fr_ops;
  sipsrv_resolver *r = NULL;
  void *q = NULL;
  ck_assert_int_eq(sipsrv_resolver_new(NULL, &ops, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_resolver_new(&r, NULL, NULL), SIPSRV_E_INVAL);
  ops.version = 99;
  ck_assert_int_eq(sipsrv_resolver_new(&r, &ops, NULL), SIPSRV_E_VERSION);
  ops = fr_ops;
  ops.size = 8;
  ck_assert_int_eq(sipsrv_resolver_new(&r, &ops, NULL), SIPSRV_E_VERSION);
  ops = fr_ops;
  ops.cancel = NULL;
  ck_assert_int_eq(sipsrv_resolver_new(&r, &ops, NULL), SIPSRV_E_INVAL);
  ck_assert_ptr_null(r);
  ck_assert_int_eq(sipsrv_resolver_resolve(NULL, "sip:a.test", fr_resolve_cb_unused, NULL, &q),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_resolver_resolve(fr_resolver, NULL, fr_resolve_cb_unused, NULL, &q),
                   SIPSRV_E_INVAL);
  sipsrv_resolver_cancel(NULL, NULL);
  sipsrv_resolver_free(NULL);
}
END_TEST

/* ======================================================================
 * RFC 5393 Max-Breadth
 * ====================================================================== */

#define UA3 "192.0.2.22:5066"

static void bind_three(world *w)
{
  bspec b[3] = { { C1, -1, NULL, 0 }, { C2, -1, NULL, 0 }, { "sip:bob@" UA3, -1, NULL, 0 } };
  put_bindings(w, BOB, b, 3);
}

static void breadth_eq(world *w, size_t i, const char *want)
{
  char v[32];
  ck_assert_int_gt(sipsrv_msg_header(msg_at(w, i), "Max-Breadth", 0, v, sizeof v), 0);
  ck_assert_str_eq(v, want);
}

/* RFC 5393 (Max-Breadth): parallel branches share the received breadth
 * (10 over three branches: 3 each, 9 in all); without one, 60 is assumed. */
START_TEST(proxy_breadth_shared)
{
  world *w = world_new(NULL, 0);
  size_t m0 = 0;

  bind_three(w);
  send_rq(w, RQ(.headers = "Max-Breadth: 10\r\n"));
  breadth_eq(w, (size_t)find(w, m0, "INVITE", UA1), "3");
  breadth_eq(w, (size_t)find(w, m0, "INVITE", UA2), "3");
  breadth_eq(w, (size_t)find(w, m0, "INVITE", UA3), "3");
  world_fini(w);
  w = world_new(NULL, 0);
  bind_one(w, C1);
  breadth_eq(w, invite_to(w, RQ(.method = "INVITE"), UA1), "60");
  world_fini(w);
}
END_TEST

/* RFC 5393: no more branches at once than the breadth (2 for three
 * targets, 1 each); the third starts when one of them ends. */
START_TEST(proxy_breadth_limits_parallel)
{
  world *w = world_new(NULL, 0);
  size_t i, m0;

  bind_three(w);
  send_rq(w, RQ(.headers = "Max-Breadth: 2\r\n"));
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 2);
  ck_assert_int_eq(count(w, 0, "INVITE", UA3), 0);
  i = (size_t)find(w, 0, "INVITE", UA1);
  breadth_eq(w, i, "1");
  m0 = w->nsent;
  reply_to(w, i, 486, "ua1", NULL);
  breadth_eq(w, one(w, m0, "INVITE", UA3), "1");
  ck_assert_int_eq(count(w, m0, "final", CALLER), 0);
  world_fini(w);
}
END_TEST

/* RFC 3261 7.3.1 keeps only the order of same-name fields, but UAs (and
 * sipp scenarios) copy the Via lines as a block: in the forwarded copy our
 * Via stays right above the caller's, whatever else was added (Record-Route,
 * Max-Breadth). */
START_TEST(proxy_forward_via_block)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_DIALOG);
  world *w = world_new(&cfg, 0);
  const char *v1, *eol;
  size_t i;

  bind_one(w, C1);
  i = invite_to(w, RQ(.headers = "Max-Breadth: 10\r\n"), UA1);
  v1 = strstr(w->sent[i].data, "\r\nVia: ");
  ck_assert_ptr_nonnull(v1);
  eol = strstr(v1 + 2, "\r\n");
  ck_assert_ptr_nonnull(eol);
  ck_assert_int_eq(strncmp(eol, "\r\nVia: SIP/2.0/UDP " CALLER, 19 + strlen(CALLER)), 0);
  ck_assert_ptr_nonnull(strstr(w->sent[i].data, "\r\nRecord-Route: <sip:192.0.2.10:5060;lr>\r\n"));
  world_fini(w);
}
END_TEST

/* RFC 5393: with Max-Breadth 0 no branch may be pursued: 440. */
START_TEST(proxy_breadth_zero_440)
{
  world *w = world_new(NULL, 0);
  size_t r;

  bind_one(w, C1);
  send_rq(w, RQ(.headers = "Max-Breadth: 0\r\n"));
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 0);
  r = one(w, 0, "final", CALLER);
  ck_assert_int_eq(sipsrv_msg_status(msg_at(w, r)), 440);
  ck_assert_str_eq(sipsrv_msg_phrase(msg_at(w, r)), "Max-Breadth Exceeded");
  world_fini(w);
}
END_TEST

/* RFC 5393: a branch pursued alone (serial forking) gets the whole
 * breadth. */
START_TEST(proxy_breadth_serial_whole)
{
  sipsrv_proxy_cfg cfg = base_cfg(SIPSRV_PROXY_STATEFUL);
  world *w;
  cfg.serial = 1;
  w = world_new(&cfg, 0);
  bind_two(w);
  send_rq(w, RQ(.headers = "Max-Breadth: 7\r\n"));
  ck_assert_int_eq(count(w, 0, "INVITE", NULL), 1);
  breadth_eq(w, (size_t)find(w, 0, "INVITE", NULL), "7");
  world_fini(w);
}
END_TEST

static TCase *tcase(Suite *s, const char *name)
{
  TCase *tc = tcase_create(name);
  tcase_add_checked_fixture(tc, NULL, teardown);
  suite_add_tcase(s, tc);
  return tc;
}

static Suite *suite(void)
{
  Suite *s = suite_create("proxy");
  const char *fork = getenv("CK_FORK");
  bool forking = !(fork && strcmp(fork, "no") == 0);
  TCase *tc;

  tc = tcase(s, "validate");
  tcase_add_test(tc, proxy_validate_max_forwards_483);
  tcase_add_test(tc, proxy_validate_options_max_forwards_zero_local);
  tcase_add_test(tc, proxy_claim_register_and_options_local);
  tcase_add_test(tc, proxy_validate_loop_482);
  tcase_add_test(tc, proxy_validate_spiral_forwarded);
  tcase_add_test(tc, proxy_validate_proxy_require_420);

  tc = tcase(s, "route");
  tcase_add_test(tc, proxy_route_loose_own_route_removed);
  tcase_add_test(tc, proxy_route_two_own_routes_removed);
  tcase_add_test(tc, proxy_route_strict_upstream);
  tcase_add_test(tc, proxy_route_lr_lookalike);
  tcase_add_test(tc, proxy_route_strict_downstream);
  tcase_add_test(tc, proxy_route_preloaded_elsewhere_403);
  tcase_add_test(tc, proxy_validate_unknown_scheme_416);
  tcase_add_test(tc, proxy_route_preloaded_own_route_uses_location);

  tc = tcase(s, "target");
  tcase_add_test(tc, proxy_target_location_one_binding);
  tcase_add_test(tc, proxy_target_location_none_480);
  tcase_add_test(tc, proxy_target_location_path);
  tcase_add_test(tc, proxy_target_next_hop_other_domain);
  tcase_add_test(tc, proxy_target_no_relay_403);
  tcase_add_test(tc, proxy_target_relay_forwards);
  tcase_add_test(tc, proxy_target_hostname_503);
  tcase_add_test(tc, proxy_target_async_lookup);
  tcase_add_test(tc, proxy_store_failure_logged_once);

  tc = tcase(s, "forward");
  tcase_add_test(tc, proxy_forward_copy_fields);
  tcase_add_test(tc, proxy_forward_from_bytes);
  tcase_add_test(tc, proxy_forward_adds_max_forwards);
  tcase_add_test(tc, proxy_forward_record_route_dialog_mode);
  tcase_add_test(tc, proxy_forward_record_route_cfg);
  tcase_add_test(tc, proxy_forward_record_route_transport_change);

  tc = tcase(s, "response");
  tcase_add_test(tc, proxy_response_provisional);
  tcase_add_test(tc, proxy_response_own_100_trying);
  tcase_add_test(tc, proxy_response_200_forwarded);
  tcase_add_test(tc, proxy_settled_call_small);
  tcase_add_test(tc, proxy_response_fork_best_after_all);
  tcase_add_test(tc, proxy_response_fork_lowest_class);
  tcase_add_test(tc, proxy_response_fork_401_preferred);
  tcase_add_test(tc, proxy_response_fork_6xx_cancels_others);
  tcase_add_test(tc, proxy_response_fork_2xx_cancels_others);
  tcase_add_test(tc, proxy_response_fork_challenges_merged);
  tcase_add_test(tc, proxy_response_503_becomes_500);
  tcase_add_test(tc, proxy_response_timer_b_408);
  tcase_add_test(tc, proxy_response_transport_error_500);
  tcase_add_test(tc, proxy_response_2xx_retransmission);
  tcase_add_test(tc, proxy_stateful_response_from_bytes);
  tcase_add_test(tc, proxy_stateful_response_from_bytes_joined_vias);
  tcase_add_test(tc, proxy_stateful_response_parsed_when_needed);

  tc = tcase(s, "serial");
  tcase_add_test(tc, proxy_serial_q_order);
  tcase_add_test(tc, proxy_serial_2xx_stops);

  tc = tcase(s, "cancel");
  tcase_add_test(tc, proxy_cancel_after_provisional);
  tcase_add_test(tc, proxy_cancel_before_provisional);
  tcase_add_test(tc, proxy_cancel_during_lookup);

  tc = tcase(s, "timer_c");
  tcase_add_test(tc, proxy_timer_c_cancels);

  tc = tcase(s, "ack");
  tcase_add_test(tc, proxy_ack_2xx_forwarded);
  tcase_add_test(tc, proxy_ack_2xx_from_bytes);
  tcase_add_test(tc, proxy_ack_2xx_role_before);

  tc = tcase(s, "stateless");
  tcase_add_test(tc, proxy_stateless_branch_stable);
  tcase_add_test(tc, proxy_stateless_response_by_via);
  tcase_add_test(tc, proxy_stateless_response_from_bytes);
  tcase_add_test(tc, proxy_stateless_response_from_bytes_joined_vias);
  tcase_add_test(tc, proxy_stateless_response_irregular_parsed);
  tcase_add_test(tc, proxy_stateless_tcp_response_on_connection);
  tcase_add_test(tc, proxy_stateless_483_420);
  tcase_add_test(tc, proxy_stateless_request_from_bytes);
  tcase_add_test(tc, proxy_stateless_request_from_bytes_edits);
  tcase_add_test(tc, proxy_stateless_request_parsed_when_needed);
  tcase_add_test(tc, proxy_stateless_route_add_one_target);

  tc = tcase(s, "dialog");
  tcase_add_test(tc, proxy_dialog_start_and_bye);
  tcase_add_test(tc, proxy_dialog_max_503);
  tcase_add_test(tc, proxy_dialog_timeout_408);
  tcase_add_test(tc, proxy_dialog_bye_from_callee);
  tcase_add_test(tc, proxy_dialog_2xx_retransmission_after_bye);
  tcase_add_test(tc, proxy_dialog_free_no_callback);

  tc = tcase(s, "auth");
  tcase_add_test(tc, proxy_auth_407_then_forwarded);
  tcase_add_test(tc, proxy_auth_wrong_password_407);
  tcase_add_test(tc, proxy_auth_lockout);
  tcase_add_test(tc, proxy_auth_policy);
  tcase_add_test(tc, proxy_auth_cancel_not_challenged);
  tcase_add_test(tc, proxy_auth_on_authorize);
  tcase_add_test(tc, proxy_auth_new_checks);

  tc = tcase(s, "gateway");
  tcase_add_test(tc, proxy_gateway_longest_prefix);
  tcase_add_test(tc, proxy_gateway_failover);
  tcase_add_test(tc, proxy_gateway_connect_refused);
  tcase_add_test(tc, proxy_gateway_new_checks);

  tc = tcase(s, "dns");
  tcase_add_checked_fixture(tc, fr_setup, fr_teardown);
  tcase_add_test(tc, proxy_dns_503_next_place);
  tcase_add_test(tc, proxy_dns_timeout_then_all_fail);
  tcase_add_test(tc, proxy_dns_transport_error_next_place);
  tcase_add_test(tc, proxy_dns_no_next_after_provisional_or_4xx);
  tcase_add_test(tc, proxy_dns_unresolvable_503);
  tcase_add_test(tc, proxy_dns_cancel_while_resolving);
  tcase_add_test(tc, proxy_dns_free_while_resolving);
  tcase_add_test(tc, proxy_dns_stateless_first_place);
  tcase_add_test(tc, proxy_dns_next_hop_name);
  tcase_add_test(tc, proxy_dns_resolver_api);

  tc = tcase(s, "breadth");
  tcase_add_test(tc, proxy_breadth_shared);
  tcase_add_test(tc, proxy_breadth_limits_parallel);
  tcase_add_test(tc, proxy_breadth_zero_440);
  tcase_add_test(tc, proxy_forward_via_block);
  tcase_add_test(tc, proxy_breadth_serial_whole);

  tc = tcase(s, "api");
  tcase_add_test(tc, proxy_api_new_null_args);
  tcase_add_test(tc, proxy_api_new_bad_version);
  tcase_add_test(tc, proxy_api_new_bad_mode);
  tcase_add_test(tc, proxy_api_new_bad_next_hop);
  tcase_add_test(tc, proxy_api_new_no_clock);
  tcase_add_test(tc, proxy_api_new_core_allocator);
  tcase_add_test(tc, proxy_api_null_args);
  tcase_add_test(tc, proxy_api_route_checks);
  tcase_add_test(tc, proxy_api_route_reject_404);
  tcase_add_test(tc, proxy_api_route_two_targets);
  tcase_add_test(tc, proxy_api_route_add_toobig);

  tc = tcase(s, "free");
  tcase_add_test(tc, proxy_free_pending_invite_500);
  /* Use after free before the fix: run it only in a child process. */
  if (forking)
    tcase_add_test(tc, proxy_free_pending_lookup);

  return s;
}

int main(void)
{
  return harness_run(suite());
}
