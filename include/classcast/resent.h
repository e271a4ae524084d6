/* classcast: which packets a subscriber was sent again, and when, so
 * that one is sent again at most once a round trip.
 *
 * A receiver asks again for a packet still missing about once per its own
 * round-trip estimate (Chromium up to 10 times). Behind a standing queue
 * the repair of the first NACK is itself still queued when the next comes:
 * answering every one puts each lost packet on the link several times, and
 * the repairs deepen the queue that delays them (docs/bwe.md, "Repairs
 * once a round trip"). libwebrtc's sender keeps the same rule in its packet
 * history.
 *
 * A fixed table of CC_RESENT_SLOTS entries, direct-mapped by (stream,
 * number): a collision forgets the older entry, which at worst lets one
 * repair through twice. Pure: no I/O, the clock passed in. Thread: the
 * owner's. */
#ifndef CLASSCAST_RESENT_H
#define CLASSCAST_RESENT_H

#include <stdint.h>

#include "classcast/clock.h"

#define CC_RESENT_SLOTS 256

typedef struct cc_resent cc_resent;

cc_resent *cc_resent_new(void); /* NULL if out of memory */
void cc_resent_free(cc_resent *r);
/* 1 if number seq of stream (0..255) may be sent again now: it was not
 * sent again in the last gap microseconds. Then now is recorded for it.
 * 0 (and nothing recorded) if it was: the caller counts the NACK as
 * answered already. */
int cc_resent_may(cc_resent *r, unsigned stream, uint16_t seq, cc_time_us gap, cc_time_us now);

#endif
