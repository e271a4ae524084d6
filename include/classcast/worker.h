/* classcast: an SFU worker: one thread, one epoll loop over one UDP port, a
 * timerfd tick and a mailbox. It owns its peers (ICE/DTLS/SRTP) and drives
 * them; what happens to media is decided by the worker's application
 * (cc_worker_app: echo for the transport proof, rooms for lessons).
 * Thread: cc_worker_new/start/stop/free and cc_worker_post from the control
 * thread; every callback and cc_worker_send_* run on the worker thread.
 * Counters may be read from any thread (relaxed atomics). */
#ifndef CLASSCAST_WORKER_H
#define CLASSCAST_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/addr.h"
#include "classcast/clock.h"
#include "classcast/mailbox.h"
#include "classcast/peer.h"

typedef struct cc_worker cc_worker;
typedef struct cc_wpeer cc_wpeer;

/* Every drop has a counter (docs/ARCHITECTURE.md, "Rules the code keeps").
 * Names match GET /stats. */
#define CC_WORKER_COUNTERS(X)                                                  \
    X(udp_rx) X(udp_tx) X(udp_rx_truncated) X(udp_tx_dropped)                  \
    X(demux_unknown) X(stun_malformed) X(stun_no_peer) X(stun_bad_integrity)   \
    X(stun_other_drop) X(dtls_no_peer) X(dtls_error) X(dtls_after_release)     \
    X(dtls_busy) X(dtls_handshaking)                                           \
    X(rtp_no_peer)                                                             \
    X(rtp_malformed) X(srtp_auth_fail) X(srtp_protect_fail) X(media_before_keys) \
    X(rtp_unknown_ssrc) X(rtcp_malformed) X(rtcp_no_peer) X(after_close)        \
    X(drops_total)       \
    X(peers_added) X(peers_closed) X(rtp_forwarded) X(rtcp_sent)             \
    X(peers_dtls_released) X(heap_trims) X(heap_trim_max_us)                  \
    X(hs_queue_full)

#define CC_WORKER_DEFAULT_MAX_HANDSHAKES 64
/* With the handshake thread the worker only queues them: a ClientHello
 * refused costs the browser a retransmission timer (a second or more),
 * so more wait their turn there (each holds ~60 KiB until it is done). */
#define CC_WORKER_DEFAULT_MAX_HANDSHAKES_HS 512

typedef struct cc_worker_counters {
#define CC_X(name) uint64_t name;
    CC_WORKER_COUNTERS(CC_X)
#undef CC_X
} cc_worker_counters;

typedef enum {
    CC_DROP_RTP_MALFORMED,
    CC_DROP_RTP_UNKNOWN_SSRC,
    CC_DROP_RTCP_MALFORMED,
} cc_worker_drop;

typedef struct cc_worker_app {
    /* Decrypted RTP/RTCP from a connected peer; buf is writable scratch. */
    void (*on_rtp)(cc_worker *w, cc_wpeer *wp, uint8_t *buf, size_t len,
                   cc_time_us now);
    void (*on_rtcp)(cc_worker *w, cc_wpeer *wp, uint8_t *buf, size_t len,
                    cc_time_us now);
    void (*on_connected)(cc_worker *w, cc_wpeer *wp, cc_time_us now);
    /* The peer was added (its answer went out); it is not connected yet.
     * Optional. */
    void (*on_added)(cc_worker *w, cc_wpeer *wp, cc_time_us now);
    /* Every tick (about 10 ms) for every connected peer. */
    void (*on_tick)(cc_worker *w, cc_wpeer *wp, cc_time_us now);
    /* The peer is going away: free the app state. */
    void (*on_closed)(cc_worker *w, cc_wpeer *wp);
} cc_worker_app;

typedef struct cc_worker_config {
    cc_addr bind;               /* UDP address (port 0: any) */
    void *app_ud;               /* shared by every app: cc_worker_app_ud() */
    cc_time_us tick;            /* 0: 10 ms */
    /* DTLS handshakes running at once; 0: CC_WORKER_DEFAULT_MAX_HANDSHAKES.
     * A ClientHello past it is dropped (counted as dtls_busy) and comes
     * again with the browser's retransmission. */
    int max_handshakes;
    /* Events from the worker to the control thread (cc_worker_emit): posted
     * to this mailbox, then wake(wake_ud) (e.g. lws_cancel_service). */
    cc_mailbox *events;
    void (*wake)(void *wake_ud);
    void *wake_ud;
    /* DTLS handshakes on the handshake thread (handshake.h), this
     * worker's lane of it; NULL: on this thread (peers that are DTLS
     * clients always are). The handshake thread must outlive the worker's
     * thread; cc_hs_free after cc_worker_free. */
    struct cc_hs *hs;
    int hs_lane;
} cc_worker_config;

/* Control -> worker: add a peer. Built by cc_worker_msg_add_peer, posted
 * with cc_worker_post; the worker owns it and app_state afterwards. */
typedef struct cc_worker_msg_add {
    cc_msg hdr;
    char local_ufrag[CC_ICE_MAX_CRED], local_pwd[CC_ICE_MAX_CRED];
    char remote_ufrag[CC_ICE_MAX_CRED], remote_pwd[CC_ICE_MAX_CRED];
    char fp_alg[16], fp[160];
    int dtls_client;
    const cc_worker_app *app;       /* what this peer's media does */
    void *app_state;
    void (*free_app_state)(void *); /* used if the worker never takes it */
} cc_worker_msg_add;

/* Control -> worker: run fn(w, arg) on the worker thread; the worker then
 * frees arg with free_arg (also if the worker is stopping). */
typedef void (*cc_worker_fn)(cc_worker *w, void *arg, cc_time_us now);

enum { CC_WMSG_ADD_PEER = 1, CC_WMSG_REMOVE_PEER, CC_WMSG_STOP, CC_WMSG_CALL };

int cc_worker_new(cc_worker **out, const cc_worker_config *cfg,
                  cc_dtls_ctx *dtls_ctx);
int cc_worker_start(cc_worker *w);
/* Stops and joins the thread; frees remaining peers. */
void cc_worker_stop(cc_worker *w);
void cc_worker_free(cc_worker *w);
const cc_addr *cc_worker_local(const cc_worker *w);

cc_worker_msg_add *cc_worker_msg_add_new(void);
struct cc_sdp_offer;
struct cc_sdp_choice;
/* Fill the transport part of an add-peer message: our ICE credentials and
 * the browser's, from the first accepted m-line of the offer (RFC 8843
 * section 7: one transport for the whole bundle); classcast answers
 * a=setup:passive (RFC 5763 section 5), so it is the DTLS server.
 * 0, or CC_EUNSUPPORTED with a reason in err (no accepted m-line, or an
 * offer that insists on a=setup:passive). */
int cc_worker_msg_add_transport(cc_worker_msg_add *m, const char *ufrag,
                                const char *pwd, const struct cc_sdp_offer *offer,
                                const struct cc_sdp_choice *choices, char *err,
                                size_t errcap);
/* Remove a peer by its local ufrag. */
int cc_worker_remove_peer(cc_worker *w, const char *local_ufrag);
int cc_worker_post(cc_worker *w, cc_msg *m);
/* Run fn(w, arg) on the worker thread. Returns 0, or CC_ECLOSED / CC_ENOMEM
 * and frees arg itself. */
int cc_worker_call(cc_worker *w, cc_worker_fn fn, void *arg,
                   void (*free_arg)(void *));

/* Snapshot of the counters (any thread) and the live peer count. */
void cc_worker_get_counters(const cc_worker *w, cc_worker_counters *out);
uint32_t cc_worker_peer_count(const cc_worker *w);

/* Worker thread only: */
void *cc_wpeer_app_state(cc_wpeer *wp);
cc_peer *cc_wpeer_peer(cc_wpeer *wp);
const char *cc_wpeer_ufrag(const cc_wpeer *wp);
void *cc_worker_app_ud(cc_worker *w);
/* In an on_rtp / on_rtcp callback: when the kernel received the datagram
 * being handled (monotonic clock, at most `now`); elsewhere, or when the
 * kernel gave no time, `now`. */
cc_time_us cc_worker_rx_at(const cc_worker *w, cc_time_us now);
/* Protect and queue for sending to the peer (flushed with the batch). */
int cc_worker_send_rtp(cc_worker *w, cc_wpeer *wp, const uint8_t *rtp,
                       size_t len);
int cc_worker_send_rtcp(cc_worker *w, cc_wpeer *wp, const uint8_t *rtcp,
                        size_t len);
/* Zero-copy variant for fan-out: write the plaintext RTP/RTCP straight
 * into the socket's next batch slot (CC_UDP_TX_BUF bytes, of which the last
 * CC_SRTP_MAX_TRAILER are reserved for SRTP), then commit its length: the
 * worker protects it in place and queues it to the peer's media address. */
uint8_t *cc_worker_tx_begin(cc_worker *w);
/* What cc_worker_tx_commit_rtp reads for wp (cc_peer_tx_lines, and wp),
 * as up to max addresses into v, to prefetch; returns how many. */
int cc_worker_tx_lines(const cc_wpeer *wp, const void **v, int max);
int cc_worker_tx_commit_rtp(cc_worker *w, cc_wpeer *wp, size_t len);
int cc_worker_tx_commit_rtcp(cc_worker *w, cc_wpeer *wp, size_t len);
void cc_worker_count_drop(cc_worker *w, cc_worker_drop what);
/* Post an event to the control thread (config.events) and wake it; frees m
 * if there is no event sink. */
void cc_worker_emit(cc_worker *w, cc_msg *m);
/* Worker thread: watch a readable fd (e.g. an eventfd a media thread writes
 * after pushing into a cc_ring); fn runs on the worker when it is readable
 * and must drain it. At most CC_WORKER_MAX_WATCH fds (local capture: up to
 * four sources a lesson, in every lesson that captures). */
#define CC_WORKER_MAX_WATCH 256
typedef void (*cc_worker_fd_fn)(cc_worker *w, void *ud, cc_time_us now);
int cc_worker_watch_fd(cc_worker *w, int fd, cc_worker_fd_fn fn, void *ud);
void cc_worker_unwatch_fd(cc_worker *w, int fd);
/* Find a live peer by local ufrag (NULL if gone). */
cc_wpeer *cc_worker_find_peer(cc_worker *w, const char *local_ufrag);
/* Close a peer from the worker thread; it is removed on the next tick. */
void cc_worker_close_peer(cc_worker *w, cc_wpeer *wp);

#endif
