/* classcast: receive-side estimate of a publisher's uplink (upbwe.h).
 * The arrivals become the feedback cc_bwe expects (src/sfu/bwe.c): each
 * packet is "sent" at the time its abs-send-time says, mapped onto our
 * clock, and "reported" at its arrival in batches of CC_UPBWE_BATCH_US. */
#include "classcast/upbwe.h"

#include <stdlib.h>
#include <string.h>

#include "classcast/bwe.h"

/* abs-send-time: 6.18 fixed-point seconds, 24 bits (wraps every 64 s). */
#define ABS_FRAC_PER_S 262144.0
#define ABS_MASK 0xFFFFFFu
/* A send time this far from the previous one, or an arrival this long
 * after the previous one, starts the mapping again (a paused sender, a
 * new clock after the browser restarted its sender). */
#define REBASE_US (5 * CC_USEC_PER_SEC)
#define PENDING 256
/* The sender's own delay. A browser stamps abs-send-time in its pacer and
 * hands the packet to its network thread; starved of CPU (its encoders,
 * other programs), that thread sends a trickle and then the rest at
 * once. The trickle grows the delay as a queue would, and the estimator
 * calls over-use (4 of 41 runs of scripts/bench/links capped the
 * teacher on loopback 2-3 s after it connected, as the first student's
 * browser started on the same two cores). The burst that ends it tells
 * it apart: CATCHUP_BYTES or more arriving within CATCHUP_SPAN_US whose
 * send times span CATCHUP_US more than that. No single bottleneck
 * queue empties like that: it delivers at its own rate, and a token
 * bucket lets through only its burst (8 KB for tc tbf here) at once.
 * Over-uses from CATCHUP_BEFORE_US before such a catch-up to
 * CATCHUP_AFTER_US after it set no cap, and the estimate goes back to
 * what it was before them (cc_bwe_own_queue). Over-uses are judged final
 * CATCHUP_BEFORE_US after the last of them. */
#define CATCHUP_SPAN_US (10 * CC_USEC_PER_MSEC)
#define CATCHUP_BYTES 3000
#define CATCHUP_US (30 * CC_USEC_PER_MSEC)
#define CATCHUP_BEFORE_US (1 * CC_USEC_PER_SEC)
#define CATCHUP_AFTER_US (300 * CC_USEC_PER_MSEC)
#define RECENT 128

struct cc_upbwe {
    cc_bwe *b;
    int have;             /* mapping set */
    uint32_t last_abs;    /* newest send time seen, 24 bits */
    cc_time_us last_send; /* it, on our clock */
    cc_time_us last_arrival;
    cc_time_us batch_at;  /* last batch handed over */
    uint16_t seq;         /* our numbering of the packets */
    size_t n;
    uint16_t p_seq[PENDING];
    cc_time_us p_arrival[PENDING];
    cc_twcc_pkt pk[PENDING];
    uint64_t overuses;    /* the estimator's count at the last tick */
    cc_time_us cap_from;  /* the last over-use that counts for the cap */
    cc_time_us final_at;  /* the last one judged final; 0 none */
    cc_time_us pend_first, pend_last; /* over-uses not judged yet; 0 none */
    uint32_t est_before;  /* the estimate before pend_first */
    uint32_t last_est;    /* the estimate at the last tick */
    /* the last RECENT packets (send and arrival times, bytes) */
    cc_time_us r_send[RECENT], r_arr[RECENT];
    uint32_t r_bytes[RECENT];
    unsigned r_n;
    cc_time_us catchup_at; /* the last catch-up; 0 none */
    int catchup_new;      /* seen since the last tick */
    cc_upbwe_stats st;
};

cc_upbwe *cc_upbwe_new(uint32_t start_bps, uint32_t max_bps, cc_time_us now)
{
    cc_upbwe *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    cc_bwe_config c;
    cc_bwe_config_default(&c);
    if (start_bps)
        c.start_bps = start_bps;
    if (max_bps)
        c.max_bps = max_bps;
    if (c.start_bps > c.max_bps)
        c.start_bps = c.max_bps;
    c.no_probe = 1; /* nothing of ours to probe with: the browser probes */
    u->b = cc_bwe_new(&c, now);
    if (!u->b) {
        free(u);
        return NULL;
    }
    u->batch_at = now;
    return u;
}

void cc_upbwe_free(cc_upbwe *u)
{
    if (!u)
        return;
    cc_bwe_free(u->b);
    free(u);
}

static void hand_over(cc_upbwe *u, cc_time_us now)
{
    u->batch_at = now;
    if (!u->n)
        return;
    /* As cc_twcc_parse gives it: arrivals on a reference of 64 ms units
     * modulo 2^24 (cc_bwe unwraps it); the first entry's number is the
     * base. */
    int64_t ref = u->p_arrival[0] / 64000;
    int64_t wrap_off = (ref - (ref & (int64_t)ABS_MASK)) * 64000;
    for (size_t i = 0; i < u->n; i++) {
        u->pk[i].seq = u->p_seq[i];
        u->pk[i].received = 1;
        u->pk[i].delta_us = 0;
        u->pk[i].arrival_us = u->p_arrival[i] - wrap_off;
    }
    cc_twcc_feedback f = {.base_seq = u->p_seq[0],
                          .status_count = (uint16_t)u->n,
                          .reference_time = (uint32_t)(ref & (int64_t)ABS_MASK),
                          .n = u->n,
                          .received = u->n};
    (void)cc_bwe_on_feedback(u->b, &f, u->pk, u->n, now);
    u->n = 0;
}

/* Records the packet and looks back over those that arrived within
 * CATCHUP_SPAN_US for a catch-up (see CATCHUP_BYTES). */
static void catchup_check(cc_upbwe *u, cc_time_us send, size_t bytes, cc_time_us now)
{
    unsigned k = u->r_n % RECENT;
    u->r_send[k] = send;
    u->r_arr[k] = now;
    u->r_bytes[k] = (uint32_t)bytes;
    u->r_n++;
    uint64_t sum = 0;
    cc_time_us first_send = send, first_arr = now;
    for (unsigned i = 0; i < RECENT && i < u->r_n; i++) {
        unsigned j = (u->r_n - 1 - i) % RECENT;
        if (now - u->r_arr[j] > CATCHUP_SPAN_US)
            break;
        sum += u->r_bytes[j];
        first_send = u->r_send[j];
        first_arr = u->r_arr[j];
    }
    /* sent over that much longer than it took to arrive */
    if (sum < CATCHUP_BYTES || (send - first_send) - (now - first_arr) < CATCHUP_US)
        return;
    if (!u->catchup_at || now - u->catchup_at > CATCHUP_SPAN_US)
        u->st.catchups++;
    u->catchup_at = now;
    u->catchup_new = 1;
}

void cc_upbwe_on_packet(cc_upbwe *u, uint32_t abs24, size_t bytes, cc_time_us now)
{
    if (!u)
        return;
    abs24 &= ABS_MASK;
    cc_time_us send = now;
    if (u->have && now - u->last_arrival <= REBASE_US) {
        /* Serial-number difference in 24 bits: a retransmission or a
         * reordered packet was sent before the newest. */
        int32_t d = (int32_t)((abs24 - u->last_abs) & ABS_MASK);
        if (d >= 0x800000)
            d -= 0x1000000;
        cc_time_us dus = (cc_time_us)((double)d * 1e6 / ABS_FRAC_PER_S);
        if (dus > REBASE_US || dus < -REBASE_US) {
            u->have = 0;
        } else {
            send = u->last_send + dus;
            if (d > 0) {
                u->last_abs = abs24;
                u->last_send = send;
            }
        }
    } else {
        u->have = 0;
    }
    if (!u->have) {
        /* The first packet (or the first after a gap): its send time is
         * its arrival; the one-way delay is only ever used as a trend. */
        if (u->st.packets)
            u->st.rebased++;
        u->have = 1;
        u->last_abs = abs24;
        u->last_send = now;
        send = now;
        hand_over(u, now); /* nothing pending spans the two mappings */
        u->r_n = 0;        /* nor is a catch-up looked for across them */
    }
    catchup_check(u, send, bytes, now);
    u->last_arrival = now;
    u->st.packets++;
    if (u->n == PENDING)
        hand_over(u, now);
    cc_bwe_on_sent(u->b, u->seq, bytes, 0, send);
    u->p_seq[u->n] = u->seq;
    u->p_arrival[u->n] = now;
    u->n++;
    u->seq++;
}

void cc_upbwe_tick(cc_upbwe *u, cc_time_us now)
{
    if (!u)
        return;
    if (now - u->batch_at >= CC_UPBWE_BATCH_US)
        hand_over(u, now);
    cc_bwe_tick(u->b, now);
    cc_bwe_stats bs;
    cc_bwe_get_stats(u->b, &bs);
    if (bs.overuses != u->overuses) {
        u->overuses = bs.overuses;
        if (u->catchup_at && now - u->catchup_at <= CATCHUP_AFTER_US) {
            /* just after the sender's catch-up: its own delay still */
            u->st.discounted++;
            cc_bwe_own_queue(u->b, u->last_est, now + CATCHUP_BEFORE_US, now);
        } else {
            if (!u->pend_first) {
                u->pend_first = now;
                u->est_before = u->last_est;
            }
            u->pend_last = now;
            u->cap_from = now;
        }
    }
    if (u->catchup_new) {
        u->catchup_new = 0;
        if (u->pend_first && u->catchup_at - u->pend_first >= -CATCHUP_SPAN_US) {
            /* The over-uses since pend_first were the sender's own. */
            u->st.discounted++;
            u->cap_from = u->final_at;
            cc_bwe_own_queue(u->b, u->est_before, now + CATCHUP_BEFORE_US, now);
            u->pend_first = 0;
        }
    }
    if (u->pend_first && now - u->pend_last > CATCHUP_BEFORE_US) {
        u->final_at = u->pend_last;
        u->pend_first = 0;
    }
    u->last_est = cc_bwe_target_bps(u->b);
}

uint32_t cc_upbwe_cap_bps(const cc_upbwe *u, cc_time_us now)
{
    if (!u || !u->cap_from || now - u->cap_from > CC_UPBWE_HOLD_US)
        return 0;
    return cc_bwe_target_bps(u->b);
}

void cc_upbwe_get_stats(const cc_upbwe *u, cc_upbwe_stats *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof *s);
    if (!u)
        return;
    *s = u->st;
    cc_bwe_stats bs;
    cc_bwe_get_stats(u->b, &bs);
    s->estimate_bps = cc_bwe_target_bps(u->b);
    s->overuses = (uint32_t)bs.overuses;
}
