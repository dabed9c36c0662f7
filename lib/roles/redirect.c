/* The redirect server role (redirect.h): RFC 3261 8.3, 21.3. */
#include "roles_int.h"
#include "txn/txn.h"

#include <sipsrv/error.h>
#include <sipsrv/redirect.h>

#include <sofia-sip/url.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RD_MAX 16

typedef struct rd_target {
  char *uri;
  int q;                      /* -1: none */
  int expires;                /* seconds; -1: none */
} rd_target;

struct sipsrv_redirect_targets {
  sipsrv_allocator alloc;     /* holds the URIs */
  rd_target t[RD_MAX];
  size_t n;
  bool known;                 /* the user exists: 480 rather than 404 */
  int status;                 /* rejected with this */
  char phrase[64];
  bool has_phrase;
};

struct rd_req;

struct sipsrv_redirect {
  sipsrv_core *core;
  ss_core_txn *ctxn;
  ss_txn_role role;
  sipsrv_redirect_cfg cfg;
  char *realm;                /* copied */
  struct rd_req *live;        /* requests not yet answered */
  ss_store_health store;      /* failures logged once per episode */
};

/* One request on its way through the callback and the store. */
typedef struct rd_req {
  ss_txn_owner_hdr hdr;       /* first: the server transaction's owner */
  sipsrv_redirect *rd;        /* NULL once the server is freed (a store
                                 callback is still due: it frees us) */
  ss_txn *st;                 /* NULL once the transaction ended */
  bool busy;                  /* a store operation is running */
  bool ours;                  /* the Request-URI's domain is one of ours */
  int64_t now;                /* wall clock at arrival, ms */
  char aor[512];
  char user[128];
  sipsrv_redirect_targets t;
  struct rd_req *prev, *next;
} rd_req;

static void ev_terminated(void *owner, ss_txn *t);
static const ss_txn_events req_events = { NULL, NULL, NULL, ev_terminated };

/* ---- targets -------------------------------------------------------------- */

static void targets_clear(sipsrv_redirect_targets *t)
{
  for (size_t i = 0; i < t->n; i++)
    t->alloc.free_fn(t->t[i].uri, t->alloc.user);
  t->n = 0;
}

int sipsrv_redirect_add(sipsrv_redirect_targets *t, const char *uri, int q, int expires_s)
{
  url_t u;
  char tmp[1024];
  size_t len;
  char *copy;

  if (!t || !uri || q < -1 || q > 1000 || expires_s < -1)
    return SIPSRV_E_INVAL;
  len = strlen(uri);
  if (len >= sizeof tmp)
    return SIPSRV_E_INVAL;
  memcpy(tmp, uri, len + 1);
  if (url_d(&u, tmp) < 0 || (u.url_type != url_sip && u.url_type != url_sips && u.url_type != url_tel))
    return SIPSRV_E_INVAL;
  if (t->status)
    return SIPSRV_E_STATE;
  if (t->n == RD_MAX)
    return SIPSRV_E_TOOBIG;
  copy = t->alloc.malloc_fn(len + 1, t->alloc.user);
  if (!copy)
    return SIPSRV_E_NOMEM;
  memcpy(copy, uri, len + 1);
  t->t[t->n].uri = copy;
  t->t[t->n].q = q;
  t->t[t->n].expires = expires_s;
  t->n++;
  return 0;
}

int sipsrv_redirect_known(sipsrv_redirect_targets *t)
{
  if (!t)
    return SIPSRV_E_INVAL;
  t->known = true;
  return 0;
}

int sipsrv_redirect_reject(sipsrv_redirect_targets *t, int status, const char *phrase)
{
  if (!t || status < 400 || status > 699)
    return SIPSRV_E_INVAL;
  targets_clear(t);
  t->status = status;
  t->has_phrase = phrase != NULL;
  if (phrase)
    snprintf(t->phrase, sizeof t->phrase, "%s", phrase);
  return 0;
}

/* ---- requests --------------------------------------------------------------- */

static void req_free(rd_req *r)
{
  sipsrv_allocator a = r->t.alloc;
  targets_clear(&r->t);
  if (r->st)
    ss_txn_set_owner(r->st, NULL);
  if (r->rd) {
    if (r->prev)
      r->prev->next = r->next;
    else
      r->rd->live = r->next;
    if (r->next)
      r->next->prev = r->prev;
  }
  a.free_fn(r, a.user);
}

static void ev_terminated(void *owner, ss_txn *t)
{
  rd_req *r = owner;
  (void)t;
  r->st = NULL;                          /* a late store answer goes nowhere */
}

static void answer(rd_req *r, int status, const char *phrase, const char *headers)
{
  if (r->st)
    ss_role_respond(r->st, ss_txn_request_msg(r->st), status, phrase, headers);
  req_free(r);
}

/* Highest q first (none counts as 1), the order of equal ones kept. */
static int q_of(const rd_target *t)
{
  return t->q < 0 ? 1000 : t->q;
}

static void sort_targets(sipsrv_redirect_targets *t)
{
  for (size_t i = 1; i < t->n; i++) {
    rd_target x = t->t[i];
    size_t j = i;
    for (; j > 0 && q_of(&t->t[j - 1]) < q_of(&x); j--)
      t->t[j] = t->t[j - 1];
    t->t[j] = x;
  }
}

/* RFC 3261 8.3: 302 for one place, 300 for several, each Contact with its
 * q and expires; never the Request-URI itself (a loop). */
static void answer_3xx(rd_req *r)
{
  const sipsrv_msg *req = ss_txn_request_msg(r->st);
  url_t const *ruri = req->sip->sip_request->rq_url;
  sipsrv_allocator a = r->t.alloc;
  size_t cap = 64, n = 0, kept = 0;
  char *h;

  sort_targets(&r->t);
  for (size_t i = 0; i < r->t.n; i++)
    cap += strlen(r->t.t[i].uri) + 64;
  h = a.malloc_fn(cap, a.user);
  if (!h) {
    answer(r, 500, NULL, "Retry-After: 5");
    return;
  }
  h[0] = '\0';
  for (size_t i = 0; i < r->t.n; i++) {
    const rd_target *t = &r->t.t[i];
    char tmp[1024];
    url_t u;
    snprintf(tmp, sizeof tmp, "%s", t->uri);
    if (url_d(&u, tmp) >= 0 && url_cmp_all(&u, ruri) == 0)
      continue;                          /* 8.3: not to the Request-URI itself */
    n += (size_t)snprintf(h + n, cap - n, "%sContact: <%s>", n ? "\r\n" : "", t->uri);
    if (t->q >= 0)
      n += (size_t)snprintf(h + n, cap - n, ";q=%d.%03d", t->q / 1000, t->q % 1000);
    if (t->expires >= 0)
      n += (size_t)snprintf(h + n, cap - n, ";expires=%d", t->expires);
    kept++;
  }
  if (!kept)
    answer(r, 404, NULL, NULL);          /* 8.3: rather than a loop */
  else
    answer(r, kept == 1 ? 302 : 300, NULL, h);
  a.free_fn(h, a.user);
}

static void finish(rd_req *r);

static void on_cred(void *arg, int err, const sipsrv_credential *c)
{
  rd_req *r = arg;
  r->busy = false;
  if (!r->rd || !r->st) {
    req_free(r);                         /* the server or the caller is gone */
    return;
  }
  /* A store failure cannot tell: the user may exist. */
  answer(r, c || (err && err != SIPSRV_E_NOTFOUND) ? 480 : 404, NULL, NULL);
}

/* No place to send the caller to: 480 for a known user, else 404. */
static void answer_none(rd_req *r)
{
  sipsrv_redirect *rd = r->rd;
  if (r->t.known) {
    answer(r, 480, NULL, NULL);
    return;
  }
  if (r->ours && rd->cfg.location && r->user[0]) {
    int rc;
    r->busy = true;
    rc = sipsrv_store_credential(rd->cfg.location, r->user, rd->realm, on_cred, r);
    if (rc >= 0)
      return;
    r->busy = false;
  }
  answer(r, 404, NULL, NULL);
}

static void finish(rd_req *r)
{
  if (r->t.status)
    answer(r, r->t.status, r->t.has_phrase ? r->t.phrase : NULL, NULL);
  else if (r->t.n)
    answer_3xx(r);
  else
    answer_none(r);
}

static void on_bindings(void *arg, int err, const sipsrv_binding *b, size_t n)
{
  rd_req *r = arg;
  r->busy = false;
  if (!r->rd || !r->st) {
    req_free(r);
    return;
  }
  if (err) {
    ss_store_failed(r->rd->core, &r->rd->store, "redirect", SS_STORE_READ, err);
    answer(r, 500, "Location Service Failure", "Retry-After: 5");
    return;
  }
  ss_store_ok(r->rd->core, &r->rd->store, "redirect", SS_STORE_READ);
  for (size_t i = 0; i < n; i++) {
    int64_t left = (b[i].expires - r->now + 999) / 1000;
    int rc = sipsrv_redirect_add(&r->t, b[i].contact, b[i].q,
                                 left < 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : (int)left);
    if (rc == SIPSRV_E_NOMEM) {
      answer(r, 500, NULL, "Retry-After: 5");
      return;
    }
    if (rc == SIPSRV_E_TOOBIG)
      break;                             /* the first 16 (the store's order) */
  }
  finish(r);
}

/* A Request-URI for the server itself: no user, and one of its addresses
 * or domains (the UAS answers those: OPTIONS pings). */
static bool for_us(const sipsrv_redirect *rd, url_t const *u)
{
  if (u->url_user || !u->url_host)
    return false;
  return ss_core_is_local(rd->core, u->url_host, ss_url_port(u)) ||
         ss_domain_listed(rd->cfg.domains, u->url_host);
}

/* RFC 3261 9.2: CANCEL of an INVITE we answered (or are answering): 200;
 * of none at all: 481. A CANCEL of another role's INVITE is not ours. */
static bool on_cancel(sipsrv_redirect *rd, ss_txn *st, sipsrv_msg *msg)
{
  ss_txn *ist = ss_txn_cancel_target(ss_core_txn_layer(rd->ctxn), msg);
  const ss_txn_owner_hdr *h = ist ? ss_txn_owner(ist) : NULL;
  sipsrv_msg *rsp;
  if (ist && h && h->ev != &req_events)
    return false;
  if (!ist && for_us(rd, msg->sip->sip_request->rq_url))
    return false;
  if (sipsrv_msg_reply(&rsp, msg, ist ? 200 : 481, NULL, NULL) == 0)
    ss_txn_respond(st, rsp);
  return true;
}

static bool rd_request(void *self, ss_txn *st, sipsrv_msg *msg)
{
  sipsrv_redirect *rd = self;
  sip_t const *sip = msg->sip;
  url_t const *ru = sip->sip_request->rq_url;
  const sipsrv_allocator *a = ss_core_allocator(rd->core);
  rd_req *r;

  if (sip->sip_request->rq_method == sip_method_register ||
      sip->sip_request->rq_method == sip_method_ack)
    return false;
  if (sip->sip_request->rq_method == sip_method_cancel)
    return on_cancel(rd, st, msg);
  if (for_us(rd, ru))
    return false;
  r = a->malloc_fn(sizeof *r, a->user);
  if (!r)
    return ss_role_nomem(st, msg);
  memset(r, 0, sizeof *r);
  r->t.alloc = *a;
  r->hdr.ev = &req_events;
  r->rd = rd;
  r->st = st;
  r->next = rd->live;
  if (rd->live)
    rd->live->prev = r;
  rd->live = r;
  ss_txn_set_owner(st, r);
  r->ours = (ru->url_type == url_sip || ru->url_type == url_sips) &&
            (ss_domain_listed(rd->cfg.domains, ru->url_host) || (ru->url_host && ss_core_is_local(rd->core, ru->url_host, 0)));
  if (ru->url_user && strlen(ru->url_user) < sizeof r->user)
    strcpy(r->user, ru->url_user);

  /* RFC 3261 8.2.2.1 (RFC 4475 3.3.2): a scheme we do not understand. */
  if (ru->url_type != url_sip && ru->url_type != url_sips && ru->url_type != url_tel) {
    answer(r, 416, NULL, NULL);
    return true;
  }
  if (rd->cfg.on_redirect) {
    rd->cfg.on_redirect(rd, &r->t, msg, rd->cfg.user);
    if (r->t.status) {
      finish(r);
      return true;
    }
  }
  /* The location service: the registered contacts of the AOR (10.3 step 5
   * canonical form, as the registrar stored them). */
  if (r->ours && rd->cfg.location && r->user[0] && ss_aor_print(ru, r->aor, sizeof r->aor) >= 0) {
    int rc;
    r->now = ss_core_wall_now(rd->core);
    r->busy = true;
    rc = sipsrv_store_get(rd->cfg.location, r->aor, r->now, on_bindings, r);
    if (rc >= 0)
      return true;
    r->busy = false;
    ss_store_failed(rd->core, &rd->store, "redirect", SS_STORE_READ, rc);
    answer(r, 500, "Location Service Failure", "Retry-After: 5");
    return true;
  }
  finish(r);
  return true;
}

int sipsrv_redirect_new(sipsrv_redirect **out, sipsrv_core *core, const sipsrv_redirect_cfg *cfg)
{
  sipsrv_redirect *rd;
  const char *realm;
  if (!out || !core || !cfg)
    return SIPSRV_E_INVAL;
  if (cfg->version != SIPSRV_REDIRECT_CFG_VERSION)
    return SIPSRV_E_VERSION;
  if (!cfg->domains || !cfg->domains[0])
    return SIPSRV_E_INVAL;
  if (cfg->location && !ss_core_has_wall_clock(core))
    return SIPSRV_E_STATE;
  rd = ss_zalloc(core, sizeof *rd);
  if (!rd)
    return SIPSRV_E_NOMEM;
  rd->core = core;
  rd->cfg = *cfg;
  realm = cfg->realm ? cfg->realm : cfg->domains[0];
  rd->realm = ss_alloc(core, strlen(realm) + 1);
  rd->ctxn = ss_core_txn_of(core);
  if (!rd->realm || !rd->ctxn) {
    ss_free(core, rd->realm);
    ss_free(core, rd);
    return SIPSRV_E_NOMEM;
  }
  strcpy(rd->realm, realm);
  rd->cfg.realm = rd->realm;
  rd->role.request = rd_request;
  rd->role.self = rd;
  ss_core_txn_attach(rd->ctxn, &rd->role);
  *out = rd;
  return 0;
}

void sipsrv_redirect_free(sipsrv_redirect *rd)
{
  if (!rd)
    return;
  ss_core_txn_detach(rd->ctxn, &rd->role);
  while (rd->live) {
    rd_req *r = rd->live;
    rd->live = r->next;
    if (r->next)
      r->next->prev = NULL;
    if (r->st) {
      sipsrv_msg *rsp;
      if (sipsrv_msg_reply(&rsp, ss_txn_request_msg(r->st), 500, "Server Shutting Down", NULL) == 0)
        ss_txn_respond(r->st, rsp);
      ss_txn_set_owner(r->st, NULL);
      r->st = NULL;
    }
    r->rd = NULL;
    r->prev = r->next = NULL;
    if (!r->busy)
      req_free(r);                       /* else the store's answer frees it */
  }
  ss_free(rd->core, rd->realm);
  ss_free(rd->core, rd);
}
