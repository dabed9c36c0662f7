/* Private to the proxy role (lib/roles/proxy*.c): what its files share.
 *
 * proxy.c         the object, claiming requests, 16.3 and 16.4, targets (16.5),
 *                 stateless forwarding (16.11), ACK and stray responses
 * proxy_route.c   the pieces: next hops, our own URIs, branches, loop hashes,
 *                 the 16.6 edits of a forwarded copy, responses back by Via
 * proxy_raw.c     responses taken from their bytes (16.7 step 3, 16.11)
 * proxy_rawreq.c  requests forwarded from their bytes: a stateless proxy's,
 *                 a stateful one's ACK of a 2xx (16.11, 13.2.2.4), and the
 *                 edits a stateful proxy's branches make on the bytes (16.6)
 * proxy_fork.c    the stateful part: response contexts, branches, forking,
 *                 best response, CANCEL, Timer C (16.2, 16.6-16.10)
 * proxy_dialog.c  dialogs of the call-stateful mode */
#ifndef SS_PROXY_INT_H
#define SS_PROXY_INT_H

#include "auth/auth.h"
#include "roles_int.h"
#include "core/htab.h"
#include "core/timer.h"
#include "txn/txn.h"

#include <sipsrv/proxy.h>

#define PX_MAX_TARGETS 16
#define PX_MAX_PEERS 16     /* places tried for one target (RFC 3263) */

/* A target of a request (16.5): where it goes, and the route to it. */
typedef struct px_target {
  char *uri;          /* the new Request-URI */
  char *route;        /* Route values to add first (a binding's Path), or NULL */
  char *hop;          /* the next hop, when not by Route or Request-URI, or NULL */
  int q;              /* 0-1000 */
} px_target;

/* The outcome of routing one request. */
typedef struct px_targets {
  const sipsrv_core *core;  /* whose allocator holds the strings */
  px_target t[PX_MAX_TARGETS];
  size_t n;
  size_t max;         /* PX_MAX_TARGETS; 1 when stateless (16.11) */
  int status;         /* >= 300: answer this instead */
  const char *phrase; /* static, or phrase_buf */
  char phrase_buf[64];
  bool failover;      /* gateways: one after another, the next only on 408/5xx */
  bool retry;         /* answer status with Retry-After (the store failed) */
} px_targets;

struct sipsrv_proxy {
  sipsrv_core *core;
  sipsrv_proxy_cfg cfg;
  char *next_hop;                 /* copied */
  url_t hop_url;                  /* next_hop parsed, when hop_parsed */
  bool hop_parsed;
  ss_core_txn *ct;
  ss_txn_role role;
  uint64_t secret;                /* for branches and loop hashes */
  uint64_t seq;                   /* for branches */
  struct px_ctx *ctxs;            /* live response contexts */
  struct lookup *lookups;         /* location lookups in flight */
  ss_store_health store;          /* failures logged once per episode */
  ss_auth *auth;                  /* NULL: no authentication */
  struct px_authing *authing;     /* credential lookups in flight */
  ss_htab dialogs;
  size_t ndialogs;
  struct px_dialog *dlist;
  struct px_dns *dns;             /* resolutions in flight */
  bool freeing;
};

/* ---- proxy_route.c ----------------------------------------------------- */

/* The peer to send to for a URI (16.6 step 7, RFC 3263 4 for IP literals):
 * maddr or host, port or the default, transport parameter or UDP. 0, or an
 * error status: 503 for a name (no resolver yet) or a transport we lack. */
int px_next_hop(const sipsrv_proxy *p, url_t const *u, ss_peer *out, const char **phrase);
/* The peer for a transport name and address: 0, or SIPSRV_E_NOTFOUND when
 * the core has no such transport for that address family. */
int px_peer_for(const sipsrv_proxy *p, const char *transport, const struct sockaddr_storage *addr,
                socklen_t len, ss_peer *out);

/* True for a URI naming this proxy: one of its addresses (and port), or one
 * of its domains with no port or one of its ports. */
bool px_uri_is_us(const sipsrv_proxy *p, url_t const *u);
/* True when the host of u is one of the proxy's domains or addresses (an
 * IP domain with a port: only on one of our ports). */
bool px_domain_is_ours(const sipsrv_proxy *p, url_t const *u);
/* The same for the host alone: an AOR's domain (From), whatever the port. */
bool px_host_is_ours(const sipsrv_proxy *p, url_t const *u);

/* RFC 5393 / RFC 3261 16.3 step 4: the hash of what makes a request the
 * same request at this proxy (computed on the request as received). */
uint64_t px_loop_hash(const sipsrv_proxy *p, const sipsrv_msg *req);
/* True when a Via of ours carries this loop hash: a loop, not a spiral. */
bool px_is_loop(const sipsrv_proxy *p, const sipsrv_msg *req, uint64_t loop);

/* 16.6 step 4: a request that makes a dialog (INVITE, SUBSCRIBE, REFER
 * without a To tag) is the one to Record-Route. */
bool px_dialog_creating(const sipsrv_msg *m);

/* 16.6 step 7 for target t: fixed when the caller resolved the next hop,
 * else the target's next hop, else hop (the first Route, or the
 * Request-URI): 0 with *peer, or an error status (px_next_hop()). */
int px_target_peer(const sipsrv_proxy *p, const px_target *t, url_t const *hop,
                   const ss_peer *fixed, ss_peer *peer, const char **phrase);
/* 16.6 steps 2-8 on a copy for one target (a target without uri keeps the
 * Request-URI): Request-URI, pre-loaded Route,
 * Max-Forwards, Record-Route (rr: facing in and out), strict-route
 * compatibility, the next hop into *peer (fixed when the caller resolved
 * it, else an IP literal's) and the Via with branch. 0, or an error status
 * to answer (phrase static). */
int px_prepare(sipsrv_proxy *p, sipsrv_msg *m, const px_target *t, bool rr,
               const ss_peer *in, const char *branch, const ss_peer *fixed, ss_peer *peer,
               const char **phrase);

/* A branch: stateful ones carry the loop hash (RFC 5393); stateless ones a
 * hash of the request (16.11: the same for its retransmissions, its CANCEL
 * and its ACK of a non-2xx), naming the connection it came on (conn, 0
 * for none) so its response finds it. buf: 64 bytes. */
void px_branch_stateful(sipsrv_proxy *p, uint64_t loop, char *buf);
void px_branch_stateless(const sipsrv_proxy *p, const sipsrv_msg *m, uint64_t conn, char *buf);
/* The same from the fields it reads (a request taken from its bytes). */
void px_branch_stateless_of(const sipsrv_proxy *p, const char *call_id, const char *from_tag,
                            uint32_t cseq, sip_via_t const *top, uint64_t conn, char *buf);
/* A Record-Route value naming the transport tp (16.6 step 4), "<sip:...;lr>";
 * the transport parameter in lower case, as URIs write it. */
void px_rr_value(const sipsrv_transport *tp, char *buf, size_t size);

/* 16.7 step 3, 16.11: a response whose top Via is ours: pop it and send it
 * to the next Via (18.2.2). Takes rsp. True when it was ours. */
bool px_forward_response(sipsrv_proxy *p, sipsrv_msg *rsp);
/* A Via of ours: one of our branches, at one of our addresses. */
bool px_via_is_ours(const sipsrv_proxy *p, sip_via_t const *v);
/* Where a response goes once our Via, top, is off: by the next Via, v
 * (18.2.2, RFC 3581 4). False when v names nowhere we can send to. */
bool px_response_next_hop(const sipsrv_proxy *p, sip_via_t const *top, sip_via_t const *v,
                          ss_peer *peer);

/* Answer req statelessly (no transaction): to the Via, RFC 3261 18.2.2. */
void px_reply_stateless(sipsrv_proxy *p, const sipsrv_msg *req, const ss_peer *src, int status,
                        const char *phrase, const char *headers);

/* ---- proxy_raw.c -------------------------------------------------------- */

/* A datagram response as received (the role's raw_response hook): true
 * when it was dealt with from its bytes (px_raw.c says which); false for
 * the full parse, which decides the same for a plain response. */
bool px_raw_response(void *self, const char *data, size_t len, const ss_peer *src);
/* A datagram request as received (the raw_request hook; proxy_rawreq.c):
 * true when it was forwarded from its bytes (a stateless proxy's request,
 * a stateful proxy's ACK of a 2xx); false for the full parse. */
bool px_raw_request(void *self, const char *data, size_t len, const ss_peer *src);

/* One header line of a plain header section (proxy_raw.c): one field per
 * line ending in CRLF, not folded, no stray CR or NUL, the name a token
 * followed at once by ':'. */
typedef struct px_line {
  const char *ls;      /* the line (its name first) */
  size_t nlen;         /* the name's length */
  const char *v, *ve;  /* the value, white space around it left out */
  const char *next;    /* the next line */
} px_line;
/* The line at *pos (before end): 1 with *l filled, 0 at the empty line, -1
 * when the header section is not plain there (or does not end). *pos goes
 * past the line (for 0: to the body). */
int px_raw_line(const char **pos, const char *end, px_line *l);
/* A Content-Length value [v, ve) of 1 to 9 digits, or -1. */
long px_raw_clen(const char *v, const char *ve);
/* The header value [v, ve) of class hc, parsed alone by Sofia-SIP into
 * home (NULL if it does not parse or does not fit 511 bytes). */
msg_header_t *px_raw_make(su_home_t *home, msg_hclass_t *hc, const char *v, const char *ve);

typedef struct px_raw px_raw;
/* A response from its bytes on by its next Via, less our Via, as
 * px_forward_response() sends a parsed one (16.11; a 2xx the server
 * transaction can no longer carry, 16.7 step 5): false when the next Via
 * names nowhere to send to. */
bool px_raw_by_via(sipsrv_proxy *p, const px_raw *r);

/* A response as a branch takes it: parsed (msg), or from its bytes (raw:
 * then wire holds them less our Via, and tag the To tag, "" for none). */
typedef struct px_rsp {
  int code;
  const sipsrv_msg *msg;     /* NULL: from its bytes */
  const px_raw *raw;
  const char *wire;
  size_t len;
  const char *tag;
} px_rsp;

/* ---- proxy_rawreq.c: a stateful proxy's branches from the bytes ----------- */

/* Where the bytes of a request (sipsrv_msg::wire) stand for what a branch
 * sends: their header lines plain (px_raw_line()), the body exactly its
 * Content-Length, no Route or Proxy-Authorization (16.4 and 22.3 take
 * those off the message, not the bytes); the lines the edits touch. */
typedef struct px_wire_plan {
  int state;                    /* 0: not made; 1: usable; -1: not */
  const char *first, *end;      /* the header lines; the end of the body */
  const char *via_ls, *via_next;
  bool via_list;                /* the first Via line lists more values */
  const char *mf_ls, *mf_next;  /* Max-Forwards, or NULL */
  const char *mb[4][2];         /* Max-Breadth lines */
  size_t nmb;
} px_wire_plan;

/* Make *w for m (the request after 16.4, still the one received): true
 * when usable. */
bool px_wire_plan_make(const sipsrv_msg *m, px_wire_plan *w);
/* 16.6 steps 2-8 on the bytes, into out: the request line (uri: the
 * target's Request-URI, NULL: as it came), our Via with branch,
 * Record-Route when rr, Max-Breadth breadth (RFC 5393; any received goes),
 * then the lines as they came with the top Via as m has it (stamped) and
 * Max-Forwards less one (70 added when absent), and the body. 0 when it
 * does not fit. */
size_t px_wire_branch(const sipsrv_msg *m, const px_wire_plan *w, const char *uri,
                      const ss_peer *peer, const ss_peer *src, const char *branch, bool rr,
                      unsigned breadth, char *out, size_t size);

/* ---- proxy_dns.c -------------------------------------------------------- */

/* A resolution in flight (RFC 3263). */
typedef struct px_dns px_dns;
/* The places to try in order (transports we lack left out; n may be 0
 * with err 0), or err: SIPSRV_E_NOTFOUND, SIPSRV_E_IO, or SIPSRV_E_STATE
 * when the proxy is being freed (free what you hold, no more). */
typedef void (*px_dns_done)(void *ctx, int err, const ss_peer *peers, size_t n);

/* True when the next hop of t for m is a host name and the proxy has a
 * resolver: buf receives the URI to resolve. */
bool px_hop_dns(const sipsrv_proxy *p, const sipsrv_msg *m, const px_target *t, char *buf,
                size_t size);
/* Resolve uri: 0 when started (*handle set until done runs; done may run
 * before this returns), or a negative SIPSRV_E_* (done will not run). */
int px_resolve(sipsrv_proxy *p, const char *uri, px_dns_done done, void *ctx, px_dns **handle);
/* Stop a resolution (done never runs); NULL is a no-op. */
void px_dns_cancel(px_dns *d);
/* The proxy is being freed: each resolution left ends with SIPSRV_E_STATE. */
void px_dns_fini(sipsrv_proxy *p);

/* ---- proxy.c ------------------------------------------------------------ */

/* A request the roles after the proxy answer (REGISTER for our domains; a
 * Request-URI of ours with no user), when no Route names anything else. */
bool px_for_local(const sipsrv_proxy *p, bool is_register, url_t const *ru);
/* 16.5 for a request with no Route whose target needs neither the
 * application (on_route), gateways nor the location service: true with
 * *hop the next hop (NULL: by the Request-URI, which stays); false when
 * px_route() must decide (it may answer 403). */
bool px_route_plain(const sipsrv_proxy *p, url_t const *ru, bool in_dialog, const char **hop);

/* 16.4 on a request we own: a strict router's Request-URI replaced by the
 * last Route, our own topmost Route values removed. */
void px_preprocess(sipsrv_proxy *p, sipsrv_msg *req);

/* Route a request (16.5; authed: it came from an authenticated user of
 * ours): fill *out with targets, or a status, then call
 * done(ctx, out) (at once for synchronous sources, later for a store that
 * completes later). When the proxy is freed first, done(ctx, NULL) runs
 * then: the caller frees what it holds and does nothing else. */
typedef void (*px_route_done)(void *ctx, px_targets *t);
void px_route(sipsrv_proxy *p, const sipsrv_msg *req, bool authed, px_targets *out,
              px_route_done done, void *ctx);
/* Free the strings of targets. */
void px_targets_clear(px_targets *t);
/* The proxy is being freed: every routing still waiting for its store ends
 * with done(ctx, NULL). */
void px_route_fini(sipsrv_proxy *p);

/* ---- proxy_auth.c ------------------------------------------------------- */

/* What authentication and authorization decided: status 0 and the user
 * (NULL when the request needed none) to go on, or a status to answer
 * with, its phrase and header fields (a 407's challenges). Borrowed for
 * the callback. */
typedef struct px_auth_result {
  int status;
  const char *phrase;
  const char *headers;
  const char *user;
} px_auth_result;

/* r is NULL when the proxy is freed first: free what you hold, no more. */
typedef void (*px_auth_done)(void *ctx, const px_auth_result *r);

/* 22.3 and the policy, on req (kept alive by the caller until done). */
void px_authenticate(sipsrv_proxy *p, const sipsrv_msg *req, const ss_peer *src, px_auth_done done,
                     void *ctx);
void px_auth_fini(sipsrv_proxy *p);
/* Remove the Proxy-Authorization values for our realm from a copy. */
void px_auth_consume(const sipsrv_proxy *p, sipsrv_msg *m);

/* ---- proxy_fork.c ------------------------------------------------------- */

typedef struct px_ctx px_ctx;

/* Take a claimed request into a response context and route it. */
void px_fork_start(sipsrv_proxy *p, ss_txn *st, sipsrv_msg *req, uint64_t loop);
/* A CANCEL for one of our INVITE server transactions (16.10): true if it was. */
bool px_fork_cancel(sipsrv_proxy *p, ss_txn *st, sipsrv_msg *cancel);
/* The proxy is being freed: answer and detach every context. */
void px_fork_fini(sipsrv_proxy *p);
/* True when owner (a client transaction's) is a branch of p's. */
bool px_fork_owns(const sipsrv_proxy *p, const void *owner);
/* A 100-299 from its bytes for that branch, after its client transaction
 * took it (ss_txn_client_status()): what the response event does. */
void px_fork_raw_response(void *owner, const px_rsp *r);

/* ---- proxy_dialog.c ----------------------------------------------------- */

/* A 2xx to an initial INVITE went upstream: a dialog starts. */
void px_dialog_start(sipsrv_proxy *p, const sipsrv_msg *rsp);
/* A final response to a BYE went upstream: its dialog ends. */
void px_dialog_bye(sipsrv_proxy *p, const sipsrv_msg *rsp);
/* True when a new dialog would pass max_dialogs. */
bool px_dialog_full(const sipsrv_proxy *p);
void px_dialog_fini(sipsrv_proxy *p);

#endif
