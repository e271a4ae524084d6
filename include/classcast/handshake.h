/* classcast: the DTLS handshake thread (docs/ARCHITECTURE.md, "Threads").
 * A DTLS handshake costs an ECDSA signature and an ECDH key exchange
 * (~1-5 ms of CPU); a class joining at the bell on the forwarding thread
 * would stall every lesson of that worker for seconds. So the workers
 * hand DTLS datagrams of handshaking peers to this one thread and get
 * back the datagrams to send, then the SRTP keys (or the failure).
 *
 * Each worker has a lane: two single-producer single-consumer rings
 * (cc_ring), worker -> handshake thread and back, each woken by an
 * eventfd. What crosses is a cc_hs_msg the sender allocates and the
 * receiver frees; a peer is named by an id its worker gives it (never a
 * pointer). The handshake thread owns every OpenSSL session it runs,
 * from the first datagram until the worker says the peer showed it has
 * the keys (authenticated SRTP/SRTCP: it will not repeat its last flight)
 * or is gone; sessions nobody released are dropped after 2 minutes.
 * The thread reads no socket: datagrams go out through the worker's.
 *
 * Thread: new/start/stop/free on the owner (control) thread; cc_hs_post,
 * cc_hs_poll and cc_hs_lane_fd on the lane's worker thread only. */
#ifndef CLASSCAST_HANDSHAKE_H
#define CLASSCAST_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/dtls.h"
#include "classcast/srtp.h"

typedef struct cc_hs cc_hs;

#define CC_HS_MAX_LANES 64
/* Largest datagram carried (a worker's receive buffer). */
#define CC_HS_MAX_DGRAM 2048

enum {
    /* worker -> handshake thread */
    CC_HS_START = 1, /* u.start: a new session, DTLS server */
    CC_HS_IN,        /* u.data[0..len): a DTLS datagram from the peer */
    CC_HS_RELEASE,   /* the peer has its keys, or is gone: free the session */
    /* handshake thread -> worker */
    CC_HS_OUT,       /* u.data[0..len): send to the peer */
    CC_HS_KEYS,      /* u.keys: the handshake is done */
    CC_HS_FAILED,    /* u.reason: the handshake failed; the session is gone */
};

typedef struct cc_hs_msg {
    struct cc_hs_msg *next; /* the handshake thread's overflow queue */
    uint32_t id;            /* the worker's name for the peer */
    uint8_t kind;           /* CC_HS_* */
    uint16_t len;           /* IN, OUT: datagram length */
    union {
        struct {
            char fp_alg[16];
            char fp[160];
        } start;
        cc_srtp_keys keys;
        char reason[128];
        uint8_t data[CC_HS_MAX_DGRAM];
    } u;
} cc_hs_msg;

/* A message with room for len bytes of u.data (kind IN or OUT), or the
 * whole union (other kinds, len ignored); NULL when out of memory. */
cc_hs_msg *cc_hs_msg_new(int kind, uint32_t id, size_t len);
void cc_hs_msg_free(cc_hs_msg *m); /* wipes keys */

/* ring_cap: messages each way per lane (0: 1024). */
int cc_hs_new(cc_hs **out, cc_dtls_ctx *ctx, int lanes, size_t ring_cap);
int cc_hs_start(cc_hs *h);
/* Joins the thread; messages still queued stay until cc_hs_free. */
void cc_hs_stop(cc_hs *h);
/* After cc_hs_stop and after every lane's worker stopped. */
void cc_hs_free(cc_hs *h);

/* Worker of `lane`: readable when results wait (poll it, e.g. with epoll,
 * then cc_hs_poll until NULL). */
int cc_hs_lane_fd(const cc_hs *h, int lane);
/* Worker of `lane`: hand m over (the handshake thread frees it). 0, or
 * CC_EAGAIN when the lane's ring is full (m is freed: a datagram is lost,
 * DTLS retransmits it). */
int cc_hs_post(cc_hs *h, int lane, cc_hs_msg *m);
/* Worker of `lane`: the next result (the caller frees it), or NULL. */
cc_hs_msg *cc_hs_poll(cc_hs *h, int lane);

typedef struct cc_hs_stats {
    uint64_t sessions;       /* started */
    uint64_t connected;      /* handshakes done (keys handed over) */
    uint64_t failed;
    uint64_t released;
    uint64_t expired;        /* dropped after CC_HS_SESSION_MAX_US unreleased */
    uint64_t datagrams_in, datagrams_out;
    uint64_t unknown;        /* input for a session that does not exist */
    uint64_t live;           /* sessions held now */
    uint64_t busy_us;        /* time spent in OpenSSL */
} cc_hs_stats;
/* Any thread (relaxed atomics). */
void cc_hs_get_stats(const cc_hs *h, cc_hs_stats *out);

#endif
