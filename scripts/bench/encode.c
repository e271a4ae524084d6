/* bench_encode: VP8 encode cost of classcast's encoder (src/media/vp8enc.c)
 * on synthetic frames (real screen capture is not used here): per-frame
 * encode time (median, p99) and the CPU share a live 30 fps source needs,
 * for 1280x720 and 1920x1080, screen-like and camera-like content.
 * Not a test; run through scripts/bench/encode. Bounded: a fixed number of
 * frames per case (default 150, about 40 s in all on a 2-core machine). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classcast/clock.h"
#include "classcast/rand.h"
#include "classcast/vp8enc.h"

typedef struct frame {
    int w, h;
    uint8_t *y, *u, *v;
    uint8_t *texture; /* camera: 2w x h panning background */
} frame;

static void frame_alloc(frame *f, int w, int h)
{
    f->w = w;
    f->h = h;
    f->y = malloc((size_t)w * h);
    f->u = malloc((size_t)w * h / 4);
    f->v = malloc((size_t)w * h / 4);
    f->texture = malloc((size_t)w * 2 * h);
    if (!f->y || !f->u || !f->v || !f->texture) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
}

static void frame_free(frame *f)
{
    free(f->y);
    free(f->u);
    free(f->v);
    free(f->texture);
}

/* Camera-like: smooth shading, flat objects, panning 2 px per frame, a
 * moving bright box and +-3 of sensor noise. */
static void camera_init(frame *f)
{
    cc_prng r;
    cc_prng_seed(&r, 1);
    int tw = f->w * 2;
    for (int y = 0; y < f->h; y++)
        for (int x = 0; x < tw; x++)
            f->texture[y * tw + x] =
                (uint8_t)(110 + 50 * sin(x * 0.031) * cos(y * 0.023));
    int objects = f->w * f->h / 1500;
    for (int i = 0; i < objects; i++) {
        int bx = (int)cc_prng_below(&r, (uint32_t)(tw - 24));
        int by = (int)cc_prng_below(&r, (uint32_t)(f->h - 24));
        int v = 30 + (int)cc_prng_below(&r, 190);
        for (int y = by; y < by + 24; y++)
            for (int x = bx; x < bx + 24; x++)
                f->texture[y * tw + x] = (uint8_t)(v + (x - bx));
    }
}

static void camera_draw(frame *f, int k, cc_prng *r)
{
    int tw = f->w * 2, pan = (k * 2) % f->w;
    for (int y = 0; y < f->h; y++) {
        const uint8_t *src = f->texture + y * tw + pan;
        uint8_t *dst = f->y + y * f->w;
        for (int x = 0; x < f->w; x++) {
            int v = src[x] + (int)(cc_prng_next(r) % 7) - 3;
            dst[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    int bs = f->h / 6;
    int bx = (k * 7) % (f->w - bs), by = (k * 5) % (f->h - bs);
    for (int y = by; y < by + bs; y++)
        memset(f->y + y * f->w + bx, 235, (size_t)bs);
    for (int y = 0; y < f->h / 2; y++)
        for (int x = 0; x < f->w / 2; x++) {
            f->u[y * (f->w / 2) + x] = (uint8_t)(128 + ((x + k) % 64) - 32);
            f->v[y * (f->w / 2) + x] = (uint8_t)(128 + ((y + 2 * k) % 64) - 32);
        }
}

/* Screen-like: a white document of glyph-like strokes in a window with a
 * title bar; the text scrolls one line a second, a character is
 * typed every 3 frames and a mouse-pointer-sized block moves. */
static void screen_draw(frame *f, int k)
{
    int w = f->w, h = f->h;
    memset(f->y, 200, (size_t)w * h);                 /* desktop */
    for (int y = 30; y < h - 30; y++)
        memset(f->y + y * w + 40, 235, (size_t)(w - 80)); /* window */
    for (int y = 30; y < 60; y++)
        memset(f->y + y * w + 40, 90, (size_t)(w - 80));  /* title bar */
    int scroll = k / 30, typed = k / 3;
    int glyph = 0;
    for (int line = 0; 70 + line * 20 + 12 < h - 30; line++) {
        cc_prng r;
        cc_prng_seed(&r, (uint64_t)(line + scroll) * 7919 + 1);
        int yl = 70 + line * 20;
        for (int x = 56; x + 8 < w - 56; x += 9) {
            uint64_t shape = cc_prng_next(&r);
            if ((shape & 7) == 0)
                continue; /* a space */
            glyph++;
            if (line >= 20 && glyph > typed + 1500)
                continue; /* not typed yet */
            /* about a quarter of the cell inked, like real text */
            uint32_t ink = (uint32_t)(shape >> 3) & (uint32_t)(shape >> 33);
            for (int gy = 1; gy < 11; gy++)
                for (int gx = 0; gx < 7; gx++)
                    if ((ink >> ((gy * 7 + gx) % 29)) & 1)
                        f->y[(yl + gy) * w + x + gx] = 16;
        }
    }
    int mx = 100 + (k * 11) % (w - 200), my = 100 + (k * 3) % (h - 200);
    for (int y = my; y < my + 20; y++)
        memset(f->y + y * w + mx, 0, 12);
    memset(f->u, 128, (size_t)w * h / 4);
    memset(f->v, 128, (size_t)w * h / 4);
    for (int y = 15; y < 30; y++) /* a blue title bar in chroma */
        memset(f->u + y * (w / 2) + 20, 170, (size_t)(w / 2 - 40));
}

static double now_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct result {
    double median_ms, p99_ms, cpu_ms, share, kbps, fps_max;
    int frames, dropped;
} result;

static int run_case(int w, int h, int screen, int kbps, int cpu_used,
                    int threads, int encodings, int nframes, result *res)
{
    cc_vp8enc_config c;
    cc_vp8enc_config_default(&c, w, h, 30, kbps);
    c.screen_content = screen;
    c.cpu_used = cpu_used;
    c.threads = threads;
    c.encodings = encodings;
    cc_vp8enc *e;
    if (cc_vp8enc_new(&e, &c) != 0)
        return -1;
    frame f;
    frame_alloc(&f, w, h);
    if (!screen)
        camera_init(&f);
    cc_prng r;
    cc_prng_seed(&r, 2);
    double *t = calloc((size_t)nframes, sizeof *t);
    double cpu_total = 0;
    uint64_t bytes = 0;
    int dropped = 0;
    const uint8_t *planes[3] = {f.y, f.u, f.v};
    const int strides[3] = {w, w / 2, w / 2};
    for (int k = 0; k < nframes; k++) {
        if (screen)
            screen_draw(&f, k);
        else
            camera_draw(&f, k, &r);
        cc_vp8enc_frame out[CC_VP8ENC_MAX_ENC];
        double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
        int rc = cc_vp8enc_encode_all(e, planes, strides,
                                      (cc_time_us)k * 1000000 / 30, out);
        double w1 = now_s(CLOCK_MONOTONIC), c1 = now_s(CLOCK_PROCESS_CPUTIME_ID);
        t[k] = (w1 - w0) * 1e3;
        cpu_total += c1 - c0;
        for (int i = 0; i < rc; i++)
            bytes += out[i].size;
        if (rc <= 0)
            dropped++;
    }
    qsort(t, (size_t)nframes, sizeof *t, cmp_double);
    res->median_ms = t[nframes / 2];
    res->p99_ms = t[(int)(nframes * 0.99) < nframes ? (int)(nframes * 0.99)
                                                     : nframes - 1];
    res->cpu_ms = cpu_total / nframes * 1e3;
    res->share = cpu_total / nframes * 30 * 100; /* % of one core at 30 fps */
    res->kbps = bytes * 8.0 / 1000 / (nframes / 30.0);
    double mean = 0;
    for (int k = 0; k < nframes; k++)
        mean += t[k];
    res->fps_max = 1000 / (mean / nframes);
    res->frames = nframes;
    res->dropped = dropped;
    free(t);
    frame_free(&f);
    cc_vp8enc_free(e);
    return 0;
}

int main(int argc, char **argv)
{
    int nframes = 150, sweep = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--frames") && i + 1 < argc)
            nframes = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-sweep"))
            sweep = 0;
        else {
            fprintf(stderr, "usage: %s [--frames N] [--no-sweep]\n", argv[0]);
            return 2;
        }
    }
    if (nframes < 10 || nframes > 3000)
        nframes = 150;
    printf("# classcast VP8 encode benchmark (src/media/vp8enc.c, libvpx %s)\n",
           "1.12 on Debian 12");
    printf("# synthetic frames, not a real screen capture; 30 fps capture "
           "times, CBR, 3 temporal layers,\n# default cpu-used (camera -8, "
           "screen -12), 2 threads at 720p and up; %d frames per case.\n",
           nframes);
    printf("# reproduce: scripts/bench/encode   (or: build/bench_encode "
           "--frames %d)\n", nframes);
    /* Other load on the machine skews every number: say how much. */
    FILE *la = fopen("/proc/loadavg", "r");
    char load[64] = "?";
    if (la) {
        if (!fgets(load, sizeof load, la))
            snprintf(load, sizeof load, "?");
        fclose(la);
    }
    load[strcspn(load, "\n")] = 0;
    printf("# load average at start: %s\n\n", load);
    printf("| content | size | target kbit/s | encode ms median | p99 | "
           "CPU ms/frame | CPU share at 30 fps (1 core) | max fps | "
           "out kbit/s | dropped |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    static const struct { int w, h, kbps_cam, kbps_scr; } sizes[] = {
        {1280, 720, 1500, 1200}, {1920, 1080, 2500, 2000}};
    for (int s = 0; s < 2; s++)
        for (int screen = 1; screen >= 0; screen--) {
            result r;
            int kbps = screen ? sizes[s].kbps_scr : sizes[s].kbps_cam;
            if (run_case(sizes[s].w, sizes[s].h, screen, kbps, 0, 0, 1, nframes,
                         &r)) {
                printf("| %s | %dx%d | encoder init failed |\n",
                       screen ? "screen" : "camera", sizes[s].w, sizes[s].h);
                continue;
            }
            printf("| %s | %dx%d | %d | %.2f | %.2f | %.2f | %.0f %% | %.0f | "
                   "%.0f | %d |\n",
                   screen ? "screen" : "camera", sizes[s].w, sizes[s].h, kbps,
                   r.median_ms, r.p99_ms, r.cpu_ms, r.share, r.fps_max, r.kbps,
                   r.dropped);
            fflush(stdout);
        }
    if (sweep) {
        printf("\ncpu-used sweep, camera 1280x720 at 1500 kbit/s, %d frames:\n\n",
               nframes / 2);
        printf("| cpu-used | encode ms median | p99 | CPU share at 30 fps | "
               "out kbit/s |\n|---|---|---|---|---|\n");
        static const int cpus[] = {-4, -6, -8, -12, -16};
        for (size_t i = 0; i < sizeof cpus / sizeof cpus[0]; i++) {
            result r;
            if (run_case(1280, 720, 0, 1500, cpus[i], 0, 1, nframes / 2, &r))
                continue;
            printf("| %d | %.2f | %.2f | %.0f %% | %.0f |\n", cpus[i],
                   r.median_ms, r.p99_ms, r.share, r.kbps);
            fflush(stdout);
        }
    }
    /* Simulcast (serve --simulcast with a --source camera): what the two
     * smaller encodings add to the camera's encode, at the default
     * camera target of the media core. */
    printf("\nsimulcast, camera 1280x720 at 1000 kbit/s, %d frames:\n\n", nframes);
    printf("| encodings | encode ms median | p99 | CPU share at 30 fps | out kbit/s (all) |\n"
           "|---|---|---|---|---|\n");
    for (int n = 1; n <= CC_VP8ENC_MAX_ENC; n += 2) {
        result r;
        if (run_case(1280, 720, 0, 1000, 0, 0, n, nframes, &r))
            continue;
        printf("| %d%s | %.2f | %.2f | %.0f %% | %.0f |\n", n,
               n > 1 ? " (1280x720, 640x360, 320x180)" : "", r.median_ms, r.p99_ms, r.share,
               r.kbps);
        fflush(stdout);
    }
    return 0;
}
