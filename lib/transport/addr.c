/* Socket addresses from and to text. */
#include "transport_int.h"

#include <sipsrv/error.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ss_sockaddr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
  char host[INET6_ADDRSTRLEN + 2];
  const char *colon, *hstart = s;
  size_t hlen;
  char *end;
  unsigned long port;

  if (!s || !*s)
    return SIPSRV_E_INVAL;
  if (*s == '[') {
    const char *close = strchr(s, ']');
    if (!close || close[1] != ':')
      return SIPSRV_E_INVAL;
    hstart = s + 1;
    hlen = (size_t)(close - hstart);
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon)
      return SIPSRV_E_INVAL;
    hlen = (size_t)(colon - s);
  }
  if (hlen == 0 || hlen >= sizeof host)
    return SIPSRV_E_INVAL;
  memcpy(host, hstart, hlen);
  host[hlen] = '\0';
  /* The port: 1 to 5 digits, nothing else (strtoul would take " +0"). */
  {
    size_t nd = strspn(colon + 1, "0123456789");
    if (nd == 0 || nd > 5 || colon[1 + nd])
      return SIPSRV_E_INVAL;
  }
  port = strtoul(colon + 1, &end, 10);
  if (port > 65535)
    return SIPSRV_E_INVAL;
  /* IPv6 only inside brackets (a bare one is ambiguous), IPv4 never. */
  if ((hstart != s) != (strchr(host, ':') != NULL))
    return SIPSRV_E_INVAL;
  return ss_sockaddr_make(host, (unsigned)port, ss, len);
}

int ss_sockaddr_make(const char *host, unsigned port, struct sockaddr_storage *ss, socklen_t *len)
{
  char v6[INET6_ADDRSTRLEN];
  size_t n = strlen(host);

  memset(ss, 0, sizeof *ss);
  if (port > 65535)
    return SIPSRV_E_INVAL;
  if (host[0] == '[') {                  /* an IPv6 reference (RFC 3261 25.1) */
    if (n < 3 || n - 2 >= sizeof v6 || host[n - 1] != ']')
      return SIPSRV_E_INVAL;
    memcpy(v6, host + 1, n - 2);
    v6[n - 2] = '\0';
    host = v6;
  }
  if (strchr(host, ':')) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
      return SIPSRV_E_INVAL;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    *len = sizeof *a;
    return 0;
  }
  {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
      return SIPSRV_E_INVAL;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    *len = sizeof *a;
    return 0;
  }
}

int ss_sockaddr_host(const struct sockaddr_storage *ss, char *buf, size_t size, unsigned *port)
{
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    *port = ntohs(a->sin_port);
    return inet_ntop(AF_INET, &a->sin_addr, buf, (socklen_t)size) ? 0 : SIPSRV_E_INVAL;
  }
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    *port = ntohs(a->sin6_port);
    return inet_ntop(AF_INET6, &a->sin6_addr, buf, (socklen_t)size) ? 0 : SIPSRV_E_INVAL;
  }
  return SIPSRV_E_INVAL;
}
