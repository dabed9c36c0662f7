/* Flood protection (core.h, sipsrv_core_set_limits()): token buckets of new
 * requests per source address and per user, and digest failures per user
 * and source address with a lockout that doubles.
 *
 * Every tracked key (a source address, a user, a user at a source) is an
 * entry in one hash table and one least-recently-used list; beyond
 * max_tracked entries the least recently used goes, so a flood from forged
 * sources costs a bounded table, and a key forgotten so starts afresh
 * (full bucket, no failures). */
#include "limit.h"

#include "core_obj.h"
#include "htab.h"

#include <sipsrv/error.h>

#include <netinet/in.h>
#include <string.h>

enum { K_SOURCE = 1, K_USER = 2, K_FAIL = 3 };

typedef struct entry {
  ss_hnode hn;
  struct entry *prev, *next;  /* LRU: head most recent */
  uint8_t kind;
  uint16_t keylen;
  uint64_t last_ms;           /* buckets: last refill */
  int64_t tokens;             /* buckets: in thousandths of a request */
  uint32_t failures;          /* K_FAIL: wrong responses since the last lockout */
  uint32_t lockouts;          /* K_FAIL: lockouts so far (the next lasts 2^n times longer) */
  uint64_t locked_until;      /* K_FAIL */
  bool used;                  /* buckets: filled once */
  char key[];
} entry;

struct ss_limiter {
  sipsrv_core *core;
  sipsrv_limits cfg;
  ss_htab tab;
  entry *head, *tail;
};

#define MAX_LOCKOUT_MS (3600u * 1000u)
#define DEFAULT_TRACKED 65536u

static uint64_t key_hash(uint8_t kind, const char *k, size_t n)
{
  uint64_t h = 0xcbf29ce484222325ULL ^ kind;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)k[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

static void lru_unlink(ss_limiter *l, entry *e)
{
  if (e->prev)
    e->prev->next = e->next;
  else
    l->head = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    l->tail = e->prev;
  e->prev = e->next = NULL;
}

static void lru_front(ss_limiter *l, entry *e)
{
  e->next = l->head;
  e->prev = NULL;
  if (l->head)
    l->head->prev = e;
  l->head = e;
  if (!l->tail)
    l->tail = e;
}

static void drop(ss_limiter *l, entry *e)
{
  lru_unlink(l, e);
  ss_htab_remove(&l->tab, &e->hn);
  ss_free(l->core, e);
}

/* The entry of (kind, key), made when create; most recent afterwards. */
static entry *find(ss_limiter *l, uint8_t kind, const char *k, size_t n, bool create)
{
  uint64_t h = key_hash(kind, k, n);
  entry *e;
  size_t cap = l->cfg.max_tracked ? l->cfg.max_tracked : DEFAULT_TRACKED;

  for (ss_hnode *hn = ss_htab_first(&l->tab, h); hn; hn = ss_htab_next(hn, h)) {
    e = SS_CONTAINER(hn, entry, hn);
    if (e->kind == kind && e->keylen == n && memcmp(e->key, k, n) == 0) {
      lru_unlink(l, e);
      lru_front(l, e);
      return e;
    }
  }
  if (!create || n > 0xffff)
    return NULL;
  while (l->tab.n >= cap && l->tail)
    drop(l, l->tail);
  e = ss_zalloc(l->core, sizeof *e + n);
  if (!e)
    return NULL;
  e->kind = kind;
  e->keylen = (uint16_t)n;
  memcpy(e->key, k, n);
  if (ss_htab_add(&l->tab, &e->hn, h) < 0) {
    ss_free(l->core, e);
    return NULL;
  }
  lru_front(l, e);
  return e;
}

/* The address bytes of a source (no port: one host, many ports). */
static size_t addr_key(const struct sockaddr_storage *a, char *buf)
{
  if (a->ss_family == AF_INET) {
    memcpy(buf, &((const struct sockaddr_in *)a)->sin_addr, 4);
    return 4;
  }
  if (a->ss_family == AF_INET6) {
    memcpy(buf, &((const struct sockaddr_in6 *)a)->sin6_addr, 16);
    return 16;
  }
  return 0;
}

/* Take one request from a token bucket of rate per second and burst:
 * true if there was one; else *retry_ms until there is. */
static bool take(entry *e, uint32_t rate, uint32_t burst, uint64_t now, uint64_t *retry_ms)
{
  int64_t cap = (int64_t)(burst ? burst : rate) * 1000;
  if (!e->used) {
    e->used = true;
    e->tokens = cap;
    e->last_ms = now;
  } else if (now > e->last_ms) {
    /* rate per second is rate thousandths per millisecond */
    int64_t add = (int64_t)(now - e->last_ms) * rate;
    e->tokens = e->tokens + add > cap ? cap : e->tokens + add;
    e->last_ms = now;
  }
  if (e->tokens >= 1000) {
    e->tokens -= 1000;
    return true;
  }
  *retry_ms = (uint64_t)((1000 - e->tokens + rate - 1) / rate);
  return false;
}

int ss_limiter_new(ss_limiter **out, sipsrv_core *core)
{
  ss_limiter *l = ss_zalloc(core, sizeof *l);
  if (!l)
    return SIPSRV_E_NOMEM;
  l->core = core;
  ss_htab_init(&l->tab, core);
  *out = l;
  return 0;
}

void ss_limiter_free(ss_limiter *l)
{
  if (!l)
    return;
  while (l->head)
    drop(l, l->head);
  ss_htab_fini(&l->tab);
  ss_free(l->core, l);
}

void ss_limiter_set(ss_limiter *l, const sipsrv_limits *cfg)
{
  l->cfg = *cfg;
  while (l->head)                        /* new thresholds: everyone starts afresh */
    drop(l, l->head);
}

bool ss_limiter_active(const ss_limiter *l)
{
  return l && (l->cfg.source_rate || l->cfg.user_rate);
}

bool ss_limiter_drops(const ss_limiter *l)
{
  return l && l->cfg.drop;
}

bool ss_limit_request(ss_limiter *l, const struct sockaddr_storage *src, const char *user,
                      uint64_t now, uint64_t *retry_ms)
{
  char k[16];
  size_t n;
  entry *e;

  *retry_ms = 0;
  if (!l)
    return true;
  /* Without memory for an entry the request passes: failing closed would
   * turn a shortage into a refusal of everyone. */
  if (l->cfg.source_rate && src && (n = addr_key(src, k)) > 0 &&
      (e = find(l, K_SOURCE, k, n, true)) != NULL &&
      !take(e, l->cfg.source_rate, l->cfg.source_burst, now, retry_ms))
    return false;
  if (l->cfg.user_rate && user && *user && (e = find(l, K_USER, user, strlen(user), true)) != NULL &&
      !take(e, l->cfg.user_rate, l->cfg.user_burst, now, retry_ms))
    return false;
  return true;
}

/* "user NUL address-bytes": the key of a user's failures from one source. */
static size_t fail_key(const char *user, const struct sockaddr_storage *src, char *buf,
                       size_t size)
{
  size_t u = strlen(user), a;
  char ab[16];
  a = src ? addr_key(src, ab) : 0;
  if (u + 1 + a > size)
    return 0;
  memcpy(buf, user, u);
  buf[u] = '\0';
  memcpy(buf + u + 1, ab, a);
  return u + 1 + a;
}

bool ss_limit_auth_locked(ss_limiter *l, const char *user, const struct sockaddr_storage *src,
                          uint64_t now, uint64_t *retry_ms)
{
  char k[512];
  size_t n;
  entry *e;

  *retry_ms = 0;
  if (!l || !l->cfg.auth_failures || !user || !(n = fail_key(user, src, k, sizeof k)))
    return false;
  e = find(l, K_FAIL, k, n, false);
  if (!e || e->locked_until <= now)
    return false;
  *retry_ms = e->locked_until - now;
  return true;
}

void ss_limit_auth_result(ss_limiter *l, const char *user, const struct sockaddr_storage *src,
                          bool ok, uint64_t now)
{
  char k[512];
  size_t n;
  entry *e;

  if (!l || !l->cfg.auth_failures || !user || !(n = fail_key(user, src, k, sizeof k)))
    return;
  e = find(l, K_FAIL, k, n, !ok);
  if (!e)
    return;
  if (ok) {
    drop(l, e);                          /* the right password: the slate is clean */
    return;
  }
  if (++e->failures < l->cfg.auth_failures)
    return;
  /* The threshold: locked out, each time twice as long (up to an hour). */
  {
    uint64_t ms = l->cfg.auth_lockout_ms ? l->cfg.auth_lockout_ms : 30000u;
    for (uint32_t i = 0; i < e->lockouts && ms < MAX_LOCKOUT_MS; i++)
      ms *= 2;
    if (ms > MAX_LOCKOUT_MS)
      ms = MAX_LOCKOUT_MS;
    e->locked_until = now + ms;
    e->lockouts++;
    e->failures = 0;
  }
}
