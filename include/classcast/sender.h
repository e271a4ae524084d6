/* classcast: the sending side of a WHIP publisher on a cc_client: takes
 * already packetized RTP from a source callback (a recorded file today,
 * the media core's VP8/Opus packetizers later), gives it the negotiated
 * SSRC, payload type, a continuous sequence number and header extensions
 * (mid, abs-send-time with the send time), protects it, and answers the
 * server's feedback like a browser does: NACK -> resend from a history of
 * recent video packets, PLI/FIR -> ask the source for a keyframe; an SR
 * per stream about once a second (RFC 3550 section 6.4.1).
 * No I/O, explicit `now`, like cc_client. Thread: one owner. */
#ifndef CLASSCAST_SENDER_H
#define CLASSCAST_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/client.h"

/* A packet source. next(): the next packet due at or before `now` (a
 * whole RTP packet; the sender replaces SSRC, payload type, sequence number
 * and extensions and keeps timestamp, marker and payload), 0 with *len, or
 * CC_EAGAIN with *next_due, or CC_ECLOSED when the source has ended.
 * keyframe(): a keyframe was requested (may be NULL). */
typedef struct cc_rtp_source {
    void *ud;
    int (*next)(void *ud, cc_time_us now, uint8_t *buf, size_t cap,
                size_t *len, cc_time_us *next_due);
    void (*keyframe)(void *ud);
} cc_rtp_source;

enum { CC_SENDER_VIDEO = 0, CC_SENDER_AUDIO = 1, CC_SENDER_STREAMS = 2 };

typedef struct cc_sender_stream_config {
    int enabled;
    cc_rtp_source src;
    uint32_t ssrc;
    uint8_t pt;
    int clock_rate;
    const char *mid;        /* for the mid extension (RFC 8843 section 15) */
    int ext_mid;            /* negotiated extension ids, 0: not sent */
    int ext_abs_send_time;
} cc_sender_stream_config;

typedef struct cc_sender_config {
    cc_client *client;      /* borrowed; the owner frees it after the sender */
    cc_sender_stream_config streams[CC_SENDER_STREAMS];
    const char *cname;
    /* Called with every media packet as sent (plain, before SRTP), also
     * for resends (resend = 1): the load generator keys its latency table
     * on it. May be NULL. */
    void (*on_sent)(void *ud, int stream, const uint8_t *pkt, size_t len,
                    int resend, cc_time_us now);
    void *ud;
} cc_sender_config;

typedef struct cc_sender_stats {
    uint64_t packets[CC_SENDER_STREAMS];
    uint64_t bytes[CC_SENDER_STREAMS];
    uint64_t nack_received;   /* sequence numbers asked for */
    uint64_t resent;
    uint64_t resend_miss;     /* no longer in the history */
    uint64_t pli_received;
    uint64_t sr_sent;
    uint64_t rr_received;
    uint32_t last_rr_cumulative_lost[CC_SENDER_STREAMS];
} cc_sender_stats;

typedef struct cc_sender cc_sender;

int cc_sender_new(cc_sender **out, const cc_sender_config *cfg, cc_time_us now);
void cc_sender_free(cc_sender *s);

/* One datagram from the server: handed to the client; RTCP feedback is
 * acted on. Returns >= 0 or a negative code (dropped). */
int cc_sender_handle(cc_sender *s, cc_demux_kind kind, uint8_t *buf,
                     size_t len, const cc_addr *from, cc_time_us now);
/* Next datagram to send now (client control first, then resends, RTCP,
 * due media): 0 with buf/len/to, or CC_EAGAIN. cap >= 1500. */
int cc_sender_poll(cc_sender *s, cc_time_us now, uint8_t *buf, size_t cap,
                   size_t *len, cc_addr *to);
cc_time_us cc_sender_deadline(const cc_sender *s, cc_time_us now);
void cc_sender_handle_timeout(cc_sender *s, cc_time_us now);
const cc_sender_stats *cc_sender_get_stats(const cc_sender *s);
/* Stop (1) or resume (0) taking media from the sources; feedback, resends
 * and reports go on (a load test's end: let in-flight losses repair). */
void cc_sender_set_paused(cc_sender *s, int paused);

#endif
