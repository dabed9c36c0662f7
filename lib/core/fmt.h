/* Private: building short strings without stdio, for the paths every
 * message takes (transaction keys, branches, hashes, reply headers). A
 * snprintf() call there costs about 1000 instructions (callgrind), a
 * handful of copies here a tenth of it. */
#ifndef SS_FMT_H
#define SS_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A bounded builder over buf[size]: appends never overrun, and a text that
 * did not fit is reported by ss_sb_done(). */
typedef struct ss_sb {
  char *buf;
  size_t size, n;
  bool over;
} ss_sb;

static inline ss_sb ss_sb_init(char *buf, size_t size)
{
  ss_sb sb = { buf, size, 0, size == 0 };
  if (size)
    buf[0] = '\0';
  return sb;
}

static inline void ss_sb_mem(ss_sb *sb, const char *s, size_t len)
{
  if (sb->over || len >= sb->size - sb->n) {
    sb->over = true;
    return;
  }
  memcpy(sb->buf + sb->n, s, len);
  sb->n += len;
  sb->buf[sb->n] = '\0';
}

/* Append s (NULL appends nothing). */
static inline void ss_sb_str(ss_sb *sb, const char *s)
{
  if (s)
    ss_sb_mem(sb, s, strlen(s));
}

static inline void ss_sb_chr(ss_sb *sb, char c)
{
  ss_sb_mem(sb, &c, 1);
}

/* Decimal digits of v into out (at least 20 bytes, not terminated); their number. */
static inline size_t ss_fmt_u64(char *out, uint64_t v)
{
  char tmp[20];
  size_t n = 0, i;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (i = 0; i < n; i++)
    out[i] = tmp[n - 1 - i];
  return n;
}

static inline void ss_sb_u64(ss_sb *sb, uint64_t v)
{
  char d[20];
  ss_sb_mem(sb, d, ss_fmt_u64(d, v));
}

/* v as 16 lower-case hex digits, zero-padded (printf's "%016llx"). */
static inline void ss_sb_hex16(ss_sb *sb, uint64_t v)
{
  static const char hex[] = "0123456789abcdef";
  char d[16];
  for (int i = 15; i >= 0; i--, v >>= 4)
    d[i] = hex[v & 15];
  ss_sb_mem(sb, d, 16);
}

/* v in lower-case hex without padding (printf's "%llx"). */
static inline void ss_sb_hex(ss_sb *sb, uint64_t v)
{
  static const char hex[] = "0123456789abcdef";
  char d[16];
  int i = 16;
  do {
    d[--i] = hex[v & 15];
    v >>= 4;
  } while (v);
  ss_sb_mem(sb, d + i, (size_t)(16 - i));
}

/* An IPv4 address (4 bytes, network order) as a dotted quad, without
 * inet_ntop() (it goes through sprintf). */
static inline void ss_sb_ipv4(ss_sb *sb, const void *addr)
{
  const unsigned char *b = addr;
  for (int i = 0; i < 4; i++) {
    if (i)
      ss_sb_chr(sb, '.');
    ss_sb_u64(sb, b[i]);
  }
}

/* 0 when everything fitted (buf is terminated either way), -1 if cut. */
static inline int ss_sb_done(const ss_sb *sb)
{
  return sb->over ? -1 : 0;
}

#endif
