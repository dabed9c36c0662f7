/* Private to lib/store and the layers above it. */
#ifndef SS_STORE_INT_H
#define SS_STORE_INT_H

#include "core/core_int.h"

#include <sipsrv/store.h>

struct sipsrv_store {
  const struct sipsrv_store_ops *ops;
  void *user;
};

/* Digest algorithms of RFC 7616 and RFC 8760. */
typedef enum ss_digest_alg { SS_DIGEST_MD5, SS_DIGEST_SHA256, SS_DIGEST_SHA512_256 } ss_digest_alg;

/* The lower-case hex digest of data[0..len) with alg into out (129 bytes
 * suffice): 0, or SIPSRV_E_NOMEM / SIPSRV_E_NOTSUP. */
int ss_digest_hex(ss_digest_alg alg, const void *data, size_t len, char out[129]);

/* A core of the store's own with core's allocator (NULL: the C library's),
 * so that the store may outlive core: 0 or a negative SIPSRV_E_*. */
int ss_store_core(sipsrv_core *core, sipsrv_core **own);

/* Copy src into dst with all its strings in one block (*block, freed with
 * ss_free(core, ...)): 0 or SIPSRV_E_NOMEM. */
int ss_binding_copy(const sipsrv_core *core, const sipsrv_binding *src, sipsrv_binding *dst,
                    char **block);

/* The sqlite3 handle of a SQLite store, NULL for any other (for tests that
 * inject faults). */
void *ss_store_sqlite_db(sipsrv_store *store);

#endif
