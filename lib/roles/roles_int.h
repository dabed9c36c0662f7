/* Private to lib/roles: what the roles share. */
#ifndef SS_ROLES_INT_H
#define SS_ROLES_INT_H

#include "msg/msg_int.h"
#include "txn/txn.h"

#include <stddef.h>

/* RFC 3261 10.3 step 5: the address-of-record of a SIP or SIPS URI in
 * canonical form, printed into buf: scheme, user, host in lower case; the
 * port, URI parameters and headers dropped (the host is one of our domains,
 * so the port says only how the request reached us: sip:bob@example.com and
 * sip:bob@example.com:5060 are one AOR). Escapes stay as sent (so %00 does
 * not cut the user part, RFC 4475 3.1.1.4). The length, or -1 when it does
 * not fit. */
int ss_aor_print(url_t const *u, char *buf, size_t size);

/* True when host is one of domains (NULL-terminated, either may be NULL),
 * compared without case (RFC 3261 19.1.4). */
bool ss_domain_listed(const char *const *domains, const char *host);

/* The port of a SIP or SIPS URI, or its default: 5060, 5061 for sips. */
unsigned ss_url_port(url_t const *u);

/* A role that claims a request but has no memory for its state answers
 * 503 with Retry-After (RFC 3261 21.5.4: a temporary condition) instead of
 * declining it, so that no other role answers in its place (a 405 from the
 * UAS for a REGISTER, a 501 from the transaction layer). Returns true (the
 * request is handled). */
bool ss_role_nomem(ss_txn *st, const sipsrv_msg *req);

/* Answer st, the transaction of req, with status, phrase (NULL: the
 * standard one) and extra header lines (NULL, or "Name: value" lines joined
 * by CRLF), no body: a final response goes as bytes built from the
 * request's text (ss_reply_wire(), no parsed response), anything else or
 * what that form does not take through sipsrv_msg_reply(). What
 * ss_txn_respond() returns; SIPSRV_E_NOMEM when no response could be
 * built. */
int ss_role_respond(ss_txn *st, const sipsrv_msg *req, int status, const char *phrase,
                    const char *headers);

/* Digest lockout (sipsrv_core_set_limits()): true when user may not try
 * from src now; then hdr holds "Retry-After: N" and auth_locked is
 * counted. The caller answers 503 with hdr. */
bool ss_role_auth_locked(sipsrv_core *core, const char *user, const ss_peer *src, char *hdr,
                         size_t size);
/* A digest response of user from src was right (ok) or wrong (counted in
 * auth_failures; enough in a row lock the user out from src). */
void ss_role_auth_result(sipsrv_core *core, const char *user, const ss_peer *src, bool ok);

/* A role's view of its store (ARCHITECTURE.md: a store failure is a 500 with
 * Retry-After). A failure is logged once when the store starts failing and
 * once when it works again, not for every request between. What failed is
 * remembered by kind: reads may go on while writes fail (a locked or
 * read-only file), so only the kind that failed working again is a
 * recovery. */
enum { SS_STORE_READ = 1, SS_STORE_WRITE = 2, SS_STORE_CRED = 4 };
typedef struct ss_store_health {
  unsigned down;              /* kinds that failed and have not worked since */
  unsigned long failures;     /* requests failed meanwhile */
} ss_store_health;
/* An operation of kind failed with err; who names the role in the log. */
void ss_store_failed(sipsrv_core *core, ss_store_health *h, const char *who, unsigned kind,
                     int err);
/* An operation of kind worked. */
void ss_store_ok(sipsrv_core *core, ss_store_health *h, const char *who, unsigned kind);

#endif
