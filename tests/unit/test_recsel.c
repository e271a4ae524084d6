/* What a recording keeps of the teacher's packets (src/media/recsel.c), on
 * a manual clock: audio from a new source continues the numbering with a
 * timestamp step that follows the arrival gap; video changes source only
 * at a key frame of the new one and asks for one meanwhile; the screen is
 * preferred while it is live; fillers (black key frame, Opus silence) come
 * when nothing arrives and stop when the teacher's media is back;
 * malformed input is counted, never kept. */
#include "cc_test.h"

#include "classcast/err.h"
#include "classcast/recsel.h"
#include "classcast/rtp.h"
#include "classcast/slot.h"

#define MS CC_USEC_PER_MSEC
#define LIVE_CAM_MIC ((1u << CC_SLOT_CAMERA) | (1u << CC_SLOT_MIC))
#define LIVE_ALL (LIVE_CAM_MIC | (1u << CC_SLOT_SCREEN))

static uint8_t g_pkt[1500];
static size_t g_len;

static void rtp(uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, const uint8_t *payload,
                size_t plen)
{
    g_len = (size_t)cc_rtp_write_header(g_pkt, sizeof g_pkt, pt, 1, seq, ts, ssrc);
    memcpy(g_pkt + g_len, payload, plen);
    g_len += plen;
}

/* VP8 payloads (RFC 7741 4.2 descriptor with a 15-bit PictureID, then a
 * frame tag): a key frame of 320x240, and an inter frame. */
static const uint8_t KEY[] = {0x90, 0x80, 0x80, 0x01, 0x50, 0x42, 0x00, 0x9d, 0x01,
                              0x2a, 0x40, 0x01, 0xf0, 0x00, 0xaa, 0xbb};
static const uint8_t INTER[] = {0x90, 0x80, 0x80, 0x02, 0x31, 0x42, 0x00, 0x11, 0x22};
static const uint8_t OPUS[] = {0x78, 1, 2, 3, 4, 5};

static cc_rtp_hdr out(void)
{
    cc_rtp_hdr h;
    CC_CHECK_EQ(cc_rtp_parse(g_pkt, g_len, &h), 0);
    return h;
}

static int video(cc_recsel *s, int slot, unsigned live, uint16_t seq, uint32_t ts, uint32_t ssrc,
                 int key, cc_time_us now, unsigned *want)
{
    rtp(96, seq, ts, ssrc, key ? KEY : INTER, key ? sizeof KEY : sizeof INTER);
    return cc_recsel_packet(s, slot, live, g_pkt, g_len, now, want);
}

static int audio(cc_recsel *s, uint16_t seq, uint32_t ts, uint32_t ssrc, cc_time_us now)
{
    unsigned want = 0;
    rtp(111, seq, ts, ssrc, OPUS, sizeof OPUS);
    return cc_recsel_packet(s, CC_SLOT_MIC, LIVE_CAM_MIC, g_pkt, g_len, now, &want);
}

static void test_audio_sources(void)
{
    cc_recsel s;
    cc_time_us t = 1000 * MS;
    cc_recsel_init(&s, t);
    CC_CHECK_EQ(audio(&s, 65535, 4000000000u, 0x1111, t), CC_RECSEL_AUDIO);
    cc_rtp_hdr h = out();
    CC_CHECK_EQ(h.ssrc, CC_RECSEL_AUDIO_SSRC);
    CC_CHECK_EQ(h.pt, CC_RECSEL_AUDIO_PT);
    uint16_t s0 = h.seq;
    uint32_t t0 = h.ts;
    /* the input wraps; the output follows */
    CC_CHECK_EQ(audio(&s, 0, 4000000960u, 0x1111, t + 20 * MS), CC_RECSEL_AUDIO);
    h = out();
    CC_CHECK_EQ(h.seq, (uint16_t)(s0 + 1));
    CC_CHECK_EQ(h.ts, t0 + 960);
    /* reordered: the earlier number comes back out as such */
    CC_CHECK_EQ(audio(&s, 65534, 4000000000u - 960, 0x1111, t + 21 * MS), CC_RECSEL_AUDIO);
    CC_CHECK_EQ(out().seq, (uint16_t)(s0 - 1));
    /* a reloaded page: new SSRC and numbering 100 ms later */
    CC_CHECK_EQ(audio(&s, 777, 12345, 0x2222, t + 120 * MS), CC_RECSEL_AUDIO);
    h = out();
    CC_CHECK_EQ(h.ssrc, CC_RECSEL_AUDIO_SSRC);
    CC_CHECK_EQ(h.seq, (uint16_t)(s0 + 2));
    CC_CHECK_EQ(h.ts, t0 + 960 + 100 * 48); /* 100 ms at 48 kHz */
    CC_CHECK_EQ(audio(&s, 778, 12345 + 960, 0x2222, t + 140 * MS), CC_RECSEL_AUDIO);
    h = out();
    CC_CHECK_EQ(h.seq, (uint16_t)(s0 + 3));
    CC_CHECK_EQ(h.ts, t0 + 960 + 4800 + 960);
    CC_CHECK_EQ(s.st.audio_pkts, 5);
}

static void test_video_switch(void)
{
    cc_recsel s;
    cc_time_us t = 1000 * MS;
    unsigned want = 0;
    cc_recsel_init(&s, t);
    /* nothing before a key frame */
    CC_CHECK_EQ(video(&s, CC_SLOT_CAMERA, LIVE_CAM_MIC, 10, 1000, 0xa, 0, t, &want), CC_RECSEL_DROP);
    CC_CHECK_EQ(want, 1u << CC_SLOT_CAMERA);
    CC_CHECK_EQ(s.st.wait_keyframe, 1);
    want = 0;
    CC_CHECK_EQ(video(&s, CC_SLOT_CAMERA, LIVE_CAM_MIC, 11, 4000, 0xa, 1, t + 33 * MS, &want),
                CC_RECSEL_VIDEO);
    CC_CHECK_EQ(want, 0);
    cc_rtp_hdr h = out();
    CC_CHECK_EQ(h.ssrc, CC_RECSEL_VIDEO_SSRC);
    CC_CHECK_EQ(h.pt, CC_RECSEL_VIDEO_PT);
    uint16_t s0 = h.seq;
    uint32_t t0 = h.ts;
    int w = 0, hh = 0;
    CC_CHECK_EQ(cc_recsel_video_size(&s, &w, &hh), 0);
    CC_CHECK(w == 320 && hh == 240);
    CC_CHECK_EQ(video(&s, CC_SLOT_CAMERA, LIVE_CAM_MIC, 12, 7000, 0xa, 0, t + 66 * MS, &want),
                CC_RECSEL_VIDEO);
    CC_CHECK_EQ(out().ts, t0 + 3000);
    /* a new camera source (another tab): the old one goes on until the
     * new one sends a key frame, which is asked for */
    CC_CHECK_EQ(video(&s, CC_SLOT_CAMERA, LIVE_CAM_MIC, 5000, 90, 0xb, 0, t + 70 * MS, &want),
                CC_RECSEL_DROP);
    CC_CHECK_EQ(want, 1u << CC_SLOT_CAMERA);
    CC_CHECK_EQ(video(&s, CC_SLOT_CAMERA, LIVE_CAM_MIC, 13, 10000, 0xa, 0, t + 99 * MS, &want),
                CC_RECSEL_VIDEO);
    CC_CHECK_EQ(out().seq, (uint16_t)(s0 + 2));
    CC_CHECK_EQ(video(&s, CC_SLOT_CAMERA, LIVE_CAM_MIC, 5001, 3090, 0xb, 1, t + 132 * MS, &want),
                CC_RECSEL_VIDEO);
    h = out();
    CC_CHECK_EQ(h.seq, (uint16_t)(s0 + 3));
    CC_CHECK_EQ(h.ts, t0 + 6000 + 33 * 90);
    CC_CHECK_EQ(s.st.switches, 1);
    /* the old source is not recorded any more */
    CC_CHECK_EQ(video(&s, CC_SLOT_CAMERA, LIVE_CAM_MIC, 14, 13000, 0xa, 0, t + 133 * MS, &want),
                CC_RECSEL_DROP);

    /* the screen, once live and sending, wins at its key frame */
    want = 0;
    cc_time_us t2 = t + 200 * MS;
    CC_CHECK_EQ(video(&s, CC_SLOT_SCREEN, LIVE_ALL, 1, 1, 0xc, 0, t2, &want), CC_RECSEL_DROP);
    CC_CHECK_EQ(want, 1u << CC_SLOT_SCREEN);
    CC_CHECK_EQ(video(&s, CC_SLOT_CAMERA, LIVE_ALL, 5002, 6090, 0xb, 0, t2 + 1 * MS, &want),
                CC_RECSEL_VIDEO); /* still the camera meanwhile */
    CC_CHECK_EQ(video(&s, CC_SLOT_SCREEN, LIVE_ALL, 2, 9001, 0xc, 1, t2 + 50 * MS, &want),
                CC_RECSEL_VIDEO);
    CC_CHECK_EQ(video(&s, CC_SLOT_CAMERA, LIVE_ALL, 5003, 9090, 0xb, 0, t2 + 51 * MS, &want),
                CC_RECSEL_DROP);
    CC_CHECK_EQ(s.st.not_selected, 1);
    /* the screen share ends (its feed goes): back to the camera at its
     * next key frame */
    want = 0;
    CC_CHECK_EQ(video(&s, CC_SLOT_CAMERA, LIVE_CAM_MIC, 5004, 12090, 0xb, 0, t2 + 90 * MS, &want),
                CC_RECSEL_DROP);
    CC_CHECK_EQ(want, 1u << CC_SLOT_CAMERA);
    CC_CHECK_EQ(video(&s, CC_SLOT_CAMERA, LIVE_CAM_MIC, 5005, 15090, 0xb, 1, t2 + 120 * MS, &want),
                CC_RECSEL_VIDEO);
    CC_CHECK_EQ(s.st.switches, 3);
    /* a screen feed that is live but has sent nothing for a long time (a
     * page that stopped sharing without renegotiating) does not hold the
     * camera back */
    cc_time_us t3 = t2 + 120 * MS + CC_RECSEL_SCREEN_IDLE + 1;
    want = 0;
    CC_CHECK_EQ(video(&s, CC_SLOT_CAMERA, LIVE_ALL, 5006, 18090, 0xb, 0, t3, &want),
                CC_RECSEL_VIDEO);
    CC_CHECK_EQ(want, 0);
}

static void test_fillers(void)
{
    cc_recsel s;
    cc_time_us t = 1000 * MS;
    cc_recsel_init(&s, t);
    uint8_t key[2500];
    memset(key, 0x11, sizeof key);
    const uint8_t silence[] = {0xf8, 0xff, 0xfe};
    cc_recsel_fill f = {key, sizeof key, silence, sizeof silence};
    uint8_t buf[12 + 1 + CC_RECSEL_FILL_MTU];
    size_t n;
    cc_time_us at;
    /* too small a buffer: nothing */
    CC_CHECK_EQ(cc_recsel_filler(&s, t + 10000 * MS, &f, buf, 100, &n, &at), CC_RECSEL_DROP);
    /* a little silence is not filled yet */
    CC_CHECK_EQ(audio(&s, 1, 0, 0x1, t), CC_RECSEL_AUDIO);
    uint16_t aseq = out().seq;
    CC_CHECK_EQ(cc_recsel_filler(&s, t + 200 * MS, &f, buf, sizeof buf, &n, &at), CC_RECSEL_DROP);
    /* 300 ms without sound: 20 ms frames of silence from where it stopped */
    cc_time_us now = t + CC_RECSEL_AUDIO_IDLE;
    int frames = 0;
    cc_time_us first = 0, last = 0;
    int k;
    while ((k = cc_recsel_filler(&s, now, &f, buf, sizeof buf, &n, &at)) == CC_RECSEL_AUDIO) {
        g_len = n;
        memcpy(g_pkt, buf, n);
        cc_rtp_hdr h = out();
        CC_CHECK_EQ(h.seq, (uint16_t)(aseq + 1 + frames));
        CC_CHECK_EQ(h.ts, 960u * (unsigned)(frames + 1));
        CC_CHECK_EQ(h.payload_len, sizeof silence);
        if (!frames)
            first = at;
        last = at;
        frames++;
    }
    CC_CHECK_EQ(k, CC_RECSEL_DROP);
    CC_CHECK_EQ(first, t + 20 * MS);
    CC_CHECK_EQ(last, now);
    CC_CHECK_EQ(frames, 15);
    /* sound again: numbering continues after the silence */
    CC_CHECK_EQ(audio(&s, 2, 960, 0x1, now + 10 * MS), CC_RECSEL_AUDIO);
    CC_CHECK_EQ(out().seq, (uint16_t)(aseq + 16));

    /* no video at all for 1.5 s: a black key frame in MTU-sized pieces,
     * then one every 500 ms */
    now = t + CC_RECSEL_VIDEO_IDLE;
    size_t total = 0;
    int pieces = 0;
    uint32_t ts0 = 0;
    while ((k = cc_recsel_filler(&s, now, &f, buf, sizeof buf, &n, &at)) != CC_RECSEL_DROP) {
        if (k != CC_RECSEL_VIDEO)
            continue; /* the silence of the last 1.2 s */
        g_len = n;
        memcpy(g_pkt, buf, n);
        cc_rtp_hdr h = out();
        CC_CHECK_EQ(h.ssrc, CC_RECSEL_VIDEO_SSRC);
        CC_CHECK_EQ(h.payload[0], pieces ? 0x00 : 0x10);
        if (!pieces)
            ts0 = h.ts;
        CC_CHECK_EQ(h.ts, ts0);
        total += h.payload_len - 1;
        pieces++;
        CC_CHECK_EQ(h.marker, total == sizeof key);
    }
    CC_CHECK_EQ(total, sizeof key);
    CC_CHECK_EQ(pieces, 3);
    CC_CHECK_EQ(s.v.src_slot, CC_RECSEL_SRC_FILLER);
    CC_CHECK_EQ(cc_recsel_filler(&s, now + 499 * MS, &f, buf, sizeof buf, &n, &at),
                CC_RECSEL_AUDIO); /* audio is idle again too */
    while (cc_recsel_filler(&s, now + 499 * MS, &f, buf, sizeof buf, &n, &at) == CC_RECSEL_AUDIO)
        ;
    CC_CHECK_EQ(cc_recsel_filler(&s, now + 500 * MS, &f, buf, sizeof buf, &n, &at),
                CC_RECSEL_VIDEO);
    g_len = n;
    memcpy(g_pkt, buf, n);
    CC_CHECK_EQ(out().ts, ts0 + 500 * 90);
    while (cc_recsel_filler(&s, now + 500 * MS, &f, buf, sizeof buf, &n, &at) != CC_RECSEL_DROP)
        ;
    /* the camera comes: an inter frame is not enough, a key frame is */
    unsigned want = 0;
    cc_time_us tc = now + 600 * MS;
    CC_CHECK_EQ(video(&s, CC_SLOT_CAMERA, LIVE_CAM_MIC, 1, 1, 0xb, 0, tc, &want), CC_RECSEL_DROP);
    CC_CHECK_EQ(want, 1u << CC_SLOT_CAMERA);
    CC_CHECK_EQ(video(&s, CC_SLOT_CAMERA, LIVE_CAM_MIC, 2, 2, 0xb, 1, tc + 10 * MS, &want),
                CC_RECSEL_VIDEO);
    CC_CHECK_EQ(out().ts, ts0 + 500 * 90 + 110 * 90);
    CC_CHECK_EQ(cc_recsel_filler(&s, tc + 200 * MS, &f, buf, sizeof buf, &n, &at),
                CC_RECSEL_AUDIO); /* the microphone is still silent */
    printf("  fillers: %llu video, %llu audio packets\n", (unsigned long long)s.st.fill_video,
           (unsigned long long)s.st.fill_audio);
    CC_CHECK(s.st.fill_video == 6 && s.st.fill_audio > 15); /* 2 frames of 3 */

    /* nothing to fill with: nothing */
    cc_recsel_fill none = {0};
    cc_recsel s2;
    cc_recsel_init(&s2, t);
    CC_CHECK_EQ(cc_recsel_filler(&s2, t + 10000 * MS, &none, buf, sizeof buf, &n, &at),
                CC_RECSEL_DROP);
}

static void test_malformed(void)
{
    cc_recsel s;
    cc_recsel_init(&s, 0);
    unsigned want = 0;
    uint8_t junk[40] = {0x40};
    CC_CHECK_EQ(cc_recsel_packet(&s, CC_SLOT_CAMERA, LIVE_ALL, junk, sizeof junk, 1, &want),
                CC_RECSEL_DROP);
    CC_CHECK_EQ(cc_recsel_packet(&s, CC_SLOT_MIC, LIVE_ALL, junk, 3, 1, &want), CC_RECSEL_DROP);
    rtp(111, 1, 1, 1, OPUS, sizeof OPUS);
    CC_CHECK_EQ(cc_recsel_packet(&s, 7, LIVE_ALL, g_pkt, g_len, 1, &want), CC_RECSEL_DROP);
    CC_CHECK_EQ(cc_recsel_packet(&s, -1, LIVE_ALL, g_pkt, g_len, 1, &want), CC_RECSEL_DROP);
    /* a VP8 descriptor that claims more than there is */
    const uint8_t bad[] = {0x90, 0x80};
    rtp(96, 1, 1, 1, bad, sizeof bad);
    CC_CHECK_EQ(cc_recsel_packet(&s, CC_SLOT_CAMERA, LIVE_ALL, g_pkt, g_len, 1, &want),
                CC_RECSEL_DROP);
    CC_CHECK_EQ(s.st.malformed, 5);
    CC_CHECK_EQ(want, 0);
    /* a key frame too short to say its size is still a key frame */
    const uint8_t shortkey[] = {0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a};
    rtp(96, 2, 2, 1, shortkey, sizeof shortkey);
    CC_CHECK_EQ(cc_recsel_packet(&s, CC_SLOT_CAMERA, LIVE_ALL, g_pkt, g_len, 2, &want),
                CC_RECSEL_VIDEO);
    int w, h;
    CC_CHECK_EQ(cc_recsel_video_size(&s, &w, &h), CC_ENOTFOUND);
}

int main(void)
{
    CC_RUN(test_audio_sources);
    CC_RUN(test_video_switch);
    CC_RUN(test_fillers);
    CC_RUN(test_malformed);
    CC_TEST_DONE();
}
