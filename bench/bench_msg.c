/* Micro-benchmark of the message layer (not a test): parse, parse + the edits
 * a proxy makes + zero-copy serialization, and parse + a 100 Trying built and
 * serialized. Prints nanoseconds per operation.
 *
 *   bench_msg [ITERATIONS]      (default 200000)
 *
 * For a figure that does not depend on machine load, count instructions:
 *   valgrind --tool=callgrind build/bench/bench_msg 20000
 */
#include <sipsrv/sipsrv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* An INVITE of typical size (about 870 bytes with its SDP). */
static const char invite[] =
  "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
  "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n"
  "Max-Forwards: 70\r\n"
  "To: Bob <sip:bob@biloxi.example.com>\r\n"
  "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
  "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
  "CSeq: 314159 INVITE\r\n"
  "Contact: <sip:alice@pc33.atlanta.example.com;transport=udp>\r\n"
  "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY\r\n"
  "Supported: replaces, timer, 100rel\r\n"
  "User-Agent: bench/1.0\r\n"
  "Content-Type: application/sdp\r\n"
  "Content-Length: 322\r\n"
  "\r\n"
  "v=0\r\n"
  "o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n"
  "s=Session SDP\r\n"
  "c=IN IP4 192.0.2.101\r\n"
  "t=0 0\r\n"
  "m=audio 49172 RTP/AVP 0 8 101\r\n"
  "a=rtpmap:0 PCMU/8000\r\n"
  "a=rtpmap:8 PCMA/8000\r\n"
  "a=rtpmap:101 telephone-event/8000\r\n"
  "a=fmtp:101 0-16\r\n"
  "a=ptime:20\r\n"
  "a=sendrecv\r\n"
  "a=ssrc:1234567890 cname:alice@atlanta.example.com\r\n"
  "a=rtcp:49173\r\n"
  "a=label:main-audio-stream-01\r\n";

static double now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static sipsrv_msg *parse(void)
{
  sipsrv_msg *m = NULL;
  sipsrv_verdict v;
  if (sipsrv_msg_parse(&m, invite, sizeof invite - 1, 0, &v) != 0 || v.action != SIPSRV_ACCEPT) {
    fprintf(stderr, "bench message does not parse: %s\n", v.phrase);
    exit(1);
  }
  return m;
}

static void op_parse(void)
{
  sipsrv_msg_free(parse());
}

static size_t sink;

static void op_proxy(void)
{
  sipsrv_msg *m = parse();
  struct iovec iov[16];
  int n;
  if (sipsrv_msg_via_set_received(m, "192.0.2.101", 5060) != 0 ||
      sipsrv_msg_max_forwards_dec(m) != 69 ||
      sipsrv_msg_addr_push(m, SIPSRV_HDR_RECORD_ROUTE, "<sip:192.0.2.1:5060;lr>", 0) != 0 ||
      sipsrv_msg_via_push(m, "UDP", "192.0.2.1", 5060, "z9hG4bKbench.1", 1) != 0 ||
      (n = sipsrv_msg_iovec(m, iov, 16)) <= 0 || n > 16) {
    fprintf(stderr, "proxy edits failed\n");
    exit(1);
  }
  for (int i = 0; i < n; i++)
    sink += iov[i].iov_len;
  sipsrv_msg_free(m);
}

static void op_trying(void)
{
  sipsrv_msg *m = parse(), *r = NULL;
  struct iovec iov[16];
  int n;
  if (sipsrv_msg_reply(&r, m, 100, NULL, NULL) != 0 || (n = sipsrv_msg_iovec(r, iov, 16)) <= 0) {
    fprintf(stderr, "reply failed\n");
    exit(1);
  }
  sink += (size_t)n;
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}

static void run(const char *name, void (*op)(void), long iters)
{
  double t0, t1;
  for (long i = 0; i < iters / 20 + 1; i++)   /* warm up */
    op();
  t0 = now_ns();
  for (long i = 0; i < iters; i++)
    op();
  t1 = now_ns();
  printf("%-44s %8.0f ns/op %10.0f op/s\n", name, (t1 - t0) / (double)iters,
         (double)iters * 1e9 / (t1 - t0));
}

int main(int argc, char **argv)
{
  long iters = argc > 1 ? atol(argv[1]) : 200000;
  if (iters <= 0) {
    fprintf(stderr, "usage: bench_msg [ITERATIONS]\n");
    return 2;
  }
  printf("sipsrv %s, %zu-byte INVITE, %ld iterations\n", sipsrv_version(), sizeof invite - 1, iters);
  run("parse + verdict", op_parse, iters);
  run("parse + proxy edits + iovec serialize", op_proxy, iters);
  run("parse + 100 Trying built + iovec serialize", op_trying, iters);
  return sink == 0;
}
