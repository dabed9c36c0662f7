/**
 * @file store.h
 * @brief The storage vtable: the location service and credentials.
 *
 * A store keeps, per address-of-record (AOR), the set of its contact
 * bindings (RFC 3261 10), and the credentials digest authentication checks.
 * Roles use it only through this table, so the registrar's rules (10.3:
 * Call-ID and CSeq ordering, expiry, q) are the same whatever the backend.
 *
 * Operations complete through a callback: a synchronous backend (memory,
 * SQLite) calls it before the operation returns; an asynchronous one (Redis)
 * calls it later from the core's thread, so the core never blocks. Every
 * pointer passed to a callback is valid only until it returns.
 *
 * Versioning (STYLE.md): the table starts with its version and size; slots
 * are appended only; NULL means "not supported".
 *
 * Threads: a store is used from one thread at a time (its core's), except
 * the memory store, which the cores of several threads may share
 * (sipsrv_store_memory_new(); loop.h, groups).
 */
#ifndef SIPSRV_STORE_H
#define SIPSRV_STORE_H

#include <sipsrv/common.h>
#include <sipsrv/core.h>

SIPSRV_BEGIN_DECLS

/** One contact binding of an AOR. Strings are NUL-terminated; optional ones may be NULL. */
typedef struct sipsrv_binding {
  /** The contact URI exactly as registered: its parameters, escapes and
   *  headers kept (RFC 4475 3.3.12-3.3.14). */
  const char *contact;
  /** Contact header parameters other than expires and q ("+sip.instance=...;reg-id=1"),
   *  without the leading ';'; NULL if none. */
  const char *params;
  /** When it expires: Unix time in milliseconds (the core's wall clock). */
  int64_t expires;
  /** The q-value in thousandths (0-1000), or -1 when none was given. */
  int q;
  /** The Call-ID and CSeq of the REGISTER that last set it (RFC 3261 10.3 step 7). */
  const char *call_id;
  uint32_t cseq;              /**< See call_id. */
  /** The Path header values, in order, comma-separated (RFC 3327); NULL if none. */
  const char *path;
  /** The +sip.instance value (RFC 5626), or NULL. */
  const char *instance;
  /** The reg-id (RFC 5626), 0 if none. */
  uint32_t reg_id;
  /** Where the REGISTER came from, as "udp:192.0.2.1:5060" (the flow); NULL if unknown. */
  const char *received;
  /** The User-Agent of the REGISTER, or NULL. */
  const char *user_agent;
  /** When it was last set: Unix time in milliseconds. */
  int64_t updated;
} sipsrv_binding;

/** Digest credentials of one user in one realm: H(A1) = H(user:realm:password)
 *  per algorithm (RFC 7616 3.4.2), lower-case hex; an algorithm the store
 *  cannot serve is NULL. */
typedef struct sipsrv_credential {
  const char *username;       /**< The user name. */
  const char *realm;          /**< The realm. */
  const char *ha1_md5;        /**< MD5 (32 hex digits), or NULL. */
  const char *ha1_sha256;     /**< SHA-256 (64 hex digits), or NULL. */
  const char *ha1_sha512_256; /**< SHA-512-256 (64 hex digits), or NULL. */
} sipsrv_credential;

/**
 * The completion of a get: the AOR's bindings (n may be 0).
 * @param ctx The context given with the operation.
 * @param err 0, or a negative SIPSRV_E_* (SIPSRV_E_STORE for a backend failure).
 * @param b The bindings, valid until the callback returns.
 * @param n Their number.
 */
typedef void (*sipsrv_store_get_cb)(void *ctx, int err, const sipsrv_binding *b, size_t n);

/** The completion of a put or remove: err is 0 or a negative SIPSRV_E_*. */
typedef void (*sipsrv_store_done_cb)(void *ctx, int err);

/** The completion of a credential lookup: c is NULL (err SIPSRV_E_NOTFOUND) for an unknown user. */
typedef void (*sipsrv_store_cred_cb)(void *ctx, int err, const sipsrv_credential *c);

/** The version of struct sipsrv_store_ops this header describes. */
#define SIPSRV_STORE_OPS_VERSION 1

/** Operations of a storage backend. Each returns 0 when the operation was
 *  started (its callback will run exactly once), or a negative SIPSRV_E_*
 *  when it was not (its callback will not run). */
struct sipsrv_store_ops {
  unsigned version;   /**< #SIPSRV_STORE_OPS_VERSION */
  size_t size;        /**< sizeof(struct sipsrv_store_ops) */

  /** The bindings of aor that have not expired at now_ms (Unix ms). Required. */
  int (*get)(void *user, const char *aor, int64_t now_ms, sipsrv_store_get_cb done, void *ctx);

  /** Replace all bindings of aor with b[0..n) in one step: when done reports
   *  0 the new set is stored (durably, for a persistent backend); on failure
   *  the old set is kept whole. n == 0 removes the AOR. aor and b are valid
   *  during the call only: an asynchronous backend copies what it keeps.
   *  Required. */
  int (*put)(void *user, const char *aor, const sipsrv_binding *b, size_t n,
             sipsrv_store_done_cb done, void *ctx);

  /** Drop the bindings expired at now_ms (Unix ms); may be NULL when get
   *  hides expired bindings and the backend cleans up by itself. Returns the
   *  number dropped or a negative SIPSRV_E_*; synchronous. */
  int (*expire)(void *user, int64_t now_ms);

  /** The credentials of username in realm; NULL: no authentication data. */
  int (*credential)(void *user, const char *username, const char *realm, sipsrv_store_cred_cb done,
                    void *ctx);

  /** Free the backend (the store is being freed). May be NULL. */
  void (*destroy)(void *user);

  /** Add or replace the credentials of c->username in c->realm (every
   *  string copied). An administrative operation, not on the call path, so
   *  it is synchronous even for an asynchronous backend: 0 or a negative
   *  SIPSRV_E_*. NULL: credentials are provisioned outside sipsrv. */
  int (*put_credential)(void *user, const sipsrv_credential *c);

  /** The number of bindings stored, for monitoring; expired ones that
   *  expire has not dropped yet may count. Synchronous: the count or a
   *  negative SIPSRV_E_*. NULL: not supported. */
  int (*count)(void *user);
};

/** Opaque store handle: a backend's ops with their user data. */
typedef struct sipsrv_store sipsrv_store;

/**
 * @brief Wrap a backend's table in a store.
 * @param[out] out Receives the store, written only on success.
 * @param ops The table (borrowed: must outlive the store).
 * @param user Passed to every operation; ops->destroy(user) runs at sipsrv_store_free().
 * @return 0; SIPSRV_E_INVAL for NULL or missing required slots; SIPSRV_E_VERSION
 *         for an unknown version or a too small size; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_store_new(sipsrv_store **out, const struct sipsrv_store_ops *ops, void *user);

/**
 * @brief The built-in memory store: O(1) lookup by AOR, expiry in order of
 *        expiry time without scanning every binding.
 *
 * Safe to share between the cores of several threads: every operation
 * holds the store's mutex, and a callback runs after it is released, on a
 * copy of the bindings or credentials it reads. The allocator must then be
 * thread-safe (the C library's is).
 *
 * @param[out] out Receives the store, written only on success.
 * @param core Whose allocator it uses (copied: the store may outlive the
 *             core), or NULL for the C library's.
 * @return 0; SIPSRV_E_INVAL; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_store_memory_new(sipsrv_store **out, sipsrv_core *core);

/** Settings of the SQLite store. */
typedef struct sipsrv_store_sqlite_cfg {
  /** The database file (required). Created with its schema when missing;
   *  opened in WAL mode, so other processes may read it meanwhile. */
  const char *path;
  /** 1: every commit is synced to disk (PRAGMA synchronous=FULL), so a
   *  binding acknowledged with a 200 survives a power loss too. 0
   *  (synchronous=NORMAL): it survives the process being killed, but the
   *  last commits may be lost if the machine stops; faster. */
  int durable;
  /** How long a write waits for another connection's lock, ms (the core's
   *  thread waits meanwhile); past it the write fails (a 500). */
  int busy_timeout_ms;
  /** If not NULL, receives a one-line reason when sipsrv_store_sqlite_new()
   *  fails (truncated to errmsg_size, NUL-terminated). */
  char *errmsg;
  size_t errmsg_size;   /**< The size of errmsg. */
} sipsrv_store_sqlite_cfg;

/** Defaults: durable, 100 ms busy timeout (path still to set). */
#define SIPSRV_STORE_SQLITE_CFG_INIT { NULL, 1, 100, NULL, 0 }

/** The SQLite store's schema version (PRAGMA user_version of its file). */
#define SIPSRV_STORE_SQLITE_SCHEMA 1

/**
 * @brief The built-in SQLite store: bindings and credentials in one
 *        database file that outlives the process.
 *
 * Synchronous, like the memory store: each operation completes before it
 * returns. A put is one transaction: when its callback reports 0 the
 * bindings are committed (and synced, with cfg->durable); when it fails
 * (disk full, I/O error, the file locked past busy_timeout_ms) it is rolled
 * back and the AOR keeps its previous bindings; no other AOR is touched.
 * Expiry deletes through an index on the expiry time.
 *
 * At opening the store checks the file (PRAGMA quick_check), that it is
 * writable, and that it is a sipsrv database (PRAGMA application_id) of a
 * schema it knows; an empty or new file gets the schema.
 *
 * @param[out] out Receives the store, written only on success.
 * @param core Whose allocator it uses (copied), or NULL.
 * @param cfg Its settings (path required).
 * @return 0; SIPSRV_E_INVAL for NULL or a bad cfg; SIPSRV_E_IO when the file
 *         cannot be opened, created or written; SIPSRV_E_STORE when it is
 *         corrupt, not a database or another application's; SIPSRV_E_VERSION
 *         for a schema newer than #SIPSRV_STORE_SQLITE_SCHEMA; SIPSRV_E_NOMEM;
 *         SIPSRV_E_NOTSUP when sipsrv was built without SQLite. On failure
 *         cfg->errmsg says why, naming the file.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_store_sqlite_new(sipsrv_store **out, sipsrv_core *core,
                                       const sipsrv_store_sqlite_cfg *cfg);

/**
 * @brief Add or replace a user's credentials: the H(A1) of MD5, SHA-256
 *        and SHA-512-256 are computed from the password, which is not kept.
 * @param store The store (its backend must have put_credential).
 * @param username The user name (no ':').
 * @param realm The digest realm.
 * @param password The password (borrowed; not kept).
 * @return 0; SIPSRV_E_INVAL for NULL arguments or a user name that is empty
 *         or holds ':'; SIPSRV_E_NOTSUP for a store without put_credential;
 *         SIPSRV_E_NOMEM; what the backend's put_credential returns.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_store_add_user(sipsrv_store *store, const char *username, const char *realm,
                                     const char *password);

/**
 * @brief Load a users file into a store: one `USER:PASSWORD` per line (the
 *        password is the rest of the line), empty lines and lines starting
 *        with '#' skipped; each user added as by sipsrv_store_add_user() for
 *        realm.
 * @param store The store (its backend must have put_credential).
 * @param path The file.
 * @param realm The realm of every user in it.
 * @param line If not NULL, set to the number of the line that failed (0
 *        when none did or the file could not be read).
 * @return the number of users loaded; SIPSRV_E_IO if the file cannot be
 *         read; SIPSRV_E_PARSE for a line without ':' or with an empty user;
 *         SIPSRV_E_TOOBIG for a line of 1023 bytes or more; SIPSRV_E_INVAL
 *         for NULL arguments or a user name with ':'; what
 *         sipsrv_store_add_user() returns. Users before a failing line stay.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_store_load_users(sipsrv_store *store, const char *path, const char *realm,
                                       unsigned *line);

/**
 * @brief Free a store (and its backend, through ops->destroy).
 * @param store A store, or NULL (no-op).
 * @since 0.1.0
 */
SIPSRV_API void sipsrv_store_free(sipsrv_store *store);

/** @name Calling a store (what the roles do; also for an application's own use) */
/**@{*/
/**
 * @brief Start a get (see sipsrv_store_ops::get).
 * @param store The store.
 * @param aor The address-of-record, canonical (registrar.h).
 * @param now_ms Unix time in ms: bindings expired by then are left out.
 * @param done Called once with the bindings.
 * @param ctx Passed to done.
 * @return As the slot; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_store_get(sipsrv_store *store, const char *aor, int64_t now_ms,
                                sipsrv_store_get_cb done, void *ctx);
/**
 * @brief Start a put (see sipsrv_store_ops::put): replace every binding of aor.
 * @param store The store.
 * @param aor The address-of-record, canonical.
 * @param b The new bindings (copied by the backend before it returns).
 * @param n Their number; 0 removes the AOR.
 * @param done Called once with the outcome.
 * @param ctx Passed to done.
 * @return As the slot; SIPSRV_E_INVAL for a binding without contact or a q out of range.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_store_put(sipsrv_store *store, const char *aor, const sipsrv_binding *b,
                                size_t n, sipsrv_store_done_cb done, void *ctx);
/**
 * @brief Run expire (see sipsrv_store_ops::expire).
 * @param store The store.
 * @param now_ms Unix time in ms: bindings expired by then are dropped.
 * @return The number dropped, 0 when the slot is NULL, or a negative SIPSRV_E_*.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_store_expire(sipsrv_store *store, int64_t now_ms);
/**
 * @brief Start a credential lookup (see sipsrv_store_ops::credential).
 * @param store The store.
 * @param username The user name.
 * @param realm The realm.
 * @param done Called once with the credentials, or NULL with SIPSRV_E_NOTFOUND.
 * @param ctx Passed to done.
 * @return As the slot; SIPSRV_E_NOTSUP when the backend has none; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_store_credential(sipsrv_store *store, const char *username,
                                       const char *realm, sipsrv_store_cred_cb done, void *ctx);

/**
 * @brief The number of bindings a store holds (monitoring).
 * @param store The store.
 * @return The count (expired bindings not yet dropped by
 *         sipsrv_store_expire() may be included); SIPSRV_E_INVAL;
 *         SIPSRV_E_NOTSUP when the backend cannot count; SIPSRV_E_STORE.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_store_count(sipsrv_store *store);
/**@}*/

SIPSRV_END_DECLS

#endif /* SIPSRV_STORE_H */
