/* classcast: RTP header views and in-place rewriting.
 * RFC 3550 section 5.1 (fixed header), 5.3.1 (header extension),
 * RFC 8285 (one-byte and two-byte extension elements).
 * Every read is bounds-checked against the caller's length; nothing here
 * allocates or asserts on input. */
#include "classcast/rtp.h"

#include <string.h>

#include "classcast/err.h"

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* RFC 8285 section 4.2: the one-byte form is announced by 0xBEDE. */
#define RTP_EXT_ONE_BYTE 0xBEDEu
/* RFC 8285 section 4.3: two-byte form, 0x100 followed by 4 "appbits". */
#define RTP_EXT_TWO_BYTE_MASK 0xFFF0u
#define RTP_EXT_TWO_BYTE 0x1000u

int cc_rtp_parse(const uint8_t *buf, size_t len, cc_rtp_hdr *h)
{
    if (!buf || !h)
        return CC_EINVAL;
    *h = (cc_rtp_hdr){0};
    if (len < CC_RTP_HEADER_MIN)
        return CC_ETRUNC;

    /* RFC 3550 section 5.1: V(2) P(1) X(1) CC(4) | M(1) PT(7) | seq | ts |
     * SSRC | CSRC list. */
    h->version = buf[0] >> 6;
    if (h->version != 2)
        return CC_EINVAL;
    h->padding = (buf[0] >> 5) & 1;
    h->extension = (buf[0] >> 4) & 1;
    h->csrc_count = buf[0] & 0x0f;
    h->marker = buf[1] >> 7;
    h->pt = buf[1] & 0x7f;
    h->seq = rd16(buf + 2);
    h->ts = rd32(buf + 4);
    h->ssrc = rd32(buf + 8);

    size_t off = CC_RTP_HEADER_MIN + 4u * h->csrc_count;
    if (off > len)
        return CC_ETRUNC;

    if (h->extension) {
        /* RFC 3550 section 5.3.1: 16-bit profile-defined field, 16-bit
         * length in 32-bit words not counting this 4-byte header. */
        if (len - off < 4)
            return CC_ETRUNC;
        h->ext_profile = rd16(buf + off);
        size_t words = rd16(buf + off + 2);
        off += 4;
        if (words * 4 > len - off)
            return CC_ETRUNC;
        h->ext = buf + off;
        h->ext_len = words * 4;
        off += h->ext_len;
    }
    h->header_len = off;

    size_t body = len - off; /* payload + padding */
    if (h->padding) {
        /* RFC 3550 section 5.1: the last octet of the padding counts how
         * many padding octets (itself included) to ignore, so it is at least
         * 1 and cannot reach into the header. */
        if (body < 1)
            return CC_ETRUNC;
        uint8_t pad = buf[len - 1];
        if (pad == 0 || pad > body)
            return CC_EINVAL;
        h->padding_len = pad;
        body -= pad;
    }
    h->payload = buf + off;
    h->payload_len = body;
    return 0;
}

/* RFC 8285 section 4.2: one-byte elements: ID(4) L(4), L+1 data bytes. */
static int find_one_byte(const uint8_t *p, size_t n, int id,
                         const uint8_t **val, size_t *len)
{
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        int eid = b >> 4;
        size_t elen = (size_t)(b & 0x0f) + 1;
        if (eid == 0) {
            /* Padding byte: ignored (section 4.2: "ID 0 ... padding"). */
            i++;
            continue;
        }
        if (eid == 15)
            break; /* Reserved: processing of the whole block stops here. */
        i++;
        if (elen > n - i)
            return CC_EINVAL;
        if (eid == id) {
            *val = p + i;
            *len = elen;
            return 0;
        }
        i += elen;
    }
    return CC_ENOTFOUND;
}

/* RFC 8285 section 4.3: two-byte elements: ID(8) L(8), L data bytes
 * (L may be 0); ID 0 is a single padding byte. */
static int find_two_byte(const uint8_t *p, size_t n, int id,
                         const uint8_t **val, size_t *len)
{
    size_t i = 0;
    while (i < n) {
        int eid = p[i];
        if (eid == 0) {
            i++;
            continue;
        }
        if (n - i < 2)
            return CC_EINVAL;
        size_t elen = p[i + 1];
        i += 2;
        if (elen > n - i)
            return CC_EINVAL;
        if (eid == id) {
            *val = p + i;
            *len = elen;
            return 0;
        }
        i += elen;
    }
    return CC_ENOTFOUND;
}

int cc_rtp_find_ext(const cc_rtp_hdr *h, int id, const uint8_t **val,
                    size_t *len)
{
    if (!h || !val || !len)
        return CC_EINVAL;
    if (!h->extension || !h->ext)
        return CC_ENOTFOUND;
    if (h->ext_profile == RTP_EXT_ONE_BYTE) {
        if (id < 1 || id > 14)
            return CC_ENOTFOUND;
        return find_one_byte(h->ext, h->ext_len, id, val, len);
    }
    if ((h->ext_profile & RTP_EXT_TWO_BYTE_MASK) == RTP_EXT_TWO_BYTE) {
        if (id < 1 || id > 255)
            return CC_ENOTFOUND;
        return find_two_byte(h->ext, h->ext_len, id, val, len);
    }
    /* Some other profile's extension (RFC 3550 5.3.1): not RFC 8285. */
    return CC_ENOTFOUND;
}

void cc_rtp_set_ssrc(uint8_t *buf, uint32_t ssrc)
{
    wr32(buf + 8, ssrc);
}

void cc_rtp_set_seq(uint8_t *buf, uint16_t seq)
{
    wr16(buf + 2, seq);
}

void cc_rtp_set_ts(uint8_t *buf, uint32_t ts)
{
    wr32(buf + 4, ts);
}

void cc_rtp_set_pt(uint8_t *buf, uint8_t pt)
{
    buf[1] = (uint8_t)((buf[1] & 0x80) | (pt & 0x7f));
}

void cc_rtp_set_marker(uint8_t *buf, int marker)
{
    buf[1] = (uint8_t)((buf[1] & 0x7f) | (marker ? 0x80 : 0));
}

int cc_rtp_write_header(uint8_t *buf, size_t cap, uint8_t pt, int marker,
                        uint16_t seq, uint32_t ts, uint32_t ssrc)
{
    if (!buf || cap < CC_RTP_HEADER_MIN)
        return CC_ENOSPC;
    buf[0] = 0x80; /* V=2, P=0, X=0, CC=0 (RFC 3550 section 5.1) */
    buf[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
    wr16(buf + 2, seq);
    wr32(buf + 4, ts);
    wr32(buf + 8, ssrc);
    return CC_RTP_HEADER_MIN;
}

/* abs-send-time (http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time):
 * 24 bits, 6.18 fixed point seconds, so it wraps every 64 s. Reduce modulo
 * 64 s first so the shift cannot overflow, then round to the nearest
 * 1/2^18 s. */
uint32_t cc_abs_send_time_from_us(int64_t us)
{
    const int64_t wrap = 64 * 1000000LL;
    int64_t r = us % wrap;
    if (r < 0)
        r += wrap;
    uint64_t v = (((uint64_t)r << 18) + 500000u) / 1000000u;
    return (uint32_t)(v & 0xFFFFFFu);
}

/* ---- writing extension elements (RFC 8285) ---- */

#define RTP_EXT_CONVERT_MAX 1024 /* bytes of a block rewritten one -> two */

static size_t pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

/* End of the used part of an RFC 8285 block: just past its last element,
 * so what follows is padding (section 4.1.1: zero bytes) and free to
 * overwrite. A one-byte block holding the reserved id 15 is not extended:
 * section 4.2 stops processing there, so an element after it would be
 * invisible. */
static int ext_used_end(const uint8_t *p, size_t n, int two_byte,
                        size_t *end)
{
    size_t i = 0, used = 0;
    while (i < n) {
        /* Padding (sections 4.2 and 4.3): ID 0, one byte whatever its
         * length nibble, exactly as find_one_byte / find_two_byte skip it,
         * so writer and reader walk the block the same way. */
        if (two_byte ? p[i] == 0 : (p[i] >> 4) == 0) {
            i++;
            continue;
        }
        size_t el;
        if (two_byte) {
            if (n - i < 2)
                return CC_EINVAL;
            el = p[i + 1];
            if (el > n - i - 2)
                return CC_EINVAL;
            i += 2 + el;
        } else {
            if ((p[i] >> 4) == 15)
                return CC_EUNSUPPORTED;
            el = (size_t)(p[i] & 0x0f) + 1;
            if (el > n - i - 1)
                return CC_EINVAL;
            i += 1 + el;
        }
        used = i;
    }
    *end = used;
    return 0;
}

static size_t put_elem(uint8_t *d, int two_byte, int id, const uint8_t *val,
                       size_t vlen)
{
    size_t h;
    if (two_byte) {
        d[0] = (uint8_t)id; /* section 4.3: ID(8) L(8), L data bytes */
        d[1] = (uint8_t)vlen;
        h = 2;
    } else {
        d[0] = (uint8_t)(id << 4 | (int)(vlen - 1)); /* 4.2: ID(4) L-1(4) */
        h = 1;
    }
    if (vlen)
        memcpy(d + h, val, vlen);
    return h + vlen;
}

/* Re-encode a one-byte block's elements in the two-byte form into out. */
static int ext_to_two_byte(const uint8_t *p, size_t n, uint8_t *out,
                           size_t cap, size_t *olen)
{
    size_t i = 0, o = 0;
    while (i < n) {
        if ((p[i] >> 4) == 0) {
            i++; /* padding, as in ext_used_end */
            continue;
        }
        int eid = p[i] >> 4;
        size_t el = (size_t)(p[i] & 0x0f) + 1;
        if (eid == 15)
            return CC_EUNSUPPORTED;
        if (el > n - i - 1)
            return CC_EINVAL;
        if (cap - o < 2 + el)
            return CC_EUNSUPPORTED;
        o += put_elem(out + o, 1, eid, p + i + 1, el);
        i += 1 + el;
    }
    *olen = o;
    return 0;
}

int cc_rtp_set_ext(uint8_t *buf, size_t len, size_t cap, int id,
                   const uint8_t *val, size_t vlen, size_t *new_len)
{
    if (!buf || !new_len || (vlen && !val) || id < 1 || id > 255 ||
        vlen > 255 || cap < len)
        return CC_EINVAL;
    cc_rtp_hdr h;
    int rc = cc_rtp_parse(buf, len, &h);
    if (rc < 0)
        return rc;
    /* Section 4.2: one-byte elements carry 1..16 bytes, ids 1..14. */
    int fits_one = id <= 14 && vlen >= 1 && vlen <= 16;
    size_t xoff = CC_RTP_HEADER_MIN + 4u * h.csrc_count; /* ext header */

    if (!h.extension) {
        /* A new block (RFC 3550 section 5.3.1) right after the CSRCs. */
        int two = !fits_one;
        size_t blen = pad4((two ? 2 : 1) + vlen);
        size_t grow = 4 + blen;
        if (cap - len < grow)
            return CC_ENOSPC;
        memmove(buf + xoff + grow, buf + xoff, len - xoff);
        wr16(buf + xoff, two ? RTP_EXT_TWO_BYTE : RTP_EXT_ONE_BYTE);
        wr16(buf + xoff + 2, (uint16_t)(blen / 4));
        memset(buf + xoff + 4, 0, blen);
        put_elem(buf + xoff + 4, two, id, val, vlen);
        buf[0] |= 0x10; /* X bit */
        *new_len = len + grow;
        return 0;
    }

    const uint8_t *cur;
    size_t curlen;
    rc = cc_rtp_find_ext(&h, id, &cur, &curlen);
    if (rc == 0) {
        if (curlen != vlen)
            return CC_EUNSUPPORTED;
        if (vlen)
            memcpy(buf + (cur - buf), val, vlen);
        *new_len = len;
        return 0;
    }
    if (rc != CC_ENOTFOUND)
        return rc;

    int one = h.ext_profile == RTP_EXT_ONE_BYTE;
    int two = (h.ext_profile & RTP_EXT_TWO_BYTE_MASK) == RTP_EXT_TWO_BYTE;
    if (!one && !two)
        return CC_EUNSUPPORTED; /* another profile's extension */
    size_t doff = xoff + 4; /* block data */
    size_t old = h.ext_len;

    if (one && !fits_one) {
        /* Rewrite the whole block in the two-byte form, then append. */
        uint8_t tmp[RTP_EXT_CONVERT_MAX];
        size_t used;
        rc = ext_to_two_byte(h.ext, old, tmp, sizeof tmp, &used);
        if (rc < 0)
            return rc;
        if (sizeof tmp - used < 2 + vlen)
            return CC_EUNSUPPORTED;
        used += put_elem(tmp + used, 1, id, val, vlen);
        size_t nlen = pad4(used);
        if (nlen < old)
            nlen = old; /* never shrinks: the old padding stays padding */
        if (nlen > old && cap - len < nlen - old)
            return CC_ENOSPC;
        memmove(buf + doff + nlen, buf + doff + old, len - doff - old);
        memcpy(buf + doff, tmp, used);
        memset(buf + doff + used, 0, nlen - used);
        wr16(buf + xoff, RTP_EXT_TWO_BYTE);
        wr16(buf + xoff + 2, (uint16_t)(nlen / 4));
        *new_len = len - old + nlen;
        return 0;
    }

    size_t used;
    rc = ext_used_end(h.ext, old, two, &used);
    if (rc < 0)
        return rc;
    size_t esz = (two ? 2 : 1) + vlen;
    size_t nlen = old;
    if (used + esz > old) {
        nlen = pad4(used + esz);
        if (nlen / 4 > 0xFFFF)
            return CC_ENOSPC;
        if (cap - len < nlen - old)
            return CC_ENOSPC;
        memmove(buf + doff + nlen, buf + doff + old, len - doff - old);
        wr16(buf + xoff + 2, (uint16_t)(nlen / 4));
    }
    put_elem(buf + doff + used, two, id, val, vlen);
    memset(buf + doff + used + esz, 0, nlen - used - esz);
    *new_len = len - old + nlen;
    return 0;
}
