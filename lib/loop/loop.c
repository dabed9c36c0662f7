/* The ready event loop (loop.h): epoll, signalfd, CLOCK_MONOTONIC, and the
 * UDP and TCP transports of lib/transport. */
#include "loop_int.h"

#include <sipsrv/error.h>
#include <sipsrv/loop.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define TCP_IDLE_MS (10u * 60u * 1000u)  /* close TCP connections idle this long */
#define SWEEP_MS 1000u
#define MAX_SIGNALS 8

typedef struct sig_cb {
  int signo;
  sipsrv_signal_cb cb;
  void *user;
} sig_cb;

typedef struct watch {
  ss_poll_fn fn;
  void *arg;
  bool used;
} watch;

/* What one loop of a group hands to another: a datagram or a message
 * framed on a TCP connection, for the loop owning its Call-ID; or bytes to
 * send on a TCP connection the other loop owns. */
typedef enum hand_kind { HAND_DGRAM, HAND_STREAM, HAND_SEND } hand_kind;

typedef struct hand {
  struct hand *next;
  hand_kind kind;
  unsigned port;              /* the local port (its listener's) */
  int family;
  uint64_t conn;              /* STREAM, SEND: the connection */
  socklen_t srclen;
  struct sockaddr_storage src;  /* where it came from; SEND: where it goes */
  size_t len;
  char data[];
} hand;

struct sipsrv_loop_group {
  sipsrv_core *core;          /* allocator of the hands (thread-safe) */
  size_t n;
  sipsrv_loop **loops;
  _Atomic uint64_t handoffs;
  pthread_mutex_t mu;         /* guards the loops' listener lists */
};

typedef struct listener {
  ss_udp *udp;
  ss_tcp *tcp;
  struct listener *next;
} listener;

struct sipsrv_loop {
  sipsrv_core *core;
  int epfd;
  int sigfd;
  sigset_t oldmask;         /* the thread's mask before handle_signals */
  sigset_t handled;         /* what sigfd reads */
  sig_cb sigs[MAX_SIGNALS]; /* sipsrv_loop_on_signal() */
  size_t nsigs;
  atomic_bool stop;
  int wakefd;               /* eventfd: stop from another thread, hands in */
  sipsrv_loop_group *group; /* NULL: alone */
  size_t gidx;              /* its index in the group */
  pthread_mutex_t inmu;     /* guards inbox */
  hand *inbox, **intail;
  watch *watches;           /* by fd */
  size_t nwatches;
  listener *listeners;
  ss_poller poller;
  uint64_t last_sweep;
  ss_loop_hook *hooks;
};

const ss_poller *ss_loop_poller(sipsrv_loop *l) { return &l->poller; }
sipsrv_core *ss_loop_core(sipsrv_loop *l) { return l->core; }

void ss_loop_hook_add(sipsrv_loop *l, ss_loop_hook *h)
{
  h->next = l->hooks;
  l->hooks = h;
}

void ss_loop_hook_remove(sipsrv_loop *l, ss_loop_hook *h)
{
  for (ss_loop_hook **pp = &l->hooks; *pp; pp = &(*pp)->next)
    if (*pp == h) {
      *pp = h->next;
      return;
    }
}

uint64_t sipsrv_clock_monotonic(void *unused)
{
  struct timespec ts;
  (void)unused;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t sipsrv_clock_realtime(void *unused)
{
  struct timespec ts;
  (void)unused;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int loop_watch(void *self, int fd, unsigned events, ss_poll_fn fn, void *arg)
{
  sipsrv_loop *l = self;
  struct epoll_event ev;
  bool add;

  if (fd < 0)
    return SIPSRV_E_INVAL;
  if ((size_t)fd >= l->nwatches) {
    size_t n = l->nwatches ? l->nwatches : 64;
    watch *w;
    while (n <= (size_t)fd)
      n *= 2;
    w = ss_zalloc(l->core, n * sizeof *w);
    if (!w)
      return SIPSRV_E_NOMEM;
    if (l->nwatches)
      memcpy(w, l->watches, l->nwatches * sizeof *w);
    ss_free(l->core, l->watches);
    l->watches = w;
    l->nwatches = n;
  }
  add = !l->watches[fd].used;
  memset(&ev, 0, sizeof ev);
  ev.events = ((events & SS_POLL_IN) ? EPOLLIN : 0) | ((events & SS_POLL_OUT) ? EPOLLOUT : 0);
  ev.data.fd = fd;
  if (epoll_ctl(l->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) < 0)
    return SIPSRV_E_IO;
  l->watches[fd].fn = fn;
  l->watches[fd].arg = arg;
  l->watches[fd].used = true;
  return 0;
}

static void loop_unwatch(void *self, int fd)
{
  sipsrv_loop *l = self;
  if (fd < 0 || (size_t)fd >= l->nwatches || !l->watches[fd].used)
    return;
  epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
  l->watches[fd].used = false;
}

/* ---- groups: one loop per thread, datagrams to the Call-ID's owner ---- */

/* FNV-1a of the Call-ID value (RFC 3261 20.8, compact form "i", 7.3.3) of
 * the datagram's header section; false when it has none. The value is
 * taken as sent (Call-IDs compare byte by byte), without the white space
 * around it. */
static bool callid_hash(const char *d, size_t len, uint64_t *out)
{
  const char *p = d, *end = d + len;
  bool first = true;

  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *le = eol ? eol : end, *c, *v, *ve;
    size_t nl;
    if (le > p && le[-1] == '\r')
      le--;
    if (le == p) {
      if (!first)
        return false;                    /* the empty line: no Call-ID */
      p = eol ? eol + 1 : end;           /* CRLFs before the start line (7.5) */
      continue;
    }
    if (first || *p == ' ' || *p == '\t') {
      first = false;                     /* the start line, or a folded line */
      p = eol ? eol + 1 : end;
      continue;
    }
    c = memchr(p, ':', (size_t)(le - p));
    if (c) {
      nl = (size_t)(c - p);
      while (nl && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
        nl--;
      if ((nl == 7 && strncasecmp(p, "call-id", 7) == 0) || (nl == 1 && (*p == 'i' || *p == 'I'))) {
        uint64_t h = 0xcbf29ce484222325ULL;
        for (v = c + 1; v < le && (*v == ' ' || *v == '\t'); v++)
          ;
        for (ve = le; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
          ;
        if (ve == v)
          return false;
        for (; v < ve; v++) {
          h ^= (unsigned char)*v;
          h *= 0x100000001b3ULL;
        }
        *out = h;
        return true;
      }
    }
    p = eol ? eol + 1 : end;
  }
  return false;
}

static void wake(sipsrv_loop *l)
{
  uint64_t one = 1;
  ssize_t w = write(l->wakefd, &one, sizeof one);
  (void)w;                               /* EAGAIN: the counter is set anyway */
}

/* Queue a hand of the bytes of iov for loop to; false without memory. */
static bool post(sipsrv_loop *to, hand_kind kind, unsigned port, int family, uint64_t conn,
                 const struct sockaddr *addr, socklen_t addrlen, const struct iovec *iov,
                 int iovcnt)
{
  sipsrv_loop_group *g = to->group;
  size_t len = 0, at = 0;
  hand *m;
  bool was_empty;

  if (addrlen > sizeof m->src)
    return false;
  for (int i = 0; i < iovcnt; i++)
    len += iov[i].iov_len;
  m = ss_alloc(g->core, sizeof *m + len);
  if (!m)
    return false;
  m->next = NULL;
  m->kind = kind;
  m->port = port;
  m->family = family;
  m->conn = conn;
  m->srclen = addrlen;
  memcpy(&m->src, addr, addrlen);
  m->len = len;
  for (int i = 0; i < iovcnt; i++) {
    memcpy(m->data + at, iov[i].iov_base, iov[i].iov_len);
    at += iov[i].iov_len;
  }
  pthread_mutex_lock(&to->inmu);
  was_empty = !to->inbox;
  *to->intail = m;
  to->intail = &m->next;
  pthread_mutex_unlock(&to->inmu);
  if (was_empty)
    wake(to);
  atomic_fetch_add(&g->handoffs, 1);
  return true;
}

/* The loop of l's group owning a message of data (by its Call-ID), when it
 * is not l. */
static sipsrv_loop *owner_of(const sipsrv_loop *l, const char *data, size_t len)
{
  sipsrv_loop_group *g = l->group;
  uint64_t h;
  if (!g || g->n < 2 || !callid_hash(data, len, &h) || h % g->n == l->gidx)
    return NULL;
  return g->loops[h % g->n];
}

static bool steer(void *arg, ss_udp *u, const struct sockaddr *src, socklen_t srclen,
                  const char *data, size_t len)
{
  sipsrv_loop *to = owner_of(arg, data, len);
  struct iovec iov = { (void *)data, len };
  /* Not handed (no memory): handled here, better than lost. */
  return to && post(to, HAND_DGRAM, ss_udp_port(u), src->sa_family, 0, src, srclen, &iov, 1);
}

/* l's TCP listener whose transport is tp, or on port for family. */
static ss_tcp *tcp_of(const sipsrv_loop *l, const sipsrv_transport *tp, unsigned port, int family)
{
  for (listener *ln = l->listeners; ln; ln = ln->next)
    if (ln->tcp && (tp ? ss_tcp_transport(ln->tcp) == tp
                       : ss_tcp_port(ln->tcp) == port && ss_tcp_family(ln->tcp) == family))
      return ln->tcp;
  return NULL;
}

/* A message framed on one of l's connections whose Call-ID another loop
 * owns goes there, with the connection's id: that loop answers on it
 * through the owner (tcp_foreign()). */
static bool stream_steer(void *arg, sipsrv_transport *tp, uint64_t conn, const struct sockaddr *src,
                         socklen_t srclen, const char *data, size_t len)
{
  sipsrv_loop *l = arg, *to = owner_of(l, data, len);
  ss_tcp *t = to ? tcp_of(l, tp, 0, 0) : NULL;
  struct iovec iov = { (void *)data, len };
  return t && post(to, HAND_STREAM, ss_tcp_port(t), ss_tcp_family(t), conn, src, srclen, &iov, 1);
}

/* A send l's core makes on another loop's connection, or by address where
 * another loop has a connection (ss_tcp_foreign_fn). */
static int tcp_foreign(void *arg, ss_tcp *t, uint64_t conn, const struct sockaddr *dst,
                       socklen_t dstlen, const struct iovec *iov, int iovcnt)
{
  sipsrv_loop *l = arg, *to = NULL;
  sipsrv_loop_group *g = l->group;
  unsigned port = ss_tcp_port(t);
  int family = ss_tcp_family(t);

  if (!g)
    return SIPSRV_E_NOTFOUND;
  if (conn) {
    size_t k = ss_tcp_conn_owner(conn);
    if (k < g->n && k != l->gidx)
      to = g->loops[k];
  } else {
    pthread_mutex_lock(&g->mu);
    for (size_t k = 0; k < g->n && !to; k++) {
      ss_tcp *o = k == l->gidx ? NULL : tcp_of(g->loops[k], NULL, port, family);
      if (o && ss_tcp_find(o, dst, dstlen, &conn))
        to = g->loops[k];
    }
    pthread_mutex_unlock(&g->mu);
  }
  if (!to)
    return SIPSRV_E_NOTFOUND;
  return post(to, HAND_SEND, port, family, conn, dst, dstlen, iov, iovcnt)
             ? 0
             : SIPSRV_E_NOMEM;
}

static void free_hands(sipsrv_core *core, hand *m)
{
  while (m) {
    hand *next = m->next;
    ss_free(core, m);
    m = next;
  }
}

static void on_wake(void *arg, unsigned events)
{
  sipsrv_loop *l = arg;
  uint64_t v;
  hand *list;
  (void)events;
  if (read(l->wakefd, &v, sizeof v) < 0 && errno != EAGAIN)
    return;
  if (!l->group)
    return;
  pthread_mutex_lock(&l->inmu);
  list = l->inbox;
  l->inbox = NULL;
  l->intail = &l->inbox;
  pthread_mutex_unlock(&l->inmu);
  if (!list)
    return;
  for (listener *ln = l->listeners; ln; ln = ln->next)
    if (ln->udp)
      ss_udp_begin(ln->udp);
  for (hand *m = list; m; m = m->next) {
    const struct sockaddr *a = (const struct sockaddr *)&m->src;
    ss_tcp *t = m->kind == HAND_DGRAM ? NULL : tcp_of(l, NULL, m->port, m->family);
    if (m->kind == HAND_STREAM && t) {
      ss_core_recv_framed(l->core, ss_tcp_transport(t), m->conn, a, m->srclen, m->data, m->len);
    } else if (m->kind == HAND_SEND && t) {
      if (ss_tcp_send_own(t, m->conn, a, m->srclen, m->data, m->len) < 0)
        ss_core_counters_of(l->core)->send_failures++;
    } else if (m->kind == HAND_DGRAM) {
      for (listener *ln = l->listeners; ln; ln = ln->next)
        if (ln->udp && ss_udp_port(ln->udp) == m->port && ss_udp_family(ln->udp) == m->family) {
          ss_udp_deliver(ln->udp, a, m->srclen, m->data, m->len);
          break;
        }
    }
  }
  for (listener *ln = l->listeners; ln; ln = ln->next)
    if (ln->udp)
      ss_udp_end(ln->udp);
  free_hands(l->group->core, list);
}

int sipsrv_loop_group_new(sipsrv_loop_group **out, sipsrv_loop *const *loops, size_t n)
{
  sipsrv_loop_group *g;
  if (!out || !loops || n == 0 || n > 64)
    return SIPSRV_E_INVAL;
  for (size_t i = 0; i < n; i++) {
    if (!loops[i] || loops[i]->group)
      return SIPSRV_E_INVAL;
    for (size_t j = 0; j < i; j++)
      if (loops[j] == loops[i])
        return SIPSRV_E_INVAL;
    if (loops[i]->listeners)
      return SIPSRV_E_STATE;
  }
  g = ss_zalloc(loops[0]->core, sizeof *g);
  if (!g || !(g->loops = ss_zalloc(loops[0]->core, n * sizeof *g->loops))) {
    ss_free(loops[0]->core, g);
    return SIPSRV_E_NOMEM;
  }
  g->core = loops[0]->core;
  g->n = n;
  atomic_init(&g->handoffs, 0);
  pthread_mutex_init(&g->mu, NULL);
  for (size_t i = 0; i < n; i++) {
    g->loops[i] = loops[i];
    loops[i]->group = g;
    loops[i]->gidx = i;
  }
  *out = g;
  return 0;
}

uint64_t sipsrv_loop_group_handoffs(const sipsrv_loop_group *g)
{
  return g ? atomic_load(&((sipsrv_loop_group *)g)->handoffs) : 0;
}

void sipsrv_loop_group_free(sipsrv_loop_group *g)
{
  if (!g)
    return;
  for (size_t i = 0; i < g->n; i++) {
    sipsrv_loop *l = g->loops[i];
    hand *list;
    pthread_mutex_lock(&l->inmu);
    list = l->inbox;
    l->inbox = NULL;
    l->intail = &l->inbox;
    pthread_mutex_unlock(&l->inmu);
    free_hands(g->core, list);
    for (listener *ln = l->listeners; ln; ln = ln->next) {
      if (ln->udp)
        ss_udp_set_steer(ln->udp, NULL, NULL);
      if (ln->tcp)
        ss_tcp_set_group(ln->tcp, 0, NULL, NULL);
    }
    ss_core_set_stream_steer(l->core, NULL, NULL);
    l->group = NULL;
  }
  pthread_mutex_destroy(&g->mu);
  ss_free(g->core, g->loops);
  ss_free(g->core, g);
}

int sipsrv_loop_new(sipsrv_loop **out, sipsrv_core *core)
{
  sipsrv_loop *l;
  if (!out || !core)
    return SIPSRV_E_INVAL;
  l = ss_zalloc(core, sizeof *l);
  if (!l)
    return SIPSRV_E_NOMEM;
  l->core = core;
  l->sigfd = -1;
  l->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (l->epfd < 0) {
    ss_free(core, l);
    return SIPSRV_E_IO;
  }
  l->poller.watch = loop_watch;
  l->poller.unwatch = loop_unwatch;
  l->poller.self = l;
  l->intail = &l->inbox;
  pthread_mutex_init(&l->inmu, NULL);
  l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (l->wakefd < 0 || loop_watch(l, l->wakefd, SS_POLL_IN, on_wake, l) < 0) {
    if (l->wakefd >= 0)
      close(l->wakefd);
    close(l->epfd);
    pthread_mutex_destroy(&l->inmu);
    ss_free(core, l->watches);
    ss_free(core, l);
    return SIPSRV_E_IO;
  }
  *out = l;
  return 0;
}

int sipsrv_loop_listen(sipsrv_loop *l, const char *spec, unsigned *port)
{
  struct sockaddr_storage ss;
  socklen_t len;
  listener *ln;
  bool udp;
  int rc;

  if (!l || !spec)
    return SIPSRV_E_INVAL;
  if (strncasecmp(spec, "udp:", 4) == 0)
    udp = true;
  else if (strncasecmp(spec, "tcp:", 4) == 0)
    udp = false;
  else
    return SIPSRV_E_INVAL;
  if (ss_sockaddr_parse(spec + 4, &ss, &len) < 0)
    return SIPSRV_E_INVAL;
  ln = ss_zalloc(l->core, sizeof *ln);
  if (!ln)
    return SIPSRV_E_NOMEM;
  rc = udp ? ss_udp_open(&ln->udp, l->core, &l->poller, &ss, len, l->group != NULL)
           : ss_tcp_open(&ln->tcp, l->core, &l->poller, &ss, len, TCP_IDLE_MS, l->group != NULL);
  if (rc < 0) {
    ss_free(l->core, ln);
    return rc;
  }
  if (udp && l->group)
    ss_udp_set_steer(ln->udp, steer, l);
  if (!udp && l->group) {
    ss_tcp_set_group(ln->tcp, (unsigned)l->gidx, tcp_foreign, l);
    ss_core_set_stream_steer(l->core, stream_steer, l);
  }
  if (port)
    *port = udp ? ss_udp_port(ln->udp) : ss_tcp_port(ln->tcp);
  ss_log(l->core, SIPSRV_LOG_INFO, "listening on %.3s %s (port %u)", spec, spec + 4,
         udp ? ss_udp_port(ln->udp) : ss_tcp_port(ln->tcp));
  if (l->group)
    pthread_mutex_lock(&l->group->mu);   /* other loops look for connections */
  ln->next = l->listeners;
  l->listeners = ln;
  if (l->group)
    pthread_mutex_unlock(&l->group->mu);
  return 0;
}

/* Unblock only the signals handle_signals blocked: an application that had
 * them blocked itself (for sigwait or a signalfd of its own) keeps them so. */
static void restore_mask(sipsrv_loop *l)
{
  sigset_t set;
  sigemptyset(&set);
  for (int s = 1; s < NSIG; s++)
    if (sigismember(&l->handled, s) == 1 && !sigismember(&l->oldmask, s))
      sigaddset(&set, s);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void on_signal(void *arg, unsigned events)
{
  sipsrv_loop *l = arg;
  struct signalfd_siginfo si;
  (void)events;
  while (read(l->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
    bool called = false;
    for (size_t i = 0; i < l->nsigs; i++)
      if (l->sigs[i].signo == (int)si.ssi_signo) {
        l->sigs[i].cb((int)si.ssi_signo, l->sigs[i].user);
        called = true;
      }
    if (!called)
      atomic_store(&l->stop, true);      /* SIGINT, SIGTERM */
  }
}

int sipsrv_loop_handle_signals(sipsrv_loop *l)
{
  sigset_t set;
  if (!l)
    return SIPSRV_E_INVAL;
  if (l->sigfd >= 0)
    return 0;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  for (size_t i = 0; i < l->nsigs; i++)
    sigaddset(&set, l->sigs[i].signo);
  l->handled = set;
  if (pthread_sigmask(SIG_BLOCK, &set, &l->oldmask) != 0)
    return SIPSRV_E_IO;
  l->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (l->sigfd < 0 || loop_watch(l, l->sigfd, SS_POLL_IN, on_signal, l) < 0) {
    if (l->sigfd >= 0)
      close(l->sigfd);
    l->sigfd = -1;
    restore_mask(l);
    return SIPSRV_E_IO;
  }
  return 0;
}

int sipsrv_loop_on_signal(sipsrv_loop *l, int signo, sipsrv_signal_cb cb, void *user)
{
  sigset_t set, old;
  if (!l || !cb || signo <= 0 || signo >= NSIG || signo == SIGINT || signo == SIGTERM ||
      signo == SIGKILL || signo == SIGSTOP)
    return SIPSRV_E_INVAL;
  if (l->nsigs == MAX_SIGNALS)
    return SIPSRV_E_TOOBIG;
  l->sigs[l->nsigs].signo = signo;
  l->sigs[l->nsigs].cb = cb;
  l->sigs[l->nsigs].user = user;
  l->nsigs++;
  if (l->sigfd < 0)
    return 0;                            /* handle_signals() adds it */
  /* Already reading signals: block this one too and read it as well. */
  sigemptyset(&set);
  sigaddset(&set, signo);
  if (pthread_sigmask(SIG_BLOCK, &set, &old) != 0) {
    l->nsigs--;
    return SIPSRV_E_IO;
  }
  if (sigismember(&old, signo))
    sigaddset(&l->oldmask, signo);
  sigaddset(&l->handled, signo);
  if (signalfd(l->sigfd, &l->handled, SFD_NONBLOCK | SFD_CLOEXEC) < 0)
    return SIPSRV_E_IO;
  return 0;
}

int sipsrv_loop_run_once(sipsrv_loop *l, int timeout_ms)
{
  struct epoll_event evs[64];
  uint64_t deadline, now;
  int n, wait = timeout_ms;

  if (!l)
    return SIPSRV_E_INVAL;
  now = sipsrv_clock_monotonic(NULL);
  if (sipsrv_core_next_timeout(l->core, &deadline) == 0) {
    uint64_t until = deadline > now ? deadline - now : 0;
    if (wait < 0 || until < (uint64_t)wait)
      wait = until > 60000 ? 60000 : (int)until;
  }
  if (wait < 0 || (uint64_t)wait > SWEEP_MS)
    wait = (int)SWEEP_MS;                /* wake up now and then for the TCP sweep */
  for (ss_loop_hook *h = l->hooks; h; h = h->next)
    if (wait > SS_LOOP_BUSY_MS && h->busy(h->arg))
      wait = SS_LOOP_BUSY_MS;            /* DNS retransmissions */
  n = epoll_wait(l->epfd, evs, 64, wait);
  if (n < 0 && errno != EINTR)
    return SIPSRV_E_IO;
  for (int i = 0; i < n; i++) {
    int fd = evs[i].data.fd;
    unsigned events = ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ? SS_POLL_IN : 0) |
                      ((evs[i].events & EPOLLOUT) ? SS_POLL_OUT : 0);
    /* A callback may have closed this fd (or another one) already. */
    if ((size_t)fd < l->nwatches && l->watches[fd].used)
      l->watches[fd].fn(l->watches[fd].arg, events);
  }
  sipsrv_core_expire(l->core);
  for (ss_loop_hook *h = l->hooks, *next; h; h = next) {
    next = h->next;
    h->tick(h->arg);
  }
  now = sipsrv_clock_monotonic(NULL);
  if (now - l->last_sweep >= SWEEP_MS) {
    l->last_sweep = now;
    for (listener *ln = l->listeners; ln; ln = ln->next)
      if (ln->tcp)
        ss_tcp_sweep(ln->tcp, ss_core_now(l->core));
  }
  return n < 0 ? 0 : n;
}

int sipsrv_loop_run(sipsrv_loop *l)
{
  if (!l)
    return SIPSRV_E_INVAL;
  atomic_store(&l->stop, false);
  while (!atomic_load(&l->stop)) {
    int rc = sipsrv_loop_run_once(l, -1);
    if (rc < 0)
      return rc;
  }
  return 0;
}

void sipsrv_loop_stop(sipsrv_loop *l)
{
  if (!l)
    return;
  atomic_store(&l->stop, true);
  wake(l);                               /* from another thread: now, not at the next event */
}

void sipsrv_loop_free(sipsrv_loop *l)
{
  if (!l)
    return;
  while (l->listeners) {
    listener *ln = l->listeners;
    l->listeners = ln->next;
    ss_udp_close(ln->udp);
    ss_tcp_close(ln->tcp);
    ss_free(l->core, ln);
  }
  if (l->sigfd >= 0) {
    struct signalfd_siginfo si;
    loop_unwatch(l, l->sigfd);
    /* A signal that came after the last read would act on unblocking. */
    while (read(l->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
      ;
    close(l->sigfd);
    restore_mask(l);
  }
  loop_unwatch(l, l->wakefd);
  close(l->wakefd);
  free_hands(l->core, l->inbox);        /* only if its group was never freed */
  pthread_mutex_destroy(&l->inmu);
  close(l->epfd);
  ss_free(l->core, l->watches);
  ss_free(l->core, l);
}
