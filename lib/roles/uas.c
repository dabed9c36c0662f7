/* The user agent server role (uas.h): RFC 3261 8.2, 9.2, 11.2, 12, 13.3,
 * 15.1.2. */
#include "core/fmt.h"
#include "core/htab.h"
#include "roles_int.h"
#include "txn/txn.h"

#include <sipsrv/error.h>
#include <sipsrv/uas.h>

#include <sofia-sip/su_alloc.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const default_methods[] = { "INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", NULL };
static const char *const default_accept[] = { "application/sdp", NULL };

typedef struct uas_dialog {
  char *call_id, *local_tag, *remote_tag;
  uint32_t remote_cseq;
  bool acked;
  char *ok;                   /* the 2xx as sent, again until the ACK (13.3.1.4) */
  size_t ok_len;
  int ok_status;
  ss_peer peer;               /* where it goes (18.2.2, resolved when first sent) */
  ss_timer t_retx, t_giveup;
  uint32_t interval;
  sipsrv_uas *uas;
  ss_hnode hn;                /* in the index by Call-ID */
  bool indexed;
  struct uas_dialog *next, *prev;
} uas_dialog;

struct sipsrv_request {
  ss_txn_owner_hdr hdr;       /* first: the transaction's owner */
  sipsrv_uas *uas;
  ss_txn *st;
  sipsrv_msg *msg;            /* borrowed from st */
  char tag[17];               /* our To tag for every response to it */
  bool app;                   /* the application answers it */
  bool in_cb;                 /* inside on_request: not freed, only marked */
  bool gone;                  /* ended inside on_request: freed after it */
  void *user;
  ss_hnode mhn;               /* in the merge index: Call-ID, From tag, CSeq (8.2.2.2) */
  bool indexed;
  bool done;                  /* answered finally */
  /* Once answered finally the request lets go of its message (the
   * transaction compacts it away): what merged() still compares. */
  char *keys;                 /* one block: Call-ID, From tag, method */
  const char *k_call_id, *k_from_tag, *k_method;
  uint32_t k_seq;
  struct sipsrv_request *next, *prev;
};

struct sipsrv_uas {
  sipsrv_core *core;
  ss_core_txn *ctxn;
  ss_txn_role role;
  sipsrv_uas_cfg cfg;
  sipsrv_request *pending;
  ss_htab merge;              /* pending requests by merge key */
  uas_dialog *dialogs;
  ss_htab dialog_index;       /* dialogs by Call-ID */
  size_t ndialogs;
};

/* ---- helpers -------------------------------------------------------- */

static char *dupstr(sipsrv_core *core, const char *s)
{
  size_t n = strlen(s ? s : "") + 1;
  char *d = ss_alloc(core, n);
  if (d)
    memcpy(d, s ? s : "", n);
  return d;
}

static bool streq(const char *a, const char *b)
{
  return a && b && strcmp(a, b) == 0;
}

/* RFC 3261 19.3: a tag unique and unpredictable, the same for every
 * retransmission of the request (a hash of the core's secret and what
 * identifies the request). */
static void make_tag(const sipsrv_uas *u, const sipsrv_msg *m, char out[17])
{
  uint64_t h = ss_msg_id_hash(m, SS_HASH_INIT ^ ss_core_secret(u->core));
  ss_sb sb = ss_sb_init(out, 17);
  ss_sb_hex16(&sb, h);
}

/* ---- dialogs (RFC 3261 12) --------------------------------------------- */

static uint64_t str_hash(const char *p)
{
  return ss_hash(SS_HASH_INIT, p);
}

static uas_dialog *dialog_find(const sipsrv_uas *u, const char *call_id, const char *local,
                               const char *remote)
{
  uint64_t h = str_hash(call_id);
  for (ss_hnode *n = ss_htab_first(&u->dialog_index, h); n; n = ss_htab_next(n, h)) {
    uas_dialog *d = SS_CONTAINER(n, uas_dialog, hn);
    if (streq(d->call_id, call_id) && streq(d->local_tag, local) &&
        streq(d->remote_tag, remote ? remote : ""))
      return d;
  }
  return NULL;
}

static bool dialog_index(sipsrv_uas *u, uas_dialog *d)
{
  d->indexed = ss_htab_add(&u->dialog_index, &d->hn, str_hash(d->call_id)) == 0;
  return d->indexed;
}

static void dialog_unindex(sipsrv_uas *u, uas_dialog *d)
{
  if (d->indexed)
    ss_htab_remove(&u->dialog_index, &d->hn);
  d->indexed = false;
}

static void dialog_free(uas_dialog *d)
{
  sipsrv_uas *u = d->uas;
  ss_timer_stop(ss_core_timers(u->core), &d->t_retx);
  ss_timer_stop(ss_core_timers(u->core), &d->t_giveup);
  dialog_unindex(u, d);
  if (d->prev)
    d->prev->next = d->next;
  else
    u->dialogs = d->next;
  if (d->next)
    d->next->prev = d->prev;
  u->ndialogs--;
  ss_free(u->core, d->ok);
  ss_free(u->core, d->call_id);
  ss_free(u->core, d->local_tag);
  ss_free(u->core, d->remote_tag);
  ss_free(u->core, d);
}

static void dialog_end(uas_dialog *d, int status)
{
  sipsrv_uas *u = d->uas;
  char *call_id = d->call_id;
  d->call_id = NULL;
  dialog_free(d);
  if (u->cfg.on_dialog_end)
    u->cfg.on_dialog_end(u, call_id, status, u->cfg.user);
  ss_free(u->core, call_id);
}

/* RFC 3261 13.3.1.4: the 2xx again, at T1 doubling to T2, until the ACK. */
static void dialog_retx(ss_timer *tm, void *arg)
{
  uas_dialog *d = arg;
  uint32_t t1, t2, t4;
  (void)tm;
  if (d->acked || !d->ok)
    return;
  ss_core_timer_values(d->uas->core, &t1, &t2, &t4);
  ss_core_send_to(d->uas->core, &d->peer, d->ok_status, d->ok, d->ok_len);
  d->interval = d->interval * 2 < t2 ? d->interval * 2 : t2;
  ss_timer_start(ss_core_timers(d->uas->core), &d->t_retx, ss_core_now(d->uas->core) + d->interval,
                 dialog_retx, d);
}

/* 13.3.1.4: no ACK in 64*T1: the session ends (a BYE would end it at the
 * peer; this UAS sends none yet). */
static void dialog_giveup(ss_timer *tm, void *arg)
{
  uas_dialog *d = arg;
  (void)tm;
  if (!d->acked) {
    ss_log(d->uas->core, SIPSRV_LOG_WARN, "no ACK for the 2xx of dialog %s", d->call_id);
    dialog_end(d, 408);
  }
}

/* Start the 2xx retransmissions (13.3.1.4) and their 64*T1 limit. */
static void dialog_arm(uas_dialog *d)
{
  sipsrv_uas *u = d->uas;
  uint32_t t1, t2, t4;
  ss_core_timer_values(u->core, &t1, &t2, &t4);
  d->interval = t1;
  d->acked = false;
  ss_timer_start(ss_core_timers(u->core), &d->t_retx, ss_core_now(u->core) + t1, dialog_retx, d);
  ss_timer_start(ss_core_timers(u->core), &d->t_giveup, ss_core_now(u->core) + 64u * t1,
                 dialog_giveup, d);
}

/* The 2xx a dialog sends again: its bytes (taken) and where they go. */
typedef struct uas_ok {
  char *wire;
  size_t len;
  int status;
  ss_peer to;
} uas_ok;

static void dialog_rearm(uas_dialog *d, uas_ok *ok)
{
  ss_free(d->uas->core, d->ok);
  d->ok = ok->wire;
  d->ok_len = ok->len;
  d->ok_status = ok->status;
  d->peer = ok->to;
  ok->wire = NULL;
  dialog_arm(d);
}

static uas_dialog *dialog_new(sipsrv_uas *u, const sipsrv_request *r, uas_ok *ok)
{
  uas_dialog *d = ss_zalloc(u->core, sizeof *d);
  sipsrv_addr from;
  uint32_t seq = 0;

  if (!d)
    return NULL;
  sipsrv_msg_from(r->msg, &from);
  sipsrv_msg_cseq(r->msg, &seq, NULL);
  d->uas = u;
  d->call_id = dupstr(u->core, sipsrv_msg_call_id(r->msg));
  d->local_tag = dupstr(u->core, r->tag);
  d->remote_tag = dupstr(u->core, from.tag);
  d->remote_cseq = seq;
  d->ok = ok->wire;
  d->ok_len = ok->len;
  d->ok_status = ok->status;
  d->peer = ok->to;
  ok->wire = NULL;
  ss_timer_init(&d->t_retx);
  ss_timer_init(&d->t_giveup);
  d->next = u->dialogs;
  if (u->dialogs)
    u->dialogs->prev = d;
  u->dialogs = d;
  u->ndialogs++;
  if (!d->call_id || !d->local_tag || !d->remote_tag || !dialog_index(u, d)) {
    ok->wire = d->ok;                    /* the caller's again */
    d->ok = NULL;
    dialog_free(d);
    return NULL;
  }
  dialog_arm(d);
  return d;
}

/* ---- requests -------------------------------------------------------- */

static void index_remove(sipsrv_uas *u, sipsrv_request *r)
{
  if (r->indexed)
    ss_htab_remove(&u->merge, &r->mhn);
  r->indexed = false;
}

static void index_add(sipsrv_uas *u, sipsrv_request *r, uint64_t key)
{
  /* Without memory merge detection misses this one; nothing else breaks. */
  r->indexed = ss_htab_add(&u->merge, &r->mhn, key) == 0;
}

/* What 8.2.2.2 compares: Call-ID, From tag and CSeq (number and method). */
static uint64_t merge_key(const sipsrv_msg *m)
{
  sipsrv_addr from;
  uint32_t seq = 0;
  const char *meth = NULL;
  char num[24];
  uint64_t h = ss_hash(SS_HASH_INIT, sipsrv_msg_call_id(m));
  h = ss_hash(h, sipsrv_msg_from(m, &from) == 0 ? from.tag : NULL);
  sipsrv_msg_cseq(m, &seq, &meth);
  num[ss_fmt_u64(num, seq)] = '\0';
  h = ss_hash(h, num);
  return ss_hash(h, meth);
}

static void request_free(sipsrv_request *r)
{
  sipsrv_uas *u = r->uas;
  index_remove(u, r);
  if (r->prev)
    r->prev->next = r->next;
  else
    u->pending = r->next;
  if (r->next)
    r->next->prev = r->prev;
  if (r->st)
    ss_txn_set_owner(r->st, NULL);
  r->st = NULL;
  r->prev = r->next = NULL;
  ss_free(u->core, r->keys);
  r->keys = NULL;
  if (r->in_cb) {
    r->gone = true;                      /* uas_request frees it when on_request returns */
    return;
  }
  ss_free(u->core, r);
}

/* The transaction ended before the request was answered (a transport
 * error): the application hears of it as of a cancel. */
static void ev_terminated(void *owner, ss_txn *t)
{
  sipsrv_request *r = owner;
  sipsrv_uas *u = r->uas;
  (void)t;
  r->st = NULL;
  if (!r->done && r->app && u->cfg.on_cancel)
    u->cfg.on_cancel(u, r, u->cfg.user);
  request_free(r);
}

static const ss_txn_events request_events = { NULL, NULL, NULL, ev_terminated };

/* A request answered finally keeps only what merged() compares (8.2.2.2:
 * Call-ID, From tag, CSeq), and its transaction drops the message: the
 * request and its last provisional response no longer wait out Timer J
 * (32 s over UDP) or H with it. Not inside on_request: the application may
 * read the message until its callback returns. */
static void release_msg(sipsrv_request *r)
{
  sipsrv_uas *u = r->uas;
  sipsrv_addr from;
  const char *cid, *meth = NULL, *ftag;
  uint32_t seq = 0;
  size_t a, b, c;

  if (!r->done || !r->msg || !r->st || r->in_cb)
    return;
  cid = sipsrv_msg_call_id(r->msg);
  ftag = sipsrv_msg_from(r->msg, &from) == 0 ? from.tag : NULL;
  sipsrv_msg_cseq(r->msg, &seq, &meth);
  a = cid ? strlen(cid) + 1 : 0;
  b = ftag ? strlen(ftag) + 1 : 0;
  c = meth ? strlen(meth) + 1 : 0;
  r->keys = ss_alloc(u->core, a + b + c + 1);
  if (!r->keys)
    return;                              /* keeps the message: merely dearer */
  r->k_call_id = cid ? memcpy(r->keys, cid, a) : NULL;
  r->k_from_tag = ftag ? memcpy(r->keys + a, ftag, b) : NULL;
  r->k_method = meth ? memcpy(r->keys + a + b, meth, c) : NULL;
  r->k_seq = seq;
  r->msg = NULL;
  ss_txn_compact(r->st);
}

/* What merged() compares of a pending request, from its message or from
 * what release_msg() kept. */
static void merge_fields(const sipsrv_request *p, const char **cid, const char **ftag,
                         uint32_t *seq, const char **meth)
{
  sipsrv_addr from;
  if (!p->msg) {
    *cid = p->k_call_id;
    *ftag = p->k_from_tag;
    *seq = p->k_seq;
    *meth = p->k_method;
    return;
  }
  *cid = sipsrv_msg_call_id(p->msg);
  *ftag = sipsrv_msg_from(p->msg, &from) == 0 ? from.tag : NULL;
  *seq = 0;
  *meth = NULL;
  sipsrv_msg_cseq(p->msg, seq, meth);
}

void sipsrv_request_set_user(sipsrv_request *r, void *data)
{
  if (r)
    r->user = data;
}

void *sipsrv_request_user(const sipsrv_request *r)
{
  return r ? r->user : NULL;
}

const sipsrv_msg *sipsrv_request_msg(const sipsrv_request *r)
{
  return r ? r->msg : NULL;
}

/* RFC 3261 12.1.1: the request's Record-Route values, in their order. Sofia
 * puts each inserted value first, so they go in last to first. */
static int copy_record_route(sipsrv_msg *rsp, const sip_t *req)
{
  size_t n = 0, i = 0;
  sip_record_route_t const *p, **items;
  int rc = 0;

  for (p = req->sip_record_route; p; p = p->r_next)
    n++;
  if (!n)
    return 0;
  items = su_alloc(msg_home(rsp->msg), n * sizeof *items);
  if (!items)
    return SIPSRV_E_NOMEM;
  for (p = req->sip_record_route; p; p = p->r_next)
    items[i++] = p;
  while (n-- > 0 && rc == 0) {
    msg_header_t *h = msg_header_dup_one(msg_home(rsp->msg), (msg_header_t const *)items[n]);
    if (!h || msg_header_insert(rsp->msg, (msg_pub_t *)rsp->sip, h) < 0)
      rc = SIPSRV_E_NOMEM;
  }
  su_free(msg_home(rsp->msg), items);
  return rc;
}

/* Build a response to r with its tag, plus what RFC 3261 12.1.1 asks of a
 * 2xx to INVITE: the Record-Route copied and a Contact. */
static int build(sipsrv_request *r, int status, const char *phrase, const sipsrv_reply_opts *opts,
                 sipsrv_msg **out)
{
  sipsrv_uas *u = r->uas;
  sipsrv_reply_opts o = SIPSRV_REPLY_OPTS_INIT;
  int rc;

  if (opts)
    o = *opts;
  o.to_tag = r->tag;
  rc = sipsrv_msg_reply(out, r->msg, status, phrase, &o);
  if (rc < 0)
    return rc;
  /* RFC 3261 12.1.1: a response that makes a dialog, early (101-199 with a
   * tag) or confirmed (2xx), carries the Record-Route and a Contact. */
  if (status > 100 && status < 300 && sipsrv_msg_method(r->msg) == SIPSRV_METHOD_INVITE) {
    const char *name, *host;
    unsigned port, flags;
    char contact[320];
    sip_t *req = r->msg->sip, *rsp = (*out)->sip;
    ss_transport_info(ss_txn_peer(r->st)->transport, &name, &host, &port, &flags);
    snprintf(contact, sizeof contact, "Contact: <sip:%s@%s%s%s:%u;transport=%s>",
             u->cfg.contact_user ? u->cfg.contact_user : "sipsrv", strchr(host, ':') ? "[" : "",
             host, strchr(host, ':') ? "]" : "", port, name ? name : "udp");
    for (char *p = strstr(contact, "transport="); p && *p; p++)
      if (*p >= 'A' && *p <= 'Z')
        *p = (char)(*p - 'A' + 'a');
    if (copy_record_route(*out, req) < 0 ||
        (!rsp->sip_contact && sipsrv_msg_header_add(*out, contact) < 0)) {
      sipsrv_msg_free(*out);
      return SIPSRV_E_NOMEM;
    }
  }
  return 0;
}

int sipsrv_request_respond(sipsrv_request *r, int status, const char *phrase,
                           const sipsrv_reply_opts *opts)
{
  sipsrv_uas *u;
  sipsrv_msg *rsp;
  uas_ok keep = { NULL, 0, status, { 0 } };
  bool invite_ok;
  ss_txn *st;
  int rc;

  if (!r || status < 100 || status > 699)
    return SIPSRV_E_INVAL;
  if (r->done || !r->st)
    return SIPSRV_E_STATE;
  u = r->uas;
  if (status >= 200 && !(opts && opts->body_len) &&
      !(status < 300 && sipsrv_msg_method(r->msg) == SIPSRV_METHOD_INVITE)) {
    /* A final with no body that makes no dialog (12.1.1 asks nothing of it)
     * goes as bytes built from the request's text (ss_reply_wire()). */
    char buf[8192], tag[24];
    long n = ss_reply_wire(r->msg, status, phrase, r->tag, opts ? opts->headers : NULL, buf,
                           sizeof buf, tag, sizeof tag);
    if (n > 0) {
      r->done = true;
      rc = ss_txn_respond_wire(r->st, status, buf, (size_t)n, tag);
      if (rc == 0) {
        release_msg(r);
        return 0;
      }
      if (rc == SIPSRV_E_IO)
        return rc;                       /* ev_terminated freed r */
      r->done = false;
      if (rc != SIPSRV_E_NOMEM)
        return rc;
    }
  }
  rc = build(r, status, phrase, opts, &rsp);
  if (rc < 0)
    return rc;
  invite_ok = status >= 200 && status < 300 && sipsrv_msg_method(r->msg) == SIPSRV_METHOD_INVITE;
  if (invite_ok) {
    /* The dialog keeps the bytes to send again (13.3.1.4), and where they
     * go: the request is let go of once answered. */
    long n = sipsrv_msg_serialize(rsp, NULL, 0);
    keep.wire = n > 0 ? ss_alloc(u->core, (size_t)n) : NULL;
    if (!keep.wire || sipsrv_msg_serialize(rsp, keep.wire, (size_t)n) != n) {
      ss_free(u->core, keep.wire);
      sipsrv_msg_free(rsp);
      return SIPSRV_E_NOMEM;
    }
    keep.len = (size_t)n;
    ss_core_response_peer(ss_txn_peer(r->st), r->msg, 0, &keep.to);
  }
  if (status >= 200)
    r->done = true;
  st = r->st;
  rc = ss_txn_respond(st, rsp);
  if (rc < 0) {
    ss_free(u->core, keep.wire);
    if (rc != SIPSRV_E_IO)
      r->done = status < 200 ? r->done : false;
    return rc;                           /* on SIPSRV_E_IO ev_terminated freed r */
  }
  if (invite_ok) {
    /* A 2xx to a re-INVITE refreshes its dialog (13.3.1.4 applies again). */
    sipsrv_addr from;
    uas_dialog *d = NULL;
    if (sipsrv_msg_from(r->msg, &from) == 0)
      d = dialog_find(u, sipsrv_msg_call_id(r->msg), r->tag, from.tag);
    if (d)
      dialog_rearm(d, &keep);
    else if (!dialog_new(u, r, &keep))
      ss_free(u->core, keep.wire);
  }
  /* After its final answer the request stays (hidden from the application)
   * until its transaction ends: merged-request detection (8.2.2.2) and CANCEL
   * (9.2) still see it; its message goes. */
  release_msg(r);
  return 0;
}

/* Answer with the built-in behaviour or a verdict. */
static void answer(sipsrv_request *r, int status, const char *phrase, const char *header)
{
  sipsrv_reply_opts o = SIPSRV_REPLY_OPTS_INIT;
  int rc;
  o.headers = header && *header ? header : NULL;
  rc = sipsrv_request_respond(r, status, phrase, &o);
  /* On SIPSRV_E_IO the request is gone; on other failures it is untouched. */
  if (rc < 0 && rc != SIPSRV_E_IO && status != 500)
    sipsrv_request_respond(r, 500, NULL, NULL);
}

/* Append "\r\n" (unless first) + "Name: a, b" to buf; false when it does not fit. */
static bool put_list(char *buf, size_t size, size_t *n, const char *name, const char *const *list)
{
  ss_sb sb = ss_sb_init(buf + *n, size - *n);
  if (*n)
    ss_sb_str(&sb, "\r\n");
  ss_sb_str(&sb, name);
  ss_sb_str(&sb, ": ");
  for (const char *const *p = list; p && *p; p++) {
    if (p != list)
      ss_sb_str(&sb, ", ");
    ss_sb_str(&sb, *p);
  }
  *n += sb.n;
  return ss_sb_done(&sb) == 0;
}

static void options_200(sipsrv_request *r)
{
  static const char *const identity[] = { "identity", NULL };
  static const char *const english[] = { "en", NULL };
  sipsrv_uas *u = r->uas;
  char hdr[1024];
  size_t n = 0;

  /* RFC 3261 11.2: Allow, Accept, Accept-Encoding, Accept-Language, Supported. */
  if (put_list(hdr, sizeof hdr, &n, "Allow", u->cfg.methods ? u->cfg.methods : default_methods) &&
      put_list(hdr, sizeof hdr, &n, "Accept", u->cfg.accept ? u->cfg.accept : default_accept) &&
      put_list(hdr, sizeof hdr, &n, "Accept-Encoding", identity) &&
      put_list(hdr, sizeof hdr, &n, "Accept-Language", english) &&
      (!u->cfg.supported || !u->cfg.supported[0] ||
       put_list(hdr, sizeof hdr, &n, "Supported", u->cfg.supported)))
    answer(r, 200, NULL, hdr);
  else
    answer(r, 500, NULL, NULL);
}


/* RFC 3261 8.2.2.2: a request without To tag that matches a pending one by
 * From tag, Call-ID and CSeq, but came through another transaction. */
static bool merged(const sipsrv_uas *u, const sipsrv_request *r)
{
  sipsrv_addr from, to;
  uint32_t seq, s2;
  const char *meth, *m2;
  uint64_t key;
  if (sipsrv_msg_to(r->msg, &to) < 0 || to.tag || sipsrv_msg_from(r->msg, &from) < 0 ||
      sipsrv_msg_cseq(r->msg, &seq, &meth) < 0)
    return false;
  key = merge_key(r->msg);
  for (ss_hnode *n = ss_htab_first(&u->merge, key); n; n = ss_htab_next(n, key)) {
    const sipsrv_request *p = SS_CONTAINER(n, sipsrv_request, mhn);
    const char *c2, *t2;
    if (p == r || p->st == r->st)
      continue;
    merge_fields(p, &c2, &t2, &s2, &m2);
    if (streq(c2, sipsrv_msg_call_id(r->msg)) && streq(t2, from.tag) && s2 == seq && streq(m2, meth))
      return true;
  }
  return false;
}

static void on_cancel_request(sipsrv_uas *u, sipsrv_request *r)
{
  ss_txn *ist = ss_txn_cancel_target(ss_core_txn_layer(u->ctxn), r->msg);
  sipsrv_request *target = ist ? ss_txn_owner(ist) : NULL;

  /* RFC 3261 9.2: no matching transaction: 481; else 200 to the CANCEL and,
   * when the INVITE has no final response yet, 487 to it. */
  if (!ist) {
    answer(r, 481, "Call/Transaction Does Not Exist", NULL);
    return;
  }
  answer(r, 200, NULL, NULL);
  if (target && !target->done && target->st) {
    if (target->app && u->cfg.on_cancel)
      u->cfg.on_cancel(u, target, u->cfg.user);
    /* The callback may have answered it: look again (the transaction lives
     * on; its owner is cleared when the request is answered). */
    target = ss_txn_owner(ist);
    if (target && !target->done && target->st)
      answer(target, 487, "Request Terminated", NULL);
  }
}

static bool uas_request(void *self, ss_txn *st, sipsrv_msg *msg)
{
  sipsrv_uas *u = self;
  sipsrv_request *r = ss_zalloc(u->core, sizeof *r);
  sipsrv_check_cfg chk = SIPSRV_CHECK_CFG_INIT;
  sipsrv_verdict v;
  sipsrv_addr to, from;
  sipsrv_method method = sipsrv_msg_method(msg);

  if (!r)
    return ss_role_nomem(st, msg);
  r->hdr.ev = &request_events;
  r->uas = u;
  r->st = st;
  r->msg = msg;
  /* In a dialog the To tag is ours already (12.2.2); else a new one. */
  if (sipsrv_msg_to(msg, &to) == 0 && to.tag && strlen(to.tag) < sizeof r->tag)
    memcpy(r->tag, to.tag, strlen(to.tag) + 1);
  else
    make_tag(u, msg, r->tag);
  r->next = u->pending;
  if (u->pending)
    u->pending->prev = r;
  u->pending = r;
  index_add(u, r, merge_key(msg));
  ss_txn_set_owner(st, r);

  /* RFC 3261 8.2.1-8.2.3, in that order. */
  chk.flags = SIPSRV_CHECK_REQUIRE | SIPSRV_CHECK_CONTENT;
  chk.methods = u->cfg.methods ? u->cfg.methods : default_methods;
  chk.supported = u->cfg.supported;
  chk.accept = u->cfg.accept;
  sipsrv_msg_check(msg, &chk, &v);
  if (v.action == SIPSRV_REJECT) {
    answer(r, v.status, v.phrase, v.header);
    return true;
  }
  if (method == SIPSRV_METHOD_CANCEL) {
    on_cancel_request(u, r);
    return true;
  }
  if (merged(u, r)) {
    answer(r, 482, "Loop Detected", NULL);
    return true;
  }
  /* RFC 3261 12.2.2: a request with a To tag belongs to a dialog or gets
   * 481; its CSeq must not go back (500). */
  if (sipsrv_msg_to(msg, &to) == 0 && to.tag) {
    uint32_t seq = 0;
    uas_dialog *d;
    sipsrv_msg_from(msg, &from);
    d = dialog_find(u, sipsrv_msg_call_id(msg), to.tag, from.tag);
    if (!d) {
      answer(r, 481, "Call/Transaction Does Not Exist", NULL);
      return true;
    }
    sipsrv_msg_cseq(msg, &seq, NULL);
    if (seq < d->remote_cseq) {
      answer(r, 500, "CSeq Out of Order", NULL);
      return true;
    }
    d->remote_cseq = seq;
    if (method == SIPSRV_METHOD_BYE) {
      /* RFC 3261 15.1.2: 200 to the BYE ends the dialog. */
      answer(r, 200, NULL, NULL);
      dialog_end(d, 200);
      return true;
    }
  } else if (method == SIPSRV_METHOD_BYE) {
    answer(r, 481, "Call/Transaction Does Not Exist", NULL);
    return true;
  }
  if (u->cfg.on_request) {
    int took;
    r->app = true;
    r->in_cb = true;
    took = u->cfg.on_request(u, r, u->cfg.user);
    r->in_cb = false;
    if (r->gone) {
      ss_free(u->core, r);               /* its transaction ended meanwhile */
      return true;
    }
    release_msg(r);                      /* answered inside the callback */
    if (took || r->done)
      return true;
    r->app = false;
  }
  if (method == SIPSRV_METHOD_OPTIONS)
    options_200(r);
  else if (method == SIPSRV_METHOD_INVITE)
    answer(r, 480, "Temporarily Unavailable", NULL);   /* nobody to take the call */
  else
    answer(r, 200, NULL, NULL);
  return true;
}

/* The ACK for a 2xx (13.3.1.4): it confirms the dialog and stops the 2xx. */
static bool uas_ack(void *self, ss_txn *ist, sipsrv_msg *ack, const ss_peer *src)
{
  sipsrv_uas *u = self;
  sipsrv_addr to, from;
  uas_dialog *d;
  (void)ist;
  (void)src;
  if (sipsrv_msg_to(ack, &to) < 0 || sipsrv_msg_from(ack, &from) < 0)
    return false;
  d = dialog_find(u, sipsrv_msg_call_id(ack), to.tag, from.tag);
  if (!d)
    return false;
  if (!d->acked) {
    d->acked = true;
    ss_timer_stop(ss_core_timers(u->core), &d->t_retx);
    ss_timer_stop(ss_core_timers(u->core), &d->t_giveup);
    ss_free(u->core, d->ok);
    d->ok = NULL;
  }
  sipsrv_msg_free(ack);
  return true;
}

int sipsrv_uas_new(sipsrv_uas **out, sipsrv_core *core, const sipsrv_uas_cfg *cfg)
{
  static const sipsrv_uas_cfg defaults = SIPSRV_UAS_CFG_INIT;
  sipsrv_uas *u;

  if (!out || !core)
    return SIPSRV_E_INVAL;
  if (!cfg)
    cfg = &defaults;
  if (cfg->version != SIPSRV_UAS_CFG_VERSION)
    return SIPSRV_E_VERSION;
  u = ss_zalloc(core, sizeof *u);
  if (!u)
    return SIPSRV_E_NOMEM;
  u->core = core;
  u->cfg = *cfg;
  ss_htab_init(&u->merge, core);
  ss_htab_init(&u->dialog_index, core);
  u->ctxn = ss_core_txn_of(core);
  if (!u->ctxn) {
    ss_free(core, u);
    return SIPSRV_E_NOMEM;
  }
  u->role.request = uas_request;
  u->role.ack = uas_ack;
  u->role.self = u;
  ss_core_txn_attach(u->ctxn, &u->role);
  *out = u;
  return 0;
}

void sipsrv_uas_free(sipsrv_uas *u)
{
  if (!u)
    return;
  ss_core_txn_detach(u->ctxn, &u->role);
  while (u->pending) {
    sipsrv_request *r = u->pending;
    if (!r->done && r->st) {
      /* The application lets go of its data, then the caller hears 500. */
      if (r->app && u->cfg.on_cancel)
        u->cfg.on_cancel(u, r, u->cfg.user);
      r->app = false;
      if (u->pending == r && !r->done && r->st)
        answer(r, 500, "Server Shutting Down", NULL);
    }
    if (u->pending == r)
      request_free(r);
  }
  while (u->dialogs)
    dialog_free(u->dialogs);
  ss_htab_fini(&u->merge);
  ss_htab_fini(&u->dialog_index);
  ss_free(u->core, u);
}

size_t sipsrv_uas_dialogs(const sipsrv_uas *u)
{
  return u ? u->ndialogs : 0;
}
