/* VP8 encoder screen mode (src/media/vp8enc.c) on synthetic I420 frames,
 * a manual capture clock and libvpx's decoder:
 *   - a still picture costs (almost) nothing after its first second: no
 *     frame out except the keep-alive (never more than 1 s apart), and the
 *     receiver's picture is the still one;
 *   - a keyframe request during still content gives a keyframe on the very
 *     next capture;
 *   - with three temporal layers and skipped pictures, the layer ids follow
 *     0-2-1-2 (restarted at TL0 after a skip and on a keyframe), keep-alives
 *     and the first change after a still period are TL0, and the TL0 and
 *     TL0+1 sub-streams decode to the same pictures as the full stream;
 *   - a slide change is never left behind: at the end of each slide the
 *     decoded picture is that slide, also for a TL0-only subscriber;
 *   - without screen mode (camera, or the old screen tuning) an unchanged
 *     picture is still encoded every frame. */
#include "cc_test.h"

#include <math.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>

#include "classcast/err.h"
#include "classcast/rand.h"
#include "classcast/vp8enc.h"

#define W 320
#define H 240
#define FPS 30
#define FRAME_T(k) ((cc_time_us)(k) * 1000000 / FPS + 5 * CC_USEC_PER_SEC)

static uint8_t py[W * H], pu[(W / 2) * (H / 2)], pv[(W / 2) * (H / 2)];
static const uint8_t *const planes[3] = {py, pu, pv};
static const int strides[3] = {W, W / 2, W / 2};

/* A "slide": light background, a title bar and rows of glyph-like strokes
 * from a seed; `moving` > 0 adds a block that moves by frame (a pointer or
 * a video in a window). */
static void draw(uint64_t slide, int moving)
{
    memset(py, 230, sizeof py);
    memset(pu, 128, sizeof pu);
    memset(pv, 128, sizeof pv);
    for (int y = 0; y < 24; y++)
        memset(py + y * W, 60, W);
    for (int y = 0; y < 12; y++)
        memset(pu + y * (W / 2), 170, W / 2);
    cc_prng r;
    cc_prng_seed(&r, slide * 7919 + 3);
    for (int line = 36; line + 10 < H; line += 14)
        for (int x = 8; x + 7 < W - 8; x += 8) {
            uint32_t shape = (uint32_t)cc_prng_next(&r);
            if ((shape & 7) == 0)
                continue;
            for (int gy = 0; gy < 9; gy++)
                for (int gx = 0; gx < 6; gx++)
                    if ((shape >> ((gy * 6 + gx) % 31)) & 1)
                        py[(line + gy) * W + x + gx] = 20;
        }
    if (moving > 0) {
        int bx = (moving * 5) % (W - 40), by = 40 + (moving * 3) % (H - 80);
        for (int y = by; y < by + 32; y++)
            for (int x = bx; x < bx + 32; x++)
                py[y * W + x] = (uint8_t)(40 + ((x - bx) * 6 + moving * 9) % 180);
    }
}

typedef struct out_frame {
    uint8_t *data;
    size_t size;
    int k, keyframe, tid, layer_sync, non_ref;
} out_frame;

typedef struct out_list {
    out_frame f[2048];
    int n;
} out_list;

static void keep(out_list *l, const cc_vp8enc_frame *f, int k)
{
    if (l->n >= 2048)
        return;
    out_frame *d = &l->f[l->n++];
    d->data = malloc(f->size);
    memcpy(d->data, f->data, f->size);
    d->size = f->size;
    d->k = k;
    d->keyframe = f->keyframe;
    d->tid = f->tid;
    d->layer_sync = f->layer_sync;
    d->non_ref = f->non_ref;
}

static void clear(out_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->f[i].data);
    l->n = 0;
}

static uint64_t hash_img(const vpx_image_t *img)
{
    uint64_t h = 1469598103934665603ull;
    for (int pl = 0; pl < 3; pl++) {
        int pw = pl ? (int)(img->d_w + 1) / 2 : (int)img->d_w;
        int ph = pl ? (int)(img->d_h + 1) / 2 : (int)img->d_h;
        for (int y = 0; y < ph; y++) {
            const uint8_t *row = img->planes[pl] + y * img->stride[pl];
            for (int x = 0; x < pw; x++)
                h = (h ^ row[x]) * 1099511628211ull;
        }
    }
    return h;
}

/* Luma PSNR of a decoded picture against py. */
static double psnr_y(const vpx_image_t *img)
{
    double se = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double d = (double)img->planes[0][y * img->stride[0] + x] - py[y * W + x];
            se += d * d;
        }
    double mse = se / (W * H);
    return mse > 0 ? 10 * log10(255.0 * 255.0 / mse) : 99;
}

static cc_vp8enc *screen_encoder(int layers, int kbps)
{
    cc_vp8enc_config c;
    cc_vp8enc_config_default(&c, W, H, FPS, kbps);
    c.screen = 1;
    c.temporal_layers = layers;
    cc_vp8enc *e = NULL;
    CC_CHECK_EQ(cc_vp8enc_new(&e, &c), 0);
    return e;
}

static void test_still_costs_nothing(void)
{
    cc_vp8enc *e = screen_encoder(1, 400);
    if (!e)
        return;
    static out_list l;
    vpx_codec_ctx_t d;
    CC_CHECK(vpx_codec_dec_init(&d, vpx_codec_vp8_dx(), NULL, 0) == VPX_CODEC_OK);
    draw(1, 0);
    uint64_t bytes_after_1s = 0;
    int out_after_1s = 0, skipped = 0;
    cc_time_us last_out = 0, max_gap = 0;
    double psnr_last = 0;
    for (int k = 0; k < 6 * FPS; k++) {
        cc_vp8enc_frame f;
        int rc = cc_vp8enc_encode(e, planes, strides, FRAME_T(k), &f);
        CC_CHECK(rc == 0 || rc == 1);
        if (rc != 1) {
            skipped++;
            continue;
        }
        if (k == 0)
            CC_CHECK(f.keyframe);
        if (last_out && FRAME_T(k) - last_out > max_gap)
            max_gap = FRAME_T(k) - last_out;
        last_out = FRAME_T(k);
        if (k >= FPS) {
            bytes_after_1s += f.size;
            out_after_1s++;
        }
        keep(&l, &f, k);
        if (vpx_codec_decode(&d, f.data, (unsigned)f.size, NULL, 0) == VPX_CODEC_OK) {
            vpx_codec_iter_t it = NULL;
            vpx_image_t *img = vpx_codec_get_frame(&d, &it);
            if (img)
                psnr_last = psnr_y(img);
        }
    }
    cc_vp8enc_stats st;
    cc_vp8enc_get_stats(e, &st);
    printf("  still picture 6 s: %d frames out (%d after 1 s, %llu bytes), "
           "%llu skipped, largest gap %lld ms, decoded %.1f dB\n",
           l.n, out_after_1s, (unsigned long long)bytes_after_1s,
           (unsigned long long)st.static_skipped, (long long)(max_gap / 1000),
           psnr_last);
    /* After the first second: the keep-alives only (one a second). */
    CC_CHECK(out_after_1s >= 4 && out_after_1s <= 6);
    CC_CHECK(bytes_after_1s < 2000);
    CC_CHECK(max_gap <= CC_USEC_PER_SEC);
    CC_CHECK(psnr_last > 30);
    CC_CHECK_EQ(st.frames_in, 6 * FPS);
    CC_CHECK_EQ(st.frames_in, st.frames_out + st.dropped + st.static_skipped);
    CC_CHECK_EQ(st.static_skipped + st.dropped, (uint64_t)skipped);
    CC_CHECK_EQ(st.keyframes, 1);
    vpx_codec_destroy(&d);
    clear(&l);
    cc_vp8enc_free(e);
}

static void test_keyframe_request_while_still(void)
{
    cc_vp8enc *e = screen_encoder(3, 400);
    if (!e)
        return;
    draw(2, 0);
    /* Requests deep in a still period (frames 50 and 95) and one right
     * after a keep-alive would have gone out anyway. */
    int keys = 0, keys_on_time = 0, requests = 0;
    for (int k = 0; k < 4 * FPS; k++) {
        int req = k == 50 || k == 95 || k == 96;
        if (req) {
            cc_vp8enc_request_keyframe(e);
            requests++;
        }
        cc_vp8enc_frame f;
        int rc = cc_vp8enc_encode(e, planes, strides, FRAME_T(k), &f);
        CC_CHECK(rc == 0 || rc == 1);
        if (req) {
            CC_CHECK_EQ(rc, 1);
            if (rc == 1) {
                CC_CHECK(f.keyframe);
                CC_CHECK_EQ(f.tid, 0);
                keys_on_time += f.keyframe;
            }
        }
        if (rc == 1 && f.keyframe)
            keys++;
    }
    CC_CHECK_EQ(keys_on_time, 3);
    CC_CHECK_EQ(keys, 4); /* the first frame and the three requests */
    cc_vp8enc_stats st;
    cc_vp8enc_get_stats(e, &st);
    CC_CHECK_EQ(st.keyframe_requests, 3);
    CC_CHECK(st.static_skipped > 60);
    cc_vp8enc_free(e);
}

/* Decode the frames of l with tid <= max_tid; hashes[i] of each decoded
 * frame (0 if not decoded); returns decode errors. */
static int decode_layers(const out_list *l, int max_tid, uint64_t *hashes)
{
    vpx_codec_ctx_t d;
    if (vpx_codec_dec_init(&d, vpx_codec_vp8_dx(), NULL, 0) != VPX_CODEC_OK)
        return 1000;
    int errors = 0;
    for (int i = 0; i < l->n; i++) {
        hashes[i] = 0;
        if (l->f[i].tid > max_tid)
            continue;
        if (vpx_codec_decode(&d, l->f[i].data, (unsigned)l->f[i].size, NULL, 0) !=
            VPX_CODEC_OK) {
            errors++;
            continue;
        }
        vpx_codec_iter_t it = NULL;
        vpx_image_t *img = vpx_codec_get_frame(&d, &it);
        if (img)
            hashes[i] = hash_img(img);
        else
            errors++;
    }
    vpx_codec_destroy(&d);
    return errors;
}

/* What the capture shows at frame k of the layered sequence: moving for
 * 1 s, still 2 s, moving 1 s, slide change and still 2 s, moving 1 s. */
static void layered_scene(int k, uint64_t *slide, int *moving)
{
    int s = k / FPS;
    *slide = s < 4 ? 3 : 4;
    *moving = (s == 0 || s == 3 || s == 6) ? k + 1 : 0;
}

static void test_layers_with_skips(void)
{
    cc_vp8enc *e = screen_encoder(3, 600);
    if (!e)
        return;
    static out_list l;
    static const int pattern[4] = {0, 2, 1, 2};
    int pos = 0, skipped_before = 0, bad_tid = 0, tl0_after_skip = 0,
        after_skip = 0, skips = 0;
    int tl1_since_key = 0;
    uint64_t prev_slide = 0;
    int prev_moving = -1;
    for (int k = 0; k < 7 * FPS; k++) {
        uint64_t slide;
        int moving;
        layered_scene(k, &slide, &moving);
        if (slide != prev_slide || moving != prev_moving)
            draw(slide, moving);
        prev_slide = slide;
        prev_moving = moving;
        if (k == 5 * FPS + 10)
            cc_vp8enc_request_keyframe(e); /* during the still slide */
        cc_vp8enc_stats st0, st1;
        cc_vp8enc_get_stats(e, &st0);
        cc_vp8enc_frame f;
        int rc = cc_vp8enc_encode(e, planes, strides, FRAME_T(k), &f);
        CC_CHECK(rc == 0 || rc == 1);
        cc_vp8enc_get_stats(e, &st1);
        if (rc != 1) {
            if (st1.static_skipped > st0.static_skipped) {
                /* A still picture skipped: the pattern restarts after it. */
                skipped_before = 1;
                skips++;
            } else {
                /* Rate control dropped it: the pattern moves on. */
                CC_CHECK_EQ(st1.dropped, st0.dropped + 1);
                pos = (pos + 1) & 3;
            }
            continue;
        }
        if (f.keyframe || skipped_before)
            pos = 0;
        if (skipped_before) {
            after_skip++;
            tl0_after_skip += f.tid == 0;
        }
        skipped_before = 0;
        if (f.tid != pattern[pos]) {
            bad_tid++;
            fprintf(stderr, "frame %d: tid %d want %d\n", k, f.tid, pattern[pos]);
        }
        if (f.keyframe)
            tl1_since_key = 0;
        if (!f.keyframe) {
            int want_y = pos == 1 || pos == 2 || (pos == 3 && !tl1_since_key);
            /* After a restart at TL0, GOLDEN may hold an older TL1 frame:
             * position 3's Y is then 0, which the encoder reports; only
             * positions 1 and 2 must always carry Y. */
            if (pos == 1 || pos == 2)
                CC_CHECK_EQ(f.layer_sync, 1);
            if (pos == 0)
                CC_CHECK_EQ(f.layer_sync, 0);
            (void)want_y;
            CC_CHECK_EQ(f.non_ref, pos == 1 || pos == 3);
        }
        if (f.tid == 1)
            tl1_since_key = 1;
        pos = (pos + 1) & 3;
        keep(&l, &f, k);
    }
    printf("  layered: %d frames out, %d skipped, %d first-after-skip frames "
           "(%d TL0)\n", l.n, skips, after_skip, tl0_after_skip);
    CC_CHECK_EQ(bad_tid, 0);
    CC_CHECK(skips > 60);
    CC_CHECK(after_skip >= 3);
    CC_CHECK_EQ(tl0_after_skip, after_skip);
    /* Every picture of a sub-stream decodes as in the full stream. */
    static uint64_t full[2048], tl1[2048], tl0[2048];
    CC_CHECK_EQ(decode_layers(&l, 2, full), 0);
    CC_CHECK_EQ(decode_layers(&l, 1, tl1), 0);
    CC_CHECK_EQ(decode_layers(&l, 0, tl0), 0);
    int mism = 0, n0 = 0;
    for (int i = 0; i < l.n; i++) {
        if (l.f[i].tid <= 1)
            mism += tl1[i] != full[i];
        if (l.f[i].tid == 0) {
            mism += tl0[i] != full[i];
            n0++;
        }
    }
    CC_CHECK_EQ(mism, 0);
    /* The TL0 subscriber's last picture of each still period is the full
     * stream's: the still picture went out on TL0 before skipping. */
    int still_ends[] = {3 * FPS - 1, 6 * FPS - 1};
    for (int j = 0; j < 2; j++) {
        int last_full = -1, last_tl0 = -1;
        for (int i = 0; i < l.n && l.f[i].k <= still_ends[j]; i++) {
            last_full = i;
            if (l.f[i].tid == 0)
                last_tl0 = i;
        }
        CC_CHECK(last_full >= 0 && last_tl0 >= 0);
        if (last_full >= 0 && last_tl0 >= 0)
            CC_CHECK(tl0[last_tl0] == full[last_full]);
    }
    printf("  sub-streams decode as the full stream (%d TL0 frames)\n", n0);
    clear(&l);
    cc_vp8enc_free(e);
}

/* Decode f into d and keep the luma of the picture in y. */
static void decode_keep(vpx_codec_ctx_t *d, const cc_vp8enc_frame *f, uint8_t *y)
{
    CC_CHECK(vpx_codec_decode(d, f->data, (unsigned)f->size, NULL, 0) == VPX_CODEC_OK);
    vpx_codec_iter_t it = NULL;
    vpx_image_t *img = vpx_codec_get_frame(d, &it);
    CC_CHECK(img != NULL);
    if (img)
        for (int r = 0; r < H; r++)
            memcpy(y + r * W, img->planes[0] + r * img->stride[0], W);
}

static double psnr_buf(const uint8_t *y)
{
    double se = 0;
    for (int i = 0; i < W * H; i++) {
        double d = (double)y[i] - py[i];
        se += d * d;
    }
    double mse = se / (W * H);
    return mse > 0 ? 10 * log10(255.0 * 255.0 / mse) : 99;
}

static void test_slide_changes_arrive(void)
{
    /* Slides of 1.5 s each at a tight rate: at the end of each slide the
     * receiver's picture (the last decoded) is that slide, for the full
     * stream and for a TL0-only subscriber. Two different slides measure
     * about 10 dB against each other. */
    static uint8_t y_full[W * H], y_base[W * H];
    for (int layers = 1; layers <= 3; layers += 2) {
        cc_vp8enc *e = screen_encoder(layers, 250);
        if (!e)
            return;
        vpx_codec_ctx_t full, base;
        CC_CHECK(vpx_codec_dec_init(&full, vpx_codec_vp8_dx(), NULL, 0) == VPX_CODEC_OK);
        CC_CHECK(vpx_codec_dec_init(&base, vpx_codec_vp8_dx(), NULL, 0) == VPX_CODEC_OK);
        memset(y_full, 0, sizeof y_full);
        memset(y_base, 0, sizeof y_base);
        double worst_full = 99, worst_base = 99;
        int slides = 6, per = FPS * 3 / 2;
        for (int k = 0; k < slides * per; k++) {
            if (k % per == 0)
                draw(10 + (uint64_t)(k / per), 0);
            cc_vp8enc_frame f;
            int rc = cc_vp8enc_encode(e, planes, strides, FRAME_T(k), &f);
            CC_CHECK(rc == 0 || rc == 1);
            if (rc == 1) {
                decode_keep(&full, &f, y_full);
                if (f.tid == 0)
                    decode_keep(&base, &f, y_base);
            }
            if (k % per == per - 1) {
                double pf = psnr_buf(y_full), pb = psnr_buf(y_base);
                worst_full = pf < worst_full ? pf : worst_full;
                worst_base = pb < worst_base ? pb : worst_base;
            }
        }
        printf("  %d layer(s), slides every 1.5 s at 250 kbit/s: worst end-of-slide "
               "picture %.1f dB (TL0 only: %.1f dB)\n", layers, worst_full, worst_base);
        CC_CHECK(worst_full > 25);
        CC_CHECK(worst_base > 25);
        vpx_codec_destroy(&full);
        vpx_codec_destroy(&base);
        cc_vp8enc_free(e);
    }
}

static void test_no_skip_without_screen_mode(void)
{
    for (int old_screen = 0; old_screen <= 1; old_screen++) {
        cc_vp8enc_config c;
        cc_vp8enc_config_default(&c, W, H, FPS, 400);
        c.screen_content = old_screen;
        c.temporal_layers = 1;
        cc_vp8enc *e = NULL;
        CC_CHECK_EQ(cc_vp8enc_new(&e, &c), 0);
        if (!e)
            return;
        draw(5, 0);
        int out = 0;
        for (int k = 0; k < 2 * FPS; k++) {
            cc_vp8enc_frame f;
            out += cc_vp8enc_encode(e, planes, strides, FRAME_T(k), &f) == 1;
        }
        cc_vp8enc_stats st;
        cc_vp8enc_get_stats(e, &st);
        CC_CHECK_EQ(st.static_skipped, 0);
        CC_CHECK_EQ(out + (int)st.dropped, 2 * FPS);
        if (old_screen)
            CC_CHECK_EQ(out, 2 * FPS); /* the old screen tuning never drops */
        cc_vp8enc_free(e);
    }
}

static void test_bad_config(void)
{
    cc_vp8enc_config c;
    cc_vp8enc *e = NULL;
    cc_vp8enc_config_default(&c, W, H, FPS, 400);
    c.screen = 1;
    c.static_keepalive_ms = -1;
    CC_CHECK_EQ(cc_vp8enc_new(&e, &c), CC_EINVAL);
    c.static_keepalive_ms = 0;
    c.settle_ms = -2;
    CC_CHECK_EQ(cc_vp8enc_new(&e, &c), CC_EINVAL);
    CC_CHECK(e == NULL);
}

int main(void)
{
    CC_RUN(test_bad_config);
    CC_RUN(test_still_costs_nothing);
    CC_RUN(test_keyframe_request_while_still);
    CC_RUN(test_layers_with_skips);
    CC_RUN(test_slide_changes_arrive);
    CC_RUN(test_no_skip_without_screen_mode);
    CC_TEST_DONE();
}
