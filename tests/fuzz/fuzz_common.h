/* Shared helpers of the libFuzzer targets in tests/fuzz (see README.md).
 *
 * Invariants are checked with fz_ok(name, cond): a failure prints the name
 * and traps (__builtin_trap), so libFuzzer saves the input as a crash. A known
 * failure can be set aside while the fuzzer keeps exploring by naming it in
 * the SIPSRV_FUZZ_SKIP environment variable (comma-separated names, or "all");
 * fz_ok() then returns false and the target skips what depends on it. */
#ifndef SIPSRV_FUZZ_COMMON_H
#define SIPSRV_FUZZ_COMMON_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *fz_skip_list;

static void fz_init(void)
{
  fz_skip_list = getenv("SIPSRV_FUZZ_SKIP");
}

static bool fz_skipped(const char *name)
{
  const char *p = fz_skip_list;
  size_t n = strlen(name);

  if (!p)
    return false;
  if (strcmp(p, "all") == 0)
    return true;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l == n && strncmp(p, name, n) == 0)
      return true;
    if (!e)
      break;
    p = e + 1;
  }
  return false;
}

/* Check an invariant; trap unless it is skipped. Returns cond. */
#define fz_ok(name, cond) fz_check((name), (cond) ? true : false, #cond, __FILE__, __LINE__)

/* Bytes printed with a failure (the message being checked), or NULL. */
static const char *fz_ctx_what;
static const void *fz_ctx;
static size_t fz_ctx_len;

__attribute__((unused)) static void fz_context(const char *what, const void *bytes, size_t len)
{
  fz_ctx_what = what;
  fz_ctx = bytes;
  fz_ctx_len = len;
}

static bool fz_check(const char *name, bool cond, const char *expr, const char *file, int line)
{
  if (cond)
    return true;
  if (fz_skipped(name))
    return false;
  if (fz_ctx) {
    fprintf(stderr, "---- %s: %zu bytes ----\n", fz_ctx_what, fz_ctx_len);
    fwrite(fz_ctx, 1, fz_ctx_len, stderr);
    fprintf(stderr, "\n---- end ----\n");
  }
  fprintf(stderr, "\n*** INVARIANT FAILED [%s]: %s (%s:%d)\n", name, expr, file, line);
  fflush(stderr);
  __builtin_trap();
}

/* Read a string completely so that ASan sees every byte of it. */
static volatile size_t fz_sink;

__attribute__((unused)) static void fz_touch(const char *s)
{
  if (s)
    fz_sink += strlen(s);
}

__attribute__((unused)) static void fz_touch_list(const char *const *l)
{
  for (; l && *l; l++)
    fz_touch(*l);
}

#endif
