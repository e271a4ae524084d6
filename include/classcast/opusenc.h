/* classcast: Opus encoder on libopus for the teacher's microphone.
 * 48 kHz, 20 ms frames (960 samples per channel), in-band FEC on with an
 * expected loss percentage, VBR, bitrate changeable while running.
 * Input is S16 interleaved, exactly one 20 ms frame per call (a GStreamer
 * source gets that with `audiobuffersplit output-buffer-duration=1/50`).
 * No I/O. Thread: the encoder thread, except cc_opusenc_set_bitrate and
 * cc_opusenc_get_stats (any thread; applied before the next frame). */
#ifndef CLASSCAST_OPUSENC_H
#define CLASSCAST_OPUSENC_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"

#define CC_OPUS_RATE 48000
#define CC_OPUS_FRAME_SAMPLES 960        /* 20 ms at 48 kHz, per channel */
#define CC_OPUS_MAX_PACKET 1275          /* RFC 6716 section 3.4 */

typedef struct cc_opusenc cc_opusenc;

typedef struct cc_opusenc_config {
    int channels;            /* 1 or 2 */
    int bitrate_bps;         /* 6000..510000 */
    int music;               /* 0: OPUS_APPLICATION_VOIP, 1: _AUDIO */
    int loss_perc;           /* expected loss for FEC, 0..100; < 0: 0 */
    int complexity;          /* 0..10; 0 picks 8 */
    int dtx;                 /* 1: discontinuous transmission in silence */
} cc_opusenc_config;

typedef struct cc_opusenc_stats {
    uint64_t frames;
    uint64_t bytes_out;
    uint64_t errors;
    int bitrate_bps;         /* target in force */
} cc_opusenc_stats;

/* Defaults: mono, 32 kbit/s, VOIP, 10 % expected loss, complexity 8. */
void cc_opusenc_config_default(cc_opusenc_config *cfg);

/* 0, CC_EINVAL or CC_ENOMEM / CC_EUNSUPPORTED (libopus init). */
int cc_opusenc_new(cc_opusenc **out, const cc_opusenc_config *cfg);
void cc_opusenc_free(cc_opusenc *e);

/* Encode one 20 ms frame of CC_OPUS_FRAME_SAMPLES * channels interleaved
 * samples into out (cap >= CC_OPUS_MAX_PACKET is always enough). 0 with
 * *out_len set (1 or 2 bytes means DTX silence), or a CC_E* code. */
int cc_opusenc_encode(cc_opusenc *e, const int16_t *pcm, uint8_t *out,
                      size_t cap, size_t *out_len);

/* New target bitrate, applied before the next frame. 0 or CC_EINVAL. */
int cc_opusenc_set_bitrate(cc_opusenc *e, int bps);

void cc_opusenc_get_stats(cc_opusenc *e, cc_opusenc_stats *out);

#endif
