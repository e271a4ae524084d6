/* classcast: STUN messages (RFC 8489) as views over a datagram, and a builder.
 * Hand-written: no C library parses STUN without owning the socket, and it
 * sits on the per-packet path of ICE consent. No allocation, no I/O.
 * Thread: any (pure functions). */
#ifndef CLASSCAST_STUN_H
#define CLASSCAST_STUN_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/addr.h"

#define CC_STUN_MAGIC 0x2112A442u
#define CC_STUN_HEADER_LEN 20
#define CC_STUN_MAX_ATTRS 32

/* Message types (method | class), RFC 8489 section 5. */
#define CC_STUN_BINDING_REQUEST 0x0001
#define CC_STUN_BINDING_INDICATION 0x0011
#define CC_STUN_BINDING_SUCCESS 0x0101
#define CC_STUN_BINDING_ERROR 0x0111

/* Attributes (RFC 8489 section 18.3, RFC 8445 section 16.1). */
#define CC_STUN_ATTR_MAPPED_ADDRESS 0x0001
#define CC_STUN_ATTR_USERNAME 0x0006
#define CC_STUN_ATTR_MESSAGE_INTEGRITY 0x0008
#define CC_STUN_ATTR_ERROR_CODE 0x0009
#define CC_STUN_ATTR_UNKNOWN_ATTRIBUTES 0x000A
#define CC_STUN_ATTR_XOR_MAPPED_ADDRESS 0x0020
#define CC_STUN_ATTR_PRIORITY 0x0024
#define CC_STUN_ATTR_USE_CANDIDATE 0x0025
#define CC_STUN_ATTR_SOFTWARE 0x8022
#define CC_STUN_ATTR_FINGERPRINT 0x8028
#define CC_STUN_ATTR_ICE_CONTROLLED 0x8029
#define CC_STUN_ATTR_ICE_CONTROLLING 0x802A

typedef struct cc_stun_attr {
    uint16_t type;
    uint16_t len;          /* value length, without padding */
    const uint8_t *value;  /* points into the parsed datagram */
    size_t offset;         /* offset of the attribute header in the message */
} cc_stun_attr;

/* A parsed message: a view, valid while the datagram buffer lives. */
typedef struct cc_stun_msg {
    uint16_t type;
    uint16_t length; /* header length field (bytes after the 20-byte header) */
    uint8_t txid[12];
    const uint8_t *raw;
    size_t raw_len; /* 20 + length */
    cc_stun_attr attrs[CC_STUN_MAX_ATTRS];
    int n_attrs;
    /* comprehension-required attributes (type < 0x8000) this parser does
     * not know; a request carrying any gets a 420 in a full agent, ICE-lite
     * just drops it (counted by the caller). */
    int n_unknown_required;
} cc_stun_msg;

/* 1 if buf looks like STUN: length >= 20, top two bits zero, magic cookie,
 * length field multiple of 4 and within len. */
int cc_stun_is_stun(const uint8_t *buf, size_t len);

/* Parse; returns 0, CC_ETRUNC or CC_EINVAL. Attributes after
 * MESSAGE-INTEGRITY other than FINGERPRINT are ignored, per RFC 8489
 * section 14.5. */
int cc_stun_parse(cc_stun_msg *m, const uint8_t *buf, size_t len);

/* First attribute of that type, or NULL. */
const cc_stun_attr *cc_stun_find(const cc_stun_msg *m, uint16_t type);

/* MESSAGE-INTEGRITY (HMAC-SHA1, short-term credential: key = password bytes).
 * 0 if present and valid, CC_ENOTFOUND if absent, CC_EAUTH if wrong. */
int cc_stun_check_integrity(const cc_stun_msg *m, const uint8_t *key,
                            size_t keylen);

/* FINGERPRINT (CRC-32 xor 0x5354554E, RFC 8489 section 14.7).
 * 0 valid, CC_ENOTFOUND absent, CC_EAUTH wrong. */
int cc_stun_check_fingerprint(const cc_stun_msg *m);

/* Decode (XOR-)MAPPED-ADDRESS value into a cc_addr. */
int cc_stun_get_xor_address(const cc_stun_msg *m, const cc_stun_attr *a,
                            cc_addr *out);

/* Builder: writes into the caller's buffer. Any overflow sets err = CC_ENOSPC
 * and later calls do nothing; cc_stun_build_finish reports it. */
typedef struct cc_stun_builder {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int err;
} cc_stun_builder;

void cc_stun_build_start(cc_stun_builder *b, uint8_t *buf, size_t cap,
                         uint16_t type, const uint8_t txid[12]);
void cc_stun_build_attr(cc_stun_builder *b, uint16_t type, const void *value,
                        uint16_t len);
void cc_stun_build_u32(cc_stun_builder *b, uint16_t type, uint32_t v);
void cc_stun_build_u64(cc_stun_builder *b, uint16_t type, uint64_t v);
void cc_stun_build_xor_address(cc_stun_builder *b, uint16_t type,
                               const cc_addr *addr);
/* Appends MESSAGE-INTEGRITY over everything so far. */
void cc_stun_build_integrity(cc_stun_builder *b, const uint8_t *key,
                             size_t keylen);
/* Appends FINGERPRINT; must be last. */
void cc_stun_build_fingerprint(cc_stun_builder *b);
/* Returns 0 and the message length, or the first error. */
int cc_stun_build_finish(cc_stun_builder *b, size_t *out_len);

#endif
