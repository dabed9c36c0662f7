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

/* The ops of the memory store (to recognise one). */
extern const struct sipsrv_store_ops ss_memory_store_ops;

#endif
