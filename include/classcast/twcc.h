/* classcast: transport-wide congestion control
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01), the protocol parts:
 *  - the transport-wide sequence number header extension (section 2),
 *    read and written in RTP packets (RFC 8285 elements, src/rtp/rtp.c);
 *  - the receiver side (cc_twcc_recv): records when each packet of a
 *    sender's transport arrived and builds the feedback packets
 *    (section 3.1, RTCP RTPFB FMT 15) that the sender's congestion
 *    controller needs, every interval or when enough packets wait;
 *  - the send side's view of one feedback packet (cc_twcc_parse): for
 *    every packet it describes, its sequence number, whether it arrived,
 *    and when (the receiver's clock), for src/sfu/bwe.c.
 * Pure: no I/O, no clock (every call takes `now`), no allocation.
 * Thread: the one that owns the object (the SFU worker of the peer). */
#ifndef CLASSCAST_TWCC_H
#define CLASSCAST_TWCC_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"
#include "classcast/rtcp.h"
#include "classcast/rtp.h"

/* ---- header extension (section 2: a 16-bit sequence number) ---- */

/* The transport-wide sequence number of a parsed packet whose extension id
 * is `id` (negotiated by a=extmap with CC_EXT_URI_TWCC): 0, CC_ENOTFOUND,
 * or CC_EINVAL (the element is not 2 bytes long, or the block is corrupt). */
int cc_twcc_ext_get(const cc_rtp_hdr *h, int id, uint16_t *seq);

/* Write the sequence number into the packet buf[0..len) (capacity cap):
 * overwrite the element if the packet has it, else add it (cc_rtp_set_ext:
 * may grow the packet by up to 8 bytes). *new_len gets the length. */
int cc_twcc_ext_put(uint8_t *buf, size_t len, size_t cap, int id,
                    uint16_t seq, size_t *new_len);

/* ---- receiver side: feedback builder ---- */

/* Packets remembered between two feedback packets (a power of two). At
 * 50 ms intervals that is 40000 packets/s, far above a classroom sender;
 * a burst beyond it loses the oldest statuses (counted in `overflow`). */
#define CC_TWCC_RECV_WINDOW 2048
/* Feedback every 50 ms by default: libwebrtc sends every 50-250 ms,
 * adapting to the rate; 50 ms keeps the sender's delay signal fresh for
 * about 1 % of a 1 Mbit/s stream (a ~60-byte packet 20 times a second). */
#define CC_TWCC_DEFAULT_INTERVAL (50 * CC_USEC_PER_MSEC)
#define CC_TWCC_DEFAULT_MAX_PENDING 100

typedef struct cc_twcc_recv_config {
    uint32_t sender_ssrc;     /* "SSRC of packet sender": ours */
    uint32_t media_ssrc;      /* one media SSRC of the sender (informative:
                                 the feedback covers the whole transport) */
    cc_time_us interval;      /* 0: CC_TWCC_DEFAULT_INTERVAL */
    unsigned max_pending;     /* send early when this many packets wait;
                                 0: CC_TWCC_DEFAULT_MAX_PENDING */
} cc_twcc_recv_config;

typedef struct cc_twcc_recv_stats {
    uint64_t packets;     /* recorded */
    uint64_t duplicates;  /* same sequence number again: first arrival kept */
    uint64_t late;        /* arrived after its number was already reported
                             (reported as lost; not reported again) */
    uint64_t overflow;    /* statuses dropped unreported (window exceeded) */
    uint64_t feedback;    /* feedback packets built */
} cc_twcc_recv_stats;

typedef struct cc_twcc_recv {
    cc_twcc_recv_config cfg;
    int started;
    int more;                 /* the last poll left packets for another */
    int64_t start;            /* first extended seq not yet reported */
    int64_t max;              /* highest extended seq recorded */
    cc_time_us last_fb;       /* when the last feedback was built */
    uint8_t fb_count;         /* feedback packet count (section 3.1) */
    cc_twcc_recv_stats stats;
    cc_time_us arrival[CC_TWCC_RECV_WINDOW]; /* by extended seq; NONE if not */
} cc_twcc_recv;

void cc_twcc_recv_init(cc_twcc_recv *r, const cc_twcc_recv_config *cfg,
                       cc_time_us now);

/* A packet with transport-wide sequence number seq arrived at `now`. */
void cc_twcc_recv_on_packet(cc_twcc_recv *r, uint16_t seq, cc_time_us now);

/* Build the next feedback packet into buf[0..cap) if one is due (the
 * interval passed, max_pending packets wait, or the previous poll had more
 * than fitted): returns its length, 0 if nothing is due, or CC_ENOSPC (cap
 * below 64 bytes). Call again while it returns > 0. One feedback packet
 * covers the oldest unreported number up to the highest received one;
 * packets not received by then are reported lost. Deltas are quantised
 * on the reference time's grid, so rounding never accumulates; a delta
 * beyond +-8.19 s or a full buffer ends the packet (on its last received
 * packet) and the rest goes in the next one. */
int cc_twcc_recv_poll(cc_twcc_recv *r, cc_time_us now, uint8_t *buf,
                      size_t cap);

/* When cc_twcc_recv_poll next has something to do (CC_TIME_NEVER if no
 * packet waits). */
cc_time_us cc_twcc_recv_deadline(const cc_twcc_recv *r);

/* ---- send side: one feedback packet, expanded ---- */

typedef struct cc_twcc_pkt {
    uint16_t seq;
    uint8_t received;
    /* If received: the receive delta of section 3.1.5 in microseconds (from
     * the previous received packet of this feedback, the first from the
     * reference time), and the arrival time on the receiver's clock,
     * reference time x 64 ms + the deltas so far (so modulo 2^24 x 64 ms,
     * about 12.4 days: src/sfu/bwe.c unwraps it). */
    int32_t delta_us;
    int64_t arrival_us;
} cc_twcc_pkt;

typedef struct cc_twcc_feedback {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    uint16_t base_seq;
    uint16_t status_count;
    uint32_t reference_time;  /* 24 bits, units of 64 ms */
    uint8_t fb_pkt_count;
    size_t n;                 /* entries filled: min(status_count, cap) */
    size_t received;          /* of the n, how many arrived */
} cc_twcc_feedback;

/* Expand a transport-cc feedback (an RTPFB FMT 15 from cc_rtcp_parse_fb)
 * into out[0..cap), one entry per packet in sequence order. Any bytes:
 * 0, or CC_EINVAL / CC_ETRUNC for a malformed packet (then *fb and out
 * hold nothing usable). Every symbol is checked even beyond cap. */
int cc_twcc_parse(const cc_rtcp_fb *rfb, cc_twcc_feedback *fb,
                  cc_twcc_pkt *out, size_t cap);

#endif
