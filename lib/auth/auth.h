/* Private: server-side digest authentication of requests (RFC 3261 22,
 * RFC 7616, RFC 8760): challenges, reading a request's credentials, and
 * checking them against a user's H(A1) with nonce-count replay protection.
 * The roles drive it: 401 for the registrar, 407 for a proxy. */
#ifndef SS_AUTH_H
#define SS_AUTH_H

#include "auth/digest.h"
#include "core/htab.h"
#include "msg/msg_int.h"

#include <stdbool.h>

typedef struct ss_auth ss_auth;

typedef struct ss_auth_cfg {
  const char *realm;                 /* required */
  const unsigned char *secret;       /* for the nonces; NULL: 32 random bytes */
  size_t secret_len;
  uint32_t nonce_ttl_ms;             /* 0: 300000 (5 min) */
  unsigned algs;                     /* bit per ss_digest_alg; 0: all three */
} ss_auth_cfg;

/* What a request's credentials for our realm say. */
typedef enum ss_auth_state {
  SS_AUTH_NONE,      /* none for our realm: challenge */
  SS_AUTH_STALE,     /* our nonce, expired: challenge with stale=true */
  SS_AUTH_INVALID,   /* unknown nonce, or an algorithm we do not offer: challenge */
  SS_AUTH_BAD,       /* malformed, or the digest uri is not the Request-URI: 400 */
  SS_AUTH_CHECK      /* well-formed: look the user up, then ss_auth_verify */
} ss_auth_state;

typedef struct ss_auth_creds {
  char username[256];
  ss_digest_alg alg;
  /* borrowed from the request message: */
  const char *nonce, *uri, *response, *cnonce, *qop, *nc;
} ss_auth_creds;

int ss_auth_new(ss_auth **out, sipsrv_core *core, const ss_auth_cfg *cfg);
void ss_auth_free(ss_auth *a);
const char *ss_auth_realm(const ss_auth *a);

/* Header fields for a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate),
 * one per algorithm offered, strongest first (RFC 8760 2.4), CRLF-separated,
 * qop="auth", a fresh nonce each, stale=true when asked. 0 or SIPSRV_E_TOOBIG. */
int ss_auth_challenge(ss_auth *a, bool proxy, bool stale, char *buf, size_t size);

/* Read the request's Authorization (or Proxy-Authorization) for our realm. */
ss_auth_state ss_auth_inspect(ss_auth *a, const sipsrv_msg *req, bool proxy, ss_auth_creds *out);

/* The response matches the user's H(A1) for c->alg (constant-time), and the
 * nonce count is new for this nonce (RFC 7616 3.4.5: a replay fails). */
bool ss_auth_verify(ss_auth *a, const ss_auth_creds *c, const char *ha1, const char *method);

#endif
