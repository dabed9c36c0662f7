/* bench_txn: memory per live transaction and CPU per request through the
 * core, without sockets (a benchmark, not a test).
 *
 *   build/bench/bench_txn [N]        (default 20000)
 *
 * A core on a manual clock with a transport that discards what it sends,
 * and a registrar on the memory store: N REGISTERs (each its own user,
 * Call-ID and branch, as sipp's registration load sends) go in through
 * sipsrv_core_recv(). Each leaves a non-INVITE server transaction in
 * Completed (RFC 3261 17.2.2: Timer J keeps it 64*T1 = 32 s over UDP) with
 * its request and its 200, and a binding. Prints the heap used per REGISTER
 * while they live (mallinfo2: what the allocator handed out, its own
 * overhead included), the heap left once Timer J ended them (the bindings),
 * so the difference is the memory of one live transaction, and the CPU time
 * per REGISTER (parse, transaction, registrar, reply, serialization). Then
 * the same with N OPTIONS answered by the UAS (no binding). */
#include <sipsrv/sipsrv.h>

#include "bench_util.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ms = 1000;
static uint64_t wall_ms = 1800000000000ull;
static unsigned long sent;

static int discard(void *user, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
                   const struct iovec *iov, int iovcnt)
{
  (void)user;
  (void)conn;
  (void)dst;
  (void)dstlen;
  (void)iov;
  (void)iovcnt;
  sent++;
  return 0;
}

static const struct sipsrv_transport_ops udp_ops = {
  SIPSRV_TRANSPORT_OPS_VERSION, sizeof(struct sipsrv_transport_ops), "UDP", 0, discard, NULL
};

static size_t heap(void)
{
  return mallinfo2().uordblks;
}

static void run(const char *what, int n, int registers)
{
  static const char *const domains[] = { "127.0.0.1", NULL };
  sipsrv_registrar_cfg rc = SIPSRV_REGISTRAR_CFG_INIT;
  sipsrv_core *core = NULL;
  sipsrv_transport *tp = NULL;
  sipsrv_store *store = NULL;
  sipsrv_registrar *reg = NULL;
  sipsrv_uas *uas = NULL;
  struct sockaddr_in src;
  sipsrv_counters c;
  size_t h0, h1, h2;
  double t0, t1;
  char buf[1024];

  if (bench_core(&core, &tp, &store, &udp_ops, &now_ms, &wall_ms) < 0)
    exit(1);
  rc.domains = domains;
  rc.store = store;
  if (sipsrv_registrar_new(&reg, core, &rc) < 0 || sipsrv_uas_new(&uas, core, NULL) < 0)
    exit(1);
  memset(&src, 0, sizeof src);
  src.sin_family = AF_INET;
  src.sin_port = htons(5070);
  inet_pton(AF_INET, "127.0.0.1", &src.sin_addr);

  h0 = heap();
  t0 = bench_cpu_s();
  for (int i = 0; i < n; i++) {
    int len;
    if (registers)
      len = snprintf(buf, sizeof buf,
                     "REGISTER sip:127.0.0.1:5060 SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-%d-1-0\r\n"
                     "From: <sip:u%d@127.0.0.1>;tag=%dSIPpTag001\r\n"
                     "To: <sip:u%d@127.0.0.1>\r\n"
                     "Call-ID: %d-4242@127.0.0.1\r\n"
                     "CSeq: 1 REGISTER\r\n"
                     "Contact: <sip:u%d@127.0.0.1:5070>\r\n"
                     "Expires: 3600\r\n"
                     "Max-Forwards: 70\r\n"
                     "Content-Length: 0\r\n\r\n",
                     i, i, i, i, i, i);
    else
      len = snprintf(buf, sizeof buf,
                     "OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-o%d-1-0\r\n"
                     "From: <sip:ping@127.0.0.1>;tag=%dSIPpTag001\r\n"
                     "To: <sip:127.0.0.1:5060>\r\n"
                     "Call-ID: o%d-4242@127.0.0.1\r\n"
                     "CSeq: 1 OPTIONS\r\n"
                     "Max-Forwards: 70\r\n"
                     "Content-Length: 0\r\n\r\n",
                     i, i, i);
    sipsrv_core_recv(core, tp, 0, (const struct sockaddr *)&src, sizeof src, buf, (size_t)len);
  }
  t1 = bench_cpu_s();
  h1 = heap();
  sipsrv_core_counters(core, &c, sizeof c);
  printf("%-9s %6d requests: %5.1f us CPU each; %lu answers; %llu transactions live\n", what, n,
         (t1 - t0) * 1e6 / n, sent, (unsigned long long)c.transactions_live);
  /* Timer J (64*T1) ends them all. */
  now_ms += 40000;
  sipsrv_core_expire(core);
  sipsrv_core_counters(core, &c, sizeof c);
  h2 = heap();
  printf("          heap while live: %zu B per request; after Timer J: %zu B (%llu live):"
         " %zu B per live transaction\n",
         (h1 - h0) / (size_t)n, (h2 - h0) / (size_t)n, (unsigned long long)c.transactions_live,
         (h1 - h2) / (size_t)n);
  sipsrv_uas_free(uas);
  sipsrv_registrar_free(reg);
  sipsrv_core_free(core);
  sipsrv_store_free(store);
  sent = 0;
}

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 20000;
  if (n <= 0)
    n = 20000;
  run("REGISTER", n, 1);
  run("OPTIONS", n, 0);
  return 0;
}
