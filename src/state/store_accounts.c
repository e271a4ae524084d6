/* Teacher accounts and sessions in SQLite (see include/classcast/store.h):
 * names, teachers and their passwords, sign-in sessions. */
#include "store_priv.h"

/* A session's expiry is written back only when it would move by at least
 * this much: a busy page does not turn every request into a write. */
#define SLIDE_STEP_S 60

/* ---- names ---------------------------------------------------------------- */

static int text_ok(const char *t, int min_cp)
{
    if (!t)
        return min_cp == 0;
    size_t len = strlen(t);
    if (len >= CC_STORE_NAME_CAP || !g_utf8_validate(t, (gssize)len, NULL))
        return 0;
    glong cp = g_utf8_strlen(t, (gssize)len);
    if (cp < min_cp || cp > CC_STORE_NAME_MAX_CP)
        return 0;
    if (cp == 0)
        return 1;
    for (const char *p = t; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        /* Cc and the line and paragraph separators would break a table
         * row or a log line. */
        if (g_unichar_iscntrl(c) || c == 0x2028 || c == 0x2029)
            return 0;
    }
    gunichar first = g_utf8_get_char(t);
    gunichar last = g_utf8_get_char(g_utf8_prev_char(t + len));
    return !g_unichar_isspace(first) && !g_unichar_isspace(last);
}

int cc_store_name_ok(const char *name) { return text_ok(name, 1); }
int cc_store_display_name_ok(const char *dn) { return text_ok(dn, 0); }

static void copy_text(char *dst, const unsigned char *src)
{
    snprintf(dst, CC_STORE_NAME_CAP, "%s", src ? (const char *)src : "");
}

/* A row of TEACHER_COLS. */
static void read_teacher(sqlite3_stmt *st, cc_teacher *t)
{
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(st, 0);
    copy_text(t->name, sqlite3_column_text(st, 1));
    copy_text(t->display_name, sqlite3_column_text(st, 2));
    t->is_admin = sqlite3_column_int(st, 3) != 0;
    t->disabled = sqlite3_column_int(st, 4) != 0;
    t->must_change_pw = sqlite3_column_int(st, 5) != 0;
    t->created_at = sqlite3_column_int64(st, 6);
}

/* ---- teachers ------------------------------------------------------------- */

int cc_store_teacher_add(cc_store *s, const char *name, const char *display_name,
                         const char *password, unsigned flags, int64_t now,
                         cc_teacher *out)
{
    if (!cc_store_name_ok(name) || !cc_store_display_name_ok(display_name) ||
        cc_pwhash_policy(password) != 0)
        return CC_EINVAL;
    if (!display_name || !display_name[0])
        display_name = name;
    char hash[CC_PWHASH_CAP];
    int rc = cc_pwhash_hash(password, hash, sizeof hash);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = store_q(s, Q_TEACHER_ADD);
    if (!st)
        return CC_EIO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, display_name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 4, (flags & CC_TEACHER_ADMIN) ? 1 : 0);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_int(st, 6, (flags & CC_TEACHER_MUST_CHANGE) ? 1 : 0);
    OPENSSL_cleanse(hash, sizeof hash);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step == SQLITE_CONSTRAINT_UNIQUE)
        return CC_EEXIST;
    if (step != SQLITE_DONE)
        return store_db_fail(s, "add a teacher");
    if (out)
        return cc_store_teacher_find(s, name, out);
    return 0;
}

static int find_one(cc_store *s, int qid, const char *name, int64_t id, cc_teacher *out)
{
    sqlite3_stmt *st = store_q(s, qid);
    if (!st)
        return CC_EIO;
    if (name)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st), rc;
    if (step == SQLITE_ROW) {
        if (out)
            read_teacher(st, out);
        rc = 0;
    } else {
        rc = step == SQLITE_DONE ? CC_ENOTFOUND : store_db_fail(s, "find a teacher");
    }
    sqlite3_reset(st);
    return rc;
}

int cc_store_teacher_find(cc_store *s, const char *name, cc_teacher *out)
{
    if (!name)
        return CC_ENOTFOUND;
    return find_one(s, Q_TEACHER_BY_NAME, name, 0, out);
}

int cc_store_teacher_get(cc_store *s, int64_t id, cc_teacher *out)
{
    return find_one(s, Q_TEACHER_BY_ID, NULL, id, out);
}

static int update_hash(cc_store *s, int64_t id, const char *hash, int must_change)
{
    sqlite3_stmt *st = store_q(s, Q_TEACHER_SET_HASH);
    if (!st)
        return CC_EIO;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, must_change ? 1 : 0);
    sqlite3_bind_int64(st, 3, id);
    int rc = store_run(s, st, "set a password");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = CC_ENOTFOUND;
    return rc;
}

int cc_store_teacher_verify(cc_store *s, const char *name, const char *password,
                            cc_teacher *out)
{
    cc_teacher t;
    char hash[CC_PWHASH_CAP] = "";
    int found = 0;
    if (name && password && strlen(password) <= CC_PWHASH_MAX_BYTES) {
        sqlite3_stmt *st = store_q(s, Q_TEACHER_HASH);
        if (!st)
            return CC_EIO;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            read_teacher(st, &t);
            const unsigned char *h = sqlite3_column_text(st, 7);
            snprintf(hash, sizeof hash, "%s", h ? (const char *)h : "");
            found = 1;
        } else if (step != SQLITE_DONE) {
            sqlite3_reset(st);
            return store_db_fail(s, "look up a teacher");
        }
        sqlite3_reset(st);
    }
    if (!found) {
        /* The same scrypt work as for a real account (see the header). */
        if (!s->dummy_hash[0] &&
            cc_pwhash_hash("classcast dummy password", s->dummy_hash, sizeof s->dummy_hash) != 0)
            return CC_ECRYPTO;
        cc_pwhash_verify(s->dummy_hash, password ? password : "");
        return CC_EAUTH;
    }
    int ok = cc_pwhash_verify(hash, password);
    if (ok < 0) {
        /* A hash that does not parse locks the account rather than crash
         * or open it; the operator resets the password. */
        CC_WARN("store", "teacher '%s' has an unreadable password hash; reset the password",
                t.name);
        OPENSSL_cleanse(hash, sizeof hash);
        return ok == CC_EINVAL ? CC_EAUTH : ok;
    }
    int outdated = ok == 1 && cc_pwhash_outdated(hash);
    OPENSSL_cleanse(hash, sizeof hash);
    if (ok != 1)
        return CC_EAUTH;
    if (t.disabled)
        return CC_ECLOSED;
    if (outdated) {
        /* Parameters changed since the hash was made: store a fresh one. */
        char fresh[CC_PWHASH_CAP];
        if (cc_pwhash_hash(password, fresh, sizeof fresh) == 0)
            update_hash(s, t.id, fresh, t.must_change_pw);
        OPENSSL_cleanse(fresh, sizeof fresh);
    }
    if (out)
        *out = t;
    return 0;
}

static int end_sessions(cc_store *s, int64_t teacher_id, const unsigned char *keep_hash)
{
    sqlite3_stmt *st = store_q(s, keep_hash ? Q_SESSION_DEL_TEACHER_BUT : Q_SESSION_DEL_TEACHER);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, teacher_id);
    if (keep_hash)
        sqlite3_bind_blob(st, 2, keep_hash, 32, SQLITE_TRANSIENT);
    return store_run(s, st, "end sessions");
}

static int token_ok(const char *token)
{
    if (!token || strlen(token) != CC_STORE_TOKEN_LEN)
        return 0;
    return strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
           CC_STORE_TOKEN_LEN;
}

static int token_hash(const char *token, unsigned char out[32])
{
    unsigned int n = 0;
    if (EVP_Digest(token, CC_STORE_TOKEN_LEN, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return CC_ECRYPTO;
    return 0;
}

int cc_store_teacher_set_password(cc_store *s, int64_t id, const char *password,
                                  int must_change, const char *keep_token)
{
    if (cc_pwhash_policy(password) != 0)
        return CC_EINVAL;
    char hash[CC_PWHASH_CAP];
    int rc = cc_pwhash_hash(password, hash, sizeof hash);
    if (rc != 0)
        return rc;
    rc = update_hash(s, id, hash, must_change);
    OPENSSL_cleanse(hash, sizeof hash);
    if (rc != 0)
        return rc;
    /* A new password signs the account out everywhere else: whoever knew
     * the old one must not stay in. */
    unsigned char keep[32];
    int have_keep = token_ok(keep_token) && token_hash(keep_token, keep) == 0;
    return end_sessions(s, id, have_keep ? keep : NULL);
}

int cc_store_teacher_set_disabled(cc_store *s, int64_t id, int disabled)
{
    sqlite3_stmt *st = store_q(s, Q_TEACHER_SET_DISABLED);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int(st, 1, disabled ? 1 : 0);
    sqlite3_bind_int64(st, 2, id);
    int rc = store_run(s, st, "disable a teacher");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        return CC_ENOTFOUND;
    if (rc == 0 && disabled)
        rc = end_sessions(s, id, NULL);
    return rc;
}

int cc_store_teacher_list(cc_store *s, cc_teacher **out, int *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = store_q(s, Q_TEACHER_LIST);
    if (!st)
        return CC_EIO;
    cc_teacher *a = NULL;
    int len = 0, cap = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            int nc = cap ? cap * 2 : 16;
            cc_teacher *na = realloc(a, (size_t)nc * sizeof *na);
            if (!na) {
                free(a);
                sqlite3_reset(st);
                return CC_ENOMEM;
            }
            a = na;
            cap = nc;
        }
        read_teacher(st, &a[len++]);
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE) {
        free(a);
        return store_db_fail(s, "list teachers");
    }
    *out = a;
    *n = len;
    return 0;
}

int cc_store_teacher_count(cc_store *s, int *admins)
{
    sqlite3_stmt *st = store_q(s, Q_TEACHER_COUNT);
    if (!st)
        return CC_EIO;
    int rc = CC_EIO;
    if (sqlite3_step(st) == SQLITE_ROW) {
        rc = sqlite3_column_int(st, 0);
        if (admins)
            *admins = sqlite3_column_int(st, 1);
    } else {
        store_db_fail(s, "count teachers");
    }
    sqlite3_reset(st);
    return rc;
}

/* ---- sessions ------------------------------------------------------------- */

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

int cc_store_session_new(cc_store *s, int64_t teacher_id, int64_t now, char *token,
                         int64_t *expires_at)
{
    unsigned char raw[33] = {0}, hash[32];
    char b64[48];
    token[0] = 0;
    if (cc_rand_bytes(raw, 32) != 0)
        return CC_ECRYPTO;
    /* base64url without padding (RFC 4648 section 5): cookie-octets of
     * RFC 6265 section 4.1.1, no quoting needed. */
    EVP_EncodeBlock((unsigned char *)b64, raw, 32);
    OPENSSL_cleanse(raw, sizeof raw);
    for (int i = 0; i < CC_STORE_TOKEN_LEN; i++)
        b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    b64[CC_STORE_TOKEN_LEN] = 0;
    if (token_hash(b64, hash) != 0)
        return CC_ECRYPTO;
    int64_t exp = now + CC_STORE_SESSION_IDLE_S;
    sqlite3_stmt *st = store_q(s, Q_SESSION_ADD);
    if (!st)
        return CC_EIO;
    sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, teacher_id);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, exp);
    sqlite3_bind_int64(st, 5, now);
    int rc = store_run(s, st, "add a session");
    if (rc == 0 && (st = store_q(s, Q_SESSION_TRIM)) != NULL) {
        sqlite3_bind_int64(st, 1, teacher_id);
        sqlite3_bind_int(st, 2, CC_STORE_SESSIONS_PER_TEACHER);
        store_run(s, st, "trim sessions");
    }
    if (rc == 0) {
        memcpy(token, b64, CC_STORE_TOKEN_CAP);
        if (expires_at)
            *expires_at = exp;
    }
    OPENSSL_cleanse(b64, sizeof b64);
    return rc;
}

static int delete_hash(cc_store *s, const unsigned char hash[32])
{
    sqlite3_stmt *st = store_q(s, Q_SESSION_DEL);
    if (!st)
        return CC_EIO;
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
    return store_run(s, st, "end a session");
}

int cc_store_session_check(cc_store *s, const char *token, int64_t now, cc_teacher *out,
                           int64_t *expires_at)
{
    unsigned char hash[32];
    if (!token_ok(token) || token_hash(token, hash) != 0)
        return CC_ENOTFOUND;
    sqlite3_stmt *st = store_q(s, Q_SESSION_GET);
    if (!st)
        return CC_EIO;
    sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_TRANSIENT);
    int step = sqlite3_step(st);
    if (step != SQLITE_ROW) {
        sqlite3_reset(st);
        return step == SQLITE_DONE ? CC_ENOTFOUND : store_db_fail(s, "look up a session");
    }
    cc_teacher t;
    read_teacher(st, &t);
    int64_t created = sqlite3_column_int64(st, 7), exp = sqlite3_column_int64(st, 8);
    sqlite3_reset(st);
    if (exp <= now || t.disabled) {
        delete_hash(s, hash);
        return CC_ENOTFOUND;
    }
    int64_t slid = min64(now + CC_STORE_SESSION_IDLE_S, created + CC_STORE_SESSION_MAX_S);
    if (slid - exp >= SLIDE_STEP_S) {
        st = store_q(s, Q_SESSION_SLIDE);
        if (st) {
            sqlite3_bind_int64(st, 1, slid);
            sqlite3_bind_int64(st, 2, now);
            sqlite3_bind_blob(st, 3, hash, sizeof hash, SQLITE_TRANSIENT);
            if (store_run(s, st, "extend a session") == 0)
                exp = slid;
        }
    }
    if (out)
        *out = t;
    if (expires_at)
        *expires_at = exp;
    return 0;
}

int cc_store_session_end(cc_store *s, const char *token)
{
    unsigned char hash[32];
    if (!token_ok(token) || token_hash(token, hash) != 0)
        return 0;
    return delete_hash(s, hash);
}

int cc_store_session_purge(cc_store *s, int64_t now)
{
    sqlite3_stmt *st = store_q(s, Q_SESSION_PURGE);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, now);
    int rc = store_run(s, st, "purge sessions");
    return rc == 0 ? sqlite3_changes(s->db) : rc;
}

int cc_store_session_count(cc_store *s, int64_t teacher_id, int64_t now)
{
    sqlite3_stmt *st = store_q(s, Q_SESSION_COUNT);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, teacher_id);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0)
                                            : store_db_fail(s, "count sessions");
    sqlite3_reset(st);
    return rc;
}
