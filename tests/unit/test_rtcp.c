/* Tests for src/rtp/rtcp.c: compound iteration and every parser against
 * hand-decoded Chrome-style feedback (RFC 3550 section 6, RFC 4585, RFC 5104,
 * REMB, transport-cc), builder round trips, NACK packing, malformed input,
 * and the RFC 5761 section 4 RTP/RTCP split. */
#include "cc_test.h"

#include <stdint.h>

#include "classcast/err.h"
#include "classcast/rtcp.h"

#define CNAME_HEX "4b78332f5a74346f484c512b564a3277" /* "Kx3/Zt4oHLQ+VJ2w" */
#define CNAME "Kx3/Zt4oHLQ+VJ2w"

/* A sender's compound as Chrome sends it: SR (no report blocks) + SDES
 * with the CNAME, padded with two NULs. */
static const char *SR_SDES =
    "80c80006 5d3a1b2c e81f2a3b4c5d6e7f 000f4240 0000012c 000493e0"
    "81ca0006 5d3a1b2c 0110" CNAME_HEX "0000";

/* A receiver's compound: RR with one report block + SDES. */
static const char *RR_SDES =
    "81c90007 00000001"
    "  5d3a1b2c 19fffffe 00011234 00000040 2a3b4c5d 00018000"
    "81ca0006 00000001 0110" CNAME_HEX "0000";

/* Reduced-size-style feedback in one datagram: empty RR, generic NACK
 * (PID 65535 BLP 0x0001, PID 100 BLP 0x8001), PLI, REMB 1.5 Mbps for one
 * SSRC, transport-cc with P bit and one byte of RTCP padding. */
static const char *FEEDBACK =
    "80c90001 00000001"
    "81cd0004 00000001 5d3a1b2c ffff0001 00648001"
    "81ce0002 00000001 5d3a1b2c"
    "8fce0005 00000001 00000000 52454d42 01 0edc6c 5d3a1b2c"
    /* transport-cc: base 10, count 14, reference time 0x123456, fb count 7
     * chunks: run length (S=01 small, 3), 2-bit vector
     * [NR, large, small, NR, small, NR, NR], 1-bit vector [1,0,1,0,...]
     * deltas: 04 00 ff | fe0c 08 10 | 01 02, then padding count 01. */
    "afcd0008 00000001 5d3a1b2c 000a000e 12345607"
    "2003 c910 a800  0400ff fe0c 0810 0102 01";

static size_t hex(const char *h, uint8_t *b, size_t cap)
{
    size_t n = cc_test_hex(h, b, cap);
    CC_CHECK(n <= cap);
    return n;
}

static void test_sr_sdes(void)
{
    uint8_t b[256];
    size_t n = hex(SR_SDES, b, sizeof b);
    CC_CHECK_EQ(n, 56);
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    cc_rtcp_iter_init(&it, b, n);

    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(p.pt, CC_RTCP_SR);
    CC_CHECK_EQ(p.count, 0);
    CC_CHECK_EQ(p.len, 28);
    CC_CHECK(p.data == b);
    cc_rtcp_sr sr;
    CC_CHECK_EQ(cc_rtcp_parse_sr(&p, &sr), 0);
    CC_CHECK_EQ(sr.ssrc, 0x5d3a1b2cu);
    CC_CHECK(sr.ntp == 0xe81f2a3b4c5d6e7full);
    CC_CHECK_EQ(sr.rtp_ts, 1000000);
    CC_CHECK_EQ(sr.packet_count, 300);
    CC_CHECK_EQ(sr.octet_count, 300000);
    CC_CHECK_EQ(sr.n_reports, 0);
    cc_rtcp_rr rr;
    CC_CHECK_EQ(cc_rtcp_parse_rr(&p, &rr), CC_EINVAL); /* wrong type */

    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(p.pt, CC_RTCP_SDES);
    CC_CHECK_EQ(p.count, 1);
    CC_CHECK_EQ(p.len, 28);
    cc_rtcp_sdes sd;
    CC_CHECK_EQ(cc_rtcp_parse_sdes(&p, &sd), 0);
    CC_CHECK_EQ(sd.n_chunks, 1);
    CC_CHECK_EQ(sd.chunks[0].ssrc, 0x5d3a1b2cu);
    CC_CHECK(strcmp(sd.chunks[0].cname, CNAME) == 0);

    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 0);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 0);
}

static void test_rr_sdes(void)
{
    uint8_t b[256];
    size_t n = hex(RR_SDES, b, sizeof b);
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    cc_rtcp_iter_init(&it, b, n);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(p.pt, CC_RTCP_RR);
    CC_CHECK_EQ(p.count, 1);
    CC_CHECK_EQ(p.len, 32);
    cc_rtcp_rr rr;
    CC_CHECK_EQ(cc_rtcp_parse_rr(&p, &rr), 0);
    CC_CHECK_EQ(rr.ssrc, 1);
    CC_CHECK_EQ(rr.n_reports, 1);
    CC_CHECK_EQ(rr.reports[0].ssrc, 0x5d3a1b2cu);
    CC_CHECK_EQ(rr.reports[0].fraction_lost, 25);
    CC_CHECK_EQ(rr.reports[0].cumulative_lost, -2); /* 24-bit signed */
    CC_CHECK_EQ(rr.reports[0].ext_highest_seq, 0x11234);
    CC_CHECK_EQ(rr.reports[0].jitter, 64);
    CC_CHECK_EQ(rr.reports[0].lsr, 0x2a3b4c5du);
    CC_CHECK_EQ(rr.reports[0].dlsr, 0x18000); /* 1.5 s in 1/65536 s */
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    cc_rtcp_sdes sd;
    CC_CHECK_EQ(cc_rtcp_parse_sdes(&p, &sd), 0);
    CC_CHECK_EQ(sd.chunks[0].ssrc, 1);
    CC_CHECK(strcmp(sd.chunks[0].cname, CNAME) == 0);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 0);

    /* RC says 1 block but the packet only holds the SSRC. */
    b[3] = 0x01;
    cc_rtcp_iter_init(&it, b, 8);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(cc_rtcp_parse_rr(&p, &rr), CC_ETRUNC);
}

static void test_feedback(void)
{
    uint8_t b[256];
    size_t n = hex(FEEDBACK, b, sizeof b);
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    cc_rtcp_fb fb;
    cc_rtcp_iter_init(&it, b, n);

    /* Empty RR. */
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    cc_rtcp_rr rr;
    CC_CHECK_EQ(cc_rtcp_parse_rr(&p, &rr), 0);
    CC_CHECK_EQ(rr.n_reports, 0);
    CC_CHECK_EQ(rr.ssrc, 1);

    /* Generic NACK. */
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(p.pt, CC_RTCP_RTPFB);
    CC_CHECK_EQ(p.count, CC_RTPFB_NACK);
    CC_CHECK_EQ(cc_rtcp_parse_fb(&p, &fb), 0);
    CC_CHECK_EQ(fb.fmt, CC_RTPFB_NACK);
    CC_CHECK_EQ(fb.sender_ssrc, 1);
    CC_CHECK_EQ(fb.media_ssrc, 0x5d3a1b2cu);
    CC_CHECK_EQ(fb.fci_len, 8);
    uint16_t lost[64];
    size_t nl = 99;
    CC_CHECK_EQ(cc_rtcp_parse_nack(&fb, lost, 64, &nl), 0);
    CC_CHECK_EQ(nl, 5);
    CC_CHECK_EQ(lost[0], 65535);
    CC_CHECK_EQ(lost[1], 0);
    CC_CHECK_EQ(lost[2], 100);
    CC_CHECK_EQ(lost[3], 101);
    CC_CHECK_EQ(lost[4], 116);
    CC_CHECK_EQ(cc_rtcp_parse_nack(&fb, lost, 3, &nl), 0); /* capped */
    CC_CHECK_EQ(nl, 3);
    CC_CHECK_EQ(lost[2], 100);
    CC_CHECK_EQ(cc_rtcp_parse_nack(&fb, NULL, 0, &nl), 0);
    CC_CHECK_EQ(nl, 0);

    /* PLI. */
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(p.pt, CC_RTCP_PSFB);
    CC_CHECK_EQ(p.count, CC_PSFB_PLI);
    CC_CHECK_EQ(cc_rtcp_parse_fb(&p, &fb), 0);
    CC_CHECK_EQ(fb.fmt, CC_PSFB_PLI);
    CC_CHECK_EQ(fb.sender_ssrc, 1);
    CC_CHECK_EQ(fb.media_ssrc, 0x5d3a1b2cu);
    CC_CHECK_EQ(fb.fci_len, 0);
    CC_CHECK_EQ(cc_rtcp_parse_nack(&fb, lost, 64, &nl), CC_EINVAL);

    /* REMB. */
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(p.pt, CC_RTCP_PSFB);
    CC_CHECK_EQ(cc_rtcp_parse_fb(&p, &fb), 0);
    CC_CHECK_EQ(fb.fmt, CC_PSFB_AFB);
    CC_CHECK_EQ(fb.media_ssrc, 0);
    cc_rtcp_remb remb;
    CC_CHECK_EQ(cc_rtcp_parse_remb(&fb, &remb), 0);
    CC_CHECK_EQ(remb.bitrate_bps, 1500000); /* 187500 << 3 */
    CC_CHECK_EQ(remb.n_ssrcs, 1);
    CC_CHECK_EQ(remb.ssrcs[0], 0x5d3a1b2cu);

    /* transport-cc. */
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(p.pt, CC_RTCP_RTPFB);
    CC_CHECK_EQ(p.count, CC_RTPFB_TWCC);
    CC_CHECK_EQ(p.len, 36);
    CC_CHECK_EQ(cc_rtcp_parse_fb(&p, &fb), 0);
    CC_CHECK_EQ(fb.fci_len, 23); /* the padding octet is not FCI */
    CC_CHECK_EQ(cc_rtcp_parse_remb(&fb, &remb), CC_ENOTFOUND);
    int32_t d[32];
    cc_rtcp_twcc tw = {.deltas = d, .cap = 32};
    CC_CHECK_EQ(cc_rtcp_parse_twcc(&fb, &tw), 0);
    CC_CHECK_EQ(tw.base_seq, 10);
    CC_CHECK_EQ(tw.status_count, 14);
    CC_CHECK_EQ(tw.reference_time, 0x123456);
    CC_CHECK_EQ(tw.fb_pkt_count, 7);
    CC_CHECK_EQ(tw.n, 14);
    const int32_t NR = CC_TWCC_NOT_RECEIVED;
    const int32_t want[14] = {4, 0, 255, NR, -500, 8, NR, 16,
                              NR, NR, 1, NR, 2, NR};
    for (int i = 0; i < 14; i++)
        CC_CHECK_EQ(d[i], want[i]);
    /* Smaller cap: filled up to cap, everything still validated. */
    int32_t d3[3] = {0};
    cc_rtcp_twcc t3 = {.deltas = d3, .cap = 3};
    CC_CHECK_EQ(cc_rtcp_parse_twcc(&fb, &t3), 0);
    CC_CHECK_EQ(t3.n, 3);
    CC_CHECK_EQ(d3[2], 255);
    /* Truncated delta area. */
    cc_rtcp_fb fb2 = fb;
    fb2.fci_len = 22;
    CC_CHECK_EQ(cc_rtcp_parse_twcc(&fb2, &tw), CC_ETRUNC);
    fb2.fci_len = 10; /* only part of the chunk list */
    CC_CHECK_EQ(cc_rtcp_parse_twcc(&fb2, &tw), CC_ETRUNC);
    fb2.fci_len = 7;
    CC_CHECK_EQ(cc_rtcp_parse_twcc(&fb2, &tw), CC_ETRUNC);

    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 0);
}

static void test_twcc_more(void)
{
    /* Negative reference time, a run of not-received, a run of large
     * deltas, and a 2-bit vector with a reserved symbol. */
    uint8_t b[64];
    size_t n = hex("8fcd0007 00000001 00000002"
                   "fff0 0005 fffffe 00"
                   "0002 4003"
                   "8000 7fff ff00 0000",
                   b, sizeof b);
    cc_rtcp_pkt p = {.pt = b[1], .count = 15, .data = b, .len = n};
    cc_rtcp_fb fb;
    CC_CHECK_EQ(cc_rtcp_parse_fb(&p, &fb), 0);
    int32_t d[8];
    cc_rtcp_twcc tw = {.deltas = d, .cap = 8};
    CC_CHECK_EQ(cc_rtcp_parse_twcc(&fb, &tw), 0);
    CC_CHECK_EQ(tw.base_seq, 0xfff0);
    CC_CHECK_EQ(tw.reference_time, -2);
    CC_CHECK_EQ(tw.n, 5);
    CC_CHECK_EQ(d[0], CC_TWCC_NOT_RECEIVED);
    CC_CHECK_EQ(d[1], CC_TWCC_NOT_RECEIVED);
    CC_CHECK_EQ(d[2], -32768);
    CC_CHECK_EQ(d[3], 32767);
    CC_CHECK_EQ(d[4], -256);

    /* Reserved symbol 11 in a 2-bit vector. */
    uint8_t r[64];
    n = hex("8fcd0005 00000001 00000002 00000001 00000000 f0000000", r,
            sizeof r);
    p = (cc_rtcp_pkt){.pt = r[1], .count = 15, .data = r, .len = n};
    CC_CHECK_EQ(cc_rtcp_parse_fb(&p, &fb), 0);
    CC_CHECK_EQ(cc_rtcp_parse_twcc(&fb, &tw), CC_EINVAL);
    /* Wrong FMT. */
    fb.fmt = 1;
    CC_CHECK_EQ(cc_rtcp_parse_twcc(&fb, &tw), CC_EINVAL);
}

static void test_malformed(void)
{
    uint8_t b[256];
    cc_rtcp_iter it;
    cc_rtcp_pkt p;

    /* Length overrun on the second packet: the first is still given, then
     * the error, and the iterator stays on it. */
    size_t n = hex(SR_SDES, b, sizeof b);
    b[31] = 0x07;
    cc_rtcp_iter_init(&it, b, n);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), CC_ETRUNC);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), CC_ETRUNC);

    /* Version 1. */
    n = hex(SR_SDES, b, sizeof b);
    b[0] = 0x40;
    cc_rtcp_iter_init(&it, b, n);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), CC_EINVAL);
    b[0] = 0x80;
    b[28] = 0xc1; /* version 3 on the second */
    cc_rtcp_iter_init(&it, b, n);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), CC_EINVAL);

    /* A chain of zero-length packets (header only) iterates without
     * looping forever, and no parser accepts a header-only packet. */
    n = hex("80c90000 80c80000 81cd0000 80ce0000 81ca0000", b, sizeof b);
    cc_rtcp_iter_init(&it, b, n);
    int count = 0, rc;
    while ((rc = cc_rtcp_next(&it, &p)) == 1) {
        count++;
        CC_CHECK_EQ(p.len, 4);
        cc_rtcp_rr rr;
        cc_rtcp_sr sr;
        cc_rtcp_fb fb;
        cc_rtcp_sdes sd;
        if (p.pt == CC_RTCP_RR)
            CC_CHECK_EQ(cc_rtcp_parse_rr(&p, &rr), CC_ETRUNC);
        if (p.pt == CC_RTCP_SR)
            CC_CHECK_EQ(cc_rtcp_parse_sr(&p, &sr), CC_ETRUNC);
        if (p.pt == CC_RTCP_RTPFB || p.pt == CC_RTCP_PSFB)
            CC_CHECK_EQ(cc_rtcp_parse_fb(&p, &fb), CC_ETRUNC);
        if (p.pt == CC_RTCP_SDES)
            CC_CHECK_EQ(cc_rtcp_parse_sdes(&p, &sd), CC_ETRUNC);
    }
    CC_CHECK_EQ(rc, 0);
    CC_CHECK_EQ(count, 5);

    /* Trailing bytes that are not a whole header. */
    n = hex("80c90001 00000001 80c9", b, sizeof b);
    cc_rtcp_iter_init(&it, b, n);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), CC_ETRUNC);

    /* Empty datagram: nothing to iterate. */
    cc_rtcp_iter_init(&it, b, 0);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 0);
    cc_rtcp_iter_init(&it, NULL, 10);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 0);

    /* Bad padding count on the last packet. */
    n = hex("a0c90001 00000000", b, sizeof b);
    cc_rtcp_iter_init(&it, b, n);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    cc_rtcp_rr rr;
    CC_CHECK_EQ(cc_rtcp_parse_rr(&p, &rr), CC_EINVAL);
    b[7] = 5; /* more than the packet body */
    CC_CHECK_EQ(cc_rtcp_parse_rr(&p, &rr), CC_EINVAL);
    b[7] = 4; /* the SSRC is padding: too short */
    CC_CHECK_EQ(cc_rtcp_parse_rr(&p, &rr), CC_ETRUNC);

    /* SDES: item runs past the end; missing terminator. */
    n = hex("81ca0002 00000001 01050000", b, sizeof b);
    cc_rtcp_iter_init(&it, b, n);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    cc_rtcp_sdes sd;
    CC_CHECK_EQ(cc_rtcp_parse_sdes(&p, &sd), CC_ETRUNC);
    n = hex("81ca0002 00000001 01026162", b, sizeof b);
    cc_rtcp_iter_init(&it, b, n);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(cc_rtcp_parse_sdes(&p, &sd), CC_ETRUNC);
    /* Two chunks announced, one present. */
    n = hex("82ca0002 00000001 00000000", b, sizeof b);
    cc_rtcp_iter_init(&it, b, n);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(cc_rtcp_parse_sdes(&p, &sd), CC_ETRUNC);

    /* BYE announcing more SSRCs than it holds. */
    n = hex("82cb0001 00000001", b, sizeof b);
    cc_rtcp_iter_init(&it, b, n);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    cc_rtcp_bye bye;
    CC_CHECK_EQ(cc_rtcp_parse_bye(&p, &bye), CC_ETRUNC);

    /* Feedback with a ragged FCI. */
    n = hex("81cd0003 00000001 00000002 00010000", b, sizeof b);
    cc_rtcp_fb fb;
    cc_rtcp_pkt q = {.pt = b[1], .count = 1, .data = b, .len = n};
    CC_CHECK_EQ(cc_rtcp_parse_fb(&q, &fb), 0);
    fb.fci_len = 3;
    uint16_t lost[8];
    size_t nl;
    CC_CHECK_EQ(cc_rtcp_parse_nack(&fb, lost, 8, &nl), CC_EINVAL);
    fb.fmt = 4;
    fb.fci_len = 4;
    cc_rtcp_fir_entry fe[2];
    CC_CHECK_EQ(cc_rtcp_parse_fir(&fb, fe, 2, &nl), CC_EINVAL);
    /* REMB claiming more SSRCs than present. */
    n = hex("8fce0004 00000001 00000000 52454d42 02000001 00000005", b,
            sizeof b);
    q = (cc_rtcp_pkt){.pt = b[1], .count = 15, .data = b, .len = n};
    CC_CHECK_EQ(cc_rtcp_parse_fb(&q, &fb), 0);
    cc_rtcp_remb remb;
    CC_CHECK_EQ(cc_rtcp_parse_remb(&fb, &remb), CC_ETRUNC);
    /* Wrong packet type for the parser. */
    q.pt = CC_RTCP_RR;
    CC_CHECK_EQ(cc_rtcp_parse_fb(&q, &fb), CC_EINVAL);
}

static int rb_eq(const cc_rtcp_report_block *a, const cc_rtcp_report_block *b)
{
    return a->ssrc == b->ssrc && a->fraction_lost == b->fraction_lost &&
           a->cumulative_lost == b->cumulative_lost &&
           a->ext_highest_seq == b->ext_highest_seq &&
           a->jitter == b->jitter && a->lsr == b->lsr && a->dlsr == b->dlsr;
}

static void test_sr_rr_roundtrip(void)
{
    uint8_t b[1024];
    cc_rtcp_sr sr = {.ssrc = 0x01020304, .ntp = 0xe81f2a3b80000000ull,
                     .rtp_ts = 90000, .packet_count = 7, .octet_count = 7000,
                     .n_reports = 2};
    sr.reports[0] = (cc_rtcp_report_block){0xaabbccdd, 255, -1, 0x10000,
                                           12, 0x11112222, 65536};
    sr.reports[1] = (cc_rtcp_report_block){5, 0, 0x7fffff, 1, 0, 0, 0};
    int len = cc_rtcp_write_sr(b, sizeof b, &sr);
    CC_CHECK_EQ(len, 28 + 48);
    CC_CHECK_EQ(b[0], 0x82);
    CC_CHECK_EQ(b[1], 200);
    CC_CHECK_EQ(b[3], 18);
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    cc_rtcp_iter_init(&it, b, (size_t)len);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    cc_rtcp_sr o;
    CC_CHECK_EQ(cc_rtcp_parse_sr(&p, &o), 0);
    CC_CHECK_EQ(o.ssrc, sr.ssrc);
    CC_CHECK(o.ntp == sr.ntp);
    CC_CHECK_EQ(o.rtp_ts, sr.rtp_ts);
    CC_CHECK_EQ(o.packet_count, 7);
    CC_CHECK_EQ(o.octet_count, 7000);
    CC_CHECK_EQ(o.n_reports, 2);
    CC_CHECK(rb_eq(&o.reports[0], &sr.reports[0]));
    CC_CHECK(rb_eq(&o.reports[1], &sr.reports[1]));
    CC_CHECK_EQ(cc_rtcp_write_sr(b, (size_t)len - 1, &sr), CC_ENOSPC);
    sr.n_reports = 32;
    CC_CHECK_EQ(cc_rtcp_write_sr(b, sizeof b, &sr), CC_EINVAL);
    sr.n_reports = -1;
    CC_CHECK_EQ(cc_rtcp_write_sr(b, sizeof b, &sr), CC_EINVAL);

    /* RR with the maximum 31 blocks; cumulative lost clamps to 24 bits. */
    cc_rtcp_rr rr = {.ssrc = 9, .n_reports = 31};
    for (int i = 0; i < 31; i++)
        rr.reports[i] = (cc_rtcp_report_block){(uint32_t)i, (uint8_t)i,
                                               -i * 1000, (uint32_t)i << 16,
                                               (uint32_t)i, 0, (uint32_t)i};
    rr.reports[30].cumulative_lost = -0x1000000; /* clamps to -2^23 */
    len = cc_rtcp_write_rr(b, sizeof b, &rr);
    CC_CHECK_EQ(len, 8 + 31 * 24);
    cc_rtcp_iter_init(&it, b, (size_t)len);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(p.count, 31);
    cc_rtcp_rr ro;
    CC_CHECK_EQ(cc_rtcp_parse_rr(&p, &ro), 0);
    CC_CHECK_EQ(ro.ssrc, 9);
    CC_CHECK_EQ(ro.n_reports, 31);
    for (int i = 0; i < 30; i++)
        CC_CHECK(rb_eq(&ro.reports[i], &rr.reports[i]));
    CC_CHECK_EQ(ro.reports[30].cumulative_lost, -0x800000);
    rr.n_reports = 0;
    CC_CHECK_EQ(cc_rtcp_write_rr(b, 7, &rr), CC_ENOSPC);
    CC_CHECK_EQ(cc_rtcp_write_rr(b, 8, &rr), 8);
    uint8_t want[8];
    cc_test_hex("80c90001 00000009", want, 8);
    CC_CHECK_MEM(b, want, 8);
}

static void test_sdes_bye_roundtrip(void)
{
    uint8_t b[512];
    /* Every CNAME length: NUL-terminated, padded to 32 bits. */
    char name[300];
    for (int l = 0; l <= 255; l++) {
        for (int i = 0; i < l; i++)
            name[i] = (char)('a' + i % 26);
        name[l] = 0;
        int len = cc_rtcp_write_sdes_cname(b, sizeof b, 0x1234u + (uint32_t)l,
                                           name);
        CC_CHECK(len > 0 && len % 4 == 0);
        CC_CHECK(len >= 4 + 4 + 2 + l + 1);
        CC_CHECK(len <= 4 + 4 + 2 + l + 4);
        CC_CHECK_EQ(b[10 + l], 0);
        cc_rtcp_pkt p;
        cc_rtcp_iter it;
        cc_rtcp_iter_init(&it, b, (size_t)len);
        CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
        CC_CHECK_EQ(p.len, (size_t)len);
        cc_rtcp_sdes sd;
        CC_CHECK_EQ(cc_rtcp_parse_sdes(&p, &sd), 0);
        CC_CHECK_EQ(sd.n_chunks, 1);
        CC_CHECK_EQ(sd.chunks[0].ssrc, 0x1234u + (uint32_t)l);
        CC_CHECK(strcmp(sd.chunks[0].cname, name) == 0);
        CC_CHECK_EQ(cc_rtcp_write_sdes_cname(b, (size_t)len - 1, 1, name),
                    CC_ENOSPC);
    }
    /* The Chrome CNAME reproduces the captured bytes exactly. */
    uint8_t want[64];
    size_t wn = hex("81ca0006 5d3a1b2c 0110" CNAME_HEX "0000", want, 64);
    CC_CHECK_EQ(cc_rtcp_write_sdes_cname(b, sizeof b, 0x5d3a1b2c, CNAME),
                (int)wn);
    CC_CHECK_MEM(b, want, wn);
    memset(name, 'x', 256);
    name[256] = 0;
    CC_CHECK_EQ(cc_rtcp_write_sdes_cname(b, sizeof b, 1, name), CC_EINVAL);
    CC_CHECK_EQ(cc_rtcp_write_sdes_cname(b, sizeof b, 1, NULL), CC_EINVAL);

    /* A chunk without a CNAME item (only NAME) gives "". */
    uint8_t s[32];
    size_t sn = hex("81ca0003 00000007 02036a6f65 000000", s, sizeof s);
    cc_rtcp_pkt p = {.pt = 202, .count = 1, .data = s, .len = sn};
    cc_rtcp_sdes sd;
    CC_CHECK_EQ(cc_rtcp_parse_sdes(&p, &sd), 0);
    CC_CHECK_EQ(sd.chunks[0].ssrc, 7);
    CC_CHECK_EQ(sd.chunks[0].cname[0], 0);

    uint32_t ss[3] = {1, 0xffffffffu, 42};
    int len = cc_rtcp_write_bye(b, sizeof b, ss, 3);
    CC_CHECK_EQ(len, 16);
    cc_rtcp_iter it;
    cc_rtcp_iter_init(&it, b, (size_t)len);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(p.pt, CC_RTCP_BYE);
    cc_rtcp_bye bye;
    CC_CHECK_EQ(cc_rtcp_parse_bye(&p, &bye), 0);
    CC_CHECK_EQ(bye.n_ssrcs, 3);
    CC_CHECK_EQ(bye.ssrcs[1], 0xffffffffu);
    CC_CHECK_EQ(bye.ssrcs[2], 42);
    CC_CHECK_EQ(cc_rtcp_write_bye(b, 15, ss, 3), CC_ENOSPC);
    CC_CHECK_EQ(cc_rtcp_write_bye(b, sizeof b, ss, 32), CC_EINVAL);
    CC_CHECK_EQ(cc_rtcp_write_bye(b, sizeof b, NULL, 0), 4);
    /* BYE with a reason string after the SSRC. */
    sn = hex("81cb0003 00000005 04627965 21000000", s, sizeof s);
    p = (cc_rtcp_pkt){.pt = 203, .count = 1, .data = s, .len = sn};
    CC_CHECK_EQ(cc_rtcp_parse_bye(&p, &bye), 0);
    CC_CHECK_EQ(bye.n_ssrcs, 1);
    CC_CHECK_EQ(bye.ssrcs[0], 5);
}

static int nack_roundtrip(const uint16_t *seqs, size_t n, uint16_t *out,
                          size_t cap, size_t *nout, uint8_t *buf,
                          size_t bufcap)
{
    int len = cc_rtcp_write_nack(buf, bufcap, 11, 22, seqs, n);
    if (len < 0)
        return len;
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    cc_rtcp_fb fb;
    cc_rtcp_iter_init(&it, buf, (size_t)len);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(cc_rtcp_parse_fb(&p, &fb), 0);
    CC_CHECK_EQ(fb.sender_ssrc, 11);
    CC_CHECK_EQ(fb.media_ssrc, 22);
    CC_CHECK_EQ(cc_rtcp_parse_nack(&fb, out, cap, nout), 0);
    return len;
}

static void test_nack_packing(void)
{
    uint8_t b[16384];
    static uint16_t out[70000];
    static uint16_t big[65536];
    size_t no;

    const uint16_t s1[] = {100, 101, 116, 117, 65535, 0};
    int len = nack_roundtrip(s1, 6, out, 64, &no, b, sizeof b);
    CC_CHECK_EQ(len, 12 + 3 * 4);
    uint8_t want[24];
    cc_test_hex("81cd0005 0000000b 00000016 ffff0001 00648001 00750000",
                want, sizeof want);
    CC_CHECK_MEM(b, want, 24);
    CC_CHECK_EQ(no, 6);
    const uint16_t e1[] = {65535, 0, 100, 101, 116, 117};
    for (size_t i = 0; i < 6 && i < no; i++)
        CC_CHECK_EQ(out[i], e1[i]);

    /* Unsorted with duplicates, a full 17-packet window. */
    const uint16_t s2[] = {16, 5, 0, 5, 1, 16, 2, 3, 4, 6, 7, 8, 9, 10, 11,
                           12, 13, 14, 15, 0};
    len = nack_roundtrip(s2, sizeof s2 / 2, out, 64, &no, b, sizeof b);
    CC_CHECK_EQ(len, 16);
    CC_CHECK_EQ(b[12], 0);
    CC_CHECK_EQ(b[13], 0);
    CC_CHECK_EQ(b[14], 0xff);
    CC_CHECK_EQ(b[15], 0xff);
    CC_CHECK_EQ(no, 17);
    for (size_t i = 0; i < no; i++)
        CC_CHECK_EQ(out[i], i);

    /* A window that crosses the wrap: 65530..65535, 0..4. */
    uint16_t s3[11];
    for (int i = 0; i < 11; i++)
        s3[i] = (uint16_t)(65530 + i);
    len = nack_roundtrip(s3, 11, out, 64, &no, b, sizeof b);
    CC_CHECK_EQ(len, 16);
    CC_CHECK_EQ(no, 11);
    for (size_t i = 0; i < no; i++)
        CC_CHECK_EQ(out[i], (uint16_t)(65530 + i));

    /* Without a wrap the order is plain numeric. */
    const uint16_t s4[] = {40000, 3, 20000};
    len = nack_roundtrip(s4, 3, out, 64, &no, b, sizeof b);
    CC_CHECK_EQ(no, 3);
    CC_CHECK_EQ(out[0], 3);
    CC_CHECK_EQ(out[1], 20000);
    CC_CHECK_EQ(out[2], 40000);

    /* Every sequence number at once. */
    for (uint32_t i = 0; i < 65536; i++)
        big[i] = (uint16_t)(i * 7919u);
    len = nack_roundtrip(big, 65536, out, 70000, &no, b, sizeof b);
    CC_CHECK_EQ(len, 12 + 4 * 3856);
    CC_CHECK_EQ(no, 65536);
    for (uint32_t i = 0; i < no; i++)
        CC_CHECK_EQ(out[i], i);

    CC_CHECK_EQ(cc_rtcp_write_nack(b, 15, 1, 2, s1, 6), CC_ENOSPC);
    CC_CHECK_EQ(cc_rtcp_write_nack(b, 23, 1, 2, s1, 6), CC_ENOSPC);
    CC_CHECK_EQ(cc_rtcp_write_nack(b, sizeof b, 1, 2, s1, 0), CC_EINVAL);
    CC_CHECK_EQ(cc_rtcp_write_nack(b, sizeof b, 1, 2, NULL, 3), CC_EINVAL);
}

static void test_pli_fir_remb_roundtrip(void)
{
    uint8_t b[256];
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    cc_rtcp_fb fb;

    CC_CHECK_EQ(cc_rtcp_write_pli(b, 11, 1, 2), CC_ENOSPC);
    int len = cc_rtcp_write_pli(b, sizeof b, 0x11111111u, 0x22222222u);
    CC_CHECK_EQ(len, 12);
    uint8_t want[20];
    cc_test_hex("81ce0002 11111111 22222222", want, sizeof want);
    CC_CHECK_MEM(b, want, 12);
    cc_rtcp_iter_init(&it, b, (size_t)len);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(cc_rtcp_parse_fb(&p, &fb), 0);
    CC_CHECK_EQ(fb.fmt, CC_PSFB_PLI);
    CC_CHECK_EQ(fb.sender_ssrc, 0x11111111u);
    CC_CHECK_EQ(fb.media_ssrc, 0x22222222u);
    CC_CHECK_EQ(fb.fci_len, 0);
    /* Forwarding a subscriber's PLI to the publisher. */
    cc_rtcp_fb_set_sender(b, 0xabcdef01u);
    cc_rtcp_fb_set_media(b, (size_t)len, 0x10203040u);
    CC_CHECK_EQ(cc_rtcp_parse_fb(&p, &fb), 0);
    CC_CHECK_EQ(fb.sender_ssrc, 0xabcdef01u);
    CC_CHECK_EQ(fb.media_ssrc, 0x10203040u);

    CC_CHECK_EQ(cc_rtcp_write_fir(b, 19, 1, 2, 3), CC_ENOSPC);
    len = cc_rtcp_write_fir(b, sizeof b, 0x11111111u, 0x22222222u, 9);
    CC_CHECK_EQ(len, 20);
    cc_test_hex("84ce0004 11111111 00000000 22222222 09000000", want,
                sizeof want);
    CC_CHECK_MEM(b, want, 20);
    cc_rtcp_iter_init(&it, b, (size_t)len);
    CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
    CC_CHECK_EQ(cc_rtcp_parse_fb(&p, &fb), 0);
    CC_CHECK_EQ(fb.fmt, CC_PSFB_FIR);
    cc_rtcp_fir_entry fe[4];
    size_t nf;
    CC_CHECK_EQ(cc_rtcp_parse_fir(&fb, fe, 4, &nf), 0);
    CC_CHECK_EQ(nf, 1);
    CC_CHECK_EQ(fe[0].ssrc, 0x22222222u);
    CC_CHECK_EQ(fe[0].seq_nr, 9);
    cc_rtcp_fb_set_media(b, (size_t)len, 0x33333333u);
    CC_CHECK_EQ(cc_rtcp_parse_fb(&p, &fb), 0);
    CC_CHECK_EQ(fb.media_ssrc, 0); /* stays 0 (RFC 5104 4.3.1.2) */
    CC_CHECK_EQ(cc_rtcp_parse_fir(&fb, fe, 4, &nf), 0);
    CC_CHECK_EQ(fe[0].ssrc, 0x33333333u);
    CC_CHECK_EQ(fe[0].seq_nr, 9);
    /* A FIR with two entries: both rewritten; cap honoured. */
    uint8_t f2[28];
    size_t f2n = hex("84ce0006 00000001 00000000 0000000a 01000000"
                     "0000000b 02000000", f2, sizeof f2);
    cc_rtcp_fb_set_media(f2, f2n, 0x77u);
    p = (cc_rtcp_pkt){.pt = 206, .count = 4, .data = f2, .len = f2n};
    CC_CHECK_EQ(cc_rtcp_parse_fb(&p, &fb), 0);
    CC_CHECK_EQ(cc_rtcp_parse_fir(&fb, fe, 4, &nf), 0);
    CC_CHECK_EQ(nf, 2);
    CC_CHECK_EQ(fe[0].ssrc, 0x77u);
    CC_CHECK_EQ(fe[1].ssrc, 0x77u);
    CC_CHECK_EQ(fe[1].seq_nr, 2);
    CC_CHECK_EQ(cc_rtcp_parse_fir(&fb, fe, 1, &nf), 0);
    CC_CHECK_EQ(nf, 1);

    /* REMB across the exponent range. */
    const uint64_t rates[] = {0, 1, 262143, 262144, 300000, 1500000,
                              2500000000ull, UINT64_MAX};
    uint32_t ss[20];
    for (int i = 0; i < 20; i++)
        ss[i] = 0x1000u + (uint32_t)i;
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
        int nss = (int)(r % 3) + (r == 7 ? 17 : 0);
        len = cc_rtcp_write_remb(b, sizeof b, 0x99, rates[r], ss, nss);
        CC_CHECK_EQ(len, 20 + 4 * nss);
        cc_rtcp_iter_init(&it, b, (size_t)len);
        CC_CHECK_EQ(cc_rtcp_next(&it, &p), 1);
        CC_CHECK_EQ(cc_rtcp_parse_fb(&p, &fb), 0);
        CC_CHECK_EQ(fb.media_ssrc, 0);
        CC_CHECK_EQ(fb.sender_ssrc, 0x99);
        cc_rtcp_remb rm;
        CC_CHECK_EQ(cc_rtcp_parse_remb(&fb, &rm), 0);
        /* Rounded down to 18 significant bits, never above. */
        CC_CHECK(rm.bitrate_bps <= rates[r]);
        CC_CHECK(rates[r] - rm.bitrate_bps <= rates[r] / 131072);
        if (rates[r] < 262144)
            CC_CHECK(rm.bitrate_bps == rates[r]);
        CC_CHECK_EQ(rm.n_ssrcs, nss > 16 ? 16 : nss);
        for (int i = 0; i < rm.n_ssrcs; i++)
            CC_CHECK_EQ(rm.ssrcs[i], ss[i]);
    }
    CC_CHECK_EQ(cc_rtcp_write_remb(b, 19, 1, 1, ss, 0), CC_ENOSPC);
    CC_CHECK_EQ(cc_rtcp_write_remb(b, sizeof b, 1, 1, ss, 256), CC_EINVAL);
    /* The captured 1.5 Mbps REMB is reproduced byte for byte. */
    uint8_t rw[24];
    cc_test_hex("8fce0005 00000001 00000000 52454d42 010edc6c 5d3a1b2c", rw,
                sizeof rw);
    uint32_t one = 0x5d3a1b2cu;
    CC_CHECK_EQ(cc_rtcp_write_remb(b, sizeof b, 1, 1500000, &one, 1), 24);
    CC_CHECK_MEM(b, rw, 24);
    /* Exponent 63 saturates instead of overflowing. */
    rw[17] = 0xff;
    p = (cc_rtcp_pkt){.pt = 206, .count = 15, .data = rw, .len = 24};
    CC_CHECK_EQ(cc_rtcp_parse_fb(&p, &fb), 0);
    cc_rtcp_remb rm;
    CC_CHECK_EQ(cc_rtcp_parse_remb(&fb, &rm), 0);
    CC_CHECK(rm.bitrate_bps == UINT64_MAX);
}

static void test_is_rtcp(void)
{
    uint8_t b[12] = {0x80};
    for (int pt = 0; pt < 128; pt++) {
        for (int m = 0; m < 2; m++) {
            b[1] = (uint8_t)(m << 7 | pt);
            int want = pt >= 64 && pt <= 95;
            CC_CHECK_EQ(cc_rtcp_is_rtcp(b, sizeof b), want);
        }
    }
    /* The RTCP types themselves. */
    for (int t = 200; t <= 207; t++) {
        b[1] = (uint8_t)t;
        CC_CHECK_EQ(cc_rtcp_is_rtcp(b, sizeof b), 1);
    }
    b[1] = 200;
    CC_CHECK_EQ(cc_rtcp_is_rtcp(b, 1), 0);
    CC_CHECK_EQ(cc_rtcp_is_rtcp(NULL, 12), 0);
    b[1] = 96 | 0x80; /* VP8 with marker */
    CC_CHECK_EQ(cc_rtcp_is_rtcp(b, sizeof b), 0);
    b[1] = 111; /* Opus */
    CC_CHECK_EQ(cc_rtcp_is_rtcp(b, sizeof b), 0);
}

/* Compounds Chromium 156 really sent (tests/vectors/chromium-rtcp.txt,
 * captured decrypted from the echo endpoint): every one parses completely,
 * SR/RR come first (RFC 3550 section 6.1), SDES carries the sender's CNAME,
 * and the SR's NTP time is a plausible 2026 wall clock. */
static void test_chromium_captured(void)
{
    char path[4096];
    const char *root = getenv("CC_SOURCE_ROOT");
    snprintf(path, sizeof path, "%s/tests/vectors/chromium-rtcp.txt", root ? root : ".");
    size_t flen = 0;
    char *text = cc_test_read_file(path, &flen);
    CC_CHECK(text != NULL);
    if (!text)
        return;
    int compounds = 0, srs = 0, rrs = 0, sdes = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || line[0] == 0)
            continue;
        uint8_t pkt[1500];
        size_t n = cc_test_hex(line, pkt, sizeof pkt);
        CC_CHECK(n >= 8 && n <= sizeof pkt);
        cc_rtcp_iter it;
        cc_rtcp_pkt p;
        int rc, first = 1;
        uint32_t sender = 0;
        cc_rtcp_iter_init(&it, pkt, n);
        while ((rc = cc_rtcp_next(&it, &p)) == 1) {
            if (first)
                CC_CHECK(p.pt == CC_RTCP_SR || p.pt == CC_RTCP_RR);
            first = 0;
            if (p.pt == CC_RTCP_SR) {
                cc_rtcp_sr sr;
                CC_CHECK_EQ(cc_rtcp_parse_sr(&p, &sr), 0);
                sender = sr.ssrc;
                /* NTP seconds of 2026: between 2025 and 2040 */
                uint32_t secs = (uint32_t)(sr.ntp >> 32);
                CC_CHECK(secs > 3944678400u && secs < 4102444800u);
                CC_CHECK(sr.packet_count > 0);
                srs++;
            } else if (p.pt == CC_RTCP_RR) {
                cc_rtcp_rr rr;
                CC_CHECK_EQ(cc_rtcp_parse_rr(&p, &rr), 0);
                CC_CHECK_EQ(rr.n_reports, 1);
                rrs++;
            } else if (p.pt == CC_RTCP_SDES) {
                cc_rtcp_sdes sd;
                CC_CHECK_EQ(cc_rtcp_parse_sdes(&p, &sd), 0);
                CC_CHECK_EQ(sd.n_chunks, 1);
                CC_CHECK_EQ(sd.chunks[0].ssrc, sender);
                CC_CHECK_EQ(strlen(sd.chunks[0].cname), 16);
                sdes++;
            }
        }
        CC_CHECK_EQ(rc, 0);
        compounds++;
    }
    CC_CHECK(compounds >= 8);
    CC_CHECK(srs >= 4 && rrs >= 4 && sdes == srs);
    free(text);
}

int main(void)
{
    CC_RUN(test_sr_sdes);
    CC_RUN(test_rr_sdes);
    CC_RUN(test_feedback);
    CC_RUN(test_twcc_more);
    CC_RUN(test_malformed);
    CC_RUN(test_sr_rr_roundtrip);
    CC_RUN(test_sdes_bye_roundtrip);
    CC_RUN(test_nack_packing);
    CC_RUN(test_pli_fir_remb_roundtrip);
    CC_RUN(test_is_rtcp);
    CC_RUN(test_chromium_captured);
    CC_TEST_DONE();
}
