/* classcast: receiver-side loss tracking for one RTP stream (the SFU's side
 * of RFC 4585 generic NACK towards a publisher). Gaps in the sequence
 * numbers become missing entries; each is requested after a short reorder
 * delay, retried at RTT-ish intervals a few times, and given up after a
 * while. A packet that arrives late (reordered or retransmitted) cancels its
 * entry. Pure: explicit `now`, no allocation, no I/O. Thread: any (one owner).
 *
 *   cc_nack_on_packet() for every received packet,
 *   cc_nack_poll() when cc_nack_deadline() has passed -> seqs to NACK now. */
#ifndef CLASSCAST_NACK_H
#define CLASSCAST_NACK_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"

#define CC_NACK_MAX_MISSING 256

typedef struct cc_nack_config {
    cc_time_us reorder_delay;  /* first request after this (0: 5 ms) */
    cc_time_us retry_interval; /* floor between tries (0: 40 ms) */
    int max_tries;             /* 0: 3 */
    cc_time_us give_up;        /* forget a loss this old (0: 1 s) */
    uint16_t max_gap;          /* a jump above this resets (0: 1000) */
} cc_nack_config;

typedef struct cc_nack_item {
    uint16_t seq;
    uint8_t tries;
    cc_time_us lost_at;
    cc_time_us next_at;
} cc_nack_item;

typedef struct cc_nack_stats {
    uint64_t missing;    /* sequence numbers seen missing */
    uint64_t requested;  /* requests handed out by poll (retries included) */
    uint64_t recovered;  /* missing packets that arrived afterwards */
    uint64_t given_up;   /* dropped after max_tries or give_up */
    uint64_t overflow;   /* dropped because the list was full */
    uint64_t resets;     /* jumps larger than max_gap */
} cc_nack_stats;

typedef struct cc_nack {
    cc_nack_config cfg;
    int started;
    uint16_t max_seq;
    cc_time_us rtt;
    /* Ordered oldest loss first (append at the end, gaps arrive in order). */
    cc_nack_item items[CC_NACK_MAX_MISSING];
    int n;
    cc_nack_stats stats;
} cc_nack;

void cc_nack_init(cc_nack *n, const cc_nack_config *cfg /* NULL: defaults */);
/* Round-trip time to the sender (0: unknown): retries wait
 * max(retry_interval, rtt). */
void cc_nack_set_rtt(cc_nack *n, cc_time_us rtt);
/* A received packet. Returns 1 if it filled a known gap, else 0. */
int cc_nack_on_packet(cc_nack *n, uint16_t seq, cc_time_us now);
/* Sequence numbers to request now (at most cap); updates retry state and
 * drops given-up entries. Returns the count. */
size_t cc_nack_poll(cc_nack *n, cc_time_us now, uint16_t *out, size_t cap);
/* When poll next has work: CC_TIME_NEVER if nothing is missing. */
cc_time_us cc_nack_deadline(const cc_nack *n);
/* Entries currently missing. */
int cc_nack_pending(const cc_nack *n);

#endif
