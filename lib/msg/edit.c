/* Editing a parsed message, and serializing it to iovecs.
 *
 * Every edit clears the edited header's wire fragment (and those of values
 * that shared its line), so the new text is encoded and the rest of the
 * message still goes out as received (SOFIA-NOTES: msg_fragment_clear). */
#include "core/fmt.h"
#include "msg_int.h"

#include <sipsrv/error.h>

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define PUB(m) ((msg_pub_t *)(m)->sip)

/* msg_iovec_t is Sofia-SIP's struct iovec: same layout on POSIX systems. */
_Static_assert(sizeof(msg_iovec_t) == sizeof(struct iovec), "msg_iovec_t is not struct iovec");

/* True when s holds no CR, LF or NUL that could smuggle a header in. */
static bool is_one_line(const char *s)
{
  return s && !strpbrk(s, "\r\n");
}

/* In a message with a fragment chain (a parsed one, or a shallow copy),
 * Sofia-SIP puts a prepended header right under the start line, so a Via
 * pushed after another header was prepended (a first Record-Route) would
 * sit above that header, apart from the Via block. RFC 3261 7.3.1 keeps
 * only the order of same-name fields, but UAs copy Via lines as a block:
 * move h in the chain to just above old (neither is the chain's last
 * fragment: the empty line follows them). */
static void keep_above(msg_header_t *h, msg_header_t *old)
{
  if (!old || !h->sh_prev || !old->sh_prev || h->sh_succ == old || !h->sh_succ)
    return;
  *h->sh_prev = h->sh_succ;               /* unlink h */
  h->sh_succ->sh_prev = h->sh_prev;
  h->sh_prev = old->sh_prev;              /* link it before old */
  h->sh_succ = old;
  *old->sh_prev = h;
  old->sh_prev = &h->sh_succ;
}

int sipsrv_msg_via_push(sipsrv_msg *msg, const char *transport, const char *host, unsigned port,
                        const char *branch, int rport)
{
  char proto[48], hostb[300], portb[8], pbuf[128], *param;
  su_home_t *home;
  size_t plen;
  sip_via_t *v;
  msg_header_t *old;
  ss_sb sb;
  bool v6;

  if (!msg || !ss_is_token(transport) || !host || !ss_is_token(branch) || port > 65535)
    return SIPSRV_E_INVAL;
  v6 = strchr(host, ':') && host[0] != '[';
  /* Made from its fields (sip_via_create() copies them), not printed and
   * parsed again: a forwarding proxy pushes one per request. */
  sb = ss_sb_init(proto, sizeof proto);
  ss_sb_str(&sb, "SIP/2.0/");
  ss_sb_str(&sb, transport);
  if (ss_sb_done(&sb) < 0)
    return SIPSRV_E_INVAL;
  sb = ss_sb_init(hostb, sizeof hostb);
  ss_sb_str(&sb, v6 ? "[" : "");
  ss_sb_str(&sb, host);
  ss_sb_str(&sb, v6 ? "]" : "");
  if (ss_sb_done(&sb) < 0 || !ss_host_valid(hostb))
    return SIPSRV_E_INVAL;              /* an IPv6 literal bracketed (25.1) */
  sb = ss_sb_init(portb, sizeof portb);
  ss_sb_u64(&sb, port);
  (void)ss_sb_done(&sb);
  /* A branch of any length: on the stack when it fits. */
  home = msg_home(msg->msg);
  plen = strlen(branch) + sizeof "branch=";
  param = plen <= sizeof pbuf ? pbuf : su_alloc(home, plen);
  if (!param)
    return SIPSRV_E_NOMEM;
  sb = ss_sb_init(param, plen);
  ss_sb_str(&sb, "branch=");
  ss_sb_str(&sb, branch);
  (void)ss_sb_done(&sb);
  v = sip_via_create(home, hostb, port ? portb : NULL, proto, param, rport ? "rport" : NULL,
                     (char *)NULL);
  if (param != pbuf)
    su_free(home, param);
  if (!v)
    return SIPSRV_E_NOMEM;
  old = (msg_header_t *)msg->sip->sip_via;
  if (msg_header_prepend(msg->msg, PUB(msg), (msg_header_t **)&msg->sip->sip_via,
                         (msg_header_t *)v) < 0)
    return SIPSRV_E_NOMEM;
  keep_above((msg_header_t *)v, old);
  return 0;
}

/* Remove the first value of a list, keeping the wire bytes of the others. */
static int pop_first(sipsrv_msg *msg, msg_header_t *first)
{
  if (!first)
    return SIPSRV_E_NOTFOUND;
  /* Values that shared the removed value's line lose their fragment: clear
   * them so they are encoded again. */
  msg_fragment_clear_chain(first);
  if (msg_header_remove(msg->msg, PUB(msg), first) < 0)
    return SIPSRV_E_STATE;
  return 0;
}

int sipsrv_msg_via_pop(sipsrv_msg *msg)
{
  if (!msg)
    return SIPSRV_E_INVAL;
  return pop_first(msg, (msg_header_t *)msg->sip->sip_via);
}

/* Set a parameter "name=value" (value NULL: remove; "": no value). */
/* How many of h's parameters are called name (any case). */
static size_t param_count(msg_header_t const *h, const char *name)
{
  msg_param_t **pp = msg_header_params(h->sh_common);
  size_t n = 0, len = strlen(name);
  for (msg_param_t const *p = pp && *pp ? *pp : NULL; p && *p; p++)
    if (strncasecmp(*p, name, len) == 0 && ((*p)[len] == '=' || (*p)[len] == '\0'))
      n++;
  return n;
}

static int set_param(su_home_t *home, msg_header_t *h, const char *name, const char *value)
{
  char *p;

  if (!h)
    return SIPSRV_E_NOTFOUND;
  if (!value) {
    if (msg_header_remove_param(h->sh_common, name) < 1)
      return SIPSRV_E_NOTFOUND;
    msg_fragment_clear_chain(h);
    return 0;
  }
  p = *value ? su_sprintf(home, "%s=%s", name, value) : su_strdup(home, name);
  if (!p)
    return SIPSRV_E_NOMEM;
  if (param_count(h, name) > 1) {
    /* "received=a;received=b": replacing the first would leave a second
     * that a parser may read instead (tests/fuzz/fuzz_parse). One only. */
    while (msg_header_remove_param(h->sh_common, name) > 0)
      ;
    if (msg_header_add_param(home, h->sh_common, p) < 0)
      return SIPSRV_E_NOMEM;
  } else if (msg_header_replace_param(home, h->sh_common, p) < 0) {
    return SIPSRV_E_NOMEM;
  }
  msg_fragment_clear_chain(h);
  return 0;
}

int ss_via_stamp(su_home_t *home, sip_via_t *v, const char *received, unsigned rport)
{
  int rc;

  if (received && *received) {
    /* RFC 3261 18.2.1 and RFC 5118 4.5: an IPv6 received is written bare. */
    const char *r = received;
    char buf[64];
    size_t n = strlen(r);
    if (r[0] == '[' && n > 2 && n < sizeof buf + 2 && r[n - 1] == ']') {
      memcpy(buf, r + 1, n - 2);
      buf[n - 2] = '\0';
      r = buf;
    }
    rc = set_param(home, (msg_header_t *)v, "received", r);
    if (rc < 0)
      return rc;
  }
  /* RFC 3581 4: fill in rport only when the client asked for it. */
  if (rport && v->v_rport) {
    char port[12];
    snprintf(port, sizeof port, "%u", rport);
    rc = set_param(home, (msg_header_t *)v, "rport", port);
    if (rc < 0)
      return rc;
  }
  return 0;
}

int sipsrv_msg_via_set_received(sipsrv_msg *msg, const char *received, unsigned rport)
{
  /* RFC 3261 25.1: received = IPv4address / IPv6address. */
  if (!msg || rport > 65535 || (received && *received && !ss_is_ip_address(received)))
    return SIPSRV_E_INVAL;
  if (!msg->sip->sip_via)
    return SIPSRV_E_NOTFOUND;
  return ss_via_stamp(msg_home(msg->msg), msg->sip->sip_via, received, rport);
}

int sipsrv_msg_max_forwards_dec(sipsrv_msg *msg)
{
  sip_max_forwards_t *mf;

  if (!msg)
    return SIPSRV_E_INVAL;
  if (!msg->sip->sip_request)
    return SIPSRV_E_NOTSUP;
  mf = msg->sip->sip_max_forwards;
  if (!mf) {
    /* RFC 3261 16.6 step 3: add Max-Forwards 70 when absent. */
    if (msg_header_add_make(msg->msg, PUB(msg), sip_max_forwards_class, "70") < 0)
      return SIPSRV_E_NOMEM;
    return 70;
  }
  if (mf->mf_count == 0)
    return SIPSRV_E_STATE;
  mf->mf_count--;
  msg_fragment_clear(mf->mf_common);
  return (int)mf->mf_count;
}

int sipsrv_msg_set_request_uri(sipsrv_msg *msg, const char *uri)
{
  su_home_t *home;
  sip_request_t *old, *rq;
  url_t *u;

  if (!msg || !uri || !is_one_line(uri) || strchr(uri, ' '))
    return SIPSRV_E_INVAL;
  old = msg->sip->sip_request;
  if (!old)
    return SIPSRV_E_NOTSUP;
  home = msg_home(msg->msg);
  u = url_make(home, uri);
  /* The same rules the parser applies to a received Request-URI (19.1.1). */
  if (!u || u->url_type == url_invalid || u->url_type == url_any || !ss_url_host_port_ok(u) ||
      ((u->url_type == url_sip || u->url_type == url_sips) && u->url_headers)) {
    su_free(home, u);
    return SIPSRV_E_INVAL;
  }
  rq = sip_request_create(home, old->rq_method, old->rq_method_name, (url_string_t *)u,
                          old->rq_version);
  if (!rq)
    return SIPSRV_E_NOMEM;
  if (msg_header_replace(msg->msg, PUB(msg), (msg_header_t *)old, (msg_header_t *)rq) < 0)
    return SIPSRV_E_NOMEM;
  return 0;
}

/* The class and list head of an address header. */
static msg_hclass_t *addr_class(sipsrv_msg *msg, sipsrv_addr_hdr hdr, msg_header_t ***head)
{
  switch (hdr) {
  case SIPSRV_HDR_CONTACT:
    *head = (msg_header_t **)&msg->sip->sip_contact;
    return sip_contact_class;
  case SIPSRV_HDR_ROUTE:
    *head = (msg_header_t **)&msg->sip->sip_route;
    return sip_route_class;
  case SIPSRV_HDR_RECORD_ROUTE:
    *head = (msg_header_t **)&msg->sip->sip_record_route;
    return sip_record_route_class;
  case SIPSRV_HDR_PATH:
    *head = (msg_header_t **)&msg->sip->sip_path;
    return sip_path_class;
  default:
    return NULL;
  }
}

int sipsrv_msg_addr_push(sipsrv_msg *msg, sipsrv_addr_hdr hdr, const char *value, int at_end)
{
  msg_header_t **head;
  msg_hclass_t *hc;
  msg_header_t *h;

  if (!msg || !value || !is_one_line(value))
    return SIPSRV_E_INVAL;
  hc = addr_class(msg, hdr, &head);
  if (!hc)
    return SIPSRV_E_INVAL;
  h = msg_header_make(msg_home(msg->msg), hc, value);
  if (!h || h->sh_next)                  /* exactly one value */
    return SIPSRV_E_INVAL;
  if (!at_end || !*head)
    return msg_header_prepend(msg->msg, PUB(msg), head, h) < 0 ? SIPSRV_E_NOMEM : 0;
  /* Appending: these classes append on insert. */
  return msg_header_insert(msg->msg, PUB(msg), h) < 0 ? SIPSRV_E_NOMEM : 0;
}

int sipsrv_msg_addr_pop(sipsrv_msg *msg, sipsrv_addr_hdr hdr)
{
  msg_header_t **head;

  if (!msg || !addr_class(msg, hdr, &head))
    return SIPSRV_E_INVAL;
  return pop_first(msg, *head);
}

int sipsrv_msg_param_set(sipsrv_msg *msg, sipsrv_param_hdr hdr, int idx, const char *name,
                         const char *value)
{
  msg_header_t *h;

  /* RFC 3261 25.1: generic-param = token [ EQUAL gen-value ]. */
  if (!msg || idx < 0 || !ss_is_token(name) || (value && *value && !ss_is_gen_value(value)))
    return SIPSRV_E_INVAL;
  switch (hdr) {
  case SIPSRV_PHDR_VIA: h = (msg_header_t *)msg->sip->sip_via; break;
  case SIPSRV_PHDR_FROM: h = idx ? NULL : (msg_header_t *)msg->sip->sip_from; break;
  case SIPSRV_PHDR_TO: h = idx ? NULL : (msg_header_t *)msg->sip->sip_to; break;
  case SIPSRV_PHDR_CONTACT: h = (msg_header_t *)msg->sip->sip_contact; break;
  case SIPSRV_PHDR_ROUTE: h = (msg_header_t *)msg->sip->sip_route; break;
  case SIPSRV_PHDR_RECORD_ROUTE: h = (msg_header_t *)msg->sip->sip_record_route; break;
  default: return SIPSRV_E_INVAL;
  }
  for (; h && idx > 0; h = h->sh_next)
    idx--;
  return set_param(msg_home(msg->msg), h, name, value);
}

int sipsrv_msg_header_add(sipsrv_msg *msg, const char *field)
{
  const char *colon;
  size_t n;
  msg_header_t *h;

  if (!msg || !field || !is_one_line(field))
    return SIPSRV_E_INVAL;
  /* field-name = token, then optional whitespace and ':' (RFC 3261 7.3.1). */
  colon = strchr(field, ':');
  if (!colon)
    return SIPSRV_E_INVAL;
  for (n = 0; field + n < colon && ss_is_token_char((unsigned char)field[n]); n++)
    ;
  if (n == 0)
    return SIPSRV_E_INVAL;
  for (const char *p = field + n; p < colon; p++)
    if (*p != ' ' && *p != '\t')
      return SIPSRV_E_INVAL;
  /* Parsed into a header object and inserted in the header section (a text
   * append would land after the empty line). */
  h = msg_header_d(msg_home(msg->msg), msg->msg, field);
  if (!h || h->sh_class == sip_error_class)
    return SIPSRV_E_INVAL;
  return msg_header_insert(msg->msg, PUB(msg), h) < 0 ? SIPSRV_E_NOMEM : 0;
}

int sipsrv_msg_header_remove(sipsrv_msg *msg, const char *name)
{
  int n = 0;
  size_t len;
  msg_header_t *h, *next;

  if (!msg || !name || !*name)
    return SIPSRV_E_INVAL;
  len = strlen(name);
  /* A copy (msg_dup) or a built message has no fragment chain yet: make it,
   * or nothing would be found. */
  if (!*msg_chain_head(msg->msg) && msg_serialize(msg->msg, PUB(msg)) < 0)
    return SIPSRV_E_NOMEM;
  for (h = *msg_chain_head(msg->msg); h; h = next) {
    msg_hclass_t const *hc = h->sh_class;
    const char *hn = hc == sip_unknown_class ? h->sh_unknown->un_name : hc->hc_name;
    next = h->sh_succ;
    if (hc == sip_request_class || hc == sip_status_class || hc == sip_separator_class ||
        hc == sip_payload_class || !hn)
      continue;
    if (!ss_header_name_is(name, len, hn, hc->hc_short[0] ? (char)(hc->hc_short[0] | 0x20) : 0))
      continue;
    msg_fragment_clear_chain(h);
    if (msg_header_remove(msg->msg, PUB(msg), h) == 0)
      n++;
    next = *msg_chain_head(msg->msg);      /* the chain changed: start over */
  }
  return n;
}

/* Make Content-Length match the body (RFC 3261 18.3, 20.14). */
static int fix_content_length(sipsrv_msg *msg)
{
  size_t body = msg->sip->sip_payload ? msg->sip->sip_payload->pl_len : 0;
  sip_content_length_t *cl = msg->sip->sip_content_length;
  sip_content_length_t *ncl;

  if (cl && cl->l_length == body)
    return 0;
  ncl = sip_content_length_create(msg_home(msg->msg), (uint32_t)body);
  if (!ncl)
    return SIPSRV_E_NOMEM;
  if (cl)
    return msg_header_replace(msg->msg, PUB(msg), (msg_header_t *)cl, (msg_header_t *)ncl) < 0
               ? SIPSRV_E_NOMEM : 0;
  return msg_header_insert(msg->msg, PUB(msg), (msg_header_t *)ncl) < 0 ? SIPSRV_E_NOMEM : 0;
}

/* Encode whatever was edited; a message built from scratch is first put in
 * the fragment chain (SOFIA-NOTES: msg_serialize before msg_prepare). */
static int prepare(sipsrv_msg *msg)
{
  int rc = fix_content_length(msg);
  if (rc < 0)
    return rc;
  if (msg_serialize(msg->msg, PUB(msg)) < 0 || msg_prepare(msg->msg) < 0)
    return SIPSRV_E_NOMEM;
  return 0;
}

long ss_msg_wire_pop_via(sipsrv_msg *m, char *buf, size_t size)
{
  struct iovec small[16];
  sip_via_t const *v = m && m->sip ? m->sip->sip_via : NULL;
  const char *cut, *cut_end;
  bool found = false;
  size_t off = 0;
  int n;

  if (!v || !m->sip->sip_status || !v->v_common->h_data || !v->v_common->h_len)
    return SIPSRV_E_INVAL;
  n = sipsrv_msg_iovec(m, small, 16);
  if (n < 0 || n > 16)
    return n < 0 ? n : SIPSRV_E_NOMEM;
  /* prepare() may have encoded an edit (a Content-Length it added) but
   * leaves a received field's text where it was. */
  cut = v->v_common->h_data;
  cut_end = cut + v->v_common->h_len;
  if (v->v_next && v->v_next->v_common->h_len == 0) {
    /* The next Via shares our line ("Via: ours, next"): cut our value and
     * its comma, so the line keeps the others. */
    const char *le = cut_end, *colon = memchr(cut, ':', (size_t)(cut_end - cut));
    while (le > cut && (le[-1] == '\r' || le[-1] == '\n'))
      le--;
    if (!colon || memchr(cut, '\n', (size_t)(le - cut)))
      return SIPSRV_E_INVAL;             /* folded: the caller edits a copy */
    for (cut = colon + 1; cut < le && (*cut == ' ' || *cut == '\t'); cut++)
      ;
    if (!(cut_end = ss_list_next(cut, le, NULL)))
      return SIPSRV_E_INVAL;
  }
  for (int i = 0; i < n; i++) {
    const char *b = small[i].iov_base, *e = b + small[i].iov_len;
    const char *parts[2][2] = { { b, e }, { NULL, NULL } };
    if (!found && cut >= b && cut_end <= e) {
      parts[0][1] = cut;
      parts[1][0] = cut_end;
      parts[1][1] = e;
      found = true;
    }
    for (int k = 0; k < 2; k++) {
      size_t len = parts[k][0] ? (size_t)(parts[k][1] - parts[k][0]) : 0;
      if (len > size - off)
        return SIPSRV_E_NOMEM;
      memcpy(buf + off, parts[k][0] ? parts[k][0] : "", len);
      off += len;
    }
  }
  return found ? (long)off : SIPSRV_E_INVAL;
}

int sipsrv_msg_iovec(sipsrv_msg *msg, struct iovec *iov, size_t n)
{
  msg_iovec_t tmp[1];
  isize_t need;
  int rc;

  if (!msg || (!iov && n))
    return SIPSRV_E_INVAL;
  rc = prepare(msg);
  if (rc < 0)
    return rc;
  need = msg_iovec(msg->msg, n ? (msg_iovec_t *)iov : tmp, (isize_t)n);
  return need < 0 ? SIPSRV_E_NOMEM : (int)need;
}

long sipsrv_msg_serialize(sipsrv_msg *msg, void *buf, size_t size)
{
  struct iovec small[16], *iov = small;
  int n;
  size_t total = 0, off = 0;

  if (!msg || (!buf && size))
    return SIPSRV_E_INVAL;
  n = sipsrv_msg_iovec(msg, small, 16);
  if (n < 0)
    return n;
  if (n > 16) {
    iov = su_alloc(msg_home(msg->msg), sizeof *iov * (size_t)n);
    if (!iov)
      return SIPSRV_E_NOMEM;
    n = sipsrv_msg_iovec(msg, iov, (size_t)n);
  }
  for (int i = 0; i < n; i++)
    total += iov[i].iov_len;
  if (total <= size)
    for (int i = 0; i < n; i++) {
      memcpy((char *)buf + off, iov[i].iov_base, iov[i].iov_len);
      off += iov[i].iov_len;
    }
  if (iov != small)
    su_free(msg_home(msg->msg), iov);
  return (long)total;
}
