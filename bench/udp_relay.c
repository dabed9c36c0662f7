/* udp_relay: the floor of bench/compare.sh. A UDP relay that parses nothing:
 * datagrams from the callee go to the last caller address seen, every other
 * datagram goes to the callee. Driven by the same call scenario as the
 * stateless proxy, it costs one recvfrom() and one sendto() per datagram,
 * the least any proxy on this kernel can spend.
 *
 *   udp_relay --listen [udp:]IP:PORT --to IP:PORT     (PORT 0: a free port)
 *
 * Prints "listening on udp port N" as the sipsrv examples do, and runs until
 * SIGINT/SIGTERM. IPv4 only; a benchmark tool, not part of the library. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
  char host[64];
  const char *colon = strrchr(s, ':');
  char *end;
  long port;
  if (!colon || (size_t)(colon - s) >= sizeof host)
    return -1;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = '\0';
  port = strtol(colon + 1, &end, 10);
  if (*end || port < 0 || port > 65535)
    return -1;
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((unsigned short)port);
  return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
  struct sockaddr_in local, callee, caller, from;
  socklen_t len = sizeof local;
  int fd, have_caller = 0, have_local = 0, have_callee = 0;
  char buf[65536];

  for (int i = 1; i + 1 < argc; i += 2) {
    const char *v = argv[i + 1];
    if (strncmp(v, "udp:", 4) == 0)
      v += 4;
    if (strcmp(argv[i], "--listen") == 0 && parse_addr(v, &local) == 0)
      have_local = 1;
    else if (strcmp(argv[i], "--to") == 0 && parse_addr(v, &callee) == 0)
      have_callee = 1;
    else
      have_local = have_callee = -1;
  }
  if (argc % 2 == 0 || have_local != 1 || have_callee != 1) {
    fprintf(stderr, "usage: udp_relay --listen [udp:]IP:PORT --to IP:PORT\n");
    return 2;
  }
  fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof local) < 0 ||
      getsockname(fd, (struct sockaddr *)&local, &len) < 0) {
    perror("udp_relay");
    return 1;
  }
  /* The kernel's default socket buffers, as sipsrv's UDP transport has. */
  printf("listening on udp port %u\n", (unsigned)ntohs(local.sin_port));
  fflush(stdout);

  for (;;) {
    ssize_t n;
    len = sizeof from;
    n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    if (n < 0)
      continue;
    if (from.sin_addr.s_addr == callee.sin_addr.s_addr && from.sin_port == callee.sin_port) {
      if (have_caller)
        sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&caller, sizeof caller);
    } else {
      caller = from;
      have_caller = 1;
      sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&callee, sizeof callee);
    }
  }
}
