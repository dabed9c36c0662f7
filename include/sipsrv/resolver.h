/**
 * @file resolver.h
 * @brief The resolver vtable: RFC 3263 server location for SIP URIs.
 *
 * A proxy whose next hop is a host name (not an IP address) asks a
 * resolver for the ordered list of (transport, address, port) to try
 * (RFC 3263 4.1 and 4.2: NAPTR, then SRV, then A/AAAA), and tries them in
 * that order: the next one after a transport error, a timeout or a 503
 * (RFC 3263 4.3), each in a new client transaction.
 *
 * The core stays free of I/O: resolving is the embedding application's,
 * through this table. sipsrv_loop_resolver_new() (loop.h) provides one on
 * Sofia-SIP's asynchronous resolver for applications using the ready loop.
 *
 * Versioning (STYLE.md): the table starts with its version and size; slots
 * are appended only.
 * Threads: a resolver is used from its core's thread.
 */
#ifndef SIPSRV_RESOLVER_H
#define SIPSRV_RESOLVER_H

#include <sipsrv/common.h>

#include <sys/socket.h>

SIPSRV_BEGIN_DECLS

/** One place to send a request to, in the order RFC 3263 gives. */
typedef struct sipsrv_resolved {
  /** The transport: "UDP", "TCP", "TLS" or "SCTP". */
  char transport[8];
  /** The address with its port (never 0). */
  struct sockaddr_storage addr;
  /** The length of addr. */
  socklen_t addrlen;
} sipsrv_resolved;

/**
 * The completion of a resolution.
 * @param ctx The context given with the query.
 * @param err 0; SIPSRV_E_NOTFOUND when the name has no usable record;
 *        SIPSRV_E_IO for a failure that may pass (no answer, SERVFAIL).
 * @param r The targets in the order to try them (valid until the callback
 *        returns); NULL when err is not 0.
 * @param n Their number (at least 1 when err is 0).
 */
typedef void (*sipsrv_resolve_cb)(void *ctx, int err, const sipsrv_resolved *r, size_t n);

/** The version of struct sipsrv_resolver_ops this header describes. */
#define SIPSRV_RESOLVER_OPS_VERSION 1

/** Operations of a resolver. */
struct sipsrv_resolver_ops {
  unsigned version;   /**< #SIPSRV_RESOLVER_OPS_VERSION */
  size_t size;        /**< sizeof(struct sipsrv_resolver_ops) */

  /** Start resolving uri, a SIP or SIPS URI ("sip:example.com;transport=tcp",
   *  "sips:example.com:5061"). Write a handle to *query (before done can
   *  run), then call done exactly once, possibly before returning, unless
   *  the query is cancelled first. Returns 0 when started, a negative
   *  SIPSRV_E_* when not (done will not run). Required. */
  int (*resolve)(void *user, const char *uri, sipsrv_resolve_cb done, void *ctx, void **query);

  /** Cancel a query whose done has not run yet: it never will. Required. */
  void (*cancel)(void *user, void *query);

  /** Free the backend (the resolver is being freed). May be NULL. */
  void (*destroy)(void *user);
};

/** Opaque resolver handle: a backend's ops with their user data. */
typedef struct sipsrv_resolver sipsrv_resolver;

/**
 * @brief Wrap a backend's table in a resolver.
 * @param[out] out Receives the resolver, written only on success.
 * @param ops The table (borrowed: must outlive the resolver).
 * @param user Passed to every operation; ops->destroy(user) runs at sipsrv_resolver_free().
 * @return 0; SIPSRV_E_INVAL for NULL or a missing slot; SIPSRV_E_VERSION for
 *         an unknown version or a too small size; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_resolver_new(sipsrv_resolver **out, const struct sipsrv_resolver_ops *ops,
                                   void *user);

/**
 * @brief Free a resolver. Free the roles that use it first.
 * @param r A resolver, or NULL (no-op).
 * @since 0.1.0
 */
SIPSRV_API void sipsrv_resolver_free(sipsrv_resolver *r);

/**
 * @brief Start a resolution (what the proxy calls).
 * @param r The resolver.
 * @param uri A SIP or SIPS URI.
 * @param done Called once with the result, unless cancelled first.
 * @param ctx Passed to done.
 * @param[out] query Receives the handle for sipsrv_resolver_cancel().
 * @return 0 when started; SIPSRV_E_INVAL; what the backend returns.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_resolver_resolve(sipsrv_resolver *r, const char *uri, sipsrv_resolve_cb done,
                                       void *ctx, void **query);

/**
 * @brief Cancel a query whose callback has not run.
 * @param r The resolver.
 * @param query The handle from sipsrv_resolver_resolve().
 * @since 0.1.0
 */
SIPSRV_API void sipsrv_resolver_cancel(sipsrv_resolver *r, void *query);

SIPSRV_END_DECLS

#endif /* SIPSRV_RESOLVER_H */
