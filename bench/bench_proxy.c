/* bench_proxy: CPU per call through the proxy, without sockets (a
 * benchmark, not a test): steady and repeatable enough to compare two
 * builds, under valgrind --tool=callgrind too, where sipp against the
 * example server moves by 20-40% between runs on a virtual machine.
 *
 *   build/bench/bench_proxy [stateless|stateless-hop|stateful|dialog] [N]   (stateful, 20000)
 *
 * A core on a manual clock with a transport that keeps the last message
 * sent to each side, a registrar and a proxy on one memory store. The
 * callee registers, then N calls run the flow of bench/scenarios
 * (uac-call.xml through the proxy to uas-call.xml): INVITE with SDP, 180,
 * 200 with SDP, ACK, BYE, 200, each message built by the bench as sipp
 * would from what the proxy forwarded, and fed to sipsrv_core_recv(). The
 * clock moves 2 ms per call (500 calls/s), so the transactions' timers run
 * and end them as in a live server. Prints the CPU per call and the calls
 * whose messages did not all arrive (a broken flow makes the figure
 * meaningless), then the memory the calls of the last 32 s hold (what the
 * allocator handed out since the first call, mallinfo2) per live
 * transaction (the INVITE's and the BYE's, each a server and a client one,
 * with their response context) and per call. */
#include <sipsrv/sipsrv.h>

#include "bench_util.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CALLEE_PORT 5391
#define CALLER_PORT 5070

static uint64_t now_ms = 1000;
static uint64_t wall_ms = 1800000000000ull;

typedef struct side {
  char buf[8192];
  size_t len;
  unsigned long n;   /* messages sent to this side */
} side;

static side to_callee, to_caller;

static int keep(void *user, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
                const struct iovec *iov, int iovcnt)
{
  const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)dst;
  side *s = ntohs(sin->sin_port) == CALLEE_PORT ? &to_callee : &to_caller;
  (void)user;
  (void)conn;
  (void)dstlen;
  s->len = 0;
  for (int i = 0; i < iovcnt; i++) {
    if (s->len + iov[i].iov_len >= sizeof s->buf)
      break;
    memcpy(s->buf + s->len, iov[i].iov_base, iov[i].iov_len);
    s->len += iov[i].iov_len;
  }
  s->buf[s->len] = '\0';
  s->n++;
  return 0;
}

static const struct sipsrv_transport_ops udp_ops = {
  SIPSRV_TRANSPORT_OPS_VERSION, sizeof(struct sipsrv_transport_ops), "UDP", 0, keep, NULL
};

/* Append to out the header lines of msg named name (full name, as the
 * proxy writes them), as sipp's [last_Name:] does; suffix goes after the
 * first one. */
static size_t copy_lines(char *out, size_t at, size_t cap, const char *msg, const char *name,
                         const char *suffix)
{
  size_t nl = strlen(name);
  const char *p = strstr(msg, "\r\n");
  int first = 1;
  while (p && p[2] != '\r') {
    const char *line = p + 2, *end = strstr(line, "\r\n");
    if (!end)
      break;
    if ((size_t)(end - line) > nl && !strncasecmp(line, name, nl) && line[nl] == ':') {
      int w = snprintf(out + at, cap - at, "%.*s%s\r\n", (int)(end - line), line,
                       first && suffix ? suffix : "");
      if (w > 0 && (size_t)w < cap - at)
        at += (size_t)w;
      first = 0;
    }
    p = end;
  }
  return at;
}

static const char sdp_caller[] =
  "v=0\r\no=caller 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
  "t=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
static const char sdp_callee[] =
  "v=0\r\no=callee 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
  "t=0 0\r\nm=audio 6002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/* The callee's response to the request it last got (uas-call.xml). */
static size_t callee_reply(char *out, size_t cap, int code, const char *reason, int call,
                           int invite)
{
  char tag[48];
  size_t at = (size_t)snprintf(out, cap, "SIP/2.0 %d %s\r\n", code, reason);
  const char *rq = to_callee.buf;
  snprintf(tag, sizeof tag, ";tag=4242SIPpTag01%d", call);
  at = copy_lines(out, at, cap, rq, "Via", NULL);
  at = copy_lines(out, at, cap, rq, "From", NULL);
  at = copy_lines(out, at, cap, rq, "To", invite ? tag : NULL);
  at = copy_lines(out, at, cap, rq, "Call-ID", NULL);
  at = copy_lines(out, at, cap, rq, "CSeq", NULL);
  if (invite) {
    at = copy_lines(out, at, cap, rq, "Record-Route", NULL);
    at += (size_t)snprintf(out + at, cap - at, "Contact: <sip:callee@127.0.0.1:%d>\r\n",
                           CALLEE_PORT);
  }
  if (code == 200 && invite)
    at += (size_t)snprintf(out + at, cap - at,
                           "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
                           sizeof sdp_callee - 1, sdp_callee);
  else
    at += (size_t)snprintf(out + at, cap - at, "Content-Length: 0\r\n\r\n");
  return at;
}

/* The caller's ACK or BYE after the 200 it last got: to the Contact, by
 * the Record-Route set (one proxy: the same list). */
static size_t caller_request(char *out, size_t cap, const char *method, int cseq, int call,
                             const char *branch)
{
  const char *ok = to_caller.buf;
  size_t at = (size_t)snprintf(out, cap,
                               "%s sip:callee@127.0.0.1:%d SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s-%d\r\n"
                               "From: <sip:caller@127.0.0.1:%d>;tag=4242SIPpTag00%d\r\n",
                               method, CALLEE_PORT, CALLER_PORT, branch, call, CALLER_PORT,
                               call);
  at = copy_lines(out, at, cap, ok, "To", NULL);
  at += (size_t)snprintf(out + at, cap - at,
                         "Call-ID: %d-4242@127.0.0.1\r\nCSeq: %d %s\r\n", call, cseq, method);
  {
    size_t rr = at;
    at = copy_lines(out, at, cap, ok, "Record-Route", NULL);
    if (at > rr) {   /* Record-Route: -> Route: */
      memmove(out + rr + 6, out + rr + 13, at - rr - 13);
      memcpy(out + rr, "Route:", 6);
      at -= 7;
    }
  }
  at += (size_t)snprintf(out + at, cap - at,
                         "Contact: <sip:caller@127.0.0.1:%d>\r\nMax-Forwards: 70\r\n"
                         "Content-Length: 0\r\n\r\n",
                         CALLER_PORT);
  return at;
}

static int status_of(const side *s)
{
  return s->len > 12 && !strncmp(s->buf, "SIP/2.0 ", 8) ? atoi(s->buf + 8) : 0;
}

int main(int argc, char **argv)
{
  static const char *const domains[] = { "127.0.0.1", NULL };
  sipsrv_registrar_cfg rc = SIPSRV_REGISTRAR_CFG_INIT;
  sipsrv_proxy_cfg pc = SIPSRV_PROXY_CFG_INIT;
  sipsrv_core *core = NULL;
  sipsrv_transport *tp = NULL;
  sipsrv_store *store = NULL;
  sipsrv_registrar *reg = NULL;
  sipsrv_proxy *px = NULL;
  struct sockaddr_in caller, callee;
  const char *mode = argc > 1 ? argv[1] : "stateful";
  int n = argc > 2 ? atoi(argv[2]) : 20000, broken = 0;
  double t0, t1;
  size_t m0;
  sipsrv_counters cnt;
  char buf[4096];
  size_t len;

  if (n <= 0)
    n = 20000;
  if (!strcmp(mode, "stateless") || !strcmp(mode, "stateless-hop"))
    pc.mode = SIPSRV_PROXY_STATELESS;
  else if (!strcmp(mode, "dialog"))
    pc.mode = SIPSRV_PROXY_DIALOG;
  else if (!strcmp(mode, "stateful"))
    pc.mode = SIPSRV_PROXY_STATEFUL;
  else {
    fprintf(stderr, "usage: bench_proxy [stateless|stateless-hop|stateful|dialog] [N]\n");
    return 2;
  }
  if (bench_core(&core, &tp, &store, &udp_ops, &now_ms, &wall_ms) < 0)
    return 1;
  rc.domains = domains;
  rc.store = store;
  pc.domains = domains;
  pc.location = store;
  if (!strcmp(mode, "stateless-hop")) {
    /* As sipsrv-stateless-proxy --to (bench/compare.sh): every request to
     * one next hop, no location service. */
    pc.location = NULL;
    pc.next_hop = "sip:127.0.0.1:5391";   /* CALLEE_PORT */
  }
  if (sipsrv_registrar_new(&reg, core, &rc) < 0 || sipsrv_proxy_new(&px, core, &pc) < 0)
    return 1;
  memset(&caller, 0, sizeof caller);
  caller.sin_family = AF_INET;
  caller.sin_port = htons(CALLER_PORT);
  inet_pton(AF_INET, "127.0.0.1", &caller.sin_addr);
  callee = caller;
  callee.sin_port = htons(CALLEE_PORT);

#define FEED(from, b, l) \
  sipsrv_core_recv(core, tp, 0, (const struct sockaddr *)&(from), sizeof(from), (b), (l))

  len = (size_t)snprintf(buf, sizeof buf,
                         "REGISTER sip:127.0.0.1:5060 SIP/2.0\r\n"
                         "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-reg\r\n"
                         "From: <sip:callee@127.0.0.1>;tag=r1\r\n"
                         "To: <sip:callee@127.0.0.1>\r\n"
                         "Call-ID: reg-4242@127.0.0.1\r\nCSeq: 1 REGISTER\r\n"
                         "Contact: <sip:callee@127.0.0.1:%d>\r\nExpires: 86400\r\n"
                         "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                         CALLEE_PORT, CALLEE_PORT);
  FEED(callee, buf, len);
  if (status_of(&to_callee) != 200) {
    fprintf(stderr, "bench_proxy: the callee's REGISTER got: %.60s\n", to_callee.buf);
    return 1;
  }

  m0 = mallinfo2().uordblks;
  t0 = bench_cpu_s();
  for (int i = 0; i < n; i++) {
    unsigned long callee_n = to_callee.n, caller_n = to_caller.n;
    len = (size_t)snprintf(buf, sizeof buf,
                           "INVITE sip:callee@127.0.0.1:5060 SIP/2.0\r\n"
                           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-inv-%d\r\n"
                           "From: <sip:caller@127.0.0.1:%d>;tag=4242SIPpTag00%d\r\n"
                           "To: <sip:callee@127.0.0.1:5060>\r\n"
                           "Call-ID: %d-4242@127.0.0.1\r\nCSeq: 1 INVITE\r\n"
                           "Contact: <sip:caller@127.0.0.1:%d>\r\nMax-Forwards: 70\r\n"
                           "Subject: sipsrv bench\r\nContent-Type: application/sdp\r\n"
                           "Content-Length: %zu\r\n\r\n%s",
                           CALLER_PORT, i, CALLER_PORT, i, i, CALLER_PORT, sizeof sdp_caller - 1,
                           sdp_caller);
    FEED(caller, buf, len);                               /* -> INVITE to the callee */
    len = callee_reply(buf, sizeof buf, 180, "Ringing", i, 1);
    FEED(callee, buf, len);                               /* -> 180 to the caller */
    len = callee_reply(buf, sizeof buf, 200, "OK", i, 1);
    FEED(callee, buf, len);                               /* -> 200 to the caller */
    if (status_of(&to_caller) != 200) {
      broken++;
      now_ms += 2;
      sipsrv_core_expire(core);
      continue;
    }
    len = caller_request(buf, sizeof buf, "ACK", 1, i, "ack");
    FEED(caller, buf, len);                               /* -> ACK to the callee */
    len = caller_request(buf, sizeof buf, "BYE", 2, i, "bye");
    FEED(caller, buf, len);                               /* -> BYE to the callee */
    len = callee_reply(buf, sizeof buf, 200, "OK", i, 0);
    FEED(callee, buf, len);                               /* -> 200 to the caller */
    /* INVITE, ACK, BYE reached the callee; 180, 200, 200 the caller (and
     * a 100 when the transaction layer's 200 ms passed, RFC 3261 17.2.1). */
    if (to_callee.n - callee_n != 3 || to_caller.n - caller_n < 3 ||
        status_of(&to_caller) != 200) {
      if (!broken++ && getenv("BENCH_DEBUG"))
        fprintf(stderr, "call %d: %lu to the callee, %lu to the caller, last:\n%s\n", i,
                to_callee.n - callee_n, to_caller.n - caller_n, to_caller.buf);
    }
    now_ms += 2;
    sipsrv_core_expire(core);
  }
  t1 = bench_cpu_s();
  printf("%-9s %6d calls: %6.1f us CPU each (6 messages in, 6 out); %d broken\n", mode, n,
         (t1 - t0) * 1e6 / n, broken);
  if (sipsrv_core_counters(core, &cnt, sizeof cnt) == 0 && cnt.transactions_live) {
    size_t held = mallinfo2().uordblks - m0;
    unsigned calls = n < 16000 ? (unsigned)n : 16000;    /* 32 s at 2 ms a call */
    printf("%-9s memory: %zu bytes held, %llu transactions live: %zu bytes each, %zu per call\n",
           mode, held, (unsigned long long)cnt.transactions_live,
           held / (size_t)cnt.transactions_live, held / calls);
  }
  sipsrv_proxy_free(px);
  sipsrv_registrar_free(reg);
  sipsrv_core_free(core);
  sipsrv_store_free(store);
  return broken ? 1 : 0;
}
