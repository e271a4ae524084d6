/* libFuzzer target for the client side's answer reader (src/rtc/sdp_offer.c):
 * what `classcast-publish` and `classcast-loadgen` do with a WHIP/WHEP
 * server's answer, including the hand-written a=candidate parser. */
#include <stdint.h>
#include <stdlib.h>

#include "classcast/sdp_offer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cc_sdp_answer_info info;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cc_addr a;
    cc_sdp_find_candidate((const char *)data, size, &a);
    cc_sdp_answer_read((const char *)data, size, &info);
    return 0;
}
