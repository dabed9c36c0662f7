/* The core object: log callback and allocator shared by everything made from it. */
#include "core_int.h"

#include <sipsrv/error.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void *libc_malloc(size_t size, void *user) { (void)user; return malloc(size); }
static void *libc_realloc(void *p, size_t size, void *user) { (void)user; return realloc(p, size); }
static void libc_free(void *p, void *user) { (void)user; free(p); }

static const sipsrv_allocator libc_alloc = { libc_malloc, libc_realloc, libc_free, NULL };

void *ss_alloc(const sipsrv_core *core, size_t size)
{
  const sipsrv_allocator *a = core ? &core->alloc : &libc_alloc;
  return a->malloc_fn(size ? size : 1, a->user);
}

void *ss_zalloc(const sipsrv_core *core, size_t size)
{
  void *p = ss_alloc(core, size);
  if (p)
    memset(p, 0, size);
  return p;
}

void ss_free(const sipsrv_core *core, void *ptr)
{
  const sipsrv_allocator *a = core ? &core->alloc : &libc_alloc;
  if (ptr)
    a->free_fn(ptr, a->user);
}

void ss_log(const sipsrv_core *core, sipsrv_log_level level, const char *fmt, ...)
{
  char buf[512];
  va_list ap;

  if (!ss_log_enabled(core, level))
    return;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  core->log_cb(level, buf, core->log_user);
}

const char *sipsrv_log_level_name(sipsrv_log_level level)
{
  static const char *const names[] = { "none", "error", "warn", "info", "debug", "trace" };
  if ((int)level < 0 || (size_t)level >= sizeof names / sizeof names[0])
    return "unknown";
  return names[level];
}

int sipsrv_log_level_parse(const char *name)
{
  if (!name || !*name)
    return SIPSRV_E_INVAL;
  if (name[0] >= '0' && name[0] <= '5' && name[1] == '\0')
    return name[0] - '0';
  for (int l = SIPSRV_LOG_NONE; l <= SIPSRV_LOG_TRACE; l++)
    if (strcasecmp(name, sipsrv_log_level_name((sipsrv_log_level)l)) == 0)
      return l;
  if (strcasecmp(name, "warning") == 0)
    return SIPSRV_LOG_WARN;
  return SIPSRV_E_INVAL;
}

static int level_ok(sipsrv_log_level level)
{
  return (int)level >= SIPSRV_LOG_NONE && level <= SIPSRV_LOG_TRACE;
}

int sipsrv_core_new(sipsrv_core **out, const sipsrv_core_cfg *cfg)
{
  static const sipsrv_core_cfg defaults = SIPSRV_CORE_CFG_INIT;
  const sipsrv_allocator *a;
  sipsrv_core *core;

  if (!out)
    return SIPSRV_E_INVAL;
  if (!cfg)
    cfg = &defaults;
  if (cfg->version != SIPSRV_CORE_CFG_VERSION)
    return SIPSRV_E_VERSION;
  a = cfg->alloc ? cfg->alloc : &libc_alloc;
  if (!a->malloc_fn || !a->realloc_fn || !a->free_fn || !level_ok(cfg->log_level))
    return SIPSRV_E_INVAL;

  core = a->malloc_fn(sizeof *core, a->user);
  if (!core)
    return SIPSRV_E_NOMEM;
  memset(core, 0, sizeof *core);
  core->alloc = *a;
  core->log_cb = cfg->log_cb;
  core->log_user = cfg->log_user;
  core->log_level = cfg->log_level;
  *out = core;
  return 0;
}

void sipsrv_core_free(sipsrv_core *core)
{
  if (!core)
    return;
  core->alloc.free_fn(core, core->alloc.user);
}

int sipsrv_core_set_log(sipsrv_core *core, sipsrv_log_cb cb, sipsrv_log_level level, void *user)
{
  if (!core || !level_ok(level))
    return SIPSRV_E_INVAL;
  core->log_cb = cb;
  core->log_level = level;
  core->log_user = user;
  return 0;
}
