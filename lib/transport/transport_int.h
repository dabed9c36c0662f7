/* Private: the built-in socket transports (UDP, TCP) and what drives them.
 *
 * A transport here owns sockets; it learns that a socket is readable or
 * writable from a poller (the ready loop in lib/loop implements one on
 * epoll; an application loop could implement another). Bytes read go to
 * sipsrv_core_recv(); the core sends through the transport's ops. */
#ifndef SS_TRANSPORT_INT_H
#define SS_TRANSPORT_INT_H

#include "core/core_int.h"

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* Readiness events. */
enum { SS_POLL_IN = 1, SS_POLL_OUT = 2 };

typedef void (*ss_poll_fn)(void *arg, unsigned events);

typedef struct ss_poller {
  /* Watch fd for events, calling fn(arg, ready) (add or change). */
  int (*watch)(void *self, int fd, unsigned events, ss_poll_fn fn, void *arg);
  /* Stop watching fd (before it is closed). */
  void (*unwatch)(void *self, int fd);
  void *self;
} ss_poller;

typedef struct ss_udp ss_udp;
typedef struct ss_tcp ss_tcp;

/* Parse "IP:PORT", "[IPv6]:PORT" into a sockaddr. 0 or SIPSRV_E_INVAL. */
int ss_sockaddr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len);
/* An IP literal host (IPv4, IPv6 with or without brackets) and port as a
 * socket address: what ss_sockaddr_parse() makes of "host:port" without
 * printing it first. 0, or SIPSRV_E_INVAL. */
int ss_sockaddr_make(const char *host, unsigned port, struct sockaddr_storage *ss, socklen_t *len);
/* Print the host part of an address (IPv6 without brackets). */
int ss_sockaddr_host(const struct sockaddr_storage *ss, char *buf, size_t size, unsigned *port);

/* A UDP socket bound to addr (port 0: any free port), registered on core
 * with the bound address as its sent-by; with reuseport, one of several
 * sockets on that port (SO_REUSEPORT). */
int ss_udp_open(ss_udp **out, sipsrv_core *core, const ss_poller *poller,
                const struct sockaddr_storage *addr, socklen_t len, bool reuseport);
unsigned ss_udp_port(const ss_udp *u);
int ss_udp_family(const ss_udp *u);
void ss_udp_close(ss_udp *u);
/* Offered every datagram u reads before its core sees it: true when it
 * took the datagram (to hand it to another thread). */
typedef bool (*ss_udp_steer_fn)(void *arg, ss_udp *u, const struct sockaddr *src,
                                socklen_t srclen, const char *data, size_t len);
void ss_udp_set_steer(ss_udp *u, ss_udp_steer_fn fn, void *arg);
/* Hand u's core datagrams read elsewhere, between begin and end (what the
 * core sends meanwhile leaves in one batch at end). */
void ss_udp_begin(ss_udp *u);
void ss_udp_deliver(ss_udp *u, const struct sockaddr *src, socklen_t srclen, const void *data,
                    size_t len);
void ss_udp_end(ss_udp *u);

/* A TCP listener on addr and the connections it accepts or opens. Idle
 * connections are closed after idle_ms (0: never). With reuseport, one of
 * several listeners on that port (SO_REUSEPORT: a group of loops). */
int ss_tcp_open(ss_tcp **out, sipsrv_core *core, const ss_poller *poller,
                const struct sockaddr_storage *addr, socklen_t len, uint32_t idle_ms,
                bool reuseport);
unsigned ss_tcp_port(const ss_tcp *t);
int ss_tcp_family(const ss_tcp *t);
sipsrv_transport *ss_tcp_transport(const ss_tcp *t);
/* In a group of loops (tcp.c's comment): t is loop gidx's (0-63); fn takes
 * a send t's core makes on a connection another loop owns (conn), or by
 * address (conn 0) when t has no connection there: 0 when it handed it to
 * the owner, an error (for conn 0: t connects itself). Called from t's
 * thread. */
typedef int (*ss_tcp_foreign_fn)(void *arg, ss_tcp *t, uint64_t conn, const struct sockaddr *dst,
                                 socklen_t dstlen, const struct iovec *iov, int iovcnt);
void ss_tcp_set_group(ss_tcp *t, unsigned gidx, ss_tcp_foreign_fn fn, void *arg);
/* The loop (gidx) whose connection conn is, in a group. */
unsigned ss_tcp_conn_owner(uint64_t conn);
/* From any thread: the id of a connection of t's to dst. */
bool ss_tcp_find(ss_tcp *t, const struct sockaddr *dst, socklen_t dstlen, uint64_t *conn);
/* In t's thread: send what another loop handed over, on conn (one of t's)
 * or, when it is gone, by address as any send. */
int ss_tcp_send_own(ss_tcp *t, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
                    const void *data, size_t len);
/* Close connections idle for idle_ms at time now (ms); call it now and then. */
void ss_tcp_sweep(ss_tcp *t, uint64_t now);
size_t ss_tcp_connections(const ss_tcp *t);
void ss_tcp_close(ss_tcp *t);

#endif
