/**
 * @file framer.h
 * @brief Framing SIP messages out of a byte stream (TCP, TLS).
 *
 * A framer takes the bytes of one connection as they arrive, in chunks of any
 * size, and hands out one whole message at a time, framed by Content-Length
 * (RFC 3261 18.3). Between messages it ignores CRLFs (RFC 3261 7.5) and
 * reports a double-CRLF keep-alive ping, which the server answers with one
 * CRLF (RFC 5626 4.4.1). When the framing is lost (a Content-Length that is
 * missing a value, negative, not a number, given twice, or larger than the
 * limit; a header section too large) it reports an error frame with the
 * header bytes, so the server can answer 400 before it closes the connection
 * (RFC 4475 3.1.2.3, 3.3.9).
 *
 * Threads: a framer is used from one thread at a time.
 */
#ifndef SIPSRV_FRAMER_H
#define SIPSRV_FRAMER_H

#include <sipsrv/common.h>

SIPSRV_BEGIN_DECLS

/** Opaque stream framer, one per connection. */
typedef struct sipsrv_framer sipsrv_framer;

/** Kinds of frames. */
typedef enum sipsrv_frame_kind {
  SIPSRV_FRAME_MESSAGE = 1,  /**< One whole message in data/len: parse it with SIPSRV_PARSE_STREAM. */
  SIPSRV_FRAME_PING = 2,     /**< A CRLFCRLF keep-alive: answer with one CRLF (RFC 5626 4.4.1). */
  SIPSRV_FRAME_ERROR = 3     /**< Framing lost: data/len hold what was read of the message (may
                                  be parsed to answer status), then close the connection. */
} sipsrv_frame_kind;

/** One frame out of a framer. */
typedef struct sipsrv_frame {
  sipsrv_frame_kind kind;  /**< What it is. */
  const void *data;        /**< The bytes; valid until the next call on the framer. */
  size_t len;              /**< Their length. */
  int status;              /**< For SIPSRV_FRAME_ERROR: the status to answer (400, or 513 Message Too Large). */
  const char *phrase;      /**< For SIPSRV_FRAME_ERROR: a static reason phrase. */
} sipsrv_frame;

/**
 * @brief Create a framer.
 * @param[out] out Receives the framer, written only on success.
 * @param max_msg Largest message accepted (headers and body), at most
 *                #SIPSRV_MSG_MAX_DEFAULT (what sipsrv_msg_parse() takes); 0
 *                for #SIPSRV_MSG_MAX_DEFAULT.
 * @return 0; SIPSRV_E_INVAL for a NULL out or a max_msg over the limit; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_framer_new(sipsrv_framer **out, size_t max_msg);

/**
 * @brief Free a framer.
 * @param f A framer, or NULL (no-op).
 * @since 0.1.0
 */
SIPSRV_API void sipsrv_framer_free(sipsrv_framer *f);

/**
 * @brief Give the framer bytes read from the connection.
 * @param f The framer.
 * @param data The bytes (copied).
 * @param len Their number; 0 is allowed.
 * @return 0; SIPSRV_E_STATE after an error frame (the connection must be
 *         closed); SIPSRV_E_INVAL; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_framer_feed(sipsrv_framer *f, const void *data, size_t len);

/**
 * @brief Take the next frame.
 *
 * Call it until it returns SIPSRV_E_AGAIN after each feed: one read may hold
 * several messages.
 *
 * @param f The framer.
 * @param[out] out Receives the frame.
 * @return 0 with *out set; SIPSRV_E_AGAIN if more bytes are needed;
 *         SIPSRV_E_STATE after an error frame; SIPSRV_E_INVAL.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_framer_next(sipsrv_framer *f, sipsrv_frame *out);

/**
 * @brief Bytes held that do not yet form a frame.
 * @param f The framer, or NULL.
 * @return The count (0 for NULL).
 * @since 0.1.0
 */
SIPSRV_API size_t sipsrv_framer_pending(const sipsrv_framer *f);

SIPSRV_END_DECLS

#endif /* SIPSRV_FRAMER_H */
