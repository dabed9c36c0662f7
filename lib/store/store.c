/* A store: a backend's table and its user data (store.h). */
#include "store_int.h"

#include <sipsrv/error.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

int sipsrv_store_new(sipsrv_store **out, const struct sipsrv_store_ops *ops, void *user)
{
  sipsrv_store *s;
  if (!out || !ops)
    return SIPSRV_E_INVAL;
  /* STYLE.md: version and size first, then the slots. */
  if (ops->version < 1 || ops->version > SIPSRV_STORE_OPS_VERSION ||
      ops->size < sizeof(struct sipsrv_store_ops))
    return SIPSRV_E_VERSION;
  if (!ops->get || !ops->put)
    return SIPSRV_E_INVAL;
  s = calloc(1, sizeof *s);
  if (!s)
    return SIPSRV_E_NOMEM;
  s->ops = ops;
  s->user = user;
  *out = s;
  return 0;
}

void sipsrv_store_free(sipsrv_store *s)
{
  if (!s)
    return;
  if (s->ops->destroy)
    s->ops->destroy(s->user);
  free(s);
}

int sipsrv_store_get(sipsrv_store *s, const char *aor, int64_t now_ms, sipsrv_store_get_cb done,
                     void *ctx)
{
  if (!s || !aor || !done)
    return SIPSRV_E_INVAL;
  return s->ops->get(s->user, aor, now_ms, done, ctx);
}

int sipsrv_store_put(sipsrv_store *s, const char *aor, const sipsrv_binding *b, size_t n,
                     sipsrv_store_done_cb done, void *ctx)
{
  if (!s || !aor || (!b && n) || !done)
    return SIPSRV_E_INVAL;
  for (size_t i = 0; i < n; i++)
    if (!b[i].contact || (b[i].q < -1 || b[i].q > 1000))
      return SIPSRV_E_INVAL;
  return s->ops->put(s->user, aor, b, n, done, ctx);
}

int sipsrv_store_expire(sipsrv_store *s, int64_t now_ms)
{
  if (!s)
    return SIPSRV_E_INVAL;
  return s->ops->expire ? s->ops->expire(s->user, now_ms) : 0;
}

int sipsrv_store_credential(sipsrv_store *s, const char *username, const char *realm,
                            sipsrv_store_cred_cb done, void *ctx)
{
  if (!s || !username || !realm || !done)
    return SIPSRV_E_INVAL;
  if (!s->ops->credential)
    return SIPSRV_E_NOTSUP;
  return s->ops->credential(s->user, username, realm, done, ctx);
}

int ss_digest_hex(ss_digest_alg alg, const void *data, size_t len, char out[129])
{
  const EVP_MD *md = alg == SS_DIGEST_MD5 ? EVP_md5()
                     : alg == SS_DIGEST_SHA256 ? EVP_sha256() : EVP_sha512_256();
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;

  if (!md)
    return SIPSRV_E_NOTSUP;
  if (!EVP_Digest(data, len, d, &n, md, NULL))
    return SIPSRV_E_NOMEM;
  for (unsigned int i = 0; i < n; i++)
    snprintf(out + 2 * i, 3, "%02x", d[i]);
  out[2 * n] = '\0';
  return 0;
}
