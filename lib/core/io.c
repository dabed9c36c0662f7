/* Bytes in and out of a core: transports, stream connections and their
 * framing, the verdicts answered without a transaction, and where
 * responses go (RFC 3261 18; RFC 3581). */
#include "core/fmt.h"
#include "core_obj.h"

#include <sipsrv/error.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void conn_drop(sipsrv_core *core, ss_conn *c);
static uint64_t alias_conn(sipsrv_core *core, const sipsrv_transport *tp,
                           const struct sockaddr_storage *dst);

/* ---- transports ------------------------------------------------------- */

int sipsrv_core_add_transport(sipsrv_core *core, const struct sipsrv_transport_ops *ops,
                              void *user, const char *host, unsigned port,
                              sipsrv_transport **out)
{
  sipsrv_transport *tp;
  size_t hlen;

  if (!core || !ops)
    return SIPSRV_E_INVAL;
  /* STYLE.md: check the table's version and size before any slot. */
  if (ops->version < 1 || ops->version > SIPSRV_TRANSPORT_OPS_VERSION ||
      ops->size < sizeof(struct sipsrv_transport_ops))
    return SIPSRV_E_VERSION;
  if (!ops->send || !ops->name || !*ops->name || !host || !*host || port < 1 || port > 65535)
    return SIPSRV_E_INVAL;
  hlen = strlen(host) + 1;
  tp = ss_zalloc(core, sizeof *tp);
  if (!tp)
    return SIPSRV_E_NOMEM;
  tp->host = ss_alloc(core, hlen);
  if (!tp->host) {
    ss_free(core, tp);
    return SIPSRV_E_NOMEM;
  }
  memcpy(tp->host, host, hlen);
  tp->core = core;
  tp->ops = ops;
  tp->user = user;
  tp->port = port;
  tp->next = core->transports;
  core->transports = tp;
  if (out)
    *out = tp;
  return 0;
}

int sipsrv_core_remove_transport(sipsrv_core *core, sipsrv_transport *tp)
{
  if (!core || !tp || tp->core != core || !tp->ops)
    return SIPSRV_E_INVAL;
  /* Transactions may still name it as their peer: the struct stays until
   * the core is freed, and sends through it fail (RFC 3261 17.1.4). */
  for (size_t i = 0; i < core->conns.nb; i++)
    for (ss_hnode *n = core->conns.b[i].node, *next; n; n = next) {
      ss_conn *c = SS_CONTAINER(n, ss_conn, hn);
      next = n->next;
      if (c->tp == tp && !c->busy)
        conn_drop(core, c);
    }
  tp->ops = NULL;
  tp->user = NULL;
  return 0;
}

void ss_transport_info(const sipsrv_transport *tp, const char **name, const char **host,
                       unsigned *port, unsigned *flags)
{
  *name = tp->ops ? tp->ops->name : NULL;
  *host = tp->host;
  *port = tp->port;
  *flags = tp->ops ? tp->ops->flags : 0;
}

static bool tp_stream(const sipsrv_transport *tp)
{
  return (tp->ops->flags & SIPSRV_TP_STREAM) != 0;
}

sipsrv_transport *ss_core_transport_find(const sipsrv_core *core, const char *name, int family)
{
  for (sipsrv_transport *tp = core->transports; tp; tp = tp->next) {
    bool v6 = tp->host && strchr(tp->host, ':');
    if (tp->ops && strcasecmp(tp->ops->name, name) == 0 && (family == AF_INET6) == v6)
      return tp;
  }
  return NULL;
}

/* Whether host names the transport host h: equal, or h an IPv6 literal
 * and host the same bracketed, as Via and URIs write it (RFC 3261 25.1). */
static bool host_is(const char *host, const char *h)
{
  size_t n = strlen(h);
  if (strcasecmp(host, h) == 0)
    return true;
  return host[0] == '[' && strncasecmp(host + 1, h, n) == 0 && host[n + 1] == ']' && !host[n + 2];
}

bool ss_core_is_local(const sipsrv_core *core, const char *host, unsigned port)
{
  for (sipsrv_transport *tp = core->transports; tp; tp = tp->next)
    if (tp->ops && tp->host && host_is(host, tp->host) && (!port || port == tp->port))
      return true;
  return false;
}

/* ---- connections ------------------------------------------------------ */

static uint64_t conn_hash(const sipsrv_transport *tp, uint64_t id)
{
  uint64_t h = (uint64_t)(uintptr_t)tp ^ (id * 0x9e3779b97f4a7c15ULL);
  return h ^ (h >> 29);
}

static ss_conn *conn_find(const sipsrv_core *core, const sipsrv_transport *tp, uint64_t id)
{
  uint64_t h = conn_hash(tp, id);
  for (ss_hnode *n = ss_htab_first(&core->conns, h); n; n = ss_htab_next(n, h)) {
    ss_conn *c = SS_CONTAINER(n, ss_conn, hn);
    if (c->tp == tp && c->id == id)
      return c;
  }
  return NULL;
}

static ss_conn *conn_get(sipsrv_core *core, sipsrv_transport *tp, uint64_t id)
{
  ss_conn *c = conn_find(core, tp, id);

  if (c)
    return c;
  c = ss_zalloc(core, sizeof *c);
  if (!c)
    return NULL;
  if (sipsrv_framer_new(&c->framer, 0) < 0 || ss_htab_add(&core->conns, &c->hn, conn_hash(tp, id)) < 0) {
    sipsrv_framer_free(c->framer);
    ss_free(core, c);
    return NULL;
  }
  c->tp = tp;
  c->id = id;
  return c;
}

static void conn_drop(sipsrv_core *core, ss_conn *c)
{
  ss_htab_remove(&core->conns, &c->hn);
  sipsrv_framer_free(c->framer);
  ss_free(core, c);
}

int sipsrv_core_conn_closed(sipsrv_core *core, sipsrv_transport *tp, uint64_t conn)
{
  ss_conn *c;
  if (!core || !tp || tp->core != core)
    return SIPSRV_E_INVAL;
  c = conn_find(core, tp, conn);
  if (c && c->busy)
    c->closed = true;                   /* sipsrv_core_recv frees it when done */
  else if (c)
    conn_drop(core, c);
  return 0;
}

int sipsrv_core_conn_failed(sipsrv_core *core, sipsrv_transport *tp, const struct sockaddr *dst,
                            socklen_t dstlen)
{
  if (!core || !tp || tp->core != core || !dst || !dstlen)
    return SIPSRV_E_INVAL;
  if (!core->has_sink || !core->sink.unreachable)
    return 0;
  return core->sink.unreachable(core->sink.self, tp, dst, dstlen);
}

void ss_core_io_fini(sipsrv_core *core)
{
  for (ss_hnode *n; (n = ss_htab_any(&core->conns)) != NULL;)
    conn_drop(core, SS_CONTAINER(n, ss_conn, hn));
  ss_htab_fini(&core->conns);
  while (core->transports) {
    sipsrv_transport *tp = core->transports;
    core->transports = tp->next;
    ss_free(core, tp->host);
    ss_free(core, tp);
  }
}

/* ---- sending ---------------------------------------------------------- */

/* Count what a transport's send did (rc) with a request or a response of
 * status; 0 or rc. */
static int sent(sipsrv_core *core, const sipsrv_transport *tp, int rc, bool request, int status)
{
  if (rc < 0) {
    core->counters.send_failures++;
    ss_log(core, SIPSRV_LOG_WARN, "%s send failed: %s", tp->ops->name, sipsrv_strerror(rc));
    return rc;
  }
  core->counters.sent++;
  if (request)
    core->counters.requests_out++;
  else if (status >= 100 && status < 700)
    core->counters.responses_out[status / 100 - 1]++;
  return 0;
}

static int send_iov(sipsrv_core *core, sipsrv_transport *tp, uint64_t conn,
                    const struct sockaddr *dst, socklen_t dstlen, sipsrv_msg *m)
{
  struct iovec small[16], *iov = small;
  int n = sipsrv_msg_iovec(m, small, 16), rc;

  if (n > 16) {
    iov = ss_alloc(core, (size_t)n * sizeof *iov);
    if (!iov)
      return SIPSRV_E_NOMEM;
    n = sipsrv_msg_iovec(m, iov, (size_t)n);
  }
  rc = n < 0 ? n : tp->ops->send(tp->user, conn, dst, dstlen, iov, n);
  if (iov != small)
    ss_free(core, iov);
  return sent(core, tp, rc, sipsrv_msg_is_request(m), sipsrv_msg_status(m));
}

/* The port of a sockaddr, or set it. */
static void set_port(struct sockaddr_storage *a, unsigned port)
{
  if (a->ss_family == AF_INET)
    ((struct sockaddr_in *)a)->sin_port = htons((uint16_t)port);
  else if (a->ss_family == AF_INET6)
    ((struct sockaddr_in6 *)a)->sin6_port = htons((uint16_t)port);
}

static bool same_sockaddr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
  if (a->ss_family != b->ss_family)
    return false;
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a->ss_family == AF_INET6) {
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
  }
  return false;
}

/* An IP literal maddr as a sockaddr. */
static bool maddr_addr(const char *s, struct sockaddr_storage *a, socklen_t *len)
{
  char buf[INET6_ADDRSTRLEN];
  size_t n = strlen(s);
  memset(a, 0, sizeof *a);
  if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof buf) {
    memcpy(buf, s + 1, n - 2);
    buf[n - 2] = '\0';
    s = buf;
  }
  if (inet_pton(AF_INET, s, &((struct sockaddr_in *)a)->sin_addr) == 1) {
    a->ss_family = AF_INET;
    *len = sizeof(struct sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, s, &((struct sockaddr_in6 *)a)->sin6_addr) == 1) {
    a->ss_family = AF_INET6;
    *len = sizeof(struct sockaddr_in6);
    return true;
  }
  return false;
}

/* Where a response to a request from peer goes (RFC 3261 18.2.2), by Via
 * number vi of m (the response's, or the request's: the same field; 1 for
 * a response that still carries the Via of the proxy forwarding it). */
static void response_dst(const ss_peer *peer, const sipsrv_via *via,
                         struct sockaddr_storage *dst, socklen_t *dstlen, uint64_t *conn)
{
  *dst = peer->addr;
  *dstlen = peer->addrlen;
  *conn = 0;
  if (tp_stream(peer->transport)) {
    /* RFC 3261 18.2.2: on the connection the request came on; if it is gone,
     * to the "received" address and the sent-by port (5060, 5061 for TLS),
     * not to the old connection's ephemeral source port. A response with no
     * known connection (a stateless proxy's) goes to the Via's received and
     * rport: the connection the request came on, found by its address. */
    if (!peer->conn)
      return;
    *conn = peer->conn;
    if (via)
      set_port(dst, via->port ? (unsigned)strtoul(via->port, NULL, 10)
                              : (peer->transport->ops->flags & SIPSRV_TP_SECURE) ? 5061 : 5060);
    return;
  }
  /* A response over a datagram transport (RFC 3261 18.2.2): to maddr when
   * the Via has one (an IP literal: the core resolves no names), at the
   * sent-by port; else to the source address and port when the client asked
   * for rport (RFC 3581 4); else to the source address (the "received" one)
   * and the sent-by port, or 5060. maddr sends a response where the Via
   * says, as the RFC requires; an element that fears reflection strips it. */
  if (via) {
    unsigned sent_port = via->port ? (unsigned)strtoul(via->port, NULL, 10) : 5060;
    struct sockaddr_storage maddr;
    socklen_t mlen = 0;
    if (via->maddr && maddr_addr(via->maddr, &maddr, &mlen)) {
      *dst = maddr;
      *dstlen = mlen;
      set_port(dst, sent_port);
      return;
    }
    if (!(via->rport && *via->rport))
      set_port(dst, sent_port);
  }
}

int ss_core_send(sipsrv_core *core, const ss_peer *peer, sipsrv_msg *m)
{
  struct sockaddr_storage dst = peer->addr;
  socklen_t dstlen;
  uint64_t conn;

  if (!peer->transport || !peer->transport->ops)
    return SIPSRV_E_IO;                  /* removed */
  if (sipsrv_msg_is_request(m) && tp_stream(peer->transport) && !peer->conn) {
    /* RFC 5923: reuse a connection the peer offered as an alias. */
    return send_iov(core, peer->transport, alias_conn(core, peer->transport, &dst),
                    (struct sockaddr *)&dst, peer->addrlen, m);
  }
  if (sipsrv_msg_is_request(m))
    return send_iov(core, peer->transport, peer->conn, (struct sockaddr *)&dst, peer->addrlen, m);
  {
    sipsrv_via via;
    response_dst(peer, sipsrv_msg_via(m, 0, &via) == 0 ? &via : NULL, &dst, &dstlen, &conn);
  }
  return send_iov(core, peer->transport, conn, (struct sockaddr *)&dst, dstlen, m);
}

void ss_core_response_peer_via(const ss_peer *peer, const sipsrv_via *via, ss_peer *out)
{
  *out = *peer;
  if (peer->transport && peer->transport->ops)
    response_dst(peer, via, &out->addr, &out->addrlen, &out->conn);
}

void ss_core_response_peer(const ss_peer *peer, const sipsrv_msg *m, unsigned vi, ss_peer *out)
{
  sipsrv_via via;
  ss_core_response_peer_via(peer, sipsrv_msg_via(m, (int)vi, &via) == 0 ? &via : NULL, out);
}

int ss_core_send_to(sipsrv_core *core, const ss_peer *to, int status, const char *buf, size_t len)
{
  struct iovec iov = { (void *)buf, len };
  if (!to->transport || !to->transport->ops)
    return SIPSRV_E_IO;                  /* removed */
  return sent(core, to->transport,
              to->transport->ops->send(to->transport->user, to->conn,
                                       (const struct sockaddr *)&to->addr, to->addrlen, &iov, 1),
              false, status);
}

int ss_core_send_request_to(sipsrv_core *core, const ss_peer *peer, const char *buf, size_t len)
{
  struct iovec iov = { (void *)buf, len };
  uint64_t conn = peer->conn;
  if (!peer->transport || !peer->transport->ops)
    return SIPSRV_E_IO;                  /* removed */
  if (tp_stream(peer->transport) && !conn)
    conn = alias_conn(core, peer->transport, &peer->addr);   /* RFC 5923 */
  return sent(core, peer->transport,
              peer->transport->ops->send(peer->transport->user, conn,
                                         (const struct sockaddr *)&peer->addr, peer->addrlen,
                                         &iov, 1),
              true, 0);
}

int ss_core_send_wire(sipsrv_core *core, const ss_peer *peer, const sipsrv_msg *req, int status,
                      const char *buf, size_t len)
{
  ss_peer to;
  ss_core_response_peer(peer, req, 0, &to);
  return ss_core_send_to(core, &to, status, buf, len);
}

/* ---- receiving -------------------------------------------------------- */

/* The numeric host of an address, without brackets. */
static bool addr_host(const struct sockaddr_storage *a, char *buf, size_t size, unsigned *port)
{
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *s = (const struct sockaddr_in *)a;
    ss_sb sb = ss_sb_init(buf, size);
    *port = ntohs(s->sin_port);
    ss_sb_ipv4(&sb, &s->sin_addr);
    return ss_sb_done(&sb) == 0;
  }
  if (a->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)a;
    *port = ntohs(s->sin6_port);
    return inet_ntop(AF_INET6, &s->sin6_addr, buf, (socklen_t)size) != NULL;
  }
  return false;
}

/* RFC 3261 18.2.1: received when sent-by is not the source address; RFC
 * 3581 4: with rport, received always and rport the source port. */
bool ss_core_via_received(const ss_peer *src, const char *sent_by, bool rport, char *host,
                          unsigned *port)
{
  char sent[INET6_ADDRSTRLEN];
  const char *h = sent_by;
  size_t n = strlen(h);

  if (!addr_host(&src->addr, host, INET6_ADDRSTRLEN, port))
    return false;
  if (n >= 2 && h[0] == '[' && n - 2 < sizeof sent) {
    memcpy(sent, h + 1, n - 2);
    sent[n - 2] = '\0';
    h = sent;
  }
  return rport || strcmp(h, host) != 0;
}

static void stamp_via(sipsrv_msg *m, const ss_peer *src)
{
  sipsrv_via via;
  char host[INET6_ADDRSTRLEN];
  unsigned port;

  if (sipsrv_msg_via(m, 0, &via) == 0 &&
      ss_core_via_received(src, via.host, via.rport != NULL, host, &port))
    sipsrv_msg_via_set_received(m, host, via.rport ? port : 0);
}

/* RFC 5923 5: a request over a connection whose top Via has "alias" lets
 * requests to its sent-by use that connection. The sent-by must be an IP
 * literal (the core resolves no names). */
static void note_alias(sipsrv_core *core, const sipsrv_msg *m, const ss_peer *src)
{
  sipsrv_via via;
  ss_conn *c;
  char spec[INET6_ADDRSTRLEN + 16];
  if (!src->conn || sipsrv_msg_via(m, 0, &via) != 0 ||
      sipsrv_param_find(via.params, "alias", NULL) != 0)
    return;
  c = conn_find(core, src->transport, src->conn);
  if (!c)
    return;
  snprintf(spec, sizeof spec, "%s", via.host);
  if (!maddr_addr(spec, &c->alias, &c->aliaslen)) {
    c->aliaslen = 0;
    return;
  }
  set_port(&c->alias, via.port ? (unsigned)strtoul(via.port, NULL, 10) : 5060);
}

/* The connection whose alias is dst, or 0. */
static uint64_t alias_conn(sipsrv_core *core, const sipsrv_transport *tp,
                           const struct sockaddr_storage *dst)
{
  for (size_t i = 0; i < core->conns.nb; i++)
    for (const ss_hnode *n = core->conns.b[i].node; n; n = n->next) {
      const ss_conn *c = SS_CONTAINER(n, ss_conn, hn);
      if (c->tp == tp && c->aliaslen && !c->closed && same_sockaddr(&c->alias, dst))
        return c->id;
    }
  return 0;
}

/* RFC 3261 18.1.2: a response whose top Via is not ours is discarded. */
bool ss_core_sent_by_is_ours(const sipsrv_core *core, const char *host, unsigned port)
{
  for (const sipsrv_transport *tp = core->transports; tp; tp = tp->next)
    if (tp->ops && tp->host && host_is(host, tp->host) && port == tp->port)
      return true;
  return false;
}

static bool via_is_ours(const sipsrv_core *core, const sipsrv_msg *m)
{
  sipsrv_via via;
  if (sipsrv_msg_via(m, 0, &via) != 0)
    return false;
  return ss_core_sent_by_is_ours(core, via.host,
                                 via.port ? (unsigned)strtoul(via.port, NULL, 10) : 5060);
}

/* The status code of a response's start line ("SIP/2.0 " and three digits
 * and a space), or 0. */
static int raw_status(const char *d, size_t len)
{
  if (len < 13 || memcmp(d, "SIP/2.0 ", 8) != 0 || d[11] != ' ' || d[8] < '1' || d[8] > '6' ||
      d[9] < '0' || d[9] > '9' || d[10] < '0' || d[10] > '9')
    return 0;
  return (d[8] - '0') * 100 + (d[9] - '0') * 10 + (d[10] - '0');
}

/* Handle one message; err is the framer's error frame when framing was
 * lost (its status decides, the message is only answered, never processed). */
static void handle(sipsrv_core *core, const void *data, size_t len, unsigned flags,
                   const ss_peer *src, const sipsrv_frame *err)
{
  sipsrv_msg *m = NULL, *rsp = NULL;
  sipsrv_verdict v;

  core->counters.received++;
  /* A datagram that the sink forwards from its bytes (a proxy's, 16.11,
   * 16.7 step 3) is not parsed whole; anything the sink does not take
   * that way goes the usual way. A request starts with its method. */
  if (!err && !(flags & SIPSRV_PARSE_STREAM) && core->has_sink && core->sink.raw && len) {
    int st = raw_status(data, len);
    char c = *(const char *)data;
    if ((st || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) &&
        core->sink.raw(core->sink.self, data, len, src, st != 0)) {
      if (st)
        core->counters.responses_in[st / 100 - 1]++;
      else
        core->counters.requests_in++;
      return;
    }
  }
  (void)sipsrv_msg_parse(&m, data, len, flags, &v);
  if (err && m && v.action != SIPSRV_DROP) {
    v.action = sipsrv_msg_is_request(m) ? SIPSRV_REJECT : SIPSRV_DROP;
    v.status = err->status;
    v.phrase = err->phrase;
    v.header[0] = '\0';
  }
  /* An ACK is never answered (RFC 3261 17.2.1): a bad one is dropped. */
  if (v.action == SIPSRV_REJECT && m && sipsrv_msg_method(m) == SIPSRV_METHOD_ACK)
    v.action = SIPSRV_DROP;
  if (v.action == SIPSRV_REJECT && m && sipsrv_msg_reply_verdict(&rsp, m, &v) == 0) {
    /* Answered statelessly: a malformed request makes no transaction. */
    core->counters.rejected++;
    ss_log(core, SIPSRV_LOG_WARN, "rejected request: %d %s", v.status, v.phrase);
    stamp_via(rsp, src);
    ss_core_send(core, src, rsp);
    sipsrv_msg_free(rsp);
    sipsrv_msg_free(m);
    return;
  }
  if (v.action != SIPSRV_ACCEPT) {
    core->counters.dropped++;
    core->counters.dropped_malformed++;
    ss_log(core, SIPSRV_LOG_WARN, "dropped message: %s", v.phrase);
    sipsrv_msg_free(m);
    return;
  }
  if (sipsrv_msg_is_request(m))
    core->counters.requests_in++;
  else if (sipsrv_msg_status(m) >= 100 && sipsrv_msg_status(m) < 700)
    core->counters.responses_in[sipsrv_msg_status(m) / 100 - 1]++;
  if (sipsrv_msg_is_request(m)) {
    stamp_via(m, src);
    note_alias(core, m, src);
  } else if (!via_is_ours(core, m)) {
    core->counters.dropped++;
    core->counters.dropped_not_ours++;
    ss_log(core, SIPSRV_LOG_WARN, "dropped response: top Via is not this element's");
    sipsrv_msg_free(m);
    return;
  }
  if (core->has_sink) {
    core->sink.message(core->sink.self, m, src);
    return;
  }
  /* Nothing above the core: a request gets 501, a response is dropped. */
  if (sipsrv_msg_is_request(m) && sipsrv_msg_method(m) != SIPSRV_METHOD_ACK &&
      sipsrv_msg_reply(&rsp, m, 501, NULL, NULL) == 0) {
    ss_core_send(core, src, rsp);
    sipsrv_msg_free(rsp);
  } else {
    core->counters.dropped++;
    core->counters.dropped_unmatched++;
  }
  sipsrv_msg_free(m);
}

void ss_core_set_stream_steer(sipsrv_core *core, ss_stream_steer_fn fn, void *arg)
{
  core->steer = fn;
  core->steer_arg = arg;
}

static void peer_of(ss_peer *peer, sipsrv_transport *tp, uint64_t conn, const struct sockaddr *src,
                    socklen_t srclen)
{
  memset(peer, 0, sizeof *peer);
  peer->transport = tp;
  peer->conn = tp_stream(tp) ? conn : 0;
  memcpy(&peer->addr, src, srclen);
  peer->addrlen = srclen;
  peer->reliable = (tp->ops->flags & SIPSRV_TP_RELIABLE) != 0;
}

int ss_core_recv_framed(sipsrv_core *core, sipsrv_transport *tp, uint64_t conn,
                        const struct sockaddr *src, socklen_t srclen, const char *data, size_t len)
{
  ss_peer peer;
  if (!tp || tp->core != core || !tp_stream(tp) || !conn || !srclen || srclen > sizeof peer.addr)
    return SIPSRV_E_INVAL;
  peer_of(&peer, tp, conn, src, srclen);
  handle(core, data, len, SIPSRV_PARSE_STREAM, &peer, NULL);
  return 0;
}

int sipsrv_core_recv(sipsrv_core *core, sipsrv_transport *tp, uint64_t conn,
                     const struct sockaddr *src, socklen_t srclen, const void *data, size_t len)
{
  ss_peer peer;
  ss_conn *c;
  sipsrv_frame fr;
  int rc;

  if (!core || !tp || tp->core != core || !tp->ops || !src || !srclen || srclen > sizeof peer.addr ||
      (!data && len) || (tp_stream(tp) && !conn))
    return SIPSRV_E_INVAL;
  if (!core->clock)
    return SIPSRV_E_STATE;
  peer_of(&peer, tp, conn, src, srclen);

  if (!tp_stream(tp)) {
    handle(core, data, len, 0, &peer, NULL);
    return 0;
  }
  c = conn_get(core, tp, conn);
  if (!c || sipsrv_framer_feed(c->framer, data, len) < 0)
    return SIPSRV_E_NOMEM;
  /* What a frame sets off may close this connection (a failed send): the
   * connection then lives until its frames are done. */
  c->busy = true;
  rc = 0;
  while (!c->closed && sipsrv_framer_next(c->framer, &fr) == 0) {
    if (fr.kind == SIPSRV_FRAME_MESSAGE) {
      /* A group of loops: the loop owning its Call-ID handles it. */
      if (!core->steer ||
          !core->steer(core->steer_arg, tp, conn, src, srclen, fr.data, fr.len))
        handle(core, fr.data, fr.len, SIPSRV_PARSE_STREAM, &peer, NULL);
    } else if (fr.kind == SIPSRV_FRAME_PING) {
      /* RFC 5626 4.4.1: a CRLFCRLF ping gets a CRLF pong. */
      struct iovec pong = { (void *)"\r\n", 2 };
      core->counters.keepalives++;
      tp->ops->send(tp->user, conn, src, srclen, &pong, 1);
    } else {
      /* Framing lost (RFC 4475 3.1.2.3, 3.3.9): answer what can be answered,
       * then close the connection. */
      ss_log(core, SIPSRV_LOG_WARN, "%s connection framing lost: %s", tp->ops->name, fr.phrase);
      handle(core, fr.data, fr.len, SIPSRV_PARSE_STREAM, &peer, &fr);
      if (tp->ops->close)
        tp->ops->close(tp->user, conn);
      c->closed = true;
      rc = SIPSRV_E_CLOSED;
    }
  }
  c->busy = false;
  if (c->closed)
    conn_drop(core, c);
  return rc;
}
