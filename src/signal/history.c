/* The lesson history API (see history.h): who is asking, which rows, and
 * the answer; the JSON and CSV text come from report.c. */
#include "classcast/history.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/report.h"

int cc_history_is_api(const char *path) { return cc_report_is_path(path); }

static void fail(cc_http_response *r, int status, const char *code, const char *message)
{
    cc_http_reply_error(r, status, code, message);
}

static void answer(cc_http_response *r, const char *ctype, char *body, size_t len)
{
    if (!body) {
        fail(r, 500, "server_error", "out of memory");
        return;
    }
    r->status = 200;
    snprintf(r->content_type, sizeof r->content_type, "%s", ctype);
    free(r->body);
    r->body = body;
    r->body_len = len;
}

/* The server's UTC offset at `now` (the CSV's local times: the classroom
 * computer's clock is the school's). */
static long utc_offset(int64_t now)
{
    time_t t = (time_t)now;
    struct tm tm;
    return localtime_r(&t, &tm) ? tm.tm_gmtoff : 0;
}

void cc_history_api(cc_accounts *accounts, cc_store *store, const cc_http_request *rq,
                    cc_http_response *r, int64_t now)
{
    cc_report_kind kind;
    char code[CC_STORE_CODE_CAP];
    if (cc_report_route(rq->path, &kind, code) != 0) {
        fail(r, 404, "not_found", "no such API");
        return;
    }
    if (strcmp(rq->method, "GET") != 0) {
        fail(r, 405, "bad_method", "use GET");
        return;
    }
    /* Attendance is personal data: never for another site's page (and
     * the cookie is SameSite=Strict anyway). */
    if (rq->cross_origin) {
        CC_LOG_RL(CC_LOG_WARN, "history", "refused GET %s from another site's page (%s)",
                  rq->path, rq->peer_ip);
        fail(r, 403, "cross_origin", "only classcast's own pages may use this");
        return;
    }
    if (!store) {
        fail(r, 503, "accounts_unavailable", "this server keeps no accounts");
        return;
    }
    char token[CC_STORE_TOKEN_CAP];
    cc_who w;
    cc_accounts_token_of(rq->cookie, token);
    if (cc_accounts_identify(accounts, token, rq->from_loopback, now, &w) == CC_WHO_NONE) {
        CC_LOG_RL(CC_LOG_WARN, "history", "GET %s from %s refused: not signed in", rq->path,
                  rq->peer_ip);
        fail(r, 401, "not_signed_in", "sign in as a teacher first");
        return;
    }
    if (w.kind == CC_WHO_TEACHER && w.teacher.must_change_pw) {
        fail(r, 403, "must_change_password", "choose your own password first");
        return;
    }
    int offset, limit;
    cc_report_lang lang;
    if (cc_report_query(rq->query, &offset, &limit, &lang) != 0) {
        fail(r, 400, "bad_request", "offset 0..1000000, limit 1..200, lang en or vi");
        return;
    }
    if (kind == CC_REPORT_LESSONS) {
        cc_store_lesson_info *rows = NULL;
        int n = 0;
        /* One more than asked: whether there is a next page. */
        int rc = cc_store_history_lessons(store, w.owner, offset, limit + 1, &rows, &n);
        if (rc != 0) {
            free(rows);
            fail(r, 500, "server_error", "the lessons could not be read");
            return;
        }
        int more = n > limit;
        char *body = cc_report_lessons_json(rows, more ? limit : n, offset, limit, more);
        free(rows);
        answer(r, "application/json", body, body ? strlen(body) : 0);
        return;
    }
    cc_store_lesson_info info;
    cc_store_attendance *rows = NULL;
    int n = 0;
    int rc = cc_store_attendance_list(store, w.owner, code, &info, &rows, &n);
    if (rc == CC_ENOTFOUND) {
        fail(r, 404, "no_such_lesson", "you have no lesson with this code");
        return;
    }
    if (rc != 0) {
        free(rows);
        fail(r, 500, "server_error", "the attendance could not be read");
        return;
    }
    if (kind == CC_REPORT_ATTENDANCE) {
        char *body = cc_report_attendance_json(&info, rows, n);
        answer(r, "application/json", body, body ? strlen(body) : 0);
    } else {
        long off = utc_offset(now);
        size_t len = 0;
        char *body = cc_report_attendance_csv(&info, rows, n, off, lang, &len);
        answer(r, "text/csv; charset=utf-8", body, len);
        if (r->status != 200) {
            free(rows);
            return;
        }
        char name[64];
        cc_report_csv_filename(&info, off, name, sizeof name);
        /* RFC 6266 section 4.1: an ASCII file name, so no filename*. */
        snprintf(r->disposition, sizeof r->disposition, "attachment; filename=\"%s\"", name);
    }
    free(rows);
}
