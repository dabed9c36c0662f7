/* Parsing one SIP message with Sofia-SIP, and the syntax verdict on it.
 *
 * Sofia-SIP's parser is good but has measured traps (../shared/SOFIA-NOTES.md)
 * that this file works around:
 *  - it rejects request methods holding digits, '+' or '`', all legal token
 *    characters (RFC 3261 25.1; RFC 4475 3.1.1.2): such a method is replaced by
 *    a placeholder for the parse and restored afterwards;
 *  - a NUL octet ends its view of the header section, though a quoted-pair may
 *    escape one (RFC 3261 25.1; RFC 4475 3.1.1.2): the NUL is masked for the
 *    parse and restored afterwards;
 *  - a malformed Via/From/To/Call-ID/CSeq does not fail the parse; it is found
 *    with msg_extract_errors();
 *  - when it cannot read the start line it reads no header, so a 400 could not
 *    be answered: the headers are then parsed again under a placeholder start
 *    line, for the reply only.
 * Serialization keeps the exact received bytes (MSG_FLG_EXTRACT_COPY leaves
 * the receive buffer untouched), so the masks above never reach the wire.
 */
#include "msg_int.h"

#include <sipsrv/error.h>

#include <sofia-sip/msg_buffer.h>
#include <sofia-sip/msg_parser.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/su_alloc.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SS_PRELOAD 2048       /* bytes preloaded for a message's headers */

void ss_verdict(sipsrv_verdict *v, sipsrv_action action, int status, const char *phrase,
                const char *rfc)
{
  v->action = action;
  v->status = status;
  v->phrase = phrase;
  v->rfc = rfc;
  v->header[0] = '\0';
}

sipsrv_msg *ss_msg_wrap(msg_t *m)
{
  sipsrv_msg *sm = su_zalloc(msg_home(m), sizeof *sm);
  if (!sm) {
    msg_destroy(m);
    return NULL;
  }
  sm->msg = m;
  sm->sip = sip_object(m);
  return sm;
}

void sipsrv_msg_free(sipsrv_msg *msg)
{
  if (msg)
    msg_destroy(msg->msg);
}

/* Characters of a method token that Sofia-SIP 1.12.11 refuses although RFC 3261
 * allows them (measured: digits, '+' and '`'). */
static bool sofia_refuses_method(const char *m, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if ((m[i] >= '0' && m[i] <= '9') || m[i] == '+' || m[i] == '`')
      return true;
  return false;
}

/* Offset and length of the method in the CSeq value of buf[0..head), or 0. */
static size_t find_cseq_method(const char *buf, size_t head, size_t *mlen)
{
  size_t i = 0;
  while (i < head) {
    const char *nl = memchr(buf + i, '\n', head - i);
    size_t e = nl ? (size_t)(nl - buf) : head, n = i;
    while (n < e && ss_is_token_char((unsigned char)buf[n]))
      n++;
    if (ss_header_name_is(buf + i, n - i, "CSeq", 0)) {
      size_t p = n;
      while (p < e && (buf[p] == ' ' || buf[p] == '\t' || buf[p] == ':'))
        p++;
      while (p < e && buf[p] >= '0' && buf[p] <= '9')
        p++;
      while (p < e && (buf[p] == ' ' || buf[p] == '\t'))
        p++;
      *mlen = 0;
      while (p + *mlen < e && ss_is_token_char((unsigned char)buf[p + *mlen]))
        (*mlen)++;
      return *mlen ? p : 0;
    }
    i = e + 1;
  }
  return 0;
}

typedef struct parse_in {
  const char *data;      /* the message, CRLFs before the start line skipped */
  size_t len;
  size_t head_len;       /* header section length (the whole message if incomplete) */
  size_t start_len;
  const char *tail;      /* line ends to add after the data (see sipsrv_msg_parse) */
  size_t tail_len;
  bool response;         /* the start line looks like a status line */
  bool dummy_start;      /* parse the headers under a placeholder start line */
  bool masked_nul;       /* a bare NUL was masked: the message is malformed */
  const char *wire;      /* out: the message's bytes in its own buffer */
  size_t wire_len;
} parse_in;

/* Hand the bytes to Sofia-SIP. Returns the msg_t (or NULL on allocation
 * failure) and the msg_extract() result in *ext. */
static msg_t *sofia_parse(parse_in *in, int *ext)
{
  static const char dummy[] = "SIPSRV-INVALID sip:invalid.invalid SIP/2.0";
  msg_t *m = msg_create(sip_default_mclass(), MSG_FLG_EXTRACT_COPY);
  su_home_t *home;
  msg_iovec_t vec[1];
  size_t n, off = 0, head, wire_head;
  char *buf;
  char *rq_name = NULL, *cs_name = NULL;
  size_t mlen = 0, cslen = 0, cspos = 0;

  if (!m)
    return NULL;
  home = msg_home(m);
  /* One block for the parsed headers, carved by the home instead of a
   * malloc() per header object (a 300-byte request parses into some 2 KB
   * of them). */
  su_home_preload(home, 1, SS_PRELOAD);
  /* The bytes Sofia-SIP gets: the message, its start line replaced by a
   * placeholder when asked, and the line ends a datagram left out. */
  off = in->dummy_start ? sizeof dummy - 1 : in->start_len;
  n = off + (in->len - in->start_len) + in->tail_len;
  /* Room for the edits a proxy makes, which msg_prepare() encodes into the
   * same message. */
  msg_maxsize(m, n + SIPSRV_MSG_MAX_DEFAULT);
  if (msg_recv_iovec(m, vec, 1, n, 1) != 1 || vec[0].mv_len != n) {
    msg_destroy(m);
    return NULL;
  }
  memcpy(vec[0].mv_base, in->dummy_start ? dummy : in->data, off);
  memcpy((char *)vec[0].mv_base + off, in->data + in->start_len, in->len - in->start_len);
  if (in->tail_len)
    memcpy((char *)vec[0].mv_base + off + in->len - in->start_len, in->tail, in->tail_len);
  /* Committing may move the bytes (it reallocates): mask them where they
   * now are, which is where msg_extract() reads them and the header
   * fragments will point. */
  msg_recv_commit(m, n, 1);
  buf = msg_buf_committed_data(m);
  if (!buf) {
    msg_destroy(m);
    return NULL;
  }
  in->wire = buf;
  in->wire_len = n;
  wire_head = off + in->head_len - in->start_len;
  head = wire_head + in->tail_len;

  /* Mask the methods Sofia-SIP refuses (see the top of this file), in the
   * request line and in CSeq, requests and responses alike. */
  if (!in->dummy_start && !in->response) {
    const char *sp = memchr(buf, ' ', in->start_len);
    mlen = sp ? (size_t)(sp - buf) : 0;
    if (mlen && sofia_refuses_method(buf, mlen)) {
      rq_name = su_strndup(home, buf, mlen);
      memset(buf, 'X', mlen);
    }
  }
  cspos = find_cseq_method(buf, head, &cslen);
  if (cspos && sofia_refuses_method(buf + cspos, cslen)) {
    cs_name = su_strndup(home, buf + cspos, cslen);
    memset(buf + cspos, 'X', cslen);
  }
  /* Mask NULs in the header section (see the top of this file). */
  for (char *p = memchr(buf, '\0', head); p; p = memchr(p, '\0', head - (size_t)(p - buf))) {
    if (p == buf || p[-1] != '\\')
      in->masked_nul = true;
    *p = '\001';
  }

  *ext = msg_extract(m);

  {
    sip_t *sip = sip_object(m);
    if (!in->dummy_start)
      memcpy(buf, in->data, wire_head);   /* the wire bytes again */
    if (rq_name && sip && sip->sip_request) {
      sip->sip_request->rq_method = sip_method_unknown;
      sip->sip_request->rq_method_name = rq_name;
    }
    if (cs_name && sip && sip->sip_cseq) {
      sip->sip_cseq->cs_method = sip_method_unknown;
      sip->sip_cseq->cs_method_name = cs_name;
    }
    /* In a Via list on one line ("Via: a;rport, b") Sofia-SIP fills in the
     * parameter fields before it ends the last parameter at the comma, so
     * a last "rport" without a value is missed (v_rport NULL): the
     * response would go to the sent-by port instead of the source port
     * (RFC 3581 4). The fields again from the finished parameters. */
    for (sip_via_t *v = sip ? sip->sip_via : NULL; v; v = v->v_next)
      if (!v->v_rport && v->v_params)
        msg_header_update_params(v->v_common, 0);
  }
  return m;
}

/* A phrase naming a malformed or repeated header; static strings only. */
static const char *header_phrase(const char *name, bool repeated)
{
  static const struct { const char *name, *bad, *many; } t[] = {
    { "Via", "Malformed Via", "Malformed Via" },
    { "From", "Malformed From", "Multiple From" },
    { "To", "Malformed To", "Multiple To" },
    { "Call-ID", "Malformed Call-ID", "Multiple Call-ID" },
    { "CSeq", "Malformed CSeq", "Multiple CSeq" },
    { "Max-Forwards", "Malformed Max-Forwards", "Multiple Max-Forwards" },
    { "Contact", "Malformed Contact", "Multiple Contact" },
    { "Content-Length", "Malformed Content-Length", "Multiple Content-Length" },
    { "Content-Type", "Malformed Content-Type", "Multiple Content-Type" },
    { "Expires", "Malformed Expires", "Multiple Expires" },
    { "Route", "Malformed Route", "Malformed Route" },
    { "Record-Route", "Malformed Record-Route", "Malformed Record-Route" },
    { "Require", "Malformed Require", "Malformed Require" },
    { "Proxy-Require", "Malformed Proxy-Require", "Malformed Proxy-Require" },
    { "Path", "Malformed Path", "Malformed Path" },
  };
  if (name)
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
      if (strcasecmp(name, t[i].name) == 0)
        return repeated ? t[i].many : t[i].bad;
  return repeated ? "Repeated header" : "Malformed header";
}

/* Name the first header behind the extract errors. A header Sofia-SIP could
 * not parse is an error object with er_name; a second copy of a single-valued
 * header is kept under its own class. */
static const char *error_phrase(sip_t const *sip)
{
  for (sip_error_t *e = sip->sip_error; e; e = (sip_error_t *)e->er_next) {
    msg_hclass_t const *hc = e->er_common->h_class;
    if (hc == sip_error_class) {
      if (e->er_name && (strcasecmp(e->er_name, "Date") == 0))
        continue;                           /* RFC 4475 3.1.2.12: Date may be ignored */
      return header_phrase(e->er_name, false);
    }
    return header_phrase(hc->hc_name, true);
  }
  return "Malformed header";
}

/* No part of a URI holds what RFC 3986 2 and RFC 3261 25.1 leave out of
 * every URI: angle brackets, a double quote, white space. Sofia-SIP takes
 * "Route: p:, tel:a.example.com>" as a route to "tel:a.example.com>", which
 * it writes back as "<tel:a.example.com>>", which nothing parses (found by
 * tests/fuzz/fuzz_parse). */
static bool url_chars_ok(url_t const *u)
{
  const char *part[] = { u->url_scheme, u->url_user, u->url_password, u->url_host, u->url_port,
                         u->url_path, u->url_params, u->url_headers, u->url_fragment };
  for (size_t i = 0; i < sizeof part / sizeof part[0]; i++)
    if (part[i] && strpbrk(part[i], "<>\" \t\r\n"))
      return false;
  return true;
}

bool ss_addr_ok(url_t const *u)
{
  return u->url_type != url_invalid && u->url_scheme && ss_url_host_port_ok(u) && url_chars_ok(u);
}

/* The transport of a Via's sent-protocol: a token after the last '/',
 * with the white space LWS allows around it. */
static bool via_transport_ok(const char *protocol)
{
  const char *t = protocol ? strrchr(protocol, '/') : NULL;
  size_t n = 0;
  if (!t)
    return false;
  for (t++; *t == ' ' || *t == '\t'; t++)
    ;
  while (t[n] && ss_is_token_char((unsigned char)t[n]))
    n++;
  if (!n)
    return false;
  for (t += n; *t == ' ' || *t == '\t'; t++)
    ;
  return *t == '\0';
}

bool ss_via_ok(sip_via_t const *via)
{
  return via_transport_ok(via->v_protocol) && ss_host_valid(via->v_host) &&
         (!via->v_port || ss_port_valid(via->v_port));
}

static bool routes_ok(sip_route_t const *r)
{
  for (; r; r = r->r_next)
    if (!ss_addr_ok(r->r_url))
      return false;
  return true;
}

static bool version_is_2_0(const char *v)
{
  /* RFC 3261 7.1: the version string is case-insensitive. */
  return v && strcasecmp(v, "SIP/2.0") == 0;
}

/* Judge a request Sofia-SIP parsed. */
static void judge_request(sip_t const *sip, unsigned errs, sipsrv_verdict *v)
{
  sip_request_t const *rq = sip->sip_request;

  /* RFC 3261 25.1: Method = token (Sofia-SIP lets other characters through). */
  for (const char *p = rq->rq_method_name; p && *p; p++) {
    if (!ss_is_token_char((unsigned char)*p)) {
      ss_verdict(v, SIPSRV_REJECT, 400, "Malformed Request-Line", "RFC 3261 25.1");
      return;
    }
  }
  /* RFC 3261 8.2.2 / 21.5.7: a version other than 2.0 gets 505 (RFC 4475 3.1.2.16). */
  if (!version_is_2_0(rq->rq_version)) {
    ss_verdict(v, SIPSRV_REJECT, 505, "Version Not Supported", "RFC 3261 21.5.7");
    return;
  }
  /* Header syntax, and single-valued headers given once (RFC 3261 7.3.1,
   * RFC 4475 3.1.2.1, 3.3.8), for the headers a request is processed by. */
  if (errs & (sip_mask_request | sip_mask_proxy | sip_mask_registrar)) {
    ss_verdict(v, SIPSRV_REJECT, 400, error_phrase(sip), "RFC 3261 7.3.1");
    return;
  }
  /* RFC 3261 8.1.1: mandatory headers (RFC 4475 3.3.1). Max-Forwards may be
   * missing (RFC 2543 peers, RFC 4475 3.4.1): a proxy adds it (16.6 step 3). */
  if (!sip->sip_via) { ss_verdict(v, SIPSRV_REJECT, 400, "Missing Via", "RFC 3261 8.1.1.7"); return; }
  if (!sip->sip_from) { ss_verdict(v, SIPSRV_REJECT, 400, "Missing From", "RFC 3261 8.1.1.3"); return; }
  if (!sip->sip_to) { ss_verdict(v, SIPSRV_REJECT, 400, "Missing To", "RFC 3261 8.1.1.2"); return; }
  if (!sip->sip_call_id) { ss_verdict(v, SIPSRV_REJECT, 400, "Missing Call-ID", "RFC 3261 8.1.1.4"); return; }
  if (!sip->sip_cseq) { ss_verdict(v, SIPSRV_REJECT, 400, "Missing CSeq", "RFC 3261 8.1.1.5"); return; }

  /* RFC 3261 8.1.1.5: the CSeq number is less than 2^31 (RFC 4475 3.1.2.4). */
  if (sip->sip_cseq->cs_seq > 0x7fffffffu) {
    ss_verdict(v, SIPSRV_REJECT, 400, "CSeq out of range", "RFC 3261 8.1.1.5");
    return;
  }
  /* RFC 3261 8.1.1.5: the CSeq method matches the request method. A mismatch
   * on a method we do not know is answered 501 (RFC 4475 3.1.2.17, 3.1.2.18). */
  if (!sip->sip_cseq->cs_method_name || strcmp(sip->sip_cseq->cs_method_name, rq->rq_method_name) != 0) {
    if (rq->rq_method == sip_method_unknown)
      ss_verdict(v, SIPSRV_REJECT, 501, "Not Implemented", "RFC 4475 3.1.2.18");
    else
      ss_verdict(v, SIPSRV_REJECT, 400, "CSeq method does not match", "RFC 3261 8.1.1.5");
    return;
  }
  /* Max-Forwards is 0-255 (RFC 4475 3.1.2.4). */
  if (sip->sip_max_forwards && sip->sip_max_forwards->mf_count > 255) {
    ss_verdict(v, SIPSRV_REJECT, 400, "Max-Forwards out of range", "RFC 3261 20.22");
    return;
  }
  /* Request-URI (RFC 3261 19.1.1): a URI, valid host and port, no headers
   * component (Table 1; RFC 4475 3.1.2.7, 3.1.2.11). */
  if (rq->rq_url->url_type == url_invalid || rq->rq_url->url_type == url_any ||
      !rq->rq_url->url_scheme || !ss_url_host_port_ok(rq->rq_url)) {
    ss_verdict(v, SIPSRV_REJECT, 400, "Malformed Request-URI", "RFC 3261 19.1.1");
    return;
  }
  if ((rq->rq_url->url_type == url_sip || rq->rq_url->url_type == url_sips) &&
      rq->rq_url->url_headers) {
    ss_verdict(v, SIPSRV_REJECT, 400, "Headers in Request-URI", "RFC 3261 19.1.1");
    return;
  }
  /* RFC 3261 8.1.1.4: a Call-ID is a word, not empty. */
  if (!sip->sip_call_id->i_id || !*sip->sip_call_id->i_id) {
    ss_verdict(v, SIPSRV_REJECT, 400, "Malformed Call-ID", "RFC 3261 8.1.1.4");
    return;
  }
  /* From, To and the address lists hold URIs (RFC 3261 20.10, 20.20, 20.34,
   * 20.39) that a response or a forwarded request copies: they must print
   * back as they came. */
  /* A tag parameter has a value (25.1: tag-param = "tag" EQUAL token): a
   * bare ";tag" would leave a reply with an empty To tag (found by
   * tests/fuzz/fuzz_parse). */
  if (!ss_addr_ok(sip->sip_from->a_url) || (sip->sip_from->a_tag && !*sip->sip_from->a_tag)) {
    ss_verdict(v, SIPSRV_REJECT, 400, "Malformed From", "RFC 3261 20.20");
    return;
  }
  if (!ss_addr_ok(sip->sip_to->a_url) || (sip->sip_to->a_tag && !*sip->sip_to->a_tag)) {
    ss_verdict(v, SIPSRV_REJECT, 400, "Malformed To", "RFC 3261 20.39");
    return;
  }
  for (sip_contact_t const *c = sip->sip_contact; c; c = c->m_next)
    if (c->m_url->url_type != url_any && !ss_addr_ok(c->m_url)) {
      ss_verdict(v, SIPSRV_REJECT, 400, "Malformed Contact", "RFC 3261 20.10");
      return;
    }
  if (!routes_ok(sip->sip_route) || !routes_ok(sip->sip_record_route) || !routes_ok(sip->sip_path)) {
    ss_verdict(v, SIPSRV_REJECT, 400, "Malformed Route", "RFC 3261 20.34");
    return;
  }
  /* RFC 3261 8.1.1.7: the Via this hop reads is a SIP/2.0 one. */
  if (!sip->sip_via->v_protocol || strncasecmp(sip->sip_via->v_protocol, "SIP/2.0/", 8) != 0) {
    ss_verdict(v, SIPSRV_REJECT, 400, "Malformed Via", "RFC 3261 8.1.1.7");
    return;
  }
  /* Via sent-by (RFC 3261 18.2.2 sends responses there): valid host and
   * port; and a transport that is a token (20.42, 25.1: sent-protocol).
   * Sofia-SIP takes "SIP/2.0/UDP0[2001:db8::1]" (no space before the host)
   * as transport "UDP0[2001:db8::1]" and host "[2001:db8::1]", and writes it
   * back in a form nothing parses (found by tests/fuzz/fuzz_parse). */
  for (sip_via_t const *via = sip->sip_via; via; via = via->v_next) {
    if (!ss_via_ok(via)) {
      ss_verdict(v, SIPSRV_REJECT, 400, "Malformed Via", "RFC 3261 20.42");
      return;
    }
  }
  /* RFC 3261 20.15: a body comes with its Content-Type. */
  if (sip->sip_payload && sip->sip_payload->pl_len && !sip->sip_content_type) {
    ss_verdict(v, SIPSRV_REJECT, 400, "Missing Content-Type", "RFC 3261 20.15");
    return;
  }
  /* Whatever else Sofia-SIP's own sanity check finds. */
  if (sip_sanity_check(sip) < 0) {
    ss_verdict(v, SIPSRV_REJECT, 400, "Bad Request", "RFC 3261 8.2");
    return;
  }
  ss_verdict(v, SIPSRV_ACCEPT, 0, "OK", NULL);
}

/* Judge a response Sofia-SIP parsed: anything wrong is a drop (RFC 3261 18.1.2). */
static void judge_response(sip_t const *sip, unsigned errs, sipsrv_verdict *v)
{
  sip_status_t const *st = sip->sip_status;

  if (!version_is_2_0(st->st_version))
    ss_verdict(v, SIPSRV_DROP, 0, "Response version not 2.0", "RFC 3261 7.2");
  else if (st->st_status < 100 || st->st_status > 699)
    ss_verdict(v, SIPSRV_DROP, 0, "Status code out of range", "RFC 4475 3.1.2.19");
  else if (!sip->sip_via || !sip->sip_from || !sip->sip_to || !sip->sip_call_id || !sip->sip_cseq)
    ss_verdict(v, SIPSRV_DROP, 0, "Response lacks a mandatory header", "RFC 3261 8.1.1");
  else if (errs & (sip_mask_response | sip_mask_proxy))
    ss_verdict(v, SIPSRV_DROP, 0, error_phrase(sip), "RFC 4475 3.1.2.5");
  else if (sip->sip_cseq->cs_seq > 0x7fffffffu)
    ss_verdict(v, SIPSRV_DROP, 0, "CSeq out of range", "RFC 3261 8.1.1.5");
  else
    ss_verdict(v, SIPSRV_ACCEPT, 0, "OK", NULL);
}

/* Framing rules of RFC 3261 18.3 and 20.14 that the raw scan decides.
 * Returns false and sets *v when the message breaks one. */
static bool judge_framing(const ss_head *h, size_t len, unsigned flags, sipsrv_verdict *v)
{
  sipsrv_action act = h->response ? SIPSRV_DROP : SIPSRV_REJECT;
  int status = h->response ? 0 : 400;

  if (h->bare_cr) {
    ss_verdict(v, act, status, "Bare CR in header", "RFC 3261 7");
    return false;
  }
  if (h->cl_count > 1) {
    ss_verdict(v, act, status, "Multiple Content-Length", "RFC 4475 3.3.9");
    return false;
  }
  if (h->cl_count == 1 && h->cl_bad) {
    ss_verdict(v, act, status, "Malformed Content-Length", "RFC 4475 3.1.2.3");
    return false;
  }
  if (h->cl_count == 0 && (flags & SIPSRV_PARSE_STREAM)) {
    ss_verdict(v, act, status, "Missing Content-Length", "RFC 3261 18.3");
    return false;
  }
  if (h->cl_count == 1 && h->cl > len - h->head_len) {
    ss_verdict(v, act, status, "Content-Length exceeds the message", "RFC 3261 18.3");
    return false;
  }
  return true;
}

/* RFC 3261 8.2.6.2 for a request answered 400: keep the raw values of the
 * copied fields Sofia-SIP could not parse (lines of [data, data + len),
 * the header section; folded lines joined with a space). */
static void keep_raw_fields(sipsrv_msg *sm, const char *data, size_t len)
{
  static const struct { const char *name; char compact; int idx; } f[] = {
    { "Via", 'v', SS_RAW_VIA }, { "From", 'f', SS_RAW_FROM }, { "To", 't', SS_RAW_TO },
    { "Call-ID", 'i', SS_RAW_CALL_ID }, { "CSeq", 0, SS_RAW_CSEQ },
  };
  sip_t const *sip = sm->sip;
  bool missing[SS_RAW_N] = { !sip->sip_via, !sip->sip_from, !sip->sip_to, !sip->sip_call_id,
                             !sip->sip_cseq };
  su_home_t *home = msg_home(sm->msg);
  const char *nl = memchr(data, '\n', len);
  size_t i = nl ? (size_t)(nl - data) + 1 : len;   /* past the start line */

  while (i < len) {
    size_t end = i, colon, vstart;
    char *val, *joined;
    size_t n = 0;
    int k = -1;
    /* The field: this line and its continuations (lines starting SP/HT). */
    for (;;) {
      const char *e = memchr(data + end, '\n', len - end);
      end = e ? (size_t)(e - data) + 1 : len;
      if (end >= len || (data[end] != ' ' && data[end] != '\t'))
        break;
    }
    if (end - i <= 2)
      break;                             /* the empty line */
    for (colon = i; colon < end && data[colon] != ':'; colon++)
      ;
    {
      size_t nlen = colon;
      while (nlen > i && (data[nlen - 1] == ' ' || data[nlen - 1] == '\t'))
        nlen--;
      for (size_t j = 0; j < sizeof f / sizeof f[0]; j++)
        if (colon < end && ss_header_name_is(data + i, nlen - i, f[j].name, f[j].compact))
          k = f[j].idx;
    }
    if (k >= 0 && missing[k]) {
      vstart = colon + 1;
      val = su_alloc(home, end - vstart + 1);
      if (!val)
        return;
      for (size_t j = vstart; j < end; j++) {
        char c = data[j];
        if (c == '\r' || c == '\n')
          c = ' ';
        if (c == ' ' && (n == 0 || val[n - 1] == ' '))
          continue;
        val[n++] = c;
      }
      while (n && val[n - 1] == ' ')
        n--;
      val[n] = '\0';
      /* The first of each, and every Via (all are copied, in order). */
      if (!sm->raw[k])
        sm->raw[k] = val;
      else if (k == SS_RAW_VIA && (joined = su_sprintf(home, "%s\n%s", sm->raw[k], val)))
        sm->raw[k] = joined;
    }
    i = end;
  }
}

int sipsrv_msg_parse(sipsrv_msg **out, const void *data, size_t len, unsigned flags,
                     sipsrv_verdict *v)
{
  ss_head h;
  parse_in in;
  msg_t *m;
  sip_t *sip;
  int ext = -1;
  unsigned errs;
  sipsrv_verdict framing;
  bool framing_ok;

  if (out)
    *out = NULL;
  if (!out || !v || (!data && len))
    return SIPSRV_E_INVAL;
  if (len == 0) {
    ss_verdict(v, SIPSRV_DROP, 0, "Empty message (keep-alive)", "RFC 5626 3.5.1");
    return SIPSRV_E_PARSE;
  }
  if (len > SIPSRV_MSG_MAX_DEFAULT) {
    ss_verdict(v, SIPSRV_DROP, 0, "Message too large", "RFC 3261 18.1.1");
    return SIPSRV_E_TOOBIG;
  }

  ss_scan_head(data, len, &h);
  if (h.skip == len) {
    ss_verdict(v, SIPSRV_DROP, 0, "Empty message (keep-alive)", "RFC 5626 3.5.1");
    return SIPSRV_E_PARSE;
  }
  memset(&in, 0, sizeof in);
  in.data = (const char *)data + h.skip;
  in.len = len - h.skip;
  if (!h.complete) {
    /* A datagram without the empty line (RFC 3261 7 wants it): its end ends
     * the headers, and the missing line ends are added, so that what is
     * parsed, edited and sent again is a whole message. */
    bool lf = in.data[in.len - 1] == '\n';
    h.head_len = in.len;
    if (!h.start_len)
      h.start_len = in.len - (lf ? 1 : 0) - (lf && in.len > 1 && in.data[in.len - 2] == '\r');
    in.tail = lf ? "\r\n" : "\r\n\r\n";
    in.tail_len = lf ? 2 : 4;
    h.bare_cr = ss_has_bare_cr(in.data, in.len);
  }
  in.head_len = h.head_len;
  in.start_len = h.start_len;
  in.response = h.response;

  framing_ok = judge_framing(&h, in.len, flags, &framing);
  if (!framing_ok) {
    /* Parse the headers alone so the error can still be answered. */
    in.len = in.head_len;
  }

  m = sofia_parse(&in, &ext);
  if (!m) {
    ss_verdict(v, SIPSRV_DROP, 0, "Out of memory", NULL);
    return SIPSRV_E_NOMEM;
  }
  sip = sip_object(m);
  if (!h.response && (!sip || !sip->sip_request)) {
    /* The request line is malformed: read the headers under a placeholder so
     * the 400 can be answered. */
    msg_destroy(m);
    in.dummy_start = true;
    m = sofia_parse(&in, &ext);
    if (!m) {
      ss_verdict(v, SIPSRV_DROP, 0, "Out of memory", NULL);
      return SIPSRV_E_NOMEM;
    }
    sip = sip_object(m);
    if (framing_ok)
      ss_verdict(v, SIPSRV_REJECT, 400, "Malformed Request-Line", "RFC 3261 7.1");
    else
      *v = framing;
    if (!sip) {
      msg_destroy(m);
      return SIPSRV_E_PARSE;
    }
    *out = ss_msg_wrap(m);
    if (*out && v->action == SIPSRV_REJECT)
      keep_raw_fields(*out, in.data, h.complete ? h.head_len : in.len);
    if (*out && !sip->sip_via && !(*out)->raw[SS_RAW_VIA]) {
      sipsrv_msg_free(*out);             /* nowhere to answer: dropped */
      *out = NULL;
      return SIPSRV_E_PARSE;
    }
    return *out ? 0 : SIPSRV_E_NOMEM;
  }
  if (!sip || (!sip->sip_request && !sip->sip_status)) {
    msg_destroy(m);
    ss_verdict(v, SIPSRV_DROP, 0, "Malformed Status-Line", "RFC 3261 7.2");
    return SIPSRV_E_PARSE;
  }

  errs = msg_extract_errors(m);
  if (!framing_ok)
    *v = framing;
  else if (in.masked_nul && sip->sip_request)
    ss_verdict(v, SIPSRV_REJECT, 400, "NUL octet in header", "RFC 3261 25.1");
  else if (in.masked_nul)
    ss_verdict(v, SIPSRV_DROP, 0, "NUL octet in header", "RFC 3261 25.1");
  else if (sip->sip_request)
    judge_request(sip, errs, v);
  else
    judge_response(sip, errs, v);

  /* Whatever made msg_extract() fail and was not named above. */
  if (ext <= 0 && v->action == SIPSRV_ACCEPT) {
    const char *why = ext < 0 ? error_phrase(sip) : "Incomplete message";
    if (sip->sip_request)
      ss_verdict(v, SIPSRV_REJECT, 400, why, "RFC 3261 7.3.1");
    else
      ss_verdict(v, SIPSRV_DROP, 0, why, "RFC 3261 7.3.1");
  }
  *out = ss_msg_wrap(m);
  if (*out && v->action == SIPSRV_ACCEPT) {
    (*out)->wire = in.wire;
    (*out)->wire_len = in.wire_len;
  }
  if (*out && sip->sip_request && v->action == SIPSRV_REJECT &&
      (!sip->sip_via || !sip->sip_from || !sip->sip_to || !sip->sip_call_id || !sip->sip_cseq))
    keep_raw_fields(*out, in.data, h.complete ? h.head_len : in.len);
  return *out ? 0 : SIPSRV_E_NOMEM;
}
