/* classcast: paced subscriber queue (pacedq.h). */
#include "classcast/pacedq.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "classcast/err.h"

typedef struct pq_slot {
    cc_time_us at;
    uint32_t tag;
    uint16_t len;
    uint8_t data[CC_PACEDQ_PKT];
} pq_slot;

struct cc_pacedq {
    unsigned cap, head, n;
    size_t bytes;
    size_t map_size;
    pq_slot slot[];
};

int cc_pacedq_new(cc_pacedq **out, unsigned cap)
{
    *out = NULL;
    if (cap < 1 || cap > 4096)
        return CC_EINVAL;
    /* Its own mapping, not malloc: a queue is made for every joining
     * subscriber (its kept keyframe chain goes through it) and freed once
     * drained, and only the slots used become resident (a chain: ~60 of
     * 384). malloc would serve these ~580 KB blocks from mmap at first,
     * then, once glibc has raised its mmap threshold after the first
     * frees, from the heap, zeroing (and so keeping) all of each block. */
    size_t sz = sizeof(cc_pacedq) + (size_t)cap * sizeof(pq_slot);
    void *m = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return CC_ENOMEM;
    cc_pacedq *q = m; /* zero-filled by the kernel */
    q->cap = cap;
    q->map_size = sz;
    *out = q;
    return 0;
}

void cc_pacedq_free(cc_pacedq *q)
{
    if (q)
        munmap(q, q->map_size);
}

int cc_pacedq_push(cc_pacedq *q, const uint8_t *pkt, size_t len, uint32_t tag, cc_time_us now)
{
    if (len == 0 || len > CC_PACEDQ_PKT)
        return CC_EINVAL;
    if (q->n == q->cap)
        return CC_ENOSPC;
    pq_slot *s = &q->slot[(q->head + q->n) % q->cap];
    memcpy(s->data, pkt, len);
    s->len = (uint16_t)len;
    s->tag = tag;
    s->at = now;
    q->n++;
    q->bytes += len;
    return 0;
}

const uint8_t *cc_pacedq_peek(const cc_pacedq *q, size_t *len, uint32_t *tag, cc_time_us *queued_at)
{
    if (!q->n)
        return NULL;
    const pq_slot *s = &q->slot[q->head];
    if (len)
        *len = s->len;
    if (tag)
        *tag = s->tag;
    if (queued_at)
        *queued_at = s->at;
    return s->data;
}

void cc_pacedq_pop(cc_pacedq *q)
{
    if (!q->n)
        return;
    q->bytes -= q->slot[q->head].len;
    q->head = (q->head + 1) % q->cap;
    q->n--;
}

unsigned cc_pacedq_len(const cc_pacedq *q) { return q->n; }

size_t cc_pacedq_bytes(const cc_pacedq *q) { return q->bytes; }

void cc_pacedq_clear(cc_pacedq *q)
{
    q->head = q->n = 0;
    q->bytes = 0;
}
