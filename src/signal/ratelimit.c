/* classcast: per-address limits on failed tries (ratelimit.h).
 * Hand-written: a token bucket is a dozen lines; the table is a GHashTable
 * (control plane, GLib allowed). */
#include "classcast/ratelimit.h"

#include <arpa/inet.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"

typedef struct bucket {
    double tokens;
    cc_time_us at; /* when tokens was last brought up to date */
} bucket;

struct cc_ratelimit {
    GHashTable *keys; /* char* -> bucket* */
    int max_keys, burst;
    double per_us;    /* tokens regained per microsecond */
};

cc_ratelimit *cc_ratelimit_new(int max_keys, int burst, int per_minute)
{
    if (max_keys <= 0 || burst <= 0 || per_minute <= 0)
        return NULL;
    cc_ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    rl->max_keys = max_keys;
    rl->burst = burst;
    rl->per_us = per_minute / (60.0 * CC_USEC_PER_SEC);
    return rl;
}

void cc_ratelimit_free(cc_ratelimit *rl)
{
    if (!rl)
        return;
    g_hash_table_destroy(rl->keys);
    free(rl);
}

static void refill(const cc_ratelimit *rl, bucket *b, cc_time_us now)
{
    if (now > b->at) {
        b->tokens += (double)(now - b->at) * rl->per_us;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
        b->at = now;
    }
}

int cc_ratelimit_check(cc_ratelimit *rl, const char *key, cc_time_us now,
                       int *retry_after_s)
{
    bucket *b = g_hash_table_lookup(rl->keys, key);
    if (!b)
        return 0;
    refill(rl, b, now);
    if (b->tokens >= 1.0)
        return 0;
    cc_time_us wait_us = (cc_time_us)((1.0 - b->tokens) / rl->per_us + 0.5);
    int s = (int)((wait_us + CC_USEC_PER_SEC - 1) / CC_USEC_PER_SEC);
    if (s < 1)
        s = 1;
    if (retry_after_s)
        *retry_after_s = s;
    return CC_ELIMIT;
}

/* Forgets the quietest key (a linear scan: only when the table is full). */
static void evict_one(cc_ratelimit *rl, cc_time_us now)
{
    GHashTableIter it;
    gpointer k, v, victim = NULL;
    double best = -1;
    g_hash_table_iter_init(&it, rl->keys);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        bucket *b = v;
        refill(rl, b, now);
        /* Full buckets first (nothing to remember), then the fullest. */
        if (b->tokens > best) {
            best = b->tokens;
            victim = k;
        }
    }
    if (victim)
        g_hash_table_remove(rl->keys, victim);
}

void cc_ratelimit_fail(cc_ratelimit *rl, const char *key, cc_time_us now)
{
    bucket *b = g_hash_table_lookup(rl->keys, key);
    if (!b) {
        if ((int)g_hash_table_size(rl->keys) >= rl->max_keys)
            evict_one(rl, now);
        b = g_new0(bucket, 1);
        b->tokens = rl->burst;
        b->at = now;
        g_hash_table_insert(rl->keys, g_strdup(key), b);
    }
    refill(rl, b, now);
    b->tokens = b->tokens >= 1.0 ? b->tokens - 1.0 : 0.0;
}

void cc_ratelimit_key_of_ip(const char *ip, char *out, size_t cap)
{
    struct in6_addr a6;
    struct in_addr a4;
    if (!ip) ip = "";
    if (strncmp(ip, "::ffff:", 7) == 0 && inet_pton(AF_INET, ip + 7, &a4) == 1) {
        snprintf(out, cap, "%s", ip + 7);
        return;
    }
    if (inet_pton(AF_INET6, ip, &a6) == 1) {
        /* RFC 4291 section 2.5.4: a /64 is one network. */
        memset(&a6.s6_addr[8], 0, 8);
        char buf[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &a6, buf, sizeof buf);
        snprintf(out, cap, "%s/64", buf);
        return;
    }
    snprintf(out, cap, "%s", ip);
}
