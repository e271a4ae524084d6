/* ccstamp: a GStreamer element for scripts/bench/latency (glass-to-glass).
 * It paints, into the top of every I420 frame that passes, the moment the
 * frame passed (CLOCK_REALTIME, milliseconds, the low 32 bits) as a row of
 * black and white blocks, so that a page that decodes the stream can read
 * when the picture it shows was made, on the same machine clock it reads
 * its own display time from (Date.now / performance.timeOrigin).
 *
 * The row: 44 blocks across the whole width (block b covers x from
 * b*W/44 to (b+1)*W/44), W/44 pixels tall, Y 235 (white) or 16 (black),
 * chroma neutral under them, so that a reader finds the blocks at the same
 * fractions of the width whatever size the picture is scaled to:
 *   block 0 white, block 1 black                       (start)
 *   blocks 2..33: the 32 bits of the time, most significant first
 *   blocks 34..41: check byte = (sum of the 4 time bytes + 0xA5) mod 256
 *   block 42 black, block 43 white                     (end)
 * scripts/bench/latency.mjs reads it back (the block centres, threshold
 * half way) and drops a frame whose start, end or check byte is wrong.
 *
 * Not part of classcast: built as a plugin module (libgstccstamp.so) the
 * benchmark puts on GST_PLUGIN_PATH; its pipeline (written by
 * scripts/bench/latency) puts it right after videotestsrc, so the time
 * painted is when the live source handed the frame on: capture as far as
 * a synthetic camera has one. Hand-written because no stock element paints
 * a machine-readable clock (timeoverlay draws text). */
#include <stdint.h>
#include <string.h>

/* GST_PLUGIN_DEFINE names the package through this macro. */
#define PACKAGE "classcast-bench"

#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>
#include <gst/video/video.h>

#define STAMP_BLOCKS 44

#define CC_TYPE_STAMP (cc_stamp_get_type())
G_DECLARE_FINAL_TYPE(CcStamp, cc_stamp, CC, STAMP, GstVideoFilter)

struct _CcStamp {
    GstVideoFilter parent;
};

G_DEFINE_TYPE(CcStamp, cc_stamp, GST_TYPE_VIDEO_FILTER)

static void stamp_bits(uint32_t ms, uint8_t bits[STAMP_BLOCKS])
{
    unsigned check = ((ms >> 24) + ((ms >> 16) & 0xff) + ((ms >> 8) & 0xff) + (ms & 0xff) + 0xA5) & 0xff;
    bits[0] = 1;
    bits[1] = 0;
    for (int i = 0; i < 32; i++)
        bits[2 + i] = (uint8_t)((ms >> (31 - i)) & 1);
    for (int i = 0; i < 8; i++)
        bits[34 + i] = (uint8_t)((check >> (7 - i)) & 1);
    bits[42] = 0;
    bits[43] = 1;
}

static GstFlowReturn cc_stamp_transform_frame_ip(GstVideoFilter *filter, GstVideoFrame *frame)
{
    (void)filter;
    int w = GST_VIDEO_FRAME_WIDTH(frame), h = GST_VIDEO_FRAME_HEIGHT(frame);
    int bw = w / STAMP_BLOCKS;
    if (bw < 4 || bw > h)
        return GST_FLOW_OK; /* too small to carry the row: left alone */
    uint8_t bits[STAMP_BLOCKS];
    stamp_bits((uint32_t)(g_get_real_time() / 1000), bits);
    uint8_t *y = GST_VIDEO_FRAME_PLANE_DATA(frame, 0);
    int ys = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0);
    for (int r = 0; r < bw; r++) {
        uint8_t *row = y + (size_t)r * (size_t)ys;
        for (int b = 0; b < STAMP_BLOCKS; b++) {
            int x0 = b * w / STAMP_BLOCKS, x1 = (b + 1) * w / STAMP_BLOCKS;
            memset(row + x0, bits[b] ? 235 : 16, (size_t)(x1 - x0));
        }
    }
    /* I420: U and V at half resolution, neutral under the row. */
    for (int p = 1; p <= 2; p++) {
        uint8_t *c = GST_VIDEO_FRAME_PLANE_DATA(frame, p);
        int cs = GST_VIDEO_FRAME_PLANE_STRIDE(frame, p);
        for (int r = 0; r < (bw + 1) / 2; r++)
            memset(c + (size_t)r * (size_t)cs, 128, (size_t)(w + 1) / 2);
    }
    return GST_FLOW_OK;
}

static void cc_stamp_class_init(CcStampClass *klass)
{
    GstElementClass *ec = GST_ELEMENT_CLASS(klass);
    GstVideoFilterClass *vf = GST_VIDEO_FILTER_CLASS(klass);
    GstCaps *caps = gst_caps_from_string("video/x-raw, format=(string)I420");
    gst_element_class_add_pad_template(ec, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
    gst_element_class_add_pad_template(ec, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
    gst_caps_unref(caps);
    gst_element_class_set_static_metadata(ec, "classcast benchmark time stamp", "Filter/Video",
                                          "Paints the wall-clock time as a row of blocks",
                                          "classcast");
    vf->transform_frame_ip = cc_stamp_transform_frame_ip;
}

static void cc_stamp_init(CcStamp *self)
{
    (void)self;
}

static gboolean plugin_init(GstPlugin *plugin)
{
    return gst_element_register(plugin, "ccstamp", GST_RANK_NONE, CC_TYPE_STAMP);
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, ccstamp,
                  "classcast benchmark: wall-clock time painted into frames", plugin_init, "0.1",
                  "MIT", "classcast", "https://example.invalid/classcast")
