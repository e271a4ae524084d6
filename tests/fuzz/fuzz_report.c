/* libFuzzer target for src/signal/report.c: the input is split at NULs
 * into a request path, a query string and attendance rows (name, then a
 * byte for the role and one for the times). Invariants: a path routes to
 * a code of 1..16 letters or digits; a query either fails or gives an
 * in-range page; the CSV starts with the UTF-8 BOM, every record has six
 * fields once RFC 4180 quoting is undone, and no field starts with a
 * formula character; the JSON of rows with valid UTF-8 parses back. */
#include <glib.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/report.h"

#define INVARIANT(c)                                                           \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

#define MAX_ROWS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 4180 reader: each record has 6 fields, no field (unquoted) starts
 * with = + - @ TAB or CR. */
static void check_csv(const char *s, size_t len, int rows)
{
    INVARIANT(len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0);
    int fields = 1, records = 0, inq = 0, start = 1;
    for (size_t i = 3; i < len; i++) {
        char c = s[i];
        if (start && !inq) {
            INVARIANT(c != '=' && c != '+' && c != '-' && c != '@' && c != '\t');
        }
        if (start && c == '"' && !inq) {
            inq = 1;
            start = 0;
            /* the first character inside the quotes must not be a formula */
            if (i + 1 < len) {
                char d = s[i + 1];
                INVARIANT(d != '=' && d != '+' && d != '-' && d != '@' && d != '\t' &&
                          d != '\r');
            }
            continue;
        }
        start = 0;
        if (inq) {
            if (c == '"' && i + 1 < len && s[i + 1] == '"')
                i++;
            else if (c == '"')
                inq = 0;
        } else if (c == ',') {
            fields++;
            start = 1;
        } else if (c == '\r') {
            INVARIANT(i + 1 < len && s[i + 1] == '\n');
            INVARIANT(fields == 6);
            records++;
            fields = 1;
            start = 1;
            i++;
        } else {
            INVARIANT(c != '"' && c != '\n');
        }
    }
    INVARIANT(!inq);
    INVARIANT(records == rows + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    /* parts at NULs */
    const char *part[2 + MAX_ROWS];
    int np = 0;
    for (size_t i = 0, s = 0; i <= size && np < 2 + MAX_ROWS; i++) {
        if (i == size || buf[i] == 0) {
            part[np++] = buf + s;
            s = i + 1;
        }
    }
    const char *path = np > 0 ? part[0] : "";
    const char *query = np > 1 ? part[1] : "";

    cc_report_kind kind;
    char code[CC_STORE_CODE_CAP];
    if (cc_report_route(path, &kind, code) == 0) {
        INVARIANT(cc_report_is_path(path));
        size_t n = strlen(code);
        INVARIANT(kind == CC_REPORT_LESSONS ? n == 0 : n >= 1 && n <= 16);
        for (size_t i = 0; i < n; i++)
            INVARIANT(g_ascii_isalnum(code[i]));
    }
    int off, lim;
    cc_report_lang lang;
    if (cc_report_query(query, &off, &lim, &lang) == 0)
        INVARIANT(off >= 0 && lim >= 1 && lim <= CC_REPORT_PAGE_MAX &&
                  (lang == CC_REPORT_EN || lang == CC_REPORT_VI));

    cc_store_attendance rows[MAX_ROWS];
    memset(rows, 0, sizeof rows);
    int n = 0, utf8 = 1;
    for (int i = 2; i < np && n < MAX_ROWS; i++) {
        cc_store_attendance *a = &rows[n++];
        const char *p = part[i];
        size_t len = strlen(p);
        unsigned b = len ? (unsigned char)p[0] : 0;
        a->role = (int)(b % 4); /* 3 is out of range: shown as a student */
        a->joined_at = (int64_t)b * 1000003;
        a->left_at = (b & 1) ? a->joined_at + b : 0;
        a->watching_s = b * 7;
        a->weak_s = b;
        snprintf(a->name, sizeof a->name, "%s", len ? p + 1 : "");
        snprintf(a->member, sizeof a->member, "m%u", (unsigned)i % 1000u);
        utf8 &= g_utf8_validate(a->name, -1, NULL);
    }
    cc_store_lesson_info l;
    memset(&l, 0, sizeof l);
    snprintf(l.code, sizeof l.code, "%s", code);
    snprintf(l.title, sizeof l.title, "%s", query);
    l.created_at = n ? rows[0].joined_at : 0;
    size_t len = 0;
    long zone = (long)(size % 97) * 900 - 43200;
    char *csv = cc_report_attendance_csv(&l, rows, n, zone, size & 1 ? CC_REPORT_VI : CC_REPORT_EN,
                                         &len);
    INVARIANT(csv != NULL && len == strlen(csv));
    check_csv(csv, len, n);
    free(csv);
    char *js = cc_report_attendance_json(&l, rows, n);
    INVARIANT(js != NULL);
    json_t *o = json_loads(js, 0, NULL);
    INVARIANT(json_is_object(o));
    INVARIANT((int)json_array_size(json_object_get(o, "attendance")) == n);
    json_decref(o);
    free(js);
    (void)utf8;
    char fname[64];
    cc_report_csv_filename(&l, zone, fname, sizeof fname);
    for (const char *p = fname; *p; p++)
        INVARIANT(g_ascii_isalnum(*p) || *p == '-' || *p == '.');
    free(buf);
    return 0;
}
