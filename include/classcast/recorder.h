/* classcast: one lesson recording, written to a WebM file (VP8 + Opus) by
 * its own thread and GStreamer pipeline (docs/recording.md).
 *
 *   SFU worker --copy--> tap (two SPSC rings of preallocated packet slots)
 *     --> recorder thread: cc_recsel (which source, continuous numbering,
 *         fillers) --> appsrc ! rtpjitterbuffer ! rtpvp8depay  \
 *                      appsrc ! rtpjitterbuffer ! rtpopusdepay -- webmmux ! filesink
 *
 * The worker's share of the work per packet is one ring pop, a memcpy into
 * the slot and one ring push (cc_rec_tap_push): nothing blocks, nothing is
 * allocated, and a full ring is a counted drop. The slots belong to the
 * recorder; the SFU holds the tap between cc_sfu_record_attach and the
 * synchronous cc_sfu_record_detach, and the recorder is freed only after.
 *
 * Keyframe requests go the other way as a bitmask of slots the worker
 * reads (cc_rec_tap_keyframe_wanted) and turns into a PLI to the publisher.
 *
 * The file: webmmux with clusters of at most one second, so a server
 * killed while recording leaves a file that plays up to about a second
 * before the kill (its header has no duration: cc_recorder_repair writes
 * one); a recording stopped normally is finalised with its duration and
 * cues (seekable).
 *
 * Threads: cc_recorder_* from one controlling thread (the server's control
 * thread); cc_rec_tap_* from the one worker thread the tap is attached to;
 * the done callback runs on the recorder's own thread. */
#ifndef CLASSCAST_RECORDER_H
#define CLASSCAST_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"

/* Largest RTP packet kept (a larger one is a counted drop). */
#define CC_REC_PKT_CAP 1500
/* Packet slots per recording: about 8 s of a 2.5 Mbit/s teacher. */
#define CC_REC_DEFAULT_SLOTS 2048
/* How long the jitter buffers wait for a late or repaired packet. */
#define CC_REC_LATENCY_MS 1000

typedef struct cc_recorder cc_recorder;
typedef struct cc_rec_tap cc_rec_tap;

/* ---- worker side ---- */

/* A copy of one of the teacher's RTP packets (slot: cc_slot; live: the
 * teacher's feeds with a source now, bit 1 << cc_slot). 0, or CC_EAGAIN
 * when every slot is in use (counted: the recorder is behind), or
 * CC_EINVAL when larger than CC_REC_PKT_CAP (counted). */
int cc_rec_tap_push(cc_rec_tap *t, int slot, unsigned live, const uint8_t *rtp, size_t len,
                    cc_time_us now);
/* 1 when the recorder asked for a key frame of `slot` since the last call
 * (and clears the request), else 0. One relaxed load when nothing is
 * wanted. */
int cc_rec_tap_keyframe_wanted(cc_rec_tap *t, int slot);

/* ---- controlling thread ---- */

typedef struct cc_recorder_result {
    int ok;                  /* 1: the file was finalised */
    char error[200];         /* why not, in English ("" if ok) */
    int64_t duration_ms;     /* first to last media time written */
    uint64_t bytes;          /* the file's size */
} cc_recorder_result;

typedef struct cc_recorder_config {
    const char *path;        /* the .webm to write (created, 0600) */
    int slots;               /* packet slots; 0: CC_REC_DEFAULT_SLOTS */
    int latency_ms;          /* jitter buffers; 0: CC_REC_LATENCY_MS */
    /* Called once on the recorder's thread when the file is done
     * (finalised or failed), before the thread ends. May be NULL. */
    void (*done)(void *ud, const cc_recorder_result *res);
    void *ud;
} cc_recorder_config;

/* Recorder counters (any thread, relaxed atomics). */
#define CC_RECORDER_COUNTERS(X)                                                \
    X(pkts_in) X(ring_full) X(too_big) X(video_pkts) X(audio_pkts)             \
    X(switches) X(wait_keyframe) X(not_selected) X(malformed)                  \
    X(fill_video) X(fill_audio) X(keyframe_asks) X(depay_keyframe_asks)        \
    X(video_frames) X(audio_frames)

typedef struct cc_recorder_stats {
#define CC_X(name) uint64_t name;
    CC_RECORDER_COUNTERS(CC_X)
#undef CC_X
} cc_recorder_stats;

/* Build the pipeline, open the file and start the thread. 0, or a
 * negative code with a reason in err. */
int cc_recorder_start(cc_recorder **out, const cc_recorder_config *cfg, char *err,
                      size_t errcap);
/* The hand-off for cc_sfu_record_attach (owned by the recorder). */
cc_rec_tap *cc_recorder_tap(cc_recorder *r);
/* Ask the thread to finish: what is in the ring is written, the streams
 * end, the file is finalised, then done() runs. Returns at once. Detach
 * the tap from the SFU first. */
void cc_recorder_finish(cc_recorder *r);
/* 1 once the thread has finished (done() has run). */
int cc_recorder_finished(const cc_recorder *r);
/* 1 if the pipeline reported an error (a full disk ...): finish it. */
int cc_recorder_failed(const cc_recorder *r);
/* Finish if needed, wait for the thread, fill *res (may be NULL). */
void cc_recorder_wait(cc_recorder *r, cc_recorder_result *res);
/* Wait as above, then free. NULL is fine. */
void cc_recorder_free(cc_recorder *r);
void cc_recorder_get_stats(const cc_recorder *r, cc_recorder_stats *out);

/* A recording the server did not finish (killed, crashed): its clusters
 * are there, its header has no duration and no cues. Remux it into
 * <path>.tmp (matroskademux ! webmmux) and rename over path, so it has a
 * duration and seeks; keeps the original if that fails. Blocking (about
 * the time to read and write the file once); any thread. 0 and *res, or
 * a negative code with res->error. */
int cc_recorder_repair(const char *path, cc_recorder_result *res);

#endif
