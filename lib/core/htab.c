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
    ss_hnode **b = ss_zalloc(t->core, nb * sizeof *b);
    if (!b) {
      if (!t->nb)
        return SIPSRV_E_NOMEM;             /* no table at all yet */
    } else {
      for (size_t k = 0; k < t->nb; k++)
        for (ss_hnode *p = t->b[k], *next; p; p = next) {
          next = p->next;
          p->next = b[p->hash & (nb - 1)];
          b[p->hash & (nb - 1)] = p;
        }
      ss_free(t->core, t->b);
      t->b = b;
      t->nb = nb;
    }
  }
  node->hash = hash;
  i = hash & (t->nb - 1);
  node->next = t->b[i];
  t->b[i] = node;
  t->n++;
  return 0;
}

void ss_htab_remove(ss_htab *t, ss_hnode *node)
{
  if (!t->nb)
    return;
  for (ss_hnode **pp = &t->b[node->hash & (t->nb - 1)]; *pp; pp = &(*pp)->next)
    if (*pp == node) {
      *pp = node->next;
      node->next = NULL;
      t->n--;
      return;
    }
}

ss_hnode *ss_htab_first(const ss_htab *t, uint64_t hash)
{
  ss_hnode *p = t->nb ? t->b[hash & (t->nb - 1)] : NULL;
  while (p && p->hash != hash)
    p = p->next;
  return p;
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
    if (t->b[i]) {
      t->hint = i;
      return t->b[i];
    }
  }
  return NULL;
}
