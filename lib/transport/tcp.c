#define _GNU_SOURCE /* accept4 */
/* The TCP transport: a listener, the connections it accepts, and the ones
 * it opens to send requests, reused for any message to the same address
 * (RFC 3261 18, 18.2.2; RFC 5923 3 for the reuse). Writes that the kernel
 * does not take at once wait in a per-connection buffer.
 *
 * In a group of loops (ss_tcp_set_group()), each loop has a listener on
 * the port (SO_REUSEPORT) and owns the connections it accepts or opens:
 * only its thread reads and writes them. A connection's id names its
 * owner (its low 6 bits), so that a send another loop makes on it (a
 * response to a request it was handed) goes to the owner, and a send by
 * address finds a connection another loop owns (a UA behind NAT is
 * reachable only over the connection it opened). */
#include "transport_int.h"

#include <sipsrv/error.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define TCP_RBUF 65536
#define TCP_WMAX (4u << 20)   /* a peer that reads nothing gets closed past this */
#define TCP_BUCKETS 256
#define TCP_OWNER_BITS 6      /* a group has 64 loops at most */

typedef struct tcp_conn {
  ss_tcp *tcp;
  uint64_t id;
  int fd;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  char *wbuf;
  size_t wlen, wcap;
  bool connecting;
  bool closing;               /* close asked while reading: closed after */
  bool eof;                   /* the peer stopped sending: close once written */
  unsigned reading;
  uint64_t last;              /* last activity, ms */
  struct tcp_conn *next, *prev, *hnext;
} tcp_conn;

struct ss_tcp {
  sipsrv_core *core;
  ss_poller poller;
  int lfd;
  sipsrv_transport *tp;
  struct sipsrv_transport_ops ops;
  unsigned port;
  uint32_t idle_ms;
  uint64_t next_id;
  tcp_conn *conns;
  tcp_conn *buckets[TCP_BUCKETS];
  size_t nconns;
  char *rbuf;
  int family;
  /* In a group: the others' sends (above). mu guards the connection list
   * and buckets against other loops' ss_tcp_find() (the owner changes them
   * under it; its own reads need no lock). */
  ss_tcp_foreign_fn foreign;
  void *foreign_arg;
  unsigned gidx;
  pthread_mutex_t mu;
};

static bool grouped(const ss_tcp *t)
{
  return t->foreign != NULL;
}

static tcp_conn *by_id(const ss_tcp *t, uint64_t id)
{
  for (tcp_conn *c = t->buckets[id % TCP_BUCKETS]; c; c = c->hnext)
    if (c->id == id)
      return c;
  return NULL;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr *b, socklen_t blen)
{
  if (a->ss_family != b->sa_family)
    return false;
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *x = (const struct sockaddr_in *)a, *y = (const struct sockaddr_in *)b;
    return blen >= sizeof *y && x->sin_port == y->sin_port &&
           x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a->ss_family == AF_INET6) {
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const struct sockaddr_in6 *)b;
    return blen >= sizeof *y && x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
  }
  return false;
}

static tcp_conn *by_addr(const ss_tcp *t, const struct sockaddr *a, socklen_t alen)
{
  for (tcp_conn *c = t->conns; c; c = c->next)
    if (!c->closing && same_addr(&c->addr, a, alen))
      return c;
  return NULL;
}

static void conn_free(tcp_conn *c)
{
  ss_tcp *t = c->tcp;
  tcp_conn **pp = &t->buckets[c->id % TCP_BUCKETS];
  pthread_mutex_lock(&t->mu);
  while (*pp && *pp != c)
    pp = &(*pp)->hnext;
  if (*pp)
    *pp = c->hnext;
  if (c->prev)
    c->prev->next = c->next;
  else
    t->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  t->nconns--;
  pthread_mutex_unlock(&t->mu);
  t->poller.unwatch(t->poller.self, c->fd);
  close(c->fd);
  ss_free(t->core, c->wbuf);
  ss_free(t->core, c);
}

/* Close now, unless bytes of this connection are being handled: then after. */
static void conn_close(tcp_conn *c)
{
  ss_tcp *t = c->tcp;
  if (c->reading) {
    c->closing = true;
    return;
  }
  sipsrv_core_conn_closed(t->core, t->tp, c->id);
  conn_free(c);
}

static void conn_io(void *arg, unsigned events);

static tcp_conn *conn_new(ss_tcp *t, int fd, const struct sockaddr *addr, socklen_t alen)
{
  tcp_conn *c = ss_zalloc(t->core, sizeof *c);
  int one = 1;
  if (!c)
    return NULL;
  c->tcp = t;
  c->fd = fd;
  c->id = ++t->next_id;
  if (grouped(t))
    c->id = (c->id << TCP_OWNER_BITS) | t->gidx;
  memcpy(&c->addr, addr, alen);
  c->addrlen = alen;
  c->last = ss_core_now(t->core);
  /* Small messages, sent whole: do not wait to coalesce. */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (t->poller.watch(t->poller.self, fd, SS_POLL_IN, conn_io, c) < 0) {
    ss_free(t->core, c);
    return NULL;
  }
  pthread_mutex_lock(&t->mu);
  c->hnext = t->buckets[c->id % TCP_BUCKETS];
  t->buckets[c->id % TCP_BUCKETS] = c;
  c->next = t->conns;
  if (t->conns)
    t->conns->prev = c;
  t->conns = c;
  t->nconns++;
  pthread_mutex_unlock(&t->mu);
  return c;
}

static int queue(tcp_conn *c, const char *p, size_t n)
{
  ss_tcp *t = c->tcp;
  if (c->wlen + n > TCP_WMAX)
    return SIPSRV_E_IO;
  if (c->wlen + n > c->wcap) {
    size_t cap = c->wcap ? c->wcap : 4096;
    char *nb;
    while (cap < c->wlen + n)
      cap *= 2;
    nb = ss_alloc(t->core, cap);
    if (!nb)
      return SIPSRV_E_NOMEM;
    if (c->wlen)
      memcpy(nb, c->wbuf, c->wlen);
    ss_free(t->core, c->wbuf);
    c->wbuf = nb;
    c->wcap = cap;
  }
  memcpy(c->wbuf + c->wlen, p, n);
  c->wlen += n;
  return 0;
}

static int flush(tcp_conn *c)
{
  ss_tcp *t = c->tcp;
  while (c->wlen) {
    ssize_t n = send(c->fd, c->wbuf, c->wlen, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        break;
      return SIPSRV_E_IO;
    }
    memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t)n);
    c->wlen -= (size_t)n;
  }
  return t->poller.watch(t->poller.self, c->fd,
                         (c->eof ? 0 : SS_POLL_IN) | (c->wlen ? SS_POLL_OUT : 0), conn_io, c);
}

unsigned ss_tcp_conn_owner(uint64_t conn)
{
  return (unsigned)(conn & ((1u << TCP_OWNER_BITS) - 1));
}

static bool owned(const ss_tcp *t, uint64_t conn)
{
  return !grouped(t) || ss_tcp_conn_owner(conn) == t->gidx;
}

/* A send: on conn, else by address; hand: what another loop owns goes to
 * it (false for a send handed here). */
static int send_on(ss_tcp *t, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
                   const struct iovec *iov, int iovcnt, bool hand)
{
  tcp_conn *c;
  size_t total = 0, done = 0;

  /* Another loop's connection: its owner sends (the file comment). */
  if (conn && !owned(t, conn)) {
    if (hand)
      return t->foreign(t->foreign_arg, t, conn, dst, dstlen, iov, iovcnt);
    conn = 0;
  }
  c = conn ? by_id(t, conn) : NULL;
  /* RFC 3261 18.2.2: a response goes back on the connection its request
   * came on; when that is gone, or for a request, a connection to the
   * address is reused (RFC 5923) or opened: ours, or another loop's. */
  if (!c || c->closing)
    c = by_addr(t, dst, dstlen);
  if (!c && hand && grouped(t) && t->foreign(t->foreign_arg, t, 0, dst, dstlen, iov, iovcnt) == 0)
    return 0;
  if (!c) {
    int fd = socket(dst->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return SIPSRV_E_IO;
    if (connect(fd, dst, dstlen) < 0 && errno != EINPROGRESS) {
      close(fd);
      return SIPSRV_E_IO;
    }
    c = conn_new(t, fd, dst, dstlen);
    if (!c) {
      close(fd);
      return SIPSRV_E_NOMEM;
    }
    c->connecting = true;
  }
  for (int i = 0; i < iovcnt; i++)
    total += iov[i].iov_len;
  if (!c->wlen && !c->connecting) {
    struct msghdr mh;
    ssize_t n;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = (struct iovec *)iov;
    mh.msg_iovlen = (size_t)iovcnt;
    n = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      conn_close(c);
      return SIPSRV_E_IO;
    }
    done = n > 0 ? (size_t)n : 0;
  }
  c->last = ss_core_now(t->core);
  if (done == total)
    return 0;
  /* Keep the rest, in order. */
  for (int i = 0; i < iovcnt; i++) {
    size_t len = iov[i].iov_len;
    const char *base = iov[i].iov_base;
    if (done >= len) {
      done -= len;
      continue;
    }
    if (queue(c, base + done, len - done) < 0) {
      conn_close(c);
      return SIPSRV_E_IO;
    }
    done = 0;
  }
  return t->poller.watch(t->poller.self, c->fd, (c->eof ? 0 : SS_POLL_IN) | SS_POLL_OUT, conn_io, c) < 0
             ? SIPSRV_E_IO : 0;
}

static int tcp_send(void *user, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
                    const struct iovec *iov, int iovcnt)
{
  return send_on(user, conn, dst, dstlen, iov, iovcnt, true);
}

static void tcp_close_op(void *user, uint64_t conn)
{
  tcp_conn *c = by_id(user, conn);       /* never another loop's */
  if (c)
    conn_close(c);
}

static void conn_io(void *arg, unsigned events)
{
  tcp_conn *c = arg;
  ss_tcp *t = c->tcp;

  if (events & SS_POLL_OUT) {
    if (c->connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
        /* RFC 3261 17.1.4: what was waiting on this connection fails now. */
        struct sockaddr_storage a = c->addr;
        socklen_t alen = c->addrlen;
        conn_close(c);
        sipsrv_core_conn_failed(t->core, t->tp, (struct sockaddr *)&a, alen);
        return;
      }
      c->connecting = false;
    }
    if (flush(c) < 0 || (c->eof && !c->wlen)) {
      conn_close(c);
      return;
    }
  }
  if (!(events & SS_POLL_IN) || c->eof)
    return;
  c->reading++;
  for (;;) {
    ssize_t n = recv(c->fd, t->rbuf, TCP_RBUF, MSG_DONTWAIT);
    if (n > 0) {
      c->last = ss_core_now(t->core);
      sipsrv_core_recv(t->core, t->tp, c->id, (struct sockaddr *)&c->addr, c->addrlen, t->rbuf,
                       (size_t)n);
      if (c->closing)
        break;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (n == 0 && c->wlen) {
      /* A half-close: what is queued for the peer still goes out first. */
      c->eof = true;
      t->poller.watch(t->poller.self, c->fd, SS_POLL_OUT, conn_io, c);
      break;
    }
    c->closing = true;                   /* end of stream, or an error */
    break;
  }
  c->reading--;
  if (c->closing)
    conn_close(c);
}

static void tcp_accept(void *arg, unsigned events)
{
  ss_tcp *t = arg;
  (void)events;
  for (;;) {
    struct sockaddr_storage a;
    socklen_t alen = sizeof a;
    int fd = accept4(t->lfd, (struct sockaddr *)&a, &alen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      break;
    if (!conn_new(t, fd, (struct sockaddr *)&a, alen))
      close(fd);
  }
}

int ss_tcp_open(ss_tcp **out, sipsrv_core *core, const ss_poller *poller,
                const struct sockaddr_storage *addr, socklen_t len, uint32_t idle_ms,
                bool reuseport)
{
  ss_tcp *t;
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  char host[64];
  int one = 1, rc = SIPSRV_E_IO;

  t = ss_zalloc(core, sizeof *t);
  if (!t)
    return SIPSRV_E_NOMEM;
  t->core = core;
  t->poller = *poller;
  t->idle_ms = idle_ms;
  t->lfd = -1;
  t->family = addr->ss_family;
  pthread_mutex_init(&t->mu, NULL);
  t->rbuf = ss_alloc(core, TCP_RBUF);
  if (!t->rbuf)
    goto fail;
  t->lfd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (t->lfd < 0 || setsockopt(t->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      (reuseport && setsockopt(t->lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) ||
      bind(t->lfd, (const struct sockaddr *)addr, len) < 0 || listen(t->lfd, 128) < 0 ||
      getsockname(t->lfd, (struct sockaddr *)&bound, &blen) < 0 ||
      ss_sockaddr_host(&bound, host, sizeof host, &t->port) < 0)
    goto fail;
  t->ops.version = SIPSRV_TRANSPORT_OPS_VERSION;
  t->ops.size = sizeof t->ops;
  t->ops.name = "TCP";
  t->ops.flags = SIPSRV_TP_RELIABLE | SIPSRV_TP_STREAM;
  t->ops.send = tcp_send;
  t->ops.close = tcp_close_op;
  if ((rc = sipsrv_core_add_transport(core, &t->ops, t, host, t->port, &t->tp)) < 0 ||
      (rc = poller->watch(poller->self, t->lfd, SS_POLL_IN, tcp_accept, t)) < 0)
    goto fail;
  *out = t;
  return 0;
fail:
  if (t->lfd >= 0)
    close(t->lfd);
  pthread_mutex_destroy(&t->mu);
  ss_free(core, t->rbuf);
  ss_free(core, t);
  return rc;
}

void ss_tcp_set_group(ss_tcp *t, unsigned gidx, ss_tcp_foreign_fn fn, void *arg)
{
  t->gidx = gidx;
  t->foreign_arg = arg;
  t->foreign = fn;
}

int ss_tcp_family(const ss_tcp *t)
{
  return t->family;
}

sipsrv_transport *ss_tcp_transport(const ss_tcp *t)
{
  return t->tp;
}

bool ss_tcp_find(ss_tcp *t, const struct sockaddr *dst, socklen_t dstlen, uint64_t *conn)
{
  bool found = false;
  pthread_mutex_lock(&t->mu);
  for (tcp_conn *c = t->conns; c && !found; c = c->next)
    if (same_addr(&c->addr, dst, dstlen)) {
      *conn = c->id;
      found = true;
    }
  pthread_mutex_unlock(&t->mu);
  return found;
}

int ss_tcp_send_own(ss_tcp *t, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
                    const void *data, size_t len)
{
  struct iovec iov = { (void *)data, len };
  return send_on(t, conn, dst, dstlen, &iov, 1, false);   /* never handed on again */
}

unsigned ss_tcp_port(const ss_tcp *t)
{
  return t->port;
}

size_t ss_tcp_connections(const ss_tcp *t)
{
  return t->nconns;
}

void ss_tcp_sweep(ss_tcp *t, uint64_t now)
{
  if (!t->idle_ms)
    return;
  for (tcp_conn *c = t->conns, *next; c; c = next) {
    next = c->next;
    if (!c->wlen && !c->reading && now - c->last >= t->idle_ms)
      conn_close(c);
  }
}

void ss_tcp_close(ss_tcp *t)
{
  if (!t)
    return;
  while (t->conns)
    conn_close(t->conns);
  sipsrv_core_remove_transport(t->core, t->tp);
  t->poller.unwatch(t->poller.self, t->lfd);
  close(t->lfd);
  pthread_mutex_destroy(&t->mu);
  ss_free(t->core, t->rbuf);
  ss_free(t->core, t);
}
