/* Sign-in, sessions and teacher management over HTTP; see
 * include/classcast/accounts.h and docs/accounts.md. Never logs a password
 * or a session token; a failed sign-in is logged with its address only
 * (people type passwords into the name field). */
#include "classcast/accounts.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/auth.h"
#include "classcast/err.h"
#include "classcast/lesson.h"
#include "classcast/log.h"
#include "classcast/pwhash.h"
#include "classcast/ratelimit.h"

/* Wrong passwords per address: 10 at once, then 5 a minute (one every
 * 12 s). A staff room behind one NAT mistyping now and then stays far
 * below; guessing even a weak 10-character password does not. */
#define BAD_SIGNIN_BURST 10
#define BAD_SIGNIN_PER_MIN 5
#define BAD_SIGNIN_KEYS 10000
/* Generated (one-time) passwords: 16 characters, 80 bits. */
#define ONE_TIME_PW_LEN 16
/* Expired sessions are deleted every 10 minutes. */
#define PURGE_EVERY_S 600

struct cc_accounts {
    cc_store *store;
    int local_teacher;
    cc_ratelimit *bad_signins;
    cc_accounts_counters n;
    int64_t next_purge;
};

#define COUNT(a, f) ((a)->n.f++)

cc_accounts *cc_accounts_new(cc_store *store, int local_teacher)
{
    cc_accounts *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->store = store;
    a->local_teacher = local_teacher;
    a->bad_signins = cc_ratelimit_new(BAD_SIGNIN_KEYS, BAD_SIGNIN_BURST, BAD_SIGNIN_PER_MIN);
    if (!a->bad_signins) {
        free(a);
        return NULL;
    }
    return a;
}

void cc_accounts_free(cc_accounts *a)
{
    if (!a)
        return;
    cc_ratelimit_free(a->bad_signins);
    free(a);
}

void cc_accounts_get_counters(const cc_accounts *a, cc_accounts_counters *out) { *out = a->n; }

int cc_accounts_is_api(const char *path) { return strncmp(path, "/api/", 5) == 0; }

void cc_accounts_token_of(const char *cookie, char *out)
{
    if (cc_auth_cookie_value(cookie, CC_AUTH_COOKIE, out, CC_STORE_TOKEN_CAP) != 0 ||
        strlen(out) != CC_STORE_TOKEN_LEN)
        out[0] = 0;
}

cc_who_kind cc_accounts_identify(cc_accounts *a, const char *token, int local_ok, int64_t now,
                                 cc_who *out)
{
    memset(out, 0, sizeof *out);
    if (a->store && token && token[0] &&
        cc_store_session_check(a->store, token, now, &out->teacher, &out->expires_at) == 0) {
        out->kind = CC_WHO_TEACHER;
        out->owner = out->teacher.id;
        return out->kind;
    }
    if (a->local_teacher && local_ok) {
        out->kind = CC_WHO_LOCAL;
        out->owner = CC_LESSON_OWNER_LOCAL;
    }
    return out->kind;
}

void cc_accounts_tick(cc_accounts *a, int64_t now)
{
    if (!a->store || now < a->next_purge)
        return;
    a->next_purge = now + PURGE_EVERY_S;
    int n = cc_store_session_purge(a->store, now);
    if (n > 0)
        CC_INFO("accounts", "%d expired session%s deleted", n, n == 1 ? "" : "s");
}

/* ---- answers ---- */

static void reply(cc_http_response *r, int status, json_t *j)
{
    cc_http_reply_json(r, status, j);
}

/* {"error": code, "message": sentence}: pages show their own text for the
 * code (web/i18n.js "account.err.*"); the sentence is for logs and tools. */
static void fail(cc_http_response *r, int status, const char *code, const char *message)
{
    cc_http_reply_error(r, status, code, message);
}

static json_t *teacher_json(const cc_who *w)
{
    if (w->kind == CC_WHO_LOCAL)
        return json_pack("{s:s, s:s, s:b, s:b, s:b}", "name", "", "display_name", "", "admin", 0,
                         "must_change_password", 0, "local", 1);
    const cc_teacher *t = &w->teacher;
    return json_pack("{s:s, s:s, s:b, s:b, s:b}", "name", t->name, "display_name",
                     t->display_name, "admin", t->is_admin, "must_change_password",
                     t->must_change_pw, "local", 0);
}

static json_t *teacher_row(const cc_teacher *t)
{
    return json_pack("{s:s, s:s, s:b, s:b, s:b, s:I}", "name", t->name, "display_name",
                     t->display_name, "admin", t->is_admin, "disabled", t->disabled,
                     "must_change_password", t->must_change_pw, "created_at",
                     (json_int_t)t->created_at);
}

static void set_session_cookie(cc_http_response *r, const char *token, int64_t max_age,
                               int secure)
{
    if (cc_auth_set_cookie(r->set_cookie, sizeof r->set_cookie, token, max_age, secure) != 0)
        r->set_cookie[0] = 0;
}

/* Parse the body into fields; on failure the answer is set (415 / 413 /
 * 400) and 0 returned. */
static int read_body(cc_accounts *a, const cc_http_request *rq, cc_http_response *r,
                     cc_auth_field *f, int n)
{
    if (rq->body_too_big) {
        COUNT(a, account_bad_request);
        fail(r, 413, "too_big", "the request body is too large");
        return 0;
    }
    int rc = cc_auth_parse_fields(rq->content_type, rq->body, rq->body_len, f, n);
    if (rc == CC_EUNSUPPORTED) {
        COUNT(a, account_bad_request);
        fail(r, 415, "bad_request",
             "send application/json or application/x-www-form-urlencoded");
        return 0;
    }
    if (rc != 0) {
        COUNT(a, account_bad_request);
        fail(r, 400, "bad_request", "the request body could not be read");
        return 0;
    }
    return 1;
}

/* The address must wait (wrong passwords): the answer is set, 1 returned. */
static int too_many(cc_accounts *a, const char *key, cc_time_us mono, cc_http_response *r)
{
    int wait = 0;
    if (cc_ratelimit_check(a->bad_signins, key, mono, &wait) == 0)
        return 0;
    COUNT(a, signin_refused);
    CC_LOG_RL(CC_LOG_WARN, "accounts", "too many wrong passwords from %s: refused for %d s", key,
              wait);
    reply(r, 429, json_pack("{s:s, s:s, s:i}", "error", "too_many_tries", "message",
                            "too many wrong passwords from this network: wait and try again",
                            "retry_after", wait));
    r->retry_after = wait;
    return 1;
}

/* ---- the endpoints ---- */

static void api_signin(cc_accounts *a, const cc_http_request *rq, cc_http_response *r,
                       int64_t now, cc_time_us mono, const char *key)
{
    if (too_many(a, key, mono, r))
        return;
    char name[CC_STORE_NAME_CAP], pw[CC_PWHASH_MAX_BYTES + 1];
    cc_auth_field f[] = {{"name", name, sizeof name, 0}, {"password", pw, sizeof pw, 0}};
    if (!read_body(a, rq, r, f, 2))
        goto out;
    if (!f[0].found || !f[1].found || !name[0] || !pw[0]) {
        COUNT(a, account_bad_request);
        fail(r, 400, "missing_fields", "give a name and a password");
        goto out;
    }
    cc_who w = {.kind = CC_WHO_TEACHER};
    int rc = cc_store_teacher_verify(a->store, name, pw, &w.teacher);
    if (rc == CC_EAUTH) {
        COUNT(a, signin_failed);
        cc_ratelimit_fail(a->bad_signins, key, mono);
        CC_LOG_RL(CC_LOG_WARN, "accounts", "sign-in from %s refused: wrong name or password",
                  rq->peer_ip);
        fail(r, 401, "wrong_password", "wrong name or password");
        goto out;
    }
    if (rc == CC_ECLOSED) {
        COUNT(a, signin_disabled);
        CC_LOG_RL(CC_LOG_WARN, "accounts", "sign-in of '%s' from %s refused: account disabled",
                  w.teacher.name, rq->peer_ip);
        fail(r, 403, "account_disabled", "this account is disabled");
        goto out;
    }
    char token[CC_STORE_TOKEN_CAP];
    if (rc != 0 || cc_store_session_new(a->store, w.teacher.id, now, token, &w.expires_at) != 0) {
        fail(r, 500, "server_error", "could not sign in");
        goto out;
    }
    COUNT(a, signins);
    CC_INFO("accounts", "'%s' signed in from %s", w.teacher.name, rq->peer_ip);
    set_session_cookie(r, token, w.expires_at - now, rq->secure);
    OPENSSL_cleanse(token, sizeof token);
    reply(r, 200, json_pack("{s:o}", "teacher", teacher_json(&w)));
out:
    OPENSSL_cleanse(pw, sizeof pw);
}

static void api_signout(cc_accounts *a, const cc_http_request *rq, cc_http_response *r,
                        const char *token, int64_t now)
{
    cc_who w;
    if (cc_accounts_identify(a, token, 0, now, &w) == CC_WHO_TEACHER) {
        COUNT(a, signouts);
        CC_INFO("accounts", "'%s' signed out from %s", w.teacher.name, rq->peer_ip);
    }
    if (a->store && token[0])
        cc_store_session_end(a->store, token);
    set_session_cookie(r, NULL, 0, rq->secure);
    reply(r, 200, json_pack("{s:b}", "ok", 1));
}

static void api_me(cc_http_response *r, const cc_http_request *rq, const cc_who *w,
                   const char *token, int64_t now)
{
    if (w->kind == CC_WHO_NONE) {
        fail(r, 401, "not_signed_in", "nobody is signed in");
        return;
    }
    /* The cookie's Max-Age slides with the session (RFC 6265 section
     * 5.3 step 11: a Set-Cookie for the same name replaces it). */
    if (w->kind == CC_WHO_TEACHER)
        set_session_cookie(r, token, w->expires_at - now, rq->secure);
    reply(r, 200, json_pack("{s:o}", "teacher", teacher_json(w)));
}

static void api_password(cc_accounts *a, const cc_http_request *rq, cc_http_response *r,
                         const cc_who *w, const char *token, cc_time_us mono, const char *key)
{
    if (w->kind != CC_WHO_TEACHER) {
        COUNT(a, account_not_signed_in);
        fail(r, 401, "not_signed_in", "sign in first");
        return;
    }
    if (too_many(a, key, mono, r))
        return;
    char old[CC_PWHASH_MAX_BYTES + 1], pw[CC_PWHASH_MAX_BYTES + 1];
    cc_auth_field f[] = {{"password", old, sizeof old, 0}, {"new_password", pw, sizeof pw, 0}};
    if (!read_body(a, rq, r, f, 2))
        goto out;
    if (!f[0].found || !f[1].found) {
        COUNT(a, account_bad_request);
        fail(r, 400, "missing_fields", "give the current and the new password");
        goto out;
    }
    int rc = cc_store_teacher_verify(a->store, w->teacher.name, old, NULL);
    if (rc != 0) {
        COUNT(a, password_change_failed);
        cc_ratelimit_fail(a->bad_signins, key, mono);
        CC_LOG_RL(CC_LOG_WARN, "accounts", "password change of '%s' from %s refused: wrong "
                  "current password", w->teacher.name, rq->peer_ip);
        fail(r, 403, "wrong_password", "the current password is wrong");
        goto out;
    }
    if (cc_pwhash_policy(pw) != 0) {
        COUNT(a, password_change_failed);
        fail(r, 400, "weak_password", "a password needs at least 10 characters");
        goto out;
    }
    if (strcmp(old, pw) == 0) {
        COUNT(a, password_change_failed);
        fail(r, 400, "same_password", "choose a password other than the current one");
        goto out;
    }
    /* This browser stays signed in; every other session of the account
     * ends (whoever else knew the old password is out). */
    if (cc_store_teacher_set_password(a->store, w->teacher.id, pw, 0, token) != 0) {
        fail(r, 500, "server_error", "could not change the password");
        goto out;
    }
    COUNT(a, password_changes);
    CC_INFO("accounts", "'%s' changed their password (from %s)", w->teacher.name, rq->peer_ip);
    cc_who now_w = *w;
    now_w.teacher.must_change_pw = 0;
    reply(r, 200, json_pack("{s:o}", "teacher", teacher_json(&now_w)));
out:
    OPENSSL_cleanse(old, sizeof old);
    OPENSSL_cleanse(pw, sizeof pw);
}

static void api_teachers_list(cc_accounts *a, cc_http_response *r)
{
    cc_teacher *all = NULL;
    int n = 0;
    if (cc_store_teacher_list(a->store, &all, &n) != 0) {
        fail(r, 500, "server_error", "could not list the teachers");
        return;
    }
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, teacher_row(&all[i]));
    free(all);
    reply(r, 200, json_pack("{s:o}", "teachers", arr));
}

/* A one-time password, in the answer only (never logged). */
static void reply_with_password(cc_http_response *r, int status, const cc_teacher *t,
                                const char *pw)
{
    reply(r, status, json_pack("{s:o, s:s}", "teacher", teacher_row(t), "password", pw));
}

static void api_teachers_add(cc_accounts *a, const cc_http_request *rq, cc_http_response *r,
                             const cc_who *admin, int64_t now)
{
    char name[CC_STORE_NAME_CAP], dn[CC_STORE_NAME_CAP], adm[8];
    cc_auth_field f[] = {{"name", name, sizeof name, 0},
                         {"display_name", dn, sizeof dn, 0},
                         {"admin", adm, sizeof adm, 0}};
    if (!read_body(a, rq, r, f, 3))
        return;
    if (!cc_store_name_ok(name)) {
        COUNT(a, account_bad_request);
        fail(r, 400, "bad_name", "a name has 1 to 64 characters, none of them control "
                                 "characters, and no space at either end");
        return;
    }
    if (!cc_store_display_name_ok(dn)) {
        COUNT(a, account_bad_request);
        fail(r, 400, "bad_display_name", "a display name has at most 64 characters");
        return;
    }
    char pw[ONE_TIME_PW_LEN + 1];
    cc_teacher t;
    unsigned flags = CC_TEACHER_MUST_CHANGE | (cc_auth_truthy(adm) ? CC_TEACHER_ADMIN : 0);
    int rc = cc_pwhash_generate(pw, ONE_TIME_PW_LEN);
    if (rc == 0)
        rc = cc_store_teacher_add(a->store, name, dn, pw, flags, now, &t);
    if (rc == CC_EEXIST) {
        COUNT(a, account_bad_request);
        fail(r, 409, "name_taken", "there is already a teacher with this name");
    } else if (rc != 0) {
        fail(r, 500, "server_error", "could not add the teacher");
    } else {
        COUNT(a, teachers_added);
        CC_INFO("accounts", "'%s' added the teacher '%s'%s", admin->teacher.name, t.name,
                t.is_admin ? " (admin)" : "");
        reply_with_password(r, 201, &t, pw);
    }
    OPENSSL_cleanse(pw, sizeof pw);
}

/* The teacher named in the body, not the admin themself. 0 on success
 * (*t filled, value is the second field's), else the answer is set. */
static int target(cc_accounts *a, const cc_http_request *rq, cc_http_response *r,
                  const cc_who *admin, const char *second, char *value, size_t vcap,
                  cc_teacher *t)
{
    char name[CC_STORE_NAME_CAP];
    cc_auth_field f[] = {{"name", name, sizeof name, 0}, {second, value, vcap, 0}};
    if (!read_body(a, rq, r, f, second ? 2 : 1))
        return -1;
    if (!f[0].found || cc_store_teacher_find(a->store, name, t) != 0) {
        COUNT(a, account_bad_request);
        fail(r, 404, "no_such_teacher", "no teacher has this name");
        return -1;
    }
    if (t->id == admin->teacher.id) {
        COUNT(a, account_bad_request);
        fail(r, 409, "not_yourself",
             "use your own password change instead; an admin cannot disable themself");
        return -1;
    }
    if (second && !f[1].found)
        value[0] = 0;
    return 0;
}

static void api_teachers_reset(cc_accounts *a, const cc_http_request *rq, cc_http_response *r,
                               const cc_who *admin)
{
    cc_teacher t;
    if (target(a, rq, r, admin, NULL, NULL, 0, &t) != 0)
        return;
    char pw[ONE_TIME_PW_LEN + 1];
    int rc = cc_pwhash_generate(pw, ONE_TIME_PW_LEN);
    if (rc == 0)
        rc = cc_store_teacher_set_password(a->store, t.id, pw, 1, NULL);
    if (rc != 0) {
        fail(r, 500, "server_error", "could not reset the password");
    } else {
        COUNT(a, passwords_reset);
        CC_INFO("accounts", "'%s' reset the password of '%s'", admin->teacher.name, t.name);
        t.must_change_pw = 1;
        reply_with_password(r, 200, &t, pw);
    }
    OPENSSL_cleanse(pw, sizeof pw);
}

static void api_teachers_disable(cc_accounts *a, const cc_http_request *rq,
                                 cc_http_response *r, const cc_who *admin)
{
    cc_teacher t;
    char dis[8];
    if (target(a, rq, r, admin, "disabled", dis, sizeof dis, &t) != 0)
        return;
    int disable = dis[0] ? cc_auth_truthy(dis) : 1;
    if (cc_store_teacher_set_disabled(a->store, t.id, disable) != 0) {
        fail(r, 500, "server_error", "could not change the teacher");
        return;
    }
    if (disable)
        COUNT(a, teachers_disabled);
    CC_INFO("accounts", "'%s' %s the teacher '%s'", admin->teacher.name,
            disable ? "disabled" : "enabled", t.name);
    t.disabled = disable;
    reply(r, 200, json_pack("{s:o}", "teacher", teacher_row(&t)));
}

void cc_accounts_api(cc_accounts *a, const cc_http_request *rq, cc_http_response *r,
                     int64_t now, cc_time_us mono)
{
    const char *p = rq->path;
    int get = strcmp(rq->method, "GET") == 0, post = strcmp(rq->method, "POST") == 0;
    enum { SIGNIN, SIGNOUT, ME, PASSWORD, TEACHERS, RESET, DISABLE, NONE } ep = NONE;
    if (strcmp(p, "/api/signin") == 0) ep = SIGNIN;
    else if (strcmp(p, "/api/signout") == 0) ep = SIGNOUT;
    else if (strcmp(p, "/api/me") == 0) ep = ME;
    else if (strcmp(p, "/api/password") == 0) ep = PASSWORD;
    else if (strcmp(p, "/api/teachers") == 0) ep = TEACHERS;
    else if (strcmp(p, "/api/teachers/reset") == 0) ep = RESET;
    else if (strcmp(p, "/api/teachers/disable") == 0) ep = DISABLE;
    if (ep == NONE) {
        fail(r, 404, "not_found", "no such API");
        return;
    }
    if (!((ep == ME && get) || (ep == TEACHERS && (get || post)) || (ep != ME && post))) {
        fail(r, 405, "bad_method", ep == ME ? "use GET" : "use POST");
        return;
    }
    /* A page of another site must not sign a teacher in or out, or
     * manage accounts, through the teacher's browser (login CSRF too). */
    if (rq->cross_origin) {
        COUNT(a, account_cross_origin);
        CC_LOG_RL(CC_LOG_WARN, "accounts", "refused %s %s from another site's page (%s)",
                  rq->method, p, rq->peer_ip);
        fail(r, 403, "cross_origin", "only classcast's own pages may use this");
        return;
    }
    if (!a->store && ep != ME && ep != SIGNOUT) {
        fail(r, 503, "accounts_unavailable", "this server keeps no accounts");
        return;
    }
    char key[64];
    cc_ratelimit_key_of_ip(rq->peer_ip, key, sizeof key);
    char token[CC_STORE_TOKEN_CAP];
    cc_accounts_token_of(rq->cookie, token);
    if (ep == SIGNIN) {
        api_signin(a, rq, r, now, mono, key);
        return;
    }
    if (ep == SIGNOUT) {
        api_signout(a, rq, r, token, now);
        return;
    }
    cc_who w;
    cc_accounts_identify(a, token, rq->from_loopback, now, &w);
    if (ep == ME) {
        api_me(r, rq, &w, token, now);
        return;
    }
    if (ep == PASSWORD) {
        api_password(a, rq, r, &w, token, mono, key);
        return;
    }
    /* The rest is for admins. */
    if (w.kind != CC_WHO_TEACHER) {
        COUNT(a, account_not_signed_in);
        fail(r, 401, "not_signed_in", "sign in as an admin first");
        return;
    }
    if (!w.teacher.is_admin || w.teacher.must_change_pw) {
        COUNT(a, account_not_admin);
        CC_LOG_RL(CC_LOG_WARN, "accounts", "'%s' (not an admin) refused %s %s", w.teacher.name,
                  rq->method, p);
        fail(r, 403, w.teacher.is_admin ? "must_change_password" : "not_admin",
             w.teacher.is_admin ? "choose your own password first"
                                : "only an admin may manage teachers");
        return;
    }
    if (ep == TEACHERS && get)
        api_teachers_list(a, r);
    else if (ep == TEACHERS)
        api_teachers_add(a, rq, r, &w, now);
    else if (ep == RESET)
        api_teachers_reset(a, rq, r, &w);
    else
        api_teachers_disable(a, rq, r, &w);
}
