/* Error strings and version of the library. */
#include <sipsrv/error.h>
#include <sipsrv/version.h>

const char *sipsrv_strerror(int err)
{
  switch (err) {
  case SIPSRV_OK: return "success";
  case SIPSRV_E_INVAL: return "invalid argument";
  case SIPSRV_E_NOMEM: return "out of memory";
  case SIPSRV_E_PARSE: return "not a usable SIP message";
  case SIPSRV_E_AGAIN: return "more input needed";
  case SIPSRV_E_TOOBIG: return "size limit exceeded";
  case SIPSRV_E_NOTFOUND: return "not found";
  case SIPSRV_E_EXISTS: return "already exists";
  case SIPSRV_E_STATE: return "not allowed in the current state";
  case SIPSRV_E_NOTSUP: return "not supported";
  case SIPSRV_E_VERSION: return "unsupported config or vtable version";
  case SIPSRV_E_IO: return "I/O error";
  case SIPSRV_E_TIMEOUT: return "timed out";
  case SIPSRV_E_STORE: return "storage backend failure";
  case SIPSRV_E_CLOSED: return "stream framing lost, connection must close";
  default: return "unknown error";
  }
}

const char *sipsrv_version(void)
{
  return SIPSRV_VERSION_STRING;
}

unsigned sipsrv_version_number(void)
{
  return SIPSRV_VERSION_NUMBER;
}
