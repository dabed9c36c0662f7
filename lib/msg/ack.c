/* The ACK a client transaction sends for a non-2xx final response
 * (RFC 3261 17.1.1.3). */
#include "msg_int.h"

#include <sipsrv/error.h>

#include <sofia-sip/su_alloc.h>

int ss_msg_make_ack(sipsrv_msg **out, const sipsrv_msg *invite, const sipsrv_msg *rsp)
{
  sip_t const *rq, *rs;
  msg_t *m;
  sip_t *sip;
  msg_pub_t *pub;
  su_home_t *home;

  if (!out || !invite || !rsp)
    return SIPSRV_E_INVAL;
  rq = invite->sip;
  rs = rsp->sip;
  if (!rq->sip_request || !rq->sip_via || !rq->sip_from || !rq->sip_call_id || !rq->sip_cseq ||
      !rs->sip_to)
    return SIPSRV_E_INVAL;
  m = msg_create(sip_default_mclass(), 0);
  if (!m)
    return SIPSRV_E_NOMEM;
  sip = sip_object(m);
  pub = (msg_pub_t *)sip;
  home = msg_home(m);
  /* RFC 3261 17.1.1.3: the Request-URI, Call-ID, From and CSeq number of the
   * request; the To of the response; one Via, the request's top one; the
   * request's Route headers; method ACK. */
  if (msg_header_insert(m, pub, (msg_header_t *)sip_request_create(
                                    home, sip_method_ack, "ACK",
                                    (url_string_t const *)rq->sip_request->rq_url, NULL)) < 0 ||
      msg_header_insert(m, pub, msg_header_dup_one(home, (msg_header_t const *)rq->sip_via)) < 0 ||
      (rq->sip_route && msg_header_add_dup(m, pub, (msg_header_t const *)rq->sip_route) < 0) ||
      msg_header_add_dup(m, pub, (msg_header_t const *)rq->sip_from) < 0 ||
      msg_header_add_dup(m, pub, (msg_header_t const *)rs->sip_to) < 0 ||
      msg_header_add_dup(m, pub, (msg_header_t const *)rq->sip_call_id) < 0 ||
      msg_header_insert(m, pub, (msg_header_t *)sip_cseq_create(home, rq->sip_cseq->cs_seq,
                                                                 sip_method_ack, "ACK")) < 0 ||
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
