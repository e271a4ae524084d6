/* libFuzzer target for src/media/recsel.c: any bytes become a run of
 * packets the recorder gets from the SFU (each record: 1 byte slot, 1 byte
 * live mask, 2 bytes time step in ms, 2 bytes length, then the packet),
 * with fillers asked for between them. Nothing may read or write outside
 * the buffers; every packet kept keeps its length and gets the output SSRC
 * and payload type; a filler fits the caller's buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/recsel.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t kKey[] = {0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00,
                               1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const uint8_t kSilence[] = {0xf8, 0xff, 0xfe};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cc_recsel s;
    cc_time_us now = 1000000;
    cc_recsel_init(&s, now);
    /* a long key frame, so fillers come in several packets */
    static uint8_t big[3000];
    memcpy(big, kKey, sizeof kKey);
    cc_recsel_fill fill = {big, sizeof big, kSilence, sizeof kSilence};
    size_t off = 0;
    while (off + 6 <= size) {
        int slot = data[off] % 4 == 3 ? -1 : data[off] % 4;
        unsigned live = data[off + 1];
        now += (cc_time_us)((data[off + 2] << 8) | data[off + 3]) * 1000;
        size_t len = (size_t)((data[off + 4] << 8) | data[off + 5]) % 1600;
        off += 6;
        if (len > size - off)
            len = size - off;
        uint8_t *pkt = malloc(len ? len : 1);
        if (!pkt)
            return 0;
        memcpy(pkt, data + off, len);
        off += len;
        unsigned want = 0;
        int k = cc_recsel_packet(&s, slot, live, pkt, len, now, &want);
        CHECK(k == CC_RECSEL_DROP || k == CC_RECSEL_VIDEO || k == CC_RECSEL_AUDIO);
        CHECK((want & ~7u) == 0);
        if (k != CC_RECSEL_DROP) {
            CHECK(len >= 12);
            CHECK((pkt[1] & 0x7f) == (k == CC_RECSEL_VIDEO ? CC_RECSEL_VIDEO_PT
                                                           : CC_RECSEL_AUDIO_PT));
            uint32_t ssrc = (uint32_t)pkt[8] << 24 | pkt[9] << 16 | pkt[10] << 8 | pkt[11];
            CHECK(ssrc == (k == CC_RECSEL_VIDEO ? CC_RECSEL_VIDEO_SSRC : CC_RECSEL_AUDIO_SSRC));
        }
        free(pkt);
        uint8_t out[12 + 1 + CC_RECSEL_FILL_MTU];
        size_t n;
        cc_time_us at;
        int guard = 0;
        while ((k = cc_recsel_filler(&s, now, &fill, out, sizeof out, &n, &at)) !=
               CC_RECSEL_DROP) {
            CHECK(n >= 13 && n <= sizeof out && at <= now);
            CHECK(++guard < 10000);
        }
    }
    int w, h;
    if (cc_recsel_video_size(&s, &w, &h) == 0)
        CHECK(w > 0 && h > 0 && w < 16384 && h < 16384);
    return 0;
}
