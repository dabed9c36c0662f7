/**
 * @file loop.h
 * @brief A ready event loop that drives a core with real sockets.
 *
 * Optional: an application with a loop of its own registers its own
 * transports (transport.h), calls sipsrv_core_recv() when bytes arrive, and
 * arms one timer for sipsrv_core_next_timeout(), calling
 * sipsrv_core_expire() when it fires. This loop does exactly that on epoll,
 * with UDP and TCP listeners (IPv4 and IPv6), for the examples and for
 * applications that want no loop of their own.
 *
 * The core must run on sipsrv_clock_monotonic() (its cfg.clock).
 *
 * Threads: a loop and its core are used from one thread. To use several
 * cores of the machine, run one loop (with its own core and roles) per
 * thread and join them in a group (sipsrv_loop_group_new()): their UDP and
 * TCP listeners share each port (SO_REUSEPORT), and every message is
 * handled by the loop that owns its Call-ID, so that all the messages of a call
 * and of its transactions (responses, ACK, CANCEL, BYE from either side)
 * meet the same core. The roles of a group share one store, which must be
 * safe across threads (the memory store is). sipsrv_loop_stop() may be
 * called from any thread.
 */
#ifndef SIPSRV_LOOP_H
#define SIPSRV_LOOP_H

#include <sipsrv/common.h>
#include <sipsrv/core.h>
#include <sipsrv/resolver.h>

SIPSRV_BEGIN_DECLS

/** Opaque loop handle. */
typedef struct sipsrv_loop sipsrv_loop;

/**
 * @brief A sipsrv_clock_cb reading CLOCK_MONOTONIC, in milliseconds.
 * @param unused Ignored.
 * @return Milliseconds since an arbitrary point; never decreasing.
 * @note Thread-safe. @since 0.1.0
 */
SIPSRV_API uint64_t sipsrv_clock_monotonic(void *unused);

/**
 * @brief A sipsrv_clock_cb reading CLOCK_REALTIME: Unix time in milliseconds,
 *        for sipsrv_core_cfg::wall_clock.
 * @param unused Ignored.
 * @return Milliseconds since 1970-01-01 UTC; may jump when the system time is set.
 * @note Thread-safe. @since 0.1.0
 */
SIPSRV_API uint64_t sipsrv_clock_realtime(void *unused);

/**
 * @brief Create a loop for a core.
 * @param[out] out Receives the loop, written only on success.
 * @param core The core it drives (borrowed: free the loop first).
 * @return 0; SIPSRV_E_INVAL; SIPSRV_E_IO if epoll cannot be set up; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_loop_new(sipsrv_loop **out, sipsrv_core *core);

/**
 * @brief Listen on a transport and address.
 * @param loop The loop.
 * @param spec "udp:IP:PORT" or "tcp:IP:PORT"; IPv6 as "udp:[::1]:5060".
 *             Port 0 takes a free port. The IP is the Via sent-by of the
 *             transport, so give the address peers reach, not 0.0.0.0.
 * @param[out] port Receives the bound port (may be NULL).
 * @return 0; SIPSRV_E_INVAL for a bad spec; SIPSRV_E_IO if the socket
 *         cannot be bound; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_loop_listen(sipsrv_loop *loop, const char *spec, unsigned *port);

/**
 * @brief Stop sipsrv_loop_run() on SIGINT and SIGTERM.
 *
 * Blocks the two signals in the calling thread and reads them through a
 * signalfd, so no handler runs inside the library.
 *
 * @param loop The loop.
 * @return 0; SIPSRV_E_INVAL; SIPSRV_E_IO.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_loop_handle_signals(sipsrv_loop *loop);

/** A signal read by the loop (sipsrv_loop_on_signal()): called from the
 *  loop's thread, like any callback, so it may use the library. */
typedef void (*sipsrv_signal_cb)(int signo, void *user);

/**
 * @brief Call cb when signo arrives (SIGUSR1 for a status line, SIGHUP to
 *        reload...), read through the same signalfd as
 *        sipsrv_loop_handle_signals(), which must be called too (before or
 *        after); no handler runs inside the library.
 * @param loop The loop.
 * @param signo The signal; not SIGINT or SIGTERM (they stop the loop),
 *        SIGKILL or SIGSTOP.
 * @param cb Called from sipsrv_loop_run_once() when it arrives.
 * @param user Passed to cb.
 * @return 0; SIPSRV_E_INVAL; SIPSRV_E_TOOBIG past 8 signals; SIPSRV_E_IO.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_loop_on_signal(sipsrv_loop *loop, int signo, sipsrv_signal_cb cb, void *user);

/**
 * @brief Run one round: wait at most timeout_ms (-1: until an event or the
 *        core's next timer) for sockets, handle them, run due timers.
 * @param loop The loop.
 * @param timeout_ms The longest wait in milliseconds; 0 does not wait; -1
 *        waits for an event or the next timer (a second at most).
 * @return The number of events handled (0 or more); SIPSRV_E_INVAL; SIPSRV_E_IO.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_loop_run_once(sipsrv_loop *loop, int timeout_ms);

/**
 * @brief Run until sipsrv_loop_stop() or a handled signal.
 * @param loop The loop.
 * @return 0 when stopped; SIPSRV_E_INVAL; SIPSRV_E_IO.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_loop_run(sipsrv_loop *loop);

/**
 * @brief Make sipsrv_loop_run() return after the current round.
 * @param loop The loop, or NULL (no-op). From a callback, or from another
 *             thread (the loop wakes up at once); from a signal handler use
 *             sipsrv_loop_handle_signals() instead.
 * @note Thread-safe.
 * @since 0.1.0
 */
SIPSRV_API void sipsrv_loop_stop(sipsrv_loop *loop);

/**
 * @brief A resolver (resolver.h) on Sofia-SIP's asynchronous DNS
 *        resolver, its sockets and retransmissions run by this loop:
 *        RFC 3263 NAPTR, then SRV, then A and AAAA.
 *
 * Sofia-SIP returns the transport of the first usable NAPTR record only,
 * and does not retry a truncated answer over TCP.
 *
 * @param[out] out Receives the resolver, written only on success. Free it
 *             with sipsrv_resolver_free() before the loop.
 * @param loop The loop.
 * @param resolv_conf The resolv.conf to read name servers from; NULL:
 *             /etc/resolv.conf.
 * @return 0; SIPSRV_E_INVAL; SIPSRV_E_IO if the resolver cannot be set up;
 *         SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_loop_resolver_new(sipsrv_resolver **out, sipsrv_loop *loop,
                                        const char *resolv_conf);

/** Opaque handle of a group of loops, one per thread. */
typedef struct sipsrv_loop_group sipsrv_loop_group;

/**
 * @brief Join loops into a group, before any of them listens.
 *
 * Each loop then listens on the same UDP addresses (sipsrv_loop_listen()
 * on every loop, with the port the first one got when it asked for port
 * 0): the sockets share the port (SO_REUSEPORT), and the kernel spreads
 * datagrams over them by source address. A loop that reads a datagram
 * whose Call-ID another loop owns (a hash of the Call-ID picks the owner)
 * hands it to that loop, which handles it on its own core and answers
 * through its own socket on the same port. A datagram without a Call-ID
 * (a keep-alive, garbage) stays where it came.
 *
 * TCP listeners share the port the same way: the kernel gives each
 * connection to one loop, which alone reads and writes it. A message
 * framed on it whose Call-ID another loop owns is handed over with the
 * connection's id; what that loop sends on the connection (the response,
 * RFC 3261 18.2.2) goes back to the owner, which writes it. A request a
 * loop sends over TCP to an address it has no connection with takes
 * another loop's connection to that address if there is one (RFC 5923 3;
 * a UA behind NAT is reachable only over the connection it opened), else
 * a new one of its own. A send handed over this way reports no transport
 * error to the sender's transaction (RFC 3261 17.1.4): that one times out
 * instead. All the loops listen before any runs.
 *
 * @param[out] out Receives the group.
 * @param loops The loops (borrowed; they must outlive the group), each run
 *              by its own thread; at most 64.
 * @param n Their number (1 or more).
 * @return 0; SIPSRV_E_INVAL (no loops, too many, a loop twice or in a group
 *         already); SIPSRV_E_STATE (a loop listens already); SIPSRV_E_NOMEM;
 *         SIPSRV_E_IO.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_loop_group_new(sipsrv_loop_group **out, sipsrv_loop *const *loops, size_t n);

/**
 * @brief Datagrams the loops of a group handed to one another so far.
 * @param group The group.
 * @return Their number (all loops together); 0 for NULL.
 * @note Thread-safe. @since 0.1.0
 */
SIPSRV_API uint64_t sipsrv_loop_group_handoffs(const sipsrv_loop_group *group);

/**
 * @brief Free a group whose loops no longer run (their threads joined),
 *        before the loops are freed; datagrams still queued are dropped.
 * @param group The group (NULL: nothing).
 * @since 0.1.0
 */
SIPSRV_API void sipsrv_loop_group_free(sipsrv_loop_group *group);

/**
 * @brief Close every socket and free the loop; its transports leave the core.
 * @param loop A loop, or NULL (no-op).
 * @since 0.1.0
 */
SIPSRV_API void sipsrv_loop_free(sipsrv_loop *loop);

SIPSRV_END_DECLS

#endif /* SIPSRV_LOOP_H */
