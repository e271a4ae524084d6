/* classcast: which layers of each stream one subscriber gets, from its
 * bandwidth estimate (cc_bwe_target_bps) and the layer rates measured on
 * the publishers' streams (cc_ratemeter): "the screen first".
 *
 * Why. Students watch on crowded classroom Wi-Fi, where a tablet's share
 * of the air can be a few hundred kbit/s. What the lesson needs most is
 * the teacher's voice and screen; a screen is mostly text, and blurred
 * text is useless, while a jerky but sharp slide still teaches. The
 * teacher's camera is welcome but comes last. So, in this order:
 *  1. Audio gets its rate first and is never paused.
 *  2. Every screen gets its cheapest option (lowest spatial layer,
 *     temporal layer 0), and keeps it even if nothing fits (a student
 *     must keep seeing the board): a screen is never paused.
 *  3. Screens upgrade, resolution first: of the options that fit, the one
 *     with the highest spatial layer, then the highest temporal layer
 *     ("full resolution at a lower frame rate before it loses
 *     resolution"), even where a lower-resolution, higher-frame-rate
 *     option would cost more. Except a picture that hardly moves: a
 *     thinned option of a higher layer whose measured frame rate (fps)
 *     is under CC_ALLOC_SCREEN_MIN_FPS, while its layer sends at least
 *     twice that or the layer below sends at least that, and the layer
 *     below sends more than it, ranks below
 *     that lower layer's best option. A browser's screen encoder spaces
 *     its base layer's pictures unevenly (a full-size 15 frames/s screen's
 *     TL0 measured 1.7 frames/s, up to 1.4 s apart), and the student's
 *     player counts each such gap as a freeze.
 *  4. Each camera gets its cheapest option from what the screens left,
 *     or is paused: when a link cannot carry everything, the camera's
 *     layers go before any of the screen's. One exception keeps a shown
 *     camera from flapping: a screen steps up only by what the floors of
 *     the cameras that are on leave (it never steps down for them), so
 *     a camera is paused when the target falls, not when the screen
 *     climbs; unless the screen's option is sparse (under
 *     CC_ALLOC_SCREEN_MIN_FPS): then it steps up into those floors too (a
 *     300 kbit/s student kept its camera at 5 frames/s while its screen
 *     stayed at 1.3 frames/s, pictures up to 1.6 s apart). Measured why: with cameras first, a 300 kbit/s student
 *     kept the camera's TL0 (76 kbit/s) and got the screen at 1.8
 *     frames/s with gaps of 1.4 s (scripts/bench/links).
 *  5. Cameras upgrade, only once every screen is at its best option
 *     (cfg.camera_after_screen; 0 lets cameras use what the screens cannot),
 *     along their options ordered by bitrate. A camera already above its
 *     cheapest option keeps it while it fits (no flapping, each spatial
 *     switch costs a keyframe), and steps up to another spatial layer only
 *     for CC_ALLOC_SPATIAL_GAIN (25 %) more bits and as many pictures a
 *     second (CC_ALLOC_FEWER_FPS); short of that, to the best option of
 *     its current one.
 * Within a kind, streams earlier in the caller's array come first.
 *
 * Hysteresis. A stream goes down, at once, to the best option that fits
 * when what it and the streams before it take exceeds the target; it goes
 * up only when the target exceeds that total by cfg.up_margin (15 %), and
 * not for a hold after it went down (a paused camera: not resumed). The
 * hold is cfg.hold_us (2 s); when a stream comes down again within
 * cfg.hold_us of going up (the step up did not hold: the estimate that
 * allowed it was a moment's), the hold doubles, up to
 * CC_ALLOC_HOLD_MAX_US (16 s), and a down after a step up that held
 * brings it back to cfg.hold_us. A pause counts as such a failed step
 * when it comes within CC_ALLOC_PAUSE_FAILED_US (10 s) of the resume:
 * each resume asks the teacher for a keyframe, which a browser sends in
 * every simulcast encoding and so to every student (a 300 kbit/s student
 * whose camera paused and resumed 3 times in 10 s, 3-5 s apart, gave
 * the others 6 camera keyframes where they had 1 without it). Requiring
 * room for the floor twice to resume was tried instead: the 1 Mbit/s
 * student, once paused, never got its camera back (scripts/bench/links).
 * Each step to another spatial layer costs
 * a keyframe, a stall for the student until it arrives, and a burst on a
 * link that could not carry the step: a lossy link whose estimate swings
 * should not pay that every 2 s. A stream new to the allocator starts as
 * if going up. Each stream's state follows its `id`.
 *
 * Rates. bps[t] of a spatial layer is cumulative over temporal layers
 * 0..t (cc_ratemeter_bps(m, t, now) of that encoding). 0 means unknown: an
 * available layer is then estimated from its neighbours (temporal caps 0,
 * 1, 2 as 40/60/100 % of each other; a lower spatial layer as its share of
 * the pixels of the nearest known one, or 1/4 per step without sizes; a
 * stream with no rate at all from its size), so a stream that has just
 * started is still allocated.
 *
 * Keyframes. A picture is only as good as its next keyframe's trip: on a
 * link of R bit/s a keyframe of K bytes takes 8K / R seconds, and a full-
 * size screen's keyframe of 100 KB takes 2.7 s at 300 kbit/s, a freeze
 * each time one is sent, with a queue before the link that overflows. So a
 * video option whose spatial layer's last keyframe (kf_bytes, 0 unknown)
 * would take longer than cfg.kf_max_us at the whole target is left out,
 * except the stream's lowest available layer: a screen or a camera then
 * takes a lower resolution, and the rates alone decide about the lowest.
 *
 * Target 0 (no estimate yet): every stream gets its best option. For a
 * camera that is the largest picture among its options within
 * CC_ALLOC_SPATIAL_GAIN of its top rate and with as many pictures a second
 * (CC_ALLOC_FEWER_FPS): encodings that send about the
 * same (a still picture) would otherwise trade the top of a ladder by
 * bitrate with every measurement, a keyframe each time.
 *
 * Pure: no I/O, no malloc, explicit clock. Thread: the subscriber's
 * worker. */
#ifndef CLASSCAST_ALLOC_H
#define CLASSCAST_ALLOC_H

#include <stdint.h>

#include "classcast/clock.h"

#define CC_ALLOC_MAX_STREAMS 16
#define CC_ALLOC_SPATIAL 3
#define CC_ALLOC_TEMPORAL 3
/* Defaults of cc_alloc_config. */
#define CC_ALLOC_UP_MARGIN 0.15
#define CC_ALLOC_HOLD_US (2 * CC_USEC_PER_SEC)
#define CC_ALLOC_HOLD_MAX_US (16 * CC_USEC_PER_SEC)
#define CC_ALLOC_PAUSE_FAILED_US (10 * CC_USEC_PER_SEC)
/* A camera steps up to another spatial layer only for this much more. */
#define CC_ALLOC_SPATIAL_GAIN 0.25
/* A camera option with under this share of another's measured pictures a
 * second has fewer (a temporal layer less halves them). */
#define CC_ALLOC_FEWER_FPS 0.75f
#define CC_ALLOC_KF_MAX_US (1 * CC_USEC_PER_SEC)
/* A screen option with fewer pictures a second than this is "sparse". */
#define CC_ALLOC_SCREEN_MIN_FPS 3.0
/* An audio stream whose rate is unknown (0). */
#define CC_ALLOC_AUDIO_DEFAULT_BPS 40000

enum { CC_ALLOC_AUDIO = 0, CC_ALLOC_SCREEN = 1, CC_ALLOC_CAMERA = 2 };

typedef struct cc_alloc_layer {
    uint16_t width, height;   /* 0: unknown */
    int available;            /* the publisher sends this layer now */
    uint32_t bps[CC_ALLOC_TEMPORAL]; /* cumulative over TID 0..t; 0 unknown */
    uint32_t kf_bytes;        /* its last keyframe's size; 0 unknown */
    float fps[CC_ALLOC_TEMPORAL]; /* pictures/s over TID 0..t; 0 unknown */
} cc_alloc_layer;

typedef struct cc_alloc_stream {
    uint32_t id;              /* the caller's name for it (slot, feed id) */
    int kind;                 /* CC_ALLOC_AUDIO / _SCREEN / _CAMERA */
    /* Video: layer[0] lowest resolution .. layer[n_spatial - 1] highest.
     * Audio: its rate is layer[0].bps[0] (0: CC_ALLOC_AUDIO_DEFAULT_BPS). */
    int n_spatial;            /* 0..CC_ALLOC_SPATIAL */
    cc_alloc_layer layer[CC_ALLOC_SPATIAL];
} cc_alloc_stream;

typedef struct cc_alloc_choice {
    int spatial;              /* 0..n_spatial - 1, or -1: paused */
    int temporal;             /* highest TID to send (cc_fwd_set_max_tid),
                               * -1 when paused */
    uint32_t bps;             /* the rate counted for it (maybe estimated) */
    int changed;              /* differs from the previous run's choice */
} cc_alloc_choice;

typedef struct cc_alloc_config {
    double up_margin;         /* CC_ALLOC_UP_MARGIN */
    cc_time_us hold_us;       /* CC_ALLOC_HOLD_US */
    int camera_after_screen;  /* 1 (default): see rule 4 */
    cc_time_us kf_max_us;     /* CC_ALLOC_KF_MAX_US; 0: keyframes not weighed */
} cc_alloc_config;

typedef struct cc_alloc_state {
    uint32_t id;
    int8_t spatial, temporal; /* last choice; spatial -1: paused */
    int have_down, have_up;
    cc_time_us last_down;     /* last time it went down */
    cc_time_us last_up;       /* last time it went up */
    cc_time_us hold;          /* the hold after last_down (0: cfg.hold_us) */
} cc_alloc_state;

typedef struct cc_alloc {
    cc_alloc_config cfg;      /* may be changed after init */
    /* Set by the caller before a run; 0: none. A step that costs a
     * keyframe (a paused camera resumed, a stream up to another spatial
     * layer) goes only to what also fits keyframe_cap_bps / (1 +
     * cfg.up_margin), with the layer's last keyframe (kf_bytes) counted
     * as a second of more rate: the rate its link carried when it last
     * showed its limit (cc_bwe_capacity_bps). An estimate climbs above that while
     * the subscriber is sent less than it (additive increase, capped only
     * at 1.5 x what arrives), and on a 1 Mbit/s link it reached 1.1-1.2
     * Mbit/s every few seconds; a step up taken on it, with its
     * keyframe's burst, over-used at once and came down 1-2 s later, a
     * stall for the student and a keyframe in every encoding of the
     * teacher's camera for every student (scripts/bench/links). Steps
     * within a layer (temporal) cost no keyframe: carried_bps, below,
     * bounds them. */
    uint32_t keyframe_cap_bps;
    /* Set by the caller before a run; 0: none. Any step up (a temporal
     * one too) goes only to what fits carried_bps, the most the link has
     * carried (its capacity, or what arrived over a second), with no
     * margin. Temporal steps once followed the estimate alone; but the
     * estimate grows to 1.5 x what arrives while the subscriber is sent
     * less, and a 300 kbit/s student's stood at 472-525 kbit/s (its
     * capacity 275-307) around the teacher's uplink's cut in each of 10
     * runs: as the teacher's encodings shrank its layers went up to
     * 341-476 kbit/s, and in 9 its round trip to 184-444 ms
     * (scripts/bench/links, case 2). A step held back by it alone is in cap_want_bps, so a
     * fill can show whether the link carries more. */
    uint32_t carried_bps;
    cc_alloc_state st[CC_ALLOC_MAX_STREAMS];
    int n;                    /* streams of the last run */
    /* Of the last run: */
    uint32_t target_bps;
    uint32_t total_bps;       /* the choices together */
    uint32_t full_bps;        /* every stream at its best option: above
                               * total_bps, what a probe would have to show
                               * (at least what carries the largest of their
                               * keyframes within kf_max_us) */
    int limited;              /* some stream is below its best option */
    uint32_t cap_want_bps;    /* a step up that the estimate allows is held
                               * back by keyframe_cap_bps or carried_bps
                               * alone: the least
                               * keyframe_cap_bps that lets the cheapest such
                               * step go; 0: none. What the link has shown it
                               * carries is all that holds it (the caller can
                               * fill the link to that rate to find out) */
    /* Since init. */
    uint64_t ups, downs;      /* choices that went up / down */
} cc_alloc;

void cc_alloc_init(cc_alloc *a);

/* Allocate target_bps (0: unknown) over in[0..n) (n <= CC_ALLOC_MAX_STREAMS,
 * ids distinct), writing out[0..n). Returns the number of streams whose
 * choice changed since the last run (a stream new to `a` counts), or
 * CC_EINVAL (bad n, kind, n_spatial or a repeated id; `a` unchanged).
 * Streams of the last run missing from `in` are forgotten. */
int cc_alloc_run(cc_alloc *a, uint32_t target_bps, const cc_alloc_stream *in,
                 int n, cc_alloc_choice *out, cc_time_us now);

/* The same with a band: streams go down to what fits target_bps and up
 * only to what fits up_bps / (1 + cfg.up_margin). up_bps is an estimate
 * that has held for a while (the caller's lowest of the last seconds),
 * target_bps one that need only have been seen lately (the highest): a
 * swinging estimate (probes through a shaper's burst, then the queue
 * behind it) then moves no layer either way. up_bps 0 or above
 * target_bps: target_bps, as cc_alloc_run. */
int cc_alloc_run_band(cc_alloc *a, uint32_t target_bps, uint32_t up_bps,
                      const cc_alloc_stream *in, int n, cc_alloc_choice *out,
                      cc_time_us now);

/* A cut the link does not bear out. A link whose layers fill it to 90-98 %
 * (a 1 Mbit/s tablet with the full-size screen and the small camera) sees
 * an over-use every few seconds from nothing but the frames' own
 * unevenness, and each cuts the estimate to 0.85 x what arrived; additive
 * increase takes 3-5 s to climb back, and the camera spends them at half
 * its frame rate. So when the estimate falls under what the allocation
 * sends, while the link has carried that over a second (shown_bps, with
 * CC_ALLOC_CUT_SLACK for the swing of what is sent), shows no queue
 * (queue_us <= CC_ALLOC_CUT_QUEUE) and little loss (<= CC_ALLOC_CUT_LOSS),
 * the allocation runs at what it sent (the most since, + CC_ALLOC_CUT_SLACK)
 * for at most CC_ALLOC_CUT_HOLD.
 * A link that really got slower queues at once: the hold ends there, and
 * the allocation follows the estimate. One hold per cut: the next begins
 * only once the estimate has come back to what is sent. */
#define CC_ALLOC_CUT_HOLD (4 * CC_USEC_PER_SEC)
#define CC_ALLOC_CUT_QUEUE (40 * CC_USEC_PER_MSEC)
#define CC_ALLOC_CUT_LOSS 0.02
#define CC_ALLOC_CUT_SLACK 0.05

typedef struct cc_alloc_cut {
    cc_time_us since;  /* the cut began then; 0: the estimate covers what is sent */
    uint32_t level;    /* the most sent since; 0: not held (or no longer) */
    uint64_t holds;    /* holds begun, since init (zeroed) */
} cc_alloc_cut;

/* The target to allocate at now: target_bps (0: unknown), or the held
 * level as above. sending_bps: what the last allocation sends
 * (cc_alloc.total_bps). */
uint32_t cc_alloc_cut_target(cc_alloc_cut *c, uint32_t target_bps, uint32_t sending_bps,
                             uint32_t shown_bps, cc_time_us queue_us, double loss,
                             cc_time_us now);

/* Filling a subscriber's link with padding (the SFU's sub_fill) to show
 * whether it carries a step the allocation holds back for what the link
 * has carried alone (cap_want_bps). What is known of the link: */
typedef struct cc_alloc_link {
    uint32_t want_bps;       /* the held step's total (cap_want_bps) */
    uint32_t capacity_bps;   /* measured at over-uses; 0: none (yet) */
    uint32_t shown_bps;      /* the most that arrived over a second lately */
    uint32_t carried_bps;    /* what steps up stay within (0: no bound) */
    cc_time_us limit_age;    /* since it last showed a limit (an over-use,
                              * a standing queue); < 0: never */
} cc_alloc_link;

/* Only for a step within CC_ALLOC_FILL_STEP x a measured capacity: a
 * capacity read while the sender sent less than the link carries is low
 * by that much (741 kbit/s on the 1 Mbit/s link of scripts/bench/links,
 * which carries about 950); an estimate far above it is one that grew
 * while little was sent, and a fill to 1.42 Mbit/s on that link queued
 * within 240 ms. */
#define CC_ALLOC_FILL_STEP 1.25
/* ... and only for one above CC_ALLOC_FILL_MIN_STEP x a measured capacity
 * or what the link carried: that capacity is what arrived at an
 * over-use, and a step a few percent above it does not fit. A fill for
 * 1002 kbit/s over a capacity of 982 (the 1 Mbit/s link) queued within
 * 260 ms, and its over-use read a capacity of 720 from the second before
 * the fill. */
#define CC_ALLOC_FILL_MIN_STEP 1.05
/* Before an over-use measured the capacity, a fill goes to at most
 * CC_ALLOC_FILL_STEP_SHOWN x what the link has shown it carries; a step
 * further takes another fill. */
#define CC_ALLOC_FILL_STEP_SHOWN 2.0
/* ... and none over a capacity the link has shown it carries (what
 * arrived over a second reached CC_ALLOC_FILL_SHOWN_SHARE of it; without
 * a measured capacity, what it has shown) while that link showed a limit
 * in the last CC_ALLOC_FILL_QUIET: its layers fill it, and a step beyond
 * fits only if the link got faster, which ends its over-uses and queues.
 * Such fills were most of case 1's failures in scripts/bench/links: each
 * one on the 1 Mbit/s link (for 1170-1202 kbit/s over a capacity of
 * 973-982 it had carried) over-used, and the camera lost a temporal
 * layer for 6-10 s; on the 300 kbit/s link, whose queue had stood 160 ms
 * 3 s before, one to 490 kbit/s read a capacity of 392 through its
 * shaper's bucket, and the screen stepped up to 1080p and froze. */
#define CC_ALLOC_FILL_QUIET (20 * CC_USEC_PER_SEC)
#define CC_ALLOC_FILL_SHOWN_SHARE 0.9

/* The rate (bit/s) a fill should show the link carries, or 0: no fill
 * for this step now (no want, nothing known of the link, or a rule
 * above). */
uint32_t cc_alloc_fill_want(const cc_alloc_link *l);

#endif
