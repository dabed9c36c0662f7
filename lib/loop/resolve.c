/* The ready loop's resolver (loop.h): RFC 3263 through Sofia-SIP's sres
 * and sres_sip in asynchronous mode, its sockets in the loop's epoll.
 *
 * SOFIA-NOTES: sres runs without su_root when sres_resolver_set_async()
 * reports its sockets; sres_resolver_receive() reads one and
 * sres_resolver_timer() retransmits. Its sockets have IP_RECVERR on: an
 * ICMP error (a name server that is down) waits in the socket's error queue,
 * which only sres_resolver_error() reads (then sres moves on to the next
 * server at once). Without that read the socket stays readable for epoll
 * (a busy loop), and a blocking recvfrom() would wait forever: the sockets
 * are made non-blocking too.
 *
 * SOFIA-NOTES (found here): when no name server can even be connected to
 * (ENETUNREACH: no route), sres_sip_new() loops forever inside
 * sres_query(), printing "sres_server_socket: connect: Network is
 * unreachable". So before each query (at most once a second) the name
 * servers of resolv.conf are tried with a UDP connect(); when none can be
 * reached the query fails at once instead. */
#include "loop_int.h"

#include <sipsrv/error.h>
#include <sipsrv/resolver.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct lres;
struct lq;
#define SRES_ASYNC_T struct lres
#define SRES_SIP_MAGIC_T struct lq
#include <sofia-resolv/sres.h>
#include <sofia-resolv/sres_async.h>
#include <sofia-sip/sres_sip.h>

#define MAX_SOCKETS 8
#define MAX_RESULTS 32

typedef struct lsock {
  struct lres *r;
  int fd;                     /* -1: free slot */
} lsock;

typedef struct lq {
  struct lres *r;
  sres_sip_t *sip;
  sipsrv_resolve_cb done;
  void *ctx;
  bool finished;              /* done ran, or cancelled: freed at the next tick */
  struct lq *next;
} lq;

typedef struct lres {
  sipsrv_loop *loop;
  sipsrv_core *core;
  sres_resolver_t *sres;
  char conf[256];             /* the resolv.conf read */
  uint64_t checked;           /* when the name servers were last tried (monotonic ms) */
  bool reachable;
  lsock socks[MAX_SOCKETS];
  lq *queries;
  ss_loop_hook hook;
  bool destroying;
} lres;

static void on_readable(void *arg, unsigned events)
{
  lsock *s = arg;
  (void)events;
  sres_resolver_error(s->r->sres, s->fd);   /* EAGAIN when there is none */
  sres_resolver_receive(s->r->sres, s->fd);
}

/* sres opens and closes its sockets (one per server and family). */
static int on_update(lres *r, sres_socket_t added, sres_socket_t removed)
{
  const ss_poller *p = ss_loop_poller(r->loop);
  if (removed != (sres_socket_t)-1) {
    for (size_t i = 0; i < MAX_SOCKETS; i++)
      if (r->socks[i].fd == removed) {
        p->unwatch(p->self, removed);
        r->socks[i].fd = -1;
      }
  }
  if (added != (sres_socket_t)-1 && !r->destroying) {
    for (size_t i = 0; i < MAX_SOCKETS; i++)
      if (r->socks[i].fd < 0) {
        int fl = fcntl(added, F_GETFL);
        if (fl < 0 || fcntl(added, F_SETFL, fl | O_NONBLOCK) < 0)
          return -1;
        r->socks[i].fd = added;
        if (p->watch(p->self, added, SS_POLL_IN, on_readable, &r->socks[i]) < 0) {
          r->socks[i].fd = -1;
          return -1;
        }
        return 0;
      }
    return -1;
  }
  return 0;
}

static const char *tp_name(int proto)
{
  switch (proto) {
  case TPPROTO_UDP: return "UDP";
  case TPPROTO_TCP: return "TCP";
  case TPPROTO_TLS: return "TLS";
  case TPPROTO_SCTP: return "SCTP";
  default: return NULL;
  }
}

static void on_notify(lq *q, sres_sip_t *sip, int last)
{
  sipsrv_resolved out[MAX_RESULTS];
  size_t n = 0;
  int err = 0;

  if (q->finished || (!last && sres_sip_next_step(sip)))
    return;                              /* more steps to come (NAPTR -> SRV -> A) */
  for (su_addrinfo_t const *ai = sres_sip_results(sip); ai && n < MAX_RESULTS; ai = ai->ai_next) {
    const char *tp = tp_name(ai->ai_protocol);
    sipsrv_resolved *o = &out[n];
    if (!tp || !ai->ai_addr || ai->ai_addrlen > sizeof o->addr ||
        (ai->ai_family != AF_INET && ai->ai_family != AF_INET6))
      continue;
    memset(o, 0, sizeof *o);
    strcpy(o->transport, tp);
    memcpy(&o->addr, ai->ai_addr, ai->ai_addrlen);
    o->addrlen = (socklen_t)ai->ai_addrlen;
    /* SOFIA-NOTES: numeric hosts come back with port 0. */
    if (ai->ai_family == AF_INET && !((struct sockaddr_in *)&o->addr)->sin_port)
      ((struct sockaddr_in *)&o->addr)->sin_port = htons(ai->ai_protocol == TPPROTO_TLS ? 5061 : 5060);
    if (ai->ai_family == AF_INET6 && !((struct sockaddr_in6 *)&o->addr)->sin6_port)
      ((struct sockaddr_in6 *)&o->addr)->sin6_port = htons(ai->ai_protocol == TPPROTO_TLS ? 5061 : 5060);
    n++;
  }
  if (!n) {
    int e = sres_sip_error(sip);
    err = e == SRES_SIP_ERR_AGAIN || e == SRES_SIP_ERR_INTERNAL || e == SRES_SIP_ERR_FAULT
              ? SIPSRV_E_IO : SIPSRV_E_NOTFOUND;
  }
  q->finished = true;
  q->done(q->ctx, err, n ? out : NULL, n);
}

static void free_finished(lres *r, bool all)
{
  for (lq **pp = &r->queries; *pp;) {
    lq *q = *pp;
    if (q->finished || all) {
      *pp = q->next;
      if (q->sip)
        sres_sip_unref(q->sip);
      ss_free(r->core, q);
    } else {
      pp = &q->next;
    }
  }
}

static void on_tick(void *arg)
{
  lres *r = arg;
  free_finished(r, false);
  if (r->queries)
    sres_resolver_timer(r->sres, -1);    /* retransmissions and timeouts */
}

static bool on_busy(void *arg)
{
  return ((lres *)arg)->queries != NULL;
}

/* Can a UDP socket be connected to addr:53? (No packet is sent.) */
static bool connectable(const char *addr)
{
  struct sockaddr_storage ss;
  socklen_t len;
  int fd;
  bool ok;
  memset(&ss, 0, sizeof ss);
  if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
    ss.ss_family = AF_INET;
    ((struct sockaddr_in *)&ss)->sin_port = htons(53);
    len = sizeof(struct sockaddr_in);
  } else if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
    ss.ss_family = AF_INET6;
    ((struct sockaddr_in6 *)&ss)->sin6_port = htons(53);
    len = sizeof(struct sockaddr_in6);
  } else {
    return true;                         /* not ours to judge: let sres try */
  }
  fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return true;
  ok = connect(fd, (struct sockaddr *)&ss, len) == 0;
  close(fd);
  return ok;
}

/* Is any name server of the resolv.conf reachable (see the note above)?
 * Without a nameserver line the resolver uses 127.0.0.1. */
static bool servers_reachable(lres *r)
{
  uint64_t now = sipsrv_clock_monotonic(NULL);
  FILE *f;
  char line[512];
  bool any = false, ok = false;

  if (r->checked && now - r->checked < 1000)
    return r->reachable;
  r->checked = now;
  f = fopen(r->conf, "r");
  while (f && fgets(line, sizeof line, f) && !ok) {
    char addr[128];
    if (sscanf(line, " nameserver %127s", addr) == 1) {
      any = true;
      ok = connectable(addr);
    }
  }
  if (f)
    fclose(f);
  r->reachable = any ? ok : connectable("127.0.0.1");
  return r->reachable;
}

static int lres_resolve(void *user, const char *uri, sipsrv_resolve_cb done, void *ctx,
                        void **query)
{
  lres *r = user;
  lq *q = ss_zalloc(r->core, sizeof *q);
  sres_sip_t *sip;
  if (!q)
    return SIPSRV_E_NOMEM;
  q->r = r;
  q->done = done;
  q->ctx = ctx;
  q->next = r->queries;
  r->queries = q;
  *query = q;
  if (!servers_reachable(r)) {
    q->finished = true;                  /* freed at the next tick */
    done(ctx, SIPSRV_E_IO, NULL, 0);
    return 0;
  }
  /* NAPTR and SRV on (RFC 3263 4.1, 4.2); the notify may come inline. */
  sip = sres_sip_new(r->sres, (url_string_t const *)uri, NULL, 1, 1, on_notify, q);
  if (!sip) {
    r->queries = q->next;
    ss_free(r->core, q);
    *query = NULL;
    return SIPSRV_E_INVAL;
  }
  q->sip = sip;
  if (!q->finished && !sres_sip_next_step(sip))
    on_notify(q, sip, 1);                /* nothing left to ask (a numeric host) */
  return 0;
}

static void lres_cancel(void *user, void *query)
{
  (void)user;
  ((lq *)query)->finished = true;
}

static void lres_destroy(void *user)
{
  lres *r = user;
  r->destroying = true;
  free_finished(r, true);
  sres_resolver_unref(r->sres);          /* closes its sockets through on_update */
  for (size_t i = 0; i < MAX_SOCKETS; i++)
    if (r->socks[i].fd >= 0) {
      const ss_poller *p = ss_loop_poller(r->loop);
      p->unwatch(p->self, r->socks[i].fd);
    }
  ss_loop_hook_remove(r->loop, &r->hook);
  ss_free(r->core, r);
}

static const struct sipsrv_resolver_ops lres_ops = {
  SIPSRV_RESOLVER_OPS_VERSION, sizeof(struct sipsrv_resolver_ops),
  lres_resolve, lres_cancel, lres_destroy,
};

int sipsrv_loop_resolver_new(sipsrv_resolver **out, sipsrv_loop *loop, const char *resolv_conf)
{
  lres *r;
  int rc;
  if (!out || !loop)
    return SIPSRV_E_INVAL;
  r = ss_zalloc(ss_loop_core(loop), sizeof *r);
  if (!r)
    return SIPSRV_E_NOMEM;
  r->loop = loop;
  r->core = ss_loop_core(loop);
  for (size_t i = 0; i < MAX_SOCKETS; i++) {
    r->socks[i].r = r;
    r->socks[i].fd = -1;
  }
  snprintf(r->conf, sizeof r->conf, "%s", resolv_conf ? resolv_conf : "/etc/resolv.conf");
  r->sres = sres_resolver_new(resolv_conf);
  /* Never blocking (SOFIA-NOTES: sres_is_blocking() would switch it). */
  if (!r->sres || !sres_resolver_set_async(r->sres, on_update, r, 0)) {
    if (r->sres)
      sres_resolver_unref(r->sres);
    ss_free(r->core, r);
    return SIPSRV_E_IO;
  }
  r->hook.tick = on_tick;
  r->hook.busy = on_busy;
  r->hook.arg = r;
  ss_loop_hook_add(loop, &r->hook);
  rc = sipsrv_resolver_new(out, &lres_ops, r);
  if (rc < 0)
    lres_destroy(r);
  return rc;
}
