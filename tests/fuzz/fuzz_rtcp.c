/* libFuzzer target for src/rtp/rtcp.c: iterate any bytes as a compound RTCP
 * packet, run the matching parser on each packet (SR, RR, SDES, BYE, NACK,
 * PLI, FIR, REMB, transport-cc with a bounded delta array), and where the
 * parsed data can be rebuilt, check that builder -> parser round-trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"
#include "classcast/rtcp.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[16384];

static int one_packet(const uint8_t *buf, size_t len, cc_rtcp_pkt *p)
{
    cc_rtcp_iter it;
    cc_rtcp_pkt end;
    cc_rtcp_iter_init(&it, buf, len);
    CHECK(cc_rtcp_next(&it, p) == 1);
    CHECK(p->len == len && p->data == buf);
    CHECK(cc_rtcp_next(&it, &end) == 0);
    return 1;
}

static int rb_eq(const cc_rtcp_report_block *a, const cc_rtcp_report_block *b)
{
    return a->ssrc == b->ssrc && a->fraction_lost == b->fraction_lost &&
           a->cumulative_lost == b->cumulative_lost &&
           a->ext_highest_seq == b->ext_highest_seq &&
           a->jitter == b->jitter && a->lsr == b->lsr && a->dlsr == b->dlsr;
}

static void do_sr(const cc_rtcp_pkt *p)
{
    static cc_rtcp_sr sr, back;
    if (cc_rtcp_parse_sr(p, &sr) != 0)
        return;
    CHECK(sr.n_reports >= 0 && sr.n_reports <= CC_RTCP_MAX_REPORTS);
    int len = cc_rtcp_write_sr(out, sizeof out, &sr);
    CHECK(len > 0);
    cc_rtcp_pkt q;
    one_packet(out, (size_t)len, &q);
    CHECK(cc_rtcp_parse_sr(&q, &back) == 0);
    CHECK(back.ssrc == sr.ssrc && back.ntp == sr.ntp &&
          back.rtp_ts == sr.rtp_ts && back.packet_count == sr.packet_count &&
          back.octet_count == sr.octet_count &&
          back.n_reports == sr.n_reports);
    for (int i = 0; i < sr.n_reports; i++)
        CHECK(rb_eq(&back.reports[i], &sr.reports[i]));
}

static void do_rr(const cc_rtcp_pkt *p)
{
    static cc_rtcp_rr rr, back;
    if (cc_rtcp_parse_rr(p, &rr) != 0)
        return;
    int len = cc_rtcp_write_rr(out, sizeof out, &rr);
    CHECK(len > 0);
    cc_rtcp_pkt q;
    one_packet(out, (size_t)len, &q);
    CHECK(cc_rtcp_parse_rr(&q, &back) == 0);
    CHECK(back.ssrc == rr.ssrc && back.n_reports == rr.n_reports);
    for (int i = 0; i < rr.n_reports; i++)
        CHECK(rb_eq(&back.reports[i], &rr.reports[i]));
}

static void do_sdes(const cc_rtcp_pkt *p)
{
    static cc_rtcp_sdes sd, back;
    if (cc_rtcp_parse_sdes(p, &sd) != 0)
        return;
    CHECK(sd.n_chunks >= 0 && sd.n_chunks <= CC_RTCP_MAX_REPORTS);
    for (int i = 0; i < sd.n_chunks; i++) {
        const char *cn = sd.chunks[i].cname;
        size_t cl = strnlen(cn, sizeof sd.chunks[i].cname);
        CHECK(cl < sizeof sd.chunks[i].cname);
        int len = cc_rtcp_write_sdes_cname(out, sizeof out,
                                           sd.chunks[i].ssrc, cn);
        CHECK(len > 0 && len % 4 == 0);
        cc_rtcp_pkt q;
        one_packet(out, (size_t)len, &q);
        CHECK(cc_rtcp_parse_sdes(&q, &back) == 0);
        CHECK(back.n_chunks == 1 && back.chunks[0].ssrc == sd.chunks[i].ssrc);
        CHECK(strcmp(back.chunks[0].cname, cn) == 0);
    }
}

static void do_bye(const cc_rtcp_pkt *p)
{
    static cc_rtcp_bye bye, back;
    if (cc_rtcp_parse_bye(p, &bye) != 0)
        return;
    int len = cc_rtcp_write_bye(out, sizeof out, bye.ssrcs, bye.n_ssrcs);
    CHECK(len > 0);
    cc_rtcp_pkt q;
    one_packet(out, (size_t)len, &q);
    CHECK(cc_rtcp_parse_bye(&q, &back) == 0);
    CHECK(back.n_ssrcs == bye.n_ssrcs);
    for (int i = 0; i < bye.n_ssrcs; i++)
        CHECK(back.ssrcs[i] == bye.ssrcs[i]);
}

static void do_nack(const cc_rtcp_fb *fb)
{
    static uint16_t lost[512], back[600];
    static uint8_t seen[65536 / 8], seen2[65536 / 8];
    size_t n = 0;
    if (cc_rtcp_parse_nack(fb, lost, 512, &n) != 0)
        return;
    CHECK(n <= 512);
    if (n == 0)
        return;
    int len = cc_rtcp_write_nack(out, sizeof out, fb->sender_ssrc,
                                 fb->media_ssrc, lost, n);
    CHECK(len > 0);
    cc_rtcp_pkt q;
    cc_rtcp_fb fb2;
    one_packet(out, (size_t)len, &q);
    CHECK(cc_rtcp_parse_fb(&q, &fb2) == 0);
    CHECK(fb2.sender_ssrc == fb->sender_ssrc &&
          fb2.media_ssrc == fb->media_ssrc);
    size_t n2 = 0;
    CHECK(cc_rtcp_parse_nack(&fb2, back, 600, &n2) == 0);
    /* Same set of sequence numbers, each once. */
    memset(seen, 0, sizeof seen);
    memset(seen2, 0, sizeof seen2);
    for (size_t i = 0; i < n; i++)
        seen[lost[i] >> 3] |= (uint8_t)(1u << (lost[i] & 7));
    for (size_t i = 0; i < n2; i++) {
        CHECK(!(seen2[back[i] >> 3] & (1u << (back[i] & 7))));
        seen2[back[i] >> 3] |= (uint8_t)(1u << (back[i] & 7));
    }
    CHECK(memcmp(seen, seen2, sizeof seen) == 0);
}

static void do_fir(const cc_rtcp_fb *fb)
{
    cc_rtcp_fir_entry fe[8];
    size_t n = 0;
    if (cc_rtcp_parse_fir(fb, fe, 8, &n) != 0 || n == 0)
        return;
    CHECK(n <= 8);
    int len = cc_rtcp_write_fir(out, sizeof out, fb->sender_ssrc, fe[0].ssrc,
                                fe[0].seq_nr);
    CHECK(len == 20);
    cc_rtcp_pkt q;
    cc_rtcp_fb fb2;
    one_packet(out, (size_t)len, &q);
    CHECK(cc_rtcp_parse_fb(&q, &fb2) == 0);
    cc_rtcp_fir_entry fe2[2];
    size_t n2 = 0;
    CHECK(cc_rtcp_parse_fir(&fb2, fe2, 2, &n2) == 0 && n2 == 1);
    CHECK(fe2[0].ssrc == fe[0].ssrc && fe2[0].seq_nr == fe[0].seq_nr);
}

static void do_remb(const cc_rtcp_fb *fb)
{
    cc_rtcp_remb rm, back;
    if (cc_rtcp_parse_remb(fb, &rm) != 0)
        return;
    CHECK(rm.n_ssrcs >= 0 && rm.n_ssrcs <= 16);
    int len = cc_rtcp_write_remb(out, sizeof out, fb->sender_ssrc,
                                 rm.bitrate_bps, rm.ssrcs, rm.n_ssrcs);
    CHECK(len > 0);
    cc_rtcp_pkt q;
    cc_rtcp_fb fb2;
    one_packet(out, (size_t)len, &q);
    CHECK(cc_rtcp_parse_fb(&q, &fb2) == 0);
    CHECK(cc_rtcp_parse_remb(&fb2, &back) == 0);
    /* Parsed values have at most 18 significant bits, so they re-encode
     * exactly, except the saturated value. */
    if (rm.bitrate_bps != UINT64_MAX)
        CHECK(back.bitrate_bps == rm.bitrate_bps);
    CHECK(back.n_ssrcs == rm.n_ssrcs);
    for (int i = 0; i < rm.n_ssrcs; i++)
        CHECK(back.ssrcs[i] == rm.ssrcs[i]);
}

static void do_twcc(const cc_rtcp_fb *fb, size_t cap)
{
    static int32_t deltas[300];
    cc_rtcp_twcc tw = {.deltas = deltas, .cap = cap};
    if (cc_rtcp_parse_twcc(fb, &tw) != 0)
        return;
    CHECK(tw.n <= cap && tw.n <= tw.status_count);
    for (size_t i = 0; i < tw.n; i++)
        CHECK(deltas[i] == CC_TWCC_NOT_RECEIVED ||
              (deltas[i] >= -32768 && deltas[i] <= 32767));
    CHECK(tw.reference_time >= -0x800000 && tw.reference_time <= 0x7fffff);
}

static void do_fb(const cc_rtcp_pkt *p, size_t twcc_cap)
{
    cc_rtcp_fb fb;
    if (cc_rtcp_parse_fb(p, &fb) != 0)
        return;
    CHECK(fb.fci == p->data + 12 && 12 + fb.fci_len <= p->len);
    if (p->pt == CC_RTCP_RTPFB) {
        if (fb.fmt == CC_RTPFB_NACK)
            do_nack(&fb);
        else if (fb.fmt == CC_RTPFB_TWCC)
            do_twcc(&fb, twcc_cap);
    } else {
        if (fb.fmt == CC_PSFB_FIR)
            do_fir(&fb);
        else if (fb.fmt == CC_PSFB_AFB)
            do_remb(&fb);
    }
    /* Rewriting SSRCs in place on a copy keeps the packet parseable. */
    static uint8_t copy[65536 * 4 + 4];
    if (p->len <= sizeof copy) {
        memcpy(copy, p->data, p->len);
        cc_rtcp_fb_set_sender(copy, 0x01020304u);
        cc_rtcp_fb_set_media(copy, p->len, 0x05060708u);
        cc_rtcp_pkt q = *p;
        q.data = copy;
        cc_rtcp_fb fb2;
        CHECK(cc_rtcp_parse_fb(&q, &fb2) == 0);
        CHECK(fb2.sender_ssrc == 0x01020304u);
        if (fb.fmt == CC_PSFB_FIR && p->pt == CC_RTCP_PSFB) {
            cc_rtcp_fir_entry fe[4];
            size_t n = 0;
            if (cc_rtcp_parse_fir(&fb2, fe, 4, &n) == 0)
                for (size_t i = 0; i < n; i++)
                    CHECK(fe[i].ssrc == 0x05060708u);
        } else {
            CHECK(fb2.media_ssrc == 0x05060708u);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)cc_rtcp_is_rtcp(data, size);
    size_t twcc_cap = size ? data[0] % 300 : 0;
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    cc_rtcp_iter_init(&it, data, size);
    int rc, guard = 0;
    while ((rc = cc_rtcp_next(&it, &p)) == 1) {
        CHECK(p.data >= data && p.len >= 4 && p.data + p.len <= data + size);
        CHECK(++guard <= (int)(size / 4));
        switch (p.pt) {
        case CC_RTCP_SR: do_sr(&p); break;
        case CC_RTCP_RR: do_rr(&p); break;
        case CC_RTCP_SDES: do_sdes(&p); break;
        case CC_RTCP_BYE: do_bye(&p); break;
        case CC_RTCP_RTPFB:
        case CC_RTCP_PSFB: do_fb(&p, twcc_cap); break;
        default: break;
        }
    }
    CHECK(rc == 0 || rc == CC_ETRUNC || rc == CC_EINVAL);
    return 0;
}
