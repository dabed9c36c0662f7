/* Requests a stateless proxy forwards from their bytes (proxy_int.h).
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
 * Record-Route values one per line, checked the same way; no Route (16.4
 * and routing by it), Proxy-Require (16.3 step 5), nor any other header the
 * full parse would reject the request for when malformed (Sofia-SIP's
 * request, proxy and registrar classes). A header the full parse does not
 * judge is copied as it is, as the full path copies it. Anything else, and
 * anything whose target needs more than px_route_plain() decides, takes the
 * full parse, which answers what is to be answered (400, 416, 420, 483...).
 * Both paths make the same branch (16.11), so a request and its CANCEL or
 * ACK may take different paths. */
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

/* One header line of a request; false when the request is not plain. */
static bool header(rq *q, su_home_t *home, const px_line *l, long *clen)
{
  enum { MASK = sip_mask_request | sip_mask_proxy | sip_mask_registrar };
  msg_href_t const *hr = msg_find_hclass(sip_default_mclass(), l->ls, NULL);
  msg_hclass_t *hc = hr ? hr->hr_class : NULL;
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
  if (!(hr->hr_flags & MASK))
    return true;                         /* not judged: copied as it is */
  /* One value per line: Sofia-SIP's parser of one header takes one. */
  if ((hc == sip_via_class || hc == sip_contact_class || hc == sip_record_route_class) &&
      ss_list_comma(l->v, l->ve))
    return false;
  if (hc == sip_via_class) {
    sip_via_t *v = (sip_via_t *)px_raw_make(home, hc, l->v, l->ve);
    /* RFC 3261 20.42, 8.1.1.7: every Via well formed, ours to read SIP/2.0. */
    if (!v || !ss_via_ok(v))
      return false;
    if (!q->via) {
      if (!v->v_protocol || strncasecmp(v->v_protocol, "SIP/2.0/", 8) != 0)
        return false;
      q->via = v, q->via_ls = l->ls, q->via_next = l->next;
    }
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
    return false;                        /* Route, Proxy-Require, Expires...: parsed whole */
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
    sip_content_type_t *ct =
        q->ct ? (sip_content_type_t *)px_raw_make(home, sip_content_type_class, q->ct, q->cte) : NULL;
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
  char tmp[600];
  url_t u;

  if (!px_route_plain(p, &q->ru, q->to->a_tag != NULL, &hop))
    return false;
  if (hop) {
    if (strlen(hop) >= sizeof tmp)
      return false;
    strcpy(tmp, hop);
    if (url_d(&u, tmp) < 0)
      return false;
  }
  /* A name to resolve, a target we have no transport for: the full path
   * resolves it (RFC 3263) or answers. */
  return px_next_hop(p, hop ? &u : &q->ru, peer, &phrase) == 0;
}

/* 16.6 on the bytes, into out: 0 when it did not fit. */
static size_t edit(sipsrv_proxy *p, rq *q, su_home_t *home, const ss_peer *src,
                   const ss_peer *peer, char *out, size_t size)
{
  const char *name, *host;
  unsigned port, flags, rport;
  char branch[64], rr[300], received[64];
  ss_sb sb = ss_sb_init(out, size);

  /* 16.11: the branch both paths make. */
  px_branch_stateless_of(p, q->call_id->i_id, q->from->a_tag, q->cseq->cs_seq, q->via, 0, branch);
  ss_sb_mem(&sb, q->d, (size_t)(q->first - q->d));          /* the request line */
  /* Step 8: our Via, on top. */
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
  /* Step 4: Record-Route on top, two values when the transport changes
   * (RFC 5658), the one facing the next hop first. */
  if (p->cfg.record_route && !q->to->a_tag &&
      (method_is(q, "INVITE") || method_is(q, "SUBSCRIBE") || method_is(q, "REFER"))) {
    px_rr_value(peer->transport, rr, sizeof rr);
    ss_sb_str(&sb, "Record-Route: ");
    ss_sb_str(&sb, rr);
    ss_sb_str(&sb, "\r\n");
    if (src->transport && src->transport != peer->transport) {
      px_rr_value(src->transport, rr, sizeof rr);
      ss_sb_str(&sb, "Record-Route: ");
      ss_sb_str(&sb, rr);
      ss_sb_str(&sb, "\r\n");
    }
  }
  /* Step 3: Max-Forwards 70 when the request had none. */
  if (!q->mf)
    ss_sb_str(&sb, "Max-Forwards: 70\r\n");
  /* The header lines: the top Via stamped (18.2.1, RFC 3581 4), Max-Forwards
   * less one (16.6 step 3), the others as they came, in their order. */
  {
    struct span { const char *ls, *next, *text; } rep[2], t;
    char via[1040], mf[40];
    size_t nrep = 0;
    const char *at = q->first;
    if (ss_core_via_received(src, q->via->v_host, q->via->v_rport != NULL, received, &rport)) {
      issize_t n;
      memcpy(via, "Via: ", 5);
      if (ss_via_stamp(home, q->via, received, q->via->v_rport ? rport : 0) < 0 ||
          (n = msg_header_field_e(via + 5, sizeof via - 7, (msg_header_t *)q->via, 0)) <= 0 ||
          (size_t)n >= sizeof via - 7)
        return 0;
      memcpy(via + 5 + n, "\r\n", 3);
      rep[nrep++] = (struct span){ q->via_ls, q->via_next, via };
    }
    if (q->mf) {
      ss_sb m = ss_sb_init(mf, sizeof mf);
      ss_sb_str(&m, "Max-Forwards: ");
      ss_sb_u64(&m, q->mf->mf_count - 1);
      ss_sb_str(&m, "\r\n");
      rep[nrep++] = (struct span){ q->mf_ls, q->mf_next, mf };
    }
    if (nrep == 2 && rep[1].ls < rep[0].ls)
      t = rep[0], rep[0] = rep[1], rep[1] = t;
    for (size_t i = 0; i < nrep; i++) {
      ss_sb_mem(&sb, at, (size_t)(rep[i].ls - at));
      ss_sb_str(&sb, rep[i].text);
      at = rep[i].next;
    }
    ss_sb_mem(&sb, at, (size_t)(q->end - at));
  }
  return ss_sb_done(&sb) < 0 ? 0 : sb.n;
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
  rq q;

  if (p->cfg.mode != SIPSRV_PROXY_STATELESS || len > RQ_MAX)
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
  if (scan(home, &q) && next_hop(p, &q, &peer))
    n = edit(p, &q, home, src, &peer, out, sizeof out);
  su_home_deinit(home);
  if (!n)
    return false;
  ss_core_send_request_to(p->core, &peer, out, n);
  ss_core_counters_of(p->core)->requests_relayed++;
  return true;
}
