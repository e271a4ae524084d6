/* cc_client (the browser-side transport) against classcast's own cc_peer
 * (ICE-lite, DTLS server) in memory with a manual clock: nomination, DTLS,
 * SRTP both ways, retransmitted checks, consent freshness and its loss,
 * credential and fingerprint failures; and the client-side SDP: the offer
 * parses with cc_sdp_parse, the server's answer writer accepts it, and
 * cc_sdp_answer_read gets back what the client needs. */
#include "cc_test.h"
#include "classcast/client.h"
#include "classcast/err.h"
#include "classcast/peer.h"
#include "classcast/rand.h"
#include "classcast/rtcp.h"
#include "classcast/rtp.h"
#include "classcast/sdp.h"
#include "classcast/sdp_offer.h"
#include "classcast/stun.h"

typedef struct pair {
    cc_clock clock;
    cc_dtls_ctx *sctx, *cctx;
    cc_peer *peer;
    cc_client *client;
    cc_addr saddr, caddr;
    char s_ufrag[CC_ICE_UFRAG_LEN + 1], s_pwd[CC_ICE_PWD_LEN + 1];
    char c_ufrag[CC_ICE_UFRAG_LEN + 1], c_pwd[CC_ICE_PWD_LEN + 1];
    int drop_c2s, drop_s2c;   /* drop every datagram of that direction */
    int first_check_checked;
    uint64_t c2s, s2c;
} pair;

static int setup(pair *p, const char *bad_pwd, const char *bad_fp)
{
    memset(p, 0, sizeof *p);
    cc_clock_init_manual(&p->clock, 5000 * CC_USEC_PER_SEC);
    cc_srtp_global_init();
    if (cc_dtls_ctx_new(&p->sctx) || cc_dtls_ctx_new(&p->cctx))
        return -1;
    cc_ice_make_credentials(p->s_ufrag, p->s_pwd);
    cc_ice_make_credentials(p->c_ufrag, p->c_pwd);
    cc_addr_from_string(&p->saddr, "127.0.0.1", 50000);
    cc_addr_from_string(&p->caddr, "127.0.0.1", 40001);
    cc_time_us now = cc_clock_now(&p->clock);
    cc_peer_config pc = {
        .dtls_ctx = p->sctx,
        .local_ufrag = p->s_ufrag, .local_pwd = p->s_pwd,
        .remote_ufrag = p->c_ufrag, .remote_pwd = p->c_pwd,
        .remote_fp_alg = "sha-256", .remote_fp = cc_dtls_ctx_fingerprint(p->cctx),
    };
    if (cc_peer_new(&p->peer, &pc, now))
        return -1;
    cc_client_config cc = {
        .dtls_ctx = p->cctx,
        .local_ufrag = p->c_ufrag, .local_pwd = p->c_pwd,
        .remote_ufrag = p->s_ufrag, .remote_pwd = bad_pwd ? bad_pwd : p->s_pwd,
        .remote_fp_alg = "sha-256",
        .remote_fp = bad_fp ? bad_fp : cc_dtls_ctx_fingerprint(p->sctx),
        .remote = p->saddr,
        .connect_timeout = 10 * CC_USEC_PER_SEC,
    };
    return cc_client_new(&p->client, &cc, now);
}

static void teardown(pair *p)
{
    cc_client_free(p->client);
    cc_peer_free(p->peer);
    cc_dtls_ctx_free(p->sctx);
    cc_dtls_ctx_free(p->cctx);
}

/* The first check must be what RFC 8445 7.2.2 / 7.2.4 asks of a
 * controlling agent using aggressive nomination. */
static void check_first_request(pair *p, const uint8_t *buf, size_t len)
{
    cc_stun_msg m;
    CC_CHECK_EQ(cc_stun_parse(&m, buf, len), 0);
    CC_CHECK_EQ(m.type, CC_STUN_BINDING_REQUEST);
    const cc_stun_attr *u = cc_stun_find(&m, CC_STUN_ATTR_USERNAME);
    char want[64];
    snprintf(want, sizeof want, "%s:%s", p->s_ufrag, p->c_ufrag);
    CC_CHECK(u && u->len == strlen(want) && memcmp(u->value, want, u->len) == 0);
    CC_CHECK(cc_stun_find(&m, CC_STUN_ATTR_PRIORITY) != NULL);
    CC_CHECK(cc_stun_find(&m, CC_STUN_ATTR_ICE_CONTROLLING) != NULL);
    CC_CHECK(cc_stun_find(&m, CC_STUN_ATTR_USE_CANDIDATE) != NULL);
    CC_CHECK_EQ(cc_stun_check_integrity(&m, (const uint8_t *)p->s_pwd, strlen(p->s_pwd)), 0);
    CC_CHECK_EQ(cc_stun_check_fingerprint(&m), 0);
}

/* Move datagrams both ways until nothing moves; run due timers first. */
static void pump(pair *p)
{
    uint8_t buf[2048];
    size_t len, plain;
    cc_addr to;
    for (int round = 0; round < 200; round++) {
        cc_time_us now = cc_clock_now(&p->clock);
        if (cc_client_deadline(p->client, now) <= now)
            cc_client_handle_timeout(p->client, now);
        if (cc_peer_deadline(p->peer, now) <= now)
            cc_peer_handle_timeout(p->peer, now);
        int any = 0;
        while (cc_client_poll_transmit(p->client, buf, sizeof buf, &len, &to) == 0) {
            any = 1;
            CC_CHECK(cc_addr_equal(&to, &p->saddr));
            cc_demux_kind k = cc_demux_classify(buf, len);
            if (!p->first_check_checked && k == CC_DEMUX_STUN) {
                p->first_check_checked = 1;
                check_first_request(p, buf, len);
            }
            if (p->drop_c2s)
                continue;
            p->c2s++;
            cc_peer_handle(p->peer, k, buf, len, &p->caddr, now, &plain);
        }
        while (cc_peer_poll_transmit(p->peer, buf, sizeof buf, &len, &to) == 0) {
            any = 1;
            CC_CHECK(cc_addr_equal(&to, &p->caddr));
            if (p->drop_s2c)
                continue;
            p->s2c++;
            cc_client_handle(p->client, cc_demux_classify(buf, len), buf, len,
                             &p->saddr, now, &plain);
        }
        if (!any)
            break;
    }
}

static void connect_pair(pair *p)
{
    for (int i = 0; i < 50 && cc_client_get_state(p->client) != CC_CLIENT_CONNECTED; i++) {
        pump(p);
        cc_clock_advance(&p->clock, 10 * CC_USEC_PER_MSEC);
    }
    pump(p);
}

static void test_connect_and_media(void)
{
    pair p;
    CC_CHECK_EQ(setup(&p, NULL, NULL), 0);
    CC_CHECK_EQ(cc_client_get_state(p.client), CC_CLIENT_CHECKING);
    /* The first check is due at once. */
    CC_CHECK(cc_client_deadline(p.client, cc_clock_now(&p.clock)) <= cc_clock_now(&p.clock));
    connect_pair(&p);
    CC_CHECK(p.first_check_checked);
    CC_CHECK_EQ(cc_client_get_state(p.client), CC_CLIENT_CONNECTED);
    CC_CHECK_EQ(cc_peer_get_state(p.peer), CC_PEER_CONNECTED);
    /* Nominated: the ICE-lite side selected our address. */
    CC_CHECK_EQ(cc_peer_get_ice(p.peer)->state, CC_ICE_NOMINATED);
    CC_CHECK(cc_addr_equal(cc_peer_media_addr(p.peer), &p.caddr));
    CC_CHECK_EQ(cc_client_srtp_profile(p.client), CC_SRTP_AEAD_AES_128_GCM);
    const cc_client_stats *st = cc_client_get_stats(p.client);
    CC_CHECK(st->ice_done_at > 0 && st->connected_at >= st->ice_done_at);
    CC_CHECK_EQ(st->checks_sent, 1); /* answered at once: no retransmit */

    /* client -> server RTP */
    uint8_t pkt[1500];
    size_t len, plain;
    cc_time_us now = cc_clock_now(&p.clock);
    int h = cc_rtp_write_header(pkt, sizeof pkt, 96, 1, 777, 3000, 0xabcdef01);
    memset(pkt + h, 0x5a, 900);
    CC_CHECK_EQ(cc_client_protect_rtp(p.client, pkt, (size_t)h + 900, sizeof pkt, &len), 0);
    CC_CHECK(len > (size_t)h + 900);
    CC_CHECK_EQ(cc_peer_handle(p.peer, CC_DEMUX_RTP, pkt, len, &p.caddr, now, &plain),
                CC_PEER_IN_RTP);
    CC_CHECK_EQ(plain, (size_t)h + 900);
    CC_CHECK_EQ(pkt[h + 10], 0x5a);

    /* server -> client RTP and RTCP */
    h = cc_rtp_write_header(pkt, sizeof pkt, 111, 0, 4242, 960, 0x01020304);
    memset(pkt + h, 0x33, 120);
    CC_CHECK_EQ(cc_peer_protect_rtp(p.peer, pkt, (size_t)h + 120, sizeof pkt, &len), 0);
    CC_CHECK_EQ(cc_client_handle(p.client, CC_DEMUX_RTP, pkt, len, &p.saddr, now, &plain),
                CC_CLIENT_IN_RTP);
    cc_rtp_hdr rh;
    CC_CHECK_EQ(cc_rtp_parse(pkt, plain, &rh), 0);
    CC_CHECK_EQ(rh.seq, 4242);
    CC_CHECK_EQ(rh.payload[0], 0x33);
    int n = cc_rtcp_write_pli(pkt, sizeof pkt, 9, 0x01020304);
    CC_CHECK_EQ(cc_peer_protect_rtcp(p.peer, pkt, (size_t)n, sizeof pkt, &len), 0);
    CC_CHECK_EQ(cc_client_handle(p.client, CC_DEMUX_RTCP, pkt, len, &p.saddr, now, &plain),
                CC_CLIENT_IN_RTCP);
    CC_CHECK_EQ(plain, (size_t)n);
    /* A tampered packet fails authentication and is counted. */
    h = cc_rtp_write_header(pkt, sizeof pkt, 111, 0, 4243, 1920, 0x01020304);
    memset(pkt + h, 0x33, 120);
    CC_CHECK_EQ(cc_peer_protect_rtp(p.peer, pkt, (size_t)h + 120, sizeof pkt, &len), 0);
    pkt[h + 5] ^= 1;
    CC_CHECK_EQ(cc_client_handle(p.client, CC_DEMUX_RTP, pkt, len, &p.saddr, now, &plain),
                CC_EAUTH);
    CC_CHECK_EQ(cc_client_get_stats(p.client)->drop_srtp_auth, 1);
    teardown(&p);
}

static void test_retransmit_then_connect(void)
{
    pair p;
    CC_CHECK_EQ(setup(&p, NULL, NULL), 0);
    p.drop_c2s = 1; /* the first checks are lost */
    for (int i = 0; i < 30; i++) {
        pump(&p);
        cc_clock_advance(&p.clock, 50 * CC_USEC_PER_MSEC);
    }
    uint64_t sent = cc_client_get_stats(p.client)->checks_sent;
    /* 1.5 s with RTO 100, 200, 400, 800, 800 ms: 5 or 6 sends, not 30. */
    CC_CHECK(sent >= 4 && sent <= 7);
    CC_CHECK_EQ(cc_client_get_state(p.client), CC_CLIENT_CHECKING);
    p.drop_c2s = 0;
    connect_pair(&p);
    cc_clock_advance(&p.clock, CC_USEC_PER_SEC);
    connect_pair(&p);
    CC_CHECK_EQ(cc_client_get_state(p.client), CC_CLIENT_CONNECTED);
    teardown(&p);
}

static void test_consent(void)
{
    pair p;
    CC_CHECK_EQ(setup(&p, NULL, NULL), 0);
    connect_pair(&p);
    CC_CHECK_EQ(cc_client_get_state(p.client), CC_CLIENT_CONNECTED);
    /* 60 s of consent checks every ~5 s keep both sides up (the ICE-lite
     * peer would close after 30 s without checks). */
    for (int i = 0; i < 60; i++) {
        cc_clock_advance(&p.clock, CC_USEC_PER_SEC);
        pump(&p);
    }
    const cc_client_stats *st = cc_client_get_stats(p.client);
    CC_CHECK(st->consent_sent >= 9 && st->consent_sent <= 16);
    CC_CHECK_EQ(cc_client_get_state(p.client), CC_CLIENT_CONNECTED);
    CC_CHECK_EQ(cc_peer_get_state(p.peer), CC_PEER_CONNECTED);
    /* Responses stop: consent is lost 30 s after the last response (RFC 7675
     * 5.1), which came at most ~6 s (one randomised interval) ago. */
    p.drop_s2c = 1;
    for (int i = 0; i < 23; i++) {
        cc_clock_advance(&p.clock, CC_USEC_PER_SEC);
        pump(&p);
    }
    CC_CHECK_EQ(cc_client_get_state(p.client), CC_CLIENT_CONNECTED);
    for (int i = 0; i < 8; i++) {
        cc_clock_advance(&p.clock, CC_USEC_PER_SEC);
        pump(&p);
    }
    CC_CHECK_EQ(cc_client_get_state(p.client), CC_CLIENT_CLOSED);
    CC_CHECK(strstr(cc_client_error(p.client), "consent") != NULL);
    uint8_t pkt[64];
    size_t len;
    CC_CHECK_EQ(cc_client_protect_rtp(p.client, pkt, 12, sizeof pkt, &len), CC_ESTATE);
    teardown(&p);
}

static void test_wrong_password(void)
{
    pair p;
    CC_CHECK_EQ(setup(&p, "wrongpasswordwrongpassword", NULL), 0);
    p.first_check_checked = 1; /* signed with the wrong password on purpose */
    for (int i = 0; i < 120; i++) {
        pump(&p);
        cc_clock_advance(&p.clock, 100 * CC_USEC_PER_MSEC);
    }
    /* The ICE-lite side never answers a check with a bad integrity. */
    CC_CHECK(cc_client_get_stats(p.client)->check_responses == 0);
    CC_CHECK_EQ(cc_client_get_state(p.client), CC_CLIENT_FAILED);
    CC_CHECK(strstr(cc_client_error(p.client), "ICE") != NULL);
    teardown(&p);
}

static void test_forged_response(void)
{
    pair p;
    CC_CHECK_EQ(setup(&p, NULL, NULL), 0);
    /* A success response with an unknown transaction id, correctly signed,
     * must not complete ICE. */
    uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, buf[256];
    cc_stun_builder b;
    cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_SUCCESS, txid);
    cc_stun_build_xor_address(&b, CC_STUN_ATTR_XOR_MAPPED_ADDRESS, &p.caddr);
    cc_stun_build_integrity(&b, (const uint8_t *)p.s_pwd, strlen(p.s_pwd));
    cc_stun_build_fingerprint(&b);
    size_t len, plain;
    CC_CHECK_EQ(cc_stun_build_finish(&b, &len), 0);
    CC_CHECK(cc_client_handle(p.client, CC_DEMUX_STUN, buf, len, &p.saddr,
                              cc_clock_now(&p.clock), &plain) < 0);
    CC_CHECK_EQ(cc_client_get_state(p.client), CC_CLIENT_CHECKING);
    CC_CHECK_EQ(cc_client_get_stats(p.client)->drop_stun, 1);
    /* DTLS before ICE succeeded is refused. */
    uint8_t dtls[32] = {22, 0xfe, 0xfd};
    CC_CHECK(cc_client_handle(p.client, CC_DEMUX_DTLS, dtls, sizeof dtls, &p.saddr,
                              cc_clock_now(&p.clock), &plain) < 0);
    teardown(&p);
}

static void test_fingerprint_mismatch(void)
{
    pair p;
    CC_CHECK_EQ(setup(&p, NULL,
                      "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                      "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"), 0);
    connect_pair(&p);
    CC_CHECK_EQ(cc_client_get_state(p.client), CC_CLIENT_FAILED);
    teardown(&p);
}

static void test_offer_and_answer(void)
{
    cc_addr cand;
    cc_addr_from_string(&cand, "127.0.0.1", 40404);
    cc_sdp_offer_params op = {
        .ice_ufrag = "abcd1234", .ice_pwd = "0123456789abcdefghijklmn",
        .fingerprint = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
                       "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
        .send = 1, .video = 1, .audio = 1, .video_ssrc = 1111, .audio_ssrc = 2222,
        .cname = "lgcname", .stream_id = "s1", .candidate = &cand,
    };
    char *text = NULL;
    CC_CHECK_EQ(cc_sdp_offer_write(&op, &text), 0);
    cc_sdp_offer *o = calloc(1, sizeof *o);
    CC_CHECK_EQ(cc_sdp_parse(text, strlen(text), o), 0);
    CC_CHECK_EQ(o->n_media, 2);
    CC_CHECK_EQ(o->n_bundle, 2);
    CC_CHECK_EQ(o->media[0].kind, CC_MEDIA_VIDEO);
    CC_CHECK_EQ(o->media[0].direction, CC_DIR_SENDONLY);
    CC_CHECK(o->media[0].rtcp_mux && o->media[0].rtcp_rsize);
    CC_CHECK(strcmp(o->media[0].setup, "actpass") == 0);
    CC_CHECK(strcmp(o->media[0].ice_ufrag, "abcd1234") == 0);
    CC_CHECK_EQ(o->media[0].n_ssrcs, 1);
    CC_CHECK_EQ(o->media[0].ssrcs[0], 1111);
    CC_CHECK(strcmp(o->media[0].cname, "lgcname") == 0);
    const cc_sdp_codec *vp8 = cc_sdp_find_codec(&o->media[0], "VP8");
    CC_CHECK(vp8 && vp8->pt == CC_OFFER_PT_VP8 && (vp8->fb & CC_FB_NACK) && (vp8->fb & CC_FB_PLI));
    const cc_sdp_codec *opus = cc_sdp_find_codec(&o->media[1], "opus");
    CC_CHECK(opus && opus->clock_rate == 48000 && strstr(opus->fmtp, "useinbandfec=1"));
    CC_CHECK_EQ(o->media[1].ssrcs[0], 2222);
    CC_CHECK_EQ(cc_sdp_find_extmap(&o->media[0], CC_EXT_URI_ABS_SEND_TIME), CC_OFFER_EXT_ABS_SEND_TIME);
    cc_addr got;
    CC_CHECK_EQ(cc_sdp_find_candidate(text, strlen(text), &got), 0);
    CC_CHECK(cc_addr_equal(&got, &cand));
    free(text);

    /* A recvonly (WHEP) offer, answered by classcast's answer writer. */
    op.send = 0;
    CC_CHECK_EQ(cc_sdp_offer_write(&op, &text), 0);
    CC_CHECK(strstr(text, "a=ssrc:") == NULL);
    CC_CHECK_EQ(cc_sdp_parse(text, strlen(text), o), 0);
    CC_CHECK_EQ(o->media[0].direction, CC_DIR_RECVONLY);
    cc_sdp_answer_params *ap = calloc(1, sizeof *ap);
    ap->ice_ufrag = "srvufrag";
    ap->ice_pwd = "serverpasswordserverpass";
    ap->fingerprint = op.fingerprint;
    ap->cname = "srv";
    cc_addr_from_string(&ap->candidates[0], "127.0.0.1", 50000);
    ap->n_candidates = 1;
    for (int i = 0; i < 2; i++) {
        ap->send[i] = 1;
        ap->streams[i].ssrc = 7000 + (uint32_t)i;
        snprintf(ap->streams[i].stream_id, sizeof ap->streams[i].stream_id, "lesson");
        snprintf(ap->streams[i].track_id, sizeof ap->streams[i].track_id, "t%d", i);
    }
    cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
    CC_CHECK_EQ(cc_sdp_choose(o, ap, ch), 0);
    char *answer = NULL;
    CC_CHECK_EQ(cc_sdp_write_answer(o, ap, ch, &answer), 0);
    cc_sdp_answer_info ai;
    CC_CHECK_EQ(cc_sdp_answer_read(answer, strlen(answer), &ai), 0);
    CC_CHECK(strcmp(ai.ice_ufrag, "srvufrag") == 0);
    CC_CHECK(strcmp(ai.ice_pwd, "serverpasswordserverpass") == 0);
    CC_CHECK(strcmp(ai.setup, "passive") == 0);
    CC_CHECK(ai.ice_lite);
    CC_CHECK(cc_addr_equal(&ai.candidate, &ap->candidates[0]));
    CC_CHECK(ai.video.present && ai.video.pt == CC_OFFER_PT_VP8 && ai.video.ssrc == 7000);
    CC_CHECK(ai.audio.present && ai.audio.pt == CC_OFFER_PT_OPUS && ai.audio.ssrc == 7001);
    /* Not an answer a client can use: no candidate. */
    char *cut = strstr(answer, "a=candidate:");
    CC_CHECK(cut != NULL);
    for (; cut; cut = strstr(cut, "a=candidate:"))
        memcpy(cut, "a=xandidate:", 12);
    CC_CHECK_EQ(cc_sdp_answer_read(answer, strlen(answer), &ai), CC_EINVAL);
    CC_CHECK(strstr(ai.error, "candidate") != NULL);
    free(answer);
    free(ap);
    free(text);
    free(o);
}

/* Two cc_clients, both full ICE agents, against each other in memory: `a`
 * controlling (aggressive nomination) and DTLS server, `b` controlled
 * (RFC 8445 section 7.3) and DTLS client, as the load generator's Janus
 * subscriber is towards Janus. `both_controlling` starts `b` controlling
 * too: the role conflict (section 7.3.1.1) must resolve itself. */
typedef struct duo {
    cc_clock clock;
    cc_dtls_ctx *actx, *bctx;
    cc_client *a, *b;
    cc_addr aaddr, baddr;
    int b_sent_use_candidate, b_sent_controlled;
} duo;

static void duo_pump(duo *d)
{
    uint8_t buf[2048];
    size_t len, plain;
    cc_addr to;
    for (int round = 0; round < 200; round++) {
        cc_time_us now = cc_clock_now(&d->clock);
        if (cc_client_deadline(d->a, now) <= now)
            cc_client_handle_timeout(d->a, now);
        if (cc_client_deadline(d->b, now) <= now)
            cc_client_handle_timeout(d->b, now);
        int any = 0;
        while (cc_client_poll_transmit(d->a, buf, sizeof buf, &len, &to) == 0) {
            any = 1;
            CC_CHECK(cc_addr_equal(&to, &d->baddr));
            cc_client_handle(d->b, cc_demux_classify(buf, len), buf, len, &d->aaddr, now, &plain);
        }
        while (cc_client_poll_transmit(d->b, buf, sizeof buf, &len, &to) == 0) {
            any = 1;
            CC_CHECK(cc_addr_equal(&to, &d->aaddr));
            cc_demux_kind k = cc_demux_classify(buf, len);
            cc_stun_msg m;
            if (k == CC_DEMUX_STUN && cc_stun_parse(&m, buf, len) == 0 &&
                m.type == CC_STUN_BINDING_REQUEST) {
                d->b_sent_use_candidate += cc_stun_find(&m, CC_STUN_ATTR_USE_CANDIDATE) != NULL;
                d->b_sent_controlled += cc_stun_find(&m, CC_STUN_ATTR_ICE_CONTROLLED) != NULL;
            }
            cc_client_handle(d->a, k, buf, len, &d->baddr, now, &plain);
        }
        if (!any)
            break;
    }
}

static void run_duo(int both_controlling)
{
    duo d;
    memset(&d, 0, sizeof d);
    cc_clock_init_manual(&d.clock, 7000 * CC_USEC_PER_SEC);
    cc_srtp_global_init();
    CC_CHECK_EQ(cc_dtls_ctx_new(&d.actx), 0);
    CC_CHECK_EQ(cc_dtls_ctx_new(&d.bctx), 0);
    char au[CC_ICE_UFRAG_LEN + 1], ap[CC_ICE_PWD_LEN + 1];
    char bu[CC_ICE_UFRAG_LEN + 1], bp[CC_ICE_PWD_LEN + 1];
    cc_ice_make_credentials(au, ap);
    cc_ice_make_credentials(bu, bp);
    cc_addr_from_string(&d.aaddr, "10.231.0.1", 20000);
    cc_addr_from_string(&d.baddr, "10.231.0.2", 40002);
    cc_time_us now = cc_clock_now(&d.clock);
    cc_client_config ca = {
        .dtls_ctx = d.actx, .local_ufrag = au, .local_pwd = ap,
        .remote_ufrag = bu, .remote_pwd = bp, .remote_fp_alg = "sha-256",
        .remote_fp = cc_dtls_ctx_fingerprint(d.bctx), .remote = d.baddr,
        .dtls_server = 1, .tie_breaker = 1000, .connect_timeout = 10 * CC_USEC_PER_SEC,
    };
    cc_client_config cb = {
        .dtls_ctx = d.bctx, .local_ufrag = bu, .local_pwd = bp,
        .remote_ufrag = au, .remote_pwd = ap, .remote_fp_alg = "sha-256",
        .remote_fp = cc_dtls_ctx_fingerprint(d.actx), .remote = d.aaddr,
        .dtls_server = 0, .controlled = !both_controlling, .tie_breaker = 5,
        .connect_timeout = 10 * CC_USEC_PER_SEC,
    };
    CC_CHECK_EQ(cc_client_new(&d.a, &ca, now), 0);
    CC_CHECK_EQ(cc_client_new(&d.b, &cb, now), 0);
    CC_CHECK_EQ(cc_client_is_controlling(d.a), 1);
    CC_CHECK_EQ(cc_client_is_controlling(d.b), both_controlling);
    for (int i = 0; i < 100 && (cc_client_get_state(d.a) != CC_CLIENT_CONNECTED ||
                                cc_client_get_state(d.b) != CC_CLIENT_CONNECTED); i++) {
        duo_pump(&d);
        cc_clock_advance(&d.clock, 10 * CC_USEC_PER_MSEC);
    }
    duo_pump(&d);
    CC_CHECK_EQ(cc_client_get_state(d.a), CC_CLIENT_CONNECTED);
    CC_CHECK_EQ(cc_client_get_state(d.b), CC_CLIENT_CONNECTED);
    /* b ends controlled (the larger tie-breaker, a's, wins a conflict). */
    CC_CHECK_EQ(cc_client_is_controlling(d.a), 1);
    CC_CHECK_EQ(cc_client_is_controlling(d.b), 0);
    CC_CHECK(d.b_sent_controlled > 0);
    if (!both_controlling)
        CC_CHECK_EQ(d.b_sent_use_candidate, 0);
    else
        CC_CHECK(cc_client_get_stats(d.b)->role_conflicts > 0);
    CC_CHECK(cc_client_get_stats(d.b)->stun_requests_in > 0);
    CC_CHECK(cc_client_get_stats(d.b)->check_responses > 0);
    CC_CHECK(cc_client_get_stats(d.a)->stun_requests_in > 0);
    /* SRTP both ways: b's RTP reaches a, and a's reaches b. */
    uint8_t pkt[256];
    for (int dir = 0; dir < 2; dir++) {
        cc_client *tx = dir ? d.a : d.b, *rx = dir ? d.b : d.a;
        memset(pkt, 0, sizeof pkt);
        pkt[0] = 0x80; pkt[1] = 96; pkt[3] = 7; pkt[11] = 0x42;
        for (int i = 12; i < 112; i++)
            pkt[i] = (uint8_t)i;
        size_t out = 0, plain = 0;
        CC_CHECK_EQ(cc_client_protect_rtp(tx, pkt, 112, sizeof pkt, &out), 0);
        CC_CHECK_EQ(cc_client_handle(rx, CC_DEMUX_RTP, pkt, out, dir ? &d.aaddr : &d.baddr,
                                     cc_clock_now(&d.clock), &plain), CC_CLIENT_IN_RTP);
        CC_CHECK_EQ(plain, 112);
        CC_CHECK_EQ(pkt[50], 50);
    }
    /* Consent keeps both up for a minute of checks. */
    for (int i = 0; i < 60; i++) {
        cc_clock_advance(&d.clock, CC_USEC_PER_SEC);
        duo_pump(&d);
    }
    CC_CHECK_EQ(cc_client_get_state(d.a), CC_CLIENT_CONNECTED);
    CC_CHECK_EQ(cc_client_get_state(d.b), CC_CLIENT_CONNECTED);
    cc_client_free(d.a);
    cc_client_free(d.b);
    cc_dtls_ctx_free(d.actx);
    cc_dtls_ctx_free(d.bctx);
}

static void test_controlled_role(void) { run_duo(0); }
static void test_role_conflict(void) { run_duo(1); }

/* A Janus-like subscriber offer (Janus offers, we answer): its own PTs,
 * rtx with an FID group, a=ssrc lines, actpass, one host candidate, and a
 * data channel m-line we reject. */
static const char janus_offer[] =
    "v=0\r\no=- 1700000000000000 1 IN IP4 10.231.0.1\r\ns=VideoRoom 1234\r\nt=0 0\r\n"
    "a=group:BUNDLE 0 1 2\r\na=ice-options:trickle\r\na=msid-semantic: WMS *\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 109\r\nc=IN IP4 10.231.0.1\r\na=sendonly\r\na=mid:0\r\n"
    "a=rtcp-mux\r\na=ice-ufrag:JnUs\r\na=ice-pwd:JanusPasswordJanusPass1\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\r\n"
    "a=setup:actpass\r\na=rtpmap:109 opus/48000/2\r\na=fmtp:109 useinbandfec=1\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=msid:janus janusa0\r\na=ssrc:3000000001 cname:janus\r\na=ssrc:3000000001 msid:janus janusa0\r\n"
    "a=candidate:1 1 udp 2015363327 10.231.0.1 23456 typ host\r\na=end-of-candidates\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 100 101\r\nc=IN IP4 10.231.0.1\r\na=sendonly\r\na=mid:1\r\n"
    "a=rtcp-mux\r\na=ice-ufrag:JnUs\r\na=ice-pwd:JanusPasswordJanusPass1\r\n"
    "a=fingerprint:sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\r\n"
    "a=setup:actpass\r\na=rtpmap:100 VP8/90000\r\na=rtcp-fb:100 ccm fir\r\na=rtcp-fb:100 nack\r\n"
    "a=rtcp-fb:100 nack pli\r\na=rtcp-fb:100 goog-remb\r\na=rtpmap:101 rtx/90000\r\na=fmtp:101 apt=100\r\n"
    "a=ssrc-group:FID 3000000002 3000000003\r\na=msid:janus janusv1\r\n"
    "a=ssrc:3000000002 cname:janus\r\na=ssrc:3000000003 cname:janus\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 10.231.0.1\r\na=mid:2\r\n"
    "a=ice-ufrag:JnUs\r\na=ice-pwd:JanusPasswordJanusPass1\r\n"
    "a=fingerprint:sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\r\n"
    "a=setup:actpass\r\na=sctp-port:5000\r\n";

static void test_answer_to_remote_offer(void)
{
    cc_sdp_answer_info *oi = calloc(1, sizeof *oi);
    CC_CHECK_EQ(cc_sdp_remote_offer_read(janus_offer, strlen(janus_offer), oi), 0);
    CC_CHECK(strcmp(oi->setup, "actpass") == 0);
    CC_CHECK(strcmp(oi->ice_ufrag, "JnUs") == 0);
    CC_CHECK_EQ(oi->audio.pt, 109);
    CC_CHECK_EQ(oi->video.pt, 100);
    CC_CHECK_EQ(oi->audio.ssrc, 3000000001u);
    CC_CHECK_EQ(oi->video.ssrc, 3000000002u);
    CC_CHECK_EQ(cc_addr_port(&oi->candidate), 23456);
    /* As an answer it would be refused: actpass. */
    CC_CHECK(cc_sdp_answer_read(janus_offer, strlen(janus_offer), oi) != 0);
    free(oi);

    cc_addr cand;
    cc_addr_from_string(&cand, "10.231.0.2", 40111);
    cc_sdp_client_answer_params ap = {
        .ice_ufrag = "efgh5678", .ice_pwd = "abcdefghijklmnopqrstuvwx",
        .fingerprint = "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
                       "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF",
        .candidate = &cand,
    };
    char *ans = NULL;
    CC_CHECK_EQ(cc_sdp_client_answer_write(janus_offer, strlen(janus_offer), &ap, &ans), 0);
    CC_CHECK(ans != NULL);
    if (!ans)
        return;
    cc_sdp_offer *o = calloc(1, sizeof *o);
    CC_CHECK_EQ(cc_sdp_parse(ans, strlen(ans), o), 0);
    CC_CHECK_EQ(o->n_media, 3);
    CC_CHECK_EQ(o->n_bundle, 2);
    CC_CHECK(strcmp(o->media[0].mid, "0") == 0 && strcmp(o->media[1].mid, "1") == 0);
    CC_CHECK_EQ(o->media[0].kind, CC_MEDIA_AUDIO);
    CC_CHECK_EQ(o->media[0].direction, CC_DIR_RECVONLY);
    CC_CHECK_EQ(o->media[1].direction, CC_DIR_RECVONLY);
    CC_CHECK_EQ(o->media[0].n_codecs, 1);
    CC_CHECK_EQ(o->media[0].codecs[0].pt, 109);
    CC_CHECK_EQ(o->media[1].n_codecs, 1); /* VP8 only, no rtx */
    CC_CHECK_EQ(o->media[1].codecs[0].pt, 100);
    CC_CHECK(o->media[1].codecs[0].fb & CC_FB_NACK);
    CC_CHECK(o->media[1].codecs[0].fb & CC_FB_PLI);
    CC_CHECK(strcmp(o->media[1].setup, "active") == 0);
    CC_CHECK(strcmp(o->media[1].ice_ufrag, "efgh5678") == 0);
    CC_CHECK(o->media[0].rtcp_mux);
    CC_CHECK_EQ(o->media[2].port, 0); /* the data channel: rejected */
    CC_CHECK(strcmp(o->media[2].mid, "2") == 0);
    cc_addr got;
    CC_CHECK_EQ(cc_sdp_find_candidate(ans, strlen(ans), &got), 0);
    CC_CHECK(cc_addr_equal(&got, &cand));
    free(o);
    free(ans);
}

int main(void)
{
    CC_RUN(test_connect_and_media);
    CC_RUN(test_retransmit_then_connect);
    CC_RUN(test_consent);
    CC_RUN(test_wrong_password);
    CC_RUN(test_forged_response);
    CC_RUN(test_fingerprint_mismatch);
    CC_RUN(test_offer_and_answer);
    CC_RUN(test_controlled_role);
    CC_RUN(test_role_conflict);
    CC_RUN(test_answer_to_remote_offer);
    CC_TEST_DONE();
}
