/* What a recording keeps of the teacher's packets and how they become two
 * continuous RTP streams; see include/classcast/recsel.h. Hand-written:
 * it runs per packet and is a few comparisons and header writes, like the
 * SFU's forwarder (src/sfu/forwarder.c), which rewrites the same way. */
#include "classcast/recsel.h"

#include <string.h>

#include "classcast/err.h"
#include "classcast/rtp.h"
#include "classcast/slot.h"
#include "classcast/vp8.h"

#define VIDEO_RATE 90000
#define AUDIO_RATE 48000
#define OPUS_FRAME_TICKS 960 /* 20 ms at 48 kHz */

void cc_recsel_init(cc_recsel *s, cc_time_us now)
{
    memset(s, 0, sizeof *s);
    s->started_at = now;
    s->v.src_slot = CC_RECSEL_SRC_NONE;
    s->a.src_slot = CC_RECSEL_SRC_NONE;
}

static uint32_t ticks(cc_time_us dt, uint32_t rate)
{
    if (dt <= 0)
        return 1;
    uint64_t t = (uint64_t)dt * rate / (uint64_t)CC_USEC_PER_SEC;
    return t ? (uint32_t)t : 1;
}

/* A new source continues the output: its next packet follows the last one
 * sent, its timestamp advanced by the time that passed (RFC 3550 section
 * 5.1: the timestamp reflects the sampling instant). */
static void rebase(cc_recsel_out *o, uint16_t in_seq, uint32_t in_ts, uint32_t rate,
                   cc_time_us now)
{
    if (!o->started) {
        o->seq_off = (uint16_t)(1 - in_seq);
        o->ts_off = (uint32_t)0 - in_ts;
        return;
    }
    o->seq_off = (uint16_t)(o->last_seq + 1 - in_seq);
    o->ts_off = o->last_ts + ticks(now - o->last_at, rate) - in_ts;
}

/* Output numbers for an input packet of the current source; remembers the
 * newest. */
static void emit(cc_recsel_out *o, uint8_t *buf, uint16_t in_seq, uint32_t in_ts, uint8_t pt,
                 uint32_t ssrc, cc_time_us now)
{
    uint16_t seq = (uint16_t)(in_seq + o->seq_off);
    uint32_t ts = in_ts + o->ts_off;
    if (!o->started || (int16_t)(seq - o->last_seq) > 0)
        o->last_seq = seq;
    if (!o->started || (int32_t)(ts - o->last_ts) >= 0) {
        o->last_ts = ts;
        o->last_at = now;
    }
    o->started = 1;
    o->last_real_at = now;
    cc_rtp_set_seq(buf, seq);
    cc_rtp_set_ts(buf, ts);
    cc_rtp_set_pt(buf, pt);
    cc_rtp_set_ssrc(buf, ssrc);
}

/* RFC 6386 section 9.1: a key frame's 3-byte tag, start code 9d 01 2a,
 * then 14-bit width and height (little-endian, 2 bits of scale above). */
static void keyframe_size(cc_recsel *s, const uint8_t *f, size_t n)
{
    if (n < 10 || (f[0] & 1) || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a)
        return;
    int w = (f[6] | f[7] << 8) & 0x3fff, h = (f[8] | f[9] << 8) & 0x3fff;
    if (w > 0 && h > 0) {
        s->width = w;
        s->height = h;
    }
}

static int audio_packet(cc_recsel *s, const cc_rtp_hdr *h, uint8_t *buf, cc_time_us now)
{
    cc_recsel_out *o = &s->a;
    if (o->src_slot != CC_SLOT_MIC || o->src_ssrc != h->ssrc) {
        rebase(o, h->seq, h->ts, AUDIO_RATE, now);
        o->src_slot = CC_SLOT_MIC;
        o->src_ssrc = h->ssrc;
    }
    emit(o, buf, h->seq, h->ts, CC_RECSEL_AUDIO_PT, CC_RECSEL_AUDIO_SSRC, now);
    s->st.audio_pkts++;
    return CC_RECSEL_AUDIO;
}

static int video_packet(cc_recsel *s, int slot, unsigned live, const cc_rtp_hdr *h,
                        uint8_t *buf, cc_time_us now, unsigned *want_key)
{
    cc_recsel_out *o = &s->v;
    cc_vp8_desc d;
    int key = 0;
    if (h->payload_len > 0) {
        if (cc_vp8_parse(h->payload, h->payload_len, &d) != 0) {
            s->st.malformed++;
            return CC_RECSEL_DROP;
        }
        key = d.keyframe;
        if (key)
            keyframe_size(s, h->payload + d.len, h->payload_len - d.len);
    }
    int screen_on = (live & (1u << CC_SLOT_SCREEN)) && s->seen[CC_SLOT_SCREEN] &&
                    now - s->seen[CC_SLOT_SCREEN] < CC_RECSEL_SCREEN_IDLE;
    int desired = screen_on ? CC_SLOT_SCREEN : CC_SLOT_CAMERA;
    if (o->src_slot == slot && o->src_ssrc == h->ssrc) {
        /* The source being recorded goes on until the next one has a key
         * frame (padding-only packets too: they keep the numbering). */
    } else if (slot == desired && key) {
        rebase(o, h->seq, h->ts, VIDEO_RATE, now);
        if (o->src_slot != CC_RECSEL_SRC_NONE)
            s->st.switches++;
        o->src_slot = slot;
        o->src_ssrc = h->ssrc;
    } else if (slot == desired) {
        s->st.wait_keyframe++;
        *want_key |= 1u << slot;
        return CC_RECSEL_DROP;
    } else {
        s->st.not_selected++;
        return CC_RECSEL_DROP;
    }
    emit(o, buf, h->seq, h->ts, CC_RECSEL_VIDEO_PT, CC_RECSEL_VIDEO_SSRC, now);
    s->st.video_pkts++;
    return CC_RECSEL_VIDEO;
}

int cc_recsel_packet(cc_recsel *s, int slot, unsigned live, uint8_t *buf, size_t len,
                     cc_time_us now, unsigned *want_key)
{
    cc_rtp_hdr h;
    if (slot < 0 || slot >= CC_SLOT_COUNT || cc_rtp_parse(buf, len, &h) != 0) {
        s->st.malformed++;
        return CC_RECSEL_DROP;
    }
    s->seen[slot] = now;
    if (slot == CC_SLOT_MIC)
        return audio_packet(s, &h, buf, now);
    return video_packet(s, slot, live, &h, buf, now, want_key);
}

static size_t filler_header(uint8_t *out, int marker, uint8_t pt, uint16_t seq, uint32_t ts,
                            uint32_t ssrc)
{
    out[0] = 0x80;
    out[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
    out[2] = (uint8_t)(seq >> 8);
    out[3] = (uint8_t)seq;
    out[4] = (uint8_t)(ts >> 24);
    out[5] = (uint8_t)(ts >> 16);
    out[6] = (uint8_t)(ts >> 8);
    out[7] = (uint8_t)ts;
    out[8] = (uint8_t)(ssrc >> 24);
    out[9] = (uint8_t)(ssrc >> 16);
    out[10] = (uint8_t)(ssrc >> 8);
    out[11] = (uint8_t)ssrc;
    return 12;
}

/* The numbers of the next filler packet of o at time `at` (the first of a
 * run continues the output like a new source). */
static void filler_numbers(cc_recsel_out *o, cc_time_us at, uint32_t rate, int new_frame,
                           uint32_t frame_ticks, uint16_t *seq, uint32_t *ts)
{
    if (o->src_slot != CC_RECSEL_SRC_FILLER) {
        *ts = o->started ? o->last_ts + ticks(at - o->last_at, rate) : 0;
        o->src_slot = CC_RECSEL_SRC_FILLER;
        o->src_ssrc = 0;
    } else if (new_frame) {
        *ts = o->last_ts + (frame_ticks ? frame_ticks : ticks(at - o->last_at, rate));
    } else {
        *ts = o->last_ts;
    }
    *seq = (uint16_t)(o->started ? o->last_seq + 1 : 1);
    o->last_seq = *seq;
    o->last_ts = *ts;
    o->last_at = at;
    o->started = 1;
}

static int video_filler(cc_recsel *s, cc_time_us now, const cc_recsel_fill *fill,
                        uint8_t *out, size_t *len, cc_time_us *at)
{
    cc_recsel_out *o = &s->v;
    if (!fill->vp8_key || !fill->vp8_key_len)
        return CC_RECSEL_DROP;
    if (s->v_fill_off == 0) {
        cc_time_us base = o->last_real_at > s->started_at ? o->last_real_at : s->started_at;
        int due = o->src_slot == CC_RECSEL_SRC_FILLER ? now >= s->v_fill_next
                                                      : now - base >= CC_RECSEL_VIDEO_IDLE;
        if (!due)
            return CC_RECSEL_DROP;
        s->v_fill_at = now;
    }
    size_t left = fill->vp8_key_len - s->v_fill_off;
    size_t n = left > CC_RECSEL_FILL_MTU ? CC_RECSEL_FILL_MTU : left;
    int first = s->v_fill_off == 0, last = n == left;
    uint16_t seq;
    uint32_t ts;
    filler_numbers(o, s->v_fill_at, VIDEO_RATE, first, 0, &seq, &ts);
    size_t hl = filler_header(out, last, CC_RECSEL_VIDEO_PT, seq, ts, CC_RECSEL_VIDEO_SSRC);
    /* RFC 7741 section 4.2: the one-octet descriptor, S set on the first
     * packet of the frame (partition 0). */
    out[hl] = first ? 0x10 : 0x00;
    memcpy(out + hl + 1, fill->vp8_key + s->v_fill_off, n);
    *len = hl + 1 + n;
    *at = s->v_fill_at;
    s->v_fill_off += n;
    if (last) {
        s->v_fill_off = 0;
        s->v_fill_next = s->v_fill_at + CC_RECSEL_FILL_VIDEO_EVERY;
    }
    s->st.fill_video++;
    return CC_RECSEL_VIDEO;
}

static int audio_filler(cc_recsel *s, cc_time_us now, const cc_recsel_fill *fill,
                        uint8_t *out, size_t *len, cc_time_us *at)
{
    cc_recsel_out *o = &s->a;
    if (!fill->opus_silence || !fill->opus_silence_len ||
        fill->opus_silence_len > CC_RECSEL_FILL_MTU)
        return CC_RECSEL_DROP;
    if (o->src_slot != CC_RECSEL_SRC_FILLER) {
        cc_time_us base = o->last_real_at > s->started_at ? o->last_real_at : s->started_at;
        if (now - base < CC_RECSEL_AUDIO_IDLE)
            return CC_RECSEL_DROP;
        /* The silence starts where the sound stopped. */
        s->a_fill_next = o->started ? o->last_at + CC_RECSEL_FILL_AUDIO_FRAME : s->started_at;
    }
    /* After a long stall (a suspended machine), start again from now
     * rather than making up seconds at once. */
    if (now - s->a_fill_next > 2 * CC_USEC_PER_SEC)
        s->a_fill_next = now;
    if (s->a_fill_next > now)
        return CC_RECSEL_DROP;
    uint16_t seq;
    uint32_t ts;
    filler_numbers(o, s->a_fill_next, AUDIO_RATE, 1, OPUS_FRAME_TICKS, &seq, &ts);
    size_t hl = filler_header(out, 0, CC_RECSEL_AUDIO_PT, seq, ts, CC_RECSEL_AUDIO_SSRC);
    memcpy(out + hl, fill->opus_silence, fill->opus_silence_len);
    *len = hl + fill->opus_silence_len;
    *at = s->a_fill_next;
    s->a_fill_next += CC_RECSEL_FILL_AUDIO_FRAME;
    s->st.fill_audio++;
    return CC_RECSEL_AUDIO;
}

int cc_recsel_filler(cc_recsel *s, cc_time_us now, const cc_recsel_fill *fill, uint8_t *out,
                     size_t cap, size_t *len, cc_time_us *at)
{
    *len = 0;
    if (!fill || cap < 12 + 1 + CC_RECSEL_FILL_MTU)
        return CC_RECSEL_DROP;
    int k = video_filler(s, now, fill, out, len, at);
    if (k != CC_RECSEL_DROP)
        return k;
    return audio_filler(s, now, fill, out, len, at);
}

int cc_recsel_video_size(const cc_recsel *s, int *w, int *h)
{
    if (!s->width || !s->height)
        return CC_ENOTFOUND;
    *w = s->width;
    *h = s->height;
    return 0;
}
