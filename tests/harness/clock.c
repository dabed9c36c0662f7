#include "harness.h"

uint64_t tclock_now(void *user)
{
  return ((const tclock *)user)->now_ms;
}

void tclock_advance(tclock *c, uint64_t ms)
{
  c->now_ms += ms;
}
