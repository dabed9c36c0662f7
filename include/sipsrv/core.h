/**
 * @file core.h
 * @brief The sipsrv core: the I/O-free engine every role is attached to.
 *
 * A core owns what its roles share: the log callback and the allocator of
 * sipsrv's own objects. It never opens a socket, sleeps or reads a clock.
 *
 * Allocator policy: sipsrv's own objects are allocated through the
 * sipsrv_allocator given in the config (malloc/realloc/free by default).
 * Parsed messages live in Sofia-SIP's su_home memory, which always comes from
 * the C library's malloc; a message is freed with sipsrv_msg_free().
 *
 * Threads: one core, and everything made from it, is used from one thread at
 * a time. There is no global state, so many cores can run in many threads.
 */
#ifndef SIPSRV_CORE_H
#define SIPSRV_CORE_H

#include <sipsrv/common.h>
#include <sipsrv/log.h>

SIPSRV_BEGIN_DECLS

/** An allocator for sipsrv's own objects. All three functions are required. */
typedef struct sipsrv_allocator {
  /** Like malloc(size); may return NULL. */
  void *(*malloc_fn)(size_t size, void *user);
  /** Like realloc(ptr, size); may return NULL, leaving ptr valid. */
  void *(*realloc_fn)(void *ptr, size_t size, void *user);
  /** Like free(ptr); accepts NULL. */
  void (*free_fn)(void *ptr, void *user);
  /** Passed last to each function. */
  void *user;
} sipsrv_allocator;

/** Opaque core handle. */
typedef struct sipsrv_core sipsrv_core;

/**
 * A clock: the current time in milliseconds, monotonic (never going back),
 * from any epoch. The core reads time only through it (a manual clock in
 * tests, CLOCK_MONOTONIC in lib/loop).
 */
typedef uint64_t (*sipsrv_clock_cb)(void *user);

/** The version of sipsrv_core_cfg this header describes. */
#define SIPSRV_CORE_CFG_VERSION 1

/** Configuration of a core. Initialise with #SIPSRV_CORE_CFG_INIT. */
typedef struct sipsrv_core_cfg {
  unsigned version;                 /**< #SIPSRV_CORE_CFG_VERSION. */
  sipsrv_log_cb log_cb;             /**< Log callback; NULL logs nothing. */
  void *log_user;                   /**< Passed to log_cb. */
  sipsrv_log_level log_level;       /**< Most verbose level passed to log_cb. */
  const sipsrv_allocator *alloc;    /**< Allocator; NULL uses the C library. Copied. */
  sipsrv_clock_cb clock;            /**< The clock; required to receive or expire (NULL: none yet). */
  void *clock_user;                 /**< Passed to clock. */
  uint32_t t1_ms;                   /**< RFC 3261 T1, the round-trip estimate: 500. */
  uint32_t t2_ms;                   /**< RFC 3261 T2, the largest non-INVITE retransmission interval: 4000. */
  uint32_t t4_ms;                   /**< RFC 3261 T4, the time a message may stay in the network: 5000. */
  /** The wall clock: Unix time in milliseconds, for what outlives the
   *  process or reaches people (binding expiry in a persistent store, Date
   *  headers). NULL: none yet; the roles that need it refuse to start. */
  sipsrv_clock_cb wall_clock;
  void *wall_clock_user;            /**< Passed to wall_clock. */
} sipsrv_core_cfg;

/** Default core configuration: no logging, the C library's allocator, no
 *  clocks, RFC 3261's timer values. */
#define SIPSRV_CORE_CFG_INIT \
  { SIPSRV_CORE_CFG_VERSION, NULL, NULL, SIPSRV_LOG_WARN, NULL, NULL, NULL, 500, 4000, 5000, NULL, NULL }

/**
 * @brief Create a core.
 * @param[out] out Receives the core, written only on success.
 * @param cfg Configuration (borrowed for the call), or NULL for defaults.
 * @return 0; SIPSRV_E_INVAL if out is NULL, the allocator is incomplete,
 *         the log level is out of range or the timer values are not
 *         0 < T1 <= T2 and T4 > 0;
 *         SIPSRV_E_VERSION if cfg->version is unknown; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_core_new(sipsrv_core **out, const sipsrv_core_cfg *cfg);

/**
 * @brief Free a core and everything it owns.
 * @param core A core, or NULL (no-op).
 * @since 0.1.0
 */
SIPSRV_API void sipsrv_core_free(sipsrv_core *core);

/**
 * @brief Change the log callback and level of a core.
 * @param core The core.
 * @param cb   The callback, or NULL to log nothing.
 * @param level The most verbose level to pass to cb.
 * @param user Passed to cb.
 * @return 0; SIPSRV_E_INVAL if core is NULL or level is out of range.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_core_set_log(sipsrv_core *core, sipsrv_log_cb cb,
                                   sipsrv_log_level level, void *user);

/**
 * @brief When the core next needs sipsrv_core_expire().
 *
 * An application driving the core from its own loop arms one timer for this
 * deadline, and calls it again after every sipsrv_core_recv() and
 * sipsrv_core_expire() (either may change it). The deadline is the earliest
 * timer's, or now and then earlier, when the core's timer wheel has to move
 * timers before it knows their earliest: sipsrv_core_expire() then fires
 * nothing, and the next deadline is later.
 *
 * @param core The core.
 * @param[out] deadline_ms Receives the deadline, on the core's clock.
 * @return 0; SIPSRV_E_NOTFOUND when no timer is armed; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_core_next_timeout(const sipsrv_core *core, uint64_t *deadline_ms);

/**
 * @brief Run every timer that is due at the clock's current time.
 * @param core The core.
 * @return The number of timers run (0 or more); SIPSRV_E_INVAL;
 *         SIPSRV_E_STATE if the core has no clock.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_core_expire(sipsrv_core *core);

/** A one-shot application timer on a core's clock. */
typedef struct sipsrv_timer sipsrv_timer;

/** A timer callback; the timer is already freed when it runs. */
typedef void (*sipsrv_timer_cb)(void *user);

/**
 * @brief Run cb(user) once, delay_ms from now, from sipsrv_core_expire().
 * @param core The core (it needs a clock).
 * @param delay_ms The delay.
 * @param cb The callback.
 * @param user Passed to cb.
 * @param[out] out Receives the timer, valid until it fires or is cancelled; may be NULL.
 * @return 0; SIPSRV_E_INVAL; SIPSRV_E_STATE without a clock; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_core_timer_new(sipsrv_core *core, uint64_t delay_ms, sipsrv_timer_cb cb,
                                     void *user, sipsrv_timer **out);

/**
 * Counters of a core, for monitoring (sipsrv_core_counters()). Fields are
 * only ever appended: pass the size of the struct you were built with.
 */
typedef struct sipsrv_counters {
  uint64_t received;            /**< Messages received (datagrams, framed stream messages). */
  uint64_t requests_in;         /**< Well-formed requests received, retransmissions included. */
  uint64_t responses_in[6];     /**< Well-formed responses received, by class: [0] 1xx ... [5] 6xx. */
  uint64_t requests_out;        /**< Requests sent, retransmissions included. */
  uint64_t responses_out[6];    /**< Responses sent, by class: [0] 1xx ... [5] 6xx. */
  uint64_t retransmissions_in;  /**< Requests and responses a transaction recognised as retransmissions. */
  uint64_t retransmissions_out; /**< Requests and responses sent again (timers A, E and G, or
                                     answering a retransmission). */
  uint64_t transactions;        /**< Transactions created, server and client. */
  uint64_t transactions_live;   /**< Transactions alive now (until Timers D, J, K, L, M end them). */
  uint64_t rejected;            /**< Malformed requests answered without a transaction (400, 505...). */
  uint64_t dropped_malformed;   /**< Messages dropped: unparsable, or malformed responses and ACKs. */
  uint64_t dropped_not_ours;    /**< Responses dropped: the top Via is not this element's. */
  uint64_t dropped_unmatched;   /**< Responses and ACKs that no transaction or role took. */
  uint64_t send_failures;       /**< Sends a transport refused. */
  uint64_t keepalives;          /**< CRLF keep-alives received (RFC 5626 4.4.1). */
  uint64_t rate_limited;        /**< New requests over a rate limit: answered 503, or
                                     dropped (sipsrv_core_set_limits()). */
  uint64_t auth_failures;       /**< Digest responses that were wrong (or for an unknown user). */
  uint64_t auth_locked;         /**< Requests refused because their user was locked out
                                     from their source after too many wrong responses. */
  uint64_t responses_relayed;   /**< Responses a proxy took from their bytes, with only what
                                     it reads parsed (its Vias; a stateful proxy's CSeq
                                     and To), RFC 3261 16.7 step 3 and 16.11; they are
                                     also in responses_in. @since 0.1.0 */
  uint64_t requests_relayed;    /**< Requests forwarded without a transaction from their
                                     bytes (a stateless proxy's, RFC 3261 16.11; the ACK
                                     of a 2xx through a stateful proxy, 13.2.2.4), the
                                     fields checked and read parsed one by one, the rest
                                     copied; they are also in requests_in. @since 0.1.0 */
} sipsrv_counters;

/**
 * @brief Read a core's counters.
 * @param core The core.
 * @param[out] out Receives the counters.
 * @param size sizeof(sipsrv_counters) as the caller knows it: only that
 *        much is written, so a program built against an older header keeps
 *        working.
 * @return 0; SIPSRV_E_INVAL.
 * @note Read it from the core's thread. @since 0.1.0
 */
SIPSRV_API int sipsrv_core_counters(const sipsrv_core *core, sipsrv_counters *out, size_t size);

/** Flood protection thresholds (sipsrv_core_set_limits()); 0 turns a
 *  limit off. Initialise with #SIPSRV_LIMITS_INIT. */
typedef struct sipsrv_limits {
  /** New requests a second from one source address (any port); 0: no limit. */
  uint32_t source_rate;
  /** How many new requests a source may send at once before its rate
   *  applies (the bucket's size); 0: source_rate. */
  uint32_t source_burst;
  /** New requests a second from one user: the From URI's user and host. */
  uint32_t user_rate;
  /** The user's bucket size; 0: user_rate. */
  uint32_t user_burst;
  /** 1: drop a request over a limit; 0: answer 503 with Retry-After. */
  int drop;
  /** Wrong digest responses for one user from one source address before
   *  that user is locked out from there (RFC 3261 22 leaves guessing
   *  passwords to the server to slow down); 0: no lockout. */
  uint32_t auth_failures;
  /** The first lockout, in ms (0: 30 s); each next one lasts twice as long,
   *  up to an hour. A right response clears the count. */
  uint32_t auth_lockout_ms;
  /** Sources, users and user-at-source pairs tracked at most; beyond, the
   *  least recently seen is forgotten (0: 65536). */
  size_t max_tracked;
} sipsrv_limits;

/** No limits. */
#define SIPSRV_LIMITS_INIT { 0, 0, 0, 0, 0, 0, 0, 0 }

/**
 * @brief Set a core's flood protection.
 *
 * A new request (not a retransmission, an ACK or a CANCEL) over its
 * source's or its user's rate is answered 503 Service Unavailable with
 * Retry-After (RFC 3261 21.5.4) by its transaction, or dropped with
 * limits->drop, before any role sees it; counted in rate_limited. A user
 * whose digest responses (registrar, proxy) were wrong auth_failures times
 * in a row from one source is locked out from there: the roles answer 503
 * with Retry-After until the lockout ends, right password or not; counted
 * in auth_locked. What was tracked before the call is forgotten.
 *
 * @param core The core.
 * @param limits The thresholds (copied); NULL: no limits.
 * @param size sizeof(sipsrv_limits) as the caller knows it (fields are only
 *        appended; missing ones are 0).
 * @return 0; SIPSRV_E_INVAL; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_core_set_limits(sipsrv_core *core, const sipsrv_limits *limits, size_t size);

/**
 * @brief Cancel a timer that has not fired and free it.
 * @param t A timer, or NULL (no-op).
 * @since 0.1.0
 */
SIPSRV_API void sipsrv_timer_cancel(sipsrv_timer *t);

SIPSRV_END_DECLS

#endif /* SIPSRV_CORE_H */
