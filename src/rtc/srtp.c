/* classcast: SRTP/SRTCP through libsrtp2 (RFC 3711, RFC 7714).
 * See include/classcast/srtp.h for the contract. */
#include "classcast/srtp.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "classcast/err.h"
#include "classcast/log.h"

#define SRTP_MOD "srtp"

/* The most protect can append with our policies (no MKI): the auth tag
 * (10 bytes HMAC-SHA1-80, RFC 3711 section 4.2; 16 bytes GCM, RFC 7714
 * section 7.2) plus, for SRTCP, the 4-byte E-flag/index word (RFC 3711
 * section 3.4). libsrtp documents SRTP_MAX_TRAILER_LEN (144) as the worst
 * case because it includes a 128-byte MKI, which we never configure. */
#define OUR_MAX_TRAILER (SRTP_MAX_TAG_LEN + 4)
_Static_assert(CC_SRTP_MAX_TRAILER >= OUR_MAX_TRAILER,
               "CC_SRTP_MAX_TRAILER must cover tag + SRTCP index");

/* RFC 3711 section 3.3.2 asks for a replay window of at least 64; video
 * bursts with NACK retransmissions arrive far out of order, so we use a
 * wider one (libsrtp allows up to 2^15). */
#define REPLAY_WINDOW 1024

struct cc_srtp {
    srtp_t in;
    srtp_t out;
    cc_srtp_profile profile;
    cc_srtp_stats stats;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t init_status = srtp_err_status_fail;

static void do_init(void)
{
    init_status = srtp_init();
}

int cc_srtp_global_init(void)
{
    /* srtp_init registers libsrtp's crypto kernel; it is not safe to run
     * twice concurrently, hence pthread_once. */
    pthread_once(&init_once, do_init);
    return init_status == srtp_err_status_ok ? 0 : CC_ECRYPTO;
}

const char *cc_srtp_profile_name(cc_srtp_profile p)
{
    /* The names RFC 5764 section 4.1.2 / RFC 7714 section 14.2 register,
     * the form browsers show in getStats. */
    switch (p) {
    case CC_SRTP_AES128_CM_SHA1_80: return "SRTP_AES128_CM_HMAC_SHA1_80";
    case CC_SRTP_AEAD_AES_128_GCM: return "SRTP_AEAD_AES_128_GCM";
    default: return "none";
    }
}

static int map_create_err(srtp_err_status_t st)
{
    return st == srtp_err_status_alloc_fail ? CC_ENOMEM : CC_ECRYPTO;
}

static int make_session(srtp_t *out, cc_srtp_profile profile, int inbound,
                        const uint8_t *key, const uint8_t *salt,
                        size_t key_len, size_t salt_len)
{
    /* libsrtp takes the master key and master salt as one buffer,
     * key || salt (RFC 3711 section 8.2's "master key" plus salt). */
    unsigned char master[CC_SRTP_MAX_KEY + CC_SRTP_MAX_SALT];
    memcpy(master, key, key_len);
    memcpy(master + key_len, salt, salt_len);

    srtp_policy_t pol;
    memset(&pol, 0, sizeof pol);
    if (profile == CC_SRTP_AEAD_AES_128_GCM) {
        /* RFC 7714 section 14.2: AEAD_AES_128_GCM, 16-byte tag, for SRTP
         * and SRTCP alike. */
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
    } else {
        /* RFC 3711 section 5 defaults: AES-CM 128 + HMAC-SHA1 80. */
        srtp_crypto_policy_set_rtp_default(&pol.rtp);
        srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
    }
    /* One policy for every SSRC in that direction: an SFU learns SSRCs
     * from packets (and simulcast/RTX add more), not from configuration. */
    pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    pol.ssrc.value = 0;
    pol.key = master;
    pol.window_size = REPLAY_WINDOW;
    /* A NACK answered with the very same packet is a repeat of a sequence
     * number to libsrtp's outbound check; allowed because the payload is
     * identical (WEBRTC-NOTES, DTLS-SRTP section). */
    pol.allow_repeat_tx = 1;
    pol.next = NULL;

    srtp_err_status_t st = srtp_create(out, &pol);
    /* libsrtp copied and expanded the key; do not leave it on the stack. */
    explicit_bzero(master, sizeof master);
    if (st != srtp_err_status_ok) {
        *out = NULL;
        return map_create_err(st);
    }
    return 0;
}

int cc_srtp_new(cc_srtp **out, const cc_srtp_keys *keys)
{
    if (!out || !keys) return CC_EINVAL;
    *out = NULL;
    size_t want_salt;
    switch (keys->profile) {
    case CC_SRTP_AEAD_AES_128_GCM: want_salt = 12; break; /* RFC 7714 s12 */
    case CC_SRTP_AES128_CM_SHA1_80: want_salt = 14; break; /* RFC 3711 s8.2 */
    default: return CC_EINVAL;
    }
    if (keys->key_len != 16 || keys->salt_len != want_salt) return CC_EINVAL;

    int rc = cc_srtp_global_init();
    if (rc != 0) return rc;

    cc_srtp *s = calloc(1, sizeof *s);
    if (!s) return CC_ENOMEM;
    s->profile = keys->profile;
    /* Inbound decrypts what the peer sent with the peer's write keys;
     * outbound encrypts with ours (RFC 5764 section 4.2). */
    rc = make_session(&s->in, keys->profile, 1, keys->remote_key,
                      keys->remote_salt, keys->key_len, keys->salt_len);
    if (rc == 0)
        rc = make_session(&s->out, keys->profile, 0, keys->local_key,
                          keys->local_salt, keys->key_len, keys->salt_len);
    if (rc != 0) {
        cc_srtp_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void cc_srtp_free(cc_srtp *s)
{
    if (!s) return;
    if (s->in) srtp_dealloc(s->in);
    if (s->out) srtp_dealloc(s->out);
    free(s);
}

static int protect(cc_srtp *s, uint8_t *buf, size_t len, size_t cap,
                   size_t *out_len, int rtcp)
{
    if (!s || !buf || !out_len) return CC_EINVAL;
    /* libsrtp writes the trailer past len without knowing the buffer size;
     * make sure it has room and that the length fits its int. */
    if (len > (size_t)INT_MAX - CC_SRTP_MAX_TRAILER ||
        cap < len + CC_SRTP_MAX_TRAILER) {
        s->stats.protect_fail++;
        return CC_ENOSPC;
    }
    int n = (int)len;
    srtp_err_status_t st = rtcp ? srtp_protect_rtcp(s->out, buf, &n)
                                : srtp_protect(s->out, buf, &n);
    if (st != srtp_err_status_ok) {
        s->stats.protect_fail++;
        CC_LOG_RL(CC_LOG_WARN, SRTP_MOD, "protect %s failed: %d",
                  rtcp ? "rtcp" : "rtp", (int)st);
        return CC_EINVAL;
    }
    *out_len = (size_t)n;
    return 0;
}

static int unprotect(cc_srtp *s, uint8_t *buf, size_t len, size_t *out_len,
                     int rtcp)
{
    if (!s || !buf || !out_len) return CC_EINVAL;
    if (len > INT_MAX) {
        s->stats.unprotect_other_fail++;
        return CC_EINVAL;
    }
    int n = (int)len;
    srtp_err_status_t st = rtcp ? srtp_unprotect_rtcp(s->in, buf, &n)
                                : srtp_unprotect(s->in, buf, &n);
    switch (st) {
    case srtp_err_status_ok:
        *out_len = (size_t)n;
        return 0;
    case srtp_err_status_auth_fail:
        /* RFC 3711 section 3.3 step 5: bad tag, discard. */
        s->stats.unprotect_auth_fail++;
        return CC_EAUTH;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
        /* RFC 3711 section 3.3.2: already seen or left of the window. */
        s->stats.unprotect_replay++;
        return CC_EAUTH;
    default:
        s->stats.unprotect_other_fail++;
        return CC_EINVAL;
    }
}

int cc_srtp_protect_rtp(cc_srtp *s, uint8_t *buf, size_t len, size_t cap,
                        size_t *out_len)
{
    return protect(s, buf, len, cap, out_len, 0);
}

int cc_srtp_protect_rtcp(cc_srtp *s, uint8_t *buf, size_t len, size_t cap,
                         size_t *out_len)
{
    return protect(s, buf, len, cap, out_len, 1);
}

int cc_srtp_unprotect_rtp(cc_srtp *s, uint8_t *buf, size_t len,
                          size_t *out_len)
{
    return unprotect(s, buf, len, out_len, 0);
}

int cc_srtp_unprotect_rtcp(cc_srtp *s, uint8_t *buf, size_t len,
                           size_t *out_len)
{
    return unprotect(s, buf, len, out_len, 1);
}

const cc_srtp_stats *cc_srtp_get_stats(const cc_srtp *s)
{
    return s ? &s->stats : NULL;
}
