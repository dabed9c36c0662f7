/* libFuzzer target: the stream framer (sipsrv/framer.h) on arbitrary bytes
 * cut into arbitrary chunks.
 *
 * Input layout: byte 0 gives the number k = 1 + (byte0 % 8) of chunk-size
 * bytes that follow; the rest is the stream. Chunk i has the size of size
 * byte i % k (a size byte of 0 feeds everything that is left; each feed of
 * data is preceded by an empty feed now and then).
 *
 * The framer (max 4096) is fed chunk by chunk and drained with
 * sipsrv_framer_next() until SIPSRV_E_AGAIN or an error frame. Invariants,
 * all from framer.c's own bookkeeping (start/end/consume):
 *  - a frame never holds more bytes than were fed, and its bytes are exactly
 *    the stream's bytes at its position;
 *  - MESSAGE and PING frames tile the stream: between two frames (and before
 *    the pending bytes) there are only CR and LF octets (RFC 3261 7.5), so
 *    bytes fed == MESSAGE+PING lengths + skipped CR/LFs + pending;
 *  - a PING is exactly CRLFCRLF; a MESSAGE starts with neither CR nor LF, and
 *    is at most the limit; when next() asks for more, at most the limit is
 *    pending (the framer's memory is bounded);
 *  - an ERROR frame starts at the first pending byte, holds at most the
 *    pending bytes, has status 400 or 513; after it, feed() and next() return
 *    SIPSRV_E_STATE and nothing else;
 *  - the frames do not depend on the chunking: the same stream fed in one
 *    piece gives the same MESSAGE/PING frames and the error at the same place;
 *  - a MESSAGE frame parsed with SIPSRV_PARSE_STREAM never gets a framing
 *    verdict the framer should have caught (scan.c is shared).
 * See README.md for the invariant names (SIPSRV_FUZZ_SKIP). */
#define _POSIX_C_SOURCE 200809L

#include <sipsrv/error.h>
#include <sipsrv/framer.h>
#include <sipsrv/msg.h>

#include "fuzz_common.h"

#include <stdint.h>

#define MAX_MSG 4096
#define MAX_FRAMES 4096

typedef struct rec {
  sipsrv_frame_kind kind;
  size_t off, len;
  int status;
} rec;

typedef struct run {
  const uint8_t *s;      /* the stream */
  size_t fed;            /* bytes fed so far */
  size_t cursor;         /* stream offset after the last frame / skipped CR/LFs */
  size_t framed;         /* sum of MESSAGE and PING lengths */
  size_t skipped;        /* CR/LFs dropped between frames */
  bool failed;           /* an error frame came out */
  bool parse;            /* parse the MESSAGE frames */
  rec recs[MAX_FRAMES];
  size_t nrecs;
  bool overflow;
} run;

static bool all_crlf(const uint8_t *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != '\r' && p[i] != '\n')
      return false;
  return true;
}

static void record(run *r, sipsrv_frame_kind kind, size_t off, size_t len, int status)
{
  if (r->nrecs == MAX_FRAMES) {
    r->overflow = true;
    return;
  }
  r->recs[r->nrecs].kind = kind;
  r->recs[r->nrecs].off = off;
  r->recs[r->nrecs].len = len;
  r->recs[r->nrecs].status = status;
  r->nrecs++;
}

/* Parse a frame the way a server does; check the framer and the parser agree
 * on the framing. */
static void parse_frame(const sipsrv_frame *fr)
{
  sipsrv_msg *m = NULL;
  sipsrv_verdict v;
  int rc = sipsrv_msg_parse(&m, fr->data, fr->len, SIPSRV_PARSE_STREAM, &v);

  fz_ok("frame-parse-rc", rc == 0 || rc == SIPSRV_E_PARSE || rc == SIPSRV_E_NOMEM);
  /* The framing verdicts of parse.c's judge_framing(), told apart by their
   * rule from the same phrases given to a header Sofia-SIP found malformed. */
  if (fr->kind == SIPSRV_FRAME_MESSAGE && v.phrase && v.rfc) {
    fz_ok("frame-parse-framing",
          !(strcmp(v.phrase, "Multiple Content-Length") == 0 && strcmp(v.rfc, "RFC 4475 3.3.9") == 0) &&
          !(strcmp(v.phrase, "Malformed Content-Length") == 0 && strcmp(v.rfc, "RFC 4475 3.1.2.3") == 0) &&
          strcmp(v.phrase, "Content-Length exceeds the message") != 0);
  }
  if (m) {
    fz_touch(sipsrv_msg_call_id(m));
    if (v.action == SIPSRV_REJECT) {
      sipsrv_msg *r = NULL;
      if (sipsrv_msg_reply_verdict(&r, m, &v) == 0) {
        long n = sipsrv_msg_serialize(r, NULL, 0);
        fz_ok("frame-reply-serialize", n > 0 || n == SIPSRV_E_NOMEM);
      }
      sipsrv_msg_free(r);
    }
  }
  sipsrv_msg_free(m);
}

/* Take frames until the framer wants more bytes or has failed. */
static void drain(sipsrv_framer *f, run *r)
{
  for (int guard = 0; guard < 1000000; guard++) {
    sipsrv_frame fr;
    size_t pending, at;
    int rc;

    memset(&fr, 0, sizeof fr);
    rc = sipsrv_framer_next(f, &fr);
    pending = sipsrv_framer_pending(f);
    if (r->failed) {
      fz_ok("after-error", rc == SIPSRV_E_STATE);
      return;
    }
    if (!fz_ok("next-rc", rc == 0 || rc == SIPSRV_E_AGAIN))
      return;
    if (!fz_ok("pending-le-fed", pending <= r->fed - r->cursor))
      return;
    if (rc == SIPSRV_E_AGAIN) {
      /* What is neither framed nor pending was skipped: CR/LFs only. */
      at = r->fed - pending;
      fz_ok("skipped-crlf", all_crlf(r->s + r->cursor, at - r->cursor));
      r->skipped += at - r->cursor;
      r->cursor = at;
      fz_ok("pending-bounded", pending <= MAX_MSG);
      fz_ok("accounting", r->fed == r->framed + r->skipped + pending);
      return;
    }
    fz_ok("frame-data", fr.data != NULL || fr.len == 0);
    fz_ok("frame-le-fed", fr.len <= r->fed);
    if (fr.kind == SIPSRV_FRAME_MESSAGE || fr.kind == SIPSRV_FRAME_PING) {
      size_t end = r->fed - pending;
      if (!fz_ok("frame-position", end >= fr.len && end - fr.len >= r->cursor))
        return;
      at = end - fr.len;
      fz_ok("skipped-crlf", all_crlf(r->s + r->cursor, at - r->cursor));
      fz_ok("frame-bytes", memcmp(fr.data, r->s + at, fr.len) == 0);
      if (fr.kind == SIPSRV_FRAME_PING)
        fz_ok("ping-bytes", fr.len == 4 && memcmp(fr.data, "\r\n\r\n", 4) == 0);
      else
        fz_ok("message-shape", fr.len > 0 && fr.len <= MAX_MSG && r->s[at] != '\r' &&
                                   r->s[at] != '\n');
      r->skipped += at - r->cursor;
      r->framed += fr.len;
      r->cursor = end;
      fz_ok("accounting", r->fed == r->framed + r->skipped + pending);
      record(r, fr.kind, at, fr.len, 0);
      if (r->parse && fr.kind == SIPSRV_FRAME_MESSAGE)
        parse_frame(&fr);
    } else if (fz_ok("frame-kind", fr.kind == SIPSRV_FRAME_ERROR)) {
      /* The error frame is not consumed: it starts at the first pending byte. */
      at = r->fed - pending;
      fz_ok("skipped-crlf", at >= r->cursor && all_crlf(r->s + r->cursor, at - r->cursor));
      fz_ok("error-len", fr.len > 0 && fr.len <= pending);
      if (fr.len <= pending)
        fz_ok("frame-bytes", memcmp(fr.data, r->s + at, fr.len) == 0);
      fz_ok("error-status", (fr.status == 400 || fr.status == 513) && fr.phrase);
      r->failed = true;
      record(r, fr.kind, at, fr.len, fr.status);
      if (r->parse)
        parse_frame(&fr);
    }
  }
  fz_ok("next-terminates", false);
}

static void feed(sipsrv_framer *f, run *r, size_t n)
{
  int rc = sipsrv_framer_feed(f, r->s + r->fed, n);
  if (r->failed) {
    fz_ok("after-error", rc == SIPSRV_E_STATE);
    return;
  }
  if (rc == SIPSRV_E_NOMEM)
    __builtin_trap();                    /* a framer of 4 KB cannot run out */
  fz_ok("feed-rc", rc == 0);
  r->fed += n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  fz_init();
  return 0;
}

static run chunked, whole;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  sipsrv_framer *f = NULL;
  size_t k, slen, i;
  const uint8_t *sizes;

  if (size < 1)
    return 0;
  k = 1 + data[0] % 8;
  if (size < 1 + k)
    return 0;
  sizes = data + 1;
  slen = size - 1 - k;

  /* Chunked. */
  memset(&chunked, 0, sizeof chunked);
  chunked.s = data + 1 + k;
  chunked.parse = true;
  if (sipsrv_framer_new(&f, MAX_MSG) != 0)
    return 0;
  fz_ok("feed-rc", sipsrv_framer_feed(f, NULL, 0) == 0);
  for (i = 0; chunked.fed < slen; i++) {
    size_t n = sizes[i % k] ? sizes[i % k] : slen - chunked.fed;
    if (n > slen - chunked.fed)
      n = slen - chunked.fed;
    if (sizes[(i + 1) % k] & 0x80)
      feed(f, &chunked, 0);
    feed(f, &chunked, n);
    drain(f, &chunked);
    if (chunked.failed) {
      /* Nothing but SIPSRV_E_STATE after an error frame. */
      feed(f, &chunked, slen - chunked.fed);
      drain(f, &chunked);
      break;
    }
  }
  if (!chunked.failed)
    fz_ok("final-pending", sipsrv_framer_pending(f) == slen - chunked.cursor);
  sipsrv_framer_free(f);

  /* The same stream in one piece. */
  memset(&whole, 0, sizeof whole);
  whole.s = data + 1 + k;
  f = NULL;
  if (sipsrv_framer_new(&f, MAX_MSG) != 0)
    return 0;
  feed(f, &whole, slen);
  drain(f, &whole);
  sipsrv_framer_free(f);

  if (!chunked.overflow && !whole.overflow) {
    bool same = chunked.nrecs == whole.nrecs;
    for (i = 0; same && i < chunked.nrecs; i++) {
      const rec *a = &chunked.recs[i], *b = &whole.recs[i];
      same = a->kind == b->kind && a->off == b->off &&
             (a->kind == SIPSRV_FRAME_ERROR || a->len == b->len);
    }
    if (!same) {
      fprintf(stderr, "chunked frames:");
      for (i = 0; i < chunked.nrecs; i++)
        fprintf(stderr, " [%d @%zu +%zu %d]", (int)chunked.recs[i].kind, chunked.recs[i].off,
                chunked.recs[i].len, chunked.recs[i].status);
      fprintf(stderr, "\nwhole frames:  ");
      for (i = 0; i < whole.nrecs; i++)
        fprintf(stderr, " [%d @%zu +%zu %d]", (int)whole.recs[i].kind, whole.recs[i].off,
                whole.recs[i].len, whole.recs[i].status);
      fprintf(stderr, "\n");
    }
    fz_ok("chunking-invariant", same);
  }
  return 0;
}
