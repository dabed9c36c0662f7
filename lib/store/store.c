/* A store: a backend's table and its user data (store.h). */
#include "store_int.h"

#include <sipsrv/error.h>

#include <openssl/evp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sipsrv_store_new(sipsrv_store **out, const struct sipsrv_store_ops *ops, void *user)
{
  sipsrv_store *s;
  if (!out || !ops)
    return SIPSRV_E_INVAL;
  /* STYLE.md: version and size first, then the slots. */
  if (ops->version < 1 || ops->version > SIPSRV_STORE_OPS_VERSION ||
      ops->size < offsetof(struct sipsrv_store_ops, count))   /* count came later */
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

int sipsrv_store_count(sipsrv_store *s)
{
  if (!s)
    return SIPSRV_E_INVAL;
  /* A table of version 1 and an older size has no count slot. */
  if (s->ops->size < offsetof(struct sipsrv_store_ops, count) + sizeof s->ops->count ||
      !s->ops->count)
    return SIPSRV_E_NOTSUP;
  return s->ops->count(s->user);
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

int ss_store_core(sipsrv_core *core, sipsrv_core **own)
{
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  cfg.alloc = ss_core_allocator(core);
  return sipsrv_core_new(own, &cfg);
}

int ss_binding_copy(const sipsrv_core *core, const sipsrv_binding *src, sipsrv_binding *dst,
                    char **block)
{
  const char *const *fields[] = { &src->contact, &src->params, &src->call_id, &src->path,
                                  &src->instance, &src->received, &src->user_agent };
  const char **out[] = { &dst->contact, &dst->params, &dst->call_id, &dst->path,
                         &dst->instance, &dst->received, &dst->user_agent };
  size_t total = 0, off = 0;
  char *p;

  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    if (*fields[i])
      total += strlen(*fields[i]) + 1;
  p = ss_alloc(core, total ? total : 1);
  if (!p)
    return SIPSRV_E_NOMEM;
  *dst = *src;
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    if (!*fields[i]) {
      *out[i] = NULL;
      continue;
    }
    size_t n = strlen(*fields[i]) + 1;
    memcpy(p + off, *fields[i], n);
    *out[i] = p + off;
    off += n;
  }
  *block = p;
  return 0;
}

/* ---- credentials ------------------------------------------------------- */

int sipsrv_store_add_user(sipsrv_store *s, const char *username, const char *realm,
                          const char *password)
{
  size_t ul, rl, pl;
  char *a1, ha1[3][129];
  sipsrv_credential c;
  int rc = 0;

  if (!s || !username || !*username || !realm || !password || strchr(username, ':'))
    return SIPSRV_E_INVAL;
  if (!s->ops->put_credential)
    return SIPSRV_E_NOTSUP;
  ul = strlen(username);
  rl = strlen(realm);
  pl = strlen(password);
  /* RFC 7616 3.4.2: A1 = username ":" realm ":" passwd. */
  a1 = malloc(ul + rl + pl + 3);
  if (!a1)
    return SIPSRV_E_NOMEM;
  snprintf(a1, ul + rl + pl + 3, "%s:%s:%s", username, realm, password);
  for (int i = 0; i < 3 && rc == 0; i++)
    rc = ss_digest_hex((ss_digest_alg)i, a1, ul + rl + pl + 2, ha1[i]);
  memset(a1, 0, ul + rl + pl + 3);         /* the password does not linger */
  free(a1);
  if (rc < 0)
    return rc;
  c.username = username;
  c.realm = realm;
  c.ha1_md5 = ha1[0];
  c.ha1_sha256 = ha1[1];
  c.ha1_sha512_256 = ha1[2];
  return s->ops->put_credential(s->user, &c);
}

int sipsrv_store_load_users(sipsrv_store *s, const char *path, const char *realm, unsigned *line)
{
  char buf[1024];
  unsigned n = 0, at = 0;
  int rc = 0;
  FILE *f;

  if (line)
    *line = 0;
  if (!s || !path || !realm)
    return SIPSRV_E_INVAL;
  f = fopen(path, "r");
  if (!f)
    return SIPSRV_E_IO;
  while (rc == 0 && fgets(buf, sizeof buf, f)) {
    size_t len = strcspn(buf, "\r\n");
    char *colon = strchr(buf, ':');
    at++;
    if (buf[len] == '\0' && !feof(f)) {
      rc = SIPSRV_E_TOOBIG;                /* a line longer than the buffer */
      break;
    }
    buf[len] = '\0';
    if (buf[0] == '#' || buf[0] == '\0')
      continue;
    if (!colon || colon == buf) {
      rc = SIPSRV_E_PARSE;
      break;
    }
    *colon = '\0';
    rc = sipsrv_store_add_user(s, buf, realm, colon + 1);
    n += rc == 0;
  }
  memset(buf, 0, sizeof buf);              /* nor does the last password */
  if (rc == 0 && ferror(f))
    rc = SIPSRV_E_IO;
  fclose(f);
  if (rc < 0 && line)
    *line = at;
  return rc < 0 ? rc : (int)n;
}
