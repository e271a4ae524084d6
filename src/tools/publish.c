/* `classcast-publish`: local sources -> WHIP. One video and one audio stream
 * at most (a WHIP session carries one of each, RFC 9725 section 4.2); a
 * camera as up to three simulcast encodings of it (RFC 8853, each tagged
 * with its RFC 8851 rid). With transport-cc negotiated, the encoders
 * follow the send-side estimate (docs/bwe.md section 5, "classcast's own
 * encoder"). */
#include "classcast/publish.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "classcast/client.h"
#include "classcast/demux.h"
#include "classcast/dtls.h"
#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/rand.h"
#include "classcast/ring.h"
#include "classcast/sdp.h"
#include "classcast/sdp_offer.h"
#include "classcast/sender.h"
#include "classcast/slot.h"
#include "classcast/source.h"
#include "classcast/udp.h"
#include "classcast/whipc.h"

typedef struct pub_src {
    cc_source *src;
    cc_ring *ring;
    int efd;
    uint64_t ring_full;
} pub_src;

/* Source thread -> publish loop. */
static void pub_emit(void *ud, cc_pkt *p)
{
    pub_src *ps = ud;
    if (cc_ring_push(ps->ring, p) != 0) {
        ps->ring_full++;
        cc_pkt_unref(p);
        return;
    }
    uint64_t one = 1;
    ssize_t r = write(ps->efd, &one, sizeof one);
    (void)r;
}

/* cc_rtp_source over a source's ring: packets are due as soon as they are
 * encoded (the capture paces them). */
static int ring_next(void *ud, cc_time_us now, uint8_t *buf, size_t cap,
                     size_t *len, cc_time_us *next_due)
{
    pub_src *ps = ud;
    cc_pkt *p = cc_ring_pop(ps->ring);
    if (!p) {
        *next_due = now + 5 * CC_USEC_PER_MSEC;
        return CC_EAGAIN;
    }
    int rc = 0;
    if (p->len > cap)
        rc = CC_ENOSPC;
    else {
        memcpy(buf, p->data, p->len);
        *len = p->len;
    }
    cc_pkt_unref(p);
    return rc;
}

static void ring_keyframe(void *ud) { cc_source_request_keyframe(((pub_src *)ud)->src); }

/* ---- encoder rates from the estimate ---- */

/* How often the target is read and applied; a change smaller than
 * RATE_STEP is not worth an encoder reconfiguration. */
#define RATE_INTERVAL (250 * CC_USEC_PER_MSEC)
#define RATE_STEP 0.05
/* Down at once, up by at most RATE_UP a RATE_INTERVAL (x 1.46 a second):
 * a target that jumps up (a probe result) is approached over a second or
 * two, so that if the jump was wrong the delay signal stops it early. A
 * shaper's token bucket passes a short probe cluster untouched and then
 * says "more" (measured under tc tbf, docs/bwe.md). */
#define RATE_UP 1.10
/* The video encoder is never set below this (kbit/s): VP8 at 100 kbit/s
 * is a usable low-motion picture; below it the audio matters more. */
#define VIDEO_MIN_KBPS 100
/* Opus by the target: full rate (the encoder's default, 32 kbit/s) from
 * AUDIO_FULL_BPS of target, 24 from AUDIO_MID_BPS, else 16 (wideband
 * speech; RFC 7587 section 3.1.1 puts it at 16-20 kbit/s). Back up only
 * AUDIO_HYST above a threshold, so a target near one does not toggle. */
#define AUDIO_FULL_KBPS 32
#define AUDIO_FULL_BPS 300000
#define AUDIO_MID_KBPS 24
#define AUDIO_MID_BPS 150000
#define AUDIO_LOW_KBPS 16
#define AUDIO_HYST 1.2
/* Wire bytes per payload byte of video (RTP header + extensions + SRTP
 * tag + UDP/IP per ~1000-byte packet) until measured. */
#define VIDEO_OVERHEAD_INIT 1.08
/* Smoothing of the measured audio rate and video overhead (per
 * RATE_INTERVAL sample): packets leave in batches, a 250 ms sample of
 * 20 ms audio frames holds 11 to 14 of them. */
#define SMOOTH 0.25
/* Application-limited: the encoder's output (smoothed) under this share
 * of the rate it was given (a still screen, a camera in the dark). Then
 * the estimate cannot grow (cc_bwe caps it at 1.5 x what was received),
 * so the publisher asks for a probe at its full rate now and then: every
 * 3 s, the gap doubling to 10 s (as the SFU's subscribers do, and as
 * libwebrtc probes in its "ALR"). A sender that fills its rate does not
 * probe: the AIMD increase finds more. */
#define APP_LIMITED 0.5
#define PROBE_GAP_MIN (3 * CC_USEC_PER_SEC)
#define PROBE_GAP_MAX (10 * CC_USEC_PER_SEC)
#define STATS_INTERVAL CC_USEC_PER_SEC

typedef struct pub_rate {
    int on;                    /* transport-cc negotiated */
    int video_max_kbps;        /* configured (--video-kbps or the default) */
    int video_kbps;            /* set on the encoder */
    int audio_kbps;
    uint32_t max_bps;          /* the estimate's ceiling */
    double overhead;           /* video wire / payload bytes, smoothed */
    double audio_bps;          /* audio on the wire, smoothed; < 0 unknown */
    double video_out_bps;      /* video payload sent, smoothed */
    cc_time_us next_apply, last_apply;
    cc_sender_stats prev;      /* counters at last_apply */
    cc_time_us next_probe, probe_gap;
    uint64_t changes, probes;
    /* once a second at debug: the rates as sent */
    cc_time_us next_stats, last_stats;
    cc_sender_stats sprev;
    uint64_t enc_bytes_prev, enc_kf_prev;
} pub_rate;

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The estimate's range: from the configured rates, wire bytes (video
 * plus its packet overhead, audio at its full rate plus about 50 packets
 * a second of headers). It starts at the ceiling: the encoders start at
 * their configured rates as before, and the start-up probe (bwe.c probes
 * at the ceiling when 3 x start is above it) and the delay and loss
 * signals bring it down on a weaker path within the first seconds. */
static void rate_config(pub_rate *r, int have_video, int have_audio, cc_bwe_config *bc)
{
    cc_bwe_config_default(bc);
    double v = have_video ? r->video_max_kbps * 1000.0 * 1.1 : 0;
    double a = have_audio ? AUDIO_FULL_KBPS * 1000.0 * 2 : 0;
    r->max_bps = (uint32_t)(v + a);
    if (r->max_bps < 100000)
        r->max_bps = 100000;
    bc->max_bps = r->max_bps;
    bc->start_bps = r->max_bps;
    r->overhead = VIDEO_OVERHEAD_INIT;
    r->audio_bps = -1;
}

static double smooth(double old, double v) { return old < 0 ? v : old + SMOOTH * (v - old); }

static void rate_audio(pub_rate *r, pub_src *ps, uint32_t target)
{
    int k = r->audio_kbps;
    double t = target;
    if (t < AUDIO_MID_BPS)
        k = AUDIO_LOW_KBPS;
    else if (t < AUDIO_FULL_BPS)
        k = k == AUDIO_LOW_KBPS && t < AUDIO_MID_BPS * AUDIO_HYST ? AUDIO_LOW_KBPS
                                                                  : AUDIO_MID_KBPS;
    else
        k = k != AUDIO_FULL_KBPS && t < AUDIO_FULL_BPS * AUDIO_HYST ? (k ? k : AUDIO_MID_KBPS)
                                                                    : AUDIO_FULL_KBPS;
    if (k != r->audio_kbps && cc_source_set_bitrate(ps->src, k) == 0) {
        CC_DEBUG("publish", "audio %d -> %d kbit/s (target %u kbit/s)", r->audio_kbps, k,
                 target / 1000);
        r->audio_kbps = k;
    }
}

/* Every RATE_INTERVAL: video gets the target less what audio takes on the
 * wire, divided by video's measured overhead (wire bytes per payload
 * byte, resends included, probes not), within VIDEO_MIN_KBPS..the
 * configured rate, down at once and up by RATE_UP at most. libvpx and
 * libopus take the new rates before their next frame
 * (cc_source_set_bitrate). */
static void rate_apply(pub_rate *r, cc_sender *snd, pub_src ps[2], cc_time_us now)
{
    if (!r->on || now < r->next_apply)
        return;
    r->next_apply = now + RATE_INTERVAL;
    const cc_sender_stats *st = cc_sender_get_stats(snd);
    cc_time_us dt = now - r->last_apply;
    uint32_t target = cc_sender_target_bps(snd);
    if (dt <= 0 || target == 0)
        return;
    uint64_t aw = st->wire_bytes[CC_SENDER_AUDIO] - r->prev.wire_bytes[CC_SENDER_AUDIO];
    uint64_t vw = st->wire_bytes[CC_SENDER_VIDEO] - r->prev.wire_bytes[CC_SENDER_VIDEO];
    uint64_t pb = st->probe_bytes - r->prev.probe_bytes;
    uint64_t vp = st->payload_bytes[CC_SENDER_VIDEO] - r->prev.payload_bytes[CC_SENDER_VIDEO];
    vw = vw > pb ? vw - pb : 0;
    if (vp > 4000 && vw > vp) {
        double o = (double)vw / (double)vp;
        r->overhead = smooth(r->overhead, o > 1.5 ? 1.5 : o);
    }
    r->video_out_bps = smooth(r->video_out_bps, (double)vp * 8e6 / (double)dt);
    r->prev = *st;
    r->last_apply = now;
    /* Audio first: its rate chosen by the whole target, its share as
     * measured (nominal until some has gone). */
    double audio_bps = 0;
    if (ps[1].src) {
        rate_audio(r, &ps[1], target);
        if (st->packets[CC_SENDER_AUDIO])
            r->audio_bps = smooth(r->audio_bps, (double)aw * 8e6 / (double)dt);
        audio_bps = r->audio_bps >= 0 ? r->audio_bps : r->audio_kbps * 2000.0;
    }
    if (!ps[0].src)
        return;
    double vbps = ((double)target - audio_bps) / r->overhead;
    int kbps = clampi((int)(vbps / 1000.0), VIDEO_MIN_KBPS, r->video_max_kbps);
    int up = (int)(r->video_kbps * RATE_UP) + 1;
    if (kbps > up)
        kbps = up;
    int diff = kbps - r->video_kbps;
    /* Small steps are skipped, except onto the range's ends (else the
     * encoder could stay a few per cent short of its configured rate). */
    if ((abs(diff) > RATE_STEP * r->video_kbps ||
         (diff && (kbps == r->video_max_kbps || kbps == VIDEO_MIN_KBPS))) &&
        cc_source_set_bitrate(ps[0].src, kbps) == 0) {
        CC_DEBUG("publish", "video %d -> %d kbit/s (target %u kbit/s, audio %.0f kbit/s, "
                            "overhead %.3f)",
                 r->video_kbps, kbps, target / 1000, audio_bps / 1000, r->overhead);
        r->video_kbps = kbps;
        r->changes++;
    }
    /* Held below the configured rate and not using what it has: may the
     * path carry more? */
    int limited = r->video_kbps < r->video_max_kbps &&
                  r->video_out_bps < APP_LIMITED * r->video_kbps * 1000.0;
    if (!limited) {
        r->probe_gap = PROBE_GAP_MIN;
        r->next_probe = now + PROBE_GAP_MIN;
    } else if (now >= r->next_probe && cc_sender_probe_request(snd, r->max_bps, now)) {
        CC_DEBUG("publish", "application-limited (video out %.0f of %d kbit/s): probe at %u "
                            "kbit/s", r->video_out_bps / 1000, r->video_kbps,
                 r->max_bps / 1000);
        r->probes++;
        r->next_probe = now + r->probe_gap;
        r->probe_gap = r->probe_gap * 2 > PROBE_GAP_MAX ? PROBE_GAP_MAX : r->probe_gap * 2;
    }
}

/* Once a second at debug: what went out, what the estimate says. */
static void rate_log(pub_rate *r, cc_sender *snd, pub_src ps[2], cc_time_us now)
{
    if (now < r->next_stats || cc_log_get_level() < CC_LOG_DEBUG)
        return;
    const cc_sender_stats *st = cc_sender_get_stats(snd);
    cc_time_us dt = now - r->last_stats;
    uint64_t enc = 0, kf = 0;
    if (ps[0].src) {
        cc_source_stats ss;
        cc_source_get_stats(ps[0].src, &ss);
        enc = ss.bytes;
        kf = ss.keyframes;
    }
    if (r->last_stats && dt > 0) {
        double k = 8e3 / (double)dt; /* bytes -> kbit/s */
        uint64_t vw = st->wire_bytes[CC_SENDER_VIDEO] - r->sprev.wire_bytes[CC_SENDER_VIDEO];
        uint64_t aw = st->wire_bytes[CC_SENDER_AUDIO] - r->sprev.wire_bytes[CC_SENDER_AUDIO];
        uint64_t pb = st->probe_bytes - r->sprev.probe_bytes;
        cc_bwe_stats bs;
        int have = cc_sender_get_bwe_stats(snd, &bs) == 0;
        CC_DEBUG("publish",
                 "rate: wire video %.0f (probes %.0f) audio %.0f kbit/s, encoder out %.0f "
                 "kbit/s (set %d, %llu keyframes), target %u acked %u kbit/s, rtt %lld ms, "
                 "loss %.1f %%, queue %lld ms, feedback %llu",
                 (double)vw * k, (double)pb * k, (double)aw * k,
                 (double)(enc - r->enc_bytes_prev) * k, r->video_kbps,
                 (unsigned long long)(kf - r->enc_kf_prev),
                 st->target_bps / 1000, have ? bs.acked_bps / 1000 : 0,
                 have ? (long long)(bs.rtt / 1000) : 0LL, have ? bs.loss * 100 : 0.0,
                 have ? (long long)(bs.queue_delay / 1000) : 0LL,
                 (unsigned long long)st->twcc_feedback);
    }
    r->sprev = *st;
    r->enc_bytes_prev = enc;
    r->enc_kf_prev = kf;
    r->last_stats = now;
    r->next_stats = now + STATS_INTERVAL;
}

/* Simulcast rid-ids, lowest first (the order of the offer's
 * a=simulcast:send, as Chromium writes it and the SFU reads it): the
 * names the teacher page gives its camera's two (h, f) and Chromium's
 * three-encoding offers use (q, h, f), so logs read the same. */
static const char *const k_rids2[2] = {"h", "f"};
static const char *const k_rids3[3] = {"q", "h", "f"};

static const char *const *rids_for(int n) { return n == 3 ? k_rids3 : k_rids2; }

/* How many simulcast encodings the video source gets: --simulcast N for
 * a camera; by default 3 for a camera of at least 640x360 whose sizes
 * halve to even numbers down to a quarter, as `serve` sends its own
 * camera (src/signal/control_capture.c), else 1. A size that cannot take
 * the count asked for: cc_source_new says so and makes one, as for
 * `serve --source`. The screen is always one encoding (text is read at
 * full size, and its unchanged-picture skipping works on one picture). */
static int video_encodings(const cc_publish_config *cfg, int slot, const char *name)
{
    if (slot != CC_SLOT_CAMERA) {
        if (cfg->simulcast > 1)
            fprintf(stderr, "classcast-publish: %s: a screen is sent as one encoding "
                            "(--simulcast %d does not apply)\n", name, cfg->simulcast);
        return 1;
    }
    if (cfg->simulcast > 0)
        return cfg->simulcast;
    int w = cfg->width > 0 ? cfg->width : 1280, h = cfg->height > 0 ? cfg->height : 720;
    return w >= 640 && h >= 360 && w % 8 == 0 && h % 8 == 0 ? 3 : 1;
}

/* The encodings the answer takes (RFC 8853 section 5.3.2: the streams of
 * its a=simulcast:recv, a "~" one paused), as indexes into ours, lowest
 * first: how many (0: no simulcast, fewer than two taken or no rid
 * extension kept to tell them apart). */
static int sim_taken(const cc_sdp_answer_media *m, int n_enc, int take[CC_SENDER_MAX_ENC])
{
    int n = 0;
    if (n_enc < 2 || !m->present || m->n_sim < 2 || m->ext_rid <= 0 || m->ext_rid > 14)
        return 0;
    const char *const *rids = rids_for(n_enc);
    for (int k = 0; k < n_enc; k++)
        for (int j = 0; j < m->n_sim; j++)
            if (!m->sim_paused[j] && strcmp(m->sim[j], rids[k]) == 0) {
                take[n++] = k;
                break;
            }
    return n >= 2 ? n : 0;
}

int cc_publish_run(const cc_publish_config *cfg)
{
    int rc = 0;
    pub_src ps[2] = {{.efd = -1}, {.efd = -1}}; /* [0] video, [1] audio */
    cc_pkt_pool *pool = NULL;
    cc_dtls_ctx *dtls = NULL;
    cc_udp *udp = NULL;
    cc_client *client = NULL;
    cc_sender *sender = NULL;
    cc_sdp_answer_info *ai = NULL;
    char location[CC_WHIPC_URL_MAX] = "";
    char *offer = NULL;
    pub_rate rate;
    memset(&rate, 0, sizeof rate);
    /* The video source's settings, kept to make it again with one
     * encoding if the answer takes no simulcast. */
    cc_source_config vsc;
    char dispvar[300];
    memset(&vsc, 0, sizeof vsc);

    cc_whipc_global_init();
    if ((rc = cc_srtp_global_init()) != 0 || (rc = cc_dtls_ctx_new(&dtls)) != 0 ||
        (rc = cc_pkt_pool_new(&pool, 2048)) != 0) {
        fprintf(stderr, "classcast-publish: cannot initialise crypto or memory\n");
        goto out;
    }
    /* Sources. */
    char list[512];
    snprintf(list, sizeof list, "%s", cfg->sources ? cfg->sources : "");
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int slot = cc_source_default_slot(tok);
        int k = slot == CC_SLOT_MIC ? 1 : 0;
        if (ps[k].src) {
            fprintf(stderr, "classcast-publish: one video and one audio source per WHIP session ('%s' is one too many)\n", tok);
            rc = CC_EINVAL;
            goto out;
        }
        char err[1024] = "";
        cc_source_config sc = {
            .pipelines_dir = cfg->pipelines_dir,
            .name = tok,
            .slot = slot,
            .width = cfg->width,
            .height = cfg->height,
            .fps = cfg->fps,
            .bitrate_kbps = k == 0 ? cfg->video_kbps : 0,
            .encodings = k == 0 ? video_encodings(cfg, slot, tok) : 0,
            .pool = pool,
            .emit = pub_emit,
            .ud = &ps[k],
        };
        if (cfg->display) {
            snprintf(dispvar, sizeof dispvar, "DISPLAY=%s", cfg->display);
            sc.vars[0] = dispvar;
        }
        /* The same default as cc_source_new's (source.h). */
        if (k == 0)
            rate.video_max_kbps = cfg->video_kbps > 0 ? cfg->video_kbps
                                  : slot == CC_SLOT_SCREEN ? 1500 : 1000;
        if ((rc = cc_ring_new(&ps[k].ring, 1024)) != 0)
            goto out;
        ps[k].efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if ((rc = cc_source_new(&ps[k].src, &sc, err, sizeof err)) != 0) {
            fprintf(stderr, "classcast-publish: source '%s': %s\n", tok, err);
            goto out;
        }
        if (k == 0)
            vsc = sc; /* name points into list, which lives on */
    }
    /* The video's encodings as the source makes them, smallest first. */
    uint32_t src_ssrc[CC_SENDER_MAX_ENC] = {0};
    int n_enc = ps[0].src ? cc_source_ssrcs(ps[0].src, src_ssrc, CC_SENDER_MAX_ENC) : 0;
    if (!ps[0].src && !ps[1].src) {
        fprintf(stderr, "classcast-publish: name at least one --source\n");
        rc = CC_EINVAL;
        goto out;
    }
    /* Socket, offer, POST, answer. */
    cc_addr bind;
    if (cc_addr_from_string(&bind, cfg->bind ? cfg->bind : "0.0.0.0", 0) != 0) {
        fprintf(stderr, "classcast-publish: --bind is not an IP address\n");
        rc = CC_EINVAL;
        goto out;
    }
    if ((rc = cc_udp_open(&udp, &bind)) != 0) {
        fprintf(stderr, "classcast-publish: cannot open a UDP socket\n");
        goto out;
    }
    char ufrag[CC_ICE_UFRAG_LEN + 1], pwd[CC_ICE_PWD_LEN + 1], cname[17];
    cc_ice_make_credentials(ufrag, pwd);
    cc_rand_token(cname, 16);
    uint32_t vssrc = cc_rand_u32() | 1, assrc = cc_rand_u32() | 2;
    cc_sdp_offer_params op = {
        .ice_ufrag = ufrag, .ice_pwd = pwd,
        .fingerprint = cc_dtls_ctx_fingerprint(dtls),
        .send = 1, .video = ps[0].src != NULL, .audio = ps[1].src != NULL,
        .video_ssrc = vssrc, .audio_ssrc = assrc,
        .cname = cname, .stream_id = "classcast-publish",
        .transport_cc = 1,
        .n_rids = n_enc >= 2 ? n_enc : 0,
    };
    for (int k = 0; k < op.n_rids; k++)
        op.rids[k] = rids_for(n_enc)[k];
    if ((rc = cc_sdp_offer_write(&op, &offer)) != 0) {
        fprintf(stderr, "classcast-publish: could not write the offer\n");
        goto out;
    }
    cc_whipc_result res;
    rc = cc_whipc_post(cfg->whip_url, cfg->token, offer, 10000, &res);
    if (rc != 0) {
        fprintf(stderr, "classcast-publish: WHIP POST failed: %s\n", res.error);
        cc_whipc_result_clear(&res);
        goto out;
    }
    snprintf(location, sizeof location, "%s", res.location);
    ai = calloc(1, sizeof *ai);
    if (!ai || (rc = cc_sdp_answer_read(res.body, res.body_len, ai)) != 0) {
        fprintf(stderr, "classcast-publish: unusable answer: %s\n", ai ? ai->error : "out of memory");
        cc_whipc_result_clear(&res);
        rc = rc ? rc : CC_ENOMEM;
        goto out;
    }
    cc_whipc_result_clear(&res);
    /* Simulcast as answered. Without it (a server that takes one stream,
     * RFC 8853 section 5.3: the offerer then sends one), the camera is
     * made again as one encoding at full size: no SSRC goes out that the
     * answer did not take, and the one stream gets the whole rate. */
    int take[CC_SENDER_MAX_ENC] = {0};
    int n_take = sim_taken(&ai->video, n_enc, take);
    if (n_enc >= 2 && n_take == 0) {
        char err[1024] = "";
        cc_source_free(ps[0].src);
        ps[0].src = NULL;
        vsc.encodings = 0;
        if ((rc = cc_source_new(&ps[0].src, &vsc, err, sizeof err)) != 0) {
            fprintf(stderr, "classcast-publish: source '%s': %s\n", vsc.name, err);
            goto out;
        }
        fprintf(stderr, "classcast-publish: the answer takes no simulcast: the camera goes "
                        "out as one encoding\n");
        n_enc = 1;
    } else if (n_take) {
        char rl[64] = "";
        for (int j = 0; j < n_take; j++)
            snprintf(rl + strlen(rl), sizeof rl - strlen(rl), "%s%s", j ? ";" : "",
                     rids_for(n_enc)[take[j]]);
        fprintf(stderr, "classcast-publish: simulcast: %d encodings (%s) of %dx%d%s\n",
                n_take, rl, vsc.width > 0 ? vsc.width : 1280,
                vsc.height > 0 ? vsc.height : 720,
                n_take < n_enc ? "; the answer left the others out: not sent" : "");
    }
    cc_time_us now = cc_clock_mono_us();
    cc_client_config cc = {
        .dtls_ctx = dtls,
        .local_ufrag = ufrag, .local_pwd = pwd,
        .remote_ufrag = ai->ice_ufrag, .remote_pwd = ai->ice_pwd,
        .remote_fp_alg = ai->fp_alg, .remote_fp = ai->fp,
        .remote = ai->candidate,
        .dtls_server = strcmp(ai->setup, "active") == 0,
        .connect_timeout = 15 * CC_USEC_PER_SEC,
    };
    if ((rc = cc_client_new(&client, &cc, now)) != 0) {
        fprintf(stderr, "classcast-publish: bad answer credentials\n");
        goto out;
    }
    cc_sender_config sc = {.client = client, .cname = cname};
    for (int k = 0; k < 2; k++) {
        const cc_sdp_answer_media *m = k == 0 ? &ai->video : &ai->audio;
        if (!ps[k].src || !m->present)
            continue;
        /* draft-holmer-rmcat-transport-wide-cc-extensions-01 section 4:
         * both the extmap and the rtcp-fb must survive the answer. */
        int twcc = (m->fb & CC_FB_TWCC) ? m->ext_twcc : 0;
        sc.streams[k] = (cc_sender_stream_config){
            .enabled = 1, .ssrc = k == 0 ? vssrc : assrc, .pt = (uint8_t)m->pt,
            .clock_rate = k == 0 ? 90000 : 48000, .mid = m->mid,
            .ext_mid = m->ext_mid, .ext_abs_send_time = m->ext_abs_send_time,
            .ext_twcc = twcc,
            .src = {.ud = &ps[k], .next = ring_next, .keyframe = k == 0 ? ring_keyframe : NULL},
        };
        if (k == 0 && n_take) {
            /* Each encoding an SSRC of its own (RFC 8853 section 3: one
             * RTP stream per simulcast stream), bound by the receiver
             * through mid and rid (not signalled); the largest keeps
             * vssrc. */
            sc.streams[0].n_enc = n_take;
            sc.streams[0].ext_rid = m->ext_rid;
            for (int j = 0; j < n_take; j++) {
                uint32_t ssrc = vssrc;
                for (int again = 1; j < n_take - 1 && again;) {
                    ssrc = cc_rand_u32();
                    again = ssrc == 0 || ssrc == vssrc || ssrc == assrc;
                    for (int i = 0; i < j; i++)
                        again |= sc.streams[0].enc[i].ssrc == ssrc;
                }
                sc.streams[0].enc[j] = (cc_sender_encoding){
                    .ssrc = ssrc, .src_ssrc = src_ssrc[take[j]],
                    .rid = rids_for(n_enc)[take[j]],
                };
            }
        }
        rate.on |= twcc != 0;
    }
    rate_config(&rate, sc.streams[0].enabled, sc.streams[1].enabled, &sc.bwe);
    if ((rc = cc_sender_new(&sender, &sc, now)) != 0) {
        fprintf(stderr, "classcast-publish: cannot start sending\n");
        goto out;
    }
    for (int k = 0; k < 2; k++)
        if (ps[k].src && (rc = cc_source_start(ps[k].src)) != 0) {
            cc_source_stats st;
            cc_source_get_stats(ps[k].src, &st);
            fprintf(stderr, "classcast-publish: source did not start: %s\n", st.capture.last_error);
            goto out;
        }
    fprintf(stderr, "classcast-publish: sending to %s (session %s)\n", cfg->whip_url, location);
    if (rate.on)
        fprintf(stderr, "classcast-publish: transport-cc negotiated: the encoders follow "
                        "the estimate (up to %u kbit/s)\n", rate.max_bps / 1000);
    else
        fprintf(stderr, "classcast-publish: no transport-cc in the answer: fixed bitrates\n");
    rate.video_kbps = rate.video_max_kbps;
    rate.audio_kbps = AUDIO_FULL_KBPS; /* cc_opusenc_config_default's */
    rate.last_apply = now;
    rate.next_apply = now + RATE_INTERVAL;
    rate.probe_gap = PROBE_GAP_MIN;
    rate.next_probe = now + PROBE_GAP_MIN;

    /* Run loop: socket, the sources' eventfds, the sender's deadline. */
    cc_time_us end = cfg->duration_s > 0 ? now + (cc_time_us)(cfg->duration_s * CC_USEC_PER_SEC)
                                         : CC_TIME_NEVER;
    int was_connected = 0;
    while (!(cfg->stop && *cfg->stop)) {
        now = cc_clock_mono_us();
        if (now >= end)
            break;
        cc_client_state cs = cc_client_get_state(client);
        if (cs == CC_CLIENT_CONNECTED && !was_connected) {
            was_connected = 1;
            fprintf(stderr, "classcast-publish: connected (%s)\n",
                    cc_srtp_profile_name(cc_client_srtp_profile(client)));
        }
        if (cs == CC_CLIENT_FAILED || cs == CC_CLIENT_CLOSED) {
            fprintf(stderr, "classcast-publish: transport %s: %s\n", cc_client_state_name(cs),
                    cc_client_error(client));
            rc = CC_ECLOSED;
            break;
        }
        if (cc_sender_deadline(sender, now) <= now)
            cc_sender_handle_timeout(sender, now);
        if (cs == CC_CLIENT_CONNECTED) {
            rate_apply(&rate, sender, ps, now);
            rate_log(&rate, sender, ps, now);
        }
        size_t len;
        cc_addr to;
        for (int i = 0; i < 256; i++) {
            uint8_t *slot = cc_udp_tx_slot(udp);
            if (cc_sender_poll(sender, now, slot, CC_UDP_TX_BUF, &len, &to) != 0)
                break;
            cc_udp_tx_commit(udp, len, &to);
        }
        cc_udp_flush(udp);
        cc_time_us dl = cc_sender_deadline(sender, now);
        int timeout_ms = dl == CC_TIME_NEVER ? 100 : (int)((dl - now) / 1000);
        if (timeout_ms < 0)
            timeout_ms = 0;
        if (timeout_ms > 100)
            timeout_ms = 100;
        struct pollfd pfd[3] = {{.fd = cc_udp_fd(udp), .events = POLLIN},
                                {.fd = ps[0].efd, .events = POLLIN},
                                {.fd = ps[1].efd, .events = POLLIN}};
        poll(pfd, 3, timeout_ms);
        for (int k = 0; k < 2; k++)
            if (ps[k].efd >= 0 && (pfd[1 + k].revents & POLLIN)) {
                uint64_t v;
                ssize_t r = read(ps[k].efd, &v, sizeof v);
                (void)r;
            }
        if (pfd[0].revents & POLLIN) {
            cc_udp_dgram *d;
            int n = cc_udp_recv(udp, &d);
            now = cc_clock_mono_us();
            for (int i = 0; i < n; i++)
                if (!d[i].truncated)
                    cc_sender_handle(sender, cc_demux_classify(d[i].data, d[i].len),
                                     d[i].data, d[i].len, &d[i].from, now);
        }
    }
    if (rc == 0) {
        const cc_sender_stats *st = cc_sender_get_stats(sender);
        fprintf(stderr, "classcast-publish: sent %llu video and %llu audio packets, "
                        "%llu NACKed packets resent, %llu keyframe requests\n",
                (unsigned long long)st->packets[CC_SENDER_VIDEO],
                (unsigned long long)st->packets[CC_SENDER_AUDIO],
                (unsigned long long)st->resent, (unsigned long long)st->pli_received);
        if (n_take) {
            char per[160] = "";
            for (int j = 0; j < n_take; j++)
                snprintf(per + strlen(per), sizeof per - strlen(per), "%s%s %llu (%llu resent)",
                         j ? ", " : "", rids_for(n_enc)[take[j]],
                         (unsigned long long)st->enc_packets[j],
                         (unsigned long long)st->enc_resent[j]);
            fprintf(stderr, "classcast-publish: video packets per encoding: %s\n", per);
        }
        if (rate.on)
            fprintf(stderr, "classcast-publish: estimate %u kbit/s from %llu transport-cc "
                            "feedback packets (%llu unusable), video at %d kbit/s after %llu "
                            "changes, %llu probe packets; resends held back: %llu within an "
                            "RTT, %llu over the budget\n",
                    st->target_bps / 1000, (unsigned long long)st->twcc_feedback,
                    (unsigned long long)st->twcc_feedback_bad, rate.video_kbps,
                    (unsigned long long)rate.changes, (unsigned long long)st->probe_packets,
                    (unsigned long long)st->resend_suppressed,
                    (unsigned long long)st->resend_budget);
    }
out:
    for (int k = 0; k < 2; k++)
        cc_source_stop(ps[k].src);
    if (location[0])
        cc_whipc_delete(location, cfg->token, 2000);
    cc_sender_free(sender);
    cc_client_free(client);
    cc_udp_close(udp);
    for (int k = 0; k < 2; k++) {
        cc_source_free(ps[k].src);
        cc_pkt *p;
        while (ps[k].ring && (p = cc_ring_pop(ps[k].ring)))
            cc_pkt_unref(p);
        cc_ring_free(ps[k].ring);
        if (ps[k].efd >= 0)
            close(ps[k].efd);
    }
    free(ai);
    free(offer);
    cc_pkt_pool_free(pool);
    cc_dtls_ctx_free(dtls);
    cc_whipc_global_cleanup();
    return rc;
}
