#include "classcast/pkt.h"

#include <pthread.h>
#include <stdlib.h>

#include "classcast/err.h"

struct cc_pkt_pool {
    pthread_mutex_t lock;
    cc_pkt *free_list;
    cc_pkt *slab;
    uint32_t capacity;
    uint32_t in_use;
    uint64_t allocs;
    uint64_t exhausted;
};

int cc_pkt_pool_new(cc_pkt_pool **out, uint32_t capacity)
{
    *out = NULL;
    if (capacity == 0)
        return CC_EINVAL;
    cc_pkt_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return CC_ENOMEM;
    /* One slab up front: the packet path never calls malloc. */
    pool->slab = calloc(capacity, sizeof(cc_pkt));
    if (!pool->slab) {
        free(pool);
        return CC_ENOMEM;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pool->capacity = capacity;
    for (uint32_t i = capacity; i-- > 0;) {
        pool->slab[i].pool = pool;
        pool->slab[i].next = pool->free_list;
        pool->free_list = &pool->slab[i];
    }
    *out = pool;
    return 0;
}

void cc_pkt_pool_free(cc_pkt_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_destroy(&pool->lock);
    free(pool->slab);
    free(pool);
}

cc_pkt *cc_pkt_alloc(cc_pkt_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    cc_pkt *p = pool->free_list;
    if (p) {
        pool->free_list = p->next;
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
    pthread_mutex_lock(&pool->lock);
    p->next = pool->free_list;
    pool->free_list = p;
    pool->in_use--;
    pthread_mutex_unlock(&pool->lock);
}

void cc_pkt_pool_get_stats(cc_pkt_pool *pool, cc_pkt_pool_stats *out)
{
    pthread_mutex_lock(&pool->lock);
    out->allocs = pool->allocs;
    out->exhausted = pool->exhausted;
    out->capacity = pool->capacity;
    out->in_use = pool->in_use;
    pthread_mutex_unlock(&pool->lock);
}
