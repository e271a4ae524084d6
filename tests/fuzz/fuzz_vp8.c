/* libFuzzer target for src/rtp/vp8.c: parse any bytes as a VP8 payload
 * descriptor (RFC 7741 section 4.2); every offset must stay inside the
 * input, and rewriting PictureID/TL0PICIDX on a copy must keep the same
 * descriptor shape and payload with the new values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"
#include "classcast/vp8.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cc_vp8_desc d;
    int rc = cc_vp8_parse(data, size, &d);
    if (rc != 0) {
        CHECK(rc == CC_ETRUNC);
        return 0;
    }
    CHECK(d.len >= 1 && d.len <= CC_VP8_DESC_MAX && d.len < size);
    if (d.has_picture_id) {
        CHECK(d.picture_id_bits == 7 || d.picture_id_bits == 15);
        CHECK(d.picture_id_off + (d.picture_id_bits == 15 ? 2u : 1u) <= d.len);
        CHECK(d.picture_id < (1u << d.picture_id_bits));
    }
    if (d.has_tl0)
        CHECK(d.tl0_off < d.len);
    if (d.keyframe)
        CHECK(d.start && d.partition == 0 && size - d.len >= 6);
    uint8_t *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    uint16_t pid = (uint16_t)(d.picture_id * 31 + 7);
    uint8_t tl0 = (uint8_t)(d.tl0picidx + 1);
    cc_vp8_rewrite(copy, &d, pid, tl0);
    cc_vp8_desc d2;
    CHECK(cc_vp8_parse(copy, size, &d2) == 0);
    CHECK(d2.len == d.len && d2.keyframe == d.keyframe &&
          d2.has_picture_id == d.has_picture_id &&
          d2.picture_id_bits == d.picture_id_bits && d2.has_tl0 == d.has_tl0);
    if (d.has_picture_id)
        CHECK(d2.picture_id == (pid & ((1u << d.picture_id_bits) - 1)));
    if (d.has_tl0)
        CHECK(d2.tl0picidx == tl0);
    CHECK(memcmp(copy + d.len, data + d.len, size - d.len) == 0);
    free(copy);
    return 0;
}
