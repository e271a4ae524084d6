/* Unit tests for src/state/store.c (teacher accounts and sessions in
 * SQLite) and src/state/pwhash.c (scrypt strings), in a fresh temporary
 * directory, with a manual clock for sessions. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cc_test.h"
#include "classcast/err.h"
#include "classcast/paths.h"
#include "classcast/pwhash.h"
#include "classcast/store.h"

#define T0 ((int64_t)1767225600) /* 2026-01-01T00:00:00Z */
#define HOUR 3600
#define DAY (24 * HOUR)

static char g_dir[64];

static void path_in(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_dir, name);
}

/* Raw SQL on the database file, for checks the API does not offer. */
static int sql_int(const char *path, const char *query)
{
    sqlite3 *db = NULL;
    int v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, query, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

static void sql_exec(const char *path, const char *text)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) == SQLITE_OK)
        sqlite3_exec(db, text, NULL, NULL, NULL);
    sqlite3_close(db);
}

static void test_migrations(void)
{
    char dir[128], db[160];
    path_in(dir, sizeof dir, "state/a/b");
    snprintf(db, sizeof db, "%s/%s", dir, CC_STORE_FILE);
    cc_store *s = NULL;
    char err[256];
    /* From nothing: the directory (0700), the file (0600), every migration. */
    CC_CHECK_EQ(cc_store_open(&s, dir, err, sizeof err), 0);
    if (!s)
        return;
    CC_CHECK_EQ(cc_store_version(s), CC_STORE_SCHEMA_VERSION);
    struct stat st;
    CC_CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    CC_CHECK(stat(db, &st) == 0 && (st.st_mode & 0777) == 0600);
    CC_CHECK_EQ(cc_store_teacher_add(s, "lan", "Cô Lan", "correct horse battery", 0, T0, NULL), 0);
    cc_store_close(s);
    CC_CHECK_EQ(sql_int(db, "PRAGMA user_version"), CC_STORE_SCHEMA_VERSION);
    CC_CHECK_EQ(sql_int(db, "SELECT count(*) FROM teachers"), 1);
    /* WAL mode sticks to the file. */
    sqlite3 *raw = NULL;
    sqlite3_open(db, &raw);
    sqlite3_stmt *q = NULL;
    sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &q, NULL);
    CC_CHECK(sqlite3_step(q) == SQLITE_ROW &&
             strcmp((const char *)sqlite3_column_text(q, 0), "wal") == 0);
    sqlite3_finalize(q);
    sqlite3_close(raw);

    /* Opening again runs nothing and keeps the data. */
    CC_CHECK_EQ(cc_store_open(&s, dir, err, sizeof err), 0);
    if (s) {
        CC_CHECK_EQ(cc_store_version(s), CC_STORE_SCHEMA_VERSION);
        cc_teacher t;
        CC_CHECK_EQ(cc_store_teacher_find(s, "lan", &t), 0);
        CC_CHECK(strcmp(t.display_name, "Cô Lan") == 0);
        cc_store_close(s);
    }
    CC_CHECK_EQ(sql_int(db, "SELECT count(*) FROM teachers"), 1);

    /* A database left at version 1 by an older classcast moves to the
     * newest, its rows intact and the new column at its default. */
    char old[160];
    path_in(old, sizeof old, "old.db");
    CC_CHECK_EQ(cc_store_open_file(&s, old, 1, err, sizeof err), 0);
    if (s) {
        CC_CHECK_EQ(cc_store_version(s), 1);
        cc_store_close(s);
    }
    CC_CHECK_EQ(sql_int(old, "PRAGMA user_version"), 1);
    sql_exec(old, "INSERT INTO teachers (name, display_name, pw_hash, is_admin, created_at) "
                  "VALUES ('old', 'Old', 'scrypt$bad', 0, 1)");
    CC_CHECK_EQ(cc_store_open_file(&s, old, 0, err, sizeof err), 0);
    if (s) {
        CC_CHECK_EQ(cc_store_version(s), CC_STORE_SCHEMA_VERSION);
        cc_teacher t;
        CC_CHECK_EQ(cc_store_teacher_find(s, "old", &t), 0);
        CC_CHECK_EQ(t.must_change_pw, 0);
        /* An unreadable hash refuses, never crashes or lets in. */
        CC_CHECK_EQ(cc_store_teacher_verify(s, "old", "anything at all", NULL), CC_EAUTH);
        cc_store_close(s);
    }

    /* A database from a newer classcast is refused, untouched. */
    sql_exec(old, "PRAGMA user_version = 99");
    s = (cc_store *)1;
    CC_CHECK_EQ(cc_store_open_file(&s, old, 0, err, sizeof err), CC_EUNSUPPORTED);
    CC_CHECK(s == NULL);
    CC_CHECK(strstr(err, "99") != NULL);
    CC_CHECK_EQ(sql_int(old, "PRAGMA user_version"), 99);

    /* Not a database at all. */
    char junk[160];
    path_in(junk, sizeof junk, "junk.db");
    FILE *f = fopen(junk, "w");
    if (f) {
        fputs("this is not an SQLite database, just some text that is long enough", f);
        fclose(f);
    }
    CC_CHECK(cc_store_open_file(&s, junk, 0, err, sizeof err) < 0);
    CC_CHECK(s == NULL);
    CC_CHECK(cc_store_open(&s, "", err, sizeof err) == CC_EINVAL);
}

static cc_store *fresh(const char *name)
{
    char path[160], err[256];
    path_in(path, sizeof path, name);
    cc_store *s = NULL;
    if (cc_store_open_file(&s, path, 0, err, sizeof err) != 0)
        fprintf(stderr, "open %s: %s\n", path, err);
    return s;
}

static void test_teachers(void)
{
    cc_store *s = fresh("teachers.db");
    CC_CHECK(s != NULL);
    if (!s)
        return;
    cc_teacher t, u;
    CC_CHECK_EQ(cc_store_teacher_add(s, "lan", "Cô Lan", "mật khẩu dài đủ", CC_TEACHER_ADMIN,
                                     T0, &t), 0);
    CC_CHECK(t.id > 0 && t.is_admin && !t.disabled && !t.must_change_pw);
    CC_CHECK_EQ(t.created_at, T0);
    CC_CHECK(strcmp(t.name, "lan") == 0 && strcmp(t.display_name, "Cô Lan") == 0);
    /* The display name defaults to the name. */
    CC_CHECK_EQ(cc_store_teacher_add(s, "minh", "", "0123456789", CC_TEACHER_MUST_CHANGE, T0,
                                     &u), 0);
    CC_CHECK(strcmp(u.display_name, "minh") == 0 && u.must_change_pw && !u.is_admin);
    /* Names are unique, exactly as typed. */
    CC_CHECK_EQ(cc_store_teacher_add(s, "lan", NULL, "another password", 0, T0, NULL), CC_EEXIST);
    CC_CHECK_EQ(cc_store_teacher_add(s, "Lan", NULL, "another password", 0, T0, NULL), 0);
    /* Refused: short password (10 characters, not bytes), bad names. */
    CC_CHECK_EQ(cc_store_teacher_add(s, "x", NULL, "123456789", 0, T0, NULL), CC_EINVAL);
    CC_CHECK_EQ(cc_store_teacher_add(s, "y", NULL, "ậậậậậậậậậ", 0, T0, NULL), CC_EINVAL);
    CC_CHECK_EQ(cc_store_teacher_add(s, "y", NULL, "ậậậậậậậậậậ", 0, T0, NULL), 0);
    CC_CHECK_EQ(cc_store_teacher_add(s, "", NULL, "long enough pw", 0, T0, NULL), CC_EINVAL);
    CC_CHECK_EQ(cc_store_teacher_add(s, " lan", NULL, "long enough pw", 0, T0, NULL), CC_EINVAL);
    CC_CHECK_EQ(cc_store_teacher_add(s, "a\nb", NULL, "long enough pw", 0, T0, NULL), CC_EINVAL);
    CC_CHECK_EQ(cc_store_teacher_add(s, "\xc3\x28", NULL, "long enough pw", 0, T0, NULL), CC_EINVAL);
    CC_CHECK_EQ(cc_store_teacher_add(s, "ok", "bad\x01", "long enough pw", 0, T0, NULL), CC_EINVAL);
    char longname[80];
    memset(longname, 'a', 65);
    longname[65] = 0;
    CC_CHECK_EQ(cc_store_teacher_add(s, longname, NULL, "long enough pw", 0, T0, NULL), CC_EINVAL);
    longname[64] = 0;
    CC_CHECK_EQ(cc_store_teacher_add(s, longname, NULL, "long enough pw", 0, T0, NULL), 0);
    CC_CHECK(!cc_store_name_ok(NULL));
    CC_CHECK(cc_store_display_name_ok(NULL) && cc_store_display_name_ok(""));

    /* Sign-in checks. */
    CC_CHECK_EQ(cc_store_teacher_verify(s, "lan", "mật khẩu dài đủ", &u), 0);
    CC_CHECK_EQ(u.id, t.id);
    CC_CHECK_EQ(cc_store_teacher_verify(s, "lan", "mật khẩu dài đủ!", NULL), CC_EAUTH);
    CC_CHECK_EQ(cc_store_teacher_verify(s, "lan", "", NULL), CC_EAUTH);
    CC_CHECK_EQ(cc_store_teacher_verify(s, "lan", NULL, NULL), CC_EAUTH);
    CC_CHECK_EQ(cc_store_teacher_verify(s, "Lan", "mật khẩu dài đủ", NULL), CC_EAUTH);
    CC_CHECK_EQ(cc_store_teacher_verify(s, "nobody", "mật khẩu dài đủ", NULL), CC_EAUTH);
    CC_CHECK_EQ(cc_store_teacher_verify(s, NULL, "x", NULL), CC_EAUTH);

    /* Disabled: the right password says so, a wrong one does not. */
    CC_CHECK_EQ(cc_store_teacher_set_disabled(s, t.id, 1), 0);
    CC_CHECK_EQ(cc_store_teacher_verify(s, "lan", "mật khẩu dài đủ", NULL), CC_ECLOSED);
    CC_CHECK_EQ(cc_store_teacher_verify(s, "lan", "wrong password", NULL), CC_EAUTH);
    int admins = -1;
    CC_CHECK_EQ(cc_store_teacher_count(s, &admins), 5);
    CC_CHECK_EQ(admins, 0);
    CC_CHECK_EQ(cc_store_teacher_set_disabled(s, t.id, 0), 0);
    CC_CHECK_EQ(cc_store_teacher_count(s, &admins), 5);
    CC_CHECK_EQ(admins, 1);
    CC_CHECK_EQ(cc_store_teacher_set_disabled(s, 9999, 1), CC_ENOTFOUND);

    /* New password: the old one stops working, must_change as asked. */
    CC_CHECK_EQ(cc_store_teacher_set_password(s, t.id, "short", 0, NULL), CC_EINVAL);
    CC_CHECK_EQ(cc_store_teacher_set_password(s, t.id, "brand new password", 1, NULL), 0);
    CC_CHECK_EQ(cc_store_teacher_verify(s, "lan", "mật khẩu dài đủ", NULL), CC_EAUTH);
    CC_CHECK_EQ(cc_store_teacher_verify(s, "lan", "brand new password", &u), 0);
    CC_CHECK_EQ(u.must_change_pw, 1);
    CC_CHECK_EQ(cc_store_teacher_set_password(s, 9999, "brand new password", 0, NULL),
                CC_ENOTFOUND);

    /* The list, by name. */
    cc_teacher *all = NULL;
    int n = 0;
    CC_CHECK_EQ(cc_store_teacher_list(s, &all, &n), 0);
    CC_CHECK_EQ(n, 5);
    for (int i = 1; i < n && all; i++)
        CC_CHECK(strcmp(all[i - 1].name, all[i].name) < 0);
    free(all);
    CC_CHECK_EQ(cc_store_teacher_get(s, t.id, &u), 0);
    CC_CHECK(strcmp(u.name, "lan") == 0);
    CC_CHECK_EQ(cc_store_teacher_get(s, 424242, &u), CC_ENOTFOUND);
    cc_store_close(s);
}

static void test_injection_names(void)
{
    cc_store *s = fresh("inject.db");
    CC_CHECK(s != NULL);
    if (!s)
        return;
    static const char *const names[] = {
        "Robert'); DROP TABLE teachers;--",
        "' OR '1'='1",
        "\" OR 1=1 --",
        "x%' UNION SELECT pw_hash FROM teachers --",
        "a;b`c\\d",
        "%_*?",
    };
    const int n = (int)(sizeof names / sizeof names[0]);
    for (int i = 0; i < n; i++)
        CC_CHECK_EQ(cc_store_teacher_add(s, names[i], names[(i + 1) % n], "long enough password",
                                         0, T0, NULL), 0);
    /* All there, each stored and found verbatim; nothing else matched. */
    CC_CHECK_EQ(cc_store_teacher_count(s, NULL), n);
    for (int i = 0; i < n; i++) {
        cc_teacher t;
        CC_CHECK_EQ(cc_store_teacher_find(s, names[i], &t), 0);
        CC_CHECK(strcmp(t.name, names[i]) == 0);
        CC_CHECK(strcmp(t.display_name, names[(i + 1) % n]) == 0);
        CC_CHECK_EQ(cc_store_teacher_verify(s, names[i], "long enough password", NULL), 0);
    }
    CC_CHECK_EQ(cc_store_teacher_find(s, "%", NULL), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_store_teacher_find(s, "Robert", NULL), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_store_teacher_verify(s, "' OR '1'='1' --", "long enough password", NULL),
                CC_EAUTH);
    cc_store_close(s);
}

static void test_sessions(void)
{
    cc_store *s = fresh("sessions.db");
    CC_CHECK(s != NULL);
    if (!s)
        return;
    cc_teacher lan, minh, t;
    CC_CHECK_EQ(cc_store_teacher_add(s, "lan", "Cô Lan", "long enough password", 0, T0, &lan), 0);
    CC_CHECK_EQ(cc_store_teacher_add(s, "minh", "", "long enough password", 0, T0, &minh), 0);
    char tok[CC_STORE_TOKEN_CAP], tok2[CC_STORE_TOKEN_CAP], tok3[CC_STORE_TOKEN_CAP];
    int64_t exp = 0;
    CC_CHECK_EQ(cc_store_session_new(s, lan.id, T0, tok, &exp), 0);
    CC_CHECK_EQ(strlen(tok), CC_STORE_TOKEN_LEN);
    CC_CHECK_EQ(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                CC_STORE_TOKEN_LEN);
    CC_CHECK_EQ(exp, T0 + 12 * HOUR);
    CC_CHECK_EQ(cc_store_session_new(s, lan.id, T0, tok2, NULL), 0);
    CC_CHECK(strcmp(tok, tok2) != 0);

    /* Only the SHA-256 of a token is stored, never the token. */
    char db[160];
    path_in(db, sizeof db, "sessions.db");
    CC_CHECK_EQ(sql_int(db, "SELECT count(*) FROM sessions WHERE length(token_hash) = 32"), 2);
    CC_CHECK_EQ(sql_int(db, "SELECT count(*) FROM sessions WHERE typeof(token_hash) <> 'blob'"), 0);

    /* Lookup finds the teacher. */
    CC_CHECK_EQ(cc_store_session_check(s, tok, T0 + 10, &t, &exp), 0);
    CC_CHECK_EQ(t.id, lan.id);
    CC_CHECK(strcmp(t.display_name, "Cô Lan") == 0);
    /* Malformed tokens: not found, no crash. */
    CC_CHECK_EQ(cc_store_session_check(s, NULL, T0, &t, NULL), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_store_session_check(s, "", T0, &t, NULL), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_store_session_check(s, "short", T0, &t, NULL), CC_ENOTFOUND);
    char bad[CC_STORE_TOKEN_CAP];
    memcpy(bad, tok, sizeof bad);
    bad[5] = bad[5] == 'A' ? 'B' : 'A';
    CC_CHECK_EQ(cc_store_session_check(s, bad, T0, &t, NULL), CC_ENOTFOUND);
    bad[5] = '\'';
    CC_CHECK_EQ(cc_store_session_check(s, bad, T0, &t, NULL), CC_ENOTFOUND);

    /* Sliding: used 11 h in, it lasts until 23 h; unused, it ends at 12 h
     * after the last use. */
    CC_CHECK_EQ(cc_store_session_check(s, tok, T0 + 11 * HOUR, &t, &exp), 0);
    CC_CHECK_EQ(exp, T0 + 23 * HOUR);
    CC_CHECK_EQ(cc_store_session_check(s, tok, T0 + 11 * HOUR + 30, &t, &exp), 0);
    CC_CHECK_EQ(exp, T0 + 23 * HOUR); /* moves by a minute or more only */
    CC_CHECK_EQ(cc_store_session_check(s, tok, T0 + 23 * HOUR - 1, &t, &exp), 0);
    /* The other session was not used: gone at 12 h, and deleted. */
    CC_CHECK_EQ(cc_store_session_check(s, tok2, T0 + 12 * HOUR, &t, NULL), CC_ENOTFOUND);
    CC_CHECK_EQ(sql_int(db, "SELECT count(*) FROM sessions"), 1);

    /* Hard cap: used every 6 hours, a session still ends 7 days after
     * sign-in. */
    int64_t now = T0 + 23 * HOUR - 1;
    for (; now < T0 + 7 * DAY - HOUR; now += 6 * HOUR)
        CC_CHECK_EQ(cc_store_session_check(s, tok, now, &t, &exp), 0);
    CC_CHECK_EQ(exp, T0 + 7 * DAY);
    CC_CHECK_EQ(cc_store_session_check(s, tok, T0 + 7 * DAY - 1, &t, NULL), 0);
    CC_CHECK_EQ(cc_store_session_check(s, tok, T0 + 7 * DAY, &t, NULL), CC_ENOTFOUND);

    /* Sign-out deletes; a second sign-out is harmless. */
    now = T0 + 8 * DAY;
    CC_CHECK_EQ(cc_store_session_new(s, lan.id, now, tok, NULL), 0);
    CC_CHECK_EQ(cc_store_session_check(s, tok, now, &t, NULL), 0);
    CC_CHECK_EQ(cc_store_session_end(s, tok), 0);
    CC_CHECK_EQ(cc_store_session_check(s, tok, now, &t, NULL), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_store_session_end(s, tok), 0);
    CC_CHECK_EQ(cc_store_session_end(s, "garbage"), 0);

    /* Disabling ends every session of that teacher, not others'. */
    CC_CHECK_EQ(cc_store_session_new(s, lan.id, now, tok, NULL), 0);
    CC_CHECK_EQ(cc_store_session_new(s, minh.id, now, tok2, NULL), 0);
    CC_CHECK_EQ(cc_store_teacher_set_disabled(s, lan.id, 1), 0);
    CC_CHECK_EQ(cc_store_session_check(s, tok, now, &t, NULL), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_store_session_check(s, tok2, now, &t, NULL), 0);
    CC_CHECK_EQ(cc_store_teacher_set_disabled(s, lan.id, 0), 0);
    CC_CHECK_EQ(cc_store_session_check(s, tok, now, &t, NULL), CC_ENOTFOUND);

    /* A new password ends the other sessions, keeps the one that asked. */
    CC_CHECK_EQ(cc_store_session_new(s, minh.id, now, tok3, NULL), 0);
    CC_CHECK_EQ(cc_store_session_count(s, minh.id, now), 2);
    CC_CHECK_EQ(cc_store_teacher_set_password(s, minh.id, "changed password", 0, tok3), 0);
    CC_CHECK_EQ(cc_store_session_check(s, tok2, now, &t, NULL), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_store_session_check(s, tok3, now, &t, NULL), 0);
    CC_CHECK_EQ(cc_store_session_count(s, minh.id, now), 1);

    /* At most CC_STORE_SESSIONS_PER_TEACHER per teacher: the oldest go. */
    for (int i = 0; i < CC_STORE_SESSIONS_PER_TEACHER + 5; i++)
        CC_CHECK_EQ(cc_store_session_new(s, lan.id, now + 1 + i, tok, NULL), 0);
    CC_CHECK_EQ(cc_store_session_count(s, lan.id, now), CC_STORE_SESSIONS_PER_TEACHER);
    CC_CHECK_EQ(cc_store_session_check(s, tok, now + 100, &t, NULL), 0); /* the newest */

    /* Purge removes only what has expired. */
    CC_CHECK_EQ(cc_store_session_purge(s, now), 0);
    CC_CHECK_EQ(cc_store_session_purge(s, now + 100 + 13 * HOUR),
                CC_STORE_SESSIONS_PER_TEACHER + 1);
    CC_CHECK_EQ(sql_int(db, "SELECT count(*) FROM sessions"), 0);
    cc_store_close(s);
}

static void test_pwhash_strings(void)
{
    char h[CC_PWHASH_CAP], h2[CC_PWHASH_CAP];
    /* The default parameters, in the documented shape. */
    CC_CHECK_EQ(cc_pwhash_hash("correct horse", h, sizeof h), 0);
    CC_CHECK(strncmp(h, "scrypt$15$8$1$", 14) == 0);
    CC_CHECK_EQ(strlen(h), 14 + 24 + 1 + 44);
    cc_pwhash_parsed p;
    CC_CHECK_EQ(cc_pwhash_parse(h, &p), 0);
    CC_CHECK(p.log2_n == 15 && p.r == 8 && p.p == 1);
    CC_CHECK_EQ(cc_pwhash_verify(h, "correct horse"), 1);
    CC_CHECK_EQ(cc_pwhash_verify(h, "correct horsE"), 0);
    CC_CHECK_EQ(cc_pwhash_outdated(h), 0);
    /* A fresh salt each time. */
    CC_CHECK_EQ(cc_pwhash_hash("correct horse", h2, sizeof h2), 0);
    CC_CHECK(strcmp(h, h2) != 0);
    CC_CHECK_EQ(cc_pwhash_hash("x", h2, 10), CC_ENOSPC);

    /* An independent implementation: Python's hashlib.scrypt (which gives
     * RFC 7914 section 12's vectors) with the RFC's second parameter set
     * (P "password", N 1024, r 8, p 16) and a 16-byte salt. */
    static const char vec[] = "scrypt$10$8$16$Y2xhc3NjYXN0LXNhbHQxNg==$"
                              "25MqZrs1zI3zrGFuJ3gUHMT1KIszauvQtFJpP+Gfy8Q=";
    CC_CHECK_EQ(cc_pwhash_verify(vec, "password"), 1);
    CC_CHECK_EQ(cc_pwhash_verify(vec, "passwore"), 0);
    CC_CHECK_EQ(cc_pwhash_parse(vec, &p), 0);
    CC_CHECK(p.log2_n == 10 && p.r == 8 && p.p == 16);
    CC_CHECK_MEM(p.salt, "classcast-salt16", 16);
    /* Cheap parameters for the rest. */
    CC_CHECK_EQ(cc_pwhash_hash_params("pw", 4, 1, 1, h2, sizeof h2), 0);
    CC_CHECK_EQ(cc_pwhash_verify(h2, "pw"), 1);
    CC_CHECK_EQ(cc_pwhash_outdated(h2), 1);
    CC_CHECK_EQ(cc_pwhash_hash_params("pw", 0, 1, 1, h2, sizeof h2), CC_EINVAL);
    CC_CHECK_EQ(cc_pwhash_hash_params("pw", 21, 1, 1, h2, sizeof h2), CC_EINVAL);
    CC_CHECK_EQ(cc_pwhash_hash_params("pw", 20, 8, 1, h2, sizeof h2), CC_EINVAL); /* 1 GiB */

    /* Bad strings: refused, never a crash, never a match. */
    char mod[CC_PWHASH_CAP + 8];
    static const char *const bad[] = {
        "", "scrypt", "scrypt$", "scrypt$$$$$", "scrypt$15$8$1$", "scrypt$15$8$1$$",
        "bcrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$015$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$-5$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$99$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$999$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$15$0$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$15$8$0$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$",
        "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=x",
        "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAA!!==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        /* non-canonical: the unused bits of the last character are set */
        "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAB==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=",
        "scrypt$15$8$1$ AAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CC_CHECK_EQ(cc_pwhash_parse(bad[i], &p), CC_EINVAL);
        CC_CHECK_EQ(cc_pwhash_verify(bad[i], "anything"), CC_EINVAL);
        CC_CHECK_EQ(cc_pwhash_outdated(bad[i]), 1);
    }
    CC_CHECK_EQ(cc_pwhash_parse(NULL, &p), CC_EINVAL);
    CC_CHECK_EQ(cc_pwhash_verify(NULL, "x"), CC_EINVAL);
    /* The well-formed zero string parses (and matches nothing). */
    CC_CHECK_EQ(cc_pwhash_parse("scrypt$4$1$1$AAAAAAAAAAAAAAAAAAAAAA==$"
                                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", &p), 0);
    /* Every prefix of a good string and every one-character change. */
    CC_CHECK_EQ(cc_pwhash_hash_params("pw", 4, 1, 1, h, sizeof h), 0);
    size_t len = strlen(h);
    for (size_t i = 0; i < len; i++) {
        memcpy(mod, h, i);
        mod[i] = 0;
        CC_CHECK_EQ(cc_pwhash_parse(mod, &p), CC_EINVAL);
    }
    int matches = 0;
    for (size_t i = 0; i < len; i++) {
        memcpy(mod, h, len + 1);
        mod[i] = mod[i] == '$' ? 'A' : '$';
        if (cc_pwhash_verify(mod, "pw") == 1)
            matches++;
    }
    CC_CHECK_EQ(matches, 0);

    /* Policy. */
    CC_CHECK_EQ(cc_pwhash_policy(NULL), CC_EINVAL);
    CC_CHECK_EQ(cc_pwhash_policy("123456789"), CC_EINVAL);
    CC_CHECK_EQ(cc_pwhash_policy("1234567890"), 0);
    CC_CHECK_EQ(cc_pwhash_policy("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5"), CC_EINVAL);
    char huge[CC_PWHASH_MAX_BYTES + 2];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = 0;
    CC_CHECK_EQ(cc_pwhash_policy(huge), CC_EINVAL);

    /* Generated passwords: the alphabet, the length, all different. */
    char g1[17], g2[17];
    CC_CHECK_EQ(cc_pwhash_generate(g1, 16), 0);
    CC_CHECK_EQ(cc_pwhash_generate(g2, 16), 0);
    CC_CHECK_EQ(strlen(g1), 16);
    CC_CHECK_EQ(strspn(g1, "abcdefghijkmnpqrstuvwxyz23456789"), 16);
    CC_CHECK(strcmp(g1, g2) != 0);
    CC_CHECK_EQ(cc_pwhash_policy(g1), 0);
    char g3[80];
    CC_CHECK_EQ(cc_pwhash_generate(g3, 65), CC_EINVAL);
}

static void test_paths(void)
{
    char out[CC_PATHS_MAX];
    const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char *sx = x ? strdup(x) : NULL, *sh = home ? strdup(home) : NULL;
    setenv("XDG_STATE_HOME", "/srv/state", 1);
    CC_CHECK_EQ(cc_paths_state_dir(out, sizeof out), 0);
    CC_CHECK(strcmp(out, "/srv/state/classcast") == 0);
    setenv("XDG_STATE_HOME", "relative/ignored", 1);
    setenv("HOME", "/home/lan", 1);
    CC_CHECK_EQ(cc_paths_state_dir(out, sizeof out), 0);
    CC_CHECK(strcmp(out, "/home/lan/.local/state/classcast") == 0);
    CC_CHECK_EQ(cc_paths_state_dir(out, 10), CC_ENOSPC);
    unsetenv("XDG_STATE_HOME");
    unsetenv("HOME");
    int rc = cc_paths_state_dir(out, sizeof out);
    if (geteuid() == 0) {
        CC_CHECK_EQ(rc, 0);
        CC_CHECK(strcmp(out, "/var/lib/classcast") == 0);
    } else {
        CC_CHECK_EQ(rc, CC_ENOTFOUND);
    }
    if (sx) setenv("XDG_STATE_HOME", sx, 1);
    if (sh) setenv("HOME", sh, 1);
    free(sx);
    free(sh);
    /* A file where the directory should be. */
    char f[160];
    path_in(f, sizeof f, "plainfile");
    int fd = open(f, O_CREAT | O_WRONLY, 0600);
    if (fd >= 0)
        close(fd);
    CC_CHECK_EQ(cc_paths_make_private_dir(f), CC_EIO);
    CC_CHECK_EQ(cc_paths_make_private_dir(""), CC_EINVAL);
    CC_CHECK_EQ(cc_paths_make_private_dir(NULL), CC_EINVAL);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/cc-test-store-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    CC_RUN(test_migrations);
    CC_RUN(test_teachers);
    CC_RUN(test_injection_names);
    CC_RUN(test_sessions);
    CC_RUN(test_pwhash_strings);
    CC_RUN(test_paths);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    CC_TEST_DONE();
}
