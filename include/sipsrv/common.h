/**
 * @file common.h
 * @brief Shared macros of the sipsrv public API.
 *
 * Included by every other public header; an application includes
 * <sipsrv/sipsrv.h> instead.
 */
#ifndef SIPSRV_COMMON_H
#define SIPSRV_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(SIPSRV_BUILDING) && defined(__GNUC__)
/** Marks a function exported from the shared library (all else is hidden). */
#define SIPSRV_API __attribute__((visibility("default")))
#else
/** Marks a function of the public API (exported when building the library). */
#define SIPSRV_API
#endif

#ifdef __cplusplus
#define SIPSRV_BEGIN_DECLS extern "C" {
#define SIPSRV_END_DECLS }
#else
/** Opens a C linkage block for C++ users. */
#define SIPSRV_BEGIN_DECLS
/** Closes a C linkage block for C++ users. */
#define SIPSRV_END_DECLS
#endif

#endif /* SIPSRV_COMMON_H */
