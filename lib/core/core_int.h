/* Private to lib/: the core's internals that the layers above it share.
 *
 * The core sits under the transaction layer (ARCHITECTURE.md): it knows
 * transports, framing, parsing, timers and the clock, and hands every
 * accepted message to one sink, which the transaction layer installs when it
 * is first asked for (lib/txn). It never includes a header from above. */
#ifndef SS_CORE_INT_H
#define SS_CORE_INT_H

#include <sipsrv/core.h>
#include <sipsrv/msg.h>
#include <sipsrv/transport.h>

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#if defined(__GNUC__)
#define SS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SS_PRINTF(a, b)
#endif

struct ss_timers;

/* Where a message came from or goes: a transport, a connection on it (stream
 * transports), an address. `reliable` is the transport's (RFC 3261 17 turns
 * retransmissions off over reliable transports). */
typedef struct ss_peer {
  sipsrv_transport *transport;
  uint64_t conn;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  bool reliable;
} ss_peer;

/* Where accepted messages go (the transaction layer). */
typedef struct ss_sink {
  /* An accepted message from the network (taken). */
  void (*message)(void *self, sipsrv_msg *m, const ss_peer *src);
  /* After timers ran: free what they ended. May be NULL. */
  void (*after_expire)(void *self);
  /* The core is being freed. */
  void (*fini)(void *self);
  void *self;
  /* A stream transport could not reach addr: fail what waits on it; the
   * number failed. May be NULL. */
  int (*unreachable)(void *self, const sipsrv_transport *tp, const struct sockaddr *addr,
                     socklen_t len);
  /* A response (response true) or a request that came as a datagram,
   * before any parse: true when the sink dealt with it from the bytes
   * (forwarded them), false for the full parse and the usual path. May be
   * NULL. */
  bool (*raw)(void *self, const char *data, size_t len, const ss_peer *src, bool response);
} ss_sink;

/* A core's allocator (the C library's for NULL). */
const sipsrv_allocator *ss_core_allocator(const sipsrv_core *core);

/* Allocation through the core's allocator (the C library's for NULL). */
void *ss_alloc(const sipsrv_core *core, size_t size);
void *ss_zalloc(const sipsrv_core *core, size_t size);
void ss_free(const sipsrv_core *core, void *ptr);

/* Log through the core's callback; formats only when the level is enabled.
 * A message longer than 511 characters is cut there. */
void ss_log(const sipsrv_core *core, sipsrv_log_level level, const char *fmt, ...) SS_PRINTF(3, 4);
/* True when a message of this level would reach the callback. */
int ss_log_enabled(const sipsrv_core *core, sipsrv_log_level level);

/* The clock, the timers and RFC 3261's T1, T2, T4 of a core. */
bool ss_core_has_clock(const sipsrv_core *core);
uint64_t ss_core_now(const sipsrv_core *core);
struct ss_timers *ss_core_timers(sipsrv_core *core);
/* The wall clock (Unix ms), for binding expiry and Date; 0 without one. */
bool ss_core_has_wall_clock(const sipsrv_core *core);
int64_t ss_core_wall_now(const sipsrv_core *core);
void ss_core_timer_values(const sipsrv_core *core, uint32_t *t1, uint32_t *t2, uint32_t *t4);

/* Whether host:port (a Via's sent-by, port 5060 when it has none) names one
 * of the core's transports: a response with such a top Via is ours. */
bool ss_core_sent_by_is_ours(const sipsrv_core *core, const char *host, unsigned port);

/* The sink of accepted messages: set once; its self, or NULL. */
int ss_core_set_sink(sipsrv_core *core, const ss_sink *sink);
void *ss_core_sink_self(const sipsrv_core *core);

/* Send m to peer: a request to peer's address; a response where RFC 3261
 * 18.2.2 and RFC 3581 4 say (the connection it came on, or the source
 * address and port). 0, or negative on failure. */
int ss_core_send(sipsrv_core *core, const ss_peer *peer, sipsrv_msg *m);
/* Send the bytes of a response of status to req (ss_reply_wire()), routed
 * as ss_core_send() routes a response, by req's top Via (the response
 * copies it). 0, or negative on transport failure. */
int ss_core_send_wire(sipsrv_core *core, const ss_peer *peer, const sipsrv_msg *req, int status,
                      const char *buf, size_t len);
/* Where a response goes (RFC 3261 18.2.2) by Via number via of m, a request
 * that came from peer or a response (0: the top one; 1 the next, for a
 * proxy that sends a response on without its own Via, 16.7 step 3): *out,
 * for ss_core_send_to() (a UAS that sends its 2xx again after letting go
 * of the request). */
void ss_core_response_peer(const ss_peer *peer, const sipsrv_msg *m, unsigned via, ss_peer *out);
/* The same from that Via's fields (NULL: the response has none). */
void ss_core_response_peer_via(const ss_peer *peer, const sipsrv_via *via, ss_peer *out);
/* Send the bytes of a response of status to exactly to. 0, or negative. */
int ss_core_send_to(sipsrv_core *core, const ss_peer *to, int status, const char *buf, size_t len);
/* Send the bytes of a request to peer, as ss_core_send() sends a request
 * (a stream transport with no connection: one the peer aliased, RFC 5923).
 * 0, or negative. */
int ss_core_send_request_to(sipsrv_core *core, const ss_peer *peer, const char *buf, size_t len);

/* Offered each message framed on a stream connection before the core
 * handles it: true when fn took it (a group of loops hands it to the loop
 * owning its Call-ID). NULL fn: none. */
typedef bool (*ss_stream_steer_fn)(void *arg, sipsrv_transport *tp, uint64_t conn,
                                   const struct sockaddr *src, socklen_t srclen, const char *data,
                                   size_t len);
void ss_core_set_stream_steer(sipsrv_core *core, ss_stream_steer_fn fn, void *arg);
/* Handle one message framed on connection conn of stream transport tp
 * (by this core's transport, or another core's of a group, whose loop
 * sends on it): as sipsrv_core_recv() handles each message it frames. 0,
 * or SIPSRV_E_INVAL. */
int ss_core_recv_framed(sipsrv_core *core, sipsrv_transport *tp, uint64_t conn,
                        const struct sockaddr *src, socklen_t srclen, const char *data, size_t len);

/* RFC 3261 18.2.1 and RFC 3581 4 for a request from src whose top Via has
 * sent-by host sent_by (IPv6 bracketed or not) and rport (with or without
 * a value): true when the Via gets received = *host (src's address, bare)
 * and, when it asked for it, rport = *port. host: INET6_ADDRSTRLEN bytes. */
bool ss_core_via_received(const ss_peer *src, const char *sent_by, bool rport, char *host,
                          unsigned *port);

/* A per-core random value (getrandom at creation) for tags that must be
 * unpredictable (RFC 3261 19.3). */
uint64_t ss_core_secret(const sipsrv_core *core);

/* A transport's Via token ("UDP"...), sent-by host and port, and flags; NULL
 * name for a removed transport. */
void ss_transport_info(const sipsrv_transport *tp, const char **name, const char **host,
                       unsigned *port, unsigned *flags);

/* The first transport with this Via token ("UDP", "TCP") for an address
 * family (AF_INET, AF_INET6), or NULL. */
sipsrv_transport *ss_core_transport_find(const sipsrv_core *core, const char *name, int family);
/* True when host (an IP literal, IPv6 bracketed or not) and port (0: any)
 * are the sent-by of one of the core's transports. */
bool ss_core_is_local(const sipsrv_core *core, const char *host, unsigned port);

/* Counters (sipsrv_counters in core.h says what each one counts); dropped
 * is the sum of the dropped_* ones. The transaction layer counts its own
 * through ss_core_counters_of(). */
typedef struct ss_counters {
  uint64_t received, rejected, dropped, sent, send_failures, keepalives;
  uint64_t requests_in, responses_in[6], requests_out, responses_out[6];
  uint64_t retrans_in, retrans_out, transactions, transactions_live;
  uint64_t dropped_malformed, dropped_not_ours, dropped_unmatched;
  uint64_t rate_limited, auth_failures, auth_locked;
  uint64_t responses_relayed;
  uint64_t requests_relayed;
} ss_counters;
const ss_counters *ss_core_counters(const sipsrv_core *core);
/* The core's flood protection (limit.h); NULL when no limits were set. */
struct ss_limiter;
struct ss_limiter *ss_core_limiter(sipsrv_core *core);
ss_counters *ss_core_counters_of(sipsrv_core *core);

#endif
