/* The UDP transport (RFC 3261 18; datagrams up to 64 KiB).
 *
 * Datagram I/O is batched: one recvmmsg() takes every datagram waiting (up
 * to UDP_RBATCH), the core handles them in order, and what it sends from
 * them is queued and leaves in one sendmmsg() when the batch is done. On a
 * busy server this saves a system call per datagram each way and, above
 * all, a wake-up of the peer per datagram: its socket gets a burst. A send
 * made outside a batch (a timer's retransmission, a forward from another
 * socket's batch) goes at once. */
#define _GNU_SOURCE
#include "transport_int.h"
#include "core/core_obj.h"

#include <sipsrv/error.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#define UDP_BUF 65536         /* the largest datagram (RFC 768: 65507 B of payload) */
#define UDP_RBATCH 16         /* datagrams per recvmmsg() */
#define UDP_ROUNDS 4          /* recvmmsg() calls per readiness event, at most */
#define UDP_SQ 64             /* datagrams queued for one sendmmsg() */
#define UDP_SBUF (64 * 1024)  /* their bytes */
#define UDP_RCVBUF (4 * 1024 * 1024)  /* SO_RCVBUF asked for */

struct ss_udp {
  sipsrv_core *core;
  ss_poller poller;
  int fd;
  sipsrv_transport *tp;
  struct sipsrv_transport_ops ops;
  unsigned port;
  char *rbuf;                 /* UDP_RBATCH buffers of UDP_BUF */
  struct mmsghdr rmsg[UDP_RBATCH];
  struct iovec riov[UDP_RBATCH];
  struct sockaddr_storage rsrc[UDP_RBATCH];
  /* The send queue, open while a batch is handled. */
  int batching;
  unsigned nq;
  size_t sused;
  char *sbuf;                 /* UDP_SBUF */
  struct mmsghdr smsg[UDP_SQ];
  struct iovec siov[UDP_SQ];
  struct sockaddr_storage sdst[UDP_SQ];
  int family;                 /* AF_INET or AF_INET6 */
  ss_udp_steer_fn steer;      /* NULL: every datagram is handled here */
  void *steer_arg;
};

static int send_now(ss_udp *u, const struct sockaddr *dst, socklen_t dstlen,
                    const struct iovec *iov, int iovcnt)
{
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_name = (void *)dst;
  mh.msg_namelen = dstlen;
  mh.msg_iov = (struct iovec *)iov;
  mh.msg_iovlen = (size_t)iovcnt;
  /* A datagram that cannot go now is lost like any other: the transaction
   * layer retransmits (RFC 3261 17). */
  return sendmsg(u->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? SIPSRV_E_IO : 0;
}

static void flush(ss_udp *u)
{
  unsigned done = 0;
  while (done < u->nq) {
    int n = sendmmsg(u->fd, u->smsg + done, u->nq - done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      done += (unsigned)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    /* The datagram at done failed (no route, buffer full...): it is lost
     * like any datagram (RFC 3261 17: the transaction layer retransmits or
     * times out); count it (the core's send failures) and go on. */
    u->core->counters.send_failures++;
    done++;
  }
  u->nq = 0;
  u->sused = 0;
}

static int udp_send(void *user, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
                    const struct iovec *iov, int iovcnt)
{
  ss_udp *u = user;
  size_t len = 0;
  (void)conn;
  if (!u->batching || dstlen > sizeof u->sdst[0])
    return send_now(u, dst, dstlen, iov, iovcnt);
  for (int i = 0; i < iovcnt; i++)
    len += iov[i].iov_len;
  if (len > UDP_SBUF)
    return send_now(u, dst, dstlen, iov, iovcnt);
  if (u->nq == UDP_SQ || u->sused + len > UDP_SBUF)
    flush(u);
  {
    unsigned k = u->nq++;
    char *p = u->sbuf + u->sused;
    for (int i = 0; i < iovcnt; i++) {
      memcpy(p, iov[i].iov_base, iov[i].iov_len);
      p += iov[i].iov_len;
    }
    memcpy(&u->sdst[k], dst, dstlen);
    u->siov[k].iov_base = u->sbuf + u->sused;
    u->siov[k].iov_len = len;
    memset(&u->smsg[k], 0, sizeof u->smsg[k]);
    u->smsg[k].msg_hdr.msg_name = &u->sdst[k];
    u->smsg[k].msg_hdr.msg_namelen = dstlen;
    u->smsg[k].msg_hdr.msg_iov = &u->siov[k];
    u->smsg[k].msg_hdr.msg_iovlen = 1;
    u->sused += len;
  }
  return 0;
}

static void udp_readable(void *arg, unsigned events)
{
  ss_udp *u = arg;
  (void)events;
  u->batching = 1;
  for (int round = 0; round < UDP_ROUNDS; round++) {
    int n;
    for (unsigned i = 0; i < UDP_RBATCH; i++) {
      u->rmsg[i].msg_hdr.msg_namelen = sizeof u->rsrc[i];
      u->rmsg[i].msg_hdr.msg_flags = 0;
      u->rmsg[i].msg_len = 0;
    }
    n = recvmmsg(u->fd, u->rmsg, UDP_RBATCH, MSG_DONTWAIT, NULL);
    if (n <= 0)
      break;                             /* EAGAIN, or an ICMP error reported late */
    for (int i = 0; i < n; i++) {
      const struct sockaddr *src = (const struct sockaddr *)&u->rsrc[i];
      socklen_t srclen = u->rmsg[i].msg_hdr.msg_namelen;
      if (u->steer && u->steer(u->steer_arg, u, src, srclen, u->riov[i].iov_base,
                               u->rmsg[i].msg_len))
        continue;                        /* another thread's */
      sipsrv_core_recv(u->core, u->tp, 0, src, srclen, u->riov[i].iov_base, u->rmsg[i].msg_len);
    }
    if (n < UDP_RBATCH)
      break;                             /* the socket is drained */
  }
  flush(u);
  u->batching = 0;
}

void ss_udp_set_steer(ss_udp *u, ss_udp_steer_fn fn, void *arg)
{
  u->steer = fn;
  u->steer_arg = arg;
}

void ss_udp_begin(ss_udp *u)
{
  u->batching = 1;
}

void ss_udp_deliver(ss_udp *u, const struct sockaddr *src, socklen_t srclen, const void *data,
                    size_t len)
{
  sipsrv_core_recv(u->core, u->tp, 0, src, srclen, data, len);
}

void ss_udp_end(ss_udp *u)
{
  flush(u);
  u->batching = 0;
}

int ss_udp_open(ss_udp **out, sipsrv_core *core, const ss_poller *poller,
                const struct sockaddr_storage *addr, socklen_t len, bool reuseport)
{
  ss_udp *u;
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  char host[64];
  int rc = SIPSRV_E_IO;

  u = ss_zalloc(core, sizeof *u);
  if (!u)
    return SIPSRV_E_NOMEM;
  u->core = core;
  u->poller = *poller;
  u->fd = -1;
  u->family = addr->ss_family;
  u->rbuf = ss_alloc(core, (size_t)UDP_RBATCH * UDP_BUF);
  u->sbuf = ss_alloc(core, UDP_SBUF);
  if (!u->rbuf || !u->sbuf) {
    rc = SIPSRV_E_NOMEM;
    goto fail;
  }
  for (unsigned i = 0; i < UDP_RBATCH; i++) {
    u->riov[i].iov_base = u->rbuf + (size_t)i * UDP_BUF;
    u->riov[i].iov_len = UDP_BUF;
    u->rmsg[i].msg_hdr.msg_name = &u->rsrc[i];
    u->rmsg[i].msg_hdr.msg_iov = &u->riov[i];
    u->rmsg[i].msg_hdr.msg_iovlen = 1;
  }
  u->fd = socket(addr->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (u->fd >= 0) {
    /* A receive buffer that rides out a pause of the process (a busy
     * host, a slow store call): at 2000 calls/s a proxy takes some 14000
     * datagrams a second, and the default buffer (about 200 KB) overflows
     * in a few tens of milliseconds; every datagram lost there costs the
     * sender a retransmission (RFC 3261 17.1.2.2: 500 ms, then doubling).
     * The kernel caps it at net.core.rmem_max; root may go beyond. */
    int want = UDP_RCVBUF;
    int one = 1;
    if (setsockopt(u->fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) < 0)
      (void)setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
    /* Several threads' sockets on one port; the kernel spreads datagrams
     * over them by source and destination (loop.h, groups). */
    if (reuseport && setsockopt(u->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
      goto fail;
  }
  if (u->fd < 0 || bind(u->fd, (const struct sockaddr *)addr, len) < 0 ||
      getsockname(u->fd, (struct sockaddr *)&bound, &blen) < 0 ||
      ss_sockaddr_host(&bound, host, sizeof host, &u->port) < 0)
    goto fail;
  u->ops.version = SIPSRV_TRANSPORT_OPS_VERSION;
  u->ops.size = sizeof u->ops;
  u->ops.name = "UDP";
  u->ops.send = udp_send;
  if ((rc = sipsrv_core_add_transport(core, &u->ops, u, host, u->port, &u->tp)) < 0 ||
      (rc = poller->watch(poller->self, u->fd, SS_POLL_IN, udp_readable, u)) < 0)
    goto fail;
  *out = u;
  return 0;
fail:
  if (u->fd >= 0)
    close(u->fd);
  ss_free(core, u->rbuf);
  ss_free(core, u->sbuf);
  ss_free(core, u);
  return rc;
}

unsigned ss_udp_port(const ss_udp *u)
{
  return u->port;
}

int ss_udp_family(const ss_udp *u)
{
  return u->family;
}

void ss_udp_close(ss_udp *u)
{
  if (!u)
    return;
  sipsrv_core_remove_transport(u->core, u->tp);
  u->poller.unwatch(u->poller.self, u->fd);
  close(u->fd);
  ss_free(u->core, u->rbuf);
  ss_free(u->core, u->sbuf);
  ss_free(u->core, u);
}
