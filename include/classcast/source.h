/* classcast: a local media source: one capture pipeline (a pipelines/ file),
 * its encoder (libvpx VP8 or libopus) and RTP packetizer, on a thread of its
 * own. Each RTP packet comes out as a cc_pkt (flags = the lesson slot, time =
 * capture time) through emit(), which takes ownership: the SFU's local
 * publisher ring for `serve --source`, or a WHIP sender for `publish`.
 * Thread: new/start/stop/free on the owner's thread; request_keyframe and
 * set_bitrate from any thread; emit runs on the source's thread. */
#ifndef CLASSCAST_SOURCE_H
#define CLASSCAST_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/capture.h"
#include "classcast/pkt.h"
#include "classcast/vp8enc.h"

typedef struct cc_source cc_source;

typedef struct cc_source_config {
    const char *pipelines_dir;
    const char *name;               /* pipeline: screen, camera, mic, test-video ... */
    const char *vars[CC_CAPTURE_MAX_VARS]; /* "KEY=value", NULL-terminated */
    int slot;                       /* cc_slot the packets are for */
    int width, height, fps;         /* video */
    int bitrate_kbps;               /* 0: 1500 video (screen), 1000 (camera), 32 audio */
    int screen_content;             /* VP8 screen-content mode */
    int encodings;                  /* camera simulcast: 0/1 none, 2 or 3
                                       (include/classcast/vp8enc.h); a size
                                       that does not halve evenly gets 1 */
    uint8_t pt;                     /* 0: 96 (VP8) / 111 (Opus) */
    int abs_send_time_id;           /* 0: none */
    cc_pkt_pool *pool;              /* where packets come from (borrowed) */
    void (*emit)(void *ud, cc_pkt *pkt);
    void *ud;
    /* Optional, for benchmarks: after each encoded frame, on the source
     * thread: its capture time, the encode time, and when its last packet
     * was handed to emit (all monotonic microseconds). */
    void (*on_frame)(void *ud, cc_time_us capture, cc_time_us encode_us,
                     cc_time_us packetized, int keyframe, size_t bytes);
} cc_source_config;

typedef struct cc_source_stats {
    uint64_t samples, frames, packets, bytes;
    uint64_t pool_empty;            /* packets lost: no buffer */
    uint64_t keyframes;
    cc_time_us encode_us_last;      /* encode time of the latest frame */
    cc_capture_status capture;
} cc_source_stats;

/* Builds the capture (no device opened yet) and the encoder. On error a
 * message in err (for a missing device it lists the devices that exist). */
int cc_source_new(cc_source **out, const cc_source_config *cfg, char *err,
                  size_t errcap);
int cc_source_start(cc_source *s);
void cc_source_stop(cc_source *s);
void cc_source_free(cc_source *s);
void cc_source_request_keyframe(cc_source *s);
int cc_source_set_bitrate(cc_source *s, int kbps);
/* What the packets carry, for the SFU's local publisher config. */
uint32_t cc_source_ssrc(const cc_source *s);
/* Every encoding's SSRC, smallest first (simulcast; else the one):
 * how many, at most max. */
int cc_source_ssrcs(const cc_source *s, uint32_t *ssrcs, int max);
uint8_t cc_source_pt(const cc_source *s);
int cc_source_clock_rate(const cc_source *s);
int cc_source_is_video(const cc_source *s);
void cc_source_get_stats(cc_source *s, cc_source_stats *out);
/* The default lesson slot for a pipeline name: screen* -> screen,
 * mic* / *audio* -> mic, anything else -> camera. */
int cc_source_default_slot(const char *name);

#endif
