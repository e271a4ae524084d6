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
    /* 3: lessons, their members, attendance, chat and invites
     * (docs/state.md). Times are Unix milliseconds, 0 for "not (yet)".
     * teacher_id is the lesson's owner (an account id, -1 for the local
     * teacher), not a foreign key: a lesson's record outlives accounts. */
    "CREATE TABLE lessons ("
    "  id INTEGER PRIMARY KEY,"
    "  code TEXT NOT NULL,"
    "  kind INTEGER NOT NULL DEFAULT 0,"
    "  title TEXT NOT NULL,"
    "  teacher_id INTEGER NOT NULL,"
    "  teacher_name TEXT NOT NULL,"
    "  teacher_token_hash BLOB NOT NULL,"
    "  viewer_token_hash BLOB NOT NULL,"
    "  locked INTEGER NOT NULL DEFAULT 0,"
    "  waiting_room INTEGER NOT NULL DEFAULT 0,"
    "  last_n INTEGER NOT NULL DEFAULT 2,"
    "  chat_students INTEGER NOT NULL DEFAULT 1,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL,"
    "  started_ms INTEGER NOT NULL DEFAULT 0,"
    "  ended_ms INTEGER NOT NULL DEFAULT 0,"
    "  teacher_gone_ms INTEGER NOT NULL DEFAULT 0,"
    "  heartbeat_ms INTEGER NOT NULL"
    ");"
    "CREATE INDEX lessons_by_teacher ON lessons(teacher_id, created_ms);"
    "CREATE INDEX lessons_by_state ON lessons(state, ended_ms);"
    "CREATE TABLE members ("
    "  lesson_id INTEGER NOT NULL REFERENCES lessons(id) ON DELETE CASCADE,"
    "  member_id INTEGER NOT NULL,"
    "  role INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  rejoin_hash BLOB,"
    "  invite INTEGER NOT NULL DEFAULT -1,"
    "  flags INTEGER NOT NULL DEFAULT 0,"
    "  hand INTEGER NOT NULL DEFAULT 0,"
    "  first_join_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (lesson_id, member_id)"
    ") WITHOUT ROWID;"
    "CREATE TABLE attendance ("
    "  id INTEGER PRIMARY KEY,"
    "  lesson_id INTEGER NOT NULL,"
    "  member_id INTEGER NOT NULL,"
    "  joined_ms INTEGER NOT NULL,"
    "  left_ms INTEGER NOT NULL DEFAULT 0,"
    "  watching_ms INTEGER NOT NULL DEFAULT 0,"
    "  weak_ms INTEGER NOT NULL DEFAULT 0,"
    "  watch_since_ms INTEGER NOT NULL DEFAULT 0,"
    "  weak_since_ms INTEGER NOT NULL DEFAULT 0,"
    "  FOREIGN KEY (lesson_id, member_id) REFERENCES members(lesson_id, member_id)"
    "    ON DELETE CASCADE"
    ");"
    "CREATE INDEX attendance_by_lesson ON attendance(lesson_id, id);"
    "CREATE INDEX attendance_open ON attendance(lesson_id) WHERE left_ms = 0;"
    "CREATE TABLE chat ("
    "  id INTEGER PRIMARY KEY,"
    "  lesson_id INTEGER NOT NULL REFERENCES lessons(id) ON DELETE CASCADE,"
    "  member TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  role INTEGER NOT NULL,"
    "  text TEXT NOT NULL,"
    "  at_ms INTEGER NOT NULL"
    ");"
    "CREATE INDEX chat_by_lesson ON chat(lesson_id, id);"
    "CREATE TABLE invites ("
    "  lesson_id INTEGER NOT NULL REFERENCES lessons(id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  invite_id TEXT NOT NULL,"
    "  label TEXT NOT NULL,"
    "  token TEXT NOT NULL,"
    "  uses INTEGER NOT NULL DEFAULT 0,"
    "  revoked INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (lesson_id, idx)"
    ") WITHOUT ROWID;"
    "PRAGMA user_version = 3;",
    /* 4: lesson recordings (docs/recording.md): one row per WebM file in
     * <state dir>/recordings/. teacher_id is the lesson's owner (an
     * account id, -1 for the local teacher), like lessons.teacher_id.
     * AUTOINCREMENT: an id (and its file name and URL) is never reused.
     * Times are Unix milliseconds, 0 for "not (yet)"; state is
     * 'recording' until the file is finished ('done') or lost ('failed').
     * A teacher may have every lesson recorded from its start. */
    "CREATE TABLE recordings ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  teacher_id INTEGER NOT NULL,"
    "  lesson_code TEXT NOT NULL,"
    "  title TEXT NOT NULL,"
    "  file_name TEXT NOT NULL,"
    "  started_ms INTEGER NOT NULL,"
    "  ended_ms INTEGER NOT NULL DEFAULT 0,"
    "  duration_ms INTEGER NOT NULL DEFAULT 0,"
    "  bytes INTEGER NOT NULL DEFAULT 0,"
    "  state TEXT NOT NULL DEFAULT 'recording' "
    "    CHECK (state IN ('recording', 'done', 'failed'))"
    ");"
    "CREATE INDEX recordings_by_teacher ON recordings(teacher_id, started_ms);"
    "CREATE INDEX recordings_by_state ON recordings(state);"
    "ALTER TABLE teachers ADD COLUMN record_default INTEGER NOT NULL DEFAULT 0;"
    "PRAGMA user_version = 4;",
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
    Q_LESSON_ADD,
    Q_LESSON_UPDATE,
    Q_LESSON_HEARTBEAT,
    Q_LESSON_LOAD,
    Q_MEMBER_PUT,
    Q_MEMBER_LOAD,
    Q_MEMBER_COUNT,
    Q_ATTEND_OPEN,
    Q_ATTEND_UPDATE,
    Q_ATTEND_CLOSE,
    Q_ATTEND_CLOSE_LESSON,
    Q_ATTEND_COUNT,
    Q_CHAT_ADD,
    Q_CHAT_TRIM,
    Q_CHAT_LOAD,
    Q_CHAT_CLEAR,
    Q_INVITE_PUT,
    Q_INVITE_LOAD,
    Q_HISTORY_LESSONS,
    Q_HISTORY_FIND,
    Q_HISTORY_ATTEND,
    Q_REC_ADD,
    Q_REC_NAME,
    Q_REC_FINISH,
    Q_REC_GET,
    Q_REC_LIST,
    Q_REC_DELETE,
    Q_REC_UNFINISHED,
    Q_REC_BYTES,
    Q_TEACHER_REC_DEFAULT,
    Q_TEACHER_SET_REC_DEFAULT,
    Q_COUNT
};

#define LESSON_COLS                                                                    \
    "id, code, kind, title, teacher_id, teacher_name, teacher_token_hash, "           \
    "viewer_token_hash, locked, waiting_room, last_n, chat_students, state, created_ms, " \
    "started_ms, ended_ms, teacher_gone_ms, heartbeat_ms"
#define REC_COLS                                                                       \
    "id, teacher_id, lesson_code, title, file_name, started_ms, ended_ms, duration_ms, "  \
    "bytes, state"
#define MEMBER_COLS "member_id, role, name, rejoin_hash, invite, flags, hand, first_join_ms"
/* A history row: the lesson, and how many students and schools it had. */
#define HISTORY_COLS                                                                   \
    "l.id, l.code, l.kind, l.title, l.teacher_name, l.state, l.created_ms, l.started_ms, " \
    "l.ended_ms, (SELECT count(*) FROM members m WHERE m.lesson_id = l.id AND m.role <> 0)"

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
    [Q_LESSON_ADD] =
        "INSERT INTO lessons (code, kind, title, teacher_id, teacher_name, teacher_token_hash, "
        "viewer_token_hash, locked, waiting_room, last_n, chat_students, state, created_ms, "
        "started_ms, ended_ms, teacher_gone_ms, heartbeat_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    [Q_LESSON_UPDATE] =
        "UPDATE lessons SET locked = ?2, waiting_room = ?3, last_n = ?4, chat_students = ?5, "
        "state = ?6, started_ms = ?7, ended_ms = ?8, teacher_gone_ms = ?9, heartbeat_ms = ?10, "
        "kind = ?11 WHERE id = ?1",
    [Q_LESSON_HEARTBEAT] = "UPDATE lessons SET heartbeat_ms = ? WHERE state <> 2",
    [Q_LESSON_LOAD] = "SELECT " LESSON_COLS " FROM lessons WHERE state <> 2 OR ended_ms >= ? "
                      "ORDER BY id",
    [Q_MEMBER_PUT] =
        "INSERT INTO members (lesson_id, " MEMBER_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
        "?8, ?9) ON CONFLICT (lesson_id, member_id) DO UPDATE SET role = ?3, name = ?4, "
        "rejoin_hash = ?5, invite = ?6, flags = ?7, hand = ?8",
    /* The newest `max` that may come back, handed out oldest first. */
    [Q_MEMBER_LOAD] =
        "SELECT * FROM (SELECT " MEMBER_COLS " FROM members WHERE lesson_id = ?1 AND "
        "rejoin_hash IS NOT NULL ORDER BY member_id DESC LIMIT ?2) ORDER BY member_id",
    [Q_MEMBER_COUNT] = "SELECT count(*) FROM members WHERE lesson_id = ?",
    [Q_ATTEND_OPEN] =
        "INSERT INTO attendance (lesson_id, member_id, joined_ms) VALUES (?, ?, ?)",
    [Q_ATTEND_UPDATE] =
        "UPDATE attendance SET watching_ms = ?2, weak_ms = ?3, watch_since_ms = ?4, "
        "weak_since_ms = ?5 WHERE id = ?1",
    [Q_ATTEND_CLOSE] =
        "UPDATE attendance SET left_ms = max(?2, joined_ms), watching_ms = ?3, weak_ms = ?4, "
        "watch_since_ms = 0, weak_since_ms = 0 WHERE id = ?1",
    /* A stretch in progress ends at the closing time (never before it
     * began). */
    [Q_ATTEND_CLOSE_LESSON] =
        "UPDATE attendance SET left_ms = max(?2, joined_ms), "
        "watching_ms = watching_ms + CASE WHEN watch_since_ms > 0 "
        "  THEN max(0, ?2 - watch_since_ms) ELSE 0 END, "
        "weak_ms = weak_ms + CASE WHEN weak_since_ms > 0 "
        "  THEN max(0, ?2 - weak_since_ms) ELSE 0 END, "
        "watch_since_ms = 0, weak_since_ms = 0 WHERE lesson_id = ?1 AND left_ms = 0",
    [Q_ATTEND_COUNT] = "SELECT count(*) FROM attendance WHERE lesson_id = ?",
    [Q_CHAT_ADD] =
        "INSERT INTO chat (lesson_id, member, name, role, text, at_ms) VALUES (?, ?, ?, ?, ?, ?)",
    [Q_CHAT_TRIM] =
        "DELETE FROM chat WHERE lesson_id = ?1 AND id NOT IN "
        "(SELECT id FROM chat WHERE lesson_id = ?1 ORDER BY id DESC LIMIT ?2)",
    [Q_CHAT_LOAD] =
        "SELECT member, name, role, text, at_ms FROM chat WHERE lesson_id = ? ORDER BY id",
    [Q_CHAT_CLEAR] = "DELETE FROM chat WHERE lesson_id = ?",
    [Q_INVITE_PUT] =
        "INSERT OR REPLACE INTO invites (lesson_id, idx, invite_id, label, token, uses, revoked) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
    [Q_INVITE_LOAD] =
        "SELECT idx, invite_id, label, token, uses, revoked FROM invites WHERE lesson_id = ? "
        "ORDER BY idx",
    [Q_HISTORY_LESSONS] =
        "SELECT " HISTORY_COLS " FROM lessons l WHERE l.teacher_id = ?1 "
        "ORDER BY l.created_ms DESC, l.id DESC LIMIT ?2 OFFSET ?3",
    [Q_HISTORY_FIND] =
        "SELECT " HISTORY_COLS " FROM lessons l WHERE l.teacher_id = ?1 AND l.code = ?2 "
        "ORDER BY l.created_ms DESC, l.id DESC LIMIT 1",
    /* An open row counts its stretch in progress up to the lesson's last
     * heartbeat (at most ~10 s old while the server runs). */
    [Q_HISTORY_ATTEND] =
        "SELECT 'm' || a.member_id, m.name, m.role, a.joined_ms, a.left_ms, "
        "a.watching_ms + CASE WHEN a.left_ms = 0 AND a.watch_since_ms > 0 "
        "  THEN max(0, l.heartbeat_ms - a.watch_since_ms) ELSE 0 END, "
        "a.weak_ms + CASE WHEN a.left_ms = 0 AND a.weak_since_ms > 0 "
        "  THEN max(0, l.heartbeat_ms - a.weak_since_ms) ELSE 0 END "
        "FROM attendance a JOIN members m ON m.lesson_id = a.lesson_id AND "
        "m.member_id = a.member_id JOIN lessons l ON l.id = a.lesson_id "
        "WHERE a.lesson_id = ? ORDER BY a.joined_ms, a.id",
    [Q_REC_ADD] =
        "INSERT INTO recordings (teacher_id, lesson_code, title, file_name, started_ms) "
        "VALUES (?, ?, ?, '', ?)",
    [Q_REC_NAME] = "UPDATE recordings SET file_name = id || '.webm' WHERE id = ?",
    [Q_REC_FINISH] =
        "UPDATE recordings SET state = ?2, ended_ms = ?3, duration_ms = ?4, bytes = ?5 "
        "WHERE id = ?1",
    [Q_REC_GET] = "SELECT " REC_COLS " FROM recordings WHERE id = ?",
    [Q_REC_LIST] = "SELECT " REC_COLS " FROM recordings WHERE teacher_id = ?1 "
                   "ORDER BY started_ms DESC, id DESC LIMIT ?2",
    [Q_REC_DELETE] = "DELETE FROM recordings WHERE id = ? AND teacher_id = ?",
    [Q_REC_UNFINISHED] = "SELECT " REC_COLS " FROM recordings WHERE state = 'recording' "
                         "ORDER BY id LIMIT ?",
    [Q_REC_BYTES] = "SELECT coalesce(sum(bytes), 0) FROM recordings WHERE teacher_id = ?1 OR ?1 = 0",
    [Q_TEACHER_REC_DEFAULT] = "SELECT record_default FROM teachers WHERE id = ?",
    [Q_TEACHER_SET_REC_DEFAULT] = "UPDATE teachers SET record_default = ? WHERE id = ?",
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

/* ---- lessons (docs/state.md) ---------------------------------------------- */

int cc_store_set_server_mode(cc_store *s)
{
    sqlite3_busy_timeout(s->db, CC_STORE_SERVER_BUSY_MS);
    return exec(s, "PRAGMA synchronous = NORMAL", "synchronous");
}

int cc_store_begin(cc_store *s) { return exec(s, "BEGIN", "begin"); }
int cc_store_commit(cc_store *s) { return exec(s, "COMMIT", "commit"); }

void cc_store_rollback(cc_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        exec(s, "ROLLBACK", "rollback");
}

/* Room for one more element in a malloc'd array of `size`-byte elements. */
static int grow(void **a, int len, int *cap, size_t size)
{
    if (len < *cap)
        return 0;
    int nc = *cap ? *cap * 2 : 16;
    void *na = realloc(*a, (size_t)nc * size);
    if (!na)
        return CC_ENOMEM;
    *a = na;
    *cap = nc;
    return 0;
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* A 32-byte hash column; 0 if it is one, else CC_EINVAL (NULL, wrong size). */
static int hash_col(unsigned char out[32], sqlite3_stmt *st, int col)
{
    if (sqlite3_column_bytes(st, col) != 32 || !sqlite3_column_blob(st, col))
        return CC_EINVAL;
    memcpy(out, sqlite3_column_blob(st, col), 32);
    return 0;
}

/* A count(*) of one lesson's rows. */
static int count_of(cc_store *s, int qid, int64_t lesson_id)
{
    sqlite3_stmt *st = q(s, qid);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, lesson_id);
    int rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : db_fail(s, "count");
    sqlite3_reset(st);
    return rc;
}

int cc_store_lesson_add(cc_store *s, cc_store_lesson *l)
{
    if (!l->code[0])
        return CC_EINVAL;
    sqlite3_stmt *st = q(s, Q_LESSON_ADD);
    if (!st)
        return CC_EIO;
    sqlite3_bind_text(st, 1, l->code, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, l->kind);
    sqlite3_bind_text(st, 3, l->title, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, l->teacher_id);
    sqlite3_bind_text(st, 5, l->teacher_name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 6, l->teacher_hash, 32, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 7, l->viewer_hash, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 8, l->locked);
    sqlite3_bind_int(st, 9, l->waiting_room);
    sqlite3_bind_int(st, 10, l->last_n);
    sqlite3_bind_int(st, 11, l->chat_students);
    sqlite3_bind_int(st, 12, l->state);
    sqlite3_bind_int64(st, 13, l->created_ms);
    sqlite3_bind_int64(st, 14, l->started_ms);
    sqlite3_bind_int64(st, 15, l->ended_ms);
    sqlite3_bind_int64(st, 16, l->teacher_gone_ms);
    sqlite3_bind_int64(st, 17, l->heartbeat_ms);
    int rc = run(s, st, "add a lesson");
    if (rc == 0)
        l->id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int cc_store_lesson_update(cc_store *s, const cc_store_lesson *l)
{
    sqlite3_stmt *st = q(s, Q_LESSON_UPDATE);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, l->id);
    sqlite3_bind_int(st, 2, l->locked);
    sqlite3_bind_int(st, 3, l->waiting_room);
    sqlite3_bind_int(st, 4, l->last_n);
    sqlite3_bind_int(st, 5, l->chat_students);
    sqlite3_bind_int(st, 6, l->state);
    sqlite3_bind_int64(st, 7, l->started_ms);
    sqlite3_bind_int64(st, 8, l->ended_ms);
    sqlite3_bind_int64(st, 9, l->teacher_gone_ms);
    sqlite3_bind_int64(st, 10, l->heartbeat_ms);
    sqlite3_bind_int(st, 11, l->kind);
    int rc = run(s, st, "update a lesson");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = CC_ENOTFOUND;
    return rc;
}

int cc_store_lesson_heartbeat(cc_store *s, int64_t now_ms)
{
    sqlite3_stmt *st = q(s, Q_LESSON_HEARTBEAT);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, now_ms);
    return run(s, st, "heartbeat");
}

static void read_lesson(sqlite3_stmt *st, cc_store_lesson *l)
{
    memset(l, 0, sizeof *l);
    l->id = sqlite3_column_int64(st, 0);
    copy_col(l->code, sizeof l->code, st, 1);
    l->kind = sqlite3_column_int(st, 2);
    copy_col(l->title, sizeof l->title, st, 3);
    l->teacher_id = sqlite3_column_int64(st, 4);
    copy_col(l->teacher_name, sizeof l->teacher_name, st, 5);
    /* A hash that does not read stays all zero: no token matches it. */
    hash_col(l->teacher_hash, st, 6);
    hash_col(l->viewer_hash, st, 7);
    l->locked = sqlite3_column_int(st, 8);
    l->waiting_room = sqlite3_column_int(st, 9);
    l->last_n = sqlite3_column_int(st, 10);
    l->chat_students = sqlite3_column_int(st, 11);
    l->state = sqlite3_column_int(st, 12);
    l->created_ms = sqlite3_column_int64(st, 13);
    l->started_ms = sqlite3_column_int64(st, 14);
    l->ended_ms = sqlite3_column_int64(st, 15);
    l->teacher_gone_ms = sqlite3_column_int64(st, 16);
    l->heartbeat_ms = sqlite3_column_int64(st, 17);
}

int cc_store_lesson_load(cc_store *s, int64_t ended_since_ms, cc_store_lesson **out, int *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = q(s, Q_LESSON_LOAD);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, ended_since_ms);
    cc_store_lesson *a = NULL;
    int len = 0, cap = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&a, len, &cap, sizeof *a) != 0) {
            sqlite3_reset(st);
            free(a);
            return CC_ENOMEM;
        }
        read_lesson(st, &a[len++]);
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE) {
        free(a);
        return db_fail(s, "load lessons");
    }
    *out = a;
    *n = len;
    return 0;
}

int cc_store_member_put(cc_store *s, int64_t lesson_id, const cc_store_member *m)
{
    sqlite3_stmt *st = q(s, Q_MEMBER_PUT);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, lesson_id);
    sqlite3_bind_int64(st, 2, m->id);
    sqlite3_bind_int(st, 3, m->role);
    sqlite3_bind_text(st, 4, m->name, -1, SQLITE_TRANSIENT);
    if (m->has_rejoin)
        sqlite3_bind_blob(st, 5, m->rejoin_hash, 32, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_int(st, 6, m->invite);
    sqlite3_bind_int64(st, 7, m->flags);
    sqlite3_bind_int64(st, 8, m->hand);
    sqlite3_bind_int64(st, 9, m->first_join_ms);
    return run(s, st, "write a member");
}

int cc_store_member_load(cc_store *s, int64_t lesson_id, int max, cc_store_member **out,
                         int *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = q(s, Q_MEMBER_LOAD);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, lesson_id);
    sqlite3_bind_int(st, 2, max);
    cc_store_member *a = NULL;
    int len = 0, cap = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&a, len, &cap, sizeof *a) != 0) {
            sqlite3_reset(st);
            free(a);
            return CC_ENOMEM;
        }
        cc_store_member *m = &a[len];
        memset(m, 0, sizeof *m);
        int64_t id = sqlite3_column_int64(st, 0);
        m->role = sqlite3_column_int(st, 1);
        copy_col(m->name, sizeof m->name, st, 2);
        m->has_rejoin = hash_col(m->rejoin_hash, st, 3) == 0;
        m->invite = sqlite3_column_int(st, 4);
        m->flags = (unsigned)sqlite3_column_int64(st, 5);
        m->hand = (uint32_t)sqlite3_column_int64(st, 6);
        m->first_join_ms = sqlite3_column_int64(st, 7);
        /* A row that cannot be a member (edited by hand) is skipped. */
        if (id <= 0 || id > UINT32_MAX || !m->has_rejoin || !m->name[0])
            continue;
        m->id = (uint32_t)id;
        len++;
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE) {
        free(a);
        return db_fail(s, "load members");
    }
    *out = a;
    *n = len;
    return 0;
}

int cc_store_member_count(cc_store *s, int64_t lesson_id)
{
    return count_of(s, Q_MEMBER_COUNT, lesson_id);
}

int cc_store_attend_open(cc_store *s, int64_t lesson_id, uint32_t member_id, int64_t joined_ms,
                         int64_t *row)
{
    sqlite3_stmt *st = q(s, Q_ATTEND_OPEN);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, lesson_id);
    sqlite3_bind_int64(st, 2, member_id);
    sqlite3_bind_int64(st, 3, joined_ms);
    int rc = run(s, st, "open an attendance row");
    if (rc == 0 && row)
        *row = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int cc_store_attend_update(cc_store *s, const cc_store_attend *a)
{
    sqlite3_stmt *st = q(s, Q_ATTEND_UPDATE);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, a->row);
    sqlite3_bind_int64(st, 2, a->watching_ms);
    sqlite3_bind_int64(st, 3, a->weak_ms);
    sqlite3_bind_int64(st, 4, a->watch_since_ms);
    sqlite3_bind_int64(st, 5, a->weak_since_ms);
    return run(s, st, "update an attendance row");
}

static int64_t stretch(int64_t since, int64_t until)
{
    return since > 0 && until > since ? until - since : 0;
}

int cc_store_attend_close(cc_store *s, const cc_store_attend *a, int64_t left_ms)
{
    sqlite3_stmt *st = q(s, Q_ATTEND_CLOSE);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, a->row);
    sqlite3_bind_int64(st, 2, left_ms);
    sqlite3_bind_int64(st, 3, a->watching_ms + stretch(a->watch_since_ms, left_ms));
    sqlite3_bind_int64(st, 4, a->weak_ms + stretch(a->weak_since_ms, left_ms));
    return run(s, st, "close an attendance row");
}

int cc_store_attend_close_lesson(cc_store *s, int64_t lesson_id, int64_t at_ms)
{
    sqlite3_stmt *st = q(s, Q_ATTEND_CLOSE_LESSON);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, lesson_id);
    sqlite3_bind_int64(st, 2, at_ms);
    int rc = run(s, st, "close attendance");
    return rc == 0 ? sqlite3_changes(s->db) : rc;
}

int cc_store_attend_count(cc_store *s, int64_t lesson_id)
{
    return count_of(s, Q_ATTEND_COUNT, lesson_id);
}

int cc_store_chat_add(cc_store *s, int64_t lesson_id, const cc_store_chat *m, int keep)
{
    sqlite3_stmt *st = q(s, Q_CHAT_ADD);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, lesson_id);
    sqlite3_bind_text(st, 2, m->member, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, m->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 4, m->role);
    sqlite3_bind_text(st, 5, m->text ? m->text : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, m->at_ms);
    int rc = run(s, st, "add a chat message");
    if (rc == 0 && (st = q(s, Q_CHAT_TRIM)) != NULL) {
        sqlite3_bind_int64(st, 1, lesson_id);
        sqlite3_bind_int(st, 2, keep);
        rc = run(s, st, "trim the chat");
    }
    return rc;
}

void cc_store_chat_free(cc_store_chat *a, int n)
{
    for (int i = 0; a && i < n; i++)
        free(a[i].text);
    free(a);
}

int cc_store_chat_load(cc_store *s, int64_t lesson_id, cc_store_chat **out, int *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = q(s, Q_CHAT_LOAD);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, lesson_id);
    cc_store_chat *a = NULL;
    int len = 0, cap = 0, step, rc = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&a, len, &cap, sizeof *a) != 0) {
            rc = CC_ENOMEM;
            break;
        }
        cc_store_chat *m = &a[len];
        memset(m, 0, sizeof *m);
        copy_col(m->member, sizeof m->member, st, 0);
        copy_col(m->name, sizeof m->name, st, 1);
        m->role = sqlite3_column_int(st, 2);
        const unsigned char *t = sqlite3_column_text(st, 3);
        m->text = strdup(t ? (const char *)t : "");
        m->at_ms = sqlite3_column_int64(st, 4);
        if (!m->text) {
            rc = CC_ENOMEM;
            break;
        }
        len++;
    }
    sqlite3_reset(st);
    if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = db_fail(s, "load the chat");
    if (rc != 0) {
        cc_store_chat_free(a, len);
        return rc;
    }
    *out = a;
    *n = len;
    return 0;
}

int cc_store_chat_clear(cc_store *s, int64_t lesson_id)
{
    sqlite3_stmt *st = q(s, Q_CHAT_CLEAR);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, lesson_id);
    return run(s, st, "clear the chat");
}

int cc_store_invite_put(cc_store *s, int64_t lesson_id, const cc_store_invite *iv)
{
    sqlite3_stmt *st = q(s, Q_INVITE_PUT);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, lesson_id);
    sqlite3_bind_int(st, 2, iv->idx);
    sqlite3_bind_text(st, 3, iv->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, iv->label, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, iv->revoked ? "" : iv->token, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 6, iv->uses);
    sqlite3_bind_int(st, 7, iv->revoked ? 1 : 0);
    return run(s, st, "write an invite");
}

int cc_store_invite_load(cc_store *s, int64_t lesson_id, cc_store_invite **out, int *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = q(s, Q_INVITE_LOAD);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, lesson_id);
    cc_store_invite *a = NULL;
    int len = 0, cap = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&a, len, &cap, sizeof *a) != 0) {
            sqlite3_reset(st);
            free(a);
            return CC_ENOMEM;
        }
        cc_store_invite *iv = &a[len++];
        memset(iv, 0, sizeof *iv);
        iv->idx = sqlite3_column_int(st, 0);
        copy_col(iv->id, sizeof iv->id, st, 1);
        copy_col(iv->label, sizeof iv->label, st, 2);
        copy_col(iv->token, sizeof iv->token, st, 3);
        iv->uses = sqlite3_column_int(st, 4);
        iv->revoked = sqlite3_column_int(st, 5) != 0;
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE) {
        free(a);
        return db_fail(s, "load invites");
    }
    *out = a;
    *n = len;
    return 0;
}

/* ---- lesson history: attendance ------------------------------------------- */

static int64_t to_s(int64_t ms) { return ms > 0 ? ms / 1000 : 0; }

/* A row of HISTORY_COLS. */
static void read_history(sqlite3_stmt *st, cc_store_lesson_info *l)
{
    memset(l, 0, sizeof *l);
    l->id = sqlite3_column_int64(st, 0);
    copy_col(l->code, sizeof l->code, st, 1);
    l->kind = sqlite3_column_int(st, 2);
    copy_col(l->title, sizeof l->title, st, 3);
    copy_col(l->teacher_name, sizeof l->teacher_name, st, 4);
    l->state = sqlite3_column_int(st, 5);
    l->created_at = to_s(sqlite3_column_int64(st, 6));
    l->started_at = to_s(sqlite3_column_int64(st, 7));
    l->ended_at = to_s(sqlite3_column_int64(st, 8));
    l->n_members = sqlite3_column_int(st, 9);
}

int cc_store_history_lessons(cc_store *s, int64_t teacher_id, int offset, int limit,
                             cc_store_lesson_info **out, int *n)
{
    *out = NULL;
    *n = 0;
    if (offset < 0 || limit < 1 || limit > CC_STORE_HISTORY_MAX)
        return CC_EINVAL;
    sqlite3_stmt *st = q(s, Q_HISTORY_LESSONS);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, teacher_id);
    sqlite3_bind_int(st, 2, limit);
    sqlite3_bind_int(st, 3, offset);
    cc_store_lesson_info *a = NULL;
    int len = 0, cap = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&a, len, &cap, sizeof *a) != 0) {
            sqlite3_reset(st);
            free(a);
            return CC_ENOMEM;
        }
        read_history(st, &a[len++]);
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE) {
        free(a);
        return db_fail(s, "list lessons");
    }
    *out = a;
    *n = len;
    return 0;
}

static int attendance_rows(cc_store *s, int64_t lesson_id, cc_store_attendance **out, int *n)
{
    sqlite3_stmt *st = q(s, Q_HISTORY_ATTEND);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, lesson_id);
    cc_store_attendance *a = NULL;
    int len = 0, cap = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&a, len, &cap, sizeof *a) != 0) {
            sqlite3_reset(st);
            free(a);
            return CC_ENOMEM;
        }
        cc_store_attendance *r = &a[len++];
        memset(r, 0, sizeof *r);
        copy_col(r->member, sizeof r->member, st, 0);
        copy_col(r->name, sizeof r->name, st, 1);
        r->role = sqlite3_column_int(st, 2);
        r->joined_at = to_s(sqlite3_column_int64(st, 3));
        r->left_at = to_s(sqlite3_column_int64(st, 4));
        /* Whole seconds, rounded: 59.6 s of watching is a minute. */
        r->watching_s = (sqlite3_column_int64(st, 5) + 500) / 1000;
        r->weak_s = (sqlite3_column_int64(st, 6) + 500) / 1000;
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE) {
        free(a);
        return db_fail(s, "list attendance");
    }
    *out = a;
    *n = len;
    return 0;
}

int cc_store_attendance_list(cc_store *s, int64_t teacher_id, const char *code,
                             cc_store_lesson_info *lesson, cc_store_attendance **out, int *n)
{
    *out = NULL;
    *n = 0;
    if (!code || !code[0] || strlen(code) >= CC_STORE_CODE_CAP)
        return CC_ENOTFOUND;
    sqlite3_stmt *st = q(s, Q_HISTORY_FIND);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, teacher_id);
    sqlite3_bind_text(st, 2, code, -1, SQLITE_TRANSIENT);
    cc_store_lesson_info info;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        read_history(st, &info);
    sqlite3_reset(st);
    if (step != SQLITE_ROW)
        return step == SQLITE_DONE ? CC_ENOTFOUND : db_fail(s, "find a lesson");
    if (lesson)
        *lesson = info;
    return attendance_rows(s, info.id, out, n);
}

/* ---- recordings ------------------------------------------------------------ */

static const char *const rec_states[] = {"recording", "done", "failed"};

static int rec_state_of(const unsigned char *t)
{
    for (int i = 0; i < 3; i++)
        if (t && strcmp((const char *)t, rec_states[i]) == 0)
            return i;
    return CC_STORE_REC_FAILED;
}

static void read_recording(sqlite3_stmt *st, cc_store_recording *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    r->teacher_id = sqlite3_column_int64(st, 1);
    const unsigned char *t = sqlite3_column_text(st, 2);
    snprintf(r->code, sizeof r->code, "%s", t ? (const char *)t : "");
    t = sqlite3_column_text(st, 3);
    snprintf(r->title, sizeof r->title, "%s", t ? (const char *)t : "");
    t = sqlite3_column_text(st, 4);
    snprintf(r->file_name, sizeof r->file_name, "%s", t ? (const char *)t : "");
    r->started_ms = sqlite3_column_int64(st, 5);
    r->ended_ms = sqlite3_column_int64(st, 6);
    r->duration_ms = sqlite3_column_int64(st, 7);
    r->bytes = sqlite3_column_int64(st, 8);
    r->state = rec_state_of(sqlite3_column_text(st, 9));
}

int cc_store_recording_add(cc_store *s, cc_store_recording *r)
{
    if (!r || !r->code[0] || strlen(r->code) >= CC_STORE_CODE_CAP ||
        strlen(r->title) >= CC_STORE_TITLE_CAP || !g_utf8_validate(r->title, -1, NULL))
        return CC_EINVAL;
    if (exec(s, "SAVEPOINT rec_add", "begin") != 0)
        return CC_EIO;
    int rc = CC_EIO;
    sqlite3_stmt *st = q(s, Q_REC_ADD);
    if (st) {
        sqlite3_bind_int64(st, 1, r->teacher_id);
        sqlite3_bind_text(st, 2, r->code, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, r->title, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, r->started_ms);
        rc = run(s, st, "add a recording");
    }
    int64_t id = rc == 0 ? sqlite3_last_insert_rowid(s->db) : 0;
    if (rc == 0 && (st = q(s, Q_REC_NAME)) != NULL) {
        sqlite3_bind_int64(st, 1, id);
        rc = run(s, st, "name a recording");
    } else if (rc == 0) {
        rc = CC_EIO;
    }
    if (rc != 0) {
        exec(s, "ROLLBACK TO rec_add", "rollback");
        exec(s, "RELEASE rec_add", "release");
        return rc;
    }
    if (exec(s, "RELEASE rec_add", "commit") != 0)
        return CC_EIO;
    r->id = id;
    snprintf(r->file_name, sizeof r->file_name, "%lld.webm", (long long)id);
    r->state = CC_STORE_REC_RECORDING;
    r->ended_ms = r->duration_ms = r->bytes = 0;
    return 0;
}

int cc_store_recording_finish(cc_store *s, int64_t id, int state, int64_t ended_ms,
                              int64_t duration_ms, int64_t bytes)
{
    if (state < 0 || state > CC_STORE_REC_FAILED)
        return CC_EINVAL;
    sqlite3_stmt *st = q(s, Q_REC_FINISH);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, rec_states[state], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, ended_ms);
    sqlite3_bind_int64(st, 4, duration_ms);
    sqlite3_bind_int64(st, 5, bytes);
    int rc = run(s, st, "finish a recording");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = CC_ENOTFOUND;
    return rc;
}

int cc_store_recording_get(cc_store *s, int64_t id, cc_store_recording *out)
{
    sqlite3_stmt *st = q(s, Q_REC_GET);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW && out)
        read_recording(st, out);
    sqlite3_reset(st);
    if (step == SQLITE_ROW)
        return 0;
    return step == SQLITE_DONE ? CC_ENOTFOUND : db_fail(s, "get a recording");
}

static int rec_rows(cc_store *s, sqlite3_stmt *st, cc_store_recording **out, int *n, int max)
{
    cc_store_recording *a = NULL;
    int len = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW && len < max) {
        cc_store_recording *na = realloc(a, (size_t)(len + 1) * sizeof *a);
        if (!na) {
            sqlite3_reset(st);
            free(a);
            return CC_ENOMEM;
        }
        a = na;
        read_recording(st, &a[len++]);
    }
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        free(a);
        return db_fail(s, "list recordings");
    }
    *out = a;
    *n = len;
    return 0;
}

int cc_store_recording_list(cc_store *s, int64_t teacher_id, cc_store_recording **out, int *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = q(s, Q_REC_LIST);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, teacher_id);
    sqlite3_bind_int(st, 2, CC_STORE_RECORDINGS_MAX);
    return rec_rows(s, st, out, n, CC_STORE_RECORDINGS_MAX);
}

int cc_store_recording_unfinished(cc_store *s, cc_store_recording **out, int *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = q(s, Q_REC_UNFINISHED);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int(st, 1, CC_STORE_RECORDINGS_MAX);
    return rec_rows(s, st, out, n, CC_STORE_RECORDINGS_MAX);
}

int cc_store_recording_delete(cc_store *s, int64_t teacher_id, int64_t id)
{
    sqlite3_stmt *st = q(s, Q_REC_DELETE);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, teacher_id);
    int rc = run(s, st, "delete a recording");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = CC_ENOTFOUND;
    return rc;
}

int cc_store_recording_bytes(cc_store *s, int64_t teacher_id, int64_t *total)
{
    *total = 0;
    sqlite3_stmt *st = q(s, Q_REC_BYTES);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, teacher_id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *total = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return step == SQLITE_ROW ? 0 : db_fail(s, "sum recordings");
}

int cc_store_teacher_record_default(cc_store *s, int64_t id, int *on)
{
    *on = 0;
    sqlite3_stmt *st = q(s, Q_TEACHER_REC_DEFAULT);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *on = sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    if (step == SQLITE_ROW)
        return 0;
    return step == SQLITE_DONE ? CC_ENOTFOUND : db_fail(s, "read record_default");
}

int cc_store_teacher_set_record_default(cc_store *s, int64_t id, int on)
{
    sqlite3_stmt *st = q(s, Q_TEACHER_SET_REC_DEFAULT);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int(st, 1, on ? 1 : 0);
    sqlite3_bind_int64(st, 2, id);
    int rc = run(s, st, "set record_default");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = CC_ENOTFOUND;
    return rc;
}
