/* The proxy role (proxy.h): the object, which requests it claims, request
 * validation (RFC 3261 16.3), route information (16.4), targets (16.5),
 * stateless forwarding (16.11), ACKs for 2xx and stray responses. The
 * stateful part is proxy_fork.c. */
#include "proxy_int.h"

#include "roles_int.h"
#include "store/store_int.h"

#include <sipsrv/error.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- what is ours to forward ------------------------------------------- */

/* True when every Route value names us (or there is none). */
static bool routes_all_us(const sipsrv_proxy *p, const sipsrv_msg *req)
{
  for (sip_route_t const *r = req->sip->sip_route; r; r = r->r_next)
    if (!px_uri_is_us(p, r->r_url))
      return false;
  return true;
}

/* Requests for the core itself go to the roles after us: REGISTER for our
 * domains (the registrar), and a Request-URI naming our domain or address
 * with no user (the UAS: OPTIONS ping, 16.3 step 3's OPTIONS too). */
bool px_for_local(const sipsrv_proxy *p, bool is_register, url_t const *ru)
{
  return (is_register && px_domain_is_ours(p, ru)) || (!ru->url_user && px_uri_is_us(p, ru));
}

static bool for_local_roles(const sipsrv_proxy *p, const sipsrv_msg *req)
{
  sip_t const *sip = req->sip;
  if (!routes_all_us(p, req))
    return false;
  if (px_for_local(p, sip->sip_request->rq_method == sip_method_register, sip->sip_request->rq_url))
    return true;
  /* 16.3 step 3: an OPTIONS with Max-Forwards 0 may be answered here. */
  return sip->sip_request->rq_method == sip_method_options && sip->sip_max_forwards &&
         sip->sip_max_forwards->mf_count == 0;
}

/* 16.3 steps 3-5 on a request as received: 0, or the status to answer
 * (phrase and extra header static or in buf). */
static int validate(const sipsrv_proxy *p, const sipsrv_msg *req, uint64_t loop,
                    const char **phrase, char *hdr, size_t size)
{
  sip_t const *sip = req->sip;
  url_t const *ru = sip->sip_request->rq_url;
  hdr[0] = '\0';
  *phrase = NULL;
  /* Step 2: a scheme we do not understand (RFC 4475 3.3.2, 3.3.3): 416. A
   * tel URI is understood: gateways and on_route route it. */
  if (ru->url_type != url_sip && ru->url_type != url_sips && ru->url_type != url_tel)
    return 416;
  /* Step 3: Max-Forwards. */
  if (sip->sip_max_forwards && sip->sip_max_forwards->mf_count == 0)
    return 483;
  /* Step 4: loop detection (RFC 5393). */
  if (p->cfg.mode != SIPSRV_PROXY_STATELESS && px_is_loop(p, req, loop))
    return 482;
  /* Step 5: Proxy-Require; we support no option. */
  if (sip->sip_proxy_require) {
    size_t n = (size_t)snprintf(hdr, size, "Unsupported: ");
    for (msg_param_t const *t = sip->sip_proxy_require->k_items; t && *t && n < size; t++)
      n += (size_t)snprintf(hdr + n, size - n, "%s%s", t == sip->sip_proxy_require->k_items ? "" : ", ", *t);
    return 420;
  }
  return 0;
}

void px_preprocess(sipsrv_proxy *p, sipsrv_msg *req)
{
  sip_t *sip = req->sip;

  /* 16.4: a Request-URI that is a Record-Route value of ours (an lr URI
   * naming us) came from a strict router: the real one is the last Route. */
  if (sip->sip_route && ss_uri_has_param(sip->sip_request->rq_url, "lr") &&
      px_uri_is_us(p, sip->sip_request->rq_url)) {
    sip_route_t *last = sip->sip_route;
    char uri[1024];
    issize_t n;
    while (last->r_next)
      last = last->r_next;
    n = url_e(uri, sizeof uri, last->r_url);
    if (n >= 0 && (size_t)n < sizeof uri && sipsrv_msg_set_request_uri(req, uri) == 0)
      msg_header_remove(req->msg, (msg_pub_t *)sip, (msg_header_t *)last);
  }
  /* 16.4: our own Route values on top go (two when we Record-Routed twice). */
  while (sip->sip_route && px_uri_is_us(p, sip->sip_route->r_url))
    sipsrv_msg_addr_pop(req, SIPSRV_HDR_ROUTE);
}

/* ---- targets (16.5) ---------------------------------------------------- */

struct sipsrv_proxy_route {
  px_targets *t;
  bool decided;
};

static char *xstrdup(const sipsrv_core *core, const char *s)
{
  char *d = s ? ss_alloc(core, strlen(s) + 1) : NULL;
  return d ? strcpy(d, s) : NULL;
}

void px_targets_clear(px_targets *t)
{
  for (size_t i = 0; i < t->n; i++) {
    ss_free(t->core, t->t[i].uri);
    ss_free(t->core, t->t[i].route);
    ss_free(t->core, t->t[i].hop);
  }
  t->n = 0;
}

static int add_target(px_targets *t, const char *uri, const char *route, const char *hop, int q)
{
  px_target *x;
  if (t->n >= t->max)
    return SIPSRV_E_TOOBIG;
  x = &t->t[t->n];
  x->uri = xstrdup(t->core, uri);
  x->route = xstrdup(t->core, route);
  x->hop = xstrdup(t->core, hop);
  x->q = q < 0 ? 1000 : q;
  if ((uri && !x->uri) || (route && !x->route) || (hop && !x->hop)) {
    ss_free(t->core, x->uri);
    ss_free(t->core, x->route);
    ss_free(t->core, x->hop);
    return SIPSRV_E_NOMEM;
  }
  t->n++;
  return 0;
}

int sipsrv_proxy_route_add(sipsrv_proxy_route *rt, const char *uri, int q)
{
  url_t u;
  char tmp[1024];
  if (!rt || !uri || q < -1 || q > 1000 || strlen(uri) >= sizeof tmp)
    return SIPSRV_E_INVAL;
  strcpy(tmp, uri);
  if (url_d(&u, tmp) < 0 || (u.url_type != url_sip && u.url_type != url_sips) || !u.url_host)
    return SIPSRV_E_INVAL;
  if (rt->t->status)
    return SIPSRV_E_STATE;
  rt->decided = true;
  return add_target(rt->t, uri, NULL, NULL, q);   /* TOOBIG past the mode's limit */
}

int sipsrv_proxy_route_reject(sipsrv_proxy_route *rt, int status, const char *phrase)
{
  if (!rt || status < 300 || status > 699)
    return SIPSRV_E_INVAL;
  if (rt->t->n)
    return SIPSRV_E_STATE;
  rt->t->status = status;
  if (phrase) {
    snprintf(rt->t->phrase_buf, sizeof rt->t->phrase_buf, "%s", phrase);
    rt->t->phrase = rt->t->phrase_buf;
  }
  rt->decided = true;
  return 0;
}

/* A location lookup in flight. It may outlive the proxy (a store that
 * completes after sipsrv_proxy_free()), so it keeps its allocator. */
typedef struct lookup {
  sipsrv_allocator alloc;
  sipsrv_proxy *p;            /* NULL once the proxy is gone */
  px_targets *out;
  px_route_done done;
  void *ctx;
  struct lookup *prev, *next;
} lookup;

static void lookup_unlink(lookup *l)
{
  if (l->prev)
    l->prev->next = l->next;
  else
    l->p->lookups = l->next;
  if (l->next)
    l->next->prev = l->prev;
}

static void on_bindings(void *arg, int err, const sipsrv_binding *b, size_t n)
{
  lookup *l = arg;
  px_targets *t = l->out;
  if (!l->p) {
    l->alloc.free_fn(l, l->alloc.user);  /* the proxy is gone */
    return;
  }
  lookup_unlink(l);
  if (err) {
    ss_store_failed(l->p->core, &l->p->store, "proxy", SS_STORE_READ, err);
    t->status = 500;
    t->phrase = "Location Service Failure";
    t->retry = true;
  } else {
    ss_store_ok(l->p->core, &l->p->store, "proxy", SS_STORE_READ);
  }
  for (size_t i = 0; i < n && !err; i++)
    if (add_target(t, b[i].contact, b[i].path, NULL, b[i].q) == SIPSRV_E_NOMEM) {
      px_targets_clear(t);
      t->status = 500;
      break;
    }
  /* 16.5: an empty target set gets 480. */
  if (!t->status && !t->n) {
    t->status = 480;
    t->phrase = "Temporarily Unavailable";
  }
  l->done(l->ctx, t);
  l->alloc.free_fn(l, l->alloc.user);
}

void px_route_fini(sipsrv_proxy *p)
{
  while (p->lookups) {
    lookup *l = p->lookups;
    lookup_unlink(l);
    l->p = NULL;
    l->done(l->ctx, NULL);
  }
}

/* The number a Request-URI calls, digits only (a leading '+' kept): a tel:
 * URI's, or a SIP URI's user part when it is a number (RFC 3966 visual
 * separators allowed) or user=phone. False when it is not a number. */
static bool number_of(url_t const *u, char *out, size_t size)
{
  const char *n = u->url_type == url_tel ? (u->url_user ? u->url_user : u->url_host)
                  : (u->url_type == url_sip || u->url_type == url_sips) ? u->url_user : NULL;
  size_t k = 0;
  bool phone = ss_uri_has_param(u, "user=phone");
  if (!n || !*n)
    return false;
  for (const char *c = n; *c && *c != ';'; c++) {
    if (*c >= '0' && *c <= '9')
      out[k++] = *c;
    else if (*c == '+' && c == n)
      out[k++] = '+';
    else if (!strchr("-.()", *c) && !(phone && strchr("*#", *c)))
      return false;
    if (k + 1 >= size)
      return false;
  }
  out[k] = '\0';
  return k > 0 && !(k == 1 && out[0] == '+');
}

/* The gateways of the longest prefix the number matches, in order. */
static bool gateway_targets(sipsrv_proxy *p, url_t const *ru, px_targets *out)
{
  const sipsrv_proxy_gateway *best = NULL;
  char num[64], uri[600];
  if (!number_of(ru, num, sizeof num))
    return false;
  for (size_t i = 0; i < p->cfg.ngateways; i++) {
    const char *pre = p->cfg.gateways[i].prefix ? p->cfg.gateways[i].prefix : "";
    if (strncmp(num, pre, strlen(pre)) == 0 &&
        (!best || strlen(pre) > strlen(best->prefix ? best->prefix : "")))
      best = &p->cfg.gateways[i];
  }
  if (!best)
    return false;
  out->failover = true;
  /* Every route with that prefix, in table order. */
  for (size_t i = 0; i < p->cfg.ngateways; i++) {
    const char *pre = p->cfg.gateways[i].prefix ? p->cfg.gateways[i].prefix : "";
    if (strcmp(pre, best->prefix ? best->prefix : "") != 0)
      continue;
    for (const char *const *g = p->cfg.gateways[i].gateways; g && *g; g++) {
      /* The gateway's URI with the number as its user part. */
      const char *rest = strncmp(*g, "sips:", 5) == 0 ? *g + 5 : *g + 4;
      snprintf(uri, sizeof uri, "%.*s%s@%s", (int)(rest - *g), *g, num, rest);
      if (add_target(out, uri, NULL, NULL, -1) < 0)
        break;
    }
  }
  if (!out->n) {
    out->status = 500;
    out->phrase = "No Gateway";
  }
  return true;
}

bool px_route_plain(const sipsrv_proxy *p, url_t const *ru, bool in_dialog, const char **hop)
{
  /* The cases of px_route() below, in its order, for a request without
   * Route from no authenticated user. */
  if (in_dialog && !px_domain_is_ours(p, ru)) {
    *hop = p->next_hop;
    return true;
  }
  if (p->cfg.on_route || p->cfg.ngateways || (p->cfg.location && px_domain_is_ours(p, ru)))
    return false;
  *hop = p->next_hop;
  return p->next_hop || p->cfg.relay;
}

void px_route(sipsrv_proxy *p, const sipsrv_msg *req, bool authed, px_targets *out,
              px_route_done done, void *ctx)
{
  url_t const *ru = req->sip->sip_request->rq_url;
  bool in_dialog = req->sip->sip_to && req->sip->sip_to->a_tag;
  memset(out, 0, sizeof *out);
  out->core = p->core;
  out->max = p->cfg.mode == SIPSRV_PROXY_STATELESS ? 1 : PX_MAX_TARGETS;

  /* 16.5: a request that still carries a route keeps its Request-URI, and
   * so does a request inside a dialog (its Request-URI is the remote
   * target, 12.2.1.1) for another domain, through the next hop when that is
   * where other domains are reached. An in-dialog request for one of our
   * domains (a UA that ignores the Contact, as sipp's built-in uac) and an
   * initial request that was routed to us (we are its outbound proxy) are
   * targeted like any other. */
  if (req->sip->sip_route && !in_dialog && !p->cfg.relay && !p->next_hop && !authed &&
      req->sip->sip_request->rq_method != sip_method_ack) {
    /* A Route left after 16.4 on an initial request points elsewhere: that
     * is relaying, allowed only to a relay, an outbound proxy (next_hop)
     * or an authenticated user of ours; not an open relay by Route. */
    out->status = 403;
    out->phrase = "Relaying Forbidden";
    done(ctx, out);
    return;
  }
  if (req->sip->sip_route || (in_dialog && !px_domain_is_ours(p, ru))) {
    const char *hop = !req->sip->sip_route && p->next_hop ? p->next_hop : NULL;
    if (add_target(out, NULL, NULL, hop, -1) < 0)
      out->status = 500;
    done(ctx, out);
    return;
  }
  if (p->cfg.on_route) {
    sipsrv_proxy_route rt = { out, false };
    if (p->cfg.on_route(p, &rt, req, p->cfg.user) == SIPSRV_PROXY_DECIDED && rt.decided) {
      if (!out->n && !out->status)
        out->status = 500;
      done(ctx, out);
      return;
    }
    px_targets_clear(out);
    out->status = 0;
  }
  if (p->cfg.ngateways && gateway_targets(p, ru, out)) {
    done(ctx, out);
    return;
  }
  if (p->cfg.location && px_domain_is_ours(p, ru)) {
    char aor[1024];
    lookup *l;
    /* The location service (16.5): the AOR's current bindings. */
    if (ss_aor_print(ru, aor, sizeof aor) < 0) {
      out->status = 404;
      out->phrase = "Not Found";
      done(ctx, out);
      return;
    }
    l = ss_zalloc(p->core, sizeof *l);
    if (l) {
      l->alloc = *ss_core_allocator(p->core);
      l->p = p;
      l->out = out;
      l->done = done;
      l->ctx = ctx;
      l->next = p->lookups;
      if (p->lookups)
        p->lookups->prev = l;
      p->lookups = l;
    }
    int rc = l ? sipsrv_store_get(p->cfg.location, aor, ss_core_wall_now(p->core), on_bindings, l)
               : SIPSRV_E_NOMEM;
    if (rc < 0) {
      if (l) {
        lookup_unlink(l);
        ss_store_failed(p->core, &p->store, "proxy", SS_STORE_READ, rc);
      }
      ss_free(p->core, l);
      out->status = 500;
      out->phrase = "Location Service Failure";
      out->retry = true;
      done(ctx, out);
    }
    return;
  }
  if (p->next_hop) {
    /* An outbound proxy: the Request-URI stays, the next hop is fixed. */
    if (add_target(out, NULL, NULL, p->next_hop, -1) < 0)
      out->status = 500;
  } else if (p->cfg.relay) {
    if (add_target(out, NULL, NULL, NULL, -1) < 0)
      out->status = 500;
  } else {
    out->status = 403;
    out->phrase = "Relaying Forbidden";
  }
  done(ctx, out);
}

/* ---- stateless forwarding (16.11), and ACKs for 2xx -------------------- */

typedef struct sl_fwd {
  sipsrv_proxy *p;
  sipsrv_msg *m;
  ss_peer src;
  px_targets t;
  px_dns *dns;
} sl_fwd;

static void sl_free(sl_fwd *f)
{
  px_targets_clear(&f->t);
  sipsrv_msg_free(f->m);
  ss_free(f->p->core, f);
}

/* Send to the first target (16.11), to fixed when it was resolved. */
static void sl_send(sl_fwd *f, const ss_peer *fixed)
{
  sipsrv_proxy *p = f->p;
  bool ack = f->m->sip->sip_request->rq_method == sip_method_ack;
  bool rr = p->cfg.record_route && px_dialog_creating(f->m);
  char branch[64];
  const char *phrase;
  ss_peer peer;
  int st;
  px_branch_stateless(p, f->m, f->src.transport && f->src.reliable ? f->src.conn : 0, branch);
  st = px_prepare(p, f->m, &f->t.t[0], rr, &f->src, branch, fixed, &peer, &phrase);
  if (st == 0)
    ss_core_send(p->core, &peer, f->m);
  else if (!ack)
    px_reply_stateless(p, f->m, &f->src, st, phrase, NULL);
}

static void sl_resolved(void *arg, int err, const ss_peer *peers, size_t n)
{
  sl_fwd *f = arg;
  if (err == SIPSRV_E_STATE)
    ;                                    /* the proxy is being freed */
  else if (n)
    sl_send(f, &peers[0]);               /* the first place (16.11; see proxy.h) */
  else if (f->m->sip->sip_request->rq_method != sip_method_ack)
    px_reply_stateless(f->p, f->m, &f->src, 503, "Cannot Resolve Target", NULL);
  sl_free(f);
}

static void sl_routed(void *arg, px_targets *t)
{
  sl_fwd *f = arg;
  sipsrv_proxy *p = f->p;
  bool ack = f->m->sip->sip_request->rq_method == sip_method_ack;

  if (!t) {
    ;                                    /* the proxy is being freed */
  } else if (t->status) {
    if (!ack)
      px_reply_stateless(p, f->m, &f->src, t->status, t->phrase,
                         t->retry ? "Retry-After: 5" : NULL);
  } else if (t->n) {
    char uri[700];
    if (px_hop_dns(p, f->m, &t->t[0], uri, sizeof uri)) {
      /* RFC 3263: f waits for the answer, which may come at once. */
      if (px_resolve(p, uri, sl_resolved, f, &f->dns) == 0)
        return;
      if (!ack)
        px_reply_stateless(p, f->m, &f->src, 503, "Cannot Resolve Target", NULL);
    } else {
      sl_send(f, NULL);
    }
  }
  sl_free(f);
}

/* Forward m (taken) without a transaction. */
static void forward_stateless(sipsrv_proxy *p, sipsrv_msg *m, const ss_peer *src, bool check)
{
  sl_fwd *f;
  if (check) {
    char hdr[256];
    const char *phrase;
    int st = validate(p, m, 0, &phrase, hdr, sizeof hdr);
    if (st) {
      if (m->sip->sip_request->rq_method != sip_method_ack)
        px_reply_stateless(p, m, src, st, phrase, hdr[0] ? hdr : NULL);
      sipsrv_msg_free(m);
      return;
    }
  }
  f = ss_zalloc(p->core, sizeof *f);
  if (!f) {
    sipsrv_msg_free(m);
    return;
  }
  f->p = p;
  f->m = m;
  f->src = *src;
  px_preprocess(p, m);
  px_route(p, m, false, &f->t, sl_routed, f);
}

static bool px_early(void *self, sipsrv_msg *m, const ss_peer *src)
{
  sipsrv_proxy *p = self;
  if (p->cfg.mode != SIPSRV_PROXY_STATELESS)
    return false;
  if (!m->sip->sip_request)
    return px_forward_response(p, m);
  if (for_local_roles(p, m))
    return false;
  forward_stateless(p, m, src, true);
  return true;
}

static bool px_ack(void *self, ss_txn *ist, sipsrv_msg *ack, const ss_peer *src)
{
  sipsrv_proxy *p = self;
  (void)ist;
  /* An ACK for a 2xx is a request of its own, forwarded by its route with
   * no transaction (RFC 3261 16.6, 13.2.2.4); an ACK for the core itself
   * goes to the UAS. */
  if (for_local_roles(p, ack))
    return false;
  forward_stateless(p, ack, src, true);
  return true;
}

static bool px_stray(void *self, sipsrv_msg *rsp, const ss_peer *src)
{
  (void)src;
  /* 2xx retransmissions after the client transaction ended, responses to
   * what went out statelessly (16.7 step 3 by Via). */
  return px_forward_response(self, rsp);
}

/* ---- the stateful entry -------------------------------------------------- */

static bool px_request(void *self, ss_txn *st, sipsrv_msg *req)
{
  sipsrv_proxy *p = self;
  char hdr[256];
  const char *phrase;
  uint64_t loop;
  int status;

  if (p->cfg.mode == SIPSRV_PROXY_STATELESS || for_local_roles(p, req))
    return false;
  /* 16.10: a CANCEL for one of our INVITEs is ours to act on. */
  if (req->sip->sip_request->rq_method == sip_method_cancel && px_fork_cancel(p, st, req))
    return true;
  loop = px_loop_hash(p, req);
  status = validate(p, req, loop, &phrase, hdr, sizeof hdr);
  /* Only an initial INVITE makes a dialog this proxy tracks. */
  if (!status && p->cfg.mode == SIPSRV_PROXY_DIALOG &&
      req->sip->sip_request->rq_method == sip_method_invite && !req->sip->sip_to->a_tag &&
      px_dialog_full(p)) {
    status = 503;
    phrase = "Too Many Calls";
    snprintf(hdr, sizeof hdr, "Retry-After: 5");
  }
  if (status) {
    sipsrv_reply_opts o = SIPSRV_REPLY_OPTS_INIT;
    sipsrv_msg *rsp;
    o.headers = hdr[0] ? hdr : NULL;
    if (sipsrv_msg_reply(&rsp, req, status, phrase, &o) == 0)
      ss_txn_respond(st, rsp);
    return true;
  }
  px_fork_start(p, st, req, loop);
  return true;
}

/* ---- life cycle ---------------------------------------------------------- */

/* A SIP or SIPS URI with an IP address and no user (a next hop, a gateway). */
/* A next hop: a SIP URI of a host, an IP address unless names can be
 * resolved. */
static bool hop_uri(const char *s, bool names)
{
  url_t u;
  char tmp[600];
  if (strlen(s) >= sizeof tmp)
    return false;
  strcpy(tmp, s);
  return url_d(&u, tmp) >= 0 && (u.url_type == url_sip || u.url_type == url_sips) && u.url_host &&
         !u.url_user && (names || ss_is_ip_address(u.url_host));
}

int sipsrv_proxy_new(sipsrv_proxy **out, sipsrv_core *core, const sipsrv_proxy_cfg *cfg)
{
  sipsrv_proxy *p;
  if (!out || !core || !cfg)
    return SIPSRV_E_INVAL;
  if (cfg->version != SIPSRV_PROXY_CFG_VERSION)
    return SIPSRV_E_VERSION;
  if (cfg->mode < SIPSRV_PROXY_STATELESS || cfg->mode > SIPSRV_PROXY_DIALOG)
    return SIPSRV_E_INVAL;
  if (!ss_core_has_clock(core))
    return SIPSRV_E_STATE;
  if (cfg->next_hop && !hop_uri(cfg->next_hop, cfg->resolver != NULL))
    return SIPSRV_E_INVAL;
  if (cfg->ngateways && !cfg->gateways)
    return SIPSRV_E_INVAL;
  for (size_t i = 0; i < cfg->ngateways; i++)
    for (const char *const *g = cfg->gateways[i].gateways; g && *g; g++)
      if (!hop_uri(*g, cfg->resolver != NULL))
        return SIPSRV_E_INVAL;
  if (cfg->auth_realm && (cfg->mode == SIPSRV_PROXY_STATELESS || !cfg->location ||
                          (cfg->auth_algs & ~SIPSRV_DIGEST_ALL)))
    return SIPSRV_E_INVAL;
  p = ss_zalloc(core, sizeof *p);
  if (!p)
    return SIPSRV_E_NOMEM;
  p->core = core;
  p->cfg = *cfg;
  if (cfg->next_hop) {
    /* The URI, and after it a copy Sofia-SIP's url_d() parses once for
     * every request that goes there (px_target_peer()). */
    size_t n = strlen(cfg->next_hop) + 1;
    if ((p->next_hop = ss_alloc(core, 2 * n)) != NULL) {
      memcpy(p->next_hop, cfg->next_hop, n);
      memcpy(p->next_hop + n, cfg->next_hop, n);
      p->hop_parsed = url_d(&p->hop_url, p->next_hop + n) >= 0;
    }
  }
  p->ct = ss_core_txn_of(core);
  if ((cfg->next_hop && !p->next_hop) || !p->ct) {
    ss_free(core, p->next_hop);
    ss_free(core, p);
    return SIPSRV_E_NOMEM;
  }
  if (cfg->auth_realm) {
    ss_auth_cfg ac = { cfg->auth_realm, cfg->auth_secret, cfg->auth_secret_len, 0, cfg->auth_algs };
    int rc = ss_auth_new(&p->auth, core, &ac);
    if (rc < 0) {
      ss_free(core, p->next_hop);
      ss_free(core, p);
      return rc;
    }
  }
  if (!p->cfg.timer_c_ms)
    p->cfg.timer_c_ms = 180000;
  if (!p->cfg.dialog_timeout_ms)
    p->cfg.dialog_timeout_ms = 12ull * 3600 * 1000;
  p->secret = ss_core_secret(core) ^ (uint64_t)(uintptr_t)p;
  ss_htab_init(&p->dialogs, core);
  p->role.early = px_early;
  p->role.raw_response = px_raw_response;
  p->role.raw_request = px_raw_request;
  p->role.request = px_request;
  p->role.ack = px_ack;
  p->role.stray_response = px_stray;
  p->role.self = p;
  ss_core_txn_attach(p->ct, &p->role);
  *out = p;
  return 0;
}

void sipsrv_proxy_free(sipsrv_proxy *p)
{
  if (!p)
    return;
  p->freeing = true;
  ss_core_txn_detach(p->ct, &p->role);
  px_route_fini(p);
  px_auth_fini(p);
  px_fork_fini(p);
  px_dns_fini(p);
  px_dialog_fini(p);
  ss_htab_fini(&p->dialogs);
  ss_auth_free(p->auth);
  ss_free(p->core, p->next_hop);
  ss_free(p->core, p);
}
