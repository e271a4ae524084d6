/* classcast: a recorded, already packetized RTP stream replayed in real
 * time, in a loop: the "recorded file" source of the load generator's
 * publisher (and of `classcast publish --source FILE` until the media core
 * encodes live). The file is RFC 4571 framing (a 16-bit big-endian length,
 * then the RTP packet), exactly what GStreamer's rtpstreampay writes:
 *   videotestsrc ! vp8enc ! rtpvp8pay ! rtpstreampay ! filesink
 *   audiotestsrc ! opusenc ! rtpopuspay ! rtpstreampay ! filesink
 * Packets are grouped into frames by RTP timestamp; a frame is released at
 * its due time, its packets back to back. Output timestamps advance with
 * the frames played (the file's own frame durations), so loops and
 * keyframe jumps keep the RTP clock continuous.
 * Thread: one owner. No I/O after cc_rtpfile_open. */
#ifndef CLASSCAST_RTPFILE_H
#define CLASSCAST_RTPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"

typedef struct cc_rtpfile cc_rtpfile;

/* Load the whole file (at most 64 MiB). video: VP8 (keyframes found by the
 * RFC 7741 descriptor), else audio. clock_rate: 90000 / 48000. 0, CC_EIO,
 * CC_EINVAL (not RFC 4571 RTP, or no packets) or CC_ENOMEM; err says why. */
int cc_rtpfile_open(cc_rtpfile **out, const char *path, int video,
                    int clock_rate, char *err, size_t errcap);
void cc_rtpfile_free(cc_rtpfile *f);

/* Playback starts at `now`. */
void cc_rtpfile_start(cc_rtpfile *f, cc_time_us now);
/* The next packet due at or before now (timestamp rewritten to the
 * continuous output clock; other header fields as recorded): 0 with
 * buf/len, or CC_EAGAIN with *next_due set. A sender more than 100 ms late
 * slips the schedule rather than sending a burst. */
int cc_rtpfile_next(cc_rtpfile *f, cc_time_us now, uint8_t *buf, size_t cap,
                    size_t *len, cc_time_us *next_due);
/* Jump to the latest keyframe at or before the next frame (RFC 4585 PLI
 * answered by replaying from a keyframe). */
void cc_rtpfile_request_keyframe(cc_rtpfile *f);

int cc_rtpfile_packets(const cc_rtpfile *f);
int cc_rtpfile_frames(const cc_rtpfile *f);
int cc_rtpfile_keyframes(const cc_rtpfile *f);
/* Length of one loop. */
cc_time_us cc_rtpfile_duration(const cc_rtpfile *f);

#endif
