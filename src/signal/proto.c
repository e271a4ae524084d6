/* The signalling protocol of docs/protocol.md: parse client frames into
 * cc_proto_req, build server messages. jansson does the JSON and validates
 * UTF-8; this file adds the protocol's rules (types, fields, limits). */
#include "classcast/proto.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/devices.h"
#include "classcast/err.h"
#include "classcast/lesson.h"

static const char *const type_names[CC_PROTO_TYPE_COUNT] = {
    [CC_PROTO_CREATE] = "create",       [CC_PROTO_RESUME] = "resume",
    [CC_PROTO_JOIN] = "join",           [CC_PROTO_START] = "start",
    [CC_PROTO_END] = "end",             [CC_PROTO_PUBLISH] = "publish",
    [CC_PROTO_SUBSCRIBE] = "subscribe", [CC_PROTO_RENEGOTIATE] = "renegotiate",
    [CC_PROTO_UNPUBLISH] = "unpublish", [CC_PROTO_LEAVE] = "leave",
    [CC_PROTO_PING] = "ping",           [CC_PROTO_CAPTURE_LIST] = "capture_list",
    [CC_PROTO_CAPTURE_START] = "capture_start",
    [CC_PROTO_CAPTURE_STOP] = "capture_stop",
    [CC_PROTO_HAND] = "hand",           [CC_PROTO_FLOOR] = "floor",
    [CC_PROTO_MUTE] = "mute",           [CC_PROTO_REMOVE] = "remove",
    [CC_PROTO_LOCK] = "lock",           [CC_PROTO_WAITING_ROOM] = "waiting_room",
    [CC_PROTO_ADMIT] = "admit",         [CC_PROTO_REFUSE] = "refuse",
    [CC_PROTO_LAST_N] = "last_n",       [CC_PROTO_CHAT_MODE] = "chat_mode",
    [CC_PROTO_CHAT] = "chat",           [CC_PROTO_INVITE_CREATE] = "invite_create",
    [CC_PROTO_INVITE_REVOKE] = "invite_revoke",
    [CC_PROTO_QUALITY] = "quality",
    [CC_PROTO_RECORD_START] = "record_start",
    [CC_PROTO_RECORD_STOP] = "record_stop",
};

static const char *const slot_names[CC_SLOT_COUNT] = {
    [CC_SLOT_CAMERA] = "camera", [CC_SLOT_SCREEN] = "screen",
    [CC_SLOT_MIC] = "mic",
};

const char *cc_proto_type_name(cc_proto_type t)
{
    if ((int)t < 0 || t >= CC_PROTO_TYPE_COUNT)
        return NULL;
    return type_names[t];
}

const char *cc_slot_name(int slot)
{
    if (slot < 0 || slot >= CC_SLOT_COUNT)
        return NULL;
    return slot_names[slot];
}

int cc_slot_from_name(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < CC_SLOT_COUNT; i++)
        if (strcmp(s, slot_names[i]) == 0)
            return i;
    return -1;
}

/* ---- parsing ---------------------------------------------------------- */

typedef struct perr {
    const char **code;
    char *msg;
    size_t cap;
} perr;

__attribute__((format(printf, 4, 5)))
static int fail(perr *e, int rc, const char *code, const char *fmt, ...)
{
    if (e->code)
        *e->code = code;
    if (e->msg && e->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, e->cap, fmt, ap);
        va_end(ap);
        /* jansson's error text quotes the input ("near '...'"), possibly cut
         * inside a UTF-8 sequence: keep the sentence printable ASCII so it
         * is safe to log and to put into the error reply. */
        for (char *p = e->msg; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7F)
                *p = '?';
    }
    return rc;
}

#define BAD(e, ...) fail((e), CC_EPROTO, "bad_request", __VA_ARGS__)

/* Code points in valid UTF-8 (jansson has checked it): count the bytes that
 * are not continuation bytes. *ctrl is set if a C0 control or DEL occurs. */
static size_t utf8_count(const char *s, size_t n, int *ctrl)
{
    size_t cp = 0;
    *ctrl = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) != 0x80)
            cp++;
        if (c < 0x20 || c == 0x7F)
            *ctrl = 1;
    }
    return cp;
}

/* get_text flags */
#define TEXT_NOT_BLANK 0x1u /* not only spaces (and newlines, with NEWLINE) */
#define TEXT_NEWLINE 0x2u   /* "\n" allowed (chat); other controls never */

/* A display text (name, title, chat): a JSON string of min..max code
 * points, no control characters (but newlines with TEXT_NEWLINE); a name
 * must not be blank (TEXT_NOT_BLANK). */
static int get_text(perr *e, json_t *obj, const char *key, int required,
                    size_t min_cp, size_t max_cp, unsigned flags, char *out,
                    size_t cap)
{
    json_t *v = json_object_get(obj, key);
    out[0] = 0;
    if (!v) {
        if (required)
            return BAD(e, "The field \"%s\" is missing.", key);
        return 0;
    }
    if (!json_is_string(v))
        return BAD(e, "The field \"%s\" must be a string.", key);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    int ctrl;
    size_t cp = utf8_count(s, n, &ctrl);
    if (ctrl && (flags & TEXT_NEWLINE)) {
        ctrl = 0;
        for (size_t i = 0; i < n && !ctrl; i++) {
            unsigned char c = (unsigned char)s[i];
            ctrl = (c < 0x20 && c != '\n') || c == 0x7F;
        }
    }
    if (cp < min_cp)
        return BAD(e, "The field \"%s\" is empty.", key);
    if (cp > max_cp)
        return BAD(e, "The field \"%s\" is longer than %zu characters.", key,
                   max_cp);
    if (ctrl)
        return BAD(e, "The field \"%s\" contains control characters.", key);
    if (n >= cap) /* cannot happen with the caps of proto.h; stay safe */
        return BAD(e, "The field \"%s\" is too long.", key);
    if (flags & TEXT_NOT_BLANK) {
        size_t i = 0;
        while (i < n && (s[i] == ' ' || (s[i] == '\n' && (flags & TEXT_NEWLINE))))
            i++;
        if (i == n)
            return BAD(e, "The field \"%s\" is blank.", key);
    }
    memcpy(out, s, n + 1);
    return 0;
}

static int token_char(unsigned char c, int allow_url)
{
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
        (c >= 'a' && c <= 'z'))
        return 1;
    return allow_url && (c == '-' || c == '_');
}

/* code / token: a required string of 1..cap-1 restricted ASCII chars. */
static int get_word(perr *e, json_t *obj, const char *key, int allow_url,
                    char *out, size_t cap)
{
    json_t *v = json_object_get(obj, key);
    out[0] = 0;
    if (!v)
        return BAD(e, "The field \"%s\" is missing.", key);
    if (!json_is_string(v))
        return BAD(e, "The field \"%s\" must be a string.", key);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0)
        return BAD(e, "The field \"%s\" is empty.", key);
    if (n >= cap)
        return BAD(e, "The field \"%s\" is longer than %zu characters.", key,
                   cap - 1);
    for (size_t i = 0; i < n; i++)
        if (!token_char((unsigned char)s[i], allow_url))
            return BAD(e, "The field \"%s\" contains a character that is not "
                          "allowed.", key);
    memcpy(out, s, n + 1);
    return 0;
}

static int get_sdp(perr *e, json_t *obj, cc_proto_req *req)
{
    json_t *v = json_object_get(obj, "sdp");
    if (!v)
        return BAD(e, "The field \"sdp\" is missing.");
    if (!json_is_string(v))
        return BAD(e, "The field \"sdp\" must be a string.");
    size_t n = json_string_length(v);
    if (n == 0)
        return BAD(e, "The field \"sdp\" is empty.");
    req->sdp = malloc(n + 1);
    if (!req->sdp)
        return fail(e, CC_ENOMEM, "server_error", "Out of memory.");
    memcpy(req->sdp, json_string_value(v), n + 1);
    return 0;
}

/* An optional code / token: absent is "", present as get_word. */
static int get_word_opt(perr *e, json_t *obj, const char *key, int allow_url,
                        char *out, size_t cap)
{
    out[0] = 0;
    if (!json_object_get(obj, key))
        return 0;
    return get_word(e, obj, key, allow_url, out, cap);
}

/* A member id "m<n>": "m" and 1..10 digits without a leading zero, n in
 * 1..4294967295. Returns n, or 0 if s[0..len) is not one. */
static uint32_t member_id_of(const char *s, size_t len)
{
    if (len < 2 || len > 11 || s[0] != 'm' || s[1] == '0')
        return 0;
    uint64_t v = 0;
    for (size_t i = 1; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    return v <= UINT32_MAX ? (uint32_t)v : 0;
}

/* "member": a required member id -> req->member, req->member_id. */
static int get_member(perr *e, json_t *obj, cc_proto_req *req)
{
    json_t *v = json_object_get(obj, "member");
    if (!v)
        return BAD(e, "The field \"member\" is missing.");
    if (!json_is_string(v))
        return BAD(e, "The field \"member\" must be a string.");
    size_t n = json_string_length(v);
    uint32_t id = member_id_of(json_string_value(v), n);
    if (!id || n >= sizeof req->member)
        return BAD(e, "The field \"member\" must be a member id such as "
                      "\"m7\".");
    memcpy(req->member, json_string_value(v), n + 1);
    req->member_id = id;
    return 0;
}

/* A required JSON true / false -> *out 1 / 0. */
static int get_bool(perr *e, json_t *obj, const char *key, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return BAD(e, "The field \"%s\" is missing.", key);
    if (!json_is_boolean(v))
        return BAD(e, "The field \"%s\" must be true or false.", key);
    *out = json_is_true(v);
    return 0;
}

/* invite_revoke "invite": an invite id, "i" and 1..4 digits. */
static int get_invite_id(perr *e, json_t *obj, cc_proto_req *req)
{
    json_t *v = json_object_get(obj, "invite");
    if (!v)
        return BAD(e, "The field \"invite\" is missing.");
    if (!json_is_string(v))
        return BAD(e, "The field \"invite\" must be a string.");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    int ok = n >= 2 && n <= 5 && s[0] == 'i';
    for (size_t i = 1; ok && i < n; i++)
        ok = s[i] >= '0' && s[i] <= '9';
    if (!ok)
        return BAD(e, "The field \"invite\" must be an invite id such as "
                      "\"i1\".");
    memcpy(req->invite, s, n + 1);
    return 0;
}

/* A track name of "tracks": "camera" / "screen" / "mic" (owner 0), or, in
 * a subscribe only, "m<id>.camera" / "m<id>.mic" (owner id). Returns the
 * slot, or -1. */
static int track_of(const char *s, size_t len, int for_publish, uint32_t *owner)
{
    *owner = 0;
    if (strlen(s) != len)
        return -1;
    int slot = cc_slot_from_name(s);
    if (slot >= 0 || for_publish)
        return slot;
    const char *dot = memchr(s, '.', len);
    if (!dot)
        return -1;
    uint32_t id = member_id_of(s, (size_t)(dot - s));
    slot = cc_slot_from_name(dot + 1);
    if (!id || (slot != CC_SLOT_CAMERA && slot != CC_SLOT_MIC))
        return -1;
    *owner = id;
    return slot;
}

/* "tracks": {"<mid>": "<track>", ...}; mids are unique (duplicate keys are
 * refused by the JSON parser), tracks (owner, slot) too. */
static int get_tracks(perr *e, json_t *obj, int required, cc_proto_req *req)
{
    json_t *v = json_object_get(obj, "tracks");
    if (!v) {
        if (required)
            return BAD(e, "The field \"tracks\" is missing.");
        return 0;
    }
    if (!json_is_object(v))
        return BAD(e, "The field \"tracks\" must be an object mapping mids to "
                      "\"camera\", \"screen\" or \"mic\".");
    if (json_object_size(v) > CC_PROTO_MAX_TRACKS)
        return BAD(e, "The field \"tracks\" has more than %d entries.",
                   CC_PROTO_MAX_TRACKS);
    if (required && json_object_size(v) == 0)
        return BAD(e, "The field \"tracks\" is empty.");
    const char *mid;
    json_t *val;
    json_object_foreach(v, mid, val)
    {
        size_t n = strlen(mid);
        if (n == 0 || n >= CC_PROTO_MID_CAP)
            return BAD(e, "A mid in \"tracks\" is empty or too long.");
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)mid[i] <= 0x20 || (unsigned char)mid[i] >= 0x7F)
                return BAD(e, "A mid in \"tracks\" contains a character that "
                              "is not allowed.");
        if (req->n_tracks >= CC_PROTO_MAX_TRACKS) /* checked above */
            return BAD(e, "The field \"tracks\" has too many entries.");
        uint32_t owner = 0;
        int s = json_is_string(val)
                    ? track_of(json_string_value(val), json_string_length(val),
                               req->for_publish, &owner)
                    : -1;
        if (s < 0) {
            if (req->for_publish)
                return BAD(e, "The track \"%s\" must be \"camera\", "
                              "\"screen\" or \"mic\".", mid);
            return BAD(e, "The track \"%s\" must be \"camera\", \"screen\", "
                          "\"mic\", or a member's \"m<id>.camera\" or "
                          "\"m<id>.mic\".", mid);
        }
        for (int i = 0; i < req->n_tracks; i++)
            if (req->tracks[i].owner == owner && req->tracks[i].slot == s) {
                if (owner)
                    return BAD(e, "Two tracks are mapped to \"m%u.%s\".",
                               (unsigned)owner, cc_slot_name(s));
                return BAD(e, "Two tracks are mapped to \"%s\".",
                           cc_slot_name(s));
            }
        cc_proto_track *t = &req->tracks[req->n_tracks++];
        memcpy(t->mid, mid, n + 1);
        t->slot = s;
        t->owner = owner;
    }
    return 0;
}

/* "id": a string of at most 64 code points or an integer, re-encoded. */
static int get_id(perr *e, json_t *obj, cc_proto_req *req)
{
    json_t *v = json_object_get(obj, "id");
    if (!v)
        return 0;
    if (json_is_string(v)) {
        int ctrl;
        if (utf8_count(json_string_value(v), json_string_length(v), &ctrl) >
            CC_PROTO_ID_MAX_CP)
            return BAD(e, "The field \"id\" is longer than %d characters.",
                       CC_PROTO_ID_MAX_CP);
    } else if (!json_is_integer(v)) {
        return BAD(e, "The field \"id\" must be a string or an integer.");
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        return fail(e, CC_ENOMEM, "server_error", "Out of memory.");
    size_t n = strlen(s);
    int rc = 0;
    if (n >= sizeof req->id) /* cannot happen: see CC_PROTO_ID_CAP */
        rc = BAD(e, "The field \"id\" is too long.");
    else
        memcpy(req->id, s, n + 1);
    free(s);
    return rc;
}

static int pipeline_char(unsigned char c)
{
    return token_char(c, 1);
}

/* capture_start "sources": ["screen", "test-video:camera", ...]: 1..3
 * distinct entries, each a pipeline name with an optional ":slot". */
static int get_sources(perr *e, json_t *obj, cc_proto_req *req)
{
    json_t *v = json_object_get(obj, "sources");
    if (!v)
        return BAD(e, "The field \"sources\" is missing.");
    if (!json_is_array(v))
        return BAD(e, "The field \"sources\" must be an array of pipeline "
                      "names.");
    size_t n = json_array_size(v);
    if (n == 0)
        return BAD(e, "The field \"sources\" is empty.");
    if (n > CC_PROTO_MAX_SOURCES)
        return BAD(e, "The field \"sources\" has more than %d entries.",
                   (int)CC_PROTO_MAX_SOURCES);
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(v, i);
        if (!json_is_string(it))
            return BAD(e, "Each source must be a string.");
        const char *s = json_string_value(it);
        size_t len = json_string_length(it);
        const char *colon = memchr(s, ':', len);
        size_t name_len = colon ? (size_t)(colon - s) : len;
        if (name_len == 0 || name_len >= CC_PROTO_PIPELINE_CAP)
            return BAD(e, "A source name is empty or longer than %d "
                          "characters.", CC_PROTO_PIPELINE_CAP - 1);
        for (size_t k = 0; k < name_len; k++)
            if (!pipeline_char((unsigned char)s[k]))
                return BAD(e, "A source name contains a character that is "
                              "not allowed (A-Z a-z 0-9 - _).");
        if (colon) {
            size_t sl = len - name_len - 1;
            char slot[8];
            if (sl == 0 || sl >= sizeof slot)
                return BAD(e, "A source's slot must be \"camera\", "
                              "\"screen\" or \"mic\".");
            memcpy(slot, colon + 1, sl);
            slot[sl] = 0;
            if (strlen(slot) != sl || cc_slot_from_name(slot) < 0)
                return BAD(e, "A source's slot must be \"camera\", "
                              "\"screen\" or \"mic\".");
        }
        for (int k = 0; k < req->n_sources; k++)
            if (strcmp(req->sources[k], s) == 0)
                return BAD(e, "The source \"%s\" is named twice.", s);
        memcpy(req->sources[req->n_sources++], s, len + 1);
    }
    return 0;
}

/* capture_start "display": optional, 1..63 of [A-Za-z0-9:._-]. */
static int get_display(perr *e, json_t *obj, cc_proto_req *req)
{
    json_t *v = json_object_get(obj, "display");
    if (!v)
        return 0;
    if (!json_is_string(v))
        return BAD(e, "The field \"display\" must be a string.");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n >= sizeof req->display)
        return BAD(e, "The field \"display\" is empty or too long.");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!token_char(c, 1) && c != ':' && c != '.')
            return BAD(e, "The field \"display\" contains a character that "
                          "is not allowed.");
    }
    memcpy(req->display, s, n + 1);
    return 0;
}

static int parse_fields(perr *e, json_t *root, cc_proto_req *req)
{
    int rc = 0;
    switch (req->type) {
    case CC_PROTO_CREATE: {
        if ((rc = get_text(e, root, "name", 1, 1, CC_PROTO_NAME_MAX_CP,
                           TEXT_NOT_BLANK, req->name, sizeof req->name)))
            return rc;
        if ((rc = get_text(e, root, "title", 0, 0, CC_PROTO_TITLE_MAX_CP, 0,
                           req->title, sizeof req->title)))
            return rc;
        json_t *k = json_object_get(root, "kind");
        if (!k)
            return 0;
        const char *ks = json_is_string(k) ? json_string_value(k) : "";
        if (strcmp(ks, "seminar") == 0)
            req->seminar = 1;
        else if (strcmp(ks, "lesson") != 0)
            return BAD(e, "The field \"kind\" must be \"lesson\" or "
                          "\"seminar\".");
        return 0;
    }
    case CC_PROTO_RESUME:
        if ((rc = get_word(e, root, "code", 0, req->code, sizeof req->code)))
            return rc;
        return get_word(e, root, "token", 1, req->token, sizeof req->token);
    case CC_PROTO_JOIN:
        if ((rc = get_word(e, root, "code", 0, req->code, sizeof req->code)))
            return rc;
        if ((rc = get_text(e, root, "name", 1, 1, CC_PROTO_NAME_MAX_CP,
                           TEXT_NOT_BLANK, req->name, sizeof req->name)))
            return rc;
        if ((rc = get_word_opt(e, root, "invite", 1, req->invite,
                               sizeof req->invite)))
            return rc;
        return get_word_opt(e, root, "rejoin", 1, req->rejoin,
                            sizeof req->rejoin);
    case CC_PROTO_PUBLISH:
    case CC_PROTO_SUBSCRIBE:
    case CC_PROTO_RENEGOTIATE:
        req->for_publish = req->type == CC_PROTO_PUBLISH;
        if (req->type == CC_PROTO_RENEGOTIATE) {
            json_t *f = json_object_get(root, "for");
            const char *fs = json_is_string(f) ? json_string_value(f) : NULL;
            if (fs && strcmp(fs, "publish") == 0)
                req->for_publish = 1;
            else if (fs && strcmp(fs, "subscribe") == 0)
                req->for_publish = 0;
            else
                return BAD(e, "The field \"for\" must be \"publish\" or "
                              "\"subscribe\".");
        }
        if ((rc = get_sdp(e, root, req)))
            return rc;
        /* A publisher must say which mid is which slot; a subscriber may
         * rely on the default order. */
        return get_tracks(e, root, req->for_publish, req);
    case CC_PROTO_CAPTURE_START:
        if ((rc = get_sources(e, root, req)))
            return rc;
        return get_display(e, root, req);
    case CC_PROTO_HAND:
        return get_bool(e, root, "up", &req->flag);
    case CC_PROTO_FLOOR: {
        if ((rc = get_member(e, root, req)) ||
            (rc = get_bool(e, root, "grant", &req->flag)))
            return rc;
        json_t *a = json_object_get(root, "audience");
        if (!a)
            return 0;
        const char *as = json_is_string(a) ? json_string_value(a) : "";
        if (strcmp(as, "teacher") == 0)
            req->teacher_only = 1;
        else if (strcmp(as, "all") != 0)
            return BAD(e, "The field \"audience\" must be \"all\" or "
                          "\"teacher\".");
        return 0;
    }
    case CC_PROTO_MUTE:
        if ((rc = get_member(e, root, req)))
            return rc;
        return get_bool(e, root, "muted", &req->flag);
    case CC_PROTO_REMOVE:
    case CC_PROTO_REFUSE:
        if ((rc = get_member(e, root, req)))
            return rc;
        return get_text(e, root, "reason", 0, 0, CC_PROTO_REASON_MAX_CP, 0,
                        req->reason, sizeof req->reason);
    case CC_PROTO_ADMIT:
        return get_member(e, root, req);
    case CC_PROTO_LOCK:
        return get_bool(e, root, "locked", &req->flag);
    case CC_PROTO_WAITING_ROOM:
        return get_bool(e, root, "on", &req->flag);
    case CC_PROTO_CHAT_MODE:
        return get_bool(e, root, "students", &req->flag);
    case CC_PROTO_LAST_N: {
        json_t *v = json_object_get(root, "n");
        if (!v)
            return BAD(e, "The field \"n\" is missing.");
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > CC_PROTO_LAST_N_MAX)
            return BAD(e, "The field \"n\" must be an integer from 0 to %d.",
                       CC_PROTO_LAST_N_MAX);
        req->n = (int)json_integer_value(v);
        return 0;
    }
    case CC_PROTO_CHAT:
        return get_text(e, root, "text", 1, 1, CC_PROTO_TEXT_MAX_CP,
                        TEXT_NOT_BLANK | TEXT_NEWLINE, req->text,
                        sizeof req->text);
    case CC_PROTO_INVITE_CREATE:
        return get_text(e, root, "label", 0, 0, CC_PROTO_NAME_MAX_CP, 0,
                        req->name, sizeof req->name);
    case CC_PROTO_INVITE_REVOKE:
        return get_invite_id(e, root, req);
    case CC_PROTO_QUALITY:
        return get_bool(e, root, "frozen", &req->flag);
    default: /* no fields; unknown members are ignored */
        return 0;
    }
}

int cc_proto_parse(const char *text, size_t len, cc_proto_req *req,
                   const char **err_code, char *msg, size_t msgcap)
{
    perr e = {err_code, msg, msgcap};
    memset(req, 0, sizeof *req);
    req->type = CC_PROTO_NONE;
    if (msg && msgcap)
        msg[0] = 0;
    if (len > CC_PROTO_MAX_FRAME)
        return fail(&e, CC_ENOSPC, "too_big",
                    "The message is larger than %d bytes.", CC_PROTO_MAX_FRAME);
    if (!text || len == 0)
        return fail(&e, CC_EINVAL, "bad_json", "The message is empty.");

    json_error_t jerr;
    /* Without JSON_ALLOW_NUL jansson refuses "\u0000" and raw NUL bytes, and
     * it refuses invalid UTF-8: every string we copy out is a C string. */
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fail(&e, CC_EINVAL, "bad_json",
                    "The message is not valid JSON (%s at line %d, column %d).",
                    jerr.text, jerr.line, jerr.column);
    int rc;
    if (!json_is_object(root)) {
        rc = fail(&e, CC_EINVAL, "bad_json",
                  "The message must be a JSON object.");
        goto out;
    }
    /* Read the id first so that even an error reply can echo it. */
    int id_rc = get_id(&e, root, req);
    if (id_rc)
        req->id[0] = 0;

    json_t *t = json_object_get(root, "type");
    if (!json_is_string(t)) {
        rc = fail(&e, CC_EUNSUPPORTED, "unknown_type",
                  "The message has no string \"type\".");
        goto out;
    }
    const char *ts = json_string_value(t);
    for (int i = 0; i < CC_PROTO_TYPE_COUNT; i++)
        if (type_names[i] && strcmp(ts, type_names[i]) == 0)
            req->type = (cc_proto_type)i;
    if (req->type == CC_PROTO_NONE) {
        rc = fail(&e, CC_EUNSUPPORTED, "unknown_type",
                  "The message type is not known.");
        goto out;
    }
    if (id_rc) {
        /* get_id filled err_code and msg */
        rc = id_rc;
        goto out;
    }
    rc = parse_fields(&e, root, req);
out:
    json_decref(root);
    if (rc) {
        free(req->sdp);
        req->sdp = NULL;
    }
    return rc;
}

void cc_proto_req_free(cc_proto_req *req)
{
    if (!req)
        return;
    free(req->sdp);
    req->sdp = NULL;
}

/* ---- building --------------------------------------------------------- */

/* Steals obj. Adds "id" (a JSON text from cc_proto_req.id) if given. */
static char *finish(json_t *obj, const char *id)
{
    char *out = NULL;
    if (!obj)
        return NULL;
    if (id && id[0]) {
        json_t *v = json_loads(id, JSON_DECODE_ANY, NULL);
        if (!v || json_object_set_new(obj, "id", v) != 0)
            goto out;
    }
    out = json_dumps(obj, JSON_COMPACT);
out:
    json_decref(obj);
    return out;
}

/* json_pack fails (returns NULL) on a NULL "s" or invalid UTF-8, which
 * makes the builders return NULL: the caller answers server_error. */

char *cc_proto_build_error(const char *code, const char *message,
                           const char *ref, const char *id)
{
    return finish(json_pack("{s:s, s:s, s:s, s:s?}", "type", "error", "code",
                            code, "message", message ? message : "", "ref", ref),
                  id);
}

char *cc_proto_build_error_wait(const char *code, const char *message,
                                const char *ref, const char *id, int retry_after_s)
{
    return finish(json_pack("{s:s, s:s, s:s, s:s?, s:i}", "type", "error", "code",
                            code, "message", message ? message : "", "ref", ref,
                            "retry_after", retry_after_s),
                  id);
}

char *cc_proto_build_ok(const char *ref, const char *id)
{
    return finish(json_pack("{s:s, s:s}", "type", "ok", "ref", ref), id);
}

char *cc_proto_build_pong(const char *id)
{
    return finish(json_pack("{s:s}", "type", "pong"), id);
}

char *cc_proto_build_created(const char *code, const char *title,
                             const char *token, const char *viewer_token,
                             const char *member, int simulcast, const char *id)
{
    /* simulcast: the SFU takes the teacher's camera and screen as several
     * encodings (RFC 8853) and gives each student the one its link
     * carries; the page sends them when it can. */
    return finish(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "type",
                            "created", "code", code, "title",
                            title ? title : "", "token", token, "viewer_token",
                            viewer_token, "member", member, "role", "teacher",
                            "simulcast", simulcast ? 1 : 0),
                  id);
}

/* Adds "rejoin" (if given) to a joined / waiting object. */
static json_t *with_rejoin(json_t *o, const char *rejoin)
{
    if (o && rejoin && rejoin[0] &&
        json_object_set_new(o, "rejoin", json_string(rejoin)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *cc_proto_build_joined(const char *code, const char *title,
                            const char *teacher, const char *state,
                            const char *member, const char *role,
                            const char *rejoin, int hand, int simulcast, const char *id)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type",
                          "joined", "code", code, "title", title ? title : "",
                          "teacher", teacher ? teacher : "", "state", state,
                          "member", member, "role", role);
    if (o && hand >= 0 && json_object_set_new(o, "hand", json_integer(hand)) != 0) {
        json_decref(o);
        o = NULL;
    }
    /* A teacher (resuming) may send simulcast, as after "created". */
    if (o && strcmp(role, "teacher") == 0 &&
        json_object_set_new(o, "simulcast", json_boolean(simulcast)) != 0) {
        json_decref(o);
        o = NULL;
    }
    return finish(with_rejoin(o, rejoin), id);
}

char *cc_proto_build_answer(int for_publish, const char *sdp, const char *id)
{
    return finish(json_pack("{s:s, s:s, s:s}", "type", "answer", "for",
                            for_publish ? "publish" : "subscribe", "sdp", sdp),
                  id);
}

char *cc_proto_build_lesson(const char *state, const char *title,
                            const char *teacher)
{
    return finish(json_pack("{s:s, s:s, s:s, s:s}", "type", "lesson", "state",
                            state, "title", title ? title : "", "teacher",
                            teacher ? teacher : ""),
                  NULL);
}

char *cc_proto_build_media(int camera, int screen, int mic)
{
    return finish(json_pack("{s:s, s:b, s:b, s:b}", "type", "media", "camera",
                            camera != 0, "screen", screen != 0, "mic", mic != 0),
                  NULL);
}

char *cc_proto_build_transport(int for_publish, int connected)
{
    return finish(json_pack("{s:s, s:s, s:s}", "type", "transport", "for",
                            for_publish ? "publish" : "subscribe", "state",
                            connected ? "connected" : "closed"),
                  NULL);
}

char *cc_proto_build_recording(int on, int64_t started_ms, const char *reason)
{
    json_t *o = json_pack("{s:s, s:b}", "type", "recording", "on", on != 0);
    if (o && on && json_object_set_new(o, "started_at", json_integer(started_ms)) != 0) {
        json_decref(o);
        return NULL;
    }
    if (o && reason && reason[0] &&
        json_object_set_new(o, "reason", json_string(reason)) != 0) {
        json_decref(o);
        return NULL;
    }
    return finish(o, NULL);
}

char *cc_proto_build_link(int weak)
{
    return finish(json_pack("{s:s, s:b}", "type", "link", "weak", weak != 0), NULL);
}

char *cc_proto_build_lesson_full(const struct cc_lesson *l)
{
    if (!l)
        return NULL;
    return finish(json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:i, s:b}",
                            "type", "lesson", "state",
                            cc_lesson_state_name(l->state), "title", l->title,
                            "teacher", l->teacher_name, "kind",
                            l->kind == CC_LESSON_KIND_SEMINAR ? "seminar"
                                                              : "lesson",
                            "locked", l->locked != 0, "waiting_room",
                            l->waiting_room != 0, "last_n", l->last_n,
                            "chat_students", l->chat_students != 0),
                  NULL);
}

/* A time of the lesson's clock as Unix milliseconds. */
static json_int_t unix_ms_of(int64_t t, int64_t now, int64_t unix_ms)
{
    return (json_int_t)(unix_ms - (now - t) / 1000);
}

char *cc_proto_build_members(const struct cc_lesson *l, int64_t now,
                             int64_t unix_ms)
{
    json_t *arr = json_array();
    json_t *left = json_array();
    if (!arr || !left) {
        json_decref(arr);
        json_decref(left);
        return NULL;
    }
    for (int i = 0; l && i < l->n_departed; i++) {
        const cc_departed *d = &l->departed[i];
        json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I}", "id", d->id_str,
                              "name", d->name, "role", cc_role_name(d->role),
                              "joined_at", unix_ms_of(d->joined_at, now, unix_ms),
                              "left_at", unix_ms_of(d->left_at, now, unix_ms));
        if (!o || json_array_append_new(left, o) != 0) {
            json_decref(arr);
            json_decref(left);
            return NULL;
        }
    }
    for (int i = 0; l && i < l->n_members; i++) {
        const cc_member *m = l->members[i];
        unsigned f = m->flags;
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:b, s:b, s:b, s:i, s:b, s:b, s:b, s:b, s:b, s:I}",
            "id", m->id_str, "name", m->name, "role", cc_role_name(m->role),
            "watching", (f & CC_MEMBER_WATCHING) != 0, "weak_link",
            (f & CC_MEMBER_WEAK_LINK) != 0, "frozen",
            (f & CC_MEMBER_FROZEN) != 0, "hand", m->hand, "floor",
            (f & CC_MEMBER_FLOOR) != 0, "muted", (f & CC_MEMBER_MUTED) != 0,
            "waiting", (f & CC_MEMBER_WAITING) != 0, "publishing",
            (f & CC_MEMBER_PUBLISHING) != 0, "speaking",
            (f & CC_MEMBER_SPEAKING) != 0, "joined_at",
            unix_ms_of(m->joined_at, now, unix_ms));
        if (o && (f & CC_MEMBER_FLOOR) &&
            json_object_set_new(o, "audience",
                                json_string((f & CC_MEMBER_TEACHER_ONLY)
                                                ? "teacher"
                                                : "all")) != 0) {
            json_decref(o);
            o = NULL;
        }
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            json_decref(left);
            return NULL;
        }
    }
    return finish(json_pack("{s:s, s:o, s:o}", "type", "members", "members",
                            arr, "left", left),
                  NULL);
}

char *cc_proto_build_waiting(const char *code, const char *title,
                             const char *member, const char *rejoin)
{
    return finish(with_rejoin(json_pack("{s:s, s:s, s:s, s:s}", "type",
                                         "waiting", "code", code, "title",
                                         title ? title : "", "member", member),
                              rejoin),
                  NULL);
}

char *cc_proto_build_floor(int granted, int teacher_only)
{
    json_t *o = json_pack("{s:s, s:b}", "type", "floor", "granted",
                          granted != 0);
    /* the audience matters only while the floor is held (as in members) */
    if (o && granted &&
        json_object_set_new(o, "audience",
                            json_string(teacher_only ? "teacher" : "all")) != 0) {
        json_decref(o);
        return NULL;
    }
    return finish(o, NULL);
}

char *cc_proto_build_muted(int muted)
{
    return finish(json_pack("{s:s, s:b}", "type", "muted", "muted", muted != 0),
                  NULL);
}

char *cc_proto_build_removed(const char *reason)
{
    return finish(json_pack("{s:s, s:s}", "type", "removed", "reason",
                            reason ? reason : ""),
                  NULL);
}

char *cc_proto_build_refused(const char *reason)
{
    return finish(json_pack("{s:s, s:s}", "type", "refused", "reason",
                            reason ? reason : ""),
                  NULL);
}

char *cc_proto_build_speakers(const uint32_t *member_ids, int n, int n_recent)
{
    json_t *arr = json_array();
    if (!arr || (n > 0 && !member_ids)) {
        json_decref(arr);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        char id[CC_PROTO_MEMBER_CAP];
        snprintf(id, sizeof id, "m%u", (unsigned)member_ids[i]);
        if (json_array_append_new(arr, json_string(id)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    if (n_recent < 0)
        n_recent = 0;
    if (n_recent > n)
        n_recent = n;
    return finish(json_pack("{s:s, s:o, s:i}", "type", "speakers", "members", arr,
                            "recent", n_recent),
                  NULL);
}

char *cc_proto_build_streams(const cc_proto_stream *s, int n)
{
    json_t *arr = json_array();
    if (!arr || (n > 0 && !s)) {
        json_decref(arr);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        /* only what a subscribe may name: m<id>.camera, m<id>.mic */
        if (!s[i].owner ||
            (s[i].slot != CC_SLOT_CAMERA && s[i].slot != CC_SLOT_MIC)) {
            json_decref(arr);
            return NULL;
        }
        const char *kind = cc_slot_name(s[i].slot);
        char member[CC_PROTO_MEMBER_CAP], id[CC_PROTO_MEMBER_CAP + 8];
        snprintf(member, sizeof member, "m%u", (unsigned)s[i].owner);
        snprintf(id, sizeof id, "%s.%s", member, kind);
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "member",
                              member, "name", s[i].name ? s[i].name : "",
                              "role", s[i].role, "kind", kind);
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return finish(json_pack("{s:s, s:o}", "type", "streams", "streams", arr),
                  NULL);
}

/* {"type":"chat","from","name","role","text","at"}; without "type" in
 * chat_history. */
static json_t *chat_json(const cc_chat_msg *m, int with_type)
{
    const char *text = m->text ? m->text : "";
    const char *role = cc_role_name(m->role);
    if (with_type)
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "type", "chat",
                         "from", m->from, "name", m->name, "role", role,
                         "text", text, "at", (json_int_t)m->at_ms);
    return json_pack("{s:s, s:s, s:s, s:s, s:I}", "from", m->from, "name",
                     m->name, "role", role, "text", text, "at",
                     (json_int_t)m->at_ms);
}

char *cc_proto_build_chat(const struct cc_chat_msg *m)
{
    return m ? finish(chat_json(m, 1), NULL) : NULL;
}

char *cc_proto_build_chat_history(const struct cc_lesson *l)
{
    if (!l)
        return NULL;
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    int len = l->chat_len < CC_LESSON_CHAT_HISTORY ? l->chat_len
                                                   : CC_LESSON_CHAT_HISTORY;
    int head = l->chat_head >= 0 ? l->chat_head % CC_LESSON_CHAT_HISTORY : 0;
    for (int i = 0; i < len; i++) {
        json_t *o = chat_json(&l->chat[(head + i) % CC_LESSON_CHAT_HISTORY], 0);
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return finish(json_pack("{s:s, s:o}", "type", "chat_history", "messages",
                            arr),
                  NULL);
}

static json_t *invite_json(const cc_invite *iv)
{
    return json_pack("{s:s, s:s, s:s, s:i}", "id", iv->id, "label", iv->label,
                     "token", iv->token, "uses", iv->uses);
}

char *cc_proto_build_invite(const struct cc_invite *iv, const char *id)
{
    if (!iv)
        return NULL;
    return finish(json_pack("{s:s, s:o}", "type", "invite", "invite",
                            invite_json(iv)),
                  id);
}

char *cc_proto_build_invites(const struct cc_lesson *l)
{
    if (!l)
        return NULL;
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    int n = l->n_invites < CC_LESSON_MAX_INVITES ? l->n_invites
                                                 : CC_LESSON_MAX_INVITES;
    for (int i = 0; i < n; i++) {
        if (l->invites[i].revoked)
            continue;
        json_t *o = invite_json(&l->invites[i]);
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return finish(json_pack("{s:s, s:o}", "type", "invites", "invites", arr),
                  NULL);
}

/* [{"id","name","api"}...] of the devices of one kind. */
static json_t *device_array(const cc_device *d, size_t n, cc_device_kind kind)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (d[i].kind != kind)
            continue;
        json_t *o = json_pack("{s:s, s:s, s:s}", "id", d[i].id, "name",
                              d[i].name, "api", d[i].api);
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

char *cc_proto_build_capture_list(const cc_proto_pipeline *pipelines,
                                  int n_pipelines,
                                  const struct cc_device *devices,
                                  size_t n_devices, const char *running,
                                  const char *display, const char *id)
{
    json_t *pl = json_array();
    json_t *run = json_array();
    json_t *devs = json_pack("{s:o*, s:o*, s:o*}", "cameras",
                             device_array(devices, n_devices, CC_DEVICE_CAMERA),
                             "microphones",
                             device_array(devices, n_devices, CC_DEVICE_MIC),
                             "screens",
                             device_array(devices, n_devices, CC_DEVICE_SCREEN));
    if (!pl || !run || !devs || json_object_size(devs) != 3)
        goto fail;
    for (int i = 0; i < n_pipelines; i++) {
        const char *slot = cc_slot_name(pipelines[i].slot);
        json_t *o = json_pack("{s:s, s:s, s:s}", "name", pipelines[i].name,
                              "description", pipelines[i].description, "slot",
                              slot ? slot : "camera");
        if (!o || json_array_append_new(pl, o) != 0)
            goto fail;
    }
    /* "a,b:screen" -> ["a", "b:screen"] */
    for (const char *p = running; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n > 0) {
            json_t *s = json_stringn(p, n);
            if (!s || json_array_append_new(run, s) != 0)
                goto fail;
        }
        p += n + (comma ? 1 : 0);
    }
    json_t *o = json_pack("{s:s, s:o, s:o, s:o}", "type", "capture_list",
                          "pipelines", pl, "devices", devs, "running", run);
    if (o && display && display[0] &&
        json_object_set_new(o, "display", json_string(display)) != 0) {
        json_decref(o);
        return NULL;
    }
    return finish(o, id);
fail:
    json_decref(pl);
    json_decref(run);
    json_decref(devs);
    return NULL;
}

char *cc_proto_build_capture_failed(const char *message, const char *source,
                                    const char *id)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "type", "error", "code",
                          "capture_failed", "message", message ? message : "",
                          "ref", "capture_start");
    if (o && source && source[0] &&
        json_object_set_new(o, "source", json_string(source)) != 0) {
        json_decref(o);
        return NULL;
    }
    return finish(o, id);
}
