/* Private: the building blocks of server-side digest authentication
 * (RFC 7616 for HTTP, as SIP uses it per RFC 3261 22.4 and RFC 8760):
 * response computation for MD5, SHA-256 and SHA-512-256, stateless nonces
 * signed with HMAC-SHA-256 so that any node with the same secret accepts
 * them, and a constant-time comparison. The 401/407 exchange on top of these
 * is the registrar's and the proxy's (issue 4, next part). */
#ifndef SS_DIGEST_H
#define SS_DIGEST_H

#include "store/store_int.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The algorithm named in a challenge or credentials ("MD5", "SHA-256",
 * "SHA-512-256", case-insensitive; NULL means MD5, RFC 7616 3.3); -1 if
 * unknown. The "-sess" variants are not supported (RFC 8760 3 does not
 * ask them of SIP). */
int ss_digest_alg_parse(const char *name);
const char *ss_digest_alg_name(ss_digest_alg alg);

/* RFC 7616 3.4.1: with qop=auth,
 *   response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" H(method ":" uri));
 * without qop (RFC 2069 compatibility) H(HA1 ":" nonce ":" HA2). out gets
 * lower-case hex. 0, or a negative SIPSRV_E_*. */
int ss_digest_response(ss_digest_alg alg, const char *ha1, const char *method, const char *uri,
                       const char *nonce, const char *nc, const char *cnonce, const char *qop,
                       char out[129]);

/* A nonce: "<time ms, 16 hex>.<random, 16 hex>.<HMAC-SHA-256 of both and the
 * realm, 64 hex>" (98 characters). rnd: 8 random bytes from the caller. */
#define SS_NONCE_LEN 98
int ss_digest_nonce_make(const unsigned char *secret, size_t secret_len, const char *realm,
                         int64_t now_ms, const unsigned char rnd[8], char out[SS_NONCE_LEN + 1]);

typedef enum ss_nonce_check {
  SS_NONCE_OK = 0,     /* ours and fresh */
  SS_NONCE_STALE = 1,  /* ours but older than ttl: challenge again with stale=true (RFC 7616 3.3) */
  SS_NONCE_BAD = 2     /* not ours (forged, other realm or secret, malformed, from the future) */
} ss_nonce_check;

ss_nonce_check ss_digest_nonce_check(const unsigned char *secret, size_t secret_len,
                                     const char *realm, const char *nonce, int64_t now_ms,
                                     uint32_t ttl_ms);

/* Compare two strings in time independent of where they differ. */
bool ss_digest_equal(const char *a, const char *b);

#endif
