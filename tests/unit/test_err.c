/* Error codes: every CC_E* code has its own non-empty message (logs and
 * /stats reasons must tell them apart), and a code the table does not know
 * still gets a string, never NULL (err.h promises "never NULL"). */
#include <limits.h>

#include "cc_test.h"
#include "classcast/err.h"

static const int codes[] = {
    CC_OK,       CC_EINVAL,  CC_ENOMEM,  CC_ETRUNC,       CC_ENOSPC,
    CC_EAUTH,    CC_ENOTFOUND, CC_EAGAIN, CC_EPROTO,      CC_ESTATE,
    CC_EIO,      CC_EUNSUPPORTED, CC_ECRYPTO, CC_ECLOSED, CC_ETIMEOUT,
    CC_ELIMIT,   CC_EEXIST,
};
#define N_CODES ((int)(sizeof codes / sizeof codes[0]))

static void test_codes_distinct(void)
{
    /* The codes are 0, -1, -2 ... with no gaps or repeats: callers compare
     * return values with `< 0`, so none may be positive. */
    for (int i = 0; i < N_CODES; i++)
        CC_CHECK_EQ(codes[i], -i);
}

static void test_messages(void)
{
    const char *unknown = cc_strerror(12345);
    CC_CHECK(unknown != NULL && unknown[0] != 0);
    for (int i = 0; i < N_CODES; i++) {
        const char *m = cc_strerror(codes[i]);
        CC_CHECK(m != NULL);
        if (!m)
            continue;
        CC_CHECK(m[0] != 0);
        /* A known code must not fall through to the "unknown" text. */
        CC_CHECK(strcmp(m, unknown) != 0);
        for (int j = 0; j < i; j++) {
            const char *o = cc_strerror(codes[j]);
            if (o && strcmp(m, o) == 0) {
                fprintf(stderr, "codes %d and %d share \"%s\"\n", codes[i],
                        codes[j], m);
                CC_CHECK(0);
            }
        }
    }
}

static void test_unknown(void)
{
    const char *unknown = cc_strerror(12345);
    /* The next code after the last one: if someone adds CC_E* -17 with a
     * message, this fails and the list above has to grow with it. */
    const int beyond[] = {CC_EEXIST - 1, -100, 1, 7, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof beyond / sizeof beyond[0]; i++) {
        const char *m = cc_strerror(beyond[i]);
        CC_CHECK(m != NULL);
        if (m)
            CC_CHECK(strcmp(m, unknown) == 0);
    }
}

int main(void)
{
    CC_RUN(test_codes_distinct);
    CC_RUN(test_messages);
    CC_RUN(test_unknown);
    CC_TEST_DONE();
}
