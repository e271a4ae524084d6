/* classcast: a WHIP / WHEP HTTP client (RFC 9725 and the WHEP draft) on
 * libcurl: POST an SDP offer (application/sdp, Authorization: Bearer),
 * read 201 + Location + the answer; DELETE the session resource.
 * Blocking calls for setup and teardown, never on the packet path.
 * Thread: any (each call uses its own curl handle; call
 * cc_whipc_global_init once before threads start). */
#ifndef CLASSCAST_WHIPC_H
#define CLASSCAST_WHIPC_H

#include <stddef.h>

#define CC_WHIPC_URL_MAX 1024

typedef struct cc_whipc_result {
    long status;                      /* HTTP status, 0 if no response */
    char *body;                       /* malloc'd, NUL-terminated: the answer
                                       * on 201, the error text otherwise */
    size_t body_len;
    char location[CC_WHIPC_URL_MAX];  /* absolute session URL ("" if none) */
    char error[256];                  /* why it failed, for people */
} cc_whipc_result;

int cc_whipc_global_init(void);
void cc_whipc_global_cleanup(void);
/* Trust the CA certificates in this PEM file for https URLs (e.g. a
 * classcast server's school CA, its state directory's ca.crt) instead of
 * the system's. NULL: the system's again. Call before threads start; the
 * path is copied. 0, or CC_ENOMEM. */
int cc_whipc_set_ca_file(const char *pem_path);

/* POST the offer to url. token may be NULL (no Authorization header).
 * Returns 0 on 201 Created with a body and a Location (resolved against
 * url), else CC_EIO (transport) or CC_EPROTO (other status; result->status
 * and body say why). Free result with cc_whipc_result_clear either way. */
int cc_whipc_post(const char *url, const char *token, const char *offer,
                  long timeout_ms, cc_whipc_result *result);
/* DELETE the session resource: 0 on 2xx, else CC_EIO / CC_EPROTO. */
int cc_whipc_delete(const char *resource_url, const char *token,
                    long timeout_ms);
void cc_whipc_result_clear(cc_whipc_result *result);

#endif
