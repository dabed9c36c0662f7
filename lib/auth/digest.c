/* Digest building blocks (digest.h): RFC 7616, RFC 8760. */
#include "digest.h"

#include <sipsrv/error.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int ss_digest_alg_parse(const char *name)
{
  if (!name || strcasecmp(name, "MD5") == 0)
    return SS_DIGEST_MD5;
  if (strcasecmp(name, "SHA-256") == 0)
    return SS_DIGEST_SHA256;
  if (strcasecmp(name, "SHA-512-256") == 0)
    return SS_DIGEST_SHA512_256;
  return -1;
}

const char *ss_digest_alg_name(ss_digest_alg alg)
{
  switch (alg) {
  case SS_DIGEST_MD5: return "MD5";
  case SS_DIGEST_SHA256: return "SHA-256";
  case SS_DIGEST_SHA512_256: return "SHA-512-256";
  }
  return "MD5";
}

/* H of the parts joined with ':'. */
static int h_join(ss_digest_alg alg, const char *const *parts, size_t n, char out[129])
{
  size_t len = 0, off = 0;
  char *buf;
  int rc;

  for (size_t i = 0; i < n; i++)
    len += strlen(parts[i]) + 1;
  buf = malloc(len ? len : 1);
  if (!buf)
    return SIPSRV_E_NOMEM;
  for (size_t i = 0; i < n; i++) {
    size_t k = strlen(parts[i]);
    memcpy(buf + off, parts[i], k);
    off += k;
    if (i + 1 < n)
      buf[off++] = ':';
  }
  rc = ss_digest_hex(alg, buf, off, out);
  free(buf);
  return rc;
}

int ss_digest_response(ss_digest_alg alg, const char *ha1, const char *method, const char *uri,
                       const char *nonce, const char *nc, const char *cnonce, const char *qop,
                       char out[129])
{
  char ha2[129];
  const char *a2[2] = { method, uri };
  int rc;

  if (!ha1 || !method || !uri || !nonce)
    return SIPSRV_E_INVAL;
  rc = h_join(alg, a2, 2, ha2);
  if (rc < 0)
    return rc;
  if (qop && *qop) {
    const char *p[6] = { ha1, nonce, nc ? nc : "", cnonce ? cnonce : "", qop, ha2 };
    if (!nc || !cnonce)
      return SIPSRV_E_INVAL;                 /* RFC 7616 3.4: both come with qop */
    return h_join(alg, p, 6, out);
  } else {
    const char *p[3] = { ha1, nonce, ha2 };
    return h_join(alg, p, 3, out);
  }
}

static void hex(const unsigned char *b, size_t n, char *out)
{
  for (size_t i = 0; i < n; i++)
    snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The 64-hex HMAC-SHA-256 of "ts.rnd.realm". */
static int nonce_mac(const unsigned char *secret, size_t slen, const char *tsrnd, size_t tlen,
                     const char *realm, char out[65])
{
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  size_t rlen = strlen(realm);
  char *msg = malloc(tlen + 1 + rlen);
  if (!msg)
    return SIPSRV_E_NOMEM;
  memcpy(msg, tsrnd, tlen);
  msg[tlen] = '.';
  memcpy(msg + tlen + 1, realm, rlen);
  if (!HMAC(EVP_sha256(), secret, (int)slen, (const unsigned char *)msg, tlen + 1 + rlen, mac, &n) ||
      n != 32) {
    free(msg);
    return SIPSRV_E_NOMEM;
  }
  free(msg);
  hex(mac, 32, out);
  return 0;
}

int ss_digest_nonce_make(const unsigned char *secret, size_t slen, const char *realm,
                         int64_t now_ms, const unsigned char rnd[8], char out[SS_NONCE_LEN + 1])
{
  char r[17];
  if (!secret || !slen || !realm || !rnd || now_ms < 0)
    return SIPSRV_E_INVAL;
  hex(rnd, 8, r);
  snprintf(out, SS_NONCE_LEN + 1, "%016llx.%s.", (unsigned long long)now_ms, r);
  return nonce_mac(secret, slen, out, 33, realm, out + 34);
}

static bool all_hex(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return true;
}

ss_nonce_check ss_digest_nonce_check(const unsigned char *secret, size_t slen, const char *realm,
                                     const char *nonce, int64_t now_ms, uint32_t ttl_ms)
{
  char mac[65];
  unsigned long long ts;

  if (!secret || !slen || !realm || !nonce || strlen(nonce) != SS_NONCE_LEN ||
      nonce[16] != '.' || nonce[33] != '.' || !all_hex(nonce, 16) || !all_hex(nonce + 17, 16) ||
      !all_hex(nonce + 34, 64))
    return SS_NONCE_BAD;
  if (nonce_mac(secret, slen, nonce, 33, realm, mac) < 0 || !ss_digest_equal(mac, nonce + 34))
    return SS_NONCE_BAD;
  ts = strtoull(nonce, NULL, 16);
  /* A nonce from the future (beyond a little clock skew between nodes). */
  if ((int64_t)ts > now_ms + 60000)
    return SS_NONCE_BAD;
  return now_ms - (int64_t)ts > (int64_t)ttl_ms ? SS_NONCE_STALE : SS_NONCE_OK;
}

bool ss_digest_equal(const char *a, const char *b)
{
  size_t la, lb;
  if (!a || !b)
    return false;
  la = strlen(a);
  lb = strlen(b);
  /* Lengths are public (hex of a known algorithm); the contents are not. */
  return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}
