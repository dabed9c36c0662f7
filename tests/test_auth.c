/* Digest authentication building blocks (lib/auth): RFC 7616, RFC 8760. */
#include <check.h>
#include <sipsrv/sipsrv.h>

#include "harness.h"
#include "auth/digest.h"

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
  return s;
}

int main(void)
{
  return harness_run(suite());
}
