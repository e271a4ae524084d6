/* classcast: time.
 * All protocol cores take an explicit `now` in microseconds (cc_time_us) and
 * never read the clock themselves; only src/base/clock.c reads the real clock.
 * A cc_clock is either real (CLOCK_MONOTONIC) or manual (tests advance it).
 * Thread: any; a manual clock belongs to the thread that advances it. */
#ifndef CLASSCAST_CLOCK_H
#define CLASSCAST_CLOCK_H

#include <stdint.h>

typedef int64_t cc_time_us;

#define CC_USEC_PER_MSEC ((cc_time_us)1000)
#define CC_USEC_PER_SEC ((cc_time_us)1000000)
/* "no deadline": later than any real time */
#define CC_TIME_NEVER INT64_MAX

typedef struct cc_clock {
    int manual;        /* 0: real monotonic clock, 1: manual */
    cc_time_us now_us; /* current time of a manual clock */
} cc_clock;

/* Monotonic time in microseconds (CLOCK_MONOTONIC). */
cc_time_us cc_clock_mono_us(void);
/* Wall-clock time in microseconds since the Unix epoch (for RTCP NTP). */
cc_time_us cc_clock_wall_us(void);

void cc_clock_init_real(cc_clock *c);
void cc_clock_init_manual(cc_clock *c, cc_time_us start);
cc_time_us cc_clock_now(const cc_clock *c);
/* Advance a manual clock; no effect on a real one. */
void cc_clock_advance(cc_clock *c, cc_time_us delta);

/* 64-bit NTP timestamp (RFC 3550 section 4) from Unix-epoch microseconds. */
uint64_t cc_clock_ntp_from_unix_us(cc_time_us unix_us);

#endif
