/* Track: NACK cache store/get/overwrite/wrap, RFC 3550 A.3/A.8 receive
 * statistics, SR bookkeeping, PLI throttle. */
#include "cc_test.h"
#include "classcast/err.h"
#include "classcast/rtp.h"
#include "classcast/track.h"

static cc_pkt *mk(cc_pkt_pool *pool, uint16_t seq)
{
    cc_pkt *p = cc_pkt_alloc(pool);
    if (!p)
        return NULL;
    p->len = (uint16_t)cc_rtp_write_header(p->data, CC_PKT_CAP, 96, 0, seq,
                                           1000, 0x1234);
    p->data[p->len++] = 0xab;
    return p;
}

static void test_cache(void)
{
    cc_pkt_pool *pool;
    CC_CHECK_EQ(cc_pkt_pool_new(&pool, 1024), 0);
    cc_track *t = calloc(1, sizeof *t);
    cc_track_init(t, 1, 0, 1, 90000);
    CC_CHECK(cc_track_cache_get(t, 5) == NULL);
    cc_track_cache_put(t, 5, mk(pool, 5));
    cc_pkt *p = cc_track_cache_get(t, 5);
    CC_CHECK(p != NULL);
    CC_CHECK_EQ(p ? p->data[3] : 0, 5);
    /* Same ring slot, newer seq: the old one is released and misses. */
    cc_track_cache_put(t, 5 + CC_TRACK_CACHE, mk(pool, 5 + CC_TRACK_CACHE));
    CC_CHECK(cc_track_cache_get(t, 5) == NULL);
    CC_CHECK(cc_track_cache_get(t, 5 + CC_TRACK_CACHE) != NULL);
    cc_pkt_pool_stats st;
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.in_use, 1);
    /* Wrap: 65535 and 0 are neighbours and both kept. */
    cc_track_cache_put(t, 65535, mk(pool, 65535));
    cc_track_cache_put(t, 0, mk(pool, 0));
    CC_CHECK(cc_track_cache_get(t, 65535) != NULL);
    CC_CHECK(cc_track_cache_get(t, 0) != NULL);
    /* Fill the whole ring more than once: in_use stays bounded. */
    for (uint32_t s = 0; s < 3 * CC_TRACK_CACHE; s++)
        cc_track_cache_put(t, (uint16_t)(60000 + s), mk(pool, (uint16_t)(60000 + s)));
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.in_use, CC_TRACK_CACHE);
    CC_CHECK(cc_track_cache_get(t, (uint16_t)(60000 + 3 * CC_TRACK_CACHE - 1)) != NULL);
    CC_CHECK(cc_track_cache_get(t, (uint16_t)(60000 + 2 * CC_TRACK_CACHE - 1)) == NULL);
    cc_track_clear(t);
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.in_use, 0);
    free(t);
    cc_pkt_pool_free(pool);
}

static void test_report(void)
{
    cc_track *t = calloc(1, sizeof *t);
    cc_track_init(t, 1, 0, 1, 90000);
    t->ssrc = 42;
    cc_rtcp_report_block rb;
    CC_CHECK_EQ(cc_track_report(t, 0, &rb), CC_EAGAIN);
    /* 65530..65535, 0..9 with 3 and 4 lost: 16 expected, 14 received,
     * across a wrap. Perfectly paced (no jitter): 3000 ticks per 33.3 ms. */
    cc_time_us now = 1000000;
    for (uint32_t i = 0; i < 16; i++) {
        uint16_t seq = (uint16_t)(65530 + i);
        if (seq != 3 && seq != 4)
            cc_track_on_rtp(t, seq, 5000 + i * 3000, 1000, now);
        now += 33333;
    }
    CC_CHECK_EQ(cc_track_report(t, now, &rb), 0);
    CC_CHECK_EQ(rb.ssrc, 42);
    CC_CHECK_EQ(rb.ext_highest_seq, 65536 + 9);
    CC_CHECK_EQ(rb.cumulative_lost, 2);
    CC_CHECK_EQ(rb.fraction_lost, 2 * 256 / 16);
    CC_CHECK(rb.jitter <= 1);
    CC_CHECK_EQ(rb.lsr, 0);
    /* Next interval: nothing lost. A 10 ms late packet raises jitter. */
    cc_track_on_rtp(t, 10, 5000 + 16 * 3000, 1000, now + 10000);
    cc_track_on_sr(t, (uint64_t)0x1234567890abcdefull, 777, now);
    CC_CHECK_EQ(cc_track_report(t, now + CC_USEC_PER_SEC / 2, &rb), 0);
    CC_CHECK_EQ(rb.fraction_lost, 0);
    CC_CHECK_EQ(rb.cumulative_lost, 2);
    CC_CHECK(rb.jitter > 0);
    CC_CHECK_EQ(rb.lsr, 0x567890ab);
    CC_CHECK_EQ(rb.dlsr, 32768);
    /* Duplicates make cumulative loss go down, never wrap negative to huge. */
    for (int i = 0; i < 5; i++)
        cc_track_on_rtp(t, 10, 0, 1000, now);
    CC_CHECK_EQ(cc_track_report(t, now, &rb), 0);
    CC_CHECK_EQ(rb.cumulative_lost, -3);
    CC_CHECK_EQ(rb.fraction_lost, 0);
    free(t);
}

static void test_pli_and_ntp(void)
{
    cc_track *t = calloc(1, sizeof *t);
    cc_track_init(t, 1, 0, 1, 90000);
    CC_CHECK_EQ(cc_track_pli_allowed(t, 0, 300000), 1);
    CC_CHECK_EQ(cc_track_pli_allowed(t, 100000, 300000), 0);
    CC_CHECK_EQ(cc_track_pli_allowed(t, 299999, 300000), 0);
    CC_CHECK_EQ(cc_track_pli_allowed(t, 300000, 300000), 1);
    /* NTP <-> Unix round trip (RFC 3550 section 4). */
    cc_time_us unix_us = 1700000000123456LL;
    uint64_t ntp = cc_clock_ntp_from_unix_us(unix_us);
    cc_time_us back = cc_track_ntp_to_unix_us(ntp);
    CC_CHECK(back - unix_us <= 1 && unix_us - back <= 1);
    free(t);
}

int main(void)
{
    CC_RUN(test_cache);
    CC_RUN(test_report);
    CC_RUN(test_pli_and_ntp);
    CC_TEST_DONE();
}
