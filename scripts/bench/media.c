/* bench_media: the media core end to end on a real cc_source (src/media/
 * source.c): a GStreamer capture pipeline from pipelines/, classcast's VP8
 * encoder and RTP packetizer on the source's own thread, packets counted and
 * dropped at emit(). Per case it prints one Markdown table row, one JSON
 * line and a CPU-by-thread line:
 *   - encode time per frame, median and p99 (the on_frame hook's encode_us),
 *   - CPU share: process CPU (getrusage RUSAGE_SELF, user + system) over the
 *     window divided by wall time, in % of one core. It includes GStreamer's
 *     capture and conversion threads and libvpx's worker thread, not just
 *     the source thread; the source thread's own share is printed too (read
 *     with CLOCK_THREAD_CPUTIME_ID inside on_frame, which runs on it),
 *   - capture-to-packet latency: packetized - capture, median and p99. The
 *     capture time is the buffer's pipeline running time mapped to
 *     CLOCK_MONOTONIC (include/classcast/capture.h), so this includes the
 *     pipeline's conversion/scaling and the queue in front of the encoder,
 *   - frames encoded, frames dropped (rate control: samples pulled but not
 *     encoded; queue: oldest frames dropped because the encoder fell
 *     behind), packets and achieved bitrate.
 * Cases: screen-WxH (pipelines/screen.pipe, ximagesrc on --display or
 * $DISPLAY; draw something moving there first) and camera-WxH
 * (pipelines/test-video.pipe: videotestsrc, a synthetic camera).
 * --threads-ab: instead, pull the same case's captured frames (cc_capture)
 * and encode each one with two of classcast's VP8 encoders configured like
 * cc_source's, one with 1 libvpx thread and one with 2 (the default at 720p
 * and up), in alternating order: encode ms median/p99 for each.
 * Not a test; run through scripts/bench/media, which provides the Xvfb
 * display and its moving content. Bounded: startup waits at most 15 s,
 * then 1 s warm-up and --seconds (default 10, at most 120) of measurement. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "classcast/clock.h"
#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/pkt.h"
#include "classcast/slot.h"
#include "classcast/source.h"
#include "classcast/vp8enc.h"

#define MAX_THREADS 128

typedef struct bench {
    /* written on the source thread, read by main after the window */
    int measuring;                  /* atomic: main -> source thread */
    int named;
    cc_time_us *enc, *lat, *pre;    /* per frame in the window, microseconds */
    size_t n, cap;                  /* n: atomic */
    uint64_t keyframes, frame_bytes;
    uint64_t packets, bytes;        /* atomic: every emitted packet */
    uint64_t frames_total;          /* atomic: on_frame calls since start */
    double thread_cpu0, thread_cpu1;/* source thread CPU at window start/end */
} bench;

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mono_s(void) { return cc_clock_mono_us() / 1e6; }

static double proc_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void on_emit(void *ud, cc_pkt *p)
{
    bench *b = ud;
    __atomic_add_fetch(&b->packets, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&b->bytes, p->len, __ATOMIC_RELAXED);
    cc_pkt_unref(p);
}

static void on_frame(void *ud, cc_time_us capture, cc_time_us encode_us,
                     cc_time_us packetized, int keyframe, size_t bytes)
{
    bench *b = ud;
    if (!b->named) { /* so the CPU-by-thread line can find this thread */
        pthread_setname_np(pthread_self(), "cc-source");
        b->named = 1;
    }
    __atomic_add_fetch(&b->frames_total, 1, __ATOMIC_RELEASE);
    int m = __atomic_load_n(&b->measuring, __ATOMIC_ACQUIRE);
    if (m == 1) {
        if (b->thread_cpu0 < 0)
            b->thread_cpu0 = thread_cpu_s();
        size_t i = __atomic_load_n(&b->n, __ATOMIC_RELAXED);
        if (i < b->cap) {
            b->enc[i] = encode_us;
            b->lat[i] = packetized - capture;
            b->pre[i] = packetized - capture - encode_us;
            __atomic_store_n(&b->n, i + 1, __ATOMIC_RELEASE);
        }
        b->keyframes += keyframe != 0;
        b->frame_bytes += bytes;
        b->thread_cpu1 = thread_cpu_s();
    }
}

/* CPU time of every thread of this process, from /proc/self/task. */
typedef struct tcpu {
    pid_t tid;
    char name[32];
    double cpu;
} tcpu;

static int read_threads(tcpu *t, int cap)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < cap) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], buf[1024];
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = 0;
        char *l = strchr(buf, '('), *r = strrchr(buf, ')');
        if (!l || !r)
            continue;
        tcpu *x = &t[n];
        x->tid = (pid_t)atoi(e->d_name);
        size_t nl = (size_t)(r - l - 1);
        if (nl >= sizeof x->name)
            nl = sizeof x->name - 1;
        memcpy(x->name, l + 1, nl);
        x->name[nl] = 0;
        /* after ")": state(3) ... utime is field 14, stime 15 */
        unsigned long ut = 0, st = 0;
        char *p = r + 2;
        for (int field = 3; field < 14 && p; field++) {
            p = strchr(p, ' ');
            if (p)
                p++;
        }
        if (!p || sscanf(p, "%lu %lu", &ut, &st) != 2)
            continue;
        x->cpu = (double)(ut + st) / (double)hz;
        n++;
    }
    closedir(d);
    return n;
}

static int cmp_time(const void *a, const void *b)
{
    cc_time_us x = *(const cc_time_us *)a, y = *(const cc_time_us *)b;
    return x < y ? -1 : x > y;
}

static double pct(cc_time_us *v, size_t n, double q)
{
    if (n == 0)
        return -1;
    size_t i = (size_t)(q * (double)n);
    if (i >= n)
        i = n - 1;
    return v[i] / 1000.0;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

typedef struct opts {
    int seconds, fps, kbps;
    const char *display, *pipelines, *pattern;
    char comm[32];                  /* the process's thread name */
} opts;

static int run_case(const char *spec, const opts *o)
{
    char kind[16];
    int w = 0, h = 0;
    if (sscanf(spec, "%15[a-z]-%dx%d", kind, &w, &h) != 3 || w < 16 || h < 16 ||
        w > 4096 || h > 4096 || (w & 1) || (h & 1) ||
        (strcmp(kind, "screen") && strcmp(kind, "camera"))) {
        fprintf(stderr, "bad case '%s' (screen-WxH or camera-WxH)\n", spec);
        return 2;
    }
    int screen = !strcmp(kind, "screen");
    bench b = {.thread_cpu0 = -1};
    b.cap = (size_t)(o->seconds + 2) * (size_t)o->fps * 2;
    b.enc = calloc(b.cap, sizeof *b.enc);
    b.lat = calloc(b.cap, sizeof *b.lat);
    b.pre = calloc(b.cap, sizeof *b.pre);
    cc_pkt_pool *pool = NULL;
    if (!b.enc || !b.lat || !b.pre || cc_pkt_pool_new(&pool, 512) != 0) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    char dispvar[300];
    cc_source_config sc = {
        .pipelines_dir = o->pipelines,
        .name = screen ? "screen" : "test-video",
        .slot = screen ? CC_SLOT_SCREEN : CC_SLOT_CAMERA,
        .width = w,
        .height = h,
        .fps = o->fps,
        .bitrate_kbps = o->kbps,
        .pool = pool,
        .emit = on_emit,
        .on_frame = on_frame,
        .ud = &b,
    };
    if (screen) {
        const char *d = o->display ? o->display : getenv("DISPLAY");
        if (!d) {
            fprintf(stderr, "%s: no X display (--display or $DISPLAY)\n", spec);
            return 1;
        }
        snprintf(dispvar, sizeof dispvar, "DISPLAY=%s", d);
        sc.vars[0] = dispvar;
    } else if (o->pattern) {
        snprintf(dispvar, sizeof dispvar, "PATTERN=%s", o->pattern);
        sc.vars[0] = dispvar;
    }
    char err[1024] = "";
    cc_source *src;
    int rc = cc_source_new(&src, &sc, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", spec, err);
        return 1;
    }
    if ((rc = cc_source_start(src)) != 0) {
        cc_source_stats st;
        cc_source_get_stats(src, &st);
        fprintf(stderr, "%s: did not start: %s\n", spec,
                st.capture.last_error[0] ? st.capture.last_error : cc_strerror(rc));
        cc_source_free(src);
        return 1;
    }
    /* Bounded start: first frame within 15 s, then 1 s of warm-up (the
     * first keyframe, rate control settling). */
    double t_start = mono_s();
    while (__atomic_load_n(&b.frames_total, __ATOMIC_ACQUIRE) == 0 &&
           mono_s() - t_start < 15)
        sleep_s(0.02);
    if (__atomic_load_n(&b.frames_total, __ATOMIC_ACQUIRE) == 0) {
        cc_source_stats st;
        cc_source_get_stats(src, &st);
        fprintf(stderr, "%s: no frame in 15 s (capture %s%s%s)\n", spec,
                cc_capture_state_name(st.capture.state),
                st.capture.last_error[0] ? ": " : "", st.capture.last_error);
        cc_source_free(src);
        return 1;
    }
    sleep_s(1.0);

    static tcpu th0[MAX_THREADS], th1[MAX_THREADS];
    cc_source_stats s0, s1;
    cc_source_get_stats(src, &s0);
    uint64_t pk0 = __atomic_load_n(&b.packets, __ATOMIC_RELAXED);
    uint64_t by0 = __atomic_load_n(&b.bytes, __ATOMIC_RELAXED);
    int nth0 = read_threads(th0, MAX_THREADS);
    double cpu0 = proc_cpu_s(), w0 = mono_s();
    __atomic_store_n(&b.measuring, 1, __ATOMIC_RELEASE);
    sleep_s(o->seconds);
    __atomic_store_n(&b.measuring, 2, __ATOMIC_RELEASE);
    double cpu1 = proc_cpu_s(), w1 = mono_s();
    int nth1 = read_threads(th1, MAX_THREADS);
    cc_source_get_stats(src, &s1);
    uint64_t pk1 = __atomic_load_n(&b.packets, __ATOMIC_RELAXED);
    uint64_t by1 = __atomic_load_n(&b.bytes, __ATOMIC_RELAXED);
    cc_source_free(src); /* joins the source thread: b is ours again */

    double wall = w1 - w0;
    size_t n = __atomic_load_n(&b.n, __ATOMIC_ACQUIRE);
    qsort(b.enc, n, sizeof *b.enc, cmp_time);
    qsort(b.lat, n, sizeof *b.lat, cmp_time);
    qsort(b.pre, n, sizeof *b.pre, cmp_time);
    /* capture to encoder start: grab, conversion, queue (+ packetizing) */
    double pre_med = pct(b.pre, n, 0.5), pre_p99 = pct(b.pre, n, 0.99);
    double enc_med = pct(b.enc, n, 0.5), enc_p99 = pct(b.enc, n, 0.99);
    double lat_med = pct(b.lat, n, 0.5), lat_p99 = pct(b.lat, n, 0.99);
    double lat_max = n ? b.lat[n - 1] / 1000.0 : -1;
    double share = (cpu1 - cpu0) / wall * 100;
    double src_share = b.thread_cpu0 >= 0 ? (b.thread_cpu1 - b.thread_cpu0) / wall * 100 : -1;
    uint64_t samples = s1.samples - s0.samples, frames = s1.frames - s0.frames;
    uint64_t rc_drop = samples > frames ? samples - frames : 0;
    uint64_t q_drop = s1.capture.dropped - s0.capture.dropped;
    uint64_t pool_empty = s1.pool_empty - s0.pool_empty;
    double kbps = (double)(by1 - by0) * 8 / 1000 / wall;
    /* CPU a full 30 fps would need, robust to a machine too busy to give
     * it: encoder-side CPU (the source thread, and unnamed threads with the
     * process's name: libvpx's workers and the sleeping main thread) per
     * encoded frame, plus capture-side CPU (every other thread: GStreamer)
     * per captured buffer, times fps. */
    uint64_t cap_in = s1.capture.buffers_in - s0.capture.buffers_in;
    double enc_side = 0, total_threads = 0;
    for (int i = 0; i < nth1; i++) {
        double before = 0;
        for (int j = 0; j < nth0; j++)
            if (th0[j].tid == th1[i].tid)
                before = th0[j].cpu;
        total_threads += th1[i].cpu - before;
        if (!strcmp(th1[i].name, "cc-source") || !strcmp(th1[i].name, o->comm))
            enc_side += th1[i].cpu - before;
    }
    double cap_side = total_threads - enc_side;
    double need = -1;
    if (frames > 0 && cap_in > 0)
        need = (enc_side / (double)frames + cap_side / (double)cap_in) * o->fps * 100;
    double fps = (double)frames / wall;
    int target = o->kbps > 0 ? o->kbps : screen ? 1500 : 1000;
    char what[96];
    if (screen)
        snprintf(what, sizeof what, "screen (Xvfb, ximagesrc)");
    else
        snprintf(what, sizeof what, "camera (videotestsrc %s, synthetic)",
                 o->pattern ? o->pattern : "ball");

    printf("| %s | %dx%d | %.1f | %.2f | %.2f | %.0f %% | %.0f %% | %.0f %% | %.1f | %.1f | %.1f | "
           "%llu | %llu | %llu | %d | %.0f |\n",
           what, w, h, fps, enc_med, enc_p99, share, src_share, need, lat_med, lat_p99,
           lat_max, (unsigned long long)frames, (unsigned long long)rc_drop,
           (unsigned long long)q_drop, target, kbps);

    /* CPU by thread over the window, by thread name (unnamed threads carry
     * the process name: libvpx's worker and the main thread, which sleeps). */
    char tl[2048];
    size_t tlen = 0;
    tl[0] = 0;
    typedef struct agg { char name[32]; double cpu; } agg;
    agg ag[MAX_THREADS];
    int na = 0;
    for (int i = 0; i < nth1; i++) {
        double before = 0;
        for (int j = 0; j < nth0; j++)
            if (th0[j].tid == th1[i].tid)
                before = th0[j].cpu;
        double d = th1[i].cpu - before;
        int k;
        for (k = 0; k < na; k++)
            if (!strcmp(ag[k].name, th1[i].name))
                break;
        if (k == na) {
            snprintf(ag[na].name, sizeof ag[na].name, "%s", th1[i].name);
            ag[na++].cpu = 0;
        }
        ag[k].cpu += d;
    }
    for (int i = 0; i < na; i++) /* biggest first */
        for (int j = i + 1; j < na; j++)
            if (ag[j].cpu > ag[i].cpu) {
                agg t = ag[i];
                ag[i] = ag[j];
                ag[j] = t;
            }
    for (int i = 0; i < na && tlen < sizeof tl - 100; i++) {
        double p = ag[i].cpu / wall * 100;
        if (p < 0.5)
            continue;
        tlen += (size_t)snprintf(tl + tlen, sizeof tl - tlen, "%s\"%s\":%.0f",
                                 tlen ? "," : "", ag[i].name, p);
    }
    printf("{\"case\":\"%s\",\"source\":\"%s\",\"width\":%d,\"height\":%d,"
           "\"seconds\":%.2f,\"fps\":%.2f,\"encode_ms_median\":%.2f,"
           "\"encode_ms_p99\":%.2f,\"cpu_process_pct\":%.1f,"
           "\"cpu_source_thread_pct\":%.1f,\"cpu_needed_at_fps_pct\":%.1f,"
           "\"capture_to_packet_ms_median\":%.2f,"
           "\"capture_to_packet_ms_p99\":%.2f,\"capture_to_packet_ms_max\":%.2f,"
           "\"capture_to_encode_ms_median\":%.2f,\"capture_to_encode_ms_p99\":%.2f,"
           "\"frames_encoded\":%llu,\"frames_dropped_rate_control\":%llu,"
           "\"frames_dropped_queue\":%llu,\"keyframes\":%llu,\"packets\":%llu,"
           "\"pool_empty\":%llu,\"target_kbps\":%d,\"kbps\":%.0f,"
           "\"capture_buffers\":%llu,"
           "\"cpu_by_thread_pct\":{%s}}\n",
           spec, screen ? "screen.pipe" : "test-video.pipe", w, h, wall, fps,
           enc_med, enc_p99, share, src_share, need, lat_med, lat_p99, lat_max,
           pre_med, pre_p99,
           (unsigned long long)frames, (unsigned long long)rc_drop,
           (unsigned long long)q_drop, (unsigned long long)b.keyframes,
           (unsigned long long)(pk1 - pk0), (unsigned long long)pool_empty, target,
           kbps, (unsigned long long)cap_in, tl);
    fflush(stdout);
    free(b.enc);
    free(b.lat);
    free(b.pre);
    cc_pkt_pool_free(pool);
    return 0;
}

/* --threads-ab: classcast's encoder with 1 and 2 libvpx threads on the same
 * captured frames. Frames that arrive while both encode are dropped by the
 * capture queue; every pulled frame goes through both encoders. */
static int run_threads_ab(const char *spec, const opts *o)
{
    char kind[16];
    int w = 0, h = 0;
    if (sscanf(spec, "%15[a-z]-%dx%d", kind, &w, &h) != 3 || w < 16 || h < 16 ||
        w > 4096 || h > 4096 || (w & 1) || (h & 1) ||
        (strcmp(kind, "screen") && strcmp(kind, "camera"))) {
        fprintf(stderr, "bad case '%s' (screen-WxH or camera-WxH)\n", spec);
        return 2;
    }
    int screen = !strcmp(kind, "screen");
    char v0[300], v1[32], v2[32], v3[32];
    cc_capture_config cc = {.pipelines_dir = o->pipelines,
                            .name = screen ? "screen" : "test-video"};
    int nv = 0;
    if (screen) {
        const char *d = o->display ? o->display : getenv("DISPLAY");
        if (!d) {
            fprintf(stderr, "%s: no X display (--display or $DISPLAY)\n", spec);
            return 1;
        }
        snprintf(v0, sizeof v0, "DISPLAY=%s", d);
        cc.vars[nv++] = v0;
    } else if (o->pattern) {
        snprintf(v0, sizeof v0, "PATTERN=%s", o->pattern);
        cc.vars[nv++] = v0;
    }
    snprintf(v1, sizeof v1, "WIDTH=%d", w);
    snprintf(v2, sizeof v2, "HEIGHT=%d", h);
    snprintf(v3, sizeof v3, "FPS=%d", o->fps);
    cc.vars[nv++] = v1;
    cc.vars[nv++] = v2;
    cc.vars[nv++] = v3;
    char err[1024] = "";
    cc_capture *cap;
    if (cc_capture_new(&cap, &cc, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", spec, err);
        return 1;
    }
    cc_vp8enc *enc[2] = {NULL, NULL};
    for (int t = 0; t < 2; t++) {
        cc_vp8enc_config vc; /* as cc_source_new configures it */
        cc_vp8enc_config_default(&vc, w, h, o->fps,
                                 o->kbps > 0 ? o->kbps : screen ? 1500 : 1000);
        vc.screen_content = screen;
        if (screen)
            vc.temporal_layers = 1;
        vc.threads = t + 1;
        if (cc_vp8enc_new(&enc[t], &vc) != 0) {
            fprintf(stderr, "%s: encoder init failed\n", spec);
            cc_vp8enc_free(enc[0]);
            cc_capture_free(cap);
            return 1;
        }
    }
    if (cc_capture_start(cap) != 0) {
        cc_capture_status st;
        cc_capture_get_status(cap, &st);
        fprintf(stderr, "%s: capture did not start: %s\n", spec, st.last_error);
        cc_vp8enc_free(enc[0]);
        cc_vp8enc_free(enc[1]);
        cc_capture_free(cap);
        return 1;
    }
    size_t cap_n = (size_t)(o->seconds + 2) * (size_t)o->fps;
    cc_time_us *t_ms[2] = {calloc(cap_n, sizeof(cc_time_us)),
                           calloc(cap_n, sizeof(cc_time_us))};
    size_t n = 0;
    double t0 = mono_s(), start = -1;
    while (mono_s() - t0 < 15 + 1 + o->seconds && n < cap_n && t_ms[0] && t_ms[1]) {
        cc_capture_sample smp;
        int rc = cc_capture_pull(cap, &smp, 200);
        if (rc == CC_ETIMEOUT)
            continue;
        if (rc != 0)
            break;
        if (start < 0)
            start = mono_s();
        int measure = mono_s() - start >= 1.0; /* 1 s warm-up */
        if (smp.kind == CC_CAPTURE_VIDEO && smp.width == w && smp.height == h) {
            for (int k = 0; k < 2; k++) {
                int t = (int)((n + (size_t)k) & 1); /* alternate who goes first */
                cc_vp8enc_frame f;
                cc_time_us a = cc_clock_mono_us();
                cc_vp8enc_encode(enc[t], smp.plane, smp.stride, smp.capture_us, &f);
                if (measure)
                    t_ms[t][n] = cc_clock_mono_us() - a;
            }
            if (measure)
                n++;
        }
        cc_capture_sample_release(&smp);
        if (start >= 0 && mono_s() - start >= 1.0 + o->seconds)
            break;
    }
    cc_capture_stop(cap);
    cc_capture_free(cap);
    cc_vp8enc_free(enc[0]);
    cc_vp8enc_free(enc[1]);
    if (!t_ms[0] || !t_ms[1] || n == 0) {
        fprintf(stderr, "%s: no frames\n", spec);
        free(t_ms[0]);
        free(t_ms[1]);
        return 1;
    }
    for (int t = 0; t < 2; t++)
        qsort(t_ms[t], n, sizeof(cc_time_us), cmp_time);
    printf("| %s | %dx%d | %zu | %.2f | %.2f | %.2f | %.2f |\n", screen ? "screen" : "camera",
           w, h, n, pct(t_ms[0], n, 0.5), pct(t_ms[0], n, 0.99), pct(t_ms[1], n, 0.5),
           pct(t_ms[1], n, 0.99));
    printf("{\"case\":\"%s\",\"mode\":\"threads-ab\",\"frames\":%zu,"
           "\"threads1_encode_ms_median\":%.2f,\"threads1_encode_ms_p99\":%.2f,"
           "\"threads2_encode_ms_median\":%.2f,\"threads2_encode_ms_p99\":%.2f}\n",
           spec, n, pct(t_ms[0], n, 0.5), pct(t_ms[0], n, 0.99), pct(t_ms[1], n, 0.5),
           pct(t_ms[1], n, 0.99));
    fflush(stdout);
    free(t_ms[0]);
    free(t_ms[1]);
    return 0;
}

static void header_ab(void)
{
    printf("| source | size | frames | 1 thread: encode ms median | p99 | "
           "2 threads: encode ms median | p99 |\n|---|---|---|---|---|---|---|\n");
}

static void header(void)
{
    printf("| source | size | fps | encode ms median | encode ms p99 | "
           "CPU, process (1 core = 100 %%) | CPU, source thread | "
           "CPU needed for full fps (est.) | capture-to-packet ms median | p99 | max | frames encoded | "
           "dropped (rate control) | dropped (encoder behind) | target kbit/s | "
           "kbit/s |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
}

int main(int argc, char **argv)
{
    opts o = {.seconds = 10, .fps = 30, .pipelines = "pipelines"};
    int no_header = 0, ncases = 0, ab = 0;
    const char *cases[16];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            o.seconds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--fps") && i + 1 < argc)
            o.fps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--kbps") && i + 1 < argc)
            o.kbps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--display") && i + 1 < argc)
            o.display = argv[++i];
        else if (!strcmp(argv[i], "--pattern") && i + 1 < argc)
            o.pattern = argv[++i];
        else if (!strcmp(argv[i], "--pipelines") && i + 1 < argc)
            o.pipelines = argv[++i];
        else if (!strcmp(argv[i], "--threads-ab"))
            ab = 1;
        else if (!strcmp(argv[i], "--no-header"))
            no_header = 1;
        else if (argv[i][0] != '-' && ncases < 16)
            cases[ncases++] = argv[i];
        else {
            fprintf(stderr,
                    "usage: %s [--seconds N] [--fps N] [--kbps N] [--display :N]\n"
                    "       [--pattern P] [--pipelines DIR] [--no-header] [--threads-ab] CASE...\n"
                    "CASE: screen-WxH (ximagesrc on the display) or camera-WxH\n"
                    "(videotestsrc, --pattern: ball (default), smpte, snow ...); default: camera-1280x720 camera-1920x1080\n",
                    argv[0]);
            return 2;
        }
    }
    if (o.seconds < 1 || o.seconds > 120)
        o.seconds = 10;
    if (o.fps < 1 || o.fps > 60)
        o.fps = 30;
    if (ncases == 0) {
        cases[ncases++] = "camera-1280x720";
        cases[ncases++] = "camera-1920x1080";
    }
    FILE *cf = fopen("/proc/self/comm", "r");
    if (!cf || !fgets(o.comm, sizeof o.comm, cf))
        snprintf(o.comm, sizeof o.comm, "bench_media");
    if (cf)
        fclose(cf);
    o.comm[strcspn(o.comm, "\n")] = 0;
    cc_log_set_level(CC_LOG_WARN);
    if (!no_header) {
        if (ab)
            header_ab();
        else
            header();
    }
    int rc = 0;
    for (int i = 0; i < ncases; i++)
        if ((ab ? run_threads_ab(cases[i], &o) : run_case(cases[i], &o)) != 0)
            rc = 1;
    return rc;
}
