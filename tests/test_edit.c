/* Editing, serializing and replying: lib/msg/edit.c and lib/msg/reply.c.
 *
 * Every edit test follows one method: parse a request (verdict ACCEPT), edit
 * it, serialize it, parse the serialized bytes again and assert on what the
 * second parse sees (and, where it matters, on the exact bytes). An edit that
 * shows in memory while the old bytes go on the wire (SOFIA-NOTES:
 * msg_fragment_clear) fails here. */
#include <check.h>
#include <sipsrv/sipsrv.h>

#include "harness.h"
#include "msg/msg_int.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- messages ------------------------------------------------------------ */

#define RQ_LINE "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
#define VIA_ONE "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
/* Three Via values: the first header line holds two of them. */
#define VIA_A "SIP/2.0/UDP a.example.com;branch=z9hG4bKa"
#define VIA_B "SIP/2.0/TCP b.example.com:5070;branch=z9hG4bKb"
#define VIA_C_LINE "Via: SIP/2.0/UDP c.example.com;branch=z9hG4bKc;rport\r\n"
#define VIA_THREE "Via: " VIA_A ", " VIA_B "\r\n" VIA_C_LINE
#define MF70 "Max-Forwards: 70\r\n"
#define TO_NOTAG "To: Bob <sip:bob@biloxi.example.com>\r\n"
#define TO_TAG "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
#define FROM "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
#define CALLID "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
#define CSEQ "CSeq: 314159 INVITE\r\n"
#define CONTACT "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
#define CL0 "Content-Length: 0\r\n"
#define END "\r\n"
#define DIALOG TO_NOTAG FROM CALLID CSEQ CONTACT

/* The plain INVITE of RFC 3665 2.1 (shortened). */
static const char INVITE1[] = RQ_LINE VIA_ONE MF70 DIALOG CL0 END;
/* The same with three Via values over two lines. */
static const char INVITE3[] = RQ_LINE VIA_THREE MF70 DIALOG CL0 END;

static const char RESPONSE[] =
    "SIP/2.0 180 Ringing\r\n" VIA_ONE TO_TAG FROM CALLID CSEQ CL0 END;

/* ---- helpers ------------------------------------------------------------- */

/* Parse bytes that must be accepted. */
static sipsrv_msg *parse_ok_len(const char *data, size_t len, unsigned flags)
{
  sipsrv_msg *m = NULL;
  sipsrv_verdict v;
  int rc = sipsrv_msg_parse(&m, data, len, flags, &v);

  ck_assert_msg(rc == 0, "parse returned %d", rc);
  ck_assert_ptr_nonnull(m);
  ck_assert_msg(v.action == SIPSRV_ACCEPT, "verdict %d %d %s on:\n%.*s", (int)v.action, v.status,
                v.phrase ? v.phrase : "", (int)len, data);
  return m;
}

static sipsrv_msg *parse_ok(const char *text)
{
  return parse_ok_len(text, strlen(text), 0);
}

/* Serialize into a malloc'ed, NUL-terminated buffer. */
static char *wire(sipsrv_msg *m, size_t *len)
{
  long n = sipsrv_msg_serialize(m, NULL, 0);
  char *buf;
  long n2;

  ck_assert_msg(n > 0, "serialize returned %ld", n);
  buf = malloc((size_t)n + 1);
  ck_assert_ptr_nonnull(buf);
  n2 = sipsrv_msg_serialize(m, buf, (size_t)n);
  ck_assert_int_eq(n2, n);
  buf[n] = '\0';
  if (len)
    *len = (size_t)n;
  return buf;
}

/* Serialize m and parse the bytes again, as a stream message (so Content-Length
 * must be present and right). The bytes go to *bytes (free them) or are freed. */
static sipsrv_msg *reparse(sipsrv_msg *m, char **bytes)
{
  size_t len;
  char *buf = wire(m, &len);
  sipsrv_msg *r;
  r = parse_ok_len(buf, len, SIPSRV_PARSE_STREAM);

  if (bytes)
    *bytes = buf;
  else
    free(buf);
  return r;
}

/* The number of non-overlapping occurrences of needle in hay. */
static int count_of(const char *hay, const char *needle)
{
  int n = 0;
  size_t l = strlen(needle);
  for (const char *p = strstr(hay, needle); p; p = strstr(p + l, needle))
    n++;
  return n;
}

/* True when both occur in hay and a's first occurrence precedes b's. */
static bool comes_before(const char *hay, const char *a, const char *b)
{
  const char *pa = strstr(hay, a), *pb = strstr(hay, b);
  return pa && pb && pa < pb;
}

/* Assert that m has exactly the Via values whose hosts are listed. */
static void assert_via_hosts(const sipsrv_msg *m, const char *const *hosts, int n)
{
  sipsrv_via v;

  ck_assert_int_eq(sipsrv_msg_via_count(m), n);
  for (int i = 0; i < n; i++) {
    ck_assert_int_eq(sipsrv_msg_via(m, i, &v), 0);
    ck_assert_pstr_eq(v.host, hosts[i]);
  }
  ck_assert_int_eq(sipsrv_msg_via(m, n, &v), SIPSRV_E_NOTFOUND);
}

/* Assert the hosts of an address list (Route, Record-Route...). */
static void assert_addr_hosts(const sipsrv_msg *m, sipsrv_addr_hdr hdr, const char *const *hosts,
                              int n)
{
  sipsrv_addr a;

  for (int i = 0; i < n; i++) {
    ck_assert_int_eq(sipsrv_msg_addr(m, hdr, i, &a), 0);
    ck_assert_pstr_eq(a.uri.host, hosts[i]);
  }
  ck_assert_int_eq(sipsrv_msg_addr(m, hdr, n, &a), SIPSRV_E_NOTFOUND);
}

/* Read a file of the RFC 4475 torture tests. */
static char *rfc4475(const char *name, size_t *len)
{
  char path[1024];
  char *data;

  snprintf(path, sizeof path, "%s/rfc4475/%s", conformance_dir(), name);
  data = read_file(path, len);
  ck_assert_msg(data != NULL, "cannot read %s", path);
  return data;
}

/* The value of header name (idx 0) in m, in a static buffer; NULL if absent. */
static const char *hdr(const sipsrv_msg *m, const char *name)
{
  static char buf[512];
  int n = sipsrv_msg_header(m, name, 0, buf, sizeof buf);
  if (n == SIPSRV_E_NOTFOUND)
    return NULL;
  ck_assert_msg(n >= 0 && (size_t)n < sizeof buf, "header %s: %d", name, n);
  return buf;
}

/* ---- zero-copy serialization ------------------------------------------- */

/* RFC 3261 7.3.1 allows any header formatting; a proxy that edits nothing
 * forwards exactly what it got (the zero-copy promise of msg.h). */
START_TEST(edit_zerocopy_plain)
{
  sipsrv_msg *m = parse_ok(INVITE1);
  size_t len;
  char *out = wire(m, &len);

  ck_assert_uint_eq(len, strlen(INVITE1));
  ck_assert_int_eq(memcmp(out, INVITE1, len), 0);
  free(out);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 4475 3.1.1.1 (wsinv): odd but legal whitespace, line folding, compact
 * forms, a body. Unedited, every byte goes out as received. */
START_TEST(edit_zerocopy_wsinv)
{
  size_t len, olen;
  char *in = rfc4475("wsinv.dat", &len);
  sipsrv_msg *m = parse_ok_len(in, len, 0);
  char *out = wire(m, &olen);

  ck_assert_uint_eq(olen, len);
  ck_assert_int_eq(memcmp(out, in, len), 0);
  /* Twice: serializing does not change the message. */
  free(out);
  out = wire(m, &olen);
  ck_assert_uint_eq(olen, len);
  ck_assert_int_eq(memcmp(out, in, len), 0);
  free(out);
  free(in);
  sipsrv_msg_free(m);
}
END_TEST

/* An edit re-encodes only what it touched: the rest of wsinv keeps its bytes
 * (RFC 3261 16.6: a proxy changes only what the steps call for). */
START_TEST(edit_zerocopy_wsinv_after_edit)
{
  size_t len;
  char *in = rfc4475("wsinv.dat", &len);
  sipsrv_msg *m = parse_ok_len(in, len, 0);
  char *out;
  sipsrv_msg *r;

  ck_assert_int_eq(sipsrv_msg_max_forwards_dec(m), 67);
  r = reparse(m, &out);
  ck_assert_int_eq(sipsrv_msg_max_forwards(r), 67);
  ck_assert_ptr_nonnull(strstr(out, "NewFangledHeader:   newfangled value\r\n continued newfangled value\r\n"));
  ck_assert_ptr_nonnull(strstr(out, "TO :\r\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"));
  ck_assert_ptr_nonnull(strstr(out, "UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n"));
  ck_assert_ptr_null(strstr(out, "0068"));
  /* The body is untouched. */
  ck_assert_ptr_nonnull(strstr(out, "\r\n\r\nv=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.3\r\n"));
  free(out);
  free(in);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* sipsrv_msg_serialize: a small buffer gets nothing but the length; bad args. */
START_TEST(edit_serialize_inval)
{
  sipsrv_msg *m = parse_ok(INVITE1);
  char small[16];

  memset(small, 'Z', sizeof small);
  ck_assert_int_eq(sipsrv_msg_serialize(m, small, sizeof small), (long)strlen(INVITE1));
  for (size_t i = 0; i < sizeof small; i++)
    ck_assert_int_eq(small[i], 'Z');
  ck_assert_int_eq(sipsrv_msg_serialize(NULL, small, sizeof small), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_serialize(m, NULL, 10), SIPSRV_E_INVAL);
  sipsrv_msg_free(m);
}
END_TEST

/* ---- Via push ------------------------------------------------------------ */

/* RFC 3261 16.6 step 8: the proxy's Via goes on top, the others follow in order. */
START_TEST(edit_via_push_order)
{
  static const char *const hosts[] = { "proxy.example.com", "a.example.com", "b.example.com",
                                       "c.example.com" };
  sipsrv_msg *m = parse_ok(INVITE3), *r;
  sipsrv_via v;
  char *out, *first_via;

  ck_assert_int_eq(sipsrv_msg_via_push(m, "UDP", "proxy.example.com", 5060, "z9hG4bKnew", 0), 0);
  r = reparse(m, &out);
  assert_via_hosts(r, hosts, 4);
  ck_assert_int_eq(sipsrv_msg_via(r, 0, &v), 0);
  ck_assert_str_eq(v.protocol, "SIP/2.0/UDP");
  ck_assert_str_eq(v.transport, "UDP");
  ck_assert_pstr_eq(v.port, "5060");
  ck_assert_pstr_eq(v.branch, "z9hG4bKnew");
  ck_assert_ptr_null(v.rport);
  ck_assert_ptr_null(v.received);
  /* The others keep their parameters. */
  ck_assert_int_eq(sipsrv_msg_via(r, 2, &v), 0);
  ck_assert_str_eq(v.transport, "TCP");
  ck_assert_pstr_eq(v.port, "5070");
  ck_assert_pstr_eq(v.branch, "z9hG4bKb");
  ck_assert_int_eq(sipsrv_msg_via(r, 3, &v), 0);
  ck_assert_pstr_eq(v.rport, "");
  /* On the wire: the new Via is the first Via line and comes after the
   * request line; the old lines are unchanged. */
  first_via = strstr(out, "Via");
  ck_assert_ptr_nonnull(first_via);
  ck_assert_int_eq(strncmp(first_via, "Via: SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bKnew\r\n",
                           strlen("Via: SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bKnew\r\n")),
                   0);
  ck_assert_int_eq(strncmp(out, RQ_LINE, strlen(RQ_LINE)), 0);
  ck_assert_ptr_nonnull(strstr(out, "Via: " VIA_A ", " VIA_B "\r\n" VIA_C_LINE));
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3581 3: rport asked for is an empty parameter; port 0 leaves the port out. */
START_TEST(edit_via_push_rport)
{
  sipsrv_msg *m = parse_ok(INVITE1), *r;
  sipsrv_via v;
  char *out;

  ck_assert_int_eq(sipsrv_msg_via_push(m, "TCP", "192.0.2.10", 0, "z9hG4bKr1", 1), 0);
  r = reparse(m, &out);
  ck_assert_int_eq(sipsrv_msg_via_count(r), 2);
  ck_assert_int_eq(sipsrv_msg_via(r, 0, &v), 0);
  ck_assert_str_eq(v.transport, "TCP");
  ck_assert_pstr_eq(v.host, "192.0.2.10");
  ck_assert_ptr_null(v.port);
  ck_assert_pstr_eq(v.branch, "z9hG4bKr1");
  ck_assert_pstr_eq(v.rport, "");
  ck_assert_ptr_nonnull(strstr(out, "Via: SIP/2.0/TCP 192.0.2.10;branch=z9hG4bKr1;rport\r\n"));
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 25.1 (sent-by uses IPv6reference), RFC 5118 4.5: IPv6 in brackets. */
START_TEST(edit_via_push_ipv6)
{
  sipsrv_msg *m = parse_ok(INVITE1), *r;
  sipsrv_via v;
  char *out;

  ck_assert_int_eq(sipsrv_msg_via_push(m, "UDP", "2001:db8::1", 5060, "z9hG4bK6a", 0), 0);
  ck_assert_int_eq(sipsrv_msg_via_push(m, "TLS", "[2001:db8::2]", 5061, "z9hG4bK6b", 0), 0);
  r = reparse(m, &out);
  ck_assert_int_eq(sipsrv_msg_via_count(r), 3);
  ck_assert_int_eq(sipsrv_msg_via(r, 0, &v), 0);
  ck_assert_pstr_eq(v.host, "[2001:db8::2]");
  ck_assert_pstr_eq(v.port, "5061");
  ck_assert_str_eq(v.transport, "TLS");
  ck_assert_int_eq(sipsrv_msg_via(r, 1, &v), 0);
  ck_assert_pstr_eq(v.host, "[2001:db8::1]");
  ck_assert_pstr_eq(v.port, "5060");
  ck_assert_ptr_nonnull(strstr(out, "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK6a\r\n"));
  ck_assert_ptr_nonnull(strstr(out, "SIP/2.0/TLS [2001:db8::2]:5061;branch=z9hG4bK6b\r\n"));
  ck_assert_ptr_null(strstr(out, "[["));
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* Bad arguments leave the message unchanged (RFC 3261 20.42 Via syntax). */
START_TEST(edit_via_push_inval)
{
  sipsrv_msg *m = parse_ok(INVITE1);
  size_t len;
  char *out;

  ck_assert_int_eq(sipsrv_msg_via_push(NULL, "UDP", "p.example.com", 5060, "z9hG4bK1", 0),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_via_push(m, NULL, "p.example.com", 5060, "z9hG4bK1", 0),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_via_push(m, "UDP", "p.example.com", 5060, NULL, 0), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_via_push(m, "UDP", "p.example.com", 5060, "z9hG4bK 1", 0),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_via_push(m, "UDP", "p.example.com", 70000, "z9hG4bK1", 0),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_via_push(m, "UDP", NULL, 5060, "z9hG4bK1", 0), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_via_push(m, "UDP", "", 5060, "z9hG4bK1", 0), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_via_push(m, "UDP", "bad host", 5060, "z9hG4bK1", 0),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_via_push(m, "U DP", "p.example.com", 5060, "z9hG4bK1", 0),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_via_push(m, "UDP", "p.example.com", 5060, "z9hG4bK1;x=y", 0),
                   SIPSRV_E_INVAL);
  out = wire(m, &len);
  ck_assert_uint_eq(len, strlen(INVITE1));
  ck_assert_int_eq(memcmp(out, INVITE1, len), 0);
  free(out);
  sipsrv_msg_free(m);
}
END_TEST

/* A host with a port glued on ("host:port") is not a host (RFC 3261 25.1
 * sent-by): it must not be bracketed into a bogus IPv6 reference that the
 * library's own parser then rejects as a Malformed Via. */
START_TEST(edit_via_push_host_with_port)
{
  sipsrv_msg *m = parse_ok(INVITE1);

  ck_assert_int_eq(sipsrv_msg_via_push(m, "UDP", "proxy.example.com:5060", 0, "z9hG4bK1", 0),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_via_push(m, "UDP", "not:an:address", 0, "z9hG4bK2", 0),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_via_count(m), 1);
  sipsrv_msg_free(m);
}
END_TEST

/* A branch is a token of any length (RFC 3261 20.42, 25.1): one of 1,000
 * characters goes in whole, on the next wire as given. */
START_TEST(edit_via_push_long_branch)
{
  sipsrv_msg *m = parse_ok(INVITE1), *r;
  char branch[1001], *out;
  sipsrv_via v;

  memcpy(branch, "z9hG4bK", 7);
  memset(branch + 7, 'b', sizeof branch - 8);
  branch[sizeof branch - 1] = '\0';
  ck_assert_int_eq(sipsrv_msg_via_push(m, "UDP", "p.example.com", 5060, branch, 1), 0);
  r = reparse(m, &out);
  ck_assert_int_eq(sipsrv_msg_via(r, 0, &v), 0);
  ck_assert_pstr_eq(v.branch, branch);
  ck_assert_pstr_eq(v.rport, "");
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* ---- Via pop ------------------------------------------------------------- */

/* RFC 3261 16.7 step 3: the proxy removes exactly its own (topmost) Via value,
 * also when it shares a header line with the next one. */
START_TEST(edit_via_pop_shared_line)
{
  static const char *const hosts_bc[] = { "b.example.com", "c.example.com" };
  static const char *const hosts_c[] = { "c.example.com" };
  sipsrv_msg *m = parse_ok(INVITE3), *r;
  sipsrv_via v;
  char *out;

  ck_assert_int_eq(sipsrv_msg_via_pop(m), 0);
  r = reparse(m, &out);
  assert_via_hosts(r, hosts_bc, 2);
  ck_assert_int_eq(sipsrv_msg_via(r, 0, &v), 0);
  ck_assert_pstr_eq(v.branch, "z9hG4bKb");
  ck_assert_pstr_eq(v.port, "5070");
  ck_assert_str_eq(v.transport, "TCP");
  ck_assert_ptr_null(strstr(out, "UDP a.example.com"));
  ck_assert_ptr_null(strstr(out, "z9hG4bKa"));
  ck_assert_int_eq(count_of(out, "b.example.com"), 1);
  ck_assert_ptr_nonnull(strstr(out, "\r\nVia: " VIA_B "\r\n" VIA_C_LINE));
  ck_assert_ptr_nonnull(strstr(out, VIA_C_LINE));
  free(out);
  sipsrv_msg_free(r);

  ck_assert_int_eq(sipsrv_msg_via_pop(m), 0);
  r = reparse(m, &out);
  assert_via_hosts(r, hosts_c, 1);
  ck_assert_ptr_null(strstr(out, "b.example.com"));
  ck_assert_ptr_nonnull(strstr(out, VIA_C_LINE));
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 16.7 step 3 on RFC 4475 3.1.1.1 (wsinv): Vias are 192.0.2.2 on the
 * "Via" line, then spindle.example.com and 192.168.255.111 on the folded "v:"
 * line. Pop each in turn. */
START_TEST(edit_via_pop_wsinv)
{
  static const char *const hosts2[] = { "spindle.example.com", "192.168.255.111" };
  static const char *const hosts1[] = { "192.168.255.111" };
  size_t len;
  char *in = rfc4475("wsinv.dat", &len);
  sipsrv_msg *m = parse_ok_len(in, len, 0), *r;
  sipsrv_via v;
  char *out;

  ck_assert_int_eq(sipsrv_msg_via_count(m), 3);
  ck_assert_int_eq(sipsrv_msg_via_pop(m), 0);
  r = reparse(m, &out);
  assert_via_hosts(r, hosts2, 2);
  ck_assert_int_eq(sipsrv_msg_via(r, 0, &v), 0);
  ck_assert_pstr_eq(v.branch, "z9hG4bK9ikj8");
  ck_assert_str_eq(v.transport, "TCP");
  ck_assert_ptr_null(strstr(out, "390skdjuw"));
  free(out);
  sipsrv_msg_free(r);

  /* The first value of the two-value line. */
  ck_assert_int_eq(sipsrv_msg_via_pop(m), 0);
  r = reparse(m, &out);
  assert_via_hosts(r, hosts1, 1);
  ck_assert_int_eq(sipsrv_msg_via(r, 0, &v), 0);
  ck_assert_pstr_eq(v.branch, "z9hG4bK30239");
  ck_assert_str_eq(v.transport, "UDP");
  ck_assert_ptr_null(strstr(out, "spindle"));
  ck_assert_ptr_null(strstr(out, "z9hG4bK9ikj8"));
  free(out);
  sipsrv_msg_free(r);
  free(in);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 16.7 step 3 / 8.1.1.7: with no Via left, pop finds nothing; the
 * bytes hold no Via at all and parse as a request lacking Via (400). */
START_TEST(edit_via_pop_empty)
{
  sipsrv_msg *m = parse_ok(INVITE3), *r = NULL;
  sipsrv_verdict vd;
  size_t len;
  char *out;

  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(sipsrv_msg_via_pop(m), 0);
  ck_assert_int_eq(sipsrv_msg_via_count(m), 0);
  ck_assert_int_eq(sipsrv_msg_via_pop(m), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_msg_via_set_received(m, "192.0.2.1", 0), SIPSRV_E_NOTFOUND);
  out = wire(m, &len);
  ck_assert_ptr_null(strstr(out, "Via"));
  ck_assert_ptr_null(strstr(out, "example.com;branch"));
  ck_assert_int_eq(sipsrv_msg_parse(&r, out, len, SIPSRV_PARSE_STREAM, &vd), 0);
  ck_assert_int_eq(vd.action, SIPSRV_REJECT);
  ck_assert_int_eq(vd.status, 400);
  ck_assert_int_eq(sipsrv_msg_via_pop(NULL), SIPSRV_E_INVAL);
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* ---- Via received / rport ---------------------------------------------- */

/* RFC 3261 18.2.1: received is added; RFC 3581 4: no rport parameter is added
 * to a Via that did not carry one. */
START_TEST(edit_via_received_no_rport)
{
  sipsrv_msg *m = parse_ok(INVITE1), *r;
  sipsrv_via v;
  char *out;

  ck_assert_int_eq(sipsrv_msg_via_set_received(m, "192.0.2.9", 5070), 0);
  r = reparse(m, &out);
  ck_assert_int_eq(sipsrv_msg_via(r, 0, &v), 0);
  ck_assert_pstr_eq(v.received, "192.0.2.9");
  ck_assert_ptr_null(v.rport);
  ck_assert_pstr_eq(v.branch, "z9hG4bK776asdhds");
  ck_assert_pstr_eq(v.host, "pc33.atlanta.example.com");
  ck_assert_ptr_null(strstr(out, "rport"));
  ck_assert_ptr_nonnull(strstr(out, ";received=192.0.2.9"));
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* Stamp received=192.0.2.9 and rport=port on req's top Via: the bytes
 * sent hold each once, with the value set, and the branch as it was. */
static void check_stamp(const char *req, unsigned port, const char *branch)
{
  sipsrv_msg *m = parse_ok(req), *r;
  sipsrv_via v;
  char *out, want[32];

  snprintf(want, sizeof want, "rport=%u", port);
  ck_assert_int_eq(sipsrv_msg_via_set_received(m, "192.0.2.9", port), 0);
  r = reparse(m, &out);
  ck_assert_int_eq(sipsrv_msg_via(r, 0, &v), 0);
  ck_assert_pstr_eq(v.received, "192.0.2.9");
  ck_assert_pstr_eq(v.rport, want + 6);
  ck_assert_pstr_eq(v.branch, branch);
  ck_assert_int_eq(count_of(out, "received="), 1);
  ck_assert_int_eq(count_of(out, "rport"), 1);
  ck_assert_ptr_nonnull(strstr(out, want));
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}

/* RFC 3581 4: a Via with an empty rport gets the source port in it. */
START_TEST(edit_via_received_rport)
{
  check_stamp(RQ_LINE VIA_C_LINE MF70 DIALOG CL0 END, 5070, "z9hG4bKc");
}
END_TEST

/* RFC 3581 4: rport 0 leaves the (empty) rport alone; received NULL leaves
 * received alone. */
START_TEST(edit_via_received_leave)
{
  static const char req[] = RQ_LINE VIA_C_LINE MF70 DIALOG CL0 END;
  sipsrv_msg *m = parse_ok(req), *r;
  sipsrv_via v;

  ck_assert_int_eq(sipsrv_msg_via_set_received(m, "192.0.2.9", 0), 0);
  r = reparse(m, NULL);
  ck_assert_int_eq(sipsrv_msg_via(r, 0, &v), 0);
  ck_assert_pstr_eq(v.received, "192.0.2.9");
  ck_assert_pstr_eq(v.rport, "");
  sipsrv_msg_free(r);

  ck_assert_int_eq(sipsrv_msg_via_set_received(m, NULL, 6000), 0);
  r = reparse(m, NULL);
  ck_assert_int_eq(sipsrv_msg_via(r, 0, &v), 0);
  ck_assert_pstr_eq(v.received, "192.0.2.9");
  ck_assert_pstr_eq(v.rport, "6000");
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 25.1 (received = IPv4address / IPv6address), RFC 5118 4.5: an IPv6
 * received is written without brackets. */
START_TEST(edit_via_received_ipv6)
{
  sipsrv_msg *m = parse_ok(INVITE1), *r;
  sipsrv_via v;
  char *out;

  ck_assert_int_eq(sipsrv_msg_via_set_received(m, "[2001:db8::9]", 0), 0);
  r = reparse(m, &out);
  ck_assert_int_eq(sipsrv_msg_via(r, 0, &v), 0);
  ck_assert_pstr_eq(v.received, "2001:db8::9");
  ck_assert_ptr_nonnull(strstr(out, ";received=2001:db8::9\r\n"));
  ck_assert_ptr_null(strstr(out, "received=["));
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 18.2.1 on a top Via sharing its line with another (wsinv after one
 * pop): only the top value gets received. */
START_TEST(edit_via_received_shared_line)
{
  size_t len;
  char *in = rfc4475("wsinv.dat", &len);
  sipsrv_msg *m = parse_ok_len(in, len, 0), *r;
  sipsrv_via v;

  ck_assert_int_eq(sipsrv_msg_via_pop(m), 0);
  ck_assert_int_eq(sipsrv_msg_via_set_received(m, "192.0.2.77", 0), 0);
  r = reparse(m, NULL);
  ck_assert_int_eq(sipsrv_msg_via_count(r), 2);
  ck_assert_int_eq(sipsrv_msg_via(r, 0, &v), 0);
  ck_assert_pstr_eq(v.host, "spindle.example.com");
  ck_assert_pstr_eq(v.received, "192.0.2.77");
  ck_assert_pstr_eq(v.branch, "z9hG4bK9ikj8");
  ck_assert_int_eq(sipsrv_msg_via(r, 1, &v), 0);
  ck_assert_pstr_eq(v.host, "192.168.255.111");
  ck_assert_ptr_null(v.received);
  ck_assert_pstr_eq(v.branch, "z9hG4bK30239");
  sipsrv_msg_free(r);
  free(in);
  sipsrv_msg_free(m);
}
END_TEST

START_TEST(edit_via_received_inval)
{
  sipsrv_msg *m = parse_ok(INVITE1);

  ck_assert_int_eq(sipsrv_msg_via_set_received(NULL, "192.0.2.9", 0), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_via_set_received(m, "192.0.2.9", 70000), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_via_set_received(m, "192.0.2.9\r\nX-Evil: 1", 0), SIPSRV_E_INVAL);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 18.2.1: received holds an address (IPv4address / IPv6address). A
 * value that is not one must not smuggle parameters or Via values in. */
START_TEST(edit_via_received_not_address)
{
  sipsrv_msg *m = parse_ok(INVITE1), *r;

  ck_assert_int_eq(sipsrv_msg_via_set_received(m, "192.0.2.9;maddr=evil.example.com", 0),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_via_set_received(m, "192.0.2.9, SIP/2.0/UDP evil.example.com", 0),
                   SIPSRV_E_INVAL);
  r = reparse(m, NULL);
  ck_assert_int_eq(sipsrv_msg_via_count(r), 1);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* ---- Max-Forwards ------------------------------------------------------- */

/* RFC 3261 16.6 step 3: decrement by one. */
START_TEST(edit_max_forwards_dec)
{
  sipsrv_msg *m = parse_ok(INVITE1), *r;
  char *out;

  ck_assert_int_eq(sipsrv_msg_max_forwards_dec(m), 69);
  ck_assert_int_eq(sipsrv_msg_max_forwards(m), 69);
  r = reparse(m, &out);
  ck_assert_int_eq(sipsrv_msg_max_forwards(r), 69);
  ck_assert_ptr_nonnull(strstr(out, "\r\nMax-Forwards: 69\r\n"));
  ck_assert_ptr_null(strstr(out, "Max-Forwards: 70"));
  ck_assert_int_eq(count_of(out, "Max-Forwards"), 1);
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 16.6 step 3: absent -> added with 70. */
START_TEST(edit_max_forwards_absent)
{
  static const char req[] = RQ_LINE VIA_ONE DIALOG CL0 END;
  sipsrv_msg *m = parse_ok(req), *r;
  char *out;

  ck_assert_int_eq(sipsrv_msg_max_forwards(m), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_msg_max_forwards_dec(m), 70);
  r = reparse(m, &out);
  ck_assert_int_eq(sipsrv_msg_max_forwards(r), 70);
  ck_assert_ptr_nonnull(strstr(out, "\r\nMax-Forwards: 70\r\n"));
  ck_assert_int_eq(count_of(out, "Max-Forwards"), 1);
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 16.3 step 3 / 16.6 step 3: at 0 the request must not be forwarded
 * (the caller answers 483); the header is left as it was. */
START_TEST(edit_max_forwards_zero)
{
  static const char req[] = RQ_LINE VIA_ONE "Max-Forwards: 0\r\n" DIALOG CL0 END;
  sipsrv_msg *m = parse_ok(req);
  size_t len;
  char *out;

  ck_assert_int_eq(sipsrv_msg_max_forwards_dec(m), SIPSRV_E_STATE);
  ck_assert_int_eq(sipsrv_msg_max_forwards(m), 0);
  out = wire(m, &len);
  ck_assert_uint_eq(len, strlen(req));
  ck_assert_int_eq(memcmp(out, req, len), 0);
  free(out);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 16.7: responses carry no Max-Forwards to decrement. */
START_TEST(edit_max_forwards_inval)
{
  sipsrv_msg *m = parse_ok(RESPONSE);

  ck_assert_int_eq(sipsrv_msg_max_forwards_dec(m), SIPSRV_E_NOTSUP);
  ck_assert_int_eq(sipsrv_msg_max_forwards_dec(NULL), SIPSRV_E_INVAL);
  sipsrv_msg_free(m);
}
END_TEST

/* ---- Request-URI --------------------------------------------------------- */

/* RFC 3261 16.6 step 2: the Request-URI is replaced; method and version stay. */
START_TEST(edit_request_uri_set)
{
  static const char line[] = "INVITE sip:bob@192.0.2.4:5060 SIP/2.0\r\n";
  sipsrv_msg *m = parse_ok(INVITE1), *r;
  sipsrv_uri u;
  char buf[128];
  char *out;

  ck_assert_int_eq(sipsrv_msg_set_request_uri(m, "sip:bob@192.0.2.4:5060"), 0);
  r = reparse(m, &out);
  ck_assert_int_eq(strncmp(out, line, strlen(line)), 0);
  ck_assert_int_eq(sipsrv_msg_method(r), SIPSRV_METHOD_INVITE);
  ck_assert_str_eq(sipsrv_msg_method_name(r), "INVITE");
  ck_assert_int_eq(sipsrv_msg_request_uri(r, &u), 0);
  ck_assert_pstr_eq(u.scheme, "sip");
  ck_assert_pstr_eq(u.user, "bob");
  ck_assert_pstr_eq(u.host, "192.0.2.4");
  ck_assert_pstr_eq(u.port, "5060");
  ck_assert_int_eq(sipsrv_msg_request_uri_str(r, buf, sizeof buf), (int)strlen("sip:bob@192.0.2.4:5060"));
  ck_assert_str_eq(buf, "sip:bob@192.0.2.4:5060");
  ck_assert_int_eq(count_of(out, "biloxi.example.com SIP/2.0"), 0);
  /* The rest is as received. */
  ck_assert_ptr_nonnull(strstr(out, "\r\n" VIA_ONE MF70 DIALOG CL0 END));
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 16.6 step 2 on an extension method with a digit (legal token,
 * RFC 3261 25.1): the method name survives the new request line. */
START_TEST(edit_request_uri_ext_method)
{
  static const char req[] = "NEWMETHOD2 sip:bob@biloxi.example.com SIP/2.0\r\n" VIA_ONE MF70 TO_NOTAG
      FROM CALLID "CSeq: 7 NEWMETHOD2\r\n" CL0 END;
  sipsrv_msg *m = parse_ok(req), *r;
  char *out;

  ck_assert_int_eq(sipsrv_msg_set_request_uri(m, "sips:bob@example.org;transport=tcp"), 0);
  r = reparse(m, &out);
  ck_assert_int_eq(strncmp(out, "NEWMETHOD2 sips:bob@example.org;transport=tcp SIP/2.0\r\n",
                           strlen("NEWMETHOD2 sips:bob@example.org;transport=tcp SIP/2.0\r\n")),
                   0);
  ck_assert_str_eq(sipsrv_msg_method_name(r), "NEWMETHOD2");
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 19.1.1 / 25.1: bad URIs are refused and the message stays as it was. */
START_TEST(edit_request_uri_inval)
{
  sipsrv_msg *m = parse_ok(INVITE1), *resp = parse_ok(RESPONSE);
  size_t len;
  char *out;

  ck_assert_int_eq(sipsrv_msg_set_request_uri(NULL, "sip:a@b.example.com"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_set_request_uri(m, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_set_request_uri(m, ""), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_set_request_uri(m, "sip:a b"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_set_request_uri(m, "not a uri with spaces"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_set_request_uri(m, "sip:a@b.example.com\r\nX-Evil: 1"),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_set_request_uri(resp, "sip:a@b.example.com"), SIPSRV_E_NOTSUP);
  out = wire(m, &len);
  ck_assert_uint_eq(len, strlen(INVITE1));
  ck_assert_int_eq(memcmp(out, INVITE1, len), 0);
  free(out);
  sipsrv_msg_free(resp);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 16.6 step 2 with 19.1.1: a URI the parser would reject as a
 * Request-URI (bad host, bad port) is refused rather than sent. */
START_TEST(edit_request_uri_bad_host)
{
  sipsrv_msg *m = parse_ok(INVITE1), *r;

  ck_assert_int_eq(sipsrv_msg_set_request_uri(m, "sip:bob@exa_mple..com"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_set_request_uri(m, "sip:bob@192.0.2.4:99999999"), SIPSRV_E_INVAL);
  r = reparse(m, NULL);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* ---- Route / Record-Route ---------------------------------------------- */

/* RFC 3261 16.6 step 4: Record-Route is prepended. */
START_TEST(edit_addr_record_route_push)
{
  static const char req[] = RQ_LINE VIA_ONE MF70 "Record-Route: <sip:p1.example.com;lr>\r\n" DIALOG
      CL0 END;
  static const char *const hosts[] = { "p2.example.com", "p1.example.com" };
  static const char *const hosts1[] = { "p2.example.com" };
  sipsrv_msg *m = parse_ok(req), *r;
  sipsrv_addr a;
  char *out;

  ck_assert_int_eq(sipsrv_msg_addr_push(m, SIPSRV_HDR_RECORD_ROUTE, "<sip:p2.example.com;lr>", 0),
                   0);
  r = reparse(m, &out);
  assert_addr_hosts(r, SIPSRV_HDR_RECORD_ROUTE, hosts, 2);
  ck_assert_int_eq(sipsrv_msg_addr(r, SIPSRV_HDR_RECORD_ROUTE, 0, &a), 0);
  ck_assert_pstr_eq(a.uri.params, "lr");
  ck_assert_ptr_nonnull(strstr(out, "Record-Route: <sip:p1.example.com;lr>\r\n"));
  ck_assert(comes_before(out, "p2.example.com", "p1.example.com"));
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);

  /* Onto a request without Record-Route. */
  m = parse_ok(INVITE1);
  ck_assert_int_eq(sipsrv_msg_addr_push(m, SIPSRV_HDR_RECORD_ROUTE, "<sip:p2.example.com;lr>", 0),
                   0);
  r = reparse(m, NULL);
  assert_addr_hosts(r, SIPSRV_HDR_RECORD_ROUTE, hosts1, 1);
  ck_assert_int_eq(sipsrv_msg_addr(r, SIPSRV_HDR_RECORD_ROUTE, 0, &a), 0);
  ck_assert_pstr_eq(a.uri.params, "lr");
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 16.6 step 6: for a strict-routing next hop the Request-URI is
 * appended as the last Route value. */
START_TEST(edit_addr_route_append)
{
  static const char req[] = RQ_LINE VIA_ONE MF70
      "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n" DIALOG CL0 END;
  static const char *const hosts[] = { "p1.example.com", "p2.example.com", "biloxi.example.com" };
  sipsrv_msg *m = parse_ok(req), *r;
  sipsrv_addr a;

  ck_assert_int_eq(sipsrv_msg_addr_push(m, SIPSRV_HDR_ROUTE, "<sip:bob@biloxi.example.com>", 1), 0);
  r = reparse(m, NULL);
  assert_addr_hosts(r, SIPSRV_HDR_ROUTE, hosts, 3);
  ck_assert_int_eq(sipsrv_msg_addr(r, SIPSRV_HDR_ROUTE, 2, &a), 0);
  ck_assert_pstr_eq(a.uri.user, "bob");
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);

  /* Appending to an empty list. */
  m = parse_ok(INVITE1);
  ck_assert_int_eq(sipsrv_msg_addr_push(m, SIPSRV_HDR_ROUTE, "<sip:p9.example.com;lr>", 1), 0);
  ck_assert_int_eq(sipsrv_msg_addr_push(m, SIPSRV_HDR_ROUTE, "<sip:p10.example.com;lr>", 1), 0);
  r = reparse(m, NULL);
  {
    static const char *const h2[] = { "p9.example.com", "p10.example.com" };
    assert_addr_hosts(r, SIPSRV_HDR_ROUTE, h2, 2);
  }
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 16.4 (and 16.12): a loose-routing proxy removes the first Route
 * value, which may share its header line with the next one. */
START_TEST(edit_addr_route_pop)
{
  static const char req[] = RQ_LINE VIA_ONE MF70
      "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
      "Route: <sip:p3.example.com;lr>\r\n" DIALOG CL0 END;
  static const char *const h23[] = { "p2.example.com", "p3.example.com" };
  static const char *const h3[] = { "p3.example.com" };
  sipsrv_msg *m = parse_ok(req), *r;
  char *out;

  ck_assert_int_eq(sipsrv_msg_addr_pop(m, SIPSRV_HDR_ROUTE), 0);
  r = reparse(m, &out);
  assert_addr_hosts(r, SIPSRV_HDR_ROUTE, h23, 2);
  ck_assert_ptr_null(strstr(out, "p1.example.com"));
  ck_assert_ptr_nonnull(strstr(out, "Route: <sip:p3.example.com;lr>\r\n"));
  free(out);
  sipsrv_msg_free(r);

  ck_assert_int_eq(sipsrv_msg_addr_pop(m, SIPSRV_HDR_ROUTE), 0);
  r = reparse(m, &out);
  assert_addr_hosts(r, SIPSRV_HDR_ROUTE, h3, 1);
  ck_assert_ptr_null(strstr(out, "p2.example.com"));
  free(out);
  sipsrv_msg_free(r);

  ck_assert_int_eq(sipsrv_msg_addr_pop(m, SIPSRV_HDR_ROUTE), 0);
  r = reparse(m, &out);
  assert_addr_hosts(r, SIPSRV_HDR_ROUTE, NULL, 0);
  ck_assert_ptr_null(strstr(out, "Route"));
  free(out);
  sipsrv_msg_free(r);

  ck_assert_int_eq(sipsrv_msg_addr_pop(m, SIPSRV_HDR_ROUTE), SIPSRV_E_NOTFOUND);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 16.4 on RFC 4475 3.1.1.1: wsinv's folded Route is popped. */
START_TEST(edit_addr_route_pop_wsinv)
{
  size_t len;
  char *in = rfc4475("wsinv.dat", &len);
  sipsrv_msg *m = parse_ok_len(in, len, 0), *r;
  char *out;

  ck_assert_int_eq(sipsrv_msg_addr_pop(m, SIPSRV_HDR_ROUTE), 0);
  r = reparse(m, &out);
  assert_addr_hosts(r, SIPSRV_HDR_ROUTE, NULL, 0);
  ck_assert_ptr_null(strstr(out, "services.example.com"));
  ck_assert_ptr_nonnull(strstr(out, "NewFangledHeader:   newfangled value\r\n continued newfangled value\r\n"));
  free(out);
  sipsrv_msg_free(r);
  free(in);
  sipsrv_msg_free(m);
}
END_TEST

/* One value per push; pop on an empty list; bad arguments. */
START_TEST(edit_addr_inval)
{
  sipsrv_msg *m = parse_ok(INVITE1), *r;

  ck_assert_int_eq(sipsrv_msg_addr_push(m, SIPSRV_HDR_ROUTE, "<sip:a.example.com;lr>, <sip:b.example.com;lr>", 0),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_addr_push(m, SIPSRV_HDR_RECORD_ROUTE, "<sip:a.example.com;lr>, <sip:b.example.com;lr>", 1),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_addr_push(m, SIPSRV_HDR_ROUTE, "<sip:a.example.com;lr>\r\nX-Evil: 1", 0),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_addr_push(m, SIPSRV_HDR_ROUTE, NULL, 0), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_addr_push(NULL, SIPSRV_HDR_ROUTE, "<sip:a.example.com;lr>", 0),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_addr_push(m, (sipsrv_addr_hdr)99, "<sip:a.example.com;lr>", 0),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_addr_pop(m, SIPSRV_HDR_ROUTE), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_msg_addr_pop(m, SIPSRV_HDR_RECORD_ROUTE), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_msg_addr_pop(m, SIPSRV_HDR_PATH), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_msg_addr_pop(NULL, SIPSRV_HDR_ROUTE), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_addr_pop(m, (sipsrv_addr_hdr)99), SIPSRV_E_INVAL);
  r = reparse(m, NULL);
  ck_assert_int_eq(sipsrv_msg_addr(r, SIPSRV_HDR_ROUTE, 0, &(sipsrv_addr){0}), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_msg_addr(r, SIPSRV_HDR_RECORD_ROUTE, 0, &(sipsrv_addr){0}),
                   SIPSRV_E_NOTFOUND);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* ---- parameters ---------------------------------------------------------- */

/* RFC 3261 8.2.6.2: the UAS adds a tag to To. */
START_TEST(edit_param_to_tag)
{
  sipsrv_msg *m = parse_ok(INVITE1), *r;
  sipsrv_addr a;
  char *out;

  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_TO, 0, "tag", "abc123"), 0);
  r = reparse(m, &out);
  ck_assert_int_eq(sipsrv_msg_to(r, &a), 0);
  ck_assert_pstr_eq(a.tag, "abc123");
  ck_assert_pstr_eq(a.uri.host, "biloxi.example.com");
  ck_assert_pstr_eq(a.display, "Bob");
  ck_assert_ptr_nonnull(strstr(out, "To: Bob <sip:bob@biloxi.example.com>;tag=abc123\r\n"));
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 20.20 generic-param: an existing value is replaced, not doubled. */
START_TEST(edit_param_replace)
{
  sipsrv_msg *m = parse_ok(INVITE1), *r;
  sipsrv_addr a;
  char *out;

  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_FROM, 0, "tag", "xyz"), 0);
  r = reparse(m, &out);
  ck_assert_int_eq(sipsrv_msg_from(r, &a), 0);
  ck_assert_pstr_eq(a.tag, "xyz");
  ck_assert_ptr_null(strstr(out, "1928301774"));
  ck_assert_int_eq(count_of(out, "tag="), 1);
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 20.42: a Via parameter is removed (value NULL). */
START_TEST(edit_param_remove)
{
  static const char req[] = RQ_LINE
      "Via: SIP/2.0/UDP pc33.atlanta.example.com;received=192.0.2.1;branch=z9hG4bK776asdhds\r\n"
      MF70 DIALOG CL0 END;
  sipsrv_msg *m = parse_ok(req), *r;
  sipsrv_via v;
  char *out;

  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_VIA, 0, "received", NULL), 0);
  r = reparse(m, &out);
  ck_assert_int_eq(sipsrv_msg_via(r, 0, &v), 0);
  ck_assert_ptr_null(v.received);
  ck_assert_pstr_eq(v.branch, "z9hG4bK776asdhds");
  ck_assert_ptr_null(strstr(out, "received"));
  ck_assert_ptr_null(strstr(out, "192.0.2.1"));
  free(out);
  sipsrv_msg_free(r);
  /* Removing it again: nothing to remove. */
  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_VIA, 0, "received", NULL), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_TO, 0, "tag", NULL), SIPSRV_E_NOTFOUND);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 25.1 generic-param = token [ EQUAL gen-value ]: "" sets a
 * parameter without value (lr on a Route, RFC 3261 19.1.1). */
START_TEST(edit_param_flag)
{
  static const char req[] = RQ_LINE VIA_ONE MF70 "Route: <sip:p1.example.com>\r\n" DIALOG CL0 END;
  sipsrv_msg *m = parse_ok(req), *r;
  sipsrv_addr a;
  const char *val = NULL;
  char *out;

  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_ROUTE, 0, "foo", ""), 0);
  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_CONTACT, 0, "expires", "60"), 0);
  r = reparse(m, &out);
  ck_assert_int_eq(sipsrv_msg_addr(r, SIPSRV_HDR_ROUTE, 0, &a), 0);
  ck_assert_int_eq(sipsrv_param_find(a.params, "foo", &val), 0);
  ck_assert_str_eq(val, "");
  ck_assert_ptr_nonnull(strstr(out, "Route: <sip:p1.example.com>;foo\r\n"));
  ck_assert_int_eq(sipsrv_msg_addr(r, SIPSRV_HDR_CONTACT, 0, &a), 0);
  ck_assert_int_eq(sipsrv_param_find(a.params, "expires", &val), 0);
  ck_assert_str_eq(val, "60");
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 18.2.1 / 20.42: a parameter on the second Via value, which shares
 * its header line with the first. */
START_TEST(edit_param_second_via)
{
  static const char *const hosts[] = { "a.example.com", "b.example.com", "c.example.com" };
  sipsrv_msg *m = parse_ok(INVITE3), *r;
  sipsrv_via v;
  char *out;

  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_VIA, 1, "received", "192.0.2.7"), 0);
  r = reparse(m, &out);
  assert_via_hosts(r, hosts, 3);
  ck_assert_int_eq(sipsrv_msg_via(r, 0, &v), 0);
  ck_assert_ptr_null(v.received);
  ck_assert_pstr_eq(v.branch, "z9hG4bKa");
  ck_assert_int_eq(sipsrv_msg_via(r, 1, &v), 0);
  ck_assert_pstr_eq(v.received, "192.0.2.7");
  ck_assert_pstr_eq(v.branch, "z9hG4bKb");
  ck_assert_int_eq(sipsrv_msg_via(r, 2, &v), 0);
  ck_assert_ptr_null(v.received);
  ck_assert_int_eq(count_of(out, "received="), 1);
  ck_assert_ptr_nonnull(strstr(out, VIA_C_LINE));
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 8.2.6.2 on RFC 4475 3.1.1.1: a tag on wsinv's folded From. */
START_TEST(edit_param_wsinv_from)
{
  size_t len;
  char *in = rfc4475("wsinv.dat", &len);
  sipsrv_msg *m = parse_ok_len(in, len, 0), *r;
  sipsrv_addr a;
  char *out;

  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_FROM, 0, "tag", "newtag"), 0);
  r = reparse(m, &out);
  ck_assert_int_eq(sipsrv_msg_from(r, &a), 0);
  ck_assert_pstr_eq(a.tag, "newtag");
  ck_assert_pstr_eq(a.uri.host, "example.com");
  ck_assert_ptr_null(strstr(out, "98asjd8"));
  free(out);
  sipsrv_msg_free(r);
  free(in);
  sipsrv_msg_free(m);
}
END_TEST

START_TEST(edit_param_inval)
{
  sipsrv_msg *m = parse_ok(INVITE1);
  size_t len;
  char *out;

  ck_assert_int_eq(sipsrv_msg_param_set(NULL, SIPSRV_PHDR_TO, 0, "tag", "a"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_TO, 0, NULL, "a"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_TO, 0, "", "a"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_TO, 0, "t ag", "a"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_TO, 0, "tag=x", "a"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_TO, 0, "tag", "a\r\nX-Evil: 1"),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_TO, -1, "tag", "a"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_param_set(m, (sipsrv_param_hdr)99, 0, "tag", "a"), SIPSRV_E_INVAL);
  /* No such header value. */
  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_TO, 1, "tag", "a"), SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_VIA, 1, "received", "192.0.2.1"),
                   SIPSRV_E_NOTFOUND);
  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_ROUTE, 0, "lr", ""), SIPSRV_E_NOTFOUND);
  out = wire(m, &len);
  ck_assert_uint_eq(len, strlen(INVITE1));
  ck_assert_int_eq(memcmp(out, INVITE1, len), 0);
  free(out);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 25.1: gen-value = token / host / quoted-string. A value with a
 * comma, semicolon or space is none of them, and would change the header's
 * structure on the wire (here: smuggle a second Via value in). */
START_TEST(edit_param_value_not_token)
{
  sipsrv_msg *m = parse_ok(INVITE1), *r;

  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_VIA, 0, "received",
                                        "192.0.2.1, SIP/2.0/UDP evil.example.com"),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_TO, 0, "tag", "a;maddr=evil"),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_TO, 0, "tag", "a b"), SIPSRV_E_INVAL);
  r = reparse(m, NULL);
  ck_assert_int_eq(sipsrv_msg_via_count(r), 1);
  sipsrv_msg_free(r);
  /* A quoted string is a valid value. */
  ck_assert_int_eq(sipsrv_msg_param_set(m, SIPSRV_PHDR_CONTACT, 0, "note", "\"a, b; c\""), 0);
  r = reparse(m, NULL);
  {
    sipsrv_addr a;
    const char *val = NULL;
    ck_assert_int_eq(sipsrv_msg_addr(r, SIPSRV_HDR_CONTACT, 0, &a), 0);
    ck_assert_int_eq(sipsrv_param_find(a.params, "note", &val), 0);
    ck_assert_str_eq(val, "\"a, b; c\"");
  }
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* ---- header add / remove ----------------------------------------------- */

/* RFC 3261 7.3: an extension header is added before the empty line. */
START_TEST(edit_header_add)
{
  static const char req[] = RQ_LINE VIA_ONE MF70 DIALOG "Content-Type: text/plain\r\n"
      "Content-Length: 5\r\n\r\nhello";
  sipsrv_msg *m = parse_ok(req), *r;
  const void *body;
  size_t blen;
  char *out;

  ck_assert_int_eq(sipsrv_msg_header_add(m, "X-Test: 1"), 0);
  ck_assert_int_eq(sipsrv_msg_header_add(m, "Subject: lunch"), 0);
  r = reparse(m, &out);
  ck_assert_pstr_eq(hdr(r, "X-Test"), "1");
  ck_assert_pstr_eq(hdr(r, "subject"), "lunch");
  ck_assert_pstr_eq(hdr(r, "s"), "lunch");
  ck_assert_ptr_nonnull(strstr(out, "\r\nX-Test: 1\r\n"));
  ck_assert(comes_before(out, "X-Test", "\r\n\r\n"));
  ck_assert_int_eq(sipsrv_msg_body(r, &body, &blen), 0);
  ck_assert_uint_eq(blen, 5);
  ck_assert_int_eq(memcmp(body, "hello", 5), 0);
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 7.3.1: every field of that name goes, whichever line it is on. */
START_TEST(edit_header_remove_all)
{
  static const char req[] = RQ_LINE VIA_ONE "X-Dup: a\r\n" MF70 DIALOG "x-dup: b\r\n" CL0 END;
  sipsrv_msg *m = parse_ok(req), *r;
  char *out;

  ck_assert_int_eq(sipsrv_msg_header_remove(m, "X-Dup"), 2);
  ck_assert_int_eq(sipsrv_msg_header_remove(m, "X-Dup"), 0);
  r = reparse(m, &out);
  ck_assert_ptr_null(hdr(r, "X-Dup"));
  ck_assert_ptr_null(strstr(out, "X-Dup"));
  ck_assert_ptr_null(strstr(out, "x-dup"));
  ck_assert_int_eq(sipsrv_msg_via_count(r), 1);
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* A copy of a message (what a forking proxy edits, one per branch) has its
 * headers removed like the original: an unknown header (RFC 5393's
 * Max-Breadth) and a known one. */
START_TEST(edit_header_remove_on_copy)
{
  static const char req[] = RQ_LINE VIA_ONE "Max-Breadth: 10\r\n" MF70 DIALOG "Subject: hi\r\n" CL0 END;
  sipsrv_msg *m = parse_ok(req), *c = ss_msg_dup(m), *r;
  char *out;

  ck_assert_ptr_nonnull(c);
  ck_assert_int_eq(sipsrv_msg_header_remove(c, "Max-Breadth"), 1);
  ck_assert_int_eq(sipsrv_msg_header_remove(c, "Subject"), 1);
  ck_assert_int_eq(sipsrv_msg_header_add(c, "Max-Breadth: 3"), 0);
  r = reparse(c, &out);
  ck_assert_ptr_null(strstr(out, "Max-Breadth: 10"));
  ck_assert_ptr_nonnull(strstr(out, "Max-Breadth: 3\r\n"));
  ck_assert_ptr_null(strstr(out, "Subject"));
  free(out);
  sipsrv_msg_free(r);
  /* The original is untouched. */
  r = reparse(m, &out);
  ck_assert_ptr_nonnull(strstr(out, "Max-Breadth: 10\r\n"));
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(c);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 7.3.3: the compact form names the same header ("s" = Subject),
 * here wsinv's empty "s :" (RFC 4475 3.1.1.1). */
START_TEST(edit_header_remove_compact)
{
  size_t len;
  char *in = rfc4475("wsinv.dat", &len);
  sipsrv_msg *m = parse_ok_len(in, len, 0), *r;
  char *out;

  ck_assert_int_eq(sipsrv_msg_header_remove(m, "s"), 1);
  r = reparse(m, &out);
  ck_assert_ptr_null(hdr(r, "Subject"));
  ck_assert_ptr_null(strstr(out, "\r\ns :"));
  /* The SDP's "s=-" line is body, not a header: it stays. */
  ck_assert_ptr_nonnull(strstr(out, "\r\ns=-\r\n"));
  ck_assert_int_eq(sipsrv_msg_via_count(r), 3);
  free(out);
  sipsrv_msg_free(r);
  free(in);
  sipsrv_msg_free(m);

  /* And the full name removes a compact field. */
  m = parse_ok(RQ_LINE VIA_ONE MF70 DIALOG "s: hi\r\n" CL0 END);
  ck_assert_int_eq(sipsrv_msg_header_remove(m, "SUBJECT"), 1);
  r = reparse(m, &out);
  ck_assert_ptr_null(strstr(out, "s: hi"));
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 7.3: a field is one line; a CRLF in it would inject a header. */
START_TEST(edit_header_inval)
{
  sipsrv_msg *m = parse_ok(INVITE1), *r;
  size_t len;
  char *out;

  ck_assert_int_eq(sipsrv_msg_header_add(m, "X-A: 1\r\nX-B: 2"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_header_add(m, "X-A: 1\nX-B: 2"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_header_add(m, "X-A: 1\rX-B: 2"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_header_add(m, "NoColon"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_header_add(m, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_header_add(NULL, "X-A: 1"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_header_remove(NULL, "X-A"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_header_remove(m, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_header_remove(m, ""), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_header_remove(m, "X-Absent"), 0);
  out = wire(m, &len);
  ck_assert_uint_eq(len, strlen(INVITE1));
  ck_assert_int_eq(memcmp(out, INVITE1, len), 0);
  free(out);
  r = reparse(m, NULL);
  ck_assert_ptr_null(hdr(r, "X-B"));
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 7.3 / 25.1: field-name is a token. A name with a space would
 * produce bytes that the parser then refuses. */
START_TEST(edit_header_add_bad_name)
{
  sipsrv_msg *m = parse_ok(INVITE1), *r;

  ck_assert_int_eq(sipsrv_msg_header_add(m, "Bad Name: 1"), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_header_add(m, ": 1"), SIPSRV_E_INVAL);
  r = reparse(m, NULL);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* ---- iovecs -------------------------------------------------------------- */

/* sipsrv_msg_iovec: ask the count with n = 0, then fill; the iovecs hold the
 * same bytes as sipsrv_msg_serialize. */
START_TEST(edit_iovec_fill)
{
  sipsrv_msg *m = parse_ok(INVITE3);
  struct iovec *iov;
  int n, n2;
  size_t len, off = 0;
  char *out, *cat;

  ck_assert_int_eq(sipsrv_msg_via_push(m, "UDP", "proxy.example.com", 5060, "z9hG4bKio", 1), 0);
  ck_assert_int_eq(sipsrv_msg_max_forwards_dec(m), 69);
  ck_assert_int_eq(sipsrv_msg_via_pop(m), 0);
  ck_assert_int_eq(sipsrv_msg_via_pop(m), 0);
  n = sipsrv_msg_iovec(m, NULL, 0);
  ck_assert_int_gt(n, 0);
  iov = calloc((size_t)n, sizeof *iov);
  ck_assert_ptr_nonnull(iov);
  if (n > 1) {
    /* Too small: still the whole count. */
    ck_assert_int_eq(sipsrv_msg_iovec(m, iov, 1), n);
  }
  n2 = sipsrv_msg_iovec(m, iov, (size_t)n);
  ck_assert_int_eq(n2, n);
  out = wire(m, &len);
  cat = malloc(len + 1);
  ck_assert_ptr_nonnull(cat);
  for (int i = 0; i < n; i++) {
    ck_assert_uint_le(off + iov[i].iov_len, len);
    memcpy(cat + off, iov[i].iov_base, iov[i].iov_len);
    off += iov[i].iov_len;
  }
  ck_assert_uint_eq(off, len);
  ck_assert_int_eq(memcmp(cat, out, len), 0);
  free(cat);
  free(out);
  free(iov);
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3261 18.3 / 20.14: serialization sets Content-Length to the body, so the
 * bytes frame over a stream. A datagram may omit it; the output has it. */
START_TEST(edit_iovec_content_length)
{
  static const char req[] = RQ_LINE VIA_ONE MF70 DIALOG "Content-Type: text/plain\r\n\r\nhello";
  sipsrv_msg *m = parse_ok(req), *r;
  const void *body;
  size_t blen;
  char *out;

  r = reparse(m, &out);
  ck_assert_ptr_nonnull(strstr(out, "Content-Length: 5\r\n"));
  ck_assert_int_eq(sipsrv_msg_body(r, &body, &blen), 0);
  ck_assert_uint_eq(blen, 5);
  ck_assert_int_eq(memcmp(body, "hello", 5), 0);
  ck_assert_int_eq(memcmp(out + strlen(out) - 9, "\r\n\r\nhello", 9), 0);
  ck_assert_pstr_eq(hdr(r, "Content-Length"), "5");
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

START_TEST(edit_iovec_inval)
{
  sipsrv_msg *m = parse_ok(INVITE1);
  struct iovec iov[2];

  ck_assert_int_eq(sipsrv_msg_iovec(NULL, iov, 2), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_iovec(NULL, NULL, 0), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_iovec(m, NULL, 2), SIPSRV_E_INVAL);
  sipsrv_msg_free(m);
}
END_TEST

/* ---- replies ------------------------------------------------------------- */

/* RFC 3261 8.2.6.1 / 8.2.6.2: status line, Vias in order, From, Call-ID, CSeq
 * copied, To with a tag added, Content-Length 0. */
START_TEST(edit_reply_404)
{
  static const char *const hosts[] = { "a.example.com", "b.example.com", "c.example.com" };
  static const char sl[] = "SIP/2.0 404 Not Found\r\n";
  sipsrv_msg *req = parse_ok(INVITE3), *res = NULL, *r;
  sipsrv_addr a;
  sipsrv_via v;
  uint32_t seq = 0;
  const char *method = NULL;
  char *out;

  ck_assert_int_eq(sipsrv_msg_reply(&res, req, 404, NULL, NULL), 0);
  ck_assert_ptr_nonnull(res);
  ck_assert_int_eq(sipsrv_msg_is_request(res), 0);
  r = reparse(res, &out);
  ck_assert_int_eq(strncmp(out, sl, strlen(sl)), 0);
  ck_assert_int_eq(sipsrv_msg_status(r), 404);
  ck_assert_str_eq(sipsrv_msg_phrase(r), "Not Found");
  assert_via_hosts(r, hosts, 3);
  ck_assert_int_eq(sipsrv_msg_via(r, 1, &v), 0);
  ck_assert_pstr_eq(v.branch, "z9hG4bKb");
  ck_assert_pstr_eq(v.port, "5070");
  ck_assert_int_eq(sipsrv_msg_via(r, 2, &v), 0);
  ck_assert_pstr_eq(v.rport, "");
  ck_assert_int_eq(sipsrv_msg_from(r, &a), 0);
  ck_assert_pstr_eq(a.tag, "1928301774");
  ck_assert_pstr_eq(a.uri.user, "alice");
  ck_assert_str_eq(sipsrv_msg_call_id(r), "a84b4c76e66710@pc33.atlanta.example.com");
  ck_assert_int_eq(sipsrv_msg_cseq(r, &seq, &method), 0);
  ck_assert_uint_eq(seq, 314159);
  ck_assert_str_eq(method, "INVITE");
  ck_assert_int_eq(sipsrv_msg_method(r), SIPSRV_METHOD_INVITE);
  ck_assert_int_eq(sipsrv_msg_to(r, &a), 0);
  ck_assert_ptr_nonnull(a.tag);
  ck_assert_int_gt((int)strlen(a.tag), 0);
  ck_assert_pstr_eq(a.uri.host, "biloxi.example.com");
  ck_assert_ptr_nonnull(strstr(out, "\r\nContent-Length: 0\r\n"));
  ck_assert_int_eq(memcmp(out + strlen(out) - 4, "\r\n\r\n", 4), 0);
  /* Nothing of the request's own that a response does not carry. */
  ck_assert_ptr_null(hdr(r, "Max-Forwards"));
  ck_assert_ptr_null(hdr(r, "Contact"));
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(res);
  sipsrv_msg_free(req);
}
END_TEST

/* The To tag of a reply, or NULL; a copy in buf. */
static const char *reply_tag(const sipsrv_msg *req, int status, const sipsrv_reply_opts *opts,
                             char *buf, size_t size)
{
  sipsrv_msg *res = NULL, *r;
  sipsrv_addr a;
  const char *t;

  ck_assert_int_eq(sipsrv_msg_reply(&res, req, status, NULL, opts), 0);
  r = reparse(res, NULL);
  ck_assert_int_eq(sipsrv_msg_to(r, &a), 0);
  t = a.tag;
  if (t)
    snprintf(buf, size, "%s", t);
  sipsrv_msg_free(r);
  sipsrv_msg_free(res);
  return t ? buf : NULL;
}

/* RFC 3261 8.2.7 (stateless UAS) and 16.11: a retransmission gets the same To
 * tag; a different request (another branch) a different one. */
START_TEST(edit_reply_tag_deterministic)
{
  static const char other[] = RQ_LINE
      "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhdX\r\n" MF70 DIALOG CL0 END;
  sipsrv_msg *req = parse_ok(INVITE1), *again = parse_ok(INVITE1), *req2 = parse_ok(other);
  char t1[64], t2[64], t3[64], t4[64];

  ck_assert_ptr_nonnull(reply_tag(req, 486, NULL, t1, sizeof t1));
  ck_assert_ptr_nonnull(reply_tag(req, 486, NULL, t2, sizeof t2));
  ck_assert_str_eq(t1, t2);
  ck_assert_ptr_nonnull(reply_tag(again, 486, NULL, t3, sizeof t3));
  ck_assert_str_eq(t1, t3);
  ck_assert_ptr_nonnull(reply_tag(req2, 486, NULL, t4, sizeof t4));
  ck_assert_str_ne(t1, t4);
  sipsrv_msg_free(req2);
  sipsrv_msg_free(again);
  sipsrv_msg_free(req);
}
END_TEST

/* RFC 3261 8.2.6.2: a To that has a tag keeps it (and gets no second one). */
START_TEST(edit_reply_tag_kept)
{
  static const char req_txt[] = RQ_LINE VIA_ONE MF70 TO_TAG FROM CALLID CSEQ CL0 END;
  sipsrv_msg *req = parse_ok(req_txt), *res = NULL, *r;
  sipsrv_reply_opts opts = SIPSRV_REPLY_OPTS_INIT;
  sipsrv_addr a;
  char *out;

  opts.to_tag = "ignored";
  ck_assert_int_eq(sipsrv_msg_reply(&res, req, 481, NULL, &opts), 0);
  r = reparse(res, &out);
  ck_assert_int_eq(sipsrv_msg_to(r, &a), 0);
  ck_assert_pstr_eq(a.tag, "a6c85cf");
  ck_assert_ptr_null(strstr(out, "ignored"));
  ck_assert_int_eq(count_of(out, "tag="), 2);  /* From's and To's */
  ck_assert_ptr_nonnull(strstr(out, "SIP/2.0 481 Call/Transaction Does Not Exist\r\n"));
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(res);
  sipsrv_msg_free(req);
}
END_TEST

/* RFC 3261 8.2.6.1: a 100 gets no To tag and echoes Timestamp. */
START_TEST(edit_reply_100)
{
  static const char req_txt[] = RQ_LINE VIA_ONE MF70 DIALOG "Timestamp: 54\r\n" CL0 END;
  sipsrv_msg *req = parse_ok(req_txt), *res = NULL, *r;
  sipsrv_reply_opts opts = SIPSRV_REPLY_OPTS_INIT;
  sipsrv_addr a;
  char *out;

  opts.to_tag = "never";
  ck_assert_int_eq(sipsrv_msg_reply(&res, req, 100, NULL, &opts), 0);
  r = reparse(res, &out);
  ck_assert_int_eq(strncmp(out, "SIP/2.0 100 Trying\r\n", 20), 0);
  ck_assert_int_eq(sipsrv_msg_to(r, &a), 0);
  ck_assert_ptr_null(a.tag);
  ck_assert_ptr_null(strstr(out, "never"));
  ck_assert_pstr_eq(hdr(r, "Timestamp"), "54");
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(res);

  /* Without a Timestamp in the request, none in the 100. */
  sipsrv_msg_free(req);
  req = parse_ok(INVITE1);
  ck_assert_int_eq(sipsrv_msg_reply(&res, req, 100, NULL, NULL), 0);
  r = reparse(res, NULL);
  ck_assert_ptr_null(hdr(r, "Timestamp"));
  ck_assert_int_eq(sipsrv_msg_to(r, &a), 0);
  ck_assert_ptr_null(a.tag);
  sipsrv_msg_free(r);
  sipsrv_msg_free(res);
  sipsrv_msg_free(req);
}
END_TEST

/* RFC 3261 8.2.6.2: the UAS's chosen tag (opts.to_tag); extra headers; a
 * custom reason phrase (21: the phrase is for humans). */
START_TEST(edit_reply_opts)
{
  sipsrv_msg *req = parse_ok(INVITE1), *res = NULL, *r;
  sipsrv_reply_opts opts = SIPSRV_REPLY_OPTS_INIT;
  sipsrv_addr a;
  char *out;

  opts.to_tag = "mytag77";
  opts.headers = "Contact: <sip:bob@192.0.2.4>\r\nX-Extra: yes";
  ck_assert_int_eq(sipsrv_msg_reply(&res, req, 200, "Fine Thanks", &opts), 0);
  r = reparse(res, &out);
  ck_assert_int_eq(strncmp(out, "SIP/2.0 200 Fine Thanks\r\n", 25), 0);
  ck_assert_str_eq(sipsrv_msg_phrase(r), "Fine Thanks");
  ck_assert_int_eq(sipsrv_msg_to(r, &a), 0);
  ck_assert_pstr_eq(a.tag, "mytag77");
  ck_assert_int_eq(sipsrv_msg_addr(r, SIPSRV_HDR_CONTACT, 0, &a), 0);
  ck_assert_pstr_eq(a.uri.host, "192.0.2.4");
  ck_assert_pstr_eq(hdr(r, "X-Extra"), "yes");
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(res);
  sipsrv_msg_free(req);
}
END_TEST

/* RFC 3261 20.15 / 20.14: a body brings Content-Type and the right
 * Content-Length. */
START_TEST(edit_reply_body)
{
  sipsrv_msg *req = parse_ok(INVITE1), *res = NULL, *r;
  sipsrv_reply_opts opts = SIPSRV_REPLY_OPTS_INIT;
  const void *body;
  size_t blen;
  char *out;

  opts.body = "v=0\r\nhello";
  opts.body_len = 10;
  opts.content_type = "application/sdp";
  ck_assert_int_eq(sipsrv_msg_reply(&res, req, 200, NULL, &opts), 0);
  r = reparse(res, &out);
  ck_assert_pstr_eq(hdr(r, "Content-Type"), "application/sdp");
  ck_assert_pstr_eq(hdr(r, "Content-Length"), "10");
  ck_assert_int_eq(count_of(out, "Content-Length"), 1);
  ck_assert_int_eq(sipsrv_msg_body(r, &body, &blen), 0);
  ck_assert_uint_eq(blen, 10);
  ck_assert_int_eq(memcmp(body, "v=0\r\nhello", 10), 0);
  ck_assert_int_eq(memcmp(out + strlen(out) - 14, "\r\n\r\nv=0\r\nhello", 14), 0);
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(res);
  sipsrv_msg_free(req);
}
END_TEST

/* RFC 3261 7.4 / 20.14: extra headers and a body together: the headers stay
 * in the header section, the body follows the empty line. */
START_TEST(edit_reply_headers_and_body)
{
  sipsrv_msg *req = parse_ok(INVITE1), *res = NULL, *r;
  sipsrv_reply_opts opts = SIPSRV_REPLY_OPTS_INIT;
  const void *body;
  size_t blen;
  char *out;

  opts.headers = "X-Extra: yes\r\nSubject: hi";
  opts.body = "hello";
  opts.body_len = 5;
  opts.content_type = "text/plain";
  ck_assert_int_eq(sipsrv_msg_reply(&res, req, 200, NULL, &opts), 0);
  r = reparse(res, &out);
  ck_assert_pstr_eq(hdr(r, "X-Extra"), "yes");
  ck_assert_pstr_eq(hdr(r, "Subject"), "hi");
  ck_assert_pstr_eq(hdr(r, "Content-Type"), "text/plain");
  ck_assert_int_eq(sipsrv_msg_body(r, &body, &blen), 0);
  ck_assert_uint_eq(blen, 5);
  ck_assert_int_eq(memcmp(body, "hello", 5), 0);
  ck_assert_int_eq(count_of(out, "\r\n\r\n"), 1);
  ck_assert(comes_before(out, "X-Extra", "\r\n\r\n"));
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(res);
  sipsrv_msg_free(req);
}
END_TEST

START_TEST(edit_reply_inval)
{
  sipsrv_msg *req = parse_ok(INVITE1), *resp = parse_ok(RESPONSE);
  sipsrv_msg *sentinel = (sipsrv_msg *)&sentinel, *res = sentinel;
  sipsrv_reply_opts opts = SIPSRV_REPLY_OPTS_INIT;

  opts.body = "x";
  opts.body_len = 1;
  ck_assert_int_eq(sipsrv_msg_reply(&res, req, 200, NULL, &opts), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_reply(&res, req, 99, NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_reply(&res, req, 700, NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_reply(&res, req, 0, NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_reply(&res, resp, 200, NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_reply(&res, NULL, 200, NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_reply(NULL, req, 200, NULL, NULL), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_reply(&res, req, 200, "OK\r\nX-Evil: 1", NULL), SIPSRV_E_INVAL);
  opts = (sipsrv_reply_opts)SIPSRV_REPLY_OPTS_INIT;
  opts.to_tag = "";
  ck_assert_int_eq(sipsrv_msg_reply(&res, req, 200, NULL, &opts), SIPSRV_E_INVAL);
  opts = (sipsrv_reply_opts)SIPSRV_REPLY_OPTS_INIT;
  opts.body_len = 3;      /* length without bytes */
  opts.content_type = "text/plain";
  ck_assert_int_eq(sipsrv_msg_reply(&res, req, 200, NULL, &opts), SIPSRV_E_INVAL);
  /* out is written only on success. */
  ck_assert_ptr_eq(res, sentinel);
  sipsrv_msg_free(resp);
  sipsrv_msg_free(req);
}
END_TEST

/* RFC 3261 19.3: tag = token. A to_tag that is not one (a CRLF, a ';')
 * would inject a header or a parameter into the response. */
START_TEST(edit_reply_bad_to_tag)
{
  sipsrv_msg *req = parse_ok(INVITE1), *res = NULL;
  sipsrv_reply_opts opts = SIPSRV_REPLY_OPTS_INIT;

  opts.to_tag = "abc\r\nX-Evil: 1";
  ck_assert_int_eq(sipsrv_msg_reply(&res, req, 200, NULL, &opts), SIPSRV_E_INVAL);
  sipsrv_msg_free(res);
  res = NULL;
  opts.to_tag = "abc;maddr=evil.example.com";
  ck_assert_int_eq(sipsrv_msg_reply(&res, req, 200, NULL, &opts), SIPSRV_E_INVAL);
  sipsrv_msg_free(res);
  sipsrv_msg_free(req);
}
END_TEST

/* ---- reply to a verdict ------------------------------------------------- */

/* RFC 3261 8.2.2.3: a 420 lists the unsupported option tags in Unsupported. */
START_TEST(edit_reply_verdict_420)
{
  sipsrv_msg *req = parse_ok(INVITE1), *res = NULL, *r;
  sipsrv_verdict v;
  char *out;

  memset(&v, 0, sizeof v);
  v.action = SIPSRV_REJECT;
  v.status = 420;
  v.phrase = "Bad Extension";
  v.rfc = "RFC 3261 8.2.2.3";
  snprintf(v.header, sizeof v.header, "%s", "Unsupported: foo, bar");
  ck_assert_int_eq(sipsrv_msg_reply_verdict(&res, req, &v), 0);
  r = reparse(res, &out);
  ck_assert_int_eq(strncmp(out, "SIP/2.0 420 Bad Extension\r\n", 27), 0);
  ck_assert_int_eq(sipsrv_msg_status(r), 420);
  ck_assert_ptr_nonnull(strstr(out, "\r\nUnsupported: foo, bar\r\n"));
  ck_assert_pstr_eq(hdr(r, "Unsupported"), "foo, bar");
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(res);
  sipsrv_msg_free(req);
}
END_TEST

/* RFC 3261 8.2.2.3 end to end: Require names tags the UAS lacks; the check
 * verdict becomes a 420 naming them. */
START_TEST(edit_reply_verdict_from_check)
{
  static const char req_txt[] = RQ_LINE VIA_ONE MF70 DIALOG "Require: foo, bar\r\n" CL0 END;
  sipsrv_msg *req = parse_ok(req_txt), *res = NULL, *r;
  sipsrv_check_cfg cfg = SIPSRV_CHECK_CFG_INIT;
  sipsrv_verdict v;
  char want[SIPSRV_VERDICT_HEADER_MAX + 8];
  char *out;

  cfg.flags = SIPSRV_CHECK_REQUIRE;
  ck_assert_int_eq(sipsrv_msg_check(req, &cfg, &v), 0);
  ck_assert_int_eq(v.action, SIPSRV_REJECT);
  ck_assert_int_eq(v.status, 420);
  ck_assert_int_eq(sipsrv_msg_reply_verdict(&res, req, &v), 0);
  r = reparse(res, &out);
  ck_assert_int_eq(sipsrv_msg_status(r), 420);
  snprintf(want, sizeof want, "\r\n%s\r\n", v.header);
  ck_assert_ptr_nonnull(strstr(out, want));
  ck_assert_str_eq(v.header, "Unsupported: foo, bar");
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(res);
  sipsrv_msg_free(req);
}
END_TEST

/* RFC 3261 8.2.2 / 21.5.7 (RFC 4475 3.1.2.16): the parse verdict on SIP/7.0
 * answers 505 from the rejected message. */
START_TEST(edit_reply_verdict_505)
{
  static const char req_txt[] = "INVITE sip:bob@biloxi.example.com SIP/7.0\r\n" VIA_ONE MF70 DIALOG
      CL0 END;
  sipsrv_msg *req = NULL, *res = NULL, *r;
  sipsrv_verdict v;
  char *out;

  ck_assert_int_eq(sipsrv_msg_parse(&req, req_txt, strlen(req_txt), 0, &v), 0);
  ck_assert_int_eq(v.action, SIPSRV_REJECT);
  ck_assert_int_eq(v.status, 505);
  ck_assert_int_eq(sipsrv_msg_reply_verdict(&res, req, &v), 0);
  r = reparse(res, &out);
  ck_assert_int_eq(sipsrv_msg_status(r), 505);
  ck_assert_int_eq(strncmp(out, "SIP/2.0 505 ", 12), 0);
  ck_assert_ptr_null(hdr(r, "Unsupported"));
  free(out);
  sipsrv_msg_free(r);
  sipsrv_msg_free(res);
  sipsrv_msg_free(req);
}
END_TEST

START_TEST(edit_reply_verdict_inval)
{
  sipsrv_msg *req = parse_ok(INVITE1), *res = NULL;
  sipsrv_verdict v;

  memset(&v, 0, sizeof v);
  v.action = SIPSRV_ACCEPT;
  v.status = 0;
  v.phrase = "OK";
  ck_assert_int_eq(sipsrv_msg_reply_verdict(&res, req, &v), SIPSRV_E_INVAL);
  v.action = SIPSRV_DROP;
  ck_assert_int_eq(sipsrv_msg_reply_verdict(&res, req, &v), SIPSRV_E_INVAL);
  v.action = SIPSRV_REJECT;
  v.status = 400;
  v.phrase = "Bad Request";
  ck_assert_int_eq(sipsrv_msg_reply_verdict(NULL, req, &v), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_reply_verdict(&res, NULL, &v), SIPSRV_E_INVAL);
  ck_assert_int_eq(sipsrv_msg_reply_verdict(&res, req, NULL), SIPSRV_E_INVAL);
  ck_assert_ptr_null(res);
  sipsrv_msg_free(req);
}
END_TEST

/* ---- status phrases ----------------------------------------------------- */

/* RFC 3261 21: the standard reason phrases. */
START_TEST(edit_status_phrase_known)
{
  ck_assert_str_eq(sipsrv_status_phrase(200), "OK");
  ck_assert_str_eq(sipsrv_status_phrase(404), "Not Found");
  ck_assert_str_eq(sipsrv_status_phrase(100), "Trying");
  ck_assert_str_eq(sipsrv_status_phrase(180), "Ringing");
  ck_assert_str_eq(sipsrv_status_phrase(420), "Bad Extension");
  ck_assert_str_eq(sipsrv_status_phrase(483), "Too Many Hops");
  ck_assert_str_eq(sipsrv_status_phrase(603), "Decline");
}
END_TEST

START_TEST(edit_status_phrase_unknown)
{
  ck_assert_str_eq(sipsrv_status_phrase(999), "Unknown");
  ck_assert_str_eq(sipsrv_status_phrase(0), "Unknown");
  ck_assert_str_eq(sipsrv_status_phrase(-1), "Unknown");
  ck_assert_str_eq(sipsrv_status_phrase(99), "Unknown");
  ck_assert_str_eq(sipsrv_status_phrase(700), "Unknown");
}
END_TEST

/* ---- suite --------------------------------------------------------------- */

/* RFC 3261 19.1.1 uri-parameters as the proxy reads them (ss_uri_param).
 * A pname may hold ':' ("lr:5070" is an other-param, not lr): Sofia-SIP's
 * url_param() ran past the end of such a last parameter; the exact-size
 * heap copies below make ASan and valgrind see any over-read. */
START_TEST(edit_uri_param)
{
  static const char *const lists[] = { "lr:5070", "lrx", "transport=tcp;lr", "LR", "maddr=",
                                       "user=phone", "a;b;lr=1" };
  char v[16];
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
    char *p = malloc(strlen(lists[i]) + 1);
    ck_assert_ptr_nonnull(p);
    memcpy(p, lists[i], strlen(lists[i]) + 1);
    switch (i) {
    case 0:
    case 1:
      ck_assert_uint_eq(ss_uri_param(p, "lr", v, sizeof v), 0);
      break;
    case 2:
      ck_assert_uint_eq(ss_uri_param(p, "transport", v, sizeof v), 4);
      ck_assert_str_eq(v, "tcp");
      ck_assert_uint_eq(ss_uri_param(p, "lr", NULL, 0), 1);
      ck_assert_uint_eq(ss_uri_param(p, "transport=TCP", NULL, 0), 1);
      ck_assert_uint_eq(ss_uri_param(p, "transport=udp", NULL, 0), 0);
      break;
    case 3:
      ck_assert_uint_eq(ss_uri_param(p, "lr", v, sizeof v), 1);   /* names fold */
      ck_assert_str_eq(v, "");
      break;
    case 4:
      ck_assert_uint_eq(ss_uri_param(p, "maddr", v, sizeof v), 1);
      break;
    case 5:
      ck_assert_uint_eq(ss_uri_param(p, "user=phone", NULL, 0), 1);
      ck_assert_uint_eq(ss_uri_param(p, "user", v, 3), 6);      /* does not fit: length only */
      break;
    default:
      ck_assert_uint_eq(ss_uri_param(p, "lr", v, sizeof v), 2);
      ck_assert_str_eq(v, "1");
      ck_assert_uint_eq(ss_uri_param(p, "c", v, sizeof v), 0);
      break;
    }
    free(p);
  }
  ck_assert_uint_eq(ss_uri_param(NULL, "lr", NULL, 0), 0);
}
END_TEST

/* RFC 3261 18.2.1: a Via that came with "received" twice leaves with ours
 * only; replacing the first left the second for the next parser to read
 * (found by tests/fuzz/fuzz_parse). The same for rport (RFC 3581 4). */
START_TEST(edit_via_received_repeated)
{
  check_stamp(RQ_LINE "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKr2;received=192.0.2.7;rport=1;"
                      "received=192.0.2.8;rport=2\r\n" MF70 DIALOG CL0 END,
              5071, "z9hG4bKr2");
}
END_TEST

/* ---- shallow copies (ss_msg_copy) ----------------------------------------- */

/* ss_msg_copy(): what the proxy forwards (a branch request, a response on
 * its way up, the request it works from) is a copy sharing the original's
 * text; edits stay in the copy, the original's bytes stay as they were,
 * and the copy outlives the original's owner. */
/* r's Via branches are exactly the NULL-terminated want, in order. */
static void branches_are(const sipsrv_msg *r, const char *const *want)
{
  sipsrv_via v;
  int n = 0;
  for (; want[n]; n++) {
    ck_assert_int_eq(sipsrv_msg_via(r, n, &v), 0);
    ck_assert_str_eq(v.branch, want[n]);
  }
  ck_assert_int_eq(sipsrv_msg_via_count(r), n);
}

START_TEST(edit_copy_via_pop_list)
{
  /* A response whose first Via line holds two values: popping ours from a
   * copy leaves the second value of that line and the third line. */
  const char *rsp = "SIP/2.0 200 OK\r\n" VIA_THREE TO_TAG FROM CALLID CSEQ CL0 END;
  sipsrv_msg *orig = parse_ok(rsp);
  sipsrv_msg *c = ss_msg_copy(orig), *r;
  char *bytes;
  ck_assert_ptr_nonnull(c);
  ck_assert_int_eq(sipsrv_msg_via_pop(c), 0);
  sipsrv_msg_free(orig);                 /* the copy keeps what it shares */
  r = reparse(c, &bytes);
  branches_are(r, (const char *const[]){ "z9hG4bKb", "z9hG4bKc", NULL });
  ck_assert_int_eq(count_of(bytes, "z9hG4bKa"), 0);
  free(bytes);
  sipsrv_msg_free(r);
  sipsrv_msg_free(c);
}
END_TEST

START_TEST(edit_copy_leaves_original)
{
  sipsrv_msg *orig = parse_ok(INVITE3);
  sipsrv_msg *c = ss_msg_copy(orig), *c2, *r;
  char *before = wire(orig, NULL), *after, *bytes;
  ck_assert_int_eq(sipsrv_msg_via_pop(c), 0);
  ck_assert_int_eq(sipsrv_msg_max_forwards_dec(c), 69);
  /* A copy of the copy (a branch of the request the proxy works from) with
   * a Via of ours pushed. */
  c2 = ss_msg_copy(c);
  ck_assert_ptr_nonnull(c2);
  ck_assert_int_eq(sipsrv_msg_via_push(c2, "UDP", "proxy.example.com", 5060, "z9hG4bKnew", 0), 0);
  after = wire(orig, NULL);
  ck_assert_str_eq(before, after);       /* the original's bytes as they were */
  r = reparse(c2, &bytes);
  branches_are(r, (const char *const[]){ "z9hG4bKnew", "z9hG4bKb", "z9hG4bKc", NULL });
  ck_assert_int_eq(sipsrv_msg_max_forwards(r), 69);
  free(bytes);
  sipsrv_msg_free(r);
  sipsrv_msg_free(orig);
  sipsrv_msg_free(c);
  r = reparse(c2, NULL);                 /* still whole with both parents gone */
  ck_assert_int_eq(sipsrv_msg_via_count(r), 3);
  sipsrv_msg_free(r);
  sipsrv_msg_free(c2);
  free(before);
  free(after);
}
END_TEST

/* A reference (the proxy's request to route, before 16.4 needs a copy of
 * its own) outlives the holder it came from, and a copy made from it too. */
START_TEST(edit_ref_outlives_holder)
{
  sipsrv_msg *orig = parse_ok(INVITE3);
  char *before = wire(orig, NULL), *after;
  sipsrv_msg *ref = ss_msg_ref(orig), *c;
  ck_assert_ptr_eq(ref, orig);
  sipsrv_msg_free(orig);                 /* the transaction lets go first */
  c = ss_msg_copy(ref);
  ck_assert_ptr_nonnull(c);
  after = wire(ref, NULL);
  ck_assert_str_eq(before, after);
  sipsrv_msg_free(ref);
  ck_assert_int_eq(sipsrv_msg_via_count(c), 3);
  sipsrv_msg_free(c);
  free(before);
  free(after);
}
END_TEST

/* A request that kept a tolerated bad field (a second Content-Type lands
 * in sip_error under its own class): Sofia-SIP's shallow copy of it made
 * msg_serialize() assert (found by tests/fuzz/fuzz_roles); such a message
 * is copied deeply. */
START_TEST(edit_copy_with_error_field)
{
  sipsrv_msg *orig = parse_ok(RQ_LINE VIA_ONE MF70 DIALOG "Content-Type: application/sdp\r\n"
                              "Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n");
  sipsrv_msg *c1 = ss_msg_copy(orig), *c2, *r;
  ck_assert_ptr_nonnull(c1);
  c2 = ss_msg_copy(c1);
  ck_assert_ptr_nonnull(c2);
  ck_assert_int_eq(sipsrv_msg_via_push(c2, "UDP", "proxy.example.com", 5060, "z9hG4bKe1", 0), 0);
  r = reparse(c2, NULL);
  ck_assert_int_eq(sipsrv_msg_via_count(r), 2);
  sipsrv_msg_free(r);
  sipsrv_msg_free(c2);
  sipsrv_msg_free(c1);
  sipsrv_msg_free(orig);
}
END_TEST

/* RFC 3261 25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" /
 * "+" / "`" / "'" / "~"): ss_is_token_char() says so for exactly those of
 * the 256 octets. */
START_TEST(edit_token_chars)
{
  for (int c = 0; c < 256; c++) {
    bool want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                (c && strchr("-.!%*_+`'~", c));
    ck_assert_msg(ss_is_token_char((unsigned char)c) == want, "octet %d", c);
  }
}
END_TEST

/* ss_msg_wire_pop_via(): a response as received but its top Via (RFC 3261
 * 16.7 step 3), as bytes. */
START_TEST(edit_wire_pop_via)
{
  const char *rsp = "SIP/2.0 200 OK\r\n"
                    "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKours\r\n"
                    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1\r\n"
                    TO_TAG FROM CALLID CSEQ "Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n";
  const char *shared = "SIP/2.0 200 OK\r\nVia: " VIA_A ", " VIA_B "\r\n" TO_TAG FROM CALLID CSEQ CL0 END;
  const char *shared_less = "SIP/2.0 200 OK\r\nVia: " VIA_B "\r\n" TO_TAG FROM CALLID CSEQ CL0 END;
  const char *folded = "SIP/2.0 200 OK\r\nVia: " VIA_A ",\r\n " VIA_B "\r\n" TO_TAG FROM CALLID CSEQ CL0 END;
  const char *nocl = "SIP/2.0 180 Ringing\r\n"
                     "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKours\r\n" VIA_ONE TO_TAG FROM CALLID
                     CSEQ END;
  char buf[2048];
  sipsrv_msg *m = parse_ok(rsp), *r;
  sipsrv_via v;
  long n = ss_msg_wire_pop_via(m, buf, sizeof buf);
  const char *want = strstr(rsp, "Via: SIP/2.0/UDP pc33");

  ck_assert_int_gt(n, 0);
  /* Everything but the first Via line, byte for byte. */
  ck_assert_int_eq(n, (long)(strlen(rsp) - (size_t)(want - strstr(rsp, "Via: "))));
  ck_assert_int_eq(memcmp(buf, "SIP/2.0 200 OK\r\n", 16), 0);
  ck_assert_int_eq(memcmp(buf + 16, want, strlen(want)), 0);
  r = parse_ok_len(buf, (size_t)n, SIPSRV_PARSE_STREAM);
  ck_assert_int_eq(sipsrv_msg_via_count(r), 1);
  ck_assert_int_eq(sipsrv_msg_via(r, 0, &v), 0);
  ck_assert_str_eq(v.branch, "z9hG4bK776asdhds");
  sipsrv_msg_free(r);
  ck_assert_int_eq(ss_msg_wire_pop_via(m, buf, 100), SIPSRV_E_NOMEM);
  sipsrv_msg_free(m);
  /* Our Via sharing a line with the next (as sipp's [last_Via:] writes
   * them): our value and its comma go, the line stays. */
  m = parse_ok(shared);
  n = ss_msg_wire_pop_via(m, buf, sizeof buf);
  ck_assert_int_eq(n, (long)strlen(shared_less));
  ck_assert_int_eq(memcmp(buf, shared_less, (size_t)n), 0);
  sipsrv_msg_free(m);
  /* Our Via in a folded line: the caller edits a copy. */
  m = parse_ok(folded);
  ck_assert_int_eq(ss_msg_wire_pop_via(m, buf, sizeof buf), SIPSRV_E_INVAL);
  sipsrv_msg_free(m);
  /* A datagram without Content-Length gets one on its way (18.3). */
  m = parse_ok(nocl);
  n = ss_msg_wire_pop_via(m, buf, sizeof buf);
  ck_assert_int_gt(n, 0);
  r = parse_ok_len(buf, (size_t)n, SIPSRV_PARSE_STREAM);
  ck_assert_int_eq(sipsrv_msg_via_count(r), 1);
  ck_assert_int_eq(sipsrv_msg_status(r), 180);
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

/* ---- replies as bytes (ss_reply_wire) ----------------------------------- */

/* The reply ss_reply_wire() writes for req against the one
 * sipsrv_msg_reply() builds with the same options: the same fields once
 * parsed (RFC 3261 8.2.6.2: every Via in order with its parameters, From,
 * To with the same tag, Call-ID, CSeq; the extra headers; no body). */
static void wire_like_reply(sipsrv_msg *req, int status, const char *headers)
{
  char buf[4096], tag[24];
  sipsrv_reply_opts o = SIPSRV_REPLY_OPTS_INIT;
  sipsrv_msg *a, *b;
  sipsrv_via va, vb;
  sipsrv_addr fa, fb;
  long n = ss_reply_wire(req, status, NULL, NULL, headers, buf, sizeof buf, tag, sizeof tag);
  char *bw;

  ck_assert_msg(n > 0, "ss_reply_wire returned %ld", n);
  a = parse_ok_len(buf, (size_t)n, SIPSRV_PARSE_STREAM);   /* so Content-Length is right */
  o.headers = headers;
  ck_assert_int_eq(sipsrv_msg_reply(&b, req, status, NULL, &o), 0);
  bw = wire(b, NULL);
  ck_assert_int_eq(sipsrv_msg_status(a), status);
  ck_assert_int_eq(sipsrv_msg_via_count(a), sipsrv_msg_via_count(b));
  for (int i = 0; i < sipsrv_msg_via_count(a); i++) {
    char pa[256] = "", pb[256] = "";
    ck_assert_int_eq(sipsrv_msg_via(a, i, &va), 0);
    ck_assert_int_eq(sipsrv_msg_via(b, i, &vb), 0);
    ck_assert_str_eq(va.host, vb.host);
    ck_assert_str_eq(va.branch ? va.branch : "-", vb.branch ? vb.branch : "-");
    ck_assert_str_eq(va.received ? va.received : "-", vb.received ? vb.received : "-");
    ck_assert_str_eq(va.rport ? va.rport : "-", vb.rport ? vb.rport : "-");
    for (int k = 0; va.params && va.params[k]; k++)
      strncat(pa, va.params[k], sizeof pa - strlen(pa) - 1);
    for (int k = 0; vb.params && vb.params[k]; k++)
      strncat(pb, vb.params[k], sizeof pb - strlen(pb) - 1);
    ck_assert_str_eq(pa, pb);
  }
  ck_assert_int_eq(sipsrv_msg_from(a, &fa), 0);
  ck_assert_int_eq(sipsrv_msg_from(b, &fb), 0);
  ck_assert_str_eq(fa.tag, fb.tag);
  ck_assert_int_eq(sipsrv_msg_to(a, &fa), 0);
  ck_assert_int_eq(sipsrv_msg_to(b, &fb), 0);
  ck_assert_ptr_nonnull(fa.tag);
  ck_assert_str_eq(fa.tag, fb.tag);
  ck_assert_str_eq(fa.tag, tag);
  ck_assert_str_eq(sipsrv_msg_call_id(a), sipsrv_msg_call_id(b));
  ck_assert_ptr_nonnull(strstr(buf, "\r\nContent-Length: 0\r\n\r\n"));
  if (headers)
    ck_assert_ptr_nonnull(strstr(buf, headers));
  ck_assert_int_eq(memcmp(buf + n - 4, "\r\n\r\n", 4), 0);
  for (long i = 0; i < n; i++)
    ck_assert_msg(buf[i] != '\n' || (i > 0 && buf[i - 1] == '\r'), "bare LF at %ld", i);
  sipsrv_msg_free(a);
  sipsrv_msg_free(b);
  free(bw);
}

/* ss_reply_wire(): RFC 3261 8.2.6.2 from the request's text. */
START_TEST(edit_reply_wire_fields)
{
  sipsrv_msg *m = parse_ok(INVITE3);                 /* a Via line with two values */
  wire_like_reply(m, 200, NULL);
  wire_like_reply(m, 486, "Retry-After: 5");
  wire_like_reply(m, 200, "Contact: <sip:bob@192.0.2.4>;expires=60\r\nDate: Sat, 13 Nov 2010 23:29:00 GMT");
  /* The top Via edited (received, rport: RFC 3261 18.2.1, RFC 3581 4): it
   * goes out as edited, the others as received. */
  ck_assert_int_eq(sipsrv_msg_via_set_received(m, "192.0.2.9", 5071), 0);
  wire_like_reply(m, 200, NULL);
  sipsrv_msg_free(m);
  /* A To with its tag keeps it; compact forms; a folded To; lines that
   * ended in a bare LF (they go back with CRLF, RFC 3261 7). */
  static const struct {
    const char *text;
    int status;
  } more[] = {
    { "BYE sip:bob@192.0.2.4 SIP/2.0\r\n"
      "v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKw1;rport\r\n"
      "f: <sip:a@example.com>;tag=1\r\n"
      "t: <sip:bob@example.com>;tag=abc\r\n"
      "i: w1@192.0.2.1\r\n"
      "CSeq: 2 BYE\r\n"
      "l: 0\r\n\r\n", 200 },
    { "OPTIONS sip:bob@example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKw2\r\n"
      "From: <sip:a@example.com>;tag=1\r\n"
      "To:\r\n <sip:bob@example.com> \r\n"
      "Call-ID: w2@192.0.2.1\r\n"
      "CSeq: 1 OPTIONS\r\n"
      "Content-Length: 0\r\n\r\n", 404 },
    { "OPTIONS sip:bob@example.com SIP/2.0\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKw3\n"
      "From: <sip:a@example.com>;tag=1\n"
      "To: <sip:bob@example.com>\n"
      "Call-ID: w3@192.0.2.1\n"
      "CSeq: 1 OPTIONS\n"
      "Content-Length: 0\n\n", 200 },
  };
  for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
    m = parse_ok(more[i].text);
    wire_like_reply(m, more[i].status, NULL);
    sipsrv_msg_free(m);
  }
}
END_TEST

/* What ss_reply_wire() leaves to sipsrv_msg_reply(): provisional status,
 * header text that is not "Name: value" lines (a bare LF, an empty line,
 * no name), a phrase with a line end; a buffer too small. */
START_TEST(edit_reply_wire_refuses)
{
  sipsrv_msg *m = parse_ok(INVITE1);
  char buf[4096], tag[24];
  ck_assert_int_eq(ss_reply_wire(m, 180, NULL, NULL, NULL, buf, sizeof buf, tag, sizeof tag), SIPSRV_E_INVAL);
  ck_assert_int_eq(ss_reply_wire(m, 200, NULL, NULL, "X: 1\nY: 2", buf, sizeof buf, tag, sizeof tag),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(ss_reply_wire(m, 200, NULL, NULL, "X: 1\r\n\r\nY: 2", buf, sizeof buf, tag, sizeof tag),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(ss_reply_wire(m, 200, NULL, NULL, ": 1", buf, sizeof buf, tag, sizeof tag), SIPSRV_E_INVAL);
  ck_assert_int_eq(ss_reply_wire(m, 200, NULL, NULL, "X: 1\r\n", buf, sizeof buf, tag, sizeof tag),
                   SIPSRV_E_INVAL);
  ck_assert_int_eq(ss_reply_wire(m, 200, "O\r\nK", NULL, NULL, buf, sizeof buf, tag, sizeof tag), SIPSRV_E_INVAL);
  ck_assert_int_eq(ss_reply_wire(m, 200, NULL, NULL, NULL, buf, 100, tag, sizeof tag), SIPSRV_E_NOMEM);
  ck_assert_int_gt(ss_reply_wire(m, 200, NULL, NULL, "X: 1\r\nY: 2", buf, sizeof buf, tag, sizeof tag), 0);
  /* A To tag of the caller's choosing (a UAS's dialog tag): a token. */
  ck_assert_int_eq(ss_reply_wire(m, 200, NULL, "a b", NULL, buf, sizeof buf, tag, sizeof tag), SIPSRV_E_INVAL);
  ck_assert_int_gt(ss_reply_wire(m, 200, NULL, "uas-7", NULL, buf, sizeof buf, tag, sizeof tag), 0);
  ck_assert_str_eq(tag, "uas-7");
  ck_assert_ptr_nonnull(strstr(buf, "\r\nTo: Bob <sip:bob@biloxi.example.com>;tag=uas-7\r\n"));
  sipsrv_msg_free(m);
}
END_TEST

/* RFC 3581 4: "rport" last in the first value of a Via line that holds
 * two. Sofia-SIP misses it there (the parameter ends at the comma only
 * after it filled in v_rport), so the response went to the sent-by port. */
START_TEST(edit_via_list_rport)
{
  sipsrv_msg *m = parse_ok(RQ_LINE "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKl1;rport, " VIA_B "\r\n"
                           MF70 DIALOG CL0 END);
  sipsrv_msg *r;
  sipsrv_via v;
  ck_assert_int_eq(sipsrv_msg_via(m, 0, &v), 0);
  ck_assert_ptr_nonnull(v.rport);
  ck_assert_int_eq(sipsrv_msg_via_set_received(m, "192.0.2.9", 5071), 0);
  r = reparse(m, NULL);
  ck_assert_int_eq(sipsrv_msg_via(r, 0, &v), 0);
  ck_assert_str_eq(v.rport ? v.rport : "(none)", "5071");
  ck_assert_str_eq(v.received, "192.0.2.9");
  ck_assert_int_eq(sipsrv_msg_via(r, 1, &v), 0);
  ck_assert_str_eq(v.branch, "z9hG4bKb");
  sipsrv_msg_free(r);
  sipsrv_msg_free(m);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("edit");
  TCase *tc;

  tc = tcase_create("uri_param");
  tcase_add_test(tc, edit_uri_param);
  suite_add_tcase(s, tc);

  tc = tcase_create("zerocopy");
  tcase_add_test(tc, edit_zerocopy_plain);
  tcase_add_test(tc, edit_zerocopy_wsinv);
  tcase_add_test(tc, edit_zerocopy_wsinv_after_edit);
  tcase_add_test(tc, edit_serialize_inval);
  suite_add_tcase(s, tc);

  tc = tcase_create("via_push");
  tcase_add_test(tc, edit_via_push_order);
  tcase_add_test(tc, edit_via_push_rport);
  tcase_add_test(tc, edit_via_push_ipv6);
  tcase_add_test(tc, edit_via_push_inval);
  tcase_add_test(tc, edit_via_push_host_with_port);
  tcase_add_test(tc, edit_via_push_long_branch);
  suite_add_tcase(s, tc);

  tc = tcase_create("via_pop");
  tcase_add_test(tc, edit_via_pop_shared_line);
  tcase_add_test(tc, edit_via_pop_wsinv);
  tcase_add_test(tc, edit_via_pop_empty);
  suite_add_tcase(s, tc);

  tc = tcase_create("via_received");
  tcase_add_test(tc, edit_via_received_no_rport);
  tcase_add_test(tc, edit_via_received_rport);
  tcase_add_test(tc, edit_via_received_leave);
  tcase_add_test(tc, edit_via_received_ipv6);
  tcase_add_test(tc, edit_via_received_shared_line);
  tcase_add_test(tc, edit_via_received_inval);
  tcase_add_test(tc, edit_via_received_not_address);
  suite_add_tcase(s, tc);

  tc = tcase_create("max_forwards");
  tcase_add_test(tc, edit_max_forwards_dec);
  tcase_add_test(tc, edit_max_forwards_absent);
  tcase_add_test(tc, edit_max_forwards_zero);
  tcase_add_test(tc, edit_max_forwards_inval);
  suite_add_tcase(s, tc);

  tc = tcase_create("request_uri");
  tcase_add_test(tc, edit_request_uri_set);
  tcase_add_test(tc, edit_request_uri_ext_method);
  tcase_add_test(tc, edit_request_uri_inval);
  tcase_add_test(tc, edit_request_uri_bad_host);
  suite_add_tcase(s, tc);

  tc = tcase_create("addr");
  tcase_add_test(tc, edit_addr_record_route_push);
  tcase_add_test(tc, edit_addr_route_append);
  tcase_add_test(tc, edit_addr_route_pop);
  tcase_add_test(tc, edit_addr_route_pop_wsinv);
  tcase_add_test(tc, edit_addr_inval);
  suite_add_tcase(s, tc);

  tc = tcase_create("param");
  tcase_add_test(tc, edit_param_to_tag);
  tcase_add_test(tc, edit_param_replace);
  tcase_add_test(tc, edit_param_remove);
  tcase_add_test(tc, edit_param_flag);
  tcase_add_test(tc, edit_param_second_via);
  tcase_add_test(tc, edit_param_wsinv_from);
  tcase_add_test(tc, edit_param_inval);
  tcase_add_test(tc, edit_param_value_not_token);
  suite_add_tcase(s, tc);

  tc = tcase_create("header");
  tcase_add_test(tc, edit_header_add);
  tcase_add_test(tc, edit_header_remove_all);
  tcase_add_test(tc, edit_header_remove_on_copy);
  tcase_add_test(tc, edit_header_remove_compact);
  tcase_add_test(tc, edit_header_inval);
  tcase_add_test(tc, edit_header_add_bad_name);
  suite_add_tcase(s, tc);

  tc = tcase_create("iovec");
  tcase_add_test(tc, edit_iovec_fill);
  tcase_add_test(tc, edit_iovec_content_length);
  tcase_add_test(tc, edit_iovec_inval);
  suite_add_tcase(s, tc);

  tc = tcase_create("reply");
  tcase_add_test(tc, edit_reply_404);
  tcase_add_test(tc, edit_reply_tag_deterministic);
  tcase_add_test(tc, edit_reply_tag_kept);
  tcase_add_test(tc, edit_reply_100);
  tcase_add_test(tc, edit_reply_opts);
  tcase_add_test(tc, edit_reply_body);
  tcase_add_test(tc, edit_reply_headers_and_body);
  tcase_add_test(tc, edit_reply_inval);
  tcase_add_test(tc, edit_reply_bad_to_tag);
  tcase_add_test(tc, edit_reply_wire_fields);
  tcase_add_test(tc, edit_reply_wire_refuses);
  tcase_add_test(tc, edit_via_list_rport);
  tcase_add_test(tc, edit_via_received_repeated);
  tcase_add_test(tc, edit_copy_via_pop_list);
  tcase_add_test(tc, edit_copy_leaves_original);
  tcase_add_test(tc, edit_ref_outlives_holder);
  tcase_add_test(tc, edit_wire_pop_via);
  tcase_add_test(tc, edit_token_chars);
  tcase_add_test(tc, edit_copy_with_error_field);
  suite_add_tcase(s, tc);

  tc = tcase_create("reply_verdict");
  tcase_add_test(tc, edit_reply_verdict_420);
  tcase_add_test(tc, edit_reply_verdict_from_check);
  tcase_add_test(tc, edit_reply_verdict_505);
  tcase_add_test(tc, edit_reply_verdict_inval);
  suite_add_tcase(s, tc);

  tc = tcase_create("status_phrase");
  tcase_add_test(tc, edit_status_phrase_known);
  tcase_add_test(tc, edit_status_phrase_unknown);
  suite_add_tcase(s, tc);

  return s;
}

int main(void)
{
  return harness_run(suite());
}
