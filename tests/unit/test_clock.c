/* Clock: a manual clock moves only when advanced (the protocol tests rely
 * on it), a real one follows CLOCK_MONOTONIC and ignores advance, the
 * monotonic clock never goes back, wall time is Unix time, and the NTP
 * conversion for RTCP sender reports (RFC 3550 section 4) is exact. */
#include <time.h>
#include <unistd.h>

#include "cc_test.h"
#include "classcast/clock.h"

static void test_manual(void)
{
    cc_clock c;
    cc_clock_init_manual(&c, 1000 * CC_USEC_PER_SEC);
    CC_CHECK(c.manual);
    CC_CHECK_EQ(cc_clock_now(&c), 1000 * CC_USEC_PER_SEC);
    /* Real time passing does not move it. */
    usleep(2000);
    CC_CHECK_EQ(cc_clock_now(&c), 1000 * CC_USEC_PER_SEC);
    cc_clock_advance(&c, 250 * CC_USEC_PER_MSEC);
    CC_CHECK_EQ(cc_clock_now(&c), 1000 * CC_USEC_PER_SEC + 250000);
    cc_clock_advance(&c, 0);
    CC_CHECK_EQ(cc_clock_now(&c), 1000250000);
    /* 30 s in one step, as the consent tests do (RFC 7675). */
    cc_clock_advance(&c, 30 * CC_USEC_PER_SEC);
    CC_CHECK_EQ(cc_clock_now(&c), 1030250000);
    /* Starting at 0 is allowed (tests that count from zero). */
    cc_clock z;
    cc_clock_init_manual(&z, 0);
    CC_CHECK_EQ(cc_clock_now(&z), 0);
    cc_clock_advance(&z, 1);
    CC_CHECK_EQ(cc_clock_now(&z), 1);
    /* Every real time is before "never". */
    CC_CHECK(cc_clock_now(&c) < CC_TIME_NEVER);
    CC_CHECK(cc_clock_mono_us() < CC_TIME_NEVER);
}

static void test_real(void)
{
    cc_clock c;
    cc_clock_init_real(&c);
    CC_CHECK(!c.manual);
    cc_time_us a = cc_clock_mono_us();
    cc_time_us n = cc_clock_now(&c);
    cc_time_us b = cc_clock_mono_us();
    CC_CHECK(a <= n && n <= b);
    /* advance is for manual clocks only: a real one keeps real time. */
    cc_clock_advance(&c, 3600 * CC_USEC_PER_SEC);
    cc_time_us after = cc_clock_now(&c);
    CC_CHECK(after < cc_clock_mono_us() + CC_USEC_PER_SEC);
    CC_CHECK(after >= n);

    /* It agrees with CLOCK_MONOTONIC read directly. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    cc_time_us direct = (cc_time_us)ts.tv_sec * CC_USEC_PER_SEC + ts.tv_nsec / 1000;
    cc_time_us ours = cc_clock_mono_us();
    CC_CHECK(ours >= direct && ours - direct < 100 * CC_USEC_PER_MSEC);
}

static void test_monotonic(void)
{
    cc_time_us prev = cc_clock_mono_us();
    int backwards = 0;
    for (int i = 0; i < 100000; i++) {
        cc_time_us t = cc_clock_mono_us();
        if (t < prev)
            backwards++;
        prev = t;
    }
    CC_CHECK_EQ(backwards, 0);
    /* A 20 ms sleep shows as at least 20 ms (microseconds, not ms or ns);
     * the upper bound is loose for loaded CI machines. */
    cc_time_us t0 = cc_clock_mono_us();
    usleep(20000);
    cc_time_us dt = cc_clock_mono_us() - t0;
    CC_CHECK(dt >= 20 * CC_USEC_PER_MSEC);
    CC_CHECK(dt < 2 * CC_USEC_PER_SEC);
}

static void test_wall(void)
{
    time_t before = time(NULL);
    cc_time_us w = cc_clock_wall_us();
    time_t after = time(NULL);
    CC_CHECK(w / CC_USEC_PER_SEC >= (cc_time_us)before);
    CC_CHECK(w > 1577836800LL * CC_USEC_PER_SEC); /* after 2020: Unix epoch, us */
    /* time() may read the coarse clock, a tick behind: allow a second. */
    CC_CHECK(w / CC_USEC_PER_SEC <= (cc_time_us)after + 1);
}

static void test_ntp(void)
{
    /* NTP counts from 1900-01-01: 2208988800 s before the Unix epoch. */
    CC_CHECK(cc_clock_ntp_from_unix_us(0) == 2208988800ULL << 32);
    /* 2024-01-01T00:00:00Z = Unix 1704067200 = NTP 3913056000. */
    uint64_t n = cc_clock_ntp_from_unix_us(1704067200LL * CC_USEC_PER_SEC);
    CC_CHECK(n >> 32 == 3913056000ULL);
    CC_CHECK_EQ(n & 0xffffffffu, 0);
    /* The fraction is in 1/2^32 s: half a second is 0x80000000, a quarter
     * 0x40000000. */
    n = cc_clock_ntp_from_unix_us(1704067200LL * CC_USEC_PER_SEC + 500000);
    CC_CHECK(n >> 32 == 3913056000ULL);
    CC_CHECK_EQ(n & 0xffffffffu, 0x80000000u);
    n = cc_clock_ntp_from_unix_us(250000);
    CC_CHECK_EQ(n & 0xffffffffu, 0x40000000u);
    /* One microsecond is 4294.97 units: truncated, never rounded past. */
    n = cc_clock_ntp_from_unix_us(1);
    CC_CHECK_EQ(n & 0xffffffffu, 4294);
    /* The largest fraction stays below one second (no carry into sec). */
    n = cc_clock_ntp_from_unix_us(999999);
    CC_CHECK(n >> 32 == 2208988800ULL);
    CC_CHECK((n & 0xffffffffu) == 4294963001u); /* floor(999999 * 2^32 / 10^6) */
    /* Later is larger: RTCP round-trip maths subtracts these. */
    CC_CHECK(cc_clock_ntp_from_unix_us(1000001) > cc_clock_ntp_from_unix_us(999999));
}

int main(void)
{
    CC_RUN(test_manual);
    CC_RUN(test_real);
    CC_RUN(test_monotonic);
    CC_RUN(test_wall);
    CC_RUN(test_ntp);
    CC_TEST_DONE();
}
