/* classcast: the client side of a WebRTC transport (what a browser is to
 * classcast): a full ICE agent towards one remote host candidate,
 * controlling (RFC 8445 sections 6.1.1, 7.2, 8.1.1 aggressive nomination)
 * or controlled (section 7.3, cfg.controlled),
 * consent freshness (RFC 7675), DTLS-SRTP (RFC 5763, RFC 5764) as the
 * client (a=setup:active; the server side is also supported when the answer
 * says a=setup:active) and SRTP. Used by the load generator (many
 * subscribers in one process) and by WHIP publishing.
 * Same shape as cc_peer: no I/O, no clock. Datagrams in with an explicit
 * `now` (already demultiplexed), control datagrams out through
 * cc_client_poll_transmit, media protected/unprotected in place, and a
 * deadline for cc_client_handle_timeout.
 * Thread: the owner's thread only. */
#ifndef CLASSCAST_CLIENT_H
#define CLASSCAST_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/addr.h"
#include "classcast/clock.h"
#include "classcast/demux.h"
#include "classcast/dtls.h"
#include "classcast/ice.h"
#include "classcast/srtp.h"

typedef struct cc_client cc_client;

typedef enum {
    CC_CLIENT_CHECKING = 0, /* sending nominating Binding requests */
    CC_CLIENT_DTLS,         /* ICE succeeded, DTLS handshake running */
    CC_CLIENT_CONNECTED,    /* SRTP keys installed: media flows */
    CC_CLIENT_FAILED,       /* DTLS failed (fingerprint), or never connected */
    CC_CLIENT_CLOSED,       /* consent lost, close_notify, or closed */
} cc_client_state;

/* Consent checks (RFC 7675 section 5.1: every 5 s, randomised +-20%) and
 * how long without any response before consent is lost (30 s). */
#define CC_CLIENT_CONSENT_INTERVAL_US (5 * CC_USEC_PER_SEC)
#define CC_CLIENT_CONSENT_TIMEOUT_US (30 * CC_USEC_PER_SEC)

typedef struct cc_client_config {
    cc_dtls_ctx *dtls_ctx;
    const char *local_ufrag, *local_pwd;   /* ours, as put in the offer */
    const char *remote_ufrag, *remote_pwd; /* from the answer */
    const char *remote_fp_alg, *remote_fp; /* from the answer */
    cc_addr remote;              /* the answer's host candidate */
    int dtls_server;             /* 1 if the answer said a=setup:active */
    uint64_t tie_breaker;        /* ICE-CONTROLLING value; 0: random */
    uint32_t priority;           /* PRIORITY of our candidate; 0: host */
    cc_time_us consent_interval; /* 0: CC_CLIENT_CONSENT_INTERVAL_US */
    cc_time_us consent_timeout;  /* 0: CC_CLIENT_CONSENT_TIMEOUT_US */
    cc_time_us connect_timeout;  /* ICE + DTLS must finish (0: 20 s) */
    /* 1: the CONTROLLED agent (RFC 8445 section 7.3), as the answerer of a
     * full-ICE offerer (Janus's subscriber offer): checks carry
     * ICE-CONTROLLED and no USE-CANDIDATE, and the pair is selected once
     * our check succeeded and the peer's request with USE-CANDIDATE came.
     * 0: controlling with aggressive nomination (the default). Role
     * conflicts (487) are resolved per RFC 8445 section 7.3.1.1. */
    int controlled;
} cc_client_config;

typedef enum {
    CC_CLIENT_IN_NONE = 0, /* consumed (STUN, DTLS) */
    CC_CLIENT_IN_RTP,      /* decrypted RTP in buf[0..*plain_len) */
    CC_CLIENT_IN_RTCP,     /* decrypted RTCP compound */
} cc_client_in;

typedef struct cc_client_stats {
    uint64_t checks_sent;        /* Binding requests, retransmits included */
    uint64_t check_responses;    /* valid Binding success responses */
    uint64_t consent_sent;       /* of which consent checks after success */
    uint64_t drop_stun;          /* bad integrity, unknown txid, wrong source */
    uint64_t stun_requests_in;   /* requests from the peer (ICE-lite never
                                  * sends any): answered */
    uint64_t role_conflicts;     /* 487 sent or received, role switches */
    uint64_t dtls_rx, drop_dtls;
    uint64_t rtp_rx, rtcp_rx;
    uint64_t drop_before_keys;
    uint64_t drop_srtp_auth;     /* failed authentication or replay */
    uint64_t rtp_tx, rtcp_tx, drop_protect;
    cc_time_us ice_done_at;      /* 0 until the nominating check succeeded */
    cc_time_us connected_at;     /* 0 until SRTP keys were installed */
} cc_client_stats;

int cc_client_new(cc_client **out, const cc_client_config *cfg, cc_time_us now);
void cc_client_free(cc_client *c);

/* One datagram from `from`, classified by cc_demux_classify. buf must be
 * writable: SRTP is removed in place. Returns a cc_client_in value (>= 0)
 * or a negative code (dropped and counted). */
int cc_client_handle(cc_client *c, cc_demux_kind kind, uint8_t *buf,
                     size_t len, const cc_addr *from, cc_time_us now,
                     size_t *plain_len);

/* Next control datagram (Binding request/response, DTLS flight): 0 with
 * buf/len/to set, or CC_EAGAIN. */
int cc_client_poll_transmit(cc_client *c, uint8_t *buf, size_t cap,
                            size_t *len, cc_addr *to);

/* Protect plaintext RTP/RTCP in place (cap >= len + CC_SRTP_MAX_TRAILER);
 * CC_ESTATE before CONNECTED. */
int cc_client_protect_rtp(cc_client *c, uint8_t *buf, size_t len, size_t cap,
                          size_t *out_len);
int cc_client_protect_rtcp(cc_client *c, uint8_t *buf, size_t len, size_t cap,
                           size_t *out_len);

/* Where media goes (the remote candidate). */
const cc_addr *cc_client_remote(const cc_client *c);
cc_time_us cc_client_deadline(const cc_client *c, cc_time_us now);
void cc_client_handle_timeout(cc_client *c, cc_time_us now);
cc_client_state cc_client_get_state(const cc_client *c);
const char *cc_client_state_name(cc_client_state s);
/* Sends close_notify (poll it out) and moves to CLOSED. */
void cc_client_close(cc_client *c);
const cc_client_stats *cc_client_get_stats(const cc_client *c);
cc_srtp_profile cc_client_srtp_profile(const cc_client *c);
/* 1 while we are the controlling agent (it may change on a role conflict). */
int cc_client_is_controlling(const cc_client *c);
/* Why it failed or closed ("" otherwise). */
const char *cc_client_error(const cc_client *c);

#endif
