/* classcast: the sending side of a WHIP publisher on a cc_client: takes
 * already packetized RTP from a source callback (a recorded file, the
 * media core's VP8/Opus packetizers), gives it the negotiated SSRC,
 * payload type, a continuous sequence number and header extensions (mid,
 * abs-send-time with the send time, the transport-wide sequence number),
 * protects it, and answers the server's feedback like a browser does:
 * NACK -> resend from a history of recent video packets, PLI/FIR -> ask
 * the source for a keyframe; an SR per stream about once a second
 * (RFC 3550 section 6.4.1).
 * Congestion control: where transport-cc was negotiated
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01), every packet of
 * the transport (media, resends, probes) carries one counter's next
 * number, a send-side estimate (cc_bwe, include/classcast/bwe.h) is told
 * of each and fed the server's feedback (RTPFB FMT 15) and REMB, and its
 * probe clusters go out as RTP padding on the video stream. The owner
 * reads the target (cc_sender_target_bps) and sets its encoders from it;
 * the sender itself does not pace or drop media, but it keeps resends
 * within half the target and does not repeat one within an RTT.
 * No I/O, explicit `now`, like cc_client. Thread: one owner. */
#ifndef CLASSCAST_SENDER_H
#define CLASSCAST_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/bwe.h"
#include "classcast/client.h"

/* Bytes a packet costs on the wire beyond its SRTP-protected length, as
 * the estimate counts it: UDP (8) and IPv4 (20) headers. */
#define CC_SENDER_WIRE_OVERHEAD 28

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

/* Simulcast encodings of one stream at most. */
#define CC_SENDER_MAX_ENC 3

/* One simulcast encoding (RFC 8853) of a stream. */
typedef struct cc_sender_encoding {
    uint32_t ssrc;          /* on the wire: SRs, NACK / PLI / FIR for it */
    uint32_t src_ssrc;      /* the source's packets with this SSRC are it */
    const char *rid;        /* RFC 8852 RtpStreamId: 1..16 characters */
} cc_sender_encoding;

typedef struct cc_sender_stream_config {
    int enabled;
    cc_rtp_source src;
    uint32_t ssrc;
    uint8_t pt;
    int clock_rate;
    const char *mid;        /* for the mid extension (RFC 8843 section 15) */
    int ext_mid;            /* negotiated extension ids, 0: not sent */
    int ext_abs_send_time;
    /* Transport-wide sequence number id (1..14), only where the answer
     * kept both the extmap and a=rtcp-fb:PT transport-cc; 0: not sent.
     * Any stream with it turns the estimate on. */
    int ext_twcc;
    /* Simulcast (RFC 8853, video): n_enc >= 2 encodings, lowest first,
     * in place of ssrc. The source's packets go to the encoding whose
     * src_ssrc they carry; one that matches none is not sent (counted in
     * enc_unsent: never an SSRC the answer did not take). Each encoding
     * has its own SSRC, sequence numbers, SR and NACK history, and every
     * packet carries the mid and its rid (ext_rid, RFC 8852 section 3);
     * a PLI or FIR for any of them calls keyframe(). Probes go on the
     * last (largest). 0 or 1: one stream. */
    int n_enc;
    cc_sender_encoding enc[CC_SENDER_MAX_ENC];
    int ext_rid;
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
    /* The estimate's range and start (zeroes: cc_bwe's defaults) and
     * no_probe; used only with ext_twcc on some stream. */
    cc_bwe_config bwe;
} cc_sender_config;

typedef struct cc_sender_stats {
    uint64_t packets[CC_SENDER_STREAMS];
    uint64_t bytes[CC_SENDER_STREAMS];
    uint64_t nack_received;   /* sequence numbers asked for */
    uint64_t resent;
    uint64_t resend_miss;     /* no longer in the history */
    uint64_t resend_suppressed; /* asked again within an RTT of a resend */
    uint64_t resend_budget;   /* over the resend share of the target */
    uint64_t pli_received;
    uint64_t sr_sent;
    uint64_t rr_received;
    uint32_t last_rr_cumulative_lost[CC_SENDER_STREAMS];
    /* RTP payload bytes of media packets (first sends), and what every
     * packet of the stream cost on the wire (protected length +
     * CC_SENDER_WIRE_OVERHEAD, resends included): the owner's overhead
     * and audio share when it splits the target. */
    uint64_t payload_bytes[CC_SENDER_STREAMS];
    uint64_t wire_bytes[CC_SENDER_STREAMS];
    /* Congestion control (all 0 without transport-cc). */
    uint64_t twcc_numbered;     /* packets sent with a transport-wide seq */
    uint64_t twcc_feedback;     /* feedback packets the estimate took */
    uint64_t twcc_feedback_bad; /* unparsable or refused */
    uint64_t remb_received;
    uint64_t probe_clusters;    /* probe clusters started */
    uint64_t probe_packets;     /* padding packets sent for them */
    uint64_t probe_bytes;       /* their wire bytes */
    uint32_t target_bps;        /* the estimate (as of the last tick or
                                   feedback), 0 without one */
    /* Simulcast video: media packets sent per encoding (first sends, in
     * the order of cc_sender_stream_config.enc), NACKed packets resent
     * per encoding, and source packets of no negotiated encoding. */
    uint64_t enc_packets[CC_SENDER_MAX_ENC];
    uint64_t enc_resent[CC_SENDER_MAX_ENC];
    uint64_t enc_unsent;
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
/* Due work: the client's timers, resends, SRs, media, and with an
 * estimate its tick (every 25 ms) and the pacing of a probe cluster. */
cc_time_us cc_sender_deadline(const cc_sender *s, cc_time_us now);
void cc_sender_handle_timeout(cc_sender *s, cc_time_us now);
const cc_sender_stats *cc_sender_get_stats(const cc_sender *s);
/* Stop (1) or resume (0) taking media from the sources; feedback, resends
 * and reports go on (a load test's end: let in-flight losses repair). */
void cc_sender_set_paused(cc_sender *s, int paused);

/* The send-side estimate's target in bit/s (what the whole transport may
 * send, wire bytes), or 0 when transport-cc was not negotiated. */
uint32_t cc_sender_target_bps(const cc_sender *s);
/* The estimator's own counters; CC_ENOTFOUND without an estimate. */
int cc_sender_get_bwe_stats(const cc_sender *s, cc_bwe_stats *out);
/* The owner would send up to bps if the path carried it (its encoders
 * held below their configured rates): ask the estimate for one probe
 * cluster at bps (cc_bwe_probe_request). 1 if queued, else 0 (no
 * estimate, or a cluster already queued or in flight). */
int cc_sender_probe_request(cc_sender *s, uint32_t bps, cc_time_us now);

#endif
