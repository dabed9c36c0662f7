/* Digest authentication building blocks (lib/auth): RFC 7616, RFC 8760. */
#include <check.h>
#include <sipsrv/sipsrv.h>

#include "harness.h"
#include "auth/auth.h"
#include "auth/digest.h"

#include <stdio.h>
#include <stdlib.h>

#include <string.h>

/* RFC 7616 3.9.1's example: Mufasa, "Circle of Life", GET /dir/index.html. */
#define EX_REALM "http-auth@example.org"
#define EX_NONCE "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define EX_CNONCE "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"

static void ha1_of(ss_digest_alg alg, char out[129])
{
  static const char a1[] = "Mufasa:" EX_REALM ":Circle of Life";
  ck_assert_int_eq(ss_digest_hex(alg, a1, sizeof a1 - 1, out), 0);
}

/* RFC 7616 3.9.1: the MD5 and SHA-256 responses of the example; SHA-512-256
 * (RFC 8760) computed the same way by OpenSSL's command line. */
START_TEST(auth_response_rfc7616_vectors)
{
  char ha1[129], rsp[129];
  ha1_of(SS_DIGEST_MD5, ha1);
  ck_assert_int_eq(ss_digest_response(SS_DIGEST_MD5, ha1, "GET", "/dir/index.html", EX_NONCE,
                                      "00000001", EX_CNONCE, "auth", rsp), 0);
  ck_assert_str_eq(rsp, "8ca523f5e9506fed4657c9700eebdbec");
  ha1_of(SS_DIGEST_SHA256, ha1);
  ck_assert_int_eq(ss_digest_response(SS_DIGEST_SHA256, ha1, "GET", "/dir/index.html", EX_NONCE,
                                      "00000001", EX_CNONCE, "auth", rsp), 0);
  ck_assert_str_eq(rsp, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
  ha1_of(SS_DIGEST_SHA512_256, ha1);
  ck_assert_int_eq(ss_digest_response(SS_DIGEST_SHA512_256, ha1, "GET", "/dir/index.html",
                                      EX_NONCE, "00000001", EX_CNONCE, "auth", rsp), 0);
  ck_assert_str_eq(rsp, "430d05014cecc49cab6fbe03176d41a1da86cbfe24a16580e22aaad928d960d0");
}
END_TEST

/* Without qop (RFC 2069, RFC 7616 3.4.1's compatibility form): H(HA1:nonce:HA2);
 * qop without nc or cnonce is refused. */
START_TEST(auth_response_no_qop)
{
  char ha1[129], rsp[129];
  ha1_of(SS_DIGEST_MD5, ha1);
  ck_assert_int_eq(ss_digest_response(SS_DIGEST_MD5, ha1, "GET", "/dir/index.html",
                                      "dcd98b7102dd2f0e8b11d0f600bfb0c093", NULL, NULL, NULL, rsp), 0);
  ck_assert_str_eq(rsp, "2ca4a75d0abc1e8ae25f2932162071df");
  ck_assert_int_eq(ss_digest_response(SS_DIGEST_MD5, ha1, "GET", "/x", "n", NULL, NULL, "auth", rsp),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(ss_digest_response(SS_DIGEST_MD5, NULL, "GET", "/x", "n", NULL, NULL, NULL, rsp),
                   SIPSRV_E_INVAL);
}
END_TEST

START_TEST(auth_alg_names)
{
  ck_assert_int_eq(ss_digest_alg_parse(NULL), SS_DIGEST_MD5);         /* RFC 7616 3.3 default */
  ck_assert_int_eq(ss_digest_alg_parse("md5"), SS_DIGEST_MD5);
  ck_assert_int_eq(ss_digest_alg_parse("SHA-256"), SS_DIGEST_SHA256);
  ck_assert_int_eq(ss_digest_alg_parse("sha-512-256"), SS_DIGEST_SHA512_256);
  ck_assert_int_eq(ss_digest_alg_parse("MD5-sess"), -1);
  ck_assert_int_eq(ss_digest_alg_parse("SHA-1"), -1);
  ck_assert_str_eq(ss_digest_alg_name(SS_DIGEST_SHA512_256), "SHA-512-256");
}
END_TEST

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";
static const unsigned char rnd[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

/* Stateless nonces: any node with the secret accepts them while fresh; an
 * old one is stale (a new challenge with stale=true, RFC 7616 3.3); a forged,
 * altered, other-realm or other-secret one is refused. */
START_TEST(auth_nonce_roundtrip)
{
  char n[SS_NONCE_LEN + 1], m[SS_NONCE_LEN + 1];
  ck_assert_int_eq(ss_digest_nonce_make(secret, 32, "example.com", 1795000000000LL, rnd, n), 0);
  ck_assert_uint_eq(strlen(n), SS_NONCE_LEN);
  ck_assert_int_eq(ss_digest_nonce_check(secret, 32, "example.com", n, 1795000000000LL, 300000), SS_NONCE_OK);
  ck_assert_int_eq(ss_digest_nonce_check(secret, 32, "example.com", n, 1795000300000LL, 300000), SS_NONCE_OK);
  ck_assert_int_eq(ss_digest_nonce_check(secret, 32, "example.com", n, 1795000300001LL, 300000), SS_NONCE_STALE);
  ck_assert_int_eq(ss_digest_nonce_check(secret, 32, "example.org", n, 1795000000000LL, 300000), SS_NONCE_BAD);
  ck_assert_int_eq(ss_digest_nonce_check((const unsigned char *)"other", 5, "example.com", n,
                                         1795000000000LL, 300000), SS_NONCE_BAD);
  /* Any changed character (timestamp, random, MAC) breaks it. */
  for (size_t i = 0; i < SS_NONCE_LEN; i++) {
    if (n[i] == '.')
      continue;
    memcpy(m, n, sizeof m);
    m[i] = m[i] == 'a' ? 'b' : 'a';
    ck_assert_int_eq(ss_digest_nonce_check(secret, 32, "example.com", m, 1795000000000LL, 300000),
                     SS_NONCE_BAD);
  }
  /* From the future (more than a minute ahead of this node's clock). */
  ck_assert_int_eq(ss_digest_nonce_check(secret, 32, "example.com", n, 1794999000000LL, 300000), SS_NONCE_BAD);
  ck_assert_int_eq(ss_digest_nonce_check(secret, 32, "example.com", "short", 0, 1), SS_NONCE_BAD);
  ck_assert_int_eq(ss_digest_nonce_check(secret, 32, "example.com", NULL, 0, 1), SS_NONCE_BAD);
  ck_assert_int_eq(ss_digest_nonce_make(NULL, 0, "r", 0, rnd, n), SIPSRV_E_INVAL);
}
END_TEST

START_TEST(auth_equal)
{
  ck_assert(ss_digest_equal("abc", "abc"));
  ck_assert(!ss_digest_equal("abc", "abd"));
  ck_assert(!ss_digest_equal("abc", "abcd"));
  ck_assert(!ss_digest_equal(NULL, "a"));
}
END_TEST


/* ---- authenticating requests --------------------------------------------- */

static uint64_t wall_ms = 1795000000000ULL;
static uint64_t wall(void *u) { (void)u; return wall_ms; }

typedef struct fix {
  sipsrv_core *core;
  ss_auth *auth;
} fix;

static void fix_init(fix *f, unsigned algs)
{
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  ss_auth_cfg ac = { "example.com", secret, 32, 0, 0 };
  wall_ms = 1795000000000ULL;
  cfg.wall_clock = wall;
  ac.algs = algs;
  ck_assert_int_eq(sipsrv_core_new(&f->core, &cfg), 0);
  ck_assert_int_eq(ss_auth_new(&f->auth, f->core, &ac), 0);
}

static void fix_fini(fix *f)
{
  ss_auth_free(f->auth);
  sipsrv_core_free(f->core);
}

/* The nonce of the challenge for alg. */
static void challenge_nonce(fix *f, const char *alg, char nonce[SS_NONCE_LEN + 1])
{
  char buf[2048], want[64], *p;
  ck_assert_int_eq(ss_auth_challenge(f->auth, false, false, buf, sizeof buf), 0);
  snprintf(want, sizeof want, "algorithm=%s,", alg);
  p = strstr(buf, want);
  ck_assert_ptr_nonnull(p);
  while (p > buf && strncmp(p, "nonce=\"", 7) != 0)
    p--;
  ck_assert_int_eq(strncmp(p, "nonce=\"", 7), 0);
  memcpy(nonce, p + 7, SS_NONCE_LEN);
  nonce[SS_NONCE_LEN] = '\0';
}

/* A REGISTER carrying credentials computed from password. */
static sipsrv_msg *reg_with(const char *user, const char *password, const char *realm,
                            const char *alg, const char *nonce, const char *uri, const char *nc,
                            const char *extra)
{
  char a1[256], ha1[129], rsp[129], text[4096];
  int ialg = ss_digest_alg_parse(alg);
  sipsrv_msg *m;
  sipsrv_verdict v;
  int n;
  snprintf(a1, sizeof a1, "%s:%s:%s", user, realm, password);
  ck_assert_int_eq(ss_digest_hex((ss_digest_alg)(ialg < 0 ? 0 : ialg), a1, strlen(a1), ha1), 0);
  ck_assert_int_eq(ss_digest_response((ss_digest_alg)(ialg < 0 ? 0 : ialg), ha1, "REGISTER", uri,
                                      nonce, nc, "c0ffee", nc ? "auth" : NULL, rsp), 0);
  n = snprintf(text, sizeof text,
               "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa1\r\n"
               "From: <sip:%s@example.com>;tag=1\r\nTo: <sip:%s@example.com>\r\nCall-ID: c1\r\n"
               "CSeq: 2 REGISTER\r\nContact: <sip:%s@192.0.2.1>\r\n"
               "Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
               "response=\"%s\", algorithm=%s%s%s%s%s\r\n%sContent-Length: 0\r\n\r\n",
               user, user, user, user, realm, nonce, uri, rsp, alg,
               nc ? ", qop=auth, cnonce=\"c0ffee\", nc=" : "", nc ? nc : "", "", "", extra ? extra : "");
  ck_assert_int_lt(n, (int)sizeof text);
  ck_assert_int_eq(sipsrv_msg_parse(&m, text, (size_t)n, 0, &v), 0);
  ck_assert_int_eq(v.action, SIPSRV_ACCEPT);
  return m;
}

static void ha1_for(const char *alg, const char *password, char ha1[129])
{
  char a1[256];
  snprintf(a1, sizeof a1, "alice:example.com:%s", password);
  ck_assert_int_eq(ss_digest_hex((ss_digest_alg)ss_digest_alg_parse(alg), a1, strlen(a1), ha1), 0);
}

/* RFC 7616 3.3 / RFC 8760 2.4: one challenge per algorithm, strongest first,
 * qop="auth", stale=true when asked; 407 uses Proxy-Authenticate. */
START_TEST(auth_challenge_headers)
{
  fix f;
  char buf[2048];
  const char *s512, *s256, *md5;
  fix_init(&f, 0);
  ck_assert_int_eq(ss_auth_challenge(f.auth, false, false, buf, sizeof buf), 0);
  s512 = strstr(buf, "algorithm=SHA-512-256");
  s256 = strstr(buf, "algorithm=SHA-256");
  md5 = strstr(buf, "algorithm=MD5");
  ck_assert(s512 && s256 && md5 && s512 < s256 && s256 < md5);
  ck_assert_ptr_nonnull(strstr(buf, "WWW-Authenticate: Digest realm=\"example.com\", nonce=\""));
  ck_assert_ptr_nonnull(strstr(buf, "qop=\"auth\""));
  ck_assert_ptr_null(strstr(buf, "stale"));
  ck_assert_int_eq(ss_auth_challenge(f.auth, true, true, buf, sizeof buf), 0);
  ck_assert_ptr_nonnull(strstr(buf, "Proxy-Authenticate: Digest"));
  ck_assert_ptr_nonnull(strstr(buf, "stale=true"));
  ck_assert_int_eq(ss_auth_challenge(f.auth, false, false, buf, 20), SIPSRV_E_TOOBIG);
  fix_fini(&f);
}
END_TEST

/* The whole exchange per algorithm; a replayed nonce count fails (RFC 7616
 * 3.4.5); a higher one passes; a wrong password fails. */
START_TEST(auth_verify_flow)
{
  static const char *const algs[] = { "MD5", "SHA-256", "SHA-512-256" };
  for (size_t i = 0; i < 3; i++) {
    fix f;
    char nonce[SS_NONCE_LEN + 1], ha1[129];
    ss_auth_creds c;
    sipsrv_msg *m;
    fix_init(&f, 0);
    challenge_nonce(&f, algs[i], nonce);
    m = reg_with("alice", "secret", "example.com", algs[i], nonce, "sip:example.com", "00000001", NULL);
    ck_assert_int_eq(ss_auth_inspect(f.auth, m, false, &c), SS_AUTH_CHECK);
    ck_assert_str_eq(c.username, "alice");
    ha1_for(algs[i], "secret", ha1);
    ck_assert(ss_auth_verify(f.auth, &c, ha1, "REGISTER"));
    ck_assert(!ss_auth_verify(f.auth, &c, ha1, "REGISTER"));       /* replay */
    sipsrv_msg_free(m);
    m = reg_with("alice", "secret", "example.com", algs[i], nonce, "sip:example.com", "00000002", NULL);
    ck_assert_int_eq(ss_auth_inspect(f.auth, m, false, &c), SS_AUTH_CHECK);
    ck_assert(ss_auth_verify(f.auth, &c, ha1, "REGISTER"));
    ha1_for(algs[i], "wrong", ha1);
    sipsrv_msg_free(m);
    m = reg_with("alice", "secret", "example.com", algs[i], nonce, "sip:example.com", "00000003", NULL);
    ck_assert_int_eq(ss_auth_inspect(f.auth, m, false, &c), SS_AUTH_CHECK);
    ck_assert(!ss_auth_verify(f.auth, &c, ha1, "REGISTER"));
    ck_assert(!ss_auth_verify(f.auth, &c, ha1, "INVITE"));
    sipsrv_msg_free(m);
    fix_fini(&f);
  }
}
END_TEST

/* What is not for us, stale, forged, malformed or mismatched. */
START_TEST(auth_inspect_states)
{
  fix f;
  char nonce[SS_NONCE_LEN + 1];
  ss_auth_creds c;
  sipsrv_msg *m;
  sipsrv_verdict v;
  static const char basic[] = "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKb\r\n"
                              "From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: c\r\n"
                              "CSeq: 1 REGISTER\r\nAuthorization: NoOneKnowsThisScheme opaque-data=here\r\n"
                              "Content-Length: 0\r\n\r\n";

  fix_init(&f, 1u << SS_DIGEST_MD5);
  /* RFC 4475 3.3.7: an unknown scheme is as if there were no credentials. */
  ck_assert_int_eq(sipsrv_msg_parse(&m, basic, sizeof basic - 1, 0, &v), 0);
  ck_assert_int_eq(ss_auth_inspect(f.auth, m, false, &c), SS_AUTH_NONE);
  ck_assert_int_eq(ss_auth_inspect(f.auth, m, true, &c), SS_AUTH_NONE);
  sipsrv_msg_free(m);
  challenge_nonce(&f, "MD5", nonce);
  /* Another realm: not ours. */
  m = reg_with("alice", "secret", "other.org", "MD5", nonce, "sip:example.com", "00000001", NULL);
  ck_assert_int_eq(ss_auth_inspect(f.auth, m, false, &c), SS_AUTH_NONE);
  sipsrv_msg_free(m);
  /* The digest uri must be the Request-URI (RFC 7616 3.4.6). */
  m = reg_with("alice", "secret", "example.com", "MD5", nonce, "sip:elsewhere.com", "00000001", NULL);
  ck_assert_int_eq(ss_auth_inspect(f.auth, m, false, &c), SS_AUTH_BAD);
  sipsrv_msg_free(m);
  /* An algorithm not offered. */
  m = reg_with("alice", "secret", "example.com", "SHA-256", nonce, "sip:example.com", "00000001", NULL);
  ck_assert_int_eq(ss_auth_inspect(f.auth, m, false, &c), SS_AUTH_INVALID);
  sipsrv_msg_free(m);
  /* A nonce we never made. */
  m = reg_with("alice", "secret", "example.com", "MD5", "forged-nonce", "sip:example.com", "00000001", NULL);
  ck_assert_int_eq(ss_auth_inspect(f.auth, m, false, &c), SS_AUTH_INVALID);
  sipsrv_msg_free(m);
  /* Our nonce, past its lifetime (5 min): stale (RFC 7616 3.3). */
  m = reg_with("alice", "secret", "example.com", "MD5", nonce, "sip:example.com", "00000001", NULL);
  wall_ms += 300001;
  ck_assert_int_eq(ss_auth_inspect(f.auth, m, false, &c), SS_AUTH_STALE);
  sipsrv_msg_free(m);
  fix_fini(&f);
}
END_TEST

START_TEST(auth_new_args)
{
  sipsrv_core *core;
  ss_auth *a = NULL;
  ss_auth_cfg ac = { NULL, NULL, 0, 0, 0 };
  ck_assert_int_eq(sipsrv_core_new(&core, NULL), 0);
  ck_assert_int_eq(ss_auth_new(&a, core, &ac), SIPSRV_E_INVAL);
  ac.realm = "bad\"realm";
  ck_assert_int_eq(ss_auth_new(&a, core, &ac), SIPSRV_E_INVAL);
  ac.realm = "example.com";
  ck_assert_int_eq(ss_auth_new(&a, core, &ac), 0);        /* a random secret */
  ck_assert_str_eq(ss_auth_realm(a), "example.com");
  ss_auth_free(a);
  ss_auth_free(NULL);
  sipsrv_core_free(core);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("auth");
  TCase *tc = tcase_create("digest");
  tcase_add_test(tc, auth_response_rfc7616_vectors);
  tcase_add_test(tc, auth_response_no_qop);
  tcase_add_test(tc, auth_alg_names);
  tcase_add_test(tc, auth_nonce_roundtrip);
  tcase_add_test(tc, auth_equal);
  suite_add_tcase(s, tc);
  tc = tcase_create("requests");
  tcase_add_test(tc, auth_challenge_headers);
  tcase_add_test(tc, auth_verify_flow);
  tcase_add_test(tc, auth_inspect_states);
  tcase_add_test(tc, auth_new_args);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return harness_run(suite());
}
