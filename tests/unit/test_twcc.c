/* Tests for src/rtp/twcc.c and the transport-cc parts of src/rtp/rtcp.c
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01): the sequence
 * number extension, the feedback builder against the draft's chunk
 * examples and feedback captured from browsers, build -> parse round trips,
 * and the receiver (wrap-around, reordering, duplicates, losses, late
 * packets, bounded memory, split packets). */
#include "cc_test.h"

#include "classcast/err.h"
#include "classcast/rand.h"
#include "classcast/rtcp.h"
#include "classcast/rtp.h"
#include "classcast/twcc.h"

#define NR CC_TWCC_NOT_RECEIVED

/* One RTCP packet in b[0..n) -> feedback view. */
static int as_fb(const uint8_t *b, size_t n, cc_rtcp_fb *fb)
{
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    cc_rtcp_iter_init(&it, b, n);
    if (cc_rtcp_next(&it, &p) != 1 || p.len != n)
        return -1;
    if (p.pt != CC_RTCP_RTPFB || p.count != CC_RTPFB_TWCC)
        return -1;
    return cc_rtcp_parse_fb(&p, fb);
}

/* ---- header extension ---- */

static void test_ext(void)
{
    uint8_t b[64];
    size_t n = cc_test_hex("8060 0001 00000002 cafebabe 6869", b, sizeof b);
    size_t nl;
    CC_CHECK_EQ(cc_twcc_ext_put(b, n, sizeof b, 5, 0xabcd, &nl), 0);
    CC_CHECK_EQ(nl, n + 8);
    cc_rtp_hdr h;
    uint16_t seq = 0;
    CC_CHECK_EQ(cc_rtp_parse(b, nl, &h), 0);
    CC_CHECK_EQ(cc_twcc_ext_get(&h, 5, &seq), 0);
    CC_CHECK_EQ(seq, 0xabcd);
    CC_CHECK_EQ(cc_twcc_ext_get(&h, 4, &seq), CC_ENOTFOUND);
    /* Rewritten in place (the SFU renumbers per subscriber transport). */
    n = nl;
    CC_CHECK_EQ(cc_twcc_ext_put(b, n, sizeof b, 5, 7, &nl), 0);
    CC_CHECK_EQ(nl, n);
    CC_CHECK_EQ(cc_rtp_parse(b, nl, &h), 0);
    CC_CHECK_EQ(cc_twcc_ext_get(&h, 5, &seq), 0);
    CC_CHECK_EQ(seq, 7);
    /* Chromium's packets carry it as a one-byte element of length 2 among
     * others: the PKT_FULL shape of test_rtp (transport-cc id 3 = 0x0102). */
    n = cc_test_hex("90e0 1234 deadbeef 11223344 bede 0003"
                    "11 6131 22 123456 31 0102 0000 90e0ffab",
                    b, sizeof b);
    CC_CHECK_EQ(cc_rtp_parse(b, n, &h), 0);
    CC_CHECK_EQ(cc_twcc_ext_get(&h, 3, &seq), 0);
    CC_CHECK_EQ(seq, 0x0102);
    /* Not 16 bits: refused. */
    CC_CHECK_EQ(cc_twcc_ext_get(&h, 2, &seq), CC_EINVAL);
    CC_CHECK_EQ(cc_twcc_ext_get(NULL, 3, &seq), CC_EINVAL);
}

/* ---- the draft's packet chunk examples (sections 3.1.3 and 3.1.4) ---- */

static void test_draft_chunks(void)
{
    uint8_t b[64];
    cc_rtcp_fb fb;
    cc_twcc_feedback f;
    cc_twcc_pkt out[256];

    /* 3.1.3 example 1: run length chunk 0x00DD, "a run of the packet not
     * received status of length 221". */
    size_t n = cc_test_hex("8fcd0005 00000001 00000002"
                           "0010 00dd 000000 00 00dd 0000",
                           b, sizeof b);
    CC_CHECK_EQ(as_fb(b, n, &fb), 0);
    CC_CHECK_EQ(cc_twcc_parse(&fb, &f, out, 256), 0);
    CC_CHECK_EQ(f.status_count, 221);
    CC_CHECK_EQ(f.n, 221);
    CC_CHECK_EQ(f.received, 0);
    CC_CHECK_EQ(out[0].seq, 16);
    CC_CHECK_EQ(out[220].seq, 16 + 220);
    CC_CHECK_EQ(out[220].received, 0);
    /* ... and the builder writes the same chunk for such a run. */
    int32_t d[221];
    for (int i = 0; i < 221; i++)
        d[i] = NR;
    cc_rtcp_twcc tw = {.base_seq = 16, .deltas = d, .n = 221};
    uint8_t o[64];
    int len = cc_rtcp_write_twcc(o, sizeof o, 1, 2, &tw);
    CC_CHECK_EQ(len, 24);
    CC_CHECK(o[20] == 0x00 && o[21] == 0xdd);

    /* 3.1.4 example 1: one-bit status vector 0x9F1C: 1x not received, 5x
     * received, 3x not received, 3x received, 2x not received. */
    const uint8_t sym[14] = {0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0};
    int32_t d14[14];
    for (int i = 0; i < 14; i++)
        d14[i] = sym[i] ? 4 * i : NR;
    tw = (cc_rtcp_twcc){.base_seq = 100, .deltas = d14, .n = 14};
    len = cc_rtcp_write_twcc(o, sizeof o, 1, 2, &tw);
    CC_CHECK_EQ(len, 32); /* 20 + chunk 2 + 8 deltas = 30, padded */
    CC_CHECK(o[20] == 0x9f && o[21] == 0x1c);
    CC_CHECK_EQ(o[0], 0xaf); /* P bit: two bytes of padding */
    CC_CHECK_EQ(o[31], 2);
    CC_CHECK_EQ(as_fb(o, (size_t)len, &fb), 0);
    CC_CHECK_EQ(cc_twcc_parse(&fb, &f, out, 256), 0);
    CC_CHECK_EQ(f.n, 14);
    CC_CHECK_EQ(f.received, 8);
    for (int i = 0; i < 14; i++)
        CC_CHECK_EQ(out[i].received, sym[i]);

    /* 3.1.3 example 2 (0x6018) and 3.1.4 example 2 (0xCD50) use the
     * symbol 11, which section 3.1.1 of -01 reserves ("received, w/o
     * timestamp" in an earlier version): refused as malformed. */
    n = cc_test_hex("8fcd0005 00000001 00000002 0000 0018 000000 00"
                    "6018 0000",
                    b, sizeof b);
    CC_CHECK_EQ(as_fb(b, n, &fb), 0);
    CC_CHECK_EQ(cc_twcc_parse(&fb, &f, out, 256), CC_EINVAL);
    n = cc_test_hex("8fcd0005 00000001 00000002 0000 0007 000000 00"
                    "cd50 0000",
                    b, sizeof b);
    CC_CHECK_EQ(as_fb(b, n, &fb), 0);
    CC_CHECK_EQ(cc_twcc_parse(&fb, &f, out, 256), CC_EINVAL);
}

/* ---- captured browser feedback ---- */

/* Transport-cc feedback captured from browsers, as published with the test
 * vectors of pion/rtcp (bytes only). Sender SSRC 0xFA17FA17 is the one
 * libwebrtc uses for a receive-only stream. Each is parsed, and those
 * written by libwebrtc are rebuilt byte for byte from the parsed deltas. */
typedef struct capture {
    const char *hex;
    uint16_t base;
    uint16_t count;
    uint32_t ref;
    uint8_t fbc;
    int32_t deltas_us[16]; /* -1: not received */
    int rebuild;           /* our chunks match the capture's */
} capture;

static const capture CAPTURES[] = {
    {"afcd0005 fa17fa17 43032fa0 00990001 3de80217 20019401", 153, 1,
     4057090, 23, {37000}, 1},
    {"afcd0007 fa17fa17 193dd8bb 00040007 10636e01 20074c24 24100c0c"
     "10000003",
     4, 7, 1074030, 1, {19000, 9000, 9000, 4000, 3000, 3000, 4000}, 1},
    {"afcd0006 fa17fa17 193dd8bb 0001000e 10636d00 ba00100c 0c100002", 1,
     14, 1074029, 0,
     {4000, 3000, 3000, -1, 4000, -1, -1, -1, -1, -1, -1, -1, -1, -1}, 1},
    {"afcd0007 fa17fa17 43032fa0 9c14000c 75842000 bec0c13f 3b3f5390"
     "3b000003",
     39956, 12, 7701536, 0,
     {48250, 15750, 14750, 15750, 20750, -1, 36000, 14750, -1, -1, -1, -1},
     1},
    /* Another browser: a two-bit vector then a run-length chunk of 48
     * whose run goes past the status count (9), and a large delta. */
    {"afcd0007 9b74f61f 9371dcbc 853c0009 63f916b3 d5520030 9baa6aaa"
     "7b010901",
     34108, 9, 6551830, 179,
     {38750, 42500, 26500, 42500, 30750, -1, 66250, -1, -1}, 0},
};

static void test_captures(void)
{
    for (size_t c = 0; c < sizeof CAPTURES / sizeof CAPTURES[0]; c++) {
        const capture *cp = &CAPTURES[c];
        uint8_t b[128];
        size_t n = cc_test_hex(cp->hex, b, sizeof b);
        cc_rtcp_fb fb;
        cc_twcc_feedback f;
        cc_twcc_pkt out[64];
        CC_CHECK_EQ(as_fb(b, n, &fb), 0);
        CC_CHECK_EQ(cc_twcc_parse(&fb, &f, out, 64), 0);
        CC_CHECK_EQ(f.base_seq, cp->base);
        CC_CHECK_EQ(f.status_count, cp->count);
        CC_CHECK_EQ(f.n, cp->count);
        CC_CHECK_EQ(f.reference_time, cp->ref);
        CC_CHECK_EQ(f.fb_pkt_count, cp->fbc);
        CC_CHECK_EQ(f.sender_ssrc, fb.sender_ssrc);
        int64_t t = (int64_t)cp->ref * 64000;
        int32_t d[64];
        for (int i = 0; i < cp->count; i++) {
            CC_CHECK_EQ(out[i].seq, (uint16_t)(cp->base + i));
            int got = cp->deltas_us[i] >= 0;
            CC_CHECK_EQ(out[i].received, got);
            if (got) {
                t += cp->deltas_us[i];
                CC_CHECK_EQ(out[i].delta_us, cp->deltas_us[i]);
                CC_CHECK_EQ(out[i].arrival_us, t);
                d[i] = cp->deltas_us[i] / 250;
            } else {
                d[i] = NR;
            }
        }
        /* The older whole-packet parser agrees. */
        int32_t d2[64];
        cc_rtcp_twcc tw2 = {.deltas = d2, .cap = 64};
        CC_CHECK_EQ(cc_rtcp_parse_twcc(&fb, &tw2), 0);
        CC_CHECK_EQ(tw2.n, cp->count);
        for (int i = 0; i < cp->count; i++)
            CC_CHECK_EQ(d2[i], d[i]);

        cc_rtcp_twcc tw = {.base_seq = cp->base,
                           .reference_time = (int32_t)cp->ref,
                           .fb_pkt_count = cp->fbc,
                           .deltas = d,
                           .n = cp->count};
        uint8_t o[128];
        int len = cc_rtcp_write_twcc(o, sizeof o, fb.sender_ssrc,
                                     fb.media_ssrc, &tw);
        CC_CHECK(len > 0);
        if (cp->rebuild) {
            CC_CHECK_EQ((size_t)len, n);
            CC_CHECK_MEM(o, b, n);
        }
        /* Either way it parses back to the same packets. */
        cc_twcc_pkt back[64];
        cc_twcc_feedback f2;
        CC_CHECK_EQ(as_fb(o, (size_t)len, &fb), 0);
        CC_CHECK_EQ(cc_twcc_parse(&fb, &f2, back, 64), 0);
        CC_CHECK_EQ(f2.n, f.n);
        for (size_t i = 0; i < f.n; i++) {
            CC_CHECK_EQ(back[i].received, out[i].received);
            CC_CHECK_EQ(back[i].arrival_us, out[i].arrival_us);
        }
        /* A smaller cap: the first entries only, the whole still checked. */
        CC_CHECK_EQ(as_fb(b, n, &fb), 0);
        CC_CHECK_EQ(cc_twcc_parse(&fb, &f2, back, 1), 0);
        CC_CHECK_EQ(f2.n, 1);
        CC_CHECK_EQ(back[0].arrival_us, out[0].arrival_us);
        /* Every truncation is refused, never read past. */
        for (size_t cut = 12; cut + 1 < fb.fci_len + 12; cut++) {
            cc_rtcp_fb t2 = fb;
            t2.fci_len = cut - 12;
            int rc = cc_twcc_parse(&t2, &f2, back, 64);
            if (rc == 0) {
                /* Only the trailing padding or an over-long last chunk
                 * may go without changing the meaning. */
                CC_CHECK_EQ(f2.n, f.n);
            } else {
                CC_CHECK(rc == CC_ETRUNC || rc == CC_EINVAL);
            }
        }
    }
}

/* ---- build -> parse round trips ---- */

static void test_round_trip(void)
{
    cc_prng r;
    cc_prng_seed(&r, 14);
    static int32_t d[3000];
    static cc_twcc_pkt out[3000];
    static uint8_t b[16384];
    for (int iter = 0; iter < 300; iter++) {
        size_t n = 1 + cc_prng_below(&r, iter < 200 ? 40 : 3000);
        int style = (int)cc_prng_below(&r, 4);
        for (size_t i = 0; i < n; i++) {
            uint32_t x = cc_prng_below(&r, 100);
            if (style == 0)
                d[i] = (int32_t)cc_prng_below(&r, 256); /* all small */
            else if (style == 1)
                d[i] = x < 50 ? NR : (int32_t)cc_prng_below(&r, 256);
            else if (style == 2)
                /* runs: long stretches of one kind */
                d[i] = (i / 20) % 3 == 0   ? NR
                       : (i / 20) % 3 == 1 ? 7
                                           : -1000;
            else
                d[i] = x < 30   ? NR
                       : x < 80 ? (int32_t)cc_prng_below(&r, 256)
                                : (int32_t)cc_prng_below(&r, 65536) - 32768;
        }
        uint16_t base = (uint16_t)cc_prng_next(&r);
        int32_t ref = (int32_t)cc_prng_below(&r, 1u << 24);
        cc_rtcp_twcc tw = {.base_seq = base,
                           .reference_time = ref,
                           .fb_pkt_count = (uint8_t)iter,
                           .deltas = d,
                           .n = n};
        int len = cc_rtcp_write_twcc(b, sizeof b, 0x1234, 0x5678, &tw);
        CC_CHECK(len > 0 && len % 4 == 0);
        if (len <= 0)
            continue;
        /* The size is what the draft says: 20 + chunks + deltas + pad. */
        size_t dbytes = 0;
        for (size_t i = 0; i < n; i++)
            if (d[i] != NR)
                dbytes += (d[i] >= 0 && d[i] <= 255) ? 1 : 2;
        CC_CHECK((size_t)len >= 20 + 2 + dbytes);
        CC_CHECK((size_t)len <= 20 + 2 * ((n + 6) / 7) + dbytes + 3);
        cc_rtcp_fb fb;
        cc_twcc_feedback f;
        CC_CHECK_EQ(as_fb(b, (size_t)len, &fb), 0);
        CC_CHECK_EQ(cc_twcc_parse(&fb, &f, out, 3000), 0);
        CC_CHECK_EQ(f.n, n);
        CC_CHECK_EQ(f.base_seq, base);
        CC_CHECK_EQ(f.reference_time, (uint32_t)ref);
        CC_CHECK_EQ(f.fb_pkt_count, (uint8_t)iter);
        int64_t t = (int64_t)ref * 64000;
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
            if (out[i].seq != (uint16_t)(base + i))
                bad++;
            if (d[i] == NR) {
                bad += out[i].received != 0;
            } else {
                t += (int64_t)d[i] * 250;
                bad += !out[i].received || out[i].arrival_us != t ||
                       out[i].delta_us != d[i] * 250;
            }
        }
        CC_CHECK_EQ(bad, 0);
    }
    /* Out of range deltas and counts are refused. */
    int32_t x[2] = {40000, 0};
    cc_rtcp_twcc tw = {.deltas = x, .n = 2};
    CC_CHECK_EQ(cc_rtcp_write_twcc(b, sizeof b, 1, 2, &tw), CC_EINVAL);
    x[0] = -32769;
    CC_CHECK_EQ(cc_rtcp_write_twcc(b, sizeof b, 1, 2, &tw), CC_EINVAL);
    x[0] = 1;
    CC_CHECK_EQ(cc_rtcp_write_twcc(b, 23, 1, 2, &tw), CC_ENOSPC);
    CC_CHECK_EQ(cc_rtcp_write_twcc(b, 24, 1, 2, &tw), 24);
    tw.n = 70000;
    CC_CHECK_EQ(cc_rtcp_write_twcc(b, sizeof b, 1, 2, &tw), CC_EINVAL);
}

/* ---- receiver ---- */

typedef struct got {
    int reported; /* times reported (received or lost) */
    int received;
    int64_t arrival;
} got;

/* Poll everything due at `now` and fold it into g[] (indexed by seq). */
static int drain(cc_twcc_recv *rx, cc_time_us now, got *g, size_t cap,
                 int *packets)
{
    int total = 0;
    for (;;) {
        uint8_t b[1200];
        int len = cc_twcc_recv_poll(rx, now, b, cap);
        CC_CHECK(len >= 0);
        if (len <= 0)
            return total;
        CC_CHECK((size_t)len <= cap);
        (*packets)++;
        cc_rtcp_fb fb;
        cc_twcc_feedback f;
        static cc_twcc_pkt out[4096];
        CC_CHECK_EQ(as_fb(b, (size_t)len, &fb), 0);
        CC_CHECK_EQ(cc_twcc_parse(&fb, &f, out, 4096), 0);
        CC_CHECK_EQ(f.n, f.status_count);
        CC_CHECK_EQ(fb.sender_ssrc, 0xaaaa);
        CC_CHECK_EQ(fb.media_ssrc, 0xbbbb);
        /* Each packet ends on a received one (as libwebrtc's do). */
        CC_CHECK(f.n > 0);
        CC_CHECK(out[f.n - 1].received || f.received == 0);
        for (size_t i = 0; i < f.n; i++) {
            got *e = &g[out[i].seq];
            e->reported++;
            e->received += out[i].received;
            if (out[i].received)
                e->arrival = out[i].arrival_us;
            total++;
        }
    }
}

static void test_recv_basic(void)
{
    static cc_twcc_recv rx;
    static got g[65536];
    memset(g, 0, sizeof g);
    cc_twcc_recv_config cfg = {.sender_ssrc = 0xaaaa, .media_ssrc = 0xbbbb};
    cc_time_us t0 = 5 * CC_USEC_PER_SEC + 123;
    cc_twcc_recv_init(&rx, &cfg, t0);
    CC_CHECK_EQ(cc_twcc_recv_deadline(&rx), CC_TIME_NEVER);
    uint8_t b[1200];
    CC_CHECK_EQ(cc_twcc_recv_poll(&rx, t0, b, sizeof b), 0);
    CC_CHECK_EQ(cc_twcc_recv_poll(&rx, t0, b, 63), CC_ENOSPC);

    /* 10 packets around the 16-bit wrap, 1.3 ms apart; 65534 reordered
     * after 65535; 2 lost; one duplicate. */
    const uint16_t seqs[] = {65530, 65531, 65532, 65533, 65535, 65534,
                             0,     2,     3,     3,     4};
    int64_t at[65536];
    cc_time_us t = t0;
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        t += 1300;
        cc_twcc_recv_on_packet(&rx, seqs[i], t);
        if (!(i == 9)) /* the duplicate keeps the first arrival */
            at[seqs[i]] = t;
    }
    CC_CHECK_EQ(rx.stats.duplicates, 1);
    CC_CHECK_EQ(rx.stats.packets, 10);
    /* Not due before the interval (50 ms after init). */
    CC_CHECK_EQ(cc_twcc_recv_deadline(&rx), t0 + CC_TWCC_DEFAULT_INTERVAL);
    int pk = 0;
    CC_CHECK_EQ(drain(&rx, t0 + CC_TWCC_DEFAULT_INTERVAL - 1, g, 1200, &pk),
                0);
    CC_CHECK_EQ(drain(&rx, t0 + CC_TWCC_DEFAULT_INTERVAL, g, 1200, &pk), 11);
    CC_CHECK_EQ(pk, 1);
    const uint16_t all[] = {65530, 65531, 65532, 65533, 65534, 65535,
                            0,     1,     2,     3,     4};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        got *e = &g[all[i]];
        CC_CHECK_EQ(e->reported, 1);
        if (all[i] == 1) {
            CC_CHECK_EQ(e->received, 0);
            continue;
        }
        CC_CHECK_EQ(e->received, 1);
        /* Arrival on the 250 us grid, within 250 us below the truth (the
         * receiver quantises arrivals, not differences: no drift). */
        int64_t err = at[all[i]] - e->arrival;
        CC_CHECK(err >= 0 && err < 250);
    }
    CC_CHECK_EQ(cc_twcc_recv_deadline(&rx), CC_TIME_NEVER);

    /* A packet that comes after its number was reported lost is late:
     * counted, not reported again. */
    t = t0 + 60000;
    cc_twcc_recv_on_packet(&rx, 1, t);
    CC_CHECK_EQ(rx.stats.late, 1);
    CC_CHECK_EQ(cc_twcc_recv_deadline(&rx), CC_TIME_NEVER);

    /* Feedback count increments per packet; max_pending sends early. */
    cc_twcc_recv_config c2 = cfg;
    c2.max_pending = 10;
    cc_twcc_recv_init(&rx, &c2, t0);
    for (int i = 0; i < 9; i++)
        cc_twcc_recv_on_packet(&rx, (uint16_t)(100 + i), t0 + i * 100);
    CC_CHECK_EQ(cc_twcc_recv_poll(&rx, t0 + 1000, b, sizeof b), 0);
    cc_twcc_recv_on_packet(&rx, 109, t0 + 1000);
    int len = cc_twcc_recv_poll(&rx, t0 + 1000, b, sizeof b);
    CC_CHECK(len > 0);
    CC_CHECK_EQ(b[19], 0); /* fb pkt count of the first */
    cc_twcc_recv_on_packet(&rx, 110, t0 + 70000);
    len = cc_twcc_recv_poll(&rx, t0 + 70000, b, sizeof b);
    CC_CHECK(len > 0);
    CC_CHECK_EQ(b[19], 1);
    CC_CHECK_EQ(b[12], 0);
    CC_CHECK_EQ(b[13], 110); /* base sequence number continues */
    CC_CHECK_EQ(rx.stats.feedback, 2);
}

/* Reference time near the 24-bit wrap (2^24 x 64 ms, ~12.4 days of
 * uptime): the feedback carries it modulo 2^24. */
static void test_recv_reference_wrap(void)
{
    static cc_twcc_recv rx;
    cc_twcc_recv_config cfg = {.sender_ssrc = 0xaaaa, .media_ssrc = 0xbbbb};
    const int64_t wrap = (int64_t)64000 << 24;
    cc_time_us t0 = wrap - 50000; /* 50 ms before the wrap */
    cc_twcc_recv_init(&rx, &cfg, t0);
    cc_twcc_recv_on_packet(&rx, 1, t0 + 1000);
    uint8_t b[1200];
    int len = cc_twcc_recv_poll(&rx, t0 + 60000, b, sizeof b);
    CC_CHECK(len > 0);
    cc_rtcp_fb fb;
    cc_twcc_feedback f;
    cc_twcc_pkt out[8];
    CC_CHECK_EQ(as_fb(b, (size_t)len, &fb), 0);
    CC_CHECK_EQ(cc_twcc_parse(&fb, &f, out, 8), 0);
    CC_CHECK_EQ(f.reference_time, 0xFFFFFF);
    CC_CHECK_EQ(out[0].arrival_us, (t0 + 1000) / 250 * 250);
    cc_twcc_recv_on_packet(&rx, 2, wrap + 5000);
    len = cc_twcc_recv_poll(&rx, wrap + 60000, b, sizeof b);
    CC_CHECK(len > 0);
    CC_CHECK_EQ(as_fb(b, (size_t)len, &fb), 0);
    CC_CHECK_EQ(cc_twcc_parse(&fb, &f, out, 8), 0);
    CC_CHECK_EQ(f.reference_time, 0);
    CC_CHECK_EQ(out[0].arrival_us, 5000);
}

/* Many packets, a small buffer: the feedback is split over several
 * packets, each status is reported exactly once; a gap of more than
 * 8.19 s between arrivals (beyond a large delta) also splits. */
static void test_recv_split(void)
{
    static cc_twcc_recv rx;
    static got g[65536];
    memset(g, 0, sizeof g);
    cc_twcc_recv_config cfg = {.sender_ssrc = 0xaaaa, .media_ssrc = 0xbbbb,
                               .max_pending = 1000};
    cc_time_us t0 = 1000000;
    cc_twcc_recv_init(&rx, &cfg, t0);
    cc_prng r;
    cc_prng_seed(&r, 3);
    int64_t at[65536];
    cc_time_us t = t0;
    int sent = 0;
    for (int i = 0; i < 600; i++) {
        t += 100 + cc_prng_below(&r, 20000); /* small and large deltas */
        uint16_t s = (uint16_t)(40000 + i);
        if (cc_prng_below(&r, 10) == 0)
            continue; /* lost */
        cc_twcc_recv_on_packet(&rx, s, t);
        at[s] = t;
        sent++;
    }
    int pk = 0;
    int total = drain(&rx, t + CC_TWCC_DEFAULT_INTERVAL, g, 64, &pk);
    CC_CHECK(pk > 10); /* 64-byte packets */
    int bad = 0, received = 0;
    for (int i = 0; i < 600; i++) {
        got *e = &g[(uint16_t)(40000 + i)];
        if (i < 599 && e->reported != 1)
            bad++;
        if (e->received) {
            received++;
            int64_t err = at[(uint16_t)(40000 + i)] - e->arrival;
            if (err < 0 || err >= 250)
                bad++;
        }
    }
    CC_CHECK_EQ(bad, 0);
    CC_CHECK_EQ(received, sent);
    CC_CHECK(total >= 590);

    /* 10 s between two arrivals: two feedback packets. */
    cc_twcc_recv_init(&rx, &cfg, t0);
    memset(g, 0, sizeof g);
    cc_twcc_recv_on_packet(&rx, 7, t0 + 1000);
    cc_twcc_recv_on_packet(&rx, 8, t0 + 10 * CC_USEC_PER_SEC);
    pk = 0;
    CC_CHECK_EQ(drain(&rx, t0 + 11 * CC_USEC_PER_SEC, g, 1200, &pk), 2);
    CC_CHECK_EQ(pk, 2);
    CC_CHECK_EQ(g[7].received, 1);
    CC_CHECK_EQ(g[8].received, 1);
    CC_CHECK_EQ(t0 + 10 * CC_USEC_PER_SEC - g[8].arrival, 0);
    /* Not polled for 9 s (a stalled worker) while 21 comes 8.5 s after
     * 22: +9 s then -8.5 s between neighbours, each beyond a large delta,
     * so three packets. */
    cc_twcc_recv_init(&rx, &cfg, t0);
    memset(g, 0, sizeof g);
    cc_twcc_recv_on_packet(&rx, 20, t0);
    cc_twcc_recv_on_packet(&rx, 22, t0 + 500000);
    cc_twcc_recv_on_packet(&rx, 21, t0 + 9 * CC_USEC_PER_SEC);
    pk = 0;
    CC_CHECK_EQ(drain(&rx, t0 + 10 * CC_USEC_PER_SEC, g, 1200, &pk), 3);
    CC_CHECK_EQ(pk, 3);
    CC_CHECK_EQ(g[20].arrival, t0);
    CC_CHECK_EQ(g[21].arrival, t0 + 9 * CC_USEC_PER_SEC);
    CC_CHECK_EQ(g[22].arrival, t0 + 500000);
}

/* A sender that jumps far ahead cannot make the receiver hold more than
 * CC_TWCC_RECV_WINDOW statuses; the oldest are dropped and counted. */
static void test_recv_bounded(void)
{
    static cc_twcc_recv rx;
    static got g[65536];
    memset(g, 0, sizeof g);
    cc_twcc_recv_config cfg = {.sender_ssrc = 0xaaaa, .media_ssrc = 0xbbbb};
    cc_time_us t0 = 1000000;
    cc_twcc_recv_init(&rx, &cfg, t0);
    cc_twcc_recv_on_packet(&rx, 0, t0);
    cc_twcc_recv_on_packet(&rx, 1, t0 + 10);
    cc_twcc_recv_on_packet(&rx, 30000, t0 + 20); /* +29999 */
    CC_CHECK_EQ(rx.stats.overflow, 2);
    CC_CHECK(rx.max - rx.start < CC_TWCC_RECV_WINDOW);
    int pk = 0;
    drain(&rx, t0 + 100000, g, 1200, &pk);
    CC_CHECK_EQ(g[0].reported, 0);
    CC_CHECK_EQ(g[30000].received, 1);
    CC_CHECK_EQ(g[30000 - CC_TWCC_RECV_WINDOW + 1].reported, 1);
    /* 32768 back or more is "older" by the unwrap: late, ignored. */
    cc_twcc_recv_on_packet(&rx, (uint16_t)(30000 + 32768), t0 + 200000);
    CC_CHECK_EQ(rx.stats.late, 1);
}

int main(void)
{
    CC_RUN(test_ext);
    CC_RUN(test_draft_chunks);
    CC_RUN(test_captures);
    CC_RUN(test_round_trip);
    CC_RUN(test_recv_basic);
    CC_RUN(test_recv_reference_wrap);
    CC_RUN(test_recv_split);
    CC_RUN(test_recv_bounded);
    CC_TEST_DONE();
}
