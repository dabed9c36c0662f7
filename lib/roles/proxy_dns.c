/* RFC 3263 at the proxy: the next hop of a target named by a host name is
 * resolved through the configured resolver (resolver.h) into the places
 * to try, in order. */
#include "proxy_int.h"

#include <sipsrv/error.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

struct px_dns {
  sipsrv_proxy *p;
  void *query;
  px_dns_done done;
  void *ctx;
  px_dns **handle;            /* the owner's pointer to us, cleared before done */
  bool starting;              /* inside sipsrv_resolver_resolve() */
  bool finished;              /* done ran while starting */
  px_dns *prev, *next;
};

static void unlink_dns(px_dns *d)
{
  if (d->prev)
    d->prev->next = d->next;
  else
    d->p->dns = d->next;
  if (d->next)
    d->next->prev = d->prev;
}

static void on_resolved(void *arg, int err, const sipsrv_resolved *r, size_t n)
{
  px_dns *d = arg;
  sipsrv_proxy *p = d->p;
  ss_peer peers[PX_MAX_PEERS];
  size_t np = 0;

  for (size_t i = 0; i < n && np < PX_MAX_PEERS; i++)
    if (px_peer_for(p, r[i].transport, &r[i].addr, r[i].addrlen, &peers[np]) == 0)
      np++;                              /* a transport we lack is skipped */
  unlink_dns(d);
  if (d->handle)
    *d->handle = NULL;
  d->done(d->ctx, err, np ? peers : NULL, np);
  if (d->starting)
    d->finished = true;                  /* freed when resolve returns */
  else
    ss_free(p->core, d);
}

int px_resolve(sipsrv_proxy *p, const char *uri, px_dns_done done, void *ctx, px_dns **handle)
{
  px_dns *d;
  int rc;
  if (!p->cfg.resolver)
    return SIPSRV_E_NOTSUP;
  d = ss_zalloc(p->core, sizeof *d);
  if (!d)
    return SIPSRV_E_NOMEM;
  d->p = p;
  d->done = done;
  d->ctx = ctx;
  d->handle = handle;
  d->next = p->dns;
  if (p->dns)
    p->dns->prev = d;
  p->dns = d;
  *handle = d;
  d->starting = true;
  rc = sipsrv_resolver_resolve(p->cfg.resolver, uri, on_resolved, d, &d->query);
  d->starting = false;
  if (d->finished) {
    ss_free(p->core, d);                 /* it completed inline */
    return 0;
  }
  if (rc < 0) {
    unlink_dns(d);
    *handle = NULL;
    ss_free(p->core, d);
  }
  return rc < 0 ? rc : 0;
}

void px_dns_cancel(px_dns *d)
{
  if (!d)
    return;
  sipsrv_resolver_cancel(d->p->cfg.resolver, d->query);
  unlink_dns(d);
  if (d->handle)
    *d->handle = NULL;
  ss_free(d->p->core, d);
}

void px_dns_fini(sipsrv_proxy *p)
{
  while (p->dns) {
    px_dns *d = p->dns;
    sipsrv_resolver_cancel(p->cfg.resolver, d->query);
    unlink_dns(d);
    if (d->handle)
      *d->handle = NULL;
    d->done(d->ctx, SIPSRV_E_STATE, NULL, 0);   /* the proxy is going */
    ss_free(p->core, d);
  }
}

/* The URI of the next hop of t (16.6 step 7) as it will be after the
 * edits: a target's hop, else the first Route to add (a Path), else the
 * request's first Route (strict or loose, the request goes there), else
 * the new or kept Request-URI. */
static bool hop_of(const sipsrv_msg *m, const px_target *t, url_t *u, char *tmp, size_t size)
{
  const char *s = t->hop ? t->hop : t->route ? t->route : NULL;
  if (!s && m->sip->sip_route) {
    *u = *m->sip->sip_route->r_url;
    return true;
  }
  if (!s && !t->uri) {
    *u = *m->sip->sip_request->rq_url;
    return true;
  }
  if (!s)
    s = t->uri;
  if (t->route && !t->hop) {
    /* Path values are name-addrs (RFC 3327): the first one's URI. */
    const char *lt = strchr(s, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt) {
      if ((size_t)(gt - lt - 1) >= size)
        return false;
      memcpy(tmp, lt + 1, (size_t)(gt - lt - 1));
      tmp[gt - lt - 1] = '\0';
      return url_d(u, tmp) >= 0;
    }
  }
  if (strlen(s) >= size)
    return false;
  strcpy(tmp, s);
  return url_d(u, tmp) >= 0;
}

bool px_hop_dns(const sipsrv_proxy *p, const sipsrv_msg *m, const px_target *t, char *buf,
                size_t size)
{
  char tmp[1024], maddr[256], tpname[16];
  const char *host;
  url_t u;
  isize_t n;
  int w;

  if (!p->cfg.resolver || !hop_of(m, t, &u, tmp, sizeof tmp) || !u.url_host ||
      (u.url_type != url_sip && u.url_type != url_sips))
    return false;
  host = u.url_host;
  /* RFC 3263 4.1 and 16.6 step 7: maddr first, then the host. */
  n = (isize_t)ss_uri_param(u.url_params, "maddr", maddr, sizeof maddr);
  if (n > 1 && (size_t)n < sizeof maddr)          /* an empty maddr names nothing */
    host = maddr;
  if (ss_is_ip_address(host))
    return false;                        /* px_next_hop needs no resolver */
  n = (isize_t)ss_uri_param(u.url_params, "transport", tpname, sizeof tpname);
  w = snprintf(buf, size, "%s:%s%s%s%s%s", u.url_type == url_sips ? "sips" : "sip", host,
               u.url_port ? ":" : "", u.url_port ? u.url_port : "",
               n > 0 && (size_t)n < sizeof tpname ? ";transport=" : "",
               n > 0 && (size_t)n < sizeof tpname ? tpname : "");
  return w > 0 && (size_t)w < size;
}
