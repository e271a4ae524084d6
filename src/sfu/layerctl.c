/* classcast: per-subscriber temporal layer choice. See layerctl.h. */
#include "classcast/layerctl.h"

#include <string.h>

#define STEP_DOWN_GAP (500 * CC_USEC_PER_MSEC)
#define HOLD_MIN (4 * CC_USEC_PER_SEC)
#define HOLD_MAX (32 * CC_USEC_PER_SEC)
#define FAILED_UP_WINDOW (4 * CC_USEC_PER_SEC)

void cc_layerctl_init(cc_layerctl *c, cc_time_us now)
{
    memset(c, 0, sizeof *c);
    c->layer = CC_LAYERCTL_TOP;
    c->hold = HOLD_MIN;
    c->good_since = now;
    c->good = 1;
    c->last_down = c->last_up = now - HOLD_MAX;
}

void cc_layerctl_on_nack(cc_layerctl *c, uint32_t n)
{
    c->nacked += n;
}

#define NACK_FRESH (5 * CC_USEC_PER_SEC)

void cc_layerctl_on_nack_seq(cc_layerctl *c, uint16_t seq, cc_time_us now)
{
    /* Half the sequence space apart decides newer (RFC 3550 A.1's rule);
     * a mark 5 s old may be that far behind, so it is not trusted then. */
    int fresh = !c->nack_seen || now - c->nack_at > NACK_FRESH ||
                (seq != c->nack_high && (uint16_t)(seq - c->nack_high) < 0x8000u);
    if (!fresh) {
        c->nack_repeats++;
        return;
    }
    c->nack_high = seq;
    c->nack_seen = 1;
    c->nack_at = now;
    c->nacked++;
}

/* A report's stretch longer than this many sequence numbers is not taken
 * from ext_highest_seq (a receiver that restarted its statistics). */
#define STRETCH_MAX 0x8000u

/* The reports summed since the last judgement, dropped. */
static void acc_clear(cc_layerctl *c)
{
    c->acc_lost = c->acc_carried = 0;
    c->acc_nacked = c->acc_sent = 0;
}

int cc_layerctl_on_report(cc_layerctl *c, const cc_layerctl_report *r, cc_time_us now)
{
    double reported = r->fraction_lost / 256.0;
    uint64_t sent = r->sent_total > c->sent_mark ? r->sent_total - c->sent_mark : 0;
    int64_t up = (int64_t)(r->upstream_lost - c->up_mark);
    /* RFC 3550 6.4.1: the fraction is of the packets expected in the
     * receiver's interval since its last report, i.e. the sequence
     * numbers from the last report's extended highest one to this one's,
     * gaps included. */
    uint32_t expected = r->ext_highest_seq - c->seq_mark;
    if (!c->have_mark || expected == 0 || expected > STRETCH_MAX)
        expected = (uint32_t)(sent + (uint64_t)(up > 0 ? up : 0)); /* sent + skipped */
    double lost = reported * expected;
    double carried = (double)expected; /* what was sent of it */
    if (up > 0) {
        /* Upstream gaps in the stretch are not the link's. */
        carried = (double)expected - (double)up;
        c->discounted += (uint64_t)(lost < (double)up ? lost + 0.5 : (double)up);
        lost = lost > (double)up ? lost - (double)up : 0;
    }
    uint64_t nacked = c->have_mark && sent > 0 ? c->nacked : 0;
    int first = !c->have_mark;
    c->sent_mark = r->sent_total;
    c->up_mark = r->upstream_lost;
    c->seq_mark = r->ext_highest_seq;
    c->have_mark = 1;
    c->nacked = 0;
    c->last_reported = reported;
    if (r->own_burst) {
        /* The burst's losses are not the link's: nor those gathered
         * before it. */
        acc_clear(c);
        return 0;
    }
    if (carried < 1 && !nacked)
        return 0; /* nothing was sent: nothing to learn about the link */
    if (carried > 0) {
        c->acc_lost += lost;
        c->acc_carried += carried;
    }
    c->acc_nacked += nacked;
    c->acc_sent += sent;
    /* Judged over at least CC_LAYERCTL_MIN_PACKETS. A receiver reports
     * about every second, and a screen at a few pictures a second sends
     * a few dozen packets in that time: at 5 % random loss (Wi-Fi that
     * NACKs repair) 2 of 20 lost reads as 10 %, and the lossy student of
     * scripts/bench/links had its 5 frames/s screen thinned to its base
     * layer (1.25 frames/s, gaps of 0.8-1.3 s) on reports of 12 %, 16 %
     * and 50 %. The first report judges alone (the SFU's first word on a
     * link that is already bad). */
    if (!first && c->acc_carried < CC_LAYERCTL_MIN_PACKETS && c->acc_sent < CC_LAYERCTL_MIN_PACKETS)
        return 0;
    double loss = c->acc_carried >= 1 ? c->acc_lost / c->acc_carried : 0;
    if (c->acc_sent > 0) {
        double nack_share = (double)c->acc_nacked / (double)c->acc_sent;
        if (nack_share > loss)
            loss = nack_share > 1 ? 1 : nack_share;
    }
    acc_clear(c);
    c->last_loss = loss;

    if (loss > CC_LAYERCTL_LOSS_HIGH) {
        c->good = 0;
        if (c->layer == 0 || now - c->last_down < STEP_DOWN_GAP)
            return 0;
        /* Down soon after an up: that layer did not fit; wait longer
         * before trying it again. */
        if (now - c->last_up < FAILED_UP_WINDOW) {
            c->hold *= 2;
            if (c->hold > HOLD_MAX)
                c->hold = HOLD_MAX;
        }
        c->layer--;
        c->last_down = now;
        c->downs++;
        return 1;
    }
    if (loss >= CC_LAYERCTL_LOSS_LOW) {
        c->good = 0; /* neither bad enough to drop nor good */
        return 0;
    }
    if (!c->good) {
        c->good = 1;
        c->good_since = now;
    }
    if (c->layer < CC_LAYERCTL_TOP && now - c->good_since >= c->hold) {
        c->layer++;
        c->last_up = now;
        c->good_since = now; /* the next step needs its own good time */
        c->ups++;
        return 1;
    }
    return 0;
}
