/**
 * @file error.h
 * @brief Error codes of the sipsrv API.
 *
 * Every public function that can fail returns an int: 0 (or a count) on
 * success and one of the negative SIPSRV_E_* values below on failure. Values
 * are never renumbered; new ones are appended. A SIP status code is data,
 * never an error code.
 */
#ifndef SIPSRV_ERROR_H
#define SIPSRV_ERROR_H

#include <sipsrv/common.h>

SIPSRV_BEGIN_DECLS

/** Error codes (negative) returned by sipsrv functions. */
typedef enum sipsrv_error {
  SIPSRV_OK = 0,            /**< Success. */
  SIPSRV_E_INVAL = -1,      /**< An argument from the application is invalid. */
  SIPSRV_E_NOMEM = -2,      /**< Memory allocation failed. */
  SIPSRV_E_PARSE = -3,      /**< Bytes are not a SIP message that can be used. */
  SIPSRV_E_AGAIN = -4,      /**< More input is needed (or the call would block). */
  SIPSRV_E_TOOBIG = -5,     /**< A size limit was exceeded, or a buffer is too small. */
  SIPSRV_E_NOTFOUND = -6,   /**< The item asked for does not exist. */
  SIPSRV_E_EXISTS = -7,     /**< The item exists already. */
  SIPSRV_E_STATE = -8,      /**< The object is not in a state that allows the call. */
  SIPSRV_E_NOTSUP = -9,     /**< The operation is not supported. */
  SIPSRV_E_VERSION = -10,   /**< A config or vtable version is not supported. */
  SIPSRV_E_IO = -11,        /**< A transport or I/O operation failed. */
  SIPSRV_E_TIMEOUT = -12,   /**< An operation timed out. */
  SIPSRV_E_STORE = -13,     /**< A storage backend failed. */
  SIPSRV_E_CLOSED = -14     /**< A stream must be closed: its framing is lost. */
} sipsrv_error;

/**
 * @brief A short English description of an error code.
 * @param err A value returned by a sipsrv function (0 or a SIPSRV_E_*).
 * @return A static string; "unknown error" for values that are not codes.
 * @note Thread-safe. @since 0.1.0
 */
SIPSRV_API const char *sipsrv_strerror(int err);

SIPSRV_END_DECLS

#endif /* SIPSRV_ERROR_H */
