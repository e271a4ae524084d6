/* classcast: the VP8 RTP payload descriptor (RFC 7741 section 4.2), keyframe
 * detection (RFC 7741 section 4.3, RFC 6386 section 9.1 frame tag) and the
 * in-place PictureID / TL0PICIDX rewrite an SFU needs to keep a subscriber's
 * picture numbering continuous when its source changes.
 * Pure: no allocation, no I/O, never asserts on input. Thread: any. */
#ifndef CLASSCAST_VP8_H
#define CLASSCAST_VP8_H

#include <stddef.h>
#include <stdint.h>

/* Longest descriptor: 1 + X + 2 PictureID + TL0PICIDX + T/K. */
#define CC_VP8_DESC_MAX 6

typedef struct cc_vp8_desc {
    uint8_t start;           /* S: first packet of a partition */
    uint8_t partition;       /* PID (0..7) */
    uint8_t non_ref;         /* N: frame may be discarded */
    uint8_t has_picture_id;  /* I */
    uint8_t picture_id_bits; /* 7 or 15 when has_picture_id */
    uint16_t picture_id;
    uint8_t has_tl0;         /* L */
    uint8_t tl0picidx;
    uint8_t has_tid;         /* T */
    uint8_t tid;
    uint8_t layer_sync;      /* Y */
    uint8_t has_keyidx;      /* K */
    uint8_t keyidx;
    uint8_t picture_id_off;  /* byte offsets inside the descriptor */
    uint8_t tl0_off;
    uint8_t len;             /* descriptor length: the VP8 payload follows */
    uint8_t keyframe;        /* first packet of a key frame (4.3 + 6386 9.1) */
} cc_vp8_desc;

/* Parse the descriptor at the start of an RTP payload. 0, CC_ETRUNC (the
 * descriptor runs past len or nothing follows it) or CC_EINVAL (NULL). */
int cc_vp8_parse(const uint8_t *payload, size_t len, cc_vp8_desc *d);

/* Rewrite PictureID (in the width the packet uses: the value is masked to 7
 * or 15 bits) and TL0PICIDX in place, if present. d describes payload. */
void cc_vp8_rewrite(uint8_t *payload, const cc_vp8_desc *d,
                    uint16_t picture_id, uint8_t tl0picidx);

#endif
