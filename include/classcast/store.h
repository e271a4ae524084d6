/* classcast: the state that outlives a restart, in one SQLite database
 * (<state dir>/classcast.db): teacher accounts and their sign-in sessions
 * (docs/accounts.md); lessons, their members, attendance, chat and invites
 * (docs/state.md).
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
#define CC_STORE_SCHEMA_VERSION 4

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

/* ---- lesson history: attendance (docs/state.md) ----
 * Read side for the attendance CSV and the history page. Times are Unix
 * seconds; 0 means "not (yet)". */
#define CC_STORE_CODE_CAP 17                /* lesson codes: 1..16 chars */
#define CC_STORE_TITLE_CAP (120 * 4 + 1)    /* titles: up to 120 code points */
#define CC_STORE_MEMBER_CAP 12              /* member ids: "m7" */
/* Most rows one cc_store_history_lessons call returns. */
#define CC_STORE_HISTORY_MAX 500

typedef struct cc_store_lesson_info {
    int64_t id;             /* row id: unique for ever (codes are reused) */
    char code[CC_STORE_CODE_CAP];
    int kind;               /* cc_lesson_kind: 0 lesson, 1 seminar */
    char title[CC_STORE_TITLE_CAP];
    char teacher_name[CC_STORE_NAME_CAP];
    int state;              /* cc_lesson_state: 0 waiting, 1 live, 2 ended */
    int64_t created_at, started_at, ended_at;
    int n_members;          /* students and schools that ever joined */
} cc_store_lesson_info;

typedef struct cc_store_attendance {
    char member[CC_STORE_MEMBER_CAP]; /* member id, "m7" */
    char name[CC_STORE_NAME_CAP];
    int role;               /* cc_role: 0 teacher, 1 student, 2 school */
    int64_t joined_at;
    int64_t left_at;        /* 0: still connected */
    int64_t watching_s;     /* seconds receiving media */
    int64_t weak_s;         /* of those, seconds on a weak link */
} cc_store_attendance;

/* The lessons of one teacher account (cc_lesson.owner), newest first,
 * `limit` (1..CC_STORE_HISTORY_MAX) of them from `offset` (>= 0). *out is
 * malloc'd (free(); NULL when *n is 0). 0, CC_EINVAL, CC_ENOMEM, CC_EIO. */
int cc_store_history_lessons(cc_store *s, int64_t teacher_id, int offset, int limit,
                             cc_store_lesson_info **out, int *n);
/* The attendance of a lesson owned by teacher_id: one row per member and
 * connection, in join order. A code names the newest lesson of that
 * teacher with it. lesson may be NULL; *out is malloc'd (free()). 0,
 * CC_ENOTFOUND (no such lesson of that teacher: another teacher's lesson
 * looks the same), CC_ENOMEM, CC_EIO. */
int cc_store_attendance_list(cc_store *s, int64_t teacher_id, const char *code,
                             cc_store_lesson_info *lesson, cc_store_attendance **out,
                             int *n);

/* ---- lessons (docs/state.md) ----
 * What a restart must not lose, written by the server's control thread
 * (src/signal/persist.c), one transaction per event. Times here are Unix
 * milliseconds; 0 means "not (yet)". Secrets the server only checks (the
 * teacher and viewer tokens, rejoin secrets) are kept as their SHA-256;
 * invite tokens in clear (the teacher page shows the links again). */

/* The server's own connection: a short busy timeout (the control thread
 * must never wait long for a `classcast teacher` command) and
 * synchronous=NORMAL (in WAL mode a power cut may lose the last
 * transactions, never the database). */
#define CC_STORE_SERVER_BUSY_MS 200
int cc_store_set_server_mode(cc_store *s);

/* One transaction: begin, then commit or roll back. */
int cc_store_begin(cc_store *s);
int cc_store_commit(cc_store *s);
void cc_store_rollback(cc_store *s);

typedef struct cc_store_lesson {
    int64_t id;             /* row id; set by cc_store_lesson_add */
    char code[CC_STORE_CODE_CAP];
    int kind;               /* cc_lesson_kind */
    char title[CC_STORE_TITLE_CAP];
    int64_t teacher_id;     /* cc_lesson.owner: account id, -1 local, 0 none */
    char teacher_name[CC_STORE_NAME_CAP];
    unsigned char teacher_hash[32], viewer_hash[32]; /* SHA-256 of the tokens */
    int locked, waiting_room, last_n, chat_students;
    int state;              /* cc_lesson_state */
    int64_t created_ms, started_ms, ended_ms;
    int64_t teacher_gone_ms; /* the last teacher left; 0: a teacher is in */
    int64_t heartbeat_ms;   /* the server last wrote for this lesson */
} cc_store_lesson;

/* Insert (sets l->id). 0, CC_EINVAL, CC_EIO. */
int cc_store_lesson_add(cc_store *s, cc_store_lesson *l);
/* Write the fields that change (settings, state, times). 0, CC_ENOTFOUND,
 * CC_EIO. */
int cc_store_lesson_update(cc_store *s, const cc_store_lesson *l);
/* Every lesson not ended: heartbeat_ms = now_ms. */
int cc_store_lesson_heartbeat(cc_store *s, int64_t now_ms);
/* Lessons not ended, and ended ones with ended_ms >= ended_since_ms, oldest
 * first; *out malloc'd (free()). */
int cc_store_lesson_load(cc_store *s, int64_t ended_since_ms, cc_store_lesson **out,
                         int *n);

typedef struct cc_store_member {
    uint32_t id;            /* cc_member.id */
    int role;               /* cc_role */
    char name[CC_STORE_NAME_CAP];
    int has_rejoin;         /* rejoin_hash is set (may come back) */
    unsigned char rejoin_hash[32];
    int invite;             /* school: index of its invite, else -1 */
    unsigned flags;         /* the CC_MEMBER_* flags worth keeping */
    uint32_t hand;          /* raise order (cc_member.hand_seq), 0 down */
    int64_t first_join_ms;
} cc_store_member;

/* Insert or replace the member (first_join_ms stays the first). */
int cc_store_member_put(cc_store *s, int64_t lesson_id, const cc_store_member *m);
/* The members that may come back (has_rejoin), at most max, the newest
 * (highest id) of them; *out malloc'd, oldest first. */
int cc_store_member_load(cc_store *s, int64_t lesson_id, int max, cc_store_member **out,
                         int *n);
/* Members of a lesson in the database (bounds). */
int cc_store_member_count(cc_store *s, int64_t lesson_id);

/* Attendance: one row per member and connection. A watching (or weak)
 * stretch in progress is kept as its start, *_since_ms (0: none), and
 * added to watching_ms / weak_ms when it ends, so a crash loses nothing
 * but the time since the last heartbeat. */
typedef struct cc_store_attend {
    int64_t row;            /* row id */
    int64_t watching_ms, weak_ms;       /* finished stretches */
    int64_t watch_since_ms, weak_since_ms;
} cc_store_attend;
/* A new open row; *row its id. */
int cc_store_attend_open(cc_store *s, int64_t lesson_id, uint32_t member_id,
                         int64_t joined_ms, int64_t *row);
int cc_store_attend_update(cc_store *s, const cc_store_attend *a);
/* Close a row at left_ms (stretches in progress end there). */
int cc_store_attend_close(cc_store *s, const cc_store_attend *a, int64_t left_ms);
/* Close every open row of a lesson at at_ms (or at a row's join, if
 * later): after a crash, at_ms is the lesson's last heartbeat. The number
 * closed, or CC_EIO. */
int cc_store_attend_close_lesson(cc_store *s, int64_t lesson_id, int64_t at_ms);
int cc_store_attend_count(cc_store *s, int64_t lesson_id);

typedef struct cc_store_chat {
    char member[CC_STORE_MEMBER_CAP];
    char name[CC_STORE_NAME_CAP];
    int role;
    char *text;             /* malloc'd */
    int64_t at_ms;
} cc_store_chat;
/* Append, keeping the newest `keep` messages of the lesson. */
int cc_store_chat_add(cc_store *s, int64_t lesson_id, const cc_store_chat *m, int keep);
/* Oldest first; free with cc_store_chat_free. */
int cc_store_chat_load(cc_store *s, int64_t lesson_id, cc_store_chat **out, int *n);
void cc_store_chat_free(cc_store_chat *a, int n);
int cc_store_chat_clear(cc_store *s, int64_t lesson_id);

typedef struct cc_store_invite {
    int idx;                /* its place in cc_lesson.invites */
    char id[8];             /* "i1" */
    char label[CC_STORE_NAME_CAP];
    char token[CC_STORE_TOKEN_CAP]; /* "" once revoked */
    int uses;
    int revoked;
} cc_store_invite;
/* Insert or replace. */
int cc_store_invite_put(cc_store *s, int64_t lesson_id, const cc_store_invite *iv);
/* By idx; *out malloc'd. */
int cc_store_invite_load(cc_store *s, int64_t lesson_id, cc_store_invite **out, int *n);

/* ---- recordings (docs/recording.md) ----
 * One row per lesson recording, a WebM file <state dir>/recordings/
 * <file_name>. teacher_id is the lesson's owner (cc_lesson.owner: an
 * account id, or -1 for the local teacher). Times are Unix milliseconds,
 * 0 for "not (yet)". */
enum {
    CC_STORE_REC_RECORDING = 0, /* being written (or the server died) */
    CC_STORE_REC_DONE = 1,
    CC_STORE_REC_FAILED = 2,
};
/* Most rows one list returns (a teacher's page shows them all). */
#define CC_STORE_RECORDINGS_MAX 1000

typedef struct cc_store_recording {
    int64_t id;
    int64_t teacher_id;
    char code[CC_STORE_CODE_CAP];       /* the lesson's code */
    char title[CC_STORE_TITLE_CAP];     /* the lesson's title */
    char file_name[32];                 /* "<id>.webm" */
    int64_t started_ms, ended_ms, duration_ms;
    int64_t bytes;
    int state;                          /* CC_STORE_REC_* */
} cc_store_recording;

/* Insert a row in state 'recording' from r's teacher_id, code, title and
 * started_ms; sets r->id and r->file_name. 0, CC_EINVAL, CC_EIO. */
int cc_store_recording_add(cc_store *s, cc_store_recording *r);
/* The end: state (CC_STORE_REC_DONE or _FAILED), when, how long, how big.
 * 0, CC_ENOTFOUND, CC_EINVAL, CC_EIO. */
int cc_store_recording_finish(cc_store *s, int64_t id, int state, int64_t ended_ms,
                              int64_t duration_ms, int64_t bytes);
/* 0 and *out, CC_ENOTFOUND, CC_EIO (out may be NULL). */
int cc_store_recording_get(cc_store *s, int64_t id, cc_store_recording *out);
/* A teacher's recordings, newest first (at most CC_STORE_RECORDINGS_MAX);
 * *out malloc'd (free(); NULL when *n is 0). */
int cc_store_recording_list(cc_store *s, int64_t teacher_id, cc_store_recording **out, int *n);
/* Rows still 'recording' (after a crash: the server marks them done). */
int cc_store_recording_unfinished(cc_store *s, cc_store_recording **out, int *n);
/* Delete a teacher's recording: CC_ENOTFOUND if there is none of that
 * teacher with that id (another teacher's looks the same). */
int cc_store_recording_delete(cc_store *s, int64_t teacher_id, int64_t id);
/* The bytes of one teacher's recordings (teacher_id 0: everyone's). */
int cc_store_recording_bytes(cc_store *s, int64_t teacher_id, int64_t *total);
/* A teacher account's "record every lesson" setting. 0, CC_ENOTFOUND,
 * CC_EIO. */
int cc_store_teacher_record_default(cc_store *s, int64_t id, int *on);
int cc_store_teacher_set_record_default(cc_store *s, int64_t id, int on);

#endif
