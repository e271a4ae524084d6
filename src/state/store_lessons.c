/* Lessons in SQLite (docs/state.md): lessons, members, attendance, chat and
 * invites as the server keeps them, and the history a teacher reads back. */
#include "store_priv.h"

/* ---- lessons (docs/state.md) ---------------------------------------------- */

int cc_store_set_server_mode(cc_store *s)
{
    sqlite3_busy_timeout(s->db, CC_STORE_SERVER_BUSY_MS);
    return store_exec(s, "PRAGMA synchronous = NORMAL", "synchronous");
}

int cc_store_begin(cc_store *s) { return store_exec(s, "BEGIN", "begin"); }
int cc_store_commit(cc_store *s) { return store_exec(s, "COMMIT", "commit"); }

void cc_store_rollback(cc_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        store_exec(s, "ROLLBACK", "rollback");
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
    sqlite3_stmt *st = store_q(s, qid);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, lesson_id);
    int rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : store_db_fail(s, "count");
    sqlite3_reset(st);
    return rc;
}

int cc_store_lesson_add(cc_store *s, cc_store_lesson *l)
{
    if (!l->code[0])
        return CC_EINVAL;
    sqlite3_stmt *st = store_q(s, Q_LESSON_ADD);
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
    int rc = store_run(s, st, "add a lesson");
    if (rc == 0)
        l->id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int cc_store_lesson_update(cc_store *s, const cc_store_lesson *l)
{
    sqlite3_stmt *st = store_q(s, Q_LESSON_UPDATE);
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
    int rc = store_run(s, st, "update a lesson");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = CC_ENOTFOUND;
    return rc;
}

int cc_store_lesson_heartbeat(cc_store *s, int64_t now_ms)
{
    sqlite3_stmt *st = store_q(s, Q_LESSON_HEARTBEAT);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, now_ms);
    return store_run(s, st, "heartbeat");
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
    sqlite3_stmt *st = store_q(s, Q_LESSON_LOAD);
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
        return store_db_fail(s, "load lessons");
    }
    *out = a;
    *n = len;
    return 0;
}

int cc_store_member_put(cc_store *s, int64_t lesson_id, const cc_store_member *m)
{
    sqlite3_stmt *st = store_q(s, Q_MEMBER_PUT);
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
    return store_run(s, st, "write a member");
}

int cc_store_member_load(cc_store *s, int64_t lesson_id, int max, cc_store_member **out,
                         int *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = store_q(s, Q_MEMBER_LOAD);
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
        return store_db_fail(s, "load members");
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
    sqlite3_stmt *st = store_q(s, Q_ATTEND_OPEN);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, lesson_id);
    sqlite3_bind_int64(st, 2, member_id);
    sqlite3_bind_int64(st, 3, joined_ms);
    int rc = store_run(s, st, "open an attendance row");
    if (rc == 0 && row)
        *row = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int cc_store_attend_update(cc_store *s, const cc_store_attend *a)
{
    sqlite3_stmt *st = store_q(s, Q_ATTEND_UPDATE);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, a->row);
    sqlite3_bind_int64(st, 2, a->watching_ms);
    sqlite3_bind_int64(st, 3, a->weak_ms);
    sqlite3_bind_int64(st, 4, a->watch_since_ms);
    sqlite3_bind_int64(st, 5, a->weak_since_ms);
    return store_run(s, st, "update an attendance row");
}

static int64_t stretch(int64_t since, int64_t until)
{
    return since > 0 && until > since ? until - since : 0;
}

int cc_store_attend_close(cc_store *s, const cc_store_attend *a, int64_t left_ms)
{
    sqlite3_stmt *st = store_q(s, Q_ATTEND_CLOSE);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, a->row);
    sqlite3_bind_int64(st, 2, left_ms);
    sqlite3_bind_int64(st, 3, a->watching_ms + stretch(a->watch_since_ms, left_ms));
    sqlite3_bind_int64(st, 4, a->weak_ms + stretch(a->weak_since_ms, left_ms));
    return store_run(s, st, "close an attendance row");
}

int cc_store_attend_close_lesson(cc_store *s, int64_t lesson_id, int64_t at_ms)
{
    sqlite3_stmt *st = store_q(s, Q_ATTEND_CLOSE_LESSON);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, lesson_id);
    sqlite3_bind_int64(st, 2, at_ms);
    int rc = store_run(s, st, "close attendance");
    return rc == 0 ? sqlite3_changes(s->db) : rc;
}

int cc_store_attend_count(cc_store *s, int64_t lesson_id)
{
    return count_of(s, Q_ATTEND_COUNT, lesson_id);
}

int cc_store_chat_add(cc_store *s, int64_t lesson_id, const cc_store_chat *m, int keep)
{
    sqlite3_stmt *st = store_q(s, Q_CHAT_ADD);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, lesson_id);
    sqlite3_bind_text(st, 2, m->member, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, m->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 4, m->role);
    sqlite3_bind_text(st, 5, m->text ? m->text : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, m->at_ms);
    int rc = store_run(s, st, "add a chat message");
    if (rc == 0 && (st = store_q(s, Q_CHAT_TRIM)) != NULL) {
        sqlite3_bind_int64(st, 1, lesson_id);
        sqlite3_bind_int(st, 2, keep);
        rc = store_run(s, st, "trim the chat");
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
    sqlite3_stmt *st = store_q(s, Q_CHAT_LOAD);
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
        rc = store_db_fail(s, "load the chat");
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
    sqlite3_stmt *st = store_q(s, Q_CHAT_CLEAR);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, lesson_id);
    return store_run(s, st, "clear the chat");
}

int cc_store_invite_put(cc_store *s, int64_t lesson_id, const cc_store_invite *iv)
{
    sqlite3_stmt *st = store_q(s, Q_INVITE_PUT);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, lesson_id);
    sqlite3_bind_int(st, 2, iv->idx);
    sqlite3_bind_text(st, 3, iv->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, iv->label, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, iv->revoked ? "" : iv->token, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 6, iv->uses);
    sqlite3_bind_int(st, 7, iv->revoked ? 1 : 0);
    return store_run(s, st, "write an invite");
}

int cc_store_invite_load(cc_store *s, int64_t lesson_id, cc_store_invite **out, int *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = store_q(s, Q_INVITE_LOAD);
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
        return store_db_fail(s, "load invites");
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
    sqlite3_stmt *st = store_q(s, Q_HISTORY_LESSONS);
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
        return store_db_fail(s, "list lessons");
    }
    *out = a;
    *n = len;
    return 0;
}

static int attendance_rows(cc_store *s, int64_t lesson_id, cc_store_attendance **out, int *n)
{
    sqlite3_stmt *st = store_q(s, Q_HISTORY_ATTEND);
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
        return store_db_fail(s, "list attendance");
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
    sqlite3_stmt *st = store_q(s, Q_HISTORY_FIND);
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
        return step == SQLITE_DONE ? CC_ENOTFOUND : store_db_fail(s, "find a lesson");
    if (lesson)
        *lesson = info;
    return attendance_rows(s, info.id, out, n);
}
