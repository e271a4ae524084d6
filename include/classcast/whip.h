/* classcast: the request-line side of WHIP and WHEP (RFC 9725 and the WHEP
 * draft): which endpoint and lesson a path names, and the bearer token of
 * an Authorization header. Pure string work, no I/O; the handling itself is
 * in src/signal/control_api.c.
 * Thread: any (no state). */
#ifndef CLASSCAST_WHIP_H
#define CLASSCAST_WHIP_H

#include <stddef.h>

#define CC_WHIP_CODE_MAX 16     /* lesson codes: 1..16 of [0-9A-Za-z] */
#define CC_WHIP_RESOURCE_MAX 63 /* classcast's resource ids are 16 */

typedef struct cc_whip_target {
    int publisher;                            /* /whip/ (1) or /whep/ (0) */
    char code[CC_WHIP_CODE_MAX + 1];          /* the lesson code */
    char resource[CC_WHIP_RESOURCE_MAX + 1];  /* "" for the endpoint itself */
} cc_whip_target;

/* "/whip/CODE", "/whep/CODE" (the endpoints) or ".../CODE/RESOURCE" (a
 * session, for DELETE). CODE is 1..16 letters and digits, RESOURCE 1..63
 * letters and digits; nothing else may follow. 0, or CC_ENOTFOUND when the
 * path names no WHIP/WHEP endpoint or session. */
int cc_whip_parse_path(const char *path, cc_whip_target *out);

/* RFC 6750 section 2.1: "Bearer" 1*SP b64token, where b64token is
 * 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=". Returns the
 * token inside authorization (the scheme case-insensitive), or NULL when
 * the header is absent or not a well-formed bearer credential. */
const char *cc_whip_bearer(const char *authorization);

#endif
