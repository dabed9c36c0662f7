/* Tests of the stream framer (sipsrv/framer.h): framing by Content-Length
 * (RFC 3261 18.3), CRLFs before a start line (RFC 3261 7.5), CRLFCRLF
 * keep-alive pings (RFC 5626 4.4.1) and the error frame when framing is lost
 * (RFC 4475 3.1.2.3 ncl, 3.3.9 mcl01). */
#include <check.h>
#include <sipsrv/sipsrv.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A valid request with an empty body. */
static const char BASE[] =
  "OPTIONS sip:bob@example.com SIP/2.0\r\n"
  "Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK776\r\n"
  "Max-Forwards: 70\r\n"
  "To: <sip:bob@example.com>\r\n"
  "From: <sip:alice@example.com>;tag=1928\r\n"
  "Call-ID: a84b4c76e66710\r\n"
  "CSeq: 63104 OPTIONS\r\n"
  "Content-Length: 0\r\n"
  "\r\n";

/* BASE without its Content-Length and the empty line. */
static const char HEAD_NO_CL[] =
  "OPTIONS sip:bob@example.com SIP/2.0\r\n"
  "Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK776\r\n"
  "Max-Forwards: 70\r\n"
  "To: <sip:bob@example.com>\r\n"
  "From: <sip:alice@example.com>;tag=1928\r\n"
  "Call-ID: a84b4c76e66710\r\n"
  "CSeq: 63104 OPTIONS\r\n";

#define BASE_LEN (sizeof BASE - 1)
#define MSG_BUF 4096

/* ---- helpers ------------------------------------------------------------ */

/* Build HEAD_NO_CL + cl_lines (may be NULL: no Content-Length) + CRLF + body
 * into buf; returns the whole length and the header section length in *head. */
static size_t make_msg(char *buf, size_t size, const char *cl_lines, const void *body,
                       size_t body_len, size_t *head)
{
  size_t n = 0, l;

  l = strlen(HEAD_NO_CL);
  ck_assert_uint_lt(l, size);
  memcpy(buf, HEAD_NO_CL, l);
  n = l;
  if (cl_lines) {
    l = strlen(cl_lines);
    ck_assert_uint_lt(n + l, size);
    memcpy(buf + n, cl_lines, l);
    n += l;
  }
  ck_assert_uint_lt(n + 2 + body_len, size);
  memcpy(buf + n, "\r\n", 2);
  n += 2;
  if (head)
    *head = n;
  if (body_len)
    memcpy(buf + n, body, body_len);
  return n + body_len;
}

static sipsrv_framer *framer(size_t max)
{
  sipsrv_framer *f = NULL;
  ck_assert_int_eq(sipsrv_framer_new(&f, max), 0);
  ck_assert_ptr_nonnull(f);
  return f;
}

/* Expect the next frame to be a MESSAGE holding exactly data[0..len). */
static void expect_message(sipsrv_framer *f, const void *data, size_t len)
{
  sipsrv_frame fr;
  memset(&fr, 0, sizeof fr);
  ck_assert_int_eq(sipsrv_framer_next(f, &fr), 0);
  ck_assert_int_eq(fr.kind, SIPSRV_FRAME_MESSAGE);
  ck_assert_uint_eq(fr.len, len);
  ck_assert_ptr_nonnull(fr.data);
  ck_assert_mem_eq(fr.data, data, len);
}

static void expect_again(sipsrv_framer *f)
{
  sipsrv_frame fr;
  ck_assert_int_eq(sipsrv_framer_next(f, &fr), SIPSRV_E_AGAIN);
}

/* Expect an ERROR frame with this status holding exactly data[0..len). */
static void expect_error(sipsrv_framer *f, int status, const void *data, size_t len)
{
  sipsrv_frame fr;
  memset(&fr, 0, sizeof fr);
  ck_assert_int_eq(sipsrv_framer_next(f, &fr), 0);
  ck_assert_int_eq(fr.kind, SIPSRV_FRAME_ERROR);
  ck_assert_int_eq(fr.status, status);
  ck_assert_ptr_nonnull(fr.phrase);
  ck_assert_uint_eq(fr.len, len);
  ck_assert_mem_eq(fr.data, data, len);
}

/* The error frame of the bytes in data: parse them as a stream message and
 * answer the verdict, which must be a 400. */
static void expect_answerable_400(const void *data, size_t len)
{
  sipsrv_msg *m = NULL, *reply = NULL;
  sipsrv_verdict v;

  memset(&v, 0, sizeof v);
  ck_assert_int_eq(sipsrv_msg_parse(&m, data, len, SIPSRV_PARSE_STREAM, &v), 0);
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(v.action, SIPSRV_REJECT);
  ck_assert_int_eq(v.status, 400);
  ck_assert_int_eq(sipsrv_msg_reply_verdict(&reply, m, &v), 0);
  ck_assert_ptr_nonnull(reply);
  ck_assert_int_eq(sipsrv_msg_is_request(reply), 0);
  ck_assert_int_eq(sipsrv_msg_status(reply), 400);
  sipsrv_msg_free(reply);
  sipsrv_msg_free(m);
}

/* ---- framing by Content-Length ------------------------------------------ */

START_TEST(framer_frame_one_message)
{
  sipsrv_framer *f = framer(0);
  ck_assert_int_eq(sipsrv_framer_feed(f, BASE, BASE_LEN), 0);
  ck_assert_uint_eq(sipsrv_framer_pending(f), BASE_LEN);
  expect_message(f, BASE, BASE_LEN);
  ck_assert_uint_eq(sipsrv_framer_pending(f), 0);
  expect_again(f);
  ck_assert_uint_eq(sipsrv_framer_pending(f), 0);
  sipsrv_framer_free(f);
}
END_TEST

START_TEST(framer_frame_two_messages)
{
  sipsrv_framer *f = framer(0);
  char buf[MSG_BUF], two[2 * MSG_BUF];
  size_t head, n = make_msg(buf, sizeof buf, "Content-Length: 5\r\n", "hello", 5, &head);

  /* A message with a body, then BASE, in one read. */
  memcpy(two, buf, n);
  memcpy(two + n, BASE, BASE_LEN);
  ck_assert_int_eq(sipsrv_framer_feed(f, two, n + BASE_LEN), 0);
  expect_message(f, buf, n);
  ck_assert_uint_eq(sipsrv_framer_pending(f), BASE_LEN);
  expect_message(f, BASE, BASE_LEN);
  expect_again(f);
  ck_assert_uint_eq(sipsrv_framer_pending(f), 0);
  sipsrv_framer_free(f);
}
END_TEST

START_TEST(framer_frame_byte_at_a_time)
{
  sipsrv_framer *f = framer(0);
  char buf[MSG_BUF];
  size_t head, n = make_msg(buf, sizeof buf, "Content-Length: 7\r\n", "a\r\n\r\nbc", 7, &head);
  sipsrv_frame fr;

  for (size_t i = 0; i + 1 < n; i++) {
    ck_assert_int_eq(sipsrv_framer_feed(f, buf + i, 1), 0);
    ck_assert_msg(sipsrv_framer_next(f, &fr) == SIPSRV_E_AGAIN, "a frame after %zu of %zu bytes",
                  i + 1, n);
    ck_assert_uint_eq(sipsrv_framer_pending(f), i + 1);
  }
  ck_assert_int_eq(sipsrv_framer_feed(f, buf + n - 1, 1), 0);
  expect_message(f, buf, n);
  expect_again(f);
  ck_assert_uint_eq(sipsrv_framer_pending(f), 0);
  sipsrv_framer_free(f);
}
END_TEST

START_TEST(framer_frame_body_in_later_feed)
{
  sipsrv_framer *f = framer(0);
  char buf[MSG_BUF];
  size_t head, n = make_msg(buf, sizeof buf, "Content-Length: 5\r\n", "hello", 5, &head);

  ck_assert_int_eq(sipsrv_framer_feed(f, buf, head), 0);
  expect_again(f);
  ck_assert_uint_eq(sipsrv_framer_pending(f), head);
  ck_assert_int_eq(sipsrv_framer_feed(f, buf + head, 3), 0);
  expect_again(f);
  ck_assert_uint_eq(sipsrv_framer_pending(f), head + 3);
  ck_assert_int_eq(sipsrv_framer_feed(f, buf + head + 3, 2), 0);
  expect_message(f, buf, n);
  expect_again(f);
  sipsrv_framer_free(f);
}
END_TEST

START_TEST(framer_frame_body_with_nul_and_crlfcrlf)
{
  /* RFC 3261 18.3: the body is Content-Length octets whatever they hold. */
  static const char body[] = "\0a\r\n\r\nOPTIONS \0\r\n\r\n";
  sipsrv_framer *f = framer(0);
  char buf[MSG_BUF], two[2 * MSG_BUF];
  size_t head, blen = sizeof body - 1, n;
  char cl[64];

  ck_assert_uint_eq(blen, 19);
  snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", blen);
  n = make_msg(buf, sizeof buf, cl, body, blen, &head);
  memcpy(two, buf, n);
  memcpy(two + n, BASE, BASE_LEN);
  ck_assert_int_eq(sipsrv_framer_feed(f, two, n + BASE_LEN), 0);
  expect_message(f, buf, n);
  expect_message(f, BASE, BASE_LEN);
  expect_again(f);
  sipsrv_framer_free(f);
}
END_TEST

/* A message with this Content-Length line and a 5-octet body, followed by
 * BASE in the same read, must frame as the whole message then BASE. */
static void check_cl_line(const char *cl_line)
{
  sipsrv_framer *f = framer(0);
  char buf[MSG_BUF], two[2 * MSG_BUF];
  size_t head, n = make_msg(buf, sizeof buf, cl_line, "hello", 5, &head);

  memcpy(two, buf, n);
  memcpy(two + n, BASE, BASE_LEN);
  ck_assert_int_eq(sipsrv_framer_feed(f, two, n + BASE_LEN), 0);
  expect_message(f, buf, n);
  expect_message(f, BASE, BASE_LEN);
  expect_again(f);
  sipsrv_framer_free(f);
}

START_TEST(framer_frame_compact_form)
{
  check_cl_line("l: 5\r\n");
  check_cl_line("L:5\r\n");
}
END_TEST

START_TEST(framer_frame_cl_whitespace)
{
  check_cl_line("Content-Length:   5  \r\n");
  check_cl_line("Content-Length \t: \t5\t\r\n");
}
END_TEST

START_TEST(framer_frame_cl_folded)
{
  /* RFC 3261 7.3.1: a header value may continue on lines starting with SP/HT. */
  check_cl_line("Content-Length:\r\n 5\r\n");
  check_cl_line("Content-Length:\r\n\t  5\r\n");
}
END_TEST

START_TEST(framer_frame_cl_fold_undecided)
{
  /* Until the byte after "Content-Length: 5\r\n" arrives, the framer cannot
   * know whether the value folds onto the next line: it must wait. */
  sipsrv_framer *f = framer(0);
  char buf[MSG_BUF];
  size_t head, n = make_msg(buf, sizeof buf, "Content-Length: 1\r\n", "x", 1, &head);

  ck_assert_int_eq(sipsrv_framer_feed(f, buf, head - 2), 0);
  expect_again(f);
  ck_assert_int_eq(sipsrv_framer_feed(f, buf + head - 2, n - (head - 2)), 0);
  expect_message(f, buf, n);
  sipsrv_framer_free(f);
}
END_TEST

START_TEST(framer_frame_name_case_insensitive)
{
  check_cl_line("content-length: 5\r\n");
  check_cl_line("CONTENT-LENGTH: 5\r\n");
}
END_TEST

START_TEST(framer_frame_many_distinct_chunked)
{
  /* Forty distinct messages, with a ping after every fifth, through a stream
   * pipe that delivers 13 bytes at a time: the framer's buffer wraps and
   * slides many times, and every frame must come out in order, intact. */
  enum { N = 40 };
  size_t off[N], len[N], total = 0;
  char *stream = malloc(N * (MSG_BUF + 4)), chunk[64];
  tpipe *p = tpipe_new(TPIPE_STREAM, "192.0.2.1:5060", "192.0.2.2:5060");
  sipsrv_framer *f = framer(0);
  int want = 0, pings = 0;
  bool ping_due = false;
  long got;

  ck_assert_ptr_nonnull(stream);
  ck_assert_ptr_nonnull(p);
  for (int i = 0; i < N; i++) {
    char body[512], cl[64];
    size_t blen = (size_t)(i * 37) % 500, head;
    for (size_t k = 0; k < blen; k++)
      body[k] = (char)('a' + (i + (int)k) % 26);
    snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", blen);
    off[i] = total;
    len[i] = make_msg(stream + total, MSG_BUF, cl, body, blen, &head);
    total += len[i];
    if (i % 5 == 4) {
      memcpy(stream + total, "\r\n\r\n", 4);
      total += 4;
    }
  }
  ck_assert_int_eq(tpipe_send(p->a, stream, total), (long)total);
  tpipe_set_chunk(p->b, 13);

  while ((got = tpipe_recv(p->b, chunk, sizeof chunk)) > 0) {
    sipsrv_frame fr;
    int rc;
    ck_assert_int_eq(sipsrv_framer_feed(f, chunk, (size_t)got), 0);
    while ((rc = sipsrv_framer_next(f, &fr)) == 0) {
      if (ping_due) {
        ck_assert_int_eq(fr.kind, SIPSRV_FRAME_PING);
        ck_assert_uint_eq(fr.len, 4);
        ping_due = false;
        pings++;
        continue;
      }
      ck_assert_int_lt(want, N);
      ck_assert_msg(fr.kind == SIPSRV_FRAME_MESSAGE, "frame %d kind %d", want, fr.kind);
      ck_assert_msg(fr.len == len[want], "message %d is %zu bytes, not %zu", want, fr.len,
                    len[want]);
      ck_assert_msg(memcmp(fr.data, stream + off[want], len[want]) == 0,
                    "message %d bytes differ", want);
      ping_due = want % 5 == 4;
      want++;
    }
    ck_assert_int_eq(rc, SIPSRV_E_AGAIN);
  }
  ck_assert_int_eq(want, N);
  ck_assert_int_eq(pings, N / 5);
  ck_assert_uint_eq(sipsrv_framer_pending(f), 0);

  tpipe_free(p);
  sipsrv_framer_free(f);
  free(stream);
}
END_TEST

START_TEST(framer_frame_no_cl_stream)
{
  /* No Content-Length: the framer frames an empty body; the parser then says
   * RFC 3261 18.3 requires one on a stream. */
  sipsrv_framer *f = framer(0);
  char buf[MSG_BUF], two[2 * MSG_BUF];
  size_t head, n = make_msg(buf, sizeof buf, NULL, NULL, 0, &head);
  sipsrv_frame fr;
  sipsrv_msg *m = NULL, *reply = NULL;
  sipsrv_verdict v;

  ck_assert_uint_eq(n, head);
  memcpy(two, buf, n);
  memcpy(two + n, BASE, BASE_LEN);
  ck_assert_int_eq(sipsrv_framer_feed(f, two, n + BASE_LEN), 0);

  memset(&fr, 0, sizeof fr);
  ck_assert_int_eq(sipsrv_framer_next(f, &fr), 0);
  ck_assert_int_eq(fr.kind, SIPSRV_FRAME_MESSAGE);
  ck_assert_uint_eq(fr.len, n);
  ck_assert_mem_eq(fr.data, buf, n);

  memset(&v, 0, sizeof v);
  ck_assert_int_eq(sipsrv_msg_parse(&m, fr.data, fr.len, SIPSRV_PARSE_STREAM, &v), 0);
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(v.action, SIPSRV_REJECT);
  ck_assert_int_eq(v.status, 400);
  ck_assert_ptr_nonnull(v.phrase);
  ck_assert_str_eq(v.phrase, "Missing Content-Length");
  ck_assert_int_eq(sipsrv_msg_reply_verdict(&reply, m, &v), 0);
  ck_assert_int_eq(sipsrv_msg_status(reply), 400);
  sipsrv_msg_free(reply);
  sipsrv_msg_free(m);

  /* The framing is intact: the next message follows. */
  expect_message(f, BASE, BASE_LEN);
  expect_again(f);
  sipsrv_framer_free(f);
}
END_TEST

/* ---- CRLFs and keep-alive pings ----------------------------------------- */

START_TEST(framer_crlf_ping_alone)
{
  sipsrv_framer *f = framer(0);
  sipsrv_frame fr;

  ck_assert_int_eq(sipsrv_framer_feed(f, "\r\n\r\n", 4), 0);
  memset(&fr, 0, sizeof fr);
  ck_assert_int_eq(sipsrv_framer_next(f, &fr), 0);
  ck_assert_int_eq(fr.kind, SIPSRV_FRAME_PING);
  ck_assert_uint_eq(fr.len, 4);
  ck_assert_mem_eq(fr.data, "\r\n\r\n", 4);
  expect_again(f);
  ck_assert_uint_eq(sipsrv_framer_pending(f), 0);
  sipsrv_framer_free(f);
}
END_TEST

START_TEST(framer_crlf_before_message)
{
  /* RFC 3261 7.5: a CRLF before the start line is ignored. */
  sipsrv_framer *f = framer(0);
  char buf[MSG_BUF];

  memcpy(buf, "\r\n", 2);
  memcpy(buf + 2, BASE, BASE_LEN);
  ck_assert_int_eq(sipsrv_framer_feed(f, buf, 2 + BASE_LEN), 0);
  expect_message(f, BASE, BASE_LEN);
  expect_again(f);
  ck_assert_uint_eq(sipsrv_framer_pending(f), 0);
  sipsrv_framer_free(f);
}
END_TEST

START_TEST(framer_crlf_alone_undecided)
{
  /* A lone CRLF may be the start of a ping: nothing can be said yet. */
  sipsrv_framer *f = framer(0);

  ck_assert_int_eq(sipsrv_framer_feed(f, "\r\n", 2), 0);
  expect_again(f);
  ck_assert_uint_eq(sipsrv_framer_pending(f), 2);
  /* A message follows: the CRLF was one to ignore. */
  ck_assert_int_eq(sipsrv_framer_feed(f, BASE, BASE_LEN), 0);
  expect_message(f, BASE, BASE_LEN);
  expect_again(f);
  sipsrv_framer_free(f);
}
END_TEST

START_TEST(framer_crlf_ping_split)
{
  /* A ping arriving one byte at a time is still one ping. */
  sipsrv_framer *f = framer(0);
  sipsrv_frame fr;

  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(sipsrv_framer_feed(f, &"\r\n\r\n"[i], 1), 0);
    expect_again(f);
    ck_assert_uint_eq(sipsrv_framer_pending(f), (size_t)i + 1);
  }
  ck_assert_int_eq(sipsrv_framer_feed(f, "\n", 1), 0);
  memset(&fr, 0, sizeof fr);
  ck_assert_int_eq(sipsrv_framer_next(f, &fr), 0);
  ck_assert_int_eq(fr.kind, SIPSRV_FRAME_PING);
  ck_assert_uint_eq(fr.len, 4);
  expect_again(f);
  sipsrv_framer_free(f);
}
END_TEST

START_TEST(framer_crlf_ping_then_message)
{
  sipsrv_framer *f = framer(0);
  char buf[MSG_BUF];
  sipsrv_frame fr;

  memcpy(buf, "\r\n\r\n", 4);
  memcpy(buf + 4, BASE, BASE_LEN);
  ck_assert_int_eq(sipsrv_framer_feed(f, buf, 4 + BASE_LEN), 0);
  memset(&fr, 0, sizeof fr);
  ck_assert_int_eq(sipsrv_framer_next(f, &fr), 0);
  ck_assert_int_eq(fr.kind, SIPSRV_FRAME_PING);
  ck_assert_uint_eq(fr.len, 4);
  ck_assert_mem_eq(fr.data, "\r\n\r\n", 4);
  ck_assert_uint_eq(sipsrv_framer_pending(f), BASE_LEN);
  expect_message(f, BASE, BASE_LEN);
  expect_again(f);
  sipsrv_framer_free(f);
}
END_TEST

/* ---- lost framing: the error frame -------------------------------------- */

START_TEST(framer_error_multiple_cl)
{
  /* RFC 4475 3.3.9 (mcl01). */
  sipsrv_framer *f = framer(0);
  char buf[MSG_BUF];
  size_t head, n = make_msg(buf, sizeof buf, "Content-Length: 5\r\nContent-Length: 3\r\n",
                            "hello", 5, &head);

  ck_assert_int_eq(sipsrv_framer_feed(f, buf, n), 0);
  expect_error(f, 400, buf, head);
  sipsrv_framer_free(f);
}
END_TEST

START_TEST(framer_error_negative_cl)
{
  /* RFC 4475 3.1.2.3 (ncl). */
  sipsrv_framer *f = framer(0);
  char buf[MSG_BUF];
  size_t head, n = make_msg(buf, sizeof buf, "Content-Length: -5\r\n", "hello", 5, &head);

  ck_assert_int_eq(sipsrv_framer_feed(f, buf, n), 0);
  expect_error(f, 400, buf, head);
  sipsrv_framer_free(f);
}
END_TEST

START_TEST(framer_error_non_numeric_cl)
{
  sipsrv_framer *f = framer(0);
  char buf[MSG_BUF];
  size_t head, n = make_msg(buf, sizeof buf, "Content-Length: abc\r\n", "hello", 5, &head);

  ck_assert_int_eq(sipsrv_framer_feed(f, buf, n), 0);
  expect_error(f, 400, buf, head);
  sipsrv_framer_free(f);
}
END_TEST

START_TEST(framer_error_empty_cl)
{
  /* "Content-Length:" with no value (framer.h: "missing a value"). */
  sipsrv_framer *f = framer(0);
  char buf[MSG_BUF];
  size_t head, n = make_msg(buf, sizeof buf, "Content-Length: \r\n", "hello", 5, &head);

  ck_assert_int_eq(sipsrv_framer_feed(f, buf, n), 0);
  expect_error(f, 400, buf, head);
  sipsrv_framer_free(f);
}
END_TEST

START_TEST(framer_error_cl_over_max)
{
  /* RFC 3261 21.5.14: 513 Message Too Large. Said as soon as the header
   * section is in, without waiting for the body. */
  sipsrv_framer *f = framer(1000);
  char buf[MSG_BUF];
  size_t head;

  make_msg(buf, sizeof buf, "Content-Length: 5000\r\n", NULL, 0, &head);
  ck_assert_int_eq(sipsrv_framer_feed(f, buf, head), 0);
  expect_error(f, 513, buf, head);
  sipsrv_framer_free(f);
}
END_TEST

START_TEST(framer_error_max_boundary)
{
  /* max_msg counts headers and body: exactly max is framed, max + 1 is 513. */
  char buf[MSG_BUF], body[600], cl[64];
  size_t head, n;
  sipsrv_framer *f;

  memset(body, 'x', sizeof body);
  snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", sizeof body);
  n = make_msg(buf, sizeof buf, cl, body, sizeof body, &head);

  f = framer(n);
  ck_assert_int_eq(sipsrv_framer_feed(f, buf, n), 0);
  expect_message(f, buf, n);
  expect_again(f);
  sipsrv_framer_free(f);

  f = framer(n - 1);
  ck_assert_int_eq(sipsrv_framer_feed(f, buf, n), 0);
  expect_error(f, 513, buf, head);
  sipsrv_framer_free(f);
}
END_TEST

START_TEST(framer_error_head_over_max)
{
  /* A header section that never ends is cut off once past max_msg. */
  static const char line[] = "X-Pad: 0123456789012345678901234567890123456789\r\n";
  sipsrv_framer *f = framer(1000);
  char *all = malloc(2000);
  size_t total = 0, l = sizeof line - 1;
  sipsrv_frame fr;
  int rc;

  ck_assert_ptr_nonnull(all);
  memcpy(all, HEAD_NO_CL, strlen(HEAD_NO_CL));
  total = strlen(HEAD_NO_CL);
  ck_assert_int_eq(sipsrv_framer_feed(f, all, total), 0);
  expect_again(f);
  for (;;) {
    memcpy(all + total, line, l);
    total += l;
    ck_assert_uint_lt(total, 2000);
    ck_assert_int_eq(sipsrv_framer_feed(f, line, l), 0);
    memset(&fr, 0, sizeof fr);
    rc = sipsrv_framer_next(f, &fr);
    if (total <= 1000) {
      ck_assert_msg(rc == SIPSRV_E_AGAIN, "rc %d with %zu bytes held", rc, total);
      continue;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(fr.kind, SIPSRV_FRAME_ERROR);
    ck_assert_int_eq(fr.status, 513);
    ck_assert_uint_eq(fr.len, total);
    ck_assert_mem_eq(fr.data, all, total);
    break;
  }
  free(all);
  sipsrv_framer_free(f);
}
END_TEST

START_TEST(framer_error_then_state)
{
  sipsrv_framer *f = framer(0);
  char buf[MSG_BUF];
  size_t head, n = make_msg(buf, sizeof buf, "Content-Length: 5\r\nl: 5\r\n", "hello", 5, &head);
  sipsrv_frame fr;

  ck_assert_int_eq(sipsrv_framer_feed(f, buf, n), 0);
  expect_error(f, 400, buf, head);
  ck_assert_int_eq(sipsrv_framer_feed(f, BASE, BASE_LEN), SIPSRV_E_STATE);
  ck_assert_int_eq(sipsrv_framer_next(f, &fr), SIPSRV_E_STATE);
  ck_assert_int_eq(sipsrv_framer_next(f, &fr), SIPSRV_E_STATE);
  ck_assert_int_eq(sipsrv_framer_feed(f, BASE, BASE_LEN), SIPSRV_E_STATE);
  sipsrv_framer_free(f);
}
END_TEST

START_TEST(framer_error_frame_answerable)
{
  /* Each error frame parses into a request the server can answer 400. */
  static const char *const cls[] = {
    "Content-Length: 5\r\nContent-Length: 3\r\n",
    "Content-Length: -5\r\n",
    "Content-Length: abc\r\n",
  };
  for (size_t i = 0; i < sizeof cls / sizeof cls[0]; i++) {
    sipsrv_framer *f = framer(0);
    char buf[MSG_BUF];
    size_t head, n = make_msg(buf, sizeof buf, cls[i], "hello", 5, &head);
    sipsrv_frame fr;

    ck_assert_int_eq(sipsrv_framer_feed(f, buf, n), 0);
    memset(&fr, 0, sizeof fr);
    ck_assert_int_eq(sipsrv_framer_next(f, &fr), 0);
    ck_assert_int_eq(fr.kind, SIPSRV_FRAME_ERROR);
    ck_assert_int_eq(fr.status, 400);
    expect_answerable_400(fr.data, fr.len);
    sipsrv_framer_free(f);
  }
}
END_TEST

/* Length of the header section of data[0..len) (through CRLFCRLF), or 0.
 * Byte-safe: some corpus headers hold NUL octets (intmeth). */
static size_t head_length(const char *data, size_t len)
{
  for (size_t i = 0; i + 4 <= len; i++)
    if (memcmp(data + i, "\r\n\r\n", 4) == 0)
      return i + 4;
  return 0;
}

/* Feed the corpus file NAME.dat; expect an error frame of status 400 holding
 * its header section, which parses into a request answerable 400. */
static void check_corpus_error(const char *name)
{
  char path[1024];
  char *data;
  size_t len = 0, head;
  sipsrv_framer *f = framer(0);
  sipsrv_frame fr;

  snprintf(path, sizeof path, "%s/rfc4475/%s.dat", conformance_dir(), name);
  data = read_file(path, &len);
  ck_assert_msg(data != NULL, "cannot read %s", path);
  head = head_length(data, len);
  ck_assert_uint_gt(head, 0);

  ck_assert_int_eq(sipsrv_framer_feed(f, data, len), 0);
  memset(&fr, 0, sizeof fr);
  ck_assert_int_eq(sipsrv_framer_next(f, &fr), 0);
  ck_assert_int_eq(fr.kind, SIPSRV_FRAME_ERROR);
  ck_assert_int_eq(fr.status, 400);
  ck_assert_uint_eq(fr.len, head);
  ck_assert_mem_eq(fr.data, data, head);
  expect_answerable_400(fr.data, fr.len);
  ck_assert_int_eq(sipsrv_framer_next(f, &fr), SIPSRV_E_STATE);
  sipsrv_framer_free(f);
  free(data);
}

START_TEST(framer_error_corpus_mcl01)
{
  check_corpus_error("mcl01");
}
END_TEST

START_TEST(framer_error_corpus_ncl)
{
  check_corpus_error("ncl");
}
END_TEST

/* ---- invalid arguments -------------------------------------------------- */

START_TEST(framer_args_invalid)
{
  sipsrv_framer *f = NULL;
  sipsrv_frame fr;

  ck_assert_int_eq(sipsrv_framer_new(NULL, 0), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_framer_feed(NULL, "x", 1), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_framer_next(NULL, &fr), SIPSRV_E_INVAL);
  sipsrv_framer_free(NULL);
  ck_assert_uint_eq(sipsrv_framer_pending(NULL), 0);

  f = framer(0);
  ck_assert_int_eq(sipsrv_framer_next(f, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_framer_feed(f, NULL, 1), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_framer_feed(f, NULL, 0), 0);
  ck_assert_int_eq(sipsrv_framer_feed(f, "x", 0), 0);
  ck_assert_uint_eq(sipsrv_framer_pending(f), 0);
  expect_again(f);
  sipsrv_framer_free(f);
}
END_TEST

/* ---- the RFC 4475 corpus ------------------------------------------------ */

/* The Content-Length of a message's header section data[0..head), or -1 if
 * it has none. Lines starting with SP/HT continue the previous header. */
static long corpus_cl(const char *data, size_t head)
{
  size_t i = 0;
  while (i < head) {
    const char *nl = memchr(data + i, '\n', head - i);
    size_t e = nl ? (size_t)(nl - data) : head, n = i, c;
    if (data[i] != ' ' && data[i] != '\t') {
      while (n < e && data[n] != ':' && data[n] != ' ' && data[n] != '\t')
        n++;
      c = n;
      while (c < e && (data[c] == ' ' || data[c] == '\t'))
        c++;
      if (c < e && data[c] == ':' &&
          ((n - i == 14 && strncasecmp(data + i, "Content-Length", 14) == 0) ||
           (n - i == 1 && (data[i] == 'l' || data[i] == 'L')))) {
        char *endp;
        long v = strtol(data + c + 1, &endp, 10);
        return endp == data + c + 1 ? -1 : v;
      }
    }
    i = e + 1;
  }
  return -1;
}

/* Three copies of the message, through a stream pipe that delivers 7 bytes at
 * a time: three MESSAGE frames, each the message byte for byte. */
static void corpus_three_copies(const char *name, const char *data, size_t len)
{
  tpipe *p = tpipe_new(TPIPE_STREAM, "192.0.2.1:5060", "192.0.2.2:5060");
  sipsrv_framer *f = framer(0);
  char *stream = malloc(3 * len), chunk[64];
  int frames = 0;
  long got;

  ck_assert_ptr_nonnull(p);
  ck_assert_ptr_nonnull(stream);
  for (int i = 0; i < 3; i++)
    memcpy(stream + i * len, data, len);
  ck_assert_int_eq(tpipe_send(p->a, stream, 3 * len), (long)(3 * len));
  tpipe_set_chunk(p->b, 7);

  while ((got = tpipe_recv(p->b, chunk, sizeof chunk)) > 0) {
    sipsrv_frame fr;
    int rc;
    ck_assert_int_le(got, 7);
    ck_assert_int_eq(sipsrv_framer_feed(f, chunk, (size_t)got), 0);
    while ((rc = sipsrv_framer_next(f, &fr)) == 0) {
      ck_assert_msg(fr.kind == SIPSRV_FRAME_MESSAGE, "%s: frame %d kind %d status %d", name,
                    frames, fr.kind, fr.status);
      ck_assert_msg(fr.len == len, "%s: frame %d is %zu bytes, not %zu", name, frames, fr.len,
                    len);
      ck_assert_msg(memcmp(fr.data, data, len) == 0, "%s: frame %d bytes differ", name, frames);
      frames++;
    }
    ck_assert_msg(rc == SIPSRV_E_AGAIN, "%s: next returned %d", name, rc);
  }
  ck_assert_msg(frames == 3, "%s: %d frames, not 3", name, frames);
  ck_assert_uint_eq(sipsrv_framer_pending(f), 0);

  free(stream);
  sipsrv_framer_free(f);
  tpipe_free(p);
}

START_TEST(framer_corpus_valid_three_copies)
{
  char path[1024];
  char *index;
  size_t ilen = 0;
  int tested = 0;
  char *line, *save = NULL;

  snprintf(path, sizeof path, "%s/rfc4475/INDEX.tsv", conformance_dir());
  index = read_file(path, &ilen);
  ck_assert_msg(index != NULL, "cannot read %s", path);

  for (line = strtok_r(index, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char name[64], validity[16];
    const char *t1 = strchr(line, '\t'), *t2;
    char *data;
    size_t len = 0, head;
    long cl;

    if (!t1)
      continue;
    t2 = strchr(t1 + 1, '\t');
    if (!t2 || (size_t)(t1 - line) >= sizeof name || (size_t)(t2 - t1 - 1) >= sizeof validity)
      continue;
    memcpy(name, line, (size_t)(t1 - line));
    name[t1 - line] = '\0';
    memcpy(validity, t1 + 1, (size_t)(t2 - t1 - 1));
    validity[t2 - t1 - 1] = '\0';
    if (strcmp(validity, "valid") != 0)
      continue;                         /* also the heading line */
    if (strcmp(name, "dblreq") == 0)
      continue;                         /* trailing octets after the body (a UDP case) */

    snprintf(path, sizeof path, "%s/rfc4475/%s.dat", conformance_dir(), name);
    data = read_file(path, &len);
    ck_assert_msg(data != NULL, "cannot read %s", path);
    head = head_length(data, len);
    ck_assert_msg(head > 0, "%s: no end of headers", name);
    cl = corpus_cl(data, head);
    if (cl < 0) {                       /* inv2543: no Content-Length, not framable */
      free(data);
      continue;
    }
    ck_assert_msg(head + (size_t)cl == len, "%s: Content-Length %ld does not match", name, cl);
    corpus_three_copies(name, data, len);
    tested++;
    free(data);
  }
  free(index);
  /* 27 valid messages in RFC 4475, less dblreq and inv2543. */
  ck_assert_int_eq(tested, 25);
}
END_TEST

/* ---- suite ---------------------------------------------------------------- */

static Suite *suite(void)
{
  Suite *s = suite_create("framer");
  TCase *tc;

  tc = tcase_create("frame");
  tcase_add_test(tc, framer_frame_one_message);
  tcase_add_test(tc, framer_frame_two_messages);
  tcase_add_test(tc, framer_frame_byte_at_a_time);
  tcase_add_test(tc, framer_frame_body_in_later_feed);
  tcase_add_test(tc, framer_frame_body_with_nul_and_crlfcrlf);
  tcase_add_test(tc, framer_frame_compact_form);
  tcase_add_test(tc, framer_frame_cl_whitespace);
  tcase_add_test(tc, framer_frame_cl_folded);
  tcase_add_test(tc, framer_frame_cl_fold_undecided);
  tcase_add_test(tc, framer_frame_name_case_insensitive);
  tcase_add_test(tc, framer_frame_many_distinct_chunked);
  tcase_add_test(tc, framer_frame_no_cl_stream);
  suite_add_tcase(s, tc);

  tc = tcase_create("crlf");
  tcase_add_test(tc, framer_crlf_ping_alone);
  tcase_add_test(tc, framer_crlf_before_message);
  tcase_add_test(tc, framer_crlf_alone_undecided);
  tcase_add_test(tc, framer_crlf_ping_split);
  tcase_add_test(tc, framer_crlf_ping_then_message);
  suite_add_tcase(s, tc);

  tc = tcase_create("error");
  tcase_add_test(tc, framer_error_multiple_cl);
  tcase_add_test(tc, framer_error_negative_cl);
  tcase_add_test(tc, framer_error_non_numeric_cl);
  tcase_add_test(tc, framer_error_empty_cl);
  tcase_add_test(tc, framer_error_cl_over_max);
  tcase_add_test(tc, framer_error_max_boundary);
  tcase_add_test(tc, framer_error_head_over_max);
  tcase_add_test(tc, framer_error_then_state);
  tcase_add_test(tc, framer_error_frame_answerable);
  tcase_add_test(tc, framer_error_corpus_mcl01);
  tcase_add_test(tc, framer_error_corpus_ncl);
  suite_add_tcase(s, tc);

  tc = tcase_create("args");
  tcase_add_test(tc, framer_args_invalid);
  suite_add_tcase(s, tc);

  tc = tcase_create("corpus");
  tcase_add_test(tc, framer_corpus_valid_three_copies);
  suite_add_tcase(s, tc);

  return s;
}

int main(void)
{
  return harness_run(suite());
}
