/* classcast: the lesson registry and its rules (docs/protocol.md): codes,
 * tokens, states and their timeouts, members and roles, limits.
 * Pure: explicit `now`, no I/O, no threads, no clock.
 * Thread: the control thread only (nothing here is locked).
 *
 * Ownership: the registry owns its lessons, a lesson owns its members.
 * A cc_lesson pointer stays valid until the lesson is forgotten (reported by
 * cc_lessons_tick with CC_LESSON_FORGET, or cc_lessons_free); a cc_member
 * pointer until cc_lesson_leave on it or its lesson is forgotten. Other
 * threads (the SFU) know a lesson only by its room_id. */
#ifndef CLASSCAST_LESSON_H
#define CLASSCAST_LESSON_H

#include <stdint.h>

#include "classcast/clock.h"
#include "classcast/proto.h"

typedef enum {
    CC_LESSON_WAITING = 0,
    CC_LESSON_LIVE = 1,
    CC_LESSON_ENDED = 2,
} cc_lesson_state;

typedef enum {
    CC_ROLE_TEACHER = 0,
    CC_ROLE_STUDENT = 1,
    CC_ROLE_SCHOOL = 2,     /* a remote classroom joined by an invite */
} cc_role;

typedef enum {
    CC_LESSON_KIND_LESSON = 0,
    CC_LESSON_KIND_SEMINAR = 1, /* waiting room on by default */
} cc_lesson_kind;

/* cc_member.flags */
#define CC_MEMBER_WATCHING 0x1u   /* receiving media (a subscribe transport) */
#define CC_MEMBER_PUBLISHING 0x2u /* sending media (a publish transport) */
#define CC_MEMBER_WEAK_LINK 0x4u  /* watching over a weak link: the SFU sends
                                   * it fewer camera frames */
#define CC_MEMBER_FLOOR 0x8u      /* a student the teacher gave the floor */
#define CC_MEMBER_TEACHER_ONLY 0x10u /* with FLOOR: its camera goes to the
                                      * teachers only (privacy) */
#define CC_MEMBER_MUTED 0x20u     /* the SFU does not forward its mic */
#define CC_MEMBER_WAITING 0x40u   /* in the waiting room: not admitted yet */
#define CC_MEMBER_SPEAKING 0x80u  /* among the lesson's last-N speakers */
#define CC_MEMBER_FROZEN 0x100u   /* watching, but its page decodes no frame
                                   * (it said so with `quality`); cleared
                                   * with its subscribe transport */

/* Seminars: invites, chat. */
#define CC_LESSON_MAX_INVITES 20
#define CC_LESSON_CHAT_HISTORY 100
/* Bytes of chat text a lesson keeps at most (the oldest messages go
 * first): 100 messages of the longest kind would be 200 KB a lesson. */
#define CC_LESSON_CHAT_BYTES (64 * 1024)
#define CC_LESSON_MAX_WAITING 50
#define CC_LESSON_DEFAULT_LAST_N 2
#define CC_LESSON_MAX_LAST_N 8
/* Students and schools that left, kept for the teacher's member list
 * until the lesson ends (the oldest go past this many). */
#define CC_LESSON_MAX_DEPARTED 200

typedef struct cc_invite {
    char id[8];             /* "i1" ... */
    char label[CC_PROTO_NAME_CAP];
    char token[44];         /* 32 random bytes, base64url */
    int uses;
    int revoked;
} cc_invite;

typedef struct cc_chat_msg {
    char from[CC_PROTO_MEMBER_CAP]; /* member id_str */
    char name[CC_PROTO_NAME_CAP];
    cc_role role;
    char *text;             /* malloc'd, owned by the lesson */
    int64_t at_ms;          /* Unix milliseconds */
} cc_chat_msg;

/* 32 random bytes as unpadded base64url */
#define CC_LESSON_TOKEN_LEN 43

typedef struct cc_member {
    uint32_t id;            /* unique in the registry, never 0 */
    char id_str[12];        /* "m<id>", the wire form */
    char name[CC_PROTO_NAME_CAP];
    cc_role role;
    uint64_t session;       /* opaque owner id given by the caller */
    unsigned flags;         /* CC_MEMBER_* */
    int hand;               /* 0: down, else its place in the raise order
                             * (1 first); renumbered as hands go down */
    unsigned pub_kinds;     /* bit (1u << cc_slot) per track it publishes */
    int invite;             /* school: index of its invite, else -1 */
    cc_time_us joined_at;   /* the `now` of its join (or create, resume) */
    /* Coming back (docs/protocol.md "Coming back"): a student or school
     * gets a rejoin secret with every `joined` (a new one each time); the
     * lesson keeps its SHA-256. rejoin: the secret last made ("" after a
     * restart, until the member comes back). Teachers have none. */
    char rejoin[CC_LESSON_TOKEN_LEN + 1];
    unsigned char rejoin_hash[32];
    int has_rejoin;
    uint32_t hand_seq;      /* when the hand went up (lesson order), 0 down */
} cc_member;

/* A student or school that left the lesson (`leave`, socket closed,
 * removed): the teacher page lists it as "left" until the lesson is
 * forgotten. Members that waited and never got in are not kept. */
typedef struct cc_departed {
    char id_str[12];        /* the member id it had, "m7" */
    char name[CC_PROTO_NAME_CAP];
    cc_role role;
    cc_time_us joined_at, left_at; /* on the clock of the calls' `now` */
    /* What it comes back with (cc_lessons_rejoin): */
    uint32_t id;
    unsigned flags;         /* CC_MEMBER_KEPT of the member */
    uint32_t hand_seq;      /* its raised hand's place in the order, 0 down */
    int invite;
    int has_rejoin;         /* 0: removed (or never had one): cannot */
    unsigned char rejoin_hash[32];
} cc_departed;

/* The member flags a departed member keeps: the floor (and its
 * audience) and the teacher's mute. The others describe a connection. */
#define CC_MEMBER_KEPT (CC_MEMBER_FLOOR | CC_MEMBER_TEACHER_ONLY | CC_MEMBER_MUTED)

/* Fields are read-only for callers; change them through the functions. */
typedef struct cc_lesson {
    char code[CC_PROTO_CODE_CAP];
    char title[CC_PROTO_TITLE_CAP];
    char teacher_name[CC_PROTO_NAME_CAP];
    cc_lesson_state state;
    uint32_t room_id;       /* unique among existing lessons, never 0 */
    /* The tokens as made ("" for a lesson restored after a restart: the
     * server keeps only their SHA-256, which the checks use). */
    char teacher_token[CC_LESSON_TOKEN_LEN + 1];
    char viewer_token[CC_LESSON_TOKEN_LEN + 1];
    unsigned char teacher_hash[32], viewer_hash[32];
    unsigned media;         /* bit (1u << cc_slot) per slot being published */
    int pinned;             /* fixed-code lesson (demo): no absence timeouts */
    int64_t owner;          /* the teacher account that created it (store.h
                             * id), CC_LESSON_OWNER_LOCAL, or 0 for none */
    cc_member **members;    /* n_members, in join order */
    int n_members, n_teachers, n_students;
    cc_time_us created_at;
    cc_time_us teacher_gone_at; /* last teacher left; CC_TIME_NEVER if one is here */
    cc_time_us ended_at;        /* CC_TIME_NEVER unless ended */
    int cap_members;        /* internal */
    /* Seminars (docs/protocol.md). */
    cc_lesson_kind kind;
    int locked;             /* joins refused (lesson_locked) */
    int waiting_room;       /* joins wait for admit */
    int last_n;             /* cameras of recent speakers each page gets */
    int chat_students;      /* students may chat (schools and teachers
                             * always may) */
    int n_waiting;
    int hands;              /* hands up */
    /* The guests whose cameras the pages show (the SFU's last `speakers`
     * event), for late joiners; the first shown_recent have spoken. */
    uint32_t shown[CC_LESSON_MAX_LAST_N];
    int shown_n, shown_recent;
    cc_invite invites[CC_LESSON_MAX_INVITES];
    int n_invites;          /* made, revoked ones included */
    cc_chat_msg chat[CC_LESSON_CHAT_HISTORY]; /* ring */
    int chat_head, chat_len;
    size_t chat_bytes;      /* text bytes in the ring */
    /* Students and schools that left, oldest first (at most
     * CC_LESSON_MAX_DEPARTED). */
    cc_departed *departed;
    int n_departed, cap_departed;
    uint32_t hand_next;     /* the last hand_seq given */
} cc_lesson;

typedef struct cc_lessons cc_lessons;

/* cc_lesson.owner of a lesson made by the built-in local teacher
 * (`serve --local-teacher`): an account id is always > 0. */
#define CC_LESSON_OWNER_LOCAL ((int64_t)-1)

typedef struct cc_lessons_config {
    int max_lessons;       /* open lessons (waiting or live) */
    int max_ended;         /* ended lessons kept until forgotten, besides */
    int max_per_owner;     /* open lessons of one owner (0: no limit) */
    int max_students;      /* student members per lesson */
    int max_teachers;      /* teacher members (tabs) per lesson */
    cc_time_us waiting_grace; /* no teacher in a waiting lesson -> ended */
    cc_time_us live_grace;    /* no teacher in a live lesson -> ended */
    cc_time_us ended_keep;    /* ended -> forgotten */
} cc_lessons_config;

/* 1000 open lessons (and 4000 ended ones), 5 open lessons per owner, 200
 * students, 8 teachers; 60 s, 30 min, 10 min. */
void cc_lessons_config_default(cc_lessons_config *cfg);

/* cfg NULL: defaults. NULL when out of memory. */
cc_lessons *cc_lessons_new(const cc_lessons_config *cfg);
/* Frees every lesson and member (no callbacks). */
void cc_lessons_free(cc_lessons *r);
int cc_lessons_count(const cc_lessons *r);
/* The i-th lesson (0 <= i < count), for stats; order is unspecified. */
cc_lesson *cc_lessons_at(cc_lessons *r, int i);

/* `create`: a new waiting lesson with a fresh 6-digit code, tokens, room id,
 * and its creator as the first teacher member (session). name and title as
 * validated by cc_proto_parse. Returns 0, CC_ENOSPC (max lessons: answer
 * server_busy), CC_ECRYPTO, CC_ENOMEM or CC_EINVAL. Only waiting and live
 * lessons count toward max_lessons; ended ones wait to be forgotten in a
 * separate allowance (max_ended), so they never keep a teacher out. */
int cc_lessons_create(cc_lessons *r, const char *teacher_name,
                      const char *title, uint64_t session, cc_time_us now,
                      cc_lesson **out_lesson, cc_member **out_member);
/* The same for an owner (a teacher account id, or CC_LESSON_OWNER_LOCAL;
 * 0: none), who may have at most max_per_owner open lessons: CC_ELIMIT
 * (answer too_many_lessons) past that. */
int cc_lessons_create_owned(cc_lessons *r, int64_t owner, const char *teacher_name,
                            const char *title, uint64_t session, cc_time_us now,
                            cc_lesson **out_lesson, cc_member **out_member);
/* Open (waiting or live) lessons: of one owner, or of all (owner 0). */
int cc_lessons_count_open(const cc_lessons *r, int64_t owner);
/* A lesson with a fixed code (e.g. "demo": 1..16 of [0-9A-Za-z]) and no
 * member; pinned, so teacher absence never ends it. CC_EINVAL if the code
 * is malformed or already in use. */
int cc_lessons_create_fixed(cc_lessons *r, const char *code,
                            const char *teacher_name, const char *title,
                            cc_time_us now, cc_lesson **out_lesson);

cc_lesson *cc_lessons_find(cc_lessons *r, const char *code);
cc_lesson *cc_lessons_find_room(cc_lessons *r, uint32_t room_id);
/* The member with that session in any lesson: 0, or CC_ENOTFOUND. */
int cc_lessons_find_session(cc_lessons *r, uint64_t session,
                            cc_lesson **out_lesson, cc_member **out_member);

/* `resume`: a new teacher member. CC_ENOTFOUND (no_such_lesson), CC_EAUTH
 * (bad_token), CC_ECLOSED (lesson_ended), CC_ENOSPC (server_busy). The
 * token is checked before the state, so only the teacher learns "ended". */
int cc_lessons_resume(cc_lessons *r, const char *code, const char *token,
                      uint64_t session, cc_time_us now,
                      cc_lesson **out_lesson, cc_member **out_member);
/* `join`: a new student member. CC_ENOTFOUND, CC_ECLOSED, CC_ENOSPC. */
int cc_lessons_join(cc_lessons *r, const char *code, const char *name,
                    uint64_t session, cc_time_us now,
                    cc_lesson **out_lesson, cc_member **out_member);

/* `leave` or socket closed: removes and frees m. When the last teacher
 * leaves, the absence clock of docs/protocol.md starts. A student or
 * school that had been let in is kept in l->departed (left_at = now)
 * while the lesson has not ended; cc_lesson_end empties the list. */
void cc_lesson_leave(cc_lesson *l, cc_member *m, cc_time_us now);
cc_member *cc_lesson_member(cc_lesson *l, uint32_t member_id);

/* 1 if the state changed (tell everyone: `lesson`), 0 if it already was
 * live, CC_ECLOSED if the lesson has ended. */
int cc_lesson_start(cc_lesson *l, cc_time_us now);
/* 1 if the state changed, 0 if it had already ended. */
int cc_lesson_end(cc_lesson *l, cc_time_us now);
/* 1 if the flags changed (teachers get a new `members`), else 0. */
int cc_lesson_set_flags(cc_lesson *l, cc_member *m, unsigned flags);
/* media: bit (1u << cc_slot) per published slot. 1 if changed (everyone
 * gets `media`), else 0. */
int cc_lesson_set_media(cc_lesson *l, unsigned media);

/* Token checks in constant time (CRYPTO_memcmp); 1 if token is right.
 * Teacher token: resume and WHIP; viewer token: WHEP. */
int cc_lesson_check_teacher(const cc_lesson *l, const char *token);
int cc_lesson_check_viewer(const cc_lesson *l, const char *token);

typedef enum {
    CC_LESSON_EV_ENDED,  /* a timeout ended it; members are still there */
    CC_LESSON_EV_FORGET, /* about to be freed with its members: drop links */
} cc_lesson_event;
/* The callback may read the lesson but must not call cc_lessons_* or
 * cc_lesson_leave. */
typedef void (*cc_lesson_event_fn)(void *ud, cc_lesson *l, cc_lesson_event ev);

/* Apply the timeouts at `now`: end lessons whose teacher has been gone too
 * long, forget lessons ended long enough ago. fn may be NULL. Returns the
 * number of events reported. */
int cc_lessons_tick(cc_lessons *r, cc_time_us now, cc_lesson_event_fn fn,
                    void *ud);
/* When cc_lessons_tick next has something to do; CC_TIME_NEVER if nothing. */
cc_time_us cc_lessons_deadline(const cc_lessons *r);

/* ---- seminars ---- */

/* `join` with an invite token: a new school member. As cc_lessons_join,
 * plus CC_EAUTH (bad_invite) for an unknown or revoked invite. With the
 * waiting room on, the member is made with CC_MEMBER_WAITING (the caller
 * sends `waiting`); CC_ENOSPC past CC_LESSON_MAX_WAITING (server_busy).
 * A locked lesson: CC_ESTATE (lesson_locked). cc_lessons_join applies the
 * same lock and waiting rules to students. */
int cc_lessons_join_school(cc_lessons *r, const char *code, const char *invite,
                           const char *name, uint64_t session, cc_time_us now,
                           cc_lesson **out_lesson, cc_member **out_member);
void cc_lesson_set_kind(cc_lesson *l, cc_lesson_kind kind);
/* Admit a waiting member: 0, or CC_ESTATE if it is not waiting. */
int cc_lesson_admit(cc_lesson *l, cc_member *m);
/* Hands: 1 if the member's hand changed. Order numbers stay 1..hands. */
int cc_lesson_hand(cc_lesson *l, cc_member *m, int up);
/* A new invite (token made here): 0 and *out, CC_ELIMIT past the max,
 * CC_ECRYPTO. */
int cc_lesson_invite_create(cc_lesson *l, const char *label, cc_invite **out);
/* 0, or CC_ENOTFOUND (no such id, or already revoked). */
int cc_lesson_invite_revoke(cc_lesson *l, const char *id);
/* Append to the chat history (the text is copied; the oldest messages go
 * past CC_LESSON_CHAT_HISTORY messages or CC_LESSON_CHAT_BYTES of text,
 * and the whole history when the lesson ends). 0 and *out (valid until the next
 * append), or CC_ENOMEM. */
int cc_lesson_chat_add(cc_lesson *l, const cc_member *from, const char *text,
                       int64_t at_ms, const cc_chat_msg **out);
/* The i-th message of the history, oldest first (0 <= i < chat_len). */
const cc_chat_msg *cc_lesson_chat_at(const cc_lesson *l, int i);
/* Member id "m7" -> the member, or NULL. */
cc_member *cc_lesson_member_by_str(cc_lesson *l, const char *id_str);

/* The role rules, in one place. m is the socket's member (NULL if it has
 * not joined) and l its lesson (NULL with m). Returns 1 if the request may
 * go on, or 0 with *err_code set: "not_joined", "already_joined",
 * "forbidden" or "lesson_ended". for_publish matters for renegotiate. */
int cc_lesson_may(const cc_lesson *l, const cc_member *m, cc_proto_type action,
                  int for_publish, const char **err_code);

/* Capture on the classroom computer (capture_list / capture_start /
 * capture_stop) is teacher-only in cc_lesson_may, and in addition only for
 * a connection from loopback: the teacher sitting at the machine that runs
 * classcast, whose screen, camera and microphone are the ones captured.
 * Returns 1 if the request may go on (any other action always may), or 0
 * with *err_code "forbidden". Call after cc_lesson_may. */
int cc_lesson_may_local(cc_proto_type action, int from_loopback,
                        const char **err_code);
/* 1 for capture_list, capture_start, capture_stop. */
int cc_lesson_is_capture(cc_proto_type action);

/* ---- coming back, and restoring after a restart (docs/state.md) ---- */

/* SHA-256 of a token or secret (what the lesson keeps and compares). */
void cc_lesson_token_hash(const char *token, unsigned char out[32]);
/* Known tokens (`serve --demo-token`): copied, and their hashes made. */
void cc_lesson_set_tokens(cc_lesson *l, const char *teacher, const char *viewer);

/* `join` with a rejoin secret: the student or school it was given to comes
 * back as itself (same id, name, role, invite, raised hand in its place,
 * floor, mute), admitted as before even into a locked lesson or one with
 * the waiting room on. A member whose old connection has not closed yet
 * moves to the new session: *replaced is that old session (the caller
 * closes it), else 0; its transport flags are cleared. A new secret is
 * made (m->rejoin); the old one no longer works. CC_ENOTFOUND (no lesson
 * has the code), CC_ECLOSED (ended), CC_EAUTH (no member of that lesson
 * has this secret: the caller joins as new), CC_ENOSPC (full),
 * CC_ECRYPTO. */
int cc_lessons_rejoin(cc_lessons *r, const char *code, const char *secret,
                      uint64_t session, cc_time_us now, cc_lesson **out_lesson,
                      cc_member **out_member, uint64_t *replaced);
/* A member removed or refused by the teacher may not come back with its
 * secret (it may still join as new, if the lesson lets it). */
void cc_lesson_revoke_rejoin(cc_lesson *l, uint32_t member_id);

/* A lesson as a restart finds it in the store, as values. */
typedef struct cc_lesson_saved {
    const char *code;       /* 1..16 of [0-9A-Za-z] */
    const char *title, *teacher_name;
    cc_lesson_kind kind;
    cc_lesson_state state;
    int64_t owner;
    const unsigned char *teacher_hash, *viewer_hash; /* 32 bytes each */
    int locked, waiting_room, last_n, chat_students;
    cc_time_us created_at;
    cc_time_us teacher_gone_at; /* the absence clock (no teacher is in) */
    cc_time_us ended_at;        /* CC_TIME_NEVER unless ended */
} cc_lesson_saved;
/* A lesson back with its code, tokens (as hashes) and settings, no member
 * and a new room id; not pinned. CC_EINVAL (bad code or values), CC_EEXIST
 * (the code is in use), CC_ENOSPC, CC_ENOMEM. */
int cc_lessons_restore(cc_lessons *r, const cc_lesson_saved *s, cc_lesson **out);
/* A student or school that may come back, into l->departed (left_at,
 * joined_at, id, name, role, invite, flags, hand_seq, rejoin hash as
 * given). Member ids stay unique: CC_EEXIST if the lesson has that id
 * already; later ids are made above it. CC_EINVAL for a teacher or an
 * id of 0. */
int cc_lesson_restore_departed(cc_lessons *r, cc_lesson *l, const cc_departed *d);
/* An invite back in its place (the next one; iv->revoked keeps it dead).
 * CC_ELIMIT past the max. */
int cc_lesson_restore_invite(cc_lesson *l, const cc_invite *iv);
/* A chat message back at the end of the history (text copied). */
int cc_lesson_chat_restore(cc_lesson *l, const cc_chat_msg *msg);

/* Protocol error code for a negative return of the functions above:
 * CC_ENOTFOUND "no_such_lesson", CC_EAUTH "bad_token", CC_ECLOSED
 * "lesson_ended", CC_ENOSPC "server_busy", CC_ELIMIT "too_many_lessons",
 * CC_EINVAL "bad_request", anything else "server_error". */
const char *cc_lesson_err_code(int err);

const char *cc_lesson_state_name(cc_lesson_state s); /* "waiting" ... */
const char *cc_role_name(cc_role r);                 /* "teacher" ... */

#endif
