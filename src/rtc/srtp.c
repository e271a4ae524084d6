/* classcast: SRTP/SRTCP through libsrtp2 (RFC 3711, RFC 7714).
 * See include/classcast/srtp.h for the contract. */
#include "classcast/srtp.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
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

/* ---------------------------------------------------------------------
 * Outbound SRTP for AEAD_AES_128_GCM straight on OpenSSL (RFC 7714).
 *
 * Why: protecting RTP is the per-packet cost of every packet the SFU
 * forwards (worker commit_media -> cc_peer_protect_rtp), and Debian's
 * libsrtp2 is built on NSS, whose AES-GCM costs 2-4x OpenSSL's EVP
 * AES-128-GCM for the same 1200-byte packet (docs/TESTING.md, section 4:
 * ~1.0-1.9 us vs 0.46 us). Only this one operation moves; libsrtp keeps
 * unprotect of RTP and RTCP, RTCP protect and the whole AES_CM profile.
 * The output is byte-identical to libsrtp's for the same keys and packets
 * (checked by tests/unit/test_srtp.c against a libsrtp session).
 *
 * Per outbound SSRC we keep the highest sequence number sent and its ROC
 * (RFC 3711 section 3.3.1) and estimate the ROC of an out-of-order packet
 * (a NACK resend, libsrtp's allow_repeat_tx) like RFC 3711 appendix A,
 * with libsrtp's two refinements so the indices match its own: while the
 * highest index is <= 2^15 (ROC 0) every packet is taken as ROC 0, and a
 * packet REPLAY_WINDOW or more behind the highest index is refused.
 * --------------------------------------------------------------------- */

/* Outbound SSRCs one session protects for: a subscriber's streams (one
 * per track it receives, plus RTX) and the SSRCs of our own RTCP-less
 * senders. An SSRC's state is kept for the life of the session and never
 * replaced: forgetting its ROC and meeting the SSRC again would encrypt new
 * packets under (SSRC, ROC, SEQ) values already used, and a repeated IV
 * under one AES-GCM key gives away the XOR of two plaintexts and lets the
 * authentication key be recovered (RFC 7714 section 8 requires a unique IV
 * per packet). A new SSRC once the table is full is refused and counted
 * (cc_srtp_stats.protect_ssrc_full). */
#define GCM_SSRC_SLOTS 64
#define GCM_TAG_LEN 16  /* RFC 7714 section 14.2: AEAD_AES_128_GCM, 16 */
#define GCM_SALT_LEN 12 /* RFC 7714 section 12 */

typedef struct gcm_ssrc_state {
    uint32_t ssrc;
    uint32_t roc;       /* ROC of the highest index sent */
    uint16_t seq;       /* SEQ of the highest index sent */
} gcm_ssrc_state;

/* What every packet reads first, then the first SSRCs' states: one cache
 * line for a subscriber of a lesson's three streams (cc_srtp_tx_lines). */
typedef struct gcm_out {
    EVP_CIPHER_CTX *ctx; /* keyed once with the session key; per packet only
                          * the IV is set */
    int n_ssrc;   /* ssrc[0..n_ssrc) in use, in order of first use */
    int last;     /* index of the last SSRC protected: the usual hit */
    uint8_t salt[GCM_SALT_LEN]; /* session salt k_s */
    gcm_ssrc_state ssrc[GCM_SSRC_SLOTS];
} gcm_out;

struct cc_srtp {
    srtp_t in;
    srtp_t out;  /* all outbound for AES_CM; only RTCP for GCM */
    gcm_out *gcm; /* outbound RTP for GCM; NULL for AES_CM */
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
     * identical (docs/WEBRTC.md, section 3, "SRTP details"). */
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


/* SRTP key derivation, RFC 3711 section 4.3.1 with key_derivation_rate 0
 * (RFC 7714 section 11 uses it unchanged): x = (label || r) XOR salt, with
 * the 7-byte label || r aligned right in the 14-byte salt, so the label is
 * XORed into salt byte 7 (r = 0). A 12-byte salt is first padded with two
 * zero bytes on the right, as libsrtp does for its 96-bit GCM salts. The
 * output is the AES-CM keystream of the master key at IV x * 2^16, i.e.
 * AES_k(x || counter) for counter 0, 1, ... in the low 16 bits. */
static int srtp_kdf(const uint8_t *mkey, const uint8_t *msalt, size_t msalt_len,
                    uint8_t label, uint8_t *out, size_t n)
{
    if (msalt_len > 14 || n > 16 * 0xFFFF) return CC_EINVAL;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c) return CC_ENOMEM;
    int rc = CC_ECRYPTO;
    uint8_t block[16], ks[16];
    memset(block, 0, sizeof block);
    memcpy(block, msalt, msalt_len);
    block[7] ^= label;
    if (EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, mkey, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(c, 0) != 1)
        goto out;
    for (size_t off = 0, ctr = 0; off < n; off += 16, ctr++) {
        block[14] = (uint8_t)(ctr >> 8);
        block[15] = (uint8_t)ctr;
        int l = 0;
        if (EVP_EncryptUpdate(c, ks, &l, block, 16) != 1 || l != 16)
            goto out;
        size_t take = n - off < 16 ? n - off : 16;
        memcpy(out + off, ks, take);
    }
    rc = 0;
out:
    explicit_bzero(ks, sizeof ks);
    explicit_bzero(block, sizeof block);
    EVP_CIPHER_CTX_free(c);
    return rc;
}

static void gcm_free(gcm_out *g)
{
    if (!g) return;
    EVP_CIPHER_CTX_free(g->ctx); /* clears the expanded key */
    explicit_bzero(g, sizeof *g);
    free(g);
}

static int gcm_new(gcm_out **out, const uint8_t *mkey, const uint8_t *msalt)
{
    *out = NULL;
    gcm_out *g = calloc(1, sizeof *g);
    if (!g) return CC_ENOMEM;
    uint8_t k_e[16];
    int rc = srtp_kdf(mkey, msalt, GCM_SALT_LEN, 0x00, k_e, sizeof k_e);
    if (rc == 0)
        rc = srtp_kdf(mkey, msalt, GCM_SALT_LEN, 0x02, g->salt, GCM_SALT_LEN);
    if (rc == 0) {
        g->ctx = EVP_CIPHER_CTX_new();
        rc = CC_ENOMEM;
        if (g->ctx) {
            rc = CC_ECRYPTO;
            if (EVP_EncryptInit_ex(g->ctx, EVP_aes_128_gcm(), NULL, NULL,
                                   NULL) == 1 &&
                EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_GCM_SET_IVLEN,
                                    GCM_SALT_LEN, NULL) == 1 &&
                EVP_EncryptInit_ex(g->ctx, NULL, NULL, k_e, NULL) == 1)
                rc = 0;
        }
    }
    explicit_bzero(k_e, sizeof k_e);
    if (rc != 0) {
        gcm_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

/* The state of ssrc, a fresh one if not yet seen (*fresh tells which), or
 * NULL when the table is full (see GCM_SSRC_SLOTS). */
static gcm_ssrc_state *gcm_ssrc(gcm_out *g, uint32_t ssrc, int *fresh)
{
    *fresh = 0;
    if (g->n_ssrc > 0 && g->ssrc[g->last].ssrc == ssrc)
        return &g->ssrc[g->last];
    for (int i = 0; i < g->n_ssrc; i++) {
        if (g->ssrc[i].ssrc == ssrc) {
            g->last = i;
            return &g->ssrc[i];
        }
    }
    if (g->n_ssrc == GCM_SSRC_SLOTS)
        return NULL;
    gcm_ssrc_state *e = &g->ssrc[g->n_ssrc];
    memset(e, 0, sizeof *e);
    e->ssrc = ssrc;
    g->last = g->n_ssrc++;
    *fresh = 1;
    return e;
}

/* Header length (RFC 3550 section 5.1: 12 + 4 * CC, plus the RFC 3550
 * section 5.3.1 extension block), or 0 when it does not fit in len: the
 * checks libsrtp's srtp_validate_rtp_header makes. */
static size_t rtp_header_len(const uint8_t *p, size_t len)
{
    if (len < 12) return 0;
    size_t h = 12 + 4 * (size_t)(p[0] & 0x0f);
    if (p[0] & 0x10) {
        if (len < h + 4) return 0;
        h += 4 + 4 * (size_t)((size_t)p[h + 2] << 8 | p[h + 3]);
    }
    return h <= len ? h : 0;
}

/* RFC 7714 section 8: IV = salt XOR (00 00 || SSRC || ROC || SEQ),
 * AAD = the RTP header, ciphertext in place, 16-byte tag appended. The
 * caller checked that cap leaves room for the tag. */
static int gcm_protect_rtp(cc_srtp *s, uint8_t *buf, size_t len,
                           size_t *out_len)
{
    gcm_out *g = s->gcm;
    size_t h = rtp_header_len(buf, len);
    if (h == 0) {
        s->stats.protect_fail++;
        CC_LOG_RL(CC_LOG_WARN, SRTP_MOD, "protect rtp: bad header (%zu bytes)",
                  len);
        return CC_EINVAL;
    }
    uint16_t seq = (uint16_t)(buf[2] << 8 | buf[3]);
    uint32_t ssrc = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 |
                    (uint32_t)buf[10] << 8 | buf[11];

    int fresh = 0;
    gcm_ssrc_state *st = gcm_ssrc(g, ssrc, &fresh);
    if (!st) {
        s->stats.protect_fail++;
        s->stats.protect_ssrc_full++;
        CC_LOG_RL(CC_LOG_WARN, SRTP_MOD,
                  "protect rtp: more than %d outbound SSRCs, refusing %u",
                  GCM_SSRC_SLOTS, (unsigned)ssrc);
        return CC_ELIMIT;
    }
    uint32_t roc;
    if (fresh || (st->roc == 0 && st->seq <= 0x8000)) {
        roc = 0;
    } else if (st->seq < 0x8000) {
        roc = (int)seq - (int)st->seq > 0x8000 ? st->roc - 1 : st->roc;
    } else {
        roc = (int)st->seq - 0x8000 > (int)seq ? st->roc + 1 : st->roc;
    }
    uint64_t idx = (uint64_t)roc << 16 | seq;
    uint64_t top = (uint64_t)st->roc << 16 | st->seq;
    if (!fresh && idx + REPLAY_WINDOW <= top) {
        /* Mirrors libsrtp's outbound replay_old: a resend this late would
         * be refused by the receiver's replay window anyway. */
        s->stats.protect_fail++;
        CC_LOG_RL(CC_LOG_WARN, SRTP_MOD,
                  "protect rtp: seq %u of ssrc %u too old", (unsigned)seq,
                  (unsigned)ssrc);
        return CC_EINVAL;
    }

    uint8_t iv[GCM_SALT_LEN] = {
        0, 0, buf[8], buf[9], buf[10], buf[11],
        (uint8_t)(roc >> 24), (uint8_t)(roc >> 16), (uint8_t)(roc >> 8),
        (uint8_t)roc, buf[2], buf[3],
    };
    for (int i = 0; i < GCM_SALT_LEN; i++) iv[i] ^= g->salt[i];

    int l = 0, l2 = 0;
    if (EVP_EncryptInit_ex(g->ctx, NULL, NULL, NULL, iv) != 1 ||
        EVP_EncryptUpdate(g->ctx, NULL, &l, buf, (int)h) != 1 ||
        EVP_EncryptUpdate(g->ctx, buf + h, &l, buf + h, (int)(len - h)) != 1 ||
        EVP_EncryptFinal_ex(g->ctx, buf + h + l, &l2) != 1 ||
        (size_t)l + (size_t)l2 != len - h ||
        EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN,
                            buf + len) != 1) {
        s->stats.protect_fail++;
        CC_LOG_RL(CC_LOG_WARN, SRTP_MOD, "protect rtp: AES-GCM failed");
        return CC_ECRYPTO;
    }
    if (fresh || idx > top) {
        st->roc = roc;
        st->seq = seq;
    }
    *out_len = len + GCM_TAG_LEN;
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
    if (rc == 0 && keys->profile == CC_SRTP_AEAD_AES_128_GCM)
        rc = gcm_new(&s->gcm, keys->local_key, keys->local_salt);
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
    gcm_free(s->gcm);
    free(s);
}

int cc_srtp_tx_lines(const cc_srtp *s, const void **v, int max)
{
    int n = 0;
    if (!s || max < 1)
        return 0;
    v[n++] = s;
    const gcm_out *g = s->gcm;
    if (!g)
        return n;
    /* OpenSSL's EVP_CIPHER_CTX is opaque: its first lines, where a cipher
     * context keeps its method and state pointers (its size is not ours
     * to know; a prefetch past it is harmless). */
    const void *a[] = {g, &g->ssrc[g->last], g->ctx, (const char *)g->ctx + 64,
                       (const char *)g->ctx + 128};
    for (size_t i = 0; i < sizeof a / sizeof a[0] && n < max; i++)
        v[n++] = a[i];
    return n;
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
    if (!rtcp && s->gcm) return gcm_protect_rtp(s, buf, len, out_len);
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
