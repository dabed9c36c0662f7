/* Requests forwarded from their bytes (proxy_int.h).
 *
 * RFC 3261 16.11: a stateless proxy forwards a request with the edits of
 * 16.6 and keeps nothing. It need not build a message object for that: a
 * datagram request of the plain form is checked and edited where it lies,
 * with only the fields the checks and the edits read parsed, each alone by
 * Sofia-SIP's parser of that header into a stack home (no malloc), and the
 * bytes sent on are the request line, our Via (16.6 step 8), our
 * Record-Route values (step 4) and Max-Forwards when it had none (step 3),
 * then the header lines as they came (the top Via with received and rport,
 * RFC 3261 18.2.1 and RFC 3581 4; Max-Forwards less one) and the body.
 *
 * Plain: a request line "METHOD SP Request-URI SP SIP/2.0" with a method of
 * letters and a sip or sips Request-URI; one header per line with CRLF, no
 * folding; Content-Length given once and equal to the body; Via, From, To,
 * Call-ID and CSeq (and Max-Forwards, once) parsed and passing the checks
 * the full parse makes (parse.c, judge_request()); Contact and
 * Record-Route values one per line, checked the same way; Route values, if
 * any, all naming us (16.4 takes them off: their lines go); no
 * Proxy-Require (16.3 step 5), nor any other header the
 * full parse would reject the request for when malformed (Sofia-SIP's
 * request, proxy and registrar classes). A header the full parse does not
 * judge is copied as it is, as the full path copies it. Anything else, and
 * anything whose target needs more than px_route_plain() decides, takes the
 * full parse, which answers what is to be answered (400, 416, 420, 483...).
 * Both paths make the same branch (16.11), so a request and its CANCEL or
 * ACK may take different paths.
 *
 * A stateful proxy forwards the ACK of a 2xx the same way: a request of
 * its own that no transaction takes (RFC 3261 13.2.2.4, 16.6).
 *
 * The same edits serve a stateful proxy's branches (px_wire_branch()): the
 * bytes of the request received, which the proxy parsed whole, with the
 * Request-URI of the target, Max-Breadth and the Via the core stamped. */
#include "core/fmt.h"
#include "proxy_int.h"

#include "transport/transport_int.h"

#include <sipsrv/error.h>

#include <sofia-sip/msg_mclass.h>

#include <string.h>
#include <strings.h>

#define RQ_MAX 8192          /* the largest request taken from its bytes */

/* A request as scanned: spans of its bytes and its fields parsed alone. */
typedef struct rq {
  const char *d, *end;
  const char *method;
  size_t mlen;
  const char *first;              /* the first header line */
  url_t ru;
  char ubuf[1024];                /* the Request-URI's text, for ru */
  const char *via_ls, *via_next;  /* the top Via's line */
  const char *mf_ls, *mf_next;    /* the Max-Forwards line */
  sip_via_t *via;
  sip_from_t *from;
  sip_to_t *to;
  sip_call_id_t *call_id;
  sip_cseq_t *cseq;
  sip_max_forwards_t *mf;
  const char *ct, *cte;           /* the first Content-Type value */
  const char *route[4][2];        /* Route lines (start, next), one value each */
  sip_route_t *routes[4];
  size_t nroute;
  bool our_branch;                /* a Via with a branch of ours (a spiral, a loop) */
} rq;

/* The request line: a method of letters (Sofia-SIP masks others, parse.c),
 * a Request-URI of sip or sips as the full parse would take it (RFC 3261
 * 19.1.1, 8.2.2.1) and the version SIP/2.0. */
static bool request_line(rq *q)
{
  const char *d = q->d, *nl = memchr(d, '\n', (size_t)(q->end - d)), *c, *uri, *sp;
  size_t n;

  if (!nl || nl == d || nl[-1] != '\r')
    return false;
  for (c = d; c < nl && ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z')); c++)
    ;
  if (c == d || *c != ' ')
    return false;
  q->method = d;
  q->mlen = (size_t)(c - d);
  uri = c + 1;
  sp = memchr(uri, ' ', (size_t)(nl - uri));
  if (!sp || sp == uri || nl - 1 - (sp + 1) != 7 || memcmp(sp + 1, "SIP/2.0", 7) != 0)
    return false;
  n = (size_t)(sp - uri);
  if (n >= sizeof q->ubuf || memchr(uri, '\0', n) || memchr(uri, '\t', n) || memchr(uri, '\r', n))
    return false;
  memcpy(q->ubuf, uri, n);
  q->ubuf[n] = '\0';
  if (url_d(&q->ru, q->ubuf) < 0 || (q->ru.url_type != url_sip && q->ru.url_type != url_sips) ||
      !q->ru.url_scheme || !ss_url_host_port_ok(&q->ru) || q->ru.url_headers)
    return false;
  q->first = nl + 1;
  return true;
}

static bool method_is(const rq *q, const char *m)
{
  return q->mlen == strlen(m) && memcmp(q->method, m, q->mlen) == 0;
}

/* An address header (From, To) as judge_request() takes it: a URI that
 * prints back as it came, and a tag with a value (RFC 3261 20.20, 20.39). */
static bool addr_ok(sip_addr_t const *a)
{
  return a && ss_addr_ok(a->a_url) && (!a->a_tag || *a->a_tag);
}

/* The class of the header line's name: the ones the raw path reads by a
 * look at the name (most lines of a request), any other by Sofia-SIP's
 * table; *judged when the full parse rejects the request for a malformed
 * one (Sofia-SIP's request, proxy and registrar classes). NULL: no class. */
static msg_hclass_t *class_of(const px_line *l, bool *judged)
{
  enum { MASK = sip_mask_request | sip_mask_proxy | sip_mask_registrar };
  const char *n = l->ls;
  size_t len = l->nlen;
  msg_href_t const *hr;
  msg_hclass_t *hc = NULL;

  *judged = true;
  switch (len == 1 ? 1 : ss_ascii_lower(n[0])) {
  case 1:
    break;                                /* compact forms: the table */
  case 'v':
    hc = ss_header_name_is(n, len, "via", 0) ? sip_via_class : NULL;
    break;
  case 'f':
    hc = ss_header_name_is(n, len, "from", 0) ? sip_from_class : NULL;
    break;
  case 't':
    hc = ss_header_name_is(n, len, "to", 0) ? sip_to_class : NULL;
    break;
  case 'c':
    hc = ss_header_name_is(n, len, "call-id", 0)          ? sip_call_id_class
         : ss_header_name_is(n, len, "cseq", 0)           ? sip_cseq_class
         : ss_header_name_is(n, len, "contact", 0)        ? sip_contact_class
         : ss_header_name_is(n, len, "content-length", 0) ? sip_content_length_class
                                                          : NULL;
    break;
  case 'm':
    hc = ss_header_name_is(n, len, "max-forwards", 0) ? sip_max_forwards_class : NULL;
    break;
  }
  if (hc)
    return hc;
  hr = msg_find_hclass(sip_default_mclass(), n, NULL);
  *judged = hr && (hr->hr_flags & MASK);
  return hr ? hr->hr_class : NULL;
}

/* One header line of a request; false when the request is not plain. */
static bool header(rq *q, su_home_t *home, const px_line *l, long *clen)
{
  bool judged;
  msg_hclass_t *hc = class_of(l, &judged);
  msg_header_t *h;

  if (!hc)
    return false;
  if (hc == sip_content_length_class)
    return *clen < 0 && (*clen = px_raw_clen(l->v, l->ve)) >= 0;
  if (hc == sip_content_type_class) {
    if (!q->ct)
      q->ct = l->v, q->cte = l->ve;
    return true;
  }
  if (!judged)
    return true;                         /* not judged: copied as it is */
  /* One value per line: Sofia-SIP's parser of one header takes one. */
  if ((hc == sip_via_class || hc == sip_contact_class || hc == sip_record_route_class ||
       hc == sip_route_class) &&
      ss_list_comma(l->v, l->ve))
    return false;
  if (hc == sip_via_class) {
    sip_via_t *v = (sip_via_t *)px_raw_make(home, hc, l->v, l->ve);
    /* RFC 3261 20.42, 8.1.1.7: every Via well formed, ours to read SIP/2.0. */
    if (!v || !ss_via_ok(v))
      return false;
    if (v->v_branch && strncmp(v->v_branch, "z9hG4bKs", 8) == 0)
      q->our_branch = true;
    if (!q->via) {
      if (!v->v_protocol || strncasecmp(v->v_protocol, "SIP/2.0/", 8) != 0)
        return false;
      q->via = v, q->via_ls = l->ls, q->via_next = l->next;
    }
    return true;
  }
  if (hc == sip_route_class) {
    /* RFC 3261 20.34: as judge_request() takes it; 16.4 decides later. */
    sip_route_t *r = (sip_route_t *)px_raw_make(home, hc, l->v, l->ve);
    if (!r || !ss_addr_ok(r->r_url) || q->nroute == sizeof q->routes / sizeof q->routes[0])
      return false;
    q->route[q->nroute][0] = l->ls, q->route[q->nroute][1] = l->next;
    q->routes[q->nroute++] = r;
    return true;
  }
  if (hc == sip_contact_class || hc == sip_record_route_class) {
    /* RFC 3261 20.10, 20.30: URIs that print back as they came. */
    url_t const *u;
    if (!(h = px_raw_make(home, hc, l->v, l->ve)))
      return false;
    u = hc == sip_contact_class ? ((sip_contact_t *)h)->m_url : ((sip_record_route_t *)h)->r_url;
    return (hc == sip_contact_class && u->url_type == url_any) || ss_addr_ok(u);
  }
  /* Given once (RFC 3261 7.3.1: a second would be 400). */
  if ((hc == sip_from_class && q->from) || (hc == sip_to_class && q->to) ||
      (hc == sip_call_id_class && q->call_id) || (hc == sip_cseq_class && q->cseq) ||
      (hc == sip_max_forwards_class && q->mf))
    return false;
  if (hc != sip_from_class && hc != sip_to_class && hc != sip_call_id_class &&
      hc != sip_cseq_class && hc != sip_max_forwards_class)
    return false;                        /* Proxy-Require, Expires...: parsed whole */
  if (!(h = px_raw_make(home, hc, l->v, l->ve)))
    return false;
  if (hc == sip_from_class)
    return addr_ok((q->from = (sip_from_t *)h));
  if (hc == sip_to_class)
    return addr_ok((q->to = (sip_to_t *)h));
  if (hc == sip_call_id_class) {
    q->call_id = (sip_call_id_t *)h;     /* RFC 3261 8.1.1.4: not empty */
    return q->call_id->i_id && *q->call_id->i_id;
  }
  if (hc == sip_cseq_class) {
    /* RFC 3261 8.1.1.5: under 2**31, the method of the request line. */
    q->cseq = (sip_cseq_t *)h;
    return q->cseq->cs_seq <= 0x7fffffffu && q->cseq->cs_method_name &&
           strlen(q->cseq->cs_method_name) == q->mlen &&
           memcmp(q->cseq->cs_method_name, q->method, q->mlen) == 0;
  }
  /* Max-Forwards 1-255: 0 is 16.3 step 3's 483 (or an OPTIONS answered
   * here), over 255 a 400 (RFC 4475 3.1.2.4); the full path answers. */
  q->mf = (sip_max_forwards_t *)h;
  q->mf_ls = l->ls, q->mf_next = l->next;
  return q->mf->mf_count > 0 && q->mf->mf_count <= 255;
}

/* The header section of q after its request line, if it is plain (above). */
static bool scan(su_home_t *home, rq *q)
{
  const char *pos;
  long clen = -1;
  px_line l;
  int k;

  for (pos = q->first; (k = px_raw_line(&pos, q->end, &l)) > 0;) {
    if (!header(q, home, &l, &clen))
      return false;
  }
  if (k < 0 || !q->via || !q->from || !q->to || !q->call_id || !q->cseq || clen < 0 ||
      (size_t)clen != (size_t)(q->end - pos))
    return false;
  /* RFC 3261 20.15: a body comes with its Content-Type. */
  if (clen > 0) {
    sip_content_type_t *ct = NULL;
    if (q->ct)
      ct = (sip_content_type_t *)px_raw_make(home, sip_content_type_class, q->ct, q->cte);
    if (!ct || !ct->c_type)
      return false;
  }
  return true;
}


/* Where the request goes (16.5, 16.6 step 7) when px_route_plain() decides
 * it: *peer; false for the full path. */
static bool next_hop(sipsrv_proxy *p, const rq *q, ss_peer *peer)
{
  const char *hop, *phrase;
  px_target t = { NULL, NULL, NULL, 1000 };

  if (!px_route_plain(p, &q->ru, q->to->a_tag != NULL, &hop))
    return false;
  t.hop = (char *)hop;
  /* A name to resolve, a target we have no transport for: the full path
   * resolves it (RFC 3263) or answers. */
  return px_target_peer(p, &t, &q->ru, NULL, peer, &phrase) == 0;
}

/* ---- the forwarded bytes (16.6), for both proxies ------------------------ */

/* A header line replaced (text, with its CRLF) or left out (text NULL). */
typedef struct splice {
  const char *ls, *next;
  const char *text;
} splice;

/* Our Via line (step 8) for a request to peer, into buf (400 bytes). */
static void our_via(const ss_peer *peer, const char *branch, char *buf)
{
  const char *name, *host;
  unsigned port, flags;
  ss_sb sb = ss_sb_init(buf, 400);

  ss_transport_info(peer->transport, &name, &host, &port, &flags);
  ss_sb_str(&sb, "Via: SIP/2.0/");
  ss_sb_str(&sb, name);
  ss_sb_chr(&sb, ' ');
  if (strchr(host, ':') && host[0] != '[') {
    ss_sb_chr(&sb, '[');
    ss_sb_str(&sb, host);
    ss_sb_chr(&sb, ']');
  } else {
    ss_sb_str(&sb, host);
  }
  ss_sb_chr(&sb, ':');
  ss_sb_u64(&sb, port);
  ss_sb_str(&sb, ";branch=");
  ss_sb_str(&sb, branch);
  ss_sb_str(&sb, "\r\n");
}

/* What goes first, after the request line: Record-Route (step 4: two
 * values when the transport changes, RFC 5658, the one facing the next hop
 * on top), Max-Forwards 70 when the request had none (step 3). Our Via
 * goes right above the first Via line: UAs copy the Via lines of a request
 * into its responses as a block (sipp's [last_Via:]). */
static void head(ss_sb *sb, const ss_peer *peer, const ss_peer *src, bool rr, bool add_mf)
{
  char v[300];

  if (rr) {
    px_rr_value(peer->transport, v, sizeof v);
    ss_sb_str(sb, "Record-Route: ");
    ss_sb_str(sb, v);
    ss_sb_str(sb, "\r\n");
    if (src->transport && src->transport != peer->transport) {
      px_rr_value(src->transport, v, sizeof v);
      ss_sb_str(sb, "Record-Route: ");
      ss_sb_str(sb, v);
      ss_sb_str(sb, "\r\n");
    }
  }
  if (add_mf)
    ss_sb_str(sb, "Max-Forwards: 70\r\n");
}

/* The header lines and body [at, end) with the splices (in any order; an
 * insertion, next == ls, before a replacement of the same line when it
 * came first). */
static void lines(ss_sb *sb, const char *at, const char *end, splice *sp, size_t n)
{
  for (size_t i = 1; i < n; i++)         /* by position: a handful at most */
    for (size_t j = i; j > 0 && sp[j].ls < sp[j - 1].ls; j--) {
      splice t = sp[j];
      sp[j] = sp[j - 1];
      sp[j - 1] = t;
    }
  for (size_t i = 0; i < n; i++) {
    ss_sb_mem(sb, at, (size_t)(sp[i].ls - at));
    ss_sb_str(sb, sp[i].text);
    at = sp[i].next;
  }
  ss_sb_mem(sb, at, (size_t)(end - at));
}

/* "Via: <v>\r\n" into buf (1040 bytes), v stamped already; false if it
 * does not fit. */
static bool via_line(sip_via_t const *v, char *buf, size_t size)
{
  issize_t n;
  memcpy(buf, "Via: ", 5);
  n = msg_header_field_e(buf + 5, size - 7, (msg_header_t const *)v, 0);
  if (n <= 0 || (size_t)n >= size - 7)
    return false;
  memcpy(buf + 5 + n, "\r\n", 3);
  return true;
}

/* "Max-Forwards: <n>\r\n" into buf (32 bytes). */
static void mf_line(unsigned long n, char *buf)
{
  ss_sb sb = ss_sb_init(buf, 32);
  ss_sb_str(&sb, "Max-Forwards: ");
  ss_sb_u64(&sb, n);
  ss_sb_str(&sb, "\r\n");
}

/* 16.6 on the bytes of a stateless proxy's request, into out: 0 when it
 * did not fit. */
static size_t edit(sipsrv_proxy *p, rq *q, su_home_t *home, const ss_peer *src,
                   const ss_peer *peer, char *out, size_t size)
{
  char branch[64], received[64], ours[400], via[1040], mf[32];
  ss_sb sb = ss_sb_init(out, size);
  splice sp[3 + sizeof q->route / sizeof q->route[0]];
  size_t n = 0;
  unsigned rport;

  /* 16.11: the branch both paths make. */
  px_branch_stateless_of(p, q->call_id->i_id, q->from->a_tag, q->cseq->cs_seq, q->via, 0, branch);
  ss_sb_mem(&sb, q->d, (size_t)(q->first - q->d));          /* the request line */
  head(&sb, peer, src,
       p->cfg.record_route && !q->to->a_tag &&
           (method_is(q, "INVITE") || method_is(q, "SUBSCRIBE") || method_is(q, "REFER")),
       !q->mf);
  our_via(peer, branch, ours);
  sp[n++] = (splice){ q->via_ls, q->via_ls, ours };
  /* The top Via stamped (18.2.1, RFC 3581 4), Max-Forwards less one (step
   * 3), the other lines as they came. */
  if (ss_core_via_received(src, q->via->v_host, q->via->v_rport != NULL, received, &rport)) {
    if (ss_via_stamp(home, q->via, received, q->via->v_rport ? rport : 0) < 0 ||
        !via_line(q->via, via, sizeof via))
      return 0;
    sp[n++] = (splice){ q->via_ls, q->via_next, via };
  }
  if (q->mf) {
    mf_line(q->mf->mf_count - 1, mf);
    sp[n++] = (splice){ q->mf_ls, q->mf_next, mf };
  }
  for (size_t i = 0; i < q->nroute; i++)  /* 16.4: ours, all of them (ours_only()) */
    sp[n++] = (splice){ q->route[i][0], q->route[i][1], NULL };
  lines(&sb, q->first, q->end, sp, n);
  return ss_sb_done(&sb) < 0 ? 0 : sb.n;
}

/* ---- a stateful proxy's branches ------------------------------------------ */

bool px_wire_plan_make(const sipsrv_msg *m, px_wire_plan *w)
{
  sip_t const *sip = m->sip;
  const char *nl, *pos, *end;
  px_line l;
  int k;

  memset(w, 0, sizeof *w);
  w->state = -1;
  if (!m->wire || !sip->sip_request || !sip->sip_via || !sip->sip_content_length ||
      sip->sip_route || sip->sip_proxy_authorization)
    return false;
  end = m->wire + m->wire_len;
  nl = memchr(m->wire, '\n', m->wire_len);
  if (!nl || nl == m->wire || nl[-1] != '\r')
    return false;
  w->first = nl + 1;
  for (pos = w->first; (k = px_raw_line(&pos, end, &l)) > 0;) {
    if (ss_header_name_is(l.ls, l.nlen, "via", 'v')) {
      if (!w->via_ls)
        w->via_ls = l.ls, w->via_next = l.next, w->via_list = ss_list_comma(l.v, l.ve) != NULL;
    } else if (ss_header_name_is(l.ls, l.nlen, "max-forwards", 0)) {
      w->mf_ls = l.ls, w->mf_next = l.next;
    } else if (ss_header_name_is(l.ls, l.nlen, "max-breadth", 0)) {
      if (w->nmb == sizeof w->mb / sizeof w->mb[0])
        return false;
      w->mb[w->nmb][0] = l.ls, w->mb[w->nmb++][1] = l.next;
    } else if (ss_header_name_is(l.ls, l.nlen, "route", 0) ||
               ss_header_name_is(l.ls, l.nlen, "proxy-authorization", 0)) {
      return false;                      /* taken off the message, still in the bytes */
    }
  }
  /* Plain, and the body exactly what Content-Length says (a longer
   * datagram's rest is not part of the message, 18.3). */
  if (k < 0 || !w->via_ls || (size_t)(end - pos) != sip->sip_content_length->l_length)
    return false;
  w->end = end;
  w->state = 1;
  return true;
}

size_t px_wire_branch(const sipsrv_msg *m, const px_wire_plan *w, const char *uri,
                      const ss_peer *peer, const ss_peer *src, const char *branch, bool rr,
                      unsigned breadth, char *out, size_t size)
{
  sip_t const *sip = m->sip;
  sip_via_t const *v = sip->sip_via;
  char ours[400], via[1040], mf[32];
  ss_sb sb = ss_sb_init(out, size);
  splice sp[3 + sizeof w->mb / sizeof w->mb[0]];
  size_t n = 0;

  /* Step 2: the target's Request-URI, or the request line as it came. */
  if (uri) {
    ss_sb_str(&sb, sip->sip_request->rq_method_name);
    ss_sb_chr(&sb, ' ');
    ss_sb_str(&sb, uri);
    ss_sb_str(&sb, " SIP/2.0\r\n");
  } else {
    ss_sb_mem(&sb, m->wire, (size_t)(w->first - m->wire));
  }
  head(&sb, peer, src, rr, !w->mf_ls);
  /* RFC 5393: our Max-Breadth instead of any received. */
  ss_sb_str(&sb, "Max-Breadth: ");
  ss_sb_u64(&sb, breadth);
  ss_sb_str(&sb, "\r\n");
  for (size_t i = 0; i < w->nmb; i++)
    sp[n++] = (splice){ w->mb[i][0], w->mb[i][1], NULL };
  our_via(peer, branch, ours);
  sp[n++] = (splice){ w->via_ls, w->via_ls, ours };
  /* The top Via as the core stamped it (18.2.1, RFC 3581 4). */
  if (v->v_received || (v->v_rport && *v->v_rport)) {
    if (w->via_list || !via_line(v, via, sizeof via))
      return 0;
    sp[n++] = (splice){ w->via_ls, w->via_next, via };
  }
  if (w->mf_ls) {
    if (!sip->sip_max_forwards || !sip->sip_max_forwards->mf_count)
      return 0;                          /* 16.3 step 3 answered it already */
    mf_line(sip->sip_max_forwards->mf_count - 1, mf);
    sp[n++] = (splice){ w->mf_ls, w->mf_next, mf };
  }
  lines(&sb, w->first, w->end, sp, n);
  return ss_sb_done(&sb) < 0 ? 0 : sb.n;
}

/* 16.4 on the bytes: Route values that all name us go (a request routed
 * to us: the dialog's Record-Route, or we are its outbound proxy); any
 * other Route, or a Request-URI a strict router put there, routes by more
 * than px_route_plain() decides. */
static bool ours_only(const sipsrv_proxy *p, const rq *q)
{
  for (size_t i = 0; i < q->nroute; i++)
    if (!px_uri_is_us(p, q->routes[i]->r_url))
      return false;
  return !q->nroute || !ss_uri_has_param(&q->ru, "lr") || !px_uri_is_us(p, &q->ru);
}

bool px_raw_request(void *self, const char *d, size_t len, const ss_peer *src)
{
  sipsrv_proxy *p = self;
  su_home_t area[SU_HOME_AUTO_SIZE(4096)]; /* the fields parsed: no malloc */
  char out[RQ_MAX + 1024];
  su_home_t *home;
  const char *hop;
  ss_peer peer;
  size_t n = 0;
  bool stateless = p->cfg.mode == SIPSRV_PROXY_STATELESS;
  rq q;

  /* A stateful proxy forwards only the ACK of a 2xx without a transaction
   * (16.6, 13.2.2.4; px_ack()), when no role before it would take an ACK. */
  if (len > RQ_MAX || (!stateless && (len < 4 || memcmp(d, "ACK ", 4) != 0 ||
                                       !ss_core_txn_acks_first(p->ct, &p->role))))
    return false;
  memset(&q, 0, sizeof q);
  q.d = d;
  q.end = d + len;
  /* What the full path would give to the roles after us (px_early(),
   * for_local_roles()), or route by more than px_route_plain() knows (the
   * location service, on_route, gateways), goes there: known from the
   * request line, before any header is parsed. */
  if (!request_line(&q) || px_for_local(p, method_is(&q, "REGISTER"), &q.ru) ||
      (!px_route_plain(p, &q.ru, false, &hop) && !px_route_plain(p, &q.ru, true, &hop)) ||
      !(home = su_home_auto(area, sizeof area)))
    return false;
  /* That ACK matches no INVITE server transaction (17.2.3: not the ACK of
   * a non-2xx, which the transaction absorbs), and has no Via of ours (a
   * loop is checked on the full path, 16.3 step 4). */
  if (scan(home, &q) && ours_only(p, &q) &&
      (stateless || (!q.our_branch && ss_txn_ack_is_stray(ss_core_txn_layer(p->ct), q.via))) &&
      next_hop(p, &q, &peer))
    n = edit(p, &q, home, src, &peer, out, sizeof out);
  su_home_deinit(home);
  if (!n)
    return false;
  ss_core_send_request_to(p->core, &peer, out, n);
  ss_core_counters_of(p->core)->requests_relayed++;
  return true;
}
