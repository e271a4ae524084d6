/* libFuzzer target for src/sfu/forwarder.c with temporal layers: any
 * sequence of publisher packets (parsed the way the SFU parses them),
 * layer caps, source switches and NACK repeats, fed to one subscriber's
 * video forwarder. Whatever arrives, every packet it writes is valid RTP
 * with the subscriber's SSRC and payload type, fits the buffer, and a
 * padding packet carries nothing but its one padding octet; a repeat is
 * byte-identical to the first copy while the packet is in the epoch.
 * Input: records of [op][len hi][len lo][len bytes of RTP]. op bits 0-1:
 * cap (3 = all layers), bit 2: answer a NACK for it too, bit 3: another
 * source. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"
#include "classcast/forwarder.h"
#include "classcast/rtp.h"
#include "classcast/vp8.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_out(const cc_fwd *f, const uint8_t *out, size_t len, size_t cap)
{
    cc_rtp_hdr h;
    CHECK(len >= CC_RTP_HEADER_MIN && len <= cap);
    CHECK(cc_rtp_parse(out, len, &h) == 0);
    CHECK(h.ssrc == f->cfg.ssrc && h.pt == f->cfg.pt && !h.extension && h.csrc_count == 0);
    if (h.padding)
        CHECK(h.payload_len == 0 && len == CC_RTP_HEADER_MIN + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cc_fwd f;
    cc_fwd_config cfg = {.ssrc = 0x11223344, .pt = 96, .video = 1, .clock_rate = 90000,
                         .initial_seq = 100, .initial_ts = 1000,
                         .initial_picture_id = 5, .initial_tl0 = 1};
    cc_fwd_init(&f, &cfg);
    size_t off = 0;
    cc_time_us now = 1000000;
    uint32_t source = 1;
    while (off + 3 <= size) {
        uint8_t op = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (len > size - off)
            len = size - off;
        const uint8_t *pkt = data + off;
        off += len;
        now += 3000;
        cc_fwd_set_max_tid(&f, op & 3);
        if (op & 8)
            source++;
        cc_rtp_hdr h;
        if (cc_rtp_parse(pkt, len, &h) != 0)
            continue;
        cc_vp8_desc d;
        int has_d = h.payload_len > 0 && cc_vp8_parse(h.payload, h.payload_len, &d) == 0;
        cc_fwd_pkt fp = {.source = source, .buf = pkt, .h = &h,
                         .vp8 = has_d ? &d : NULL, .keyframe = has_d ? d.keyframe : 0};
        uint8_t out[1600], again[1600];
        size_t olen = 0, alen = 0;
        int rc = cc_fwd_write(&f, &fp, now, out, sizeof out, &olen);
        CHECK(rc == CC_FWD_SEND || rc == CC_FWD_WAIT_KEYFRAME || rc == CC_FWD_DROP_OLD ||
              rc == CC_ENOSPC);
        if (rc != CC_FWD_SEND)
            continue;
        check_out(&f, out, olen, sizeof out);
        if (op & 4) {
            uint16_t in_seq;
            cc_rtp_hdr oh;
            CHECK(cc_rtp_parse(out, olen, &oh) == 0);
            if (cc_fwd_map_seq(&f, oh.seq, &in_seq) == 0 && in_seq == h.seq &&
                cc_fwd_write_again(&f, &fp, again, sizeof again, &alen) == 0) {
                check_out(&f, again, alen, sizeof again);
                CHECK(alen == olen && memcmp(again, out, olen) == 0);
            }
        }
    }
    return 0;
}
