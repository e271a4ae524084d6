/* The only file that reads the system clock (docs/ARCHITECTURE.md,
 * "Rules the code keeps"). */
#include "classcast/clock.h"

#include <time.h>

cc_time_us cc_clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (cc_time_us)ts.tv_sec * CC_USEC_PER_SEC + ts.tv_nsec / 1000;
}

cc_time_us cc_clock_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (cc_time_us)ts.tv_sec * CC_USEC_PER_SEC + ts.tv_nsec / 1000;
}

void cc_clock_init_real(cc_clock *c)
{
    c->manual = 0;
    c->now_us = 0;
}

void cc_clock_init_manual(cc_clock *c, cc_time_us start)
{
    c->manual = 1;
    c->now_us = start;
}

cc_time_us cc_clock_now(const cc_clock *c)
{
    return c->manual ? c->now_us : cc_clock_mono_us();
}

void cc_clock_advance(cc_clock *c, cc_time_us delta)
{
    if (c->manual)
        c->now_us += delta;
}

uint64_t cc_clock_ntp_from_unix_us(cc_time_us unix_us)
{
    /* NTP epoch is 1900-01-01; 2208988800 s before the Unix epoch. */
    uint64_t sec = (uint64_t)(unix_us / CC_USEC_PER_SEC) + 2208988800ULL;
    uint64_t usec = (uint64_t)(unix_us % CC_USEC_PER_SEC);
    uint64_t frac = (usec << 32) / 1000000ULL;
    return (sec << 32) | frac;
}
