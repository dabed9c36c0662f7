/* Digest authentication of requests (auth.h). */
#include "auth/auth.h"

#include <sipsrv/error.h>

#include <sofia-sip/auth_digest.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define NC_MAX 65536          /* nonces whose count is remembered */

/* The highest nonce-count seen for one nonce (RFC 7616 3.4.5). */
typedef struct nc_entry {
  ss_hnode hn;
  char nonce[SS_NONCE_LEN + 1];
  uint32_t nc;
  int64_t born;               /* the nonce's own time: it is forgotten when stale */
  struct nc_entry *older, *newer;
} nc_entry;

struct ss_auth {
  sipsrv_core *core;
  char *realm;
  unsigned char secret[64];
  size_t secret_len;
  uint32_t ttl;
  unsigned algs;
  ss_htab ncs;
  nc_entry *oldest, *newest;
  size_t nnc;
};

int ss_auth_new(ss_auth **out, sipsrv_core *core, const ss_auth_cfg *cfg)
{
  ss_auth *a;
  size_t rl;
  if (!out || !cfg || !cfg->realm || !*cfg->realm || strchr(cfg->realm, '"') ||
      (cfg->secret && (!cfg->secret_len || cfg->secret_len > 64)))
    return SIPSRV_E_INVAL;
  a = ss_zalloc(core, sizeof *a);
  if (!a)
    return SIPSRV_E_NOMEM;
  rl = strlen(cfg->realm) + 1;
  a->realm = ss_alloc(core, rl);
  if (!a->realm) {
    ss_free(core, a);
    return SIPSRV_E_NOMEM;
  }
  memcpy(a->realm, cfg->realm, rl);
  a->core = core;
  if (cfg->secret) {
    memcpy(a->secret, cfg->secret, cfg->secret_len);
    a->secret_len = cfg->secret_len;
  } else {
    a->secret_len = 32;
    if (getrandom(a->secret, 32, 0) != 32) {
      ss_free(core, a->realm);
      ss_free(core, a);
      return SIPSRV_E_IO;
    }
  }
  a->ttl = cfg->nonce_ttl_ms ? cfg->nonce_ttl_ms : 300000;
  a->algs = cfg->algs ? cfg->algs : (1u << SS_DIGEST_MD5) | (1u << SS_DIGEST_SHA256) |
                                    (1u << SS_DIGEST_SHA512_256);
  ss_htab_init(&a->ncs, core);
  *out = a;
  return 0;
}

static void nc_drop(ss_auth *a, nc_entry *e)
{
  ss_htab_remove(&a->ncs, &e->hn);
  if (e->older)
    e->older->newer = e->newer;
  else
    a->oldest = e->newer;
  if (e->newer)
    e->newer->older = e->older;
  else
    a->newest = e->older;
  a->nnc--;
  ss_free(a->core, e);
}

void ss_auth_free(ss_auth *a)
{
  if (!a)
    return;
  while (a->oldest)
    nc_drop(a, a->oldest);
  ss_htab_fini(&a->ncs);
  memset(a->secret, 0, sizeof a->secret);
  ss_free(a->core, a->realm);
  ss_free(a->core, a);
}

const char *ss_auth_realm(const ss_auth *a)
{
  return a->realm;
}

int ss_auth_challenge(ss_auth *a, bool proxy, bool stale, char *buf, size_t size)
{
  static const ss_digest_alg order[] = { SS_DIGEST_SHA512_256, SS_DIGEST_SHA256, SS_DIGEST_MD5 };
  size_t n = 0;
  int64_t now = ss_core_wall_now(a->core);

  for (size_t i = 0; i < 3; i++) {
    char nonce[SS_NONCE_LEN + 1];
    unsigned char rnd[8];
    int k;
    if (!(a->algs & (1u << order[i])))
      continue;
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd ||
        ss_digest_nonce_make(a->secret, a->secret_len, a->realm, now, rnd, nonce) < 0)
      return SIPSRV_E_IO;
    k = snprintf(buf + n, size - n,
                 "%s%s: Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, qop=\"auth\"%s",
                 n ? "\r\n" : "", proxy ? "Proxy-Authenticate" : "WWW-Authenticate", a->realm,
                 nonce, ss_digest_alg_name(order[i]), stale ? ", stale=true" : "");
    if (k < 0 || (size_t)k >= size - n)
      return SIPSRV_E_TOOBIG;
    n += (size_t)k;
  }
  return 0;
}

static const char *unq(su_home_t *home, const char *v)
{
  return v && v[0] == '"' ? msg_unquote_dup(home, v) : v;
}

ss_auth_state ss_auth_inspect(ss_auth *a, const sipsrv_msg *req, bool proxy, ss_auth_creds *out)
{
  su_home_t *home = msg_home(req->msg);
  msg_auth_t const *au = proxy ? (msg_auth_t const *)req->sip->sip_proxy_authorization
                               : (msg_auth_t const *)req->sip->sip_authorization;
  char ruri[2048];
  int alg;

  memset(out, 0, sizeof *out);
  for (; au; au = au->au_next) {
    auth_response_t ar;
    const char *realm, *user;
    if (!au->au_scheme || strcasecmp(au->au_scheme, "Digest") != 0)
      continue;                          /* RFC 4475 3.3.7: an unknown scheme is not ours */
    memset(&ar, 0, sizeof ar);
    ar.ar_size = sizeof ar;
    if (auth_digest_response_get(home, &ar, au->au_params) < 0)
      return SS_AUTH_BAD;
    realm = unq(home, ar.ar_realm);
    if (!realm || strcmp(realm, a->realm) != 0)
      continue;
    user = unq(home, ar.ar_username);
    out->nonce = unq(home, ar.ar_nonce);
    out->uri = unq(home, ar.ar_uri);
    out->response = unq(home, ar.ar_response);
    out->cnonce = unq(home, ar.ar_cnonce);
    out->qop = unq(home, ar.ar_qop);
    out->nc = unq(home, ar.ar_nc);
    if (!user || !*user || strlen(user) >= sizeof out->username || !out->nonce || !out->uri ||
        !out->response)
      return SS_AUTH_BAD;
    snprintf(out->username, sizeof out->username, "%s", user);
    /* RFC 7616 3.4.6: the digest uri is the Request-URI. */
    issize_t rl = url_e(ruri, sizeof ruri, req->sip->sip_request->rq_url);
    /* A cut URI is unterminated (SOFIA-NOTES): then compare parsed. */
    if (rl < 0 || (size_t)rl >= sizeof ruri || strcmp(ruri, out->uri) != 0) {
      url_t *u = url_make(home, out->uri);
      if (!u || url_cmp_all(u, req->sip->sip_request->rq_url) != 0)
        return SS_AUTH_BAD;
    }
    alg = ss_digest_alg_parse(unq(home, ar.ar_algorithm));
    if (alg < 0 || !(a->algs & (1u << alg)))
      return SS_AUTH_INVALID;
    out->alg = (ss_digest_alg)alg;
    /* qop=auth needs nc and cnonce (RFC 7616 3.4); only auth is offered. */
    if (out->qop && (strcasecmp(out->qop, "auth") != 0 || !out->nc || !out->cnonce ||
                     strlen(out->nc) != 8))
      return SS_AUTH_BAD;
    switch (ss_digest_nonce_check(a->secret, a->secret_len, a->realm, out->nonce,
                                  ss_core_wall_now(a->core), a->ttl)) {
    case SS_NONCE_OK: return SS_AUTH_CHECK;
    case SS_NONCE_STALE: return SS_AUTH_STALE;
    default: return SS_AUTH_INVALID;
    }
  }
  return SS_AUTH_NONE;
}

/* Record nc for the nonce; false when it is not higher than the last one. */
static bool nc_fresh(ss_auth *a, const char *nonce, uint32_t nc)
{
  uint64_t h = ss_hash(SS_HASH_INIT, nonce);
  int64_t now = ss_core_wall_now(a->core);
  nc_entry *e;

  /* Stale nonces are refused anyway: forget their counts. */
  while (a->oldest && now - a->oldest->born > (int64_t)a->ttl)
    nc_drop(a, a->oldest);
  for (ss_hnode *n = ss_htab_first(&a->ncs, h); n; n = ss_htab_next(n, h)) {
    e = SS_CONTAINER(n, nc_entry, hn);
    if (strcmp(e->nonce, nonce) == 0) {
      if (nc <= e->nc)
        return false;
      e->nc = nc;
      return true;
    }
  }
  if (a->nnc >= NC_MAX)
    nc_drop(a, a->oldest);
  e = ss_zalloc(a->core, sizeof *e);
  if (!e || ss_htab_add(&a->ncs, &e->hn, h) < 0) {
    ss_free(a->core, e);
    return false;                        /* cannot remember it: do not accept it */
  }
  snprintf(e->nonce, sizeof e->nonce, "%s", nonce);
  e->nc = nc;
  e->born = (int64_t)strtoull(nonce, NULL, 16);
  e->older = a->newest;
  if (a->newest)
    a->newest->newer = e;
  else
    a->oldest = e;
  a->newest = e;
  a->nnc++;
  return true;
}

bool ss_auth_verify(ss_auth *a, const ss_auth_creds *c, const char *ha1, const char *method)
{
  char want[129];
  if (!a || !c || !ha1 || !method)
    return false;
  if (ss_digest_response(c->alg, ha1, method, c->uri, c->nonce, c->nc, c->cnonce, c->qop, want) < 0)
    return false;
  if (!ss_digest_equal(want, c->response))
    return false;
  /* Without qop (RFC 2069) there is no count: the nonce's lifetime bounds replays. */
  return c->qop ? nc_fresh(a, c->nonce, (uint32_t)strtoul(c->nc, NULL, 16)) : true;
}
