/* Private to lib/: the core's internals that other layers share. */
#ifndef SS_CORE_INT_H
#define SS_CORE_INT_H

#include <sipsrv/core.h>

#if defined(__GNUC__)
#define SS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SS_PRINTF(a, b)
#endif

struct sipsrv_core {
  sipsrv_allocator alloc;
  sipsrv_log_cb log_cb;
  void *log_user;
  sipsrv_log_level log_level;
};

/* Allocation through the core's allocator. */
void *ss_alloc(const sipsrv_core *core, size_t size);
void *ss_zalloc(const sipsrv_core *core, size_t size);
void ss_free(const sipsrv_core *core, void *ptr);

/* Log through the core's callback; formats only when the level is enabled.
 * A message longer than 511 characters is cut there. */
void ss_log(const sipsrv_core *core, sipsrv_log_level level, const char *fmt, ...) SS_PRINTF(3, 4);

/* True when a message of this level would reach the callback. */
static inline int ss_log_enabled(const sipsrv_core *core, sipsrv_log_level level)
{
  return core && core->log_cb && level != SIPSRV_LOG_NONE && level <= core->log_level;
}

#endif
