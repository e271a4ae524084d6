/* classcast: Origin and Host checks (see include/classcast/origin.h).
 * Hand-written: two header values, a few dozen lines; no URL library is
 * needed for the serialized-origin grammar of RFC 6454 section 6.2
 * (scheme "://" host [ ":" port ], nothing else). */
#include "classcast/origin.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classcast/err.h"

#define HOST_MAX 255 /* RFC 1035 section 2.3.4: a name is at most 255 octets */

typedef struct hostport {
    char host[HOST_MAX + 1]; /* lower case; IPv6 without brackets */
    unsigned port;
    int is_ip;
} hostport;

/* host [ ":" port ] as in RFC 9110 section 7.2 (Host) and RFC 6454
 * section 6.2 (the host part of a serialized origin); an IPv6 literal is
 * bracketed (RFC 3986 section 3.2.2). 0, or -1 when malformed. */
static int parse_hostport(const char *s, size_t len, unsigned default_port,
                          hostport *out)
{
    const char *end = s + len, *h = s, *he;
    int bracketed = 0;
    memset(out, 0, sizeof *out);
    if (len == 0) return -1;
    if (*s == '[') {
        bracketed = 1;
        const char *rb = memchr(s, ']', len);
        if (!rb) return -1;
        h = s + 1;
        he = rb;
        s = rb + 1;
    } else {
        he = memchr(s, ':', len);
        if (!he) he = end;
        s = he;
    }
    size_t hl = (size_t)(he - h);
    if (hl == 0 || hl > HOST_MAX) return -1;
    for (size_t i = 0; i < hl; i++) {
        char c = h[i];
        /* Letters, digits, '-', '.', and ':' inside an IPv6 literal. */
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              (c == ':' && bracketed)))
            return -1;
        out->host[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out->host[hl] = 0;
    out->port = default_port;
    if (s < end) {
        if (*s != ':' || s + 1 == end || end - (s + 1) > 5) return -1;
        unsigned p = 0;
        for (const char *q = s + 1; q < end; q++) {
            if (*q < '0' || *q > '9') return -1;
            p = p * 10 + (unsigned)(*q - '0');
        }
        if (p == 0 || p > 65535) return -1;
        out->port = p;
    }
    unsigned char buf[16];
    out->is_ip = inet_pton(AF_INET, out->host, buf) == 1 ||
                 inet_pton(AF_INET6, out->host, buf) == 1;
    /* Brackets hold an IPv6 literal and nothing else. */
    if (bracketed && !strchr(out->host, ':')) return -1;
    if (strchr(out->host, ':') && !out->is_ip) return -1;
    return 0;
}

static int host_allowed(const hostport *hp, const char *const *names,
                        size_t n_names)
{
    if (hp->is_ip || strcmp(hp->host, "localhost") == 0) return 1;
    for (size_t i = 0; i < n_names; i++)
        if (names[i] && strcasecmp(names[i], hp->host) == 0) return 1;
    return 0;
}

cc_origin_verdict cc_origin_check(const char *origin, const char *host, int tls,
                                  const char *const *names, size_t n_names)
{
    unsigned own_port = tls ? 443 : 80;
    hostport hh;
    if (!host || parse_hostport(host, strlen(host), own_port, &hh) != 0 ||
        !host_allowed(&hh, names, n_names))
        return CC_ORIGIN_BAD_HOST;
    if (!origin || !*origin) return CC_ORIGIN_NONE;

    const char *rest;
    unsigned oport;
    if (strncasecmp(origin, "http://", 7) == 0) {
        if (tls) return CC_ORIGIN_FOREIGN; /* scheme is part of the origin */
        rest = origin + 7;
        oport = 80;
    } else if (strncasecmp(origin, "https://", 8) == 0) {
        if (!tls) return CC_ORIGIN_FOREIGN;
        rest = origin + 8;
        oport = 443;
    } else {
        return CC_ORIGIN_FOREIGN; /* "null", file:, chrome-extension: ... */
    }
    hostport ho;
    if (parse_hostport(rest, strlen(rest), oport, &ho) != 0)
        return CC_ORIGIN_FOREIGN;
    /* RFC 6454 section 5: same scheme (checked), host and port. */
    if (strcmp(ho.host, hh.host) != 0 || ho.port != hh.port)
        return CC_ORIGIN_FOREIGN;
    return CC_ORIGIN_SAME;
}

int cc_origin_host_of(const char *host, char *out, size_t cap)
{
    hostport hp;
    if (!host || parse_hostport(host, strlen(host), 0, &hp) != 0)
        return CC_EINVAL;
    int v6 = strchr(hp.host, ':') != NULL;
    int n = snprintf(out, cap, v6 ? "[%s]" : "%s", hp.host);
    return n < 0 || (size_t)n >= cap ? CC_ENOSPC : 0;
}

const char *cc_origin_verdict_name(cc_origin_verdict v)
{
    switch (v) {
    case CC_ORIGIN_NONE: return "none";
    case CC_ORIGIN_SAME: return "same";
    case CC_ORIGIN_FOREIGN: return "foreign";
    case CC_ORIGIN_BAD_HOST: return "bad-host";
    }
    return "?";
}
