/* A resolver: a backend's table and its user data (resolver.h). */
#include "core/core_int.h"

#include <sipsrv/error.h>
#include <sipsrv/resolver.h>

#include <stdlib.h>

struct sipsrv_resolver {
  const struct sipsrv_resolver_ops *ops;
  void *user;
};

int sipsrv_resolver_new(sipsrv_resolver **out, const struct sipsrv_resolver_ops *ops, void *user)
{
  sipsrv_resolver *r;
  if (!out || !ops)
    return SIPSRV_E_INVAL;
  /* STYLE.md: version and size first, then the slots. */
  if (ops->version < 1 || ops->version > SIPSRV_RESOLVER_OPS_VERSION ||
      ops->size < sizeof(struct sipsrv_resolver_ops))
    return SIPSRV_E_VERSION;
  if (!ops->resolve || !ops->cancel)
    return SIPSRV_E_INVAL;
  r = calloc(1, sizeof *r);
  if (!r)
    return SIPSRV_E_NOMEM;
  r->ops = ops;
  r->user = user;
  *out = r;
  return 0;
}

void sipsrv_resolver_free(sipsrv_resolver *r)
{
  if (!r)
    return;
  if (r->ops->destroy)
    r->ops->destroy(r->user);
  free(r);
}

int sipsrv_resolver_resolve(sipsrv_resolver *r, const char *uri, sipsrv_resolve_cb done, void *ctx,
                            void **query)
{
  if (!r || !uri || !done || !query)
    return SIPSRV_E_INVAL;
  *query = NULL;
  return r->ops->resolve(r->user, uri, done, ctx, query);
}

void sipsrv_resolver_cancel(sipsrv_resolver *r, void *query)
{
  if (r && query)
    r->ops->cancel(r->user, query);
}
