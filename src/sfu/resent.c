/* classcast: a packet sent again at most once a round trip (resent.h).
 * Hand-written: a direct-mapped table of a few hundred entries. */
#include "classcast/resent.h"

#include <stdlib.h>

typedef struct {
    uint16_t seq;
    uint8_t stream;
    uint8_t used;
    uint32_t at_ms; /* milliseconds of the caller's clock, modulo 2^32 */
} resent_slot;

struct cc_resent {
    resent_slot slot[CC_RESENT_SLOTS];
};

cc_resent *cc_resent_new(void)
{
    return calloc(1, sizeof(cc_resent));
}

void cc_resent_free(cc_resent *r)
{
    free(r);
}

static unsigned slot_of(unsigned stream, uint16_t seq)
{
    /* Consecutive numbers fill consecutive slots; the stream moves the
     * start, so a subscriber's camera and screen seldom collide. */
    return (seq + stream * 97u) % CC_RESENT_SLOTS;
}

int cc_resent_may(cc_resent *r, unsigned stream, uint16_t seq, cc_time_us gap, cc_time_us now)
{
    if (!r)
        return 1;
    resent_slot *e = &r->slot[slot_of(stream, seq)];
    uint32_t now_ms = (uint32_t)(now / CC_USEC_PER_MSEC);
    if (e->used && e->seq == seq && e->stream == (uint8_t)stream && gap > 0 &&
        (uint64_t)(uint32_t)(now_ms - e->at_ms) * CC_USEC_PER_MSEC < (uint64_t)gap)
        return 0;
    e->seq = seq;
    e->stream = (uint8_t)stream;
    e->used = 1;
    e->at_ms = now_ms;
    return 1;
}
