/* Tests of the test harness itself (tests/harness): the manual clock, the
 * in-memory transport pair and the corpus helpers. The transaction tests
 * trust these to move time and bytes exactly as told. */
#include <check.h>

#include "harness.h"
#include "txn/txn.h"

#include <sipsrv/sipsrv.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

/* ---- tclock ------------------------------------------------------------ */

START_TEST(harness_tclock_start)
{
  tclock c = { 123456 };
  ck_assert_uint_eq(tclock_now(&c), 123456);
  c.now_ms = 0;
  ck_assert_uint_eq(tclock_now(&c), 0);
}
END_TEST

START_TEST(harness_tclock_callback_shape)
{
  /* The core will hold the clock as a callback plus a void* user. */
  uint64_t (*now)(void *) = tclock_now;
  tclock c = { 500 };
  void *user = &c;

  ck_assert_uint_eq(now(user), 500);
}
END_TEST

START_TEST(harness_tclock_advance)
{
  tclock c = { 1000 };

  tclock_advance(&c, 0);
  ck_assert_uint_eq(tclock_now(&c), 1000);
  tclock_advance(&c, 500);
  ck_assert_uint_eq(tclock_now(&c), 1500);
  tclock_advance(&c, 31500);          /* RFC 3261 Timer B: 64*T1 */
  ck_assert_uint_eq(tclock_now(&c), 33000);
  /* Large values do not wrap early. */
  c.now_ms = UINT64_C(1) << 40;
  tclock_advance(&c, UINT64_C(1) << 40);
  ck_assert_uint_eq(tclock_now(&c), UINT64_C(1) << 41);
}
END_TEST

START_TEST(harness_tclock_independent)
{
  tclock a = { 10 }, b = { 20 };
  tclock_advance(&a, 5);
  ck_assert_uint_eq(tclock_now(&a), 15);
  ck_assert_uint_eq(tclock_now(&b), 20);
}
END_TEST

/* ---- tpipe datagram ---------------------------------------------------- */

static tpipe *dgram_pair(void)
{
  tpipe *p = tpipe_new(TPIPE_DGRAM, "127.0.0.1:5060", "127.0.0.1:5070");
  ck_assert_ptr_nonnull(p);
  ck_assert_ptr_nonnull(p->a);
  ck_assert_ptr_nonnull(p->b);
  ck_assert_int_eq(p->kind, TPIPE_DGRAM);
  return p;
}

START_TEST(harness_dgram_roundtrip)
{
  tpipe *p = dgram_pair();
  static const char msg[] = "OPTIONS sip:a@b SIP/2.0\r\n\r\n";
  char buf[256];

  ck_assert_int_eq(tpipe_send(p->a, msg, sizeof msg - 1), (long)(sizeof msg - 1));
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), (long)(sizeof msg - 1));
  ck_assert_int_eq(memcmp(buf, msg, sizeof msg - 1), 0);
  /* Nothing came back to the sender. */
  ck_assert_int_eq(tpipe_recv(p->a, buf, sizeof buf), 0);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_dgram_both_ways)
{
  tpipe *p = dgram_pair();
  char buf[16];

  ck_assert_int_eq(tpipe_send(p->a, "ping", 4), 4);
  ck_assert_int_eq(tpipe_send(p->b, "pong!", 5), 5);
  ck_assert_int_eq(tpipe_recv(p->a, buf, sizeof buf), 5);
  ck_assert_int_eq(memcmp(buf, "pong!", 5), 0);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), 4);
  ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_dgram_boundaries)
{
  tpipe *p = dgram_pair();
  char buf[64];

  ck_assert_int_eq(tpipe_send(p->a, "first", 5), 5);
  ck_assert_int_eq(tpipe_send(p->a, "second!", 7), 7);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), 5);
  ck_assert_int_eq(memcmp(buf, "first", 5), 0);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), 7);
  ck_assert_int_eq(memcmp(buf, "second!", 7), 0);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), 0);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_dgram_truncate)
{
  tpipe *p = dgram_pair();
  char buf[8];

  memset(buf, '#', sizeof buf);
  ck_assert_int_eq(tpipe_send(p->a, "0123456789", 10), 10);
  ck_assert_int_eq(tpipe_send(p->a, "next", 4), 4);
  ck_assert_int_eq(tpipe_recv(p->b, buf, 4), 4);
  ck_assert_int_eq(memcmp(buf, "0123", 4), 0);
  ck_assert_int_eq(buf[4], '#');          /* nothing written past size */
  /* The rest of a truncated datagram is gone, as with recvmsg. */
  ck_assert_uint_eq(tpipe_pending(p->b), 1);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), 4);
  ck_assert_int_eq(memcmp(buf, "next", 4), 0);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_dgram_pending)
{
  tpipe *p = dgram_pair();
  char buf[32];

  ck_assert_uint_eq(tpipe_pending(p->a), 0);
  ck_assert_uint_eq(tpipe_pending(p->b), 0);
  tpipe_send(p->a, "one", 3);
  tpipe_send(p->a, "two", 3);
  tpipe_send(p->a, "three", 5);
  /* Datagrams are counted, not bytes, and only at the receiving end. */
  ck_assert_uint_eq(tpipe_pending(p->b), 3);
  ck_assert_uint_eq(tpipe_pending(p->a), 0);
  tpipe_recv(p->b, buf, sizeof buf);
  ck_assert_uint_eq(tpipe_pending(p->b), 2);
  tpipe_recv(p->b, buf, sizeof buf);
  tpipe_recv(p->b, buf, sizeof buf);
  ck_assert_uint_eq(tpipe_pending(p->b), 0);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_dgram_drop_one)
{
  tpipe *p = dgram_pair();
  char buf[32];

  tpipe_drop_next(p->a, 1);
  ck_assert_int_eq(tpipe_send(p->a, "lost", 4), -1);
  ck_assert_uint_eq(tpipe_pending(p->b), 0);
  ck_assert_int_eq(tpipe_send(p->a, "kept", 4), 4);
  ck_assert_int_eq(tpipe_send(p->a, "also", 4), 4);
  ck_assert_uint_eq(tpipe_pending(p->b), 2);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), 4);
  ck_assert_int_eq(memcmp(buf, "kept", 4), 0);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), 4);
  ck_assert_int_eq(memcmp(buf, "also", 4), 0);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_dgram_drop_only_this_end)
{
  tpipe *p = dgram_pair();
  char buf[32];

  /* Loss armed on a does not touch what b sends. */
  tpipe_drop_next(p->a, 2);
  ck_assert_int_eq(tpipe_send(p->b, "from b", 6), 6);
  ck_assert_int_eq(tpipe_recv(p->a, buf, sizeof buf), 6);
  ck_assert_int_eq(tpipe_send(p->a, "x", 1), -1);
  ck_assert_int_eq(tpipe_send(p->a, "y", 1), -1);
  ck_assert_int_eq(tpipe_send(p->a, "z", 1), 1);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), 1);
  ck_assert_int_eq(buf[0], 'z');
  tpipe_free(p);
}
END_TEST

START_TEST(harness_dgram_sendv)
{
  tpipe *p = dgram_pair();
  char h[] = "INVITE sip:x SIP/2.0\r\n", sep[] = "\r\n", body[] = "v=0\r\n";
  struct iovec iov[3] = {
    { h, sizeof h - 1 }, { sep, sizeof sep - 1 }, { body, sizeof body - 1 },
  };
  const char *want = "INVITE sip:x SIP/2.0\r\n\r\nv=0\r\n";
  long total = (long)strlen(want);
  char buf[128];

  ck_assert_int_eq(tpipe_sendv(p->a, iov, 3), total);
  ck_assert_uint_eq(tpipe_pending(p->b), 1);   /* one datagram */
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), total);
  ck_assert_int_eq(memcmp(buf, want, (size_t)total), 0);
  ck_assert_uint_eq(tpipe_sent(p->a), 1);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_dgram_sent_counts_drops)
{
  tpipe *p = dgram_pair();
  struct iovec v = { (void *)"abc", 3 };

  ck_assert_uint_eq(tpipe_sent(p->a), 0);
  tpipe_send(p->a, "1", 1);
  tpipe_drop_next(p->a, 1);
  ck_assert_int_eq(tpipe_send(p->a, "2", 1), -1);
  ck_assert_int_eq(tpipe_sendv(p->a, &v, 1), 3);
  ck_assert_uint_eq(tpipe_sent(p->a), 3);
  ck_assert_uint_eq(tpipe_sent(p->b), 0);
  ck_assert_uint_eq(tpipe_pending(p->b), 2);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_dgram_addr_peer)
{
  tpipe *p = dgram_pair();

  ck_assert_str_eq(tpipe_addr(p->a), "127.0.0.1:5060");
  ck_assert_str_eq(tpipe_addr(p->b), "127.0.0.1:5070");
  ck_assert_ptr_eq(tpipe_peer(p->a), p->b);
  ck_assert_ptr_eq(tpipe_peer(p->b), p->a);
  ck_assert_str_eq(tpipe_addr(tpipe_peer(p->a)), "127.0.0.1:5070");
  tpipe_free(p);
}
END_TEST

START_TEST(harness_dgram_addr_null)
{
  tpipe *p = tpipe_new(TPIPE_DGRAM, NULL, NULL);

  ck_assert_ptr_nonnull(p);
  ck_assert_str_eq(tpipe_addr(p->a), "");
  ck_assert_str_eq(tpipe_addr(p->b), "");
  tpipe_free(p);
}
END_TEST

START_TEST(harness_dgram_recv_empty)
{
  tpipe *p = dgram_pair();
  char buf[8];

  ck_assert_int_eq(tpipe_recv(p->a, buf, sizeof buf), 0);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), 0);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_dgram_peer_close_drains)
{
  tpipe *p = dgram_pair();
  char buf[16];

  tpipe_send(p->a, "bye", 3);
  tpipe_send(p->a, "bye2", 4);
  tpipe_close(p->a);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), 3);
  ck_assert_int_eq(memcmp(buf, "bye", 3), 0);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), 4);
  ck_assert_int_eq(memcmp(buf, "bye2", 4), 0);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), -1);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), -1);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_dgram_send_closed)
{
  tpipe *p = dgram_pair();
  struct iovec v = { (void *)"x", 1 };

  tpipe_close(p->a);
  ck_assert_int_eq(tpipe_send(p->a, "x", 1), -1);
  ck_assert_int_eq(tpipe_sendv(p->a, &v, 1), -1);
  /* Nor can the peer send to a closed end. */
  ck_assert_int_eq(tpipe_send(p->b, "x", 1), -1);
  ck_assert_uint_eq(tpipe_pending(p->a), 0);
  ck_assert_uint_eq(tpipe_pending(p->b), 0);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_dgram_free_null)
{
  tpipe_free(NULL);
}
END_TEST

START_TEST(harness_dgram_free_queued)
{
  tpipe *p = dgram_pair();

  /* Queued datagrams at both ends are freed with the pair (valgrind). */
  tpipe_send(p->a, "left", 4);
  tpipe_send(p->b, "behind", 6);
  tpipe_free(p);
}
END_TEST

/* ---- tpipe stream ------------------------------------------------------ */

static tpipe *stream_pair(void)
{
  tpipe *p = tpipe_new(TPIPE_STREAM, "10.0.0.1:5060", "10.0.0.2:40000");
  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(p->kind, TPIPE_STREAM);
  return p;
}

/* Read everything queued at e into buf; returns the byte count. */
static size_t drain(tpipe_end *e, char *buf, size_t size, size_t step, size_t *calls)
{
  size_t got = 0;
  long n;

  *calls = 0;
  while (got < size && (n = tpipe_recv(e, buf + got, step < size - got ? step : size - got)) > 0) {
    got += (size_t)n;
    (*calls)++;
  }
  return got;
}

START_TEST(harness_stream_concat)
{
  tpipe *p = stream_pair();
  char buf[64];
  size_t calls;

  ck_assert_int_eq(tpipe_send(p->a, "REGISTER ", 9), 9);
  ck_assert_int_eq(tpipe_send(p->a, "sip:x", 5), 5);
  ck_assert_int_eq(tpipe_send(p->a, " SIP/2.0", 8), 8);
  ck_assert_uint_eq(drain(p->b, buf, sizeof buf, sizeof buf, &calls), 22);
  ck_assert_int_eq(memcmp(buf, "REGISTER sip:x SIP/2.0", 22), 0);
  ck_assert_uint_eq(tpipe_pending(p->b), 0);
  tpipe_free(p);
}
END_TEST

/* One read takes bytes of several sends, as a socket read does: pipelined
 * messages arrive in one read (RFC 3261 18.3 framing must cope). */
START_TEST(harness_stream_read_across_sends)
{
  tpipe *p = stream_pair();
  char buf[64];

  ck_assert_int_eq(tpipe_send(p->a, "abc", 3), 3);
  ck_assert_int_eq(tpipe_send(p->a, "def", 3), 3);
  ck_assert_int_eq(tpipe_send(p->a, "gh", 2), 2);
  ck_assert_int_eq(tpipe_recv(p->b, buf, 5), 5);
  ck_assert_int_eq(memcmp(buf, "abcde", 5), 0);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), 3);
  ck_assert_int_eq(memcmp(buf, "fgh", 3), 0);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), 0);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_stream_split_reads)
{
  tpipe *p = stream_pair();
  char buf[64];
  size_t calls;

  /* A read smaller than a send leaves the rest for the next read. */
  tpipe_send(p->a, "abcdefghij", 10);
  ck_assert_int_eq(tpipe_recv(p->b, buf, 4), 4);
  ck_assert_int_eq(memcmp(buf, "abcd", 4), 0);
  ck_assert_uint_eq(tpipe_pending(p->b), 6);
  ck_assert_uint_eq(drain(p->b, buf, sizeof buf, sizeof buf, &calls), 6);
  ck_assert_int_eq(memcmp(buf, "efghij", 6), 0);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_stream_chunk)
{
  tpipe *p = stream_pair();
  const char *want = "SIP/2.0 200 OK\r\n";
  size_t len = strlen(want), got = 0, calls = 0;
  char buf[64];
  long n;

  tpipe_set_chunk(p->b, 3);
  tpipe_send(p->a, "SIP/2.0 ", 8);
  tpipe_send(p->a, "200 OK\r\n", 8);
  while ((n = tpipe_recv(p->b, buf + got, sizeof buf - got)) > 0) {
    ck_assert_int_le(n, 3);
    got += (size_t)n;
    calls++;
  }
  ck_assert_int_eq(n, 0);
  ck_assert_uint_eq(got, len);
  ck_assert_int_eq(memcmp(buf, want, len), 0);
  /* 8 bytes per send at 3 a read: 3+3+2 twice. */
  ck_assert_uint_ge(calls, (len + 2) / 3);
  ck_assert_uint_eq(calls, 6);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_stream_chunk_off)
{
  tpipe *p = stream_pair();
  char buf[64];

  tpipe_set_chunk(p->b, 3);
  tpipe_set_chunk(p->b, 0);     /* 0: no limit */
  tpipe_send(p->a, "0123456789", 10);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), 10);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_stream_pending)
{
  tpipe *p = stream_pair();
  char buf[8];

  ck_assert_uint_eq(tpipe_pending(p->b), 0);
  tpipe_send(p->a, "hello", 5);
  tpipe_send(p->a, "world!", 6);
  ck_assert_uint_eq(tpipe_pending(p->b), 11);
  ck_assert_uint_eq(tpipe_pending(p->a), 0);
  ck_assert_int_eq(tpipe_recv(p->b, buf, 2), 2);
  ck_assert_uint_eq(tpipe_pending(p->b), 9);
  tpipe_set_chunk(p->b, 1);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), 1);
  ck_assert_uint_eq(tpipe_pending(p->b), 8);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_stream_sendv)
{
  tpipe *p = stream_pair();
  struct iovec iov[2] = { { (void *)"Via: ", 5 }, { (void *)"x\r\n", 3 } };
  char buf[16];
  size_t calls;

  ck_assert_int_eq(tpipe_sendv(p->a, iov, 2), 8);
  ck_assert_uint_eq(tpipe_pending(p->b), 8);
  ck_assert_uint_eq(drain(p->b, buf, sizeof buf, sizeof buf, &calls), 8);
  ck_assert_int_eq(memcmp(buf, "Via: x\r\n", 8), 0);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_stream_peer_close_drains)
{
  tpipe *p = stream_pair();
  char buf[16];
  size_t calls;

  tpipe_send(p->a, "tail", 4);
  tpipe_close(p->a);
  ck_assert_uint_eq(drain(p->b, buf, sizeof buf, 3, &calls), 4);
  ck_assert_int_eq(memcmp(buf, "tail", 4), 0);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), -1);
  ck_assert_int_eq(tpipe_send(p->a, "x", 1), -1);
  tpipe_free(p);
}
END_TEST

START_TEST(harness_stream_free_partial)
{
  tpipe *p = stream_pair();
  char buf[2];

  /* A half-read chunk is freed with the pair (valgrind). */
  tpipe_send(p->a, "abcdef", 6);
  ck_assert_int_eq(tpipe_recv(p->b, buf, sizeof buf), 2);
  tpipe_free(p);
}
END_TEST

/* ---- corpus ------------------------------------------------------------ */

static char *index_path(void)
{
  const char *dir = conformance_dir();
  size_t n;
  char *path;

  ck_assert_ptr_nonnull(dir);
  ck_assert_uint_gt(strlen(dir), 0);
  n = strlen(dir) + sizeof "/rfc4475/INDEX.tsv";
  path = malloc(n);
  ck_assert_ptr_nonnull(path);
  snprintf(path, n, "%s/rfc4475/INDEX.tsv", dir);
  return path;
}

START_TEST(harness_corpus_dir)
{
  char *path = index_path();
  FILE *f = fopen(path, "rb");

  ck_assert_msg(f != NULL, "cannot open %s", path);
  fclose(f);
  free(path);
}
END_TEST

START_TEST(harness_corpus_read)
{
  char *path = index_path();
  FILE *f = fopen(path, "rb");
  long want;
  size_t len = 0;
  char *data;

  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
  want = ftell(f);
  fclose(f);
  ck_assert_int_gt(want, 0);

  data = read_file(path, &len);
  ck_assert_ptr_nonnull(data);
  ck_assert_uint_eq(len, (size_t)want);
  ck_assert_int_eq(data[len], '\0');
  ck_assert_uint_eq(strlen(data), len);        /* a text file: no NUL inside */
  /* The index starts with its header row. */
  ck_assert_int_eq(strncmp(data, "name\t", 5), 0);
  free(data);
  free(path);
}
END_TEST

START_TEST(harness_corpus_read_missing)
{
  size_t len = 0;
  char *path = index_path();
  size_t n = strlen(path) + sizeof ".does-not-exist";
  char *missing = malloc(n);

  ck_assert_ptr_nonnull(missing);
  snprintf(missing, n, "%s.does-not-exist", path);
  ck_assert_ptr_null(read_file(missing, &len));
  ck_assert_ptr_null(read_file("/nonexistent/sipsrv/none.dat", &len));
  free(missing);
  free(path);
}
END_TEST

/* ---- suite ------------------------------------------------------------- */

/* ---- the pair as a transport: two cores, end to end ------------------------ */

/* The owner of B's client transaction: what it heard. */
typedef struct pair_owner {
  ss_txn_owner_hdr hdr;
  int status;
  int terminated;
} pair_owner;

static void po_response(void *owner, ss_txn *t, sipsrv_msg *rsp)
{
  (void)t;
  ((pair_owner *)owner)->status = sipsrv_msg_status(rsp);
}

static void po_terminated(void *owner, ss_txn *t)
{
  (void)t;
  ((pair_owner *)owner)->terminated++;
}

static const ss_txn_events po_events = { po_response, NULL, NULL, po_terminated };

typedef struct pair_world {
  tclock clock;
  pair_owner owner;
  tpipe *pipe;
  sipsrv_core *a, *b;          /* a: a UAS; b: sends requests */
  sipsrv_uas *uas;
  sipsrv_transport *tb;
} pair_world;

static void pair_init(pair_world *w, tpipe_kind kind)
{
  sipsrv_core_cfg cfg = SIPSRV_CORE_CFG_INIT;
  memset(w, 0, sizeof *w);
  w->clock.now_ms = 1000;
  cfg.clock = tclock_now;
  cfg.clock_user = &w->clock;
  w->pipe = tpipe_new(kind, "192.0.2.1:5060", "192.0.2.2:5060");
  ck_assert_ptr_nonnull(w->pipe);
  ck_assert_int_eq(sipsrv_core_new(&w->a, &cfg), 0);
  ck_assert_int_eq(sipsrv_core_new(&w->b, &cfg), 0);
  ck_assert_int_eq(tpipe_attach(w->pipe->a, w->a, "192.0.2.1", 5060, NULL), 0);
  ck_assert_int_eq(tpipe_attach(w->pipe->b, w->b, "192.0.2.2", 5060, &w->tb), 0);
  ck_assert_int_eq(sipsrv_uas_new(&w->uas, w->a, NULL), 0);
}

static void pair_fini(pair_world *w)
{
  sipsrv_uas_free(w->uas);
  sipsrv_core_free(w->a);
  sipsrv_core_free(w->b);
  tpipe_free(w->pipe);
}

/* Move time to t, running both cores' timers and delivering what is in flight. */
static void pair_run_until(pair_world *w, uint64_t t)
{
  for (int guard = 0; guard < 10000; guard++) {
    uint64_t da = UINT64_MAX, db = UINT64_MAX, next;
    tpipe_pump(w->pipe->a);
    tpipe_pump(w->pipe->b);
    sipsrv_core_next_timeout(w->a, &da);
    sipsrv_core_next_timeout(w->b, &db);
    next = da < db ? da : db;
    if (next > t)
      break;
    if (next > w->clock.now_ms)
      w->clock.now_ms = next;
    sipsrv_core_expire(w->a);
    sipsrv_core_expire(w->b);
  }
  w->clock.now_ms = t;
  tpipe_pump(w->pipe->a);
  tpipe_pump(w->pipe->b);
}

static void pair_options(pair_world *w, const char *branch)
{
  char text[512];
  sipsrv_msg *m;
  sipsrv_verdict v;
  ss_peer dst;
  ss_txn *t = NULL;
  struct sockaddr_in *sin = (struct sockaddr_in *)&dst.addr;
  int n = snprintf(text, sizeof text,
                   "OPTIONS sip:uas@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/%s 192.0.2.2:5060;branch=%s\r\n"
                   "From: <sip:b@192.0.2.2>;tag=b1\r\nTo: <sip:uas@192.0.2.1>\r\nCall-ID: %s@b\r\n"
                   "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                   w->pipe->kind == TPIPE_STREAM ? "TCP" : "UDP", branch, branch);
  ck_assert_int_eq(sipsrv_msg_parse(&m, text, (size_t)n, 0, &v), 0);
  memset(&dst, 0, sizeof dst);
  sin->sin_family = AF_INET;
  sin->sin_port = htons(5060);
  inet_pton(AF_INET, "192.0.2.1", &sin->sin_addr);
  dst.addrlen = sizeof *sin;
  dst.transport = w->tb;
  dst.reliable = w->pipe->kind == TPIPE_STREAM;
  w->owner.hdr.ev = &po_events;
  ck_assert_int_eq(ss_txn_request(ss_core_txn_layer(ss_core_txn_of(w->b)), &t, m, &dst, &w->owner), 0);
  ck_assert_ptr_nonnull(t);
}

/* Two cores on the manual clock through the pair: B's OPTIONS reaches A's
 * UAS, A's 200 completes B's transaction (RFC 3261 17.1.2.2). */
START_TEST(harness_pair_end_to_end)
{
  pair_world w;
  pair_init(&w, TPIPE_DGRAM);
  pair_options(&w, "z9hG4bKpair1");
  pair_run_until(&w, 1000);
  ck_assert_int_eq(w.owner.status, 200);
  ck_assert_int_eq(w.owner.terminated, 0);
  ck_assert_uint_eq(tpipe_sent(w.pipe->b), 1);
  ck_assert_uint_eq(tpipe_sent(w.pipe->a), 1);
  /* Timer K (T4 = 5 s over UDP) ends it. */
  pair_run_until(&w, 1000 + 4999);
  ck_assert_int_eq(w.owner.terminated, 0);
  pair_run_until(&w, 1000 + 5000);
  ck_assert_int_eq(w.owner.terminated, 1);
  pair_fini(&w);
}
END_TEST

/* A lost datagram: B's first OPTIONS is dropped; Timer E retransmits it at
 * T1 (500 ms, RFC 3261 17.1.2.2) and the second one is answered. */
START_TEST(harness_pair_loss_retransmit)
{
  pair_world w;
  pair_init(&w, TPIPE_DGRAM);
  tpipe_drop_next(w.pipe->b, 1);
  pair_options(&w, "z9hG4bKpair2");
  pair_run_until(&w, 1499);
  ck_assert_int_eq(w.owner.status, 0);
  ck_assert_uint_eq(tpipe_sent(w.pipe->a), 0);
  pair_run_until(&w, 1500);
  ck_assert_int_eq(w.owner.status, 200);
  ck_assert_uint_eq(tpipe_sent(w.pipe->b), 2);
  pair_fini(&w);
}
END_TEST

/* The same over a stream pair, read 7 bytes at a time: framing in the core,
 * no retransmission, Timer K zero (reliable). */
START_TEST(harness_pair_stream)
{
  pair_world w;
  pair_init(&w, TPIPE_STREAM);
  tpipe_set_chunk(w.pipe->a, 7);
  pair_options(&w, "z9hG4bKpair3");
  pair_run_until(&w, 1000);
  ck_assert_int_eq(w.owner.status, 200);
  ck_assert_int_eq(w.owner.terminated, 1);
  pair_run_until(&w, 1000 + 64 * 500);
  ck_assert_uint_eq(tpipe_sent(w.pipe->b), 1);
  pair_fini(&w);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("harness");
  TCase *tc;

  tc = tcase_create("tclock");
  tcase_add_test(tc, harness_tclock_start);
  tcase_add_test(tc, harness_tclock_callback_shape);
  tcase_add_test(tc, harness_tclock_advance);
  tcase_add_test(tc, harness_tclock_independent);
  suite_add_tcase(s, tc);

  tc = tcase_create("dgram");
  tcase_add_test(tc, harness_dgram_roundtrip);
  tcase_add_test(tc, harness_dgram_both_ways);
  tcase_add_test(tc, harness_dgram_boundaries);
  tcase_add_test(tc, harness_dgram_truncate);
  tcase_add_test(tc, harness_dgram_pending);
  tcase_add_test(tc, harness_dgram_drop_one);
  tcase_add_test(tc, harness_dgram_drop_only_this_end);
  tcase_add_test(tc, harness_dgram_sendv);
  tcase_add_test(tc, harness_dgram_sent_counts_drops);
  tcase_add_test(tc, harness_dgram_addr_peer);
  tcase_add_test(tc, harness_dgram_addr_null);
  tcase_add_test(tc, harness_dgram_recv_empty);
  tcase_add_test(tc, harness_dgram_peer_close_drains);
  tcase_add_test(tc, harness_dgram_send_closed);
  tcase_add_test(tc, harness_dgram_free_null);
  tcase_add_test(tc, harness_dgram_free_queued);
  suite_add_tcase(s, tc);

  tc = tcase_create("stream");
  tcase_add_test(tc, harness_stream_concat);
  tcase_add_test(tc, harness_stream_read_across_sends);
  tcase_add_test(tc, harness_stream_split_reads);
  tcase_add_test(tc, harness_stream_chunk);
  tcase_add_test(tc, harness_stream_chunk_off);
  tcase_add_test(tc, harness_stream_pending);
  tcase_add_test(tc, harness_stream_sendv);
  tcase_add_test(tc, harness_stream_peer_close_drains);
  tcase_add_test(tc, harness_stream_free_partial);
  suite_add_tcase(s, tc);

  tc = tcase_create("pair");
  tcase_add_test(tc, harness_pair_end_to_end);
  tcase_add_test(tc, harness_pair_loss_retransmit);
  tcase_add_test(tc, harness_pair_stream);
  suite_add_tcase(s, tc);

  tc = tcase_create("corpus");
  tcase_add_test(tc, harness_corpus_dir);
  tcase_add_test(tc, harness_corpus_read);
  tcase_add_test(tc, harness_corpus_read_missing);
  suite_add_tcase(s, tc);

  return s;
}

int main(void)
{
  return harness_run(suite());
}
