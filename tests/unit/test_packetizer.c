/* RTP packetizers: VP8 (RFC 7741) descriptors parsed back with cc_vp8_parse,
 * fragmentation within the MTU and reassembly, PictureID / TL0PICIDX /
 * TID / Y / KEYIDX sequencing, marker and S bits, timestamps from capture
 * time, abs-send-time (RFC 8285 one-byte) found by cc_rtp_find_ext; Opus
 * (RFC 7587) one packet per frame, 48 kHz timestamps, talkspurt marker. */
#include "cc_test.h"
#include "classcast/err.h"
#include "classcast/packetizer.h"
#include "classcast/rand.h"
#include "classcast/rtp.h"
#include "classcast/vp8.h"

#define MAXP 64
#define CAP (CC_PKTZ_MTU_DEFAULT + CC_PKTZ_OVERHEAD)

static uint8_t store[MAXP][CAP];
static uint8_t *bufs[MAXP];

static void init_bufs(void)
{
    for (int i = 0; i < MAXP; i++)
        bufs[i] = store[i];
}

/* A VP8 keyframe-looking payload (RFC 6386 section 9.1 frame tag with the
 * start code) followed by seeded noise. */
static void fake_frame(uint8_t *f, size_t len, int key, uint64_t seed)
{
    cc_prng r;
    cc_prng_seed(&r, seed);
    for (size_t i = 0; i < len; i++)
        f[i] = (uint8_t)cc_prng_next(&r);
    if (key) {
        f[0] = 0x50; /* P=0: key frame */
        f[3] = 0x9d; f[4] = 0x01; f[5] = 0x2a;
    } else {
        f[0] |= 0x01; /* P=1: inter frame */
    }
}

static cc_pktz_config vp8_cfg(void)
{
    cc_pktz_config c = {0};
    c.codec = CC_PKTZ_VP8;
    c.pt = 96;
    c.ssrc = 0x11223344;
    c.seq_base = 65530;          /* wraps during the test */
    c.ts_base = 0xfffff000u;     /* wraps too */
    c.picture_id_base = 0x7ffe;  /* 15-bit wrap */
    c.tl0picidx_base = 254;      /* 8-bit wrap */
    c.keyidx_base = 31;          /* 5-bit wrap */
    c.temporal = 1;
    c.abs_send_time_id = 3;
    return c;
}

static void test_vp8_fragment(void)
{
    init_bufs();
    cc_packetizer p;
    cc_pktz_config c = vp8_cfg();
    CC_CHECK_EQ(cc_packetizer_init(&p, &c), 0);
    static uint8_t frame[10000], re[10000];
    fake_frame(frame, sizeof frame, 1, 7);
    size_t lens[MAXP];
    cc_pktz_vp8_frame f = {.keyframe = 1, .tid = 0, .capture_time = 5000000};
    size_t want_n = cc_packetizer_vp8_count(&p, sizeof frame);
    CC_CHECK_EQ(want_n, 9); /* 10000 / (1200 - 6) rounded up */
    /* Too few buffers: nothing written, nothing advanced. */
    CC_CHECK_EQ(cc_packetizer_vp8(&p, frame, sizeof frame, &f, 1, bufs, CAP,
                                  want_n - 1, lens), CC_ENOSPC);
    CC_CHECK_EQ(cc_packetizer_vp8(&p, frame, sizeof frame, &f, 1, bufs, 100,
                                  MAXP, lens), CC_ENOSPC);
    CC_CHECK_EQ(p.seq, 65530);
    cc_time_us now = 123456789;
    int n = cc_packetizer_vp8(&p, frame, sizeof frame, &f, now, bufs, CAP,
                              MAXP, lens);
    CC_CHECK_EQ(n, (int)want_n);
    size_t off = 0, minp = SIZE_MAX, maxp = 0;
    for (int i = 0; i < n; i++) {
        cc_rtp_hdr h;
        CC_CHECK_EQ(cc_rtp_parse(bufs[i], lens[i], &h), 0);
        CC_CHECK_EQ(h.pt, 96);
        CC_CHECK_EQ(h.ssrc, 0x11223344u);
        CC_CHECK_EQ(h.seq, (uint16_t)(65530 + i));
        /* 5 s at 90 kHz from the base, wrapped mod 2^32. */
        CC_CHECK_EQ(h.ts, (uint32_t)(0xfffff000u + 450000u));
        CC_CHECK_EQ(h.marker, i == n - 1);
        CC_CHECK(h.payload_len <= CC_PKTZ_MTU_DEFAULT);
        if (h.payload_len < minp) minp = h.payload_len;
        if (h.payload_len > maxp) maxp = h.payload_len;
        const uint8_t *v;
        size_t vl;
        CC_CHECK_EQ(cc_rtp_find_ext(&h, 3, &v, &vl), 0);
        CC_CHECK_EQ(vl, 3);
        uint32_t ast = (uint32_t)v[0] << 16 | v[1] << 8 | v[2];
        CC_CHECK_EQ(ast, cc_abs_send_time_from_us(now));
        cc_vp8_desc d;
        CC_CHECK_EQ(cc_vp8_parse(h.payload, h.payload_len, &d), 0);
        CC_CHECK_EQ(d.start, i == 0);
        CC_CHECK_EQ(d.partition, 0);
        CC_CHECK_EQ(d.has_picture_id, 1);
        CC_CHECK_EQ(d.picture_id_bits, 15);
        CC_CHECK_EQ(d.picture_id, 0x7ffe);
        CC_CHECK_EQ(d.has_tl0, 1);
        CC_CHECK_EQ(d.tl0picidx, 254);
        CC_CHECK_EQ(d.has_tid, 1);
        CC_CHECK_EQ(d.tid, 0);
        CC_CHECK_EQ(d.has_keyidx, 1);
        CC_CHECK_EQ(d.keyidx, 31);
        CC_CHECK_EQ(d.keyframe, i == 0);
        CC_CHECK_EQ(d.len, 6);
        memcpy(re + off, h.payload + d.len, h.payload_len - d.len);
        off += h.payload_len - d.len;
    }
    CC_CHECK_EQ(off, sizeof frame);
    CC_CHECK_MEM(re, frame, sizeof frame);
    /* Even split: sizes differ by at most one byte. */
    CC_CHECK(maxp - minp <= 1);
}

static void test_vp8_sequence(void)
{
    /* 0-2-1-2 pattern: PictureID +1 per frame (15-bit wrap), TL0PICIDX +1
     * on TID 0 frames only (8-bit wrap), KEYIDX +1 per keyframe (5-bit). */
    init_bufs();
    cc_packetizer p;
    cc_pktz_config c = vp8_cfg();
    c.abs_send_time_id = 0;
    CC_CHECK_EQ(cc_packetizer_init(&p, &c), 0);
    static const int tids[4] = {0, 2, 1, 2};
    uint8_t frame[300];
    uint16_t seq = 65530;
    for (int k = 0; k < 12; k++) {
        int key = k == 0 || k == 8;
        int tid = key ? 0 : tids[k % 4];
        fake_frame(frame, sizeof frame, key, (uint64_t)k + 1);
        cc_pktz_vp8_frame f = {.keyframe = key, .tid = tid,
                               .layer_sync = tid == 1 || (k % 4) == 1,
                               .non_ref = (k % 4) == 1 || (k % 4) == 3,
                               .capture_time = 1000000 + k * 33333};
        size_t lens[MAXP];
        int n = cc_packetizer_vp8(&p, frame, sizeof frame, &f, 0, bufs, CAP,
                                  MAXP, lens);
        CC_CHECK_EQ(n, 1);
        cc_rtp_hdr h;
        CC_CHECK_EQ(cc_rtp_parse(bufs[0], lens[0], &h), 0);
        CC_CHECK_EQ(h.extension, 0);
        CC_CHECK_EQ(h.marker, 1);
        CC_CHECK_EQ(h.seq, seq);
        seq++;
        CC_CHECK_EQ(h.ts, (uint32_t)(c.ts_base + 90000u +
                                     (uint32_t)((int64_t)k * 33333 * 9 / 100)));
        cc_vp8_desc d;
        CC_CHECK_EQ(cc_vp8_parse(h.payload, h.payload_len, &d), 0);
        CC_CHECK_EQ(d.picture_id, (0x7ffe + k) & 0x7fff);
        /* frames 0..3 -> 254, 4..7 -> 255, 8..11 -> 0 */
        CC_CHECK_EQ(d.tl0picidx, (uint8_t)(254 + k / 4));
        CC_CHECK_EQ(d.tid, tid);
        CC_CHECK_EQ(d.layer_sync, f.layer_sync);
        CC_CHECK_EQ(d.non_ref, f.non_ref);
        CC_CHECK_EQ(d.keyidx, k < 8 ? 31 : 0);
        CC_CHECK_EQ(d.keyframe, key);
    }
    CC_CHECK_EQ(p.frames, 12);
}

static void test_vp8_no_temporal_small_mtu(void)
{
    init_bufs();
    cc_packetizer p;
    cc_pktz_config c = vp8_cfg();
    c.temporal = 0;
    c.mtu = 100;
    CC_CHECK_EQ(cc_packetizer_init(&p, &c), 0);
    uint8_t frame[1000], re[1000];
    fake_frame(frame, sizeof frame, 0, 99);
    size_t lens[MAXP];
    cc_pktz_vp8_frame f = {.tid = 0, .capture_time = 0};
    int n = cc_packetizer_vp8(&p, frame, sizeof frame, &f, 0, bufs, CAP, MAXP,
                              lens);
    CC_CHECK_EQ(n, 11); /* 1000 / 96 rounded up */
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        cc_rtp_hdr h;
        CC_CHECK_EQ(cc_rtp_parse(bufs[i], lens[i], &h), 0);
        CC_CHECK(h.payload_len <= 100);
        cc_vp8_desc d;
        CC_CHECK_EQ(cc_vp8_parse(h.payload, h.payload_len, &d), 0);
        CC_CHECK_EQ(d.len, 4);
        CC_CHECK_EQ(d.has_tl0, 0);
        CC_CHECK_EQ(d.has_tid, 0);
        CC_CHECK_EQ(d.has_keyidx, 0);
        CC_CHECK_EQ(d.keyframe, 0);
        memcpy(re + off, h.payload + d.len, h.payload_len - d.len);
        off += h.payload_len - d.len;
    }
    CC_CHECK_EQ(off, sizeof frame);
    CC_CHECK_MEM(re, frame, sizeof frame);
    /* Exactly one budget: one packet of exactly mtu payload bytes. */
    uint8_t exact[96];
    fake_frame(exact, sizeof exact, 0, 5);
    n = cc_packetizer_vp8(&p, exact, sizeof exact, &f, 0, bufs, CAP, MAXP,
                          lens);
    CC_CHECK_EQ(n, 1);
    CC_CHECK_EQ(lens[0], 12 + 8 + 100); /* header, abs-send-time, payload */
}

static void test_bad_args(void)
{
    cc_packetizer p;
    cc_pktz_config c = vp8_cfg();
    c.pt = 128;
    CC_CHECK_EQ(cc_packetizer_init(&p, &c), CC_EINVAL);
    c = vp8_cfg();
    c.abs_send_time_id = 15;
    CC_CHECK_EQ(cc_packetizer_init(&p, &c), CC_EINVAL);
    c = vp8_cfg();
    c.codec = 0;
    CC_CHECK_EQ(cc_packetizer_init(&p, &c), CC_EINVAL);
    c = vp8_cfg();
    CC_CHECK_EQ(cc_packetizer_init(&p, &c), 0);
    uint8_t b[CAP];
    size_t ol;
    CC_CHECK_EQ(cc_packetizer_opus(&p, b, 10, 0, 0, b, sizeof b, &ol),
                CC_EINVAL);
    size_t lens[1];
    init_bufs();
    cc_pktz_vp8_frame f = {0};
    CC_CHECK_EQ(cc_packetizer_vp8(&p, b, 0, &f, 0, bufs, CAP, 1, lens),
                CC_EINVAL);
    CC_CHECK_EQ(cc_packetizer_vp8_count(&p, 0), 0);
}

static void test_opus(void)
{
    cc_packetizer p;
    cc_pktz_config c = {0};
    c.codec = CC_PKTZ_OPUS;
    c.pt = 111;
    c.ssrc = 42;
    c.seq_base = 100;
    c.ts_base = 1000;
    c.abs_send_time_id = 2;
    CC_CHECK_EQ(cc_packetizer_init(&p, &c), 0);
    uint8_t opus[80], buf[200];
    memset(opus, 0x5a, sizeof opus);
    opus[0] = 0x78; /* a TOC byte */
    cc_time_us t0 = 7000000;
    for (int k = 0; k < 5; k++) {
        size_t len = k == 2 ? 1 : sizeof opus; /* frame 2: DTX silence */
        size_t ol;
        cc_time_us cap = t0 + k * 20000, now = cap + 3000;
        CC_CHECK_EQ(cc_packetizer_opus(&p, opus, len, cap, now, buf,
                                       sizeof buf, &ol), 0);
        cc_rtp_hdr h;
        CC_CHECK_EQ(cc_rtp_parse(buf, ol, &h), 0);
        CC_CHECK_EQ(h.pt, 111);
        CC_CHECK_EQ(h.seq, 100 + k);
        /* RFC 7587 section 4.1: 48 kHz clock, 960 ticks per 20 ms frame. */
        CC_CHECK_EQ(h.ts, 1000u + 7u * 48000u + (uint32_t)k * 960u);
        /* talkspurt starts: first packet and the packet after DTX */
        CC_CHECK_EQ(h.marker, k == 0 || k == 3);
        CC_CHECK_EQ(h.payload_len, len);
        CC_CHECK_MEM(h.payload, opus, len);
        const uint8_t *v;
        size_t vl;
        CC_CHECK_EQ(cc_rtp_find_ext(&h, 2, &v, &vl), 0);
        CC_CHECK_EQ(vl, 3);
        CC_CHECK_EQ((uint32_t)v[0] << 16 | v[1] << 8 | v[2],
                    cc_abs_send_time_from_us(now));
        CC_CHECK_EQ(cc_rtp_find_ext(&h, 3, &v, &vl), CC_ENOTFOUND);
    }
    size_t ol;
    CC_CHECK_EQ(cc_packetizer_opus(&p, opus, sizeof opus, 0, 0, buf, 50, &ol),
                CC_ENOSPC);
    CC_CHECK_EQ(p.seq, 105);
}

static void test_timestamps(void)
{
    /* Audio and video captured at the same instant map to the same media
     * time; large monotonic times do not overflow. */
    cc_packetizer v, a;
    cc_pktz_config cv = vp8_cfg(), ca = {0};
    cv.ts_base = 0;
    ca.codec = CC_PKTZ_OPUS;
    CC_CHECK_EQ(cc_packetizer_init(&v, &cv), 0);
    CC_CHECK_EQ(cc_packetizer_init(&a, &ca), 0);
    CC_CHECK_EQ(cc_packetizer_rtp_ts(&v, 1000000), 90000u);
    CC_CHECK_EQ(cc_packetizer_rtp_ts(&a, 1000000), 48000u);
    CC_CHECK_EQ(cc_packetizer_rtp_ts(&v, 11), 0u);   /* 0.99 ticks */
    CC_CHECK_EQ(cc_packetizer_rtp_ts(&v, 12), 1u);   /* 1.08 ticks */
    cc_time_us big = (cc_time_us)200 * 365 * 86400 * 1000000; /* 200 years */
    uint64_t want = (uint64_t)(big / 1000000) * 90000u;
    CC_CHECK_EQ(cc_packetizer_rtp_ts(&v, big), (uint32_t)want);
    CC_CHECK_EQ(cc_packetizer_rtp_ts(&v, big + 1000000) -
                    cc_packetizer_rtp_ts(&v, big), 90000u);
    /* Randomized configs differ (RFC 3550 5.1 random bases). */
    cc_pktz_config r1 = vp8_cfg(), r2 = vp8_cfg();
    cc_pktz_config_randomize(&r1);
    cc_pktz_config_randomize(&r2);
    CC_CHECK(r1.ssrc != r2.ssrc || r1.ts_base != r2.ts_base);
    CC_CHECK(r1.picture_id_base <= 0x7fff);
    CC_CHECK(r1.keyidx_base <= 31);
}

int main(void)
{
    CC_RUN(test_vp8_fragment);
    CC_RUN(test_vp8_sequence);
    CC_RUN(test_vp8_no_temporal_small_mtu);
    CC_RUN(test_bad_args);
    CC_RUN(test_opus);
    CC_RUN(test_timestamps);
    CC_TEST_DONE();
}
