#include "classcast/pkt.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "classcast/err.h"

/* One slab of packets with its own free list. A growable pool maps its
 * chunks with mmap so that unmapping one gives its pages straight back to
 * the kernel (a malloc'd block of this size could stay in the heap). */
typedef struct cc_pkt_chunk {
    struct cc_pkt_chunk *next, *prev; /* pool->avail (has free packets) */
    struct cc_pkt_chunk *all_next, *all_prev; /* pool->all */
    int in_avail;
    int mapped;                       /* mmap'd (growable), else calloc'd */
    size_t bytes;
    cc_pkt *free_list;
    uint32_t n, n_free;
    cc_pkt *pkts;
} cc_pkt_chunk;

struct cc_pkt_pool {
    pthread_mutex_t lock;
    cc_pkt_chunk *avail_head, *avail_tail; /* chunks with a free packet */
    cc_pkt_chunk *all;        /* every chunk mapped */
    cc_pkt_chunk *spare;      /* an entirely free chunk kept mapped */
    uint32_t chunk_pkts;
    uint32_t max;             /* packets mapped at most */
    uint32_t capacity;        /* packets mapped now */
    uint32_t chunks;
    int growable;
    uint32_t in_use;
    uint64_t allocs;
    uint64_t exhausted;
    uint64_t chunks_mapped, chunks_unmapped;
};

static void avail_push_tail(cc_pkt_pool *pool, cc_pkt_chunk *c)
{
    c->next = NULL;
    c->prev = pool->avail_tail;
    if (pool->avail_tail)
        pool->avail_tail->next = c;
    else
        pool->avail_head = c;
    pool->avail_tail = c;
    c->in_avail = 1;
}

static void avail_remove(cc_pkt_pool *pool, cc_pkt_chunk *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        pool->avail_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        pool->avail_tail = c->prev;
    c->next = c->prev = NULL;
    c->in_avail = 0;
}

static void all_add(cc_pkt_pool *pool, cc_pkt_chunk *c)
{
    c->all_prev = NULL;
    c->all_next = pool->all;
    if (pool->all)
        pool->all->all_prev = c;
    pool->all = c;
}

static void all_remove(cc_pkt_pool *pool, cc_pkt_chunk *c)
{
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        pool->all = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
}

static cc_pkt_chunk *chunk_new(cc_pkt_pool *pool, uint32_t n, int mapped)
{
    cc_pkt_chunk *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->bytes = (size_t)n * sizeof(cc_pkt);
    if (mapped) {
        void *m = mmap(NULL, c->bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        c->pkts = m == MAP_FAILED ? NULL : m; /* zero-filled */
    } else {
        c->pkts = calloc(n, sizeof(cc_pkt));
    }
    if (!c->pkts) {
        free(c);
        return NULL;
    }
    c->mapped = mapped;
    c->n = c->n_free = n;
    for (uint32_t i = n; i-- > 0;) {
        c->pkts[i].pool = pool;
        c->pkts[i].chunk = c;
        c->pkts[i].next = c->free_list;
        c->free_list = &c->pkts[i];
    }
    return c;
}

static void chunk_free(cc_pkt_chunk *c)
{
    if (c->mapped)
        munmap(c->pkts, c->bytes);
    else
        free(c->pkts);
    free(c);
}

int cc_pkt_pool_new(cc_pkt_pool **out, uint32_t capacity)
{
    *out = NULL;
    if (capacity == 0)
        return CC_EINVAL;
    cc_pkt_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return CC_ENOMEM;
    /* One slab up front: the packet path never calls malloc. */
    cc_pkt_chunk *c = chunk_new(pool, capacity, 0);
    if (!c) {
        free(pool);
        return CC_ENOMEM;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pool->chunk_pkts = pool->max = pool->capacity = capacity;
    pool->chunks = 1;
    avail_push_tail(pool, c);
    all_add(pool, c);
    *out = pool;
    return 0;
}

int cc_pkt_pool_new_growable(cc_pkt_pool **out, uint32_t chunk_pkts, uint32_t max_pkts)
{
    *out = NULL;
    if (chunk_pkts == 0 || max_pkts < chunk_pkts)
        return CC_EINVAL;
    cc_pkt_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return CC_ENOMEM;
    pthread_mutex_init(&pool->lock, NULL);
    pool->growable = 1;
    pool->chunk_pkts = chunk_pkts;
    pool->max = max_pkts / chunk_pkts * chunk_pkts;
    *out = pool;
    return 0;
}

void cc_pkt_pool_free(cc_pkt_pool *pool)
{
    if (!pool)
        return;
    /* All packets must be back; the slabs go whatever the caller left. */
    while (pool->all) {
        cc_pkt_chunk *c = pool->all;
        all_remove(pool, c);
        chunk_free(c);
    }
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

cc_pkt *cc_pkt_alloc(cc_pkt_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    cc_pkt_chunk *c = pool->avail_head;
    if (!c && pool->growable && pool->capacity + pool->chunk_pkts <= pool->max) {
        /* Rare (a chunk holds hundreds of packets), so mapping under the
         * lock costs nothing worth a second code path. */
        c = chunk_new(pool, pool->chunk_pkts, 1);
        if (c) {
            pool->capacity += c->n;
            pool->chunks++;
            pool->chunks_mapped++;
            avail_push_tail(pool, c);
            all_add(pool, c);
        }
    }
    cc_pkt *p = c ? c->free_list : NULL;
    if (p) {
        c->free_list = p->next;
        if (--c->n_free == 0)
            avail_remove(pool, c);
        if (pool->spare == c)
            pool->spare = NULL;
        pool->in_use++;
        pool->allocs++;
    } else {
        pool->exhausted++;
    }
    pthread_mutex_unlock(&pool->lock);
    if (p) {
        __atomic_store_n(&p->refs, 1, __ATOMIC_RELAXED);
        p->len = 0;
        p->flags = 0;
        p->time = 0;
        p->meta[0] = p->meta[1] = 0;
        p->next = NULL;
    }
    return p;
}

cc_pkt *cc_pkt_ref(cc_pkt *p)
{
    __atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
    return p;
}

void cc_pkt_unref(cc_pkt *p)
{
    if (!p)
        return;
    if (__atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    cc_pkt_pool *pool = p->pool;
    cc_pkt_chunk *c = p->chunk, *drop = NULL;
    pthread_mutex_lock(&pool->lock);
    p->next = c->free_list;
    c->free_list = p;
    pool->in_use--;
    if (c->n_free++ == 0)
        avail_push_tail(pool, c); /* allocations come from the head: the
                                   * chunks that filled first, so the later
                                   * ones drain and can go back */
    if (pool->growable && c->n_free == c->n && pool->spare != c) {
        avail_remove(pool, c);
        if (!pool->spare) {
            pool->spare = c;          /* allocated from last */
            avail_push_tail(pool, c);
        } else {
            all_remove(pool, c);
            pool->capacity -= c->n;
            pool->chunks--;
            pool->chunks_unmapped++;
            drop = c;
        }
    }
    pthread_mutex_unlock(&pool->lock);
    if (drop)
        chunk_free(drop);
}

void cc_pkt_pool_get_stats(cc_pkt_pool *pool, cc_pkt_pool_stats *out)
{
    pthread_mutex_lock(&pool->lock);
    out->allocs = pool->allocs;
    out->exhausted = pool->exhausted;
    out->capacity = pool->capacity;
    out->in_use = pool->in_use;
    out->max = pool->max;
    out->chunks = pool->chunks;
    out->chunks_mapped = pool->chunks_mapped;
    out->chunks_unmapped = pool->chunks_unmapped;
    pthread_mutex_unlock(&pool->lock);
}
