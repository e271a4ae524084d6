/* classcast store: the statements, the store object and the SQLite helpers
 * shared by the files of the store (store.c, store_accounts.c,
 * store_lessons.c, store_recordings.c). Internal: not installed, not part
 * of the API. */
#ifndef CLASSCAST_STORE_PRIV_H
#define CLASSCAST_STORE_PRIV_H

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

/* The statements, by id: their text is sql[] in store.c. */
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

struct cc_store {
    sqlite3 *db;
    sqlite3_stmt *stmt[Q_COUNT];
    int version;
    /* An unknown name is checked against this, so it costs what a real
     * check costs (made at the first such sign-in). */
    char dummy_hash[CC_PWHASH_CAP];
};

/* What store.c defines and the others call (each is described where it is
 * defined). */
int store_db_fail(cc_store *s, const char *what);
sqlite3_stmt *store_q(cc_store *s, int id);
int store_run(cc_store *s, sqlite3_stmt *st, const char *what);
int store_exec(cc_store *s, const char *text, const char *what);

#endif
