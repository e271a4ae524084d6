/* Unit tests for src/base/ini.c: the configuration file's syntax. */
#include <stdlib.h>
#include <string.h>

#include "cc_test.h"
#include "classcast/err.h"
#include "classcast/ini.h"

static cc_ini_entry *g_e;
static int g_n, g_line;
static char g_err[200];

static int parse(const char *text)
{
    free(g_e);
    g_e = NULL;
    g_err[0] = 0;
    return cc_ini_parse(text, strlen(text), &g_e, &g_n, &g_line, g_err, sizeof g_err);
}

static const cc_ini_entry *get(const char *section, const char *key)
{
    for (int i = 0; i < g_n; i++)
        if (!strcmp(g_e[i].section, section) && !strcmp(g_e[i].key, key))
            return &g_e[i];
    return NULL;
}

static void test_good(void)
{
    CC_CHECK_EQ(parse("\xEF\xBB\xBF# classcast\r\n"
                      "top = 1\r\n"
                      "[server]\n"
                      "  bind = 0.0.0.0   \n"
                      "http-port=8080\n"
                      "; a comment\n"
                      "title = \"Lớp 5A \\\"Hoa Ban\\\" \"\n"
                      "path = /srv/classcast # not a comment\n"
                      "empty =\n"
                      "[demo]\n"
                      "source = test-video,test-audio"),
                0);
    CC_CHECK_EQ(g_n, 7);
    const cc_ini_entry *e = get("", "top");
    CC_CHECK(e && !strcmp(e->value, "1") && e->line == 2);
    e = get("server", "bind");
    CC_CHECK(e && !strcmp(e->value, "0.0.0.0") && e->line == 4);
    e = get("server", "http-port");
    CC_CHECK(e && !strcmp(e->value, "8080"));
    e = get("server", "title");
    CC_CHECK(e && !strcmp(e->value, "Lớp 5A \"Hoa Ban\" "));
    e = get("server", "path");
    CC_CHECK(e && !strcmp(e->value, "/srv/classcast # not a comment"));
    e = get("server", "empty");
    CC_CHECK(e && !strcmp(e->value, ""));
    e = get("demo", "source");
    CC_CHECK(e && !strcmp(e->value, "test-video,test-audio") && e->line == 11);
    CC_CHECK_EQ(parse(""), 0);
    CC_CHECK_EQ(g_n, 0);
}

static void check_bad(const char *text, int line, const char *words)
{
    CC_CHECK_EQ(parse(text), CC_EINVAL);
    CC_CHECK_EQ(g_line, line);
    CC_CHECK(strstr(g_err, words) != NULL);
    CC_CHECK(g_e == NULL);
}

static void test_bad(void)
{
    check_bad("[server\nbind=1", 1, "closing ']'");
    check_bad("[server] x\n", 1, "follows the section");
    check_bad("[]\n", 1, "empty or too long");
    check_bad("[sérver]\n", 1, "section name may hold");
    check_bad("a = 1\n\njust words\n", 3, "expected 'key = value'");
    check_bad(" = 1\n", 1, "key is empty");
    check_bad("ba d = 1\n", 1, "key may hold");
    check_bad("k = \"open\n", 1, "no closing quote");
    check_bad("k = \"a\\n\"\n", 1, "backslash");
    check_bad("k = \"a\" b\n", 1, "follows the closing quote");
    check_bad("[s]\nk=1\nk=2\n", 3, "set twice in [s] (first on line 2)");
    char nul[] = "k = 1\0x";
    CC_CHECK_EQ(cc_ini_parse(nul, sizeof nul - 1, &g_e, &g_n, &g_line, g_err, sizeof g_err),
                CC_EINVAL);
    CC_CHECK(strstr(g_err, "NUL") != NULL);
    g_e = NULL;
    char *big = malloc(CC_INI_LINE_MAX + 10);
    if (big) {
        memset(big, 'a', CC_INI_LINE_MAX + 9);
        big[0] = 'k'; big[1] = '=';
        big[CC_INI_LINE_MAX + 9] = 0;
        check_bad(big, 1, "too long");
        free(big);
    }
    /* The same key in two sections is fine. */
    CC_CHECK_EQ(parse("[a]\nk=1\n[b]\nk=2\n"), 0);
    CC_CHECK_EQ(g_n, 2);
}

int main(void)
{
    CC_RUN(test_good);
    CC_RUN(test_bad);
    free(g_e);
    CC_TEST_DONE();
}
