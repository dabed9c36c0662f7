/**
 * @file registrar.h
 * @brief The registrar role: REGISTER and the location service (RFC 3261 10.3).
 *
 * A registrar claims the REGISTER requests whose Request-URI names one of
 * its domains (10.3 step 1) and keeps the bindings in a store (store.h):
 * - Require with unknown option tags: 420 (step 2; it supports path);
 * - the AOR is the To URI, which must be a SIP or SIPS URI (400) of one of
 *   its domains (404), in canonical form: URI parameters and the port
 *   removed, host in lower case (step 5; the port only says how the request
 *   reached the registrar);
 * - Contact "*" only alone and with Expires: 0 (400), removing every
 *   binding (step 6);
 * - the expiry of each contact: its expires parameter, else the Expires
 *   header, else the default; below the minimum: 423 with Min-Expires;
 *   above the maximum: shortened (step 7);
 * - Call-ID and CSeq ordering: a binding set by the same Call-ID is changed
 *   only by a higher CSeq, else the whole request fails with 500 (step 7);
 * - the 200 lists every current binding with its remaining expires and q,
 *   and carries a Date (step 8); a REGISTER without Contact fetches them;
 * - Path (RFC 3327): stored with the binding and echoed in the 200, with
 *   Supported: path;
 * - at most max_bindings per AOR: beyond that the request is rejected (403)
 *   or, with evict_oldest, the least recently updated bindings go.
 * With auth_realm set, every REGISTER authenticates with digest (MD5,
 * SHA-256, SHA-512-256) first: 401 with challenges, 400 for malformed
 * credentials, 403 for a user registering another user's AOR.
 * A store failure answers 500 with Retry-After and keeps the old bindings.
 * It needs the core's wall clock (sipsrv_core_cfg::wall_clock).
 *
 * Threads: used from its core's thread.
 */
#ifndef SIPSRV_REGISTRAR_H
#define SIPSRV_REGISTRAR_H

#include <sipsrv/common.h>
#include <sipsrv/core.h>
#include <sipsrv/store.h>

SIPSRV_BEGIN_DECLS

/** Opaque registrar handle. */
typedef struct sipsrv_registrar sipsrv_registrar;

/** The version of sipsrv_registrar_cfg this header describes. */
#define SIPSRV_REGISTRAR_CFG_VERSION 1

/** Configuration of a registrar. Initialise with #SIPSRV_REGISTRAR_CFG_INIT. */
typedef struct sipsrv_registrar_cfg {
  unsigned version;                 /**< #SIPSRV_REGISTRAR_CFG_VERSION */
  const char *const *domains;       /**< Its domains, NULL-terminated (required, borrowed). */
  sipsrv_store *store;              /**< The location service (required, borrowed). */
  uint32_t min_expires;             /**< Shortest registration accepted, s; 0: 60. */
  uint32_t max_expires;             /**< Longest registration granted, s; 0: 86400. */
  uint32_t default_expires;         /**< When the REGISTER says none, s; 0: 3600. */
  unsigned max_bindings;            /**< Per AOR; 0: 16. */
  int evict_oldest;                 /**< Past max_bindings: 0 rejects (403), 1 evicts. */
  /** The digest realm: every REGISTER must authenticate (RFC 3261 22.4, 401)
   *  with credentials from the store; NULL: no authentication. A user may
   *  register only the AOR of its own name (10.3 step 4; else 403). */
  const char *auth_realm;
  /** The secret that signs nonces (so that nodes sharing it accept each
   *  other's); NULL: a random one (copied; up to 64 bytes). */
  const unsigned char *auth_secret;
  size_t auth_secret_len;           /**< Its length. */
  /** The digest algorithms offered and accepted, SIPSRV_DIGEST_* or-ed;
   *  0: all three. Challenges list them strongest first (RFC 8760 2.4); as
   *  some clients answer only the first challenge and know only MD5
   *  (sipsak 0.9.8, sipp 3.7), SIPSRV_DIGEST_MD5 alone serves them. */
  unsigned auth_algs;
} sipsrv_registrar_cfg;

/** Digest algorithm bits for sipsrv_registrar_cfg::auth_algs. */
#define SIPSRV_DIGEST_MD5 0x1u
#define SIPSRV_DIGEST_SHA256 0x2u         /**< RFC 7616 / RFC 8760 SHA-256. */
#define SIPSRV_DIGEST_SHA512_256 0x4u     /**< RFC 7616 / RFC 8760 SHA-512-256. */
/** All three. */
#define SIPSRV_DIGEST_ALL (SIPSRV_DIGEST_MD5 | SIPSRV_DIGEST_SHA256 | SIPSRV_DIGEST_SHA512_256)

/** Defaults (domains and store still to set). */
#define SIPSRV_REGISTRAR_CFG_INIT \
  { SIPSRV_REGISTRAR_CFG_VERSION, NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, 0, 0 }

/**
 * @brief Create a registrar on a core; it claims REGISTER for its domains
 *        before the roles made after it.
 * @param[out] out Receives the registrar, written only on success.
 * @param core The core (borrowed; it needs a wall clock).
 * @param cfg The configuration (copied; lists and store borrowed).
 * @return 0; SIPSRV_E_INVAL for missing domains or store, min > max, or
 *         auth_algs bits other than SIPSRV_DIGEST_*, an empty auth_realm or one
 *         with '"', an auth_secret of 0 or over 64 bytes;
 *         SIPSRV_E_STATE when the core has no wall clock; SIPSRV_E_VERSION;
 *         SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_registrar_new(sipsrv_registrar **out, sipsrv_core *core,
                                    const sipsrv_registrar_cfg *cfg);

/**
 * @brief Free a registrar (the bindings stay in the store).
 * @param reg A registrar, or NULL (no-op).
 * @since 0.1.0
 */
SIPSRV_API void sipsrv_registrar_free(sipsrv_registrar *reg);

SIPSRV_END_DECLS

#endif /* SIPSRV_REGISTRAR_H */
