#include "classcast/demux.h"

cc_demux_kind cc_demux_classify(const uint8_t *buf, size_t len)
{
    if (len == 0)
        return CC_DEMUX_UNKNOWN;
    uint8_t b = buf[0];
    /* RFC 7983 section 7: the ranges of the first byte. */
    if (b <= 3)
        return CC_DEMUX_STUN;
    if (b >= 16 && b <= 19)
        return CC_DEMUX_ZRTP;
    if (b >= 20 && b <= 63)
        return CC_DEMUX_DTLS;
    if (b >= 64 && b <= 79)
        return CC_DEMUX_TURN;
    if (b >= 128 && b <= 191) {
        /* RFC 5761 section 4: RTCP packet types 192..223 sit where an RTP
         * payload type 64..95 with the marker bit set would. */
        if (len >= 2 && buf[1] >= 192 && buf[1] <= 223)
            return CC_DEMUX_RTCP;
        return CC_DEMUX_RTP;
    }
    return CC_DEMUX_UNKNOWN;
}

const char *cc_demux_name(cc_demux_kind k)
{
    switch (k) {
    case CC_DEMUX_STUN: return "stun";
    case CC_DEMUX_ZRTP: return "zrtp";
    case CC_DEMUX_DTLS: return "dtls";
    case CC_DEMUX_TURN: return "turn";
    case CC_DEMUX_RTP: return "rtp";
    case CC_DEMUX_RTCP: return "rtcp";
    default: return "unknown";
    }
}
