#include "classcast/rand.h"

#include <openssl/rand.h>

#include "classcast/err.h"

int cc_rand_bytes(void *buf, size_t n)
{
    return RAND_bytes(buf, (int)n) == 1 ? 0 : CC_ECRYPTO;
}

uint32_t cc_rand_u32(void)
{
    uint32_t v = 0;
    cc_rand_bytes(&v, sizeof v);
    return v;
}

void cc_rand_ice_string(char *out, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char rnd[256];
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done < sizeof rnd ? n - done : sizeof rnd;
        cc_rand_bytes(rnd, chunk);
        for (size_t i = 0; i < chunk; i++)
            out[done + i] = alphabet[rnd[i] & 63]; /* 64 symbols: no bias */
        done += chunk;
    }
    out[n] = 0;
}

void cc_rand_token(char *out, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char rnd[256];
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done < sizeof rnd ? n - done : sizeof rnd;
        cc_rand_bytes(rnd, chunk);
        size_t k = 0;
        for (size_t i = 0; i < chunk; i++)
            if (rnd[i] < 248) /* 248 = 4 * 62: no modulo bias */
                out[done + k++] = alphabet[rnd[i] % 62];
        done += k;
    }
    out[n] = 0;
}

void cc_prng_seed(cc_prng *p, uint64_t seed) { p->s = seed ? seed : 0x9E3779B97F4A7C15ull; }

uint64_t cc_prng_next(cc_prng *p)
{
    uint64_t x = p->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    p->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

uint32_t cc_prng_below(cc_prng *p, uint32_t n)
{
    return n ? (uint32_t)((cc_prng_next(p) >> 32) % n) : 0;
}
