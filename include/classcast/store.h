/* classcast: the state that outlives a restart, in one SQLite database
 * (<state dir>/classcast.db): teacher accounts and their sign-in sessions
 * (docs/accounts.md).
 *
 * The schema grows by numbered migrations kept in src/state/store.c (the
 * database's PRAGMA user_version says how many have run); opening the
 * store runs the missing ones, each in its own transaction, so a later
 * issue adds lessons, attendance or recordings as migration 3, 4 ... and
 * every existing database follows. A database from a newer classcast (a
 * higher version than this code knows) is refused, not guessed at.
 *
 * The database runs in WAL mode with a busy timeout, so `classcast teacher`
 * can change accounts while the server runs. Every query is a prepared
 * statement with bound parameters: no SQL is ever built from text.
 * Passwords are scrypt hashes (include/classcast/pwhash.h); a session is
 * known to the database only by the SHA-256 of its token.
 *
 * Times are seconds since the Unix epoch, passed in by the caller (the
 * tests drive sessions with a manual clock).
 * Thread: one thread per cc_store (the server's control thread). */
#ifndef CLASSCAST_STORE_H
#define CLASSCAST_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct cc_store cc_store;

/* The database file inside the state directory. */
#define CC_STORE_FILE "classcast.db"
/* The schema version this code migrates to. */
#define CC_STORE_SCHEMA_VERSION 2

/* Names: 1..64 Unicode code points of valid UTF-8, no control characters,
 * no space at either end; kept exactly as typed (case included). Display
 * names: the same, 0..64 (empty: the name). */
#define CC_STORE_NAME_MAX_CP 64
#define CC_STORE_NAME_CAP (CC_STORE_NAME_MAX_CP * 4 + 1)

/* Session tokens: 32 random bytes as unpadded base64url (43 characters). */
#define CC_STORE_TOKEN_LEN 43
#define CC_STORE_TOKEN_CAP (CC_STORE_TOKEN_LEN + 1)
/* A session lasts 12 hours from its last use (sliding) and never more than
 * 7 days from sign-in. */
#define CC_STORE_SESSION_IDLE_S (12 * 3600)
#define CC_STORE_SESSION_MAX_S (7 * 24 * 3600)
/* Sessions one teacher may hold (browsers, tablets); the oldest goes. */
#define CC_STORE_SESSIONS_PER_TEACHER 20

typedef struct cc_teacher {
    int64_t id;                 /* > 0 */
    char name[CC_STORE_NAME_CAP];
    char display_name[CC_STORE_NAME_CAP];
    int is_admin;
    int disabled;
    int must_change_pw;         /* the password was generated: choose one */
    int64_t created_at;
} cc_teacher;

/* cc_store_teacher_add flags */
#define CC_TEACHER_ADMIN 0x1u
#define CC_TEACHER_MUST_CHANGE 0x2u

/* Open (creating if needed) dir/classcast.db; dir NULL: the default state
 * directory (include/classcast/paths.h). dir is created with mode 0700 and
 * the file with 0600. Runs the missing migrations. 0, CC_EINVAL, CC_EIO
 * (err says what), CC_EUNSUPPORTED (the database is newer than this code),
 * CC_ENOTFOUND (no default directory: no HOME), CC_ENOMEM. err may be
 * NULL. */
int cc_store_open(cc_store **out, const char *dir, char *err, size_t errcap);
/* The same on a file path, migrating only up to `version` (0: all). Tests
 * use it to build a database of an older schema. */
int cc_store_open_file(cc_store **out, const char *path, int version, char *err,
                       size_t errcap);
void cc_store_close(cc_store *s);
/* The schema version of the open database. */
int cc_store_version(cc_store *s);

/* 1 if the text is a valid name / display name (see above). */
int cc_store_name_ok(const char *name);
int cc_store_display_name_ok(const char *display_name);

/* A new teacher. display_name NULL or "": the name. The password must pass
 * cc_pwhash_policy. 0, CC_EINVAL (name, display name or password not
 * accepted), CC_EEXIST (name taken), CC_EIO, CC_ECRYPTO. out may be NULL. */
int cc_store_teacher_add(cc_store *s, const char *name, const char *display_name,
                         const char *password, unsigned flags, int64_t now,
                         cc_teacher *out);
/* 0 or CC_ENOTFOUND (or CC_EIO). */
int cc_store_teacher_find(cc_store *s, const char *name, cc_teacher *out);
int cc_store_teacher_get(cc_store *s, int64_t id, cc_teacher *out);
/* Sign-in check. 0 and *out; CC_EAUTH for an unknown name or a wrong
 * password (alike, and in about the same time: an unknown name is checked
 * against a dummy hash, so timing does not tell which names exist);
 * CC_ECLOSED when the password is right but the account is disabled;
 * CC_EIO, CC_ECRYPTO. A hash made with older parameters is upgraded. */
int cc_store_teacher_verify(cc_store *s, const char *name, const char *password,
                            cc_teacher *out);
/* New password (policy applies); must_change: it was generated and its
 * owner must choose another at the next sign-in. Ends every session of the
 * teacher except keep_token's (NULL: all). 0, CC_EINVAL, CC_ENOTFOUND,
 * CC_EIO, CC_ECRYPTO. */
int cc_store_teacher_set_password(cc_store *s, int64_t id, const char *password,
                                  int must_change, const char *keep_token);
/* Disable (ends all the teacher's sessions) or enable again. 0,
 * CC_ENOTFOUND, CC_EIO. */
int cc_store_teacher_set_disabled(cc_store *s, int64_t id, int disabled);
/* Every teacher, by name; *out is malloc'd (free()), *n its length. */
int cc_store_teacher_list(cc_store *s, cc_teacher **out, int *n);
/* How many teachers (and, if admins != NULL, how many enabled admins). */
int cc_store_teacher_count(cc_store *s, int *admins);

/* A new session for a teacher: token (CC_STORE_TOKEN_CAP bytes) and when
 * it expires. Only the token's SHA-256 is stored. 0, CC_EIO, CC_ECRYPTO. */
int cc_store_session_new(cc_store *s, int64_t teacher_id, int64_t now,
                         char *token, int64_t *expires_at);
/* The teacher a token belongs to, if the session is live and the account
 * enabled; the session's expiry slides to now + 12 h (capped at 7 days
 * after sign-in) and *expires_at says when. An expired session is deleted.
 * 0 or CC_ENOTFOUND (also for any malformed token), CC_EIO. */
int cc_store_session_check(cc_store *s, const char *token, int64_t now,
                           cc_teacher *out, int64_t *expires_at);
/* Sign-out: delete the session (0 also when there was none). */
int cc_store_session_end(cc_store *s, const char *token);
/* Delete expired sessions; the number deleted, or CC_EIO. */
int cc_store_session_purge(cc_store *s, int64_t now);
/* Live sessions of a teacher (tests, `teacher list`). */
int cc_store_session_count(cc_store *s, int64_t teacher_id, int64_t now);

#endif
