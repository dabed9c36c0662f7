/* Private to lib/msg and the layers above it: the message object over Sofia-SIP. */
#ifndef SS_MSG_INT_H
#define SS_MSG_INT_H

#include <sipsrv/msg.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The object lives in its own msg_t's home: freeing the msg_t frees it. */
/* The fields a response copies (RFC 3261 8.2.6.2), for raw_fields. */
enum { SS_RAW_VIA, SS_RAW_FROM, SS_RAW_TO, SS_RAW_CALL_ID, SS_RAW_CSEQ, SS_RAW_N };

struct sipsrv_msg {
  msg_t *msg;
  sip_t *sip;
  /* A rejected request whose Via, From, To, Call-ID or CSeq Sofia-SIP could
   * not parse: the field values as received (in the message's home), so
   * the 400 can still copy them (RFC 4475 3.1.2.1, 3.1.2.4). NULL if not
   * needed. Several Via fields are kept joined with "\n". Not copied by
   * ss_msg_dup(). */
  const char *raw[SS_RAW_N];
  /* A message sipsrv_msg_parse() accepted: its bytes as received (from the
   * start line; the line ends a datagram lacked added), in the message's
   * own buffer, which edits leave as they are. NULL for a copy or a
   * message built here. A forwarding proxy builds its copies from them. */
  const char *wire;
  size_t wire_len;
};

/* What a scan of the raw header section found (lib/msg/scan.c). */
typedef struct ss_head {
  size_t skip;          /* CRLF octets before the start line (RFC 3261 7.5) */
  size_t start_len;     /* the start line, without its line end */
  size_t head_len;      /* from the start line through the empty line */
  bool complete;        /* the empty line was found */
  bool response;        /* the start line begins with "SIP/" */
  int cl_count;         /* Content-Length fields seen */
  bool cl_bad;          /* a Content-Length value that is not 1*DIGIT */
  bool bare_cr;         /* a CR not followed by LF in the header section */
  unsigned long long cl;/* its value when cl_count == 1 && !cl_bad (saturates) */
} ss_head;

/* Scan the header section of data[0..len). Never reads past len. */
void ss_scan_head(const char *data, size_t len, ss_head *out);

/* True when d[0..len) holds a CR that no LF follows (RFC 3261 7: lines end
 * with CRLF; see scan.c for why this matters). */
bool ss_has_bare_cr(const char *d, size_t len);

/* True for an RFC 3261 25.1 token character: alphanum / "-" / "." / "!" /
 * "%" / "*" / "_" / "+" / "`" / "'" / "~", as bits of the octets 0-127
 * (inline: the raw paths ask it for every octet of a header name). */
static inline bool ss_is_token_char(unsigned char c)
{
  static const uint64_t tok[2] = { 0x3ff6ca200000000ULL, 0x47ffffff87fffffeULL };
  return c < 128 && ((tok[c >> 6] >> (c & 63)) & 1);
}

/* The first comma of the header value [v, ve) that separates two values of
 * a list (RFC 3261 7.3.1: not one in a quoted string), or NULL. */
const char *ss_list_comma(const char *v, const char *ve);
/* Where the second value of the list [v, ve) starts (after the separating
 * comma, *comma when not NULL, and whitespace), or NULL when there is none. */
const char *ss_list_next(const char *v, const char *ve, const char **comma);
/* The fields of Sofia-SIP's Via v as sipsrv_msg_via() gives them. */
void ss_via_fill(sip_via_t const *v, sipsrv_via *out);

/* Case-insensitive header-name match of a full name or its compact form
 * (lower case). Inline: the raw paths ask it several times a header line,
 * and the length of a literal full name folds away. */
static inline char ss_ascii_lower(char c)
{
  return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

static inline bool ss_header_name_is(const char *name, size_t len, const char *full, char compact)
{
  if (len == 1 && compact && ss_ascii_lower(name[0]) == compact)
    return true;
  if (strlen(full) != len)
    return false;
  for (size_t i = 0; i < len; i++)
    if (ss_ascii_lower(name[i]) != ss_ascii_lower(full[i]))
      return false;
  return true;
}

/* Host and port syntax per RFC 3261 25.1 (hostname, IPv4address, IPv6reference). */
bool ss_host_valid(const char *host);
bool ss_port_valid(const char *port);
/* A sip/sips URL with a valid host and port (other schemes pass). */
bool ss_url_host_port_ok(url_t const *u);
/* RFC 3261 19.1.1: the value of URI parameter name (compared without case)
 * in params (the parameters without the first ';'), copied into value
 * (vlen bytes, NUL-terminated when it fits; value may be NULL with vlen 0):
 * its length plus one when the parameter is there (1 without a value), 0
 * when it is not. name may be "name=value", to test for that value. Not
 * Sofia-SIP's url_param(): it reads past the end of params when the last
 * parameter starts with name ("lr" in ";lrx" or ";lr:5070"; found by
 * tests/fuzz/fuzz_roles, see SOFIA-NOTES). */
size_t ss_uri_param(const char *params, const char *name, char *value, size_t vlen);
/* Whether the URI has parameter name (as ss_uri_param()). */
bool ss_uri_has_param(url_t const *u, const char *name);
/* RFC 3261 25.1: token; gen-value = token / host / quoted-string. */
bool ss_is_token(const char *s);
bool ss_is_gen_value(const char *s);
/* An IPv4 or IPv6 address, the IPv6 one bracketed or not. */
bool ss_is_ip_address(const char *s);
/* An address header's URI as the parse takes it: a scheme, for sip/sips a
 * valid host and port, and none of the octets no URI holds (parse.c). */
bool ss_addr_ok(url_t const *u);
/* A Via's sent-protocol transport, sent-by host and port as the parse
 * takes them (RFC 3261 20.42, 25.1). */
bool ss_via_ok(sip_via_t const *via);
/* RFC 3261 18.2.1 and RFC 3581 4 on a Via alone (in home): received set
 * (an IPv6 one written bare), rport filled in when the Via asked for it
 * and rport is not 0. received is an IP address or NULL, rport at most
 * 65535 (the caller checks). 0, or SIPSRV_E_NOMEM. */
int ss_via_stamp(su_home_t *home, sip_via_t *v, const char *received, unsigned rport);

/* Set a verdict. */
void ss_verdict(sipsrv_verdict *v, sipsrv_action action, int status, const char *phrase,
                const char *rfc);

/* Wrap a parsed msg_t (takes it) into a sipsrv_msg; NULL on allocation failure (msg destroyed). */
sipsrv_msg *ss_msg_wrap(msg_t *m);

/* A final response (status 200-699) to req as bytes, for the transaction
 * layer to keep and send (ss_txn_respond_wire()): the same response
 * sipsrv_msg_reply() builds with these options (RFC 3261 8.2.6: Via, From,
 * To, Call-ID and CSeq copied, a To tag added), but written straight into
 * buf from the request's text, without a message of its own: each copied
 * field as it was received when Sofia-SIP still holds its text (an edited
 * one, as the top Via with received, is written from its fields). to_tag
 * is the tag To gets when it has none (NULL: sipsrv_msg_reply()'s own, a
 * hash of the request). The To tag the response carries goes to tag (at least 17 bytes; "" when To has
 * none). Returns the length, or SIPSRV_E_INVAL when this form does not
 * apply (a field missing or kept only raw, a body, extra header text that
 * is not one "Name: value" per line) and SIPSRV_E_NOMEM when buf is too
 * small: then the caller goes through sipsrv_msg_reply(). */
long ss_reply_wire(const sipsrv_msg *req, int status, const char *phrase, const char *to_tag,
                   const char *headers, char *buf, size_t size, char *tag, size_t tagsize);

/* The bytes of response m without its top Via (RFC 3261 16.7 step 3: what
 * a proxy sends upstream), written into buf from the message's text with
 * no copy of the message: the length, SIPSRV_E_INVAL when the top Via is
 * not as received (built, or in a folded line) and SIPSRV_E_NOMEM when buf
 * is too small; then the caller edits a copy. A top Via that shares its
 * line with the next loses its value and comma, the line stays. */
long ss_msg_wire_pop_via(sipsrv_msg *m, char *buf, size_t size);

/* Build the ACK for a non-2xx final response to an INVITE (RFC 3261 17.1.1.3). */
int ss_msg_make_ack(sipsrv_msg **out, const sipsrv_msg *invite, const sipsrv_msg *rsp);
/* Build the CANCEL of an INVITE as it was sent (RFC 3261 9.1). */
int ss_msg_make_cancel(sipsrv_msg **out, const sipsrv_msg *invite);
/* A deep copy that can be edited on its own; NULL without memory. */
sipsrv_msg *ss_msg_dup(const sipsrv_msg *src);
/* A shallow copy that can be edited on its own but keeps src alive while
 * it lives: cheaper to make and to send, dearer to keep. NULL without
 * memory. */
sipsrv_msg *ss_msg_copy(const sipsrv_msg *src);
/* The same message, one reference more (sipsrv_msg_free() drops one): to
 * read, never to edit, as long as another holder may read it. */
sipsrv_msg *ss_msg_ref(const sipsrv_msg *src);

/* A 64-bit hash of s folded into h (eight octets a step, reply.c), then
 * its length as a field separator ("ab"+"c" differs from "a"+"bc"); start
 * from SS_HASH_INIT. NULL hashes as "". For tables and identifiers inside
 * one process: not stable across versions, not cryptographic (keyed ones
 * mix in the core's secret). */
#define SS_HASH_INIT 0xcbf29ce484222325ULL
uint64_t ss_hash(uint64_t h, const char *s);

/* A hash of what identifies a request and its retransmissions: Call-ID,
 * From tag, CSeq number, top Via branch (or host). */
uint64_t ss_msg_id_hash(const sipsrv_msg *m, uint64_t seed);
/* The same from the fields (NULL for one that is absent): what
 * ss_msg_id_hash() reads of a message. */
uint64_t ss_id_hash(uint64_t seed, const char *call_id, const char *from_tag, uint32_t cseq,
                    const char *via_branch, const char *via_host);

/* Map a Sofia method to ours. */
sipsrv_method ss_method_from_sofia(int sofia_method);

#endif
