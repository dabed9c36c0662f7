/**
 * @file transport.h
 * @brief The transport vtable: how bytes reach and leave a core.
 *
 * A core never opens a socket. A transport, built in (lib/transport, the
 * ready loop in lib/loop) or written by the application, is a table of
 * operations registered with sipsrv_core_add_transport(). Bytes that arrive
 * are handed to sipsrv_core_recv() with their source; bytes that leave go
 * through the table's send slot.
 *
 * Versioning (STYLE.md): the table starts with its version and size; slots
 * are only ever appended; the core checks both before it uses a slot, and a
 * NULL slot means "not supported".
 *
 * Threads: a transport is used from its core's thread.
 */
#ifndef SIPSRV_TRANSPORT_H
#define SIPSRV_TRANSPORT_H

#include <sipsrv/common.h>
#include <sipsrv/core.h>

#include <sys/socket.h>
#include <sys/uio.h>

SIPSRV_BEGIN_DECLS

/** A transport registered on a core; owned by the core. */
typedef struct sipsrv_transport sipsrv_transport;

/** The version of struct sipsrv_transport_ops this header describes. */
#define SIPSRV_TRANSPORT_OPS_VERSION 1

/** Flags of sipsrv_transport_ops::flags. */
enum sipsrv_transport_flags {
  /** Delivery is reliable (TCP, TLS, SCTP): RFC 3261 17 turns retransmission off. */
  SIPSRV_TP_RELIABLE = 1u << 0,
  /** A byte stream with connections: messages are framed (RFC 3261 18.3). */
  SIPSRV_TP_STREAM = 1u << 1,
  /** Secure (TLS): sips URIs may use it. */
  SIPSRV_TP_SECURE = 1u << 2
};

/** Operations of a transport. */
struct sipsrv_transport_ops {
  unsigned version;   /**< #SIPSRV_TRANSPORT_OPS_VERSION */
  size_t size;        /**< sizeof(struct sipsrv_transport_ops) */
  const char *name;   /**< The Via transport token: "UDP", "TCP", "TLS"... (static) */
  unsigned flags;     /**< A mask of sipsrv_transport_flags. */

  /**
   * Send one message (required).
   *
   * @param user The pointer given to sipsrv_core_add_transport().
   * @param conn For a stream transport: the connection to send on, or 0 to
   *             use (or open) a connection to dst. Always 0 for datagrams.
   * @param dst The destination address (always set).
   * @param dstlen Its length.
   * @param iov The bytes, borrowed for the call (copy what must outlive it).
   * @param iovcnt The number of iovecs.
   * @return 0 when the bytes were handed to the network (or queued); a
   *         negative SIPSRV_E_* (SIPSRV_E_IO) when they cannot be: the core
   *         then reports a transport error (RFC 3261 8.1.3.1, 17.1.4).
   */
  int (*send)(void *user, uint64_t conn, const struct sockaddr *dst, socklen_t dstlen,
              const struct iovec *iov, int iovcnt);

  /**
   * Close a connection (optional; streams only): the core asks it when the
   * framing of the connection is lost (RFC 3261 18.3). The transport then
   * calls sipsrv_core_conn_closed().
   */
  void (*close)(void *user, uint64_t conn);
};

/**
 * @brief Register a transport on a core.
 * @param core The core.
 * @param ops The operations (borrowed: must outlive the core's use of it).
 * @param user Passed to every operation.
 * @param host The sent-by host this transport puts in Via headers (and
 *             a Record-Route, later): an IP address or a host name (copied).
 * @param port Its port (1-65535).
 * @param[out] out Receives the transport, owned by the core; may be NULL.
 * @return 0; SIPSRV_E_VERSION for an unknown ops version or a size smaller
 *         than version 1's; SIPSRV_E_INVAL for a missing send, name or host,
 *         or a bad port; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_core_add_transport(sipsrv_core *core, const struct sipsrv_transport_ops *ops,
                                         void *user, const char *host, unsigned port,
                                         sipsrv_transport **out);

/**
 * @brief Unregister a transport (before its ops or user data go away).
 *
 * Messages the core would still send through it (retransmissions, answers
 * to transactions that came on it) fail as transport errors (RFC 3261
 * 17.1.4, 17.2.4). Its connections' framing state is dropped.
 *
 * @param core The core.
 * @param tp The transport (sipsrv_core_add_transport()).
 * @return 0; SIPSRV_E_INVAL for a transport not registered on this core, or
 *         removed already.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_core_remove_transport(sipsrv_core *core, sipsrv_transport *tp);

/**
 * @brief Hand the core bytes a transport received.
 *
 * A datagram transport passes one datagram per call. A stream transport
 * passes what each read returned, in order, with the connection it came on;
 * the core frames the messages (RFC 3261 18.3), answers CRLF keep-alives
 * (RFC 5626 4.4.1), answers malformed requests with the status the RFCs ask
 * for, and drops malformed responses.
 *
 * @param core The core.
 * @param tp The transport the bytes came on.
 * @param conn The connection (stream transports; any value but 0), 0 for datagrams.
 * @param src The source address.
 * @param srclen Its length.
 * @param data The bytes (borrowed for the call).
 * @param len Their number.
 * @return 0; SIPSRV_E_INVAL for bad arguments; SIPSRV_E_STATE if the core has
 *         no clock; SIPSRV_E_CLOSED when the stream's framing is lost (the
 *         core has asked the transport to close the connection).
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_core_recv(sipsrv_core *core, sipsrv_transport *tp, uint64_t conn,
                                const struct sockaddr *src, socklen_t srclen, const void *data,
                                size_t len);

/**
 * @brief Tell the core a connection is gone (closed by either side).
 * @param core The core.
 * @param tp The transport it belonged to.
 * @param conn Its connection id, as given to sipsrv_core_recv().
 * @return 0; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_core_conn_closed(sipsrv_core *core, sipsrv_transport *tp, uint64_t conn);

/**
 * @brief Tell the core a connection the transport was opening to dst for a
 *        request could not be made (refused, unreachable, timed out): the
 *        client transactions waiting for an answer from dst over tp fail at
 *        once with a transport error (RFC 3261 17.1.4, 8.1.3.1), instead of
 *        at Timer B or F. A proxy then tries its next target (16.9).
 * @param core The core.
 * @param tp The stream transport.
 * @param dst The address it could not reach (borrowed).
 * @param dstlen Its length.
 * @return The number of transactions that failed; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_core_conn_failed(sipsrv_core *core, sipsrv_transport *tp,
                                       const struct sockaddr *dst, socklen_t dstlen);

SIPSRV_END_DECLS

#endif /* SIPSRV_TRANSPORT_H */
