/* classcast: pacer core (leaky bucket). The idea is libwebrtc's paced
 * sender (send at a multiple of the target rate so that a frame leaves in
 * a fraction of the frame interval, never in one burst), with the budget
 * kept here as a leaky bucket of bit-microseconds and the packet queue left
 * to the caller. Hand-written: a few lines of arithmetic on the packet
 * path. */
#include "classcast/pacer.h"

#define UNITS_PER_BYTE 8000000LL /* 8 bits x 1e6 */

static int64_t cap_units(const cc_pacer *p)
{
    int64_t cap = (int64_t)p->rate_bps * p->burst_us;
    int64_t min = CC_PACER_MIN_BURST_BYTES * UNITS_PER_BYTE;
    return cap > min ? cap : min;
}

/* Credit the time since p->last at the current rate, up to the burst cap. */
static void refill(cc_pacer *p, cc_time_us now)
{
    if (now <= p->last)
        return; /* time does not run backwards here */
    cc_time_us dt = now - p->last;
    int64_t cap = cap_units(p);
    /* Bounded: two seconds at 10 Gbit/s are 2e16, well inside int64, and
     * refill even the largest debt (cc_pacer_on_sent) past the cap. */
    if (dt > 2 * CC_USEC_PER_SEC)
        dt = 2 * CC_USEC_PER_SEC;
    int64_t add = (int64_t)p->rate_bps * dt;
    if (p->budget < cap)
        p->budget = (cap - p->budget < add) ? cap : p->budget + add;
    p->last = now;
}

void cc_pacer_init(cc_pacer *p, uint64_t rate_bps, cc_time_us burst_us,
                   cc_time_us now)
{
    *p = (cc_pacer){0};
    if (rate_bps > 10000000000ull)
        rate_bps = 10000000000ull;
    p->rate_bps = rate_bps;
    p->burst_us = burst_us > 0 ? burst_us : CC_PACER_DEFAULT_BURST;
    if (p->burst_us > CC_USEC_PER_SEC)
        p->burst_us = CC_USEC_PER_SEC;
    p->last = now;
    p->budget = cap_units(p);
}

void cc_pacer_set_rate(cc_pacer *p, uint64_t rate_bps, cc_time_us now)
{
    refill(p, now);
    if (rate_bps > 10000000000ull)
        rate_bps = 10000000000ull;
    p->rate_bps = rate_bps;
    int64_t cap = cap_units(p);
    if (p->budget > cap)
        p->budget = cap;
}

int64_t cc_pacer_budget(cc_pacer *p, cc_time_us now)
{
    refill(p, now);
    return p->budget / UNITS_PER_BYTE;
}

int cc_pacer_may_send(cc_pacer *p, cc_time_us now)
{
    refill(p, now);
    return p->rate_bps > 0 && p->budget > 0;
}

void cc_pacer_on_sent(cc_pacer *p, size_t bytes, cc_time_us now)
{
    refill(p, now);
    /* The debt is bounded too: a caller sending past the budget (audio is
     * usually not held back) owes at most one second of the rate plus one
     * packet, so a later rate change cannot stall it for long. */
    int64_t floor = -(int64_t)p->rate_bps * CC_USEC_PER_SEC -
                    (int64_t)CC_PACER_MIN_BURST_BYTES * UNITS_PER_BYTE;
    int64_t take = (int64_t)(bytes > (1u << 20) ? (1u << 20) : bytes) *
                   UNITS_PER_BYTE;
    p->budget = (p->budget - take < floor) ? floor : p->budget - take;
    p->sent_bytes += bytes;
    p->sent_packets++;
}

cc_time_us cc_pacer_next_send(const cc_pacer *p, cc_time_us now)
{
    if (p->rate_bps == 0)
        return CC_TIME_NEVER;
    cc_time_us from = now > p->last ? now : p->last;
    int64_t b = p->budget;
    if (now > p->last) {
        cc_time_us dt = now - p->last;
        if (dt > 2 * CC_USEC_PER_SEC)
            dt = 2 * CC_USEC_PER_SEC;
        b += (int64_t)p->rate_bps * dt;
    }
    if (b > 0)
        return from;
    /* The first microsecond at which the budget is positive again. */
    int64_t need = -b + 1;
    return from + (need + (int64_t)p->rate_bps - 1) / (int64_t)p->rate_bps;
}
