/* classcast: who is signed in, and the account API (docs/accounts.md).
 *
 *   POST /api/signin           {name, password} -> 200 + session cookie
 *   POST /api/signout          ends the session, deletes the cookie
 *   GET  /api/me               who is signed in (refreshes the cookie)
 *   POST /api/password         {password, new_password}: change one's own
 *   GET  /api/teachers         admin: every teacher
 *   POST /api/teachers         admin: {name, display_name, admin} -> a
 *                              generated one-time password, shown once
 *   POST /api/teachers/reset   admin: {name} -> a new one-time password
 *   POST /api/teachers/disable admin: {name, disabled}
 *
 * Bodies are JSON or HTML forms (include/classcast/auth.h); answers are
 * JSON, errors {"error": code, "message": English sentence}. Every /api
 * request from a page of another site is refused (403 cross_origin):
 * these change state, and the session cookie is SameSite=Strict anyway.
 * Wrong passwords are limited per address (include/classcast/ratelimit.h).
 *
 * The control plane asks cc_accounts_identify who a WebSocket belongs to
 * (the session cookie of its handshake) before `create` and `capture_*`.
 * With `serve --local-teacher`, a request from this computer itself
 * (loopback) and from this server's own pages is the built-in local
 * teacher when it carries no valid session: the one-command demo. Off
 * loopback nothing changes.
 * Thread: the control thread. */
#ifndef CLASSCAST_ACCOUNTS_H
#define CLASSCAST_ACCOUNTS_H

#include <stdint.h>

#include "classcast/clock.h"
#include "classcast/http.h"
#include "classcast/store.h"

typedef struct cc_accounts cc_accounts;

typedef enum {
    CC_WHO_NONE = 0,  /* not signed in */
    CC_WHO_TEACHER,   /* a teacher account with a live session */
    CC_WHO_LOCAL,     /* the built-in local teacher (--local-teacher) */
} cc_who_kind;

typedef struct cc_who {
    cc_who_kind kind;
    cc_teacher teacher;  /* CC_WHO_TEACHER */
    int64_t owner;       /* what owns its lessons: the teacher's id, or
                          * CC_LESSON_OWNER_LOCAL; 0 for nobody */
    int64_t expires_at;  /* CC_WHO_TEACHER: the session's end (epoch s) */
} cc_who;

/* Sign-in attempts and refusals; names match GET /stats ("control"). */
#define CC_ACCOUNTS_COUNTERS(X)                                                \
    X(signins) X(signin_failed) X(signin_refused) X(signin_disabled)          \
    X(signouts) X(account_cross_origin) X(account_not_signed_in)              \
    X(account_not_admin) X(account_bad_request) X(password_changes)           \
    X(password_change_failed) X(teachers_added) X(passwords_reset)            \
    X(teachers_disabled)

typedef struct cc_accounts_counters {
#define CC_X(name) uint64_t name;
    CC_ACCOUNTS_COUNTERS(CC_X)
#undef CC_X
} cc_accounts_counters;

/* store may be NULL (no database): then nobody signs in and only the local
 * teacher, if enabled, exists. NULL when out of memory. */
cc_accounts *cc_accounts_new(cc_store *store, int local_teacher);
void cc_accounts_free(cc_accounts *a);

/* 1 for the paths cc_accounts_api answers ("/api/..."). */
int cc_accounts_is_api(const char *path);
/* Answer one /api request. now: seconds since the epoch (sessions);
 * mono: the monotonic clock (the sign-in rate limit). */
void cc_accounts_api(cc_accounts *a, const cc_http_request *rq, cc_http_response *r,
                     int64_t now, cc_time_us mono);

/* The session token in a Cookie header (out: CC_STORE_TOKEN_CAP bytes;
 * "" when there is none or it is malformed). */
void cc_accounts_token_of(const char *cookie, char *out);

/* Who a request or WebSocket is: token from cc_accounts_token_of (may be
 * ""), local_ok when it came from loopback and from no other site's page
 * (the local teacher's condition). A session found is extended (sliding).
 * Fills *out (kind CC_WHO_NONE if nobody) and returns out->kind. */
cc_who_kind cc_accounts_identify(cc_accounts *a, const char *token, int local_ok,
                                 int64_t now, cc_who *out);

/* About once a second: deletes expired sessions now and then. */
void cc_accounts_tick(cc_accounts *a, int64_t now);

void cc_accounts_get_counters(const cc_accounts *a, cc_accounts_counters *out);

#endif
