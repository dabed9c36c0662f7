/**
 * @file msg.h
 * @brief SIP messages: parse, validate, read, edit, serialize, reply.
 *
 * A sipsrv_msg is one parsed SIP request or response. Parsing never fails
 * silently: it yields a verdict (#sipsrv_verdict) that says whether a server
 * should process the message, answer it with an error status (400, 505...) or
 * drop it (a malformed response). The message stays readable after a reject
 * verdict so that the error response can be built from it.
 *
 * Strings returned by the accessors point into the message: they stay valid
 * until the message is edited or freed, whichever comes first.
 *
 * Serialization is zero-copy: header fields that were not edited go out as the
 * exact bytes that came in.
 *
 * Threads: a message is used from one thread at a time; distinct messages are
 * independent.
 */
#ifndef SIPSRV_MSG_H
#define SIPSRV_MSG_H

#include <sipsrv/common.h>
#include <sys/uio.h>

SIPSRV_BEGIN_DECLS

/** Opaque parsed SIP message. */
typedef struct sipsrv_msg sipsrv_msg;

/** Default largest message accepted, in bytes (RFC 3261 18.1.1 allows more over TCP). */
#define SIPSRV_MSG_MAX_DEFAULT 65535u

/** Request methods known by name; every other method is SIPSRV_METHOD_OTHER. */
typedef enum sipsrv_method {
  SIPSRV_METHOD_NONE = 0,     /**< Not a request. */
  SIPSRV_METHOD_OTHER,        /**< An extension method: see sipsrv_msg_method_name(). */
  SIPSRV_METHOD_INVITE,       /**< RFC 3261 */
  SIPSRV_METHOD_ACK,          /**< RFC 3261 */
  SIPSRV_METHOD_CANCEL,       /**< RFC 3261 */
  SIPSRV_METHOD_BYE,          /**< RFC 3261 */
  SIPSRV_METHOD_OPTIONS,      /**< RFC 3261 */
  SIPSRV_METHOD_REGISTER,     /**< RFC 3261 */
  SIPSRV_METHOD_PRACK,        /**< RFC 3262 */
  SIPSRV_METHOD_SUBSCRIBE,    /**< RFC 6665 */
  SIPSRV_METHOD_NOTIFY,       /**< RFC 6665 */
  SIPSRV_METHOD_PUBLISH,      /**< RFC 3903 */
  SIPSRV_METHOD_INFO,         /**< RFC 6086 */
  SIPSRV_METHOD_REFER,        /**< RFC 3515 */
  SIPSRV_METHOD_MESSAGE,      /**< RFC 3428 */
  SIPSRV_METHOD_UPDATE        /**< RFC 3311 */
} sipsrv_method;

/** What a server should do with a message, as decided by parse or check. */
typedef enum sipsrv_action {
  SIPSRV_ACCEPT = 0,  /**< Process the message. */
  SIPSRV_REJECT = 1,  /**< Answer the request with sipsrv_verdict::status. */
  SIPSRV_DROP = 2     /**< Discard it (a bad response, or unanswerable), and count it. */
} sipsrv_action;

/** Size of sipsrv_verdict::header. */
#define SIPSRV_VERDICT_HEADER_MAX 320

/** The outcome of parsing or checking a message. */
typedef struct sipsrv_verdict {
  sipsrv_action action;   /**< What to do. */
  int status;             /**< For SIPSRV_REJECT: the status to answer (400, 416, 420, 483, 505...). */
  const char *phrase;     /**< A static reason phrase saying what was wrong ("Malformed CSeq"); "OK" on accept. */
  const char *rfc;        /**< The rule that decided ("RFC 3261 8.2.2.3"); static, may be NULL. */
  /** A header field the response must carry, without CRLF, or "": "Unsupported: ..."
   *  for a 420 (RFC 3261 8.2.2.3), "Allow: ..." for a 405 or 501 (8.2.1),
   *  "Accept: ..." or "Accept-Encoding: ..." for a 415 (8.2.3).
   *  sipsrv_msg_reply_verdict() adds it. */
  char header[SIPSRV_VERDICT_HEADER_MAX];
} sipsrv_verdict;

/** Flags of sipsrv_msg_parse(). */
enum sipsrv_parse_flags {
  /** The bytes came over a stream transport (TCP, TLS): RFC 3261 18.3 requires Content-Length. */
  SIPSRV_PARSE_STREAM = 1u << 0
};

/**
 * @brief Parse one SIP message and decide on its syntax.
 *
 * Applies the checks every element makes before it processes a message:
 * start line (RFC 3261 7.1, 7.2; version 2.0 or 505), mandatory headers
 * (8.1.1: To, From, CSeq, Call-ID, Via), each header's syntax, single-valued
 * headers given once (7.3.1), scalar ranges (CSeq < 2^31 per 8.1.1.5,
 * Max-Forwards <= 255, Expires, status 100-699), CSeq method equal to the
 * request method (8.1.1.5), Content-Length framing (18.3, 20.14) and the
 * Request-URI host and port syntax (19.1.1).
 *
 * For a datagram, the message is the first Content-Length octets of the body;
 * octets beyond it are discarded (RFC 3261 18.3, RFC 4475 3.1.1.8). A
 * datagram without the empty line is read to its end and completed with the
 * missing line ends. A CR that no LF follows in the headers is a 400: parsers
 * disagree on whether it ends a line, which would let a request hide another.
 * Header values that a response or a forwarded copy repeats (From, To,
 * Contact, Route, Record-Route, Path) must print back as they came: a SIP URI
 * with a path, or without a host, is a 400.
 *
 * @param[out] out  Receives the message when one could be built, even with a
 *                  reject or drop verdict; NULL-ed when none could. Free it with
 *                  sipsrv_msg_free().
 * @param data      The bytes of one message (datagram or framed stream message).
 * @param len       Their length (at most #SIPSRV_MSG_MAX_DEFAULT unless max says more).
 * @param flags     A mask of sipsrv_parse_flags.
 * @param[out] verdict Receives the verdict (required).
 * @return 0 when *out was set; SIPSRV_E_PARSE when nothing usable came out
 *         (verdict is then a drop, or a reject that cannot be answered);
 *         SIPSRV_E_TOOBIG if len exceeds the limit (verdict: drop);
 *         SIPSRV_E_INVAL for NULL arguments; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_parse(sipsrv_msg **out, const void *data, size_t len,
                                unsigned flags, sipsrv_verdict *verdict);

/**
 * @brief Free a message.
 * @param msg A message, or NULL (no-op).
 * @since 0.1.0
 */
SIPSRV_API void sipsrv_msg_free(sipsrv_msg *msg);

/** Flags of sipsrv_check_cfg::flags. */
enum sipsrv_check_flags {
  /** The element will forward the request (a proxy): RFC 3261 16.3 step 3, Max-Forwards 0 -> 483. */
  SIPSRV_CHECK_MAX_FORWARDS = 1u << 0,
  /** Check Proxy-Require against the supported tags (RFC 3261 16.3 step 5 -> 420). */
  SIPSRV_CHECK_PROXY_REQUIRE = 1u << 1,
  /** Check Require against the supported tags (RFC 3261 8.2.2.3 -> 420). */
  SIPSRV_CHECK_REQUIRE = 1u << 2,
  /** Check the body's Content-Type and Content-Encoding against accept and
   *  accept_encoding (RFC 3261 8.2.3 -> 415). */
  SIPSRV_CHECK_CONTENT = 1u << 3
};

/** Policy of sipsrv_msg_check(). Initialise with #SIPSRV_CHECK_CFG_INIT. */
typedef struct sipsrv_check_cfg {
  unsigned flags;                   /**< A mask of sipsrv_check_flags. */
  /** Option tags the element supports, NULL-terminated; NULL = none. */
  const char *const *supported;
  /** Request-URI schemes the element understands, NULL-terminated; NULL = sip, sips, tel. */
  const char *const *schemes;
  /** Methods the element implements, NULL-terminated; NULL = any (a proxy).
   *  Others get 405, or 501 if the method is not one sipsrv knows (RFC 3261 8.2.1). */
  const char *const *methods;
  /** Body types the element takes, such as "application/sdp"; a type or
   *  subtype of "*" matches any. NULL-terminated; NULL = application/sdp.
   *  Used with SIPSRV_CHECK_CONTENT. */
  const char *const *accept;
  /** Content codings the element takes, NULL-terminated; NULL = none but identity. */
  const char *const *accept_encoding;
} sipsrv_check_cfg;

/** Default check policy: Request-URI scheme only. */
#define SIPSRV_CHECK_CFG_INIT { 0, NULL, NULL, NULL, NULL, NULL }

/**
 * @brief Apply the request checks that depend on the element's role.
 *
 * In this order (RFC 3261 8.2 for a UAS, 16.3 for a proxy):
 * - 8.2.1: a method not in cfg->methods -> 405 with Allow, or 501 with Allow
 *   for a method sipsrv does not know (ACK is never answered);
 * - 8.2.2.1 and 16.3 step 2: a Request-URI scheme not in cfg->schemes -> 416;
 * - 16.3 step 3: Max-Forwards 0 -> 483 (with SIPSRV_CHECK_MAX_FORWARDS);
 * - 16.3 step 5 / 8.2.2.3: Proxy-Require / Require naming tags not in
 *   cfg->supported -> 420 with Unsupported (ACK and CANCEL are never
 *   answered 420 for Require, 8.2.2.3);
 * - 8.2.3: a body of a type not in cfg->accept -> 415 with Accept, or with a
 *   Content-Encoding not in cfg->accept_encoding -> 415 with Accept-Encoding
 *   (with SIPSRV_CHECK_CONTENT).
 * Loop detection (16.3 step 4, 8.2.2.2) needs the element's state and is
 * done by the roles. A response always gets SIPSRV_ACCEPT.
 *
 * @param msg A message whose parse verdict was SIPSRV_ACCEPT.
 * @param cfg The policy, or NULL for #SIPSRV_CHECK_CFG_INIT.
 * @param[out] verdict Receives the verdict.
 * @return 0; SIPSRV_E_INVAL for NULL msg or verdict.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_check(const sipsrv_msg *msg, const sipsrv_check_cfg *cfg,
                                sipsrv_verdict *verdict);

/* ------------------------------------------------------------------------ */
/** @name Reading fields */
/**@{*/

/** A URI split into its parts; absent parts are NULL. */
typedef struct sipsrv_uri {
  const char *scheme;    /**< "sip", "sips", "tel", ... as written. */
  const char *user;      /**< User part (sip/sips), or the number of a tel URI. */
  const char *password;  /**< Password part. */
  const char *host;      /**< Host; an IPv6 reference keeps its brackets. */
  const char *port;      /**< Port, as written. */
  const char *params;    /**< URI parameters, without the leading ';'. */
  const char *headers;   /**< URI headers, without the leading '?'. */
  const char *opaque;    /**< For schemes other than sip, sips and tel: all after "scheme:". */
} sipsrv_uri;

/** A name-addr or addr-spec header value (From, To, Contact, Route, ...). */
typedef struct sipsrv_addr {
  const char *display;           /**< Display name as written (quotes kept), or NULL. An
                                      escaped NUL (quoted-pair) reads as 0x01 here;
                                      the wire bytes keep the NUL. */
  sipsrv_uri uri;                /**< The URI. For Contact "*", uri.scheme is "*". */
  const char *tag;               /**< The tag parameter, or NULL. */
  const char *const *params;     /**< Header parameters "name=value" or "name", NULL-terminated; may be NULL. */
} sipsrv_addr;

/** A Via header value. */
typedef struct sipsrv_via {
  const char *protocol;   /**< "SIP/2.0/UDP" etc. */
  const char *transport;  /**< "UDP", "TCP", "TLS", ... */
  const char *host;       /**< sent-by host. */
  const char *port;       /**< sent-by port, or NULL. */
  const char *branch;     /**< branch parameter, or NULL. */
  const char *received;   /**< received parameter, or NULL. */
  const char *rport;      /**< rport: NULL if absent, "" if present without value (RFC 3581). */
  const char *maddr;      /**< maddr parameter, or NULL. */
  const char *ttl;        /**< ttl parameter, or NULL. */
  const char *const *params; /**< All parameters, "name=value" or "name", NULL-terminated; may be NULL. */
} sipsrv_via;

/**
 * @brief Is it a request?
 * @param msg A message, or NULL.
 * @return 1 for a request, 0 for a response or NULL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_is_request(const sipsrv_msg *msg);
/**
 * @brief The method.
 * @param msg A message, or NULL.
 * @return The method of a request (of the CSeq for a response); SIPSRV_METHOD_NONE if unknown.
 * @since 0.1.0
 */
SIPSRV_API sipsrv_method sipsrv_msg_method(const sipsrv_msg *msg);
/**
 * @brief The method name.
 * @param msg A message, or NULL.
 * @return The method name of a request, or of the CSeq of a response, exactly as sent; NULL if none.
 * @since 0.1.0
 */
SIPSRV_API const char *sipsrv_msg_method_name(const sipsrv_msg *msg);
/**
 * @brief The status code.
 * @param msg A message, or NULL.
 * @return The status code of a response; 0 for a request or NULL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_status(const sipsrv_msg *msg);
/**
 * @brief The reason phrase.
 * @param msg A message, or NULL.
 * @return The reason phrase of a response (may be ""); NULL for a request.
 * @since 0.1.0
 */
SIPSRV_API const char *sipsrv_msg_phrase(const sipsrv_msg *msg);

/**
 * @brief The Request-URI of a request.
 * @param msg A request.
 * @param[out] out Receives its parts (pointing into msg, valid while it lives unchanged).
 * @return 0; SIPSRV_E_NOTFOUND for a response; SIPSRV_E_INVAL for NULL arguments.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_request_uri(const sipsrv_msg *msg, sipsrv_uri *out);

/**
 * @brief Print the Request-URI into a buffer.
 * @param msg A request.
 * @param buf Receives the URI, NUL-terminated when size > 0 (truncated if small).
 * @param size Size of buf.
 * @return The length of the whole URI (as snprintf); SIPSRV_E_NOTFOUND for a
 *         response; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_request_uri_str(const sipsrv_msg *msg, char *buf, size_t size);

/**
 * @brief The number of Via header values.
 * @param msg A message, or NULL.
 * @return The count (0 for NULL).
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_via_count(const sipsrv_msg *msg);
/**
 * @brief One Via value, 0 being the topmost.
 * @param msg The message.
 * @param idx 0 for the topmost.
 * @param[out] out Receives the value (pointing into msg).
 * @return 0; SIPSRV_E_NOTFOUND past the last; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_via(const sipsrv_msg *msg, int idx, sipsrv_via *out);

/**
 * @brief The From header.
 * @param msg The message.
 * @param[out] out Receives the value (pointing into msg).
 * @return 0; SIPSRV_E_NOTFOUND; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_from(const sipsrv_msg *msg, sipsrv_addr *out);
/**
 * @brief The To header.
 * @param msg The message.
 * @param[out] out Receives the value (pointing into msg).
 * @return 0; SIPSRV_E_NOTFOUND; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_to(const sipsrv_msg *msg, sipsrv_addr *out);

/** Headers holding lists of addresses, for sipsrv_msg_addr(). */
typedef enum sipsrv_addr_hdr {
  SIPSRV_HDR_CONTACT = 1,       /**< Contact */
  SIPSRV_HDR_ROUTE = 2,         /**< Route */
  SIPSRV_HDR_RECORD_ROUTE = 3,  /**< Record-Route */
  SIPSRV_HDR_PATH = 4           /**< Path (RFC 3327) */
} sipsrv_addr_hdr;

/**
 * @brief One value of a Contact, Route, Record-Route or Path header list.
 * @param msg The message.
 * @param hdr Which header.
 * @param idx 0 for the first value.
 * @param[out] out Receives the value.
 * @return 0; SIPSRV_E_NOTFOUND past the last; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_addr(const sipsrv_msg *msg, sipsrv_addr_hdr hdr, int idx,
                               sipsrv_addr *out);

/**
 * @brief The Call-ID.
 * @param msg A message, or NULL.
 * @return The Call-ID (owned by msg), or NULL if absent.
 * @since 0.1.0
 */
SIPSRV_API const char *sipsrv_msg_call_id(const sipsrv_msg *msg);

/**
 * @brief The CSeq header.
 * @param msg The message.
 * @param[out] seq Receives the sequence number (may be NULL).
 * @param[out] method Receives the method name (may be NULL).
 * @return 0; SIPSRV_E_NOTFOUND; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_cseq(const sipsrv_msg *msg, uint32_t *seq, const char **method);

/**
 * @brief The Max-Forwards header.
 * @param msg The message.
 * @return Max-Forwards (0-255), SIPSRV_E_NOTFOUND if absent, SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_max_forwards(const sipsrv_msg *msg);

/**
 * @brief The Expires header (RFC 3261 20.19).
 * @param msg The message.
 * @param[out] out Receives the seconds.
 * @return 0 with *out set; SIPSRV_E_NOTFOUND if absent; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_expires(const sipsrv_msg *msg, uint32_t *out);

/**
 * @brief The body of the message.
 * @param msg The message.
 * @param[out] data Receives a pointer to the body (NULL when empty).
 * @param[out] len Receives its length.
 * @return 0; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_body(const sipsrv_msg *msg, const void **data, size_t *len);

/**
 * @brief Value of the idx-th header field named name (full or compact form, any case).
 *
 * Works for every header, known or not; a comma-separated list header
 * counts each header line as one field.
 *
 * @param msg The message.
 * @param name The header name.
 * @param idx 0 for the first field with that name.
 * @param buf Receives the value as it would be sent, NUL-terminated when size > 0.
 * @param size Size of buf.
 * @return The length of the value (as snprintf); SIPSRV_E_NOTFOUND; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_header(const sipsrv_msg *msg, const char *name, int idx,
                                 char *buf, size_t size);

/**
 * @brief Look up a parameter in a NULL-terminated "name=value" list.
 * @param params A list from sipsrv_addr or sipsrv_via (NULL is an empty list).
 * @param name The parameter name (case-insensitive).
 * @param[out] value Receives the value ("" for a parameter without value); may be NULL.
 * @return 0 if found; SIPSRV_E_NOTFOUND; SIPSRV_E_INVAL for a NULL name.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_param_find(const char *const *params, const char *name,
                                 const char **value);

/**@}*/
/* ------------------------------------------------------------------------ */
/** @name Editing */
/**@{*/

/**
 * @brief Add a Via on top (RFC 3261 16.6 step 8).
 * @param msg The message.
 * @param transport "UDP", "TCP", "TLS", ... (required).
 * @param host The sent-by host; IPv6 addresses are bracketed automatically.
 * @param port The sent-by port, or 0 to leave it out.
 * @param branch The branch (should start with "z9hG4bK"), required.
 * @param rport Non-zero to add an empty rport parameter (RFC 3581 3).
 * @return 0; SIPSRV_E_INVAL for bad arguments; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_via_push(sipsrv_msg *msg, const char *transport, const char *host,
                                   unsigned port, const char *branch, int rport);

/**
 * @brief Remove the topmost Via (RFC 3261 16.7 step 3).
 * @param msg The message.
 * @return 0; SIPSRV_E_NOTFOUND; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_via_pop(sipsrv_msg *msg);

/**
 * @brief Set received and rport on the topmost Via (RFC 3261 18.2.1, RFC 3581 4).
 * @param msg The message.
 * @param received The source IP address the request came from (IPv6 with or
 *                 without brackets), or NULL to leave it.
 * @param rport The source port to put in an rport parameter that the Via
 *              carries, or 0 to leave rport alone.
 * @return 0; SIPSRV_E_NOTFOUND without a Via; SIPSRV_E_INVAL; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_via_set_received(sipsrv_msg *msg, const char *received, unsigned rport);

/**
 * @brief Decrement Max-Forwards, or add it with 70 if absent (RFC 3261 16.6 step 3).
 * @param msg A request.
 * @return The new value; SIPSRV_E_STATE if it was already 0 (the caller answers 483);
 *         SIPSRV_E_NOTSUP for a response; SIPSRV_E_INVAL; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_max_forwards_dec(sipsrv_msg *msg);

/**
 * @brief Replace the Request-URI (RFC 3261 16.6 step 2).
 * @param msg The message.
 * @param uri The new URI as text, e.g. "sip:bob@192.0.2.4:5060"; it must pass
 *            the checks sipsrv_msg_parse() applies to a Request-URI.
 * @return 0; SIPSRV_E_NOTSUP for a response; SIPSRV_E_INVAL for a bad URI; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_set_request_uri(sipsrv_msg *msg, const char *uri);

/**
 * @brief Add a value to a Contact, Route, Record-Route or Path list.
 * @param msg The message.
 * @param hdr Which header.
 * @param value The value as text, e.g. "<sip:proxy.example.com;lr>".
 * @param at_end 0 to put it first (Record-Route, 16.6 step 4), 1 to put it last
 *               (the Request-URI appended to Route in strict routing, 16.6 step 6).
 * @return 0; SIPSRV_E_INVAL for a bad value; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_addr_push(sipsrv_msg *msg, sipsrv_addr_hdr hdr, const char *value,
                                    int at_end);

/**
 * @brief Remove the first value of a Contact, Route, Record-Route or Path list
 *        (the topmost Route in loose routing, RFC 3261 16.4 and 16.12).
 * @param msg The message.
 * @param hdr Which header.
 * @return 0; SIPSRV_E_NOTFOUND if the list is empty; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_addr_pop(sipsrv_msg *msg, sipsrv_addr_hdr hdr);

/** Headers with parameters, for sipsrv_msg_param_set(). */
typedef enum sipsrv_param_hdr {
  SIPSRV_PHDR_VIA = 1,      /**< The Via value at idx. */
  SIPSRV_PHDR_FROM = 2,     /**< From (idx 0). */
  SIPSRV_PHDR_TO = 3,       /**< To (idx 0). */
  SIPSRV_PHDR_CONTACT = 4,  /**< The Contact value at idx. */
  SIPSRV_PHDR_ROUTE = 5,    /**< The Route value at idx. */
  SIPSRV_PHDR_RECORD_ROUTE = 6 /**< The Record-Route value at idx. */
} sipsrv_param_hdr;

/**
 * @brief Set, replace or remove a header parameter (e.g. the To tag, RFC 3261 8.2.6.2).
 * @param msg The message.
 * @param hdr Which header.
 * @param idx Which value of a list header (0 = first).
 * @param name Parameter name (a token).
 * @param value The value (RFC 3261 gen-value: a token, a host or a quoted
 *              string), "" for a parameter without value, or NULL to remove
 *              the parameter.
 * @return 0; SIPSRV_E_NOTFOUND if there is no such header value (or, on
 *         removal, no such parameter); SIPSRV_E_INVAL; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_param_set(sipsrv_msg *msg, sipsrv_param_hdr hdr, int idx,
                                    const char *name, const char *value);

/**
 * @brief Add a header field given as "Name: value" (no CRLF).
 *
 * The field is parsed (a known header must be well-formed) and goes at the
 * end of the header section.
 *
 * @param msg The message.
 * @param field "Name: value", without CRLF.
 * @return 0; SIPSRV_E_INVAL if the name is not a token or the field does not
 *         parse; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_header_add(sipsrv_msg *msg, const char *field);

/**
 * @brief Remove every header field with this name (full or compact form).
 * @param msg The message.
 * @param name The header name ("Route", "v").
 * @return The number removed; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_header_remove(sipsrv_msg *msg, const char *name);

/**@}*/
/* ------------------------------------------------------------------------ */
/** @name Serializing */
/**@{*/

/**
 * @brief Serialize the message to iovecs without copying.
 *
 * Fixes Content-Length to the body. The iovecs point into the message and stay
 * valid until it is edited or freed.
 *
 * @param msg The message.
 * @param iov Array to fill (may be NULL when n is 0).
 * @param n Its length.
 * @return The number of iovecs the whole message needs (if more than n, only n
 *         were filled: call again with a larger array); SIPSRV_E_INVAL;
 *         SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_iovec(sipsrv_msg *msg, struct iovec *iov, size_t n);

/**
 * @brief Copy the serialized message into a buffer.
 * @param msg The message.
 * @param buf Receives the bytes (not NUL-terminated).
 * @param size Size of buf.
 * @return The message length (if larger than size, nothing was written but the
 *         length is still returned); SIPSRV_E_INVAL; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API long sipsrv_msg_serialize(sipsrv_msg *msg, void *buf, size_t size);

/**@}*/
/* ------------------------------------------------------------------------ */
/** @name Building responses */
/**@{*/

/** Options of sipsrv_msg_reply(). Initialise with #SIPSRV_REPLY_OPTS_INIT. */
typedef struct sipsrv_reply_opts {
  /** To tag (a token) to add when the request's To has none; NULL derives one
   *  deterministically from the request (so a retransmission gets the same
   *  tag, RFC 3261 8.2.7). Never added to a 100 (8.2.6.1). */
  const char *to_tag;
  /** Extra header fields, "Name: value" lines separated by CRLF; may be NULL. */
  const char *headers;
  /** Body bytes, or NULL. */
  const void *body;
  /** Body length. */
  size_t body_len;
  /** Content-Type of the body (required when body_len > 0). */
  const char *content_type;
} sipsrv_reply_opts;

/** No tag, no extra headers, no body. */
#define SIPSRV_REPLY_OPTS_INIT { NULL, NULL, NULL, 0, NULL }

/**
 * @brief Build a response to a request (RFC 3261 8.2.6).
 *
 * Copies every Via in order, From, To (adding a tag unless the status is 100
 * or the To has one), Call-ID and CSeq; copies Timestamp into a 100 (8.2.6.1);
 * adds Content-Length.
 *
 * @param[out] out Receives the response, written only on success.
 * @param req The request (borrowed).
 * @param status 100-699.
 * @param phrase Reason phrase, or NULL for the standard one.
 * @param opts Options, or NULL.
 * A request without From, To or Call-ID (which parses to a 400 verdict) is
 * answered without them; one without Via or CSeq cannot be answered.
 *
 * @return 0; SIPSRV_E_INVAL for bad arguments or a request lacking Via or
 *         CSeq; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_reply(sipsrv_msg **out, const sipsrv_msg *req, int status,
                                const char *phrase, const sipsrv_reply_opts *opts);

/**
 * @brief Build the error response a reject verdict calls for.
 *
 * Like sipsrv_msg_reply() with the verdict's status and phrase, and the
 * verdict's header field (Unsupported, Allow, Accept...) when it has one.
 *
 * @param[out] out Receives the response, written only on success.
 * @param req The request the verdict is about.
 * @param verdict A SIPSRV_REJECT verdict (sipsrv_msg_parse(), sipsrv_msg_check()).
 * @return 0; SIPSRV_E_INVAL if the verdict is not a reject or the request
 *         cannot be answered (the server then drops it); SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_msg_reply_verdict(sipsrv_msg **out, const sipsrv_msg *req,
                                        const sipsrv_verdict *verdict);

/**
 * @brief The standard reason phrase of a status code.
 * @param status 100-699.
 * @return "Not Found" and the like, or "Unknown".
 * @since 0.1.0
 */
SIPSRV_API const char *sipsrv_status_phrase(int status);

/**@}*/

SIPSRV_END_DECLS

#endif /* SIPSRV_MSG_H */
