/* Receiver-side NACK scheduling: gaps, reorder, retries, give-up, wrap. */
#include "cc_test.h"
#include "classcast/nack.h"

#define MS CC_USEC_PER_MSEC

static void test_gap(void)
{
    cc_nack n;
    cc_nack_init(&n, NULL);
    uint16_t out[16];
    cc_time_us t = 1000 * MS;
    cc_nack_on_packet(&n, 100, t);
    cc_nack_on_packet(&n, 101, t);
    cc_nack_on_packet(&n, 104, t); /* 102, 103 missing */
    CC_CHECK_EQ(cc_nack_pending(&n), 2);
    /* Not before the reorder delay. */
    CC_CHECK_EQ(cc_nack_poll(&n, t + 1 * MS, out, 16), 0);
    CC_CHECK_EQ(cc_nack_deadline(&n), t + 5 * MS);
    size_t k = cc_nack_poll(&n, t + 5 * MS, out, 16);
    CC_CHECK_EQ(k, 2);
    CC_CHECK_EQ(out[0], 102);
    CC_CHECK_EQ(out[1], 103);
    /* Not again until the retry interval. */
    CC_CHECK_EQ(cc_nack_poll(&n, t + 20 * MS, out, 16), 0);
    /* 102 arrives (retransmitted): cancelled. */
    CC_CHECK_EQ(cc_nack_on_packet(&n, 102, t + 30 * MS), 1);
    CC_CHECK_EQ(cc_nack_on_packet(&n, 102, t + 31 * MS), 0); /* duplicate */
    k = cc_nack_poll(&n, t + 45 * MS, out, 16);
    CC_CHECK_EQ(k, 1);
    CC_CHECK_EQ(out[0], 103);
    CC_CHECK_EQ(n.stats.recovered, 1);
}

static void test_reorder_cancels(void)
{
    cc_nack n;
    cc_nack_init(&n, NULL);
    uint16_t out[16];
    cc_nack_on_packet(&n, 10, 0);
    cc_nack_on_packet(&n, 12, 0);
    cc_nack_on_packet(&n, 11, 2 * MS); /* late by 2 ms: no NACK ever */
    CC_CHECK_EQ(cc_nack_pending(&n), 0);
    CC_CHECK_EQ(cc_nack_poll(&n, 100 * MS, out, 16), 0);
    CC_CHECK_EQ(n.stats.requested, 0);
    CC_CHECK_EQ(cc_nack_deadline(&n), CC_TIME_NEVER);
}

static void test_retries_and_give_up(void)
{
    cc_nack n;
    cc_nack_init(&n, NULL);
    uint16_t out[16];
    cc_nack_on_packet(&n, 1, 0);
    cc_nack_on_packet(&n, 3, 0);
    int tries = 0;
    for (cc_time_us t = 0; t <= 2000 * MS; t += 1 * MS)
        tries += (int)cc_nack_poll(&n, t, out, 16);
    CC_CHECK_EQ(tries, 3);
    CC_CHECK_EQ(cc_nack_pending(&n), 0);
    CC_CHECK_EQ(n.stats.given_up, 1);
    /* RTT stretches the retry interval. */
    cc_nack_init(&n, NULL);
    cc_nack_set_rtt(&n, 200 * MS);
    cc_nack_on_packet(&n, 1, 0);
    cc_nack_on_packet(&n, 3, 0);
    CC_CHECK_EQ(cc_nack_poll(&n, 5 * MS, out, 16), 1);
    CC_CHECK_EQ(cc_nack_poll(&n, 150 * MS, out, 16), 0);
    CC_CHECK_EQ(cc_nack_poll(&n, 205 * MS, out, 16), 1);
    /* Give-up by age even with tries left. */
    cc_nack_config cfg = {.give_up = 100 * MS, .max_tries = 10};
    cc_nack_init(&n, &cfg);
    cc_nack_on_packet(&n, 1, 0);
    cc_nack_on_packet(&n, 3, 0);
    CC_CHECK_EQ(cc_nack_poll(&n, 5 * MS, out, 16), 1);
    CC_CHECK_EQ(cc_nack_poll(&n, 100 * MS, out, 16), 0);
    CC_CHECK_EQ(cc_nack_pending(&n), 0);
}

static void test_wrap_and_jump(void)
{
    cc_nack n;
    cc_nack_init(&n, NULL);
    uint16_t out[16];
    cc_nack_on_packet(&n, 65534, 0);
    cc_nack_on_packet(&n, 1, 0); /* 65535, 0 missing */
    size_t k = cc_nack_poll(&n, 10 * MS, out, 16);
    CC_CHECK_EQ(k, 2);
    CC_CHECK_EQ(out[0], 65535);
    CC_CHECK_EQ(out[1], 0);
    CC_CHECK_EQ(cc_nack_on_packet(&n, 0, 11 * MS), 1);
    /* A jump beyond max_gap resets instead of flooding. */
    cc_nack_on_packet(&n, 5000, 12 * MS);
    CC_CHECK_EQ(cc_nack_pending(&n), 0);
    CC_CHECK_EQ(n.stats.resets, 1);
    /* A very old packet (other half of the circle) is ignored. */
    CC_CHECK_EQ(cc_nack_on_packet(&n, 40000, 13 * MS), 0);
    CC_CHECK_EQ(n.max_seq, 5000);
    /* Overflow: more missing than the list holds keeps the newest. */
    cc_nack_on_packet(&n, (uint16_t)(5000 + CC_NACK_MAX_MISSING + 11), 14 * MS);
    CC_CHECK_EQ(cc_nack_pending(&n), CC_NACK_MAX_MISSING);
    CC_CHECK_EQ(n.stats.overflow, 10);
    CC_CHECK_EQ(n.items[0].seq, 5011);
    /* cap limits one poll. */
    CC_CHECK_EQ(cc_nack_poll(&n, 20 * MS, out, 16), 16);
}

int main(void)
{
    CC_RUN(test_gap);
    CC_RUN(test_reorder_cancels);
    CC_RUN(test_retries_and_give_up);
    CC_RUN(test_wrap_and_jump);
    CC_TEST_DONE();
}
