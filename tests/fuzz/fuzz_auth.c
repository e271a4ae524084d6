/* libFuzzer target for src/signal/auth.c and the scrypt string parser of
 * src/state/pwhash.c: the input's first byte picks what the rest is fed
 * to, the rest is the untrusted text. Invariants: nothing reads past the
 * input, a parse that fails leaves every field empty, a value that comes
 * out is valid UTF-8 of the length reported, and a cookie value found is
 * shorter than its buffer. */
#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/auth.h"
#include "classcast/pwhash.h"

#define INVARIANT(c)                                                           \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fields(const char *ct, const char *body, size_t len)
{
    char name[65], pw[129], flag[8];
    cc_auth_field f[] = {
        {"name", name, sizeof name, 0},
        {"password", pw, sizeof pw, 0},
        {"admin", flag, sizeof flag, 0},
    };
    int rc = cc_auth_parse_fields(ct, body, len, f, 3);
    for (int i = 0; i < 3; i++) {
        if (rc != 0)
            INVARIANT(!f[i].found && f[i].out[0] == 0);
        if (f[i].found) {
            size_t n = strlen(f[i].out);
            INVARIANT(n < f[i].cap);
            INVARIANT(g_utf8_validate(f[i].out, (gssize)n, NULL));
        }
    }
    (void)cc_auth_truthy(flag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    /* Copied so an overread is caught, NUL-terminated for the string APIs. */
    size_t n = size - 1;
    char *buf = malloc(n + 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, n);
    buf[n] = 0;
    switch (data[0] % 4) {
    case 0:
        fields("application/json", buf, n);
        break;
    case 1:
        fields("application/x-www-form-urlencoded; charset=utf-8", buf, n);
        break;
    case 2: {
        char v[48];
        int rc = cc_auth_cookie_value(buf, CC_AUTH_COOKIE, v, sizeof v);
        if (rc == 0)
            INVARIANT(strlen(v) < sizeof v);
        else
            INVARIANT(v[0] == 0);
        char h[160];
        cc_auth_set_cookie(h, sizeof h, rc == 0 ? v : NULL, 3600, data[0] & 4);
        break;
    }
    default: {
        cc_pwhash_parsed p;
        if (cc_pwhash_parse(buf, &p) == 0)
            INVARIANT(p.log2_n >= 1 && p.log2_n <= 20 && p.r >= 1 && p.p >= 1);
        (void)cc_pwhash_outdated(buf);
        break;
    }
    }
    free(buf);
    return 0;
}
