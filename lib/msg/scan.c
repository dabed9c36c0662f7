/* A light scan of the raw header section, before Sofia-SIP parses it: finds the
 * end of the headers and every Content-Length, which framing (RFC 3261 18.3)
 * needs whatever Sofia-SIP makes of the rest. */
#include "msg_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Index of the next '\n' at or after i, or len. */
static size_t line_end(const char *d, size_t len, size_t i)
{
  const char *nl = memchr(d + i, '\n', len - i);
  return nl ? (size_t)(nl - d) : len;
}

/* Read a Content-Length value spanning [i, end) (folded lines included). */
static void scan_cl_value(const char *d, size_t i, size_t end, ss_head *h)
{
  unsigned long long v = 0;
  int digits = 0;
  bool after = false;

  for (; i < end; i++) {
    unsigned char c = (unsigned char)d[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (digits)
        after = true;
      continue;
    }
    if (c < '0' || c > '9' || after) {
      h->cl_bad = true;
      return;
    }
    if (v < 100000000000ULL)
      v = v * 10 + (c - '0');
    digits++;
  }
  if (!digits)
    h->cl_bad = true;
  h->cl = v;
}

/* RFC 3261 7 and 25.1: lines end with CRLF, and no quoted-pair escapes a CR,
 * so a CR anywhere but before LF is malformed. Sofia-SIP ends a line there,
 * while framing does not: letting it through would let two parsers disagree
 * on where the headers end (a smuggled message). Checks [i, e), e at LF. */
bool ss_has_bare_cr(const char *d, size_t len)
{
  for (const char *p = d, *end = d + len; (p = memchr(p, '\r', (size_t)(end - p))) != NULL; p++)
    if (p + 1 == end || p[1] != '\n')
      return true;
  return false;
}

static void note_bare_cr(const char *d, size_t i, size_t e, ss_head *h)
{
  /* d[e] is the LF that ends the line: a CR just before it, or before a
   * folded line's LF, is fine. */
  if (ss_has_bare_cr(d + i, e + 1 - i))
    h->bare_cr = true;
}

void ss_scan_head(const char *d, size_t len, ss_head *h)
{
  size_t i = 0, e;

  memset(h, 0, sizeof *h);
  /* RFC 3261 7.5: CRLFs before the start line are ignored. */
  while (i < len && (d[i] == '\r' || d[i] == '\n'))
    i++;
  h->skip = i;
  h->response = len - i >= 4 && strncasecmp(d + i, "SIP/", 4) == 0;

  e = line_end(d, len, i);
  if (e >= len)
    return;
  h->start_len = e - i - (e > i && d[e - 1] == '\r');
  note_bare_cr(d, i, e, h);
  i = e + 1;

  while (i < len) {
    size_t name_end, vstart;

    e = line_end(d, len, i);
    if (e >= len)
      return;                           /* this line is not finished yet */
    if (e == i || (e == i + 1 && d[i] == '\r')) {
      h->complete = true;
      h->head_len = e + 1 - h->skip;
      return;
    }
    /* A header ends where a line does not start with SP or HT (RFC 3261 7.3.1). */
    vstart = i;
    for (;;) {
      if (e + 1 >= len)
        return;                         /* we cannot tell yet whether it folds */
      if (d[e + 1] != ' ' && d[e + 1] != '\t')
        break;
      e = line_end(d, len, e + 1);
      if (e >= len)
        return;
    }
    note_bare_cr(d, vstart, e, h);
    /* Only "Content-Length" and "l" matter here: look no further into others. */
    if ((d[vstart] | 0x20) != 'c' && (d[vstart] | 0x20) != 'l') {
      i = e + 1;
      continue;
    }
    name_end = vstart;
    while (name_end < e && ss_is_token_char((unsigned char)d[name_end]))
      name_end++;
    if (ss_header_name_is(d + vstart, name_end - vstart, "Content-Length", 'l')) {
      size_t colon = name_end;
      while (colon < e && (d[colon] == ' ' || d[colon] == '\t'))
        colon++;
      if (colon < e && d[colon] == ':') {
        h->cl_count++;
        scan_cl_value(d, colon + 1, e, h);
      } else if (colon < e && (d[colon] == '\r' || d[colon] == '\n')) {
        /* "l\r\n : 150": HCOLON allows no line break before the colon
         * (RFC 3261 7.3.1, 25.1), but Sofia-SIP unfolds the lines first and
         * reads a Content-Length of 150, which then goes out as received
         * and frames nothing for the next hop (found by
         * tests/fuzz/fuzz_parse). A malformed Content-Length. */
        h->cl_count++;
        h->cl_bad = true;
      }
    }
    i = e + 1;
  }
}

/* (msg_int.h) A backslash escapes the next character inside quotes only
 * (RFC 3261 25.1, quoted-pair). */
const char *ss_list_comma(const char *v, const char *ve)
{
  bool quoted = false;
  /* Most values quote nothing: the first comma is the answer. */
  if (!memchr(v, '"', (size_t)(ve - v)))
    return memchr(v, ',', (size_t)(ve - v));
  for (; v < ve; v++) {
    if (quoted && *v == '\\' && v + 1 < ve)
      v++;
    else if (*v == '"')
      quoted = !quoted;
    else if (!quoted && *v == ',')
      return v;
  }
  return NULL;
}

const char *ss_list_next(const char *v, const char *ve, const char **comma)
{
  const char *c = ss_list_comma(v, ve), *n;
  if (!c)
    return NULL;
  for (n = c + 1; n < ve && (*n == ' ' || *n == '\t'); n++)
    ;
  if (n == ve)
    return NULL;
  if (comma)
    *comma = c;
  return n;
}

/* One pass over a name or IPv4 literal (RFC 3261 25.1 hostname and
 * IPv4address, as inet_pton() reads the latter): labels of 1 to 63
 * alphanumerics, '-' inside, and '_' (outside the RFC, but common in
 * private names: tolerated); a name that is all digits must be four
 * numbers up to 255 with no leading zero. n excludes a trailing dot. */
static bool name_ok(const char *s, size_t n)
{
  size_t label = 0;             /* length of the current label */
  unsigned parts = 0, v = 0;    /* IPv4: numbers so far, the current one */
  bool numeric = true, zero_lead = false, ipv4_bad = false;

  for (size_t i = 0; i <= n; i++) {
    unsigned char ch = i < n ? (unsigned char)s[i] : '.';
    if (ch == '.') {
      if (label == 0 || label > 63 || s[i - 1] == '-')
        return false;
      parts++;
      label = 0;
      continue;
    }
    if (ch >= '0' && ch <= '9') {
      if (numeric) {                     /* "01", "256", "1000": not IPv4 */
        if ((zero_lead && label > 0) || label >= 3)
          ipv4_bad = true;
        zero_lead = label == 0 && ch == '0';
        v = (label == 0 ? 0 : v * 10) + (unsigned)(ch - '0');
        if (v > 255)
          ipv4_bad = true;
      }
    } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
               (ch == '-' && label > 0)) {
      numeric = false;
    } else {
      return false;
    }
    label++;
  }
  /* toplabel starts with ALPHA, so an all-digit name must be an IPv4address. */
  return !numeric || (parts == 4 && !ipv4_bad);
}

static bool ipv6_ok(const char *s, size_t n)
{
  char buf[64];
  struct in6_addr a;
  char *tri;

  if (n >= sizeof buf)
    return false;
  memcpy(buf, s, n);
  buf[n] = '\0';
  if (inet_pton(AF_INET6, buf, &a) == 1)
    return true;
  /* RFC 5118 4.10: RFC 3261's ABNF admits "2001:db8:::192.0.2.1"; tolerate it
   * as the "::" it meant. */
  tri = strstr(buf, ":::");
  if (tri && !strstr(tri + 1, ":::")) {
    memmove(tri, tri + 1, strlen(tri));
    return inet_pton(AF_INET6, buf, &a) == 1;
  }
  return false;
}

bool ss_host_valid(const char *host)
{
  size_t n;

  if (!host || !*host)
    return false;
  n = strlen(host);
  if (host[0] == '[')
    return n > 2 && host[n - 1] == ']' && ipv6_ok(host + 1, n - 2);
  if (n > 255)
    return false;
  if (host[n - 1] == '.')
    n--;                                 /* a trailing dot is allowed */
  return name_ok(host, n);
}

bool ss_port_valid(const char *port)
{
  unsigned long v = 0;
  if (!port || !*port)
    return false;
  for (const char *p = port; *p; p++) {
    if (*p < '0' || *p > '9' || p - port >= 5)
      return false;
    v = v * 10 + (unsigned long)(*p - '0');
  }
  return v <= 65535;
}

bool ss_url_host_port_ok(url_t const *u)
{
  if (u->url_type != url_sip && u->url_type != url_sips)
    return true;
  /* RFC 3261 19.1.1: a SIP URI has no path; Sofia-SIP would read "h/x" as a
   * host and a path and print it back as "hx". */
  if (!ss_host_valid(u->url_host) || u->url_path)
    return false;
  return !u->url_port || ss_port_valid(u->url_port);
}

bool ss_is_token(const char *s)
{
  if (!s || !*s)
    return false;
  for (; *s; s++)
    if (!ss_is_token_char((unsigned char)*s))
      return false;
  return true;
}

bool ss_is_gen_value(const char *s)
{
  if (!s || !*s)
    return false;
  if (*s == '"') {
    /* quoted-string: qdtext or quoted-pair, no CR/LF, closed by the last '"'. */
    for (s++; *s; s++) {
      if (*s == '\r' || *s == '\n')
        return false;
      if (*s == '\\') {
        if (!s[1] || s[1] == '\r' || s[1] == '\n')
          return false;
        s++;
      } else if (*s == '"') {
        return s[1] == '\0';
      }
    }
    return false;
  }
  /* token, or host (which adds ':' and brackets for IPv6). */
  for (; *s; s++)
    if (!ss_is_token_char((unsigned char)*s) && *s != ':' && *s != '[' && *s != ']')
      return false;
  return true;
}

bool ss_is_ip_address(const char *s)
{
  char buf[64];
  size_t n;
  struct in_addr a4;
  struct in6_addr a6;

  if (!s)
    return false;
  n = strlen(s);
  if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
    s++;
    n -= 2;
  }
  if (n == 0 || n >= sizeof buf)
    return false;
  memcpy(buf, s, n);
  buf[n] = '\0';
  return inet_pton(AF_INET, buf, &a4) == 1 || inet_pton(AF_INET6, buf, &a6) == 1;
}

size_t ss_uri_param(const char *params, const char *name, char *value, size_t vlen)
{
  size_t tlen;
  const char *eq;

  if (!params || !name)
    return 0;
  tlen = strlen(name);
  eq = strchr(name, '=');
  for (const char *p = params;;) {
    size_t n = strcspn(p, ";");
    if (eq) {
      if (n == tlen && strncasecmp(p, name, tlen) == 0)
        return 1;                        /* "name=value" exactly */
    } else {
      const char *pe = memchr(p, '=', n);
      size_t plen = pe ? (size_t)(pe - p) : n;
      if (plen == tlen && strncasecmp(p, name, tlen) == 0) {
        size_t flen = pe ? n - plen - 1 : 0;
        if (vlen > flen) {
          if (flen)
            memcpy(value, pe + 1, flen);
          value[flen] = '\0';
        } else if (vlen) {
          value[0] = '\0';
        }
        return flen + 1;
      }
    }
    if (!p[n])
      return 0;
    p += n + 1;
  }
}

bool ss_uri_has_param(url_t const *u, const char *name)
{
  return u && u->url_params && ss_uri_param(u->url_params, name, NULL, 0) > 0;
}