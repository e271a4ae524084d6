/* Tests for src/sfu/resent.c: a packet is sent again at most once per
 * gap, per stream, on a manual clock; a collision only forgets. */
#include "cc_test.h"

#include "classcast/clock.h"
#include "classcast/resent.h"

static void test_once_a_gap(void)
{
    cc_resent *r = cc_resent_new();
    CC_CHECK(r != NULL);
    cc_time_us t = 5 * CC_USEC_PER_SEC, gap = 300 * CC_USEC_PER_MSEC;
    CC_CHECK(cc_resent_may(r, 0, 1000, gap, t));
    /* Asked again within the gap: no. */
    CC_CHECK(!cc_resent_may(r, 0, 1000, gap, t));
    CC_CHECK(!cc_resent_may(r, 0, 1000, gap, t + gap - CC_USEC_PER_MSEC));
    /* Other numbers, and the same number of another stream, are their own. */
    CC_CHECK(cc_resent_may(r, 0, 1001, gap, t));
    CC_CHECK(cc_resent_may(r, 1, 1000, gap, t));
    /* After the gap: yes, and the gap runs from then. */
    CC_CHECK(cc_resent_may(r, 0, 1000, gap, t + gap));
    CC_CHECK(!cc_resent_may(r, 0, 1000, gap, t + gap + 100 * CC_USEC_PER_MSEC));
    /* Gap 0: every time. */
    CC_CHECK(cc_resent_may(r, 2, 7, 0, t));
    CC_CHECK(cc_resent_may(r, 2, 7, 0, t));
    /* No table (out of memory): every time. */
    CC_CHECK(cc_resent_may(NULL, 0, 1000, gap, t));
    cc_resent_free(r);
    cc_resent_free(NULL);
}

static void test_wrap_and_collision(void)
{
    cc_resent *r = cc_resent_new();
    cc_time_us gap = 200 * CC_USEC_PER_MSEC;
    /* Numbers wrap: 65535 and 0 are two packets. */
    cc_time_us t = 10 * CC_USEC_PER_SEC;
    CC_CHECK(cc_resent_may(r, 0, 65535, gap, t));
    CC_CHECK(cc_resent_may(r, 0, 0, gap, t));
    CC_CHECK(!cc_resent_may(r, 0, 65535, gap, t));
    /* A number one table's length on shares the slot: it takes it, and
     * the first is then let through again (twice at worst, never lost). */
    CC_CHECK(cc_resent_may(r, 0, (uint16_t)(65535 + CC_RESENT_SLOTS), gap, t));
    CC_CHECK(cc_resent_may(r, 0, 65535, gap, t));
    /* A burst of a whole table's worth of consecutive numbers: each one
     * answered once, then each held. */
    int first = 0, again = 0;
    for (unsigned i = 0; i < CC_RESENT_SLOTS; i++)
        first += cc_resent_may(r, 3, (uint16_t)(20000 + i), gap, t);
    for (unsigned i = 0; i < CC_RESENT_SLOTS; i++)
        again += cc_resent_may(r, 3, (uint16_t)(20000 + i), gap, t + 1);
    CC_CHECK_EQ(first, CC_RESENT_SLOTS);
    CC_CHECK_EQ(again, 0);
    /* The millisecond clock wraps at 2^32 ms: the gap still holds across. */
    cc_time_us w = (cc_time_us)4294967295ll * CC_USEC_PER_MSEC;
    CC_CHECK(cc_resent_may(r, 4, 9, gap, w));
    CC_CHECK(!cc_resent_may(r, 4, 9, gap, w + 100 * CC_USEC_PER_MSEC));
    CC_CHECK(cc_resent_may(r, 4, 9, gap, w + gap));
    cc_resent_free(r);
}

int main(void)
{
    CC_RUN(test_once_a_gap);
    CC_RUN(test_wrap_and_collision);
    CC_TEST_DONE();
}
