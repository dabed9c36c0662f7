/* The storage vtable and its built-in backends. The contract tests run
 * against each backend (_i: 0 memory, 1 SQLite); the SQLite TCase covers
 * what only a file has: persistence, the schema, errors at opening and
 * write failures at run time. */
#include <check.h>
#include <sipsrv/sipsrv.h>

#include "auth/digest.h"
#include "harness.h"
#include "store/store_int.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a get delivered, copied out of the callback. */
typedef struct got {
  int calls, err;
  size_t n;
  char contact[8][256];
  char params[8][128];
  char call_id[8][64];
  uint32_t cseq[8];
  int64_t expires[8];
  int q[8];
} got;

static void on_get(void *ctx, int err, const sipsrv_binding *b, size_t n)
{
  got *g = ctx;
  g->calls++;
  g->err = err;
  g->n = n;
  for (size_t i = 0; i < n && i < 8; i++) {
    snprintf(g->contact[i], sizeof g->contact[i], "%s", b[i].contact);
    snprintf(g->params[i], sizeof g->params[i], "%s", b[i].params ? b[i].params : "");
    snprintf(g->call_id[i], sizeof g->call_id[i], "%s", b[i].call_id ? b[i].call_id : "");
    g->cseq[i] = b[i].cseq;
    g->expires[i] = b[i].expires;
    g->q[i] = b[i].q;
  }
}

static void on_done(void *ctx, int err)
{
  int *r = ctx;
  *r = err == 0 ? 1 : err;
}

static got get(sipsrv_store *s, const char *aor, int64_t now)
{
  got g;
  memset(&g, 0, sizeof g);
  ck_assert_int_eq(sipsrv_store_get(s, aor, now, on_get, &g), 0);
  ck_assert_int_eq(g.calls, 1);                  /* synchronous: done already */
  return g;
}

static void put1(sipsrv_store *s, const char *aor, const char *contact, int64_t expires)
{
  sipsrv_binding b;
  int r = 0;
  memset(&b, 0, sizeof b);
  b.contact = contact;
  b.expires = expires;
  b.q = -1;
  b.call_id = "cid";
  ck_assert_int_eq(sipsrv_store_put(s, aor, &b, 1, on_done, &r), 0);
  ck_assert_int_eq(r, 1);
}

/* ---- backends ------------------------------------------------------------ */

static char db_path[64];

static void rm_db(const char *path)
{
  char p[80];
  unlink(path);
  snprintf(p, sizeof p, "%s-wal", path);
  unlink(p);
  snprintf(p, sizeof p, "%s-shm", path);
  unlink(p);
}

static sipsrv_store *open_sqlite(const char *path, int durable)
{
  sipsrv_store_sqlite_cfg cfg = SIPSRV_STORE_SQLITE_CFG_INIT;
  char err[256];
  sipsrv_store *s = NULL;
  cfg.path = path;
  cfg.durable = durable;
  cfg.busy_timeout_ms = 10;
  cfg.errmsg = err;
  cfg.errmsg_size = sizeof err;
  ck_assert_msg(sipsrv_store_sqlite_new(&s, NULL, &cfg) == 0, "%s", err);
  ck_assert_str_eq(err, "");
  return s;
}

/* A fresh store of the backend under test (each test runs in its own
 * process, so one file name per process suffices). */
static sipsrv_store *mk(int backend)
{
  sipsrv_store *s = NULL;
  if (backend == 0) {
    ck_assert_int_eq(sipsrv_store_memory_new(&s, NULL), 0);
    return s;
  }
  snprintf(db_path, sizeof db_path, "/tmp/sipsrv-store-%d.db", (int)getpid());
  rm_db(db_path);
  return open_sqlite(db_path, 0);
}

static void done_store(sipsrv_store *s)
{
  sipsrv_store_free(s);
  if (db_path[0])
    rm_db(db_path);
}

/* RFC 4475 3.3.12-3.3.14: what is stored comes back byte for byte, escapes,
 * URI parameters and headers included; the store copies (the caller's
 * strings may go away). */
START_TEST(store_contract_put_get_copies)
{
  sipsrv_store *s;
  sipsrv_binding b[2];
  char contact[64], params[64];
  int r = 0;
  got g;

  s = mk(_i);
  memset(b, 0, sizeof b);
  snprintf(contact, sizeof contact, "%s", "sip:user@host.example.com?Route=%3Csip:sip.example.com%3E");
  snprintf(params, sizeof params, "%s", "+sip.instance=\"<urn:uuid:1>\";reg-id=1");
  b[0].contact = contact;
  b[0].params = params;
  b[0].expires = 5000;
  b[0].q = 500;
  b[0].call_id = "c1";
  b[0].cseq = 7;
  b[1].contact = "sip:%00@example.com;unknownparam";
  b[1].expires = 9000;
  b[1].q = -1;
  ck_assert_int_eq(sipsrv_store_put(s, "sip:user@example.com", b, 2, on_done, &r), 0);
  ck_assert_int_eq(r, 1);
  memset(contact, 'x', sizeof contact - 1);
  memset(params, 'y', sizeof params - 1);
  g = get(s, "sip:user@example.com", 1000);
  ck_assert_int_eq(g.err, 0);
  ck_assert_uint_eq(g.n, 2);
  ck_assert_str_eq(g.contact[0], "sip:user@host.example.com?Route=%3Csip:sip.example.com%3E");
  ck_assert_str_eq(g.params[0], "+sip.instance=\"<urn:uuid:1>\";reg-id=1");
  ck_assert_str_eq(g.call_id[0], "c1");
  ck_assert_uint_eq(g.cseq[0], 7);
  ck_assert_int_eq(g.q[0], 500);
  ck_assert_int_eq(g.expires[0], 5000);
  ck_assert_str_eq(g.contact[1], "sip:%00@example.com;unknownparam");
  ck_assert_int_eq(g.q[1], -1);
  /* An unknown AOR: no binding, no error. */
  g = get(s, "sip:nobody@example.com", 1000);
  ck_assert_int_eq(g.err, 0);
  ck_assert_uint_eq(g.n, 0);
  done_store(s);
}
END_TEST

/* A put replaces the whole set; n == 0 removes the AOR. */
START_TEST(store_contract_replace_remove)
{
  sipsrv_store *s;
  int r = 0;
  got g;

  s = mk(_i);
  put1(s, "sip:a@x", "sip:a@1.example.com", 10000);
  put1(s, "sip:a@x", "sip:a@2.example.com", 10000);
  g = get(s, "sip:a@x", 0);
  ck_assert_uint_eq(g.n, 1);
  ck_assert_str_eq(g.contact[0], "sip:a@2.example.com");
  ck_assert_int_eq(sipsrv_store_count(s), 1);              /* replaced, not added */
  ck_assert_int_eq(sipsrv_store_put(s, "sip:a@x", NULL, 0, on_done, &r), 0);
  ck_assert_int_eq(r, 1);
  g = get(s, "sip:a@x", 0);
  ck_assert_uint_eq(g.n, 0);
  ck_assert_int_eq(sipsrv_store_count(s), 0);
  /* Removing what is not there is fine. */
  r = 0;
  ck_assert_int_eq(sipsrv_store_put(s, "sip:none@x", NULL, 0, on_done, &r), 0);
  ck_assert_int_eq(r, 1);
  done_store(s);
}
END_TEST

/* Expired bindings are hidden by get before expire drops them (RFC 3261
 * 10.3 step 8 lists only current bindings). */
START_TEST(store_contract_get_hides_expired)
{
  sipsrv_store *s;
  sipsrv_binding b[2];
  int r = 0;
  got g;

  s = mk(_i);
  memset(b, 0, sizeof b);
  b[0].contact = "sip:early@x";
  b[0].expires = 1000;
  b[0].q = -1;
  b[1].contact = "sip:late@x";
  b[1].expires = 2000;
  b[1].q = -1;
  ck_assert_int_eq(sipsrv_store_put(s, "sip:u@x", b, 2, on_done, &r), 0);
  g = get(s, "sip:u@x", 999);
  ck_assert_uint_eq(g.n, 2);
  g = get(s, "sip:u@x", 1000);
  ck_assert_uint_eq(g.n, 1);
  ck_assert_str_eq(g.contact[0], "sip:late@x");
  g = get(s, "sip:u@x", 2000);
  ck_assert_uint_eq(g.n, 0);
  done_store(s);
}
END_TEST

/* expire drops exactly what is due, and reports how many. */
START_TEST(store_contract_expire)
{
  sipsrv_store *s;
  sipsrv_binding b[3];
  int r = 0;
  got g;

  s = mk(_i);
  memset(b, 0, sizeof b);
  for (int i = 0; i < 3; i++) {
    b[i].q = -1;
    b[i].expires = 1000 * (i + 1);
  }
  b[0].contact = "sip:1@x";
  b[1].contact = "sip:2@x";
  b[2].contact = "sip:3@x";
  ck_assert_int_eq(sipsrv_store_count(s), 0);
  ck_assert_int_eq(sipsrv_store_put(s, "sip:u@x", b, 3, on_done, &r), 0);
  put1(s, "sip:v@x", "sip:v@y", 1500);
  /* store.h count: every binding of every AOR, until expire drops them. */
  ck_assert_int_eq(sipsrv_store_count(s), 4);
  ck_assert_int_eq(sipsrv_store_expire(s, 999), 0);
  ck_assert_int_eq(sipsrv_store_expire(s, 1000), 1);
  ck_assert_int_eq(sipsrv_store_count(s), 3);
  ck_assert_int_eq(sipsrv_store_expire(s, 2500), 2);       /* sip:2@x and sip:v@y */
  ck_assert_int_eq(sipsrv_store_count(s), 1);
  g = get(s, "sip:u@x", 0);                                 /* now 0: nothing hidden */
  ck_assert_uint_eq(g.n, 1);
  ck_assert_str_eq(g.contact[0], "sip:3@x");
  g = get(s, "sip:v@x", 0);
  ck_assert_uint_eq(g.n, 0);
  ck_assert_int_eq(sipsrv_store_expire(s, 100000), 1);
  ck_assert_int_eq(sipsrv_store_expire(s, 100000), 0);
  ck_assert_int_eq(sipsrv_store_count(s), 0);
  ck_assert_int_eq(sipsrv_store_count(NULL), SIPSRV_E_INVAL);
  done_store(s);
}
END_TEST

/* Many AORs with scattered expiries: expiring step by step drops each one at
 * its time and no other (the heap order holds through re-arming). */
START_TEST(store_contract_expire_many)
{
  sipsrv_store *s;
  enum { N = 5000 };
  static int64_t when[N];
  unsigned seed = 7;
  char aor[32];
  int total = 0;

  s = mk(_i);
  for (int i = 0; i < N; i++) {
    seed = seed * 1103515245u + 12345u;
    when[i] = 1 + (int64_t)(seed >> 8) % 100000;
    snprintf(aor, sizeof aor, "sip:u%d@x", i);
    put1(s, aor, "sip:c@y", when[i]);
  }
  for (int64_t t = 0; t <= 100000; t += 997) {
    int expect = 0, got_n = sipsrv_store_expire(s, t);
    for (int i = 0; i < N; i++)
      if (when[i] <= t && when[i] > t - 997)
        expect++;
    ck_assert_int_eq(got_n, expect);
    total += got_n;
  }
  total += sipsrv_store_expire(s, 200000);
  ck_assert_int_eq(total, N);
  done_store(s);
}
END_TEST

/* RFC 7616 3.4.2: H(A1) = H(username ":" realm ":" passwd), per algorithm;
 * the vectors are RFC 2617's (MD5) and RFC 7616's (SHA-256). */
static void on_cred(void *ctx, int err, const sipsrv_credential *c)
{
  char (*out)[130] = ctx;
  snprintf(out[0], 130, "%d", err);
  snprintf(out[1], 130, "%s", c && c->ha1_md5 ? c->ha1_md5 : "");
  snprintf(out[2], 130, "%s", c && c->ha1_sha256 ? c->ha1_sha256 : "");
  snprintf(out[3], 130, "%s", c && c->ha1_sha512_256 ? c->ha1_sha512_256 : "");
}

START_TEST(store_contract_credentials)
{
  sipsrv_store *s;
  char out[4][130];

  s = mk(_i);
  ck_assert_int_eq(sipsrv_store_add_user(s, "Mufasa", "testrealm@host.com", "Circle Of Life"), 0);
  ck_assert_int_eq(sipsrv_store_add_user(s, "Mufasa", "http-auth@example.org", "Circle of Life"), 0);
  ck_assert_int_eq(sipsrv_store_credential(s, "Mufasa", "testrealm@host.com", on_cred, out), 0);
  ck_assert_str_eq(out[0], "0");
  ck_assert_str_eq(out[1], "939e7578ed9e3c518a452acee763bce9");
  ck_assert_int_eq(sipsrv_store_credential(s, "Mufasa", "http-auth@example.org", on_cred, out), 0);
  ck_assert_str_eq(out[2], "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232");
  ck_assert_str_eq(out[3], "fb174f5c3c7802721517cae13b98e2b8dae2e0118cb705d94ee29946319204ce");
  /* Unknown user, or known user in another realm. */
  ck_assert_int_eq(sipsrv_store_credential(s, "Simba", "testrealm@host.com", on_cred, out), 0);
  ck_assert_int_eq(atoi(out[0]), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_store_credential(s, "Mufasa", "other", on_cred, out), 0);
  ck_assert_int_eq(atoi(out[0]), SIPSRV_E_NOTFOUND);
  /* Replacing a password. */
  ck_assert_int_eq(sipsrv_store_add_user(s, "Mufasa", "testrealm@host.com", "x"), 0);
  ck_assert_int_eq(sipsrv_store_credential(s, "Mufasa", "testrealm@host.com", on_cred, out), 0);
  ck_assert_str_ne(out[1], "939e7578ed9e3c518a452acee763bce9");
  /* Many users (past the table's growth). */
  for (int i = 0; i < 1000; i++) {
    char u[16];
    snprintf(u, sizeof u, "u%d", i);
    ck_assert_int_eq(sipsrv_store_add_user(s, u, "r", "p"), 0);
  }
  ck_assert_int_eq(sipsrv_store_credential(s, "u999", "r", on_cred, out), 0);
  ck_assert_str_eq(out[0], "0");
  ck_assert_int_eq(sipsrv_store_add_user(s, "a:b", "r", "p"), SIPSRV_E_INVAL);
  done_store(s);
}
END_TEST

/* The users file loader: USER:PASSWORD lines (the password may hold ':'),
 * comments and empty lines skipped; the failing line's number reported. */
static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

START_TEST(store_contract_load_users)
{
  sipsrv_store *s;
  char out[4][130], path[64], a1[64], md5[129];
  unsigned line = 99;

  snprintf(path, sizeof path, "/tmp/sipsrv-users-%d", (int)getpid());
  s = mk(_i);
  write_file(path, "# users\n\nalice:wonder\r\nbob:pa:ss\n");
  ck_assert_int_eq(sipsrv_store_load_users(s, path, "r", &line), 2);
  ck_assert_uint_eq(line, 0);
  ck_assert_int_eq(sipsrv_store_credential(s, "bob", "r", on_cred, out), 0);
  ck_assert_str_eq(out[0], "0");
  snprintf(a1, sizeof a1, "bob:r:pa:ss");
  ck_assert_int_eq(ss_digest_hex(SS_DIGEST_MD5, a1, strlen(a1), md5), 0);
  ck_assert_str_eq(out[1], md5);
  ck_assert_int_eq(sipsrv_store_credential(s, "alice", "r", on_cred, out), 0);
  snprintf(a1, sizeof a1, "alice:r:wonder");
  ck_assert_int_eq(ss_digest_hex(SS_DIGEST_MD5, a1, strlen(a1), md5), 0);
  ck_assert_str_eq(out[1], md5);
  write_file(path, "carol:x\nnocolon\n");
  ck_assert_int_eq(sipsrv_store_load_users(s, path, "r", &line), SIPSRV_E_PARSE);
  ck_assert_uint_eq(line, 2);
  write_file(path, ":nouser\n");
  ck_assert_int_eq(sipsrv_store_load_users(s, path, "r", &line), SIPSRV_E_PARSE);
  ck_assert_uint_eq(line, 1);
  {
    char longline[2048];
    memset(longline, 'a', sizeof longline - 2);
    longline[sizeof longline - 2] = '\n';
    longline[sizeof longline - 1] = '\0';
    longline[3] = ':';
    write_file(path, longline);
    ck_assert_int_eq(sipsrv_store_load_users(s, path, "r", &line), SIPSRV_E_TOOBIG);
    ck_assert_uint_eq(line, 1);
  }
  unlink(path);
  ck_assert_int_eq(sipsrv_store_load_users(s, path, "r", &line), SIPSRV_E_IO);
  ck_assert_uint_eq(line, 0);
  ck_assert_int_eq(sipsrv_store_load_users(s, NULL, "r", NULL), SIPSRV_E_INVAL);
  done_store(s);
}
END_TEST

/* A backend of the application's own: the vtable's checks. */
static int dummy_get(void *u, const char *aor, int64_t now, sipsrv_store_get_cb done, void *ctx)
{
  (void)u, (void)aor, (void)now;
  done(ctx, SIPSRV_E_STORE, NULL, 0);
  return 0;
}

static int dummy_put(void *u, const char *aor, const sipsrv_binding *b, size_t n,
                     sipsrv_store_done_cb done, void *ctx)
{
  (void)u, (void)aor, (void)b, (void)n;
  done(ctx, SIPSRV_E_STORE);
  return 0;
}

START_TEST(store_vtable_checks)
{
  struct sipsrv_store_ops ops;
  sipsrv_store *s = (sipsrv_store *)1;
  sipsrv_binding bad;
  int r = 0;
  got g;

  memset(&ops, 0, sizeof ops);
  ops.version = SIPSRV_STORE_OPS_VERSION;
  ops.size = sizeof ops;
  ck_assert_int_eq(sipsrv_store_new(&s, &ops, NULL), SIPSRV_E_INVAL);   /* no get/put */
  ops.get = dummy_get;
  ops.put = dummy_put;
  ops.version = 99;
  ck_assert_int_eq(sipsrv_store_new(&s, &ops, NULL), SIPSRV_E_VERSION);
  ops.version = SIPSRV_STORE_OPS_VERSION;
  ops.size = 8;
  ck_assert_int_eq(sipsrv_store_new(&s, &ops, NULL), SIPSRV_E_VERSION);
  /* A backend built before the count slot existed (STYLE.md: slots are
   * appended) is accepted; it cannot count. */
  ops.size = offsetof(struct sipsrv_store_ops, count);
  ops.count = NULL;
  ck_assert_int_eq(sipsrv_store_new(&s, &ops, NULL), 0);
  ck_assert_int_eq(sipsrv_store_count(s), SIPSRV_E_NOTSUP);
  sipsrv_store_free(s);
  ops.size = sizeof ops;
  ck_assert_int_eq(sipsrv_store_new(NULL, &ops, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_store_new(&s, &ops, NULL), 0);
  ck_assert_int_eq(sipsrv_store_count(s), SIPSRV_E_NOTSUP);
  memset(&g, 0, sizeof g);
  ck_assert_int_eq(sipsrv_store_get(s, "sip:a@b", 0, on_get, &g), 0);
  ck_assert_int_eq(g.err, SIPSRV_E_STORE);
  {
    sipsrv_binding b;
    memset(&b, 0, sizeof b);
    b.contact = "sip:c@d";
    b.q = -1;
    ck_assert_int_eq(sipsrv_store_put(s, "sip:a@b", &b, 1, on_done, &r), 0);
    ck_assert_int_eq(r, SIPSRV_E_STORE);
  }
  /* Missing optional slots. */
  ck_assert_int_eq(sipsrv_store_expire(s, 0), 0);
  ck_assert_int_eq(sipsrv_store_credential(s, "u", "r", on_cred, NULL), SIPSRV_E_NOTSUP);
  /* Bad arguments never reach the backend. */
  memset(&bad, 0, sizeof bad);
  ck_assert_int_eq(sipsrv_store_put(s, "sip:a@b", &bad, 1, on_done, &r), SIPSRV_E_INVAL);
  bad.contact = "sip:x@y";
  bad.q = 1001;
  ck_assert_int_eq(sipsrv_store_put(s, "sip:a@b", &bad, 1, on_done, &r), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_store_get(NULL, "a", 0, on_get, &g), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_store_get(s, NULL, 0, on_get, &g), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_store_put(s, NULL, NULL, 0, on_done, &r), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_store_expire(NULL, 0), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_store_add_user(s, "u", "r", "p"), SIPSRV_E_NOTSUP);  /* no slot */
  ck_assert_int_eq(sipsrv_store_add_user(NULL, "u", "r", "p"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_store_load_users(s, NULL, "r", NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_store_memory_new(NULL, NULL), SIPSRV_E_INVAL);
  sipsrv_store_free(s);
  sipsrv_store_free(NULL);
}
END_TEST

/* ---- SQLite ---------------------------------------------------------------- */

/* A direct connection to the store's file, as another process would have. */
static sqlite3 *peer(const char *path)
{
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
  return db;
}

static long long peer_int(sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st;
  long long v = -1;
  ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* What get delivered, every field, for the one binding of an AOR. */
static void on_get_full(void *ctx, int err, const sipsrv_binding *b, size_t n)
{
  char *out = ctx;
  if (err || n != 1) {
    snprintf(out, 1024, "err %d n %zu", err, n);
    return;
  }
  snprintf(out, 1024, "%s|%s|%lld|%d|%s|%u|%s|%s|%u|%s|%s|%lld", b->contact, b->params,
           (long long)b->expires, b->q, b->call_id, b->cseq, b->path, b->instance, b->reg_id,
           b->received, b->user_agent, (long long)b->updated);
}

/* store.h: every field of a binding and the credentials survive closing and
 * opening again; the file is in WAL mode with our application_id and schema
 * version. */
START_TEST(store_sqlite_persists_every_field)
{
  char path[64], out[1024], cred[4][130];
  sipsrv_binding b;
  sipsrv_store *s;
  sqlite3 *db;
  int r = 0;

  snprintf(path, sizeof path, "/tmp/sipsrv-persist-%d.db", (int)getpid());
  rm_db(path);
  s = open_sqlite(path, 1);
  memset(&b, 0, sizeof b);
  b.contact = "sip:alice@192.0.2.1:5070;transport=tcp;ob";
  b.params = "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=2";
  b.expires = 1700000123456LL;
  b.q = 700;
  b.call_id = "a84b4c76e66710@pc33";
  b.cseq = 4294967295u;
  b.path = "<sip:p1.example.com;lr>,<sip:p2.example.com;lr>";
  b.instance = "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";
  b.reg_id = 2;
  b.received = "tcp:192.0.2.1:40000";
  b.user_agent = "Softphone \"Beta\" 1.0";
  b.updated = 1700000000001LL;
  ck_assert_int_eq(sipsrv_store_put(s, "sip:alice@example.com", &b, 1, on_done, &r), 0);
  ck_assert_int_eq(r, 1);
  ck_assert_int_eq(sipsrv_store_add_user(s, "alice", "example.com", "wonder"), 0);
  sipsrv_store_free(s);

  db = peer(path);
  ck_assert_int_eq(peer_int(db, "PRAGMA user_version"), SIPSRV_STORE_SQLITE_SCHEMA);
  ck_assert_int_eq(peer_int(db, "PRAGMA application_id"), 0x53535256);
  ck_assert_int_eq(peer_int(db, "SELECT count(*) FROM binding"), 1);
  sqlite3_close(db);

  s = open_sqlite(path, 1);
  ck_assert_int_eq(sipsrv_store_get(s, "sip:alice@example.com", 1700000000000LL, on_get_full, out), 0);
  ck_assert_str_eq(out, "sip:alice@192.0.2.1:5070;transport=tcp;ob|"
                        "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=2|"
                        "1700000123456|700|a84b4c76e66710@pc33|4294967295|"
                        "<sip:p1.example.com;lr>,<sip:p2.example.com;lr>|"
                        "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>|2|tcp:192.0.2.1:40000|"
                        "Softphone \"Beta\" 1.0|1700000000001");
  ck_assert_int_eq(sipsrv_store_credential(s, "alice", "example.com", on_cred, cred), 0);
  ck_assert_str_eq(cred[0], "0");
  ck_assert_uint_eq(strlen(cred[1]), 32);
  ck_assert_uint_eq(strlen(cred[3]), 64);
  /* The journal is a WAL (its mode is stored in the file). */
  db = peer(path);
  {
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  sipsrv_store_free(s);
  rm_db(path);
}
END_TEST

/* Opening fails with the reason, naming the file, for each way a path can
 * be unusable; nothing is written out on failure. */
static int try_open(const char *path, char *err, size_t size)
{
  sipsrv_store_sqlite_cfg cfg = SIPSRV_STORE_SQLITE_CFG_INIT;
  sipsrv_store *s = (sipsrv_store *)1;
  int rc;
  cfg.path = path;
  cfg.errmsg = err;
  cfg.errmsg_size = size;
  rc = sipsrv_store_sqlite_new(&s, NULL, &cfg);
  ck_assert_ptr_eq(s, (sipsrv_store *)1);
  return rc;
}

static void write_bytes(const char *path, const char *text, size_t len)
{
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(text, 1, len, f), len);
  fclose(f);
}

START_TEST(store_sqlite_open_errors)
{
  char path[64], err[256], junk[8192];
  sqlite3 *db;

  snprintf(path, sizeof path, "/tmp/sipsrv-bad-%d.db", (int)getpid());
  rm_db(path);

  /* A directory that does not exist, and a directory in place of a file. */
  ck_assert_int_eq(try_open("/nonexistent-sipsrv/x.db", err, sizeof err), SIPSRV_E_IO);
  ck_assert_ptr_nonnull(strstr(err, "/nonexistent-sipsrv/x.db: cannot open"));
  ck_assert_int_eq(try_open("/tmp", err, sizeof err), SIPSRV_E_IO);
  ck_assert_ptr_nonnull(strstr(err, "/tmp: "));

  /* Not a database at all. */
  memset(junk, 'J', sizeof junk);
  write_bytes(path, junk, sizeof junk);
  ck_assert_int_eq(try_open(path, err, sizeof err), SIPSRV_E_STORE);
  ck_assert_ptr_nonnull(strstr(err, "not a database"));
  rm_db(path);

  /* Another application's database. */
  db = peer(path);
  ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  ck_assert_int_eq(try_open(path, err, sizeof err), SIPSRV_E_STORE);
  ck_assert_ptr_nonnull(strstr(err, "not a sipsrv database"));
  rm_db(path);

  /* Ours, from a newer library. */
  sipsrv_store_free(open_sqlite(path, 0));
  db = peer(path);
  ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  ck_assert_int_eq(try_open(path, err, sizeof err), SIPSRV_E_VERSION);
  ck_assert_ptr_nonnull(strstr(err, "schema version 2"));
  rm_db(path);

  /* Ours, damaged inside: pages of the binding table overwritten. */
  {
    sipsrv_store *s = open_sqlite(path, 0);
    char contact[64], aor[64];
    FILE *f;
    for (int i = 0; i < 400; i++) {
      snprintf(aor, sizeof aor, "sip:user%d@example.com", i);
      snprintf(contact, sizeof contact, "sip:user%d@192.0.2.1:5060", i);
      put1(s, aor, contact, 1000000);
    }
    sipsrv_store_free(s);                 /* the last close folds the WAL in */
    f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 4096 * 3, SEEK_SET), 0);
    memset(junk, 0x5a, sizeof junk);
    ck_assert_uint_eq(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    fclose(f);
    ck_assert_int_lt(try_open(path, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "damaged") || strstr(err, "malformed"), "%s", err);
    rm_db(path);
  }

  /* A file this user may not write (root may write anything: not tested then). */
  if (geteuid() != 0) {
    sipsrv_store_free(open_sqlite(path, 0));
    ck_assert_int_eq(chmod(path, 0444), 0);
    ck_assert_int_eq(try_open(path, err, sizeof err), SIPSRV_E_IO);
    ck_assert_ptr_nonnull(strstr(err, "not writable"));
    rm_db(path);
  }

  /* A short message buffer is cut, not overrun. */
  {
    char small[12];
    memset(small, 'x', sizeof small);
    ck_assert_int_eq(try_open("/nonexistent-sipsrv/x.db", small, 8), SIPSRV_E_IO);
    ck_assert_uint_eq(strlen(small), 7);
    ck_assert_int_eq(small[8], 'x');
  }

  /* Bad arguments. */
  {
    sipsrv_store_sqlite_cfg cfg = SIPSRV_STORE_SQLITE_CFG_INIT;
    sipsrv_store *s = NULL;
    ck_assert_int_eq(sipsrv_store_sqlite_new(&s, NULL, NULL), SIPSRV_E_INVAL);
    ck_assert_int_eq(sipsrv_store_sqlite_new(&s, NULL, &cfg), SIPSRV_E_INVAL);   /* no path */
    cfg.path = path;
    ck_assert_int_eq(sipsrv_store_sqlite_new(NULL, NULL, &cfg), SIPSRV_E_INVAL);
    cfg.busy_timeout_ms = -1;
    ck_assert_int_eq(sipsrv_store_sqlite_new(&s, NULL, &cfg), SIPSRV_E_INVAL);
    cfg.busy_timeout_ms = 0;
    cfg.errmsg = err;
    ck_assert_int_eq(sipsrv_store_sqlite_new(&s, NULL, &cfg), SIPSRV_E_INVAL);   /* size 0 */
    ck_assert_ptr_null(s);
  }
  rm_db(path);
}
END_TEST

/* store.h: a put that cannot commit (the file locked by another process past
 * the busy timeout) fails, keeps the AOR's old set and touches no other AOR;
 * once the lock goes, writes work again without reopening. */
START_TEST(store_sqlite_locked_put_fails)
{
  sipsrv_store *s = mk(1);
  sqlite3 *db;
  int r = 0;
  got g;

  put1(s, "sip:a@x", "sip:a@old", 100000);
  put1(s, "sip:b@x", "sip:b@old", 100000);
  db = peer(db_path);
  ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
  {
    sipsrv_binding b;
    memset(&b, 0, sizeof b);
    b.contact = "sip:a@new";
    b.expires = 100000;
    b.q = -1;
    ck_assert_int_eq(sipsrv_store_put(s, "sip:a@x", &b, 1, on_done, &r), 0);
    ck_assert_int_eq(r, SIPSRV_E_IO);
    r = 0;
    ck_assert_int_eq(sipsrv_store_put(s, "sip:b@x", NULL, 0, on_done, &r), 0);
    ck_assert_int_eq(r, SIPSRV_E_IO);
  }
  ck_assert_int_lt(sipsrv_store_expire(s, 200000), 0);
  /* Reads go on meanwhile (WAL). */
  g = get(s, "sip:a@x", 0);
  ck_assert_int_eq(g.err, 0);
  ck_assert_uint_eq(g.n, 1);
  ck_assert_str_eq(g.contact[0], "sip:a@old");
  ck_assert_int_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  g = get(s, "sip:b@x", 0);
  ck_assert_uint_eq(g.n, 1);
  put1(s, "sip:a@x", "sip:a@new", 100000);
  g = get(s, "sip:a@x", 0);
  ck_assert_str_eq(g.contact[0], "sip:a@new");
  done_store(s);
}
END_TEST

/* store.h: the disk full in the middle of a put (the file may not grow):
 * rolled back whole, the other AORs intact, and writes work again once
 * there is room. */
START_TEST(store_sqlite_full_put_fails)
{
  sipsrv_store *s = mk(1);
  sqlite3 *db = ss_store_sqlite_db(s);
  sipsrv_binding b[3];
  static char big[3][6000];
  int r = 0;
  got g;

  ck_assert_ptr_nonnull(db);
  put1(s, "sip:a@x", "sip:a@old", 100000);
  put1(s, "sip:b@x", "sip:b@old", 100000);
  ck_assert_int_eq(sqlite3_exec(db, "PRAGMA max_page_count = 1", NULL, NULL, NULL), SQLITE_OK);
  memset(b, 0, sizeof b);
  for (int i = 0; i < 3; i++) {
    memset(big[i], 'a' + i, sizeof big[i] - 1);
    memcpy(big[i], "sip:", 4);
    b[i].contact = big[i];
    b[i].expires = 100000;
    b[i].q = -1;
  }
  ck_assert_int_eq(sipsrv_store_put(s, "sip:a@x", b, 3, on_done, &r), 0);
  ck_assert_int_eq(r, SIPSRV_E_IO);
  g = get(s, "sip:a@x", 0);
  ck_assert_uint_eq(g.n, 1);
  ck_assert_str_eq(g.contact[0], "sip:a@old");
  g = get(s, "sip:b@x", 0);
  ck_assert_uint_eq(g.n, 1);
  ck_assert_int_eq(sqlite3_exec(db, "PRAGMA max_page_count = 1000000", NULL, NULL, NULL), SQLITE_OK);
  r = 0;
  ck_assert_int_eq(sipsrv_store_put(s, "sip:a@x", b, 3, on_done, &r), 0);
  ck_assert_int_eq(r, 1);
  g = get(s, "sip:a@x", 0);
  ck_assert_uint_eq(g.n, 3);
  done_store(s);
  ck_assert_ptr_null(ss_store_sqlite_db(NULL));
}
END_TEST

/* store.h: a put that fails after its first statements (here a trigger of
 * the test's making rejects the second binding) is rolled back whole: the
 * AOR keeps its old set, and the next operations are not caught in a
 * half-done transaction. */
START_TEST(store_sqlite_failed_put_rolls_back)
{
  sipsrv_store *s = mk(1);
  sipsrv_binding b[2];
  sqlite3 *db;
  int r = 0;
  got g;

  put1(s, "sip:a@x", "sip:a@old", 100000);
  db = peer(db_path);
  ck_assert_int_eq(sqlite3_exec(db, "CREATE TRIGGER boom BEFORE INSERT ON binding"
                                    " WHEN NEW.contact = 'sip:boom' BEGIN"
                                    " SELECT RAISE(ABORT, 'boom'); END",
                                NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  memset(b, 0, sizeof b);
  b[0].contact = "sip:a@new";
  b[1].contact = "sip:boom";
  b[0].expires = b[1].expires = 100000;
  b[0].q = b[1].q = -1;
  ck_assert_int_eq(sipsrv_store_put(s, "sip:a@x", b, 2, on_done, &r), 0);
  ck_assert_int_eq(r, SIPSRV_E_STORE);
  g = get(s, "sip:a@x", 0);
  ck_assert_uint_eq(g.n, 1);
  ck_assert_str_eq(g.contact[0], "sip:a@old");
  put1(s, "sip:b@x", "sip:b@1", 100000);
  sipsrv_store_free(s);
  s = open_sqlite(db_path, 0);             /* what a restart finds */
  g = get(s, "sip:a@x", 0);
  ck_assert_str_eq(g.contact[0], "sip:a@old");
  g = get(s, "sip:b@x", 0);
  ck_assert_uint_eq(g.n, 1);
  done_store(s);
}
END_TEST

/* Two stores on one file (two processes, or a restart racing the old one):
 * the second sees what the first committed. */
START_TEST(store_sqlite_shared_file)
{
  sipsrv_store *s = mk(1), *t = open_sqlite(db_path, 1);
  got g;
  put1(s, "sip:a@x", "sip:a@1", 100000);
  g = get(t, "sip:a@x", 0);
  ck_assert_uint_eq(g.n, 1);
  put1(t, "sip:a@x", "sip:a@2", 100000);
  g = get(s, "sip:a@x", 0);
  ck_assert_str_eq(g.contact[0], "sip:a@2");
  sipsrv_store_free(t);
  done_store(s);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("store");
  TCase *tc = tcase_create("contract");
  tcase_add_loop_test(tc, store_contract_put_get_copies, 0, 2);
  tcase_add_loop_test(tc, store_contract_replace_remove, 0, 2);
  tcase_add_loop_test(tc, store_contract_get_hides_expired, 0, 2);
  tcase_add_loop_test(tc, store_contract_expire, 0, 2);
  tcase_add_loop_test(tc, store_contract_expire_many, 0, 2);
  tcase_add_loop_test(tc, store_contract_credentials, 0, 2);
  tcase_add_loop_test(tc, store_contract_load_users, 0, 2);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  tc = tcase_create("sqlite");
  tcase_add_test(tc, store_sqlite_persists_every_field);
  tcase_add_test(tc, store_sqlite_open_errors);
  tcase_add_test(tc, store_sqlite_locked_put_fails);
  tcase_add_test(tc, store_sqlite_full_put_fails);
  tcase_add_test(tc, store_sqlite_failed_put_rolls_back);
  tcase_add_test(tc, store_sqlite_shared_file);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  tc = tcase_create("vtable");
  tcase_add_test(tc, store_vtable_checks);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return harness_run(suite());
}
