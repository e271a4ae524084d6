/* classcast: RTCP compound packets, parse and build.
 *  - RFC 3550 section 6: common header (6.4.1), SR (6.4.1), RR (6.4.2),
 *    SDES (6.5), BYE (6.6), compound rules (6.1, appendix A.2).
 *  - RFC 4585 section 6: feedback header (6.1), generic NACK (6.2.1),
 *    PLI (6.3.1).
 *  - RFC 5104 section 4.3.1: FIR.
 *  - draft-alvestrand-rmcat-remb-03 section 2.2: REMB.
 *  - draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1:
 *    transport-wide congestion control feedback.
 *  - RFC 5761 section 4: telling RTP from RTCP on a muxed port.
 * Views over the caller's bytes; every read is bounds-checked; nothing
 * allocates or asserts on input. */
#include "classcast/rtcp.h"

#include <string.h>

#include "classcast/err.h"

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | (uint32_t)p[2];
}

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void wr24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#define RTCP_HDR 4
#define REPORT_BLOCK 24
#define FB_HDR 12

/* ---- compound iteration (RFC 3550 section 6.4.1, appendix A.2) ---- */

void cc_rtcp_iter_init(cc_rtcp_iter *it, const uint8_t *buf, size_t len)
{
    it->buf = buf;
    it->len = buf ? len : 0;
    it->off = 0;
}

int cc_rtcp_next(cc_rtcp_iter *it, cc_rtcp_pkt *p)
{
    if (it->off >= it->len)
        return 0;
    size_t rem = it->len - it->off;
    const uint8_t *d = it->buf + it->off;
    /* On error the iterator does not advance, so every later call reports
     * the same error: the caller must stop there. */
    if (rem < RTCP_HDR)
        return CC_ETRUNC;
    if ((d[0] >> 6) != 2)
        return CC_EINVAL;
    /* Length: in 32-bit words minus one, header included (6.4.1), so the
     * smallest packet is 4 bytes and the iteration always advances. */
    size_t plen = ((size_t)rd16(d + 2) + 1) * 4;
    if (plen > rem)
        return CC_ETRUNC;
    p->pt = d[1];
    p->count = d[0] & 0x1f;
    p->data = d;
    p->len = plen;
    it->off += plen;
    return 1;
}

/* Bytes of a packet before its padding. RFC 3550 section 6.4.1: with the P
 * bit set, the last octet counts the padding octets, itself included. */
static int content_len(const cc_rtcp_pkt *p, size_t *out)
{
    if (!p || !p->data || p->len < RTCP_HDR)
        return CC_ETRUNC;
    size_t n = p->len;
    if (p->data[0] & 0x20) {
        uint8_t pad = p->data[n - 1];
        if (pad == 0 || pad > n - RTCP_HDR)
            return CC_EINVAL;
        n -= pad;
    }
    *out = n;
    return 0;
}

/* ---- report blocks (RFC 3550 section 6.4.1) ---- */

static void read_report(const uint8_t *b, cc_rtcp_report_block *r)
{
    r->ssrc = rd32(b);
    r->fraction_lost = b[4];
    /* Cumulative number of packets lost: 24-bit signed. */
    uint32_t cl = rd24(b + 5);
    r->cumulative_lost = (cl & 0x800000u) ? (int32_t)cl - 0x1000000
                                          : (int32_t)cl;
    r->ext_highest_seq = rd32(b + 8);
    r->jitter = rd32(b + 12);
    r->lsr = rd32(b + 16);
    r->dlsr = rd32(b + 20);
}

static void write_report(uint8_t *b, const cc_rtcp_report_block *r)
{
    wr32(b, r->ssrc);
    b[4] = r->fraction_lost;
    /* Clamp to the 24-bit signed range rather than wrap. */
    int32_t cl = r->cumulative_lost;
    if (cl > 0x7FFFFF)
        cl = 0x7FFFFF;
    if (cl < -0x800000)
        cl = -0x800000;
    wr24(b + 5, (uint32_t)cl & 0xFFFFFFu);
    wr32(b + 8, r->ext_highest_seq);
    wr32(b + 12, r->jitter);
    wr32(b + 16, r->lsr);
    wr32(b + 20, r->dlsr);
}

int cc_rtcp_parse_sr(const cc_rtcp_pkt *p, cc_rtcp_sr *out)
{
    size_t n;
    int rc = content_len(p, &n);
    if (rc < 0)
        return rc;
    if (!out || p->pt != CC_RTCP_SR)
        return CC_EINVAL;
    /* 6.4.1: header, SSRC of sender, 20 bytes of sender info. */
    if (n < 28)
        return CC_ETRUNC;
    int rcount = p->data[0] & 0x1f;
    if ((size_t)28 + (size_t)rcount * REPORT_BLOCK > n)
        return CC_ETRUNC;
    const uint8_t *d = p->data;
    out->ssrc = rd32(d + 4);
    out->ntp = (uint64_t)rd32(d + 8) << 32 | rd32(d + 12);
    out->rtp_ts = rd32(d + 16);
    out->packet_count = rd32(d + 20);
    out->octet_count = rd32(d + 24);
    out->n_reports = rcount;
    for (int i = 0; i < rcount; i++)
        read_report(d + 28 + (size_t)i * REPORT_BLOCK, &out->reports[i]);
    /* Anything after the report blocks is a profile-specific extension
     * (6.4.1): ignored. */
    return 0;
}

int cc_rtcp_parse_rr(const cc_rtcp_pkt *p, cc_rtcp_rr *out)
{
    size_t n;
    int rc = content_len(p, &n);
    if (rc < 0)
        return rc;
    if (!out || p->pt != CC_RTCP_RR)
        return CC_EINVAL;
    /* 6.4.2: header, SSRC of packet sender, report blocks. */
    if (n < 8)
        return CC_ETRUNC;
    int rcount = p->data[0] & 0x1f;
    if ((size_t)8 + (size_t)rcount * REPORT_BLOCK > n)
        return CC_ETRUNC;
    out->ssrc = rd32(p->data + 4);
    out->n_reports = rcount;
    for (int i = 0; i < rcount; i++)
        read_report(p->data + 8 + (size_t)i * REPORT_BLOCK, &out->reports[i]);
    return 0;
}

/* ---- SDES (RFC 3550 section 6.5) ---- */

#define SDES_END 0
#define SDES_CNAME 1

int cc_rtcp_parse_sdes(const cc_rtcp_pkt *p, cc_rtcp_sdes *out)
{
    size_t n;
    int rc = content_len(p, &n);
    if (rc < 0)
        return rc;
    if (!out || p->pt != CC_RTCP_SDES)
        return CC_EINVAL;
    const uint8_t *d = p->data;
    int sc = d[0] & 0x1f;
    size_t off = RTCP_HDR;
    out->n_chunks = 0;
    for (int c = 0; c < sc; c++) {
        /* Each chunk starts on a 32-bit boundary with an SSRC/CSRC. */
        if (n - off < 4)
            return CC_ETRUNC;
        cc_rtcp_sdes_chunk *ch = &out->chunks[c];
        ch->ssrc = rd32(d + off);
        ch->cname[0] = '\0';
        off += 4;
        int have_cname = 0;
        for (;;) {
            if (off >= n)
                return CC_ETRUNC; /* item list must end with a null octet */
            uint8_t type = d[off];
            if (type == SDES_END) {
                /* 6.5: one or more null octets end the list and pad to the
                 * next 32-bit boundary (relative to the packet start, which
                 * is itself word aligned). */
                off = (off + 4) & ~(size_t)3;
                if (off > n)
                    return CC_ETRUNC;
                break;
            }
            if (n - off < 2)
                return CC_ETRUNC;
            size_t ilen = d[off + 1];
            off += 2;
            if (ilen > n - off)
                return CC_ETRUNC;
            if (type == SDES_CNAME && !have_cname) {
                memcpy(ch->cname, d + off, ilen); /* ilen <= 255 */
                ch->cname[ilen] = '\0';
                have_cname = 1;
            }
            off += ilen;
        }
        out->n_chunks = c + 1;
    }
    return 0;
}

/* ---- BYE (RFC 3550 section 6.6) ---- */

int cc_rtcp_parse_bye(const cc_rtcp_pkt *p, cc_rtcp_bye *out)
{
    size_t n;
    int rc = content_len(p, &n);
    if (rc < 0)
        return rc;
    if (!out || p->pt != CC_RTCP_BYE)
        return CC_EINVAL;
    int sc = p->data[0] & 0x1f;
    if ((size_t)RTCP_HDR + (size_t)sc * 4 > n)
        return CC_ETRUNC;
    out->n_ssrcs = sc;
    for (int i = 0; i < sc; i++)
        out->ssrcs[i] = rd32(p->data + RTCP_HDR + (size_t)i * 4);
    /* An optional length-prefixed reason may follow; it is not needed. */
    return 0;
}

/* ---- feedback (RFC 4585 section 6.1) ---- */

int cc_rtcp_parse_fb(const cc_rtcp_pkt *p, cc_rtcp_fb *out)
{
    size_t n;
    int rc = content_len(p, &n);
    if (rc < 0)
        return rc;
    if (!out || (p->pt != CC_RTCP_RTPFB && p->pt != CC_RTCP_PSFB))
        return CC_EINVAL;
    if (n < FB_HDR)
        return CC_ETRUNC;
    out->fmt = p->data[0] & 0x1f;
    out->sender_ssrc = rd32(p->data + 4);
    out->media_ssrc = rd32(p->data + 8);
    out->fci = p->data + FB_HDR;
    out->fci_len = n - FB_HDR;
    return 0;
}

/* RFC 4585 section 6.2.1: each FCI entry is PID(16) BLP(16); bit i of BLP
 * (LSB = 0) marks PID + i + 1 as lost too. */
int cc_rtcp_parse_nack(const cc_rtcp_fb *fb, uint16_t *lost, size_t cap,
                       size_t *n)
{
    if (!fb || !n || (cap && !lost))
        return CC_EINVAL;
    *n = 0;
    if (fb->fmt != CC_RTPFB_NACK || (fb->fci_len && !fb->fci))
        return CC_EINVAL;
    if (fb->fci_len == 0 || fb->fci_len % 4)
        return CC_EINVAL; /* at least one entry, whole entries only */
    size_t k = 0;
    for (size_t i = 0; i + 4 <= fb->fci_len; i += 4) {
        uint16_t pid = rd16(fb->fci + i);
        uint16_t blp = rd16(fb->fci + i + 2);
        if (k < cap)
            lost[k] = pid;
        k++;
        for (int b = 0; b < 16; b++) {
            if (blp & (1u << b)) {
                if (k < cap)
                    lost[k] = (uint16_t)(pid + b + 1);
                k++;
            }
        }
    }
    /* Like twcc: filled up to cap, the rest is dropped. */
    *n = k < cap ? k : cap;
    return 0;
}

/* RFC 5104 section 4.3.1.1: FCI entries of SSRC(32) Seq nr(8) Reserved(24). */
int cc_rtcp_parse_fir(const cc_rtcp_fb *fb, cc_rtcp_fir_entry *out, size_t cap,
                      size_t *n)
{
    if (!fb || !n || (cap && !out))
        return CC_EINVAL;
    *n = 0;
    if (fb->fmt != CC_PSFB_FIR || (fb->fci_len && !fb->fci))
        return CC_EINVAL;
    if (fb->fci_len == 0 || fb->fci_len % 8)
        return CC_EINVAL;
    size_t k = 0;
    for (size_t i = 0; i + 8 <= fb->fci_len && k < cap; i += 8, k++) {
        out[k].ssrc = rd32(fb->fci + i);
        out[k].seq_nr = fb->fci[i + 4];
    }
    *n = k;
    return 0;
}

/* draft-alvestrand-rmcat-remb-03 section 2.2: "REMB", Num SSRC(8),
 * BR Exp(6), BR Mantissa(18), then Num SSRC SSRCs. */
int cc_rtcp_parse_remb(const cc_rtcp_fb *fb, cc_rtcp_remb *out)
{
    if (!fb || !out || (fb->fci_len && !fb->fci))
        return CC_EINVAL;
    if (fb->fmt != CC_PSFB_AFB)
        return CC_EINVAL;
    if (fb->fci_len < 4 || memcmp(fb->fci, "REMB", 4) != 0)
        return CC_ENOTFOUND; /* some other application-layer feedback */
    if (fb->fci_len < 8)
        return CC_ETRUNC;
    const uint8_t *f = fb->fci;
    size_t num = f[4];
    unsigned exp = f[5] >> 2;
    uint64_t mant = (uint64_t)(f[5] & 3) << 16 | rd16(f + 6);
    if (8 + num * 4 > fb->fci_len)
        return CC_ETRUNC;
    /* Saturate instead of overflowing for exponents the 64-bit value cannot
     * hold (exp is at most 63, mantissa 18 bits). */
    if (mant && exp > 0 && mant > (UINT64_MAX >> exp))
        out->bitrate_bps = UINT64_MAX;
    else
        out->bitrate_bps = mant << exp;
    size_t keep = num < 16 ? num : 16;
    for (size_t i = 0; i < keep; i++)
        out->ssrcs[i] = rd32(f + 8 + i * 4);
    out->n_ssrcs = (int)keep;
    return 0;
}

/* ---- transport-cc (draft-holmer-...-01 section 3.1) ---- */

/* Packet status symbols (3.1.1). */
enum {
    TWCC_NOT_RECEIVED = 0,
    TWCC_SMALL_DELTA = 1,
    TWCC_LARGE_DELTA = 2,
    TWCC_RESERVED = 3,
};

/* Symbols carried by one 2-byte packet chunk. Run length chunk (3.1.3):
 * T=0, S(2), run length(13). Status vector chunk (3.1.4): T=1, S=0 and
 * 14 one-bit symbols, or S=1 and 7 two-bit symbols. */
static unsigned chunk_count(uint16_t c)
{
    if (!(c & 0x8000))
        return c & 0x1fff;
    return (c & 0x4000) ? 7 : 14;
}

static unsigned chunk_symbol(uint16_t c, unsigned i)
{
    if (!(c & 0x8000))
        return (c >> 13) & 3;
    if (c & 0x4000)
        return (c >> (12 - 2 * i)) & 3;
    return (c >> (13 - i)) & 1;
}

int cc_rtcp_parse_twcc(const cc_rtcp_fb *fb, cc_rtcp_twcc *out)
{
    if (!fb || !out || (out->cap && !out->deltas) || (fb->fci_len && !fb->fci))
        return CC_EINVAL;
    out->n = 0;
    if (fb->fmt != CC_RTPFB_TWCC)
        return CC_EINVAL;
    const uint8_t *f = fb->fci;
    size_t flen = fb->fci_len;
    /* base sequence number(16), packet status count(16), reference
     * time(24, signed, 64 ms units), feedback packet count(8). */
    if (flen < 8)
        return CC_ETRUNC;
    out->base_seq = rd16(f);
    out->status_count = rd16(f + 2);
    uint32_t rt = rd24(f + 4);
    out->reference_time = (rt & 0x800000u) ? (int32_t)rt - 0x1000000
                                           : (int32_t)rt;
    out->fb_pkt_count = f[7];

    size_t total = out->status_count;
    /* Pass 1: find where the chunks end (and so where deltas start). The
     * last chunk may describe more symbols than remain; they are ignored. */
    size_t off = 8, seen = 0;
    while (seen < total) {
        if (flen - off < 2)
            return CC_ETRUNC;
        seen += chunk_count(rd16(f + off));
        off += 2;
    }
    size_t doff = off;

    /* Pass 2: walk the symbols again, consuming one delta per received
     * packet: 1 byte unsigned (small) or 2 bytes signed (large), in 250 us
     * units (3.1.5). All of them are validated even beyond cap. */
    size_t idx = 0;
    off = 8;
    while (idx < total) {
        uint16_t c = rd16(f + off);
        off += 2;
        unsigned cnt = chunk_count(c);
        for (unsigned s = 0; s < cnt && idx < total; s++, idx++) {
            unsigned sym = chunk_symbol(c, (c & 0x8000) ? s : 0);
            int32_t d;
            switch (sym) {
            case TWCC_NOT_RECEIVED:
                d = CC_TWCC_NOT_RECEIVED;
                break;
            case TWCC_SMALL_DELTA:
                if (flen - doff < 1)
                    return CC_ETRUNC;
                d = f[doff];
                doff += 1;
                break;
            case TWCC_LARGE_DELTA:
                if (flen - doff < 2)
                    return CC_ETRUNC;
                d = (int16_t)rd16(f + doff);
                doff += 2;
                break;
            default:
                return CC_EINVAL; /* reserved symbol */
            }
            if (idx < out->cap)
                out->deltas[idx] = d;
        }
    }
    /* Whatever follows the deltas is zero padding to a 32-bit boundary. */
    out->n = total < out->cap ? total : out->cap;
    return 0;
}

/* The same walk one packet at a time (cc_rtcp_twcc_iter): the send side
 * turns each symbol into (sequence number, arrival time) as it goes, so a
 * feedback describing 65535 packets needs no 65535-entry array. */
int cc_rtcp_twcc_iter_init(cc_rtcp_twcc_iter *it, const cc_rtcp_fb *fb,
                           cc_rtcp_twcc *hdr)
{
    if (!it || !fb || !hdr || (fb->fci_len && !fb->fci))
        return CC_EINVAL;
    *it = (cc_rtcp_twcc_iter){0};
    if (fb->fmt != CC_RTPFB_TWCC)
        return CC_EINVAL;
    const uint8_t *f = fb->fci;
    size_t flen = fb->fci_len;
    if (flen < 8)
        return CC_ETRUNC;
    hdr->base_seq = rd16(f);
    hdr->status_count = rd16(f + 2);
    uint32_t rt = rd24(f + 4);
    hdr->reference_time = (rt & 0x800000u) ? (int32_t)rt - 0x1000000
                                           : (int32_t)rt;
    hdr->fb_pkt_count = f[7];
    /* Where the chunks end, as in cc_rtcp_parse_twcc's first pass. */
    size_t off = 8, seen = 0;
    while (seen < hdr->status_count) {
        if (flen - off < 2)
            return CC_ETRUNC;
        seen += chunk_count(rd16(f + off));
        off += 2;
    }
    it->fci = f;
    it->len = flen;
    it->chunk_off = 8;
    it->chunks_end = off;
    it->delta_off = off;
    it->total = hdr->status_count;
    return 0;
}

int cc_rtcp_twcc_iter_next(cc_rtcp_twcc_iter *it, int32_t *delta)
{
    if (!it || !delta)
        return CC_EINVAL;
    if (it->idx >= it->total)
        return 0;
    while (it->chunk_left == 0) {
        /* Run-length chunks of length 0 are skipped; init checked that the
         * chunks describe at least status_count packets. */
        if (it->chunks_end - it->chunk_off < 2)
            return CC_EINVAL;
        it->chunk = rd16(it->fci + it->chunk_off);
        it->chunk_off += 2;
        it->chunk_left = chunk_count(it->chunk);
        it->chunk_pos = 0;
    }
    uint16_t c = it->chunk;
    unsigned sym = chunk_symbol(c, (c & 0x8000) ? it->chunk_pos : 0);
    it->chunk_pos++;
    it->chunk_left--;
    const uint8_t *f = it->fci;
    switch (sym) {
    case TWCC_NOT_RECEIVED:
        *delta = CC_TWCC_NOT_RECEIVED;
        break;
    case TWCC_SMALL_DELTA:
        if (it->len - it->delta_off < 1)
            return CC_ETRUNC;
        *delta = f[it->delta_off];
        it->delta_off += 1;
        break;
    case TWCC_LARGE_DELTA:
        if (it->len - it->delta_off < 2)
            return CC_ETRUNC;
        *delta = (int16_t)rd16(f + it->delta_off);
        it->delta_off += 2;
        break;
    default:
        return CC_EINVAL; /* reserved symbol (3.1.1) */
    }
    it->idx++;
    return 1;
}

/* ---- builders ---- */

static void write_hdr(uint8_t *b, uint8_t count, uint8_t pt, size_t len)
{
    b[0] = (uint8_t)(0x80 | (count & 0x1f)); /* V=2, P=0 */
    b[1] = pt;
    wr16(b + 2, (uint16_t)(len / 4 - 1));
}

int cc_rtcp_write_sr(uint8_t *buf, size_t cap, const cc_rtcp_sr *sr)
{
    if (!buf || !sr || sr->n_reports < 0 || sr->n_reports > CC_RTCP_MAX_REPORTS)
        return CC_EINVAL;
    size_t len = 28 + (size_t)sr->n_reports * REPORT_BLOCK;
    if (cap < len)
        return CC_ENOSPC;
    write_hdr(buf, (uint8_t)sr->n_reports, CC_RTCP_SR, len);
    wr32(buf + 4, sr->ssrc);
    wr32(buf + 8, (uint32_t)(sr->ntp >> 32));
    wr32(buf + 12, (uint32_t)sr->ntp);
    wr32(buf + 16, sr->rtp_ts);
    wr32(buf + 20, sr->packet_count);
    wr32(buf + 24, sr->octet_count);
    for (int i = 0; i < sr->n_reports; i++)
        write_report(buf + 28 + (size_t)i * REPORT_BLOCK, &sr->reports[i]);
    return (int)len;
}

int cc_rtcp_write_rr(uint8_t *buf, size_t cap, const cc_rtcp_rr *rr)
{
    if (!buf || !rr || rr->n_reports < 0 || rr->n_reports > CC_RTCP_MAX_REPORTS)
        return CC_EINVAL;
    size_t len = 8 + (size_t)rr->n_reports * REPORT_BLOCK;
    if (cap < len)
        return CC_ENOSPC;
    write_hdr(buf, (uint8_t)rr->n_reports, CC_RTCP_RR, len);
    wr32(buf + 4, rr->ssrc);
    for (int i = 0; i < rr->n_reports; i++)
        write_report(buf + 8 + (size_t)i * REPORT_BLOCK, &rr->reports[i]);
    return (int)len;
}

int cc_rtcp_write_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc,
                             const char *cname)
{
    if (!buf || !cname)
        return CC_EINVAL;
    size_t cl = strlen(cname);
    if (cl > 255)
        return CC_EINVAL;
    /* 6.5: item list ends with at least one null octet, padded with nulls
     * to the next 32-bit boundary. Items are type(1) length(1) text. */
    size_t items = 2 + cl;
    size_t pad = 4 - (items % 4); /* 1..4 */
    size_t len = RTCP_HDR + 4 + items + pad;
    if (cap < len)
        return CC_ENOSPC;
    write_hdr(buf, 1, CC_RTCP_SDES, len);
    wr32(buf + 4, ssrc);
    buf[8] = SDES_CNAME;
    buf[9] = (uint8_t)cl;
    memcpy(buf + 10, cname, cl);
    memset(buf + 10 + cl, 0, pad);
    return (int)len;
}

int cc_rtcp_write_bye(uint8_t *buf, size_t cap, const uint32_t *ssrcs, int n)
{
    if (!buf || n < 0 || n > CC_RTCP_MAX_REPORTS || (n && !ssrcs))
        return CC_EINVAL;
    size_t len = RTCP_HDR + (size_t)n * 4;
    if (cap < len)
        return CC_ENOSPC;
    write_hdr(buf, (uint8_t)n, CC_RTCP_BYE, len);
    for (int i = 0; i < n; i++)
        wr32(buf + RTCP_HDR + (size_t)i * 4, ssrcs[i]);
    return (int)len;
}

static void write_fb_hdr(uint8_t *b, uint8_t fmt, uint8_t pt, size_t len,
                         uint32_t sender, uint32_t media)
{
    write_hdr(b, fmt, pt, len);
    wr32(b + 4, sender);
    wr32(b + 8, media);
}

/* Order of sequence numbers on the 16-bit circle: start right after the
 * widest gap between lost packets, so {65535, 0, 100} is sent as 65535, 0,
 * 100 (a wrap) and {0, 100, 65535} is not reordered by plain value. On a tie
 * the gap across 65535 -> 0 wins, i.e. plain numeric order. */
#define SEQ_WORDS (65536 / 64)

static int seq_test(const uint64_t *bm, uint32_t s)
{
    return (int)((bm[s >> 6] >> (s & 63)) & 1);
}

/* Next set bit at or after s (s < 65536), or 65536. */
static uint32_t seq_next(const uint64_t *bm, uint32_t s)
{
    while (s < 65536) {
        uint64_t w = bm[s >> 6] >> (s & 63);
        if (w)
            return s + (uint32_t)__builtin_ctzll(w);
        s = (s | 63) + 1;
    }
    return 65536;
}

int cc_rtcp_write_nack(uint8_t *buf, size_t cap, uint32_t sender,
                       uint32_t media, const uint16_t *seqs, size_t n)
{
    if (!buf || !seqs || n == 0)
        return CC_EINVAL;
    uint64_t bm[SEQ_WORDS];
    memset(bm, 0, sizeof bm);
    for (size_t i = 0; i < n; i++)
        bm[seqs[i] >> 6] |= 1ull << (seqs[i] & 63);

    /* Find the start: the set bit following the widest circular gap. */
    uint32_t first = seq_next(bm, 0), last = first;
    uint32_t start = first;
    uint32_t best = 0;
    for (uint32_t s = seq_next(bm, first + 1); s < 65536;
         s = seq_next(bm, s + 1)) {
        if (s - last > best) {
            best = s - last;
            start = s;
        }
        last = s;
    }
    if (first + 65536 - last >= best)
        start = first;

    /* RFC 4585 section 6.2.1: PID is the first lost packet, BLP bit i the
     * packet PID + i + 1. Walk the circle once from start. */
    size_t off = FB_HDR;
    uint32_t walked = 0;
    while (walked < 65536) {
        uint32_t s = (start + walked) & 0xffff;
        if (!seq_test(bm, s)) {
            /* Skip quickly to the next set bit (circularly). */
            uint32_t nx = seq_next(bm, s);
            uint32_t step = nx < 65536 ? nx - s : 65536 - s;
            walked += step;
            continue;
        }
        uint16_t blp = 0;
        for (uint32_t b = 0; b < 16 && walked + 1 + b < 65536; b++)
            if (seq_test(bm, (s + 1 + b) & 0xffff))
                blp |= (uint16_t)(1u << b);
        if (cap < off + 4)
            return CC_ENOSPC;
        wr16(buf + off, (uint16_t)s);
        wr16(buf + off + 2, blp);
        off += 4;
        walked += 17;
    }
    write_fb_hdr(buf, CC_RTPFB_NACK, CC_RTCP_RTPFB, off, sender, media);
    return (int)off;
}

int cc_rtcp_write_pli(uint8_t *buf, size_t cap, uint32_t sender,
                      uint32_t media)
{
    if (!buf)
        return CC_EINVAL;
    /* RFC 4585 section 6.3.1: PLI has no FCI. */
    if (cap < FB_HDR)
        return CC_ENOSPC;
    write_fb_hdr(buf, CC_PSFB_PLI, CC_RTCP_PSFB, FB_HDR, sender, media);
    return FB_HDR;
}

int cc_rtcp_write_fir(uint8_t *buf, size_t cap, uint32_t sender,
                      uint32_t media, uint8_t seq_nr)
{
    if (!buf)
        return CC_EINVAL;
    size_t len = FB_HDR + 8;
    if (cap < len)
        return CC_ENOSPC;
    /* RFC 5104 section 4.3.1.2: the header's media source SSRC SHALL be 0;
     * the target is named in the FCI entry. */
    write_fb_hdr(buf, CC_PSFB_FIR, CC_RTCP_PSFB, len, sender, 0);
    wr32(buf + FB_HDR, media);
    buf[FB_HDR + 4] = seq_nr;
    buf[FB_HDR + 5] = buf[FB_HDR + 6] = buf[FB_HDR + 7] = 0;
    return (int)len;
}

int cc_rtcp_write_remb(uint8_t *buf, size_t cap, uint32_t sender,
                       uint64_t bitrate_bps, const uint32_t *ssrcs, int n)
{
    if (!buf || n < 0 || n > 255 || (n && !ssrcs))
        return CC_EINVAL;
    size_t len = FB_HDR + 8 + (size_t)n * 4;
    if (cap < len)
        return CC_ENOSPC;
    /* draft-alvestrand-rmcat-remb-03 section 2.2: bitrate = mantissa *
     * 2^exp with an 18-bit mantissa; pick the smallest exponent that fits
     * (rounding down, so the estimate is never overstated). */
    unsigned exp = 0;
    while ((bitrate_bps >> exp) >= (1u << 18))
        exp++;
    uint32_t mant = (uint32_t)(bitrate_bps >> exp);
    /* Media source SSRC is 0 for REMB (section 2.2). */
    write_fb_hdr(buf, CC_PSFB_AFB, CC_RTCP_PSFB, len, sender, 0);
    memcpy(buf + FB_HDR, "REMB", 4);
    buf[FB_HDR + 4] = (uint8_t)n;
    buf[FB_HDR + 5] = (uint8_t)(exp << 2 | (mant >> 16));
    wr16(buf + FB_HDR + 6, (uint16_t)mant);
    for (int i = 0; i < n; i++)
        wr32(buf + FB_HDR + 8 + (size_t)i * 4, ssrcs[i]);
    return (int)len;
}

/* ---- transport-cc builder (draft-holmer-...-01 section 3.1) ---- */

static unsigned twcc_symbol(int32_t d)
{
    if (d == CC_TWCC_NOT_RECEIVED)
        return TWCC_NOT_RECEIVED;
    /* 3.1.5: a small delta is one unsigned byte (0..63.75 ms), anything
     * else (negative or longer) a signed 16-bit large delta. */
    return (d >= 0 && d <= 255) ? TWCC_SMALL_DELTA : TWCC_LARGE_DELTA;
}

/* Packet chunks for n symbols; written to out unless it is NULL. Returns
 * their size in bytes. A run-length chunk (3.1.3) takes runs of 14 or more
 * (7 or more large deltas, which a two-bit vector holds only 7 of) and a
 * final run of any length (as libwebrtc writes it); otherwise a one-bit
 * vector (3.1.4, 14 symbols) when the next 14 hold no large delta, else a
 * two-bit vector of 7. Symbols past n in the last vector are 0 and not
 * counted (status count). */
static size_t twcc_chunks(const int32_t *d, size_t n, uint8_t *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        unsigned s = twcc_symbol(d[i]);
        size_t run = 1;
        while (i + run < n && run < 0x1fff && twcc_symbol(d[i + run]) == s)
            run++;
        size_t rem = n - i;
        uint16_t c;
        if (run >= 14 || run == rem || (s == TWCC_LARGE_DELTA && run >= 7)) {
            c = (uint16_t)(s << 13 | run);
            i += run;
        } else {
            size_t k = rem < 14 ? rem : 14;
            int one_bit = 1;
            for (size_t j = 0; j < k; j++)
                if (twcc_symbol(d[i + j]) == TWCC_LARGE_DELTA)
                    one_bit = 0;
            if (one_bit) {
                c = 0x8000;
                for (size_t j = 0; j < k; j++)
                    if (twcc_symbol(d[i + j]) == TWCC_SMALL_DELTA)
                        c |= (uint16_t)(1u << (13 - j));
            } else {
                k = rem < 7 ? rem : 7;
                c = 0xC000;
                for (size_t j = 0; j < k; j++)
                    c |= (uint16_t)(twcc_symbol(d[i + j]) << (12 - 2 * j));
            }
            i += k;
        }
        if (out)
            wr16(out + o, c);
        o += 2;
    }
    return o;
}

int cc_rtcp_write_twcc(uint8_t *buf, size_t cap, uint32_t sender,
                       uint32_t media, const cc_rtcp_twcc *tw)
{
    if (!buf || !tw || (tw->n && !tw->deltas) || tw->n > 0xFFFF)
        return CC_EINVAL;
    size_t dbytes = 0;
    for (size_t i = 0; i < tw->n; i++) {
        int32_t d = tw->deltas[i];
        if (d == CC_TWCC_NOT_RECEIVED)
            continue;
        if (d < -32768 || d > 32767)
            return CC_EINVAL;
        dbytes += twcc_symbol(d) == TWCC_SMALL_DELTA ? 1 : 2;
    }
    size_t content = FB_HDR + 8 + twcc_chunks(tw->deltas, tw->n, NULL) +
                     dbytes;
    size_t len = (content + 3) & ~(size_t)3;
    if (len / 4 - 1 > 0xFFFF)
        return CC_EINVAL;
    if (cap < len)
        return CC_ENOSPC;
    write_fb_hdr(buf, CC_RTPFB_TWCC, CC_RTCP_RTPFB, len, sender, media);
    uint8_t *f = buf + FB_HDR;
    wr16(f, tw->base_seq);
    wr16(f + 2, (uint16_t)tw->n);
    wr24(f + 4, (uint32_t)tw->reference_time & 0xFFFFFFu);
    f[7] = tw->fb_pkt_count;
    size_t off = 8 + twcc_chunks(tw->deltas, tw->n, f + 8);
    for (size_t i = 0; i < tw->n; i++) {
        int32_t d = tw->deltas[i];
        unsigned s = twcc_symbol(d);
        if (s == TWCC_SMALL_DELTA) {
            f[off++] = (uint8_t)d;
        } else if (s == TWCC_LARGE_DELTA) {
            wr16(f + off, (uint16_t)(int16_t)d);
            off += 2;
        }
    }
    if (len > content) {
        /* RFC 3550 section 6.4.1 padding: zeros, the last octet counts
         * them, P bit set. */
        memset(buf + content, 0, len - content);
        buf[len - 1] = (uint8_t)(len - content);
        buf[0] |= 0x20;
    }
    return (int)len;
}

/* ---- in-place rewriting ---- */

void cc_rtcp_fb_set_sender(uint8_t *pkt, uint32_t ssrc)
{
    wr32(pkt + 4, ssrc); /* RFC 4585 section 6.1: SSRC of packet sender */
}

void cc_rtcp_fb_set_media(uint8_t *pkt, size_t len, uint32_t ssrc)
{
    if (!pkt || len < FB_HDR)
        return;
    int fir = pkt[1] == CC_RTCP_PSFB && (pkt[0] & 0x1f) == CC_PSFB_FIR;
    if (!fir) {
        wr32(pkt + 8, ssrc);
        return;
    }
    /* RFC 5104 section 4.3.1.2: for FIR the header field SHALL be 0 and the
     * FCI entries name the target; keep a 0 as 0, rewrite anything else. */
    if (rd32(pkt + 8) != 0)
        wr32(pkt + 8, ssrc);
    size_t end = ((size_t)rd16(pkt + 2) + 1) * 4;
    if (end > len)
        end = len;
    for (size_t off = FB_HDR; off + 8 <= end; off += 8)
        wr32(pkt + off, ssrc);
}

/* RFC 5761 section 4: with RTP and RTCP multiplexed, the second octet of
 * RTCP (its packet type) falls in 192..223, i.e. 64..95 once the bit that
 * would be the RTP marker is masked; RTP payload types avoid that range. */
int cc_rtcp_is_rtcp(const uint8_t *buf, size_t len)
{
    if (!buf || len < 2)
        return 0;
    uint8_t pt = buf[1] & 0x7f;
    return pt >= 64 && pt <= 95;
}
