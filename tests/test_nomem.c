/* Out of memory: every allocation of a REGISTER, and of a proxied INVITE,
 * fails in turn (the first, then the second...), until a run makes no more
 * allocations than the one that failed. Each time the library must come
 * through without a crash and without a leak, and what it sends must be
 * the normal answer or a 500/503 (never a 400 for a request it could not
 * parse for want of memory). Then memory comes back and the same world
 * works again.
 *
 * The allocator is replaced by this executable's malloc/calloc/realloc/free
 * (glibc lets a program replace them, and Sofia-SIP's allocations go
 * through them too), which count the live blocks: a leak shows as a count
 * that does not come back. Under valgrind or a sanitizer, which own malloc
 * themselves, the test says so and skips. */
#define _GNU_SOURCE
#include <check.h>

#include "harness.h"

#include <sipsrv/sipsrv.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define NOMEM_INTERPOSE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define NOMEM_INTERPOSE 0
#endif
#endif
#ifndef NOMEM_INTERPOSE
#define NOMEM_INTERPOSE 1
#endif

/* ---- the counting, failing allocator ----------------------------------------- */

static volatile long fail_at;  /* the n-th allocation after arming fails; 0: none */
static volatile long counted;  /* allocations since arming */
static volatile bool armed;  /* volatile: malloc() is a builtin that reads no globals */
static volatile long live;  /* blocks handed out and not freed */

#if NOMEM_INTERPOSE
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static bool fail_now(void)
{
  if (!armed)
    return false;
  return ++counted == fail_at;
}

void *malloc(size_t n)
{
  void *p;
  if (fail_now())
    return NULL;
  p = __libc_malloc(n);
  if (p)
    live++;
  return p;
}

void *calloc(size_t n, size_t size)
{
  void *p;
  if (fail_now())
    return NULL;
  p = __libc_calloc(n, size);
  if (p)
    live++;
  return p;
}

void *realloc(void *p, size_t n)
{
  void *q;
  if (p && n == 0) {
    live--;
    return __libc_realloc(p, 0);
  }
  if (fail_now())
    return NULL;
  q = __libc_realloc(p, n);
  if (q && !p)
    live++;
  return q;
}

void free(void *p)
{
  if (p)
    live--;
  __libc_free(p);
}
#endif

/* ---- a transport without allocations: what was sent, in static slots ---------- */

#define SLOTS 32
#define SLOT_SIZE 4096

typedef struct sink {
  sipsrv_transport *tp;
  char data[SLOTS][SLOT_SIZE];
  size_t len[SLOTS];
  struct sockaddr_storage dst[SLOTS];
  socklen_t dstlen[SLOTS];
  unsigned n;
} sink;

static int sink_send(void *user, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
                     const struct iovec *iov, int iovcnt)
{
  sink *s = user;
  size_t len = 0;
  unsigned k;
  (void)conn;
  if (s->n == SLOTS)
    return 0;                            /* enough seen */
  k = s->n++;
  for (int i = 0; i < iovcnt && len + iov[i].iov_len < SLOT_SIZE; i++) {
    memcpy(s->data[k] + len, iov[i].iov_base, iov[i].iov_len);
    len += iov[i].iov_len;
  }
  s->data[k][len] = '\0';
  s->len[k] = len;
  if (dstlen <= sizeof s->dst[k])
    memcpy(&s->dst[k], dst, dstlen);
  s->dstlen[k] = dstlen;
  return 0;
}

static const struct sipsrv_transport_ops udp_ops = {
  SIPSRV_TRANSPORT_OPS_VERSION, sizeof(struct sipsrv_transport_ops), "UDP", 0, sink_send, NULL
};

/* The status of sent message k, 0 for a request. */
static int status_of(const sink *s, unsigned k)
{
  int st = 0;
  if (strncmp(s->data[k], "SIP/2.0 ", 8) == 0)
    st = atoi(s->data[k] + 8);
  return st;
}

/* ---- a world: core, store, registrar, proxy, UAS ------------------------------ */

typedef struct world {
  tclock clock, wall;
  sipsrv_core *core;
  sipsrv_store *store;
  sipsrv_registrar *reg;
  sipsrv_proxy *proxy;
  sipsrv_uas *uas;
  sink out;
} world;

static const char *const domains[] = { "example.com", NULL };

static void world_new(world *w)
{
  sipsrv_core_cfg ccfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_registrar_cfg gcfg = SIPSRV_REGISTRAR_CFG_INIT;
  sipsrv_proxy_cfg pcfg = SIPSRV_PROXY_CFG_INIT;

  memset(w, 0, sizeof *w);
  w->clock.now_ms = 100000;
  w->wall.now_ms = 1800000000000ull;
  ccfg.clock = tclock_now;
  ccfg.clock_user = &w->clock;
  ccfg.wall_clock = tclock_now;
  ccfg.wall_clock_user = &w->wall;
  ck_assert_int_eq(sipsrv_core_new(&w->core, &ccfg), 0);
  ck_assert_int_eq(sipsrv_core_add_transport(w->core, &udp_ops, &w->out, "192.0.2.10", 5060,
                                             &w->out.tp), 0);
  ck_assert_int_eq(sipsrv_store_memory_new(&w->store, w->core), 0);
  gcfg.domains = pcfg.domains = domains;
  gcfg.store = pcfg.location = w->store;
  pcfg.mode = SIPSRV_PROXY_STATEFUL;
  ck_assert_int_eq(sipsrv_registrar_new(&w->reg, w->core, &gcfg), 0);
  ck_assert_int_eq(sipsrv_proxy_new(&w->proxy, w->core, &pcfg), 0);
  ck_assert_int_eq(sipsrv_uas_new(&w->uas, w->core, NULL), 0);
}

/* Past every timer, then everything freed (as sipsrv-server frees). */
static void world_free(world *w)
{
  for (int i = 0; i < 6; i++) {
    tclock_advance(&w->clock, 60000);
    tclock_advance(&w->wall, 60000);
    sipsrv_core_expire(w->core);
  }
  sipsrv_proxy_free(w->proxy);
  sipsrv_registrar_free(w->reg);
  sipsrv_uas_free(w->uas);
  sipsrv_core_free(w->core);
  sipsrv_store_free(w->store);
}

static void from(world *w, const char *ip, unsigned port, const char *text)
{
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  /* Out of memory, the core may refuse the datagram: any code but a crash. */
  (void)sipsrv_core_recv(w->core, w->out.tp, 0, (struct sockaddr *)&a, sizeof a, text,
                         strlen(text));
}

static const char reg_alice[] =
  "REGISTER sip:example.com SIP/2.0\r\n"
  "Via: SIP/2.0/UDP 192.0.2.2:5070;branch=z9hG4bKnomreg\r\n"
  "Max-Forwards: 70\r\n"
  "From: <sip:alice@example.com>;tag=nr1\r\n"
  "To: <sip:alice@example.com>\r\n"
  "Call-ID: nomem-reg@192.0.2.2\r\n"
  "CSeq: 1 REGISTER\r\n"
  "Contact: <sip:alice@192.0.2.2:5070>;expires=600\r\n"
  "Content-Length: 0\r\n"
  "\r\n";

/* The same registration refreshed: a new transaction (branch, CSeq). */
static const char reg_alice2[] =
  "REGISTER sip:example.com SIP/2.0\r\n"
  "Via: SIP/2.0/UDP 192.0.2.2:5070;branch=z9hG4bKnomreg2\r\n"
  "Max-Forwards: 70\r\n"
  "From: <sip:alice@example.com>;tag=nr1\r\n"
  "To: <sip:alice@example.com>\r\n"
  "Call-ID: nomem-reg@192.0.2.2\r\n"
  "CSeq: 2 REGISTER\r\n"
  "Contact: <sip:alice@192.0.2.2:5070>;expires=600\r\n"
  "Content-Length: 0\r\n"
  "\r\n";

static const char invite_alice[] =
  "INVITE sip:alice@example.com SIP/2.0\r\n"
  "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnominv\r\n"
  "Max-Forwards: 70\r\n"
  "From: <sip:bob@example.org>;tag=ni1\r\n"
  "To: <sip:alice@example.com>\r\n"
  "Call-ID: nomem-inv@192.0.2.1\r\n"
  "CSeq: 1 INVITE\r\n"
  "Contact: <sip:bob@192.0.2.1:5060>\r\n"
  "Content-Type: application/sdp\r\n"
  "Content-Length: 4\r\n"
  "\r\nv=0\n";

/* The callee answers the forwarded INVITE (sent message k) with status. */
static void callee_answers(world *w, unsigned k, int status)
{
  sipsrv_msg *req = NULL, *rsp = NULL;
  sipsrv_verdict v;
  char buf[SLOT_SIZE];
  long n;
  if (sipsrv_msg_parse(&req, w->out.data[k], w->out.len[k], 0, &v) < 0 || !req)
    return;
  if (sipsrv_msg_reply(&rsp, req, status, NULL, NULL) == 0 &&
      (n = sipsrv_msg_serialize(rsp, buf, sizeof buf)) > 0 && (size_t)n < sizeof buf) {
    buf[n] = '\0';
    from(w, "192.0.2.2", 5070, buf);
  }
  sipsrv_msg_free(rsp);
  sipsrv_msg_free(req);
}

/* What the server may say out of memory: the normal answers, 100 Trying,
 * or 500/503. */
static void check_statuses(const sink *s, unsigned first, const int *normal, long k)
{
  for (unsigned i = first; i < s->n; i++) {
    int st = status_of(s, i);
    bool ok = st == 0 || st == 100 || st == 500 || st == 503;
    for (const int *p = normal; *p && !ok; p++)
      ok = st == *p;
    ck_assert_msg(ok, "allocation %ld failed: the server sent %d:\n%s", k, st, s->data[i]);
  }
}

/* True when this program's malloc runs (not valgrind's or a sanitizer's). */
static bool malloc_is_ours(void)
{
  void *volatile p;                      /* volatile: not optimized away */
  counted = 0;
  armed = true;
  p = malloc(16);
  armed = false;
  free(p);
  return counted == 1;
}

/* Run scenario with allocation k failing: false once it made fewer
 * allocations than k (every one has failed in turn). */
typedef void (*scenario_fn)(world *w, long k);

static long run_all(scenario_fn scenario, const char *name)
{
  long k, base, total = 0;
  world w;

  /* Warm up (lazy allocations of the C library), then the baseline. */
  world_new(&w);
  scenario(&w, 0);
  world_free(&w);
  base = live;
  for (k = 1; k < 100000; k++) {
    world_new(&w);
    counted = 0;
    fail_at = k;
    scenario(&w, k);
    fail_at = 0;
    total = counted;
    world_free(&w);
    ck_assert_msg(live == base, "%s: allocation %ld of %ld failed: %ld block(s) leaked", name, k,
                  total, live - base);
    if (total < k)
      break;
  }
  return k - 1;
}

static void scenario_register(world *w, long k)
{
  static const int normal[] = { 200, 0 };
  armed = true;
  from(w, "192.0.2.2", 5070, reg_alice);
  armed = false;
  check_statuses(&w->out, 0, normal, k);
  if (k == 0) {
    ck_assert_uint_eq(w->out.n, 1);
    ck_assert_int_eq(status_of(&w->out, 0), 200);
  }
  /* Memory is back: the same world registers (again). */
  w->out.n = 0;
  from(w, "192.0.2.2", 5070, reg_alice2);
  ck_assert_uint_ge(w->out.n, 1);
  ck_assert_int_eq(status_of(&w->out, w->out.n - 1), 200);
}

static void scenario_invite(world *w, long k)
{
  static const int normal[] = { 180, 200, 408, 480, 0 };
  unsigned fwd = SLOTS;

  from(w, "192.0.2.2", 5070, reg_alice);  /* alice registered, memory plenty */
  w->out.n = 0;
  armed = true;
  from(w, "192.0.2.1", 5060, invite_alice);
  for (unsigned i = 0; i < w->out.n; i++)
    if (status_of(&w->out, i) == 0)
      fwd = i;
  if (fwd < SLOTS) {
    callee_answers(w, fwd, 180);
    callee_answers(w, fwd, 200);
  }
  armed = false;
  check_statuses(&w->out, 0, normal, k);
  if (k == 0) {
    ck_assert_uint_lt(fwd, SLOTS);         /* forwarded, and the 200 went up */
    ck_assert_int_eq(status_of(&w->out, w->out.n - 1), 200);
  }
}

/* Run scenario with every allocation failing in turn, unless the build's
 * malloc is not ours (then say why and skip). */
static void run_scenario(scenario_fn scenario, const char *name)
{
  long n;
  if (!NOMEM_INTERPOSE) {
    printf("nomem: %s skipped: a sanitizer owns malloc in this build (the plain build runs it)\n",
           name);
    return;
  }
  if (!malloc_is_ours()) {
    printf("nomem: %s skipped: malloc is not this program's (valgrind?)\n", name);
    return;
  }
  n = run_all(scenario, name);
  printf("nomem: %s: each of its %ld allocations failed in turn\n", name, n);
  ck_assert_int_gt(n, 10);
}

START_TEST(nomem_register)
{
  run_scenario(scenario_register, "REGISTER");
}
END_TEST

START_TEST(nomem_proxied_invite)
{
  run_scenario(scenario_invite, "proxied INVITE (and the callee's 180 and 200)");
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("nomem");
  TCase *tc = tcase_create("nomem");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, nomem_register);
  tcase_add_test(tc, nomem_proxied_invite);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return harness_run(suite());
}
