/* classcast: first-byte demultiplexing of one UDP port (RFC 7983 section 7,
 * RFC 5764 section 5.1.2; RTP vs RTCP by RFC 5761 section 4).
 * Thread: any (pure). */
#ifndef CLASSCAST_DEMUX_H
#define CLASSCAST_DEMUX_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    CC_DEMUX_UNKNOWN = 0, /* drop and count */
    CC_DEMUX_STUN,        /* 0..3 */
    CC_DEMUX_ZRTP,        /* 16..19: not used by WebRTC, dropped */
    CC_DEMUX_DTLS,        /* 20..63 */
    CC_DEMUX_TURN,        /* 64..79: TURN channel data, dropped */
    CC_DEMUX_RTP,         /* 128..191, second byte not an RTCP type */
    CC_DEMUX_RTCP,        /* 128..191, second byte 192..223 */
} cc_demux_kind;

cc_demux_kind cc_demux_classify(const uint8_t *buf, size_t len);
const char *cc_demux_name(cc_demux_kind k);

#endif
