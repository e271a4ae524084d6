/* classcast: RTCP compound packets (RFC 3550 section 6, RFC 4585, RFC 5104,
 * REMB draft-alvestrand-rmcat-remb, transport-cc
 * draft-holmer-rmcat-transport-wide-cc-extensions-01): parse and build.
 * Hand-written views (every packet of feedback passes here). No allocation,
 * no I/O. Thread: any (pure). */
#ifndef CLASSCAST_RTCP_H
#define CLASSCAST_RTCP_H

#include <stddef.h>
#include <stdint.h>

enum {
    CC_RTCP_SR = 200,
    CC_RTCP_RR = 201,
    CC_RTCP_SDES = 202,
    CC_RTCP_BYE = 203,
    CC_RTCP_APP = 204,
    CC_RTCP_RTPFB = 205,
    CC_RTCP_PSFB = 206,
    CC_RTCP_XR = 207,
};
/* Feedback message types (FMT). */
enum {
    CC_RTPFB_NACK = 1,
    CC_RTPFB_TWCC = 15,
    CC_PSFB_PLI = 1,
    CC_PSFB_FIR = 4,
    CC_PSFB_AFB = 15, /* application layer FB: REMB */
};

#define CC_RTCP_MAX_REPORTS 31

/* One packet of a compound, as a view. */
typedef struct cc_rtcp_pkt {
    uint8_t pt;
    uint8_t count;        /* RC / SC / FMT field */
    const uint8_t *data;  /* start of this packet's header */
    size_t len;           /* bytes including header, (length+1)*4 */
} cc_rtcp_pkt;

typedef struct cc_rtcp_iter {
    const uint8_t *buf;
    size_t len;
    size_t off;
} cc_rtcp_iter;

/* Iterate a compound packet: cc_rtcp_next returns 1 with *p filled, 0 at the
 * end, or CC_EINVAL / CC_ETRUNC on a malformed packet (stop there). */
void cc_rtcp_iter_init(cc_rtcp_iter *it, const uint8_t *buf, size_t len);
int cc_rtcp_next(cc_rtcp_iter *it, cc_rtcp_pkt *p);

typedef struct cc_rtcp_report_block {
    uint32_t ssrc;
    uint8_t fraction_lost;
    int32_t cumulative_lost;  /* 24-bit signed */
    uint32_t ext_highest_seq;
    uint32_t jitter;
    uint32_t lsr;
    uint32_t dlsr;
} cc_rtcp_report_block;

typedef struct cc_rtcp_sr {
    uint32_t ssrc;
    uint64_t ntp;
    uint32_t rtp_ts;
    uint32_t packet_count;
    uint32_t octet_count;
    int n_reports;
    cc_rtcp_report_block reports[CC_RTCP_MAX_REPORTS];
} cc_rtcp_sr;

typedef struct cc_rtcp_rr {
    uint32_t ssrc;
    int n_reports;
    cc_rtcp_report_block reports[CC_RTCP_MAX_REPORTS];
} cc_rtcp_rr;

typedef struct cc_rtcp_sdes_chunk {
    uint32_t ssrc;
    char cname[256]; /* "" if the chunk has no CNAME */
} cc_rtcp_sdes_chunk;

typedef struct cc_rtcp_sdes {
    int n_chunks;
    cc_rtcp_sdes_chunk chunks[CC_RTCP_MAX_REPORTS];
} cc_rtcp_sdes;

typedef struct cc_rtcp_bye {
    int n_ssrcs;
    uint32_t ssrcs[CC_RTCP_MAX_REPORTS];
} cc_rtcp_bye;

/* Common header of RTPFB/PSFB (RFC 4585 section 6.1). */
typedef struct cc_rtcp_fb {
    uint8_t fmt;
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    const uint8_t *fci;
    size_t fci_len;
} cc_rtcp_fb;

typedef struct cc_rtcp_fir_entry {
    uint32_t ssrc;
    uint8_t seq_nr;
} cc_rtcp_fir_entry;

typedef struct cc_rtcp_remb {
    uint64_t bitrate_bps;
    int n_ssrcs;
    uint32_t ssrcs[16];
} cc_rtcp_remb;

/* transport-cc feedback, expanded. */
#define CC_TWCC_NOT_RECEIVED INT32_MIN
typedef struct cc_rtcp_twcc {
    uint16_t base_seq;
    uint16_t status_count;    /* packets described */
    int32_t reference_time;   /* 24-bit signed, units of 64 ms */
    uint8_t fb_pkt_count;
    /* For packet base_seq + i: receive delta in 250 us units relative to the
     * previous received packet (the first relative to reference_time), or
     * CC_TWCC_NOT_RECEIVED. Filled up to cap; n = min(status_count, cap). */
    int32_t *deltas;
    size_t cap;
    size_t n;
} cc_rtcp_twcc;

int cc_rtcp_parse_sr(const cc_rtcp_pkt *p, cc_rtcp_sr *out);
int cc_rtcp_parse_rr(const cc_rtcp_pkt *p, cc_rtcp_rr *out);
int cc_rtcp_parse_sdes(const cc_rtcp_pkt *p, cc_rtcp_sdes *out);
int cc_rtcp_parse_bye(const cc_rtcp_pkt *p, cc_rtcp_bye *out);
int cc_rtcp_parse_fb(const cc_rtcp_pkt *p, cc_rtcp_fb *out);
/* Generic NACK (RFC 4585 section 6.2.1): PID+BLP pairs expanded into lost
 * sequence numbers, up to cap; *n set. */
int cc_rtcp_parse_nack(const cc_rtcp_fb *fb, uint16_t *lost, size_t cap,
                       size_t *n);
int cc_rtcp_parse_fir(const cc_rtcp_fb *fb, cc_rtcp_fir_entry *out, size_t cap,
                      size_t *n);
/* REMB: fb->fmt 15 with "REMB" identifier; CC_ENOTFOUND if another AFB. */
int cc_rtcp_parse_remb(const cc_rtcp_fb *fb, cc_rtcp_remb *out);
/* out->deltas/cap provided by the caller. */
int cc_rtcp_parse_twcc(const cc_rtcp_fb *fb, cc_rtcp_twcc *out);

/* transport-cc one packet at a time, without a delta array as long as the
 * status count (the send side of congestion control, src/rtp/twcc.c):
 * cc_rtcp_twcc_iter_init reads the header into *hdr (its deltas, cap and n
 * are not touched) and finds where the deltas start; each
 * cc_rtcp_twcc_iter_next gives the next packet's receive delta in 250 us
 * units, or CC_TWCC_NOT_RECEIVED: 1, 0 once status_count packets were
 * given, or CC_ETRUNC / CC_EINVAL (the packet is bad; stop there). */
typedef struct cc_rtcp_twcc_iter {
    const uint8_t *fci;
    size_t len;
    size_t chunk_off;  /* next packet chunk */
    size_t chunks_end; /* first byte after the chunks */
    size_t delta_off;  /* next receive delta */
    uint16_t chunk;
    unsigned chunk_left, chunk_pos;
    size_t idx, total;
} cc_rtcp_twcc_iter;
int cc_rtcp_twcc_iter_init(cc_rtcp_twcc_iter *it, const cc_rtcp_fb *fb,
                           cc_rtcp_twcc *hdr);
int cc_rtcp_twcc_iter_next(cc_rtcp_twcc_iter *it, int32_t *delta);

/* Builders append one packet at buf[0..cap) and return its length, or
 * CC_ENOSPC / CC_EINVAL. Concatenate them for a compound. */
int cc_rtcp_write_sr(uint8_t *buf, size_t cap, const cc_rtcp_sr *sr);
int cc_rtcp_write_rr(uint8_t *buf, size_t cap, const cc_rtcp_rr *rr);
int cc_rtcp_write_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc,
                             const char *cname);
int cc_rtcp_write_bye(uint8_t *buf, size_t cap, const uint32_t *ssrcs, int n);
/* Packs seqs (any order, duplicates allowed) into PID+BLP pairs. */
int cc_rtcp_write_nack(uint8_t *buf, size_t cap, uint32_t sender,
                       uint32_t media, const uint16_t *seqs, size_t n);
int cc_rtcp_write_pli(uint8_t *buf, size_t cap, uint32_t sender,
                      uint32_t media);
int cc_rtcp_write_fir(uint8_t *buf, size_t cap, uint32_t sender,
                      uint32_t media, uint8_t seq_nr);
int cc_rtcp_write_remb(uint8_t *buf, size_t cap, uint32_t sender,
                       uint64_t bitrate_bps, const uint32_t *ssrcs, int n);

/* transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
 * section 3.1) for tw->n packets from tw->base_seq: tw->deltas[i] as
 * cc_rtcp_parse_twcc gives them (250 us units, -32768..32767, or
 * CC_TWCC_NOT_RECEIVED); status count = tw->n, reference_time (low 24
 * bits) and fb_pkt_count as given (status_count and cap are ignored).
 * Chunks: run length for runs (section 3.1.3), else status vectors
 * (3.1.4); padded to 32 bits with the P bit as libwebrtc does. CC_EINVAL on
 * a delta out of range or n > 65535. */
int cc_rtcp_write_twcc(uint8_t *buf, size_t cap, uint32_t sender,
                       uint32_t media, const cc_rtcp_twcc *tw);

/* In place on a feedback packet (p->data, writable): rewrite SSRC fields,
 * e.g. to forward a subscriber's PLI to the publisher. FIR entries' SSRCs are
 * rewritten too by set_media. */
void cc_rtcp_fb_set_sender(uint8_t *pkt, uint32_t ssrc);
void cc_rtcp_fb_set_media(uint8_t *pkt, size_t len, uint32_t ssrc);

/* RFC 5761 section 4: with rtcp-mux, 1 if an RTP/RTCP-range datagram is
 * RTCP (payload type byte 192..223, i.e. 64..95 after masking the marker). */
int cc_rtcp_is_rtcp(const uint8_t *buf, size_t len);

#endif
