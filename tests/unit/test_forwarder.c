/* Forwarder: SSRC/PT/seq/ts/PictureID/TL0PICIDX rewriting, continuity across
 * source switches (including wraps), keyframe wait, audio without wait,
 * stale packets, NACK sequence mapping and exact retransmission. */
#include "cc_test.h"
#include "classcast/err.h"
#include "classcast/forwarder.h"

#define MS CC_USEC_PER_MSEC

typedef struct inpkt {
    uint8_t buf[1500];
    size_t len;
    cc_rtp_hdr h;
    cc_vp8_desc d;
    cc_fwd_pkt fp;
} inpkt;

/* A publisher packet: 15-bit PictureID, TL0PICIDX, T; with a one-byte
 * header extension block and a CSRC to be stripped. */
static void mk_video(inpkt *p, uint32_t source, uint16_t seq, uint32_t ts,
                     uint16_t pid, uint8_t tl0, int key, int marker)
{
    uint8_t *b = p->buf;
    size_t n = 0;
    b[n++] = 0x80 | 0x10 | 0x01; /* V=2, X, CC=1 */
    b[n++] = (uint8_t)((marker ? 0x80 : 0) | 100);
    b[n++] = (uint8_t)(seq >> 8);
    b[n++] = (uint8_t)seq;
    for (int i = 3; i >= 0; i--)
        b[n++] = (uint8_t)(ts >> (8 * i));
    b[n++] = 0xaa; b[n++] = 0xbb; b[n++] = 0xcc; b[n++] = (uint8_t)source;
    b[n++] = 1; b[n++] = 2; b[n++] = 3; b[n++] = 4;      /* CSRC */
    b[n++] = 0xbe; b[n++] = 0xde; b[n++] = 0; b[n++] = 1; /* 1 word of ext */
    b[n++] = 0x22; b[n++] = 9; b[n++] = 9; b[n++] = 9;    /* id 2, 3 bytes */
    /* VP8 descriptor: X, S; I(M) L T. */
    b[n++] = 0x90;
    b[n++] = 0xe0;
    b[n++] = (uint8_t)(0x80 | (pid >> 8));
    b[n++] = (uint8_t)pid;
    b[n++] = tl0;
    b[n++] = 0x00;
    static const uint8_t key_tag[] = {0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02};
    static const uint8_t inter_tag[] = {0x31, 0x42, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
    memcpy(b + n, key ? key_tag : inter_tag, 8);
    n += 8;
    p->len = n;
    CC_CHECK_EQ(cc_rtp_parse(p->buf, p->len, &p->h), 0);
    CC_CHECK_EQ(cc_vp8_parse(p->h.payload, p->h.payload_len, &p->d), 0);
    CC_CHECK_EQ(p->d.keyframe, key);
    p->fp = (cc_fwd_pkt){.source = source, .buf = p->buf, .h = &p->h,
                         .vp8 = &p->d, .keyframe = p->d.keyframe};
}

static void mk_audio(inpkt *p, uint32_t source, uint16_t seq, uint32_t ts)
{
    p->len = (size_t)cc_rtp_write_header(p->buf, sizeof p->buf, 111, 0, seq,
                                         ts, 0x5000 + source);
    memset(p->buf + p->len, 0x77, 40);
    p->len += 40;
    CC_CHECK_EQ(cc_rtp_parse(p->buf, p->len, &p->h), 0);
    p->fp = (cc_fwd_pkt){.source = source, .buf = p->buf, .h = &p->h};
}

typedef struct outpkt {
    uint8_t buf[1500];
    size_t len;
    cc_rtp_hdr h;
    cc_vp8_desc d;
} outpkt;

static int fwd(cc_fwd *f, inpkt *in, cc_time_us now, outpkt *o)
{
    int rc = cc_fwd_write(f, &in->fp, now, o->buf, sizeof o->buf, &o->len);
    if (rc == CC_FWD_SEND) {
        CC_CHECK_EQ(cc_rtp_parse(o->buf, o->len, &o->h), 0);
        if (in->fp.vp8 && o->h.payload_len)
            CC_CHECK_EQ(cc_vp8_parse(o->h.payload, o->h.payload_len, &o->d), 0);
    }
    return rc;
}

static cc_fwd_config video_cfg(uint16_t seq, uint32_t ts, uint16_t pid, uint8_t tl0)
{
    return (cc_fwd_config){.ssrc = 0xdeadbeef, .pt = 96, .video = 1,
                           .clock_rate = 90000, .initial_seq = seq,
                           .initial_ts = ts, .initial_picture_id = pid,
                           .initial_tl0 = tl0};
}

static void test_basic_rewrite(void)
{
    cc_fwd f;
    cc_fwd_config c = video_cfg(1000, 50000, 300, 7);
    cc_fwd_init(&f, &c);
    inpkt in;
    outpkt o;
    /* Joined mid-stream: inter frames wait for a keyframe. */
    mk_video(&in, 1, 500, 9000, 40, 3, 0, 1);
    CC_CHECK_EQ(fwd(&f, &in, 0, &o), CC_FWD_WAIT_KEYFRAME);
    mk_video(&in, 1, 501, 12000, 41, 4, 1, 0);
    CC_CHECK_EQ(fwd(&f, &in, 1 * MS, &o), CC_FWD_SEND);
    CC_CHECK_EQ(o.h.ssrc, 0xdeadbeef);
    CC_CHECK_EQ(o.h.pt, 96);
    CC_CHECK_EQ(o.h.seq, 1000);
    CC_CHECK_EQ(o.h.ts, 50000);
    CC_CHECK_EQ(o.h.marker, 0);
    CC_CHECK_EQ(o.h.extension, 0);   /* publisher's extensions stripped */
    CC_CHECK_EQ(o.h.csrc_count, 0);
    CC_CHECK_EQ(o.h.header_len, 12);
    CC_CHECK_EQ(o.d.picture_id, 300);
    CC_CHECK_EQ(o.d.tl0picidx, 7);
    CC_CHECK_EQ(o.d.keyframe, 1);
    CC_CHECK_EQ(o.len, 12 + in.h.payload_len);
    CC_CHECK_MEM(o.h.payload + o.d.len, in.h.payload + in.d.len,
                 in.h.payload_len - in.d.len);
    /* Same frame, marker. */
    mk_video(&in, 1, 502, 12000, 41, 4, 0, 1);
    CC_CHECK_EQ(fwd(&f, &in, 2 * MS, &o), CC_FWD_SEND);
    CC_CHECK_EQ(o.h.seq, 1001);
    CC_CHECK_EQ(o.h.ts, 50000);
    CC_CHECK_EQ(o.h.marker, 1);
    CC_CHECK_EQ(o.d.picture_id, 300);
    /* Gap (503 lost) is kept so the subscriber can NACK it. */
    mk_video(&in, 1, 504, 15000, 42, 4, 0, 1);
    CC_CHECK_EQ(fwd(&f, &in, 35 * MS, &o), CC_FWD_SEND);
    CC_CHECK_EQ(o.h.seq, 1003);
    CC_CHECK_EQ(o.h.ts, 53000);
    CC_CHECK_EQ(o.d.picture_id, 301);
    /* Before the epoch's first packet: dropped. */
    mk_video(&in, 1, 499, 9000, 40, 3, 0, 0);
    CC_CHECK_EQ(fwd(&f, &in, 36 * MS, &o), CC_FWD_DROP_OLD);
    CC_CHECK_EQ(f.packets, 3);
    /* Too small a buffer. */
    mk_video(&in, 1, 505, 15000, 42, 4, 0, 1);
    CC_CHECK_EQ(cc_fwd_write(&f, &in.fp, 37 * MS, o.buf, 20, &o.len), CC_ENOSPC);
}

static void test_switch_continuity(void)
{
    cc_fwd f;
    cc_fwd_config c = video_cfg(2000, 100000, 1000, 50);
    cc_fwd_init(&f, &c);
    inpkt in;
    outpkt o;
    cc_time_us now = 0;
    uint16_t seq = 30000;
    for (int i = 0; i < 10; i++, now += 33 * MS) {
        mk_video(&in, 1, seq++, 7777 + (uint32_t)i * 3000, (uint16_t)(5 + i),
                 (uint8_t)(9 + i), i == 0, 1);
        CC_CHECK_EQ(fwd(&f, &in, now, &o), CC_FWD_SEND);
    }
    uint16_t last_seq = o.h.seq;
    uint32_t last_ts = o.h.ts;
    uint16_t last_pid = o.d.picture_id;
    uint8_t last_tl0 = o.d.tl0picidx;
    CC_CHECK_EQ(last_seq, 2009);
    CC_CHECK_EQ(last_pid, 1009);
    /* The teacher reloads: new source with unrelated numbers, 2 s later.
     * Its first packets are inter frames: wait. */
    now += 2 * CC_USEC_PER_SEC;
    mk_video(&in, 2, 12, 999999, 20000, 200, 0, 1);
    CC_CHECK_EQ(fwd(&f, &in, now, &o), CC_FWD_WAIT_KEYFRAME);
    now += 100 * MS;
    mk_video(&in, 2, 13, 1008999, 20001, 201, 1, 0);
    CC_CHECK_EQ(fwd(&f, &in, now, &o), CC_FWD_SEND);
    CC_CHECK_EQ(o.h.seq, (uint16_t)(last_seq + 1));
    /* Timestamp advanced by the wall time since the last packet. */
    /* last packet at now0, then 33 ms + 2 s + 100 ms. */
    uint32_t want_ts = last_ts + (uint32_t)(2133 * MS * 90000 / CC_USEC_PER_SEC);
    CC_CHECK_EQ(o.h.ts, want_ts);
    CC_CHECK_EQ(o.d.picture_id, (uint16_t)(last_pid + 1));
    CC_CHECK_EQ(o.d.tl0picidx, (uint8_t)(last_tl0 + 1));
    CC_CHECK_EQ(o.h.ssrc, 0xdeadbeef);
    CC_CHECK_EQ(f.epochs, 2);
    /* A late packet of the old source is now just another source switch
     * attempt: it must not be forwarded (inter frame -> wait). */
    mk_video(&in, 1, seq, 7777, 16, 19, 0, 1);
    CC_CHECK_EQ(fwd(&f, &in, now, &o), CC_FWD_WAIT_KEYFRAME);
}

static void test_wraps(void)
{
    /* Everything about to wrap on the subscriber side. */
    cc_fwd f;
    cc_fwd_config c = video_cfg(65534, 0xFFFFFFFFu - 3000, 0x7ffe, 254);
    cc_fwd_init(&f, &c);
    inpkt in;
    outpkt o;
    mk_video(&in, 1, 100, 1000, 10, 1, 1, 1);
    CC_CHECK_EQ(fwd(&f, &in, 0, &o), CC_FWD_SEND);
    CC_CHECK_EQ(o.h.seq, 65534);
    mk_video(&in, 1, 101, 4000, 11, 2, 0, 1);
    CC_CHECK_EQ(fwd(&f, &in, 33 * MS, &o), CC_FWD_SEND);
    CC_CHECK_EQ(o.h.seq, 65535);
    CC_CHECK_EQ(o.h.ts, 0xFFFFFFFFu);
    CC_CHECK_EQ(o.d.picture_id, 0x7fff);
    CC_CHECK_EQ(o.d.tl0picidx, 255);
    /* Switch across the wrap point. */
    mk_video(&in, 2, 65535, 0xFFFFFFF0u, 0x7fff, 255, 1, 1);
    CC_CHECK_EQ(fwd(&f, &in, 66 * MS, &o), CC_FWD_SEND);
    CC_CHECK_EQ(o.h.seq, 0);
    CC_CHECK_EQ(o.h.ts, 0xFFFFFFFFu + 33 * 90);
    CC_CHECK_EQ(o.d.picture_id, 0);
    CC_CHECK_EQ(o.d.tl0picidx, 0);
    /* The new source wraps its own numbers: still continuous. */
    mk_video(&in, 2, 0, (uint32_t)(0xFFFFFFF0u + 3000), 0, 0, 0, 1);
    CC_CHECK_EQ(fwd(&f, &in, 99 * MS, &o), CC_FWD_SEND);
    CC_CHECK_EQ(o.h.seq, 1);
    CC_CHECK_EQ(o.h.ts, 0xFFFFFFFFu + 33 * 90 + 3000);
    CC_CHECK_EQ(o.d.picture_id, 1);
    CC_CHECK_EQ(o.d.tl0picidx, 1);
    uint16_t src;
    CC_CHECK_EQ(cc_fwd_map_seq(&f, 0, &src), 0);
    CC_CHECK_EQ(src, 65535);
    CC_CHECK_EQ(cc_fwd_map_seq(&f, 1, &src), 0);
    CC_CHECK_EQ(src, 0);
    CC_CHECK_EQ(cc_fwd_map_seq(&f, 65535, &src), CC_ENOTFOUND); /* old epoch */
    CC_CHECK_EQ(cc_fwd_map_seq(&f, 2, &src), CC_ENOTFOUND);     /* not sent yet */
}

static void test_audio_no_wait(void)
{
    cc_fwd f;
    cc_fwd_config c = {.ssrc = 77, .pt = 109, .video = 0, .clock_rate = 48000,
                       .initial_seq = 10, .initial_ts = 480};
    cc_fwd_init(&f, &c);
    inpkt in;
    outpkt o;
    mk_audio(&in, 1, 4000, 123456);
    CC_CHECK_EQ(fwd(&f, &in, 0, &o), CC_FWD_SEND);
    CC_CHECK_EQ(o.h.seq, 10);
    CC_CHECK_EQ(o.h.ts, 480);
    CC_CHECK_EQ(o.h.pt, 109);
    CC_CHECK_EQ(o.h.ssrc, 77);
    CC_CHECK_MEM(o.h.payload, in.h.payload, 40);
    mk_audio(&in, 1, 4001, 123456 + 960);
    CC_CHECK_EQ(fwd(&f, &in, 20 * MS, &o), CC_FWD_SEND);
    CC_CHECK_EQ(o.h.ts, 480 + 960);
    /* New source: forwarded at once, continuing. */
    mk_audio(&in, 2, 9, 5);
    CC_CHECK_EQ(fwd(&f, &in, 520 * MS, &o), CC_FWD_SEND);
    CC_CHECK_EQ(o.h.seq, 12);
    CC_CHECK_EQ(o.h.ts, 480 + 960 + 500 * 48);
    /* SR timestamp extrapolates from the last packet sent. */
    CC_CHECK_EQ(cc_fwd_sr_ts(&f, 620 * MS), 480 + 960 + 500 * 48 + 100 * 48);
    CC_CHECK_EQ(f.packets, 3);
    CC_CHECK_EQ(f.octets, 120);
}

static void test_nack_and_again(void)
{
    cc_fwd f;
    cc_fwd_config c = video_cfg(100, 0, 0, 0);
    cc_fwd_init(&f, &c);
    inpkt in[5];
    outpkt o[5];
    for (int i = 0; i < 5; i++) {
        mk_video(&in[i], 3, (uint16_t)(65533 + i), 90000, 17, 2, i == 0, i == 4);
        CC_CHECK_EQ(fwd(&f, &in[i], 0, &o[i]), CC_FWD_SEND);
    }
    for (int i = 0; i < 5; i++) {
        uint16_t src;
        CC_CHECK_EQ(cc_fwd_map_seq(&f, (uint16_t)(100 + i), &src), 0);
        CC_CHECK_EQ(src, (uint16_t)(65533 + i));
        /* The repeat is byte-identical to the original send. */
        outpkt r;
        CC_CHECK_EQ(cc_fwd_write_again(&f, &in[i].fp, r.buf, sizeof r.buf, &r.len), 0);
        CC_CHECK_EQ(r.len, o[i].len);
        CC_CHECK_MEM(r.buf, o[i].buf, r.len);
    }
    uint16_t src;
    CC_CHECK_EQ(cc_fwd_map_seq(&f, 99, &src), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_fwd_map_seq(&f, 105, &src), CC_ENOTFOUND);
    /* Another source's packet is never resent on this stream. */
    inpkt other;
    outpkt r;
    mk_video(&other, 4, 65534, 0, 0, 0, 0, 0);
    CC_CHECK_EQ(cc_fwd_write_again(&f, &other.fp, r.buf, sizeof r.buf, &r.len),
                CC_ENOTFOUND);
    CC_CHECK_EQ(f.packets, 5); /* repeats are not new packets */
}

static void test_padding_only(void)
{
    cc_fwd f;
    cc_fwd_config c = video_cfg(1, 1, 1, 1);
    cc_fwd_init(&f, &c);
    inpkt in;
    outpkt o;
    mk_video(&in, 1, 10, 0, 5, 5, 1, 1);
    CC_CHECK_EQ(fwd(&f, &in, 0, &o), CC_FWD_SEND);
    /* A 200-byte padding-only probe. */
    inpkt pad;
    pad.len = (size_t)cc_rtp_write_header(pad.buf, sizeof pad.buf, 100, 0, 11, 0, 9);
    pad.buf[0] |= 0x20;
    memset(pad.buf + pad.len, 0, 199);
    pad.buf[pad.len + 199] = 200;
    pad.len += 200;
    CC_CHECK_EQ(cc_rtp_parse(pad.buf, pad.len, &pad.h), 0);
    CC_CHECK_EQ(pad.h.payload_len, 0);
    pad.fp = (cc_fwd_pkt){.source = 1, .buf = pad.buf, .h = &pad.h};
    CC_CHECK_EQ(cc_fwd_write(&f, &pad.fp, 1, o.buf, sizeof o.buf, &o.len), CC_FWD_SEND);
    CC_CHECK_EQ(o.len, 13);
    CC_CHECK_EQ(cc_rtp_parse(o.buf, o.len, &o.h), 0);
    CC_CHECK_EQ(o.h.padding, 1);
    CC_CHECK_EQ(o.h.padding_len, 1);
    CC_CHECK_EQ(o.h.payload_len, 0);
    CC_CHECK_EQ(o.h.seq, 2);
}

/* A temporally layered picture packet: TID, Y and S set as given. */
static void mk_layered(inpkt *p, uint16_t seq, uint32_t ts, uint16_t pid,
                       uint8_t tl0, int tid, int y, int start, int key)
{
    mk_video(p, 1, seq, ts, pid, tl0, key, 0);
    uint8_t *d = (uint8_t *)p->h.payload;
    if (!start)
        d[0] &= (uint8_t)~0x10;
    d[5] = (uint8_t)((tid & 3) << 6 | (y ? 0x20 : 0));
    CC_CHECK_EQ(cc_vp8_parse(p->h.payload, p->h.payload_len, &p->d), 0);
    p->fp.keyframe = p->d.keyframe;
}

/* Pattern 0-2-1-2, two packets a picture, Y on the first TL1 and TL2 after
 * each TL0. Returns the TID of picture i. */
static int pattern_tid(int i) { static const int t[4] = {0, 2, 1, 2}; return t[i % 4]; }

static void test_temporal_layers(void)
{
    cc_fwd f;
    cc_fwd_config cfg = video_cfg(500, 1000, 10, 3);
    cc_fwd_init(&f, &cfg);
    CC_CHECK(!cc_fwd_has_layers(&f));
    inpkt in;
    outpkt o;
    static outpkt sent[200];
    static inpkt ins[200];
    int n = 0;
    uint16_t seq = 7000;
    int prev_out_pid = -1, pics_sent = 0, pads = 0;
    uint16_t prev_out_seq = 0;
    for (int pic = 0; pic < 40; pic++) {
        int tid = pattern_tid(pic);
        uint8_t tl0 = (uint8_t)(50 + pic / 4);
        if (pic == 8)
            cc_fwd_set_max_tid(&f, 0);   /* weak link: TL0 only */
        if (pic == 21)
            cc_fwd_set_max_tid(&f, 1);   /* better: up to TL1 at a Y picture */
        if (pic == 30)
            cc_fwd_set_max_tid(&f, CC_FWD_ALL_LAYERS);
        for (int k = 0; k < 2; k++, seq++) {
            mk_layered(&in, seq, 9000 + (uint32_t)pic * 3000, (uint16_t)(300 + pic), tl0,
                       tid, tid > 0, k == 0, pic == 0 && k == 0);
            int rc = fwd(&f, &in, pic * 33 * MS, &o);
            CC_CHECK_EQ(rc, CC_FWD_SEND);
            if (n < 200) {
                ins[n] = in;
                ins[n].fp.buf = ins[n].buf;
                ins[n].fp.h = &ins[n].h;
                ins[n].fp.vp8 = &ins[n].d;
                /* the header view points into the copy's buffer */
                cc_rtp_parse(ins[n].buf, ins[n].len, &ins[n].h);
                cc_vp8_parse(ins[n].h.payload, ins[n].h.payload_len, &ins[n].d);
                sent[n++] = o;
            }
            if (n > 1)
                CC_CHECK_EQ(o.h.seq, (uint16_t)(prev_out_seq + 1)); /* no gap, ever */
            prev_out_seq = o.h.seq;
            int expect_sent = pic < 8 ? 1
                            : pic < 21 ? tid == 0
                            : pic < 30 ? (tid <= 1 && pic >= 22) || tid == 0
                            : (tid <= 1) || pic >= 31;
            if (!expect_sent) {
                CC_CHECK_EQ(o.h.payload_len, 0); /* padding only */
                CC_CHECK(o.buf[0] & 0x20);
                pads++;
                continue;
            }
            CC_CHECK(o.h.payload_len > 0);
            CC_CHECK_EQ(o.d.tid, tid);
            if (k == 0) {
                if (prev_out_pid >= 0)
                    CC_CHECK_EQ(o.d.picture_id, (uint16_t)((prev_out_pid + 1) & 0x7fff));
                prev_out_pid = o.d.picture_id;
                pics_sent++;
            } else {
                CC_CHECK_EQ(o.d.picture_id, (uint16_t)prev_out_pid);
            }
        }
    }
    CC_CHECK(cc_fwd_has_layers(&f));
    /* 8 + (13 pictures at TL0 only: 4) + (pic 22,24,25,26,28,29 ...) */
    CC_CHECK_EQ(f.pictures_dropped, (uint32_t)(40 - pics_sent));
    CC_CHECK_EQ(f.packets_thinned, (uint32_t)pads);
    CC_CHECK(pads > 0 && f.layer_switches == 3);

    /* A NACK for a thinned packet gets padding again; for a sent one, the
     * same bytes as the first time (PictureID as sent, though the offset
     * moved since). */
    int checked_pad = 0, checked_media = 0;
    for (int i = n - 30; i < n; i++) {
        uint8_t buf[1500];
        size_t len;
        CC_CHECK_EQ(cc_fwd_write_again(&f, &ins[i].fp, buf, sizeof buf, &len), 0);
        CC_CHECK_EQ(len, sent[i].len);
        CC_CHECK(memcmp(buf, sent[i].buf, len) == 0);
        if (sent[i].h.payload_len == 0)
            checked_pad++;
        else
            checked_media++;
    }
    CC_CHECK(checked_pad > 0 && checked_media > 0);
}

/* Upstream gaps: source packets that never reached the SFU are numbers
 * the subscriber misses; thinned pictures (padding), a new source's epoch
 * and a hold are not gaps; a late packet fills its gap; a duplicate
 * changes nothing. */
static void test_upstream_gaps(void)
{
    cc_fwd f;
    cc_fwd_config cfg = video_cfg(65500, 1000, 10, 3); /* out numbers wrap */
    cc_fwd_init(&f, &cfg);
    cc_fwd_set_max_tid(&f, 0); /* thinning on from the start */
    inpkt in;
    outpkt o;
    uint16_t seq = 100;
    uint32_t lost = 0, pads = 0;
    uint16_t lost_out[64];
    for (int pic = 0; pic < 40; pic++) {
        int tid = pattern_tid(pic);
        for (int k = 0; k < 2; k++, seq++) {
            /* Every 7th source packet after the keyframe is lost upstream. */
            if (pic > 0 && seq % 7 == 0) {
                lost_out[lost++] = (uint16_t)(seq + f.seq_off);
                continue;
            }
            mk_layered(&in, seq, 9000 + (uint32_t)pic * 3000, (uint16_t)(300 + pic),
                       (uint8_t)(pic / 4), tid, tid > 0, k == 0, pic == 0 && k == 0);
            CC_CHECK_EQ(fwd(&f, &in, pic * 33 * MS, &o), CC_FWD_SEND);
            pads += o.h.payload_len == 0;
            CC_CHECK(!cc_fwd_is_gap(&f, o.h.seq));
        }
    }
    CC_CHECK(pads > 20 && lost > 8);
    CC_CHECK_EQ(f.gaps, lost);
    CC_CHECK_EQ(f.gaps_filled, 0);
    for (uint32_t i = 0; i < lost; i++)
        CC_CHECK(cc_fwd_is_gap(&f, lost_out[i]));
    CC_CHECK_EQ(cc_fwd_upstream_lost(&f, f.last_seq), lost);
    /* A report whose highest number is just before the last gap has not
     * seen it yet. */
    CC_CHECK_EQ(cc_fwd_upstream_lost(&f, (uint16_t)(lost_out[lost - 1] - 1)), lost - 1);
    /* ... nor one from the future (a stale or bogus report: all of them). */
    CC_CHECK_EQ(cc_fwd_upstream_lost(&f, (uint16_t)(f.last_seq + 5)), lost);
    /* The SFU's NACK to the publisher brings one of them late. */
    uint16_t late = (uint16_t)(lost_out[lost - 2] - f.seq_off);
    mk_layered(&in, late, 9000 + 38u * 3000, 338, 9, pattern_tid(38), 1, 0, 0);
    CC_CHECK_EQ(fwd(&f, &in, 40 * 33 * MS, &o), CC_FWD_SEND);
    CC_CHECK_EQ(o.h.seq, lost_out[lost - 2]);
    CC_CHECK(!cc_fwd_is_gap(&f, lost_out[lost - 2]));
    CC_CHECK_EQ(f.gaps_filled, 1);
    CC_CHECK_EQ(cc_fwd_upstream_lost(&f, f.last_seq), lost - 1);
    /* The same packet again (the publisher answered twice): no change. */
    CC_CHECK_EQ(fwd(&f, &in, 40 * 33 * MS, &o), CC_FWD_SEND);
    CC_CHECK_EQ(f.gaps_filled, 1);
    /* A hold, then a new source (the teacher reloads): the numbers go on
     * without a gap. */
    cc_fwd_hold(&f);
    mk_video(&in, 2, 9000, 5000, 77, 1, 1, 0);
    CC_CHECK_EQ(fwd(&f, &in, 2000 * MS, &o), CC_FWD_SEND);
    mk_video(&in, 2, 9001, 5000, 77, 1, 0, 1);
    CC_CHECK_EQ(fwd(&f, &in, 2001 * MS, &o), CC_FWD_SEND);
    CC_CHECK_EQ(f.gaps, lost);
    /* A long outage upstream: all of it counts, the last 1023 numbers are
     * known one by one. */
    mk_video(&in, 2, 9001 + 3001, 8000, 78, 1, 0, 1);
    CC_CHECK_EQ(fwd(&f, &in, 3000 * MS, &o), CC_FWD_SEND);
    CC_CHECK_EQ(f.gaps, lost + 3000);
    CC_CHECK(cc_fwd_is_gap(&f, (uint16_t)(o.h.seq - 1)));
    CC_CHECK(cc_fwd_is_gap(&f, (uint16_t)(o.h.seq - 1023)));
    CC_CHECK(!cc_fwd_is_gap(&f, (uint16_t)(o.h.seq - 1024)));
    CC_CHECK(!cc_fwd_is_gap(&f, o.h.seq));
    CC_CHECK_EQ(cc_fwd_upstream_lost(&f, (uint16_t)(o.h.seq - 10)), lost - 1 + 3000 - 9);
}

int main(void)
{
    CC_RUN(test_basic_rewrite);
    CC_RUN(test_switch_continuity);
    CC_RUN(test_wraps);
    CC_RUN(test_audio_no_wait);
    CC_RUN(test_nack_and_again);
    CC_RUN(test_padding_only);
    CC_RUN(test_temporal_layers);
    CC_RUN(test_upstream_gaps);
    CC_TEST_DONE();
}
