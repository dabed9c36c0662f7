/* libFuzzer target: the roles' request entry points (see README.md).
 *
 * Each input builds a fresh core on a manual clock with two in-memory
 * transports (UDP, and TCP with connections), the memory store with one
 * user, a registrar, a proxy (stateless, stateful or call-stateful) or a
 * redirect server, and a UAS, exactly as sipsrv-server attaches them. The
 * input is a script of events; then the clock runs past every timer and
 * everything is freed, so LeakSanitizer sees what a run leaks.
 *
 * Input: one configuration byte, then events separated by "\n#!":
 *   byte 0      bits 0-1 the role (0 stateless proxy, 1 stateful, 2 call-
 *               stateful, 3 redirect); bit 2 digest authentication; bit 3
 *               sends fail (transport errors); bit 4 stream events use the
 *               second connection; bit 5 the proxy relays (routes by the
 *               Request-URI what is not for its domain: a stateless one
 *               then forwards plain requests from their bytes) and
 *               Record-Routes
 *   'a' BYTES   a datagram from 192.0.2.1:5060
 *   'b' BYTES   a datagram from 192.0.2.2:5070
 *   't' BYTES   bytes on a TCP connection from 192.0.2.3:5080
 *   'c' N       the clock moves N * 97 ms on (timers fire)
 *   'r' N       the last request the server sent is answered (status from
 *               a table by N), by its destination, as a datagram
 *   'x'         the TCP connection closes
 * Seeds (build.sh): every conformance message as one datagram and as TCP
 * bytes under each role, and call flows (REGISTER, INVITE, answers, ACK,
 * BYE, CANCEL). */
#define _GNU_SOURCE /* memmem */
#include <sipsrv/sipsrv.h>

#include "fuzz_common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#define MAX_EVENTS 64
#define SENT_MAX 8192

static uint64_t now_ms, wall_ms;
static bool fail_sends;
static char last_req[SENT_MAX];
static size_t last_req_len;
static struct sockaddr_storage last_dst;
static socklen_t last_dstlen;

static uint64_t clock_cb(void *user)
{
  return *(uint64_t *)user;
}

/* Keep the last request sent (for 'r'); every send succeeds unless the
 * configuration says sends fail. */
static int tp_send(void *user, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
                   const struct iovec *iov, int iovcnt)
{
  size_t n = 0;
  char buf[SENT_MAX];
  (void)user;
  (void)conn;
  for (int i = 0; i < iovcnt; i++) {
    if (n + iov[i].iov_len > sizeof buf)
      return SIPSRV_E_IO;
    memcpy(buf + n, iov[i].iov_base, iov[i].iov_len);
    n += iov[i].iov_len;
  }
  if (n > 4 && memcmp(buf, "SIP/", 4) != 0 && dstlen <= sizeof last_dst) {
    memcpy(last_req, buf, n);
    last_req_len = n;
    memcpy(&last_dst, dst, dstlen);
    last_dstlen = dstlen;
  }
  return fail_sends ? SIPSRV_E_IO : 0;
}

/* The core asks for a close when a stream's framing is lost: the
 * connection closes after the event, as a transport would report it. */
static bool close_pending;

static void tp_close(void *user, uint64_t conn)
{
  (void)user;
  (void)conn;
  close_pending = true;
}

static const struct sipsrv_transport_ops udp_ops = {
  SIPSRV_TRANSPORT_OPS_VERSION, sizeof(struct sipsrv_transport_ops), "UDP", 0, tp_send, NULL
};
static const struct sipsrv_transport_ops tcp_ops = {
  SIPSRV_TRANSPORT_OPS_VERSION, sizeof(struct sipsrv_transport_ops), "TCP",
  SIPSRV_TP_RELIABLE | SIPSRV_TP_STREAM, tp_send, tp_close
};

static socklen_t addr(struct sockaddr_storage *ss, const char *ip, unsigned port)
{
  struct sockaddr_in *a = (struct sockaddr_in *)ss;
  memset(ss, 0, sizeof *ss);
  a->sin_family = AF_INET;
  a->sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, ip, &a->sin_addr);
  return sizeof *a;
}

/* 'r': the last request sent, answered by where it went. */
static void answer_last(sipsrv_core *core, sipsrv_transport *udp, unsigned char pick)
{
  static const int codes[] = { 100, 180, 183, 200, 202, 301, 302, 401, 407, 408,
                               480, 486, 487, 500, 503, 600, 603 };
  sipsrv_msg *req = NULL, *rsp = NULL;
  sipsrv_verdict v;
  char buf[SENT_MAX];
  long n;

  if (!last_req_len || sipsrv_msg_parse(&req, last_req, last_req_len, 0, &v) < 0 || !req)
    return;
  if (sipsrv_msg_is_request(req) &&
      sipsrv_msg_reply(&rsp, req, codes[pick % (sizeof codes / sizeof codes[0])], NULL, NULL) == 0) {
    n = sipsrv_msg_serialize(rsp, buf, sizeof buf);
    if (n > 0 && (size_t)n <= sizeof buf)
      sipsrv_core_recv(core, udp, 0, (struct sockaddr *)&last_dst, last_dstlen, buf, (size_t)n);
  }
  sipsrv_msg_free(rsp);
  sipsrv_msg_free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const domains[] = { "example.com", "192.0.2.10", NULL };
  static const char sep[] = "\n#!";
  sipsrv_core_cfg ccfg = SIPSRV_CORE_CFG_INIT;
  sipsrv_registrar_cfg gcfg = SIPSRV_REGISTRAR_CFG_INIT;
  sipsrv_proxy_cfg pcfg = SIPSRV_PROXY_CFG_INIT;
  sipsrv_redirect_cfg rcfg = SIPSRV_REDIRECT_CFG_INIT;
  sipsrv_core *core = NULL;
  sipsrv_store *store = NULL;
  sipsrv_registrar *reg = NULL;
  sipsrv_proxy *proxy = NULL;
  sipsrv_redirect *rd = NULL;
  sipsrv_uas *uas = NULL;
  sipsrv_transport *udp = NULL, *tcp = NULL;
  struct sockaddr_storage sa, sb, st;
  socklen_t la, lb, lt;
  const char *p, *end;
  unsigned role, events = 0;
  uint64_t conn;
  static bool inited;

  if (!inited) {
    fz_init();
    inited = true;
  }
  if (size < 1)
    return 0;
  role = data[0] & 3;
  fail_sends = (data[0] & 8) != 0;
  conn = (data[0] & 16) ? 2 : 1;
  now_ms = 1000;
  wall_ms = 1800000000000ull;
  last_req_len = 0;
  close_pending = false;
  la = addr(&sa, "192.0.2.1", 5060);
  lb = addr(&sb, "192.0.2.2", 5070);
  lt = addr(&st, "192.0.2.3", 5080);

  ccfg.clock = clock_cb;
  ccfg.clock_user = &now_ms;
  ccfg.wall_clock = clock_cb;
  ccfg.wall_clock_user = &wall_ms;
  if (!fz_ok("core-new", sipsrv_core_new(&core, &ccfg) == 0))
    return 0;
  if (!fz_ok("store-new", sipsrv_store_memory_new(&store, core) == 0) ||
      !fz_ok("add-user", sipsrv_store_add_user(store, "alice", "example.com", "secret") == 0) ||
      !fz_ok("udp", sipsrv_core_add_transport(core, &udp_ops, NULL, "192.0.2.10", 5060, &udp) == 0) ||
      !fz_ok("tcp", sipsrv_core_add_transport(core, &tcp_ops, NULL, "192.0.2.10", 5060, &tcp) == 0))
    goto out;
  gcfg.domains = pcfg.domains = rcfg.domains = domains;
  gcfg.store = pcfg.location = rcfg.location = store;
  if (data[0] & 4) {
    gcfg.auth_realm = "example.com";
    gcfg.auth_algs = pcfg.auth_algs = SIPSRV_DIGEST_MD5;
    if (role != 0)
      pcfg.auth_realm = "example.com";
  }
  pcfg.relay = pcfg.record_route = (data[0] & 32) != 0;
  pcfg.mode = role == 0 ? SIPSRV_PROXY_STATELESS
              : role == 2 ? SIPSRV_PROXY_DIALOG : SIPSRV_PROXY_STATEFUL;
  /* The same attach order as sipsrv-server. */
  if (!fz_ok("registrar-new", sipsrv_registrar_new(&reg, core, &gcfg) == 0))
    goto out;
  if (role == 3 ? !fz_ok("redirect-new", sipsrv_redirect_new(&rd, core, &rcfg) == 0)
                : !fz_ok("proxy-new", sipsrv_proxy_new(&proxy, core, &pcfg) == 0))
    goto out;
  if (!fz_ok("uas-new", sipsrv_uas_new(&uas, core, NULL) == 0))
    goto out;

  p = (const char *)data + 1;
  end = (const char *)data + size;
  while (p < end && events++ < MAX_EVENTS) {
    const char *next = memmem(p, (size_t)(end - p), sep, sizeof sep - 1);
    const char *e = next ? next : end;
    char op = *p;
    const char *body = p + 1;
    size_t len = e > body ? (size_t)(e - body) : 0;

    switch (op) {
    case 'a':
      sipsrv_core_recv(core, udp, 0, (struct sockaddr *)&sa, la, body, len);
      break;
    case 'b':
      sipsrv_core_recv(core, udp, 0, (struct sockaddr *)&sb, lb, body, len);
      break;
    case 't':
      sipsrv_core_recv(core, tcp, conn, (struct sockaddr *)&st, lt, body, len);
      break;
    case 'c':
      now_ms += (uint64_t)(len ? (unsigned char)body[0] : 1) * 97;
      wall_ms = 1800000000000ull + now_ms;
      sipsrv_core_expire(core);
      sipsrv_store_expire(store, (int64_t)wall_ms);
      break;
    case 'r':
      answer_last(core, udp, len ? (unsigned char)body[0] : 0);
      break;
    case 'x':
      sipsrv_core_conn_closed(core, tcp, conn);
      break;
    default:
      break;
    }
    if (close_pending) {
      close_pending = false;
      sipsrv_core_conn_closed(core, tcp, conn);
    }
    p = next ? next + sizeof sep - 1 : end;
  }
  /* Past every timer: Timer C (3 min), B/F/H/J (64*T1), dialogs. */
  for (int i = 0; i < 8; i++) {
    now_ms += 60000;
    wall_ms += 60000;
    sipsrv_core_expire(core);
  }
out:
  sipsrv_proxy_free(proxy);
  sipsrv_redirect_free(rd);
  sipsrv_registrar_free(reg);
  sipsrv_uas_free(uas);
  sipsrv_core_free(core);
  sipsrv_store_free(store);
  return 0;
}
