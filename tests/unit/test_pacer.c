/* Tests for src/sfu/pacer.c: the leaky bucket's budget, burst allowance,
 * rate changes, debt, and the next-send deadline, on a manual clock; and
 * that a keyframe handed over at once leaves spread at the pacing rate. */
#include "cc_test.h"

#include "classcast/clock.h"
#include "classcast/pacer.h"
#include "classcast/pacedq.h"

#include <string.h>
#include "classcast/err.h"

static void test_budget(void)
{
    cc_pacer p;
    cc_time_us t = 1000000;
    /* 8 Mbit/s, 5 ms burst: 5000 bytes to start with. */
    cc_pacer_init(&p, 8000000, 0, t);
    CC_CHECK_EQ(p.burst_us, CC_PACER_DEFAULT_BURST);
    CC_CHECK_EQ(cc_pacer_budget(&p, t), 5000);
    /* Never more than the burst, however long it was idle. */
    CC_CHECK_EQ(cc_pacer_budget(&p, t + 10 * CC_USEC_PER_SEC), 5000);
    t += 10 * CC_USEC_PER_SEC;
    for (int i = 0; i < 4; i++) {
        CC_CHECK(cc_pacer_may_send(&p, t));
        cc_pacer_on_sent(&p, 1200, t);
    }
    CC_CHECK_EQ(cc_pacer_budget(&p, t), 200);
    CC_CHECK(cc_pacer_may_send(&p, t));
    cc_pacer_on_sent(&p, 1200, t); /* may go below zero by one packet */
    CC_CHECK_EQ(cc_pacer_budget(&p, t), -1000);
    CC_CHECK(!cc_pacer_may_send(&p, t));
    /* 1000 bytes at 1 byte/us: positive again after 1001 us. */
    CC_CHECK_EQ(cc_pacer_next_send(&p, t), t + 1001);
    CC_CHECK(!cc_pacer_may_send(&p, t + 1000));
    CC_CHECK(cc_pacer_may_send(&p, t + 1001));
    CC_CHECK_EQ(cc_pacer_next_send(&p, t + 1001), t + 1001);
    CC_CHECK_EQ(p.sent_packets, 5);
    CC_CHECK_EQ(p.sent_bytes, 6000);

    /* Low rates still let a full packet through: the burst is at least
     * CC_PACER_MIN_BURST_BYTES. */
    cc_pacer_init(&p, 100000, 0, t);
    CC_CHECK_EQ(cc_pacer_budget(&p, t), CC_PACER_MIN_BURST_BYTES);

    /* Rate 0: nothing leaves, no deadline. */
    cc_pacer_init(&p, 0, 0, t);
    CC_CHECK(!cc_pacer_may_send(&p, t));
    CC_CHECK_EQ(cc_pacer_next_send(&p, t), CC_TIME_NEVER);
    /* Time going backwards changes nothing. */
    cc_pacer_init(&p, 8000000, 0, t);
    cc_pacer_on_sent(&p, 5000, t);
    CC_CHECK_EQ(cc_pacer_budget(&p, t - 1000), 0);
    CC_CHECK_EQ(cc_pacer_budget(&p, t + 1000), 1000);
}

static void test_rate_change(void)
{
    cc_pacer p;
    cc_time_us t = 0;
    cc_pacer_init(&p, 8000000, 0, t);
    cc_pacer_on_sent(&p, 5000, t); /* empty */
    /* 2 ms at 8 Mbit/s = 2000 bytes, then 0.25 ms at 4 Mbit/s = 125, up
     * to the new cap of 2500. */
    cc_pacer_set_rate(&p, 4000000, t + 2000);
    CC_CHECK_EQ(cc_pacer_budget(&p, t + 2000), 2000);
    CC_CHECK_EQ(cc_pacer_budget(&p, t + 2250), 2125);
    CC_CHECK_EQ(cc_pacer_budget(&p, t + 9000), 2500);
    /* Lowering the rate lowers the cap at once. */
    cc_pacer_init(&p, 80000000, 0, t);
    CC_CHECK_EQ(cc_pacer_budget(&p, t), 50000);
    cc_pacer_set_rate(&p, 8000000, t);
    CC_CHECK_EQ(cc_pacer_budget(&p, t), 5000);
    /* The debt is bounded (one second of the rate plus a packet), so a
     * caller that ignored the budget is not stalled for longer. */
    cc_pacer_init(&p, 800000, 0, t);
    for (int i = 0; i < 1000; i++)
        cc_pacer_on_sent(&p, 1200, t);
    CC_CHECK_EQ(cc_pacer_budget(&p, t), -100000 - 1500);
    CC_CHECK(cc_pacer_next_send(&p, t) <= t + CC_USEC_PER_SEC + 15001);
    CC_CHECK(cc_pacer_may_send(&p, cc_pacer_next_send(&p, t)));
}

/* A keyframe of 60 x 1200 bytes at a 2.5 Mbit/s target (pacing 6.25
 * Mbit/s): the first 5 ms of budget leave at once, the rest one packet
 * every 1.536 ms, so the whole frame takes about 90 ms instead of one
 * burst, and no 5 ms window carries more than the burst plus a packet. */
static void test_keyframe_spread(void)
{
    cc_pacer p;
    cc_time_us t0 = 777;
    cc_pacer_init(&p, 6250000, 0, t0);
    cc_time_us sent_at[60];
    int n = 0;
    cc_time_us t = t0;
    while (n < 60) {
        t = cc_pacer_next_send(&p, t);
        CC_CHECK(cc_pacer_may_send(&p, t));
        cc_pacer_on_sent(&p, 1200, t);
        sent_at[n++] = t;
    }
    cc_time_us span = sent_at[59] - sent_at[0];
    /* (72000 - 3906 burst - one packet of debt) bytes at 781.25 bytes/ms:
     * about 86 ms. */
    CC_CHECK(span > 85000 && span < 90000);
    int worst = 0;
    for (int i = 0; i < 60; i++) {
        int k = 0;
        for (int j = i; j < 60 && sent_at[j] - sent_at[i] < 5000; j++)
            k++;
        if (k > worst)
            worst = k;
    }
    /* burst 3906 bytes = 3.3 packets, + one over budget, + 5 ms of rate
     * (3.3 packets) */
    CC_CHECK(worst <= 8);
    CC_CHECK(worst >= 4);
    /* The average rate is the pacing rate. */
    double rate = (59 * 1200.0 * 8) / ((double)span / 1e6);
    CC_CHECK(rate > 6.0e6 && rate < 7.0e6);
}


/* The paced queue: first in, first out, with tags and queue times; a full
 * queue refuses; sizes are checked; clear empties it. */
static void test_pacedq(void)
{
    cc_pacedq *q = NULL;
    CC_CHECK_EQ(cc_pacedq_new(&q, 0), CC_EINVAL);
    CC_CHECK_EQ(cc_pacedq_new(&q, 3), 0);
    uint8_t a[CC_PACEDQ_PKT + 1];
    memset(a, 0x5a, sizeof a);
    CC_CHECK_EQ(cc_pacedq_push(q, a, 0, 1, 10), CC_EINVAL);
    CC_CHECK_EQ(cc_pacedq_push(q, a, sizeof a, 1, 10), CC_EINVAL);
    for (unsigned i = 0; i < 3; i++) {
        a[0] = (uint8_t)i;
        CC_CHECK_EQ(cc_pacedq_push(q, a, 100 + i, i, 10 + i), 0);
    }
    CC_CHECK_EQ(cc_pacedq_push(q, a, 100, 9, 20), CC_ENOSPC);
    CC_CHECK_EQ(cc_pacedq_len(q), 3u);
    CC_CHECK_EQ(cc_pacedq_bytes(q), 303u);
    for (unsigned i = 0; i < 2; i++) {
        size_t len;
        uint32_t tag;
        cc_time_us at;
        const uint8_t *p = cc_pacedq_peek(q, &len, &tag, &at);
        CC_CHECK(p != NULL);
        CC_CHECK_EQ(p ? p[0] : 255, i);
        CC_CHECK_EQ(len, 100 + i);
        CC_CHECK_EQ(tag, i);
        CC_CHECK_EQ(at, (cc_time_us)(10 + i));
        cc_pacedq_pop(q);
    }
    /* Wraps around the ring. */
    a[0] = 7;
    CC_CHECK_EQ(cc_pacedq_push(q, a, 50, 7, 30), 0);
    size_t len;
    const uint8_t *p = cc_pacedq_peek(q, &len, NULL, NULL);
    CC_CHECK_EQ(p ? p[0] : 255, 2);
    cc_pacedq_pop(q);
    p = cc_pacedq_peek(q, &len, NULL, NULL);
    CC_CHECK_EQ(p ? p[0] : 255, 7);
    CC_CHECK_EQ(len, 50u);
    cc_pacedq_clear(q);
    CC_CHECK_EQ(cc_pacedq_len(q), 0u);
    CC_CHECK_EQ(cc_pacedq_bytes(q), 0u);
    CC_CHECK(cc_pacedq_peek(q, NULL, NULL, NULL) == NULL);
    cc_pacedq_pop(q); /* empty: nothing happens */
    cc_pacedq_free(q);
}

int main(void)
{
    CC_RUN(test_budget);
    CC_RUN(test_rate_change);
    CC_RUN(test_keyframe_spread);
    CC_RUN(test_pacedq);
    CC_TEST_DONE();
}
