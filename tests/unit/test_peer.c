/* cc_peer against bad input and the clock; tests/sim/sim_peer_pair.c covers
 * the good path (connect, media, loss). Here, in every state a peer has
 * (new, connecting, connected): garbage of every kind, datagrams whose kind
 * a peer never takes (RFC 7983 section 7), STUN with the wrong ufrag,
 * password or FINGERPRINT, and media before DTLS has made keys each come
 * back as a negative code, raise exactly one drop counter and change
 * nothing (state, media address, consent, queued output). Then the
 * deadlines on a manual clock: consent freshness (RFC 7675 section 5.1:
 * 30 s without a valid check ends the session, only checks on the
 * selected pair refresh it, a late check does not revive it) and the
 * connect timeout of a peer that never finishes the handshake. */
#include "cc_test.h"
#include "classcast/dtls.h"
#include "classcast/err.h"
#include "classcast/ice.h"
#include "classcast/log.h"
#include "classcast/peer.h"
#include "classcast/rand.h"
#include "classcast/rtcp.h"
#include "classcast/rtp.h"
#include "classcast/srtp.h"
#include "classcast/stun.h"

#define S_UFRAG "srvufrag"
#define S_PWD "serverpasswordserverpass"
#define B_UFRAG "brow"
#define B_PWD "browserpasswordbrowserpw"

static cc_dtls_ctx *g_srv_ctx, *g_brw_ctx;

typedef struct fx {
    cc_clock clk;
    cc_peer *peer;
    cc_dtls *bdtls;  /* the browser's side: DTLS client (a=setup:active) */
    cc_srtp *bsrtp;
    cc_addr baddr;   /* the browser's address */
    cc_addr other;   /* someone else's */
    uint8_t txn;
} fx;

static void fx_init(fx *f, cc_time_us consent_timeout, cc_time_us connect_timeout)
{
    memset(f, 0, sizeof *f);
    cc_clock_init_manual(&f->clk, 1000 * CC_USEC_PER_SEC);
    cc_addr_from_string(&f->baddr, "192.0.2.10", 50123);
    cc_addr_from_string(&f->other, "198.51.100.7", 40000);
    cc_peer_config pc = {
        .dtls_ctx = g_srv_ctx,
        .local_ufrag = S_UFRAG,
        .local_pwd = S_PWD,
        .remote_ufrag = B_UFRAG,
        .remote_pwd = B_PWD,
        .remote_fp_alg = "sha-256",
        .remote_fp = cc_dtls_ctx_fingerprint(g_brw_ctx),
        .consent_timeout = consent_timeout,
        .connect_timeout = connect_timeout,
    };
    CC_CHECK_EQ(cc_peer_new(&f->peer, &pc, cc_clock_now(&f->clk)), 0);
    CC_CHECK_EQ(cc_dtls_new(&f->bdtls, g_brw_ctx, 0, "sha-256",
                            cc_dtls_ctx_fingerprint(g_srv_ctx)), 0);
}

static void fx_free(fx *f)
{
    cc_peer_free(f->peer);
    cc_dtls_free(f->bdtls);
    cc_srtp_free(f->bsrtp);
}

static cc_time_us now_of(fx *f) { return cc_clock_now(&f->clk); }

/* A Binding request as Chromium sends it; the knobs make it wrong. */
typedef struct req_opts {
    const char *user;     /* NULL: "srvufrag:brow"; "": no USERNAME */
    const char *pwd;      /* NULL: the right one */
    uint16_t type;        /* 0: Binding request */
    int nominate;
    int bad_fingerprint;
    int unknown_required; /* add a comprehension-required attribute */
} req_opts;

static size_t stun_req(fx *f, uint8_t *buf, size_t cap, const req_opts *o)
{
    uint8_t txid[12];
    for (int i = 0; i < 12; i++)
        txid[i] = (uint8_t)(f->txn + i);
    f->txn++;
    const char *user = o->user ? o->user : S_UFRAG ":" B_UFRAG;
    const char *pwd = o->pwd ? o->pwd : S_PWD;
    cc_stun_builder b;
    cc_stun_build_start(&b, buf, cap, o->type ? o->type : CC_STUN_BINDING_REQUEST, txid);
    if (user[0])
        cc_stun_build_attr(&b, CC_STUN_ATTR_USERNAME, user, (uint16_t)strlen(user));
    cc_stun_build_u32(&b, CC_STUN_ATTR_PRIORITY, 2122260223u);
    cc_stun_build_u64(&b, CC_STUN_ATTR_ICE_CONTROLLING, 0x1122334455667788ull);
    if (o->nominate)
        cc_stun_build_attr(&b, CC_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    if (o->unknown_required)
        cc_stun_build_u32(&b, 0x0033, 7); /* 0x0000-0x7FFF: must understand */
    cc_stun_build_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
    cc_stun_build_fingerprint(&b);
    size_t len = 0;
    CC_CHECK_EQ(cc_stun_build_finish(&b, &len), 0);
    if (o->bad_fingerprint)
        buf[len - 1] ^= 0x01;
    return len;
}

static int handle(fx *f, cc_demux_kind kind, const uint8_t *data, size_t len,
                  const cc_addr *from)
{
    uint8_t buf[2048];
    size_t plain = 99;
    memcpy(buf, data, len < sizeof buf ? len : sizeof buf);
    int rc = cc_peer_handle(f->peer, kind, buf, len, from, now_of(f), &plain);
    if (rc < 0)
        CC_CHECK_EQ(plain, 0); /* nothing to hand on */
    return rc;
}

static int valid_check(fx *f, const cc_addr *from, int nominate)
{
    uint8_t buf[512];
    req_opts o = {.nominate = nominate};
    size_t len = stun_req(f, buf, sizeof buf, &o);
    return handle(f, CC_DEMUX_STUN, buf, len, from);
}

static uint64_t drops(const cc_peer *p)
{
    const cc_peer_stats *s = cc_peer_get_stats(p);
    return s->drop_stun + s->drop_dtls + s->drop_before_keys +
           s->drop_srtp_auth + s->drop_protect + s->drop_kind;
}

/* Everything bad input must leave alone. */
typedef struct snap {
    cc_peer_state state;
    cc_ice_state ice_state;
    int has_addr;
    cc_addr media;
    cc_time_us last_consent;
    cc_time_us deadline;
} snap;

static snap take(fx *f)
{
    snap s;
    memset(&s, 0, sizeof s);
    s.state = cc_peer_get_state(f->peer);
    s.ice_state = cc_peer_get_ice(f->peer)->state;
    const cc_addr *m = cc_peer_media_addr(f->peer);
    s.has_addr = m != NULL;
    if (m)
        s.media = *m;
    s.last_consent = cc_peer_get_ice(f->peer)->last_consent;
    s.deadline = cc_peer_deadline(f->peer, now_of(f));
    return s;
}

static int same(const snap *a, const snap *b)
{
    return a->state == b->state && a->ice_state == b->ice_state &&
           a->has_addr == b->has_addr &&
           (!a->has_addr || cc_addr_equal(&a->media, &b->media)) &&
           a->last_consent == b->last_consent && a->deadline == b->deadline;
}

static int nothing_to_send(fx *f)
{
    uint8_t out[2048];
    size_t len;
    cc_addr to;
    return cc_peer_poll_transmit(f->peer, out, sizeof out, &len, &to) == CC_EAGAIN;
}

/* Feed one bad datagram; it must be refused, counted once, and harmless. */
static void expect_drop(fx *f, cc_demux_kind kind, const uint8_t *d, size_t len,
                        const cc_addr *from, const char *what)
{
    snap before = take(f);
    uint64_t d0 = drops(f->peer);
    int rc = handle(f, kind, d, len, from);
    snap after = take(f);
    int ok = rc < 0 && drops(f->peer) == d0 + 1 && same(&before, &after) &&
             nothing_to_send(f);
    if (!ok)
        fprintf(stderr, "bad input \"%s\" (kind %s) in state %s: rc %d, drops +%llu, "
                "state %s\n", what, cc_demux_name(kind),
                cc_peer_state_name(before.state), rc,
                (unsigned long long)(drops(f->peer) - d0),
                cc_peer_state_name(after.state));
    CC_CHECK(ok);
}

/* Move DTLS both ways until nothing moves (the browser is the client). */
static void pump(fx *f)
{
    uint8_t buf[2048];
    for (int round = 0; round < 50; round++) {
        int moved = 0;
        size_t len;
        cc_addr to;
        while (cc_peer_poll_transmit(f->peer, buf, sizeof buf, &len, &to) == 0) {
            moved++;
            if (cc_demux_classify(buf, len) == CC_DEMUX_DTLS)
                cc_dtls_handle_input(f->bdtls, buf, len, now_of(f));
        }
        while (cc_dtls_poll_output(f->bdtls, buf, sizeof buf, &len) == 0) {
            moved++;
            size_t plain;
            cc_peer_handle(f->peer, CC_DEMUX_DTLS, buf, len, &f->baddr,
                           now_of(f), &plain);
        }
        if (!moved)
            break;
    }
}

/* ICE check with nomination, then the handshake, then SRTP on the browser. */
static void connect_peer(fx *f)
{
    CC_CHECK_EQ(valid_check(f, &f->baddr, 1), CC_PEER_IN_NONE);
    CC_CHECK_EQ(cc_peer_get_state(f->peer), CC_PEER_CONNECTING);
    cc_dtls_start(f->bdtls, now_of(f));
    pump(f);
    CC_CHECK_EQ(cc_peer_get_state(f->peer), CC_PEER_CONNECTED);
    cc_srtp_keys keys;
    CC_CHECK_EQ(cc_dtls_get_srtp_keys(f->bdtls, &keys), 0);
    CC_CHECK_EQ(cc_srtp_new(&f->bsrtp, &keys), 0);
    CC_CHECK(nothing_to_send(f));
}

/* One garbage set, fed in whatever state the peer is in. */
static void feed_garbage(fx *f)
{
    static const uint8_t zeros[64];
    uint8_t b[600];
    cc_prng rng;
    cc_prng_seed(&rng, 42);
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (uint8_t)cc_prng_next(&rng);

    /* STUN-kind garbage: empty, short, a header with the wrong magic
     * cookie (RFC 8489 section 5), a length longer than the datagram. */
    expect_drop(f, CC_DEMUX_STUN, zeros, 0, &f->baddr, "empty STUN");
    expect_drop(f, CC_DEMUX_STUN, zeros, 1, &f->baddr, "1-byte STUN");
    expect_drop(f, CC_DEMUX_STUN, zeros, 19, &f->baddr, "19-byte STUN");
    uint8_t s[64] = {0x00, 0x01, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef};
    expect_drop(f, CC_DEMUX_STUN, s, 20, &f->baddr, "wrong magic cookie");
    s[4] = 0x21, s[5] = 0x12, s[6] = 0xa4, s[7] = 0x42;
    s[3] = 40; /* says 40 bytes of attributes, carries 8 */
    expect_drop(f, CC_DEMUX_STUN, s, 28, &f->baddr, "STUN length too long");
    s[3] = 8; /* an attribute that runs past the message */
    s[20] = 0x00, s[21] = 0x06, s[22] = 0x00, s[23] = 0x40;
    expect_drop(f, CC_DEMUX_STUN, s, 28, &f->baddr, "STUN attribute overrun");
    b[0] = 0x01;
    expect_drop(f, CC_DEMUX_STUN, b, 300, &f->baddr, "random STUN");

    /* DTLS-kind garbage (RFC 6347 section 4.1 framing). */
    expect_drop(f, CC_DEMUX_DTLS, zeros, 0, &f->baddr, "empty DTLS");
    uint8_t d[64] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xf4};
    expect_drop(f, CC_DEMUX_DTLS, d, 13, &f->baddr, "DTLS record cut short");
    d[1] = 0x03; /* a TLS version, not DTLS */
    d[11] = 0, d[12] = 10;
    expect_drop(f, CC_DEMUX_DTLS, d, 23, &f->baddr, "TLS version in DTLS");
    b[0] = 23;
    expect_drop(f, CC_DEMUX_DTLS, b, 300, &f->baddr, "random DTLS");

    /* Kind and first byte disagree (a caller's mistake must not pass as
     * something else): STUN bytes as DTLS, DTLS bytes as STUN, a DTLS
     * record as RTP. */
    uint8_t good[512];
    req_opts o = {0};
    size_t gl = stun_req(f, good, sizeof good, &o);
    expect_drop(f, CC_DEMUX_DTLS, good, gl, &f->baddr, "STUN labelled DTLS");
    d[1] = 0xfe;
    expect_drop(f, CC_DEMUX_STUN, d, 23, &f->baddr, "DTLS labelled STUN");
    expect_drop(f, CC_DEMUX_RTP, d, 23, &f->baddr, "DTLS labelled RTP");

    /* Kinds a WebRTC peer never takes: ZRTP, TURN channel data, and first
     * bytes RFC 7983 leaves unassigned. */
    uint8_t z[32] = {0x10};
    expect_drop(f, CC_DEMUX_ZRTP, z, sizeof z, &f->baddr, "ZRTP");
    uint8_t t[32] = {0x40, 0x00, 0x00, 0x10};
    expect_drop(f, CC_DEMUX_TURN, t, sizeof t, &f->baddr, "TURN channel data");
    uint8_t u[32] = {0xff};
    expect_drop(f, CC_DEMUX_UNKNOWN, u, sizeof u, &f->baddr, "first byte 255");
    u[0] = 100;
    expect_drop(f, CC_DEMUX_UNKNOWN, u, sizeof u, &f->baddr, "first byte 100");
    expect_drop(f, CC_DEMUX_UNKNOWN, u, 0, &f->baddr, "empty, unknown");
    expect_drop(f, (cc_demux_kind)77, u, sizeof u, &f->baddr, "no such kind");

    /* RTP/RTCP-kind garbage: short, unauthenticated, random. */
    uint8_t r[300];
    int h = cc_rtp_write_header(r, sizeof r, 96, 0, 7, 1234, 0xabcdef01);
    memset(r + h, 0x5a, 100);
    expect_drop(f, CC_DEMUX_RTP, r, 1, &f->baddr, "1-byte RTP");
    expect_drop(f, CC_DEMUX_RTP, r, (size_t)h, &f->baddr, "bare RTP header");
    expect_drop(f, CC_DEMUX_RTP, r, (size_t)h + 100, &f->baddr, "plain RTP");
    b[0] = 0x80;
    expect_drop(f, CC_DEMUX_RTP, b, 500, &f->baddr, "random RTP");
    int n = cc_rtcp_write_pli(r, sizeof r, 1, 2);
    expect_drop(f, CC_DEMUX_RTCP, r, (size_t)n, &f->baddr, "plain RTCP");
    expect_drop(f, CC_DEMUX_RTCP, r, 4, &f->baddr, "4-byte RTCP");
}

static void test_garbage_new(void)
{
    fx f;
    fx_init(&f, 0, 0);
    feed_garbage(&f);
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_NEW);
    CC_CHECK(cc_peer_media_addr(f.peer) == NULL);
    /* Still able to connect afterwards. */
    connect_peer(&f);
    fx_free(&f);
}

static void test_garbage_connecting(void)
{
    fx f;
    fx_init(&f, 0, 0);
    CC_CHECK_EQ(valid_check(&f, &f.baddr, 1), CC_PEER_IN_NONE);
    CC_CHECK(!nothing_to_send(&f)); /* the Binding response */
    CC_CHECK(nothing_to_send(&f));
    feed_garbage(&f);
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CONNECTING);
    /* The handshake still completes (garbage did not wedge OpenSSL). */
    cc_dtls_start(f.bdtls, now_of(&f));
    pump(&f);
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CONNECTED);
    fx_free(&f);
}

static void test_garbage_connected(void)
{
    fx f;
    fx_init(&f, 0, 0);
    connect_peer(&f);
    feed_garbage(&f);
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CONNECTED);
    /* Genuine media still decrypts. */
    uint8_t p[300];
    int h = cc_rtp_write_header(p, sizeof p, 96, 1, 100, 9000, 0x01020304);
    memset(p + h, 0x11, 50);
    size_t len;
    CC_CHECK_EQ(cc_srtp_protect_rtp(f.bsrtp, p, (size_t)h + 50, sizeof p, &len), 0);
    CC_CHECK_EQ(handle(&f, CC_DEMUX_RTP, p, len, &f.baddr), CC_PEER_IN_RTP);
    /* Its replay and a one-bit flip are auth drops (RFC 3711 section 3.3). */
    expect_drop(&f, CC_DEMUX_RTP, p, len, &f.baddr, "replayed SRTP");
    h = cc_rtp_write_header(p, sizeof p, 96, 1, 101, 9000, 0x01020304);
    memset(p + h, 0x11, 50);
    CC_CHECK_EQ(cc_srtp_protect_rtp(f.bsrtp, p, (size_t)h + 50, sizeof p, &len), 0);
    p[len - 1] ^= 0x80;
    expect_drop(&f, CC_DEMUX_RTP, p, len, &f.baddr, "tampered SRTP");
    CC_CHECK_EQ(cc_peer_get_stats(f.peer)->drop_srtp_auth >= 2, 1);
    /* After the release of the DTLS session, DTLS garbage is still a drop. */
    CC_CHECK_EQ(cc_peer_get_stats(f.peer)->dtls_released, 1);
    uint8_t d[40] = {21, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 26};
    expect_drop(&f, CC_DEMUX_DTLS, d, sizeof d - 1, &f.baddr, "alert after release");
    fx_free(&f);
}

/* DTLS flights go to the source of the browser's DTLS (docs/WEBRTC.md,
 * section 2); a datagram that was not DTLS at all, from elsewhere, must
 * not redirect the flight that answers the ClientHello. */
static void test_dtls_reply_address(void)
{
    fx f;
    fx_init(&f, 0, 0);
    CC_CHECK_EQ(valid_check(&f, &f.baddr, 1), CC_PEER_IN_NONE);
    while (!nothing_to_send(&f))
        ;
    cc_dtls_start(f.bdtls, now_of(&f));
    uint8_t hello[1500], out[1500];
    size_t hl = 0, ol = 0;
    CC_CHECK_EQ(cc_dtls_poll_output(f.bdtls, hello, sizeof hello, &hl), 0);
    CC_CHECK_EQ(handle(&f, CC_DEMUX_DTLS, hello, hl, &f.baddr), CC_PEER_IN_NONE);
    uint8_t junk[40] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0x05, 0xdc};
    uint64_t d0 = cc_peer_get_stats(f.peer)->drop_dtls;
    CC_CHECK(handle(&f, CC_DEMUX_DTLS, junk, sizeof junk, &f.other) < 0);
    CC_CHECK_EQ(cc_peer_get_stats(f.peer)->drop_dtls, d0 + 1);
    cc_addr to;
    int flights = 0, elsewhere = 0;
    while (cc_peer_poll_transmit(f.peer, out, sizeof out, &ol, &to) == 0) {
        flights++;
        elsewhere += !cc_addr_equal(&to, &f.baddr);
    }
    CC_CHECK(flights >= 1);
    CC_CHECK_EQ(elsewhere, 0);
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CONNECTING);
    fx_free(&f);
}

/* Random datagrams of random kinds, in all three states: never a crash
 * (the ASan build runs this too), every refusal counted exactly once. */
static void test_random(void)
{
    for (int st = 0; st < 3; st++) {
        fx f;
        fx_init(&f, 0, 0);
        if (st == 1)
            CC_CHECK_EQ(valid_check(&f, &f.baddr, 1), CC_PEER_IN_NONE);
        else if (st == 2)
            connect_peer(&f);
        while (!nothing_to_send(&f))
            ;
        cc_peer_state want = cc_peer_get_state(f.peer);
        cc_prng rng;
        cc_prng_seed(&rng, 1000 + (uint64_t)st);
        int bad = 0;
        static const uint8_t firsts[] = {0, 1, 3, 16, 20, 22, 23, 63, 64, 79,
                                         128, 144, 191, 200, 255};
        for (int i = 0; i < 3000; i++) {
            uint8_t b[1500];
            size_t len = cc_prng_below(&rng, 4) == 0 ? cc_prng_below(&rng, 24)
                                                      : cc_prng_below(&rng, sizeof b);
            for (size_t k = 0; k < len; k++)
                b[k] = (uint8_t)cc_prng_next(&rng);
            if (len)
                b[0] = firsts[cc_prng_below(&rng, sizeof firsts)];
            if (len > 1 && b[0] == 22)
                b[1] = 0xfe; /* look like DTLS a little more often */
            cc_demux_kind kind = cc_prng_below(&rng, 2) ? cc_demux_classify(b, len)
                                                        : (cc_demux_kind)cc_prng_below(&rng, 8);
            uint64_t d0 = drops(f.peer);
            int rc = handle(&f, kind, b, len, cc_prng_below(&rng, 2) ? &f.baddr : &f.other);
            if (rc >= 0 || drops(f.peer) != d0 + 1 || cc_peer_get_state(f.peer) != want)
                bad++;
        }
        if (bad)
            fprintf(stderr, "state %s: %d random datagrams not dropped cleanly\n",
                    cc_peer_state_name(want), bad);
        CC_CHECK_EQ(bad, 0);
        fx_free(&f);
    }
}

/* STUN that is well formed but not for us, or not a request. */
static void test_stun_credentials(void)
{
    fx f;
    fx_init(&f, 0, 0);
    uint8_t buf[512];
    size_t len;
    const cc_ice_stats *is = &cc_peer_get_ice(f.peer)->stats;
    for (int phase = 0; phase < 2; phase++) {
        /* phase 0: new; phase 1: connected, the attacker elsewhere. */
        const cc_addr *from = phase ? &f.other : &f.baddr;
        uint64_t user0 = is->drop_bad_username, integ0 = is->drop_bad_integrity;
        uint64_t fp0 = is->drop_bad_fingerprint, notreq0 = is->drop_not_request;
        uint64_t unk0 = is->drop_unknown_required;
        req_opts o = {.user = "someoneelse:" B_UFRAG, .nominate = 1};
        len = stun_req(&f, buf, sizeof buf, &o);
        expect_drop(&f, CC_DEMUX_STUN, buf, len, from, "other local ufrag");
        o = (req_opts){.user = S_UFRAG ":mallory", .nominate = 1};
        len = stun_req(&f, buf, sizeof buf, &o);
        expect_drop(&f, CC_DEMUX_STUN, buf, len, from, "other remote ufrag");
        o = (req_opts){.user = S_UFRAG, .nominate = 1};
        len = stun_req(&f, buf, sizeof buf, &o);
        expect_drop(&f, CC_DEMUX_STUN, buf, len, from, "USERNAME without ':'");
        o = (req_opts){.user = "", .nominate = 1};
        len = stun_req(&f, buf, sizeof buf, &o);
        expect_drop(&f, CC_DEMUX_STUN, buf, len, from, "no USERNAME");
        CC_CHECK_EQ(is->drop_bad_username, user0 + 4);
        o = (req_opts){.pwd = "wrongpasswordwrongpasswd", .nominate = 1};
        len = stun_req(&f, buf, sizeof buf, &o);
        CC_CHECK_EQ(handle(&f, CC_DEMUX_STUN, buf, len, from), CC_EAUTH);
        o.pwd = B_PWD; /* the browser's own password is not the key */
        len = stun_req(&f, buf, sizeof buf, &o);
        expect_drop(&f, CC_DEMUX_STUN, buf, len, from, "remote password");
        CC_CHECK_EQ(is->drop_bad_integrity, integ0 + 2);
        o = (req_opts){.bad_fingerprint = 1, .nominate = 1};
        len = stun_req(&f, buf, sizeof buf, &o);
        expect_drop(&f, CC_DEMUX_STUN, buf, len, from, "bad FINGERPRINT");
        CC_CHECK_EQ(is->drop_bad_fingerprint, fp0 + 1);
        /* ICE-lite sends no checks, so responses and indications are
         * never ours to answer (RFC 8445 section 2.5). */
        o = (req_opts){.type = CC_STUN_BINDING_SUCCESS};
        len = stun_req(&f, buf, sizeof buf, &o);
        expect_drop(&f, CC_DEMUX_STUN, buf, len, from, "Binding success");
        o = (req_opts){.type = CC_STUN_BINDING_INDICATION};
        len = stun_req(&f, buf, sizeof buf, &o);
        expect_drop(&f, CC_DEMUX_STUN, buf, len, from, "Binding indication");
        CC_CHECK_EQ(is->drop_not_request, notreq0 + 2);
        /* RFC 8489 section 6.3.1: an unknown comprehension-required
         * attribute fails the request even with good credentials. */
        o = (req_opts){.unknown_required = 1, .nominate = 1};
        len = stun_req(&f, buf, sizeof buf, &o);
        expect_drop(&f, CC_DEMUX_STUN, buf, len, from, "unknown required attr");
        CC_CHECK_EQ(is->drop_unknown_required, unk0 + 1);
        if (phase == 0) {
            CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_NEW);
            CC_CHECK(cc_peer_media_addr(f.peer) == NULL);
            connect_peer(&f);
        }
    }
    CC_CHECK(cc_addr_equal(cc_peer_media_addr(f.peer), &f.baddr));

    /* The good check is answered to its source, with its transaction id. */
    uint8_t out[600];
    cc_addr to;
    req_opts o = {0};
    len = stun_req(&f, buf, sizeof buf, &o);
    CC_CHECK_EQ(handle(&f, CC_DEMUX_STUN, buf, len, &f.baddr), CC_PEER_IN_NONE);
    size_t olen = 0;
    CC_CHECK_EQ(cc_peer_poll_transmit(f.peer, out, sizeof out, &olen, &to), 0);
    CC_CHECK(cc_addr_equal(&to, &f.baddr));
    cc_stun_msg m;
    CC_CHECK_EQ(cc_stun_parse(&m, out, olen), 0);
    CC_CHECK_EQ(m.type, CC_STUN_BINDING_SUCCESS);
    CC_CHECK_MEM(m.txid, buf + 8, 12);
    CC_CHECK_EQ(cc_stun_check_integrity(&m, (const uint8_t *)S_PWD, strlen(S_PWD)), 0);
    CC_CHECK(nothing_to_send(&f));
    fx_free(&f);
}

/* Media and DTLS before their time: counted, refused, no state change. */
static void test_media_before_dtls(void)
{
    fx f;
    fx_init(&f, 0, 0);
    uint8_t rtp[200], rtcp[64], out[256];
    int h = cc_rtp_write_header(rtp, sizeof rtp, 96, 0, 1, 1, 0x42);
    memset(rtp + h, 0x33, 100);
    size_t rlen = (size_t)h + 100;
    int n = cc_rtcp_write_pli(rtcp, sizeof rtcp, 1, 0x42);
    size_t clen = (size_t)n, olen;
    const cc_peer_stats *st = cc_peer_get_stats(f.peer);

    /* DTLS only after a valid ICE check (RFC 8445 section 7.3). */
    cc_dtls_start(f.bdtls, now_of(&f));
    uint8_t hello[1500];
    size_t hl = 0;
    CC_CHECK_EQ(cc_dtls_poll_output(f.bdtls, hello, sizeof hello, &hl), 0);
    expect_drop(&f, CC_DEMUX_DTLS, hello, hl, &f.baddr, "ClientHello before ICE");
    CC_CHECK_EQ(st->drop_dtls, 1);
    CC_CHECK_EQ(handle(&f, CC_DEMUX_DTLS, hello, hl, &f.baddr), CC_ESTATE);

    for (int phase = 0; phase < 2; phase++) {
        uint64_t k0 = st->drop_before_keys, rx0 = st->rtp_rx, crx0 = st->rtcp_rx;
        CC_CHECK_EQ(handle(&f, CC_DEMUX_RTP, rtp, rlen, &f.baddr), CC_ESTATE);
        expect_drop(&f, CC_DEMUX_RTP, rtp, rlen, &f.baddr, "RTP before keys");
        CC_CHECK_EQ(handle(&f, CC_DEMUX_RTCP, rtcp, clen, &f.baddr), CC_ESTATE);
        expect_drop(&f, CC_DEMUX_RTCP, rtcp, clen, &f.baddr, "RTCP before keys");
        CC_CHECK_EQ(st->drop_before_keys, k0 + 4);
        CC_CHECK_EQ(st->rtp_rx, rx0 + 2);
        CC_CHECK_EQ(st->rtcp_rx, crx0 + 2);
        /* Nothing goes out either before keys. */
        memcpy(out, rtp, rlen);
        CC_CHECK_EQ(cc_peer_protect_rtp(f.peer, out, rlen, sizeof out, &olen), CC_ESTATE);
        CC_CHECK_EQ(cc_peer_protect_rtcp(f.peer, out, clen, sizeof out, &olen), CC_ESTATE);
        CC_CHECK_EQ(st->rtp_tx + st->rtcp_tx + st->drop_protect, 0);
        if (phase == 0) {
            CC_CHECK_EQ(valid_check(&f, &f.baddr, 1), CC_PEER_IN_NONE);
            while (!nothing_to_send(&f))
                ;
            CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CONNECTING);
        }
    }
    /* The ClientHello that was refused comes again (the browser's timer):
     * now it is taken and the handshake completes. */
    CC_CHECK_EQ(handle(&f, CC_DEMUX_DTLS, hello, hl, &f.baddr), CC_PEER_IN_NONE);
    pump(&f);
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CONNECTED);
    memcpy(out, rtp, rlen);
    CC_CHECK_EQ(cc_peer_protect_rtp(f.peer, out, rlen, sizeof out, &olen), 0);
    CC_CHECK(olen > rlen);
    fx_free(&f);
}

/* RFC 7675 section 5.1 on the manual clock. */
static void test_consent(void)
{
    fx f;
    fx_init(&f, 0, 0);
    connect_peer(&f);
    cc_time_us t0 = now_of(&f);
    cc_time_us dl = cc_peer_deadline(f.peer, t0);
    CC_CHECK(dl > t0 && dl <= t0 + CC_ICE_CONSENT_TIMEOUT_US);

    /* A wrong-password check on the selected pair and a valid check on
     * another pair do not refresh consent of the selected pair. */
    cc_clock_advance(&f.clk, 20 * CC_USEC_PER_SEC);
    uint8_t buf[512];
    req_opts o = {.pwd = "wrongpasswordwrongpasswd"};
    size_t len = stun_req(&f, buf, sizeof buf, &o);
    CC_CHECK(handle(&f, CC_DEMUX_STUN, buf, len, &f.baddr) < 0);
    CC_CHECK_EQ(valid_check(&f, &f.other, 0), CC_PEER_IN_NONE);
    while (!nothing_to_send(&f))
        ;
    CC_CHECK(cc_addr_equal(cc_peer_media_addr(f.peer), &f.baddr));
    CC_CHECK_EQ(cc_peer_deadline(f.peer, now_of(&f)), dl);

    /* One microsecond before the deadline: still connected. */
    cc_clock_advance(&f.clk, t0 + CC_ICE_CONSENT_TIMEOUT_US - 1 - now_of(&f));
    cc_peer_handle_timeout(f.peer, now_of(&f));
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CONNECTED);
    /* At 30 s without a valid check on the selected pair: closed. */
    cc_clock_advance(&f.clk, 1);
    cc_peer_handle_timeout(f.peer, now_of(&f));
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CLOSED);
    CC_CHECK_EQ(cc_peer_deadline(f.peer, now_of(&f)), CC_TIME_NEVER);
    /* Closed: nothing is taken or sent any more. */
    CC_CHECK_EQ(valid_check(&f, &f.baddr, 1), CC_ECLOSED);
    uint8_t p[200];
    int h = cc_rtp_write_header(p, sizeof p, 96, 0, 1, 1, 1);
    size_t ol;
    CC_CHECK_EQ(cc_peer_protect_rtp(f.peer, p, (size_t)h, sizeof p, &ol), CC_ESTATE);
    fx_free(&f);

    /* Checks every 2.5 s keep it open for a minute; it closes 30 s after
     * the last one. */
    fx_init(&f, 0, 0);
    connect_peer(&f);
    for (int i = 0; i < 24; i++) {
        cc_clock_advance(&f.clk, 2500 * CC_USEC_PER_MSEC);
        CC_CHECK_EQ(valid_check(&f, &f.baddr, 0), CC_PEER_IN_NONE);
        cc_peer_handle_timeout(f.peer, now_of(&f));
    }
    while (!nothing_to_send(&f))
        ;
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CONNECTED);
    cc_time_us last = now_of(&f);
    CC_CHECK_EQ(cc_peer_deadline(f.peer, last), last + CC_ICE_CONSENT_TIMEOUT_US);
    cc_clock_advance(&f.clk, 29 * CC_USEC_PER_SEC);
    cc_peer_handle_timeout(f.peer, now_of(&f));
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CONNECTED);
    cc_clock_advance(&f.clk, CC_USEC_PER_SEC);
    cc_peer_handle_timeout(f.peer, now_of(&f));
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CLOSED);
    fx_free(&f);
}

/* The owner runs the timeout late (the worker ticks every 10 ms) and a
 * check arrives in between: consent was lost at the deadline and the check
 * must not bring it back (RFC 7675 section 5.1), and the peer must not be
 * left connected with no deadline that would ever close it. */
static void test_late_check(void)
{
    fx f;
    fx_init(&f, 0, 0);
    connect_peer(&f);
    cc_clock_advance(&f.clk, CC_ICE_CONSENT_TIMEOUT_US + 5 * CC_USEC_PER_MSEC);
    int rc = valid_check(&f, &f.baddr, 1);
    CC_CHECK(rc < 0);
    CC_CHECK(nothing_to_send(&f));
    cc_time_us now = now_of(&f);
    cc_peer_state st = cc_peer_get_state(f.peer);
    CC_CHECK(st == CC_PEER_CLOSED || cc_peer_deadline(f.peer, now) <= now);
    cc_peer_handle_timeout(f.peer, now);
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CLOSED);
    fx_free(&f);
}

static void test_configured_timeouts(void)
{
    /* consent_timeout from the config replaces the 30 s. */
    fx f;
    fx_init(&f, 5 * CC_USEC_PER_SEC, 0);
    connect_peer(&f);
    cc_time_us t0 = now_of(&f);
    CC_CHECK_EQ(cc_peer_deadline(f.peer, t0), t0 + 5 * CC_USEC_PER_SEC);
    cc_clock_advance(&f.clk, 5 * CC_USEC_PER_SEC - 1);
    cc_peer_handle_timeout(f.peer, now_of(&f));
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CONNECTED);
    cc_clock_advance(&f.clk, 1);
    cc_peer_handle_timeout(f.peer, now_of(&f));
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CLOSED);
    fx_free(&f);

    /* A peer that passes ICE but never finishes DTLS is closed at the
     * connect timeout even while its checks keep consent alive. */
    fx_init(&f, 0, 10 * CC_USEC_PER_SEC);
    cc_time_us created = now_of(&f);
    CC_CHECK_EQ(cc_peer_deadline(f.peer, created), created + 10 * CC_USEC_PER_SEC);
    for (int i = 0; i < 3; i++) {
        cc_clock_advance(&f.clk, 3 * CC_USEC_PER_SEC);
        CC_CHECK_EQ(valid_check(&f, &f.baddr, 1), CC_PEER_IN_NONE);
        cc_peer_handle_timeout(f.peer, now_of(&f));
        CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CONNECTING);
    }
    CC_CHECK_EQ(cc_peer_deadline(f.peer, now_of(&f)), created + 10 * CC_USEC_PER_SEC);
    cc_clock_advance(&f.clk, created + 10 * CC_USEC_PER_SEC - 1 - now_of(&f));
    cc_peer_handle_timeout(f.peer, now_of(&f));
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CONNECTING);
    cc_clock_advance(&f.clk, 1);
    cc_peer_handle_timeout(f.peer, now_of(&f));
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CLOSED);
    fx_free(&f);

    /* No check at all: the default 30 s (ICE's and the connect timeout). */
    fx_init(&f, 0, 0);
    created = now_of(&f);
    CC_CHECK_EQ(cc_peer_deadline(f.peer, created), created + 30 * CC_USEC_PER_SEC);
    cc_clock_advance(&f.clk, 30 * CC_USEC_PER_SEC - 1);
    cc_peer_handle_timeout(f.peer, now_of(&f));
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_NEW);
    cc_clock_advance(&f.clk, 1);
    cc_peer_handle_timeout(f.peer, now_of(&f));
    CC_CHECK_EQ(cc_peer_get_state(f.peer), CC_PEER_CLOSED);
    fx_free(&f);
}

static void test_bad_config(void)
{
    cc_peer *p = (cc_peer *)1;
    cc_peer_config pc = {
        .dtls_ctx = g_srv_ctx, .local_ufrag = S_UFRAG, .local_pwd = S_PWD,
        .remote_fp_alg = "sha-256", .remote_fp = cc_dtls_ctx_fingerprint(g_brw_ctx),
    };
    CC_CHECK_EQ(cc_peer_new(&p, NULL, 0), CC_EINVAL);
    CC_CHECK(p == NULL);
    cc_peer_config c = pc;
    c.local_pwd = NULL;
    CC_CHECK_EQ(cc_peer_new(&p, &c, 0), CC_EINVAL);
    c = pc;
    c.remote_fp = "not a fingerprint";
    CC_CHECK(cc_peer_new(&p, &c, 0) < 0);
    CC_CHECK(p == NULL);
    c = pc;
    c.remote_fp_alg = "md5"; /* RFC 8122 section 5: not a hash we accept */
    CC_CHECK(cc_peer_new(&p, &c, 0) < 0);
    CC_CHECK(p == NULL);
    char longufrag[CC_ICE_MAX_CRED + 10];
    memset(longufrag, 'u', sizeof longufrag - 1);
    longufrag[sizeof longufrag - 1] = 0;
    c = pc;
    c.local_ufrag = longufrag;
    CC_CHECK(cc_peer_new(&p, &c, 0) < 0);
    CC_CHECK(p == NULL);
    /* remote ufrag/pwd may be absent (accept any remote part). */
    CC_CHECK_EQ(cc_peer_new(&p, &pc, 0), 0);
    CC_CHECK_EQ(cc_peer_get_state(p), CC_PEER_NEW);
    CC_CHECK(strcmp(cc_peer_local_ufrag(p), S_UFRAG) == 0);
    CC_CHECK_EQ(cc_peer_srtp_profile(p), CC_SRTP_PROFILE_NONE);
    cc_peer_free(p);
    cc_peer_free(NULL);
}

int main(void)
{
    cc_log_set_level(CC_LOG_WARN); /* connects and closes by the dozen */
    cc_srtp_global_init();
    CC_CHECK_EQ(cc_dtls_ctx_new(&g_srv_ctx), 0);
    CC_CHECK_EQ(cc_dtls_ctx_new(&g_brw_ctx), 0);
    CC_RUN(test_bad_config);
    CC_RUN(test_garbage_new);
    CC_RUN(test_garbage_connecting);
    CC_RUN(test_garbage_connected);
    CC_RUN(test_dtls_reply_address);
    CC_RUN(test_random);
    CC_RUN(test_stun_credentials);
    CC_RUN(test_media_before_dtls);
    CC_RUN(test_consent);
    CC_RUN(test_late_check);
    CC_RUN(test_configured_timeouts);
    cc_dtls_ctx_free(g_srv_ctx);
    cc_dtls_ctx_free(g_brw_ctx);
    CC_TEST_DONE();
}
