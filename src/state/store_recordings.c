/* Lesson recordings in SQLite (docs/recording.md): one row per WebM file,
 * and whether a teacher has every lesson recorded. */
#include "store_priv.h"

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
    if (store_exec(s, "SAVEPOINT rec_add", "begin") != 0)
        return CC_EIO;
    int rc = CC_EIO;
    sqlite3_stmt *st = store_q(s, Q_REC_ADD);
    if (st) {
        sqlite3_bind_int64(st, 1, r->teacher_id);
        sqlite3_bind_text(st, 2, r->code, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, r->title, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, r->started_ms);
        rc = store_run(s, st, "add a recording");
    }
    int64_t id = rc == 0 ? sqlite3_last_insert_rowid(s->db) : 0;
    if (rc == 0 && (st = store_q(s, Q_REC_NAME)) != NULL) {
        sqlite3_bind_int64(st, 1, id);
        rc = store_run(s, st, "name a recording");
    } else if (rc == 0) {
        rc = CC_EIO;
    }
    if (rc != 0) {
        store_exec(s, "ROLLBACK TO rec_add", "rollback");
        store_exec(s, "RELEASE rec_add", "release");
        return rc;
    }
    if (store_exec(s, "RELEASE rec_add", "commit") != 0)
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
    sqlite3_stmt *st = store_q(s, Q_REC_FINISH);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, rec_states[state], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, ended_ms);
    sqlite3_bind_int64(st, 4, duration_ms);
    sqlite3_bind_int64(st, 5, bytes);
    int rc = store_run(s, st, "finish a recording");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = CC_ENOTFOUND;
    return rc;
}

int cc_store_recording_get(cc_store *s, int64_t id, cc_store_recording *out)
{
    sqlite3_stmt *st = store_q(s, Q_REC_GET);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW && out)
        read_recording(st, out);
    sqlite3_reset(st);
    if (step == SQLITE_ROW)
        return 0;
    return step == SQLITE_DONE ? CC_ENOTFOUND : store_db_fail(s, "get a recording");
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
        return store_db_fail(s, "list recordings");
    }
    *out = a;
    *n = len;
    return 0;
}

int cc_store_recording_list(cc_store *s, int64_t teacher_id, cc_store_recording **out, int *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = store_q(s, Q_REC_LIST);
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
    sqlite3_stmt *st = store_q(s, Q_REC_UNFINISHED);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int(st, 1, CC_STORE_RECORDINGS_MAX);
    return rec_rows(s, st, out, n, CC_STORE_RECORDINGS_MAX);
}

int cc_store_recording_delete(cc_store *s, int64_t teacher_id, int64_t id)
{
    sqlite3_stmt *st = store_q(s, Q_REC_DELETE);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, teacher_id);
    int rc = store_run(s, st, "delete a recording");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = CC_ENOTFOUND;
    return rc;
}

int cc_store_recording_bytes(cc_store *s, int64_t teacher_id, int64_t *total)
{
    *total = 0;
    sqlite3_stmt *st = store_q(s, Q_REC_BYTES);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, teacher_id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *total = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return step == SQLITE_ROW ? 0 : store_db_fail(s, "sum recordings");
}

int cc_store_teacher_record_default(cc_store *s, int64_t id, int *on)
{
    *on = 0;
    sqlite3_stmt *st = store_q(s, Q_TEACHER_REC_DEFAULT);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *on = sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    if (step == SQLITE_ROW)
        return 0;
    return step == SQLITE_DONE ? CC_ENOTFOUND : store_db_fail(s, "read record_default");
}

int cc_store_teacher_set_record_default(cc_store *s, int64_t id, int on)
{
    sqlite3_stmt *st = store_q(s, Q_TEACHER_SET_REC_DEFAULT);
    if (!st)
        return CC_EIO;
    sqlite3_bind_int(st, 1, on ? 1 : 0);
    sqlite3_bind_int64(st, 2, id);
    int rc = store_run(s, st, "set record_default");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = CC_ENOTFOUND;
    return rc;
}
