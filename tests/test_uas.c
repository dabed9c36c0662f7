/* Tests of the uas area: the user agent server role (lib/roles/uas.c) on a
 * core driven through fake UDP and TCP transports and a manual clock, the
 * way tests/test_io.c drives the core. Every response the UAS sends is
 * recorded, parsed back with sipsrv_msg_parse() and checked field by field
 * against RFC 3261: the built-in answers of 8.2 and 11.2, the application's
 * answers and the To tag (8.2.6.2, 19.3), dialogs (12), the 2xx
 * retransmissions (13.3.1.4), CANCEL (9.2), BYE (15.1.2) and merged
 * requests (8.2.2.2). */
#include <check.h>

#include "harness.h"

#include <sipsrv/core.h>
#include <sipsrv/error.h>
#include <sipsrv/msg.h>
#include <sipsrv/transport.h>
#include <sipsrv/uas.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 3261 timer values: the core's defaults. */
#define T1 500u
#define T2 4000u

/* ---- a fake transport ---------------------------------------------------- */

#define FAKE_MAX_SENT 128

/* One message the core sent: the concatenated iovecs, the connection, the
 * destination and the time on the manual clock. */
typedef struct sent_msg {
  char *data;
  size_t len;
  uint64_t conn;
  struct sockaddr_storage dst;
  socklen_t dstlen;
  uint64_t at;
} sent_msg;

typedef struct fake_tp {
  sipsrv_transport *tp;
  const tclock *clock;
  unsigned fail_next;               /* fail this many sends with SIPSRV_E_IO */
  sent_msg sent[FAKE_MAX_SENT];
  size_t nsent;
} fake_tp;

static int fake_send(void *user, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
                     const struct iovec *iov, int iovcnt)
{
  fake_tp *f = user;
  sent_msg *s;
  size_t len = 0;

  ck_assert_ptr_nonnull(dst);
  ck_assert_uint_gt(dstlen, 0);
  ck_assert_uint_le(dstlen, sizeof s->dst);
  ck_assert_int_gt(iovcnt, 0);
  if (f->fail_next) {
    f->fail_next--;
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
  s->at = f->clock ? f->clock->now_ms : 0;
  return 0;
}

static const struct sipsrv_transport_ops udp_ops = {
  SIPSRV_TRANSPORT_OPS_VERSION, sizeof(struct sipsrv_transport_ops), "UDP", 0, fake_send, NULL
};

static const struct sipsrv_transport_ops tcp_ops = {
  SIPSRV_TRANSPORT_OPS_VERSION, sizeof(struct sipsrv_transport_ops), "TCP",
  SIPSRV_TP_RELIABLE | SIPSRV_TP_STREAM, fake_send, NULL
};

static void fake_reset(fake_tp *f)
{
  for (size_t i = 0; i < f->nsent; i++)
    free(f->sent[i].data);
  f->nsent = 0;
}

static bool sent_same(const sent_msg *a, const sent_msg *b)
{
  return a->len == b->len && memcmp(a->data, b->data, a->len) == 0 && a->conn == b->conn &&
         a->dstlen == b->dstlen && memcmp(&a->dst, &b->dst, a->dstlen) == 0;
}

static unsigned sent_port(const sent_msg *s)
{
  const struct sockaddr_in *a = (const struct sockaddr_in *)&s->dst;
  ck_assert_int_eq(a->sin_family, AF_INET);
  ck_assert_uint_eq(s->dstlen, sizeof *a);
  return ntohs(a->sin_port);
}

/* ---- the application: callbacks that record and answer ----------------------- */

typedef enum app_mode {
  APP_DECLINE,          /* return 0: the built-in behaviour (after `provisional`, if set) */
  APP_HOLD,             /* keep the request (after `provisional`, if set), return 1 */
  APP_ANSWER,           /* answer `final` at once, return 1 */
  APP_ANSWER_DECLINE    /* answer `final` at once, then return 0 (misuse, see below) */
} app_mode;

#define APP_MAX 16

typedef struct app {
  app_mode mode;
  int provisional;                    /* sent first by every mode when not 0 */
  int final;                          /* for APP_ANSWER and APP_ANSWER_DECLINE */
  const fake_tp *watch;               /* its sends counted at each callback */
  sipsrv_uas *uas;                    /* the UAS the callbacks must get */

  unsigned requests;
  sipsrv_method method[APP_MAX];
  int respond_rc[APP_MAX];            /* of the answers given in on_request */
  sipsrv_request *held[APP_MAX];      /* APP_HOLD, in arrival order; NULL once gone */
  size_t nheld;

  unsigned cancels;
  sipsrv_request *cancelled[APP_MAX];
  sipsrv_method cancelled_method[APP_MAX];
  void *cancelled_user[APP_MAX];
  size_t sent_at_cancel[APP_MAX];     /* watch->nsent when on_cancel ran */

  unsigned dialog_ends;
  int end_status[APP_MAX];
  char end_call_id[APP_MAX][128];
} app;

static int app_on_request(sipsrv_uas *uas, sipsrv_request *req, void *user)
{
  app *a = user;
  const sipsrv_msg *m = sipsrv_request_msg(req);
  unsigned i = a->requests++;
  int rc = 0;

  ck_assert_ptr_eq(uas, a->uas);
  ck_assert_ptr_nonnull(m);
  ck_assert_uint_lt(i, APP_MAX);
  ck_assert(sipsrv_msg_is_request(m));
  a->method[i] = sipsrv_msg_method(m);
  ck_assert_ptr_null(sipsrv_request_user(req));
  if (a->provisional)
    rc = sipsrv_request_respond(req, a->provisional, NULL, NULL);
  switch (a->mode) {
  case APP_DECLINE:
    a->respond_rc[i] = rc;
    return 0;
  case APP_HOLD:
    a->respond_rc[i] = rc;
    ck_assert_uint_lt(a->nheld, APP_MAX);
    a->held[a->nheld++] = req;
    return 1;
  case APP_ANSWER:
    a->respond_rc[i] = sipsrv_request_respond(req, a->final, NULL, NULL);
    return 1;
  case APP_ANSWER_DECLINE:
    a->respond_rc[i] = sipsrv_request_respond(req, a->final, NULL, NULL);
    return 0;
  }
  return 1;
}

static void app_on_cancel(sipsrv_uas *uas, sipsrv_request *req, void *user)
{
  app *a = user;
  unsigned i = a->cancels++;

  ck_assert_ptr_eq(uas, a->uas);
  ck_assert_uint_lt(i, APP_MAX);
  a->cancelled[i] = req;
  a->cancelled_method[i] = sipsrv_msg_method(sipsrv_request_msg(req));
  a->cancelled_user[i] = sipsrv_request_user(req);
  a->sent_at_cancel[i] = a->watch ? a->watch->nsent : 0;
  /* req is gone when this returns. */
  for (size_t k = 0; k < a->nheld; k++)
    if (a->held[k] == req)
      a->held[k] = NULL;
}

static void app_on_dialog_end(sipsrv_uas *uas, const char *call_id, int status, void *user)
{
  app *a = user;
  unsigned i = a->dialog_ends++;

  ck_assert_ptr_eq(uas, a->uas);
  ck_assert_uint_lt(i, APP_MAX);
  ck_assert_ptr_nonnull(call_id);
  a->end_status[i] = status;
  snprintf(a->end_call_id[i], sizeof a->end_call_id[i], "%s", call_id);
}

/* ---- a world: a manual clock, a core, UDP and TCP, a UAS ------------------- */

typedef struct world {
  tclock clock;
  sipsrv_core *core;
  fake_tp udp, tcp;
  sipsrv_uas *uas;
  app app;
  unsigned branches;                  /* for unique branches in make_dialog */
} world;

static void world_core(world *w, const sipsrv_allocator *alloc)
{
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;

  memset(w, 0, sizeof *w);
  /* Not 0: deadlines must be absolute, on the core's clock. */
  w->clock.now_ms = 100000;
  cfg.clock = tclock_now;
  cfg.clock_user = &w->clock;
  cfg.alloc = alloc;
  ck_assert_int_eq(sipsrv_core_new(&w->core, &cfg), 0);
  ck_assert_int_eq(sipsrv_core_add_transport(w->core, &udp_ops, &w->udp, "127.0.0.1", 5060,
                                             &w->udp.tp), 0);
  ck_assert_int_eq(sipsrv_core_add_transport(w->core, &tcp_ops, &w->tcp, "127.0.0.1", 5060,
                                             &w->tcp.tp), 0);
  w->udp.clock = &w->clock;
  w->tcp.clock = &w->clock;
  w->app.watch = &w->udp;
}

/* A configuration with the recording callbacks. */
static sipsrv_uas_cfg app_cfg(world *w)
{
  sipsrv_uas_cfg cfg = SIPSRV_UAS_CFG_INIT;
  cfg.on_request = app_on_request;
  cfg.on_cancel = app_on_cancel;
  cfg.on_dialog_end = app_on_dialog_end;
  cfg.user = &w->app;
  return cfg;
}

static void world_uas(world *w, const sipsrv_uas_cfg *cfg)
{
  ck_assert_int_eq(sipsrv_uas_new(&w->uas, w->core, cfg), 0);
  ck_assert_ptr_nonnull(w->uas);
  w->app.uas = w->uas;
  ck_assert_uint_eq(sipsrv_uas_dialogs(w->uas), 0);
}

/* A UAS with built-ins only (cfg NULL). */
static void world_builtin(world *w)
{
  world_core(w, NULL);
  world_uas(w, NULL);
}

/* A UAS with the recording application in this mode. */
static void world_app(world *w, app_mode mode, int provisional, int final)
{
  sipsrv_uas_cfg cfg;
  world_core(w, NULL);
  cfg = app_cfg(w);
  w->app.mode = mode;
  w->app.provisional = provisional;
  w->app.final = final;
  world_uas(w, &cfg);
}

static void world_fini(world *w)
{
  sipsrv_uas_free(w->uas);
  w->uas = NULL;
  sipsrv_core_free(w->core);
  fake_reset(&w->udp);
  fake_reset(&w->tcp);
}

/* Move the clock to `at`, running the core's timers at each deadline on the
 * way (as an application's loop does with sipsrv_core_next_timeout). */
static void run_until(world *w, uint64_t at)
{
  uint64_t when;
  unsigned guard = 0;

  ck_assert_uint_ge(at, w->clock.now_ms);
  while (sipsrv_core_next_timeout(w->core, &when) == 0 && when <= at) {
    ck_assert_uint_lt(++guard, 100000);
    if (when > w->clock.now_ms)
      w->clock.now_ms = when;
    ck_assert_int_ge(sipsrv_core_expire(w->core), 0);
  }
  w->clock.now_ms = at;
  ck_assert_int_ge(sipsrv_core_expire(w->core), 0);
}

/* ---- requests in ------------------------------------------------------------- */

/* A request; NULL fields take the defaults in the comments. */
typedef struct req_spec {
  const char *method;       /* required */
  const char *uri;          /* sip:service@127.0.0.1 */
  const char *branch;       /* z9hG4bKuas1 */
  const char *call_id;      /* call-1@127.0.0.1 */
  const char *from_tag;     /* fa1 */
  const char *to_tag;       /* none */
  unsigned cseq;            /* 0: 1 */
  const char *cseq_method;  /* the method */
  const char *headers;      /* extra header lines, each ending in CRLF */
  const char *ctype;        /* Content-Type of body */
  const char *body;         /* none */
  bool tcp;                 /* over TCP (Via SIP/2.0/TCP, connection TCP_CONN) */
} req_spec;

#define REQ(...) (&(const req_spec){ __VA_ARGS__ })

#define SRC_PORT 40000      /* where requests come from */
#define VIA_PORT 5070       /* their Via sent-by port: UDP responses go there (18.2.2) */
#define TCP_CONN 7

static size_t build_req(char *buf, size_t size, const req_spec *s)
{
  const char *body = s->body ? s->body : "";
  bool invite = strcmp(s->method, "INVITE") == 0;
  int n = snprintf(buf, size,
                   "%s %s SIP/2.0\r\n"
                   "Via: SIP/2.0/%s 127.0.0.1:%u;branch=%s\r\n"
                   "Max-Forwards: 70\r\n"
                   "From: \"Alice\" <sip:alice@example.com>;tag=%s\r\n"
                   "To: <sip:service@127.0.0.1>%s%s\r\n"
                   "Call-ID: %s\r\n"
                   "CSeq: %u %s\r\n"
                   "%s"
                   "%s"
                   "%s%s%s"
                   "Content-Length: %zu\r\n"
                   "\r\n"
                   "%s",
                   s->method, s->uri ? s->uri : "sip:service@127.0.0.1", s->tcp ? "TCP" : "UDP",
                   VIA_PORT, s->branch ? s->branch : "z9hG4bKuas1",
                   s->from_tag ? s->from_tag : "fa1", s->to_tag ? ";tag=" : "",
                   s->to_tag ? s->to_tag : "", s->call_id ? s->call_id : "call-1@127.0.0.1",
                   s->cseq ? s->cseq : 1, s->cseq_method ? s->cseq_method : s->method,
                   invite ? "Contact: <sip:alice@127.0.0.1:5070>\r\n" : "",
                   s->headers ? s->headers : "", s->ctype ? "Content-Type: " : "",
                   s->ctype ? s->ctype : "", s->ctype ? "\r\n" : "", strlen(body), body);
  ck_assert_int_gt(n, 0);
  ck_assert_uint_lt((size_t)n, size);
  return (size_t)n;
}

static void send_req(world *w, const req_spec *s)
{
  char buf[4096];
  size_t len = build_req(buf, sizeof buf, s);
  struct sockaddr_in src;

  memset(&src, 0, sizeof src);
  src.sin_family = AF_INET;
  src.sin_port = htons(SRC_PORT);
  ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.1", &src.sin_addr), 1);
  ck_assert_int_eq(sipsrv_core_recv(w->core, s->tcp ? w->tcp.tp : w->udp.tp,
                                    s->tcp ? TCP_CONN : 0, (const struct sockaddr *)&src,
                                    sizeof src, buf, len),
                   0);
}

/* ---- responses out ------------------------------------------------------------ */

/* Parse the i-th message sent on f: a well-formed response. Free it. */
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

static int status_at(const fake_tp *f, size_t i)
{
  sipsrv_msg *m = rsp_at(f, i);
  int status = sipsrv_msg_status(m);
  sipsrv_msg_free(m);
  return status;
}

/* RFC 3261 8.2.6.2: the response copies From (with its tag), Call-ID, CSeq
 * and the Via of the request. */
static void check_rsp(const sipsrv_msg *m, int status, const char *call_id, unsigned cseq,
                      const char *cseq_method, const char *branch)
{
  sipsrv_addr from, to;
  sipsrv_via via;
  uint32_t seq = 0;
  const char *meth = NULL;

  ck_assert_int_eq(sipsrv_msg_status(m), status);
  ck_assert_int_eq(sipsrv_msg_from(m, &from), 0);
  ck_assert_str_eq(from.uri.user, "alice");
  ck_assert_ptr_nonnull(from.tag);
  ck_assert_int_eq(sipsrv_msg_to(m, &to), 0);
  ck_assert_str_eq(to.uri.user, "service");
  ck_assert_str_eq(sipsrv_msg_call_id(m), call_id);
  ck_assert_int_eq(sipsrv_msg_cseq(m, &seq, &meth), 0);
  ck_assert_uint_eq(seq, cseq);
  ck_assert_str_eq(meth, cseq_method);
  ck_assert_int_eq(sipsrv_msg_via_count(m), 1);
  ck_assert_int_eq(sipsrv_msg_via(m, 0, &via), 0);
  ck_assert_str_eq(via.branch, branch);
  ck_assert_str_eq(via.host, "127.0.0.1");
  ck_assert_str_eq(via.port, "5070");
}

/* The To tag of a message into out ("" when none). */
static void to_tag_of(const sipsrv_msg *m, char *out, size_t size)
{
  sipsrv_addr to;
  ck_assert_int_eq(sipsrv_msg_to(m, &to), 0);
  snprintf(out, size, "%s", to.tag ? to.tag : "");
}

/* RFC 3261 19.3: the UAS's tags here are 16 lower-case hex digits (64 random
 * bits, more than the 32 the RFC asks for). */
static bool is_hex16(const char *s)
{
  if (strlen(s) != 16)
    return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

/* The one field named `name` has exactly this value. */
static void hdr_eq(const sipsrv_msg *m, const char *name, const char *want)
{
  char buf[512];
  int n = sipsrv_msg_header(m, name, 0, buf, sizeof buf);
  ck_assert_msg(n >= 0, "no %s header", name);
  ck_assert_str_eq(buf, want);
  ck_assert_int_eq(sipsrv_msg_header(m, name, 1, buf, sizeof buf), SIPSRV_E_NOTFOUND);
}

/* The values of the fields named `name`, one per list item (how
 * sipsrv_msg_header() reads Accept and Supported), are exactly want. */
static void hdr_values(const sipsrv_msg *m, const char *name, const char *const *want)
{
  char buf[512];
  int i = 0;
  for (; want[i]; i++) {
    ck_assert_msg(sipsrv_msg_header(m, name, i, buf, sizeof buf) >= 0, "no %s value %d", name, i);
    ck_assert_str_eq(buf, want[i]);
  }
  ck_assert_int_eq(sipsrv_msg_header(m, name, i, buf, sizeof buf), SIPSRV_E_NOTFOUND);
}

/* The sent bytes carry this header line exactly ("Name: value", no CRLF). */
static void wire_has(const sent_msg *s, const char *line)
{
  char want[512];
  snprintf(want, sizeof want, "\r\n%s\r\n", line);
  ck_assert_msg(strstr(s->data, want) != NULL, "no \"%s\" line in:\n%s", line, s->data);
}

static void hdr_absent(const sipsrv_msg *m, const char *name)
{
  char buf[512];
  ck_assert_msg(sipsrv_msg_header(m, name, 0, buf, sizeof buf) == SIPSRV_E_NOTFOUND,
                "unexpected %s header", name);
}

/* The Contact a 2xx to INVITE carries (RFC 3261 12.1.1): one value,
 * sip:<user>@<transport's host>:<port>;transport=<transport>. */
static void check_contact(const sipsrv_msg *m, const char *user, const char *transport)
{
  sipsrv_addr c;
  char params[64];

  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_CONTACT, 0, &c), 0);
  ck_assert_str_eq(c.uri.scheme, "sip");
  ck_assert_str_eq(c.uri.user, user);
  ck_assert_str_eq(c.uri.host, "127.0.0.1");
  ck_assert_str_eq(c.uri.port, "5060");
  snprintf(params, sizeof params, "transport=%s", transport);
  ck_assert_str_eq(c.uri.params, params);
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_CONTACT, 1, &c), SIPSRV_E_NOTFOUND);
}

/* A dialog: INVITE (call_id, CSeq cseq) answered 200 by the application in
 * APP_ANSWER mode, then ACKed. The 2xx is the last message sent on udp; its
 * To tag goes to tag. */
static void make_dialog(world *w, const char *call_id, unsigned cseq, char *tag, size_t size)
{
  sipsrv_msg *m;
  size_t before = w->udp.nsent;
  char inv_branch[64], ack_branch[64];

  w->app.mode = APP_ANSWER;
  w->app.provisional = 0;
  w->app.final = 200;
  w->branches++;
  snprintf(inv_branch, sizeof inv_branch, "z9hG4bKdlg-inv-%u", w->branches);
  send_req(w, REQ(.method = "INVITE", .call_id = call_id, .cseq = cseq, .branch = inv_branch));
  ck_assert_uint_eq(w->udp.nsent, before + 1);
  m = rsp_at(&w->udp, before);
  check_rsp(m, 200, call_id, cseq, "INVITE", inv_branch);
  to_tag_of(m, tag, size);
  ck_assert(is_hex16(tag));
  sipsrv_msg_free(m);
  snprintf(ack_branch, sizeof ack_branch, "z9hG4bKdlg-ack-%u", w->branches);
  send_req(w, REQ(.method = "ACK", .call_id = call_id, .cseq = cseq, .to_tag = tag,
                  .branch = ack_branch));
  ck_assert_uint_eq(w->udp.nsent, before + 1);    /* the ACK is not answered */
}

/* ---- sipsrv_uas_new / free / dialogs: arguments ------------------------------- */

START_TEST(uas_new_null_args)
{
  static char sentinel;
  world w;
  sipsrv_uas *u = (sipsrv_uas *)(void *)&sentinel;   /* must stay untouched */

  world_core(&w, NULL);
  ck_assert_int_eq(sipsrv_uas_new(NULL, w.core, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_uas_new(&u, NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_uas_new(&u, NULL, &(sipsrv_uas_cfg)SIPSRV_UAS_CFG_INIT), SIPSRV_E_INVAL);
  ck_assert_ptr_eq(u, (sipsrv_uas *)(void *)&sentinel);
  world_fini(&w);
}
END_TEST

START_TEST(uas_new_bad_version)
{
  world w;
  sipsrv_uas_cfg cfg = SIPSRV_UAS_CFG_INIT;
  sipsrv_uas *u = NULL;

  world_core(&w, NULL);
  cfg.version = 99;
  ck_assert_int_eq(sipsrv_uas_new(&u, w.core, &cfg), SIPSRV_E_VERSION);
  ck_assert_ptr_null(u);
  cfg.version = 0;
  ck_assert_int_eq(sipsrv_uas_new(&u, w.core, &cfg), SIPSRV_E_VERSION);
  ck_assert_ptr_null(u);
  /* The same core takes a good one after. */
  cfg.version = SIPSRV_UAS_CFG_VERSION;
  ck_assert_int_eq(sipsrv_uas_new(&u, w.core, &cfg), 0);
  ck_assert_ptr_nonnull(u);
  sipsrv_uas_free(u);
  world_fini(&w);
}
END_TEST

START_TEST(uas_new_free_null)
{
  sipsrv_uas_free(NULL);
  ck_assert_uint_eq(sipsrv_uas_dialogs(NULL), 0);
}
END_TEST

/* A UAS freed while idle leaves the core usable: with no role attached the
 * core's layer answers 501 (RFC 3261 21.5.2). */
START_TEST(uas_new_free_detaches)
{
  world w;

  world_builtin(&w);
  sipsrv_uas_free(w.uas);
  w.uas = NULL;
  send_req(&w, REQ(.method = "OPTIONS"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_int_eq(status_at(&w.udp, 0), 501);
  world_fini(&w);
}
END_TEST

/* ---- sipsrv_request_*: arguments --------------------------------------------- */

START_TEST(uas_app_null_args)
{
  int data;

  ck_assert_ptr_null(sipsrv_request_msg(NULL));
  ck_assert_ptr_null(sipsrv_request_user(NULL));
  sipsrv_request_set_user(NULL, &data);                 /* no-op */
  ck_assert_int_eq(sipsrv_request_respond(NULL, 200, NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_request_respond(NULL, 99, NULL, NULL), SIPSRV_E_INVAL);
}
END_TEST

/* ---- built-in behaviour without an application ------------------------------ */

/* RFC 3261 11.2: OPTIONS gets 200 with Allow (exactly the methods it
 * implements), Accept, Accept-Encoding, Accept-Language; Supported only
 * when it supports extensions. */
START_TEST(uas_builtin_options_200)
{
  world w;
  sipsrv_msg *m;
  char tag[64];

  world_builtin(&w);
  send_req(&w, REQ(.method = "OPTIONS", .cseq = 7, .call_id = "opt-1@127.0.0.1",
                   .branch = "z9hG4bKopt1"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_uint_eq(w.tcp.nsent, 0);
  /* RFC 3261 18.2.2: to the source address, at the Via's sent-by port. */
  ck_assert_uint_eq(sent_port(&w.udp.sent[0]), VIA_PORT);
  m = rsp_at(&w.udp, 0);
  check_rsp(m, 200, "opt-1@127.0.0.1", 7, "OPTIONS", "z9hG4bKopt1");
  ck_assert_str_eq(sipsrv_msg_phrase(m), "OK");
  to_tag_of(m, tag, sizeof tag);
  ck_assert_msg(is_hex16(tag), "To tag \"%s\"", tag);          /* 8.2.6.2, 19.3 */
  hdr_eq(m, "Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS");
  wire_has(&w.udp.sent[0], "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS");
  hdr_eq(m, "Accept", "application/sdp");
  wire_has(&w.udp.sent[0], "Accept: application/sdp");
  hdr_eq(m, "Accept-Encoding", "identity");
  hdr_eq(m, "Accept-Language", "en");
  hdr_absent(m, "Supported");
  hdr_absent(m, "Contact");           /* only a 2xx to INVITE carries one (12.1.1) */
  sipsrv_msg_free(m);
  world_fini(&w);
}
END_TEST

START_TEST(uas_builtin_options_supported)
{
  static const char *const supported[] = { "timer", "100rel", NULL };
  static const char *const methods[] = { "INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO",
                                         NULL };
  static const char *const accept[] = { "application/sdp", "text/plain", NULL };
  world w;
  sipsrv_uas_cfg cfg = SIPSRV_UAS_CFG_INIT;
  sipsrv_msg *m;

  world_core(&w, NULL);
  cfg.supported = supported;
  cfg.methods = methods;
  cfg.accept = accept;
  world_uas(&w, &cfg);
  send_req(&w, REQ(.method = "OPTIONS"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  check_rsp(m, 200, "call-1@127.0.0.1", 1, "OPTIONS", "z9hG4bKuas1");
  hdr_eq(m, "Supported", "timer, 100rel");
  wire_has(&w.udp.sent[0], "Supported: timer, 100rel");
  hdr_eq(m, "Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO");
  wire_has(&w.udp.sent[0], "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO");
  hdr_values(m, "Accept", accept);
  wire_has(&w.udp.sent[0], "Accept: application/sdp, text/plain");
  sipsrv_msg_free(m);
  world_fini(&w);
}
END_TEST

/* RFC 3261 8.2.1: a method nobody knows: 501 with Allow. */
START_TEST(uas_builtin_unknown_501)
{
  world w;
  sipsrv_msg *m;
  char tag[64];

  world_builtin(&w);
  send_req(&w, REQ(.method = "FOO"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  check_rsp(m, 501, "call-1@127.0.0.1", 1, "FOO", "z9hG4bKuas1");
  to_tag_of(m, tag, sizeof tag);
  ck_assert(is_hex16(tag));
  hdr_eq(m, "Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS");
  wire_has(&w.udp.sent[0], "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS");
  sipsrv_msg_free(m);
  world_fini(&w);
}
END_TEST

/* RFC 3261 8.2.1: a known method the UAS does not implement: 405 with Allow. */
START_TEST(uas_builtin_register_405)
{
  world w;
  sipsrv_msg *m;

  world_builtin(&w);
  send_req(&w, REQ(.method = "REGISTER", .uri = "sip:127.0.0.1"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  check_rsp(m, 405, "call-1@127.0.0.1", 1, "REGISTER", "z9hG4bKuas1");
  hdr_eq(m, "Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS");
  wire_has(&w.udp.sent[0], "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS");
  sipsrv_msg_free(m);
  world_fini(&w);
}
END_TEST

/* RFC 3261 8.2.2.3: Require with an option tag the UAS does not support:
 * 420 with Unsupported listing it (and only the unsupported ones). */
START_TEST(uas_builtin_require_420)
{
  static const char *const supported[] = { "timer", NULL };
  world w;
  sipsrv_uas_cfg cfg = SIPSRV_UAS_CFG_INIT;
  sipsrv_msg *m;

  world_builtin(&w);
  send_req(&w, REQ(.method = "INVITE", .headers = "Require: foo\r\n"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  check_rsp(m, 420, "call-1@127.0.0.1", 1, "INVITE", "z9hG4bKuas1");
  hdr_eq(m, "Unsupported", "foo");
  wire_has(&w.udp.sent[0], "Unsupported: foo");
  sipsrv_msg_free(m);
  world_fini(&w);

  world_core(&w, NULL);
  cfg.supported = supported;
  world_uas(&w, &cfg);
  send_req(&w, REQ(.method = "INVITE", .headers = "Require: timer, foo\r\n"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  ck_assert_int_eq(sipsrv_msg_status(m), 420);
  hdr_eq(m, "Unsupported", "foo");
  wire_has(&w.udp.sent[0], "Unsupported: foo");
  sipsrv_msg_free(m);
  world_fini(&w);
}
END_TEST

/* RFC 3261 8.2.3: a body of a type the UAS does not take: 415 with Accept;
 * application/sdp is taken (and the INVITE, with nobody to take the call,
 * gets 480). */
START_TEST(uas_builtin_body_415)
{
  world w;
  sipsrv_msg *m;

  world_builtin(&w);
  send_req(&w, REQ(.method = "INVITE", .ctype = "text/plain", .body = "hello\r\n"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  check_rsp(m, 415, "call-1@127.0.0.1", 1, "INVITE", "z9hG4bKuas1");
  hdr_eq(m, "Accept", "application/sdp");
  wire_has(&w.udp.sent[0], "Accept: application/sdp");
  sipsrv_msg_free(m);

  send_req(&w, REQ(.method = "INVITE", .branch = "z9hG4bKsdp", .call_id = "sdp@h",
                   .ctype = "application/sdp", .body = "v=0\r\n"));
  ck_assert_uint_eq(w.udp.nsent, 2);
  ck_assert_int_eq(status_at(&w.udp, 1), 480);
  world_fini(&w);
}
END_TEST

/* RFC 3261 8.2.2.1: a Request-URI scheme the UAS does not know: 416; sip,
 * sips and tel are known. */
START_TEST(uas_builtin_scheme_416)
{
  world w;
  sipsrv_msg *m;

  world_builtin(&w);
  send_req(&w, REQ(.method = "OPTIONS", .uri = "im:service@127.0.0.1"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  check_rsp(m, 416, "call-1@127.0.0.1", 1, "OPTIONS", "z9hG4bKuas1");
  sipsrv_msg_free(m);

  /* Other Call-IDs: the same Call-ID, From tag and CSeq on a new branch
   * while the first transaction lives would be a merged request (482). */
  send_req(&w, REQ(.method = "OPTIONS", .uri = "sip:service@127.0.0.1", .branch = "z9hG4bKs1",
                   .call_id = "call-s1@127.0.0.1"));
  send_req(&w, REQ(.method = "OPTIONS", .uri = "sips:service@127.0.0.1", .branch = "z9hG4bKs2",
                   .call_id = "call-s2@127.0.0.1"));
  send_req(&w, REQ(.method = "OPTIONS", .uri = "tel:+15551234567", .branch = "z9hG4bKs3",
                   .call_id = "call-s3@127.0.0.1"));
  ck_assert_uint_eq(w.udp.nsent, 4);
  ck_assert_int_eq(status_at(&w.udp, 1), 200);
  ck_assert_int_eq(status_at(&w.udp, 2), 200);
  ck_assert_int_eq(status_at(&w.udp, 3), 200);
  world_fini(&w);
}
END_TEST

/* An INVITE with no application to take it: 480; the INVITE transaction
 * absorbs the ACK for it (RFC 3261 17.2.1). */
START_TEST(uas_builtin_invite_480)
{
  world w;
  sipsrv_msg *m;
  char tag[64];

  world_builtin(&w);
  send_req(&w, REQ(.method = "INVITE"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  check_rsp(m, 480, "call-1@127.0.0.1", 1, "INVITE", "z9hG4bKuas1");
  to_tag_of(m, tag, sizeof tag);
  ck_assert(is_hex16(tag));
  hdr_absent(m, "Contact");
  sipsrv_msg_free(m);
  send_req(&w, REQ(.method = "ACK", .to_tag = tag));
  run_until(&w, w.clock.now_ms + 64 * T1);
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 0);
  world_fini(&w);
}
END_TEST

/* ---- the application ------------------------------------------------------- */

/* on_request gets the request; sipsrv_request_msg returns it; an answer
 * given in the callback goes out before it returns. */
START_TEST(uas_app_request_msg)
{
  world w;
  sipsrv_msg *m;

  world_app(&w, APP_ANSWER, 0, 486);
  send_req(&w, REQ(.method = "INVITE", .call_id = "msg@h", .cseq = 3));
  ck_assert_uint_eq(w.app.requests, 1);
  ck_assert_int_eq(w.app.method[0], SIPSRV_METHOD_INVITE);
  ck_assert_int_eq(w.app.respond_rc[0], 0);
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  check_rsp(m, 486, "msg@h", 3, "INVITE", "z9hG4bKuas1");
  sipsrv_msg_free(m);
  world_fini(&w);
}
END_TEST

/* The held request's message is the request, with every field as sent. */
START_TEST(uas_app_request_fields)
{
  world w;
  const sipsrv_msg *m;
  sipsrv_addr from, to;
  uint32_t seq = 0;
  char uri[128];

  world_app(&w, APP_HOLD, 0, 0);
  send_req(&w, REQ(.method = "OPTIONS", .call_id = "fields@h", .cseq = 9));
  ck_assert_uint_eq(w.app.nheld, 1);
  m = sipsrv_request_msg(w.app.held[0]);
  ck_assert_ptr_nonnull(m);
  ck_assert(sipsrv_msg_is_request(m));
  ck_assert_int_eq(sipsrv_msg_method(m), SIPSRV_METHOD_OPTIONS);
  ck_assert_str_eq(sipsrv_msg_call_id(m), "fields@h");
  ck_assert_int_eq(sipsrv_msg_cseq(m, &seq, NULL), 0);
  ck_assert_uint_eq(seq, 9);
  ck_assert_int_eq(sipsrv_msg_from(m, &from), 0);
  ck_assert_str_eq(from.tag, "fa1");
  ck_assert_int_eq(sipsrv_msg_to(m, &to), 0);
  ck_assert_ptr_null(to.tag);
  ck_assert_int_gt(sipsrv_msg_request_uri_str(m, uri, sizeof uri), 0);
  ck_assert_str_eq(uri, "sip:service@127.0.0.1");
  ck_assert_uint_eq(w.udp.nsent, 0);
  ck_assert_int_eq(sipsrv_request_respond(w.app.held[0], 200, NULL, NULL), 0);
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_int_eq(status_at(&w.udp, 0), 200);
  world_fini(&w);
}
END_TEST

/* 180 at once, 200 later: the same To tag in both (RFC 3261 8.2.6.2: the
 * UAS keeps the tag for every response to the request), 16 hex digits
 * (19.3); the 2xx carries Contact with the transport (12.1.1). */
START_TEST(uas_app_180_then_200)
{
  world w;
  sipsrv_msg *m;
  char tag180[64], tag200[64];

  world_app(&w, APP_HOLD, 180, 0);
  send_req(&w, REQ(.method = "INVITE", .call_id = "ring@h"));
  ck_assert_uint_eq(w.app.requests, 1);
  ck_assert_int_eq(w.app.respond_rc[0], 0);
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  check_rsp(m, 180, "ring@h", 1, "INVITE", "z9hG4bKuas1");
  ck_assert_str_eq(sipsrv_msg_phrase(m), "Ringing");
  to_tag_of(m, tag180, sizeof tag180);
  ck_assert_msg(is_hex16(tag180), "180 To tag \"%s\"", tag180);
  sipsrv_msg_free(m);

  /* The 180 stopped the 100 the transaction would send at 200 ms. */
  run_until(&w, w.clock.now_ms + 2000);
  ck_assert_uint_eq(w.udp.nsent, 1);

  ck_assert_int_eq(sipsrv_request_respond(w.app.held[0], 200, NULL, NULL), 0);
  w.app.held[0] = NULL;                                   /* gone */
  ck_assert_uint_eq(w.udp.nsent, 2);
  m = rsp_at(&w.udp, 1);
  check_rsp(m, 200, "ring@h", 1, "INVITE", "z9hG4bKuas1");
  to_tag_of(m, tag200, sizeof tag200);
  ck_assert_str_eq(tag200, tag180);
  check_contact(m, "sipsrv", "udp");
  sipsrv_msg_free(m);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 1);
  world_fini(&w);
}
END_TEST

/* A retransmitted INVITE gets the 180 again with the same tag (17.2.1); a
 * different request gets a different tag (19.3: unique). */
START_TEST(uas_app_tag_stable_unique)
{
  world w;
  sipsrv_msg *m;
  char t0[64], t1[64], t2[64];

  world_app(&w, APP_HOLD, 180, 0);
  send_req(&w, REQ(.method = "INVITE", .call_id = "tag-a@h"));
  send_req(&w, REQ(.method = "INVITE", .call_id = "tag-a@h"));   /* retransmission */
  send_req(&w, REQ(.method = "INVITE", .call_id = "tag-b@h", .branch = "z9hG4bKb"));
  ck_assert_uint_eq(w.app.requests, 2);
  ck_assert_uint_eq(w.udp.nsent, 3);
  ck_assert(sent_same(&w.udp.sent[0], &w.udp.sent[1]));
  m = rsp_at(&w.udp, 0);
  to_tag_of(m, t0, sizeof t0);
  sipsrv_msg_free(m);
  m = rsp_at(&w.udp, 1);
  to_tag_of(m, t1, sizeof t1);
  sipsrv_msg_free(m);
  m = rsp_at(&w.udp, 2);
  check_rsp(m, 180, "tag-b@h", 1, "INVITE", "z9hG4bKb");
  to_tag_of(m, t2, sizeof t2);
  sipsrv_msg_free(m);
  ck_assert_str_eq(t0, t1);
  ck_assert(is_hex16(t2));
  ck_assert_str_ne(t0, t2);
  world_fini(&w);
}
END_TEST

/* RFC 3261 12.1.1: the 2xx copies every Record-Route value of the request,
 * in order, over lines and commas alike. */
START_TEST(uas_app_record_route)
{
  world w;
  sipsrv_msg *m;
  sipsrv_addr rr;
  static const char *const hosts[] = { "p1.example.com", "p2.example.com", "p3.example.com" };
  char got[3][64], wire[1024];
  int n = 0;

  world_app(&w, APP_ANSWER, 0, 200);
  send_req(&w, REQ(.method = "INVITE",
                   .headers = "Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
                              "Record-Route: <sip:p3.example.com;lr>\r\n"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  check_rsp(m, 200, "call-1@127.0.0.1", 1, "INVITE", "z9hG4bKuas1");
  check_contact(m, "sipsrv", "udp");
  for (; n < 4 && sipsrv_msg_addr(m, SIPSRV_HDR_RECORD_ROUTE, n, &rr) == 0; n++) {
    ck_assert_uint_lt(n, 3);
    ck_assert_str_eq(rr.uri.params, "lr");
    snprintf(got[n], sizeof got[n], "%s", rr.uri.host);
  }
  sipsrv_msg_free(m);
  snprintf(wire, sizeof wire, "%s", w.udp.sent[0].data);

  /* A final non-2xx makes no dialog: neither Contact nor Record-Route. */
  w.app.final = 486;
  send_req(&w, REQ(.method = "INVITE", .call_id = "busy@h", .branch = "z9hG4bKbusy",
                   .headers = "Record-Route: <sip:p1.example.com;lr>\r\n"));
  ck_assert_uint_eq(w.udp.nsent, 2);
  m = rsp_at(&w.udp, 1);
  ck_assert_int_eq(sipsrv_msg_status(m), 486);
  hdr_absent(m, "Contact");
  hdr_absent(m, "Record-Route");
  sipsrv_msg_free(m);
  world_fini(&w);

  /* Checked last, after the clean-up, so that a failure leaks nothing
   * under CK_FORK=no. */
  ck_assert_int_eq(n, 3);
  for (int i = 0; i < 3; i++)
    ck_assert_msg(strcmp(got[i], hosts[i]) == 0,
                  "Record-Route %d of the 2xx is %s, not %s: the request's order is lost "
                  "(RFC 3261 12.1.1: MUST maintain the order):\n%s",
                  i, got[i], hosts[i], wire);
}
END_TEST

/* RFC 3261 12.1 and 12.1.1: a 101-199 with a To tag to an INVITE makes an
 * early dialog, so it too must copy the Record-Route and carry a Contact
 * ("When a UAS responds to a request with a response that establishes a
 * dialog ... MUST copy all Record-Route ... MUST add a Contact"). */
START_TEST(uas_app_18x_record_route_contact)
{
  world w;
  sipsrv_msg *m;
  sipsrv_addr rr;

  world_app(&w, APP_HOLD, 180, 0);
  send_req(&w, REQ(.method = "INVITE", .headers = "Record-Route: <sip:p1.example.com;lr>\r\n"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  ck_assert_int_eq(sipsrv_msg_status(m), 180);
  ck_assert_msg(sipsrv_msg_addr(m, SIPSRV_HDR_RECORD_ROUTE, 0, &rr) == 0,
                "a 180 with a To tag (early dialog) lacks the Record-Route (RFC 3261 12.1.1)");
  ck_assert_str_eq(rr.uri.host, "p1.example.com");
  ck_assert_msg(sipsrv_msg_addr(m, SIPSRV_HDR_CONTACT, 0, &rr) == 0,
                "a 180 with a To tag (early dialog) lacks a Contact (RFC 3261 12.1.1)");
  check_contact(m, "sipsrv", "udp");
  sipsrv_msg_free(m);
  /* The IST's own 100 (no To tag, no dialog) carries neither (8.2.6.1). */
  w.app.provisional = 0;
  send_req(&w, REQ(.method = "INVITE", .call_id = "trying@h", .branch = "z9hG4bKtry",
                   .headers = "Record-Route: <sip:p1.example.com;lr>\r\n"));
  run_until(&w, w.clock.now_ms + 200);
  ck_assert_uint_eq(w.udp.nsent, 2);
  m = rsp_at(&w.udp, 1);
  ck_assert_int_eq(sipsrv_msg_status(m), 100);
  hdr_absent(m, "Contact");
  hdr_absent(m, "Record-Route");
  sipsrv_msg_free(m);
  world_fini(&w);
}
END_TEST

/* The Contact names the transport the INVITE came on, and cfg.contact_user. */
START_TEST(uas_app_contact_tcp)
{
  world w;
  sipsrv_uas_cfg cfg;
  sipsrv_msg *m;

  world_core(&w, NULL);
  cfg = app_cfg(&w);
  cfg.contact_user = "svc";
  w.app.mode = APP_ANSWER;
  w.app.final = 200;
  world_uas(&w, &cfg);
  send_req(&w, REQ(.method = "INVITE", .tcp = true));
  ck_assert_uint_eq(w.udp.nsent, 0);
  ck_assert_uint_eq(w.tcp.nsent, 1);
  ck_assert_uint_eq(w.tcp.sent[0].conn, TCP_CONN);        /* 18.2.2: the same connection */
  m = rsp_at(&w.tcp, 0);
  ck_assert_int_eq(sipsrv_msg_status(m), 200);
  check_contact(m, "svc", "tcp");
  sipsrv_msg_free(m);

  send_req(&w, REQ(.method = "INVITE", .call_id = "udp@h", .branch = "z9hG4bKu"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  check_contact(m, "svc", "udp");
  sipsrv_msg_free(m);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 2);
  world_fini(&w);
}
END_TEST

START_TEST(uas_app_user_roundtrip)
{
  world w;
  int a, b;

  world_app(&w, APP_HOLD, 0, 0);
  send_req(&w, REQ(.method = "OPTIONS"));
  ck_assert_uint_eq(w.app.nheld, 1);
  ck_assert_ptr_null(sipsrv_request_user(w.app.held[0]));
  sipsrv_request_set_user(w.app.held[0], &a);
  ck_assert_ptr_eq(sipsrv_request_user(w.app.held[0]), &a);
  sipsrv_request_set_user(w.app.held[0], &b);
  ck_assert_ptr_eq(sipsrv_request_user(w.app.held[0]), &b);
  sipsrv_request_set_user(w.app.held[0], NULL);
  ck_assert_ptr_null(sipsrv_request_user(w.app.held[0]));
  ck_assert_int_eq(sipsrv_request_respond(w.app.held[0], 200, NULL, NULL), 0);
  world_fini(&w);
}
END_TEST

/* Returning 0 from on_request gives the built-in behaviour: OPTIONS 200
 * with Allow, INVITE 480 (with the tag of a 180 the application sent). */
START_TEST(uas_app_decline_builtin)
{
  world w;
  sipsrv_msg *m;
  char tag180[64], tag480[64];

  world_app(&w, APP_DECLINE, 0, 0);
  send_req(&w, REQ(.method = "OPTIONS"));
  ck_assert_uint_eq(w.app.requests, 1);
  ck_assert_int_eq(w.app.method[0], SIPSRV_METHOD_OPTIONS);
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  check_rsp(m, 200, "call-1@127.0.0.1", 1, "OPTIONS", "z9hG4bKuas1");
  hdr_eq(m, "Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS");
  hdr_eq(m, "Accept", "application/sdp");
  sipsrv_msg_free(m);

  w.app.provisional = 180;
  send_req(&w, REQ(.method = "INVITE", .call_id = "decl@h", .branch = "z9hG4bKd"));
  ck_assert_uint_eq(w.app.requests, 2);
  ck_assert_int_eq(w.app.respond_rc[1], 0);
  ck_assert_uint_eq(w.udp.nsent, 3);
  m = rsp_at(&w.udp, 1);
  ck_assert_int_eq(sipsrv_msg_status(m), 180);
  to_tag_of(m, tag180, sizeof tag180);
  sipsrv_msg_free(m);
  m = rsp_at(&w.udp, 2);
  check_rsp(m, 480, "decl@h", 1, "INVITE", "z9hG4bKd");
  to_tag_of(m, tag480, sizeof tag480);
  sipsrv_msg_free(m);
  ck_assert_str_eq(tag480, tag180);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 0);

  /* Requests the built-in checks reject never reach the application. */
  send_req(&w, REQ(.method = "FOO", .branch = "z9hG4bKfoo"));
  ck_assert_uint_eq(w.app.requests, 2);
  ck_assert_int_eq(status_at(&w.udp, 3), 501);
  world_fini(&w);
}
END_TEST

/* sipsrv_request_respond: a status outside 100-699 is SIPSRV_E_INVAL and
 * sends nothing; a 101-199 to a non-INVITE is refused (RFC 4320); the
 * request stays answerable after each. */
START_TEST(uas_app_respond_errors)
{
  world w;

  world_app(&w, APP_HOLD, 0, 0);
  send_req(&w, REQ(.method = "OPTIONS"));
  send_req(&w, REQ(.method = "INVITE", .call_id = "inv@h", .branch = "z9hG4bKi"));
  ck_assert_uint_eq(w.app.nheld, 2);
  ck_assert_int_eq(sipsrv_request_respond(NULL, 200, NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_request_respond(w.app.held[0], 99, NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_request_respond(w.app.held[0], 700, NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_request_respond(w.app.held[0], 0, NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_request_respond(w.app.held[0], -200, NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_request_respond(w.app.held[1], 99, NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_request_respond(w.app.held[1], 700, NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_request_respond(w.app.held[0], 180, NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_uint_eq(w.udp.nsent, 0);
  ck_assert_int_eq(sipsrv_request_respond(w.app.held[0], 200, NULL, NULL), 0);
  ck_assert_int_eq(sipsrv_request_respond(w.app.held[1], 699, NULL, NULL), 0);
  ck_assert_uint_eq(w.udp.nsent, 2);
  ck_assert_int_eq(status_at(&w.udp, 0), 200);
  ck_assert_int_eq(status_at(&w.udp, 1), 699);
  world_fini(&w);
}
END_TEST

/* Extra headers and a body given in opts go out; to_tag in opts is ignored
 * (the UAS's tag is used). */
START_TEST(uas_app_respond_opts)
{
  world w;
  sipsrv_reply_opts o = SIPSRV_REPLY_OPTS_INIT;
  sipsrv_msg *m;
  const void *body;
  size_t len;
  char tag180[64], tag200[64];

  world_app(&w, APP_HOLD, 180, 0);
  send_req(&w, REQ(.method = "INVITE"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  to_tag_of(m, tag180, sizeof tag180);
  sipsrv_msg_free(m);
  o.to_tag = "ignored";
  o.headers = "X-Test: one";
  o.body = "v=0\r\n";
  o.body_len = 5;
  o.content_type = "application/sdp";
  ck_assert_int_eq(sipsrv_request_respond(w.app.held[0], 200, "Fine", &o), 0);
  ck_assert_uint_eq(w.udp.nsent, 2);
  m = rsp_at(&w.udp, 1);
  ck_assert_int_eq(sipsrv_msg_status(m), 200);
  ck_assert_str_eq(sipsrv_msg_phrase(m), "Fine");
  to_tag_of(m, tag200, sizeof tag200);
  ck_assert_str_eq(tag200, tag180);
  hdr_eq(m, "X-Test", "one");
  hdr_eq(m, "Content-Type", "application/sdp");
  ck_assert_int_eq(sipsrv_msg_body(m, &body, &len), 0);
  ck_assert_uint_eq(len, 5);
  ck_assert_int_eq(memcmp(body, "v=0\r\n", 5), 0);
  check_contact(m, "sipsrv", "udp");
  sipsrv_msg_free(m);
  world_fini(&w);
}
END_TEST

/* An allocator that never gives memory back before the test ends: freed
 * blocks are filled with a pattern and kept, so a write after free shows as
 * a changed pattern in a plain run (and not only under valgrind). */
typedef union qhdr {
  struct {
    size_t size;
    union qhdr *next;
  } h;
  max_align_t align;
} qhdr;

typedef struct qalloc {
  qhdr *freed;
} qalloc;

#define QPOISON 0xA5

static void *q_malloc(size_t size, void *user)
{
  qhdr *h = malloc(sizeof *h + size);
  (void)user;
  if (!h)
    return NULL;
  h->h.size = size;
  h->h.next = NULL;
  return h + 1;
}

static void q_free(void *p, void *user)
{
  qalloc *q = user;
  qhdr *h;
  if (!p)
    return;
  h = (qhdr *)p - 1;
  memset(p, QPOISON, h->h.size);
  h->h.next = q->freed;
  q->freed = h;
}

static void *q_realloc(void *p, size_t size, void *user)
{
  void *n = q_malloc(size, user);
  if (!n)
    return NULL;
  if (p) {
    qhdr *h = (qhdr *)p - 1;
    memcpy(n, p, h->h.size < size ? h->h.size : size);
    q_free(p, user);
  }
  return n;
}

/* The number of freed blocks written after they were freed; frees them all. */
static unsigned q_drain(qalloc *q)
{
  unsigned bad = 0;
  while (q->freed) {
    qhdr *h = q->freed;
    const unsigned char *p = (const unsigned char *)(h + 1);
    q->freed = h->h.next;
    for (size_t i = 0; i < h->h.size; i++)
      if (p[i] != QPOISON) {
        bad++;
        break;
      }
    free(h);
  }
  return bad;
}

/* An application that answers finally in on_request and returns 0 breaks
 * the contract of sipsrv_uas_request_cb, but the UAS checks r->done after
 * the callback to tolerate it, and r was freed by the final answer: the
 * UAS writes and reads freed memory (a use after free). It should send
 * only the application's answer, and touch nothing freed. */
START_TEST(uas_app_answer_then_decline)
{
  world w;
  qalloc q = { NULL };
  sipsrv_allocator alloc = { q_malloc, q_realloc, q_free, &q };
  sipsrv_uas_cfg cfg;
  unsigned bad;

  world_core(&w, &alloc);
  cfg = app_cfg(&w);
  w.app.mode = APP_ANSWER_DECLINE;
  w.app.final = 486;
  world_uas(&w, &cfg);
  send_req(&w, REQ(.method = "OPTIONS"));
  ck_assert_uint_eq(w.app.requests, 1);
  ck_assert_int_eq(w.app.respond_rc[0], 0);
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_int_eq(status_at(&w.udp, 0), 486);
  world_fini(&w);
  bad = q_drain(&q);
  ck_assert_msg(bad == 0, "%u block(s) written after free (sipsrv_request after its final "
                "answer, lib/roles/uas.c uas_request: r->app = false)", bad);
}
END_TEST

/* The same use after free without any misuse: the application's 180 fails
 * in the transport (RFC 3261 17.2.4), sipsrv_request_respond returns
 * SIPSRV_E_IO and the request is gone (the UAS has told on_cancel, inside
 * on_request); the application then returns 0, "not mine", and the UAS
 * writes r->app, reads r->done and (with the C library's allocator) answers
 * the freed request with its built-in 480. */
START_TEST(uas_app_io_error_then_decline)
{
  world w;
  qalloc q = { NULL };
  sipsrv_allocator alloc = { q_malloc, q_realloc, q_free, &q };
  sipsrv_uas_cfg cfg;
  unsigned bad;
  int rc;
  unsigned cancels;

  world_core(&w, &alloc);
  cfg = app_cfg(&w);
  w.app.mode = APP_DECLINE;
  w.app.provisional = 180;
  world_uas(&w, &cfg);
  w.udp.fail_next = 1;
  send_req(&w, REQ(.method = "INVITE"));
  rc = w.app.respond_rc[0];
  cancels = w.app.cancels;
  world_fini(&w);
  bad = q_drain(&q);
  ck_assert_int_eq(rc, SIPSRV_E_IO);
  ck_assert_uint_eq(cancels, 1);
  ck_assert_msg(bad == 0, "%u block(s) written after free (sipsrv_request freed by the "
                "transport error, then lib/roles/uas.c uas_request: r->app = false)", bad);
}
END_TEST

/* ---- 2xx retransmission (RFC 3261 13.3.1.4) ----------------------------------- */

/* The times, after the first send, at which the 2xx goes again: T1, then
 * intervals doubling up to T2: T1, 3T1, 7T1, 7T1+T2, ... below 64*T1. */
static size_t retx_schedule(uint64_t *at, size_t max)
{
  uint64_t t = 0, iv = T1;
  size_t n = 0;
  while (t + iv < 64 * T1 && n < max) {
    t += iv;
    at[n++] = t;
    iv = iv * 2 < T2 ? iv * 2 : T2;
  }
  return n;
}

START_TEST(uas_retx_until_ack)
{
  world w;
  uint64_t t0, at[32];
  size_t n = retx_schedule(at, 32);
  char tag[64];
  sipsrv_msg *m;

  ck_assert_uint_eq(n, 10);
  ck_assert_uint_eq(at[0], T1);
  ck_assert_uint_eq(at[1], 3 * T1);
  ck_assert_uint_eq(at[2], 7 * T1);
  ck_assert_uint_eq(at[3], 7 * T1 + T2);
  world_app(&w, APP_ANSWER, 0, 200);
  t0 = w.clock.now_ms;
  send_req(&w, REQ(.method = "INVITE", .call_id = "retx@h"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  to_tag_of(m, tag, sizeof tag);
  sipsrv_msg_free(m);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 1);

  /* Each copy exactly at its time, none before, byte for byte the same. */
  for (size_t i = 0; i < 4; i++) {
    run_until(&w, t0 + at[i] - 1);
    ck_assert_uint_eq(w.udp.nsent, 1 + i);
    run_until(&w, t0 + at[i]);
    ck_assert_uint_eq(w.udp.nsent, 2 + i);
    ck_assert_uint_eq(w.udp.sent[1 + i].at, t0 + at[i]);
    ck_assert_msg(sent_same(&w.udp.sent[0], &w.udp.sent[1 + i]), "copy %zu differs:\n%s\n--\n%s",
                  i, w.udp.sent[0].data, w.udp.sent[1 + i].data);
  }

  /* The ACK (a new branch, the dialog's tags) stops them for good. */
  run_until(&w, t0 + at[3] + 100);
  send_req(&w, REQ(.method = "ACK", .call_id = "retx@h", .to_tag = tag,
                   .branch = "z9hG4bKack"));
  ck_assert_uint_eq(w.app.requests, 1);                   /* absorbed by the UAS */
  run_until(&w, t0 + 200 * T1);
  ck_assert_uint_eq(w.udp.nsent, 5);
  ck_assert_uint_eq(w.app.dialog_ends, 0);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 1);
  world_fini(&w);
}
END_TEST

/* An ACK with another To tag (or From tag, or Call-ID) is not the dialog's:
 * the 2xx keeps going. */
START_TEST(uas_retx_ack_wrong_tags)
{
  world w;
  uint64_t t0;
  char tag[64];
  sipsrv_msg *m;

  world_app(&w, APP_ANSWER, 0, 200);
  t0 = w.clock.now_ms;
  send_req(&w, REQ(.method = "INVITE", .call_id = "wrong@h"));
  m = rsp_at(&w.udp, 0);
  to_tag_of(m, tag, sizeof tag);
  sipsrv_msg_free(m);
  send_req(&w, REQ(.method = "ACK", .call_id = "wrong@h", .to_tag = "0123456789abcdef",
                   .branch = "z9hG4bKa1"));
  send_req(&w, REQ(.method = "ACK", .call_id = "wrong@h", .to_tag = tag, .from_tag = "other",
                   .branch = "z9hG4bKa2"));
  send_req(&w, REQ(.method = "ACK", .call_id = "other@h", .to_tag = tag,
                   .branch = "z9hG4bKa3"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  run_until(&w, t0 + 3 * T1);
  ck_assert_uint_eq(w.udp.nsent, 3);
  send_req(&w, REQ(.method = "ACK", .call_id = "wrong@h", .to_tag = tag,
                   .branch = "z9hG4bKa4"));
  run_until(&w, t0 + 100 * T1);
  ck_assert_uint_eq(w.udp.nsent, 3);
  ck_assert_uint_eq(w.app.dialog_ends, 0);
  world_fini(&w);
}
END_TEST

/* No ACK: the copies go at their times up to 64*T1; then the dialog ends
 * with 408 (13.3.1.4: "the dialog is confirmed, but the session SHOULD be
 * terminated"; this UAS sends no BYE) and nothing more is sent. */
START_TEST(uas_retx_no_ack_408)
{
  world w;
  uint64_t t0, at[32];
  size_t n = retx_schedule(at, 32);

  world_app(&w, APP_ANSWER, 0, 200);
  t0 = w.clock.now_ms;
  send_req(&w, REQ(.method = "INVITE", .call_id = "noack@h"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  run_until(&w, t0 + 64 * T1 - 1);
  ck_assert_uint_eq(w.udp.nsent, 1 + n);
  for (size_t i = 0; i < n; i++) {
    ck_assert_uint_eq(w.udp.sent[1 + i].at, t0 + at[i]);
    ck_assert(sent_same(&w.udp.sent[0], &w.udp.sent[1 + i]));
  }
  ck_assert_uint_eq(w.app.dialog_ends, 0);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 1);

  run_until(&w, t0 + 64 * T1);
  ck_assert_uint_eq(w.app.dialog_ends, 1);
  ck_assert_int_eq(w.app.end_status[0], 408);
  ck_assert_str_eq(w.app.end_call_id[0], "noack@h");
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 0);
  run_until(&w, t0 + 200 * T1);
  ck_assert_uint_eq(w.udp.nsent, 1 + n);
  ck_assert_uint_eq(w.app.dialog_ends, 1);
  world_fini(&w);
}
END_TEST

/* Over TCP the 2xx is retransmitted too, on the same connection: 13.3.1.4
 * makes no exception for reliable transports ("the response is
 * retransmitted periodically even if the transport at the UAS is
 * reliable"), and this UAS does so. */
START_TEST(uas_retx_tcp)
{
  world w;
  uint64_t t0;
  char tag[64];
  sipsrv_msg *m;

  world_app(&w, APP_ANSWER, 0, 200);
  t0 = w.clock.now_ms;
  send_req(&w, REQ(.method = "INVITE", .call_id = "tcp@h", .tcp = true));
  ck_assert_uint_eq(w.tcp.nsent, 1);
  m = rsp_at(&w.tcp, 0);
  to_tag_of(m, tag, sizeof tag);
  check_contact(m, "sipsrv", "tcp");
  sipsrv_msg_free(m);
  run_until(&w, t0 + T1 - 1);
  ck_assert_uint_eq(w.tcp.nsent, 1);
  run_until(&w, t0 + T1);
  ck_assert_uint_eq(w.tcp.nsent, 2);
  run_until(&w, t0 + 3 * T1);
  ck_assert_uint_eq(w.tcp.nsent, 3);
  for (size_t i = 1; i < 3; i++) {
    ck_assert_uint_eq(w.tcp.sent[i].conn, TCP_CONN);
    ck_assert(sent_same(&w.tcp.sent[0], &w.tcp.sent[i]));
  }
  send_req(&w, REQ(.method = "ACK", .call_id = "tcp@h", .to_tag = tag, .branch = "z9hG4bKta",
                   .tcp = true));
  run_until(&w, t0 + 200 * T1);
  ck_assert_uint_eq(w.tcp.nsent, 3);
  ck_assert_uint_eq(w.udp.nsent, 0);
  ck_assert_uint_eq(w.app.dialog_ends, 0);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 1);
  world_fini(&w);
}
END_TEST

/* ---- dialogs (RFC 3261 12, 15.1.2) ---------------------------------------- */

/* 15.1.2: a BYE with the dialog's Call-ID and tags gets 200 and ends it. */
START_TEST(uas_dialog_bye_200)
{
  world w;
  char tag[64], tag2[64];
  sipsrv_msg *m;

  world_app(&w, APP_ANSWER, 0, 200);
  make_dialog(&w, "d1@h", 1, tag, sizeof tag);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 1);
  make_dialog(&w, "d2@h", 1, tag2, sizeof tag2);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 2);
  ck_assert_str_ne(tag, tag2);
  ck_assert_uint_eq(w.udp.nsent, 2);
  ck_assert_uint_eq(w.app.requests, 2);

  send_req(&w, REQ(.method = "BYE", .call_id = "d1@h", .to_tag = tag, .cseq = 2,
                   .branch = "z9hG4bKbye1"));
  ck_assert_uint_eq(w.udp.nsent, 3);
  m = rsp_at(&w.udp, 2);
  check_rsp(m, 200, "d1@h", 2, "BYE", "z9hG4bKbye1");
  to_tag_of(m, tag2, sizeof tag2);
  ck_assert_str_eq(tag2, tag);                            /* the dialog's tag, kept */
  sipsrv_msg_free(m);
  ck_assert_uint_eq(w.app.dialog_ends, 1);
  ck_assert_int_eq(w.app.end_status[0], 200);
  ck_assert_str_eq(w.app.end_call_id[0], "d1@h");
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 1);
  /* The UAS answers the BYE itself: the application hears on_dialog_end. */
  ck_assert_uint_eq(w.app.requests, 2);

  /* A retransmitted BYE gets the same 200 from its transaction (17.2.2);
   * a new BYE for the ended dialog gets 481 (12.2.2). */
  send_req(&w, REQ(.method = "BYE", .call_id = "d1@h", .to_tag = tag, .cseq = 2,
                   .branch = "z9hG4bKbye1"));
  ck_assert_uint_eq(w.udp.nsent, 4);
  ck_assert(sent_same(&w.udp.sent[2], &w.udp.sent[3]));
  send_req(&w, REQ(.method = "BYE", .call_id = "d1@h", .to_tag = tag, .cseq = 3,
                   .branch = "z9hG4bKbye2"));
  ck_assert_uint_eq(w.udp.nsent, 5);
  ck_assert_int_eq(status_at(&w.udp, 4), 481);
  ck_assert_uint_eq(w.app.dialog_ends, 1);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 1);
  world_fini(&w);
}
END_TEST

/* A BYE ends a dialog whose 2xx is not ACKed yet, and stops the 2xx. */
START_TEST(uas_dialog_bye_before_ack)
{
  world w;
  uint64_t t0;
  char tag[64];
  sipsrv_msg *m;

  world_app(&w, APP_ANSWER, 0, 200);
  t0 = w.clock.now_ms;
  send_req(&w, REQ(.method = "INVITE", .call_id = "early-bye@h"));
  m = rsp_at(&w.udp, 0);
  to_tag_of(m, tag, sizeof tag);
  sipsrv_msg_free(m);
  send_req(&w, REQ(.method = "BYE", .call_id = "early-bye@h", .to_tag = tag, .cseq = 2,
                   .branch = "z9hG4bKbye"));
  ck_assert_uint_eq(w.udp.nsent, 2);
  ck_assert_int_eq(status_at(&w.udp, 1), 200);
  ck_assert_uint_eq(w.app.dialog_ends, 1);
  ck_assert_int_eq(w.app.end_status[0], 200);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 0);
  run_until(&w, t0 + 200 * T1);
  ck_assert_uint_eq(w.udp.nsent, 2);
  ck_assert_uint_eq(w.app.dialog_ends, 1);
  world_fini(&w);
}
END_TEST

/* 12.2.2: a request with a To tag that matches no dialog gets 481. */
START_TEST(uas_dialog_bye_unknown_tag_481)
{
  world w;
  char tag[64];
  sipsrv_msg *m;

  world_app(&w, APP_ANSWER, 0, 200);
  make_dialog(&w, "d@h", 1, tag, sizeof tag);
  send_req(&w, REQ(.method = "BYE", .call_id = "d@h", .to_tag = "0123456789abcdef", .cseq = 2,
                   .branch = "z9hG4bKbye"));
  ck_assert_uint_eq(w.udp.nsent, 2);
  m = rsp_at(&w.udp, 1);
  check_rsp(m, 481, "d@h", 2, "BYE", "z9hG4bKbye");
  sipsrv_msg_free(m);
  /* The right tag with another From tag or Call-ID is no better. */
  send_req(&w, REQ(.method = "BYE", .call_id = "d@h", .to_tag = tag, .from_tag = "x", .cseq = 2,
                   .branch = "z9hG4bKbye2"));
  send_req(&w, REQ(.method = "BYE", .call_id = "e@h", .to_tag = tag, .cseq = 2,
                   .branch = "z9hG4bKbye3"));
  ck_assert_uint_eq(w.udp.nsent, 4);
  ck_assert_int_eq(status_at(&w.udp, 2), 481);
  ck_assert_int_eq(status_at(&w.udp, 3), 481);
  ck_assert_uint_eq(w.app.dialog_ends, 0);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 1);
  ck_assert_uint_eq(w.app.requests, 1);
  world_fini(&w);
}
END_TEST

/* A BYE outside any dialog (no To tag) gets 481 (15.1.2, 12.2.2). */
START_TEST(uas_dialog_bye_no_tag_481)
{
  world w;
  sipsrv_msg *m;
  char tag[64];

  world_app(&w, APP_ANSWER, 0, 200);
  send_req(&w, REQ(.method = "BYE", .call_id = "none@h", .cseq = 2));
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  check_rsp(m, 481, "none@h", 2, "BYE", "z9hG4bKuas1");
  to_tag_of(m, tag, sizeof tag);
  ck_assert(is_hex16(tag));
  sipsrv_msg_free(m);
  ck_assert_uint_eq(w.app.requests, 0);
  world_fini(&w);
}
END_TEST

/* 12.2.2: any request with a To tag for no dialog gets 481, without the
 * application. */
START_TEST(uas_dialog_other_no_dialog_481)
{
  world w;

  world_app(&w, APP_ANSWER, 0, 200);
  send_req(&w, REQ(.method = "OPTIONS", .to_tag = "0123456789abcdef", .cseq = 2));
  send_req(&w, REQ(.method = "INVITE", .to_tag = "0123456789abcdef", .cseq = 3,
                   .branch = "z9hG4bKreinv"));
  ck_assert_uint_eq(w.udp.nsent, 2);
  ck_assert_int_eq(status_at(&w.udp, 0), 481);
  ck_assert_int_eq(status_at(&w.udp, 1), 481);
  ck_assert_uint_eq(w.app.requests, 0);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 0);
  world_fini(&w);
}
END_TEST

/* 12.2.2: a CSeq lower than the last one of the dialog gets 500; an equal
 * or higher one is taken. */
START_TEST(uas_dialog_lower_cseq_500)
{
  world w;
  char tag[64];
  sipsrv_msg *m;

  world_app(&w, APP_ANSWER, 0, 200);
  make_dialog(&w, "cseq@h", 5, tag, sizeof tag);
  w.app.mode = APP_DECLINE;
  send_req(&w, REQ(.method = "OPTIONS", .call_id = "cseq@h", .to_tag = tag, .cseq = 4,
                   .branch = "z9hG4bKo4"));
  ck_assert_uint_eq(w.udp.nsent, 2);
  m = rsp_at(&w.udp, 1);
  check_rsp(m, 500, "cseq@h", 4, "OPTIONS", "z9hG4bKo4");
  sipsrv_msg_free(m);
  send_req(&w, REQ(.method = "OPTIONS", .call_id = "cseq@h", .to_tag = tag, .cseq = 7,
                   .branch = "z9hG4bKo7"));
  ck_assert_int_eq(status_at(&w.udp, 2), 200);
  send_req(&w, REQ(.method = "OPTIONS", .call_id = "cseq@h", .to_tag = tag, .cseq = 6,
                   .branch = "z9hG4bKo6"));
  ck_assert_int_eq(status_at(&w.udp, 3), 500);
  send_req(&w, REQ(.method = "BYE", .call_id = "cseq@h", .to_tag = tag, .cseq = 6,
                   .branch = "z9hG4bKb6"));
  ck_assert_int_eq(status_at(&w.udp, 4), 500);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 1);
  ck_assert_uint_eq(w.app.dialog_ends, 0);
  /* The application saw the INVITE and the OPTIONS with CSeq 7 only. */
  ck_assert_uint_eq(w.app.requests, 2);
  send_req(&w, REQ(.method = "BYE", .call_id = "cseq@h", .to_tag = tag, .cseq = 8,
                   .branch = "z9hG4bKb8"));
  ck_assert_uint_eq(w.udp.nsent, 6);
  ck_assert_int_eq(status_at(&w.udp, 5), 200);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 0);
  world_fini(&w);
}
END_TEST

/* An in-dialog OPTIONS goes to on_request; declined, it gets the built-in
 * 200 with Allow. Either way the To tag is the dialog's. */
START_TEST(uas_dialog_options_in_dialog)
{
  world w;
  char tag[64], got[64];
  sipsrv_msg *m;
  const sipsrv_msg *req;
  sipsrv_addr to;

  world_app(&w, APP_ANSWER, 0, 200);
  make_dialog(&w, "opt@h", 1, tag, sizeof tag);
  w.app.mode = APP_HOLD;
  send_req(&w, REQ(.method = "OPTIONS", .call_id = "opt@h", .to_tag = tag, .cseq = 2,
                   .branch = "z9hG4bKo2"));
  ck_assert_uint_eq(w.app.requests, 2);
  ck_assert_int_eq(w.app.method[1], SIPSRV_METHOD_OPTIONS);
  ck_assert_uint_eq(w.app.nheld, 1);
  req = sipsrv_request_msg(w.app.held[0]);
  ck_assert_int_eq(sipsrv_msg_to(req, &to), 0);
  ck_assert_str_eq(to.tag, tag);
  ck_assert_int_eq(sipsrv_request_respond(w.app.held[0], 200, NULL, NULL), 0);
  ck_assert_uint_eq(w.udp.nsent, 2);
  m = rsp_at(&w.udp, 1);
  check_rsp(m, 200, "opt@h", 2, "OPTIONS", "z9hG4bKo2");
  to_tag_of(m, got, sizeof got);
  ck_assert_str_eq(got, tag);
  hdr_absent(m, "Contact");
  sipsrv_msg_free(m);

  w.app.mode = APP_DECLINE;
  send_req(&w, REQ(.method = "OPTIONS", .call_id = "opt@h", .to_tag = tag, .cseq = 3,
                   .branch = "z9hG4bKo3"));
  ck_assert_uint_eq(w.app.requests, 3);
  ck_assert_uint_eq(w.udp.nsent, 3);
  m = rsp_at(&w.udp, 2);
  check_rsp(m, 200, "opt@h", 3, "OPTIONS", "z9hG4bKo3");
  to_tag_of(m, got, sizeof got);
  ck_assert_str_eq(got, tag);
  hdr_eq(m, "Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS");
  sipsrv_msg_free(m);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 1);
  world_fini(&w);
}
END_TEST

/* A re-INVITE in a dialog (RFC 3261 14.2) answered 200 keeps the one
 * dialog: its 2xx is retransmitted until its ACK (13.3.1.4), which stops
 * it, and the dialog does not end. */
START_TEST(uas_dialog_reinvite)
{
  world w;
  uint64_t t0;
  char tag[64], got[64];
  sipsrv_msg *m;
  size_t after_ack;

  world_app(&w, APP_ANSWER, 0, 200);
  make_dialog(&w, "re@h", 1, tag, sizeof tag);
  t0 = w.clock.now_ms;
  send_req(&w, REQ(.method = "INVITE", .call_id = "re@h", .to_tag = tag, .cseq = 2,
                   .branch = "z9hG4bKre2"));
  ck_assert_uint_eq(w.app.requests, 2);
  ck_assert_uint_eq(w.udp.nsent, 2);
  m = rsp_at(&w.udp, 1);
  check_rsp(m, 200, "re@h", 2, "INVITE", "z9hG4bKre2");
  to_tag_of(m, got, sizeof got);
  ck_assert_str_eq(got, tag);
  check_contact(m, "sipsrv", "udp");
  sipsrv_msg_free(m);
  run_until(&w, t0 + T1);
  ck_assert_uint_eq(w.udp.nsent, 3);                      /* retransmitted */
  send_req(&w, REQ(.method = "ACK", .call_id = "re@h", .to_tag = tag, .cseq = 2,
                   .branch = "z9hG4bKre2ack"));
  after_ack = w.udp.nsent;
  run_until(&w, t0 + 200 * T1);
  ck_assert_msg(w.udp.nsent == after_ack && w.app.dialog_ends == 0 &&
                    sipsrv_uas_dialogs(w.uas) == 1,
                "re-INVITE: %zu 2xx sent after its ACK, on_dialog_end %u time(s) (status %d), "
                "%zu dialog(s) for one",
                w.udp.nsent - after_ack, w.app.dialog_ends,
                w.app.dialog_ends ? w.app.end_status[0] : 0, sipsrv_uas_dialogs(w.uas));
  world_fini(&w);
}
END_TEST

/* ---- CANCEL (RFC 3261 9.2) ------------------------------------------------- */

/* The INVITE is answered 180 and held; the CANCEL (its branch) gets 200,
 * on_cancel gets the held request, then the INVITE gets 487 with the 180's
 * tag; the ACK for the 487 is absorbed by the INVITE transaction. */
START_TEST(uas_cancel_487)
{
  world w;
  int mark;
  sipsrv_request *held;
  char tag180[64], tag[64];
  sipsrv_msg *m;
  uint64_t t487;

  world_app(&w, APP_HOLD, 180, 0);
  send_req(&w, REQ(.method = "INVITE", .call_id = "cancel@h", .cseq = 4,
                   .branch = "z9hG4bKinv"));
  ck_assert_uint_eq(w.app.nheld, 1);
  held = w.app.held[0];
  sipsrv_request_set_user(held, &mark);
  ck_assert_uint_eq(w.udp.nsent, 1);
  m = rsp_at(&w.udp, 0);
  to_tag_of(m, tag180, sizeof tag180);
  sipsrv_msg_free(m);

  send_req(&w, REQ(.method = "CANCEL", .call_id = "cancel@h", .cseq = 4,
                   .branch = "z9hG4bKinv"));
  ck_assert_uint_eq(w.app.requests, 1);                   /* the CANCEL is the UAS's */
  ck_assert_uint_eq(w.app.cancels, 1);
  ck_assert_ptr_eq(w.app.cancelled[0], held);             /* the same sipsrv_request */
  ck_assert_int_eq(w.app.cancelled_method[0], SIPSRV_METHOD_INVITE);
  ck_assert_ptr_eq(w.app.cancelled_user[0], &mark);
  ck_assert_uint_eq(w.app.sent_at_cancel[0], 2);          /* after the 200, before the 487 */
  ck_assert_uint_eq(w.udp.nsent, 3);

  m = rsp_at(&w.udp, 1);
  check_rsp(m, 200, "cancel@h", 4, "CANCEL", "z9hG4bKinv");
  to_tag_of(m, tag, sizeof tag);
  ck_assert_str_eq(tag, tag180);      /* 9.2: SHOULD be the tag of the INVITE's response */
  sipsrv_msg_free(m);
  m = rsp_at(&w.udp, 2);
  check_rsp(m, 487, "cancel@h", 4, "INVITE", "z9hG4bKinv");
  to_tag_of(m, tag, sizeof tag);
  ck_assert_str_eq(tag, tag180);
  hdr_absent(m, "Contact");
  sipsrv_msg_free(m);
  t487 = w.udp.sent[2].at;

  /* Until its ACK the 487 is retransmitted (Timer G, 17.2.1)... */
  run_until(&w, t487 + T1);
  ck_assert_uint_eq(w.udp.nsent, 4);
  ck_assert(sent_same(&w.udp.sent[2], &w.udp.sent[3]));
  /* ...the ACK (the INVITE's branch) is absorbed, and it stops. */
  send_req(&w, REQ(.method = "ACK", .call_id = "cancel@h", .cseq = 4, .to_tag = tag180,
                   .branch = "z9hG4bKinv"));
  run_until(&w, t487 + 200 * T1);
  ck_assert_uint_eq(w.udp.nsent, 4);
  ck_assert_uint_eq(w.app.requests, 1);
  ck_assert_uint_eq(w.app.cancels, 1);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 0);
  world_fini(&w);
}
END_TEST

/* An INVITE held without a provisional: the transaction sent 100 (17.2.1);
 * CANCEL still gets 200 then 487. */
START_TEST(uas_cancel_after_100)
{
  world w;
  uint64_t t0;

  world_app(&w, APP_HOLD, 0, 0);
  t0 = w.clock.now_ms;
  send_req(&w, REQ(.method = "INVITE", .call_id = "c100@h"));
  ck_assert_uint_eq(w.udp.nsent, 0);
  run_until(&w, t0 + 200);
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_int_eq(status_at(&w.udp, 0), 100);
  send_req(&w, REQ(.method = "CANCEL", .call_id = "c100@h"));
  ck_assert_uint_eq(w.app.cancels, 1);
  ck_assert_uint_eq(w.udp.nsent, 3);
  ck_assert_int_eq(status_at(&w.udp, 1), 200);
  ck_assert_int_eq(status_at(&w.udp, 2), 487);
  world_fini(&w);
}
END_TEST

/* 9.2: a CANCEL no transaction matches gets 481. */
START_TEST(uas_cancel_no_match_481)
{
  world w;
  sipsrv_msg *m;

  world_app(&w, APP_HOLD, 180, 0);
  send_req(&w, REQ(.method = "INVITE", .call_id = "held@h", .branch = "z9hG4bKheld"));
  send_req(&w, REQ(.method = "CANCEL", .call_id = "held@h", .branch = "z9hG4bKother"));
  ck_assert_uint_eq(w.udp.nsent, 2);
  m = rsp_at(&w.udp, 1);
  check_rsp(m, 481, "held@h", 1, "CANCEL", "z9hG4bKother");
  sipsrv_msg_free(m);
  ck_assert_uint_eq(w.app.cancels, 0);
  ck_assert_ptr_nonnull(w.app.held[0]);
  ck_assert_int_eq(sipsrv_request_respond(w.app.held[0], 486, NULL, NULL), 0);
  ck_assert_int_eq(status_at(&w.udp, 2), 486);
  world_fini(&w);
}
END_TEST

/* 9.2: a CANCEL after the INVITE's final response gets 200 and changes
 * nothing: no 487, no on_cancel. */
START_TEST(uas_cancel_after_final)
{
  world w;

  world_app(&w, APP_ANSWER, 0, 486);
  send_req(&w, REQ(.method = "INVITE", .call_id = "fin@h", .branch = "z9hG4bKfin"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_int_eq(status_at(&w.udp, 0), 486);
  send_req(&w, REQ(.method = "CANCEL", .call_id = "fin@h", .branch = "z9hG4bKfin"));
  ck_assert_uint_eq(w.udp.nsent, 2);
  ck_assert_int_eq(status_at(&w.udp, 1), 200);
  ck_assert_uint_eq(w.app.cancels, 0);

  /* The same after a 2xx (the IST in Accepted, RFC 6026). */
  w.app.final = 200;
  send_req(&w, REQ(.method = "INVITE", .call_id = "ok@h", .branch = "z9hG4bKok"));
  ck_assert_uint_eq(w.udp.nsent, 3);
  ck_assert_int_eq(status_at(&w.udp, 2), 200);
  send_req(&w, REQ(.method = "CANCEL", .call_id = "ok@h", .branch = "z9hG4bKok"));
  ck_assert_uint_eq(w.udp.nsent, 4);
  ck_assert_int_eq(status_at(&w.udp, 3), 200);
  ck_assert_uint_eq(w.app.cancels, 0);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 1);
  ck_assert_uint_eq(w.app.requests, 2);
  world_fini(&w);
}
END_TEST

/* ---- merged requests (RFC 3261 8.2.2.2) ------------------------------------ */

/* The same INVITE (Call-ID, From tag, CSeq) on another branch while the
 * first is pending: 482 for the second; the first is untouched. A
 * retransmission on the same branch is the transaction's, not a merge. */
START_TEST(uas_merged_482)
{
  world w;
  sipsrv_msg *m;

  world_app(&w, APP_HOLD, 180, 0);
  send_req(&w, REQ(.method = "INVITE", .call_id = "merge@h", .cseq = 3,
                   .branch = "z9hG4bKpath1"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  send_req(&w, REQ(.method = "INVITE", .call_id = "merge@h", .cseq = 3,
                   .branch = "z9hG4bKpath2"));
  ck_assert_uint_eq(w.app.requests, 1);
  ck_assert_uint_eq(w.udp.nsent, 2);
  m = rsp_at(&w.udp, 1);
  check_rsp(m, 482, "merge@h", 3, "INVITE", "z9hG4bKpath2");
  sipsrv_msg_free(m);

  send_req(&w, REQ(.method = "INVITE", .call_id = "merge@h", .cseq = 3,
                   .branch = "z9hG4bKpath1"));
  ck_assert_uint_eq(w.udp.nsent, 3);
  ck_assert(sent_same(&w.udp.sent[0], &w.udp.sent[2]));   /* the 180 again */

  /* Another CSeq, or another From tag, is a new request. */
  send_req(&w, REQ(.method = "INVITE", .call_id = "merge@h", .cseq = 4,
                   .branch = "z9hG4bKpath3"));
  send_req(&w, REQ(.method = "INVITE", .call_id = "merge@h", .cseq = 3, .from_tag = "fb2",
                   .branch = "z9hG4bKpath4"));
  ck_assert_uint_eq(w.app.requests, 3);
  ck_assert_int_eq(status_at(&w.udp, 3), 180);
  ck_assert_int_eq(status_at(&w.udp, 4), 180);

  ck_assert_int_eq(sipsrv_request_respond(w.app.held[0], 200, NULL, NULL), 0);
  ck_assert_int_eq(status_at(&w.udp, 5), 200);
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 1);
  world_fini(&w);
}
END_TEST

/* 8.2.2.2 checks "against ongoing transactions": an INVITE transaction
 * that sent its final response is still ongoing (Completed, or Accepted
 * for a 2xx) while it absorbs retransmissions, so a merged copy arriving
 * then on another path SHOULD get 482 too, not a second call. */
START_TEST(uas_merged_after_final_482)
{
  world w;
  int status;
  unsigned requests;

  world_app(&w, APP_ANSWER, 0, 486);
  send_req(&w, REQ(.method = "INVITE", .call_id = "mf@h", .branch = "z9hG4bKp1"));
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_int_eq(status_at(&w.udp, 0), 486);
  send_req(&w, REQ(.method = "INVITE", .call_id = "mf@h", .branch = "z9hG4bKp2"));
  ck_assert_uint_eq(w.udp.nsent, 2);
  status = status_at(&w.udp, 1);
  requests = w.app.requests;
  world_fini(&w);
  ck_assert_msg(requests == 1 && status == 482,
                "merged INVITE after the first's final answer: status %d, the application "
                "saw %u request(s)",
                status, requests);
}
END_TEST

/* ---- sipsrv_uas_free with pending requests ---------------------------------- */

/* Each request the application holds goes to on_cancel, then gets 500;
 * dialogs are forgotten (their 2xx stops). */
START_TEST(uas_free_pending)
{
  world w;
  sipsrv_request *inv, *opt;
  sipsrv_msg *m;
  uint32_t seq;
  const char *meth;
  bool seen_inv = false, seen_opt = false;

  world_app(&w, APP_ANSWER, 0, 200);
  send_req(&w, REQ(.method = "INVITE", .call_id = "dlg@h", .branch = "z9hG4bKdlg"));
  ck_assert_uint_eq(sipsrv_uas_dialogs(w.uas), 1);
  w.app.mode = APP_HOLD;
  send_req(&w, REQ(.method = "INVITE", .call_id = "p-inv@h", .branch = "z9hG4bKpi"));
  send_req(&w, REQ(.method = "OPTIONS", .call_id = "p-opt@h", .branch = "z9hG4bKpo", .cseq = 2));
  ck_assert_uint_eq(w.app.nheld, 2);
  inv = w.app.held[0];
  opt = w.app.held[1];
  ck_assert_uint_eq(w.udp.nsent, 1);

  sipsrv_uas_free(w.uas);
  w.uas = NULL;
  ck_assert_uint_eq(w.app.cancels, 2);
  ck_assert(w.app.cancelled[0] == inv || w.app.cancelled[1] == inv);
  ck_assert(w.app.cancelled[0] == opt || w.app.cancelled[1] == opt);
  ck_assert_ptr_ne(w.app.cancelled[0], w.app.cancelled[1]);
  /* on_cancel for each before its 500: one 500 after the first call, two
   * after the second. */
  ck_assert_uint_eq(w.app.sent_at_cancel[0], 1);
  ck_assert_uint_eq(w.app.sent_at_cancel[1], 2);
  ck_assert_uint_eq(w.udp.nsent, 3);
  for (size_t i = 1; i < 3; i++) {
    m = rsp_at(&w.udp, i);
    ck_assert_int_eq(sipsrv_msg_status(m), 500);
    ck_assert_int_eq(sipsrv_msg_cseq(m, &seq, &meth), 0);
    if (strcmp(meth, "INVITE") == 0) {
      ck_assert_str_eq(sipsrv_msg_call_id(m), "p-inv@h");
      seen_inv = true;
    } else {
      ck_assert_str_eq(meth, "OPTIONS");
      ck_assert_str_eq(sipsrv_msg_call_id(m), "p-opt@h");
      seen_opt = true;
    }
    sipsrv_msg_free(m);
  }
  ck_assert(seen_inv && seen_opt);
  ck_assert_uint_eq(w.app.dialog_ends, 0);
  /* The dialog's 2xx is not sent any more. */
  run_until(&w, w.clock.now_ms + 200 * T1);
  for (size_t i = 3; i < w.udp.nsent; i++)
    ck_assert_int_ne(status_at(&w.udp, i), 200);
  world_fini(&w);
}
END_TEST

/* Without on_cancel, the held requests still get 500. */
START_TEST(uas_free_pending_no_cancel_cb)
{
  world w;
  sipsrv_uas_cfg cfg;

  world_core(&w, NULL);
  cfg = app_cfg(&w);
  cfg.on_cancel = NULL;
  w.app.mode = APP_HOLD;
  world_uas(&w, &cfg);
  send_req(&w, REQ(.method = "INVITE"));
  ck_assert_uint_eq(w.app.nheld, 1);
  sipsrv_uas_free(w.uas);
  w.uas = NULL;
  ck_assert_uint_eq(w.app.cancels, 0);
  ck_assert_uint_eq(w.udp.nsent, 1);
  ck_assert_int_eq(status_at(&w.udp, 0), 500);
  world_fini(&w);
}
END_TEST

/* ---- suite --------------------------------------------------------------------- */

static Suite *suite(void)
{
  Suite *s = suite_create("uas");
  TCase *tc;

  tc = tcase_create("new");
  tcase_add_test(tc, uas_new_null_args);
  tcase_add_test(tc, uas_new_bad_version);
  tcase_add_test(tc, uas_new_free_null);
  tcase_add_test(tc, uas_new_free_detaches);
  suite_add_tcase(s, tc);

  tc = tcase_create("builtin");
  tcase_add_test(tc, uas_builtin_options_200);
  tcase_add_test(tc, uas_builtin_options_supported);
  tcase_add_test(tc, uas_builtin_unknown_501);
  tcase_add_test(tc, uas_builtin_register_405);
  tcase_add_test(tc, uas_builtin_require_420);
  tcase_add_test(tc, uas_builtin_body_415);
  tcase_add_test(tc, uas_builtin_scheme_416);
  tcase_add_test(tc, uas_builtin_invite_480);
  suite_add_tcase(s, tc);

  tc = tcase_create("app");
  tcase_add_test(tc, uas_app_null_args);
  tcase_add_test(tc, uas_app_request_msg);
  tcase_add_test(tc, uas_app_request_fields);
  tcase_add_test(tc, uas_app_180_then_200);
  tcase_add_test(tc, uas_app_tag_stable_unique);
  tcase_add_test(tc, uas_app_record_route);
  tcase_add_test(tc, uas_app_18x_record_route_contact);
  tcase_add_test(tc, uas_app_contact_tcp);
  tcase_add_test(tc, uas_app_user_roundtrip);
  tcase_add_test(tc, uas_app_decline_builtin);
  tcase_add_test(tc, uas_app_respond_errors);
  tcase_add_test(tc, uas_app_respond_opts);
  tcase_add_test(tc, uas_app_answer_then_decline);
  tcase_add_test(tc, uas_app_io_error_then_decline);
  suite_add_tcase(s, tc);

  tc = tcase_create("retx");
  tcase_add_test(tc, uas_retx_until_ack);
  tcase_add_test(tc, uas_retx_ack_wrong_tags);
  tcase_add_test(tc, uas_retx_no_ack_408);
  tcase_add_test(tc, uas_retx_tcp);
  suite_add_tcase(s, tc);

  tc = tcase_create("dialog");
  tcase_add_test(tc, uas_dialog_bye_200);
  tcase_add_test(tc, uas_dialog_bye_before_ack);
  tcase_add_test(tc, uas_dialog_bye_unknown_tag_481);
  tcase_add_test(tc, uas_dialog_bye_no_tag_481);
  tcase_add_test(tc, uas_dialog_other_no_dialog_481);
  tcase_add_test(tc, uas_dialog_lower_cseq_500);
  tcase_add_test(tc, uas_dialog_options_in_dialog);
  tcase_add_test(tc, uas_dialog_reinvite);
  suite_add_tcase(s, tc);

  tc = tcase_create("cancel");
  tcase_add_test(tc, uas_cancel_487);
  tcase_add_test(tc, uas_cancel_after_100);
  tcase_add_test(tc, uas_cancel_no_match_481);
  tcase_add_test(tc, uas_cancel_after_final);
  suite_add_tcase(s, tc);

  tc = tcase_create("merged");
  tcase_add_test(tc, uas_merged_482);
  tcase_add_test(tc, uas_merged_after_final_482);
  suite_add_tcase(s, tc);

  tc = tcase_create("free");
  tcase_add_test(tc, uas_free_pending);
  tcase_add_test(tc, uas_free_pending_no_cancel_cb);
  suite_add_tcase(s, tc);

  return s;
}

int main(void)
{
  return harness_run(suite());
}
