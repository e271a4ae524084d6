/* classcast: VP8 encoder on libvpx. See include/classcast/vp8enc.h. */
#include "classcast/vp8enc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include "classcast/err.h"
#include "classcast/log.h"

#define MOD "vp8enc"

/* Reference buffers of VP8 (RFC 6386 section 9.7): last, golden, altref. */
enum { BUF_LAST = 0, BUF_GOLDEN = 1, BUF_ALTREF = 2, BUF_N = 3 };

/* One position of the 0-2-1-2 pattern: layer, which buffers it may use as
 * references and which it refreshes (bit i = buffer i). */
typedef struct tl_step {
    int tid;
    unsigned refs;
    unsigned updates;
} tl_step;

static const tl_step k_pattern3[4] = {
    {0, 1u << BUF_LAST, 1u << BUF_LAST},
    {2, 1u << BUF_LAST, 0},
    {1, 1u << BUF_LAST, 1u << BUF_GOLDEN},
    {2, (1u << BUF_LAST) | (1u << BUF_GOLDEN), 0},
};

/* Cumulative share of the target per layer (TL0, TL0+1, TL0+1+2), percent. */
static const unsigned k_layer_pct[3] = {40, 60, 100};

/* Simulcast: each encoding's share of the target, percent, largest first,
 * for 2 and 3 encodings. At a 1000 kbit/s camera target, 3 encodings get
 * 600 kbit/s at 720p, 280 at 360p and 120 at 180p: each near the rate at
 * which VP8 at that size stops looking blocky for a classroom camera,
 * and the smallest fits a 300 kbit/s link beside the screen's lowest
 * layer. */
static const unsigned k_enc_pct[2][CC_VP8ENC_MAX_ENC] = {{75, 25, 0}, {60, 28, 12}};

/* libvpx's multi-resolution encoder numbers its encoders from the largest
 * (level 0); the frames say enc = n_enc - 1 - level (0 the smallest). */
struct cc_vp8enc {
    vpx_codec_ctx_t codec[CC_VP8ENC_MAX_ENC];
    vpx_codec_enc_cfg_t vcfg[CC_VP8ENC_MAX_ENC];
    cc_vp8enc_config cfg;
    int n_enc;
    int codec_open;
    int w[CC_VP8ENC_MAX_ENC], h[CC_VP8ENC_MAX_ENC];
    uint8_t *scaled[CC_VP8ENC_MAX_ENC]; /* levels 1..: the halved picture */
    unsigned pos;              /* next position in the temporal pattern */
    int buf_tid[CC_VP8ENC_MAX_ENC][BUF_N]; /* layer of the frame each
                                            * buffer holds, per level */
    int have_first;
    cc_time_us first_capture;
    cc_time_us last_capture;
    cc_time_us last_keyframe;
    int keyframe_pending;      /* encoder thread's own copy of a request */
    /* screen mode (see the header) */
    uint8_t *prev;             /* picture of the last encoded frame, I420 */
    unsigned char *idle_map;   /* active map with every macroblock off */
    int mb_rows, mb_cols;
    int prev_valid;
    int prev_on_tl0;           /* that picture went out on a TL0 frame */
    int settled;               /* its frames got small: nothing to sharpen */
    cc_time_us changed_at;     /* capture time of the picture's first frame */
    int skipped;               /* the last picture was skipped */
    cc_time_us last_out;       /* capture time of the last frame out */
    cc_time_us rc_last;        /* capture time of the last frame libvpx saw */
    vpx_codec_pts_t rc_pts;    /* libvpx's clock: skipped time left out */
    atomic_int kf_request;     /* set by any thread */
    atomic_int pending_kbps;   /* 0: none */
    atomic_int bitrate_kbps;
    atomic_uint_fast64_t frames_in, frames_out, dropped, static_skipped,
        keyframes, keyframe_requests, bytes_out, errors;
};

void cc_vp8enc_config_default(cc_vp8enc_config *cfg, int w, int h, int fps,
                              int kbps)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->width = w;
    cfg->height = h;
    cfg->fps = fps;
    cfg->bitrate_kbps = kbps;
    cfg->temporal_layers = 3;
}

static void set_layer_targets(vpx_codec_enc_cfg_t *v, int kbps)
{
    if (kbps < 1)
        kbps = 1;
    v->rc_target_bitrate = (unsigned)kbps;
    if (v->ts_number_layers > 1) {
        for (unsigned i = 0; i < v->ts_number_layers; i++) {
            unsigned t = (unsigned)kbps * k_layer_pct[i] / 100;
            v->ts_target_bitrate[i] = t ? t : 1;
            v->layer_target_bitrate[i] = v->ts_target_bitrate[i];
        }
    }
}

/* The target of level lv at a total of kbps. */
static int level_kbps(const cc_vp8enc *e, int lv, int kbps)
{
    if (e->n_enc <= 1)
        return kbps;
    return (int)((long)kbps * k_enc_pct[e->n_enc - 2][lv] / 100);
}

static int ctrl(cc_vp8enc *e, int lv, int id, int val, const char *name)
{
    vpx_codec_err_t r = vpx_codec_control_(&e->codec[lv], id, val);
    if (r != VPX_CODEC_OK) {
        CC_ERROR(MOD, "control %s=%d: %s", name, val, vpx_codec_error(&e->codec[lv]));
        return CC_EUNSUPPORTED;
    }
    return 0;
}

int cc_vp8enc_new(cc_vp8enc **out, const cc_vp8enc_config *cfg_in)
{
    if (!out || !cfg_in)
        return CC_EINVAL;
    *out = NULL;
    cc_vp8enc_config c = *cfg_in;
    if (c.width <= 0 || c.height <= 0 || (c.width & 1) || (c.height & 1) ||
        c.width > 16383 || c.height > 16383 || c.fps <= 0 || c.fps > 240 ||
        c.bitrate_kbps <= 0 ||
        (c.temporal_layers != 1 && c.temporal_layers != 3) ||
        c.threads < 0 || c.threads > 16 || c.cpu_used < -16 || c.cpu_used > 16 ||
        c.keyframe_interval_ms < 0 || c.static_keepalive_ms < 0 ||
        c.settle_ms < -1 || c.encodings < 0 || c.encodings > CC_VP8ENC_MAX_ENC)
        return CC_EINVAL;
    int n_enc = c.encodings > 1 ? c.encodings : 1;
    if (n_enc > 1) {
        /* Each smaller encoding is exactly half: even sizes, not too small
         * to be worth a stream. Not for the screen: its still-picture
         * skipping works on one picture, and text is read at full size. */
        int div = 1 << n_enc; /* halved n_enc - 1 times, and even */
        if (c.screen || c.screen_content || c.width % div || c.height % div ||
            c.width / (div / 2) < 64 || c.height / (div / 2) < 36)
            return CC_EINVAL;
    }
    if (c.screen)
        c.screen_content = 1;
    if (c.static_keepalive_ms == 0)
        c.static_keepalive_ms = 1000;
    if (c.settle_ms == 0)
        c.settle_ms = 1000;
    else if (c.settle_ms < 0)
        c.settle_ms = 0;
    if (c.threads == 0) {
        /* libvpx's encoder threads wait for each other in busy loops: with
         * two of them on a 2-core machine that also captures (and often
         * draws the screen being captured) they burn the CPU the other work
         * needs. Measured with scripts/bench/media --threads-ab: 1080p screen
         * median 35 ms per frame with 1 thread, 133 ms with 2 (docs/bench-
         * media.md). So: 2 threads only with cores to spare. */
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        c.threads = (c.width * c.height >= 1280 * 720 && ncpu > 2) ? 2 : 1;
    }
    if (c.cpu_used == 0) {
        c.cpu_used = c.screen_content ? -12 : -8;
        /* 1080p and up: the fastest realtime speed; a 2-core laptop cannot
         * spend more than a core on the screen (docs/TESTING.md, section 4:
         * -16 is ~30 % faster than -8 at 1080p). Not in screen mode: at -16
         * libvpx searches motion so little that a video panning in a window
         * costs 3.6 times the bits of -12 at the same quantizer, for about
         * the same time per frame (docs/bench-screen.md); and a still screen
         * is not encoded at all. */
        if (c.width * c.height >= 1920 * 1080 && !c.screen)
            c.cpu_used = -16;
    }
    if (c.keyframe_interval_ms == 0)
        c.keyframe_interval_ms = 10000;

    cc_vp8enc *e = calloc(1, sizeof *e);
    if (!e)
        return CC_ENOMEM;
    e->cfg = c;
    e->n_enc = n_enc;
    int err = CC_EUNSUPPORTED;
    for (int lv = 0; lv < n_enc; lv++) {
        e->w[lv] = c.width >> lv;
        e->h[lv] = c.height >> lv;
        if (lv > 0 && !(e->scaled[lv] = malloc((size_t)e->w[lv] * e->h[lv] * 3 / 2))) {
            err = CC_ENOMEM;
            goto fail;
        }
    }
    if (c.screen) {
        e->mb_rows = (c.height + 15) / 16;
        e->mb_cols = (c.width + 15) / 16;
        e->prev = malloc((size_t)c.width * c.height * 3 / 2);
        e->idle_map = calloc((size_t)e->mb_rows * e->mb_cols, 1);
        if (!e->prev || !e->idle_map) {
            err = CC_ENOMEM;
            goto fail;
        }
    }

    vpx_codec_enc_cfg_t *v = &e->vcfg[0];
    if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), v, 0) != VPX_CODEC_OK)
        goto fail;
    v->g_w = (unsigned)c.width;
    v->g_h = (unsigned)c.height;
    /* Capture times are microseconds: libvpx derives the frame rate its
     * rate control uses from the pts deltas, so real capture jitter and
     * frame-rate changes are seen as they are. */
    v->g_timebase.num = 1;
    v->g_timebase.den = 1000000;
    v->g_threads = (unsigned)c.threads;
    v->g_lag_in_frames = 0;          /* realtime: no look-ahead */
    v->g_pass = VPX_RC_ONE_PASS;
    /* Each frame decodable after a loss of earlier non-reference data:
     * entropy contexts are not carried between frames. */
    v->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
    v->rc_end_usage = VPX_CBR;
    v->rc_resize_allowed = 0;
    /* Screen mode: a quantizer floor. Below it a screen's text gains
     * nothing one can see (SSIM 0.997 on 1080p text at 40), while CBR would
     * spend the whole target refining it: scrolled text and video are
     * seen 33 ms a frame. docs/bench-screen.md has the sweep. */
    v->rc_min_quantizer = c.screen ? 40 : 2;
    v->rc_max_quantizer = 56;
    v->rc_undershoot_pct = 100;
    v->rc_overshoot_pct = 15;
    v->rc_buf_initial_sz = 500;
    v->rc_buf_optimal_sz = 600;
    v->rc_buf_sz = 1000;
    /* A camera may skip a frame to stay on budget; a screen share does
     * not. Screen mode could (a dropped picture is not taken as sent, so
     * its next capture is encoded), but measured, dropping to stay on a
     * low target halves the frame rate of scrolled text while the quantizer
     * floor and the motion search already keep it under a normal target
     * (docs/bench-screen.md). */
    v->rc_dropframe_thresh = c.screen_content ? 0 : 30;
    /* Keyframes only when this module asks (request or safety interval),
     * so they always land on TL0. */
    v->kf_mode = VPX_KF_DISABLED;
    v->kf_min_dist = 0;
    v->kf_max_dist = 0x7fffffff;

    if (c.temporal_layers == 3) {
        v->ts_number_layers = 3;
        v->ts_periodicity = 4;
        v->ts_layer_id[0] = 0;
        v->ts_layer_id[1] = 2;
        v->ts_layer_id[2] = 1;
        v->ts_layer_id[3] = 2;
        v->ts_rate_decimator[0] = 4;
        v->ts_rate_decimator[1] = 2;
        v->ts_rate_decimator[2] = 1;
    } else {
        v->ts_number_layers = 1;
    }
    set_layer_targets(v, level_kbps(e, 0, c.bitrate_kbps));

    vpx_codec_err_t ir;
    if (n_enc == 1) {
        ir = vpx_codec_enc_init(&e->codec[0], vpx_codec_vp8_cx(), v, 0);
    } else {
        /* The smaller encodings: the same settings at half the size each,
         * one thread each (they are a quarter of the work of the one above). */
        vpx_rational_t dsf[CC_VP8ENC_MAX_ENC];
        for (int lv = 1; lv < n_enc; lv++) {
            e->vcfg[lv] = e->vcfg[0];
            e->vcfg[lv].g_w = (unsigned)e->w[lv];
            e->vcfg[lv].g_h = (unsigned)e->h[lv];
            e->vcfg[lv].g_threads = 1;
            set_layer_targets(&e->vcfg[lv], level_kbps(e, lv, c.bitrate_kbps));
        }
        for (int lv = 0; lv < n_enc; lv++)
            dsf[lv] = (vpx_rational_t){2, 1}; /* each level half the one above */
        ir = vpx_codec_enc_init_multi(e->codec, vpx_codec_vp8_cx(), e->vcfg, n_enc, 0, dsf);
    }
    if (ir != VPX_CODEC_OK) {
        CC_ERROR(MOD, "init %dx%d (%d encodings): %s", c.width, c.height, n_enc,
                 vpx_codec_error(&e->codec[0]));
        goto fail;
    }
    e->codec_open = 1;

    /* Keyframe size cap relative to an average frame: half the optimal
     * buffer's worth of frames, never below 3 frames' worth. */
    int intra_pct = (int)(v->rc_buf_optimal_sz * 0.5 * c.fps / 10);
    if (intra_pct < 300)
        intra_pct = 300;
    for (int lv = 0; lv < n_enc; lv++)
        if (ctrl(e, lv, VP8E_SET_CPUUSED, c.cpu_used, "cpuused") ||
            ctrl(e, lv, VP8E_SET_NOISE_SENSITIVITY, 0, "noise") ||
            ctrl(e, lv, VP8E_SET_STATIC_THRESHOLD, c.screen_content ? 100 : 1,
                 "static") ||
            ctrl(e, lv, VP8E_SET_SCREEN_CONTENT_MODE, c.screen_content ? 1 : 0,
                 "screen") ||
            ctrl(e, lv, VP8E_SET_MAX_INTRA_BITRATE_PCT, intra_pct, "intra_pct") ||
            ctrl(e, lv, VP8E_SET_TOKEN_PARTITIONS,
                 lv == 0 && c.threads > 1 ? VP8_TWO_TOKENPARTITION : VP8_ONE_TOKENPARTITION,
                 "partitions"))
            goto fail;

    atomic_store(&e->bitrate_kbps, c.bitrate_kbps);
    e->keyframe_pending = 1; /* the first frame is a keyframe anyway */
    *out = e;
    return 0;
fail:
    cc_vp8enc_free(e);
    return err;
}

void cc_vp8enc_free(cc_vp8enc *e)
{
    if (!e)
        return;
    if (e->codec_open)
        for (int lv = 0; lv < e->n_enc; lv++)
            vpx_codec_destroy(&e->codec[lv]);
    for (int lv = 0; lv < CC_VP8ENC_MAX_ENC; lv++)
        free(e->scaled[lv]);
    free(e->prev);
    free(e->idle_map);
    free(e);
}

void cc_vp8enc_request_keyframe(cc_vp8enc *e)
{
    if (!e)
        return;
    atomic_store(&e->kf_request, 1);
    atomic_fetch_add(&e->keyframe_requests, 1);
}

int cc_vp8enc_set_bitrate(cc_vp8enc *e, int kbps)
{
    if (!e || kbps <= 0 || kbps > 100000)
        return CC_EINVAL;
    atomic_store(&e->pending_kbps, kbps);
    return 0;
}

void cc_vp8enc_get_stats(cc_vp8enc *e, cc_vp8enc_stats *s)
{
    memset(s, 0, sizeof *s);
    if (!e)
        return;
    s->frames_in = atomic_load(&e->frames_in);
    s->frames_out = atomic_load(&e->frames_out);
    s->dropped = atomic_load(&e->dropped);
    s->static_skipped = atomic_load(&e->static_skipped);
    s->keyframes = atomic_load(&e->keyframes);
    s->keyframe_requests = atomic_load(&e->keyframe_requests);
    s->bytes_out = atomic_load(&e->bytes_out);
    s->errors = atomic_load(&e->errors);
    s->bitrate_kbps = atomic_load(&e->bitrate_kbps);
}

static int apply_bitrate(cc_vp8enc *e)
{
    int kbps = atomic_exchange(&e->pending_kbps, 0);
    if (kbps <= 0 || kbps == atomic_load(&e->bitrate_kbps))
        return 0;
    for (int lv = 0; lv < e->n_enc; lv++) {
        vpx_codec_enc_cfg_t v = e->vcfg[lv];
        set_layer_targets(&v, level_kbps(e, lv, kbps));
        if (vpx_codec_enc_config_set(&e->codec[lv], &v) != VPX_CODEC_OK) {
            CC_LOG_RL(CC_LOG_WARN, MOD, "bitrate %d kbps: %s", kbps,
                      vpx_codec_error(&e->codec[lv]));
            atomic_fetch_add(&e->errors, 1);
            return CC_EINVAL;
        }
        e->vcfg[lv] = v;
    }
    atomic_store(&e->bitrate_kbps, kbps);
    return 0;
}

/* libvpx's per-frame flags for a pattern step: forbid every reference and
 * refresh the step does not allow. */
static vpx_enc_frame_flags_t step_flags(const tl_step *s)
{
    vpx_enc_frame_flags_t f = 0;
    if (!(s->refs & (1u << BUF_LAST))) f |= VP8_EFLAG_NO_REF_LAST;
    if (!(s->refs & (1u << BUF_GOLDEN))) f |= VP8_EFLAG_NO_REF_GF;
    if (!(s->refs & (1u << BUF_ALTREF))) f |= VP8_EFLAG_NO_REF_ARF;
    if (!(s->updates & (1u << BUF_LAST))) f |= VP8_EFLAG_NO_UPD_LAST;
    if (!(s->updates & (1u << BUF_GOLDEN))) f |= VP8_EFLAG_NO_UPD_GF;
    if (!(s->updates & (1u << BUF_ALTREF))) f |= VP8_EFLAG_NO_UPD_ARF;
    return f;
}

/* Screen mode: is the picture the same as the last encoded one? Exact
 * comparison, row by row: a typed character or the pointer moving must not
 * wait for the keep-alive frame. A changed picture usually differs within
 * its first rows of change, so the cost is one pass only for a still one. */
static int same_as_prev(const cc_vp8enc *e, const uint8_t *const planes[3],
                        const int strides[3])
{
    int w = e->cfg.width, h = e->cfg.height;
    const uint8_t *p = e->prev;
    for (int pl = 0; pl < 3; pl++) {
        int pw = pl ? w / 2 : w, ph = pl ? h / 2 : h;
        for (int y = 0; y < ph; y++, p += pw)
            if (memcmp(planes[pl] + (size_t)y * strides[pl], p, (size_t)pw))
                return 0;
    }
    return 1;
}

static void keep_prev(cc_vp8enc *e, const uint8_t *const planes[3],
                      const int strides[3])
{
    int w = e->cfg.width, h = e->cfg.height;
    uint8_t *p = e->prev;
    for (int pl = 0; pl < 3; pl++) {
        int pw = pl ? w / 2 : w, ph = pl ? h / 2 : h;
        for (int y = 0; y < ph; y++, p += pw)
            memcpy(p, planes[pl] + (size_t)y * strides[pl], (size_t)pw);
    }
    e->prev_valid = 1;
}

/* Simulcast: level lv's picture, half of level lv - 1's in each direction,
 * each sample the mean of the 2x2 it replaces. Hand-written: a 2:1 mean of
 * I420 planes is a few lines, and the libraries that scale (libyuv,
 * GStreamer's videoscale) would be a new dependency or a second copy of
 * the picture through the capture pipeline; a 720p picture takes about
 * 0.3 ms here, on the encoder thread. */
static void halve(const uint8_t *const src[3], const int sstride[3], int sw, int sh,
                  uint8_t *dst)
{
    for (int pl = 0; pl < 3; pl++) {
        int w = (pl ? sw / 2 : sw) / 2, h = (pl ? sh / 2 : sh) / 2;
        const uint8_t *p = src[pl];
        int st = sstride[pl];
        for (int y = 0; y < h; y++, dst += w) {
            const uint8_t *a = p + (size_t)(2 * y) * st, *b = a + st;
            for (int x = 0; x < w; x++)
                dst[x] = (uint8_t)((a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1] + 2) >> 2);
        }
    }
}

/* The planes of level lv's picture (lv > 0: the scaled copy). */
static void level_planes(const cc_vp8enc *e, int lv, const uint8_t *out[3], int stride[3])
{
    uint8_t *p = e->scaled[lv];
    int w = e->w[lv], h = e->h[lv];
    out[0] = p;
    out[1] = p + (size_t)w * h;
    out[2] = out[1] + (size_t)(w / 2) * (h / 2);
    stride[0] = w;
    stride[1] = stride[2] = w / 2;
}

int cc_vp8enc_encodings(const cc_vp8enc *e) { return e ? e->n_enc : 0; }

int cc_vp8enc_encode(cc_vp8enc *e, const uint8_t *const planes[3],
                     const int strides[3], cc_time_us capture_time,
                     cc_vp8enc_frame *out)
{
    if (!e || !out || e->n_enc != 1)
        return CC_EINVAL;
    cc_vp8enc_frame f[CC_VP8ENC_MAX_ENC];
    int n = cc_vp8enc_encode_all(e, planes, strides, capture_time, f);
    if (n <= 0) {
        memset(out, 0, sizeof *out);
        return n;
    }
    *out = f[0];
    return 1;
}

int cc_vp8enc_encode_all(cc_vp8enc *e, const uint8_t *const planes[3],
                         const int strides[3], cc_time_us capture_time,
                         cc_vp8enc_frame out[CC_VP8ENC_MAX_ENC])
{
    if (!e || !planes || !strides || !out || !planes[0] || !planes[1] ||
        !planes[2] || strides[0] < e->cfg.width ||
        strides[1] < (e->cfg.width + 1) / 2 ||
        strides[2] < (e->cfg.width + 1) / 2)
        return CC_EINVAL;
    memset(out, 0, sizeof *out * CC_VP8ENC_MAX_ENC);
    if (e->have_first && capture_time <= e->last_capture)
        return CC_EINVAL; /* libvpx needs increasing pts */
    int first = !e->have_first;
    if (first) {
        e->have_first = 1;
        e->first_capture = capture_time;
        e->last_keyframe = capture_time;
    }
    e->last_capture = capture_time;
    atomic_fetch_add(&e->frames_in, 1);

    apply_bitrate(e);
    if (atomic_exchange(&e->kf_request, 0))
        e->keyframe_pending = 1;
    /* Half a frame of slack so a 1 s interval at 30 fps lands on frame 30
     * even though 30 frame periods of 33333 us fall 10 us short. */
    cc_time_us period = 1000000 / e->cfg.fps;
    if (capture_time - e->last_keyframe >=
        (cc_time_us)e->cfg.keyframe_interval_ms * 1000 - period / 2)
        e->keyframe_pending = 1;

    int screen = e->cfg.screen;
    int layered = e->cfg.temporal_layers == 3;
    int same = screen && e->prev_valid && same_as_prev(e, planes, strides);
    /* A still picture that every subscriber has (it went out on TL0) and
     * that the encoder has finished sharpening is skipped until the next
     * capture would come after the keep-alive interval; the keep-alive
     * then codes every macroblock as "unchanged" (idle). Sharpening ends
     * when a frame of the unchanged picture is small (under an eighth of
     * an average frame's budget: little left worth coding) or settle_ms
     * after the change. With temporal layers only TL0 frames (every fourth
     * capture) sharpen: TL2 frames are references for nobody, so what they
     * add would be lost. */
    int settled = same && e->prev_on_tl0 &&
                  (e->settled || capture_time - e->changed_at >=
                                     (cc_time_us)e->cfg.settle_ms * 1000);
    int keepalive = 0;
    if (same && !e->keyframe_pending) {
        cc_time_us since = capture_time - e->last_out;
        int skip = 0;
        if (settled)
            skip = since + period < (cc_time_us)e->cfg.static_keepalive_ms * 1000;
        else if (layered && e->prev_on_tl0)
            skip = since < 4 * period - period / 2;
        if (skip) {
            e->skipped = 1;
            atomic_fetch_add(&e->static_skipped, 1);
            return 0;
        }
        keepalive = settled;
    }

    vpx_enc_frame_flags_t flags = 0;
    const tl_step *step = NULL;
    if (e->keyframe_pending || e->skipped) {
        if (e->keyframe_pending)
            flags |= VPX_EFLAG_FORCE_KF;
        /* A keyframe restarts the pattern: it must be TL0. So does the
         * first frame after skipped ones: a keep-alive or a change after a
         * still period reaches every subscriber at once. */
        e->pos = 0;
    }
    e->skipped = 0;
    if (layered) {
        step = &k_pattern3[e->pos & 3];
        /* A keyframe refreshes all three buffers whatever the flags say
         * (RFC 6386 section 9.7), so it takes no reference flags. */
        if (!e->keyframe_pending)
            flags |= step_flags(step);
        for (int lv = 0; lv < e->n_enc; lv++)
            if (vpx_codec_control(&e->codec[lv], VP8E_SET_TEMPORAL_LAYER_ID,
                                  step->tid) != VPX_CODEC_OK) {
                atomic_fetch_add(&e->errors, 1);
                return CC_EUNSUPPORTED;
            }
    }

    /* One picture per level, largest first, as vpx_codec_encode takes
     * them for a multi-resolution encoder. */
    vpx_image_t img[CC_VP8ENC_MAX_ENC];
    for (int lv = 0; lv < e->n_enc; lv++) {
        const uint8_t *lp[3];
        int ls[3];
        if (lv == 0) {
            memcpy(lp, planes, sizeof lp);
            memcpy(ls, strides, sizeof ls);
        } else {
            const uint8_t *up[3];
            int us[3];
            if (lv == 1) {
                memcpy(up, planes, sizeof up);
                memcpy(us, strides, sizeof us);
            } else {
                level_planes(e, lv - 1, up, us);
            }
            halve(up, us, e->w[lv - 1], e->h[lv - 1], e->scaled[lv]);
            level_planes(e, lv, lp, ls);
        }
        if (!vpx_img_wrap(&img[lv], VPX_IMG_FMT_I420, (unsigned)e->w[lv],
                          (unsigned)e->h[lv], 1, (unsigned char *)lp[0]))
            return CC_EINVAL;
        for (int i = 0; i < 3; i++) {
            img[lv].planes[i] = (unsigned char *)lp[i];
            img[lv].stride[i] = ls[i];
        }
    }

    /* libvpx derives its frame rate from the pts. Screen mode leaves the
     * skipped time out (a gap counts as 4 periods at most): otherwise one
     * keep-alive a second reads as 1 fps and fills the rate buffer, which
     * the next slide change would spend in one burst. */
    vpx_codec_pts_t pts = capture_time - e->first_capture;
    if (screen) {
        if (!first) {
            cc_time_us d = capture_time - e->rc_last;
            e->rc_pts += d < 4 * period ? d : 4 * period;
        }
        pts = e->rc_pts;
    }
    e->rc_last = capture_time;
    unsigned long duration = (unsigned long)period;
    vpx_active_map_t idle = {e->idle_map, (unsigned)e->mb_rows,
                             (unsigned)e->mb_cols};
    if (keepalive &&
        vpx_codec_control(&e->codec[0], VP8E_SET_ACTIVEMAP, &idle) != VPX_CODEC_OK)
        keepalive = 0; /* then a normal frame of the same picture */
    vpx_codec_err_t r = vpx_codec_encode(&e->codec[0], img, pts, duration, flags,
                                         VPX_DL_REALTIME);
    if (keepalive) {
        vpx_active_map_t all = {NULL, (unsigned)e->mb_rows, (unsigned)e->mb_cols};
        if (vpx_codec_control(&e->codec[0], VP8E_SET_ACTIVEMAP, &all) != VPX_CODEC_OK)
            atomic_fetch_add(&e->errors, 1);
    }
    if (r != VPX_CODEC_OK) {
        CC_LOG_RL(CC_LOG_WARN, MOD, "encode: %s", vpx_codec_error(&e->codec[0]));
        atomic_fetch_add(&e->errors, 1);
        return CC_EIO;
    }
    e->pos = (e->pos + 1) & 3;

    /* What each level made of it, smallest first in out[]. */
    int got = 0, any_key = 0;
    size_t bytes = 0;
    for (int lv = e->n_enc - 1; lv >= 0; lv--) {
        vpx_codec_iter_t iter = NULL;
        const vpx_codec_cx_pkt_t *pkt;
        cc_vp8enc_frame *o = NULL;
        while ((pkt = vpx_codec_get_cx_data(&e->codec[lv], &iter)) != NULL) {
            if (pkt->kind != VPX_CODEC_CX_FRAME_PKT || o)
                continue; /* lag 0 and no partition output: one frame at most */
            o = &out[got++];
            o->data = pkt->data.frame.buf;
            o->size = pkt->data.frame.sz;
            o->keyframe = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
            o->pts = capture_time;
            o->enc = e->n_enc - 1 - lv;
            o->width = e->w[lv];
            o->height = e->h[lv];
        }
        if (!o)
            continue; /* this level's rate control skipped it */
        bytes += o->size;
        int *bt = e->buf_tid[lv];
        if (o->keyframe) {
            any_key = 1;
            for (int i = 0; i < BUF_N; i++)
                bt[i] = 0; /* a keyframe refreshes every buffer */
        }
        if (layered) {
            o->tid = step->tid;
            if (!o->keyframe) {
                /* RFC 7741 section 4.2 Y bit: the frame depends only on TL0. */
                int only_tl0 = 1;
                for (int i = 0; i < BUF_N; i++)
                    if ((step->refs & (1u << i)) && bt[i] != 0)
                        only_tl0 = 0;
                o->layer_sync = step->tid > 0 && only_tl0;
                o->non_ref = step->updates == 0;
                for (int i = 0; i < BUF_N; i++)
                    if (step->updates & (1u << i))
                        bt[i] = step->tid;
            }
        }
    }
    if (!got) {
        /* Rate control skipped it. A pending keyframe stays pending; in
         * screen mode the picture is not "sent", so its next capture is
         * encoded. */
        atomic_fetch_add(&e->dropped, 1);
        return 0;
    }
    if (any_key) {
        e->keyframe_pending = 0;
        e->last_keyframe = capture_time;
        atomic_fetch_add(&e->keyframes, 1);
    }
    if (screen) {
        e->last_out = capture_time;
        if (!same) {
            keep_prev(e, planes, strides);
            e->prev_on_tl0 = out->tid == 0;
            e->changed_at = capture_time;
            e->settled = 0;
        } else {
            if (out->tid == 0)
                e->prev_on_tl0 = 1;
            /* Small (bytes of an average frame: kbit/s * 1000 / 8 / fps)
             * at a quantizer near the floor: the encoder has nothing left
             * to sharpen. (Small at a high quantizer means the rate buffer
             * is spent, as right after a keyframe: not done.) */
            size_t avg = (size_t)atomic_load(&e->bitrate_kbps) * 125 / (size_t)e->cfg.fps;
            int q = 63;
            if (out->size < avg / 8 &&
                vpx_codec_control(&e->codec[0], VP8E_GET_LAST_QUANTIZER_64, &q) ==
                    VPX_CODEC_OK &&
                q <= (int)e->vcfg[0].rc_min_quantizer + 8)
                e->settled = 1;
        }
    }
    atomic_fetch_add(&e->frames_out, 1);
    atomic_fetch_add(&e->bytes_out, bytes);
    return got;
}
