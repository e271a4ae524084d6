/* The SFU worker on its own, on a real loopback UDP port: mailbox posts and
 * calls run on the worker thread in posting order; events reach the
 * control mailbox and wake it; malformed datagrams sent with a real socket
 * (empty, first bytes outside RFC 7983 section 7's ranges, STUN for no
 * known ufrag, DTLS/RTP/RTCP from an unknown address, oversized) are each
 * counted in their own cc_worker_counters field and the worker keeps
 * answering; peers are added and removed through the API (duplicates and
 * bad fingerprints refused, app state always freed once); a check that
 * the worker reads before it has taken in its peer's add message is
 * answered; cc_worker_stop is prompt and frees what it did not run. Every
 * wait is bounded (2 s). */
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cc_test.h"
#include "classcast/clock.h"
#include "classcast/dtls.h"
#include "classcast/err.h"
#include "classcast/handshake.h"
#include "classcast/log.h"
#include "classcast/rtcp.h"
#include "classcast/rtp.h"
#include "classcast/stun.h"
#include "classcast/worker.h"

#define WAIT_US (2 * CC_USEC_PER_SEC)

static cc_dtls_ctx *g_srv_ctx, *g_brw_ctx;

/* Polls cond every millisecond for at most WAIT_US; returns cond. */
#define WAIT_FOR(cond)                                                         \
    ({                                                                         \
        cc_time_us wf__end = cc_clock_mono_us() + WAIT_US;                     \
        while (!(cond) && cc_clock_mono_us() < wf__end)                        \
            usleep(1000);                                                      \
        (cond);                                                                \
    })

static int g_wakes;
static void on_wake(void *ud)
{
    (void)ud;
    __atomic_add_fetch(&g_wakes, 1, __ATOMIC_RELAXED);
}

static cc_worker *start_worker(cc_mailbox *events)
{
    cc_worker *w = NULL;
    cc_worker_config wc = {.events = events, .wake = on_wake};
    cc_addr_from_string(&wc.bind, "127.0.0.1", 0);
    CC_CHECK_EQ(cc_worker_new(&w, &wc, g_srv_ctx), 0);
    if (w)
        CC_CHECK_EQ(cc_worker_start(w), 0);
    return w;
}

static cc_worker_counters counters(cc_worker *w)
{
    cc_worker_counters c;
    cc_worker_get_counters(w, &c);
    return c;
}

/* ------------------------------------------------------------ calls */

enum { N_CALLS = 2000 };
static int g_order[N_CALLS];
static int g_ran, g_freed;
static pthread_t g_threads[N_CALLS];

static void record(cc_worker *w, void *arg, cc_time_us now)
{
    (void)w;
    (void)now;
    int i = __atomic_load_n(&g_ran, __ATOMIC_RELAXED);
    if (i < N_CALLS) {
        g_order[i] = *(int *)arg;
        g_threads[i] = pthread_self();
    }
    __atomic_store_n(&g_ran, i + 1, __ATOMIC_RELEASE);
}

static void count_free(void *arg)
{
    free(arg);
    __atomic_add_fetch(&g_freed, 1, __ATOMIC_RELAXED);
}

static int *boxed(int v)
{
    int *p = malloc(sizeof *p);
    *p = v;
    return p;
}

/* A message of a type the worker does not know: freed, not run. */
static int g_odd_freed;
static void free_odd(cc_msg *m)
{
    free(m);
    __atomic_add_fetch(&g_odd_freed, 1, __ATOMIC_RELAXED);
}

static void test_calls_in_order(void)
{
    g_ran = g_freed = g_odd_freed = 0;
    cc_worker *w = start_worker(NULL);
    if (!w)
        return;
    for (int i = 0; i < N_CALLS; i++) {
        CC_CHECK_EQ(cc_worker_call(w, record, boxed(i), count_free), 0);
        if (i == N_CALLS / 2) {
            cc_msg *odd = calloc(1, sizeof *odd);
            odd->type = 999;
            odd->free_fn = free_odd;
            CC_CHECK_EQ(cc_worker_post(w, odd), 0);
        }
    }
    CC_CHECK(WAIT_FOR(__atomic_load_n(&g_ran, __ATOMIC_ACQUIRE) == N_CALLS));
    CC_CHECK(WAIT_FOR(__atomic_load_n(&g_freed, __ATOMIC_RELAXED) == N_CALLS));
    CC_CHECK(WAIT_FOR(__atomic_load_n(&g_odd_freed, __ATOMIC_RELAXED) == 1));
    int out_of_order = 0, wrong_thread = 0;
    for (int i = 0; i < g_ran && i < N_CALLS; i++) {
        out_of_order += g_order[i] != i;
        wrong_thread += !pthread_equal(g_threads[i], g_threads[0]) ||
                        pthread_equal(g_threads[i], pthread_self());
    }
    CC_CHECK_EQ(out_of_order, 0);
    CC_CHECK_EQ(wrong_thread, 0);
    cc_worker_stop(w);
    cc_worker_free(w);
}

/* ------------------------------------------------------------ events */

typedef struct ev_msg {
    cc_msg hdr;
    int value;
} ev_msg;

static void emit_one(cc_worker *w, void *arg, cc_time_us now)
{
    (void)now;
    ev_msg *m = calloc(1, sizeof *m);
    m->hdr.type = 4242;
    m->value = *(int *)arg;
    cc_worker_emit(w, &m->hdr);
}

static void test_events(void)
{
    cc_mailbox *events;
    CC_CHECK_EQ(cc_mailbox_new(&events), 0);
    g_wakes = 0;
    cc_worker *w = start_worker(events);
    if (!w)
        return;
    for (int i = 0; i < 3; i++)
        CC_CHECK_EQ(cc_worker_call(w, emit_one, boxed(10 + i), free), 0);
    /* The control thread polls the mailbox fd (and is woken). */
    struct pollfd p = {.fd = cc_mailbox_fd(events), .events = POLLIN};
    CC_CHECK(poll(&p, 1, 2000) == 1);
    int got = 0, next = 10, bad = 0;
    cc_time_us end = cc_clock_mono_us() + WAIT_US;
    while (got < 3 && cc_clock_mono_us() < end) {
        for (cc_msg *m = cc_mailbox_drain(events); m;) {
            cc_msg *n = m->next;
            bad += m->type != 4242 || ((ev_msg *)m)->value != next++;
            got++;
            cc_msg_free(m);
            m = n;
        }
        if (got < 3)
            poll(&p, 1, 100);
    }
    CC_CHECK_EQ(got, 3);
    CC_CHECK_EQ(bad, 0);
    /* emit posts, then wakes: the last wake may trail the last message. */
    CC_CHECK(WAIT_FOR(__atomic_load_n(&g_wakes, __ATOMIC_RELAXED) >= 3));
    /* The control side is shutting down (its mailbox closed): an event
     * is freed by the worker, and nobody is woken for it. */
    cc_mailbox_close(events);
    int wakes = __atomic_load_n(&g_wakes, __ATOMIC_RELAXED);
    g_ran = 0;
    CC_CHECK_EQ(cc_worker_call(w, emit_one, boxed(99), free), 0);
    CC_CHECK_EQ(cc_worker_call(w, record, boxed(0), free), 0);
    CC_CHECK(WAIT_FOR(__atomic_load_n(&g_ran, __ATOMIC_ACQUIRE) == 1));
    CC_CHECK_EQ(__atomic_load_n(&g_wakes, __ATOMIC_RELAXED), wakes);
    CC_CHECK(cc_mailbox_drain(events) == NULL);
    cc_worker_stop(w);
    cc_worker_free(w);
    cc_mailbox_free(events);

    /* No event sink: emit frees the message (LeakSanitizer checks). */
    w = start_worker(NULL);
    if (!w)
        return;
    g_ran = 0;
    CC_CHECK_EQ(cc_worker_call(w, emit_one, boxed(1), free), 0);
    CC_CHECK_EQ(cc_worker_call(w, record, boxed(0), free), 0);
    CC_CHECK(WAIT_FOR(__atomic_load_n(&g_ran, __ATOMIC_ACQUIRE) == 1));
    cc_worker_stop(w);
    cc_worker_free(w);
}

/* ------------------------------------------------------------ peers */

typedef struct app_state {
    int magic;
} app_state;

static int g_closed, g_state_freed;

static void app_closed(cc_worker *w, cc_wpeer *wp)
{
    (void)w;
    app_state *s = cc_wpeer_app_state(wp);
    if (s && s->magic == 0x5eed)
        __atomic_add_fetch(&g_closed, 1, __ATOMIC_RELAXED);
    free(s);
    __atomic_add_fetch(&g_state_freed, 1, __ATOMIC_RELAXED);
}

static void free_state(void *s)
{
    free(s);
    __atomic_add_fetch(&g_state_freed, 1, __ATOMIC_RELAXED);
}

static const cc_worker_app g_app = {.on_closed = app_closed};

#define PWD "workerpasswordworkerpass"
#define B_UFRAG "brw1"

static cc_worker_msg_add *add_msg(const char *ufrag, const char *fp)
{
    cc_worker_msg_add *m = cc_worker_msg_add_new();
    snprintf(m->local_ufrag, sizeof m->local_ufrag, "%s", ufrag);
    snprintf(m->local_pwd, sizeof m->local_pwd, "%s", PWD);
    snprintf(m->remote_ufrag, sizeof m->remote_ufrag, "%s", B_UFRAG);
    snprintf(m->remote_pwd, sizeof m->remote_pwd, "browserpasswordbrowser01");
    snprintf(m->fp_alg, sizeof m->fp_alg, "sha-256");
    snprintf(m->fp, sizeof m->fp, "%s", fp ? fp : cc_dtls_ctx_fingerprint(g_brw_ctx));
    m->app = &g_app;
    app_state *s = calloc(1, sizeof *s);
    s->magic = 0x5eed;
    m->app_state = s;
    m->free_app_state = free_state;
    return m;
}

/* What a call on the worker thread saw of a peer. */
typedef struct probe {
    char ufrag[32];
    int found;
    int state;
    int ufrag_ok;
} probe;
static probe g_probe;
static int g_probed;

static void find(cc_worker *w, void *arg, cc_time_us now)
{
    (void)now;
    const char *u = arg;
    cc_wpeer *wp = cc_worker_find_peer(w, u);
    g_probe.found = wp != NULL;
    g_probe.ufrag_ok = wp && strcmp(cc_wpeer_ufrag(wp), u) == 0;
    g_probe.state = wp ? (int)cc_peer_get_state(cc_wpeer_peer(wp)) : -1;
    __atomic_add_fetch(&g_probed, 1, __ATOMIC_RELEASE);
}

static int probe_peer(cc_worker *w, const char *ufrag)
{
    int before = __atomic_load_n(&g_probed, __ATOMIC_ACQUIRE);
    CC_CHECK_EQ(cc_worker_call(w, find, strdup(ufrag), free), 0);
    CC_CHECK(WAIT_FOR(__atomic_load_n(&g_probed, __ATOMIC_ACQUIRE) > before));
    return g_probe.found;
}

static void close_it(cc_worker *w, void *arg, cc_time_us now)
{
    (void)now;
    cc_wpeer *wp = cc_worker_find_peer(w, arg);
    if (wp)
        cc_worker_close_peer(w, wp);
}

/* A client socket that talks to the worker. */
typedef struct client {
    int fd;
    cc_addr addr;
} client;

static void client_open(client *c)
{
    c->fd = socket(AF_INET, SOCK_DGRAM, 0);
    cc_addr_from_string(&c->addr, "127.0.0.1", 0);
    CC_CHECK_EQ(bind(c->fd, &c->addr.u.sa, c->addr.len), 0);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(c->fd, (struct sockaddr *)&ss, &sl);
    cc_addr_set(&c->addr, (struct sockaddr *)&ss, sl);
}

static void csend(client *c, cc_worker *w, const void *buf, size_t len)
{
    const cc_addr *to = cc_worker_local(w);
    CC_CHECK(sendto(c->fd, buf, len, 0, &to->u.sa, to->len) == (ssize_t)len);
}

static size_t binding(uint8_t *buf, size_t cap, const char *user, const char *pwd)
{
    static uint8_t n;
    uint8_t txid[12];
    for (int i = 0; i < 12; i++)
        txid[i] = (uint8_t)(n * 13 + i);
    n++;
    cc_stun_builder b;
    cc_stun_build_start(&b, buf, cap, CC_STUN_BINDING_REQUEST, txid);
    if (user)
        cc_stun_build_attr(&b, CC_STUN_ATTR_USERNAME, user, (uint16_t)strlen(user));
    cc_stun_build_u32(&b, CC_STUN_ATTR_PRIORITY, 2122260223u);
    cc_stun_build_u64(&b, CC_STUN_ATTR_ICE_CONTROLLING, 42);
    cc_stun_build_attr(&b, CC_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    cc_stun_build_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
    cc_stun_build_fingerprint(&b);
    size_t len = 0;
    cc_stun_build_finish(&b, &len);
    return len;
}

/* Waits for a Binding success from the worker; 1 if it came and its
 * XOR-MAPPED-ADDRESS is the client's own address (RFC 8489 section 14.2). */
static int expect_response(client *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    if (poll(&p, 1, 2000) != 1)
        return 0;
    uint8_t buf[1500];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    cc_stun_msg m;
    if (n <= 0 || cc_stun_parse(&m, buf, (size_t)n) != 0 ||
        m.type != CC_STUN_BINDING_SUCCESS)
        return 0;
    const cc_stun_attr *xa = cc_stun_find(&m, CC_STUN_ATTR_XOR_MAPPED_ADDRESS);
    cc_addr mapped;
    return xa && cc_stun_get_xor_address(&m, xa, &mapped) == 0 &&
           cc_addr_equal(&mapped, &c->addr) &&
           cc_stun_check_integrity(&m, (const uint8_t *)PWD, strlen(PWD)) == 0;
}

/* Nothing may come back for a dropped datagram (no reflection). */
static int silent(client *c, int ms)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    return poll(&p, 1, ms) == 0;
}

static void test_peers(void)
{
    g_closed = g_state_freed = 0;
    cc_worker *w = start_worker(NULL);
    if (!w)
        return;
    cc_worker_counters c0 = counters(w);
    CC_CHECK_EQ(cc_worker_post(w, &add_msg("wkpeer01", NULL)->hdr), 0);
    CC_CHECK(WAIT_FOR(cc_worker_peer_count(w) == 1));
    /* A call posted after the add sees the peer: one queue, one order. */
    CC_CHECK(probe_peer(w, "wkpeer01"));
    CC_CHECK(g_probe.ufrag_ok);
    CC_CHECK_EQ(g_probe.state, CC_PEER_NEW);
    CC_CHECK(!probe_peer(w, "nobody"));

    /* The same ufrag again: refused, its app state freed, not counted. */
    CC_CHECK_EQ(cc_worker_post(w, &add_msg("wkpeer01", NULL)->hdr), 0);
    CC_CHECK(WAIT_FOR(__atomic_load_n(&g_state_freed, __ATOMIC_RELAXED) == 1));
    /* A fingerprint that does not parse: no peer, app state freed. */
    CC_CHECK_EQ(cc_worker_post(w, &add_msg("wkpeer02", "ZZ:not:hex")->hdr), 0);
    CC_CHECK(WAIT_FOR(__atomic_load_n(&g_state_freed, __ATOMIC_RELAXED) == 2));
    CC_CHECK(!probe_peer(w, "wkpeer02"));
    CC_CHECK_EQ(cc_worker_peer_count(w), 1);
    CC_CHECK_EQ(counters(w).peers_added - c0.peers_added, 1);
    CC_CHECK_EQ(g_closed, 0);

    /* A browser's check is answered, and binds its address to the peer. */
    client b;
    client_open(&b);
    uint8_t buf[600];
    size_t len = binding(buf, sizeof buf, "wkpeer01:" B_UFRAG, PWD);
    csend(&b, w, buf, len);
    CC_CHECK(expect_response(&b));
    CC_CHECK(probe_peer(w, "wkpeer01"));
    CC_CHECK_EQ(g_probe.state, CC_PEER_CONNECTING);

    /* From the bound address: a wrong password, RTP before DTLS, and DTLS
     * that is not DTLS each land in their own counter. */
    cc_worker_counters c1 = counters(w);
    len = binding(buf, sizeof buf, "wkpeer01:" B_UFRAG, "wrongpasswordwrongpasswd");
    csend(&b, w, buf, len);
    uint8_t rtp[200];
    int h = cc_rtp_write_header(rtp, sizeof rtp, 96, 0, 1, 1, 0x1234);
    memset(rtp + h, 0, 100);
    csend(&b, w, rtp, (size_t)h + 100);
    uint8_t junk[40] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0x05, 0xdc};
    csend(&b, w, junk, sizeof junk);
    /* drops_total is the last thing a drop bumps: wait on it, not udp_rx. */
    CC_CHECK(WAIT_FOR(counters(w).drops_total - c1.drops_total >= 3));
    cc_worker_counters c2 = counters(w);
    CC_CHECK_EQ(c2.stun_bad_integrity - c1.stun_bad_integrity, 1);
    CC_CHECK_EQ(c2.media_before_keys - c1.media_before_keys, 1);
    CC_CHECK_EQ(c2.dtls_error - c1.dtls_error, 1);
    CC_CHECK_EQ(c2.drops_total - c1.drops_total, 3);
    CC_CHECK(silent(&b, 50));
    CC_CHECK(probe_peer(w, "wkpeer01"));
    CC_CHECK_EQ(g_probe.state, CC_PEER_CONNECTING);

    /* Removed through the API: its app state goes with it, once. */
    CC_CHECK_EQ(cc_worker_remove_peer(w, "wkpeer01"), 0);
    CC_CHECK(WAIT_FOR(cc_worker_peer_count(w) == 0));
    CC_CHECK(WAIT_FOR(__atomic_load_n(&g_closed, __ATOMIC_RELAXED) == 1));
    CC_CHECK_EQ(g_state_freed, 3);
    CC_CHECK(!probe_peer(w, "wkpeer01"));
    CC_CHECK_EQ(counters(w).peers_closed - c0.peers_closed, 1);
    /* Its address and ufrag are forgotten. */
    c1 = counters(w);
    csend(&b, w, rtp, (size_t)h + 100);
    len = binding(buf, sizeof buf, "wkpeer01:" B_UFRAG, PWD);
    csend(&b, w, buf, len);
    CC_CHECK(WAIT_FOR(counters(w).drops_total - c1.drops_total >= 2));
    c2 = counters(w);
    CC_CHECK_EQ(c2.rtp_no_peer - c1.rtp_no_peer, 1);
    CC_CHECK_EQ(c2.stun_no_peer - c1.stun_no_peer, 1);
    CC_CHECK(silent(&b, 50));
    /* Removing what is not there is harmless. */
    CC_CHECK_EQ(cc_worker_remove_peer(w, "wkpeer01"), 0);
    CC_CHECK_EQ(cc_worker_remove_peer(w, "never"), 0);

    /* Closed from the worker thread: gone by the next tick. */
    CC_CHECK_EQ(cc_worker_post(w, &add_msg("wkpeer03", NULL)->hdr), 0);
    CC_CHECK(WAIT_FOR(cc_worker_peer_count(w) == 1));
    CC_CHECK_EQ(cc_worker_call(w, close_it, strdup("wkpeer03"), free), 0);
    CC_CHECK(WAIT_FOR(cc_worker_peer_count(w) == 0));
    CC_CHECK(WAIT_FOR(__atomic_load_n(&g_closed, __ATOMIC_RELAXED) == 2));

    /* A peer still there at the end is freed by cc_worker_free. */
    CC_CHECK_EQ(cc_worker_post(w, &add_msg("wkpeer04", NULL)->hdr), 0);
    CC_CHECK(WAIT_FOR(cc_worker_peer_count(w) == 1));
    close(b.fd);
    cc_worker_stop(w);
    cc_worker_free(w);
    CC_CHECK_EQ(g_closed, 3);
    CC_CHECK_EQ(g_state_freed, 5);
}

/* ------------------------------------------------- handshake limit */

/* A browser's DTLS client on a client socket: sends its pending flight,
 * feeds what comes back for up to ms (answering it unless hold: then the
 * answer waits in d for the next round); returns how many datagrams came. */
static int dtls_round_hold(client *c, cc_worker *w, cc_dtls *d, int ms, int hold)
{
    uint8_t buf[2048];
    size_t len;
    while (cc_dtls_poll_output(d, buf, sizeof buf, &len) == 0)
        csend(c, w, buf, len);
    int got = 0;
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    while (poll(&p, 1, ms) == 1) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        got++;
        cc_dtls_handle_input(d, buf, (size_t)n, cc_clock_mono_us());
        while (!hold && cc_dtls_poll_output(d, buf, sizeof buf, &len) == 0)
            csend(c, w, buf, len);
        ms = 50;
    }
    return got;
}

static int dtls_round(client *c, cc_worker *w, cc_dtls *d, int ms)
{
    return dtls_round_hold(c, w, d, ms, 0);
}

/* max_handshakes 1: while one peer's handshake runs, a second peer's
 * ClientHello is dropped and counted (dtls_busy) and nothing answers it;
 * once the first is connected its slot is free and the second one's
 * resent ClientHello goes through. */
static void handshake_limit(cc_hs *hs)
{
    cc_worker *w = NULL;
    cc_worker_config wc = {.max_handshakes = 1, .hs = hs};
    cc_addr_from_string(&wc.bind, "127.0.0.1", 0);
    CC_CHECK_EQ(cc_worker_new(&w, &wc, g_srv_ctx), 0);
    if (!w || cc_worker_start(w) != 0)
        return;
    client a, b;
    client_open(&a);
    client_open(&b);
    CC_CHECK_EQ(cc_worker_post(w, &add_msg("hspeer01", NULL)->hdr), 0);
    CC_CHECK_EQ(cc_worker_post(w, &add_msg("hspeer02", NULL)->hdr), 0);
    CC_CHECK(WAIT_FOR(cc_worker_peer_count(w) == 2));
    uint8_t buf[600];
    size_t len = binding(buf, sizeof buf, "hspeer01:" B_UFRAG, PWD);
    csend(&a, w, buf, len);
    CC_CHECK(expect_response(&a));
    len = binding(buf, sizeof buf, "hspeer02:" B_UFRAG, PWD);
    csend(&b, w, buf, len);
    CC_CHECK(expect_response(&b));

    cc_dtls *da = NULL, *db = NULL;
    CC_CHECK_EQ(cc_dtls_new(&da, g_brw_ctx, 0, "sha-256", cc_dtls_ctx_fingerprint(g_srv_ctx)), 0);
    CC_CHECK_EQ(cc_dtls_new(&db, g_brw_ctx, 0, "sha-256", cc_dtls_ctx_fingerprint(g_srv_ctx)), 0);
    if (!da || !db)
        goto out;
    cc_dtls_start(da, cc_clock_mono_us());
    cc_dtls_start(db, cc_clock_mono_us());
    /* A's ClientHello takes the one slot: the server answers (A holds its
     * next flight, so its handshake is still running). */
    CC_CHECK(dtls_round_hold(&a, w, da, 1000, 1) > 0);
    CC_CHECK_EQ(counters(w).dtls_handshaking, 1);
    /* B's is dropped while A's handshake runs. */
    CC_CHECK_EQ(dtls_round(&b, w, db, 200), 0);
    CC_CHECK_EQ(counters(w).dtls_busy, 1);
    /* A finishes: its slot comes free. */
    for (int i = 0; i < 20 && cc_dtls_get_state(da) != CC_DTLS_CONNECTED; i++)
        dtls_round(&a, w, da, 100);
    CC_CHECK_EQ(cc_dtls_get_state(da), CC_DTLS_CONNECTED);
    CC_CHECK(WAIT_FOR(counters(w).dtls_handshaking == 0));
    /* B's ClientHello again (its own retransmission timer), now taken. */
    for (int i = 0; i < 40 && cc_dtls_get_state(db) != CC_DTLS_CONNECTED; i++) {
        cc_dtls_handle_timeout(db, cc_clock_mono_us());
        dtls_round(&b, w, db, 100);
    }
    CC_CHECK_EQ(cc_dtls_get_state(db), CC_DTLS_CONNECTED);
    CC_CHECK(WAIT_FOR(counters(w).dtls_handshaking == 0));
    CC_CHECK_EQ(counters(w).dtls_busy, 1);
out:
    cc_dtls_free(da);
    cc_dtls_free(db);
    close(a.fd);
    close(b.fd);
    cc_worker_stop(w);
    cc_worker_free(w);
}

static void test_handshake_limit(void) { handshake_limit(NULL); }

/* The same with the handshakes on the handshake thread (handshake.h), as
 * `classcast serve` runs them; and a browser whose certificate is not the
 * one its offer named: the handshake fails there, the peer fails here and
 * is closed (its app state freed). */
static void test_handshake_thread(void)
{
    cc_hs *hs = NULL;
    CC_CHECK_EQ(cc_hs_new(&hs, g_srv_ctx, 1, 0), 0);
    if (!hs || cc_hs_start(hs) != 0)
        return;
    handshake_limit(hs);
    cc_hs_stats st;
    cc_hs_get_stats(hs, &st);
    CC_CHECK_EQ(st.connected, 2);
    CC_CHECK_EQ(st.failed, 0);

    g_closed = g_state_freed = 0;
    cc_worker *w = NULL;
    cc_worker_config wc = {.hs = hs};
    cc_addr_from_string(&wc.bind, "127.0.0.1", 0);
    CC_CHECK_EQ(cc_worker_new(&w, &wc, g_srv_ctx), 0);
    if (!w || cc_worker_start(w) != 0)
        return;
    client a;
    client_open(&a);
    /* The offer names the server's certificate, not the browser's. */
    const char *wrong = cc_dtls_ctx_fingerprint(g_srv_ctx);
    CC_CHECK_EQ(cc_worker_post(w, &add_msg("hsbad001", wrong)->hdr), 0);
    CC_CHECK(WAIT_FOR(cc_worker_peer_count(w) == 1));
    uint8_t buf[600];
    size_t len = binding(buf, sizeof buf, "hsbad001:" B_UFRAG, PWD);
    csend(&a, w, buf, len);
    CC_CHECK(expect_response(&a));
    cc_dtls *da = NULL;
    CC_CHECK_EQ(cc_dtls_new(&da, g_brw_ctx, 0, "sha-256", cc_dtls_ctx_fingerprint(g_srv_ctx)), 0);
    cc_dtls_start(da, cc_clock_mono_us());
    for (int i = 0; i < 10 && cc_worker_peer_count(w) == 1; i++)
        dtls_round(&a, w, da, 100);
    CC_CHECK(WAIT_FOR(cc_worker_peer_count(w) == 0));
    CC_CHECK(WAIT_FOR(__atomic_load_n(&g_closed, __ATOMIC_RELAXED) == 1));
    CC_CHECK_EQ(g_state_freed, 1);
    cc_hs_get_stats(hs, &st);
    CC_CHECK_EQ(st.failed, 1);
    cc_dtls_free(da);
    close(a.fd);
    cc_worker_stop(w);
    cc_hs_stop(hs);
    cc_worker_free(w);
    cc_hs_get_stats(hs, &st);
    CC_CHECK_EQ(st.live, 0);
    cc_hs_free(hs);
}

/* ------------------------------------------------------- bad datagrams */

static void test_malformed(void)
{
    cc_worker *w = start_worker(NULL);
    if (!w)
        return;
    CC_CHECK_EQ(cc_worker_post(w, &add_msg("wkpeer05", NULL)->hdr), 0);
    CC_CHECK(WAIT_FOR(cc_worker_peer_count(w) == 1));
    client b, x;
    client_open(&b); /* the browser */
    client_open(&x); /* someone the worker has never heard from */
    cc_worker_counters c0 = counters(w);
    int sent = 0;

    /* Empty, and first bytes RFC 7983 section 7 gives to no protocol we
     * take: ZRTP (16-19), TURN channels (64-79), and the unassigned
     * 4-15, 80-127, 192-255. */
    csend(&x, w, "", 0), sent++;
    static const uint8_t firsts[] = {4, 15, 16, 19, 64, 79, 80, 127, 192, 255};
    for (size_t i = 0; i < sizeof firsts; i++) {
        uint8_t d[64];
        memset(d, 0xa5, sizeof d);
        d[0] = firsts[i];
        csend(&x, w, d, sizeof d), sent++;
    }
    int n_unknown = 1 + (int)sizeof firsts;

    /* STUN: malformed; for a ufrag nobody has; without USERNAME. */
    uint8_t s[32] = {0x00, 0x01, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef};
    csend(&x, w, s, 20), sent++;
    uint8_t buf[600];
    size_t len = binding(buf, sizeof buf, "stranger:" B_UFRAG, PWD);
    csend(&x, w, buf, len), sent++;
    len = binding(buf, sizeof buf, NULL, PWD);
    csend(&x, w, buf, len), sent++;

    /* DTLS, RTP and RTCP from an address no check has bound. */
    uint8_t junk[40] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0x05, 0xdc};
    csend(&x, w, junk, sizeof junk), sent++;
    uint8_t rtp[200];
    int h = cc_rtp_write_header(rtp, sizeof rtp, 96, 0, 1, 1, 0x1234);
    memset(rtp + h, 0, 100);
    csend(&x, w, rtp, (size_t)h + 100), sent++;
    int n = cc_rtcp_write_pli(rtp, sizeof rtp, 1, 2);
    csend(&x, w, rtp, (size_t)n), sent++;

    /* Larger than the receive buffer. */
    static uint8_t big[9000];
    big[0] = 0x80;
    csend(&x, w, big, sizeof big), sent++;

    CC_CHECK(WAIT_FOR(counters(w).drops_total - c0.drops_total >= (uint64_t)sent));
    cc_worker_counters c = counters(w);
    CC_CHECK_EQ(c.udp_rx - c0.udp_rx, sent);
    CC_CHECK_EQ(c.demux_unknown - c0.demux_unknown, n_unknown);
    CC_CHECK_EQ(c.stun_malformed - c0.stun_malformed, 1);
    CC_CHECK_EQ(c.stun_no_peer - c0.stun_no_peer, 2);
    CC_CHECK_EQ(c.dtls_no_peer - c0.dtls_no_peer, 1);
    CC_CHECK_EQ(c.rtp_no_peer - c0.rtp_no_peer, 1);
    CC_CHECK_EQ(c.rtcp_no_peer - c0.rtcp_no_peer, 1);
    CC_CHECK_EQ(c.udp_rx_truncated - c0.udp_rx_truncated, 1);
    CC_CHECK_EQ(c.drops_total - c0.drops_total, sent);
    CC_CHECK_EQ(c.stun_bad_integrity - c0.stun_bad_integrity, 0);
    CC_CHECK_EQ(c.udp_tx - c0.udp_tx, 0); /* nothing answered any of it */
    CC_CHECK(silent(&x, 50));

    /* Still serving: the browser's check is answered, a call runs. */
    len = binding(buf, sizeof buf, "wkpeer05:" B_UFRAG, PWD);
    csend(&b, w, buf, len);
    CC_CHECK(expect_response(&b));
    CC_CHECK(probe_peer(w, "wkpeer05"));
    CC_CHECK_EQ(g_probe.state, CC_PEER_CONNECTING);
    close(b.fd);
    close(x.fd);
    cc_worker_stop(w);
    cc_worker_free(w);
}

/* ------------------------------------------------------------ stop */

static void slow(cc_worker *w, void *arg, cc_time_us now)
{
    (void)w;
    (void)arg;
    (void)now;
    __atomic_add_fetch(&g_ran, 1, __ATOMIC_RELAXED);
}

static void test_stop(void)
{
    g_ran = g_freed = 0;
    g_closed = g_state_freed = 0;
    cc_worker *w = start_worker(NULL);
    if (!w)
        return;
    CC_CHECK_EQ(cc_worker_post(w, &add_msg("wkpeer06", NULL)->hdr), 0);
    CC_CHECK(WAIT_FOR(cc_worker_peer_count(w) == 1));
    /* Calls still queued when the stop comes: each arg freed exactly once,
     * whether it ran or not. */
    for (int i = 0; i < 500; i++)
        CC_CHECK_EQ(cc_worker_call(w, slow, boxed(i), count_free), 0);
    cc_time_us t0 = cc_clock_mono_us();
    cc_worker_stop(w);
    cc_time_us took = cc_clock_mono_us() - t0;
    /* Woken by the mailbox, not by epoll's 1 s timeout. */
    CC_CHECK(took < 800 * CC_USEC_PER_MSEC);
    /* Stopped: posts are refused and the caller's things are freed. */
    int before = __atomic_load_n(&g_freed, __ATOMIC_RELAXED);
    CC_CHECK_EQ(cc_worker_call(w, slow, boxed(1), count_free), CC_ECLOSED);
    CC_CHECK_EQ(__atomic_load_n(&g_freed, __ATOMIC_RELAXED), before + 1);
    cc_worker_msg_add *m = add_msg("wkpeer07", NULL);
    CC_CHECK_EQ(cc_worker_post(w, &m->hdr), CC_ECLOSED);
    cc_msg_free(&m->hdr); /* still ours: its app state goes with it */
    CC_CHECK_EQ(g_state_freed, 1);
    CC_CHECK_EQ(cc_worker_remove_peer(w, "wkpeer06"), CC_ECLOSED);
    cc_worker_stop(w); /* twice is harmless */
    int ran = __atomic_load_n(&g_ran, __ATOMIC_RELAXED);
    cc_worker_free(w);
    CC_CHECK(ran <= 500);
    CC_CHECK_EQ(g_freed, 501);
    CC_CHECK_EQ(g_closed, 1); /* the peer left at stop */
    CC_CHECK_EQ(g_state_freed, 2);

    /* A worker never started frees cleanly too. */
    cc_worker *idle = NULL;
    cc_worker_config wc = {0};
    cc_addr_from_string(&wc.bind, "127.0.0.1", 0);
    CC_CHECK_EQ(cc_worker_new(&idle, &wc, g_srv_ctx), 0);
    cc_worker_stop(idle);
    cc_worker_free(idle);
    cc_worker_free(NULL);
}

/* ------------------------------------------------- a check before its add */

/* The worker is held inside the callback of a watched eventfd while a
 * browser's first check lands on its socket and then the peer's add
 * message in its mailbox: when it goes on, epoll hands it the socket
 * before the mailbox (ready in that order), as on a busy worker that reads
 * many batches between two looks at its mailbox. The check must be
 * answered, not dropped as a check for nobody. */
static int g_hold_fd = -1;
static int g_holding, g_release;

static void hold(cc_worker *w, void *ud, cc_time_us now)
{
    (void)w;
    (void)ud;
    (void)now;
    uint64_t v;
    ssize_t r = read(g_hold_fd, &v, sizeof v);
    (void)r;
    __atomic_store_n(&g_holding, 1, __ATOMIC_RELEASE);
    cc_time_us end = cc_clock_mono_us() + WAIT_US;
    while (!__atomic_load_n(&g_release, __ATOMIC_ACQUIRE) && cc_clock_mono_us() < end)
        usleep(1000);
}

static void watch_hold(cc_worker *w, void *arg, cc_time_us now)
{
    (void)now;
    if (arg)
        CC_CHECK_EQ(cc_worker_watch_fd(w, g_hold_fd, hold, NULL), 0);
    else
        cc_worker_unwatch_fd(w, g_hold_fd);
    __atomic_add_fetch(&g_ran, 1, __ATOMIC_RELEASE);
}

static void test_check_before_add(void)
{
    g_ran = g_holding = g_release = 0;
    g_closed = g_state_freed = 0;
    g_hold_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CC_CHECK(g_hold_fd >= 0);
    cc_worker *w = start_worker(NULL);
    if (!w || g_hold_fd < 0)
        return;
    static int on = 1;
    CC_CHECK_EQ(cc_worker_call(w, watch_hold, &on, NULL), 0);
    CC_CHECK(WAIT_FOR(__atomic_load_n(&g_ran, __ATOMIC_ACQUIRE) == 1));
    cc_worker_counters c0 = counters(w);
    uint64_t one = 1;
    CC_CHECK(write(g_hold_fd, &one, sizeof one) == sizeof one);
    CC_CHECK(WAIT_FOR(__atomic_load_n(&g_holding, __ATOMIC_ACQUIRE)));
    client b;
    client_open(&b);
    uint8_t buf[600];
    size_t len = binding(buf, sizeof buf, "wkearly1:" B_UFRAG, PWD);
    csend(&b, w, buf, len); /* on loopback: in the socket when sendto returns */
    CC_CHECK_EQ(cc_worker_post(w, &add_msg("wkearly1", NULL)->hdr), 0);
    __atomic_store_n(&g_release, 1, __ATOMIC_RELEASE);
    CC_CHECK(expect_response(&b));
    cc_worker_counters c1 = counters(w);
    CC_CHECK_EQ(c1.stun_no_peer - c0.stun_no_peer, 0);
    CC_CHECK_EQ(c1.peers_added - c0.peers_added, 1);
    /* A check for nobody is still dropped and counted. */
    len = binding(buf, sizeof buf, "nobody01:" B_UFRAG, PWD);
    csend(&b, w, buf, len);
    CC_CHECK(WAIT_FOR(counters(w).stun_no_peer - c0.stun_no_peer == 1));
    CC_CHECK(silent(&b, 50));
    CC_CHECK_EQ(cc_worker_call(w, watch_hold, NULL, NULL), 0);
    CC_CHECK(WAIT_FOR(__atomic_load_n(&g_ran, __ATOMIC_ACQUIRE) == 2));
    close(b.fd);
    cc_worker_free(w);
    close(g_hold_fd);
    g_hold_fd = -1;
    CC_CHECK_EQ(g_state_freed, 1); /* the peer's app state, at free */
}

int main(void)
{
    cc_log_set_level(CC_LOG_WARN);
    CC_CHECK_EQ(cc_dtls_ctx_new(&g_srv_ctx), 0);
    CC_CHECK_EQ(cc_dtls_ctx_new(&g_brw_ctx), 0);
    CC_RUN(test_calls_in_order);
    CC_RUN(test_events);
    CC_RUN(test_peers);
    CC_RUN(test_malformed);
    CC_RUN(test_handshake_limit);
    CC_RUN(test_handshake_thread);
    CC_RUN(test_check_before_add);
    CC_RUN(test_stop);
    cc_dtls_ctx_free(g_srv_ctx);
    cc_dtls_ctx_free(g_brw_ctx);
    CC_TEST_DONE();
}
