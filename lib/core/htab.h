/* Private: an intrusive chained hash table, for the tables every layer keeps
 * (transactions, connections, dialogs, AORs...). A node is embedded in its
 * owner; lookups walk one chain and compare the full key themselves. Each
 * bucket keeps the hash of its first node too: at load 1 or less most
 * chains hold one node at most, so a lookup that finds nothing is decided
 * by the bucket alone (its first hash and its length), without touching a
 * node (with 200,000 transactions
 * live, each node touched is a cache miss: measured 5% of a busy stateful
 * proxy in the lookup). */
#ifndef SS_HTAB_H
#define SS_HTAB_H

#include "core_int.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ss_hnode {
  struct ss_hnode *next;
  uint64_t hash;
} ss_hnode;

typedef struct ss_hbucket {
  uint64_t hash;            /* node's, when node is not NULL */
  ss_hnode *node;           /* the chain */
  size_t n;                 /* its length */
} ss_hbucket;

typedef struct ss_htab {
  const sipsrv_core *core;  /* allocator */
  ss_hbucket *b;
  size_t nb, n;
  size_t hint;              /* where ss_htab_any() last found a node */
} ss_htab;

#define SS_CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

void ss_htab_init(ss_htab *t, const sipsrv_core *core);
/* Frees the buckets (the nodes belong to their owners). */
void ss_htab_fini(ss_htab *t);
/* Add node under hash; the table doubles at load 1. 0 or SIPSRV_E_NOMEM (not added). */
int ss_htab_add(ss_htab *t, ss_hnode *node, uint64_t hash);
/* Remove node if present. */
void ss_htab_remove(ss_htab *t, ss_hnode *node);
/* The first node with this hash, and the next one after node; NULL at the end. */
ss_hnode *ss_htab_first(const ss_htab *t, uint64_t hash);
ss_hnode *ss_htab_next(const ss_hnode *node, uint64_t hash);
/* Any node (to empty the table), or NULL; emptying the whole table this
 * way costs O(n + buckets). */
ss_hnode *ss_htab_any(ss_htab *t);

#endif
