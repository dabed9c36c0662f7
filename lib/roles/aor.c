/* What the roles share (roles_int.h): the canonical address-of-record the
 * registrar stores bindings under and the proxy and redirect server look
 * up, and which domains and ports are a role's own. */
#include "roles_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

bool ss_domain_listed(const char *const *domains, const char *host)
{
  for (const char *const *d = domains; host && d && *d; d++)
    if (strcasecmp(*d, host) == 0)
      return true;
  return false;
}

unsigned ss_url_port(url_t const *u)
{
  if (u->url_port && *u->url_port)
    return (unsigned)strtoul(u->url_port, NULL, 10);
  return u->url_type == url_sips ? 5061 : 5060;
}
