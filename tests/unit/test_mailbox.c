/* Mailbox: order, wakeup through the eventfd, cross-thread posting, close. */
#include "cc_test.h"
#include "classcast/err.h"
#include "classcast/mailbox.h"
#include "classcast/pkt.h"

#include <poll.h>
#include <pthread.h>

typedef struct num_msg {
    cc_msg hdr;
    int value;
} num_msg;

static num_msg *make(int v)
{
    num_msg *m = calloc(1, sizeof *m);
    m->hdr.type = 1;
    m->value = v;
    return m;
}

static void *poster(void *arg)
{
    cc_mailbox *mb = arg;
    for (int i = 0; i < 10000; i++)
        cc_mailbox_post(mb, &make(i)->hdr);
    return NULL;
}

static void test_order_and_threads(void)
{
    cc_mailbox *mb;
    CC_CHECK_EQ(cc_mailbox_new(&mb), 0);
    struct pollfd p = {.fd = cc_mailbox_fd(mb), .events = POLLIN};
    CC_CHECK_EQ(poll(&p, 1, 0), 0); /* nothing yet */
    pthread_t t;
    pthread_create(&t, NULL, poster, mb);
    int next = 0, bad_order = 0;
    for (int spins = 0; spins < 100000 && next < 10000; spins++) {
        if (poll(&p, 1, 1000) <= 0)
            break;
        for (cc_msg *m = cc_mailbox_drain(mb); m;) {
            cc_msg *n = m->next;
            if (((num_msg *)m)->value != next)
                bad_order++;
            next++;
            cc_msg_free(m);
            m = n;
        }
    }
    pthread_join(t, NULL);
    CC_CHECK_EQ(next, 10000);
    CC_CHECK_EQ(bad_order, 0);
    cc_mailbox_close(mb);
    num_msg *late = make(1);
    CC_CHECK_EQ(cc_mailbox_post(mb, &late->hdr), CC_ECLOSED);
    free(late);
    cc_mailbox_free(mb);
}

static void test_free_undelivered(void)
{
    cc_mailbox *mb;
    CC_CHECK_EQ(cc_mailbox_new(&mb), 0);
    CC_CHECK_EQ(cc_mailbox_pending(mb), 0);
    for (int i = 0; i < 5; i++)
        cc_mailbox_post(mb, &make(i)->hdr);
    CC_CHECK_EQ(cc_mailbox_pending(mb), 1);
    cc_msg *m = cc_mailbox_drain(mb);
    CC_CHECK_EQ(cc_mailbox_pending(mb), 0);
    while (m) {
        cc_msg *n = m->next;
        cc_msg_free(m);
        m = n;
    }
    for (int i = 0; i < 5; i++)
        cc_mailbox_post(mb, &make(i)->hdr);
    cc_mailbox_free(mb); /* LeakSanitizer checks these were freed */
}

static void test_pkt_pool(void)
{
    cc_pkt_pool *pool;
    CC_CHECK_EQ(cc_pkt_pool_new(&pool, 2), 0);
    cc_pkt *a = cc_pkt_alloc(pool), *b = cc_pkt_alloc(pool);
    CC_CHECK(a && b && a != b);
    CC_CHECK(cc_pkt_alloc(pool) == NULL); /* exhausted, counted */
    cc_pkt_ref(a);
    cc_pkt_unref(a);
    cc_pkt_pool_stats st;
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.in_use, 2);
    CC_CHECK_EQ(st.exhausted, 1);
    cc_pkt_unref(a);
    cc_pkt_unref(b);
    cc_pkt_pool_get_stats(pool, &st);
    CC_CHECK_EQ(st.in_use, 0);
    CC_CHECK(cc_pkt_alloc(pool) != NULL);
    cc_pkt_pool_free(pool);
}

int main(void)
{
    CC_RUN(test_order_and_threads);
    CC_RUN(test_free_undelivered);
    CC_RUN(test_pkt_pool);
    CC_TEST_DONE();
}
