/* The server transactions: INVITE (RFC 3261 17.2.1, RFC 6026 7.1) and
 * non-INVITE (17.2.2, with RFC 4320's rules on 100 and 408). */
#include "txn_int.h"

#include <sipsrv/error.h>

#include <string.h>

static uint32_t t1(const ss_txn *t) { return t->layer->cfg.t1; }

static void end_timer(ss_timer *tm, void *arg)
{
  ss_txn *t = arg;
  (void)tm;
  ss_txn_enter(t->layer);
  ss_txn_terminate(t);
  ss_txn_leave(t->layer);
}

static void tu_request(ss_txn *t)
{
  ss_txn_layer *l = t->layer;
  if (l->tu.request)
    l->tu.request(l->tu.user, t, t->req);
}

/* Keep rsp (taken) as the one to retransmit and send it. */
static int keep_and_send(ss_txn *t, sipsrv_msg **slot, sipsrv_msg *rsp)
{
  sipsrv_msg_free(*slot);
  *slot = rsp;
  t->status = rsp->sip->sip_status->st_status;
  return ss_txn_send(t, rsp);
}

/* Send a final response (taken) and keep it as the bytes sent rather than
 * as a parsed message: a Completed transaction lives for Timer H or J (32 s
 * over UDP), and a parsed response is some 3 KB of Sofia-SIP objects
 * against a few hundred bytes of text. A retransmission parses the bytes
 * again (resend_final): rare, a response that got lost. A response that
 * cannot be serialized here is kept parsed. */
static int keep_final_and_send(ss_txn *t, sipsrv_msg *rsp)
{
  const sipsrv_core *core = t->layer->core;
  long n = sipsrv_msg_serialize(rsp, NULL, 0);
  char *wire = n > 0 ? ss_alloc(core, (size_t)n) : NULL;
  sipsrv_addr to;
  int rc;

  ss_txn_drop_final(t);
  t->status = rsp->sip->sip_status->st_status;
  if (!wire || sipsrv_msg_serialize(rsp, wire, (size_t)n) != n) {
    ss_free(core, wire);
    t->final = rsp;
    return ss_txn_send(t, rsp);
  }
  t->final_wire = wire;
  t->final_len = (size_t)n;
  if (sipsrv_msg_to(rsp, &to) == 0 && to.tag) {
    size_t len = strlen(to.tag) + 1;
    t->final_tag = ss_alloc(core, len);
    if (t->final_tag)
      memcpy(t->final_tag, to.tag, len);
  }
  rc = ss_txn_send(t, rsp);              /* t may be gone after a failure */
  sipsrv_msg_free(rsp);
  return rc;
}

/* The kept final response again (a retransmission, Timer G). */
static void resend_final(ss_txn *t)
{
  if (t->final)
    ss_txn_send(t, t->final);
  else if (t->final_wire)
    ss_txn_send_wire(t, t->status, t->final_wire, t->final_len);
}

/* A response given as bytes (ss_txn_respond_wire()), taken. */
typedef struct wire_final {
  char *wire;
  size_t len;
  char *tag;                 /* NULL: none */
} wire_final;

static bool has_provisional(const ss_txn *t)
{
  return t->provisional || t->prov_wire;
}

/* The last provisional again (a retransmitted request in Proceeding). */
static void resend_provisional(ss_txn *t)
{
  if (t->provisional)
    ss_txn_send(t, t->provisional);
  else if (t->prov_wire)
    ss_txn_send_wire(t, t->status, t->prov_wire, t->prov_len);
}

/* Keep a provisional response, rsp or w when rsp is NULL, as the one to
 * retransmit, and send it. */
static int keep_provisional(ss_txn *t, sipsrv_msg *rsp, wire_final *w, int code)
{
  ss_txn_drop_provisional(t);
  if (rsp)
    return keep_and_send(t, &t->provisional, rsp);
  t->status = code;
  t->prov_wire = w->wire;
  t->prov_len = w->len;
  w->wire = NULL;
  return ss_txn_send_wire(t, code, t->prov_wire, t->prov_len);
}

/* Keep and send the final response: rsp, or w when rsp is NULL. The last
 * provisional goes: only Proceeding answers a retransmission with it
 * (17.2.1, 17.2.2), and a proxy's may hold a callee's response alive. */
static int keep_final(ss_txn *t, sipsrv_msg *rsp, wire_final *w, int code)
{
  ss_txn_drop_provisional(t);
  if (rsp)
    return keep_final_and_send(t, rsp);
  ss_txn_drop_final(t);
  t->status = code;
  t->final_wire = w->wire;
  t->final_len = w->len;
  t->final_tag = w->tag;
  w->wire = w->tag = NULL;
  return ss_txn_send_wire(t, code, t->final_wire, t->final_len);
}

/* ---- INVITE server transaction --------------------------------------- */

/* RFC 3261 17.2.1: a 100 Trying unless the TU answers within 200 ms. */
static void ist_timer_trying(ss_timer *tm, void *arg)
{
  ss_txn *t = arg;
  sipsrv_msg *trying;
  (void)tm;
  if (t->state != SS_TXN_PROCEEDING || has_provisional(t))
    return;
  if (sipsrv_msg_reply(&trying, t->req, 100, NULL, NULL) == 0) {
    ss_txn_enter(t->layer);
    keep_and_send(t, &t->provisional, trying);
    ss_txn_leave(t->layer);
  }
}

/* Timer G: retransmit the final response, doubling up to T2 (17.2.1). */
static void ist_timer_g(ss_timer *tm, void *arg)
{
  ss_txn *t = arg;
  uint32_t t2 = t->layer->cfg.t2;
  (void)tm;
  if (t->state != SS_TXN_COMPLETED)
    return;
  t->interval = t->interval * 2 < t2 ? t->interval * 2 : t2;
  ss_txn_arm(t, &t->t_retrans, t->interval, ist_timer_g);
  ss_txn_enter(t->layer);
  SS_TXN_COUNT(t->layer, retrans_out);
  resend_final(t);
  ss_txn_leave(t->layer);
}

/* Timer H: no ACK came (17.2.1); the TU hears of it. */
static void ist_timer_h(ss_timer *tm, void *arg)
{
  ss_txn *t = arg;
  ss_txn_layer *l = t->layer;
  (void)tm;
  if (t->state != SS_TXN_COMPLETED)
    return;
  ss_txn_enter(l);
  if (l->tu.timeout)
    l->tu.timeout(l->tu.user, t);
  ss_txn_terminate(t);
  ss_txn_leave(l);
}

void ss_ist_start(ss_txn *t)
{
  int32_t trying = t->layer->cfg.trying_ms;
  t->state = SS_TXN_PROCEEDING;
  if (trying >= 0)
    ss_txn_arm(t, &t->t_trying, (uint32_t)trying, ist_timer_trying);
  tu_request(t);
  /* A TU that answers at once makes the 100 needless; with trying_ms 0 the
   * timer fires at the next expire, after any answer the TU gave here. */
}

static int ist_respond(ss_txn *t, sipsrv_msg *rsp, wire_final *w, int code)
{
  ss_txn_layer *l = t->layer;

  if (t->state == SS_TXN_ACCEPTED && code >= 200 && code < 300) {
    /* RFC 6026 7.1: the TU's 2xx retransmissions go out. */
    return keep_final(t, rsp, w, code);
  }
  if (t->state != SS_TXN_PROCEEDING) {
    sipsrv_msg_free(rsp);
    return SIPSRV_E_STATE;
  }
  ss_timer_stop(l->timers, &t->t_trying);
  if (code < 200)
    return keep_provisional(t, rsp, w, code);
  if (code < 300) {
    /* RFC 6026 7.1: Accepted, Timer L. */
    t->state = SS_TXN_ACCEPTED;
    ss_txn_arm(t, &t->t_wait, 64 * t1(t), end_timer);
    return keep_final(t, rsp, w, code);
  }
  /* 17.2.1: Completed; Timer G on unreliable transports, Timer H always. */
  t->state = SS_TXN_COMPLETED;
  t->interval = t1(t);
  if (!t->peer.reliable)
    ss_txn_arm(t, &t->t_retrans, t->interval, ist_timer_g);
  ss_txn_arm(t, &t->t_timeout, 64 * t1(t), ist_timer_h);
  return keep_final(t, rsp, w, code);
}

static void ist_again(ss_txn *t, sipsrv_msg *m, const ss_peer *src)
{
  ss_txn_layer *l = t->layer;
  bool ack = m->sip->sip_request->rq_method == sip_method_ack;

  if (!ack) {
    /* A retransmitted INVITE: the last provisional again in Proceeding, the
     * final in Completed; absorbed otherwise (17.2.1, RFC 6026 7.1). */
    SS_TXN_COUNT(l, retrans_in);
    if (t->state == SS_TXN_PROCEEDING)
      resend_provisional(t);
    else if (t->state == SS_TXN_COMPLETED)
      resend_final(t);
    sipsrv_msg_free(m);
    return;
  }
  switch (t->state) {
  case SS_TXN_COMPLETED:
    /* 17.2.1: Confirmed; Timer I: T4 on unreliable transports, 0 on reliable. */
    t->state = SS_TXN_CONFIRMED;
    ss_timer_stop(l->timers, &t->t_retrans);
    ss_timer_stop(l->timers, &t->t_timeout);
    ss_txn_arm(t, &t->t_wait, t->peer.reliable ? 0 : l->cfg.t4, end_timer);
    sipsrv_msg_free(m);
    break;
  case SS_TXN_ACCEPTED:
    /* RFC 6026 7.1: ACKs in Accepted go to the TU. */
    if (l->tu.ack)
      l->tu.ack(l->tu.user, t, m, src);
    else
      sipsrv_msg_free(m);
    break;
  default:
    sipsrv_msg_free(m);                  /* Confirmed absorbs; Proceeding has no use for it */
    break;
  }
}

/* ---- non-INVITE server transaction ----------------------------------- */

/* Not in RFC 3261, where a NIST waits for its TU forever: after 64*T1 the
 * client has given up (Timer F), so a transaction the TU never answered
 * ends instead of staying in memory. */
static void nist_guard(ss_timer *tm, void *arg)
{
  ss_txn *t = arg;
  (void)tm;
  if (t->state == SS_TXN_TRYING || t->state == SS_TXN_PROCEEDING)
    end_timer(tm, arg);
}

void ss_nist_start(ss_txn *t)
{
  t->state = SS_TXN_TRYING;
  ss_txn_arm(t, &t->t_timeout, 64 * t1(t), nist_guard);
  tu_request(t);
}

static int nist_respond(ss_txn *t, sipsrv_msg *rsp, wire_final *w, int code)
{
  ss_txn_layer *l = t->layer;

  if (t->state != SS_TXN_TRYING && t->state != SS_TXN_PROCEEDING) {
    sipsrv_msg_free(rsp);
    return SIPSRV_E_STATE;
  }
  /* RFC 4320 4.2: no 408 to a non-INVITE; 4.1: no provisional but 100, and
   * over an unreliable transport no 100 before the client's Timer E would
   * have reached T2. */
  if (code == 408 || (code > 100 && code < 200)) {
    sipsrv_msg_free(rsp);
    return SIPSRV_E_INVAL;
  }
  if (code == 100 && !t->peer.reliable && ss_txn_now(l) - t->created < l->cfg.t2) {
    sipsrv_msg_free(rsp);
    return SIPSRV_E_STATE;
  }
  if (code < 200) {
    t->state = SS_TXN_PROCEEDING;
    return keep_provisional(t, rsp, w, code);
  }
  /* 17.2.2: Completed, Timer J: 64*T1 on unreliable transports, 0 on reliable. */
  t->state = SS_TXN_COMPLETED;
  ss_timer_stop(l->timers, &t->t_timeout);
  ss_txn_arm(t, &t->t_wait, t->peer.reliable ? 0 : 64 * t1(t), end_timer);
  return keep_final(t, rsp, w, code);
}

static void nist_again(ss_txn *t, sipsrv_msg *m)
{
  /* 17.2.2: a retransmission is absorbed in Trying, answered with the last
   * provisional in Proceeding and with the final in Completed. */
  SS_TXN_COUNT(t->layer, retrans_in);
  if (t->state == SS_TXN_PROCEEDING)
    resend_provisional(t);
  else if (t->state == SS_TXN_COMPLETED)
    resend_final(t);
  sipsrv_msg_free(m);
}

void ss_server_again(ss_txn *t, sipsrv_msg *m, const ss_peer *src)
{
  if (t->kind == SS_TXN_IST)
    ist_again(t, m, src);
  else
    nist_again(t, m);
}

int ss_server_respond(ss_txn *t, sipsrv_msg *rsp)
{
  int code = rsp->sip->sip_status->st_status;
  int rc = t->kind == SS_TXN_IST ? ist_respond(t, rsp, NULL, code) : nist_respond(t, rsp, NULL, code);
  ss_server_compact(t);
  return rc;
}

int ss_server_respond_wire(ss_txn *t, int status, const char *wire, size_t len, const char *tag)
{
  const sipsrv_core *core = t->layer->core;
  size_t tlen = tag && *tag ? strlen(tag) + 1 : 0;
  wire_final w = { ss_alloc(core, len), len, tlen ? ss_alloc(core, tlen) : NULL };
  int rc;
  if (!w.wire || (tlen && !w.tag)) {
    ss_free(core, w.wire);
    ss_free(core, w.tag);
    return SIPSRV_E_NOMEM;
  }
  memcpy(w.wire, wire, len);
  if (tlen)
    memcpy(w.tag, tag, tlen);
  rc = t->kind == SS_TXN_IST ? ist_respond(t, NULL, &w, status) : nist_respond(t, NULL, &w, status);
  ss_free(core, w.wire);                 /* not kept: a state that allows no final */
  ss_free(core, w.tag);
  ss_server_compact(t);
  return rc;
}

void ss_server_compact(ss_txn *t)
{
  /* Completed (or Confirmed) answers a retransmitted request with the final
   * response and matches the ACK by the key and the final's To tag (17.2.1,
   * 17.2.2): the request and the last provisional are dead weight for the
   * 32 s of Timer J or H (about 3.5 KB each), once no TU holds the request. */
  if (t->owner || (t->kind != SS_TXN_IST && t->kind != SS_TXN_NIST) ||
      (t->state != SS_TXN_COMPLETED && t->state != SS_TXN_CONFIRMED))
    return;
  sipsrv_msg_free(t->req);
  t->req = NULL;
  ss_txn_drop_provisional(t);
}
