/**
 * @file uas.h
 * @brief The user agent server role: answers requests (RFC 3261 8.2, 12, 13.3).
 *
 * A UAS receives requests through the server transactions of its core and
 * hands them to the application's callback; the application answers at once
 * or later, provisional responses first if it likes. Without the
 * application, the UAS behaves as RFC 3261 asks of any UAS:
 * - a method it does not implement: 405 with Allow, or 501 for a method
 *   nobody knows (8.2.1); a Request-URI scheme it does not know: 416
 *   (8.2.2.1); Require with unknown option tags: 420 with Unsupported
 *   (8.2.2.3); a body it cannot take: 415 with Accept (8.2.3); a merged
 *   request: 482 (8.2.2.2);
 * - OPTIONS: 200 with Allow, Accept and Supported (11.2);
 * - CANCEL: 200, and 487 for the INVITE if it is not answered yet (9.2);
 * - dialogs (12): a 2xx to an INVITE makes one; it is retransmitted until its
 *   ACK comes (13.3.1.4), which the UAS absorbs; BYE ends it with 200, and a
 *   BYE or other request for no dialog gets 481 (12.2.2, 15.1.2);
 *   out-of-order CSeq in a dialog gets 500 (12.2.2).
 *
 * Threads: used from its core's thread.
 */
#ifndef SIPSRV_UAS_H
#define SIPSRV_UAS_H

#include <sipsrv/common.h>
#include <sipsrv/core.h>
#include <sipsrv/msg.h>

SIPSRV_BEGIN_DECLS

/** Opaque UAS handle. */
typedef struct sipsrv_uas sipsrv_uas;

/** A request the application may answer; valid until answered finally, or
 *  until the on_cancel callback for it returns. */
typedef struct sipsrv_request sipsrv_request;

/**
 * A new request for the application.
 * @return 1 when the application answers it (now, with
 *         sipsrv_request_respond(), or later); 0 to let the UAS apply its
 *         built-in behaviour (the request is then answered before the call
 *         returns and req must not be used after).
 */
typedef int (*sipsrv_uas_request_cb)(sipsrv_uas *uas, sipsrv_request *req, void *user);

/** The caller cancelled a request the application has not answered finally
 *  (RFC 3261 9.2), or its transaction ended (a transport error, possibly
 *  while the application was answering it inside on_request): the UAS
 *  answers it 487 when it still can; req is gone when this returns. */
typedef void (*sipsrv_uas_cancel_cb)(sipsrv_uas *uas, sipsrv_request *req, void *user);

/** A dialog ended: by BYE (status 200), or because its 2xx was never ACKed
 *  (status 408, RFC 3261 13.3.1.4). call_id identifies it (borrowed). */
typedef void (*sipsrv_uas_dialog_end_cb)(sipsrv_uas *uas, const char *call_id, int status,
                                         void *user);

/** The version of sipsrv_uas_cfg this header describes. */
#define SIPSRV_UAS_CFG_VERSION 1

/** Configuration of a UAS. Initialise with #SIPSRV_UAS_CFG_INIT. */
typedef struct sipsrv_uas_cfg {
  unsigned version;                     /**< #SIPSRV_UAS_CFG_VERSION */
  sipsrv_uas_request_cb on_request;     /**< May be NULL: built-ins only. */
  sipsrv_uas_cancel_cb on_cancel;       /**< May be NULL. */
  sipsrv_uas_dialog_end_cb on_dialog_end; /**< May be NULL. */
  void *user;                           /**< Passed to the callbacks. */
  /** Methods it implements, NULL-terminated; NULL: INVITE, ACK, CANCEL, BYE, OPTIONS. */
  const char *const *methods;
  /** Option tags it supports, NULL-terminated; NULL: none. */
  const char *const *supported;
  /** Body types it takes, NULL-terminated; NULL: application/sdp. */
  const char *const *accept;
  /** The user part of the Contact it puts in 2xx to INVITE (12.1.1); NULL: "sipsrv". */
  const char *contact_user;
} sipsrv_uas_cfg;

/** Defaults: built-in behaviour only. */
#define SIPSRV_UAS_CFG_INIT { SIPSRV_UAS_CFG_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL }

/**
 * @brief Create a UAS on a core; it takes the requests no role attached
 *        before it claimed.
 * @param[out] out Receives the UAS, written only on success.
 * @param core The core (borrowed: free the UAS first).
 * @param cfg The configuration (copied, lists borrowed: keep them alive), or NULL.
 * @return 0; SIPSRV_E_INVAL; SIPSRV_E_VERSION; SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_uas_new(sipsrv_uas **out, sipsrv_core *core, const sipsrv_uas_cfg *cfg);

/**
 * @brief Free a UAS: requests still unanswered go to on_cancel, then get
 *        500; dialogs are forgotten.
 * @param uas A UAS, or NULL (no-op).
 * @since 0.1.0
 */
SIPSRV_API void sipsrv_uas_free(sipsrv_uas *uas);

/**
 * @brief The request (borrowed from req).
 * @param req The request, or NULL.
 * @return The message; NULL for NULL.
 * @since 0.1.0
 */
SIPSRV_API const sipsrv_msg *sipsrv_request_msg(const sipsrv_request *req);

/**
 * @brief Answer a request.
 *
 * A final response (200-699) ends the request: req is gone after the call. A
 * 2xx to INVITE makes a dialog: the UAS adds the Contact and copies the
 * Record-Route (RFC 3261 12.1.1) and retransmits it until the ACK
 * (13.3.1.4). The To tag is the one the UAS chose for this request, the same
 * in every response to it.
 *
 * @param req The request.
 * @param status 100-699 (101-199 only for INVITE, RFC 4320).
 * @param phrase The reason phrase, or NULL for the standard one.
 * @param opts Extra headers and body, or NULL (to_tag is ignored).
 * @return 0; SIPSRV_E_INVAL for bad arguments; SIPSRV_E_STATE if the request
 *         is answered already; SIPSRV_E_IO if the transport failed (req is gone);
 *         SIPSRV_E_NOMEM.
 * @since 0.1.0
 */
SIPSRV_API int sipsrv_request_respond(sipsrv_request *req, int status, const char *phrase,
                                      const sipsrv_reply_opts *opts);

/**
 * @brief Attach application data to a request.
 * @param req The request.
 * @param data Anything (borrowed), returned by sipsrv_request_user().
 * @since 0.1.0
 */
SIPSRV_API void sipsrv_request_set_user(sipsrv_request *req, void *data);

/**
 * @brief The data attached with sipsrv_request_set_user().
 * @param req The request.
 * @return The data, or NULL.
 * @since 0.1.0
 */
SIPSRV_API void *sipsrv_request_user(const sipsrv_request *req);

/**
 * @brief The number of dialogs the UAS holds.
 * @param uas The UAS, or NULL.
 * @return The count (0 for NULL).
 * @since 0.1.0
 */
SIPSRV_API size_t sipsrv_uas_dialogs(const sipsrv_uas *uas);

SIPSRV_END_DECLS

#endif /* SIPSRV_UAS_H */
