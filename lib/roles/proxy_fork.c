/* The stateful proxy (RFC 3261 16.2, 16.6-16.10): a response context per
 * server transaction, a branch (client transaction) per target, forking in
 * parallel or in q order, the best final response, CANCEL and Timer C. */
#include "proxy_int.h"

#include <sipsrv/error.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct px_branch {
  ss_txn_owner_hdr hdr;       /* first: the client transaction's owner */
  px_ctx *ctx;
  ss_txn *ct;                 /* NULL once it terminated */
  size_t target;
  int status;                 /* the final status it ended with, 0 while pending */
  const char *phrase;         /* for a status of our own (408, 503...) */
  sipsrv_msg *final;          /* a copy of its final response, NULL for our own */
  bool net;                   /* our own 503 stands for a transport error (16.9) */
  bool provisional;           /* a 1xx came: it may be cancelled (9.1) */
  bool cancel_pending;        /* cancel it when a 1xx comes */
  bool cancelled;
  bool sending, retry;        /* inside ss_txn_request(); try the next place after it */
  ss_timer timer_c;
  px_dns *dns;                /* resolving its next hop (RFC 3263) */
  ss_peer *peers;             /* the places resolved for it, in order */
  size_t npeers, next_peer;   /* next_peer: the one to try after a failure */
} px_branch;

/* What routing and the branches' sending need, apart from the context:
 * most of its size (the targets, 624 bytes), and a context lives on for
 * Timer L or J (32 s over UDP) after its answer; freed when settled. */
typedef struct px_work {
  px_targets t;
  px_wire_plan wire;          /* the branches' requests from base's bytes */
  ss_peer src;                /* where the request came from */
} px_work;

struct px_ctx {
  ss_txn_owner_hdr hdr;       /* first: the server transaction's owner */
  sipsrv_proxy *p;
  ss_txn *st;                 /* NULL once it terminated */
  sipsrv_msg *base;           /* the request after 16.4, each branch's from
                                 its bytes or a copy (send_branch());
                                 NULL once settled (see settle()) */
  px_work *w;                 /* NULL once settled, as base */
  sip_method_t method;        /* of the request */
  bool initial;               /* no To tag: it may make a dialog */
  px_branch *b;               /* one per target, allocated once they are
                                 known (never moved: each is its client
                                 transaction's owner); a request lives on
                                 for Timer L or J (32 s) after its answer,
                                 and most have one target, not 16 */
  size_t nb;                  /* branches started */
  uint64_t loop;
  unsigned live;              /* the server transaction and client ones alive */
  unsigned busy;              /* calls in progress on it: not freed meanwhile */
  bool routing;               /* targets not known yet */
  bool invite, rr;
  bool answered;              /* a final response went upstream */
  bool cancelled;             /* the caller cancelled (16.10) */
  bool stop;                  /* a 2xx or 6xx came: no new branch */
  unsigned breadth;           /* RFC 5393 Max-Breadth received (60 without) */
  px_ctx *prev, *next;
};

static void server_terminated(void *owner, ss_txn *t);
static void branch_response(void *owner, ss_txn *t, sipsrv_msg *rsp);
static void branch_timeout(void *owner, ss_txn *t);
static void branch_transport_error(void *owner, ss_txn *t);
static void branch_terminated(void *owner, ss_txn *t);

static const ss_txn_events server_events = { NULL, NULL, NULL, server_terminated };
static const ss_txn_events branch_events = { branch_response, branch_timeout,
                                             branch_transport_error, branch_terminated };

static ss_txn_layer *layer(const px_ctx *c)
{
  return ss_core_txn_layer(c->p->ct);
}

static void drop_work(px_ctx *c)
{
  if (c->w) {
    px_targets_clear(&c->w->t);
    ss_free(c->p->core, c->w);
    c->w = NULL;
  }
}

static void ctx_free(px_ctx *c)
{
  sipsrv_proxy *p = c->p;
  for (size_t i = 0; i < c->nb; i++) {
    ss_timer_stop(ss_core_timers(p->core), &c->b[i].timer_c);
    if (c->b[i].ct)
      ss_txn_set_owner(c->b[i].ct, NULL);
    px_dns_cancel(c->b[i].dns);          /* only when the proxy is freed */
    ss_free(p->core, c->b[i].peers);
    sipsrv_msg_free(c->b[i].final);
  }
  if (c->st)
    ss_txn_set_owner(c->st, NULL);
  if (c->prev)
    c->prev->next = c->next;
  else
    p->ctxs = c->next;
  if (c->next)
    c->next->prev = c->prev;
  drop_work(c);
  sipsrv_msg_free(c->base);
  ss_free(p->core, c->b);
  ss_free(p->core, c);
}

static void maybe_free(px_ctx *c)
{
  if (!c->live && !c->routing && !c->busy)
    ctx_free(c);
}

/* Around everything that may end a transaction of c (a send that fails
 * terminates it at once): c stays until leave(). */
static px_ctx *enter(px_ctx *c)
{
  c->busy++;
  return c;
}

/* Once the caller has its final answer and no branch is pending, no new
 * branch starts and no best response is chosen again: the request copy,
 * the branches' final responses and the transactions' requests are dead
 * weight for the rest of the transactions' lives (Timer L/M/D, 32 s over
 * UDP), about 3.5 KB each. Accepted 2xx retransmissions still pass. */
static void settle(px_ctx *c)
{
  if (!c->answered || c->routing || !c->base)
    return;
  for (size_t i = 0; i < c->nb; i++)
    if (!c->b[i].status || c->b[i].dns)
      return;
  for (size_t i = 0; i < c->nb; i++) {
    sipsrv_msg_free(c->b[i].final);
    c->b[i].final = NULL;
    if (c->b[i].ct)
      ss_txn_compact(c->b[i].ct);
  }
  if (c->st)
    ss_txn_compact(c->st);
  sipsrv_msg_free(c->base);
  c->base = NULL;
  drop_work(c);
}

static void leave(px_ctx *c)
{
  c->busy--;
  if (c->busy == 0)
    settle(c);
  maybe_free(c);
}

/* ---- upstream ------------------------------------------------------------ */

static bool method_is(const px_ctx *c, sip_method_t m)
{
  return c->method == m;
}

/* Whether a response of code goes upstream through the server transaction
 * (else, a late 2xx, by Via: 16.7 step 5). */
static bool through_st(const px_ctx *c, int code)
{
  ss_txn_state s = c->st ? ss_txn_state_of(c->st) : SS_TXN_TERMINATED;
  return s == SS_TXN_PROCEEDING || s == SS_TXN_TRYING ||
         (s == SS_TXN_ACCEPTED && code >= 200 && code < 300);
}

/* Send a response upstream: through the server transaction, or by Via when
 * it can no longer carry it (a late 2xx, 16.7 step 5). rsp is a received
 * one (our Via still on top) or, with ours, one we made (no Via of ours). */
static void send_up(px_ctx *c, const sipsrv_msg *rsp, bool ours)
{
  sipsrv_proxy *p = c->p;
  int code = rsp->sip->sip_status->st_status;
  bool through = through_st(c, code);
  sipsrv_msg *m;

  if (through && !ours) {
    /* As received but our Via (16.7 step 3), as bytes: no copy of the
     * response to edit, encode and free. */
    char buf[8192];
    long n = ss_msg_wire_pop_via((sipsrv_msg *)rsp, buf, sizeof buf);
    const char *tag = rsp->sip->sip_to ? rsp->sip->sip_to->a_tag : NULL;
    if (n > 0 && ss_txn_respond_wire(c->st, code, buf, (size_t)n, tag ? tag : "") != SIPSRV_E_NOMEM)
      return;
  }
  m = ss_msg_copy(rsp);
  if (!m)
    return;
  if (through) {
    if (!ours && sipsrv_msg_via_pop(m) < 0) {
      sipsrv_msg_free(m);
      return;
    }
    ss_txn_respond(c->st, m);
  } else if (!ours && code >= 200 && code < 300) {
    if (!px_forward_response(p, m))
      sipsrv_msg_free(m);
  } else {
    sipsrv_msg_free(m);
  }
}

/* send_up() of a received response, parsed or from its bytes. */
static void relay_up(px_ctx *c, const px_rsp *r)
{
  if (r->msg)
    send_up(c, r->msg, false);
  else if (!through_st(c, r->code)) {
    if (r->code >= 200 && r->code < 300)
      (void)px_raw_by_via(c->p, r->raw);
  } else if (ss_txn_respond_wire(c->st, r->code, r->wire, r->len, r->tag) == SIPSRV_E_NOMEM) {
    ss_log(c->p->core, SIPSRV_LOG_WARN, "response %d not relayed: out of memory", r->code);
  }
}

/* Call-stateful: the first 2xx to an initial INVITE starts a dialog (not
 * its retransmissions, RFC 6026 7.2: they may come after the BYE); any
 * final response to a BYE ends one. */
static void dialog_note(px_ctx *c, const sipsrv_msg *rsp, bool first)
{
  int code = rsp->sip->sip_status->st_status;
  if (c->p->cfg.mode != SIPSRV_PROXY_DIALOG || code < 200)
    return;
  if (first && code < 300 && method_is(c, sip_method_invite) && c->initial)
    px_dialog_start(c->p, rsp);
  else if (method_is(c, sip_method_bye) && (first || code >= 300))
    px_dialog_bye(c->p, rsp);
}

/* Answer with a status of our own. */
static void answer(px_ctx *c, int status, const char *phrase, const char *headers)
{
  sipsrv_reply_opts o = SIPSRV_REPLY_OPTS_INIT;
  sipsrv_msg *rsp;
  c->answered = true;
  if (!c->st)
    return;
  o.headers = headers;
  if (sipsrv_msg_reply(&rsp, ss_txn_request_msg(c->st), status, phrase, &o) == 0) {
    dialog_note(c, rsp, true);
    send_up(c, rsp, true);
    sipsrv_msg_free(rsp);
  }
}

/* ---- cancelling ---------------------------------------------------------- */

static void branch_done(px_branch *b, int status, const char *phrase, const sipsrv_msg *rsp);

static void cancel_branch(px_branch *b)
{
  px_ctx *c = b->ctx;
  sipsrv_msg *cancel;
  if (b->dns) {
    /* Still resolving: nothing went out, nothing to cancel downstream. */
    px_dns_cancel(b->dns);
    c->live--;
    branch_done(b, 487, NULL, NULL);
    return;
  }
  if (b->cancelled || !b->ct || !c->invite || (b->status && !b->cancel_pending))
    return;
  /* RFC 3261 9.1: not before a provisional response; it goes when one
   * comes. Meanwhile the branch counts as answered 487, so the caller is
   * not held until Timer B for a next hop that never answers. */
  if (!b->provisional) {
    if (!b->cancel_pending) {
      b->cancel_pending = true;
      branch_done(b, 487, NULL, NULL);
    }
    return;
  }
  b->cancelled = true;
  if (ss_msg_make_cancel(&cancel, ss_txn_request_msg(b->ct)) == 0)
    ss_txn_request(layer(c), NULL, cancel, ss_txn_peer(b->ct), NULL);
}

static void cancel_others(px_ctx *c, const px_branch *keep)
{
  for (size_t i = 0; i < c->nb; i++)
    if (&c->b[i] != keep)
      cancel_branch(&c->b[i]);
}

/* ---- best response (16.7 step 6) ---------------------------------------- */

static int rank(int code)
{
  /* 6xx first; then the lowest class; within 4xx, the ones that let the
   * caller retry (401, 407, 415, 420, 484) first. */
  if (code >= 600)
    return 0;
  if (code == 401 || code == 407 || code == 415 || code == 420 || code == 484)
    return 1000 + code / 100 * 10;
  return 1000 + code / 100 * 10 + 5;
}

/* 16.7 step 7: the challenges of every 401 and 407 in one response. */
static void merge_challenges(px_ctx *c, sipsrv_msg *best, const px_branch *from)
{
  for (size_t i = 0; i < c->nb; i++) {
    const px_branch *b = &c->b[i];
    if (b == from || !b->final || (b->status != 401 && b->status != 407))
      continue;
    if (b->final->sip->sip_www_authenticate)
      msg_header_add_dup(best->msg, (msg_pub_t *)best->sip,
                         (msg_header_t const *)b->final->sip->sip_www_authenticate);
    if (b->final->sip->sip_proxy_authenticate)
      msg_header_add_dup(best->msg, (msg_pub_t *)best->sip,
                         (msg_header_t const *)b->final->sip->sip_proxy_authenticate);
  }
}

static void send_best(px_ctx *c)
{
  const px_branch *best = NULL;
  for (size_t i = 0; i < c->nb; i++) {
    const px_branch *b = &c->b[i];
    if (b->status >= 300 && (!best || rank(b->status) < rank(best->status)))
      best = b;
  }
  if (!best) {
    answer(c, 408, NULL, NULL);          /* 16.7 step 6: no response at all */
    return;
  }
  /* 16.7 step 6: a 503 from downstream (or a transport error, 16.9) goes
   * upstream as 500: the next hop's overload is not ours. */
  if (best->status == 503 && (best->final || best->net)) {
    answer(c, 500, NULL, NULL);
    return;
  }
  if (!best->final) {
    answer(c, best->status, best->phrase, NULL);
    return;
  }
  c->answered = true;
  dialog_note(c, best->final, true);
  if (best->status == 401 || best->status == 407) {
    sipsrv_msg *m = ss_msg_dup(best->final);
    if (m) {
      merge_challenges(c, m, best);
      send_up(c, m, false);
      sipsrv_msg_free(m);
      return;
    }
  }
  send_up(c, best->final, false);
}

/* ---- branches ------------------------------------------------------------ */

static void start_branches(px_ctx *c);

static void timer_c(ss_timer *t, void *arg);

static void arm_timer_c(px_branch *b)
{
  sipsrv_proxy *p = b->ctx->p;
  if (b->ctx->invite)
    ss_timer_start(ss_core_timers(p->core), &b->timer_c, ss_core_now(p->core) + p->cfg.timer_c_ms,
                   timer_c, b);
}

/* A branch ended with a final status: what now (16.7 steps 4-6, 16.6 for
 * serial forking)? */
static void branch_done(px_branch *b, int status, const char *phrase, const sipsrv_msg *rsp)
{
  px_ctx *c = b->ctx;
  if (b->status)
    return;
  b->status = status;
  b->phrase = phrase;
  b->final = rsp ? ss_msg_copy(rsp) : NULL;
  ss_timer_stop(ss_core_timers(c->p->core), &b->timer_c);
  if (status >= 600 && c->invite) {
    c->stop = true;                      /* 16.7 step 10 */
    cancel_others(c, b);
  }
  if (c->answered)
    return;
  /* Parallel forking held back by Max-Breadth: a slot is free. */
  if (!c->p->cfg.serial && !c->w->t.failover && c->nb < c->w->t.n && !c->stop && !c->cancelled) {
    start_branches(c);
    if (c->answered)
      return;
  }
  for (size_t i = 0; i < c->nb; i++)
    if (!c->b[i].status)
      return;                            /* others still pending */
  /* Serial: the next target; gateways only after a timeout, 408 or 5xx
   * (a busy or unknown number does not get better at the next gateway). */
  if (!c->stop && !c->cancelled && c->nb < c->w->t.n &&
      (!c->w->t.failover || status == 408 || (status >= 500 && status < 600))) {
    start_branches(c);
    return;
  }
  send_best(c);
}

/* RFC 5393 Max-Breadth: branches pursued at once share the received
 * breadth (their values add up to it at most); one pursued alone (serial
 * forking, failover) gets all of it. */
static size_t concurrent(const px_ctx *c)
{
  bool serial = c->p->cfg.serial || c->w->t.failover;
  size_t n = serial ? 1 : c->w->t.n;
  return n < c->breadth ? n : c->breadth;
}

static int set_breadth(px_ctx *c, sipsrv_msg *m)
{
  char h[40];
  size_t k = concurrent(c);
  unsigned share = k ? (unsigned)(c->breadth / k) : 0;
  if (!share)
    return 440;
  snprintf(h, sizeof h, "Max-Breadth: %u", share);
  sipsrv_msg_header_remove(m, "Max-Breadth");
  return sipsrv_msg_header_add(m, h) < 0 ? 500 : 0;
}

/* The branch's request for target t as bytes: the bytes received with the
 * 16.6 edits (px_wire_branch()), when they can stand for it (px_wire_plan)
 * and nothing there asks for more than those edits (a binding's Path, an
 * error to answer); out receives them (*n), *peer where they go. false:
 * the branch edits a copy of the message instead. */
static bool wire_request(px_ctx *c, const px_target *t, const char *branch, const ss_peer *fixed,
                         ss_peer *peer, char *out, size_t size, size_t *n)
{
  size_t k = concurrent(c);
  unsigned share = k ? (unsigned)(c->breadth / k) : 0;
  url_t const *hop = c->base->sip->sip_request->rq_url;
  const char *phrase;
  char tmp[1024];
  url_t u;

  if (!c->w->wire.state)
    px_wire_plan_make(c->base, &c->w->wire);
  if (c->w->wire.state < 0 || t->route || !share)
    return false;
  if (t->uri) {
    /* Step 2 and step 7 by the new Request-URI, which goes in the request
     * line as it is: one that parses, with nothing a line cannot hold. */
    if (strlen(t->uri) >= sizeof tmp || strpbrk(t->uri, " \t\r\n"))
      return false;
    strcpy(tmp, t->uri);
    if (url_d(&u, tmp) < 0 || (u.url_type != url_sip && u.url_type != url_sips))
      return false;
    hop = &u;
  }
  if (px_target_peer(c->p, t, hop, fixed, peer, &phrase) != 0)
    return false;
  *n = px_wire_branch(c->base, &c->w->wire, t->uri, peer, &c->w->src, branch, c->rr, share, out, size);
  return *n > 0;
}

/* Send the branch's request with a new branch id (from the bytes received,
 * or a copy of the message edited), to fixed when its next hop was
 * resolved; on to the next resolved place while a first send fails
 * (try_next_peer() asks for it during the send). */
static void send_branch(px_branch *b, const ss_peer *fixed)
{
  px_ctx *c = b->ctx;
  sipsrv_proxy *p = c->p;
  const px_target *t = &c->w->t.t[b->target];

  for (;;) {
    char branch[64], out[SIPSRV_MSG_MAX_DEFAULT + 1024];
    const char *phrase;
    sipsrv_msg *m = NULL;
    ss_peer peer;
    size_t n = 0;
    int st, rc;

    px_branch_stateful(p, c->loop, branch);
    if (!wire_request(c, t, branch, fixed, &peer, out, sizeof out, &n)) {
      if (!(m = ss_msg_copy(c->base))) {   /* sent now, then dropped at Completed */
        branch_done(b, 500, NULL, NULL);
        return;
      }
      st = px_prepare(p, m, t, c->rr, &c->w->src, branch, fixed, &peer, &phrase);
      /* After the Via and Record-Route pushes, which keep their places
       * only while the copy has no fragment chain (removing a header
       * makes one). */
      if (!st && (st = set_breadth(c, m)) != 0)
        phrase = st == 440 ? "Max-Breadth Exceeded" : NULL;
      if (st) {
        sipsrv_msg_free(m);
        branch_done(b, st, phrase, NULL);
        return;
      }
    }
    /* The events of a first send that fails (transport error, then
     * terminated) come before this returns. */
    c->live++;
    b->sending = true;
    b->retry = false;
    rc = m ? ss_txn_request(layer(c), &b->ct, m, &peer, &b->hdr)
           : ss_txn_request_wire(layer(c), &b->ct, out, n, branch,
                                 c->base->sip->sip_request->rq_method_name, &peer, &b->hdr);
    b->sending = false;
    if (b->retry) {
      fixed = &b->peers[b->next_peer++];
      continue;
    }
    if (rc < 0) {
      if (!b->ct && !b->status) {
        c->live--;                       /* refused before it existed */
        branch_done(b, 500, NULL, NULL);
      }
      return;
    }
    arm_timer_c(b);
    return;
  }
}

/* RFC 3263 4.3: after a transport error, a timeout or a 503, the next
 * place the next hop resolved to gets the request, in a new client
 * transaction; not once a provisional response came (the request was
 * being handled there) or the context is done with new attempts. */
static bool try_next_peer(px_branch *b)
{
  px_ctx *c = b->ctx;
  if (b->next_peer >= b->npeers || b->provisional || b->status || c->cancelled || c->stop ||
      c->answered)
    return false;
  if (b->sending) {
    b->retry = true;                     /* send_branch() goes on once the send returns */
    return true;
  }
  if (b->ct) {
    ss_txn_set_owner(b->ct, NULL);       /* it ends on its own, unheard */
    b->ct = NULL;
    c->live--;
  }
  ss_timer_stop(ss_core_timers(c->p->core), &b->timer_c);
  send_branch(b, &b->peers[b->next_peer++]);
  return true;
}

static void on_resolved(void *arg, int err, const ss_peer *peers, size_t n)
{
  px_branch *b = arg;
  px_ctx *c = enter(b->ctx);
  c->live--;                             /* the resolution held it */
  if (err == SIPSRV_E_STATE)
    ;                                    /* the proxy is being freed */
  else if (!n)
    branch_done(b, 503, "Cannot Resolve Target", NULL);
  else if (!(b->peers = ss_alloc(c->p->core, n * sizeof *peers)))
    branch_done(b, 500, NULL, NULL);
  else {
    memcpy(b->peers, peers, n * sizeof *peers);
    b->npeers = n;
    b->next_peer = 1;
    send_branch(b, &b->peers[0]);
  }
  leave(c);
}

static void start_branch(px_ctx *c, size_t i)
{
  px_branch *b = &c->b[c->nb++];
  char uri[700];

  memset(b, 0, sizeof *b);
  b->hdr.ev = &branch_events;
  b->ctx = c;
  b->target = i;
  ss_timer_init(&b->timer_c);
  if (!px_hop_dns(c->p, c->base, &c->w->t.t[i], uri, sizeof uri)) {
    send_branch(b, NULL);
    return;
  }
  /* RFC 3263: resolve first; the context lives while it does. */
  c->live++;
  if (px_resolve(c->p, uri, on_resolved, b, &b->dns) < 0) {
    c->live--;
    branch_done(b, 503, "Cannot Resolve Target", NULL);
  }
}

/* Sort the targets by q, highest first, keeping the order of equal ones. */
static void sort_by_q(px_targets *t)
{
  for (size_t i = 1; i < t->n; i++) {
    px_target x = t->t[i];
    size_t j = i;
    for (; j > 0 && t->t[j - 1].q < x.q; j--)
      t->t[j] = t->t[j - 1];
    t->t[j] = x;
  }
}

static void start_branches(px_ctx *c)
{
  /* 16.6: every target at once, or (serial) the next in q order. */
  size_t until = c->p->cfg.serial || c->w->t.failover ? c->nb + 1 : c->w->t.n, pending = 0;
  for (size_t i = 0; i < c->nb; i++)
    pending += !c->b[i].status;
  /* RFC 5393: no more branches at once than the breadth allows; the others
   * start as these end. */
  while (c->nb < until && c->nb < c->w->t.n && pending < concurrent(c) && !c->answered && !c->stop &&
         !c->cancelled) {
    start_branch(c, c->nb);
    pending += !c->b[c->nb - 1].status;
  }
}

static void on_routed(void *arg, px_targets *t)
{
  px_ctx *c = enter(arg);
  c->routing = false;
  if (!t || !c->st)
    ;                                    /* the proxy is being freed, or the caller gone */
  else if (t->status)
    answer(c, t->status, t->phrase, t->retry ? "Retry-After: 5" : NULL);
  else if (c->cancelled)
    answer(c, 487, NULL, NULL);
  else if (!c->breadth)
    answer(c, 440, "Max-Breadth Exceeded", NULL);   /* RFC 5393: no branch at all */
  else if (!(c->b = ss_zalloc(c->p->core, (t->n ? t->n : 1) * sizeof *c->b)))
    answer(c, 503, "Out of Memory", "Retry-After: 5");
  else {
    if (c->p->cfg.serial)
      sort_by_q(t);
    start_branches(c);
  }
  leave(c);
}

/* The request to route starts as the server transaction's own (one
 * reference more, no copy): most requests need no edit before each
 * branch copies it. Before 16.4 takes a Route value off, or 22.3 the
 * credentials of our realm, it becomes a copy of its own, so that the
 * transaction keeps the request as received. false without memory. */
static bool own_base(px_ctx *c)
{
  const sip_t *sip = c->base->sip;
  sipsrv_msg *m;
  if (!sip->sip_route && !sip->sip_proxy_authorization)
    return true;
  if (!(m = ss_msg_copy(c->base)))
    return false;
  sipsrv_msg_free(c->base);
  c->base = m;
  return true;
}

/* 22.3 and the policy have spoken: answer, or route the request (16.4,
 * 16.5). */
static void on_authed(void *arg, const px_auth_result *r)
{
  px_ctx *c = enter(arg);
  sipsrv_proxy *p = c->p;
  if (!r || !c->st) {
    c->routing = false;                  /* the proxy is being freed, or the caller gone */
  } else if (r->status) {
    c->routing = false;
    answer(c, r->status, r->phrase, r->headers);
  } else if (c->cancelled) {
    c->routing = false;
    answer(c, 487, NULL, NULL);
  } else if (!own_base(c)) {
    c->routing = false;
    answer(c, 500, NULL, NULL);
  } else {
    if (r->user)
      px_auth_consume(p, c->base);
    px_preprocess(p, c->base);
    px_route(p, c->base, r->user != NULL, &c->w->t, on_routed, c);
  }
  leave(c);
}

void px_fork_start(sipsrv_proxy *p, ss_txn *st, sipsrv_msg *req, uint64_t loop)
{
  px_ctx *c = ss_zalloc(p->core, sizeof *c);
  px_work *w = ss_zalloc(p->core, sizeof *w);
  if (!c || !w || !(c->base = ss_msg_ref(req))) {
    sipsrv_msg *rsp;
    ss_free(p->core, w);
    ss_free(p->core, c);
    if (sipsrv_msg_reply(&rsp, req, 500, NULL, NULL) == 0)
      ss_txn_respond(st, rsp);
    return;
  }
  c->p = p;
  c->w = w;
  c->hdr.ev = &server_events;
  c->st = st;
  w->src = *ss_txn_peer(st);
  c->loop = loop;
  c->live = 1;
  c->invite = req->sip->sip_request->rq_method == sip_method_invite;
  c->method = req->sip->sip_request->rq_method;
  c->initial = !req->sip->sip_to || !req->sip->sip_to->a_tag;
  {
    /* RFC 5393: without Max-Breadth, 60. */
    char v[16];
    int n = sipsrv_msg_header(req, "Max-Breadth", 0, v, sizeof v);
    c->breadth = n > 0 && (size_t)n < sizeof v ? (unsigned)strtoul(v, NULL, 10) : 60;
    if (n > 0 && (v[0] < '0' || v[0] > '9'))
      c->breadth = 60;
  }
  ss_txn_set_owner(st, &c->hdr);
  c->next = p->ctxs;
  if (p->ctxs)
    p->ctxs->prev = c;
  p->ctxs = c;
  /* 16.6 step 4: Record-Route what makes a dialog (call-stateful: always). */
  c->rr = (p->cfg.mode == SIPSRV_PROXY_DIALOG || p->cfg.record_route) && px_dialog_creating(c->base);
  c->routing = true;
  px_authenticate(p, c->base, ss_txn_peer(st), on_authed, c);
}

/* ---- events ---------------------------------------------------------------- */

static void server_terminated(void *owner, ss_txn *t)
{
  px_ctx *c = enter(owner);
  (void)t;
  c->st = NULL;
  c->live--;
  leave(c);
}

static void on_response(px_branch *b, const px_rsp *r);

static void branch_response(void *owner, ss_txn *t, sipsrv_msg *rsp)
{
  px_branch *b = owner;
  px_ctx *c = enter(b->ctx);
  px_rsp r = { rsp->sip->sip_status->st_status, rsp, NULL, NULL, 0, NULL };
  (void)t;
  on_response(b, &r);
  leave(c);
}

bool px_fork_owns(const sipsrv_proxy *p, const void *owner)
{
  const px_branch *b = owner;
  return b->hdr.ev == &branch_events && b->ctx->p == p;
}

void px_fork_raw_response(void *owner, const px_rsp *r)
{
  px_branch *b = owner;
  px_ctx *c = enter(b->ctx);
  on_response(b, r);
  leave(c);
}

/* A response for branch b: parsed, or (100-299, and no 2xx in the
 * call-stateful mode) from its bytes. */
static void on_response(px_branch *b, const px_rsp *r)
{
  px_ctx *c = b->ctx;
  int code = r->code;

  if (code < 200) {
    b->provisional = true;
    if (b->cancel_pending && !b->cancelled)
      cancel_branch(b);
    if (code > 100) {
      arm_timer_c(b);                    /* 16.7 step 2 */
      if (!c->answered && !b->status)
        relay_up(c, r);                  /* 16.7 step 5: at once */
    }
    return;
  }
  if (code < 300) {
    /* 16.7 step 5: every 2xx goes upstream, retransmissions too (RFC 6026). */
    bool first = !b->status;
    if (first) {
      b->status = code;
      ss_timer_stop(ss_core_timers(c->p->core), &b->timer_c);
    }
    if (r->msg)
      dialog_note(c, r->msg, first);
    relay_up(c, r);
    c->answered = true;
    if (first && c->invite && !c->stop) {
      c->stop = true;                    /* 16.7 step 10 */
      cancel_others(c, b);
    }
    return;
  }
  if (code == 503 && try_next_peer(b))
    return;                              /* RFC 3263 4.3 */
  branch_done(b, code, NULL, r->msg);
}

static void branch_timeout(void *owner, ss_txn *t)
{
  px_branch *b = owner;
  px_ctx *c = enter(b->ctx);
  (void)t;
  if (!try_next_peer(b))
    branch_done(b, 408, NULL, NULL);     /* Timer B or F: as a 408 (17.1.1.2, 17.1.2.2) */
  leave(c);
}

static void branch_transport_error(void *owner, ss_txn *t)
{
  px_branch *b = owner;
  px_ctx *c = enter(b->ctx);
  (void)t;
  if (try_next_peer(b))
    ;                                    /* RFC 3263 4.3 */
  else {
    b->net = true;
    branch_done(b, 503, "Next Hop Unreachable", NULL);   /* 16.9: as a 503 */
  }
  leave(c);
}

static void branch_terminated(void *owner, ss_txn *t)
{
  px_branch *b = owner;
  px_ctx *c = enter(b->ctx);
  (void)t;
  b->ct = NULL;
  ss_timer_stop(ss_core_timers(c->p->core), &b->timer_c);
  c->live--;
  leave(c);
}

/* 16.8: Timer C. With a provisional response, the branch is cancelled;
 * without one, it counts as a 408. */
static void timer_c(ss_timer *t, void *arg)
{
  px_branch *b = arg;
  px_ctx *c = enter(b->ctx);
  (void)t;
  if (!b->status && b->provisional)
    cancel_branch(b);
  else if (!b->status)
    branch_done(b, 408, NULL, NULL);
  leave(c);
}

/* ---- CANCEL from the caller (16.10) ----------------------------------------- */

bool px_fork_cancel(sipsrv_proxy *p, ss_txn *st, sipsrv_msg *cancel)
{
  ss_txn *ist = ss_txn_cancel_target(ss_core_txn_layer(p->ct), cancel);
  const ss_txn_owner_hdr *h = ist ? ss_txn_owner(ist) : NULL;
  sipsrv_msg *rsp;
  px_ctx *c;

  if (!h || h->ev != &server_events)
    return false;
  c = enter((px_ctx *)(void *)h);
  /* 16.10: the CANCEL gets 200 at once; the pending branches are cancelled
   * and their 487s make the INVITE's answer. */
  if (sipsrv_msg_reply(&rsp, cancel, 200, NULL, NULL) == 0)
    ss_txn_respond(st, rsp);
  if (!c->answered && !c->cancelled) {
    c->cancelled = true;
    cancel_others(c, NULL);
    if (!c->routing && !c->nb) {
      answer(c, 487, NULL, NULL);
    } else if (!c->routing) {
      bool pending = false;
      for (size_t i = 0; i < c->nb; i++)
        pending = pending || !c->b[i].status;
      if (!pending)
        send_best(c);
    }
  }
  leave(c);
  return true;
}

void px_fork_fini(sipsrv_proxy *p)
{
  while (p->ctxs) {
    px_ctx *c = p->ctxs;
    if (c->st && !c->answered)
      answer(c, 500, "Server Shutting Down", NULL);
    c->routing = false;
    ctx_free(c);
  }
}
