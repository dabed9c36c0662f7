/* Reading the fields of a parsed message. */
#include "msg_int.h"

#include <sipsrv/error.h>
#include <sipsrv/sofia.h>

#include <sofia-sip/url.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

sipsrv_method ss_method_from_sofia(int m)
{
  switch (m) {
  case sip_method_invite: return SIPSRV_METHOD_INVITE;
  case sip_method_ack: return SIPSRV_METHOD_ACK;
  case sip_method_cancel: return SIPSRV_METHOD_CANCEL;
  case sip_method_bye: return SIPSRV_METHOD_BYE;
  case sip_method_options: return SIPSRV_METHOD_OPTIONS;
  case sip_method_register: return SIPSRV_METHOD_REGISTER;
  case sip_method_prack: return SIPSRV_METHOD_PRACK;
  case sip_method_subscribe: return SIPSRV_METHOD_SUBSCRIBE;
  case sip_method_notify: return SIPSRV_METHOD_NOTIFY;
  case sip_method_publish: return SIPSRV_METHOD_PUBLISH;
  case sip_method_info: return SIPSRV_METHOD_INFO;
  case sip_method_refer: return SIPSRV_METHOD_REFER;
  case sip_method_message: return SIPSRV_METHOD_MESSAGE;
  case sip_method_update: return SIPSRV_METHOD_UPDATE;
  default: return SIPSRV_METHOD_OTHER;
  }
}

sip_t *sipsrv_msg_sip(sipsrv_msg *msg)
{
  return msg ? msg->sip : NULL;
}

msg_t *sipsrv_msg_sofia(sipsrv_msg *msg)
{
  return msg ? msg->msg : NULL;
}

int sipsrv_msg_is_request(const sipsrv_msg *msg)
{
  return msg && msg->sip->sip_request ? 1 : 0;
}

sipsrv_method sipsrv_msg_method(const sipsrv_msg *msg)
{
  if (!msg)
    return SIPSRV_METHOD_NONE;
  if (msg->sip->sip_request)
    return ss_method_from_sofia(msg->sip->sip_request->rq_method);
  if (msg->sip->sip_cseq)
    return ss_method_from_sofia(msg->sip->sip_cseq->cs_method);
  return SIPSRV_METHOD_NONE;
}

const char *sipsrv_msg_method_name(const sipsrv_msg *msg)
{
  if (!msg)
    return NULL;
  if (msg->sip->sip_request)
    return msg->sip->sip_request->rq_method_name;
  return msg->sip->sip_cseq ? msg->sip->sip_cseq->cs_method_name : NULL;
}

int sipsrv_msg_status(const sipsrv_msg *msg)
{
  return msg && msg->sip->sip_status ? msg->sip->sip_status->st_status : 0;
}

const char *sipsrv_msg_phrase(const sipsrv_msg *msg)
{
  if (!msg || !msg->sip->sip_status)
    return NULL;
  return msg->sip->sip_status->st_phrase ? msg->sip->sip_status->st_phrase : "";
}

static void uri_from_url(url_t const *u, sipsrv_uri *out)
{
  memset(out, 0, sizeof *out);
  out->scheme = u->url_type == url_any ? "*" : u->url_scheme;
  out->user = u->url_user;
  out->password = u->url_password;
  out->host = u->url_host;
  out->port = u->url_port;
  out->params = u->url_params;
  out->headers = u->url_headers;
  if (u->url_type != url_sip && u->url_type != url_sips && u->url_type != url_tel)
    out->opaque = u->url_path;
}

int sipsrv_msg_request_uri(const sipsrv_msg *msg, sipsrv_uri *out)
{
  if (!msg || !out)
    return SIPSRV_E_INVAL;
  if (!msg->sip->sip_request)
    return SIPSRV_E_NOTFOUND;
  uri_from_url(msg->sip->sip_request->rq_url, out);
  return 0;
}

int sipsrv_msg_request_uri_str(const sipsrv_msg *msg, char *buf, size_t size)
{
  char tmp[1];
  isize_t n;

  if (!msg || (!buf && size))
    return SIPSRV_E_INVAL;
  if (!msg->sip->sip_request)
    return SIPSRV_E_NOTFOUND;
  n = url_e(size ? buf : tmp, size ? (isize_t)size : 0, msg->sip->sip_request->rq_url);
  if (n < 0)
    return SIPSRV_E_INVAL;
  if (size)
    buf[(size_t)n < size ? (size_t)n : size - 1] = '\0';
  return (int)n;
}

int sipsrv_msg_via_count(const sipsrv_msg *msg)
{
  int n = 0;
  if (msg)
    for (sip_via_t const *v = msg->sip->sip_via; v; v = v->v_next)
      n++;
  return n;
}

void ss_via_fill(sip_via_t const *v, sipsrv_via *out)
{
  const char *slash = v->v_protocol ? strrchr(v->v_protocol, '/') : NULL;
  memset(out, 0, sizeof *out);
  out->protocol = v->v_protocol;
  out->transport = slash ? slash + 1 : v->v_protocol;
  out->host = v->v_host;
  out->port = v->v_port;
  out->branch = v->v_branch;
  out->received = v->v_received;
  out->rport = v->v_rport;
  out->maddr = v->v_maddr;
  out->ttl = v->v_ttl;
  out->params = v->v_params;
}

int sipsrv_msg_via(const sipsrv_msg *msg, int idx, sipsrv_via *out)
{
  sip_via_t const *v;

  if (!msg || !out || idx < 0)
    return SIPSRV_E_INVAL;
  for (v = msg->sip->sip_via; v && idx > 0; v = v->v_next)
    idx--;
  if (!v)
    return SIPSRV_E_NOTFOUND;
  ss_via_fill(v, out);
  return 0;
}

static void addr_fill(sipsrv_addr *out, const char *display, url_t const *url,
                      msg_param_t const *params)
{
  memset(out, 0, sizeof *out);
  out->display = display;
  uri_from_url(url, &out->uri);
  out->params = params;
  out->tag = params ? msg_params_find(params, "tag") : NULL;
}

int sipsrv_msg_from(const sipsrv_msg *msg, sipsrv_addr *out)
{
  if (!msg || !out)
    return SIPSRV_E_INVAL;
  if (!msg->sip->sip_from)
    return SIPSRV_E_NOTFOUND;
  addr_fill(out, msg->sip->sip_from->a_display, msg->sip->sip_from->a_url,
            msg->sip->sip_from->a_params);
  return 0;
}

int sipsrv_msg_to(const sipsrv_msg *msg, sipsrv_addr *out)
{
  if (!msg || !out)
    return SIPSRV_E_INVAL;
  if (!msg->sip->sip_to)
    return SIPSRV_E_NOTFOUND;
  addr_fill(out, msg->sip->sip_to->a_display, msg->sip->sip_to->a_url,
            msg->sip->sip_to->a_params);
  return 0;
}

int sipsrv_msg_addr(const sipsrv_msg *msg, sipsrv_addr_hdr hdr, int idx, sipsrv_addr *out)
{
  if (!msg || !out || idx < 0)
    return SIPSRV_E_INVAL;
  if (hdr == SIPSRV_HDR_CONTACT) {
    sip_contact_t const *m;
    for (m = msg->sip->sip_contact; m && idx > 0; m = m->m_next)
      idx--;
    if (!m)
      return SIPSRV_E_NOTFOUND;
    addr_fill(out, m->m_display, m->m_url, m->m_params);
    return 0;
  } else {
    sip_route_t const *r;
    switch (hdr) {
    case SIPSRV_HDR_ROUTE: r = msg->sip->sip_route; break;
    case SIPSRV_HDR_RECORD_ROUTE: r = msg->sip->sip_record_route; break;
    case SIPSRV_HDR_PATH: r = msg->sip->sip_path; break;
    default: return SIPSRV_E_INVAL;
    }
    for (; r && idx > 0; r = r->r_next)
      idx--;
    if (!r)
      return SIPSRV_E_NOTFOUND;
    addr_fill(out, r->r_display, r->r_url, r->r_params);
    return 0;
  }
}

const char *sipsrv_msg_call_id(const sipsrv_msg *msg)
{
  return msg && msg->sip->sip_call_id ? msg->sip->sip_call_id->i_id : NULL;
}

int sipsrv_msg_cseq(const sipsrv_msg *msg, uint32_t *seq, const char **method)
{
  if (!msg)
    return SIPSRV_E_INVAL;
  if (!msg->sip->sip_cseq)
    return SIPSRV_E_NOTFOUND;
  if (seq)
    *seq = msg->sip->sip_cseq->cs_seq;
  if (method)
    *method = msg->sip->sip_cseq->cs_method_name;
  return 0;
}

int sipsrv_msg_max_forwards(const sipsrv_msg *msg)
{
  if (!msg)
    return SIPSRV_E_INVAL;
  if (!msg->sip->sip_max_forwards)
    return SIPSRV_E_NOTFOUND;
  return msg->sip->sip_max_forwards->mf_count > 255 ? 255 : (int)msg->sip->sip_max_forwards->mf_count;
}

int sipsrv_msg_expires(const sipsrv_msg *msg, uint32_t *out)
{
  if (!msg || !out)
    return SIPSRV_E_INVAL;
  if (!msg->sip->sip_expires)
    return SIPSRV_E_NOTFOUND;
  *out = (uint32_t)msg->sip->sip_expires->ex_delta;
  return 0;
}

int sipsrv_msg_body(const sipsrv_msg *msg, const void **data, size_t *len)
{
  if (!msg || !data || !len)
    return SIPSRV_E_INVAL;
  if (msg->sip->sip_payload && msg->sip->sip_payload->pl_len) {
    *data = msg->sip->sip_payload->pl_data;
    *len = msg->sip->sip_payload->pl_len;
  } else {
    *data = NULL;
    *len = 0;
  }
  return 0;
}

/* The name a header in the chain goes by, or NULL for the start line, the
 * separator, the body and unparseable headers. */
static const char *chain_name(msg_header_t const *h, char *compact)
{
  msg_hclass_t const *hc = h->sh_class;
  *compact = 0;
  if (hc == sip_request_class || hc == sip_status_class || hc == sip_separator_class ||
      hc == sip_payload_class || hc == sip_error_class)
    return NULL;
  if (hc == sip_unknown_class)
    return h->sh_unknown->un_name;
  if (hc->hc_short[0])
    *compact = hc->hc_short[0];
  return hc->hc_name;
}

static bool name_matches(const char *want, const char *name, char compact)
{
  if (strcasecmp(want, name) == 0)
    return true;
  return compact && want[0] && !want[1] && (want[0] | 0x20) == (compact | 0x20);
}

int sipsrv_msg_header(const sipsrv_msg *msg, const char *name, int idx, char *buf, size_t size)
{
  char tmp[1];

  if (!msg || !name || !*name || idx < 0 || (!buf && size))
    return SIPSRV_E_INVAL;
  for (msg_header_t *h = *msg_chain_head(msg->msg); h; h = h->sh_succ) {
    char compact;
    const char *hn = chain_name(h, &compact);
    if (!hn || !name_matches(name, hn, compact) || idx-- > 0)
      continue;
    issize_t n;
    if (h->sh_class == sip_unknown_class) {
      /* An unknown header prints with its name: take the value itself. */
      const char *val = h->sh_unknown->un_value ? h->sh_unknown->un_value : "";
      n = (issize_t)strlen(val);
      if (size)
        memcpy(buf, val, (size_t)n < size ? (size_t)n : size - 1);
    } else {
      n = msg_header_field_e(size ? buf : tmp, size ? (isize_t)size : 0, h, 0);
    }
    if (n < 0)
      return SIPSRV_E_INVAL;
    if (size)
      buf[(size_t)n < size ? (size_t)n : size - 1] = '\0';
    return (int)n;
  }
  return SIPSRV_E_NOTFOUND;
}

int sipsrv_param_find(const char *const *params, const char *name, const char **value)
{
  size_t n;
  if (!name || !*name)
    return SIPSRV_E_INVAL;
  n = strlen(name);
  for (; params && *params; params++) {
    if (strncasecmp(*params, name, n) == 0 && ((*params)[n] == '=' || (*params)[n] == '\0')) {
      if (value)
        *value = (*params)[n] == '=' ? *params + n + 1 : "";
      return 0;
    }
  }
  return SIPSRV_E_NOTFOUND;
}
