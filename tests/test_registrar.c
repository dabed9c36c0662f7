/* Tests of the registrar area: the registrar role (lib/roles/registrar.c)
 * on a core driven through a fake UDP transport, a manual monotonic clock
 * and a manual wall clock, with the memory store (or a failing one) as the
 * location service. Every response is recorded, parsed back and checked
 * against RFC 3261 10.3 (the registrar's steps), 8.2.6 (what a response
 * copies), 20.17 (Date), RFC 3327 (Path) and the RFC 4475 REGISTER torture
 * messages (3.1.1.4, 3.3.12-3.3.14). */
#include <check.h>

#include "harness.h"

#include <sipsrv/core.h>
#include <sipsrv/error.h>
#include <sipsrv/msg.h>
#include <sipsrv/registrar.h>
#include <sipsrv/store.h>
#include <sipsrv/transport.h>

#include "auth/digest.h"
#include "store/store_int.h"
#include <sqlite3.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The wall clock starts here: Wed, 18 Nov 2026 11:06:40 GMT. */
#define WALL0 1795000000000ull
#define WALL0_DATE "Wed, 18 Nov 2026 11:06:40 GMT"

/* ---- a fake transport ---------------------------------------------------- */

#define FAKE_MAX_SENT 64

typedef struct sent_msg {
  char *data;
  size_t len;
} sent_msg;

typedef struct fake_tp {
  sipsrv_transport *tp;
  sent_msg sent[FAKE_MAX_SENT];
  size_t nsent;
  bool fail;                    /* every send is a transport error */
} fake_tp;

static int fake_send(void *user, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
                     const struct iovec *iov, int iovcnt)
{
  fake_tp *f = user;
  sent_msg *s;
  size_t len = 0;

  (void)conn;
  if (f->fail)
    return SIPSRV_E_IO;
  ck_assert_ptr_nonnull(dst);
  ck_assert_uint_gt(dstlen, 0);
  ck_assert_int_gt(iovcnt, 0);
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
  return 0;
}

static const struct sipsrv_transport_ops udp_ops = {
  SIPSRV_TRANSPORT_OPS_VERSION, sizeof(struct sipsrv_transport_ops), "UDP", 0, fake_send, NULL
};

static void fake_reset(fake_tp *f)
{
  for (size_t i = 0; i < f->nsent; i++)
    free(f->sent[i].data);
  f->nsent = 0;
}

/* ---- a world: clocks, a core, UDP, a store, a registrar ------------------- */

typedef struct world {
  tclock clock;                 /* monotonic */
  tclock wall;                  /* Unix ms */
  sipsrv_core *core;
  fake_tp udp;
  sipsrv_store *store;
  sipsrv_registrar *reg;
  unsigned branches;
} world;

static const char *const our_domains[] = { "example.com", NULL };

static void world_core(world *w, bool wall)
{
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;

  memset(w, 0, sizeof *w);
  w->clock.now_ms = 100000;
  w->wall.now_ms = WALL0;
  cfg.clock = tclock_now;
  cfg.clock_user = &w->clock;
  if (wall) {
    cfg.wall_clock = tclock_now;
    cfg.wall_clock_user = &w->wall;
  }
  ck_assert_int_eq(sipsrv_core_new(&w->core, &cfg), 0);
  ck_assert_int_eq(sipsrv_core_add_transport(w->core, &udp_ops, &w->udp, "127.0.0.1", 5060,
                                             &w->udp.tp), 0);
}

static sipsrv_registrar_cfg base_cfg(world *w)
{
  sipsrv_registrar_cfg cfg = SIPSRV_REGISTRAR_CFG_INIT;
  cfg.domains = our_domains;
  cfg.store = w->store;
  return cfg;
}

/* A core, a memory store and a registrar with cfg (NULL: the defaults). */
static void world_new(world *w, const sipsrv_registrar_cfg *cfg)
{
  sipsrv_registrar_cfg c;

  world_core(w, true);
  ck_assert_int_eq(sipsrv_store_memory_new(&w->store, w->core), 0);
  c = cfg ? *cfg : base_cfg(w);
  c.store = w->store;
  c.domains = c.domains ? c.domains : our_domains;
  ck_assert_int_eq(sipsrv_registrar_new(&w->reg, w->core, &c), 0);
  ck_assert_ptr_nonnull(w->reg);
}

/* The brief's free order: registrar, core, store. */
static void world_fini(world *w)
{
  sipsrv_registrar_free(w->reg);
  sipsrv_core_free(w->core);
  sipsrv_store_free(w->store);
  fake_reset(&w->udp);
}

/* ---- requests in ------------------------------------------------------------- */

typedef struct reg_spec {
  const char *uri;          /* sip:example.com */
  const char *to;           /* <sip:bob@example.com> */
  const char *call_id;      /* reg-1@127.0.0.1 */
  unsigned cseq;            /* 0: 1 */
  const char *headers;      /* extra lines (Contact, Expires, ...), each ending in CRLF */
} reg_spec;

#define REG(...) (&(const reg_spec){ __VA_ARGS__ })

static void send_raw(world *w, const char *buf, size_t len)
{
  struct sockaddr_in src;

  memset(&src, 0, sizeof src);
  src.sin_family = AF_INET;
  src.sin_port = htons(40000);
  ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.1", &src.sin_addr), 1);
  ck_assert_int_eq(sipsrv_core_recv(w->core, w->udp.tp, 0, (const struct sockaddr *)&src,
                                    sizeof src, buf, len),
                   0);
}

/* Parse the i-th message sent: a well-formed response. */
static sipsrv_msg *rsp_at(const fake_tp *f, size_t i)
{
  sipsrv_msg *m = NULL;
  sipsrv_verdict v;

  ck_assert_uint_lt(i, f->nsent);
  ck_assert_int_eq(sipsrv_msg_parse(&m, f->sent[i].data, f->sent[i].len, 0, &v), 0);
  ck_assert_ptr_nonnull(m);
  ck_assert_msg(v.action == SIPSRV_ACCEPT, "sent message %zu: %s: %s", i, v.phrase,
                f->sent[i].data);
  ck_assert_msg(!sipsrv_msg_is_request(m), "sent message %zu is a request", i);
  return m;
}

/* Send raw bytes: exactly one response comes back; its status. */
static int send_raw_status(world *w, const char *buf, size_t len)
{
  size_t before = w->udp.nsent;
  sipsrv_msg *m;
  int st;

  send_raw(w, buf, len);
  ck_assert_uint_eq(w->udp.nsent, before + 1);
  m = rsp_at(&w->udp, before);
  st = sipsrv_msg_status(m);
  sipsrv_msg_free(m);
  return st;
}

/* Build a REGISTER with a fresh branch and From tag into buf; its length. */
static size_t build_reg(world *w, char *buf, size_t size, const reg_spec *s)
{
  unsigned b = ++w->branches;
  int n = snprintf(buf, size,
                   "REGISTER %s SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKreg%u\r\n"
                   "Max-Forwards: 70\r\n"
                   "From: <sip:bob@example.com>;tag=fb%u\r\n"
                   "To: %s\r\n"
                   "Call-ID: %s\r\n"
                   "CSeq: %u REGISTER\r\n"
                   "%s"
                   "Content-Length: 0\r\n"
                   "\r\n",
                   s->uri ? s->uri : "sip:example.com", b, b,
                   s->to ? s->to : "<sip:bob@example.com>",
                   s->call_id ? s->call_id : "reg-1@127.0.0.1", s->cseq ? s->cseq : 1,
                   s->headers ? s->headers : "");
  ck_assert_int_gt(n, 0);
  ck_assert_uint_lt((size_t)n, size);
  return (size_t)n;
}

/* Send a REGISTER: exactly one response comes back; its status. The sent
 * bytes are w->udp.sent[w->udp.nsent - 1]. */
static int reg(world *w, const reg_spec *s)
{
  char buf[4096];
  size_t n = build_reg(w, buf, sizeof buf, s);
  return send_raw_status(w, buf, n);
}

static const sent_msg *last(const world *w)
{
  ck_assert_uint_gt(w->udp.nsent, 0);
  return &w->udp.sent[w->udp.nsent - 1];
}

static sipsrv_msg *last_rsp(const world *w)
{
  return rsp_at(&w->udp, w->udp.nsent - 1);
}

/* A fetch (no Contact) for the AOR in To: its status. */
static int fetch(world *w, const char *to)
{
  char cid[64];
  snprintf(cid, sizeof cid, "fetch-%u@127.0.0.1", w->branches + 1);
  return reg(w, REG(.to = to, .call_id = cid));
}

/* ---- responses out ------------------------------------------------------------ */

/* The sent bytes carry this header line exactly ("Name: value", no CRLF). */
static void wire_has(const sent_msg *s, const char *line)
{
  char want[1024];
  snprintf(want, sizeof want, "\r\n%s\r\n", line);
  ck_assert_msg(strstr(s->data, want) != NULL, "no \"%s\" line in:\n%s", line, s->data);
}

static void wire_lacks(const sent_msg *s, const char *name)
{
  char want[128];
  snprintf(want, sizeof want, "\r\n%s:", name);
  ck_assert_msg(strstr(s->data, want) == NULL, "unexpected %s in:\n%s", name, s->data);
}

/* The Contact lines of the sent bytes are exactly want (any order). */
static void contacts_are(const sent_msg *s, const char *const *want)
{
  size_t nwant = 0, ngot = 0;
  const char *p = s->data;
  char got[16][1024];

  while (want[nwant])
    nwant++;
  while ((p = strstr(p, "\r\nContact: ")) != NULL) {
    const char *e;
    p += 2;
    e = strstr(p, "\r\n");
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_lt(ngot, 16);
    ck_assert_uint_lt((size_t)(e - p), sizeof got[0]);
    memcpy(got[ngot], p, (size_t)(e - p));
    got[ngot][e - p] = '\0';
    ngot++;
    p = e;
  }
  ck_assert_msg(ngot == nwant, "%zu Contact lines, want %zu, in:\n%s", ngot, nwant, s->data);
  for (size_t i = 0; i < nwant; i++) {
    bool found = false;
    for (size_t k = 0; k < ngot && !found; k++)
      found = strcmp(got[k], want[i]) == 0;
    ck_assert_msg(found, "no \"%s\" line in:\n%s", want[i], s->data);
  }
}

#define CONTACTS(s, ...) contacts_are((s), (const char *const[]){ __VA_ARGS__, NULL })
#define NO_CONTACTS(s) contacts_are((s), (const char *const[]){ NULL })

/* The one field named name has exactly this value. */
static void hdr_eq(const sipsrv_msg *m, const char *name, const char *want)
{
  char buf[512];
  int n = sipsrv_msg_header(m, name, 0, buf, sizeof buf);
  ck_assert_msg(n >= 0, "no %s header", name);
  ck_assert_str_eq(buf, want);
  ck_assert_int_eq(sipsrv_msg_header(m, name, 1, buf, sizeof buf), SIPSRV_E_NOTFOUND);
}

/* ---- new / free ---------------------------------------------------------------- */

/* RFC 3261 17.2.4: a response that cannot be sent ends its transaction at
 * once. The registrar answering a REGISTER whose 200 fails so must not
 * touch its request afterwards (tests/fuzz/fuzz_roles found it freed
 * twice); the binding stays stored, and the next REGISTER works. */
START_TEST(registrar_answer_send_fails)
{
  world w;
  char buf[4096];
  size_t n;

  world_new(&w, NULL);
  w.udp.fail = true;
  n = build_reg(&w, buf, sizeof buf, REG(.headers = "Contact: <sip:bob@192.0.2.4:5070>\r\n"));
  send_raw(&w, buf, n);
  ck_assert_uint_eq(w.udp.nsent, 0);
  w.udp.fail = false;
  ck_assert_int_eq(fetch(&w, NULL), 200);
  ck_assert_ptr_nonnull(strstr(last(&w)->data, "<sip:bob@192.0.2.4:5070>"));
  world_fini(&w);
}
END_TEST

/* registrar.h: NULL out, core or cfg: SIPSRV_E_INVAL, out untouched. */
START_TEST(registrar_new_null_args)
{
  world w;
  sipsrv_registrar_cfg cfg;
  sipsrv_registrar *r = (sipsrv_registrar *)&w;

  world_core(&w, true);
  ck_assert_int_eq(sipsrv_store_memory_new(&w.store, w.core), 0);
  cfg = base_cfg(&w);
  ck_assert_int_eq(sipsrv_registrar_new(NULL, w.core, &cfg), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_registrar_new(&r, NULL, &cfg), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_registrar_new(&r, w.core, NULL), SIPSRV_E_INVAL);
  ck_assert_ptr_eq(r, (sipsrv_registrar *)&w);
  world_fini(&w);
}
END_TEST

/* STYLE.md: an unknown cfg version: SIPSRV_E_VERSION. */
START_TEST(registrar_new_bad_version)
{
  world w;
  sipsrv_registrar_cfg cfg;
  sipsrv_registrar *r = NULL;

  world_core(&w, true);
  ck_assert_int_eq(sipsrv_store_memory_new(&w.store, w.core), 0);
  cfg = base_cfg(&w);
  cfg.version = 99;
  ck_assert_int_eq(sipsrv_registrar_new(&r, w.core, &cfg), SIPSRV_E_VERSION);
  ck_assert_ptr_null(r);
  world_fini(&w);
}
END_TEST

/* registrar.h: no domains (NULL or empty list) or no store: SIPSRV_E_INVAL. */
START_TEST(registrar_new_missing_domains_store)
{
  static const char *const none[] = { NULL };
  world w;
  sipsrv_registrar_cfg cfg;
  sipsrv_registrar *r = NULL;

  world_core(&w, true);
  ck_assert_int_eq(sipsrv_store_memory_new(&w.store, w.core), 0);
  cfg = base_cfg(&w);
  cfg.domains = NULL;
  ck_assert_int_eq(sipsrv_registrar_new(&r, w.core, &cfg), SIPSRV_E_INVAL);
  cfg.domains = none;
  ck_assert_int_eq(sipsrv_registrar_new(&r, w.core, &cfg), SIPSRV_E_INVAL);
  cfg = base_cfg(&w);
  cfg.store = NULL;
  ck_assert_int_eq(sipsrv_registrar_new(&r, w.core, &cfg), SIPSRV_E_INVAL);
  ck_assert_ptr_null(r);
  world_fini(&w);
}
END_TEST

/* registrar.h: a core without a wall clock: SIPSRV_E_STATE. */
START_TEST(registrar_new_no_wall_clock)
{
  world w;
  sipsrv_registrar_cfg cfg;
  sipsrv_registrar *r = NULL;

  world_core(&w, false);
  ck_assert_int_eq(sipsrv_store_memory_new(&w.store, w.core), 0);
  cfg = base_cfg(&w);
  ck_assert_int_eq(sipsrv_registrar_new(&r, w.core, &cfg), SIPSRV_E_STATE);
  ck_assert_ptr_null(r);
  world_fini(&w);
}
END_TEST

/* registrar.h: min_expires > max_expires: SIPSRV_E_INVAL. */
START_TEST(registrar_new_min_above_max)
{
  world w;
  sipsrv_registrar_cfg cfg;
  sipsrv_registrar *r = NULL;

  world_core(&w, true);
  ck_assert_int_eq(sipsrv_store_memory_new(&w.store, w.core), 0);
  cfg = base_cfg(&w);
  cfg.min_expires = 100;
  cfg.max_expires = 50;
  ck_assert_int_eq(sipsrv_registrar_new(&r, w.core, &cfg), SIPSRV_E_INVAL);
  ck_assert_ptr_null(r);
  /* Equal is fine. */
  cfg.max_expires = 100;
  ck_assert_int_eq(sipsrv_registrar_new(&r, w.core, &cfg), 0);
  ck_assert_ptr_nonnull(r);
  sipsrv_registrar_free(r);
  world_fini(&w);
}
END_TEST

/* registrar.h: min > max also when one side is the default (0 means 60 for
 * min, 86400 for max): min 100000 with the default max, or the default
 * min with max 30, are inconsistent (a client told Min-Expires: 100000 is
 * then granted 86400). */
START_TEST(registrar_new_min_above_default_max)
{
  world w;
  sipsrv_registrar_cfg cfg;
  sipsrv_registrar *r = NULL;

  world_core(&w, true);
  ck_assert_int_eq(sipsrv_store_memory_new(&w.store, w.core), 0);
  cfg = base_cfg(&w);
  cfg.min_expires = 100000;
  ck_assert_int_eq(sipsrv_registrar_new(&r, w.core, &cfg), SIPSRV_E_INVAL);
  ck_assert_ptr_null(r);
  cfg = base_cfg(&w);
  cfg.max_expires = 30;
  ck_assert_int_eq(sipsrv_registrar_new(&r, w.core, &cfg), SIPSRV_E_INVAL);
  ck_assert_ptr_null(r);
  sipsrv_registrar_free(r);
  world_fini(&w);
}
END_TEST

/* registrar.h: sipsrv_registrar_free(NULL) is a no-op; freeing one detaches
 * it: a later REGISTER is no longer claimed (501 from the core's layer). */
START_TEST(registrar_new_free_null)
{
  world w;

  sipsrv_registrar_free(NULL);
  world_new(&w, NULL);
  sipsrv_registrar_free(w.reg);
  w.reg = NULL;
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.1>\r\n")), 501);
  world_fini(&w);
}
END_TEST

/* ---- step 1: the domain of the Request-URI ------------------------------------ */

/* RFC 3261 10.3 step 1: a REGISTER for a domain the registrar does not
 * serve is not its to answer: with no other role, the core's layer answers
 * 501; nothing is stored. */
START_TEST(registrar_claim_other_domain_501)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.uri = "sip:other.org", .to = "<sip:bob@other.org>",
                               .headers = "Contact: <sip:bob@192.0.2.1>\r\n")),
                   501);
  ck_assert_int_eq(reg(&w, REG(.uri = "sip:other.org", .to = "<sip:bob@example.com>",
                               .headers = "Contact: <sip:bob@192.0.2.1>\r\n")),
                   501);
  ck_assert_int_eq(fetch(&w, "<sip:bob@example.com>"), 200);
  NO_CONTACTS(last(&w));
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 1: its own domain is claimed (host compared without
 * case, RFC 3261 19.1.4). */
START_TEST(registrar_claim_our_domain_200)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.1>\r\n")), 200);
  ck_assert_int_eq(reg(&w, REG(.uri = "sip:EXAMPLE.COM", .cseq = 2,
                               .headers = "Contact: <sip:bob@192.0.2.1>\r\n")),
                   200);
  world_fini(&w);
}
END_TEST

/* ---- step 2: Require ------------------------------------------------------------ */

/* RFC 3261 10.3 step 2 (8.2.2.3): Require: foo: 420 with Unsupported: foo,
 * and nothing stored. */
START_TEST(registrar_require_unknown_420)
{
  world w;
  sipsrv_msg *m;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.headers = "Require: foo\r\nContact: <sip:bob@192.0.2.1>\r\n")),
                   420);
  m = last_rsp(&w);
  hdr_eq(m, "Unsupported", "foo");
  wire_has(last(&w), "Unsupported: foo");
  sipsrv_msg_free(m);
  ck_assert_int_eq(fetch(&w, NULL), 200);
  NO_CONTACTS(last(&w));
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 2 with RFC 3327 5.3: Require: path is supported. */
START_TEST(registrar_require_path_ok)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.headers = "Require: path\r\n"
                                          "Path: <sip:edge.example.com;lr>\r\n"
                                          "Contact: <sip:bob@192.0.2.1>\r\n"
                                          "Expires: 3600\r\n")),
                   200);
  wire_lacks(last(&w), "Unsupported");
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=3600");
  world_fini(&w);
}
END_TEST

/* ---- step 5: the address of record ------------------------------------------------ */

/* RFC 3261 10.3 step 5: the To URI must be SIP or SIPS: tel: gets 400. */
START_TEST(registrar_aor_tel_400)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.to = "<tel:+15551234567>",
                               .headers = "Contact: <sip:bob@192.0.2.1>\r\n")),
                   400);
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 5, RFC 4475 3.3.4 (unksm2): To isbn:..., a scheme the
 * registrar cannot use as an AOR: 400. */
START_TEST(registrar_aor_unksm2_400)
{
  world w;
  char path[1024];
  size_t len = 0;
  char *msg;

  world_new(&w, NULL);
  snprintf(path, sizeof path, "%s/rfc4475/unksm2.dat", conformance_dir());
  msg = read_file(path, &len);
  ck_assert_msg(msg != NULL, "cannot read %s", path);
  ck_assert_ptr_nonnull(strstr(msg, "REGISTER sip:example.com SIP/2.0"));
  ck_assert_int_eq(send_raw_status(&w, msg, len), 400);
  free(msg);
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 5: an AOR in a domain the registrar does not serve: 404. */
START_TEST(registrar_aor_other_domain_404)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.to = "<sip:bob@other.org>",
                               .headers = "Contact: <sip:bob@192.0.2.1>\r\n")),
                   404);
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 steps 1 and 5: a REGISTER to the registrar's own address
 * (a UA whose domain is the server's IP, as sipp's are) is served, for an
 * AOR at that address; the same address with another port is another
 * server's: not claimed (nothing else here answers: 501). */
START_TEST(registrar_own_address_is_a_domain)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.uri = "sip:127.0.0.1:5060", .to = "<sip:carol@127.0.0.1>",
                               .headers = "Contact: <sip:carol@192.0.2.1>\r\n")),
                   200);
  ck_assert_int_eq(fetch(&w, "<sip:carol@127.0.0.1:5060>"), 200);
  CONTACTS(last(&w), "Contact: <sip:carol@192.0.2.1>;expires=3600");
  ck_assert_int_eq(reg(&w, REG(.uri = "sip:127.0.0.1:5999", .to = "<sip:carol@127.0.0.1>",
                               .headers = "Contact: <sip:carol@192.0.2.1>\r\n")),
                   501);
  world_fini(&w);
}
END_TEST

/* roles_int.h (10.3 step 5): the port is not part of the AOR, so a
 * REGISTER to the registrar's port and a call to its domain find the same
 * bindings. */
START_TEST(registrar_aor_port_ignored)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.to = "<sip:bob@example.com:5060>",
                               .headers = "Contact: <sip:bob@192.0.2.1>\r\n")),
                   200);
  ck_assert_int_eq(fetch(&w, "<sip:bob@example.com>"), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=3600");
  ck_assert_int_eq(fetch(&w, "<sip:bob@example.com:5070>"), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=3600");
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 5: the AOR is canonical (URI parameters dropped, host
 * without case): To <sip:Bob@EXAMPLE.com;user=phone> and a later fetch with
 * To <sip:Bob@example.com> see the same bindings; the user part keeps its
 * case (19.1.4), so sip:bob@ is another AOR. */
START_TEST(registrar_aor_canonical)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.to = "<sip:Bob@EXAMPLE.com;user=phone>",
                               .headers = "Contact: <sip:bob@192.0.2.1>\r\nExpires: 3600\r\n")),
                   200);
  ck_assert_int_eq(fetch(&w, "<sip:Bob@example.com>"), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=3600");
  ck_assert_int_eq(fetch(&w, "<sip:bob@example.com>"), 200);
  NO_CONTACTS(last(&w));
  world_fini(&w);
}
END_TEST

/* ---- register, refresh, fetch ------------------------------------------------------ */

/* RFC 3261 10.3 step 8: one Contact with Expires: 3600: 200 listing it with
 * ;expires=3600 and a Date (20.17, RFC 1123 form in GMT, the wall clock);
 * 8.2.6.2: From, Call-ID, CSeq and Via copied, To with a tag added. */
START_TEST(registrar_register_one_200)
{
  world w;
  sipsrv_msg *m;
  sipsrv_addr to, from;
  sipsrv_via via;
  uint32_t seq = 0;
  const char *meth = NULL;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.call_id = "one@127.0.0.1", .cseq = 7,
                               .headers = "Contact: <sip:bob@192.0.2.1:5060>\r\n"
                                          "Expires: 3600\r\n")),
                   200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1:5060>;expires=3600");
  wire_has(last(&w), "Date: " WALL0_DATE);
  m = last_rsp(&w);
  hdr_eq(m, "Date", WALL0_DATE);
  ck_assert_str_eq(sipsrv_msg_call_id(m), "one@127.0.0.1");
  ck_assert_int_eq(sipsrv_msg_cseq(m, &seq, &meth), 0);
  ck_assert_uint_eq(seq, 7);
  ck_assert_str_eq(meth, "REGISTER");
  ck_assert_int_eq(sipsrv_msg_from(m, &from), 0);
  ck_assert_str_eq(from.tag, "fb1");
  ck_assert_int_eq(sipsrv_msg_to(m, &to), 0);
  ck_assert_str_eq(to.uri.scheme, "sip");
  ck_assert_str_eq(to.uri.user, "bob");
  ck_assert_str_eq(to.uri.host, "example.com");
  ck_assert_ptr_nonnull(to.tag);
  ck_assert_uint_gt(strlen(to.tag), 0);
  ck_assert_int_eq(sipsrv_msg_via_count(m), 1);
  ck_assert_int_eq(sipsrv_msg_via(m, 0, &via), 0);
  ck_assert_str_eq(via.branch, "z9hG4bKreg1");
  sipsrv_msg_free(m);

  /* The Date follows the wall clock. */
  w.wall.now_ms += 86400000ull + 3723000ull;
  ck_assert_int_eq(fetch(&w, NULL), 200);
  wire_has(last(&w), "Date: Thu, 19 Nov 2026 12:08:43 GMT");
  NO_CONTACTS(last(&w));
  world_fini(&w);
}
END_TEST

/* Many Contacts in one REGISTER (RFC 3261 10.3 step 7): 64 are all bound
 * and all listed in the 200; a 65th is more than the registrar keeps per
 * request: 403, nothing bound. */
START_TEST(registrar_register_64_contacts)
{
  world w;
  sipsrv_registrar_cfg cfg = SIPSRV_REGISTRAR_CFG_INIT;
  char hdrs[3500];
  size_t at = 0;
  const char *p;
  int n = 0;

  cfg.max_bindings = 100;
  world_new(&w, &cfg);
  for (int i = 0; i < 65; i++)
    at += (size_t)snprintf(hdrs + at, sizeof hdrs - at, "Contact: <sip:b%d@192.0.2.1>\r\n", i);
  ck_assert_int_eq(reg(&w, REG(.call_id = "many@127.0.0.1", .headers = hdrs)), 403);
  ck_assert_int_eq(fetch(&w, NULL), 200);
  NO_CONTACTS(last(&w));
  *strstr(hdrs, "Contact: <sip:b64@") = '\0';
  ck_assert_int_eq(reg(&w, REG(.call_id = "many@127.0.0.1", .cseq = 2, .headers = hdrs)), 200);
  for (p = last(&w)->data; (p = strstr(p, "\r\nContact: ")) != NULL; p++)
    n++;
  ck_assert_int_eq(n, 64);
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 7: the same Call-ID with a higher CSeq refreshes the
 * binding: its expires is the new one. */
START_TEST(registrar_register_refresh)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.cseq = 1, .headers = "Contact: <sip:bob@192.0.2.1>\r\n"
                                                     "Expires: 3600\r\n")),
                   200);
  w.wall.now_ms += 100000;
  ck_assert_int_eq(reg(&w, REG(.cseq = 2, .headers = "Contact: <sip:bob@192.0.2.1>\r\n"
                                                     "Expires: 1800\r\n")),
                   200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=1800");
  ck_assert_int_eq(fetch(&w, NULL), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=1800");
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 7: the same Call-ID with the same or a lower CSeq:
 * the update fails (500) and the binding is unchanged. */
START_TEST(registrar_register_cseq_not_higher_500)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.cseq = 5, .headers = "Contact: <sip:bob@192.0.2.1>\r\n"
                                                     "Expires: 3600\r\n")),
                   200);
  ck_assert_int_eq(reg(&w, REG(.cseq = 5, .headers = "Contact: <sip:bob@192.0.2.1>\r\n"
                                                     "Expires: 1800\r\n")),
                   500);
  NO_CONTACTS(last(&w));
  ck_assert_int_eq(reg(&w, REG(.cseq = 4, .headers = "Contact: <sip:bob@192.0.2.1>\r\n"
                                                     "Expires: 0\r\n")),
                   500);
  ck_assert_int_eq(fetch(&w, NULL), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=3600");
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 7: a different Call-ID replaces the binding whatever
 * its CSeq. */
START_TEST(registrar_register_other_callid_replaces)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.cseq = 5, .headers = "Contact: <sip:bob@192.0.2.1>\r\n"
                                                     "Expires: 3600\r\n")),
                   200);
  ck_assert_int_eq(reg(&w, REG(.cseq = 1, .call_id = "other@127.0.0.1",
                               .headers = "Contact: <sip:bob@192.0.2.1>\r\n"
                                          "Expires: 1200\r\n")),
                   200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=1200");
  /* Now the binding belongs to the new Call-ID: its CSeq 1 is the bar. */
  ck_assert_int_eq(reg(&w, REG(.cseq = 1, .call_id = "other@127.0.0.1",
                               .headers = "Contact: <sip:bob@192.0.2.1>\r\n"
                                          "Expires: 600\r\n")),
                   500);
  ck_assert_int_eq(fetch(&w, NULL), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=1200");
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 8 (10.2.3): a REGISTER without Contact fetches: 200
 * listing every current binding with what remains of its expires, and
 * stores nothing. */
START_TEST(registrar_register_fetch_remaining)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.1>\r\n"
                                          "Contact: <sip:bob@192.0.2.2>;expires=7200\r\n"
                                          "Expires: 3600\r\n")),
                   200);
  w.wall.now_ms += 1000000;
  ck_assert_int_eq(fetch(&w, NULL), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=2600",
           "Contact: <sip:bob@192.0.2.2>;expires=6200");
  wire_has(last(&w), "Date: Wed, 18 Nov 2026 11:23:20 GMT");
  world_fini(&w);
}
END_TEST

/* RFC 3261 17.2.2: a retransmitted REGISTER (same branch) gets the same
 * 200 again from the transaction, not a 500 for a CSeq that is not higher
 * (10.3 step 7 runs once). */
START_TEST(registrar_register_retransmission)
{
  world w;
  char buf[4096];
  size_t n;

  world_new(&w, NULL);
  n = build_reg(&w, buf, sizeof buf, REG(.headers = "Contact: <sip:bob@192.0.2.1>\r\n"));
  ck_assert_int_eq(send_raw_status(&w, buf, n), 200);
  ck_assert_int_eq(send_raw_status(&w, buf, n), 200);
  ck_assert_uint_eq(w.udp.sent[0].len, w.udp.sent[1].len);
  ck_assert_int_eq(memcmp(w.udp.sent[0].data, w.udp.sent[1].data, w.udp.sent[0].len), 0);
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 7: a contact is looked up among the bindings "using
 * the URI comparison rules" (19.1.4): the host has no case, so
 * <sip:bob@HOST5.example.com> and <sip:bob@host5.example.com> are one
 * binding, and expires=0 on the second removes the first. */
START_TEST(registrar_register_contact_uri_compare)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@HOST5.example.com>\r\n")), 200);
  ck_assert_int_eq(reg(&w, REG(.cseq = 2,
                               .headers = "Contact: <sip:bob@host5.example.com>;expires=0\r\n")),
                   200);
  NO_CONTACTS(last(&w));
  ck_assert_int_eq(fetch(&w, NULL), 200);
  NO_CONTACTS(last(&w));
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 5: the canonical AOR has its escaped characters
 * "converted to their unescaped form": To <sip:%62ob@example.com> is the
 * AOR sip:bob@example.com. */
START_TEST(registrar_aor_unescaped)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.to = "<sip:%62ob@example.com>",
                               .headers = "Contact: <sip:bob@192.0.2.1>\r\n")),
                   200);
  ck_assert_int_eq(fetch(&w, "<sip:bob@example.com>"), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=3600");
  world_fini(&w);
}
END_TEST

/* ---- expires --------------------------------------------------------------------------- */

/* RFC 3261 10.3 step 7: the contact's expires parameter overrides the
 * Expires header. */
START_TEST(registrar_expires_param_overrides)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.1>;expires=120\r\n"
                                          "Contact: <sip:bob@192.0.2.2>\r\n"
                                          "Expires: 600\r\n")),
                   200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=120",
           "Contact: <sip:bob@192.0.2.2>;expires=600");
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 7: neither parameter nor header: the default (3600). */
START_TEST(registrar_expires_default)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.1>\r\n")), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=3600");
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 7 (10.2.8): below the minimum: 423 with Min-Expires:
 * 60 (the default), and nothing stored. */
START_TEST(registrar_expires_min_423)
{
  world w;
  sipsrv_msg *m;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.1>\r\nExpires: 10\r\n")),
                   423);
  m = last_rsp(&w);
  hdr_eq(m, "Min-Expires", "60");
  sipsrv_msg_free(m);
  wire_has(last(&w), "Min-Expires: 60");
  /* Also through the contact parameter. */
  ck_assert_int_eq(reg(&w, REG(.cseq = 2, .headers = "Contact: <sip:bob@192.0.2.1>;expires=59\r\n")),
                   423);
  wire_has(last(&w), "Min-Expires: 60");
  ck_assert_int_eq(fetch(&w, NULL), 200);
  NO_CONTACTS(last(&w));
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 7: above the maximum: shortened to it (86400). */
START_TEST(registrar_expires_max_clamped)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.1>\r\nExpires: 999999\r\n")),
                   200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=86400");
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 7: a contact with expires=0 removes that binding only. */
START_TEST(registrar_expires_zero_removes)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.1>\r\n"
                                          "Contact: <sip:bob@192.0.2.2>\r\n"
                                          "Expires: 3600\r\n")),
                   200);
  ck_assert_int_eq(reg(&w, REG(.cseq = 2, .headers = "Contact: <sip:bob@192.0.2.1>;expires=0\r\n")),
                   200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.2>;expires=3600");
  ck_assert_int_eq(fetch(&w, NULL), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.2>;expires=3600");
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 7 (10.2.1.1): a binding lasts until its expiry on the
 * wall clock: one ms past it a fetch lists nothing, and
 * sipsrv_store_expire() drops it (one binding). */
START_TEST(registrar_expires_by_clock)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.1>\r\nExpires: 60\r\n")),
                   200);
  w.wall.now_ms += 59999;
  ck_assert_int_eq(fetch(&w, NULL), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=1");
  ck_assert_int_eq(sipsrv_store_expire(w.store, (int64_t)w.wall.now_ms), 0);
  w.wall.now_ms += 2;
  ck_assert_int_eq(fetch(&w, NULL), 200);
  NO_CONTACTS(last(&w));
  ck_assert_int_eq(sipsrv_store_expire(w.store, (int64_t)w.wall.now_ms), 1);
  ck_assert_int_eq(sipsrv_store_expire(w.store, (int64_t)w.wall.now_ms), 0);
  ck_assert_int_eq(fetch(&w, NULL), 200);
  NO_CONTACTS(last(&w));
  world_fini(&w);
}
END_TEST

/* ---- q ----------------------------------------------------------------------------- */

/* RFC 3261 10.3 step 7 (20.10): the q-value is stored and listed with three
 * decimals; no q, no q in the listing. */
START_TEST(registrar_q_listed)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.1>;q=0.5\r\n"
                                          "Contact: <sip:bob@192.0.2.2>;q=1\r\n"
                                          "Contact: <sip:bob@192.0.2.3>\r\n"
                                          "Expires: 3600\r\n")),
                   200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=3600;q=0.500",
           "Contact: <sip:bob@192.0.2.2>;expires=3600;q=1.000",
           "Contact: <sip:bob@192.0.2.3>;expires=3600");
  ck_assert_int_eq(fetch(&w, NULL), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=3600;q=0.500",
           "Contact: <sip:bob@192.0.2.2>;expires=3600;q=1.000",
           "Contact: <sip:bob@192.0.2.3>;expires=3600");
  /* RFC 3261 20.10: q above 1 is malformed. */
  ck_assert_int_eq(reg(&w, REG(.cseq = 2, .headers = "Contact: <sip:bob@192.0.2.4>;q=1.5\r\n")),
                   400);
  world_fini(&w);
}
END_TEST

/* ---- Contact: * ------------------------------------------------------------------- */

/* RFC 3261 10.3 step 6: Contact * with Expires: 0 removes every binding:
 * 200 without Contact. */
START_TEST(registrar_star_removes_all)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.1>\r\n"
                                          "Contact: <sip:bob@192.0.2.2>\r\n")),
                   200);
  ck_assert_int_eq(reg(&w, REG(.cseq = 2, .headers = "Contact: *\r\nExpires: 0\r\n")), 200);
  NO_CONTACTS(last(&w));
  wire_has(last(&w), "Date: " WALL0_DATE);
  ck_assert_int_eq(fetch(&w, NULL), 200);
  NO_CONTACTS(last(&w));
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 6: * without Expires: 0 (none, or another value): 400,
 * the bindings kept. */
START_TEST(registrar_star_without_expires0_400)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.1>\r\n")), 200);
  ck_assert_int_eq(reg(&w, REG(.cseq = 2, .headers = "Contact: *\r\n")), 400);
  ck_assert_int_eq(reg(&w, REG(.cseq = 3, .headers = "Contact: *\r\nExpires: 3600\r\n")), 400);
  ck_assert_int_eq(fetch(&w, NULL), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=3600");
  world_fini(&w);
}
END_TEST

/* RFC 3261 10.3 step 6: * with another Contact (either order): 400. */
START_TEST(registrar_star_with_other_400)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.1>\r\n")), 200);
  ck_assert_int_eq(reg(&w, REG(.cseq = 2, .headers = "Contact: *\r\n"
                                                     "Contact: <sip:bob@192.0.2.2>\r\n"
                                                     "Expires: 0\r\n")),
                   400);
  ck_assert_int_eq(reg(&w, REG(.cseq = 3, .headers = "Contact: <sip:bob@192.0.2.2>\r\n"
                                                     "Contact: *\r\n"
                                                     "Expires: 0\r\n")),
                   400);
  ck_assert_int_eq(fetch(&w, NULL), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=3600");
  world_fini(&w);
}
END_TEST

/* ---- Path ------------------------------------------------------------------------------ */

/* RFC 3327 5.3: the Path is stored and echoed in the 200 with
 * Supported: path. */
START_TEST(registrar_path_echo)
{
  world w;
  sipsrv_msg *m;

  world_new(&w, NULL);
  ck_assert_int_eq(reg(&w, REG(.headers = "Path: <sip:edge.example.com;lr>\r\n"
                                          "Contact: <sip:bob@192.0.2.1>\r\n"
                                          "Expires: 3600\r\n")),
                   200);
  wire_has(last(&w), "Path: <sip:edge.example.com;lr>");
  wire_has(last(&w), "Supported: path");
  m = last_rsp(&w);
  hdr_eq(m, "Path", "<sip:edge.example.com;lr>");
  hdr_eq(m, "Supported", "path");
  sipsrv_msg_free(m);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=3600");
  world_fini(&w);
}
END_TEST

/* ---- max bindings ------------------------------------------------------------------------ */

/* registrar.h: past max_bindings the request is rejected (403), the
 * bindings kept. */
START_TEST(registrar_max_bindings_403)
{
  world w;
  sipsrv_registrar_cfg cfg = SIPSRV_REGISTRAR_CFG_INIT;

  cfg.max_bindings = 2;
  world_new(&w, &cfg);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.1>\r\n")), 200);
  ck_assert_int_eq(reg(&w, REG(.cseq = 2, .headers = "Contact: <sip:bob@192.0.2.2>\r\n")), 200);
  ck_assert_int_eq(reg(&w, REG(.cseq = 3, .headers = "Contact: <sip:bob@192.0.2.3>\r\n")), 403);
  ck_assert_int_eq(fetch(&w, NULL), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=3600",
           "Contact: <sip:bob@192.0.2.2>;expires=3600");
  /* A refresh of an existing one is no new binding. */
  ck_assert_int_eq(reg(&w, REG(.cseq = 4, .headers = "Contact: <sip:bob@192.0.2.1>\r\n")), 200);
  world_fini(&w);
}
END_TEST

/* registrar.h: with evict_oldest the least recently updated binding goes:
 * the 200 lists two, the newest ones. */
START_TEST(registrar_max_bindings_evict)
{
  world w;
  sipsrv_registrar_cfg cfg = SIPSRV_REGISTRAR_CFG_INIT;

  cfg.max_bindings = 2;
  cfg.evict_oldest = 1;
  world_new(&w, &cfg);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.1>\r\n")), 200);
  w.wall.now_ms += 10000;
  ck_assert_int_eq(reg(&w, REG(.cseq = 2, .headers = "Contact: <sip:bob@192.0.2.2>\r\n")), 200);
  w.wall.now_ms += 10000;
  /* .1 refreshed: now .2 is the least recently updated. */
  ck_assert_int_eq(reg(&w, REG(.cseq = 3, .headers = "Contact: <sip:bob@192.0.2.1>\r\n")), 200);
  w.wall.now_ms += 10000;
  ck_assert_int_eq(reg(&w, REG(.cseq = 4, .headers = "Contact: <sip:bob@192.0.2.3>\r\n")), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=3590",
           "Contact: <sip:bob@192.0.2.3>;expires=3600");
  ck_assert_int_eq(fetch(&w, NULL), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=3590",
           "Contact: <sip:bob@192.0.2.3>;expires=3600");
  world_fini(&w);
}
END_TEST

/* ---- RFC 4475 REGISTER messages ---------------------------------------------------------- */

/* Send an RFC 4475 message (its Request-URI and To are in example.com
 * already); its status. */
static int send_torture(world *w, const char *name)
{
  char path[1024];
  size_t len = 0;
  char *msg;
  int st;

  snprintf(path, sizeof path, "%s/rfc4475/%s", conformance_dir(), name);
  msg = read_file(path, &len);
  ck_assert_msg(msg != NULL, "cannot read %s", path);
  ck_assert_ptr_nonnull(strstr(msg, "REGISTER sip:example.com SIP/2.0\r\n"));
  st = send_raw_status(w, msg, len);
  free(msg);
  return st;
}

/* An RFC 4475 REGISTER of one contact: the 200 lists it as contact, and so
 * does a fetch of aor afterwards. */
static void torture_keeps(const char *name, const char *aor, const char *contact)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(send_torture(&w, name), 200);
  CONTACTS(last(&w), contact);
  ck_assert_int_eq(fetch(&w, aor), 200);
  CONTACTS(last(&w), contact);
  world_fini(&w);
}

/* RFC 4475 3.3.12 (cparam01): Contact without <>: unknownparam is a header
 * parameter, kept as such (after the >) in the listing. */
START_TEST(registrar_rfc4475_cparam01)
{
  torture_keeps("cparam01.dat", "<sip:watson@example.com>",
                "Contact: <sip:+19725552222@gw1.example.net>;expires=3600;unknownparam");
}
END_TEST

/* RFC 4475 3.3.13 (cparam02): Contact with <>: unknownparam is a URI
 * parameter, kept inside the <>. */
START_TEST(registrar_rfc4475_cparam02)
{
  torture_keeps("cparam02.dat", "<sip:watson@example.com>",
                "Contact: <sip:+19725552222@gw1.example.net;unknownparam>;expires=3600");
}
END_TEST

/* RFC 4475 3.3.14 (regescrt): the escaped Route header of the Contact URI
 * is part of the contact and kept as sent. */
START_TEST(registrar_rfc4475_regescrt)
{
  torture_keeps("regescrt.dat", "<sip:user@example.com>",
                "Contact: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>;expires=3600");
}
END_TEST

/* RFC 4475 3.1.1.4 (escnull): %00 in the AOR and the contacts: two
 * distinct bindings, escapes kept. */
START_TEST(registrar_rfc4475_escnull)
{
  world w;

  world_new(&w, NULL);
  ck_assert_int_eq(send_torture(&w, "escnull.dat"), 200);
  CONTACTS(last(&w), "Contact: <sip:%00@host5.example.com>;expires=3600",
           "Contact: <sip:%00%00@host5.example.com>;expires=3600");
  ck_assert_int_eq(fetch(&w, "<sip:null-%00-null@example.com>"), 200);
  CONTACTS(last(&w), "Contact: <sip:%00@host5.example.com>;expires=3600",
           "Contact: <sip:%00%00@host5.example.com>;expires=3600");
  /* The %00 does not cut the AOR: sip:null-@example.com is another one. */
  ck_assert_int_eq(fetch(&w, "<sip:null-@example.com>"), 200);
  NO_CONTACTS(last(&w));
  world_fini(&w);
}
END_TEST

/* ---- store failures ------------------------------------------------------------------------ */

/* A store over the memory store whose put (or get) fails on demand. */
typedef struct flaky {
  sipsrv_store *mem;
  int fail_put;           /* 1: done(SIPSRV_E_STORE); 2: return SIPSRV_E_STORE */
  int fail_get;           /* likewise for get */
  unsigned puts;
} flaky;

static int flaky_get(void *user, const char *aor, int64_t now_ms, sipsrv_store_get_cb done,
                     void *ctx)
{
  flaky *f = user;
  if (f->fail_get == 1) {
    done(ctx, SIPSRV_E_STORE, NULL, 0);
    return 0;
  }
  if (f->fail_get == 2)
    return SIPSRV_E_STORE;
  return sipsrv_store_get(f->mem, aor, now_ms, done, ctx);
}

static int flaky_put(void *user, const char *aor, const sipsrv_binding *b, size_t n,
                     sipsrv_store_done_cb done, void *ctx)
{
  flaky *f = user;
  f->puts++;
  if (f->fail_put == 1) {
    done(ctx, SIPSRV_E_STORE);
    return 0;
  }
  if (f->fail_put == 2)
    return SIPSRV_E_STORE;
  return sipsrv_store_put(f->mem, aor, b, n, done, ctx);
}

static void flaky_destroy(void *user)
{
  flaky *f = user;
  sipsrv_store_free(f->mem);
}

static const struct sipsrv_store_ops flaky_ops = {
  SIPSRV_STORE_OPS_VERSION, sizeof(struct sipsrv_store_ops),
  flaky_get, flaky_put, NULL, NULL, flaky_destroy, NULL, NULL
};

static void world_flaky(world *w, flaky *f)
{
  sipsrv_registrar_cfg cfg;

  world_core(w, true);
  memset(f, 0, sizeof *f);
  ck_assert_int_eq(sipsrv_store_memory_new(&f->mem, w->core), 0);
  ck_assert_int_eq(sipsrv_store_new(&w->store, &flaky_ops, f), 0);
  cfg = base_cfg(w);
  ck_assert_int_eq(sipsrv_registrar_new(&w->reg, w->core, &cfg), 0);
}

/* registrar.h (ARCHITECTURE.md): a failed put (reported through its
 * callback, or refused at once): 500 with Retry-After, the old bindings
 * kept. */
START_TEST(registrar_store_put_fails_500)
{
  world w;
  flaky f;
  sipsrv_msg *m;

  world_flaky(&w, &f);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.1>\r\n")), 200);
  for (int mode = 1; mode <= 2; mode++) {
    unsigned puts = f.puts;
    f.fail_put = mode;
    ck_assert_int_eq(reg(&w, REG(.cseq = 1 + (unsigned)mode,
                                 .headers = "Contact: <sip:bob@192.0.2.2>\r\n")),
                     500);
    ck_assert_uint_eq(f.puts, puts + 1);
    m = last_rsp(&w);
    hdr_eq(m, "Retry-After", "5");
    sipsrv_msg_free(m);
    NO_CONTACTS(last(&w));
  }
  f.fail_put = 0;
  ck_assert_int_eq(fetch(&w, NULL), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=3600");
  world_fini(&w);
}
END_TEST

/* registrar.h: a failed get: 500 with Retry-After, nothing put. */
START_TEST(registrar_store_get_fails_500)
{
  world w;
  flaky f;
  sipsrv_msg *m;

  world_flaky(&w, &f);
  for (int mode = 1; mode <= 2; mode++) {
    f.fail_get = mode;
    ck_assert_int_eq(reg(&w, REG(.cseq = (unsigned)mode,
                                 .headers = "Contact: <sip:bob@192.0.2.2>\r\n")),
                     500);
    m = last_rsp(&w);
    hdr_eq(m, "Retry-After", "5");
    sipsrv_msg_free(m);
  }
  ck_assert_uint_eq(f.puts, 0);
  world_fini(&w);
}
END_TEST

/* A Contact URI longer than the registrar keeps (2 KB): 400, nothing
 * stored; one just under the limit is stored whole, not cut (Sofia's
 * url_e leaves a cut URI unterminated: SOFIA-NOTES). */
START_TEST(registrar_contact_uri_too_long_400)
{
  static char hdr[2200];
  world w;

  world_new(&w, NULL);
  snprintf(hdr, sizeof hdr, "Contact: <sip:bob@192.0.2.2;x=%02100d>\r\n", 7);
  ck_assert_int_eq(reg(&w, REG(.headers = hdr)), 400);
  ck_assert_int_eq(strncmp(last(&w)->data, "SIP/2.0 400 Contact URI Too Long\r\n", 34), 0);
  ck_assert_int_eq(fetch(&w, NULL), 200);
  NO_CONTACTS(last(&w));
  snprintf(hdr, sizeof hdr, "Contact: <sip:bob@192.0.2.2;x=%02000d>\r\n", 7);
  ck_assert_int_eq(reg(&w, REG(.cseq = 2, .headers = hdr)), 200);
  {
    static char want[2100];
    snprintf(want, sizeof want, "\r\nContact: <sip:bob@192.0.2.2;x=%02000d>;expires=3600\r\n", 7);
    ck_assert_ptr_nonnull(strstr(last(&w)->data, want));
  }
  world_fini(&w);
}
END_TEST

/* ARCHITECTURE.md, store.h: with the SQLite store, a write that fails at run
 * time (the disk full) answers 500 with Retry-After; the AOR keeps its
 * binding, other AORs keep theirs, and once there is room it works again. */
START_TEST(registrar_sqlite_write_fails_500)
{
  sipsrv_store_sqlite_cfg scfg = SIPSRV_STORE_SQLITE_CFG_INIT;
  sipsrv_registrar_cfg cfg;
  char path[64];
  sqlite3 *db;
  world w;

  snprintf(path, sizeof path, "/tmp/sipsrv-reg-%d.db", (int)getpid());
  unlink(path);
  world_core(&w, true);
  scfg.path = path;
  scfg.durable = 0;
  ck_assert_int_eq(sipsrv_store_sqlite_new(&w.store, w.core, &scfg), 0);
  cfg = base_cfg(&w);
  ck_assert_int_eq(sipsrv_registrar_new(&w.reg, w.core, &cfg), 0);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.1>\r\n")), 200);
  ck_assert_int_eq(reg(&w, REG(.to = "<sip:alice@example.com>", .call_id = "a1",
                               .headers = "Contact: <sip:alice@192.0.2.9>\r\n")), 200);
  db = ss_store_sqlite_db(w.store);
  ck_assert_int_eq(sqlite3_exec(db, "PRAGMA max_page_count = 1", NULL, NULL, NULL), SQLITE_OK);
  {
    static char hdr[2100];
    /* A contact too big for the room left (the rest of the REGISTER is normal). */
    snprintf(hdr, sizeof hdr, "Contact: <sip:bob@192.0.2.2;x=%01900d>\r\n", 1);
    ck_assert_int_eq(reg(&w, REG(.cseq = 2, .headers = hdr)), 500);
  }
  {
    sipsrv_msg *m = last_rsp(&w);
    hdr_eq(m, "Retry-After", "5");
    sipsrv_msg_free(m);
  }
  ck_assert_int_eq(fetch(&w, NULL), 200);
  CONTACTS(last(&w), "Contact: <sip:bob@192.0.2.1>;expires=3600");
  ck_assert_int_eq(fetch(&w, "<sip:alice@example.com>"), 200);
  CONTACTS(last(&w), "Contact: <sip:alice@192.0.2.9>;expires=3600");
  ck_assert_int_eq(sqlite3_exec(db, "PRAGMA max_page_count = 1000000", NULL, NULL, NULL), SQLITE_OK);
  ck_assert_int_eq(reg(&w, REG(.cseq = 3, .headers = "Contact: <sip:bob@192.0.2.3>\r\n")), 200);
  world_fini(&w);
  unlink(path);
}
END_TEST

/* Storage faults at run time (ARCHITECTURE.md, store.h), each REGISTER
 * answered 500 with Retry-After meanwhile and the registrar working again
 * without a restart once the fault goes; logged once when the store
 * starts failing and once when it works again, not for every REGISTER:
 * the file made read-only (PRAGMA query_only, as a read-only remount), the
 * database locked by another process past the busy timeout, the disk full. */
START_TEST(registrar_sqlite_faults_logged_once)
{
  sipsrv_store_sqlite_cfg scfg = SIPSRV_STORE_SQLITE_CFG_INIT;
  sipsrv_registrar_cfg cfg;
  char path[64], hdr[2100];
  sqlite3 *db, *other;
  unsigned cseq = 1;
  world w;

  snprintf(path, sizeof path, "/tmp/sipsrv-regf-%d.db", (int)getpid());
  unlink(path);
  world_core(&w, true);
  tlogcount log = { "location store failing", "location store works again", 0, 0 };
  ck_assert_int_eq(sipsrv_core_set_log(w.core, tlog_count, SIPSRV_LOG_WARN, &log), 0);
  scfg.path = path;
  scfg.durable = 0;
  scfg.busy_timeout_ms = 20;
  ck_assert_int_eq(sipsrv_store_sqlite_new(&w.store, w.core, &scfg), 0);
  cfg = base_cfg(&w);
  ck_assert_int_eq(sipsrv_registrar_new(&w.reg, w.core, &cfg), 0);
  ck_assert_int_eq(reg(&w, REG(.cseq = cseq++, .headers = "Contact: <sip:bob@192.0.2.1>\r\n")), 200);
  db = ss_store_sqlite_db(w.store);

  /* Read-only: three REGISTERs fail, one log line. */
  ck_assert_int_eq(sqlite3_exec(db, "PRAGMA query_only = ON", NULL, NULL, NULL), SQLITE_OK);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(reg(&w, REG(.cseq = cseq++, .headers = "Contact: <sip:bob@192.0.2.2>\r\n")), 500);
    wire_has(last(&w), "Retry-After: 5");
  }
  ck_assert_int_eq(log.nfail, 1);
  ck_assert_int_eq(sqlite3_exec(db, "PRAGMA query_only = OFF", NULL, NULL, NULL), SQLITE_OK);
  ck_assert_int_eq(reg(&w, REG(.cseq = cseq++, .headers = "Contact: <sip:bob@192.0.2.3>\r\n")), 200);
  ck_assert_int_eq(log.nback, 1);

  /* Locked by another connection past the busy timeout. */
  ck_assert_int_eq(sqlite3_open(path, &other), SQLITE_OK);
  ck_assert_int_eq(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
  ck_assert_int_eq(reg(&w, REG(.cseq = cseq++, .headers = "Contact: <sip:bob@192.0.2.4>\r\n")), 500);
  ck_assert_int_eq(reg(&w, REG(.cseq = cseq++, .headers = "Contact: <sip:bob@192.0.2.4>\r\n")), 500);
  ck_assert_int_eq(log.nfail, 2);
  ck_assert_int_eq(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(other);
  ck_assert_int_eq(reg(&w, REG(.cseq = cseq++, .headers = "Contact: <sip:bob@192.0.2.5>\r\n")), 200);
  ck_assert_int_eq(log.nback, 2);

  /* The disk full. */
  ck_assert_int_eq(sqlite3_exec(db, "PRAGMA max_page_count = 1", NULL, NULL, NULL), SQLITE_OK);
  snprintf(hdr, sizeof hdr, "Contact: <sip:bob@192.0.2.6;x=%01900d>\r\n", 1);
  ck_assert_int_eq(reg(&w, REG(.cseq = cseq++, .headers = hdr)), 500);
  ck_assert_int_eq(log.nfail, 3);
  ck_assert_int_eq(sqlite3_exec(db, "PRAGMA max_page_count = 1000000", NULL, NULL, NULL), SQLITE_OK);
  ck_assert_int_eq(reg(&w, REG(.cseq = cseq++, .headers = "Contact: <sip:bob@192.0.2.7>\r\n")), 200);
  ck_assert_int_eq(log.nback, 3);
  /* The bindings are the last ones stored: nothing was lost on the way. */
  ck_assert_int_eq(fetch(&w, NULL), 200);
  ck_assert_ptr_nonnull(strstr(last(&w)->data, "<sip:bob@192.0.2.7>"));
  world_fini(&w);
  unlink(path);
}
END_TEST

/* ---- suite ------------------------------------------------------------------------------- */

/* ---- flood protection (sipsrv_core_set_limits) ------------------------------- */

static void limits(world *w, uint32_t src_rate, uint32_t src_burst, uint32_t user_rate, int drop)
{
  sipsrv_limits l = SIPSRV_LIMITS_INIT;
  l.source_rate = src_rate;
  l.source_burst = src_burst;
  l.user_rate = user_rate;
  l.drop = drop;
  ck_assert_int_eq(sipsrv_core_set_limits(w->core, &l, sizeof l), 0);
}

static uint64_t counter_rate_limited(world *w)
{
  sipsrv_counters c;
  ck_assert_int_eq(sipsrv_core_counters(w->core, &c, sizeof c), 0);
  return c.rate_limited;
}

/* A source over its rate: 503 with Retry-After (RFC 3261 21.5.4), counted;
 * a second later its bucket has room again. */
START_TEST(registrar_limit_source_503)
{
  world w;
  world_new(&w, NULL);
  ck_assert_int_eq(sipsrv_core_set_limits(NULL, NULL, 0), SIPSRV_E_INVAL);
  limits(&w, 2, 3, 0, 0);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(reg(&w, REG(.cseq = (unsigned)i + 1, .headers = "Contact: <sip:bob@192.0.2.4>\r\n")), 200);
  ck_assert_int_eq(reg(&w, REG(.cseq = 4, .headers = "Contact: <sip:bob@192.0.2.4>\r\n")), 503);
  wire_has(last(&w), "Retry-After: 1");
  ck_assert_uint_eq(counter_rate_limited(&w), 1);
  tclock_advance(&w.clock, 1000);
  ck_assert_int_eq(reg(&w, REG(.cseq = 5, .headers = "Contact: <sip:bob@192.0.2.4>\r\n")), 200);
  /* No limits again. */
  ck_assert_int_eq(sipsrv_core_set_limits(w.core, NULL, 0), 0);
  for (int i = 0; i < 10; i++)
    ck_assert_int_eq(reg(&w, REG(.cseq = (unsigned)i + 6)), 200);
  world_fini(&w);
}
END_TEST

/* A user over its rate, whatever the source. */
START_TEST(registrar_limit_user_503)
{
  world w;
  world_new(&w, NULL);
  limits(&w, 0, 0, 1, 0);
  ck_assert_int_eq(reg(&w, REG(.cseq = 1)), 200);
  ck_assert_int_eq(reg(&w, REG(.cseq = 2)), 503);
  ck_assert_uint_eq(counter_rate_limited(&w), 1);
  world_fini(&w);
}
END_TEST

/* With drop, a request over the limit gets nothing, and neither does its
 * retransmission; both are counted. */
START_TEST(registrar_limit_drop)
{
  world w;
  char buf[4096];
  size_t n;
  world_new(&w, NULL);
  limits(&w, 1, 1, 0, 1);
  ck_assert_int_eq(reg(&w, REG(.cseq = 1)), 200);
  n = build_reg(&w, buf, sizeof buf, REG(.cseq = 2));
  send_raw(&w, buf, n);
  send_raw(&w, buf, n);
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_uint_eq(counter_rate_limited(&w), 2);
  world_fini(&w);
}
END_TEST

/* ---- digest authentication (RFC 3261 22.4, 10.3 steps 3-4) -------------------- */

/* A registrar with auth_realm example.com offering algs (0: all) and user
 * bob (password "secret"). */
static void world_auth(world *w, unsigned algs)
{
  sipsrv_registrar_cfg c = SIPSRV_REGISTRAR_CFG_INIT;

  c.auth_realm = "example.com";
  c.auth_algs = algs;
  world_new(w, &c);
  ck_assert_int_eq(sipsrv_store_add_user(w->store, "bob", "example.com", "secret"), 0);
}

/* The nonce of the challenge for alg in the last response. */
static void nonce_of(const world *w, const char *alg, char nonce[SS_NONCE_LEN + 1])
{
  const char *d = last(w)->data, *line, *end, *n;
  char want[64];

  snprintf(want, sizeof want, "algorithm=%s,", alg);
  for (line = strstr(d, "WWW-Authenticate: "); line; line = strstr(line + 1, "WWW-Authenticate: ")) {
    end = strstr(line, "\r\n");
    n = strstr(line, "nonce=\"");
    if (end && n && n < end && strstr(line, want) && strstr(line, want) < end) {
      ck_assert_int_eq(n[7 + SS_NONCE_LEN], '"');
      memcpy(nonce, n + 7, SS_NONCE_LEN);
      nonce[SS_NONCE_LEN] = '\0';
      return;
    }
  }
  ck_abort_msg("no %s challenge in:\n%s", alg, d);
}

/* An Authorization line (with CRLF) for user/password answering nonce. */
static void auth_line(char *buf, size_t size, const char *alg, const char *user,
                      const char *password, const char *nonce, const char *uri, const char *nc)
{
  char a1[256], ha1[129], rsp[129];
  int k = (int)ss_digest_alg_parse(alg);

  ck_assert_int_ge(k, 0);
  snprintf(a1, sizeof a1, "%s:example.com:%s", user, password);
  ck_assert_int_eq(ss_digest_hex((ss_digest_alg)k, a1, strlen(a1), ha1), 0);
  ck_assert_int_eq(ss_digest_response((ss_digest_alg)k, ha1, "REGISTER", uri, nonce, nc, "0a4f113b",
                                      "auth", rsp), 0);
  ck_assert_int_lt(snprintf(buf, size,
                            "Authorization: Digest username=\"%s\", realm=\"example.com\", "
                            "nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=%s, qop=auth, "
                            "nc=%s, cnonce=\"0a4f113b\"\r\n",
                            user, nonce, uri, rsp, alg, nc), (int)size);
}

/* Send a REGISTER for to with Contact and credentials, Call-ID reg-1. */
static int reg_auth(world *w, const char *to, const char *alg, const char *user,
                    const char *password, const char *nonce, const char *nc)
{
  char h[2048], a[1024];
  auth_line(a, sizeof a, alg, user, password, nonce, "sip:example.com", nc);
  snprintf(h, sizeof h, "Contact: <sip:bob@192.0.2.4>\r\n%s", a);
  /* A CSeq above every earlier one (10.3 step 7: not higher is a 500). */
  return reg(w, REG(.to = to, .cseq = w->branches + 1, .headers = h));
}

/* Too many wrong passwords for a user from one source lock it out from
 * there (sipsrv_core_set_limits): 503 with Retry-After even with the right
 * password, counted; the lockout ends, and the right password registers. */
START_TEST(registrar_auth_lockout)
{
  world w;
  char nonce[SS_NONCE_LEN + 1];
  sipsrv_limits l = SIPSRV_LIMITS_INIT;
  sipsrv_counters c;

  world_auth(&w, SIPSRV_DIGEST_MD5);
  l.auth_failures = 3;
  l.auth_lockout_ms = 10000;
  ck_assert_int_eq(sipsrv_core_set_limits(w.core, &l, sizeof l), 0);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.4>\r\n")), 401);
  for (int i = 0; i < 3; i++) {
    nonce_of(&w, "MD5", nonce);
    ck_assert_int_eq(reg_auth(&w, NULL, "MD5", "bob", "guess", nonce, "00000001"), 401);
  }
  nonce_of(&w, "MD5", nonce);
  ck_assert_int_eq(reg_auth(&w, NULL, "MD5", "bob", "secret", nonce, "00000001"), 503);
  wire_has(last(&w), "Retry-After: 10");
  ck_assert_int_eq(sipsrv_core_counters(w.core, &c, sizeof c), 0);
  ck_assert_uint_eq(c.auth_failures, 3);
  ck_assert_uint_eq(c.auth_locked, 1);
  tclock_advance(&w.clock, 10000);
  ck_assert_int_eq(reg_auth(&w, NULL, "MD5", "bob", "secret", nonce, "00000002"), 200);
  world_fini(&w);
}
END_TEST

/* 22.4 / RFC 8760 2.4: no credentials -> 401, one challenge per algorithm,
 * strongest first, qop="auth"; nothing stored. */
START_TEST(registrar_auth_none_401)
{
  world w;
  const char *d, *a, *b, *c;
  char nonce[SS_NONCE_LEN + 1];

  world_auth(&w, 0);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.4>\r\n")), 401);
  d = last(&w)->data;
  a = strstr(d, "algorithm=SHA-512-256,");
  b = strstr(d, "algorithm=SHA-256,");
  c = strstr(d, "algorithm=MD5,");
  ck_assert(a && b && c && a < b && b < c);
  ck_assert_ptr_nonnull(strstr(d, "WWW-Authenticate: Digest realm=\"example.com\""));
  ck_assert_ptr_null(strstr(d, "stale"));
  /* Authenticated, the fetch shows that the 401 bound nothing. */
  nonce_of(&w, "MD5", nonce);
  {
    char h[1024];
    auth_line(h, sizeof h, "MD5", "bob", "secret", nonce, "sip:example.com", "00000001");
    ck_assert_int_eq(reg(&w, REG(.call_id = "f@x", .headers = h)), 200);
    NO_CONTACTS(last(&w));
  }
  world_fini(&w);
}
END_TEST

/* Each algorithm's correct response registers (RFC 7616 3.4.1, RFC 8760). */
START_TEST(registrar_auth_ok_each_alg)
{
  static const char *const algs[] = { "MD5", "SHA-256", "SHA-512-256" };
  world w;
  char nonce[SS_NONCE_LEN + 1];

  world_auth(&w, 0);
  for (size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.4>\r\n")), 401);
    nonce_of(&w, algs[i], nonce);
    ck_assert_int_eq(reg_auth(&w, NULL, algs[i], "bob", "secret", nonce, "00000001"), 200);
    wire_has(last(&w), "Contact: <sip:bob@192.0.2.4>;expires=3600");
  }
  world_fini(&w);
}
END_TEST

/* A wrong password and an unknown user both get a fresh challenge, alike. */
START_TEST(registrar_auth_wrong_401)
{
  world w;
  char nonce[SS_NONCE_LEN + 1];

  world_auth(&w, 0);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.4>\r\n")), 401);
  nonce_of(&w, "MD5", nonce);
  ck_assert_int_eq(reg_auth(&w, NULL, "MD5", "bob", "wrong", nonce, "00000001"), 401);
  ck_assert_ptr_nonnull(strstr(last(&w)->data, "WWW-Authenticate: Digest"));
  ck_assert_int_eq(reg_auth(&w, "<sip:eve@example.com>", "MD5", "eve", "secret", nonce, "00000002"),
                   401);
  world_fini(&w);
}
END_TEST

/* 10.3 step 4: bob may not register alice's AOR -> 403. */
START_TEST(registrar_auth_other_aor_403)
{
  world w;
  char nonce[SS_NONCE_LEN + 1];

  world_auth(&w, 0);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.4>\r\n")), 401);
  nonce_of(&w, "SHA-256", nonce);
  ck_assert_int_eq(reg_auth(&w, "<sip:alice@example.com>", "SHA-256", "bob", "secret", nonce,
                            "00000001"), 403);
  world_fini(&w);
}
END_TEST

/* RFC 7616 3.4.5: a replayed nonce count fails; the next one passes. */
START_TEST(registrar_auth_replay_401)
{
  world w;
  char nonce[SS_NONCE_LEN + 1];

  world_auth(&w, 0);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.4>\r\n")), 401);
  nonce_of(&w, "MD5", nonce);
  ck_assert_int_eq(reg_auth(&w, NULL, "MD5", "bob", "secret", nonce, "00000001"), 200);
  ck_assert_int_eq(reg_auth(&w, NULL, "MD5", "bob", "secret", nonce, "00000001"), 401);
  ck_assert_int_eq(reg_auth(&w, NULL, "MD5", "bob", "secret", nonce, "00000002"), 200);
  world_fini(&w);
}
END_TEST

/* RFC 7616 3.3: an expired nonce of ours -> 401 with stale=true. */
START_TEST(registrar_auth_stale)
{
  world w;
  char nonce[SS_NONCE_LEN + 1];

  world_auth(&w, 0);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.4>\r\n")), 401);
  nonce_of(&w, "MD5", nonce);
  w.wall.now_ms += 301000;
  ck_assert_int_eq(reg_auth(&w, NULL, "MD5", "bob", "secret", nonce, "00000001"), 401);
  ck_assert_ptr_nonnull(strstr(last(&w)->data, "stale=true"));
  nonce_of(&w, "MD5", nonce);
  ck_assert_int_eq(reg_auth(&w, NULL, "MD5", "bob", "secret", nonce, "00000001"), 200);
  world_fini(&w);
}
END_TEST

/* A forged nonce -> a fresh challenge, not stale; a digest uri other than
 * the Request-URI -> 400 (RFC 7616 3.4.6 asks it to match). */
START_TEST(registrar_auth_forged_and_bad)
{
  world w;
  char nonce[SS_NONCE_LEN + 1], h[1024];

  world_auth(&w, 0);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.4>\r\n")), 401);
  nonce_of(&w, "MD5", nonce);
  nonce[SS_NONCE_LEN - 1] = nonce[SS_NONCE_LEN - 1] == '0' ? '1' : '0';
  ck_assert_int_eq(reg_auth(&w, NULL, "MD5", "bob", "secret", nonce, "00000001"), 401);
  ck_assert_ptr_null(strstr(last(&w)->data, "stale"));
  nonce_of(&w, "MD5", nonce);
  auth_line(h, sizeof h, "MD5", "bob", "secret", nonce, "sip:other.example.com", "00000001");
  ck_assert_int_eq(reg(&w, REG(.headers = h)), 400);
  world_fini(&w);
}
END_TEST

/* auth_algs: only MD5 is offered and accepted (SHA-256 credentials -> a new
 * challenge); bits outside the three are SIPSRV_E_INVAL. */
START_TEST(registrar_auth_algs_md5_only)
{
  world w;
  sipsrv_registrar_cfg c = SIPSRV_REGISTRAR_CFG_INIT;
  sipsrv_registrar *bad = NULL;
  char nonce[SS_NONCE_LEN + 1];

  world_auth(&w, SIPSRV_DIGEST_MD5);
  c.domains = our_domains;
  c.store = w.store;
  c.auth_realm = "example.com";
  c.auth_algs = 8;
  ck_assert_int_eq(sipsrv_registrar_new(&bad, w.core, &c), SIPSRV_E_INVAL);
  ck_assert_ptr_null(bad);
  ck_assert_int_eq(reg(&w, REG(.headers = "Contact: <sip:bob@192.0.2.4>\r\n")), 401);
  ck_assert_ptr_null(strstr(last(&w)->data, "SHA"));
  nonce_of(&w, "MD5", nonce);
  ck_assert_int_eq(reg_auth(&w, NULL, "SHA-256", "bob", "secret", nonce, "00000001"), 401);
  nonce_of(&w, "MD5", nonce);
  ck_assert_int_eq(reg_auth(&w, NULL, "MD5", "bob", "secret", nonce, "00000001"), 200);
  world_fini(&w);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("registrar");
  TCase *tc;

  tc = tcase_create("new");
  tcase_add_test(tc, registrar_new_null_args);
  tcase_add_test(tc, registrar_new_bad_version);
  tcase_add_test(tc, registrar_new_missing_domains_store);
  tcase_add_test(tc, registrar_new_no_wall_clock);
  tcase_add_test(tc, registrar_new_min_above_max);
  tcase_add_test(tc, registrar_new_min_above_default_max);
  tcase_add_test(tc, registrar_new_free_null);
  suite_add_tcase(s, tc);

  tc = tcase_create("limits");
  tcase_add_test(tc, registrar_limit_source_503);
  tcase_add_test(tc, registrar_limit_user_503);
  tcase_add_test(tc, registrar_limit_drop);
  tcase_add_test(tc, registrar_auth_lockout);
  suite_add_tcase(s, tc);

  tc = tcase_create("transport");
  tcase_add_test(tc, registrar_answer_send_fails);
  suite_add_tcase(s, tc);

  tc = tcase_create("claim");
  tcase_add_test(tc, registrar_claim_other_domain_501);
  tcase_add_test(tc, registrar_claim_our_domain_200);
  suite_add_tcase(s, tc);

  tc = tcase_create("require");
  tcase_add_test(tc, registrar_require_unknown_420);
  tcase_add_test(tc, registrar_require_path_ok);
  suite_add_tcase(s, tc);

  tc = tcase_create("aor");
  tcase_add_test(tc, registrar_aor_tel_400);
  tcase_add_test(tc, registrar_aor_unksm2_400);
  tcase_add_test(tc, registrar_aor_other_domain_404);
  tcase_add_test(tc, registrar_own_address_is_a_domain);
  tcase_add_test(tc, registrar_aor_canonical);
  tcase_add_test(tc, registrar_aor_port_ignored);
  tcase_add_test(tc, registrar_aor_unescaped);
  suite_add_tcase(s, tc);

  tc = tcase_create("register");
  tcase_add_test(tc, registrar_register_one_200);
  tcase_add_test(tc, registrar_register_64_contacts);
  tcase_add_test(tc, registrar_register_refresh);
  tcase_add_test(tc, registrar_register_cseq_not_higher_500);
  tcase_add_test(tc, registrar_register_other_callid_replaces);
  tcase_add_test(tc, registrar_register_fetch_remaining);
  tcase_add_test(tc, registrar_register_retransmission);
  tcase_add_test(tc, registrar_register_contact_uri_compare);
  suite_add_tcase(s, tc);

  tc = tcase_create("expires");
  tcase_add_test(tc, registrar_expires_param_overrides);
  tcase_add_test(tc, registrar_expires_default);
  tcase_add_test(tc, registrar_expires_min_423);
  tcase_add_test(tc, registrar_expires_max_clamped);
  tcase_add_test(tc, registrar_expires_zero_removes);
  tcase_add_test(tc, registrar_expires_by_clock);
  suite_add_tcase(s, tc);

  tc = tcase_create("q");
  tcase_add_test(tc, registrar_q_listed);
  suite_add_tcase(s, tc);

  tc = tcase_create("star");
  tcase_add_test(tc, registrar_star_removes_all);
  tcase_add_test(tc, registrar_star_without_expires0_400);
  tcase_add_test(tc, registrar_star_with_other_400);
  suite_add_tcase(s, tc);

  tc = tcase_create("path");
  tcase_add_test(tc, registrar_path_echo);
  suite_add_tcase(s, tc);

  tc = tcase_create("max_bindings");
  tcase_add_test(tc, registrar_max_bindings_403);
  tcase_add_test(tc, registrar_max_bindings_evict);
  suite_add_tcase(s, tc);

  tc = tcase_create("rfc4475");
  tcase_add_test(tc, registrar_rfc4475_cparam01);
  tcase_add_test(tc, registrar_rfc4475_cparam02);
  tcase_add_test(tc, registrar_rfc4475_regescrt);
  tcase_add_test(tc, registrar_rfc4475_escnull);
  suite_add_tcase(s, tc);

  tc = tcase_create("store");
  tcase_add_test(tc, registrar_auth_none_401);
  tcase_add_test(tc, registrar_auth_ok_each_alg);
  tcase_add_test(tc, registrar_auth_wrong_401);
  tcase_add_test(tc, registrar_auth_other_aor_403);
  tcase_add_test(tc, registrar_auth_replay_401);
  tcase_add_test(tc, registrar_auth_stale);
  tcase_add_test(tc, registrar_auth_forged_and_bad);
  tcase_add_test(tc, registrar_auth_algs_md5_only);
  tcase_add_test(tc, registrar_store_put_fails_500);
  tcase_add_test(tc, registrar_store_get_fails_500);
  tcase_add_test(tc, registrar_sqlite_write_fails_500);
  tcase_add_test(tc, registrar_sqlite_faults_logged_once);
  tcase_add_test(tc, registrar_contact_uri_too_long_400);
  suite_add_tcase(s, tc);

  return s;
}

int main(void)
{
  return harness_run(suite());
}
