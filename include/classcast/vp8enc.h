/* classcast: VP8 encoder on libvpx for live classroom sources.
 *
 * Realtime deadline, CBR, no lag, error resilient; optionally three temporal
 * layers in the 0-2-1-2 pattern (RFC 7741 section 4.2 TID / Y semantics are
 * reported per frame so the packetizer and the SFU's layer selection can use
 * them); screen-content tuning for screen sources; keyframe on the very next
 * frame after a request; target bitrate changeable while running.
 *
 * Reference structure of the temporal pattern (why: every TL1 frame and the
 * first TL2 frame of each period reference only TL0, so a subscriber can be
 * switched up at any TL1 frame or at every fourth frame for TL2):
 *
 *   pattern pos  0 (TL0): refs LAST            updates LAST
 *   pattern pos  1 (TL2): refs LAST            updates nothing  (Y=1, N=1)
 *   pattern pos  2 (TL1): refs LAST            updates GOLDEN   (Y=1)
 *   pattern pos  3 (TL2): refs LAST + GOLDEN   updates nothing  (Y=0, N=1)
 *
 * LAST always holds the newest TL0 frame, GOLDEN the newest TL1 frame (or a
 * keyframe). A keyframe restarts the pattern at position 0, so keyframes are
 * always TL0. Keyframes come on request and, as a safety net, every
 * keyframe_interval_ms of capture time; libvpx never places them itself.
 *
 * Screen mode (cc_vp8enc_config.screen) is for a teacher's screen: mostly
 * still slides, now and then a slide change, scrolling or a short video.
 *   - A captured picture identical to the last one encoded is not encoded
 *     at all (cc_vp8enc_encode returns 0, counted in static_skipped) once
 *     that picture has gone out on a TL0 frame (so a subscriber thinned
 *     to TL0 has it too) and the encoder has finished sharpening it: a
 *     frame of it came out small (under an eighth of an average frame) at
 *     a quantizer near the floor, or settle_ms passed (with temporal
 *     layers only TL0 frames, every fourth capture, sharpen). At least one
 *     frame still goes out every static_keepalive_ms (receivers count a
 *     longer gap as a freeze): a small TL0 frame (512 bytes at 1080p) that
 *     marks every macroblock unchanged. A keyframe request or the safety
 *     keyframe is served at once, still content or not. The first frame
 *     after skipped ones restarts the temporal pattern, so a change after
 *     a still period is TL0.
 *   - libvpx's rate control sees a clock that leaves out the skipped time
 *     (a gap counts as at most 4 frame periods), so a still minute banks
 *     no budget for a burst at the next slide change.
 *   - A quantizer floor of 40 (CBR would otherwise spend the whole target
 *     sharpening text beyond what can be seen, and on every frame of a
 *     scroll or a video) and libvpx speed -12 at every size (at -16, the
 *     1080p default otherwise, motion search is too weak for a video
 *     panning in a window). No frame dropping: measured, it kept a low
 *     target by halving the frame rate of scrolled text. If rate control
 *     ever drops a frame, its picture is not taken as sent.
 *   - As with screen_content: libvpx's screen-content mode, a static
 *     threshold for unchanged blocks, no noise reduction, a keyframe size
 *     cap.
 * screen_content without screen is the screen tuning classcast used before
 * screen mode existed (no skipping, no floor, speed -16 at 1080p);
 * scripts/bench/screenbits compares the two (docs/bench-screen.md).
 *
 * Simulcast (cc_vp8enc_config.encodings = 2 or 3, cameras only): one
 * captured picture is coded at full size and at each half size below it
 * (1280x720, 640x360, 320x180) by libvpx's multi-resolution encoder, where
 * each smaller encoding starts its motion search from the larger one's, so
 * the extra encodings cost much less than encoders of their own. The
 * target is shared out (k_enc_pct in vp8enc.c); every encoding has the
 * same temporal pattern, keyframes come in all of them at once, and each
 * frame out says which encoding it is (cc_vp8enc_frame.enc, 0 the
 * smallest, as an SFU orders simulcast encodings).
 *
 * No I/O; the caller supplies capture times. Thread: cc_vp8enc_encode,
 * _new and _free from the encoder thread only; cc_vp8enc_request_keyframe,
 * cc_vp8enc_set_bitrate and cc_vp8enc_get_stats from any thread (they post
 * to atomics the encoder thread applies before its next frame). */
#ifndef CLASSCAST_VP8ENC_H
#define CLASSCAST_VP8ENC_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"

typedef struct cc_vp8enc cc_vp8enc;

typedef struct cc_vp8enc_config {
    int width, height;       /* even, > 0 */
    int fps;                 /* nominal frame rate (rate control), > 0 */
    int bitrate_kbps;        /* target, > 0 */
    int screen_content;      /* 1: screen source (text, static areas) */
    int screen;              /* 1: screen mode (above; implies screen_content) */
    int static_keepalive_ms; /* screen mode: a frame at least this often
                                while the picture is unchanged; 0: 1000 */
    int settle_ms;           /* screen mode: an unchanged picture is still
                                encoded (sharpened) for at most this long
                                after it changed; 0: 1000, -1: not at all */
    int temporal_layers;     /* 1 or 3 */
    int threads;             /* 0: 1 below 1280x720, else 2 */
    int cpu_used;            /* 0: default (-8 camera, -12 screen); libvpx
                                realtime range -16..-1 (faster when larger) */
    int keyframe_interval_ms;/* safety keyframe interval; 0: 10000 */
    int encodings;           /* simulcast: 0 or 1 (none), 2 or 3 (above);
                                not with screen; width and height must
                                halve to even sizes of at least 64x36 */
} cc_vp8enc_config;

#define CC_VP8ENC_MAX_ENC 3

/* One encoded frame. data is owned by the encoder and valid until the next
 * cc_vp8enc_encode or cc_vp8enc_free call. */
typedef struct cc_vp8enc_frame {
    const uint8_t *data;
    size_t size;
    int keyframe;
    int tid;                 /* temporal layer id 0..2 (0 with one layer) */
    int layer_sync;          /* Y: refs only TL0 frames (never set on TL0) */
    int non_ref;             /* N: no later frame references this one */
    cc_time_us pts;          /* capture time passed to cc_vp8enc_encode */
    int enc;                 /* simulcast encoding, 0 the smallest; 0 without */
    int width, height;       /* of this encoding */
} cc_vp8enc_frame;

typedef struct cc_vp8enc_stats {
    uint64_t frames_in;
    uint64_t frames_out;
    uint64_t dropped;        /* rate control dropped the frame */
    uint64_t static_skipped; /* screen mode: unchanged picture, not encoded */
    uint64_t keyframes;
    uint64_t keyframe_requests;
    uint64_t bytes_out;
    uint64_t errors;
    int bitrate_kbps;        /* target in force */
} cc_vp8enc_stats;

/* Fill cfg with defaults for a camera source of w x h at fps and kbps. */
void cc_vp8enc_config_default(cc_vp8enc_config *cfg, int w, int h, int fps,
                              int kbps);

/* 0, CC_EINVAL (bad config) or CC_ENOMEM / CC_EUNSUPPORTED (libvpx init). */
int cc_vp8enc_new(cc_vp8enc **out, const cc_vp8enc_config *cfg);
void cc_vp8enc_free(cc_vp8enc *e);

/* Encode one I420 picture (planes Y, U, V with their strides; width x height
 * of the config) captured at capture_time (monotonic microseconds, must
 * increase). Returns 1 with *out filled, 0 if rate control dropped the
 * frame or screen mode skipped an unchanged picture (both counted), or a
 * negative CC_E* code. */
int cc_vp8enc_encode(cc_vp8enc *e, const uint8_t *const planes[3],
                     const int strides[3], cc_time_us capture_time,
                     cc_vp8enc_frame *out);

/* Simulcast: encodes one picture into every encoding. out[] receives the
 * frames that came out (out[i].enc says which; rate control may leave one
 * encoding out of a capture). Returns how many (0..encodings) or a
 * negative CC_E* code. Without simulcast it is cc_vp8enc_encode with room
 * for one frame. */
int cc_vp8enc_encode_all(cc_vp8enc *e, const uint8_t *const planes[3],
                         const int strides[3], cc_time_us capture_time,
                         cc_vp8enc_frame out[CC_VP8ENC_MAX_ENC]);

/* Encodings this encoder makes (1 without simulcast). */
int cc_vp8enc_encodings(const cc_vp8enc *e);

/* The very next encoded frame is a keyframe (and TL0). Any thread. */
void cc_vp8enc_request_keyframe(cc_vp8enc *e);

/* New target bitrate, applied before the next frame. Any thread.
 * 0 or CC_EINVAL (kbps <= 0). */
int cc_vp8enc_set_bitrate(cc_vp8enc *e, int kbps);

void cc_vp8enc_get_stats(cc_vp8enc *e, cc_vp8enc_stats *out);

#endif
