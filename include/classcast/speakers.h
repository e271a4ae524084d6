/* classcast: who is speaking in a lesson, from the audio level every
 * publisher's browser puts in its audio packets (RFC 6464 client-to-mixer
 * audio level, an RFC 8285 header extension), and the list of the most
 * recent speakers ("last-N": a page shows the video of the first N).
 *
 * RFC 6464 section 3: the extension value is one byte, the V flag (MSB: the
 * sender's voice activity detector thinks this is speech) and a 7-bit level
 * in -dBov (0 = loudest, 127 = silence; Chromium sends 127 for a disabled
 * or muted track).
 *
 * The rule:
 *   - A packet is speech if its level <= CC_SPEAKERS_SPEECH_LEVEL (louder
 *     than -50 dBov). The V flag is kept (cc_speakers_last) but does not
 *     decide: not every sender runs a VAD.
 *   - A packet stands for the media time since its sender's previous
 *     packet: its RTP timestamp's advance where the caller gives it (so a
 *     burst of packets that a busy sender or a busy worker delivers at one
 *     instant still counts as the 100 ms of sound it carries), else the
 *     arrival time's; capped at CC_SPEAKERS_PACKET_CAP_US (a sender's first
 *     packet, and the first after a discontinuity, counts
 *     CC_SPEAKERS_FIRST_US).
 *   - Each sender keeps its speech time of the last CC_SPEAKERS_WINDOW_US
 *     in CC_SPEAKERS_BUCKETS buckets (a sliding window of whole buckets:
 *     it covers 900..1000 ms). A gap of more than CC_SPEAKERS_GAP_US since
 *     the sender's previous packet, or time going backwards, clears it.
 *   - A sender qualifies when its window holds at least
 *     CC_SPEAKERS_SPEECH_US of speech (450 of 1000 ms: a 200 ms cough never
 *     does). On each speech packet of a qualified sender X, X moves forward
 *     in the recency list past every entry that is not holding against it
 *     and stops behind the first that is: Y holds against X if Y's own
 *     window (aged to now) holds more than X's minus CC_SPEAKERS_MARGIN_US
 *     and Y is still talking (its latest speech packet is at most
 *     CC_SPEAKERS_STOPPED_US old).
 *     So when one person speaks at a time, whoever qualifies goes to the
 *     front (the current speaker); when two speak at once, the one who had
 *     the front keeps it and the other goes second, and the two cannot
 *     swap places on every packet (a swap needs the difference of their
 *     windows to swing by twice the margin).
 *   - The list holds only senders that have qualified since they were
 *     added, most recent first; its first N entries are "the last N".
 *     Its version counter increases whenever its order or membership
 *     changes.
 *
 * Cost per packet: a linear lookup over at most CC_SPEAKERS_MAX small
 * entries and a bucket update; a qualified sender that is not at the
 * front also ages and compares the entries ahead of it. No allocation
 * (the caller owns the fixed-size struct), no I/O, no locks, explicit
 * clock. Thread: the owner's (the SFU worker that owns the room). */
#ifndef CLASSCAST_SPEAKERS_H
#define CLASSCAST_SPEAKERS_H

#include <stdint.h>

#include "classcast/clock.h"
#include "classcast/rtp.h"

#define CC_SPEAKERS_MAX 32                 /* senders tracked per room */
#define CC_SPEAKERS_SPEECH_LEVEL 50        /* -dBov: speech if level <= */
#define CC_SPEAKERS_BUCKETS 10
#define CC_SPEAKERS_BUCKET_US (100 * CC_USEC_PER_MSEC)
/* What one bucket may hold: a burst of late packets lands in one. */
#define CC_SPEAKERS_BUCKET_FULL_US (4 * CC_SPEAKERS_BUCKET_US)
#define CC_SPEAKERS_WINDOW_US (CC_SPEAKERS_BUCKETS * CC_SPEAKERS_BUCKET_US)
#define CC_SPEAKERS_SPEECH_US (450 * CC_USEC_PER_MSEC) /* to qualify */
/* A sender whose latest speech packet is older than this has stopped
 * talking (a breath is shorter): it holds no place against one who
 * qualifies. */
#define CC_SPEAKERS_STOPPED_US (150 * CC_USEC_PER_MSEC)
#define CC_SPEAKERS_MARGIN_US (100 * CC_USEC_PER_MSEC) /* to overtake */
#define CC_SPEAKERS_PACKET_CAP_US (60 * CC_USEC_PER_MSEC)
#define CC_SPEAKERS_FIRST_US (20 * CC_USEC_PER_MSEC)
#define CC_SPEAKERS_GAP_US CC_USEC_PER_SEC /* longer: window cleared */

typedef struct cc_speaker {
    uint32_t id;                  /* member id, != 0 */
    uint8_t level;                /* of the latest packet, -dBov */
    uint8_t voice;                /* V flag of the latest packet */
    uint8_t listed;               /* in the recency list */
    uint8_t has_ts;               /* last_ts holds a timestamp */
    uint32_t last_ts;             /* RTP timestamp of the latest packet */
    cc_time_us last;              /* arrival of the latest packet */
    cc_time_us last_speech;       /* arrival of the latest speech packet */
    int64_t head;                 /* bucket number of the newest bucket */
    uint32_t sum_us;              /* speech in the window */
    uint32_t bucket_us[CC_SPEAKERS_BUCKETS]; /* indexed head % BUCKETS */
} cc_speaker;

typedef struct cc_speakers {
    cc_speaker slot[CC_SPEAKERS_MAX]; /* slot[0..n) in use */
    int n;
    uint8_t order[CC_SPEAKERS_MAX];   /* recency list: slot indexes */
    int n_order;
    uint32_t version;
} cc_speakers;

void cc_speakers_init(cc_speakers *s);

/* RFC 6464 section 3: the audio level of an RTP packet, from its RFC 8285
 * header extension element `ext_id` (the id negotiated for
 * urn:ietf:params:rtp-hdrext:ssrc-audio-level; one-byte or two-byte form).
 * 0 with *level (0..127, -dBov) and *voice (0/1); CC_ENOTFOUND if the
 * packet has no such element; CC_EINVAL if the extension block is corrupt
 * or the element is not one byte long. */
int cc_speakers_parse_level(const cc_rtp_hdr *h, int ext_id, int *level,
                            int *voice);

/* One audio packet's level (0..127) and V flag from sender `id` (a member
 * id, != 0) at `now`. 1 if the recency list changed (read it with
 * cc_speakers_recent), 0 if not; CC_ELIMIT if `id` would be sender
 * CC_SPEAKERS_MAX + 1 (the packet is ignored); CC_EINVAL on a bad
 * argument. */
int cc_speakers_on_level(cc_speakers *s, uint32_t id, int level, int voice,
                         cc_time_us now);

/* The same, with the packet's RTP timestamp and its clock rate (Hz, > 0):
 * the packet's share of speech is the timestamp's advance since the
 * sender's previous packet (RFC 3550 section 5.1), not the arrival time's.
 * A timestamp that does not advance (a repeat, a reordered packet) counts
 * nothing. */
int cc_speakers_on_level_ts(cc_speakers *s, uint32_t id, int level,
                            int voice, uint32_t rtp_ts, uint32_t clock_hz,
                            cc_time_us now);

/* The sender stopped publishing (or was muted): forget it. 1 if the
 * recency list changed, 0 if not (also for an unknown id). */
int cc_speakers_remove(cc_speakers *s, uint32_t id);

/* The recency list, most recent speaker first: writes up to `max` ids and
 * returns how many it wrote. */
int cc_speakers_recent(const cc_speakers *s, uint32_t *ids, int max);

/* Increases whenever the recency list changes (order or membership); the
 * caller compares it with the value it last told the pages. */
uint32_t cc_speakers_version(const cc_speakers *s);

/* The latest level and V flag of sender `id`: 0, or CC_ENOTFOUND. */
int cc_speakers_last(const cc_speakers *s, uint32_t id, int *level,
                     int *voice);

#endif
