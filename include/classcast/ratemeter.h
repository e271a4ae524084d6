/* classcast: the bitrate of each temporal layer of one incoming video
 * stream (one simulcast encoding of a publisher's track), for layer
 * allocation (cc_alloc): what would a subscriber receive if it got
 * temporal layers 0..max_tid of this stream?
 *
 * A sliding window of CC_RATEMETER_BUCKETS buckets of
 * CC_RATEMETER_BUCKET_US (10 x 100 ms): the rate is what arrived in the
 * current bucket and the 9 before it, over the time they cover (from the
 * first packet, if the stream started less than a window ago). A stream
 * that stops therefore reads 0 at most 1 s after its last packet. The VP8
 * temporal layer id (RFC 7741 section 4.2, TID) of each packet is counted
 * separately; a stream without TID marking is all layer 0, so its rate is
 * the same for every max_tid.
 *
 * Per packet: one compare, a few adds, no division (the bucket turns over
 * once per 100 ms). Counts are 64-bit. Embedded, no malloc, no I/O,
 * explicit clock. Thread: the owner's (the room's worker). */
#ifndef CLASSCAST_RATEMETER_H
#define CLASSCAST_RATEMETER_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"

#define CC_RATEMETER_TIDS 3
#define CC_RATEMETER_BUCKETS 10
#define CC_RATEMETER_BUCKET_US (100 * CC_USEC_PER_MSEC)

typedef struct cc_ratemeter {
    int started;              /* a packet was seen */
    unsigned cur;             /* slot of the current bucket */
    int64_t cur_idx;          /* its number: start time / BUCKET_US */
    cc_time_us cur_end;       /* first time after the current bucket */
    cc_time_us since;         /* first packet after init or a silence of a
                               * whole window: the measured span starts here */
    int64_t idx[CC_RATEMETER_BUCKETS];   /* bucket number held by each slot */
    uint64_t bytes[CC_RATEMETER_BUCKETS][CC_RATEMETER_TIDS];
    uint32_t frames[CC_RATEMETER_BUCKETS][CC_RATEMETER_TIDS];
    /* Since init. */
    uint64_t total_bytes[CC_RATEMETER_TIDS];
    uint64_t total_packets;
} cc_ratemeter;

void cc_ratemeter_init(cc_ratemeter *m);

/* One packet of `bytes` (what the caller counts: RTP packet or payload)
 * of temporal layer `tid` (0..2; negative, i.e. no TID marking, counts as
 * 0; above 2 as 2). frame_start: 1 on the first packet of a picture (for
 * the frame rate), else 0. */
void cc_ratemeter_on_packet(cc_ratemeter *m, int tid, size_t bytes,
                            int frame_start, cc_time_us now);

/* Bitrate in bit/s of temporal layers 0..max_tid together over the last
 * window (max_tid above 2: all layers; negative: 0). Saturates at
 * UINT32_MAX. */
uint32_t cc_ratemeter_bps(const cc_ratemeter *m, int max_tid, cc_time_us now);

/* The three cumulative rates at once: bps[t] = cc_ratemeter_bps(m, t, now). */
void cc_ratemeter_rates(const cc_ratemeter *m, cc_time_us now,
                        uint32_t bps[CC_RATEMETER_TIDS]);

/* Pictures per second of layers 0..max_tid over the same window (counts
 * the packets marked frame_start). */
double cc_ratemeter_fps(const cc_ratemeter *m, int max_tid, cc_time_us now);

#endif
