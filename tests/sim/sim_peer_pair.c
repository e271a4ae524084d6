/* Two ends of a WebRTC transport in memory with a manual clock: classcast's
 * cc_peer (ICE-lite, DTLS server, SRTP) against a "browser" made of the same
 * building blocks driven the way Chromium drives them (Binding requests with
 * USE-CANDIDATE, DTLS client, SRTP). Datagrams cross a simulated link with
 * seeded loss. No sockets; OpenSSL's DTLS retransmission timer alone reads
 * the real clock, so the loss scenario waits for it for real. */
#include <unistd.h>

#include "../unit/cc_test.h"
#include "classcast/dtls.h"
#include "classcast/err.h"
#include "classcast/ice.h"
#include "classcast/peer.h"
#include "classcast/rand.h"
#include "classcast/rtcp.h"
#include "classcast/rtp.h"
#include "classcast/srtp.h"
#include "classcast/stun.h"

typedef struct browser {
    cc_dtls_ctx *ctx;
    cc_dtls *dtls;
    cc_srtp *srtp;
    cc_addr addr;
    char ufrag[16], pwd[32];
} browser;

typedef struct sim {
    cc_clock clock;
    cc_prng rng;
    uint32_t loss_pct;     /* of every datagram, both ways */
    uint64_t lost;
    cc_dtls_ctx *server_ctx;
    cc_peer *peer;
    cc_addr server_addr;
    char s_ufrag[CC_ICE_UFRAG_LEN + 1], s_pwd[CC_ICE_PWD_LEN + 1];
    browser b;
} sim;

static int lose(sim *s)
{
    if (s->loss_pct && cc_prng_below(&s->rng, 100) < s->loss_pct) {
        s->lost++;
        return 1;
    }
    return 0;
}

static size_t binding_request(sim *s, uint8_t *buf, size_t cap, int nominate,
                              const char *pwd)
{
    uint8_t txid[12];
    char user[64];
    for (int i = 0; i < 12; i++)
        txid[i] = (uint8_t)cc_prng_next(&s->rng);
    snprintf(user, sizeof user, "%s:%s", s->s_ufrag, s->b.ufrag);
    cc_stun_builder b;
    cc_stun_build_start(&b, buf, cap, CC_STUN_BINDING_REQUEST, txid);
    cc_stun_build_attr(&b, CC_STUN_ATTR_USERNAME, user, (uint16_t)strlen(user));
    cc_stun_build_u32(&b, CC_STUN_ATTR_PRIORITY, 2122260223u);
    cc_stun_build_u64(&b, CC_STUN_ATTR_ICE_CONTROLLING, 0x1122334455667788ull);
    if (nominate)
        cc_stun_build_attr(&b, CC_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    cc_stun_build_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
    cc_stun_build_fingerprint(&b);
    size_t len = 0;
    cc_stun_build_finish(&b, &len);
    return len;
}

/* Move datagrams both ways until nothing moves. Returns datagrams moved. */
static int pump(sim *s)
{
    int moved = 0;
    uint8_t buf[2048];
    for (int round = 0; round < 100; round++) {
        int any = 0;
        size_t len;
        cc_addr to;
        cc_time_us now = cc_clock_now(&s->clock);
        /* server -> browser */
        while (cc_peer_poll_transmit(s->peer, buf, sizeof buf, &len, &to) == 0) {
            any = 1;
            moved++;
            if (lose(s))
                continue;
            if (cc_demux_classify(buf, len) == CC_DEMUX_DTLS)
                cc_dtls_handle_input(s->b.dtls, buf, len, now);
            /* STUN responses: a real browser checks them; the ICE tests
             * cover their contents. */
        }
        /* browser -> server */
        while (cc_dtls_poll_output(s->b.dtls, buf, sizeof buf, &len) == 0) {
            any = 1;
            moved++;
            if (lose(s))
                continue;
            size_t plain;
            cc_peer_handle(s->peer, CC_DEMUX_DTLS, buf, len, &s->b.addr, now, &plain);
        }
        if (!any)
            break;
    }
    return moved;
}

static int sim_setup(sim *s, uint64_t seed, uint32_t loss, const char *fp_override)
{
    memset(s, 0, sizeof *s);
    cc_clock_init_manual(&s->clock, 1000 * CC_USEC_PER_SEC);
    cc_prng_seed(&s->rng, seed);
    s->loss_pct = loss;
    cc_srtp_global_init();
    if (cc_dtls_ctx_new(&s->server_ctx) != 0 || cc_dtls_ctx_new(&s->b.ctx) != 0)
        return -1;
    cc_ice_make_credentials(s->s_ufrag, s->s_pwd);
    snprintf(s->b.ufrag, sizeof s->b.ufrag, "brow");
    snprintf(s->b.pwd, sizeof s->b.pwd, "browserpasswordbrowserpw");
    cc_addr_from_string(&s->b.addr, "192.0.2.10", 50123);
    cc_addr_from_string(&s->server_addr, "192.0.2.1", 50000);
    cc_peer_config pc = {
        .dtls_ctx = s->server_ctx,
        .local_ufrag = s->s_ufrag,
        .local_pwd = s->s_pwd,
        .remote_ufrag = s->b.ufrag,
        .remote_pwd = s->b.pwd,
        .remote_fp_alg = "sha-256",
        .remote_fp = fp_override ? fp_override : cc_dtls_ctx_fingerprint(s->b.ctx),
    };
    if (cc_peer_new(&s->peer, &pc, cc_clock_now(&s->clock)) != 0)
        return -1;
    return cc_dtls_new(&s->b.dtls, s->b.ctx, 0, "sha-256",
                       cc_dtls_ctx_fingerprint(s->server_ctx));
}

static void sim_free(sim *s)
{
    cc_peer_free(s->peer);
    cc_dtls_free(s->b.dtls);
    cc_srtp_free(s->b.srtp);
    cc_dtls_ctx_free(s->server_ctx);
    cc_dtls_ctx_free(s->b.ctx);
}

/* ICE check with nomination, then the DTLS handshake, as Chromium does. */
static void connect_pair(sim *s)
{
    uint8_t buf[512];
    size_t plain;
    size_t len = binding_request(s, buf, sizeof buf, 1, s->s_pwd);
    CC_CHECK_EQ(cc_peer_handle(s->peer, CC_DEMUX_STUN, buf, len, &s->b.addr,
                               cc_clock_now(&s->clock), &plain), CC_PEER_IN_NONE);
    CC_CHECK_EQ(cc_peer_get_state(s->peer), CC_PEER_CONNECTING);
    CC_CHECK(cc_peer_media_addr(s->peer) &&
             cc_addr_equal(cc_peer_media_addr(s->peer), &s->b.addr));
    cc_dtls_start(s->b.dtls, cc_clock_now(&s->clock));
    for (int i = 0; i < 40 && cc_dtls_get_state(s->b.dtls) != CC_DTLS_CONNECTED; i++) {
        pump(s);
        if (cc_dtls_get_state(s->b.dtls) == CC_DTLS_CONNECTED ||
            cc_peer_get_state(s->peer) == CC_PEER_FAILED)
            break;
        /* Lost flights: let OpenSSL's real-time retransmission timer run. */
        usleep(200 * 1000);
        cc_clock_advance(&s->clock, 200 * CC_USEC_PER_MSEC);
        cc_time_us now = cc_clock_now(&s->clock);
        cc_peer_handle_timeout(s->peer, now);
        cc_dtls_handle_timeout(s->b.dtls, now);
    }
    pump(s);
}

static void test_connect_and_media(void)
{
    sim s;
    CC_CHECK_EQ(sim_setup(&s, 1, 0, NULL), 0);
    connect_pair(&s);
    CC_CHECK_EQ(cc_peer_get_state(s.peer), CC_PEER_CONNECTED);
    CC_CHECK_EQ(cc_peer_srtp_profile(s.peer), CC_SRTP_AEAD_AES_128_GCM);
    cc_srtp_keys keys;
    CC_CHECK_EQ(cc_dtls_get_srtp_keys(s.b.dtls, &keys), 0);
    CC_CHECK_EQ(cc_srtp_new(&s.b.srtp, &keys), 0);
    CC_CHECK_EQ(cc_peer_get_stats(s.peer)->dtls_released, 0);

    /* browser -> server RTP and RTCP come out decrypted */
    uint8_t pkt[1500];
    int h = cc_rtp_write_header(pkt, sizeof pkt, 96, 1, 1000, 90000, 0x11223344);
    memset(pkt + h, 0xab, 1000);
    size_t len;
    CC_CHECK_EQ(cc_srtp_protect_rtp(s.b.srtp, pkt, (size_t)h + 1000, sizeof pkt, &len), 0);
    size_t plain = 0;
    CC_CHECK_EQ(cc_peer_handle(s.peer, CC_DEMUX_RTP, pkt, len, &s.b.addr,
                               cc_clock_now(&s.clock), &plain), CC_PEER_IN_RTP);
    CC_CHECK_EQ(plain, (size_t)h + 1000);
    cc_rtp_hdr rh;
    CC_CHECK_EQ(cc_rtp_parse(pkt, plain, &rh), 0);
    CC_CHECK_EQ(rh.ssrc, 0x11223344u);
    CC_CHECK_EQ(rh.seq, 1000);
    /* Authenticated media from the browser: the server's DTLS session is
     * freed; a late DTLS datagram (here the browser's close_notify) is
     * dropped and counted, and media keeps flowing. */
    CC_CHECK_EQ(cc_peer_get_stats(s.peer)->dtls_released, 1);
    {
        uint8_t d[512];
        size_t dl = 0, pl = 0;
        cc_dtls_close(s.b.dtls);
        CC_CHECK_EQ(cc_dtls_poll_output(s.b.dtls, d, sizeof d, &dl), 0);
        uint64_t drops = cc_peer_get_stats(s.peer)->drop_dtls;
        CC_CHECK(cc_peer_handle(s.peer, CC_DEMUX_DTLS, d, dl, &s.b.addr,
                                cc_clock_now(&s.clock), &pl) < 0);
        CC_CHECK_EQ(cc_peer_get_stats(s.peer)->drop_dtls, drops + 1);
        CC_CHECK_EQ(cc_peer_get_state(s.peer), CC_PEER_CONNECTED);
    }

    /* replaying the same protected packet is dropped */
    uint8_t again[1500];
    h = cc_rtp_write_header(again, sizeof again, 96, 0, 1001, 90000, 0x11223344);
    memset(again + h, 1, 100);
    CC_CHECK_EQ(cc_srtp_protect_rtp(s.b.srtp, again, (size_t)h + 100, sizeof again, &len), 0);
    uint8_t copy[1500];
    memcpy(copy, again, len);
    CC_CHECK_EQ(cc_peer_handle(s.peer, CC_DEMUX_RTP, again, len, &s.b.addr,
                               cc_clock_now(&s.clock), &plain), CC_PEER_IN_RTP);
    CC_CHECK(cc_peer_handle(s.peer, CC_DEMUX_RTP, copy, len, &s.b.addr,
                            cc_clock_now(&s.clock), &plain) < 0);
    CC_CHECK_EQ(cc_peer_get_stats(s.peer)->drop_srtp_auth, 1);

    /* server -> browser: protect, browser unprotects */
    int n = cc_rtcp_write_pli(pkt, sizeof pkt, 1, 0x11223344);
    CC_CHECK(n > 0);
    CC_CHECK_EQ(cc_peer_protect_rtcp(s.peer, pkt, (size_t)n, sizeof pkt, &len), 0);
    CC_CHECK_EQ(cc_srtp_unprotect_rtcp(s.b.srtp, pkt, len, &plain), 0);
    CC_CHECK_EQ(plain, (size_t)n);

    /* consent: Binding requests every 2.5 s keep it; silence for 30 s ends it */
    for (int i = 0; i < 20; i++) {
        cc_clock_advance(&s.clock, 2500 * CC_USEC_PER_MSEC);
        uint8_t req[512];
        size_t rl = binding_request(&s, req, sizeof req, 0, s.s_pwd);
        cc_peer_handle(s.peer, CC_DEMUX_STUN, req, rl, &s.b.addr, cc_clock_now(&s.clock), &plain);
        cc_peer_handle_timeout(s.peer, cc_clock_now(&s.clock));
    }
    CC_CHECK_EQ(cc_peer_get_state(s.peer), CC_PEER_CONNECTED);
    cc_time_us dl = cc_peer_deadline(s.peer, cc_clock_now(&s.clock));
    CC_CHECK(dl > cc_clock_now(&s.clock));
    CC_CHECK(dl <= cc_clock_now(&s.clock) + CC_ICE_CONSENT_TIMEOUT_US);
    cc_clock_advance(&s.clock, CC_ICE_CONSENT_TIMEOUT_US + CC_USEC_PER_SEC);
    cc_peer_handle_timeout(s.peer, cc_clock_now(&s.clock));
    CC_CHECK_EQ(cc_peer_get_state(s.peer), CC_PEER_CLOSED);
    sim_free(&s);
}

static void test_wrong_password_and_early_media(void)
{
    sim s;
    CC_CHECK_EQ(sim_setup(&s, 2, 0, NULL), 0);
    uint8_t buf[512];
    size_t plain;
    /* DTLS before any valid ICE check is refused */
    uint8_t dtls[32] = {22, 0xfe, 0xfd};
    CC_CHECK(cc_peer_handle(s.peer, CC_DEMUX_DTLS, dtls, sizeof dtls, &s.b.addr,
                            cc_clock_now(&s.clock), &plain) < 0);
    size_t len = binding_request(&s, buf, sizeof buf, 1, "wrongpasswordwrongpassword");
    CC_CHECK_EQ(cc_peer_handle(s.peer, CC_DEMUX_STUN, buf, len, &s.b.addr,
                               cc_clock_now(&s.clock), &plain), CC_EAUTH);
    CC_CHECK_EQ(cc_peer_get_state(s.peer), CC_PEER_NEW);
    uint8_t out[2048];
    cc_addr to;
    CC_CHECK_EQ(cc_peer_poll_transmit(s.peer, out, sizeof out, &len, &to), CC_EAGAIN);
    /* RTP before keys */
    uint8_t rtp[64];
    int h = cc_rtp_write_header(rtp, sizeof rtp, 96, 0, 1, 1, 1);
    CC_CHECK_EQ(cc_peer_handle(s.peer, CC_DEMUX_RTP, rtp, (size_t)h, &s.b.addr,
                               cc_clock_now(&s.clock), &plain), CC_ESTATE);
    /* never connected: closed after the connect timeout */
    cc_clock_advance(&s.clock, 31 * CC_USEC_PER_SEC);
    cc_peer_handle_timeout(s.peer, cc_clock_now(&s.clock));
    CC_CHECK_EQ(cc_peer_get_state(s.peer), CC_PEER_CLOSED);
    sim_free(&s);
}

static void test_fingerprint_mismatch(void)
{
    sim s;
    CC_CHECK_EQ(sim_setup(&s, 3, 0,
        "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"), 0);
    connect_pair(&s);
    CC_CHECK_EQ(cc_peer_get_state(s.peer), CC_PEER_FAILED);
    sim_free(&s);
}

static void test_lossy_handshake(void)
{
    /* 30% loss each way: retransmissions still get the handshake through. */
    sim s;
    CC_CHECK_EQ(sim_setup(&s, 4, 30, NULL), 0);
    connect_pair(&s);
    CC_CHECK_EQ(cc_peer_get_state(s.peer), CC_PEER_CONNECTED);
    CC_CHECK(s.lost > 0);
    printf("lossy handshake: %llu datagrams lost\n", (unsigned long long)s.lost);
    sim_free(&s);
}

int main(void)
{
    CC_RUN(test_connect_and_media);
    CC_RUN(test_wrong_password_and_early_media);
    CC_RUN(test_fingerprint_mismatch);
    CC_RUN(test_lossy_handshake);
    CC_TEST_DONE();
}
