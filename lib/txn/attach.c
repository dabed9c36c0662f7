/* The transaction layer of a core: made on first use, it takes the core's
 * accepted messages and offers new requests to the roles attached to it, in
 * the order they attached (ARCHITECTURE.md: a role claims a request or
 * passes). Events of a transaction go to its owner (ss_txn_owner_hdr). */
#include "txn_int.h"

#include "core/fmt.h"
#include "core/limit.h"

#include <sipsrv/error.h>

struct ss_core_txn {
  ss_txn_layer *layer;
  sipsrv_core *core;
  ss_txn_role *roles;       /* in attach order */
};

static ss_core_txn *ct_of(void *user) { return user; }

static const ss_txn_events *events(const ss_txn *t)
{
  const ss_txn_owner_hdr *o = ss_txn_owner(t);
  return o ? o->ev : NULL;
}

/* Flood protection (sipsrv_core_set_limits()): a new request over its
 * source's or its user's rate gets 503 with Retry-After (RFC 3261 21.5.4)
 * from its transaction, which absorbs its retransmissions, or is dropped.
 * CANCEL passes: it ends work, and its INVITE was let in. True when the
 * request was refused. */
static bool over_limit(ss_core_txn *c, ss_txn *st, sipsrv_msg *req)
{
  ss_limiter *lim = ss_core_limiter(c->core);
  sip_t const *sip = req->sip;
  char user[300] = "";
  uint64_t retry_ms;

  if (!ss_limiter_active(lim) || sip->sip_request->rq_method == sip_method_cancel)
    return false;
  if (sip->sip_from && sip->sip_from->a_url->url_host) {
    ss_sb sb = ss_sb_init(user, sizeof user);
    ss_sb_str(&sb, sip->sip_from->a_url->url_user);
    ss_sb_chr(&sb, '@');
    for (const char *h = sip->sip_from->a_url->url_host; *h; h++)
      ss_sb_chr(&sb, (char)(*h >= 'A' && *h <= 'Z' ? *h - 'A' + 'a' : *h));
    if (ss_sb_done(&sb) < 0)
      user[0] = '\0';
  }
  if (ss_limit_request(lim, &ss_txn_peer(st)->addr, user[0] ? user : NULL, ss_core_now(c->core),
                       &retry_ms))
    return false;
  ss_core_counters_of(c->core)->rate_limited++;
  if (ss_limiter_drops(lim)) {
    ss_txn_terminate(st);
  } else {
    char h[40];
    ss_sb sb = ss_sb_init(h, sizeof h);
    sipsrv_reply_opts o = SIPSRV_REPLY_OPTS_INIT;
    sipsrv_msg *rsp;
    ss_sb_str(&sb, "Retry-After: ");
    ss_sb_u64(&sb, (retry_ms + 999) / 1000);
    o.headers = h;
    if (sipsrv_msg_reply(&rsp, req, 503, "Rate Limited", &o) == 0)
      ss_txn_respond(st, rsp);
  }
  return true;
}

static void on_request(void *user, ss_txn *st, sipsrv_msg *req)
{
  ss_core_txn *c = ct_of(user);
  sipsrv_msg *rsp;

  if (over_limit(c, st, req))
    return;
  for (ss_txn_role *r = c->roles; r; r = r->next)
    if (r->request && r->request(r->self, st, req))
      return;
  /* No role takes it: nothing here implements the method (RFC 3261 21.5.2). */
  if (sipsrv_msg_reply(&rsp, req, 501, NULL, NULL) == 0)
    ss_txn_respond(st, rsp);
}

static void on_ack(void *user, ss_txn *ist, sipsrv_msg *ack, const ss_peer *src)
{
  ss_core_txn *c = ct_of(user);
  for (ss_txn_role *r = c->roles; r; r = r->next)
    if (r->ack && r->ack(r->self, ist, ack, src))
      return;
  ss_core_counters_of(c->core)->dropped++;
  ss_core_counters_of(c->core)->dropped_unmatched++;
  sipsrv_msg_free(ack);                  /* an ACK nobody waits for is dropped */
}

static void on_response(void *user, ss_txn *t, sipsrv_msg *rsp)
{
  const ss_txn_events *ev = events(t);
  (void)user;
  if (ev && ev->response)
    ev->response(ss_txn_owner(t), t, rsp);
}

static void on_stray(void *user, sipsrv_msg *rsp, const ss_peer *src)
{
  ss_core_txn *c = ct_of(user);
  for (ss_txn_role *r = c->roles; r; r = r->next)
    if (r->stray_response && r->stray_response(r->self, rsp, src))
      return;
  ss_core_counters_of(c->core)->dropped++;
  ss_core_counters_of(c->core)->dropped_unmatched++;
  sipsrv_msg_free(rsp);
}

static void on_timeout(void *user, ss_txn *t)
{
  const ss_txn_events *ev = events(t);
  (void)user;
  if (ev && ev->timeout)
    ev->timeout(ss_txn_owner(t), t);
}

static void on_transport_error(void *user, ss_txn *t)
{
  const ss_txn_events *ev = events(t);
  (void)user;
  if (ev && ev->transport_error)
    ev->transport_error(ss_txn_owner(t), t);
}

static void on_terminated(void *user, ss_txn *t)
{
  const ss_txn_events *ev = events(t);
  (void)user;
  if (ev && ev->terminated)
    ev->terminated(ss_txn_owner(t), t);
}

static int do_send(void *user, const ss_peer *peer, sipsrv_msg *m)
{
  return ss_core_send(ct_of(user)->core, peer, m);
}

static int do_send_wire(void *user, const ss_peer *peer, const sipsrv_msg *req, int status,
                        const char *buf, size_t len)
{
  return ss_core_send_wire(ct_of(user)->core, peer, req, status, buf, len);
}

static int do_send_request_wire(void *user, const ss_peer *peer, const char *buf, size_t len)
{
  return ss_core_send_request_to(ct_of(user)->core, peer, buf, len);
}

static uint64_t do_now(void *user)
{
  return ss_core_now(ct_of(user)->core);
}

static bool on_early(void *user, sipsrv_msg *m, const ss_peer *src)
{
  ss_core_txn *c = ct_of(user);
  for (ss_txn_role *r = c->roles; r; r = r->next)
    if (r->early && r->early(r->self, m, src))
      return true;
  return false;
}

static bool sink_raw(void *self, const char *data, size_t len, const ss_peer *src, bool response)
{
  ss_core_txn *c = ct_of(self);
  for (ss_txn_role *r = c->roles; r; r = r->next) {
    bool (*hook)(void *, const char *, size_t, const ss_peer *) =
        response ? r->raw_response : r->raw_request;
    if (hook && hook(r->self, data, len, src))
      return true;
  }
  return false;
}

bool ss_core_txn_acks_first(const ss_core_txn *c, const ss_txn_role *r)
{
  for (const ss_txn_role *x = c->roles; x && x != r; x = x->next)
    if (x->ack)
      return false;
  return true;
}

/* The core's sink. */
static void sink_message(void *self, sipsrv_msg *m, const ss_peer *src)
{
  ss_txn_recv(ct_of(self)->layer, m, src);
}

static int sink_unreachable(void *self, const sipsrv_transport *tp, const struct sockaddr *addr,
                            socklen_t len)
{
  return ss_txn_unreachable(ct_of(self)->layer, tp, addr, len);
}

static void sink_after_expire(void *self)
{
  ss_txn_layer_reap(ct_of(self)->layer);
}

static void sink_fini(void *self)
{
  ss_core_txn *c = ct_of(self);
  ss_txn_layer_free(c->layer);
  ss_free(c->core, c);
}

ss_core_txn *ss_core_txn_of(sipsrv_core *core)
{
  ss_core_txn *c = ss_core_sink_self(core);
  ss_txn_cfg cfg = SS_TXN_CFG_DEFAULT;
  ss_txn_tu tu = { on_request, on_ack, on_response, on_stray, on_timeout, on_transport_error,
                   on_terminated, do_send, do_now, NULL, on_early, do_send_wire,
                   do_send_request_wire };
  ss_sink sink = { sink_message, sink_after_expire, sink_fini, NULL, sink_unreachable,
                   sink_raw };

  if (c)
    return c;
  c = ss_zalloc(core, sizeof *c);
  if (!c)
    return NULL;
  c->core = core;
  tu.user = c;
  sink.self = c;
  ss_core_timer_values(core, &cfg.t1, &cfg.t2, &cfg.t4);
  if (ss_txn_layer_new(&c->layer, core, ss_core_timers(core), &cfg, &tu) < 0 ||
      ss_core_set_sink(core, &sink) < 0) {
    ss_txn_layer_free(c->layer);
    ss_free(core, c);
    return NULL;
  }
  ss_txn_layer_counters(c->layer, ss_core_counters_of(core));
  return c;
}

ss_txn_layer *ss_core_txn_layer(ss_core_txn *c)
{
  return c->layer;
}

void ss_core_txn_attach(ss_core_txn *c, ss_txn_role *role)
{
  ss_txn_role **pp = &c->roles;
  while (*pp)
    pp = &(*pp)->next;
  role->next = NULL;
  *pp = role;
}

void ss_core_txn_detach(ss_core_txn *c, ss_txn_role *role)
{
  for (ss_txn_role **pp = &c->roles; *pp; pp = &(*pp)->next)
    if (*pp == role) {
      *pp = role->next;
      return;
    }
}
