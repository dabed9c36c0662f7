/* Responses taken from their bytes (proxy_int.h). A proxy reads little of a
 * response it forwards: its Vias (RFC 3261 16.11, 16.7 step 3), and for a
 * stateful proxy the branch and CSeq method that find its client
 * transaction (17.1.3) and the To tag a final response leaves in the
 * server transaction. A datagram response of the plain form is dealt with
 * from its bytes with only those parsed, each by Sofia-SIP's parser of that
 * header alone, into a stack home (no malloc); every other response takes
 * the full parse, whose path decides the same for a plain one.
 *
 * Plain: a status line, one header per line with CRLF, no folding,
 * Content-Length equal to the body, From, To, Call-ID and CSeq once each,
 * our Via first on the first Via line and a next Via after it, on that line
 * (as sipp's [last_Via:] writes them) or the next Via line. */
#include "proxy_int.h"

#include <sipsrv/error.h>

#include <stdlib.h>
#include <string.h>

/* A response as scanned: spans of the bytes. */
struct px_raw {
  const char *d, *end;
  int code;
  const char *v1, *v1e;       /* our Via's value */
  const char *cut, *cut_end;  /* what goes with it: its line, or its value and comma */
  const char *v2, *v2e;       /* the next Via's value */
  const char *to, *toe;
  const char *cseq, *cseqe;
  sip_via_t const *top;       /* v1 parsed */
  su_home_t *home;
  char *wire;                 /* the bytes less our Via */
  size_t wlen;
};

int px_raw_line(const char **pos, const char *end, px_line *l)
{
  const char *ls = *pos, *nl, *le, *c, *v, *ve;

  if (ls >= end || !(nl = memchr(ls, '\n', (size_t)(end - ls))) || nl == ls || nl[-1] != '\r')
    return -1;                           /* no end of the header section */
  le = nl - 1;
  *pos = nl + 1;
  if (le == ls)
    return 0;                            /* the empty line */
  if (*ls == ' ' || *ls == '\t' || memchr(ls, '\r', (size_t)(le - ls)) ||
      memchr(ls, '\0', (size_t)(le - ls)))
    return -1;                           /* folded, or a stray CR or NUL */
  for (c = ls; c < le && ss_is_token_char((unsigned char)*c); c++)
    ;
  if (c == ls || c == le || *c != ':')
    return -1;
  for (v = c + 1; v < le && (*v == ' ' || *v == '\t'); v++)
    ;
  for (ve = le; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
    ;
  l->ls = ls;
  l->next = nl + 1;
  l->nlen = (size_t)(c - ls);
  l->v = v;
  l->ve = ve;
  return 1;
}

long px_raw_clen(const char *v, const char *ve)
{
  long n = 0;
  if (v == ve || ve - v > 9)
    return -1;
  for (; v < ve; v++) {
    if (*v < '0' || *v > '9')
      return -1;
    n = n * 10 + (*v - '0');
  }
  return n;
}

/* The header section of [d, d + len) if it is plain (above), into *r. */
static bool scan(const char *d, size_t len, px_raw *r)
{
  enum { FROM = 1, TO = 2, CALL_ID = 4, CSEQ = 8, ALL = 15 };
  const char *end = d + len, *pos, *nl, *comma, *rest;
  unsigned seen = 0;
  long clen = -1;
  px_line l;
  int k;

  memset(r, 0, sizeof *r);
  r->d = d;
  r->end = end;
  /* The status line (the core checked "SIP/2.0 NNN "). */
  r->code = (d[8] - '0') * 100 + (d[9] - '0') * 10 + (d[10] - '0');
  nl = memchr(d, '\n', len);
  if (!nl || nl == d || nl[-1] != '\r' || memchr(d, '\r', (size_t)(nl - 1 - d)) ||
      memchr(d, '\0', (size_t)(nl - d)))
    return false;
  for (pos = nl + 1; (k = px_raw_line(&pos, end, &l)) > 0;) {
    if (ss_header_name_is(l.ls, l.nlen, "via", 'v')) {
      if (!r->v1) {
        r->v1 = l.v, r->v1e = l.ve, r->cut = l.ls, r->cut_end = l.next;
      } else if (!r->v2) {
        r->v2 = l.v, r->v2e = l.ve;
      }
    } else if (ss_header_name_is(l.ls, l.nlen, "content-length", 'l')) {
      if (clen >= 0 || (clen = px_raw_clen(l.v, l.ve)) < 0)
        return false;
    } else {
      unsigned bit = ss_header_name_is(l.ls, l.nlen, "from", 'f')      ? FROM
                     : ss_header_name_is(l.ls, l.nlen, "to", 't')      ? TO
                     : ss_header_name_is(l.ls, l.nlen, "call-id", 'i') ? CALL_ID
                     : ss_header_name_is(l.ls, l.nlen, "cseq", 0)      ? CSEQ
                                                                 : 0;
      if (seen & bit)
        return false;                    /* twice: the full parse decides */
      seen |= bit;
      if (bit == TO)
        r->to = l.v, r->toe = l.ve;
      else if (bit == CSEQ)
        r->cseq = l.v, r->cseqe = l.ve;
    }
  }
  if (k < 0 || seen != ALL || !r->v1 || clen < 0 || (size_t)clen != (size_t)(end - pos))
    return false;
  /* Our Via's line lists more values: ours and its comma go. */
  if ((rest = ss_list_next(r->v1, r->v1e, &comma))) {
    r->v2 = rest, r->v2e = r->v1e;
    r->cut = r->v1, r->cut_end = rest;
    for (r->v1e = comma; r->v1e > r->v1 && (r->v1e[-1] == ' ' || r->v1e[-1] == '\t'); r->v1e--)
      ;
  } else if (ss_list_comma(r->v1, r->v1e)) {
    return false;                        /* "ours," and nothing after */
  }
  return r->v2 != NULL;
}

msg_header_t *px_raw_make(su_home_t *home, msg_hclass_t *hc, const char *v, const char *ve)
{
  char text[512];
  size_t n = (size_t)(ve - v);
  if (n == 0 || n >= sizeof text)
    return NULL;
  memcpy(text, v, n);
  text[n] = '\0';
  return msg_header_make(home, hc, text);
}

bool px_raw_by_via(sipsrv_proxy *p, const px_raw *r)
{
  sip_via_t *next = (sip_via_t *)px_raw_make(r->home, sip_via_class, r->v2, r->v2e);
  sipsrv_via via;
  ss_peer peer, to;

  if (!next || !next->v_host || !px_response_next_hop(p, r->top, next, &peer))
    return false;
  ss_via_fill(next, &via);
  ss_core_response_peer_via(&peer, &via, &to);
  ss_core_send_to(p->core, &to, r->code, r->wire, r->wlen);
  return true;
}

/* 16.11: a stateless proxy forwards a response by its Vias alone: ours
 * (the proxy's check on the full path: one of our branches) and the next. */
static bool stateless(sipsrv_proxy *p, const px_raw *r)
{
  return px_via_is_ours(p, r->top) && px_raw_by_via(p, r);
}

/* 16.7 for a response of 100-299 to one of our client transactions: the
 * transaction's state change (17.1.1.2, 17.1.2.2), then what the branch
 * does with it (16.7 steps 2, 5, 10) with the bytes less our Via for
 * upstream. 300-699 choose a best response from parsed ones (16.7 step 6)
 * and a call-stateful proxy reads its 2xx (dialogs): those are parsed. A
 * response no client transaction of ours matches takes the full path (a
 * stray, 16.7 step 3 by Via). */
static bool stateful(sipsrv_proxy *p, px_raw *r)
{
  ss_txn_layer *l = ss_core_txn_layer(p->ct);
  sip_cseq_t *cs;
  sip_to_t *to = NULL;
  ss_txn *t;
  void *owner;

  if (r->code > 299 || (p->cfg.mode == SIPSRV_PROXY_DIALOG && r->code >= 200) ||
      !r->top->v_branch)
    return false;
  cs = (sip_cseq_t *)px_raw_make(r->home, sip_cseq_class, r->cseq, r->cseqe);
  /* The full parse drops a CSeq beyond 2**31 - 1 (8.1.1.5). */
  if (!cs || cs->cs_seq > 0x7fffffffu || !cs->cs_method_name)
    return false;
  if (r->code >= 200 && !(to = (sip_to_t *)px_raw_make(r->home, sip_to_class, r->to, r->toe)))
    return false;
  t = ss_txn_client_find(l, r->top->v_branch, cs->cs_method_name);
  owner = t ? ss_txn_owner(t) : NULL;
  if (!t || (owner && !px_fork_owns(p, owner)))
    return false;
  ss_txn_hold(l);
  if (ss_txn_client_status(t, r->code) && owner) {
    px_rsp rsp = { r->code, NULL, r, r->wire, r->wlen, to && to->a_tag ? to->a_tag : "" };
    px_fork_raw_response(owner, &rsp);
  }
  ss_txn_release(l);
  return true;
}

bool px_raw_response(void *self, const char *d, size_t len, const ss_peer *src)
{
  sipsrv_proxy *p = self;
  su_home_t area[SU_HOME_AUTO_SIZE(4096)]; /* the headers parsed: no malloc */
  char wire[8192];
  px_raw r;
  sip_via_t *top;
  bool done = false;

  (void)src;
  if (len > sizeof wire || !scan(d, len, &r))
    return false;
  r.home = su_home_auto(area, sizeof area);
  if (!r.home)
    return false;
  top = (sip_via_t *)px_raw_make(r.home, sip_via_class, r.v1, r.v1e);
  r.top = top;
  /* Ours as the full path decides it first: the core's 18.1.2 check (a
   * sent-by of one of its transports). */
  if (top && !top->v_next && top->v_host &&
      ss_core_sent_by_is_ours(p->core, top->v_host,
                              top->v_port ? (unsigned)strtoul(top->v_port, NULL, 10) : 5060)) {
    /* The bytes less our Via (16.7 step 3). */
    memcpy(wire, d, (size_t)(r.cut - d));
    memcpy(wire + (r.cut - d), r.cut_end, (size_t)(r.end - r.cut_end));
    r.wire = wire;
    r.wlen = len - (size_t)(r.cut_end - r.cut);
    done = p->cfg.mode == SIPSRV_PROXY_STATELESS ? stateless(p, &r) : stateful(p, &r);
  }
  if (done)
    ss_core_counters_of(p->core)->responses_relayed++;
  su_home_deinit(r.home);
  return done;
}
