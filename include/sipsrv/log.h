/**
 * @file log.h
 * @brief Log levels and the log callback.
 *
 * The library never prints by itself. An application that wants messages
 * sets a callback on the core (sipsrv_core_cfg::log_cb or
 * sipsrv_core_set_log()); messages above the configured level are not even
 * formatted.
 */
#ifndef SIPSRV_LOG_H
#define SIPSRV_LOG_H

#include <sipsrv/common.h>

SIPSRV_BEGIN_DECLS

/** Log levels, from the most to the least severe. */
typedef enum sipsrv_log_level {
  SIPSRV_LOG_NONE = 0,   /**< Nothing is logged (a level to configure, never passed to a callback). */
  SIPSRV_LOG_ERROR = 1,  /**< The library cannot do what it was asked. */
  SIPSRV_LOG_WARN = 2,   /**< Bad input from the network, dropped or answered with an error. */
  SIPSRV_LOG_INFO = 3,   /**< Notable events: listening, a connection closed. */
  SIPSRV_LOG_DEBUG = 4,  /**< Decisions of the roles and transactions. */
  SIPSRV_LOG_TRACE = 5   /**< Every message in and out. */
} sipsrv_log_level;

/**
 * @brief A log callback.
 * @param level The level of the message (never SIPSRV_LOG_NONE).
 * @param msg   The message, NUL-terminated, without a trailing newline; valid
 *              only until the callback returns.
 * @param user  The pointer given with the callback.
 */
typedef void (*sipsrv_log_cb)(sipsrv_log_level level, const char *msg, void *user);

/**
 * @brief The lower-case name of a level ("error", "warn", ...).
 * @param level A level.
 * @return A static string; "unknown" for values outside the enum.
 * @note Thread-safe. @since 0.1.0
 */
SIPSRV_API const char *sipsrv_log_level_name(sipsrv_log_level level);

/**
 * @brief Parse a level name as given on a command line.
 * @param name "none", "error", "warn" (or "warning"), "info", "debug" or
 *             "trace" (any case), or a digit 0-5.
 * @return The level (>= 0), or SIPSRV_E_INVAL.
 * @note Thread-safe. @since 0.1.0
 */
SIPSRV_API int sipsrv_log_level_parse(const char *name);

SIPSRV_END_DECLS

#endif /* SIPSRV_LOG_H */
