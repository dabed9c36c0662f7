/* The main() of every test executable. */
#include <check.h>

#include "harness.h"

#include <string.h>

void tlog_count(sipsrv_log_level level, const char *msg, void *user)
{
  tlogcount *t = user;
  (void)level;
  t->nfail += t->fail && strstr(msg, t->fail) != NULL;
  t->nback += t->back && strstr(msg, t->back) != NULL;
}

int harness_run(Suite *s)
{
  SRunner *sr = srunner_create(s);
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
