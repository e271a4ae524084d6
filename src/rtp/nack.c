/* classcast: receiver-side NACK scheduling. See include/classcast/nack.h.
 * Loss is what RFC 3550 appendix A.1 calls a gap in the extended sequence;
 * the request is the RFC 4585 section 6.2.1 generic NACK the caller writes. */
#include "classcast/nack.h"

#include <string.h>

#include "classcast/rtp.h"

void cc_nack_init(cc_nack *n, const cc_nack_config *cfg)
{
    memset(n, 0, sizeof *n);
    if (cfg)
        n->cfg = *cfg;
    /* A few ms of reorder tolerance: Chromium's pacer sends a frame's
     * packets back to back, so reordering on a LAN is short-lived, and a
     * NACK sent too early only costs one duplicate. */
    if (n->cfg.reorder_delay <= 0)
        n->cfg.reorder_delay = 5 * CC_USEC_PER_MSEC;
    if (n->cfg.retry_interval <= 0)
        n->cfg.retry_interval = 40 * CC_USEC_PER_MSEC;
    if (n->cfg.max_tries <= 0)
        n->cfg.max_tries = 3;
    if (n->cfg.give_up <= 0)
        n->cfg.give_up = CC_USEC_PER_SEC;
    if (n->cfg.max_gap == 0)
        n->cfg.max_gap = 1000;
}

void cc_nack_set_rtt(cc_nack *n, cc_time_us rtt) { n->rtt = rtt > 0 ? rtt : 0; }

static void remove_at(cc_nack *n, int i)
{
    memmove(&n->items[i], &n->items[i + 1],
            sizeof(cc_nack_item) * (size_t)(n->n - i - 1));
    n->n--;
}

static void add_missing(cc_nack *n, uint16_t seq, cc_time_us now)
{
    if (n->n == CC_NACK_MAX_MISSING) {
        /* Full: the oldest loss is the least likely to be worth repairing. */
        remove_at(n, 0);
        n->stats.overflow++;
    }
    cc_nack_item *it = &n->items[n->n++];
    it->seq = seq;
    it->tries = 0;
    it->lost_at = now;
    it->next_at = now + n->cfg.reorder_delay;
    n->stats.missing++;
}

int cc_nack_on_packet(cc_nack *n, uint16_t seq, cc_time_us now)
{
    if (!n->started) {
        n->started = 1;
        n->max_seq = seq;
        return 0;
    }
    if (cc_seq_newer(seq, n->max_seq)) {
        uint16_t gap = (uint16_t)(seq - n->max_seq);
        if (gap > n->cfg.max_gap) {
            /* A jump this large is a restarted sender or a burst beyond
             * repair: start over rather than flood the sender with NACKs. */
            n->n = 0;
            n->stats.resets++;
        } else {
            for (uint16_t s = (uint16_t)(n->max_seq + 1); s != seq; s++)
                add_missing(n, s, now);
        }
        n->max_seq = seq;
        return 0;
    }
    /* Old or duplicate: a late original or our retransmission arriving. */
    for (int i = 0; i < n->n; i++)
        if (n->items[i].seq == seq) {
            remove_at(n, i);
            n->stats.recovered++;
            return 1;
        }
    return 0;
}

size_t cc_nack_poll(cc_nack *n, cc_time_us now, uint16_t *out, size_t cap)
{
    size_t k = 0;
    cc_time_us interval = n->rtt > n->cfg.retry_interval ? n->rtt
                                                         : n->cfg.retry_interval;
    for (int i = 0; i < n->n;) {
        cc_nack_item *it = &n->items[i];
        if (now - it->lost_at >= n->cfg.give_up ||
            (it->tries >= n->cfg.max_tries && now >= it->next_at)) {
            remove_at(n, i);
            n->stats.given_up++;
            continue;
        }
        if (now >= it->next_at && it->tries < n->cfg.max_tries && k < cap) {
            out[k++] = it->seq;
            it->tries++;
            it->next_at = now + interval;
            n->stats.requested++;
        }
        i++;
    }
    return k;
}

cc_time_us cc_nack_deadline(const cc_nack *n)
{
    cc_time_us d = CC_TIME_NEVER;
    for (int i = 0; i < n->n; i++) {
        cc_time_us t = n->items[i].next_at;
        cc_time_us g = n->items[i].lost_at + n->cfg.give_up;
        if (g < t)
            t = g;
        if (t < d)
            d = t;
    }
    return d;
}

int cc_nack_pending(const cc_nack *n) { return n->n; }
