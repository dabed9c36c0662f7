/* The ready event loop (loop.h): epoll, signalfd, CLOCK_MONOTONIC, and the
 * UDP and TCP transports of lib/transport. */
#include "loop_int.h"

#include <sipsrv/error.h>
#include <sipsrv/loop.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
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
  bool stop;
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
  rc = udp ? ss_udp_open(&ln->udp, l->core, &l->poller, &ss, len)
           : ss_tcp_open(&ln->tcp, l->core, &l->poller, &ss, len, TCP_IDLE_MS);
  if (rc < 0) {
    ss_free(l->core, ln);
    return rc;
  }
  if (port)
    *port = udp ? ss_udp_port(ln->udp) : ss_tcp_port(ln->tcp);
  ss_log(l->core, SIPSRV_LOG_INFO, "listening on %.3s %s (port %u)", spec, spec + 4,
         udp ? ss_udp_port(ln->udp) : ss_tcp_port(ln->tcp));
  ln->next = l->listeners;
  l->listeners = ln;
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
      l->stop = true;                    /* SIGINT, SIGTERM */
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
  l->stop = false;
  while (!l->stop) {
    int rc = sipsrv_loop_run_once(l, -1);
    if (rc < 0)
      return rc;
  }
  return 0;
}

void sipsrv_loop_stop(sipsrv_loop *l)
{
  if (l)
    l->stop = true;
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
  close(l->epfd);
  ss_free(l->core, l->watches);
  ss_free(l->core, l);
}
