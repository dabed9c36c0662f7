/* bench_store: the cost of the location service (a benchmark, not a test).
 *
 *   build/bench/bench_store [N] [SQLITE-PATH]     (defaults: 100000, none)
 *
 * Puts N AORs with one binding each (strings of the size a real REGISTER
 * leaves: contact, Call-ID, received, User-Agent, an instance), then gets
 * each one, and expires them all; prints the time per operation and, for
 * the memory store, the resident memory per binding (from /proc/self/statm,
 * so the allocator's own overhead is in it). With SQLITE-PATH the same runs
 * on a SQLite store there (not durable: the disk's sync is not what this
 * measures; the file is removed first). */
#include <sipsrv/sipsrv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
  long pages = 0, rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
      rss = 0;
    fclose(f);
  }
  return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void on_done(void *ctx, int err)
{
  if (err)
    ++*(int *)ctx;
}

static void on_get(void *ctx, int err, const sipsrv_binding *b, size_t n)
{
  (void)b;
  if (err || n != 1)
    ++*(int *)ctx;
}

static void run(const char *name, sipsrv_store *s, int n)
{
  char aor[64], contact[96], call_id[64], received[48];
  const int64_t t0 = 1800000000000LL;
  int errors = 0;
  long before = rss_kb();
  double a, b, c, d;

  a = now_s();
  for (int i = 0; i < n; i++) {
    sipsrv_binding bd;
    memset(&bd, 0, sizeof bd);
    snprintf(aor, sizeof aor, "sip:user%07d@example.com", i);
    snprintf(contact, sizeof contact, "sip:user%07d@192.0.2.%d:%d;transport=udp;ob", i, i % 250,
             5060 + i % 1000);
    snprintf(call_id, sizeof call_id, "a84b4c76e66710%07d@192.0.2.%d", i, i % 250);
    snprintf(received, sizeof received, "udp:192.0.2.%d:%d", i % 250, 5060 + i % 1000);
    bd.contact = contact;
    bd.params = "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1";
    bd.expires = t0 + 3600000 + i;
    bd.q = -1;
    bd.call_id = call_id;
    bd.cseq = 1;
    bd.received = received;
    bd.user_agent = "Softphone/1.0";
    bd.updated = t0;
    if (sipsrv_store_put(s, aor, &bd, 1, on_done, &errors) < 0)
      errors++;
  }
  b = now_s();
  for (int i = 0; i < n; i++) {
    snprintf(aor, sizeof aor, "sip:user%07d@example.com", i);
    if (sipsrv_store_get(s, aor, t0, on_get, &errors) < 0)
      errors++;
  }
  c = now_s();
  if (sipsrv_store_expire(s, t0 + 7200000) != n)
    errors++;
  d = now_s();
  printf("%-7s %d bindings: put %.2f us, get %.2f us, expire %.2f us each", name, n,
         (b - a) * 1e6 / n, (c - b) * 1e6 / n, (d - c) * 1e6 / n);
  if (before)
    printf("; %ld bytes of RSS per binding", (rss_kb() - before) * 1024 / n);
  printf("%s\n", errors ? " (ERRORS)" : "");
}

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 100000;
  sipsrv_store *s;

  if (n <= 0 || sipsrv_store_memory_new(&s, NULL) < 0)
    return 1;
  run("memory", s, n);
  sipsrv_store_free(s);
  if (argc > 2) {
    sipsrv_store_sqlite_cfg cfg = SIPSRV_STORE_SQLITE_CFG_INIT;
    char err[256], wal[300];
    unlink(argv[2]);
    snprintf(wal, sizeof wal, "%s-wal", argv[2]);
    unlink(wal);
    cfg.path = argv[2];
    cfg.durable = 0;
    cfg.errmsg = err;
    cfg.errmsg_size = sizeof err;
    if (sipsrv_store_sqlite_new(&s, NULL, &cfg) < 0) {
      fprintf(stderr, "bench_store: %s\n", err);
      return 1;
    }
    run("sqlite", s, n);
    sipsrv_store_free(s);
  }
  return 0;
}
