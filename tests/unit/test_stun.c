/* Tests for src/rtc/stun.c: the RFC 5769 test vectors (sections 2.1-2.3),
 * builder round trips, tampering, truncation and malformed input. */
#include <arpa/inet.h>
#include <string.h>

#include "cc_test.h"
#include "classcast/addr.h"
#include "classcast/err.h"
#include "classcast/stun.h"

static const char *const rfc_pwd = "VOkJxbRl1RmTxUk/WvJxBt";

/* RFC 5769 section 2.1, sample request. USERNAME "evtj:h6vY", SOFTWARE
 * "STUN test client"; note the padding after USERNAME is 0x20, not zero,
 * which MESSAGE-INTEGRITY covers. */
static const char rfc_req_hex[] =
    "00 01 00 58"  /* Binding request, length 88 */
    "21 12 a4 42"  /* magic cookie */
    "b7 e7 a7 01 bc 34 d6 86 fa 87 df ae" /* transaction id */
    "80 22 00 10"  /* SOFTWARE */
    "53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74"
    "00 24 00 04"  /* PRIORITY */
    "6e 00 01 ff"
    "80 29 00 08"  /* ICE-CONTROLLED */
    "93 2f f9 b1 51 26 3b 36"
    "00 06 00 09"  /* USERNAME */
    "65 76 74 6a 3a 68 36 76 59 20 20 20"
    "00 08 00 14"  /* MESSAGE-INTEGRITY */
    "9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2"
    "80 28 00 04"  /* FINGERPRINT */
    "e5 7a 3b cf";

/* RFC 5769 section 2.2, sample IPv4 response: 192.0.2.1 port 32853. */
static const char rfc_resp4_hex[] =
    "01 01 00 3c"
    "21 12 a4 42"
    "b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b"  /* SOFTWARE "test vector" */
    "74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 08"  /* XOR-MAPPED-ADDRESS */
    "00 01 a1 47 e1 12 a6 43"
    "00 08 00 14"
    "2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7"
    "80 28 00 04"
    "c0 7d 4c 96";

/* RFC 5769 section 2.3, sample IPv6 response:
 * 2001:db8:1234:5678:11:2233:4455:6677 port 32853. */
static const char rfc_resp6_hex[] =
    "01 01 00 48"
    "21 12 a4 42"
    "b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b"
    "74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 14"
    "00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9"
    "00 08 00 14"
    "a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41"
    "80 28 00 04"
    "c8 fb 0b 4c";

static const uint8_t rfc_txid[12] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                     0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

static int check_mi(const cc_stun_msg *m, const char *pwd)
{
    return cc_stun_check_integrity(m, (const uint8_t *)pwd, strlen(pwd));
}

static void test_rfc5769_request(void)
{
    uint8_t buf[256];
    size_t n = cc_test_hex(rfc_req_hex, buf, sizeof buf);
    CC_CHECK_EQ(n, 108);
    CC_CHECK(cc_stun_is_stun(buf, n));
    cc_stun_msg m;
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), 0);
    CC_CHECK_EQ(m.type, CC_STUN_BINDING_REQUEST);
    CC_CHECK_EQ(m.length, 88);
    CC_CHECK_EQ(m.raw_len, 108);
    CC_CHECK_MEM(m.txid, rfc_txid, 12);
    CC_CHECK_EQ(m.n_attrs, 6);
    CC_CHECK_EQ(m.n_unknown_required, 0);

    const cc_stun_attr *a = cc_stun_find(&m, CC_STUN_ATTR_SOFTWARE);
    CC_CHECK(a && a->len == 16 && memcmp(a->value, "STUN test client", 16) == 0);
    a = cc_stun_find(&m, CC_STUN_ATTR_USERNAME);
    CC_CHECK(a && a->len == 9 && memcmp(a->value, "evtj:h6vY", 9) == 0);
    CC_CHECK(a && a->offset == 60);
    a = cc_stun_find(&m, CC_STUN_ATTR_PRIORITY);
    CC_CHECK(a && a->len == 4 && a->value[0] == 0x6e && a->value[3] == 0xff);
    a = cc_stun_find(&m, CC_STUN_ATTR_ICE_CONTROLLED);
    CC_CHECK(a && a->len == 8);
    CC_CHECK(cc_stun_find(&m, CC_STUN_ATTR_USE_CANDIDATE) == NULL);

    CC_CHECK_EQ(check_mi(&m, rfc_pwd), 0);
    CC_CHECK_EQ(check_mi(&m, "VOkJxbRl1RmTxUk/WvJxBu"), CC_EAUTH);
    CC_CHECK_EQ(check_mi(&m, ""), CC_EAUTH);
    CC_CHECK_EQ(cc_stun_check_fingerprint(&m), 0);
}

static void test_rfc5769_ipv4_response(void)
{
    uint8_t buf[256];
    size_t n = cc_test_hex(rfc_resp4_hex, buf, sizeof buf);
    CC_CHECK_EQ(n, 80);
    cc_stun_msg m;
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), 0);
    CC_CHECK_EQ(m.type, CC_STUN_BINDING_SUCCESS);
    CC_CHECK_EQ(m.n_attrs, 4);
    const cc_stun_attr *a = cc_stun_find(&m, CC_STUN_ATTR_SOFTWARE);
    CC_CHECK(a && a->len == 11 && memcmp(a->value, "test vector", 11) == 0);
    CC_CHECK_EQ(check_mi(&m, rfc_pwd), 0);
    CC_CHECK_EQ(cc_stun_check_fingerprint(&m), 0);

    a = cc_stun_find(&m, CC_STUN_ATTR_XOR_MAPPED_ADDRESS);
    CC_CHECK(a != NULL);
    cc_addr got, want;
    CC_CHECK_EQ(cc_stun_get_xor_address(&m, a, &got), 0);
    CC_CHECK_EQ(cc_addr_from_string(&want, "192.0.2.1", 32853), 0);
    CC_CHECK(cc_addr_equal(&got, &want));
    CC_CHECK_EQ(cc_addr_port(&got), 32853);

    /* The builder must produce the RFC's XOR-MAPPED-ADDRESS bytes. */
    uint8_t out[64];
    cc_stun_builder b;
    cc_stun_build_start(&b, out, sizeof out, CC_STUN_BINDING_SUCCESS, rfc_txid);
    cc_stun_build_xor_address(&b, CC_STUN_ATTR_XOR_MAPPED_ADDRESS, &want);
    size_t len;
    CC_CHECK_EQ(cc_stun_build_finish(&b, &len), 0);
    CC_CHECK_EQ(len, 32);
    CC_CHECK_MEM(out + 20, buf + 36, 12);
}

static void test_rfc5769_ipv6_response(void)
{
    uint8_t buf[256];
    size_t n = cc_test_hex(rfc_resp6_hex, buf, sizeof buf);
    CC_CHECK_EQ(n, 92);
    cc_stun_msg m;
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), 0);
    CC_CHECK_EQ(m.type, CC_STUN_BINDING_SUCCESS);
    CC_CHECK_EQ(check_mi(&m, rfc_pwd), 0);
    CC_CHECK_EQ(check_mi(&m, "wrong"), CC_EAUTH);
    CC_CHECK_EQ(cc_stun_check_fingerprint(&m), 0);

    const cc_stun_attr *a = cc_stun_find(&m, CC_STUN_ATTR_XOR_MAPPED_ADDRESS);
    CC_CHECK(a != NULL);
    cc_addr got, want;
    CC_CHECK_EQ(cc_stun_get_xor_address(&m, a, &got), 0);
    CC_CHECK_EQ(cc_addr_from_string(&want,
                                    "2001:db8:1234:5678:11:2233:4455:6677",
                                    32853), 0);
    CC_CHECK(cc_addr_equal(&got, &want));
    CC_CHECK_EQ(cc_addr_family(&got), AF_INET6);

    uint8_t out[64];
    cc_stun_builder b;
    cc_stun_build_start(&b, out, sizeof out, CC_STUN_BINDING_SUCCESS, rfc_txid);
    cc_stun_build_xor_address(&b, CC_STUN_ATTR_XOR_MAPPED_ADDRESS, &want);
    size_t len;
    CC_CHECK_EQ(cc_stun_build_finish(&b, &len), 0);
    CC_CHECK_EQ(len, 44);
    CC_CHECK_MEM(out + 20, buf + 36, 24);
}

/* Rebuild the RFC 5769 2.2 response with the builder. SOFTWARE is padded
 * with 0x20 in the RFC but with zeros by us, so patch that one byte and the
 * integrity and fingerprint must then come out byte-identical. */
static void test_rebuild_rfc_response(void)
{
    uint8_t rfc[256], out[256];
    size_t n = cc_test_hex(rfc_resp4_hex, rfc, sizeof rfc);
    cc_addr addr;
    cc_addr_from_string(&addr, "192.0.2.1", 32853);
    cc_stun_builder b;
    cc_stun_build_start(&b, out, sizeof out, CC_STUN_BINDING_SUCCESS, rfc_txid);
    cc_stun_build_attr(&b, CC_STUN_ATTR_SOFTWARE, "test vector", 11);
    CC_CHECK_EQ(b.len, 36);
    out[35] = 0x20; /* the RFC's padding byte */
    cc_stun_build_xor_address(&b, CC_STUN_ATTR_XOR_MAPPED_ADDRESS, &addr);
    cc_stun_build_integrity(&b, (const uint8_t *)rfc_pwd, strlen(rfc_pwd));
    cc_stun_build_fingerprint(&b);
    size_t len;
    CC_CHECK_EQ(cc_stun_build_finish(&b, &len), 0);
    CC_CHECK_EQ(len, n);
    CC_CHECK_MEM(out, rfc, n);
}

static size_t build_request(uint8_t *buf, size_t cap, const char *pwd,
                            int with_fp)
{
    static const uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    static const uint8_t goog[4] = {0x00, 0x01, 0x03, 0xe7};
    cc_stun_builder b;
    cc_stun_build_start(&b, buf, cap, CC_STUN_BINDING_REQUEST, txid);
    cc_stun_build_attr(&b, CC_STUN_ATTR_USERNAME, "abcd:wxyz", 9);
    cc_stun_build_attr(&b, 0xC057, goog, sizeof goog); /* GOOG-NETWORK-INFO */
    cc_stun_build_u32(&b, CC_STUN_ATTR_PRIORITY, 0x6e7f1eff);
    cc_stun_build_u64(&b, CC_STUN_ATTR_ICE_CONTROLLING, 0x0123456789abcdefull);
    cc_stun_build_attr(&b, CC_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    cc_stun_build_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
    if (with_fp)
        cc_stun_build_fingerprint(&b);
    size_t len = 0;
    CC_CHECK_EQ(cc_stun_build_finish(&b, &len), 0);
    return len;
}

static void test_builder_round_trip(void)
{
    uint8_t buf[256];
    size_t n = build_request(buf, sizeof buf, "pwd-pwd-pwd-pwd-pwd-pwd", 1);
    /* 20 + USERNAME 16 + GOOG 8 + PRIORITY 8 + CONTROLLING 12 + USE 4
     * + MI 24 + FP 8 */
    CC_CHECK_EQ(n, 100);
    CC_CHECK(cc_stun_is_stun(buf, n));
    cc_stun_msg m;
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), 0);
    CC_CHECK_EQ(m.type, CC_STUN_BINDING_REQUEST);
    CC_CHECK_EQ(m.length, 80);
    CC_CHECK_EQ(m.n_attrs, 7);
    CC_CHECK_EQ(m.n_unknown_required, 0); /* 0xC057 is optional */
    CC_CHECK_EQ(check_mi(&m, "pwd-pwd-pwd-pwd-pwd-pwd"), 0);
    CC_CHECK_EQ(check_mi(&m, "pwd-pwd-pwd-pwd-pwd-pwD"), CC_EAUTH);
    CC_CHECK_EQ(cc_stun_check_fingerprint(&m), 0);
    const cc_stun_attr *a = cc_stun_find(&m, CC_STUN_ATTR_USERNAME);
    CC_CHECK(a && a->len == 9 && memcmp(a->value, "abcd:wxyz", 9) == 0);
    /* padding is zero */
    CC_CHECK(a && a->value[9] == 0 && a->value[10] == 0 && a->value[11] == 0);
    a = cc_stun_find(&m, CC_STUN_ATTR_ICE_CONTROLLING);
    CC_CHECK(a && a->len == 8 && a->value[0] == 0x01 && a->value[7] == 0xef);
    a = cc_stun_find(&m, CC_STUN_ATTR_USE_CANDIDATE);
    CC_CHECK(a && a->len == 0);
    a = cc_stun_find(&m, CC_STUN_ATTR_PRIORITY);
    CC_CHECK(a && a->value[0] == 0x6e && a->value[3] == 0xff);

    /* Without FINGERPRINT: integrity still good, fingerprint absent. */
    n = build_request(buf, sizeof buf, "k", 0);
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), 0);
    CC_CHECK_EQ(check_mi(&m, "k"), 0);
    CC_CHECK_EQ(cc_stun_check_fingerprint(&m), CC_ENOTFOUND);

    /* Neither: both absent. */
    static const uint8_t txid[12] = {0};
    cc_stun_builder b;
    cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_INDICATION, txid);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), 0);
    CC_CHECK_EQ(n, 20);
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), 0);
    CC_CHECK_EQ(m.n_attrs, 0);
    CC_CHECK_EQ(check_mi(&m, "k"), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_stun_check_fingerprint(&m), CC_ENOTFOUND);
}

static void test_address_round_trip(void)
{
    static const char *ips[] = {"0.0.0.0", "255.255.255.255", "10.1.2.3",
                                "::", "::1", "fe80::1:2:3:4",
                                "2001:db8::ffff:1.2.3.4"};
    static const uint16_t ports[] = {0, 1, 3478, 65535};
    static const uint8_t txid[12] = {0xff, 0, 0x55, 0xaa, 1, 2,
                                     3, 4, 5, 6, 7, 0x80};
    for (size_t i = 0; i < sizeof ips / sizeof ips[0]; i++) {
        for (size_t j = 0; j < sizeof ports / sizeof ports[0]; j++) {
            cc_addr in, got;
            CC_CHECK_EQ(cc_addr_from_string(&in, ips[i], ports[j]), 0);
            uint8_t buf[128];
            cc_stun_builder b;
            cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_SUCCESS,
                                txid);
            cc_stun_build_xor_address(&b, CC_STUN_ATTR_XOR_MAPPED_ADDRESS, &in);
            cc_stun_build_xor_address(&b, CC_STUN_ATTR_MAPPED_ADDRESS, &in);
            size_t n;
            CC_CHECK_EQ(cc_stun_build_finish(&b, &n), 0);
            cc_stun_msg m;
            CC_CHECK_EQ(cc_stun_parse(&m, buf, n), 0);
            const cc_stun_attr *x =
                cc_stun_find(&m, CC_STUN_ATTR_XOR_MAPPED_ADDRESS);
            const cc_stun_attr *p = cc_stun_find(&m, CC_STUN_ATTR_MAPPED_ADDRESS);
            CC_CHECK(x && p);
            CC_CHECK_EQ(cc_stun_get_xor_address(&m, x, &got), 0);
            CC_CHECK(cc_addr_equal(&in, &got));
            CC_CHECK_EQ(cc_stun_get_xor_address(&m, p, &got), 0);
            CC_CHECK(cc_addr_equal(&in, &got));
            /* MAPPED-ADDRESS is in clear: the port sits there as is. */
            CC_CHECK(p && (p->value[2] << 8 | p->value[3]) == ports[j]);
        }
    }
}

static void test_bad_addresses(void)
{
    uint8_t buf[128];
    static const uint8_t txid[12] = {0};
    cc_stun_builder b;
    cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_SUCCESS, txid);
    static const uint8_t fam3[8] = {0, 3, 0, 1, 1, 2, 3, 4};
    static const uint8_t v4short[4] = {0, 1, 0, 1};
    static const uint8_t v4long[12] = {0, 1, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t v6short[8] = {0, 2, 0, 1, 1, 2, 3, 4};
    cc_stun_build_attr(&b, CC_STUN_ATTR_XOR_MAPPED_ADDRESS, fam3, 8);
    cc_stun_build_attr(&b, CC_STUN_ATTR_XOR_MAPPED_ADDRESS, v4short, 4);
    cc_stun_build_attr(&b, CC_STUN_ATTR_XOR_MAPPED_ADDRESS, v4long, 12);
    cc_stun_build_attr(&b, CC_STUN_ATTR_XOR_MAPPED_ADDRESS, v6short, 8);
    cc_stun_build_attr(&b, CC_STUN_ATTR_XOR_MAPPED_ADDRESS, "", 0);
    size_t n;
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), 0);
    cc_stun_msg m;
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), 0);
    CC_CHECK_EQ(m.n_attrs, 5);
    for (int i = 0; i < m.n_attrs; i++) {
        cc_addr out;
        CC_CHECK_EQ(cc_stun_get_xor_address(&m, &m.attrs[i], &out), CC_EINVAL);
        CC_CHECK_EQ(out.len, 0);
    }
    /* An address of an unknown family cannot be built. */
    cc_addr none;
    memset(&none, 0, sizeof none);
    cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_SUCCESS, txid);
    cc_stun_build_xor_address(&b, CC_STUN_ATTR_XOR_MAPPED_ADDRESS, &none);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), CC_EINVAL);
    CC_CHECK_EQ(n, 0);
}

/* Changing any covered byte must break MESSAGE-INTEGRITY (or the parse). */
static void test_tamper(void)
{
    uint8_t orig[256], buf[256];
    size_t n = cc_test_hex(rfc_req_hex, orig, sizeof orig);
    const size_t mi_off = 76, fp_off = 100; /* see the layout above */
    for (size_t i = 0; i < n; i++) {
        memcpy(buf, orig, n);
        buf[i] ^= 0x01;
        cc_stun_msg m;
        int rc = cc_stun_parse(&m, buf, n);
        if (rc != 0) {
            /* only header length / cookie / attribute headers may do that */
            CC_CHECK(i < 8 || (i >= 20 && i < mi_off + 4) || i >= fp_off);
            continue;
        }
        if (i < mi_off + 24) {
            /* header (type, txid), covered attributes, MI itself */
            int mi = check_mi(&m, rfc_pwd);
            if (i < mi_off || i >= mi_off + 4)
                CC_CHECK_EQ(mi, CC_EAUTH);
            else
                CC_CHECK(mi != 0);
        } else {
            /* FINGERPRINT value: integrity untouched, fingerprint wrong */
            CC_CHECK_EQ(check_mi(&m, rfc_pwd), 0);
        }
        CC_CHECK(cc_stun_check_fingerprint(&m) != 0);
    }
    /* The spec'd case: one byte of USERNAME. */
    memcpy(buf, orig, n);
    buf[64] = 'E'; /* "evtj" -> "Evtj" */
    cc_stun_msg m;
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), 0);
    CC_CHECK_EQ(check_mi(&m, rfc_pwd), CC_EAUTH);
    CC_CHECK_EQ(cc_stun_check_fingerprint(&m), CC_EAUTH);
}

static void test_truncation(void)
{
    const char *vecs[] = {rfc_req_hex, rfc_resp4_hex, rfc_resp6_hex};
    for (size_t v = 0; v < 3; v++) {
        uint8_t orig[256];
        size_t n = cc_test_hex(vecs[v], orig, sizeof orig);
        for (size_t len = 0; len < n; len++) {
            /* Exact-size heap copy so ASan catches any read past `len`. */
            uint8_t *p = malloc(len ? len : 1);
            memcpy(p, orig, len);
            cc_stun_msg m;
            int rc = cc_stun_parse(&m, p, len);
            CC_CHECK(rc == CC_ETRUNC || rc == CC_EINVAL);
            CC_CHECK(!cc_stun_is_stun(p, len));
            /* Same prefix with the header length patched to claim what is
             * there: may parse or not, must not crash or verify. */
            if (len >= 20) {
                size_t body = (len - 20) & ~(size_t)3;
                p[2] = (uint8_t)(body >> 8);
                p[3] = (uint8_t)body;
                rc = cc_stun_parse(&m, p, 20 + body);
                if (rc == 0) {
                    CC_CHECK(cc_stun_check_fingerprint(&m) != 0);
                    const cc_stun_attr *a =
                        cc_stun_find(&m, CC_STUN_ATTR_XOR_MAPPED_ADDRESS);
                    cc_addr out;
                    if (a)
                        cc_stun_get_xor_address(&m, a, &out);
                    check_mi(&m, rfc_pwd);
                }
            }
            free(p);
        }
    }
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void test_malformed(void)
{
    uint8_t buf[512];
    cc_stun_msg m;
    size_t n = cc_test_hex(rfc_req_hex, buf, sizeof buf);

    CC_CHECK_EQ(cc_stun_parse(&m, NULL, 0), CC_ETRUNC);
    /* bad cookie */
    buf[4] ^= 0xff;
    CC_CHECK(!cc_stun_is_stun(buf, n));
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), CC_EINVAL);
    buf[4] ^= 0xff;
    /* top bits set (RTP/DTLS-looking) */
    buf[0] |= 0x80;
    CC_CHECK(!cc_stun_is_stun(buf, n));
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), CC_EINVAL);
    buf[0] &= 0x3f;
    /* length not a multiple of 4 */
    buf[3] = 0x57;
    CC_CHECK(!cc_stun_is_stun(buf, n));
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), CC_EINVAL);
    buf[3] = 0x58;
    /* trailing garbage after the message in the same datagram */
    buf[n] = 0;
    CC_CHECK(cc_stun_is_stun(buf, n + 4));
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n + 4), CC_EINVAL);
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), 0);

    /* attribute length running past the end */
    static const uint8_t txid[12] = {9};
    uint8_t *p = buf;
    memset(buf, 0, sizeof buf);
    cc_stun_builder b;
    cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_REQUEST, txid);
    cc_stun_build_attr(&b, CC_STUN_ATTR_USERNAME, "abcdefgh", 8);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), 0);
    put16(p + 22, 9); /* value 9 -> padded 12 > 8 available */
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), CC_ETRUNC);
    put16(p + 22, 0xffff);
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), CC_ETRUNC);
    put16(p + 22, 5); /* 5 -> padded 8: fine */
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), 0);

    /* wrong fixed sizes */
    cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_REQUEST, txid);
    cc_stun_build_attr(&b, CC_STUN_ATTR_MESSAGE_INTEGRITY, "0123456789abcdef", 16);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), 0);
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), CC_EINVAL);
    cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_REQUEST, txid);
    cc_stun_build_attr(&b, CC_STUN_ATTR_FINGERPRINT, "12345678", 8);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), 0);
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), CC_EINVAL);
    cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_REQUEST, txid);
    cc_stun_build_attr(&b, CC_STUN_ATTR_USE_CANDIDATE, "1234", 4);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), 0);
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), CC_EINVAL);

    /* anything after FINGERPRINT */
    cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_REQUEST, txid);
    cc_stun_build_fingerprint(&b);
    cc_stun_build_attr(&b, CC_STUN_ATTR_SOFTWARE, "x", 1);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), 0);
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), CC_EINVAL);

    /* attributes after MESSAGE-INTEGRITY (other than FINGERPRINT) are
     * ignored, and do not upset the integrity check */
    cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_REQUEST, txid);
    cc_stun_build_attr(&b, CC_STUN_ATTR_USERNAME, "a:b", 3);
    cc_stun_build_integrity(&b, (const uint8_t *)"pw", 2);
    cc_stun_build_attr(&b, CC_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    cc_stun_build_attr(&b, 0x7777, "zz", 2);
    cc_stun_build_fingerprint(&b);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), 0);
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), 0);
    CC_CHECK_EQ(m.n_attrs, 3);
    CC_CHECK(cc_stun_find(&m, CC_STUN_ATTR_USE_CANDIDATE) == NULL);
    CC_CHECK_EQ(m.n_unknown_required, 0);
    CC_CHECK_EQ(check_mi(&m, "pw"), 0);
    CC_CHECK_EQ(cc_stun_check_fingerprint(&m), 0);

    /* unknown comprehension-required vs -optional */
    cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_REQUEST, txid);
    cc_stun_build_attr(&b, 0x7fff, "r", 1);
    cc_stun_build_attr(&b, 0x0030, NULL, 0);
    cc_stun_build_attr(&b, 0xC057, "opt!", 4);
    cc_stun_build_attr(&b, 0x8000, NULL, 0);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), 0);
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), 0);
    CC_CHECK_EQ(m.n_attrs, 4);
    CC_CHECK_EQ(m.n_unknown_required, 2);

    /* more attributes than we index */
    cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_REQUEST, txid);
    for (int i = 0; i < CC_STUN_MAX_ATTRS; i++)
        cc_stun_build_attr(&b, CC_STUN_ATTR_SOFTWARE, NULL, 0);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), 0);
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), 0);
    CC_CHECK_EQ(m.n_attrs, CC_STUN_MAX_ATTRS);
    cc_stun_build_attr(&b, CC_STUN_ATTR_SOFTWARE, NULL, 0);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), 0);
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), CC_EINVAL);

    /* duplicates: the first one counts (RFC 8489 section 14) */
    cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_REQUEST, txid);
    cc_stun_build_attr(&b, CC_STUN_ATTR_USERNAME, "first", 5);
    cc_stun_build_attr(&b, CC_STUN_ATTR_USERNAME, "second", 6);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), 0);
    CC_CHECK_EQ(cc_stun_parse(&m, buf, n), 0);
    const cc_stun_attr *a = cc_stun_find(&m, CC_STUN_ATTR_USERNAME);
    CC_CHECK(a && a->len == 5);
}

static void test_builder_overflow(void)
{
    static const uint8_t txid[12] = {7};
    uint8_t buf[64];
    cc_stun_builder b;
    size_t n = 99;
    cc_stun_build_start(&b, buf, 19, CC_STUN_BINDING_REQUEST, txid);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), CC_ENOSPC);
    CC_CHECK_EQ(n, 0);

    /* 20 + 8 exactly fits; one more byte of value does not. */
    cc_stun_build_start(&b, buf, 28, CC_STUN_BINDING_REQUEST, txid);
    cc_stun_build_u32(&b, CC_STUN_ATTR_PRIORITY, 1);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), 0);
    CC_CHECK_EQ(n, 28);
    cc_stun_build_attr(&b, CC_STUN_ATTR_SOFTWARE, "x", 1);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), CC_ENOSPC);
    /* sticky: later calls do nothing */
    cc_stun_build_fingerprint(&b);
    CC_CHECK_EQ(b.len, 28);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), CC_ENOSPC);

    /* integrity that does not fit */
    cc_stun_build_start(&b, buf, 40, CC_STUN_BINDING_REQUEST, txid);
    cc_stun_build_integrity(&b, (const uint8_t *)"k", 1);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), CC_ENOSPC);
    cc_stun_build_start(&b, buf, 44, CC_STUN_BINDING_REQUEST, txid);
    cc_stun_build_integrity(&b, (const uint8_t *)"k", 1);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), 0);
    CC_CHECK_EQ(n, 44);

    /* a value pointer is required for a non-empty value */
    cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_REQUEST, txid);
    cc_stun_build_attr(&b, CC_STUN_ATTR_SOFTWARE, NULL, 3);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), CC_EINVAL);

    /* the 16-bit length field cannot describe more than 65535 bytes */
    static uint8_t big[70000];
    static uint8_t val[65000];
    cc_stun_build_start(&b, big, sizeof big, CC_STUN_BINDING_REQUEST, txid);
    cc_stun_build_attr(&b, CC_STUN_ATTR_SOFTWARE, val, sizeof val);
    CC_CHECK_EQ(b.err, 0);
    cc_stun_build_attr(&b, CC_STUN_ATTR_SOFTWARE, val, 600);
    CC_CHECK_EQ(cc_stun_build_finish(&b, &n), CC_ENOSPC);
}

int main(void)
{
    CC_RUN(test_rfc5769_request);
    CC_RUN(test_rfc5769_ipv4_response);
    CC_RUN(test_rfc5769_ipv6_response);
    CC_RUN(test_rebuild_rfc_response);
    CC_RUN(test_builder_round_trip);
    CC_RUN(test_address_round_trip);
    CC_RUN(test_bad_addresses);
    CC_RUN(test_tamper);
    CC_RUN(test_truncation);
    CC_RUN(test_malformed);
    CC_RUN(test_builder_overflow);
    CC_TEST_DONE();
}
