/* libFuzzer target: the message layer (sipsrv/msg.h) on arbitrary bytes.
 *
 * Each input is parsed as a datagram (flags 0) and as a framed stream message
 * (SIPSRV_PARSE_STREAM). For every message that comes out:
 *  - every field accessor is read (ASan sees every byte of every string);
 *  - a reject verdict is answered with sipsrv_msg_reply_verdict() and the
 *    reply is serialized;
 *  - an accepted request goes through sipsrv_msg_check() with every flag, a
 *    200 reply (serialized, re-parsed: must be an accepted response with the
 *    same Call-ID and CSeq), then the edits a proxy makes (received/rport,
 *    Max-Forwards, Record-Route push, Route pop, Via push), and is serialized
 *    and re-parsed: the result must be accepted, keep its Call-ID and CSeq,
 *    and show the edits; serializing the re-parsed message must give back the
 *    same bytes (zero-copy: unedited fields go out as they came in).
 * See README.md for the list of invariant names (SIPSRV_FUZZ_SKIP). */
#define _POSIX_C_SOURCE 200809L /* strdup */

#include <sipsrv/error.h>
#include <sipsrv/msg.h>
#include <sipsrv/sofia.h> /* opt-in: only to sort inputs under known findings */

#include "fuzz_common.h"

#include <stdint.h>

/* Upper bound on list walks, far above what an 8 KB input can hold. */
#define LIST_MAX 100000

/* The known finding (README.md) the current input falls under, or NULL: the
 * round-trip checks then go by its name, so that SIPSRV_FUZZ_SKIP can set it
 * aside without blinding the checks for other inputs. */
static const char *g_known;

#define NAME(n) (g_known ? g_known : (n))

/* Finding 2: a datagram whose header section has no empty line. Finding 3: a
 * bare CR (not followed by LF) in the header section, which Sofia-SIP takes
 * for a line end and scan.c does not. */
static const char *classify(const uint8_t *d, size_t n)
{
  size_t i = 0, end;
  while (i < n && (d[i] == '\r' || d[i] == '\n'))
    i++;
  for (end = i; end + 1 < n; end++)
    if (d[end] == '\n' && (d[end + 1] == '\n' || (d[end + 1] == '\r' && end + 2 < n &&
                                                   d[end + 2] == '\n')))
      break;
  for (size_t k = i; k < end && k < n; k++)
    if (d[k] == '\r' && (k + 1 >= n || d[k + 1] != '\n'))
      return "bare-cr";
  if (end + 1 >= n)
    return "unterminated-datagram";
  return NULL;
}

/* Finding 4: a sip/sips URI with a path ("sip:b@h/x", "sip:e:/>"), which
 * Sofia-SIP accepts and then prints without its '/'. */
static bool url_has_path(url_t const *u)
{
  return u && (u->url_type == url_sip || u->url_type == url_sips) && u->url_path;
}

static const char *classify_msg(sipsrv_msg *m)
{
  sip_t const *sip = sipsrv_msg_sip(m);
  if (sip->sip_request && url_has_path(sip->sip_request->rq_url))
    return "sip-uri-path";
  if ((sip->sip_from && url_has_path(sip->sip_from->a_url)) ||
      (sip->sip_to && url_has_path(sip->sip_to->a_url)))
    return "sip-uri-path";
  for (sip_contact_t const *c = sip->sip_contact; c; c = c->m_next)
    if (url_has_path(c->m_url))
      return "sip-uri-path";
  for (int i = 0; i < 3; i++)
    for (sip_route_t const *r = i == 0 ? sip->sip_route : i == 1 ? sip->sip_record_route
                                                                 : sip->sip_path;
         r; r = r->r_next)
      if (url_has_path(r->r_url))
        return "sip-uri-path";
  return NULL;
}

/* ---- reading ------------------------------------------------------------ */

static void read_uri(const sipsrv_uri *u)
{
  fz_touch(u->scheme);
  fz_touch(u->user);
  fz_touch(u->password);
  fz_touch(u->host);
  fz_touch(u->port);
  fz_touch(u->params);
  fz_touch(u->headers);
  fz_touch(u->opaque);
}

static void read_addr(const sipsrv_addr *a)
{
  const char *val;
  fz_touch(a->display);
  read_uri(&a->uri);
  fz_touch(a->tag);
  fz_touch_list(a->params);
  if (sipsrv_param_find(a->params, "tag", &val) == 0)
    fz_touch(val);
  if (sipsrv_param_find(a->params, "lr", &val) == 0)
    fz_touch(val);
}

/* A header read with sipsrv_msg_header(): the length is the same whatever the
 * buffer size (documented "as snprintf"), and the buffer is NUL-terminated. */
static void read_header(const sipsrv_msg *m, const char *name)
{
  for (int i = 0; i < LIST_MAX; i++) {
    char small[8];
    int n0 = sipsrv_msg_header(m, name, i, NULL, 0);
    if (n0 == SIPSRV_E_NOTFOUND)
      break;
    if (!fz_ok("header-rc", n0 >= 0))
      break;
    int n1 = sipsrv_msg_header(m, name, i, small, sizeof small);
    char *big = malloc((size_t)n0 + 1);
    int n2 = sipsrv_msg_header(m, name, i, big, (size_t)n0 + 1);
    fz_ok("header-len", n1 == n0 && n2 == n0);
    fz_ok("header-nul", memchr(small, '\0', sizeof small) != NULL);
    if (n2 >= 0)
      fz_ok("header-nul", strlen(big) <= (size_t)n2);
    free(big);
  }
}

static void read_fields(const sipsrv_msg *m)
{
  sipsrv_uri uri;
  sipsrv_via via;
  sipsrv_addr addr;
  uint32_t seq, ex;
  const char *method;
  const void *body;
  size_t body_len;
  int n;

  (void)sipsrv_msg_is_request(m);
  (void)sipsrv_msg_method(m);
  fz_touch(sipsrv_msg_method_name(m));
  (void)sipsrv_msg_status(m);
  fz_touch(sipsrv_msg_phrase(m));

  if (sipsrv_msg_request_uri(m, &uri) == 0)
    read_uri(&uri);
  n = sipsrv_msg_request_uri_str(m, NULL, 0);
  if (n >= 0) {
    char small[8];
    char *big = malloc((size_t)n + 1);
    int n1 = sipsrv_msg_request_uri_str(m, small, sizeof small);
    int n2 = sipsrv_msg_request_uri_str(m, big, (size_t)n + 1);
    fz_ok("uri-str-len", n1 == n && n2 == n);
    fz_ok("uri-str-len", strlen(big) <= (size_t)n);
    free(big);
  }

  n = sipsrv_msg_via_count(m);
  for (int i = 0; i < n; i++) {
    if (!fz_ok("via-count", sipsrv_msg_via(m, i, &via) == 0))
      break;
    fz_touch(via.protocol);
    fz_touch(via.transport);
    fz_touch(via.host);
    fz_touch(via.port);
    fz_touch(via.branch);
    fz_touch(via.received);
    fz_touch(via.rport);
    fz_touch(via.maddr);
    fz_touch(via.ttl);
    fz_touch_list(via.params);
  }
  fz_ok("via-count", sipsrv_msg_via(m, n, &via) == SIPSRV_E_NOTFOUND);

  if (sipsrv_msg_from(m, &addr) == 0)
    read_addr(&addr);
  if (sipsrv_msg_to(m, &addr) == 0)
    read_addr(&addr);
  for (int h = SIPSRV_HDR_CONTACT; h <= SIPSRV_HDR_PATH; h++)
    for (int i = 0; i < LIST_MAX && sipsrv_msg_addr(m, (sipsrv_addr_hdr)h, i, &addr) == 0; i++)
      read_addr(&addr);

  fz_touch(sipsrv_msg_call_id(m));
  if (sipsrv_msg_cseq(m, &seq, &method) == 0)
    fz_touch(method);
  (void)sipsrv_msg_max_forwards(m);
  (void)sipsrv_msg_expires(m, &ex);
  if (fz_ok("body-rc", sipsrv_msg_body(m, &body, &body_len) == 0) && body_len) {
    const unsigned char *b = body;
    unsigned sum = 0;
    for (size_t i = 0; i < body_len; i++)
      sum += b[i];
    fz_sink += sum;
  }

  read_header(m, "Via");
  read_header(m, "v");
  read_header(m, "X-Unknown");
  read_header(m, "Call-ID");
  read_header(m, "Content-Length");
}

static int count_addr(const sipsrv_msg *m, sipsrv_addr_hdr h)
{
  sipsrv_addr a;
  int i = 0;
  while (i < LIST_MAX && sipsrv_msg_addr(m, h, i, &a) == 0)
    i++;
  return i;
}

/* ---- serializing ---------------------------------------------------------- */

/* True when the bytes hold an empty line (the end of a header section). */
static bool has_empty_line(const char *b, size_t n)
{
  for (size_t i = 0; i + 1 < n; i++)
    if (b[i] == '\n' && (b[i + 1] == '\n' || (b[i + 1] == '\r' && i + 2 < n && b[i + 2] == '\n')))
      return true;
  return false;
}

/* Serialize into a malloc'ed buffer. Checks the documented contract: the
 * length does not depend on the buffer, a too-small buffer is left alone, and
 * two serializations give the same bytes. NULL on failure. */
static char *serialize(sipsrv_msg *m, size_t *len)
{
  long n = sipsrv_msg_serialize(m, NULL, 0);
  char *buf, *again;
  long n2, n3;

  if (n == SIPSRV_E_NOMEM || !fz_ok("serialize-rc", n > 0))
    return NULL;
  buf = malloc((size_t)n);
  again = malloc((size_t)n);
  memset(again, 0xa5, (size_t)n);
  n2 = sipsrv_msg_serialize(m, buf, (size_t)n);
  n3 = sipsrv_msg_serialize(m, again, (size_t)n - 1);
  fz_ok("serialize-small", n3 == n && again[0] == (char)0xa5 && again[n - 2] == (char)0xa5);
  /* RFC 3261 7: the header section ends with an empty line, always. */
  fz_ok(NAME("serialize-empty-line"), has_empty_line(buf, (size_t)n));
  n3 = sipsrv_msg_serialize(m, again, (size_t)n);
  if (!fz_ok("serialize-stable", n2 == n && n3 == n && memcmp(buf, again, (size_t)n) == 0)) {
    free(buf);
    buf = NULL;
  }
  free(again);
  *len = (size_t)n;
  return buf;
}

/* Print a verdict that broke an invariant (fz_context() prints the bytes). */
static void dump_verdict(const char *what, int rc, const sipsrv_verdict *v)
{
  fprintf(stderr, "%s: rc=%d action=%d status=%d phrase=%s rfc=%s\n", what, rc, (int)v->action,
          v->status, v->phrase ? v->phrase : "(null)", v->rfc ? v->rfc : "(null)");
}

/* ---- replies -------------------------------------------------------------- */

/* Answer a reject verdict; the reply must carry its status. */
static void answer_reject(const sipsrv_msg *req, const sipsrv_verdict *v, unsigned flags)
{
  sipsrv_msg *r = NULL, *r2 = NULL;
  sipsrv_verdict rv;
  char *bytes;
  size_t len;
  int rc = sipsrv_msg_reply_verdict(&r, req, v);

  if (!fz_ok("reply-verdict-rc", rc == 0 || rc == SIPSRV_E_INVAL || rc == SIPSRV_E_NOMEM) ||
      rc != 0)
    return;
  fz_ok("reply-verdict-status", sipsrv_msg_status(r) == v->status);
  read_fields(r);
  bytes = serialize(r, &len);
  if (bytes) {
    /* The answer to a malformed request may itself be malformed (it copies
     * the request's fields): only parsed, for coverage. */
    if (sipsrv_msg_parse(&r2, bytes, len, flags, &rv) == 0)
      read_fields(r2);
    sipsrv_msg_free(r2);
    free(bytes);
  }
  sipsrv_msg_free(r);
}

/* A 200 to an accepted request must serialize and re-parse as an accepted
 * response with the request's Call-ID, CSeq and Vias, and a To tag. */
static void answer_200(const sipsrv_msg *req, unsigned flags, const char *call_id, uint32_t cseq)
{
  sipsrv_msg *r = NULL, *r2 = NULL;
  sipsrv_verdict rv;
  sipsrv_addr to;
  uint32_t seq2 = 0;
  char *bytes;
  size_t len = 0;
  int rc = sipsrv_msg_reply(&r, req, 200, NULL, NULL);

  const char *method = NULL;
  const char *accept_name = NAME("reply-reparse-accept");

  if (rc == SIPSRV_E_NOMEM || !fz_ok("reply-rc", rc == 0))
    return;
  /* Finding 1 (README.md): a response whose CSeq method holds '+' or '`'
   * does not parse. Named apart so that it can be skipped on its own. */
  if (sipsrv_msg_cseq(req, NULL, &method) == 0 && method && strpbrk(method, "+`"))
    accept_name = "reply-reparse-method";
  bytes = serialize(r, &len);
  if (bytes) {
    fz_context("serialized 200", bytes, len);
    rc = sipsrv_msg_parse(&r2, bytes, len, flags, &rv);
    if (!(rc == 0 && rv.action == SIPSRV_ACCEPT && !sipsrv_msg_is_request(r2)) &&
        !fz_skipped(accept_name))
      dump_verdict("reply re-parse", rc, &rv);
    if (fz_ok(accept_name,
              rc == 0 && rv.action == SIPSRV_ACCEPT && !sipsrv_msg_is_request(r2))) {
      const char *cid2 = sipsrv_msg_call_id(r2);
      fz_ok(NAME("reply-reparse-status"), sipsrv_msg_status(r2) == 200);
      fz_ok(NAME("reply-reparse-call-id"), cid2 && strcmp(cid2, call_id) == 0);
      fz_ok(NAME("reply-reparse-cseq"), sipsrv_msg_cseq(r2, &seq2, NULL) == 0 && seq2 == cseq);
      fz_ok(NAME("reply-reparse-vias"), sipsrv_msg_via_count(r2) == sipsrv_msg_via_count(req));
      fz_ok(NAME("reply-reparse-to-tag"), sipsrv_msg_to(r2, &to) == 0 && to.tag && *to.tag);
      read_fields(r2);
    }
    fz_context(NULL, NULL, 0);
    sipsrv_msg_free(r2);
    free(bytes);
  }
  sipsrv_msg_free(r);
}

/* ---- the proxy path ------------------------------------------------------- */

static void proxy(sipsrv_msg *m, unsigned flags)
{
  static const char *const supported[] = { "100rel", "timer", "path", NULL };
  static const char *const methods[] = { "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS",
                                         "REGISTER", "NEWMETHOD2", NULL };
  static const char *const accept[] = { "application/*", "text/plain", "multipart/mixed", NULL };
  static const char *const encodings[] = { "gzip", NULL };
  const unsigned all = SIPSRV_CHECK_MAX_FORWARDS | SIPSRV_CHECK_PROXY_REQUIRE |
                       SIPSRV_CHECK_REQUIRE | SIPSRV_CHECK_CONTENT;
  /* A proxy (any method, default schemes and bodies), then a UAS. */
  const sipsrv_check_cfg cfgs[2] = {
    { all, supported, NULL, NULL, NULL, NULL },
    { all, supported, NULL, methods, accept, encodings },
  };
  sipsrv_verdict cv, v2;
  sipsrv_via top, via;
  sipsrv_addr rr;
  sipsrv_msg *m2 = NULL;
  const char *cid, *saved_known;
  char *call_id, *bytes = NULL, *bytes2;
  uint32_t cseq = 0, seq2 = 0;
  int vias, routes, rrs, mf0, mf, want_mf, rc;
  bool had_rport;
  size_t len = 0, len2 = 0;

  for (int c = 0; c < 2; c++) {
    memset(&cv, 0x5a, sizeof cv);
    if (!fz_ok("check-rc", sipsrv_msg_check(m, &cfgs[c], &cv) == 0))
      return;
    fz_ok("check-verdict", (cv.action == SIPSRV_ACCEPT || cv.action == SIPSRV_REJECT) &&
                               cv.phrase &&
                               memchr(cv.header, '\0', sizeof cv.header) != NULL);
    if (cv.action == SIPSRV_REJECT)
      answer_reject(m, &cv, flags);
  }
  read_fields(m);

  /* What the edits must keep or change. An accepted request has them all
   * (RFC 3261 8.1.1). */
  cid = sipsrv_msg_call_id(m);
  if (!fz_ok("accept-mandatory", cid && sipsrv_msg_cseq(m, &cseq, NULL) == 0 &&
                                     sipsrv_msg_via(m, 0, &top) == 0))
    return;
  call_id = strdup(cid);
  saved_known = g_known;
  if (!g_known)
    g_known = classify_msg(m);
  vias = sipsrv_msg_via_count(m);
  routes = count_addr(m, SIPSRV_HDR_ROUTE);
  rrs = count_addr(m, SIPSRV_HDR_RECORD_ROUTE);
  had_rport = top.rport != NULL;
  mf0 = sipsrv_msg_max_forwards(m);

  /* A UAS answers the request as received. */
  answer_200(m, flags, call_id, cseq);

  /* RFC 3261 16.6: what a proxy does to a request it forwards. */
  rc = sipsrv_msg_via_set_received(m, "192.0.2.1", 5060);
  fz_ok("edit-rc", rc == 0 || rc == SIPSRV_E_NOMEM);
  mf = sipsrv_msg_max_forwards_dec(m);
  want_mf = mf0 == SIPSRV_E_NOTFOUND ? 70 : mf0 == 0 ? SIPSRV_E_STATE : mf0 - 1;
  fz_ok("edit-max-forwards", mf == want_mf || mf == SIPSRV_E_NOMEM);
  if (mf == SIPSRV_E_STATE)
    want_mf = 0;
  rc = sipsrv_msg_addr_push(m, SIPSRV_HDR_RECORD_ROUTE, "<sip:192.0.2.1;lr>", 0);
  fz_ok("edit-rc", rc == 0 || rc == SIPSRV_E_NOMEM);
  rc = sipsrv_msg_addr_pop(m, SIPSRV_HDR_ROUTE);
  fz_ok("edit-rc", rc == (routes ? 0 : SIPSRV_E_NOTFOUND));
  rc = sipsrv_msg_via_push(m, "UDP", "192.0.2.1", 5060, "z9hG4bKfuzz", 1);
  fz_ok("edit-rc", rc == 0 || rc == SIPSRV_E_NOMEM);
  read_fields(m);

  bytes = serialize(m, &len);
  if (!bytes)
    goto out;
  fz_context("serialized edited request", bytes, len);
  rc = sipsrv_msg_parse(&m2, bytes, len, flags, &v2);
  if (!(rc == 0 && v2.action == SIPSRV_ACCEPT) && !fz_skipped(NAME("reparse-accept")))
    dump_verdict("edited request re-parse", rc, &v2);
  if (!fz_ok(NAME("reparse-accept"), rc == 0 && v2.action == SIPSRV_ACCEPT && sipsrv_msg_is_request(m2)))
    goto out;
  cid = sipsrv_msg_call_id(m2);
  fz_ok(NAME("reparse-call-id"), cid && strcmp(cid, call_id) == 0);
  fz_ok(NAME("reparse-cseq"), sipsrv_msg_cseq(m2, &seq2, NULL) == 0 && seq2 == cseq);

  /* The edits are on the wire, not only in the parsed object. */
  fz_ok(NAME("reparse-edit-via"), sipsrv_msg_via_count(m2) == vias + 1 &&
                                sipsrv_msg_via(m2, 0, &via) == 0 && via.branch &&
                                strcmp(via.branch, "z9hG4bKfuzz") == 0);
  if (sipsrv_msg_via(m2, 1, &via) == 0) {
    fz_ok(NAME("reparse-edit-received"), via.received && strcmp(via.received, "192.0.2.1") == 0);
    if (had_rport)
      fz_ok(NAME("reparse-edit-rport"), via.rport && strcmp(via.rport, "5060") == 0);
  }
  fz_ok(NAME("reparse-edit-max-forwards"), sipsrv_msg_max_forwards(m2) == want_mf);
  fz_ok(NAME("reparse-edit-record-route"),
        count_addr(m2, SIPSRV_HDR_RECORD_ROUTE) == rrs + 1 &&
            sipsrv_msg_addr(m2, SIPSRV_HDR_RECORD_ROUTE, 0, &rr) == 0 && rr.uri.host &&
            strcmp(rr.uri.host, "192.0.2.1") == 0);
  fz_ok(NAME("reparse-edit-route"), count_addr(m2, SIPSRV_HDR_ROUTE) == (routes ? routes - 1 : 0));

  /* Zero-copy: a message that was not edited and whose Content-Length is
   * right serializes to the bytes it was parsed from. */
  bytes2 = serialize(m2, &len2);
  if (bytes2)
    fz_ok(NAME("reserialize-identical"), len2 == len && memcmp(bytes, bytes2, len) == 0);
  free(bytes2);

  /* Serialization fixes Content-Length, so a stream parse accepts it too. */
  if (!(flags & SIPSRV_PARSE_STREAM)) {
    sipsrv_msg_free(m2);
    m2 = NULL;
    rc = sipsrv_msg_parse(&m2, bytes, len, SIPSRV_PARSE_STREAM, &v2);
    if (!(rc == 0 && v2.action == SIPSRV_ACCEPT) && !fz_skipped(NAME("reparse-stream-accept")))
      dump_verdict("edited request stream re-parse", rc, &v2);
    fz_ok(NAME("reparse-stream-accept"), rc == 0 && v2.action == SIPSRV_ACCEPT);
  }

out:
  g_known = saved_known;
  fz_context(NULL, NULL, 0);
  sipsrv_msg_free(m2);
  free(bytes);
  free(call_id);
}

/* ---- one parse ------------------------------------------------------------ */

static int exercise(const uint8_t *data, size_t size, unsigned flags)
{
  sipsrv_msg *m = NULL;
  sipsrv_verdict v;
  int rc;

  memset(&v, 0x5a, sizeof v);
  rc = sipsrv_msg_parse(&m, data, size, flags, &v);
  fz_ok("parse-rc", rc == 0 || rc == SIPSRV_E_PARSE || rc == SIPSRV_E_TOOBIG ||
                        rc == SIPSRV_E_NOMEM);
  fz_ok("parse-out", (rc == 0) == (m != NULL));
  fz_ok("parse-verdict", v.action == SIPSRV_ACCEPT || v.action == SIPSRV_REJECT ||
                             v.action == SIPSRV_DROP);
  fz_ok("parse-verdict", v.phrase != NULL);
  fz_ok("parse-verdict", v.action != SIPSRV_REJECT || (v.status >= 400 && v.status <= 699));
  fz_ok("parse-verdict", v.action != SIPSRV_ACCEPT || rc == 0);
  if (!m)
    return rc == 0 ? -1 : (int)v.action;
  fz_touch(v.phrase);
  fz_touch(v.rfc);

  read_fields(m);
  if (v.action == SIPSRV_REJECT)
    answer_reject(m, &v, flags);
  else if (v.action == SIPSRV_ACCEPT && sipsrv_msg_is_request(m))
    proxy(m, flags);
  else if (v.action == SIPSRV_ACCEPT) {
    /* An accepted response: a stateless proxy pops its Via and forwards it. */
    char *bytes;
    size_t len;
    int n = sipsrv_msg_via_count(m);
    fz_ok("edit-rc", sipsrv_msg_via_pop(m) == (n ? 0 : SIPSRV_E_NOTFOUND));
    bytes = serialize(m, &len);
    free(bytes);
  }
  sipsrv_msg_free(m);
  return (int)v.action;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  fz_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  g_known = classify(data, size);
  int dgram = exercise(data, size, 0);
  int stream = exercise(data, size, SIPSRV_PARSE_STREAM);

  /* The stream parse only adds a rule (Content-Length required): what it
   * accepts, the datagram parse accepts. */
  fz_ok("stream-implies-datagram", stream != SIPSRV_ACCEPT || dgram == SIPSRV_ACCEPT);
  return 0;
}
