/* Test harness shared by the Check suites: a manual clock, an in-memory
 * transport pair, and helpers to read the conformance corpora.
 *
 * The clock and the pair are what the transaction tests drive the sans-I/O
 * core with: time moves only when a test advances it, and bytes move only
 * when a test (or the core's transport ops) sends them, so every RFC timer
 * runs without sleeping and every run is the same. */
#ifndef SS_HARNESS_H
#define SS_HARNESS_H

#include <sipsrv/log.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* ---- manual clock ---------------------------------------------------- */

typedef struct tclock {
  uint64_t now_ms;        /* milliseconds since an arbitrary epoch */
} tclock;

/* A clock callback shape: the time in ms of the clock passed as user. */
uint64_t tclock_now(void *user);
/* Move the clock forward by ms. */
void tclock_advance(tclock *c, uint64_t ms);

/* ---- in-memory transport pair ---------------------------------------- */

typedef enum tpipe_kind { TPIPE_DGRAM, TPIPE_STREAM } tpipe_kind;

typedef struct tpipe_end tpipe_end;

typedef struct tpipe {
  tpipe_kind kind;
  tpipe_end *a, *b;
} tpipe;

/* Make a connected pair; addr_a/addr_b name each end ("127.0.0.1:5060"). */
tpipe *tpipe_new(tpipe_kind kind, const char *addr_a, const char *addr_b);
void tpipe_free(tpipe *p);

const char *tpipe_addr(const tpipe_end *e);
tpipe_end *tpipe_peer(const tpipe_end *e);

/* Queue bytes for the peer: one datagram, or more of the stream. Returns len,
 * or -1 when either end is closed (not counted as a send) or a drop was armed
 * (counted; the bytes are lost). */
long tpipe_send(tpipe_end *e, const void *data, size_t len);
long tpipe_sendv(tpipe_end *e, const struct iovec *iov, int n);

/* Take what the peer sent: the next datagram (truncated to size, as recvmsg
 * does), or up to min(size, chunk) stream bytes across as many sends as are
 * queued. Returns the count, 0 when nothing is queued (an empty datagram also
 * reads as 0), -1 after the peer closed and everything was read. */
long tpipe_recv(tpipe_end *e, void *buf, size_t size);

/* Queued datagrams (or stream bytes) waiting at this end. */
size_t tpipe_pending(const tpipe_end *e);

/* Lose the next n sends from this end (datagram loss). Through
 * tpipe_attach the core sees such a send succeed, as with real loss. */
void tpipe_drop_next(tpipe_end *e, int n);
/* Deliver stream bytes at most chunk at a time (0: no limit). */
void tpipe_set_chunk(tpipe_end *e, size_t chunk);
/* Close this end: the peer reads what is queued, then -1. */
void tpipe_close(tpipe_end *e);
/* Sends made from this end (counting dropped ones). */
unsigned tpipe_sent(const tpipe_end *e);

/* ---- the pair as a sipsrv transport ------------------------------------ */

struct sipsrv_core;
struct sipsrv_transport;

/* Register end e of a pair on core as a transport (UDP for a datagram pair,
 * TCP with connection 1 for a stream pair), with sent-by host:port. What the
 * core sends goes into the pipe; tpipe_pump() hands what arrived at e to
 * the core. Returns 0 or a SIPSRV_E_* code. */
int tpipe_attach(tpipe_end *e, struct sipsrv_core *core, const char *host, unsigned port,
                 struct sipsrv_transport **out);
/* Deliver everything queued at e to the core it is attached to; the source
 * address is the peer end's "host:port" name. Returns the number of
 * deliveries. */
int tpipe_pump(tpipe_end *e);

/* ---- running a suite ------------------------------------------------------ */

struct Suite;
/* Run a Check suite with its summary on standard output; the exit status of
 * a test executable: 0 when every check passed, 1 otherwise. */
int harness_run(struct Suite *s);

/* ---- log lines ------------------------------------------------------------ */

/* Counts the log lines that hold a given text, a sipsrv_log_cb:
 * sipsrv_core_set_log(core, tlog_count, level, &counter). */
typedef struct tlogcount {
  const char *fail, *back;   /* texts to look for */
  int nfail, nback;          /* lines that held them */
} tlogcount;
void tlog_count(sipsrv_log_level level, const char *msg, void *user);

/* ---- corpora ------------------------------------------------------------ */

/* Path of ../shared/conformance (SIPSRV_CONFORMANCE_DIR overrides). */
const char *conformance_dir(void);
/* Read a whole file; returns malloc'ed bytes (NUL-terminated beyond len) or NULL. */
char *read_file(const char *path, size_t *len);

#endif
