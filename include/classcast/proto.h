/* classcast: the WebSocket signalling protocol of docs/protocol.md, JSON text
 * <-> C structs, with jansson. Pure: no I/O, no state, no clock.
 * Thread: the control thread (any thread works: nothing is shared). */
#ifndef CLASSCAST_PROTO_H
#define CLASSCAST_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/slot.h"

/* A frame larger than this is refused with too_big, without parsing. */
#define CC_PROTO_MAX_FRAME 65536
/* Limits counted in Unicode code points (docs/protocol.md). */
#define CC_PROTO_NAME_MAX_CP 64
#define CC_PROTO_TITLE_MAX_CP 120
#define CC_PROTO_ID_MAX_CP 64
#define CC_PROTO_MAX_TRACKS 24
/* Seminars: chat text, a removal or refusal reason. */
#define CC_PROTO_TEXT_MAX_CP 500
#define CC_PROTO_REASON_MAX_CP 200
#define CC_PROTO_LAST_N_MAX 8

/* Buffer sizes (bytes, with the NUL). A code point is at most 4 bytes of
 * UTF-8; in a re-encoded JSON string at most 6 ("\u001f"), plus 2 quotes. */
#define CC_PROTO_NAME_CAP (CC_PROTO_NAME_MAX_CP * 4 + 4)   /* 260 */
#define CC_PROTO_TITLE_CAP (CC_PROTO_TITLE_MAX_CP * 4 + 20) /* 500 */
#define CC_PROTO_ID_CAP (CC_PROTO_ID_MAX_CP * 6 + 16)     /* 400 */
#define CC_PROTO_CODE_CAP 17   /* lesson codes: 1..16 of [0-9A-Za-z] */
#define CC_PROTO_TOKEN_CAP 80  /* tokens: 1..79 of [0-9A-Za-z_-] */
#define CC_PROTO_MID_CAP 64    /* mids: 1..63 printable ASCII, no space */
#define CC_PROTO_TEXT_CAP (CC_PROTO_TEXT_MAX_CP * 4 + 4)     /* 2004 */
#define CC_PROTO_REASON_CAP (CC_PROTO_REASON_MAX_CP * 4 + 4) /* 804 */
#define CC_PROTO_MEMBER_CAP 12 /* member ids: "m" + 1..10 digits */
/* capture_start: 1..3 sources (one per slot), each "pipeline" or
 * "pipeline:slot"; a pipeline name is 1..63 of [A-Za-z0-9_-]. A display is
 * 1..63 of [A-Za-z0-9:._-] (":0", ":99.0"). */
#define CC_PROTO_MAX_SOURCES CC_SLOT_COUNT
#define CC_PROTO_PIPELINE_CAP 64
#define CC_PROTO_SOURCE_CAP (CC_PROTO_PIPELINE_CAP + 8) /* + ":screen" */
#define CC_PROTO_DISPLAY_CAP 64

typedef enum {
    CC_PROTO_NONE = -1, /* only after a failed parse: type missing/unknown */
    CC_PROTO_CREATE = 0,
    CC_PROTO_RESUME,
    CC_PROTO_JOIN,
    CC_PROTO_START,
    CC_PROTO_END,
    CC_PROTO_PUBLISH,
    CC_PROTO_SUBSCRIBE,
    CC_PROTO_RENEGOTIATE,
    CC_PROTO_UNPUBLISH,
    CC_PROTO_LEAVE,
    CC_PROTO_PING,
    /* local publishing on the classroom computer (teacher, loopback only) */
    CC_PROTO_CAPTURE_LIST,
    CC_PROTO_CAPTURE_START,
    CC_PROTO_CAPTURE_STOP,
    /* seminars (docs/protocol.md "Seminars") */
    CC_PROTO_HAND,          /* flag: up */
    CC_PROTO_FLOOR,         /* member, flag: grant, teacher_only */
    CC_PROTO_MUTE,          /* member, flag: muted */
    CC_PROTO_REMOVE,        /* member, reason */
    CC_PROTO_LOCK,          /* flag: locked */
    CC_PROTO_WAITING_ROOM,  /* flag: on */
    CC_PROTO_ADMIT,         /* member */
    CC_PROTO_REFUSE,        /* member, reason */
    CC_PROTO_LAST_N,        /* n */
    CC_PROTO_CHAT_MODE,     /* flag: students */
    CC_PROTO_CHAT,          /* text */
    CC_PROTO_INVITE_CREATE, /* name: the label (0..64 chars) */
    CC_PROTO_INVITE_REVOKE, /* invite: the invite's id */
    /* a student's or school's page on what it plays */
    CC_PROTO_QUALITY,       /* flag: frozen */
    /* lesson recording (docs/recording.md), teacher only */
    CC_PROTO_RECORD_START,
    CC_PROTO_RECORD_STOP,
    CC_PROTO_TYPE_COUNT
} cc_proto_type;

/* One entry of "tracks": mid -> track name. "camera" / "screen" / "mic"
 * are the teacher's (owner 0) in a subscribe, and the sender's own in a
 * publish; "m7.camera" / "m7.mic" (subscribe only) are member 7's. */
typedef struct cc_proto_track {
    char mid[CC_PROTO_MID_CAP];
    int slot;       /* cc_slot: the kind */
    uint32_t owner; /* 0: the teacher's track, else the member id */
} cc_proto_track;

/* One parsed client request. Which fields are set depends on the type:
 *   create: name, title          resume: code, token      join: code, name
 *   publish / subscribe / renegotiate: sdp, for_publish, tracks
 *   capture_start: sources, n_sources, display ("" if not given)
 *   create: also seminar (1 for "kind":"seminar")
 *   join: also invite (the invite token, "" if none), rejoin (the
 *   member's rejoin secret, "" if none)
 *   hand / lock / waiting_room / chat_mode: flag; floor: member, flag
 *   (grant), teacher_only ("audience":"teacher"); mute: member, flag;
 *   remove / refuse: member, reason; admit: member; last_n: n;
 *   chat: text; invite_create: name (the label); invite_revoke: invite;
 *   quality: flag (frozen)
 * Every other field is zero / "" / NULL. */
typedef struct cc_proto_req {
    cc_proto_type type;
    /* The request's "id" re-encoded as compact JSON ("\"abc\"" or "42"),
     * "" if it had none. Pass it as is to the builders below. */
    char id[CC_PROTO_ID_CAP];
    char name[CC_PROTO_NAME_CAP];
    char title[CC_PROTO_TITLE_CAP];
    char code[CC_PROTO_CODE_CAP];
    char token[CC_PROTO_TOKEN_CAP];
    char *sdp;       /* malloc'd offer, or NULL; cc_proto_req_free frees it */
    int for_publish; /* publish: 1, subscribe: 0, renegotiate: its "for" */
    cc_proto_track tracks[CC_PROTO_MAX_TRACKS]; /* in the order of the JSON */
    int n_tracks;    /* 0 for a subscribe without tracks: default mapping */
    char sources[CC_PROTO_MAX_SOURCES][CC_PROTO_SOURCE_CAP]; /* JSON order */
    int n_sources;
    char display[CC_PROTO_DISPLAY_CAP];
    int seminar;
    char invite[CC_PROTO_TOKEN_CAP];
    char rejoin[CC_PROTO_TOKEN_CAP];
    int flag;
    int teacher_only;
    char member[CC_PROTO_MEMBER_CAP]; /* "m7" as sent */
    uint32_t member_id;               /* 7 */
    int n;
    char text[CC_PROTO_TEXT_CAP];     /* newlines allowed, other controls not */
    char reason[CC_PROTO_REASON_CAP];
} cc_proto_req;

/* Parse one text frame. Returns 0, or a negative CC_E* code with *err_code
 * set to the protocol error code ("bad_json", "too_big", "unknown_type",
 * "bad_request", or "server_error" when out of memory) and an English
 * sentence in msg (truncated to msgcap). Even on failure req->type (or
 * CC_PROTO_NONE) and req->id are filled in as far as they could be read, so
 * the error reply can carry ref and id:
 *     cc_proto_build_error(code, msg, cc_proto_type_name(req.type), req.id)
 * Always call cc_proto_req_free afterwards (safe after a failure). */
int cc_proto_parse(const char *text, size_t len, cc_proto_req *req,
                   const char **err_code, char *msg, size_t msgcap);
void cc_proto_req_free(cc_proto_req *req);

/* Wire name of a request type ("create" ...); NULL for CC_PROTO_NONE or out
 * of range, which the error builder turns into "ref":null. */
const char *cc_proto_type_name(cc_proto_type t);

/* Builders of server -> client messages. Each returns malloc'd compact JSON
 * text (free() it), or NULL when out of memory or when a string argument is
 * not valid UTF-8. `id` is cc_proto_req.id ("" or NULL: no "id" member). */
char *cc_proto_build_error(const char *code, const char *message,
                           const char *ref, const char *id);
/* The same with "retry_after": whole seconds to wait before trying again
 * (code "too_many_tries"). */
char *cc_proto_build_error_wait(const char *code, const char *message,
                                const char *ref, const char *id, int retry_after_s);
char *cc_proto_build_ok(const char *ref, const char *id);
char *cc_proto_build_pong(const char *id);
/* simulcast: the teacher may send camera and screen as several encodings
 * (the server's `simulcast` setting, docs/config.md). */
char *cc_proto_build_created(const char *code, const char *title,
                             const char *token, const char *viewer_token,
                             const char *member, int simulcast, const char *id);
/* state: "waiting" | "live" (| "ended"); role: "teacher" | "student" |
 * "school". rejoin: the member's secret for coming back (NULL or "": left
 * out); hand: its hand's place (students and schools; < 0: left out). */
char *cc_proto_build_joined(const char *code, const char *title,
                            const char *teacher, const char *state,
                            const char *member, const char *role,
                            const char *rejoin, int hand, int simulcast, const char *id);
char *cc_proto_build_answer(int for_publish, const char *sdp, const char *id);
char *cc_proto_build_lesson(const char *state, const char *title,
                            const char *teacher);
struct cc_lesson;
/* The same with the seminar fields: {"type":"lesson","state","title",
 * "teacher","kind":"lesson"|"seminar","locked","waiting_room","last_n",
 * "chat_students"}. */
char *cc_proto_build_lesson_full(const struct cc_lesson *l);
char *cc_proto_build_media(int camera, int screen, int mic);
/* state "connected" if connected, else "closed" */
char *cc_proto_build_transport(int for_publish, int connected);

/* One capture pipeline (a pipelines/<name>.pipe file) for capture_list. */
typedef struct cc_proto_pipeline {
    char name[CC_PROTO_PIPELINE_CAP];
    char description[256]; /* its first comment line, "" if none */
    int slot;              /* cc_slot it publishes into by default */
} cc_proto_pipeline;

struct cc_device; /* include/classcast/devices.h */
/* {"type":"capture_list","pipelines":[{"name","description","slot"}...],
 *  "devices":{"cameras":[{"id","name","api"}...],"microphones":[...],
 *  "screens":[...]},"running":["test-video",...],"display":":0"}
 * running: the comma-separated sources of the lesson's local publisher
 * (NULL or "": none); display: the server's default X display (NULL: the
 * member is left out). */
char *cc_proto_build_capture_list(const cc_proto_pipeline *pipelines,
                                  int n_pipelines,
                                  const struct cc_device *devices,
                                  size_t n_devices, const char *running,
                                  const char *display, const char *id);
/* The capture_failed error: like cc_proto_build_error (ref
 * "capture_start") plus "source": the pipeline that failed (left out if
 * NULL or ""). */
char *cc_proto_build_capture_failed(const char *message, const char *source,
                                    const char *id);

struct cc_lesson; /* include/classcast/lesson.h */
/* {"type":"members","members":[{"id","name","role","watching",
 * "weak_link","frozen","hand","floor",("audience"),"muted","waiting",
 * "publishing","speaking","joined_at"}...],"left":[{"id","name","role",
 * "joined_at","left_at"}...]}: the members in join order, teachers
 * included, then the students and schools that left (lesson.h
 * cc_departed), oldest first. Times are Unix milliseconds: `now` is the
 * clock the lesson's times were taken on and unix_ms the same instant as
 * Unix time. */
char *cc_proto_build_members(const struct cc_lesson *l, int64_t now,
                             int64_t unix_ms);
/* Seminars (docs/protocol.md). */
/* rejoin as in cc_proto_build_joined */
char *cc_proto_build_waiting(const char *code, const char *title, const char *member,
                             const char *rejoin);
char *cc_proto_build_floor(int granted, int teacher_only);
char *cc_proto_build_muted(int muted);
char *cc_proto_build_removed(const char *reason);  /* "type":"removed" */
char *cc_proto_build_refused(const char *reason);  /* "type":"refused" */
/* {"type":"speakers","members":["m7","m9"],"recent":1}: ids[0..n), the
 * guests whose cameras the pages show; the first n_recent have spoken
 * (newest first). */
char *cc_proto_build_speakers(const uint32_t *member_ids, int n, int n_recent);
typedef struct cc_proto_stream {
    uint32_t owner;   /* member id */
    int slot;         /* CC_SLOT_CAMERA or CC_SLOT_MIC */
    const char *name; /* the member's name */
    const char *role; /* "school" | "student" | "teacher" */
} cc_proto_stream;
/* {"type":"streams","streams":[{"id":"m7.camera","member":"m7","name",
 * "role","kind":"camera"}...]} */
char *cc_proto_build_streams(const cc_proto_stream *s, int n);
struct cc_chat_msg;
struct cc_invite;
/* {"type":"chat","from","name","role","text","at"} */
char *cc_proto_build_chat(const struct cc_chat_msg *m);
/* {"type":"chat_history","messages":[<as chat, without "type">...]} oldest
 * first: the lesson's history */
char *cc_proto_build_chat_history(const struct cc_lesson *l);
/* {"type":"invite","invite":{"id","label","token","uses"}} */
char *cc_proto_build_invite(const struct cc_invite *iv, const char *id);
/* {"type":"invites","invites":[...]}: the lesson's invites not revoked */
char *cc_proto_build_invites(const struct cc_lesson *l);
/* {"type":"recording","on":true|false,"started_at":<Unix ms>,"reason":"..."}:
 * to every member when the lesson's recording starts or stops (and after
 * joining while it records). started_at only when on; reason only when it
 * stopped by itself ("quota", "failed", NULL: left out). */
char *cc_proto_build_recording(int on, int64_t started_ms, const char *reason);
/* {"type":"link","weak":true|false}: to a student whose link the SFU found
 * weak (it now gets fewer camera frames), and again when it is good. */
char *cc_proto_build_link(int weak);

#endif
