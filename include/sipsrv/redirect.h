/**
 * @file redirect.h
 * @brief The redirect server role (RFC 3261 8.3, 21.3).
 *
 * A redirect server answers a request with the places to try instead of
 * forwarding it: 302 (Moved Temporarily) with one Contact, 300 (Multiple
 * Choices) with several, ordered by q (highest first), each with its q and
 * the seconds it stays valid (expires). The caller then sends the request
 * there itself.
 *
 * It claims every request but REGISTER (the registrar's), ACK (absorbed by
 * the INVITE server transaction after a 3xx, RFC 3261 17.2.1) and requests
 * addressed to the server itself (a Request-URI without user part naming
 * one of its addresses or domains: left to the UAS). CANCEL gets 200 when
 * its INVITE transaction exists (the 3xx went already, 9.2), else 481.
 *
 * Targets come from the application's callback (static rules, a database)
 * and from the location service (the registered contacts of the
 * Request-URI's AOR, for its domains). With none:
 * - 480 (Temporarily Unavailable) for a known user: one with credentials
 *   in the store for the realm, or one the callback called known;
 * - 404 (Not Found) otherwise, and for domains it does not serve (21.4.4).
 *
 * Threads: used from its core's thread.
 */
#ifndef SIPSRV_REDIRECT_H
#define SIPSRV_REDIRECT_H

#include <sipsrv/common.h>
#include <sipsrv/core.h>
#include <sipsrv/msg.h>
#include <sipsrv/store.h>

SIPSRV_BEGIN_DECLS

/** Opaque redirect server handle. */
typedef struct sipsrv_redirect sipsrv_redirect;

/** The targets of the request being redirected, for sipsrv_redirect_cfg::on_redirect. */
typedef struct sipsrv_redirect_targets sipsrv_redirect_targets;

/**
 * What the application adds for a request (sipsrv_redirect_add(),
 * sipsrv_redirect_known(), sipsrv_redirect_reject()). The location
 * service's contacts are added after it returns, unless it rejected.
 * @param rd The redirect server.
 * @param t The request's targets.
 * @param req The request (valid during the call).
 * @param user sipsrv_redirect_cfg::user.
 */
typedef void (*sipsrv_redirect_cb)(sipsrv_redirect *rd, sipsrv_redirect_targets *t,
                                   const sipsrv_msg *req, void *user);

/** The version of sipsrv_redirect_cfg this header describes. */
#define SIPSRV_REDIRECT_CFG_VERSION 1

/** Configuration of a redirect server. Initialise with #SIPSRV_REDIRECT_CFG_INIT. */
typedef struct sipsrv_redirect_cfg {
  unsigned version;                 /**< #SIPSRV_REDIRECT_CFG_VERSION */
  /** Its domains, NULL-terminated (required, borrowed). */
  const char *const *domains;
  /** The location service (borrowed); NULL: targets from on_redirect only. */
  sipsrv_store *location;
  /** The realm whose credentials make a user known (480 rather than 404);
   *  NULL: the first domain. */
  const char *realm;
  /** Called first for every claimed request; NULL: none. */
  sipsrv_redirect_cb on_redirect;
  void *user;                       /**< Passed to on_redirect. */
} sipsrv_redirect_cfg;

/** Defaults: no domain (to set), no location service, no callback. */
#define SIPSRV_REDIRECT_CFG_INIT { SIPSRV_REDIRECT_CFG_VERSION, NULL, NULL, NULL, NULL, NULL }

/**
 * @brief Create a redirect server on a core; attach the registrar first
 *        (it claims REGISTER), the UAS last.
 * @param[out] out Receives the server, written only on success.
 * @param core The core (borrowed: free the server first). Needs a wall clock
 *        when there is a location service (the contacts' expires).
 * @param cfg The configuration (copied; domains and location borrowed).
 * @return 0; SIPSRV_E_INVAL for NULL or no domain; SIPSRV_E_VERSION;
 *         SIPSRV_E_STATE for a location service without a wall clock;
 *         SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_redirect_new(sipsrv_redirect **out, sipsrv_core *core,
                                   const sipsrv_redirect_cfg *cfg);

/**
 * @brief Free a redirect server: requests waiting for the store get 500.
 * @param rd A redirect server, or NULL (no-op).
 * @since 0.1.0
 */
SIPSRV_API void sipsrv_redirect_free(sipsrv_redirect *rd);

/**
 * @brief Add a place to try (in on_redirect).
 * @param t The request's targets.
 * @param uri A SIP, SIPS or tel URI.
 * @param q Its q-value in thousandths (0-1000), or -1 for none (ordered as 1000).
 * @param expires_s How long it holds, in seconds, or -1 to say nothing.
 * @return 0; SIPSRV_E_INVAL for a bad URI or value; SIPSRV_E_TOOBIG past 16 targets;
 *         SIPSRV_E_STATE after a reject; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_redirect_add(sipsrv_redirect_targets *t, const char *uri, int q,
                                   int expires_s);

/**
 * @brief Say that the Request-URI's user exists (in on_redirect): without
 *        targets the answer is 480, not 404.
 * @param t The request's targets.
 * @return 0; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_redirect_known(sipsrv_redirect_targets *t);

/**
 * @brief Answer the request with a status instead (in on_redirect).
 * @param t The request's targets.
 * @param status 400-699.
 * @param phrase The reason phrase, or NULL for the standard one.
 * @return 0; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_redirect_reject(sipsrv_redirect_targets *t, int status, const char *phrase);

SIPSRV_END_DECLS

#endif /* SIPSRV_REDIRECT_H */
