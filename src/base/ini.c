/* classcast: the configuration file's INI dialect (see include/classcast/ini.h). */
#include "classcast/ini.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* One value: bare (trimmed) or quoted. 0, or -1 with why. */
static int parse_value(const char *p, const char *end, char *out, const char **why)
{
    while (p < end && is_space(*p)) p++;
    while (end > p && is_space(end[-1])) end--;
    size_t n = 0;
    if (p < end && *p == '"') {
        p++;
        for (;;) {
            if (p >= end) { *why = "a quoted value has no closing quote"; return -1; }
            char c = *p++;
            if (c == '"') break;
            if (c == '\\') {
                if (p >= end || (*p != '"' && *p != '\\')) {
                    *why = "inside quotes only \\\" and \\\\ may follow a backslash";
                    return -1;
                }
                c = *p++;
            }
            if (n >= CC_INI_VALUE_MAX) { *why = "the value is too long"; return -1; }
            out[n++] = c;
        }
        if (p != end) { *why = "something follows the closing quote"; return -1; }
    } else {
        if ((size_t)(end - p) > CC_INI_VALUE_MAX) { *why = "the value is too long"; return -1; }
        memcpy(out, p, (size_t)(end - p));
        n = (size_t)(end - p);
    }
    out[n] = 0;
    return 0;
}

int cc_ini_parse(const char *text, size_t len, cc_ini_entry **out, int *n,
                 int *err_line, char *err, size_t errcap)
{
    *out = NULL;
    *n = 0;
    *err_line = 0;
    if (!text && len) { snprintf(err, errcap, "no text"); return CC_EINVAL; }
    if (memchr(text ? text : "", 0, len)) {
        snprintf(err, errcap, "the file contains a NUL byte: it is not text");
        return CC_EINVAL;
    }
    cc_ini_entry *e = NULL;
    int count = 0, cap = 0, line = 0;
    char section[CC_INI_NAME_MAX + 1] = "";
    const char *why = NULL;
    const char *p = text, *stop = text + len;
    /* A UTF-8 byte order mark some editors write (Notepad). */
    if (len >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF)
        p += 3;
    while (p < stop) {
        line++;
        const char *eol = memchr(p, '\n', (size_t)(stop - p));
        const char *next = eol ? eol + 1 : stop;
        const char *end = eol ? eol : stop;
        if (end > p && end[-1] == '\r') end--; /* CRLF files */
        if (end - p > CC_INI_LINE_MAX) { why = "the line is too long"; goto bad; }
        const char *s = p;
        while (s < end && is_space(*s)) s++;
        p = next;
        if (s == end || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            const char *q = s + 1;
            const char *rb = memchr(q, ']', (size_t)(end - q));
            if (!rb) { why = "a section name has no closing ']'"; goto bad; }
            for (const char *t = rb + 1; t < end; t++)
                if (!is_space(*t)) { why = "something follows the section name"; goto bad; }
            size_t sl = (size_t)(rb - q);
            if (sl == 0 || sl > CC_INI_NAME_MAX) { why = "the section name is empty or too long"; goto bad; }
            for (size_t i = 0; i < sl; i++)
                if (!is_name_char(q[i])) { why = "a section name may hold letters, digits, '-', '_' and '.' only"; goto bad; }
            memcpy(section, q, sl);
            section[sl] = 0;
            continue;
        }
        const char *eq = memchr(s, '=', (size_t)(end - s));
        if (!eq) { why = "expected 'key = value', a [section] or a # comment"; goto bad; }
        const char *ke = eq;
        while (ke > s && is_space(ke[-1])) ke--;
        size_t kl = (size_t)(ke - s);
        if (kl == 0 || kl > CC_INI_NAME_MAX) { why = "the key is empty or too long"; goto bad; }
        for (size_t i = 0; i < kl; i++)
            if (!is_name_char(s[i])) { why = "a key may hold letters, digits, '-', '_' and '.' only"; goto bad; }
        if (count >= CC_INI_MAX_ENTRIES) { why = "too many settings in one file"; goto bad; }
        if (count == cap) {
            int nc = cap ? cap * 2 : 16;
            cc_ini_entry *ne = realloc(e, (size_t)nc * sizeof *ne);
            if (!ne) { free(e); snprintf(err, errcap, "out of memory"); return CC_ENOMEM; }
            e = ne;
            cap = nc;
        }
        cc_ini_entry *x = &e[count];
        memset(x, 0, sizeof *x);
        memcpy(x->section, section, sizeof section);
        memcpy(x->key, s, kl);
        x->key[kl] = 0;
        x->line = line;
        if (parse_value(eq + 1, end, x->value, &why) != 0) goto bad;
        for (int i = 0; i < count; i++) {
            if (!strcmp(e[i].section, x->section) && !strcmp(e[i].key, x->key)) {
                snprintf(err, errcap, "'%s' is set twice in [%s] (first on line %d)",
                         x->key, x->section, e[i].line);
                *err_line = line;
                free(e);
                return CC_EINVAL;
            }
        }
        count++;
    }
    *out = e;
    *n = count;
    return 0;
bad:
    snprintf(err, errcap, "%s", why);
    *err_line = line;
    free(e);
    return CC_EINVAL;
}
