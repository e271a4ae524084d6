/* libFuzzer target for src/signal/origin.c: the input is split at its
 * first NUL into an Origin and a Host header value (both as a client could
 * send them), tried over plain HTTP and TLS. Invariants: the verdict is one
 * of the four, and a request whose Origin is exactly "http://" + Host is
 * never called foreign when Host passes. cc_origin_host_of takes every Host
 * the check passes and gives back a host with no port, path or user part
 * that passes again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/origin.h"

#define INVARIANT(c)                                                           \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1024)
        return 0;
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    const char *origin = buf;
    const char *host = memchr(buf, 0, size) ? buf + strlen(buf) + 1 : "";
    if (host > buf + size)
        host = "";
    static const char *const names[] = {"classroom", "classroom.local"};
    for (int tls = 0; tls < 2; tls++) {
        cc_origin_verdict v = cc_origin_check(origin, host, tls, names, 2);
        INVARIANT(v == CC_ORIGIN_NONE || v == CC_ORIGIN_SAME ||
                  v == CC_ORIGIN_FOREIGN || v == CC_ORIGIN_BAD_HOST);
        INVARIANT(cc_origin_verdict_name(v)[0] != '?');
    }
    /* The same host as its own origin is "same" whenever the host passes. */
    size_t hl = strlen(origin);
    char *own = malloc(hl + 8);
    if (own) {
        memcpy(own, "http://", 7);
        memcpy(own + 7, origin, hl + 1);
        cc_origin_verdict hv = cc_origin_check(NULL, origin, 0, names, 2);
        cc_origin_verdict v = cc_origin_check(own, origin, 0, names, 2);
        if (hv == CC_ORIGIN_NONE)
            INVARIANT(v == CC_ORIGIN_SAME);
        free(own);
    }
    char hb[300];
    if (cc_origin_check(NULL, host, 0, names, 2) != CC_ORIGIN_BAD_HOST) {
        INVARIANT(cc_origin_host_of(host, hb, sizeof hb) == 0);
        INVARIANT(!strpbrk(hb, "/@?#") && (hb[0] == '[' || !strchr(hb, ':')));
        INVARIANT(cc_origin_check(NULL, hb, 0, names, 2) != CC_ORIGIN_BAD_HOST);
    } else {
        (void)cc_origin_host_of(host, hb, sizeof hb); /* no crash either way */
    }
    free(buf);
    return 0;
}
