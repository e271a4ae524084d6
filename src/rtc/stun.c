/* classcast: STUN (RFC 8489) message views and builder.
 *
 * Hand-written because every C STUN library we looked at owns the socket or
 * allocates per message, and this runs for every consent check on the SFU
 * worker. The parser is a view over the caller's datagram: it never
 * allocates, never writes to the input and treats every length in the
 * packet as hostile (all offsets are checked against the 20 + length bytes
 * the header claims, and that against the datagram size). */
#include "classcast/stun.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "classcast/err.h"

#define STUN_MI_LEN 20 /* HMAC-SHA1 output, RFC 8489 section 14.5 */
#define STUN_FP_LEN 4  /* CRC-32, RFC 8489 section 14.7 */
#define STUN_FP_XOR 0x5354554Eu
#define STUN_MAX_BODY 0xFFFFu /* the header length field is 16 bits */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Attribute values are padded to a multiple of 4 bytes (RFC 8489
 * section 14); the padding is not counted in the attribute length. */
static size_t pad4(size_t n) { return (n + 3) & ~(size_t)3; }

/* ---- CRC-32 (ISO-HDLC / IEEE 802.3, reflected polynomial 0xEDB88320) ----
 * RFC 8489 section 14.7 names the CRC-32 of ITU V.42, which is this one
 * (check value of "123456789" is 0xCBF43926). zlib is not a dependency of
 * classcast, so a 1 KiB table it is; generated once by the usual
 * shift-register loop and pasted here so there is no init race. */
static const uint32_t crc_table[256] = {
    0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu,
    0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u,
    0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u,
    0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
    0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
    0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
    0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
    0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
    0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u,
    0xcfba9599u, 0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
    0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u, 0x01db7106u,
    0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
    0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du,
    0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
    0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
    0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
    0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u,
    0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
    0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau,
    0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
    0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
    0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au,
    0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u,
    0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
    0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
    0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu,
    0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u, 0xa1d1937eu,
    0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
    0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u,
    0x316e8eefu, 0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
    0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u,
    0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
    0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu,
    0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u,
    0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
    0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
    0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u,
    0x616bffd3u, 0x166ccf45u, 0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u,
    0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu,
    0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
    0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u,
    0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
    0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
};

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* ---- HMAC-SHA1 via OpenSSL 3 EVP_MAC ----
 * Fetch the HMAC implementation once per process: EVP_MAC_fetch walks the
 * provider store and would dominate the cost of a small message. The fetched
 * object is kept for the process lifetime (reachable, so not a leak). */
static EVP_MAC *hmac_impl;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_fetch(void) { hmac_impl = EVP_MAC_fetch(NULL, "HMAC", NULL); }

/* HMAC-SHA1(key, p1 || p2) into out[20]. Two pieces so the verifier can feed
 * a patched copy of the 20-byte header followed by the untouched body
 * without copying the datagram. */
static int hmac_sha1(const uint8_t *key, size_t keylen, const uint8_t *p1,
                     size_t n1, const uint8_t *p2, size_t n2,
                     uint8_t out[STUN_MI_LEN])
{
    static const uint8_t empty_key[1] = {0};
    pthread_once(&hmac_once, hmac_fetch);
    if (!hmac_impl)
        return CC_ECRYPTO;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_impl);
    if (!ctx)
        return CC_ECRYPTO;
    int rc = CC_ECRYPTO;
    char digest[] = "SHA1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    size_t outl = 0;
    /* An empty password is a valid (if silly) key; OpenSSL wants a non-NULL
     * pointer even for zero length. */
    if (!key || keylen == 0) {
        key = empty_key;
        keylen = 0;
    }
    if (!EVP_MAC_init(ctx, key, keylen, params))
        goto out;
    if (n1 && !EVP_MAC_update(ctx, p1, n1))
        goto out;
    if (n2 && !EVP_MAC_update(ctx, p2, n2))
        goto out;
    if (!EVP_MAC_final(ctx, out, &outl, STUN_MI_LEN) || outl != STUN_MI_LEN)
        goto out;
    rc = 0;
out:
    EVP_MAC_CTX_free(ctx);
    return rc;
}

/* Constant-time compare: MESSAGE-INTEGRITY is a MAC, and an early-exit
 * memcmp would leak how many leading bytes of a forgery were right. */
static int ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (uint8_t)(a[i] ^ b[i]);
    return d == 0;
}

/* ---- parsing ---- */

int cc_stun_is_stun(const uint8_t *buf, size_t len)
{
    if (!buf || len < CC_STUN_HEADER_LEN)
        return 0;
    /* RFC 8489 section 5: the two most significant bits are zero, which is
     * also what RFC 7983 demultiplexing relies on (first byte 0..3). */
    if (buf[0] & 0xC0)
        return 0;
    if (rd32(buf + 4) != CC_STUN_MAGIC)
        return 0;
    size_t body = rd16(buf + 2);
    /* Attributes are 4-byte aligned, so the length is too (section 5). */
    if (body & 3)
        return 0;
    return CC_STUN_HEADER_LEN + body <= len;
}

/* Attributes this parser understands. Anything else below 0x8000 is
 * comprehension-required (RFC 8489 section 14) and gets counted. */
static int attr_known(uint16_t t)
{
    switch (t) {
    case CC_STUN_ATTR_MAPPED_ADDRESS:
    case CC_STUN_ATTR_USERNAME:
    case CC_STUN_ATTR_MESSAGE_INTEGRITY:
    case CC_STUN_ATTR_ERROR_CODE:
    case CC_STUN_ATTR_UNKNOWN_ATTRIBUTES:
    case CC_STUN_ATTR_XOR_MAPPED_ADDRESS:
    case CC_STUN_ATTR_PRIORITY:
    case CC_STUN_ATTR_USE_CANDIDATE:
        return 1;
    default:
        return 0;
    }
}

/* Fixed sizes of the attributes whose layout we rely on; a wrong size is a
 * malformed message, not something to read past. 0xFFFF = variable. */
static uint16_t attr_fixed_len(uint16_t t)
{
    switch (t) {
    case CC_STUN_ATTR_MESSAGE_INTEGRITY: return STUN_MI_LEN;   /* 14.5 */
    case CC_STUN_ATTR_FINGERPRINT: return STUN_FP_LEN;         /* 14.7 */
    case CC_STUN_ATTR_PRIORITY: return 4;                      /* RFC 8445 16.1 */
    case CC_STUN_ATTR_USE_CANDIDATE: return 0;                 /* RFC 8445 16.1 */
    case CC_STUN_ATTR_ICE_CONTROLLED: return 8;                /* RFC 8445 16.1 */
    case CC_STUN_ATTR_ICE_CONTROLLING: return 8;               /* RFC 8445 16.1 */
    default: return 0xFFFF;
    }
}

int cc_stun_parse(cc_stun_msg *m, const uint8_t *buf, size_t len)
{
    if (!m)
        return CC_EINVAL;
    memset(m, 0, offsetof(cc_stun_msg, attrs));
    m->n_attrs = 0;
    m->n_unknown_required = 0;
    if (!buf || len < CC_STUN_HEADER_LEN)
        return CC_ETRUNC;
    if ((buf[0] & 0xC0) || rd32(buf + 4) != CC_STUN_MAGIC)
        return CC_EINVAL;
    size_t body = rd16(buf + 2);
    if (body & 3)
        return CC_EINVAL;
    if (CC_STUN_HEADER_LEN + body > len)
        return CC_ETRUNC;
    /* Over UDP one datagram carries exactly one message (RFC 8489 section
     * 6.2.1), so bytes beyond the stated length mean the length lies. */
    if (CC_STUN_HEADER_LEN + body != len)
        return CC_EINVAL;

    m->type = rd16(buf);
    m->length = (uint16_t)body;
    memcpy(m->txid, buf + 8, 12);
    m->raw = buf;
    m->raw_len = CC_STUN_HEADER_LEN + body;

    int seen_mi = 0, seen_fp = 0;
    size_t off = CC_STUN_HEADER_LEN;
    while (off < m->raw_len) {
        /* off is a multiple of 4 and raw_len is too, so the 4-byte
         * attribute header always fits; check anyway, it costs nothing. */
        if (m->raw_len - off < 4)
            return CC_ETRUNC;
        uint16_t t = rd16(buf + off);
        uint16_t alen = rd16(buf + off + 2);
        if (pad4(alen) > m->raw_len - off - 4)
            return CC_ETRUNC;
        size_t here = off;
        off += 4 + pad4(alen);

        /* RFC 8489 section 14.7: FINGERPRINT is the last attribute; a
         * message with anything after it is malformed. */
        if (seen_fp)
            return CC_EINVAL;
        /* Section 14.5: attributes after MESSAGE-INTEGRITY, other than
         * FINGERPRINT, are not covered by it and MUST be ignored. */
        if (seen_mi && t != CC_STUN_ATTR_FINGERPRINT)
            continue;

        uint16_t want = attr_fixed_len(t);
        if (want != 0xFFFF && alen != want)
            return CC_EINVAL;
        if (t == CC_STUN_ATTR_MESSAGE_INTEGRITY)
            seen_mi = 1;
        if (t == CC_STUN_ATTR_FINGERPRINT)
            seen_fp = 1;
        if (t < 0x8000 && !attr_known(t))
            m->n_unknown_required++;
        /* More attributes than we can index: refuse rather than silently
         * drop one that might be the MESSAGE-INTEGRITY. Real ICE checks
         * carry fewer than ten. */
        if (m->n_attrs >= CC_STUN_MAX_ATTRS)
            return CC_EINVAL;
        cc_stun_attr *a = &m->attrs[m->n_attrs++];
        a->type = t;
        a->len = alen;
        a->value = buf + here + 4;
        a->offset = here;
    }
    return 0;
}

const cc_stun_attr *cc_stun_find(const cc_stun_msg *m, uint16_t type)
{
    if (!m)
        return NULL;
    int n = m->n_attrs;
    if (n < 0 || n > CC_STUN_MAX_ATTRS)
        return NULL;
    /* RFC 8489 section 14: only the first of repeated attributes counts. */
    for (int i = 0; i < n; i++)
        if (m->attrs[i].type == type)
            return &m->attrs[i];
    return NULL;
}

int cc_stun_check_integrity(const cc_stun_msg *m, const uint8_t *key,
                            size_t keylen)
{
    const cc_stun_attr *a = cc_stun_find(m, CC_STUN_ATTR_MESSAGE_INTEGRITY);
    if (!a)
        return CC_ENOTFOUND;
    if (a->len != STUN_MI_LEN || a->offset < CC_STUN_HEADER_LEN ||
        a->offset + 4 + STUN_MI_LEN > m->raw_len)
        return CC_EINVAL;
    /* RFC 8489 section 14.5: the HMAC covers the message up to (not
     * including) the MESSAGE-INTEGRITY attribute, with the header length
     * set as if MESSAGE-INTEGRITY were the last attribute, i.e. excluding a
     * FINGERPRINT (or anything ignored) that follows it. */
    uint8_t hdr[CC_STUN_HEADER_LEN];
    memcpy(hdr, m->raw, CC_STUN_HEADER_LEN);
    wr16(hdr + 2, (uint16_t)(a->offset + 4 + STUN_MI_LEN - CC_STUN_HEADER_LEN));
    uint8_t mac[STUN_MI_LEN];
    int rc = hmac_sha1(key, keylen, hdr, sizeof hdr, m->raw + CC_STUN_HEADER_LEN,
                       a->offset - CC_STUN_HEADER_LEN, mac);
    if (rc)
        return rc;
    return ct_equal(mac, a->value, STUN_MI_LEN) ? 0 : CC_EAUTH;
}

int cc_stun_check_fingerprint(const cc_stun_msg *m)
{
    const cc_stun_attr *a = cc_stun_find(m, CC_STUN_ATTR_FINGERPRINT);
    if (!a)
        return CC_ENOTFOUND;
    /* Section 14.7: CRC over everything before the attribute; the header
     * length already includes the FINGERPRINT, which the parser made sure
     * is last. */
    if (a->len != STUN_FP_LEN || a->offset < CC_STUN_HEADER_LEN ||
        a->offset + 4 + STUN_FP_LEN != m->raw_len)
        return CC_EINVAL;
    uint32_t crc = crc32_update(0, m->raw, a->offset) ^ STUN_FP_XOR;
    return crc == rd32(a->value) ? 0 : CC_EAUTH;
}

int cc_stun_get_xor_address(const cc_stun_msg *m, const cc_stun_attr *a,
                            cc_addr *out)
{
    if (!m || !a || !out || !a->value)
        return CC_EINVAL;
    memset(out, 0, sizeof *out);
    /* Accepts both encodings: MAPPED-ADDRESS (section 14.1) in clear,
     * anything else (XOR-MAPPED-ADDRESS, section 14.2, and the XOR-PEER /
     * XOR-RELAYED forms of TURN) XORed with cookie and transaction id. */
    int do_xor = a->type != CC_STUN_ATTR_MAPPED_ADDRESS;
    if (a->len < 4)
        return CC_EINVAL;
    const uint8_t *v = a->value;
    uint8_t family = v[1];
    uint16_t port = rd16(v + 2);
    if (do_xor)
        port ^= (uint16_t)(CC_STUN_MAGIC >> 16);
    /* The XOR key: magic cookie then transaction id, in network order. */
    uint8_t key[16];
    wr32(key, CC_STUN_MAGIC);
    memcpy(key + 4, m->txid, 12);
    if (family == 0x01) {
        if (a->len != 8)
            return CC_EINVAL;
        uint8_t ip[4];
        for (int i = 0; i < 4; i++)
            ip[i] = (uint8_t)(v[4 + i] ^ (do_xor ? key[i] : 0));
        out->u.in4.sin_family = AF_INET;
        out->u.in4.sin_port = htons(port);
        memcpy(&out->u.in4.sin_addr, ip, 4);
        out->len = sizeof out->u.in4;
        return 0;
    }
    if (family == 0x02) {
        if (a->len != 20)
            return CC_EINVAL;
        uint8_t ip[16];
        for (int i = 0; i < 16; i++)
            ip[i] = (uint8_t)(v[4 + i] ^ (do_xor ? key[i] : 0));
        out->u.in6.sin6_family = AF_INET6;
        out->u.in6.sin6_port = htons(port);
        memcpy(&out->u.in6.sin6_addr, ip, 16);
        out->len = sizeof out->u.in6;
        return 0;
    }
    return CC_EINVAL;
}

/* ---- building ---- */

void cc_stun_build_start(cc_stun_builder *b, uint8_t *buf, size_t cap,
                         uint16_t type, const uint8_t txid[12])
{
    b->buf = buf;
    b->cap = cap;
    b->len = 0;
    b->err = 0;
    if (!buf || !txid) {
        b->err = CC_EINVAL;
        return;
    }
    if (type & 0xC000) { /* section 5: top two bits are zero */
        b->err = CC_EINVAL;
        return;
    }
    if (cap < CC_STUN_HEADER_LEN) {
        b->err = CC_ENOSPC;
        return;
    }
    wr16(buf, type);
    wr16(buf + 2, 0);
    wr32(buf + 4, CC_STUN_MAGIC);
    memcpy(buf + 8, txid, 12);
    b->len = CC_STUN_HEADER_LEN;
}

/* Reserve an attribute of value length `len`: writes its header, zeroes the
 * padding, bumps the header length field; returns the value pointer. */
static uint8_t *build_reserve(cc_stun_builder *b, uint16_t type, uint16_t len)
{
    if (b->err)
        return NULL;
    size_t need = 4 + pad4(len);
    if (b->len < CC_STUN_HEADER_LEN || b->len > b->cap ||
        need > b->cap - b->len ||
        b->len - CC_STUN_HEADER_LEN + need > STUN_MAX_BODY) {
        b->err = CC_ENOSPC;
        return NULL;
    }
    uint8_t *p = b->buf + b->len;
    wr16(p, type);
    wr16(p + 2, len);
    /* Padding bytes: RFC 8489 section 14 says senders SHOULD use zero. */
    memset(p + 4 + len, 0, pad4(len) - len);
    b->len += need;
    wr16(b->buf + 2, (uint16_t)(b->len - CC_STUN_HEADER_LEN));
    return p + 4;
}

void cc_stun_build_attr(cc_stun_builder *b, uint16_t type, const void *value,
                        uint16_t len)
{
    if (b->err)
        return;
    if (len && !value) {
        b->err = CC_EINVAL;
        return;
    }
    uint8_t *v = build_reserve(b, type, len);
    if (v && len)
        memcpy(v, value, len);
}

void cc_stun_build_u32(cc_stun_builder *b, uint16_t type, uint32_t v)
{
    uint8_t tmp[4];
    wr32(tmp, v);
    cc_stun_build_attr(b, type, tmp, sizeof tmp);
}

void cc_stun_build_u64(cc_stun_builder *b, uint16_t type, uint64_t v)
{
    uint8_t tmp[8];
    wr32(tmp, (uint32_t)(v >> 32));
    wr32(tmp + 4, (uint32_t)v);
    cc_stun_build_attr(b, type, tmp, sizeof tmp);
}

void cc_stun_build_xor_address(cc_stun_builder *b, uint16_t type,
                               const cc_addr *addr)
{
    if (b->err)
        return;
    if (!addr || !addr->len) {
        b->err = CC_EINVAL;
        return;
    }
    /* Same layout as the parser (RFC 8489 section 14.2); MAPPED-ADDRESS
     * (14.1) goes out in clear for the odd RFC 3489 peer. */
    int do_xor = type != CC_STUN_ATTR_MAPPED_ADDRESS;
    uint8_t key[16];
    wr32(key, CC_STUN_MAGIC);
    memcpy(key + 4, b->buf + 8, 12); /* txid from our own header */
    uint8_t v[20];
    uint16_t port;
    size_t iplen;
    const uint8_t *ip;
    if (addr->u.sa.sa_family == AF_INET) {
        v[1] = 0x01;
        port = ntohs(addr->u.in4.sin_port);
        ip = (const uint8_t *)&addr->u.in4.sin_addr;
        iplen = 4;
    } else if (addr->u.sa.sa_family == AF_INET6) {
        v[1] = 0x02;
        port = ntohs(addr->u.in6.sin6_port);
        ip = (const uint8_t *)&addr->u.in6.sin6_addr;
        iplen = 16;
    } else {
        b->err = CC_EINVAL;
        return;
    }
    v[0] = 0;
    wr16(v + 2, do_xor ? (uint16_t)(port ^ (CC_STUN_MAGIC >> 16)) : port);
    for (size_t i = 0; i < iplen; i++)
        v[4 + i] = (uint8_t)(ip[i] ^ (do_xor ? key[i] : 0));
    cc_stun_build_attr(b, type, v, (uint16_t)(4 + iplen));
}

void cc_stun_build_integrity(cc_stun_builder *b, const uint8_t *key,
                             size_t keylen)
{
    if (b->err)
        return;
    size_t at = b->len;
    /* Reserving first sets the header length to include this attribute,
     * which is exactly the length the HMAC must see (section 14.5). */
    uint8_t *v = build_reserve(b, CC_STUN_ATTR_MESSAGE_INTEGRITY, STUN_MI_LEN);
    if (!v)
        return;
    int rc = hmac_sha1(key, keylen, b->buf, at, NULL, 0, v);
    if (rc)
        b->err = rc;
}

void cc_stun_build_fingerprint(cc_stun_builder *b)
{
    if (b->err)
        return;
    size_t at = b->len;
    /* Section 14.7: the CRC covers the header with a length that already
     * includes the FINGERPRINT attribute; build_reserve has set it. */
    uint8_t *v = build_reserve(b, CC_STUN_ATTR_FINGERPRINT, STUN_FP_LEN);
    if (!v)
        return;
    wr32(v, crc32_update(0, b->buf, at) ^ STUN_FP_XOR);
}

int cc_stun_build_finish(cc_stun_builder *b, size_t *out_len)
{
    if (out_len)
        *out_len = 0;
    if (!b)
        return CC_EINVAL;
    if (b->err)
        return b->err;
    if (out_len)
        *out_len = b->len;
    return 0;
}
