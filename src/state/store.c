/* Teacher accounts and sessions in SQLite; see include/classcast/store.h.
 * Every statement below is a constant with `?` parameters, prepared once
 * and cached: input only ever reaches SQLite through sqlite3_bind_*. */
#include "classcast/store.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/paths.h"
#include "classcast/pwhash.h"
#include "classcast/rand.h"

/* ---- migrations ---------------------------------------------------------
 * Migration i (1-based) takes the schema from version i - 1 to i and ends
 * by setting PRAGMA user_version to i. Never edit one that has shipped:
 * add the next. Later issues append theirs (lessons, attendance,
 * recordings) here. */
static const char *const migrations[] = {
    /* 1: teachers and their sign-in sessions. */
    "CREATE TABLE teachers ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  display_name TEXT NOT NULL,"
    "  pw_hash TEXT NOT NULL,"
    "  is_admin INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  disabled INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE sessions ("
    "  token_hash BLOB PRIMARY KEY,"
    "  teacher_id INTEGER NOT NULL REFERENCES teachers(id) ON DELETE CASCADE,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL"
    ");"
    "CREATE INDEX sessions_by_teacher ON sessions(teacher_id);"
    "CREATE INDEX sessions_by_expiry ON sessions(expires_at);"
    "PRAGMA user_version = 1;",
    /* 2: a generated (one-time) password must be replaced at first use. */
    "ALTER TABLE teachers ADD COLUMN must_change_pw INTEGER NOT NULL DEFAULT 0;"
    "PRAGMA user_version = 2;",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(N_MIGRATIONS == CC_STORE_SCHEMA_VERSION,
               "CC_STORE_SCHEMA_VERSION must name the last migration");

/* ---- statements ---------------------------------------------------------- */

#define TEACHER_COLS "id, name, display_name, is_admin, disabled, must_change_pw, created_at"

enum {
    Q_TEACHER_ADD,
    Q_TEACHER_BY_NAME,
    Q_TEACHER_BY_ID,
    Q_TEACHER_HASH,
    Q_TEACHER_SET_HASH,
    Q_TEACHER_SET_DISABLED,
    Q_TEACHER_LIST,
    Q_TEACHER_COUNT,
    Q_SESSION_ADD,
    Q_SESSION_TRIM,
    Q_SESSION_GET,
    Q_SESSION_SLIDE,
    Q_SESSION_DEL,
    Q_SESSION_DEL_TEACHER,
    Q_SESSION_DEL_TEACHER_BUT,
    Q_SESSION_PURGE,
    Q_SESSION_COUNT,
    Q_COUNT
};

static const char *const sql[Q_COUNT] = {
    [Q_TEACHER_ADD] =
        "INSERT INTO teachers (name, display_name, pw_hash, is_admin, created_at, "
        "disabled, must_change_pw) VALUES (?, ?, ?, ?, ?, 0, ?)",
    [Q_TEACHER_BY_NAME] = "SELECT " TEACHER_COLS " FROM teachers WHERE name = ?",
    [Q_TEACHER_BY_ID] = "SELECT " TEACHER_COLS " FROM teachers WHERE id = ?",
    [Q_TEACHER_HASH] = "SELECT " TEACHER_COLS ", pw_hash FROM teachers WHERE name = ?",
    [Q_TEACHER_SET_HASH] = "UPDATE teachers SET pw_hash = ?, must_change_pw = ? WHERE id = ?",
    [Q_TEACHER_SET_DISABLED] = "UPDATE teachers SET disabled = ? WHERE id = ?",
    [Q_TEACHER_LIST] = "SELECT " TEACHER_COLS " FROM teachers ORDER BY name",
    [Q_TEACHER_COUNT] =
        "SELECT count(*), coalesce(sum(is_admin AND NOT disabled), 0) FROM teachers",
    [Q_SESSION_ADD] =
        "INSERT INTO sessions (token_hash, teacher_id, created_at, expires_at, last_seen) "
        "VALUES (?, ?, ?, ?, ?)",
    /* Keep the newest CC_STORE_SESSIONS_PER_TEACHER (bound) of a teacher. */
    [Q_SESSION_TRIM] =
        "DELETE FROM sessions WHERE teacher_id = ?1 AND token_hash NOT IN "
        "(SELECT token_hash FROM sessions WHERE teacher_id = ?1 "
        " ORDER BY created_at DESC, rowid DESC LIMIT ?2)",
    [Q_SESSION_GET] =
        "SELECT t.id, t.name, t.display_name, t.is_admin, t.disabled, t.must_change_pw, "
        "t.created_at, s.created_at, s.expires_at FROM sessions s "
        "JOIN teachers t ON t.id = s.teacher_id WHERE s.token_hash = ?",
    [Q_SESSION_SLIDE] =
        "UPDATE sessions SET expires_at = ?, last_seen = ? WHERE token_hash = ?",
    [Q_SESSION_DEL] = "DELETE FROM sessions WHERE token_hash = ?",
    [Q_SESSION_DEL_TEACHER] = "DELETE FROM sessions WHERE teacher_id = ?",
    [Q_SESSION_DEL_TEACHER_BUT] =
        "DELETE FROM sessions WHERE teacher_id = ? AND token_hash <> ?",
    [Q_SESSION_PURGE] = "DELETE FROM sessions WHERE expires_at <= ?",
    [Q_SESSION_COUNT] =
        "SELECT count(*) FROM sessions WHERE teacher_id = ? AND expires_at > ?",
};

struct cc_store {
    sqlite3 *db;
    sqlite3_stmt *stmt[Q_COUNT];
    int version;
    /* An unknown name is checked against this, so it costs what a real
     * check costs (made at the first such sign-in). */
    char dummy_hash[CC_PWHASH_CAP];
};

/* A session's expiry is written back only when it would move by at least
 * this much: a busy page does not turn every request into a write. */
#define SLIDE_STEP_S 60
/* How long a writer waits for another (the CLI while the server runs). */
#define BUSY_TIMEOUT_MS 5000

static int db_fail(cc_store *s, const char *what)
{
    CC_WARN("store", "%s: %s", what, sqlite3_errmsg(s->db));
    return CC_EIO;
}

/* The cached statement, reset and unbound. NULL if it cannot be prepared
 * (logged). */
static sqlite3_stmt *q(cc_store *s, int id)
{
    sqlite3_stmt *st = s->stmt[id];
    if (!st) {
        if (sqlite3_prepare_v3(s->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
            SQLITE_OK) {
            db_fail(s, "prepare");
            return NULL;
        }
        s->stmt[id] = st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

/* Run a statement that returns no rows. */
static int run(cc_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(s, what);
    return 0;
}

static int exec(cc_store *s, const char *text, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, text, NULL, NULL, &msg) != SQLITE_OK) {
        CC_WARN("store", "%s: %s", what, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return CC_EIO;
    }
    return 0;
}

static int user_version(cc_store *s, int *out)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, "read the schema version");
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : CC_EIO;
    if (rc == 0)
        *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc;
}

/* Run migrations up to `target`, one transaction each. BEGIN IMMEDIATE takes
 * the write lock before the version is read, so a server and a CLI opening
 * a new database at once do not both run migration 1. */
static int migrate(cc_store *s, int target, char *err, size_t errcap)
{
    for (;;) {
        if (exec(s, "BEGIN IMMEDIATE", "begin migration") != 0) {
            snprintf(err, errcap, "cannot lock the database: %s", sqlite3_errmsg(s->db));
            return CC_EIO;
        }
        int v = 0;
        if (user_version(s, &v) != 0) {
            exec(s, "ROLLBACK", "rollback");
            snprintf(err, errcap, "cannot read the schema version");
            return CC_EIO;
        }
        if (v > N_MIGRATIONS) {
            exec(s, "ROLLBACK", "rollback");
            snprintf(err, errcap,
                     "the database has schema version %d, newer than this classcast knows (%d): "
                     "use a newer classcast",
                     v, N_MIGRATIONS);
            return CC_EUNSUPPORTED;
        }
        if (v >= target) {
            exec(s, "COMMIT", "commit");
            s->version = v;
            return 0;
        }
        char what[48];
        snprintf(what, sizeof what, "migration %d", v + 1);
        if (exec(s, migrations[v], what) != 0 || exec(s, "COMMIT", "commit migration") != 0) {
            snprintf(err, errcap, "migration %d failed: %s", v + 1, sqlite3_errmsg(s->db));
            exec(s, "ROLLBACK", "rollback");
            return CC_EIO;
        }
        CC_INFO("store", "database schema migrated to version %d", v + 1);
    }
}

int cc_store_open_file(cc_store **out, const char *path, int version, char *err,
                       size_t errcap)
{
    char scratch[8];
    if (!err) {
        err = scratch;
        errcap = sizeof scratch;
    }
    err[0] = 0;
    *out = NULL;
    if (!path || !path[0] || version < 0 || version > N_MIGRATIONS) {
        snprintf(err, errcap, "bad database path or version");
        return CC_EINVAL;
    }
    /* The file holds password hashes: create it private before SQLite
     * does (SQLite gives its -wal and -shm files the same mode). */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errcap, "cannot open %s: %s", path, strerror(errno));
        return CC_EIO;
    }
    close(fd);
    cc_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errcap, "out of memory");
        return CC_ENOMEM;
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, errcap, "cannot open %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        cc_store_close(s);
        return CC_EIO;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    /* WAL: the server reads while the CLI writes; FULL: an account change
     * survives a power cut (writes are rare). foreign_keys: a teacher's
     * sessions go with the teacher. */
    if (exec(s, "PRAGMA journal_mode = WAL", "WAL mode") != 0 ||
        exec(s, "PRAGMA synchronous = FULL", "synchronous") != 0 ||
        exec(s, "PRAGMA foreign_keys = ON", "foreign keys") != 0) {
        snprintf(err, errcap, "cannot set up %s: %s", path, sqlite3_errmsg(s->db));
        cc_store_close(s);
        return CC_EIO;
    }
    int rc = migrate(s, version ? version : N_MIGRATIONS, err, errcap);
    if (rc != 0) {
        cc_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

int cc_store_open(cc_store **out, const char *dir, char *err, size_t errcap)
{
    char scratch[8], path[CC_PATHS_MAX + 32], def[CC_PATHS_MAX];
    if (!err) {
        err = scratch;
        errcap = sizeof scratch;
    }
    *out = NULL;
    if (!dir) {
        if (cc_paths_state_dir(def, sizeof def) != 0) {
            snprintf(err, errcap, "no state directory (HOME is not set): give one with "
                                  "--state-dir DIR");
            return CC_ENOTFOUND;
        }
        dir = def;
    }
    if (!dir[0] || strlen(dir) >= CC_PATHS_MAX) {
        snprintf(err, errcap, "bad state directory");
        return CC_EINVAL;
    }
    if (cc_paths_make_private_dir(dir) != 0) {
        snprintf(err, errcap, "cannot create the state directory %s: %s", dir, strerror(errno));
        return CC_EIO;
    }
    snprintf(path, sizeof path, "%s/%s", dir, CC_STORE_FILE);
    return cc_store_open_file(out, path, 0, err, errcap);
}

void cc_store_close(cc_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    free(s);
}

int cc_store_version(cc_store *s) { return s->version; }

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
    sqlite3_stmt *st = q(s, Q_TEACHER_ADD);
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
        return db_fail(s, "add a teacher");
    if (out)
        return cc_store_teacher_find(s, name, out);
    return 0;
}

static int find_one(cc_store *s, int qid, const char *name, int64_t id, cc_teacher *out)
{
    sqlite3_stmt *st = q(s, qid);
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
        rc = step == SQLITE_DONE ? CC_ENOTFOUND : db_fail(s, "find a teacher");
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
    sqlite3_stmt *st = q(s, Q_TEACHER_SET_HASH);
    if (!st)
        return CC_EIO;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, must_change ? 1 : 0);
    sqlite3_bind_int64(st, 3, id);
    int rc = run(s, st, "set a password");
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
        sqlite3_stmt *st = q(s, Q_TEACHER_HASH);
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
            return db_fail(s, "look up a teacher");
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
    sqlite3_stmt *st = q(s, keep_hash ? Q_SESSION_DEL_TEACHER_BUT : Q_SESSION_DEL_TEACHER);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, teacher_id);
    if (keep_hash)
        sqlite3_bind_blob(st, 2, keep_hash, 32, SQLITE_TRANSIENT);
    return run(s, st, "end sessions");
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
    sqlite3_stmt *st = q(s, Q_TEACHER_SET_DISABLED);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int(st, 1, disabled ? 1 : 0);
    sqlite3_bind_int64(st, 2, id);
    int rc = run(s, st, "disable a teacher");
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
    sqlite3_stmt *st = q(s, Q_TEACHER_LIST);
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
        return db_fail(s, "list teachers");
    }
    *out = a;
    *n = len;
    return 0;
}

int cc_store_teacher_count(cc_store *s, int *admins)
{
    sqlite3_stmt *st = q(s, Q_TEACHER_COUNT);
    if (!st)
        return CC_EIO;
    int rc = CC_EIO;
    if (sqlite3_step(st) == SQLITE_ROW) {
        rc = sqlite3_column_int(st, 0);
        if (admins)
            *admins = sqlite3_column_int(st, 1);
    } else {
        db_fail(s, "count teachers");
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
    sqlite3_stmt *st = q(s, Q_SESSION_ADD);
    if (!st)
        return CC_EIO;
    sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, teacher_id);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, exp);
    sqlite3_bind_int64(st, 5, now);
    int rc = run(s, st, "add a session");
    if (rc == 0 && (st = q(s, Q_SESSION_TRIM)) != NULL) {
        sqlite3_bind_int64(st, 1, teacher_id);
        sqlite3_bind_int(st, 2, CC_STORE_SESSIONS_PER_TEACHER);
        run(s, st, "trim sessions");
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
    sqlite3_stmt *st = q(s, Q_SESSION_DEL);
    if (!st)
        return CC_EIO;
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
    return run(s, st, "end a session");
}

int cc_store_session_check(cc_store *s, const char *token, int64_t now, cc_teacher *out,
                           int64_t *expires_at)
{
    unsigned char hash[32];
    if (!token_ok(token) || token_hash(token, hash) != 0)
        return CC_ENOTFOUND;
    sqlite3_stmt *st = q(s, Q_SESSION_GET);
    if (!st)
        return CC_EIO;
    sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_TRANSIENT);
    int step = sqlite3_step(st);
    if (step != SQLITE_ROW) {
        sqlite3_reset(st);
        return step == SQLITE_DONE ? CC_ENOTFOUND : db_fail(s, "look up a session");
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
        st = q(s, Q_SESSION_SLIDE);
        if (st) {
            sqlite3_bind_int64(st, 1, slid);
            sqlite3_bind_int64(st, 2, now);
            sqlite3_bind_blob(st, 3, hash, sizeof hash, SQLITE_TRANSIENT);
            if (run(s, st, "extend a session") == 0)
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
    sqlite3_stmt *st = q(s, Q_SESSION_PURGE);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, now);
    int rc = run(s, st, "purge sessions");
    return rc == 0 ? sqlite3_changes(s->db) : rc;
}

int cc_store_session_count(cc_store *s, int64_t teacher_id, int64_t now)
{
    sqlite3_stmt *st = q(s, Q_SESSION_COUNT);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, teacher_id);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0)
                                            : db_fail(s, "count sessions");
    sqlite3_reset(st);
    return rc;
}
