/* Password hashing with scrypt (RFC 7914) through OpenSSL 3's EVP_KDF; see
 * include/classcast/pwhash.h for the stored format. */
#include "classcast/pwhash.h"

#include <glib.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "classcast/err.h"
#include "classcast/rand.h"

#define MAX_LOG2_N 20
#define MAX_R 32
#define MAX_P 16
/* scrypt needs 128 * r * N bytes (RFC 7914 section 2, ROMix's V) */
#define MAX_MEM ((uint64_t)256 * 1024 * 1024)

/* Base64 lengths (padded) of the salt and the key. */
#define SALT_B64 (4 * ((CC_PWHASH_SALT_LEN + 2) / 3))
#define KEY_B64 (4 * ((CC_PWHASH_KEY_LEN + 2) / 3))

int cc_pwhash_policy(const char *pw)
{
    if (!pw)
        return CC_EINVAL;
    size_t n = strlen(pw);
    if (n > CC_PWHASH_MAX_BYTES || !g_utf8_validate(pw, (gssize)n, NULL))
        return CC_EINVAL;
    if (g_utf8_strlen(pw, (gssize)n) < CC_PWHASH_MIN_CHARS)
        return CC_EINVAL;
    return 0;
}

static int params_ok(int log2_n, int r, int p)
{
    if (log2_n < 1 || log2_n > MAX_LOG2_N || r < 1 || r > MAX_R || p < 1 || p > MAX_P)
        return 0;
    return (uint64_t)128 * (uint64_t)r * ((uint64_t)1 << log2_n) <= MAX_MEM;
}

static int derive(const char *pw, const unsigned char *salt, int log2_n, int r, int p,
                  unsigned char key[CC_PWHASH_KEY_LEN])
{
    /* An absent or over-long password is hashed as given (bounded by the
     * policy when set); scrypt takes any octet string. */
    size_t pwlen = pw ? strnlen(pw, CC_PWHASH_MAX_BYTES + 1) : 0;
    uint64_t n = (uint64_t)1 << log2_n;
    uint32_t rr = (uint32_t)r, pp = (uint32_t)p;
    /* OpenSSL refuses parameters that need more than maxmem: allow what
     * params_ok allows, with room for its own bookkeeping. */
    uint64_t maxmem = MAX_MEM + (MAX_MEM / 4);
    int rc = CC_ECRYPTO;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    if (kctx) {
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                              (void *)(pw ? pw : ""), pwlen),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
                                              CC_PWHASH_SALT_LEN),
            OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
            OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &rr),
            OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &pp),
            OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
            OSSL_PARAM_construct_end(),
        };
        if (EVP_KDF_derive(kctx, key, CC_PWHASH_KEY_LEN, params) == 1)
            rc = 0;
    }
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rc;
}

int cc_pwhash_hash_params(const char *pw, int log2_n, int r, int p, char *out,
                          size_t cap)
{
    if (!out || cap < CC_PWHASH_CAP)
        return CC_ENOSPC;
    out[0] = 0;
    if (!params_ok(log2_n, r, p))
        return CC_EINVAL;
    unsigned char salt[CC_PWHASH_SALT_LEN], key[CC_PWHASH_KEY_LEN];
    if (cc_rand_bytes(salt, sizeof salt) != 0)
        return CC_ECRYPTO;
    int rc = derive(pw, salt, log2_n, r, p, key);
    if (rc == 0) {
        char s64[SALT_B64 + 1], k64[KEY_B64 + 1];
        EVP_EncodeBlock((unsigned char *)s64, salt, sizeof salt);
        EVP_EncodeBlock((unsigned char *)k64, key, sizeof key);
        snprintf(out, cap, "scrypt$%d$%d$%d$%s$%s", log2_n, r, p, s64, k64);
        OPENSSL_cleanse(k64, sizeof k64);
    }
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

int cc_pwhash_hash(const char *pw, char *out, size_t cap)
{
    return cc_pwhash_hash_params(pw, CC_PWHASH_LOG2_N, CC_PWHASH_R, CC_PWHASH_P, out, cap);
}

/* A decimal field of 1..2 digits, no sign, no leading zero, ended by '$'.
 * Advances *s past the '$'. */
static int parse_small(const char **s, int *out)
{
    const char *p = *s;
    int v = 0, digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 3) {
        v = v * 10 + (*p - '0');
        p++;
        digits++;
    }
    if (digits == 0 || digits > 2 || (digits > 1 && **s == '0') || *p != '$')
        return CC_EINVAL;
    *out = v;
    *s = p + 1;
    return 0;
}

/* Exactly `b64len` characters of canonical padded base64 for `n` bytes,
 * ended by `end` (a '$' or the NUL). Advances *s past the field. */
static int parse_b64(const char **s, size_t b64len, unsigned char *out, size_t n, char end)
{
    const char *p = *s;
    size_t len = 0;
    while (p[len] && p[len] != '$' && len <= b64len)
        len++;
    if (len != b64len || p[len] != end)
        return CC_EINVAL;
    unsigned char dec[64 + 3], re[96];
    if (b64len > 88)
        return CC_EINVAL;
    /* EVP_DecodeBlock ignores neither junk nor padding errors silently
     * enough for us: decode, then demand that encoding the bytes gives the
     * very same text (one spelling per value). */
    if (EVP_DecodeBlock(dec, (const unsigned char *)p, (int)b64len) < (int)n)
        return CC_EINVAL;
    EVP_EncodeBlock(re, dec, (int)n);
    int same = memcmp(re, p, b64len) == 0;
    if (same)
        memcpy(out, dec, n);
    OPENSSL_cleanse(dec, sizeof dec);
    if (!same)
        return CC_EINVAL;
    *s = p + len + (end ? 1 : 0);
    return 0;
}

int cc_pwhash_parse(const char *encoded, cc_pwhash_parsed *out)
{
    cc_pwhash_parsed v;
    memset(&v, 0, sizeof v);
    if (!encoded || strncmp(encoded, "scrypt$", 7) != 0)
        return CC_EINVAL;
    const char *s = encoded + 7;
    if (parse_small(&s, &v.log2_n) || parse_small(&s, &v.r) || parse_small(&s, &v.p))
        return CC_EINVAL;
    if (!params_ok(v.log2_n, v.r, v.p))
        return CC_EINVAL;
    if (parse_b64(&s, SALT_B64, v.salt, sizeof v.salt, '$') ||
        parse_b64(&s, KEY_B64, v.key, sizeof v.key, 0))
        return CC_EINVAL;
    if (out)
        *out = v;
    OPENSSL_cleanse(&v, sizeof v);
    return 0;
}

int cc_pwhash_verify(const char *encoded, const char *pw)
{
    cc_pwhash_parsed v;
    if (cc_pwhash_parse(encoded, &v) != 0)
        return CC_EINVAL;
    unsigned char key[CC_PWHASH_KEY_LEN];
    int rc = derive(pw, v.salt, v.log2_n, v.r, v.p, key);
    if (rc == 0)
        rc = CRYPTO_memcmp(key, v.key, sizeof key) == 0 ? 1 : 0;
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(&v, sizeof v);
    return rc;
}

int cc_pwhash_outdated(const char *encoded)
{
    cc_pwhash_parsed v;
    if (cc_pwhash_parse(encoded, &v) != 0)
        return 1;
    int old = v.log2_n != CC_PWHASH_LOG2_N || v.r != CC_PWHASH_R || v.p != CC_PWHASH_P;
    OPENSSL_cleanse(&v, sizeof v);
    return old;
}

int cc_pwhash_generate(char *out, size_t n)
{
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789"; /* 32 */
    unsigned char rnd[64];
    if (n > sizeof rnd) {
        out[0] = 0;
        return CC_EINVAL;
    }
    if (cc_rand_bytes(rnd, n) != 0) {
        out[0] = 0;
        return CC_ECRYPTO;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[rnd[i] & 31]; /* 32 symbols: no bias */
    out[n] = 0;
    OPENSSL_cleanse(rnd, sizeof rnd);
    return 0;
}
