/* Tests for src/rtc/ice.c: ICE-lite Binding handling (RFC 8445 7.3),
 * drops and their counters, nomination, consent expiry (RFC 7675) on a
 * manual clock. */
#include <string.h>

#include "cc_test.h"
#include "classcast/clock.h"
#include "classcast/err.h"
#include "classcast/ice.h"
#include "classcast/stun.h"

#define SRV_UFRAG "Sv9+abcd"
#define SRV_PWD "srvPwd0123456789abcdef/+"
#define CLI_UFRAG "cl1E"

typedef struct req_opts {
    const char *username; /* NULL: no USERNAME */
    const char *pwd;      /* NULL: no MESSAGE-INTEGRITY */
    int fingerprint;      /* 1: add, 2: add and corrupt */
    int use_candidate;
    int goog;             /* Chromium's GOOG-NETWORK-INFO */
    uint16_t type;        /* 0: Binding request */
    uint16_t extra_attr;  /* 0: none */
    uint8_t txid_seed;
} req_opts;

/* A check the way Chromium sends one (RFC 8445 7.2.2 plus its extras). */
static size_t make_req(uint8_t *buf, size_t cap, const req_opts *o)
{
    uint8_t txid[12];
    for (int i = 0; i < 12; i++)
        txid[i] = (uint8_t)(o->txid_seed * 13 + i);
    cc_stun_builder b;
    cc_stun_build_start(&b, buf, cap, o->type ? o->type : CC_STUN_BINDING_REQUEST,
                        txid);
    if (o->username)
        cc_stun_build_attr(&b, CC_STUN_ATTR_USERNAME, o->username,
                           (uint16_t)strlen(o->username));
    if (o->goog) {
        static const uint8_t v[4] = {0x00, 0x01, 0x00, 0x0a};
        cc_stun_build_attr(&b, 0xC057, v, sizeof v);
    }
    cc_stun_build_u64(&b, CC_STUN_ATTR_ICE_CONTROLLING, 0x1122334455667788ull);
    if (o->use_candidate)
        cc_stun_build_attr(&b, CC_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    cc_stun_build_u32(&b, CC_STUN_ATTR_PRIORITY, 0x6e001eff);
    if (o->extra_attr)
        cc_stun_build_u32(&b, o->extra_attr, 42);
    if (o->pwd)
        cc_stun_build_integrity(&b, (const uint8_t *)o->pwd, strlen(o->pwd));
    if (o->fingerprint)
        cc_stun_build_fingerprint(&b);
    size_t n = 0;
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), 0);
    if (o->fingerprint == 2)
        buf[n - 1] ^= 0x40;
    return n;
}

static req_opts good_opts(void)
{
    req_opts o = {SRV_UFRAG ":" CLI_UFRAG, SRV_PWD, 1, 0, 1, 0, 0, 1};
    return o;
}

static cc_addr addr(const char *ip, uint16_t port)
{
    cc_addr a;
    CC_CHECK_EQ(cc_addr_from_string(&a, ip, port), 0);
    return a;
}

/* The response must be a Binding success for txid, verifiable with the
 * server's pwd, with a good FINGERPRINT and XOR-MAPPED-ADDRESS == from. */
static void check_response(const uint8_t *resp, size_t n, const uint8_t *req,
                           const char *pwd, const cc_addr *from)
{
    cc_stun_msg m;
    CC_CHECK_EQ(cc_stun_parse(&m, resp, n), 0);
    CC_CHECK_EQ(m.type, CC_STUN_BINDING_SUCCESS);
    CC_CHECK_MEM(m.txid, req + 8, 12);
    CC_CHECK_EQ(cc_stun_check_integrity(&m, (const uint8_t *)pwd, strlen(pwd)), 0);
    CC_CHECK_EQ(cc_stun_check_fingerprint(&m), 0);
    const cc_stun_attr *a = cc_stun_find(&m, CC_STUN_ATTR_XOR_MAPPED_ADDRESS);
    CC_CHECK(a != NULL);
    cc_addr got;
    CC_CHECK_EQ(cc_stun_get_xor_address(&m, a, &got), 0);
    CC_CHECK(cc_addr_equal(&got, from));
    /* FINGERPRINT must be the last attribute, MI right before it. */
    CC_CHECK_EQ(m.n_attrs, 3);
    CC_CHECK_EQ(m.attrs[1].type, CC_STUN_ATTR_MESSAGE_INTEGRITY);
    CC_CHECK_EQ(m.attrs[2].type, CC_STUN_ATTR_FINGERPRINT);
}

static void test_credentials(void)
{
    char u1[CC_ICE_UFRAG_LEN + 1], p1[CC_ICE_PWD_LEN + 1];
    char u2[CC_ICE_UFRAG_LEN + 1], p2[CC_ICE_PWD_LEN + 1];
    cc_ice_make_credentials(u1, p1);
    cc_ice_make_credentials(u2, p2);
    CC_CHECK_EQ(strlen(u1), CC_ICE_UFRAG_LEN);
    CC_CHECK_EQ(strlen(p1), CC_ICE_PWD_LEN);
    CC_CHECK(CC_ICE_UFRAG_LEN >= 4 && CC_ICE_PWD_LEN >= 22); /* RFC 8839 */
    const char *ice_chars =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    CC_CHECK_EQ(strspn(u1, ice_chars), CC_ICE_UFRAG_LEN);
    CC_CHECK_EQ(strspn(p1, ice_chars), CC_ICE_PWD_LEN);
    CC_CHECK(strcmp(u1, u2) != 0 || strcmp(p1, p2) != 0);
}

static void test_init(void)
{
    cc_ice_lite ice;
    char longs[CC_ICE_MAX_CRED + 1];
    memset(longs, 'a', CC_ICE_MAX_CRED);
    longs[CC_ICE_MAX_CRED] = 0;
    CC_CHECK_EQ(cc_ice_lite_init(&ice, longs, SRV_PWD, "", "", 0), CC_EINVAL);
    CC_CHECK_EQ(cc_ice_lite_init(&ice, SRV_UFRAG, longs, "", "", 0), CC_EINVAL);
    CC_CHECK_EQ(cc_ice_lite_init(&ice, SRV_UFRAG, SRV_PWD, longs, "", 0),
                CC_EINVAL);
    CC_CHECK_EQ(cc_ice_lite_init(&ice, "", SRV_PWD, "", "", 0), CC_EINVAL);
    longs[CC_ICE_MAX_CRED - 1] = 0; /* 255 chars: fits */
    CC_CHECK_EQ(cc_ice_lite_init(&ice, SRV_UFRAG, SRV_PWD, longs, NULL, 0), 0);
    CC_CHECK_EQ(cc_ice_lite_init(&ice, SRV_UFRAG, SRV_PWD, CLI_UFRAG, "x", 5), 0);
    CC_CHECK_EQ(ice.state, CC_ICE_NEW);
    CC_CHECK(strcmp(ice.local_ufrag, SRV_UFRAG) == 0);
    CC_CHECK(strcmp(ice.remote_ufrag, CLI_UFRAG) == 0);
    CC_CHECK_EQ(ice.created, 5);
    CC_CHECK_EQ(ice.consent_timeout, CC_ICE_CONSENT_TIMEOUT_US);
    CC_CHECK_EQ(cc_ice_lite_deadline(&ice), 5 + 30 * CC_USEC_PER_SEC);
}

/* The RFC 5769 section 2.1 request is a real ICE check: USERNAME
 * "evtj:h6vY" keyed with "VOkJxbRl1RmTxUk/WvJxBt". */
static void test_rfc5769_request_answered(void)
{
    static const char hex[] =
        "00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
        "80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74"
        "00 24 00 04 6e 00 01 ff"
        "80 29 00 08 93 2f f9 b1 51 26 3b 36"
        "00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20"
        "00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49"
        "c1 b5 71 a2"
        "80 28 00 04 e5 7a 3b cf";
    uint8_t req[128], resp[128];
    size_t n = cc_test_hex(hex, req, sizeof req);
    cc_ice_lite ice;
    CC_CHECK_EQ(cc_ice_lite_init(&ice, "evtj", "VOkJxbRl1RmTxUk/WvJxBt", "h6vY",
                                 "", 0), 0);
    cc_addr from = addr("192.0.2.1", 32853);
    size_t out_len = 0;
    CC_CHECK_EQ(cc_ice_lite_handle(&ice, req, n, &from, 1000, resp, sizeof resp,
                                   &out_len), 0);
    CC_CHECK_EQ(out_len, 20 + 12 + 24 + 8);
    check_response(resp, out_len, req, "VOkJxbRl1RmTxUk/WvJxBt", &from);
    CC_CHECK_EQ(ice.state, CC_ICE_CONNECTED);
    CC_CHECK_EQ(ice.stats.requests_ok, 1);
    CC_CHECK(cc_addr_equal(&ice.last_valid, &from));
    CC_CHECK_EQ(ice.last_consent, 1000);
    /* The 2.2 response carries exactly these XOR-MAPPED-ADDRESS bytes. */
    static const uint8_t xma[12] = {0x00, 0x20, 0x00, 0x08, 0x00, 0x01,
                                    0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43};
    CC_CHECK_MEM(resp + 20, xma, 12);
}

static void test_valid_and_nominate(void)
{
    cc_ice_lite ice;
    CC_CHECK_EQ(cc_ice_lite_init(&ice, SRV_UFRAG, SRV_PWD, CLI_UFRAG, "", 0), 0);
    uint8_t req[256], resp[256];
    size_t out_len;
    cc_addr a = addr("10.0.0.7", 50000);
    cc_addr b6 = addr("2001:db8::42", 61000);

    req_opts o = good_opts();
    size_t n = make_req(req, sizeof req, &o);
    CC_CHECK_EQ(cc_ice_lite_handle(&ice, req, n, &a, 100, resp, sizeof resp,
                                   &out_len), 0);
    check_response(resp, out_len, req, SRV_PWD, &a);
    /* The response must not verify with any other key. */
    cc_stun_msg m;
    CC_CHECK_EQ(cc_stun_parse(&m, resp, out_len), 0);
    CC_CHECK_EQ(cc_stun_check_integrity(&m, (const uint8_t *)"nope", 4), CC_EAUTH);
    CC_CHECK_EQ(ice.state, CC_ICE_CONNECTED);
    CC_CHECK_EQ(ice.selected.len, 0);

    /* USE-CANDIDATE from an IPv6 address nominates it. */
    o.use_candidate = 1;
    o.txid_seed = 2;
    n = make_req(req, sizeof req, &o);
    CC_CHECK_EQ(cc_ice_lite_handle(&ice, req, n, &b6, 200, resp, sizeof resp,
                                   &out_len), 0);
    check_response(resp, out_len, req, SRV_PWD, &b6);
    CC_CHECK_EQ(ice.state, CC_ICE_NOMINATED);
    CC_CHECK(cc_addr_equal(&ice.selected, &b6));

    /* A plain check from elsewhere is answered but does not move it. */
    o.use_candidate = 0;
    o.txid_seed = 3;
    n = make_req(req, sizeof req, &o);
    CC_CHECK_EQ(cc_ice_lite_handle(&ice, req, n, &a, 300, resp, sizeof resp,
                                   &out_len), 0);
    CC_CHECK_EQ(ice.state, CC_ICE_NOMINATED);
    CC_CHECK(cc_addr_equal(&ice.selected, &b6));
    CC_CHECK(cc_addr_equal(&ice.last_valid, &a));

    /* Renomination moves the selected address. */
    o.use_candidate = 1;
    o.txid_seed = 4;
    n = make_req(req, sizeof req, &o);
    CC_CHECK_EQ(cc_ice_lite_handle(&ice, req, n, &a, 400, resp, sizeof resp,
                                   &out_len), 0);
    CC_CHECK_EQ(ice.state, CC_ICE_NOMINATED);
    CC_CHECK(cc_addr_equal(&ice.selected, &a));
    CC_CHECK_EQ(ice.stats.requests_ok, 4);

    /* No FINGERPRINT is fine (it is optional for the peer). */
    o.fingerprint = 0;
    n = make_req(req, sizeof req, &o);
    CC_CHECK_EQ(cc_ice_lite_handle(&ice, req, n, &a, 500, resp, sizeof resp,
                                   &out_len), 0);
    CC_CHECK_EQ(ice.stats.requests_ok, 5);

    /* Empty remote_ufrag accepts any remote part. */
    cc_ice_lite any;
    CC_CHECK_EQ(cc_ice_lite_init(&any, SRV_UFRAG, SRV_PWD, "", "", 0), 0);
    o = good_opts();
    o.username = SRV_UFRAG ":whoever";
    n = make_req(req, sizeof req, &o);
    CC_CHECK_EQ(cc_ice_lite_handle(&any, req, n, &a, 1, resp, sizeof resp,
                                   &out_len), 0);
    o.username = SRV_UFRAG ":";
    n = make_req(req, sizeof req, &o);
    CC_CHECK_EQ(cc_ice_lite_handle(&any, req, n, &a, 2, resp, sizeof resp,
                                   &out_len), 0);
    CC_CHECK_EQ(any.stats.requests_ok, 2);
}

#define EXPECT_DROP(ice, buf, n, from, rc_want, counter)                       \
    do {                                                                       \
        uint64_t before_ = (ice)->stats.counter;                               \
        cc_ice_stats all_ = (ice)->stats;                                      \
        size_t ol_ = 77;                                                       \
        uint8_t resp_[256];                                                    \
        int rc_ = cc_ice_lite_handle((ice), (buf), (n), (from), 10, resp_,     \
                                     sizeof resp_, &ol_);                      \
        CC_CHECK_EQ(rc_, rc_want);                                             \
        CC_CHECK_EQ(ol_, 0);                                                   \
        CC_CHECK_EQ((ice)->stats.counter, before_ + 1);                        \
        all_.counter++;                                                        \
        CC_CHECK(memcmp(&all_, &(ice)->stats, sizeof all_) == 0);              \
    } while (0)

static void test_drops(void)
{
    cc_ice_lite ice;
    CC_CHECK_EQ(cc_ice_lite_init(&ice, SRV_UFRAG, SRV_PWD, CLI_UFRAG, "", 0), 0);
    uint8_t req[256];
    cc_addr from = addr("192.168.1.20", 40000);
    req_opts o;
    size_t n;

    /* wrong local ufrag, wrong remote ufrag, prefix tricks, no colon */
    const char *bad_users[] = {"Sv9+abcX:" CLI_UFRAG, SRV_UFRAG ":cl1e",
                               SRV_UFRAG ":" CLI_UFRAG "x", "Sv9+abc:" CLI_UFRAG,
                               SRV_UFRAG "x:" CLI_UFRAG, SRV_UFRAG CLI_UFRAG,
                               CLI_UFRAG ":" SRV_UFRAG, ":", ""};
    for (size_t i = 0; i < sizeof bad_users / sizeof bad_users[0]; i++) {
        o = good_opts();
        o.username = bad_users[i];
        n = make_req(req, sizeof req, &o);
        EXPECT_DROP(&ice, req, n, &from, CC_EAUTH, drop_bad_username);
    }
    o = good_opts();
    o.username = NULL;
    n = make_req(req, sizeof req, &o);
    EXPECT_DROP(&ice, req, n, &from, CC_EAUTH, drop_bad_username);

    /* wrong pwd (e.g. the client's own), and no MESSAGE-INTEGRITY */
    o = good_opts();
    o.pwd = "srvPwd0123456789abcdef/-";
    n = make_req(req, sizeof req, &o);
    EXPECT_DROP(&ice, req, n, &from, CC_EAUTH, drop_bad_integrity);
    o.pwd = NULL;
    n = make_req(req, sizeof req, &o);
    EXPECT_DROP(&ice, req, n, &from, CC_EAUTH, drop_bad_integrity);

    /* corrupted FINGERPRINT */
    o = good_opts();
    o.fingerprint = 2;
    n = make_req(req, sizeof req, &o);
    EXPECT_DROP(&ice, req, n, &from, CC_EAUTH, drop_bad_fingerprint);

    /* unknown comprehension-required attribute, properly authenticated */
    o = good_opts();
    o.extra_attr = 0x0031;
    n = make_req(req, sizeof req, &o);
    EXPECT_DROP(&ice, req, n, &from, CC_EUNSUPPORTED, drop_unknown_required);
    /* ... while an unknown optional one is fine */
    o.extra_attr = 0xC0DE;
    n = make_req(req, sizeof req, &o);
    size_t ol;
    uint8_t resp[256];
    CC_CHECK_EQ(cc_ice_lite_handle(&ice, req, n, &from, 10, resp, sizeof resp,
                                   &ol), 0);

    /* responses, indications and other methods */
    o = good_opts();
    o.type = CC_STUN_BINDING_SUCCESS;
    n = make_req(req, sizeof req, &o);
    EXPECT_DROP(&ice, req, n, &from, CC_EUNSUPPORTED, drop_not_request);
    o.type = CC_STUN_BINDING_INDICATION;
    n = make_req(req, sizeof req, &o);
    EXPECT_DROP(&ice, req, n, &from, CC_EUNSUPPORTED, drop_not_request);
    o.type = 0x0003; /* TURN Allocate request */
    n = make_req(req, sizeof req, &o);
    EXPECT_DROP(&ice, req, n, &from, CC_EUNSUPPORTED, drop_not_request);

    /* not STUN at all: RTP, DTLS, short */
    static const uint8_t rtp[24] = {0x80, 0x60, 0x00, 0x01};
    static const uint8_t dtls[24] = {0x16, 0xfe, 0xfd};
    EXPECT_DROP(&ice, rtp, sizeof rtp, &from, CC_EINVAL, drop_not_stun);
    EXPECT_DROP(&ice, dtls, sizeof dtls, &from, CC_EINVAL, drop_not_stun);
    EXPECT_DROP(&ice, rtp, 3, &from, CC_EINVAL, drop_not_stun);
    EXPECT_DROP(&ice, NULL, 0, &from, CC_EINVAL, drop_not_stun);

    /* looks like STUN, does not parse */
    o = good_opts();
    n = make_req(req, sizeof req, &o);
    memset(req + n, 0, 4);
    EXPECT_DROP(&ice, req, n + 4, &from, CC_EINVAL, drop_malformed);
    req[22] = 0xff; /* USERNAME length runs off the end */
    EXPECT_DROP(&ice, req, n, &from, CC_ETRUNC, drop_malformed);

    CC_CHECK_EQ(ice.state, CC_ICE_CONNECTED);
    CC_CHECK_EQ(ice.stats.requests_ok, 1);
}

static void test_small_output(void)
{
    cc_ice_lite ice;
    CC_CHECK_EQ(cc_ice_lite_init(&ice, SRV_UFRAG, SRV_PWD, CLI_UFRAG, "", 0), 0);
    uint8_t req[256], resp[256];
    req_opts o = good_opts();
    o.use_candidate = 1;
    size_t n = make_req(req, sizeof req, &o);
    cc_addr from = addr("2001:db8::1", 9);
    size_t ol = 5;
    /* IPv6 response is 20 + 24 + 24 + 8 = 76 bytes */
    CC_CHECK_EQ(cc_ice_lite_handle(&ice, req, n, &from, 1, resp, 75, &ol),
                CC_ENOSPC);
    CC_CHECK_EQ(ol, 0);
    CC_CHECK_EQ(ice.state, CC_ICE_NEW);
    CC_CHECK_EQ(ice.stats.requests_ok, 0);
    CC_CHECK_EQ(cc_ice_lite_handle(&ice, req, n, &from, 1, resp, 76, &ol), 0);
    CC_CHECK_EQ(ol, 76);
    CC_CHECK_EQ(ice.state, CC_ICE_NOMINATED);
}

static void test_consent_expiry(void)
{
    cc_clock clk;
    cc_clock_init_manual(&clk, 5 * CC_USEC_PER_SEC);
    cc_ice_lite ice;
    CC_CHECK_EQ(cc_ice_lite_init(&ice, SRV_UFRAG, SRV_PWD, CLI_UFRAG, "",
                                 cc_clock_now(&clk)), 0);
    /* Nobody ever checks: closed 30 s after creation. */
    CC_CHECK_EQ(cc_ice_lite_deadline(&ice), 35 * CC_USEC_PER_SEC);
    cc_clock_advance(&clk, 29 * CC_USEC_PER_SEC);
    CC_CHECK_EQ(cc_ice_lite_handle_timeout(&ice, cc_clock_now(&clk)), CC_ICE_NEW);
    cc_clock_advance(&clk, CC_USEC_PER_SEC - 1);
    CC_CHECK_EQ(cc_ice_lite_handle_timeout(&ice, cc_clock_now(&clk)), CC_ICE_NEW);
    cc_clock_advance(&clk, 1);
    CC_CHECK_EQ(cc_ice_lite_handle_timeout(&ice, cc_clock_now(&clk)),
                CC_ICE_CLOSED);
    CC_CHECK_EQ(cc_ice_lite_deadline(&ice), CC_TIME_NEVER);

    /* A closed agent answers nothing. */
    uint8_t req[256], resp[256];
    req_opts o = good_opts();
    size_t n = make_req(req, sizeof req, &o);
    cc_addr a = addr("10.1.1.1", 1234), other = addr("10.1.1.2", 1234);
    size_t ol = 9;
    CC_CHECK_EQ(cc_ice_lite_handle(&ice, req, n, &a, cc_clock_now(&clk), resp,
                                   sizeof resp, &ol), CC_ECLOSED);
    CC_CHECK_EQ(ol, 0);

    /* Checks every 5 s for two minutes keep it alive. */
    cc_clock_init_manual(&clk, 0);
    CC_CHECK_EQ(cc_ice_lite_init(&ice, SRV_UFRAG, SRV_PWD, CLI_UFRAG, "", 0), 0);
    o.use_candidate = 1;
    for (int i = 0; i < 24; i++) {
        cc_clock_advance(&clk, 5 * CC_USEC_PER_SEC);
        cc_time_us now = cc_clock_now(&clk);
        CC_CHECK_EQ(cc_ice_lite_handle_timeout(&ice, now) != CC_ICE_CLOSED, 1);
        o.txid_seed = (uint8_t)i;
        n = make_req(req, sizeof req, &o);
        CC_CHECK_EQ(cc_ice_lite_handle(&ice, req, n, &a, now, resp, sizeof resp,
                                       &ol), 0);
        CC_CHECK_EQ(ice.last_consent, now);
        CC_CHECK_EQ(cc_ice_lite_deadline(&ice), now + 30 * CC_USEC_PER_SEC);
        o.use_candidate = 0; /* nominate once, then consent checks */
    }
    CC_CHECK_EQ(ice.state, CC_ICE_NOMINATED);
    cc_time_us last = cc_clock_now(&clk);

    /* After nomination, checks on another pair are answered but do not
     * refresh consent for the selected one (RFC 7675 is per pair). */
    for (int i = 0; i < 7; i++) {
        cc_clock_advance(&clk, 4 * CC_USEC_PER_SEC);
        o.txid_seed = (uint8_t)(100 + i);
        n = make_req(req, sizeof req, &o);
        CC_CHECK_EQ(cc_ice_lite_handle(&ice, req, n, &other, cc_clock_now(&clk),
                                       resp, sizeof resp, &ol), 0);
    }
    CC_CHECK_EQ(ice.last_consent, last);
    CC_CHECK_EQ(cc_ice_lite_handle_timeout(&ice, cc_clock_now(&clk)),
                CC_ICE_NOMINATED);
    /* Invalid checks on the selected pair do not refresh either. */
    o.pwd = "wrong";
    n = make_req(req, sizeof req, &o);
    cc_clock_advance(&clk, CC_USEC_PER_SEC);
    CC_CHECK_EQ(cc_ice_lite_handle(&ice, req, n, &a, cc_clock_now(&clk), resp,
                                   sizeof resp, &ol), CC_EAUTH);
    CC_CHECK_EQ(ice.last_consent, last);
    /* Silence until last + 30 s: closed. */
    cc_clock_advance(&clk, last + 30 * CC_USEC_PER_SEC - 1 - cc_clock_now(&clk));
    CC_CHECK_EQ(cc_ice_lite_handle_timeout(&ice, cc_clock_now(&clk)),
                CC_ICE_NOMINATED);
    cc_clock_advance(&clk, 1);
    CC_CHECK_EQ(cc_ice_lite_deadline(&ice), cc_clock_now(&clk));
    CC_CHECK_EQ(cc_ice_lite_handle_timeout(&ice, cc_clock_now(&clk)),
                CC_ICE_CLOSED);

    /* A valid check arriving after the deadline, before the timer ran,
     * does not revive the session. */
    CC_CHECK_EQ(cc_ice_lite_init(&ice, SRV_UFRAG, SRV_PWD, CLI_UFRAG, "", 0), 0);
    o = good_opts();
    n = make_req(req, sizeof req, &o);
    CC_CHECK_EQ(cc_ice_lite_handle(&ice, req, n, &a, 31 * CC_USEC_PER_SEC, resp,
                                   sizeof resp, &ol), CC_ECLOSED);
    CC_CHECK_EQ(ice.state, CC_ICE_CLOSED);

    /* A shorter timeout set by the owner is honoured. */
    CC_CHECK_EQ(cc_ice_lite_init(&ice, SRV_UFRAG, SRV_PWD, CLI_UFRAG, "", 0), 0);
    ice.consent_timeout = 2 * CC_USEC_PER_SEC;
    CC_CHECK_EQ(cc_ice_lite_deadline(&ice), 2 * CC_USEC_PER_SEC);
    CC_CHECK_EQ(cc_ice_lite_handle_timeout(&ice, 2 * CC_USEC_PER_SEC),
                CC_ICE_CLOSED);
}

static void test_username_local(void)
{
    uint8_t req[256];
    req_opts o = good_opts();
    size_t n = make_req(req, sizeof req, &o);
    cc_stun_msg m;
    CC_CHECK_EQ(cc_stun_parse(&m, req, n), 0);
    char out[64];
    CC_CHECK_EQ(cc_ice_username_local(&m, out, sizeof out), 0);
    CC_CHECK(strcmp(out, SRV_UFRAG) == 0);
    CC_CHECK_EQ(cc_ice_username_local(&m, out, strlen(SRV_UFRAG) + 1), 0);
    CC_CHECK_EQ(cc_ice_username_local(&m, out, strlen(SRV_UFRAG)), CC_ENOSPC);
    CC_CHECK_EQ(cc_ice_username_local(&m, out, 0), CC_ENOSPC);

    o.username = "nocolon";
    n = make_req(req, sizeof req, &o);
    CC_CHECK_EQ(cc_stun_parse(&m, req, n), 0);
    CC_CHECK_EQ(cc_ice_username_local(&m, out, sizeof out), CC_ENOTFOUND);
    o.username = ":remote";
    n = make_req(req, sizeof req, &o);
    CC_CHECK_EQ(cc_stun_parse(&m, req, n), 0);
    CC_CHECK_EQ(cc_ice_username_local(&m, out, sizeof out), CC_ENOTFOUND);
    o.username = "a:b:c";
    n = make_req(req, sizeof req, &o);
    CC_CHECK_EQ(cc_stun_parse(&m, req, n), 0);
    CC_CHECK_EQ(cc_ice_username_local(&m, out, sizeof out), 0);
    CC_CHECK(strcmp(out, "a") == 0);
    o.username = NULL;
    n = make_req(req, sizeof req, &o);
    CC_CHECK_EQ(cc_stun_parse(&m, req, n), 0);
    CC_CHECK_EQ(cc_ice_username_local(&m, out, sizeof out), CC_ENOTFOUND);
}

int main(void)
{
    CC_RUN(test_credentials);
    CC_RUN(test_init);
    CC_RUN(test_rfc5769_request_answered);
    CC_RUN(test_valid_and_nominate);
    CC_RUN(test_drops);
    CC_RUN(test_small_output);
    CC_RUN(test_consent_expiry);
    CC_RUN(test_username_local);
    CC_TEST_DONE();
}
