/* classcast: SRTP/SRTCP for one peer through libsrtp (RFC 3711, RFC 7714).
 * Thread: the SFU worker that owns the peer. cc_srtp_global_init may be
 * called from any thread, any number of times. */
#ifndef CLASSCAST_SRTP_H
#define CLASSCAST_SRTP_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    CC_SRTP_PROFILE_NONE = 0,
    CC_SRTP_AES128_CM_SHA1_80 = 1,  /* RFC 5764 SRTP_AES128_CM_HMAC_SHA1_80 */
    CC_SRTP_AEAD_AES_128_GCM = 7,   /* RFC 7714 SRTP_AEAD_AES_128_GCM */
} cc_srtp_profile;

#define CC_SRTP_MAX_KEY 16
#define CC_SRTP_MAX_SALT 14
/* Bytes protect may add (auth tag + SRTCP index); reserve this much. */
#define CC_SRTP_MAX_TRAILER 32

/* Keying material of one DTLS-SRTP association, from this side's view:
 * local_* protects what we send, remote_* unprotects what we receive. */
typedef struct cc_srtp_keys {
    cc_srtp_profile profile;
    size_t key_len;  /* 16 */
    size_t salt_len; /* 14 (CM) or 12 (GCM) */
    uint8_t local_key[CC_SRTP_MAX_KEY];
    uint8_t local_salt[CC_SRTP_MAX_SALT];
    uint8_t remote_key[CC_SRTP_MAX_KEY];
    uint8_t remote_salt[CC_SRTP_MAX_SALT];
} cc_srtp_keys;

typedef struct cc_srtp cc_srtp;

typedef struct cc_srtp_stats {
    uint64_t protect_fail;
    /* RTP for a new outbound SSRC refused: the session already protects
     * for as many SSRCs as it keeps state for (64), and it never forgets
     * one (a forgotten ROC would repeat AES-GCM IVs). Also in protect_fail. */
    uint64_t protect_ssrc_full;
    uint64_t unprotect_auth_fail;
    uint64_t unprotect_replay;
    uint64_t unprotect_other_fail;
} cc_srtp_stats;

int cc_srtp_global_init(void);
const char *cc_srtp_profile_name(cc_srtp_profile p); /* "SRTP_AEAD_AES_128_GCM" */

/* One inbound and one outbound libsrtp session (ssrc_any_inbound /
 * ssrc_any_outbound), replay window 1024, allow_repeat_tx so a NACKed packet
 * can be resent unchanged. Returns 0, CC_EINVAL, CC_ENOMEM or CC_ECRYPTO. */
int cc_srtp_new(cc_srtp **out, const cc_srtp_keys *keys);
void cc_srtp_free(cc_srtp *s);

/* In place: buf holds len plaintext bytes and has room for cap >= len +
 * CC_SRTP_MAX_TRAILER; *out_len is the protected length. */
int cc_srtp_protect_rtp(cc_srtp *s, uint8_t *buf, size_t len, size_t cap,
                        size_t *out_len);
int cc_srtp_protect_rtcp(cc_srtp *s, uint8_t *buf, size_t len, size_t cap,
                         size_t *out_len);
/* The memory cc_srtp_protect_rtp reads for the SSRC protected last (our
 * state and OpenSSL's context object), as up to max addresses into v, for
 * a caller that sends to many sessions in turn to prefetch the next one's
 * (a forwarding loop: without it each of these is a cache miss per
 * packet). Returns how many. The addresses stay valid as long as s does. */
int cc_srtp_tx_lines(const cc_srtp *s, const void **v, int max);
/* In place; returns 0, CC_EAUTH (bad tag or replay) or CC_EINVAL. */
int cc_srtp_unprotect_rtp(cc_srtp *s, uint8_t *buf, size_t len,
                          size_t *out_len);
int cc_srtp_unprotect_rtcp(cc_srtp *s, uint8_t *buf, size_t len,
                           size_t *out_len);

const cc_srtp_stats *cc_srtp_get_stats(const cc_srtp *s);

#endif
