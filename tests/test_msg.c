/* The message layer: parse verdicts rule by rule, role checks, and the field
 * accessors. Each verdict test cites the rule it enforces. */
#include <check.h>
#include <sipsrv/sipsrv.h>
#include <sipsrv/sofia.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A valid request; tests replace or drop one line of it. */
static const char *const base_lines[] = {
  "INVITE sip:bob@biloxi.example.com SIP/2.0",
  "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport",
  "Via: SIP/2.0/TCP 192.0.2.4;branch=z9hG4bKnashds8;received=192.0.2.5",
  "Max-Forwards: 70",
  "To: Bob <sip:bob@biloxi.example.com>",
  "From: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774",
  "Call-ID: a84b4c76e66710@pc33.atlanta.example.com",
  "CSeq: 314159 INVITE",
  "Contact: <sip:alice@pc33.atlanta.example.com>;expires=60, <sip:alice@192.0.2.7>;q=0.5",
  "Expires: 3600",
  "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>",
  "X-Custom: one",
  "x-custom: two",
  "Content-Type: text/plain",
  NULL
};

#define BODY "hello"

/* Build the base request with line `replace_idx` replaced by `with` (NULL
 * drops it; idx -1 replaces nothing), `extra` appended as a header line, and
 * the body and a matching Content-Length unless no_cl. */
static char *build(int replace_idx, const char *with, const char *extra, bool no_cl,
                   const char *body, size_t *len)
{
  size_t cap = 4096;
  char *buf = malloc(cap);
  size_t n = 0;
  ck_assert_ptr_nonnull(buf);
  for (int i = 0; base_lines[i]; i++) {
    const char *l = i == replace_idx ? with : base_lines[i];
    if (l)
      n += (size_t)snprintf(buf + n, cap - n, "%s\r\n", l);
  }
  if (extra)
    n += (size_t)snprintf(buf + n, cap - n, "%s\r\n", extra);
  if (!body)
    body = BODY;
  if (!no_cl)
    n += (size_t)snprintf(buf + n, cap - n, "Content-Length: %zu\r\n", strlen(body));
  n += (size_t)snprintf(buf + n, cap - n, "\r\n%s", body);
  *len = n;
  return buf;
}

/* A copy of d with the first `from` replaced by `to`; *len is updated. */
static char *replace(const char *d, size_t *len, const char *from, const char *to)
{
  const char *at = strstr(d, from);
  size_t fl = strlen(from), tl = strlen(to), pre;
  char *r;
  ck_assert_ptr_nonnull(at);
  pre = (size_t)(at - d);
  r = malloc(*len - fl + tl + 1);
  ck_assert_ptr_nonnull(r);
  memcpy(r, d, pre);
  memcpy(r + pre, to, tl);
  memcpy(r + pre + tl, at + fl, *len - pre - fl + 1);
  *len = *len - fl + tl;
  return r;
}

/* Parse and return the verdict; the message is freed unless out is given. */
static sipsrv_verdict verdict_of(const char *data, size_t len, unsigned flags, sipsrv_msg **out)
{
  sipsrv_verdict v;
  sipsrv_msg *m = NULL;
  memset(&v, 0xa5, sizeof v);
  (void)sipsrv_msg_parse(&m, data, len, flags, &v);
  if (out)
    *out = m;
  else
    sipsrv_msg_free(m);
  return v;
}

static sipsrv_verdict verdict_replaced(int idx, const char *with)
{
  size_t len;
  char *d = build(idx, with, NULL, false, NULL, &len);
  sipsrv_verdict v = verdict_of(d, len, 0, NULL);
  free(d);
  return v;
}

static void expect(sipsrv_verdict v, sipsrv_action action, int status, const char *phrase)
{
  ck_assert_msg(v.action == action && v.status == status,
                "expected action %d status %d, got %d %d (%s)", action, status, v.action,
                v.status, v.phrase);
  if (phrase)
    ck_assert_str_eq(v.phrase, phrase);
}

static sipsrv_msg *parse_ok(const char *data, size_t len)
{
  sipsrv_msg *m = NULL;
  sipsrv_verdict v = verdict_of(data, len, 0, &m);
  ck_assert_msg(v.action == SIPSRV_ACCEPT, "not accepted: %d %s", v.status, v.phrase);
  ck_assert_ptr_nonnull(m);
  return m;
}

static sipsrv_msg *parse_base(void)
{
  size_t len;
  char *d = build(-1, NULL, NULL, false, NULL, &len);
  sipsrv_msg *m = parse_ok(d, len);
  free(d);
  return m;
}

/* ---- verdicts --------------------------------------------------------- */

START_TEST(msg_parse_valid_base)
{
  expect(verdict_replaced(-1, NULL), SIPSRV_ACCEPT, 0, "OK");
}
END_TEST

/* RFC 3261 7.1 / 21.5.7: another version gets 505; the string is case-insensitive. */
START_TEST(msg_parse_version)
{
  expect(verdict_replaced(0, "INVITE sip:bob@biloxi.example.com SIP/3.0"), SIPSRV_REJECT, 505, NULL);
  expect(verdict_replaced(0, "INVITE sip:bob@biloxi.example.com sip/2.0"), SIPSRV_ACCEPT, 0, NULL);
}
END_TEST

/* RFC 3261 8.1.1: To, From, CSeq, Call-ID and Via are mandatory; Max-Forwards
 * may be missing (RFC 4475 3.4.1). */
START_TEST(msg_parse_mandatory)
{
  expect(verdict_replaced(1, NULL), SIPSRV_ACCEPT, 0, NULL);   /* one Via remains */
  expect(verdict_replaced(4, NULL), SIPSRV_REJECT, 400, "Missing To");
  expect(verdict_replaced(5, NULL), SIPSRV_REJECT, 400, "Missing From");
  expect(verdict_replaced(6, NULL), SIPSRV_REJECT, 400, "Missing Call-ID");
  expect(verdict_replaced(7, NULL), SIPSRV_REJECT, 400, "Missing CSeq");
  expect(verdict_replaced(3, NULL), SIPSRV_ACCEPT, 0, NULL);
  {
    /* No Via at all. */
    size_t len;
    char *d = build(1, NULL, NULL, false, NULL, &len);
    char *v2 = strstr(d, "Via: SIP/2.0/TCP");
    char *eol = strstr(v2, "\r\n") + 2;
    memmove(v2, eol, strlen(eol) + 1);
    len -= (size_t)(eol - v2);
    expect(verdict_of(d, len, 0, NULL), SIPSRV_REJECT, 400, "Missing Via");
    free(d);
  }
}
END_TEST

/* RFC 3261 8.1.1.5: CSeq is below 2^31 and names the request's method. */
START_TEST(msg_parse_cseq)
{
  expect(verdict_replaced(7, "CSeq: 2147483647 INVITE"), SIPSRV_ACCEPT, 0, NULL);
  expect(verdict_replaced(7, "CSeq: 2147483648 INVITE"), SIPSRV_REJECT, 400, "CSeq out of range");
  expect(verdict_replaced(7, "CSeq: 99999999999999 INVITE"), SIPSRV_REJECT, 400, "Malformed CSeq");
  expect(verdict_replaced(7, "CSeq: 1 BYE"), SIPSRV_REJECT, 400, "CSeq method does not match");
  expect(verdict_replaced(7, "CSeq: x INVITE"), SIPSRV_REJECT, 400, "Malformed CSeq");
}
END_TEST

/* RFC 4475 3.1.2.18: an unknown method with a mismatched CSeq -> 501. */
START_TEST(msg_parse_cseq_unknown_method)
{
  size_t len;
  char *d = build(0, "FOO sip:bob@biloxi.example.com SIP/2.0", NULL, false, NULL, &len);
  char *cseq = strstr(d, "CSeq: 314159 INVITE");
  expect(verdict_of(d, len, 0, NULL), SIPSRV_REJECT, 501, NULL);
  memcpy(cseq, "CSeq: 314159    FOO", 19);
  expect(verdict_of(d, len, 0, NULL), SIPSRV_ACCEPT, 0, NULL);
  free(d);
}
END_TEST

/* RFC 3261 25.1: a method is any token, digits and + and ` included (RFC
 * 4475 3.1.1.2), which Sofia-SIP refuses on its own. */
START_TEST(msg_parse_token_method)
{
  size_t len;
  char *d0 = build(0, "X9+`Y sip:bob@biloxi.example.com SIP/2.0", NULL, false, NULL, &len);
  char *d = replace(d0, &len, "CSeq: 314159 INVITE", "CSeq: 314159 X9+`Y");
  sipsrv_msg *m;
  char out[4096];
  long n;
  m = parse_ok(d, len);
  ck_assert_str_eq(sipsrv_msg_method_name(m), "X9+`Y");
  ck_assert_int_eq(sipsrv_msg_method(m), SIPSRV_METHOD_OTHER);
  n = sipsrv_msg_serialize(m, out, sizeof out);
  ck_assert_int_eq(n, (long)len);
  ck_assert_int_eq(memcmp(out, d, len), 0);
  sipsrv_msg_free(m);
  free(d);
  free(d0);
  /* Not a token: the request line is malformed. */
  expect(verdict_replaced(0, "IN(VITE sip:bob@biloxi.example.com SIP/2.0"), SIPSRV_REJECT, 400,
         "Malformed Request-Line");
}
END_TEST

/* RFC 4475 3.1.2.4: Max-Forwards is 0-255. */
START_TEST(msg_parse_max_forwards_range)
{
  expect(verdict_replaced(3, "Max-Forwards: 255"), SIPSRV_ACCEPT, 0, NULL);
  expect(verdict_replaced(3, "Max-Forwards: 256"), SIPSRV_REJECT, 400, "Max-Forwards out of range");
}
END_TEST

/* RFC 3261 7.3.1: single-valued headers appear once (RFC 4475 3.3.8). */
START_TEST(msg_parse_repeated_single)
{
  size_t len;
  char *d = build(-1, NULL, "Call-ID: other@x", false, NULL, &len);
  expect(verdict_of(d, len, 0, NULL), SIPSRV_REJECT, 400, "Multiple Call-ID");
  free(d);
  d = build(-1, NULL, "CSeq: 1 INVITE", false, NULL, &len);
  expect(verdict_of(d, len, 0, NULL), SIPSRV_REJECT, 400, "Multiple CSeq");
  free(d);
}
END_TEST

/* RFC 3261 19.1.1: the Request-URI host and port, and no headers component. */
START_TEST(msg_parse_request_uri)
{
  static const char *const bad[] = {
    "INVITE sip:bob@-bad-.example.com SIP/2.0",
    "INVITE sip:bob@example.com:70000 SIP/2.0",
    "INVITE sip:bob@example.com:5x SIP/2.0",
    "INVITE sip:bob@192.0.2.300 SIP/2.0",
    "INVITE sip:@@@:99999999 SIP/2.0",
    "INVITE sip:bob@[2001:db8::zz] SIP/2.0",
    "INVITE <sip:bob@example.com> SIP/2.0",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    sipsrv_verdict v = verdict_replaced(0, bad[i]);
    ck_assert_msg(v.action == SIPSRV_REJECT && v.status == 400, "%s: got %d %d", bad[i],
                  v.action, v.status);
  }
  expect(verdict_replaced(0, "INVITE sip:bob@example.com?Route=%3Csip:x%3E SIP/2.0"),
         SIPSRV_REJECT, 400, "Headers in Request-URI");
  expect(verdict_replaced(0, "INVITE sip:bob@[2001:db8::1]:5070 SIP/2.0"), SIPSRV_ACCEPT, 0, NULL);
  expect(verdict_replaced(0, "INVITE sip:bob@192.0.2.1:5060;transport=tcp SIP/2.0"), SIPSRV_ACCEPT, 0, NULL);
  expect(verdict_replaced(0, "INVITE sip:bob@host-name.example.com. SIP/2.0"), SIPSRV_ACCEPT, 0, NULL);
  expect(verdict_replaced(0, "INVITE tel:+15551234567 SIP/2.0"), SIPSRV_ACCEPT, 0, NULL);
}
END_TEST

/* RFC 3261 18.2.2: responses go to the Via sent-by, so it must be valid. */
START_TEST(msg_parse_via)
{
  expect(verdict_replaced(1, "Via: SIP/2.0/UDP bad_host-.example.com;branch=z9hG4bK1"), SIPSRV_REJECT, 400, "Malformed Via");
  expect(verdict_replaced(1, "Via: SIP/2.0/UDP 192.0.2.1:99999;branch=z9hG4bK1"), SIPSRV_REJECT, 400, "Malformed Via");
  expect(verdict_replaced(1, "Via: SIP/2.0/UDP 192.0.2.1;;,;,,"), SIPSRV_REJECT, 400, "Malformed Via");
  expect(verdict_replaced(1, "Via: SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bK1"), SIPSRV_ACCEPT, 0, NULL);
  /* 20.42, 25.1: the transport is a token, then LWS, then the sent-by.
   * Sofia-SIP reads this one as transport "UDP0[2001:db8::9:1]" and writes
   * it back unparsable (tests/fuzz/fuzz_parse). */
  expect(verdict_replaced(1, "Via: SIP/2.0/UDP0[2001:db8::9:1];branch=z9hG4bK1"), SIPSRV_REJECT, 400,
         "Malformed Via");
  expect(verdict_replaced(1, "Via: SIP / 2.0 / UDP 192.0.2.1;branch=z9hG4bK1"), SIPSRV_ACCEPT, 0, NULL);
  expect(verdict_replaced(1, "Via: SIP/2.0/X-SCTP-7 192.0.2.1;branch=z9hG4bK1"), SIPSRV_ACCEPT, 0, NULL);
}
END_TEST

/* RFC 3261 7.3.1: HCOLON allows no line break before the colon. Sofia-SIP
 * unfolds "l\r\n : 5" into a Content-Length of 5 that the framer never saw
 * (found by tests/fuzz/fuzz_parse): 400 Malformed Content-Length, in a
 * datagram and in a stream. */
START_TEST(msg_parse_cl_colon_folded)
{
  size_t len;
  char *d = build(-1, NULL, "l\r\n : 5", true, NULL, &len);
  expect(verdict_of(d, len, 0, NULL), SIPSRV_REJECT, 400, "Malformed Content-Length");
  expect(verdict_of(d, len, SIPSRV_PARSE_STREAM, NULL), SIPSRV_REJECT, 400, "Malformed Content-Length");
  free(d);
  d = build(-1, NULL, "l : 5", true, NULL, &len);
  expect(verdict_of(d, len, SIPSRV_PARSE_STREAM, NULL), SIPSRV_ACCEPT, 0, NULL);
  free(d);
}
END_TEST

/* RFC 3261 20.34, 25.1 (RFC 3986 2): no URI holds '<', '>', '"' or white
 * space. Sofia-SIP took "tel:UserBr.example.com>" for a route and wrote it
 * back as "<tel:UserBr.example.com>>", which nothing parses (found by
 * tests/fuzz/fuzz_parse after 3.6 M runs). */
START_TEST(msg_parse_uri_chars)
{
  expect(verdict_replaced(10, "Route: p:,tel:UserBr.example.com>"), SIPSRV_REJECT, 400, "Malformed Route");
  expect(verdict_replaced(10, "Route: <sip:p1.example.com;lr>, sip:p2.example.com>"), SIPSRV_REJECT, 400,
         "Malformed Route");
  expect(verdict_replaced(4, "To: sip:bob@biloxi.example.com>"), SIPSRV_REJECT, 400, "Malformed To");
  expect(verdict_replaced(10, "Route: <sip:p1.example.com;lr>, <tel:+1-201-555-0123>"), SIPSRV_ACCEPT, 0,
         NULL);
  expect(verdict_replaced(4, "To: <sip:bob%20x@biloxi.example.com>"), SIPSRV_ACCEPT, 0, NULL);
}
END_TEST

/* RFC 3261 25.1: tag-param = "tag" EQUAL token; a bare tag would give a
 * reply an empty To tag (tests/fuzz/fuzz_parse). */
START_TEST(msg_parse_empty_tag)
{
  sipsrv_msg *m = NULL;
  const char *req = "OPTIONS sip:bob@example.com SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKt1\r\n"
                    "From: <sip:a@example.com>;tag=1\r\n"
                    "To: <sip:bob@example.com>;tag\r\n"
                    "Call-ID: t1@192.0.2.1\r\n"
                    "CSeq: 1 OPTIONS\r\n"
                    "Content-Length: 0\r\n\r\n";
  const char *req2 = "OPTIONS sip:bob@example.com SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKt2\r\n"
                     "From: <sip:a@example.com>;tag=\r\n"
                     "To: <sip:bob@example.com>\r\n"
                     "Call-ID: t2@192.0.2.1\r\n"
                     "CSeq: 1 OPTIONS\r\n"
                     "Content-Length: 0\r\n\r\n";
  sipsrv_verdict v = verdict_of(req, strlen(req), 0, &m);
  ck_assert_int_eq(v.action, SIPSRV_REJECT);
  ck_assert_int_eq(v.status, 400);
  ck_assert_str_eq(v.phrase, "Malformed To");
  sipsrv_msg_free(m);
  m = NULL;
  v = verdict_of(req2, strlen(req2), 0, &m);
  ck_assert_int_eq(v.action, SIPSRV_REJECT);
  ck_assert_str_eq(v.phrase, "Malformed From");
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 18.3: framing by Content-Length. */
START_TEST(msg_parse_content_length)
{
  size_t len;
  char *d;
  sipsrv_msg *m;
  const void *body;
  size_t blen;

  /* Datagram: a larger Content-Length than the datagram -> 400 (RFC 4475 3.1.2.2). */
  d = build(-1, NULL, "Content-Length: 50", true, NULL, &len);
  expect(verdict_of(d, len, 0, NULL), SIPSRV_REJECT, 400, "Content-Length exceeds the message");
  free(d);
  /* Smaller: the rest of the datagram is dropped (RFC 4475 3.1.1.8). */
  d = build(-1, NULL, "Content-Length: 2", true, NULL, &len);
  m = parse_ok(d, len);
  ck_assert_int_eq(sipsrv_msg_body(m, &body, &blen), 0);
  ck_assert_uint_eq(blen, 2);
  ck_assert_int_eq(memcmp(body, "he", 2), 0);
  sipsrv_msg_free(m);
  free(d);
  /* Absent on a datagram: the body is the rest; absent on a stream: 400. */
  d = build(-1, NULL, NULL, true, NULL, &len);
  m = parse_ok(d, len);
  ck_assert_int_eq(sipsrv_msg_body(m, &body, &blen), 0);
  ck_assert_uint_eq(blen, 5);
  sipsrv_msg_free(m);
  expect(verdict_of(d, len, SIPSRV_PARSE_STREAM, NULL), SIPSRV_REJECT, 400, "Missing Content-Length");
  free(d);
  /* Negative, non-numeric, repeated: 400 (RFC 4475 3.1.2.3, 3.3.9). */
  d = build(-1, NULL, "Content-Length: -5", true, NULL, &len);
  expect(verdict_of(d, len, 0, NULL), SIPSRV_REJECT, 400, "Malformed Content-Length");
  free(d);
  d = build(-1, NULL, "l: 5", false, NULL, &len);
  expect(verdict_of(d, len, 0, NULL), SIPSRV_REJECT, 400, "Multiple Content-Length");
  free(d);
}
END_TEST

/* RFC 3261 25.1: a NUL may only be escaped in a quoted string. */
START_TEST(msg_parse_nul)
{
  size_t len;
  char *d = build(-1, NULL, "Subject: a", false, NULL, &len);
  char *subj = strstr(d, "Subject: a");
  sipsrv_msg *m;
  subj[9] = '\0';
  expect(verdict_of(d, len, 0, NULL), SIPSRV_REJECT, 400, "NUL octet in header");
  free(d);
  /* Escaped in a display name: accepted, and the bytes go out unchanged. */
  d = build(4, "To: \"B\\?b\" <sip:bob@biloxi.example.com>", NULL, false, NULL, &len);
  strstr(d, "\\?b")[1] = '\0';
  m = parse_ok(d, len);
  {
    char out[4096];
    long n = sipsrv_msg_serialize(m, out, sizeof out);
    ck_assert_int_eq(n, (long)len);
    ck_assert_int_eq(memcmp(out, d, len), 0);
  }
  sipsrv_msg_free(m);
  free(d);
}
END_TEST

/* RFC 4475 3.1.2.12: a malformed Date is ignored, not rejected. */
START_TEST(msg_parse_bad_date_ignored)
{
  size_t len;
  char *d = build(-1, NULL, "Date: Fri, 01 Jan 2010 16:00:00 EST", false, NULL, &len);
  expect(verdict_of(d, len, 0, NULL), SIPSRV_ACCEPT, 0, NULL);
  free(d);
}
END_TEST

/* RFC 3261 7.5 / RFC 5626 3.5.1: CRLFs before the start line. */
START_TEST(msg_parse_leading_crlf)
{
  size_t len;
  char *d = build(-1, NULL, NULL, false, NULL, &len);
  char *d2 = malloc(len + 4);
  sipsrv_msg *m = NULL;
  sipsrv_verdict v;
  memcpy(d2, "\r\n\r\n", 4);
  memcpy(d2 + 4, d, len);
  expect(verdict_of(d2, len + 4, 0, NULL), SIPSRV_ACCEPT, 0, NULL);
  ck_assert_int_eq(sipsrv_msg_parse(&m, "\r\n\r\n", 4, 0, &v), SIPSRV_E_PARSE);
  ck_assert_ptr_null(m);
  ck_assert_int_eq(v.action, SIPSRV_DROP);
  free(d2);
  free(d);
}
END_TEST

/* Responses: anything wrong is dropped, never answered (RFC 4475 3.1.2.5, 3.1.2.19). */
START_TEST(msg_parse_response)
{
  const char *ok = "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
                   "To: <sip:b@x>;tag=2\r\nFrom: <sip:a@x>;tag=1\r\nCall-ID: c\r\n"
                   "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
  char buf[1024];
  sipsrv_msg *m;

  m = parse_ok(ok, strlen(ok));
  ck_assert_int_eq(sipsrv_msg_status(m), 180);
  ck_assert_str_eq(sipsrv_msg_phrase(m), "Ringing");
  ck_assert_int_eq(sipsrv_msg_is_request(m), 0);
  ck_assert_int_eq(sipsrv_msg_method(m), SIPSRV_METHOD_INVITE);
  sipsrv_msg_free(m);

  snprintf(buf, sizeof buf, "%s", ok);
  memcpy(buf + 8, "099", 3);
  expect(verdict_of(buf, strlen(buf), 0, NULL), SIPSRV_DROP, 0, NULL);
  memcpy(buf + 8, "700", 3);
  expect(verdict_of(buf, strlen(buf), 0, NULL), SIPSRV_DROP, 0, NULL);
  snprintf(buf, sizeof buf, "%s", ok);
  memcpy(strstr(buf, "CSeq: 1 "), "CSeq: x ", 8);
  expect(verdict_of(buf, strlen(buf), 0, NULL), SIPSRV_DROP, 0, NULL);
  snprintf(buf, sizeof buf, "%s", ok);
  memcpy(buf, "SIP/3.0", 7);
  expect(verdict_of(buf, strlen(buf), 0, NULL), SIPSRV_DROP, 0, NULL);
  snprintf(buf, sizeof buf, "%s", ok);
  memcpy(strstr(buf, "Call-ID: c"), "X-Call-I: c", 10);
  expect(verdict_of(buf, strlen(buf), 0, NULL), SIPSRV_DROP, 0, NULL);
}
END_TEST

START_TEST(msg_parse_limits_and_args)
{
  sipsrv_msg *m = (sipsrv_msg *)1;
  sipsrv_verdict v;
  char *big = calloc(1, SIPSRV_MSG_MAX_DEFAULT + 2);
  ck_assert_int_eq(sipsrv_msg_parse(&m, big, SIPSRV_MSG_MAX_DEFAULT + 1, 0, &v), SIPSRV_E_TOOBIG);
  ck_assert_ptr_null(m);
  ck_assert_int_eq(v.action, SIPSRV_DROP);
  free(big);
  ck_assert_int_eq(sipsrv_msg_parse(NULL, "x", 1, 0, &v), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_parse(&m, "x", 1, 0, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_parse(&m, NULL, 1, 0, &v), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_parse(&m, "garbage", 7, 0, &v), SIPSRV_E_PARSE);
  ck_assert_int_ne(v.action, SIPSRV_ACCEPT);
  sipsrv_msg_free(NULL);
}
END_TEST

/* Random damage never crashes, leaks or accepts an unanswerable request. */
START_TEST(msg_parse_mutations)
{
  size_t len;
  char *d = build(-1, NULL, NULL, false, NULL, &len);
  char *c = malloc(len);
  unsigned seed = 12345;
  for (int round = 0; round < 3000; round++) {
    sipsrv_msg *m = NULL;
    sipsrv_verdict v;
    int rc;
    memcpy(c, d, len);
    for (int k = 0; k < 1 + round % 4; k++) {
      seed = seed * 1103515245u + 12345u;
      c[(seed >> 8) % len] = (char)(seed >> 20);
    }
    rc = sipsrv_msg_parse(&m, c, len - (round % 7 == 0 ? (seed >> 4) % len : 0), 0, &v);
    ck_assert(rc == 0 || rc == SIPSRV_E_PARSE);
    ck_assert(v.action == SIPSRV_ACCEPT || v.action == SIPSRV_REJECT || v.action == SIPSRV_DROP);
    if (m && v.action == SIPSRV_REJECT) {
      sipsrv_msg *r = NULL;
      if (sipsrv_msg_reply_verdict(&r, m, &v) == 0) {
        char out[8192];
        ck_assert_int_gt(sipsrv_msg_serialize(r, out, sizeof out), 0);
        sipsrv_msg_free(r);
      }
    }
    if (m && v.action == SIPSRV_ACCEPT && sipsrv_msg_is_request(m)) {
      sipsrv_msg *r = NULL;
      ck_assert_int_eq(sipsrv_msg_reply(&r, m, 200, NULL, NULL), 0);
      sipsrv_msg_free(r);
    }
    sipsrv_msg_free(m);
  }
  free(c);
  free(d);
}
END_TEST

/* Found by fuzzing (tests/fuzz): a CSeq method Sofia-SIP refuses in a
 * response; an answer to an A+B request must parse (RFC 3261 8.1.1.5). */
START_TEST(msg_parse_response_token_method)
{
  size_t len;
  char *d0 = build(0, "A+B sip:bob@biloxi.example.com SIP/2.0", NULL, false, NULL, &len);
  char *d = replace(d0, &len, "CSeq: 314159 INVITE", "CSeq: 314159 A+B");
  sipsrv_msg *m = parse_ok(d, len), *r, *back;
  char out[4096];
  long n;
  const char *cm;
  ck_assert_int_eq(sipsrv_msg_reply(&r, m, 200, NULL, NULL), 0);
  n = sipsrv_msg_serialize(r, out, sizeof out);
  back = parse_ok(out, (size_t)n);
  ck_assert_int_eq(sipsrv_msg_cseq(back, NULL, &cm), 0);
  ck_assert_str_eq(cm, "A+B");
  ck_assert_str_eq(sipsrv_msg_method_name(back), "A+B");
  sipsrv_msg_free(back);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
  free(d);
  free(d0);
}
END_TEST

/* RFC 3261 7: the empty line ends the headers. A datagram that lacks it is
 * read to its end, and what goes out again is a whole message. */
START_TEST(msg_parse_unterminated_datagram)
{
  static const char *const cut[] = { "", "\r\n" };
  for (size_t k = 0; k < 2; k++) {
    char d[512], out[1024];
    sipsrv_msg *m, *back;
    long n;
    int len = snprintf(d, sizeof d,
                       "OPTIONS sip:b@example.org SIP/2.0\r\nVia: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
                       "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.org>\r\nCall-ID: c1\r\n"
                       "CSeq: 1 OPTIONS%s", cut[k]);
    m = parse_ok(d, (size_t)len);
    ck_assert_int_eq(sipsrv_msg_max_forwards_dec(m), 70);
    n = sipsrv_msg_serialize(m, out, sizeof out);
    ck_assert_int_gt(n, 4);
    ck_assert_int_eq(memcmp(out + n - 4, "\r\n\r\n", 4), 0);
    back = parse_ok(out, (size_t)n);
    ck_assert_int_eq(sipsrv_msg_max_forwards(back), 70);
    ck_assert_int_eq(sipsrv_msg_cseq(back, NULL, NULL), 0);
    sipsrv_msg_free(back);
    sipsrv_msg_free(m);
  }
}
END_TEST

/* RFC 3261 7: lines end with CRLF. A bare CR is a line end to some parsers
 * and not to others, which would let a request hide another (found by
 * fuzzing): 400, on datagrams and streams alike. A CRLF before a folded line
 * stays fine. */
START_TEST(msg_parse_bare_cr)
{
  size_t len;
  char *d = build(-1, NULL, "X-A: b\rX-B: c", false, NULL, &len);
  sipsrv_framer *f;
  sipsrv_frame fr;
  expect(verdict_of(d, len, 0, NULL), SIPSRV_REJECT, 400, "Bare CR in header");
  ck_assert_int_eq(sipsrv_framer_new(&f, 0), 0);
  ck_assert_int_eq(sipsrv_framer_feed(f, d, len), 0);
  ck_assert_int_eq(sipsrv_framer_next(f, &fr), 0);
  ck_assert_int_eq(fr.kind, SIPSRV_FRAME_ERROR);
  ck_assert_int_eq(fr.status, 400);
  ck_assert_str_eq(fr.phrase, "Bare CR in header");
  sipsrv_framer_free(f);
  free(d);
  /* An unterminated datagram ending in CR. */
  d = build(-1, NULL, NULL, false, "", &len);
  d[len - 3] = 'x';                        /* "...: 0\r\n\r\n" -> "...: 0\r\nx\r" */
  d[len - 2] = '\r';
  len--;
  expect(verdict_of(d, len, 0, NULL), SIPSRV_REJECT, 400, "Bare CR in header");
  free(d);
  d = build(-1, NULL, "Subject: folded\r\n over two lines", false, NULL, &len);
  expect(verdict_of(d, len, 0, NULL), SIPSRV_ACCEPT, 0, NULL);
  free(d);
}
END_TEST

/* RFC 3261 19.1.1: a SIP URI has no path; Sofia-SIP would print "h/x" back
 * as "hx", another host (found by fuzzing). */
START_TEST(msg_parse_sip_uri_path)
{
  expect(verdict_replaced(0, "INVITE sip:bob@biloxi.example.com/x SIP/2.0"), SIPSRV_REJECT, 400,
         "Malformed Request-URI");
  expect(verdict_replaced(4, "To: sip:bob@biloxi.example.com:/x"), SIPSRV_REJECT, 400, "Malformed To");
  expect(verdict_replaced(5, "From: <sip:alice@a.example.com/x>;tag=1"), SIPSRV_REJECT, 400, "Malformed From");
  expect(verdict_replaced(8, "Contact: <sip:alice@pc33.example.com/x>"), SIPSRV_REJECT, 400, "Malformed Contact");
  expect(verdict_replaced(10, "Route: <sip:p1.example.com/x;lr>"), SIPSRV_REJECT, 400, "Malformed Route");
  expect(verdict_replaced(8, "Contact: *"), SIPSRV_ACCEPT, 0, NULL);
}
END_TEST

/* What RFC 3261 25.1 requires of the headers a request is processed by. */
START_TEST(msg_parse_header_values)
{
  expect(verdict_replaced(6, "Call-ID: "), SIPSRV_REJECT, 400, NULL);
  expect(verdict_replaced(5, "From: 2"), SIPSRV_REJECT, 400, NULL);
  expect(verdict_replaced(1, "Via: FOO/9/XYZ pc33.atlanta.example.com;branch=z9hG4bK1"), SIPSRV_REJECT, 400,
         "Malformed Via");
  expect(verdict_replaced(0, "INVITE @ SIP/2.0"), SIPSRV_REJECT, 400, NULL);
  /* Unknown schemes in To and From are fine at parse (RFC 4475 3.3.4). */
  expect(verdict_replaced(4, "To: <name:bob>"), SIPSRV_ACCEPT, 0, NULL);
}
END_TEST

/* ---- sipsrv_msg_check -------------------------------------------------- */

/* RFC 3261 8.2.2.1 / 16.3 step 2: unknown schemes -> 416. */
START_TEST(msg_check_scheme)
{
  size_t len;
  char *d = build(0, "INVITE im:bob@biloxi.example.com SIP/2.0", NULL, false, NULL, &len);
  sipsrv_msg *m = parse_ok(d, len);
  sipsrv_verdict v;
  static const char *const with_im[] = { "sip", "im", NULL };
  sipsrv_check_cfg cfg = SIPSRV_CHECK_CFG_INIT;
  ck_assert_int_eq(sipsrv_msg_check(m, NULL, &v), 0);
  expect(v, SIPSRV_REJECT, 416, NULL);
  cfg.schemes = with_im;
  ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
  expect(v, SIPSRV_ACCEPT, 0, NULL);
  sipsrv_msg_free(m);
  free(d);
  m = parse_base();
  ck_assert_int_eq(sipsrv_msg_check(m, NULL, &v), 0);
  expect(v, SIPSRV_ACCEPT, 0, NULL);
  ck_assert_int_eq(sipsrv_msg_check(NULL, NULL, &v), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_check(m, NULL, NULL), SIPSRV_E_INVAL);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 16.3 step 3: Max-Forwards 0 -> 483 when forwarding. */
START_TEST(msg_check_max_forwards)
{
  size_t len;
  char *d = build(3, "Max-Forwards: 0", NULL, false, NULL, &len);
  sipsrv_msg *m = parse_ok(d, len);
  sipsrv_verdict v;
  sipsrv_check_cfg cfg = SIPSRV_CHECK_CFG_INIT;
  cfg.flags = SIPSRV_CHECK_MAX_FORWARDS;
  ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
  expect(v, SIPSRV_REJECT, 483, "Too Many Hops");
  ck_assert_int_eq(sipsrv_msg_check(m, NULL, &v), 0);
  expect(v, SIPSRV_ACCEPT, 0, NULL);
  sipsrv_msg_free(m);
  free(d);
}
END_TEST

/* RFC 3261 8.2.2.3 and 16.3 step 5: unknown required tags -> 420; supported
 * tags pass; ACK and CANCEL are never rejected for Require. */
START_TEST(msg_check_require)
{
  static const char *const supported[] = { "100rel", "path", NULL };
  size_t len;
  char *d = build(-1, NULL, "Require: 100rel, foo\r\nProxy-Require: path", false, NULL, &len);
  sipsrv_msg *m = parse_ok(d, len);
  sipsrv_verdict v;
  sipsrv_check_cfg cfg = SIPSRV_CHECK_CFG_INIT;
  cfg.supported = supported;
  cfg.flags = SIPSRV_CHECK_REQUIRE;
  ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
  expect(v, SIPSRV_REJECT, 420, "Bad Extension");
  ck_assert_str_eq(v.header, "Unsupported: foo");
  cfg.flags = SIPSRV_CHECK_PROXY_REQUIRE;
  ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
  expect(v, SIPSRV_ACCEPT, 0, NULL);
  cfg.supported = NULL;
  ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
  expect(v, SIPSRV_REJECT, 420, NULL);
  ck_assert_str_eq(v.header, "Unsupported: path");
  {
    sipsrv_msg *r;
    char out[4096];
    long n;
    ck_assert_int_eq(sipsrv_msg_reply_verdict(&r, m, &v), 0);
    n = sipsrv_msg_serialize(r, out, sizeof out - 1);
    out[n] = '\0';
    ck_assert_ptr_nonnull(strstr(out, "SIP/2.0 420 Bad Extension\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nUnsupported: path\r\n"));
    sipsrv_msg_free(r);
  }
  sipsrv_msg_free(m);
  free(d);

  d = build(0, "ACK sip:bob@biloxi.example.com SIP/2.0", "Require: foo", false, NULL, &len);
  memcpy(strstr(d, "CSeq: 314159 INVITE"), "CSeq: 314159    ACK", 19);
  m = parse_ok(d, len);
  cfg.flags = SIPSRV_CHECK_REQUIRE;
  ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
  expect(v, SIPSRV_ACCEPT, 0, NULL);
  sipsrv_msg_free(m);
  free(d);
}
END_TEST

/* RFC 3261 8.2.1: a method the UAS does not implement -> 405 with Allow; one
 * nobody knows -> 501 with Allow; ACK is never answered. */
START_TEST(msg_check_method)
{
  static const char *const methods[] = { "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", NULL };
  sipsrv_check_cfg cfg = SIPSRV_CHECK_CFG_INIT;
  sipsrv_verdict v;
  size_t len;
  char *d0, *d;
  sipsrv_msg *m;

  cfg.methods = methods;
  m = parse_base();
  ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
  expect(v, SIPSRV_ACCEPT, 0, NULL);
  sipsrv_msg_free(m);

  d0 = build(0, "REGISTER sip:biloxi.example.com SIP/2.0", NULL, false, NULL, &len);
  d = replace(d0, &len, "CSeq: 314159 INVITE", "CSeq: 314159 REGISTER");
  m = parse_ok(d, len);
  ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
  expect(v, SIPSRV_REJECT, 405, "Method Not Allowed");
  ck_assert_str_eq(v.header, "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS");
  {
    sipsrv_msg *r;
    char out[4096];
    long n;
    ck_assert_int_eq(sipsrv_msg_reply_verdict(&r, m, &v), 0);
    n = sipsrv_msg_serialize(r, out, sizeof out - 1);
    out[n] = '\0';
    ck_assert_ptr_nonnull(strstr(out, "SIP/2.0 405 Method Not Allowed\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nAllow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n"));
    sipsrv_msg_free(r);
  }
  sipsrv_msg_free(m);
  free(d);
  free(d0);

  d0 = build(0, "FROB sip:bob@biloxi.example.com SIP/2.0", NULL, false, NULL, &len);
  d = replace(d0, &len, "CSeq: 314159 INVITE", "CSeq: 314159 FROB");
  m = parse_ok(d, len);
  ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
  expect(v, SIPSRV_REJECT, 501, "Not Implemented");
  ck_assert_str_eq(v.header, "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS");
  sipsrv_msg_free(m);
  free(d);
  free(d0);

  {
    static const char *const invite_only[] = { "INVITE", NULL };
    cfg.methods = invite_only;
    d0 = build(0, "ACK sip:bob@biloxi.example.com SIP/2.0", NULL, false, NULL, &len);
    d = replace(d0, &len, "CSeq: 314159 INVITE", "CSeq: 314159 ACK");
    m = parse_ok(d, len);
    ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
    expect(v, SIPSRV_ACCEPT, 0, NULL);
    sipsrv_msg_free(m);
    free(d);
    free(d0);
  }
}
END_TEST

/* RFC 3261 8.2.3: a body the UAS cannot take -> 415 with Accept (type) or
 * Accept-Encoding (coding). */
START_TEST(msg_check_content)
{
  static const char *const text_any[] = { "application/sdp", "text/*", NULL };
  static const char *const any[] = { "*/*", NULL };
  static const char *const gzip[] = { "gzip", NULL };
  sipsrv_check_cfg cfg = SIPSRV_CHECK_CFG_INIT;
  sipsrv_verdict v;
  size_t len;
  char *d;
  sipsrv_msg *m = parse_base();        /* Content-Type: text/plain, body "hello" */

  cfg.flags = SIPSRV_CHECK_CONTENT;
  ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
  expect(v, SIPSRV_REJECT, 415, "Unsupported Media Type");
  ck_assert_str_eq(v.header, "Accept: application/sdp");
  cfg.accept = text_any;
  ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
  expect(v, SIPSRV_ACCEPT, 0, NULL);
  cfg.accept = any;
  ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
  expect(v, SIPSRV_ACCEPT, 0, NULL);
  /* Without the flag nothing about the body is checked. */
  cfg.flags = 0;
  cfg.accept = NULL;
  ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
  expect(v, SIPSRV_ACCEPT, 0, NULL);
  sipsrv_msg_free(m);

  d = build(-1, NULL, "Content-Encoding: gzip", false, NULL, &len);
  m = parse_ok(d, len);
  cfg.flags = SIPSRV_CHECK_CONTENT;
  cfg.accept = any;
  ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
  expect(v, SIPSRV_REJECT, 415, NULL);
  ck_assert_str_eq(v.header, "Accept-Encoding: identity");
  cfg.accept_encoding = gzip;
  ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
  expect(v, SIPSRV_ACCEPT, 0, NULL);
  sipsrv_msg_free(m);
  free(d);

  /* No body: nothing to refuse. */
  d = build(13, NULL, NULL, false, "", &len);
  m = parse_ok(d, len);
  cfg.accept = NULL;
  cfg.accept_encoding = NULL;
  ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
  expect(v, SIPSRV_ACCEPT, 0, NULL);
  sipsrv_msg_free(m);
  free(d);
}
END_TEST

/* RFC 3261 20.15: a body without Content-Type is malformed. */
START_TEST(msg_parse_body_needs_type)
{
  expect(verdict_replaced(13, NULL), SIPSRV_REJECT, 400, "Missing Content-Type");
}
END_TEST

/* ---- fields ------------------------------------------------------------ */

START_TEST(msg_fields_request)
{
  sipsrv_msg *m = parse_base();
  sipsrv_uri u;
  sipsrv_via via;
  sipsrv_addr a;
  uint32_t seq, exp;
  const char *meth, *val;
  char buf[256];
  const void *body;
  size_t blen;

  ck_assert_int_eq(sipsrv_msg_is_request(m), 1);
  ck_assert_int_eq(sipsrv_msg_method(m), SIPSRV_METHOD_INVITE);
  ck_assert_str_eq(sipsrv_msg_method_name(m), "INVITE");
  ck_assert_int_eq(sipsrv_msg_status(m), 0);
  ck_assert_ptr_null(sipsrv_msg_phrase(m));

  ck_assert_int_eq(sipsrv_msg_request_uri(m, &u), 0);
  ck_assert_str_eq(u.scheme, "sip");
  ck_assert_str_eq(u.user, "bob");
  ck_assert_str_eq(u.host, "biloxi.example.com");
  ck_assert_ptr_null(u.port);
  ck_assert_int_eq(sipsrv_msg_request_uri_str(m, buf, sizeof buf), 26);
  ck_assert_str_eq(buf, "sip:bob@biloxi.example.com");
  /* Truncation returns the whole length, like snprintf. */
  ck_assert_int_eq(sipsrv_msg_request_uri_str(m, buf, 5), 26);
  ck_assert_str_eq(buf, "sip:");
  ck_assert_int_eq(sipsrv_msg_request_uri_str(m, NULL, 0), 26);

  ck_assert_int_eq(sipsrv_msg_via_count(m), 2);
  ck_assert_int_eq(sipsrv_msg_via(m, 0, &via), 0);
  ck_assert_str_eq(via.protocol, "SIP/2.0/UDP");
  ck_assert_str_eq(via.transport, "UDP");
  ck_assert_str_eq(via.host, "pc33.atlanta.example.com");
  ck_assert_str_eq(via.port, "5060");
  ck_assert_str_eq(via.branch, "z9hG4bK776asdhds");
  ck_assert_str_eq(via.rport, "");
  ck_assert_ptr_null(via.received);
  ck_assert_int_eq(sipsrv_msg_via(m, 1, &via), 0);
  ck_assert_str_eq(via.transport, "TCP");
  ck_assert_str_eq(via.received, "192.0.2.5");
  ck_assert_ptr_null(via.rport);
  ck_assert_int_eq(sipsrv_msg_via(m, 2, &via), SIPSRV_E_NOTFOUND);

  ck_assert_int_eq(sipsrv_msg_from(m, &a), 0);
  ck_assert_str_eq(a.display, "\"Alice\"");
  ck_assert_str_eq(a.uri.user, "alice");
  ck_assert_str_eq(a.tag, "1928301774");
  ck_assert_int_eq(sipsrv_msg_to(m, &a), 0);
  ck_assert_str_eq(a.display, "Bob");
  ck_assert_ptr_null(a.tag);

  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_CONTACT, 0, &a), 0);
  ck_assert_str_eq(a.uri.host, "pc33.atlanta.example.com");
  ck_assert_int_eq(sipsrv_param_find(a.params, "expires", &val), 0);
  ck_assert_str_eq(val, "60");
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_CONTACT, 1, &a), 0);
  ck_assert_int_eq(sipsrv_param_find(a.params, "Q", &val), 0);
  ck_assert_str_eq(val, "0.5");
  ck_assert_int_eq(sipsrv_param_find(a.params, "expires", &val), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_CONTACT, 2, &a), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_ROUTE, 1, &a), 0);
  ck_assert_str_eq(a.uri.host, "p2.example.com");
  ck_assert_str_eq(a.uri.params, "lr");
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_RECORD_ROUTE, 0, &a), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_PATH, 0, &a), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_msg_addr(m, (sipsrv_addr_hdr)99, 0, &a), SIPSRV_E_INVAL);

  ck_assert_str_eq(sipsrv_msg_call_id(m), "a84b4c76e66710@pc33.atlanta.example.com");
  ck_assert_int_eq(sipsrv_msg_cseq(m, &seq, &meth), 0);
  ck_assert_uint_eq(seq, 314159);
  ck_assert_str_eq(meth, "INVITE");
  ck_assert_int_eq(sipsrv_msg_max_forwards(m), 70);
  ck_assert_int_eq(sipsrv_msg_expires(m, &exp), 0);
  ck_assert_uint_eq(exp, 3600);
  ck_assert_int_eq(sipsrv_msg_body(m, &body, &blen), 0);
  ck_assert_uint_eq(blen, 5);
  ck_assert_int_eq(memcmp(body, BODY, 5), 0);

  /* Any header by name, compact form, or unknown; each line is one field. */
  ck_assert_int_eq(sipsrv_msg_header(m, "x-custom", 0, buf, sizeof buf), 3);
  ck_assert_str_eq(buf, "one");
  ck_assert_int_eq(sipsrv_msg_header(m, "X-CUSTOM", 1, buf, sizeof buf), 3);
  ck_assert_str_eq(buf, "two");
  ck_assert_int_eq(sipsrv_msg_header(m, "X-Custom", 2, buf, sizeof buf), SIPSRV_E_NOTFOUND);
  ck_assert_int_gt(sipsrv_msg_header(m, "c", 0, buf, sizeof buf), 0);
  ck_assert_str_eq(buf, "text/plain");
  ck_assert_int_gt(sipsrv_msg_header(m, "Max-Forwards", 0, buf, sizeof buf), 0);
  ck_assert_str_eq(buf, "70");
  ck_assert_int_eq(sipsrv_msg_header(m, "Subject", 0, buf, sizeof buf), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_msg_header(m, "", 0, buf, sizeof buf), SIPSRV_E_INVAL);
  sipsrv_msg_free(m);
}
END_TEST

/* Every accessor takes NULL without crashing. */
START_TEST(msg_fields_null_args)
{
  sipsrv_uri u;
  sipsrv_via via;
  sipsrv_addr a;
  uint32_t x;
  const void *b;
  size_t bl;
  char buf[8];
  sipsrv_msg *m = parse_base();

  ck_assert_int_eq(sipsrv_msg_is_request(NULL), 0);
  ck_assert_int_eq(sipsrv_msg_method(NULL), SIPSRV_METHOD_NONE);
  ck_assert_ptr_null(sipsrv_msg_method_name(NULL));
  ck_assert_int_eq(sipsrv_msg_status(NULL), 0);
  ck_assert_ptr_null(sipsrv_msg_phrase(NULL));
  ck_assert_int_eq(sipsrv_msg_request_uri(NULL, &u), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_request_uri(m, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_request_uri_str(NULL, buf, sizeof buf), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_request_uri_str(m, NULL, 5), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_via_count(NULL), 0);
  ck_assert_int_eq(sipsrv_msg_via(NULL, 0, &via), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_via(m, -1, &via), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_via(m, 0, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_from(NULL, &a), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_to(m, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_addr(NULL, SIPSRV_HDR_CONTACT, 0, &a), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_CONTACT, -1, &a), SIPSRV_E_INVAL);
  ck_assert_ptr_null(sipsrv_msg_call_id(NULL));
  ck_assert_int_eq(sipsrv_msg_cseq(NULL, &x, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_max_forwards(NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_expires(NULL, &x), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_expires(m, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_body(NULL, &b, &bl), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_body(m, NULL, &bl), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_header(NULL, "To", 0, buf, sizeof buf), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_header(m, NULL, 0, buf, sizeof buf), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_header(m, "To", -1, buf, sizeof buf), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_param_find(NULL, "x", NULL), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_param_find(NULL, NULL, NULL), SIPSRV_E_INVAL);
  sipsrv_msg_free(m);
}
END_TEST

/* The opt-in <sipsrv/sofia.h> hands out the parsed Sofia-SIP objects. */
START_TEST(msg_fields_sofia_optin)
{
  sipsrv_msg *m = parse_base();
  sip_t *sip = sipsrv_msg_sip(m);
  ck_assert_ptr_nonnull(sip);
  ck_assert_ptr_nonnull(sip->sip_call_id);
  ck_assert_str_eq(sip->sip_call_id->i_id, sipsrv_msg_call_id(m));
  ck_assert_ptr_eq((sip_t *)msg_object(sipsrv_msg_sofia(m)), sip);
  ck_assert_ptr_null(sipsrv_msg_sip(NULL));
  ck_assert_ptr_null(sipsrv_msg_sofia(NULL));
  sipsrv_msg_free(m);
}
END_TEST

/* A request with a broken request line still yields the headers to answer. */
START_TEST(msg_fields_bad_request_line_answerable)
{
  size_t len;
  char *d = build(0, "INVITE sip:bob@biloxi.example.com; lr SIP/2.0", NULL, false, NULL, &len);
  sipsrv_msg *m = NULL;
  sipsrv_verdict v = verdict_of(d, len, 0, &m);
  sipsrv_msg *r;
  sipsrv_addr a;
  expect(v, SIPSRV_REJECT, 400, NULL);
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(sipsrv_msg_reply_verdict(&r, m, &v), 0);
  ck_assert_int_eq(sipsrv_msg_status(r), 400);
  ck_assert_int_eq(sipsrv_msg_via_count(r), 2);
  ck_assert_int_eq(sipsrv_msg_to(r, &a), 0);
  ck_assert_ptr_nonnull(a.tag);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
  free(d);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("msg");
  TCase *tc;

  tc = tcase_create("parse");
  tcase_add_test(tc, msg_parse_valid_base);
  tcase_add_test(tc, msg_parse_version);
  tcase_add_test(tc, msg_parse_mandatory);
  tcase_add_test(tc, msg_parse_cseq);
  tcase_add_test(tc, msg_parse_cseq_unknown_method);
  tcase_add_test(tc, msg_parse_token_method);
  tcase_add_test(tc, msg_parse_max_forwards_range);
  tcase_add_test(tc, msg_parse_repeated_single);
  tcase_add_test(tc, msg_parse_request_uri);
  tcase_add_test(tc, msg_parse_via);
  tcase_add_test(tc, msg_parse_empty_tag);
  tcase_add_test(tc, msg_parse_uri_chars);
  tcase_add_test(tc, msg_parse_cl_colon_folded);
  tcase_add_test(tc, msg_parse_content_length);
  tcase_add_test(tc, msg_parse_nul);
  tcase_add_test(tc, msg_parse_bad_date_ignored);
  tcase_add_test(tc, msg_parse_leading_crlf);
  tcase_add_test(tc, msg_parse_response);
  tcase_add_test(tc, msg_parse_limits_and_args);
  tcase_add_test(tc, msg_parse_body_needs_type);
  tcase_add_test(tc, msg_parse_response_token_method);
  tcase_add_test(tc, msg_parse_unterminated_datagram);
  tcase_add_test(tc, msg_parse_bare_cr);
  tcase_add_test(tc, msg_parse_sip_uri_path);
  tcase_add_test(tc, msg_parse_header_values);
  tcase_add_test(tc, msg_parse_mutations);
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);

  tc = tcase_create("check");
  tcase_add_test(tc, msg_check_scheme);
  tcase_add_test(tc, msg_check_max_forwards);
  tcase_add_test(tc, msg_check_require);
  tcase_add_test(tc, msg_check_method);
  tcase_add_test(tc, msg_check_content);
  suite_add_tcase(s, tc);

  tc = tcase_create("fields");
  tcase_add_test(tc, msg_fields_request);
  tcase_add_test(tc, msg_fields_null_args);
  tcase_add_test(tc, msg_fields_sofia_optin);
  tcase_add_test(tc, msg_fields_bad_request_line_answerable);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return harness_run(suite());
}
