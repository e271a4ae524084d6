/* Local media source: capture -> encode -> packetize on one thread.
 * The encoder sits right behind the capture so a keyframe request is served
 * on the very next captured frame, and the RTP timestamp is the capture
 * time (the packetizer maps monotonic capture time to the RTP clock). */
#include "classcast/source.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/opusenc.h"
#include "classcast/packetizer.h"
#include "classcast/slot.h"
#include "classcast/vp8enc.h"

#define SRC_MAX_PACKETS 64 /* of one VP8 frame; 64 x 1200 B is ~75 KB */

struct cc_source {
    cc_source_config cfg;
    char name[64];
    char dir[1024];
    char vars[CC_CAPTURE_MAX_VARS][256];
    int video;
    cc_capture *cap;
    cc_vp8enc *vp8;
    cc_opusenc *opus;
    int channels;
    cc_packetizer pk;        /* the only or the largest encoding */
    /* Simulcast: the smaller encodings' packetizers (own SSRC, sequence
     * and PictureID), smallest first; the largest is pk. */
    cc_packetizer pk_low[CC_VP8ENC_MAX_ENC - 1];
    int n_enc;
    pthread_t thread;
    int running;
    volatile int stop;
    int keyframe_req;        /* atomic */
    int bitrate_req;         /* atomic: kbps to apply, 0 none */
    uint32_t generation;
    /* audio: 20 ms frame being filled */
    int16_t pcm[CC_OPUS_FRAME_SAMPLES * 2];
    size_t pcm_fill;         /* samples per channel */
    cc_time_us pcm_start;    /* capture time of pcm[0] */
    cc_source_stats st;
    pthread_mutex_t st_lock;
};

int cc_source_default_slot(const char *name)
{
    if (strncmp(name, "screen", 6) == 0)
        return CC_SLOT_SCREEN;
    if (strncmp(name, "mic", 3) == 0 || strstr(name, "audio"))
        return CC_SLOT_MIC;
    return CC_SLOT_CAMERA;
}

static void emit_packet(cc_source *s, const uint8_t *data, size_t len,
                        cc_time_us capture)
{
    cc_pkt *p = cc_pkt_alloc(s->cfg.pool);
    if (!p) {
        s->st.pool_empty++;
        return;
    }
    if (len > CC_PKT_CAP)
        len = CC_PKT_CAP;
    memcpy(p->data, data, len);
    p->len = (uint16_t)len;
    p->flags = (uint16_t)s->cfg.slot;
    p->time = capture;
    s->st.packets++;
    s->st.bytes += len;
    s->cfg.emit(s->cfg.ud, p);
}

static void do_video(cc_source *s, const cc_capture_sample *smp)
{
    if (smp->width != s->cfg.width || smp->height != s->cfg.height) {
        CC_LOG_RL(CC_LOG_WARN, "source", "%s: frame %dx%d, expected %dx%d", s->name,
                  smp->width, smp->height, s->cfg.width, s->cfg.height);
        return;
    }
    /* A restarted pipeline is a gap: receivers need a keyframe. */
    if (__atomic_exchange_n(&s->keyframe_req, 0, __ATOMIC_ACQ_REL) ||
        smp->generation != s->generation) {
        cc_vp8enc_request_keyframe(s->vp8);
        s->generation = smp->generation;
    }
    int kbps = __atomic_exchange_n(&s->bitrate_req, 0, __ATOMIC_ACQ_REL);
    if (kbps > 0)
        cc_vp8enc_set_bitrate(s->vp8, kbps);
    cc_vp8enc_frame fr[CC_VP8ENC_MAX_ENC];
    cc_time_us t0 = cc_clock_mono_us();
    int nf = cc_vp8enc_encode_all(s->vp8, smp->plane, smp->stride, smp->capture_us, fr);
    s->st.encode_us_last = cc_clock_mono_us() - t0;
    if (nf <= 0)
        return;
    static __thread uint8_t bufs[SRC_MAX_PACKETS][CC_PKTZ_MTU_DEFAULT + CC_PKTZ_OVERHEAD];
    uint8_t *ptrs[SRC_MAX_PACKETS];
    size_t lens[SRC_MAX_PACKETS];
    for (int i = 0; i < SRC_MAX_PACKETS; i++)
        ptrs[i] = bufs[i];
    size_t bytes = 0;
    int key = 0;
    /* Smallest first: a subscriber on the smallest gets its picture first. */
    for (int k = 0; k < nf; k++) {
        const cc_vp8enc_frame *f = &fr[k];
        cc_packetizer *pk = f->enc == s->n_enc - 1 ? &s->pk : &s->pk_low[f->enc];
        cc_pktz_vp8_frame vf = {
            .keyframe = f->keyframe,
            .tid = f->tid,
            .layer_sync = f->layer_sync,
            .non_ref = f->non_ref,
            .capture_time = f->pts,
        };
        int n = cc_packetizer_vp8(pk, f->data, f->size, &vf, cc_clock_mono_us(), ptrs,
                                  sizeof bufs[0], SRC_MAX_PACKETS, lens);
        if (n < 0) {
            CC_LOG_RL(CC_LOG_WARN, "source", "%s: frame of %zu bytes not packetized: %s",
                      s->name, f->size, cc_strerror(n));
            continue;
        }
        for (int i = 0; i < n; i++)
            emit_packet(s, ptrs[i], lens[i], f->pts);
        bytes += f->size;
        key |= f->keyframe;
    }
    s->st.frames++;
    if (key)
        s->st.keyframes++;
    if (s->cfg.on_frame)
        s->cfg.on_frame(s->cfg.ud, fr[0].pts, s->st.encode_us_last, cc_clock_mono_us(),
                        key, bytes);
}

static void do_audio(cc_source *s, const cc_capture_sample *smp)
{
    int kbps = __atomic_exchange_n(&s->bitrate_req, 0, __ATOMIC_ACQ_REL);
    if (kbps > 0)
        cc_opusenc_set_bitrate(s->opus, kbps * 1000);
    if (smp->channels != s->channels || smp->rate != 48000) {
        CC_LOG_RL(CC_LOG_WARN, "source", "%s: audio %d Hz x %d, expected 48000 x %d",
                  s->name, smp->rate, smp->channels, s->channels);
        return;
    }
    size_t done = 0;
    while (done < smp->frames) {
        if (s->pcm_fill == 0)
            s->pcm_start = smp->capture_us + (cc_time_us)done * CC_USEC_PER_SEC / 48000;
        size_t take = CC_OPUS_FRAME_SAMPLES - s->pcm_fill;
        if (take > smp->frames - done)
            take = smp->frames - done;
        memcpy(s->pcm + s->pcm_fill * (size_t)s->channels,
               smp->pcm + done * (size_t)s->channels,
               take * (size_t)s->channels * sizeof(int16_t));
        s->pcm_fill += take;
        done += take;
        if (s->pcm_fill < CC_OPUS_FRAME_SAMPLES)
            break;
        s->pcm_fill = 0;
        uint8_t enc[CC_OPUS_MAX_PACKET];
        size_t elen;
        if (cc_opusenc_encode(s->opus, s->pcm, enc, sizeof enc, &elen) != 0)
            continue;
        s->st.frames++;
        uint8_t pkt[CC_OPUS_MAX_PACKET + 64];
        size_t plen;
        if (cc_packetizer_opus(&s->pk, enc, elen, s->pcm_start, cc_clock_mono_us(), pkt,
                               sizeof pkt, &plen) == 0)
            emit_packet(s, pkt, plen, s->pcm_start);
        if (s->cfg.on_frame)
            s->cfg.on_frame(s->cfg.ud, s->pcm_start, 0, cc_clock_mono_us(), 0, elen);
    }
}

static void *source_main(void *arg)
{
    cc_source *s = arg;
    while (!s->stop) {
        cc_capture_sample smp;
        int rc = cc_capture_pull(s->cap, &smp, 200);
        if (rc == CC_ETIMEOUT)
            continue;
        if (rc != 0)
            break;
        s->st.samples++;
        if (s->video && smp.kind == CC_CAPTURE_VIDEO)
            do_video(s, &smp);
        else if (!s->video && smp.kind == CC_CAPTURE_AUDIO)
            do_audio(s, &smp);
        cc_capture_sample_release(&smp);
    }
    return NULL;
}

int cc_source_new(cc_source **out, const cc_source_config *cfg, char *err,
                  size_t errcap)
{
    *out = NULL;
    if (!cfg || !cfg->name || !cfg->emit || !cfg->pool) {
        snprintf(err, errcap, "bad source configuration");
        return CC_EINVAL;
    }
    cc_source *s = calloc(1, sizeof *s);
    if (!s)
        return CC_ENOMEM;
    s->cfg = *cfg;
    pthread_mutex_init(&s->st_lock, NULL);
    snprintf(s->name, sizeof s->name, "%s", cfg->name);
    snprintf(s->dir, sizeof s->dir, "%s", cfg->pipelines_dir ? cfg->pipelines_dir : "pipelines");
    s->video = cc_source_default_slot(cfg->name) != CC_SLOT_MIC;
    if (cfg->slot == CC_SLOT_MIC)
        s->video = 0;
    if (s->video) {
        if (s->cfg.width <= 0)
            s->cfg.width = 1280;
        if (s->cfg.height <= 0)
            s->cfg.height = 720;
        if (s->cfg.fps <= 0)
            s->cfg.fps = 30;
    }
    /* Caller's vars first; size/rate vars from the config for video. */
    cc_capture_config cc = {.pipelines_dir = s->dir, .name = s->name};
    int nv = 0;
    for (int i = 0; i < CC_CAPTURE_MAX_VARS - 4 && cfg->vars[i]; i++) {
        snprintf(s->vars[nv], sizeof s->vars[nv], "%s", cfg->vars[i]);
        cc.vars[nv] = s->vars[nv];
        nv++;
    }
    if (s->video) {
        snprintf(s->vars[nv], sizeof s->vars[nv], "WIDTH=%d", s->cfg.width);
        cc.vars[nv] = s->vars[nv];
        nv++;
        snprintf(s->vars[nv], sizeof s->vars[nv], "HEIGHT=%d", s->cfg.height);
        cc.vars[nv] = s->vars[nv];
        nv++;
        snprintf(s->vars[nv], sizeof s->vars[nv], "FPS=%d", s->cfg.fps);
        cc.vars[nv] = s->vars[nv];
        nv++;
    }
    int rc = cc_capture_new(&s->cap, &cc, err, errcap);
    if (rc != 0)
        goto fail;
    cc_pktz_config pc = {0};
    cc_pktz_config_randomize(&pc);
    pc.abs_send_time_id = cfg->abs_send_time_id;
    if (s->video) {
        cc_vp8enc_config vc;
        cc_vp8enc_config_default(&vc, s->cfg.width, s->cfg.height, s->cfg.fps,
                                 cfg->bitrate_kbps > 0 ? cfg->bitrate_kbps
                                 : cfg->slot == CC_SLOT_SCREEN ? 1500 : 1000);
        vc.screen_content = cfg->screen_content || cfg->slot == CC_SLOT_SCREEN;
        /* Screen mode: an unchanged screen is not encoded (a keep-alive a
         * second), a quantizer floor (include/classcast/vp8enc.h). */
        vc.screen = vc.screen_content;
        /* Screen content: one temporal layer. A scroll of dense text is
         * re-coded in every layer and overshoots the target by ~40 % with
         * three (measured with tests/media/test_vp8enc.c's scrolling page). */
        if (vc.screen_content)
            vc.temporal_layers = 1;
        else
            vc.encodings = cfg->encodings;
        rc = cc_vp8enc_new(&s->vp8, &vc);
        if (rc == CC_EINVAL && vc.encodings > 1) {
            /* A size that does not halve evenly: one encoding, said once. */
            CC_WARN("source", "%s: %dx%d cannot be sent as %d encodings (each half the "
                    "size of the one above, even sizes): sending one", s->name,
                    vc.width, vc.height, vc.encodings);
            vc.encodings = 1;
            rc = cc_vp8enc_new(&s->vp8, &vc);
        }
        if (rc != 0) {
            snprintf(err, errcap, "the VP8 encoder could not start (%s)", cc_strerror(rc));
            goto fail;
        }
        pc.codec = CC_PKTZ_VP8;
        pc.pt = cfg->pt ? cfg->pt : 96;
        pc.temporal = vc.temporal_layers > 1;
    } else {
        cc_opusenc_config oc;
        cc_opusenc_config_default(&oc);
        s->channels = oc.channels;
        if (cfg->bitrate_kbps > 0)
            oc.bitrate_bps = cfg->bitrate_kbps * 1000;
        rc = cc_opusenc_new(&s->opus, &oc);
        if (rc != 0) {
            snprintf(err, errcap, "the Opus encoder could not start (%s)", cc_strerror(rc));
            goto fail;
        }
        pc.codec = CC_PKTZ_OPUS;
        pc.pt = cfg->pt ? cfg->pt : 111;
    }
    rc = cc_packetizer_init(&s->pk, &pc);
    s->n_enc = s->vp8 ? cc_vp8enc_encodings(s->vp8) : 1;
    for (int k = 0; rc == 0 && k < s->n_enc - 1; k++) {
        /* Same RTP clock as the largest (one capture time, one timestamp
         * in every encoding); the rest of its own. */
        cc_pktz_config lc = pc;
        cc_pktz_config_randomize(&lc);
        lc.ts_base = pc.ts_base;
        rc = cc_packetizer_init(&s->pk_low[k], &lc);
    }
    if (rc != 0) {
        snprintf(err, errcap, "bad packetizer settings");
        goto fail;
    }
    *out = s;
    return 0;
fail:
    cc_source_free(s);
    return rc;
}

int cc_source_start(cc_source *s)
{
    if (s->running)
        return CC_ESTATE;
    int rc = cc_capture_start(s->cap);
    if (rc != 0)
        return rc;
    s->stop = 0;
    if (pthread_create(&s->thread, NULL, source_main, s) != 0) {
        cc_capture_stop(s->cap);
        return CC_EIO;
    }
    s->running = 1;
    return 0;
}

void cc_source_stop(cc_source *s)
{
    if (!s || !s->running)
        return;
    s->stop = 1;
    pthread_join(s->thread, NULL);
    s->running = 0;
    cc_capture_stop(s->cap);
}

void cc_source_free(cc_source *s)
{
    if (!s)
        return;
    cc_source_stop(s);
    cc_capture_free(s->cap);
    cc_vp8enc_free(s->vp8);
    cc_opusenc_free(s->opus);
    pthread_mutex_destroy(&s->st_lock);
    free(s);
}

void cc_source_request_keyframe(cc_source *s)
{
    __atomic_store_n(&s->keyframe_req, 1, __ATOMIC_RELEASE);
}

int cc_source_set_bitrate(cc_source *s, int kbps)
{
    if (kbps <= 0)
        return CC_EINVAL;
    __atomic_store_n(&s->bitrate_req, kbps, __ATOMIC_RELEASE);
    return 0;
}

uint32_t cc_source_ssrc(const cc_source *s) { return s->pk.cfg.ssrc; }
int cc_source_ssrcs(const cc_source *s, uint32_t *ssrcs, int max)
{
    int n = 0;
    for (int k = 0; k < s->n_enc && n < max; k++)
        ssrcs[n++] = k == s->n_enc - 1 ? s->pk.cfg.ssrc : s->pk_low[k].cfg.ssrc;
    return n;
}
uint8_t cc_source_pt(const cc_source *s) { return s->pk.cfg.pt; }
int cc_source_clock_rate(const cc_source *s) { return s->video ? 90000 : 48000; }
int cc_source_is_video(const cc_source *s) { return s->video; }

void cc_source_get_stats(cc_source *s, cc_source_stats *out)
{
    *out = s->st; /* counters written by the source thread; a snapshot */
    cc_capture_get_status(s->cap, &out->capture);
}
