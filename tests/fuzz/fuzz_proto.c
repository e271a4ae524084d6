/* libFuzzer target for src/signal/proto.c: any bytes go through
 * cc_proto_parse. Invariants: a failure names a protocol error code and
 * a sentence; a success has a known type and bounded, NUL-terminated fields;
 * either way the reply a server would send (error, ok/pong/answer/created/
 * joined) builds, and re-parses as a JSON object that echoes the id. The
 * seminar messages built from the parsed fields (chat, removed, refused,
 * invite) build too. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/lesson.h"
#include "classcast/proto.h"

#define INVARIANT(c)                                                           \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply(char *text, const cc_proto_req *req)
{
    INVARIANT(text != NULL);
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    INVARIANT(json_is_object(o));
    json_t *id = json_object_get(o, "id");
    if (req->id[0]) {
        INVARIANT(id != NULL);
        char *back = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
        INVARIANT(back && strcmp(back, req->id) == 0);
        free(back);
    } else {
        INVARIANT(id == NULL);
    }
    json_decref(o);
    free(text);
}

/* A broadcast (no id): builds and re-parses as an object of that type. */
static void check_msg(char *text, const char *type)
{
    INVARIANT(text != NULL);
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    INVARIANT(json_is_object(o));
    const char *t = json_string_value(json_object_get(o, "type"));
    INVARIANT(t && strcmp(t, type) == 0);
    INVARIANT(json_object_get(o, "id") == NULL);
    json_decref(o);
    free(text);
}

static int terminated(const char *s, size_t cap)
{
    return memchr(s, 0, cap) != NULL;
}

static int known_code(const char *c)
{
    static const char *const codes[] = {"bad_json", "too_big", "unknown_type",
                                        "bad_request", "server_error"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (c && strcmp(c, codes[i]) == 0)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cc_proto_req req;
    const char *code = NULL;
    char msg[200];
    int rc = cc_proto_parse((const char *)data, size, &req, &code, msg,
                            sizeof msg);
    INVARIANT(memchr(req.id, 0, sizeof req.id) != NULL);
    if (rc != 0) {
        INVARIANT(rc < 0 && known_code(code) && msg[0]);
        INVARIANT(req.sdp == NULL);
        check_reply(cc_proto_build_error(code, msg, cc_proto_type_name(req.type),
                                         req.id), &req);
        cc_proto_req_free(&req);
        return 0;
    }
    const char *ref = cc_proto_type_name(req.type);
    INVARIANT(ref != NULL);
    INVARIANT(memchr(req.name, 0, sizeof req.name) != NULL);
    INVARIANT(memchr(req.title, 0, sizeof req.title) != NULL);
    INVARIANT(memchr(req.code, 0, sizeof req.code) != NULL);
    INVARIANT(memchr(req.token, 0, sizeof req.token) != NULL);
    INVARIANT(terminated(req.invite, sizeof req.invite));
    INVARIANT(terminated(req.member, sizeof req.member));
    INVARIANT(terminated(req.text, sizeof req.text));
    INVARIANT(terminated(req.reason, sizeof req.reason));
    INVARIANT(req.flag == 0 || req.flag == 1);
    INVARIANT(req.seminar == 0 || (req.seminar == 1 && req.type == CC_PROTO_CREATE));
    INVARIANT(req.teacher_only == 0 ||
              (req.teacher_only == 1 && req.type == CC_PROTO_FLOOR));
    INVARIANT(req.n >= 0 && req.n <= CC_PROTO_LAST_N_MAX);
    /* a member id is "m<n>" with n > 0 and no leading zero */
    if (req.member[0]) {
        char back[CC_PROTO_MEMBER_CAP];
        INVARIANT(req.member_id != 0);
        snprintf(back, sizeof back, "m%u", (unsigned)req.member_id);
        INVARIANT(strcmp(back, req.member) == 0);
    } else {
        INVARIANT(req.member_id == 0);
    }
    for (const char *p = req.text; *p; p++)
        INVARIANT(((unsigned char)*p >= 0x20 || *p == '\n') && *p != 0x7F);
    for (const char *p = req.reason; *p; p++)
        INVARIANT((unsigned char)*p >= 0x20 && *p != 0x7F);
    INVARIANT(req.n_tracks >= 0 && req.n_tracks <= CC_PROTO_MAX_TRACKS);
    for (int i = 0; i < req.n_tracks; i++) {
        const cc_proto_track *t = &req.tracks[i];
        INVARIANT(t->slot >= 0 && t->slot < CC_SLOT_COUNT);
        /* a member's tracks: camera and mic, and only in a subscribe */
        INVARIANT(t->owner == 0 || (!req.for_publish && t->slot != CC_SLOT_SCREEN));
        for (int k = 0; k < i; k++)
            INVARIANT(req.tracks[k].owner != t->owner || req.tracks[k].slot != t->slot);
        INVARIANT(t->mid[0] && memchr(t->mid, 0, sizeof t->mid) != NULL);
    }
    switch (req.type) {
    case CC_PROTO_CREATE:
        INVARIANT(req.name[0]);
        check_reply(cc_proto_build_created("123456", req.title, "tok", "view",
                                           "m1", 1, req.id), &req);
        break;
    case CC_PROTO_JOIN:
    case CC_PROTO_RESUME:
        INVARIANT(req.code[0]);
        /* A rejoin secret, if any, is a token (cc_proto_parse checked). */
        INVARIANT(req.type == CC_PROTO_JOIN || !req.rejoin[0]);
        INVARIANT(memchr(req.rejoin, 0, sizeof req.rejoin) != NULL);
        check_reply(cc_proto_build_joined(req.code, "t", req.name[0] ? req.name
                                                                    : "x",
                                          "live", "m2", "student", req.rejoin,
                                          req.rejoin[0] ? 1 : -1, 0, req.id),
                    &req);
        break;
    case CC_PROTO_PUBLISH:
    case CC_PROTO_SUBSCRIBE:
    case CC_PROTO_RENEGOTIATE:
        INVARIANT(req.sdp != NULL && req.sdp[0]);
        check_reply(cc_proto_build_answer(req.for_publish, req.sdp, req.id),
                    &req);
        break;
    case CC_PROTO_PING:
        check_reply(cc_proto_build_pong(req.id), &req);
        break;
    case CC_PROTO_FLOOR:
    case CC_PROTO_MUTE:
    case CC_PROTO_ADMIT:
        INVARIANT(req.member[0]);
        check_reply(cc_proto_build_ok(ref, req.id), &req);
        break;
    case CC_PROTO_REMOVE:
    case CC_PROTO_REFUSE:
        INVARIANT(req.member[0]);
        check_msg(req.type == CC_PROTO_REMOVE ? cc_proto_build_removed(req.reason)
                                              : cc_proto_build_refused(req.reason),
                  req.type == CC_PROTO_REMOVE ? "removed" : "refused");
        check_reply(cc_proto_build_ok(ref, req.id), &req);
        break;
    case CC_PROTO_CHAT: {
        INVARIANT(req.text[0]);
        cc_chat_msg m = {.from = "m7", .name = "An", .role = CC_ROLE_SCHOOL,
                         .text = req.text, .at_ms = 1733131200000LL};
        check_msg(cc_proto_build_chat(&m), "chat");
        check_reply(cc_proto_build_ok(ref, req.id), &req);
        break;
    }
    case CC_PROTO_INVITE_CREATE: {
        cc_invite iv = {.id = "i1", .token = "tok", .uses = 0};
        memcpy(iv.label, req.name, sizeof iv.label);
        check_reply(cc_proto_build_invite(&iv, req.id), &req);
        break;
    }
    case CC_PROTO_INVITE_REVOKE:
        INVARIANT(req.invite[0] == 'i');
        check_reply(cc_proto_build_ok(ref, req.id), &req);
        break;
    default:
        check_reply(cc_proto_build_ok(ref, req.id), &req);
        break;
    }
    cc_proto_req_free(&req);
    return 0;
}
