/* classcast: pacer core, a leaky bucket of send budget per subscriber.
 * The bucket fills at the pacing rate (cc_bwe_pacing_bps: 2.5 x the target
 * bitrate) up to a burst allowance (default 5 ms of the rate, at least one
 * full packet), and a packet may leave whenever the budget is positive; its
 * size is then taken off, so the budget can go below zero by up to one
 * packet and the next one waits until it has refilled. A keyframe of 60
 * packets handed over at once thus leaves spread over 60 x 1200 x 8 / rate
 * seconds instead of one burst that overflows a classroom access point's
 * queue. The queue of packets itself belongs to the caller (the worker
 * keeps references to the packets it holds back).
 * Pure: explicit clock, no I/O, no allocation. Thread: the owner's. */
#ifndef CLASSCAST_PACER_H
#define CLASSCAST_PACER_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"

#define CC_PACER_DEFAULT_BURST (5 * CC_USEC_PER_MSEC)
/* The burst allowance never drops below one packet of this size, so at low
 * rates a full-size packet can still go as soon as the budget allows. */
#define CC_PACER_MIN_BURST_BYTES 1500

typedef struct cc_pacer {
    uint64_t rate_bps;
    cc_time_us burst_us;
    cc_time_us last;     /* budget computed up to this time */
    /* Budget in bit-microseconds (bits x 1e6), so rate x elapsed adds up
     * exactly; one byte is 8e6 units. */
    int64_t budget;
    uint64_t sent_bytes;
    uint64_t sent_packets;
} cc_pacer;

/* rate_bps 0 stops sending until a rate is set; burst_us <= 0 gives
 * CC_PACER_DEFAULT_BURST. The bucket starts full. */
void cc_pacer_init(cc_pacer *p, uint64_t rate_bps, cc_time_us burst_us,
                   cc_time_us now);
/* A new rate from `now` on (time before it is credited at the old one). */
void cc_pacer_set_rate(cc_pacer *p, uint64_t rate_bps, cc_time_us now);
/* Bytes that may still leave at `now` (negative: owed). */
int64_t cc_pacer_budget(cc_pacer *p, cc_time_us now);
/* 1 if a packet may leave now (the budget is positive). */
int cc_pacer_may_send(cc_pacer *p, cc_time_us now);
/* A packet of `bytes` left at `now`. */
void cc_pacer_on_sent(cc_pacer *p, size_t bytes, cc_time_us now);
/* The earliest time at or after `now` when a packet may leave (now if it
 * may already; CC_TIME_NEVER at rate 0): the worker's deadline. */
cc_time_us cc_pacer_next_send(const cc_pacer *p, cc_time_us now);

#endif
