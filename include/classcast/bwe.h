/* classcast: send-side bandwidth estimation for one transport (a
 * subscriber's RTCPeerConnection), in the manner of Google Congestion
 * Control (draft-ietf-rmcat-gcc-02) driven by transport-wide feedback
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01, src/rtp/twcc.c):
 *  - delay-based: packets grouped by 5 ms of send time, the growth of the
 *    one-way delay between groups smoothed and fitted with a trend line,
 *    an adaptive threshold, and an over-use / normal / under-use signal
 *    driving an AIMD rate controller (gcc-02 sections 5.2-5.5);
 *  - loss-based: over 10 % loss cuts, under 2 % grows (section 6);
 *  - start-up probing (libwebrtc's, not in the draft): bursts at 3x and
 *    6x the start rate measure the path within a second instead of
 *    growing 8 % a second from the start rate;
 *  - REMB (draft-alvestrand-rmcat-remb) as a cap, or as the estimate
 *    itself for a peer that never sends transport-cc feedback.
 * Output: the target bitrate (what the subscriber's streams may use, for
 * layer selection), the acked bitrate (what the receiver got) and the
 * pacing rate (for cc_pacer, include/classcast/pacer.h).
 * Pure: no I/O, explicit `now`; memory is allocated once by cc_bwe_new.
 * Thread: the owner's (the SFU worker of the peer). docs/bwe.md explains
 * the equations, constants and where the worker calls what. */
#ifndef CLASSCAST_BWE_H
#define CLASSCAST_BWE_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"
#include "classcast/twcc.h"

typedef struct cc_bwe cc_bwe;

/* Pacing rate = target x 2.5 (libwebrtc's pacing factor): a frame leaves in
 * 40 % of its interval. */
#define CC_BWE_PACING_FACTOR 2.5
/* Sent packets remembered for matching feedback (power of two): 2 s at
 * 2.5 Mbit/s with 1200-byte packets, 1 s at the 5 Mbit/s default ceiling,
 * against feedback every 50-100 ms; 34 bytes each, 17 KiB a subscriber. */
#define CC_BWE_DEFAULT_HISTORY 512

typedef struct cc_bwe_config {
    uint32_t min_bps;    /* floor of the target; 0: 50 kbit/s */
    uint32_t max_bps;    /* ceiling; 0: 5 Mbit/s */
    uint32_t start_bps;  /* before any feedback; 0: 300 kbit/s */
    int no_probe;        /* 1: no start-up probing */
    unsigned history;    /* sent packets remembered; 0: default; rounded
                            up to a power of two, 64..32768 */
} cc_bwe_config;

/* Detector signal (gcc-02 section 5.4). */
enum { CC_BWE_NORMAL = 0, CC_BWE_OVERUSE = 1, CC_BWE_UNDERUSE = 2 };
/* Rate controller state (section 5.5). */
enum { CC_BWE_HOLD = 0, CC_BWE_INCREASE = 1, CC_BWE_DECREASE = 2 };

typedef struct cc_bwe_stats {
    uint32_t target_bps;
    uint32_t delay_bps;      /* delay-based estimate (AIMD) */
    uint32_t loss_bps;       /* loss-based estimate */
    uint32_t acked_bps;      /* 0 until known */
    uint64_t remb_bps;       /* 0 if none */
    cc_time_us rtt;          /* 0 until known */
    int signal;              /* CC_BWE_NORMAL/OVERUSE/UNDERUSE */
    int rate_state;          /* CC_BWE_HOLD/INCREASE/DECREASE */
    double trend;            /* modified trend (ms), compared with: */
    double threshold;        /* the adaptive threshold (ms) */
    double loss;             /* last loss fraction, 0..1 */
    cc_time_us queue_delay;  /* standing queueing delay estimate (the least
                                of the last 200 ms; 0 until known) */
    uint64_t feedbacks;      /* feedback packets used */
    uint64_t acked;          /* packets reported received */
    uint64_t lost;           /* packets reported lost */
    uint64_t unknown;        /* reported numbers not (or no longer) in the
                                history, or reported twice */
    uint64_t overuses;       /* over-use signals acted on (decreases) */
    uint64_t standing;       /* of which a standing queue over 200 ms
                                (the trend line saw none) */
    uint64_t rebased;        /* such a "queue" did not drain: the path got
                                longer, its delay became the new minimum */
    uint64_t probes;         /* probe results applied */
    uint64_t probes_capped;  /* of them, lifted less than they read (PROBE_MAX_GROWTH) */
    uint64_t timeouts;       /* cuts for lack of feedback */
} cc_bwe_stats;

/* A probe cluster the sender should send now: packets (padding or
 * retransmissions) registered with cc_bwe_on_sent(..., id), paced at bps,
 * until at least min_bytes and min_packets have left. */
typedef struct cc_bwe_probe {
    int id;              /* > 0 */
    uint32_t bps;
    size_t min_bytes;
    int min_packets;
} cc_bwe_probe;

void cc_bwe_config_default(cc_bwe_config *c);
/* NULL on allocation failure or a bad config (min > max). */
cc_bwe *cc_bwe_new(const cc_bwe_config *cfg, cc_time_us now);
void cc_bwe_free(cc_bwe *b);

/* A packet carrying transport-wide sequence number seq left at `now`;
 * bytes = its size on the wire (what the bottleneck carries: RTP with
 * SRTP's tag; UDP/IP headers may be added, consistently). probe_id: the
 * cc_bwe_probe id it belongs to, or 0. */
void cc_bwe_on_sent(cc_bwe *b, uint16_t seq, size_t bytes, int probe_id,
                    cc_time_us now);

/* One feedback packet, as cc_twcc_parse expanded it. Entries for unknown
 * numbers are counted and skipped. Returns 0 or CC_EINVAL. */
int cc_bwe_on_feedback(cc_bwe *b, const cc_twcc_feedback *fb,
                       const cc_twcc_pkt *pkts, size_t n, cc_time_us now);

/* REMB from the peer (cc_rtcp_parse_remb): a cap on the target, or the
 * target itself while no transport-cc feedback has been seen. */
void cc_bwe_on_remb(cc_bwe *b, uint64_t bps, cc_time_us now);

/* Round-trip time measured elsewhere (RTCP SR/RR, RFC 3550 6.4.1); the
 * estimator also measures its own from feedback. */
void cc_bwe_on_rtt(cc_bwe *b, cc_time_us rtt, cc_time_us now);

/* Call at least every 100 ms: without any feedback for a second while
 * sending, the target is cut to 0.8 x every second (the path may be gone;
 * libwebrtc does the same). */
void cc_bwe_tick(cc_bwe *b, cc_time_us now);

/* 1 with *p filled if a probe cluster should be sent now, else 0. */
int cc_bwe_probe_poll(cc_bwe *b, cc_time_us now, cc_bwe_probe *p);

/* The sender would use up to bps if the path carried it (an application-
 * limited sender, e.g. an SFU holding a subscriber below its best
 * layers): queue one probe cluster at bps (clamped to the configured
 * range), unless a cluster is already queued or in flight. 1 if queued. */
int cc_bwe_probe_request(cc_bwe *b, uint32_t bps, cc_time_us now);

/* The delay that made the last decreases, or that the next ones will
 * see, comes from a queue of the sender's own making that ends by itself:
 * packets beyond its media that it has stopped sending (padding to find
 * out whether the link carries more), or a keyframe's burst on a link its
 * media fills (sfu_feedback.c). The estimate goes back up to floor_bps if
 * it was cut under it, and until `until` (while that queue drains) no
 * decrease takes it lower. The caller passes what the link is known to
 * carry (at most what the estimate was before). A floor in force that is
 * as high and lasts as long is kept. */
void cc_bwe_own_queue(cc_bwe *b, uint32_t floor_bps, cc_time_us until, cc_time_us now);

uint32_t cc_bwe_target_bps(const cc_bwe *b);
/* What the path carried when it showed its limit: the most of the
 * received rates at the over-uses of the last 60 s that were not the
 * sender's own doing (or a higher rate held for a second since); 0 if
 * none in that time. The
 * estimate may be above it (it grows while the sender sends less), a
 * caller about to send a burst it cannot take back may keep under it. */
uint32_t cc_bwe_capacity_bps(const cc_bwe *b, cc_time_us now);
/* What the path has shown it carries: the most that arrived over a
 * second in the last 60 s, whatever held the sender; 0 if nothing has
 * for a second yet. A lower bound of the capacity, known before any
 * over-use. */
uint32_t cc_bwe_shown_bps(const cc_bwe *b, cc_time_us now);
/* Rate the receiver reported receiving over the last 250 ms; 0 unknown. */
uint32_t cc_bwe_acked_bps(const cc_bwe *b);
/* Rate for cc_pacer: CC_BWE_PACING_FACTOR x target. */
uint32_t cc_bwe_pacing_bps(const cc_bwe *b);
void cc_bwe_get_stats(const cc_bwe *b, cc_bwe_stats *s);

#endif
