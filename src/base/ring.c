/* SPSC ring: the producer owns `head`, the consumer owns `tail`; each reads
 * the other's index with acquire and publishes its own with release, so an
 * item written before a push is visible after the matching pop. The indices
 * run freely and are masked on access. */
#include "classcast/ring.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "classcast/err.h"

struct cc_ring {
    /* Separate cache lines: producer and consumer do not false-share. */
    _Alignas(64) atomic_size_t head;
    _Alignas(64) atomic_size_t tail;
    _Alignas(64) size_t mask;
    void **slots;
};

int cc_ring_new(cc_ring **out, size_t capacity)
{
    *out = NULL;
    if (capacity < 2 || capacity > ((size_t)1 << 30))
        return CC_EINVAL;
    size_t cap = 2;
    while (cap < capacity)
        cap <<= 1;
    cc_ring *r = aligned_alloc(64, sizeof *r);
    if (!r)
        return CC_ENOMEM;
    r->slots = calloc(cap, sizeof(void *));
    if (!r->slots) {
        free(r);
        return CC_ENOMEM;
    }
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    r->mask = cap - 1;
    *out = r;
    return 0;
}

void cc_ring_free(cc_ring *r)
{
    if (!r)
        return;
    free(r->slots);
    free(r);
}

int cc_ring_push(cc_ring *r, void *item)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head - tail > r->mask)
        return CC_EAGAIN;
    r->slots[head & r->mask] = item;
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
    return 0;
}

void *cc_ring_pop(cc_ring *r)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    if (tail == head)
        return NULL;
    void *item = r->slots[tail & r->mask];
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
    return item;
}

size_t cc_ring_count(const cc_ring *r)
{
    size_t head = atomic_load_explicit(&((cc_ring *)r)->head, memory_order_acquire);
    size_t tail = atomic_load_explicit(&((cc_ring *)r)->tail, memory_order_acquire);
    return head - tail;
}

size_t cc_ring_capacity(const cc_ring *r) { return r->mask + 1; }
