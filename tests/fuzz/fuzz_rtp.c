/* libFuzzer target for src/rtp/rtp.c: parse any bytes as RTP, look up every
 * extension id, and check the view stays inside the input and that the
 * in-place setters keep a valid packet valid. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"
#include "classcast/rtp.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cc_rtp_hdr h;
    int rc = cc_rtp_parse(data, size, &h);
    if (rc != 0) {
        CHECK(rc == CC_ETRUNC || rc == CC_EINVAL);
        return 0;
    }
    const uint8_t *end = data + size;
    CHECK(h.version == 2);
    CHECK(h.header_len >= CC_RTP_HEADER_MIN && h.header_len <= size);
    CHECK(h.payload == data + h.header_len);
    CHECK(h.header_len + h.payload_len + h.padding_len == size);
    if (h.extension) {
        CHECK(h.ext >= data && h.ext + h.ext_len <= data + h.header_len);
    }

    for (int id = -1; id <= 256; id++) {
        const uint8_t *v = NULL;
        size_t vl = 0;
        int r = cc_rtp_find_ext(&h, id, &v, &vl);
        if (r == 0) {
            CHECK(v >= h.ext && v + vl <= h.ext + h.ext_len && v + vl <= end);
            volatile uint8_t sink = 0;
            for (size_t i = 0; i < vl; i++)
                sink ^= v[i];
            (void)sink;
        } else {
            CHECK(r == CC_ENOTFOUND || r == CC_EINVAL);
        }
    }

    /* Setters on a copy: the rewritten packet parses to the same shape. */
    if (size <= 65536) {
        uint8_t *copy = malloc(size);
        if (!copy)
            return 0;
        memcpy(copy, data, size);
        cc_rtp_set_seq(copy, (uint16_t)(h.seq + 1));
        cc_rtp_set_ts(copy, h.ts + 3000);
        cc_rtp_set_ssrc(copy, ~h.ssrc);
        cc_rtp_set_pt(copy, (uint8_t)(h.pt ^ 0x55));
        cc_rtp_set_marker(copy, !h.marker);
        cc_rtp_hdr h2;
        CHECK(cc_rtp_parse(copy, size, &h2) == 0);
        CHECK(h2.seq == (uint16_t)(h.seq + 1));
        CHECK(h2.ts == h.ts + 3000);
        CHECK(h2.ssrc == ~h.ssrc);
        CHECK(h2.pt == ((h.pt ^ 0x55) & 0x7f));
        CHECK(h2.marker == !h.marker);
        CHECK(h2.header_len == h.header_len);
        CHECK(h2.payload_len == h.payload_len);
        free(copy);
    }
    if (size >= 8) {
        int64_t us;
        memcpy(&us, data + size - 8, 8);
        CHECK(cc_abs_send_time_from_us(us) <= 0xFFFFFF);
    }
    return 0;
}
