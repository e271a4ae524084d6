/* What protecting one RTP packet costs, the per-packet work of every
 * packet the SFU forwards: classcast's own AES-GCM path on OpenSSL
 * (src/rtc/srtp.c) against libsrtp's AEAD_AES_128_GCM on the same keys,
 * for a few payload sizes. Not a test: a figure for docs/bench-*.md.
 *   build/bench_protect [ITERATIONS]           (default 200000) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <srtp2/srtp.h>

#include "classcast/srtp.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static size_t make_rtp(uint8_t *p, size_t payload)
{
    p[0] = 0x80;
    p[1] = 96;
    p[2] = p[3] = 0;
    p[4] = 0; p[5] = 1; p[6] = 0xE2; p[7] = 0x40;
    p[8] = 0xCA; p[9] = 0xFE; p[10] = 0xBA; p[11] = 0xBE;
    for (size_t i = 0; i < payload; i++) p[12 + i] = (uint8_t)(i * 7);
    return 12 + payload;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    if (n <= 0) { fprintf(stderr, "usage: bench_protect [ITERATIONS]\n"); return 2; }
    if (cc_srtp_global_init() != 0) return 1;
    cc_srtp_keys k;
    memset(&k, 0, sizeof k);
    k.profile = CC_SRTP_AEAD_AES_128_GCM;
    k.key_len = 16;
    k.salt_len = 12;
    for (int i = 0; i < 16; i++) k.local_key[i] = k.remote_key[i] = (uint8_t)(i + 1);
    for (int i = 0; i < 12; i++) k.local_salt[i] = k.remote_salt[i] = (uint8_t)(i + 40);
    cc_srtp *fast = NULL;
    if (cc_srtp_new(&fast, &k) != 0) return 1;
    uint8_t master[28];
    memcpy(master, k.local_key, 16);
    memcpy(master + 16, k.local_salt, 12);
    srtp_policy_t pol;
    memset(&pol, 0, sizeof pol);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
    pol.ssrc.type = ssrc_any_outbound;
    pol.key = master;
    pol.window_size = 1024;
    pol.allow_repeat_tx = 1;
    srtp_t ref = NULL;
    if (srtp_create(&ref, &pol) != srtp_err_status_ok) return 1;

    static const size_t sizes[] = {100, 500, 1188};
    static uint8_t buf[1500 + CC_SRTP_MAX_TRAILER];
    printf("AEAD_AES_128_GCM protect, %ld packets per row (ns per packet)\n", n);
    printf("%8s %12s %12s\n", "bytes", "classcast", "libsrtp");
    /* One stream per implementation, each with its own rising sequence. */
    uint32_t seq_fast = 0, seq_ref = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t len = make_rtp(buf, sizes[s]), out = 0;
        double t0 = now_ns();
        for (long i = 0; i < n; i++, seq_fast++) {
            buf[2] = (uint8_t)(seq_fast >> 8);
            buf[3] = (uint8_t)seq_fast;
            if (cc_srtp_protect_rtp(fast, buf, len, sizeof buf, &out) != 0) return 1;
        }
        double t1 = now_ns();
        for (long i = 0; i < n; i++, seq_ref++) {
            int l = (int)len;
            buf[2] = (uint8_t)(seq_ref >> 8);
            buf[3] = (uint8_t)seq_ref;
            if (srtp_protect(ref, buf, &l) != srtp_err_status_ok) return 1;
        }
        double t2 = now_ns();
        printf("%8zu %12.0f %12.0f\n", len, (t1 - t0) / n, (t2 - t1) / n);
    }
    srtp_dealloc(ref);
    cc_srtp_free(fast);
    return 0;
}
