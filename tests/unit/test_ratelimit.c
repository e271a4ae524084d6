/* Unit tests for src/signal/ratelimit.c on a manual clock. */
#include <stdio.h>
#include <string.h>

#include "cc_test.h"
#include "classcast/err.h"
#include "classcast/ratelimit.h"

#define SEC CC_USEC_PER_SEC

static void test_burst_then_wait(void)
{
    cc_ratelimit *rl = cc_ratelimit_new(100, 10, 10); /* 10, then 10 a minute */
    CC_CHECK(rl != NULL);
    if (!rl) return;
    cc_time_us t = 1000 * SEC;
    int wait = 0;
    for (int i = 0; i < 10; i++) {
        CC_CHECK_EQ(cc_ratelimit_check(rl, "192.0.2.1", t, &wait), 0);
        cc_ratelimit_fail(rl, "192.0.2.1", t);
    }
    CC_CHECK_EQ(cc_ratelimit_check(rl, "192.0.2.1", t, &wait), CC_ELIMIT);
    CC_CHECK_EQ(wait, 6); /* one try back every 6 s */
    /* Another address is not affected. */
    CC_CHECK_EQ(cc_ratelimit_check(rl, "192.0.2.2", t, &wait), 0);
    /* 5.9 s later: still waiting, now 1 s; at 6 s one try is back. */
    CC_CHECK_EQ(cc_ratelimit_check(rl, "192.0.2.1", t + 5900000, &wait), CC_ELIMIT);
    CC_CHECK_EQ(wait, 1);
    CC_CHECK_EQ(cc_ratelimit_check(rl, "192.0.2.1", t + 6 * SEC, &wait), 0);
    cc_ratelimit_fail(rl, "192.0.2.1", t + 6 * SEC);
    CC_CHECK_EQ(cc_ratelimit_check(rl, "192.0.2.1", t + 6 * SEC, &wait), CC_ELIMIT);
    /* A minute later all ten are back, not more. */
    for (int i = 0; i < 10; i++) {
        CC_CHECK_EQ(cc_ratelimit_check(rl, "192.0.2.1", t + 70 * SEC, &wait), 0);
        cc_ratelimit_fail(rl, "192.0.2.1", t + 70 * SEC);
    }
    CC_CHECK_EQ(cc_ratelimit_check(rl, "192.0.2.1", t + 70 * SEC, &wait), CC_ELIMIT);
    /* A clock that goes back changes nothing. */
    CC_CHECK_EQ(cc_ratelimit_check(rl, "192.0.2.1", t, &wait), CC_ELIMIT);
    cc_ratelimit_free(rl);
}

static void test_bounded_table(void)
{
    cc_ratelimit *rl = cc_ratelimit_new(3, 2, 60);
    if (!rl) { CC_CHECK(0); return; }
    int wait;
    cc_ratelimit_fail(rl, "a", 0);
    cc_ratelimit_fail(rl, "a", 0); /* a: blocked */
    cc_ratelimit_fail(rl, "b", 0);
    cc_ratelimit_fail(rl, "c", 0);
    cc_ratelimit_fail(rl, "d", 0); /* full: forgets b or c (1 left), not a */
    CC_CHECK_EQ(cc_ratelimit_check(rl, "a", 0, &wait), CC_ELIMIT);
    for (int i = 0; i < 1000; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        cc_ratelimit_fail(rl, k, 0);
    }
    CC_CHECK(cc_ratelimit_new(0, 1, 1) == NULL);
    CC_CHECK(cc_ratelimit_new(1, 0, 1) == NULL);
    CC_CHECK(cc_ratelimit_new(1, 1, 0) == NULL);
    cc_ratelimit_free(rl);
    cc_ratelimit_free(NULL);
}

static void test_keys(void)
{
    char k[64];
    cc_ratelimit_key_of_ip("192.0.2.7", k, sizeof k);
    CC_CHECK(strcmp(k, "192.0.2.7") == 0);
    cc_ratelimit_key_of_ip("::ffff:192.0.2.7", k, sizeof k);
    CC_CHECK(strcmp(k, "192.0.2.7") == 0);
    cc_ratelimit_key_of_ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd", k, sizeof k);
    CC_CHECK(strcmp(k, "2001:db8:1:2::/64") == 0);
    char k2[64];
    cc_ratelimit_key_of_ip("2001:db8:1:2::99", k2, sizeof k2);
    CC_CHECK(strcmp(k, k2) == 0);
    cc_ratelimit_key_of_ip("not an address", k, sizeof k);
    CC_CHECK(strcmp(k, "not an address") == 0);
    cc_ratelimit_key_of_ip(NULL, k, sizeof k);
    CC_CHECK(strcmp(k, "") == 0);
}

int main(void)
{
    CC_RUN(test_burst_then_wait);
    CC_RUN(test_bounded_table);
    CC_RUN(test_keys);
    CC_TEST_DONE();
}
