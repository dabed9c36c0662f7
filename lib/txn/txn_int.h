/* Private to lib/txn: what the layer and the four machines share. */
#ifndef SS_TXN_INT_H
#define SS_TXN_INT_H

#include "txn.h"

#include "core/htab.h"

struct ss_txn {
  ss_txn_layer *layer;
  ss_txn_kind kind;
  ss_txn_state state;
  ss_txn *prev, *next;      /* every live or dead transaction, for freeing */
  bool dead;
  ss_txn *dead_next;        /* the layer's list of terminated ones */
  sipsrv_msg *req;          /* the request that made it; a client's given as... */
  char *req_wire;           /* ...bytes (ss_txn_request_wire()): parsed when asked for */
  size_t req_len;
  sipsrv_msg *provisional;  /* server: last provisional sent, or NULL when... */
  char *prov_wire;          /* ...it was given as bytes (ss_txn_respond_wire()) */
  size_t prov_len;
  sipsrv_msg *final;        /* ICT: the ACK sent; server: the final, when it could
                               not be kept as bytes */
  char *final_wire;         /* server: the final sent, as sent (ss_server_keep_final) */
  size_t final_len;
  char *final_tag;          /* its To tag (ACK matching without the cookie), or NULL */
  ss_peer peer;
  ss_timer t_retrans;       /* A, E, G */
  ss_timer t_timeout;       /* B, F, H; NIST's guard */
  ss_timer t_wait;          /* D, I, J, K, L, M */
  ss_timer t_trying;        /* IST: the 100 Trying of RFC 3261 17.2.1 */
  uint32_t interval;        /* current retransmission interval */
  int status;
  uint64_t created;
  void *owner;
  /* Last, with the key's bytes right after the struct: a lookup that
   * finds this node reads the key from the same cache lines. */
  ss_hnode hn;              /* the table's link */
  char *key;                /* in the layer's table while not terminated */
};

struct ss_txn_layer {
  const sipsrv_core *core;
  ss_timers *timers;
  ss_txn_cfg cfg;
  ss_txn_tu tu;
  ss_htab table;            /* live transactions by key */
  ss_txn *all;              /* list of every transaction */
  ss_txn *dead;             /* terminated, to free at the next reap */
  unsigned depth;           /* nesting of calls into the layer */
  ss_counters *counters;    /* the core's, or NULL (ss_txn_layer_counters()) */
};

/* Count one event in the core's counters (core.h sipsrv_counters). */
#define SS_TXN_COUNT(l, field)           \
  do {                                   \
    if ((l)->counters)                   \
      (l)->counters->field++;            \
  } while (0)

/* txn.c */
/* Let go of the last provisional response (either form). */
void ss_txn_drop_provisional(ss_txn *t);
uint64_t ss_txn_now(const ss_txn_layer *l);
void ss_txn_arm(ss_txn *t, ss_timer *tm, uint32_t after_ms, ss_timer_fn fn);
/* Send m (borrowed); on failure report it to the TU and terminate. */
int ss_txn_send(ss_txn *t, sipsrv_msg *m);
/* Send a client transaction's request (as bytes when it was given so). */
int ss_txn_send_request(ss_txn *t);
/* The same with a final response's bytes (t->req routes it; without it, or
 * without tu.send_wire, the bytes are parsed and sent as a message). */
int ss_txn_send_wire(ss_txn *t, int status, const char *wire, size_t len);
void ss_txn_terminate(ss_txn *t);
/* Drop the final response a server transaction keeps (as bytes or parsed). */
void ss_txn_drop_final(ss_txn *t);
void ss_txn_enter(ss_txn_layer *l);
void ss_txn_leave(ss_txn_layer *l);

/* client.c */
void ss_ict_start(ss_txn *t);
void ss_nict_start(ss_txn *t);
void ss_client_response(ss_txn *t, sipsrv_msg *rsp);

/* server.c */
void ss_ist_start(ss_txn *t);
void ss_nist_start(ss_txn *t);
/* A request that matched t: a retransmission, or an ACK for an IST. Takes m. */
void ss_server_again(ss_txn *t, sipsrv_msg *m, const ss_peer *src);
int ss_server_respond(ss_txn *t, sipsrv_msg *rsp);
int ss_server_respond_wire(ss_txn *t, int status, const char *wire, size_t len, const char *tag);
/* A server transaction in Completed or Confirmed with no owner drops its
 * request and provisional (ss_txn_request_msg() is NULL after). */
void ss_server_compact(ss_txn *t);

#endif
