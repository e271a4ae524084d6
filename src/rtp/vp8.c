/* classcast: VP8 payload descriptor (RFC 7741). See include/classcast/vp8.h. */
#include "classcast/vp8.h"

#include "classcast/err.h"

int cc_vp8_parse(const uint8_t *p, size_t len, cc_vp8_desc *d)
{
    if (!p || !d)
        return CC_EINVAL;
    *d = (cc_vp8_desc){0};
    if (len < 1)
        return CC_ETRUNC;
    /* RFC 7741 section 4.2, first octet: X R N S R PID(3). */
    uint8_t b0 = p[0];
    d->non_ref = (b0 >> 5) & 1;
    d->start = (b0 >> 4) & 1;
    d->partition = b0 & 0x07;
    size_t off = 1;
    if (b0 & 0x80) {
        /* X: extension octet I L T K RSV(4). */
        if (off >= len)
            return CC_ETRUNC;
        uint8_t x = p[off++];
        int i = (x >> 7) & 1, l = (x >> 6) & 1, t = (x >> 5) & 1,
            k = (x >> 4) & 1;
        if (i) {
            /* M bit: 15-bit PictureID over two octets, else 7 bits. */
            if (off >= len)
                return CC_ETRUNC;
            d->has_picture_id = 1;
            d->picture_id_off = (uint8_t)off;
            if (p[off] & 0x80) {
                if (off + 1 >= len)
                    return CC_ETRUNC;
                d->picture_id_bits = 15;
                d->picture_id = (uint16_t)((p[off] & 0x7f) << 8 | p[off + 1]);
                off += 2;
            } else {
                d->picture_id_bits = 7;
                d->picture_id = p[off] & 0x7f;
                off += 1;
            }
        }
        if (l) {
            if (off >= len)
                return CC_ETRUNC;
            d->has_tl0 = 1;
            d->tl0_off = (uint8_t)off;
            d->tl0picidx = p[off++];
        }
        if (t || k) {
            /* One octet TID(2) Y(1) KEYIDX(5) when either T or K is set;
             * its fields are meaningful only for the flag that is set. */
            if (off >= len)
                return CC_ETRUNC;
            uint8_t tk = p[off++];
            if (t) {
                d->has_tid = 1;
                d->tid = tk >> 6;
                d->layer_sync = (tk >> 5) & 1;
            }
            if (k) {
                d->has_keyidx = 1;
                d->keyidx = tk & 0x1f;
            }
        }
    }
    /* A descriptor with no VP8 payload after it is not a valid packet. */
    if (off >= len)
        return CC_ETRUNC;
    d->len = (uint8_t)off;
    /* RFC 7741 section 4.3: the payload header is present only in the first
     * packet of a frame (S=1, PID=0); its P bit (lowest bit of the first
     * octet, the frame tag of RFC 6386 section 9.1) is 0 for a key frame.
     * A key frame's tag is followed by the start code 9d 01 2a (RFC 6386
     * section 9.1), which we also require so that a stray bit cannot make a
     * forwarder start on an inter frame. */
    if (d->start && d->partition == 0 && len - off >= 6) {
        const uint8_t *f = p + off;
        d->keyframe = (f[0] & 1) == 0 && f[3] == 0x9d && f[4] == 0x01 &&
                      f[5] == 0x2a;
    }
    return 0;
}

void cc_vp8_rewrite(uint8_t *p, const cc_vp8_desc *d, uint16_t picture_id,
                    uint8_t tl0picidx)
{
    if (d->has_picture_id) {
        uint8_t *q = p + d->picture_id_off;
        if (d->picture_id_bits == 15) {
            q[0] = (uint8_t)(0x80 | ((picture_id >> 8) & 0x7f));
            q[1] = (uint8_t)picture_id;
        } else {
            q[0] = (uint8_t)(picture_id & 0x7f);
        }
    }
    if (d->has_tl0)
        p[d->tl0_off] = tl0picidx;
}
