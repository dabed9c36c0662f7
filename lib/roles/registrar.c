/* The registrar role (registrar.h): RFC 3261 10.3, RFC 3327 (Path). */
#include "core/fmt.h"
#include "auth/auth.h"
#include "roles_int.h"
#include "store/store_int.h"
#include "txn/txn.h"

#include <sipsrv/error.h>
#include <sipsrv/registrar.h>

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

/* The public bits are the private enum's (auth_algs goes straight through). */
_Static_assert(SIPSRV_DIGEST_MD5 == 1u << SS_DIGEST_MD5 &&
               SIPSRV_DIGEST_SHA256 == 1u << SS_DIGEST_SHA256 &&
               SIPSRV_DIGEST_SHA512_256 == 1u << SS_DIGEST_SHA512_256, "digest bits");

#define MAX_CONTACTS 64

struct reg_req;

struct sipsrv_registrar {
  sipsrv_core *core;
  ss_core_txn *ctxn;
  ss_txn_role role;
  sipsrv_registrar_cfg cfg;
  struct reg_req *live;       /* requests not yet answered */
  ss_auth *auth;              /* NULL: no authentication */
  ss_store_health store;      /* failures logged once per episode */
  time_t date_secs;           /* the second date is for */
  char date[40];              /* its Date value, RFC 1123 */
};

/* One REGISTER on its way through the store. Its strings live in the
 * request's su_home, which lives as long as the transaction. */
typedef struct reg_req {
  ss_txn_owner_hdr hdr;       /* first: the transaction's owner */
  sipsrv_registrar *reg;
  ss_txn *st;                 /* NULL once the transaction ended */
  sipsrv_msg *msg;
  su_home_t *home;
  int64_t now;                /* wall clock at arrival, ms */
  const char *aor;
  bool busy;                  /* a store operation is running */
  /* What the REGISTER asks. */
  bool star, fetch;
  size_t nc;
  /* The Contacts, nc of them, in the request's home: a request object of
   * a few hundred bytes, not 2.5 KB to clear for each REGISTER. */
  struct reg_contact { const char *uri, *params; int64_t expires; int q; } *c;
  const char *path, *received, *user_agent, *call_id;
  uint32_t cseq;
  /* The set that was stored, for the 200. */
  sipsrv_binding *set;
  size_t nset;
  ss_auth_creds creds;        /* step 3 */
  struct reg_req *next, *prev;
} reg_req;

static void req_free(reg_req *r)
{
  sipsrv_registrar *g = r->reg;
  if (r->st)
    ss_txn_set_owner(r->st, NULL);
  if (r->prev)
    r->prev->next = r->next;
  else
    g->live = r->next;
  if (r->next)
    r->next->prev = r->prev;
  ss_free(g->core, r);
}

/* "IP:PORT" ("[IPv6]:PORT") of an address. */
static int addr_text(const struct sockaddr_storage *a, char *buf, size_t size)
{
  char ip[INET6_ADDRSTRLEN];
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *s4 = (const void *)a;
    ss_sb sb = ss_sb_init(buf, size);
    ss_sb_ipv4(&sb, &s4->sin_addr);
    ss_sb_chr(&sb, ':');
    ss_sb_u64(&sb, ntohs(s4->sin_port));
    return ss_sb_done(&sb);
  }
  if (a->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const void *)a;
    if (!inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip))
      return -1;
    return snprintf(buf, size, "[%s]:%u", ip, ntohs(s6->sin6_port)) < (int)size ? 0 : -1;
  }
  return -1;
}

static void ev_terminated(void *owner, ss_txn *t)
{
  reg_req *r = owner;
  (void)t;
  r->st = NULL;
  if (!r->busy)
    req_free(r);                         /* else the store's callback frees it */
}

static const ss_txn_events req_events = { NULL, NULL, NULL, ev_terminated };

/* Answer and end the request. The transaction is let go of first: a
 * response that cannot be sent ends it at once (a transport error, RFC
 * 3261 17.2.4), and its end must not free r under our feet (found by
 * tests/fuzz/fuzz_roles). */
static void answer(reg_req *r, int status, const char *phrase, const char *headers)
{
  ss_txn *st = r->st;
  if (st) {
    ss_txn_set_owner(st, NULL);
    r->st = NULL;
    ss_role_respond(st, r->msg, status, phrase, headers);
  }
  req_free(r);
}

/* The location store failed (roles_int.h): 500 with Retry-After, the
 * bindings kept by the store, logged once per episode. */
enum { ST_READ = SS_STORE_READ, ST_WRITE = SS_STORE_WRITE, ST_CRED = SS_STORE_CRED };

static void store_failed(reg_req *r, int err, unsigned op)
{
  ss_store_failed(r->reg->core, &r->reg->store, "registrar", op, err);
  answer(r, 500, "Location Service Failure", "Retry-After: 5");
}

static void store_ok(sipsrv_registrar *g, unsigned op)
{
  ss_store_ok(g->core, &g->store, "registrar", op);
}

static char *rdup(reg_req *r, const char *s)
{
  return s ? su_strdup(r->home, s) : NULL;
}

/* RFC 3261 10.3 step 5: the AOR, canonical (roles_int.h). */
static const char *canonical_aor(reg_req *r, url_t const *u)
{
  char buf[1024];
  return ss_aor_print(u, buf, sizeof buf) < 0 ? NULL : rdup(r, buf);
}

/* 10.3 step 1 and 5: a URI in one of our domains, or naming one of our
 * own addresses (a UA configured with the server's IP as its domain, as
 * sipp's scenarios are); with port, a Request-URI must name one of our
 * ports (another port is another server on this host), an AOR may not
 * (the port is not part of it). */
static bool serves(const sipsrv_registrar *g, url_t const *u, bool with_port)
{
  if (ss_domain_listed(g->cfg.domains, u->url_host))
    return true;
  return u->url_host && ss_core_is_local(g->core, u->url_host, with_port ? ss_url_port(u) : 0);
}

/* A q-value "0.5" as thousandths; -2 when malformed (RFC 3261 20.10). */
static int parse_q(const char *s)
{
  int whole, frac = 0, digits = 0;
  if (!s || (s[0] != '0' && s[0] != '1'))
    return -2;
  whole = s[0] - '0';
  s++;
  if (*s == '.')
    for (s++; *s >= '0' && *s <= '9' && digits < 3; s++, digits++)
      frac = frac * 10 + (*s - '0');
  if (*s)
    return -2;
  while (digits++ < 3)
    frac *= 10;
  return whole == 1 ? (frac ? -2 : 1000) : frac;
}

/* Digits only, as a delta-seconds (RFC 3261 25.1); -1 when malformed. */
static int64_t parse_delta(const char *s)
{
  int64_t v = 0;
  if (!s || !*s)
    return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return -1;
    if (v < 100000000000LL)
      v = v * 10 + (*s - '0');
  }
  return v;
}

/* Read what the REGISTER asks; 0, or a status to answer with. */
static int read_request(reg_req *r, const char **phrase)
{
  sipsrv_registrar *g = r->reg;
  sip_t const *sip = r->msg->sip;
  uint32_t dflt = g->cfg.default_expires ? g->cfg.default_expires : 3600;
  int64_t hdr_expires = sip->sip_expires ? (int64_t)sip->sip_expires->ex_delta : -1;
  size_t nc = 0;

  r->call_id = sip->sip_call_id->i_id;
  r->cseq = sip->sip_cseq->cs_seq;
  for (sip_contact_t const *c = sip->sip_contact; c && nc < MAX_CONTACTS; c = c->m_next)
    nc++;
  if (nc && !(r->c = su_alloc(r->home, nc * sizeof *r->c))) {
    *phrase = "Out of Memory";           /* 503 with Retry-After, as ss_role_nomem() */
    return 503;
  }
  for (sip_contact_t const *c = sip->sip_contact; c; c = c->m_next) {
    char uri[2048];
    const char *v;
    int64_t exp;
    int q = -1;
    char params[1024] = "";
    size_t pn = 0;
    ss_sb psb = ss_sb_init(params, sizeof params);

    /* Step 6: "*" only alone, with Expires: 0. */
    if (c->m_url->url_type == url_any) {
      if (c != sip->sip_contact || c->m_next || hdr_expires != 0) {
        *phrase = "Contact * needs Expires: 0 and no other Contact";
        return 400;
      }
      r->star = true;
      return 0;
    }
    if (r->nc == MAX_CONTACTS) {
      *phrase = "Too Many Contacts";
      return 403;
    }
    /* url_e() returns the length it needed, like snprintf, but leaves a
     * cut URI unterminated (SOFIA-NOTES): check the length, never strlen. */
    issize_t ulen = url_e(uri, sizeof uri, c->m_url);
    if (ulen < 0 || (size_t)ulen >= sizeof uri) {
      *phrase = "Contact URI Too Long";
      return 400;
    }
    /* Step 7: expires from the contact, else the header, else the default. */
    v = msg_params_find(c->m_params, "expires");
    exp = v ? parse_delta(v) : hdr_expires >= 0 ? hdr_expires : (int64_t)dflt;
    if (exp < 0) {
      *phrase = "Malformed expires";
      return 400;
    }
    v = msg_params_find(c->m_params, "q");
    if (v && (q = parse_q(v)) < -1) {
      *phrase = "Malformed q";
      return 400;
    }
    for (msg_param_t const *p = c->m_params; p && *p; p++) {
      if (strncasecmp(*p, "expires", 7) == 0 && ((*p)[7] == '=' || !(*p)[7]))
        continue;
      if (strncasecmp(*p, "q", 1) == 0 && ((*p)[1] == '=' || !(*p)[1]))
        continue;
      if (psb.n)
        ss_sb_chr(&psb, ';');
      ss_sb_str(&psb, *p);
    }
    pn = psb.n;
    if (ss_sb_done(&psb) < 0) {
      *phrase = "Contact Parameters Too Long";
      return 400;
    }
    r->c[r->nc].uri = rdup(r, uri);
    r->c[r->nc].params = pn ? rdup(r, params) : NULL;
    r->c[r->nc].expires = exp;
    r->c[r->nc].q = q;
    r->nc++;
  }
  r->fetch = !r->nc && !r->star;
  /* RFC 3327 5.3: Path is stored with the bindings. */
  if (sip->sip_path) {
    char buf[4096];
    size_t n = 0;
    for (sip_path_t const *p = sip->sip_path; p; p = p->r_next) {
      char one[1024];
      issize_t k = msg_header_field_e(one, sizeof one, (msg_header_t const *)p, 0);
      if (k < 0 || (size_t)k >= sizeof one || n + (size_t)k + 2 >= sizeof buf) {
        *phrase = "Path Too Long";
        return 400;
      }
      n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? ", " : "", one);
    }
    r->path = rdup(r, buf);
  }
  if (sip->sip_user_agent)
    r->user_agent = rdup(r, sip->sip_user_agent->g_string);
  return 0;
}

static int64_t ms_left(const sipsrv_binding *b, int64_t now)
{
  return b->expires > now ? b->expires - now : 0;
}

/* The 200 (step 8): every current binding with its remaining expires, a Date. */
static void answer_ok(reg_req *r)
{
  sipsrv_registrar *g = r->reg;
  size_t cap = 256;
  char *h;
  time_t secs = (time_t)(r->now / 1000);
  ss_sb sb;

  for (size_t i = 0; i < r->nset; i++)
    cap += strlen(r->set[i].contact) + (r->set[i].params ? strlen(r->set[i].params) : 0) + 64;
  if (r->path)
    cap += strlen(r->path) + 32;
  h = su_alloc(r->home, cap);
  if (!h) {
    answer(r, 500, NULL, "Retry-After: 5");
    return;
  }
  sb = ss_sb_init(h, cap);
  for (size_t i = 0; i < r->nset; i++) {
    const sipsrv_binding *b = &r->set[i];
    if (i)
      ss_sb_str(&sb, "\r\n");
    ss_sb_str(&sb, "Contact: <");
    ss_sb_str(&sb, b->contact);
    ss_sb_str(&sb, ">;expires=");
    {
      int64_t left = (ms_left(b, r->now) + 999) / 1000;
      ss_sb_u64(&sb, left > 0 ? (uint64_t)left : 0u);
    }
    if (b->q >= 0) {
      char frac[4] = { (char)('0' + b->q / 100 % 10), (char)('0' + b->q / 10 % 10),
                       (char)('0' + b->q % 10), 0 };
      ss_sb_str(&sb, ";q=");
      ss_sb_u64(&sb, (uint64_t)(b->q / 1000));
      ss_sb_chr(&sb, '.');
      ss_sb_str(&sb, frac);
    }
    if (b->params) {
      ss_sb_chr(&sb, ';');
      ss_sb_str(&sb, b->params);
    }
  }
  /* RFC 3261 20.17: Date in RFC 1123 form, GMT (strftime: see SOFIA-NOTES),
   * formatted once a second. */
  if (secs != g->date_secs || !g->date[0]) {
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(g->date, sizeof g->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    g->date_secs = secs;
  }
  if (r->nset)
    ss_sb_str(&sb, "\r\n");
  ss_sb_str(&sb, "Date: ");
  ss_sb_str(&sb, g->date);
  if (r->path) {
    ss_sb_str(&sb, "\r\nPath: ");
    ss_sb_str(&sb, r->path);
    ss_sb_str(&sb, "\r\nSupported: path");
  }
  if (ss_sb_done(&sb) < 0) {
    answer(r, 500, NULL, "Retry-After: 5");
    return;
  }
  answer(r, 200, NULL, h);
}

static void on_put(void *ctx, int err)
{
  reg_req *r = ctx;
  r->busy = false;
  if (!r->st) {
    req_free(r);
    return;
  }
  if (err < 0) {
    /* ARCHITECTURE.md: a store failure is a 500 with Retry-After; the old
     * bindings are kept by the store. */
    store_failed(r, err, ST_WRITE);
    return;
  }
  store_ok(r->reg, ST_WRITE);
  answer_ok(r);
}

/* RFC 3261 10.3 step 7 matches contacts with the URI comparison rules of
 * 19.1.4 (host case, parameter order...); the stored text stays as sent. */
static bool same_contact(reg_req *r, const char *a, const char *b)
{
  url_t *ua, *ub;
  bool same;
  if (strcmp(a, b) == 0)
    return true;
  ua = url_make(r->home, a);
  ub = url_make(r->home, b);
  same = ua && ub && url_cmp_all(ua, ub) == 0;
  su_free(r->home, ua);
  su_free(r->home, ub);
  return same;
}

/* Step 7 on the current bindings: the new set, or a status. */
static void on_got(void *ctx, int err, const sipsrv_binding *cur, size_t n)
{
  reg_req *r = ctx;
  sipsrv_registrar *g = r->reg;
  uint32_t maxb = g->cfg.max_bindings ? g->cfg.max_bindings : 16;
  sipsrv_binding *set;
  size_t nset = 0;
  int rc;

  r->busy = false;
  if (!r->st) {
    req_free(r);
    return;
  }
  if (err < 0) {
    store_failed(r, err, ST_READ);
    return;
  }
  store_ok(g, ST_READ);
  set = su_zalloc(r->home, (n + r->nc + 1) * sizeof *set);
  if (!set) {
    answer(r, 500, NULL, "Retry-After: 5");
    return;
  }
  /* The current ones, copied (they are only valid in this callback), except
   * what this REGISTER changes. */
  for (size_t i = 0; i < n; i++) {
    bool changed = r->star;
    for (size_t k = 0; k < r->nc && !changed; k++)
      changed = same_contact(r, cur[i].contact, r->c[k].uri);
    if (changed && cur[i].call_id && strcmp(cur[i].call_id, r->call_id) == 0 &&
        r->cseq <= cur[i].cseq) {
      /* Step 7: same Call-ID, CSeq not higher: the update fails whole. */
      answer(r, 500, "CSeq Out of Order", NULL);
      return;
    }
    if (changed)
      continue;
    set[nset] = cur[i];
    set[nset].contact = rdup(r, cur[i].contact);
    set[nset].params = rdup(r, cur[i].params);
    set[nset].call_id = rdup(r, cur[i].call_id);
    set[nset].path = rdup(r, cur[i].path);
    set[nset].instance = rdup(r, cur[i].instance);
    set[nset].received = rdup(r, cur[i].received);
    set[nset].user_agent = rdup(r, cur[i].user_agent);
    nset++;
  }
  for (size_t k = 0; k < r->nc; k++) {
    sipsrv_binding *b;
    bool later = false;
    for (size_t j = k + 1; j < r->nc && !later; j++)
      later = same_contact(r, r->c[k].uri, r->c[j].uri);   /* the last one counts */
    if (later || r->c[k].expires == 0)
      continue;                                          /* 0: removal */
    b = &set[nset++];
    b->contact = r->c[k].uri;
    b->params = r->c[k].params;
    b->q = r->c[k].q;
    b->expires = r->now + r->c[k].expires * 1000;
    b->call_id = r->call_id;
    b->cseq = r->cseq;
    b->path = r->path;
    b->received = r->received;
    b->user_agent = r->user_agent;
    b->updated = r->now;
  }
  if (r->fetch) {
    r->set = set;
    r->nset = nset;
    answer_ok(r);
    return;
  }
  /* The bindings per AOR are limited: reject, or drop the least recently
   * updated (documented policy, registrar.h). */
  if (nset > maxb) {
    if (!g->cfg.evict_oldest) {
      answer(r, 403, "Too Many Bindings", NULL);
      return;
    }
    while (nset > maxb) {
      size_t oldest = 0;
      for (size_t i = 1; i < nset; i++)
        if (set[i].updated < set[oldest].updated)
          oldest = i;
      set[oldest] = set[--nset];
    }
  }
  r->set = set;
  r->nset = nset;
  r->busy = true;
  rc = sipsrv_store_put(g->cfg.store, r->aor, set, nset, on_put, r);
  if (rc < 0) {
    r->busy = false;
    store_failed(r, rc, ST_WRITE);
  }
}

/* Steps 5 to 8, once the request passed Require and authentication. */
static void proceed(reg_req *r)
{
  sipsrv_registrar *g = r->reg;
  sip_t const *sip = r->msg->sip;
  ss_txn *st = r->st;
  const char *phrase = NULL;
  uint32_t minx = g->cfg.min_expires ? g->cfg.min_expires : 60;
  uint32_t maxx = g->cfg.max_expires ? g->cfg.max_expires : 86400;
  int status, rc;

  /* Step 5: the AOR (RFC 4475 3.3.4: To must be SIP or SIPS). */
  if (sip->sip_to->a_url->url_type != url_sip && sip->sip_to->a_url->url_type != url_sips) {
    answer(r, 400, "To Is Not a SIP or SIPS URI", NULL);
    return;
  }
  if (!serves(g, sip->sip_to->a_url, false)) {
    answer(r, 404, "Not Found", NULL);
    return;
  }
  r->aor = canonical_aor(r, sip->sip_to->a_url);
  status = r->aor ? read_request(r, &phrase) : 500;
  if (status) {
    answer(r, status, phrase, status == 503 ? "Retry-After: 5" : NULL);
    return;
  }
  /* Step 7: too short -> 423 with Min-Expires; too long -> shortened. */
  for (size_t k = 0; k < r->nc; k++) {
    if (r->c[k].expires && r->c[k].expires < minx) {
      char h[48];
      snprintf(h, sizeof h, "Min-Expires: %u", (unsigned)minx);
      answer(r, 423, "Interval Too Brief", h);
      return;
    }
    if (r->c[k].expires > maxx)
      r->c[k].expires = maxx;
  }
  {
    const char *name, *host;
    unsigned port, flags;
    char buf[128];
    const ss_peer *p = ss_txn_peer(st);
    ss_transport_info(p->transport, &name, &host, &port, &flags);
    (void)host;
    if (name && addr_text(&p->addr, buf, sizeof buf) == 0) {
      char *rcv = su_sprintf(r->home, "%s:%s", name, buf);
      for (char *q = rcv; q && *q && *q != ':'; q++)
        if (*q >= 'A' && *q <= 'Z')
          *q = (char)(*q - 'A' + 'a');
      r->received = rcv;
    }
  }
  r->busy = true;
  rc = sipsrv_store_get(g->cfg.store, r->aor, r->now, on_got, r);
  if (rc < 0) {
    r->busy = false;
    store_failed(r, rc, ST_READ);
  }
}

/* 401 with a challenge per algorithm (RFC 3261 22.4; stale, RFC 7616 3.3). */
static void challenge(reg_req *r, bool stale)
{
  char h[2048];
  if (ss_auth_challenge(r->reg->auth, false, stale, h, sizeof h) < 0)
    answer(r, 500, NULL, NULL);
  else
    answer(r, 401, "Unauthorized", h);
}

/* The user's credentials: verify, then authorize (step 4: by default a user
 * registers only the AOR of its own name). */
static void on_cred(void *ctx, int err, const sipsrv_credential *c)
{
  reg_req *r = ctx;
  const char *ha1 = NULL;
  url_t const *to;
  r->busy = false;
  if (!r->st) {
    req_free(r);
    return;
  }
  if (err == 0 && c) {
    switch (r->creds.alg) {
    case SS_DIGEST_MD5: ha1 = c->ha1_md5; break;
    case SS_DIGEST_SHA256: ha1 = c->ha1_sha256; break;
    case SS_DIGEST_SHA512_256: ha1 = c->ha1_sha512_256; break;
    }
  } else if (err != SIPSRV_E_NOTFOUND) {
    store_failed(r, err, ST_CRED);
    return;
  }
  store_ok(r->reg, ST_CRED);
  /* An unknown user and a wrong password look the same: a new challenge. */
  if (!ha1 || !ss_auth_verify(r->reg->auth, &r->creds, ha1, "REGISTER")) {
    ss_role_auth_result(r->reg->core, r->creds.username, ss_txn_peer(r->st), false);
    challenge(r, false);
    return;
  }
  ss_role_auth_result(r->reg->core, r->creds.username, ss_txn_peer(r->st), true);
  to = r->msg->sip->sip_to->a_url;
  if (!to->url_user || strcmp(to->url_user, r->creds.username) != 0) {
    answer(r, 403, "Not Allowed for This AOR", NULL);
    return;
  }
  proceed(r);
}

static bool reg_request(void *self, ss_txn *st, sipsrv_msg *msg)
{
  static const char *const supported[] = { "path", NULL };
  sipsrv_registrar *g = self;
  sip_t const *sip = msg->sip;
  sipsrv_check_cfg chk = SIPSRV_CHECK_CFG_INIT;
  sipsrv_verdict v;
  reg_req *r;
  int rc;

  /* Step 1: REGISTER for one of our domains; anything else is not ours. */
  if (sip->sip_request->rq_method != sip_method_register ||
      !serves(g, sip->sip_request->rq_url, true))
    return false;
  r = ss_zalloc(g->core, sizeof *r);
  if (!r)
    return ss_role_nomem(st, msg);
  r->hdr.ev = &req_events;
  r->reg = g;
  r->st = st;
  r->msg = msg;
  r->home = msg_home(msg->msg);
  r->now = ss_core_wall_now(g->core);
  r->next = g->live;
  if (g->live)
    g->live->prev = r;
  g->live = r;
  ss_txn_set_owner(st, r);

  /* Step 2: Require (we support path). */
  chk.flags = SIPSRV_CHECK_REQUIRE;
  chk.supported = supported;
  sipsrv_msg_check(msg, &chk, &v);
  if (v.action == SIPSRV_REJECT) {
    answer(r, v.status, v.phrase, v.header[0] ? v.header : NULL);
    return true;
  }
  /* Step 3: authentication (RFC 3261 22.4, 401 with a challenge). */
  if (g->auth) {
    char h[40];
    switch (ss_auth_inspect(g->auth, msg, false, &r->creds)) {
    case SS_AUTH_CHECK:
      /* Too many wrong passwords from there: not even checked. */
      if (ss_role_auth_locked(g->core, r->creds.username, ss_txn_peer(st), h, sizeof h)) {
        answer(r, 503, "Too Many Failed Attempts", h);
        return true;
      }
      r->busy = true;
      rc = sipsrv_store_credential(g->cfg.store, r->creds.username, ss_auth_realm(g->auth), on_cred, r);
      if (rc < 0) {
        r->busy = false;
        store_failed(r, rc, ST_CRED);
      }
      return true;
    case SS_AUTH_STALE:
      challenge(r, true);
      return true;
    case SS_AUTH_BAD:
      answer(r, 400, "Malformed Authorization", NULL);
      return true;
    default:
      challenge(r, false);
      return true;
    }
  }
  proceed(r);
  return true;
}

int sipsrv_registrar_new(sipsrv_registrar **out, sipsrv_core *core, const sipsrv_registrar_cfg *cfg)
{
  sipsrv_registrar *g;
  if (!out || !core || !cfg)
    return SIPSRV_E_INVAL;
  if (cfg->version != SIPSRV_REGISTRAR_CFG_VERSION)
    return SIPSRV_E_VERSION;
  /* The effective bounds: 0 stands for the defaults (60 and 86400 s). */
  if (!cfg->domains || !cfg->domains[0] || !cfg->store || (cfg->auth_algs & ~SIPSRV_DIGEST_ALL) ||
      (cfg->min_expires ? cfg->min_expires : 60) > (cfg->max_expires ? cfg->max_expires : 86400))
    return SIPSRV_E_INVAL;
  if (!ss_core_has_wall_clock(core))
    return SIPSRV_E_STATE;
  g = ss_zalloc(core, sizeof *g);
  if (!g)
    return SIPSRV_E_NOMEM;
  g->core = core;
  g->cfg = *cfg;
  g->ctxn = ss_core_txn_of(core);
  if (!g->ctxn) {
    ss_free(core, g);
    return SIPSRV_E_NOMEM;
  }
  if (cfg->auth_realm) {
    ss_auth_cfg ac = { cfg->auth_realm, cfg->auth_secret, cfg->auth_secret_len, 0, cfg->auth_algs };
    int rc = ss_auth_new(&g->auth, core, &ac);
    if (rc < 0) {
      ss_free(core, g);
      return rc;
    }
  }
  g->role.request = reg_request;
  g->role.self = g;
  ss_core_txn_attach(g->ctxn, &g->role);
  *out = g;
  return 0;
}

void sipsrv_registrar_free(sipsrv_registrar *g)
{
  if (!g)
    return;
  ss_core_txn_detach(g->ctxn, &g->role);
  /* Requests still waiting for the store: answered 500, then forgotten (a
   * store's late callback must not find them: free the store first). */
  while (g->live) {
    reg_req *r = g->live;
    r->busy = false;
    answer(r, 500, "Server Shutting Down", NULL);
  }
  ss_auth_free(g->auth);
  ss_free(g->core, g);
}
