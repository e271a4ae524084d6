/* VP8 payload descriptor (RFC 7741 section 4.2) variants, truncation,
 * keyframe detection (4.3, RFC 6386 9.1) and in-place rewrite. */
#include "cc_test.h"
#include "classcast/err.h"
#include "classcast/vp8.h"

/* A key frame's first bytes: frame tag with P=0 (show_frame, size bits),
 * then the RFC 6386 9.1 start code and a 640x480 size. */
static const uint8_t key_tag[] = {0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01};
static const uint8_t inter_tag[] = {0x31, 0x42, 0x00, 0x11, 0x22, 0x33, 0x44};

static size_t build(uint8_t *buf, const uint8_t *desc, size_t dl,
                    const uint8_t *tag, size_t tl)
{
    memcpy(buf, desc, dl);
    memcpy(buf + dl, tag, tl);
    return dl + tl;
}

static void test_minimal(void)
{
    /* No X: one octet, S=1, PID=0. */
    uint8_t buf[64], d0[] = {0x10};
    size_t n = build(buf, d0, 1, key_tag, sizeof key_tag);
    cc_vp8_desc d;
    CC_CHECK_EQ(cc_vp8_parse(buf, n, &d), 0);
    CC_CHECK_EQ(d.len, 1);
    CC_CHECK_EQ(d.start, 1);
    CC_CHECK_EQ(d.partition, 0);
    CC_CHECK_EQ(d.has_picture_id, 0);
    CC_CHECK_EQ(d.keyframe, 1);
    /* Same frame tag but S=0 (continuation): not a keyframe start. */
    buf[0] = 0x00;
    CC_CHECK_EQ(cc_vp8_parse(buf, n, &d), 0);
    CC_CHECK_EQ(d.keyframe, 0);
    /* S=1 but PID=1: no payload header in this packet. */
    buf[0] = 0x11;
    CC_CHECK_EQ(cc_vp8_parse(buf, n, &d), 0);
    CC_CHECK_EQ(d.keyframe, 0);
    /* Inter frame. */
    n = build(buf, d0, 1, inter_tag, sizeof inter_tag);
    CC_CHECK_EQ(cc_vp8_parse(buf, n, &d), 0);
    CC_CHECK_EQ(d.keyframe, 0);
}

static void test_picture_id(void)
{
    uint8_t buf[64];
    cc_vp8_desc d;
    /* X, I with M=1: 15-bit PictureID 0x1234. (Chromium's usual form, with
     * L and T as well below.) */
    uint8_t d15[] = {0x90, 0x80, 0x92, 0x34};
    size_t n = build(buf, d15, sizeof d15, key_tag, sizeof key_tag);
    CC_CHECK_EQ(cc_vp8_parse(buf, n, &d), 0);
    CC_CHECK_EQ(d.has_picture_id, 1);
    CC_CHECK_EQ(d.picture_id_bits, 15);
    CC_CHECK_EQ(d.picture_id, 0x1234);
    CC_CHECK_EQ(d.picture_id_off, 2);
    CC_CHECK_EQ(d.len, 4);
    CC_CHECK_EQ(d.keyframe, 1);
    /* M=0: 7-bit PictureID 0x55. */
    uint8_t d7[] = {0x90, 0x80, 0x55};
    n = build(buf, d7, sizeof d7, inter_tag, sizeof inter_tag);
    CC_CHECK_EQ(cc_vp8_parse(buf, n, &d), 0);
    CC_CHECK_EQ(d.picture_id_bits, 7);
    CC_CHECK_EQ(d.picture_id, 0x55);
    CC_CHECK_EQ(d.len, 3);
    CC_CHECK_EQ(d.keyframe, 0);
}

static void test_l_t_k(void)
{
    uint8_t buf[64];
    cc_vp8_desc d;
    /* X with I(15) L T: PictureID 0x7fff, TL0PICIDX 200, TID 2 Y 1. */
    uint8_t dd[] = {0x90, 0xe0, 0xff, 0xff, 200, 0xa0};
    size_t n = build(buf, dd, sizeof dd, inter_tag, sizeof inter_tag);
    CC_CHECK_EQ(cc_vp8_parse(buf, n, &d), 0);
    CC_CHECK_EQ(d.picture_id, 0x7fff);
    CC_CHECK_EQ(d.has_tl0, 1);
    CC_CHECK_EQ(d.tl0picidx, 200);
    CC_CHECK_EQ(d.tl0_off, 4);
    CC_CHECK_EQ(d.has_tid, 1);
    CC_CHECK_EQ(d.tid, 2);
    CC_CHECK_EQ(d.layer_sync, 1);
    CC_CHECK_EQ(d.has_keyidx, 0);
    CC_CHECK_EQ(d.len, 6);
    /* K only: the T/K octet is present, TID not meaningful. */
    uint8_t dk[] = {0x90, 0x10, 0x07};
    n = build(buf, dk, sizeof dk, inter_tag, sizeof inter_tag);
    CC_CHECK_EQ(cc_vp8_parse(buf, n, &d), 0);
    CC_CHECK_EQ(d.has_tid, 0);
    CC_CHECK_EQ(d.has_keyidx, 1);
    CC_CHECK_EQ(d.keyidx, 7);
    CC_CHECK_EQ(d.len, 3);
    /* L without I. */
    uint8_t dl[] = {0x90, 0x40, 9};
    n = build(buf, dl, sizeof dl, inter_tag, sizeof inter_tag);
    CC_CHECK_EQ(cc_vp8_parse(buf, n, &d), 0);
    CC_CHECK_EQ(d.has_picture_id, 0);
    CC_CHECK_EQ(d.tl0picidx, 9);
    CC_CHECK_EQ(d.tl0_off, 2);
}

static void test_truncated(void)
{
    cc_vp8_desc d;
    uint8_t full[] = {0x90, 0xf0, 0x92, 0x34, 7, 0x40, 0x31};
    /* Every prefix shorter than descriptor + 1 payload byte fails. */
    for (size_t n = 0; n < sizeof full; n++)
        CC_CHECK_EQ(cc_vp8_parse(full, n, &d), CC_ETRUNC);
    CC_CHECK_EQ(cc_vp8_parse(full, sizeof full, &d), 0);
    CC_CHECK_EQ(d.len, 6);
    CC_CHECK_EQ(cc_vp8_parse(NULL, 4, &d), CC_EINVAL);
    /* A keyframe tag cut short is not a keyframe. */
    uint8_t shortkey[] = {0x10, 0x50, 0x42, 0x00, 0x9d, 0x01};
    CC_CHECK_EQ(cc_vp8_parse(shortkey, sizeof shortkey, &d), 0);
    CC_CHECK_EQ(d.keyframe, 0);
    /* P=0 but no start code: not a keyframe. */
    uint8_t fake[] = {0x10, 0x50, 0x42, 0x00, 0x00, 0x00, 0x00};
    CC_CHECK_EQ(cc_vp8_parse(fake, sizeof fake, &d), 0);
    CC_CHECK_EQ(d.keyframe, 0);
}

static void test_rewrite(void)
{
    uint8_t buf[64];
    cc_vp8_desc d;
    uint8_t dd[] = {0x90, 0xe0, 0x92, 0x34, 5, 0x40};
    size_t n = build(buf, dd, sizeof dd, key_tag, sizeof key_tag);
    CC_CHECK_EQ(cc_vp8_parse(buf, n, &d), 0);
    cc_vp8_rewrite(buf, &d, 0x7ffe, 250);
    cc_vp8_desc d2;
    CC_CHECK_EQ(cc_vp8_parse(buf, n, &d2), 0);
    CC_CHECK_EQ(d2.picture_id, 0x7ffe);
    CC_CHECK_EQ(d2.picture_id_bits, 15);
    CC_CHECK_EQ(d2.tl0picidx, 250);
    CC_CHECK_EQ(d2.keyframe, 1);
    CC_CHECK_MEM(buf + d2.len, key_tag, sizeof key_tag); /* payload intact */
    CC_CHECK_EQ(buf[0], 0x90);
    CC_CHECK_EQ(buf[1], 0xe0);
    /* 7-bit field stays 7 bits: the value is masked. */
    uint8_t d7[] = {0x90, 0x80, 0x05};
    n = build(buf, d7, sizeof d7, inter_tag, sizeof inter_tag);
    CC_CHECK_EQ(cc_vp8_parse(buf, n, &d), 0);
    cc_vp8_rewrite(buf, &d, 0x1ff, 0);
    CC_CHECK_EQ(cc_vp8_parse(buf, n, &d2), 0);
    CC_CHECK_EQ(d2.picture_id_bits, 7);
    CC_CHECK_EQ(d2.picture_id, 0x7f);
    CC_CHECK_EQ(d2.len, 3);
}

int main(void)
{
    CC_RUN(test_minimal);
    CC_RUN(test_picture_id);
    CC_RUN(test_l_t_k);
    CC_RUN(test_truncated);
    CC_RUN(test_rewrite);
    CC_TEST_DONE();
}
