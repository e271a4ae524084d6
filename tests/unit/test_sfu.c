/* The SFU app end to end through a real worker on 127.0.0.1: in-process
 * "browsers" (UDP socket + STUN check + DTLS client + SRTP, driven the way
 * Chromium drives them) offer captured Chromium 156 SDP (tests/vectors),
 * take the answers from cc_sfu_prepare_*, and check what a browser would:
 * SSRCs and payload types as answered, a keyframe request on join, the
 * fan-out rewritten (no extensions, continuous numbering), SR + SDES to
 * subscribers, RR + REMB to the publisher, NACK answered with the same
 * packet, a student's RTP dropped, a second publisher taking over with the
 * numbering continuing, events, and room close. Real time: ~4 s. */
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cc_test.h"
#include "classcast/dtls.h"
#include "classcast/err.h"
#include "classcast/rtcp.h"
#include "classcast/rtp.h"
#include "classcast/sfu.h"
#include "classcast/srtp.h"
#include "classcast/stun.h"
#include "classcast/vp8.h"

#define PUB_VIDEO_SSRC 3107795472u
#define PUB_AUDIO_SSRC 759283298u

typedef struct browser {
    int fd;
    cc_addr addr;
    cc_dtls *dtls;
    cc_srtp *srtp;
    char ufrag[16], pwd[32];
    char s_ufrag[64], s_pwd[64];
    cc_sdp_offer *answer;
    /* Outgoing SSRC / PT per answered m-line (subscribers). */
    uint32_t video_ssrc, audio_ssrc;
    int video_pt, audio_pt;
    /* What came in. */
    int n_rtp_video, n_rtp_audio, n_sr, n_rr, n_remb, n_pli, n_nack;
    int n_pad_video;              /* padding-only packets on the video SSRC */
    int tid_seen[4];              /* media packets per temporal layer */
    uint32_t sr_ssrc_ok, sr_ssrc_bad;
    uint16_t last_video_seq;
    int bad_video;
    int first_video_key;
    uint8_t last_pkt[1500];
    size_t last_len;
    uint16_t seen_seq[64];
    int n_seen;
    /* Simulated loss: drop the next video packet, keep its SRTP bytes. */
    int drop_next_video;
    int dropped;
    uint16_t dropped_seq;
    uint8_t dropped_srtp[1600];
    size_t dropped_len;
    int rtx_match;
} browser;

static cc_dtls_ctx *g_server_ctx, *g_browser_ctx;
static cc_worker *g_w;
static cc_sfu *g_sfu;
static cc_mailbox *g_events;
static cc_sfu_params g_params;

static char *replace_all(const char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    for (const char *p = strstr(s, from); p; p = strstr(p + fl, from))
        n++;
    char *out = malloc(strlen(s) + n * (tl + 1) + 1), *o = out;
    for (const char *p = s;;) {
        const char *q = strstr(p, from);
        if (!q) {
            strcpy(o, p);
            break;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
        p = q + fl;
    }
    return out;
}

/* A captured offer with our browser's fingerprint and ICE credentials. */
static char *offer_text(const char *vector, browser *b, const char *ssrc_suffix)
{
    size_t len;
    char *t = cc_test_read_file(cc_test_vector(vector), &len);
    CC_CHECK(t != NULL);
    if (!t)
        return NULL;
    cc_sdp_offer *o = calloc(1, sizeof *o);
    CC_CHECK_EQ(cc_sdp_parse(t, len, o), 0);
    char *a = replace_all(t, o->media[0].fp, cc_dtls_ctx_fingerprint(g_browser_ctx));
    char ul[300], ub[300], pl[300], pb[300];
    snprintf(ul, sizeof ul, "a=ice-ufrag:%s", o->media[0].ice_ufrag);
    snprintf(ub, sizeof ub, "a=ice-ufrag:%s", b->ufrag);
    snprintf(pl, sizeof pl, "a=ice-pwd:%s", o->media[0].ice_pwd);
    snprintf(pb, sizeof pb, "a=ice-pwd:%s", b->pwd);
    char *c = replace_all(a, ul, ub);
    char *d = replace_all(c, pl, pb);
    if (ssrc_suffix) {
        /* A reloaded page: same offer, other SSRCs. */
        free(a);
        free(c);
        a = replace_all(d, "3107795472", "3107795999");
        c = replace_all(a, "759283298", "759283777");
        free(d);
        d = c;
        c = NULL;
    }
    free(a);
    free(c);
    free(o);
    free(t);
    return d;
}

static void browser_init(browser *b, int n)
{
    memset(b, 0, sizeof *b);
    snprintf(b->ufrag, sizeof b->ufrag, "brw%d", n);
    snprintf(b->pwd, sizeof b->pwd, "browserpasswordbrowser%02d", n);
    b->fd = socket(AF_INET, SOCK_DGRAM, 0);
    cc_addr_from_string(&b->addr, "127.0.0.1", 0);
    bind(b->fd, &b->addr.u.sa, b->addr.len);
    b->answer = calloc(1, sizeof *b->answer);
}

static void browser_free(browser *b)
{
    close(b->fd);
    cc_dtls_free(b->dtls);
    cc_srtp_free(b->srtp);
    free(b->answer);
}

static void bsend(browser *b, const uint8_t *buf, size_t len)
{
    const cc_addr *to = cc_worker_local(g_w);
    sendto(b->fd, buf, len, 0, &to->u.sa, to->len);
}

static void send_check(browser *b)
{
    uint8_t buf[512], txid[12];
    char user[128];
    for (int i = 0; i < 12; i++)
        txid[i] = (uint8_t)(i * 7 + b->ufrag[3]);
    snprintf(user, sizeof user, "%s:%s", b->s_ufrag, b->ufrag);
    cc_stun_builder sb;
    cc_stun_build_start(&sb, buf, sizeof buf, CC_STUN_BINDING_REQUEST, txid);
    cc_stun_build_attr(&sb, CC_STUN_ATTR_USERNAME, user, (uint16_t)strlen(user));
    cc_stun_build_u32(&sb, CC_STUN_ATTR_PRIORITY, 2122260223u);
    cc_stun_build_u64(&sb, CC_STUN_ATTR_ICE_CONTROLLING, 0x1122334455667788ull);
    cc_stun_build_attr(&sb, CC_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    cc_stun_build_integrity(&sb, (const uint8_t *)b->s_pwd, strlen(b->s_pwd));
    cc_stun_build_fingerprint(&sb);
    size_t len = 0;
    cc_stun_build_finish(&sb, &len);
    bsend(b, buf, len);
}

static void on_rtcp_in(browser *b, const uint8_t *buf, size_t len)
{
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    cc_rtcp_iter_init(&it, buf, len);
    while (cc_rtcp_next(&it, &p) == 1) {
        if (p.pt == CC_RTCP_SR) {
            cc_rtcp_sr sr;
            if (cc_rtcp_parse_sr(&p, &sr) == 0) {
                b->n_sr++;
                if (sr.ssrc == b->video_ssrc || sr.ssrc == b->audio_ssrc)
                    b->sr_ssrc_ok++;
                else
                    b->sr_ssrc_bad++;
            }
        } else if (p.pt == CC_RTCP_RR) {
            b->n_rr++;
        } else if (p.pt == CC_RTCP_PSFB && p.count == CC_PSFB_PLI) {
            cc_rtcp_fb fb;
            if (cc_rtcp_parse_fb(&p, &fb) == 0 && fb.media_ssrc != 0)
                b->n_pli++;
        } else if (p.pt == CC_RTCP_PSFB && p.count == CC_PSFB_AFB) {
            b->n_remb++;
        } else if (p.pt == CC_RTCP_RTPFB && p.count == CC_RTPFB_NACK) {
            b->n_nack++;
        }
    }
}

static void on_rtp_in(browser *b, const uint8_t *buf, size_t len)
{
    cc_rtp_hdr h;
    if (cc_rtp_parse(buf, len, &h) != 0) {
        b->bad_video++;
        return;
    }
    if (h.ssrc == b->video_ssrc) {
        cc_vp8_desc d;
        if (h.payload_len == 0 && h.padding && h.pt == b->video_pt)
            b->n_pad_video++; /* a thinned picture's place holder */
        else if (h.pt != b->video_pt || h.extension || h.payload_len == 0 ||
                 cc_vp8_parse(h.payload, h.payload_len, &d) != 0)
            b->bad_video++;
        else {
            if (b->n_rtp_video == 0)
                b->first_video_key = d.keyframe;
            if (d.has_tid)
                b->tid_seen[d.tid & 3]++;
        }
        /* Continuous numbering: each new packet is the next seq (a repair
         * fills an older one). */
        if (b->n_rtp_video == 0 || cc_seq_newer(h.seq, b->last_video_seq)) {
            if (b->n_rtp_video > 0 && h.seq != (uint16_t)(b->last_video_seq + 1))
                b->bad_video++;
            b->last_video_seq = h.seq;
        }
        b->n_rtp_video++;
        memcpy(b->last_pkt, buf, len);
        b->last_len = len;
        if (b->n_seen < 64)
            b->seen_seq[b->n_seen++] = h.seq;
    } else if (h.ssrc == b->audio_ssrc && h.pt == b->audio_pt) {
        b->n_rtp_audio++;
    } else {
        b->bad_video++;
    }
}

/* Read what arrived for this browser (up to wait_ms). */
static void pump(browser *b, int wait_ms)
{
    uint8_t buf[2048];
    cc_time_us end = cc_clock_mono_us() + wait_ms * CC_USEC_PER_MSEC;
    for (;;) {
        cc_time_us now = cc_clock_mono_us();
        if (b->dtls)
            cc_dtls_handle_timeout(b->dtls, now);
        size_t len;
        while (b->dtls && cc_dtls_poll_output(b->dtls, buf, sizeof buf, &len) == 0)
            bsend(b, buf, len);
        if (now >= end)
            break;
        struct pollfd pf = {.fd = b->fd, .events = POLLIN};
        int left = (int)((end - now) / 1000);
        if (poll(&pf, 1, left < 5 ? left : 5) <= 0)
            continue;
        ssize_t n = recv(b->fd, buf, sizeof buf, 0);
        if (n <= 0)
            continue;
        cc_demux_kind k = cc_demux_classify(buf, (size_t)n);
        if (k == CC_DEMUX_DTLS && b->dtls) {
            cc_dtls_handle_input(b->dtls, buf, (size_t)n, now);
            if (!b->srtp && cc_dtls_get_state(b->dtls) == CC_DTLS_CONNECTED) {
                cc_srtp_keys keys;
                if (cc_dtls_get_srtp_keys(b->dtls, &keys) == 0)
                    cc_srtp_new(&b->srtp, &keys);
            }
        } else if ((k == CC_DEMUX_RTP || k == CC_DEMUX_RTCP) && b->srtp) {
            size_t plain;
            cc_rtp_hdr ch;
            /* The RTP header travels in the clear (RFC 3711 3.1). */
            if (k == CC_DEMUX_RTP && cc_rtp_parse(buf, (size_t)n, &ch) == 0 &&
                ch.ssrc == b->video_ssrc) {
                if (b->drop_next_video) {
                    b->drop_next_video = 0;
                    b->dropped = 1;
                    b->dropped_seq = ch.seq;
                    memcpy(b->dropped_srtp, buf, (size_t)n);
                    b->dropped_len = (size_t)n;
                    continue;
                }
                /* Same key, seq and plaintext: same SRTP bytes. */
                if (b->dropped && ch.seq == b->dropped_seq)
                    b->rtx_match = (size_t)n == b->dropped_len &&
                                   memcmp(buf, b->dropped_srtp, (size_t)n) == 0;
            }
            if (k == CC_DEMUX_RTCP) {
                if (cc_srtp_unprotect_rtcp(b->srtp, buf, (size_t)n, &plain) == 0)
                    on_rtcp_in(b, buf, plain);
            } else if (cc_srtp_unprotect_rtp(b->srtp, buf, (size_t)n, &plain) == 0) {
                on_rtp_in(b, buf, plain);
            }
        }
    }
}

static void pump_all(browser **bs, int n, int ms)
{
    for (int t = 0; t < ms; t += 10)
        for (int i = 0; i < n; i++)
            if (bs[i])
                pump(bs[i], 10 / n > 0 ? 10 / n : 1);
}

/* Offer, answer, add the peer, connect. */
static void join(browser *b, const char *vector, int publisher, uint32_t member,
                 const char *ssrc_suffix)
{
    char *offer = offer_text(vector, b, ssrc_suffix);
    char *answer = NULL, err[256];
    cc_worker_msg_add *msg = NULL;
    int rc = publisher
                 ? cc_sfu_prepare_publisher(offer, strlen(offer), &g_params, 1,
                                            member, NULL, 0, &answer, &msg, err,
                                            sizeof err)
                 : cc_sfu_prepare_subscriber(offer, strlen(offer), &g_params, 1,
                                             member, NULL, 0, &answer, &msg,
                                             err, sizeof err);
    CC_CHECK_EQ(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "prepare: %s\n", err);
        free(offer);
        return;
    }
    CC_CHECK_EQ(cc_sdp_parse(answer, strlen(answer), b->answer), 0);
    for (int i = 0; i < b->answer->n_media; i++) {
        const cc_sdp_media *m = &b->answer->media[i];
        if (m->port == 0)
            continue;
        CC_CHECK_EQ(m->direction, publisher ? CC_DIR_RECVONLY : CC_DIR_SENDONLY);
        snprintf(b->s_ufrag, sizeof b->s_ufrag, "%s", m->ice_ufrag);
        snprintf(b->s_pwd, sizeof b->s_pwd, "%s", m->ice_pwd);
        CC_CHECK_EQ(m->n_extmaps, publisher ? (m->kind == CC_MEDIA_AUDIO ? 2 : 1) : 1);
        if (publisher) {
            CC_CHECK_EQ(m->n_ssrcs, 0);
            if (m->kind == CC_MEDIA_VIDEO)
                CC_CHECK(m->codecs[0].fb & CC_FB_REMB);
        } else {
            CC_CHECK_EQ(m->n_ssrcs, 1);
            CC_CHECK(strstr(m->msid, "lesson-1") != NULL);
            if (m->kind == CC_MEDIA_VIDEO) {
                b->video_ssrc = m->ssrcs[0];
                b->video_pt = m->codecs[0].pt;
                CC_CHECK(strstr(m->msid, "camera") != NULL);
            } else {
                b->audio_ssrc = m->ssrcs[0];
                b->audio_pt = m->codecs[0].pt;
                CC_CHECK(strstr(m->msid, "mic") != NULL);
            }
        }
        CC_CHECK_EQ(m->n_codecs, 1); /* no RTX */
    }
    CC_CHECK_EQ(cc_worker_post(g_w, &msg->hdr), 0);
    CC_CHECK_EQ(cc_dtls_new(&b->dtls, g_browser_ctx, 0, "sha-256",
                            cc_dtls_ctx_fingerprint(g_server_ctx)), 0);
    usleep(20000); /* the worker takes the add-peer message */
    send_check(b);
    pump(b, 20);
    cc_dtls_start(b->dtls, cc_clock_mono_us());
    for (int i = 0; i < 100 && !b->srtp; i++)
        pump(b, 20);
    CC_CHECK(b->srtp != NULL);
    free(offer);
    free(answer);
}

static void send_rtp(browser *b, uint8_t *pkt, size_t len)
{
    uint8_t buf[1600];
    memcpy(buf, pkt, len);
    size_t out;
    if (cc_srtp_protect_rtp(b->srtp, buf, len, sizeof buf, &out) == 0)
        bsend(b, buf, out);
}

static void send_rtcp(browser *b, const uint8_t *pkt, size_t len)
{
    uint8_t buf[1600];
    memcpy(buf, pkt, len);
    size_t out;
    if (cc_srtp_protect_rtcp(b->srtp, buf, len, sizeof buf, &out) == 0)
        bsend(b, buf, out);
}

/* One VP8 picture in two packets. tid < 0: as Chromium sends one layer,
 * with header extensions (mid id 4, abs-send-time id 2) and a PictureID;
 * tid >= 0: as Chromium sends L1T3, PictureID + TL0PICIDX + TID/Y (Y on
 * every picture above TL0), no extensions. */
static void send_vp8(browser *b, uint32_t ssrc, uint16_t *seq, uint32_t ts,
                     uint16_t pid, int key, int tid, uint8_t tl0)
{
    for (int k = 0; k < 2; k++) {
        uint8_t p[300];
        size_t n = 0;
        p[n++] = tid < 0 ? 0x90 : 0x80;
        p[n++] = (uint8_t)((k == 1 ? 0x80 : 0) | 96);
        p[n++] = (uint8_t)(*seq >> 8);
        p[n++] = (uint8_t)*seq;
        for (int i = 3; i >= 0; i--)
            p[n++] = (uint8_t)(ts >> (8 * i));
        for (int i = 3; i >= 0; i--)
            p[n++] = (uint8_t)(ssrc >> (8 * i));
        if (tid < 0) {
            p[n++] = 0xbe; p[n++] = 0xde; p[n++] = 0; p[n++] = 2;
            p[n++] = 0x40; p[n++] = '1';                        /* mid "1" */
            p[n++] = 0x22; p[n++] = 1; p[n++] = 2; p[n++] = 3;  /* abs-send-time */
            p[n++] = 0; p[n++] = 0;
        }
        p[n++] = (uint8_t)(0x80 | (k == 0 ? 0x10 : 0));        /* X, S */
        p[n++] = tid < 0 ? 0x80 : 0xe0;                        /* I (L T) */
        p[n++] = (uint8_t)(0x80 | (pid >> 8));
        p[n++] = (uint8_t)pid;
        if (tid >= 0) {
            p[n++] = tl0;
            p[n++] = (uint8_t)((tid & 3) << 6 | (tid > 0 ? 0x20 : 0));
        }
        static const uint8_t kt[] = {0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a};
        static const uint8_t it[] = {0x31, 0x42, 0x00, 0x11, 0x22, 0x33};
        memcpy(p + n, key ? kt : it, 6);
        n += 6;
        memset(p + n, 0x33, 200);
        n += 200;
        send_rtp(b, p, n);
        (*seq)++;
    }
}

static void send_frame(browser *b, uint32_t ssrc, uint16_t *seq, uint32_t ts,
                       uint16_t pid, int key)
{
    send_vp8(b, ssrc, seq, ts, pid, key, -1, 0);
}

static void send_audio(browser *b, uint32_t ssrc, uint16_t seq, uint32_t ts)
{
    uint8_t p[100];
    int n = cc_rtp_write_header(p, sizeof p, 111, 0, seq, ts, ssrc);
    memset(p + n, 0x44, 50);
    send_rtp(b, p, (size_t)n + 50);
}

static int count_events(int kind, unsigned *mask)
{
    int n = 0;
    for (cc_msg *m = cc_mailbox_drain(g_events); m;) {
        cc_msg *next = m->next;
        if (m->type == CC_SFU_EVENT) {
            cc_sfu_event *e = (cc_sfu_event *)m;
            if (e->kind == kind) {
                n++;
                if (mask)
                    *mask = e->active_slots;
            }
        }
        cc_msg_free(m);
        m = next;
    }
    return n;
}

static void test_room(void)
{
    browser pub, s1, s2, pub2;
    browser_init(&pub, 1);
    browser_init(&s1, 2);
    browser_init(&s2, 3);
    browser_init(&pub2, 4);
    CC_CHECK_EQ(cc_sfu_room_open(g_w, 1), 0);

    join(&pub, "chromium-offer-publisher.sdp", 1, 10, NULL);
    join(&s1, "chromium-offer-viewer.sdp", 0, 20, NULL);
    CC_CHECK_EQ(count_events(CC_SFU_EV_CONNECTED, NULL), 2);

    /* Inter frames first: the subscriber waits and the publisher gets a
     * keyframe request. */
    uint16_t vseq = 1000, aseq = 50;
    uint32_t vts = 90000, ats = 4800;
    uint16_t pid = 100;
    browser *all[4] = {&pub, &s1, &s2, NULL};
    for (int f = 0; f < 3; f++) {
        send_frame(&pub, PUB_VIDEO_SSRC, &vseq, vts, pid++, 0);
        send_audio(&pub, PUB_AUDIO_SSRC, aseq++, ats);
        vts += 3000;
        ats += 960;
        pump_all(all, 2, 30);
    }
    CC_CHECK(pub.n_pli >= 1);
    CC_CHECK_EQ(s1.n_rtp_video, 0);
    CC_CHECK(s1.n_rtp_audio >= 2); /* audio does not wait */
    for (int f = 0; f < 5; f++) {
        send_frame(&pub, PUB_VIDEO_SSRC, &vseq, vts, pid++, f == 0);
        vts += 3000;
        pump_all(all, 2, 30);
    }
    CC_CHECK_EQ(s1.n_rtp_video, 10);
    CC_CHECK_EQ(s1.first_video_key, 1);
    CC_CHECK_EQ(s1.bad_video, 0);
    unsigned mask = 0;
    CC_CHECK(count_events(CC_SFU_EV_MEDIA, &mask) >= 1);
    CC_CHECK_EQ(mask, (1u << CC_SLOT_CAMERA) | (1u << CC_SLOT_MIC));

    /* A late joiner gets a keyframe request sent on its behalf. */
    int plis = pub.n_pli;
    usleep(350000);
    join(&s2, "chromium-offer-viewer.sdp", 0, 21, NULL);
    pump_all(all, 3, 50);
    CC_CHECK(pub.n_pli > plis);
    send_frame(&pub, PUB_VIDEO_SSRC, &vseq, vts, pid++, 1);
    vts += 3000;
    /* Up to a second for the keyframe's two packets to arrive: a loaded
     * machine (the other core busy) can take longer than one pump. */
    for (int i = 0; i < 20 && s2.n_rtp_video < 2; i++)
        pump_all(all, 3, 50);
    CC_CHECK_EQ(s2.n_rtp_video, 2);
    CC_CHECK_EQ(s2.first_video_key, 1);
    CC_CHECK(s1.video_ssrc != s2.video_ssrc);

    /* s1 loses a packet and NACKs it: exactly the same packet comes back
     * (same SSRC and seq, no RTX). */
    s1.drop_next_video = 1;
    send_frame(&pub, PUB_VIDEO_SSRC, &vseq, vts, pid++, 0);
    vts += 3000;
    pump_all(all, 3, 50);
    CC_CHECK_EQ(s1.dropped, 1);
    uint16_t nseq = s1.dropped_seq;
    uint8_t nack[64];
    int nl = cc_rtcp_write_nack(nack, sizeof nack, 1, s1.video_ssrc, &nseq, 1);
    send_rtcp(&s1, nack, (size_t)nl);
    pump_all(all, 3, 50);
    CC_CHECK_EQ(s1.rtx_match, 1);
    s1.bad_video = 0; /* the hole before the repair */
    /* A NACK for something never sent is a counted miss. */
    uint16_t bogus = (uint16_t)(nseq + 100);
    nl = cc_rtcp_write_nack(nack, sizeof nack, 1, s1.video_ssrc, &bogus, 1);
    send_rtcp(&s1, nack, (size_t)nl);

    /* A student's RTP is dropped and counted. */
    send_audio(&s1, 1234, 1, 1);

    /* Reports: wait a little over a second. */
    for (int t = 0; t < 12; t++) {
        send_frame(&pub, PUB_VIDEO_SSRC, &vseq, vts, pid++, 0);
        vts += 3000;
        pump_all(all, 3, 100);
    }
    CC_CHECK(s1.n_sr >= 2);
    CC_CHECK_EQ(s1.sr_ssrc_bad, 0);
    CC_CHECK(pub.n_rr >= 1);
    CC_CHECK(pub.n_remb >= 1);
    CC_CHECK_EQ(s1.bad_video, 0);
    CC_CHECK_EQ(s2.bad_video, 0);

    /* Loss from the publisher: a gap becomes a NACK to it. */
    vseq += 2;
    send_frame(&pub, PUB_VIDEO_SSRC, &vseq, vts, pid++, 0);
    vts += 3000;
    pump_all(all, 3, 100);
    CC_CHECK(pub.n_nack >= 1);
    s1.bad_video = s2.bad_video = 0; /* the gap is forwarded as a gap */

    /* The teacher reloads: a new publisher with other SSRCs takes over;
     * subscribers keep their SSRC and their numbering continues. */
    uint16_t s1_last = s1.last_video_seq;
    s1.n_seen = 0;
    join(&pub2, "chromium-offer-publisher.sdp", 1, 11, "reload");
    browser *all2[4] = {&pub, &s1, &s2, &pub2};
    int plis2 = pub2.n_pli;
    uint16_t vseq2 = 40000;
    send_frame(&pub2, 3107795999u, &vseq2, 123, 5000, 0);
    pump_all(all2, 4, 60);
    CC_CHECK(pub2.n_pli > plis2);
    send_frame(&pub2, 3107795999u, &vseq2, 3123, 5001, 1);
    /* The old page still sends: superseded, not forwarded. */
    send_frame(&pub, PUB_VIDEO_SSRC, &vseq, vts, pid++, 0);
    pump_all(all2, 4, 60);
    CC_CHECK_EQ(s1.n_seen, 2);
    CC_CHECK_EQ(s1.seen_seq[0], (uint16_t)(s1_last + 1));
    CC_CHECK_EQ(s1.bad_video, 0);

    cc_sfu_stats st;
    cc_sfu_get_stats(g_sfu, &st);
    CC_CHECK_EQ(st.rooms, 1);
    CC_CHECK_EQ(st.publishers, 2);
    CC_CHECK_EQ(st.subscribers, 2);
    CC_CHECK_EQ(st.drop_from_subscriber, 1);
    CC_CHECK(st.rtx_sent >= 1);
    CC_CHECK(st.nack_cache_miss >= 1);
    CC_CHECK(st.nack_sent >= 1);
    CC_CHECK(st.drop_superseded >= 2);
    CC_CHECK(st.keyframe_waits >= 1);
    CC_CHECK(st.sr_sent >= 2);
    printf("rtp in %llu out %llu, pli %llu, rtx %llu, nack sent %llu\n",
           (unsigned long long)st.rtp_in, (unsigned long long)st.rtp_out,
           (unsigned long long)st.pli_sent, (unsigned long long)st.rtx_sent,
           (unsigned long long)st.nack_sent);

    /* Closing the room closes every peer. */
    count_events(0, NULL);
    CC_CHECK_EQ(cc_sfu_room_close(g_w, 1), 0);
    usleep(100000);
    CC_CHECK_EQ(count_events(CC_SFU_EV_CLOSED, NULL), 4);
    cc_sfu_get_stats(g_sfu, &st);
    CC_CHECK_EQ(st.rooms, 0);
    CC_CHECK_EQ(st.publishers, 0);
    CC_CHECK_EQ(st.subscribers, 0);
    CC_CHECK_EQ(cc_worker_peer_count(g_w), 0);
    browser_free(&pub);
    browser_free(&pub2);
    browser_free(&s1);
    browser_free(&s2);
}

/* A subscriber on a weak link: its receiver reports say 25 % lost, so the
 * SFU sends it TL0 only (TL1/TL2 pictures become padding under their own
 * sequence numbers: no gap, and the PictureIDs it gets stay consecutive);
 * a subscriber on a good link keeps all three layers. */
static void test_layers(void)
{
    browser pub, weak, good;
    browser_init(&pub, 11);
    browser_init(&weak, 12);
    browser_init(&good, 13);
    CC_CHECK_EQ(cc_sfu_room_open(g_w, 1), 0); /* join() uses room 1 */
    join(&pub, "chromium-offer-publisher.sdp", 1, 30, NULL);
    join(&weak, "chromium-offer-viewer.sdp", 0, 31, NULL);
    join(&good, "chromium-offer-viewer.sdp", 0, 32, NULL);
    browser *all[3] = {&pub, &weak, &good};
    uint16_t seq = 2000, pid = 500;
    uint32_t ts = 180000;
    int pic = 0;
    for (; pic < 8; pic++, ts += 3000) {
        static const int t[4] = {0, 2, 1, 2};
        send_vp8(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, pic == 0, t[pic % 4],
                 (uint8_t)(pic / 4));
        pump_all(all, 3, 20);
    }
    CC_CHECK_EQ(weak.n_rtp_video, 16);
    CC_CHECK_EQ(weak.n_pad_video, 0);
    cc_sfu_stats st0;
    cc_sfu_get_stats(g_sfu, &st0);
    /* Two reports of 25 % loss, 600 ms apart: 2 -> 1 -> 0. */
    for (int r = 0; r < 2; r++) {
        uint8_t rr_buf[128];
        cc_rtcp_rr rr = {.ssrc = 0x5eed0001, .n_reports = 1};
        rr.reports[0].ssrc = weak.video_ssrc;
        rr.reports[0].fraction_lost = 64;
        int n = cc_rtcp_write_rr(rr_buf, sizeof rr_buf, &rr);
        CC_CHECK(n > 0);
        send_rtcp(&weak, rr_buf, (size_t)n);
        pump_all(all, 3, 600);
    }
    cc_sfu_stats st;
    cc_sfu_get_stats(g_sfu, &st);
    CC_CHECK_EQ(st.layer_down - st0.layer_down, 2);
    int before_weak = weak.n_rtp_video, before_good = good.n_rtp_video;
    memset(weak.tid_seen, 0, sizeof weak.tid_seen);
    memset(good.tid_seen, 0, sizeof good.tid_seen);
    for (int k = 0; k < 16; k++, pic++, ts += 3000) {
        static const int t[4] = {0, 2, 1, 2};
        send_vp8(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, 0, t[pic % 4], (uint8_t)(pic / 4));
        pump_all(all, 3, 20);
    }
    /* 16 pictures, 2 packets each: the weak one got 4 TL0 pictures as
     * media and 12 as padding; the good one all of them. */
    CC_CHECK_EQ(weak.n_rtp_video - before_weak, 32);
    CC_CHECK_EQ(weak.tid_seen[0], 8);
    CC_CHECK_EQ(weak.tid_seen[1] + weak.tid_seen[2], 0);
    CC_CHECK_EQ(weak.n_pad_video, 24);
    CC_CHECK_EQ(good.n_rtp_video - before_good, 32);
    CC_CHECK_EQ(good.tid_seen[0], 8);
    CC_CHECK_EQ(good.tid_seen[1], 8);
    CC_CHECK_EQ(good.tid_seen[2], 16);
    CC_CHECK_EQ(weak.bad_video, 0); /* sequence numbers without a gap */
    CC_CHECK_EQ(good.bad_video, 0);
    CC_CHECK_EQ(cc_sfu_room_close(g_w, 1), 0);
    usleep(100000);
    count_events(0, NULL);
    browser_free(&pub);
    browser_free(&weak);
    browser_free(&good);
}

static void test_prepare_errors(void)
{
    char *answer = NULL, err[256];
    cc_worker_msg_add *msg = NULL;
    browser b;
    browser_init(&b, 9);
    /* A viewer offer (recvonly) cannot publish. */
    char *offer = offer_text("chromium-offer-viewer.sdp", &b, NULL);
    CC_CHECK(cc_sfu_prepare_publisher(offer, strlen(offer), &g_params, 1, 1,
                                      NULL, 0, &answer, &msg, err, sizeof err) < 0);
    CC_CHECK(answer == NULL && msg == NULL && err[0]);
    /* Explicit map: only the audio m-line as mic. The video line, the
     * first of the BUNDLE group (the one that carries its transport), is
     * kept in the group and marked inactive rather than rejected: Chromium
     * refuses an answer that rejects it. */
    cc_sfu_track_map map[1] = {{.mid = "1", .slot = CC_SLOT_MIC}};
    CC_CHECK_EQ(cc_sfu_prepare_subscriber(offer, strlen(offer), &g_params, 1, 1,
                                          map, 1, &answer, &msg, err, sizeof err), 0);
    cc_sdp_offer *a = calloc(1, sizeof *a);
    CC_CHECK_EQ(cc_sdp_parse(answer, strlen(answer), a), 0);
    CC_CHECK(a->media[0].port != 0);
    CC_CHECK_EQ(a->media[0].direction, CC_DIR_INACTIVE);
    CC_CHECK_EQ(a->media[0].n_ssrcs, 0);
    CC_CHECK(a->media[1].port != 0);
    CC_CHECK_EQ(a->media[1].direction, CC_DIR_SENDONLY);
    CC_CHECK_EQ(a->n_bundle, 2);
    free(a);
    free(answer);
    cc_msg_free(&msg->hdr);
    /* A map that puts audio on the camera slot leaves nothing. */
    cc_sfu_track_map bad[1] = {{.mid = "1", .slot = CC_SLOT_CAMERA}};
    CC_CHECK(cc_sfu_prepare_subscriber(offer, strlen(offer), &g_params, 1, 1,
                                       bad, 1, &answer, &msg, err, sizeof err) < 0);
    CC_CHECK(cc_sfu_prepare_subscriber("garbage", 7, &g_params, 1, 1, NULL, 0,
                                       &answer, &msg, err, sizeof err) < 0);
    CC_CHECK(strstr(err, "SDP") != NULL);
    free(offer);
    browser_free(&b);
}

int main(void)
{
    cc_srtp_global_init();
    CC_CHECK_EQ(cc_dtls_ctx_new(&g_server_ctx), 0);
    CC_CHECK_EQ(cc_dtls_ctx_new(&g_browser_ctx), 0);
    CC_CHECK_EQ(cc_sfu_new(&g_sfu), 0);
    CC_CHECK_EQ(cc_mailbox_new(&g_events), 0);
    cc_worker_config wc = {.app_ud = g_sfu, .events = g_events};
    cc_addr_from_string(&wc.bind, "127.0.0.1", 0);
    CC_CHECK_EQ(cc_worker_new(&g_w, &wc, g_server_ctx), 0);
    CC_CHECK_EQ(cc_worker_start(g_w), 0);
    g_params.fingerprint = cc_dtls_ctx_fingerprint(g_server_ctx);
    g_params.candidates[0] = *cc_worker_local(g_w);
    g_params.n_candidates = 1;

    CC_RUN(test_prepare_errors);
    CC_RUN(test_room);
    CC_RUN(test_layers);

    cc_worker_stop(g_w);
    cc_worker_free(g_w);
    cc_sfu_free(g_sfu);
    cc_mailbox_free(g_events);
    cc_dtls_ctx_free(g_server_ctx);
    cc_dtls_ctx_free(g_browser_ctx);
    CC_TEST_DONE();
}
