/* An out-of-tree program: built against an installed sipsrv with pkg-config
 * alone (tests/install-test.sh), it prints the version it was compiled
 * against and the one it runs with, and parses one message. */
#include <sipsrv/sipsrv.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
  static const char req[] = "OPTIONS sip:x@example.com SIP/3.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                            "To: <sip:x@example.com>\r\nFrom: <sip:y@example.com>;tag=1\r\n"
                            "Call-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  sipsrv_msg *m = NULL;
  sipsrv_verdict v;

  printf("sipsrv headers %s, library %s\n", SIPSRV_VERSION_STRING, sipsrv_version());
  if (strcmp(SIPSRV_VERSION_STRING, sipsrv_version()) != 0)
    return 1;
  if (sipsrv_msg_parse(&m, req, sizeof req - 1, 0, &v) != 0 || v.status != 505)
    return 1;
  printf("SIP/3.0 request: %d %s\n", v.status, v.phrase);
  sipsrv_msg_free(m);
  return 0;
}
