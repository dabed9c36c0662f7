/* The storage vtable and the memory store. */
#include <check.h>
#include <sipsrv/sipsrv.h>

#include "auth/digest.h"
#include "harness.h"

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

/* RFC 4475 3.3.12-3.3.14: what is stored comes back byte for byte, escapes,
 * URI parameters and headers included; the store copies (the caller's
 * strings may go away). */
START_TEST(store_memory_put_get_copies)
{
  sipsrv_store *s;
  sipsrv_binding b[2];
  char contact[64], params[64];
  int r = 0;
  got g;

  ck_assert_int_eq(sipsrv_store_memory_new(&s, NULL), 0);
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
  sipsrv_store_free(s);
}
END_TEST

/* A put replaces the whole set; n == 0 removes the AOR. */
START_TEST(store_memory_replace_remove)
{
  sipsrv_store *s;
  int r = 0;
  got g;

  ck_assert_int_eq(sipsrv_store_memory_new(&s, NULL), 0);
  put1(s, "sip:a@x", "sip:a@1.example.com", 10000);
  put1(s, "sip:a@x", "sip:a@2.example.com", 10000);
  g = get(s, "sip:a@x", 0);
  ck_assert_uint_eq(g.n, 1);
  ck_assert_str_eq(g.contact[0], "sip:a@2.example.com");
  ck_assert_int_eq(sipsrv_store_put(s, "sip:a@x", NULL, 0, on_done, &r), 0);
  ck_assert_int_eq(r, 1);
  g = get(s, "sip:a@x", 0);
  ck_assert_uint_eq(g.n, 0);
  /* Removing what is not there is fine. */
  r = 0;
  ck_assert_int_eq(sipsrv_store_put(s, "sip:none@x", NULL, 0, on_done, &r), 0);
  ck_assert_int_eq(r, 1);
  sipsrv_store_free(s);
}
END_TEST

/* Expired bindings are hidden by get before expire drops them (RFC 3261
 * 10.3 step 8 lists only current bindings). */
START_TEST(store_memory_get_hides_expired)
{
  sipsrv_store *s;
  sipsrv_binding b[2];
  int r = 0;
  got g;

  ck_assert_int_eq(sipsrv_store_memory_new(&s, NULL), 0);
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
  sipsrv_store_free(s);
}
END_TEST

/* expire drops exactly what is due, and reports how many. */
START_TEST(store_memory_expire)
{
  sipsrv_store *s;
  sipsrv_binding b[3];
  int r = 0;
  got g;

  ck_assert_int_eq(sipsrv_store_memory_new(&s, NULL), 0);
  memset(b, 0, sizeof b);
  for (int i = 0; i < 3; i++) {
    b[i].q = -1;
    b[i].expires = 1000 * (i + 1);
  }
  b[0].contact = "sip:1@x";
  b[1].contact = "sip:2@x";
  b[2].contact = "sip:3@x";
  ck_assert_int_eq(sipsrv_store_put(s, "sip:u@x", b, 3, on_done, &r), 0);
  put1(s, "sip:v@x", "sip:v@y", 1500);
  ck_assert_int_eq(sipsrv_store_expire(s, 999), 0);
  ck_assert_int_eq(sipsrv_store_expire(s, 1000), 1);
  ck_assert_int_eq(sipsrv_store_expire(s, 2500), 2);       /* sip:2@x and sip:v@y */
  g = get(s, "sip:u@x", 0);                                 /* now 0: nothing hidden */
  ck_assert_uint_eq(g.n, 1);
  ck_assert_str_eq(g.contact[0], "sip:3@x");
  g = get(s, "sip:v@x", 0);
  ck_assert_uint_eq(g.n, 0);
  ck_assert_int_eq(sipsrv_store_expire(s, 100000), 1);
  ck_assert_int_eq(sipsrv_store_expire(s, 100000), 0);
  sipsrv_store_free(s);
}
END_TEST

/* Many AORs with scattered expiries: expiring step by step drops each one at
 * its time and no other (the heap order holds through re-arming). */
START_TEST(store_memory_expire_many)
{
  sipsrv_store *s;
  enum { N = 5000 };
  static int64_t when[N];
  unsigned seed = 7;
  char aor[32];
  int total = 0;

  ck_assert_int_eq(sipsrv_store_memory_new(&s, NULL), 0);
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
  sipsrv_store_free(s);
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

START_TEST(store_memory_credentials)
{
  sipsrv_store *s;
  char out[4][130];

  ck_assert_int_eq(sipsrv_store_memory_new(&s, NULL), 0);
  ck_assert_int_eq(sipsrv_store_memory_add_user(s, "Mufasa", "testrealm@host.com", "Circle Of Life"), 0);
  ck_assert_int_eq(sipsrv_store_memory_add_user(s, "Mufasa", "http-auth@example.org", "Circle of Life"), 0);
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
  ck_assert_int_eq(sipsrv_store_memory_add_user(s, "Mufasa", "testrealm@host.com", "x"), 0);
  ck_assert_int_eq(sipsrv_store_credential(s, "Mufasa", "testrealm@host.com", on_cred, out), 0);
  ck_assert_str_ne(out[1], "939e7578ed9e3c518a452acee763bce9");
  /* Many users (past the table's growth). */
  for (int i = 0; i < 1000; i++) {
    char u[16];
    snprintf(u, sizeof u, "u%d", i);
    ck_assert_int_eq(sipsrv_store_memory_add_user(s, u, "r", "p"), 0);
  }
  ck_assert_int_eq(sipsrv_store_credential(s, "u999", "r", on_cred, out), 0);
  ck_assert_str_eq(out[0], "0");
  ck_assert_int_eq(sipsrv_store_memory_add_user(s, "a:b", "r", "p"), SIPSRV_E_INVAL);
  sipsrv_store_free(s);
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

START_TEST(store_memory_load_users)
{
  sipsrv_store *s;
  char out[4][130], path[64], a1[64], md5[129];
  unsigned line = 99;

  snprintf(path, sizeof path, "/tmp/sipsrv-users-%d", (int)getpid());
  ck_assert_int_eq(sipsrv_store_memory_new(&s, NULL), 0);
  write_file(path, "# users\n\nalice:wonder\r\nbob:pa:ss\n");
  ck_assert_int_eq(sipsrv_store_memory_load_users(s, path, "r", &line), 2);
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
  ck_assert_int_eq(sipsrv_store_memory_load_users(s, path, "r", &line), SIPSRV_E_PARSE);
  ck_assert_uint_eq(line, 2);
  write_file(path, ":nouser\n");
  ck_assert_int_eq(sipsrv_store_memory_load_users(s, path, "r", &line), SIPSRV_E_PARSE);
  ck_assert_uint_eq(line, 1);
  {
    char longline[2048];
    memset(longline, 'a', sizeof longline - 2);
    longline[sizeof longline - 2] = '\n';
    longline[sizeof longline - 1] = '\0';
    longline[3] = ':';
    write_file(path, longline);
    ck_assert_int_eq(sipsrv_store_memory_load_users(s, path, "r", &line), SIPSRV_E_TOOBIG);
    ck_assert_uint_eq(line, 1);
  }
  unlink(path);
  ck_assert_int_eq(sipsrv_store_memory_load_users(s, path, "r", &line), SIPSRV_E_IO);
  ck_assert_uint_eq(line, 0);
  ck_assert_int_eq(sipsrv_store_memory_load_users(s, NULL, "r", NULL), SIPSRV_E_INVAL);
  sipsrv_store_free(s);
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
  ops.size = sizeof ops;
  ck_assert_int_eq(sipsrv_store_new(NULL, &ops, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_store_new(&s, &ops, NULL), 0);
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
  ck_assert_int_eq(sipsrv_store_memory_add_user(s, "u", "r", "p"), SIPSRV_E_INVAL);  /* not memory */
  ck_assert_int_eq(sipsrv_store_memory_new(NULL, NULL), SIPSRV_E_INVAL);
  sipsrv_store_free(s);
  sipsrv_store_free(NULL);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("store");
  TCase *tc = tcase_create("memory");
  tcase_add_test(tc, store_memory_put_get_copies);
  tcase_add_test(tc, store_memory_replace_remove);
  tcase_add_test(tc, store_memory_get_hides_expired);
  tcase_add_test(tc, store_memory_expire);
  tcase_add_test(tc, store_memory_expire_many);
  tcase_add_test(tc, store_memory_credentials);
  tcase_add_test(tc, store_memory_load_users);
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
