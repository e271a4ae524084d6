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

int cc_layerctl_on_report(cc_layerctl *c, uint8_t fraction_lost,
                          uint64_t sent_total, cc_time_us now)
{
    double loss = fraction_lost / 256.0;
    if (c->have_mark && sent_total > c->sent_mark) {
        double nack_share = (double)c->nacked / (double)(sent_total - c->sent_mark);
        if (nack_share > loss)
            loss = nack_share > 1 ? 1 : nack_share;
    }
    c->sent_mark = sent_total;
    c->have_mark = 1;
    c->nacked = 0;
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
