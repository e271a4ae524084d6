/* classcast: a receive-side estimate of a publisher's uplink, for the
 * REMB the SFU sends it (draft-alvestrand-rmcat-remb).
 *
 * A publishing browser runs its own send-side estimate from the SFU's
 * transport-cc feedback. Behind a token-bucket shaper (tc tbf, a
 * policer, many school routers) that estimate overshoots: its probes pass
 * the bucket at line rate and it reads 1.5-4 times the link now and then,
 * sends at that for a moment, and a queue builds in front of the shaper
 * that every student then sees as latency (docs/bwe.md). This module
 * runs classcast's own estimator (cc_bwe, which reads a bucket's bursts
 * as what they are: see its sustained rate) on what the SFU receives:
 * the send time each packet carries in its abs-send-time header
 * extension (the 24-bit 6.18 fixed-point seconds of
 * http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time) against its
 * arrival time. The result caps the browser's estimate through REMB.
 *
 * Before the uplink has shown a limit (an over-use, the delay growing)
 * the cap is 0: no REMB limit, so a teacher on a good link is never held
 * back by an estimate that has not seen the link yet. A limit not seen
 * again for CC_UPBWE_HOLD_US releases the cap: while capped the browser
 * sends no more than the cap, often less (its encoders need less), and
 * the estimate, which grows only to 1.5 x what arrives, crept up by
 * 5-10 kbit/s a second, so a teacher whose uplink recovered was held near
 * the old limit for minutes (scripts/bench/links: case 3 ran at a 1 Mbit/s
 * cap set in case 2). Released, the browser's own estimate leads again;
 * if the link is still short, the next over-use caps it again within
 * half a second.
 *
 * Pure: no I/O, explicit `now`, memory allocated once by cc_upbwe_new.
 * Thread: the owner's (the SFU worker of the publisher). */
#ifndef CLASSCAST_UPBWE_H
#define CLASSCAST_UPBWE_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"

typedef struct cc_upbwe cc_upbwe;

/* Arrivals batched for the estimator, as feedback would be. */
#define CC_UPBWE_BATCH_US (50 * CC_USEC_PER_MSEC)
#define CC_UPBWE_HOLD_US (20 * CC_USEC_PER_SEC)

cc_upbwe *cc_upbwe_new(uint32_t start_bps, uint32_t max_bps, cc_time_us now);
void cc_upbwe_free(cc_upbwe *u);

/* A packet of `bytes` (UDP payload) arrived at `now` with abs-send-time
 * value `abs24` (only its low 24 bits count). */
void cc_upbwe_on_packet(cc_upbwe *u, uint32_t abs24, size_t bytes, cc_time_us now);

/* Hands the arrivals of the last CC_UPBWE_BATCH_US to the estimator and
 * runs its timers; call at least every 10-50 ms. */
void cc_upbwe_tick(cc_upbwe *u, cc_time_us now);

/* The cap for the publisher's REMB in bit/s; 0 until the uplink has shown
 * a limit, and again once it has not for CC_UPBWE_HOLD_US. An over-use
 * that a catch-up burst shows was the sender's own delay (its network
 * thread starved of CPU, then sending its backlog at once; upbwe.c)
 * sets none, or releases the one it set within a second. */
uint32_t cc_upbwe_cap_bps(const cc_upbwe *u, cc_time_us now);

typedef struct cc_upbwe_stats {
    uint64_t packets;      /* with abs-send-time */
    uint64_t rebased;      /* send-time mapping restarted (gap, jump) */
    uint32_t estimate_bps; /* the estimator's target, limit or not */
    uint32_t overuses;
    uint32_t catchups;     /* bursts that ended a delay of the sender's own */
    uint32_t discounted;   /* over-use episodes set aside for one */
} cc_upbwe_stats;
void cc_upbwe_get_stats(const cc_upbwe *u, cc_upbwe_stats *s);

#endif
