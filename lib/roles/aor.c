/* The canonical address-of-record (roles_int.h), shared by the registrar
 * that stores bindings under it and the proxy that looks them up. */
#include "roles_int.h"

#include <stdio.h>
#include <string.h>

int ss_aor_print(url_t const *u, char *buf, size_t size)
{
  int n = snprintf(buf, size, "%s:%s%s%s", u->url_type == url_sips ? "sips" : "sip",
                   u->url_user ? u->url_user : "", u->url_user ? "@" : "",
                   u->url_host ? u->url_host : "");
  char *at;
  if (n < 0 || (size_t)n >= size)
    return -1;
  at = strrchr(buf, '@');
  for (char *p = at ? at : strchr(buf, ':'); p && *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  return n;
}
