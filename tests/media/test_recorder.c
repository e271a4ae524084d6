/* The lesson recorder on a real GStreamer pipeline, fed (in real time) RTP
 * made by classcast's own VP8 and Opus encoders and packetizer, the way
 * the SFU worker feeds it (cc_rec_tap_push, key frame requests answered
 * by the "publisher"). Files are checked with gst-discoverer-1.0 (duration,
 * VP8 + Opus) and decoded with GStreamer (vp8dec, opusdec):
 *  - a source switch mid-stream (new SSRC, sequence and timestamp bases,
 *    320x240 -> 640x480), as when the teacher reloads or changes camera;
 *  - 5 % of the input packets lost at random (seeded);
 *  - audio only for the first seconds (the black filler keeps the file
 *    going);
 *  - a recording process killed with SIGKILL: the file plays up to about
 *    a second before the kill, and cc_recorder_repair gives it a duration. */
#include "../unit/cc_test.h"

#include <gst/gst.h>
#include <math.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "classcast/clock.h"
#include "classcast/err.h"
#include "classcast/opusenc.h"
#include "classcast/dtls.h"
#include "classcast/packetizer.h"
#include "classcast/pkt.h"
#include "classcast/ring.h"
#include "classcast/sfu.h"
#include "classcast/worker.h"
#include "classcast/rand.h"
#include "classcast/recorder.h"
#include "classcast/slot.h"
#include "classcast/vp8enc.h"

#define FPS 15
#define LIVE_ALL ((1u << CC_SLOT_CAMERA) | (1u << CC_SLOT_MIC))

static char g_dir[256];
static const char *g_self;

/* ---- a publisher: camera + mic through classcast's encoders ---- */

typedef struct pub {
    int w, h;
    cc_vp8enc *venc;
    cc_opusenc *aenc;
    cc_packetizer vp, ap;
    uint8_t *yuv;
    int frame;
    long audio_frames;
} pub;

static void pub_init(pub *p, int w, int h)
{
    memset(p, 0, sizeof *p);
    p->w = w;
    p->h = h;
    cc_vp8enc_config vc;
    cc_vp8enc_config_default(&vc, w, h, FPS, 400);
    CC_CHECK(cc_vp8enc_new(&p->venc, &vc) == 0);
    cc_opusenc_config ac;
    cc_opusenc_config_default(&ac);
    CC_CHECK(cc_opusenc_new(&p->aenc, &ac) == 0);
    cc_pktz_config pc = {.codec = CC_PKTZ_VP8, .pt = 96, .temporal = 1};
    cc_pktz_config_randomize(&pc);
    CC_CHECK(cc_packetizer_init(&p->vp, &pc) == 0);
    cc_pktz_config pa = {.codec = CC_PKTZ_OPUS, .pt = 111};
    cc_pktz_config_randomize(&pa);
    CC_CHECK(cc_packetizer_init(&p->ap, &pa) == 0);
    p->yuv = malloc((size_t)w * h * 3 / 2);
}

static void pub_free(pub *p)
{
    cc_vp8enc_free(p->venc);
    cc_opusenc_free(p->aenc);
    free(p->yuv);
}

/* Where the publisher's packets go: straight into a recorder's tap (as
 * the SFU worker would copy them), or (lp set) into a local publisher's
 * ring of a real SFU worker, which copies them into the tap itself. */
typedef struct feeder {
    cc_rec_tap *tap;
    double loss;        /* fraction of packets dropped */
    unsigned live;
    int sent, lost, full;
    struct local_pub *lp;
} feeder;

typedef struct local_pub {
    cc_ring *ring;
    int efd;
    cc_pkt_pool *pool;
    int kf_req, kf_count;  /* the SFU's key frame requests (worker thread) */
} local_pub;

static void local_keyframe(void *ud, int slot)
{
    local_pub *lp = ud;
    (void)slot;
    __atomic_add_fetch(&lp->kf_count, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&lp->kf_req, 1, __ATOMIC_RELEASE);
}

static int key_wanted(feeder *fd)
{
    if (fd->lp)
        return __atomic_exchange_n(&fd->lp->kf_req, 0, __ATOMIC_ACQ_REL);
    return cc_rec_tap_keyframe_wanted(fd->tap, CC_SLOT_CAMERA);
}

/* Seeded loss: the same packets go missing on every run. */
static uint32_t g_rng = 1313;
static uint32_t rng(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

static void feed(feeder *fd, int slot, const uint8_t *pkt, size_t len)
{
    if (fd->loss > 0 && (rng() % 10000) < fd->loss * 10000) {
        fd->lost++;
        return;
    }
    if (fd->lp) {
        cc_pkt *p = cc_pkt_alloc(fd->lp->pool);
        if (!p) {
            fd->full++;
            return;
        }
        memcpy(p->data, pkt, len);
        p->len = (uint16_t)len;
        p->flags = (uint16_t)slot;
        p->time = cc_clock_mono_us();
        if (cc_ring_push(fd->lp->ring, p) != 0) {
            cc_pkt_unref(p);
            fd->full++;
            return;
        }
        uint64_t one = 1;
        if (write(fd->lp->efd, &one, sizeof one) != sizeof one)
            fd->full++;
        fd->sent++;
        return;
    }
    int rc = cc_rec_tap_push(fd->tap, slot, fd->live, pkt, len, cc_clock_mono_us());
    if (rc == CC_EAGAIN)
        fd->full++;
    else
        fd->sent++;
}

/* One video frame: a moving pattern, packetized and fed. */
static void pub_video(pub *p, feeder *fd, cc_time_us t)
{
    if (key_wanted(fd))
        cc_vp8enc_request_keyframe(p->venc); /* what a PLI does */
    int w = p->w, h = p->h, f = p->frame++;
    uint8_t *y = p->yuv, *u = y + w * h, *v = u + w * h / 4;
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++)
            y[r * w + c] = (uint8_t)(64 + ((c + 4 * f) % 128) / 2 + ((r / 16) % 2) * 40);
    memset(u, 100 + (f % 50), (size_t)w * h / 4);
    memset(v, 150, (size_t)w * h / 4);
    const uint8_t *planes[3] = {y, u, v};
    const int strides[3] = {w, w / 2, w / 2};
    cc_vp8enc_frame ef;
    if (cc_vp8enc_encode(p->venc, planes, strides, t, &ef) < 0 || !ef.size)
        return;
    cc_pktz_vp8_frame pf = {.keyframe = ef.keyframe, .tid = ef.tid,
                            .layer_sync = ef.layer_sync, .non_ref = ef.non_ref,
                            .capture_time = t};
    static uint8_t store[64][1300];
    uint8_t *bufs[64];
    size_t lens[64];
    for (int i = 0; i < 64; i++)
        bufs[i] = store[i];
    int n = cc_packetizer_vp8(&p->vp, ef.data, ef.size, &pf, t, bufs, sizeof store[0], 64, lens);
    for (int i = 0; i < n; i++)
        feed(fd, CC_SLOT_CAMERA, bufs[i], lens[i]);
}

/* One 20 ms frame of a 440 Hz tone. */
static void pub_audio(pub *p, feeder *fd, cc_time_us t)
{
    int16_t pcm[CC_OPUS_FRAME_SAMPLES];
    for (int i = 0; i < CC_OPUS_FRAME_SAMPLES; i++) {
        long k = p->audio_frames * CC_OPUS_FRAME_SAMPLES + i;
        pcm[i] = (int16_t)(6000 * sin(2 * M_PI * 440 * k / 48000.0));
    }
    p->audio_frames++;
    uint8_t enc[CC_OPUS_MAX_PACKET], pkt[1500];
    size_t el = 0, pl = 0;
    if (cc_opusenc_encode(p->aenc, pcm, enc, sizeof enc, &el) != 0)
        return;
    if (cc_packetizer_opus(&p->ap, enc, el, t, t, pkt, sizeof pkt, &pl) == 0)
        feed(fd, CC_SLOT_MIC, pkt, pl);
}

/* Feed `p` in real time for `secs` (video only if with_video). */
static void run_for(pub *p, feeder *fd, double secs, int with_video)
{
    cc_time_us start = cc_clock_mono_us(), end = start + (cc_time_us)(secs * 1e6);
    cc_time_us next_v = start, next_a = start;
    for (;;) {
        cc_time_us now = cc_clock_mono_us();
        if (now >= end)
            break;
        if (with_video && now >= next_v) {
            pub_video(p, fd, now);
            next_v += CC_USEC_PER_SEC / FPS;
        }
        if (now >= next_a) {
            pub_audio(p, fd, now);
            next_a += 20 * CC_USEC_PER_MSEC;
        }
        cc_time_us next = next_a < next_v || !with_video ? next_a : next_v;
        if (next > now)
            g_usleep((gulong)(next - now));
    }
}

/* ---- checking files ---- */

typedef struct probe_info {
    int frames;
    int widths[4], n_widths;
    GstClockTime min_pts, max_pts;
} probe_info;

static GstPadProbeReturn count_buf(GstPad *pad, GstPadProbeInfo *info, gpointer ud)
{
    probe_info *pi = ud;
    GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
    if (GST_BUFFER_PTS_IS_VALID(b)) {
        if (!pi->frames || GST_BUFFER_PTS(b) < pi->min_pts)
            pi->min_pts = GST_BUFFER_PTS(b);
        if (GST_BUFFER_PTS(b) > pi->max_pts)
            pi->max_pts = GST_BUFFER_PTS(b);
    }
    pi->frames++;
    GstCaps *caps = gst_pad_get_current_caps(pad);
    int w = 0;
    if (caps && gst_structure_get_int(gst_caps_get_structure(caps, 0), "width", &w)) {
        int seen = 0;
        for (int i = 0; i < pi->n_widths; i++)
            seen |= pi->widths[i] == w;
        if (!seen && pi->n_widths < 4)
            pi->widths[pi->n_widths++] = w;
    }
    if (caps)
        gst_caps_unref(caps);
    return GST_PAD_PROBE_OK;
}

/* Decode the whole file; 0 if it played to the end without an error. */
static int decode_file(const char *path, probe_info *video, probe_info *audio, char *err,
                       size_t errcap)
{
    memset(video, 0, sizeof *video);
    memset(audio, 0, sizeof *audio);
    char desc[1400];
    snprintf(desc, sizeof desc,
             "filesrc location=\"%s\" ! matroskademux name=d "
             "d.video_0 ! queue ! vp8dec ! fakesink name=vs sync=false async=false "
             "d.audio_0 ! queue ! opusdec ! fakesink name=as sync=false async=false", path);
    GError *e = NULL;
    GstElement *p = gst_parse_launch(desc, &e);
    if (!p || e) {
        snprintf(err, errcap, "%s", e ? e->message : "parse");
        g_clear_error(&e);
        return -1;
    }
    const char *names[2] = {"vs", "as"};
    probe_info *infos[2] = {video, audio};
    for (int i = 0; i < 2; i++) {
        GstElement *s = gst_bin_get_by_name(GST_BIN(p), names[i]);
        GstPad *pad = gst_element_get_static_pad(s, "sink");
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_buf, infos[i], NULL);
        gst_object_unref(pad);
        gst_object_unref(s);
    }
    gst_element_set_state(p, GST_STATE_PLAYING);
    GstBus *bus = gst_element_get_bus(p);
    GstMessage *m = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                               GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    int rc = -1;
    if (!m) {
        snprintf(err, errcap, "timeout");
    } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
        GError *ge = NULL;
        gst_message_parse_error(m, &ge, NULL);
        snprintf(err, errcap, "%s", ge ? ge->message : "?");
        g_clear_error(&ge);
    } else {
        rc = 0;
    }
    if (m)
        gst_message_unref(m);
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(bus);
    gst_object_unref(p);
    return rc;
}

typedef struct disc {
    double duration;
    int vp8, opus, seekable;
} disc;

/* gst-discoverer-1.0 -v on the file, as a person would check it. */
static int discover(const char *path, disc *d)
{
    memset(d, 0, sizeof *d);
    d->duration = -1;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "gst-discoverer-1.0 -v '%s' 2>&1", path);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        int hh, mm;
        double ss;
        const char *x;
        if ((x = strstr(line, "Duration: ")) && sscanf(x, "Duration: %d:%d:%lf", &hh, &mm, &ss) == 3)
            d->duration = hh * 3600 + mm * 60 + ss;
        if (strstr(line, "video codec: VP8") || strstr(line, "video/x-vp8"))
            d->vp8 = 1;
        if (strstr(line, "audio codec: Opus") || strstr(line, "audio/x-opus"))
            d->opus = 1;
        if (strstr(line, "Seekable: yes"))
            d->seekable = 1;
        printf("    | %s", line[0] == ' ' ? line + 2 : line);
    }
    int st = pclose(f);
    return (st == 0 && d->duration >= 0) ? 0 : -1;
}

static cc_recorder *start(const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s.webm", g_dir, name);
    cc_recorder_config c = {.path = path};
    cc_recorder *r = NULL;
    char err[256] = "";
    int rc = cc_recorder_start(&r, &c, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "cc_recorder_start: %s\n", err);
    CC_CHECK(rc == 0);
    return r;
}

static void report(cc_recorder *r, const char *what)
{
    cc_recorder_stats st;
    cc_recorder_get_stats(r, &st);
    printf("  %s: in %llu, video %llu audio %llu pkts, switches %llu, waited for key %llu, "
           "key asks %llu (depay %llu), filler %llu video %llu audio, frames %llu/%llu\n",
           what, (unsigned long long)st.pkts_in, (unsigned long long)st.video_pkts,
           (unsigned long long)st.audio_pkts, (unsigned long long)st.switches,
           (unsigned long long)st.wait_keyframe, (unsigned long long)st.keyframe_asks,
           (unsigned long long)st.depay_keyframe_asks, (unsigned long long)st.fill_video,
           (unsigned long long)st.fill_audio, (unsigned long long)st.video_frames,
           (unsigned long long)st.audio_frames);
}

/* A teacher reloads: a second publisher (new SSRC, numbering and size)
 * takes over the camera and mic halfway. */
static void test_source_switch(void)
{
    char path[512];
    cc_recorder *r = start("switch", path, sizeof path);
    if (!r)
        return;
    feeder fd = {.tap = cc_recorder_tap(r), .live = LIVE_ALL};
    pub a, b;
    pub_init(&a, 320, 240);
    pub_init(&b, 640, 480);
    cc_time_us t0 = cc_clock_mono_us();
    run_for(&a, &fd, 3.0, 1);
    run_for(&b, &fd, 3.0, 1);
    double fed = (cc_clock_mono_us() - t0) / 1e6;
    cc_recorder_stats st;
    cc_recorder_get_stats(r, &st);
    report(r, "switch");
    cc_recorder_result res;
    cc_recorder_wait(r, &res);
    CC_CHECK(res.ok);
    CC_CHECK(st.switches >= 1);
    printf("  fed %.2f s, file %.2f s, %llu bytes\n", fed, res.duration_ms / 1000.0,
           (unsigned long long)res.bytes);
    CC_CHECK(fabs(res.duration_ms / 1000.0 - fed) < 0.7);
    disc d;
    CC_CHECK(discover(path, &d) == 0);
    CC_CHECK(d.vp8 && d.opus && d.seekable);
    CC_CHECK(fabs(d.duration - fed) < 0.7);
    probe_info v, au;
    char err[256] = "";
    int rc = decode_file(path, &v, &au, err, sizeof err);
    if (rc)
        fprintf(stderr, "decode: %s\n", err);
    CC_CHECK(rc == 0);
    printf("  decoded %d video frames (widths %d %d), %d audio buffers\n", v.frames, v.widths[0],
           v.n_widths > 1 ? v.widths[1] : 0, au.frames);
    /* Fed together, so they start and end together in the file (the
     * first picture waited for nothing: the encoder's first frame is a key
     * frame). */
    printf("  video %.3f..%.3f s, audio %.3f..%.3f s\n", v.min_pts / 1e9, v.max_pts / 1e9,
           au.min_pts / 1e9, au.max_pts / 1e9);
    CC_CHECK(llabs((long long)v.min_pts - (long long)au.min_pts) < 150 * GST_MSECOND);
    CC_CHECK(llabs((long long)v.max_pts - (long long)au.max_pts) < 150 * GST_MSECOND);
    /* both sizes decoded: the picture went on after the switch */
    CC_CHECK(v.n_widths == 2);
    CC_CHECK(v.frames >= (int)(fed * FPS * 0.8));
    CC_CHECK(au.frames >= (int)(fed * 50 * 0.9));
    cc_recorder_free(r);
    pub_free(&a);
    pub_free(&b);
}

/* 5 % of the packets lost: the depayloader waits for a key frame after a
 * loss and asks for it; the file plays to the end. */
static void test_loss(void)
{
    char path[512];
    cc_recorder *r = start("loss", path, sizeof path);
    if (!r)
        return;
    g_rng = 1313;
    feeder fd = {.tap = cc_recorder_tap(r), .live = LIVE_ALL, .loss = 0.05};
    pub a;
    pub_init(&a, 320, 240);
    cc_time_us t0 = cc_clock_mono_us();
    run_for(&a, &fd, 6.0, 1);
    double fed = (cc_clock_mono_us() - t0) / 1e6;
    cc_recorder_stats st;
    cc_recorder_get_stats(r, &st);
    report(r, "loss");
    printf("  lost %d of %d packets on the way in\n", fd.lost, fd.lost + fd.sent);
    cc_recorder_result res;
    cc_recorder_wait(r, &res);
    CC_CHECK(res.ok);
    CC_CHECK(fd.lost > 0);
    CC_CHECK(st.depay_keyframe_asks + st.keyframe_asks > 1);
    disc d;
    CC_CHECK(discover(path, &d) == 0);
    CC_CHECK(d.vp8 && d.opus);
    CC_CHECK(fabs(d.duration - fed) < 0.7);
    probe_info v, au;
    char err[256] = "";
    int rc = decode_file(path, &v, &au, err, sizeof err);
    if (rc)
        fprintf(stderr, "decode: %s\n", err);
    CC_CHECK(rc == 0);
    printf("  fed %.2f s; decoded %d video frames, %d audio buffers\n", fed, v.frames, au.frames);
    CC_CHECK(v.frames >= (int)(fed * FPS * 0.3));
    CC_CHECK(au.frames >= (int)(fed * 50 * 0.8));
    cc_recorder_free(r);
    pub_free(&a);
}

/* No camera for the first 2.5 s: black key frames fill the video, so the
 * muxer writes audio meanwhile; then the camera starts. */
static void test_audio_first(void)
{
    char path[512];
    cc_recorder *r = start("audiofirst", path, sizeof path);
    if (!r)
        return;
    feeder fd = {.tap = cc_recorder_tap(r), .live = 1u << CC_SLOT_MIC};
    pub a;
    pub_init(&a, 320, 240);
    cc_time_us t0 = cc_clock_mono_us();
    run_for(&a, &fd, 3.5, 0);
    /* Written already: the first filler frame came at 1.5 s, the muxer
     * started once the jitter buffers let go of it. */
    struct stat sb;
    CC_CHECK(stat(path, &sb) == 0 && sb.st_size > 1000);
    fd.live = LIVE_ALL;
    run_for(&a, &fd, 2.0, 1);
    double fed = (cc_clock_mono_us() - t0) / 1e6;
    cc_recorder_stats st;
    cc_recorder_get_stats(r, &st);
    report(r, "audio first");
    cc_recorder_result res;
    cc_recorder_wait(r, &res);
    CC_CHECK(res.ok);
    CC_CHECK(st.fill_video > 0);
    disc d;
    CC_CHECK(discover(path, &d) == 0);
    CC_CHECK(d.vp8 && d.opus);
    CC_CHECK(fabs(d.duration - fed) < 0.7);
    probe_info v, au;
    char err[256] = "";
    CC_CHECK(decode_file(path, &v, &au, err, sizeof err) == 0);
    printf("  fed %.2f s; decoded %d video frames (%d widths), %d audio buffers\n", fed, v.frames,
           v.n_widths, au.frames);
    CC_CHECK(v.frames >= (int)(2.0 * FPS * 0.8) + 3);
    CC_CHECK(v.n_widths == 2); /* the black 640x360, then the camera's */
    CC_CHECK(au.frames >= (int)(fed * 50 * 0.9));
    cc_recorder_free(r);
    pub_free(&a);
}

/* The whole hand-off: a real SFU worker with the teacher's camera and
 * mic as a local publisher (the same pub_on_rtp path as a browser's
 * packets after SRTP); the worker copies each packet into the tap, the
 * recorder's key frame request reaches the publisher as the SFU's
 * request, and detaching waits for the worker. */
static void test_sfu_handoff(void)
{
    cc_dtls_ctx *dtls = NULL;
    cc_sfu *sfu = NULL;
    cc_worker *w = NULL;
    CC_CHECK_EQ(cc_dtls_ctx_new(&dtls), 0);
    CC_CHECK_EQ(cc_sfu_new(&sfu), 0);
    cc_worker_config wc = {.app_ud = sfu};
    cc_addr_from_string(&wc.bind, "127.0.0.1", 0);
    CC_CHECK_EQ(cc_worker_new(&w, &wc, dtls), 0);
    CC_CHECK_EQ(cc_worker_start(w), 0);
    const uint32_t room = 7;
    CC_CHECK_EQ(cc_sfu_room_open(w, room), 0);
    char path[512];
    cc_recorder *r = start("sfu", path, sizeof path);
    if (!r)
        return;
    CC_CHECK_EQ(cc_sfu_record_attach(w, room, cc_recorder_tap(r)), 0);
    pub a;
    pub_init(&a, 320, 240);
    local_pub lp = {0};
    CC_CHECK_EQ(cc_ring_new(&lp.ring, 1024), 0);
    CC_CHECK_EQ(cc_pkt_pool_new(&lp.pool, 2048), 0);
    lp.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    cc_sfu_local_config lc = {.room_id = room, .ring = lp.ring, .efd = lp.efd,
                              .keyframe = local_keyframe, .ud = &lp};
    lc.slots[CC_SLOT_CAMERA] = (typeof(lc.slots[0])){1, a.vp.cfg.ssrc, 96, 90000};
    lc.slots[CC_SLOT_MIC] = (typeof(lc.slots[0])){1, a.ap.cfg.ssrc, 111, 48000};
    CC_CHECK_EQ(cc_sfu_local_attach(w, &lc), 0);
    feeder fd = {.lp = &lp};
    cc_time_us t0 = cc_clock_mono_us();
    run_for(&a, &fd, 4.0, 1);
    double fed = (cc_clock_mono_us() - t0) / 1e6;
    for (int i = 0; i < 500 && cc_ring_count(lp.ring) > 0; i++)
        g_usleep(1000);
    CC_CHECK_EQ(cc_sfu_record_detach(w, room, cc_recorder_tap(r)), 0);
    cc_sfu_stats ss;
    cc_sfu_get_stats(sfu, &ss);
    printf("  sfu: rtp_in %llu, rec_pkts %llu, rec_drop %llu, recordings %llu, pli_sent %llu; "
           "publisher asked for %d key frames\n", (unsigned long long)ss.rtp_in,
           (unsigned long long)ss.rec_pkts, (unsigned long long)ss.rec_drop,
           (unsigned long long)ss.recordings, (unsigned long long)ss.pli_sent,
           __atomic_load_n(&lp.kf_count, __ATOMIC_RELAXED));
    CC_CHECK(ss.rec_pkts > 0 && ss.rec_pkts == ss.rtp_in);
    CC_CHECK_EQ(ss.rec_drop, 0);
    CC_CHECK_EQ(ss.recordings, 0); /* detached */
    /* the recorder's first request (its start) became the SFU's */
    CC_CHECK(__atomic_load_n(&lp.kf_count, __ATOMIC_RELAXED) >= 1);
    report(r, "sfu");
    cc_recorder_result res;
    cc_recorder_wait(r, &res);
    CC_CHECK(res.ok);
    disc d;
    CC_CHECK(discover(path, &d) == 0);
    CC_CHECK(d.vp8 && d.opus);
    printf("  fed %.2f s, file %.2f s (discoverer %.2f s)\n", fed, res.duration_ms / 1000.0,
           d.duration);
    CC_CHECK(fabs(d.duration - fed) < 0.7);
    cc_recorder_free(r);
    CC_CHECK_EQ(cc_sfu_local_detach(w, lp.ring), 0);
    cc_pkt *p;
    while ((p = cc_ring_pop(lp.ring)))
        cc_pkt_unref(p);
    cc_worker_stop(w);
    cc_worker_free(w);
    cc_sfu_free(sfu);
    cc_dtls_ctx_free(dtls);
    cc_ring_free(lp.ring);
    cc_pkt_pool_free(lp.pool);
    close(lp.efd);
    pub_free(&a);
}

/* A recorder that falls behind: the worker's push never waits, a full
 * ring is refused and counted. */
static void test_tap_full(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/full.webm", g_dir);
    cc_recorder_config c = {.path = path, .slots = 8};
    cc_recorder *r = NULL;
    char err[256];
    CC_CHECK_EQ(cc_recorder_start(&r, &c, err, sizeof err), 0);
    if (!r)
        return;
    uint8_t pkt[200] = {0x80, 111};
    int refused = 0;
    for (int i = 0; i < 100; i++) {
        pkt[3] = (uint8_t)i;
        refused += cc_rec_tap_push(cc_recorder_tap(r), CC_SLOT_MIC, 0, pkt, sizeof pkt,
                                   cc_clock_mono_us()) == CC_EAGAIN;
    }
    uint8_t big[CC_REC_PKT_CAP + 1] = {0x80, 111};
    CC_CHECK_EQ(cc_rec_tap_push(cc_recorder_tap(r), CC_SLOT_MIC, 0, big, sizeof big, 0),
                CC_EINVAL);
    cc_recorder_stats st;
    cc_recorder_get_stats(r, &st);
    printf("  100 pushed at once into 8 slots: %d refused; counted %llu full, %llu too big\n",
           refused, (unsigned long long)st.ring_full, (unsigned long long)st.too_big);
    CC_CHECK(refused >= 80);
    CC_CHECK_EQ(st.ring_full, refused);
    CC_CHECK_EQ(st.too_big, 1);
    cc_recorder_free(r);
}

/* The child of test_sigkill: records until it is killed. */
static int child_record(const char *path)
{
    gst_init(NULL, NULL);
    cc_recorder_config c = {.path = path};
    cc_recorder *r = NULL;
    char err[256];
    if (cc_recorder_start(&r, &c, err, sizeof err) != 0) {
        fprintf(stderr, "child: %s\n", err);
        return 1;
    }
    feeder fd = {.tap = cc_recorder_tap(r), .live = LIVE_ALL};
    pub a;
    pub_init(&a, 320, 240);
    printf("recording\n");
    fflush(stdout);
    run_for(&a, &fd, 60.0, 1);
    return 0;
}

/* A server killed while recording: the file keeps what was written (all
 * but about the last second) and plays; repaired, it has a duration. */
static void test_sigkill(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/killed.webm", g_dir);
    int fds[2];
    CC_CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execl(g_self, g_self, "--child", path, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[32] = "";
    ssize_t n = read(fds[0], buf, sizeof buf - 1); /* "recording" */
    CC_CHECK(n > 0);
    cc_time_us t0 = cc_clock_mono_us();
    g_usleep(5 * G_USEC_PER_SEC);
    kill(pid, SIGKILL);
    double ran = (cc_clock_mono_us() - t0) / 1e6;
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    CC_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    struct stat sb;
    CC_CHECK(stat(path, &sb) == 0);
    printf("  killed after %.2f s of recording: %lld bytes on disk\n", ran, (long long)sb.st_size);
    probe_info v, au;
    char err[256] = "";
    int rc = decode_file(path, &v, &au, err, sizeof err);
    printf("  as left: decode %s%s, %d video frames up to %.2f s, %d audio buffers up to %.2f s\n",
           rc == 0 ? "ok" : "error: ", rc == 0 ? "" : err, v.frames, v.max_pts / 1e9, au.frames,
           au.max_pts / 1e9);
    /* The last second or so may be lost: the cluster being written. */
    CC_CHECK(v.max_pts / 1e9 > ran - 2.0);
    CC_CHECK(au.max_pts / 1e9 > ran - 2.0);
    cc_recorder_result res;
    rc = cc_recorder_repair(path, &res);
    if (rc)
        fprintf(stderr, "repair: %s\n", res.error);
    CC_CHECK(rc == 0 && res.ok);
    printf("  repaired: %.2f s, %llu bytes\n", res.duration_ms / 1000.0,
           (unsigned long long)res.bytes);
    disc d;
    CC_CHECK(discover(path, &d) == 0);
    CC_CHECK(d.vp8 && d.opus && d.seekable);
    CC_CHECK(d.duration > ran - 2.0 && d.duration < ran + 0.5);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return child_record(argv[2]);
    g_self = argv[0];
    gst_init(&argc, &argv);
    snprintf(g_dir, sizeof g_dir, "/tmp/cc-test-recorder-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    printf("files in %s\n", g_dir);
    CC_RUN(test_source_switch);
    CC_RUN(test_loss);
    CC_RUN(test_audio_first);
    CC_RUN(test_sigkill);
    CC_RUN(test_sfu_handoff);
    CC_RUN(test_tap_full);
    if (!cc_test_failures) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", g_dir);
    }
    CC_TEST_DONE();
}
