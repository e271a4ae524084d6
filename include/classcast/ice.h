/* classcast: ICE-lite agent for one peer (RFC 8445 sections 2.5 and 7.3,
 * consent freshness RFC 7675). The browser is the controlling full agent;
 * this side only answers Binding requests, never sends checks.
 * Pure state machine: bytes + `now` in, response bytes out. No I/O.
 * Thread: the SFU worker that owns the peer. */
#ifndef CLASSCAST_ICE_H
#define CLASSCAST_ICE_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/addr.h"
#include "classcast/clock.h"
#include "classcast/stun.h"

#define CC_ICE_UFRAG_LEN 8   /* >= 4 ice-chars, RFC 8839 section 5.4 */
#define CC_ICE_PWD_LEN 24    /* >= 22 ice-chars */
#define CC_ICE_MAX_CRED 256

/* No valid Binding request for this long: consent lost (RFC 7675 section 5.1
 * uses 30 s). */
#define CC_ICE_CONSENT_TIMEOUT_US (30 * CC_USEC_PER_SEC)

typedef enum {
    CC_ICE_NEW = 0,       /* no valid check yet */
    CC_ICE_CONNECTED,     /* valid checks seen, none nominated yet */
    CC_ICE_NOMINATED,     /* USE-CANDIDATE seen: selected address fixed */
    CC_ICE_CLOSED,        /* consent expired or closed by the owner */
} cc_ice_state;

typedef struct cc_ice_stats {
    uint64_t requests_ok;      /* valid Binding requests answered */
    uint64_t drop_not_stun;
    uint64_t drop_malformed;
    uint64_t drop_bad_username;
    uint64_t drop_bad_integrity;
    uint64_t drop_bad_fingerprint;
    uint64_t drop_unknown_required;
    uint64_t drop_not_request; /* responses/indications: ICE-lite ignores */
} cc_ice_stats;

typedef struct cc_ice_lite {
    char local_ufrag[CC_ICE_MAX_CRED];
    char local_pwd[CC_ICE_MAX_CRED];
    char remote_ufrag[CC_ICE_MAX_CRED];
    char remote_pwd[CC_ICE_MAX_CRED];
    cc_ice_state state;
    cc_addr selected;          /* nominated remote address */
    cc_addr last_valid;        /* source of the latest valid request */
    cc_time_us last_consent;   /* time of the latest valid request */
    cc_time_us created;
    cc_time_us consent_timeout;
    cc_ice_stats stats;
} cc_ice_lite;

/* Make random local credentials: ufrag CC_ICE_UFRAG_LEN, pwd CC_ICE_PWD_LEN. */
void cc_ice_make_credentials(char ufrag[CC_ICE_UFRAG_LEN + 1],
                             char pwd[CC_ICE_PWD_LEN + 1]);

/* remote_ufrag/remote_pwd come from the offer; remote_ufrag may be "" to
 * accept any remote part of USERNAME. Returns 0 or CC_EINVAL (too long). */
int cc_ice_lite_init(cc_ice_lite *ice, const char *local_ufrag,
                     const char *local_pwd, const char *remote_ufrag,
                     const char *remote_pwd, cc_time_us now);

/* Handle one datagram that demuxed as STUN, from `from`. On a valid Binding
 * request (USERNAME "local:remote", MESSAGE-INTEGRITY with local_pwd,
 * FINGERPRINT if present) writes a Binding success response (same txid,
 * XOR-MAPPED-ADDRESS = from, MESSAGE-INTEGRITY, FINGERPRINT) into out,
 * sets *out_len and returns 0; the caller sends it to `from`.
 * USE-CANDIDATE moves to CC_ICE_NOMINATED with selected = from (a later
 * nomination of another address moves it). Anything else: a negative code,
 * *out_len = 0, and a stats counter bumped. */
int cc_ice_lite_handle(cc_ice_lite *ice, const uint8_t *pkt, size_t len,
                       const cc_addr *from, cc_time_us now, uint8_t *out,
                       size_t cap, size_t *out_len);

/* When cc_ice_lite_handle_timeout must next run (consent expiry). */
cc_time_us cc_ice_lite_deadline(const cc_ice_lite *ice);
/* Moves to CC_ICE_CLOSED if consent expired; returns the state. */
cc_ice_state cc_ice_lite_handle_timeout(cc_ice_lite *ice, cc_time_us now);

/* The local ufrag in a Binding request's USERNAME ("local:remote"), for
 * finding the peer a STUN packet belongs to. Writes a NUL-terminated copy;
 * returns 0, CC_ENOTFOUND (no USERNAME / no ':') or CC_ENOSPC. */
int cc_ice_username_local(const cc_stun_msg *m, char *out, size_t cap);

#endif
