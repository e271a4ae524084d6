/* classcast: is a browser request from one of this server's own pages?
 * Pure string work, no I/O: the HTTP front door (src/signal/http.c) feeds it
 * the request's Origin and Host headers.
 *
 * Browsers send Origin on every WebSocket handshake and on every POST or
 * DELETE made by a script (RFC 6454 section 7, RFC 6455 section 4.1 item
 * 8; the Fetch standard's CORS rules). A page on another site that opens
 * ws://classroom-computer:8080/ws in the teacher's browser therefore shows
 * its own origin, and is refused. Programs that are not browsers (WHIP and
 * WHEP clients, the load generator) send no Origin and authenticate by
 * bearer token instead.
 *
 * Host is checked too (DNS rebinding: a hostile name that resolves to the
 * classroom computer makes Origin and Host agree): it must be an IP
 * literal, "localhost", or one of the names the caller allows.
 * Thread: any (no state). */
#ifndef CLASSCAST_ORIGIN_H
#define CLASSCAST_ORIGIN_H

#include <stddef.h>

typedef enum {
    CC_ORIGIN_NONE = 0,    /* no Origin header: not a browser's script */
    CC_ORIGIN_SAME,        /* the page came from this server */
    CC_ORIGIN_FOREIGN,     /* another site (or "null", or unparsable) */
    CC_ORIGIN_BAD_HOST,    /* Host is not this server's (rebinding) or absent */
} cc_origin_verdict;

/* origin: the Origin header value ("" or NULL if absent); host: the Host
 * header value; tls: the request came over TLS (https/wss default port
 * 443, else 80); names: extra host names this server answers to (e.g. the
 * machine's name), n_names of them, compared case-insensitively. */
cc_origin_verdict cc_origin_check(const char *origin, const char *host, int tls,
                                  const char *const *names, size_t n_names);

/* The host of a Host header value as a URL writes it (RFC 3986 section
 * 3.2.2): without the port, lower case, an IPv6 literal in brackets; for
 * a redirect to the same host on another port. 0, CC_EINVAL when host is
 * malformed, CC_ENOSPC when out (cap bytes) is too small. */
int cc_origin_host_of(const char *host, char *out, size_t cap);

/* "same", "none", "foreign", "bad-host": for logs. */
const char *cc_origin_verdict_name(cc_origin_verdict v);

#endif
