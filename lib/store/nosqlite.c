/* sipsrv built without SQLite (meson -Dsqlite=disabled): the SQLite store
 * is reported as not supported. */
#include "store_int.h"

#include <sipsrv/error.h>

int sipsrv_store_sqlite_new(sipsrv_store **out, sipsrv_core *core, const sipsrv_store_sqlite_cfg *cfg)
{
  (void)out;
  (void)core;
  (void)cfg;
  return SIPSRV_E_NOTSUP;
}

void *ss_store_sqlite_db(sipsrv_store *store)
{
  (void)store;
  return NULL;
}
