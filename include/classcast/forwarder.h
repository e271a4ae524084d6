/* classcast: the rewrite state of one outgoing stream of one subscriber
 * (one slot: camera, screen or mic). The subscriber's stream has one SSRC
 * for its whole life; sources (publisher streams) come and go under it.
 * For each source "epoch" the forwarder keeps offsets so that
 *   out_seq = in_seq + seq_off, out_ts = in_ts + ts_off,
 *   out_picture_id = in_picture_id + pid_off, out_tl0 = in_tl0 + tl0_off,
 * and when the source changes it re-bases them so the subscriber sees the
 * numbers continue (RFC 7667 section 3.7 "media-switching mixer" behaviour):
 * seq +1, timestamp advanced by the wall time since the last packet,
 * PictureID/TL0PICIDX +1. A video epoch starts only on a keyframe (RFC 7741
 * section 4.3), so the decoder never sees an inter frame from a source it
 * has no reference for; audio starts at once.
 * Pure: writes the rewritten packet into a caller buffer (the socket's send
 * slot). No allocation, no I/O. Thread: any (one owner). */
#ifndef CLASSCAST_FORWARDER_H
#define CLASSCAST_FORWARDER_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"
#include "classcast/rtp.h"
#include "classcast/vp8.h"

/* cc_fwd_write results (>= 0; negative values are CC_E* errors). */
enum {
    CC_FWD_SEND = 0,          /* *out_len bytes written: send them */
    CC_FWD_WAIT_KEYFRAME = 1, /* dropped: video epoch waits for a keyframe */
    CC_FWD_DROP_OLD = 2,      /* dropped: older than the epoch's first packet */
};

typedef struct cc_fwd_config {
    uint32_t ssrc;            /* the subscriber's SSRC (from its answer) */
    uint8_t pt;               /* the subscriber's payload type */
    int video;                /* VP8: keyframe wait, PictureID rewrite */
    int clock_rate;           /* 90000 / 48000 */
    /* Where the first epoch starts (RFC 3550 5.1: random initial values). */
    uint16_t initial_seq;
    uint32_t initial_ts;
    uint16_t initial_picture_id;
    uint8_t initial_tl0;
    /* Transport-wide sequence number extension id (RFC 8285 one-byte
     * element, 1..14), 0 for none: every packet written carries the
     * element with the number 0 at CC_FWD_TWCC_SEQ_OFF, which the caller
     * sets (the number is per transport, not per stream). */
    uint8_t ext_twcc;
} cc_fwd_config;

/* With cfg.ext_twcc: the header extension block (RFC 8285 4.2) right
 * after the 12-byte header: 0xBE 0xDE, length 1 word, the element
 * ((id << 4) | 1, two bytes of sequence number) and one pad byte. */
#define CC_FWD_EXT_LEN 8
#define CC_FWD_TWCC_SEQ_OFF (CC_RTP_HEADER_MIN + 5)

/* One incoming packet, parsed once and offered to every subscriber. */
typedef struct cc_fwd_pkt {
    uint32_t source;          /* id of the source (track), never 0 */
    const uint8_t *buf;       /* the whole RTP packet */
    const cc_rtp_hdr *h;      /* its parsed header */
    const cc_vp8_desc *vp8;   /* video: the parsed descriptor, else NULL */
    int keyframe;             /* first packet of a keyframe */
} cc_fwd_pkt;

typedef struct cc_fwd {
    cc_fwd_config cfg;
    uint32_t source;          /* current source, 0 none yet */
    int waiting;              /* epoch not started (video: keyframe) */
    int started;              /* anything sent ever */
    uint16_t seq_off;
    uint32_t ts_off;
    uint16_t pid_off;
    uint8_t tl0_off;
    uint16_t base_in_seq;     /* first source seq of this epoch */
    uint16_t last_in_seq;     /* newest source seq forwarded in this epoch */
    /* Newest packet sent (by sequence number). */
    uint16_t last_seq;
    uint32_t last_ts;
    cc_time_us last_at;
    uint16_t last_pid;
    uint8_t last_tl0;
    /* Upstream gaps (see `gap` below). */
    uint64_t gaps, gaps_filled;
    uint32_t gap_marks;
    /* For RTCP SR (RFC 3550 6.4.1): packets and payload octets sent. */
    uint32_t packets;
    uint32_t octets;
    uint32_t epochs;          /* epochs started (source switches + 1) */
    /* Temporal layers (RFC 7741 section 4.2 TID/Y; only for a source that
     * sends them). A picture above the cap is not sent: each of its
     * packets goes out as a one-octet padding packet under its own
     * sequence number (the subscriber sees no gap and NACKs nothing;
     * libwebrtc counts padding as received), and the PictureIDs of the
     * pictures that are sent stay consecutive (a receiver waits for a
     * missing PictureID before it decodes a picture of a higher layer).
     * A lower cap applies from the next picture; a higher one from the
     * next keyframe or layer-sync (Y) picture of the layer above. */
    uint8_t seen_tid;         /* the source marks temporal layers */
    uint8_t want_tid;         /* cap asked for (CC_FWD_ALL_LAYERS: none) */
    uint8_t cur_tid;          /* cap in force */
    uint8_t pic_dropped;      /* the current picture is not sent */
    uint16_t pic_in;          /* its source PictureID */
    uint8_t pic_valid;
    uint64_t thin[16];        /* 1024 source seqs: sent as padding */
    /* PictureIDs: pid_off moves down by one per left-out picture
     * (pid_drops counts them). A packet's PictureID went out as
     * in + pid_off + (pid_drops - at), where `at` is pid_drops when its
     * picture started; kept per source seq (pid_at) for retransmissions
     * and per recent picture (pid_map) for late packets. */
    uint32_t pid_drops;
    uint8_t pid_at[1024];
    struct { uint16_t in; uint8_t at; } pid_map[16];
    uint8_t pid_map_n, pid_map_head;
    uint32_t pictures_dropped;
    uint32_t packets_thinned;
    uint32_t layer_switches;
    /* Upstream gaps: sequence numbers this stream skipped because the
     * source packet never reached the SFU (lost between the publisher and
     * the SFU, or between two workers). The subscriber sees each as a
     * loss of its own, but its link lost nothing. `gaps` counts every
     * number skipped, `gaps_filled` those a late packet filled after all
     * (the publisher's answer to the SFU's own NACK, forwarded late);
     * `gap` marks, by output sequence number, the last 1024 numbers still
     * missing. Thinned pictures go out as padding under their own numbers
     * and a new epoch continues the numbering, so neither is a gap.
     * gap_marks counts the bits set in `gap` (the counters sit with the
     * per-packet state above; the bitmap is read and written only while
     * it has marks, so an unimpaired stream never touches its line). */
    uint64_t gap[16];
} cc_fwd;

#define CC_FWD_ALL_LAYERS 3

/* Highest temporal layer to send (0..2; CC_FWD_ALL_LAYERS for all). */
void cc_fwd_set_max_tid(cc_fwd *f, uint8_t tid);
/* 1 if the source marks temporal layers (so a cap does something). */
int cc_fwd_has_layers(const cc_fwd *f);

void cc_fwd_init(cc_fwd *f, const cc_fwd_config *cfg);
/* A packet of the current source is held back on purpose (its sender is
 * muted, or not among the subscriber's last-N speakers): the next packet
 * forwarded starts a new epoch (video: on a keyframe), so the subscriber
 * sees its numbers continue without a gap. */
void cc_fwd_hold(cc_fwd *f);

/* Offer a packet: returns CC_FWD_SEND with out[0..*out_len) set to the
 * rewritten packet (12-byte header with the subscriber's SSRC/PT/seq/ts, no
 * CSRCs, no header extensions but the transport-cc element if configured, payload with PictureID/TL0PICIDX rewritten,
 * padding dropped; a padding-only packet shrinks to one padding octet so the
 * sequence stays gap-free), CC_FWD_WAIT_KEYFRAME / CC_FWD_DROP_OLD, or
 * CC_ENOSPC if cap is too small. A packet from another source than the
 * current one starts a new epoch. */
int cc_fwd_write(cc_fwd *f, const cc_fwd_pkt *in, cc_time_us now,
                 uint8_t *out, size_t cap, size_t *out_len);

/* Upstream loss as the subscriber saw it up to its report: the output
 * sequence numbers up to and including `upto` (a receiver report's
 * extended highest sequence number, RFC 3550 section 6.4.1, low 16 bits)
 * that were skipped for lack of a source packet and not filled since.
 * Cumulative over the stream's life (numbers after `upto`, which the
 * receiver could not have counted yet, are left out while they are
 * among the last 1024). */
uint64_t cc_fwd_upstream_lost(const cc_fwd *f, uint16_t upto);
/* 1 if the output sequence number out_seq was skipped for lack of a
 * source packet and is still missing (one of the last 1024): a NACK for
 * it asks for a packet the SFU never had. */
int cc_fwd_is_gap(const cc_fwd *f, uint16_t out_seq);

/* Map a subscriber's NACKed sequence number back to the source's: 0 with
 * *in_seq set, or CC_ENOTFOUND if it was not sent in the current epoch. */
int cc_fwd_map_seq(const cc_fwd *f, uint16_t out_seq, uint16_t *in_seq);

/* Rewrite a cached packet of the current source exactly as it was sent (a
 * NACK answer, same SSRC and seq: no RTX). No state changes. 0, CC_ENOTFOUND
 * (another source / outside the epoch) or CC_ENOSPC. */
int cc_fwd_write_again(const cc_fwd *f, const cc_fwd_pkt *in, uint8_t *out,
                       size_t cap, size_t *out_len);

/* Turn a packet cc_fwd_write/cc_fwd_write_again wrote into buf[0..*len)
 * into its retransmission on the RTX stream (RFC 4588 section 4): SSRC,
 * payload type and sequence number of the RTX stream, the original
 * sequence number (OSN) in the first two payload octets, the rest as is.
 * Grows the packet by 2 bytes; CC_ENOSPC if cap is too small, CC_EINVAL
 * for a padding-only packet (nothing to repair). */
int cc_fwd_rtx_wrap(uint8_t *buf, size_t *len, size_t cap, uint32_t rtx_ssrc,
                    uint8_t rtx_pt, uint16_t rtx_seq);

/* A padding-only packet on the RTX stream (bandwidth probes, RFC 3550 5.1
 * padding; the RTX stream has its own sequence numbers, so the media
 * stream's stay gap-free): header with the RTX SSRC/PT/seq, the last
 * timestamp sent on f, the transport-cc element if cfg.ext_twcc, and
 * `pad` (1..255) padding octets. */
int cc_fwd_write_rtx_padding(const cc_fwd *f, uint32_t rtx_ssrc, uint8_t rtx_pt,
                             uint16_t rtx_seq, size_t pad, uint8_t *out,
                             size_t cap, size_t *out_len);

/* RTP timestamp for a sender report at `now`: the last sent timestamp
 * extrapolated by the elapsed time (RFC 3550 6.4.1). */
uint32_t cc_fwd_sr_ts(const cc_fwd *f, cc_time_us now);

#endif
