/* Dialogs of the call-stateful proxy (proxy.h): one starts when a 2xx to an
 * initial INVITE goes upstream (RFC 3261 12.1), ends when a final response
 * to its BYE does (15.1.2) or after dialog_timeout_ms. Looked up by Call-ID
 * and both tags in either order, so a BYE from either side finds it. */
#include "proxy_int.h"

#include <sipsrv/error.h>

#include <stdlib.h>
#include <string.h>

typedef struct px_dialog {
  sipsrv_proxy *p;
  ss_hnode hn;
  char *call_id, *from_tag, *to_tag, *from_uri, *to_uri;   /* one block */
  uint64_t started;
  ss_timer timeout;
  struct px_dialog *prev, *next;
} px_dialog;

/* The same for both directions: the tags hashed in a fixed order. */
static uint64_t key(const char *call_id, const char *a, const char *b)
{
  uint64_t h = ss_hash(SS_HASH_INIT, call_id);
  if (strcmp(a, b) > 0) {
    const char *t = a;
    a = b;
    b = t;
  }
  return ss_hash(ss_hash(h, a), b);
}

static px_dialog *find(const sipsrv_proxy *p, const char *call_id, const char *a, const char *b)
{
  uint64_t h = key(call_id, a, b);
  for (ss_hnode *n = ss_htab_first(&p->dialogs, h); n; n = ss_htab_next(n, h)) {
    px_dialog *d = SS_CONTAINER(n, px_dialog, hn);
    if (strcmp(d->call_id, call_id) == 0 &&
        ((strcmp(d->from_tag, a) == 0 && strcmp(d->to_tag, b) == 0) ||
         (strcmp(d->from_tag, b) == 0 && strcmp(d->to_tag, a) == 0)))
      return d;
  }
  return NULL;
}

static void info_of(const px_dialog *d, sipsrv_dialog_info *i, uint64_t ended, int status)
{
  i->call_id = d->call_id;
  i->from_tag = d->from_tag;
  i->to_tag = d->to_tag;
  i->from_uri = d->from_uri;
  i->to_uri = d->to_uri;
  i->started_ms = d->started;
  i->ended_ms = ended;
  i->end_status = status;
}

static void unlink_free(sipsrv_proxy *p, px_dialog *d)
{
  ss_timer_stop(ss_core_timers(p->core), &d->timeout);
  ss_htab_remove(&p->dialogs, &d->hn);
  if (d->prev)
    d->prev->next = d->next;
  else
    p->dlist = d->next;
  if (d->next)
    d->next->prev = d->prev;
  p->ndialogs--;
  ss_free(p->core, d->call_id);
  ss_free(p->core, d);
}

static void end(px_dialog *d, int status)
{
  sipsrv_proxy *p = d->p;
  if (p->cfg.on_dialog && !p->freeing) {   /* proxy.h: not while freeing */
    sipsrv_dialog_info i;
    info_of(d, &i, ss_core_now(p->core), status);
    p->cfg.on_dialog(p, &i, p->cfg.user);
  }
  unlink_free(p, d);
}

static void on_timeout(ss_timer *t, void *arg)
{
  (void)t;
  end(arg, 408);
}

static char *url_text(url_t const *u, char *buf, size_t size)
{
  issize_t n = u ? url_e(buf, (isize_t)size, u) : -1;
  if (n < 0 || (size_t)n >= size)
    buf[0] = '\0';
  return buf;
}

void px_dialog_start(sipsrv_proxy *p, const sipsrv_msg *rsp)
{
  sip_t const *sip = rsp->sip;
  char furi[512], turi[512];
  const char *s[5];
  size_t len[5], total = 0;
  px_dialog *d;
  char *block;

  if (!sip->sip_call_id || !sip->sip_from || !sip->sip_from->a_tag || !sip->sip_to ||
      !sip->sip_to->a_tag ||
      find(p, sip->sip_call_id->i_id, sip->sip_from->a_tag, sip->sip_to->a_tag))
    return;                              /* a retransmission, or no dialog */
  s[0] = sip->sip_call_id->i_id;
  s[1] = sip->sip_from->a_tag;
  s[2] = sip->sip_to->a_tag;
  s[3] = url_text(sip->sip_from->a_url, furi, sizeof furi);
  s[4] = url_text(sip->sip_to->a_url, turi, sizeof turi);
  for (int i = 0; i < 5; i++)
    total += (len[i] = strlen(s[i]) + 1);
  d = ss_zalloc(p->core, sizeof *d);
  block = ss_alloc(p->core, total);
  if (!d || !block || ss_htab_add(&p->dialogs, &d->hn, key(s[0], s[1], s[2])) < 0) {
    ss_free(p->core, d);
    ss_free(p->core, block);
    return;                              /* untracked: the call goes on */
  }
  d->call_id = block;
  {
    char **out[5] = { &d->call_id, &d->from_tag, &d->to_tag, &d->from_uri, &d->to_uri };
    for (int i = 0; i < 5; i++) {
      *out[i] = memcpy(block, s[i], len[i]);
      block += len[i];
    }
  }
  d->p = p;
  d->started = ss_core_now(p->core);
  ss_timer_init(&d->timeout);
  ss_timer_start(ss_core_timers(p->core), &d->timeout, d->started + p->cfg.dialog_timeout_ms,
                 on_timeout, d);
  d->next = p->dlist;
  if (p->dlist)
    p->dlist->prev = d;
  p->dlist = d;
  p->ndialogs++;
  if (p->cfg.on_dialog) {
    sipsrv_dialog_info i;
    info_of(d, &i, 0, 0);
    p->cfg.on_dialog(p, &i, p->cfg.user);
  }
}

void px_dialog_bye(sipsrv_proxy *p, const sipsrv_msg *rsp)
{
  sip_t const *sip = rsp->sip;
  px_dialog *d;
  if (!sip->sip_call_id || !sip->sip_from || !sip->sip_from->a_tag || !sip->sip_to ||
      !sip->sip_to->a_tag)
    return;
  d = find(p, sip->sip_call_id->i_id, sip->sip_from->a_tag, sip->sip_to->a_tag);
  if (d)
    end(d, sip->sip_status->st_status);
}

bool px_dialog_full(const sipsrv_proxy *p)
{
  return p->cfg.max_dialogs && p->ndialogs >= p->cfg.max_dialogs;
}

void px_dialog_fini(sipsrv_proxy *p)
{
  while (p->dlist)
    unlink_free(p, p->dlist);
}

size_t sipsrv_proxy_dialog_count(const sipsrv_proxy *p)
{
  return p ? p->ndialogs : 0;
}

int sipsrv_proxy_dialogs(const sipsrv_proxy *p, sipsrv_proxy_dialog_cb cb, void *user)
{
  int n = 0;
  if (!p || !cb)
    return SIPSRV_E_INVAL;
  for (const px_dialog *d = p->dlist; d; d = d->next, n++) {
    sipsrv_dialog_info i;
    info_of(d, &i, 0, 0);
    cb((sipsrv_proxy *)p, &i, user);
  }
  return n;
}
