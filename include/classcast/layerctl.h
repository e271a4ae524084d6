/* classcast: which temporal layers one subscriber's video gets, from what
 * its receiver says about its link (a student's tablet on a crowded
 * classroom Wi-Fi). Loss-based, in the spirit of libwebrtc's loss-based
 * controller: the loss of an interval is the larger of the receiver
 * report's fraction lost (RFC 3550 6.4.1) and the share of the packets
 * sent that the receiver NACKed (RFC 4585 6.2.1; repaired losses do not
 * show in the fraction lost, but they cost the link all the same).
 *   loss > 10 %: one layer down (at most one step per 500 ms);
 *   loss <  2 % for `hold`: one layer up; hold starts at 4 s and doubles
 *   (to 32 s) when a step up is followed by a step down within 4 s, so a
 *   link that cannot carry the layer is not probed every few seconds.
 * Layers: 0 (TL0 only, a quarter of the frames) .. 2 (all of them).
 * Pure: no I/O, explicit clock. Thread: the owner's. */
#ifndef CLASSCAST_LAYERCTL_H
#define CLASSCAST_LAYERCTL_H

#include <stdint.h>

#include "classcast/clock.h"

#define CC_LAYERCTL_TOP 2
#define CC_LAYERCTL_LOSS_HIGH 0.10
#define CC_LAYERCTL_LOSS_LOW 0.02

typedef struct cc_layerctl {
    uint8_t layer;            /* highest temporal layer to send */
    uint64_t sent_mark;       /* packets sent at the last report */
    uint64_t nacked;          /* seqs NACKed since the last report */
    int have_mark;
    int good;                 /* good_since is set */
    cc_time_us last_down, last_up, good_since;
    cc_time_us hold;          /* good time needed before a step up */
    double last_loss;         /* of the latest interval */
    uint32_t downs, ups;
} cc_layerctl;

void cc_layerctl_init(cc_layerctl *c, cc_time_us now);
/* The receiver NACKed n sequence numbers of this stream. */
void cc_layerctl_on_nack(cc_layerctl *c, uint32_t n);
/* A receiver report block for this stream: fraction_lost as sent (x/256),
 * sent_total = packets sent on the stream so far. Returns 1 if the layer
 * changed (read c->layer), else 0. */
int cc_layerctl_on_report(cc_layerctl *c, uint8_t fraction_lost,
                          uint64_t sent_total, cc_time_us now);

#endif
