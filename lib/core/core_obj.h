/* Private to lib/core: the core object and what its files share. */
#ifndef SS_CORE_OBJ_H
#define SS_CORE_OBJ_H

#include "core_int.h"
#include "htab.h"
#include "limit.h"
#include "timer.h"

#include <sipsrv/framer.h>

struct sipsrv_transport {
  sipsrv_core *core;
  const struct sipsrv_transport_ops *ops;
  void *user;
  char *host;                 /* sent-by host */
  unsigned port;
  sipsrv_transport *next;
};

/* A connection of a stream transport, with its framer. */
typedef struct ss_conn {
  sipsrv_transport *tp;
  uint64_t id;
  sipsrv_framer *framer;
  bool busy;                  /* its frames are being handled */
  bool closed;                /* closed while busy: freed when done */
  struct sockaddr_storage alias;  /* RFC 5923: the sent-by it may carry requests to */
  socklen_t aliaslen;             /* 0: none */
  ss_hnode hn;                    /* in the core's table of connections */
} ss_conn;

struct sipsrv_core {
  sipsrv_allocator alloc;
  sipsrv_log_cb log_cb;
  void *log_user;
  sipsrv_log_level log_level;
  sipsrv_clock_cb clock;
  void *clock_user;
  sipsrv_clock_cb wall_clock;
  void *wall_clock_user;
  uint32_t t1, t2, t4;
  ss_timers timers;
  sipsrv_transport *transports;
  ss_htab conns;              /* connections by (transport, id) */
  ss_sink sink;
  bool has_sink;
  ss_counters counters;
  uint64_t secret;
  ss_limiter *limiter;        /* NULL: no limits set */
  ss_stream_steer_fn steer;   /* ss_core_set_stream_steer() */
  void *steer_arg;
};

/* io.c */
void ss_core_io_fini(sipsrv_core *core);

#endif
