/* classcast: RTP packetizers for VP8 (RFC 7741) and Opus (RFC 7587).
 * See include/classcast/packetizer.h. */
#include "classcast/packetizer.h"

#include <string.h>

#include "classcast/err.h"
#include "classcast/rand.h"
#include "classcast/rtp.h"

void cc_pktz_config_randomize(cc_pktz_config *cfg)
{
    uint32_t r[4];
    for (int i = 0; i < 4; i++)
        r[i] = cc_rand_u32();
    cfg->ssrc = r[0] ? r[0] : 1;
    cfg->ts_base = r[1];
    cfg->seq_base = (uint16_t)r[2];
    cfg->picture_id_base = (uint16_t)(r[2] >> 16) & 0x7fff;
    cfg->tl0picidx_base = (uint8_t)r[3];
    cfg->keyidx_base = (uint8_t)((r[3] >> 8) & 0x1f);
}

int cc_packetizer_init(cc_packetizer *p, const cc_pktz_config *cfg)
{
    if (!p || !cfg)
        return CC_EINVAL;
    if ((cfg->codec != CC_PKTZ_VP8 && cfg->codec != CC_PKTZ_OPUS) ||
        cfg->pt > 127 || cfg->abs_send_time_id < 0 ||
        cfg->abs_send_time_id > 14)
        return CC_EINVAL;
    size_t mtu = cfg->mtu ? cfg->mtu : CC_PKTZ_MTU_DEFAULT;
    /* At least one media byte after the longest descriptor, and no more
     * than an RTP packet in a cc_pkt could ever hold. */
    if (mtu < 8 || mtu > 1500)
        return CC_EINVAL;
    memset(p, 0, sizeof *p);
    p->cfg = *cfg;
    p->cfg.mtu = mtu;
    p->seq = cfg->seq_base;
    p->picture_id = cfg->picture_id_base & 0x7fff;
    p->tl0picidx = cfg->tl0picidx_base;
    p->keyidx = cfg->keyidx_base & 0x1f;
    p->talkspurt = 1;
    return 0;
}

static uint32_t clock_rate(const cc_packetizer *p)
{
    return p->cfg.codec == CC_PKTZ_OPUS ? CC_PKTZ_CLOCK_OPUS
                                        : CC_PKTZ_CLOCK_VP8;
}

uint32_t cc_packetizer_rtp_ts(const cc_packetizer *p, cc_time_us t)
{
    /* Split seconds and the remainder so t * rate cannot overflow 64 bits
     * for any realistic monotonic time; the result wraps mod 2^32 as RTP
     * timestamps do (RFC 3550 section 5.1). */
    uint64_t rate = clock_rate(p);
    int64_t sec = t / 1000000, rem = t % 1000000;
    if (rem < 0) {
        rem += 1000000;
        sec -= 1;
    }
    uint64_t ticks = (uint64_t)sec * rate + (uint64_t)rem * rate / 1000000u;
    return p->cfg.ts_base + (uint32_t)ticks;
}

static size_t header_len(const cc_packetizer *p)
{
    return CC_RTP_HEADER_MIN + (p->cfg.abs_send_time_id ? 8 : 0);
}

/* RTP fixed header plus, if configured, a one-byte-header extension block
 * (RFC 8285 section 4.2) holding abs-send-time: ID, L=2 (three bytes),
 * 6.18 fixed-point seconds. buf has room for header_len(p). */
static size_t write_header(const cc_packetizer *p, uint8_t *buf, int marker,
                           uint16_t seq, uint32_t ts, cc_time_us now)
{
    cc_rtp_write_header(buf, CC_RTP_HEADER_MIN, p->cfg.pt, marker, seq, ts,
                        p->cfg.ssrc);
    if (!p->cfg.abs_send_time_id)
        return CC_RTP_HEADER_MIN;
    buf[0] |= 0x10; /* X */
    uint32_t ast = cc_abs_send_time_from_us(now);
    uint8_t *x = buf + CC_RTP_HEADER_MIN;
    x[0] = 0xBE;
    x[1] = 0xDE;
    x[2] = 0;
    x[3] = 1; /* length in 32-bit words */
    x[4] = (uint8_t)(p->cfg.abs_send_time_id << 4 | (3 - 1));
    x[5] = (uint8_t)(ast >> 16);
    x[6] = (uint8_t)(ast >> 8);
    x[7] = (uint8_t)ast;
    return CC_RTP_HEADER_MIN + 8;
}

static size_t vp8_desc_len(const cc_packetizer *p)
{
    /* RFC 7741 section 4.2: octet 0, X octet, 2-octet PictureID, and with
     * temporal layering TL0PICIDX and the TID/Y/KEYIDX octet. */
    return p->cfg.temporal ? 6 : 4;
}

size_t cc_packetizer_vp8_count(const cc_packetizer *p, size_t len)
{
    if (!p || !len)
        return 0;
    size_t budget = p->cfg.mtu - vp8_desc_len(p);
    return (len + budget - 1) / budget;
}

int cc_packetizer_vp8(cc_packetizer *p, const uint8_t *frame, size_t len,
                      const cc_pktz_vp8_frame *f, cc_time_us now,
                      uint8_t *const bufs[], size_t buf_cap, size_t nbufs,
                      size_t lens[])
{
    if (!p || p->cfg.codec != CC_PKTZ_VP8 || !frame || !len || !f || !bufs ||
        !lens || f->tid < 0 || f->tid > 3)
        return CC_EINVAL;
    size_t n = cc_packetizer_vp8_count(p, len);
    size_t dlen = vp8_desc_len(p), hlen = header_len(p);
    /* Even split: no packet more than one byte larger than another, so a
     * frame just over the budget does not leave a tiny trailing packet. */
    size_t base = len / n, extra = len % n;
    if (n > nbufs || hlen + dlen + base + (extra ? 1 : 0) > buf_cap)
        return CC_ENOSPC;
    for (size_t i = 0; i < n; i++)
        if (!bufs[i])
            return CC_EINVAL;

    uint16_t pid = p->picture_id;
    if (f->tid == 0) {
        /* TL0PICIDX: running index of TL0 frames (RFC 7741 section 4.2). */
        if (p->have_tl0)
            p->tl0picidx++;
        p->have_tl0 = 1;
    }
    if (f->keyframe) {
        /* KEYIDX: running 5-bit index of keyframes, so a receiver can tell
         * whether it holds the keyframe the current frame depends on. */
        if (p->have_key)
            p->keyidx = (p->keyidx + 1) & 0x1f;
        p->have_key = 1;
    }
    uint32_t ts = cc_packetizer_rtp_ts(p, f->capture_time);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t chunk = base + (i < extra ? 1 : 0);
        uint8_t *b = bufs[i];
        /* Marker: last packet of the frame (RFC 7741 section 4.1). */
        size_t h = write_header(p, b, i == n - 1, p->seq, ts, now);
        uint8_t *d = b + h;
        /* X R N S R PID: S only on the first packet; one partition index
         * (0) because packets are not aligned to partitions. */
        d[0] = (uint8_t)(0x80 | (f->non_ref ? 0x20 : 0) | (i == 0 ? 0x10 : 0));
        d[1] = (uint8_t)(0x80 | (p->cfg.temporal ? 0x70 : 0)); /* I [L T K] */
        d[2] = (uint8_t)(0x80 | (pid >> 8)); /* M=1: 15-bit PictureID */
        d[3] = (uint8_t)pid;
        if (p->cfg.temporal) {
            d[4] = p->tl0picidx;
            d[5] = (uint8_t)((f->tid & 3) << 6 | (f->layer_sync ? 0x20 : 0) |
                             (p->keyidx & 0x1f));
        }
        memcpy(d + dlen, frame + off, chunk);
        off += chunk;
        lens[i] = h + dlen + chunk;
        p->seq++;
        p->packets++;
        p->bytes += lens[i];
    }
    p->picture_id = (uint16_t)((pid + 1) & 0x7fff);
    p->frames++;
    return (int)n;
}

int cc_packetizer_opus(cc_packetizer *p, const uint8_t *frame, size_t len,
                       cc_time_us capture_time, cc_time_us now, uint8_t *buf,
                       size_t cap, size_t *out_len)
{
    if (!p || p->cfg.codec != CC_PKTZ_OPUS || !frame || !len || !buf ||
        !out_len)
        return CC_EINVAL;
    *out_len = 0;
    size_t hlen = header_len(p);
    if (hlen + len > cap)
        return CC_ENOSPC;
    /* RFC 7587 section 4.1: the marker is used as RFC 3551 section 4.1
     * says for audio: set on the first packet of a talkspurt. */
    size_t h = write_header(p, buf, p->talkspurt, p->seq,
                            cc_packetizer_rtp_ts(p, capture_time), now);
    memcpy(buf + h, frame, len);
    *out_len = h + len;
    p->talkspurt = len <= 2; /* DTX: the next real packet opens a talkspurt */
    p->seq++;
    p->frames++;
    p->packets++;
    p->bytes += *out_len;
    return 0;
}
