/* classcast: RTP header views and in-place rewriting (RFC 3550 section 5.1,
 * header extensions RFC 8285). Hand-written: it is the hot path of every
 * forwarded packet. No allocation, no I/O. Thread: any (pure). */
#ifndef CLASSCAST_RTP_H
#define CLASSCAST_RTP_H

#include <stddef.h>
#include <stdint.h>

#define CC_RTP_HEADER_MIN 12

typedef struct cc_rtp_hdr {
    uint8_t version;      /* must be 2 */
    uint8_t padding;      /* P bit */
    uint8_t extension;    /* X bit */
    uint8_t csrc_count;
    uint8_t marker;
    uint8_t pt;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    size_t header_len;        /* fixed + CSRCs + extension block */
    uint16_t ext_profile;     /* 0xBEDE one-byte, 0x100X two-byte, or other */
    const uint8_t *ext;       /* extension data (after the 4-byte ext header) */
    size_t ext_len;           /* bytes of extension data */
    const uint8_t *payload;
    size_t payload_len;       /* without padding */
    uint8_t padding_len;
} cc_rtp_hdr;

/* Parse a (decrypted or not) RTP packet. 0, CC_ETRUNC or CC_EINVAL
 * (version != 2, padding larger than the payload, ...). */
int cc_rtp_parse(const uint8_t *buf, size_t len, cc_rtp_hdr *h);

/* Find extension element `id` (1..14 one-byte, 1..255 two-byte).
 * 0 with val and len set, CC_ENOTFOUND, or CC_EINVAL if the block is corrupt. */
int cc_rtp_find_ext(const cc_rtp_hdr *h, int id, const uint8_t **val,
                    size_t *len);

/* In-place field writes on a packet already parsed as valid. */
void cc_rtp_set_ssrc(uint8_t *buf, uint32_t ssrc);
void cc_rtp_set_seq(uint8_t *buf, uint16_t seq);
void cc_rtp_set_ts(uint8_t *buf, uint32_t ts);
void cc_rtp_set_pt(uint8_t *buf, uint8_t pt);
void cc_rtp_set_marker(uint8_t *buf, int marker);

/* Write a 12-byte header (no CSRC, no extension). Returns 12 or CC_ENOSPC. */
int cc_rtp_write_header(uint8_t *buf, size_t cap, uint8_t pt, int marker,
                        uint16_t seq, uint32_t ts, uint32_t ssrc);

/* Sequence number arithmetic (RFC 3550 appendix A.1): 1 if a is newer. */
static inline int cc_seq_newer(uint16_t a, uint16_t b)
{
    return a != b && (uint16_t)(a - b) < 0x8000;
}

/* ---- writing header extension elements (RFC 8285) ---- */

/* Set element `id` to val[0..vlen) in the packet buf[0..len) (capacity cap),
 * in place. An element already there with the same length is overwritten;
 * otherwise the element is added: to a new extension block (X bit set; the
 * one-byte form of section 4.2 when id is 1..14 and vlen 1..16, else the
 * two-byte form of section 4.3), or appended to the existing block, growing
 * it by whole 32-bit words and moving the payload. A one-byte block is
 * rewritten in the two-byte form when the new element needs it (the peer
 * must have negotiated a=extmap-allow-mixed, RFC 8285 section 6).
 * The packet never shrinks. *new_len gets its length. 0, CC_EINVAL
 * (id/vlen out of range), cc_rtp_parse's error for a packet that does not
 * parse, CC_ENOSPC (cap), or CC_EUNSUPPORTED (the element is there with
 * another length; a block of a non-RFC 8285 profile, or a one-byte block
 * holding the reserved id 15). Nothing is written unless it returns 0. */
int cc_rtp_set_ext(uint8_t *buf, size_t len, size_t cap, int id,
                   const uint8_t *val, size_t vlen, size_t *new_len);

/* abs-send-time (24-bit 6.18 fixed point seconds) from microseconds. */
uint32_t cc_abs_send_time_from_us(int64_t us);

#endif
