/* Framing SIP messages out of a byte stream (RFC 3261 18.3, RFC 5626 4.4.1). */
#include "msg_int.h"

#include <sipsrv/error.h>
#include <sipsrv/framer.h>

#include <stdlib.h>
#include <string.h>

struct sipsrv_framer {
  char *buf;
  size_t start, end, cap;
  size_t consume;     /* bytes of the last frame handed out, dropped on the next call */
  size_t max;
  bool failed;
};

int sipsrv_framer_new(sipsrv_framer **out, size_t max_msg)
{
  sipsrv_framer *f;
  if (!out || max_msg > SIPSRV_MSG_MAX_DEFAULT)
    return SIPSRV_E_INVAL;
  f = calloc(1, sizeof *f);
  if (!f)
    return SIPSRV_E_NOMEM;
  f->max = max_msg ? max_msg : SIPSRV_MSG_MAX_DEFAULT;
  *out = f;
  return 0;
}

void sipsrv_framer_free(sipsrv_framer *f)
{
  if (!f)
    return;
  free(f->buf);
  free(f);
}

size_t sipsrv_framer_pending(const sipsrv_framer *f)
{
  return f ? f->end - f->start - f->consume : 0;
}

int sipsrv_framer_feed(sipsrv_framer *f, const void *data, size_t len)
{
  if (!f || (!data && len))
    return SIPSRV_E_INVAL;
  if (f->failed)
    return SIPSRV_E_STATE;
  if (!len)
    return 0;
  f->start += f->consume;
  f->consume = 0;
  if (f->start == f->end)
    f->start = f->end = 0;
  if (f->cap - f->end < len) {
    size_t used = f->end - f->start;
    if (f->start) {                       /* slide the unread bytes down first */
      memmove(f->buf, f->buf + f->start, used);
      f->start = 0;
      f->end = used;
    }
    if (f->cap - f->end < len) {
      size_t cap = f->cap ? f->cap : 4096;
      char *nb;
      while (cap - used < len)
        cap *= 2;
      nb = realloc(f->buf, cap);
      if (!nb)
        return SIPSRV_E_NOMEM;
      f->buf = nb;
      f->cap = cap;
    }
  }
  memcpy(f->buf + f->end, data, len);
  f->end += len;
  return 0;
}

static int frame(sipsrv_framer *f, sipsrv_frame *out, sipsrv_frame_kind kind, size_t len,
                 int status, const char *phrase)
{
  out->kind = kind;
  out->data = f->buf + f->start;
  out->len = len;
  out->status = status;
  out->phrase = phrase;
  if (kind == SIPSRV_FRAME_ERROR)
    f->failed = true;
  else
    f->consume = len;
  return 0;
}

int sipsrv_framer_next(sipsrv_framer *f, sipsrv_frame *out)
{
  ss_head h;
  size_t avail, total;
  const char *p;

  if (!f || !out)
    return SIPSRV_E_INVAL;
  if (f->failed)
    return SIPSRV_E_STATE;
  f->start += f->consume;
  f->consume = 0;

  for (;;) {
    avail = f->end - f->start;
    if (avail == 0)
      return SIPSRV_E_AGAIN;
    p = f->buf + f->start;
    if (p[0] != '\r' && p[0] != '\n')
      break;
    /* RFC 5626 4.4.1: CRLFCRLF is a keep-alive ping, answered with CRLF. */
    if (avail >= 4 && memcmp(p, "\r\n\r\n", 4) == 0)
      return frame(f, out, SIPSRV_FRAME_PING, 4, 0, NULL);
    /* Wait until a CRLF can be told from the start of a ping. */
    if ((avail == 1 && p[0] == '\r') || (avail == 2 && p[0] == '\r' && p[1] == '\n') ||
        (avail == 3 && memcmp(p, "\r\n\r", 3) == 0))
      return SIPSRV_E_AGAIN;
    /* RFC 3261 7.5: other CRLFs before a start line are ignored. */
    f->start += (p[0] == '\r' && p[1] == '\n') ? 2 : 1;
  }

  ss_scan_head(p, avail, &h);
  if (!h.complete) {
    if (avail > f->max)
      return frame(f, out, SIPSRV_FRAME_ERROR, avail, 513, "Message Too Large");
    return SIPSRV_E_AGAIN;
  }
  /* RFC 3261 18.3: Content-Length frames the body; when it cannot be read the
   * stream cannot be framed any more (RFC 4475 3.1.2.3, 3.3.9). */
  /* A bare CR ends a line for some parsers and not for others: the framing
   * is ambiguous (see scan.c). */
  if (h.bare_cr)
    return frame(f, out, SIPSRV_FRAME_ERROR, h.head_len, 400, "Bare CR in header");
  if (h.cl_count > 1)
    return frame(f, out, SIPSRV_FRAME_ERROR, h.head_len, 400, "Multiple Content-Length");
  if (h.cl_count == 1 && h.cl_bad)
    return frame(f, out, SIPSRV_FRAME_ERROR, h.head_len, 400, "Malformed Content-Length");
  total = h.head_len + (h.cl_count ? (size_t)h.cl : 0);
  if (h.cl > f->max || total > f->max)
    return frame(f, out, SIPSRV_FRAME_ERROR, h.head_len, 513, "Message Too Large");
  if (avail < total)
    return SIPSRV_E_AGAIN;
  return frame(f, out, SIPSRV_FRAME_MESSAGE, total, 0, NULL);
}
