/* Request checks that depend on the role of the element (RFC 3261 8.2.2, 16.3). */
#include "msg_int.h"

#include <sipsrv/error.h>

#include <string.h>
#include <strings.h>

static const char *const default_schemes[] = { "sip", "sips", "tel", NULL };

static bool in_list(const char *const *list, const char *s)
{
  for (; list && *list; list++)
    if (strcasecmp(*list, s) == 0)
      return true;
  return false;
}

/* Append the tags of a Require/Proxy-Require list that are not supported. */
static bool collect_unsupported(msg_list_t const *l, const char *const *supported,
                                char *out, size_t size)
{
  bool found = false;
  for (; l; l = l->k_next) {
    for (msg_param_t const *t = l->k_items; t && *t; t++) {
      size_t used = strlen(out), n = strlen(*t);
      if (in_list(supported, *t))
        continue;
      found = true;
      if (used + n + 3 > size)
        continue;                        /* keep what fits; the status is the same */
      if (used) {
        memcpy(out + used, ", ", 2);
        used += 2;
      }
      memcpy(out + used, *t, n + 1);
    }
  }
  return found;
}

/* A 420 verdict listing the unsupported tags of l, if it has any. */
static bool reject_420(msg_list_t const *l, const char *const *supported, const char *rfc,
                       sipsrv_verdict *v)
{
  char tags[SIPSRV_VERDICT_TAGS_MAX] = "";
  if (!collect_unsupported(l, supported, tags, sizeof tags))
    return false;
  ss_verdict(v, SIPSRV_REJECT, 420, "Bad Extension", rfc);
  memcpy(v->unsupported, tags, sizeof tags);
  return true;
}

int sipsrv_msg_check(const sipsrv_msg *msg, const sipsrv_check_cfg *cfg, sipsrv_verdict *v)
{
  static const sipsrv_check_cfg defaults = SIPSRV_CHECK_CFG_INIT;
  sip_t const *sip;
  sip_request_t const *rq;
  const char *scheme;

  if (!msg || !v)
    return SIPSRV_E_INVAL;
  if (!cfg)
    cfg = &defaults;
  ss_verdict(v, SIPSRV_ACCEPT, 0, "OK", NULL);
  sip = msg->sip;
  rq = sip->sip_request;
  if (!rq)
    return 0;

  /* RFC 3261 8.2.2.1 and 16.3 step 2: a scheme we do not understand -> 416
   * (RFC 4475 3.3.2, 3.3.3). */
  scheme = rq->rq_url->url_scheme;
  if (!scheme || !in_list(cfg->schemes ? cfg->schemes : default_schemes, scheme)) {
    ss_verdict(v, SIPSRV_REJECT, 416, "Unsupported URI Scheme", "RFC 3261 8.2.2.1");
    return 0;
  }
  /* RFC 3261 16.3 step 3: a request to forward with Max-Forwards 0 -> 483
   * (RFC 4475 3.3.11). The caller may answer an OPTIONS itself instead. */
  if ((cfg->flags & SIPSRV_CHECK_MAX_FORWARDS) && sip->sip_max_forwards &&
      sip->sip_max_forwards->mf_count == 0) {
    ss_verdict(v, SIPSRV_REJECT, 483, "Too Many Hops", "RFC 3261 16.3");
    return 0;
  }
  /* RFC 3261 16.3 step 5 (Proxy-Require) and 8.2.2.3 (Require): unknown
   * option tags -> 420 with Unsupported (RFC 4475 3.3.5). 8.2.2.3: a UAS
   * never rejects an ACK or CANCEL for its Require. */
  if ((cfg->flags & SIPSRV_CHECK_PROXY_REQUIRE) &&
      reject_420(sip->sip_proxy_require, cfg->supported, "RFC 3261 16.3", v))
    return 0;
  if ((cfg->flags & SIPSRV_CHECK_REQUIRE) && rq->rq_method != sip_method_ack &&
      rq->rq_method != sip_method_cancel &&
      reject_420(sip->sip_require, cfg->supported, "RFC 3261 8.2.2.3", v))
    return 0;
  return 0;
}
