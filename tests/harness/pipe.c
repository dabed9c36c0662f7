/* The in-memory transport pair. */
#include "harness.h"

#include <sipsrv/sipsrv.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

typedef struct chunk {
  struct chunk *next;
  size_t len, off;
  char data[];
} chunk;

struct tpipe_end {
  char addr[64];
  struct sipsrv_core *core;             /* tpipe_attach */
  struct sipsrv_transport *tp;
  struct sipsrv_transport_ops ops;
  tpipe *pipe;
  tpipe_end *peer;
  chunk *head, *tail;     /* what the peer sent us */
  size_t chunk_limit;
  int drops;
  unsigned sent;
  bool closed;
};

static tpipe_end *end_new(tpipe *p, const char *addr)
{
  tpipe_end *e = calloc(1, sizeof *e);
  if (!e)
    return NULL;
  strncpy(e->addr, addr ? addr : "", sizeof e->addr - 1);
  e->pipe = p;
  return e;
}

static void end_free(tpipe_end *e)
{
  if (!e)
    return;
  for (chunk *c = e->head, *n; c; c = n) {
    n = c->next;
    free(c);
  }
  free(e);
}

tpipe *tpipe_new(tpipe_kind kind, const char *addr_a, const char *addr_b)
{
  tpipe *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->kind = kind;
  p->a = end_new(p, addr_a);
  p->b = end_new(p, addr_b);
  if (!p->a || !p->b) {
    tpipe_free(p);
    return NULL;
  }
  p->a->peer = p->b;
  p->b->peer = p->a;
  return p;
}

void tpipe_free(tpipe *p)
{
  if (!p)
    return;
  end_free(p->a);
  end_free(p->b);
  free(p);
}

const char *tpipe_addr(const tpipe_end *e) { return e->addr; }
tpipe_end *tpipe_peer(const tpipe_end *e) { return e->peer; }
void tpipe_drop_next(tpipe_end *e, int n) { e->drops = n; }
void tpipe_set_chunk(tpipe_end *e, size_t chunk_len) { e->chunk_limit = chunk_len; }
void tpipe_close(tpipe_end *e) { e->closed = true; }
unsigned tpipe_sent(const tpipe_end *e) { return e->sent; }

long tpipe_sendv(tpipe_end *e, const struct iovec *iov, int n)
{
  size_t len = 0, off = 0;
  chunk *c;

  if (e->closed || e->peer->closed)
    return -1;
  e->sent++;
  for (int i = 0; i < n; i++)
    len += iov[i].iov_len;
  if (e->drops > 0) {
    e->drops--;
    return -1;
  }
  c = malloc(sizeof *c + len);
  if (!c)
    return -1;
  c->next = NULL;
  c->len = len;
  c->off = 0;
  for (int i = 0; i < n; i++) {
    memcpy(c->data + off, iov[i].iov_base, iov[i].iov_len);
    off += iov[i].iov_len;
  }
  /* The peer's inbox holds what this end sends. */
  if (e->peer->tail)
    e->peer->tail->next = c;
  else
    e->peer->head = c;
  e->peer->tail = c;
  return (long)len;
}

long tpipe_send(tpipe_end *e, const void *data, size_t len)
{
  struct iovec v = { (void *)data, len };
  return tpipe_sendv(e, &v, 1);
}

long tpipe_recv(tpipe_end *e, void *buf, size_t size)
{
  chunk *c = e->head;
  size_t n;

  if (!c)
    return e->peer->closed ? -1 : 0;
  if (e->pipe->kind == TPIPE_DGRAM) {
    n = c->len < size ? c->len : size;
    memcpy(buf, c->data, n);
    e->head = c->next;
    if (!e->head)
      e->tail = NULL;
    free(c);
    return (long)n;
  }
  /* A stream read takes what is queued, across sends, up to size (and the
   * chunk limit), as a socket read would. */
  if (e->chunk_limit && size > e->chunk_limit)
    size = e->chunk_limit;
  n = 0;
  while ((c = e->head) && n < size) {
    size_t take = c->len - c->off;
    if (take > size - n)
      take = size - n;
    memcpy((char *)buf + n, c->data + c->off, take);
    c->off += take;
    n += take;
    if (c->off == c->len) {
      e->head = c->next;
      if (!e->head)
        e->tail = NULL;
      free(c);
    }
  }
  return (long)n;
}

size_t tpipe_pending(const tpipe_end *e)
{
  size_t n = 0;
  for (const chunk *c = e->head; c; c = c->next)
    n += e->pipe->kind == TPIPE_DGRAM ? 1 : c->len - c->off;
  return n;
}

/* ---- the pair as a sipsrv transport ------------------------------------ */

static int pipe_send(void *user, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
                     const struct iovec *iov, int iovcnt)
{
  tpipe_end *e = user;
  (void)conn, (void)dst, (void)dstlen;
  /* A dropped datagram is lost in the network: the send itself worked. */
  if (e->drops > 0) {
    e->sent++;
    e->drops--;
    return 0;
  }
  return tpipe_sendv(e, iov, iovcnt) < 0 ? SIPSRV_E_IO : 0;
}

int tpipe_attach(tpipe_end *e, struct sipsrv_core *core, const char *host, unsigned port,
                 struct sipsrv_transport **out)
{
  bool stream = e->pipe->kind == TPIPE_STREAM;
  memset(&e->ops, 0, sizeof e->ops);
  e->ops.version = SIPSRV_TRANSPORT_OPS_VERSION;
  e->ops.size = sizeof e->ops;
  e->ops.name = stream ? "TCP" : "UDP";
  e->ops.flags = stream ? SIPSRV_TP_RELIABLE | SIPSRV_TP_STREAM : 0;
  e->ops.send = pipe_send;
  e->core = core;
  {
    int rc = sipsrv_core_add_transport(core, &e->ops, e, host, port, &e->tp);
    if (rc == 0 && out)
      *out = e->tp;
    return rc;
  }
}

/* The peer's name "IP:PORT" as a sockaddr (IPv4 only; enough for tests). */
static void peer_addr(const tpipe_end *e, struct sockaddr_in *a)
{
  char ip[64];
  const char *colon = strrchr(e->peer->addr, ':');
  size_t n = colon ? (size_t)(colon - e->peer->addr) : 0;
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  if (n && n < sizeof ip) {
    memcpy(ip, e->peer->addr, n);
    ip[n] = '\0';
    inet_pton(AF_INET, ip, &a->sin_addr);
    a->sin_port = htons((uint16_t)atoi(colon + 1));
  }
}

int tpipe_pump(tpipe_end *e)
{
  char buf[65536];
  struct sockaddr_in src;
  int n = 0;
  long got;

  if (!e->core)
    return 0;
  peer_addr(e, &src);
  while ((got = tpipe_recv(e, buf, sizeof buf)) > 0) {
    sipsrv_core_recv(e->core, e->tp, e->pipe->kind == TPIPE_STREAM ? 1 : 0,
                     (const struct sockaddr *)&src, sizeof src, buf, (size_t)got);
    n++;
  }
  return n;
}
