/* Opus encoder on a synthetic test source: 20 ms frames decode with
 * GStreamer's opusdec (every sample comes back), in-band FEC really
 * recovers lost frames (libopus decode_fec from the next packet beats
 * concealment without FEC), and the output bitrate follows a change
 * within 2 s. */
#include "../unit/cc_test.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <math.h>
#include <opus/opus.h>

#include "classcast/err.h"
#include "classcast/opusenc.h"
#include "classcast/rand.h"

#define MAXF 600

typedef struct pkt_list {
    uint8_t data[MAXF][CC_OPUS_MAX_PACKET];
    size_t len[MAXF];
    int n;
} pkt_list;

/* Speech-like test signal: a voiced harmonic series with a wandering pitch
 * plus seeded noise (breath, room), so the encoder has real content. */
static void make_audio(int16_t *pcm, int channels, int frame, cc_prng *r)
{
    for (int i = 0; i < CC_OPUS_FRAME_SAMPLES; i++) {
        double t = (frame * CC_OPUS_FRAME_SAMPLES + i) / 48000.0;
        double f0 = 140 + 40 * sin(2 * M_PI * 0.7 * t);
        double s = 0;
        for (int h = 1; h <= 12; h++)
            s += sin(2 * M_PI * f0 * h * t) / h;
        s *= 0.25 * (0.6 + 0.4 * sin(2 * M_PI * 3 * t));
        double n = ((double)cc_prng_below(r, 2001) - 1000) / 1000 * 0.05;
        int v = (int)((s + n) * 12000);
        for (int c = 0; c < channels; c++)
            pcm[i * channels + c] =
                (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
}

/* appsrc ! opusdec ! appsink: decoded samples per channel, -1 on error. */
static long gst_decode(const pkt_list *l, int channels, int *bad_caps)
{
    char desc[512];
    snprintf(desc, sizeof desc,
             "appsrc name=src format=time caps=audio/x-opus,rate=48000,"
             "channels=%d,channel-mapping-family=0 ! opusdec ! "
             "audio/x-raw,format=S16LE,rate=48000 ! appsink name=sink "
             "sync=false",
             channels);
    GError *err = NULL;
    GstElement *pipe = gst_parse_launch(desc, &err);
    if (!pipe) {
        fprintf(stderr, "gst_parse_launch: %s\n", err ? err->message : "?");
        g_clear_error(&err);
        return -1;
    }
    GstElement *src = gst_bin_get_by_name(GST_BIN(pipe), "src");
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
    gst_element_set_state(pipe, GST_STATE_PLAYING);
    for (int i = 0; i < l->n; i++) {
        GstBuffer *b = gst_buffer_new_memdup(l->data[i], l->len[i]);
        GST_BUFFER_PTS(b) = (GstClockTime)i * 20 * GST_MSECOND;
        GST_BUFFER_DURATION(b) = 20 * GST_MSECOND;
        gst_app_src_push_buffer(GST_APP_SRC(src), b);
    }
    gst_app_src_end_of_stream(GST_APP_SRC(src));
    long samples = 0;
    *bad_caps = 0;
    GstSample *s;
    while ((s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink),
                                             10 * GST_SECOND)) != NULL) {
        GstStructure *st = gst_caps_get_structure(gst_sample_get_caps(s), 0);
        int ch = 0, rate = 0;
        gst_structure_get_int(st, "channels", &ch);
        gst_structure_get_int(st, "rate", &rate);
        if (ch != channels || rate != 48000)
            (*bad_caps)++;
        samples += (long)(gst_buffer_get_size(gst_sample_get_buffer(s)) /
                          (2 * (size_t)channels));
        gst_sample_unref(s);
    }
    GstBus *bus = gst_element_get_bus(pipe);
    GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    if (m) {
        GError *e = NULL;
        gst_message_parse_error(m, &e, NULL);
        fprintf(stderr, "gst error: %s\n", e ? e->message : "?");
        g_clear_error(&e);
        gst_message_unref(m);
        samples = -1;
    }
    gst_object_unref(bus);
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(src);
    gst_object_unref(sink);
    gst_object_unref(pipe);
    return samples;
}

static pkt_list plist;

static void test_decode(void)
{
    for (int channels = 1; channels <= 2; channels++) {
        cc_opusenc_config c;
        cc_opusenc_config_default(&c);
        c.channels = channels;
        c.bitrate_bps = 32000 * channels;
        cc_opusenc *e;
        CC_CHECK_EQ(cc_opusenc_new(&e, &c), 0);
        if (!e)
            return;
        cc_prng r;
        cc_prng_seed(&r, 11);
        int16_t pcm[CC_OPUS_FRAME_SAMPLES * 2];
        plist.n = 0;
        for (int k = 0; k < 100; k++) {
            make_audio(pcm, channels, k, &r);
            size_t n;
            CC_CHECK_EQ(cc_opusenc_encode(e, pcm, plist.data[k],
                                          CC_OPUS_MAX_PACKET, &n), 0);
            CC_CHECK(n > 2 && n <= CC_OPUS_MAX_PACKET);
            plist.len[k] = n;
            plist.n++;
            /* One 20 ms frame per packet (RFC 6716 section 3.1 TOC). */
            CC_CHECK_EQ(opus_packet_get_nb_samples(plist.data[k], (opus_int32)n,
                                                   48000),
                        CC_OPUS_FRAME_SAMPLES);
            CC_CHECK_EQ(opus_packet_get_nb_channels(plist.data[k]), channels);
        }
        int bad = 0;
        long samples = gst_decode(&plist, channels, &bad);
        printf("  %d ch: gst opusdec decoded %ld samples (want %d)\n", channels,
               samples, 100 * CC_OPUS_FRAME_SAMPLES);
        CC_CHECK_EQ(samples, 100 * CC_OPUS_FRAME_SAMPLES);
        CC_CHECK_EQ(bad, 0);
        cc_opusenc_stats st;
        cc_opusenc_get_stats(e, &st);
        CC_CHECK_EQ(st.frames, 100);
        CC_CHECK_EQ(st.errors, 0);
        cc_opusenc_free(e);
    }
}

/* Encode 100 frames with the given expected loss, then decode them with
 * every 4th packet lost: recovered from the next packet's in-band FEC
 * (decode_fec = 1; without FEC data libopus conceals instead). Returns the
 * mean SNR in dB of the recovered frames against a loss-free decode. */
static double loss_snr(int loss_perc)
{
    cc_opusenc_config c;
    cc_opusenc_config_default(&c);
    c.loss_perc = loss_perc;
    cc_opusenc *e;
    if (cc_opusenc_new(&e, &c) != 0)
        return -100;
    cc_prng r;
    cc_prng_seed(&r, 13);
    int16_t pcm[CC_OPUS_FRAME_SAMPLES];
    plist.n = 0;
    for (int k = 0; k < 100; k++) {
        make_audio(pcm, 1, k, &r);
        size_t n = 0;
        cc_opusenc_encode(e, pcm, plist.data[k], CC_OPUS_MAX_PACKET, &n);
        plist.len[k] = n;
        plist.n++;
    }
    cc_opusenc_free(e);
    int err;
    OpusDecoder *clean = opus_decoder_create(48000, 1, &err);
    OpusDecoder *lossy = opus_decoder_create(48000, 1, &err);
    static int16_t ref[100][CC_OPUS_FRAME_SAMPLES], got[CC_OPUS_FRAME_SAMPLES];
    int bad = 0;
    for (int k = 0; k < 100; k++)
        bad += CC_OPUS_FRAME_SAMPLES != opus_decode(clean, plist.data[k], (opus_int32)plist.len[k], ref[k],
                    CC_OPUS_FRAME_SAMPLES, 0);
    double snr_sum = 0;
    int lost = 0;
    for (int k = 0; k < 99; k++) {
        if (k >= 8 && k % 4 == 0) {
            /* packet k lost: rebuild it from packet k + 1 */
            bad += CC_OPUS_FRAME_SAMPLES !=
                   opus_decode(lossy, plist.data[k + 1],
                               (opus_int32)plist.len[k + 1], got,
                               CC_OPUS_FRAME_SAMPLES, 1);
            double sig = 0, noise = 0;
            for (int i = 0; i < CC_OPUS_FRAME_SAMPLES; i++) {
                double d = (double)got[i] - ref[k][i];
                sig += (double)ref[k][i] * ref[k][i];
                noise += d * d;
            }
            snr_sum += 10 * log10((sig + 1) / (noise + 1));
            lost++;
            continue;
        }
        bad += CC_OPUS_FRAME_SAMPLES !=
               opus_decode(lossy, plist.data[k], (opus_int32)plist.len[k], got,
                           CC_OPUS_FRAME_SAMPLES, 0);
    }
    opus_decoder_destroy(clean);
    opus_decoder_destroy(lossy);
    if (bad)
        return -200;
    return snr_sum / lost;
}

static void test_fec_recovers(void)
{
    double with_fec = loss_snr(10), without = loss_snr(0);
    printf("  lost frames rebuilt: %.1f dB SNR with in-band FEC, %.1f dB "
           "concealed without\n", with_fec, without);
    CC_CHECK(with_fec > without + 3);
}

static double rate_kbps(const pkt_list *l, int from_frame, int to_frame)
{
    uint64_t bytes = 0;
    for (int i = from_frame; i < to_frame && i < l->n; i++)
        bytes += l->len[i];
    return (double)bytes * 8 / 1000 / ((to_frame - from_frame) * 0.020);
}

static void test_bitrate_change(void)
{
    /* 64 kbit/s for 3 s, then 16 kbit/s: the second that ends 2 s after
     * the change is within 30 % of the new target. */
    cc_opusenc_config c;
    cc_opusenc_config_default(&c);
    c.bitrate_bps = 64000;
    cc_opusenc *e;
    CC_CHECK_EQ(cc_opusenc_new(&e, &c), 0);
    if (!e)
        return;
    cc_prng r;
    cc_prng_seed(&r, 12);
    int16_t pcm[CC_OPUS_FRAME_SAMPLES];
    plist.n = 0;
    for (int k = 0; k < 300; k++) {
        if (k == 150)
            CC_CHECK_EQ(cc_opusenc_set_bitrate(e, 16000), 0);
        make_audio(pcm, 1, k, &r);
        size_t n;
        CC_CHECK_EQ(cc_opusenc_encode(e, pcm, plist.data[k], CC_OPUS_MAX_PACKET,
                                      &n), 0);
        plist.len[k] = n;
        plist.n++;
    }
    double before = rate_kbps(&plist, 50, 150);
    double after = rate_kbps(&plist, 200, 250);
    printf("  64 kbit/s before: %.1f; 16 kbit/s in [t+1s,t+2s): %.1f\n", before,
           after);
    CC_CHECK(before > 64 * 0.7 && before < 64 * 1.3);
    CC_CHECK(after > 16 * 0.7 && after < 16 * 1.3);
    cc_opusenc_stats st;
    cc_opusenc_get_stats(e, &st);
    CC_CHECK_EQ(st.bitrate_bps, 16000);
    CC_CHECK_EQ(cc_opusenc_set_bitrate(e, 1000), CC_EINVAL);
    cc_opusenc_free(e);
}

static void test_bad_args(void)
{
    cc_opusenc_config c;
    cc_opusenc_config_default(&c);
    cc_opusenc *e;
    c.channels = 3;
    CC_CHECK_EQ(cc_opusenc_new(&e, &c), CC_EINVAL);
    cc_opusenc_config_default(&c);
    c.bitrate_bps = 1;
    CC_CHECK_EQ(cc_opusenc_new(&e, &c), CC_EINVAL);
    cc_opusenc_config_default(&c);
    c.music = 1;
    c.dtx = 1;
    CC_CHECK_EQ(cc_opusenc_new(&e, &c), 0);
    if (!e)
        return;
    /* Silence with DTX: tiny packets after a while. */
    int16_t pcm[CC_OPUS_FRAME_SAMPLES] = {0};
    uint8_t out[CC_OPUS_MAX_PACKET];
    size_t n = 0, min = 9999;
    for (int k = 0; k < 50; k++) {
        CC_CHECK_EQ(cc_opusenc_encode(e, pcm, out, sizeof out, &n), 0);
        if (n < min)
            min = n;
    }
    CC_CHECK(min <= 2);
    CC_CHECK_EQ(cc_opusenc_encode(e, pcm, out, 2, &n), CC_EINVAL);
    cc_opusenc_free(e);
}

int main(int argc, char **argv)
{
    gst_init(&argc, &argv);
    CC_RUN(test_decode);
    CC_RUN(test_fec_recovers);
    CC_RUN(test_bitrate_change);
    CC_RUN(test_bad_args);
    gst_deinit();
    CC_TEST_DONE();
}
