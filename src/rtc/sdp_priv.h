/* classcast SDP: the checks shared by the offer parser (sdp.c) and the
 * answer writer (sdp_answer.c). Internal: not installed, not part of the
 * API. */
#ifndef CLASSCAST_SDP_PRIV_H
#define CLASSCAST_SDP_PRIV_H

#include <stddef.h>

/* RFC 8866 9 token (a mid, codec name or msid id), non-empty. */
int sdp_is_token(const char *s, size_t n);
/* RFC 8839 5.4 ice-chars (ufrag, pwd); the length is the caller's. */
int sdp_is_ice_string(const char *s, size_t n);
/* RFC 8122 5 fingerprint: hex pairs separated by ':'. */
int sdp_is_fingerprint(const char *s, size_t n);
/* RFC 8851 section 10 rid-id, non-empty. */
int sdp_is_rid(const char *s, size_t n);

#endif
