/* Track: NACK cache store/get/overwrite/wrap, RFC 3550 A.3/A.8 receive
 * statistics, SR bookkeeping, PLI throttle, a simulcast encoding left out
 * (cc_track_stopped_beside). */
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

/* The cache keeps at most its quota, the oldest going first; old packets
 * expire; a repeat keeps the first copy; the oldest can be taken for
 * reuse unless someone else holds it. */
static void test_cache_quota(void)
{
    cc_pkt_pool *pool;
    CC_CHECK_EQ(cc_pkt_pool_new(&pool, 1024), 0);
    cc_track *t = calloc(1, sizeof *t);
    cc_track_init(t, 1, 0, 1, 90000);
    CC_CHECK_EQ(t->cache_quota, CC_TRACK_CACHE);
    cc_track_cache_set_quota(t, 0);
    CC_CHECK_EQ(t->cache_quota, 1);
    cc_track_cache_set_quota(t, 100000);
    CC_CHECK_EQ(t->cache_quota, CC_TRACK_CACHE);
    cc_track_cache_set_quota(t, 100);
    for (uint16_t s = 0; s < 300; s++) {
        cc_pkt *p = mk(pool, (uint16_t)(65400 + s));
        p->time = s * 1000; /* one a millisecond */
        cc_track_cache_put(t, (uint16_t)(65400 + s), p);
    }
    cc_pkt_pool_stats st;
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.in_use, 100);
    CC_CHECK_EQ(t->cache_n, 100);
    CC_CHECK(cc_track_cache_get(t, (uint16_t)(65400 + 199)) == NULL);
    CC_CHECK(cc_track_cache_get(t, (uint16_t)(65400 + 200)) != NULL);
    CC_CHECK(cc_track_cache_get(t, (uint16_t)(65400 + 299)) != NULL);
    /* A repeat of a held seq: the first copy stays, the repeat is freed. */
    cc_pkt *first = cc_track_cache_get(t, (uint16_t)(65400 + 250));
    cc_track_cache_put(t, (uint16_t)(65400 + 250), mk(pool, (uint16_t)(65400 + 250)));
    CC_CHECK(cc_track_cache_get(t, (uint16_t)(65400 + 250)) == first);
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.in_use, 100);
    /* A lower quota applies at the next put. */
    cc_track_cache_set_quota(t, 10);
    cc_pkt *p = mk(pool, (uint16_t)(65400 + 300));
    p->time = 300000;
    cc_track_cache_put(t, (uint16_t)(65400 + 300), p);
    CC_CHECK_EQ(t->cache_n, 10);
    CC_CHECK(cc_track_cache_get(t, (uint16_t)(65400 + 290)) == NULL);
    CC_CHECK(cc_track_cache_get(t, (uint16_t)(65400 + 291)) != NULL);
    /* Expiry: older than 5 ms at 300 ms leaves 296..300. */
    cc_track_cache_expire(t, 300000, 5000);
    CC_CHECK_EQ(t->cache_n, 5);
    CC_CHECK(cc_track_cache_get(t, (uint16_t)(65400 + 295)) == NULL);
    CC_CHECK(cc_track_cache_get(t, (uint16_t)(65400 + 296)) != NULL);
    /* Take the oldest for reuse; one a subscriber still holds is let go
     * instead. */
    cc_pkt *o = cc_track_cache_take_oldest(t);
    CC_CHECK(o != NULL);
    CC_CHECK_EQ(o ? o->refs : 0, 1);
    CC_CHECK_EQ(o ? o->data[3] : 0, (uint8_t)(65400 + 296));
    cc_pkt_unref(o);
    cc_pkt *held = cc_pkt_ref(cc_track_cache_get(t, (uint16_t)(65400 + 297)));
    CC_CHECK(cc_track_cache_take_oldest(t) == NULL);
    CC_CHECK_EQ(t->cache_n, 3);
    cc_pkt_unref(held);
    cc_track_clear(t);
    CC_CHECK_EQ(t->cache_n, 0);
    CC_CHECK(cc_track_cache_take_oldest(t) == NULL);
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.in_use, 0);
    free(t);
    cc_pkt_pool_free(pool);
}

/* Keyframe requests: 40 students join within a second (one every 25 ms)
 * and the publisher answers each request with a keyframe one frame
 * (33 ms) later. The publisher gets a request at the first join and then
 * at most one per 300 ms (5 in all); every join waits at most 300 ms +
 * one frame. A
 * wait remembered while a request was in flight or just answered goes
 * out when it is due, without a packet (cc_track_kf_due). */
static void test_keyframe_requests(void)
{
    enum { GAP = 300000, FRAME = 33333 };
    cc_track *t = calloc(1, sizeof *t);
    cc_track_init(t, 1, 0, 1, 90000);
    cc_time_us key_at = -1, joined[40];
    int requests = 0, waiting[40] = {0}, max_wait = 0;
    for (cc_time_us now = 1000000; now < 2500000; now += 1000) {
        int j = (int)((now - 1000000) / 25000);
        if ((now - 1000000) % 25000 == 0 && j < 40) {
            joined[j] = now;
            waiting[j] = 1;
            if (cc_track_kf_want(t, now, GAP)) {
                requests++;
                key_at = now + FRAME;
            }
        }
        if (cc_track_kf_due(t, now, GAP)) {
            requests++;
            key_at = now + FRAME;
        }
        if (key_at >= 0 && now >= key_at) {
            cc_track_kf_seen(t, now);
            key_at = -1;
            for (int k = 0; k < 40; k++)
                if (waiting[k]) {
                    waiting[k] = 0;
                    if (now - joined[k] > max_wait)
                        max_wait = (int)(now - joined[k]);
                }
        }
    }
    for (int k = 0; k < 40; k++)
        CC_CHECK_EQ(waiting[k], 0);
    printf("40 joins in 1 s: %d keyframe requests, longest wait %d ms\n", requests,
           max_wait / 1000);
    /* The first, then one per 300 ms of the second: 0, 300, 600, 900 and
     * 1200 ms (for the joins after 900). */
    CC_CHECK(requests >= 4 && requests <= 5);
    CC_CHECK(max_wait <= GAP + FRAME + 1000);
    /* A request that brought nothing is sent again after the gap. */
    cc_track_init(t, 1, 0, 1, 90000);
    CC_CHECK_EQ(cc_track_kf_want(t, 0, GAP), 1);
    CC_CHECK_EQ(cc_track_kf_want(t, 100000, GAP), 0);
    CC_CHECK_EQ(cc_track_kf_due(t, 299999, GAP), 0);
    CC_CHECK_EQ(cc_track_kf_due(t, 300000, GAP), 1);
    CC_CHECK_EQ(t->kf_pending, 1);
    /* Nobody waits: nothing is due. */
    cc_track_kf_seen(t, 310000);
    CC_CHECK_EQ(t->kf_pending, 0);
    CC_CHECK_EQ(cc_track_kf_due(t, 900000, GAP), 0);
    free(t);
}


/* The last keyframe's chain: the cache keeps the keyframe and what follows
 * it past the age limit, and cc_track_kf_chain counts it only while every
 * packet of it is held (a new subscriber starts on it). */
static void test_keyframe_chain(void)
{
    cc_pkt_pool *pool = NULL;
    CC_CHECK_EQ(cc_pkt_pool_new(&pool, 64), 0);
    cc_track *t = calloc(1, sizeof *t);
    cc_track_init(t, 1, 0, 1, 90000);
    CC_CHECK_EQ(cc_track_kf_chain(t), 0u); /* nothing yet */
    for (uint16_t i = 0; i < 20; i++) {
        uint16_t seq = (uint16_t)(65530 + i); /* wraps */
        cc_pkt *p = mk(pool, seq);
        p->time = i * 100000; /* one every 100 ms */
        cc_track_on_rtp(t, seq, 1000u + i, 100, p->time);
        if (i == 10)
            cc_track_kf_seen_seq(t, seq, p->time);
        cc_track_cache_put(t, seq, p);
    }
    CC_CHECK_EQ(cc_track_kf_chain(t), 10u);
    /* 1.5 s later with a 1 s age: everything before the keyframe goes,
     * the keyframe and the 9 packets after it stay. */
    cc_track_cache_expire(t, 3500000, 1000000);
    CC_CHECK_EQ(t->cache_n, 10);
    CC_CHECK_EQ(cc_track_kf_chain(t), 10u);
    /* Over the quota the keyframe goes too: no complete chain. */
    cc_track_cache_set_quota(t, 5);
    uint16_t seq = (uint16_t)(65530 + 20);
    cc_pkt *p = mk(pool, seq);
    p->time = 3600000;
    cc_track_on_rtp(t, seq, 1020u, 100, p->time);
    cc_track_cache_put(t, seq, p);
    CC_CHECK_EQ(t->cache_n, 5);
    CC_CHECK_EQ(cc_track_kf_chain(t), 0u);
    cc_track_clear(t);
    CC_CHECK_EQ(cc_track_kf_chain(t), 0u);
    free(t);
    cc_pkt_pool_free(pool);
}

/* The last keyframe's size: its packets up to the marker; a lost marker
 * ends it at the next picture; other pictures leave it alone. */
static void test_keyframe_bytes(void)
{
    cc_track *t = calloc(1, sizeof *t);
    cc_track_init(t, 1, 0, 1, 90000);
    CC_CHECK_EQ(t->kf_bytes, 0u);
    cc_track_on_frame_bytes(t, 100, 1200, 0, 1); /* a delta picture first */
    CC_CHECK_EQ(t->kf_bytes, 0u);
    CC_CHECK_EQ(cc_track_on_frame_bytes(t, 3000, 1200, 1, 0), 0u);
    CC_CHECK_EQ(cc_track_on_frame_bytes(t, 3000, 1200, 0, 0), 0u);
    CC_CHECK_EQ(t->kf_bytes, 0u); /* not ended yet */
    CC_CHECK_EQ(cc_track_on_frame_bytes(t, 3000, 600, 0, 1), 3000u); /* its last packet */
    CC_CHECK_EQ(t->kf_bytes, 3000u);
    CC_CHECK_EQ(cc_track_on_frame_bytes(t, 6000, 900, 0, 1), 0u); /* a delta picture */
    CC_CHECK_EQ(t->kf_bytes, 3000u);
    /* The next keyframe loses its marker: counted until a later picture. */
    cc_track_on_frame_bytes(t, 9000, 1000, 1, 0);
    cc_track_on_frame_bytes(t, 9000, 1000, 0, 0);
    CC_CHECK_EQ(cc_track_on_frame_bytes(t, 12000, 500, 0, 1), 0u);
    CC_CHECK_EQ(t->kf_bytes, 2000u);
    /* A one-packet keyframe. */
    CC_CHECK_EQ(cc_track_on_frame_bytes(t, 15000, 700, 1, 1), 700u);
    CC_CHECK_EQ(t->kf_bytes, 700u);
    free(t);
}

/* cc_track_stopped_beside: the top encoding silent for 300 ms while the
 * one beneath goes on at 5 pictures a second: stopped; not before 300 ms,
 * not when both are silent (a still picture), not when the one beneath
 * sends under 2 a second, nor when it too has been quiet for 300 ms. */
static void test_stopped_beside(void)
{
    cc_track *hi = calloc(1, sizeof *hi), *lo = calloc(1, sizeof *lo);
    cc_track_init(hi, 1, 0, 1, 90000);
    cc_track_init(lo, 2, 0, 1, 90000);
    const cc_time_us ms = CC_USEC_PER_MSEC, T = 100 * CC_USEC_PER_SEC;
    hi->rx.started = lo->rx.started = 1;
    hi->last_media_rx = T;
    for (cc_time_us at = T - 1000 * ms; at <= T + 400 * ms; at += 200 * ms) {
        cc_ratemeter_on_packet(&lo->rate, 0, 1000, 1, at);
        lo->last_media_rx = at;
    }
    const cc_time_us now = T + 400 * ms;
    CC_CHECK_EQ(cc_track_stopped_beside(hi, lo, 300 * ms, 2.0, now), 1);
    CC_CHECK_EQ(cc_track_stopped_beside(hi, lo, 300 * ms, 2.0, T + 250 * ms), 0);
    CC_CHECK_EQ(cc_track_stopped_beside(hi, lo, 300 * ms, 6.0, now), 0); /* 5 a second */
    CC_CHECK_EQ(cc_track_stopped_beside(hi, lo, 300 * ms, 2.0, now + 300 * ms), 0);
    lo->last_media_rx = T - 10 * ms; /* both silent since about T */
    CC_CHECK_EQ(cc_track_stopped_beside(hi, lo, 300 * ms, 2.0, now), 0);
    lo->last_media_rx = T + 400 * ms;
    hi->rx.started = 0;
    CC_CHECK_EQ(cc_track_stopped_beside(hi, lo, 300 * ms, 2.0, now), 0);
    CC_CHECK_EQ(cc_track_stopped_beside(NULL, lo, 300 * ms, 2.0, now), 0);
    cc_track_clear(hi);
    cc_track_clear(lo);
    free(hi);
    free(lo);
}

int main(void)
{
    CC_RUN(test_cache);
    CC_RUN(test_report);
    CC_RUN(test_pli_and_ntp);
    CC_RUN(test_cache_quota);
    CC_RUN(test_keyframe_requests);
    CC_RUN(test_keyframe_chain);
    CC_RUN(test_keyframe_bytes);
    CC_RUN(test_stopped_beside);
    CC_TEST_DONE();
}
