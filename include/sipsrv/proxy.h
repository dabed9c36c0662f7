/**
 * @file proxy.h
 * @brief The proxy role (RFC 3261 16): stateless, transaction-stateful and
 *        call-stateful.
 *
 * A proxy claims the requests of its core that are not for the core itself
 * (a REGISTER for one of its domains is the registrar's; a request whose
 * Request-URI is one of its domains or addresses with no user part is the
 * UAS's) and forwards them:
 * - validation (16.3): Max-Forwards 0 gets 483 (OPTIONS to the proxy itself
 *   is left to the UAS); a loop (RFC 5393: our Via with the same request
 *   hash) gets 482; Proxy-Require gets 420 with Unsupported;
 * - route information (16.4): a Request-URI that is a URI we put in a
 *   Record-Route (a strict router before us) is replaced by the last Route;
 *   a topmost Route naming us is removed (both when we Record-Routed twice);
 * - targets (16.5): a request that still has a Route goes to its Request-URI
 *   by that route; a request inside a dialog (To tag) goes to its
 *   Request-URI (through the next hop, for another domain); otherwise (an
 *   initial request, also one routed to us as an outbound proxy) the
 *   application's on_route callback may decide;
 *   otherwise a request for one of its domains (with a location service)
 *   goes to the AOR's bindings in the location service (each binding's Path as a pre-loaded Route, RFC
 *   3327), 480 when there is none; a request for another domain goes to the
 *   next hop, or to its own Request-URI with relay, or gets 403;
 * - forwarding (16.6): a copy per target with the Request-URI set, Max-
 *   Forwards decremented, a Record-Route (always in call-stateful mode; two
 *   when the request changes transport), strict-route compatibility (the
 *   Request-URI appended to Route when the next hop is a strict router), a
 *   Via with a branch of its own, the next hop from the first Route or the
 *   Request-URI (maddr, port, transport);
 * - responses (16.7): 100 is not forwarded; other provisional responses and
 *   every 2xx at once (2xx retransmissions too, RFC 6026); final responses
 *   otherwise wait for every branch, then the best goes (6xx first, then the
 *   lowest class; 401 and 407 challenges of every branch merged into one),
 *   or 408 when no branch answered;
 * - forking (16.6, 16.7): targets in parallel, or one after another in
 *   decreasing q (serial); a 2xx or a 6xx cancels the pending branches;
 *   RFC 5393 Max-Breadth (60 when the request has none): parallel branches
 *   share it (no more of them at once than it allows, the others start as
 *   these end), a branch pursued alone gets it whole, 0 gets 440;
 * - CANCEL (16.10): answered 200, then every pending branch is cancelled
 *   (those with no provisional response yet once one arrives, RFC 3261 9.1);
 *   the caller gets 487 from downstream;
 * - Timer C (16.8): a branch silent for timer_c_ms after its last
 *   provisional is cancelled (or treated as a 408 without one);
 * - a 2xx ACK is forwarded without a transaction, by the Route it carries.
 *
 * Stateless mode (16.11) keeps no state at all: the branch of a forwarded
 * request is computed from the received one, so a retransmission (and its
 * CANCEL and non-2xx ACK) goes out with the same branch; responses are
 * forwarded by the next Via, on the connection the request came on when it
 * came over TCP (the branch names it, 18.2.2); only the first target is
 * used; Max-Breadth passes unchanged.
 *
 * Call-stateful mode also tracks dialogs: one starts with a 2xx to an
 * initial INVITE and ends with BYE (any final response to it) or when
 * dialog_timeout_ms passes; on_dialog hears both; above max_dialogs a new
 * INVITE gets 503 with Retry-After.
 *
 * Next hops named by a host name are resolved through cfg.resolver (RFC
 * 3263); without one, such a target gets 503.
 *
 * Threads: used from its core's thread.
 */
#ifndef SIPSRV_PROXY_H
#define SIPSRV_PROXY_H

#include <sipsrv/common.h>
#include <sipsrv/core.h>
#include <sipsrv/msg.h>
#include <sipsrv/registrar.h>
#include <sipsrv/resolver.h>
#include <sipsrv/store.h>

SIPSRV_BEGIN_DECLS

/** Opaque proxy handle. */
typedef struct sipsrv_proxy sipsrv_proxy;

/** A request being routed, handed to sipsrv_proxy_cfg::on_route. */
typedef struct sipsrv_proxy_route sipsrv_proxy_route;

/** How much state the proxy keeps. */
typedef enum sipsrv_proxy_mode {
  SIPSRV_PROXY_STATELESS = 1,   /**< RFC 3261 16.11: none. */
  SIPSRV_PROXY_STATEFUL = 2,    /**< Transactions (16.1-16.10). */
  SIPSRV_PROXY_DIALOG = 3       /**< Transactions and dialogs; always Record-Routes. */
} sipsrv_proxy_mode;

/** What on_route decided. */
typedef enum sipsrv_proxy_decision {
  SIPSRV_PROXY_DEFAULT = 0,     /**< Nothing: the built-in target sources decide. */
  SIPSRV_PROXY_DECIDED = 1      /**< Targets were added, or the request was answered. */
} sipsrv_proxy_decision;

/**
 * Routing of a request whose targets are not set by its route (16.5). The
 * callback adds targets with sipsrv_proxy_route_add() or answers with
 * sipsrv_proxy_route_reject(), before it returns; rt is valid only during
 * the call.
 * @return #SIPSRV_PROXY_DECIDED, or #SIPSRV_PROXY_DEFAULT.
 */
typedef sipsrv_proxy_decision (*sipsrv_proxy_route_cb)(sipsrv_proxy *proxy,
                                                       sipsrv_proxy_route *rt,
                                                       const sipsrv_msg *req, void *user);

/** A dialog of a call-stateful proxy (strings borrowed for the callback). */
typedef struct sipsrv_dialog_info {
  const char *call_id;      /**< Call-ID. */
  const char *from_tag;     /**< The caller's tag. */
  const char *to_tag;       /**< The callee's tag. */
  const char *from_uri;     /**< The From URI. */
  const char *to_uri;       /**< The To URI. */
  uint64_t started_ms;      /**< When the 2xx came (the core's clock). */
  uint64_t ended_ms;        /**< When it ended, 0 while active. */
  int end_status;           /**< 0 while active; the BYE's final status; 408 for a timeout. */
} sipsrv_dialog_info;

/**
 * Authorization (with or without authentication): what may this request
 * do? user is the name the request authenticated as, or NULL when it did
 * not have to (a user of another domain, ACK, CANCEL, in-dialog requests).
 * @return 0 to forward it, or a status 300-699 to answer it with (403...).
 */
typedef int (*sipsrv_proxy_authorize_cb)(sipsrv_proxy *proxy, const char *user,
                                         const sipsrv_msg *req, void *app);

/** A route to the telephone network (for sipsrv_proxy_cfg::gateways). */
typedef struct sipsrv_proxy_gateway {
  /** Digits, with a leading '+' for international numbers ("+33", "00");
   *  "" matches every number. The longest matching prefix wins. */
  const char *prefix;
  /** The gateways, tried in this order: SIP URIs with IP addresses
   *  ("sip:192.0.2.5:5060;transport=tcp"), or host names with a resolver
   *  (sipsrv_proxy_cfg::resolver), NULL-terminated. */
  const char *const *gateways;
} sipsrv_proxy_gateway;

/** A dialog started (info->ended_ms == 0) or ended. */
typedef void (*sipsrv_proxy_dialog_cb)(sipsrv_proxy *proxy, const sipsrv_dialog_info *info,
                                       void *user);

/** The version of sipsrv_proxy_cfg this header describes. */
#define SIPSRV_PROXY_CFG_VERSION 1

/** Configuration of a proxy. Initialise with #SIPSRV_PROXY_CFG_INIT. */
typedef struct sipsrv_proxy_cfg {
  unsigned version;               /**< #SIPSRV_PROXY_CFG_VERSION */
  sipsrv_proxy_mode mode;         /**< How much state it keeps. */
  /** The domains it is responsible for (16.5), NULL-terminated; NULL: none
   *  (borrowed). Its own addresses always count as its own. */
  const char *const *domains;
  /** The location service for its domains (borrowed); NULL: none. */
  sipsrv_store *location;
  /** Where requests for other domains go, a SIP URI with an IP address
   *  ("sip:192.0.2.7:5060;transport=tcp"), or a host name with a resolver;
   *  NULL: none (copied). */
  const char *next_hop;
  /** Without a next hop: 1 forwards requests for other domains to their
   *  Request-URI; 0 answers 403 (not an open relay). */
  int relay;
  /** Forking: 0 in parallel, 1 one target after another in decreasing q. */
  int serial;
  /** 1: Record-Route every dialog-creating request (call-stateful mode always does). */
  int record_route;
  /** Timer C (16.8), ms; 0: 180000 (more than 3 minutes, as 16.8 asks). */
  uint32_t timer_c_ms;
  /** Call-stateful: most dialogs at once; 0: no limit. */
  unsigned max_dialogs;
  /** Call-stateful: a dialog with no BYE ends after this, ms; 0: 12 hours. */
  uint64_t dialog_timeout_ms;
  sipsrv_proxy_route_cb on_route;     /**< May be NULL. */
  sipsrv_proxy_dialog_cb on_dialog;   /**< May be NULL. */
  void *user;                         /**< Passed to the callbacks. */
  /** The digest realm: initial requests whose From names one of its
   *  domains must authenticate (RFC 3261 22.3: 407 with Proxy-Authenticate;
   *  ACK, CANCEL and in-dialog requests never are, 22.1) against the
   *  credentials in location (sipsrv_store_add_user()); NULL: none. Not in
   *  stateless mode. */
  const char *auth_realm;
  /** The secret that signs nonces (nodes that share it accept each
   *  other's); NULL: a random one (copied; up to 64 bytes). */
  const unsigned char *auth_secret;
  size_t auth_secret_len;             /**< Its length. */
  /** SIPSRV_DIGEST_* of registrar.h or-ed; 0: all three, strongest first. */
  unsigned auth_algs;
  /** Decides what a request may do; NULL: the default policy, with
   *  auth_realm: the From user must be the authenticated user (else 403),
   *  and only authenticated users reach other domains (else 403). */
  sipsrv_proxy_authorize_cb on_authorize;
  /** Calls to the telephone network: a tel: Request-URI, or a SIP one whose
   *  user part is a number (digits, a leading '+', visual separators "-.()"
   *  ignored; or user=phone), goes to the gateways of the longest matching
   *  prefix (every route with that prefix, in table order), one after
   *  another: the next on a timeout, 408 or 5xx, none after any other
   *  final response. Checked before the location service.
   *  NULL: none (borrowed). */
  const sipsrv_proxy_gateway *gateways;
  size_t ngateways;                   /**< Their number. */
  /** Resolves next hops named by a host name (RFC 3263: NAPTR, SRV, A and
   *  AAAA; sipsrv_loop_resolver_new() makes one); each place it returns is tried
   *  in order, the next one, in a new client transaction, after a
   *  transport error, a timeout or a 503 that comes before any provisional
   *  response (RFC 3263 4.3). A stateless proxy sends to the first place.
   *  NULL: next hops, gateways and Request-URIs must name IP addresses
   *  (503 otherwise). Borrowed. */
  sipsrv_resolver *resolver;
} sipsrv_proxy_cfg;

/** Defaults: a stateful proxy for no domain (mode and domains to set). */
#define SIPSRV_PROXY_CFG_INIT \
  { SIPSRV_PROXY_CFG_VERSION, SIPSRV_PROXY_STATEFUL, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, \
    NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL }

/**
 * @brief Create a proxy on a core; attach the registrar first (it claims
 *        REGISTER), the UAS last (it answers what is for the core itself).
 * @param[out] out Receives the proxy, written only on success.
 * @param core The core (borrowed: free the proxy first). Needs a clock.
 * @param cfg The configuration (copied; domains and location borrowed).
 * @return 0; SIPSRV_E_INVAL for NULL, an unknown mode, a next hop that is
 *         not a SIP URI with an IP address (or a host name, with a
 *         resolver), auth_realm in stateless mode or
 *         without a location store, unknown auth_algs bits, a gateway that
 *         is not a SIP URI with an IP address; SIPSRV_E_VERSION;
 *         SIPSRV_E_STATE for a core without a clock; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_proxy_new(sipsrv_proxy **out, sipsrv_core *core, const sipsrv_proxy_cfg *cfg);

/**
 * @brief Free a proxy: pending requests get 500, dialogs are forgotten
 *        (on_dialog is not called).
 * @param proxy A proxy, or NULL (no-op).
 * @since 0.1.0
 */
SIPSRV_API void sipsrv_proxy_free(sipsrv_proxy *proxy);

/**
 * @brief Add a target for the request being routed (in on_route).
 * @param rt The request.
 * @param uri A SIP or SIPS URI; the next hop is its host (an IP address).
 * @param q Its q-value in thousandths (0-1000; serial forking tries the
 *        highest first), or -1 for none (1000).
 * @return 0; SIPSRV_E_INVAL for a bad URI; SIPSRV_E_TOOBIG past 16 targets
 *         (one in stateless mode); SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_proxy_route_add(sipsrv_proxy_route *rt, const char *uri, int q);

/**
 * @brief Answer the request being routed (in on_route) instead of
 *        forwarding it.
 * @param rt The request.
 * @param status 300-699.
 * @param phrase The reason phrase, or NULL for the standard one.
 * @return 0; SIPSRV_E_INVAL; SIPSRV_E_STATE when targets were added.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_proxy_route_reject(sipsrv_proxy_route *rt, int status, const char *phrase);

/**
 * @brief The number of dialogs a call-stateful proxy tracks.
 * @param proxy The proxy, or NULL.
 * @return The count (0 for NULL and the other modes).
 * @since 0.1.0
 */
SIPSRV_API size_t sipsrv_proxy_dialog_count(const sipsrv_proxy *proxy);

/**
 * @brief Call cb for each active dialog (call-stateful mode).
 * @param proxy The proxy.
 * @param cb Called once per dialog; it must not free the proxy.
 * @param user Passed to cb.
 * @return The number of dialogs visited; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_proxy_dialogs(const sipsrv_proxy *proxy, sipsrv_proxy_dialog_cb cb,
                                    void *user);

SIPSRV_END_DECLS

#endif /* SIPSRV_PROXY_H */
