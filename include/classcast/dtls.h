/* classcast: DTLS 1.2 for DTLS-SRTP (RFC 5763, RFC 5764) on OpenSSL over
 * memory BIOs. No I/O: datagrams in with cc_dtls_handle_input, datagrams out
 * with cc_dtls_poll_output. OpenSSL's retransmission timer reads the system
 * clock itself; the owner drives it with cc_dtls_deadline /
 * cc_dtls_handle_timeout (DTLSv1_get_timeout / DTLSv1_handle_timeout).
 * Thread: a cc_dtls_ctx is made once and shared read-only by all workers;
 * a cc_dtls belongs to the worker that owns its peer. */
#ifndef CLASSCAST_DTLS_H
#define CLASSCAST_DTLS_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/clock.h"
#include "classcast/srtp.h"

/* Keep records under the path MTU (RFC 6347 section 4.1.1; why 1200:
 * docs/WEBRTC.md, section 3, "Datagrams and timers"). */
#define CC_DTLS_MTU 1200

typedef struct cc_dtls_ctx cc_dtls_ctx;
typedef struct cc_dtls cc_dtls;

typedef enum {
    CC_DTLS_NEW = 0,
    CC_DTLS_HANDSHAKING,
    CC_DTLS_CONNECTED,   /* handshake done, fingerprint verified, keys ready */
    CC_DTLS_FAILED,      /* handshake error or fingerprint mismatch */
    CC_DTLS_CLOSED,      /* close_notify received or sent */
} cc_dtls_state;

/* Makes an ECDSA P-256 key and a self-signed certificate (valid 30 days
 * back to 1 year ahead), its SHA-256 fingerprint, and an SSL_CTX for
 * DTLS with use_srtp "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
 * (server preference order), ECDHE with AEAD cipher suites only (AES-GCM,
 * ChaCha20-Poly1305), peer certificate required, any self-signed
 * certificate accepted (checked against the SDP fingerprint instead). */
int cc_dtls_ctx_new(cc_dtls_ctx **out);
void cc_dtls_ctx_free(cc_dtls_ctx *ctx);
/* "AB:CD:..." uppercase hex, 32 bytes: the value for a=fingerprint:sha-256. */
const char *cc_dtls_ctx_fingerprint(const cc_dtls_ctx *ctx);

/* remote_fp_alg ("sha-256", also "sha-1", "sha-384", "sha-512") and
 * remote_fp ("AB:CD:...", case-insensitive) come from the peer's SDP; the
 * peer certificate digest must match or the state becomes CC_DTLS_FAILED.
 * is_server: 1 for a=setup:passive (classcast's usual role). */
int cc_dtls_new(cc_dtls **out, cc_dtls_ctx *ctx, int is_server,
                const char *remote_fp_alg, const char *remote_fp);
void cc_dtls_free(cc_dtls *d);

/* A client sends its ClientHello; a server does nothing. */
int cc_dtls_start(cc_dtls *d, cc_time_us now);
/* One DTLS datagram from the peer. Returns 0, or a negative code when the
 * handshake failed (state CC_DTLS_FAILED). Application data is discarded. */
int cc_dtls_handle_input(cc_dtls *d, const uint8_t *buf, size_t len,
                         cc_time_us now);
/* Next datagram to send to the peer: 0 with *len set, or CC_EAGAIN. */
int cc_dtls_poll_output(cc_dtls *d, uint8_t *buf, size_t cap, size_t *len);
/* When cc_dtls_handle_timeout must run, or CC_TIME_NEVER. */
cc_time_us cc_dtls_deadline(const cc_dtls *d, cc_time_us now);
int cc_dtls_handle_timeout(cc_dtls *d, cc_time_us now);
cc_dtls_state cc_dtls_get_state(const cc_dtls *d);
/* Keys from the exporter "EXTRACTOR-dtls_srtp" (RFC 5764 section 4.2),
 * assigned to local/remote by role. CC_ESTATE before CC_DTLS_CONNECTED. */
int cc_dtls_get_srtp_keys(const cc_dtls *d, cc_srtp_keys *out);
/* Human-readable reason of a failure ("" otherwise). */
const char *cc_dtls_error(const cc_dtls *d);

/* Additions beyond the first contract. */

/* Like cc_dtls_ctx_new with another use_srtp list (OpenSSL profile names,
 * colon separated, preference order); tests use it to play a peer that
 * offers only SRTP_AES128_CM_SHA1_80. */
int cc_dtls_ctx_new_with_profiles(cc_dtls_ctx **out, const char *profiles);
/* Sends close_notify (poll it out) and moves a connected session to
 * CC_DTLS_CLOSED; no-op in other states. */
int cc_dtls_close(cc_dtls *d);

/* RFC 5705 exporter output for `label` (no context) once connected:
 * tests use it to check the RFC 5764 key layout independently of
 * cc_dtls_get_srtp_keys. 0, CC_ESTATE or CC_ECRYPTO. */
int cc_dtls_export_keying_material(const cc_dtls *d, const char *label,
                                   uint8_t *out, size_t len);

/* Frees the OpenSSL session of a connected association and keeps only its
 * SRTP keys and state. Call it once the peer has shown that it finished
 * the handshake too (authenticated SRTP or SRTCP from it: it holds the
 * keys, so it will not retransmit its last flight and needs none of ours
 * again). What OpenSSL keeps for a DTLS session it might still have to
 * repeat, the handshake buffer and 16 KiB record buffers among it, is
 * about 60 KiB per peer: most of a subscriber's memory. Afterwards DTLS
 * input is counted (in_after_release) and refused with CC_ESTATE, there
 * is no timer and no output; a close_notify from the peer goes unread
 * (consent freshness, RFC 7675, and the signalling's leave/DELETE end the
 * session instead), and cc_dtls_close only changes the state.
 * Returns 0, CC_ESTATE (not connected) or CC_EAGAIN (output not yet
 * polled: try later). */
int cc_dtls_release(cc_dtls *d);
int cc_dtls_is_released(const cc_dtls *d);

typedef struct cc_dtls_stats {
    uint64_t in_after_release; /* DTLS datagrams after cc_dtls_release */
    uint64_t in_datagrams;   /* handed to OpenSSL */
    uint64_t in_malformed;   /* not a sequence of whole DTLS records, or a
                              * protected record too short to be genuine:
                              * dropped */
    uint64_t in_app_data;    /* application data records read and discarded */
    uint64_t out_datagrams;  /* returned by cc_dtls_poll_output */
    uint64_t retransmits;    /* timer expiries that resent a flight */
} cc_dtls_stats;
const cc_dtls_stats *cc_dtls_get_stats(const cc_dtls *d);

#endif
