/* The transaction layer: the table of transactions, matching (RFC 3261
 * 17.1.3, 17.2.3, 9.2), dispatch and the life cycle shared by the four
 * machines of client.c and server.c. */
#include "core/fmt.h"
#include "txn_int.h"

#include <sipsrv/error.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 3261 8.1.1.7: branches of RFC 3261 elements start with this cookie. */
#define MAGIC_COOKIE "z9hG4bK"

uint64_t ss_txn_now(const ss_txn_layer *l)
{
  return l->tu.now(l->tu.user);
}

void ss_txn_arm(ss_txn *t, ss_timer *tm, uint32_t after_ms, ss_timer_fn fn)
{
  /* A failed start (no memory for the heap) leaves the timer off; the
   * guard timers still end the transaction. */
  (void)ss_timer_start(t->layer->timers, tm, ss_txn_now(t->layer) + after_ms, fn, t);
}

void ss_txn_enter(ss_txn_layer *l)
{
  l->depth++;
}

void ss_txn_leave(ss_txn_layer *l)
{
  if (--l->depth == 0)
    ss_txn_layer_reap(l);
}

const char *ss_txn_state_name(ss_txn_state s)
{
  static const char *const names[] = { "calling", "trying", "proceeding", "completed",
                                       "confirmed", "accepted", "terminated" };
  return (size_t)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

/* ---- keys ------------------------------------------------------------- */

static void lower(char *s)
{
  for (; *s; s++)
    if (*s >= 'A' && *s <= 'Z')
      *s = (char)(*s - 'A' + 'a');
}

/* The key of the server transaction a request belongs to. An ACK and a
 * CANCEL's target use method "INVITE". With the magic cookie: branch,
 * sent-by and method (RFC 3261 17.2.3). Without (RFC 2543 peers): the
 * Request-URI, Call-ID, From tag, CSeq number, top Via sent-by and method
 * (17.2.3's fallback; the To tag is left out of the key, and an ACK's is
 * compared with the tag of the response sent, in recv_request). */
static void lower(char *s);

/* A copy of host folded to lower case (hosts compare case-insensitively,
 * RFC 3261 19.1.4); "" when it does not fit. */
static const char *lower_host(const char *host, char *buf, size_t size)
{
  int n = snprintf(buf, size, "%s", host ? host : "");
  if (n < 0 || (size_t)n >= size)
    return "";
  lower(buf);
  return buf;
}

/* A server key of RFC 3261 17.2.3: the branch is a token (case-insensitive,
 * 7.3.1), the sent-by a host: the whole key folds. */
static int cookie_key(const char *branch, const char *host, const char *port, const char *method,
                      char *buf, size_t size)
{
  ss_sb sb = ss_sb_init(buf, size);
  ss_sb_str(&sb, "s|");
  ss_sb_str(&sb, branch);
  ss_sb_chr(&sb, '|');
  ss_sb_str(&sb, host);
  ss_sb_chr(&sb, ':');
  ss_sb_str(&sb, port);
  ss_sb_chr(&sb, '|');
  ss_sb_str(&sb, method);
  if (ss_sb_done(&sb) < 0)
    return -1;
  lower(buf);
  return 0;
}

static int server_key(const sipsrv_msg *m, const char *method, char *buf, size_t size)
{
  sip_t const *sip = m->sip;
  sip_via_t const *v = sip->sip_via;
  const char *branch = v ? v->v_branch : NULL;
  char host[256];
  int n;

  if (!v || !sip->sip_cseq || !sip->sip_request)
    return -1;
  if (branch && strncmp(branch, MAGIC_COOKIE, sizeof MAGIC_COOKIE - 1) == 0) {
    return cookie_key(branch, v->v_host, v->v_port, method, buf, size);
  } else {
    /* RFC 2543 fallback: fold only what compares case-insensitively (the
     * hosts); the Call-ID compares byte by byte (20.8) and the URI's
     * userinfo is case-sensitive (19.1.4). */
    char uri[512], uhost[256];
    url_t u = *sip->sip_request->rq_url;
    u.url_host = lower_host(u.url_host, uhost, sizeof uhost);
    issize_t ul = url_e(uri, sizeof uri, &u);
    if (ul < 0 || (size_t)ul >= sizeof uri)
      return -1;                          /* cut: unterminated (SOFIA-NOTES) */
    n = snprintf(buf, size, "2|%s|%s|%s|%u|%s:%s|%s", uri,
                 sip->sip_call_id ? sip->sip_call_id->i_id : "",
                 sip->sip_from && sip->sip_from->a_tag ? sip->sip_from->a_tag : "",
                 (unsigned)sip->sip_cseq->cs_seq, lower_host(v->v_host, host, sizeof host),
                 v->v_port ? v->v_port : "", method);
  }
  if (n < 0 || (size_t)n >= size)
    return -1;
  return 0;
}

/* The key of a client transaction: the branch it put in its Via and the
 * method (RFC 3261 17.1.3: CSeq method, so a CANCEL's responses do not
 * reach the INVITE's transaction). */
static int client_key(const char *branch, const char *method, char *buf, size_t size)
{
  ss_sb sb = ss_sb_init(buf, size);
  ss_sb_str(&sb, "c|");
  ss_sb_str(&sb, branch);
  ss_sb_chr(&sb, '|');
  ss_sb_str(&sb, method);
  return ss_sb_done(&sb);
}

/* ---- the table ---------------------------------------------------------- */

static ss_txn *table_find(const ss_txn_layer *l, const char *key)
{
  uint64_t h = ss_hash(SS_HASH_INIT, key);
  for (ss_hnode *n = ss_htab_first(&l->table, h); n; n = ss_htab_next(n, h)) {
    ss_txn *t = SS_CONTAINER(n, ss_txn, hn);
    if (strcmp(t->key, key) == 0)
      return t;
  }
  return NULL;
}

static int table_add(ss_txn_layer *l, ss_txn *t)
{
  return ss_htab_add(&l->table, &t->hn, ss_hash(SS_HASH_INIT, t->key));
}

static void table_remove(ss_txn_layer *l, ss_txn *t)
{
  ss_htab_remove(&l->table, &t->hn);
}

/* ---- life cycle ------------------------------------------------------- */

int ss_txn_layer_new(ss_txn_layer **out, const sipsrv_core *core, ss_timers *timers,
                     const ss_txn_cfg *cfg, const ss_txn_tu *tu)
{
  static const ss_txn_cfg defaults = SS_TXN_CFG_DEFAULT;
  ss_txn_layer *l;

  if (!out || !timers || !tu || !tu->send || !tu->now)
    return SIPSRV_E_INVAL;
  if (!cfg)
    cfg = &defaults;
  if (!cfg->t1 || cfg->t2 < cfg->t1 || !cfg->t4)
    return SIPSRV_E_INVAL;
  l = ss_zalloc(core, sizeof *l);
  if (!l)
    return SIPSRV_E_NOMEM;
  l->core = core;
  ss_htab_init(&l->table, core);
  l->timers = timers;
  l->cfg = *cfg;
  l->tu = *tu;
  *out = l;
  return 0;
}

void ss_txn_layer_counters(ss_txn_layer *l, ss_counters *counters)
{
  l->counters = counters;
}

static void txn_free(ss_txn *t)
{
  ss_txn_layer *l = t->layer;
  ss_timer_stop(l->timers, &t->t_retrans);
  ss_timer_stop(l->timers, &t->t_timeout);
  ss_timer_stop(l->timers, &t->t_wait);
  ss_timer_stop(l->timers, &t->t_trying);
  if (t->prev)
    t->prev->next = t->next;
  else
    l->all = t->next;
  if (t->next)
    t->next->prev = t->prev;
  sipsrv_msg_free(t->req);
  ss_free(l->core, t->req_wire);
  ss_txn_drop_provisional(t);
  ss_txn_drop_final(t);
  ss_free(l->core, t);
  if (l->counters)
    l->counters->transactions_live--;
}

void ss_txn_layer_free(ss_txn_layer *l)
{
  if (!l)
    return;
  l->dead = NULL;
  while (l->all)
    txn_free(l->all);
  ss_htab_fini(&l->table);
  ss_free(l->core, l);
}

void ss_txn_layer_reap(ss_txn_layer *l)
{
  /* Only the terminated ones: walking every transaction here made each
   * message cost O(live transactions). */
  while (l->dead) {
    ss_txn *t = l->dead;
    l->dead = t->dead_next;
    txn_free(t);
  }
}

size_t ss_txn_layer_count(const ss_txn_layer *l)
{
  return l ? l->table.n : 0;
}

void ss_txn_terminate(ss_txn *t)
{
  ss_txn_layer *l = t->layer;
  if (t->state == SS_TXN_TERMINATED)
    return;
  t->state = SS_TXN_TERMINATED;
  table_remove(l, t);
  ss_timer_stop(l->timers, &t->t_retrans);
  ss_timer_stop(l->timers, &t->t_timeout);
  ss_timer_stop(l->timers, &t->t_wait);
  ss_timer_stop(l->timers, &t->t_trying);
  t->dead = true;
  t->dead_next = l->dead;
  l->dead = t;
  if (l->tu.terminated)
    l->tu.terminated(l->tu.user, t);
  if (l->depth == 0)
    ss_txn_layer_reap(l);
}

/* What a send did (rc): a transport failure ends the transaction. */
static int sent(ss_txn *t, int rc)
{
  ss_txn_layer *l = t->layer;
  if (rc >= 0)
    return 0;
  /* RFC 3261 17.1.4 and 17.2.4: a transport failure ends the transaction
   * and the TU hears of it (8.1.3.1 treats it as a 503). */
  if (t->state != SS_TXN_TERMINATED) {
    ss_txn_enter(l);
    if (l->tu.transport_error)
      l->tu.transport_error(l->tu.user, t);
    ss_txn_terminate(t);
    ss_txn_leave(l);
  }
  return SIPSRV_E_IO;
}

int ss_txn_send(ss_txn *t, sipsrv_msg *m)
{
  return sent(t, t->layer->tu.send(t->layer->tu.user, &t->peer, m));
}

int ss_txn_send_request(ss_txn *t)
{
  if (t->req_wire)
    return sent(t, t->layer->tu.send_request_wire(t->layer->tu.user, &t->peer, t->req_wire,
                                                  t->req_len));
  return ss_txn_send(t, t->req);
}

int ss_txn_send_wire(ss_txn *t, int status, const char *wire, size_t len)
{
  ss_txn_layer *l = t->layer;
  sipsrv_msg *m = NULL;
  sipsrv_verdict v;
  int rc;
  if (l->tu.send_wire && t->req)
    return sent(t, l->tu.send_wire(l->tu.user, &t->peer, t->req, status, wire, len));
  if (sipsrv_msg_parse(&m, wire, len, 0, &v) < 0 || !m)
    return 0;                            /* ours, so parsed when first sent */
  rc = ss_txn_send(t, m);
  sipsrv_msg_free(m);
  return rc;
}

static ss_txn *txn_new(ss_txn_layer *l, ss_txn_kind kind, const char *key, sipsrv_msg *req,
                       const ss_peer *peer)
{
  size_t klen = strlen(key) + 1;
  ss_txn *t = ss_zalloc(l->core, sizeof *t + klen);
  if (!t)
    return NULL;
  t->key = (char *)(t + 1);              /* one block (txn_int.h) */
  memcpy(t->key, key, klen);
  t->layer = l;
  t->kind = kind;
  t->req = req;
  t->peer = *peer;
  t->created = ss_txn_now(l);
  ss_timer_init(&t->t_retrans);
  ss_timer_init(&t->t_timeout);
  ss_timer_init(&t->t_wait);
  ss_timer_init(&t->t_trying);
  if (table_add(l, t) < 0) {
    ss_free(l->core, t);
    return NULL;
  }
  t->next = l->all;
  if (l->all)
    l->all->prev = t;
  l->all = t;
  SS_TXN_COUNT(l, transactions);
  SS_TXN_COUNT(l, transactions_live);
  return t;
}

/* ---- from the transport ------------------------------------------------ */

static bool ack_to_tag_matches(const ss_txn *t, const sipsrv_msg *ack)
{
  sip_to_t const *sent = t->final ? t->final->sip->sip_to : NULL;
  const char *tag = t->final_wire ? t->final_tag : sent ? sent->a_tag : NULL;
  sip_to_t const *got = ack->sip->sip_to;
  if (!tag || !got || !got->a_tag)
    return false;
  return strcasecmp(tag, got->a_tag) == 0;
}

void ss_txn_drop_provisional(ss_txn *t)
{
  sipsrv_msg_free(t->provisional);
  t->provisional = NULL;
  ss_free(t->layer->core, t->prov_wire);
  t->prov_wire = NULL;
  t->prov_len = 0;
}

void ss_txn_drop_final(ss_txn *t)
{
  sipsrv_msg_free(t->final);
  t->final = NULL;
  ss_free(t->layer->core, t->final_wire);
  ss_free(t->layer->core, t->final_tag);
  t->final_wire = t->final_tag = NULL;
  t->final_len = 0;
}

static void recv_request(ss_txn_layer *l, sipsrv_msg *m, const ss_peer *src)
{
  char key[1024];
  sip_request_t const *rq = m->sip->sip_request;
  bool ack = rq->rq_method == sip_method_ack;
  const char *method = ack ? "INVITE" : rq->rq_method_name;
  ss_txn *t;

  if (server_key(m, method, key, sizeof key) < 0) {
    sipsrv_msg_free(m);                  /* no Via or CSeq: parse rejects these */
    return;
  }
  t = table_find(l, key);
  /* RFC 3261 17.2.3: without the cookie, an ACK matches only if its To tag
   * is the one of the response the IST sent. */
  if (t && ack && key[0] == '2' && !ack_to_tag_matches(t, m))
    t = NULL;
  if (t && (t->kind == SS_TXN_IST || t->kind == SS_TXN_NIST)) {
    ss_server_again(t, m, src);
    return;
  }
  if (ack) {
    /* RFC 3261 17.2.3: an ACK matching no transaction (the ACK for a 2xx,
     * which has a branch of its own) goes to the TU. */
    if (l->tu.ack)
      l->tu.ack(l->tu.user, NULL, m, src);
    else
      sipsrv_msg_free(m);
    return;
  }
  t = txn_new(l, rq->rq_method == sip_method_invite ? SS_TXN_IST : SS_TXN_NIST, key, m, src);
  if (!t) {
    sipsrv_msg_free(m);                  /* out of memory: the client retransmits */
    return;
  }
  if (t->kind == SS_TXN_IST)
    ss_ist_start(t);
  else
    ss_nist_start(t);
}

static void recv_response(ss_txn_layer *l, sipsrv_msg *m, const ss_peer *src)
{
  sip_t const *sip = m->sip;
  /* RFC 3261 17.1.3: the top Via's branch and the CSeq method. */
  ss_txn *t = sip->sip_via && sip->sip_cseq
                  ? ss_txn_client_find(l, sip->sip_via->v_branch, sip->sip_cseq->cs_method_name)
                  : NULL;
  if (t) {
    ss_client_response(t, m);
    sipsrv_msg_free(m);
    return;
  }
  if (l->tu.stray_response)
    l->tu.stray_response(l->tu.user, m, src);
  else
    sipsrv_msg_free(m);
}

ss_txn *ss_txn_client_find(ss_txn_layer *l, const char *branch, const char *method)
{
  char key[512];
  ss_txn *t;
  if (!l || !branch || !method || client_key(branch, method, key, sizeof key) < 0)
    return NULL;
  t = table_find(l, key);
  return t && (t->kind == SS_TXN_ICT || t->kind == SS_TXN_NICT) ? t : NULL;
}

void ss_txn_hold(ss_txn_layer *l)
{
  ss_txn_enter(l);
}

void ss_txn_release(ss_txn_layer *l)
{
  ss_txn_leave(l);
}

void ss_txn_recv(ss_txn_layer *l, sipsrv_msg *m, const ss_peer *src)
{
  if (!l || !m || !src) {
    sipsrv_msg_free(m);
    return;
  }
  ss_txn_enter(l);
  if (l->tu.early && l->tu.early(l->tu.user, m, src))
    ;                                    /* taken before any matching */
  else if (m->sip->sip_request)
    recv_request(l, m, src);
  else if (m->sip->sip_status)
    recv_response(l, m, src);
  else
    sipsrv_msg_free(m);
  ss_txn_leave(l);
}

/* ---- from the TU ------------------------------------------------------ */

int ss_txn_respond(ss_txn *st, sipsrv_msg *rsp)
{
  ss_txn_layer *l;
  int rc;

  if (!st || !rsp || !rsp->sip->sip_status || (st->kind != SS_TXN_IST && st->kind != SS_TXN_NIST)) {
    sipsrv_msg_free(rsp);
    return SIPSRV_E_INVAL;
  }
  l = st->layer;
  ss_txn_enter(l);
  rc = ss_server_respond(st, rsp);
  ss_txn_leave(l);
  return rc;
}

int ss_txn_respond_wire(ss_txn *st, int status, const char *wire, size_t len, const char *tag)
{
  ss_txn_layer *l;
  int rc;

  if (!st || !wire || !len || status < 100 || status > 699 ||
      (st->kind != SS_TXN_IST && st->kind != SS_TXN_NIST) ||
      (st->kind == SS_TXN_NIST && status == 408))
    return SIPSRV_E_INVAL;
  l = st->layer;
  ss_txn_enter(l);
  rc = ss_server_respond_wire(st, status, wire, len, tag);
  ss_txn_leave(l);
  return rc;
}

/* Start client transaction t (made for req or its bytes). */
static int client_start(ss_txn_layer *l, ss_txn *t, ss_txn **out, void *owner)
{
  int rc;
  t->owner = owner;
  ss_txn_enter(l);
  if (t->kind == SS_TXN_ICT)
    ss_ict_start(t);
  else
    ss_nict_start(t);
  /* A transport failure on the first send has ended it already: the
   * caller gets no pointer to a transaction about to be freed. */
  rc = t->state == SS_TXN_TERMINATED ? SIPSRV_E_IO : 0;
  if (out)
    *out = rc == 0 ? t : NULL;
  ss_txn_leave(l);
  return rc;
}

int ss_txn_request_wire(ss_txn_layer *l, ss_txn **out, const char *wire, size_t len,
                        const char *branch, const char *method, const ss_peer *dst, void *owner)
{
  char key[512];
  ss_txn *t;
  char *copy;

  if (out)
    *out = NULL;
  if (!l || !wire || !len || !branch || !method || !dst || !l->tu.send_request_wire ||
      strcmp(method, "ACK") == 0 || client_key(branch, method, key, sizeof key) < 0)
    return SIPSRV_E_INVAL;
  if (table_find(l, key))
    return SIPSRV_E_EXISTS;               /* a branch must be unique (8.1.1.7) */
  if (!(copy = ss_alloc(l->core, len)))
    return SIPSRV_E_NOMEM;
  memcpy(copy, wire, len);
  t = txn_new(l, strcmp(method, "INVITE") == 0 ? SS_TXN_ICT : SS_TXN_NICT, key, NULL, dst);
  if (!t) {
    ss_free(l->core, copy);
    return SIPSRV_E_NOMEM;
  }
  t->req_wire = copy;
  t->req_len = len;
  return client_start(l, t, out, owner);
}

int ss_txn_request(ss_txn_layer *l, ss_txn **out, sipsrv_msg *req, const ss_peer *dst, void *owner)
{
  char key[512];
  sip_t const *sip;
  ss_txn *t;

  if (!l || !req || !dst || !req->sip->sip_request || !req->sip->sip_via ||
      !req->sip->sip_via->v_branch || !req->sip->sip_cseq ||
      req->sip->sip_request->rq_method == sip_method_ack ||
      client_key(req->sip->sip_via->v_branch, req->sip->sip_cseq->cs_method_name, key,
                 sizeof key) < 0) {
    sipsrv_msg_free(req);
    return SIPSRV_E_INVAL;
  }
  sip = req->sip;
  if (table_find(l, key)) {
    sipsrv_msg_free(req);
    return SIPSRV_E_EXISTS;               /* a branch must be unique (8.1.1.7) */
  }
  t = txn_new(l, sip->sip_request->rq_method == sip_method_invite ? SS_TXN_ICT : SS_TXN_NICT, key,
              req, dst);
  if (!t) {
    sipsrv_msg_free(req);
    return SIPSRV_E_NOMEM;
  }
  return client_start(l, t, out, owner);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr *b, socklen_t len)
{
  if (a->ss_family != b->sa_family)
    return false;
  if (b->sa_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return len >= sizeof *y && x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (b->sa_family == AF_INET6) {
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return len >= sizeof *y && x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
  }
  return false;
}

int ss_txn_unreachable(ss_txn_layer *l, const sipsrv_transport *tp, const struct sockaddr *addr,
                       socklen_t len)
{
  int n = 0;
  if (!l || !tp || !addr)
    return SIPSRV_E_INVAL;
  ss_txn_enter(l);
  for (ss_txn *t = l->all; t; t = t->next) {
    if (t->dead || (t->kind != SS_TXN_ICT && t->kind != SS_TXN_NICT) ||
        t->peer.transport != tp || !same_addr(&t->peer.addr, addr, len) ||
        (t->state != SS_TXN_CALLING && t->state != SS_TXN_TRYING &&
         t->state != SS_TXN_PROCEEDING))
      continue;
    /* 17.1.4: the TU hears of it, the transaction ends. */
    if (l->tu.transport_error)
      l->tu.transport_error(l->tu.user, t);
    ss_txn_terminate(t);
    n++;
  }
  ss_txn_leave(l);
  return n;
}

bool ss_txn_ack_is_stray(ss_txn_layer *l, sip_via_t const *top)
{
  char key[512];
  ss_txn *t;
  /* 17.2.3: the INVITE server transaction of that branch and sent-by. */
  if (!top->v_branch || strncmp(top->v_branch, MAGIC_COOKIE, sizeof MAGIC_COOKIE - 1) != 0 ||
      cookie_key(top->v_branch, top->v_host, top->v_port, "INVITE", key, sizeof key) < 0)
    return false;
  t = table_find(l, key);
  return !t || (t->kind != SS_TXN_IST && t->kind != SS_TXN_NIST);
}

ss_txn *ss_txn_cancel_target(ss_txn_layer *l, const sipsrv_msg *cancel)
{
  char key[1024];
  ss_txn *t;
  if (!l || !cancel || server_key(cancel, "INVITE", key, sizeof key) < 0)
    return NULL;
  t = table_find(l, key);
  return t && t->kind == SS_TXN_IST ? t : NULL;
}

/* ---- accessors -------------------------------------------------------- */

ss_txn_kind ss_txn_kind_of(const ss_txn *t) { return t->kind; }
ss_txn_state ss_txn_state_of(const ss_txn *t) { return t->state; }
sipsrv_msg *ss_txn_request_msg(ss_txn *t)
{
  sipsrv_verdict v;
  /* Bytes this layer was given and sent: parsed the first time a message
   * is wanted (a CANCEL or an ACK is built from it), then kept. */
  if (!t->req && t->req_wire &&
      (sipsrv_msg_parse(&t->req, t->req_wire, t->req_len, 0, &v) < 0 ||
       v.action != SIPSRV_ACCEPT)) {
    sipsrv_msg_free(t->req);
    t->req = NULL;
  }
  return t->req;
}
const ss_peer *ss_txn_peer(const ss_txn *t) { return &t->peer; }
int ss_txn_status(const ss_txn *t) { return t->status; }
void *ss_txn_owner(const ss_txn *t) { return t->owner; }
void ss_txn_compact(ss_txn *t)
{
  bool server = t->kind == SS_TXN_IST || t->kind == SS_TXN_NIST;
  if (t->dead)
    return;
  /* What each state still needs (RFC 3261 17.1, 17.2, RFC 6026): the key
   * always; Completed the final response (server) or the ACK (ICT, in
   * t->final); Accepted nothing (2xx retransmissions pass through). */
  if (t->state != SS_TXN_COMPLETED && t->state != SS_TXN_CONFIRMED &&
      t->state != SS_TXN_ACCEPTED)
    return;
  sipsrv_msg_free(t->req);
  t->req = NULL;
  ss_free(t->layer->core, t->req_wire);
  t->req_wire = NULL;
  if (server)
    ss_txn_drop_provisional(t);
  if (t->state == SS_TXN_ACCEPTED)
    ss_txn_drop_final(t);
}

void ss_txn_set_owner(ss_txn *t, void *owner)
{
  t->owner = owner;
  if (!owner && !t->dead)
    ss_server_compact(t);
}
