/* libFuzzer target for src/signal/whip.c: the input split at its first NUL
 * into a request path and an Authorization header value. Invariants: a
 * parsed path names a code of 1..16 letters and digits and a resource of
 * letters and digits; a bearer token is a non-empty suffix of the header
 * made only of b64token characters and '='. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/whip.h"

#define INVARIANT(c)                                                           \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int alnum_only(const char *s)
{
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *buf = malloc(size + 2);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    buf[size + 1] = 0;
    const char *path = buf;
    const char *auth = buf + strlen(buf) + 1;
    if (auth > buf + size)
        auth = "";
    cc_whip_target t;
    if (cc_whip_parse_path(path, &t) == 0) {
        size_t n = strlen(t.code);
        INVARIANT(n >= 1 && n <= CC_WHIP_CODE_MAX && alnum_only(t.code));
        INVARIANT(alnum_only(t.resource));
        INVARIANT(strstr(path, t.code) != NULL);
    }
    const char *tok = cc_whip_bearer(auth);
    if (tok) {
        INVARIANT(tok > auth && tok < auth + strlen(auth));
        for (const char *p = tok; *p; p++)
            INVARIANT(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789-._~+/=", *p) != NULL);
    }
    free(buf);
    return 0;
}
