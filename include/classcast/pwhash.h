/* classcast: teacher passwords, hashed with scrypt (RFC 7914) through
 * OpenSSL's EVP_KDF "SCRYPT", and stored as one self-describing string:
 *
 *     scrypt$<log2 N>$<r>$<p>$<base64 salt>$<base64 key>
 *     scrypt$15$8$1$q0m1...A==$Zt4x...Y=
 *
 * (base64 of RFC 4648 section 4, padded). The parameters travel with the
 * hash, so raising the cost later keeps old hashes verifiable.
 * Passwords are never logged, and the buffers that held a derived key are
 * cleansed.
 * Thread: any (no shared state). */
#ifndef CLASSCAST_PWHASH_H
#define CLASSCAST_PWHASH_H

#include <stddef.h>

/* N = 2^15, r = 8, p = 1: 32 MiB and roughly 0.1 s per hash on a
 * classroom PC (RFC 7914 section 2 recommends N = 2^14 or more for
 * interactive logins with r = 8, p = 1). */
#define CC_PWHASH_LOG2_N 15
#define CC_PWHASH_R 8
#define CC_PWHASH_P 1
#define CC_PWHASH_SALT_LEN 16
#define CC_PWHASH_KEY_LEN 32
/* An encoded hash fits in this (with the NUL). */
#define CC_PWHASH_CAP 128

/* Password policy: 10 to 256 characters (Unicode code points of valid
 * UTF-8), no NUL. Long passphrases are welcome; the cap bounds work. */
#define CC_PWHASH_MIN_CHARS 10
#define CC_PWHASH_MAX_BYTES 1024

/* 0 if pw may be a password, CC_EINVAL if not (too short, too long, not
 * UTF-8). */
int cc_pwhash_policy(const char *pw);

/* Hash pw with a fresh 16-byte random salt and the default parameters.
 * 0, CC_ENOSPC (cap < CC_PWHASH_CAP) or CC_ECRYPTO. */
int cc_pwhash_hash(const char *pw, char *out, size_t cap);
/* The same with explicit parameters (tests use a low cost; the parser's
 * bounds below apply). CC_EINVAL for parameters out of bounds. */
int cc_pwhash_hash_params(const char *pw, int log2_n, int r, int p, char *out,
                          size_t cap);

typedef struct cc_pwhash_parsed {
    int log2_n, r, p;
    unsigned char salt[CC_PWHASH_SALT_LEN];
    unsigned char key[CC_PWHASH_KEY_LEN];
} cc_pwhash_parsed;

/* Parse an encoded hash. Strict: the exact shape above, decimal numbers
 * without signs or leading zeros, 1 <= log2 N <= 20, 1 <= r <= 32,
 * 1 <= p <= 16, at most 256 MiB of scrypt memory (128 * r * N), canonical
 * base64 of exactly 16 and 32 bytes. 0 or CC_EINVAL; never reads past the
 * string's NUL. */
int cc_pwhash_parse(const char *encoded, cc_pwhash_parsed *out);

/* 1 if pw matches the encoded hash, 0 if it does not, CC_EINVAL if the
 * encoded hash does not parse, CC_ECRYPTO if scrypt failed. The keys are
 * compared with CRYPTO_memcmp (constant time). */
int cc_pwhash_verify(const char *encoded, const char *pw);

/* 1 if the hash was made with other parameters than the defaults (a
 * caller may re-hash after a successful sign-in), else 0. */
int cc_pwhash_outdated(const char *encoded);

/* A random password of n characters (n + 1 bytes in out) of 32 lower-case
 * letters and digits that cannot be mistaken for one another on a board or
 * typed wrong on a tablet (no 0/o, 1/l): 5 bits each, 80 bits for 16.
 * n at most 64. 0, CC_EINVAL or CC_ECRYPTO. */
int cc_pwhash_generate(char *out, size_t n);

#endif
