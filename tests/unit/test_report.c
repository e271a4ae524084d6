/* src/signal/report.c: the /api/lessons paths and query, the history and
 * attendance as JSON, and the attendance CSV (RFC 4180 quoting, the UTF-8
 * byte order mark, Vietnamese text, formula injection). */
#include <jansson.h>

#include "cc_test.h"
#include "classcast/err.h"
#include "classcast/report.h"

#define BOM "\xEF\xBB\xBF"
/* 2024-12-02 09:00:00 UTC */
#define T9 ((int64_t)1733130000)
#define ICT (7 * 3600L) /* Vietnam: UTC+07:00 */

static void test_routes(void)
{
    cc_report_kind k;
    char code[CC_STORE_CODE_CAP];
    CC_CHECK(cc_report_is_path("/api/lessons"));
    CC_CHECK(cc_report_is_path("/api/lessons/482913/attendance"));
    CC_CHECK(!cc_report_is_path("/api/lessonsx"));
    CC_CHECK(!cc_report_is_path("/api/me"));
    CC_CHECK_EQ(cc_report_route("/api/lessons", &k, code), 0);
    CC_CHECK_EQ(k, CC_REPORT_LESSONS);
    CC_CHECK_EQ(code[0], 0);
    CC_CHECK_EQ(cc_report_route("/api/lessons/482913/attendance", &k, code), 0);
    CC_CHECK_EQ(k, CC_REPORT_ATTENDANCE);
    CC_CHECK(strcmp(code, "482913") == 0);
    CC_CHECK_EQ(cc_report_route("/api/lessons/demo/attendance.csv", &k, code), 0);
    CC_CHECK_EQ(k, CC_REPORT_ATTENDANCE_CSV);
    CC_CHECK(strcmp(code, "demo") == 0);
    CC_CHECK_EQ(cc_report_route("/api/lessons/abcdefghijklmnop/attendance", &k, code), 0);
    CC_CHECK_EQ(strlen(code), 16);
    static const char *const bad[] = {
        "/api/lessons/", "/api/lessons//attendance", "/api/lessons/482913",
        "/api/lessons/482913/", "/api/lessons/482913/attendance/",
        "/api/lessons/482913/attendance.csvx", "/api/lessons/48-913/attendance",
        "/api/lessons/abcdefghijklmnopq/attendance", "/api/lessons/4829%31/attendance",
        "/api/lessons/../attendance", "/api/lessonsx", "/api/teachers", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CC_CHECK_EQ(cc_report_route(bad[i], &k, code), CC_ENOTFOUND);
        CC_CHECK_EQ(code[0], 0);
    }
}

static void test_query(void)
{
    int off, lim;
    cc_report_lang lang;
    CC_CHECK_EQ(cc_report_query(NULL, &off, &lim, &lang), 0);
    CC_CHECK(off == 0 && lim == CC_REPORT_PAGE_DEFAULT && lang == CC_REPORT_EN);
    CC_CHECK_EQ(cc_report_query("", &off, &lim, &lang), 0);
    CC_CHECK_EQ(cc_report_query("offset=20&limit=5&lang=vi", &off, &lim, &lang), 0);
    CC_CHECK(off == 20 && lim == 5 && lang == CC_REPORT_VI);
    CC_CHECK_EQ(cc_report_query("lang=en&x=1&y&limit=200", &off, &lim, &lang), 0);
    CC_CHECK(off == 0 && lim == 200 && lang == CC_REPORT_EN);
    static const char *const bad[] = {
        "offset=-1", "offset=", "offset=1x", "offset=1000001", "limit=0", "limit=201",
        "limit=99999999999", "lang=fr", "lang=", "lang=VI", "offset", "limit= 5",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CC_CHECK_EQ(cc_report_query(bad[i], &off, &lim, &lang), CC_EINVAL);
}

static cc_store_lesson_info lesson(void)
{
    cc_store_lesson_info l;
    memset(&l, 0, sizeof l);
    l.id = 12;
    snprintf(l.code, sizeof l.code, "482913");
    snprintf(l.title, sizeof l.title, "Toán 5A, \"phân số\"");
    snprintf(l.teacher_name, sizeof l.teacher_name, "Cô Lan");
    l.state = 2;
    l.created_at = T9 - 60;
    l.started_at = T9;
    l.ended_at = T9 + 2700;
    l.n_members = 3;
    return l;
}

static cc_store_attendance row(const char *member, const char *name, int role, int64_t joined,
                               int64_t left, int64_t watching, int64_t weak)
{
    cc_store_attendance a;
    memset(&a, 0, sizeof a);
    snprintf(a.member, sizeof a.member, "%s", member);
    snprintf(a.name, sizeof a.name, "%s", name);
    a.role = role;
    a.joined_at = joined;
    a.left_at = left;
    a.watching_s = watching;
    a.weak_s = weak;
    return a;
}

static void test_json(void)
{
    cc_store_lesson_info ls[2] = {lesson(), lesson()};
    snprintf(ls[1].code, sizeof ls[1].code, "demo");
    ls[1].kind = 1;
    ls[1].state = 1;
    ls[1].ended_at = 0;
    char *s = cc_report_lessons_json(ls, 2, 50, 50, 1);
    json_error_t e;
    json_t *o = json_loads(s, JSON_REJECT_DUPLICATES, &e);
    CC_CHECK(json_is_object(o));
    json_t *a = json_object_get(o, "lessons");
    CC_CHECK_EQ(json_array_size(a), 2);
    json_t *l0 = json_array_get(a, 0), *l1 = json_array_get(a, 1);
    CC_CHECK(strcmp(json_string_value(json_object_get(l0, "title")), "Toán 5A, \"phân số\"") == 0);
    CC_CHECK(strcmp(json_string_value(json_object_get(l0, "kind")), "lesson") == 0);
    CC_CHECK(strcmp(json_string_value(json_object_get(l0, "state")), "ended") == 0);
    CC_CHECK(strcmp(json_string_value(json_object_get(l0, "teacher")), "Cô Lan") == 0);
    CC_CHECK_EQ(json_integer_value(json_object_get(l0, "duration_s")), 2700);
    CC_CHECK_EQ(json_integer_value(json_object_get(l0, "started_at")), T9);
    CC_CHECK_EQ(json_integer_value(json_object_get(l0, "students")), 3);
    CC_CHECK(strcmp(json_string_value(json_object_get(l1, "kind")), "seminar") == 0);
    CC_CHECK(strcmp(json_string_value(json_object_get(l1, "state")), "live") == 0);
    CC_CHECK(json_is_null(json_object_get(l1, "ended_at")));
    CC_CHECK(json_is_null(json_object_get(l1, "duration_s")));
    CC_CHECK_EQ(json_integer_value(json_object_get(o, "offset")), 50);
    CC_CHECK(json_is_true(json_object_get(o, "more")));
    json_decref(o);
    free(s);
    s = cc_report_lessons_json(NULL, 0, 0, 50, 0);
    CC_CHECK(s && strcmp(s, "{\"lessons\":[],\"offset\":0,\"limit\":50,\"more\":false}") == 0);
    free(s);

    cc_store_attendance rows[2] = {
        row("m3", "Lò Thị Hương", 1, T9 + 5, T9 + 65, 58, 12),
        row("m7", "THCS Chiềng Sinh", 2, T9 + 10, 0, 30, 0),
    };
    cc_store_lesson_info l = lesson();
    s = cc_report_attendance_json(&l, rows, 2);
    o = json_loads(s, JSON_REJECT_DUPLICATES, &e);
    CC_CHECK(json_is_object(o));
    CC_CHECK(strcmp(json_string_value(json_object_get(json_object_get(o, "lesson"), "code")),
                    "482913") == 0);
    a = json_object_get(o, "attendance");
    CC_CHECK_EQ(json_array_size(a), 2);
    json_t *r0 = json_array_get(a, 0), *r1 = json_array_get(a, 1);
    CC_CHECK(strcmp(json_string_value(json_object_get(r0, "name")), "Lò Thị Hương") == 0);
    CC_CHECK(strcmp(json_string_value(json_object_get(r0, "role")), "student") == 0);
    CC_CHECK(strcmp(json_string_value(json_object_get(r0, "member")), "m3") == 0);
    CC_CHECK_EQ(json_integer_value(json_object_get(r0, "joined_at")), T9 + 5);
    CC_CHECK_EQ(json_integer_value(json_object_get(r0, "left_at")), T9 + 65);
    CC_CHECK_EQ(json_integer_value(json_object_get(r0, "watching_s")), 58);
    CC_CHECK_EQ(json_integer_value(json_object_get(r0, "weak_s")), 12);
    CC_CHECK(strcmp(json_string_value(json_object_get(r1, "role")), "school") == 0);
    CC_CHECK(json_is_null(json_object_get(r1, "left_at")));
    json_decref(o);
    free(s);
    /* text that is not UTF-8 (never stored, but) does not sink the answer */
    rows[0] = row("m3", "bad \xff name", 1, T9, 0, 0, 0);
    s = cc_report_attendance_json(&l, rows, 1);
    CC_CHECK(s != NULL && strstr(s, "\xEF\xBF\xBD") != NULL);
    free(s);
}

static void test_csv(void)
{
    cc_store_lesson_info l = lesson();
    cc_store_attendance rows[] = {
        row("m3", "Lò Thị Hương", 1, T9 + 5, T9 + 65, 89, 31),
        row("m4", "Nguyễn, Văn \"Bờm\"", 1, T9 + 6, 0, 29, 0),
        row("m5", "An\nhai dòng", 1, T9 + 7, T9 + 8, 0, 0),
        row("m6", "=HYPERLINK(\"http://x\")", 1, T9 + 9, T9 + 10, 0, 0),
        row("m7", "+84 912", 2, T9 + 11, 0, 0, 0),
        row("m8", "-1", 1, T9 + 12, 0, 0, 0),
        row("m9", "@SUM(A1)", 1, T9 + 13, 0, 0, 0),
        row("m10", "\tTab", 1, T9 + 14, 0, 0, 0),
        row("m11", "a=b+c", 1, T9 + 15, 0, 0, 0),
    };
    int n = (int)(sizeof rows / sizeof rows[0]);
    size_t len = 0;
    char *s = cc_report_attendance_csv(&l, rows, n, ICT, CC_REPORT_EN, &len);
    CC_CHECK(s != NULL);
    CC_CHECK_EQ(len, strlen(s));
    const char *want =
        BOM "Name,Role,Joined (UTC+07:00),Left (UTC+07:00),Minutes watching,Minutes on weak Wi-Fi\r\n"
        "Lò Thị Hương,student,2024-12-02 16:00:05,2024-12-02 16:01:05,1,1\r\n"
        "\"Nguyễn, Văn \"\"Bờm\"\"\",student,2024-12-02 16:00:06,,0,0\r\n"
        "\"An\nhai dòng\",student,2024-12-02 16:00:07,2024-12-02 16:00:08,0,0\r\n"
        "\"'=HYPERLINK(\"\"http://x\"\")\",student,2024-12-02 16:00:09,2024-12-02 16:00:10,0,0\r\n"
        "'+84 912,school,2024-12-02 16:00:11,,0,0\r\n"
        "'-1,student,2024-12-02 16:00:12,,0,0\r\n"
        "'@SUM(A1),student,2024-12-02 16:00:13,,0,0\r\n"
        "'\tTab,student,2024-12-02 16:00:14,,0,0\r\n"
        "a=b+c,student,2024-12-02 16:00:15,,0,0\r\n";
    CC_CHECK(strcmp(s, want) == 0);
    if (strcmp(s, want) != 0)
        fprintf(stderr, "got:\n%s\nwant:\n%s\n", s, want);
    free(s);

    /* Vietnamese header and roles; a zone west of UTC; no rows */
    s = cc_report_attendance_csv(&l, rows, 1, ICT, CC_REPORT_VI, &len);
    CC_CHECK(strncmp(s, BOM "Họ tên,Vai trò,Vào lớp (UTC+07:00),Rời lớp (UTC+07:00),Số phút xem,"
                        "Số phút mạng yếu\r\nLò Thị Hương,học sinh,",
                     strlen(BOM "Họ tên,Vai trò,Vào lớp (UTC+07:00),Rời lớp (UTC+07:00),Số phút "
                                "xem,Số phút mạng yếu\r\nLò Thị Hương,học sinh,")) == 0);
    free(s);
    s = cc_report_attendance_csv(&l, rows, 1, -(3 * 3600L + 1800), CC_REPORT_EN, &len);
    CC_CHECK(strstr(s, "Joined (UTC-03:30)") != NULL);
    CC_CHECK(strstr(s, "2024-12-02 05:30:05") != NULL);
    free(s);
    s = cc_report_attendance_csv(&l, NULL, 0, 0, CC_REPORT_EN, &len);
    CC_CHECK(strcmp(s, BOM "Name,Role,Joined (UTC+00:00),Left (UTC+00:00),Minutes watching,"
                           "Minutes on weak Wi-Fi\r\n") == 0);
    free(s);

    /* Every row has 6 fields once quoting is undone (RFC 4180 reader). */
    s = cc_report_attendance_csv(&l, rows, n, ICT, CC_REPORT_EN, &len);
    int fields = 1, records = 0, inq = 0, ok = 1;
    for (const char *p = s + 3; *p; p++) {
        if (inq) {
            if (*p == '"' && p[1] == '"')
                p++;
            else if (*p == '"')
                inq = 0;
        } else if (*p == '"') {
            inq = 1;
        } else if (*p == ',') {
            fields++;
        } else if (*p == '\r' && p[1] == '\n') {
            ok &= fields == 6;
            records++;
            fields = 1;
            p++;
        }
    }
    CC_CHECK(ok && !inq);
    CC_CHECK_EQ(records, n + 1);
    free(s);
}

static void test_filename(void)
{
    cc_store_lesson_info l = lesson();
    char f[64];
    cc_report_csv_filename(&l, ICT, f, sizeof f);
    CC_CHECK(strcmp(f, "attendance-482913-2024-12-02.csv") == 0);
    l.created_at = T9 + 9 * 3600; /* 18:00 UTC is the next day in Vietnam */
    cc_report_csv_filename(&l, ICT, f, sizeof f);
    CC_CHECK(strcmp(f, "attendance-482913-2024-12-03.csv") == 0);
    snprintf(l.code, sizeof l.code, "a\"b;c");
    l.created_at = 0;
    cc_report_csv_filename(&l, ICT, f, sizeof f);
    CC_CHECK(strcmp(f, "attendance-abc.csv") == 0);
    cc_report_csv_filename(NULL, 0, f, sizeof f);
    CC_CHECK(strcmp(f, "attendance.csv") == 0);
}

int main(void)
{
    CC_RUN(test_routes);
    CC_RUN(test_query);
    CC_RUN(test_json);
    CC_RUN(test_csv);
    CC_RUN(test_filename);
    CC_TEST_DONE();
}
