/* classcast: a teacher's lesson history and attendance as answers of the
 * /api/lessons endpoints (docs/accounts.md "Lesson history"): JSON for the
 * pages, and the attendance as a CSV file a spreadsheet opens (RFC 4180,
 * with a UTF-8 byte order mark so Excel reads Vietnamese names). Also the
 * endpoints' paths and query arguments.
 *
 * Pure: builds text from rows the caller read (store.h); no I/O, no clock
 * (the caller passes the UTC offset to print local times with).
 * Thread: any. */
#ifndef CLASSCAST_REPORT_H
#define CLASSCAST_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/store.h"

/* Lessons one GET /api/lessons answers by default, and at most. */
#define CC_REPORT_PAGE_DEFAULT 50
#define CC_REPORT_PAGE_MAX 200

typedef enum {
    CC_REPORT_LESSONS = 0,     /* GET /api/lessons */
    CC_REPORT_ATTENDANCE,      /* GET /api/lessons/{code}/attendance */
    CC_REPORT_ATTENDANCE_CSV,  /* GET /api/lessons/{code}/attendance.csv */
} cc_report_kind;

/* Languages of the CSV's header row and role names. */
typedef enum {
    CC_REPORT_EN = 0,
    CC_REPORT_VI = 1,
} cc_report_lang;

/* 1 for the paths under /api/lessons (answered by the history API, even
 * when malformed: 404 there). */
int cc_report_is_path(const char *path);

/* Which endpoint a path names; code (CC_STORE_CODE_CAP bytes) gets the
 * lesson code for the attendance ones, "" for the list. 0, or
 * CC_ENOTFOUND for any other path (a code that is not 1..16 of
 * [0-9A-Za-z] included). */
int cc_report_route(const char *path, cc_report_kind *kind, char *code);

/* The query arguments, "offset=20&limit=50&lang=vi" (the values already
 * percent-decoded; NULL or "": none). Defaults: offset 0, limit
 * CC_REPORT_PAGE_DEFAULT, lang English. Unknown arguments are ignored.
 * 0, or CC_EINVAL for a malformed or out-of-range offset (0..1000000) or
 * limit (1..CC_REPORT_PAGE_MAX), or a lang other than "en" / "vi". */
int cc_report_query(const char *query, int *offset, int *limit, cc_report_lang *lang);

/* {"lessons":[<lesson>...],"offset":N,"limit":N,"more":bool}, where
 * <lesson> is {"code","title","kind":"lesson"|"seminar","state":"waiting"|
 * "live"|"ended","teacher","created_at","started_at","ended_at" (Unix
 * seconds, null when not yet),"duration_s" (started to ended, null unless
 * both),"students" (students and schools that ever joined)}. more: there
 * are lessons after these. malloc'd, NULL when out of memory. */
char *cc_report_lessons_json(const cc_store_lesson_info *rows, int n, int offset, int limit,
                             int more);

/* {"lesson":<lesson>,"attendance":[{"member","name","role","joined_at",
 * "left_at" (null while still in the lesson),"watching_s","weak_s"}...]}.
 * malloc'd, NULL when out of memory. */
char *cc_report_attendance_json(const cc_store_lesson_info *lesson,
                                const cc_store_attendance *rows, int n);

/* The attendance as CSV (RFC 4180 section 2): a UTF-8 byte order mark,
 * one header row (in lang), one row per member and connection in join
 * order, CRLF after every row. Columns: name, role, joined, left (empty
 * while still in the lesson), minutes watching, minutes of those on a
 * weak link. Times are local "YYYY-MM-DD HH:MM:SS" at utc_offset_s east
 * of UTC, which the header names ("Joined (UTC+07:00)"). Fields holding
 * a comma, a quote, CR or LF are quoted with quotes doubled; a text field
 * that starts with = + - @ TAB or CR gets a leading ' so a spreadsheet
 * shows it instead of running it as a formula (OWASP "CSV injection").
 * *len gets the byte length; malloc'd, NULL when out of memory. */
char *cc_report_attendance_csv(const cc_store_lesson_info *lesson,
                               const cc_store_attendance *rows, int n, long utc_offset_s,
                               cc_report_lang lang, size_t *len);

/* An ASCII file name for the CSV, safe in a Content-Disposition header:
 * "attendance-<code>-<YYYY-MM-DD>.csv" (the lesson's local creation
 * date). */
void cc_report_csv_filename(const cc_store_lesson_info *lesson, long utc_offset_s, char *out,
                            size_t cap);

#endif
