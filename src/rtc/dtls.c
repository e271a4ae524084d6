/* classcast: DTLS 1.2 for DTLS-SRTP (RFC 5763, RFC 5764) on OpenSSL 3.0 with
 * memory BIOs. See include/classcast/dtls.h for the contract.
 *
 * Datagram boundaries. OpenSSL's DTLS record layer expects its read BIO to
 * hand back one datagram per BIO_read. A memory BIO returns everything that
 * is buffered, so we write exactly one peer datagram into the read BIO, let
 * OpenSSL consume it, and reset the BIO before the next one: the record
 * layer then sees the same datagram boundaries the network had.
 * On the write side a memory BIO concatenates OpenSSL's writes; every write
 * is a whole DTLS record no larger than the MTU we set, so cc_dtls_poll_output
 * cuts the stream at record boundaries (RFC 6347 section 4.1: the record
 * header carries its own length) and packs as many whole records as fit in
 * CC_DTLS_MTU into each datagram. RFC 6347 section 4.1.1 lets several
 * records share a datagram as long as none spans two. */
#include "classcast/dtls.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/rand.h"

#define DTLS_MOD "dtls"

/* RFC 6347 section 4.1: type(1) version(2) epoch(2) sequence(6) length(2). */
#define REC_HDR 13
/* RFC 6347 section 4.1 / RFC 5246 section 6.2.3: a record's fragment is at
 * most 2^14 + 2048 bytes; anything longer is not DTLS. */
#define REC_MAX_FRAGMENT (16384 + 2048)

/* RFC 5764 section 4.1.2: the profiles we can key libsrtp for, best first.
 * An OpenSSL server walks its own list and takes the first one the client
 * also offers (tls_parse_ctos_use_srtp), so this order is the server's
 * preference: GCM is ~5x cheaper with Debian's libsrtp (docs/TESTING.md,
 * section 4; the Chromium case: docs/WEBRTC.md, section 3). */
#define DEFAULT_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"

/* ECDSA first (our own certificate is ECDSA P-256), then RSA for a peer
 * server with an RSA certificate (classcast as the DTLS client). */
#define DTLS_CIPHERS                                                      \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"        \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"          \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"

/* RFC 6347 section 4.2.4.1 asks for an initial timer of 1 s doubling up to at
 * least 60 s. One lost handshake datagram would then cost a second of black
 * screen for a student, so we start lower and keep the doubling and cap.
 * A spurious retransmission is a few hundred bytes. */
#define TIMER_INITIAL_US 250000u
#define TIMER_MAX_US 60000000u

/* The certificate is valid from 30 days back (clock skew between machines)
 * to a year ahead; WebRTC peers check only its fingerprint (RFC 8827
 * section 6.5), but OpenSSL wants a sane validity period to sign. */
#define CERT_BACKDATE_S (30L * 24 * 3600)
#define CERT_LIFETIME_S (365L * 24 * 3600)

struct cc_dtls_ctx {
    SSL_CTX *ssl_ctx;
    char fingerprint[32 * 3]; /* "AB:..:EF" + NUL */
};

struct cc_dtls {
    SSL *ssl;
    BIO *rbio; /* peer -> OpenSSL; owned by ssl */
    BIO *wbio; /* OpenSSL -> peer; owned by ssl */
    int is_server;
    cc_dtls_state state;
    int fail_code;
    const EVP_MD *fp_md;
    unsigned char fp[EVP_MAX_MD_SIZE];
    unsigned int fp_len;
    int fp_mismatch; /* set by the verify callback */
    cc_srtp_keys keys;
    cc_dtls_stats stats;
    char err[160];
    int released; /* cc_dtls_release: ssl freed, keys kept */
};

/* ---------------------------------------------------------------- errors */

static void set_err(cc_dtls *d, const char *msg)
{
    if (d->err[0] == 0)
        snprintf(d->err, sizeof d->err, "%s", msg);
}

/* Takes the oldest OpenSSL error as the reason, then empties the queue: the
 * queue is per thread and one worker serves many peers, so anything left
 * there would be blamed on the next peer's SSL_get_error. */
static void take_openssl_err(cc_dtls *d, const char *what)
{
    unsigned long e = ERR_peek_error();
    if (e != 0) {
        char buf[120];
        ERR_error_string_n(e, buf, sizeof buf);
        char msg[sizeof d->err];
        snprintf(msg, sizeof msg, "%s: %s", what, buf);
        set_err(d, msg);
    } else {
        set_err(d, what);
    }
    ERR_clear_error();
}

static int fail(cc_dtls *d, int code, const char *what)
{
    take_openssl_err(d, what);
    d->state = CC_DTLS_FAILED;
    d->fail_code = code;
    CC_LOG_RL(CC_LOG_INFO, DTLS_MOD, "handshake failed (%s): %s",
              d->is_server ? "server" : "client", d->err);
    return code;
}

/* ----------------------------------------------------------- fingerprint */

static const EVP_MD *fp_md_by_name(const char *alg)
{
    /* RFC 8122 section 5: hash function names from the IANA "Hash Function
     * Textual Names" registry, case-insensitive. */
    if (!alg) return NULL;
    if (strcasecmp(alg, "sha-256") == 0) return EVP_sha256();
    if (strcasecmp(alg, "sha-1") == 0) return EVP_sha1();
    if (strcasecmp(alg, "sha-384") == 0) return EVP_sha384();
    if (strcasecmp(alg, "sha-512") == 0) return EVP_sha512();
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* RFC 8122 section 5: fingerprint = 2UHEX *(":" 2UHEX); we also take
 * lowercase (Firefox has sent it, and the comparison is of bytes anyway). */
static int parse_fp(const char *s, unsigned char *out, size_t cap,
                    unsigned int *out_len)
{
    size_t n = 0;
    for (;;) {
        int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
        if (hi < 0 || lo < 0 || n >= cap) return CC_EINVAL;
        out[n++] = (unsigned char)(hi << 4 | lo);
        s += 2;
        if (*s == 0) break;
        if (*s != ':') return CC_EINVAL;
        s++;
    }
    *out_len = (unsigned int)n;
    return 0;
}

static int cert_matches(const cc_dtls *d, X509 *cert)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!cert || X509_digest(cert, d->fp_md, md, &len) != 1) return 0;
    return len == d->fp_len && CRYPTO_memcmp(md, d->fp, len) == 0;
}

/* RFC 5763 section 5 / RFC 8827 section 6.5: the certificate is self-signed
 * and authenticated only by the fingerprint signalled in SDP, so chain errors
 * are ignored and the end-entity certificate's digest decides. Failing here
 * (rather than after the handshake) makes OpenSSL send a bad_certificate
 * alert, so the peer fails too instead of believing it is connected. */
static int verify_cb(int preverify_ok, X509_STORE_CTX *store)
{
    (void)preverify_ok;
    SSL *ssl =
        X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    cc_dtls *d = ssl ? SSL_get_app_data(ssl) : NULL;
    if (!d) return 0;
    /* get0_cert is the certificate being verified: the peer's leaf. */
    if (!cert_matches(d, X509_STORE_CTX_get0_cert(store))) {
        d->fp_mismatch = 1;
        set_err(d, "peer certificate does not match the SDP fingerprint");
        /* Maps to a bad_certificate alert (RFC 5246 section 7.2.2) rather
         * than the unknown_ca the self-signed chain error would give. */
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------- ctx */

static unsigned int timer_cb(SSL *s, unsigned int prev_us)
{
    (void)s;
    if (prev_us == 0) return TIMER_INITIAL_US;
    /* RFC 6347 section 4.2.4.1: double at each retransmission. */
    return prev_us >= TIMER_MAX_US / 2 ? TIMER_MAX_US : prev_us * 2;
}

static int make_cert(EVP_PKEY **out_key, X509 **out_cert)
{
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    BIGNUM *bn = NULL;
    int rc = CC_ECRYPTO;

    /* ECDSA P-256: what browsers generate for WebRTC and cheap to sign with
     * (RFC 8827 section 6.5 leaves the choice to the endpoint). */
    key = EVP_EC_gen("P-256");
    if (!key) goto out;
    x = X509_new();
    if (!x) goto out;
    if (X509_set_version(x, X509_VERSION_3) != 1) goto out;

    /* A random positive serial: two classcast processes must not present
     * certificates that differ only in key (RFC 5280 section 4.1.2.2). */
    unsigned char serial[8];
    if (cc_rand_bytes(serial, sizeof serial) != 0) goto out;
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))) goto out;

    if (!X509_gmtime_adj(X509_getm_notBefore(x), -CERT_BACKDATE_S)) goto out;
    if (!X509_gmtime_adj(X509_getm_notAfter(x), CERT_LIFETIME_S)) goto out;

    X509_NAME *name = X509_get_subject_name(x);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *)"classcast", -1,
                                    -1, 0))
        goto out;
    if (X509_set_issuer_name(x, name) != 1) goto out;
    if (X509_set_pubkey(x, key) != 1) goto out;
    if (X509_sign(x, key, EVP_sha256()) <= 0) goto out;

    *out_key = key;
    *out_cert = x;
    key = NULL;
    x = NULL;
    rc = 0;
out:
    BN_free(bn);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

int cc_dtls_ctx_new_with_profiles(cc_dtls_ctx **out, const char *profiles)
{
    if (!out || !profiles) return CC_EINVAL;
    *out = NULL;

    /* Everything here uses only OpenSSL 3.0 calls that are safe to run
     * concurrently (library init is implicit and once-only), and no static
     * state of ours, so workers may create contexts in parallel. */
    cc_dtls_ctx *c = calloc(1, sizeof *c);
    if (!c) return CC_ENOMEM;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc = make_cert(&key, &cert);
    if (rc != 0) goto fail;

    rc = CC_ECRYPTO;
    c->ssl_ctx = SSL_CTX_new(DTLS_method());
    if (!c->ssl_ctx) goto fail;
    /* DTLS 1.0 has no AEAD suites and is deprecated (RFC 8996); WebRTC
     * peers all speak 1.2 (RFC 8827 section 6.5). */
    if (SSL_CTX_set_min_proto_version(c->ssl_ctx, DTLS1_2_VERSION) != 1)
        goto fail;
    if (SSL_CTX_use_certificate(c->ssl_ctx, cert) != 1) goto fail;
    if (SSL_CTX_use_PrivateKey(c->ssl_ctx, key) != 1) goto fail;
    if (SSL_CTX_check_private_key(c->ssl_ctx) != 1) goto fail;
    /* No record we send is larger than a datagram (CC_DTLS_MTU): size the
     * write buffer for that rather than for a 16 KiB TLS record, which
     * saves ~15 KiB per peer for as long as the peer lives. */
    if (SSL_CTX_set_max_send_fragment(c->ssl_ctx, CC_DTLS_MTU) != 1) goto fail;

    /* No MTU probing: a memory BIO has no path MTU, we set it per SSL.
     * No tickets/session cache: every WebRTC association is a fresh
     * handshake with fresh certificates. No renegotiation: RFC 5764 keys
     * come from the one handshake and a peer-triggered renegotiation is
     * only work for us. */
    SSL_CTX_set_options(c->ssl_ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET |
                                        SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_session_cache_mode(c->ssl_ctx, SSL_SESS_CACHE_OFF);

    /* AEAD suites with ECDHE only (RFC 9325 section 4.2 recommends them
     * for TLS 1.2; every WebRTC stack offers them). Besides being the
     * right suites, they give every protected record a fixed minimum size,
     * which cc_dtls_handle_input relies on to drop forged short records
     * (see min_protected_len). */
    if (SSL_CTX_set_cipher_list(c->ssl_ctx, DTLS_CIPHERS) != 1) goto fail;

    /* RFC 5763 section 5: both sides present certificates; the server must
     * ask for the client's. */
    SSL_CTX_set_verify(c->ssl_ctx,
                       SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       verify_cb);

    /* RFC 5764 section 4.1.1 use_srtp extension. Note the inverted return
     * value: 0 is success. */
    if (SSL_CTX_set_tlsext_use_srtp(c->ssl_ctx, profiles) != 0) {
        rc = CC_EINVAL;
        goto fail;
    }

    /* RFC 8122 section 5 / RFC 5763 section 5: a=fingerprint:sha-256. */
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (X509_digest(cert, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32)
        goto fail;
    static const char hex[] = "0123456789ABCDEF";
    for (unsigned int i = 0; i < mdlen; i++) {
        c->fingerprint[i * 3] = hex[md[i] >> 4];
        c->fingerprint[i * 3 + 1] = hex[md[i] & 15];
        c->fingerprint[i * 3 + 2] = i + 1 < mdlen ? ':' : 0;
    }

    /* The SSL_CTX holds its own references now. */
    X509_free(cert);
    EVP_PKEY_free(key);
    ERR_clear_error();
    *out = c;
    return 0;

fail:
    ERR_clear_error();
    X509_free(cert);
    EVP_PKEY_free(key);
    cc_dtls_ctx_free(c);
    return rc;
}

int cc_dtls_ctx_new(cc_dtls_ctx **out)
{
    return cc_dtls_ctx_new_with_profiles(out, DEFAULT_PROFILES);
}

void cc_dtls_ctx_free(cc_dtls_ctx *ctx)
{
    if (!ctx) return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

const char *cc_dtls_ctx_fingerprint(const cc_dtls_ctx *ctx)
{
    return ctx ? ctx->fingerprint : "";
}

/* --------------------------------------------------------------- session */

int cc_dtls_new(cc_dtls **out, cc_dtls_ctx *ctx, int is_server,
                const char *remote_fp_alg, const char *remote_fp)
{
    if (!out || !ctx || !remote_fp) return CC_EINVAL;
    *out = NULL;
    const EVP_MD *md = fp_md_by_name(remote_fp_alg);
    if (!md) return CC_EUNSUPPORTED;

    cc_dtls *d = calloc(1, sizeof *d);
    if (!d) return CC_ENOMEM;
    d->is_server = is_server ? 1 : 0;
    d->fp_md = md;
    if (parse_fp(remote_fp, d->fp, sizeof d->fp, &d->fp_len) != 0 ||
        d->fp_len != (unsigned int)EVP_MD_get_size(md)) {
        free(d);
        return CC_EINVAL;
    }

    int rc = CC_ECRYPTO;
    d->ssl = SSL_new(ctx->ssl_ctx);
    if (!d->ssl) goto fail;
    d->rbio = BIO_new(BIO_s_mem());
    d->wbio = BIO_new(BIO_s_mem());
    if (!d->rbio || !d->wbio) {
        BIO_free(d->rbio);
        BIO_free(d->wbio);
        d->rbio = d->wbio = NULL;
        rc = CC_ENOMEM;
        goto fail;
    }
    /* An empty read BIO must look like "no datagram yet" (retry), not EOF,
     * or OpenSSL would treat the peer as gone. */
    BIO_set_mem_eof_return(d->rbio, -1);
    BIO_set_mem_eof_return(d->wbio, -1);
    SSL_set_bio(d->ssl, d->rbio, d->wbio);
    SSL_set_app_data(d->ssl, d);

    /* After SSL_set_bio: OpenSSL subtracts the write BIO's per-datagram
     * overhead (none for a memory BIO) from the link MTU. */
    if (DTLS_set_link_mtu(d->ssl, CC_DTLS_MTU) != 1) goto fail;
    DTLS_set_timer_cb(d->ssl, timer_cb);

    if (d->is_server)
        SSL_set_accept_state(d->ssl);
    else
        SSL_set_connect_state(d->ssl);

    ERR_clear_error();
    d->state = CC_DTLS_NEW;
    *out = d;
    return 0;

fail:
    ERR_clear_error();
    cc_dtls_free(d);
    return rc;
}

void cc_dtls_free(cc_dtls *d)
{
    if (!d) return;
    SSL_free(d->ssl); /* frees both BIOs */
    OPENSSL_cleanse(&d->keys, sizeof d->keys);
    free(d);
}

/* Handshake finished: RFC 5764 section 4.2 key export, assigned by role. */
static int on_handshake_done(cc_dtls *d)
{
    /* verify_cb already checked; this catches a peer that somehow sent no
     * certificate despite FAIL_IF_NO_PEER_CERT, and a client role whose
     * verify callback never ran. */
    if (!cert_matches(d, SSL_get0_peer_certificate(d->ssl))) {
        set_err(d, "peer certificate does not match the SDP fingerprint");
        return fail(d, CC_EAUTH, "fingerprint");
    }

    SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(d->ssl);
    size_t salt_len;
    cc_srtp_profile prof;
    if (!p) {
        /* RFC 5764 section 4.1.1: without use_srtp there is no SRTP key. */
        return fail(d, CC_EPROTO, "peer negotiated no SRTP profile");
    }
    switch (p->id) {
    case SRTP_AEAD_AES_128_GCM:
        prof = CC_SRTP_AEAD_AES_128_GCM;
        salt_len = 12; /* RFC 7714 section 12 */
        break;
    case SRTP_AES128_CM_SHA1_80:
        prof = CC_SRTP_AES128_CM_SHA1_80;
        salt_len = 14; /* RFC 5764 section 4.1.2 */
        break;
    default:
        return fail(d, CC_EUNSUPPORTED, "unsupported SRTP profile");
    }

    /* RFC 5764 section 4.2: client_write_SRTP_master_key |
     * server_write_SRTP_master_key | client_write_SRTP_master_salt |
     * server_write_SRTP_master_salt, from the exporter with label
     * "EXTRACTOR-dtls_srtp" and no context. */
    const size_t key_len = 16;
    unsigned char km[2 * (16 + 14)];
    size_t km_len = 2 * (key_len + salt_len);
    static const char label[] = "EXTRACTOR-dtls_srtp";
    if (SSL_export_keying_material(d->ssl, km, km_len, label,
                                   sizeof label - 1, NULL, 0, 0) != 1)
        return fail(d, CC_ECRYPTO, "keying material export failed");

    const unsigned char *ck = km, *sk = km + key_len;
    const unsigned char *cs = km + 2 * key_len, *ss = cs + salt_len;
    cc_srtp_keys *k = &d->keys;
    memset(k, 0, sizeof *k);
    k->profile = prof;
    k->key_len = key_len;
    k->salt_len = salt_len;
    /* We protect with our own write keys and unprotect with the peer's. */
    memcpy(k->local_key, d->is_server ? sk : ck, key_len);
    memcpy(k->local_salt, d->is_server ? ss : cs, salt_len);
    memcpy(k->remote_key, d->is_server ? ck : sk, key_len);
    memcpy(k->remote_salt, d->is_server ? cs : ss, salt_len);
    OPENSSL_cleanse(km, sizeof km);

    d->state = CC_DTLS_CONNECTED;
    CC_LOG(CC_LOG_DEBUG, DTLS_MOD, "connected (%s, %s)",
           d->is_server ? "server" : "client", cc_srtp_profile_name(prof));
    return 0;
}

/* Reads whatever OpenSSL has after the handshake: application data is not
 * used by WebRTC media (data channels would run SCTP here) and is dropped;
 * a retransmitted final flight from the peer makes OpenSSL resend ours. */
static int drain_connected(cc_dtls *d)
{
    unsigned char scratch[2048];
    for (;;) {
        ERR_clear_error();
        int r = SSL_read(d->ssl, scratch, sizeof scratch);
        if (r > 0) {
            d->stats.in_app_data++;
            continue;
        }
        int e = SSL_get_error(d->ssl, r);
        switch (e) {
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
            ERR_clear_error();
            return 0;
        case SSL_ERROR_ZERO_RETURN:
            /* RFC 5246 section 7.2.1: answer close_notify with our own. */
            ERR_clear_error();
            SSL_shutdown(d->ssl);
            ERR_clear_error();
            d->state = CC_DTLS_CLOSED;
            return 0;
        default:
            return fail(d, CC_EPROTO, "connection error");
        }
    }
}

static int drive(cc_dtls *d)
{
    if (d->state == CC_DTLS_HANDSHAKING) {
        ERR_clear_error();
        int r = SSL_do_handshake(d->ssl);
        if (r != 1) {
            int e = SSL_get_error(d->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                ERR_clear_error();
                return 0;
            }
            return fail(d, d->fp_mismatch ? CC_EAUTH : CC_EPROTO,
                        "handshake");
        }
        int rc = on_handshake_done(d);
        if (rc != 0) return rc;
        /* The datagram that completed the handshake may carry more records
         * (already buffered by OpenSSL): read them now. */
    }
    if (d->state == CC_DTLS_CONNECTED) return drain_connected(d);
    return 0;
}

int cc_dtls_start(cc_dtls *d, cc_time_us now)
{
    (void)now;
    if (!d) return CC_EINVAL;
    if (d->state != CC_DTLS_NEW) return 0;
    d->state = CC_DTLS_HANDSHAKING;
    /* RFC 5763 section 5: the active side (client) sends the ClientHello;
     * the passive server waits for it. */
    if (d->is_server) return 0;
    return drive(d);
}

/* The smallest record the negotiated AEAD can produce in an epoch > 0:
 * AES-GCM carries an 8-octet explicit nonce and a 16-octet tag
 * (RFC 5288 section 3), ChaCha20-Poly1305 a 16-octet tag and no explicit
 * nonce (RFC 7905 section 2). Before a suite is chosen no genuine record
 * can be in epoch 1 at all.
 *
 * Why this matters: OpenSSL 3.0 buffers records of the next epoch that
 * arrive before the peer's ChangeCipherSpec and decrypts them once the
 * epoch changes. A buffered record shorter than nonce + tag fails the
 * AEAD's TLS AAD setup, which OpenSSL 3.0 treats as an internal error and
 * ends the handshake with alert 80, leaving its error queue empty (SSL_read
 * then reports SSL_ERROR_SYSCALL). Anyone who can put one 14-byte datagram
 * on the media port with a joining peer's address could break that join;
 * records of this size are never genuine, so they are dropped here.
 * Longer forged records fail authentication and OpenSSL drops them
 * silently as RFC 6347 section 4.1.2.7 asks. */
static size_t min_protected_len(const cc_dtls *d)
{
    const SSL_CIPHER *c = SSL_get_pending_cipher(d->ssl);
    if (!c) c = SSL_get_current_cipher(d->ssl);
    if (!c) return SIZE_MAX;
    switch (SSL_CIPHER_get_cipher_nid(c)) {
    case NID_aes_128_gcm:
    case NID_aes_256_gcm: return 8 + 16;
    case NID_chacha20_poly1305: return 16;
    default: return SIZE_MAX; /* DTLS_CIPHERS allows nothing else */
    }
}

/* RFC 6347 section 4.1: a DTLS 1.2 datagram is one or more whole
 * DTLSPlaintext/DTLSCiphertext records. Checking the framing before OpenSSL
 * sees it lets us tell a caller "this was not DTLS" (and count it), where
 * OpenSSL would drop it silently (RFC 6347 section 4.1.2.7). A protected
 * record (epoch > 0) must also be long enough to be genuine
 * (min_protected_len). */
static int well_formed(const cc_dtls *d, const uint8_t *buf, size_t len)
{
    size_t off = 0;
    size_t min_prot = 0; /* looked up at the first protected record */
    if (len < REC_HDR) return 0;
    while (off < len) {
        if (len - off < REC_HDR) return 0;
        uint8_t type = buf[off];
        /* change_cipher_spec(20), alert(21), handshake(22),
         * application_data(23); we negotiate no heartbeat or CID. */
        if (type < 20 || type > 23) return 0;
        /* DTLS versions are 0xFEFF (1.0) / 0xFEFD (1.2): major byte 0xFE. */
        if (buf[off + 1] != 0xFE) return 0;
        size_t rlen = (size_t)buf[off + 11] << 8 | buf[off + 12];
        if (rlen > REC_MAX_FRAGMENT || rlen > len - off - REC_HDR) return 0;
        if (buf[off + 3] != 0 || buf[off + 4] != 0) { /* epoch > 0 */
            if (!min_prot) min_prot = min_protected_len(d);
            if (rlen < min_prot) return 0;
        }
        off += REC_HDR + rlen;
    }
    return 1;
}

int cc_dtls_handle_input(cc_dtls *d, const uint8_t *buf, size_t len,
                         cc_time_us now)
{
    (void)now;
    if (!d || (!buf && len)) return CC_EINVAL;
    if (d->state == CC_DTLS_FAILED) return CC_ESTATE;
    if (d->state == CC_DTLS_CLOSED) return CC_ECLOSED;
    if (d->released) {
        /* A late duplicate of a handshake flight, or an alert: nothing
         * to answer with any more (see cc_dtls_release). */
        d->stats.in_after_release++;
        return CC_ESTATE;
    }
    if (!well_formed(d, buf, len)) {
        /* Garbage leaves the session where it was: a spoofed or corrupted
         * datagram must not be able to kill a handshake. */
        d->stats.in_malformed++;
        return CC_EINVAL;
    }
    if (d->state == CC_DTLS_NEW) d->state = CC_DTLS_HANDSHAKING;

    /* Exactly one datagram in the read BIO per OpenSSL call (see top). */
    (void)BIO_reset(d->rbio);
    if (BIO_write(d->rbio, buf, (int)len) != (int)len) {
        ERR_clear_error();
        (void)BIO_reset(d->rbio);
        return CC_ENOMEM;
    }
    d->stats.in_datagrams++;
    int rc = drive(d);
    /* Whatever OpenSSL did not read (a datagram longer than its record
     * buffer) must not be glued to the next datagram. */
    (void)BIO_reset(d->rbio);
    return rc;
}

int cc_dtls_poll_output(cc_dtls *d, uint8_t *buf, size_t cap, size_t *len)
{
    if (!d || !buf || !len) return CC_EINVAL;
    if (d->released) return CC_EAGAIN;
    char *data = NULL;
    long avail = BIO_get_mem_data(d->wbio, &data);
    if (avail <= 0 || !data) return CC_EAGAIN;

    size_t total = (size_t)avail;
    size_t limit = cap < CC_DTLS_MTU ? cap : CC_DTLS_MTU;
    const uint8_t *p = (const uint8_t *)data;
    size_t take = 0;
    while (take < total) {
        size_t rec;
        if (total - take < REC_HDR) {
            rec = total - take; /* cannot happen with OpenSSL's writes */
        } else {
            rec = REC_HDR + ((size_t)p[take + 11] << 8 | p[take + 12]);
            if (rec > total - take) rec = total - take;
        }
        if (take + rec > limit) {
            /* A single record larger than the MTU is OpenSSL's decision (it
             * keeps to the link MTU we set); send it alone if it fits. */
            if (take == 0 && rec <= cap) take = rec;
            break;
        }
        take += rec;
    }
    if (take == 0) return CC_ENOSPC;
    if (BIO_read(d->wbio, buf, (int)take) != (int)take) {
        ERR_clear_error();
        return CC_EAGAIN;
    }
    *len = take;
    d->stats.out_datagrams++;
    return 0;
}

cc_time_us cc_dtls_deadline(const cc_dtls *d, cc_time_us now)
{
    if (!d || d->released || (d->state != CC_DTLS_HANDSHAKING &&
                              d->state != CC_DTLS_CONNECTED))
        return CC_TIME_NEVER;
    struct timeval tv;
    /* OpenSSL's timer runs on its own clock; convert the time left into the
     * caller's time base. 0 left means "due now". */
    if (DTLSv1_get_timeout(d->ssl, &tv) != 1) return CC_TIME_NEVER;
    return now + (cc_time_us)tv.tv_sec * CC_USEC_PER_SEC + tv.tv_usec;
}

int cc_dtls_handle_timeout(cc_dtls *d, cc_time_us now)
{
    (void)now;
    if (!d) return CC_EINVAL;
    if (d->released ||
        (d->state != CC_DTLS_HANDSHAKING && d->state != CC_DTLS_CONNECTED))
        return 0;
    ERR_clear_error();
    /* Returns 0 when OpenSSL's own clock says the timer has not expired yet
     * (a caller slightly early), 1 after resending the last flight, and -1
     * after too many timeouts (RFC 6347 section 4.2.4: give up). */
    int r = DTLSv1_handle_timeout(d->ssl);
    if (r < 0) return fail(d, CC_ETIMEOUT, "handshake timed out");
    if (r > 0) d->stats.retransmits++;
    ERR_clear_error();
    return 0;
}

cc_dtls_state cc_dtls_get_state(const cc_dtls *d)
{
    return d ? d->state : CC_DTLS_FAILED;
}

int cc_dtls_get_srtp_keys(const cc_dtls *d, cc_srtp_keys *out)
{
    if (!d || !out) return CC_EINVAL;
    /* Keys stay available after close: the owner may still drain media. */
    if (d->keys.profile == CC_SRTP_PROFILE_NONE) return CC_ESTATE;
    if (d->state != CC_DTLS_CONNECTED && d->state != CC_DTLS_CLOSED)
        return CC_ESTATE;
    *out = d->keys;
    return 0;
}

const char *cc_dtls_error(const cc_dtls *d)
{
    if (!d) return "";
    return d->state == CC_DTLS_FAILED ? d->err : "";
}

int cc_dtls_close(cc_dtls *d)
{
    if (!d) return CC_EINVAL;
    if (d->state != CC_DTLS_CONNECTED) return 0;
    if (d->released) { /* nothing left to send it with */
        d->state = CC_DTLS_CLOSED;
        return 0;
    }
    ERR_clear_error();
    /* RFC 5246 section 7.2.1: close_notify; we do not wait for the
     * peer's answer (the transport goes away with the peer). */
    SSL_shutdown(d->ssl);
    ERR_clear_error();
    d->state = CC_DTLS_CLOSED;
    return 0;
}

int cc_dtls_export_keying_material(const cc_dtls *d, const char *label,
                                   uint8_t *out, size_t len)
{
    if (!d || !label || !out) return CC_EINVAL;
    if (d->state != CC_DTLS_CONNECTED || d->released) return CC_ESTATE;
    ERR_clear_error();
    int ok = SSL_export_keying_material(d->ssl, out, len, label,
                                        strlen(label), NULL, 0, 0);
    ERR_clear_error();
    return ok == 1 ? 0 : CC_ECRYPTO;
}

int cc_dtls_release(cc_dtls *d)
{
    if (!d) return CC_EINVAL;
    if (d->released) return 0;
    if (d->state != CC_DTLS_CONNECTED) return CC_ESTATE;
    char *data = NULL;
    if (BIO_get_mem_data(d->wbio, &data) > 0) return CC_EAGAIN; /* unsent */
    SSL_free(d->ssl); /* frees both BIOs */
    d->ssl = NULL;
    d->rbio = d->wbio = NULL;
    d->released = 1;
    return 0;
}

int cc_dtls_is_released(const cc_dtls *d)
{
    return d && d->released;
}

const cc_dtls_stats *cc_dtls_get_stats(const cc_dtls *d)
{
    return d ? &d->stats : NULL;
}
