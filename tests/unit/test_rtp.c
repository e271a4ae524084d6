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

/* The RtpStreamId / RepairedRtpStreamId elements of a simulcast publisher
 * (RFC 8852 section 3.1: the rid as ASCII, no NUL, no length byte of its
 * own) are read like any other element. */
static void test_rid_ext(void)
{
    uint8_t b[64];
    cc_rtp_hdr h;
    const uint8_t *v;
    size_t vl;
    /* One-byte form: mid (id 9) "0", rid (id 10) "h", rrid (id 11) "q",
     * two padding bytes; payload "abcd". */
    size_t n = cc_test_hex("9060 0001 00000002 cafebabe bede 0002"
                           "90 30  a0 68  b0 71  0000  61626364",
                           b, sizeof b);
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), 0);
    CC_CHECK_EQ(h.payload_len, 4);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 10, &v, &vl), 0);
    CC_CHECK_EQ(vl, 1);
    CC_CHECK_MEM(v, "h", 1);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 11, &v, &vl), 0);
    CC_CHECK_EQ(vl, 1);
    CC_CHECK_MEM(v, "q", 1);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 9, &v, &vl), 0);
    CC_CHECK_MEM(v, "0", 1);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 12, &v, &vl), CC_ENOTFOUND);

    /* A 16-byte rid, the longest a one-byte element holds (L = 15). */
    n = cc_test_hex("9060 0001 00000002 cafebabe bede 0005"
                    "af 30313233343536373839616263646566  000000",
                    b, sizeof b);
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), 0);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 10, &v, &vl), 0);
    CC_CHECK_EQ(vl, 16);
    CC_CHECK_MEM(v, "0123456789abcdef", 16);

    /* Two-byte form (a=extmap-allow-mixed, RFC 8285 section 4.3): rid
     * "f", mid "0", an empty rrid, one padding byte. */
    n = cc_test_hex("9060 0001 00000002 cafebabe 1000 0002"
                    "0a01 66  0901 30  0b00  00",
                    b, sizeof b);
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), 0);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 10, &v, &vl), 0);
    CC_CHECK_EQ(vl, 1);
    CC_CHECK_MEM(v, "f", 1);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 9, &v, &vl), 0);
    CC_CHECK_MEM(v, "0", 1);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 11, &v, &vl), 0);
    CC_CHECK_EQ(vl, 0);
    /* A rid element running past the block is corrupt, not a short rid. */
    b[17] = 0x08;
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 10, &v, &vl), CC_EINVAL);
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

/* cc_rtp_set_ext: RFC 8285 elements written in place. */
static void test_set_ext(void)
{
    uint8_t b[128], want[128];
    size_t n, nl = 0, wn;
    cc_rtp_hdr h;
    const uint8_t *v;
    size_t vl;
    const uint8_t tw[2] = {0x01, 0x02};

    /* No extension yet: a one-byte block (section 4.2) goes after the
     * CSRC, X is set, the payload and padding move along. */
    n = cc_test_hex("a160 0001 00000002 cafebabe 01020304 6869 0002", b,
                    sizeof b);
    CC_CHECK_EQ(cc_rtp_set_ext(b, n, sizeof b, 3, tw, 2, &nl), 0);
    wn = cc_test_hex("b160 0001 00000002 cafebabe 01020304"
                     "bede 0001 31 0102 00"
                     "6869 0002",
                     want, sizeof want);
    CC_CHECK_EQ(nl, wn);
    CC_CHECK_MEM(b, want, wn);
    CC_CHECK_EQ(cc_rtp_parse(b, nl, &h), 0);
    CC_CHECK_EQ(h.payload_len, 2);
    CC_CHECK_EQ(h.padding_len, 2);

    /* Same id, same length: overwritten in place, nothing moves. */
    const uint8_t tw2[2] = {0xbe, 0xef};
    n = nl;
    CC_CHECK_EQ(cc_rtp_set_ext(b, n, sizeof b, 3, tw2, 2, &nl), 0);
    CC_CHECK_EQ(nl, n);
    CC_CHECK_EQ(cc_rtp_parse(b, nl, &h), 0);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 3, &v, &vl), 0);
    CC_CHECK(vl == 2 && v[0] == 0xbe && v[1] == 0xef);
    /* Same id, another length: refused, packet untouched. */
    memcpy(want, b, nl);
    CC_CHECK_EQ(cc_rtp_set_ext(b, nl, sizeof b, 3, tw, 1, &nl),
                CC_EUNSUPPORTED);
    CC_CHECK_MEM(b, want, n);

    /* An existing one-byte block with 2 padding bytes: a 1-byte element
     * (2 bytes) fits in them; the next one grows the block by a word. */
    n = cc_test_hex(PKT_FULL, b, sizeof b);
    const uint8_t one = 0x7f;
    CC_CHECK_EQ(cc_rtp_set_ext(b, n, sizeof b, 4, &one, 1, &nl), 0);
    CC_CHECK_EQ(nl, n);
    const uint8_t three[3] = {9, 8, 7};
    CC_CHECK_EQ(cc_rtp_set_ext(b, nl, sizeof b, 5, three, 3, &nl), 0);
    CC_CHECK_EQ(nl, n + 4);
    CC_CHECK_EQ(cc_rtp_parse(b, nl, &h), 0);
    CC_CHECK_EQ(h.ext_len, 16);
    CC_CHECK_EQ(h.payload_len, 4);
    CC_CHECK_MEM(h.payload, "\x90\xe0\xff\xab", 4);
    CC_CHECK_EQ(h.padding_len, 3);
    CC_CHECK_EQ(h.csrc_count, 2);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 1, &v, &vl), 0);
    CC_CHECK(vl == 2 && v[0] == 'a' && v[1] == '1');
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 3, &v, &vl), 0);
    CC_CHECK(vl == 2 && v[0] == 1 && v[1] == 2);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 4, &v, &vl), 0);
    CC_CHECK(vl == 1 && v[0] == 0x7f);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 5, &v, &vl), 0);
    CC_CHECK(vl == 3 && v[0] == 9 && v[2] == 7);

    /* An id over 14 needs the two-byte form (section 4.3): the block is
     * rewritten, every element kept. */
    const uint8_t big[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                             11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
    n = nl;
    CC_CHECK_EQ(cc_rtp_set_ext(b, n, sizeof b, 20, big, 20, &nl), 0);
    CC_CHECK_EQ(cc_rtp_parse(b, nl, &h), 0);
    CC_CHECK_EQ(h.ext_profile, 0x1000);
    CC_CHECK_EQ(h.ext_len % 4, 0);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 1, &v, &vl), 0);
    CC_CHECK(vl == 2 && v[0] == 'a');
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 2, &v, &vl), 0);
    CC_CHECK(vl == 3 && v[0] == 0x12 && v[2] == 0x56);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 5, &v, &vl), 0);
    CC_CHECK_EQ(vl, 3);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 20, &v, &vl), 0);
    CC_CHECK(vl == 20 && v[19] == 20);
    CC_CHECK_EQ(h.payload_len, 4);
    CC_CHECK_MEM(h.payload, "\x90\xe0\xff\xab", 4);
    CC_CHECK_EQ(h.padding_len, 3);
    /* Appended to the two-byte block, including an empty element. */
    n = nl;
    CC_CHECK_EQ(cc_rtp_set_ext(b, n, sizeof b, 200, NULL, 0, &nl), 0);
    CC_CHECK_EQ(cc_rtp_parse(b, nl, &h), 0);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 200, &v, &vl), 0);
    CC_CHECK_EQ(vl, 0);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 20, &v, &vl), 0);
    CC_CHECK_EQ(vl, 20);

    /* A new block in the two-byte form when the element needs it. */
    n = cc_test_hex("8060 0001 00000002 cafebabe 6869", b, sizeof b);
    CC_CHECK_EQ(cc_rtp_set_ext(b, n, sizeof b, 15, tw, 2, &nl), 0);
    wn = cc_test_hex("9060 0001 00000002 cafebabe 1000 0001 0f02 0102 6869",
                     want, sizeof want);
    CC_CHECK_EQ(nl, wn);
    CC_CHECK_MEM(b, want, wn);

    /* Errors: bad ids and lengths, no room (packet untouched), a block of
     * another profile, a packet that does not parse. */
    n = cc_test_hex("8060 0001 00000002 cafebabe 6869", b, sizeof b);
    memcpy(want, b, n);
    CC_CHECK_EQ(cc_rtp_set_ext(b, n, sizeof b, 0, tw, 2, &nl), CC_EINVAL);
    CC_CHECK_EQ(cc_rtp_set_ext(b, n, sizeof b, 256, tw, 2, &nl), CC_EINVAL);
    CC_CHECK_EQ(cc_rtp_set_ext(b, n, sizeof b, 3, big, 256, &nl), CC_EINVAL);
    CC_CHECK_EQ(cc_rtp_set_ext(b, n, n + 7, 3, tw, 2, &nl), CC_ENOSPC);
    CC_CHECK_EQ(cc_rtp_set_ext(b, n, n - 1, 3, tw, 2, &nl), CC_EINVAL);
    CC_CHECK_MEM(b, want, n);
    CC_CHECK_EQ(cc_rtp_set_ext(b, n, n + 8, 3, tw, 2, &nl), 0);
    n = cc_test_hex("9060 0001 00000002 cafebabe 1234 0001 11223344 6869",
                    b, sizeof b);
    CC_CHECK_EQ(cc_rtp_set_ext(b, n, sizeof b, 3, tw, 2, &nl),
                CC_EUNSUPPORTED);
    CC_CHECK_EQ(cc_rtp_set_ext(b, 11, sizeof b, 3, tw, 2, &nl), CC_ETRUNC);
    /* A byte with ID 0 is one padding byte whatever its length nibble
     * (the reader skips it so, and the writer walks the block the same
     * way; found by fuzz_twcc). */
    n = cc_test_hex("9060 0001 00000002 cafebabe bede 0002 0f 116131"
                    "00000000 6869",
                    b, sizeof b);
    CC_CHECK_EQ(cc_rtp_set_ext(b, n, sizeof b, 3, tw, 2, &nl), 0);
    CC_CHECK_EQ(nl, n);
    CC_CHECK_EQ(cc_rtp_parse(b, nl, &h), 0);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 3, &v, &vl), 0);
    CC_CHECK(vl == 2 && v[0] == 1 && v[1] == 2);
    CC_CHECK_EQ(cc_rtp_find_ext(&h, 1, &v, &vl), 0);
    CC_CHECK(vl == 2 && v[0] == 'a' && v[1] == '1');
    /* A one-byte block holding the reserved id 15: an element after it
     * would be invisible (section 4.2), so nothing is added. */
    n = cc_test_hex("9060 0001 00000002 cafebabe bede 0001 f0 000000 6869",
                    b, sizeof b);
    CC_CHECK_EQ(cc_rtp_set_ext(b, n, sizeof b, 3, tw, 2, &nl),
                CC_EUNSUPPORTED);
}

int main(void)
{
    CC_RUN(test_parse_full);
    CC_RUN(test_truncations);
    CC_RUN(test_two_byte_ext);
    CC_RUN(test_one_byte_rules);
    CC_RUN(test_rid_ext);
    CC_RUN(test_invalid);
    CC_RUN(test_setters);
    CC_RUN(test_seq);
    CC_RUN(test_abs_send_time);
    CC_RUN(test_set_ext);
    CC_TEST_DONE();
}
