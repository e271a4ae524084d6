/* classcast: transport-wide congestion control, protocol side
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01).
 *  - section 2: the transport-wide sequence number header extension;
 *  - section 3.1: the feedback message, built by the receiver
 *    (cc_twcc_recv) and expanded for the sender (cc_twcc_parse); the bytes
 *    are read and written by src/rtp/rtcp.c.
 * Hand-written: every media packet of a transport passes through
 * cc_twcc_recv_on_packet, and no C library offers these pieces. */
#include "classcast/twcc.h"

#include <string.h>

#include "classcast/err.h"

#define TWCC_NONE INT64_MIN
#define WMASK (CC_TWCC_RECV_WINDOW - 1)
/* Section 3.1: reference time in multiples of 64 ms, deltas of 250 us. */
#define REF_UNIT_US 64000
#define DELTA_UNIT_US 250
#define MIN_FEEDBACK_CAP 64

/* ---- header extension (section 2) ---- */

int cc_twcc_ext_get(const cc_rtp_hdr *h, int id, uint16_t *seq)
{
    if (!h || !seq)
        return CC_EINVAL;
    const uint8_t *v;
    size_t n;
    int rc = cc_rtp_find_ext(h, id, &v, &n);
    if (rc < 0)
        return rc;
    if (n != 2)
        return CC_EINVAL; /* section 2: exactly 16 bits */
    *seq = (uint16_t)(v[0] << 8 | v[1]);
    return 0;
}

int cc_twcc_ext_put(uint8_t *buf, size_t len, size_t cap, int id,
                    uint16_t seq, size_t *new_len)
{
    uint8_t v[2] = {(uint8_t)(seq >> 8), (uint8_t)seq};
    return cc_rtp_set_ext(buf, len, cap, id, v, sizeof v, new_len);
}

/* ---- receiver side ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

void cc_twcc_recv_init(cc_twcc_recv *r, const cc_twcc_recv_config *cfg,
                       cc_time_us now)
{
    memset(r, 0, sizeof *r);
    if (cfg)
        r->cfg = *cfg;
    if (r->cfg.interval <= 0)
        r->cfg.interval = CC_TWCC_DEFAULT_INTERVAL;
    if (r->cfg.max_pending == 0)
        r->cfg.max_pending = CC_TWCC_DEFAULT_MAX_PENDING;
    if (r->cfg.max_pending > CC_TWCC_RECV_WINDOW / 2)
        r->cfg.max_pending = CC_TWCC_RECV_WINDOW / 2;
    r->last_fb = now;
    for (size_t i = 0; i < CC_TWCC_RECV_WINDOW; i++)
        r->arrival[i] = TWCC_NONE;
}

/* Invariant: only the slots of sequence numbers in [start, max] hold
 * arrival times, and max - start < CC_TWCC_RECV_WINDOW, so each of them has
 * its own slot and every other slot is TWCC_NONE. */
void cc_twcc_recv_on_packet(cc_twcc_recv *r, uint16_t seq, cc_time_us now)
{
    if (!r->started) {
        r->started = 1;
        r->start = r->max = seq;
        r->arrival[seq & WMASK] = now;
        r->stats.packets++;
        return;
    }
    /* Unwrap against the highest number seen (RFC 3550 appendix A.1 style):
     * within 32767 either side. */
    int64_t ext = r->max + (int16_t)(uint16_t)(seq - (uint16_t)r->max);
    if (ext < r->start) {
        r->stats.late++;
        return;
    }
    if (ext - r->start >= CC_TWCC_RECV_WINDOW) {
        /* Too far ahead for the window: drop the oldest unreported
         * statuses (the sender sees them as never reported). */
        int64_t ns = ext - CC_TWCC_RECV_WINDOW + 1;
        for (int64_t s = r->start; s < ns && s <= r->max; s++) {
            r->arrival[s & WMASK] = TWCC_NONE;
            r->stats.overflow++;
        }
        r->start = ns;
        if (r->max < ns - 1)
            r->max = ns - 1;
    }
    cc_time_us *slot = &r->arrival[ext & WMASK];
    if (*slot != TWCC_NONE) {
        r->stats.duplicates++;
        return;
    }
    *slot = now;
    if (ext > r->max)
        r->max = ext;
    r->stats.packets++;
}

cc_time_us cc_twcc_recv_deadline(const cc_twcc_recv *r)
{
    if (!r->started || r->start > r->max)
        return CC_TIME_NEVER;
    if (r->more)
        return r->last_fb;
    return r->last_fb + r->cfg.interval;
}

int cc_twcc_recv_poll(cc_twcc_recv *r, cc_time_us now, uint8_t *buf,
                      size_t cap)
{
    if (!buf || cap < MIN_FEEDBACK_CAP)
        return CC_ENOSPC;
    if (!r->started || r->start > r->max)
        return 0;
    int64_t pending = r->max - r->start + 1;
    if (!r->more && now - r->last_fb < r->cfg.interval &&
        pending < (int64_t)r->cfg.max_pending)
        return 0;

    /* Reference time: the 64 ms tick at or before the first arrival in
     * this packet (section 3.1: the first delta is relative to it, so it
     * is 0..255 units, a small delta). r->max always arrived. */
    int64_t ref = 0;
    for (int64_t s = r->start; s <= r->max; s++) {
        if (r->arrival[s & WMASK] != TWCC_NONE) {
            ref = floor_div(r->arrival[s & WMASK], REF_UNIT_US);
            break;
        }
    }
    int64_t base_us = ref * REF_UNIT_US;

    int32_t d[CC_TWCC_RECV_WINDOW];
    size_t n = 0, dbytes = 0, upto_received = 0;
    int64_t prev_tick = 0;
    for (int64_t s = r->start; s <= r->max; s++) {
        cc_time_us a = r->arrival[s & WMASK];
        int32_t delta = CC_TWCC_NOT_RECEIVED;
        size_t cost = 0;
        int64_t tick = prev_tick;
        if (a != TWCC_NONE) {
            /* Quantise the arrival itself, not the difference: the sender
             * rebuilds every arrival within 250 us, with no drift. */
            tick = floor_div(a - base_us, DELTA_UNIT_US);
            int64_t dt = tick - prev_tick;
            if (dt < -32768 || dt > 32767)
                break; /* 3.1.5: beyond a large delta; next packet */
            delta = (int32_t)dt;
            cost = (dt >= 0 && dt <= 255) ? 1 : 2;
        }
        /* Size bound: header 20, at most one 2-byte chunk per 7 packets,
         * the deltas, up to 3 bytes of padding. */
        size_t chunks = 2 * ((n + 1 + 6) / 7);
        if (20 + chunks + dbytes + cost + 3 > cap)
            break;
        d[n++] = delta;
        dbytes += cost;
        prev_tick = tick;
        if (a != TWCC_NONE)
            upto_received = n;
    }
    /* n >= 1: the first packet always fits (cap >= 64) and its delta is a
     * small one. A packet cut short ends on a received packet, as
     * libwebrtc's do; the losses after it go in the next one (unless
     * nothing but losses fitted). */
    if (upto_received > 0)
        n = upto_received;
    cc_rtcp_twcc tw = {
        .base_seq = (uint16_t)r->start,
        .reference_time = (int32_t)(ref & 0xFFFFFF),
        .fb_pkt_count = r->fb_count,
        .deltas = d,
        .n = n,
    };
    int len = cc_rtcp_write_twcc(buf, cap, r->cfg.sender_ssrc,
                                 r->cfg.media_ssrc, &tw);
    if (len < 0)
        return len;
    for (size_t i = 0; i < n; i++)
        r->arrival[(r->start + (int64_t)i) & WMASK] = TWCC_NONE;
    r->start += (int64_t)n;
    r->more = r->start <= r->max;
    r->fb_count++;
    r->last_fb = now;
    r->stats.feedback++;
    return len;
}

/* ---- send side ---- */

int cc_twcc_parse(const cc_rtcp_fb *rfb, cc_twcc_feedback *fb,
                  cc_twcc_pkt *out, size_t cap)
{
    if (!rfb || !fb || (cap && !out))
        return CC_EINVAL;
    memset(fb, 0, sizeof *fb);
    cc_rtcp_twcc hdr = {0};
    cc_rtcp_twcc_iter it;
    int rc = cc_rtcp_twcc_iter_init(&it, rfb, &hdr);
    if (rc < 0)
        return rc;
    uint32_t ref = (uint32_t)hdr.reference_time & 0xFFFFFFu;
    int64_t t = (int64_t)ref * REF_UNIT_US;
    size_t i = 0, received = 0;
    int32_t d;
    while ((rc = cc_rtcp_twcc_iter_next(&it, &d)) == 1) {
        int got = d != CC_TWCC_NOT_RECEIVED;
        if (got)
            t += (int64_t)d * DELTA_UNIT_US;
        if (i < cap) {
            out[i].seq = (uint16_t)(hdr.base_seq + i);
            out[i].received = (uint8_t)got;
            out[i].delta_us = got ? d * DELTA_UNIT_US : 0;
            out[i].arrival_us = got ? t : 0;
            received += (size_t)got;
        }
        i++;
    }
    if (rc < 0) {
        memset(fb, 0, sizeof *fb);
        return rc;
    }
    fb->sender_ssrc = rfb->sender_ssrc;
    fb->media_ssrc = rfb->media_ssrc;
    fb->base_seq = hdr.base_seq;
    fb->status_count = hdr.status_count;
    fb->reference_time = ref;
    fb->fb_pkt_count = hdr.fb_pkt_count;
    fb->n = i < cap ? i : cap;
    fb->received = received;
    return 0;
}
