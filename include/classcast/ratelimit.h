/* classcast: how many failed tries one address may make (wrong lesson
 * codes, wrong tokens), as a token bucket per key with an explicit clock
 * and no I/O. A key starts with `burst` tries; each failure takes one; they
 * come back at `per_minute`. While none is left, the key is refused and
 * told how long to wait.
 * The table is bounded (`max_keys`): when it is full, the key that has been
 * quiet longest is forgotten, which can only give that address its tries
 * back early. IPv6 addresses should be keyed by their /64 (one household or
 * school network), which cc_ratelimit_key_of_ip does.
 * Thread: one owner (the control thread). */
#ifndef CLASSCAST_RATELIMIT_H
#define CLASSCAST_RATELIMIT_H

#include <stddef.h>

#include "classcast/clock.h"

typedef struct cc_ratelimit cc_ratelimit;

/* NULL when out of memory or the numbers make no sense (all must be > 0). */
cc_ratelimit *cc_ratelimit_new(int max_keys, int burst, int per_minute);
void cc_ratelimit_free(cc_ratelimit *rl);

/* 0 if key may try now, else CC_ELIMIT with *retry_after_s (>= 1) set:
 * the whole seconds until one try is back. Takes nothing. */
int cc_ratelimit_check(cc_ratelimit *rl, const char *key, cc_time_us now,
                       int *retry_after_s);
/* A failed try: takes one (never below zero). */
void cc_ratelimit_fail(cc_ratelimit *rl, const char *key, cc_time_us now);

/* The key for a peer address ("192.0.2.7", "2001:db8::1", "::ffff:1.2.3.4"):
 * IPv4 as is (v4-mapped unwrapped), IPv6 as its /64 prefix. Anything else
 * is copied as given. out: at least 64 bytes. */
void cc_ratelimit_key_of_ip(const char *ip, char *out, size_t cap);

#endif
