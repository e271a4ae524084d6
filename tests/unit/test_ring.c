/* SPSC ring: order, full/empty, and a two-thread run of a million items
 * where every item must arrive once and in order. */
#include <pthread.h>

#include "cc_test.h"
#include "classcast/err.h"
#include "classcast/ring.h"

static void test_basic(void)
{
    cc_ring *r;
    CC_CHECK_EQ(cc_ring_new(&r, 3), 0);
    CC_CHECK_EQ(cc_ring_capacity(r), 4);
    CC_CHECK(cc_ring_pop(r) == NULL);
    uintptr_t v;
    for (v = 1; v <= 4; v++)
        CC_CHECK_EQ(cc_ring_push(r, (void *)v), 0);
    CC_CHECK_EQ(cc_ring_push(r, (void *)v), CC_EAGAIN); /* full */
    CC_CHECK_EQ(cc_ring_count(r), 4);
    for (v = 1; v <= 4; v++)
        CC_CHECK_EQ((uintptr_t)cc_ring_pop(r), v);
    CC_CHECK(cc_ring_pop(r) == NULL);
    CC_CHECK_EQ(cc_ring_new(&(cc_ring *){NULL}, 1), CC_EINVAL);
    cc_ring_free(r);
}

#define N_ITEMS 1000000u

static void *producer(void *arg)
{
    cc_ring *r = arg;
    for (uintptr_t v = 1; v <= N_ITEMS;) {
        if (cc_ring_push(r, (void *)v) == 0)
            v++;
    }
    return NULL;
}

static void test_threads(void)
{
    cc_ring *r;
    CC_CHECK_EQ(cc_ring_new(&r, 256), 0);
    pthread_t t;
    pthread_create(&t, NULL, producer, r);
    uintptr_t expect = 1;
    unsigned long bad = 0, spins = 0;
    while (expect <= N_ITEMS && spins < 2000000000ul) {
        void *p = cc_ring_pop(r);
        if (!p) {
            spins++;
            continue;
        }
        if ((uintptr_t)p != expect)
            bad++;
        expect++;
    }
    pthread_join(t, NULL);
    CC_CHECK_EQ(expect, N_ITEMS + 1);
    CC_CHECK_EQ(bad, 0);
    cc_ring_free(r);
}

int main(void)
{
    CC_RUN(test_basic);
    CC_RUN(test_threads);
    CC_TEST_DONE();
}
