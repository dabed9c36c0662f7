/* Tests of the core area: error strings, version, log levels, the core
 * object, and the internal logging and allocation helpers of lib/core. */
#include <check.h>

#include "harness.h"

#include <sipsrv/core.h>
#include <sipsrv/error.h>
#include <sipsrv/log.h>
#include <sipsrv/version.h>

#include "core/core_int.h"

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

/* ---- suite ------------------------------------------------------------- */

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

  return s;
}

int main(void)
{
  return harness_run(suite());
}
