/* Real sockets on loopback: batch send to several destinations, batch
 * receive with source addresses, oversized datagrams reported truncated. */
#include "cc_test.h"
#include "classcast/clock.h"
#include "classcast/err.h"
#include "classcast/udp.h"

#include <poll.h>
#include <unistd.h>

static int wait_readable(cc_udp *u)
{
    struct pollfd p = {.fd = cc_udp_fd(u), .events = POLLIN};
    return poll(&p, 1, 2000);
}

/* Receive until `want` datagrams arrived or 2 s passed. */
static int recv_all(cc_udp *u, int want, int *counts, size_t *lens, int *trunc)
{
    int got = 0;
    for (int round = 0; round < 100 && got < want; round++) {
        if (wait_readable(u) <= 0)
            break;
        cc_udp_dgram *d;
        int n = cc_udp_recv(u, &d);
        for (int i = 0; i < n; i++) {
            if (d[i].len >= 1 && !d[i].truncated)
                counts[d[i].data[0]]++;
            lens[got] = d[i].len;
            trunc[got] = d[i].truncated;
            got++;
        }
    }
    return got;
}

static void test_batch(void)
{
    cc_addr any;
    cc_addr_from_string(&any, "127.0.0.1", 0);
    cc_udp *a = NULL, *b = NULL, *c = NULL;
    CC_CHECK_EQ(cc_udp_open(&a, &any), 0);
    CC_CHECK_EQ(cc_udp_open(&b, &any), 0);
    CC_CHECK_EQ(cc_udp_open(&c, &any), 0);
    if (!a || !b || !c)
        return;
    CC_CHECK(cc_addr_port(cc_udp_local(b)) != 0);
    /* 100 datagrams alternating between b and c: more than one batch. */
    for (int i = 0; i < 100; i++) {
        uint8_t *s = cc_udp_tx_slot(a);
        memset(s, 0, 1200);
        s[0] = (uint8_t)(i % 2);
        cc_udp_tx_commit(a, 1200, cc_udp_local(i % 2 ? c : b));
    }
    cc_udp_flush(a);
    const cc_udp_stats *st = cc_udp_get_stats(a);
    CC_CHECK_EQ(st->tx_packets, 100);
    CC_CHECK_EQ(st->tx_dropped, 0);
    CC_CHECK(st->tx_syscalls >= 2 && st->tx_syscalls <= 4);

    int counts[256] = {0}, trunc[128];
    size_t lens[128];
    CC_CHECK_EQ(recv_all(b, 50, counts, lens, trunc), 50);
    CC_CHECK_EQ(counts[0], 50);
    memset(counts, 0, sizeof counts);
    CC_CHECK_EQ(recv_all(c, 50, counts, lens, trunc), 50);
    CC_CHECK_EQ(counts[1], 50);

    /* Source address is reported. */
    uint8_t *s = cc_udp_tx_slot(a);
    s[0] = 7;
    cc_udp_tx_commit(a, 1, cc_udp_local(b));
    cc_udp_flush(a);
    wait_readable(b);
    cc_udp_dgram *d;
    CC_CHECK_EQ(cc_udp_recv(b, &d), 1);
    CC_CHECK(cc_addr_equal(&d[0].from, cc_udp_local(a)));
    CC_CHECK_EQ(d[0].len, 1);
    /* Nothing waiting: 0, not an error. */
    CC_CHECK_EQ(cc_udp_recv(b, &d), 0);

    cc_udp_close(a);
    cc_udp_close(b);
    cc_udp_close(c);
}

/* Receive times: a datagram that waited 50 ms in the socket says when it
 * came, not when it was read; a plain socket gives none. */
static void test_rx_timestamps(void)
{
    cc_addr any;
    cc_addr_from_string(&any, "127.0.0.1", 0);
    cc_udp *a = NULL, *b = NULL;
    CC_CHECK_EQ(cc_udp_open(&a, &any), 0);
    CC_CHECK_EQ(cc_udp_open(&b, &any), 0);
    if (!a || !b)
        return;
    for (int on = 0; on < 2; on++) {
        if (on)
            CC_CHECK_EQ(cc_udp_rx_timestamps(b), 0);
        usleep(20000); /* the kernel turns stamping on in deferred work */
        int64_t sent_ns = cc_clock_wall_us() * 1000;
        uint8_t *slot = cc_udp_tx_slot(a);
        slot[0] = 7;
        cc_udp_tx_commit(a, 100, cc_udp_local(b));
        cc_udp_flush(a);
        usleep(50000);
        CC_CHECK(wait_readable(b) > 0);
        cc_udp_dgram *d;
        CC_CHECK_EQ(cc_udp_recv(b, &d), 1);
        int64_t read_ns = cc_clock_wall_us() * 1000;
        if (!on) {
            CC_CHECK_EQ(d[0].rx_realtime_ns, 0);
            continue;
        }
        printf("received %.1f ms after the send, read %.1f ms after it\n",
               (d[0].rx_realtime_ns - sent_ns) / 1e6, (read_ns - d[0].rx_realtime_ns) / 1e6);
        CC_CHECK(d[0].rx_realtime_ns >= sent_ns - 1000000);
        CC_CHECK(read_ns - d[0].rx_realtime_ns >= 45000000);
    }
    cc_udp_close(a);
    cc_udp_close(b);
}

static void test_truncated(void)
{
    cc_addr any;
    cc_addr_from_string(&any, "127.0.0.1", 0);
    cc_udp *r = NULL;
    CC_CHECK_EQ(cc_udp_open(&r, &any), 0);
    if (!r)
        return;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    static uint8_t big[65000];
    const cc_addr *to = cc_udp_local(r);
    CC_CHECK(sendto(fd, big, sizeof big, 0, &to->u.sa, to->len) == (ssize_t)sizeof big);
    CC_CHECK(wait_readable(r) > 0);
    cc_udp_dgram *d;
    CC_CHECK_EQ(cc_udp_recv(r, &d), 1);
    CC_CHECK(d[0].truncated);
    CC_CHECK_EQ(cc_udp_get_stats(r)->rx_truncated, 1);
    close(fd);
    cc_udp_close(r);
}

static void test_bad_destination(void)
{
    cc_addr any, none;
    cc_addr_from_string(&any, "127.0.0.1", 0);
    memset(&none, 0, sizeof none);
    cc_udp *u = NULL;
    CC_CHECK_EQ(cc_udp_open(&u, &any), 0);
    if (!u)
        return;
    cc_udp_tx_slot(u);
    cc_udp_tx_commit(u, 10, &none);     /* no address: dropped, counted */
    cc_udp_tx_slot(u);
    cc_udp_tx_commit(u, 0, cc_udp_local(u)); /* empty: dropped, counted */
    cc_udp_flush(u);
    CC_CHECK_EQ(cc_udp_get_stats(u)->tx_dropped, 2);
    cc_udp_close(u);
}

/* One socket, many local addresses: every address of 127.0.0.0/8 is local
 * on lo, so datagrams to 127.0.0.5 and 127.0.0.9 at the socket's port both
 * reach it and say which address they were for; replies leave from the
 * address asked for. */
static void test_multi(void)
{
    cc_addr lo, a5, a9;
    cc_addr_from_string(&lo, "127.0.0.1", 0);
    cc_udp *m = NULL, *x = NULL;
    CC_CHECK_EQ(cc_udp_open_multi(&m, &lo, 0), 0);
    CC_CHECK_EQ(cc_udp_open(&x, &lo), 0);
    if (!m || !x)
        return;
    uint16_t port = cc_addr_port(cc_udp_local(m));
    CC_CHECK(port != 0);
    cc_addr_from_string(&a5, "127.0.0.5", port);
    cc_addr_from_string(&a9, "127.0.0.9", port);
    for (int i = 0; i < 10; i++) {
        uint8_t *s = cc_udp_tx_slot(x);
        s[0] = (uint8_t)i;
        cc_udp_tx_commit(x, 1, i % 2 ? &a9 : &a5);
    }
    cc_udp_flush(x);
    int got = 0, ok = 0;
    for (int round = 0; round < 20 && got < 10; round++) {
        if (wait_readable(m) <= 0)
            break;
        cc_udp_dgram *d;
        int n = cc_udp_recv(m, &d);
        for (int i = 0; i < n; i++, got++)
            ok += d[i].len == 1 && cc_addr_equal(&d[i].to, d[i].data[0] % 2 ? &a9 : &a5) &&
                  cc_addr_equal(&d[i].from, cc_udp_local(x));
    }
    CC_CHECK_EQ(got, 10);
    CC_CHECK_EQ(ok, 10);
    /* A reply from 127.0.0.9 arrives from 127.0.0.9. */
    uint8_t *s = cc_udp_tx_slot(m);
    s[0] = 42;
    cc_udp_tx_commit_from(m, 1, cc_udp_local(x), &a9);
    cc_udp_flush(m);
    CC_CHECK(wait_readable(x) > 0);
    cc_udp_dgram *d;
    CC_CHECK_EQ(cc_udp_recv(x, &d), 1);
    CC_CHECK(cc_addr_equal(&d[0].from, &a9));
    CC_CHECK_EQ(d[0].to.len, 0); /* not a multi socket: no pktinfo */
    /* A source address that is not local: the kernel refuses it; the
     * datagram is dropped and counted, the next one goes. */
    cc_addr far;
    cc_addr_from_string(&far, "192.0.2.1", 0);
    cc_udp_tx_slot(m);
    cc_udp_tx_commit_from(m, 1, cc_udp_local(x), &far);
    s = cc_udp_tx_slot(m);
    s[0] = 43;
    cc_udp_tx_commit_from(m, 1, cc_udp_local(x), &a5);
    cc_udp_flush(m);
    CC_CHECK_EQ(cc_udp_get_stats(m)->tx_dropped, 1);
    CC_CHECK(wait_readable(x) > 0);
    CC_CHECK_EQ(cc_udp_recv(x, &d), 1);
    CC_CHECK(cc_addr_equal(&d[0].from, &a5));
    cc_udp_close(m);
    cc_udp_close(x);
}

int main(void)
{
    CC_RUN(test_multi);
    CC_RUN(test_batch);
    CC_RUN(test_truncated);
    CC_RUN(test_rx_timestamps);
    CC_RUN(test_bad_destination);
    CC_TEST_DONE();
}
