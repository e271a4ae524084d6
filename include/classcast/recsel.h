/* classcast: what a lesson recording keeps of the teacher's RTP, and how
 * it becomes two continuous streams (docs/recording.md).
 *
 * The recorder (recorder.h) gets copies of the teacher's packets as the
 * SFU received them (after SRTP): camera, screen and mic, each with the
 * SSRC, sequence numbers and timestamps of whichever publisher sends them
 * now (a reloaded page, a second tab, the local capture: each is a new
 * source). This state machine turns them into one video and one audio
 * RTP stream, each with one SSRC and gap-free numbering, which is what a
 * jitter buffer and depayloader expect:
 *
 *  - audio: the mic; a new source continues the numbering (RFC 3550
 *    section 5.1: the timestamp jump follows the arrival gap);
 *  - video: the screen while the teacher shares it (its feed is live in
 *    the SFU and it sent within CC_RECSEL_SCREEN_IDLE), else the camera.
 *    A change of source (the other slot, or a new SSRC in the same slot)
 *    waits for a key frame of the new source (RFC 7741 section 4.3) and
 *    asks for one meanwhile; until then the old source goes on;
 *  - fillers: when no video has been kept for CC_RECSEL_VIDEO_IDLE, a black
 *    key frame (the caller's bytes) every CC_RECSEL_FILL_VIDEO_EVERY; when
 *    no audio for CC_RECSEL_AUDIO_IDLE, a 20 ms Opus silence frame per 20 ms.
 *    A muxer waits for every stream before it writes, so a camera that is
 *    off (or a teacher without one) must not stop the file.
 *
 * Pure: no I/O, no clock (every call takes `now`), no allocation; bad
 * input is a counted drop. Fuzzed (tests/fuzz/fuzz_recsel.c).
 * Thread: the recorder's thread (one cc_recsel per recording). */
#ifndef CLASSCAST_RECSEL_H
#define CLASSCAST_RECSEL_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"

/* Output payload types and SSRCs (what the recorder's caps say). */
#define CC_RECSEL_VIDEO_PT 96
#define CC_RECSEL_AUDIO_PT 111
#define CC_RECSEL_VIDEO_SSRC 0x52454331u /* "REC1" */
#define CC_RECSEL_AUDIO_SSRC 0x52454332u /* "REC2" */

#define CC_RECSEL_SCREEN_IDLE (5 * CC_USEC_PER_SEC)
#define CC_RECSEL_VIDEO_IDLE (1500 * CC_USEC_PER_MSEC)
#define CC_RECSEL_AUDIO_IDLE (300 * CC_USEC_PER_MSEC)
#define CC_RECSEL_FILL_VIDEO_EVERY (500 * CC_USEC_PER_MSEC)
#define CC_RECSEL_FILL_AUDIO_FRAME (20 * CC_USEC_PER_MSEC)
/* Filler packets carry at most this much payload each. */
#define CC_RECSEL_FILL_MTU 1100

/* What cc_recsel_packet / cc_recsel_filler produced. */
enum {
    CC_RECSEL_DROP = 0,
    CC_RECSEL_VIDEO = 1,
    CC_RECSEL_AUDIO = 2,
};

/* Video source of the output: a slot (cc_slot) or the filler. */
#define CC_RECSEL_SRC_NONE (-1)
#define CC_RECSEL_SRC_FILLER (-2)

typedef struct cc_recsel_out {
    int started;            /* a packet went out */
    int src_slot;           /* cc_slot, CC_RECSEL_SRC_NONE or _FILLER */
    uint32_t src_ssrc;      /* the input SSRC being forwarded */
    uint16_t seq_off;       /* out = in + off (mod 2^16) */
    uint32_t ts_off;
    uint16_t last_seq;      /* highest output sequence number */
    uint32_t last_ts;       /* output timestamp of the newest packet */
    cc_time_us last_at;     /* its arrival time */
    cc_time_us last_real_at;/* the newest packet of a real source */
} cc_recsel_out;

typedef struct cc_recsel_stats {
    uint64_t video_pkts, audio_pkts;    /* forwarded */
    uint64_t switches;                  /* video sources changed */
    uint64_t wait_keyframe;             /* dropped: a new source's non-key */
    uint64_t not_selected;              /* dropped: the slot not recorded */
    uint64_t malformed;                 /* dropped: not RTP / not VP8 */
    uint64_t fill_video, fill_audio;    /* filler packets made */
} cc_recsel_stats;

typedef struct cc_recsel {
    cc_recsel_out v, a;
    cc_time_us started_at;
    cc_time_us seen[3];     /* newest packet per cc_slot (0: never) */
    int width, height;      /* of the newest video key frame (0: none) */
    /* filler in progress: the key frame being sent in pieces */
    cc_time_us v_fill_next, a_fill_next;
    size_t v_fill_off;      /* bytes of the filler frame already sent */
    cc_time_us v_fill_at;   /* its time */
    cc_recsel_stats st;
} cc_recsel;

/* The payloads a filler is made of (owned by the caller): one VP8 key
 * frame (black, any size; NULL: no video filler) and one 20 ms Opus frame
 * of silence (NULL: no audio filler). */
typedef struct cc_recsel_fill {
    const uint8_t *vp8_key;
    size_t vp8_key_len;
    const uint8_t *opus_silence;
    size_t opus_silence_len;
} cc_recsel_fill;

void cc_recsel_init(cc_recsel *s, cc_time_us now);

/* One packet of the teacher's slot `slot` (cc_slot), arrived at `now`;
 * live: bitmask (1 << cc_slot) of the teacher's feeds that have a source
 * in the SFU now. On CC_RECSEL_VIDEO / CC_RECSEL_AUDIO the packet in buf
 * has been rewritten in place (SSRC, payload type, sequence number,
 * timestamp) and goes to that stream; CC_RECSEL_DROP: nothing to do.
 * *want_key gets (1 << slot) when a key frame of that slot is needed. */
int cc_recsel_packet(cc_recsel *s, int slot, unsigned live, uint8_t *buf, size_t len,
                     cc_time_us now, unsigned *want_key);

/* A filler packet due at `now`, written to out (cap bytes, at least
 * 12 + 1 + CC_RECSEL_FILL_MTU): its kind, *len and *at (the time it
 * stands for), or CC_RECSEL_DROP when none is due. Call until it returns
 * CC_RECSEL_DROP. */
int cc_recsel_filler(cc_recsel *s, cc_time_us now, const cc_recsel_fill *fill, uint8_t *out,
                     size_t cap, size_t *len, cc_time_us *at);

/* The newest VP8 key frame's size (RFC 6386 section 9.1): 0 and w, h, or
 * CC_ENOTFOUND before the first. */
int cc_recsel_video_size(const cc_recsel *s, int *w, int *h);

#endif
