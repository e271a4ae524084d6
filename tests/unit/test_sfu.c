/* The SFU app end to end through a real worker on 127.0.0.1: in-process
 * "browsers" (UDP socket + STUN check + DTLS client + SRTP, driven the way
 * Chromium drives them) offer captured Chromium 156 SDP (tests/vectors),
 * take the answers from cc_sfu_prepare_*, and check what a browser would:
 * SSRCs and payload types as answered, a keyframe request on join, the
 * fan-out rewritten (no extensions, continuous numbering), SR + SDES to
 * subscribers, RR + REMB to the publisher, NACK answered with the same
 * packet, a student's RTP dropped, a second publisher taking over with the
 * numbering continuing, events, and room close; keyframe requests held and
 * coalesced (a still screen, 40 students at the bell through a local
 * publisher); NACKs answered in the 40th of 40 lessons (NACK cache shares
 * and memory given back); one lesson split over two workers. DTLS runs on
 * the handshake thread, as in `classcast serve`. Real time: ~9 s. */
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cc_test.h"
#include "classcast/dtls.h"
#include "classcast/dataplane.h"
#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/handshake.h"
#include "classcast/rtcp.h"
#include "classcast/pkt.h"
#include "classcast/ring.h"
#include "classcast/rtp.h"
#include "classcast/sfu.h"
#include "classcast/twcc.h"
#include "classcast/srtp.h"
#include "classcast/stun.h"
#include "classcast/track.h"
#include "classcast/vp8.h"

#define PUB_VIDEO_SSRC 3107795472u
#define PUB_AUDIO_SSRC 759283298u

typedef struct browser {
    struct cc_worker *w;          /* the worker it talks to (NULL: g_w) */
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
    int n_rtp_video, n_rtp_audio, n_sr, n_rr, n_remb, n_pli, n_nack, n_twcc;
    uint32_t pli_ssrc[16];        /* the first 16 PLIs' media SSRCs */
    int no_twcc;          /* subscriber: its offer has no transport-cc (set before join) */
    int twcc_id;          /* publisher: the answer's transport-cc extension id */
    int abs_id;           /* publisher: the answer's abs-send-time id */
    /* Publisher: send_vp8_n stamps abs-send-time (abs_id) with this clock
     * when abs_on; it runs at abs_speed x real time from abs_t0. */
    int abs_on;
    double abs_speed;
    cc_time_us abs_t0, abs_base;
    uint64_t last_remb_bps;
    uint16_t twcc_seq;
    /* Publisher: the arrival times the SFU's transport-cc feedback gave,
     * by transport-wide sequence number (low 8 bits); 0: none yet. */
    cc_time_us fb_arrival[256];
    int n_pad_video;              /* padding-only packets on the video SSRC */
    int tid_seen[4];              /* media packets per temporal layer */
    uint32_t sr_ssrc_ok, sr_ssrc_bad;
    uint16_t last_video_seq;
    int bad_video;
    int first_video_key;
    uint16_t first_video_pid;     /* PictureID of the first video packet */
    uint8_t first_video_tag;      /* its payload's first byte past the frame tag */
    uint8_t last_video_tag;       /* the same of the newest one */
    uint8_t last_pkt[1500];
    size_t last_len;
    uint16_t seen_seq[64];
    uint32_t seen_ts[64];
    int n_seen;
    /* Simulated loss: drop the drop_next_video-th next video packet (1:
     * the next), keep its SRTP bytes. */
    int drop_next_video;
    int dropped;
    uint16_t dropped_seq;
    uint8_t dropped_srtp[1600];
    size_t dropped_len;
    int rtx_match;
    uint8_t dropped_plain[1600];  /* the dropped packet, decrypted */
    size_t dropped_plain_len;
    /* Subscriber: the answer's RTX stream and transport-cc id; what came
     * on them; the feedback this browser sends (as Chromium does). */
    uint32_t rtx_ssrc;
    int rtx_pt;
    int sub_twcc_id;
    int n_rtx, n_probe;
    int tseq_n, tseq_bad;
    uint16_t last_tseq;
    cc_twcc_recv *fb;
    int n_fb_sent;
    /* Publisher: send_vp8 loses the first packet of the picture on the
     * way to the SFU (the teacher's uplink). */
    int lose_first;
    /* Subscriber: sends no transport-wide feedback (its link lost it). */
    int no_fb;
    /* Subscriber: its feedback gives the arrival times a link of this
     * rate (bit/s, 0: none) would have, a FIFO queue before it. */
    double link_bps;
    cc_time_us link_free;
    /* Subscriber: its feedback reports one in this many packets lost
     * (0: none). */
    int fb_lose_every;
} browser;

static cc_dtls_ctx *g_server_ctx, *g_browser_ctx;
static cc_worker *g_w;
static cc_hs *g_hs;
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
    if (b->no_twcc) {
        /* A viewer without transport-cc (a WHEP player, webrtcbin as
         * configured by default): its offer's lines for it go. */
        char *k = d;
        for (char *p = d; *p;) {
            char *e = strchr(p, '\n');
            size_t l = e ? (size_t)(e - p + 1) : strlen(p);
            int drop = memmem(p, l, "transport-cc", 12) || memmem(p, l, "transport-wide-cc", 17);
            if (!drop)
                memmove(k, p, l), k += l;
            p += l;
        }
        *k = 0;
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
    free(b->fb);
}

static void bsend(browser *b, const uint8_t *buf, size_t len)
{
    const cc_addr *to = cc_worker_local(b->w ? b->w : g_w);
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
            if (cc_rtcp_parse_fb(&p, &fb) == 0 && fb.media_ssrc != 0) {
                if (b->n_pli < 16)
                    b->pli_ssrc[b->n_pli] = fb.media_ssrc;
                b->n_pli++;
            }
        } else if (p.pt == CC_RTCP_PSFB && p.count == CC_PSFB_AFB) {
            cc_rtcp_fb fb;
            cc_rtcp_remb rm;
            if (cc_rtcp_parse_fb(&p, &fb) == 0 && cc_rtcp_parse_remb(&fb, &rm) == 0)
                b->last_remb_bps = rm.bitrate_bps;
            b->n_remb++;
        } else if (p.pt == CC_RTCP_RTPFB && p.count == CC_RTPFB_NACK) {
            b->n_nack++;
        } else if (p.pt == CC_RTCP_RTPFB && p.count == 15) {
            cc_rtcp_fb fb;
            cc_twcc_feedback tf;
            cc_twcc_pkt pk[64];
            if (cc_rtcp_parse_fb(&p, &fb) == 0 && cc_twcc_parse(&fb, &tf, pk, 64) == 0 &&
                tf.received > 0) {
                b->n_twcc++;
                for (size_t i = 0; i < tf.n && i < 64; i++)
                    if (pk[i].received)
                        b->fb_arrival[pk[i].seq & 255] = pk[i].arrival_us;
            }
        }
    }
}

static void send_rtcp(browser *b, const uint8_t *pkt, size_t len);

/* When a packet of len bytes received now would have come through the
 * subscriber's simulated link (link_bps): after the ones queued before it. */
static cc_time_us link_arrival(browser *b, size_t len)
{
    cc_time_us now = cc_clock_mono_us();
    if (b->link_bps <= 0)
        return now;
    cc_time_us start = b->link_free > now ? b->link_free : now;
    b->link_free = start + (cc_time_us)((double)(len + 48) * 8e6 / b->link_bps);
    return b->link_free;
}

static void on_rtp_in(browser *b, const uint8_t *buf, size_t len)
{
    cc_rtp_hdr h;
    if (cc_rtp_parse(buf, len, &h) != 0) {
        b->bad_video++;
        return;
    }
    /* Subscriber with transport-cc: every packet carries the element,
     * numbered without gaps across all its streams. */
    if (b->sub_twcc_id) {
        uint16_t ts;
        if (cc_twcc_ext_get(&h, b->sub_twcc_id, &ts) != 0) {
            b->tseq_bad++;
        } else {
            if (b->tseq_n && ts != (uint16_t)(b->last_tseq + 1))
                b->tseq_bad++;
            b->last_tseq = ts;
            b->tseq_n++;
            if (b->fb && !(b->fb_lose_every && b->tseq_n % b->fb_lose_every == 0))
                cc_twcc_recv_on_packet(b->fb, ts, link_arrival(b, len));
        }
    }
    if (b->rtx_ssrc && h.ssrc == b->rtx_ssrc) {
        if (h.pt != b->rtx_pt) {
            b->bad_video++;
        } else if (h.payload_len == 0) {
            b->n_probe++; /* bandwidth probe padding */
        } else if (h.payload_len < 2) {
            b->bad_video++;
        } else {
            /* RFC 4588 section 4: the original seq, then its payload. */
            uint16_t osn = (uint16_t)((h.payload[0] << 8) | h.payload[1]);
            b->n_rtx++;
            if (b->dropped && osn == b->dropped_seq) {
                cc_rtp_hdr dh;
                b->rtx_match = cc_rtp_parse(b->dropped_plain, b->dropped_plain_len, &dh) == 0 &&
                               dh.payload_len == h.payload_len - 2 &&
                               memcmp(dh.payload, h.payload + 2, dh.payload_len) == 0 &&
                               dh.ts == h.ts && dh.marker == h.marker;
            }
        }
        return;
    }
    if (h.ssrc == b->video_ssrc) {
        cc_vp8_desc d;
        if (h.payload_len == 0 && h.padding && h.pt == b->video_pt)
            b->n_pad_video++; /* a thinned picture's place holder */
        else if (h.pt != b->video_pt || (h.extension && !b->sub_twcc_id) ||
                 h.payload_len == 0 ||
                 cc_vp8_parse(h.payload, h.payload_len, &d) != 0)
            b->bad_video++;
        else {
            if (b->n_rtp_video == 0) {
                b->first_video_key = d.keyframe;
                b->first_video_pid = d.picture_id;
                if (h.payload_len > (size_t)d.len + 6)
                    b->first_video_tag = h.payload[d.len + 6];
            }
            if (d.has_tid)
                b->tid_seen[d.tid & 3]++;
            if (h.payload_len > (size_t)d.len + 6)
                b->last_video_tag = h.payload[d.len + 6];
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
        if (b->n_seen < 64) {
            b->seen_ts[b->n_seen] = h.ts;
            b->seen_seq[b->n_seen++] = h.seq;
        }
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
        int fl;
        while (b->fb && b->srtp && !b->no_fb && (fl = cc_twcc_recv_poll(b->fb, now, buf, 1200)) > 0) {
            send_rtcp(b, buf, (size_t)fl);
            b->n_fb_sent++;
        }
        /* Until `end`, and past it while datagrams are waiting (wait_ms
         * 0: read what is there). */
        struct pollfd pf = {.fd = b->fd, .events = POLLIN};
        int left = now < end ? (int)((end - now) / 1000) : 0;
        if (poll(&pf, 1, left < 5 ? left : 5) <= 0) {
            if (cc_clock_mono_us() >= end)
                break;
            continue;
        }
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
                if (b->drop_next_video && --b->drop_next_video == 0) {
                    b->dropped = 1;
                    b->dropped_seq = ch.seq;
                    memcpy(b->dropped_srtp, buf, (size_t)n);
                    b->dropped_len = (size_t)n;
                    /* Its transport-wide number is a loss, not a gap the
                     * server made (extensions travel in the clear). */
                    uint16_t lts;
                    if (b->sub_twcc_id && cc_twcc_ext_get(&ch, b->sub_twcc_id, &lts) == 0) {
                        b->last_tseq = lts;
                        b->tseq_n++;
                    }
                    /* Kept decrypted, to compare with its repair. */
                    if (cc_srtp_unprotect_rtp(b->srtp, buf, (size_t)n, &plain) == 0) {
                        memcpy(b->dropped_plain, buf, plain);
                        b->dropped_plain_len = plain;
                    }
                    continue;
                }
                /* Without RTX, same key, seq and plaintext: same SRTP
                 * bytes. */
                if (b->dropped && ch.seq == b->dropped_seq && !b->rtx_ssrc)
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

/* Offer, answer, add the peer (room `room`; map/n_map as for
 * cc_sfu_prepare_*: the video line's slot). */
static void join_prepare(browser *b, const char *vector, int publisher, uint32_t member,
                         const char *ssrc_suffix, uint32_t room,
                         const cc_sfu_track_map *map, int n_map)
{
    char *offer = offer_text(vector, b, ssrc_suffix);
    char *answer = NULL, err[256];
    cc_worker_msg_add *msg = NULL;
    cc_sfu_params params = g_params;
    if (b->w)
        params.candidates[0] = *cc_worker_local(b->w);
    int rc = publisher
                 ? cc_sfu_prepare_publisher(offer, strlen(offer), &params, room,
                                            member, map, n_map, &answer, &msg, err,
                                            sizeof err)
                 : cc_sfu_prepare_subscriber(offer, strlen(offer), &params, room,
                                             member, map, n_map, &answer, &msg,
                                             err, sizeof err);
    CC_CHECK_EQ(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "prepare: %s\n", err);
        free(offer);
        return;
    }
    char lesson[32];
    snprintf(lesson, sizeof lesson, "lesson-%u", room);
    CC_CHECK_EQ(cc_sdp_parse(answer, strlen(answer), b->answer), 0);
    for (int i = 0; i < b->answer->n_media; i++) {
        const cc_sdp_media *m = &b->answer->media[i];
        if (m->port == 0 || m->direction == CC_DIR_INACTIVE)
            continue;
        CC_CHECK_EQ(m->direction, publisher ? CC_DIR_RECVONLY : CC_DIR_SENDONLY);
        snprintf(b->s_ufrag, sizeof b->s_ufrag, "%s", m->ice_ufrag);
        snprintf(b->s_pwd, sizeof b->s_pwd, "%s", m->ice_pwd);
        /* mid and transport-cc (+ a publisher's abs-send-time and audio
         * level; + rid and repaired rid for a publisher's simulcast
         * line) */
        CC_CHECK_EQ(m->n_extmaps, (publisher ? m->kind == CC_MEDIA_AUDIO ? 4 : 3 : 2) +
                                      (m->n_rids ? 2 : 0) - (b->no_twcc ? 1 : 0));
        if (publisher) {
            CC_CHECK_EQ(m->n_ssrcs, 0);
            b->twcc_id = cc_sdp_find_extmap(m, CC_EXT_URI_TWCC);
            CC_CHECK(b->twcc_id > 0);
            b->abs_id = cc_sdp_find_extmap(m, CC_EXT_URI_ABS_SEND_TIME);
            CC_CHECK(b->abs_id > 0);
            /* transport-cc feedback; REMB only as the cap the uplink
             * estimate gives (from abs-send-time), no fixed value */
            CC_CHECK(m->codecs[0].fb & CC_FB_TWCC);
            CC_CHECK(m->kind != CC_MEDIA_VIDEO || (m->codecs[0].fb & CC_FB_REMB));
        } else {
            /* video: the media SSRC and its RTX (RFC 4588 8.1, FID) */
            CC_CHECK_EQ(m->n_ssrcs, m->kind == CC_MEDIA_VIDEO ? 2 : 1);
            CC_CHECK(strstr(m->msid, lesson) != NULL);
            b->sub_twcc_id = cc_sdp_find_extmap(m, CC_EXT_URI_TWCC);
            CC_CHECK_EQ(b->sub_twcc_id > 0, !b->no_twcc);
            CC_CHECK_EQ((m->codecs[0].fb & CC_FB_TWCC) != 0, !b->no_twcc);
            if (!b->no_twcc && !b->fb && (b->fb = calloc(1, sizeof *b->fb)) != NULL) {
                cc_twcc_recv_config tc = {.sender_ssrc = 1, .media_ssrc = m->ssrcs[0]};
                cc_twcc_recv_init(b->fb, &tc, cc_clock_mono_us());
            }
            if (m->kind == CC_MEDIA_VIDEO) {
                b->video_ssrc = m->ssrcs[0];
                b->video_pt = m->codecs[0].pt;
                CC_CHECK_EQ(m->fid_primary, m->ssrcs[0]);
                b->rtx_ssrc = m->fid_rtx;
                const cc_sdp_codec *rtx = cc_sdp_find_rtx(m, b->video_pt);
                CC_CHECK(rtx != NULL);
                b->rtx_pt = rtx ? rtx->pt : -1;
                CC_CHECK(strstr(m->msid, n_map ? "screen" : "camera") != NULL);
            } else {
                b->audio_ssrc = m->ssrcs[0];
                b->audio_pt = m->codecs[0].pt;
                CC_CHECK(strstr(m->msid, "mic") != NULL);
            }
        }
        /* VP8 (+ its RTX for a subscriber), or Opus */
        CC_CHECK_EQ(m->n_codecs, !publisher && m->kind == CC_MEDIA_VIDEO ? 2 : 1);
    }
    CC_CHECK_EQ(cc_worker_post(b->w ? b->w : g_w, &msg->hdr), 0);
    CC_CHECK_EQ(cc_dtls_new(&b->dtls, g_browser_ctx, 0, "sha-256",
                            cc_dtls_ctx_fingerprint(g_server_ctx)), 0);
    free(offer);
    free(answer);
}

/* ICE check and DTLS for prepared browsers, all at once (as a class
 * joining together). */
static void join_connect(browser **bs, int n)
{
    usleep(20000); /* the worker takes the add-peer messages */
    for (int i = 0; i < n; i++)
        send_check(bs[i]);
    for (int i = 0; i < n; i++)
        pump(bs[i], n > 1 ? 1 : 20);
    for (int i = 0; i < n; i++)
        cc_dtls_start(bs[i]->dtls, cc_clock_mono_us());
    for (int round = 0; round < 200; round++) {
        int done = 0;
        for (int i = 0; i < n; i++) {
            if (!bs[i]->srtp)
                pump(bs[i], n > 1 ? 1 : 20);
            done += bs[i]->srtp != NULL;
        }
        if (done == n)
            break;
    }
    for (int i = 0; i < n; i++)
        CC_CHECK(bs[i]->srtp != NULL);
}

/* Offer, answer, add the peer, connect (room 1). */
static void join(browser *b, const char *vector, int publisher, uint32_t member,
                 const char *ssrc_suffix)
{
    join_prepare(b, vector, publisher, member, ssrc_suffix, 1, NULL, 0);
    join_connect(&b, 1);
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
/* One VP8 picture in `npkts` packets of `payload` bytes filled with
 * `fill` after the frame tag. */
static void send_vp8_n(browser *b, uint32_t ssrc, uint16_t *seq, uint32_t ts,
                       uint16_t pid, int key, int tid, uint8_t tl0, int npkts,
                       size_t payload, uint8_t fill)
{
    for (int k = 0; k < npkts; k++) {
        uint8_t p[1300];
        size_t n = 0;
        p[n++] = tid < 0 ? 0x90 : 0x80;
        p[n++] = (uint8_t)((k == npkts - 1 ? 0x80 : 0) | 96);
        p[n++] = (uint8_t)(*seq >> 8);
        p[n++] = (uint8_t)*seq;
        for (int i = 3; i >= 0; i--)
            p[n++] = (uint8_t)(ts >> (8 * i));
        for (int i = 3; i >= 0; i--)
            p[n++] = (uint8_t)(ssrc >> (8 * i));
        if (tid < 0) {
            int with_abs = b->abs_on && b->abs_id > 0 && b->abs_id < 15;
            p[n++] = 0xbe; p[n++] = 0xde; p[n++] = 0; p[n++] = with_abs ? 3 : 2;
            p[n++] = 0x40; p[n++] = '1';                        /* mid "1" */
            if (with_abs) {
                cc_time_us at = b->abs_base + (cc_time_us)((double)(cc_clock_mono_us() -
                                                                      b->abs_t0) * b->abs_speed);
                uint32_t v = cc_abs_send_time_from_us(at);
                p[n++] = (uint8_t)(b->abs_id << 4 | 2);
                p[n++] = (uint8_t)(v >> 16);
                p[n++] = (uint8_t)(v >> 8);
                p[n++] = (uint8_t)v;
            }
            if (b->twcc_id > 0 && b->twcc_id < 15) {            /* transport-wide seq */
                p[n++] = (uint8_t)(b->twcc_id << 4 | 1);
                p[n++] = (uint8_t)(b->twcc_seq >> 8);
                p[n++] = (uint8_t)b->twcc_seq++;
                p[n++] = 0; p[n++] = 0; p[n++] = 0;
                if (with_abs) {
                    p[n++] = 0; p[n++] = 0; p[n++] = 0; p[n++] = 0;
                }
            } else {
                p[n++] = 0x22; p[n++] = 1; p[n++] = 2; p[n++] = 3;  /* abs-send-time */
                p[n++] = 0; p[n++] = 0;
            }
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
        memset(p + n, fill, payload);
        n += payload;
        if (!(k == 0 && b->lose_first))
            send_rtp(b, p, n);
        (*seq)++;
    }
}

static void send_vp8(browser *b, uint32_t ssrc, uint16_t *seq, uint32_t ts,
                     uint16_t pid, int key, int tid, uint8_t tl0)
{
    send_vp8_n(b, ssrc, seq, ts, pid, key, tid, tl0, 2, 200, 0x33);
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

    /* A late joiner starts at once on the cached last keyframe and the
     * four frames after it (10 packets), with no keyframe request; their
     * timestamps are one tick apart, so it shows the newest now, and the
     * next live frame follows the newest replayed one by the source's
     * frame interval. It loses the 4th of them and NACKs it: the repair
     * is the packet it lost, with the replayed timestamp (the same SRTP
     * bytes), not the live mapping (its own SRTP context took the lost
     * one, to compare, so the repair counts as a replay there). */
    int plis = pub.n_pli;
    usleep(350000);
    cc_sfu_set_keyframe_replay(g_sfu, CC_SFU_REPLAY_ANY);
    s2.drop_next_video = 4;
    join(&s2, "chromium-offer-viewer.sdp", 0, 21, NULL);
    for (int i = 0; i < 20 && s2.n_rtp_video < 9; i++)
        pump_all(all, 3, 50);
    CC_CHECK_EQ(pub.n_pli, plis);
    CC_CHECK_EQ(s2.n_rtp_video, 9);
    CC_CHECK_EQ(s2.dropped, 1);
    {
        uint8_t nk[64];
        uint16_t lost = s2.dropped_seq;
        int kl = cc_rtcp_write_nack(nk, sizeof nk, 1, s2.video_ssrc, &lost, 1);
        send_rtcp(&s2, nk, (size_t)kl);
        for (int i = 0; i < 20 && !s2.rtx_match; i++)
            pump_all(all, 3, 50);
    }
    CC_CHECK_EQ(s2.rtx_match, 1);
    CC_CHECK_EQ(s2.first_video_key, 1);
    CC_CHECK_EQ(s2.bad_video, 1); /* the hole before the repair */
    s2.bad_video = 0;
    /* Two packets a picture: the picture of a packet is its seq's
     * distance from the first, halved. */
    for (int i = 1; i < 9 && s2.n_seen >= 9; i++)
        CC_CHECK_EQ(s2.seen_ts[i] - s2.seen_ts[0],
                    (uint32_t)((uint16_t)(s2.seen_seq[i] - s2.seen_seq[0]) / 2));
    send_frame(&pub, PUB_VIDEO_SSRC, &vseq, vts, pid++, 1);
    vts += 3000;
    /* Up to a second for the keyframe's two packets to arrive: a loaded
     * machine (the other core busy) can take longer than one pump. */
    for (int i = 0; i < 20 && s2.n_rtp_video < 11; i++)
        pump_all(all, 3, 50);
    CC_CHECK_EQ(s2.n_rtp_video, 11);
    CC_CHECK_EQ(s2.bad_video, 0);
    if (s2.n_seen >= 11)
        CC_CHECK_EQ(s2.seen_ts[9] - s2.seen_ts[8], 3000u);
    CC_CHECK(s1.video_ssrc != s2.video_ssrc);
    cc_sfu_stats rst;
    cc_sfu_get_stats(g_sfu, &rst);
    CC_CHECK(rst.replays >= 1);
    cc_sfu_set_keyframe_replay(g_sfu, CC_SFU_REPLAY_OFF);

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
    /* Asked for twice before the repair can have come (a receiver asks
     * about once per its round trip, behind a queue before the first
     * repair arrives): sent again once. */
    cc_sfu_stats n0, n1;
    cc_sfu_get_stats(g_sfu, &n0);
    send_rtcp(&s1, nack, (size_t)nl);
    send_rtcp(&s1, nack, (size_t)nl);
    pump_all(all, 3, 50);
    CC_CHECK_EQ(s1.rtx_match, 1);
    cc_sfu_get_stats(g_sfu, &n1);
    CC_CHECK_EQ(n1.rtx_sent - n0.rtx_sent, 1);
    CC_CHECK_EQ(n1.nack_within_rtt - n0.nack_within_rtt, 1);
    /* A round trip later (over a second: the longest it waits) the same
     * NACK is answered again: the repair may have been lost too. */
    for (int i = 0; i < 11; i++)
        pump_all(all, 3, 100);
    cc_sfu_get_stats(g_sfu, &n0);
    send_rtcp(&s1, nack, (size_t)nl);
    pump_all(all, 3, 50);
    cc_sfu_get_stats(g_sfu, &n1);
    CC_CHECK_EQ(n1.rtx_sent - n0.rtx_sent, 1);
    CC_CHECK_EQ(n1.nack_within_rtt, n0.nack_within_rtt);
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
    CC_CHECK_EQ(pub.n_remb, 0);  /* transport-cc negotiated: no fixed REMB */
    CC_CHECK(pub.n_twcc >= 5);   /* feedback every 50 ms over ~1.2 s */
    /* The subscribers' side of transport-cc: every packet numbered, our
     * feedback used, and the start-up probes sent as RTX padding. */
    CC_CHECK(s1.tseq_n > 20);
    CC_CHECK_EQ(s1.tseq_bad, 0);
    CC_CHECK(s1.n_fb_sent >= 5);
    CC_CHECK(s1.n_probe > 0);
    {
        cc_sfu_stats st;
        cc_sfu_get_stats(cc_worker_app_ud(g_w), &st);
        CC_CHECK(st.twcc_subscribers >= 2);
        CC_CHECK(st.twcc_feedback_received >= 5);
        CC_CHECK_EQ(st.twcc_feedback_bad, 0);
        CC_CHECK(st.probe_clusters >= 1);
        CC_CHECK(st.rtx_wrapped >= 1);
    }
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
    /* Two reports of 25 % loss, the second after 40 more pictures (the
     * SFU judges a link's loss over at least CC_LAYERCTL_MIN_PACKETS; the
     * first report judges alone): 2 -> 1 -> 0. */
    for (int r = 0; r < 2; r++) {
        for (int k = 0; r > 0 && k < 40; k++, pic++, ts += 3000) {
            static const int t[4] = {0, 2, 1, 2};
            send_vp8(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, 0, t[pic % 4],
                     (uint8_t)(pic / 4));
            pump_all(all, 3, 10);
        }
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
    weak.n_pad_video = 0;
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

/* b's receiver report on its video: fraction lost (x/256) up to the
 * newest number it got (RFC 3550 6.4.1). */
static void send_rr(browser *b, uint8_t frac)
{
    uint8_t buf[128];
    cc_rtcp_rr rr = {.ssrc = 0x5eed0001, .n_reports = 1};
    rr.reports[0].ssrc = b->video_ssrc;
    rr.reports[0].fraction_lost = frac;
    rr.reports[0].ext_highest_seq = b->last_video_seq;
    int n = cc_rtcp_write_rr(buf, sizeof buf, &rr);
    CC_CHECK(n > 0);
    send_rtcp(b, buf, (size_t)n);
}

/* The publisher's packets lost before the SFU (the teacher's uplink) are
 * gaps for every subscriber, which reports them lost and NACKs them: a
 * subscriber whose report shows just that keeps its layers; one that
 * reports more than that, of its own, steps down. */
static void test_upstream_loss(void)
{
    browser pub, clean, weak;
    browser_init(&pub, 14);
    browser_init(&clean, 15);
    browser_init(&weak, 16);
    CC_CHECK_EQ(cc_sfu_room_open(g_w, 1), 0);
    join(&pub, "chromium-offer-publisher.sdp", 1, 40, NULL);
    join(&clean, "chromium-offer-viewer.sdp", 0, 41, NULL);
    join(&weak, "chromium-offer-viewer.sdp", 0, 42, NULL);
    browser *all[3] = {&pub, &clean, &weak};
    static const int t[4] = {0, 2, 1, 2};
    uint16_t seq = 3000, pid = 700;
    uint32_t ts = 90000;
    int pic = 0;
    for (; pic < 8; pic++, ts += 3000) {
        send_vp8(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, pic == 0, t[pic % 4], (uint8_t)(pic / 4));
        pump_all(all, 3, 20);
    }
    CC_CHECK_EQ(clean.n_rtp_video, 16);
    CC_CHECK_EQ(weak.n_rtp_video, 16);
    uint16_t off_c = (uint16_t)(clean.last_video_seq - (uint16_t)(seq - 1));
    uint16_t off_w = (uint16_t)(weak.last_video_seq - (uint16_t)(seq - 1));
    send_rr(&clean, 0); /* the marks */
    send_rr(&weak, 0);
    pump_all(all, 3, 50);
    cc_sfu_stats st0;
    cc_sfu_get_stats(g_sfu, &st0);
    /* 64 pictures of 2 packets; the first packet of every other one
     * never reaches the SFU: 32 of 128 numbers (25 %; the SFU judges a
     * link's loss over at least CC_LAYERCTL_MIN_PACKETS sent). */
    uint16_t gap_c[32], gap_w[32];
    int ng = 0;
    for (int k = 0; k < 64; k++, pic++, ts += 3000) {
        pub.lose_first = k % 2 == 1;
        if (pub.lose_first) {
            gap_c[ng] = (uint16_t)(seq + off_c);
            gap_w[ng++] = (uint16_t)(seq + off_w);
        }
        send_vp8(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, 0, t[pic % 4], (uint8_t)(pic / 4));
        pump_all(all, 3, 20);
    }
    pub.lose_first = 0;
    CC_CHECK_EQ(clean.n_rtp_video, 16 + 96);
    CC_CHECK_EQ(weak.n_rtp_video, 16 + 96);
    /* Both NACK the 32 numbers (the SFU has nothing to send), and report
     * them lost: the clean one 32 of 128, the weak one 48 (16 of the 96
     * sent lost on its own link, 17 %). */
    uint8_t nk[256];
    int kl = cc_rtcp_write_nack(nk, sizeof nk, 1, clean.video_ssrc, gap_c, 32);
    CC_CHECK(kl > 0);
    send_rtcp(&clean, nk, (size_t)kl);
    kl = cc_rtcp_write_nack(nk, sizeof nk, 1, weak.video_ssrc, gap_w, 32);
    CC_CHECK(kl > 0);
    send_rtcp(&weak, nk, (size_t)kl);
    pump_all(all, 3, 50);
    send_rr(&clean, 64);
    send_rr(&weak, 96);
    pump_all(all, 3, 100);
    cc_sfu_stats st;
    cc_sfu_get_stats(g_sfu, &st);
    CC_CHECK_EQ(st.nack_upstream - st0.nack_upstream, 64);
    CC_CHECK_EQ(st.nack_cache_miss - st0.nack_cache_miss, 64);
    CC_CHECK_EQ(st.upstream_loss_discounted - st0.upstream_loss_discounted, 64);
    CC_CHECK_EQ(st.layer_down - st0.layer_down, 1); /* the weak one only */
    /* Which one: the clean one still gets every layer. */
    memset(clean.tid_seen, 0, sizeof clean.tid_seen);
    memset(weak.tid_seen, 0, sizeof weak.tid_seen);
    for (int k = 0; k < 8; k++, pic++, ts += 3000) {
        send_vp8(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, 0, t[pic % 4], (uint8_t)(pic / 4));
        pump_all(all, 3, 20);
    }
    CC_CHECK_EQ(clean.tid_seen[2], 8);
    CC_CHECK_EQ(weak.tid_seen[2], 0);
    CC_CHECK(weak.n_pad_video > 0);
    CC_CHECK_EQ(cc_sfu_room_close(g_w, 1), 0);
    usleep(100000);
    count_events(0, NULL);
    browser_free(&pub);
    browser_free(&clean);
    browser_free(&weak);
}

/* A still screen sends no packets: a student who joins just after a
 * keyframe has its request held (it would come too soon after the last
 * one), and it goes out when due all the same (the worker's tick). */
/* With the kept keyframe on, a subscriber added while its stream's chain
 * is too long to replay (a moving picture whose keyframe is old) asks the
 * publisher for a keyframe before it connects; the keyframe that answers
 * starts a short chain, and the subscriber is started on it the moment it
 * connects (a replay, its first packet a keyframe, no request at connect). */
/* all[0] publishes, all[1] watches, sub (all[2]) joins: the keyframe
 * request goes out with its answer, before it connects; the publisher
 * answers with a keyframe, then sub connects and is started on it (the
 * kept chain), with no request more. */
static void join_early(browser *pub, browser *sub, uint32_t member, browser **all,
                       uint16_t *seq, uint32_t *ts, uint16_t *pid)
{
    cc_sfu_stats st0, st1;
    cc_sfu_get_stats(g_sfu, &st0);
    int plis = pub->n_pli;
    join_prepare(sub, "chromium-offer-viewer.sdp", 0, member, NULL, 1, NULL, 0);
    usleep(20000);
    for (int i = 0; i < 20 && pub->n_pli == plis; i++)
        pump_all(all, 2, 10);
    CC_CHECK_EQ(pub->n_pli, plis + 1); /* asked before sub connected */
    CC_CHECK(sub->srtp == NULL);
    send_frame(pub, PUB_VIDEO_SSRC, seq, *ts, (*pid)++, 1);
    *ts += 3000;
    pump_all(all, 2, 20);
    join_connect(&sub, 1);
    for (int i = 0; i < 20 && sub->n_rtp_video < 2; i++)
        pump_all(all, 3, 20);
    cc_sfu_get_stats(g_sfu, &st1);
    CC_CHECK_EQ(sub->n_rtp_video, 2);
    CC_CHECK_EQ(sub->first_video_key, 1);
    CC_CHECK_EQ(st1.early_keyframe_requests - st0.early_keyframe_requests, 1u);
    CC_CHECK_EQ(st1.replays - st0.replays, 1u);
    CC_CHECK_EQ(pub->n_pli, plis + 1); /* none more at connect */
}

static void test_keyframe_early(void)
{
    cc_sfu_set_keyframe_replay(g_sfu, CC_SFU_REPLAY_ANY);
    browser pub, s1, s2;
    browser_init(&pub, 43);
    browser_init(&s1, 44);
    browser_init(&s2, 45);
    CC_CHECK_EQ(cc_sfu_room_open(g_w, 1), 0);
    join(&pub, "chromium-offer-publisher.sdp", 1, 53, NULL);
    join(&s1, "chromium-offer-viewer.sdp", 0, 54, NULL);
    browser *all[3] = {&pub, &s1, &s2};
    uint16_t seq = 100, pid = 1;
    uint32_t ts = 9000;
    /* A keyframe and 130 moving pictures: 262 packets from the keyframe,
     * more than out_replay sends. */
    for (int f = 0; f <= 130; f++) {
        send_frame(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, f == 0);
        ts += 3000;
        if (f % 10 == 0)
            pump_all(all, 2, 5);
    }
    pump_all(all, 2, 20);
    CC_CHECK(s1.n_rtp_video >= 250);
    usleep(350000); /* past the 300 ms between two requests */
    pump_all(all, 2, 5);
    join_early(&pub, &s2, 55, all, &seq, &ts, &pid);
    CC_CHECK_EQ(cc_sfu_room_close(g_w, 1), 0);
    usleep(100000);
    count_events(0, NULL);
    cc_sfu_set_keyframe_replay(g_sfu, CC_SFU_REPLAY_OFF);
    browser_free(&pub);
    browser_free(&s1);
    browser_free(&s2);
}

/* The default, CC_SFU_REPLAY_FRESH: a short chain whose keyframe is
 * older than half of CC_SFU_REPLAY_FRESH_US gets a request when the
 * answer goes out, and the subscriber starts on the new keyframe when it
 * connects; a chain that is too old by then is not replayed (a request at
 * connect instead). */
static void test_keyframe_fresh(void)
{
    cc_sfu_set_keyframe_replay(g_sfu, CC_SFU_REPLAY_FRESH);
    browser pub, s1, s2, s3;
    browser_init(&pub, 46);
    browser_init(&s1, 47);
    browser_init(&s2, 48);
    browser_init(&s3, 49);
    CC_CHECK_EQ(cc_sfu_room_open(g_w, 1), 0);
    join(&pub, "chromium-offer-publisher.sdp", 1, 56, NULL);
    join(&s1, "chromium-offer-viewer.sdp", 0, 57, NULL);
    browser *all[4] = {&pub, &s1, &s2, &s3};
    uint16_t seq = 300, pid = 1;
    uint32_t ts = 9000;
    for (int f = 0; f < 5; f++) { /* a keyframe and 4 pictures */
        send_frame(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, f == 0);
        ts += 3000;
    }
    pump_all(all, 2, 20);
    CC_CHECK(s1.n_rtp_video >= 10);
    usleep(450000); /* complete and short, but older than half the fresh age */
    pump_all(all, 2, 5);
    join_early(&pub, &s2, 58, all, &seq, &ts, &pid);
    cc_sfu_stats st0, st1;
    /* Half a second later, with no keyframe since: s3 is not started on
     * that chain (too old) but asks for a new keyframe. */
    usleep(CC_SFU_REPLAY_FRESH_US + 100000);
    pump_all(all, 3, 5);
    cc_sfu_get_stats(g_sfu, &st0);
    int plis = pub.n_pli;
    join(&s3, "chromium-offer-viewer.sdp", 0, 59, NULL);
    for (int i = 0; i < 20 && pub.n_pli < plis + 1; i++)
        pump_all(all, 4, 10);
    cc_sfu_get_stats(g_sfu, &st1);
    CC_CHECK(pub.n_pli >= plis + 1);
    CC_CHECK_EQ(st1.replays - st0.replays, 0u);
    CC_CHECK_EQ(s3.n_rtp_video, 0);
    send_frame(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, 1);
    for (int i = 0; i < 20 && s3.n_rtp_video < 2; i++)
        pump_all(all, 4, 20);
    CC_CHECK_EQ(s3.n_rtp_video, 2);
    CC_CHECK_EQ(s3.first_video_key, 1);
    CC_CHECK_EQ(cc_sfu_room_close(g_w, 1), 0);
    usleep(100000);
    count_events(0, NULL);
    cc_sfu_set_keyframe_replay(g_sfu, CC_SFU_REPLAY_OFF);
    browser_free(&pub);
    browser_free(&s1);
    browser_free(&s2);
    browser_free(&s3);
}

static void test_keyframe_due(void)
{
    cc_sfu_set_keyframe_replay(g_sfu, CC_SFU_REPLAY_OFF); /* the request path */
    browser pub, s1, s2;
    browser_init(&pub, 40);
    browser_init(&s1, 41);
    browser_init(&s2, 42);
    CC_CHECK_EQ(cc_sfu_room_open(g_w, 1), 0);
    join(&pub, "chromium-offer-publisher.sdp", 1, 50, NULL);
    join(&s1, "chromium-offer-viewer.sdp", 0, 51, NULL);
    browser *all[3] = {&pub, &s1, &s2};
    uint16_t seq = 7000, pid = 9;
    uint32_t ts = 5000;
    send_frame(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, 0); /* s1 waits: PLI */
    ts += 3000;
    for (int i = 0; i < 20 && pub.n_pli < 1; i++)
        pump_all(all, 2, 10);
    CC_CHECK_EQ(pub.n_pli, 1);
    send_frame(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, 1);   /* the answer */
    pump_all(all, 2, 20);
    CC_CHECK(s1.n_rtp_video >= 2);
    join(&s2, "chromium-offer-viewer.sdp", 0, 52, NULL);    /* too soon */
    pump_all(all, 3, 20);
    cc_sfu_stats st;
    cc_sfu_get_stats(g_sfu, &st);
    int held = pub.n_pli == 1;
    /* No packets from here on; the held request comes anyway. */
    for (int i = 0; i < 60 && pub.n_pli < 2; i++)
        pump_all(all, 3, 10);
    if (held)
        CC_CHECK_EQ(pub.n_pli, 2);
    else /* the join took over 300 ms on a busy machine: asked at once */
        printf("join took too long to be held\n");
    CC_CHECK(st.pli_coalesced >= 1 || !held);
    CC_CHECK_EQ(cc_sfu_room_close(g_w, 1), 0);
    usleep(100000);
    count_events(0, NULL);
    browser_free(&pub);
    browser_free(&s1);
    browser_free(&s2);
}

/* A local publisher (the media core's way in: plaintext RTP through a
 * ring) with a camera and a screen, played by the test: a keyframe
 * request sets a flag and the next frame is a keyframe, as the local
 * encoder does (cc_source_request_keyframe). */
typedef struct localsrc {
    cc_ring *ring;
    int efd;
    uint32_t room;
    uint32_t ssrc[2];      /* camera, screen */
    uint16_t seq[2];
    uint32_t ts;
    uint16_t pid;
    uint32_t frame;        /* frames made (camera) */
    int kf_req;            /* atomic: the worker asked */
    int kf_count;          /* atomic: requests so far */
    uint32_t kf_frame;     /* the frame that answered the last request */
} localsrc;

static cc_pkt_pool *g_local_pool;

static void ls_keyframe(void *ud, int slot)
{
    localsrc *ls = ud;
    (void)slot;
    __atomic_add_fetch(&ls->kf_count, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&ls->kf_req, 1, __ATOMIC_RELEASE);
}

static void ls_attach(cc_worker *w, localsrc *ls, uint32_t room, uint32_t ssrc_base)
{
    memset(ls, 0, sizeof *ls);
    ls->room = room;
    CC_CHECK_EQ(cc_ring_new(&ls->ring, 1024), 0);
    ls->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ls->ssrc[0] = ssrc_base;
    ls->ssrc[1] = ssrc_base + 1;
    ls->seq[0] = (uint16_t)(ssrc_base * 7);
    ls->seq[1] = (uint16_t)(ssrc_base * 13);
    ls->ts = ssrc_base * 1000;
    ls->pid = 7;
    cc_sfu_local_config lc = {.room_id = room, .ring = ls->ring, .efd = ls->efd,
                              .keyframe = ls_keyframe, .ud = ls};
    for (int k = 0; k < 2; k++) {
        int slot = k ? CC_SLOT_SCREEN : CC_SLOT_CAMERA;
        lc.slots[slot].active = 1;
        lc.slots[slot].ssrc = ls->ssrc[k];
        lc.slots[slot].pt = 96;
        lc.slots[slot].clock_rate = 90000;
    }
    CC_CHECK_EQ(cc_sfu_local_attach(w, &lc), 0);
}

static void ls_detach(cc_worker *w, localsrc *ls)
{
    CC_CHECK_EQ(cc_sfu_local_detach(w, ls->ring), 0);
    cc_pkt *p;
    while ((p = cc_ring_pop(ls->ring)))
        cc_pkt_unref(p);
    cc_ring_free(ls->ring);
    close(ls->efd);
}

/* Wait (bounded) until the worker has read everything pushed. */
static void ls_drain(localsrc *ls)
{
    for (int i = 0; i < 2000 && cc_ring_count(ls->ring) > 0; i++)
        usleep(1000);
    CC_CHECK_EQ(cc_ring_count(ls->ring), 0);
}

/* One VP8 packet of track k (0 camera, 1 screen), L1T1 with a PictureID;
 * the payload after the frame tag carries the frame number's low byte. */
static void ls_packet(localsrc *ls, int k, int key, int start, int marker, uint8_t tag)
{
    cc_pkt *p = cc_pkt_alloc(g_local_pool);
    CC_CHECK(p != NULL);
    if (!p)
        return;
    int n = cc_rtp_write_header(p->data, CC_PKT_CAP, 96, marker, ls->seq[k]++, ls->ts,
                                ls->ssrc[k]);
    uint8_t *d = p->data + n;
    d[0] = (uint8_t)(0x80 | (start ? 0x10 : 0));
    d[1] = 0x80;
    d[2] = (uint8_t)(0x80 | (ls->pid >> 8));
    d[3] = (uint8_t)ls->pid;
    static const uint8_t kt[] = {0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a};
    static const uint8_t it[] = {0x31, 0x42, 0x00, 0x11, 0x22, 0x33};
    memcpy(d + 4, key ? kt : it, 6);
    d[10] = tag;
    memset(d + 11, 0x5a, 150);
    p->len = (uint16_t)(n + 161);
    p->flags = (uint16_t)(k ? CC_SLOT_SCREEN : CC_SLOT_CAMERA);
    p->time = cc_clock_mono_us();
    CC_CHECK_EQ(cc_ring_push(ls->ring, p), 0);
    uint64_t one = 1;
    ssize_t r = write(ls->efd, &one, sizeof one);
    (void)r;
}

/* One frame on the camera (and the screen when `screen`), two packets
 * each; a keyframe when asked for since the last frame. Returns 1 for a
 * keyframe. */
static int ls_frame(localsrc *ls, int screen)
{
    int key = ls->frame == 0 || __atomic_exchange_n(&ls->kf_req, 0, __ATOMIC_ACQ_REL);
    if (key)
        ls->kf_frame = ls->frame;
    for (int k = 0; k < (screen ? 2 : 1); k++)
        for (int pkt = 0; pkt < 2; pkt++)
            ls_packet(ls, k, key, pkt == 0, pkt == 1, (uint8_t)ls->frame);
    ls->frame++;
    ls->pid = (uint16_t)((ls->pid + 1) & 0x7fff);
    ls->ts += 3000;
    return key;
}

/* Pump the browsers for `ms`, the local camera making a frame every 33 ms
 * (next_frame: when the next one is due, carried across calls). */
static void run_frames(localsrc *ls, browser **bs, int n, int ms, cc_time_us *next_frame)
{
    cc_time_us end = cc_clock_mono_us() + ms * CC_USEC_PER_MSEC;
    do {
        if (cc_clock_mono_us() >= *next_frame) {
            ls_frame(ls, 0);
            *next_frame += 33 * CC_USEC_PER_MSEC;
        }
        for (int i = 0; i < n; i++)
            pump(bs[i], 0);
        if (n == 0)
            usleep(1000);
        else
            pump(bs[0], 1);
    } while (cc_clock_mono_us() < end);
}

/* The class bell: 40 students join a lesson (local camera at 30 fps) in
 * five waves over a second. Every one starts on a keyframe, and the
 * publisher is asked for a few keyframes, not one per student: requests
 * within 300 ms of one share its keyframe. Then a late student: its
 * request is answered by the very next frame, and that frame is the
 * first it gets. */
#define BELL_N 40
static void test_join_bell(void)
{
    cc_sfu_set_keyframe_replay(g_sfu, CC_SFU_REPLAY_OFF); /* the request path */
    localsrc ls;
    CC_CHECK_EQ(cc_sfu_room_open(g_w, 2), 0);
    ls_attach(g_w, &ls, 2, 0x10000);
    browser *bs = calloc(BELL_N + 1, sizeof *bs);
    browser *ptr[BELL_N + 1];
    cc_time_us next_frame = cc_clock_mono_us();
    run_frames(&ls, NULL, 0, 400, &next_frame); /* a running camera */
    int kf0 = __atomic_load_n(&ls.kf_count, __ATOMIC_RELAXED);
    cc_time_us bell = cc_clock_mono_us();
    for (int wave = 0; wave < 5; wave++) {
        for (int i = wave * 8; i < wave * 8 + 8; i++) {
            browser_init(&bs[i], 100 + i);
            ptr[i] = &bs[i];
            join_prepare(&bs[i], "chromium-offer-viewer.sdp", 0, 200 + (uint32_t)i, NULL, 2,
                         NULL, 0);
        }
        join_connect(&ptr[wave * 8], 8);
        cc_time_us next_wave = bell + (wave + 1) * 220 * CC_USEC_PER_MSEC;
        cc_time_us left = next_wave - cc_clock_mono_us();
        run_frames(&ls, ptr, wave * 8 + 8, left > 0 ? (int)(left / 1000) : 1, &next_frame);
    }
    printf("40 joins took %.0f ms\n", (cc_clock_mono_us() - bell) / 1000.0);
    run_frames(&ls, ptr, BELL_N, 600, &next_frame);
    int requests = __atomic_load_n(&ls.kf_count, __ATOMIC_RELAXED) - kf0;
    int keyed = 0;
    for (int i = 0; i < BELL_N; i++) {
        keyed += bs[i].n_rtp_video > 0 && bs[i].first_video_key;
        CC_CHECK_EQ(bs[i].bad_video, 0);
    }
    cc_sfu_stats st;
    cc_sfu_get_stats(g_sfu, &st);
    printf("bell: %d keyframe requests for %d students, %d started on a keyframe; "
           "waits: mean %.1f ms, max %.1f ms; %llu requests coalesced\n",
           requests, BELL_N, keyed,
           st.first_pictures ? st.first_picture_wait_us / 1000.0 / st.first_pictures : 0.0,
           st.first_picture_wait_max_us / 1000.0, (unsigned long long)st.pli_coalesced);
    CC_CHECK_EQ(keyed, BELL_N);
    /* However long the joins took on a busy machine: one request per
     * 300 ms of it, and the first. */
    double took_ms = (double)(cc_clock_mono_us() - bell) / 1000.0;
    CC_CHECK(requests >= 1);
    CC_CHECK(requests <= 2 + (int)(took_ms / 300.0));
    CC_CHECK(requests <= 6);

    /* A late student, well after the last keyframe: asked at its connect,
     * answered by the next frame, which is the first picture it gets. */
    run_frames(&ls, ptr, BELL_N, 350, &next_frame);
    int kf1 = __atomic_load_n(&ls.kf_count, __ATOMIC_RELAXED);
    browser *late = &bs[BELL_N];
    browser_init(late, 180);
    ptr[BELL_N] = late;
    join_prepare(late, "chromium-offer-viewer.sdp", 0, 280, NULL, 2, NULL, 0);
    uint32_t frame_before = ls.frame;
    /* No frame while it connects: the request must be there before the
     * next one is made. */
    join_connect(&late, 1);
    for (int i = 0; i < 200 && __atomic_load_n(&ls.kf_count, __ATOMIC_RELAXED) == kf1; i++)
        usleep(1000);
    CC_CHECK_EQ(__atomic_load_n(&ls.kf_count, __ATOMIC_RELAXED), kf1 + 1);
    CC_CHECK_EQ(ls.frame, frame_before);
    run_frames(&ls, ptr, BELL_N + 1, 200, &next_frame);
    CC_CHECK_EQ(ls.kf_frame, frame_before);       /* the next frame was a keyframe */
    CC_CHECK(late->n_rtp_video > 0);
    CC_CHECK_EQ(late->first_video_key, 1);
    CC_CHECK_EQ(late->first_video_tag, (uint8_t)frame_before); /* and came first */

    CC_CHECK_EQ(cc_sfu_room_close(g_w, 2), 0);
    usleep(100000);
    count_events(0, NULL);
    ls_detach(g_w, &ls);
    for (int i = 0; i <= BELL_N; i++)
        browser_free(&bs[i]);
    free(bs);
}

/* 40 lessons, each with a camera and a screen that have sent plenty
 * (600 packets a track): the 40th lesson's students NACK a lost packet
 * on the camera and on the screen, and get exactly it again. With a cap
 * too small for 80 full caches, every track keeps an equal share; closing
 * 39 lessons gives their memory back. (Before the pool grew with the
 * tracks, a worker had 16,384 cached packets for everyone and the tracks
 * past the 32nd got none.) */
#define LESSONS 40
static void nack_lessons(cc_worker *w, cc_sfu *sfu, const cc_sfu_params *params)
{
    cc_worker *saved_w = g_w;
    cc_sfu_params saved_p = g_params;
    g_w = w;
    g_params = *params;
    localsrc *ls = calloc(LESSONS, sizeof *ls);
    for (int i = 0; i < LESSONS; i++) {
        CC_CHECK_EQ(cc_sfu_room_open(w, 101 + (uint32_t)i), 0);
        ls_attach(w, &ls[i], 101 + (uint32_t)i, 0x20000 + (uint32_t)i * 16);
    }
    for (int i = 0; i < LESSONS; i++)
        for (int f = 0; f < 300; f++) {
            ls_frame(&ls[i], 1);
            if (f % 100 == 99)
                ls_drain(&ls[i]);
        }
    cc_sfu_stats st;
    cc_sfu_get_stats(sfu, &st);
    CC_CHECK_EQ(st.nack_cache_tracks, 2 * LESSONS);
    CC_CHECK_EQ(st.cache_alloc_fail, 0);
    CC_CHECK(st.nack_cache_bytes <= st.nack_cache_cap_bytes);
    printf("%d video tracks: %llu packets cached in %.1f MiB mapped of a %.0f MiB cap, "
           "%llu a track at most\n", 2 * LESSONS, (unsigned long long)st.nack_cache_pkts,
           st.nack_cache_bytes / 1048576.0, st.nack_cache_cap_bytes / 1048576.0,
           (unsigned long long)st.nack_cache_quota);

    /* Two students of the 40th lesson: one watches the camera, one the
     * screen (the offer's video line mapped to it). */
    localsrc *last = &ls[LESSONS - 1];
    browser cam, scr;
    browser_init(&cam, 60);
    browser_init(&scr, 61);
    cc_sfu_track_map to_screen[1] = {{.mid = "0", .slot = CC_SLOT_SCREEN}};
    join_prepare(&cam, "chromium-offer-viewer.sdp", 0, 70, NULL, 100 + LESSONS, NULL, 0);
    join_prepare(&scr, "chromium-offer-viewer.sdp", 0, 71, NULL, 100 + LESSONS, to_screen, 1);
    browser *both[2] = {&cam, &scr};
    join_connect(both, 2);
    for (int f = 0; f < 6; f++) {
        ls_frame(last, 1);
        pump_all(both, 2, 30);
    }
    CC_CHECK(cam.n_rtp_video > 0 && cam.first_video_key);
    CC_CHECK(scr.n_rtp_video > 0 && scr.first_video_key);
    cc_sfu_get_stats(sfu, &st);
    uint64_t rtx0 = st.rtx_sent, miss0 = st.nack_cache_miss;
    /* Each loses a packet and NACKs it. */
    cam.drop_next_video = scr.drop_next_video = 1;
    ls_frame(last, 1);
    pump_all(both, 2, 60);
    for (int k = 0; k < 2; k++) {
        browser *b = both[k];
        CC_CHECK_EQ(b->dropped, 1);
        uint8_t nack[64];
        int nl = cc_rtcp_write_nack(nack, sizeof nack, 1, b->video_ssrc, &b->dropped_seq, 1);
        send_rtcp(b, nack, (size_t)nl);
    }
    pump_all(both, 2, 100);
    CC_CHECK_EQ(cam.rtx_match, 1);
    CC_CHECK_EQ(scr.rtx_match, 1);
    cc_sfu_get_stats(sfu, &st);
    CC_CHECK_EQ(st.rtx_sent - rtx0, 2);
    CC_CHECK_EQ(st.nack_cache_miss - miss0, 0);

    /* 39 lessons end: their packets go, and so does the memory. */
    uint64_t mapped = st.nack_cache_bytes;
    for (int i = 0; i < LESSONS - 1; i++)
        CC_CHECK_EQ(cc_sfu_room_close(w, 101 + (uint32_t)i), 0);
    for (int i = 0; i < 500; i++) {
        cc_sfu_get_stats(sfu, &st);
        if (st.nack_cache_tracks == 2)
            break;
        usleep(1000);
    }
    CC_CHECK_EQ(st.nack_cache_tracks, 2);
    CC_CHECK_EQ(st.nack_cache_quota, CC_TRACK_CACHE);
    /* Left: the 40th lesson's two tracks (at most a share each before)
     * and one spare chunk, rounded up to whole chunks. */
    printf("after 39 lessons ended: %llu packets in %.1f MiB (was %.1f)\n",
           (unsigned long long)st.nack_cache_pkts, st.nack_cache_bytes / 1048576.0,
           mapped / 1048576.0);
    CC_CHECK(st.nack_cache_pkts <= 2 * 620);
    CC_CHECK(st.nack_cache_bytes <= (2 * 620 / 256 + 4) * 256 * sizeof(cc_pkt));
    CC_CHECK_EQ(cc_sfu_room_close(w, 100 + LESSONS), 0);
    usleep(100000);
    for (int i = 0; i < LESSONS; i++)
        ls_detach(w, &ls[i]);
    free(ls);
    browser_free(&cam);
    browser_free(&scr);
    g_w = saved_w;
    g_params = saved_p;
}

static void test_nack_lessons(void)
{
    nack_lessons(g_w, g_sfu, &g_params);
    count_events(0, NULL);
}

/* The same on a worker whose cap holds about half of 80 full caches. */
static void test_nack_lessons_capped(void)
{
    cc_sfu *sfu;
    cc_worker *w;
    cc_sfu_config sc = {.nack_cache_bytes = (size_t)32 << 20,
                        .keyframe_replay = CC_SFU_REPLAY_OFF};
    CC_CHECK_EQ(cc_sfu_new_config(&sfu, &sc), 0);
    cc_worker_config wc = {.app_ud = sfu, .events = g_events, .hs = g_hs, .hs_lane = 1};
    cc_addr_from_string(&wc.bind, "127.0.0.1", 0);
    CC_CHECK_EQ(cc_worker_new(&w, &wc, g_server_ctx), 0);
    CC_CHECK_EQ(cc_worker_start(w), 0);
    cc_sfu_params p = g_params;
    p.candidates[0] = *cc_worker_local(w);
    nack_lessons(w, sfu, &p);
    cc_sfu_stats st;
    cc_sfu_get_stats(sfu, &st);
    CC_CHECK(st.cache_alloc_fail == 0);
    cc_worker_stop(w);
    cc_worker_free(w);
    cc_sfu_free(sfu);
    count_events(0, NULL);
}

/* A lesson over two workers (dataplane.h, split at 2 subscribers): room
 * `room` on its worker with a publisher (offer `pub_offer`, member m)
 * and four viewers (members m + 1 ..., each browser initialised and
 * flagged before): the first two on the room's worker, the other two on
 * the other, in a mirror of the room; all connected. The dataplane, or
 * NULL; placed[i]: viewer i's worker, *owner the room's. */
static cc_dataplane *split_open(uint32_t room, browser *pub, const char *pub_offer,
                                browser sub[4], uint32_t m, int placed[4], int *owner)
{
    cc_dataplane *dp = NULL;
    cc_dataplane_config dc = {.workers = 2, .split_at = 2, .events = g_events};
    cc_addr_from_string(&dc.bind, "127.0.0.1", 0);
    char err[256] = "";
    CC_CHECK_EQ(cc_dataplane_new(&dp, &dc, g_server_ctx, err, sizeof err), 0);
    if (!dp)
        return NULL;
    CC_CHECK_EQ(cc_dataplane_start(dp), 0);
    count_events(0, NULL);
    *owner = cc_dataplane_room_index(dp, room);
    cc_worker *ow = cc_dataplane_worker(dp, *owner);
    CC_CHECK_EQ(cc_sfu_room_open(ow, room), 0);
    pub->w = ow;
    join_prepare(pub, pub_offer, 1, m, NULL, room, NULL, 0);
    join_connect(&pub, 1);
    browser *subs[4];
    for (int i = 0; i < 4; i++) {
        placed[i] = cc_dataplane_place_subscriber(dp, room);
        sub[i].w = cc_dataplane_worker(dp, placed[i]);
        join_prepare(&sub[i], "chromium-offer-viewer.sdp", 0, m + 1 + (uint32_t)i, NULL, room,
                     NULL, 0);
        /* the local ufrag is the answer's (the browser checks with it) */
        cc_dataplane_peer_placed(dp, sub[i].s_ufrag, room, placed[i]);
        subs[i] = &sub[i];
    }
    CC_CHECK_EQ(placed[0], *owner);
    CC_CHECK_EQ(placed[1], *owner);
    CC_CHECK(placed[2] != *owner);
    CC_CHECK_EQ(placed[3], placed[2]);
    join_connect(subs, 4);
    CC_CHECK_EQ(count_events(CC_SFU_EV_CONNECTED, NULL), 5);
    return dp;
}

/* One lesson over two workers (dataplane.h, split at 2 subscribers): the
 * publisher and two students on the room's worker, two more students on
 * the other worker, in a mirror of the room. Everyone starts on a
 * keyframe (the mirror's students' wait reaches the publisher as a PLI)
 * and gets every packet in order; a NACK on the mirror is answered from
 * the owner's packets; a PLI there reaches the publisher; muting the mic
 * stops it on both workers; closing the lesson closes all five. */
static void test_split_room(void)
{
    const uint32_t room = 7;
    browser pub, sub[4];
    browser_init(&pub, 70);
    for (int i = 0; i < 4; i++)
        browser_init(&sub[i], 71 + i);
    int placed[4], owner;
    cc_dataplane *dp = split_open(room, &pub, "chromium-offer-publisher.sdp", sub, 80, placed,
                                  &owner);
    if (!dp)
        return;
    cc_worker *ow = cc_dataplane_worker(dp, owner);
    browser *all[5] = {&pub, &sub[0], &sub[1], &sub[2], &sub[3]};
    uint16_t vseq = 100, aseq = 10, pid = 1;
    uint32_t vts = 1000, ats = 1000;
    /* Inter frames first: everyone waits, the publisher is asked. */
    for (int f = 0; f < 3; f++) {
        send_frame(&pub, PUB_VIDEO_SSRC, &vseq, vts, pid++, 0);
        send_audio(&pub, PUB_AUDIO_SSRC, aseq++, ats);
        vts += 3000;
        ats += 960;
        pump_all(all, 5, 30);
    }
    CC_CHECK(pub.n_pli >= 1);
    for (int f = 0; f < 6; f++) {
        send_frame(&pub, PUB_VIDEO_SSRC, &vseq, vts, pid++, f == 0);
        send_audio(&pub, PUB_AUDIO_SSRC, aseq++, ats);
        vts += 3000;
        ats += 960;
        pump_all(all, 5, 30);
    }
    for (int i = 0; i < 4; i++) {
        CC_CHECK_EQ(sub[i].n_rtp_video, 12);
        CC_CHECK_EQ(sub[i].first_video_key, 1);
        CC_CHECK_EQ(sub[i].bad_video, 0);
        CC_CHECK(sub[i].n_rtp_audio >= 6);
    }
    /* A student on the mirror loses a packet and NACKs it. */
    browser *m = &sub[2];
    m->drop_next_video = 1;
    send_frame(&pub, PUB_VIDEO_SSRC, &vseq, vts, pid++, 0);
    vts += 3000;
    pump_all(all, 5, 50);
    CC_CHECK_EQ(m->dropped, 1);
    uint8_t nack[64];
    int nl = cc_rtcp_write_nack(nack, sizeof nack, 1, m->video_ssrc, &m->dropped_seq, 1);
    send_rtcp(m, nack, (size_t)nl);
    pump_all(all, 5, 50);
    CC_CHECK_EQ(m->rtx_match, 1);
    m->bad_video = 0;
    /* Its PLI reaches the publisher (after the gap since the last one). */
    usleep(350000);
    int plis = pub.n_pli;
    uint8_t pli[16];
    int pl = cc_rtcp_write_pli(pli, sizeof pli, 1, m->video_ssrc);
    send_rtcp(m, pli, (size_t)pl);
    for (int i = 0; i < 20 && pub.n_pli == plis; i++)
        pump_all(all, 5, 10);
    CC_CHECK(pub.n_pli > plis);
    /* Mute the teacher's mic: no audio on either worker. */
    CC_CHECK_EQ(cc_sfu_set_sender(ow, room, 0, 1, 0), 0);
    usleep(20000);
    int audio[4];
    for (int i = 0; i < 4; i++)
        audio[i] = sub[i].n_rtp_audio;
    for (int f = 0; f < 12; f++) { /* over a second: sender reports too */
        send_frame(&pub, PUB_VIDEO_SSRC, &vseq, vts, pid++, 0);
        send_audio(&pub, PUB_AUDIO_SSRC, aseq++, ats);
        vts += 3000;
        ats += 960;
        pump_all(all, 5, 100);
    }
    for (int i = 0; i < 4; i++) {
        CC_CHECK_EQ(sub[i].n_rtp_audio, audio[i]);
        CC_CHECK_EQ(sub[i].bad_video, 0);
        CC_CHECK(sub[i].n_sr >= 1);
        CC_CHECK_EQ(sub[i].sr_ssrc_bad, 0);
    }
    cc_sfu_stats st;
    cc_sfu_get_stats(cc_dataplane_sfu(dp, owner), &st);
    CC_CHECK(st.xfer_out > 20);
    CC_CHECK_EQ(st.xfer_drop, 0);
    cc_sfu_get_stats(cc_dataplane_sfu(dp, placed[2]), &st);
    CC_CHECK_EQ(st.mirror_rooms, 1);
    CC_CHECK_EQ(st.subscribers, 2);
    CC_CHECK(st.rtx_sent >= 1);
    printf("split room: owner worker %d, mirror %d: %llu packets in on the mirror\n", owner,
           placed[2], (unsigned long long)st.xfer_in);
    /* The lesson ends: all five close, on both workers. */
    count_events(0, NULL);
    CC_CHECK_EQ(cc_dataplane_room_close(dp, room), 0);
    int closed = 0;
    for (int i = 0; i < 50 && closed < 5; i++) {
        usleep(10000);
        closed += count_events(CC_SFU_EV_CLOSED, NULL);
    }
    CC_CHECK_EQ(closed, 5);
    CC_CHECK_EQ(cc_dataplane_peer_count(dp), 0);
    cc_dataplane_free(dp);
    browser_free(&pub);
    for (int i = 0; i < 4; i++)
        browser_free(&sub[i]);
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

/* One VP8 picture in two packets of simulcast encoding `rid` (RFC 8852
 * rid element id 10 and mid "0" id 9, as the teacher vector negotiates);
 * the payload is filled with `tag` so a subscriber can tell encodings
 * apart. */
/* One picture of npkt packets (payload bytes each) on a simulcast
 * encoding, as send_sim_n. */
static void send_sim_pkts(browser *b, uint32_t ssrc, const char *rid, uint16_t *seq,
                          uint32_t ts, uint16_t pid, int key, uint8_t tag, size_t payload,
                          int npkt)
{
    for (int k = 0; k < npkt; k++) {
        uint8_t p[1300];
        size_t n = 0;
        p[n++] = 0x90;
        p[n++] = (uint8_t)((k == npkt - 1 ? 0x80 : 0) | 96);
        p[n++] = (uint8_t)(*seq >> 8);
        p[n++] = (uint8_t)*seq;
        for (int i = 3; i >= 0; i--)
            p[n++] = (uint8_t)(ts >> (8 * i));
        for (int i = 3; i >= 0; i--)
            p[n++] = (uint8_t)(ssrc >> (8 * i));
        p[n++] = 0xbe; p[n++] = 0xde; p[n++] = 0; p[n++] = 1;
        p[n++] = 0x90; p[n++] = '0';                    /* mid "0" */
        p[n++] = 0xa0; p[n++] = (uint8_t)rid[0];        /* one-letter rid */
        p[n++] = (uint8_t)(0x80 | (k == 0 ? 0x10 : 0)); /* X, S */
        p[n++] = 0x80;                                  /* I */
        p[n++] = (uint8_t)(0x80 | (pid >> 8));
        p[n++] = (uint8_t)pid;
        static const uint8_t kt[] = {0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a};
        static const uint8_t it[] = {0x31, 0x42, 0x00, 0x11, 0x22, 0x33};
        memcpy(p + n, key ? kt : it, 6);
        n += 6;
        memset(p + n, tag, payload);
        n += payload;
        send_rtp(b, p, n);
        (*seq)++;
    }
}

static void send_sim_n(browser *b, uint32_t ssrc, const char *rid, uint16_t *seq,
                       uint32_t ts, uint16_t pid, int key, uint8_t tag, size_t payload)
{
    send_sim_pkts(b, ssrc, rid, seq, ts, pid, key, tag, payload, 2);
}

static void send_sim(browser *b, uint32_t ssrc, const char *rid, uint16_t *seq,
                     uint32_t ts, uint16_t pid, int key, uint8_t tag)
{
    send_sim_n(b, ssrc, rid, seq, ts, pid, key, tag, 200);
}

/* One picture in each of three simulcast encodings q, h, f (SSRCs base,
 * base + 1, base + 2; `size` bytes each), tagged 'a', 'b', 'c', as a
 * browser's VP8 simulcast encoder sends it: a keyframe in every encoding
 * when `key` or when a keyframe request came since the last call (*pli:
 * the requests seen). */
static void sim_picture(browser *pub, uint32_t base, uint16_t seq[3], uint16_t pid[3],
                        uint32_t ts, const size_t size[3], int key, int *pli)
{
    static const char *const rid[3] = {"q", "h", "f"};
    key = key || pub->n_pli > *pli;
    *pli = pub->n_pli;
    for (int e = 0; e < 3; e++)
        send_sim_n(pub, base + (uint32_t)e, rid[e], &seq[e], ts, pid[e]++, key,
                   (uint8_t)('a' + e), size[e]);
}

/* 80 pictures (2.4 s) in which f has stopped: q and h go on, h with a
 * keyframe at the first request (browsers bs[0..n) pumped after each).
 * 1 if a request came. */
static int sim_top_stopped(browser *pub, uint32_t base, uint16_t seq[3], uint16_t pid[3],
                           uint32_t *ts, browser **bs, int n)
{
    static const char *const rid[3] = {"q", "h", "f"};
    int pli0 = pub->n_pli, key_h = 0;
    for (int f = 0; f < 80; f++) {
        int key = pub->n_pli > pli0 && !key_h;
        key_h |= key;
        for (int e = 0; e < 2; e++)
            send_sim(pub, base + (uint32_t)e, rid[e], &seq[e], *ts, pid[e]++, e == 1 && key,
                     (uint8_t)('a' + e));
        *ts += 3000;
        pump_all(bs, n, 30);
    }
    return key_h;
}

/* Room 1 with a teacher offering simulcast (member m) and the viewers
 * (members m + 1, ...), each browser initialised and flagged before. */
static void sim_room_open(browser *pub, browser **subs, int n, uint32_t m)
{
    CC_CHECK_EQ(cc_sfu_room_open(g_w, 1), 0);
    join(pub, "chromium-offer-simulcast-teacher.sdp", 1, m, NULL);
    for (int i = 0; i < n; i++)
        join(subs[i], "chromium-offer-viewer.sdp", 0, m + 1 + (uint32_t)i, NULL);
}

/* Room 1 closed and its browsers freed. */
static void room_close_free(browser **bs, int n)
{
    CC_CHECK_EQ(cc_sfu_room_close(g_w, 1), 0);
    usleep(100000);
    for (int i = 0; i < n; i++)
        browser_free(bs[i]);
    (void)count_events(-1, NULL);
}

/* Where a subscriber starts on three simulcast encodings (q, h, f): one
 * with transport-cc on q, the lowest (its first allocation, a second
 * later, moves it as its estimate allows; whether up depends on what its
 * feedback shows of this machine's load, so it is printed, not checked),
 * one without on f, the top, where its allocation (no estimate) would
 * take it anyway. */
static void test_simulcast_start(void)
{
    browser pub, sub, plain;
    browser_init(&pub, 57);
    browser_init(&sub, 58);
    browser_init(&plain, 50);
    plain.no_twcc = 1;
    browser *all[3] = {&pub, &sub, &plain};
    sim_room_open(&pub, all + 1, 2, 66);
    static const size_t size[3] = {200, 200, 200};
    uint16_t seq[3] = {100, 5000, 9000}, pid[3] = {1, 200, 400};
    uint32_t ts = 90000;
    int pli = pub.n_pli;
    for (int f = 0; f < 50; f++) { /* 1.5 s */
        sim_picture(&pub, 0x5700, seq, pid, ts, size, f == 0, &pli);
        ts += 3000;
        pump_all(all, 3, 30);
    }
    printf("simulcast start: with transport-cc on '%c' first, '%c' after its first allocation; "
           "without, on '%c' first\n", sub.first_video_tag, sub.last_video_tag,
           plain.first_video_tag);
    CC_CHECK(sub.n_rtp_video > 20 && plain.n_rtp_video > 20);
    CC_CHECK_EQ(sub.first_video_tag, 'a');
    CC_CHECK_EQ(plain.first_video_tag, 'c');
    CC_CHECK_EQ(plain.last_video_tag, 'c');
    CC_CHECK_EQ(sub.bad_video + plain.bad_video, 0);
    room_close_free(all, 3);
}

/* A teacher's camera in three simulcast encodings (q, h, f), to a viewer
 * without transport-cc (so no estimate of this machine's load moves it):
 * it gets the top one only; when the top stops (a browser drops it when
 * its uplink is short) the subscriber moves to the next at its keyframe,
 * with numbering that continues; when the top is back, it moves up
 * again. */
static void test_simulcast(void)
{
    browser pub, sub;
    browser_init(&pub, 51);
    browser_init(&sub, 52);
    sub.no_twcc = 1;
    browser *all[2] = {&pub, &sub};
    sim_room_open(&pub, all + 1, 1, 60);
    static const char *const rid[3] = {"q", "h", "f"};
    uint16_t seq[3] = {100, 5000, 9000}, pid[3] = {1, 200, 400};
    uint32_t ts = 90000;
    cc_sfu_stats st0, st;
    cc_sfu_get_stats(g_sfu, &st0);
    /* Phase 1 (1.5 s): all three, a keyframe in each first and for each
     * request. */
    static const size_t size1[3] = {200, 200, 200};
    int pli1 = pub.n_pli;
    for (int f = 0; f < 50; f++) {
        sim_picture(&pub, 0x5100, seq, pid, ts, size1, f == 0, &pli1);
        ts += 3000;
        pump_all(all, 2, 30);
    }
    CC_CHECK(sub.n_rtp_video > 20);
    CC_CHECK_EQ(sub.first_video_tag, 'c');
    CC_CHECK_EQ(sub.last_video_tag, 'c');
    /* Phase 2 (2.5 s): f stops; h sends inter frames, and a keyframe when
     * asked (a PLI arrives). */
    CC_CHECK(sim_top_stopped(&pub, 0x5100, seq, pid, &ts, all, 2));
    CC_CHECK_EQ(sub.last_video_tag, 'b');
    /* Phase 2b (5 s): after 3.6 s (the allocation's hold since the step
     * down is over), f sends one lone keyframe, as a browser does on an
     * encoding its uplink starves, and answers each request the same way.
     * f does not flow (one picture a second at most): the subscriber stays
     * on h, and f is not asked for a keyframe. */
    cc_sfu_get_stats(g_sfu, &st);
    uint64_t sw0 = st.sim_switches;
    int pli_b = pub.n_pli, pli_b0 = 0, got_mid = 0;
    for (int f = 0; f < 170; f++) {
        if (f == 120) {
            pli_b0 = pli_b = pub.n_pli;
            got_mid = sub.n_rtp_video;
            send_sim(&pub, 0x5102, rid[2], &seq[2], ts, pid[2]++, 1, 'c');
        }
        /* A request is answered as a browser does: a keyframe in every
         * encoding it sends, the starved one's alone. */
        int key = f > 120 && pub.n_pli > pli_b;
        pli_b = pub.n_pli;
        if (key)
            send_sim(&pub, 0x5102, rid[2], &seq[2], ts, pid[2]++, 1, 'c');
        for (int e = 0; e < 2; e++)
            send_sim(&pub, 0x5100 + (uint32_t)e, rid[e], &seq[e], ts, pid[e]++, key,
                     (uint8_t)('a' + e));
        ts += 3000;
        pump_all(all, 2, 30);
    }
    CC_CHECK(sub.n_rtp_video - got_mid >= 40); /* h went on to the end */
    CC_CHECK_EQ(sub.last_video_tag, 'b');
    cc_sfu_get_stats(g_sfu, &st);
    CC_CHECK_EQ(st.sim_switches - sw0, 0);
    CC_CHECK_EQ(pub.n_pli - pli_b0, 0); /* no request for f */
    /* Phase 3: f is back (a keyframe first, as after a browser resumes an
     * encoding, and one for each request): the subscriber is on it again
     * once it has flowed for SFU_ENC_RESUMED (2 s), not before. */
    cc_time_us back_at = cc_clock_mono_us(), on_f = -1;
    int pli3 = pub.n_pli;
    for (int f = 0; f < 400 && on_f < 0 && cc_clock_mono_us() - back_at < 5 * CC_USEC_PER_SEC;
         f++) {
        int key = f == 0 || pub.n_pli > pli3;
        pli3 = pub.n_pli;
        for (int e = 0; e < 3; e++)
            send_sim(&pub, 0x5100 + (uint32_t)e, rid[e], &seq[e], ts, pid[e]++,
                     e == 2 && key, (uint8_t)('a' + e));
        ts += 3000;
        pump_all(all, 2, 30);
        if (sub.last_video_tag == 'c')
            on_f = cc_clock_mono_us() - back_at;
    }
    printf("simulcast: back on f %.0f ms after it resumed\n", on_f / 1000.0);
    CC_CHECK_EQ(sub.last_video_tag, 'c');
    CC_CHECK(on_f >= 2 * CC_USEC_PER_SEC - 100 * CC_USEC_PER_MSEC);
    CC_CHECK_EQ(sub.bad_video, 0); /* one stream: no gaps, right SSRC/PT */
    cc_sfu_get_stats(g_sfu, &st);
    CC_CHECK(st.sim_switches - st0.sim_switches >= 2);
    CC_CHECK_EQ(st.drop_unknown_ssrc - st0.drop_unknown_ssrc, 0);
    room_close_free(all, 2);
}

/* The same three encodings at 5 pictures a second (a camera on a slow
 * uplink, a screen): when f stops while h goes on, the subscriber on f
 * leaves it once f has been silent SFU_ENC_SILENT (300 ms), not after
 * SFU_ENC_STALE_CAMERA (1 s) without a packet; the switch is counted
 * (sim_stopped) and the stream stays one stream. */
#define SFU_TEST_SILENT_US (300 * CC_USEC_PER_MSEC) /* SFU_ENC_SILENT, sfu_priv.h */

static void test_simulcast_stopped(void)
{
    browser pub, sub;
    browser_init(&pub, 53);
    browser_init(&sub, 54);
    sub.no_twcc = 1; /* no estimate of this machine's load moves it */
    browser *all[2] = {&pub, &sub};
    sim_room_open(&pub, all + 1, 1, 62);
    static const char *const rid[3] = {"q", "h", "f"};
    uint16_t seq[3] = {300, 6000, 12000}, pid[3] = {10, 300, 600};
    /* Each encoding about three times the one beneath, as a browser's. */
    static const size_t size[3] = {120, 360, 1080};
    uint32_t ts = 45000;
    /* 3 s of all three, a keyframe in each first and for each request:
     * the subscriber is on f. */
    cc_time_us last_f = 0;
    int pli_up = pub.n_pli;
    for (int f = 0; f < 15; f++) {
        sim_picture(&pub, 0x5300, seq, pid, ts, size, f == 0, &pli_up);
        last_f = cc_clock_mono_us();
        ts += 18000;
        pump_all(all, 2, 200);
    }
    CC_CHECK_EQ(sub.last_video_tag, 'c');
    cc_sfu_stats st0, st;
    cc_sfu_get_stats(g_sfu, &st0);
    /* f stops; q and h go on, h answering a request at once with a
     * keyframe (times from f's last packet: its silence). */
    cc_time_us asked = -1, on_h = -1;
    uint32_t asked_ssrc = 0;
    int pli0 = pub.n_pli;
    for (int f = 0; f < 15 && on_h < 0; f++) {
        for (int e = 0; e < 2; e++)
            send_sim_n(&pub, 0x5300 + (uint32_t)e, rid[e], &seq[e], ts, pid[e]++, 0,
                       (uint8_t)('a' + e), size[e]);
        ts += 18000;
        for (int k = 0; k < 10 && on_h < 0; k++) {
            pump_all(all, 2, 20);
            if (pub.n_pli > pli0 && asked < 0) {
                asked = cc_clock_mono_us() - last_f;
                asked_ssrc = pli0 < 16 ? pub.pli_ssrc[pli0] : 0;
                send_sim_n(&pub, 0x5301, rid[1], &seq[1], ts - 9000, pid[1]++, 1, 'b', size[1]);
            }
            if (sub.last_video_tag == 'b')
                on_h = cc_clock_mono_us() - last_f;
        }
    }
    cc_sfu_get_stats(g_sfu, &st);
    printf("simulcast at 5 pictures/s: f stopped; h asked for %.0f ms and on it %.0f ms after "
           "f's last packet (%llu counted as stopped; the request for %x)\n", asked / 1000.0,
           on_h / 1000.0, (unsigned long long)(st.sim_stopped - st0.sim_stopped), asked_ssrc);
    /* Silent for 300 ms, then at h's next picture (200 ms apart): the
     * encoding's staleness alone took 1 s. */
    CC_CHECK(asked >= SFU_TEST_SILENT_US);
    CC_CHECK(asked < SFU_TEST_SILENT_US + 300 * CC_USEC_PER_MSEC);
    CC_CHECK_EQ(asked_ssrc, 0x5301u); /* h's keyframe, not q's */
    CC_CHECK(on_h > 0);
    CC_CHECK_EQ(sub.last_video_tag, 'b');
    CC_CHECK_EQ(st.sim_stopped - st0.sim_stopped, 1);
    CC_CHECK_EQ(sub.bad_video, 0);
    room_close_free(all, 2);
}

/* A lesson over two workers with the teacher's camera in three simulcast
 * encodings (q, h, f): the students on the mirror worker get each the
 * encoding its own allocation picks, as the owner's do, not one for all.
 * On each worker, one with transport-cc starts on q and one without on f;
 * a NACK on the mirror is answered from its copy of q or f; when f stops,
 * the one on f moves to h at a keyframe of h asked for from the mirror. */
static void test_split_simulcast(void)
{
    const uint32_t room = 9;
    browser pub, sub[4];
    browser_init(&pub, 90);
    for (int i = 0; i < 4; i++) {
        browser_init(&sub[i], 91 + i);
        sub[i].no_twcc = i % 2; /* 0, 2: transport-cc; 1, 3: none */
    }
    int placed[4], owner;
    cc_dataplane *dp = split_open(room, &pub, "chromium-offer-simulcast-teacher.sdp", sub, 90,
                                  placed, &owner);
    if (!dp)
        return;
    browser *all[5] = {&pub, &sub[0], &sub[1], &sub[2], &sub[3]};
    static const size_t size[3] = {200, 200, 200};
    uint16_t seq[3] = {100, 5000, 9000}, pid[3] = {1, 200, 400};
    uint32_t ts = 90000;
    int pli = pub.n_pli;
    /* Phase 1 (1.5 s): all three, a keyframe in each first and for each
     * request. */
    for (int f = 0; f < 50; f++) {
        sim_picture(&pub, 0x5900, seq, pid, ts, size, f == 0, &pli);
        ts += 3000;
        pump_all(all, 5, 30);
    }
    for (int i = 0; i < 4; i++) {
        printf("split simulcast: student %d (worker %d, %s) on '%c' first, '%c' now\n", i,
               placed[i], sub[i].no_twcc ? "no transport-cc" : "transport-cc",
               sub[i].first_video_tag, sub[i].last_video_tag);
        CC_CHECK(sub[i].n_rtp_video > 20);
        CC_CHECK_EQ(sub[i].first_video_tag, sub[i].no_twcc ? 'c' : 'a');
        CC_CHECK_EQ(sub[i].bad_video, 0);
    }
    CC_CHECK_EQ(sub[3].last_video_tag, 'c');
    /* Each student on the mirror loses a packet and NACKs it. */
    for (int i = 2; i < 4; i++)
        sub[i].drop_next_video = 1;
    sim_picture(&pub, 0x5900, seq, pid, ts, size, 0, &pli);
    ts += 3000;
    pump_all(all, 5, 50);
    for (int i = 2; i < 4; i++) {
        browser *m = &sub[i];
        CC_CHECK_EQ(m->dropped, 1);
        uint8_t nack[64];
        int nl = cc_rtcp_write_nack(nack, sizeof nack, 1, m->video_ssrc, &m->dropped_seq, 1);
        send_rtcp(m, nack, (size_t)nl);
    }
    pump_all(all, 5, 50);
    for (int i = 2; i < 4; i++) {
        CC_CHECK_EQ(sub[i].rtx_match, 1);
        sub[i].bad_video = 0;
    }
    /* Phase 2 (2.5 s): f stops; h sends inter frames, and a keyframe when
     * asked. */
    CC_CHECK(sim_top_stopped(&pub, 0x5900, seq, pid, &ts, all, 5));
    for (int i = 1; i < 4; i += 2)
        CC_CHECK_EQ(sub[i].last_video_tag, 'b');
    for (int i = 0; i < 4; i++)
        CC_CHECK_EQ(sub[i].bad_video, 0);
    cc_sfu_stats st;
    cc_sfu_get_stats(cc_dataplane_sfu(dp, placed[2]), &st);
    CC_CHECK_EQ(st.mirror_rooms, 1);
    CC_CHECK(st.sim_switches >= 1);
    CC_CHECK(st.rtx_sent >= 2);
    cc_sfu_get_stats(cc_dataplane_sfu(dp, owner), &st);
    CC_CHECK_EQ(st.xfer_drop, 0);
    CC_CHECK_EQ(cc_dataplane_room_close(dp, room), 0);
    for (int i = 0; i < 50 && cc_dataplane_peer_count(dp) > 0; i++)
        usleep(10000);
    CC_CHECK_EQ(cc_dataplane_peer_count(dp), 0);
    cc_dataplane_free(dp);
    browser_free(&pub);
    for (int i = 0; i < 4; i++)
        browser_free(&sub[i]);
    (void)count_events(-1, NULL);
}

/* A subscriber whose link carries less than even the lowest encoding: its
 * estimate shows the limit (an over-use) before its first allocation, a
 * second after it connected. It stays on q, the encoding it started on,
 * and the teacher is never asked for f on its behalf: the second of no
 * limit before (the optimistic start) is not held as if it had been
 * measured. */
static void test_start_limited(void)
{
    browser pub, sub;
    browser_init(&pub, 55);
    browser_init(&sub, 56);
    sub.link_bps = 60000;
    browser *all[2] = {&pub, &sub};
    sim_room_open(&pub, all + 1, 1, 64);
    /* About 95, 175 and 330 kbit/s at 33 pictures a second. */
    static const size_t size[3] = {150, 300, 600};
    uint16_t seq[3] = {400, 7000, 13000}, pid[3] = {20, 320, 620};
    uint32_t ts = 9000;
    int pli = pub.n_pli, pli0 = pub.n_pli;
    for (int f = 0; f < 60; f++) {
        sim_picture(&pub, 0x5400, seq, pid, ts, size, f == 0, &pli);
        ts += 2700;
        pump_all(all, 2, 30);
    }
    int asked_f = 0;
    for (int k = pli0; k < pub.n_pli && k < 16; k++)
        asked_f += pub.pli_ssrc[k] == 0x5402u;
    printf("a subscriber on a 60 kbit/s link: %d keyframe requests, %d for f; on '%c' at the end\n",
           pub.n_pli - pli0, asked_f, sub.last_video_tag);
    CC_CHECK(sub.n_rtp_video > 40);
    CC_CHECK_EQ(sub.first_video_tag, 'a');
    CC_CHECK_EQ(sub.last_video_tag, 'a');
    CC_CHECK_EQ(asked_f, 0);
    CC_CHECK_EQ(sub.bad_video, 0);
    room_close_free(all, 2);
}

/* A path that has shown a limit (here loss, 1 packet in 12) but no
 * over-use has no measured capacity: a step that costs a keyframe goes
 * only to what the link has shown it carries over a second, and the SFU
 * fills the link with padding to show more (sub_fill), in steps of at
 * most twice what it has shown. The teacher sends q alone (about 60
 * kbit/s) for 1.5 s, then h (150) and f (420) as well: the subscriber
 * gets there through fills. Without them it would stay on q for a
 * minute; without the limit at what was shown it would take f at once,
 * as the 300 kbit/s student of scripts/bench/links took a probe's
 * reading through its token bucket. */
static void test_fill_shows_more(void)
{
    browser pub, sub;
    browser_init(&pub, 65);
    browser_init(&sub, 66);
    sub.fb_lose_every = 12;
    browser *all[2] = {&pub, &sub};
    sim_room_open(&pub, all + 1, 1, 72);
    static const size_t size[3] = {80, 220, 760};
    uint16_t seq[3] = {100, 6000, 12000}, pid[3] = {5, 305, 605};
    uint32_t ts = 18000;
    int pli = pub.n_pli;
    cc_sfu_stats st0, st;
    cc_sfu_get_stats(g_sfu, &st0);
    int f = 0;
    for (; f < 50; f++) { /* q alone */
        send_sim_n(&pub, 0x5900, "q", &seq[0], ts, pid[0]++, f == 0 || pub.n_pli > pli, 'a',
                   size[0]);
        pli = pub.n_pli;
        ts += 2700;
        pump_all(all, 2, 30);
    }
    cc_time_us sent_at = cc_clock_mono_us(), up_at = -1;
    for (; f < 500 && up_at < 0; f++) { /* at most 13.5 s more */
        sim_picture(&pub, 0x5900, seq, pid, ts, size, f == 50, &pli);
        ts += 2700;
        pump_all(all, 2, 30);
        if (sub.last_video_tag >= 'b')
            up_at = cc_clock_mono_us() - sent_at;
    }
    cc_sfu_get_stats(g_sfu, &st);
    printf("fill: h and f sent from 1.5 s; the subscriber on '%c' %d ms later; %llu fills "
           "(%llu showed what was needed), %llu padding packets\n",
           sub.last_video_tag, up_at < 0 ? -1 : (int)(up_at / 1000),
           (unsigned long long)(st.fills - st0.fills),
           (unsigned long long)(st.fills_lifted - st0.fills_lifted),
           (unsigned long long)(st.fill_packets - st0.fill_packets));
    CC_CHECK(up_at >= 0);
    CC_CHECK(st.fills > st0.fills);
    CC_CHECK(st.fills_lifted > st0.fills_lifted);
    CC_CHECK(st.fill_packets > st0.fill_packets);
    CC_CHECK_EQ(sub.bad_video, 0);
    room_close_free(all, 2);
}

/* A keyframe's burst: the queue it leaves at the link is the SFU's own
 * and ends when the keyframe has passed, so the estimate is not cut under
 * what it was while it drains (sfu_sub_keyframe_out; its effect on the
 * estimate is test_bwe test_own_queue's). A subscriber on a 400 kbit/s
 * link: the optimistic start on f (about 620 kbit/s) over-uses and
 * measures the link, and it settles lower; each of the teacher's
 * keyframes after that (11 KB on h, 220 ms of that link; 22 KB on f)
 * holds the estimate. A keyframe on a link whose capacity no over-use
 * has measured holds nothing. */
static void sim_picture_kf(browser *pub, uint32_t base, uint16_t seq[3], uint16_t pid[3],
                           uint32_t ts, const size_t size[3], int key, int *pli)
{
    static const char *const rid[3] = {"q", "h", "f"};
    static const int kf_pkts[3] = {3, 10, 20};
    key = key || pub->n_pli > *pli;
    *pli = pub->n_pli;
    for (int e = 0; e < 3; e++)
        send_sim_pkts(pub, base + (uint32_t)e, rid[e], &seq[e], ts, pid[e]++, key,
                      (uint8_t)('a' + e), key ? 1100 : size[e], key ? kf_pkts[e] : 2);
}

static void test_keyframe_floor(void)
{
    browser pub, sub;
    browser_init(&pub, 67);
    browser_init(&sub, 68);
    sub.link_bps = 400000;
    browser *all[2] = {&pub, &sub};
    sim_room_open(&pub, all + 1, 1, 74);
    static const size_t size[3] = {80, 220, 1100};
    uint16_t seq[3] = {300, 6300, 12300}, pid[3] = {7, 307, 607};
    uint32_t ts = 27000;
    int pli = pub.n_pli, f = 0;
    cc_sfu_stats st0, st;
    cc_sfu_get_stats(g_sfu, &st0);
    for (; f < 20; f++) { /* the first keyframes: no capacity yet */
        sim_picture_kf(&pub, 0x5a00, seq, pid, ts, size, f == 0, &pli);
        ts += 2700;
        pump_all(all, 2, 30);
    }
    cc_sfu_get_stats(g_sfu, &st);
    CC_CHECK_EQ(st.kf_floors, st0.kf_floors);
    for (; f < 270; f++) { /* 7.5 s: settles */
        sim_picture_kf(&pub, 0x5a00, seq, pid, ts, size, 0, &pli);
        ts += 2700;
        pump_all(all, 2, 30);
    }
    char on = sub.last_video_tag;
    cc_sfu_get_stats(g_sfu, &st0);
    for (int k = 0; k < 3; k++) { /* three keyframes, 3 s apart */
        for (int g = 0; g < 100; g++, f++) {
            sim_picture_kf(&pub, 0x5a00, seq, pid, ts, size, g == 0, &pli);
            ts += 2700;
            pump_all(all, 2, 30);
        }
    }
    cc_sfu_get_stats(g_sfu, &st);
    printf("keyframes on a measured link: on '%c' before, '%c' after; %llu floors, %llu steps "
           "down\n", on, sub.last_video_tag, (unsigned long long)(st.kf_floors - st0.kf_floors),
           (unsigned long long)(st.alloc_down - st0.alloc_down));
    CC_CHECK(on == 'b');
    CC_CHECK(st.kf_floors >= st0.kf_floors + 3);
    CC_CHECK_EQ(sub.bad_video, 0);
    room_close_free(all, 2);
}

/* A publisher's uplink estimate from abs-send-time: while its packets
 * arrive as they were sent, no REMB (its own estimate from transport-cc
 * feedback is not capped); when their send times advance slower than
 * they arrive (a queue growing in front of its uplink's shaper), a REMB
 * with the estimate's cap, below the 2.5 Mbit/s the estimate starts at,
 * within a second. */
static void test_uplink_remb(void)
{
    browser pub, sub;
    browser_init(&pub, 59);
    browser_init(&sub, 60);
    CC_CHECK_EQ(cc_sfu_room_open(g_w, 1), 0);
    join(&pub, "chromium-offer-publisher.sdp", 1, 68, NULL);
    join(&sub, "chromium-offer-viewer.sdp", 0, 69, NULL);
    browser *all[2] = {&pub, &sub};
    cc_sfu_stats st0, st;
    cc_sfu_get_stats(g_sfu, &st0);
    pub.abs_on = 1;
    pub.abs_speed = 1.0;
    pub.abs_t0 = cc_clock_mono_us();
    pub.abs_base = 40 * CC_USEC_PER_SEC;
    uint16_t seq = 3000, pid = 50;
    uint32_t ts = 90000;
    /* 2 s of 30 pictures a second, 4 packets of 1000 bytes each (about
     * 1 Mbit/s), arriving as sent. */
    for (int f = 0; f < 60; f++, ts += 3000) {
        send_vp8_n(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, f == 0, -1, 0, 4, 1000, 0x33);
        pump_all(all, 2, 33);
    }
    CC_CHECK_EQ(pub.n_remb, 0);
    /* Then the sender's clock runs at 0.6 x ours: each second of sending
     * arrives 400 ms later than the last. */
    pub.abs_base += (cc_time_us)((double)(cc_clock_mono_us() - pub.abs_t0) * pub.abs_speed);
    pub.abs_t0 = cc_clock_mono_us();
    pub.abs_speed = 0.6;
    cc_time_us slow_at = cc_clock_mono_us(), remb_at = -1;
    for (int f = 0; f < 60 && remb_at < 0; f++, ts += 3000) {
        send_vp8_n(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, 0, -1, 0, 4, 1000, 0x33);
        pump_all(all, 2, 33);
        if (pub.n_remb > 0)
            remb_at = cc_clock_mono_us() - slow_at;
    }
    cc_sfu_get_stats(g_sfu, &st);
    printf("uplink: REMB %llu kbit/s %.0f ms after the delay began to grow (%llu sent)\n",
           (unsigned long long)(pub.last_remb_bps / 1000), remb_at / 1000.0,
           (unsigned long long)(st.remb_uplink - st0.remb_uplink));
    CC_CHECK(remb_at >= 0 && remb_at < CC_USEC_PER_SEC);
    CC_CHECK(pub.last_remb_bps > 0 && pub.last_remb_bps < 2500000);
    CC_CHECK(st.remb_uplink > st0.remb_uplink);
    /* Then 40 packets stamped over 200 ms arrive at once: the sender's
     * network thread catching up (upbwe.c), not a queue emptying. The
     * cap is released at once (a REMB that caps nothing). */
    pub.abs_speed = 1.0;
    cc_time_us burst_at = cc_clock_mono_us();
    for (int k = 0; k < 40; k++) {
        pub.abs_base += 5000;
        send_vp8_n(&pub, PUB_VIDEO_SSRC, &seq, ts, pid, k == 0, -1, 0, 1, 1000, 0x33);
    }
    ts += 3000;
    pid++;
    cc_time_us released_at = -1;
    for (int f = 0; f < 30 && released_at < 0; f++, ts += 3000) {
        send_vp8_n(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, 0, -1, 0, 4, 1000, 0x33);
        pump_all(all, 2, 33);
        if (pub.last_remb_bps >= 10000000) /* SFU_UPLINK_RELEASE_BPS, as REMB encodes it */
            released_at = cc_clock_mono_us() - burst_at;
    }
    printf("uplink: the sender's catch-up released the cap %.0f ms after it\n",
           released_at / 1000.0);
    CC_CHECK(released_at >= 0 && released_at < 500 * CC_USEC_PER_MSEC);
    CC_CHECK_EQ(cc_sfu_room_close(g_w, 1), 0);
    usleep(100000);
    browser_free(&pub);
    browser_free(&sub);
    (void)count_events(-1, NULL);
}

static void nap(cc_worker *w, void *arg, cc_time_us now)
{
    (void)w;
    (void)arg;
    (void)now;
    usleep(100000);
}

/* The worker busy for 100 ms while the teacher keeps sending a packet
 * every 5 ms: the transport-cc feedback says when each packet reached the
 * machine (the kernel's receive time), 5 ms apart, not when the worker
 * read them all at once. Read times would show the teacher's browser a
 * 100 ms queue growing on its uplink. */
static void test_arrival_kernel_time(void)
{
    browser pub, sub;
    browser_init(&pub, 61);
    browser_init(&sub, 62);
    CC_CHECK_EQ(cc_sfu_room_open(g_w, 1), 0);
    join(&pub, "chromium-offer-publisher.sdp", 1, 70, NULL);
    join(&sub, "chromium-offer-viewer.sdp", 0, 71, NULL);
    browser *all[2] = {&pub, &sub};
    CC_CHECK(pub.twcc_id > 0);
    uint16_t seq = 5000, pid = 10;
    uint32_t ts = 9000;
    for (int f = 0; f < 10; f++, ts += 3000) {
        send_vp8_n(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, f == 0, -1, 0, 1, 500, 0x44);
        pump_all(all, 2, 5);
    }
    CC_CHECK_EQ(cc_worker_call(g_w, nap, NULL, NULL), 0);
    usleep(10000);
    uint16_t first = pub.twcc_seq;
    for (int f = 0; f < 16; f++, ts += 3000) {
        send_vp8_n(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, 0, -1, 0, 1, 500, 0x44);
        usleep(5000);
    }
    uint16_t last = (uint16_t)(pub.twcc_seq - 1);
    pump_all(all, 2, 400);
    cc_time_us a0 = pub.fb_arrival[first & 255], a1 = pub.fb_arrival[last & 255];
    printf("16 packets sent 5 ms apart while the worker was busy: feedback spans %.1f ms\n",
           (a1 - a0) / 1000.0);
    CC_CHECK(a0 != 0 && a1 != 0);
    CC_CHECK(a1 - a0 >= 50000 && a1 - a0 <= 150000);
    CC_CHECK_EQ(cc_sfu_room_close(g_w, 1), 0);
    usleep(100000);
    browser_free(&pub);
    browser_free(&sub);
    (void)count_events(-1, NULL);
}

/* A subscriber whose link carries less than it is sent: it sends no
 * transport-wide feedback, so its estimate is cut for the lack of it
 * (from 300 kbit/s, 0.8 x a second) and it is paced. A keyframe of 150
 * packets (1.4 Mbit, several seconds at that pace) leaves the front of
 * its queue waiting over SFU_PACE_MAX_WAIT (1.5 s): the queue is dropped
 * rather than sent late. The allocation has meanwhile paused the camera
 * (the keyframe's rate is far over the estimate); at its resume the
 * subscriber starts again at a new keyframe, and none of the dropped
 * packets reach it after the flush. */
#define SFU_TEST_PACE_MAX_WAIT_US (1500 * CC_USEC_PER_MSEC) /* sfu_priv.h */

static void test_pace_flush(void)
{
    browser pub, sub;
    browser_init(&pub, 57);
    browser_init(&sub, 58);
    CC_CHECK_EQ(cc_sfu_room_open(g_w, 1), 0);
    join(&pub, "chromium-offer-publisher.sdp", 1, 66, NULL);
    join(&sub, "chromium-offer-viewer.sdp", 0, 67, NULL);
    sub.no_fb = 1;
    browser *all[2] = {&pub, &sub};
    cc_sfu_stats st0, st;
    cc_sfu_get_stats(g_sfu, &st0);
    uint16_t seq = 7000, pid = 900;
    uint32_t ts = 270000;
    /* 2.5 s of 10 small pictures a second (about 35 kbit/s). */
    for (int f = 0; f < 25; f++, ts += 9000) {
        send_vp8_n(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, f == 0, -1, 0, 2, 200, 0x33);
        pump_all(all, 2, 100);
    }
    cc_sfu_get_stats(g_sfu, &st);
    CC_CHECK_EQ(st.paced_subscribers - st0.paced_subscribers, 1);
    CC_CHECK_EQ(st.pace_flushes - st0.pace_flushes, 0);
    int got0 = sub.n_rtp_video, pli0 = pub.n_pli, got_flush = -1, got_key = -1;
    /* The large keyframe, then small pictures; a request is answered
     * with a small keyframe whose payload is 0x77. */
    cc_time_us burst_at = cc_clock_mono_us(), flushed = -1, key_back = -1;
    send_vp8_n(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, 1, -1, 0, 150, 1100, 0x55);
    ts += 9000;
    for (int f = 0; f < 60 && key_back < 0; f++, ts += 9000) {
        int key = pub.n_pli > pli0;
        pli0 = pub.n_pli;
        send_vp8_n(&pub, PUB_VIDEO_SSRC, &seq, ts, pid++, key, -1, 0, 2, 200,
                   key ? 0x77 : 0x33);
        for (int k = 0; k < 5 && key_back < 0; k++) {
            pump_all(all, 2, 20);
            cc_sfu_get_stats(g_sfu, &st);
            if (flushed < 0 && st.pace_flushes > st0.pace_flushes) {
                flushed = cc_clock_mono_us() - burst_at;
                got_flush = sub.n_rtp_video;
            }
            if (flushed >= 0 && sub.last_video_tag == 0x77) {
                key_back = cc_clock_mono_us() - burst_at;
                got_key = sub.n_rtp_video;
            }
        }
    }
    cc_sfu_get_stats(g_sfu, &st);
    printf("paced subscriber: a 150-packet keyframe; queue dropped after %.0f ms (%llu packets, "
           "%d of the burst had gone out), a new keyframe there after %.0f ms\n",
           flushed / 1000.0, (unsigned long long)(st.pace_drop - st0.pace_drop),
           got_flush - got0, key_back / 1000.0);
    CC_CHECK_EQ(st.pace_flushes - st0.pace_flushes, 1);
    CC_CHECK(flushed >= SFU_TEST_PACE_MAX_WAIT_US);
    CC_CHECK(flushed < SFU_TEST_PACE_MAX_WAIT_US + 500 * CC_USEC_PER_MSEC);
    CC_CHECK(st.pace_drop - st0.pace_drop >= 50);
    CC_CHECK(got_flush - got0 < 150);
    CC_CHECK(key_back > flushed);
    CC_CHECK(key_back < 4 * CC_USEC_PER_SEC);
    /* After the flush, the new keyframe's two packets (the second may be
     * on its way): nothing from the dropped queue. */
    CC_CHECK(got_key - got_flush >= 1 && got_key - got_flush <= 2);
    /* One gap in the numbers (the dropped packets had theirs; the
     * receiver NACKs them and forgets them at the keyframe), nothing
     * else amiss. */
    CC_CHECK_EQ(sub.bad_video, 1);
    CC_CHECK_EQ(cc_sfu_room_close(g_w, 1), 0);
    usleep(100000);
    browser_free(&pub);
    browser_free(&sub);
    (void)count_events(-1, NULL);
}

int main(void)
{
    /* CC_LOG_LEVEL=debug: the SFU's estimate and allocation lines. */
    cc_log_level lvl;
    if (cc_log_parse_level(getenv("CC_LOG_LEVEL"), &lvl) == 0)
        cc_log_set_level(lvl);
    cc_srtp_global_init();
    CC_CHECK_EQ(cc_pkt_pool_new(&g_local_pool, 8192), 0);
    CC_CHECK_EQ(cc_dtls_ctx_new(&g_server_ctx), 0);
    CC_CHECK_EQ(cc_dtls_ctx_new(&g_browser_ctx), 0);
    CC_CHECK_EQ(cc_sfu_new(&g_sfu), 0);
    /* Most cases here are about the request path; the replay cases set
     * their mode and go back to this. */
    cc_sfu_set_keyframe_replay(g_sfu, CC_SFU_REPLAY_OFF);
    CC_CHECK_EQ(cc_mailbox_new(&g_events), 0);
    /* Handshakes on the handshake thread, as `classcast serve` runs them;
     * lane 0 for the main worker, 1 for the capped one. */
    CC_CHECK_EQ(cc_hs_new(&g_hs, g_server_ctx, 2, 0), 0);
    CC_CHECK_EQ(cc_hs_start(g_hs), 0);
    cc_worker_config wc = {.app_ud = g_sfu, .events = g_events, .hs = g_hs, .hs_lane = 0};
    cc_addr_from_string(&wc.bind, "127.0.0.1", 0);
    CC_CHECK_EQ(cc_worker_new(&g_w, &wc, g_server_ctx), 0);
    CC_CHECK_EQ(cc_worker_start(g_w), 0);
    g_params.fingerprint = cc_dtls_ctx_fingerprint(g_server_ctx);
    g_params.candidates[0] = *cc_worker_local(g_w);
    g_params.n_candidates = 1;

    CC_RUN(test_prepare_errors);
    CC_RUN(test_room);
    CC_RUN(test_layers);
    CC_RUN(test_upstream_loss);
    CC_RUN(test_simulcast_start);
    CC_RUN(test_simulcast);
    CC_RUN(test_simulcast_stopped);
    CC_RUN(test_split_simulcast);
    CC_RUN(test_start_limited);
    CC_RUN(test_fill_shows_more);
    CC_RUN(test_keyframe_floor);
    CC_RUN(test_pace_flush);
    CC_RUN(test_uplink_remb);
    CC_RUN(test_arrival_kernel_time);
    CC_RUN(test_keyframe_due);
    CC_RUN(test_keyframe_early);
    CC_RUN(test_keyframe_fresh);
    CC_RUN(test_join_bell);
    CC_RUN(test_nack_lessons);
    CC_RUN(test_nack_lessons_capped);
    CC_RUN(test_split_room);

    cc_worker_stop(g_w);
    cc_hs_stop(g_hs);
    cc_worker_free(g_w);
    cc_sfu_free(g_sfu);
    cc_hs_stats hst;
    cc_hs_get_stats(g_hs, &hst);
    printf("handshake thread: %llu sessions, %llu connected, %llu failed, %llu released, "
           "%llu live, %.1f ms in OpenSSL\n", (unsigned long long)hst.sessions,
           (unsigned long long)hst.connected, (unsigned long long)hst.failed,
           (unsigned long long)hst.released, (unsigned long long)hst.live, hst.busy_us / 1000.0);
    CC_CHECK(hst.connected >= 40);
    CC_CHECK_EQ(hst.failed, 0);
    cc_hs_free(g_hs);
    cc_mailbox_free(g_events);
    cc_dtls_ctx_free(g_server_ctx);
    cc_dtls_ctx_free(g_browser_ctx);
    cc_pkt_pool_free(g_local_pool);
    CC_TEST_DONE();
}
