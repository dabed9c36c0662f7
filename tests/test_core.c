/* Tests of the core area: error strings, version, log levels, the core
 * object, and the internal logging and allocation helpers of lib/core. */
#include <check.h>

#include "harness.h"

#include <sipsrv/core.h>
#include <sipsrv/error.h>
#include <sipsrv/log.h>
#include <sipsrv/version.h>

#include "core/core_int.h"
#include "core/htab.h"
#include "core/timer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ----------------------------------------------------------- */

/* An allocator that counts its calls; passed to the core as user. */
typedef struct counting {
  unsigned mallocs, reallocs, frees;
  size_t last_size;
  int fail;                 /* malloc_fn and realloc_fn return NULL */
} counting;

static void *count_malloc(size_t size, void *user)
{
  counting *c = user;
  void *p;

  if (c->fail)
    return NULL;
  p = malloc(size);
  if (p) {
    /* Poison, so a test can tell ss_zalloc really zeroes. */
    memset(p, 0xA5, size);
    c->mallocs++;
    c->last_size = size;
  }
  return p;
}

static void *count_realloc(void *ptr, size_t size, void *user)
{
  counting *c = user;
  void *p;

  if (c->fail)
    return NULL;
  p = realloc(ptr, size);
  if (p)
    c->reallocs++;
  return p;
}

static void count_free(void *ptr, void *user)
{
  counting *c = user;
  if (ptr)
    c->frees++;
  free(ptr);
}

/* A log callback that records what it was given. */
typedef struct logrec {
  unsigned calls;
  sipsrv_log_level level;
  void *user;
  size_t len;
  char msg[4096];
} logrec;

static void rec_cb(sipsrv_log_level level, const char *msg, void *user)
{
  logrec *r = user;
  r->calls++;
  r->level = level;
  r->user = user;
  r->len = strlen(msg);
  /* msg is valid only until we return: keep a copy. */
  snprintf(r->msg, sizeof r->msg, "%s", msg);
}

/* A pointer no constructor returns: an out-pointer still holding it was not written. */
static char sentinel_byte;

static sipsrv_core *sentinel_core(void)
{
  return (sipsrv_core *)(void *)&sentinel_byte;
}

static sipsrv_core *new_logging_core(logrec *r, sipsrv_log_level level)
{
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_core *core = NULL;

  cfg.log_cb = rec_cb;
  cfg.log_user = r;
  cfg.log_level = level;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), 0);
  ck_assert_ptr_nonnull(core);
  return core;
}

/* ---- sipsrv_strerror --------------------------------------------------- */

static const int all_errors[] = {
  SIPSRV_E_INVAL, SIPSRV_E_NOMEM, SIPSRV_E_PARSE, SIPSRV_E_AGAIN, SIPSRV_E_TOOBIG,
  SIPSRV_E_NOTFOUND, SIPSRV_E_EXISTS, SIPSRV_E_STATE, SIPSRV_E_NOTSUP,
  SIPSRV_E_VERSION, SIPSRV_E_IO, SIPSRV_E_TIMEOUT, SIPSRV_E_STORE, SIPSRV_E_CLOSED,
};
#define N_ERRORS (sizeof all_errors / sizeof all_errors[0])

START_TEST(core_strerror_codes_distinct)
{
  for (size_t i = 0; i < N_ERRORS; i++) {
    const char *s = sipsrv_strerror(all_errors[i]);
    ck_assert_ptr_nonnull(s);
    ck_assert_msg(s[0] != '\0', "empty string for %d", all_errors[i]);
    ck_assert_msg(strcmp(s, "unknown error") != 0, "code %d is unknown", all_errors[i]);
    ck_assert_msg(strcmp(s, "success") != 0, "code %d reads as success", all_errors[i]);
    for (size_t j = 0; j < i; j++)
      ck_assert_msg(strcmp(s, sipsrv_strerror(all_errors[j])) != 0,
                    "codes %d and %d share \"%s\"", all_errors[i], all_errors[j], s);
  }
}
END_TEST

START_TEST(core_strerror_success)
{
  ck_assert_str_eq(sipsrv_strerror(0), "success");
  ck_assert_str_eq(sipsrv_strerror(SIPSRV_OK), "success");
}
END_TEST

START_TEST(core_strerror_unknown)
{
  ck_assert_str_eq(sipsrv_strerror(1), "unknown error");
  ck_assert_str_eq(sipsrv_strerror(-999), "unknown error");
}
END_TEST

/* ---- version ----------------------------------------------------------- */

START_TEST(core_version_string)
{
  ck_assert_ptr_nonnull(sipsrv_version());
  ck_assert_str_eq(sipsrv_version(), SIPSRV_VERSION_STRING);
}
END_TEST

START_TEST(core_version_number)
{
  ck_assert_uint_eq(sipsrv_version_number(), (unsigned)SIPSRV_VERSION_NUMBER);
}
END_TEST

START_TEST(core_version_number_matches_parts)
{
  unsigned n = sipsrv_version_number();

  ck_assert_int_ge(SIPSRV_VERSION_MAJOR, 0);
  ck_assert_int_ge(SIPSRV_VERSION_MINOR, 0);
  ck_assert_int_lt(SIPSRV_VERSION_MINOR, 256);
  ck_assert_int_ge(SIPSRV_VERSION_PATCH, 0);
  ck_assert_int_lt(SIPSRV_VERSION_PATCH, 256);
  ck_assert_uint_eq(n >> 16, (unsigned)SIPSRV_VERSION_MAJOR);
  ck_assert_uint_eq((n >> 8) & 0xffu, (unsigned)SIPSRV_VERSION_MINOR);
  ck_assert_uint_eq(n & 0xffu, (unsigned)SIPSRV_VERSION_PATCH);
}
END_TEST

START_TEST(core_version_string_matches_parts)
{
  char buf[64];
  snprintf(buf, sizeof buf, "%d.%d.%d", SIPSRV_VERSION_MAJOR, SIPSRV_VERSION_MINOR,
           SIPSRV_VERSION_PATCH);
  ck_assert_str_eq(buf, SIPSRV_VERSION_STRING);
  ck_assert_str_eq(buf, sipsrv_version());
}
END_TEST

/* ---- log levels -------------------------------------------------------- */

static const struct {
  sipsrv_log_level level;
  const char *name, *upper, *digit;
} level_names[] = {
  { SIPSRV_LOG_NONE, "none", "NONE", "0" },
  { SIPSRV_LOG_ERROR, "error", "ERROR", "1" },
  { SIPSRV_LOG_WARN, "warn", "WARN", "2" },
  { SIPSRV_LOG_INFO, "info", "INFO", "3" },
  { SIPSRV_LOG_DEBUG, "debug", "DEBUG", "4" },
  { SIPSRV_LOG_TRACE, "trace", "TRACE", "5" },
};
#define N_LEVELS (sizeof level_names / sizeof level_names[0])

START_TEST(core_loglevel_name_each)
{
  for (size_t i = 0; i < N_LEVELS; i++)
    ck_assert_str_eq(sipsrv_log_level_name(level_names[i].level), level_names[i].name);
}
END_TEST

START_TEST(core_loglevel_name_out_of_range)
{
  ck_assert_str_eq(sipsrv_log_level_name((sipsrv_log_level)6), "unknown");
  ck_assert_str_eq(sipsrv_log_level_name((sipsrv_log_level)42), "unknown");
  ck_assert_str_eq(sipsrv_log_level_name((sipsrv_log_level)-1), "unknown");
}
END_TEST

START_TEST(core_loglevel_parse_names)
{
  for (size_t i = 0; i < N_LEVELS; i++)
    ck_assert_int_eq(sipsrv_log_level_parse(level_names[i].name), (int)level_names[i].level);
}
END_TEST

START_TEST(core_loglevel_parse_upper)
{
  for (size_t i = 0; i < N_LEVELS; i++)
    ck_assert_int_eq(sipsrv_log_level_parse(level_names[i].upper), (int)level_names[i].level);
  ck_assert_int_eq(sipsrv_log_level_parse("Debug"), SIPSRV_LOG_DEBUG);
}
END_TEST

START_TEST(core_loglevel_parse_digits)
{
  for (size_t i = 0; i < N_LEVELS; i++)
    ck_assert_int_eq(sipsrv_log_level_parse(level_names[i].digit), (int)level_names[i].level);
}
END_TEST

START_TEST(core_loglevel_parse_warning)
{
  ck_assert_int_eq(sipsrv_log_level_parse("warning"), SIPSRV_LOG_WARN);
  ck_assert_int_eq(sipsrv_log_level_parse("WARNING"), SIPSRV_LOG_WARN);
}
END_TEST

START_TEST(core_loglevel_parse_invalid)
{
  ck_assert_int_eq(sipsrv_log_level_parse(""), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_log_level_parse(NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_log_level_parse("6"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_log_level_parse("loud"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_log_level_parse("-1"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_log_level_parse("10"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_log_level_parse("debugx"), SIPSRV_E_INVAL);
}
END_TEST

/* ---- the core object --------------------------------------------------- */

START_TEST(core_new_null_out)
{
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  ck_assert_int_eq(sipsrv_core_new(NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_new(NULL, &cfg), SIPSRV_E_INVAL);
}
END_TEST

START_TEST(core_new_default_cfg)
{
  sipsrv_core *core = NULL;
  ck_assert_int_eq(sipsrv_core_new(&core, NULL), 0);
  ck_assert_ptr_nonnull(core);
  sipsrv_core_free(core);
}
END_TEST

START_TEST(core_new_init_cfg)
{
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_core *core = NULL;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), 0);
  ck_assert_ptr_nonnull(core);
  sipsrv_core_free(core);
}
END_TEST

START_TEST(core_new_bad_version)
{
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_core *core = sentinel_core();

  cfg.version = 999;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), SIPSRV_E_VERSION);
  ck_assert_ptr_eq(core, sentinel_core());
  cfg.version = 0;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), SIPSRV_E_VERSION);
  ck_assert_ptr_eq(core, sentinel_core());
}
END_TEST

START_TEST(core_new_bad_level)
{
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_core *core = sentinel_core();

  cfg.log_level = (sipsrv_log_level)42;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), SIPSRV_E_INVAL);
  ck_assert_ptr_eq(core, sentinel_core());
}
END_TEST

START_TEST(core_new_alloc_null_slot)
{
  counting cnt = { 0 };
  sipsrv_allocator full = { count_malloc, count_realloc, count_free, &cnt };
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_core *core = sentinel_core();
  sipsrv_allocator a;

  cfg.alloc = &a;
  a = full;
  a.malloc_fn = NULL;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), SIPSRV_E_INVAL);
  a = full;
  a.realloc_fn = NULL;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), SIPSRV_E_INVAL);
  a = full;
  a.free_fn = NULL;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), SIPSRV_E_INVAL);
  ck_assert_ptr_eq(core, sentinel_core());
  ck_assert_uint_eq(cnt.mallocs, 0);
}
END_TEST

START_TEST(core_new_alloc_counting)
{
  counting cnt = { 0 };
  sipsrv_allocator a = { count_malloc, count_realloc, count_free, &cnt };
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_core *core = NULL;

  cfg.alloc = &a;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), 0);
  ck_assert_ptr_nonnull(core);
  ck_assert_uint_ge(cnt.mallocs, 1);
  ck_assert_uint_eq(cnt.frees, 0);
  /* The allocator is copied: the caller's struct may go away. */
  memset(&a, 0, sizeof a);
  sipsrv_core_free(core);
  ck_assert_uint_eq(cnt.frees, cnt.mallocs);
}
END_TEST

START_TEST(core_new_alloc_fails)
{
  counting cnt = { 0 };
  sipsrv_allocator a = { count_malloc, count_realloc, count_free, &cnt };
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_core *core = sentinel_core();

  cnt.fail = 1;
  cfg.alloc = &a;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), SIPSRV_E_NOMEM);
  ck_assert_ptr_eq(core, sentinel_core());
  ck_assert_uint_eq(cnt.mallocs, 0);
  ck_assert_uint_eq(cnt.frees, 0);
}
END_TEST

START_TEST(core_free_null)
{
  sipsrv_core_free(NULL);
}
END_TEST

START_TEST(core_setlog_null_core)
{
  logrec r = { 0 };
  ck_assert_int_eq(sipsrv_core_set_log(NULL, rec_cb, SIPSRV_LOG_TRACE, &r), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_set_log(NULL, NULL, SIPSRV_LOG_NONE, NULL), SIPSRV_E_INVAL);
}
END_TEST

START_TEST(core_setlog_bad_level)
{
  logrec r = { 0 };
  sipsrv_core *core = new_logging_core(&r, SIPSRV_LOG_WARN);

  ck_assert_int_eq(sipsrv_core_set_log(core, rec_cb, (sipsrv_log_level)42, &r), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_set_log(core, rec_cb, (sipsrv_log_level)6, &r), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_core_set_log(core, rec_cb, (sipsrv_log_level)-1, &r), SIPSRV_E_INVAL);
  /* A refused call leaves the old settings in place. */
  ss_log(core, SIPSRV_LOG_WARN, "still %s", "here");
  ck_assert_uint_eq(r.calls, 1);
  ck_assert_str_eq(r.msg, "still here");
  ck_assert(!ss_log_enabled(core, SIPSRV_LOG_INFO));
  sipsrv_core_free(core);
}
END_TEST

START_TEST(core_setlog_ok)
{
  logrec r = { 0 };
  sipsrv_core *core = NULL;

  ck_assert_int_eq(sipsrv_core_new(&core, NULL), 0);
  ck_assert_int_eq(sipsrv_core_set_log(core, rec_cb, SIPSRV_LOG_DEBUG, &r), 0);
  ss_log(core, SIPSRV_LOG_DEBUG, "d%d", 1);
  ck_assert_uint_eq(r.calls, 1);
  ck_assert_int_eq(r.level, SIPSRV_LOG_DEBUG);
  ck_assert_str_eq(r.msg, "d1");
  ck_assert_int_eq(sipsrv_core_set_log(core, NULL, SIPSRV_LOG_TRACE, NULL), 0);
  ss_log(core, SIPSRV_LOG_ERROR, "gone");
  ck_assert_uint_eq(r.calls, 1);
  sipsrv_core_free(core);
}
END_TEST

/* ---- ss_log ------------------------------------------------------------ */

START_TEST(core_log_above_level_dropped)
{
  logrec r = { 0 };
  sipsrv_core *core = new_logging_core(&r, SIPSRV_LOG_WARN);

  ss_log(core, SIPSRV_LOG_INFO, "info %d", 1);
  ss_log(core, SIPSRV_LOG_DEBUG, "debug %d", 2);
  ss_log(core, SIPSRV_LOG_TRACE, "trace %d", 3);
  ck_assert_uint_eq(r.calls, 0);
  sipsrv_core_free(core);
}
END_TEST

START_TEST(core_log_at_level_delivered)
{
  logrec r = { 0 };
  sipsrv_core *core = new_logging_core(&r, SIPSRV_LOG_WARN);

  ss_log(core, SIPSRV_LOG_WARN, "bad %s from %d", "Via", 42);
  ck_assert_uint_eq(r.calls, 1);
  ck_assert_int_eq(r.level, SIPSRV_LOG_WARN);
  ck_assert_str_eq(r.msg, "bad Via from 42");
  ck_assert_ptr_eq(r.user, &r);

  ss_log(core, SIPSRV_LOG_ERROR, "e%c", '!');
  ck_assert_uint_eq(r.calls, 2);
  ck_assert_int_eq(r.level, SIPSRV_LOG_ERROR);
  ck_assert_str_eq(r.msg, "e!");
  ck_assert_ptr_eq(r.user, &r);
  sipsrv_core_free(core);
}
END_TEST

START_TEST(core_log_trace_all)
{
  logrec r = { 0 };
  sipsrv_core *core = new_logging_core(&r, SIPSRV_LOG_TRACE);

  for (int l = SIPSRV_LOG_ERROR; l <= SIPSRV_LOG_TRACE; l++) {
    ss_log(core, (sipsrv_log_level)l, "level %d", l);
    ck_assert_uint_eq(r.calls, (unsigned)l);
    ck_assert_int_eq(r.level, l);
  }
  ck_assert_str_eq(r.msg, "level 5");
  /* A message is never passed at level NONE. */
  ss_log(core, SIPSRV_LOG_NONE, "none");
  ck_assert_uint_eq(r.calls, 5);
  sipsrv_core_free(core);
}
END_TEST

START_TEST(core_log_null_cb)
{
  logrec r = { 0 };
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_core *core = NULL;

  cfg.log_cb = NULL;
  cfg.log_user = &r;
  cfg.log_level = SIPSRV_LOG_TRACE;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), 0);
  ck_assert(!ss_log_enabled(core, SIPSRV_LOG_ERROR));
  ss_log(core, SIPSRV_LOG_ERROR, "nobody hears %d", 1);
  ck_assert_uint_eq(r.calls, 0);
  sipsrv_core_free(core);
}
END_TEST

START_TEST(core_log_level_none)
{
  logrec r = { 0 };
  sipsrv_core *core = new_logging_core(&r, SIPSRV_LOG_NONE);

  for (int l = SIPSRV_LOG_NONE; l <= SIPSRV_LOG_TRACE; l++) {
    ck_assert(!ss_log_enabled(core, (sipsrv_log_level)l));
    ss_log(core, (sipsrv_log_level)l, "level %d", l);
  }
  ck_assert_uint_eq(r.calls, 0);
  sipsrv_core_free(core);
}
END_TEST

START_TEST(core_log_long_truncated)
{
  logrec r = { 0 };
  sipsrv_core *core = new_logging_core(&r, SIPSRV_LOG_TRACE);
  char *big = malloc(2001);

  ck_assert_ptr_nonnull(big);
  memset(big, 'x', 2000);
  big[2000] = '\0';
  memset(r.msg, 'Z', sizeof r.msg);
  ss_log(core, SIPSRV_LOG_ERROR, "%s", big);
  ck_assert_uint_eq(r.calls, 1);
  /* Delivered, NUL-terminated, shorter than the input, and a prefix of it. */
  ck_assert_uint_gt(r.len, 0);
  ck_assert_uint_lt(r.len, 2000);
  ck_assert_int_eq(memcmp(r.msg, big, r.len), 0);
  ck_assert_int_eq(r.msg[r.len], '\0');

  /* Also with text around the long argument. */
  ss_log(core, SIPSRV_LOG_ERROR, "head %s tail %d", big, 7);
  ck_assert_uint_eq(r.calls, 2);
  ck_assert_uint_lt(r.len, 2000);
  ck_assert_int_eq(strncmp(r.msg, "head xxx", 8), 0);
  free(big);
  sipsrv_core_free(core);
}
END_TEST

START_TEST(core_log_default_core_silent)
{
  sipsrv_core *core = NULL;

  ck_assert_int_eq(sipsrv_core_new(&core, NULL), 0);
  for (int l = SIPSRV_LOG_NONE; l <= SIPSRV_LOG_TRACE; l++) {
    ck_assert(!ss_log_enabled(core, (sipsrv_log_level)l));
    ss_log(core, (sipsrv_log_level)l, "level %d", l);
  }
  sipsrv_core_free(core);
}
END_TEST

START_TEST(core_log_null_core)
{
  ck_assert(!ss_log_enabled(NULL, SIPSRV_LOG_ERROR));
  ss_log(NULL, SIPSRV_LOG_ERROR, "no core %d", 0);
}
END_TEST

START_TEST(core_log_enabled_matches)
{
  logrec r = { 0 };
  sipsrv_core *core = new_logging_core(&r, SIPSRV_LOG_INFO);

  for (int l = SIPSRV_LOG_NONE; l <= SIPSRV_LOG_TRACE; l++) {
    unsigned before = r.calls;
    int enabled = ss_log_enabled(core, (sipsrv_log_level)l);
    ck_assert_int_eq(enabled != 0, l >= SIPSRV_LOG_ERROR && l <= SIPSRV_LOG_INFO);
    ss_log(core, (sipsrv_log_level)l, "l%d", l);
    ck_assert_uint_eq(r.calls - before, enabled ? 1u : 0u);
  }
  sipsrv_core_free(core);
}
END_TEST

/* ---- ss_alloc / ss_zalloc / ss_free ------------------------------------ */

static sipsrv_core *new_counting_core(counting *cnt)
{
  sipsrv_allocator a = { count_malloc, count_realloc, count_free, cnt };
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_core *core = NULL;

  cfg.alloc = &a;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), 0);
  return core;
}

START_TEST(core_alloc_uses_allocator)
{
  counting cnt = { 0 };
  sipsrv_core *core = new_counting_core(&cnt);
  unsigned m0 = cnt.mallocs, f0 = cnt.frees;
  char *p = ss_alloc(core, 100);

  ck_assert_ptr_nonnull(p);
  ck_assert_uint_eq(cnt.mallocs, m0 + 1);
  ck_assert_uint_eq(cnt.last_size, 100);
  memset(p, 1, 100);
  ss_free(core, p);
  ck_assert_uint_eq(cnt.frees, f0 + 1);
  sipsrv_core_free(core);
  ck_assert_uint_eq(cnt.frees, cnt.mallocs);
}
END_TEST

START_TEST(core_alloc_zero_size)
{
  counting cnt = { 0 };
  sipsrv_core *core = new_counting_core(&cnt);
  void *p = ss_alloc(core, 0);

  /* Size 0 still yields a pointer that can be freed. */
  ck_assert_ptr_nonnull(p);
  ss_free(core, p);
  sipsrv_core_free(core);
  ck_assert_uint_eq(cnt.frees, cnt.mallocs);
}
END_TEST

START_TEST(core_alloc_zalloc_zeroes)
{
  counting cnt = { 0 };
  sipsrv_core *core = new_counting_core(&cnt);
  unsigned m0 = cnt.mallocs;
  unsigned char *p = ss_zalloc(core, 257);

  ck_assert_ptr_nonnull(p);
  ck_assert_uint_eq(cnt.mallocs, m0 + 1);
  /* count_malloc poisons with 0xA5; ss_zalloc must clear every byte. */
  for (size_t i = 0; i < 257; i++)
    ck_assert_uint_eq(p[i], 0);
  ss_free(core, p);
  sipsrv_core_free(core);
  ck_assert_uint_eq(cnt.frees, cnt.mallocs);
}
END_TEST

START_TEST(core_alloc_fails)
{
  counting cnt = { 0 };
  sipsrv_core *core = new_counting_core(&cnt);

  cnt.fail = 1;
  ck_assert_ptr_null(ss_alloc(core, 10));
  ck_assert_ptr_null(ss_zalloc(core, 10));
  cnt.fail = 0;
  sipsrv_core_free(core);
  ck_assert_uint_eq(cnt.frees, cnt.mallocs);
}
END_TEST

START_TEST(core_alloc_free_null)
{
  counting cnt = { 0 };
  sipsrv_core *core = new_counting_core(&cnt);
  unsigned f0 = cnt.frees;

  ss_free(core, NULL);
  ck_assert_uint_eq(cnt.frees, f0);
  sipsrv_core_free(core);
}
END_TEST

START_TEST(core_alloc_null_core)
{
  /* Without a core the C library's allocator is used. */
  char *p = ss_zalloc(NULL, 16);
  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(p[15], 0);
  ss_free(NULL, p);
  ss_free(NULL, NULL);
}
END_TEST

/* ---- the timer wheel (lib/core/timer.c) -------------------------------- */

/* A timer of a test, with what happened to it. The callback appends its id
 * to a shared log so that a test sees the firing order. */
typedef struct tlog {
  int order[64];
  size_t n;
} tlog;

typedef struct ttimer {
  ss_timer t;
  int id;
  unsigned fired;
  tlog *log;
  ss_timers *ts;
  uint64_t now;             /* the time passed to the expire that runs it */
  /* What the callback does besides logging. */
  struct ttimer *start_other;   /* start this one ... */
  uint64_t start_when;          /* ... for this time */
  struct ttimer *stop_other;    /* stop this one */
  bool armed_in_cb;             /* ss_timer_armed(t) seen inside the callback */
} ttimer;

static void ttimer_fn(ss_timer *t, void *arg)
{
  ttimer *tt = arg;

  ck_assert_ptr_eq(t, &tt->t);
  tt->fired++;
  tt->armed_in_cb = ss_timer_armed(t);
  if (tt->log && tt->log->n < sizeof tt->log->order / sizeof tt->log->order[0])
    tt->log->order[tt->log->n++] = tt->id;
  if (tt->start_other)
    ck_assert_int_eq(ss_timer_start(tt->ts, &tt->start_other->t, tt->start_when, ttimer_fn,
                                     tt->start_other), 0);
  if (tt->stop_other)
    ss_timer_stop(tt->ts, &tt->stop_other->t);
}

static void ttimers_init(ttimer *tt, size_t n, ss_timers *ts, tlog *log)
{
  memset(tt, 0, n * sizeof *tt);
  for (size_t i = 0; i < n; i++) {
    ss_timer_init(&tt[i].t);
    tt[i].id = (int)i;
    tt[i].log = log;
    tt[i].ts = ts;
  }
}

static void tstart(ss_timers *ts, ttimer *tt, uint64_t when)
{
  ck_assert_int_eq(ss_timer_start(ts, &tt->t, when, ttimer_fn, tt), 0);
  ck_assert(ss_timer_armed(&tt->t));
}

START_TEST(core_timer_init_null_core)
{
  ss_timers ts;
  uint64_t when = 77;

  ss_timers_init(&ts, NULL);
  ck_assert_uint_eq(ts.n, 0);
  ck_assert_int_eq(ss_timers_next(&ts, &when), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(ss_timers_expire(&ts, UINT64_MAX), 0);
  ss_timers_fini(&ts);
  ss_timers_fini(&ts);          /* twice is harmless */
}
END_TEST

START_TEST(core_timer_order_deadline)
{
  static const uint64_t when[] = { 30, 10, 20, 50, 40, 15, 45, 5 };
  static const int want[] = { 7, 1, 5, 2, 0, 4, 6, 3 };
  ss_timers ts;
  tlog log = { { 0 }, 0 };
  ttimer tt[8];

  ss_timers_init(&ts, NULL);
  ttimers_init(tt, 8, &ts, &log);
  for (size_t i = 0; i < 8; i++)
    tstart(&ts, &tt[i], when[i]);
  ck_assert_int_eq(ss_timers_expire(&ts, 100), 8);
  ck_assert_uint_eq(log.n, 8);
  for (size_t i = 0; i < 8; i++) {
    ck_assert_int_eq(log.order[i], want[i]);
    ck_assert_uint_eq(tt[i].fired, 1);
    ck_assert(!ss_timer_armed(&tt[i].t));
  }
  ss_timers_fini(&ts);
}
END_TEST

START_TEST(core_timer_order_equal_start)
{
  ss_timers ts;
  tlog log = { { 0 }, 0 };
  ttimer tt[6];

  ss_timers_init(&ts, NULL);
  ttimers_init(tt, 6, &ts, &log);
  /* Equal deadlines fire in start order, whatever the heap's shape. */
  for (size_t i = 0; i < 5; i++)
    tstart(&ts, &tt[i], 10);
  tstart(&ts, &tt[5], 9);
  /* A re-start counts as a new start: 0 goes after 4. */
  tstart(&ts, &tt[0], 10);
  ck_assert_int_eq(ss_timers_expire(&ts, 10), 6);
  ck_assert_uint_eq(log.n, 6);
  ck_assert_int_eq(log.order[0], 5);
  ck_assert_int_eq(log.order[1], 1);
  ck_assert_int_eq(log.order[2], 2);
  ck_assert_int_eq(log.order[3], 3);
  ck_assert_int_eq(log.order[4], 4);
  ck_assert_int_eq(log.order[5], 0);
  ss_timers_fini(&ts);
}
END_TEST

/* Start 15 timers at 10, 20, ... 150 (in two levels of the wheel: 10-60 in
 * the first, 70-150 in the second), stop the one at 10 * (slot + 1), and
 * check that every other one fires in order and the stopped one does not. */
static void stop_at_slot(size_t slot)
{
  ss_timers ts;
  tlog log = { { 0 }, 0 };
  ttimer tt[15], *victim;
  int last = -1;

  ss_timers_init(&ts, NULL);
  ttimers_init(tt, 15, &ts, &log);
  /* Start in a shuffled order, so that no list is simply sorted. */
  for (size_t i = 0; i < 15; i++) {
    size_t k = (i * 7) % 15;
    tstart(&ts, &tt[k], 10 * (uint64_t)(k + 1));
  }
  ck_assert_uint_eq(ts.n, 15);
  ck_assert_uint_lt(slot, ts.n);
  victim = &tt[slot];
  ss_timer_stop(&ts, &victim->t);
  ck_assert(!ss_timer_armed(&victim->t));
  ck_assert_uint_eq(ts.n, 14);
  /* Stopping again, or stopping a timer never started, changes nothing. */
  ss_timer_stop(&ts, &victim->t);
  ck_assert_uint_eq(ts.n, 14);

  ck_assert_int_eq(ss_timers_expire(&ts, 1000), 14);
  ck_assert_uint_eq(log.n, 14);
  ck_assert_uint_eq(ts.n, 0);
  ck_assert_uint_eq(victim->fired, 0);
  for (size_t i = 0; i < log.n; i++) {
    ck_assert_int_ne(log.order[i], victim->id);
    ck_assert_int_gt(log.order[i], last);
    last = log.order[i];
  }
  ss_timers_fini(&ts);
}

START_TEST(core_timer_stop_first)
{
  stop_at_slot(0);
}
END_TEST

START_TEST(core_timer_stop_middle)
{
  stop_at_slot(1);
  stop_at_slot(2);
  stop_at_slot(5);
  stop_at_slot(6);
  stop_at_slot(7);
  stop_at_slot(9);
}
END_TEST

START_TEST(core_timer_stop_last)
{
  stop_at_slot(14);
}
END_TEST

START_TEST(core_timer_stop_not_armed)
{
  ss_timers ts, other;
  ttimer tt[2];

  ss_timers_init(&ts, NULL);
  ss_timers_init(&other, NULL);
  ttimers_init(tt, 2, &ts, NULL);
  ss_timer_stop(&ts, &tt[0].t);               /* never started: no-op */
  ck_assert(!ss_timer_armed(&tt[0].t));
  tstart(&ts, &tt[0], 10);
  tstart(&other, &tt[1], 10);
  /* A timer armed in another heap is left alone. */
  ss_timer_stop(&ts, &tt[1].t);
  ck_assert(ss_timer_armed(&tt[1].t));
  ck_assert_uint_eq(ts.n, 1);
  ck_assert_uint_eq(other.n, 1);
  ck_assert_int_eq(ss_timers_expire(&other, 10), 1);
  ck_assert_uint_eq(tt[1].fired, 1);
  ck_assert_int_eq(ss_timers_expire(&ts, 10), 1);
  ck_assert_uint_eq(tt[0].fired, 1);
  ss_timers_fini(&ts);
  ss_timers_fini(&other);
}
END_TEST

START_TEST(core_timer_restart_rearms)
{
  ss_timers ts;
  ttimer tt[2];
  uint64_t when = 0;

  ss_timers_init(&ts, NULL);
  ttimers_init(tt, 2, &ts, NULL);
  /* Later: fires once, at the new time. */
  tstart(&ts, &tt[0], 10);
  tstart(&ts, &tt[0], 50);
  ck_assert_uint_eq(ts.n, 1);
  ck_assert_int_eq(ss_timers_next(&ts, &when), 0);
  ck_assert_uint_eq(when, 50);
  ck_assert_int_eq(ss_timers_expire(&ts, 10), 0);
  ck_assert_int_eq(ss_timers_expire(&ts, 49), 0);
  ck_assert_uint_eq(tt[0].fired, 0);
  ck_assert_int_eq(ss_timers_expire(&ts, 50), 1);
  ck_assert_uint_eq(tt[0].fired, 1);
  ck_assert_int_eq(ss_timers_expire(&ts, 1000), 0);
  ck_assert_uint_eq(tt[0].fired, 1);

  /* Earlier: fires at the new time, and not again at the old one. */
  tstart(&ts, &tt[1], 2000);
  tstart(&ts, &tt[1], 1500);
  ck_assert_int_eq(ss_timers_next(&ts, &when), 0);
  ck_assert_uint_eq(when, 1500);
  ck_assert_int_eq(ss_timers_expire(&ts, 1500), 1);
  ck_assert_int_eq(ss_timers_expire(&ts, 2000), 0);
  ck_assert_uint_eq(tt[1].fired, 1);

  /* Re-armed from its own callback: fires again, once per due time. */
  tt[1].start_other = &tt[1];
  tt[1].start_when = 2100;
  tstart(&ts, &tt[1], 2050);
  ck_assert_int_eq(ss_timers_expire(&ts, 2050), 1);
  ck_assert(ss_timer_armed(&tt[1].t));
  tt[1].start_other = NULL;
  ck_assert_int_eq(ss_timers_expire(&ts, 2100), 1);
  ck_assert_uint_eq(tt[1].fired, 3);
  ck_assert(!ss_timer_armed(&tt[1].t));
  ss_timers_fini(&ts);
}
END_TEST

START_TEST(core_timer_next_earliest)
{
  ss_timers ts;
  ttimer tt[3];
  uint64_t when = 0;

  ss_timers_init(&ts, NULL);
  ttimers_init(tt, 3, &ts, NULL);
  ck_assert_int_eq(ss_timers_next(&ts, &when), SIPSRV_E_NOTFOUND);
  tstart(&ts, &tt[0], 300);
  ck_assert_int_eq(ss_timers_next(&ts, &when), 0);
  ck_assert_uint_eq(when, 300);
  tstart(&ts, &tt[1], 100);
  tstart(&ts, &tt[2], 200);
  ck_assert_int_eq(ss_timers_next(&ts, &when), 0);
  ck_assert_uint_eq(when, 100);
  ss_timer_stop(&ts, &tt[1].t);
  ck_assert_int_eq(ss_timers_next(&ts, &when), 0);
  ck_assert_uint_eq(when, 200);
  ck_assert_int_eq(ss_timers_expire(&ts, 200), 1);
  ck_assert_int_eq(ss_timers_next(&ts, &when), 0);
  ck_assert_uint_eq(when, 300);
  ck_assert_int_eq(ss_timers_expire(&ts, 300), 1);
  ck_assert_int_eq(ss_timers_next(&ts, &when), SIPSRV_E_NOTFOUND);
  /* Deadline 0 and the largest one are deadlines like the others. */
  tstart(&ts, &tt[0], UINT64_MAX);
  tstart(&ts, &tt[1], 0);
  ck_assert_int_eq(ss_timers_next(&ts, &when), 0);
  ck_assert_uint_eq(when, 0);
  ck_assert_int_eq(ss_timers_expire(&ts, 0), 1);
  ck_assert_int_eq(ss_timers_next(&ts, &when), 0);
  ck_assert(when == UINT64_MAX);
  ck_assert_int_eq(ss_timers_expire(&ts, UINT64_MAX), 1);
  ss_timers_fini(&ts);
}
END_TEST

START_TEST(core_timer_expire_due_only)
{
  ss_timers ts;
  tlog log = { { 0 }, 0 };
  ttimer tt[4];

  ss_timers_init(&ts, NULL);
  ttimers_init(tt, 4, &ts, &log);
  tstart(&ts, &tt[0], 10);
  tstart(&ts, &tt[1], 20);
  tstart(&ts, &tt[2], 20);
  tstart(&ts, &tt[3], 30);
  ck_assert_int_eq(ss_timers_expire(&ts, 0), 0);
  ck_assert_int_eq(ss_timers_expire(&ts, 9), 0);
  ck_assert_uint_eq(log.n, 0);
  ck_assert_int_eq(ss_timers_expire(&ts, 20), 3);   /* deadline == now is due */
  ck_assert_uint_eq(log.n, 3);
  ck_assert(!ss_timer_armed(&tt[0].t));
  ck_assert(!ss_timer_armed(&tt[2].t));
  ck_assert(ss_timer_armed(&tt[3].t));
  ck_assert_int_eq(ss_timers_expire(&ts, 29), 0);
  ck_assert_int_eq(ss_timers_expire(&ts, 31), 1);
  ck_assert_int_eq(ss_timers_expire(&ts, 1000), 0);
  ck_assert_uint_eq(log.n, 4);
  for (size_t i = 0; i < 4; i++)
    ck_assert_uint_eq(tt[i].fired, 1);
  ss_timers_fini(&ts);
}
END_TEST

START_TEST(core_timer_callback_starts_due)
{
  ss_timers ts;
  tlog log = { { 0 }, 0 };
  ttimer tt[4];

  ss_timers_init(&ts, NULL);
  ttimers_init(tt, 4, &ts, &log);
  /* 0 (due at 10) starts 1 for 20, which is now: 1 fires in this call,
   * after 3, already due at 20 and started first. 1 then starts 2 for 15,
   * a time already past: it fires in this call too. */
  tt[0].start_other = &tt[1];
  tt[0].start_when = 20;
  tt[1].start_other = &tt[2];
  tt[1].start_when = 15;
  tstart(&ts, &tt[0], 10);
  tstart(&ts, &tt[3], 20);
  ck_assert_int_eq(ss_timers_expire(&ts, 20), 4);
  ck_assert_uint_eq(log.n, 4);
  ck_assert_int_eq(log.order[0], 0);
  ck_assert_int_eq(log.order[1], 3);
  ck_assert_int_eq(log.order[2], 1);
  ck_assert_int_eq(log.order[3], 2);
  ck_assert_int_eq(ss_timers_next(&ts, &tt[0].now), SIPSRV_E_NOTFOUND);

  /* One started for later than now waits. */
  log.n = 0;
  tt[0].start_when = 21;
  tt[1].start_other = NULL;
  tstart(&ts, &tt[0], 20);
  ck_assert_int_eq(ss_timers_expire(&ts, 20), 1);
  ck_assert(ss_timer_armed(&tt[1].t));
  ck_assert_int_eq(ss_timers_expire(&ts, 21), 1);
  ck_assert_uint_eq(tt[1].fired, 2);
  ss_timers_fini(&ts);
}
END_TEST

START_TEST(core_timer_callback_stops_later)
{
  ss_timers ts;
  tlog log = { { 0 }, 0 };
  ttimer tt[4];

  ss_timers_init(&ts, NULL);
  ttimers_init(tt, 4, &ts, &log);
  /* 0 stops 1 (same deadline, started later) and 1 would stop 2; 3 stays. */
  tt[0].stop_other = &tt[1];
  tt[1].stop_other = &tt[2];
  tstart(&ts, &tt[0], 10);
  tstart(&ts, &tt[1], 10);
  tstart(&ts, &tt[2], 15);
  tstart(&ts, &tt[3], 15);
  ck_assert_int_eq(ss_timers_expire(&ts, 20), 3);
  ck_assert_uint_eq(tt[0].fired, 1);
  ck_assert_uint_eq(tt[1].fired, 0);
  ck_assert_uint_eq(tt[2].fired, 1);
  ck_assert_uint_eq(tt[3].fired, 1);
  ck_assert(!ss_timer_armed(&tt[1].t));

  /* A callback stopping itself (already disarmed) is harmless. */
  tt[0].stop_other = &tt[0];
  tstart(&ts, &tt[0], 30);
  tstart(&ts, &tt[3], 30);
  ck_assert_int_eq(ss_timers_expire(&ts, 30), 2);
  ck_assert_uint_eq(tt[3].fired, 2);
  ss_timers_fini(&ts);
}
END_TEST

START_TEST(core_timer_armed_state)
{
  ss_timers ts;
  ttimer tt[1];

  ss_timers_init(&ts, NULL);
  ttimers_init(tt, 1, &ts, NULL);
  ck_assert(!ss_timer_armed(&tt[0].t));
  tstart(&ts, &tt[0], 10);
  ck_assert(ss_timer_armed(&tt[0].t));
  ss_timer_stop(&ts, &tt[0].t);
  ck_assert(!ss_timer_armed(&tt[0].t));
  tstart(&ts, &tt[0], 10);
  tt[0].armed_in_cb = true;
  ck_assert_int_eq(ss_timers_expire(&ts, 10), 1);
  /* Disarmed before its callback runs, so the callback may re-arm it. */
  ck_assert(!tt[0].armed_in_cb);
  ck_assert(!ss_timer_armed(&tt[0].t));
  ss_timers_fini(&ts);
}
END_TEST

/* A pseudo-random generator of the tests' own (xorshift64*), fixed seed. */
static uint64_t rnd_next(uint64_t *s)
{
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545F4914F6CDD1DULL;
}

typedef struct ptimer {
  ss_timer t;
  uint64_t when;
  uint64_t seq;       /* start order */
  bool live;          /* armed and expected to fire */
  unsigned fired;
  struct prop *p;
} ptimer;

typedef struct prop {
  uint64_t now;
  uint64_t seq;       /* starts so far */
  uint64_t last_when, last_seq;
  bool any;
  size_t fired;
  bool ok;
  char why[128];
} prop;

static void ptimer_fn(ss_timer *t, void *arg)
{
  ptimer *pt = arg;
  prop *p = pt->p;

  pt->fired++;
  p->fired++;
  if (!p->ok)
    return;
  if (!pt->live)
    snprintf(p->why, sizeof p->why, "a stopped timer fired (when %llu)",
             (unsigned long long)pt->when);
  else if (t->when != pt->when || t->when > p->now)
    snprintf(p->why, sizeof p->why, "deadline %llu fired at %llu",
             (unsigned long long)t->when, (unsigned long long)p->now);
  else if (p->any && (t->when < p->last_when ||
                      (t->when == p->last_when && pt->seq <= p->last_seq)))
    snprintf(p->why, sizeof p->why, "out of order: %llu after %llu",
             (unsigned long long)t->when, (unsigned long long)p->last_when);
  else {
    p->any = true;
    p->last_when = t->when;
    p->last_seq = pt->seq;
    pt->live = false;
    return;
  }
  p->ok = false;
}

static void pstart(ss_timers *ts, ptimer *pt, uint64_t when)
{
  pt->when = when;
  pt->seq = pt->p->seq++;
  ck_assert_int_eq(ss_timer_start(ts, &pt->t, when, ptimer_fn, pt), 0);
  pt->live = true;
}

/* ss_timers_next()'s answer against the least live deadline: that one, or
 * earlier the start of a higher wheel slot (a multiple of 64 ms) whose
 * earliest timer was stopped. */
static void check_next(uint64_t next, uint64_t least)
{
  ck_assert_msg(next == least || (next < least && next % 64 == 0),
                "next %llu, least deadline %llu", (unsigned long long)next,
                (unsigned long long)least);
}

START_TEST(core_timer_random_property)
{
  enum { N = 10000 };
  ss_timers ts;
  ptimer *pt = calloc(N, sizeof *pt);
  prop p;
  uint64_t seed = 0x5eed5eed12345678ULL, next;
  size_t live = 0;

  ck_assert_ptr_nonnull(pt);
  memset(&p, 0, sizeof p);
  p.ok = true;
  ss_timers_init(&ts, NULL);
  for (size_t i = 0; i < N; i++) {
    ss_timer_init(&pt[i].t);
    pt[i].p = &p;
    /* Deadlines in a small range, so many are equal. */
    pstart(&ts, &pt[i], rnd_next(&seed) % 5000);
    live++;
  }
  ck_assert_uint_eq(ts.n, N);
  /* Stop about a quarter, re-arm about a tenth at a new deadline. */
  for (size_t i = 0; i < N; i++) {
    uint64_t r = rnd_next(&seed) % 40;
    if (r < 10) {
      ss_timer_stop(&ts, &pt[i].t);
      ck_assert(!ss_timer_armed(&pt[i].t));
      pt[i].live = false;
      live--;
    } else if (r < 14) {
      pstart(&ts, &pt[i], rnd_next(&seed) % 5000);
    }
  }
  ck_assert_uint_eq(ts.n, live);
  /* Expire in random steps; the next deadline is the least live one (or a
   * slot start before it, check_next()). */
  while (ss_timers_next(&ts, &next) == 0) {
    uint64_t least = UINT64_MAX;
    size_t due = 0;
    for (size_t i = 0; i < N; i++)
      if (pt[i].live && pt[i].when < least)
        least = pt[i].when;
    check_next(next, least);
    p.now = next + rnd_next(&seed) % 50;
    for (size_t i = 0; i < N; i++)
      due += pt[i].live && pt[i].when <= p.now;
    ck_assert_int_eq(ss_timers_expire(&ts, p.now), (int)due);
    ck_assert_msg(p.ok, "%s", p.why);
    /* Now and then, stop a live timer that is not yet due. */
    for (size_t i = (size_t)(rnd_next(&seed) % N), k = 0; k < 3; k++, i = (i + 977) % N)
      if (pt[i].live) {
        ss_timer_stop(&ts, &pt[i].t);
        pt[i].live = false;
        live--;
      }
  }
  ck_assert_uint_eq(ts.n, 0);
  for (size_t i = 0; i < N; i++) {
    ck_assert(!pt[i].live);
    ck_assert_uint_le(pt[i].fired, 1);
    ck_assert(!ss_timer_armed(&pt[i].t));
  }
  ck_assert_uint_gt(p.fired, N / 2);
  ss_timers_fini(&ts);
  free(pt);
}
END_TEST

START_TEST(core_timer_fini_armed)
{
  ss_timers ts;
  ttimer tt[100];
  uint64_t when;

  ss_timers_init(&ts, NULL);
  ttimers_init(tt, 100, &ts, NULL);
  /* In several levels and slots, and one already due. */
  for (size_t i = 0; i < 99; i++)
    tstart(&ts, &tt[i], 100000 - 997 * i);
  ck_assert_int_eq(ss_timers_expire(&ts, 5), 0);
  tstart(&ts, &tt[99], 1);
  ss_timers_fini(&ts);
  ck_assert_uint_eq(ts.n, 0);
  ck_assert_ptr_null(ss_timers_any(&ts));
  ck_assert_int_eq(ss_timers_next(&ts, &when), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(ss_timers_expire(&ts, UINT64_MAX), 0);
  for (size_t i = 0; i < 100; i++) {
    ck_assert(!ss_timer_armed(&tt[i].t));
    ck_assert_uint_eq(tt[i].fired, 0);
  }
  /* The timers can be started again in a new wheel, and stopping them in
   * the old one (now empty) is a no-op. */
  ss_timer_stop(&ts, &tt[0].t);
  ss_timers_init(&ts, NULL);
  tstart(&ts, &tt[0], 5);
  ck_assert_int_eq(ss_timers_expire(&ts, 5), 1);
  ck_assert_uint_eq(tt[0].fired, 1);
  ss_timers_fini(&ts);
}
END_TEST

/* Timers started for times already passed fire at the next expire by
 * deadline, equal ones in start order, and before any in the wheel. */
START_TEST(core_timer_passed_in_order)
{
  ss_timers ts;
  tlog log = { { 0 }, 0 };
  ttimer tt[6];
  static const uint64_t when[] = { 50, 30, 101, 40, 30, 0 };
  static const int order[] = { 5, 1, 4, 3, 0, 2 };

  ss_timers_init(&ts, NULL);
  ttimers_init(tt, 6, &ts, &log);
  ck_assert_int_eq(ss_timers_expire(&ts, 100), 0);
  for (size_t i = 0; i < 6; i++)
    tstart(&ts, &tt[i], when[i]);
  /* An old time still sees only what was due then. */
  ck_assert_int_eq(ss_timers_expire(&ts, 35), 3);
  ck_assert_int_eq(ss_timers_expire(&ts, 101), 3);
  ck_assert_uint_eq(log.n, 6);
  for (size_t i = 0; i < 6; i++)
    ck_assert_int_eq(log.order[i], order[i]);
  ss_timers_fini(&ts);
}
END_TEST

/* The wheel allocates nothing: starting, moving down and firing 20,000
 * timers over the whole 64-bit range goes through no allocator. */
START_TEST(core_timer_no_allocation)
{
  enum { N = 20000 };
  counting cnt = { 0 };
  sipsrv_core *core = new_counting_core(&cnt);
  unsigned m0 = cnt.mallocs;
  ss_timers ts;
  ttimer *tt = calloc(N, sizeof *tt);
  uint64_t seed = 0xfeedULL, when;
  int fired = 0;

  ck_assert_ptr_nonnull(tt);
  ss_timers_init(&ts, core);
  ttimers_init(tt, N, &ts, NULL);
  cnt.fail = 1;                     /* any allocation would fail */
  for (size_t i = 0; i < N; i++) {
    uint64_t r = rnd_next(&seed);
    ck_assert_int_eq(ss_timer_start(&ts, &tt[i].t, r >> (r % 64), ttimer_fn, &tt[i]), 0);
  }
  ck_assert_uint_eq(ts.n, N);
  while (ss_timers_next(&ts, &when) == 0)
    fired += ss_timers_expire(&ts, when);
  ck_assert_int_eq(fired, N);
  cnt.fail = 0;
  ck_assert_uint_eq(cnt.mallocs, m0);
  ss_timers_fini(&ts);
  free(tt);
  sipsrv_core_free(core);
  ck_assert_uint_eq(cnt.frees, cnt.mallocs);
}
END_TEST

/* Deadlines on each side of every level's boundary, from a clock already
 * far from zero: each is the next deadline in turn and fires alone, at its
 * time and not a millisecond before. */
START_TEST(core_timer_level_boundaries)
{
  enum { M = 2 * SS_WHEEL_LEVELS + 3 };
  static ttimer tt[M];
  uint64_t base = 123456789012ULL, at[M], when;
  size_t n = 0;

  ss_timers ts;
  ss_timers_init(&ts, NULL);
  ttimers_init(tt, M, &ts, NULL);
  ck_assert_int_eq(ss_timers_expire(&ts, base), 0);
  for (unsigned k = 1; k < SS_WHEEL_LEVELS; k++) {
    uint64_t edge = (uint64_t)1 << (SS_WHEEL_BITS * k);
    at[n++] = (base | (edge - 1)) + 1;       /* the first of the next block */
    at[n++] = (base | (edge - 1));           /* the last of this one */
  }
  at[n++] = base + 1;
  at[n++] = UINT64_MAX - 1;
  at[n++] = UINT64_MAX;
  ck_assert_uint_le(n, M);
  for (size_t i = 0; i < n; i++)
    tstart(&ts, &tt[i], at[i]);
  for (size_t fired = 0; fired < n; fired++) {
    uint64_t least = UINT64_MAX;
    size_t who = 0;
    for (size_t i = 0; i < n; i++)
      if (!tt[i].fired && at[i] <= least && (at[i] < least || i < who)) {
        least = at[i];
        who = i;
      }
    ck_assert_int_eq(ss_timers_next(&ts, &when), 0);
    ck_assert_uint_eq(when, least);
    if (least > base)
      ck_assert_int_eq(ss_timers_expire(&ts, least - 1), 0);
    /* Equal deadlines (the boundaries of two levels can coincide) fire
     * together. */
    ck_assert_int_ge(ss_timers_expire(&ts, least), 1);
    ck_assert_uint_eq(tt[who].fired, 1);
    for (size_t i = 0; i < n; i++)
      if (at[i] == least && !tt[i].fired)
        ck_assert_msg(0, "deadline %llu left armed", (unsigned long long)least);
    for (size_t i = 0; i < n; i++)
      if (at[i] == least && i != who)
        fired++;
  }
  ck_assert_uint_eq(ts.n, 0);
  ss_timers_fini(&ts);
}
END_TEST

/* Random deadlines over wide ranges (every level), random steps of the
 * clock from a millisecond to years, and callbacks that arm timers again
 * for a time already passed, for now or for later. Each timer that fires
 * must be the earliest armed one (equal deadlines: the first started), due
 * at that time; after each expire nothing due is left; the next deadline
 * is always the least armed one. */
typedef struct wtimer {
  ss_timer t;
  uint64_t when, seq;
  bool live;
  struct wide *w;
} wtimer;

typedef struct wide {
  ss_timers ts;
  wtimer *all;
  size_t n;
  uint64_t now, seq, rng;
  size_t fired;
  bool ok;
  char why[160];
} wide;

static void wtimer_fn(ss_timer *t, void *arg);

static void wstart(wide *w, wtimer *wt, uint64_t when)
{
  wt->when = when;
  wt->seq = w->seq++;
  wt->live = true;
  ck_assert_int_eq(ss_timer_start(&w->ts, &wt->t, when, wtimer_fn, wt), 0);
}

static void wtimer_fn(ss_timer *t, void *arg)
{
  wtimer *wt = arg;
  wide *w = wt->w;
  uint64_t r;

  w->fired++;
  if (w->ok && (!wt->live || t->when != wt->when || wt->when > w->now)) {
    snprintf(w->why, sizeof w->why, "fired: live %d when %llu at %llu", wt->live,
             (unsigned long long)wt->when, (unsigned long long)w->now);
    w->ok = false;
  }
  for (size_t i = 0; w->ok && i < w->n; i++) {
    const wtimer *o = &w->all[i];
    if (o != wt && o->live &&
        (o->when < wt->when || (o->when == wt->when && o->seq < wt->seq))) {
      snprintf(w->why, sizeof w->why, "%llu fired before %llu", (unsigned long long)wt->when,
               (unsigned long long)o->when);
      w->ok = false;
    }
  }
  wt->live = false;
  r = rnd_next(&w->rng);
  switch (r % 6) {
  case 0:                                 /* again, for a time passed */
    wstart(w, wt, w->now - (r >> 8) % 100);
    break;
  case 1:                                 /* again, for now */
    wstart(w, wt, w->now);
    break;
  case 2:                                 /* again, later */
    wstart(w, wt, w->now + 1 + (r >> 8) % ((uint64_t)1 << ((r >> 40) % 36)));
    break;
  default:
    break;
  }
}

START_TEST(core_timer_wide_property)
{
  enum { N = 1500 };
  wide *w = calloc(1, sizeof *w);
  uint64_t next, base;
  size_t steps = 0;

  ck_assert_ptr_nonnull(w);
  w->all = calloc(N, sizeof *w->all);
  ck_assert_ptr_nonnull(w->all);
  w->n = N;
  w->ok = true;
  w->rng = 0xabcdef0123456789ULL;
  ss_timers_init(&w->ts, NULL);
  base = rnd_next(&w->rng) % ((uint64_t)1 << 41);   /* a clock in ms */
  w->now = base;
  ck_assert_int_eq(ss_timers_expire(&w->ts, base), 0);
  for (size_t i = 0; i < N; i++) {
    uint64_t r = rnd_next(&w->rng);
    ss_timer_init(&w->all[i].t);
    w->all[i].w = w;
    if (i % 100 == 0)
      wstart(w, &w->all[i], UINT64_MAX - i / 100);
    else
      wstart(w, &w->all[i], base + (r >> 8) % ((uint64_t)1 << (r % 62)));
  }
  while (ss_timers_next(&w->ts, &next) == 0 && steps++ < 100000) {
    uint64_t least = UINT64_MAX, r = rnd_next(&w->rng);
    for (size_t i = 0; i < N; i++)
      if (w->all[i].live && w->all[i].when < least)
        least = w->all[i].when;
    check_next(next, least);
    w->now = next;
    if (next < UINT64_MAX - ((uint64_t)1 << 42))
      w->now += (r >> 8) % ((uint64_t)1 << (r % 42));
    ss_timers_expire(&w->ts, w->now);
    ck_assert_msg(w->ok, "%s", w->why);
    for (size_t i = 0; i < N; i++)
      ck_assert_msg(!w->all[i].live || w->all[i].when > w->now, "%llu left at %llu",
                    (unsigned long long)w->all[i].when, (unsigned long long)w->now);
    /* Now and then stop one. */
    if (r % 5 == 0) {
      wtimer *o = &w->all[(r >> 16) % N];
      ss_timer_stop(&w->ts, &o->t);
      o->live = false;
    }
  }
  ck_assert_uint_eq(w->ts.n, 0);
  ck_assert_uint_gt(w->fired, N);
  ss_timers_fini(&w->ts);
  free(w->all);
  free(w);
}
END_TEST

/* ---- suite ------------------------------------------------------------- */

static uint64_t fixed_wall(void *user)
{
  return *(const uint64_t *)user;
}

/* The wall clock is the core's second clock, for what outlives the process
 * (store expiry) and Date headers; without one the core reports 0. */
START_TEST(core_new_wall_clock)
{
  uint64_t t = 1795000000123ULL;
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_core *core;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), 0);
  ck_assert(!ss_core_has_wall_clock(core));
  ck_assert_int_eq(ss_core_wall_now(core), 0);
  sipsrv_core_free(core);
  cfg.wall_clock = fixed_wall;
  cfg.wall_clock_user = &t;
  ck_assert_int_eq(sipsrv_core_new(&core, &cfg), 0);
  ck_assert(ss_core_has_wall_clock(core));
  ck_assert_int_eq(ss_core_wall_now(core), (int64_t)t);
  sipsrv_core_free(core);
}
END_TEST

/* The hash table (core/htab.h): random adds and removes of nodes whose
 * hashes share their low bits (a few buckets, chains of several nodes),
 * against a plain array; every lookup finds exactly the nodes of its hash,
 * including after the first node of a chain went (the bucket keeps the
 * first node's hash) and after the table grew. */
typedef struct hn_item {
  ss_hnode n;
  uint64_t h;
  bool in;
} hn_item;

START_TEST(core_htab_random_property)
{
  enum { N = 300 };
  static hn_item it[N];
  ss_htab t;
  uint64_t seed = 12345;
  size_t in = 0;

  ss_htab_init(&t, NULL);                /* the C library's allocator */
  for (size_t i = 0; i < N; i++) {
    /* Hashes that differ above bit 9 only, few values: long chains and
     * equal hashes in one chain. */
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    it[i].h = ((seed >> 33) % 7) << 10 | (i % 3);
    it[i].in = false;
  }
  for (int step = 0; step < 20000; step++) {
    size_t i;
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    i = (size_t)(seed >> 33) % N;
    if (it[i].in) {
      ss_htab_remove(&t, &it[i].n);
      it[i].in = false;
      in--;
    } else {
      ck_assert_int_eq(ss_htab_add(&t, &it[i].n, it[i].h), 0);
      it[i].in = true;
      in++;
    }
    ck_assert_uint_eq(t.n, in);
    if (step % 97 == 0) {
      for (size_t k = 0; k < N; k++) {
        size_t want = 0, got = 0;
        bool found = false;
        for (size_t j = 0; j < N; j++)
          want += it[j].in && it[j].h == it[k].h;
        for (ss_hnode *p = ss_htab_first(&t, it[k].h); p; p = ss_htab_next(p, it[k].h)) {
          ck_assert_uint_eq(p->hash, it[k].h);
          found |= p == &it[k].n;
          got++;
        }
        ck_assert_uint_eq(got, want);
        ck_assert(found == it[k].in);
      }
      ck_assert_ptr_null(ss_htab_first(&t, 0xdeadbeefULL << 20));
    }
  }
  while (in) {
    ss_hnode *p = ss_htab_any(&t);
    ck_assert_ptr_nonnull(p);
    ss_htab_remove(&t, p);
    in--;
  }
  ck_assert_ptr_null(ss_htab_any(&t));
  ss_htab_fini(&t);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("core");
  TCase *tc;

  tc = tcase_create("strerror");
  tcase_add_test(tc, core_strerror_codes_distinct);
  tcase_add_test(tc, core_strerror_success);
  tcase_add_test(tc, core_strerror_unknown);
  suite_add_tcase(s, tc);

  tc = tcase_create("version");
  tcase_add_test(tc, core_version_string);
  tcase_add_test(tc, core_version_number);
  tcase_add_test(tc, core_version_number_matches_parts);
  tcase_add_test(tc, core_version_string_matches_parts);
  suite_add_tcase(s, tc);

  tc = tcase_create("loglevel");
  tcase_add_test(tc, core_loglevel_name_each);
  tcase_add_test(tc, core_loglevel_name_out_of_range);
  tcase_add_test(tc, core_loglevel_parse_names);
  tcase_add_test(tc, core_loglevel_parse_upper);
  tcase_add_test(tc, core_loglevel_parse_digits);
  tcase_add_test(tc, core_loglevel_parse_warning);
  tcase_add_test(tc, core_loglevel_parse_invalid);
  suite_add_tcase(s, tc);

  tc = tcase_create("new");
  tcase_add_test(tc, core_new_null_out);
  tcase_add_test(tc, core_new_default_cfg);
  tcase_add_test(tc, core_new_init_cfg);
  tcase_add_test(tc, core_new_bad_version);
  tcase_add_test(tc, core_new_bad_level);
  tcase_add_test(tc, core_new_alloc_null_slot);
  tcase_add_test(tc, core_new_alloc_counting);
  tcase_add_test(tc, core_new_alloc_fails);
  tcase_add_test(tc, core_new_wall_clock);
  tcase_add_test(tc, core_free_null);
  suite_add_tcase(s, tc);

  tc = tcase_create("setlog");
  tcase_add_test(tc, core_setlog_null_core);
  tcase_add_test(tc, core_setlog_bad_level);
  tcase_add_test(tc, core_setlog_ok);
  suite_add_tcase(s, tc);

  tc = tcase_create("log");
  tcase_add_test(tc, core_log_above_level_dropped);
  tcase_add_test(tc, core_log_at_level_delivered);
  tcase_add_test(tc, core_log_trace_all);
  tcase_add_test(tc, core_log_null_cb);
  tcase_add_test(tc, core_log_level_none);
  tcase_add_test(tc, core_log_long_truncated);
  tcase_add_test(tc, core_log_default_core_silent);
  tcase_add_test(tc, core_log_null_core);
  tcase_add_test(tc, core_log_enabled_matches);
  suite_add_tcase(s, tc);

  tc = tcase_create("alloc");
  tcase_add_test(tc, core_alloc_uses_allocator);
  tcase_add_test(tc, core_alloc_zero_size);
  tcase_add_test(tc, core_alloc_zalloc_zeroes);
  tcase_add_test(tc, core_alloc_fails);
  tcase_add_test(tc, core_alloc_free_null);
  tcase_add_test(tc, core_alloc_null_core);
  suite_add_tcase(s, tc);

  tc = tcase_create("htab");
  tcase_add_test(tc, core_htab_random_property);
  suite_add_tcase(s, tc);

  tc = tcase_create("timer");
  tcase_add_test(tc, core_timer_init_null_core);
  tcase_add_test(tc, core_timer_order_deadline);
  tcase_add_test(tc, core_timer_order_equal_start);
  tcase_add_test(tc, core_timer_stop_first);
  tcase_add_test(tc, core_timer_stop_middle);
  tcase_add_test(tc, core_timer_stop_last);
  tcase_add_test(tc, core_timer_stop_not_armed);
  tcase_add_test(tc, core_timer_restart_rearms);
  tcase_add_test(tc, core_timer_next_earliest);
  tcase_add_test(tc, core_timer_expire_due_only);
  tcase_add_test(tc, core_timer_callback_starts_due);
  tcase_add_test(tc, core_timer_callback_stops_later);
  tcase_add_test(tc, core_timer_armed_state);
  tcase_add_test(tc, core_timer_random_property);
  tcase_add_test(tc, core_timer_fini_armed);
  tcase_add_test(tc, core_timer_passed_in_order);
  tcase_add_test(tc, core_timer_no_allocation);
  tcase_add_test(tc, core_timer_level_boundaries);
  tcase_add_test(tc, core_timer_wide_property);
  suite_add_tcase(s, tc);

  return s;
}

int main(void)
{
  return harness_run(suite());
}
