/* Private to lib/loop: what the loop offers its parts (the resolver). */
#ifndef SS_LOOP_INT_H
#define SS_LOOP_INT_H

#include "transport/transport_int.h"

#include <sipsrv/loop.h>

/* Something the loop calls after every round (after sockets and timers). */
typedef struct ss_loop_hook {
  void (*tick)(void *arg);
  /* True while it needs a round at least every SS_LOOP_BUSY_MS. */
  bool (*busy)(void *arg);
  void *arg;
  struct ss_loop_hook *next;
} ss_loop_hook;

#define SS_LOOP_BUSY_MS 100

const ss_poller *ss_loop_poller(sipsrv_loop *l);
sipsrv_core *ss_loop_core(sipsrv_loop *l);
void ss_loop_hook_add(sipsrv_loop *l, ss_loop_hook *h);
void ss_loop_hook_remove(sipsrv_loop *l, ss_loop_hook *h);

#endif
