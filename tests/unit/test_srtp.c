/* Unit tests for src/rtc/srtp.c (libsrtp wrapper).
 *
 * Besides round trips, the known-answer tests compare libsrtp's output with
 * an independent reference written here on OpenSSL primitives, following
 * RFC 3711 (sections 4.1.1 AES-CM, 4.2 HMAC-SHA1, 4.3 key derivation, 3.4
 * SRTCP) and RFC 7714 (section 8 AES-GCM). The reference itself is checked
 * against the RFC 3711 appendix B.2 and B.3 vectors first, so a wrong
 * reference cannot make a wrong libsrtp configuration look right. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <srtp2/srtp.h>

#include "cc_test.h"
#include "classcast/err.h"
#include "classcast/srtp.h"

/* ------------------------------------------------------------ reference */

/* AES-128 in counter mode with a full 128-bit big-endian counter starting
 * at iv: RFC 3711 section 4.1.1 (the counter only ever moves the low 16
 * bits for packets under 1 MB, so OpenSSL's 128-bit increment matches). */
static void ref_aes_cm(const uint8_t key[16], const uint8_t iv[16],
                       const uint8_t *in, uint8_t *out, size_t n)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv);
    EVP_EncryptUpdate(c, out, &l1, in, (int)n);
    EVP_EncryptFinal_ex(c, out + l1, &l2);
    EVP_CIPHER_CTX_free(c);
}

/* RFC 3711 section 4.3.1 with key_derivation_rate 0 (r = 0):
 * x = (label || r) XOR master_salt, output = AES-CM(master_key, x * 2^16).
 * label || r is 7 bytes aligned to the right end of the 14-byte salt, so the
 * label lands on salt byte 7. salt_len 12 (RFC 7714) is padded on the right
 * with zeros to 14 bytes, as libsrtp does for its 96-bit GCM salts. */
static void ref_kdf(const uint8_t *mkey, const uint8_t *msalt, size_t msalt_len,
                    uint8_t label, uint8_t *out, size_t n)
{
    uint8_t iv[16] = {0};
    memcpy(iv, msalt, msalt_len);
    iv[7] ^= label;
    uint8_t zero[64] = {0};
    ref_aes_cm(mkey, iv, zero, out, n);
}

/* Header length of an RTP packet (RFC 3550 section 5.1 / 5.3.1). */
static size_t rtp_hdr_len(const uint8_t *p)
{
    size_t h = 12 + 4 * (size_t)(p[0] & 0x0f);
    if (p[0] & 0x10) h += 4 + 4 * (size_t)(p[h + 2] << 8 | p[h + 3]);
    return h;
}

/* SRTP with AES_CM_128_HMAC_SHA1_80, ROC 0: RFC 3711 sections 3.1, 4.1.1,
 * 4.2. Returns the protected length. */
static size_t ref_srtp_cm(const uint8_t mkey[16], const uint8_t msalt[14],
                          const uint8_t *pkt, size_t len, uint32_t roc,
                          uint8_t *out)
{
    uint8_t ke[16], ka[20], ks[14];
    ref_kdf(mkey, msalt, 14, 0x00, ke, 16);
    ref_kdf(mkey, msalt, 14, 0x01, ka, 20);
    ref_kdf(mkey, msalt, 14, 0x02, ks, 14);

    size_t h = rtp_hdr_len(pkt);
    uint64_t index = (uint64_t)roc << 16 | (uint64_t)(pkt[2] << 8 | pkt[3]);
    /* IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16) */
    uint8_t iv[16] = {0};
    memcpy(iv, ks, 14);
    for (int b = 0; b < 4; b++) iv[4 + b] ^= pkt[8 + b];
    for (int b = 0; b < 6; b++) iv[8 + b] ^= (uint8_t)(index >> (40 - 8 * b));

    memcpy(out, pkt, h);
    ref_aes_cm(ke, iv, pkt + h, out + h, len - h);

    /* Authenticated portion || ROC (section 4.2), tag = 80 leftmost bits.
     * The ROC goes where the tag will be, then is overwritten by it. */
    out[len] = (uint8_t)(roc >> 24);
    out[len + 1] = (uint8_t)(roc >> 16);
    out[len + 2] = (uint8_t)(roc >> 8);
    out[len + 3] = (uint8_t)roc;
    uint8_t mac[20];
    unsigned int maclen = 0;
    HMAC(EVP_sha1(), ka, 20, out, len + 4, mac, &maclen);
    memcpy(out + len, mac, 10);
    return len + 10;
}

/* SRTCP with AES_CM_128_HMAC_SHA1_80: RFC 3711 section 3.4 (labels 3, 4, 5,
 * encryption from byte 8, E flag + 31-bit index appended and authenticated). */
static size_t ref_srtcp_cm(const uint8_t mkey[16], const uint8_t msalt[14],
                           const uint8_t *pkt, size_t len, uint32_t index,
                           uint8_t *out)
{
    uint8_t ke[16], ka[20], ks[14];
    ref_kdf(mkey, msalt, 14, 0x03, ke, 16);
    ref_kdf(mkey, msalt, 14, 0x04, ka, 20);
    ref_kdf(mkey, msalt, 14, 0x05, ks, 14);
    uint8_t iv[16] = {0};
    memcpy(iv, ks, 14);
    for (int b = 0; b < 4; b++) iv[4 + b] ^= pkt[4 + b];
    for (int b = 0; b < 4; b++) iv[10 + b] ^= (uint8_t)(index >> (24 - 8 * b));
    memcpy(out, pkt, 8);
    ref_aes_cm(ke, iv, pkt + 8, out + 8, len - 8);
    uint32_t ei = 0x80000000u | index;
    out[len] = (uint8_t)(ei >> 24);
    out[len + 1] = (uint8_t)(ei >> 16);
    out[len + 2] = (uint8_t)(ei >> 8);
    out[len + 3] = (uint8_t)ei;
    uint8_t mac[20];
    unsigned int maclen = 0;
    HMAC(EVP_sha1(), ka, 20, out, len + 4, mac, &maclen);
    memcpy(out + len + 4, mac, 10);
    return len + 14;
}

/* SRTP with AEAD_AES_128_GCM: RFC 7714 sections 8.1 (IV), 8.2 (AAD = the
 * header), 11 (keys from the RFC 3711 KDF), tag appended. */
static size_t ref_srtp_gcm(const uint8_t mkey[16], const uint8_t msalt[12],
                           const uint8_t *pkt, size_t len, uint32_t roc,
                           uint8_t *out)
{
    uint8_t ke[16], ks[12];
    ref_kdf(mkey, msalt, 12, 0x00, ke, 16);
    ref_kdf(mkey, msalt, 12, 0x02, ks, 12);
    /* IV = (00 00 || SSRC || ROC || SEQ) XOR salt */
    uint8_t iv[12] = {0, 0, pkt[8], pkt[9], pkt[10], pkt[11],
                      (uint8_t)(roc >> 24), (uint8_t)(roc >> 16),
                      (uint8_t)(roc >> 8), (uint8_t)roc, pkt[2], pkt[3]};
    for (int b = 0; b < 12; b++) iv[b] ^= ks[b];
    size_t h = rtp_hdr_len(pkt);
    memcpy(out, pkt, h);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l = 0;
    EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL);
    EVP_EncryptInit_ex(c, NULL, NULL, ke, iv);
    EVP_EncryptUpdate(c, NULL, &l, pkt, (int)h);
    EVP_EncryptUpdate(c, out + h, &l, pkt + h, (int)(len - h));
    EVP_EncryptFinal_ex(c, out + h + l, &l);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + len);
    EVP_CIPHER_CTX_free(c);
    return len + 16;
}

/* ------------------------------------------------------------- fixtures */

static const char *MKEY_HEX = "E1F97A0D3E018BE0D64FA32C06DE4139";
static const char *MSALT_HEX = "0EC675AD498AFEEBB6960B3AABE6";

static void make_keys(cc_srtp_keys *a, cc_srtp_keys *b, cc_srtp_profile prof)
{
    memset(a, 0, sizeof *a);
    a->profile = prof;
    a->key_len = 16;
    a->salt_len = prof == CC_SRTP_AEAD_AES_128_GCM ? 12 : 14;
    for (size_t i = 0; i < 16; i++) {
        a->local_key[i] = (uint8_t)(0x10 + i);
        a->remote_key[i] = (uint8_t)(0x80 + i);
    }
    for (size_t i = 0; i < a->salt_len; i++) {
        a->local_salt[i] = (uint8_t)(0x30 + i);
        a->remote_salt[i] = (uint8_t)(0xA0 + i);
    }
    /* b is the peer: its local keys are a's remote ones. */
    *b = *a;
    memcpy(b->local_key, a->remote_key, 16);
    memcpy(b->remote_key, a->local_key, 16);
    memcpy(b->local_salt, a->remote_salt, 14);
    memcpy(b->remote_salt, a->local_salt, 14);
}

static size_t make_rtp(uint8_t *p, uint16_t seq, size_t payload)
{
    p[0] = 0x80;
    p[1] = 96;
    p[2] = (uint8_t)(seq >> 8);
    p[3] = (uint8_t)seq;
    p[4] = 0x00; p[5] = 0x01; p[6] = 0xE2; p[7] = 0x40; /* timestamp */
    p[8] = 0xCA; p[9] = 0xFE; p[10] = 0xBA; p[11] = 0xBE; /* SSRC */
    for (size_t i = 0; i < payload; i++) p[12 + i] = (uint8_t)(i * 7 + seq);
    return 12 + payload;
}

/* An RTCP receiver report with one report block (RFC 3550 section 6.4.2). */
static size_t make_rtcp(uint8_t *p)
{
    static const uint8_t rr[] = {
        0x81, 201, 0x00, 0x07, 0xCA, 0xFE, 0xBA, 0xBE, /* RR, SSRC */
        0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x01, /* source, lost */
        0x00, 0x00, 0x12, 0x34, 0x00, 0x00, 0x00, 0x10, /* ext seq, jitter */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* LSR, DLSR */
    };
    memcpy(p, rr, sizeof rr);
    return sizeof rr;
}

/* ---------------------------------------------------------------- tests */

/* RFC 3711 appendix B.2: AES-CM keystream for the first three counters. */
static void test_ref_b2_keystream(void)
{
    uint8_t key[16], iv[16], ks[48], zero[48] = {0}, want[48];
    cc_test_hex("2B7E151628AED2A6ABF7158809CF4F3C", key, sizeof key);
    cc_test_hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000", iv, sizeof iv);
    cc_test_hex("E03EAD0935C95E80E166B16DD92B4EB4"
                "D23513162B02D0F72A43A2FE4A5F97AB"
                "41E95B3BB0A2E8DD477901E4FCA894C0",
                want, sizeof want);
    ref_aes_cm(key, iv, zero, ks, sizeof ks);
    CC_CHECK_MEM(ks, want, sizeof want);
}

/* RFC 3711 appendix B.3: key derivation. */
static void test_ref_b3_kdf(void)
{
    uint8_t mk[16], ms[14], k[16], a[20], s[14], wk[16], wa[20], ws[14];
    cc_test_hex(MKEY_HEX, mk, sizeof mk);
    cc_test_hex(MSALT_HEX, ms, sizeof ms);
    cc_test_hex("C61E7A93744F39EE10734AFE3FF7A087", wk, sizeof wk);
    cc_test_hex("30CBBC08863D8C85D49DB34A9AE1", ws, sizeof ws);
    cc_test_hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4", wa, sizeof wa);
    ref_kdf(mk, ms, 14, 0x00, k, 16);
    ref_kdf(mk, ms, 14, 0x01, a, 20);
    ref_kdf(mk, ms, 14, 0x02, s, 14);
    CC_CHECK_MEM(k, wk, 16);
    CC_CHECK_MEM(a, wa, 20);
    CC_CHECK_MEM(s, ws, 14);
}

static void known_answer(cc_srtp_profile prof)
{
    cc_srtp_keys k;
    memset(&k, 0, sizeof k);
    k.profile = prof;
    k.key_len = 16;
    k.salt_len = prof == CC_SRTP_AEAD_AES_128_GCM ? 12 : 14;
    cc_test_hex(MKEY_HEX, k.local_key, 16);
    cc_test_hex(MSALT_HEX, k.local_salt, 14); /* GCM uses the first 12 */
    memcpy(k.remote_key, k.local_key, 16);
    memcpy(k.remote_salt, k.local_salt, 14);
    cc_srtp *s = NULL;
    CC_CHECK_EQ(cc_srtp_new(&s, &k), 0);
    if (!s) return;

    for (uint16_t seq = 1000; seq < 1003; seq++) {
        uint8_t pkt[256], ref[256], buf[256];
        size_t len = make_rtp(pkt, seq, 77), out = 0, rlen;
        memcpy(buf, pkt, len);
        CC_CHECK_EQ(cc_srtp_protect_rtp(s, buf, len, sizeof buf, &out), 0);
        if (prof == CC_SRTP_AEAD_AES_128_GCM)
            rlen = ref_srtp_gcm(k.local_key, k.local_salt, pkt, len, 0, ref);
        else
            rlen = ref_srtp_cm(k.local_key, k.local_salt, pkt, len, 0, ref);
        CC_CHECK_EQ(out, rlen);
        CC_CHECK_MEM(buf, ref, rlen);
    }

    if (prof == CC_SRTP_AES128_CM_SHA1_80) {
        uint8_t pkt[128], ref[128], buf[128];
        size_t len = make_rtcp(pkt), out = 0;
        memcpy(buf, pkt, len);
        CC_CHECK_EQ(cc_srtp_protect_rtcp(s, buf, len, sizeof buf, &out), 0);
        CC_CHECK_EQ(out, len + 14);
        /* Take libsrtp's SRTCP index (its starting value is its choice),
         * check the E flag, and recompute everything else. */
        uint32_t ei = (uint32_t)buf[len] << 24 | (uint32_t)buf[len + 1] << 16 |
                      (uint32_t)buf[len + 2] << 8 | buf[len + 3];
        CC_CHECK(ei & 0x80000000u);
        size_t rlen = ref_srtcp_cm(k.local_key, k.local_salt, pkt, len,
                                   ei & 0x7fffffffu, ref);
        CC_CHECK_EQ(rlen, out);
        CC_CHECK_MEM(buf, ref, rlen);
    }
    cc_srtp_free(s);
}

static void test_known_answer_cm(void) { known_answer(CC_SRTP_AES128_CM_SHA1_80); }
static void test_known_answer_gcm(void) { known_answer(CC_SRTP_AEAD_AES_128_GCM); }

static void round_trip(cc_srtp_profile prof)
{
    cc_srtp_keys ka, kb;
    make_keys(&ka, &kb, prof);
    cc_srtp *a = NULL, *b = NULL;
    CC_CHECK_EQ(cc_srtp_new(&a, &ka), 0);
    CC_CHECK_EQ(cc_srtp_new(&b, &kb), 0);
    if (!a || !b) goto out;
    size_t tag = prof == CC_SRTP_AEAD_AES_128_GCM ? 16 : 10;

    /* RTP both ways. */
    for (int dir = 0; dir < 2; dir++) {
        cc_srtp *tx = dir ? b : a, *rx = dir ? a : b;
        for (uint16_t seq = 65530; seq != 5; seq++) { /* crosses a wrap */
            uint8_t pkt[1500], buf[1500];
            size_t len = make_rtp(pkt, seq, 1100), out = 0, back = 0;
            memcpy(buf, pkt, len);
            CC_CHECK_EQ(cc_srtp_protect_rtp(tx, buf, len, sizeof buf, &out), 0);
            CC_CHECK_EQ(out, len + tag);
            CC_CHECK(memcmp(buf + 12, pkt + 12, len - 12) != 0);
            CC_CHECK_EQ(cc_srtp_unprotect_rtp(rx, buf, out, &back), 0);
            CC_CHECK_EQ(back, len);
            CC_CHECK_MEM(buf, pkt, len);
        }
        /* RTCP: tag + 4-byte E/index word (RFC 3711 section 3.4). */
        uint8_t pkt[128], buf[128];
        size_t len = make_rtcp(pkt), out = 0, back = 0;
        memcpy(buf, pkt, len);
        CC_CHECK_EQ(cc_srtp_protect_rtcp(tx, buf, len, sizeof buf, &out), 0);
        CC_CHECK_EQ(out, len + tag + 4);
        CC_CHECK_EQ(cc_srtp_unprotect_rtcp(rx, buf, out, &back), 0);
        CC_CHECK_EQ(back, len);
        CC_CHECK_MEM(buf, pkt, len);
    }

    /* The wrong direction's keys do not authenticate. */
    {
        uint8_t buf[256];
        size_t len = make_rtp(buf, 7, 50), out = 0, back = 0;
        CC_CHECK_EQ(cc_srtp_protect_rtp(a, buf, len, sizeof buf, &out), 0);
        CC_CHECK_EQ(cc_srtp_unprotect_rtp(a, buf, out, &back), CC_EAUTH);
    }
out:
    cc_srtp_free(a);
    cc_srtp_free(b);
}

static void test_round_trip_cm(void) { round_trip(CC_SRTP_AES128_CM_SHA1_80); }
static void test_round_trip_gcm(void) { round_trip(CC_SRTP_AEAD_AES_128_GCM); }

static void failures(cc_srtp_profile prof)
{
    cc_srtp_keys ka, kb;
    make_keys(&ka, &kb, prof);
    cc_srtp *a = NULL, *b = NULL;
    CC_CHECK_EQ(cc_srtp_new(&a, &ka), 0);
    CC_CHECK_EQ(cc_srtp_new(&b, &kb), 0);
    if (!a || !b) goto out;
    const cc_srtp_stats *st = cc_srtp_get_stats(b);

    uint8_t pkt[512], buf[512], copy[512];
    size_t len = make_rtp(pkt, 100, 200), out = 0, back = 0;

    /* Tampering with a payload byte: RFC 3711 section 3.3 step 5. */
    memcpy(buf, pkt, len);
    CC_CHECK_EQ(cc_srtp_protect_rtp(a, buf, len, sizeof buf, &out), 0);
    memcpy(copy, buf, out);
    buf[40] ^= 0x01;
    CC_CHECK_EQ(cc_srtp_unprotect_rtp(b, buf, out, &back), CC_EAUTH);
    CC_CHECK_EQ(st->unprotect_auth_fail, 1);
    /* ... and with the header (authenticated, not encrypted). */
    memcpy(buf, copy, out);
    buf[1] ^= 0x01;
    CC_CHECK_EQ(cc_srtp_unprotect_rtp(b, buf, out, &back), CC_EAUTH);
    CC_CHECK_EQ(st->unprotect_auth_fail, 2);

    /* The genuine packet still passes (a failed tag consumed no index). */
    memcpy(buf, copy, out);
    CC_CHECK_EQ(cc_srtp_unprotect_rtp(b, buf, out, &back), 0);
    CC_CHECK_MEM(buf, pkt, len);

    /* Replay of the same protected packet: RFC 3711 section 3.3.2. */
    memcpy(buf, copy, out);
    CC_CHECK_EQ(cc_srtp_unprotect_rtp(b, buf, out, &back), CC_EAUTH);
    CC_CHECK_EQ(st->unprotect_replay, 1);
    CC_CHECK_EQ(st->unprotect_auth_fail, 2);

    /* A resend of the same plaintext (NACK answered with the very same
     * packet) protects fine thanks to allow_repeat_tx, to identical bytes. */
    memcpy(buf, pkt, len);
    CC_CHECK_EQ(cc_srtp_protect_rtp(a, buf, len, sizeof buf, &out), 0);
    CC_CHECK_MEM(buf, copy, out);
    CC_CHECK_EQ(cc_srtp_get_stats(a)->protect_fail, 0);

    /* Far older than the 1024-packet window: replay_old. Seq 120 is
     * protected in order (libsrtp's outbound side refuses indices left of
     * its own window too) but held back and delivered after 1100 newer. */
    uint8_t held[512];
    size_t held_len = 0;
    for (uint16_t seq = 101; seq < 101 + 1100; seq++) {
        size_t l = make_rtp(buf, seq, 20);
        CC_CHECK_EQ(cc_srtp_protect_rtp(a, buf, l, sizeof buf, &out), 0);
        if (seq == 120) {
            memcpy(held, buf, out);
            held_len = out;
            continue;
        }
        CC_CHECK_EQ(cc_srtp_unprotect_rtp(b, buf, out, &back), 0);
    }
    CC_CHECK_EQ(cc_srtp_unprotect_rtp(b, held, held_len, &back), CC_EAUTH);
    CC_CHECK_EQ(st->unprotect_replay, 2);

    /* Truncated / garbage input is an error, never a crash. */
    CC_CHECK_EQ(cc_srtp_unprotect_rtp(b, buf, 5, &back), CC_EINVAL);
    CC_CHECK_EQ(cc_srtp_unprotect_rtcp(b, buf, 3, &back), CC_EINVAL);
    CC_CHECK(st->unprotect_other_fail >= 2);
    {
        uint8_t junk[64];
        for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 31 + 5);
        junk[0] = 0x80; /* version 2, so it reaches the tag check */
        CC_CHECK(cc_srtp_unprotect_rtp(b, junk, sizeof junk, &back) < 0);
        junk[0] = 0x80;
        junk[1] = 200;
        CC_CHECK(cc_srtp_unprotect_rtcp(b, junk, sizeof junk, &back) < 0);
    }

    /* Too little room for the trailer: refused before libsrtp writes. */
    len = make_rtp(buf, 3000, 100);
    CC_CHECK_EQ(cc_srtp_protect_rtp(a, buf, len, len + CC_SRTP_MAX_TRAILER - 1,
                                    &out), CC_ENOSPC);
    CC_CHECK_EQ(cc_srtp_get_stats(a)->protect_fail, 1);
out:
    cc_srtp_free(a);
    cc_srtp_free(b);
}

static void test_failures_cm(void) { failures(CC_SRTP_AES128_CM_SHA1_80); }
static void test_failures_gcm(void) { failures(CC_SRTP_AEAD_AES_128_GCM); }

/* The documented reserve is exactly enough: protect into a heap buffer of
 * len + CC_SRTP_MAX_TRAILER so AddressSanitizer sees any overrun. */
static void test_trailer_reserve(void)
{
    cc_srtp_profile profs[] = {CC_SRTP_AES128_CM_SHA1_80,
                               CC_SRTP_AEAD_AES_128_GCM};
    for (int i = 0; i < 2; i++) {
        cc_srtp_keys ka, kb;
        make_keys(&ka, &kb, profs[i]);
        cc_srtp *a = NULL;
        CC_CHECK_EQ(cc_srtp_new(&a, &ka), 0);
        if (!a) continue;
        size_t len = 333, out = 0;
        uint8_t *buf = malloc(len + CC_SRTP_MAX_TRAILER);
        make_rtp(buf, 1, len - 12);
        CC_CHECK_EQ(cc_srtp_protect_rtp(a, buf, len, len + CC_SRTP_MAX_TRAILER,
                                        &out), 0);
        free(buf);
        buf = malloc(len + CC_SRTP_MAX_TRAILER);
        memset(buf, 0, len);
        make_rtcp(buf);
        buf[2] = 0x00;
        buf[3] = (uint8_t)(len / 4 - 1);
        len = (len / 4) * 4;
        CC_CHECK_EQ(cc_srtp_protect_rtcp(a, buf, len, len + CC_SRTP_MAX_TRAILER,
                                         &out), 0);
        CC_CHECK(out <= len + CC_SRTP_MAX_TRAILER);
        free(buf);
        cc_srtp_free(a);
    }
}

static void test_bad_keys(void)
{
    cc_srtp_keys k, kb;
    cc_srtp *s = NULL;
    CC_CHECK_EQ(cc_srtp_global_init(), 0);
    CC_CHECK_EQ(cc_srtp_global_init(), 0); /* idempotent */
    make_keys(&k, &kb, CC_SRTP_AEAD_AES_128_GCM);
    k.salt_len = 14; /* GCM salts are 12 bytes (RFC 7714 section 12) */
    CC_CHECK_EQ(cc_srtp_new(&s, &k), CC_EINVAL);
    k.profile = CC_SRTP_PROFILE_NONE;
    CC_CHECK_EQ(cc_srtp_new(&s, &k), CC_EINVAL);
    CC_CHECK(s == NULL);
    CC_CHECK(strcmp(cc_srtp_profile_name(CC_SRTP_AEAD_AES_128_GCM),
                    "SRTP_AEAD_AES_128_GCM") == 0);
    cc_srtp_free(NULL);
}

/* ------------------------------------- GCM fast path against libsrtp */

/* Outbound RTP under AEAD_AES_128_GCM goes through OpenSSL directly in
 * src/rtc/srtp.c; it must produce exactly what a plain libsrtp session
 * configured like cc_srtp's (ssrc_any_outbound, window 1024,
 * allow_repeat_tx) produces for the same keys and packets. */

static uint64_t rng_state;
static uint32_t rng(void)
{
    /* xorshift64*: deterministic, seeded per trial. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static srtp_t libsrtp_gcm_out(const uint8_t key[16], const uint8_t salt[12])
{
    uint8_t master[28];
    memcpy(master, key, 16);
    memcpy(master + 16, salt, 12);
    srtp_policy_t pol;
    memset(&pol, 0, sizeof pol);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
    pol.ssrc.type = ssrc_any_outbound;
    pol.key = master;
    pol.window_size = 1024;
    pol.allow_repeat_tx = 1;
    srtp_t out = NULL;
    CC_CHECK_EQ(srtp_create(&out, &pol), srtp_err_status_ok);
    return out;
}

/* A random RTP packet: CSRCs, an extension block, payload of any size. */
static size_t make_rand_rtp(uint8_t *p, uint32_t ssrc, uint16_t seq)
{
    size_t cc = rng() % 4, ext = rng() % 2, pay = rng() % 1201;
    p[0] = (uint8_t)(0x80 | (ext ? 0x10 : 0) | cc);
    p[1] = (uint8_t)(rng() % 2 ? 0x80 | 96 : 111);
    p[2] = (uint8_t)(seq >> 8);
    p[3] = (uint8_t)seq;
    uint32_t ts = rng();
    p[4] = (uint8_t)(ts >> 24); p[5] = (uint8_t)(ts >> 16);
    p[6] = (uint8_t)(ts >> 8); p[7] = (uint8_t)ts;
    p[8] = (uint8_t)(ssrc >> 24); p[9] = (uint8_t)(ssrc >> 16);
    p[10] = (uint8_t)(ssrc >> 8); p[11] = (uint8_t)ssrc;
    size_t h = 12;
    for (size_t i = 0; i < 4 * cc; i++) p[h++] = (uint8_t)rng();
    if (ext) {
        size_t words = rng() % 5;
        p[h++] = 0xBE; p[h++] = 0xDE; /* RFC 8285 one-byte form */
        p[h++] = 0; p[h++] = (uint8_t)words;
        for (size_t i = 0; i < 4 * words; i++) p[h++] = (uint8_t)rng();
    }
    for (size_t i = 0; i < pay; i++) p[h++] = (uint8_t)rng();
    return h;
}

#define GCM_MAXPKT (12 + 16 + 4 + 16 + 1200)
#define GCM_HIST 32

typedef struct sent_pkt {
    uint8_t plain[GCM_MAXPKT];
    size_t len;
    uint8_t prot[GCM_MAXPKT + CC_SRTP_MAX_TRAILER];
    size_t prot_len;
    int ok;
    int stream;    /* index into the trial's streams */
    uint64_t idx;  /* extended index (ROC << 16 | SEQ) */
} sent_pkt;

typedef struct tx_stream {
    uint32_t ssrc;
    uint64_t top;          /* highest extended index sent (test's view) */
    uint64_t gaps[16];     /* skipped indices, sent late */
    int n_gaps;
} tx_stream;

/* Protect one packet both ways and compare; deliver good new ones to rx. */
static int protect_both(cc_srtp *fast, srtp_t ref, cc_srtp *rx,
                        const uint8_t *pkt, size_t len, sent_pkt *rec,
                        int deliver)
{
    uint8_t a[GCM_MAXPKT + CC_SRTP_MAX_TRAILER];
    uint8_t b[GCM_MAXPKT + CC_SRTP_MAX_TRAILER];
    memcpy(a, pkt, len);
    memcpy(b, pkt, len);
    size_t alen = 0;
    int rca = cc_srtp_protect_rtp(fast, a, len, sizeof a, &alen);
    int blen = (int)len;
    srtp_err_status_t rcb = srtp_protect(ref, b, &blen);
    CC_CHECK_EQ(rca == 0, rcb == srtp_err_status_ok);
    if (rca == 0 && rcb == srtp_err_status_ok) {
        CC_CHECK_EQ(alen, (size_t)blen);
        CC_CHECK_EQ(alen, len + 16);
        CC_CHECK_MEM(a, b, alen);
        if (deliver) {
            uint8_t c[GCM_MAXPKT + CC_SRTP_MAX_TRAILER];
            size_t back = 0;
            memcpy(c, a, alen);
            CC_CHECK_EQ(cc_srtp_unprotect_rtp(rx, c, alen, &back), 0);
            CC_CHECK_EQ(back, len);
            CC_CHECK_MEM(c, pkt, len);
        }
    }
    if (rec) {
        memcpy(rec->plain, pkt, len);
        rec->len = len;
        memcpy(rec->prot, a, alen);
        rec->prot_len = alen;
        rec->ok = rca == 0;
    }
    return rca;
}

static void gcm_vs_libsrtp_trial(uint64_t seed, int n_ssrc, int n_pkts)
{
    rng_state = seed;
    cc_srtp_keys k, kr;
    memset(&k, 0, sizeof k);
    k.profile = CC_SRTP_AEAD_AES_128_GCM;
    k.key_len = 16;
    k.salt_len = 12;
    for (int i = 0; i < 16; i++) k.local_key[i] = (uint8_t)rng();
    for (int i = 0; i < 12; i++) k.local_salt[i] = (uint8_t)rng();
    for (int i = 0; i < 16; i++) k.remote_key[i] = (uint8_t)rng();
    for (int i = 0; i < 12; i++) k.remote_salt[i] = (uint8_t)rng();
    kr = k; /* the receiving peer */
    memcpy(kr.remote_key, k.local_key, 16);
    memcpy(kr.remote_salt, k.local_salt, 12);
    memcpy(kr.local_key, k.remote_key, 16);
    memcpy(kr.local_salt, k.remote_salt, 12);

    cc_srtp *fast = NULL, *rx = NULL;
    CC_CHECK_EQ(cc_srtp_new(&fast, &k), 0);
    CC_CHECK_EQ(cc_srtp_new(&rx, &kr), 0);
    srtp_t ref = libsrtp_gcm_out(k.local_key, k.local_salt);
    static sent_pkt hist[GCM_HIST];
    memset(hist, 0, sizeof hist);
    int n_hist = 0, resends = 0, late = 0, refused = 0;
    tx_stream st[8];
    if (!fast || !rx || !ref || n_ssrc > 8) goto out;

    for (int i = 0; i < n_ssrc; i++) {
        st[i].ssrc = rng();
        /* Some start right before a wrap, some anywhere. */
        uint16_t first = (uint16_t)(i % 2 ? 65536 - 1 - rng() % 50 : rng());
        st[i].top = first;
        st[i].n_gaps = 0;
        st[i].top -= 1; /* the first packet below is top + 1 */
        if (first == 0) st[i].top = 0;
    }
    int started[8] = {0};

    static uint8_t pkt[GCM_MAXPKT];
    for (int n = 0; n < n_pkts; n++) {
        int which = (int)(rng() % (uint32_t)n_ssrc);
        tx_stream *t = &st[which];
        uint32_t r = rng() % 1000;
        if (started[which] && r < 40 && n_hist > 0) {
            /* NACK resend of a recent packet, unchanged: same bytes as the
             * first time (or refused by both if it fell off the window). */
            sent_pkt *h = &hist[rng() % (uint32_t)(n_hist < GCM_HIST ? n_hist : GCM_HIST)];
            /* A sequence number half a cycle back is ambiguous by design
             * (RFC 3711 appendix A); resends are never that late. */
            if (st[h->stream].top - h->idx > 30000) continue;
            sent_pkt again;
            int rc = protect_both(fast, ref, rx, h->plain, h->len, &again, 0);
            if (rc == 0 && h->ok) {
                CC_CHECK_EQ(again.prot_len, h->prot_len);
                CC_CHECK_MEM(again.prot, h->prot, h->prot_len);
            }
            resends++;
            refused += rc != 0;
            continue;
        }
        if (started[which] && r < 60 && t->n_gaps > 0) {
            /* A skipped sequence number sent late, out of order. */
            int g = (int)(rng() % (uint32_t)t->n_gaps);
            uint64_t idx = t->gaps[g];
            t->gaps[g] = t->gaps[--t->n_gaps];
            if (t->top - idx > 30000) continue;
            size_t len = make_rand_rtp(pkt, t->ssrc, (uint16_t)idx);
            sent_pkt *rec = &hist[n_hist++ % GCM_HIST];
            int rc = protect_both(fast, ref, rx, pkt, len, rec, 1);
            rec->stream = which;
            rec->idx = idx;
            late++;
            refused += rc != 0;
            continue;
        }
        /* Next packet forward: mostly +1, some gaps, rare big jumps. */
        uint32_t step = 1;
        if (started[which]) {
            uint32_t q = rng() % 100;
            if (q >= 98) step = 1000 + rng() % 20000;
            else if (q >= 85) step = 2 + rng() % 30;
        }
        if (step > 1 && step < 40 && t->n_gaps < 16)
            t->gaps[t->n_gaps++] = t->top + 1;
        t->top += step;
        started[which] = 1;
        size_t len = make_rand_rtp(pkt, t->ssrc, (uint16_t)t->top);
        sent_pkt *rec = &hist[n_hist++ % GCM_HIST];
        int rc = protect_both(fast, ref, rx, pkt, len, rec, 1);
        rec->stream = which;
        rec->idx = t->top;
        CC_CHECK_EQ(rc, 0);
    }
    /* Every stream wrapped at least twice (ROC 0 -> 1 -> 2). */
    for (int i = 0; i < n_ssrc; i++) CC_CHECK(st[i].top >> 16 >= 2);
    CC_CHECK(resends > 0);
    CC_CHECK(late > 0);
    printf("gcm trial %d ssrc: %d packets, %d resends, %d late, %d refused "
           "(too old) by both\n", n_ssrc, n_pkts, resends, late, refused);
    CC_CHECK_EQ(cc_srtp_get_stats(fast)->protect_fail, (uint64_t)refused);

    /* RTCP still goes through libsrtp and still round-trips. */
    {
        uint8_t buf[128], orig[128];
        size_t len = make_rtcp(buf), out2 = 0, back = 0;
        memcpy(orig, buf, len);
        CC_CHECK_EQ(cc_srtp_protect_rtcp(fast, buf, len, sizeof buf, &out2), 0);
        CC_CHECK_EQ(out2, len + 16 + 4);
        CC_CHECK_EQ(cc_srtp_unprotect_rtcp(rx, buf, out2, &back), 0);
        CC_CHECK_MEM(buf, orig, len);
    }
out:
    if (ref) srtp_dealloc(ref);
    cc_srtp_free(fast);
    cc_srtp_free(rx);
}

static void test_gcm_fast_path_matches_libsrtp(void)
{
    CC_CHECK_EQ(cc_srtp_global_init(), 0);
    gcm_vs_libsrtp_trial(0x9E3779B97F4A7C15ULL, 1, 5000);
    gcm_vs_libsrtp_trial(0xC0FFEE1234567ULL, 3, 12000);
    gcm_vs_libsrtp_trial(0x5151515151ULL, 5, 20000);
    gcm_vs_libsrtp_trial(0xDEADBEEFCAFEULL, 8, 30000);
}

/* Malformed headers are refused like libsrtp refuses them (no write). */
static void test_gcm_fast_path_bad_header(void)
{
    cc_srtp_keys ka, kb;
    make_keys(&ka, &kb, CC_SRTP_AEAD_AES_128_GCM);
    cc_srtp *a = NULL;
    CC_CHECK_EQ(cc_srtp_new(&a, &ka), 0);
    if (!a) return;
    uint8_t buf[256];
    size_t out = 0;
    make_rtp(buf, 1, 40);
    CC_CHECK_EQ(cc_srtp_protect_rtp(a, buf, 11, sizeof buf, &out), CC_EINVAL);
    buf[0] = 0x8F; /* 15 CSRCs = 72 bytes of header > 52 */
    CC_CHECK_EQ(cc_srtp_protect_rtp(a, buf, 52, sizeof buf, &out), CC_EINVAL);
    buf[0] = 0x90; /* extension block of 0x2000 words */
    buf[12] = 0xBE; buf[13] = 0xDE; buf[14] = 0x20; buf[15] = 0x00;
    CC_CHECK_EQ(cc_srtp_protect_rtp(a, buf, 52, sizeof buf, &out), CC_EINVAL);
    CC_CHECK_EQ(cc_srtp_protect_rtp(a, buf, 14, sizeof buf, &out), CC_EINVAL);
    buf[14] = 0; buf[15] = 9; /* 16 + 36 = 52: header only, empty payload */
    CC_CHECK_EQ(cc_srtp_protect_rtp(a, buf, 52, sizeof buf, &out), 0);
    CC_CHECK_EQ(out, 52 + 16);
    CC_CHECK_EQ(cc_srtp_get_stats(a)->protect_fail, 4);
    cc_srtp_free(a);
}

/* An outbound SSRC is never forgotten: forgetting one's ROC and meeting it
 * again would repeat (SSRC, ROC, SEQ), so AES-GCM IVs, with new plaintext
 * (RFC 7714 section 8). Stream A wraps to ROC 1, then 63 other SSRCs fill
 * the table and a 65th is refused with CC_ELIMIT and counted; A's next
 * packet still goes out under ROC 1, which the receiver (libsrtp, tracking
 * A's ROC itself) authenticates. A session that had replaced A's state
 * would have sent it under ROC 0 and the receiver would refuse it. */
static void set_ssrc(uint8_t *p, uint32_t ssrc)
{
    p[8] = (uint8_t)(ssrc >> 24);
    p[9] = (uint8_t)(ssrc >> 16);
    p[10] = (uint8_t)(ssrc >> 8);
    p[11] = (uint8_t)ssrc;
}

static int send_one(cc_srtp *tx, cc_srtp *rx, uint32_t ssrc, uint16_t seq)
{
    uint8_t buf[200 + CC_SRTP_MAX_TRAILER];
    size_t len = make_rtp(buf, seq, 100), out = 0, back = 0;
    set_ssrc(buf, ssrc);
    int rc = cc_srtp_protect_rtp(tx, buf, len, sizeof buf, &out);
    if (rc != 0) return rc;
    return cc_srtp_unprotect_rtp(rx, buf, out, &back);
}

static void test_gcm_ssrc_never_forgotten(void)
{
    cc_srtp_keys ka, kb;
    make_keys(&ka, &kb, CC_SRTP_AEAD_AES_128_GCM);
    cc_srtp *tx = NULL, *rx = NULL;
    CC_CHECK_EQ(cc_srtp_new(&tx, &ka), 0);
    CC_CHECK_EQ(cc_srtp_new(&rx, &kb), 0);
    if (!tx || !rx) goto out;
    const uint32_t a = 0xA0A0A0A0u;
    /* A from 65000 across the wrap: ROC 1 from seq 0 on. */
    for (uint32_t i = 65000; i < 65536 + 10; i++)
        CC_CHECK_EQ(send_one(tx, rx, a, (uint16_t)i), 0);
    for (uint32_t i = 1; i < 64; i++)
        CC_CHECK_EQ(send_one(tx, rx, 0x1000 + i, 7), 0);
    uint64_t fail0 = cc_srtp_get_stats(tx)->protect_fail;
    CC_CHECK_EQ(send_one(tx, rx, 0x2000, 7), CC_ELIMIT);
    CC_CHECK_EQ(cc_srtp_get_stats(tx)->protect_ssrc_full, 1);
    CC_CHECK_EQ(cc_srtp_get_stats(tx)->protect_fail, fail0 + 1);
    /* A again, after every other SSRC: ROC 1 still. */
    for (uint32_t i = 10; i < 20; i++)
        CC_CHECK_EQ(send_one(tx, rx, a, (uint16_t)i), 0);
    /* The SSRCs it keeps still work, the refused one still does not. */
    CC_CHECK_EQ(send_one(tx, rx, 0x1000 + 1, 8), 0);
    CC_CHECK_EQ(send_one(tx, rx, 0x2000, 8), CC_ELIMIT);
out:
    cc_srtp_free(tx);
    cc_srtp_free(rx);
}

int main(void)
{
    CC_RUN(test_ref_b2_keystream);
    CC_RUN(test_ref_b3_kdf);
    CC_RUN(test_bad_keys);
    CC_RUN(test_known_answer_cm);
    CC_RUN(test_known_answer_gcm);
    CC_RUN(test_round_trip_cm);
    CC_RUN(test_round_trip_gcm);
    CC_RUN(test_failures_cm);
    CC_RUN(test_failures_gcm);
    CC_RUN(test_trailer_reserve);
    CC_RUN(test_gcm_fast_path_matches_libsrtp);
    CC_RUN(test_gcm_fast_path_bad_header);
    CC_RUN(test_gcm_ssrc_never_forgotten);
    CC_TEST_DONE();
}
