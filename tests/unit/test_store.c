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

/* ---- lessons (migration 3) ---- */

#define MS ((int64_t)1000)
#define L0 (T0 * MS)

static cc_store_lesson make_lesson(const char *code, int64_t teacher, int64_t created_ms)
{
    cc_store_lesson l;
    memset(&l, 0, sizeof l);
    snprintf(l.code, sizeof l.code, "%s", code);
    snprintf(l.title, sizeof l.title, "Toán lớp 7 – %s", code);
    snprintf(l.teacher_name, sizeof l.teacher_name, "Cô Hạnh");
    l.teacher_id = teacher;
    memset(l.teacher_hash, 0xA1, 32);
    memset(l.viewer_hash, 0xB2, 32);
    l.last_n = 2;
    l.chat_students = 1;
    l.created_ms = created_ms;
    l.heartbeat_ms = created_ms;
    return l;
}

static cc_store_member make_member(uint32_t id, int role, const char *name, int64_t at_ms)
{
    cc_store_member m;
    memset(&m, 0, sizeof m);
    m.id = id;
    m.role = role;
    snprintf(m.name, sizeof m.name, "%s", name);
    m.has_rejoin = role != 0;
    memset(m.rejoin_hash, (int)id, 32);
    m.invite = -1;
    m.first_join_ms = at_ms;
    return m;
}

static void test_lessons(void)
{
    cc_store *s = fresh("lessons.db");
    if (!s)
        return;
    CC_CHECK_EQ(cc_store_set_server_mode(s), 0);
    cc_store_lesson a = make_lesson("482913", 7, L0), b = make_lesson("123456", 7, L0 + 5 * MS);
    b.kind = 1;
    b.waiting_room = 1;
    CC_CHECK_EQ(cc_store_lesson_add(s, &a), 0);
    CC_CHECK_EQ(cc_store_lesson_add(s, &b), 0);
    CC_CHECK(a.id > 0 && b.id > a.id);
    cc_store_lesson bad = make_lesson("", 7, L0);
    CC_CHECK_EQ(cc_store_lesson_add(s, &bad), CC_EINVAL);

    /* Settings and state move; the code, tokens and title stay. */
    a.locked = 1;
    a.last_n = 5;
    a.chat_students = 0;
    a.state = 1;
    a.started_ms = L0 + 60 * MS;
    a.teacher_gone_ms = L0 + 90 * MS;
    CC_CHECK_EQ(cc_store_lesson_update(s, &a), 0);
    cc_store_lesson ghost = a;
    ghost.id = 9999;
    CC_CHECK_EQ(cc_store_lesson_update(s, &ghost), CC_ENOTFOUND);
    b.state = 2;
    b.ended_ms = L0 + 100 * MS;
    CC_CHECK_EQ(cc_store_lesson_update(s, &b), 0);
    CC_CHECK_EQ(cc_store_lesson_heartbeat(s, L0 + 120 * MS), 0);

    /* Loading: the open one, and an ended one only while recent. */
    cc_store_lesson *ls = NULL;
    int n = 0;
    CC_CHECK_EQ(cc_store_lesson_load(s, L0 + 101 * MS, &ls, &n), 0);
    CC_CHECK_EQ(n, 1);
    if (n == 1) {
        CC_CHECK(strcmp(ls[0].code, "482913") == 0);
        CC_CHECK(strcmp(ls[0].title, "Toán lớp 7 – 482913") == 0);
        CC_CHECK(strcmp(ls[0].teacher_name, "Cô Hạnh") == 0);
        CC_CHECK_EQ(ls[0].teacher_id, 7);
        CC_CHECK_EQ(ls[0].locked, 1);
        CC_CHECK_EQ(ls[0].last_n, 5);
        CC_CHECK_EQ(ls[0].chat_students, 0);
        CC_CHECK_EQ(ls[0].state, 1);
        CC_CHECK_EQ(ls[0].started_ms, L0 + 60 * MS);
        CC_CHECK_EQ(ls[0].teacher_gone_ms, L0 + 90 * MS);
        /* The heartbeat reached the open lesson only. */
        CC_CHECK_EQ(ls[0].heartbeat_ms, L0 + 120 * MS);
        CC_CHECK_MEM(ls[0].teacher_hash, a.teacher_hash, 32);
        CC_CHECK_MEM(ls[0].viewer_hash, a.viewer_hash, 32);
    }
    free(ls);
    CC_CHECK_EQ(cc_store_lesson_load(s, L0 + 100 * MS, &ls, &n), 0);
    CC_CHECK_EQ(n, 2);
    if (n == 2) {
        CC_CHECK_EQ(ls[1].kind, 1);
        CC_CHECK_EQ(ls[1].waiting_room, 1);
        CC_CHECK_EQ(ls[1].heartbeat_ms, L0 + 5 * MS);
    }
    free(ls);

    /* Members: insert, then update in place (the first join stays). */
    cc_store_member t = make_member(1, 0, "Cô Hạnh", L0);
    cc_store_member an = make_member(2, 1, "Nguyễn Văn An", L0 + 10 * MS);
    cc_store_member sc = make_member(3, 2, "THCS Chiềng Sinh", L0 + 11 * MS);
    sc.invite = 0;
    CC_CHECK_EQ(cc_store_member_put(s, a.id, &t), 0);
    CC_CHECK_EQ(cc_store_member_put(s, a.id, &an), 0);
    CC_CHECK_EQ(cc_store_member_put(s, a.id, &sc), 0);
    an.hand = 4;
    an.flags = 0x28;
    an.first_join_ms = L0 + 999 * MS;
    memset(an.rejoin_hash, 0x77, 32);
    CC_CHECK_EQ(cc_store_member_put(s, a.id, &an), 0);
    CC_CHECK_EQ(cc_store_member_count(s, a.id), 3);
    cc_store_member *ms = NULL;
    CC_CHECK_EQ(cc_store_member_load(s, a.id, 10, &ms, &n), 0);
    /* The teacher has no rejoin secret: only the guests come back. */
    CC_CHECK_EQ(n, 2);
    if (n == 2) {
        CC_CHECK_EQ(ms[0].id, 2);
        CC_CHECK(strcmp(ms[0].name, "Nguyễn Văn An") == 0);
        CC_CHECK_EQ(ms[0].hand, 4);
        CC_CHECK_EQ(ms[0].flags, 0x28);
        CC_CHECK_EQ(ms[0].first_join_ms, L0 + 10 * MS);
        unsigned char h[32];
        memset(h, 0x77, 32);
        CC_CHECK_MEM(ms[0].rejoin_hash, h, 32);
        CC_CHECK_EQ(ms[1].id, 3);
        CC_CHECK_EQ(ms[1].role, 2);
        CC_CHECK_EQ(ms[1].invite, 0);
    }
    free(ms);
    /* At most `max`, the newest, oldest first. */
    CC_CHECK_EQ(cc_store_member_load(s, a.id, 1, &ms, &n), 0);
    CC_CHECK(n == 1 && ms[0].id == 3);
    free(ms);
    /* A removed member (no secret any more) stays for the record only. */
    an.has_rejoin = 0;
    CC_CHECK_EQ(cc_store_member_put(s, a.id, &an), 0);
    CC_CHECK_EQ(cc_store_member_load(s, a.id, 10, &ms, &n), 0);
    CC_CHECK(n == 1 && ms[0].id == 3);
    free(ms);
    cc_store_close(s);
}

static void test_attendance(void)
{
    cc_store *s = fresh("attendance.db");
    if (!s)
        return;
    cc_store_lesson a = make_lesson("482913", 7, L0);
    CC_CHECK_EQ(cc_store_lesson_add(s, &a), 0);
    cc_store_member t = make_member(1, 0, "Cô Hạnh", L0);
    cc_store_member an = make_member(2, 1, "An", L0 + 10 * MS);
    cc_store_member binh = make_member(3, 1, "Bình", L0 + 20 * MS);
    CC_CHECK_EQ(cc_store_member_put(s, a.id, &t), 0);
    CC_CHECK_EQ(cc_store_member_put(s, a.id, &an), 0);
    CC_CHECK_EQ(cc_store_member_put(s, a.id, &binh), 0);

    /* An: joins at +10 s, watches from +12 s, weak from +20 s to +30 s,
     * stops watching at +40 s, leaves at +50 s. */
    cc_store_attend ra = {0};
    CC_CHECK_EQ(cc_store_attend_open(s, a.id, 2, L0 + 10 * MS, &ra.row), 0);
    ra.watch_since_ms = L0 + 12 * MS;
    CC_CHECK_EQ(cc_store_attend_update(s, &ra), 0);
    ra.weak_since_ms = L0 + 20 * MS;
    CC_CHECK_EQ(cc_store_attend_update(s, &ra), 0);
    ra.weak_ms = 10 * MS;
    ra.weak_since_ms = 0;
    ra.watching_ms = 28 * MS;
    ra.watch_since_ms = 0;
    CC_CHECK_EQ(cc_store_attend_update(s, &ra), 0);
    CC_CHECK_EQ(cc_store_attend_close(s, &ra, L0 + 50 * MS), 0);
    /* Comes back at +60 s watching at once; leaves at +70.4 s watching. */
    cc_store_attend ra2 = {0};
    CC_CHECK_EQ(cc_store_attend_open(s, a.id, 2, L0 + 60 * MS, &ra2.row), 0);
    ra2.watch_since_ms = L0 + 60 * MS;
    CC_CHECK_EQ(cc_store_attend_close(s, &ra2, L0 + 70 * MS + 400), 0);
    /* Bình: joins at +20 s, watching and weak since +25 s; the server
     * crashes; its last heartbeat was +80 s. */
    cc_store_attend rb = {0};
    CC_CHECK_EQ(cc_store_attend_open(s, a.id, 3, L0 + 20 * MS, &rb.row), 0);
    rb.watch_since_ms = rb.weak_since_ms = L0 + 25 * MS;
    CC_CHECK_EQ(cc_store_attend_update(s, &rb), 0);
    /* The teacher: open at the crash, with no stretch. */
    int64_t rt = 0;
    CC_CHECK_EQ(cc_store_attend_open(s, a.id, 1, L0, &rt), 0);
    CC_CHECK_EQ(cc_store_attend_count(s, a.id), 4);
    CC_CHECK_EQ(cc_store_lesson_heartbeat(s, L0 + 80 * MS), 0);

    /* While open, a row counts up to the last heartbeat. */
    cc_store_attendance *rows = NULL;
    cc_store_lesson_info info;
    int n = 0;
    CC_CHECK_EQ(cc_store_attendance_list(s, 7, "482913", &info, &rows, &n), 0);
    CC_CHECK_EQ(n, 4);
    if (n == 4) {
        /* Join order: the teacher, An, Bình, An again. */
        CC_CHECK(strcmp(rows[0].member, "m1") == 0 && rows[0].role == 0);
        CC_CHECK(strcmp(rows[1].name, "An") == 0);
        CC_CHECK_EQ(rows[1].joined_at, T0 + 10);
        CC_CHECK_EQ(rows[1].left_at, T0 + 50);
        CC_CHECK_EQ(rows[1].watching_s, 28);
        CC_CHECK_EQ(rows[1].weak_s, 10);
        CC_CHECK(strcmp(rows[2].name, "Bình") == 0);
        CC_CHECK_EQ(rows[2].left_at, 0);
        CC_CHECK_EQ(rows[2].watching_s, 55);
        CC_CHECK_EQ(rows[2].weak_s, 55);
        CC_CHECK(strcmp(rows[3].member, "m2") == 0);
        CC_CHECK_EQ(rows[3].watching_s, 10);
        CC_CHECK_EQ(rows[3].left_at, T0 + 70);
    }
    free(rows);
    CC_CHECK(strcmp(info.code, "482913") == 0);
    CC_CHECK_EQ(info.n_members, 2);

    /* After the crash: rows still open close at the last heartbeat. */
    CC_CHECK_EQ(cc_store_attend_close_lesson(s, a.id, L0 + 80 * MS), 2);
    CC_CHECK_EQ(cc_store_attend_close_lesson(s, a.id, L0 + 90 * MS), 0);
    CC_CHECK_EQ(cc_store_attendance_list(s, 7, "482913", NULL, &rows, &n), 0);
    if (n == 4) {
        CC_CHECK_EQ(rows[0].left_at, T0 + 80);
        CC_CHECK_EQ(rows[0].watching_s, 0);
        CC_CHECK_EQ(rows[2].left_at, T0 + 80);
        CC_CHECK_EQ(rows[2].watching_s, 55);
        CC_CHECK_EQ(rows[2].weak_s, 55);
    }
    free(rows);
    /* Another teacher's lesson looks like no lesson. */
    CC_CHECK_EQ(cc_store_attendance_list(s, 8, "482913", NULL, &rows, &n), CC_ENOTFOUND);
    CC_CHECK(rows == NULL && n == 0);
    CC_CHECK_EQ(cc_store_attendance_list(s, 7, "999999", NULL, &rows, &n), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_store_attendance_list(s, 7, "' OR 1=1 --", NULL, &rows, &n), CC_ENOTFOUND);
    cc_store_close(s);
}

static void test_history(void)
{
    cc_store *s = fresh("history.db");
    if (!s)
        return;
    /* Teacher 7: five lessons, one minute apart; teacher 8: one. The code
     * 111111 was used twice by teacher 7 (codes are reused). */
    const char *codes[] = {"111111", "222222", "333333", "111111", "555555"};
    int64_t ids[5];
    for (int i = 0; i < 5; i++) {
        cc_store_lesson l = make_lesson(codes[i], 7, L0 + i * 60 * MS);
        CC_CHECK_EQ(cc_store_lesson_add(s, &l), 0);
        ids[i] = l.id;
    }
    cc_store_lesson other = make_lesson("666666", 8, L0);
    CC_CHECK_EQ(cc_store_lesson_add(s, &other), 0);
    cc_store_member m = make_member(5, 1, "An", L0);
    CC_CHECK_EQ(cc_store_member_put(s, ids[3], &m), 0);
    m.id = 6;
    CC_CHECK_EQ(cc_store_member_put(s, ids[3], &m), 0);

    cc_store_lesson_info *ls = NULL;
    int n = 0;
    CC_CHECK_EQ(cc_store_history_lessons(s, 7, 0, 2, &ls, &n), 0);
    CC_CHECK_EQ(n, 2);
    if (n == 2) {
        CC_CHECK(strcmp(ls[0].code, "555555") == 0);
        CC_CHECK(strcmp(ls[1].code, "111111") == 0);
        CC_CHECK_EQ(ls[1].id, ids[3]);
        CC_CHECK_EQ(ls[1].n_members, 2);
        CC_CHECK_EQ(ls[1].created_at, T0 + 180);
        CC_CHECK(strcmp(ls[1].teacher_name, "Cô Hạnh") == 0);
    }
    free(ls);
    CC_CHECK_EQ(cc_store_history_lessons(s, 7, 4, 10, &ls, &n), 0);
    CC_CHECK(n == 1 && ls[0].id == ids[0]);
    free(ls);
    CC_CHECK_EQ(cc_store_history_lessons(s, 7, 5, 10, &ls, &n), 0);
    CC_CHECK(n == 0 && ls == NULL);
    CC_CHECK_EQ(cc_store_history_lessons(s, 9, 0, 10, &ls, &n), 0);
    CC_CHECK_EQ(n, 0);
    CC_CHECK_EQ(cc_store_history_lessons(s, 7, -1, 10, &ls, &n), CC_EINVAL);
    CC_CHECK_EQ(cc_store_history_lessons(s, 7, 0, 0, &ls, &n), CC_EINVAL);
    CC_CHECK_EQ(cc_store_history_lessons(s, 7, 0, CC_STORE_HISTORY_MAX + 1, &ls, &n), CC_EINVAL);
    /* A code names the newest lesson of that teacher with it. */
    cc_store_lesson_info info;
    cc_store_attendance *rows = NULL;
    CC_CHECK_EQ(cc_store_attendance_list(s, 7, "111111", &info, &rows, &n), 0);
    CC_CHECK_EQ(info.id, ids[3]);
    CC_CHECK_EQ(n, 0);
    free(rows);
    cc_store_close(s);
}

static void test_chat_invites(void)
{
    cc_store *s = fresh("chat.db");
    if (!s)
        return;
    cc_store_lesson a = make_lesson("482913", 7, L0), b = make_lesson("123456", 7, L0);
    CC_CHECK_EQ(cc_store_lesson_add(s, &a), 0);
    CC_CHECK_EQ(cc_store_lesson_add(s, &b), 0);
    /* Keep the newest 3 of a lesson; another lesson's are its own. */
    for (int i = 0; i < 5; i++) {
        char text[64];
        snprintf(text, sizeof text, "tin nhắn %d\n'); DROP TABLE chat; --", i);
        cc_store_chat m = {.role = 1, .text = text, .at_ms = L0 + i};
        snprintf(m.member, sizeof m.member, "m%u", 2u + (unsigned)i % 5u);
        snprintf(m.name, sizeof m.name, "Học sinh %d", i);
        CC_CHECK_EQ(cc_store_chat_add(s, a.id, &m, 3), 0);
    }
    cc_store_chat other = {.member = "m9", .name = "X", .role = 2, .text = "xin chào", .at_ms = 1};
    CC_CHECK_EQ(cc_store_chat_add(s, b.id, &other, 3), 0);
    cc_store_chat *cm = NULL;
    int n = 0;
    CC_CHECK_EQ(cc_store_chat_load(s, a.id, &cm, &n), 0);
    CC_CHECK_EQ(n, 3);
    if (n == 3) {
        CC_CHECK(strcmp(cm[0].member, "m4") == 0);
        CC_CHECK(strncmp(cm[0].text, "tin nhắn 2\n'); DROP", 19) == 0);
        CC_CHECK(strcmp(cm[2].name, "Học sinh 4") == 0);
        CC_CHECK_EQ(cm[2].at_ms, L0 + 4);
        CC_CHECK_EQ(cm[2].role, 1);
    }
    cc_store_chat_free(cm, n);
    CC_CHECK_EQ(cc_store_chat_clear(s, a.id), 0);
    CC_CHECK_EQ(cc_store_chat_load(s, a.id, &cm, &n), 0);
    CC_CHECK_EQ(n, 0);
    cc_store_chat_free(cm, n);
    CC_CHECK_EQ(cc_store_chat_load(s, b.id, &cm, &n), 0);
    CC_CHECK(n == 1 && strcmp(cm[0].text, "xin chào") == 0);
    cc_store_chat_free(cm, n);

    /* Invites: written, updated in place; a revoked one keeps no token. */
    cc_store_invite iv = {.idx = 0, .id = "i1", .label = "THCS Chiềng Sinh", .uses = 0};
    memset(iv.token, 'A', CC_STORE_TOKEN_LEN);
    CC_CHECK_EQ(cc_store_invite_put(s, a.id, &iv), 0);
    cc_store_invite iv2 = iv;
    iv2.idx = 1;
    snprintf(iv2.id, sizeof iv2.id, "i2");
    CC_CHECK_EQ(cc_store_invite_put(s, a.id, &iv2), 0);
    iv.uses = 3;
    CC_CHECK_EQ(cc_store_invite_put(s, a.id, &iv), 0);
    iv2.revoked = 1;
    CC_CHECK_EQ(cc_store_invite_put(s, a.id, &iv2), 0);
    cc_store_invite *ivs = NULL;
    CC_CHECK_EQ(cc_store_invite_load(s, a.id, &ivs, &n), 0);
    CC_CHECK_EQ(n, 2);
    if (n == 2) {
        CC_CHECK_EQ(ivs[0].uses, 3);
        CC_CHECK(strcmp(ivs[0].token, iv.token) == 0);
        CC_CHECK(strcmp(ivs[0].label, "THCS Chiềng Sinh") == 0);
        CC_CHECK_EQ(ivs[1].revoked, 1);
        CC_CHECK(strcmp(ivs[1].id, "i2") == 0);
        CC_CHECK_EQ(ivs[1].token[0], 0);
    }
    free(ivs);
    cc_store_close(s);
}

/* A transaction rolled back leaves nothing; a database another connection
 * holds locked makes a write fail after the short server timeout instead
 * of hanging (checked as an error, not timed). */
static void test_transactions(void)
{
    char path[160];
    path_in(path, sizeof path, "tx.db");
    cc_store *s = fresh("tx.db");
    if (!s)
        return;
    CC_CHECK_EQ(cc_store_set_server_mode(s), 0);
    cc_store_lesson a = make_lesson("482913", 7, L0);
    CC_CHECK_EQ(cc_store_begin(s), 0);
    CC_CHECK_EQ(cc_store_lesson_add(s, &a), 0);
    cc_store_rollback(s);
    cc_store_rollback(s); /* harmless outside a transaction */
    CC_CHECK_EQ(sql_int(path, "SELECT count(*) FROM lessons"), 0);
    CC_CHECK_EQ(cc_store_begin(s), 0);
    CC_CHECK_EQ(cc_store_lesson_add(s, &a), 0);
    CC_CHECK_EQ(cc_store_commit(s), 0);
    CC_CHECK_EQ(sql_int(path, "SELECT count(*) FROM lessons"), 1);

    sqlite3 *other = NULL;
    CC_CHECK_EQ(sqlite3_open(path, &other), SQLITE_OK);
    CC_CHECK_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    CC_CHECK_EQ(cc_store_lesson_heartbeat(s, L0 + 1), CC_EIO);
    sqlite3_exec(other, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(other);
    CC_CHECK_EQ(cc_store_lesson_heartbeat(s, L0 + 1), 0);
    cc_store_close(s);
}

/* Version 2 databases (accounts only) gain the lesson tables. */
static void test_migration_3(void)
{
    char path[160], err[256];
    path_in(path, sizeof path, "v2.db");
    cc_store *s = NULL;
    CC_CHECK_EQ(cc_store_open_file(&s, path, 2, err, sizeof err), 0);
    if (s) {
        CC_CHECK_EQ(cc_store_teacher_add(s, "lan", NULL, "correct horse battery", 0, T0, NULL), 0);
        cc_store_close(s);
    }
    CC_CHECK_EQ(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'lessons'"), 0);
    CC_CHECK_EQ(cc_store_open_file(&s, path, 0, err, sizeof err), 0);
    if (s) {
        CC_CHECK(cc_store_version(s) >= 3);
        cc_teacher t;
        CC_CHECK_EQ(cc_store_teacher_find(s, "lan", &t), 0);
        cc_store_lesson a = make_lesson("482913", t.id, L0);
        CC_CHECK_EQ(cc_store_lesson_add(s, &a), 0);
        cc_store_close(s);
    }
    CC_CHECK_EQ(sql_int(path, "SELECT count(*) FROM lessons"), 1);
}

/* Recordings (migration 4): rows per teacher, newest first; the end of a
 * recording; another teacher's recording is not found; what a crash left
 * 'recording'; bytes per teacher and in all; the record-by-default
 * setting of an account. */
static void test_recordings(void)
{
    cc_store *s = fresh("recordings.db");
    CC_CHECK(s != NULL);
    if (!s)
        return;
    cc_teacher lan, minh;
    CC_CHECK_EQ(cc_store_teacher_add(s, "lan", NULL, "correct horse battery", 0, T0, &lan), 0);
    CC_CHECK_EQ(cc_store_teacher_add(s, "minh", NULL, "correct horse battery", 0, T0, &minh), 0);
    cc_store_recording a = {.teacher_id = lan.id, .started_ms = 1000};
    snprintf(a.code, sizeof a.code, "482913");
    snprintf(a.title, sizeof a.title, "Toán lớp 7");
    CC_CHECK_EQ(cc_store_recording_add(s, &a), 0);
    CC_CHECK(a.id > 0);
    char want[32];
    snprintf(want, sizeof want, "%lld.webm", (long long)a.id);
    CC_CHECK(strcmp(a.file_name, want) == 0);
    cc_store_recording b = a, c = a;
    b.started_ms = 2000;
    CC_CHECK_EQ(cc_store_recording_add(s, &b), 0);
    c.teacher_id = minh.id;
    c.started_ms = 3000;
    CC_CHECK_EQ(cc_store_recording_add(s, &c), 0);
    CC_CHECK(b.id > a.id && c.id > b.id);
    /* bad input */
    cc_store_recording bad = a;
    bad.code[0] = 0;
    CC_CHECK_EQ(cc_store_recording_add(s, &bad), CC_EINVAL);
    bad = a;
    memcpy(bad.title, "\xff\xfe", 3);
    CC_CHECK_EQ(cc_store_recording_add(s, &bad), CC_EINVAL);

    cc_store_recording got;
    CC_CHECK_EQ(cc_store_recording_get(s, a.id, &got), 0);
    CC_CHECK_EQ(got.state, CC_STORE_REC_RECORDING);
    CC_CHECK(strcmp(got.title, "Toán lớp 7") == 0 && strcmp(got.code, "482913") == 0);
    CC_CHECK(strcmp(got.file_name, a.file_name) == 0);
    CC_CHECK_EQ(cc_store_recording_finish(s, a.id, CC_STORE_REC_DONE, 61000, 60000, 123456), 0);
    CC_CHECK_EQ(cc_store_recording_get(s, a.id, &got), 0);
    CC_CHECK_EQ(got.state, CC_STORE_REC_DONE);
    CC_CHECK_EQ(got.ended_ms, 61000);
    CC_CHECK_EQ(got.duration_ms, 60000);
    CC_CHECK_EQ(got.bytes, 123456);
    CC_CHECK_EQ(cc_store_recording_finish(s, 999999, CC_STORE_REC_DONE, 1, 1, 1), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_store_recording_finish(s, a.id, 7, 1, 1, 1), CC_EINVAL);
    CC_CHECK_EQ(cc_store_recording_get(s, 999999, NULL), CC_ENOTFOUND);

    cc_store_recording *rows = NULL;
    int n = 0;
    CC_CHECK_EQ(cc_store_recording_list(s, lan.id, &rows, &n), 0);
    CC_CHECK_EQ(n, 2);
    if (n == 2)
        CC_CHECK(rows[0].id == b.id && rows[1].id == a.id); /* newest first */
    free(rows);
    CC_CHECK_EQ(cc_store_recording_list(s, -1, &rows, &n), 0); /* the local teacher: none */
    CC_CHECK_EQ(n, 0);
    free(rows);

    /* b and c were never finished: what a crash leaves */
    CC_CHECK_EQ(cc_store_recording_unfinished(s, &rows, &n), 0);
    CC_CHECK_EQ(n, 2);
    if (n == 2)
        CC_CHECK(rows[0].id == b.id && rows[1].id == c.id);
    free(rows);
    CC_CHECK_EQ(cc_store_recording_finish(s, b.id, CC_STORE_REC_DONE, 5000, 0, 1000), 0);
    CC_CHECK_EQ(cc_store_recording_finish(s, c.id, CC_STORE_REC_FAILED, 5000, 0, 24), 0);
    CC_CHECK_EQ(cc_store_recording_unfinished(s, &rows, &n), 0);
    CC_CHECK_EQ(n, 0);
    free(rows);
    CC_CHECK_EQ(cc_store_recording_get(s, c.id, &got), 0);
    CC_CHECK_EQ(got.state, CC_STORE_REC_FAILED);

    int64_t bytes = -1;
    CC_CHECK_EQ(cc_store_recording_bytes(s, lan.id, &bytes), 0);
    CC_CHECK_EQ(bytes, 124456);
    CC_CHECK_EQ(cc_store_recording_bytes(s, 0, &bytes), 0);
    CC_CHECK_EQ(bytes, 124480);

    /* only the owner deletes; the id is never given out again */
    CC_CHECK_EQ(cc_store_recording_delete(s, minh.id, a.id), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_store_recording_delete(s, lan.id, a.id), 0);
    CC_CHECK_EQ(cc_store_recording_get(s, a.id, NULL), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_store_recording_delete(s, lan.id, a.id), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_store_recording_delete(s, minh.id, c.id), 0);
    cc_store_recording d = b;
    CC_CHECK_EQ(cc_store_recording_add(s, &d), 0);
    CC_CHECK(d.id > c.id);

    int on = -1;
    CC_CHECK_EQ(cc_store_teacher_record_default(s, lan.id, &on), 0);
    CC_CHECK_EQ(on, 0);
    CC_CHECK_EQ(cc_store_teacher_set_record_default(s, lan.id, 1), 0);
    CC_CHECK_EQ(cc_store_teacher_record_default(s, lan.id, &on), 0);
    CC_CHECK_EQ(on, 1);
    CC_CHECK_EQ(cc_store_teacher_record_default(s, minh.id, &on), 0);
    CC_CHECK_EQ(on, 0);
    CC_CHECK_EQ(cc_store_teacher_record_default(s, 4242, &on), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_store_teacher_set_record_default(s, 4242, 1), CC_ENOTFOUND);
    cc_store_close(s);
}

/* A database of schema 3 (lessons, no recordings) gains the recordings
 * table and the account setting; its accounts stay. */
static void test_migration_4(void)
{
    char path[160], err[256];
    path_in(path, sizeof path, "v3.db");
    cc_store *s = NULL;
    CC_CHECK_EQ(cc_store_open_file(&s, path, 3, err, sizeof err), 0);
    if (s) {
        CC_CHECK_EQ(cc_store_teacher_add(s, "lan", NULL, "correct horse battery", 0, T0, NULL), 0);
        cc_store_close(s);
    }
    CC_CHECK_EQ(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'recordings'"), 0);
    CC_CHECK_EQ(cc_store_open_file(&s, path, 0, err, sizeof err), 0);
    if (s) {
        CC_CHECK(cc_store_version(s) >= 4);
        cc_teacher t;
        CC_CHECK_EQ(cc_store_teacher_find(s, "lan", &t), 0);
        int on = -1;
        CC_CHECK_EQ(cc_store_teacher_record_default(s, t.id, &on), 0);
        CC_CHECK_EQ(on, 0);
        cc_store_recording r = {.teacher_id = t.id, .started_ms = 1};
        snprintf(r.code, sizeof r.code, "482913");
        CC_CHECK_EQ(cc_store_recording_add(s, &r), 0);
        cc_store_close(s);
    }
    CC_CHECK_EQ(sql_int(path, "SELECT count(*) FROM recordings"), 1);
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
    CC_RUN(test_lessons);
    CC_RUN(test_attendance);
    CC_RUN(test_history);
    CC_RUN(test_chat_invites);
    CC_RUN(test_transactions);
    CC_RUN(test_migration_3);
    CC_RUN(test_recordings);
    CC_RUN(test_migration_4);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    CC_TEST_DONE();
}
