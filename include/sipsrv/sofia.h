/**
 * @file sofia.h
 * @brief Opt-in access to the Sofia-SIP objects under a sipsrv_msg.
 *
 * Not included by <sipsrv/sipsrv.h>. An application that includes it takes on
 * Sofia-SIP as a direct dependency: add `pkg-config --cflags --libs
 * sofia-sip-ua` to its build. The pointers are borrowed from the message; an
 * edit made through them must call msg_fragment_clear() on the edited header
 * (see SOFIA-NOTES) or the old bytes are sent.
 */
#ifndef SIPSRV_SOFIA_H
#define SIPSRV_SOFIA_H

#include <sipsrv/msg.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>

SIPSRV_BEGIN_DECLS

/**
 * @brief The parsed Sofia-SIP message under a sipsrv_msg.
 * @param msg The message, or NULL.
 * @return The sip_t, owned by msg; NULL for NULL.
 * @since 0.1.0
 */
SIPSRV_API sip_t *sipsrv_msg_sip(sipsrv_msg *msg);

/**
 * @brief The Sofia-SIP msg_t under a sipsrv_msg.
 * @param msg The message, or NULL.
 * @return The msg_t, owned by msg; NULL for NULL.
 * @since 0.1.0
 */
SIPSRV_API msg_t *sipsrv_msg_sofia(sipsrv_msg *msg);

SIPSRV_END_DECLS

#endif /* SIPSRV_SOFIA_H */
