/* Private: flood protection (limit.c), behind sipsrv_core_set_limits(). */
#ifndef SS_LIMIT_H
#define SS_LIMIT_H

#include "core_int.h"

#include <sipsrv/core.h>

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct ss_limiter ss_limiter;

int ss_limiter_new(ss_limiter **out, sipsrv_core *core);
void ss_limiter_free(ss_limiter *l);
/* New thresholds (copied); what was tracked is forgotten. */
void ss_limiter_set(ss_limiter *l, const sipsrv_limits *cfg);
/* True when a request rate limit is set. */
bool ss_limiter_active(const ss_limiter *l);
/* True when requests over a limit are dropped rather than answered 503. */
bool ss_limiter_drops(const ss_limiter *l);

/* A new request from src by user ("user@host", may be NULL) at now (ms):
 * true when within the limits (its tokens are taken); false with
 * *retry_ms until the bucket that refused it has a token again. */
bool ss_limit_request(ss_limiter *l, const struct sockaddr_storage *src, const char *user,
                      uint64_t now, uint64_t *retry_ms);

/* Digest failures of user from src: locked out now (and for *retry_ms)? */
bool ss_limit_auth_locked(ss_limiter *l, const char *user, const struct sockaddr_storage *src,
                          uint64_t now, uint64_t *retry_ms);
/* A digest response of user from src was right (ok) or wrong. */
void ss_limit_auth_result(ss_limiter *l, const char *user, const struct sockaddr_storage *src,
                          bool ok, uint64_t now);

#endif
