/* One lesson recording: the tap the SFU worker copies into, the recorder's
 * thread and its GStreamer pipeline (see include/classcast/recorder.h and
 * docs/recording.md). */
#include "classcast/recorder.h"

#include <errno.h>
#include <fcntl.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/opusenc.h"
#include "classcast/recsel.h"
#include "classcast/ring.h"
#include "classcast/slot.h"
#include "classcast/vp8enc.h"

#define MOD "recorder"
/* The recorder's thread wakes this often: drains the ring, makes fillers. */
#define TICK_US (10 * CC_USEC_PER_MSEC)
/* Bounds on what waits inside the pipeline (a stalled disk must not make
 * the server hold unbounded memory): per appsrc; beyond it new packets are
 * dropped (leaky). */
#define APPSRC_MAX_BYTES (16u << 20)
/* How long finishing may take (end of stream through the jitter buffers,
 * the muxer writing its index). */
#define FINISH_TIMEOUT (20 * GST_SECOND)
/* Clusters of at most a second: what a killed server loses. */
#define CLUSTER_NS (1000 * GST_MSECOND)

/* ---- the tap: worker -> recorder ---- */

typedef struct rec_slot {
    cc_time_us at;
    uint16_t len;
    uint8_t slot;
    uint8_t live;
    uint8_t data[CC_REC_PKT_CAP];
} rec_slot;

struct cc_rec_tap {
    /* Empty slots travel recorder -> worker through `free`, filled ones
     * worker -> recorder through `full`: each ring has one producer and
     * one consumer (ring.h), and a slot is touched by one thread at a
     * time. */
    cc_ring *free, *full;
    rec_slot *slots;
    int n;
    atomic_uint want_key;
    /* written by the worker only */
    atomic_uint_fast64_t pkts_in, ring_full, too_big;
};

int cc_rec_tap_push(cc_rec_tap *t, int slot, unsigned live, const uint8_t *rtp, size_t len,
                    cc_time_us now)
{
    if (len > CC_REC_PKT_CAP) {
        atomic_fetch_add_explicit(&t->too_big, 1, memory_order_relaxed);
        return CC_EINVAL;
    }
    rec_slot *s = cc_ring_pop(t->free);
    if (!s) {
        atomic_fetch_add_explicit(&t->ring_full, 1, memory_order_relaxed);
        return CC_EAGAIN;
    }
    s->at = now;
    s->len = (uint16_t)len;
    s->slot = (uint8_t)slot;
    s->live = (uint8_t)live;
    memcpy(s->data, rtp, len);
    /* Cannot fail: the rings hold every slot. */
    cc_ring_push(t->full, s);
    atomic_fetch_add_explicit(&t->pkts_in, 1, memory_order_relaxed);
    return 0;
}

int cc_rec_tap_keyframe_wanted(cc_rec_tap *t, int slot)
{
    unsigned bit = 1u << slot;
    if (!(atomic_load_explicit(&t->want_key, memory_order_relaxed) & bit))
        return 0;
    return (atomic_fetch_and_explicit(&t->want_key, ~bit, memory_order_relaxed) & bit) != 0;
}

static int tap_init(cc_rec_tap *t, int n)
{
    t->n = n;
    t->slots = calloc((size_t)n, sizeof *t->slots);
    if (!t->slots || cc_ring_new(&t->free, (size_t)n) != 0 ||
        cc_ring_new(&t->full, (size_t)n) != 0)
        return CC_ENOMEM;
    for (int i = 0; i < n; i++)
        cc_ring_push(t->free, &t->slots[i]);
    atomic_init(&t->want_key, 0);
    return 0;
}

static void tap_clear(cc_rec_tap *t)
{
    cc_ring_free(t->free);
    cc_ring_free(t->full);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* ---- the recorder ---- */

/* First and last media time seen on the muxer's inputs. */
typedef struct span {
    GMutex lock;
    GstClockTime first, last;
} span;

struct cc_recorder {
    cc_rec_tap tap;
    char path[1024];
    cc_recorder_config cfg;
    GstElement *pipe, *vsrc, *asrc;
    GstBus *bus;
    GstClockTime base;
    pthread_t thread;
    int thread_started;
    atomic_int stop, finished, failed, joined;
    /* recorder thread only */
    cc_recsel sel;
    uint8_t *vp8_key;
    size_t vp8_key_len;
    int fill_w, fill_h;
    uint8_t opus_silence[CC_OPUS_MAX_PACKET];
    size_t opus_silence_len;
    /* which video slot the output follows (for the depayloader's key
     * frame requests, read on a streaming thread) */
    atomic_int video_slot;
    /* the depayloaders' first output went by: later caps are dropped */
    atomic_int v_flowing, a_flowing;
    span times;
    char error[200];          /* the pipeline's first error */
    cc_recorder_result res;
    atomic_uint_fast64_t keyframe_asks, depay_keyframe_asks, video_frames, audio_frames;
};

static void set_err(char *err, size_t cap, const char *fmt, const char *arg)
{
    if (err && cap)
        snprintf(err, cap, fmt, arg ? arg : "");
}

/* A black key frame of w x h from classcast's own encoder: what the video
 * shows while the teacher sends none. */
static int make_black_key(cc_recorder *r, int w, int h)
{
    w = (w + 1) & ~1;
    h = (h + 1) & ~1;
    cc_vp8enc_config c;
    cc_vp8enc_config_default(&c, w, h, 2, 100);
    c.temporal_layers = 1;
    c.threads = 1;
    cc_vp8enc *e = NULL;
    if (cc_vp8enc_new(&e, &c) != 0)
        return CC_EUNSUPPORTED;
    size_t ysz = (size_t)w * h, csz = (size_t)(w / 2) * (h / 2);
    uint8_t *buf = malloc(ysz + 2 * csz);
    int rc = CC_ENOMEM;
    if (buf) {
        memset(buf, 16, ysz);
        memset(buf + ysz, 128, 2 * csz);
        const uint8_t *planes[3] = {buf, buf + ysz, buf + ysz + csz};
        const int strides[3] = {w, w / 2, w / 2};
        cc_vp8enc_frame f;
        rc = cc_vp8enc_encode(e, planes, strides, 0, &f);
        rc = rc < 0 ? rc : 0; /* 1: a frame came out */
        if (rc == 0 && (!f.data || !f.size || !f.keyframe))
            rc = CC_EUNSUPPORTED;
        if (rc == 0) {
            uint8_t *k = malloc(f.size);
            if (k) {
                memcpy(k, f.data, f.size);
                free(r->vp8_key);
                r->vp8_key = k;
                r->vp8_key_len = f.size;
                r->fill_w = w;
                r->fill_h = h;
            } else {
                rc = CC_ENOMEM;
            }
        }
        free(buf);
    }
    cc_vp8enc_free(e);
    return rc;
}

static int make_silence(cc_recorder *r)
{
    cc_opusenc_config c;
    cc_opusenc_config_default(&c);
    cc_opusenc *e = NULL;
    if (cc_opusenc_new(&e, &c) != 0)
        return CC_EUNSUPPORTED;
    int16_t pcm[CC_OPUS_FRAME_SAMPLES] = {0};
    int rc = cc_opusenc_encode(e, pcm, r->opus_silence, sizeof r->opus_silence,
                               &r->opus_silence_len);
    cc_opusenc_free(e);
    return rc;
}

static void span_add(span *s, GstBuffer *b)
{
    GstClockTime t = GST_BUFFER_PTS(b);
    if (!GST_CLOCK_TIME_IS_VALID(t))
        return;
    GstClockTime end = t;
    if (GST_BUFFER_DURATION_IS_VALID(b))
        end += GST_BUFFER_DURATION(b);
    g_mutex_lock(&s->lock);
    if (!GST_CLOCK_TIME_IS_VALID(s->first) || t < s->first)
        s->first = t;
    if (!GST_CLOCK_TIME_IS_VALID(s->last) || end > s->last)
        s->last = end;
    g_mutex_unlock(&s->lock);
}

static int64_t span_ms(span *s)
{
    g_mutex_lock(&s->lock);
    int64_t ms = GST_CLOCK_TIME_IS_VALID(s->first) && GST_CLOCK_TIME_IS_VALID(s->last)
                     ? (int64_t)((s->last - s->first) / GST_MSECOND)
                     : 0;
    g_mutex_unlock(&s->lock);
    return ms;
}

/* The depayloaders' output: counted and timed; a caps change after the
 * first frame is dropped, because Matroska cannot change a track's caps
 * mid-file (a new camera resolution): VP8 key frames carry their own
 * size, and players follow it. */
static GstPadProbeReturn depay_out(GstPad *pad, GstPadProbeInfo *info, gpointer ud)
{
    (void)pad;
    cc_recorder *r = ud;
    int video = GPOINTER_TO_INT(g_object_get_data(G_OBJECT(pad), "cc-video"));
    atomic_int *flowing = video ? &r->v_flowing : &r->a_flowing;
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
        GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
        span_add(&r->times, b);
        atomic_fetch_add_explicit(video ? &r->video_frames : &r->audio_frames, 1,
                                  memory_order_relaxed);
        atomic_store(flowing, 1);
        return GST_PAD_PROBE_OK;
    }
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (ev && GST_EVENT_TYPE(ev) == GST_EVENT_CAPS && atomic_load(flowing))
        return GST_PAD_PROBE_DROP;
    return GST_PAD_PROBE_OK;
}

/* rtpvp8depay asks upstream for a key frame after a loss
 * (request-keyframe): the SFU asks the teacher's browser (a PLI). */
static GstPadProbeReturn depay_upstream(GstPad *pad, GstPadProbeInfo *info, gpointer ud)
{
    (void)pad;
    cc_recorder *r = ud;
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    const GstStructure *s = ev ? gst_event_get_structure(ev) : NULL;
    if (!s || !gst_structure_has_name(s, "GstForceKeyUnit"))
        return GST_PAD_PROBE_OK;
    int slot = atomic_load(&r->video_slot);
    if (slot == CC_SLOT_CAMERA || slot == CC_SLOT_SCREEN) {
        atomic_fetch_or(&r->tap.want_key, 1u << slot);
        atomic_fetch_add_explicit(&r->depay_keyframe_asks, 1, memory_order_relaxed);
    }
    return GST_PAD_PROBE_DROP;
}

static void probe_depay(cc_recorder *r, const char *name, int video)
{
    GstElement *d = gst_bin_get_by_name(GST_BIN(r->pipe), name);
    GstPad *src = gst_element_get_static_pad(d, "src");
    g_object_set_data(G_OBJECT(src), "cc-video", GINT_TO_POINTER(video));
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                      depay_out, r, NULL);
    gst_object_unref(src);
    if (video) {
        GstPad *sink = gst_element_get_static_pad(d, "sink");
        gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, depay_upstream, r, NULL);
        gst_object_unref(sink);
    }
    gst_object_unref(d);
}

static void push(cc_recorder *r, int kind, const uint8_t *data, size_t len, cc_time_us at)
{
    GstBuffer *b = gst_buffer_new_allocate(NULL, len, NULL);
    if (!b)
        return;
    gst_buffer_fill(b, 0, data, len);
    /* Arrival time as running time: both are CLOCK_MONOTONIC (the
     * pipeline runs on GStreamer's system clock). The jitter buffers turn
     * RTP timestamps into media time against it, so audio and video keep
     * the relation they had when the SFU received them. */
    GstClockTime ns = (GstClockTime)at * 1000;
    GstClockTime rt = ns > r->base ? ns - r->base : 0;
    GST_BUFFER_PTS(b) = rt;
    GST_BUFFER_DTS(b) = rt;
    gst_app_src_push_buffer(GST_APP_SRC(kind == CC_RECSEL_VIDEO ? r->vsrc : r->asrc), b);
}

static void ask_keyframes(cc_recorder *r, unsigned want)
{
    if (!want)
        return;
    atomic_fetch_or(&r->tap.want_key, want);
    atomic_fetch_add_explicit(&r->keyframe_asks, 1, memory_order_relaxed);
}

/* Everything the worker handed over, at most `max` packets. */
static void drain(cc_recorder *r, int max)
{
    rec_slot *s;
    unsigned want = 0;
    for (int i = 0; i < max && (s = cc_ring_pop(r->tap.full)); i++) {
        int k = cc_recsel_packet(&r->sel, s->slot, s->live, s->data, s->len, s->at, &want);
        if (k != CC_RECSEL_DROP && !atomic_load(&r->failed))
            push(r, k, s->data, s->len, s->at);
        cc_ring_push(r->tap.free, s);
    }
    atomic_store(&r->video_slot, r->sel.v.src_slot);
    ask_keyframes(r, want);
}

/* Fillers due now (a camera that is off, a muted or absent microphone). */
static void fill(cc_recorder *r, cc_time_us now)
{
    int w, h;
    /* The black frame has the size of the teacher's last picture, so the
     * player's window does not jump; made again only when it is needed. */
    if (cc_recsel_video_size(&r->sel, &w, &h) == 0 &&
        (((w + 1) & ~1) != r->fill_w || ((h + 1) & ~1) != r->fill_h) &&
        now - r->sel.v.last_real_at > CC_RECSEL_VIDEO_IDLE - 200 * CC_USEC_PER_MSEC)
        make_black_key(r, w, h);
    cc_recsel_fill f = {.vp8_key = r->vp8_key,
                        .vp8_key_len = r->vp8_key_len,
                        .opus_silence = r->opus_silence,
                        .opus_silence_len = r->opus_silence_len};
    uint8_t out[12 + 1 + CC_RECSEL_FILL_MTU];
    size_t len;
    cc_time_us at;
    int k;
    for (int i = 0; i < 200 && (k = cc_recsel_filler(&r->sel, now, &f, out, sizeof out, &len,
                                                     &at)) != CC_RECSEL_DROP;
         i++)
        if (!atomic_load(&r->failed))
            push(r, k, out, len, at);
    atomic_store(&r->video_slot, r->sel.v.src_slot);
}

static void note_error(cc_recorder *r, GstMessage *m)
{
    GError *e = NULL;
    gchar *dbg = NULL;
    gst_message_parse_error(m, &e, &dbg);
    if (!atomic_load(&r->failed)) {
        snprintf(r->error, sizeof r->error, "%s", e ? e->message : "pipeline error");
        CC_ERROR(MOD, "%s: %s (%s)", r->path, r->error, dbg ? dbg : "");
    }
    atomic_store(&r->failed, 1);
    g_clear_error(&e);
    g_free(dbg);
}

static void poll_bus(cc_recorder *r)
{
    GstMessage *m;
    while ((m = gst_bus_pop_filtered(r->bus, GST_MESSAGE_ERROR))) {
        note_error(r, m);
        gst_message_unref(m);
    }
}

static void *rec_thread(void *arg)
{
    cc_recorder *r = arg;
    while (!atomic_load(&r->stop)) {
        drain(r, 4096);
        fill(r, cc_clock_mono_us());
        poll_bus(r);
        g_usleep(TICK_US);
    }
    drain(r, r->tap.n);
    gst_app_src_end_of_stream(GST_APP_SRC(r->vsrc));
    gst_app_src_end_of_stream(GST_APP_SRC(r->asrc));
    /* The jitter buffers let go of what they hold at end of stream; the
     * muxer then writes its index and the duration. */
    GstMessage *m = NULL;
    if (!atomic_load(&r->failed))
        m = gst_bus_timed_pop_filtered(r->bus, FINISH_TIMEOUT,
                                       GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    if (!m) {
        if (!atomic_load(&r->failed))
            snprintf(r->error, sizeof r->error, "the file was not finished in time");
        atomic_store(&r->failed, 1);
    } else {
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR)
            note_error(r, m);
        gst_message_unref(m);
    }
    gst_element_set_state(r->pipe, GST_STATE_NULL);
    cc_recorder_result *res = &r->res;
    memset(res, 0, sizeof *res);
    struct stat st;
    if (stat(r->path, &st) == 0)
        res->bytes = (uint64_t)st.st_size;
    res->duration_ms = span_ms(&r->times);
    res->ok = !atomic_load(&r->failed);
    snprintf(res->error, sizeof res->error, "%s", res->ok ? "" : r->error);
    CC_INFO(MOD, "%s: %s, %.1f s, %llu bytes (%llu video and %llu audio frames, %llu source "
            "switches)", r->path, res->ok ? "finished" : "failed", res->duration_ms / 1000.0,
            (unsigned long long)res->bytes, (unsigned long long)atomic_load(&r->video_frames),
            (unsigned long long)atomic_load(&r->audio_frames),
            (unsigned long long)r->sel.st.switches);
    if (r->cfg.done)
        r->cfg.done(r->cfg.ud, res);
    atomic_store(&r->finished, 1);
    return NULL;
}

static const char *const PIPELINE =
    "appsrc name=v is-live=true format=time do-timestamp=false "
    "  caps=application/x-rtp,media=video,clock-rate=90000,encoding-name=VP8,payload=96 "
    "! rtpjitterbuffer name=vjb do-lost=true "
    "! rtpvp8depay name=vdepay wait-for-keyframe=true request-keyframe=true "
    "! queue max-size-buffers=0 max-size-bytes=0 max-size-time=5000000000 ! mux.video_0 "
    "appsrc name=a is-live=true format=time do-timestamp=false "
    "  caps=application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=111 "
    "! rtpjitterbuffer name=ajb do-lost=true "
    "! rtpopusdepay name=adepay "
    /* rtpopusdepay leaves out the rate, which webmmux wants (RFC 7587
     * section 4.1: always 48000) */
    "! capssetter caps=audio/x-opus,rate=48000 "
    "! queue max-size-buffers=0 max-size-bytes=0 max-size-time=5000000000 ! mux.audio_0 "
    "webmmux name=mux writing-app=classcast offset-to-zero=true "
    "! filesink name=sink";

static void set_by_name(GstElement *bin, const char *name, const char *prop, gint64 v,
                        int is_int)
{
    GstElement *e = gst_bin_get_by_name(GST_BIN(bin), name);
    if (!e)
        return;
    if (is_int)
        g_object_set(e, prop, (guint)v, NULL);
    else
        g_object_set(e, prop, v, NULL);
    gst_object_unref(e);
}

int cc_recorder_start(cc_recorder **out, const cc_recorder_config *cfg, char *err,
                      size_t errcap)
{
    *out = NULL;
    if (!cfg || !cfg->path || !cfg->path[0] || strlen(cfg->path) >= sizeof(((cc_recorder *)0)->path)) {
        set_err(err, errcap, "%sbad recording path", NULL);
        return CC_EINVAL;
    }
    if (!gst_is_initialized())
        gst_init(NULL, NULL);
    cc_recorder *r = calloc(1, sizeof *r);
    if (!r) {
        set_err(err, errcap, "%sout of memory", NULL);
        return CC_ENOMEM;
    }
    r->cfg = *cfg;
    snprintf(r->path, sizeof r->path, "%s", cfg->path);
    g_mutex_init(&r->times.lock);
    r->times.first = r->times.last = GST_CLOCK_TIME_NONE;
    atomic_init(&r->video_slot, CC_RECSEL_SRC_NONE);
    int rc = tap_init(&r->tap, cfg->slots > 0 ? cfg->slots : CC_REC_DEFAULT_SLOTS);
    if (rc != 0) {
        set_err(err, errcap, "%sout of memory", NULL);
        goto fail;
    }
    if (make_black_key(r, 640, 360) != 0 || make_silence(r) != 0) {
        set_err(err, errcap, "%scould not prepare the encoders for gaps", NULL);
        rc = CC_EUNSUPPORTED;
        goto fail;
    }
    /* The file is the teacher's: private from the start (filesink keeps
     * the mode of a file that exists). */
    int fd = open(r->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        set_err(err, errcap, "cannot create the recording file: %s", strerror(errno));
        rc = CC_EIO;
        goto fail;
    }
    close(fd);
    GError *ge = NULL;
    r->pipe = gst_parse_launch(PIPELINE, &ge);
    if (!r->pipe || ge) {
        set_err(err, errcap, "GStreamer cannot build the recording pipeline: %s",
                ge ? ge->message : "?");
        g_clear_error(&ge);
        rc = CC_EUNSUPPORTED;
        goto fail;
    }
    r->vsrc = gst_bin_get_by_name(GST_BIN(r->pipe), "v");
    r->asrc = gst_bin_get_by_name(GST_BIN(r->pipe), "a");
    GstElement *sink = gst_bin_get_by_name(GST_BIN(r->pipe), "sink");
    GstElement *mux = gst_bin_get_by_name(GST_BIN(r->pipe), "mux");
    g_object_set(sink, "location", r->path, NULL);
    /* webmmux: a finished file gets its duration and cues (seekable); a
     * cluster closes at least every second, so a killed server loses
     * about a second; the first media time is zero. */
    g_object_set(mux, "max-cluster-duration", (gint64)CLUSTER_NS, NULL);
    gst_object_unref(sink);
    gst_object_unref(mux);
    guint lat = (guint)(cfg->latency_ms > 0 ? cfg->latency_ms : CC_REC_LATENCY_MS);
    set_by_name(r->pipe, "vjb", "latency", lat, 1);
    set_by_name(r->pipe, "ajb", "latency", lat, 1);
    for (int i = 0; i < 2; i++) {
        GstElement *src = i ? r->asrc : r->vsrc;
        g_object_set(src, "max-bytes", (guint64)APPSRC_MAX_BYTES, NULL);
        /* GStreamer 1.20+: drop what does not fit instead of queueing it */
        if (g_object_class_find_property(G_OBJECT_GET_CLASS(src), "leaky-type"))
            gst_util_set_object_arg(G_OBJECT(src), "leaky-type", "upstream");
    }
    probe_depay(r, "vdepay", 1);
    probe_depay(r, "adepay", 0);
    GstClock *clock = gst_system_clock_obtain();
    gst_pipeline_use_clock(GST_PIPELINE(r->pipe), clock);
    gst_object_unref(clock);
    r->bus = gst_element_get_bus(r->pipe);
    if (gst_element_set_state(r->pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        GstMessage *m = gst_bus_pop_filtered(r->bus, GST_MESSAGE_ERROR);
        if (m) {
            note_error(r, m);
            gst_message_unref(m);
        }
        set_err(err, errcap, "the recording pipeline does not start: %s",
                r->error[0] ? r->error : "?");
        rc = CC_EIO;
        goto fail;
    }
    r->base = gst_element_get_base_time(r->pipe);
    cc_recsel_init(&r->sel, cc_clock_mono_us());
    /* Both video slots from the start: whichever is recorded begins on a
     * key frame. */
    atomic_store(&r->tap.want_key, (1u << CC_SLOT_CAMERA) | (1u << CC_SLOT_SCREEN));
    if (pthread_create(&r->thread, NULL, rec_thread, r) != 0) {
        set_err(err, errcap, "%scannot start the recording thread", NULL);
        rc = CC_EIO;
        goto fail;
    }
    r->thread_started = 1;
    CC_INFO(MOD, "recording to %s", r->path);
    *out = r;
    return 0;
fail:
    if (r->pipe)
        gst_element_set_state(r->pipe, GST_STATE_NULL);
    if (r->bus)
        gst_object_unref(r->bus);
    if (r->vsrc)
        gst_object_unref(r->vsrc);
    if (r->asrc)
        gst_object_unref(r->asrc);
    if (r->pipe)
        gst_object_unref(r->pipe);
    tap_clear(&r->tap);
    free(r->vp8_key);
    g_mutex_clear(&r->times.lock);
    free(r);
    return rc;
}

cc_rec_tap *cc_recorder_tap(cc_recorder *r) { return &r->tap; }

void cc_recorder_finish(cc_recorder *r)
{
    if (r)
        atomic_store(&r->stop, 1);
}

int cc_recorder_finished(const cc_recorder *r)
{
    return atomic_load(&((cc_recorder *)r)->finished);
}

int cc_recorder_failed(const cc_recorder *r) { return atomic_load(&((cc_recorder *)r)->failed); }

void cc_recorder_wait(cc_recorder *r, cc_recorder_result *res)
{
    if (!r)
        return;
    cc_recorder_finish(r);
    if (r->thread_started && !atomic_exchange(&r->joined, 1))
        pthread_join(r->thread, NULL);
    if (res)
        *res = r->res;
}

void cc_recorder_free(cc_recorder *r)
{
    if (!r)
        return;
    cc_recorder_wait(r, NULL);
    gst_object_unref(r->bus);
    gst_object_unref(r->vsrc);
    gst_object_unref(r->asrc);
    gst_object_unref(r->pipe);
    tap_clear(&r->tap);
    free(r->vp8_key);
    g_mutex_clear(&r->times.lock);
    free(r);
}

void cc_recorder_get_stats(const cc_recorder *r, cc_recorder_stats *out)
{
    memset(out, 0, sizeof *out);
    const cc_rec_tap *t = &r->tap;
    out->pkts_in = atomic_load_explicit(&((cc_rec_tap *)t)->pkts_in, memory_order_relaxed);
    out->ring_full = atomic_load_explicit(&((cc_rec_tap *)t)->ring_full, memory_order_relaxed);
    out->too_big = atomic_load_explicit(&((cc_rec_tap *)t)->too_big, memory_order_relaxed);
    /* The selector's counters are the recorder thread's; a torn read of a
     * counter is harmless for a statistic. */
    const cc_recsel_stats *s = &r->sel.st;
    out->video_pkts = s->video_pkts;
    out->audio_pkts = s->audio_pkts;
    out->switches = s->switches;
    out->wait_keyframe = s->wait_keyframe;
    out->not_selected = s->not_selected;
    out->malformed = s->malformed;
    out->fill_video = s->fill_video;
    out->fill_audio = s->fill_audio;
    cc_recorder *m = (cc_recorder *)r;
    out->keyframe_asks = atomic_load(&m->keyframe_asks);
    out->depay_keyframe_asks = atomic_load(&m->depay_keyframe_asks);
    out->video_frames = atomic_load(&m->video_frames);
    out->audio_frames = atomic_load(&m->audio_frames);
}

/* ---- repair ---- */

typedef struct repair {
    GstElement *pipe, *mux;
    span times;
} repair;

static GstPadProbeReturn repair_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer ud)
{
    (void)pad;
    span_add(&((repair *)ud)->times, GST_PAD_PROBE_INFO_BUFFER(info));
    return GST_PAD_PROBE_OK;
}

static void repair_pad(GstElement *demux, GstPad *pad, gpointer ud)
{
    (void)demux;
    repair *rp = ud;
    GstElement *q = gst_element_factory_make("queue", NULL);
    if (!q)
        return;
    gst_bin_add(GST_BIN(rp->pipe), q);
    gst_element_sync_state_with_parent(q);
    GstPad *qs = gst_element_get_static_pad(q, "sink");
    gst_pad_link(pad, qs);
    gst_object_unref(qs);
    GstPad *qsrc = gst_element_get_static_pad(q, "src");
    gst_pad_add_probe(qsrc, GST_PAD_PROBE_TYPE_BUFFER, repair_buffer, rp, NULL);
    gst_object_unref(qsrc);
    if (!gst_element_link(q, rp->mux))
        CC_WARN(MOD, "repair: a stream could not be linked to the muxer");
}

int cc_recorder_repair(const char *path, cc_recorder_result *res)
{
    memset(res, 0, sizeof *res);
    if (!gst_is_initialized())
        gst_init(NULL, NULL);
    char tmp[1100];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(res->error, sizeof res->error, "path too long");
        return CC_EINVAL;
    }
    repair rp = {0};
    g_mutex_init(&rp.times.lock);
    rp.times.first = rp.times.last = GST_CLOCK_TIME_NONE;
    rp.pipe = gst_pipeline_new("repair");
    GstElement *src = gst_element_factory_make("filesrc", NULL);
    GstElement *demux = gst_element_factory_make("matroskademux", NULL);
    rp.mux = gst_element_factory_make("webmmux", NULL);
    GstElement *sink = gst_element_factory_make("filesink", NULL);
    int rc = CC_EUNSUPPORTED;
    if (!rp.pipe || !src || !demux || !rp.mux || !sink) {
        snprintf(res->error, sizeof res->error, "GStreamer's Matroska elements are missing");
        goto out_elems;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(res->error, sizeof res->error, "cannot create the repaired file: %s", strerror(errno));
        rc = CC_EIO;
        goto out_elems;
    }
    close(fd);
    g_object_set(src, "location", path, NULL);
    g_object_set(sink, "location", tmp, NULL);
    g_object_set(rp.mux, "writing-app", "classcast", "offset-to-zero", TRUE, NULL);
    gst_bin_add_many(GST_BIN(rp.pipe), src, demux, rp.mux, sink, NULL);
    /* The pipeline holds them now; the pointers stay valid while it lives. */
    GstElement *psrc = src, *pdemux = demux, *psink = sink;
    src = demux = sink = NULL;
    if (!gst_element_link(psrc, pdemux) || !gst_element_link(rp.mux, psink)) {
        snprintf(res->error, sizeof res->error, "cannot link the repair pipeline");
        goto out_pipe;
    }
    g_signal_connect(pdemux, "pad-added", G_CALLBACK(repair_pad), &rp);
    GstBus *bus = gst_element_get_bus(rp.pipe);
    gst_element_set_state(rp.pipe, GST_STATE_PLAYING);
    int ok = 0;
    for (;;) {
        GstMessage *m = gst_bus_timed_pop_filtered(bus, 600 * GST_SECOND,
                                                   GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
        if (!m) {
            snprintf(res->error, sizeof res->error, "the repair took too long");
            break;
        }
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) {
            ok = 1;
            gst_message_unref(m);
            break;
        }
        GError *e = NULL;
        gst_message_parse_error(m, &e, NULL);
        snprintf(res->error, sizeof res->error, "%s", e ? e->message : "error");
        g_clear_error(&e);
        gst_message_unref(m);
        break;
    }
    gst_element_set_state(rp.pipe, GST_STATE_NULL);
    gst_object_unref(bus);
    struct stat st;
    res->duration_ms = span_ms(&rp.times);
    if (ok && res->duration_ms > 0 && stat(tmp, &st) == 0 && st.st_size > 0 &&
        rename(tmp, path) == 0) {
        res->ok = 1;
        res->bytes = (uint64_t)st.st_size;
        rc = 0;
    } else {
        if (!res->error[0])
            snprintf(res->error, sizeof res->error, "nothing could be read back");
        unlink(tmp);
        if (stat(path, &st) == 0)
            res->bytes = (uint64_t)st.st_size;
        rc = CC_EIO;
    }
out_pipe:
    gst_object_unref(rp.pipe);
    g_mutex_clear(&rp.times.lock);
    return rc;
out_elems:
    if (src)
        gst_object_unref(src);
    if (demux)
        gst_object_unref(demux);
    if (rp.mux)
        gst_object_unref(rp.mux);
    if (sink)
        gst_object_unref(sink);
    if (rp.pipe)
        gst_object_unref(rp.pipe);
    g_mutex_clear(&rp.times.lock);
    unlink(tmp);
    return rc;
}
