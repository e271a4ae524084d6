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
 * Only the subscriber's own loss counts. A packet the SFU never got from
 * the publisher (upstream loss) is a gap in every subscriber's numbering,
 * and each reports it as lost and NACKs it: the caller says how many such
 * gaps there were up to the report (cc_layerctl_report.upstream_lost) and
 * leaves NACKs of them out of cc_layerctl_on_nack, and the loss of an
 * interval is then (reported lost - upstream gaps) / (packets the SFU did
 * send in it), never below 0. Otherwise the teacher's weak uplink would
 * step every student down, even one on a perfect link.
 * Layers: 0 (TL0 only, a quarter of the frames) .. 2 (all of them).
 * Pure: no I/O, explicit clock. Thread: the owner's. */
#ifndef CLASSCAST_LAYERCTL_H
#define CLASSCAST_LAYERCTL_H

#include <stdint.h>

#include "classcast/clock.h"

#define CC_LAYERCTL_TOP 2
#define CC_LAYERCTL_LOSS_HIGH 0.10
#define CC_LAYERCTL_LOSS_LOW 0.02
/* Loss is judged over stretches of at least this many packets (several
 * reports of a sparse stream together): at 5 % random loss a stretch of
 * 80 reads over 10 % with a chance of 1.8 %, one of 20 with 7.5 %. */
#define CC_LAYERCTL_MIN_PACKETS 80

typedef struct cc_layerctl {
    uint8_t layer;            /* highest temporal layer to send */
    uint64_t sent_mark;       /* packets sent at the last report */
    uint64_t nacked;          /* seqs NACKed since the last report */
    uint64_t up_mark;         /* upstream_lost at the last report */
    uint32_t seq_mark;        /* ext_highest_seq of the last report */
    int have_mark;
    int good;                 /* good_since is set */
    cc_time_us last_down, last_up, good_since;
    cc_time_us hold;          /* good time needed before a step up */
    double last_loss;         /* of the latest judged stretch: the link's own */
    /* Reports since the last judgement (CC_LAYERCTL_MIN_PACKETS): */
    double acc_lost, acc_carried;
    uint64_t acc_nacked, acc_sent;
    double last_reported;     /* of the latest interval: as reported */
    uint64_t discounted;      /* reported losses that were upstream gaps */
    uint16_t nack_high;       /* highest seq NACKed so far (on_nack_seq) */
    int nack_seen;            /* nack_high is set */
    cc_time_us nack_at;       /* when nack_high moved */
    uint64_t nack_repeats;    /* NACKs of a number already NACKed */
    uint32_t downs, ups;
} cc_layerctl;

/* One receiver report block about the stream (RFC 3550 section 6.4.1),
 * with what the sender knows about the same stretch. */
typedef struct cc_layerctl_report {
    uint8_t fraction_lost;    /* as sent (x/256) */
    uint32_t ext_highest_seq; /* as sent: the stretch it covers ends here */
    uint64_t sent_total;      /* packets sent on the stream so far */
    /* Of the sequence numbers up to ext_highest_seq, those the sender
     * skipped because it never had the packet (cc_fwd_upstream_lost):
     * cumulative, net of numbers filled late. 0 when not known. */
    uint64_t upstream_lost;
    /* The stretch holds the sender's own burst (a kept keyframe chain sent
     * at once to a subscriber that just joined): the loss it shows is the
     * burst's, not the link's. The marks move on; the layer is not judged. */
    int own_burst;
} cc_layerctl_report;

void cc_layerctl_init(cc_layerctl *c, cc_time_us now);
/* The receiver NACKed n sequence numbers of this stream that the sender
 * had sent (NACKs of upstream gaps are not the link's loss). */
void cc_layerctl_on_nack(cc_layerctl *c, uint32_t n);
/* One sequence number from a NACK (RFC 4585 6.2.1) that the sender had
 * sent: counted as above only the first time. A receiver asks again for a
 * packet still missing about once per round trip (Chromium up to 10
 * times), so on a link with a deep queue the raw count of NACKed numbers
 * exceeds the packets sent even at a few percent loss. A number is new
 * when it is above the highest NACKed so far; after 5 s without a new
 * one, any is. */
void cc_layerctl_on_nack_seq(cc_layerctl *c, uint16_t seq, cc_time_us now);
/* A receiver report block for this stream. Returns 1 if the layer changed
 * (read c->layer), else 0. */
int cc_layerctl_on_report(cc_layerctl *c, const cc_layerctl_report *r, cc_time_us now);

#endif
