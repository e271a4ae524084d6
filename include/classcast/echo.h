/* classcast: the echo application, the transport core's proof: every RTP
 * stream a browser sends comes straight back to it on classcast's own SSRCs
 * (on the same m-line), and the browser's PLI/NACK/FIR for those SSRCs are
 * forwarded to the browser's own sender, so its encoder answers them.
 * cc_echo_prepare runs on the control thread (SDP in, answer + add-peer
 * message out); cc_echo_app's callbacks run on the worker. */
#ifndef CLASSCAST_ECHO_H
#define CLASSCAST_ECHO_H

#include <stddef.h>

#include "classcast/sdp.h"
#include "classcast/worker.h"

extern const cc_worker_app cc_echo_app;

typedef struct cc_echo_params {
    const char *fingerprint;                  /* our DTLS sha-256 */
    cc_addr candidates[CC_SDP_MAX_CANDIDATES];
    int n_candidates;
} cc_echo_params;

/* Parse the offer, choose codecs, write the answer (*answer malloc'd) and
 * build the add-peer message for the worker (*msg). On failure returns a
 * negative code and a human-readable reason in err. */
int cc_echo_prepare(const char *offer, size_t len, const cc_echo_params *p,
                    char **answer, cc_worker_msg_add **msg, char *err,
                    size_t errcap);

#endif
