/* The classcast database in SQLite; see include/classcast/store.h. This
 * file opens it, migrates its schema and holds its statements: every one is
 * a constant with `?` parameters, prepared once and cached: input only ever
 * reaches SQLite through sqlite3_bind_*. Teachers and sessions are in
 * store_accounts.c, lessons and their history in store_lessons.c,
 * recordings in store_recordings.c; what they share is in store_priv.h. */
#include "store_priv.h"

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

/* How long a writer waits for another (the CLI while the server runs). */
#define BUSY_TIMEOUT_MS 5000

int store_db_fail(cc_store *s, const char *what)
{
    CC_WARN("store", "%s: %s", what, sqlite3_errmsg(s->db));
    return CC_EIO;
}

/* The cached statement, reset and unbound. NULL if it cannot be prepared
 * (logged). */
sqlite3_stmt *store_q(cc_store *s, int id)
{
    sqlite3_stmt *st = s->stmt[id];
    if (!st) {
        if (sqlite3_prepare_v3(s->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
            SQLITE_OK) {
            store_db_fail(s, "prepare");
            return NULL;
        }
        s->stmt[id] = st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

/* Run a statement that returns no rows. */
int store_run(cc_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return store_db_fail(s, what);
    return 0;
}

int store_exec(cc_store *s, const char *text, const char *what)
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
        return store_db_fail(s, "read the schema version");
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
        if (store_exec(s, "BEGIN IMMEDIATE", "begin migration") != 0) {
            snprintf(err, errcap, "cannot lock the database: %s", sqlite3_errmsg(s->db));
            return CC_EIO;
        }
        int v = 0;
        if (user_version(s, &v) != 0) {
            store_exec(s, "ROLLBACK", "rollback");
            snprintf(err, errcap, "cannot read the schema version");
            return CC_EIO;
        }
        if (v > N_MIGRATIONS) {
            store_exec(s, "ROLLBACK", "rollback");
            snprintf(err, errcap,
                     "the database has schema version %d, newer than this classcast knows (%d): "
                     "use a newer classcast",
                     v, N_MIGRATIONS);
            return CC_EUNSUPPORTED;
        }
        if (v >= target) {
            store_exec(s, "COMMIT", "commit");
            s->version = v;
            return 0;
        }
        char what[48];
        snprintf(what, sizeof what, "migration %d", v + 1);
        if (store_exec(s, migrations[v], what) != 0 ||
            store_exec(s, "COMMIT", "commit migration") != 0) {
            snprintf(err, errcap, "migration %d failed: %s", v + 1, sqlite3_errmsg(s->db));
            store_exec(s, "ROLLBACK", "rollback");
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
    if (store_exec(s, "PRAGMA journal_mode = WAL", "WAL mode") != 0 ||
        store_exec(s, "PRAGMA synchronous = FULL", "synchronous") != 0 ||
        store_exec(s, "PRAGMA foreign_keys = ON", "foreign keys") != 0) {
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
