/* classcast: one WebRTC transport peer = ICE-lite + DTLS + SRTP over one
 * bundled 5-tuple, with no I/O: datagrams in (already demultiplexed) with an
 * explicit `now`, datagrams out through cc_peer_poll_transmit, media
 * protected in place into the caller's (socket's) buffers, and a deadline.
 * Ownership: the worker owns the peer; the peer owns its ICE, DTLS and SRTP
 * state. Thread: the owning worker only. */
#ifndef CLASSCAST_PEER_H
#define CLASSCAST_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/addr.h"
#include "classcast/clock.h"
#include "classcast/demux.h"
#include "classcast/dtls.h"
#include "classcast/ice.h"
#include "classcast/srtp.h"

typedef struct cc_peer cc_peer;

typedef enum {
    CC_PEER_NEW = 0,     /* waiting for the first valid ICE check */
    CC_PEER_CONNECTING,  /* ICE valid, DTLS handshake running */
    CC_PEER_CONNECTED,   /* SRTP keys installed: media flows */
    CC_PEER_FAILED,      /* DTLS failed (e.g. fingerprint mismatch) */
    CC_PEER_CLOSED,      /* consent expired, close_notify, or closed */
} cc_peer_state;

typedef struct cc_peer_config {
    cc_dtls_ctx *dtls_ctx;
    const char *local_ufrag, *local_pwd;
    const char *remote_ufrag, *remote_pwd;
    const char *remote_fp_alg, *remote_fp;
    int dtls_client;            /* 1: we are DTLS client (a=setup:active) */
    cc_time_us consent_timeout; /* 0: CC_ICE_CONSENT_TIMEOUT_US */
    /* A peer that never completes ICE + DTLS within this is closed (0: 30 s) */
    cc_time_us connect_timeout;
    /* DTLS runs elsewhere (the worker's handshake thread, handshake.h):
     * the peer keeps no DTLS session; cc_peer_handle hands DTLS datagrams
     * back as CC_PEER_IN_DTLS, and the owner installs the keys
     * (cc_peer_set_keys) or fails the peer (cc_peer_fail) with the
     * outcome. DTLS server only (dtls_client must be 0). */
    int dtls_external;
} cc_peer_config;

/* What cc_peer_handle produced. */
typedef enum {
    CC_PEER_IN_NONE = 0, /* consumed (STUN, DTLS) */
    CC_PEER_IN_RTP,      /* decrypted RTP in buf[0..*plain_len) */
    CC_PEER_IN_RTCP,     /* decrypted RTCP compound in buf[0..*plain_len) */
    CC_PEER_IN_DTLS,     /* dtls_external: a DTLS datagram (buf[0..*plain_len))
                          * for the handshake, from an address that passed
                          * ICE, before the DTLS session was released */
} cc_peer_in;

typedef struct cc_peer_stats {
    uint64_t stun_rx, dtls_rx, rtp_rx, rtcp_rx;
    uint64_t rtp_tx, rtcp_tx;
    uint64_t drop_stun;          /* details in the ICE agent's stats */
    uint64_t drop_dtls;          /* DTLS input that failed */
    uint64_t drop_before_keys;   /* SRTP/SRTCP before DTLS finished */
    uint64_t drop_srtp_auth;     /* failed authentication or replay */
    uint64_t drop_protect;       /* our own protect failed */
    uint64_t drop_kind;          /* not STUN, DTLS, RTP or RTCP (RFC 7983
                                  * section 7: ZRTP, TURN channel data,
                                  * unassigned first bytes) */
    uint64_t dtls_released;      /* 1 once the DTLS session was freed
                                  * (cc_dtls_release: first authenticated
                                  * SRTP/SRTCP from the peer) */
    /* When (the `now` given): made, first valid ICE check, keys installed
     * (0: not yet). The stages of a join, for logs and benchmarks. */
    cc_time_us created_at, ice_at, connected_at;
} cc_peer_stats;

int cc_peer_new(cc_peer **out, const cc_peer_config *cfg, cc_time_us now);
void cc_peer_free(cc_peer *p);

/* One datagram from `from`, classified by cc_demux_classify. buf must be
 * writable: SRTP is removed in place. Returns a cc_peer_in value (>= 0) or a
 * negative code: the datagram was dropped and counted in the stats. */
int cc_peer_handle(cc_peer *p, cc_demux_kind kind, uint8_t *buf, size_t len,
                   const cc_addr *from, cc_time_us now, size_t *plain_len);

/* Next control datagram (STUN response, DTLS flight) to send: 0 with
 * buf/len/to set, or CC_EAGAIN. */
int cc_peer_poll_transmit(cc_peer *p, uint8_t *buf, size_t cap, size_t *len,
                          cc_addr *to);

/* Protect plaintext RTP/RTCP in place (cap >= len + CC_SRTP_MAX_TRAILER).
 * CC_ESTATE before CONNECTED. */
int cc_peer_protect_rtp(cc_peer *p, uint8_t *buf, size_t len, size_t cap,
                        size_t *out_len);
int cc_peer_protect_rtcp(cc_peer *p, uint8_t *buf, size_t len, size_t cap,
                         size_t *out_len);

/* Where media goes: the nominated address, else the latest address that
 * passed an ICE check; NULL before any. */
const cc_addr *cc_peer_media_addr(const cc_peer *p);
/* What protecting and addressing an RTP packet to p reads (p's state, its
 * media address, its counters and its SRTP session's, cc_srtp_tx_lines),
 * as up to max addresses into v; returns how many (0 before CONNECTED). */
int cc_peer_tx_lines(const cc_peer *p, const void **v, int max);
cc_time_us cc_peer_deadline(const cc_peer *p, cc_time_us now);
void cc_peer_handle_timeout(cc_peer *p, cc_time_us now);
cc_peer_state cc_peer_get_state(const cc_peer *p);
const char *cc_peer_state_name(cc_peer_state s);
void cc_peer_close(cc_peer *p);
/* dtls_external: the handshake is done; SRTP with these keys (the caller
 * wipes its copy). CONNECTING -> CONNECTED; CC_ESTATE in any other state,
 * or the libsrtp error (then FAILED). */
int cc_peer_set_keys(cc_peer *p, const cc_srtp_keys *keys, cc_time_us now);
/* dtls_external: the handshake failed: FAILED (reason for the log). */
void cc_peer_fail(cc_peer *p, const char *reason);
const cc_peer_stats *cc_peer_get_stats(const cc_peer *p);
const cc_ice_lite *cc_peer_get_ice(const cc_peer *p);
/* Negotiated SRTP profile (CC_SRTP_PROFILE_NONE before CONNECTED). */
cc_srtp_profile cc_peer_srtp_profile(const cc_peer *p);
const char *cc_peer_local_ufrag(const cc_peer *p);

#endif
