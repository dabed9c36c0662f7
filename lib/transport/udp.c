/* The UDP transport (RFC 3261 18; datagrams up to 64 KiB). */
#include "transport_int.h"

#include <sipsrv/error.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#define UDP_BUF 65536
#define UDP_BURST 64          /* datagrams read per readiness event */

struct ss_udp {
  sipsrv_core *core;
  ss_poller poller;
  int fd;
  sipsrv_transport *tp;
  struct sipsrv_transport_ops ops;
  unsigned port;
  char *buf;
};

static int udp_send(void *user, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
                    const struct iovec *iov, int iovcnt)
{
  ss_udp *u = user;
  struct msghdr mh;
  (void)conn;
  memset(&mh, 0, sizeof mh);
  mh.msg_name = (void *)dst;
  mh.msg_namelen = dstlen;
  mh.msg_iov = (struct iovec *)iov;
  mh.msg_iovlen = (size_t)iovcnt;
  /* A datagram that cannot go now is lost like any other: the transaction
   * layer retransmits (RFC 3261 17). */
  return sendmsg(u->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? SIPSRV_E_IO : 0;
}

static void udp_readable(void *arg, unsigned events)
{
  ss_udp *u = arg;
  (void)events;
  for (int i = 0; i < UDP_BURST; i++) {
    struct sockaddr_storage src;
    socklen_t srclen = sizeof src;
    ssize_t n = recvfrom(u->fd, u->buf, UDP_BUF, MSG_DONTWAIT, (struct sockaddr *)&src, &srclen);
    if (n < 0)
      break;                             /* EAGAIN, or an ICMP error reported late */
    sipsrv_core_recv(u->core, u->tp, 0, (struct sockaddr *)&src, srclen, u->buf, (size_t)n);
  }
}

int ss_udp_open(ss_udp **out, sipsrv_core *core, const ss_poller *poller,
                const struct sockaddr_storage *addr, socklen_t len)
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
  u->buf = ss_alloc(core, UDP_BUF);
  if (!u->buf)
    goto fail;
  u->fd = socket(addr->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
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
  ss_free(core, u->buf);
  ss_free(core, u);
  return rc;
}

unsigned ss_udp_port(const ss_udp *u)
{
  return u->port;
}

void ss_udp_close(ss_udp *u)
{
  if (!u)
    return;
  sipsrv_core_remove_transport(u->core, u->tp);
  u->poller.unwatch(u->poller.self, u->fd);
  close(u->fd);
  ss_free(u->core, u->buf);
  ss_free(u->core, u);
}
