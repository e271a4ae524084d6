/* Tests for src/rtp/rtp.c: RFC 3550 section 5.1 header, RFC 8285 extension
 * elements, in-place setters, sequence arithmetic, abs-send-time. */
#include "cc_test.h"

#include "classcast/err.h"
#include "classcast/rtp.h"

/* V=2 P=1 X=1 CC=2, M=1 PT=96, seq 0x1234, ts 0xDEADBEEF, SSRC 0x11223344,
 * CSRCs AAAAAAAA BBBBBBBB, one-byte extension block (RFC 8285 4.2) of 3
 * words: mid (id 1, "a1"), abs-send-time (id 2, 123456), transport-cc
 * (id 3, 0x0102), two padding bytes; payload 90 e0 ff ab; 3 padding bytes.
 * Payload and padding bytes are chosen so that every truncation is caught. */
static const char *PKT_FULL =
    "b2e0 1234 deadbeef 11223344"
    "aaaaaaaa bbbbbbbb"
    "bede 0003"
    "11 6131  22 123456  31 0102  0000"
    "90e0ffab"
    "000003";

static void test_parse_full(void)
{
    uint8_t b[64];
    size_t n = cc_test_hex(PKT_FULL, b, sizeof b);
    CC_CHECK_EQ(n, 43);
    cc_rtp_hdr h;
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), 0);
    CC_CHECK_EQ(h.version, 2);
    CC_CHECK_EQ(h.padding, 1);
    CC_CHECK_EQ(h.extension, 1);
    CC_CHECK_EQ(h.csrc_count, 2);
    CC_CHECK_EQ(h.marker, 1);
    CC_CHECK_EQ(h.pt, 96);
    CC_CHECK_EQ(h.seq, 0x1234);
    CC_CHECK_EQ(h.ts, 0xDEADBEEFu);
    CC_CHECK_EQ(h.ssrc, 0x11223344u);
    CC_CHECK_EQ(h.header_len, 36);
    CC_CHECK_EQ(h.ext_profile, 0xBEDE);
    CC_CHECK(h.ext == b + 24);
    CC_CHECK_EQ(h.ext_len, 12);
    CC_CHECK(h.payload == b + 36);
    CC_CHECK_EQ(h.payload_len, 4);
    CC_CHECK_EQ(h.padding_len, 3);

    const uint8_t *v;
    size_t vl;
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 1, &v, &vl), 0);
    CC_CHECK_EQ(vl, 2);
    CC_CHECK_MEM(v, "a1", 2);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 2, &v, &vl), 0);
    CC_CHECK_EQ(vl, 3);
    CC_CHECK_EQ((v[0] << 16 | v[1] << 8 | v[2]), 0x123456);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 3, &v, &vl), 0);
    CC_CHECK_EQ(vl, 2);
    CC_CHECK_EQ((v[0] << 8 | v[1]), 0x0102);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 4, &v, &vl), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 0, &v, &vl), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 15, &v, &vl), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 16, &v, &vl), CC_ENOTFOUND);
}

static void test_truncations(void)
{
    uint8_t b[64];
    size_t n = cc_test_hex(PKT_FULL, b, sizeof b);
    cc_rtp_hdr h;
    for (size_t l = 0; l < n; l++) {
        int rc = cc_rtp_parse(b, l, &h);
        CC_CHECK(rc == CC_ETRUNC || rc == CC_EINVAL);
        if (l < 36)
            CC_CHECK_EQ(rc, CC_ETRUNC); /* inside the header */
    }
    /* Without the P bit the payload cannot be told from a short one (RTP
     * has no length field), but the header still must be whole. */
    b[0] &= (uint8_t)~0x20;
    for (size_t l = 0; l < 36; l++)
        CC_CHECK_EQ(cc_rtp_parse(b, l, &h), CC_ETRUNC);
    CC_CHECK_EQ(cc_rtp_parse(b, 36, &h), 0);
    CC_CHECK_EQ(h.payload_len, 0);
}

static void test_two_byte_ext(void)
{
    /* Profile 0x1000 (RFC 8285 4.3), 2 words: id 1 len 0, one padding byte,
     * id 16 len 3 "abc". No padding, payload "hi". */
    uint8_t b[64];
    size_t n = cc_test_hex("9060 0001 00000002 cafebabe"
                           "1000 0002"
                           "0100 00 1003 616263"
                           "6869",
                           b, sizeof b);
    cc_rtp_hdr h;
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), 0);
    CC_CHECK_EQ(h.ext_profile, 0x1000);
    CC_CHECK_EQ(h.header_len, 24);
    CC_CHECK_EQ(h.payload_len, 2);
    CC_CHECK_EQ(h.padding_len, 0);
    CC_CHECK_EQ(h.marker, 0);
    const uint8_t *v;
    size_t vl;
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 1, &v, &vl), 0);
    CC_CHECK_EQ(vl, 0);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 16, &v, &vl), 0);
    CC_CHECK_EQ(vl, 3);
    CC_CHECK_MEM(v, "abc", 3);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 2, &v, &vl), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 256, &v, &vl), CC_ENOTFOUND);

    /* Element length overruns the block: corrupt. */
    b[20] = 0x04;
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), 0);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 16, &v, &vl), CC_EINVAL);
    /* Appbits in the low nibble are still the two-byte form. */
    b[20] = 0x03;
    b[13] = 0x0f;
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), 0);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 16, &v, &vl), 0);
    /* Some other profile: not RFC 8285, nothing to find. */
    b[12] = 0x12;
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), 0);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 16, &v, &vl), CC_ENOTFOUND);
}

static void test_one_byte_rules(void)
{
    uint8_t b[64];
    cc_rtp_hdr h;
    const uint8_t *v;
    size_t vl;
    /* ID 15 stops processing (RFC 8285 4.2): id 2 after it is not seen. */
    size_t n = cc_test_hex("9060 0001 00000002 cafebabe bede 0001 f0 21 aabb",
                           b, sizeof b);
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), 0);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 2, &v, &vl), CC_ENOTFOUND);
    /* Leading padding bytes (ID 0) are skipped. */
    b[16] = 0x00;
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 2, &v, &vl), 0);
    CC_CHECK_EQ(vl, 2);
    CC_CHECK_EQ(v[0], 0xaa);
    /* Element of 4 bytes at offset 1 runs past the 4-byte block. */
    b[17] = 0x23;
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 2, &v, &vl), CC_EINVAL);
    /* Extension length says 2 words but only 1 is there. */
    b[15] = 2;
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), CC_ETRUNC);
    /* X bit without room for the extension header. */
    CC_CHECK_EQ(cc_rtp_parse(b, 14, &h), CC_ETRUNC);
    /* No extension at all. */
    b[0] = 0x80;
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), 0);
    CC_CHECK_EQ(h.header_len, 12);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 2, &v, &vl), CC_ENOTFOUND);
}

static void test_invalid(void)
{
    uint8_t b[64];
    cc_rtp_hdr h;
    size_t n = cc_test_hex("8060 0001 00000002 cafebabe 01020304", b, sizeof b);
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), 0);
    b[0] = 0x40; /* version 1 */
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), CC_EINVAL);
    b[0] = 0x00;
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), CC_EINVAL);
    b[0] = 0xa0; /* padding: last byte 4 == whole body: allowed */
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), 0);
    CC_CHECK_EQ(h.payload_len, 0);
    CC_CHECK_EQ(h.padding_len, 4);
    b[15] = 5; /* more padding than body */
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), CC_EINVAL);
    b[15] = 0; /* zero padding count */
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), CC_EINVAL);
    CC_CHECK_EQ(cc_rtp_parse(b, 12, &h), CC_ETRUNC); /* P with no body */
    b[0] = 0x8f; /* 15 CSRCs, not there */
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), CC_ETRUNC);
    CC_CHECK_EQ(cc_rtp_parse(NULL, 0, &h), CC_EINVAL);
}

static void test_setters(void)
{
    uint8_t b[64];
    size_t n = cc_test_hex(PKT_FULL, b, sizeof b);
    cc_rtp_set_ssrc(b, 0xCAFEF00Du);
    cc_rtp_set_seq(b, 0xFFFE);
    cc_rtp_set_ts(b, 0x01020304u);
    cc_rtp_set_pt(b, 111);
    cc_rtp_hdr h;
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), 0);
    CC_CHECK_EQ(h.ssrc, 0xCAFEF00Du);
    CC_CHECK_EQ(h.seq, 0xFFFE);
    CC_CHECK_EQ(h.ts, 0x01020304u);
    CC_CHECK_EQ(h.pt, 111);
    CC_CHECK_EQ(h.marker, 1); /* set_pt keeps the marker */
    cc_rtp_set_marker(b, 0);
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), 0);
    CC_CHECK_EQ(h.marker, 0);
    CC_CHECK_EQ(h.pt, 111); /* set_marker keeps the pt */
    cc_rtp_set_pt(b, 0xff); /* only 7 bits are taken */
    CC_CHECK_EQ(b[1], 0x7f);
    cc_rtp_set_marker(b, 5);
    CC_CHECK_EQ(b[1], 0xff);
    /* The rest of the header is untouched. */
    CC_CHECK_EQ(h.csrc_count, 2);
    CC_CHECK_EQ(h.payload_len, 4);

    uint8_t w[12];
    CC_CHECK_EQ(cc_rtp_write_header(w, 11, 96, 1, 1, 2, 3), CC_ENOSPC);
    CC_CHECK_EQ(cc_rtp_write_header(w, 12, 96, 1, 0xabcd, 0x11223344u,
                                    0x55667788u), 12);
    uint8_t want[12];
    cc_test_hex("80e0abcd1122334455667788", want, sizeof want);
    CC_CHECK_MEM(w, want, 12);
    CC_CHECK_EQ(cc_rtp_parse(w, 12, &h), 0);
    CC_CHECK_EQ(h.payload_len, 0);
}

static void test_seq(void)
{
    CC_CHECK(cc_seq_newer(1, 0));
    CC_CHECK(!cc_seq_newer(0, 1));
    CC_CHECK(!cc_seq_newer(5, 5));
    CC_CHECK(cc_seq_newer(0, 65535));      /* across the wrap */
    CC_CHECK(!cc_seq_newer(65535, 0));
    CC_CHECK(cc_seq_newer(10, 65530));
    CC_CHECK(cc_seq_newer(0x7fff, 0));
    CC_CHECK(!cc_seq_newer(0x8000, 0));    /* exactly half: neither */
    CC_CHECK(!cc_seq_newer(0, 0x8000));
    CC_CHECK(cc_seq_newer(0x8001, 2));
    CC_CHECK_EQ((uint16_t)(3 - 65534), 5); /* distance across the wrap */
}

static void test_abs_send_time(void)
{
    CC_CHECK_EQ(cc_abs_send_time_from_us(0), 0);
    CC_CHECK_EQ(cc_abs_send_time_from_us(1000000), 0x040000);
    CC_CHECK_EQ(cc_abs_send_time_from_us(500000), 0x020000);
    CC_CHECK_EQ(cc_abs_send_time_from_us(1500000), 0x060000);
    CC_CHECK_EQ(cc_abs_send_time_from_us(63000000), 0xFC0000);
    CC_CHECK_EQ(cc_abs_send_time_from_us(64000000), 0); /* wraps at 64 s */
    CC_CHECK_EQ(cc_abs_send_time_from_us(65500000), 0x060000);
    CC_CHECK_EQ(cc_abs_send_time_from_us(-1000000), 0xFC0000);
    CC_CHECK_EQ(cc_abs_send_time_from_us(1), 0); /* 0.26 unit rounds down */
    CC_CHECK_EQ(cc_abs_send_time_from_us(2), 1); /* 0.52 unit rounds up */
    /* Just under 64 s rounds up to 2^24 and wraps to 0. */
    CC_CHECK_EQ(cc_abs_send_time_from_us(63999999), 0);
    CC_CHECK_EQ(cc_abs_send_time_from_us(63999990), 0xFFFFFD);
    /* Big times do not overflow. */
    CC_CHECK_EQ(cc_abs_send_time_from_us(INT64_C(1) << 62),
                cc_abs_send_time_from_us((INT64_C(1) << 62) % 64000000));
    CC_CHECK(cc_abs_send_time_from_us(INT64_MAX) <= 0xFFFFFF);
    CC_CHECK(cc_abs_send_time_from_us(INT64_MIN) <= 0xFFFFFF);
}

int main(void)
{
    CC_RUN(test_parse_full);
    CC_RUN(test_truncations);
    CC_RUN(test_two_byte_ext);
    CC_RUN(test_one_byte_rules);
    CC_RUN(test_invalid);
    CC_RUN(test_setters);
    CC_RUN(test_seq);
    CC_RUN(test_abs_send_time);
    CC_TEST_DONE();
}
