/* The client transactions: INVITE (RFC 3261 17.1.1, RFC 6026 7.2) and
 * non-INVITE (17.1.2). */
#include "txn_int.h"

#include <sipsrv/error.h>

static uint32_t t1(const ss_txn *t) { return t->layer->cfg.t1; }

static void tu_response(ss_txn *t, sipsrv_msg *rsp)
{
  ss_txn_layer *l = t->layer;
  if (l->tu.response)
    l->tu.response(l->tu.user, t, rsp);
}

static void tu_timeout(ss_txn *t)
{
  ss_txn_layer *l = t->layer;
  ss_txn_enter(l);
  if (l->tu.timeout)
    l->tu.timeout(l->tu.user, t);
  ss_txn_terminate(t);
  ss_txn_leave(l);
}

static void end_timer(ss_timer *tm, void *arg)
{
  (void)tm;
  ss_txn *t = arg;
  ss_txn_enter(t->layer);
  ss_txn_terminate(t);
  ss_txn_leave(t->layer);
}

/* ---- INVITE client transaction --------------------------------------- */

/* Timer A: retransmit, doubling the interval (17.1.1.2; no T2 cap for INVITE). */
static void ict_timer_a(ss_timer *tm, void *arg)
{
  ss_txn *t = arg;
  (void)tm;
  if (t->state != SS_TXN_CALLING)
    return;
  t->interval *= 2;
  ss_txn_arm(t, &t->t_retrans, t->interval, ict_timer_a);
  ss_txn_enter(t->layer);
  SS_TXN_COUNT(t->layer, retrans_out);
  ss_txn_send_request(t);
  ss_txn_leave(t->layer);
}

/* Timer B: no response in Calling: the TU acts as on a 408 (17.1.1.2). */
static void ict_timer_b(ss_timer *tm, void *arg)
{
  ss_txn *t = arg;
  (void)tm;
  if (t->state == SS_TXN_CALLING)
    tu_timeout(t);
}

void ss_ict_start(ss_txn *t)
{
  t->state = SS_TXN_CALLING;
  t->interval = t1(t);
  /* 17.1.1.2: Timer A on unreliable transports only; Timer B always. */
  if (!t->peer.reliable)
    ss_txn_arm(t, &t->t_retrans, t->interval, ict_timer_a);
  ss_txn_arm(t, &t->t_timeout, 64 * t1(t), ict_timer_b);
  ss_txn_send_request(t);
}

/* What a response of status code does to an INVITE client transaction;
 * true when the TU is to see it. rsp builds the ACK of a 300-699 (17.1.1.3);
 * it is NULL only for 100-299 (ss_txn_client_status()). */
static bool ict_response(ss_txn *t, int code, const sipsrv_msg *rsp)
{
  ss_txn_layer *l = t->layer;

  switch (t->state) {
  case SS_TXN_CALLING:
  case SS_TXN_PROCEEDING:
    ss_timer_stop(l->timers, &t->t_retrans);
    ss_timer_stop(l->timers, &t->t_timeout);
    t->status = code;
    if (code < 200) {
      t->state = SS_TXN_PROCEEDING;
      return true;
    }
    if (code < 300) {
      /* RFC 6026 7.2: Accepted, Timer M; 2xx retransmissions reach the TU,
       * which sends the ACK itself (RFC 3261 13.2.2.4). */
      t->state = SS_TXN_ACCEPTED;
      ss_txn_arm(t, &t->t_wait, 64 * t1(t), end_timer);
      return true;
    }
    /* 17.1.1.2: Completed; ACK it (17.1.1.3), Timer D: 32 s or more on
     * unreliable transports, 0 on reliable ones. */
    t->state = SS_TXN_COMPLETED;
    sipsrv_msg_free(t->final);
    t->final = NULL;
    if (ss_msg_make_ack(&t->final, ss_txn_request_msg(t), rsp) == 0)
      ss_txn_send(t, t->final);
    if (t->state == SS_TXN_TERMINATED)
      return false;
    ss_txn_arm(t, &t->t_wait, t->peer.reliable ? 0 : 32000, end_timer);
    return true;
  case SS_TXN_COMPLETED:
    /* A retransmitted final response: ACK again, the TU does not see it. */
    SS_TXN_COUNT(l, retrans_in);
    if (code >= 300 && t->final)
      ss_txn_send(t, t->final);
    return false;
  case SS_TXN_ACCEPTED:
    return code >= 200 && code < 300;
  default:
    return false;
  }
}

/* ---- non-INVITE client transaction -------------------------------------- */

/* Timer E: retransmit; in Trying the interval doubles up to T2, in
 * Proceeding it stays at T2 (17.1.2.2). */
static void nict_timer_e(ss_timer *tm, void *arg)
{
  ss_txn *t = arg;
  uint32_t t2 = t->layer->cfg.t2;
  (void)tm;
  if (t->state != SS_TXN_TRYING && t->state != SS_TXN_PROCEEDING)
    return;
  t->interval = t->state == SS_TXN_PROCEEDING ? t2 : (t->interval * 2 < t2 ? t->interval * 2 : t2);
  ss_txn_arm(t, &t->t_retrans, t->interval, nict_timer_e);
  ss_txn_enter(t->layer);
  SS_TXN_COUNT(t->layer, retrans_out);
  ss_txn_send_request(t);
  ss_txn_leave(t->layer);
}

/* Timer F: no final response: the TU acts as on a 408 (17.1.2.2). */
static void nict_timer_f(ss_timer *tm, void *arg)
{
  ss_txn *t = arg;
  (void)tm;
  if (t->state == SS_TXN_TRYING || t->state == SS_TXN_PROCEEDING)
    tu_timeout(t);
}

void ss_nict_start(ss_txn *t)
{
  t->state = SS_TXN_TRYING;
  t->interval = t1(t);
  if (!t->peer.reliable)
    ss_txn_arm(t, &t->t_retrans, t->interval, nict_timer_e);
  ss_txn_arm(t, &t->t_timeout, 64 * t1(t), nict_timer_f);
  ss_txn_send_request(t);
}

/* What a response of status code does to a non-INVITE client transaction;
 * true when the TU is to see it. */
static bool nict_response(ss_txn *t, int code)
{
  ss_txn_layer *l = t->layer;

  if (t->state != SS_TXN_TRYING && t->state != SS_TXN_PROCEEDING)
    return false;                        /* Completed absorbs retransmissions */
  t->status = code;
  if (code < 200) {
    t->state = SS_TXN_PROCEEDING;
    return true;
  }
  /* 17.1.2.2: Completed, Timer K: T4 on unreliable transports, 0 on reliable. */
  t->state = SS_TXN_COMPLETED;
  ss_timer_stop(l->timers, &t->t_retrans);
  ss_timer_stop(l->timers, &t->t_timeout);
  ss_txn_arm(t, &t->t_wait, t->peer.reliable ? 0 : l->cfg.t4, end_timer);
  return true;
}

void ss_client_response(ss_txn *t, sipsrv_msg *rsp)
{
  int code = rsp->sip->sip_status->st_status;
  if (t->kind == SS_TXN_ICT ? ict_response(t, code, rsp) : nict_response(t, code))
    tu_response(t, rsp);
}

bool ss_txn_client_status(ss_txn *t, int code)
{
  if (!t || code < 100 || code > 299)
    return false;
  return t->kind == SS_TXN_ICT    ? ict_response(t, code, NULL)
         : t->kind == SS_TXN_NICT ? nict_response(t, code)
                                  : false;
}
