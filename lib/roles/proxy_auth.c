/* Authentication and authorization at the proxy (proxy.h): the users of
 * its domains prove who they are with digest (RFC 3261 22.3, 407 with
 * Proxy-Authenticate), then a policy decides what they may do. ACK and
 * CANCEL are never challenged (22.1), nor requests inside a dialog. */
#include "proxy_int.h"
#include "roles_int.h"

#include "store/store_int.h"

#include <sipsrv/error.h>

#include <stdio.h>
#include <string.h>

/* A credential lookup in flight; like a location lookup it may outlive the
 * proxy (a store that completes late), so it keeps its allocator. */
typedef struct px_authing {
  sipsrv_allocator alloc;
  sipsrv_proxy *p;            /* NULL once the proxy is gone */
  const sipsrv_msg *req;      /* borrowed from the caller's context */
  ss_peer src;                /* where it came from (the digest lockout) */
  ss_auth_creds creds;
  px_auth_done done;
  void *ctx;
  struct px_authing *prev, *next;
} px_authing;

static void unlink_authing(px_authing *a)
{
  if (a->prev)
    a->prev->next = a->next;
  else
    a->p->authing = a->next;
  if (a->next)
    a->next->prev = a->prev;
}

/* 22.1: never ACK or CANCEL; only requests from users of our domains, and
 * not inside a dialog (those follow a request that was). */
static bool needs_auth(const sipsrv_proxy *p, const sipsrv_msg *req)
{
  sip_t const *sip = req->sip;
  sip_method_t m = sip->sip_request->rq_method;
  if (!p->auth || m == sip_method_ack || m == sip_method_cancel)
    return false;
  if (sip->sip_to && sip->sip_to->a_tag)
    return false;
  return sip->sip_from && px_host_is_ours(p, sip->sip_from->a_url);
}

/* The default policy, or the application's: 0 to go on, or a status. */
static int authorize(sipsrv_proxy *p, const sipsrv_msg *req, const char *user, const char **phrase)
{
  sip_t const *sip = req->sip;
  *phrase = NULL;
  if (p->cfg.on_authorize)
    return p->cfg.on_authorize(p, user, req, p->cfg.user);
  if (!p->auth)
    return 0;
  /* A user speaks only as itself. */
  if (user && sip->sip_from && (!sip->sip_from->a_url->url_user ||
                                strcmp(sip->sip_from->a_url->url_user, user) != 0)) {
    *phrase = "From Is Not the Authenticated User";
    return 403;
  }
  /* Only the domain's own users reach other domains. */
  if (!user && !(sip->sip_to && sip->sip_to->a_tag) &&
      !px_domain_is_ours(p, sip->sip_request->rq_url) && sip->sip_request->rq_method != sip_method_ack &&
      sip->sip_request->rq_method != sip_method_cancel) {
    *phrase = "Relaying Forbidden";
    return 403;
  }
  return 0;
}

static void finish(px_authing *a, int status, const char *phrase, const char *hdr, const char *user)
{
  px_auth_result r = { status, phrase, hdr, user };
  a->done(a->ctx, &r);
}

static void challenge(px_authing *a, bool stale)
{
  char h[2048];
  if (ss_auth_challenge(a->p->auth, true, stale, h, sizeof h) < 0)
    finish(a, 500, NULL, NULL, NULL);
  else
    finish(a, 407, "Proxy Authentication Required", h, NULL);
}

static void on_cred(void *arg, int err, const sipsrv_credential *c)
{
  px_authing *a = arg;
  const char *ha1 = NULL, *phrase;
  int st;
  bool ok;

  if (!a->p) {
    a->alloc.free_fn(a, a->alloc.user);  /* the proxy is gone */
    return;
  }
  unlink_authing(a);
  if (err == 0 && c) {
    switch (a->creds.alg) {
    case SS_DIGEST_MD5: ha1 = c->ha1_md5; break;
    case SS_DIGEST_SHA256: ha1 = c->ha1_sha256; break;
    case SS_DIGEST_SHA512_256: ha1 = c->ha1_sha512_256; break;
    }
  }
  ok = !err && ha1 && ss_auth_verify(a->p->auth, &a->creds, ha1,
                                     a->req->sip->sip_request->rq_method_name);
  if (err && err != SIPSRV_E_NOTFOUND)
    ss_store_failed(a->p->core, &a->p->store, "proxy", SS_STORE_CRED, err);
  else
    ss_store_ok(a->p->core, &a->p->store, "proxy", SS_STORE_CRED);
  if (err && err != SIPSRV_E_NOTFOUND) {
    finish(a, 500, "Credential Lookup Failure", "Retry-After: 5", NULL);
  } else if (!ok) {
    ss_role_auth_result(a->p->core, a->creds.username, &a->src, false);
    challenge(a, false);              /* an unknown user looks like a wrong password */
  } else {
    ss_role_auth_result(a->p->core, a->creds.username, &a->src, true);
    if ((st = authorize(a->p, a->req, a->creds.username, &phrase)) != 0)
      finish(a, st, phrase, NULL, NULL);
    else
      finish(a, 0, NULL, NULL, a->creds.username);
  }
  a->alloc.free_fn(a, a->alloc.user);
}

void px_authenticate(sipsrv_proxy *p, const sipsrv_msg *req, const ss_peer *src, px_auth_done done,
                     void *ctx)
{
  px_authing *a;
  const char *phrase;
  int st;

  if (!needs_auth(p, req)) {
    px_auth_result r = { 0, NULL, NULL, NULL };
    r.status = authorize(p, req, NULL, &phrase);
    r.phrase = phrase;
    done(ctx, &r);
    return;
  }
  a = ss_zalloc(p->core, sizeof *a);
  if (!a) {
    px_auth_result r = { 500, NULL, NULL, NULL };
    done(ctx, &r);
    return;
  }
  a->alloc = *ss_core_allocator(p->core);
  a->p = p;
  a->req = req;
  a->done = done;
  a->ctx = ctx;
  if (src)
    a->src = *src;
  switch (ss_auth_inspect(p->auth, req, true, &a->creds)) {
  case SS_AUTH_CHECK: {
    char h[40];
    /* Too many wrong passwords from there: not even checked. */
    if (ss_role_auth_locked(p->core, a->creds.username, src, h, sizeof h)) {
      finish(a, 503, "Too Many Failed Attempts", h, NULL);
      break;
    }
  }
    a->next = p->authing;
    if (p->authing)
      p->authing->prev = a;
    p->authing = a;
    st = p->cfg.location ? sipsrv_store_credential(p->cfg.location, a->creds.username,
                                                   ss_auth_realm(p->auth), on_cred, a)
                         : SIPSRV_E_NOTSUP;
    if (st < 0) {
      unlink_authing(a);
      if (p->cfg.location)
        ss_store_failed(p->core, &p->store, "proxy", SS_STORE_CRED, st);
      finish(a, 500, "Credential Lookup Failure", "Retry-After: 5", NULL);
      break;
    }
    return;                              /* on_cred frees it */
  case SS_AUTH_STALE:
    challenge(a, true);
    break;
  case SS_AUTH_BAD:
    finish(a, 400, "Malformed Proxy-Authorization", NULL, NULL);
    break;
  default:
    challenge(a, false);
    break;
  }
  ss_free(p->core, a);
}

void px_auth_fini(sipsrv_proxy *p)
{
  while (p->authing) {
    px_authing *a = p->authing;
    unlink_authing(a);
    a->p = NULL;
    a->done(a->ctx, NULL);
  }
}

/* 22.3: the credentials were for us; the next hops have no use for them
 * (those for other realms stay). */
void px_auth_consume(const sipsrv_proxy *p, sipsrv_msg *m)
{
  char want[300];
  sip_proxy_authorization_t *au, *next;
  if (!p->auth)
    return;
  snprintf(want, sizeof want, "\"%s\"", ss_auth_realm(p->auth));
  for (au = m->sip->sip_proxy_authorization; au; au = next) {
    const char *realm = msg_params_find(au->au_params, "realm=");
    next = au->au_next;
    if (realm && strcmp(realm, want) == 0)
      msg_header_remove(m->msg, (msg_pub_t *)m->sip, (msg_header_t *)au);
  }
}
