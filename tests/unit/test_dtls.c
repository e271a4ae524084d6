/* Unit tests for src/rtc/dtls.c: two cc_dtls instances (server and client,
 * each with its own certificate) handshake in memory; datagrams are moved by
 * hand so tests can drop, split, corrupt and inspect them. OpenSSL's
 * retransmission timer reads the real clock, so the loss tests sleep until
 * the deadline the module reports. */
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "cc_test.h"
#include "classcast/clock.h"
#include "classcast/dtls.h"
#include "classcast/err.h"
#include "classcast/rand.h"
#include "classcast/srtp.h"

#define REC_HDR 13

static cc_dtls_ctx *g_sctx, *g_cctx;
static size_t g_max_dgram; /* largest datagram seen in any test */
static cc_clock g_clk;

typedef struct pair {
    cc_dtls *server, *client;
} pair;

static void make_pair(pair *p, cc_dtls_ctx *sctx, cc_dtls_ctx *cctx,
                      const char *fp_for_server, const char *fp_for_client)
{
    memset(p, 0, sizeof *p);
    CC_CHECK_EQ(cc_dtls_new(&p->server, sctx, 1, "sha-256",
                            fp_for_server ? fp_for_server
                                          : cc_dtls_ctx_fingerprint(cctx)),
                0);
    CC_CHECK_EQ(cc_dtls_new(&p->client, cctx, 0, "sha-256",
                            fp_for_client ? fp_for_client
                                          : cc_dtls_ctx_fingerprint(sctx)),
                0);
}

static void free_pair(pair *p)
{
    cc_dtls_free(p->server);
    cc_dtls_free(p->client);
}

/* Moves every pending datagram from -> to; drop != 0 loses them instead.
 * Returns how many datagrams there were. */
static int pump(cc_dtls *from, cc_dtls *to, int drop)
{
    uint8_t buf[2048];
    size_t len = 0;
    int n = 0;
    while (cc_dtls_poll_output(from, buf, sizeof buf, &len) == 0) {
        n++;
        CC_CHECK(len > 0 && len <= CC_DTLS_MTU);
        if (len > g_max_dgram) g_max_dgram = len;
        if (!drop) cc_dtls_handle_input(to, buf, len, cc_clock_now(&g_clk));
    }
    return n;
}

static int settled(const pair *p)
{
    cc_dtls_state s = cc_dtls_get_state(p->server);
    cc_dtls_state c = cc_dtls_get_state(p->client);
    return (s == CC_DTLS_CONNECTED || s == CC_DTLS_FAILED) &&
           (c == CC_DTLS_CONNECTED || c == CC_DTLS_FAILED);
}

/* Moves datagrams until both sides settle or nothing moves. */
static void run_once(pair *p)
{
    for (int i = 0; i < 20 && !settled(p); i++) {
        int moved = pump(p->client, p->server, 0);
        moved += pump(p->server, p->client, 0);
        if (!moved) break;
    }
    /* Final flights (the server's Finished) may still be pending. */
    pump(p->client, p->server, 0);
    pump(p->server, p->client, 0);
}

static void sleep_until_due(cc_dtls *d)
{
    cc_time_us now = cc_clock_now(&g_clk);
    cc_time_us dl = cc_dtls_deadline(d, now);
    CC_CHECK(dl != CC_TIME_NEVER);
    if (dl == CC_TIME_NEVER) return;
    cc_time_us wait = dl - now + 5 * CC_USEC_PER_MSEC;
    struct timespec ts = {(time_t)(wait / CC_USEC_PER_SEC),
                          (long)(wait % CC_USEC_PER_SEC) * 1000};
    nanosleep(&ts, NULL);
    cc_clock_advance(&g_clk, wait);
}

/* Runs a handshake to completion the way the worker does: datagrams move
 * as they come, and when nothing arrives before both sides settle, wait
 * for the nearer of the two DTLS deadlines and run both timers (a loaded
 * machine lets OpenSSL's own timer fire in the middle, and its
 * retransmissions must then be answered the same way). OpenSSL answers a
 * retransmitted ClientHello only from its own timer, which started a little
 * after the client's, so a test that sleeps for the client's deadline alone
 * depends on how long the server took to send its flight. Bounded: four
 * timer rounds (about 4 s with the doubling). */
static void run(pair *p)
{
    run_once(p);
    for (int round = 0; round < 4 && !settled(p); round++) {
        cc_time_us now = cc_clock_now(&g_clk);
        cc_time_us ds = cc_dtls_deadline(p->server, now);
        cc_time_us dc = cc_dtls_deadline(p->client, now);
        if (ds == CC_TIME_NEVER && dc == CC_TIME_NEVER)
            break; /* neither side will do anything more */
        cc_dtls *first = ds < dc ? p->server : p->client;
        sleep_until_due(first);
        now = cc_clock_now(&g_clk);
        cc_dtls_handle_timeout(p->server, now);
        cc_dtls_handle_timeout(p->client, now);
        run_once(p);
    }
}

static void check_keys(const pair *p, cc_srtp_profile want, size_t salt)
{
    cc_srtp_keys sk, ck;
    CC_CHECK_EQ(cc_dtls_get_srtp_keys(p->server, &sk), 0);
    CC_CHECK_EQ(cc_dtls_get_srtp_keys(p->client, &ck), 0);
    CC_CHECK_EQ(sk.profile, want);
    CC_CHECK_EQ(ck.profile, want);
    CC_CHECK_EQ(sk.key_len, 16);
    CC_CHECK_EQ(sk.salt_len, salt);
    CC_CHECK_EQ(ck.salt_len, salt);
    /* RFC 5764 section 4.2: what one side writes with, the other reads with. */
    CC_CHECK_MEM(sk.local_key, ck.remote_key, 16);
    CC_CHECK_MEM(sk.remote_key, ck.local_key, 16);
    CC_CHECK_MEM(sk.local_salt, ck.remote_salt, salt);
    CC_CHECK_MEM(sk.remote_salt, ck.local_salt, salt);
    CC_CHECK(memcmp(sk.local_key, sk.remote_key, 16) != 0);

    /* Role check against the raw exporter output (a swap on both sides
     * would still pass the crosswise checks above but not interoperate):
     * client_key | server_key | client_salt | server_salt. */
    uint8_t km[60], km2[60];
    size_t n = 2 * (16 + salt);
    CC_CHECK_EQ(cc_dtls_export_keying_material(p->server, "EXTRACTOR-dtls_srtp",
                                               km, n), 0);
    CC_CHECK_EQ(cc_dtls_export_keying_material(p->client, "EXTRACTOR-dtls_srtp",
                                               km2, n), 0);
    CC_CHECK_MEM(km, km2, n);
    CC_CHECK_MEM(ck.local_key, km, 16);
    CC_CHECK_MEM(sk.local_key, km + 16, 16);
    CC_CHECK_MEM(ck.local_salt, km + 32, salt);
    CC_CHECK_MEM(sk.local_salt, km + 32 + salt, salt);
}

/* ---------------------------------------------------------------- tests */

static void test_fingerprint_format(void)
{
    const char *fp = cc_dtls_ctx_fingerprint(g_sctx);
    CC_CHECK_EQ(strlen(fp), 32 * 3 - 1);
    for (size_t i = 0; i < strlen(fp); i++) {
        if (i % 3 == 2) CC_CHECK(fp[i] == ':');
        else CC_CHECK(isxdigit((unsigned char)fp[i]) &&
                      !islower((unsigned char)fp[i]));
    }
    CC_CHECK(strcmp(fp, cc_dtls_ctx_fingerprint(g_cctx)) != 0);

    cc_dtls *d = NULL;
    CC_CHECK_EQ(cc_dtls_new(&d, g_sctx, 1, "md5", fp), CC_EUNSUPPORTED);
    CC_CHECK_EQ(cc_dtls_new(&d, g_sctx, 1, "sha-256", "AB:CD"), CC_EINVAL);
    CC_CHECK_EQ(cc_dtls_new(&d, g_sctx, 1, "sha-1", fp), CC_EINVAL);
    CC_CHECK_EQ(cc_dtls_new(&d, g_sctx, 1, "sha-256", "zz"), CC_EINVAL);
    CC_CHECK(d == NULL);
}

static void exchange_media(const pair *p)
{
    cc_srtp_keys sk, ck;
    cc_srtp *ss = NULL, *cs = NULL;
    if (cc_dtls_get_srtp_keys(p->server, &sk) || cc_dtls_get_srtp_keys(p->client, &ck)) {
        CC_CHECK(0);
        return;
    }
    CC_CHECK_EQ(cc_srtp_new(&ss, &sk), 0);
    CC_CHECK_EQ(cc_srtp_new(&cs, &ck), 0);
    if (!ss || !cs) goto out;
    for (int dir = 0; dir < 2; dir++) {
        cc_srtp *tx = dir ? cs : ss, *rx = dir ? ss : cs;
        uint8_t rtp[200] = {0x80, 111, 0x00, 0x2a, 0, 0, 0x03, 0xe8,
                            0x11, 0x22, 0x33, (uint8_t)(0x44 + dir)};
        for (int i = 12; i < 160; i++) rtp[i] = (uint8_t)i;
        uint8_t buf[200];
        size_t out = 0, back = 0;
        memcpy(buf, rtp, 160);
        CC_CHECK_EQ(cc_srtp_protect_rtp(tx, buf, 160, sizeof buf, &out), 0);
        CC_CHECK_EQ(cc_srtp_unprotect_rtp(rx, buf, out, &back), 0);
        CC_CHECK_EQ(back, 160);
        CC_CHECK_MEM(buf, rtp, 160);

        /* RTCP PLI (RFC 4585 section 6.3.1). */
        uint8_t pli[12] = {0x81, 206, 0x00, 0x02, 0x11, 0x22, 0x33, 0x44,
                           0x55, 0x66, 0x77, (uint8_t)dir};
        memcpy(buf, pli, sizeof pli);
        CC_CHECK_EQ(cc_srtp_protect_rtcp(tx, buf, sizeof pli, sizeof buf, &out), 0);
        CC_CHECK_EQ(cc_srtp_unprotect_rtcp(rx, buf, out, &back), 0);
        CC_CHECK_EQ(back, sizeof pli);
        CC_CHECK_MEM(buf, pli, sizeof pli);
    }
out:
    cc_srtp_free(ss);
    cc_srtp_free(cs);
}

static void test_handshake_gcm(void)
{
    pair p;
    /* The client gets the server's fingerprint in lowercase: RFC 8122 hex
     * is compared as bytes. */
    char lower[128];
    snprintf(lower, sizeof lower, "%s", cc_dtls_ctx_fingerprint(g_sctx));
    for (char *c = lower; *c; c++) *c = (char)tolower((unsigned char)*c);
    make_pair(&p, g_sctx, g_cctx, NULL, lower);
    if (!p.server || !p.client) goto out;

    cc_srtp_keys k;
    CC_CHECK_EQ(cc_dtls_get_srtp_keys(p.server, &k), CC_ESTATE);
    CC_CHECK_EQ(cc_dtls_get_state(p.server), CC_DTLS_NEW);
    CC_CHECK_EQ(cc_dtls_start(p.server, 0), 0);
    uint8_t tmp[2048];
    size_t tl;
    CC_CHECK_EQ(cc_dtls_poll_output(p.server, tmp, sizeof tmp, &tl), CC_EAGAIN);
    CC_CHECK_EQ(cc_dtls_deadline(p.server, 0), CC_TIME_NEVER);

    cc_time_us t0 = cc_clock_mono_us();
    CC_CHECK_EQ(cc_dtls_start(p.client, 0), 0);
    CC_CHECK_EQ(cc_dtls_get_state(p.client), CC_DTLS_HANDSHAKING);
    CC_CHECK(cc_dtls_deadline(p.client, 1000) > 1000);
    CC_CHECK(cc_dtls_deadline(p.client, 1000) != CC_TIME_NEVER);
    run(&p);
    cc_time_us t1 = cc_clock_mono_us();
    printf("# in-memory handshake: %.2f ms\n", (double)(t1 - t0) / 1000.0);

    CC_CHECK_EQ(cc_dtls_get_state(p.server), CC_DTLS_CONNECTED);
    CC_CHECK_EQ(cc_dtls_get_state(p.client), CC_DTLS_CONNECTED);
    CC_CHECK(strcmp(cc_dtls_error(p.server), "") == 0);
    check_keys(&p, CC_SRTP_AEAD_AES_128_GCM, 12);
    CC_CHECK_EQ(cc_dtls_get_stats(p.server)->in_malformed, 0);
    exchange_media(&p);

    /* A connected server keeps answering: close_notify both ways. */
    CC_CHECK_EQ(cc_dtls_close(p.client), 0);
    CC_CHECK_EQ(cc_dtls_get_state(p.client), CC_DTLS_CLOSED);
    pump(p.client, p.server, 0);
    CC_CHECK_EQ(cc_dtls_get_state(p.server), CC_DTLS_CLOSED);
    /* Keys stay readable after close. */
    CC_CHECK_EQ(cc_dtls_get_srtp_keys(p.server, &k), 0);
out:
    free_pair(&p);
}

static void test_profiles(void)
{
    /* A client offering only AES_CM (older peers). */
    cc_dtls_ctx *cm_only = NULL, *cm_first = NULL;
    CC_CHECK_EQ(cc_dtls_ctx_new_with_profiles(&cm_only, "SRTP_AES128_CM_SHA1_80"), 0);
    CC_CHECK_EQ(cc_dtls_ctx_new_with_profiles(&cm_first,
                    "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM"), 0);
    CC_CHECK_EQ(cc_dtls_ctx_new_with_profiles(&(cc_dtls_ctx *){NULL}, "NOPE"),
                CC_EINVAL);
    if (!cm_only || !cm_first) goto out;

    pair p;
    make_pair(&p, g_sctx, cm_only, NULL, NULL);
    cc_dtls_start(p.client, 0);
    run(&p);
    CC_CHECK_EQ(cc_dtls_get_state(p.server), CC_DTLS_CONNECTED);
    CC_CHECK_EQ(cc_dtls_get_state(p.client), CC_DTLS_CONNECTED);
    check_keys(&p, CC_SRTP_AES128_CM_SHA1_80, 14);
    exchange_media(&p);
    free_pair(&p);

    /* The client prefers CM, the server GCM: OpenSSL's server picks by its
     * own order (the Chromium case, docs/WEBRTC.md section 3). */
    make_pair(&p, g_sctx, cm_first, NULL, NULL);
    cc_dtls_start(p.client, 0);
    run(&p);
    CC_CHECK_EQ(cc_dtls_get_state(p.server), CC_DTLS_CONNECTED);
    check_keys(&p, CC_SRTP_AEAD_AES_128_GCM, 12);
    free_pair(&p);
out:
    cc_dtls_ctx_free(cm_only);
    cc_dtls_ctx_free(cm_first);
}

static void test_fingerprint_mismatch(void)
{
    /* Server expects a different client certificate. */
    char wrong[128];
    snprintf(wrong, sizeof wrong, "%s", cc_dtls_ctx_fingerprint(g_cctx));
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    pair p;
    make_pair(&p, g_sctx, g_cctx, wrong, NULL);
    cc_dtls_start(p.client, 0);
    run(&p);
    CC_CHECK_EQ(cc_dtls_get_state(p.server), CC_DTLS_FAILED);
    CC_CHECK(strstr(cc_dtls_error(p.server), "fingerprint") != NULL);
    /* The server's alert reaches the client, which must not be connected. */
    CC_CHECK(cc_dtls_get_state(p.client) != CC_DTLS_CONNECTED);
    cc_srtp_keys k;
    CC_CHECK_EQ(cc_dtls_get_srtp_keys(p.server, &k), CC_ESTATE);
    CC_CHECK_EQ(cc_dtls_handle_input(p.server, (const uint8_t *)"x", 1, 0),
                CC_ESTATE);
    printf("# mismatch: server \"%s\", client \"%s\"\n",
           cc_dtls_error(p.server), cc_dtls_error(p.client));
    free_pair(&p);

    /* Client expects a different server certificate (sha-1 this time). */
    make_pair(&p, g_sctx, g_cctx, NULL, NULL);
    cc_dtls_free(p.client);
    p.client = NULL;
    CC_CHECK_EQ(cc_dtls_new(&p.client, g_cctx, 0, "SHA-1",
                            "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                            "00:11:22:33"),
                0);
    cc_dtls_start(p.client, 0);
    run(&p);
    CC_CHECK_EQ(cc_dtls_get_state(p.client), CC_DTLS_FAILED);
    CC_CHECK(strstr(cc_dtls_error(p.client), "fingerprint") != NULL);
    CC_CHECK(cc_dtls_get_state(p.server) != CC_DTLS_CONNECTED);
    free_pair(&p);
}

/* Lose the server's first flight (ServerHello..ServerHelloDone): the client
 * retransmits its ClientHello when its timer fires, the server answers. */
static void test_lost_server_flight(void)
{
    pair p;
    make_pair(&p, g_sctx, g_cctx, NULL, NULL);
    cc_dtls_start(p.client, 0);
    CC_CHECK_EQ(pump(p.client, p.server, 0), 1); /* ClientHello */
    CC_CHECK(pump(p.server, p.client, 1) >= 1);  /* flight 2: lost */
    CC_CHECK_EQ(pump(p.client, p.server, 0), 0);

    /* Before the deadline nothing is resent. The timer is OpenSSL's own
     * clock: on a machine stalled for a quarter of a second it may already
     * have fired, and then the resend must be counted. */
    cc_dtls_handle_timeout(p.client, cc_clock_now(&g_clk));
    int early = cc_dtls_get_stats(p.client)->retransmits > 0;
    CC_CHECK_EQ(pump(p.client, p.server, 1), early ? 1 : 0);

    sleep_until_due(p.client);
    CC_CHECK_EQ(cc_dtls_handle_timeout(p.client, cc_clock_now(&g_clk)), 0);
    CC_CHECK_EQ(cc_dtls_get_stats(p.client)->retransmits, (uint64_t)(1 + early));
    run(&p);
    CC_CHECK_EQ(cc_dtls_get_state(p.server), CC_DTLS_CONNECTED);
    CC_CHECK_EQ(cc_dtls_get_state(p.client), CC_DTLS_CONNECTED);
    check_keys(&p, CC_SRTP_AEAD_AES_128_GCM, 12);
    free_pair(&p);
}

/* Lose the server's last flight (ChangeCipherSpec + Finished): the client
 * resends its last flight on timeout and the connected server, still fed
 * through cc_dtls_handle_input, repeats its Finished. */
static void test_lost_final_flight(void)
{
    pair p;
    make_pair(&p, g_sctx, g_cctx, NULL, NULL);
    cc_dtls_start(p.client, 0);
    pump(p.client, p.server, 0);
    pump(p.server, p.client, 0);
    pump(p.client, p.server, 0); /* Certificate .. Finished */
    CC_CHECK_EQ(cc_dtls_get_state(p.server), CC_DTLS_CONNECTED);
    CC_CHECK(pump(p.server, p.client, 1) >= 1); /* lost */
    CC_CHECK_EQ(cc_dtls_get_state(p.client), CC_DTLS_HANDSHAKING);
    sleep_until_due(p.client);
    CC_CHECK_EQ(cc_dtls_handle_timeout(p.client, cc_clock_now(&g_clk)), 0);
    run(&p);
    CC_CHECK_EQ(cc_dtls_get_state(p.client), CC_DTLS_CONNECTED);
    check_keys(&p, CC_SRTP_AEAD_AES_128_GCM, 12);
    free_pair(&p);
}

static void feed_garbage(cc_dtls *d, cc_prng *rng, int epoch1_only)
{
    uint8_t buf[1500];
    for (int i = 0; i < 300; i++) {
        size_t len = cc_prng_below(rng, sizeof buf) + 1;
        for (size_t j = 0; j < len; j++) buf[j] = (uint8_t)cc_prng_next(rng);
        if (i % 3 == 1 && len >= REC_HDR) {
            /* Plausible framing, random content: reaches OpenSSL's record
             * layer. In epoch 1 the MAC/AEAD check drops it silently
             * (RFC 6347 section 4.1.2.7). */
            buf[0] = (uint8_t)(20 + cc_prng_below(rng, 4));
            buf[1] = 0xFE;
            buf[2] = 0xFD;
            buf[3] = 0;
            buf[4] = 1;
            buf[11] = (uint8_t)((len - REC_HDR) >> 8);
            buf[12] = (uint8_t)(len - REC_HDR);
        } else if (i % 3 == 2 && len >= REC_HDR) {
            /* Truncated: the header claims more than the datagram has. */
            buf[0] = 22;
            buf[1] = 0xFE;
            buf[2] = 0xFD;
            buf[11] = (uint8_t)((len - REC_HDR + 1) >> 8);
            buf[12] = (uint8_t)(len - REC_HDR + 1);
        } else if (epoch1_only && len >= 2 && buf[0] >= 20 && buf[0] <= 23 &&
                   buf[1] == 0xFE) {
            buf[1] = 0; /* keep random junk out of epoch 0 */
        }
        int rc = cc_dtls_handle_input(d, buf, len, cc_clock_now(&g_clk));
        CC_CHECK(rc == 0 || rc == CC_EINVAL);
        CC_CHECK(cc_dtls_get_state(d) != CC_DTLS_FAILED);
    }
    /* Empty and 1-byte input. */
    CC_CHECK_EQ(cc_dtls_handle_input(d, buf, 0, 0), CC_EINVAL);
    CC_CHECK_EQ(cc_dtls_handle_input(d, buf, 1, 0), CC_EINVAL);
    CC_CHECK_EQ(cc_dtls_handle_input(d, NULL, 5, 0), CC_EINVAL);
}

static void test_garbage(void)
{
    cc_prng rng;
    cc_prng_seed(&rng, 0x5eed);
    pair p;
    make_pair(&p, g_sctx, g_cctx, NULL, NULL);

    /* A fresh server. */
    feed_garbage(p.server, &rng, 1);
    CC_CHECK(cc_dtls_get_stats(p.server)->in_malformed >= 200);
    uint8_t tmp[2048];
    size_t tl;
    CC_CHECK_EQ(cc_dtls_poll_output(p.server, tmp, sizeof tmp, &tl), CC_EAGAIN);

    /* Mid-handshake, both sides, and truncated copies of real datagrams. */
    cc_dtls_start(p.client, 0);
    pump(p.client, p.server, 0);
    while (cc_dtls_poll_output(p.server, tmp, sizeof tmp, &tl) == 0) {
        for (size_t cut = 1; cut < tl; cut += 97) {
            int rc = cc_dtls_handle_input(p.client, tmp, cut, 0);
            CC_CHECK(rc == 0 || rc == CC_EINVAL);
        }
        cc_dtls_handle_input(p.client, tmp, tl, 0);
    }
    CC_CHECK_EQ(cc_dtls_get_state(p.client), CC_DTLS_HANDSHAKING);
    feed_garbage(p.client, &rng, 1);
    feed_garbage(p.server, &rng, 1);
    run(&p);
    CC_CHECK_EQ(cc_dtls_get_state(p.server), CC_DTLS_CONNECTED);
    CC_CHECK_EQ(cc_dtls_get_state(p.client), CC_DTLS_CONNECTED);

    /* Connected: junk is dropped, media keys unaffected. */
    feed_garbage(p.server, &rng, 1);
    feed_garbage(p.client, &rng, 1);
    CC_CHECK_EQ(cc_dtls_get_state(p.server), CC_DTLS_CONNECTED);
    check_keys(&p, CC_SRTP_AEAD_AES_128_GCM, 12);
    free_pair(&p);

    /* Framed junk in epoch 0 reaches OpenSSL's handshake parser; a decode
     * error there is a fatal alert by RFC 5246 section 7.2.2, which DTLS 1.2
     * cannot authenticate. It must still not crash, and the state and the
     * return code must agree. */
    for (int round = 0; round < 50; round++) {
        cc_dtls *d = NULL;
        CC_CHECK_EQ(cc_dtls_new(&d, g_sctx, 1, "sha-256",
                                cc_dtls_ctx_fingerprint(g_cctx)), 0);
        if (!d) break;
        for (int i = 0; i < 20; i++) {
            uint8_t buf[400];
            size_t len = REC_HDR + cc_prng_below(&rng, 300);
            for (size_t j = 0; j < len; j++) buf[j] = (uint8_t)cc_prng_next(&rng);
            buf[0] = 22;
            buf[1] = 0xFE;
            buf[2] = 0xFD;
            buf[3] = buf[4] = 0;
            buf[11] = (uint8_t)((len - REC_HDR) >> 8);
            buf[12] = (uint8_t)(len - REC_HDR);
            if (len > REC_HDR) buf[REC_HDR] = 1; /* ClientHello */
            int rc = cc_dtls_handle_input(d, buf, len, 0);
            CC_CHECK((rc == 0) == (cc_dtls_get_state(d) != CC_DTLS_FAILED) ||
                     rc == CC_ESTATE);
            while (cc_dtls_poll_output(d, buf, sizeof buf, &tl) == 0) {}
        }
        cc_dtls_free(d);
    }
}

/* A forged record in the next epoch that reaches a side before the peer's
 * ChangeCipherSpec is buffered by OpenSSL and decrypted after the epoch
 * changes. One shorter than the AEAD's nonce + tag used to end the
 * handshake with an internal_error alert (OpenSSL 3.0), so a single
 * spoofed 14-byte datagram could break a student's join. Every record type
 * and every short length, into the client and into the server, at the
 * moment each side waits for its peer's ChangeCipherSpec: the handshake
 * completes and the datagram is counted as malformed. Longer forged
 * records reach OpenSSL and fail authentication there, silently. */
static void inject_epoch1(cc_dtls *d, uint8_t type, size_t rlen)
{
    uint8_t buf[REC_HDR + 64];
    memset(buf, 0xA5, sizeof buf);
    buf[0] = type;
    buf[1] = 0xFE;
    buf[2] = 0xFD;
    buf[3] = 0;
    buf[4] = 1; /* epoch 1 */
    memset(buf + 5, 0, 6);
    buf[10] = 1;
    buf[11] = (uint8_t)(rlen >> 8);
    buf[12] = (uint8_t)rlen;
    int rc = cc_dtls_handle_input(d, buf, REC_HDR + rlen, cc_clock_now(&g_clk));
    CC_CHECK(rc == 0 || rc == CC_EINVAL);
}

static void test_forged_next_epoch(void)
{
    int failed = 0;
    for (int into_server = 0; into_server < 2; into_server++) {
        for (uint8_t type = 20; type <= 23; type++) {
            for (size_t rlen = 1; rlen <= 40; rlen++) {
                pair p;
                make_pair(&p, g_sctx, g_cctx, NULL, NULL);
                cc_dtls_start(p.client, 0);
                pump(p.client, p.server, 0); /* ClientHello */
                pump(p.server, p.client, 0); /* ServerHello .. Done */
                /* The client has chosen its suite and sent (not yet
                 * delivered) its CCS + Finished; the server waits for it. */
                cc_dtls *victim = into_server ? p.server : p.client;
                uint64_t bad0 = cc_dtls_get_stats(victim)->in_malformed;
                inject_epoch1(victim, type, rlen);
                if (rlen < 24)
                    CC_CHECK_EQ(cc_dtls_get_stats(victim)->in_malformed,
                                bad0 + 1);
                run(&p);
                if (cc_dtls_get_state(p.server) != CC_DTLS_CONNECTED ||
                    cc_dtls_get_state(p.client) != CC_DTLS_CONNECTED) {
                    if (failed++ < 5)
                        fprintf(stderr, "# forged epoch-1 record type %u "
                                "length %zu into the %s broke the handshake\n",
                                type, rlen, into_server ? "server" : "client");
                }
                free_pair(&p);
            }
        }
    }
    CC_CHECK_EQ(failed, 0);
}

/* Chromium's ClientHello (DTLS 1.3 + post-quantum key share) spans two
 * datagrams. Reproduce that: split our client's ClientHello into two
 * handshake fragments (RFC 6347 section 4.2.3) in two records, each in its
 * own datagram. The extra record takes one epoch-0 record number, so the
 * client's later epoch-0 records are renumbered by +1 to stay ahead of the
 * server's replay window (RFC 6347 section 4.1.2.6). */
static void bump_epoch0_seq(uint8_t *b, size_t len)
{
    size_t off = 0;
    while (off + REC_HDR <= len) {
        if (b[off + 3] == 0 && b[off + 4] == 0) {
            for (int i = 10; i >= 5; i--)
                if (++b[off + i] != 0) break;
        }
        off += REC_HDR + ((size_t)b[off + 11] << 8 | b[off + 12]);
    }
}

static void test_client_hello_two_datagrams(void)
{
    pair p;
    make_pair(&p, g_sctx, g_cctx, NULL, NULL);
    cc_dtls_start(p.client, 0);
    uint8_t ch[2048];
    size_t len = 0;
    CC_CHECK_EQ(cc_dtls_poll_output(p.client, ch, sizeof ch, &len), 0);
    CC_CHECK_EQ(cc_dtls_poll_output(p.client, ch + len, sizeof ch - len, &len),
                CC_EAGAIN);
    /* One record, one ClientHello: handshake header (12 bytes) at 13. */
    size_t rlen = (size_t)ch[11] << 8 | ch[12];
    CC_CHECK_EQ(rlen + REC_HDR, len);
    CC_CHECK_EQ(ch[REC_HDR], 1);
    size_t body = rlen - 12;
    size_t first = body / 2, second = body - first;

    uint8_t d1[2048], d2[2048];
    /* datagram 1: record seq unchanged, fragment [0, first) */
    memcpy(d1, ch, REC_HDR + 12 + first);
    d1[11] = (uint8_t)((12 + first) >> 8);
    d1[12] = (uint8_t)(12 + first);
    d1[REC_HDR + 9] = (uint8_t)(first >> 16);
    d1[REC_HDR + 10] = (uint8_t)(first >> 8);
    d1[REC_HDR + 11] = (uint8_t)first;
    /* datagram 2: next record seq, fragment [first, body) */
    memcpy(d2, ch, REC_HDR + 12);
    bump_epoch0_seq(d2, REC_HDR);
    d2[11] = (uint8_t)((12 + second) >> 8);
    d2[12] = (uint8_t)(12 + second);
    d2[REC_HDR + 6] = (uint8_t)(first >> 16);
    d2[REC_HDR + 7] = (uint8_t)(first >> 8);
    d2[REC_HDR + 8] = (uint8_t)first;
    d2[REC_HDR + 9] = (uint8_t)(second >> 16);
    d2[REC_HDR + 10] = (uint8_t)(second >> 8);
    d2[REC_HDR + 11] = (uint8_t)second;
    memcpy(d2 + REC_HDR + 12, ch + REC_HDR + 12 + first, second);

    CC_CHECK_EQ(cc_dtls_handle_input(p.server, d1, REC_HDR + 12 + first, 0), 0);
    uint8_t tmp[2048];
    size_t tl;
    /* Half a ClientHello: nothing to answer yet. */
    CC_CHECK_EQ(cc_dtls_poll_output(p.server, tmp, sizeof tmp, &tl), CC_EAGAIN);
    CC_CHECK_EQ(cc_dtls_handle_input(p.server, d2, REC_HDR + 12 + second, 0), 0);

    for (int i = 0; i < 10 && !settled(&p); i++) {
        pump(p.server, p.client, 0);
        while (cc_dtls_poll_output(p.client, tmp, sizeof tmp, &tl) == 0) {
            bump_epoch0_seq(tmp, tl);
            cc_dtls_handle_input(p.server, tmp, tl, 0);
        }
    }
    pump(p.server, p.client, 0);
    CC_CHECK_EQ(cc_dtls_get_state(p.server), CC_DTLS_CONNECTED);
    CC_CHECK_EQ(cc_dtls_get_state(p.client), CC_DTLS_CONNECTED);
    check_keys(&p, CC_SRTP_AEAD_AES_128_GCM, 12);
    free_pair(&p);
}

/* A caller buffer smaller than the MTU still gets whole records, one or
 * more per datagram. */
static void test_small_poll_buffer(void)
{
    pair p;
    make_pair(&p, g_sctx, g_cctx, NULL, NULL);
    cc_dtls_start(p.client, 0);
    pump(p.client, p.server, 0);
    uint8_t buf[2048];
    size_t len;
    CC_CHECK_EQ(cc_dtls_poll_output(p.server, buf, 10, &len), CC_ENOSPC);
    int n = 0;
    while (cc_dtls_poll_output(p.server, buf, 400, &len) == 0) {
        n++;
        CC_CHECK(len <= 400);
        size_t off = 0;
        while (off + REC_HDR <= len)
            off += REC_HDR + ((size_t)buf[off + 11] << 8 | buf[off + 12]);
        CC_CHECK_EQ(off, len); /* only whole records */
        cc_dtls_handle_input(p.client, buf, len, 0);
    }
    CC_CHECK(n >= 2);
    run(&p);
    CC_CHECK_EQ(cc_dtls_get_state(p.client), CC_DTLS_CONNECTED);
    free_pair(&p);
}

static void test_many_handshakes(void)
{
    cc_time_us t0 = cc_clock_mono_us();
    int ok = 0, n = 20;
    for (int i = 0; i < n; i++) {
        pair p;
        make_pair(&p, g_sctx, g_cctx, NULL, NULL);
        cc_dtls_start(p.client, 0);
        run(&p);
        ok += cc_dtls_get_state(p.server) == CC_DTLS_CONNECTED &&
              cc_dtls_get_state(p.client) == CC_DTLS_CONNECTED;
        free_pair(&p);
    }
    cc_time_us t1 = cc_clock_mono_us();
    CC_CHECK_EQ(ok, n);
    printf("# %d handshakes: %.2f ms each (both sides, one thread)\n", n,
           (double)(t1 - t0) / 1000.0 / n);
}

/* Workers may create contexts concurrently (header: made once, shared). */
static void *ctx_thread(void *arg)
{
    cc_dtls_ctx **out = arg;
    return (void *)(intptr_t)cc_dtls_ctx_new(out);
}

static void test_ctx_threads(void)
{
    pthread_t th[4];
    cc_dtls_ctx *ctx[4] = {0};
    for (int i = 0; i < 4; i++)
        CC_CHECK_EQ(pthread_create(&th[i], NULL, ctx_thread, &ctx[i]), 0);
    for (int i = 0; i < 4; i++) {
        void *rc = NULL;
        pthread_join(th[i], &rc);
        CC_CHECK_EQ((intptr_t)rc, 0);
        CC_CHECK(ctx[i] != NULL);
    }
    for (int i = 1; i < 4; i++)
        CC_CHECK(ctx[i] && ctx[0] && strcmp(cc_dtls_ctx_fingerprint(ctx[0]),
                                            cc_dtls_ctx_fingerprint(ctx[i])) != 0);
    if (ctx[0] && ctx[1]) {
        pair p;
        make_pair(&p, ctx[0], ctx[1], NULL, NULL);
        cc_dtls_start(p.client, 0);
        run(&p);
        CC_CHECK_EQ(cc_dtls_get_state(p.client), CC_DTLS_CONNECTED);
        free_pair(&p);
    }
    for (int i = 0; i < 4; i++) cc_dtls_ctx_free(ctx[i]);
}

/* cc_dtls_release: refused while the final flight is unsent or before
 * the handshake ends; afterwards the keys stay, DTLS input is counted and
 * refused, and nothing is sent or timed. */
static void test_release(void)
{
    pair p;
    make_pair(&p, g_sctx, g_cctx, NULL, NULL);
    if (!p.server || !p.client) goto out;
    CC_CHECK_EQ(cc_dtls_release(p.server), CC_ESTATE); /* not connected */
    cc_dtls_start(p.client, 0);
    pump(p.client, p.server, 0);
    pump(p.server, p.client, 0);
    pump(p.client, p.server, 0); /* Certificate .. Finished */
    CC_CHECK_EQ(cc_dtls_get_state(p.server), CC_DTLS_CONNECTED);
    CC_CHECK_EQ(cc_dtls_release(p.server), CC_EAGAIN); /* its Finished is unsent */
    pump(p.server, p.client, 0);
    CC_CHECK_EQ(cc_dtls_get_state(p.client), CC_DTLS_CONNECTED);
    cc_srtp_keys before, after;
    CC_CHECK_EQ(cc_dtls_get_srtp_keys(p.server, &before), 0);

    CC_CHECK_EQ(cc_dtls_release(p.server), 0);
    CC_CHECK_EQ(cc_dtls_release(p.server), 0); /* again: no-op */
    CC_CHECK(cc_dtls_is_released(p.server));
    CC_CHECK(!cc_dtls_is_released(p.client));
    CC_CHECK_EQ(cc_dtls_get_state(p.server), CC_DTLS_CONNECTED);
    CC_CHECK_EQ(cc_dtls_get_srtp_keys(p.server, &after), 0);
    CC_CHECK(memcmp(&before, &after, sizeof before) == 0);
    CC_CHECK_EQ(cc_dtls_deadline(p.server, 0), CC_TIME_NEVER);
    CC_CHECK_EQ(cc_dtls_handle_timeout(p.server, 0), 0);
    uint8_t buf[2048];
    size_t len;
    CC_CHECK_EQ(cc_dtls_poll_output(p.server, buf, sizeof buf, &len), CC_EAGAIN);
    CC_CHECK_EQ(cc_dtls_export_keying_material(p.server, "EXTRACTOR-dtls_srtp", buf, 60),
                CC_ESTATE);

    /* The client's close_notify reaches a released server: counted. */
    CC_CHECK_EQ(cc_dtls_close(p.client), 0);
    CC_CHECK_EQ(cc_dtls_poll_output(p.client, buf, sizeof buf, &len), 0);
    CC_CHECK_EQ(cc_dtls_handle_input(p.server, buf, len, 0), CC_ESTATE);
    CC_CHECK_EQ(cc_dtls_get_stats(p.server)->in_after_release, 1);
    CC_CHECK_EQ(cc_dtls_get_state(p.server), CC_DTLS_CONNECTED);
    CC_CHECK_EQ(cc_dtls_close(p.server), 0);
    CC_CHECK_EQ(cc_dtls_get_state(p.server), CC_DTLS_CLOSED);
    CC_CHECK_EQ(cc_dtls_poll_output(p.server, buf, sizeof buf, &len), CC_EAGAIN);
out:
    free_pair(&p);
}

int main(void)
{
    cc_clock_init_manual(&g_clk, 1000 * CC_USEC_PER_SEC);
    cc_time_us t0 = cc_clock_mono_us();
    if (cc_dtls_ctx_new(&g_sctx) != 0 || cc_dtls_ctx_new(&g_cctx) != 0) {
        fprintf(stderr, "cc_dtls_ctx_new failed\n");
        return 1;
    }
    printf("# two contexts (key + certificate each): %.2f ms\n",
           (double)(cc_clock_mono_us() - t0) / 1000.0);

    CC_RUN(test_fingerprint_format);
    CC_RUN(test_handshake_gcm);
    CC_RUN(test_profiles);
    CC_RUN(test_fingerprint_mismatch);
    CC_RUN(test_lost_server_flight);
    CC_RUN(test_lost_final_flight);
    CC_RUN(test_release);
    CC_RUN(test_garbage);
    CC_RUN(test_forged_next_epoch);
    CC_RUN(test_client_hello_two_datagrams);
    CC_RUN(test_small_poll_buffer);
    CC_RUN(test_many_handshakes);
    CC_RUN(test_ctx_threads);

    printf("# largest datagram: %zu bytes\n", g_max_dgram);
    CC_CHECK(g_max_dgram > 0 && g_max_dgram <= CC_DTLS_MTU);
    cc_dtls_ctx_free(g_sctx);
    cc_dtls_ctx_free(g_cctx);
    CC_TEST_DONE();
}
