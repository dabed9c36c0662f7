/* Requests made from an INVITE: the ACK a client transaction sends for a
 * non-2xx final response (RFC 3261 17.1.1.3) and the CANCEL of a pending
 * INVITE (9.1); and copies of a message. */
#include "msg_int.h"

#include <sipsrv/error.h>

#include <sofia-sip/su_alloc.h>

/* A request built from invite (RFC 3261 17.1.1.3 for an ACK, 9.1 for a
 * CANCEL): its Request-URI, Call-ID, From and CSeq number; To as given; one
 * Via, the request's top one; the request's Route headers; no body. */
static int make_from_invite(sipsrv_msg **out, const sipsrv_msg *invite, sip_method_t method,
                            const char *name, sip_to_t const *to)
{
  sip_t const *rq = invite->sip;
  msg_t *m = msg_create(sip_default_mclass(), 0);
  sip_t *sip;
  msg_pub_t *pub;
  su_home_t *home;

  if (!m)
    return SIPSRV_E_NOMEM;
  sip = sip_object(m);
  pub = (msg_pub_t *)sip;
  home = msg_home(m);
  if (msg_header_insert(m, pub, (msg_header_t *)sip_request_create(
                                    home, method, name,
                                    (url_string_t const *)rq->sip_request->rq_url, NULL)) < 0 ||
      msg_header_insert(m, pub, msg_header_dup_one(home, (msg_header_t const *)rq->sip_via)) < 0 ||
      (rq->sip_route && msg_header_add_dup(m, pub, (msg_header_t const *)rq->sip_route) < 0) ||
      msg_header_add_dup(m, pub, (msg_header_t const *)rq->sip_from) < 0 ||
      msg_header_add_dup(m, pub, (msg_header_t const *)to) < 0 ||
      msg_header_add_dup(m, pub, (msg_header_t const *)rq->sip_call_id) < 0 ||
      msg_header_insert(m, pub, (msg_header_t *)sip_cseq_create(home, rq->sip_cseq->cs_seq,
                                                                 method, name)) < 0 ||
      msg_header_add_make(m, pub, sip_max_forwards_class, "70") < 0 ||
      msg_header_insert(m, pub, (msg_header_t *)sip_content_length_create(home, 0)) < 0 ||
      msg_header_insert(m, pub, (msg_header_t *)sip_separator_create(home)) < 0 ||
      msg_serialize(m, pub) < 0) {
    msg_destroy(m);
    return SIPSRV_E_NOMEM;
  }
  *out = ss_msg_wrap(m);
  return *out ? 0 : SIPSRV_E_NOMEM;
}

static bool invite_ok(const sipsrv_msg *invite)
{
  sip_t const *rq = invite->sip;
  return rq->sip_request && rq->sip_via && rq->sip_from && rq->sip_to && rq->sip_call_id &&
         rq->sip_cseq;
}

int ss_msg_make_ack(sipsrv_msg **out, const sipsrv_msg *invite, const sipsrv_msg *rsp)
{
  if (!out || !invite || !rsp || !invite_ok(invite) || !rsp->sip->sip_to)
    return SIPSRV_E_INVAL;
  /* 17.1.1.3: the To of the response (its tag). */
  return make_from_invite(out, invite, sip_method_ack, "ACK", rsp->sip->sip_to);
}

int ss_msg_make_cancel(sipsrv_msg **out, const sipsrv_msg *invite)
{
  if (!out || !invite || !invite_ok(invite))
    return SIPSRV_E_INVAL;
  /* 9.1: the To of the request. */
  return make_from_invite(out, invite, sip_method_cancel, "CANCEL", invite->sip->sip_to);
}

sipsrv_msg *ss_msg_dup(const sipsrv_msg *src)
{
  msg_t *m = src ? msg_dup(src->msg) : NULL;
  return m ? ss_msg_wrap(m) : NULL;
}

sipsrv_msg *ss_msg_ref(const sipsrv_msg *src)
{
  /* The wrapper lives in the message's home: one for every holder. */
  return src && msg_ref_create(src->msg) ? (sipsrv_msg *)src : NULL;
}

sipsrv_msg *ss_msg_copy(const sipsrv_msg *src)
{
  /* New header structures (edits and list changes stay in the copy)
   * sharing the original's strings and wire bytes, which it sends as they
   * are (only edited headers are encoded again); the original is kept
   * alive as its parent until the copy is freed. About a quarter of a deep
   * msg_dup()'s instructions (measured, callgrind).
   * A message that kept a tolerated bad field (a second Content-Type, in
   * sip_error under its own class) is copied deeply: Sofia-SIP's copy
   * puts that field where msg_serialize() asserts (found by
   * tests/fuzz/fuzz_roles). */
  msg_t *m;
  if (src && src->sip->sip_error)
    return ss_msg_dup(src);
  m = src ? msg_copy(src->msg) : NULL;
  return m ? ss_msg_wrap(m) : NULL;
}
