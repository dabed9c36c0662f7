/* The memory store: bindings by AOR in a hash table (O(1) lookup), each AOR
 * on a timer wheel at its earliest expiry so that expiring touches only what
 * is due, and credentials by user and realm. Synchronous: every callback runs
 * before the operation returns.
 *
 * Threads: one store may serve the cores of several threads (a loop group,
 * loop.h). Every operation holds the store's mutex, and a callback runs
 * after it is released, on copies of what it reads (so a callback may call
 * the store again, and another thread may replace the bindings it reads). */
#include "store_int.h"

#include "core/htab.h"
#include "core/timer.h"
#include "msg/msg_int.h"

#include <sipsrv/error.h>

#include <pthread.h>
#include <string.h>

typedef struct aor_entry {
  char *aor;
  sipsrv_binding *b;        /* each binding's strings live in its own block */
  char **blocks;
  size_t n;
  ss_timer expiry;          /* armed at the earliest expiry of b */
  ss_hnode hn;
} aor_entry;

typedef struct cred_entry {
  sipsrv_credential c;
  char *block;
  ss_hnode hn;
} cred_entry;

typedef struct mem_store {
  const sipsrv_core *core;
  ss_htab aors;             /* by AOR */
  ss_htab creds;            /* by user name and realm */
  ss_timers expiries;       /* AORs by earliest expiry (fired by mem_expire) */
  int64_t expire_now;       /* mem_expire's time, for on_due */
  int expire_dropped;       /* what on_due dropped */
  size_t nbindings;         /* in every AOR */
  pthread_mutex_t mu;       /* held by every operation, not by its callback */
} mem_store;

/* ---- tables ---------------------------------------------------------- */

static uint64_t key2(const char *a, const char *b)
{
  return ss_hash(ss_hash(SS_HASH_INIT, a), b);
}

static aor_entry *aor_find(const mem_store *m, const char *aor)
{
  uint64_t h = key2(aor, "");
  for (ss_hnode *n = ss_htab_first(&m->aors, h); n; n = ss_htab_next(n, h)) {
    aor_entry *e = SS_CONTAINER(n, aor_entry, hn);
    if (strcmp(e->aor, aor) == 0)
      return e;
  }
  return NULL;
}

/* ---- bindings ----------------------------------------------------------- */

static void bindings_free(mem_store *m, aor_entry *e)
{
  m->nbindings -= e->n;
  for (size_t i = 0; i < e->n; i++)
    ss_free(m->core, e->blocks[i]);
  ss_free(m->core, e->blocks);
  ss_free(m->core, e->b);
  e->b = NULL;
  e->blocks = NULL;
  e->n = 0;
}

static void entry_free(mem_store *m, aor_entry *e)
{
  ss_timer_stop(&m->expiries, &e->expiry);
  bindings_free(m, e);
  ss_free(m->core, e->aor);
  ss_free(m->core, e);
}

static void on_due(ss_timer *t, void *arg);

/* Arm the entry at its earliest expiry. */
static void entry_arm(mem_store *m, aor_entry *e)
{
  int64_t min = INT64_MAX;
  for (size_t i = 0; i < e->n; i++)
    if (e->b[i].expires < min)
      min = e->b[i].expires;
  if (e->n)
    ss_timer_start(&m->expiries, &e->expiry, min < 0 ? 0 : (uint64_t)min, on_due, m);
  else
    ss_timer_stop(&m->expiries, &e->expiry);
}

static void entry_remove(mem_store *m, aor_entry *e)
{
  ss_htab_remove(&m->aors, &e->hn);
  entry_free(m, e);
}

/* An AOR's earliest binding is due (mem_expire, under the lock): drop what
 * has expired, and arm it again at the next expiry or remove it. */
static void on_due(ss_timer *t, void *arg)
{
  aor_entry *e = SS_CONTAINER(t, aor_entry, expiry);
  mem_store *m = arg;
  size_t k = 0;

  for (size_t i = 0; i < e->n; i++) {
    if (e->b[i].expires <= m->expire_now) {
      ss_free(m->core, e->blocks[i]);
      m->expire_dropped++;
      continue;
    }
    e->b[k] = e->b[i];
    e->blocks[k] = e->blocks[i];
    k++;
  }
  m->nbindings -= e->n - k;
  e->n = k;
  if (k)
    entry_arm(m, e);
  else
    entry_remove(m, e);
}

static int put_locked(mem_store *m, const char *aor, const sipsrv_binding *b, size_t n)
{
  aor_entry *e = aor_find(m, aor);
  sipsrv_binding *nb = NULL;
  char **blocks = NULL;
  size_t i;

  if (n == 0) {
    if (e)
      entry_remove(m, e);
    return 0;
  }
  nb = ss_zalloc(m->core, n * sizeof *nb);
  blocks = ss_zalloc(m->core, n * sizeof *blocks);
  if (!nb || !blocks)
    goto nomem;
  for (i = 0; i < n; i++)
    if (ss_binding_copy(m->core, &b[i], &nb[i], &blocks[i]) < 0)
      goto nomem;
  if (e) {
    bindings_free(m, e);
  } else {
    size_t len = strlen(aor) + 1;
    e = ss_zalloc(m->core, sizeof *e);
    if (!e)
      goto nomem;
    e->aor = ss_alloc(m->core, len);
    if (!e->aor || ss_htab_add(&m->aors, &e->hn, key2(aor, "")) < 0) {
      ss_free(m->core, e->aor);
      ss_free(m->core, e);
      goto nomem;
    }
    memcpy(e->aor, aor, len);
    ss_timer_init(&e->expiry);
  }
  e->b = nb;
  e->blocks = blocks;
  e->n = n;
  m->nbindings += n;
  entry_arm(m, e);
  return 0;

nomem:
  /* The old set stays whole (store.h). */
  for (i = 0; blocks && i < n; i++)
    ss_free(m->core, blocks[i]);
  ss_free(m->core, blocks);
  ss_free(m->core, nb);
  return SIPSRV_E_NOMEM;
}

static int mem_put(void *user, const char *aor, const sipsrv_binding *b, size_t n,
                   sipsrv_store_done_cb done, void *ctx)
{
  mem_store *m = user;
  int rc;
  pthread_mutex_lock(&m->mu);
  rc = put_locked(m, aor, b, n);
  pthread_mutex_unlock(&m->mu);
  done(ctx, rc);
  return 0;
}

/* Copy the bindings of e live at now_ms into one allocation: the array,
 * then their strings. *out NULL when none; SIPSRV_E_NOMEM. */
static int copy_live(mem_store *m, const aor_entry *e, int64_t now_ms, sipsrv_binding **out,
                     size_t *n)
{
  size_t total = 0, k = 0;
  char *p;
  sipsrv_binding *arr;

  *out = NULL;
  *n = 0;
  for (size_t i = 0; i < e->n; i++) {
    const sipsrv_binding *b = &e->b[i];
    const char *f[] = { b->contact, b->params, b->call_id, b->path, b->instance, b->received,
                        b->user_agent };
    if (b->expires <= now_ms)
      continue;                          /* hidden even before expire() drops it */
    total += sizeof *b;
    for (size_t j = 0; j < sizeof f / sizeof f[0]; j++)
      total += f[j] ? strlen(f[j]) + 1 : 0;
    k++;
  }
  if (!k)
    return 0;
  arr = ss_alloc(m->core, total);
  if (!arr)
    return SIPSRV_E_NOMEM;
  p = (char *)(arr + k);
  for (size_t i = 0, w = 0; i < e->n; i++) {
    const sipsrv_binding *b = &e->b[i];
    sipsrv_binding *d = &arr[w];
    const char **f[] = { &d->contact, &d->params, &d->call_id, &d->path, &d->instance,
                         &d->received, &d->user_agent };
    if (b->expires <= now_ms)
      continue;
    *d = *b;
    for (size_t j = 0; j < sizeof f / sizeof f[0]; j++) {
      if (*f[j]) {
        size_t len = strlen(*f[j]) + 1;
        memcpy(p, *f[j], len);
        *f[j] = p;
        p += len;
      }
    }
    w++;
  }
  *out = arr;
  *n = k;
  return 0;
}

static int mem_get(void *user, const char *aor, int64_t now_ms, sipsrv_store_get_cb done, void *ctx)
{
  mem_store *m = user;
  aor_entry *e;
  sipsrv_binding *live = NULL;
  size_t n = 0;
  int rc = 0;

  pthread_mutex_lock(&m->mu);
  e = aor_find(m, aor);
  if (e)
    rc = copy_live(m, e, now_ms, &live, &n);
  pthread_mutex_unlock(&m->mu);
  done(ctx, rc, live, n);
  ss_free(m->core, live);
  return 0;
}

static int mem_expire(void *user, int64_t now_ms)
{
  mem_store *m = user;
  int dropped;

  if (now_ms < 0)
    return 0;
  pthread_mutex_lock(&m->mu);
  /* Only the AORs whose earliest binding is due (on_due). */
  m->expire_now = now_ms;
  m->expire_dropped = 0;
  ss_timers_expire(&m->expiries, (uint64_t)now_ms);
  dropped = m->expire_dropped;
  pthread_mutex_unlock(&m->mu);
  return dropped;
}

/* ---- credentials ------------------------------------------------------- */

static cred_entry *cred_find(const mem_store *m, const char *user, const char *realm)
{
  uint64_t h = key2(user, realm);
  for (ss_hnode *n = ss_htab_first(&m->creds, h); n; n = ss_htab_next(n, h)) {
    cred_entry *e = SS_CONTAINER(n, cred_entry, hn);
    if (strcmp(e->c.username, user) == 0 && strcmp(e->c.realm, realm) == 0)
      return e;
  }
  return NULL;
}

static int mem_credential(void *user, const char *username, const char *realm,
                          sipsrv_store_cred_cb done, void *ctx)
{
  mem_store *m = user;
  cred_entry *e;
  sipsrv_credential c;
  char *block = NULL;
  int rc = SIPSRV_E_NOTFOUND;

  pthread_mutex_lock(&m->mu);
  e = cred_find(m, username, realm);
  if (e) {
    /* A copy: another thread may replace the entry once the lock is gone. */
    const char *in[] = { e->c.username, e->c.realm, e->c.ha1_md5, e->c.ha1_sha256,
                         e->c.ha1_sha512_256 };
    const char **out[] = { &c.username, &c.realm, &c.ha1_md5, &c.ha1_sha256,
                           &c.ha1_sha512_256 };
    size_t total = 1;
    for (size_t i = 0; i < 5; i++)
      total += in[i] ? strlen(in[i]) + 1 : 0;
    c = e->c;
    block = ss_alloc(m->core, total);
    rc = block ? 0 : SIPSRV_E_NOMEM;
    for (size_t i = 0, off = 0; block && i < 5; i++) {
      if (!in[i])
        continue;
      *out[i] = memcpy(block + off, in[i], strlen(in[i]) + 1);
      off += strlen(in[i]) + 1;
    }
  }
  pthread_mutex_unlock(&m->mu);
  done(ctx, rc, rc == 0 ? &c : NULL);
  ss_free(m->core, block);
  return 0;
}

/* Credentials are kept as given: all their strings in one block. */
static int mem_put_credential(void *user, const sipsrv_credential *c)
{
  mem_store *m = user;
  const char *in[] = { c->username, c->realm, c->ha1_md5, c->ha1_sha256, c->ha1_sha512_256 };
  const char **out[5];
  cred_entry *e, *old;
  size_t total = 0;
  char *p;

  for (size_t i = 0; i < 5; i++)
    total += in[i] ? strlen(in[i]) + 1 : 0;
  e = ss_zalloc(m->core, sizeof *e);
  p = ss_alloc(m->core, total);
  if (!e || !p) {
    ss_free(m->core, e);
    ss_free(m->core, p);
    return SIPSRV_E_NOMEM;
  }
  e->block = p;
  out[0] = &e->c.username;
  out[1] = &e->c.realm;
  out[2] = &e->c.ha1_md5;
  out[3] = &e->c.ha1_sha256;
  out[4] = &e->c.ha1_sha512_256;
  for (size_t i = 0; i < 5; i++) {
    if (!in[i])
      continue;
    *out[i] = memcpy(p, in[i], strlen(in[i]) + 1);
    p += strlen(in[i]) + 1;
  }
  pthread_mutex_lock(&m->mu);
  old = cred_find(m, c->username, c->realm);
  if (old) {
    ss_htab_remove(&m->creds, &old->hn);
    ss_free(m->core, old->block);
    ss_free(m->core, old);
  }
  if (ss_htab_add(&m->creds, &e->hn, key2(c->username, c->realm)) < 0) {
    pthread_mutex_unlock(&m->mu);
    ss_free(m->core, e->block);
    ss_free(m->core, e);
    return SIPSRV_E_NOMEM;
  }
  pthread_mutex_unlock(&m->mu);
  return 0;
}

/* ---- life cycle -------------------------------------------------------- */

static int mem_count(void *user)
{
  mem_store *m = user;
  size_t n;
  pthread_mutex_lock(&m->mu);
  n = m->nbindings;
  pthread_mutex_unlock(&m->mu);
  return n > 0x7fffffff ? 0x7fffffff : (int)n;
}

static void mem_destroy(void *user)
{
  mem_store *m = user;
  ss_hnode *n;
  while ((n = ss_htab_any(&m->aors)) != NULL) {
    aor_entry *e = SS_CONTAINER(n, aor_entry, hn);
    ss_htab_remove(&m->aors, n);
    entry_free(m, e);
  }
  while ((n = ss_htab_any(&m->creds)) != NULL) {
    cred_entry *e = SS_CONTAINER(n, cred_entry, hn);
    ss_htab_remove(&m->creds, n);
    ss_free(m->core, e->block);
    ss_free(m->core, e);
  }
  ss_htab_fini(&m->aors);
  ss_htab_fini(&m->creds);
  ss_timers_fini(&m->expiries);
  pthread_mutex_destroy(&m->mu);
  {
    sipsrv_core *own = (sipsrv_core *)m->core;
    ss_free(own, m);
    sipsrv_core_free(own);
  }
}

static const struct sipsrv_store_ops ss_memory_store_ops = {
  SIPSRV_STORE_OPS_VERSION, sizeof(struct sipsrv_store_ops),
  mem_get, mem_put, mem_expire, mem_credential, mem_destroy, mem_put_credential, mem_count
};

int sipsrv_store_memory_new(sipsrv_store **out, sipsrv_core *core)
{
  mem_store *m;
  sipsrv_core *own;
  int rc;
  if (!out)
    return SIPSRV_E_INVAL;
  rc = ss_store_core(core, &own);
  if (rc < 0)
    return rc;
  m = ss_zalloc(own, sizeof *m);
  if (!m) {
    sipsrv_core_free(own);
    return SIPSRV_E_NOMEM;
  }
  core = own;
  m->core = core;
  ss_htab_init(&m->aors, core);
  ss_htab_init(&m->creds, core);
  ss_timers_init(&m->expiries, core);
  pthread_mutex_init(&m->mu, NULL);
  rc = sipsrv_store_new(out, &ss_memory_store_ops, m);
  if (rc < 0)
    mem_destroy(m);
  return rc;
}
