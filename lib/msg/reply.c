/* Building a response from a request (RFC 3261 8.2.6). */
#include "core/fmt.h"
#include "msg_int.h"

#include <sipsrv/error.h>

#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_alloc.h>

#include <stdio.h>
#include <string.h>

const char *sipsrv_status_phrase(int status)
{
  const char *p = (status >= 100 && status <= 699) ? sip_status_phrase(status) : NULL;
  return p ? p : "Unknown";
}

uint64_t ss_hash(uint64_t h, const char *s)
{
  /* Eight octets a step (a byte-at-a-time FNV-1a was 2% of a stateful
   * proxy's instructions: transaction keys, branches, loop hashes), each
   * step a multiply and a fold of the high half into the low one, which
   * the tables index by (htab.h). */
  const uint64_t k = 0x9e3779b97f4a7c15ULL;
  size_t n = s ? strlen(s) : 0, len = n;
  uint64_t w;
  for (; n >= 8; n -= 8, s += 8) {
    memcpy(&w, s, 8);
    h = (h ^ w) * k;
    h ^= h >> 32;
  }
  w = 0;
  if (n)
    memcpy(&w, s, n);
  /* The rest, then the length: the field separator. */
  h = (h ^ w) * k;
  h = (h ^ (h >> 32) ^ (len + 0xff)) * k;
  return h ^ (h >> 32);
}

uint64_t ss_id_hash(uint64_t seed, const char *call_id, const char *from_tag, uint32_t cseq,
                    const char *via_branch, const char *via_host)
{
  char seq[24];
  uint64_t h = seed;

  h = ss_hash(h, call_id);
  h = ss_hash(h, from_tag);
  seq[ss_fmt_u64(seq, cseq)] = '\0';
  h = ss_hash(h, seq);
  if (via_branch || via_host)
    h = ss_hash(h, via_branch ? via_branch : via_host);
  return h;
}

uint64_t ss_msg_id_hash(const sipsrv_msg *m, uint64_t seed)
{
  sip_t const *rq = m->sip;
  return ss_id_hash(seed, rq->sip_call_id ? rq->sip_call_id->i_id : NULL,
                    rq->sip_from ? rq->sip_from->a_tag : NULL,
                    rq->sip_cseq ? rq->sip_cseq->cs_seq : 0u,
                    rq->sip_via ? rq->sip_via->v_branch : NULL,
                    rq->sip_via ? rq->sip_via->v_host : NULL);
}

/* A To tag that is the same for every retransmission of a request (RFC 3261
 * 8.2.7 asks it of a stateless UAS): a hash of what identifies the request. */
static void derive_tag(const sipsrv_msg *req, char out[17])
{
  ss_sb sb = ss_sb_init(out, 17);
  ss_sb_hex16(&sb, ss_msg_id_hash(req, SS_HASH_INIT));
}

/* A field copied as received (raw, maybe several lines joined by "\n"),
 * unparsed: Sofia-SIP's unknown-header class writes name and value as they
 * are. NULL raw adds nothing. */
static int add_raw(msg_t *m, msg_pub_t *pub, const char *name, const char *raw)
{
  su_home_t *home = msg_home(m);
  while (raw && *raw) {
    const char *nl = strchr(raw, '\n');
    size_t n = nl ? (size_t)(nl - raw) : strlen(raw);
    msg_header_t *h = msg_header_alloc(home, sip_unknown_class, 0);
    char *v = su_strndup(home, raw, (isize_t)n);
    if (!h || !v)
      return -1;
    h->sh_unknown->un_name = name;
    h->sh_unknown->un_value = v;
    if (msg_header_insert(m, pub, h) < 0)
      return -1;
    raw = nl ? nl + 1 : raw + n;
  }
  return 0;
}

int sipsrv_msg_reply(sipsrv_msg **out, const sipsrv_msg *req, int status, const char *phrase,
                     const sipsrv_reply_opts *opts)
{
  static const sipsrv_reply_opts defaults = SIPSRV_REPLY_OPTS_INIT;
  sip_t const *rq;
  msg_t *m;
  sip_t *sip;
  su_home_t *home;
  msg_pub_t *pub;
  sipsrv_msg *res;
  char tag[17];

  if (!out || !req || status < 100 || status > 699)
    return SIPSRV_E_INVAL;
  if (!opts)
    opts = &defaults;
  rq = req->sip;
  /* A response is matched to its request by the Via branch and the CSeq
   * (RFC 3261 17.1.3): without them it cannot be answered, unless they came
   * malformed (then they are copied as received, RFC 4475 3.1.2.1 and
   * 3.1.2.4). A request missing From, To or Call-ID is still answered 400
   * (RFC 4475 3.3.1), without them. */
  if (!rq->sip_request || (!rq->sip_via && !req->raw[SS_RAW_VIA]) ||
      (!rq->sip_cseq && !req->raw[SS_RAW_CSEQ]))
    return SIPSRV_E_INVAL;
  if ((opts->body_len && (!opts->body || !opts->content_type)) ||
      (phrase && strpbrk(phrase, "\r\n")) || (opts->to_tag && !ss_is_token(opts->to_tag)))
    return SIPSRV_E_INVAL;

  m = msg_create(sip_default_mclass(), 0);
  if (!m)
    return SIPSRV_E_NOMEM;
  /* The copied fields and what the TU adds, carved from one block rather
   * than a malloc() each (as parse.c does). */
  su_home_preload(msg_home(m), 1, 1536);
  sip = sip_object(m);
  pub = (msg_pub_t *)sip;
  home = msg_home(m);

  /* RFC 3261 8.2.6.2: Via (all, in order), From, Call-ID and CSeq are copied;
   * To is copied and gets a tag unless it has one or this is a 100. */
  if (msg_header_insert(m, pub, (msg_header_t *)sip_status_create(
                                    home, status, phrase ? phrase : sipsrv_status_phrase(status),
                                    NULL)) < 0 ||
      (rq->sip_via ? msg_header_add_dup(m, pub, (msg_header_t const *)rq->sip_via) < 0
                   : add_raw(m, pub, "Via", req->raw[SS_RAW_VIA]) < 0) ||
      (rq->sip_from ? msg_header_add_dup(m, pub, (msg_header_t const *)rq->sip_from) < 0
                    : add_raw(m, pub, "From", req->raw[SS_RAW_FROM]) < 0) ||
      (rq->sip_to ? msg_header_add_dup(m, pub, (msg_header_t const *)rq->sip_to) < 0
                  : add_raw(m, pub, "To", req->raw[SS_RAW_TO]) < 0) ||
      (rq->sip_call_id ? msg_header_add_dup(m, pub, (msg_header_t const *)rq->sip_call_id) < 0
                       : add_raw(m, pub, "Call-ID", req->raw[SS_RAW_CALL_ID]) < 0) ||
      (rq->sip_cseq ? msg_header_add_dup(m, pub, (msg_header_t const *)rq->sip_cseq) < 0
                    : add_raw(m, pub, "CSeq", req->raw[SS_RAW_CSEQ]) < 0))
    goto nomem;
  if (status > 100 && sip->sip_to && !sip->sip_to->a_tag) {
    if (!opts->to_tag)
      derive_tag(req, tag);
    if (sip_to_tag(home, sip->sip_to, opts->to_tag ? opts->to_tag : tag) < 0)
      goto nomem;
  }
  /* RFC 3261 8.2.6.1: a 100 echoes the request's Timestamp. */
  if (status == 100 && rq->sip_timestamp &&
      msg_header_add_dup(m, pub, (msg_header_t const *)rq->sip_timestamp) < 0)
    goto nomem;
  if (opts->headers && *opts->headers && msg_header_add_str(m, pub, opts->headers) < 0) {
    msg_destroy(m);
    return SIPSRV_E_INVAL;
  }
  if (opts->body_len) {
    if (msg_header_add_make(m, pub, sip_content_type_class, opts->content_type) < 0) {
      msg_destroy(m);
      return SIPSRV_E_INVAL;
    }
    if (msg_header_insert(m, pub, (msg_header_t *)sip_payload_create(home, opts->body,
                                                                      (isize_t)opts->body_len)) < 0)
      goto nomem;
  }
  /* The empty line that ends the header section is a header to Sofia-SIP;
   * a message built from scratch needs it added. */
  if (msg_header_insert(m, pub, (msg_header_t *)sip_content_length_create(
                                    home, (uint32_t)opts->body_len)) < 0 ||
      msg_header_insert(m, pub, (msg_header_t *)sip_separator_create(home)) < 0 ||
      msg_serialize(m, pub) < 0)
    goto nomem;
  res = ss_msg_wrap(m);
  if (!res)
    return SIPSRV_E_NOMEM;
  *out = res;
  return 0;

nomem:
  msg_destroy(m);
  return SIPSRV_E_NOMEM;
}

/* True when every line end in s[0..n) is CRLF (RFC 3261 7). */
static bool crlf_only(const char *s, size_t n)
{
  for (const char *p = memchr(s, '\n', n); p; p = memchr(p + 1, '\n', n - (size_t)(p + 1 - s)))
    if (p == s || p[-1] != '\r')
      return false;
  return true;
}

/* Header h as received when Sofia-SIP still holds its text (with CRLF line
 * ends: a bare LF a sender got away with is not sent back), else encoded.
 * A list written on one line ("Via: a, b") keeps its text in the first
 * entry; the others point where it ends with no length (*end). */
static void put_field(ss_sb *sb, msg_header_t const *h, const char **end, bool strip)
{
  msg_common_t const *c = h->sh_common;
  size_t n;
  if (c->h_data && c->h_len && crlf_only(c->h_data, c->h_len)) {
    n = c->h_len;
    *end = (const char *)c->h_data + n;
    if (strip)                           /* the line end: a tag goes before it */
      while (n && (((const char *)c->h_data)[n - 1] == '\r' || ((const char *)c->h_data)[n - 1] == '\n'))
        n--;
    ss_sb_mem(sb, c->h_data, n);
    return;
  }
  if (c->h_data && (const char *)c->h_data == *end)
    return;                              /* written with the line before */
  if (sb->over)
    return;
  {
    issize_t e = msg_header_e(sb->buf + sb->n, (isize_t)(sb->size - sb->n), h, 0);
    if (e < 0 || (size_t)e >= sb->size - sb->n) {
      sb->over = true;
      return;
    }
    n = (size_t)e;
    if (strip)
      while (n && (sb->buf[sb->n + n - 1] == '\r' || sb->buf[sb->n + n - 1] == '\n'))
        n--;
    sb->n += n;
    sb->buf[sb->n] = '\0';
  }
}

/* Extra header text as sipsrv_reply_opts.headers takes it: "Name: value"
 * lines joined by CRLF, nothing else (no bare CR or LF, no empty line). */
static bool header_lines_ok(const char *s)
{
  while (*s) {
    const char *p = s;
    while (ss_is_token_char((unsigned char)*p))
      p++;
    if (p == s || *p != ':')
      return false;
    for (; *p && *p != '\r' && *p != '\n'; p++)
      ;
    if (!*p)
      return true;
    if (p[0] != '\r' || p[1] != '\n' || !p[2])
      return false;
    s = p + 2;
  }
  return true;
}

long ss_reply_wire(const sipsrv_msg *req, int status, const char *phrase, const char *to_tag,
                   const char *headers, char *buf, size_t size, char *tag, size_t tagsize)
{
  sip_t const *rq = req ? req->sip : NULL;
  const char *end = NULL;
  ss_sb sb = ss_sb_init(buf, size);

  if (!rq || !rq->sip_request || status < 200 || status > 699 || tagsize < 17 ||
      !rq->sip_via || !rq->sip_from || !rq->sip_to || !rq->sip_call_id || !rq->sip_cseq ||
      (phrase && strpbrk(phrase, "\r\n")) || (headers && !header_lines_ok(headers)) ||
      (to_tag && (!ss_is_token(to_tag) || strlen(to_tag) >= tagsize)))
    return SIPSRV_E_INVAL;
  /* RFC 3261 7.2, 8.2.6.2: the status line, then the request's Via fields
   * in order, From, To with our tag unless it has one, Call-ID and CSeq. */
  ss_sb_str(&sb, "SIP/2.0 ");
  ss_sb_u64(&sb, (uint64_t)status);
  ss_sb_chr(&sb, ' ');
  ss_sb_str(&sb, phrase ? phrase : sipsrv_status_phrase(status));
  ss_sb_str(&sb, "\r\n");
  for (sip_via_t const *v = rq->sip_via; v; v = v->v_next)
    put_field(&sb, (msg_header_t const *)v, &end, false);
  put_field(&sb, (msg_header_t const *)rq->sip_from, &end, false);
  tag[0] = '\0';
  if (rq->sip_to->a_tag) {
    put_field(&sb, (msg_header_t const *)rq->sip_to, &end, false);
    if (strlen(rq->sip_to->a_tag) < tagsize)
      strcpy(tag, rq->sip_to->a_tag);
  } else {
    put_field(&sb, (msg_header_t const *)rq->sip_to, &end, true);
    if (to_tag)
      strcpy(tag, to_tag);
    else
      derive_tag(req, tag);
    ss_sb_str(&sb, ";tag=");
    ss_sb_str(&sb, tag);
    ss_sb_str(&sb, "\r\n");
  }
  put_field(&sb, (msg_header_t const *)rq->sip_call_id, &end, false);
  put_field(&sb, (msg_header_t const *)rq->sip_cseq, &end, false);
  if (headers && *headers) {
    ss_sb_str(&sb, headers);
    ss_sb_str(&sb, "\r\n");
  }
  ss_sb_str(&sb, "Content-Length: 0\r\n\r\n");
  return sb.over ? SIPSRV_E_NOMEM : (long)sb.n;
}

int sipsrv_msg_reply_verdict(sipsrv_msg **out, const sipsrv_msg *req, const sipsrv_verdict *v)
{
  sipsrv_reply_opts opts = SIPSRV_REPLY_OPTS_INIT;

  if (!out || !req || !v || v->action != SIPSRV_REJECT)
    return SIPSRV_E_INVAL;
  /* The header the rule asks for: Unsupported (RFC 3261 8.2.2.3), Allow
   * (8.2.1), Accept or Accept-Encoding (8.2.3). */
  if (v->header[0]) {
    if (memchr(v->header, '\0', sizeof v->header) == NULL)
      return SIPSRV_E_INVAL;
    opts.headers = v->header;
  }
  return sipsrv_msg_reply(out, req, v->status, v->phrase, &opts);
}
