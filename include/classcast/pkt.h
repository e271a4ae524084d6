/* classcast: refcounted packet buffers from a pool.
 * Packets that fan out or cross threads are cc_pkt; a packet handled and
 * sent within one worker step stays in the socket's own batch buffers.
 * A fixed pool (cc_pkt_pool_new) is one slab made up front; a growable one
 * (cc_pkt_pool_new_growable) maps chunks of packets as they are needed, up
 * to a ceiling, and unmaps a chunk once all its packets are back (keeping
 * one empty chunk spare, so a pool that hovers at a chunk boundary does
 * not map and unmap on every packet). An empty pool at its ceiling is a
 * counted drop (exhausted).
 * Thread: alloc/ref/unref from any thread (the free lists are locked, the
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
    uint32_t meta[2];        /* the user's (e.g. where a packet handed to
                              * another thread belongs) */
    cc_pkt_pool *pool;
    struct cc_pkt_chunk *chunk; /* the pool's: which slab it lives in */
    struct cc_pkt *next;     /* free list / caller's queues */
    uint8_t data[CC_PKT_CAP];
} cc_pkt;

typedef struct cc_pkt_pool_stats {
    uint64_t allocs;
    uint64_t exhausted;      /* alloc failed: pool empty (at its ceiling) */
    uint32_t capacity;       /* packets mapped now */
    uint32_t in_use;
    uint32_t max;            /* the ceiling (= capacity for a fixed pool) */
    uint32_t chunks;         /* slabs mapped now */
    uint64_t chunks_mapped, chunks_unmapped; /* growable: over its life */
} cc_pkt_pool_stats;

int cc_pkt_pool_new(cc_pkt_pool **out, uint32_t capacity);
/* A pool that starts empty and maps chunk_pkts packets at a time while
 * fewer than max_pkts are mapped (chunk_pkts >= 1, max_pkts >= chunk_pkts;
 * max_pkts is rounded down to whole chunks). */
int cc_pkt_pool_new_growable(cc_pkt_pool **out, uint32_t chunk_pkts, uint32_t max_pkts);
/* All packets must have been released. */
void cc_pkt_pool_free(cc_pkt_pool *pool);
/* A packet with refs = 1, len = 0; NULL (and counted) if the pool is empty. */
cc_pkt *cc_pkt_alloc(cc_pkt_pool *pool);
cc_pkt *cc_pkt_ref(cc_pkt *p);
void cc_pkt_unref(cc_pkt *p);
void cc_pkt_pool_get_stats(cc_pkt_pool *pool, cc_pkt_pool_stats *out);

#endif
