/* The DTLS handshake thread (see include/classcast/handshake.h). One
 * epoll loop over one eventfd the workers write after posting; sessions in
 * a hash table by (lane, id); OpenSSL's retransmission timers run from a
 * scan of the sessions' deadlines (a few hundred at the bell: cheaper than
 * a heap's bookkeeping, as in the worker). */
#include "classcast/handshake.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "classcast/clock.h"
#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/ring.h"

#define HS_BUCKETS 4096
/* A session nobody released (a worker that lost track of it) is dropped. */
#define HS_SESSION_MAX_US (120 * CC_USEC_PER_SEC)
/* Messages taken from one lane before the others get a turn. */
#define HS_BATCH 256

typedef struct hs_session {
    struct hs_session *next;
    int lane;
    uint32_t id;
    cc_dtls *dtls;
    int done;                /* keys handed over (or failed) */
    cc_time_us started, deadline;
} hs_session;

typedef struct hs_lane {
    cc_ring *in, *out;       /* worker -> us, us -> worker */
    int out_efd;             /* we write it after pushing results */
    int pushed;              /* results pushed since the last wake */
    cc_hs_msg *over_head, *over_tail; /* results the full out ring refused */
} hs_lane;

struct cc_hs {
    cc_dtls_ctx *ctx;
    int n_lanes;
    hs_lane lanes[CC_HS_MAX_LANES];
    int efd;                 /* workers write it after posting */
    int epfd;
    pthread_t thread;
    int running;
    int stop;                /* atomic */
    hs_session *buckets[HS_BUCKETS];
    cc_hs_stats st;
};

#define ST_ADD(h, f, n) __atomic_store_n(&(h)->st.f, (h)->st.f + (n), __ATOMIC_RELAXED)
#define ST_INC(h, f) ST_ADD(h, f, 1)

cc_hs_msg *cc_hs_msg_new(int kind, uint32_t id, size_t len)
{
    size_t size = offsetof(cc_hs_msg, u) + sizeof(((cc_hs_msg *)0)->u);
    if (kind == CC_HS_IN || kind == CC_HS_OUT) {
        if (len > CC_HS_MAX_DGRAM)
            return NULL;
        size = offsetof(cc_hs_msg, u) + len; /* datagrams: no more than needed */
    }
    cc_hs_msg *m = malloc(size);
    if (!m)
        return NULL;
    memset(m, 0, offsetof(cc_hs_msg, u));
    m->kind = (uint8_t)kind;
    m->id = id;
    m->len = (uint16_t)len;
    return m;
}

void cc_hs_msg_free(cc_hs_msg *m)
{
    if (!m)
        return;
    if (m->kind == CC_HS_KEYS) {
        volatile uint8_t *k = (volatile uint8_t *)&m->u.keys;
        for (size_t i = 0; i < sizeof m->u.keys; i++)
            k[i] = 0; /* no key copies left in freed memory */
    }
    free(m);
}

static void wake(int fd)
{
    uint64_t one = 1;
    ssize_t r = write(fd, &one, sizeof one);
    (void)r;
}

static void drain_fd(int fd)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
}

/* ---- worker side ---- */

int cc_hs_lane_fd(const cc_hs *h, int lane) { return h->lanes[lane].out_efd; }

int cc_hs_post(cc_hs *h, int lane, cc_hs_msg *m)
{
    if (cc_ring_push(h->lanes[lane].in, m) != 0) {
        cc_hs_msg_free(m);
        return CC_EAGAIN;
    }
    wake(h->efd);
    return 0;
}

cc_hs_msg *cc_hs_poll(cc_hs *h, int lane) { return cc_ring_pop(h->lanes[lane].out); }

/* ---- handshake thread ---- */

static uint32_t key_hash(int lane, uint32_t id)
{
    return ((uint32_t)lane * 2654435761u ^ id * 40503u) % HS_BUCKETS;
}

static hs_session *find(cc_hs *h, int lane, uint32_t id)
{
    for (hs_session *s = h->buckets[key_hash(lane, id)]; s; s = s->next)
        if (s->lane == lane && s->id == id)
            return s;
    return NULL;
}

static void session_free(cc_hs *h, hs_session *s)
{
    hs_session **pp = &h->buckets[key_hash(s->lane, s->id)];
    while (*pp && *pp != s)
        pp = &(*pp)->next;
    if (*pp)
        *pp = s->next;
    cc_dtls_free(s->dtls);
    free(s);
    ST_ADD(h, live, (uint64_t)-1);
}

/* A result for the worker: into its ring, or behind what is waiting. */
static void emit(cc_hs *h, int lane, cc_hs_msg *m)
{
    hs_lane *l = &h->lanes[lane];
    if (!l->over_head && cc_ring_push(l->out, m) == 0) {
        l->pushed = 1;
        return;
    }
    m->next = NULL;
    if (l->over_tail)
        l->over_tail->next = m;
    else
        l->over_head = m;
    l->over_tail = m;
}

static void flush_overflow(cc_hs *h, hs_lane *l)
{
    (void)h;
    while (l->over_head && cc_ring_push(l->out, l->over_head) == 0) {
        l->pushed = 1;
        l->over_head = l->over_head->next;
        if (!l->over_head)
            l->over_tail = NULL;
    }
}

static void fail(cc_hs *h, hs_session *s, const char *why)
{
    cc_hs_msg *m = cc_hs_msg_new(CC_HS_FAILED, s->id, 0);
    if (m) {
        snprintf(m->u.reason, sizeof m->u.reason, "%s", why);
        emit(h, s->lane, m);
    }
    ST_INC(h, failed);
    session_free(h, s);
}

/* After input or a timer: what OpenSSL wants sent, then the outcome.
 * 0, or -1 when the session failed and is gone. */
static int after(cc_hs *h, hs_session *s, cc_time_us now)
{
    for (;;) {
        cc_hs_msg *m = cc_hs_msg_new(CC_HS_OUT, s->id, CC_DTLS_MTU + 64);
        size_t len = 0;
        if (!m || cc_dtls_poll_output(s->dtls, m->u.data, CC_DTLS_MTU + 64, &len) != 0) {
            free(m);
            break;
        }
        m->len = (uint16_t)len;
        emit(h, s->lane, m);
        ST_INC(h, datagrams_out);
    }
    cc_dtls_state ds = cc_dtls_get_state(s->dtls);
    if (ds == CC_DTLS_FAILED || (ds == CC_DTLS_CLOSED && !s->done)) {
        fail(h, s, ds == CC_DTLS_FAILED ? cc_dtls_error(s->dtls) : "closed in the handshake");
        return -1;
    }
    if (ds == CC_DTLS_CONNECTED && !s->done) {
        cc_hs_msg *m = cc_hs_msg_new(CC_HS_KEYS, s->id, 0);
        if (!m || cc_dtls_get_srtp_keys(s->dtls, &m->u.keys) != 0) {
            cc_hs_msg_free(m);
            fail(h, s, "no SRTP keys");
            return -1;
        }
        s->done = 1;
        emit(h, s->lane, m);
        ST_INC(h, connected);
    }
    s->deadline = cc_dtls_deadline(s->dtls, now);
    return 0;
}

static void handle(cc_hs *h, int lane, cc_hs_msg *m, cc_time_us now)
{
    hs_session *s = find(h, lane, m->id);
    if (m->kind == CC_HS_START) {
        if (s)
            return; /* the worker starts a session once */
        s = calloc(1, sizeof *s);
        if (!s || cc_dtls_new(&s->dtls, h->ctx, 1, m->u.start.fp_alg, m->u.start.fp) != 0) {
            free(s);
            cc_hs_msg *f = cc_hs_msg_new(CC_HS_FAILED, m->id, 0);
            if (f) {
                snprintf(f->u.reason, sizeof f->u.reason, "no DTLS session (out of memory)");
                emit(h, lane, f);
            }
            ST_INC(h, failed);
            return;
        }
        s->lane = lane;
        s->id = m->id;
        s->started = now;
        s->deadline = CC_TIME_NEVER;
        uint32_t b = key_hash(lane, m->id);
        s->next = h->buckets[b];
        h->buckets[b] = s;
        ST_INC(h, sessions);
        ST_INC(h, live);
        return;
    }
    if (!s) {
        ST_INC(h, unknown);
        return;
    }
    if (m->kind == CC_HS_RELEASE) {
        ST_INC(h, released);
        session_free(h, s);
        return;
    }
    if (m->kind == CC_HS_IN) {
        ST_INC(h, datagrams_in);
        cc_time_us t0 = cc_clock_mono_us();
        cc_dtls_handle_input(s->dtls, m->u.data, m->len, now); /* the outcome: after() */
        after(h, s, now);
        ST_ADD(h, busy_us, (uint64_t)(cc_clock_mono_us() - t0));
    }
}

/* Retransmission timers and sessions past their time; the next deadline. */
static cc_time_us timers(cc_hs *h, cc_time_us now)
{
    cc_time_us next = CC_TIME_NEVER;
    for (int b = 0; b < HS_BUCKETS; b++) {
        hs_session *s = h->buckets[b], *n;
        for (; s; s = n) {
            n = s->next;
            if (now - s->started > HS_SESSION_MAX_US) {
                ST_INC(h, expired);
                if (s->done)
                    session_free(h, s);
                else
                    fail(h, s, "no handshake in 2 minutes");
                continue;
            }
            if (s->deadline <= now) {
                cc_dtls_handle_timeout(s->dtls, now);
                if (after(h, s, now) != 0)
                    continue; /* failed: gone */
            }
            if (s->deadline < next)
                next = s->deadline;
        }
    }
    return next;
}

static void *hs_main(void *arg)
{
    cc_hs *h = arg;
    cc_time_us next = CC_TIME_NEVER;
    while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
        cc_time_us now = cc_clock_mono_us();
        int timeout = 1000;
        if (next != CC_TIME_NEVER) {
            cc_time_us d = next - now;
            timeout = d <= 0 ? 0 : d >= 1000 * CC_USEC_PER_MSEC ? 1000 : (int)((d + 999) / 1000);
        }
        struct epoll_event ev;
        int n = epoll_wait(h->epfd, &ev, 1, timeout);
        if (n < 0 && errno != EINTR) {
            CC_ERROR("handshake", "epoll_wait: %s", strerror(errno));
            break;
        }
        if (n > 0)
            drain_fd(h->efd);
        now = cc_clock_mono_us();
        for (int round = 0; round < 64; round++) {
            int got = 0;
            for (int i = 0; i < h->n_lanes; i++) {
                cc_hs_msg *m;
                for (int k = 0; k < HS_BATCH && (m = cc_ring_pop(h->lanes[i].in)); k++) {
                    handle(h, i, m, now);
                    cc_hs_msg_free(m);
                    got++;
                }
            }
            if (!got)
                break;
            now = cc_clock_mono_us();
        }
        next = timers(h, now);
        for (int i = 0; i < h->n_lanes; i++) {
            hs_lane *l = &h->lanes[i];
            flush_overflow(h, l);
            if (l->pushed) {
                l->pushed = 0;
                wake(l->out_efd);
            }
            if (l->over_head && (next == CC_TIME_NEVER || next > now + 2 * CC_USEC_PER_MSEC))
                next = now + 2 * CC_USEC_PER_MSEC; /* try the full ring again soon */
        }
    }
    return NULL;
}

int cc_hs_new(cc_hs **out, cc_dtls_ctx *ctx, int lanes, size_t ring_cap)
{
    *out = NULL;
    if (!ctx || lanes < 1 || lanes > CC_HS_MAX_LANES)
        return CC_EINVAL;
    cc_hs *h = calloc(1, sizeof *h);
    if (!h)
        return CC_ENOMEM;
    h->ctx = ctx;
    h->n_lanes = lanes;
    h->efd = h->epfd = -1;
    for (int i = 0; i < CC_HS_MAX_LANES; i++)
        h->lanes[i].out_efd = -1;
    int rc = 0;
    for (int i = 0; i < lanes && rc == 0; i++) {
        hs_lane *l = &h->lanes[i];
        rc = cc_ring_new(&l->in, ring_cap ? ring_cap : 1024);
        if (rc == 0)
            rc = cc_ring_new(&l->out, ring_cap ? ring_cap : 1024);
        if (rc == 0 && (l->out_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
            rc = CC_EIO;
    }
    if (rc == 0) {
        h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        h->epfd = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = h->efd};
        if (h->efd < 0 || h->epfd < 0 || epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->efd, &ev) != 0)
            rc = CC_EIO;
    }
    if (rc != 0) {
        cc_hs_free(h);
        return rc;
    }
    *out = h;
    return 0;
}

int cc_hs_start(cc_hs *h)
{
    if (pthread_create(&h->thread, NULL, hs_main, h) != 0)
        return CC_EIO;
    h->running = 1;
    return 0;
}

void cc_hs_stop(cc_hs *h)
{
    if (!h || !h->running)
        return;
    __atomic_store_n(&h->stop, 1, __ATOMIC_RELEASE);
    wake(h->efd);
    pthread_join(h->thread, NULL);
    h->running = 0;
}

void cc_hs_free(cc_hs *h)
{
    if (!h)
        return;
    cc_hs_stop(h);
    for (int b = 0; b < HS_BUCKETS; b++)
        while (h->buckets[b])
            session_free(h, h->buckets[b]);
    for (int i = 0; i < CC_HS_MAX_LANES; i++) {
        hs_lane *l = &h->lanes[i];
        cc_hs_msg *m;
        while (l->in && (m = cc_ring_pop(l->in)))
            cc_hs_msg_free(m);
        while (l->out && (m = cc_ring_pop(l->out)))
            cc_hs_msg_free(m);
        while ((m = l->over_head)) {
            l->over_head = m->next;
            cc_hs_msg_free(m);
        }
        cc_ring_free(l->in);
        cc_ring_free(l->out);
        if (l->out_efd >= 0)
            close(l->out_efd);
    }
    if (h->efd >= 0)
        close(h->efd);
    if (h->epfd >= 0)
        close(h->epfd);
    free(h);
}

void cc_hs_get_stats(const cc_hs *h, cc_hs_stats *out)
{
#define LD(f) out->f = __atomic_load_n(&h->st.f, __ATOMIC_RELAXED)
    LD(sessions);
    LD(connected);
    LD(failed);
    LD(released);
    LD(expired);
    LD(datagrams_in);
    LD(datagrams_out);
    LD(unknown);
    LD(live);
    LD(busy_us);
#undef LD
}
