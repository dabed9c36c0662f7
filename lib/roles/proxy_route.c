/* The proxy's pieces (proxy_int.h): next hops, our own URIs, branches and
 * loop hashes, the 16.6 edits of a forwarded copy, responses back by Via. */
#include "core/fmt.h"
#include "proxy_int.h"
#include "roles_int.h"

#include "transport/transport_int.h"

#include <sipsrv/error.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Our branches start with the magic cookie, then "s" and a kind: "sf"
 * stateful (then the loop hash), "sl" stateless, "sa" a 2xx ACK. */
#define OUR_BRANCH "z9hG4bKs"

int px_next_hop(const sipsrv_proxy *p, url_t const *u, ss_peer *out, const char **phrase)
{
  char maddr[64], tpname[16];
  const char *host = u->url_host, *name = "UDP";
  isize_t n;

  memset(out, 0, sizeof *out);
  if (!host || (u->url_type != url_sip && u->url_type != url_sips)) {
    *phrase = "Unsupported URI Scheme";
    return 416;
  }
  /* 16.6 step 7 and RFC 3263 4.1: maddr first, the transport parameter. */
  n = (isize_t)ss_uri_param(u->url_params, "maddr", maddr, sizeof maddr);
  if (n > 1 && (size_t)n < sizeof maddr)          /* an empty maddr names nothing */
    host = maddr;
  n = (isize_t)ss_uri_param(u->url_params, "transport", tpname, sizeof tpname);
  if (n > 0 && (size_t)n < sizeof tpname)
    name = tpname;
  if (u->url_type == url_sips)
    name = "TLS";
  if (!ss_is_ip_address(host)) {
    *phrase = "Cannot Resolve Target (no DNS)";
    return 503;
  }
  if (ss_sockaddr_make(host, ss_url_port(u), &out->addr, &out->addrlen) < 0) {
    *phrase = "Bad Target Address";
    return 503;
  }
  if (px_peer_for(p, name, &out->addr, out->addrlen, out) < 0) {
    *phrase = "No Transport For Target";
    return 503;
  }
  return 0;
}

int px_peer_for(const sipsrv_proxy *p, const char *transport, const struct sockaddr_storage *addr,
                socklen_t len, ss_peer *out)
{
  const char *tn, *th;
  unsigned tport, flags;
  sipsrv_transport *tp = ss_core_transport_find(p->core, transport, addr->ss_family);
  ss_peer peer;
  if (!tp || len > sizeof peer.addr)
    return SIPSRV_E_NOTFOUND;
  memset(&peer, 0, sizeof peer);
  peer.transport = tp;
  memcpy(&peer.addr, addr, len);         /* addr may be out->addr */
  peer.addrlen = len;
  *out = peer;
  ss_transport_info(tp, &tn, &th, &tport, &flags);
  out->reliable = (flags & SIPSRV_TP_RELIABLE) != 0;
  return 0;
}

bool px_uri_is_us(const sipsrv_proxy *p, url_t const *u)
{
  if (!u->url_host || (u->url_type != url_sip && u->url_type != url_sips))
    return false;
  if (ss_core_is_local(p->core, u->url_host, ss_url_port(u)))
    return true;
  return ss_domain_listed(p->cfg.domains, u->url_host) && !u->url_port;
}

bool px_host_is_ours(const sipsrv_proxy *p, url_t const *u)
{
  return u->url_host && (u->url_type == url_sip || u->url_type == url_sips) &&
         (ss_domain_listed(p->cfg.domains, u->url_host) || ss_core_is_local(p->core, u->url_host, 0));
}

bool px_domain_is_ours(const sipsrv_proxy *p, url_t const *u)
{
  if (!u->url_host || (u->url_type != url_sip && u->url_type != url_sips))
    return false;
  /* A domain that is an IP address is shared by everything on that
   * address: with a port, it is ours only on one of our ports. */
  if (u->url_port && ss_is_ip_address(u->url_host))
    return ss_core_is_local(p->core, u->url_host, ss_url_port(u));
  return ss_domain_listed(p->cfg.domains, u->url_host) || ss_core_is_local(p->core, u->url_host, 0);
}

/* ---- branches and loops ------------------------------------------------ */

static uint64_t hash_header(uint64_t h, const msg_header_t *hd)
{
  char buf[1024];
  for (; hd; hd = hd->sh_next) {
    issize_t n = msg_header_field_e(buf, sizeof buf, hd, 0);
    h = ss_hash(h, n >= 0 && (size_t)n < sizeof buf ? buf : "?");
  }
  return h;
}

uint64_t px_loop_hash(const sipsrv_proxy *p, const sipsrv_msg *req)
{
  sip_t const *sip = req->sip;
  char uri[1024], seq[24];
  issize_t n = url_e(uri, sizeof uri, sip->sip_request->rq_url);
  uint64_t h = ss_hash(SS_HASH_INIT, "loop");

  /* RFC 3261 16.6 step 8 and RFC 5393 4.2: the Request-URI, To tag, From
   * tag, Call-ID, CSeq number, Route, Proxy-Require and
   * Proxy-Authorization as received; not Max-Forwards. */
  h ^= p->secret;
  h = ss_hash(h, n >= 0 && (size_t)n < sizeof uri ? uri : "?");
  h = ss_hash(h, sip->sip_to ? sip->sip_to->a_tag : NULL);
  h = ss_hash(h, sip->sip_from ? sip->sip_from->a_tag : NULL);
  h = ss_hash(h, sip->sip_call_id ? sip->sip_call_id->i_id : NULL);
  seq[ss_fmt_u64(seq, sip->sip_cseq ? sip->sip_cseq->cs_seq : 0u)] = '\0';
  h = ss_hash(h, seq);
  h = hash_header(h, (const msg_header_t *)sip->sip_route);
  h = hash_header(h, (const msg_header_t *)sip->sip_proxy_require);
  h = hash_header(h, (const msg_header_t *)sip->sip_proxy_authorization);
  return h;
}

bool px_via_is_ours(const sipsrv_proxy *p, sip_via_t const *v)
{
  unsigned port = v->v_port ? (unsigned)strtoul(v->v_port, NULL, 10) : 5060;
  return v->v_branch && strncmp(v->v_branch, OUR_BRANCH, strlen(OUR_BRANCH)) == 0 &&
         ss_core_is_local(p->core, v->v_host, port);
}

bool px_is_loop(const sipsrv_proxy *p, const sipsrv_msg *req, uint64_t loop)
{
  char want[32];
  ss_sb sb = ss_sb_init(want, sizeof want);
  ss_sb_str(&sb, OUR_BRANCH "f");
  ss_sb_hex16(&sb, loop);
  /* RFC 3261 16.3 step 4: a Via of ours with this request's hash is a
   * loop; with another hash, a spiral (the request was retargeted). */
  for (sip_via_t const *v = req->sip->sip_via; v; v = v->v_next)
    if (px_via_is_ours(p, v) && strncmp(v->v_branch, want, strlen(want)) == 0)
      return true;
  return false;
}

void px_branch_stateful(sipsrv_proxy *p, uint64_t loop, char *buf)
{
  uint64_t id = ss_hash(p->secret ^ ++p->seq, "branch");
  ss_sb sb = ss_sb_init(buf, 64);
  ss_sb_str(&sb, OUR_BRANCH "f");
  ss_sb_hex16(&sb, loop);
  ss_sb_chr(&sb, '.');
  ss_sb_hex16(&sb, id);
}

/* 16.11: Call-ID, From tag, CSeq number and the top Via's branch: equal
 * for a request, its retransmissions, its CANCEL and its non-2xx ACK, and
 * the same whether the request was parsed or taken from its bytes. A
 * request that came on a connection names it, so that the response goes
 * back on it (18.2.2) though no state remembers it. */
static void branch_stateless(uint64_t id, uint64_t conn, char *buf)
{
  ss_sb sb = ss_sb_init(buf, 64);
  ss_sb_str(&sb, OUR_BRANCH "l");
  ss_sb_hex16(&sb, id);
  if (conn) {
    ss_sb_str(&sb, ".c");
    ss_sb_hex(&sb, conn);
  }
}

void px_branch_stateless(const sipsrv_proxy *p, const sipsrv_msg *m, uint64_t conn, char *buf)
{
  branch_stateless(ss_msg_id_hash(m, p->secret ^ 0x5aULL), conn, buf);
}

void px_branch_stateless_of(const sipsrv_proxy *p, const char *call_id, const char *from_tag,
                            uint32_t cseq, sip_via_t const *top, uint64_t conn, char *buf)
{
  branch_stateless(ss_id_hash(p->secret ^ 0x5aULL, call_id, from_tag, cseq, top->v_branch,
                              top->v_host),
                   conn, buf);
}

/* The connection a stateless branch of ours names, 0 if none. */
static uint64_t branch_conn(const char *branch)
{
  const char *c = strstr(branch, ".c");
  return strncmp(branch, OUR_BRANCH "l", strlen(OUR_BRANCH) + 1) == 0 && c
         ? strtoull(c + 2, NULL, 16) : 0;
}

/* ---- forwarding a copy -------------------------------------------------- */

void px_rr_value(const sipsrv_transport *tp, char *buf, size_t size)
{
  const char *name, *host;
  unsigned port, flags;
  char tpl[16] = "";
  bool v6;
  ss_transport_info(tp, &name, &host, &port, &flags);
  v6 = strchr(host, ':') != NULL;
  for (size_t i = 0; strcasecmp(name, "UDP") && name[i] && i + 1 < sizeof tpl; i++)
    tpl[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
  snprintf(buf, size, "<sip:%s%s%s:%u%s%s;lr>", v6 ? "[" : "", host, v6 ? "]" : "", port,
           tpl[0] ? ";transport=" : "", tpl);
}

bool px_dialog_creating(const sipsrv_msg *m)
{
  sip_t const *sip = m->sip;
  sip_method_t k = sip->sip_request->rq_method;
  return (k == sip_method_invite || k == sip_method_subscribe || k == sip_method_refer) &&
         sip->sip_to && !sip->sip_to->a_tag;
}

int px_target_peer(const sipsrv_proxy *p, const px_target *t, url_t const *hop,
                   const ss_peer *fixed, ss_peer *peer, const char **phrase)
{
  url_t u;
  char tmp[600];
  if (fixed) {
    *peer = *fixed;                      /* resolved (RFC 3263) by the caller */
    return 0;
  }
  if (!t->hop)
    return px_next_hop(p, hop, peer, phrase);
  /* The next hop the target names (an outbound proxy's). */
  if (p->hop_parsed && strcmp(t->hop, p->next_hop) == 0)
    return px_next_hop(p, &p->hop_url, peer, phrase);
  snprintf(tmp, sizeof tmp, "%s", t->hop);
  if (url_d(&u, tmp) < 0) {
    *phrase = "Bad Next Hop";
    return 500;
  }
  return px_next_hop(p, &u, peer, phrase);
}

int px_prepare(sipsrv_proxy *p, sipsrv_msg *m, const px_target *t, bool rr,
               const ss_peer *in, const char *branch, const ss_peer *fixed, ss_peer *peer,
               const char **phrase)
{
  sip_t *sip = m->sip;
  char buf[600];
  url_t const *hop;
  const char *name, *host;
  unsigned port, flags;
  bool strict = false;
  int rc;

  *phrase = NULL;
  /* Step 2: the Request-URI. */
  if (t->uri && sipsrv_msg_set_request_uri(m, t->uri) < 0) {
    *phrase = "Bad Target";
    return 500;
  }
  /* A binding's Path becomes the first Route values (RFC 3327 5.4). */
  if (t->route) {
    size_t len = strlen(t->route) + 8;
    char *f = ss_alloc(p->core, len);
    if (!f)
      return 500;
    snprintf(f, len, "Route: %s", t->route);
    rc = sipsrv_msg_header_add(m, f);
    ss_free(p->core, f);
    if (rc < 0) {
      *phrase = "Bad Path";
      return 500;
    }
  }
  /* Step 3: Max-Forwards (16.3 step 3 has refused 0 already). */
  if (sipsrv_msg_max_forwards_dec(m) < 0) {
    *phrase = "Too Many Hops";
    return 483;
  }
  /* Step 6: a next hop that is a strict router (no lr) gets the
   * Request-URI at the end of Route and becomes the Request-URI; step 7
   * then sends to the (new) Request-URI. */
  if (sip->sip_route && !ss_uri_has_param(sip->sip_route->r_url, "lr")) {
    strict = true;
    char uri[1024];
    issize_t n = url_e(uri, sizeof uri, sip->sip_request->rq_url);
    issize_t r = url_e(buf, sizeof buf, sip->sip_route->r_url);
    if (n < 0 || (size_t)n >= sizeof uri || r < 0 || (size_t)r >= sizeof buf - 4)
      return 500;
    {
      char val[1100];
      snprintf(val, sizeof val, "<%s>", uri);
      if (sipsrv_msg_addr_push(m, SIPSRV_HDR_ROUTE, val, 1) < 0 ||
          sipsrv_msg_set_request_uri(m, buf) < 0 || sipsrv_msg_addr_pop(m, SIPSRV_HDR_ROUTE) < 0)
        return 500;
    }
  }
  /* Step 7: the first Route, else the Request-URI. */
  hop = sip->sip_route && !strict ? sip->sip_route->r_url : sip->sip_request->rq_url;
  if ((rc = px_target_peer(p, t, hop, fixed, peer, phrase)) != 0)
    return rc;
  /* Step 4: Record-Route; two values when the transport changes, so each
   * side of the dialog reaches us on its own (RFC 5658). */
  if (rr) {
    if (in->transport && in->transport != peer->transport) {
      px_rr_value(in->transport, buf, sizeof buf);
      if (sipsrv_msg_addr_push(m, SIPSRV_HDR_RECORD_ROUTE, buf, 0) < 0)
        return 500;
    }
    px_rr_value(peer->transport, buf, sizeof buf);
    if (sipsrv_msg_addr_push(m, SIPSRV_HDR_RECORD_ROUTE, buf, 0) < 0)
      return 500;
  }
  /* Step 8: our Via. */
  ss_transport_info(peer->transport, &name, &host, &port, &flags);
  if (sipsrv_msg_via_push(m, name, host, port, branch, 0) < 0)
    return 500;
  return 0;
}

/* ---- responses back ----------------------------------------------------- */

/* Where a response goes once our Via (top) is off: the next Via, v. RFC
 * 3261 18.2.2 and RFC 3581 4: received and rport, which the core stamped
 * when the request came, else the sent-by; over the connection the request
 * came on when our branch names one. False when v names no address we can
 * send to. */
bool px_response_next_hop(const sipsrv_proxy *p, sip_via_t const *top, sip_via_t const *v,
                          ss_peer *peer)
{
  const char *host = v->v_received ? v->v_received : v->v_host, *slash;
  unsigned port = v->v_rport && *v->v_rport ? (unsigned)strtoul(v->v_rport, NULL, 10)
                  : v->v_port             ? (unsigned)strtoul(v->v_port, NULL, 10)
                                          : 5060;

  memset(peer, 0, sizeof *peer);
  peer->conn = branch_conn(top->v_branch);
  slash = v->v_protocol ? strrchr(v->v_protocol, '/') : NULL;
  return ss_sockaddr_make(host, port, &peer->addr, &peer->addrlen) == 0 &&
         (peer->transport = ss_core_transport_find(p->core, slash ? slash + 1 : "UDP",
                                                   peer->addr.ss_family)) != NULL;
}

bool px_forward_response(sipsrv_proxy *p, sipsrv_msg *rsp)
{
  sip_via_t const *v = rsp->sip->sip_via;
  char wire[8192];
  ss_peer peer;
  long n;

  if (!v || !px_via_is_ours(p, v))
    return false;
  /* 16.7 step 3 (16.11 for a stateless proxy): our Via goes; none left,
   * the response was for us. */
  if (!v->v_next || !px_response_next_hop(p, v, v->v_next, &peer)) {
    sipsrv_msg_free(rsp);
    return true;
  }
  /* As received less our Via, as bytes: no edit, encode and free of the
   * message; where that does not apply, the edited message. */
  n = ss_msg_wire_pop_via(rsp, wire, sizeof wire);
  if (n > 0) {
    ss_peer to;
    ss_core_response_peer(&peer, rsp, 1, &to);
    ss_core_send_to(p->core, &to, rsp->sip->sip_status->st_status, wire, (size_t)n);
  } else if (sipsrv_msg_via_pop(rsp) == 0) {
    ss_core_send(p->core, &peer, rsp);
  }
  sipsrv_msg_free(rsp);
  return true;
}

void px_reply_stateless(sipsrv_proxy *p, const sipsrv_msg *req, const ss_peer *src, int status,
                        const char *phrase, const char *headers)
{
  sipsrv_reply_opts o = SIPSRV_REPLY_OPTS_INIT;
  sipsrv_msg *rsp;
  o.headers = headers;
  if (sipsrv_msg_reply(&rsp, req, status, phrase, &o) == 0) {
    ss_core_send(p->core, src, rsp);
    sipsrv_msg_free(rsp);
  }
}
