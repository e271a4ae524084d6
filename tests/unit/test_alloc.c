/* Layer allocation for one subscriber, with a classroom's streams: the
 * teacher's camera in three simulcast layers (T2: 150 k / 500 k /
 * 1.5 Mbit/s, T0 40 %, T1 60 %), the screen in two (300 k / 1.5 M) and
 * audio at 40 k. Checks the policy of alloc.h: audio always, the screen
 * never paused and upgraded resolution first and before the camera, the
 * camera paused first; hysteresis (15 % up margin, downgrades at once, a
 * 2 s hold after a downgrade, doubling after a step up that failed);
 * estimates for unknown rates; target 0. */
#include "cc_test.h"
#include "classcast/alloc.h"
#include "classcast/err.h"

#define S CC_USEC_PER_SEC
#define MS CC_USEC_PER_MSEC

enum { CAM = 0, SCR = 1, AUD = 2 }; /* positions in the array: not priority */

static void set_layer(cc_alloc_layer *l, int w, int h, uint32_t top)
{
    l->width = (uint16_t)w;
    l->height = (uint16_t)h;
    l->available = 1;
    l->bps[0] = top * 4 / 10;
    l->bps[1] = top * 6 / 10;
    l->bps[2] = top;
}

static cc_alloc_stream camera(uint32_t id)
{
    cc_alloc_stream s;
    memset(&s, 0, sizeof s);
    s.id = id;
    s.kind = CC_ALLOC_CAMERA;
    s.n_spatial = 3;
    set_layer(&s.layer[0], 320, 180, 150000);
    set_layer(&s.layer[1], 640, 360, 500000);
    set_layer(&s.layer[2], 1280, 720, 1500000);
    return s;
}

/* A camera in two encodings, 320x180 and 640x360, with these top rates. */
static cc_alloc_stream camera2(uint32_t top0, uint32_t top1)
{
    cc_alloc_stream s;
    memset(&s, 0, sizeof s);
    s.id = 1;
    s.kind = CC_ALLOC_CAMERA;
    s.n_spatial = 2;
    set_layer(&s.layer[0], 320, 180, top0);
    set_layer(&s.layer[1], 640, 360, top1);
    return s;
}

static cc_alloc_stream screen(uint32_t id)
{
    cc_alloc_stream s;
    memset(&s, 0, sizeof s);
    s.id = id;
    s.kind = CC_ALLOC_SCREEN;
    s.n_spatial = 2;
    set_layer(&s.layer[0], 960, 540, 300000);
    set_layer(&s.layer[1], 1920, 1080, 1500000);
    return s;
}

static cc_alloc_stream audio(uint32_t id)
{
    cc_alloc_stream s;
    memset(&s, 0, sizeof s);
    s.id = id;
    s.kind = CC_ALLOC_AUDIO;
    s.layer[0].bps[0] = 40000;
    return s;
}

/* Camera first in the array on purpose: priority is by kind. */
static void classroom(cc_alloc_stream in[3])
{
    in[CAM] = camera(10);
    in[SCR] = screen(20);
    in[AUD] = audio(30);
}

#define CHECK_CHOICE(c, s, t)                                                  \
    do {                                                                       \
        CC_CHECK_EQ((c).spatial, (s));                                         \
        CC_CHECK_EQ((c).temporal, (t));                                        \
    } while (0)

static uint32_t total(const cc_alloc_choice *out, int n)
{
    uint32_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += out[i].bps;
    return sum;
}

static void test_300k(void)
{
    cc_alloc a;
    cc_alloc_stream in[3];
    cc_alloc_choice out[3];
    cc_alloc_init(&a);
    classroom(in);
    CC_CHECK_EQ(cc_alloc_run(&a, 300000, in, 3, out, 0), 3); /* all new */
    CHECK_CHOICE(out[AUD], 0, 0);
    CC_CHECK_EQ(out[AUD].bps, 40000);
    /* The screen's layers before the camera's: the half-size screen at
     * 2/3 of its frames (180 k of 300 / 1.15 - 40 = 221 k); the camera's
     * cheapest (60 k) does not fit beside it: paused. */
    CHECK_CHOICE(out[SCR], 0, 1);
    CHECK_CHOICE(out[CAM], -1, -1);
    CC_CHECK(total(out, 3) <= 300000);
    CC_CHECK_EQ(a.total_bps, total(out, 3));
    CC_CHECK(a.limited);
    CC_CHECK_EQ(a.full_bps, 40000 + 1500000 + 1500000);
    /* The same again: nothing changes. */
    CC_CHECK_EQ(cc_alloc_run(&a, 300000, in, 3, out, 100 * MS), 0);
}

static void test_little(void)
{
    cc_alloc a;
    cc_alloc_stream in[3];
    cc_alloc_choice out[3];
    classroom(in);
    /* 180 k: audio and the screen's cheapest (160 k) fit, the camera's
     * cheapest on top (220 k) does not: the camera is paused. */
    cc_alloc_init(&a);
    cc_alloc_run(&a, 180000, in, 3, out, 0);
    CHECK_CHOICE(out[AUD], 0, 0);
    CHECK_CHOICE(out[SCR], 0, 0);
    CHECK_CHOICE(out[CAM], -1, -1);
    CC_CHECK_EQ(out[CAM].bps, 0);
    /* 50 k: not even the screen fits; it keeps its cheapest option. */
    cc_alloc_init(&a);
    cc_alloc_run(&a, 50000, in, 3, out, 0);
    CHECK_CHOICE(out[AUD], 0, 0);
    CHECK_CHOICE(out[SCR], 0, 0);
    CHECK_CHOICE(out[CAM], -1, -1);
    /* A camera alone still gets paused when nothing fits. */
    cc_alloc_init(&a);
    cc_alloc_run(&a, 50000, in, 1, out, 0);
    CHECK_CHOICE(out[0], -1, -1);
}

static void test_1m(void)
{
    cc_alloc a;
    cc_alloc_stream in[3];
    cc_alloc_choice out[3];
    cc_alloc_init(&a);
    classroom(in);
    cc_alloc_run(&a, 1000000, in, 3, out, 0);
    /* Full resolution at 1/4 of the frames (600 k) before more frames at
     * 540p; the camera stays low. */
    CHECK_CHOICE(out[SCR], 1, 0);
    CHECK_CHOICE(out[CAM], 0, 0);
    CC_CHECK_EQ(total(out, 3), 40000 + 600000 + 60000);
}

static void test_plenty_and_unknown(void)
{
    cc_alloc a;
    cc_alloc_stream in[3];
    cc_alloc_choice out[3];
    classroom(in);
    cc_alloc_init(&a);
    cc_alloc_run(&a, 10000000, in, 3, out, 0);
    CHECK_CHOICE(out[SCR], 1, 2);
    CHECK_CHOICE(out[CAM], 2, 2);
    CHECK_CHOICE(out[AUD], 0, 0);
    CC_CHECK(!a.limited);
    /* No estimate yet: everything at its best, even with no rates. */
    cc_alloc_init(&a);
    cc_alloc_run(&a, 0, in, 3, out, 0);
    CHECK_CHOICE(out[SCR], 1, 2);
    CHECK_CHOICE(out[CAM], 2, 2);
    for (int i = 0; i < 3; i++)
        memset(in[i].layer[0].bps, 0, sizeof in[i].layer[0].bps),
        memset(in[i].layer[1].bps, 0, sizeof in[i].layer[1].bps),
        memset(in[i].layer[2].bps, 0, sizeof in[i].layer[2].bps);
    cc_alloc_init(&a);
    cc_alloc_run(&a, 0, in, 3, out, 0);
    CHECK_CHOICE(out[SCR], 1, 2);
    CHECK_CHOICE(out[CAM], 2, 2);
    CC_CHECK_EQ(out[AUD].bps, CC_ALLOC_AUDIO_DEFAULT_BPS);
    /* A layer the publisher does not send is never chosen. */
    classroom(in);
    in[CAM].layer[2].available = 0;
    cc_alloc_init(&a);
    cc_alloc_run(&a, 10000000, in, 3, out, 0);
    CHECK_CHOICE(out[CAM], 1, 2);
    cc_alloc_run(&a, 0, in, 3, out, 0);
    CHECK_CHOICE(out[CAM], 1, 2);
    /* Nothing available at all: paused, even a screen (nothing to send). */
    in[SCR].layer[0].available = in[SCR].layer[1].available = 0;
    cc_alloc_run(&a, 10000000, in, 3, out, 0);
    CHECK_CHOICE(out[SCR], -1, -1);
}

/* in[0]'s choice in a new allocator's first run at target. */
static cc_alloc_choice first_choice(const cc_alloc_stream *in, int n, uint32_t target)
{
    cc_alloc a;
    cc_alloc_choice out[CC_ALLOC_MAX_STREAMS];
    cc_alloc_init(&a);
    CC_CHECK(cc_alloc_run(&a, target, in, n, out, 0) >= 0);
    return out[0];
}

/* The screen takes the highest resolution that fits, then frame rate,
 * even where a low-resolution, high-frame-rate option costs more. */
static void test_screen_resolution_first(void)
{
    cc_alloc_stream in[2];
    in[0] = screen(1);
    set_layer(&in[0].layer[0], 960, 540, 500000);   /* 200/300/500 k */
    set_layer(&in[0].layer[1], 1920, 1080, 1000000); /* 400/600/1000 k */
    in[1] = audio(2);
    /* 700 k / 1.15 = 608 k: s0t2 (540k) and s1t0 (440 k) both fit with
     * audio; the full resolution wins. */
    CHECK_CHOICE(first_choice(in, 2, 700000), 1, 0);
    /* Only the lowest options fit: the best of those. */
    CHECK_CHOICE(first_choice(in, 2, 430000), 0, 1);

    /* ... unless the higher layer's thinned picture is sparse: a browser's
     * full-size screen at 15 frames/s whose TL0 comes at 1.7 frames/s
     * (over a second apart at times) ranks below the half-size screen at
     * 5 frames/s, and the student sees a moving board rather than a
     * freeze each time. */
    const float half[3] = {1.3f, 2.6f, 5.0f}, full[3] = {1.7f, 7.5f, 15.0f};
    for (int t = 0; t < 3; t++) {
        in[0].layer[0].fps[t] = half[t];
        in[0].layer[1].fps[t] = full[t];
    }
    /* As at first: s1t0 and s0t2 both fit. */
    CHECK_CHOICE(first_choice(in, 2, 700000), 0, 2);
    /* s1t1 is not sparse (7.5 frames/s): it wins where it fits. */
    CHECK_CHOICE(first_choice(in, 2, 800000), 1, 1);
    /* Where s1t0 fits and s0t1 does not, it is still taken over s0t0. */
    set_layer(&in[0].layer[0], 960, 540, 800000);   /* 320/480/800 k */
    CHECK_CHOICE(first_choice(in, 2, 560000), 1, 0);
    /* A TL0 at 3.5 frames/s is not sparse: resolution first again. */
    set_layer(&in[0].layer[0], 960, 540, 500000);
    in[0].layer[1].fps[0] = 3.5f;
    CHECK_CHOICE(first_choice(in, 2, 700000), 1, 0);
    /* A full-size screen the browser slowed to 4 frames/s (its uplink
     * cut), TL0 once a second, over a half-size one at 5 frames/s: the
     * half-size one moves more, so it ranks first. */
    const float slow[3] = {1.0f, 2.0f, 4.0f};
    for (int t = 0; t < 3; t++) {
        in[0].layer[0].fps[t] = half[t];
        in[0].layer[1].fps[t] = slow[t];
    }
    CHECK_CHOICE(first_choice(in, 2, 700000), 0, 2);
    /* ... not while the half-size one is itself under 3 frames/s. */
    for (int t = 0; t < 3; t++)
        in[0].layer[0].fps[t] = 0.5f * half[t];
    CHECK_CHOICE(first_choice(in, 2, 700000), 1, 0);
    /* A layer beneath that moves no more than the sparse one: no reason
     * to prefer it. */
    for (int t = 0; t < 3; t++)
        in[0].layer[1].fps[t] = full[t];
    in[0].layer[1].fps[0] = 1.7f;
    for (int t = 0; t < 3; t++)
        in[0].layer[0].fps[t] = 1.0f;
    CHECK_CHOICE(first_choice(in, 2, 700000), 1, 0);
}

/* A camera alone climbs its options in bitrate order. */
static void test_camera_by_bitrate(void)
{
    cc_alloc a;
    cc_alloc_stream in[1];
    cc_alloc_choice out[1];
    in[0] = camera(1);
    /* Low layer at a high frame rate dearer than the next layer's T0. */
    in[0].layer[0].bps[2] = 250000;
    static const struct { uint32_t target; int s, t; } want[] = {
        {80000, 0, 0},    /* 60 k */
        {120000, 0, 1},   /* 90 k */
        {240000, 1, 0},   /* 200 k < 250 k (0, 2) */
        {300000, 0, 2},   /* 250 k */
        {600000, 1, 2},   /* 500 k */
        {1800000, 2, 2},  /* 1.5 M */
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        cc_alloc_init(&a);
        cc_alloc_run(&a, want[i].target, in, 1, out, 0);
        CHECK_CHOICE(out[0], want[i].s, want[i].t);
    }
}

/* Rule 4: the camera upgrades only once the screen is at its best; with
 * camera_after_screen 0 it takes what the screen cannot use. */
static void test_camera_after_screen(void)
{
    cc_alloc a;
    cc_alloc_stream in[3];
    cc_alloc_choice out[3];
    classroom(in);
    cc_alloc_init(&a);
    cc_alloc_run(&a, 1500000, in, 3, out, 0);
    CHECK_CHOICE(out[SCR], 1, 1);  /* 900 k; 1.5 M does not fit */
    CHECK_CHOICE(out[CAM], 0, 0);
    cc_alloc_init(&a);
    a.cfg.camera_after_screen = 0;
    cc_alloc_run(&a, 1500000, in, 3, out, 0);
    CHECK_CHOICE(out[SCR], 1, 1);
    /* 1.5 M / 1.15 - 940 k = 364 k for the camera: (1, 1) at 300 k. */
    CHECK_CHOICE(out[CAM], 1, 1);
    /* The screen's upgrade comes before the camera's: it squeezes the
     * camera down. */
    cc_alloc_run(&a, 2100000, in, 3, out, 3 * S);
    CHECK_CHOICE(out[SCR], 1, 2);
    CC_CHECK(total(out, 3) <= 2100000);
    CC_CHECK(out[CAM].bps <= 2100000 - 1540000);
}

/* Going down: the camera's upgrades first, then the camera, then the
 * screen's upgrades. */
static void test_down_in_order(void)
{
    cc_alloc a;
    cc_alloc_stream in[3];
    cc_alloc_choice out[3];
    classroom(in);
    cc_alloc_init(&a);
    cc_time_us t = 0;
    cc_alloc_run(&a, 10000000, in, 3, out, t);
    CHECK_CHOICE(out[CAM], 2, 2);
    /* 2 M: the screen keeps 1.5 M, the camera drops to 300 k. */
    CC_CHECK_EQ(cc_alloc_run(&a, 2000000, in, 3, out, t += S), 1);
    CHECK_CHOICE(out[SCR], 1, 2);
    CHECK_CHOICE(out[CAM], 1, 1);
    CC_CHECK(out[CAM].changed && !out[SCR].changed && !out[AUD].changed);
    /* 1.2 M: the screen to 900 k, the camera to what is left. */
    cc_alloc_run(&a, 1200000, in, 3, out, t += S);
    CHECK_CHOICE(out[SCR], 1, 1);
    CC_CHECK(out[CAM].spatial >= 0 && total(out, 3) <= 1200000);
    /* 700 k: the screen's T0 at full resolution and the camera's cheapest. */
    cc_alloc_run(&a, 700000, in, 3, out, t += S);
    CHECK_CHOICE(out[SCR], 1, 0);
    CHECK_CHOICE(out[CAM], 0, 0);
    /* 650 k: the camera goes first; the screen keeps full resolution. */
    cc_alloc_run(&a, 650000, in, 3, out, t += S);
    CHECK_CHOICE(out[SCR], 1, 0);
    CHECK_CHOICE(out[CAM], -1, -1);
    /* 200 k: the camera is paused, the screen at its cheapest. */
    cc_alloc_run(&a, 200000, in, 3, out, t += S);
    CHECK_CHOICE(out[SCR], 0, 0);
    CHECK_CHOICE(out[CAM], -1, -1);
    CC_CHECK(a.downs >= 6);
}

/* Run n times alternating lo/hi every 500 ms; returns the changes. */
static int oscillate(cc_alloc *a, const cc_alloc_stream *in, int n,
                     cc_alloc_choice *out, uint32_t lo, uint32_t hi,
                     cc_time_us *t, int rounds)
{
    int changes = 0;
    for (int i = 0; i < rounds; i++) {
        *t += 500 * MS;
        changes += cc_alloc_run(a, i % 2 ? hi : lo, in, n, out, *t);
    }
    return changes;
}

static void test_hysteresis(void)
{
    cc_alloc a;
    cc_alloc_stream in[3];
    cc_alloc_choice out[3];
    classroom(in);
    cc_time_us t = 0;
    /* Around 1 M (screen (1, 0), 700 k in all): up to (1, 1) needs
     * 1.15 M, down needs less than 700 k. */
    cc_alloc_init(&a);
    cc_alloc_run(&a, 1000000, in, 3, out, t);
    CHECK_CHOICE(out[SCR], 1, 0);
    CC_CHECK_EQ(oscillate(&a, in, 3, out, 950000, 1050000, &t, 40), 0);
    /* Around the (1, 0) / (1, 1) boundary itself, from either side: the
     * screen at (1, 1) holds from 1 M (1000 k in all), goes up from
     * 1.15 M. */
    CC_CHECK_EQ(oscillate(&a, in, 3, out, 1030000, 1130000, &t, 40), 0);
    CHECK_CHOICE(out[SCR], 1, 0);
    cc_alloc_run(&a, 1300000, in, 3, out, t += S);
    CHECK_CHOICE(out[SCR], 1, 1);
    CC_CHECK_EQ(oscillate(&a, in, 3, out, 1030000, 1130000, &t, 40), 0);
    CHECK_CHOICE(out[SCR], 1, 1);
    /* Around the camera's pause, the screen at (0, 1): 280 k with the
     * camera's cheapest; resuming needs room for it twice, 391 k. A shown camera is not
     * pushed out by the screen's step up to (0, 2) either: that needs
     * 460 k with the camera's floor ((300 + 40 + 60) x 1.15). From on,
     * 290-440 k flips nothing; nor from paused, 290-320 k. */
    cc_alloc_init(&a);
    cc_alloc_run(&a, 340000, in, 3, out, t);
    CHECK_CHOICE(out[SCR], 0, 1);
    CHECK_CHOICE(out[CAM], 0, 0);
    CC_CHECK_EQ(oscillate(&a, in, 3, out, 290000, 440000, &t, 40), 0);
    cc_alloc_run(&a, 250000, in, 3, out, t += S);
    CHECK_CHOICE(out[SCR], 0, 1);
    CHECK_CHOICE(out[CAM], -1, -1);
    t += 5 * S;
    CC_CHECK_EQ(oscillate(&a, in, 3, out, 290000, 320000, &t, 40), 0);
    CHECK_CHOICE(out[CAM], -1, -1);
    /* Going up from there, the screen first: at 400 k (348 k / 1.15) its
     * (0, 2) fits and the camera's floor beside it does not. */
    cc_alloc_run(&a, 400000, in, 3, out, t += S);
    CHECK_CHOICE(out[SCR], 0, 2);
    CHECK_CHOICE(out[CAM], -1, -1);
}

static void test_hold(void)
{
    cc_alloc a;
    cc_alloc_stream in[3];
    cc_alloc_choice out[3];
    classroom(in);
    cc_alloc_init(&a);
    cc_time_us t = 10 * S;
    cc_alloc_run(&a, 1300000, in, 3, out, t);
    CHECK_CHOICE(out[SCR], 1, 1);
    /* A drop under the boundary: down at once. */
    cc_time_us drop = t += S;
    CC_CHECK_EQ(cc_alloc_run(&a, 900000, in, 3, out, drop), 1);
    CHECK_CHOICE(out[SCR], 1, 0);
    CC_CHECK_EQ(a.downs, 1);
    /* Back up to plenty: held for 2 s. */
    for (t = drop + 100 * MS; t < drop + CC_ALLOC_HOLD_US; t += 100 * MS) {
        CC_CHECK_EQ(cc_alloc_run(&a, 2000000, in, 3, out, t), 0);
        CHECK_CHOICE(out[SCR], 1, 0);
        CHECK_CHOICE(out[CAM], 0, 0); /* the screen is not at its best */
    }
    CC_CHECK(cc_alloc_run(&a, 2000000, in, 3, out, drop + CC_ALLOC_HOLD_US) >= 1);
    /* 2 M / 1.15 - 100 k = 1.64 M: the screen's best; then the camera
     * has 1.74 M - 1.54 M = 199 k: (0, 2). */
    CHECK_CHOICE(out[SCR], 1, 2);
    CHECK_CHOICE(out[CAM], 0, 2);
    CC_CHECK_EQ(a.ups, 2);
    /* A paused camera is not resumed during its hold either (paused over
     * 10 s after it came on: the plain 2 s). */
    drop = t = drop + 15 * S;
    cc_alloc_run(&a, 150000, in, 3, out, t);
    CHECK_CHOICE(out[CAM], -1, -1);
    cc_alloc_run(&a, 480000, in, 3, out, t += 500 * MS);
    CHECK_CHOICE(out[CAM], -1, -1);
    cc_alloc_run(&a, 480000, in, 3, out, drop + CC_ALLOC_HOLD_US);
    CHECK_CHOICE(out[CAM], 0, 0);
    /* hold_us is configurable. */
    a.cfg.hold_us = 0;
    cc_alloc_run(&a, 150000, in, 3, out, t = drop + 15 * S);
    CHECK_CHOICE(out[CAM], -1, -1);
    cc_alloc_run(&a, 480000, in, 3, out, t);
    CHECK_CHOICE(out[CAM], 0, 0);
}

/* A camera paused within 10 s of resuming: that resume failed, the next
 * waits twice as long (4, 8, 16 s), though each came 3 s apart (a
 * screen's failed step is judged over 2 s only). */
static void test_pause_backoff(void)
{
    cc_alloc a;
    cc_alloc_stream in[3];
    cc_alloc_choice out[3];
    classroom(in);
    cc_alloc_init(&a);
    cc_time_us t = 10 * S;
    const uint32_t lo = 250000, hi = 480000; /* camera paused / on */
    cc_alloc_run(&a, hi, in, 3, out, t);
    CHECK_CHOICE(out[CAM], 0, 0);
    cc_alloc_run(&a, lo, in, 3, out, t += 20 * S);
    CHECK_CHOICE(out[CAM], -1, -1);
    const cc_time_us holds[] = {2 * S, 4 * S, 8 * S, 16 * S};
    for (size_t k = 0; k < sizeof holds / sizeof holds[0]; k++) {
        cc_time_us down = t;
        cc_alloc_run(&a, hi, in, 3, out, down + holds[k] - 100 * MS);
        CHECK_CHOICE(out[CAM], -1, -1);
        cc_alloc_run(&a, hi, in, 3, out, t = down + holds[k]);
        CHECK_CHOICE(out[CAM], 0, 0);
        cc_alloc_run(&a, lo, in, 3, out, t += 3 * S);
        CHECK_CHOICE(out[CAM], -1, -1);
    }
}

/* A step up that does not hold doubles the hold before the next one, to
 * 16 s at most; a down after a step up that held resets it to 2 s. */
static void test_hold_backoff(void)
{
    cc_alloc a;
    cc_alloc_stream in[3];
    cc_alloc_choice out[3];
    classroom(in);
    cc_alloc_init(&a);
    cc_time_us t = 10 * S;
    const uint32_t lo = 900000, hi = 1300000; /* screen (1, 0) / (1, 1) */
    cc_alloc_run(&a, hi, in, 3, out, t);
    CHECK_CHOICE(out[SCR], 1, 1);
    cc_alloc_run(&a, lo, in, 3, out, t += S);
    CHECK_CHOICE(out[SCR], 1, 0);
    /* The estimate swings: each step up fails half a second later. The
     * holds: 2 s (the first down came long after the first choice), then
     * 4, 8, 16, 16. */
    const cc_time_us holds[] = {2 * S, 4 * S, 8 * S, 16 * S, 16 * S};
    for (size_t k = 0; k < sizeof holds / sizeof holds[0]; k++) {
        cc_time_us down = t;
        /* Held until the hold is over... */
        cc_alloc_run(&a, hi, in, 3, out, down + holds[k] - 100 * MS);
        CHECK_CHOICE(out[SCR], 1, 0);
        /* ... then up, and down again 500 ms later. */
        cc_alloc_run(&a, hi, in, 3, out, t = down + holds[k]);
        CHECK_CHOICE(out[SCR], 1, 1);
        cc_alloc_run(&a, lo, in, 3, out, t += 500 * MS);
        CHECK_CHOICE(out[SCR], 1, 0);
    }
    /* A step up that holds for 3 s: the next down gets 2 s again. */
    cc_alloc_run(&a, hi, in, 3, out, t += 16 * S);
    CHECK_CHOICE(out[SCR], 1, 1);
    cc_alloc_run(&a, lo, in, 3, out, t += 3 * S);
    CHECK_CHOICE(out[SCR], 1, 0);
    cc_alloc_run(&a, hi, in, 3, out, t + 2 * S - 100 * MS);
    CHECK_CHOICE(out[SCR], 1, 0);
    cc_alloc_run(&a, hi, in, 3, out, t + 2 * S);
    CHECK_CHOICE(out[SCR], 1, 1);
}

/* A camera steps up to another spatial layer only for 25 % more bits,
 * and down to another only if its own has nothing that fits; ladder (0,0) 40, (0,1) 60, (1,0) 68, (0,2) 100, (1,1) 102, (1,2) 170 k. */
static void test_camera_spatial_gain(void)
{
    cc_alloc a;
    cc_alloc_stream in[1] = {camera2(100000, 170000)};
    cc_alloc_choice out[1];
    cc_alloc_init(&a);
    cc_time_us t = 10 * S;
    cc_alloc_run(&a, 115000, in, 1, out, t);
    CHECK_CHOICE(out[0], 0, 2);
    /* 120 k / 1.15 = 104 k carries (1, 1) at 102 k: another encoding for
     * 2 % more, not taken. */
    CC_CHECK_EQ(cc_alloc_run(&a, 120000, in, 1, out, t += 3 * S), 0);
    CHECK_CHOICE(out[0], 0, 2);
    /* 200 k carries (1, 2) at 170 k: 70 % more, taken. */
    CC_CHECK_EQ(cc_alloc_run(&a, 200000, in, 1, out, t += 3 * S), 1);
    CHECK_CHOICE(out[0], 1, 2);
    /* Down goes to the best that fits: (1, 1). */
    cc_alloc_run(&a, 110000, in, 1, out, t += 3 * S);
    CHECK_CHOICE(out[0], 1, 1);
    /* ... in its own layer when that has one that fits: from (0, 2), 80 k
     * takes (0, 1) at 60 k, not (1, 0) at 68 k (a keyframe and a stall
     * for 8 k). */
    cc_alloc_init(&a);
    cc_alloc_run(&a, 115000, in, 1, out, t += 3 * S);
    CHECK_CHOICE(out[0], 0, 2);
    cc_alloc_run(&a, 80000, in, 1, out, t += 3 * S);
    CHECK_CHOICE(out[0], 0, 1);
    /* ... but not for fewer pictures a second: from (1, 2), 101 k takes
     * (0, 2) at 100 k, 30 pictures a second, not (1, 0) at 68 k and 7.5
     * (on a lossy link the smaller encoding is the better picture). */
    for (int l = 0; l < 2; l++) {
        in[0].layer[l].fps[0] = 7.5f;
        in[0].layer[l].fps[1] = 15.0f;
        in[0].layer[l].fps[2] = 30.0f;
    }
    cc_alloc_init(&a);
    cc_alloc_run(&a, 200000, in, 1, out, t += 3 * S);
    CHECK_CHOICE(out[0], 1, 2);
    cc_alloc_run(&a, 101000, in, 1, out, t += 3 * S);
    CHECK_CHOICE(out[0], 0, 2);
}

/* A camera steps up to another encoding only with as many pictures a
 * second: from 320x180 at 10 frames/s, 640x360 at 5 is more bits but not
 * a better camera picture (and a keyframe for every student). Ladder by
 * bitrate: (0,0) 100 k, (0,1) 150 k, (1,0) 200 k, (0,2) 250 k, (1,1)
 * 300 k, (1,2) 500 k; 5 / 10 / 20 frames/s in both encodings. */
static void test_camera_up_keeps_fps(void)
{
    cc_alloc a;
    cc_alloc_stream in[1] = {camera2(250000, 500000)};
    cc_alloc_choice out[1];
    for (int l = 0; l < 2; l++)
        for (int k = 0; k < 3; k++)
            in[0].layer[l].fps[k] = (float)(5 << k);
    cc_alloc_init(&a);
    cc_time_us t = 10 * S;
    cc_alloc_run(&a, 180000, in, 1, out, t);
    CHECK_CHOICE(out[0], 0, 1);
    /* Room for (1, 0) at 200 k, a third more than (0, 1): 5 frames/s
     * against 10, not taken. */
    cc_alloc_run(&a, 240000, in, 1, out, t += 3 * S);
    CHECK_CHOICE(out[0], 0, 1);
    /* Room for (0, 2): its own encoding, 20 frames/s. */
    cc_alloc_run(&a, 300000, in, 1, out, t += 3 * S);
    CHECK_CHOICE(out[0], 0, 2);
    /* (1, 1) at 10 frames/s: fewer, and under 25 % more. (1, 2) at 20:
     * taken. */
    cc_alloc_run(&a, 400000, in, 1, out, t += 3 * S);
    CHECK_CHOICE(out[0], 0, 2);
    cc_alloc_run(&a, 600000, in, 1, out, t += 3 * S);
    CHECK_CHOICE(out[0], 1, 2);
    /* With no estimate, the best is (1, 2) too. */
    cc_alloc_init(&a);
    cc_alloc_run(&a, 0, in, 1, out, t += 3 * S);
    CHECK_CHOICE(out[0], 1, 2);
    /* From (0, 0) (a camera just resumed), room for (1, 0) and (0, 1):
     * 640x360 at 5 frames/s has as many pictures as it has now, but
     * (0, 1) has 10; with room for (0, 2), that. */
    cc_alloc_init(&a);
    cc_alloc_run(&a, 125000, in, 1, out, t += 3 * S);
    CHECK_CHOICE(out[0], 0, 0);
    cc_alloc_run(&a, 240000, in, 1, out, t += 3 * S);
    CHECK_CHOICE(out[0], 0, 1);
    cc_alloc_init(&a);
    cc_alloc_run(&a, 125000, in, 1, out, t += 3 * S);
    cc_alloc_run(&a, 300000, in, 1, out, t += 3 * S);
    CHECK_CHOICE(out[0], 0, 2);
    /* Down from (1, 2) to 320 k: (1, 1) at 300 k fits, at 10 frames/s;
     * (0, 2) at 250 k has 20, where a camera coming up would stop. */
    cc_alloc_init(&a);
    cc_alloc_run(&a, 0, in, 1, out, t += 3 * S);
    CHECK_CHOICE(out[0], 1, 2);
    cc_alloc_run(&a, 320000, in, 1, out, t += 3 * S);
    CHECK_CHOICE(out[0], 0, 2);
    /* 640x360 sends 10 frames/s at most (240 k), 320x180 20 (250 k): the
     * larger picture is within 25 % of the top rate, but with half the
     * pictures; 320x180 is the best. */
    in[0].layer[1].bps[1] = in[0].layer[1].bps[2] = 240000;
    in[0].layer[1].fps[2] = 10.0f;
    cc_alloc_run(&a, 0, in, 1, out, t += 3 * S);
    CHECK_CHOICE(out[0], 0, 2);
}

/* No estimate (target 0: everything at its best), and a camera whose
 * encodings send about the same (a still picture): the measured rates
 * trade places by a few percent at every run. The largest picture stays
 * chosen; a change would cost the student a keyframe and a stall each
 * time. An encoding that sends a quarter more than the largest is the
 * better picture, and is taken. */
static void test_best_near_equal(void)
{
    cc_alloc a;
    cc_alloc_stream in[2];
    cc_alloc_choice out[2];
    in[0] = camera(1);
    in[1] = audio(2);
    cc_alloc_init(&a);
    cc_time_us t = 10 * S;
    int changes = 0;
    for (int k = 0; k < 20; k++) {
        for (int l = 0; l < 3; l++)
            set_layer(&in[0].layer[l], 320 << l, 180 << l,
                      (uint32_t)(300000 * (1 + 0.03 * (((k + l) % 3) - 1))));
        cc_alloc_run(&a, 0, in, 2, out, t += 250 * MS);
        CHECK_CHOICE(out[0], 2, 2);
        changes += k > 0 && out[0].changed;
    }
    CC_CHECK_EQ(changes, 0);
    CC_CHECK_EQ(a.limited, 0);
    /* The largest stopped (no longer available): the next one, as stable. */
    in[0].layer[2].available = 0;
    for (int k = 0; k < 8; k++) {
        for (int l = 0; l < 2; l++)
            set_layer(&in[0].layer[l], 320 << l, 180 << l,
                      (uint32_t)(300000 * (1 + 0.03 * (((k + l) % 2) * 2 - 1))));
        cc_alloc_run(&a, 0, in, 2, out, t += 250 * MS);
        CHECK_CHOICE(out[0], 1, 2);
    }
    /* Back, and 640x360 sends 40 % more than 1280x720: 640x360. */
    in[0].layer[2].available = 1;
    set_layer(&in[0].layer[1], 640, 360, 420000);
    set_layer(&in[0].layer[2], 1280, 720, 300000);
    cc_alloc_run(&a, 0, in, 2, out, t += 250 * MS);
    CHECK_CHOICE(out[0], 1, 2);
}

/* keyframe_cap_bps: a step that costs a keyframe (another spatial layer
 * up, a paused camera resumed) only within cap / 1.15, its keyframe
 * counted as a second of more rate, while temporal
 * steps follow the estimate; 0 lifts it. Ladders: screen (0, 0..2) 120 /
 * 180 / 300 k, (1, 0) 600 k; the camera's floor 60 k; audio 40 k. */
static void test_keyframe_cap(void)
{
    cc_alloc a;
    cc_alloc_stream in[3];
    cc_alloc_choice out[3];
    classroom(in);
    cc_alloc_init(&a);
    cc_time_us t = 10 * S;
    cc_alloc_run(&a, 500000, in, 3, out, t);
    CHECK_CHOICE(out[SCR], 0, 2);
    CHECK_CHOICE(out[CAM], 0, 0);
    /* 1 M would take the screen to (1, 0): 600 + 40 + the camera's 60 k
     * = 700 k <= 1 M / 1.15. The link carried 800 k at its last limit:
     * 700 k > 800 k / 1.15 = 696 k, so it stays. */
    a.keyframe_cap_bps = 800000;
    CC_CHECK_EQ(cc_alloc_run(&a, 1000000, in, 3, out, t += 3 * S), 0);
    CHECK_CHOICE(out[SCR], 0, 2);
    /* What would let it go: 700 k x 1.15 (cap_want_bps). */
    CC_CHECK(a.cap_want_bps >= 804000 && a.cap_want_bps <= 806000);
    /* 820 k (713 k) would carry it, but not with its keyframe of 5 KB
     * (40 k more for a second); 870 k (757 k) does. */
    in[SCR].layer[1].kf_bytes = 5000;
    a.keyframe_cap_bps = 820000;
    CC_CHECK_EQ(cc_alloc_run(&a, 1000000, in, 3, out, t += S), 0);
    CHECK_CHOICE(out[SCR], 0, 2);
    CC_CHECK(a.cap_want_bps >= 850000 && a.cap_want_bps <= 852000); /* 740 k x 1.15 */
    a.keyframe_cap_bps = 870000;
    cc_alloc_run(&a, 1000000, in, 3, out, t += S);
    CHECK_CHOICE(out[SCR], 1, 0);
    CC_CHECK_EQ(a.cap_want_bps, 0);
    /* The camera paused at 250 k; 500 k would resume it (400 k in all),
     * a 300 k capacity (261 k) does not, while the screen still climbs
     * within its layer (0, 1) -> (0, 2) on the estimate. */
    a.keyframe_cap_bps = 300000;
    cc_alloc_run(&a, 250000, in, 3, out, t += S);
    CHECK_CHOICE(out[SCR], 0, 1);
    CHECK_CHOICE(out[CAM], -1, -1);
    CC_CHECK_EQ(a.cap_want_bps, 0); /* the estimate holds it too */
    /* (the screen's hold is 4 s: its step up held only 1 s) */
    cc_alloc_run(&a, 500000, in, 3, out, t += 5 * S);
    CHECK_CHOICE(out[SCR], 0, 2);
    CHECK_CHOICE(out[CAM], -1, -1);
    CC_CHECK(a.cap_want_bps >= 459000 && a.cap_want_bps <= 461000); /* 400 k x 1.15 */
    a.keyframe_cap_bps = 0;
    cc_alloc_run(&a, 500000, in, 3, out, t += S);
    CHECK_CHOICE(out[CAM], 0, 0);
}

/* A screen held on a sparse option (under 3 pictures/s) steps up into a
 * shown camera's floor: (0, 1) at 2 pictures/s, the camera on at 60 k;
 * 400 k carries (0, 2) only without leaving the camera's floor aside
 * (348 k up limit - 40 k audio = 308 k >= 300 k; with the floor 248 k). */
static void test_sparse_screen_over_camera(void)
{
    cc_alloc a;
    cc_alloc_stream in[3];
    cc_alloc_choice out[3];
    classroom(in);
    in[SCR].layer[0].fps[0] = 1.0f;
    in[SCR].layer[0].fps[1] = 2.0f;
    in[SCR].layer[0].fps[2] = 5.0f;
    cc_alloc_init(&a);
    cc_time_us t = 10 * S;
    cc_alloc_run(&a, 600000, in, 3, out, t);
    CHECK_CHOICE(out[SCR], 0, 2);
    CHECK_CHOICE(out[CAM], 0, 0);
    cc_alloc_run(&a, 300000, in, 3, out, t += 3 * S);
    CHECK_CHOICE(out[SCR], 0, 1);
    CHECK_CHOICE(out[CAM], 0, 0);
    cc_alloc_run(&a, 400000, in, 3, out, t += 3 * S);
    CHECK_CHOICE(out[SCR], 0, 2);
    CHECK_CHOICE(out[CAM], 0, 0);
    /* Not sparse (unknown rate): the floor is left aside, (0, 1) stays. */
    in[SCR].layer[0].fps[1] = 0;
    cc_alloc_init(&a);
    cc_alloc_run(&a, 600000, in, 3, out, t += 3 * S);
    cc_alloc_run(&a, 300000, in, 3, out, t += 3 * S);
    cc_alloc_run(&a, 400000, in, 3, out, t += 3 * S);
    CHECK_CHOICE(out[SCR], 0, 1);
    CHECK_CHOICE(out[CAM], 0, 0);
}

/* cc_alloc_run_band: down to what fits the target, up only to what fits
 * the lower up_bps / 1.15; up_bps 0 or above the target is the target. */
static void test_band(void)
{
    cc_alloc a;
    cc_alloc_stream in[3];
    cc_alloc_choice out[3];
    classroom(in);
    cc_alloc_init(&a);
    cc_time_us t = 10 * S;
    cc_alloc_run_band(&a, 1000000, 1000000, in, 3, out, t);
    CHECK_CHOICE(out[SCR], 1, 0);
    /* A moment of 2 M while the lasting estimate is 1 M: nothing goes up
     * ((1, 1) needs 1.15 M of up_bps). */
    CC_CHECK_EQ(cc_alloc_run_band(&a, 2000000, 1000000, in, 3, out, t += S), 0);
    CHECK_CHOICE(out[SCR], 1, 0);
    CC_CHECK_EQ(a.ups, 0);
    /* The lasting estimate reaches 1.3 M: (1, 1), as cc_alloc_run at 1.3 M. */
    cc_alloc_run_band(&a, 2000000, 1300000, in, 3, out, t += S);
    CHECK_CHOICE(out[SCR], 1, 1);
    /* Down follows the target alone: 1.05 M with a lasting 600 k keeps
     * (1, 1) (1000 k in all fits), 900 k takes it down. */
    CC_CHECK_EQ(cc_alloc_run_band(&a, 1050000, 600000, in, 3, out, t += S), 0);
    CHECK_CHOICE(out[SCR], 1, 1);
    cc_alloc_run_band(&a, 900000, 600000, in, 3, out, t += S);
    CHECK_CHOICE(out[SCR], 1, 0);
    /* up_bps 0 or above the target: the target. */
    cc_alloc b;
    cc_alloc_init(&b);
    cc_alloc_run_band(&b, 1300000, 0, in, 3, out, t);
    CHECK_CHOICE(out[SCR], 1, 1);
    cc_alloc_init(&b);
    cc_alloc_run_band(&b, 1300000, 5000000, in, 3, out, t);
    CHECK_CHOICE(out[SCR], 1, 1);
    /* A camera new to the allocator starts as if going up: from up_bps. */
    cc_alloc_init(&b);
    cc_alloc_run_band(&b, 480000, 200000, in, 3, out, t);
    CHECK_CHOICE(out[CAM], -1, -1);
    cc_alloc_init(&b);
    cc_alloc_run_band(&b, 480000, 480000, in, 3, out, t);
    CHECK_CHOICE(out[CAM], 0, 0);
}

/* Unknown rates (0) of available layers are estimated, so a stream that
 * has just started is allocated. */
static void test_estimates(void)
{
    cc_alloc a;
    cc_alloc_stream in[2];
    cc_alloc_choice out[2];
    /* Only the camera's top layer is measured, and only in full. */
    in[0] = camera(1);
    for (int s = 0; s < 2; s++)
        memset(in[0].layer[s].bps, 0, sizeof in[0].layer[s].bps);
    in[0].layer[2].bps[0] = in[0].layer[2].bps[1] = 0;
    in[1] = audio(2);
    cc_alloc_init(&a);
    /* T0 of the top: 40 % of 1.5 M. */
    cc_alloc_run(&a, 800000, in, 2, out, 0);
    CHECK_CHOICE(out[0], 2, 0);
    CC_CHECK_EQ(out[0].bps, 600000);
    /* 640x360 is a quarter of the pixels: 375 k in full. */
    cc_alloc_init(&a);
    cc_alloc_run(&a, 480000, in, 2, out, 0);
    CHECK_CHOICE(out[0], 1, 2);
    CC_CHECK_EQ(out[0].bps, 375000);
    /* Without sizes: a quarter per step down (layer 0: 1/16 of 1.5 M,
     * 94 k + 40 k of audio fit 160 k / 1.15; layer 1's T0, 150 k, not). */
    for (int s = 0; s < 3; s++)
        in[0].layer[s].width = in[0].layer[s].height = 0;
    cc_alloc_init(&a);
    cc_alloc_run(&a, 160000, in, 2, out, 0);
    CHECK_CHOICE(out[0], 0, 2);
    CC_CHECK_EQ(out[0].bps, 1500000 / 16);
    /* Nothing measured at all: from the size (720p about 1.5 M). */
    in[0] = camera(1);
    for (int s = 0; s < 3; s++)
        memset(in[0].layer[s].bps, 0, sizeof in[0].layer[s].bps);
    cc_alloc_init(&a);
    cc_alloc_run(&a, 3000000, in, 2, out, 0);
    CHECK_CHOICE(out[0], 2, 2);
    CC_CHECK(out[0].bps > 1000000 && out[0].bps < 2000000);
    cc_alloc_init(&a);
    cc_alloc_run(&a, 300000, in, 2, out, 0);
    CC_CHECK(out[0].spatial >= 0); /* allocated, not paused */
    /* T0 measured, the rest unknown: T2 from it (200 k / 0.4); 650 k /
     * 1.15 = 565 k holds it but not (2, 0) at 600 k. */
    in[0] = camera(1);
    in[0].layer[1].bps[1] = in[0].layer[1].bps[2] = 0;
    cc_alloc_init(&a);
    cc_alloc_run(&a, 650000, in, 1, out, 0);
    CHECK_CHOICE(out[0], 1, 2);
    CC_CHECK_EQ(out[0].bps, 500000);
}

static void test_ids_and_errors(void)
{
    cc_alloc a;
    cc_alloc_stream in[CC_ALLOC_MAX_STREAMS + 1];
    cc_alloc_choice out[CC_ALLOC_MAX_STREAMS + 1];
    classroom(in);
    cc_alloc_init(&a);
    CC_CHECK_EQ(cc_alloc_run(&a, 1000000, in, 3, out, 0), 3);
    /* The order of the array does not matter: state follows the id. */
    cc_alloc_stream sw[3] = {in[AUD], in[SCR], in[CAM]};
    CC_CHECK_EQ(cc_alloc_run(&a, 1000000, sw, 3, out, S), 0);
    CHECK_CHOICE(out[1], 1, 0);
    /* A stream that leaves is forgotten; back, it is new. */
    CC_CHECK_EQ(cc_alloc_run(&a, 1000000, in + 1, 2, out, 2 * S), 0);
    CC_CHECK_EQ(a.n, 2);
    CC_CHECK_EQ(cc_alloc_run(&a, 1000000, in, 3, out, 3 * S), 1);
    CC_CHECK(out[CAM].changed);
    /* Bad input changes nothing. */
    cc_alloc_stream bad[3];
    memcpy(bad, in, sizeof bad);
    bad[2].id = bad[0].id;
    CC_CHECK_EQ(cc_alloc_run(&a, 1000000, bad, 3, out, 4 * S), CC_EINVAL);
    memcpy(bad, in, sizeof bad);
    bad[1].kind = 7;
    CC_CHECK_EQ(cc_alloc_run(&a, 1000000, bad, 3, out, 4 * S), CC_EINVAL);
    memcpy(bad, in, sizeof bad);
    bad[0].n_spatial = 4;
    CC_CHECK_EQ(cc_alloc_run(&a, 1000000, bad, 3, out, 4 * S), CC_EINVAL);
    for (int i = 0; i <= CC_ALLOC_MAX_STREAMS; i++) {
        in[i] = camera((uint32_t)i + 100);
    }
    CC_CHECK_EQ(cc_alloc_run(&a, 1000000, in, CC_ALLOC_MAX_STREAMS + 1, out, 4 * S), CC_EINVAL);
    CC_CHECK_EQ(cc_alloc_run(&a, 1000000, in, -1, out, 4 * S), CC_EINVAL);
    CC_CHECK_EQ(a.n, 3);
    /* Sixteen cameras at 1 M: served in array order; the total fits. */
    CC_CHECK_EQ(cc_alloc_run(&a, 1000000, in, CC_ALLOC_MAX_STREAMS, out, 5 * S), 16);
    CC_CHECK(total(out, CC_ALLOC_MAX_STREAMS) <= 1000000);
    CC_CHECK(out[0].spatial >= 0);
    CC_CHECK_EQ(out[CC_ALLOC_MAX_STREAMS - 1].spatial, -1);
    CC_CHECK_EQ(cc_alloc_run(&a, 1000000, in, 0, out, 6 * S), 0);
}

/* Keyframes: a layer whose last keyframe would take longer than
 * kf_max_us (1 s) at the target is left out. */
static void test_keyframes(void)
{
    cc_alloc a;
    cc_alloc_stream in[3];
    cc_alloc_choice out[3];
    /* 900 k: the full-size screen at T0 (600 k) fits the rate, but its
     * 120 KB keyframe takes 1.07 s: the half-size screen at its best. */
    classroom(in);
    in[SCR].layer[0].kf_bytes = 30000;
    in[SCR].layer[1].kf_bytes = 120000;
    cc_alloc_init(&a);
    cc_alloc_run(&a, 900000, in, 3, out, 0);
    CHECK_CHOICE(out[SCR], 0, 2);
    CC_CHECK(a.limited);
    /* Not weighed (kf_max_us 0), or the size unknown: the full size. */
    cc_alloc_init(&a);
    a.cfg.kf_max_us = 0;
    cc_alloc_run(&a, 900000, in, 3, out, 0);
    CHECK_CHOICE(out[SCR], 1, 0);
    in[SCR].layer[1].kf_bytes = 0;
    cc_alloc_init(&a);
    cc_alloc_run(&a, 900000, in, 3, out, 0);
    CHECK_CHOICE(out[SCR], 1, 0);
    /* At 1.2 M the full-size keyframe takes 0.8 s: the full size again. */
    in[SCR].layer[1].kf_bytes = 120000;
    cc_alloc_init(&a);
    cc_alloc_run(&a, 1200000, in, 3, out, 0);
    CC_CHECK_EQ(out[SCR].spatial, 1);

    /* 480 k: audio, the half-size screen at its best (300 k) and the
     * camera's cheapest (60 k) fit the rate; a camera whose every keyframe
     * takes over 1 s keeps its lowest layer (the rates decide, as without
     * keyframe sizes). */
    classroom(in);
    cc_alloc_init(&a);
    cc_alloc_run(&a, 480000, in, 3, out, 0);
    CC_CHECK_EQ(out[CAM].spatial, 0);
    for (int l = 0; l < 3; l++)
        in[CAM].layer[l].kf_bytes = 70000u << l;
    cc_alloc_init(&a);
    cc_alloc_run(&a, 480000, in, 3, out, 0);
    CC_CHECK_EQ(out[CAM].spatial, 0);
    CC_CHECK_EQ(out[SCR].spatial, 0);
    /* A camera alone at 2 M: 1280x720 (1.5 M) fits the rate, its 300 KB
     * keyframe (2.4 Mbit) does not; 640x360 at its best instead. */
    cc_alloc_stream cam = camera(10);
    cc_alloc_init(&a);
    cc_alloc_run(&a, 2000000, &cam, 1, out, 0);
    CHECK_CHOICE(out[0], 2, 2);
    cam.layer[0].kf_bytes = 8000;
    cam.layer[1].kf_bytes = 30000;
    cam.layer[2].kf_bytes = 300000;
    cc_alloc_init(&a);
    cc_alloc_run(&a, 2000000, &cam, 1, out, 0);
    CHECK_CHOICE(out[0], 1, 2);

    /* A screen is never paused: one layer with a 200 KB keyframe at
     * 300 k keeps it, and a probe aims where that keyframe fits. */
    cc_alloc_stream one = screen(20);
    one.n_spatial = 1;
    one.layer[0] = one.layer[1];
    one.layer[0].kf_bytes = 400000;
    cc_alloc_init(&a);
    cc_alloc_run(&a, 300000, &one, 1, out, 0);
    CHECK_CHOICE(out[0], 0, 0);
    CC_CHECK_EQ(a.full_bps, 3200000);
}

/* A cut the link does not bear out is held through (alloc.h,
 * cc_alloc_cut_target): at what was sent, for at most CC_ALLOC_CUT_HOLD,
 * while the link shows no queue and little loss; once per cut. */
static void test_cut_hold(void)
{
    cc_alloc_cut c = {0};
    const cc_time_us ms = CC_USEC_PER_MSEC;
    cc_time_us t = 100 * CC_USEC_PER_SEC;
    const uint32_t held = (uint32_t)(980000 * (1 + CC_ALLOC_CUT_SLACK));
    /* No estimate, or one that covers what is sent: itself. */
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 0, 980000, 992000, 0, 0, t), 0);
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 1200000, 980000, 992000, 0, 0, t), 1200000);
    /* Cut to 871 k under the 980 k sent, which the link carried over a
     * second (992 k shown), no queue: held, for 4 s. */
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 871000, 980000, 992000, 5 * ms, 0, t), held);
    CC_CHECK_EQ(c.holds, 1);
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 900000, 980000, 992000, 10 * ms, 0.01, t + 2000 * ms), held);
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 950000, 980000, 992000, 0, 0, t + CC_ALLOC_CUT_HOLD - 2 * ms), held);
    /* What is sent swings (a keyframe in its layers' rates): up to the
     * slack over what the link showed, the hold follows it. */
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 950000, 1030000, 992000, 0, 0, t + CC_ALLOC_CUT_HOLD - ms),
                (uint32_t)(1030000 * (1 + CC_ALLOC_CUT_SLACK)));
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 950000, 980000, 992000, 0, 0, t + CC_ALLOC_CUT_HOLD), 950000);
    /* ... and not again while this cut lasts. */
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 950000, 980000, 992000, 0, 0, t + 5000 * ms), 950000);
    CC_CHECK_EQ(c.holds, 1);
    /* The estimate back to what is sent: the next cut is held again. */
    t += 10 * CC_USEC_PER_SEC;
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 1000000, 980000, 992000, 0, 0, t), 1000000);
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 850000, 980000, 992000, 0, 0, t + 250 * ms), held);
    CC_CHECK_EQ(c.holds, 2);
    /* A queue shows (the link really got slower): over at once, and over
     * for this cut even when the queue is gone. */
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 800000, 980000, 992000, CC_ALLOC_CUT_QUEUE + ms, 0, t + 500 * ms), 800000);
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 800000, 980000, 992000, 0, 0, t + 750 * ms), 800000);
    /* Not held where the link never carried what is sent, or loses. */
    t += 10 * CC_USEC_PER_SEC;
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 1000000, 980000, 992000, 0, 0, t), 1000000);
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 850000, 980000, 930000, 0, 0, t + 250 * ms), 850000);
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 850000, 980000, 992000, 0, 0, t + 500 * ms), 850000);
    t += 10 * CC_USEC_PER_SEC;
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 1000000, 980000, 992000, 0, 0, t), 1000000);
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 850000, 980000, 992000, 0, 0.05, t + 250 * ms), 850000);
    CC_CHECK_EQ(c.holds, 2);
    /* A later cut under less sent: held at that. */
    t += 10 * CC_USEC_PER_SEC;
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 1000000, 980000, 992000, 0, 0, t), 1000000);
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 500000, 400000, 992000, 0, 0, t + 250 * ms), 500000);
    CC_CHECK_EQ(cc_alloc_cut_target(&c, 300000, 400000, 992000, 0, 0, t + 500 * ms),
                (uint32_t)(400000 * (1 + CC_ALLOC_CUT_SLACK)));
}

/* Which held-back steps get a fill, and to what (cc_alloc_fill_want).
 * The first rows are the 1 Mbit/s link of scripts/bench/links: its
 * layers fill it, it has carried 980 kbit/s over a second and over-used
 * at 973; the camera's 640x480 step wants 1170. */
static void test_fill_want(void)
{
    const cc_time_us s = CC_USEC_PER_SEC, quiet = CC_ALLOC_FILL_QUIET;
    static const struct {
        uint32_t want, capacity, shown, carried;
        cc_time_us limit_age;
        uint32_t fill;
        const char *why;
    } c[] = {
        {1170000, 973000, 980000, 980000, 2 * s, 0, "at its shown limit, over-used 2 s ago"},
        {1170000, 973000, 980000, 980000, quiet - 1, 0, "... and just under 20 s ago"},
        {1170000, 973000, 980000, 980000, quiet, 1170000, "20 s without a limit: got faster?"},
        {1170000, 973000, 980000, 980000, -1, 1170000, "no limit seen"},
        /* A capacity read while little was sent (the screen alone): what
         * arrived over a second never came near it. */
        {900000, 741000, 650000, 741000, s, 900000, "capacity read low, right after"},
        {930000, 741000, 650000, 741000, s, 0, "beyond 1.25 x the capacity"},
        {760000, 741000, 650000, 741000, s, 0, "within 1.05 x the capacity"},
        {800000, 741000, 650000, 780000, s, 0, "within 1.05 x what the link carried"},
        {1170000, 1000000, 899000, 1000000, s, 1170000, "shown under 90 % of the capacity"},
        {1170000, 1000000, 910000, 1000000, s, 0, "shown over 90 %: at its limit"},
        /* No capacity yet: up to twice what the link has shown, a step at
         * a time, once 20 s have passed since its last limit (the 300
         * kbit/s link whose queue stood 3 s before). */
        {500000, 0, 200000, 200000, 3 * s, 0, "no capacity, queued 3 s ago"},
        {500000, 0, 200000, 200000, -1, 400000, "no capacity: twice what it showed"},
        {300000, 0, 200000, 200000, -1, 300000, "no capacity: the step"},
        {300000, 0, 0, 0, -1, 0, "nothing known"},
        {0, 0, 200000, 200000, -1, 0, "nothing wanted"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        cc_alloc_link l = {.want_bps = c[i].want, .capacity_bps = c[i].capacity,
                           .shown_bps = c[i].shown, .carried_bps = c[i].carried,
                           .limit_age = c[i].limit_age};
        uint32_t got = cc_alloc_fill_want(&l);
        if (got != c[i].fill)
            printf("fill want, %s: %u, not %u\n", c[i].why, got, c[i].fill);
        CC_CHECK_EQ(got, c[i].fill);
    }
}

/* carried_bps: any step up, a temporal one too, stays within what the
 * link has carried, and one held back by that alone is in cap_want_bps
 * (the step's total: what a fill must show). Not a step down: what is
 * chosen stays while the estimate carries it. */
static void test_carried(void)
{
    cc_alloc a;
    cc_alloc_stream in[3];
    cc_alloc_choice out[3];
    cc_time_us t = 10 * S;
    classroom(in);
    /* Without it: 600 k (522 k with the margin) takes the screen to
     * (0, 2) and the camera on: 300 + 60 + 40 = 400 k. */
    cc_alloc_init(&a);
    cc_alloc_run(&a, 250000, in, 3, out, t);
    cc_alloc_run(&a, 600000, in, 3, out, t += 3 * S);
    CHECK_CHOICE(out[SCR], 0, 2);
    CHECK_CHOICE(out[CAM], 0, 0);
    CC_CHECK_EQ(a.cap_want_bps, 0);
    /* With a link that carried 300 k: the same estimate takes them only
     * as far as 300 k (the screen's (0, 2) with the audio is 340 k). */
    cc_alloc_init(&a);
    a.carried_bps = 300000;
    cc_alloc_run(&a, 250000, in, 3, out, t += S);
    cc_alloc_run(&a, 600000, in, 3, out, t += 3 * S);
    CC_CHECK_EQ(total(out, 3), 280000);
    CHECK_CHOICE(out[SCR], 0, 1);
    CHECK_CHOICE(out[CAM], 0, 0);
    /* What would let the screen up is wanted, its total itself: 300 k
     * with the audio and the camera's floor, 400 k. */
    cc_alloc_run(&a, 600000, in, 3, out, t += S);
    CC_CHECK(a.cap_want_bps >= 399000 && a.cap_want_bps <= 401000);
    /* The link shows it carries that (a fill): the step goes. */
    a.carried_bps = 400000;
    cc_alloc_run(&a, 600000, in, 3, out, t += S);
    CHECK_CHOICE(out[SCR], 0, 2);
    CC_CHECK_EQ(a.cap_want_bps, 0);
    /* What is chosen is not taken down by it, only kept from going up. */
    a.carried_bps = 200000;
    cc_alloc_run(&a, 600000, in, 3, out, t += S);
    CHECK_CHOICE(out[SCR], 0, 2);
    CHECK_CHOICE(out[CAM], 0, 0);
    /* A step to another spatial layer held back by it wants what the
     * keyframe limit needs as well (the margin on top): the screen's
     * (1, 0) with the audio and the camera's floor, 700 k x 1.15. */
    cc_alloc_init(&a);
    a.carried_bps = 500000;
    cc_alloc_run(&a, 500000, in, 3, out, t += S);
    cc_alloc_run(&a, 1000000, in, 3, out, t += 3 * S);
    CHECK_CHOICE(out[SCR], 0, 2);
    CC_CHECK(a.cap_want_bps >= 804000 && a.cap_want_bps <= 806000);
    /* A paused camera resumes only within it too. */
    cc_alloc_init(&a);
    a.carried_bps = 250000;
    cc_alloc_run(&a, 250000, in, 3, out, t += S);
    cc_alloc_run(&a, 600000, in, 3, out, t += 3 * S);
    CHECK_CHOICE(out[CAM], -1, -1);
    CC_CHECK(total(out, 3) <= 250000);
}

int main(void)
{
    CC_RUN(test_300k);
    CC_RUN(test_little);
    CC_RUN(test_1m);
    CC_RUN(test_plenty_and_unknown);
    CC_RUN(test_screen_resolution_first);
    CC_RUN(test_camera_by_bitrate);
    CC_RUN(test_camera_after_screen);
    CC_RUN(test_down_in_order);
    CC_RUN(test_hysteresis);
    CC_RUN(test_hold);
    CC_RUN(test_hold_backoff);
    CC_RUN(test_pause_backoff);
    CC_RUN(test_camera_spatial_gain);
    CC_RUN(test_best_near_equal);
    CC_RUN(test_camera_up_keeps_fps);
    CC_RUN(test_band);
    CC_RUN(test_estimates);
    CC_RUN(test_ids_and_errors);
    CC_RUN(test_keyframes);
    CC_RUN(test_keyframe_cap);
    CC_RUN(test_sparse_screen_over_camera);
    CC_RUN(test_cut_hold);
    CC_RUN(test_carried);
    CC_RUN(test_fill_want);
    CC_TEST_DONE();
}
