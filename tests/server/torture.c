/* torture: the RFC 4475 torture messages against a running sipsrv-server.
 *
 *   torture CONFORMANCE-DIR SERVER-UDP-PORT SERVER-TCP-PORT
 *
 * Every message INDEX.tsv lists is sent to 127.0.0.1 as published, first
 * each over UDP, then each over TCP on a fresh connection (a message waits
 * while an earlier one with the same server transaction key may still be
 * live: see run_all), and what comes back within a bounded wait (1 s, or
 * 0.2 s after a final response) is compared with the table below: the status
 * code(s) INDEX.tsv's server_action asks of a proxy/registrar for
 * example.com that has no --to, or no response at all. A REGISTER that is
 * accepted is undone (Contact: *, Expires: 0) so that the bindings of one
 * message never change the answer to another. Last, OPTIONS for the server
 * itself over UDP and TCP must get 200.
 *
 * Where responses go (RFC 3261 18.2.2): over UDP to the top Via's received
 * address (the source, 127.0.0.1) and its rport, or else its sent-by port
 * (5060 when absent), so the UDP socket is bound to that port before the
 * message is sent; run it in a private network namespace where those ports
 * are free (run.sh). Over TCP, on the connection. A response that comes
 * back anywhere else (over UDP to the Via port for a TCP request, over a
 * new TCP connection for a UDP request) is reported as misrouted.
 *
 * Plain libc and POSIX sockets: it links nothing from sipsrv. Prints one
 * "ok: " or "FAIL: " line per check and "torture: N passed, N failed";
 * exits 0 only with no failure. TORTURE_DEBUG=1 in the environment prints
 * every message that comes back on stderr. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG_MAX 65536
#define WAIT_MS 1000        /* for the first final response */
#define AFTER_FINAL_MS 200  /* then for a close, a second final, a stray */
#define MAX_CHAN 4
#define MAX_CALLID 4

/* Outcomes besides a status code; 0 ends a list. */
#define NONE 1    /* nothing at all came back within the wait */
#define CLOSED 2  /* the server closed the TCP connection without a response */

typedef struct expect {
  const char *name;
  int udp[4];
  int tcp[4];
} expect;

/* What a proxy/registrar for example.com (no --to) must answer; the server
 * listens on 127.0.0.1:5080 (run.sh). "D" is example.com; a user of D has
 * no binding here (every accepted REGISTER is undone), so a request for one
 * gets 480 from the location service (RFC 3261 16.5), and a request for
 * another domain gets 403 (sipsrv-server without --to relays nothing). */
static const expect table[] = {
  /* 3.1.1.1 valid, "parse and accept; proxy forwards unknown headers
   * unchanged": it has a To tag, so it is a request inside a dialog and
   * follows its Route to services.example.com (RFC 3261 16.4, 16.6 step 7);
   * that name has no DNS record here (run.sh: no name server), so the
   * forwarding attempt ends in 503 Cannot Resolve Target. Not 400. */
  { "wsinv", { 503 }, { 503 } },
  /* 3.1.1.2 valid, "proxy: forward if URI known else 404": a user of D: 480, or 404. */
  { "intmeth", { 480, 404 }, { 480, 404 } },
  /* 3.1.1.3 valid, "parse and accept": the R-URI host is example.net, not D: 403. */
  { "esc01", { 403 }, { 403 } },
  /* 3.1.1.4 valid, "registrar must not truncate the AOR at %00": REGISTER for D: 200. */
  { "escnull", { 200 }, { 200 } },
  /* 3.1.1.5 valid, "proxy forwards or rejects per Request-URI": registrar.example.com is not D: 403. */
  { "esc02", { 403 }, { 403 } },
  /* 3.1.1.6 valid, "parse and accept": OPTIONS for a user of D: 480. */
  { "lwsdisp", { 480 }, { 480 } },
  /* 3.1.1.7 valid, "parse and accept (very long values)": INVITE for a user of D: 480. */
  { "longreq", { 480 }, { 480 } },
  /* 3.1.1.8 valid, "process the REGISTER normally; ignore trailing octets": 200 (over TCP
   * the octets are a second message, answered under another Call-ID, not counted). */
  { "dblreq", { 200 }, { 200 } },
  /* 3.1.1.9 valid, "parse and accept": OPTIONS for user "user;par=u@example.net" of D: 480. */
  { "semiuri", { 480 }, { 480 } },
  /* 3.1.1.10 valid, "parse and accept (unknown transports in Via)": a user of D: 480. */
  { "transports", { 480 }, { 480 } },
  /* 3.1.1.11 valid, "parse and accept; frame by Content-Length": MESSAGE for example.org,
   * not D (its Route names 127.0.0.1:5080, this server, RFC 3261 16.4): 403. */
  { "mpart01", { 403 }, { 403 } },
  /* 3.1.1.12 valid, "parse and accept (response)": matches no transaction: dropped. */
  { "unreason", { NONE }, { NONE } },
  /* 3.1.1.13 valid, "parse and accept (response; empty reason)": dropped likewise. */
  { "noreason", { NONE }, { NONE } },
  /* 3.1.2.1 invalid, "reject with 400 Bad Request". */
  { "badinv01", { 400 }, { 400 } },
  /* 3.1.2.2 invalid, "UDP: reject with 400; stream: wait for more data then close". */
  { "clerr", { 400 }, { NONE, CLOSED } },
  /* 3.1.2.3 invalid, "respond 400; TCP: framing unrecoverable, close connection". */
  { "ncl", { 400 }, { 400, CLOSED } },
  /* 3.1.2.4 invalid, "reject with 400 (CSeq > 2^32-1)". */
  { "scalar02", { 400 }, { 400 } },
  /* 3.1.2.5 invalid, "response: discard silently". */
  { "scalarlg", { NONE }, { NONE } },
  /* 3.1.2.6 invalid, "400 (or carefully infer the closing quote)": inferred, a user of D: 480. */
  { "quotbal", { 400, 480 }, { 400, 480 } },
  /* 3.1.2.7 invalid, "400 (liberal: ignore <>)": liberal, a user of D: 480. */
  { "ltgtruri", { 400, 480 }, { 400, 480 } },
  /* 3.1.2.8 invalid, "400 (liberal: ignore the embedded LWS)": liberal, a user of D: 480. */
  { "lwsruri", { 400, 480 }, { 400, 480 } },
  /* 3.1.2.9 invalid, "may reject (400) or tolerate": tolerated, a user of D: 480. */
  { "lwsstart", { 400, 480 }, { 400, 480 } },
  /* 3.1.2.10 invalid, "may reject (400) or tolerate": tolerated, a user of D: 480. */
  { "trws", { 400, 480 }, { 400, 480 } },
  /* 3.1.2.11 invalid, "400 or ignore the escaped headers": ignored, a user of D: 480. */
  { "escruri", { 400, 480 }, { 400, 480 } },
  /* 3.1.2.12 invalid, "400 only if Date matters; otherwise ignore": not to a proxy: 480. */
  { "baddate", { 480 }, { 480 } },
  /* 3.1.2.13 invalid, "400 (liberal: infer <>)": liberal, REGISTER for D: 200. */
  { "regbadct", { 400, 200 }, { 400, 200 } },
  /* 3.1.2.14 invalid, "400 (liberal: ignore the spaces)": liberal, example.org is not D: 403. */
  { "badaspec", { 400, 403 }, { 400, 403 } },
  /* 3.1.2.15 invalid, "400 (liberal: infer quotes)": liberal, example.org is not D: 403.
   * baddn.dat ends without the blank line: over TCP the header section never ends, and the
   * server waits for more data as for clerr. */
  { "baddn", { 400, 403 }, { NONE, CLOSED } },
  /* 3.1.2.16 invalid, "respond 505 Version Not Supported". */
  { "badvers", { 505 }, { 505 } },
  /* 3.1.2.17 invalid, "reject with 400 (start-line method != CSeq method)". */
  { "mismatch01", { 400 }, { 400 } },
  /* 3.1.2.18 invalid, "501 (400 also acceptable; 501 preferred at proxies)". */
  { "mismatch02", { 501, 400 }, { 501, 400 } },
  /* 3.1.2.19 invalid, "response: drop silently (status code > 699)". */
  { "bigcode", { NONE }, { NONE } },
  /* 3.2.1 valid, "400 or fall back to RFC 2543 matching": accepted, a user of D: 480. */
  { "badbranch", { 400, 480 }, { 400, 480 } },
  /* 3.3.1 invalid, "respond 400 (no Call-ID, From, To)". */
  { "insuf", { 400 }, { 400 } },
  /* 3.3.2 valid, "respond 416 Unsupported URI Scheme". */
  { "unkscm", { 416 }, { 416 } },
  /* 3.3.3 valid, "416 if the scheme is never meaningful here": soap.beep never is to SIP. */
  { "novelsc", { 416 }, { 416 } },
  /* 3.3.4 valid, "registrar rejects (To must be a SIP AOR): 400; NkSIP answers 416". */
  { "unksm2", { 400, 416 }, { 400, 416 } },
  /* 3.3.5 valid, "420 Bad Extension listing the Proxy-Require tags (proxy)". */
  { "bext01", { 420 }, { 420 } },
  /* 3.3.6 valid, "proxy: forward like any INVITE": a user of D: 480. */
  { "invut", { 480 }, { 480 } },
  /* 3.3.7 valid, "registrar not authenticating: ignore header and register": 200. */
  { "regaut01", { 200 }, { 200 } },
  /* 3.3.8 invalid, "respond 400 (multiple Call-ID/To/From/Max-Forwards/CSeq)". */
  { "multi01", { 400 }, { 400 } },
  /* 3.3.9 invalid, "respond 400; TCP: close the connection". */
  { "mcl01", { 400 }, { 400, CLOSED } },
  /* 3.3.10 valid, "response: parse, then drop; never forward to 255.255.255.255". */
  { "bcast", { NONE }, { NONE } },
  /* 3.3.11 valid, "proxy: 483 (an OPTIONS may be answered by the proxy as a UAS)". */
  { "zeromf", { 483, 200 }, { 483, 200 } },
  /* 3.3.12 valid, "registrar: accept (200)". */
  { "cparam01", { 200 }, { 200 } },
  /* 3.3.13 valid, "registrar: accept (200)". */
  { "cparam02", { 200 }, { 200 } },
  /* 3.3.14 valid, "registrar: accept (200)". */
  { "regescrt", { 200 }, { 200 } },
  /* 3.3.15 valid, "UAS: 406 or 400": a proxy forwards it; a user of D: 480. */
  { "sdp01", { 480 }, { 480 } },
  /* 3.4.1 valid, "accept for backward compatibility": a user of D: 480. Over TCP it has no
   * Content-Length, which RFC 3261 18.3 requires on a stream: 400 is right there too. */
  { "inv2543", { 480 }, { 480, 400 } },
};

/* One socket that something may come back on. */
typedef struct chan {
  int fd;
  int stream;     /* TCP: bytes are reassembled in buf */
  int listening;  /* a TCP listener: accept() adds a channel */
  int expected;   /* responses belong here */
  int closed;
  size_t len;
  char what[48];
  char buf[MSG_MAX];
} chan;

typedef struct result {
  int final, final2;  /* first final status on the right channel; a different later one */
  int prov;           /* a 1xx on the right channel */
  int closed;         /* the expected stream was closed by the server */
  int wrong;          /* a response on another channel */
  char wrong_what[48];
  int stray;          /* responses for other Call-IDs (retransmissions of earlier answers) */
  int garbage;        /* bytes that were no SIP message */
} result;

typedef struct request {
  const char *name;
  const char *bytes;
  size_t len;
  char callid[MAX_CALLID][512];
  int ncallid;
  unsigned via_port;  /* where a UDP response goes, or 0 with rport */
  int via_reliable;   /* the top Via names TCP, TLS or SCTP */
  char key[600];      /* "METHOD sent-by branch": its server transaction */
  char branch[256];   /* of the top Via */
  unsigned long cseq;
} request;

/* One message of the corpus, sent over each transport in turn. */
typedef struct item {
  const expect *e;
  char *bytes;
  size_t len;
  char key[600];
  int done[2];        /* [0] UDP, [1] TCP */
} item;

#define MAX_ITEMS 128

static chan chans[MAX_CHAN];
static int passed, failed, strays;

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Length of the header section with its blank line, or 0 while incomplete. */
static size_t head_len(const char *b, size_t n)
{
  for (size_t i = 0; i + 1 < n; i++) {
    if (b[i] != '\n')
      continue;
    if (b[i + 1] == '\n')
      return i + 2;
    if (i + 2 < n && b[i + 1] == '\r' && b[i + 2] == '\n')
      return i + 3;
  }
  return 0;
}

/* The header section of a message that was sent whole (a datagram, a
 * corpus file): baddn.dat ends without the blank line. */
static size_t whole_head_len(const char *b, size_t n)
{
  size_t h = head_len(b, n);
  return h ? h : n;
}

static void trim(char *s)
{
  size_t n = strlen(s), i = 0;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
    s[--n] = '\0';
  while (s[i] == ' ' || s[i] == '\t')
    i++;
  memmove(s, s + i, n - i + 1);
}

/* The nth value of header NAME (or its compact form) in the header section,
 * unfolded (RFC 3261 7.3.1) and trimmed. Returns 1 if found. */
static int header(const char *m, size_t hlen, const char *name, const char *compact, int nth,
                  char *out, size_t outsz)
{
  const char *end = m + hlen, *p = memchr(m, '\n', hlen);
  for (p = p ? p + 1 : end; p < end;) {
    const char *e = memchr(p, '\n', (size_t)(end - p)), *colon;
    size_t nl;
    if (!e)
      e = end;
    if (e == p || (e == p + 1 && *p == '\r'))
      break;
    colon = memchr(p, ':', (size_t)(e - p));
    if (*p != ' ' && *p != '\t' && colon) {
      nl = (size_t)(colon - p);
      while (nl && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
        nl--;
      if (((nl == strlen(name) && !strncasecmp(p, name, nl)) ||
           (compact && nl == strlen(compact) && !strncasecmp(p, compact, nl))) && nth-- == 0) {
        size_t o = 0;
        const char *v = colon + 1;
        for (int lines = 0; lines < 100; lines++) {
          for (; v < e && o + 1 < outsz; v++)
            if (*v != '\r')
              out[o++] = *v;
          if (e + 1 >= end || (e[1] != ' ' && e[1] != '\t'))
            break;
          v = e + 1;   /* a continuation line: its LWS stands for the fold */
          e = memchr(v, '\n', (size_t)(end - v));
          if (!e)
            e = end;
        }
        out[o] = '\0';
        trim(out);
        return 1;
      }
    }
    p = e + 1;
  }
  return 0;
}

/* The status code of a response, 0 for a request or anything else. */
static int status_of(const char *m, size_t n)
{
  if (n < 12 || memcmp(m, "SIP/2.0 ", 8) != 0)
    return 0;
  for (int i = 8; i < 11; i++)
    if (m[i] < '0' || m[i] > '9')
      return 0;
  return (m[8] - '0') * 100 + (m[9] - '0') * 10 + (m[10] - '0');
}

/* The branch of the top Via, "" without one. */
static void top_branch(const char *m, size_t hlen, char *out, size_t outsz)
{
  char v[2048], *q, *b;
  out[0] = '\0';
  if (!header(m, hlen, "via", "v", 0, v, sizeof v))
    return;
  if ((q = strchr(v, ',')))
    *q = '\0';          /* the first via-parm */
  for (q = strchr(v, ';'); q; q = strchr(q + 1, ';')) {
    char *n = q + 1;
    while (*n == ' ' || *n == '\t')
      n++;
    if (!strncasecmp(n, "branch", 6) && (b = strchr(n, '=')) && b - n < 12) {
      for (b++; *b == ' ' || *b == '\t'; b++)
        ;
      snprintf(out, outsz, "%.*s", (int)strcspn(b, "; \t"), b);
      return;
    }
  }
}

/* The top Via: where a UDP response to it goes (RFC 3261 18.2.2), and the
 * key of the server transaction a request makes: method, sent-by and branch
 * (RFC 3261 17.2.3; a conservative stand-in for RFC 2543 matching too). */
static void parse_via(request *r)
{
  char v[2048], *p, *q, sentby[256] = "";
  size_t hlen = whole_head_len(r->bytes, r->len), m = strcspn(r->bytes, " \r\n");
  r->via_port = 5060;
  r->via_reliable = 0;
  r->key[0] = '\0';
  top_branch(r->bytes, hlen, r->branch, sizeof r->branch);
  if (!header(r->bytes, hlen, "via", "v", 0, v, sizeof v))
    return;
  if ((p = strchr(v, ',')))
    *p = '\0';          /* the first via-parm */
  p = strchr(v, '/');
  p = p ? strchr(p + 1, '/') : NULL;
  if (!p)
    return;
  for (p++; *p == ' ' || *p == '\t'; p++)
    ;
  r->via_reliable = !strncasecmp(p, "TCP", 3) || !strncasecmp(p, "TLS", 3) || !strncasecmp(p, "SCTP", 4);
  while (*p && *p != ' ' && *p != '\t')
    p++;
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p == '[')
    p = strchr(p, ']') ? strchr(p, ']') + 1 : p;
  q = p + strcspn(p, ":; \t");
  snprintf(sentby, sizeof sentby, "%.*s", (int)(q - p), p);
  while (*q == ' ' || *q == '\t')
    q++;
  if (*q == ':') {
    unsigned port = (unsigned)strtoul(q + 1, NULL, 10);
    if (port > 0 && port < 65536)
      r->via_port = port;
    snprintf(sentby + strlen(sentby), sizeof sentby - strlen(sentby), ":%u", port);
  }
  for (q = strchr(q, ';'); q; q = strchr(q + 1, ';')) {
    char *n = q + 1;
    while (*n == ' ' || *n == '\t')
      n++;
    if (!strncasecmp(n, "rport", 5) && strchr("= \t;", n[5]))
      r->via_port = 0;
  }
  if (strncmp(r->bytes, "SIP/", 4) != 0 && m < 100)   /* a response makes none */
    snprintf(r->key, sizeof r->key, "%.*s %s %s", (int)m, r->bytes, sentby, r->branch);
}

static void parse_request(request *r)
{
  char cseq[128];
  size_t hlen = whole_head_len(r->bytes, r->len);
  r->ncallid = 0;
  while (r->ncallid < MAX_CALLID &&
         header(r->bytes, hlen, "call-id", "i", r->ncallid, r->callid[r->ncallid],
                sizeof r->callid[0]))
    r->ncallid++;
  r->cseq = header(r->bytes, hlen, "cseq", NULL, 0, cseq, sizeof cseq) ? strtoul(cseq, NULL, 10) : 0;
  parse_via(r);
}

/* Whether a response answers the request: by Call-ID, or where either has
 * none (insuf; a 400 that could not copy a bad one), by the branch of the
 * top Via and the CSeq number. The rest are retransmitted answers to
 * earlier messages (no ACK is sent). */
static int answers(const request *rq, const char *m, size_t hlen)
{
  char id[512], br[256], cseq[128];
  if (rq->ncallid && header(m, hlen, "call-id", "i", 0, id, sizeof id)) {
    for (int i = 0; i < rq->ncallid; i++)
      if (!strcmp(id, rq->callid[i]))
        return 1;
    return 0;
  }
  top_branch(m, hlen, br, sizeof br);
  if (!header(m, hlen, "cseq", NULL, 0, cseq, sizeof cseq))
    cseq[0] = '\0';
  return !strcmp(br, rq->branch) && strtoul(cseq, NULL, 10) == rq->cseq;
}

static void note_msg(const request *rq, int c, const char *m, size_t n, result *r)
{
  int code = status_of(m, n);
  if (getenv("TORTURE_DEBUG"))   /* every message that comes back, on stderr */
    fprintf(stderr, "%s: from %s:\n%.*s\n", rq->name, chans[c].what, (int)(n > 2000 ? 2000 : n), m);
  if (!code) {
    r->garbage++;
    return;
  }
  if (!answers(rq, m, whole_head_len(m, n))) {
    r->stray++;
    return;
  }
  if (!chans[c].expected) {
    if (!r->wrong) {
      r->wrong = code;
      snprintf(r->wrong_what, sizeof r->wrong_what, "%s", chans[c].what);
    }
  } else if (code < 200) {
    r->prov = code;
  } else if (!r->final) {
    r->final = code;
  } else if (code != r->final && !r->final2) {
    r->final2 = code;
  }
}

/* Whole messages out of a stream buffer (Content-Length framing). */
static void drain_stream(const request *rq, int c, result *r)
{
  chan *ch = &chans[c];
  for (int guard = 0; guard < 1000 && ch->len; guard++) {
    char cl[32];
    size_t hlen, blen = 0, skip = 0;
    while (skip < ch->len && (ch->buf[skip] == '\r' || ch->buf[skip] == '\n'))
      skip++;    /* keep-alive CRLFs (RFC 5626 3.5.1) */
    memmove(ch->buf, ch->buf + skip, ch->len - skip);
    ch->len -= skip;
    if (!(hlen = head_len(ch->buf, ch->len)))
      break;
    if (header(ch->buf, hlen, "content-length", "l", 0, cl, sizeof cl))
      blen = (size_t)strtoul(cl, NULL, 10);
    if (blen > MSG_MAX || hlen + blen > ch->len)
      break;
    note_msg(rq, c, ch->buf, hlen + blen, r);
    memmove(ch->buf, ch->buf + hlen + blen, ch->len - hlen - blen);
    ch->len -= hlen + blen;
  }
  if (ch->len == sizeof ch->buf) {   /* no message fits: garbage */
    r->garbage++;
    ch->len = 0;
  }
}

static int add_chan(int fd, int stream, int listening, int expected, const char *what)
{
  for (int i = 0; i < MAX_CHAN; i++)
    if (chans[i].fd < 0) {
      chans[i].fd = fd;
      chans[i].stream = stream;
      chans[i].listening = listening;
      chans[i].expected = expected;
      chans[i].closed = 0;
      chans[i].len = 0;
      snprintf(chans[i].what, sizeof chans[i].what, "%s", what);
      return i;
    }
  close(fd);
  return -1;
}

static void close_chans(void)
{
  for (int i = 0; i < MAX_CHAN; i++) {
    if (chans[i].fd >= 0)
      close(chans[i].fd);
    chans[i].fd = -1;
  }
}

/* Reads every channel until a final response plus AFTER_FINAL_MS, or
 * WAIT_MS, or the expected stream closes. */
static void collect(const request *rq, result *r)
{
  long long deadline = now_ms() + WAIT_MS;
  int final_seen = 0;
  for (int rounds = 0; rounds < 10000; rounds++) {
    struct pollfd pfd[MAX_CHAN];
    int idx[MAX_CHAN], n = 0, ready;
    long long t = now_ms();
    if (r->final && !final_seen) {
      final_seen = 1;
      if (t + AFTER_FINAL_MS < deadline)
        deadline = t + AFTER_FINAL_MS;
    }
    if (t >= deadline || r->closed)
      break;
    for (int i = 0; i < MAX_CHAN; i++)
      if (chans[i].fd >= 0 && !chans[i].closed) {
        pfd[n].fd = chans[i].fd;
        pfd[n].events = POLLIN;
        idx[n++] = i;
      }
    if (!n)
      break;
    ready = poll(pfd, (nfds_t)n, (int)(deadline - t));
    if (ready < 0 && errno != EINTR)
      break;
    for (int k = 0; ready > 0 && k < n; k++) {
      chan *ch = &chans[idx[k]];
      if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      if (ch->listening) {
        int fd = accept(ch->fd, NULL, NULL);
        char what[48];
        snprintf(what, sizeof what, "a new TCP connection to %s", ch->what + 4);
        if (fd >= 0)
          add_chan(fd, 1, 0, 0, what);
      } else if (ch->stream) {
        ssize_t got = recv(ch->fd, ch->buf + ch->len, sizeof ch->buf - ch->len, 0);
        if (got <= 0) {
          ch->closed = 1;
          if (ch->expected)
            r->closed = 1;
        } else {
          ch->len += (size_t)got;
          drain_stream(rq, idx[k], r);
        }
      } else {
        ssize_t got = recv(ch->fd, ch->buf, sizeof ch->buf, 0);
        if (got > 0)
          note_msg(rq, idx[k], ch->buf, (size_t)got, r);
        else if (got < 0 && errno != EAGAIN && errno != EINTR)
          ch->closed = 1;   /* ICMP errors on a connected socket; ours are not */
      }
    }
  }
  /* A stream that closed right after the final response. */
  for (int i = 0; i < MAX_CHAN; i++)
    if (chans[i].fd >= 0 && chans[i].expected && chans[i].closed)
      r->closed = 1;
}

static int udp_socket(unsigned port, char *err, size_t errsz)
{
  struct sockaddr_in a;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    snprintf(err, errsz, "cannot bind UDP 127.0.0.1:%u: %s", port, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

static int tcp_listener(unsigned port)
{
  struct sockaddr_in a;
  int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0)
    return -1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static struct sockaddr_in server_addr(unsigned port)
{
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/* Sends one message over UDP or TCP and collects the answer. Returns 0, or
 * -1 with ERR set when it could not be sent at all. */
static int exchange(request *rq, int tcp, unsigned server_port, result *r, char *err, size_t errsz)
{
  struct sockaddr_in to = server_addr(server_port);
  char what[48];
  memset(r, 0, sizeof *r);
  parse_request(rq);
  if (!tcp) {
    int fd = udp_socket(rq->via_port, err, errsz), c;
    if (fd < 0)
      return -1;
    snprintf(what, sizeof what, "UDP 127.0.0.1:%u", rq->via_port);
    c = add_chan(fd, 0, 0, 1, what);
    /* A server that takes the Via's TCP literally would connect back. */
    if (rq->via_reliable && rq->via_port && (fd = tcp_listener(rq->via_port)) >= 0) {
      snprintf(what, sizeof what, "TCP 127.0.0.1:%u", rq->via_port);
      add_chan(fd, 0, 1, 0, what);
    }
    if (sendto(chans[c].fd, rq->bytes, rq->len, 0, (struct sockaddr *)&to, sizeof to) !=
        (ssize_t)rq->len) {
      snprintf(err, errsz, "sendto: %s", strerror(errno));
      close_chans();
      return -1;
    }
  } else {
    int fd = socket(AF_INET, SOCK_STREAM, 0), c;
    size_t off = 0;
    if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) < 0) {
      snprintf(err, errsz, "cannot connect to TCP 127.0.0.1:%u: %s", server_port, strerror(errno));
      if (fd >= 0)
        close(fd);
      return -1;
    }
    c = add_chan(fd, 1, 0, 1, "the connection");
    /* A server that takes the Via's UDP literally would answer there. */
    if (rq->via_port) {
      char ignored[128];
      snprintf(what, sizeof what, "UDP 127.0.0.1:%u", rq->via_port);
      if ((fd = udp_socket(rq->via_port, ignored, sizeof ignored)) >= 0)
        add_chan(fd, 0, 0, 0, what);
    }
    for (int tries = 0; off < rq->len && tries < 100; tries++) {
      ssize_t n = send(chans[c].fd, rq->bytes + off, rq->len - off, MSG_NOSIGNAL);
      if (n < 0 && errno != EINTR)
        break;   /* the server may close early (ncl); what it said is collected */
      if (n > 0)
        off += (size_t)n;
    }
  }
  collect(rq, r);
  close_chans();
  return 0;
}

static void want_text(const int *w, char *out, size_t outsz)
{
  size_t o = 0;
  out[0] = '\0';
  for (int i = 0; i < 4 && w[i] && o < outsz; i++) {
    if (w[i] == NONE)
      o += (size_t)snprintf(out + o, outsz - o, "%sno response", i ? " or " : "");
    else if (w[i] == CLOSED)
      o += (size_t)snprintf(out + o, outsz - o, "%sconnection closed", i ? " or " : "");
    else
      o += (size_t)snprintf(out + o, outsz - o, "%s%d", i ? " or " : "", w[i]);
  }
}

/* Compares a result with the wanted outcomes and prints the check. Returns
 * the final status (0 if none). */
static int judge(const char *name, const char *tr, const int *want, const result *r,
                 const char *err)
{
  char got[160], wt[96], extra[160] = "";
  int outcome, ok = 0;
  want_text(want, wt, sizeof wt);
  if (err) {
    printf("FAIL: %s %s: %s, want %s\n", name, tr, err, wt);
    failed++;
    return 0;
  }
  outcome = r->final ? r->final : r->wrong ? -1 : r->closed ? CLOSED : r->prov ? -1 : NONE;
  for (int i = 0; i < 4 && want[i]; i++)
    if (want[i] == outcome)
      ok = 1;
  if (r->final2)
    ok = 0;
  if (r->final)
    snprintf(got, sizeof got, "%d%s", r->final, r->closed ? ", connection closed" : "");
  else if (r->wrong)
    snprintf(got, sizeof got, "%d over %s", r->wrong, r->wrong_what);
  else if (r->closed)
    snprintf(got, sizeof got, "connection closed, no response");
  else if (r->prov)
    snprintf(got, sizeof got, "%d and no final response", r->prov);
  else
    snprintf(got, sizeof got, "no response");
  if (r->final2)
    snprintf(extra, sizeof extra, " (then %d)", r->final2);
  if (r->garbage)
    snprintf(extra + strlen(extra), sizeof extra - strlen(extra), " (%d non-SIP replies)",
             r->garbage);
  if (ok) {
    printf("ok: %s %s: %s%s\n", name, tr, got, extra);
    passed++;
  } else {
    printf("FAIL: %s %s: got %s%s, want %s\n", name, tr, got, extra, wt);
    failed++;
  }
  return r->final;
}

/* Undoes what an accepted REGISTER bound: Contact: * with Expires: 0 for its
 * To (RFC 3261 10.2.2), so that a later INVITE finds no binding. */
static void unregister(const request *reg, int tcp, unsigned port, int seq)
{
  static const int want200[4] = { 200 };
  char to[1024], msg[4096], err[160], label[96];
  size_t hlen = whole_head_len(reg->bytes, reg->len);
  request rq = { 0 };
  result r;
  int n;
  if (!header(reg->bytes, hlen, "to", "t", 0, to, sizeof to))
    return;
  n = snprintf(msg, sizeof msg,
               "REGISTER sip:example.com SIP/2.0\r\n"
               "Via: SIP/2.0/%s 127.0.0.1;branch=z9hG4bK-torture-unreg-%d;rport\r\n"
               "Max-Forwards: 70\r\n"
               "To: %s\r\n"
               "From: %s;tag=torture%d\r\n"
               "Call-ID: torture-unreg-%d-%s\r\n"
               "CSeq: 1 REGISTER\r\n"
               "Contact: *\r\n"
               "Expires: 0\r\n"
               "Content-Length: 0\r\n\r\n",
               tcp ? "TCP" : "UDP", seq, to, to, seq, seq, tcp ? "tcp" : "udp");
  if (n < 0 || (size_t)n >= sizeof msg)
    return;
  rq.name = reg->name;
  rq.bytes = msg;
  rq.len = (size_t)n;
  snprintf(label, sizeof label, "%s (its bindings removed with Contact: *)", reg->name);
  if (exchange(&rq, tcp, port, &r, err, sizeof err) < 0)
    judge(label, tcp ? "tcp" : "udp", want200, &r, err);
  else
    judge(label, tcp ? "tcp" : "udp", want200, &r, NULL);
}

static char *read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  char *b;
  if (!f)
    return NULL;
  b = malloc(MSG_MAX);
  *len = b ? fread(b, 1, MSG_MAX, f) : 0;
  if (b && (ferror(f) || *len == MSG_MAX)) {
    free(b);
    b = NULL;
  }
  fclose(f);
  return b;
}

static const expect *lookup(const char *name)
{
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (!strcmp(table[i].name, name))
      return &table[i];
  return NULL;
}

/* Reads INDEX.tsv and every message it lists. Returns the count. */
static int load(const char *dir, item *items, int max)
{
  char path[4096], line[4096];
  int n = 0;
  FILE *idx;
  snprintf(path, sizeof path, "%s/rfc4475/INDEX.tsv", dir);
  if (!(idx = fopen(path, "r"))) {
    printf("FAIL: cannot read %s: %s\n", path, strerror(errno));
    failed++;
    return 0;
  }
  for (int lineno = 0; lineno < 1000 && n < max && fgets(line, sizeof line, idx); lineno++) {
    request rq = { 0 };
    char name[64], *tab = strchr(line, '\t');
    if (lineno == 0 || !tab || tab - line >= (ptrdiff_t)sizeof name)
      continue;   /* the column names */
    memcpy(name, line, (size_t)(tab - line));
    name[tab - line] = '\0';
    if (!(items[n].e = lookup(name))) {
      printf("FAIL: %s: no expectation in torture.c for this message\n", name);
      failed++;
      continue;
    }
    snprintf(path, sizeof path, "%s/rfc4475/%s.dat", dir, name);
    if (!(items[n].bytes = read_file(path, &items[n].len))) {
      printf("FAIL: %s: cannot read %s\n", name, path);
      failed++;
      continue;
    }
    rq.bytes = items[n].bytes;
    rq.len = items[n].len;
    parse_via(&rq);
    memcpy(items[n].key, rq.key, sizeof rq.key);
    items[n].done[0] = items[n].done[1] = 0;
    n++;
  }
  fclose(idx);
  return n;
}

/* Sends one message over one transport and checks the answer; an accepted
 * REGISTER is undone. */
static void run_item(item *it, int tcp, unsigned port, int *seq)
{
  const char *tr = tcp ? "tcp" : "udp";
  const int *want = tcp ? it->e->tcp : it->e->udp;
  request rq = { 0 };
  result r;
  char err[160];
  rq.name = it->e->name;
  rq.bytes = it->bytes;
  rq.len = it->len;
  if (exchange(&rq, tcp, port, &r, err, sizeof err) < 0)
    judge(it->e->name, tr, want, &r, err);
  else if (judge(it->e->name, tr, want, &r, NULL) / 100 == 2 && !strncmp(it->bytes, "REGISTER ", 9))
    unregister(&rq, tcp, port, ++*seq);
  strays += r.stray;
}

/* Every message over UDP, then every one over TCP, in INDEX.tsv order but
 * for one rule: a server transaction lives up to 64*T1 = 32 s after its
 * final response (Timer H, Timer J, RFC 3261 17.2), and a request that
 * matches it (same method, top Via sent-by and branch, 17.2.3) is taken as
 * a retransmission of the earlier one. Several messages of the corpus share
 * these (escnull and regescrt, cparam01 and cparam02, unkscm and novelsc,
 * and each message with itself over the other transport), so a message
 * waits until QUIET_MS after the last use of its key; the ones that are
 * ready go first meanwhile. */
#define QUIET_MS 34000
static void run_all(item *items, int n, unsigned udp, unsigned tcp, int *seq)
{
  long long last[MAX_ITEMS];        /* when items[k] was last sent */
  const char *held_by[2 * MAX_ITEMS] = { 0 };
  int left = 2 * n;
  for (int k = 0; k < n; k++)
    last[k] = -QUIET_MS;
  for (int rounds = 0; left > 0 && rounds < 8 * n; rounds++) {
    int pick = -1;
    long long t = now_ms(), soonest = 0;
    /* The first pending message whose key is quiet; else wait for the soonest. */
    for (int q = 0; q < 2 * n && pick < 0; q++) {
      item *it = &items[q % n];
      long long ready = t;
      if (it->done[q / n])
        continue;
      for (int k = 0; k < n; k++)
        if (it->key[0] && !strcmp(items[k].key, it->key) && last[k] + QUIET_MS > ready) {
          ready = last[k] + QUIET_MS;
          held_by[q] = items[k].e->name;
        }
      if (ready <= t)
        pick = q;
      else if (!soonest || ready < soonest)
        soonest = ready;
    }
    if (pick < 0) {
      long long ms = soonest - t;
      struct timespec ts;
      ts.tv_sec = (time_t)(ms / 1000);
      ts.tv_nsec = (long)(ms % 1000) * 1000000L;
      nanosleep(&ts, NULL);
      continue;
    }
    if (held_by[pick])
      printf("note: %s %s: sent late, once the server transaction of %s (same method, top Via "
             "sent-by and branch: RFC 3261 17.2.3) had ended\n",
             items[pick % n].e->name, pick / n ? "tcp" : "udp", held_by[pick]);
    run_item(&items[pick % n], pick / n, pick / n ? tcp : udp, seq);
    items[pick % n].done[pick / n] = 1;
    last[pick % n] = now_ms();
    left--;
  }
}

/* The server still answers: OPTIONS for itself gets 200 (RFC 3261 11.2). */
static void options(int tcp, unsigned port)
{
  static const int want200[4] = { 200 };
  char msg[1024], err[160];
  request rq = { 0 };
  result r;
  int n = snprintf(msg, sizeof msg,
                   "OPTIONS sip:127.0.0.1:%u SIP/2.0\r\n"
                   "Via: SIP/2.0/%s 127.0.0.1;branch=z9hG4bK-torture-options-%s;rport\r\n"
                   "Max-Forwards: 70\r\n"
                   "To: <sip:127.0.0.1:%u>\r\n"
                   "From: <sip:torture@example.com>;tag=torture\r\n"
                   "Call-ID: torture-options-%s\r\n"
                   "CSeq: 1 OPTIONS\r\n"
                   "Accept: application/sdp\r\n"
                   "Content-Length: 0\r\n\r\n",
                   port, tcp ? "TCP" : "UDP", tcp ? "tcp" : "udp", port, tcp ? "tcp" : "udp");
  rq.name = "OPTIONS";
  rq.bytes = msg;
  rq.len = (size_t)n;
  if (exchange(&rq, tcp, port, &r, err, sizeof err) < 0)
    judge("OPTIONS after the torture", tcp ? "tcp" : "udp", want200, &r, err);
  else
    judge("OPTIONS after the torture", tcp ? "tcp" : "udp", want200, &r, NULL);
}

int main(int argc, char **argv)
{
  static item items[MAX_ITEMS];
  unsigned udp, tcp;
  int seq = 0, n;
  if (argc != 4 || !(udp = (unsigned)atoi(argv[2])) || !(tcp = (unsigned)atoi(argv[3]))) {
    fprintf(stderr, "usage: torture CONFORMANCE-DIR SERVER-UDP-PORT SERVER-TCP-PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  for (int i = 0; i < MAX_CHAN; i++)
    chans[i].fd = -1;
  setvbuf(stdout, NULL, _IOLBF, 0);
  n = load(argv[1], items, MAX_ITEMS);
  run_all(items, n, udp, tcp, &seq);
  options(0, udp);
  options(1, tcp);
  if (strays)
    printf("note: %d retransmitted response(s) to earlier messages ignored (no ACK is sent)\n",
           strays);
  printf("torture: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
