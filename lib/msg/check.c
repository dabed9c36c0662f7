/* Request checks that depend on the role of the element (RFC 3261 8.2, 16.3). */
#include "msg_int.h"

#include <sipsrv/error.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const default_schemes[] = { "sip", "sips", "tel", NULL };
static const char *const default_accept[] = { "application/sdp", NULL };

static bool in_list(const char *const *list, const char *s)
{
  for (; list && *list; list++)
    if (strcasecmp(*list, s) == 0)
      return true;
  return false;
}

/* "Name: a, b, c" into out; false if it did not fit. */
static bool list_header(char *out, size_t size, const char *name, const char *const *list)
{
  size_t n = (size_t)snprintf(out, size, "%s: ", name);
  for (const char *const *p = list; p && *p && n < size; p++)
    n += (size_t)snprintf(out + n, size - n, "%s%s", p == list ? "" : ", ", *p);
  return n < size;
}

static void reject(sipsrv_verdict *v, int status, const char *phrase, const char *rfc)
{
  ss_verdict(v, SIPSRV_REJECT, status, phrase, rfc);
}

/* RFC 3261 8.2.1: 405 (or 501 for a method we do not know) with Allow. */
static bool check_method(sip_request_t const *rq, const char *const *methods, sipsrv_verdict *v)
{
  if (!methods || rq->rq_method == sip_method_ack || in_list(methods, rq->rq_method_name))
    return false;
  if (rq->rq_method == sip_method_unknown)
    reject(v, 501, "Not Implemented", "RFC 3261 8.2.1");
  else
    reject(v, 405, "Method Not Allowed", "RFC 3261 8.2.1");
  list_header(v->header, sizeof v->header, "Allow", methods);
  return true;
}

/* RFC 3261 8.2.2.3 and 16.3 step 5: unknown option tags -> 420 with
 * Unsupported listing them (RFC 4475 3.3.5). */
static bool check_tags(msg_list_t const *l, const char *const *supported, const char *rfc,
                       sipsrv_verdict *v)
{
  char tags[SIPSRV_VERDICT_HEADER_MAX - sizeof "Unsupported: "];
  size_t n = 0;
  bool found = false;

  for (; l; l = l->k_next)
    for (msg_param_t const *t = l->k_items; t && *t; t++) {
      if (in_list(supported, *t))
        continue;
      found = true;
      if (n < sizeof tags)            /* keep what fits; the status is the same */
        n += (size_t)snprintf(tags + n, sizeof tags - n, "%s%s", n ? ", " : "", *t);
    }
  if (!found)
    return false;
  reject(v, 420, "Bad Extension", rfc);
  snprintf(v->header, sizeof v->header, "Unsupported: %s", tags);
  return true;
}

/* A media range "type/subtype", "type/ *" or "* / *" matching a type. */
static bool type_matches(const char *range, const char *type)
{
  const char *rs = strchr(range, '/'), *ts = strchr(type, '/');
  if (strcmp(range, "*/*") == 0)
    return true;
  if (!rs || !ts || (size_t)(rs - range) != (size_t)(ts - type) ||
      strncasecmp(range, type, (size_t)(rs - range)) != 0)
    return false;
  return strcmp(rs + 1, "*") == 0 || strcasecmp(rs + 1, ts + 1) == 0;
}

/* RFC 3261 8.2.3: a body the element cannot take -> 415 with Accept or
 * Accept-Encoding saying what it takes. */
static bool check_content(sip_t const *sip, const sipsrv_check_cfg *cfg, sipsrv_verdict *v)
{
  const char *const *accept = cfg->accept ? cfg->accept : default_accept;
  bool ok = false;

  if (!sip->sip_payload || !sip->sip_payload->pl_len)
    return false;
  for (msg_list_t const *e = sip->sip_content_encoding; e; e = e->k_next)
    for (msg_param_t const *c = e->k_items; c && *c; c++)
      if (strcasecmp(*c, "identity") != 0 && !in_list(cfg->accept_encoding, *c)) {
        static const char *const identity[] = { "identity", NULL };
        reject(v, 415, "Unsupported Media Type", "RFC 3261 8.2.3");
        list_header(v->header, sizeof v->header, "Accept-Encoding",
                    cfg->accept_encoding ? cfg->accept_encoding : identity);
        return true;
      }
  if (sip->sip_content_type && sip->sip_content_type->c_type)
    for (const char *const *a = accept; *a && !ok; a++)
      ok = type_matches(*a, sip->sip_content_type->c_type);
  if (ok)
    return false;
  reject(v, 415, "Unsupported Media Type", "RFC 3261 8.2.3");
  list_header(v->header, sizeof v->header, "Accept", accept);
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

  if (check_method(rq, cfg->methods, v))
    return 0;
  /* RFC 3261 8.2.2.1 and 16.3 step 2: a scheme we do not understand -> 416
   * (RFC 4475 3.3.2, 3.3.3). */
  scheme = rq->rq_url->url_scheme;
  if (!scheme || !in_list(cfg->schemes ? cfg->schemes : default_schemes, scheme)) {
    reject(v, 416, "Unsupported URI Scheme", "RFC 3261 8.2.2.1");
    return 0;
  }
  /* RFC 3261 16.3 step 3: a request to forward with Max-Forwards 0 -> 483
   * (RFC 4475 3.3.11). The caller may answer an OPTIONS itself instead. */
  if ((cfg->flags & SIPSRV_CHECK_MAX_FORWARDS) && sip->sip_max_forwards &&
      sip->sip_max_forwards->mf_count == 0) {
    reject(v, 483, "Too Many Hops", "RFC 3261 16.3");
    return 0;
  }
  if ((cfg->flags & SIPSRV_CHECK_PROXY_REQUIRE) &&
      check_tags(sip->sip_proxy_require, cfg->supported, "RFC 3261 16.3", v))
    return 0;
  /* RFC 3261 8.2.2.3: a UAS never rejects an ACK or CANCEL for its Require. */
  if ((cfg->flags & SIPSRV_CHECK_REQUIRE) && rq->rq_method != sip_method_ack &&
      rq->rq_method != sip_method_cancel &&
      check_tags(sip->sip_require, cfg->supported, "RFC 3261 8.2.2.3", v))
    return 0;
  if ((cfg->flags & SIPSRV_CHECK_CONTENT) && rq->rq_method != sip_method_ack &&
      check_content(sip, cfg, v))
    return 0;
  return 0;
}
