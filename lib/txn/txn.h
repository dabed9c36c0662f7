/* Private: the RFC 3261 section 17 transaction layer.
 *
 * Four state machines (INVITE and non-INVITE, client and server) with every
 * timer of RFC 3261 17 (A-K) and RFC 6026 (Accepted state, L and M), driven
 * by messages from the transport, by the transaction user (TU) and by the
 * shared timer wheel. Nothing here touches a socket or a clock: time comes
 * from tu->now, bytes leave through tu->send.
 *
 * Ownership: ss_txn_recv(), ss_txn_respond() and ss_txn_request() take the
 * message they are given, also on failure. A transaction owns the request
 * that made it and the responses it keeps for retransmission; the TU gets
 * borrowed pointers valid until the transaction terminates. A terminated
 * transaction is freed when the outermost call into the layer returns (or at
 * ss_txn_layer_reap()), after tu->terminated.
 *
 * Threads: one layer is used from one thread at a time (its core's). */
#ifndef SS_TXN_H
#define SS_TXN_H

#include "core/core_int.h"
#include "core/timer.h"
#include "msg/msg_int.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct ss_txn ss_txn;
typedef struct ss_txn_layer ss_txn_layer;

typedef enum ss_txn_kind { SS_TXN_ICT, SS_TXN_NICT, SS_TXN_IST, SS_TXN_NIST } ss_txn_kind;

typedef enum ss_txn_state {
  SS_TXN_CALLING,     /* ICT */
  SS_TXN_TRYING,      /* NICT, NIST */
  SS_TXN_PROCEEDING,
  SS_TXN_COMPLETED,
  SS_TXN_CONFIRMED,   /* IST */
  SS_TXN_ACCEPTED,    /* ICT, IST: RFC 6026 */
  SS_TXN_TERMINATED
} ss_txn_state;

/* The transaction user. Every callback but send and now may be NULL. */
typedef struct ss_txn_tu {
  /* A new server transaction for req (borrowed from st). */
  void (*request)(void *user, ss_txn *st, sipsrv_msg *req);
  /* An ACK the server transactions do not absorb: for a 2xx (a new branch),
   * or received by an IST in Accepted (RFC 6026 7.1, then ist is set). The TU
   * takes the message. */
  void (*ack)(void *user, ss_txn *ist, sipsrv_msg *ack, const ss_peer *src);
  /* A response for a client transaction, including 2xx retransmissions in
   * Accepted (RFC 6026 7.2). Borrowed for the call. */
  void (*response)(void *user, ss_txn *ct, sipsrv_msg *rsp);
  /* A response no client transaction matches (RFC 3261 17.1.3, 18.1.2). The
   * TU takes the message. */
  void (*stray_response)(void *user, sipsrv_msg *rsp, const ss_peer *src);
  /* Timer B or F (the TU acts as on a 408, RFC 3261 17.1.1.2, 17.1.2.2), or
   * Timer H (no ACK for a final response, 17.2.1). */
  void (*timeout)(void *user, ss_txn *t);
  /* The transport failed to send (RFC 3261 8.1.3.1, 17.1.4, 17.2.4). */
  void (*transport_error)(void *user, ss_txn *t);
  /* The transaction has ended; it is freed soon after. */
  void (*terminated)(void *user, ss_txn *t);
  /* Send m to peer: 0, or negative on transport failure. */
  int (*send)(void *user, const ss_peer *peer, sipsrv_msg *m);
  /* The current time, ms, monotonic. */
  uint64_t (*now)(void *user);
  void *user;
  /* Offered every message before any matching (a stateless proxy, RFC
   * 3261 16.11): true when the TU took it. May be NULL. */
  bool (*early)(void *user, sipsrv_msg *m, const ss_peer *src);
  /* Send the bytes of a final response of status to req, routed by req's
   * top Via: 0, or negative on transport failure. May be NULL: then the
   * bytes are parsed and go through send. */
  int (*send_wire)(void *user, const ss_peer *peer, const sipsrv_msg *req, int status,
                   const char *buf, size_t len);
  /* Send the bytes of a request to peer: 0, or negative on transport
   * failure. May be NULL: then ss_txn_request_wire() refuses. */
  int (*send_request_wire)(void *user, const ss_peer *peer, const char *buf, size_t len);
} ss_txn_tu;

typedef struct ss_txn_cfg {
  uint32_t t1, t2, t4;   /* RFC 3261 17.1.1.1 and table 4: 500, 4000, 5000 ms */
  int32_t trying_ms;     /* an IST sends 100 if the TU has not answered after this; -1 never */
} ss_txn_cfg;

#define SS_TXN_CFG_DEFAULT { 500, 4000, 5000, 200 }

int ss_txn_layer_new(ss_txn_layer **out, const sipsrv_core *core, ss_timers *timers,
                     const ss_txn_cfg *cfg, const ss_txn_tu *tu);
/* Count transactions and retransmissions in the core's counters. */
void ss_txn_layer_counters(ss_txn_layer *l, ss_counters *counters);
/* Ends every transaction without callbacks and frees the layer. */
void ss_txn_layer_free(ss_txn_layer *l);
/* Free the transactions that terminated. */
void ss_txn_layer_reap(ss_txn_layer *l);
size_t ss_txn_layer_count(const ss_txn_layer *l);

/* A parsed and accepted message from the transport (taken). */
void ss_txn_recv(ss_txn_layer *l, sipsrv_msg *m, const ss_peer *src);
/* The TU answers a server transaction (rsp taken). SIPSRV_E_STATE when the
 * state allows no such response, SIPSRV_E_INVAL for a response RFC 4320
 * forbids (a 408, or a 101-199, to a non-INVITE), SIPSRV_E_IO on transport
 * failure (the transaction has terminated: st must not be used after). */
int ss_txn_respond(ss_txn *st, sipsrv_msg *rsp);
/* The same with a response (100-699) as bytes (ss_reply_wire(), or a
 * received one less a Via; copied): status, and the To tag it carries (""
 * for none). The transaction keeps the bytes to retransmit (the last
 * provisional in Proceeding, the final in Completed). SIPSRV_E_NOMEM when
 * they cannot be kept (nothing changed: the TU may answer otherwise). */
int ss_txn_respond_wire(ss_txn *st, int status, const char *wire, size_t len, const char *tag);
/* The TU starts a client transaction for req (taken) towards dst. 0 with
 * *out set; SIPSRV_E_IO if the first send failed (the TU has had
 * transport_error and terminated; *out is NULL); SIPSRV_E_INVAL for a
 * request without a branch, or an ACK (ACKs for 2xx are the TU's, RFC 3261
 * 13.2.2.4); SIPSRV_E_EXISTS for a branch and method in use. */
int ss_txn_request(ss_txn_layer *l, ss_txn **out, sipsrv_msg *req, const ss_peer *dst, void *owner);
/* The same with the request as bytes (copied; a forwarding proxy's, built
 * from the bytes it received): its top Via's branch and its method, which
 * the caller wrote in them. The transaction sends and retransmits the
 * bytes; ss_txn_request_msg() parses them when first asked (a CANCEL, the
 * ACK of a non-2xx). SIPSRV_E_INVAL also without tu.send_request_wire,
 * SIPSRV_E_NOMEM when the bytes cannot be kept. */
int ss_txn_request_wire(ss_txn_layer *l, ss_txn **out, const char *wire, size_t len,
                        const char *branch, const char *method, const ss_peer *dst, void *owner);
/* Client transactions over tp to addr that wait for a response (Calling,
 * Trying, Proceeding) fail with a transport error (RFC 3261 17.1.4): the
 * number failed. */
int ss_txn_unreachable(ss_txn_layer *l, const sipsrv_transport *tp, const struct sockaddr *addr,
                       socklen_t len);
/* A response taken from its bytes (a role's raw_response, which parses only
 * the top Via and the CSeq): the client transaction of that branch and CSeq
 * method (RFC 3261 17.1.3), or NULL. */
ss_txn *ss_txn_client_find(ss_txn_layer *l, const char *branch, const char *method);
/* What a 100-299 of t's does to t, as ss_txn_recv() would with the parsed
 * response (17.1.1.2, 17.1.2.2, RFC 6026 7.2): true when the TU is to act
 * on it, where the response event would have come; the caller then acts
 * from the bytes. Between ss_txn_hold() and ss_txn_release(). */
bool ss_txn_client_status(ss_txn *t, int code);
/* Calls into the layer nest: a transaction that terminates meanwhile is
 * freed when the outermost returns. A role that works on a transaction
 * outside a callback of the layer holds the layer meanwhile. */
void ss_txn_hold(ss_txn_layer *l);
void ss_txn_release(ss_txn_layer *l);
/* The INVITE server transaction a CANCEL is for (RFC 3261 9.2), or NULL. */
ss_txn *ss_txn_cancel_target(ss_txn_layer *l, const sipsrv_msg *cancel);
/* An ACK with this top Via (parsed alone, its request not parsed) matches
 * no server transaction (RFC 3261 17.2.3: the ACK of a 2xx, a request of
 * its own): true; false when one matches, or may (a branch without the
 * magic cookie, matched by the whole request). */
bool ss_txn_ack_is_stray(ss_txn_layer *l, sip_via_t const *top);

ss_txn_kind ss_txn_kind_of(const ss_txn *t);
ss_txn_state ss_txn_state_of(const ss_txn *t);
const char *ss_txn_state_name(ss_txn_state s);
/* The request; NULL for a server transaction in Completed or Confirmed
 * that no TU owns any more (it keeps only what retransmissions need), or
 * for a client one given as bytes that do not parse or without memory. */
sipsrv_msg *ss_txn_request_msg(ss_txn *t);
/* The TU is done with t's request: in Completed, Confirmed or Accepted it
 * keeps only what its retransmissions need (the request, a server's last
 * provisional, and in Accepted the 2xx go; ss_txn_request_msg() is NULL
 * after). Any other state: nothing changes. */
void ss_txn_compact(ss_txn *t);
const ss_peer *ss_txn_peer(const ss_txn *t);
int ss_txn_status(const ss_txn *t);          /* last status sent or received, 0 if none */
void *ss_txn_owner(const ss_txn *t);
void ss_txn_set_owner(ss_txn *t, void *owner);

/* ---- the transaction layer of a core (attach.c) ------------------------- */

/* Events of one transaction, for its owner: the TU sets as a transaction's
 * owner a struct that begins with an ss_txn_owner_hdr. */
typedef struct ss_txn_events {
  void (*response)(void *owner, ss_txn *t, sipsrv_msg *rsp);
  void (*timeout)(void *owner, ss_txn *t);
  void (*transport_error)(void *owner, ss_txn *t);
  void (*terminated)(void *owner, ss_txn *t);
} ss_txn_events;

typedef struct ss_txn_owner_hdr {
  const ss_txn_events *ev;
} ss_txn_owner_hdr;

/* A role attached to a core's transaction layer: offered every message first
 * (early: a stateless role takes what it forwards), then each new request
 * (return true to claim it: the role then answers st), each ACK no
 * transaction absorbed and each response no transaction matched (return true
 * to take the message). Any hook may be NULL. */
typedef struct ss_txn_role {
  /* Every message before the transactions see it (true: taken). */
  bool (*early)(void *self, sipsrv_msg *m, const ss_peer *src);
  bool (*request)(void *self, ss_txn *st, sipsrv_msg *req);
  bool (*ack)(void *self, ss_txn *ist, sipsrv_msg *ack, const ss_peer *src);
  bool (*stray_response)(void *self, sipsrv_msg *rsp, const ss_peer *src);
  /* A datagram response as received, before the core parses it (true:
   * dealt with from the bytes; false: parsed, then the hooks above). */
  bool (*raw_response)(void *self, const char *data, size_t len, const ss_peer *src);
  /* The same for a datagram request, forwarded without a transaction (a
   * stateless proxy's, a stateful one's ACK of a 2xx). */
  bool (*raw_request)(void *self, const char *data, size_t len, const ss_peer *src);
  void *self;
  struct ss_txn_role *next;
} ss_txn_role;

typedef struct ss_core_txn ss_core_txn;

/* The core's transaction layer, made on first use (NULL without memory). It
 * lives until the core is freed. Unclaimed requests get 501. */
ss_core_txn *ss_core_txn_of(sipsrv_core *core);
ss_txn_layer *ss_core_txn_layer(ss_core_txn *c);
void ss_core_txn_attach(ss_core_txn *c, ss_txn_role *role);
void ss_core_txn_detach(ss_core_txn *c, ss_txn_role *role);
/* True when no role attached before r takes ACKs (its ack hook): an ACK
 * that no transaction absorbs would reach r first. */
bool ss_core_txn_acks_first(const ss_core_txn *c, const ss_txn_role *r);

#endif
