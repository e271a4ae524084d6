/* classcast: RTP packetizers for locally encoded media.
 *   VP8  (RFC 7741): payload descriptor with a 15-bit PictureID that
 *        increments per frame, TL0PICIDX that increments on TID 0 frames,
 *        TID / Y / KEYIDX (section 4.2); S bit on the first packet, marker on
 *        the last packet of a frame (section 4.1); 90 kHz clock.
 *   Opus (RFC 7587): one frame per packet, 48 kHz clock (section 4.1),
 *        marker on the first packet of a talkspurt (RFC 3551 section 4.1).
 * The RTP timestamp is the capture time in the media clock from a random
 * per-stream base, so audio and video captured at the same instant carry
 * matching times and one cc_packetizer_rtp_ts() call maps a sender-report
 * instant to RTP time (RFC 3550 section 6.4.1).
 * With abs_send_time_id set, each packet carries the abs-send-time
 * one-byte header extension (RFC 8285 section 4.2) filled from the explicit
 * `now` of the packetize call.
 * Pure: writes only into the caller's buffers, no allocation, no I/O.
 * Thread: the thread that owns the stream. */
#ifndef CLASSCAST_PACKETIZER_H
#define CLASSCAST_PACKETIZER_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"

/* Default RTP payload budget (descriptor + media bytes) per packet: leaves
 * room for RTP header, extensions, SRTP tag and IPv6/UDP in a 1280-1500 MTU. */
#define CC_PKTZ_MTU_DEFAULT 1200
/* Bytes besides the payload budget a packet may need: 12 RTP header +
 * 8 extension block (abs-send-time). Buffers of mtu + CC_PKTZ_OVERHEAD are
 * always enough. */
#define CC_PKTZ_OVERHEAD 20
#define CC_PKTZ_CLOCK_VP8 90000
#define CC_PKTZ_CLOCK_OPUS 48000

typedef enum {
    CC_PKTZ_VP8 = 1,
    CC_PKTZ_OPUS = 2,
} cc_pktz_codec;

typedef struct cc_pktz_config {
    cc_pktz_codec codec;
    uint8_t pt;                /* payload type, 0..127 */
    uint32_t ssrc;
    uint16_t seq_base;         /* first sequence number */
    uint32_t ts_base;          /* RTP timestamp of capture time 0 */
    uint16_t picture_id_base;  /* VP8: first PictureID (15 bits used) */
    uint8_t tl0picidx_base;    /* VP8: TL0PICIDX of the first TL0 frame */
    uint8_t keyidx_base;       /* VP8: KEYIDX of the first keyframe */
    int temporal;              /* VP8: write TL0PICIDX and TID/Y/KEYIDX */
    size_t mtu;                /* RTP payload budget; 0: CC_PKTZ_MTU_DEFAULT */
    int abs_send_time_id;      /* 0: none, else 1..14 (RFC 8285 one-byte) */
} cc_pktz_config;

typedef struct cc_packetizer {
    cc_pktz_config cfg;
    uint16_t seq;              /* next sequence number */
    uint16_t picture_id;       /* next PictureID */
    uint8_t tl0picidx;         /* of the latest TL0 frame */
    uint8_t keyidx;            /* of the latest keyframe */
    int have_tl0, have_key;
    int talkspurt;             /* Opus: next packet starts a talkspurt */
    uint64_t frames, packets, bytes;
} cc_packetizer;

/* Per-frame facts from the VP8 encoder (cc_vp8enc_frame). */
typedef struct cc_pktz_vp8_frame {
    int keyframe;
    int tid;                   /* 0..3 */
    int layer_sync;            /* Y */
    int non_ref;               /* N */
    cc_time_us capture_time;
} cc_pktz_vp8_frame;

/* Fill the random fields (ssrc, seq_base, ts_base, picture_id_base,
 * tl0picidx_base, keyidx_base) from the CSPRNG: RFC 3550 section 5.1 wants
 * random initial sequence numbers and timestamps. */
void cc_pktz_config_randomize(cc_pktz_config *cfg);

/* 0 or CC_EINVAL (unknown codec, pt > 127, id out of range, mtu too small). */
int cc_packetizer_init(cc_packetizer *p, const cc_pktz_config *cfg);

/* RTP timestamp of a capture instant (monotonic microseconds). */
uint32_t cc_packetizer_rtp_ts(const cc_packetizer *p, cc_time_us t);

/* Number of packets a VP8 frame of len bytes becomes. */
size_t cc_packetizer_vp8_count(const cc_packetizer *p, size_t len);

/* Packetize one VP8 frame into nbufs caller buffers of buf_cap bytes each
 * (buf_cap >= mtu + CC_PKTZ_OVERHEAD always suffices). Packets are sized
 * evenly. Returns the number of packets written with lens[i] set,
 * CC_ENOSPC (too few or too small buffers; nothing advances) or CC_EINVAL. */
int cc_packetizer_vp8(cc_packetizer *p, const uint8_t *frame, size_t len,
                      const cc_pktz_vp8_frame *f, cc_time_us now,
                      uint8_t *const bufs[], size_t buf_cap, size_t nbufs,
                      size_t lens[]);

/* Packetize one Opus packet (RFC 7587 section 4.2: one per RTP packet).
 * A packet of 2 bytes or less is DTX silence: the packet after it starts a
 * new talkspurt and carries the marker (RFC 3551 section 4.1). A caller
 * that does not send DTX packets just drops them after this call.
 * 0 with *out_len set, CC_ENOSPC or CC_EINVAL. */
int cc_packetizer_opus(cc_packetizer *p, const uint8_t *frame, size_t len,
                       cc_time_us capture_time, cc_time_us now, uint8_t *buf,
                       size_t cap, size_t *out_len);

#endif
