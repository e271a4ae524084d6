/* Logging: level names (the --log-level option) and bad ones, level
 * filtering, the line format, and the per-call-site rate limiter that keeps
 * a flood of bad packets from flooding the log: a burst is cut after 5
 * lines and the number left out is reported when the window ends.
 * log.c writes to stderr, so the test points fd 2 at a temporary file while
 * it logs (checks run only after stderr is back, or their own failure
 * messages would land in the capture). */
#include <pthread.h>
#include <unistd.h>

#include "cc_test.h"
#include "classcast/clock.h"
#include "classcast/err.h"
#include "classcast/log.h"

static FILE *g_cap;
static int g_saved_fd = -1;

static void capture_begin(void)
{
    fflush(stderr);
    g_cap = tmpfile();
    g_saved_fd = dup(2);
    if (g_cap && g_saved_fd >= 0)
        dup2(fileno(g_cap), 2);
}

/* Stops capturing; returns what was written (NUL-terminated, static). */
static const char *capture_end(void)
{
    static char text[8192];
    text[0] = 0;
    fflush(stderr);
    if (g_saved_fd >= 0) {
        dup2(g_saved_fd, 2);
        close(g_saved_fd);
        g_saved_fd = -1;
    }
    if (!g_cap)
        return text;
    rewind(g_cap);
    size_t n = fread(text, 1, sizeof text - 1, g_cap);
    text[n] = 0;
    fclose(g_cap);
    g_cap = NULL;
    return text;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static int count_substr(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_parse_level(void)
{
    static const struct {
        const char *name;
        cc_log_level lvl;
    } good[] = {{"error", CC_LOG_ERROR}, {"warn", CC_LOG_WARN},
                {"info", CC_LOG_INFO}, {"debug", CC_LOG_DEBUG}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        cc_log_level l = (cc_log_level)99;
        CC_CHECK_EQ(cc_log_parse_level(good[i].name, &l), 0);
        CC_CHECK_EQ(l, good[i].lvl);
    }
    /* Bad input is refused and leaves the output alone (the caller keeps
     * its default level). */
    static const char *bad[] = {"", "verbose", "inf", "infos", "warning",
                                " info", "info ", "3", "debug\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cc_log_level l = CC_LOG_WARN;
        CC_CHECK_EQ(cc_log_parse_level(bad[i], &l), CC_EINVAL);
        CC_CHECK_EQ(l, CC_LOG_WARN);
    }
    cc_log_level l = CC_LOG_WARN;
    CC_CHECK_EQ(cc_log_parse_level(NULL, &l), CC_EINVAL);
    CC_CHECK_EQ(l, CC_LOG_WARN);
}

static int g_evaluated;
static int side_effect(void)
{
    g_evaluated++;
    return 7;
}

static void test_filter(void)
{
    cc_log_set_level(CC_LOG_WARN);
    CC_CHECK_EQ(cc_log_get_level(), CC_LOG_WARN);
    g_evaluated = 0;
    capture_begin();
    CC_DEBUG("tmod", "debug line %d", side_effect());
    CC_INFO("tmod", "info line %d", side_effect());
    CC_WARN("tmod", "warn line %d", 1);
    CC_ERROR("tmod", "error line %d", 2);
    const char *out = capture_end();
    CC_CHECK_EQ(count_lines(out), 2);
    CC_CHECK(strstr(out, " W tmod: warn line 1\n") != NULL);
    CC_CHECK(strstr(out, " E tmod: error line 2\n") != NULL);
    CC_CHECK(strstr(out, "info line") == NULL);
    CC_CHECK(strstr(out, "debug line") == NULL);
    /* A filtered line costs no formatting: its arguments are not even
     * evaluated (the packet path has CC_DEBUG lines). */
    CC_CHECK_EQ(g_evaluated, 0);

    cc_log_set_level(CC_LOG_DEBUG);
    capture_begin();
    CC_DEBUG("tmod", "debug line %d", side_effect());
    CC_INFO("tmod", "info line %d", 3);
    out = capture_end();
    CC_CHECK_EQ(count_lines(out), 2);
    CC_CHECK(strstr(out, " D tmod: debug line 7\n") != NULL);
    CC_CHECK(strstr(out, " I tmod: info line 3\n") != NULL);
    CC_CHECK_EQ(g_evaluated, 1);

    cc_log_set_level(CC_LOG_ERROR);
    capture_begin();
    CC_WARN("tmod", "not shown");
    CC_ERROR("tmod", "shown");
    out = capture_end();
    CC_CHECK_EQ(count_lines(out), 1);
    CC_CHECK(strstr(out, "not shown") == NULL);
    cc_log_set_level(CC_LOG_INFO);
}

static void test_format(void)
{
    /* "<seconds>.<milliseconds> <E|W|I|D> <module>: <text>", one line. */
    capture_begin();
    cc_log_write(CC_LOG_INFO, "fmt", "hello %s", "world");
    const char *out = capture_end();
    long long sec = -1, ms = -1;
    char tag = 0, rest[64] = "";
    CC_CHECK_EQ(sscanf(out, "%lld.%3lld %c %63[^\n]", &sec, &ms, &tag, rest), 4);
    CC_CHECK(sec >= 0 && ms >= 0 && ms < 1000);
    CC_CHECK_EQ(tag, 'I');
    CC_CHECK(strcmp(rest, "fmt: hello world") == 0);
    CC_CHECK_EQ(count_lines(out), 1);

    /* A message longer than the line buffer is cut, still one line. */
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    capture_begin();
    cc_log_write(CC_LOG_WARN, "big", "%s", big);
    out = capture_end();
    CC_CHECK_EQ(count_lines(out), 1);
    CC_CHECK(strlen(out) < 1100);
    CC_CHECK(strlen(out) > 1000);
}

/* The rate limiter on an explicit clock: burst, suppression, the report. */
static void test_rate_limit(void)
{
    cc_clock c;
    cc_clock_init_manual(&c, 1000 * CC_USEC_PER_SEC);
    cc_log_rl rl = {0};
    int allowed = 0;
    capture_begin();
    /* 20 lines within 19 ms: the first 5 pass. */
    for (int i = 0; i < 20; i++) {
        allowed += cc_log_rl_allow_at(&rl, 5, "rlmod", cc_clock_now(&c));
        cc_clock_advance(&c, CC_USEC_PER_MSEC);
    }
    const char *out = capture_end();
    CC_CHECK_EQ(allowed, 5);
    CC_CHECK_EQ(rl.suppressed, 15);
    CC_CHECK_EQ(count_lines(out), 0); /* nothing to report yet */

    /* Still inside the window (1 s from its first line): suppressed. */
    cc_clock_advance(&c, CC_USEC_PER_SEC - 20 * CC_USEC_PER_MSEC - 1);
    CC_CHECK_EQ(cc_log_rl_allow_at(&rl, 5, "rlmod", cc_clock_now(&c)), 0);
    CC_CHECK_EQ(rl.suppressed, 16);

    /* The window ends: the next line passes and the count is reported. */
    cc_clock_advance(&c, 1);
    capture_begin();
    int ok = cc_log_rl_allow_at(&rl, 5, "rlmod", cc_clock_now(&c));
    out = capture_end();
    CC_CHECK_EQ(ok, 1);
    CC_CHECK_EQ(count_lines(out), 1);
    CC_CHECK(strstr(out, " W rlmod: 16 similar lines suppressed\n") != NULL);
    CC_CHECK_EQ(rl.suppressed, 0);

    /* A new burst budget in the new window: 4 more, then cut again. */
    allowed = 0;
    for (int i = 0; i < 10; i++)
        allowed += cc_log_rl_allow_at(&rl, 5, "rlmod", cc_clock_now(&c));
    CC_CHECK_EQ(allowed, 4);
    CC_CHECK_EQ(rl.suppressed, 6);

    /* A quiet window: no report for a window that suppressed nothing. */
    cc_clock_advance(&c, 10 * CC_USEC_PER_SEC);
    capture_begin();
    CC_CHECK_EQ(cc_log_rl_allow_at(&rl, 5, "rlmod", cc_clock_now(&c)), 1);
    cc_clock_advance(&c, 10 * CC_USEC_PER_SEC);
    CC_CHECK_EQ(cc_log_rl_allow_at(&rl, 5, "rlmod", cc_clock_now(&c)), 1);
    out = capture_end();
    CC_CHECK_EQ(count_substr(out, "6 similar lines suppressed"), 1);
    CC_CHECK_EQ(count_lines(out), 1);
}

/* One call site of CC_LOG_RL (its state is static per site and thread). */
static void flood_site(int i) { CC_LOG_RL(CC_LOG_WARN, "flood", "bad packet %d", i); }
static void debug_site(int i) { CC_LOG_RL(CC_LOG_DEBUG, "flood", "debug %d", i); }

static void *flood_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20; i++)
        flood_site(100 + i);
    return NULL;
}

/* The macro as the packet path uses it, on the real clock. */
static void test_rate_limit_macro(void)
{
    cc_log_set_level(CC_LOG_INFO);
    capture_begin();
    for (int i = 0; i < 50; i++)
        flood_site(i);
    /* Filtered by level: not written and not counted as suppressed. */
    for (int i = 0; i < 50; i++)
        debug_site(i);
    const char *out = capture_end();
    CC_CHECK_EQ(count_lines(out), 5);
    CC_CHECK_EQ(count_substr(out, "W flood: bad packet "), 5);
    CC_CHECK(strstr(out, "bad packet 4\n") != NULL);
    CC_CHECK(strstr(out, "bad packet 5\n") == NULL);
    CC_CHECK(strstr(out, "debug") == NULL);

    /* Another thread has its own budget (the state is __thread). */
    capture_begin();
    pthread_t t;
    pthread_create(&t, NULL, flood_thread, NULL);
    pthread_join(t, NULL);
    out = capture_end();
    CC_CHECK_EQ(count_substr(out, "W flood: bad packet 1"), 5);

    /* After the window, the 45 lines left out are reported, then the line. */
    usleep(1050 * 1000);
    capture_begin();
    flood_site(999);
    out = capture_end();
    CC_CHECK_EQ(count_lines(out), 2);
    const char *sum = strstr(out, "W flood: 45 similar lines suppressed\n");
    const char *line = strstr(out, "W flood: bad packet 999\n");
    CC_CHECK(sum != NULL && line != NULL && sum < line);
}

int main(void)
{
    CC_RUN(test_parse_level);
    CC_RUN(test_filter);
    CC_RUN(test_format);
    CC_RUN(test_rate_limit);
    CC_RUN(test_rate_limit_macro);
    CC_TEST_DONE();
}
