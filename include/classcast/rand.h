/* classcast: randomness from OpenSSL's CSPRNG (ICE credentials, SSRCs,
 * STUN transaction ids), plus a seeded PRNG for tests and simulations.
 * Thread: any. */
#ifndef CLASSCAST_RAND_H
#define CLASSCAST_RAND_H

#include <stddef.h>
#include <stdint.h>

/* Fill buf with cryptographically strong random bytes; 0 or CC_ECRYPTO. */
int cc_rand_bytes(void *buf, size_t n);
uint32_t cc_rand_u32(void);
/* n random ice-chars (RFC 8839: ALPHA / DIGIT / "+" / "/") and a NUL;
 * out must hold n + 1 bytes. */
void cc_rand_ice_string(char *out, size_t n);

/* n random letters and digits and a NUL (out holds n + 1 bytes): safe in
 * any SDP token (RFC 8866 section 9: no '/' or '+'), e.g. CNAMEs and msid
 * ids. */
void cc_rand_token(char *out, size_t n);

/* Seeded xorshift64* for reproducible tests (never for keys). */
typedef struct cc_prng { uint64_t s; } cc_prng;
void cc_prng_seed(cc_prng *p, uint64_t seed);
uint64_t cc_prng_next(cc_prng *p);
/* Uniform in [0, n). */
uint32_t cc_prng_below(cc_prng *p, uint32_t n);

#endif
