/* classcast: per-subscriber stream rewriting. See forwarder.h. */
#include "classcast/forwarder.h"

#include <string.h>

#include "classcast/err.h"

#define PID_MASK 0x7fff

void cc_fwd_init(cc_fwd *f, const cc_fwd_config *cfg)
{
    memset(f, 0, sizeof *f);
    f->cfg = *cfg;
    if (f->cfg.clock_rate <= 0)
        f->cfg.clock_rate = f->cfg.video ? 90000 : 48000;
    f->waiting = 1;
    f->want_tid = f->cur_tid = CC_FWD_ALL_LAYERS;
}

void cc_fwd_set_max_tid(cc_fwd *f, uint8_t tid)
{
    f->want_tid = tid > CC_FWD_ALL_LAYERS ? CC_FWD_ALL_LAYERS : tid;
}

int cc_fwd_has_layers(const cc_fwd *f) { return f->seen_tid; }

static void thin_set(cc_fwd *f, uint16_t seq, int on)
{
    uint64_t bit = 1ull << (seq % 64);
    if (on)
        f->thin[(seq % 1024) / 64] |= bit;
    else
        f->thin[(seq % 1024) / 64] &= ~bit;
}

static int thin_get(const cc_fwd *f, uint16_t seq)
{
    return (f->thin[(seq % 1024) / 64] >> (seq % 64)) & 1;
}

/* Upstream gaps, by output sequence number (cc_fwd.gap), with gap_marks
 * kept equal to the bits set. */
static void gap_set(cc_fwd *f, uint16_t seq, int on)
{
    if (!on && !f->gap_marks)
        return; /* nothing marked: the bitmap's line is not touched */
    uint64_t bit = 1ull << (seq % 64);
    uint64_t *wd = &f->gap[(seq % 1024) / 64];
    if (on && !(*wd & bit)) {
        *wd |= bit;
        f->gap_marks++;
    } else if (!on && (*wd & bit)) {
        *wd &= ~bit;
        f->gap_marks--;
    }
}

static int gap_get(const cc_fwd *f, uint16_t seq)
{
    return f->gap_marks && ((f->gap[(seq % 1024) / 64] >> (seq % 64)) & 1);
}

/* Output number oseq is about to be sent: numbers it jumps over are
 * gaps (the source packets never came), a late one fills its gap. */
static void gap_track(cc_fwd *f, uint16_t oseq)
{
    if (f->started && cc_seq_newer(oseq, f->last_seq)) {
        uint16_t skip = (uint16_t)(oseq - f->last_seq - 1);
        f->gaps += skip;
        /* The window holds the last 1024 numbers: older marks go. */
        for (unsigned k = 1; k <= skip && k < 1024; k++)
            gap_set(f, (uint16_t)(oseq - k), 1);
    } else if (f->started && (uint16_t)(f->last_seq - oseq) < 1024 && gap_get(f, oseq)) {
        f->gaps_filled++;
    }
    gap_set(f, oseq, 0);
}

uint64_t cc_fwd_upstream_lost(const cc_fwd *f, uint16_t upto)
{
    uint64_t n = f->gaps - f->gaps_filled;
    if (!f->started || cc_seq_newer(upto, f->last_seq))
        return n;
    uint16_t ahead = (uint16_t)(f->last_seq - upto);
    if (ahead >= 1024)
        return n; /* a report that far behind: no alignment */
    for (uint16_t k = 0; k < ahead; k++)
        if (gap_get(f, (uint16_t)(f->last_seq - k)) && n > 0)
            n--;
    return n;
}

int cc_fwd_is_gap(const cc_fwd *f, uint16_t out_seq)
{
    if (!f->started || cc_seq_newer(out_seq, f->last_seq) ||
        (uint16_t)(f->last_seq - out_seq) >= 1024)
        return 0;
    return gap_get(f, out_seq);
}

/* Source PictureID -> pid_drops when that picture started, for the last
 * 16 pictures sent (a late packet of one of them). */
static void pid_remember(cc_fwd *f, uint16_t in, uint8_t at)
{
    int i = (f->pid_map_head + f->pid_map_n) % 16;
    if (f->pid_map_n == 16)
        f->pid_map_head = (uint8_t)((f->pid_map_head + 1) % 16);
    else
        f->pid_map_n++;
    f->pid_map[i].in = in;
    f->pid_map[i].at = at;
}

static int pid_lookup(const cc_fwd *f, uint16_t in, uint8_t *at)
{
    for (int k = f->pid_map_n - 1; k >= 0; k--) { /* newest first */
        int i = (f->pid_map_head + k) % 16;
        if (f->pid_map[i].in == in) {
            *at = f->pid_map[i].at;
            return 1;
        }
    }
    return 0;
}

/* The PictureID a packet of a picture that started at pid_drops == at
 * goes out with. */
static int pid_for(const cc_fwd *f, uint16_t in_pid, uint8_t at)
{
    return (uint16_t)((in_pid + f->pid_off + (uint8_t)((uint8_t)f->pid_drops - at)) & PID_MASK);
}

/* Start an epoch on packet `in`: choose offsets that continue the
 * subscriber's numbering. */
static void rebase(cc_fwd *f, const cc_fwd_pkt *in, cc_time_us now)
{
    const cc_rtp_hdr *h = in->h;
    uint16_t next_seq;
    uint32_t next_ts;
    uint16_t next_pid;
    uint8_t next_tl0;
    if (!f->started) {
        next_seq = f->cfg.initial_seq;
        next_ts = f->cfg.initial_ts;
        next_pid = f->cfg.initial_picture_id & PID_MASK;
        next_tl0 = f->cfg.initial_tl0;
    } else {
        next_seq = (uint16_t)(f->last_seq + 1);
        /* The gap the subscriber's jitter buffer sees should match the wall
         * time that passed, so playout neither stalls nor rushes; at least
         * one tick so the timestamp moves forward (RFC 3550 5.1). */
        int64_t dt = (now - f->last_at) * (int64_t)f->cfg.clock_rate /
                     CC_USEC_PER_SEC;
        if (dt < 1)
            dt = 1;
        if (dt > 0x7fffffff)
            dt = 0x7fffffff;
        next_ts = f->last_ts + (uint32_t)dt;
        next_pid = (uint16_t)((f->last_pid + 1) & PID_MASK);
        next_tl0 = (uint8_t)(f->last_tl0 + 1);
    }
    f->seq_off = (uint16_t)(next_seq - h->seq);
    f->ts_off = next_ts - h->ts;
    if (in->vp8 && in->vp8->has_picture_id)
        f->pid_off = (uint16_t)((next_pid - in->vp8->picture_id) & PID_MASK);
    if (in->vp8 && in->vp8->has_tl0)
        f->tl0_off = (uint8_t)(next_tl0 - in->vp8->tl0picidx);
    f->base_in_seq = h->seq;
    f->last_in_seq = h->seq;
    f->waiting = 0;
    f->epochs++;
    /* A new epoch starts on a keyframe: any cap can take effect, and the
     * old source's pictures and sequence numbers mean nothing now. */
    if (f->cur_tid != f->want_tid)
        f->layer_switches++;
    f->cur_tid = f->want_tid;
    f->pic_valid = 0;
    f->pid_map_n = 0;
    memset(f->thin, 0, sizeof f->thin);
}

/* The RFC 8285 one-byte-header block with one transport-cc element
 * (sequence number 0 for the caller to set) and a pad octet; sets X. */
static void put_ext(uint8_t *out, uint8_t id)
{
    uint8_t *e = out + CC_RTP_HEADER_MIN;
    out[0] |= 0x10;
    e[0] = 0xBE;
    e[1] = 0xDE;
    e[2] = 0;
    e[3] = 1;
    e[4] = (uint8_t)((id << 4) | 1);
    e[5] = e[6] = e[7] = 0;
}

/* pad: send a one-octet padding packet under this packet's sequence
 * number and timestamp instead (a picture above the layer cap).
 * pid_override: the PictureID to write (-1: the current offset's). */
static int write_pkt(const cc_fwd *f, const cc_fwd_pkt *in, uint8_t *out,
                     size_t cap, size_t *out_len, uint16_t *pid, uint8_t *tl0,
                     int pad, int pid_override)
{
    const cc_rtp_hdr *h = in->h;
    size_t plen = pad ? 0 : h->payload_len;
    /* A padding-only packet (Chromium's bandwidth probes on the media SSRC
     * when RTX is not negotiated) keeps its sequence number but carries a
     * single padding octet (RFC 3550 5.1: the last octet counts the
     * padding, itself included). */
    int pad_only = plen == 0;
    size_t hl = CC_RTP_HEADER_MIN + (f->cfg.ext_twcc ? CC_FWD_EXT_LEN : 0);
    size_t need = hl + plen + (pad_only ? 1 : 0);
    if (need > cap)
        return CC_ENOSPC;
    out[0] = (uint8_t)(0x80 | (pad_only ? 0x20 : 0));
    out[1] = (uint8_t)((h->marker && !pad ? 0x80 : 0) | (f->cfg.pt & 0x7f));
    cc_rtp_set_seq(out, (uint16_t)(h->seq + f->seq_off));
    cc_rtp_set_ts(out, h->ts + f->ts_off);
    cc_rtp_set_ssrc(out, f->cfg.ssrc);
    if (f->cfg.ext_twcc)
        put_ext(out, f->cfg.ext_twcc);
    if (pad_only) {
        out[hl] = 1;
    } else {
        memcpy(out + hl, h->payload, plen);
        const cc_vp8_desc *d = in->vp8;
        if (d && (d->has_picture_id || d->has_tl0)) {
            uint16_t p = pid_override >= 0
                             ? (uint16_t)pid_override
                             : (uint16_t)((d->picture_id + f->pid_off) & PID_MASK);
            uint8_t t = (uint8_t)(d->tl0picidx + f->tl0_off);
            cc_vp8_rewrite(out + hl, d, p, t);
            if (pid)
                *pid = p;
            if (tl0)
                *tl0 = t;
        }
    }
    *out_len = need;
    return 0;
}

/* The layer decision for one packet of the current epoch: 1 to send it
 * as padding. Cap changes and PictureID compaction happen at the first
 * packet of a picture, in sequence order only (a late or repaired packet
 * is judged by its layer and the cap in force). */
static int layer_thin(cc_fwd *f, const cc_fwd_pkt *in)
{
    const cc_vp8_desc *d = in->vp8;
    if (!f->cfg.video || !d || !d->has_tid)
        return 0;
    f->seen_tid = 1;
    int in_order = cc_seq_newer(in->h->seq, f->last_in_seq) || in->h->seq == f->base_in_seq;
    if (in_order && d->start && d->partition == 0 &&
        !(f->pic_valid && d->has_picture_id && d->picture_id == f->pic_in)) {
        if (f->want_tid < f->cur_tid) {
            f->cur_tid = f->want_tid; /* dropping a layer is always safe */
            f->layer_switches++;
        } else if (f->want_tid > f->cur_tid &&
                   (in->keyframe ||
                    (d->layer_sync && d->tid > f->cur_tid && d->tid <= f->want_tid))) {
            /* RFC 7741 4.2: a Y picture depends only on TL0, so the layer
             * can start there; a keyframe restarts everything. */
            f->cur_tid = in->keyframe ? f->want_tid : d->tid;
            f->layer_switches++;
        }
        f->pic_dropped = d->tid > f->cur_tid;
        f->pic_in = d->picture_id;
        f->pic_valid = d->has_picture_id;
        if (f->pic_dropped) {
            f->pictures_dropped++;
            if (d->has_picture_id) { /* later pictures move down by one */
                f->pid_off = (uint16_t)((f->pid_off - 1) & PID_MASK);
                f->pid_drops++;
            }
        } else if (d->has_picture_id) {
            pid_remember(f, d->picture_id, (uint8_t)f->pid_drops);
        }
        return f->pic_dropped;
    }
    /* The rest of the current picture follows its first packet. */
    if (in_order && f->pic_valid && d->has_picture_id && d->picture_id == f->pic_in)
        return f->pic_dropped;
    return d->tid > f->cur_tid;
}

int cc_fwd_write(cc_fwd *f, const cc_fwd_pkt *in, cc_time_us now,
                 uint8_t *out, size_t cap, size_t *out_len)
{
    const cc_rtp_hdr *h = in->h;
    *out_len = 0;
    if (in->source != f->source) {
        /* A new source: its numbers are unrelated to the old one's. */
        f->source = in->source;
        f->waiting = 1;
    }
    if (f->waiting) {
        if (f->cfg.video && !in->keyframe)
            return CC_FWD_WAIT_KEYFRAME;
        rebase(f, in, now);
    } else if (cc_seq_newer(f->base_in_seq, h->seq)) {
        /* Before the epoch began (e.g. reordered packets of the frame before
         * the keyframe): their output numbers would collide with the
         * previous epoch's. */
        return CC_FWD_DROP_OLD;
    }
    uint16_t pid = f->last_pid;
    uint8_t tl0 = f->last_tl0;
    int thin = layer_thin(f, in);
    uint8_t at = (uint8_t)f->pid_drops;
    const cc_vp8_desc *d = in->vp8;
    if (!thin && d && d->has_picture_id && f->pic_valid && d->picture_id != f->pic_in)
        (void)pid_lookup(f, d->picture_id, &at); /* a late packet of an earlier picture */
    int pid_write = d && d->has_picture_id ? pid_for(f, d->picture_id, at) : -1;
    int rc = write_pkt(f, in, out, cap, out_len, &pid, &tl0, thin, pid_write);
    if (rc != 0)
        return rc;
    if (d && d->has_tid)
        thin_set(f, h->seq, thin);
    if (d && d->has_picture_id)
        f->pid_at[h->seq % 1024] = at;
    if (thin)
        f->packets_thinned++;
    uint16_t oseq = (uint16_t)(h->seq + f->seq_off);
    gap_track(f, oseq);
    if (!f->started || cc_seq_newer(oseq, f->last_seq) || oseq == f->last_seq) {
        f->last_seq = oseq;
        f->last_ts = h->ts + f->ts_off;
        f->last_at = now;
        f->last_in_seq = h->seq;
        if (in->vp8 && in->vp8->has_picture_id && !thin)
            f->last_pid = pid;
        if (in->vp8 && in->vp8->has_tl0 && !thin)
            f->last_tl0 = tl0;
    }
    f->started = 1;
    f->packets++;
    if (!thin) /* RFC 3550 6.4.1: payload octets, padding not counted */
        f->octets += (uint32_t)h->payload_len;
    return CC_FWD_SEND;
}

void cc_fwd_hold(cc_fwd *f) { f->waiting = 1; }

int cc_fwd_map_seq(const cc_fwd *f, uint16_t out_seq, uint16_t *in_seq)
{
    if (!f->started || f->waiting || f->source == 0)
        return CC_ENOTFOUND;
    uint16_t s = (uint16_t)(out_seq - f->seq_off);
    /* Inside [base_in_seq, last_in_seq] in sequence-number space. */
    if (cc_seq_newer(f->base_in_seq, s) || cc_seq_newer(s, f->last_in_seq))
        return CC_ENOTFOUND;
    *in_seq = s;
    return 0;
}

int cc_fwd_write_again(const cc_fwd *f, const cc_fwd_pkt *in, uint8_t *out,
                       size_t cap, size_t *out_len)
{
    *out_len = 0;
    if (in->source != f->source || f->waiting || !f->started)
        return CC_ENOTFOUND;
    uint16_t s = in->h->seq;
    if (cc_seq_newer(f->base_in_seq, s) || cc_seq_newer(s, f->last_in_seq))
        return CC_ENOTFOUND;
    /* What was sent the first time (kept for the last 1024 seqs): padding
     * for a thinned packet, else the PictureID it went out with. */
    if ((uint16_t)(f->last_in_seq - s) >= 1024)
        return CC_ENOTFOUND;
    if (in->vp8 && in->vp8->has_tid && thin_get(f, s))
        return write_pkt(f, in, out, cap, out_len, NULL, NULL, 1, -1);
    int pid_write = in->vp8 && in->vp8->has_picture_id
                        ? pid_for(f, in->vp8->picture_id, f->pid_at[s % 1024]) : -1;
    return write_pkt(f, in, out, cap, out_len, NULL, NULL, 0, pid_write);
}

int cc_fwd_rtx_wrap(uint8_t *buf, size_t *len, size_t cap, uint32_t rtx_ssrc,
                    uint8_t rtx_pt, uint16_t rtx_seq)
{
    size_t n = *len;
    if (n < CC_RTP_HEADER_MIN || (buf[0] & 0x20))
        return CC_EINVAL;
    /* Header as written by write_pkt: no CSRCs, at most our one block. */
    size_t hl = CC_RTP_HEADER_MIN + ((buf[0] & 0x10) ? CC_FWD_EXT_LEN : 0);
    if (n < hl)
        return CC_EINVAL;
    if (n + 2 > cap)
        return CC_ENOSPC;
    uint16_t osn = (uint16_t)((buf[2] << 8) | buf[3]);
    memmove(buf + hl + 2, buf + hl, n - hl);
    buf[hl] = (uint8_t)(osn >> 8);
    buf[hl + 1] = (uint8_t)osn;
    buf[1] = (uint8_t)((buf[1] & 0x80) | (rtx_pt & 0x7f));
    cc_rtp_set_seq(buf, rtx_seq);
    cc_rtp_set_ssrc(buf, rtx_ssrc);
    *len = n + 2;
    return 0;
}

int cc_fwd_write_rtx_padding(const cc_fwd *f, uint32_t rtx_ssrc, uint8_t rtx_pt,
                             uint16_t rtx_seq, size_t pad, uint8_t *out,
                             size_t cap, size_t *out_len)
{
    *out_len = 0;
    if (pad < 1 || pad > 255)
        return CC_EINVAL;
    size_t hl = CC_RTP_HEADER_MIN + (f->cfg.ext_twcc ? CC_FWD_EXT_LEN : 0);
    if (hl + pad > cap)
        return CC_ENOSPC;
    out[0] = 0x80 | 0x20;
    out[1] = (uint8_t)(rtx_pt & 0x7f);
    cc_rtp_set_seq(out, rtx_seq);
    cc_rtp_set_ts(out, f->last_ts);
    cc_rtp_set_ssrc(out, rtx_ssrc);
    if (f->cfg.ext_twcc)
        put_ext(out, f->cfg.ext_twcc);
    /* RFC 3550 5.1: the last padding octet counts the padding. */
    memset(out + hl, 0, pad - 1);
    out[hl + pad - 1] = (uint8_t)pad;
    *out_len = hl + pad;
    return 0;
}

uint32_t cc_fwd_sr_ts(const cc_fwd *f, cc_time_us now)
{
    int64_t dt = (now - f->last_at) * (int64_t)f->cfg.clock_rate /
                 CC_USEC_PER_SEC;
    if (dt < 0)
        dt = 0;
    return f->last_ts + (uint32_t)dt;
}
