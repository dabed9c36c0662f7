#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

const char *conformance_dir(void)
{
  const char *d = getenv("SIPSRV_CONFORMANCE_DIR");
  return d && *d ? d : SIPSRV_DEFAULT_CONFORMANCE_DIR;
}

char *read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long n;

  if (!f)
    return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
      buf[n] = '\0';
      *len = (size_t)n;
    } else {
      free(buf);
      buf = NULL;
    }
  }
  fclose(f);
  return buf;
}
