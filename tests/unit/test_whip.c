/* Unit tests for src/signal/whip.c: WHIP/WHEP paths and bearer tokens. */
#include <string.h>

#include "cc_test.h"
#include "classcast/err.h"
#include "classcast/whip.h"

static void test_paths(void)
{
    cc_whip_target t;
    CC_CHECK_EQ(cc_whip_parse_path("/whip/482913", &t), 0);
    CC_CHECK(t.publisher == 1 && !strcmp(t.code, "482913") && !t.resource[0]);
    CC_CHECK_EQ(cc_whip_parse_path("/whep/demo", &t), 0);
    CC_CHECK(t.publisher == 0 && !strcmp(t.code, "demo"));
    CC_CHECK_EQ(cc_whip_parse_path("/whep/demo/Ab12Cd34Ef56Gh78", &t), 0);
    CC_CHECK(!strcmp(t.code, "demo") && !strcmp(t.resource, "Ab12Cd34Ef56Gh78"));
    CC_CHECK_EQ(cc_whip_parse_path("/whep/abcdefghijklmnop", &t), 0); /* 16 */
    const char *bad[] = {
        NULL, "", "/", "/whip", "/whip/", "/whep//x", "/whep/demo/",
        "/whep/abcdefghijklmnopq",            /* 17 */
        "/whep/de mo", "/whep/dem%6f", "/whep/../etc", "/whep/demo/a/b",
        "/whep/demo/a+b", "/whep/demo/..", "/wHip/demo", "/whipx/demo",
        "/whep/Lớp5A",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CC_CHECK_EQ(cc_whip_parse_path(bad[i], &t), CC_ENOTFOUND);
        CC_CHECK(!t.code[0] && !t.resource[0]);
    }
    char longres[200] = "/whep/demo/";
    memset(longres + 11, 'a', 64);
    CC_CHECK_EQ(cc_whip_parse_path(longres, &t), CC_ENOTFOUND); /* 64 > 63 */
}

static void test_bearer(void)
{
    const char *tok = "AbC-_0123456789.~+/xyz==";
    char hdr[100];
    strcpy(hdr, "Bearer ");
    strcat(hdr, tok);
    CC_CHECK(cc_whip_bearer(hdr) && !strcmp(cc_whip_bearer(hdr), tok));
    CC_CHECK(cc_whip_bearer("bearer   abc") && !strcmp(cc_whip_bearer("bearer   abc"), "abc"));
    const char *bad[] = {
        NULL, "", "Bearer", "Bearer ", "Bearer  ", "Bearerabc", "Basic YWxhZGRpbjpvcGVu",
        "Bearer ab c", "Bearer abc ", "Bearer =abc", "Bearer abc=x", "Bearer a\"b",
        "Bearer a\tb", "Token abc",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CC_CHECK(cc_whip_bearer(bad[i]) == NULL);
}

int main(void)
{
    CC_RUN(test_paths);
    CC_RUN(test_bearer);
    CC_TEST_DONE();
}
