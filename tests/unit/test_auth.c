/* Unit tests for src/signal/auth.c: the session cookie in Cookie and
 * Set-Cookie headers (RFC 6265) and the account API's JSON and form
 * bodies. */
#include <stdio.h>
#include <string.h>

#include "cc_test.h"
#include "classcast/auth.h"
#include "classcast/err.h"

static void test_cookie_value(void)
{
    char v[64];
    CC_CHECK_EQ(cc_auth_cookie_value("cc_session=abc", "cc_session", v, sizeof v), 0);
    CC_CHECK(strcmp(v, "abc") == 0);
    CC_CHECK_EQ(cc_auth_cookie_value("a=1; cc_session=tok-_9; b=2", "cc_session", v, sizeof v), 0);
    CC_CHECK(strcmp(v, "tok-_9") == 0);
    /* lenient separators and blanks (RFC 6265 section 5.2), quotes */
    CC_CHECK_EQ(cc_auth_cookie_value(" a=1 ;;cc_session = \"q\" ;", "cc_session", v, sizeof v), 0);
    CC_CHECK(strcmp(v, "q") == 0);
    /* the first of two */
    CC_CHECK_EQ(cc_auth_cookie_value("cc_session=one; cc_session=two", "cc_session", v, sizeof v), 0);
    CC_CHECK(strcmp(v, "one") == 0);
    /* names must match exactly */
    CC_CHECK_EQ(cc_auth_cookie_value("xcc_session=1; cc_sessionx=2; CC_SESSION=3", "cc_session",
                                     v, sizeof v), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_auth_cookie_value("cc_session", "cc_session", v, sizeof v), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_auth_cookie_value("", "cc_session", v, sizeof v), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_auth_cookie_value(NULL, "cc_session", v, sizeof v), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_auth_cookie_value(";;;; ;", "cc_session", v, sizeof v), CC_ENOTFOUND);
    /* empty value: found, empty */
    CC_CHECK_EQ(cc_auth_cookie_value("cc_session=", "cc_session", v, sizeof v), 0);
    CC_CHECK(v[0] == 0);
    CC_CHECK_EQ(cc_auth_cookie_value("cc_session=\"", "cc_session", v, sizeof v), 0);
    CC_CHECK(strcmp(v, "\"") == 0);
    /* too long for the buffer */
    char small[4];
    CC_CHECK_EQ(cc_auth_cookie_value("cc_session=abcdef", "cc_session", small, sizeof small),
                CC_ENOSPC);
    CC_CHECK(small[0] == 0);
}

static void test_set_cookie(void)
{
    char h[256];
    CC_CHECK_EQ(cc_auth_set_cookie(h, sizeof h, "TOKEN", 43200, 0), 0);
    CC_CHECK(strcmp(h, "cc_session=TOKEN; Max-Age=43200; Path=/; HttpOnly; SameSite=Strict") == 0);
    CC_CHECK_EQ(cc_auth_set_cookie(h, sizeof h, "TOKEN", 60, 1), 0);
    CC_CHECK(strcmp(h, "cc_session=TOKEN; Max-Age=60; Path=/; HttpOnly; SameSite=Strict; Secure") == 0);
    /* deleting */
    CC_CHECK_EQ(cc_auth_set_cookie(h, sizeof h, NULL, 999, 1), 0);
    CC_CHECK(strcmp(h, "cc_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict; Secure") == 0);
    CC_CHECK_EQ(cc_auth_set_cookie(h, sizeof h, "T", -5, 0), 0);
    CC_CHECK(strstr(h, "Max-Age=0;") != NULL);
    CC_CHECK_EQ(cc_auth_set_cookie(h, 10, "TOKEN", 1, 0), CC_ENOSPC);
    CC_CHECK(h[0] == 0);
}

static int parse(const char *ct, const char *body, char *name, char *pw, char *adm, int *found)
{
    cc_auth_field f[] = {{"name", name, 65, 0}, {"password", pw, 129, 0}, {"admin", adm, 8, 0}};
    int rc = cc_auth_parse_fields(ct, body, strlen(body), f, 3);
    *found = f[0].found | f[1].found << 1 | f[2].found << 2;
    return rc;
}

static void test_json(void)
{
    char name[65], pw[129], adm[8];
    int found;
    const char *J = "application/json";
    CC_CHECK_EQ(parse(J, "{\"name\":\"lan\",\"password\":\"mật khẩu\",\"x\":[1]}", name, pw, adm,
                      &found), 0);
    CC_CHECK(strcmp(name, "lan") == 0 && strcmp(pw, "mật khẩu") == 0 && adm[0] == 0);
    CC_CHECK_EQ(found, 3);
    CC_CHECK_EQ(parse("Application/JSON; charset=utf-8", "{\"admin\":true}", name, pw, adm,
                      &found), 0);
    CC_CHECK(strcmp(adm, "true") == 0 && cc_auth_truthy(adm));
    CC_CHECK_EQ(found, 4);
    CC_CHECK_EQ(parse(J, "{\"admin\":false,\"name\":null}", name, pw, adm, &found), 0);
    CC_CHECK(strcmp(adm, "false") == 0 && !cc_auth_truthy(adm) && name[0] == 0);
    CC_CHECK_EQ(parse(J, "{\"admin\":1}", name, pw, adm, &found), 0);
    CC_CHECK(cc_auth_truthy(adm));
    /* refused */
    CC_CHECK_EQ(parse(J, "{\"name\":\"a\",\"name\":\"b\"}", name, pw, adm, &found), CC_EINVAL);
    CC_CHECK(name[0] == 0 && found == 0);
    CC_CHECK_EQ(parse(J, "{\"name\":\"a\\u0000b\"}", name, pw, adm, &found), CC_EINVAL);
    CC_CHECK_EQ(parse(J, "{\"name\":{}}", name, pw, adm, &found), CC_EINVAL);
    CC_CHECK_EQ(parse(J, "{\"name\":1.5}", name, pw, adm, &found), CC_EINVAL);
    CC_CHECK_EQ(parse(J, "[\"name\"]", name, pw, adm, &found), CC_EINVAL);
    CC_CHECK_EQ(parse(J, "", name, pw, adm, &found), CC_EINVAL);
    CC_CHECK_EQ(parse(J, "{\"name\":\"\xff\"}", name, pw, adm, &found), CC_EINVAL);
    CC_CHECK_EQ(parse(J, "{\"admin\":\"123456789\"}", name, pw, adm, &found), CC_ENOSPC);
    CC_CHECK_EQ(parse("text/plain", "{}", name, pw, adm, &found), CC_EUNSUPPORTED);
    CC_CHECK_EQ(parse("", "{}", name, pw, adm, &found), CC_EUNSUPPORTED);
    CC_CHECK_EQ(parse(NULL, "{}", name, pw, adm, &found), CC_EUNSUPPORTED);
    CC_CHECK_EQ(parse("application/jsonx", "{}", name, pw, adm, &found), CC_EUNSUPPORTED);
}

static void test_form(void)
{
    char name[65], pw[129], adm[8];
    int found;
    const char *F = "application/x-www-form-urlencoded";
    CC_CHECK_EQ(parse(F, "name=C%C3%B4+Lan&password=a%26b%3Dc%25&other=1", name, pw, adm, &found), 0);
    CC_CHECK(strcmp(name, "Cô Lan") == 0);
    CC_CHECK(strcmp(pw, "a&b=c%") == 0);
    CC_CHECK_EQ(found, 3);
    CC_CHECK_EQ(parse(F, "&&admin=on&", name, pw, adm, &found), 0);
    CC_CHECK(cc_auth_truthy(adm) && found == 4);
    CC_CHECK_EQ(parse(F, "admin", name, pw, adm, &found), 0); /* no '=': empty value */
    CC_CHECK(adm[0] == 0 && found == 4);
    CC_CHECK_EQ(parse(F, "", name, pw, adm, &found), 0);
    CC_CHECK_EQ(found, 0);
    /* SQL in a form value is just text */
    CC_CHECK_EQ(parse(F, "name=%27%20OR%20%271%27%3D%271", name, pw, adm, &found), 0);
    CC_CHECK(strcmp(name, "' OR '1'='1") == 0);
    /* refused */
    CC_CHECK_EQ(parse(F, "name=a&name=b", name, pw, adm, &found), CC_EINVAL);
    CC_CHECK_EQ(parse(F, "name=%", name, pw, adm, &found), CC_EINVAL);
    CC_CHECK_EQ(parse(F, "name=%4", name, pw, adm, &found), CC_EINVAL);
    CC_CHECK_EQ(parse(F, "name=%zz", name, pw, adm, &found), CC_EINVAL);
    CC_CHECK_EQ(parse(F, "name=a%00b", name, pw, adm, &found), CC_EINVAL);
    CC_CHECK_EQ(parse(F, "name=%ff", name, pw, adm, &found), CC_EINVAL);
    CC_CHECK(name[0] == 0 && found == 0);
    CC_CHECK_EQ(parse(F, "admin=123456789", name, pw, adm, &found), CC_ENOSPC);
    /* a key with a NUL or longer than any field is not one of ours */
    CC_CHECK_EQ(parse(F, "na%00me=x&name=ok", name, pw, adm, &found), 0);
    CC_CHECK(strcmp(name, "ok") == 0);
    char longkey[400];
    memset(longkey, 'k', 300);
    strcpy(longkey + 300, "=v&name=ok");
    CC_CHECK_EQ(parse(F, longkey, name, pw, adm, &found), 0);
    CC_CHECK(strcmp(name, "ok") == 0);
    /* the length given, not the NUL, bounds the body */
    cc_auth_field one[] = {{"name", name, sizeof name, 0}};
    CC_CHECK_EQ(cc_auth_parse_fields(F, "name=abcdef", 7, one, 1), 0);
    CC_CHECK(strcmp(name, "ab") == 0);
    CC_CHECK_EQ(cc_auth_parse_fields(F, NULL, 0, one, 1), 0);
    CC_CHECK(!one[0].found);
}

int main(void)
{
    CC_RUN(test_cookie_value);
    CC_RUN(test_set_cookie);
    CC_RUN(test_json);
    CC_RUN(test_form);
    CC_TEST_DONE();
}
