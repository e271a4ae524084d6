/* bench_screenbits: bits on the air for a lesson-like screen
 * (scripts/bench/screenbits.html on Xvfb), run through scripts/bench/screenbits.
 * Not a test. Subcommands:
 *
 *   record --display :N --out DIR [--pipelines DIR] [--pipe NAME]
 *          [--seconds MAX] [--no-frames]
 *     Captures the display with pipelines/<NAME>.pipe (default "screen",
 *     1920x1080 I420 at 30 fps) through cc_capture, reads each frame's
 *     state id from the page's block row, and keeps every distinct picture
 *     once (DIR/frames.raw) plus one line per captured frame
 *     (DIR/index.txt: capture time, state id, picture number, hash) from
 *     the first state until the end state (id 65535) or MAX seconds. Also
 *     the process CPU (capture, conversion and this program) per segment
 *     (DIR/cpu.txt). --no-frames keeps only the index (for capture-cost
 *     runs).
 *
 *   encode --in DIR [--legacy] [--layers 1|3] [--kbps K] [--settle-ms N]
 *          [--keepalive-ms N] [--cpu-used N] [--label TEXT] [--trace]
 *          [--dump FRAME FILE.pgm]
 *     Feeds the recorded frames, at their capture times, to classcast's VP8
 *     encoder (src/media/vp8enc.c) set up like the screen source: screen
 *     mode, or with --legacy the screen tuning before screen mode existed.
 *     Each frame that comes out is decoded with libvpx; for every captured
 *     frame, the SSIM (luma, 8x8 windows every 4 pixels) of what a receiver
 *     shows at that moment (the last decoded picture) against the captured
 *     picture, and ("coded") against the capture that picture was encoded
 *     from: the first counts a late or skipped picture, the second only
 *     coding loss, as the Chromium pairs do. Per segment and overall:
 *     kbit/s of VP8 payload over the segment's capture time, SSIM mean and
 *     minimum, coded SSIM mean, frames out, skipped and dropped, largest
 *     frame and the longest time without a frame.
 *     One Markdown row per segment and one JSON line.
 *
 *   compare --in DIR --ref DIR
 *     Two recordings of the same page (e.g. ximagesrc with and without
 *     XDamage): for every state both show, are the pictures the same? A
 *     state's picture is the last one captured with it in --ref; frames in
 *     --in that show another picture are counted (the first frame after a
 *     state change is excused: it can catch Chromium mid-paint).
 *
 *   pairs --in DIR
 *     SSIM of the picture pairs scripts/bench/screenbits.mjs saved from
 *     Chromium (DIR/pairs.txt: id w h local-file remote-file): Chromium's
 *     own captured frame against its decoded frame with the same state id,
 *     per segment.
 *
 * Segments by state id: 1 still slide, 2-6 slide changes, 1000-1999
 * scrolling, 2000-2999 video. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>

#include "classcast/capture.h"
#include "classcast/clock.h"
#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/vp8enc.h"

#define FW 1920
#define FH 1080
#define FRAME_BYTES ((size_t)FW * FH * 3 / 2)
#define NSEG 4
#define END_ID 65535

static const char *const seg_name[NSEG] = {"still slide", "slide changes",
                                           "scrolling text", "video clip"};

static int seg_of(int id)
{
    if (id == 1)
        return 0;
    if (id >= 2 && id <= 6)
        return 1;
    if (id >= 1000 && id < 2000)
        return 2;
    if (id >= 2000 && id < 3000)
        return 3;
    return -1;
}

/* The page's block row: 18 blocks of 16x16 from (1600, 1040); a white and
 * a black block, then 16 bits. -1 if the row is not there. */
static int read_state(const uint8_t *y, int stride, int w, int h)
{
    int bits[18];
    int x0 = 1600 * w / FW, y0 = 1040 * h / FH, bw = 16 * w / FW;
    for (int i = 0; i < 18; i++) {
        int cx = x0 + i * bw + bw / 2, cy = y0 + bw / 2, sum = 0;
        for (int dy = -2; dy < 2; dy++)
            for (int dx = -2; dx < 2; dx++)
                sum += y[(cy + dy) * stride + cx + dx];
        bits[i] = sum / 16 > 128;
    }
    if (!bits[0] || bits[1])
        return -1;
    int id = 0;
    for (int i = 0; i < 16; i++)
        id = id << 1 | bits[2 + i];
    return id;
}

static double proc_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static uint64_t fnv(const uint8_t *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* ------------------------------------------------------------- record */

static int cmd_record(int argc, char **argv)
{
    const char *display = NULL, *out = NULL, *pipelines = "pipelines", *pipe = "screen";
    int seconds = 70, frames = 1;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--display") && i + 1 < argc)
            display = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--pipelines") && i + 1 < argc)
            pipelines = argv[++i];
        else if (!strcmp(argv[i], "--pipe") && i + 1 < argc)
            pipe = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-frames"))
            frames = 0;
        else {
            fprintf(stderr, "record: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!display || !out || seconds < 1 || seconds > 300) {
        fprintf(stderr, "record: --display and --out needed (--seconds 1..300)\n");
        return 2;
    }
    mkdir(out, 0755);
    char path[1200];
    snprintf(path, sizeof path, "%s/frames.raw", out);
    FILE *fr = frames ? fopen(path, "wb") : NULL;
    snprintf(path, sizeof path, "%s/index.txt", out);
    FILE *fi = fopen(path, "w");
    if ((frames && !fr) || !fi) {
        fprintf(stderr, "record: cannot write in %s: %s\n", out, strerror(errno));
        return 1;
    }
    char v0[300], v1[32], v2[32], v3[32];
    snprintf(v0, sizeof v0, "DISPLAY=%s", display);
    snprintf(v1, sizeof v1, "WIDTH=%d", FW);
    snprintf(v2, sizeof v2, "HEIGHT=%d", FH);
    snprintf(v3, sizeof v3, "FPS=30");
    cc_capture_config cc = {.pipelines_dir = pipelines, .name = pipe,
                            .vars = {v0, v1, v2, v3, NULL}};
    char err[1024] = "";
    cc_capture *cap = NULL;
    if (cc_capture_new(&cap, &cc, err, sizeof err) != 0 || cc_capture_start(cap) != 0) {
        cc_capture_status st = {0};
        if (cap)
            cc_capture_get_status(cap, &st);
        fprintf(stderr, "record: capture: %s %s\n", err, st.last_error);
        return 1;
    }
    uint8_t *last = malloc(FRAME_BYTES);
    int have_last = 0, nuniq = 0, started = 0, seg = -1, finished = 0;
    uint64_t last_hash = 0, nframes = 0;
    cc_time_us t_first = 0, deadline = cc_clock_mono_us() + (cc_time_us)seconds * 1000000;
    double cpu_at[NSEG + 1] = {0};
    int seg_frames[NSEG] = {0};
    cc_time_us wall_at[NSEG + 1] = {0};
    while (cc_clock_mono_us() < deadline && !finished) {
        cc_capture_sample s;
        int rc = cc_capture_pull(cap, &s, 200);
        if (rc == CC_ETIMEOUT)
            continue;
        if (rc != 0)
            break;
        if (s.kind != CC_CAPTURE_VIDEO || s.width != FW || s.height != FH) {
            cc_capture_sample_release(&s);
            continue;
        }
        int id = read_state(s.plane[0], s.stride[0], FW, FH);
        if (id == END_ID && started) {
            finished = 1;
            cpu_at[NSEG] = proc_cpu_s();
            wall_at[NSEG] = s.capture_us;
        }
        int sg = seg_of(id);
        if (sg >= 0 && !finished) {
            if (!started) {
                started = 1;
                t_first = s.capture_us;
            }
            if (sg != seg) {
                for (int k = seg + 1; k <= sg; k++) {
                    cpu_at[k] = proc_cpu_s();
                    wall_at[k] = s.capture_us;
                }
                seg = sg;
            }
            /* Packed copy of the picture, compared with the last one. */
            static uint8_t cur[FRAME_BYTES];
            uint8_t *p = cur;
            for (int pl = 0; pl < 3; pl++) {
                int pw = pl ? FW / 2 : FW, ph = pl ? FH / 2 : FH;
                for (int y = 0; y < ph; y++, p += pw)
                    memcpy(p, s.plane[pl] + (size_t)y * s.stride[pl], (size_t)pw);
            }
            if (!have_last || memcmp(cur, last, FRAME_BYTES)) {
                memcpy(last, cur, FRAME_BYTES);
                have_last = 1;
                last_hash = fnv(cur, FRAME_BYTES, 1469598103934665603ull);
                if (fr && fwrite(cur, 1, FRAME_BYTES, fr) != FRAME_BYTES) {
                    fprintf(stderr, "record: write: %s\n", strerror(errno));
                    break;
                }
                nuniq++;
            }
            seg_frames[sg]++;
            fprintf(fi, "%lld %d %d %016llx\n", (long long)(s.capture_us - t_first), id,
                    nuniq - 1, (unsigned long long)last_hash);
            nframes++;
        }
        cc_capture_sample_release(&s);
    }
    cc_capture_status st;
    cc_capture_get_status(cap, &st);
    cc_capture_stop(cap);
    cc_capture_free(cap);
    if (fr)
        fclose(fr);
    fclose(fi);
    free(last);
    snprintf(path, sizeof path, "%s/cpu.txt", out);
    FILE *fc = fopen(path, "w");
    if (fc && finished) {
        for (int k = 0; k < NSEG; k++) {
            double wall = (wall_at[k + 1] - wall_at[k]) / 1e6;
            fprintf(fc, "%d %.3f %.3f %d\n", k, cpu_at[k + 1] - cpu_at[k], wall, seg_frames[k]);
        }
    }
    if (fc)
        fclose(fc);
    fprintf(stderr, "record: %llu frames (%d distinct pictures), capture dropped %llu, %s\n",
            (unsigned long long)nframes, nuniq, (unsigned long long)st.dropped,
            finished ? "reached the end state" : "did NOT reach the end state");
    if (finished)
        for (int k = 0; k < NSEG; k++)
            fprintf(stderr, "record: %-15s CPU %.0f %% of one core\n", seg_name[k],
                    100 * (cpu_at[k + 1] - cpu_at[k]) /
                        ((wall_at[k + 1] - wall_at[k]) / 1e6));
    return finished ? 0 : 1;
}

/* ------------------------------------------------------ recordings, SSIM */

typedef struct rec_frame {
    cc_time_us t;
    int id, uniq;
    uint64_t hash;
} rec_frame;

typedef struct recording {
    rec_frame *f;
    int n;
    const uint8_t *pics; /* mmap of frames.raw */
    size_t pics_len;
} recording;

static int load_recording(const char *dir, recording *r, int need_pics)
{
    memset(r, 0, sizeof *r);
    char path[1200];
    snprintf(path, sizeof path, "%s/index.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    int cap = 4096;
    r->f = malloc(sizeof *r->f * (size_t)cap);
    long long t;
    int id, u;
    unsigned long long h;
    while (fscanf(f, "%lld %d %d %llx", &t, &id, &u, &h) == 4) {
        if (r->n == cap) {
            cap *= 2;
            r->f = realloc(r->f, sizeof *r->f * (size_t)cap);
        }
        r->f[r->n++] = (rec_frame){t, id, u, h};
    }
    fclose(f);
    if (!need_pics)
        return r->n > 0 ? 0 : -1;
    snprintf(path, sizeof path, "%s/frames.raw", dir);
    int fd = open(path, O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size == 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    r->pics_len = (size_t)sb.st_size;
    r->pics = mmap(NULL, r->pics_len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (r->pics == MAP_FAILED)
        return -1;
    return r->n > 0 ? 0 : -1;
}

static const uint8_t *pic(const recording *r, int uniq)
{
    size_t off = (size_t)uniq * FRAME_BYTES;
    return off + FRAME_BYTES <= r->pics_len ? r->pics + off : NULL;
}

/* SSIM of two luma planes (Wang et al. 2004: 8x8 windows, here every 4
 * pixels in both directions, uniform weights). */
static double ssim_y(const uint8_t *a, int sa, const uint8_t *b, int sb, int w, int h)
{
    const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
    double total = 0;
    long n = 0;
    for (int y = 0; y + 8 <= h; y += 4)
        for (int x = 0; x + 8 <= w; x += 4) {
            long sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
            for (int j = 0; j < 8; j++) {
                const uint8_t *pa = a + (size_t)(y + j) * sa + x;
                const uint8_t *pb = b + (size_t)(y + j) * sb + x;
                for (int i = 0; i < 8; i++) {
                    int u = pa[i], v = pb[i];
                    sx += u;
                    sy += v;
                    sxx += u * u;
                    syy += v * v;
                    sxy += u * v;
                }
            }
            double mx = sx / 64.0, my = sy / 64.0;
            double vx = sxx / 64.0 - mx * mx, vy = syy / 64.0 - my * my;
            double cxy = sxy / 64.0 - mx * my;
            total += ((2 * mx * my + c1) * (2 * cxy + c2)) /
                     ((mx * mx + my * my + c1) * (vx + vy + c2));
            n++;
        }
    return n ? total / n : 1;
}

/* --------------------------------------------------------------- encode */

typedef struct seg_stats {
    cc_time_us t0, t1;
    uint64_t bytes;
    int frames_in, frames_out, skipped, dropped, keyframes;
    size_t max_frame;
    cc_time_us max_gap;
    double ssim_sum, ssim_min;
    int ssim_n;
    double coded_sum; /* per captured frame: SSIM of the picture shown
                         against the capture it was encoded from */
    double enc_ms_sum;
} seg_stats;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmd_encode(int argc, char **argv)
{
    const char *in = NULL, *label = NULL;
    int legacy = 0, layers = 1, kbps = 1500, settle = 0, keepalive = 0, trace = 0;
    int dump_at = -1, cpu_used = 0;
    const char *dump_to = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--in") && i + 1 < argc)
            in = argv[++i];
        else if (!strcmp(argv[i], "--legacy"))
            legacy = 1;
        else if (!strcmp(argv[i], "--layers") && i + 1 < argc)
            layers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--kbps") && i + 1 < argc)
            kbps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--settle-ms") && i + 1 < argc)
            settle = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cpu-used") && i + 1 < argc)
            cpu_used = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--keepalive-ms") && i + 1 < argc)
            keepalive = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dump") && i + 2 < argc) {
            dump_at = atoi(argv[++i]);
            dump_to = argv[++i];
        } else if (!strcmp(argv[i], "--trace"))
            trace = 1;
        else if (!strcmp(argv[i], "--label") && i + 1 < argc)
            label = argv[++i];
        else {
            fprintf(stderr, "encode: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    recording r;
    if (!in || load_recording(in, &r, 1) != 0) {
        fprintf(stderr, "encode: --in DIR with a recording needed\n");
        return 2;
    }
    cc_vp8enc_config c;
    cc_vp8enc_config_default(&c, FW, FH, 30, kbps);
    c.screen_content = 1;
    c.screen = !legacy;
    c.temporal_layers = layers;
    c.settle_ms = settle;
    c.static_keepalive_ms = keepalive;
    c.cpu_used = cpu_used;
    cc_vp8enc *e;
    if (cc_vp8enc_new(&e, &c) != 0) {
        fprintf(stderr, "encode: encoder init failed\n");
        return 1;
    }
    vpx_codec_ctx_t d;
    if (vpx_codec_dec_init(&d, vpx_codec_vp8_dx(), NULL, 0) != VPX_CODEC_OK) {
        fprintf(stderr, "encode: decoder init failed\n");
        return 1;
    }
    uint8_t *disp = calloc((size_t)FW * FH, 1); /* what a receiver shows */
    double *enc_ms = calloc((size_t)r.n, sizeof *enc_ms);
    int n_enc = 0, disp_gen = 0, last_disp_gen = -1, last_uniq = -1;
    double last_ssim = 0, coded = 0;
    seg_stats sg[NSEG + 1];
    memset(sg, 0, sizeof sg);
    for (int k = 0; k <= NSEG; k++)
        sg[k].ssim_min = 1;
    cc_time_us base = 10 * CC_USEC_PER_SEC, last_out = -1;
    int prev_seg = -1, decode_errors = 0;
    for (int i = 0; i < r.n; i++) {
        int s = seg_of(r.f[i].id);
        if (s < 0)
            continue;
        const uint8_t *y = pic(&r, r.f[i].uniq);
        if (!y) {
            fprintf(stderr, "encode: picture %d missing\n", r.f[i].uniq);
            break;
        }
        if (s != prev_seg) {
            if (prev_seg >= 0)
                sg[prev_seg].t1 = r.f[i].t;
            sg[s].t0 = r.f[i].t;
            prev_seg = s;
        }
        const uint8_t *planes[3] = {y, y + FW * FH, y + FW * FH + FW * FH / 4};
        const int strides[3] = {FW, FW / 2, FW / 2};
        cc_vp8enc_stats st0, st1;
        cc_vp8enc_get_stats(e, &st0);
        cc_vp8enc_frame f;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int rc = cc_vp8enc_encode(e, planes, strides, base + r.f[i].t, &f);
        clock_gettime(CLOCK_MONOTONIC, &b);
        cc_vp8enc_get_stats(e, &st1);
        double ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
        seg_stats *q = &sg[s];
        q->frames_in++;
        if (rc < 0) {
            fprintf(stderr, "encode: error %d at frame %d\n", rc, i);
            break;
        }
        if (rc == 1) {
            enc_ms[n_enc++] = ms;
            q->enc_ms_sum += ms;
            q->frames_out++;
            q->bytes += f.size;
            q->keyframes += f.keyframe;
            if (f.size > q->max_frame)
                q->max_frame = f.size;
            if (last_out >= 0 && r.f[i].t - last_out > q->max_gap)
                q->max_gap = r.f[i].t - last_out;
            last_out = r.f[i].t;
            if (vpx_codec_decode(&d, f.data, (unsigned)f.size, NULL, 0) != VPX_CODEC_OK) {
                decode_errors++;
            } else {
                vpx_codec_iter_t it = NULL;
                vpx_image_t *img = vpx_codec_get_frame(&d, &it);
                if (img && (int)img->d_w == FW && (int)img->d_h == FH) {
                    for (int row = 0; row < FH; row++)
                        memcpy(disp + (size_t)row * FW,
                               img->planes[0] + (size_t)row * img->stride[0], FW);
                    disp_gen++;
                } else {
                    decode_errors++;
                }
            }
        } else {
            q->skipped += (int)(st1.static_skipped - st0.static_skipped);
            q->dropped += (int)(st1.dropped - st0.dropped);
        }
        /* SSIM of the receiver's picture against the captured one: only
         * recomputed when either changed. */
        if (disp_gen != last_disp_gen || r.f[i].uniq != last_uniq) {
            last_ssim = ssim_y(disp, FW, y, FW, FW, FH);
            last_disp_gen = disp_gen;
            last_uniq = r.f[i].uniq;
        }
        if (i == dump_at && dump_to) {
            /* The receiver's and the captured luma, side by side (PGM). */
            FILE *pf = fopen(dump_to, "wb");
            if (pf) {
                fprintf(pf, "P5\n%d %d\n255\n", FW * 2, FH);
                for (int row = 0; row < FH; row++) {
                    fwrite(disp + (size_t)row * FW, 1, FW, pf);
                    fwrite(y + (size_t)row * FW, 1, FW, pf);
                }
                fclose(pf);
            }
        }
        if (trace)
            printf("TRACE %d t=%.3f id=%d rc=%d size=%zu key=%d tid=%d ssim=%.4f\n", i,
                   r.f[i].t / 1e6, r.f[i].id, rc, rc == 1 ? f.size : 0,
                   rc == 1 ? f.keyframe : 0, rc == 1 ? f.tid : -1, last_ssim);
        if (rc == 1)
            coded = last_ssim;
        q->ssim_sum += last_ssim;
        q->coded_sum += coded;
        q->ssim_n++;
        if (last_ssim < q->ssim_min)
            q->ssim_min = last_ssim;
    }
    if (prev_seg >= 0)
        sg[prev_seg].t1 = r.f[r.n - 1].t + CC_USEC_PER_SEC / 30;
    /* Overall. */
    seg_stats *all = &sg[NSEG];
    all->t0 = sg[0].t0;
    all->t1 = prev_seg >= 0 ? sg[prev_seg].t1 : 0;
    for (int k = 0; k < NSEG; k++) {
        all->bytes += sg[k].bytes;
        all->frames_in += sg[k].frames_in;
        all->frames_out += sg[k].frames_out;
        all->skipped += sg[k].skipped;
        all->dropped += sg[k].dropped;
        all->keyframes += sg[k].keyframes;
        if (sg[k].max_frame > all->max_frame)
            all->max_frame = sg[k].max_frame;
        if (sg[k].max_gap > all->max_gap)
            all->max_gap = sg[k].max_gap;
        all->ssim_sum += sg[k].ssim_sum;
        all->coded_sum += sg[k].coded_sum;
        all->ssim_n += sg[k].ssim_n;
        if (sg[k].ssim_min < all->ssim_min)
            all->ssim_min = sg[k].ssim_min;
    }
    qsort(enc_ms, (size_t)n_enc, sizeof *enc_ms, cmp_double);
    double med = n_enc ? enc_ms[n_enc / 2] : 0;
    double p95 = n_enc ? enc_ms[(int)(n_enc * 0.95)] : 0;
    char def[128];
    char cpu[32] = "";
    if (cpu_used)
        snprintf(cpu, sizeof cpu, ", cpu-used %d", cpu_used);
    snprintf(def, sizeof def, "%s, %d layer%s, %d kbit/s%s", legacy ? "(a) today (--legacy)" : "(b) screen mode",
             layers, layers > 1 ? "s" : "", kbps, cpu);
    const char *lab = label ? label : def;
    printf("JSON {\"config\":\"%s\",\"legacy\":%d,\"layers\":%d,\"kbps_target\":%d,"
           "\"encode_ms_median\":%.2f,\"encode_ms_p95\":%.2f,\"decode_errors\":%d,\"segments\":[",
           lab, legacy, layers, kbps, med, p95, decode_errors);
    for (int k = 0; k <= NSEG; k++) {
        seg_stats *q = &sg[k];
        double dur = (q->t1 - q->t0) / 1e6;
        printf("%s{\"segment\":\"%s\",\"seconds\":%.2f,\"kbps\":%.1f,\"ssim_mean\":%.4f,"
               "\"ssim_coded\":%.4f,"
               "\"ssim_min\":%.4f,\"frames_in\":%d,\"frames_out\":%d,\"static_skipped\":%d,"
               "\"dropped\":%d,\"keyframes\":%d,\"max_frame_bytes\":%zu,\"max_gap_ms\":%.0f}",
               k ? "," : "", k < NSEG ? seg_name[k] : "all", dur,
               dur > 0 ? q->bytes * 8 / 1000.0 / dur : 0, q->ssim_n ? q->ssim_sum / q->ssim_n : 0,
               q->ssim_n ? q->coded_sum / q->ssim_n : 0, q->ssim_min, q->frames_in, q->frames_out, q->skipped, q->dropped, q->keyframes,
               q->max_frame, q->max_gap / 1000.0);
    }
    printf("]}\n");
    for (int k = 0; k <= NSEG; k++) {
        seg_stats *q = &sg[k];
        double dur = (q->t1 - q->t0) / 1e6;
        printf("ROW | %s | %s | %.1f | **%.0f** | %.4f | %.4f | %.4f | %d / %d | %d | %d | %d | %.1f | %.0f |\n",
               lab, k < NSEG ? seg_name[k] : "**whole sequence**", dur,
               dur > 0 ? q->bytes * 8 / 1000.0 / dur : 0, q->ssim_n ? q->ssim_sum / q->ssim_n : 0,
               q->ssim_min, q->ssim_n ? q->coded_sum / q->ssim_n : 0, q->frames_out, q->frames_in, q->skipped, q->dropped, q->keyframes,
               q->max_frame / 1000.0, q->max_gap / 1000.0);
    }
    printf("ENC | %s | %.2f | %.2f | %d |\n", lab, med, p95, decode_errors);
    free(disp);
    free(enc_ms);
    vpx_codec_destroy(&d);
    cc_vp8enc_free(e);
    return decode_errors ? 1 : 0;
}

/* -------------------------------------------------------------- compare */

static int cmd_compare(int argc, char **argv)
{
    const char *in = NULL, *ref = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--in") && i + 1 < argc)
            in = argv[++i];
        else if (!strcmp(argv[i], "--ref") && i + 1 < argc)
            ref = argv[++i];
        else {
            fprintf(stderr, "compare: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    recording a, b;
    if (!in || !ref || load_recording(in, &a, 0) || load_recording(ref, &b, 0)) {
        fprintf(stderr, "compare: --in DIR --ref DIR\n");
        return 2;
    }
    /* The reference picture of each state: the last one seen with it. */
    static uint64_t want[65536];
    static unsigned char have[65536];
    for (int i = 0; i < b.n; i++) {
        want[b.f[i].id] = b.f[i].hash;
        have[b.f[i].id] = 1;
    }
    int checked[NSEG] = {0}, wrong[NSEG] = {0}, wrong_run = 0, longest = 0;
    for (int i = 0; i < a.n; i++) {
        int s = seg_of(a.f[i].id);
        if (s < 0 || !have[a.f[i].id])
            continue;
        if (i > 0 && a.f[i - 1].id != a.f[i].id)
            continue; /* first frame of a state: may be mid-paint */
        checked[s]++;
        if (a.f[i].hash != want[a.f[i].id]) {
            wrong[s]++;
            wrong_run++;
            if (wrong_run > longest)
                longest = wrong_run;
        } else {
            wrong_run = 0;
        }
    }
    int tw = 0;
    for (int k = 0; k < NSEG; k++) {
        printf("COMPARE | %s | %d | %d |\n", seg_name[k], checked[k], wrong[k]);
        tw += wrong[k];
    }
    printf("COMPARE longest run of wrong frames: %d\n", longest);
    return tw ? 1 : 0;
}

/* ---------------------------------------------------------------- pairs */

static uint8_t *read_file(const char *path, size_t want)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *p = malloc(want);
    if (p && fread(p, 1, want, f) != want) {
        free(p);
        p = NULL;
    }
    fclose(f);
    return p;
}

static int cmd_pairs(int argc, char **argv)
{
    const char *in = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--in") && i + 1 < argc)
            in = argv[++i];
        else {
            fprintf(stderr, "pairs: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!in)
        return 2;
    char path[1200];
    snprintf(path, sizeof path, "%s/pairs.txt", in);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    double sum[NSEG + 1] = {0}, mn[NSEG + 1];
    int n[NSEG + 1] = {0}, bad = 0;
    for (int k = 0; k <= NSEG; k++)
        mn[k] = 1;
    int id, w, h;
    char la[256], lb[256];
    while (fscanf(f, "%d %d %d %255s %255s", &id, &w, &h, la, lb) == 5) {
        int s = seg_of(id);
        if (s < 0 || w <= 0 || h <= 0 || w > 8192 || h > 8192)
            continue;
        char pa[1500], pb[1500];
        snprintf(pa, sizeof pa, "%s/%s", in, la);
        snprintf(pb, sizeof pb, "%s/%s", in, lb);
        uint8_t *ya = read_file(pa, (size_t)w * h), *yb = read_file(pb, (size_t)w * h);
        if (!ya || !yb) {
            bad++;
        } else {
            double v = ssim_y(ya, w, yb, w, w, h);
            int ks[2] = {s, NSEG};
            for (int j = 0; j < 2; j++) {
                sum[ks[j]] += v;
                n[ks[j]]++;
                if (v < mn[ks[j]])
                    mn[ks[j]] = v;
            }
        }
        free(ya);
        free(yb);
    }
    fclose(f);
    for (int k = 0; k <= NSEG; k++)
        printf("PAIRS | %s | %d | %.4f | %.4f |\n", k < NSEG ? seg_name[k] : "all", n[k],
               n[k] ? sum[k] / n[k] : 0, n[k] ? mn[k] : 0);
    if (bad)
        fprintf(stderr, "pairs: %d pairs unreadable\n", bad);
    return 0;
}

int main(int argc, char **argv)
{
    cc_log_set_level(CC_LOG_WARN);
    if (argc >= 2 && !strcmp(argv[1], "record"))
        return cmd_record(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "encode"))
        return cmd_encode(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "compare"))
        return cmd_compare(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "pairs"))
        return cmd_pairs(argc - 2, argv + 2);
    fprintf(stderr, "usage: %s record|encode|compare|pairs ... (see the source's head comment)\n",
            argv[0]);
    return 2;
}
