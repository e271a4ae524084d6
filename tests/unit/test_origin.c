/* Unit tests for src/signal/origin.c: the Origin and Host checks that keep
 * other sites' pages away from /ws and the state-changing endpoints. */
#include <string.h>

#include "cc_test.h"
#include "classcast/err.h"
#include "classcast/origin.h"

static const char *const names[] = {"teacher-laptop", "teacher-laptop.local"};
#define CHECK_V(o, h, tls, want)                                              \
    CC_CHECK_EQ(cc_origin_check((o), (h), (tls), names, 2), (want))

static void test_same(void)
{
    CHECK_V("http://127.0.0.1:8080", "127.0.0.1:8080", 0, CC_ORIGIN_SAME);
    CHECK_V("http://localhost:8080", "localhost:8080", 0, CC_ORIGIN_SAME);
    CHECK_V("HTTP://LocalHost:8080", "localhost:8080", 0, CC_ORIGIN_SAME);
    CHECK_V("http://192.0.2.7", "192.0.2.7:80", 0, CC_ORIGIN_SAME);   /* default port */
    CHECK_V("http://192.0.2.7:80", "192.0.2.7", 0, CC_ORIGIN_SAME);
    CHECK_V("https://192.0.2.7", "192.0.2.7:443", 1, CC_ORIGIN_SAME);
    CHECK_V("http://[::1]:8080", "[::1]:8080", 0, CC_ORIGIN_SAME);
    CHECK_V("https://teacher-laptop.local:8443", "Teacher-Laptop.local:8443", 1,
            CC_ORIGIN_SAME);
}

static void test_none(void)
{
    /* Not a browser script: decided by the token, not here. */
    CHECK_V(NULL, "127.0.0.1:8080", 0, CC_ORIGIN_NONE);
    CHECK_V("", "127.0.0.1:8080", 0, CC_ORIGIN_NONE);
}

static void test_foreign(void)
{
    /* The cross-site page of the verified hole: another loopback address. */
    CHECK_V("http://127.0.0.2:9999", "127.0.0.1:8080", 0, CC_ORIGIN_FOREIGN);
    CHECK_V("http://127.0.0.1:9999", "127.0.0.1:8080", 0, CC_ORIGIN_FOREIGN);
    CHECK_V("http://localhost:8080", "127.0.0.1:8080", 0, CC_ORIGIN_FOREIGN);
    CHECK_V("https://127.0.0.1:8080", "127.0.0.1:8080", 0, CC_ORIGIN_FOREIGN);
    CHECK_V("http://127.0.0.1:8443", "127.0.0.1:8443", 1, CC_ORIGIN_FOREIGN);
    CHECK_V("null", "127.0.0.1:8080", 0, CC_ORIGIN_FOREIGN);
    CHECK_V("file://", "127.0.0.1:8080", 0, CC_ORIGIN_FOREIGN);
    CHECK_V("http://127.0.0.1:8080/path", "127.0.0.1:8080", 0, CC_ORIGIN_FOREIGN);
    CHECK_V("http://127.0.0.1:8080@evil", "127.0.0.1:8080", 0, CC_ORIGIN_FOREIGN);
    CHECK_V("http://127.0.0.1:", "127.0.0.1:80", 0, CC_ORIGIN_FOREIGN);
    CHECK_V("http://127.0.0.1:0", "127.0.0.1:80", 0, CC_ORIGIN_FOREIGN);
    CHECK_V("http://127.0.0.1:99999", "127.0.0.1:80", 0, CC_ORIGIN_FOREIGN);
    CHECK_V("http://[127.0.0.1]:80", "127.0.0.1:80", 0, CC_ORIGIN_FOREIGN);
    CHECK_V("http://", "127.0.0.1:80", 0, CC_ORIGIN_FOREIGN);
}

static void test_bad_host(void)
{
    /* DNS rebinding: the attacker's name resolves to us, so Origin and Host
     * agree; the name is not ours. */
    CHECK_V("http://evil.example:8080", "evil.example:8080", 0, CC_ORIGIN_BAD_HOST);
    CHECK_V(NULL, "evil.example:8080", 0, CC_ORIGIN_BAD_HOST);
    CHECK_V("http://127.0.0.1:8080", NULL, 0, CC_ORIGIN_BAD_HOST);
    CHECK_V("http://127.0.0.1:8080", "", 0, CC_ORIGIN_BAD_HOST);
    CHECK_V(NULL, "127.0.0.1:8080 ", 0, CC_ORIGIN_BAD_HOST);
    CHECK_V(NULL, "[::1", 0, CC_ORIGIN_BAD_HOST);
    CHECK_V(NULL, "::1", 0, CC_ORIGIN_BAD_HOST);
    CHECK_V(NULL, "a_b:80", 0, CC_ORIGIN_BAD_HOST);
    char longname[400];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    CHECK_V(NULL, longname, 0, CC_ORIGIN_BAD_HOST);
    CC_CHECK(strcmp(cc_origin_verdict_name(CC_ORIGIN_BAD_HOST), "bad-host") == 0);
}

/* The host part for a redirect to HTTPS on another port. */
static void test_host_of(void)
{
    char out[64];
    CC_CHECK_EQ(cc_origin_host_of("192.0.2.7:8080", out, sizeof out), 0);
    CC_CHECK(strcmp(out, "192.0.2.7") == 0);
    CC_CHECK_EQ(cc_origin_host_of("Teacher-Laptop.LOCAL:8080", out, sizeof out), 0);
    CC_CHECK(strcmp(out, "teacher-laptop.local") == 0);
    CC_CHECK_EQ(cc_origin_host_of("[2001:DB8::5]:8080", out, sizeof out), 0);
    CC_CHECK(strcmp(out, "[2001:db8::5]") == 0);
    CC_CHECK_EQ(cc_origin_host_of("[::1]", out, sizeof out), 0);
    CC_CHECK(strcmp(out, "[::1]") == 0);
    CC_CHECK_EQ(cc_origin_host_of("localhost", out, sizeof out), 0);
    CC_CHECK(strcmp(out, "localhost") == 0);
    /* Nothing that could smuggle another host or a path into a Location. */
    CC_CHECK_EQ(cc_origin_host_of("evil.example/x:80", out, sizeof out), CC_EINVAL);
    CC_CHECK_EQ(cc_origin_host_of("a@b:80", out, sizeof out), CC_EINVAL);
    CC_CHECK_EQ(cc_origin_host_of("a:80:90", out, sizeof out), CC_EINVAL);
    CC_CHECK_EQ(cc_origin_host_of("", out, sizeof out), CC_EINVAL);
    CC_CHECK_EQ(cc_origin_host_of(NULL, out, sizeof out), CC_EINVAL);
    CC_CHECK_EQ(cc_origin_host_of("[::1", out, sizeof out), CC_EINVAL);
    CC_CHECK_EQ(cc_origin_host_of("192.0.2.7:8080", out, 9), CC_ENOSPC);
}

int main(void)
{
    CC_RUN(test_same);
    CC_RUN(test_none);
    CC_RUN(test_foreign);
    CC_RUN(test_bad_host);
    CC_RUN(test_host_of);
    CC_TEST_DONE();
}
