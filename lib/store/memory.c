/* The memory store: bindings by AOR in a hash table (O(1) lookup), each AOR
 * on a heap by its earliest expiry so that expiring touches only what is
 * due, and credentials by user and realm. Synchronous: every callback runs
 * before the operation returns. */
#include "store_int.h"

#include "core/timer.h"
#include "msg/msg_int.h"

#include <sipsrv/error.h>

#include <stdio.h>
#include <string.h>

typedef struct aor_entry {
  char *aor;
  sipsrv_binding *b;        /* each binding's strings live in its own block */
  char **blocks;
  size_t n;
  ss_timer expiry;          /* armed at the earliest expiry of b */
  struct aor_entry *hnext;
} aor_entry;

typedef struct cred_entry {
  sipsrv_credential c;
  char *block;
  struct cred_entry *hnext;
} cred_entry;

typedef struct mem_store {
  const sipsrv_core *core;
  aor_entry **aors;
  size_t naor_buckets, naors;
  cred_entry **creds;
  size_t ncred_buckets, ncreds;
  ss_timers heap;           /* AORs by earliest expiry (never fired by a clock) */
} mem_store;

/* ---- small hash tables ------------------------------------------------- */

static size_t slot(const char *a, const char *b, size_t nbuckets)
{
  return (size_t)ss_hash(ss_hash(SS_HASH_INIT, a), b) & (nbuckets - 1);
}

static void **grow(const sipsrv_core *core, void **old, size_t nold, size_t *nnew)
{
  *nnew = nold ? nold * 2 : 256;
  return ss_zalloc(core, *nnew * sizeof *old);
}

static aor_entry **aor_slot(mem_store *m, const char *aor)
{
  aor_entry **pp;
  if (!m->naor_buckets)
    return NULL;
  for (pp = &m->aors[slot(aor, "", m->naor_buckets)]; *pp; pp = &(*pp)->hnext)
    if (strcmp((*pp)->aor, aor) == 0)
      return pp;
  return NULL;
}

static int aor_index_grow(mem_store *m)
{
  size_t n;
  aor_entry **b = (aor_entry **)grow(m->core, (void **)m->aors, m->naor_buckets, &n);
  if (!b)
    return SIPSRV_E_NOMEM;
  for (size_t i = 0; i < m->naor_buckets; i++)
    for (aor_entry *e = m->aors[i], *next; e; e = next) {
      size_t j = slot(e->aor, "", n);
      next = e->hnext;
      e->hnext = b[j];
      b[j] = e;
    }
  ss_free(m->core, m->aors);
  m->aors = b;
  m->naor_buckets = n;
  return 0;
}

/* ---- bindings ----------------------------------------------------------- */

static void bindings_free(mem_store *m, aor_entry *e)
{
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
  ss_timer_stop(&m->heap, &e->expiry);
  bindings_free(m, e);
  ss_free(m->core, e->aor);
  ss_free(m->core, e);
}

/* Copy a binding: its strings into one block. */
static int binding_copy(mem_store *m, const sipsrv_binding *src, sipsrv_binding *dst, char **block)
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
  p = ss_alloc(m->core, total ? total : 1);
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

static void on_due(ss_timer *t, void *arg);

/* Arm the entry at its earliest expiry. */
static void entry_arm(mem_store *m, aor_entry *e)
{
  int64_t min = INT64_MAX;
  for (size_t i = 0; i < e->n; i++)
    if (e->b[i].expires < min)
      min = e->b[i].expires;
  if (e->n)
    ss_timer_start(&m->heap, &e->expiry, min < 0 ? 0 : (uint64_t)min, on_due, e);
  else
    ss_timer_stop(&m->heap, &e->expiry);
}

static void entry_remove(mem_store *m, aor_entry *e)
{
  aor_entry **pp = aor_slot(m, e->aor);
  if (pp)
    *pp = e->hnext;
  m->naors--;
  entry_free(m, e);
}

/* The heap only orders AORs by expiry; mem_expire reads it itself, so this
 * never runs. */
static void on_due(ss_timer *t, void *arg)
{
  (void)t;
  (void)arg;
}

static int mem_put(void *user, const char *aor, const sipsrv_binding *b, size_t n,
                   sipsrv_store_done_cb done, void *ctx)
{
  mem_store *m = user;
  aor_entry **pp = aor_slot(m, aor), *e;
  sipsrv_binding *nb = NULL;
  char **blocks = NULL;
  size_t i;

  if (n == 0) {
    if (pp)
      entry_remove(m, *pp);
    done(ctx, 0);
    return 0;
  }
  nb = ss_zalloc(m->core, n * sizeof *nb);
  blocks = ss_zalloc(m->core, n * sizeof *blocks);
  if (!nb || !blocks)
    goto nomem;
  for (i = 0; i < n; i++)
    if (binding_copy(m, &b[i], &nb[i], &blocks[i]) < 0)
      goto nomem;
  if (pp) {
    e = *pp;
    bindings_free(m, e);
  } else {
    size_t len = strlen(aor) + 1;
    if (m->naors >= m->naor_buckets && aor_index_grow(m) < 0)
      goto nomem;
    e = ss_zalloc(m->core, sizeof *e);
    if (!e)
      goto nomem;
    e->aor = ss_alloc(m->core, len);
    if (!e->aor) {
      ss_free(m->core, e);
      goto nomem;
    }
    memcpy(e->aor, aor, len);
    ss_timer_init(&e->expiry);
    i = slot(aor, "", m->naor_buckets);
    e->hnext = m->aors[i];
    m->aors[i] = e;
    m->naors++;
  }
  e->b = nb;
  e->blocks = blocks;
  e->n = n;
  entry_arm(m, e);
  done(ctx, 0);
  return 0;

nomem:
  /* The old set stays whole (store.h). */
  for (i = 0; blocks && i < n; i++)
    ss_free(m->core, blocks[i]);
  ss_free(m->core, blocks);
  ss_free(m->core, nb);
  done(ctx, SIPSRV_E_NOMEM);
  return 0;
}

static int mem_get(void *user, const char *aor, int64_t now_ms, sipsrv_store_get_cb done, void *ctx)
{
  mem_store *m = user;
  aor_entry **pp = aor_slot(m, aor);
  sipsrv_binding small[16], *live = small;
  size_t n = 0;

  if (!pp) {
    done(ctx, 0, NULL, 0);
    return 0;
  }
  /* Expired bindings are hidden even before expire() drops them. */
  if ((*pp)->n > 16) {
    live = ss_alloc(m->core, (*pp)->n * sizeof *live);
    if (!live) {
      done(ctx, SIPSRV_E_NOMEM, NULL, 0);
      return 0;
    }
  }
  for (size_t i = 0; i < (*pp)->n; i++)
    if ((*pp)->b[i].expires > now_ms)
      live[n++] = (*pp)->b[i];
  done(ctx, 0, live, n);
  if (live != small)
    ss_free(m->core, live);
  return 0;
}

static int mem_expire(void *user, int64_t now_ms)
{
  mem_store *m = user;
  uint64_t when;
  int dropped = 0;

  /* Only the AORs whose earliest binding is due: O(k log n) for k due. */
  while (ss_timers_next(&m->heap, &when) == 0 && (int64_t)when <= now_ms) {
    aor_entry *e = m->heap.heap[0]->arg;
    size_t k = 0;
    ss_timer_stop(&m->heap, &e->expiry);
    for (size_t i = 0; i < e->n; i++) {
      if (e->b[i].expires <= now_ms) {
        ss_free(m->core, e->blocks[i]);
        dropped++;
        continue;
      }
      e->b[k] = e->b[i];
      e->blocks[k] = e->blocks[i];
      k++;
    }
    e->n = k;
    if (k)
      entry_arm(m, e);
    else
      entry_remove(m, e);
  }
  return dropped;
}

/* ---- credentials ------------------------------------------------------- */

static cred_entry **cred_slot(mem_store *m, const char *user, const char *realm)
{
  cred_entry **pp;
  if (!m->ncred_buckets)
    return NULL;
  for (pp = &m->creds[slot(user, realm, m->ncred_buckets)]; *pp; pp = &(*pp)->hnext)
    if (strcmp((*pp)->c.username, user) == 0 && strcmp((*pp)->c.realm, realm) == 0)
      return pp;
  return NULL;
}

static int mem_credential(void *user, const char *username, const char *realm,
                          sipsrv_store_cred_cb done, void *ctx)
{
  cred_entry **pp = cred_slot(user, username, realm);
  if (pp)
    done(ctx, 0, &(*pp)->c);
  else
    done(ctx, SIPSRV_E_NOTFOUND, NULL);
  return 0;
}

int sipsrv_store_memory_add_user(sipsrv_store *s, const char *username, const char *realm,
                                 const char *password)
{
  mem_store *m;
  cred_entry **pp, *e;
  size_t ul, rl, pl, i;
  char *a1, ha1[3][129], *p;
  int rc = 0;

  if (!s || s->ops != &ss_memory_store_ops || !username || !*username || !realm || !password ||
      strchr(username, ':'))
    return SIPSRV_E_INVAL;
  m = s->user;
  ul = strlen(username);
  rl = strlen(realm);
  pl = strlen(password);
  /* RFC 7616 3.4.2: A1 = username ":" realm ":" passwd. */
  a1 = ss_alloc(m->core, ul + rl + pl + 3);
  if (!a1)
    return SIPSRV_E_NOMEM;
  snprintf(a1, ul + rl + pl + 3, "%s:%s:%s", username, realm, password);
  for (i = 0; i < 3 && rc == 0; i++)
    rc = ss_digest_hex((ss_digest_alg)i, a1, ul + rl + pl + 2, ha1[i]);
  memset(a1, 0, ul + rl + pl + 3);         /* the password does not linger */
  ss_free(m->core, a1);
  if (rc < 0)
    return rc;
  e = ss_zalloc(m->core, sizeof *e);
  p = ss_alloc(m->core, ul + rl + 2 + 33 + 65 + 65);
  if (!e || !p) {
    ss_free(m->core, e);
    ss_free(m->core, p);
    return SIPSRV_E_NOMEM;
  }
  e->block = p;
  e->c.username = memcpy(p, username, ul + 1);
  e->c.realm = memcpy(p + ul + 1, realm, rl + 1);
  e->c.ha1_md5 = memcpy(p + ul + rl + 2, ha1[0], 33);
  e->c.ha1_sha256 = memcpy(p + ul + rl + 2 + 33, ha1[1], 65);
  e->c.ha1_sha512_256 = memcpy(p + ul + rl + 2 + 33 + 65, ha1[2], 65);
  pp = cred_slot(m, username, realm);
  if (pp) {
    cred_entry *old = *pp;
    e->hnext = old->hnext;
    *pp = e;
    ss_free(m->core, old->block);
    ss_free(m->core, old);
    return 0;
  }
  if (m->ncreds >= m->ncred_buckets) {
    size_t n;
    cred_entry **b = (cred_entry **)grow(m->core, (void **)m->creds, m->ncred_buckets, &n);
    if (!b) {
      ss_free(m->core, e->block);
      ss_free(m->core, e);
      return SIPSRV_E_NOMEM;
    }
    for (size_t k = 0; k < m->ncred_buckets; k++)
      for (cred_entry *c = m->creds[k], *next; c; c = next) {
        size_t j = slot(c->c.username, c->c.realm, n);
        next = c->hnext;
        c->hnext = b[j];
        b[j] = c;
      }
    ss_free(m->core, m->creds);
    m->creds = b;
    m->ncred_buckets = n;
  }
  i = slot(username, realm, m->ncred_buckets);
  e->hnext = m->creds[i];
  m->creds[i] = e;
  m->ncreds++;
  return 0;
}

/* ---- life cycle -------------------------------------------------------- */

static void mem_destroy(void *user)
{
  mem_store *m = user;
  for (size_t i = 0; i < m->naor_buckets; i++)
    while (m->aors[i]) {
      aor_entry *e = m->aors[i];
      m->aors[i] = e->hnext;
      entry_free(m, e);
    }
  for (size_t i = 0; i < m->ncred_buckets; i++)
    while (m->creds[i]) {
      cred_entry *e = m->creds[i];
      m->creds[i] = e->hnext;
      ss_free(m->core, e->block);
      ss_free(m->core, e);
    }
  ss_free(m->core, m->aors);
  ss_free(m->core, m->creds);
  ss_timers_fini(&m->heap);
  ss_free(m->core, m);
}

const struct sipsrv_store_ops ss_memory_store_ops = {
  SIPSRV_STORE_OPS_VERSION, sizeof(struct sipsrv_store_ops),
  mem_get, mem_put, mem_expire, mem_credential, mem_destroy
};

int sipsrv_store_memory_new(sipsrv_store **out, sipsrv_core *core)
{
  mem_store *m;
  int rc;
  if (!out)
    return SIPSRV_E_INVAL;
  m = ss_zalloc(core, sizeof *m);
  if (!m)
    return SIPSRV_E_NOMEM;
  m->core = core;
  ss_timers_init(&m->heap, core);
  rc = sipsrv_store_new(out, &ss_memory_store_ops, m);
  if (rc < 0)
    mem_destroy(m);
  return rc;
}
