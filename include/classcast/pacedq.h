/* classcast: the queue of a paced subscriber: copies of RTP packets
 * (plain, before SRTP) waiting for their turn on a slow link, oldest
 * first, each with a tag (which of the subscriber's streams) and the time
 * it was queued. The pacer (pacer.h) says when the next may leave; this
 * only keeps them. A fixed ring allocated once: a push to a full queue
 * fails (the caller counts the drop; the receiver NACKs the gap).
 * Pure: no I/O, no clock. Thread: the owner's. */
#ifndef CLASSCAST_PACEDQ_H
#define CLASSCAST_PACEDQ_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"

#define CC_PACEDQ_PKT 1500 /* largest packet kept */

typedef struct cc_pacedq cc_pacedq;

/* cap: packets held at most (1..4096). */
int cc_pacedq_new(cc_pacedq **out, unsigned cap);
void cc_pacedq_free(cc_pacedq *q);
/* Copy pkt[0..len) in at the back. 0, CC_ENOSPC (full) or CC_EINVAL
 * (len 0 or over CC_PACEDQ_PKT). */
int cc_pacedq_push(cc_pacedq *q, const uint8_t *pkt, size_t len, uint32_t tag, cc_time_us now);
/* The front packet (borrowed until the next pop or push), or NULL. */
const uint8_t *cc_pacedq_peek(const cc_pacedq *q, size_t *len, uint32_t *tag, cc_time_us *queued_at);
void cc_pacedq_pop(cc_pacedq *q);
unsigned cc_pacedq_len(const cc_pacedq *q);
size_t cc_pacedq_bytes(const cc_pacedq *q); /* payload bytes held */
/* Drop every packet. */
void cc_pacedq_clear(cc_pacedq *q);

#endif
