/* What the roles share (roles_int.h): the canonical address-of-record the
 * registrar stores bindings under and the proxy and redirect server look
 * up, and which domains and ports are a role's own, and how a role logs its
 * store failing. */
#include "core/fmt.h"
#include "roles_int.h"

#include "core/limit.h"

#include <sipsrv/error.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int ss_aor_print(url_t const *u, char *buf, size_t size)
{
  ss_sb sb = ss_sb_init(buf, size);
  char *at;
  ss_sb_str(&sb, u->url_type == url_sips ? "sips:" : "sip:");
  if (u->url_user) {
    ss_sb_str(&sb, u->url_user);
    ss_sb_chr(&sb, '@');
  }
  ss_sb_str(&sb, u->url_host);
  if (ss_sb_done(&sb) < 0)
    return -1;
  at = strrchr(buf, '@');
  for (char *p = at ? at : strchr(buf, ':'); p && *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  return (int)sb.n;
}

bool ss_domain_listed(const char *const *domains, const char *host)
{
  for (const char *const *d = domains; host && d && *d; d++)
    if (strcasecmp(*d, host) == 0)
      return true;
  return false;
}

unsigned ss_url_port(url_t const *u)
{
  if (u->url_port && *u->url_port)
    return (unsigned)strtoul(u->url_port, NULL, 10);
  return u->url_type == url_sips ? 5061 : 5060;
}

int ss_role_respond(ss_txn *st, const sipsrv_msg *req, int status, const char *phrase,
                    const char *headers)
{
  char buf[8192], tag[24];
  sipsrv_msg *rsp;
  sipsrv_reply_opts o = SIPSRV_REPLY_OPTS_INIT;
  long n = status >= 200 ? ss_reply_wire(req, status, phrase, NULL, headers, buf, sizeof buf, tag,
                                         sizeof tag)
                         : SIPSRV_E_INVAL;
  int rc;
  if (n > 0) {
    rc = ss_txn_respond_wire(st, status, buf, (size_t)n, tag);
    if (rc != SIPSRV_E_NOMEM)
      return rc;
  }
  o.headers = headers;
  rc = sipsrv_msg_reply(&rsp, req, status, phrase, &o);
  return rc < 0 ? rc : ss_txn_respond(st, rsp);
}

bool ss_role_nomem(ss_txn *st, const sipsrv_msg *req)
{
  sipsrv_msg *rsp;
  sipsrv_reply_opts o = SIPSRV_REPLY_OPTS_INIT;
  o.headers = "Retry-After: 5";
  if (sipsrv_msg_reply(&rsp, req, 503, "Out of Memory", &o) == 0)
    ss_txn_respond(st, rsp);
  return true;
}

bool ss_role_auth_locked(sipsrv_core *core, const char *user, const ss_peer *src, char *hdr,
                         size_t size)
{
  uint64_t retry_ms;
  ss_sb sb;
  if (!ss_limit_auth_locked(ss_core_limiter(core), user, src ? &src->addr : NULL,
                            ss_core_now(core), &retry_ms))
    return false;
  ss_core_counters_of(core)->auth_locked++;
  sb = ss_sb_init(hdr, size);
  ss_sb_str(&sb, "Retry-After: ");
  ss_sb_u64(&sb, (retry_ms + 999) / 1000);
  return true;
}

void ss_role_auth_result(sipsrv_core *core, const char *user, const ss_peer *src, bool ok)
{
  if (!ok)
    ss_core_counters_of(core)->auth_failures++;
  ss_limit_auth_result(ss_core_limiter(core), user, src ? &src->addr : NULL, ok,
                       ss_core_now(core));
}

void ss_store_failed(sipsrv_core *core, ss_store_health *h, const char *who, unsigned kind,
                     int err)
{
  if (!h->down)
    ss_log(core, SIPSRV_LOG_WARN,
           "%s: location store failing (%s): requests get 500 with Retry-After until it works again",
           who, sipsrv_strerror(err));
  h->down |= kind;
  h->failures++;
}

void ss_store_ok(sipsrv_core *core, ss_store_health *h, const char *who, unsigned kind)
{
  if (!(h->down & kind))
    return;
  h->down &= ~kind;
  if (h->down)
    return;
  ss_log(core, SIPSRV_LOG_WARN, "%s: location store works again (%lu request(s) failed meanwhile)",
         who, h->failures);
  h->failures = 0;
}
