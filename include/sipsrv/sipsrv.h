/**
 * @file sipsrv.h
 * @brief The whole public API of sipsrv.
 *
 * Include this one header. It never includes Sofia-SIP headers; the opt-in
 * <sipsrv/sofia.h> does, for applications that want the parsed sip_t.
 */
#ifndef SIPSRV_SIPSRV_H
#define SIPSRV_SIPSRV_H

#include <sipsrv/common.h>
#include <sipsrv/version.h>
#include <sipsrv/error.h>
#include <sipsrv/log.h>
#include <sipsrv/core.h>
#include <sipsrv/msg.h>
#include <sipsrv/framer.h>
#include <sipsrv/transport.h>
#include <sipsrv/resolver.h>
#include <sipsrv/loop.h>
#include <sipsrv/uas.h>
#include <sipsrv/store.h>
#include <sipsrv/registrar.h>
#include <sipsrv/proxy.h>
#include <sipsrv/redirect.h>

#endif /* SIPSRV_SIPSRV_H */
