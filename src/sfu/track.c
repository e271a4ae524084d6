/* classcast: a publisher's stream as the SFU sees it. See track.h. */
#include "classcast/track.h"

#include <string.h>

#include "classcast/err.h"
#include "classcast/rtp.h"

/* Seconds between 1900 (NTP epoch) and 1970 (Unix epoch). */
#define NTP_UNIX_OFFSET 2208988800ull

void cc_track_init(cc_track *t, uint32_t id, int slot, int video,
                   int clock_rate)
{
    memset(t, 0, sizeof *t);
    t->id = id;
    t->slot = slot;
    t->video = video;
    t->clock_rate = clock_rate > 0 ? clock_rate : (video ? 90000 : 48000);
    t->last_pli = -CC_USEC_PER_SEC * 3600;
    t->last_keyframe = -CC_USEC_PER_SEC * 3600;
    t->cache_quota = CC_TRACK_CACHE;
    cc_nack_init(&t->nack, NULL);
    cc_ratemeter_init(&t->rate);
}

void cc_track_clear(cc_track *t)
{
    for (int i = 0; i < CC_TRACK_CACHE; i++) {
        cc_pkt_unref(t->cache[i]);
        t->cache[i] = NULL;
    }
    t->fifo_head = t->fifo_n = t->cache_n = 0;
}

static uint16_t pkt_seq(const cc_pkt *p)
{
    return (uint16_t)(p->data[2] << 8 | p->data[3]);
}

/* The oldest entry of the put order out of the cache (NULL if that seq's
 * slot was reused by a newer packet meanwhile: nothing to release). */
static cc_pkt *fifo_pop(cc_track *t)
{
    uint16_t seq = t->fifo[t->fifo_head];
    t->fifo_head = (uint16_t)((t->fifo_head + 1) & (CC_TRACK_CACHE - 1));
    t->fifo_n--;
    cc_pkt **slot = &t->cache[seq & (CC_TRACK_CACHE - 1)];
    cc_pkt *p = *slot;
    if (!p || p->len < CC_RTP_HEADER_MIN || pkt_seq(p) != seq)
        return NULL;
    *slot = NULL;
    t->cache_n--;
    return p;
}

void cc_track_cache_put(cc_track *t, uint16_t seq, cc_pkt *p)
{
    if (!p)
        return;
    cc_pkt **slot = &t->cache[seq & (CC_TRACK_CACHE - 1)];
    if (*slot && (*slot)->len >= CC_RTP_HEADER_MIN && pkt_seq(*slot) == seq) {
        cc_pkt_unref(p); /* a repeat (the publisher answered a NACK twice) */
        return;
    }
    while (t->cache_n >= t->cache_quota && t->fifo_n > 0)
        cc_pkt_unref(fifo_pop(t));
    if (*slot) {
        /* Same ring slot, older seq: its fifo entry stays and finds the
         * slot taken by another seq when it comes up. */
        cc_pkt_unref(*slot);
        t->cache_n--;
    }
    if (t->fifo_n == CC_TRACK_CACHE) /* only stale entries can fill it */
        cc_pkt_unref(fifo_pop(t));
    *slot = p;
    t->cache_n++;
    t->fifo[(t->fifo_head + t->fifo_n) & (CC_TRACK_CACHE - 1)] = seq;
    t->fifo_n++;
}

void cc_track_cache_expire(cc_track *t, cc_time_us now, cc_time_us max_age)
{
    while (t->fifo_n > 0) {
        uint16_t seq = t->fifo[t->fifo_head];
        cc_pkt *p = t->cache[seq & (CC_TRACK_CACHE - 1)];
        if (p && p->len >= CC_RTP_HEADER_MIN && pkt_seq(p) == seq &&
            (now - p->time < max_age || (t->kf_known && seq == t->kf_seq)))
            break;
        cc_pkt_unref(fifo_pop(t));
    }
}

cc_pkt *cc_track_cache_take_oldest(cc_track *t)
{
    while (t->fifo_n > 0) {
        cc_pkt *p = fifo_pop(t);
        if (!p)
            continue;
        if (__atomic_load_n(&p->refs, __ATOMIC_ACQUIRE) == 1)
            return p;
        cc_pkt_unref(p);
        return NULL;
    }
    return NULL;
}

void cc_track_cache_set_quota(cc_track *t, unsigned quota)
{
    t->cache_quota = (uint16_t)(quota < 1 ? 1 : quota > CC_TRACK_CACHE ? CC_TRACK_CACHE : quota);
}

cc_pkt *cc_track_cache_get(const cc_track *t, uint16_t seq)
{
    cc_pkt *p = t->cache[seq & (CC_TRACK_CACHE - 1)];
    if (!p || p->len < CC_RTP_HEADER_MIN)
        return NULL;
    return pkt_seq(p) == seq ? p : NULL;
}

void cc_track_on_rtp(cc_track *t, uint16_t seq, uint32_t rtp_ts, size_t bytes,
                     cc_time_us now)
{
    cc_track_rx *r = &t->rx;
    t->last_rx = now;
    r->bytes += bytes;
    if (!r->started) {
        /* RFC 3550 A.1 init_seq (without the probation: the SRTP context
         * already vouches for the source). */
        r->started = 1;
        r->base_seq = seq;
        r->max_seq = seq;
        r->cycles = 0;
        r->received = 1;
        r->expected_prior = 0;
        r->received_prior = 0;
    } else {
        uint16_t udelta = (uint16_t)(seq - r->max_seq);
        if (udelta != 0 && udelta < 0x8000) {
            if (seq < r->max_seq)
                r->cycles += 1u << 16; /* wrapped */
            r->max_seq = seq;
        }
        r->received++;
        if (udelta == 0 || udelta >= 0x8000)
            return; /* duplicate or late: no jitter sample (A.8 uses order) */
    }
    /* RFC 3550 A.8: transit = arrival - timestamp in RTP units;
     * J += (|D| - J) / 16, kept scaled by 16. */
    int64_t arrival = now * (int64_t)t->clock_rate / CC_USEC_PER_SEC;
    int64_t transit = arrival - (int64_t)rtp_ts;
    if (r->have_transit) {
        int64_t d = transit - r->last_transit;
        /* rtp_ts is 32-bit: fold the difference back into range. */
        d = (int32_t)(uint32_t)d;
        if (d < 0)
            d = -d;
        int64_t j = (int64_t)r->jitter_q4 + d - (((int64_t)r->jitter_q4 + 8) >> 4);
        r->jitter_q4 = j < 0 ? 0 : (uint32_t)(j > UINT32_MAX ? UINT32_MAX : j);
    }
    r->last_transit = transit;
    r->have_transit = 1;
}

cc_time_us cc_track_ntp_to_unix_us(uint64_t ntp)
{
    uint64_t sec = ntp >> 32;
    uint64_t frac = ntp & 0xffffffffu;
    int64_t us = ((int64_t)sec - (int64_t)NTP_UNIX_OFFSET) * CC_USEC_PER_SEC;
    return us + (int64_t)((frac * 1000000u) >> 32);
}

void cc_track_on_sr(cc_track *t, uint64_t ntp, uint32_t rtp_ts, cc_time_us now)
{
    t->have_sr = 1;
    /* RFC 3550 6.4.1: LSR is the middle 32 bits of the NTP timestamp. */
    t->sr_lsr = (uint32_t)(ntp >> 16);
    t->sr_at = now;
    t->sr_unix_us = cc_track_ntp_to_unix_us(ntp);
    t->sr_rtp = rtp_ts;
}

int cc_track_report(cc_track *t, cc_time_us now, cc_rtcp_report_block *out)
{
    cc_track_rx *r = &t->rx;
    if (!r->started)
        return CC_EAGAIN;
    memset(out, 0, sizeof *out);
    out->ssrc = t->ssrc;
    /* RFC 3550 A.3. */
    uint32_t ext_max = r->cycles + r->max_seq;
    uint32_t expected = ext_max - r->base_seq + 1;
    int64_t lost = (int64_t)expected - (int64_t)r->received;
    /* 24-bit signed field: clamp (6.4.1). */
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    if (lost < -0x800000)
        lost = -0x800000;
    uint32_t expected_interval = expected - r->expected_prior;
    r->expected_prior = expected;
    uint64_t received_interval = r->received - r->received_prior;
    r->received_prior = r->received;
    int64_t lost_interval = (int64_t)expected_interval - (int64_t)received_interval;
    if (expected_interval == 0 || lost_interval <= 0)
        out->fraction_lost = 0;
    else
        out->fraction_lost = (uint8_t)((lost_interval << 8) / expected_interval);
    out->cumulative_lost = (int32_t)lost;
    out->ext_highest_seq = ext_max;
    out->jitter = r->jitter_q4 >> 4;
    if (t->have_sr) {
        out->lsr = t->sr_lsr;
        /* DLSR in units of 1/65536 s (6.4.1). */
        out->dlsr = (uint32_t)((now - t->sr_at) * 65536 / CC_USEC_PER_SEC);
    }
    return 0;
}

int cc_track_pli_allowed(cc_track *t, cc_time_us now, cc_time_us min_gap)
{
    if (now - t->last_pli < min_gap)
        return 0;
    t->last_pli = now;
    return 1;
}

static int kf_take(cc_track *t, cc_time_us now)
{
    t->last_pli = now;
    t->kf_pending = 1;
    t->kf_wanted = 0;
    return 1;
}

int cc_track_kf_want(cc_track *t, cc_time_us now, cc_time_us min_gap)
{
    if (now - t->last_pli >= min_gap)
        return kf_take(t, now);
    /* In flight (its keyframe serves this wait), or answered a moment
     * ago: remembered, due at last_pli + min_gap. */
    t->kf_wanted = 1;
    return 0;
}

int cc_track_kf_due(cc_track *t, cc_time_us now, cc_time_us min_gap)
{
    if (!t->kf_wanted || now - t->last_pli < min_gap)
        return 0;
    return kf_take(t, now);
}

void cc_track_kf_seen(cc_track *t, cc_time_us now)
{
    t->kf_pending = 0;
    t->kf_wanted = 0;
    t->last_keyframe = now;
}

void cc_track_kf_seen_seq(cc_track *t, uint16_t seq, cc_time_us now)
{
    cc_track_kf_seen(t, now);
    t->kf_known = 1;
    t->kf_seq = seq;
}

uint32_t cc_track_on_frame_bytes(cc_track *t, uint32_t rtp_ts, size_t bytes, int kf_first,
                                 int marker)
{
    uint32_t b = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
    if (kf_first) {
        t->kf_open = 1;
        t->kf_acc_ts = rtp_ts;
        t->kf_acc = 0;
    } else if (!t->kf_open) {
        return 0;
    } else if (rtp_ts != t->kf_acc_ts) {
        /* A later picture: the keyframe's marker was lost. */
        t->kf_bytes = t->kf_acc;
        t->kf_open = 0;
        return 0;
    }
    t->kf_acc = t->kf_acc > UINT32_MAX - b ? UINT32_MAX : t->kf_acc + b;
    if (!marker)
        return 0;
    t->kf_bytes = t->kf_acc;
    t->kf_open = 0;
    return t->kf_bytes;
}

unsigned cc_track_kf_chain(const cc_track *t)
{
    if (!t->kf_known || !t->rx.started)
        return 0;
    unsigned n = (uint16_t)(t->rx.max_seq - t->kf_seq) + 1u;
    if (n > t->cache_n)
        return 0;
    for (unsigned i = 0; i < n; i++)
        if (!cc_track_cache_get(t, (uint16_t)(t->kf_seq + i)))
            return 0;
    return n;
}

int cc_track_stopped_beside(const cc_track *t, const cc_track *lower, cc_time_us silent,
                            double min_fps, cc_time_us now)
{
    if (!t || !lower || !t->rx.started || !lower->rx.started || now - t->last_media_rx < silent)
        return 0;
    return lower->last_media_rx > t->last_media_rx && now - lower->last_media_rx < silent &&
           cc_ratemeter_fps(&lower->rate, CC_RATEMETER_TIDS - 1, now) >= min_fps;
}
