/* Lesson history and attendance reports (see report.h): JSON with jansson,
 * CSV by hand (RFC 4180 is a few quoting rules; GLib has no CSV writer). */
#include "classcast/report.h"

#include <glib.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classcast/err.h"

#define PREFIX "/api/lessons"
#define MAX_OFFSET 1000000

int cc_report_is_path(const char *path)
{
    size_t n = strlen(PREFIX);
    return path && strncmp(path, PREFIX, n) == 0 && (path[n] == 0 || path[n] == '/');
}

int cc_report_route(const char *path, cc_report_kind *kind, char *code)
{
    code[0] = 0;
    if (!cc_report_is_path(path))
        return CC_ENOTFOUND;
    const char *p = path + strlen(PREFIX);
    if (*p == 0) {
        *kind = CC_REPORT_LESSONS;
        return 0;
    }
    p++; /* '/' */
    size_t n = 0;
    while (g_ascii_isalnum(p[n]) && n < CC_STORE_CODE_CAP)
        n++;
    if (n == 0 || n >= CC_STORE_CODE_CAP)
        return CC_ENOTFOUND;
    if (strcmp(p + n, "/attendance") == 0)
        *kind = CC_REPORT_ATTENDANCE;
    else if (strcmp(p + n, "/attendance.csv") == 0)
        *kind = CC_REPORT_ATTENDANCE_CSV;
    else
        return CC_ENOTFOUND;
    memcpy(code, p, n);
    code[n] = 0;
    return 0;
}

/* A whole decimal number in lo..hi, nothing else. */
static int number_in(const char *s, size_t n, int lo, int hi, int *out)
{
    if (n == 0 || n > 9)
        return CC_EINVAL;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return CC_EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return CC_EINVAL;
    *out = v;
    return 0;
}

int cc_report_query(const char *query, int *offset, int *limit, cc_report_lang *lang)
{
    *offset = 0;
    *limit = CC_REPORT_PAGE_DEFAULT;
    *lang = CC_REPORT_EN;
    for (const char *p = query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        const char *v = eq ? eq + 1 : p + len;
        size_t vlen = (size_t)(p + len - v);
        int rc = 0;
        if (klen == 6 && strncmp(p, "offset", 6) == 0)
            rc = number_in(v, vlen, 0, MAX_OFFSET, offset);
        else if (klen == 5 && strncmp(p, "limit", 5) == 0)
            rc = number_in(v, vlen, 1, CC_REPORT_PAGE_MAX, limit);
        else if (klen == 4 && strncmp(p, "lang", 4) == 0) {
            if (vlen == 2 && strncmp(v, "vi", 2) == 0)
                *lang = CC_REPORT_VI;
            else if (vlen == 2 && strncmp(v, "en", 2) == 0)
                *lang = CC_REPORT_EN;
            else
                rc = CC_EINVAL;
        }
        if (rc)
            return rc;
        p = end ? end + 1 : p + len;
    }
    return 0;
}

/* ---- JSON ---- */

/* A string from the database; text that is not valid UTF-8 (it never
 * should be: names and titles were checked on the way in) becomes U+FFFD
 * rather than failing the whole answer. */
static json_t *jstr(const char *s)
{
    json_t *v = json_string(s ? s : "");
    return v ? v : json_string("\xEF\xBF\xBD");
}

/* Unix seconds, or null for 0 ("not yet"). */
static json_t *jtime(int64_t t)
{
    return t > 0 ? json_integer((json_int_t)t) : json_null();
}

static const char *state_name(int s)
{
    return s == 2 ? "ended" : s == 1 ? "live" : "waiting";
}

static const char *role_name(int r, cc_report_lang lang)
{
    static const char *const en[] = {"teacher", "student", "school"};
    static const char *const vi[] = {"giáo viên", "học sinh", "trường"};
    if (r < 0 || r > 2)
        r = 1;
    return lang == CC_REPORT_VI ? vi[r] : en[r];
}

static json_t *lesson_json(const cc_store_lesson_info *l)
{
    int64_t dur = l->started_at > 0 && l->ended_at >= l->started_at ? l->ended_at - l->started_at
                                                                     : -1;
    return json_pack("{s:o, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:i}", "code", jstr(l->code),
                     "title", jstr(l->title), "kind", l->kind == 1 ? "seminar" : "lesson",
                     "state", state_name(l->state), "teacher", jstr(l->teacher_name),
                     "created_at", jtime(l->created_at), "started_at", jtime(l->started_at),
                     "ended_at", jtime(l->ended_at), "duration_s",
                     dur >= 0 ? json_integer((json_int_t)dur) : json_null(), "students",
                     l->n_members);
}

static char *dump(json_t *root)
{
    char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return s;
}

char *cc_report_lessons_json(const cc_store_lesson_info *rows, int n, int offset, int limit,
                             int more)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++) {
        json_t *o = lesson_json(&rows[i]);
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    if (!arr)
        return NULL;
    return dump(json_pack("{s:o, s:i, s:i, s:b}", "lessons", arr, "offset", offset, "limit",
                          limit, "more", more != 0));
}

char *cc_report_attendance_json(const cc_store_lesson_info *lesson,
                                const cc_store_attendance *rows, int n)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++) {
        const cc_store_attendance *a = &rows[i];
        json_t *o = json_pack("{s:o, s:o, s:s, s:o, s:o, s:I, s:I}", "member", jstr(a->member),
                              "name", jstr(a->name), "role", role_name(a->role, CC_REPORT_EN),
                              "joined_at", jtime(a->joined_at), "left_at", jtime(a->left_at),
                              "watching_s", (json_int_t)a->watching_s, "weak_s",
                              (json_int_t)a->weak_s);
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    json_t *l = lesson ? lesson_json(lesson) : NULL;
    if (!arr || !l) {
        json_decref(arr);
        json_decref(l);
        return NULL;
    }
    return dump(json_pack("{s:o, s:o}", "lesson", l, "attendance", arr));
}

/* ---- CSV (RFC 4180) ---- */

/* One text field. RFC 4180 section 2 rules 5-7: a field holding a comma,
 * a quote or a line break is enclosed in quotes, and a quote inside is
 * doubled. Before that, a field a spreadsheet would read as a formula
 * (first character = + - @, or TAB / CR, which some strip before looking)
 * gets a leading apostrophe, which shows as text. */
static void csv_text(GString *out, const char *s)
{
    if (!s)
        s = "";
    int formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
                  s[0] == '\r';
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        g_string_append_c(out, '"');
    if (formula)
        g_string_append_c(out, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            g_string_append_c(out, '"');
        g_string_append_c(out, *p);
    }
    if (quote)
        g_string_append_c(out, '"');
}

static void csv_sep(GString *out) { g_string_append_c(out, ','); }
static void csv_end(GString *out) { g_string_append(out, "\r\n"); }

/* Local time "YYYY-MM-DD HH:MM:SS"; "" for 0. */
static void local_time(char *out, size_t cap, int64_t t, long utc_offset_s)
{
    out[0] = 0;
    if (t <= 0)
        return;
    time_t lt = (time_t)(t + utc_offset_s);
    struct tm tm;
    if (!gmtime_r(&lt, &tm))
        return;
    strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Whole minutes, rounded: a number every spreadsheet locale reads (a
 * decimal point would be a thousands separator in Vietnamese ones). */
static long minutes(int64_t s)
{
    return s > 0 ? (long)((s + 30) / 60) : 0;
}

char *cc_report_attendance_csv(const cc_store_lesson_info *lesson,
                               const cc_store_attendance *rows, int n, long utc_offset_s,
                               cc_report_lang lang, size_t *len)
{
    (void)lesson;
    GString *out = g_string_sized_new(256 + (size_t)(n > 0 ? n : 0) * 96);
    long off = utc_offset_s < 0 ? -utc_offset_s : utc_offset_s;
    char zone[32];
    snprintf(zone, sizeof zone, "UTC%c%02ld:%02ld", utc_offset_s < 0 ? '-' : '+',
             (off / 3600) % 100, (off / 60) % 60);
    int vi = lang == CC_REPORT_VI;
    /* UTF-8 byte order mark: Excel reads the file as UTF-8 only with it. */
    g_string_append(out, "\xEF\xBB\xBF");
    char h[6][96];
    snprintf(h[0], sizeof h[0], "%s", vi ? "Họ tên" : "Name");
    snprintf(h[1], sizeof h[1], "%s", vi ? "Vai trò" : "Role");
    snprintf(h[2], sizeof h[2], "%s (%s)", vi ? "Vào lớp" : "Joined", zone);
    snprintf(h[3], sizeof h[3], "%s (%s)", vi ? "Rời lớp" : "Left", zone);
    snprintf(h[4], sizeof h[4], "%s", vi ? "Số phút xem" : "Minutes watching");
    snprintf(h[5], sizeof h[5], "%s", vi ? "Số phút mạng yếu" : "Minutes on weak Wi-Fi");
    for (int i = 0; i < 6; i++) {
        if (i)
            csv_sep(out);
        csv_text(out, h[i]);
    }
    csv_end(out);
    for (int i = 0; i < n; i++) {
        const cc_store_attendance *a = &rows[i];
        char joined[32], left[32];
        local_time(joined, sizeof joined, a->joined_at, utc_offset_s);
        local_time(left, sizeof left, a->left_at, utc_offset_s);
        csv_text(out, a->name);
        csv_sep(out);
        csv_text(out, role_name(a->role, lang));
        csv_sep(out);
        g_string_append(out, joined);
        csv_sep(out);
        g_string_append(out, left);
        g_string_append_printf(out, ",%ld,%ld", minutes(a->watching_s), minutes(a->weak_s));
        csv_end(out);
    }
    *len = out->len;
    return g_string_free(out, FALSE);
}

void cc_report_csv_filename(const cc_store_lesson_info *lesson, long utc_offset_s, char *out,
                            size_t cap)
{
    char code[CC_STORE_CODE_CAP] = "";
    size_t k = 0;
    for (const char *p = lesson ? lesson->code : ""; *p && k + 1 < sizeof code; p++)
        if (g_ascii_isalnum(*p))
            code[k++] = *p;
    code[k] = 0;
    char date[32] = "";
    if (lesson && lesson->created_at > 0) {
        local_time(date, sizeof date, lesson->created_at, utc_offset_s);
        date[10] = 0; /* the day */
    }
    snprintf(out, cap, "attendance%s%s%s%s.csv", code[0] ? "-" : "", code, date[0] ? "-" : "",
             date);
}
