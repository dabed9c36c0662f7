/* Conformance: every message of the RFC 4475 and RFC 5118 corpora
 * (../shared/conformance) gets the parse-level verdict INDEX.tsv calls for,
 * and every valid one survives serialize -> parse, unedited and edited, with
 * the same fields. */
#define _GNU_SOURCE /* memmem */
#include <check.h>
#include <sipsrv/sipsrv.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What INDEX.tsv's server_action asks, reduced to what the message layer decides. */
typedef enum expect {
  ACCEPT,      /* parse and accept */
  REJECT,      /* answer `status` at parse */
  DROP,        /* a bad response: drop silently */
  TOLERATE,    /* RFC 4475 lets a server reject with 400 or tolerate it */
  CHECK        /* valid syntax; sipsrv_msg_check() with `flags` answers `status` */
} expect;

typedef struct verdict_case {
  const char *name;
  expect expect;
  int status;
  unsigned flags;
} verdict_case;

/* RFC 4475, section by section (the rfc4475_section column of INDEX.tsv). */
static const verdict_case rfc4475_cases[] = {
  { "wsinv", ACCEPT, 0, 0 },        /* 3.1.1.1 */
  { "intmeth", ACCEPT, 0, 0 },      /* 3.1.1.2 */
  { "esc01", ACCEPT, 0, 0 },        /* 3.1.1.3 */
  { "escnull", ACCEPT, 0, 0 },      /* 3.1.1.4 */
  { "esc02", ACCEPT, 0, 0 },        /* 3.1.1.5 */
  { "lwsdisp", ACCEPT, 0, 0 },      /* 3.1.1.6 */
  { "longreq", ACCEPT, 0, 0 },      /* 3.1.1.7 */
  { "dblreq", ACCEPT, 0, 0 },       /* 3.1.1.8 */
  { "semiuri", ACCEPT, 0, 0 },      /* 3.1.1.9 */
  { "transports", ACCEPT, 0, 0 },   /* 3.1.1.10 */
  { "mpart01", ACCEPT, 0, 0 },      /* 3.1.1.11 */
  { "unreason", ACCEPT, 0, 0 },     /* 3.1.1.12 */
  { "noreason", ACCEPT, 0, 0 },     /* 3.1.1.13 */
  { "badinv01", REJECT, 400, 0 },   /* 3.1.2.1 */
  { "clerr", REJECT, 400, 0 },      /* 3.1.2.2 (UDP) */
  { "ncl", REJECT, 400, 0 },        /* 3.1.2.3 */
  { "scalar02", REJECT, 400, 0 },   /* 3.1.2.4 */
  { "scalarlg", DROP, 0, 0 },       /* 3.1.2.5 */
  { "quotbal", TOLERATE, 400, 0 },  /* 3.1.2.6 */
  { "ltgtruri", REJECT, 400, 0 },   /* 3.1.2.7: liberal acceptance would forward the <> */
  { "lwsruri", REJECT, 400, 0 },    /* 3.1.2.8 */
  { "lwsstart", TOLERATE, 400, 0 }, /* 3.1.2.9 */
  { "trws", TOLERATE, 400, 0 },     /* 3.1.2.10 */
  { "escruri", REJECT, 400, 0 },    /* 3.1.2.11: headers are not allowed in a Request-URI */
  { "baddate", ACCEPT, 0, 0 },      /* 3.1.2.12: Date does not matter here: ignored */
  { "regbadct", TOLERATE, 400, 0 }, /* 3.1.2.13 */
  { "badaspec", TOLERATE, 400, 0 }, /* 3.1.2.14 */
  { "baddn", TOLERATE, 400, 0 },    /* 3.1.2.15 */
  { "badvers", REJECT, 505, 0 },    /* 3.1.2.16 */
  { "mismatch01", REJECT, 400, 0 }, /* 3.1.2.17 */
  { "mismatch02", REJECT, 501, 0 }, /* 3.1.2.18 */
  { "bigcode", DROP, 0, 0 },        /* 3.1.2.19 */
  { "badbranch", ACCEPT, 0, 0 },    /* 3.2.1: RFC 2543 matching, a transaction-layer matter */
  { "insuf", REJECT, 400, 0 },      /* 3.3.1 */
  { "unkscm", CHECK, 416, 0 },      /* 3.3.2 */
  { "novelsc", CHECK, 416, 0 },     /* 3.3.3 */
  { "unksm2", ACCEPT, 0, 0 },       /* 3.3.4: the registrar's To check is the registrar's */
  { "bext01", CHECK, 420, SIPSRV_CHECK_REQUIRE | SIPSRV_CHECK_PROXY_REQUIRE }, /* 3.3.5 */
  { "invut", ACCEPT, 0, 0 },        /* 3.3.6: 415 is the UAS's decision */
  { "regaut01", ACCEPT, 0, 0 },     /* 3.3.7 */
  { "multi01", REJECT, 400, 0 },    /* 3.3.8 */
  { "mcl01", REJECT, 400, 0 },      /* 3.3.9 */
  { "bcast", ACCEPT, 0, 0 },        /* 3.3.10: parses; not forwarding it is the proxy's */
  { "zeromf", CHECK, 483, SIPSRV_CHECK_MAX_FORWARDS }, /* 3.3.11 */
  { "cparam01", ACCEPT, 0, 0 },     /* 3.3.12 */
  { "cparam02", ACCEPT, 0, 0 },     /* 3.3.13 */
  { "regescrt", ACCEPT, 0, 0 },     /* 3.3.14 */
  { "sdp01", ACCEPT, 0, 0 },        /* 3.3.15: 406 is the UAS's decision */
  { "inv2543", ACCEPT, 0, 0 },      /* 3.4.1 */
};

/* RFC 5118 (the sendable wire/ copies). */
static const verdict_case rfc5118_cases[] = {
  { "ipv6-good", ACCEPT, 0, 0 },                    /* 4.1 */
  { "ipv6-bad", REJECT, 400, 0 },                   /* 4.2 */
  { "port-ambiguous", ACCEPT, 0, 0 },               /* 4.3 */
  { "port-unambiguous", ACCEPT, 0, 0 },             /* 4.4 */
  { "via-received-param-with-delim", ACCEPT, 0, 0 },/* 4.5 */
  { "via-received-param-no-delim", ACCEPT, 0, 0 },  /* 4.5 */
  { "ipv6-in-sdp", ACCEPT, 0, 0 },                  /* 4.6 */
  { "mult-ip-in-header", ACCEPT, 0, 0 },            /* 4.7 */
  { "mult-ip-in-sdp", ACCEPT, 0, 0 },               /* 4.8 */
  { "ipv4-mapped-ipv6", ACCEPT, 0, 0 },             /* 4.9 */
  { "ipv6-bug-abnf-3-colons", ACCEPT, 0, 0 },       /* 4.10 */
  { "ipv6-correct-abnf-2-colons", ACCEPT, 0, 0 },   /* 4.10 */
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

typedef struct corpus {
  const char *sub;          /* directory under conformance_dir() */
  const char *index;        /* its INDEX.tsv, relative to conformance_dir() */
  const verdict_case *cases;
  size_t n;
} corpus;

static const corpus corpora[] = {
  { "rfc4475", "rfc4475/INDEX.tsv", rfc4475_cases, N(rfc4475_cases) },
  { "rfc5118/wire", "rfc5118/INDEX.tsv", rfc5118_cases, N(rfc5118_cases) },
};

static char *load(const char *sub, const char *name, size_t *len)
{
  char path[1024];
  char *data;
  snprintf(path, sizeof path, "%s/%s/%s.dat", conformance_dir(), sub, name);
  data = read_file(path, len);
  ck_assert_msg(data != NULL, "cannot read %s", path);
  return data;
}

/* ---- comparing two parses of one message ------------------------------ */

static void same_str(const char *what, const char *name, const char *a, const char *b)
{
  if (!a || !b)
    ck_assert_msg(a == b, "%s: %s differs (%s vs %s)", name, what, a ? a : "(null)",
                  b ? b : "(null)");
  else
    ck_assert_msg(strcmp(a, b) == 0, "%s: %s differs (%s vs %s)", name, what, a, b);
}

static void same_uri(const char *what, const char *name, const sipsrv_uri *a, const sipsrv_uri *b)
{
  same_str(what, name, a->scheme, b->scheme);
  same_str(what, name, a->user, b->user);
  same_str(what, name, a->host, b->host);
  same_str(what, name, a->port, b->port);
  same_str(what, name, a->params, b->params);
  same_str(what, name, a->headers, b->headers);
}

static void same_addr(const char *what, const char *name, const sipsrv_addr *a,
                      const sipsrv_addr *b)
{
  same_uri(what, name, &a->uri, &b->uri);
  same_str(what, name, a->tag, b->tag);
  same_str(what, name, a->display, b->display);
}

/* Compare every field the roles read. Via `skip_a` values are skipped at the
 * top of a (those pushed by an edit). */
static void same_fields(const char *name, sipsrv_msg *a, sipsrv_msg *b, int skip_via, int mf_delta)
{
  sipsrv_addr aa, ba;
  sipsrv_via av, bv;
  uint32_t as = 0, bs = 0;
  const char *am = NULL, *bm = NULL;
  const void *ab, *bb;
  size_t al, bl;
  char auri[2048], buri[2048];

  ck_assert_int_eq(sipsrv_msg_is_request(a), sipsrv_msg_is_request(b));
  ck_assert_int_eq(sipsrv_msg_status(a), sipsrv_msg_status(b));
  same_str("method", name, sipsrv_msg_method_name(a), sipsrv_msg_method_name(b));
  ck_assert_int_eq(sipsrv_msg_method(a), sipsrv_msg_method(b));
  if (sipsrv_msg_is_request(a)) {
    ck_assert_int_ge(sipsrv_msg_request_uri_str(a, auri, sizeof auri), 1);
    ck_assert_int_ge(sipsrv_msg_request_uri_str(b, buri, sizeof buri), 1);
    same_str("Request-URI", name, auri, buri);
  } else {
    same_str("phrase", name, sipsrv_msg_phrase(a), sipsrv_msg_phrase(b));
  }
  ck_assert_int_eq(sipsrv_msg_via_count(a) + skip_via, sipsrv_msg_via_count(b));
  for (int i = 0; sipsrv_msg_via(a, i, &av) == 0; i++) {
    ck_assert_int_eq(sipsrv_msg_via(b, i + skip_via, &bv), 0);
    same_str("Via protocol", name, av.protocol, bv.protocol);
    same_str("Via host", name, av.host, bv.host);
    same_str("Via port", name, av.port, bv.port);
    same_str("Via branch", name, av.branch, bv.branch);
    same_str("Via received", name, av.received, bv.received);
    same_str("Via rport", name, av.rport, bv.rport);
  }
  ck_assert_int_eq(sipsrv_msg_from(a, &aa), 0);
  ck_assert_int_eq(sipsrv_msg_from(b, &ba), 0);
  same_addr("From", name, &aa, &ba);
  ck_assert_int_eq(sipsrv_msg_to(a, &aa), 0);
  ck_assert_int_eq(sipsrv_msg_to(b, &ba), 0);
  same_addr("To", name, &aa, &ba);
  same_str("Call-ID", name, sipsrv_msg_call_id(a), sipsrv_msg_call_id(b));
  ck_assert_int_eq(sipsrv_msg_cseq(a, &as, &am), 0);
  ck_assert_int_eq(sipsrv_msg_cseq(b, &bs, &bm), 0);
  ck_assert_uint_eq(as, bs);
  same_str("CSeq method", name, am, bm);
  if (sipsrv_msg_max_forwards(a) >= 0 || mf_delta == 0)
    ck_assert_int_eq(sipsrv_msg_max_forwards(a) + mf_delta, sipsrv_msg_max_forwards(b));
  for (int i = 0;; i++) {
    int ra = sipsrv_msg_addr(a, SIPSRV_HDR_CONTACT, i, &aa);
    int rb = sipsrv_msg_addr(b, SIPSRV_HDR_CONTACT, i, &ba);
    ck_assert_int_eq(ra, rb);
    if (ra)
      break;
    same_addr("Contact", name, &aa, &ba);
  }
  for (int i = 0;; i++) {
    int ra = sipsrv_msg_addr(a, SIPSRV_HDR_ROUTE, i, &aa);
    int rb = sipsrv_msg_addr(b, SIPSRV_HDR_ROUTE, i, &ba);
    ck_assert_int_eq(ra, rb);
    if (ra)
      break;
    same_addr("Route", name, &aa, &ba);
  }
  ck_assert_int_eq(sipsrv_msg_body(a, &ab, &al), 0);
  ck_assert_int_eq(sipsrv_msg_body(b, &bb, &bl), 0);
  ck_assert_msg(al == bl && (al == 0 || memcmp(ab, bb, al) == 0), "%s: body differs", name);
}

static sipsrv_msg *reparse(sipsrv_msg *m, const char *name, char **bytes, long *len)
{
  sipsrv_msg *r = NULL;
  sipsrv_verdict v;
  long n = sipsrv_msg_serialize(m, NULL, 0);

  ck_assert_int_gt(n, 0);
  *bytes = malloc((size_t)n);
  ck_assert_ptr_nonnull(*bytes);
  ck_assert_int_eq(sipsrv_msg_serialize(m, *bytes, (size_t)n), n);
  *len = n;
  ck_assert_int_eq(sipsrv_msg_parse(&r, *bytes, (size_t)n, 0, &v), 0);
  ck_assert_msg(v.action == SIPSRV_ACCEPT, "%s: re-serialized message not accepted: %d %s",
                name, v.status, v.phrase);
  return r;
}

/* A valid message: serialized unedited it is the same bytes (zero-copy);
 * re-parsed it has the same fields; edited as a proxy edits (Via pushed,
 * Max-Forwards decremented) and re-parsed it still has the same fields. */
static void round_trip(const char *name, const char *data, size_t len, sipsrv_msg *m)
{
  char *bytes;
  long n;
  sipsrv_msg *r = reparse(m, name, &bytes, &n);

  /* RFC 4475 3.1.1.8: octets after Content-Length are not part of it.
   * 3.4.1: a message without Content-Length gets one (RFC 3261 18.3 needs it
   * on streams, and a forwarded copy may go over one). */
  if (strcmp(name, "inv2543") == 0)
    ck_assert_msg(memmem(bytes, (size_t)n, "Content-Length: 105\r\n", 21) != NULL,
                  "inv2543: Content-Length not added");
  else if (strcmp(name, "dblreq") != 0)
    ck_assert_msg((size_t)n == len && memcmp(bytes, data, len) == 0,
                  "%s: unedited serialization is not byte-identical", name);
  else
    ck_assert_msg((size_t)n < len && memcmp(bytes, data, (size_t)n) == 0 &&
                  !memmem(bytes, (size_t)n, "INVITE", 6),
                  "dblreq: trailing octets must be dropped");
  same_fields(name, m, r, 0, 0);
  sipsrv_msg_free(r);
  free(bytes);

  if (sipsrv_msg_is_request(m)) {
    int had_mf = sipsrv_msg_max_forwards(m);
    sipsrv_msg *e;
    sipsrv_via top;
    ck_assert_int_eq(sipsrv_msg_via_push(m, "UDP", "192.0.2.250", 5060, "z9hG4bK-conformance", 1), 0);
    if (had_mf != 0)
      ck_assert_int_eq(sipsrv_msg_max_forwards_dec(m), had_mf > 0 ? had_mf - 1 : 70);
    else
      ck_assert_int_eq(sipsrv_msg_max_forwards_dec(m), SIPSRV_E_STATE);
    e = reparse(m, name, &bytes, &n);
    ck_assert_int_eq(sipsrv_msg_via(e, 0, &top), 0);
    ck_assert_str_eq(top.branch, "z9hG4bK-conformance");
    ck_assert_str_eq(top.rport, "");
    if (had_mf > 0)
      ck_assert_int_eq(sipsrv_msg_max_forwards(e), had_mf - 1);
    else if (had_mf < 0)
      ck_assert_int_eq(sipsrv_msg_max_forwards(e), 70);   /* RFC 3261 16.6 step 3 */
    /* Popping the pushed Via gives back the original list (16.7 step 3). */
    ck_assert_int_eq(sipsrv_msg_via_pop(e), 0);
    ck_assert_int_eq(sipsrv_msg_via_pop(m), 0);
    same_fields(name, m, e, 0, 0);
    sipsrv_msg_free(e);
    free(bytes);
  }
}

/* Requests whose Via or CSeq is itself the error: RFC 4475 3.1.2.1 and
 * 3.1.2.4 still ask for a 400, which copies the field as received (RFC 3261
 * 8.2.6.2; the server sends it back to where the request came from). The
 * field the reply must carry, or NULL. */
static const char *raw_field(const char *name)
{
  if (strcmp(name, "badinv01") == 0)
    return "\r\nVia: SIP/2.0/UDP 192.0.2.15;;,;,,\r\n";
  if (strcmp(name, "scalar02") == 0)
    return "\r\nCSeq: 36893488147419103232 REGISTER\r\n";
  return NULL;
}

/* A rejected request can be answered: the reply has the verdict's status. */
static void answer(const char *name, sipsrv_msg *m, const sipsrv_verdict *v)
{
  sipsrv_msg *rsp = NULL;
  char buf[8192];
  long n;

  ck_assert_msg(m != NULL, "%s: no message to answer the %d from", name, v->status);
  ck_assert_int_eq(sipsrv_msg_reply_verdict(&rsp, m, v), 0);
  ck_assert_int_eq(sipsrv_msg_status(rsp), v->status);
  n = sipsrv_msg_serialize(rsp, buf, sizeof buf);
  ck_assert_int_gt(n, 0);
  ck_assert_int_le(n, (long)sizeof buf);
  /* The status line carries the phrase saying what was wrong. */
  ck_assert_msg(memmem(buf, (size_t)n, v->phrase, strlen(v->phrase)) != NULL,
                "%s: reply lacks phrase %s", name, v->phrase);
  /* The reply is a well-formed response, whole: it ends with the empty line
   * and parses, when the request gave it everything a response carries. */
  ck_assert_msg(n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0, "%s: reply not terminated", name);
  if (raw_field(name))
    ck_assert_msg(memmem(buf, (size_t)n, raw_field(name), strlen(raw_field(name))) != NULL,
                  "%s: the reply does not copy the malformed field as received:\n%.*s", name,
                  (int)n, buf);
  else if (sipsrv_msg_call_id(m) && sipsrv_msg_from(m, &(sipsrv_addr){0}) == 0 &&
      sipsrv_msg_to(m, &(sipsrv_addr){0}) == 0) {
    sipsrv_msg *back = NULL;
    sipsrv_verdict bv;
    ck_assert_int_eq(sipsrv_msg_parse(&back, buf, (size_t)n, 0, &bv), 0);
    ck_assert_msg(bv.action == SIPSRV_ACCEPT, "%s: reply does not parse: %s", name, bv.phrase);
    ck_assert_int_eq(sipsrv_msg_status(back), v->status);
    sipsrv_msg_free(back);
  }
  sipsrv_msg_free(rsp);
}

static void run_case(const corpus *c, const verdict_case *vc)
{
  size_t len = 0;
  char *data = load(c->sub, vc->name, &len);
  sipsrv_msg *m = NULL;
  sipsrv_verdict v, cv;
  int rc = sipsrv_msg_parse(&m, data, len, 0, &v);

  switch (vc->expect) {
  case ACCEPT:
  case CHECK:
    ck_assert_msg(rc == 0 && v.action == SIPSRV_ACCEPT, "%s: expected accept, got rc %d action %d %d %s",
                  vc->name, rc, v.action, v.status, v.phrase);
    if (vc->expect == CHECK) {
      sipsrv_check_cfg cfg = SIPSRV_CHECK_CFG_INIT;
      cfg.flags = vc->flags;
      ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &cv), 0);
      ck_assert_msg(cv.action == SIPSRV_REJECT && cv.status == vc->status,
                    "%s: check expected %d, got action %d status %d", vc->name, vc->status,
                    cv.action, cv.status);
      answer(vc->name, m, &cv);
      /* Without the flag that makes it a rejection, it is accepted. */
      if (vc->flags) {
        ck_assert_int_eq(sipsrv_msg_check(m, NULL, &cv), 0);
        ck_assert_int_eq(cv.action, SIPSRV_ACCEPT);
      }
    }
    round_trip(vc->name, data, len, m);
    break;
  case REJECT:
    ck_assert_msg(v.action == SIPSRV_REJECT && v.status == vc->status,
                  "%s: expected %d, got action %d status %d (%s)", vc->name, vc->status, v.action,
                  v.status, v.phrase);
    answer(vc->name, m, &v);
    break;
  case DROP:
    ck_assert_msg(v.action == SIPSRV_DROP, "%s: expected drop, got action %d status %d",
                  vc->name, v.action, v.status);
    break;
  case TOLERATE:
    ck_assert_msg(v.action == SIPSRV_ACCEPT || (v.action == SIPSRV_REJECT && v.status == 400),
                  "%s: expected 400 or acceptance, got action %d status %d", vc->name, v.action,
                  v.status);
    if (v.action == SIPSRV_REJECT)
      answer(vc->name, m, &v);
    else
      round_trip(vc->name, data, len, m);
    break;
  }
  sipsrv_msg_free(m);
  free(data);
}

START_TEST(conformance_rfc4475_verdict)
{
  run_case(&corpora[0], &rfc4475_cases[_i]);
}
END_TEST

START_TEST(conformance_rfc5118_verdict)
{
  run_case(&corpora[1], &rfc5118_cases[_i]);
}
END_TEST

/* Every message INDEX.tsv lists has a case here, and no case is left over:
 * a message added to the corpus cannot go untested. */
START_TEST(conformance_index_complete)
{
  for (size_t k = 0; k < N(corpora); k++) {
    char path[1024], *idx, *line, *save = NULL;
    size_t len, listed = 0;
    snprintf(path, sizeof path, "%s/%s", conformance_dir(), corpora[k].index);
    idx = read_file(path, &len);
    ck_assert_msg(idx != NULL, "cannot read %s", path);
    for (line = strtok_r(idx, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      char *tab = strchr(line, '\t');
      bool found = false;
      if (!tab || strncmp(line, "name\t", 5) == 0)
        continue;
      *tab = '\0';
      for (size_t i = 0; i < corpora[k].n; i++)
        found |= strcmp(corpora[k].cases[i].name, line) == 0;
      ck_assert_msg(found, "%s lists %s, which has no verdict case", corpora[k].index, line);
      listed++;
    }
    ck_assert_uint_eq(listed, corpora[k].n);
    free(idx);
  }
}
END_TEST

/* Details the RFCs spell out for single messages. */
START_TEST(conformance_rfc4475_details)
{
  size_t len;
  char *data;
  sipsrv_msg *m;
  sipsrv_verdict v;
  sipsrv_uri u;
  sipsrv_addr a;
  const char *cm;
  const void *body;
  size_t blen;

  /* 3.1.1.2: the method and the CSeq method keep every token character. */
  data = load("rfc4475", "intmeth", &len);
  ck_assert_int_eq(sipsrv_msg_parse(&m, data, len, 0, &v), 0);
  ck_assert_str_eq(sipsrv_msg_method_name(m), "!interesting-Method0123456789_*+`.%indeed'~");
  ck_assert_int_eq(sipsrv_msg_method(m), SIPSRV_METHOD_OTHER);
  ck_assert_int_eq(sipsrv_msg_cseq(m, NULL, &cm), 0);
  ck_assert_str_eq(cm, "!interesting-Method0123456789_*+`.%indeed'~");
  sipsrv_msg_free(m);
  free(data);

  /* 3.1.1.5: RE%47IST%45R is not REGISTER; two Contacts, not three. */
  data = load("rfc4475", "esc02", &len);
  ck_assert_int_eq(sipsrv_msg_parse(&m, data, len, 0, &v), 0);
  ck_assert_int_eq(sipsrv_msg_method(m), SIPSRV_METHOD_OTHER);
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_CONTACT, 1, &a), 0);
  ck_assert_int_eq(sipsrv_msg_addr(m, SIPSRV_HDR_CONTACT, 2, &a), SIPSRV_E_NOTFOUND);
  sipsrv_msg_free(m);
  free(data);

  /* 3.1.1.9: the user part is "user;par=u%40example.net". */
  data = load("rfc4475", "semiuri", &len);
  ck_assert_int_eq(sipsrv_msg_parse(&m, data, len, 0, &v), 0);
  ck_assert_int_eq(sipsrv_msg_request_uri(m, &u), 0);
  ck_assert_str_eq(u.user, "user;par=u%40example.net");
  ck_assert_str_eq(u.host, "example.com");
  ck_assert_ptr_null(u.params);
  sipsrv_msg_free(m);
  free(data);

  /* 3.1.1.8: the REGISTER is processed, the trailing INVITE is not part of it. */
  data = load("rfc4475", "dblreq", &len);
  ck_assert_int_eq(sipsrv_msg_parse(&m, data, len, 0, &v), 0);
  ck_assert_int_eq(sipsrv_msg_method(m), SIPSRV_METHOD_REGISTER);
  ck_assert_int_eq(sipsrv_msg_body(m, &body, &blen), 0);
  ck_assert_uint_eq(blen, 0);
  sipsrv_msg_free(m);
  free(data);

  /* 3.1.1.11: the body is framed by Content-Length and holds NULs. */
  data = load("rfc4475", "mpart01", &len);
  ck_assert_int_eq(sipsrv_msg_parse(&m, data, len, 0, &v), 0);
  ck_assert_int_eq(sipsrv_msg_body(m, &body, &blen), 0);
  ck_assert_ptr_nonnull(memchr(body, '\0', blen));
  ck_assert_uint_eq(blen, len - (size_t)((const char *)memmem(data, len, "\r\n\r\n", 4) + 4 - data));
  sipsrv_msg_free(m);
  free(data);

  /* 3.1.1.13: an empty reason phrase. */
  data = load("rfc4475", "noreason", &len);
  ck_assert_int_eq(sipsrv_msg_parse(&m, data, len, 0, &v), 0);
  ck_assert_int_eq(sipsrv_msg_status(m), 100);
  ck_assert_str_eq(sipsrv_msg_phrase(m), "");
  sipsrv_msg_free(m);
  free(data);

  /* 3.3.5: the 420 lists the unknown option tags. */
  data = load("rfc4475", "bext01", &len);
  ck_assert_int_eq(sipsrv_msg_parse(&m, data, len, 0, &v), 0);
  {
    sipsrv_check_cfg cfg = SIPSRV_CHECK_CFG_INIT;
    cfg.flags = SIPSRV_CHECK_REQUIRE;
    ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
    ck_assert_int_eq(v.status, 420);
    ck_assert_str_eq(v.header, "Unsupported: nothingSupportsThis, nothingSupportsThisEither");
    cfg.flags = SIPSRV_CHECK_PROXY_REQUIRE;
    ck_assert_int_eq(sipsrv_msg_check(m, &cfg, &v), 0);
    ck_assert_int_eq(v.status, 420);
    ck_assert_str_eq(v.header, "Unsupported: noProxiesSupportThis, norDoAnyProxiesSupportThis");
  }
  sipsrv_msg_free(m);
  free(data);
}
END_TEST

START_TEST(conformance_rfc5118_details)
{
  size_t len;
  char *data;
  sipsrv_msg *m;
  sipsrv_verdict v;
  sipsrv_uri u;
  sipsrv_via via;

  /* 4.3: "[2001:db8::10:5070]" is an address with no port. */
  data = load("rfc5118/wire", "port-ambiguous", &len);
  ck_assert_int_eq(sipsrv_msg_parse(&m, data, len, 0, &v), 0);
  ck_assert_int_eq(sipsrv_msg_request_uri(m, &u), 0);
  ck_assert_str_eq(u.host, "[2001:db8::10:5070]");
  ck_assert_ptr_null(u.port);
  sipsrv_msg_free(m);
  free(data);

  /* 4.4: "[2001:db8::10]:5070" has port 5070. */
  data = load("rfc5118/wire", "port-unambiguous", &len);
  ck_assert_int_eq(sipsrv_msg_parse(&m, data, len, 0, &v), 0);
  ck_assert_int_eq(sipsrv_msg_request_uri(m, &u), 0);
  ck_assert_str_eq(u.host, "[2001:db8::10]");
  ck_assert_str_eq(u.port, "5070");
  sipsrv_msg_free(m);
  free(data);

  /* 4.5: received in both forms. */
  data = load("rfc5118/wire", "via-received-param-no-delim", &len);
  ck_assert_int_eq(sipsrv_msg_parse(&m, data, len, 0, &v), 0);
  ck_assert_int_eq(sipsrv_msg_via(m, 0, &via), 0);
  ck_assert_str_eq(via.host, "[2001:db8::9:1]");
  ck_assert_str_eq(via.received, "2001:db8::9:255");
  sipsrv_msg_free(m);
  free(data);
  data = load("rfc5118/wire", "via-received-param-with-delim", &len);
  ck_assert_int_eq(sipsrv_msg_parse(&m, data, len, 0, &v), 0);
  ck_assert_int_eq(sipsrv_msg_via(m, 0, &via), 0);
  ck_assert_str_eq(via.received, "[2001:db8::9:255]");
  sipsrv_msg_free(m);
  free(data);
}
END_TEST

/* Over a stream (RFC 3261 18.3) each valid message frames to itself, and the
 * framer's output parses to the same verdict as the datagram did. */
START_TEST(conformance_stream_framing)
{
  for (size_t i = 0; i < N(rfc4475_cases); i++) {
    const verdict_case *vc = &rfc4475_cases[i];
    sipsrv_framer *f;
    sipsrv_frame fr;
    size_t len;
    char *data;
    int rc;

    if (vc->expect != ACCEPT || strcmp(vc->name, "dblreq") == 0 ||
        strcmp(vc->name, "inv2543") == 0)      /* no Content-Length: not sendable on a stream */
      continue;
    data = load("rfc4475", vc->name, &len);
    ck_assert_int_eq(sipsrv_framer_new(&f, 0), 0);
    for (size_t off = 0; off < len; off += 5) {
      ck_assert_int_eq(sipsrv_framer_feed(f, data + off, len - off < 5 ? len - off : 5), 0);
      rc = sipsrv_framer_next(f, &fr);
      if (off + 5 < len)
        ck_assert_msg(rc == SIPSRV_E_AGAIN, "%s: framed early at %zu", vc->name, off);
    }
    ck_assert_msg(rc == 0 && fr.kind == SIPSRV_FRAME_MESSAGE && fr.len == len &&
                  memcmp(fr.data, data, len) == 0, "%s: not framed whole", vc->name);
    {
      sipsrv_msg *m;
      sipsrv_verdict v;
      ck_assert_int_eq(sipsrv_msg_parse(&m, fr.data, fr.len, SIPSRV_PARSE_STREAM, &v), 0);
      ck_assert_msg(v.action == SIPSRV_ACCEPT, "%s: stream verdict %d %s", vc->name, v.status,
                    v.phrase);
      sipsrv_msg_free(m);
    }
    ck_assert_int_eq(sipsrv_framer_next(f, &fr), SIPSRV_E_AGAIN);
    sipsrv_framer_free(f);
    free(data);
  }
}
END_TEST

/* RFC 4475 3.1.2.2, 3.1.2.3, 3.3.9 over a stream: framing is lost, the framer
 * says so with the status, and the header bytes still give an answerable 400. */
START_TEST(conformance_stream_framing_errors)
{
  static const char *const names[] = { "ncl", "mcl01" };
  for (size_t i = 0; i < N(names); i++) {
    sipsrv_framer *f;
    sipsrv_frame fr;
    sipsrv_msg *m;
    sipsrv_verdict v;
    size_t len;
    char *data = load("rfc4475", names[i], &len);

    ck_assert_int_eq(sipsrv_framer_new(&f, 0), 0);
    ck_assert_int_eq(sipsrv_framer_feed(f, data, len), 0);
    ck_assert_int_eq(sipsrv_framer_next(f, &fr), 0);
    ck_assert_int_eq(fr.kind, SIPSRV_FRAME_ERROR);
    ck_assert_int_eq(fr.status, 400);
    ck_assert_int_eq(sipsrv_msg_parse(&m, fr.data, fr.len, SIPSRV_PARSE_STREAM, &v), 0);
    ck_assert_int_eq(v.action, SIPSRV_REJECT);
    ck_assert_int_eq(v.status, 400);
    answer(names[i], m, &v);
    sipsrv_msg_free(m);
    ck_assert_int_eq(sipsrv_framer_next(f, &fr), SIPSRV_E_STATE);
    sipsrv_framer_free(f);
    free(data);
  }
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("conformance");
  TCase *tc;

  tc = tcase_create("verdicts");
  tcase_add_test(tc, conformance_index_complete);
  tcase_add_loop_test(tc, conformance_rfc4475_verdict, 0, (int)N(rfc4475_cases));
  tcase_add_loop_test(tc, conformance_rfc5118_verdict, 0, (int)N(rfc5118_cases));
  suite_add_tcase(s, tc);

  tc = tcase_create("details");
  tcase_add_test(tc, conformance_rfc4475_details);
  tcase_add_test(tc, conformance_rfc5118_details);
  suite_add_tcase(s, tc);

  tc = tcase_create("stream");
  tcase_add_test(tc, conformance_stream_framing);
  tcase_add_test(tc, conformance_stream_framing_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return harness_run(suite());
}
