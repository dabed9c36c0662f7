/* sipsrv-check: what would a SIP server do with these messages?
 *
 * Reads SIP messages from files (or standard input) and prints, for each, the
 * verdict of sipsrv's message layer: accept, answer with an error status, or
 * drop. With --reply it prints the error response a server sends back.
 *
 *   sipsrv-check [--stream] [--proxy] [--reply] [--log-level L] [FILE...]
 */
#include <sipsrv/sipsrv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
  fprintf(stderr, "usage: sipsrv-check [--stream] [--proxy] [--reply] [--log-level L] [FILE...]\n");
  exit(2);
}

static char *slurp(FILE *f, size_t *len)
{
  size_t cap = 4096, n = 0, r;
  char *buf = malloc(cap);
  while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb)
        free(buf);
      buf = nb;
    }
  }
  *len = n;
  return buf;
}

static void print_reply(sipsrv_msg *req, const sipsrv_verdict *v)
{
  sipsrv_msg *rsp;
  char out[8192];
  long n;
  if (sipsrv_msg_reply_verdict(&rsp, req, v) != 0) {
    printf("  (cannot be answered: no usable Via or CSeq; a server drops it)\n");
    return;
  }
  n = sipsrv_msg_serialize(rsp, out, sizeof out);
  if (n > 0 && (size_t)n <= sizeof out)
    printf("  reply:\n%.*s", (int)n, out);
  sipsrv_msg_free(rsp);
}

static int check(const char *name, const char *data, size_t len, unsigned flags,
                 const sipsrv_check_cfg *cfg, int reply)
{
  sipsrv_msg *m = NULL;
  sipsrv_verdict v;
  int rc = sipsrv_msg_parse(&m, data, len, flags, &v);

  if (rc == 0 && v.action == SIPSRV_ACCEPT)
    sipsrv_msg_check(m, cfg, &v);
  printf("%s: ", name);
  switch (v.action) {
  case SIPSRV_ACCEPT:
    if (sipsrv_msg_is_request(m))
      printf("accept %s request\n", sipsrv_msg_method_name(m));
    else
      printf("accept %d response\n", sipsrv_msg_status(m));
    break;
  case SIPSRV_REJECT:
    printf("answer %d %s (%s)\n", v.status, v.phrase, v.rfc ? v.rfc : "");
    if (reply && m)
      print_reply(m, &v);
    break;
  case SIPSRV_DROP:
    printf("drop: %s (%s)\n", v.phrase, v.rfc ? v.rfc : "");
    break;
  }
  sipsrv_msg_free(m);
  return v.action == SIPSRV_ACCEPT ? 0 : 1;
}

/* 0 accepted, 1 answered or dropped, 2 unreadable. */
static int check_file(const char *name, unsigned flags, const sipsrv_check_cfg *cfg, int reply)
{
  FILE *f = strcmp(name, "-") != 0 ? fopen(name, "rb") : stdin;
  size_t len;
  char *data;
  int rc;

  if (!f) {
    perror(name);
    return 2;
  }
  data = slurp(f, &len);
  if (f != stdin)
    fclose(f);
  if (!data)
    return 2;
  rc = check(name, data, len, flags, cfg, reply);
  free(data);
  return rc;
}

int main(int argc, char **argv)
{
  static const char *const supported[] = { "path", "outbound", NULL };
  sipsrv_check_cfg cfg = SIPSRV_CHECK_CFG_INIT;
  unsigned flags = 0;
  int reply = 0, i, status = 0;

  cfg.supported = supported;
  cfg.flags = SIPSRV_CHECK_REQUIRE;
  for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
    if (strcmp(argv[i], "--stream") == 0)
      flags |= SIPSRV_PARSE_STREAM;
    else if (strcmp(argv[i], "--proxy") == 0)
      cfg.flags = SIPSRV_CHECK_MAX_FORWARDS | SIPSRV_CHECK_PROXY_REQUIRE;
    else if (strcmp(argv[i], "--reply") == 0)
      reply = 1;
    else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc)
      i++;           /* shared option of the examples; this one logs nothing */
    else
      usage();
  }
  printf("sipsrv %s\n", sipsrv_version());
  if (i == argc)
    return check_file("-", flags, &cfg, reply);
  for (; i < argc; i++) {
    int rc = check_file(argv[i], flags, &cfg, reply);
    if (rc == 2)
      return 2;
    status |= rc;
  }
  return status;
}
