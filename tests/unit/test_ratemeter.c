/* Rate meter: a steady 1 Mbit/s stream reads within 5 % wherever the
 * query falls in a bucket; temporal layers add up (T0, T0+T1, all) and so
 * do frame rates; a stream that stops reads 0 within 1.2 s; one that
 * comes back after a silence is measured from its return; TIDs out of
 * range and huge byte counts neither crash nor wrap. */
#include <math.h>

#include "cc_test.h"
#include "classcast/ratemeter.h"

#define S CC_USEC_PER_SEC
#define MS CC_USEC_PER_MSEC

static int within(double got, double want, double tol)
{
    return fabs(got - want) <= tol * want;
}

/* 1250 bytes every 10 ms = 1 Mbit/s, no TID marking, from t to t + dur. */
static cc_time_us feed_1m(cc_ratemeter *m, cc_time_us t, cc_time_us dur)
{
    for (cc_time_us end = t + dur; t < end; t += 10 * MS)
        cc_ratemeter_on_packet(m, -1, 1250, 1, t);
    return t;
}

static void test_steady(void)
{
    cc_ratemeter m;
    cc_ratemeter_init(&m);
    CC_CHECK_EQ(cc_ratemeter_bps(&m, 2, 5 * S), 0);
    cc_time_us t = 7 * S + 3 * MS; /* not on a bucket edge */
    int bad = 0, checked = 0;
    /* Early: the span is the time since the first packet, so no huge
     * under- or over-reading after a few packets. */
    cc_time_us t0 = t;
    t = feed_1m(&m, t, 300 * MS);
    CC_CHECK(within(cc_ratemeter_bps(&m, 2, t - 7 * MS), 1e6, 0.05));
    for (int i = 0; i < 400; i++) {
        cc_ratemeter_on_packet(&m, -1, 1250, 1, t);
        /* Query at a few points inside the next 10 ms. */
        for (cc_time_us q = t; q < t + 10 * MS; q += 3 * MS + 7) {
            uint32_t bps = cc_ratemeter_bps(&m, 0, q);
            checked++;
            if (!within(bps, 1e6, 0.05)) {
                bad++;
                fprintf(stderr, "at %lld: %u\n", (long long)(q - t0), bps);
            }
        }
        t += 10 * MS;
    }
    CC_CHECK(checked > 1000);
    CC_CHECK_EQ(bad, 0);
    /* Unmarked: the same for every cap; 100 packets a second. */
    CC_CHECK_EQ(cc_ratemeter_bps(&m, 0, t), cc_ratemeter_bps(&m, 2, t));
    CC_CHECK_EQ(cc_ratemeter_bps(&m, 0, t), cc_ratemeter_bps(&m, 7, t));
    CC_CHECK(within(cc_ratemeter_fps(&m, 2, t), 100, 0.05));
    CC_CHECK_EQ(cc_ratemeter_bps(&m, -1, t), 0);
}

/* VP8 L1T3 at 30 pictures/s: TIDs 0,2,1,2; a T0 picture 6000 bytes,
 * T1 4000, T2 2500 each, in packets of at most 1200 bytes. Per second:
 * T0 7.5 x 6000 = 360 kbit/s, T1 240, T2 300. */
static void test_layers(void)
{
    static const int pattern[4] = {0, 2, 1, 2};
    static const int size[3] = {6000, 4000, 2500};
    cc_ratemeter m;
    cc_ratemeter_init(&m);
    cc_time_us t = 0;
    for (int f = 0; f < 30 * 5; f++) {
        cc_time_us at = (cc_time_us)f * S / 30;
        int tid = pattern[f % 4];
        for (int left = size[tid], first = 1; left > 0; left -= 1200, first = 0)
            cc_ratemeter_on_packet(&m, tid, left > 1200 ? 1200 : (size_t)left, first, at);
        t = at;
    }
    /* A T0 picture comes every 133 ms, so a 1 s window holds 7 or 8 of
     * them: up to 1/7.5 off for T0 alone, less as layers add up. */
    t += 20 * MS;
    uint32_t r[3];
    cc_ratemeter_rates(&m, t, r);
    CC_CHECK(within(r[0], 360000, 0.14));
    CC_CHECK(within(r[1], 600000, 0.10));
    CC_CHECK(within(r[2], 900000, 0.07));
    for (int k = 0; k < 3; k++)
        CC_CHECK_EQ(cc_ratemeter_bps(&m, k, t), r[k]);
    CC_CHECK(r[0] < r[1] && r[1] < r[2]);
    CC_CHECK(within(cc_ratemeter_fps(&m, 0, t), 7.5, 0.14));
    CC_CHECK(within(cc_ratemeter_fps(&m, 1, t), 15, 0.10));
    CC_CHECK(within(cc_ratemeter_fps(&m, 2, t), 30, 0.07));
    CC_CHECK_EQ(m.total_bytes[0], 38 * 6000);
}

static void test_stop_and_return(void)
{
    cc_ratemeter m;
    cc_ratemeter_init(&m);
    cc_time_us t = feed_1m(&m, 50 * MS, 3 * S);
    cc_time_us last = t - 10 * MS;
    /* Decays, never rises, and is 0 within 1.2 s (here: 1 s). */
    uint32_t prev = cc_ratemeter_bps(&m, 2, last);
    cc_time_us zero_at = -1;
    for (cc_time_us q = last; q <= last + 1200 * MS; q += 5 * MS) {
        uint32_t b = cc_ratemeter_bps(&m, 2, q);
        CC_CHECK(b <= prev);
        prev = b;
        if (b == 0 && zero_at < 0)
            zero_at = q - last;
    }
    CC_CHECK(zero_at > 0 && zero_at <= 1000 * MS);
    CC_CHECK(cc_ratemeter_bps(&m, 2, last + 500 * MS) > 300000);
    CC_CHECK_EQ(cc_ratemeter_fps(&m, 2, last + 1200 * MS), 0);
    /* Back after 5 s: measured from its return, not diluted by the
     * silence. */
    t = feed_1m(&m, last + 5 * S, 400 * MS);
    CC_CHECK(within(cc_ratemeter_bps(&m, 2, t - 5 * MS), 1e6, 0.05));
    /* A half-second gap inside the window: the rate dips, not to 0. */
    t = feed_1m(&m, t, 2 * S);
    t = feed_1m(&m, t + 500 * MS, 200 * MS);
    uint32_t b = cc_ratemeter_bps(&m, 2, t);
    CC_CHECK(b > 400000 && b < 600000);
}

static void test_edges(void)
{
    cc_ratemeter m;
    cc_ratemeter_init(&m);
    /* Out-of-range TIDs land in 0 and 2. */
    cc_ratemeter_on_packet(&m, -3, 100, 0, 0);
    cc_ratemeter_on_packet(&m, 9, 200, 0, 0);
    cc_ratemeter_on_packet(&m, 1, 300, 0, 0);
    CC_CHECK_EQ(m.total_bytes[0], 100);
    CC_CHECK_EQ(m.total_bytes[1], 300);
    CC_CHECK_EQ(m.total_bytes[2], 200);
    /* One bucket at least: 600 bytes right after the first packet read as
     * 600 bytes over 100 ms, not over 0. */
    CC_CHECK_EQ(cc_ratemeter_bps(&m, 2, 0), 48000);
    CC_CHECK_EQ(cc_ratemeter_bps(&m, 0, 1), 8000);
    /* Huge counts: 64-bit totals, a saturated rate. */
    cc_ratemeter_on_packet(&m, 0, (size_t)3000000000u, 0, 10 * MS);
    cc_ratemeter_on_packet(&m, 0, (size_t)3000000000u, 0, 20 * MS);
    CC_CHECK_EQ(m.total_bytes[0], 6000000100ull);
    CC_CHECK_EQ(cc_ratemeter_bps(&m, 0, 30 * MS), UINT32_MAX);
    /* A clock that steps back a little counts in the current bucket. */
    cc_ratemeter_on_packet(&m, 0, 100, 0, 5 * MS);
    CC_CHECK_EQ(m.total_packets, 6);
    /* Negative times (a test clock) bucket like positive ones. */
    cc_ratemeter_init(&m);
    for (cc_time_us t = -2 * S; t < 0; t += 10 * MS)
        cc_ratemeter_on_packet(&m, 0, 1250, 1, t);
    CC_CHECK(within(cc_ratemeter_bps(&m, 0, -1), 1e6, 0.05));
}

int main(void)
{
    CC_RUN(test_steady);
    CC_RUN(test_layers);
    CC_RUN(test_stop_and_return);
    CC_RUN(test_edges);
    CC_TEST_DONE();
}
