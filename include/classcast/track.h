/* classcast: one stream a publisher sends to the SFU (a "source"): a ring of
 * recent packets for answering subscribers' NACKs, receive statistics for
 * the receiver reports classcast sends back (RFC 3550 appendix A.1, A.3,
 * A.8), the last sender report (for LSR/DLSR and A/V sync), loss tracking
 * towards the publisher (cc_nack) and the keyframe-request throttle.
 * Pure apart from cc_pkt refcounting: explicit `now`, no I/O, no malloc.
 * Thread: the worker that owns the room. */
#ifndef CLASSCAST_TRACK_H
#define CLASSCAST_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"
#include "classcast/nack.h"
#include "classcast/ratemeter.h"
#include "classcast/pkt.h"
#include "classcast/rtcp.h"

/* Packets kept per video track at most: ~2 s of 30 fps video at ~8
 * packets per frame, or a large screen-share keyframe with room to spare.
 * A power of two so the slot is seq & (size - 1). The owner may keep fewer
 * (cache_quota: a share of its memory cap) and drops packets older than it
 * needs (cc_track_cache_expire). */
#define CC_TRACK_CACHE 512

typedef struct cc_track_rx {
    int started;
    uint16_t max_seq;
    uint32_t cycles;          /* shifted count of seq wraps (A.1) */
    uint32_t base_seq;
    uint64_t received;
    uint32_t expected_prior;
    uint64_t received_prior;
    int64_t last_transit;     /* in RTP units, A.8 */
    int have_transit;
    uint32_t jitter_q4;       /* jitter * 16 (A.8 fixed point) */
    uint64_t bytes;
} cc_track_rx;

typedef struct cc_track {
    uint32_t id;              /* unique source id (never reused by the sfu) */
    uint32_t ssrc;            /* publisher's SSRC, 0 until known */
    int slot;                 /* cc_slot */
    int video;
    int clock_rate;
    int nack_enabled;         /* the publisher accepted "nack" feedback */
    /* Keyframe requests (cc_track_kf_*). */
    cc_time_us last_pli;      /* when the last one went out */
    int kf_pending;           /* it went out and no keyframe came since */
    int kf_wanted;            /* a subscriber waits for a keyframe */
    cc_time_us last_keyframe; /* first packet of the last keyframe */
    /* The last keyframe's first packet (cc_track_kf_seen_seq): the cache
     * keeps it and every packet after it past the age limit (within the
     * quota), so a new subscriber can start on it at once. */
    int kf_known;
    uint16_t kf_seq;
    /* Size of the last keyframe (cc_track_on_frame_bytes): RTP bytes of
     * every packet with its timestamp, 0 until one has ended. */
    uint32_t kf_bytes;
    uint32_t kf_acc;          /* the keyframe being counted */
    uint32_t kf_acc_ts;
    int kf_open;
    cc_time_us last_rx;
    cc_time_us last_media_rx; /* last packet with a payload (padding-only
                               * ones are a sender's bandwidth probes, not
                               * a sign that the stream flows) */
    cc_time_us resumed_at;    /* first such packet after a silence the
                               * caller judged a stop (0: none yet) */
    cc_track_rx rx;
    cc_nack nack;
    /* Bitrate per temporal layer (cc_track_on_layer), for the layer
     * allocation of subscribers with a bandwidth estimate. */
    cc_ratemeter rate;
    /* Last SR from the publisher (RFC 3550 6.4.1). */
    int have_sr;
    uint32_t sr_lsr;          /* middle 32 bits of its NTP timestamp */
    cc_time_us sr_at;         /* our monotonic time when it arrived */
    cc_time_us sr_unix_us;    /* its NTP time, as Unix microseconds */
    uint32_t sr_rtp;
    /* NACK cache: ring indexed by seq, and the seqs in the order they were
     * put (the oldest goes first when the track is over its quota). */
    cc_pkt *cache[CC_TRACK_CACHE];
    uint16_t fifo[CC_TRACK_CACHE];
    uint16_t fifo_head, fifo_n;
    uint16_t cache_n;         /* packets held */
    uint16_t cache_quota;     /* at most this many (1..CC_TRACK_CACHE) */
} cc_track;

void cc_track_init(cc_track *t, uint32_t id, int slot, int video,
                   int clock_rate);
/* Release every cached packet. */
void cc_track_clear(cc_track *t);

/* Keep p (the track takes the caller's reference) as packet `seq`; an older
 * packet in the same ring slot is released, and the oldest packets while
 * the track holds cache_quota of them. A seq already held keeps its first
 * copy (p is released). */
void cc_track_cache_put(cc_track *t, uint16_t seq, cc_pkt *p);
/* Release the packets that arrived (cc_pkt.time) before now - max_age,
 * but not the last keyframe and what came after it (cc_track_kf_seen_seq). */
void cc_track_cache_expire(cc_track *t, cc_time_us now, cc_time_us max_age);
/* Take the oldest held packet out of the cache to reuse its buffer: it is
 * returned (the caller's reference) if nobody else holds it, else released
 * and NULL. NULL when the cache is empty. */
cc_pkt *cc_track_cache_take_oldest(cc_track *t);
/* Set the quota (clamped to 1..CC_TRACK_CACHE); a lower one takes effect at
 * the next put. */
void cc_track_cache_set_quota(cc_track *t, unsigned quota);
/* The cached packet with this seq (borrowed: valid until the next put), or
 * NULL. The packet's RTP header is checked, so a slot reused by a newer seq
 * is a miss. */
cc_pkt *cc_track_cache_get(const cc_track *t, uint16_t seq);

/* Receive statistics for one packet (RFC 3550 A.1 sequence, A.8 jitter). */
void cc_track_on_rtp(cc_track *t, uint16_t seq, uint32_t rtp_ts, size_t bytes,
                     cc_time_us now);
/* A sender report from the publisher for this track. */
/* One packet of `bytes` (RTP, header included) of temporal layer tid (0
 * without layers); frame_start: the first packet of a picture. */
static inline void cc_track_on_layer(cc_track *t, int tid, size_t bytes, int frame_start,
                                     cc_time_us now)
{
    cc_ratemeter_on_packet(&t->rate, tid, bytes, frame_start, now);
}
/* One video packet of `bytes` (RTP, header included) for the keyframe
 * size: kf_first for the first packet of a keyframe, marker for the RTP
 * marker bit (the last packet of a picture). A keyframe's size is known at
 * its marker, or when a packet of a later picture arrives (its last packet
 * lost: the size counted so far). Packets that arrive late or repeated
 * count too; sizes are for choosing layers, not exact. Returns the
 * keyframe's size when this packet is its last (its marker), else 0. */
uint32_t cc_track_on_frame_bytes(cc_track *t, uint32_t rtp_ts, size_t bytes, int kf_first,
                                 int marker);
void cc_track_on_sr(cc_track *t, uint64_t ntp, uint32_t rtp_ts, cc_time_us now);
/* A report block about this track for our RR (RFC 3550 A.3 loss fraction,
 * cumulative loss, extended highest seq, jitter, LSR/DLSR). Advances the
 * "prior" counters: call once per report. 0, or CC_EAGAIN if nothing was
 * received yet. */
int cc_track_report(cc_track *t, cc_time_us now, cc_rtcp_report_block *out);

/* Keyframe-request throttle: 1 (and the time is taken) if a PLI may be sent
 * now, i.e. none in the last `min_gap`. */
int cc_track_pli_allowed(cc_track *t, cc_time_us now, cc_time_us min_gap);

/* Keyframe requests to the publisher, coalesced: subscribers that start to
 * wait within min_gap of one request get the keyframe it brings, so a
 * class joining at the bell costs a few keyframes, not one each.
 * cc_track_kf_want: a subscriber waits for a keyframe. 1: send a request
 * now (the time is taken). 0: not now, either because one is in flight
 * (sent less than min_gap ago, no keyframe since: that keyframe serves
 * this wait too) or because the last one was answered less than min_gap
 * ago; the wait is remembered and cc_track_kf_due says when the request
 * is due, so it goes out at last + min_gap even if no packet comes (a
 * still screen sends none). A request that brought no keyframe within
 * min_gap is sent again.
 * cc_track_kf_seen: the first packet of a keyframe arrived (every waiting
 * subscriber starts on it, so the remembered wait is cleared). */
int cc_track_kf_want(cc_track *t, cc_time_us now, cc_time_us min_gap);
int cc_track_kf_due(cc_track *t, cc_time_us now, cc_time_us min_gap);
void cc_track_kf_seen(cc_track *t, cc_time_us now);
/* The keyframe whose first packet is `seq` arrived (cc_track_kf_seen and
 * the chain the cache keeps from it). */
void cc_track_kf_seen_seq(cc_track *t, uint16_t seq, cc_time_us now);
/* Number of packets from the last keyframe's first packet to the newest
 * received, all of them in the cache (so they can be replayed in order),
 * or 0 if there is no such complete chain. */
unsigned cc_track_kf_chain(const cc_track *t);

/* t (a simulcast encoding) has sent nothing for `silent` while `lower`
 * (an encoding of the same source beneath it) has sent since and within
 * `silent`, at min_fps pictures a second or more (all its temporal
 * layers): the sender left t out, as a browser does with its top
 * encodings when its uplink estimate falls. A still picture or a burst
 * the sender's pacer holds back silences every encoding alike. */
int cc_track_stopped_beside(const cc_track *t, const cc_track *lower, cc_time_us silent,
                            double min_fps, cc_time_us now);

/* NTP (RFC 3550 section 4) to Unix microseconds. */
cc_time_us cc_track_ntp_to_unix_us(uint64_t ntp);

#endif
