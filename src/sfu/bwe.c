/* classcast: send-side bandwidth estimation (Google Congestion Control,
 * draft-ietf-rmcat-gcc-02, driven by transport-wide feedback). Written
 * from the draft and the published descriptions of libwebrtc's
 * goog_cc (trend line filter instead of the draft's Kalman filter, start-up
 * probing, the 1.5 x acked cap); no code is taken from either. Hand-written:
 * no C library implements it, and it runs for every feedback packet of every
 * subscriber on the worker thread. docs/bwe.md gives the equations and the
 * source of every constant. */
#include "classcast/bwe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"

/* ---- constants (docs/bwe.md, "Constants") ---- */

#define DEF_MIN_BPS 50000
#define DEF_MAX_BPS 5000000
#define DEF_START_BPS 300000

/* gcc-02 section 5.2: packets sent within burst_time form a group; a packet
 * arriving less than burst_time after the group with a negative delay
 * variation belongs to it too (a burst released by a queue). A burst is
 * cut at 100 ms (libwebrtc). */
#define BURST_US 5000
#define MAX_BURST_US 100000
/* A jump of the arrival clock against the send clock this large is a
 * reset, not congestion. */
#define ARRIVAL_JUMP_US 3000000

/* Trend line filter (libwebrtc's replacement for the section 5.3 Kalman
 * filter): the accumulated delay variation, exponentially smoothed, fitted
 * by least squares over the last 20 groups; the slope times the number of
 * deltas (at most 60) times a gain of 4 is compared with the threshold. */
#define TREND_WINDOW 20
#define TREND_SMOOTHING 0.9
#define TREND_GAIN 4.0
#define TREND_MAX_DELTAS 60
#define TREND_DELTA_COUNTER_MAX 1000

/* Section 5.4: over-use when the signal stays above the threshold for
 * overuse_time_th (10 ms) and is not falling; adaptive threshold
 * del_var_th, starting at 12.5 ms, kept in [6, 600] ms, not adapted on
 * outliers 15 ms beyond it. K_u / K_d as libwebrtc tunes them for the trend
 * line signal (the draft's 0.01 / 0.00018 are for the Kalman output). */
#define OVERUSE_TIME_MS 10.0
#define THRESH_INIT 12.5
#define THRESH_MIN 6.0
#define THRESH_MAX 600.0
#define THRESH_K_UP 0.0087
#define THRESH_K_DOWN 0.039
#define THRESH_MAX_OFFSET 15.0
#define THRESH_MAX_DT_MS 100.0

/* Standing-queue guard (not in the draft): the trend line cannot see an
 * overload under ~2.5 % (slope 0.025 x 60 x 4 = the minimum threshold 6),
 * e.g. a target pinned at max_bps just above the path, and the queue then
 * grows for ever. So the queueing delay is also estimated directly, as the
 * one-way delay (receiver clock minus sender clock, per group) above its
 * minimum over the last 15-30 s (long enough for a creep of 1 % to show),
 * and when even its minimum over the last 200 ms exceeds 200 ms while the
 * detector says "normal", that counts as over-use. A path that got longer
 * looks the same, so after such a cut the queue must drain: if it has not
 * dropped by a quarter 2 s later, the minimum is taken afresh. */
#define QUEUE_GUARD_US 200000
#define QUEUE_SPAN_US 200000
#define BASE_HALF_US 15000000
#define GUARD_CHECK_US 2000000
#define GUARD_DRAINED 0.75
#define QRING 32

/* Section 5.5: decrease to beta x the received rate; multiplicative
 * increase of 8 % a second far from convergence, additive (half a packet
 * per response time) near it; never above 1.5 x the received rate
 * (+10 kbit/s so a tiny rate can still grow). */
#define BETA 0.85
#define INCREASE_FACTOR 1.08
#define ACKED_CAP_FACTOR 1.5
#define ACKED_CAP_EXTRA 10000.0
/* Sent below this share of the estimate: the sender was limited by what it
 * had to send, not by the link (the decrease then starts from the
 * estimate). */
#define APP_LIMITED_SHARE 0.5
#define MIN_INCREASE_BPS 1000.0
#define DEFAULT_RTT_US 100000
/* Convergence: the received rate at past over-uses, exponentially averaged
 * (factor 0.95) with its normalised variance; within 3 deviations is "near
 * the link capacity". */
#define LC_ALPHA 0.05
#define LC_VAR_MIN 0.4
#define LC_VAR_MAX 2.5

/* Received-rate window. Section 5.5 measures R_hat over 0.5-1 s (libwebrtc
 * over 150 ms once started); 250 ms, because at a capacity drop the
 * decrease must start from what the link carries now: in the simulated
 * step from 2.5 to 0.8 Mbit/s a 500 ms window still left a 385 ms queue
 * 6 s later, 250 ms leaves 37 ms (docs/bwe.md). */
#define ACKED_WINDOW_US 250000
#define ACKED_BUCKET_US 10000
#define ACKED_BUCKETS 64 /* > window / bucket */
#define ACKED_MIN_SPAN_US 100000
/* What the link carries for a while: the least of that 250 ms rate over
 * the last second (sampled at each feedback, at most every
 * SUSTAIN_SAMPLE_US). A token bucket (a policer, tc tbf, a Wi-Fi
 * station's aggregation) refilled by an idle moment lets a burst through
 * at the line rate, and one 250 ms window reads above the link: an 8 KB
 * bucket adds up to 262 kbit/s to it, and on a 1 Mbit/s link windows of
 * 1.08-1.21 Mbit/s came every few seconds. Taken as "the link got
 * faster", each such window reset the capacity estimate to multiplicative
 * increase and raised the probes' ceiling, and the estimate rose to
 * 1.2-1.34 Mbit/s (test_bwe test_token_bucket_link, scripts/bench/links).
 * A bucket cannot keep a rate above its link for a second, so those two
 * decisions use this one; the decrease keeps the 250 ms window (it must
 * start from what arrives now). */
#define SUSTAIN_US 1000000
#define SUSTAIN_SAMPLE_US 25000
#define SRING 64 /* > SUSTAIN_US / SUSTAIN_SAMPLE_US */

/* Section 6: loss-based control. Losses are counted over at least 20
 * reported packets (libwebrtc) before a decision; a decrease waits
 * 300 ms + RTT after the previous one. */
#define LOSS_LOW 0.02
#define LOSS_HIGH 0.10
#define LOSS_MIN_PACKETS 20
#define LOSS_DECREASE_INTERVAL_US 300000
/* The draft counts loss per receiver report (about one a second, as
 * libwebrtc's loss-based control still does from RTCP RRs). Counted per
 * 50 ms feedback instead, 20 packets at 5 % random loss exceed 10 % one
 * time in 13 and the target random-walks down; so a decision needs a
 * second of reports too. */
#define LOSS_MIN_INTERVAL_US 1000000

/* No feedback for a second while sending: cut to 0.8 x once a second. */
#define FEEDBACK_TIMEOUT_US 1000000
#define TIMEOUT_FACTOR 0.8

/* Start-up probing (libwebrtc's probe controller): clusters at 3x and 6x
 * the start rate, each at least 15 ms and 5 packets long; while a result
 * reaches 70 % of what was probed, probe again at twice the result. A
 * cluster needs 80 % of its packets reported; a receive rate under 90 % of
 * the send rate means the path is saturated, and 95 % of the receive rate
 * is taken. */
#define PROBE_SLOTS 8
#define PROBE_MIN_US 15000
#define PROBE_MIN_PACKETS 5
#define PROBE_FURTHER 0.7
#define PROBE_RECV_RATIO 0.8
#define PROBE_SATURATED 0.9
#define PROBE_UTILISATION 0.95
#define PROBE_TIMEOUT_US 1000000
/* One probe lifts the estimate to at most this many times what it was (or
 * what was received, if more). A short cluster that fits in a shaper's
 * token bucket (a policer or tc tbf with a burst of a few kilobytes)
 * arrives at the line rate and reads as any rate at all: measured, a
 * 300 kbit/s link (tbf, 8 KB burst) probed with 15 ms clusters read
 * 1.7-2.2 Mbit/s again and again, each time long enough for the
 * allocation to send it the 1080p screen. Bounded, such a result costs
 * one step, which the delay and the loss then show; a link that really
 * carries more is reached in doublings, one probe round each (tens of
 * milliseconds apart while start-up probing goes on). */
#define PROBE_MAX_GROWTH 2.0
/* ... and, for CEILING_MEMORY_US after an over-use, to at most this many
 * times the rate that arrived then (the ceiling; raised when more than it
 * arrives for a second, sustained_rate). The doubling alone still let a 15 ms cluster through an 8 KB
 * bucket on a 1 Mbit/s link read 1.78 Mbit/s from 888 kbit/s; the
 * allocation went up to 1.25 Mbit/s two seconds later, the queue grew
 * past 250 ms and the estimate fell to 359 kbit/s (scripts/bench/links,
 * the 1 Mbit/s student's screen at 6 frames/s instead of 10). The link
 * capacity estimate (lc_est) is not that bound: it is forgotten whenever
 * the received rate strays 3 deviations above it, which a keyframe's
 * burst does. At 1.15 x, each probe on that link lifted the estimate to
 * 1.15-1.2 Mbit/s, an allocation with its 15 % margin (alloc.h) then
 * filled the whole link, and the next keyframe over-used it; at 1.05 x
 * the probe takes the estimate back to about what the link carried
 * (test_bwe test_token_bucket_link: the most seen 1.34 Mbit/s before,
 * under 1.12 after). A link that got faster is still found: a result
 * within the bound lets the allocation send more, what then arrives
 * raises the ceiling, and the ceiling is forgotten after
 * CEILING_MEMORY_US. */
#define PROBE_OVER_CEILING 1.05
#define CEILING_MEMORY_US (20 * CC_USEC_PER_SEC)
/* cc_bwe_capacity_bps remembers the ceiling longer: its caller keeps only
 * keyframe-costing steps under it, so what it sends can still over-use
 * and renew it. Forgotten after 20 s, it let a 1 Mbit/s student's camera
 * step to 640x480 and back each time (scripts/bench/links). */
#define CAPACITY_MEMORY_US (60 * CC_USEC_PER_SEC)
/* ... as the most of the rates that arrived at the over-uses of that
 * minute (the most of each eighth of it): one 250 ms window at an over-use read
 * 902-1011 kbit/s on the 1 Mbit/s link, and the last one alone, low,
 * kept that student's camera paused for the rest of the minute. */
#define CAP_SAMPLES 8
/* ... from a second whose least 250 ms window was at least this share of
 * the one at the over-use. Under it the sender stepped up within the
 * second (a subscriber's first allocation took it from its smallest
 * encodings to its best): its least read 322 kbit/s on the 1 Mbit/s link
 * of scripts/bench/links while 986 arrived, and held that student's
 * camera paused for 20 s. The next over-use measures. */
#define CAP_STEADY_SHARE 0.6

enum { PROBE_FREE = 0, PROBE_QUEUED, PROBE_WAIT, PROBE_DONE };

typedef struct sent_pkt {
    int64_t seq; /* extended; -1: empty */
    cc_time_us send;
    cc_time_us arrival; /* once reported received (sender's view of the
                           receiver's clock, unwrapped) */
    uint32_t size;
    int16_t probe;
    uint8_t reported;
} sent_pkt;

typedef struct probe_cluster {
    int id;
    int state;
    uint32_t bps;
    size_t min_bytes;
    int min_packets;
    cc_time_us issued;
    uint32_t sent_count, recv_count, lost_count;
    uint64_t recv_bytes;
    cc_time_us first_send, last_send, first_arr, last_arr;
    uint32_t last_send_size, first_arr_size;
} probe_cluster;

typedef struct group {
    int valid;
    cc_time_us first_send, last_send, first_arr, last_arr;
} group;

/* Bytes per ACKED_BUCKET_US over the last ACKED_WINDOW_US (a ring of
 * buckets by time). */
typedef struct rate_win {
    int init;
    int64_t head;
    cc_time_us first, latest;
    uint64_t bytes[ACKED_BUCKETS];
} rate_win;

struct cc_bwe {
    cc_bwe_config cfg;

    /* sent history */
    sent_pkt *hist;
    unsigned hmask;
    int have_sent;
    int64_t last_seq;
    cc_time_us last_send_time;
    uint16_t *order; /* one feedback's received packets (history slots),
                        sorted by arrival */

    /* feedback */
    int have_ref;
    int64_t ref_ext; /* unwrapped 24-bit reference time */
    cc_time_us last_fb_time;
    cc_time_us last_timeout_cut;

    rate_win acked;  /* received rate, by arrival */
    rate_win sent;   /* sent rate, by send time */
    cc_time_us sr_t[SRING]; /* acked-rate samples (SUSTAIN_US) */
    double sr_v[SRING];
    uint8_t sr_lim[SRING]; /* the sender was held by what it had to send */
    int sr_n, sr_pos;

    /* packet groups */
    group cur, prev;

    /* trend line and detector */
    int num_deltas;
    int have_first_arr;
    cc_time_us first_arr;
    double acc_delay, smoothed;
    double hx[TREND_WINDOW], hy[TREND_WINDOW];
    int hn, hpos;
    double trend, prev_trend, modified;
    /* standing-queue guard */
    int have_base;
    int64_t base_cur, base_prev;
    cc_time_us base_rot;
    int64_t last_rd;
    cc_time_us qr_arr[QRING];
    int64_t qr_delay[QRING];
    int qr_n, qr_pos;
    int guard_active;
    cc_time_us guard_at, guard_q;
    double threshold;
    cc_time_us thresh_last;
    double time_over;
    int over_count;
    int signal;

    /* AIMD */
    double delay_bps;
    int rate_state;
    cc_time_us last_change;
    double lc_est; /* kbit/s; < 0: none */
    double lc_var;
    double ceil_bps;     /* what arrived at the last over-use (or more since) */
    cc_time_us ceil_at;  /* when; 0: none */
    double cap_v[CAP_SAMPLES]; /* the most that arrived at an over-use */
    int64_t cap_win[CAP_SAMPLES]; /* in this window of the minute */
    uint8_t cap_set[CAP_SAMPLES];
    double shown_v[CAP_SAMPLES]; /* the most that arrived over a second */
    int64_t shown_win[CAP_SAMPLES];
    double floor_bps;       /* cc_bwe_own_queue: no decrease under it */
    cc_time_us floor_until; /* until then */

    /* loss */
    double loss_bps;
    int loss_grow;       /* the last decision was "under 2 %": grow */
    cc_time_us loss_last_grow;
    uint64_t acc_lost, acc_total;
    cc_time_us loss_last_eval, loss_last_decrease;
    double last_loss;

    uint64_t remb;
    cc_time_us rtt;
    double target;

    /* probing */
    probe_cluster probes[PROBE_SLOTS];
    int next_probe_id;
    int probe_last_id;   /* the highest-rate cluster of the current round */
    int probing;         /* exponential probing still on */
    double probe_further_min;
    double probe_recent; /* the last probe result and when it came */
    cc_time_us probe_recent_at;

    cc_bwe_stats st;
};

/* ---- helpers ---- */

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static cc_time_us rtt_or_default(const cc_bwe *b)
{
    return b->rtt > 0 ? b->rtt : DEFAULT_RTT_US;
}

static void update_target(cc_bwe *b)
{
    double lo = b->cfg.min_bps, hi = b->cfg.max_bps;
    b->delay_bps = clampd(b->delay_bps, lo, hi);
    double t;
    if (b->st.feedbacks == 0 && b->remb) {
        /* No transport-cc from this peer (yet): its REMB is the estimate. */
        t = (double)b->remb;
    } else {
        /* The loss-based rate never runs ahead of the delay-based one
         * (as libwebrtc caps it), so it only matters when loss pulls the
         * target below it. */
        if (b->loss_bps > b->delay_bps)
            b->loss_bps = b->delay_bps;
        t = b->loss_bps;
        if (b->remb && (double)b->remb < t)
            t = (double)b->remb;
    }
    b->loss_bps = clampd(b->loss_bps, lo, hi);
    b->target = clampd(t, lo, hi);
}

/* ---- probing ---- */

static probe_cluster *probe_find(cc_bwe *b, int id)
{
    if (id <= 0)
        return NULL;
    probe_cluster *c = &b->probes[id % PROBE_SLOTS];
    return (c->id == id && c->state != PROBE_FREE) ? c : NULL;
}

static void probe_queue(cc_bwe *b, double bps)
{
    bps = clampd(bps, b->cfg.min_bps, b->cfg.max_bps);
    int id = ++b->next_probe_id;
    if (b->next_probe_id >= 30000)
        b->next_probe_id = 0; /* ids stay within int16 (sent history) */
    probe_cluster *c = &b->probes[id % PROBE_SLOTS];
    *c = (probe_cluster){0};
    c->id = id;
    c->state = PROBE_QUEUED;
    c->bps = (uint32_t)bps;
    c->min_bytes = (size_t)(bps * PROBE_MIN_US / 8e6);
    c->min_packets = PROBE_MIN_PACKETS;
    b->probe_last_id = id;
    b->probe_further_min = PROBE_FURTHER * bps;
}

/* The probed rate of a finished cluster, or 0 if it cannot tell. */
static double probe_result(const probe_cluster *c)
{
    if (c->recv_count < 2 ||
        c->recv_count < PROBE_RECV_RATIO * (double)c->sent_count)
        return 0;
    cc_time_us si = c->last_send - c->first_send;
    cc_time_us ri = c->last_arr - c->first_arr;
    if (si <= 0 || ri <= 0 || si > PROBE_TIMEOUT_US || ri > PROBE_TIMEOUT_US)
        return 0;
    /* Rates over the packets between the first and the last: the last one
     * sent took no send time, the first one received no receive time. */
    double send_rate = (double)(c->recv_bytes - c->last_send_size) * 8e6 /
                       (double)si;
    double recv_rate = (double)(c->recv_bytes - c->first_arr_size) * 8e6 /
                       (double)ri;
    if (recv_rate < PROBE_SATURATED * send_rate)
        return PROBE_UTILISATION * recv_rate;
    return send_rate < recv_rate ? send_rate : recv_rate;
}

static double win_rate(const rate_win *w);
static double acked_rate(const cc_bwe *b);

/* cc_bwe_capacity_bps */
static double capacity(const cc_bwe *b, cc_time_us now)
{
    if (!b->ceil_at || now - b->ceil_at >= CAPACITY_MEMORY_US)
        return 0;
    double most = b->ceil_bps; /* raised since the last over-use, maybe */
    int64_t win = floor_div(now, CAPACITY_MEMORY_US / CAP_SAMPLES);
    for (int i = 0; i < CAP_SAMPLES; i++)
        if (b->cap_set[i] && win - b->cap_win[i] < CAP_SAMPLES && b->cap_v[i] > most)
            most = b->cap_v[i];
    return most;
}

static void probe_apply(cc_bwe *b, double r, cc_time_us now)
{
    /* Remembered for a second as a measurement of the capacity: a probe
     * above the capacity queues up, the detector may call over-use for its
     * own queue, and the decrease then starts from what the probe got
     * through rather than from a received rate still averaging the slow
     * start (delay_update). */
    b->probe_recent = r;
    b->probe_recent_at = now;
    /* libwebrtc applies a probe result unless the detector says over-use
     * (then the decrease is the better answer). */
    if (b->signal == CC_BWE_OVERUSE)
        return;
    /* A probe asks whether the path carries more. Sent while the sender
     * had far less to send than its estimate, one that came back slower
     * lowers the estimate by at most a decrease's share (beta): it
     * measured little more than itself, and a receiver whose CPU delayed
     * the probe's packets makes them look slow (taken whole, such a
     * result once left a subscriber on loopback at 79 kbit/s). A path
     * that is really slower shows it in the delay and the loss once the
     * streams flow. A sender at its estimate takes a slow probe whole:
     * it measured the bottleneck its media is queued behind; but never
     * below beta x what arrives meanwhile (a decrease's cut): a probe
     * slower than that measured a queue it was caught in, or its own
     * losses there, not the link. The 1 Mbit/s student of
     * scripts/bench/links fell from 844 to 371 kbit/s on one while 767-995
     * kbit/s arrived (another student's join had put a keyframe of every
     * encoding in its shaper's queue). */
    double sent = win_rate(&b->sent);
    if (sent > 0 && sent < APP_LIMITED_SHARE * b->delay_bps && r < BETA * b->delay_bps)
        r = BETA * b->delay_bps;
    double arrives = acked_rate(b);
    if (r < b->delay_bps && r < BETA * arrives)
        r = BETA * arrives < b->delay_bps ? BETA * arrives : b->delay_bps;
    double base = acked_rate(b) > b->delay_bps ? acked_rate(b) : b->delay_bps;
    double cap = PROBE_MAX_GROWTH * base;
    /* After that, the capacity bounds it the same way for as long as it
     * is remembered: a 15 ms cluster through the 300 kbit/s student's
     * 8 KB bucket, 20 s after its last over-use, doubled its estimate
     * from 416 to 832 kbit/s on a link that had carried 286 (links
     * bench). More than the capacity is found by filling the link with
     * padding for a second or two (sfu_feedback.c), which a bucket's
     * burst does not fake, and by the estimate's own growth. */
    double known = b->ceil_at && now - b->ceil_at < CEILING_MEMORY_US ? b->ceil_bps
                                                                       : capacity(b, now);
    if (known > 0) {
        double c = PROBE_OVER_CEILING * known;
        if (c < cap)
            cap = c > b->delay_bps ? c : b->delay_bps; /* never a cut */
    }
    if (r > cap) {
        r = cap;
        b->st.probes_capped++;
    }
    r = clampd(r, b->cfg.min_bps, b->cfg.max_bps);
    b->delay_bps = r;
    b->loss_bps = r;
    b->last_change = now;
    b->st.probes++;
}

/* Finished clusters, in id order: a later cluster waits for an earlier one
 * so that results apply in the order they were probed. */
static void probe_evaluate(cc_bwe *b, cc_time_us now)
{
    for (;;) {
        probe_cluster *first = NULL;
        for (int i = 0; i < PROBE_SLOTS; i++) {
            probe_cluster *c = &b->probes[i];
            if (c->state == PROBE_WAIT && (!first || c->id < first->id))
                first = c;
        }
        if (!first)
            return;
        probe_cluster *c = first;
        int sent_all = c->sent_count >= (uint32_t)c->min_packets;
        int reported = c->recv_count + c->lost_count >= c->sent_count;
        int timed_out = now - c->issued > PROBE_TIMEOUT_US;
        if (!timed_out && !(sent_all && reported))
            return;
        double r = timed_out && !(sent_all && reported) ? 0 : probe_result(c);
        c->state = PROBE_DONE;
        if (r > 0)
            probe_apply(b, r, now);
        if (c->id == b->probe_last_id && b->probing) {
            /* Further while the result kept up with the probe, and never
             * past a probe at the ceiling (it would repeat forever). */
            if (r > 0 && r >= b->probe_further_min &&
                c->bps < b->cfg.max_bps)
                probe_queue(b, 2 * r);
            else
                b->probing = 0;
        }
    }
}

int cc_bwe_probe_poll(cc_bwe *b, cc_time_us now, cc_bwe_probe *p)
{
    if (!b || !p)
        return 0;
    probe_evaluate(b, now); /* timeouts */
    probe_cluster *first = NULL;
    for (int i = 0; i < PROBE_SLOTS; i++) {
        probe_cluster *c = &b->probes[i];
        if (c->state == PROBE_QUEUED && (!first || c->id < first->id))
            first = c;
    }
    if (!first)
        return 0;
    first->state = PROBE_WAIT;
    first->issued = now;
    p->id = first->id;
    p->bps = first->bps;
    p->min_bytes = first->min_bytes;
    p->min_packets = first->min_packets;
    return 1;
}

int cc_bwe_probe_request(cc_bwe *b, uint32_t bps, cc_time_us now)
{
    (void)now;
    if (!b || b->cfg.no_probe)
        return 0;
    for (int i = 0; i < PROBE_SLOTS; i++)
        if (b->probes[i].state == PROBE_QUEUED || b->probes[i].state == PROBE_WAIT)
            return 0; /* one round at a time */
    /* One cluster, no "further" rounds: the caller asks for what it needs. */
    b->probing = 0;
    probe_queue(b, bps);
    return 1;
}

/* ---- received rate (section 5.5's R_hat) ---- */

static void win_add(rate_win *w, cc_time_us t, uint32_t size)
{
    int64_t bk = floor_div(t, ACKED_BUCKET_US);
    if (!w->init) {
        w->init = 1;
        w->head = bk;
        w->first = t;
        w->latest = t;
    }
    if (bk > w->head) {
        int64_t from = w->head + 1;
        if (bk - from >= ACKED_BUCKETS)
            from = bk - ACKED_BUCKETS + 1;
        for (int64_t i = from; i <= bk; i++)
            w->bytes[i & (ACKED_BUCKETS - 1)] = 0;
        w->head = bk;
    }
    if (bk <= w->head - ACKED_BUCKETS)
        return; /* older than anything kept */
    w->bytes[bk & (ACKED_BUCKETS - 1)] += size;
    if (t > w->latest)
        w->latest = t;
    if (t < w->first)
        w->first = t;
}

/* Bits per second over the window up to its latest entry; 0 while it
 * spans less than ACKED_MIN_SPAN_US. */
static double win_rate(const rate_win *w)
{
    if (!w->init)
        return 0;
    const int64_t nb = ACKED_WINDOW_US / ACKED_BUCKET_US;
    int64_t lo = w->head - nb + 1;
    cc_time_us from = lo * ACKED_BUCKET_US;
    if (w->first > from)
        from = w->first;
    cc_time_us span = w->latest - from;
    if (span < ACKED_MIN_SPAN_US)
        return 0;
    uint64_t sum = 0;
    for (int64_t i = lo; i <= w->head; i++)
        sum += w->bytes[i & (ACKED_BUCKETS - 1)];
    return (double)sum * 8e6 / (double)span;
}

static void acked_add(cc_bwe *b, cc_time_us t, uint32_t size)
{
    win_add(&b->acked, t, size);
}

static double acked_rate(const cc_bwe *b)
{
    return win_rate(&b->acked);
}

static int sustain_sample(cc_bwe *b, double acked, cc_time_us now)
{
    if (acked <= 0)
        return 0;
    int last = (b->sr_pos + SRING - 1) % SRING;
    if (b->sr_n && now - b->sr_t[last] < SUSTAIN_SAMPLE_US)
        return 0;
    double sent = win_rate(&b->sent);
    b->sr_t[b->sr_pos] = now;
    b->sr_v[b->sr_pos] = acked;
    b->sr_lim[b->sr_pos] = sent > 0 && sent < APP_LIMITED_SHARE * b->delay_bps;
    b->sr_pos = (b->sr_pos + 1) % SRING;
    if (b->sr_n < SRING)
        b->sr_n++;
    return 1;
}

/* The least received rate over the last SUSTAIN_US; 0 until samples span
 * most of it (a gap in the feedback also leaves it unknown). With
 * any_sender 0, also 0 if the sender was held by what it had to send
 * meanwhile: what arrived then measured the sender, not the link, and is
 * no measure of the link's limit (a subscriber on its smallest encodings
 * for its first second, then moved up: its first over-use read a
 * capacity of 453 kbit/s on the 1 Mbit/s link of scripts/bench/links).
 * What did arrive shows that the link carries at least that much,
 * whatever held the sender (any_sender 1). */
static double sustained_rate(const cc_bwe *b, cc_time_us now, int any_sender)
{
    double lo = 0;
    cc_time_us oldest = now;
    for (int i = 0; i < b->sr_n; i++) {
        int k = (b->sr_pos + SRING - 1 - i) % SRING;
        if (now - b->sr_t[k] > SUSTAIN_US)
            break;
        if ((i > 0 && b->sr_t[(k + 1) % SRING] - b->sr_t[k] > SUSTAIN_US / 4) ||
            (b->sr_lim[k] && !any_sender))
            return 0;
        oldest = b->sr_t[k];
        if (lo == 0 || b->sr_v[k] < lo)
            lo = b->sr_v[k];
    }
    return now - oldest >= SUSTAIN_US * 3 / 4 ? lo : 0;
}

/* ---- link capacity estimate (section 5.5, "close to convergence") ---- */

static double lc_dev(const cc_bwe *b)
{
    return sqrt(b->lc_var * b->lc_est);
}

static void lc_update(cc_bwe *b, double bps)
{
    double s = bps / 1000.0;
    if (b->lc_est < 0)
        b->lc_est = s;
    else
        b->lc_est = (1 - LC_ALPHA) * b->lc_est + LC_ALPHA * s;
    double norm = b->lc_est > 1.0 ? b->lc_est : 1.0;
    double err = b->lc_est - s;
    b->lc_var = (1 - LC_ALPHA) * b->lc_var + LC_ALPHA * err * err / norm;
    b->lc_var = clampd(b->lc_var, LC_VAR_MIN, LC_VAR_MAX);
}

/* ---- standing-queue guard ---- */

static void queue_sample(cc_bwe *b, cc_time_us send, cc_time_us arr)
{
    int64_t rd = arr - send; /* one-way delay plus the clocks' offset */
    b->last_rd = rd;
    if (!b->have_base) {
        b->have_base = 1;
        b->base_cur = b->base_prev = rd;
        b->base_rot = arr;
    } else if (arr - b->base_rot >= BASE_HALF_US) {
        b->base_prev = b->base_cur;
        b->base_cur = rd;
        b->base_rot = arr;
    } else if (rd < b->base_cur) {
        b->base_cur = rd;
    }
    int64_t base = b->base_cur < b->base_prev ? b->base_cur : b->base_prev;
    b->qr_arr[b->qr_pos] = arr;
    b->qr_delay[b->qr_pos] = rd - base;
    b->qr_pos = (b->qr_pos + 1) % QRING;
    if (b->qr_n < QRING)
        b->qr_n++;
}

/* The least queueing delay of the groups that arrived in the last 200 ms
 * (0 unless the samples cover that long). */
static cc_time_us standing_queue(const cc_bwe *b)
{
    if (b->qr_n < 2)
        return 0;
    int last = (b->qr_pos + QRING - 1) % QRING;
    cc_time_us latest = b->qr_arr[last];
    int64_t min = INT64_MAX;
    int covered = 0;
    for (int i = 0; i < b->qr_n; i++) {
        int k = (b->qr_pos + QRING - 1 - i) % QRING;
        if (latest - b->qr_arr[k] > QUEUE_SPAN_US) {
            covered = 1;
            break;
        }
        if (b->qr_delay[k] < min)
            min = b->qr_delay[k];
    }
    return covered && min != INT64_MAX ? min : 0;
}

/* ---- AIMD rate controller (section 5.5) ---- */

static double expected_packet_bits(double bps)
{
    /* A 30 frames/s stream cut into packets of at most 1200 bytes: the
     * average packet of one frame. */
    double frame = bps / 30.0;
    double packets = ceil(frame / (1200.0 * 8));
    if (packets < 1)
        packets = 1;
    return frame / packets;
}

static int time_to_reduce(const cc_bwe *b, cc_time_us now, double acked)
{
    cc_time_us interval = rtt_or_default(b);
    if (interval < 10000)
        interval = 10000;
    if (interval > 200000)
        interval = 200000;
    if (now - b->last_change >= interval)
        return 1;
    return acked > 0 && acked < b->delay_bps / 2;
}

static void aimd_apply(cc_bwe *b, int sig, double acked, cc_time_us now)
{
    switch (sig) {
    case CC_BWE_NORMAL:
        if (b->rate_state == CC_BWE_HOLD) {
            b->rate_state = CC_BWE_INCREASE;
            b->last_change = now;
        }
        break;
    case CC_BWE_OVERUSE:
        b->rate_state = CC_BWE_DECREASE;
        break;
    default:
        b->rate_state = CC_BWE_HOLD;
        break;
    }

    switch (b->rate_state) {
    case CC_BWE_INCREASE: {
        /* A sender held by its media (streams paused, sent padding to
         * fill the link, sfu_feedback.c) still shows what the link
         * carried: the ceiling rises to it. */
        double held = sustained_rate(b, now, 1);
        if (b->lc_est >= 0 && held > 0 && held / 1000.0 > b->lc_est + 3 * lc_dev(b))
            b->lc_est = -1; /* the link got faster: far from convergence */
        if (b->ceil_at && held > b->ceil_bps)
            b->ceil_bps = held; /* it carried that much */
        double dt = (double)(now - b->last_change) / 1e6;
        if (dt < 0)
            dt = 0;
        if (dt > 1)
            dt = 1;
        double inc;
        if (b->lc_est >= 0) {
            /* Additive: alpha = 0.5 x min(dt / response time, 1) of a
             * packet, response time = RTT + 100 ms. */
            double resp = (double)(rtt_or_default(b) + 100000) / 1e6;
            double alpha = 0.5 * (dt / resp < 1 ? dt / resp : 1);
            inc = alpha * expected_packet_bits(b->delay_bps);
        } else {
            /* Multiplicative: eta = 1.08^min(dt, 1 s). */
            inc = b->delay_bps * (pow(INCREASE_FACTOR, dt) - 1);
        }
        if (inc < MIN_INCREASE_BPS)
            inc = MIN_INCREASE_BPS;
        double limit = acked > 0 ? ACKED_CAP_FACTOR * acked + ACKED_CAP_EXTRA
                                 : b->cfg.max_bps;
        if (b->delay_bps < limit) {
            b->delay_bps += inc;
            if (b->delay_bps > limit)
                b->delay_bps = limit;
        }
        b->last_change = now;
        break;
    }
    case CC_BWE_DECREASE: {
        /* Section 5.5 cuts to beta x what arrived. A sender that sent far
         * less than its estimate (streams held back, a still screen: its
         * sent rate, not what arrived, is the test; a sender at its
         * estimate on a link that got slower sends much more than
         * arrives) says nothing about the link by what arrived: cut the
         * estimate itself
         * (it keeps being cut while the delay keeps growing). Without
         * this, one delay spike from a busy CPU while a subscriber got
         * only audio left it at 50-80 kbit/s, and every camera shown
         * afterwards was paused for seconds. */
        double sent = win_rate(&b->sent);
        int app_limited = sent > 0 && sent < APP_LIMITED_SHARE * b->delay_bps;
        double base = acked > 0 && !app_limited ? acked : b->delay_bps;
        if (b->probe_recent_at && now - b->probe_recent_at < PROBE_TIMEOUT_US &&
            b->probe_recent > base)
            base = b->probe_recent;
        /* Already under beta x what arrives (an earlier cut of this
         * over-use, the queue draining): no further cut. libwebrtc cuts
         * to beta x its link capacity estimate, which one window of little
         * sent reset low: 842 to 619 kbit/s on a 1 Mbit/s link on the
         * second signal of one over-use (scripts/bench/links). */
        double nb = BETA * base;
        /* A queue of the sender's own extra packets, stopped since
         * (cc_bwe_own_queue): not under the floor while it drains. */
        if (now < b->floor_until && nb < b->floor_bps)
            nb = b->floor_bps;
        if (nb < b->delay_bps)
            b->delay_bps = nb;
        if (acked > 0) {
            if (b->lc_est >= 0 &&
                acked / 1000.0 < b->lc_est - 3 * lc_dev(b))
                b->lc_est = -1; /* the link got slower */
            lc_update(b, acked);
            if (!app_limited) {
                /* What the link carried for a while, not the 250 ms
                 * window at the over-use: behind a token bucket that
                 * window holds the bucket's burst (a 1 Mbit/s tbf link's
                 * capacity read 1240 kbit/s in test_token_bucket_link,
                 * and 1127-1151 for the 1 Mbit/s student of
                 * scripts/bench/links, whose camera then stepped up to
                 * 640x480 and over-used). It is the probes' ceiling and,
                 * the most per CAPACITY_MEMORY_US / CAP_SAMPLES of time,
                 * the capacity. Without a second of samples (the start,
                 * a stall in the feedback) the capacity takes no sample:
                 * what arrived is not known well enough. */
                double held = sustained_rate(b, now, 0);
                double c = held > 0 && held < acked ? held : acked;
                /* Nor from a second that was not one rate (CAP_STEADY_SHARE):
                 * neither the ceiling nor the capacity takes it. */
                int steady = held <= 0 || held >= CAP_STEADY_SHARE * acked;
                if (steady) {
                    b->ceil_bps = now < b->floor_until && c < b->floor_bps ? b->floor_bps : c;
                    b->ceil_at = now;
                }
                int64_t win = floor_div(now, CAPACITY_MEMORY_US / CAP_SAMPLES);
                int k = (int)(win % CAP_SAMPLES);
                if (held <= 0 || !steady) {
                    /* no sample */
                } else if (!b->cap_set[k] || b->cap_win[k] != win) {
                    b->cap_v[k] = c;
                    b->cap_win[k] = win;
                    b->cap_set[k] = 1;
                } else if (c > b->cap_v[k]) {
                    b->cap_v[k] = c;
                }
            }
        }
        b->rate_state = CC_BWE_HOLD;
        b->last_change = now;
        b->st.overuses++;
        break;
    }
    default:
        break;
    }
    b->delay_bps = clampd(b->delay_bps, b->cfg.min_bps, b->cfg.max_bps);
}

/* What the link has shown it carries: the most that arrived over a
 * second, the most of each eighth of the last CAPACITY_MEMORY_US, as for
 * the capacity. */
static void shown_update(cc_bwe *b, cc_time_us now)
{
    double held = sustained_rate(b, now, 1);
    if (held <= 0)
        return;
    int64_t win = floor_div(now, CAPACITY_MEMORY_US / CAP_SAMPLES);
    int k = (int)(win % CAP_SAMPLES);
    if (b->shown_win[k] != win || b->shown_v[k] <= 0) {
        b->shown_v[k] = held;
        b->shown_win[k] = win;
    } else if (held > b->shown_v[k]) {
        b->shown_v[k] = held;
    }
}

static void delay_update(cc_bwe *b, cc_time_us now)
{
    double acked = acked_rate(b);
    if (sustain_sample(b, acked, now))
        shown_update(b, now);
    int sig = b->signal;
    cc_time_us q = standing_queue(b);
    if (b->guard_active && now - b->guard_at >= GUARD_CHECK_US) {
        b->guard_active = 0;
        if (q > GUARD_DRAINED * b->guard_q) {
            /* Not draining after a cut: a longer path, not a queue. */
            b->base_cur = b->base_prev = b->last_rd;
            b->base_rot = now;
            b->qr_n = b->qr_pos = 0;
            b->st.rebased++;
            q = 0;
        }
    }
    int guard = 0;
    if (sig == CC_BWE_NORMAL && !b->guard_active && q > QUEUE_GUARD_US) {
        sig = CC_BWE_OVERUSE;
        guard = 1;
    }
    if (sig == CC_BWE_OVERUSE) {
        /* Decrease again only once the last change had time to act
         * (min(RTT, 200 ms)), or if the link delivers under half. */
        if (time_to_reduce(b, now, acked)) {
            aimd_apply(b, CC_BWE_OVERUSE, acked, now);
            if (guard) {
                b->guard_active = 1;
                b->guard_at = now;
                b->guard_q = q;
                b->st.standing++;
            }
        }
    } else {
        aimd_apply(b, sig, acked, now);
    }
}

/* ---- over-use detector (section 5.4) ---- */

static void threshold_update(cc_bwe *b, double m, cc_time_us now)
{
    if (b->thresh_last == 0)
        b->thresh_last = now;
    double am = fabs(m);
    if (am > b->threshold + THRESH_MAX_OFFSET) {
        /* An outlier (a burst, a route change) does not move it. */
        b->thresh_last = now;
        return;
    }
    double k = am < b->threshold ? THRESH_K_DOWN : THRESH_K_UP;
    double dt = (double)(now - b->thresh_last) / 1000.0;
    if (dt > THRESH_MAX_DT_MS)
        dt = THRESH_MAX_DT_MS;
    if (dt < 0)
        dt = 0;
    b->threshold += k * (am - b->threshold) * dt;
    b->threshold = clampd(b->threshold, THRESH_MIN, THRESH_MAX);
    b->thresh_last = now;
}

static void detect(cc_bwe *b, double send_delta_ms, cc_time_us arrival)
{
    if (b->num_deltas < 2)
        return;
    int n = b->num_deltas < TREND_MAX_DELTAS ? b->num_deltas
                                             : TREND_MAX_DELTAS;
    double m = n * b->trend * TREND_GAIN;
    b->modified = m;
    if (m > b->threshold) {
        if (b->time_over < 0)
            b->time_over = send_delta_ms / 2;
        else
            b->time_over += send_delta_ms;
        b->over_count++;
        if (b->time_over > OVERUSE_TIME_MS && b->over_count > 1 &&
            b->trend >= b->prev_trend) {
            b->time_over = 0;
            b->over_count = 0;
            b->signal = CC_BWE_OVERUSE;
        }
    } else if (m < -b->threshold) {
        b->time_over = -1;
        b->over_count = 0;
        b->signal = CC_BWE_UNDERUSE;
    } else {
        b->time_over = -1;
        b->over_count = 0;
        b->signal = CC_BWE_NORMAL;
    }
    b->prev_trend = b->trend;
    threshold_update(b, m, arrival);
}

/* ---- trend line (least-squares slope of the smoothed delay) ---- */

static void trend_reset(cc_bwe *b)
{
    b->num_deltas = 0;
    b->have_first_arr = 0;
    b->acc_delay = b->smoothed = 0;
    b->hn = b->hpos = 0;
    b->trend = b->prev_trend = b->modified = 0;
    b->time_over = -1;
    b->over_count = 0;
    b->signal = CC_BWE_NORMAL;
}

static void trend_update(cc_bwe *b, double send_ms, double arr_ms,
                         cc_time_us arrival)
{
    double d = arr_ms - send_ms; /* gcc-02 5.1: d(i) */
    if (b->num_deltas < TREND_DELTA_COUNTER_MAX)
        b->num_deltas++;
    if (!b->have_first_arr) {
        b->have_first_arr = 1;
        b->first_arr = arrival;
    }
    b->acc_delay += d;
    b->smoothed = TREND_SMOOTHING * b->smoothed +
                  (1 - TREND_SMOOTHING) * b->acc_delay;
    b->hx[b->hpos] = (double)(arrival - b->first_arr) / 1000.0;
    b->hy[b->hpos] = b->smoothed;
    b->hpos = (b->hpos + 1) % TREND_WINDOW;
    if (b->hn < TREND_WINDOW)
        b->hn++;
    if (b->hn == TREND_WINDOW) {
        double xa = 0, ya = 0;
        for (int i = 0; i < TREND_WINDOW; i++) {
            xa += b->hx[i];
            ya += b->hy[i];
        }
        xa /= TREND_WINDOW;
        ya /= TREND_WINDOW;
        double num = 0, den = 0;
        for (int i = 0; i < TREND_WINDOW; i++) {
            num += (b->hx[i] - xa) * (b->hy[i] - ya);
            den += (b->hx[i] - xa) * (b->hx[i] - xa);
        }
        if (den != 0)
            b->trend = num / den;
    }
    detect(b, send_ms, arrival);
}

/* ---- packet groups (section 5.2) ---- */

static int in_burst(const group *g, cc_time_us send, cc_time_us arr)
{
    cc_time_us arr_delta = arr - g->last_arr;
    cc_time_us send_delta = send - g->last_send;
    if (send_delta == 0)
        return 1;
    return arr_delta - send_delta < 0 && arr_delta <= BURST_US &&
           arr - g->first_arr < MAX_BURST_US;
}

static void group_packet(cc_bwe *b, cc_time_us send, cc_time_us arr)
{
    group *g = &b->cur;
    if (!g->valid) {
        *g = (group){1, send, send, arr, arr};
        return;
    }
    if (send < g->first_send)
        return; /* sent before the current group: reordered, ignored */
    if (send - g->first_send <= BURST_US || in_burst(g, send, arr)) {
        if (send > g->last_send)
            g->last_send = send;
        if (arr > g->last_arr)
            g->last_arr = arr;
        return;
    }
    /* A new group starts: the finished one is compared with the one
     * before it (section 5.1, d(i) = t(i) - t(i-1) - (T(i) - T(i-1))). */
    queue_sample(b, g->last_send, g->last_arr);
    if (b->prev.valid) {
        cc_time_us sd = g->last_send - b->prev.last_send;
        cc_time_us ad = g->last_arr - b->prev.last_arr;
        if (ad - sd > ARRIVAL_JUMP_US || ad - sd < -ARRIVAL_JUMP_US) {
            trend_reset(b);
            b->prev.valid = 0;
            *g = (group){1, send, send, arr, arr};
            return;
        }
        if (ad >= 0)
            trend_update(b, (double)sd / 1000.0, (double)ad / 1000.0,
                         g->last_arr);
    }
    b->prev = *g;
    *g = (group){1, send, send, arr, arr};
}

/* ---- loss-based control (section 6) ---- */

static void loss_update(cc_bwe *b, uint64_t lost, uint64_t total,
                        cc_time_us now)
{
    /* Growth goes on at every feedback while the last decision was "under
     * 2 %": 1.05 per report in the draft, whose reports come about once a
     * second, here 8 % a second plus 1 kbit/s (libwebrtc) scaled by the
     * time passed, so that it keeps pace with the delay-based rate instead
     * of trailing it by a step. */
    double dt = (double)(now - b->loss_last_grow) / 1e6;
    if (dt < 0)
        dt = 0;
    if (dt > 1)
        dt = 1;
    if (b->loss_grow)
        b->loss_bps = b->loss_bps * pow(INCREASE_FACTOR, dt) + 1000 * dt;
    b->loss_last_grow = now;

    b->acc_lost += lost;
    b->acc_total += total;
    if (b->acc_total < LOSS_MIN_PACKETS ||
        now - b->loss_last_eval < LOSS_MIN_INTERVAL_US)
        return;
    double p = (double)b->acc_lost / (double)b->acc_total;
    b->last_loss = p;
    b->loss_grow = p < LOSS_LOW;
    if (p > LOSS_HIGH && now - b->loss_last_decrease >=
                             LOSS_DECREASE_INTERVAL_US + rtt_or_default(b)) {
        b->loss_bps *= 1 - 0.5 * p;
        b->loss_last_decrease = now;
    }
    /* 2-10 %: hold (no growth until the next decision). */
    b->loss_last_eval = now;
    b->acc_lost = b->acc_total = 0;
}

/* ---- public ---- */

void cc_bwe_config_default(cc_bwe_config *c)
{
    *c = (cc_bwe_config){.min_bps = DEF_MIN_BPS,
                         .max_bps = DEF_MAX_BPS,
                         .start_bps = DEF_START_BPS,
                         .history = CC_BWE_DEFAULT_HISTORY};
}

cc_bwe *cc_bwe_new(const cc_bwe_config *cfg, cc_time_us now)
{
    cc_bwe_config c;
    cc_bwe_config_default(&c);
    if (cfg) {
        if (cfg->min_bps)
            c.min_bps = cfg->min_bps;
        if (cfg->max_bps)
            c.max_bps = cfg->max_bps;
        if (cfg->start_bps)
            c.start_bps = cfg->start_bps;
        if (cfg->history)
            c.history = cfg->history;
        c.no_probe = cfg->no_probe;
    }
    if (c.min_bps > c.max_bps)
        return NULL;
    unsigned h = 64;
    while (h < c.history && h < 32768)
        h <<= 1;
    c.history = h;
    c.start_bps = (uint32_t)clampd(c.start_bps, c.min_bps, c.max_bps);

    cc_bwe *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->hist = calloc(h, sizeof *b->hist);
    b->order = calloc(h, sizeof *b->order);
    if (!b->hist || !b->order) {
        cc_bwe_free(b);
        return NULL;
    }
    for (unsigned i = 0; i < h; i++)
        b->hist[i].seq = -1;
    b->cfg = c;
    b->hmask = h - 1;
    b->threshold = THRESH_INIT;
    b->time_over = -1;
    b->signal = CC_BWE_NORMAL;
    b->rate_state = CC_BWE_HOLD;
    b->delay_bps = c.start_bps;
    b->loss_bps = c.start_bps;
    b->lc_est = -1;
    b->lc_var = LC_VAR_MIN;
    b->last_change = now;
    b->loss_last_eval = now;
    b->loss_last_grow = now;
    b->loss_grow = 1; /* no loss known yet */
    b->loss_last_decrease = now - LOSS_DECREASE_INTERVAL_US - DEFAULT_RTT_US;
    b->last_timeout_cut = now;
    if (!c.no_probe) {
        b->probing = 1;
        double p1 = 3.0 * c.start_bps, p2 = 6.0 * c.start_bps;
        if (p1 >= c.max_bps) {
            probe_queue(b, c.max_bps);
        } else {
            probe_queue(b, p1);
            probe_queue(b, p2 < c.max_bps ? p2 : c.max_bps);
        }
    }
    update_target(b);
    return b;
}

void cc_bwe_free(cc_bwe *b)
{
    if (!b)
        return;
    free(b->hist);
    free(b->order);
    free(b);
}

void cc_bwe_on_sent(cc_bwe *b, uint16_t seq, size_t bytes, int probe_id,
                    cc_time_us now)
{
    if (!b)
        return;
    int64_t ext;
    if (!b->have_sent) {
        b->have_sent = 1;
        ext = seq;
        b->last_seq = ext;
    } else {
        ext = b->last_seq + (int16_t)(uint16_t)(seq - (uint16_t)b->last_seq);
        if (ext > b->last_seq)
            b->last_seq = ext;
        else if (b->last_seq - ext > (int64_t)b->hmask)
            return; /* far older than the history */
    }
    if (bytes > UINT32_MAX)
        bytes = UINT32_MAX;
    probe_cluster *pc = probe_find(b, probe_id);
    if (pc && pc->state == PROBE_WAIT)
        pc->sent_count++;
    else
        probe_id = 0;
    sent_pkt *s = &b->hist[ext & b->hmask];
    *s = (sent_pkt){.seq = ext,
                    .send = now,
                    .size = (uint32_t)bytes,
                    .probe = (int16_t)probe_id};
    b->last_send_time = now;
    win_add(&b->sent, now, (uint32_t)bytes);
}

static sent_pkt *lookup(cc_bwe *b, uint16_t seq)
{
    if (!b->have_sent)
        return NULL;
    int64_t ext = b->last_seq - (uint16_t)((uint16_t)b->last_seq - seq);
    if (b->last_seq - ext > (int64_t)b->hmask)
        return NULL;
    sent_pkt *s = &b->hist[ext & b->hmask];
    return s->seq == ext ? s : NULL;
}

static int arrives_before(const sent_pkt *a, const sent_pkt *c)
{
    if (a->arrival != c->arrival)
        return a->arrival < c->arrival;
    return a->seq < c->seq;
}

/* Insertion sort of one feedback's packets by arrival: feedback lists them
 * by sequence number, which is nearly arrival order, so this is about one
 * pass. Each sent packet is sorted at most once (it is reported once), so
 * even feedback crafted in reverse order costs at most the history size
 * per packet sent. */
static void sort_by_arrival(cc_bwe *b, size_t m)
{
    for (size_t i = 1; i < m; i++) {
        uint16_t x = b->order[i];
        size_t j = i;
        while (j > 0 && arrives_before(&b->hist[x], &b->hist[b->order[j - 1]])) {
            b->order[j] = b->order[j - 1];
            j--;
        }
        b->order[j] = x;
    }
}

int cc_bwe_on_feedback(cc_bwe *b, const cc_twcc_feedback *fb,
                       const cc_twcc_pkt *pkts, size_t n, cc_time_us now)
{
    if (!b || !fb || (n && !pkts))
        return CC_EINVAL;
    /* Unwrap the 24-bit reference time (64 ms units) against the last
     * one; arrivals shift with it. */
    int64_t ref = fb->reference_time & 0xFFFFFF;
    if (!b->have_ref) {
        b->have_ref = 1;
        b->ref_ext = ref;
    } else {
        int64_t d = (ref - (b->ref_ext & 0xFFFFFF)) & 0xFFFFFF;
        if (d >= 0x800000)
            d -= 0x1000000;
        b->ref_ext += d;
    }
    int64_t shift = (b->ref_ext - ref) * 64000;

    size_t m = 0;
    uint64_t lost = 0, total = 0;
    int64_t newest = -1;
    cc_time_us newest_send = 0;
    for (size_t i = 0; i < n; i++) {
        sent_pkt *s = lookup(b, pkts[i].seq);
        if (!s || s->reported) {
            b->st.unknown++;
            continue;
        }
        s->reported = 1;
        total++;
        probe_cluster *pc = probe_find(b, s->probe);
        if (!pkts[i].received) {
            lost++;
            if (pc)
                pc->lost_count++;
            continue;
        }
        s->arrival = pkts[i].arrival_us + shift;
        b->order[m++] = (uint16_t)(s - b->hist);
        if (s->seq > newest) {
            newest = s->seq;
            newest_send = s->send;
        }
    }
    b->st.acked += m;
    b->st.lost += lost;
    if (total == 0)
        return 0; /* nothing of ours: no state changes */

    sort_by_arrival(b, m);
    for (size_t j = 0; j < m; j++) {
        const sent_pkt *a = &b->hist[b->order[j]];
        acked_add(b, a->arrival, a->size);
        group_packet(b, a->send, a->arrival);
        probe_cluster *pc = probe_find(b, a->probe);
        if (pc && pc->state == PROBE_WAIT) {
            if (pc->recv_count == 0 || a->send < pc->first_send)
                pc->first_send = a->send;
            if (pc->recv_count == 0 || a->send >= pc->last_send) {
                pc->last_send = a->send;
                pc->last_send_size = a->size;
            }
            if (pc->recv_count == 0) {
                pc->first_arr = a->arrival;
                pc->first_arr_size = a->size;
            }
            pc->last_arr = a->arrival; /* sorted by arrival */
            pc->recv_count++;
            pc->recv_bytes += a->size;
        }
    }

    if (newest >= 0) {
        /* Feedback RTT: from sending the newest packet reported to now
         * (includes up to one feedback interval of waiting). */
        cc_time_us sample = now - newest_send;
        if (sample > 0)
            b->rtt = b->rtt > 0 ? (7 * b->rtt + sample) / 8 : sample;
    }
    b->st.feedbacks++;
    b->last_fb_time = now;

    /* Probe results first: the decrease may start from one. */
    probe_evaluate(b, now);
    if (m)
        delay_update(b, now);
    loss_update(b, lost, total, now);
    update_target(b);
    return 0;
}

void cc_bwe_on_remb(cc_bwe *b, uint64_t bps, cc_time_us now)
{
    (void)now;
    if (!b)
        return;
    b->remb = bps;
    update_target(b);
}

void cc_bwe_own_queue(cc_bwe *b, uint32_t floor_bps, cc_time_us until, cc_time_us now)
{
    if (!b || !floor_bps || until <= now)
        return;
    double f = clampd(floor_bps, b->cfg.min_bps, b->cfg.max_bps);
    /* One in force that is as high and lasts as long stays. */
    if (now < b->floor_until && b->floor_bps >= f && b->floor_until >= until)
        return;
    if (b->delay_bps < f)
        b->delay_bps = f;
    if (b->loss_bps < f && b->loss_grow) /* pulled down with it, not by loss */
        b->loss_bps = f;
    b->floor_bps = f;
    b->floor_until = until;
    /* nor the ceiling (and the capacity) that the over-use reset */
    if (b->ceil_at && b->ceil_bps < f)
        b->ceil_bps = f;
    update_target(b);
}

void cc_bwe_on_rtt(cc_bwe *b, cc_time_us rtt, cc_time_us now)
{
    (void)now;
    if (b && rtt > 0 && rtt < 10 * CC_USEC_PER_SEC)
        b->rtt = rtt;
}

void cc_bwe_tick(cc_bwe *b, cc_time_us now)
{
    if (!b)
        return;
    probe_evaluate(b, now);
    if (!b->have_sent || now - b->last_send_time > FEEDBACK_TIMEOUT_US)
        return; /* not sending: nothing to learn, nothing to cut */
    if (b->st.feedbacks == 0 && b->remb)
        return; /* a REMB-only peer */
    cc_time_us since = b->st.feedbacks ? now - b->last_fb_time
                                       : now - b->last_timeout_cut;
    if (since <= FEEDBACK_TIMEOUT_US ||
        now - b->last_timeout_cut < FEEDBACK_TIMEOUT_US)
        return;
    b->delay_bps *= TIMEOUT_FACTOR;
    b->loss_bps *= TIMEOUT_FACTOR;
    b->last_timeout_cut = now;
    b->st.timeouts++;
    update_target(b);
}

uint32_t cc_bwe_target_bps(const cc_bwe *b)
{
    return b ? (uint32_t)b->target : 0;
}

uint32_t cc_bwe_capacity_bps(const cc_bwe *b, cc_time_us now)
{
    return b ? (uint32_t)capacity(b, now) : 0;
}

uint32_t cc_bwe_shown_bps(const cc_bwe *b, cc_time_us now)
{
    if (!b)
        return 0;
    double most = 0;
    int64_t win = floor_div(now, CAPACITY_MEMORY_US / CAP_SAMPLES);
    for (int i = 0; i < CAP_SAMPLES; i++)
        if (b->shown_v[i] > 0 && win - b->shown_win[i] < CAP_SAMPLES && b->shown_v[i] > most)
            most = b->shown_v[i];
    return (uint32_t)most;
}

uint32_t cc_bwe_acked_bps(const cc_bwe *b)
{
    return b ? (uint32_t)acked_rate(b) : 0;
}

uint32_t cc_bwe_pacing_bps(const cc_bwe *b)
{
    return b ? (uint32_t)(b->target * CC_BWE_PACING_FACTOR) : 0;
}

void cc_bwe_get_stats(const cc_bwe *b, cc_bwe_stats *s)
{
    if (!b || !s)
        return;
    *s = b->st;
    s->target_bps = (uint32_t)b->target;
    s->delay_bps = (uint32_t)b->delay_bps;
    s->loss_bps = (uint32_t)b->loss_bps;
    s->acked_bps = (uint32_t)acked_rate(b);
    s->remb_bps = b->remb;
    s->rtt = b->rtt;
    s->signal = b->signal;
    s->rate_state = b->rate_state;
    s->trend = b->modified;
    s->threshold = b->threshold;
    s->loss = b->last_loss;
    s->queue_delay = standing_queue(b);
}
