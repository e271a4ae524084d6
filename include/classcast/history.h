/* classcast: the lesson history API for a signed-in teacher
 * (docs/accounts.md "Lesson history"):
 *
 *   GET /api/lessons[?offset=N&limit=N]            the teacher's lessons,
 *                                                  newest first (JSON)
 *   GET /api/lessons/{code}/attendance             one lesson's attendance
 *                                                  (JSON)
 *   GET /api/lessons/{code}/attendance.csv[?lang=vi]  the same as a CSV file
 *
 * Only for the teacher who owns the lesson: the session cookie (or the
 * local teacher of `serve --local-teacher`) names the account, and the
 * store is asked for that account's lessons only, so another teacher's
 * lesson answers 404 like one that does not exist. Pages of other sites
 * get 403. The rows come from the store (store.h); the text is made by
 * report.h. Thread: the control thread. */
#ifndef CLASSCAST_HISTORY_H
#define CLASSCAST_HISTORY_H

#include <stdint.h>

#include "classcast/accounts.h"
#include "classcast/http.h"
#include "classcast/store.h"

/* 1 for the paths cc_history_api answers ("/api/lessons..."). */
int cc_history_is_api(const char *path);

/* Answer one request. store NULL: 503. now: Unix seconds (sessions). */
void cc_history_api(cc_accounts *accounts, cc_store *store, const cc_http_request *rq,
                    cc_http_response *r, int64_t now);

#endif
