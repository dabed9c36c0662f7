/* The intrusive hash table (htab.h). */
#include "htab.h"

#include <sipsrv/error.h>

void ss_htab_init(ss_htab *t, const sipsrv_core *core)
{
  t->core = core;
  t->b = NULL;
  t->nb = t->n = t->hint = 0;
}

void ss_htab_fini(ss_htab *t)
{
  ss_free(t->core, t->b);
  t->b = NULL;
  t->nb = t->n = t->hint = 0;
}

int ss_htab_add(ss_htab *t, ss_hnode *node, uint64_t hash)
{
  size_t i;
  if (t->n >= t->nb) {
    size_t nb = t->nb ? t->nb * 2 : 64;
    ss_hbucket *b = ss_zalloc(t->core, nb * sizeof *b);
    if (!b) {
      if (!t->nb)
        return SIPSRV_E_NOMEM;             /* no table at all yet */
    } else {
      for (size_t k = 0; k < t->nb; k++)
        for (ss_hnode *p = t->b[k].node, *next; p; p = next) {
          ss_hbucket *to = &b[p->hash & (nb - 1)];
          next = p->next;
          p->next = to->node;
          to->node = p;
          to->hash = p->hash;
          to->n++;
        }
      ss_free(t->core, t->b);
      t->b = b;
      t->nb = nb;
    }
  }
  node->hash = hash;
  i = hash & (t->nb - 1);
  node->next = t->b[i].node;
  t->b[i].node = node;
  t->b[i].hash = hash;
  t->b[i].n++;
  t->n++;
  return 0;
}

void ss_htab_remove(ss_htab *t, ss_hnode *node)
{
  ss_hbucket *b;
  if (!t->nb)
    return;
  b = &t->b[node->hash & (t->nb - 1)];
  for (ss_hnode **pp = &b->node; *pp; pp = &(*pp)->next)
    if (*pp == node) {
      *pp = node->next;
      if (pp == &b->node && b->node)
        b->hash = b->node->hash;
      node->next = NULL;
      b->n--;
      t->n--;
      return;
    }
}

ss_hnode *ss_htab_first(const ss_htab *t, uint64_t hash)
{
  const ss_hbucket *b;
  if (!t->nb)
    return NULL;
  b = &t->b[hash & (t->nb - 1)];
  if (!b->node || b->hash == hash)
    return b->node;
  return b->n > 1 ? ss_htab_next(b->node, hash) : NULL;
}

ss_hnode *ss_htab_next(const ss_hnode *node, uint64_t hash)
{
  ss_hnode *p = node->next;
  while (p && p->hash != hash)
    p = p->next;
  return p;
}

ss_hnode *ss_htab_any(ss_htab *t)
{
  /* From where the last one was found, then from the start: emptying a
   * table node by node costs O(n + buckets), not O(buckets) per node. */
  for (size_t k = 0; k < t->nb; k++) {
    size_t i = (t->hint + k) & (t->nb - 1);
    if (t->b[i].node) {
      t->hint = i;
      return t->b[i].node;
    }
  }
  return NULL;
}
