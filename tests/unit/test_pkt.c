/* Packet pool: refcounted buffers from one fixed slab. A packet comes out
 * fresh (refs 1, len 0, header fields cleared) whoever used it before; the
 * last unref returns it; an empty pool is an error (NULL) and a counted
 * drop, never growth; a stray extra unref does not put a buffer on the free
 * list twice (two owners of one buffer would corrupt each other's media);
 * threads that alloc, share and release concurrently never get the same
 * buffer at once. Run under the ASan build too: every buffer lives in the
 * slab, so leaks show as in_use != 0 and the pool frees in one piece. */
#include <pthread.h>

#include "cc_test.h"
#include "classcast/err.h"
#include "classcast/pkt.h"

static void test_new_errors(void)
{
    cc_pkt_pool *pool = (cc_pkt_pool *)1;
    CC_CHECK_EQ(cc_pkt_pool_new(&pool, 0), CC_EINVAL);
    CC_CHECK(pool == NULL);
    cc_pkt_pool_free(NULL); /* allowed, like free(NULL) */
    cc_pkt_unref(NULL);
}

static void test_alloc_ref_unref(void)
{
    cc_pkt_pool *pool;
    CC_CHECK_EQ(cc_pkt_pool_new(&pool, 4), 0);
    cc_pkt_pool_stats st;
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.capacity, 4);
    CC_CHECK_EQ(st.in_use, 0);
    CC_CHECK_EQ(st.allocs, 0);
    CC_CHECK_EQ(st.exhausted, 0);

    cc_pkt *p = cc_pkt_alloc(pool);
    CC_CHECK(p != NULL);
    if (!p)
        return;
    CC_CHECK_EQ(p->refs, 1);
    CC_CHECK_EQ(p->len, 0);
    CC_CHECK(p->pool == pool);
    /* A fan-out: three more owners; the buffer stays out until the last. */
    CC_CHECK(cc_pkt_ref(p) == p);
    cc_pkt_ref(p);
    cc_pkt_ref(p);
    CC_CHECK_EQ(p->refs, 4);
    for (int i = 0; i < 3; i++) {
        cc_pkt_unref(p);
        cc_pkt_pool_get_stats(pool, &st);
        CC_CHECK_EQ(st.in_use, 1);
    }
    CC_CHECK_EQ(p->refs, 1);
    cc_pkt_unref(p);
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.in_use, 0);
    CC_CHECK_EQ(st.allocs, 1);
    cc_pkt_pool_free(pool);
}

/* A recycled buffer comes back clean: the previous user's length, flags,
 * time and queue link must not leak into the next packet. */
static void test_recycled_is_fresh(void)
{
    cc_pkt_pool *pool;
    CC_CHECK_EQ(cc_pkt_pool_new(&pool, 1), 0);
    cc_pkt *a = cc_pkt_alloc(pool);
    CC_CHECK(a != NULL);
    if (!a)
        return;
    a->len = 1200;
    a->flags = 0xffff;
    a->time = 123456789;
    a->next = a;
    memset(a->data, 0xee, 1200);
    cc_pkt_unref(a);
    cc_pkt *b = cc_pkt_alloc(pool);
    CC_CHECK(b == a); /* capacity 1: the same buffer */
    if (b) {
        CC_CHECK_EQ(b->refs, 1);
        CC_CHECK_EQ(b->len, 0);
        CC_CHECK_EQ(b->flags, 0);
        CC_CHECK_EQ(b->time, 0);
        CC_CHECK(b->next == NULL);
        CC_CHECK(b->pool == pool);
        cc_pkt_unref(b);
    }
    cc_pkt_pool_free(pool);
}

static void test_exhaustion(void)
{
    enum { CAP = 8 };
    cc_pkt_pool *pool;
    CC_CHECK_EQ(cc_pkt_pool_new(&pool, CAP), 0);
    cc_pkt *held[CAP];
    for (int i = 0; i < CAP; i++) {
        held[i] = cc_pkt_alloc(pool);
        CC_CHECK(held[i] != NULL);
        for (int j = 0; j < i; j++)
            CC_CHECK(held[i] != held[j]);
    }
    /* Empty: NULL every time, each one counted, and the pool does not grow. */
    for (int i = 0; i < 3; i++)
        CC_CHECK(cc_pkt_alloc(pool) == NULL);
    cc_pkt_pool_stats st;
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.exhausted, 3);
    CC_CHECK_EQ(st.in_use, CAP);
    CC_CHECK_EQ(st.allocs, CAP);
    CC_CHECK_EQ(st.capacity, CAP);
    /* One back: one more alloc works, the next fails again. */
    cc_pkt_unref(held[3]);
    held[3] = cc_pkt_alloc(pool);
    CC_CHECK(held[3] != NULL);
    CC_CHECK(cc_pkt_alloc(pool) == NULL);
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.exhausted, 4);
    for (int i = 0; i < CAP; i++)
        cc_pkt_unref(held[i]);
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.in_use, 0);
    /* Buffers returned: many rounds through a small pool never run dry. */
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < CAP; i++)
            held[i] = cc_pkt_alloc(pool);
        int got = 0;
        for (int i = 0; i < CAP; i++)
            got += held[i] != NULL;
        CC_CHECK_EQ(got, CAP);
        for (int i = 0; i < CAP; i++)
            cc_pkt_unref(held[i]);
    }
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.in_use, 0);
    CC_CHECK_EQ(st.exhausted, 4);
    CC_CHECK_EQ(st.allocs, CAP + 1 + 100 * CAP);
    cc_pkt_pool_free(pool);
}

/* An extra unref of a buffer already back in the pool is a caller bug, but
 * it must not make the pool hand that buffer to two owners. */
static void test_extra_unref(void)
{
    enum { CAP = 4 };
    cc_pkt_pool *pool;
    CC_CHECK_EQ(cc_pkt_pool_new(&pool, CAP), 0);
    cc_pkt *p = cc_pkt_alloc(pool);
    CC_CHECK(p != NULL);
    if (!p)
        return;
    cc_pkt_unref(p);
    cc_pkt_unref(p); /* the stray one */
    cc_pkt_pool_stats st;
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.in_use, 0);
    cc_pkt *held[CAP];
    for (int i = 0; i < CAP; i++) {
        held[i] = cc_pkt_alloc(pool);
        CC_CHECK(held[i] != NULL);
        for (int j = 0; j < i; j++)
            CC_CHECK(held[i] != held[j]);
    }
    CC_CHECK(cc_pkt_alloc(pool) == NULL);
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.in_use, CAP);
    for (int i = 0; i < CAP; i++) {
        if (held[i]) {
            CC_CHECK_EQ(held[i]->refs, 1);
            cc_pkt_unref(held[i]);
        }
    }
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.in_use, 0);
    cc_pkt_pool_free(pool);
}

/* Several threads on one pool, as media threads and the worker share it:
 * each stamps the buffers it holds and checks the stamp is still its own
 * before letting go, and passes every other packet to a second reference
 * it drops later (the fan-out pattern). */
enum { THREADS = 4, PER_THREAD = 20000, POOL_CAP = 16 };
static cc_pkt_pool *g_pool;
static int g_clash[THREADS];
static int g_null[THREADS];

static void *hammer(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        cc_pkt *p = cc_pkt_alloc(g_pool);
        if (!p) {
            g_null[id]++;
            continue;
        }
        memset(p->data, id + 1, 64);
        p->len = (uint16_t)(id + 1);
        cc_pkt *extra = (i & 1) ? cc_pkt_ref(p) : NULL;
        for (int k = 0; k < 64; k++)
            if (p->data[k] != id + 1) {
                g_clash[id]++;
                break;
            }
        if (p->len != id + 1)
            g_clash[id]++;
        cc_pkt_unref(p);
        cc_pkt_unref(extra);
    }
    return NULL;
}

static void test_threads(void)
{
    CC_CHECK_EQ(cc_pkt_pool_new(&g_pool, POOL_CAP), 0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, hammer, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    int clashes = 0, nulls = 0;
    for (int i = 0; i < THREADS; i++) {
        clashes += g_clash[i];
        nulls += g_null[i];
    }
    CC_CHECK_EQ(clashes, 0);
    /* Each thread holds one buffer at a time: 16 are plenty for 4. */
    CC_CHECK_EQ(nulls, 0);
    cc_pkt_pool_stats st;
    cc_pkt_pool_get_stats(g_pool, &st);
    CC_CHECK_EQ(st.in_use, 0);
    CC_CHECK_EQ(st.allocs, THREADS * PER_THREAD);
    CC_CHECK_EQ(st.exhausted, 0);
    cc_pkt_pool_free(g_pool);
}

/* A growable pool maps chunks as packets are wanted, up to its ceiling,
 * and unmaps a chunk once all its packets are back, keeping one empty
 * chunk spare. */
static void test_growable(void)
{
    cc_pkt_pool *pool;
    CC_CHECK_EQ(cc_pkt_pool_new_growable(&pool, 0, 10), CC_EINVAL);
    CC_CHECK_EQ(cc_pkt_pool_new_growable(&pool, 8, 4), CC_EINVAL);
    CC_CHECK_EQ(cc_pkt_pool_new_growable(&pool, 8, 35), 0); /* 4 chunks */
    cc_pkt_pool_stats st;
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.capacity, 0);
    CC_CHECK_EQ(st.max, 32);
    cc_pkt *held[40];
    int n = 0;
    for (int i = 0; i < 40; i++) {
        cc_pkt *p = cc_pkt_alloc(pool);
        if (p) {
            CC_CHECK(p->pool == pool);
            held[n++] = p;
        }
    }
    CC_CHECK_EQ(n, 32);
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.capacity, 32);
    CC_CHECK_EQ(st.chunks, 4);
    CC_CHECK_EQ(st.exhausted, 8);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            CC_CHECK(held[i] != held[j]);
    /* Everything back: one chunk stays as the spare, the rest go. */
    for (int i = 0; i < n; i++)
        cc_pkt_unref(held[i]);
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.in_use, 0);
    CC_CHECK_EQ(st.chunks, 1);
    CC_CHECK_EQ(st.capacity, 8);
    CC_CHECK_EQ(st.chunks_unmapped, 3);
    /* A steady user of a few packets lives in the spare: no mapping. */
    for (int round = 0; round < 1000; round++) {
        cc_pkt *a = cc_pkt_alloc(pool), *b = cc_pkt_alloc(pool);
        CC_CHECK(a && b);
        cc_pkt_unref(a);
        cc_pkt_unref(b);
    }
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.chunks_mapped, 4);
    /* Packets held in a pattern that leaves every chunk partly used: the
     * chunks that fill last drain as the old packets go. */
    n = 0;
    for (int i = 0; i < 32; i++)
        held[n++] = cc_pkt_alloc(pool);
    for (int i = 0; i < 32; i += 2)
        cc_pkt_unref(held[i]); /* half of every chunk free */
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.chunks, 4);
    for (int i = 1; i < 32; i += 2)
        cc_pkt_unref(held[i]);
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.in_use, 0);
    CC_CHECK_EQ(st.chunks, 1);
    cc_pkt_pool_free(pool);
    /* Freed with packets out (a caller's leak): the slabs still go. */
    CC_CHECK_EQ(cc_pkt_pool_new_growable(&pool, 4, 8), 0);
    cc_pkt *p = cc_pkt_alloc(pool);
    CC_CHECK(p != NULL);
    cc_pkt_pool_free(pool);
}

int main(void)
{
    CC_RUN(test_new_errors);
    CC_RUN(test_alloc_ref_unref);
    CC_RUN(test_recycled_is_fresh);
    CC_RUN(test_exhaustion);
    CC_RUN(test_extra_unref);
    CC_RUN(test_threads);
    CC_RUN(test_growable);
    CC_TEST_DONE();
}
