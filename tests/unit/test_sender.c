/* cc_sender's congestion control (src/tools/sender.c, the WHIP publisher's
 * side of draft-holmer-rmcat-transport-wide-cc-extensions-01): the offer
 * carries transport-cc only when asked and the server's answer writer
 * keeps it; with it every packet of the transport (video, audio, resends,
 * probe padding) carries one counter's next number and nothing else
 * moves that counter; classcast's own feedback builder (cc_twcc_recv, as
 * the SFU runs it) drives the estimate through a simulated bottleneck
 * with a FIFO queue, and a fake encoder set from cc_sender_target_bps
 * settles near the bottleneck's rate with a short queue; REMB caps it;
 * without transport-cc nothing is numbered and the target is 0.
 * Simulcast (RFC 8853): the offer's rids, simulcast line and rid extmap,
 * read back by the project's SDP parser, taken by the SFU's answer writer
 * and read from its answer; the sender sends each encoding the answer
 * took on an SSRC of its own with mid and rid on every packet, none of
 * the one it left out, an SR for each, resends from each SSRC's history
 * and a keyframe for a PLI on any of them.
 * In memory, manual clock, real ICE/DTLS/SRTP (cc_client against cc_peer). */
#include "cc_test.h"
#include "classcast/client.h"
#include "classcast/err.h"
#include "classcast/peer.h"
#include "classcast/rtcp.h"
#include "classcast/rtp.h"
#include "classcast/sdp.h"
#include "classcast/sdp_offer.h"
#include "classcast/sender.h"
#include "classcast/twcc.h"

#define EXT_MID 1
#define EXT_TWCC 3
#define EXT_RID CC_OFFER_EXT_RID
#define VSSRC 0x11112222u
#define ASSRC 0x33334444u
#define HSSRC 0x55556666u /* simulcast: the half-size encoding */
#define CHECK_STR(a, b) CC_CHECK(strcmp((a), (b)) == 0)

/* ---- the offer and the answer ---- */

static void test_offer_answer(void)
{
    cc_addr cand;
    cc_addr_from_string(&cand, "127.0.0.1", 40404);
    cc_sdp_offer_params op = {
        .ice_ufrag = "abcd1234", .ice_pwd = "0123456789abcdefghijklmn",
        .fingerprint = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
                       "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
        .send = 1, .video = 1, .audio = 1, .video_ssrc = VSSRC, .audio_ssrc = ASSRC,
        .cname = "c", .stream_id = "s", .candidate = &cand,
    };
    cc_sdp_offer *o = calloc(1, sizeof *o);
    cc_sdp_answer_params *ap = calloc(1, sizeof *ap);
    for (int tcc = 0; tcc < 2; tcc++) {
        op.transport_cc = tcc;
        char *text = NULL;
        CC_CHECK_EQ(cc_sdp_offer_write(&op, &text), 0);
        CC_CHECK_EQ(cc_sdp_parse(text, strlen(text), o), 0);
        for (int i = 0; i < 2; i++) {
            const cc_sdp_codec *c = cc_sdp_find_codec(&o->media[i], i ? "opus" : "VP8");
            CC_CHECK(c != NULL);
            CC_CHECK_EQ(c && (c->fb & CC_FB_TWCC) != 0, tcc);
            CC_CHECK_EQ(cc_sdp_find_extmap(&o->media[i], CC_EXT_URI_TWCC),
                        tcc ? CC_OFFER_EXT_TWCC : 0);
            /* Not one of the other extensions' ids (RFC 8285 section 5). */
            CC_CHECK(cc_sdp_find_extmap(&o->media[i], CC_EXT_URI_MID) != CC_OFFER_EXT_TWCC);
            CC_CHECK(cc_sdp_find_extmap(&o->media[i], CC_EXT_URI_ABS_SEND_TIME) !=
                     CC_OFFER_EXT_TWCC);
        }
        /* The server's answer writer, as the SFU calls it for a publisher
         * (enable_twcc, src/sfu/sfu.c). */
        memset(ap, 0, sizeof *ap);
        ap->ice_ufrag = "srvufrag";
        ap->ice_pwd = "serverpasswordserverpass";
        ap->fingerprint = op.fingerprint;
        ap->cname = "srv";
        cc_addr_from_string(&ap->candidates[0], "127.0.0.1", 50000);
        ap->n_candidates = 1;
        ap->enable_twcc = 1;
        cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
        CC_CHECK_EQ(cc_sdp_choose(o, ap, ch), 0);
        char *answer = NULL;
        CC_CHECK_EQ(cc_sdp_write_answer(o, ap, ch, &answer), 0);
        cc_sdp_answer_info ai;
        CC_CHECK_EQ(cc_sdp_answer_read(answer, strlen(answer), &ai), 0);
        CC_CHECK(ai.video.present && ai.audio.present);
        CC_CHECK_EQ(ai.video.ext_twcc, tcc ? CC_OFFER_EXT_TWCC : 0);
        CC_CHECK_EQ(ai.audio.ext_twcc, tcc ? CC_OFFER_EXT_TWCC : 0);
        CC_CHECK_EQ((ai.video.fb & CC_FB_TWCC) != 0, tcc);
        CC_CHECK_EQ((ai.audio.fb & CC_FB_TWCC) != 0, tcc);
        free(answer);
        /* An answerer that does not do transport-cc drops both. */
        ap->enable_twcc = 0;
        CC_CHECK_EQ(cc_sdp_choose(o, ap, ch), 0);
        CC_CHECK_EQ(cc_sdp_write_answer(o, ap, ch, &answer), 0);
        CC_CHECK_EQ(cc_sdp_answer_read(answer, strlen(answer), &ai), 0);
        CC_CHECK_EQ(ai.video.ext_twcc, 0);
        CC_CHECK_EQ(ai.video.fb & CC_FB_TWCC, 0);
        free(answer);
        free(text);
    }
    free(ap);
    free(o);
}

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = strstr(text, line); p; p = strstr(p + 1, line))
        if ((p == text || p[-1] == '\n') && (p[n] == '\r' || p[n] == '\n'))
            return 1;
    return 0;
}

/* The offer classcast-publish writes for a camera in three encodings
 * (RFC 8853 section 5.1, RFC 8851 section 10, RFC 8852 section 3), read
 * by cc_sdp_parse, answered by the SFU's writer (accept_simulcast, as
 * src/sfu/sfu_negotiate.c sets it for publishers) and that answer read
 * back; an answerer without simulcast leaves it all out. */
static void test_offer_simulcast(void)
{
    cc_sdp_offer_params op = {
        .ice_ufrag = "abcd1234", .ice_pwd = "0123456789abcdefghijklmn",
        .fingerprint = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
                       "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
        .send = 1, .video = 1, .audio = 1, .video_ssrc = VSSRC, .audio_ssrc = ASSRC,
        .cname = "c", .stream_id = "s", .transport_cc = 1,
        .n_rids = 3, .rids = {"q", "h", "f"},
    };
    char *text = NULL;
    CC_CHECK_EQ(cc_sdp_offer_write(&op, &text), 0);
    CC_CHECK(text != NULL);
    if (!text)
        return;
    CC_CHECK(has_line(text, "a=rid:q send"));
    CC_CHECK(has_line(text, "a=rid:h send"));
    CC_CHECK(has_line(text, "a=rid:f send"));
    CC_CHECK(has_line(text, "a=simulcast:send q;h;f"));
    CC_CHECK(has_line(text, "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"));
    CC_CHECK(has_line(text, "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid"));
    /* As Chromium's: the video's SSRCs are not signalled (bound by mid
     * and rid); the audio's is. */
    char line[64];
    snprintf(line, sizeof line, "a=ssrc:%u cname:c", VSSRC);
    CC_CHECK(!has_line(text, line));
    snprintf(line, sizeof line, "a=ssrc:%u cname:c", ASSRC);
    CC_CHECK(has_line(text, line));
    /* One rid line each, on the video m-line only. */
    const char *audio = strstr(text, "m=audio");
    CC_CHECK(audio && !strstr(audio, "a=rid:") && !strstr(audio, "a=simulcast"));

    cc_sdp_offer *o = calloc(1, sizeof *o);
    CC_CHECK_EQ(cc_sdp_parse(text, strlen(text), o), 0);
    const cc_sdp_media *v = &o->media[0];
    CC_CHECK_EQ(v->kind, CC_MEDIA_VIDEO);
    CC_CHECK_EQ(v->n_rids, 3);
    CC_CHECK_EQ(v->n_sim, 3);
    CC_CHECK_EQ(v->n_sim_recv, 0);
    for (int k = 0; k < 3 && k < v->n_sim; k++) {
        CHECK_STR(v->sim[k], op.rids[k]);
        CHECK_STR(v->rids[k], op.rids[k]);
        CC_CHECK_EQ(v->rid_recv[k], 0);
        CC_CHECK_EQ(v->sim_paused[k], 0);
    }
    CC_CHECK_EQ(v->n_ssrcs, 0);
    CC_CHECK_EQ(cc_sdp_find_extmap(v, CC_EXT_URI_RID), CC_OFFER_EXT_RID);
    CC_CHECK_EQ(o->media[1].n_sim, 0);

    cc_sdp_answer_params *ap = calloc(1, sizeof *ap);
    ap->ice_ufrag = "srvufrag";
    ap->ice_pwd = "serverpasswordserverpass";
    ap->fingerprint = op.fingerprint;
    ap->cname = "srv";
    cc_addr_from_string(&ap->candidates[0], "127.0.0.1", 50000);
    ap->n_candidates = 1;
    ap->enable_twcc = 1;
    ap->enable_remb = 1;
    for (int accept = 1; accept >= 0; accept--) {
        ap->accept_simulcast = accept;
        cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
        CC_CHECK_EQ(cc_sdp_choose(o, ap, ch), 0);
        CC_CHECK_EQ(ch[0].n_sim, accept ? 3 : 0);
        CC_CHECK_EQ(ch[0].ext_rid, accept ? CC_OFFER_EXT_RID : 0);
        for (int k = 0; accept && k < 3; k++)
            CHECK_STR(ch[0].sim[k], op.rids[k]); /* lowest first */
        char *answer = NULL;
        CC_CHECK_EQ(cc_sdp_write_answer(o, ap, ch, &answer), 0);
        cc_sdp_answer_info ai;
        CC_CHECK_EQ(cc_sdp_answer_read(answer, strlen(answer), &ai), 0);
        CC_CHECK(ai.video.present && ai.audio.present);
        CC_CHECK_EQ(ai.video.n_sim, accept ? 3 : 0);
        CC_CHECK_EQ(ai.video.ext_rid, accept ? CC_OFFER_EXT_RID : 0);
        CC_CHECK_EQ(ai.video.ext_mid, CC_OFFER_EXT_MID);
        for (int k = 0; accept && k < 3; k++) {
            CHECK_STR(ai.video.sim[k], op.rids[k]);
            CC_CHECK_EQ(ai.video.sim_paused[k], 0);
        }
        CC_CHECK_EQ(ai.audio.n_sim, 0);
        if (accept)
            CC_CHECK(has_line(answer, "a=simulcast:recv q;h;f"));
        else
            CC_CHECK(!strstr(answer, "a=simulcast"));
        free(answer);
    }
    free(ap);
    free(o);
    free(text);

    /* Two encodings: the teacher page's names. */
    op.n_rids = 2;
    op.rids[0] = "h";
    op.rids[1] = "f";
    CC_CHECK_EQ(cc_sdp_offer_write(&op, &text), 0);
    CC_CHECK(text && has_line(text, "a=simulcast:send h;f") && !strstr(text, "a=rid:q"));
    free(text);
    /* One: no simulcast at all, the SSRC signalled as before. */
    op.n_rids = 1;
    CC_CHECK_EQ(cc_sdp_offer_write(&op, &text), 0);
    CC_CHECK(text && !strstr(text, "a=rid:") && !strstr(text, "a=simulcast") &&
             !strstr(text, CC_EXT_URI_RID));
    snprintf(line, sizeof line, "a=ssrc:%u cname:c", VSSRC);
    CC_CHECK(text && has_line(text, line));
    free(text);
    /* RFC 8851 section 10: rid-ids are alphanumeric, "-" and "_"; ours
     * distinct and at most 15 characters. */
    op.n_rids = 2;
    op.rids[1] = "h";
    CC_CHECK_EQ(cc_sdp_offer_write(&op, &text), CC_EINVAL);
    op.rids[1] = "f;x";
    CC_CHECK_EQ(cc_sdp_offer_write(&op, &text), CC_EINVAL);
    op.rids[1] = NULL;
    CC_CHECK_EQ(cc_sdp_offer_write(&op, &text), CC_EINVAL);
    op.n_rids = 4;
    CC_CHECK_EQ(cc_sdp_offer_write(&op, &text), CC_EINVAL);
}

/* ---- a sender against a server over a simulated link ---- */

/* A fake encoder: every 1/30 s a frame of bitrate/30 bits in packets of
 * at most 1100 bytes of payload (video); a 20 ms frame of 80 bytes
 * (audio). */
typedef struct fake_src {
    int video;
    int bps;
    cc_time_us next_frame;
    int left;            /* packets of the current frame still to give */
    size_t pkt_size;
    uint16_t seq;
    uint32_t ts;
    int keyframes;
    int n_ssrc;          /* > 1: each frame once per SSRC 1..n_ssrc
                          * (simulcast encodings, as cc_source emits) */
    int enc;             /* the SSRC of the frame being given, 0-based */
} fake_src;

static int src_next(void *ud, cc_time_us now, uint8_t *buf, size_t cap, size_t *len,
                    cc_time_us *next_due)
{
    fake_src *f = ud;
    if (!f->left && f->n_ssrc > 1 && f->enc + 1 < f->n_ssrc) {
        /* The same picture in the next encoding. */
        f->enc++;
        f->left = 2;
    } else if (!f->left) {
        f->enc = 0;
        if (now < f->next_frame) {
            *next_due = f->next_frame;
            return CC_EAGAIN;
        }
        cc_time_us period = f->video ? CC_USEC_PER_SEC / 30 : 20 * CC_USEC_PER_MSEC;
        f->next_frame += period;
        if (f->next_frame < now)
            f->next_frame = now + period;
        f->ts += f->video ? 3000 : 960;
        size_t bytes = f->video ? (size_t)f->bps / 8 / 30 : 80;
        f->left = (int)((bytes + 1099) / 1100);
        if (!f->left)
            f->left = 1;
        f->pkt_size = bytes / (size_t)f->left + 1;
    }
    int h = cc_rtp_write_header(buf, cap, f->video ? 96 : 111, f->left == 1, f->seq++, f->ts,
                                (uint32_t)f->enc + 1);
    memset(buf + h, 0x42, f->pkt_size);
    *len = (size_t)h + f->pkt_size;
    f->left--;
    return 0;
}

static void src_keyframe(void *ud) { ((fake_src *)ud)->keyframes++; }

typedef struct inflight {
    uint8_t data[1500];
    size_t len;
    cc_time_us arrival;
} inflight;

#define LINK_Q 4096

typedef struct sim {
    cc_clock clock;
    cc_dtls_ctx *sctx, *cctx;
    cc_peer *peer;
    cc_client *client;
    cc_sender *snd;
    cc_addr saddr, caddr;
    fake_src v, a;
    /* uplink: a FIFO at link_bps with a queue of at most max_queue time,
     * then a fixed delay */
    uint64_t link_bps;
    cc_time_us max_queue, prop;
    cc_time_us link_free;
    inflight *q;
    int qh, qn;
    uint64_t dropped;
    /* the server: feedback builder, what it saw */
    cc_twcc_recv *twcc;
    int have_last;
    uint16_t last_twcc;
    uint64_t numbered, unnumbered, gaps, padding;
    uint64_t video_pkts, audio_pkts;
    int drop_video;          /* drop the next video packet on the link */
    int saw_resend;
    uint16_t resend_twcc;
    uint16_t nack_seq;       /* the dropped packet's RTP and transport seq */
    uint16_t nack_seq_twcc;
    int nack_sent;
    uint64_t rx_bytes_window;
    cc_time_us last_queue;   /* queueing delay of the last packet */
    /* simulcast: video packets per encoding (h = HSSRC, f = VSSRC), those
     * without the right mid and rid, those of any other SSRC; SRs seen */
    int simulcast;
    uint64_t sim_pkts[2], sim_bad_ext, other_ssrc;
    uint64_t sr_h, sr_f;
    uint16_t last_seq_h;
    int drop_h;              /* drop the next HSSRC packet on the link */
    uint16_t dropped_h;
    int resent_h;            /* it came again, same SSRC and seq */
} sim;

static int sim_setup(sim *s, int twcc, const cc_bwe_config *bc, int simulcast)
{
    memset(s, 0, sizeof *s);
    s->simulcast = simulcast;
    cc_clock_init_manual(&s->clock, 7000 * CC_USEC_PER_SEC);
    cc_srtp_global_init();
    char su[CC_ICE_UFRAG_LEN + 1], sp[CC_ICE_PWD_LEN + 1];
    char cu[CC_ICE_UFRAG_LEN + 1], cp[CC_ICE_PWD_LEN + 1];
    if (cc_dtls_ctx_new(&s->sctx) || cc_dtls_ctx_new(&s->cctx))
        return -1;
    cc_ice_make_credentials(su, sp);
    cc_ice_make_credentials(cu, cp);
    cc_addr_from_string(&s->saddr, "127.0.0.1", 50000);
    cc_addr_from_string(&s->caddr, "127.0.0.1", 40001);
    cc_time_us now = cc_clock_now(&s->clock);
    cc_peer_config pc = {
        .dtls_ctx = s->sctx,
        .local_ufrag = su, .local_pwd = sp, .remote_ufrag = cu, .remote_pwd = cp,
        .remote_fp_alg = "sha-256", .remote_fp = cc_dtls_ctx_fingerprint(s->cctx),
    };
    if (cc_peer_new(&s->peer, &pc, now))
        return -1;
    cc_client_config cc = {
        .dtls_ctx = s->cctx,
        .local_ufrag = cu, .local_pwd = cp, .remote_ufrag = su, .remote_pwd = sp,
        .remote_fp_alg = "sha-256", .remote_fp = cc_dtls_ctx_fingerprint(s->sctx),
        .remote = s->saddr, .connect_timeout = 10 * CC_USEC_PER_SEC,
    };
    if (cc_client_new(&s->client, &cc, now))
        return -1;
    s->v = (fake_src){.video = 1, .bps = 1000000, .next_frame = now};
    s->a = (fake_src){.video = 0, .next_frame = now};
    cc_sender_config sc = {.client = s->client, .cname = "test"};
    sc.streams[CC_SENDER_VIDEO] = (cc_sender_stream_config){
        .enabled = 1, .ssrc = VSSRC, .pt = 96, .clock_rate = 90000, .mid = "0",
        .ext_mid = EXT_MID, .ext_twcc = twcc ? EXT_TWCC : 0,
        .src = {.ud = &s->v, .next = src_next, .keyframe = src_keyframe}};
    if (simulcast) {
        /* The source makes three (SSRCs 1, 2, 3: q, h, f); the answer
         * took h and f. */
        s->v.n_ssrc = 3;
        cc_sender_stream_config *vc = &sc.streams[CC_SENDER_VIDEO];
        vc->n_enc = 2;
        vc->ext_rid = EXT_RID;
        vc->enc[0] = (cc_sender_encoding){.ssrc = HSSRC, .src_ssrc = 2, .rid = "h"};
        vc->enc[1] = (cc_sender_encoding){.ssrc = VSSRC, .src_ssrc = 3, .rid = "f"};
    }
    sc.streams[CC_SENDER_AUDIO] = (cc_sender_stream_config){
        .enabled = 1, .ssrc = ASSRC, .pt = 111, .clock_rate = 48000, .mid = "1",
        .ext_mid = EXT_MID, .ext_twcc = twcc ? EXT_TWCC : 0,
        .src = {.ud = &s->a, .next = src_next}};
    if (bc)
        sc.bwe = *bc;
    if (cc_sender_new(&s->snd, &sc, now))
        return -1;
    s->q = calloc(LINK_Q, sizeof *s->q);
    s->twcc = malloc(sizeof *s->twcc);
    if (!s->q || !s->twcc)
        return -1;
    cc_twcc_recv_config tc = {.sender_ssrc = 0x5e5e5e5e, .media_ssrc = VSSRC};
    cc_twcc_recv_init(s->twcc, &tc, now);
    s->link_bps = 100000000;
    s->max_queue = 300 * CC_USEC_PER_MSEC;
    s->prop = 10 * CC_USEC_PER_MSEC;
    return 0;
}

static void sim_free(sim *s)
{
    cc_sender_free(s->snd);
    cc_client_free(s->client);
    cc_peer_free(s->peer);
    cc_dtls_ctx_free(s->sctx);
    cc_dtls_ctx_free(s->cctx);
    free(s->q);
    free(s->twcc);
}

/* The server got an RTP packet (decrypted): check its numbering, record
 * it for feedback. */
static void server_rtp(sim *s, const uint8_t *buf, size_t len, cc_time_us now)
{
    cc_rtp_hdr h;
    CC_CHECK_EQ(cc_rtp_parse(buf, len, &h), 0);
    if (s->simulcast && h.ssrc != ASSRC) {
        /* RFC 8852 section 3: each encoding's packets carry the mid and
         * their rid, and only the SSRCs given to the taken ones appear. */
        const uint8_t *mv = NULL, *rv = NULL;
        size_t ml = 0, rl = 0;
        int hi = h.ssrc == HSSRC;
        if (h.ssrc != HSSRC && h.ssrc != VSSRC) {
            s->other_ssrc++;
        } else if (cc_rtp_find_ext(&h, EXT_MID, &mv, &ml) != 0 || ml != 1 || mv[0] != '0' ||
                   cc_rtp_find_ext(&h, EXT_RID, &rv, &rl) != 0 || rl != 1 ||
                   rv[0] != (hi ? 'h' : 'f')) {
            s->sim_bad_ext++;
        } else if (h.payload_len > 0) {
            if (hi && s->drop_h == 2 && h.seq == s->dropped_h)
                s->resent_h++;
            else
                s->sim_pkts[hi ? 0 : 1]++;
            if (hi)
                s->last_seq_h = h.seq;
        }
    }
    uint16_t seq;
    int rc = cc_twcc_ext_get(&h, EXT_TWCC, &seq);
    if (rc != 0) {
        s->unnumbered++;
        return;
    }
    s->numbered++;
    if (s->have_last && seq != (uint16_t)(s->last_twcc + 1))
        s->gaps++; /* only the link's drops may cause these */
    s->have_last = 1;
    s->last_twcc = seq;
    if (h.payload_len == 0 && h.padding)
        s->padding++;
    if (h.ssrc == VSSRC && h.payload_len > 0) {
        if (s->nack_sent && h.seq == s->nack_seq) {
            s->saw_resend = 1;
            s->resend_twcc = seq;
        } else {
            s->video_pkts++;
        }
    } else if (h.ssrc == ASSRC) {
        s->audio_pkts++;
    }
    cc_twcc_recv_on_packet(s->twcc, seq, now);
}

/* The client's RTCP: which SSRCs sent an SR (RFC 3550 section 6.4.1). */
static void server_rtcp(sim *s, const uint8_t *buf, size_t len)
{
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    cc_rtcp_sr sr;
    cc_rtcp_iter_init(&it, buf, len);
    while (cc_rtcp_next(&it, &p) == 1)
        if (p.pt == CC_RTCP_SR && cc_rtcp_parse_sr(&p, &sr) == 0) {
            s->sr_h += sr.ssrc == HSSRC && sr.packet_count > 0;
            s->sr_f += sr.ssrc == VSSRC && sr.packet_count > 0;
        }
}

static void deliver_to_client(sim *s, uint8_t *buf, size_t len, cc_time_us now)
{
    size_t n;
    CC_CHECK_EQ(cc_peer_protect_rtcp(s->peer, buf, len, 1500, &n), 0);
    cc_sender_handle(s->snd, CC_DEMUX_RTCP, buf, n, &s->saddr, now);
}

/* One millisecond of the world: timers, the client's datagrams into the
 * link (DTLS/STUN skip it), the link's arrivals into the server, the
 * server's feedback back (no return delay: the estimate's RTT is the
 * link's). */
static void sim_step(sim *s)
{
    uint8_t buf[2048];
    size_t len, plain;
    cc_addr to;
    cc_time_us now = cc_clock_now(&s->clock);
    if (cc_sender_deadline(s->snd, now) <= now)
        cc_sender_handle_timeout(s->snd, now);
    if (cc_peer_deadline(s->peer, now) <= now)
        cc_peer_handle_timeout(s->peer, now);
    for (int i = 0; i < 512 && cc_sender_poll(s->snd, now, buf, sizeof buf, &len, &to) == 0; i++) {
        cc_demux_kind k = cc_demux_classify(buf, len);
        if (k != CC_DEMUX_RTP && k != CC_DEMUX_RTCP) {
            cc_peer_handle(s->peer, k, buf, len, &s->caddr, now, &plain);
            continue;
        }
        /* The bottleneck: serialisation at link_bps behind what is queued,
         * a drop when the queue holds more than max_queue (tail drop). */
        if (k == CC_DEMUX_RTP && s->drop_video) {
            /* SRTP leaves the header and its extensions in the clear
             * (RFC 3711 section 3.1). */
            cc_rtp_hdr h;
            uint16_t tseq;
            if (cc_rtp_parse(buf, len, &h) == 0 && h.ssrc == VSSRC &&
                cc_twcc_ext_get(&h, EXT_TWCC, &tseq) == 0) {
                s->drop_video = 0;
                s->nack_seq = h.seq;
                s->nack_seq_twcc = tseq;
                continue;
            }
        }
        if (k == CC_DEMUX_RTP && s->drop_h == 1) {
            cc_rtp_hdr h;
            if (cc_rtp_parse(buf, len, &h) == 0 && h.ssrc == HSSRC && !h.padding) {
                s->drop_h = 2;
                s->dropped_h = h.seq;
                continue;
            }
        }
        cc_time_us start = s->link_free > now ? s->link_free : now;
        if (start - now > s->max_queue || s->qn == LINK_Q) {
            s->dropped++;
            continue;
        }
        cc_time_us ser = (cc_time_us)((len + CC_SENDER_WIRE_OVERHEAD) * 8 * CC_USEC_PER_SEC /
                                      s->link_bps);
        s->link_free = start + ser;
        inflight *f = &s->q[(s->qh + s->qn++) % LINK_Q];
        memcpy(f->data, buf, len);
        f->len = len;
        f->arrival = s->link_free + s->prop;
        s->last_queue = start - now;
    }
    while (s->qn && s->q[s->qh].arrival <= now) {
        inflight *f = &s->q[s->qh];
        s->qh = (s->qh + 1) % LINK_Q;
        s->qn--;
        int r = cc_peer_handle(s->peer, cc_demux_classify(f->data, f->len), f->data, f->len,
                               &s->caddr, now, &plain);
        if (r == CC_PEER_IN_RTP)
            server_rtp(s, f->data, plain, now);
        else if (r == CC_PEER_IN_RTCP)
            server_rtcp(s, f->data, plain);
    }
    int n;
    while ((n = cc_twcc_recv_poll(s->twcc, now, buf, sizeof buf)) > 0)
        deliver_to_client(s, buf, (size_t)n, now);
    while (cc_peer_poll_transmit(s->peer, buf, sizeof buf, &len, &to) == 0)
        cc_sender_handle(s->snd, cc_demux_classify(buf, len), buf, len, &s->saddr, now);
    cc_clock_advance(&s->clock, CC_USEC_PER_MSEC);
}

static void sim_connect(sim *s)
{
    for (int i = 0; i < 500 && cc_client_get_state(s->client) != CC_CLIENT_CONNECTED; i++)
        sim_step(s);
    CC_CHECK_EQ(cc_client_get_state(s->client), CC_CLIENT_CONNECTED);
}

/* What publish.c does, in short: video = target - audio (~60 kbit/s on
 * the wire), at least 100 kbit/s, at most 2 Mbit/s. */
static void sim_adapt(sim *s)
{
    uint32_t t = cc_sender_target_bps(s->snd);
    if (!t)
        return;
    int v = (int)((double)t - 60000) * 100 / 108;
    s->v.bps = v < 100000 ? 100000 : v > 2000000 ? 2000000 : v;
}

static void run_ms(sim *s, int ms, int adapt)
{
    for (int i = 0; i < ms; i++) {
        if (adapt && i % 250 == 0)
            sim_adapt(s);
        sim_step(s);
    }
}

static void test_numbering_and_resend(void)
{
    sim s;
    cc_bwe_config bc = {.max_bps = 3000000, .start_bps = 1000000};
    CC_CHECK_EQ(sim_setup(&s, 1, &bc, 0), 0);
    sim_connect(&s);
    run_ms(&s, 1000, 0);
    const cc_sender_stats *st = cc_sender_get_stats(s.snd);
    /* Both streams numbered, one counter: no gap on a lossless link. */
    CC_CHECK(s.video_pkts > 50 && s.audio_pkts > 30);
    CC_CHECK_EQ(s.unnumbered, 0);
    CC_CHECK_EQ(s.gaps, 0);
    CC_CHECK_EQ(s.dropped, 0);
    /* Every numbered packet arrived, or is on the link still (with the
     * SRs there). */
    CC_CHECK(st->twcc_numbered >= s.numbered && st->twcc_numbered <= s.numbered + (uint64_t)s.qn);
    CC_CHECK(st->twcc_feedback >= 15); /* every 50 ms */
    CC_CHECK_EQ(st->twcc_feedback_bad, 0);
    /* The start-up probe (3 x start is above 3 Mbit/s: one cluster at the
     * ceiling) went out as padding on the video stream. */
    CC_CHECK(st->probe_clusters >= 1);
    CC_CHECK(st->probe_packets >= 5);
    CC_CHECK_EQ(s.padding, st->probe_packets);
    CC_CHECK(st->probe_bytes > 0);
    CC_CHECK(st->wire_bytes[CC_SENDER_VIDEO] > st->payload_bytes[CC_SENDER_VIDEO]);
    CC_CHECK(st->target_bps > 0 && st->target_bps == cc_sender_target_bps(s.snd));
    cc_bwe_stats bs;
    CC_CHECK_EQ(cc_sender_get_bwe_stats(s.snd, &bs), 0);
    CC_CHECK(bs.acked > 0 && bs.lost == 0 && bs.unknown == 0);

    /* A video packet lost on the link and NACKed: the resend carries a
     * number of its own, the next one, not the first send's. */
    uint64_t probes = st->probe_packets;
    s.drop_video = 1;
    run_ms(&s, 100, 0);
    CC_CHECK_EQ(s.drop_video, 0);
    CC_CHECK_EQ(s.gaps, 1); /* the lost one */
    s.nack_sent = 1;
    uint8_t buf[1500];
    int n = cc_rtcp_write_nack(buf, sizeof buf, 0x5e5e5e5e, VSSRC, &s.nack_seq, 1);
    CC_CHECK(n > 0);
    deliver_to_client(&s, buf, (size_t)n, cc_clock_now(&s.clock));
    uint64_t sent_before = cc_sender_get_stats(s.snd)->twcc_numbered;
    run_ms(&s, 1, 0);
    /* The same NACK again within an RTT (the resend is still on its way):
     * not sent again. */
    deliver_to_client(&s, buf, (size_t)n, cc_clock_now(&s.clock));
    run_ms(&s, 99, 0);
    CC_CHECK_EQ(cc_sender_get_stats(s.snd)->resend_suppressed, 1);
    CC_CHECK(s.saw_resend);
    CC_CHECK(s.resend_twcc != s.nack_seq_twcc);
    CC_CHECK_EQ(cc_sender_get_stats(s.snd)->resent, 1);
    CC_CHECK_EQ(cc_sender_get_stats(s.snd)->probe_packets, probes);
    CC_CHECK_EQ(s.gaps, 1);
    /* Numbered in order with everything else: the resend was the first
     * packet after the NACK, so its number is the one after the count
     * sent before it (numbers started at a random value: compare as
     * offsets from the lost packet's). */
    CC_CHECK(cc_sender_get_stats(s.snd)->twcc_numbered > sent_before);
    CC_CHECK((uint16_t)(s.resend_twcc - s.nack_seq_twcc) > 0 &&
             (uint16_t)(s.resend_twcc - s.nack_seq_twcc) < 100);
    cc_bwe_stats bs2;
    CC_CHECK_EQ(cc_sender_get_bwe_stats(s.snd, &bs2), 0);
    CC_CHECK_EQ(bs2.lost, 1);
    /* Asked again more than an RTT later: sent again. */
    CC_CHECK(bs2.rtt > 0 && bs2.rtt < 100 * CC_USEC_PER_MSEC);
    deliver_to_client(&s, buf, (size_t)n, cc_clock_now(&s.clock));
    run_ms(&s, 1, 0);
    CC_CHECK_EQ(cc_sender_get_stats(s.snd)->resent, 2);

    /* REMB caps the estimate (draft-alvestrand-rmcat-remb). */
    n = cc_rtcp_write_remb(buf, sizeof buf, 0x5e5e5e5e, 400000, (uint32_t[]){VSSRC}, 1);
    CC_CHECK(n > 0);
    deliver_to_client(&s, buf, (size_t)n, cc_clock_now(&s.clock));
    CC_CHECK_EQ(cc_sender_get_stats(s.snd)->remb_received, 1);
    CC_CHECK(cc_sender_target_bps(s.snd) <= 400000);
    sim_free(&s);
}

static void test_bottleneck(void)
{
    sim s;
    /* As publish.c configures it: start at the ceiling. */
    cc_bwe_config bc = {.max_bps = 2200000, .start_bps = 2200000};
    CC_CHECK_EQ(sim_setup(&s, 1, &bc, 0), 0);
    s.link_bps = 800000;
    s.v.bps = 2000000;
    sim_connect(&s);
    cc_time_us t0 = cc_clock_now(&s.clock);
    cc_time_us adapted = 0;
    for (int i = 0; i < 80; i++) { /* 20 s in 250 ms steps */
        run_ms(&s, 250, 1);
        uint32_t t = cc_sender_target_bps(s.snd);
        if (!adapted && t < 900000)
            adapted = cc_clock_now(&s.clock) - t0;
    }
    uint32_t t = cc_sender_target_bps(s.snd);
    const cc_sender_stats *st = cc_sender_get_stats(s.snd);
    printf("bottleneck 800 kbit/s: target %u bit/s after 20 s (below 900 kbit/s after %lld ms), "
           "video %d bit/s, queue %lld ms, %llu drops, %llu feedback\n",
           t, (long long)(adapted / 1000), s.v.bps, (long long)(s.last_queue / 1000),
           (unsigned long long)s.dropped, (unsigned long long)st->twcc_feedback);
    CC_CHECK(adapted > 0 && adapted < 3 * CC_USEC_PER_SEC);
    CC_CHECK(t >= 400000 && t <= 900000);
    /* The queue drained: the last 5 s kept it short. */
    cc_time_us worst = 0;
    for (int i = 0; i < 20; i++) {
        run_ms(&s, 250, 1);
        if (s.last_queue > worst)
            worst = s.last_queue;
    }
    printf("bottleneck: worst queue over the next 5 s %lld ms, target %u bit/s\n",
           (long long)(worst / 1000), cc_sender_target_bps(s.snd));
    CC_CHECK(worst < 150 * CC_USEC_PER_MSEC);
    CC_CHECK(cc_sender_target_bps(s.snd) >= 400000);

    /* The link gets better: the estimate grows again (probes at the
     * ceiling are the owner's to ask for; without them, AIMD). */
    s.link_bps = 2000000;
    for (int i = 0; i < 60; i++) {
        if (i % 12 == 0)
            cc_sender_probe_request(s.snd, 2200000, cc_clock_now(&s.clock));
        run_ms(&s, 250, 1);
    }
    printf("link back at 2 Mbit/s: target %u bit/s 15 s later\n", cc_sender_target_bps(s.snd));
    CC_CHECK(cc_sender_target_bps(s.snd) > 1200000);
    sim_free(&s);
}

static void test_not_negotiated(void)
{
    sim s;
    CC_CHECK_EQ(sim_setup(&s, 0, NULL, 0), 0);
    sim_connect(&s);
    run_ms(&s, 500, 0);
    CC_CHECK(s.video_pkts == 0 && s.numbered == 0); /* counted only when numbered */
    CC_CHECK(s.unnumbered > 20);
    CC_CHECK_EQ(cc_sender_target_bps(s.snd), 0);
    cc_bwe_stats bs;
    CC_CHECK_EQ(cc_sender_get_bwe_stats(s.snd, &bs), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_sender_probe_request(s.snd, 1000000, cc_clock_now(&s.clock)), 0);
    const cc_sender_stats *st = cc_sender_get_stats(s.snd);
    CC_CHECK_EQ(st->twcc_numbered, 0);
    CC_CHECK_EQ(st->probe_packets, 0);
    CC_CHECK(st->wire_bytes[CC_SENDER_VIDEO] > 0);
    /* Feedback that should not come is ignored, not an error. */
    uint8_t buf[1500];
    cc_twcc_recv r;
    cc_twcc_recv_config tc = {.sender_ssrc = 1, .media_ssrc = VSSRC};
    cc_time_us now = cc_clock_now(&s.clock);
    cc_twcc_recv_init(&r, &tc, now);
    cc_twcc_recv_on_packet(&r, 10, now);
    int n = cc_twcc_recv_poll(&r, now + CC_USEC_PER_SEC, buf, sizeof buf);
    CC_CHECK(n > 0);
    deliver_to_client(&s, buf, (size_t)n, now);
    CC_CHECK_EQ(cc_sender_get_stats(s.snd)->twcc_feedback, 0);
    CC_CHECK_EQ(cc_sender_get_stats(s.snd)->twcc_feedback_bad, 0);
    sim_free(&s);
}

/* Simulcast as publish.c sets it up when the answer takes h and f of the
 * q, h, f it offered. */
static void test_simulcast_send(void)
{
    sim s;
    cc_bwe_config bc = {.max_bps = 3000000, .start_bps = 1000000};
    CC_CHECK_EQ(sim_setup(&s, 1, &bc, 1), 0);
    sim_connect(&s);
    run_ms(&s, 1500, 0);
    const cc_sender_stats *st = cc_sender_get_stats(s.snd);
    printf("simulcast: h %llu f %llu packets at the server, %llu of q not sent, "
           "SRs h %llu f %llu\n", (unsigned long long)s.sim_pkts[0],
           (unsigned long long)s.sim_pkts[1], (unsigned long long)st->enc_unsent,
           (unsigned long long)s.sr_h, (unsigned long long)s.sr_f);
    CC_CHECK(s.sim_pkts[0] > 40 && s.sim_pkts[1] > 40);
    CC_CHECK_EQ(s.sim_bad_ext, 0);
    CC_CHECK_EQ(s.other_ssrc, 0);
    CC_CHECK(st->enc_unsent > 40);  /* q's: made by the source, never sent */
    CC_CHECK(st->enc_packets[0] >= s.sim_pkts[0] && st->enc_packets[1] >= s.sim_pkts[1]);
    CC_CHECK_EQ(st->enc_packets[0] + st->enc_packets[1], st->packets[CC_SENDER_VIDEO]);
    CC_CHECK(s.sr_h >= 1 && s.sr_f >= 1);
    CC_CHECK_EQ(s.gaps, 0);
    /* Probes go on the largest encoding, with its mid and rid. */
    CC_CHECK(st->probe_packets >= 5);

    /* A packet of h lost and NACKed on h's SSRC: resent from h's history
     * with h's SSRC and sequence number. */
    s.drop_h = 1;
    run_ms(&s, 100, 0);
    CC_CHECK_EQ(s.drop_h, 2);
    uint8_t buf[1500];
    int n = cc_rtcp_write_nack(buf, sizeof buf, 0x5e5e5e5e, HSSRC, &s.dropped_h, 1);
    CC_CHECK(n > 0);
    deliver_to_client(&s, buf, (size_t)n, cc_clock_now(&s.clock));
    run_ms(&s, 50, 0);
    CC_CHECK_EQ(s.resent_h, 1);
    CC_CHECK_EQ(cc_sender_get_stats(s.snd)->enc_resent[0], 1);
    CC_CHECK_EQ(cc_sender_get_stats(s.snd)->enc_resent[1], 0);
    CC_CHECK_EQ(s.sim_bad_ext, 0);
    /* The same sequence number asked for on f's SSRC is f's packet (or
     * gone), never h's. */
    n = cc_rtcp_write_nack(buf, sizeof buf, 0x5e5e5e5e, VSSRC, &s.last_seq_h, 1);
    deliver_to_client(&s, buf, (size_t)n, cc_clock_now(&s.clock));
    run_ms(&s, 50, 0);
    CC_CHECK_EQ(s.resent_h, 1);
    CC_CHECK_EQ(cc_sender_get_stats(s.snd)->enc_resent[0], 1);

    /* A PLI for either encoding asks the source for a keyframe; one for
     * the encoding not taken (an SSRC never sent) does not. */
    int kf = s.v.keyframes;
    n = cc_rtcp_write_pli(buf, sizeof buf, 0x5e5e5e5e, HSSRC);
    deliver_to_client(&s, buf, (size_t)n, cc_clock_now(&s.clock));
    CC_CHECK_EQ(s.v.keyframes, kf + 1);
    n = cc_rtcp_write_pli(buf, sizeof buf, 0x5e5e5e5e, VSSRC);
    deliver_to_client(&s, buf, (size_t)n, cc_clock_now(&s.clock));
    CC_CHECK_EQ(s.v.keyframes, kf + 2);
    n = cc_rtcp_write_fir(buf, sizeof buf, 0x5e5e5e5e, HSSRC, 1);
    deliver_to_client(&s, buf, (size_t)n, cc_clock_now(&s.clock));
    CC_CHECK_EQ(s.v.keyframes, kf + 3);
    n = cc_rtcp_write_pli(buf, sizeof buf, 0x5e5e5e5e, 1);
    deliver_to_client(&s, buf, (size_t)n, cc_clock_now(&s.clock));
    CC_CHECK_EQ(s.v.keyframes, kf + 3);

    /* Encodings the sender cannot tag: no rid extension, no rid. */
    cc_sender_config sc = {.client = s.client};
    sc.streams[CC_SENDER_VIDEO] = (cc_sender_stream_config){
        .enabled = 1, .pt = 96, .clock_rate = 90000, .mid = "0", .ext_mid = EXT_MID,
        .src = {.ud = &s.v, .next = src_next}, .n_enc = 2,
        .enc = {{.ssrc = HSSRC, .src_ssrc = 2, .rid = "h"},
                {.ssrc = VSSRC, .src_ssrc = 3, .rid = "f"}}};
    cc_sender *bad = NULL;
    CC_CHECK_EQ(cc_sender_new(&bad, &sc, cc_clock_now(&s.clock)), CC_EINVAL);
    sc.streams[CC_SENDER_VIDEO].ext_rid = EXT_RID;
    sc.streams[CC_SENDER_VIDEO].enc[1].rid = NULL;
    CC_CHECK_EQ(cc_sender_new(&bad, &sc, cc_clock_now(&s.clock)), CC_EINVAL);
    CC_CHECK(bad == NULL);
    sim_free(&s);
}

int main(void)
{
    CC_RUN(test_offer_answer);
    CC_RUN(test_offer_simulcast);
    CC_RUN(test_simulcast_send);
    CC_RUN(test_numbering_and_resend);
    CC_RUN(test_bottleneck);
    CC_RUN(test_not_negotiated);
    CC_TEST_DONE();
}
