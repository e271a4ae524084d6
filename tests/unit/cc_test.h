/* Minimal test harness for classcast unit tests: each test file is a program;
 * CC_CHECK records a failure with file:line and the test exits non-zero.
 * Output is one "ok"/"FAIL" line per CC_RUN so meson's log reads well. */
#ifndef CC_TEST_H
#define CC_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cc_test_failures;
static int cc_test_checks;

#define CC_CHECK(cond)                                                         \
    do {                                                                       \
        cc_test_checks++;                                                      \
        if (!(cond)) {                                                         \
            cc_test_failures++;                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
        }                                                                      \
    } while (0)

#define CC_CHECK_EQ(a, b)                                                      \
    do {                                                                       \
        long long cc__a = (long long)(a), cc__b = (long long)(b);              \
        cc_test_checks++;                                                      \
        if (cc__a != cc__b) {                                                  \
            cc_test_failures++;                                                \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n",          \
                    __FILE__, __LINE__, #a, #b, cc__a, cc__b);                 \
        }                                                                      \
    } while (0)

#define CC_CHECK_MEM(a, b, n) CC_CHECK(memcmp((a), (b), (n)) == 0)

/* CC_TEST_ONLY=name runs that test alone, while working on it (checks
 * after the tests, in main, may then fail). */
#define CC_RUN(fn)                                                             \
    do {                                                                       \
        const char *cc__only = getenv("CC_TEST_ONLY");                         \
        if (cc__only && *cc__only && strcmp(cc__only, #fn) != 0)               \
            break;                                                             \
        int cc__before = cc_test_failures;                                     \
        fn();                                                                  \
        printf("%s %s\n", cc_test_failures == cc__before ? "ok" : "FAIL", #fn); \
    } while (0)

#define CC_TEST_DONE()                                                         \
    do {                                                                       \
        printf("%d checks, %d failed\n", cc_test_checks, cc_test_failures);    \
        return cc_test_failures ? 1 : 0;                                       \
    } while (0)

/* Hex string (spaces and newlines ignored) to bytes; returns length. */
static inline size_t cc_test_hex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        int v;
        if (*p >= '0' && *p <= '9') v = *p - '0';
        else if (*p >= 'a' && *p <= 'f') v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F') v = *p - 'A' + 10;
        else continue;
        if (hi < 0) hi = v;
        else {
            if (n < cap) out[n] = (unsigned char)(hi << 4 | v);
            n++;
            hi = -1;
        }
    }
    return n;
}

/* Read a whole file (e.g. cc_test_vector("x.sdp")); caller frees. */
static inline char *cc_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) { free(buf); buf = NULL; }
    fclose(f);
    if (buf) { buf[sz] = 0; if (len) *len = (size_t)sz; }
    return buf;
}

/* Path of a captured test vector in tests/vectors/ (env CC_SOURCE_ROOT,
 * set by meson). */
static inline const char *cc_test_vector(const char *name)
{
    static char path[4096];
    const char *dir = getenv("CC_SOURCE_ROOT");
    snprintf(path, sizeof path, "%s/tests/vectors/%s", dir ? dir : ".", name);
    return path;
}

#endif
