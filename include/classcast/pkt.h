/* classcast: refcounted packet buffers from a fixed pool.
 * Packets that fan out or cross threads are cc_pkt; a packet handled and
 * sent within one worker step stays in the socket's own batch buffers.
 * The pool never grows on the packet path: an empty pool is a counted drop.
 * Thread: alloc/ref/unref from any thread (the free list is locked, the
 * count is atomic). */
#ifndef CLASSCAST_PKT_H
#define CLASSCAST_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"

#define CC_PKT_CAP 1536

typedef struct cc_pkt_pool cc_pkt_pool;

typedef struct cc_pkt {
    uint32_t refs;           /* atomic */
    uint16_t len;
    uint16_t flags;
    cc_time_us time;         /* arrival or capture time */
    cc_pkt_pool *pool;
    struct cc_pkt *next;     /* free list / caller's queues */
    uint8_t data[CC_PKT_CAP];
} cc_pkt;

typedef struct cc_pkt_pool_stats {
    uint64_t allocs;
    uint64_t exhausted;      /* alloc failed: pool empty */
    uint32_t capacity;
    uint32_t in_use;
} cc_pkt_pool_stats;

int cc_pkt_pool_new(cc_pkt_pool **out, uint32_t capacity);
/* All packets must have been released. */
void cc_pkt_pool_free(cc_pkt_pool *pool);
/* A packet with refs = 1, len = 0; NULL (and counted) if the pool is empty. */
cc_pkt *cc_pkt_alloc(cc_pkt_pool *pool);
cc_pkt *cc_pkt_ref(cc_pkt *p);
void cc_pkt_unref(cc_pkt *p);
void cc_pkt_pool_get_stats(cc_pkt_pool *pool, cc_pkt_pool_stats *out);

#endif
