/* The SFU worker loop (docs/ARCHITECTURE.md, "Threads"): epoll over the UDP
 * socket, a timerfd tick and the mailbox. Everything a peer owns is touched
 * only here, so forwarding takes no locks. */
#include "classcast/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <malloc.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "classcast/demux.h"
#include "classcast/err.h"
#include "classcast/handshake.h"
#include "classcast/log.h"
#include "classcast/sdp.h"
#include "classcast/stun.h"
#include "classcast/udp.h"

/* Lookup tables are chained hash tables with a fixed bucket count: a worker
 * holds a few thousand peers at most, each with a handful of addresses. */
#define CC_WORKER_BUCKETS 4096
#define CC_WPEER_MAX_ADDRS 8
/* Input batches handled before timers and the mailbox get a turn. */
#define CC_WORKER_RX_ROUNDS 16

struct cc_wpeer {
    cc_peer *peer;
    const cc_worker_app *app;
    void *app_state;
    char ufrag[CC_ICE_MAX_CRED];
    int connected_reported;
    int hs_slot;              /* holds one of max_handshakes (DTLS running) */
    cc_time_us deadline;
    cc_addr addrs[CC_WPEER_MAX_ADDRS];
    int n_addrs;
    cc_wpeer *next_all, *prev_all;
    cc_wpeer *next_ufrag;
    /* DTLS on the handshake thread (cfg.hs): */
    int hs_external;
    uint32_t hs_id;           /* the peer's name there */
    int hs_started, hs_released;
    cc_addr dtls_addr;        /* where its flights go: last DTLS source */
    char fp_alg[16], fp[160]; /* for the session start */
    cc_wpeer *next_id;
};

typedef struct addr_entry {
    cc_addr addr;
    cc_wpeer *wp;
    struct addr_entry *next;
} addr_entry;

struct cc_worker {
    cc_worker_config cfg;
    cc_dtls_ctx *dtls_ctx;
    cc_udp *udp;
    cc_mailbox *mb;
    int epfd, tfd;
    pthread_t thread;
    int running;
    int stop;
    cc_wpeer *all;
    cc_time_us rx_at; /* the datagram in hand's kernel receive time, 0: none */
    uint32_t n_peers;
    int handshakes;           /* peers holding a handshake slot */
    cc_wpeer *by_ufrag[CC_WORKER_BUCKETS];
    addr_entry *by_addr[CC_WORKER_BUCKETS];
    cc_wpeer *by_id[CC_WORKER_BUCKETS];  /* hs_id -> peer (cfg.hs) */
    uint32_t next_hs_id;
    cc_worker_counters c;
    uint64_t last_udp_tx, last_udp_tx_dropped;
    uint64_t seen_released, seen_closed; /* heap trim bookkeeping */
    cc_time_us last_free_at, last_trim, trim_pending_since;
    struct {
        int fd;
        cc_worker_fd_fn fn;
        void *ud;
    } watch[CC_WORKER_MAX_WATCH];
    int n_watch;
};

#define INC(w, field) __atomic_store_n(&(w)->c.field, (w)->c.field + 1, __ATOMIC_RELAXED)
#define DROP(w, field)                                                         \
    do {                                                                       \
        INC(w, field);                                                         \
        INC(w, drops_total);                                                   \
    } while (0)

static uint32_t str_hash(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

static cc_wpeer *find_ufrag(cc_worker *w, const char *ufrag)
{
    for (cc_wpeer *wp = w->by_ufrag[str_hash(ufrag) % CC_WORKER_BUCKETS]; wp;
         wp = wp->next_ufrag)
        if (strcmp(wp->ufrag, ufrag) == 0)
            return wp;
    return NULL;
}

static cc_wpeer *find_addr(cc_worker *w, const cc_addr *a)
{
    for (addr_entry *e = w->by_addr[cc_addr_hash(a) % CC_WORKER_BUCKETS]; e;
         e = e->next)
        if (cc_addr_equal(&e->addr, a))
            return e->wp;
    return NULL;
}

static void unbind_addr(cc_worker *w, const cc_addr *a)
{
    addr_entry **pp = &w->by_addr[cc_addr_hash(a) % CC_WORKER_BUCKETS];
    while (*pp) {
        if (cc_addr_equal(&(*pp)->addr, a)) {
            addr_entry *e = *pp;
            *pp = e->next;
            free(e);
            return;
        }
        pp = &(*pp)->next;
    }
}

/* Bind an address that passed an ICE check to the peer. An address moving
 * to another peer (a restarted browser reusing a port) is taken over. */
static void bind_addr(cc_worker *w, cc_wpeer *wp, const cc_addr *a)
{
    cc_wpeer *cur = find_addr(w, a);
    if (cur == wp)
        return;
    if (cur) {
        unbind_addr(w, a);
        for (int i = 0; i < cur->n_addrs; i++)
            if (cc_addr_equal(&cur->addrs[i], a)) {
                cur->addrs[i] = cur->addrs[--cur->n_addrs];
                break;
            }
    }
    if (wp->n_addrs == CC_WPEER_MAX_ADDRS) {
        unbind_addr(w, &wp->addrs[0]);
        memmove(wp->addrs, wp->addrs + 1, sizeof(cc_addr) * (CC_WPEER_MAX_ADDRS - 1));
        wp->n_addrs--;
    }
    addr_entry *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->addr = *a;
    e->wp = wp;
    uint32_t b = cc_addr_hash(a) % CC_WORKER_BUCKETS;
    e->next = w->by_addr[b];
    w->by_addr[b] = e;
    wp->addrs[wp->n_addrs++] = *a;
}


/* DTLS handshakes at once (max_handshakes): each costs a signature and a
 * key exchange, and a thousand students pressing Join at the bell would
 * otherwise make every one of them slow. A peer takes a slot with its
 * first DTLS datagram and gives it back when it is connected, failed or
 * gone; while none is free, a ClientHello is dropped and counted
 * (dtls_busy), and the browser sends it again after its retransmission
 * timer (RFC 6347 section 4.2.4), by which time slots have come free. */
static void hs_release(cc_worker *w, cc_wpeer *wp)
{
    if (!wp->hs_slot)
        return;
    wp->hs_slot = 0;
    w->handshakes--;
    __atomic_store_n(&w->c.dtls_handshaking, (uint64_t)w->handshakes, __ATOMIC_RELAXED);
}

/* 1 if the peer may feed DTLS now. */
static int hs_take(cc_worker *w, cc_wpeer *wp)
{
    if (wp->hs_slot || cc_peer_get_state(wp->peer) != CC_PEER_CONNECTING)
        return 1;
    if (w->handshakes >= w->cfg.max_handshakes)
        return 0;
    wp->hs_slot = 1;
    w->handshakes++;
    __atomic_store_n(&w->c.dtls_handshaking, (uint64_t)w->handshakes, __ATOMIC_RELAXED);
    return 1;
}

static cc_wpeer *find_id(cc_worker *w, uint32_t id)
{
    for (cc_wpeer *wp = w->by_id[id % CC_WORKER_BUCKETS]; wp; wp = wp->next_id)
        if (wp->hs_id == id)
            return wp;
    return NULL;
}

/* Tell the handshake thread a session is over (once). */
static void hs_post_release(cc_worker *w, cc_wpeer *wp)
{
    if (!wp->hs_started || wp->hs_released)
        return;
    wp->hs_released = 1;
    cc_hs_msg *m = cc_hs_msg_new(CC_HS_RELEASE, wp->hs_id, 0);
    if (!m || cc_hs_post(w->cfg.hs, w->cfg.hs_lane, m) != 0)
        DROP(w, hs_queue_full); /* it expires there after 2 minutes */
}

static void remove_peer(cc_worker *w, cc_wpeer *wp)
{
    if (wp->app && wp->app->on_closed)
        wp->app->on_closed(w, wp);
    if (wp->hs_external) {
        hs_post_release(w, wp);
        cc_wpeer **pi = &w->by_id[wp->hs_id % CC_WORKER_BUCKETS];
        while (*pi && *pi != wp)
            pi = &(*pi)->next_id;
        if (*pi)
            *pi = wp->next_id;
    }
    for (int i = 0; i < wp->n_addrs; i++)
        unbind_addr(w, &wp->addrs[i]);
    cc_wpeer **pp = &w->by_ufrag[str_hash(wp->ufrag) % CC_WORKER_BUCKETS];
    while (*pp && *pp != wp)
        pp = &(*pp)->next_ufrag;
    if (*pp)
        *pp = wp->next_ufrag;
    if (wp->prev_all)
        wp->prev_all->next_all = wp->next_all;
    else
        w->all = wp->next_all;
    if (wp->next_all)
        wp->next_all->prev_all = wp->prev_all;
    CC_INFO("worker", "peer %s removed (%s)", wp->ufrag,
            cc_peer_state_name(cc_peer_get_state(wp->peer)));
    hs_release(w, wp);
    cc_peer_free(wp->peer);
    free(wp);
    w->n_peers--;
    __atomic_store_n(&w->c.peers_closed, w->c.peers_closed + 1, __ATOMIC_RELAXED);
}

static void free_add_msg(cc_msg *m)
{
    cc_worker_msg_add *a = (cc_worker_msg_add *)m;
    if (a->app_state && a->free_app_state)
        a->free_app_state(a->app_state);
    free(a);
}

cc_worker_msg_add *cc_worker_msg_add_new(void)
{
    cc_worker_msg_add *m = calloc(1, sizeof *m);
    if (m) {
        m->hdr.type = CC_WMSG_ADD_PEER;
        m->hdr.free_fn = free_add_msg;
    }
    return m;
}

int cc_worker_msg_add_transport(cc_worker_msg_add *m, const char *ufrag,
                                const char *pwd, const cc_sdp_offer *offer,
                                const cc_sdp_choice *choices, char *err,
                                size_t errcap)
{
    /* The transport is the tagged m-section's (RFC 8843 section 7.1.3): a
     * bundle-only one may carry no ICE credentials or fingerprint. */
    int tag = cc_sdp_bundle_tag(offer, choices);
    const cc_sdp_media *tm = tag >= 0 ? &offer->media[tag] : NULL;
    if (!tm) {
        snprintf(err, errcap, "no usable m-line in the offer");
        return CC_EUNSUPPORTED;
    }
    if (strcmp(tm->setup, "passive") == 0) {
        snprintf(err, errcap, "offers with a=setup:passive are not supported");
        return CC_EUNSUPPORTED;
    }
    snprintf(m->local_ufrag, sizeof m->local_ufrag, "%s", ufrag);
    snprintf(m->local_pwd, sizeof m->local_pwd, "%s", pwd);
    snprintf(m->remote_ufrag, sizeof m->remote_ufrag, "%s", tm->ice_ufrag);
    snprintf(m->remote_pwd, sizeof m->remote_pwd, "%s", tm->ice_pwd);
    snprintf(m->fp_alg, sizeof m->fp_alg, "%s", tm->fp_alg);
    snprintf(m->fp, sizeof m->fp, "%s", tm->fp);
    m->dtls_client = 0;
    return 0;
}

typedef struct remove_msg {
    cc_msg hdr;
    char ufrag[CC_ICE_MAX_CRED];
} remove_msg;

typedef struct call_msg {
    cc_msg hdr;
    cc_worker_fn fn;
    void *arg;
    void (*free_arg)(void *);
} call_msg;

static void free_call_msg(cc_msg *m)
{
    call_msg *c = (call_msg *)m;
    if (c->free_arg && c->arg)
        c->free_arg(c->arg);
    free(c);
}

int cc_worker_call(cc_worker *w, cc_worker_fn fn, void *arg,
                   void (*free_arg)(void *))
{
    call_msg *c = calloc(1, sizeof *c);
    if (!c) {
        if (free_arg && arg)
            free_arg(arg);
        return CC_ENOMEM;
    }
    c->hdr.type = CC_WMSG_CALL;
    c->hdr.free_fn = free_call_msg;
    c->fn = fn;
    c->arg = arg;
    c->free_arg = free_arg;
    int rc = cc_mailbox_post(w->mb, &c->hdr);
    if (rc != 0)
        free_call_msg(&c->hdr);
    return rc;
}

void cc_worker_emit(cc_worker *w, cc_msg *m)
{
    if (!w->cfg.events || cc_mailbox_post(w->cfg.events, m) != 0) {
        cc_msg_free(m);
        return;
    }
    if (w->cfg.wake)
        w->cfg.wake(w->cfg.wake_ud);
}

int cc_worker_watch_fd(cc_worker *w, int fd, cc_worker_fd_fn fn, void *ud)
{
    if (w->n_watch == CC_WORKER_MAX_WATCH)
        return CC_ENOSPC;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        return CC_EIO;
    w->watch[w->n_watch].fd = fd;
    w->watch[w->n_watch].fn = fn;
    w->watch[w->n_watch].ud = ud;
    w->n_watch++;
    return 0;
}

void cc_worker_unwatch_fd(cc_worker *w, int fd)
{
    for (int k = 0; k < w->n_watch; k++)
        if (w->watch[k].fd == fd) {
            epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
            w->watch[k] = w->watch[--w->n_watch];
            return;
        }
}

cc_wpeer *cc_worker_find_peer(cc_worker *w, const char *local_ufrag)
{
    return find_ufrag(w, local_ufrag);
}

void cc_worker_close_peer(cc_worker *w, cc_wpeer *wp)
{
    (void)w;
    cc_peer_close(wp->peer);
    wp->deadline = 0; /* handled on the next tick */
}

static void add_peer(cc_worker *w, cc_worker_msg_add *m, cc_time_us now)
{
    if (find_ufrag(w, m->local_ufrag)) {
        CC_WARN("worker", "peer %s exists already", m->local_ufrag);
        return;
    }
    cc_peer_config pc = {
        .dtls_ctx = w->dtls_ctx,
        .local_ufrag = m->local_ufrag,
        .local_pwd = m->local_pwd,
        .remote_ufrag = m->remote_ufrag,
        .remote_pwd = m->remote_pwd,
        .remote_fp_alg = m->fp_alg,
        .remote_fp = m->fp,
        .dtls_client = m->dtls_client,
        .dtls_external = w->cfg.hs && !m->dtls_client,
    };
    cc_wpeer *wp = calloc(1, sizeof *wp);
    if (!wp)
        return;
    int rc = cc_peer_new(&wp->peer, &pc, now);
    if (rc != 0) {
        CC_WARN("worker", "peer %s: %s", m->local_ufrag, cc_strerror(rc));
        free(wp);
        return;
    }
    snprintf(wp->ufrag, sizeof wp->ufrag, "%s", m->local_ufrag);
    if (pc.dtls_external) {
        wp->hs_external = 1;
        do
            wp->hs_id = ++w->next_hs_id;
        while (wp->hs_id == 0 || find_id(w, wp->hs_id));
        snprintf(wp->fp_alg, sizeof wp->fp_alg, "%s", m->fp_alg);
        snprintf(wp->fp, sizeof wp->fp, "%s", m->fp);
        uint32_t bi = wp->hs_id % CC_WORKER_BUCKETS;
        wp->next_id = w->by_id[bi];
        w->by_id[bi] = wp;
    }
    wp->app = m->app;
    wp->app_state = m->app_state;
    m->app_state = NULL; /* the worker owns it now */
    wp->deadline = cc_peer_deadline(wp->peer, now);
    uint32_t b = str_hash(wp->ufrag) % CC_WORKER_BUCKETS;
    wp->next_ufrag = w->by_ufrag[b];
    w->by_ufrag[b] = wp;
    wp->next_all = w->all;
    if (w->all)
        w->all->prev_all = wp;
    w->all = wp;
    w->n_peers++;
    __atomic_store_n(&w->c.peers_added, w->c.peers_added + 1, __ATOMIC_RELAXED);
    CC_INFO("worker", "peer %s added", wp->ufrag);
    if (wp->app && wp->app->on_added)
        wp->app->on_added(w, wp, now);
}

/* Send what the peer's ICE and DTLS want to send. */
static void drain_peer_output(cc_worker *w, cc_wpeer *wp)
{
    for (int i = 0; i < 64; i++) {
        uint8_t *slot = cc_udp_tx_slot(w->udp);
        size_t len;
        cc_addr to;
        if (cc_peer_poll_transmit(wp->peer, slot, CC_UDP_TX_BUF, &len, &to) != 0)
            break;
        cc_udp_tx_commit(w->udp, len, &to);
    }
}

static void check_connected(cc_worker *w, cc_wpeer *wp, cc_time_us now)
{
    if (cc_peer_get_state(wp->peer) != CC_PEER_CONNECTING)
        hs_release(w, wp);
    if (!wp->connected_reported && cc_peer_get_state(wp->peer) == CC_PEER_CONNECTED) {
        wp->connected_reported = 1;
        if (wp->app && wp->app->on_connected)
            wp->app->on_connected(w, wp, now);
    }
}

static int handle_mail(cc_worker *w, cc_time_us now);

static void handle_stun(cc_worker *w, uint8_t *buf, size_t len,
                        const cc_addr *from, cc_time_us now)
{
    cc_stun_msg msg;
    char ufrag[CC_ICE_MAX_CRED];
    if (cc_stun_parse(&msg, buf, len) != 0) {
        DROP(w, stun_malformed);
        return;
    }
    /* Peers are found by the USERNAME's local part first (docs/WEBRTC.md,
     * section 1). */
    cc_wpeer *wp = NULL;
    if (cc_ice_username_local(&msg, ufrag, sizeof ufrag) == 0) {
        wp = find_ufrag(w, ufrag);
        /* The control thread posts a peer before it sends the answer, so
         * a browser's first check can only come after the add message.
         * But a busy worker reads datagrams for many rounds before it
         * looks at its mailbox again: take in the waiting messages before
         * calling the check unknown (dropping it costs the browser a
         * retransmission, 100 ms or more, on every join). Only when a
         * message waits: a flood of checks for unknown ufrags must not
         * cost a system call each. */
        if (!wp && cc_mailbox_pending(w->mb) && handle_mail(w, now) > 0)
            wp = find_ufrag(w, ufrag);
    }
    if (!wp) {
        DROP(w, stun_no_peer);
        return;
    }
    size_t plain;
    int rc = cc_peer_handle(wp->peer, CC_DEMUX_STUN, buf, len, from, now, &plain);
    if (rc < 0) {
        if (rc == CC_EAUTH)
            DROP(w, stun_bad_integrity);
        else
            DROP(w, stun_other_drop);
        return;
    }
    bind_addr(w, wp, from);
    drain_peer_output(w, wp);
    wp->deadline = cc_peer_deadline(wp->peer, now);
}

/* A DTLS datagram of a peer whose handshake runs on the handshake thread:
 * a copy goes there (the receive buffer is reused by the next batch); the
 * session starts with the first one. */
static void hs_forward(cc_worker *w, cc_wpeer *wp, const uint8_t *data, size_t len,
                       const cc_addr *from)
{
    wp->dtls_addr = *from; /* its flights go where its last datagram came from */
    if (!wp->hs_started) {
        cc_hs_msg *st = cc_hs_msg_new(CC_HS_START, wp->hs_id, 0);
        if (!st) {
            DROP(w, hs_queue_full);
            return;
        }
        snprintf(st->u.start.fp_alg, sizeof st->u.start.fp_alg, "%s", wp->fp_alg);
        snprintf(st->u.start.fp, sizeof st->u.start.fp, "%s", wp->fp);
        if (cc_hs_post(w->cfg.hs, w->cfg.hs_lane, st) != 0) {
            DROP(w, hs_queue_full);
            return;
        }
        wp->hs_started = 1;
    }
    cc_hs_msg *m = cc_hs_msg_new(CC_HS_IN, wp->hs_id, len);
    if (!m) {
        DROP(w, hs_queue_full);
        return;
    }
    memcpy(m->u.data, data, len);
    if (cc_hs_post(w->cfg.hs, w->cfg.hs_lane, m) != 0)
        DROP(w, hs_queue_full); /* the browser retransmits */
}

/* What the handshake thread sent back: flights to send, then the keys or
 * the failure. Results for a peer that is gone are dropped. */
static void hs_results(cc_worker *w, cc_time_us now)
{
    uint64_t v;
    ssize_t r = read(cc_hs_lane_fd(w->cfg.hs, w->cfg.hs_lane), &v, sizeof v);
    (void)r;
    cc_hs_msg *m;
    int n = 0;
    for (; n < 1024 && (m = cc_hs_poll(w->cfg.hs, w->cfg.hs_lane)); n++) {
        cc_wpeer *wp = find_id(w, m->id);
        if (wp && m->kind == CC_HS_OUT) {
            if (wp->dtls_addr.len && m->len <= CC_UDP_TX_BUF) {
                memcpy(cc_udp_tx_slot(w->udp), m->u.data, m->len);
                cc_udp_tx_commit(w->udp, m->len, &wp->dtls_addr);
            }
        } else if (wp && m->kind == CC_HS_KEYS) {
            cc_peer_set_keys(wp->peer, &m->u.keys, now);
            wp->deadline = cc_peer_deadline(wp->peer, now);
            check_connected(w, wp, now);
        } else if (wp && m->kind == CC_HS_FAILED) {
            wp->hs_released = 1; /* the session is gone there */
            cc_peer_fail(wp->peer, m->u.reason);
            check_connected(w, wp, now);
            wp->deadline = now; /* removed at the next tick */
        }
        cc_hs_msg_free(m);
    }
    if (n == 1024) { /* more: come back after the socket had a turn */
        uint64_t one = 1;
        r = write(cc_hs_lane_fd(w->cfg.hs, w->cfg.hs_lane), &one, sizeof one);
    }
}

/* A datagram's kernel receive time on the monotonic clock: `now` less
 * how long it waited in the socket (by the wall clock, which the kernel
 * stamps with). A stamp from the future or over a second old (the wall
 * clock was stepped) counts as `now`. */
static cc_time_us rx_time(const cc_udp_dgram *d, cc_time_us now, cc_time_us wall)
{
    if (!d->rx_realtime_ns)
        return now;
    cc_time_us waited = wall - d->rx_realtime_ns / 1000;
    return waited > 0 && waited < CC_USEC_PER_SEC ? now - waited : now;
}

cc_time_us cc_worker_rx_at(const cc_worker *w, cc_time_us now)
{
    return w->rx_at ? w->rx_at : now;
}

static void handle_dgram(cc_worker *w, cc_udp_dgram *d, cc_time_us now)
{
    INC(w, udp_rx);
    if (d->truncated) {
        DROP(w, udp_rx_truncated);
        return;
    }
    cc_demux_kind kind = cc_demux_classify(d->data, d->len);
    if (kind == CC_DEMUX_STUN) {
        handle_stun(w, d->data, d->len, &d->from, now);
        return;
    }
    if (kind != CC_DEMUX_DTLS && kind != CC_DEMUX_RTP && kind != CC_DEMUX_RTCP) {
        DROP(w, demux_unknown);
        return;
    }
    cc_wpeer *wp = find_addr(w, &d->from);
    if (!wp) {
        if (kind == CC_DEMUX_DTLS)
            DROP(w, dtls_no_peer);
        else if (kind == CC_DEMUX_RTP)
            DROP(w, rtp_no_peer);
        else
            DROP(w, rtcp_no_peer);
        return;
    }
    if (kind == CC_DEMUX_DTLS && !hs_take(w, wp)) {
        DROP(w, dtls_busy);
        return;
    }
    size_t plain = 0;
    int rc = cc_peer_handle(wp->peer, kind, d->data, d->len, &d->from, now, &plain);
    if (rc == CC_ECLOSED) {
        /* In flight when the transport closed (a replaced or ended one). */
        DROP(w, after_close);
        return;
    }
    if (rc == CC_PEER_IN_DTLS) {
        hs_forward(w, wp, d->data, plain, &d->from);
        return;
    }
    if (kind == CC_DEMUX_DTLS) {
        if (rc < 0 && cc_peer_get_stats(wp->peer)->dtls_released)
            DROP(w, dtls_after_release); /* e.g. the close_notify of a leaving
                                          * browser: nothing left to read it */
        else if (rc < 0)
            DROP(w, dtls_error);
        drain_peer_output(w, wp);
        wp->deadline = cc_peer_deadline(wp->peer, now);
        check_connected(w, wp, now);
        return;
    }
    if (rc < 0) {
        if (rc == CC_ESTATE)
            DROP(w, media_before_keys);
        else
            DROP(w, srtp_auth_fail);
        return;
    }
    /* Its first authenticated media: its DTLS session can go. */
    if (wp->hs_started && !wp->hs_released && cc_peer_get_stats(wp->peer)->dtls_released)
        hs_post_release(w, wp);
    if (rc == CC_PEER_IN_RTP && wp->app && wp->app->on_rtp)
        wp->app->on_rtp(w, wp, d->data, plain, now);
    else if (rc == CC_PEER_IN_RTCP && wp->app && wp->app->on_rtcp)
        wp->app->on_rtcp(w, wp, d->data, plain, now);
}

/* Memory freed by peers (a closed peer, a released DTLS session: ~60 KiB
 * each) goes back to the allocator, which keeps it in its heap: a class of
 * a thousand that joined within seconds would hold its handshake-time
 * peak for the life of the process. So whole free pages go back to the
 * kernel (glibc malloc_trim: madvise on free pages anywhere in the heap).
 * It stalls the worker (measured: ~19 ms with 500 subscribers on this
 * 2-core VM; heap_trim_max_us in /stats), so it runs once a wave of joins
 * or leaves has settled (1 s without a new release or close), at most
 * every 10 s, and at least every 30 s while something is pending. */
#define TRIM_QUIET (1 * CC_USEC_PER_SEC)
#define TRIM_MIN_GAP (10 * CC_USEC_PER_SEC)
#define TRIM_MAX_WAIT (30 * CC_USEC_PER_SEC)

static void maybe_trim_heap(cc_worker *w, uint64_t released, cc_time_us now)
{
    __atomic_store_n(&w->c.peers_dtls_released, released, __ATOMIC_RELAXED);
    if (released != w->seen_released || w->c.peers_closed != w->seen_closed) {
        w->seen_released = released;
        w->seen_closed = w->c.peers_closed;
        w->last_free_at = now;
        if (!w->trim_pending_since)
            w->trim_pending_since = now;
    }
    if (!w->trim_pending_since)
        return;
    int settled = now - w->last_free_at >= TRIM_QUIET && now - w->last_trim >= TRIM_MIN_GAP;
    if (!settled && now - w->trim_pending_since < TRIM_MAX_WAIT)
        return;
    w->trim_pending_since = 0;
    w->last_trim = now;
    cc_time_us t0 = cc_clock_mono_us();
    malloc_trim(0);
    cc_time_us took = cc_clock_mono_us() - t0;
    if ((uint64_t)took > w->c.heap_trim_max_us)
        __atomic_store_n(&w->c.heap_trim_max_us, (uint64_t)took, __ATOMIC_RELAXED);
    INC(w, heap_trims);
}

static void on_tick(cc_worker *w, cc_time_us now)
{
    cc_wpeer *next;
    uint64_t released = 0;
    for (cc_wpeer *wp = w->all; wp; wp = next) {
        next = wp->next_all;
        released += cc_peer_get_stats(wp->peer)->dtls_released;
        if (wp->deadline <= now) {
            cc_peer_handle_timeout(wp->peer, now);
            drain_peer_output(w, wp);
            check_connected(w, wp, now);
            wp->deadline = cc_peer_deadline(wp->peer, now);
        }
        cc_peer_state st = cc_peer_get_state(wp->peer);
        if (st == CC_PEER_CLOSED || st == CC_PEER_FAILED) {
            remove_peer(w, wp);
            continue;
        }
        if (st == CC_PEER_CONNECTED && wp->app && wp->app->on_tick)
            wp->app->on_tick(w, wp, now);
    }
    maybe_trim_heap(w, released, now);
}

static void publish_udp_counters(cc_worker *w)
{
    const cc_udp_stats *s = cc_udp_get_stats(w->udp);
    __atomic_store_n(&w->c.udp_tx, s->tx_packets, __ATOMIC_RELAXED);
    if (s->tx_dropped != w->last_udp_tx_dropped) {
        uint64_t delta = s->tx_dropped - w->last_udp_tx_dropped;
        w->last_udp_tx_dropped = s->tx_dropped;
        __atomic_store_n(&w->c.udp_tx_dropped, s->tx_dropped, __ATOMIC_RELAXED);
        __atomic_store_n(&w->c.drops_total, w->c.drops_total + delta, __ATOMIC_RELAXED);
    }
}

/* Returns how many messages it handled. Also called from handle_stun in
 * the middle of a receive batch: nothing here holds a peer pointer across
 * datagrams, and what messages send goes into the same send batch. */
static int handle_mail(cc_worker *w, cc_time_us now)
{
    int n = 0;
    for (cc_msg *m = cc_mailbox_drain(w->mb); m; n++) {
        cc_msg *next = m->next;
        if (m->type == CC_WMSG_ADD_PEER)
            add_peer(w, (cc_worker_msg_add *)m, now);
        else if (m->type == CC_WMSG_REMOVE_PEER) {
            cc_wpeer *wp = find_ufrag(w, ((remove_msg *)m)->ufrag);
            if (wp)
                remove_peer(w, wp);
        } else if (m->type == CC_WMSG_CALL) {
            call_msg *c = (call_msg *)m;
            c->fn(w, c->arg, now);
        } else if (m->type == CC_WMSG_STOP)
            w->stop = 1;
        cc_msg_free(m);
        m = next;
    }
    return n;
}

static void *worker_main(void *arg)
{
    cc_worker *w = arg;
    struct epoll_event evs[8];
    while (!w->stop) {
        int n = epoll_wait(w->epfd, evs, 8, 1000);
        if (n < 0 && errno != EINTR) {
            CC_ERROR("worker", "epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            cc_time_us now = cc_clock_mono_us();
            if (fd == cc_udp_fd(w->udp)) {
                for (int round = 0; round < CC_WORKER_RX_ROUNDS; round++) {
                    cc_udp_dgram *batch;
                    int got = cc_udp_recv(w->udp, &batch);
                    if (got <= 0)
                        break;
                    now = cc_clock_mono_us();
                    cc_time_us wall = cc_clock_wall_us();
                    for (int k = 0; k < got; k++) {
                        w->rx_at = rx_time(&batch[k], now, wall);
                        handle_dgram(w, &batch[k], now);
                    }
                    w->rx_at = 0;
                    /* One sendmmsg for everything this batch produced. */
                    cc_udp_flush(w->udp);
                }
            } else if (fd == w->tfd) {
                uint64_t expirations;
                ssize_t r = read(w->tfd, &expirations, sizeof expirations);
                (void)r;
                on_tick(w, now);
                cc_udp_flush(w->udp);
            } else if (fd == cc_mailbox_fd(w->mb)) {
                handle_mail(w, now);
                cc_udp_flush(w->udp);
            } else if (w->cfg.hs && fd == cc_hs_lane_fd(w->cfg.hs, w->cfg.hs_lane)) {
                hs_results(w, now);
                cc_udp_flush(w->udp);
            } else {
                for (int k = 0; k < w->n_watch; k++)
                    if (w->watch[k].fd == fd) {
                        w->watch[k].fn(w, w->watch[k].ud, now);
                        break;
                    }
                cc_udp_flush(w->udp);
            }
        }
        publish_udp_counters(w);
    }
    return NULL;
}

int cc_worker_new(cc_worker **out, const cc_worker_config *cfg,
                  cc_dtls_ctx *dtls_ctx)
{
    *out = NULL;
    cc_worker *w = calloc(1, sizeof *w);
    if (!w)
        return CC_ENOMEM;
    w->cfg = *cfg;
    w->dtls_ctx = dtls_ctx;
    if (w->cfg.max_handshakes <= 0)
        w->cfg.max_handshakes = cfg->hs ? CC_WORKER_DEFAULT_MAX_HANDSHAKES_HS
                                        : CC_WORKER_DEFAULT_MAX_HANDSHAKES;
    w->epfd = w->tfd = -1;
    int rc = cc_udp_open(&w->udp, &cfg->bind);
    /* Receive times from the kernel: a publisher's packets that waited in
     * the socket while this thread was busy or not scheduled arrived when
     * the kernel says, not when they were read. The teacher's browser
     * estimates its uplink from these times (transport-cc feedback), and
     * so does the SFU (cc_upbwe); a late read would look like a queue on
     * the teacher's link. */
    if (rc == 0 && cc_udp_rx_timestamps(w->udp) != 0)
        CC_WARN("worker", "SO_TIMESTAMPNS refused: arrival times are read times");
    if (rc == 0)
        rc = cc_mailbox_new(&w->mb);
    if (rc == 0) {
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (w->epfd < 0 || w->tfd < 0)
            rc = CC_EIO;
    }
    if (rc == 0) {
        cc_time_us tick = cfg->tick > 0 ? cfg->tick : 10 * CC_USEC_PER_MSEC;
        struct itimerspec its = {
            .it_interval = {tick / CC_USEC_PER_SEC, (tick % CC_USEC_PER_SEC) * 1000},
            .it_value = {tick / CC_USEC_PER_SEC, (tick % CC_USEC_PER_SEC) * 1000},
        };
        timerfd_settime(w->tfd, 0, &its, NULL);
        int fds[4] = {cc_udp_fd(w->udp), w->tfd, cc_mailbox_fd(w->mb),
                      cfg->hs ? cc_hs_lane_fd(cfg->hs, cfg->hs_lane) : -1};
        for (int i = 0; i < 4 && fds[i] >= 0; i++) {
            struct epoll_event ev = {.events = EPOLLIN, .data.fd = fds[i]};
            if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fds[i], &ev) != 0)
                rc = CC_EIO;
        }
    }
    if (rc != 0) {
        cc_worker_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

int cc_worker_start(cc_worker *w)
{
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return CC_EIO;
    w->running = 1;
    return 0;
}

void cc_worker_stop(cc_worker *w)
{
    if (!w || !w->running)
        return;
    cc_msg *m = calloc(1, sizeof *m);
    if (m) {
        m->type = CC_WMSG_STOP;
        if (cc_mailbox_post(w->mb, m) != 0)
            free(m);
    }
    pthread_join(w->thread, NULL);
    w->running = 0;
    cc_mailbox_close(w->mb);
}

void cc_worker_free(cc_worker *w)
{
    if (!w)
        return;
    cc_worker_stop(w);
    while (w->all)
        remove_peer(w, w->all);
    cc_mailbox_free(w->mb);
    cc_udp_close(w->udp);
    if (w->epfd >= 0)
        close(w->epfd);
    if (w->tfd >= 0)
        close(w->tfd);
    free(w);
}

const cc_addr *cc_worker_local(const cc_worker *w) { return cc_udp_local(w->udp); }

int cc_worker_post(cc_worker *w, cc_msg *m) { return cc_mailbox_post(w->mb, m); }

int cc_worker_remove_peer(cc_worker *w, const char *local_ufrag)
{
    remove_msg *m = calloc(1, sizeof *m);
    if (!m)
        return CC_ENOMEM;
    m->hdr.type = CC_WMSG_REMOVE_PEER;
    snprintf(m->ufrag, sizeof m->ufrag, "%s", local_ufrag);
    int rc = cc_mailbox_post(w->mb, &m->hdr);
    if (rc != 0)
        free(m);
    return rc;
}

void cc_worker_get_counters(const cc_worker *w, cc_worker_counters *out)
{
#define CC_X(name) out->name = __atomic_load_n(&w->c.name, __ATOMIC_RELAXED);
    CC_WORKER_COUNTERS(CC_X)
#undef CC_X
}

uint32_t cc_worker_peer_count(const cc_worker *w)
{
    uint64_t a = __atomic_load_n(&w->c.peers_added, __ATOMIC_RELAXED);
    uint64_t c = __atomic_load_n(&w->c.peers_closed, __ATOMIC_RELAXED);
    return (uint32_t)(a - c);
}

void *cc_wpeer_app_state(cc_wpeer *wp) { return wp->app_state; }
cc_peer *cc_wpeer_peer(cc_wpeer *wp) { return wp->peer; }
const char *cc_wpeer_ufrag(const cc_wpeer *wp) { return wp->ufrag; }
void *cc_worker_app_ud(cc_worker *w) { return w->cfg.app_ud; }

static int commit_media(cc_worker *w, cc_wpeer *wp, size_t len, int rtcp)
{
    const cc_addr *to = cc_peer_media_addr(wp->peer);
    if (!to || len + CC_SRTP_MAX_TRAILER > CC_UDP_TX_BUF)
        return CC_EINVAL;
    /* The slot is still the one cc_udp_tx_slot returned: nothing was
     * committed in between on this thread. */
    uint8_t *slot = cc_udp_tx_slot(w->udp);
    size_t out;
    int rc = rtcp ? cc_peer_protect_rtcp(wp->peer, slot, len, CC_UDP_TX_BUF, &out)
                  : cc_peer_protect_rtp(wp->peer, slot, len, CC_UDP_TX_BUF, &out);
    if (rc != 0) {
        /* e.g. a new outbound SSRC past the session's limit (srtp.h) */
        DROP(w, srtp_protect_fail);
        return rc;
    }
    cc_udp_tx_commit(w->udp, out, to);
    if (rtcp)
        INC(w, rtcp_sent);
    else
        INC(w, rtp_forwarded);
    return 0;
}

static int send_media(cc_worker *w, cc_wpeer *wp, const uint8_t *data,
                      size_t len, int rtcp)
{
    if (len + CC_SRTP_MAX_TRAILER > CC_UDP_TX_BUF)
        return CC_EINVAL;
    memcpy(cc_udp_tx_slot(w->udp), data, len);
    return commit_media(w, wp, len, rtcp);
}

int cc_worker_send_rtp(cc_worker *w, cc_wpeer *wp, const uint8_t *rtp, size_t len)
{
    return send_media(w, wp, rtp, len, 0);
}

int cc_worker_send_rtcp(cc_worker *w, cc_wpeer *wp, const uint8_t *rtcp, size_t len)
{
    return send_media(w, wp, rtcp, len, 1);
}

uint8_t *cc_worker_tx_begin(cc_worker *w) { return cc_udp_tx_slot(w->udp); }

int cc_worker_tx_lines(const cc_wpeer *wp, const void **v, int max)
{
    if (!wp || max < 1)
        return 0;
    v[0] = wp;
    return 1 + cc_peer_tx_lines(wp->peer, v + 1, max - 1);
}

int cc_worker_tx_commit_rtp(cc_worker *w, cc_wpeer *wp, size_t len)
{
    return commit_media(w, wp, len, 0);
}

int cc_worker_tx_commit_rtcp(cc_worker *w, cc_wpeer *wp, size_t len)
{
    return commit_media(w, wp, len, 1);
}

void cc_worker_count_drop(cc_worker *w, cc_worker_drop what)
{
    switch (what) {
    case CC_DROP_RTP_MALFORMED: DROP(w, rtp_malformed); break;
    case CC_DROP_RTP_UNKNOWN_SSRC: DROP(w, rtp_unknown_ssrc); break;
    case CC_DROP_RTCP_MALFORMED: DROP(w, rtcp_malformed); break;
    }
}
