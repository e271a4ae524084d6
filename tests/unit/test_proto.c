/* docs/protocol.md, client -> server: every request type from realistic
 * frames, every parse error, id echo; server -> client: every builder's
 * output re-parsed by jansson. */
#include <jansson.h>

#include "cc_test.h"
#include "classcast/devices.h"
#include "classcast/err.h"
#include "classcast/lesson.h"
#include "classcast/proto.h"

static cc_proto_req req;
static const char *code;
static char msg[256];

/* Parse a C string; returns the rc and leaves req/code/msg for checks. */
static int parse(const char *s)
{
    cc_proto_req_free(&req);
    code = NULL;
    int rc = cc_proto_parse(s, strlen(s), &req, &code, msg, sizeof msg);
    if (rc == 0)
        CC_CHECK(code == NULL);
    else
        CC_CHECK(code != NULL && msg[0] != 0);
    return rc;
}

static int parse_err(const char *s, const char *want)
{
    int rc = parse(s);
    CC_CHECK(rc < 0);
    int ok = rc < 0 && code && strcmp(code, want) == 0;
    if (!ok)
        fprintf(stderr, "input %.80s: got %s (%s), want %s\n", s,
                code ? code : "(none)", msg, want);
    CC_CHECK(ok);
    return ok;
}

/* A Chrome-like sendonly offer, abridged. */
static const char offer_json[] =
    "v=0\\r\\no=- 4611731400430051336 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\n"
    "a=group:BUNDLE 0 1 2\\r\\nm=video 9 UDP/TLS/RTP/SAVPF 96\\r\\n"
    "c=IN IP4 0.0.0.0\\r\\na=mid:0\\r\\na=sendonly\\r\\na=rtpmap:96 VP8/90000\\r\\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\\r\\na=mid:1\\r\\na=sendonly\\r\\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\na=mid:2\\r\\na=sendonly\\r\\n"
    "a=rtpmap:111 opus/48000/2\\r\\n";

static void test_create_join_resume(void)
{
    CC_CHECK_EQ(parse("{\"type\":\"create\",\"name\":\"Cô Hạnh\","
                      "\"title\":\"Toán lớp 5 – Phân số\",\"id\":\"c1\"}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_CREATE);
    CC_CHECK(strcmp(req.name, "Cô Hạnh") == 0);
    CC_CHECK(strcmp(req.title, "Toán lớp 5 – Phân số") == 0);
    CC_CHECK(strcmp(req.id, "\"c1\"") == 0);
    CC_CHECK(req.sdp == NULL);

    /* title is optional (0..120) */
    CC_CHECK_EQ(parse("{\"type\":\"create\",\"name\":\"An\"}"), 0);
    CC_CHECK_EQ(req.title[0], 0);
    CC_CHECK_EQ(req.id[0], 0);

    CC_CHECK_EQ(parse("{\"id\":7,\"type\":\"join\",\"code\":\"482913\","
                      "\"name\":\"Nguyễn Thị Lan\"}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_JOIN);
    CC_CHECK(strcmp(req.code, "482913") == 0);
    CC_CHECK(strcmp(req.name, "Nguyễn Thị Lan") == 0);
    CC_CHECK(strcmp(req.id, "7") == 0);

    CC_CHECK_EQ(parse("{\"type\":\"join\",\"code\":\"demo\",\"name\":\"Bình\"}"), 0);
    CC_CHECK(strcmp(req.code, "demo") == 0);

    CC_CHECK_EQ(parse("{\"type\":\"resume\",\"code\":\"482913\",\"token\":"
                      "\"q7Z-2vX_a9bC0dEfGhIjKlMnOpQrStUvWxYz0123456\"}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_RESUME);
    CC_CHECK(strcmp(req.token, "q7Z-2vX_a9bC0dEfGhIjKlMnOpQrStUvWxYz0123456") == 0);
}

static void test_simple_types(void)
{
    static const struct { const char *json; cc_proto_type t; } cases[] = {
        {"{\"type\":\"start\"}", CC_PROTO_START},
        {"{\"type\":\"end\",\"id\":\"e\"}", CC_PROTO_END},
        {"{\"type\":\"unpublish\"}", CC_PROTO_UNPUBLISH},
        {"{\"type\":\"leave\"}", CC_PROTO_LEAVE},
        /* unknown members are ignored (forward compatible) */
        {" {\"type\":\"ping\",\"t\":1712345678901} \n", CC_PROTO_PING},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CC_CHECK_EQ(parse(cases[i].json), 0);
        CC_CHECK_EQ(req.type, cases[i].t);
        const char *n = cc_proto_type_name(req.type);
        CC_CHECK(n && strncmp(strstr(cases[i].json, "\"type\":\"") + 8, n,
                              strlen(n)) == 0);
    }
    for (int t = 0; t < CC_PROTO_TYPE_COUNT; t++) {
        char buf[64];
        const char *n = cc_proto_type_name((cc_proto_type)t);
        CC_CHECK(n != NULL);
        snprintf(buf, sizeof buf, "{\"type\":\"%s\"}", n);
        /* every type parses back to itself, or fails only on its fields */
        int rc = parse(buf);
        CC_CHECK_EQ(req.type, t);
        CC_CHECK(rc == 0 || strcmp(code, "bad_request") == 0);
    }
    CC_CHECK(cc_proto_type_name(CC_PROTO_NONE) == NULL);
    CC_CHECK(cc_proto_type_name(CC_PROTO_TYPE_COUNT) == NULL);
}

static void test_media_requests(void)
{
    char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"type\":\"publish\",\"id\":\"p1\",\"sdp\":\"%s\","
             "\"tracks\":{\"0\":\"camera\",\"1\":\"screen\",\"2\":\"mic\"}}",
             offer_json);
    CC_CHECK_EQ(parse(buf), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_PUBLISH);
    CC_CHECK_EQ(req.for_publish, 1);
    CC_CHECK(req.sdp && strncmp(req.sdp, "v=0\r\no=- ", 9) == 0);
    CC_CHECK(req.sdp && strstr(req.sdp, "a=mid:2\r\n") != NULL);
    CC_CHECK_EQ(req.n_tracks, 3);
    CC_CHECK(strcmp(req.tracks[0].mid, "0") == 0);
    CC_CHECK_EQ(req.tracks[0].slot, CC_SLOT_CAMERA);
    CC_CHECK(strcmp(req.tracks[1].mid, "1") == 0);
    CC_CHECK_EQ(req.tracks[1].slot, CC_SLOT_SCREEN);
    CC_CHECK(strcmp(req.tracks[2].mid, "2") == 0);
    CC_CHECK_EQ(req.tracks[2].slot, CC_SLOT_MIC);

    /* subscribe: tracks optional (default mapping) */
    CC_CHECK_EQ(parse("{\"type\":\"subscribe\",\"sdp\":\"v=0\\r\\n\"}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_SUBSCRIBE);
    CC_CHECK_EQ(req.for_publish, 0);
    CC_CHECK_EQ(req.n_tracks, 0);
    CC_CHECK(req.sdp && strcmp(req.sdp, "v=0\r\n") == 0);
    CC_CHECK_EQ(parse("{\"type\":\"subscribe\",\"sdp\":\"v=0\","
                      "\"tracks\":{\"a\":\"screen\",\"b\":\"camera\"}}"), 0);
    CC_CHECK_EQ(req.n_tracks, 2);
    CC_CHECK_EQ(req.tracks[0].slot, CC_SLOT_SCREEN);
    CC_CHECK_EQ(req.tracks[1].slot, CC_SLOT_CAMERA);

    CC_CHECK_EQ(parse("{\"type\":\"renegotiate\",\"for\":\"publish\","
                      "\"sdp\":\"v=0\",\"tracks\":{\"3\":\"screen\"}}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_RENEGOTIATE);
    CC_CHECK_EQ(req.for_publish, 1);
    CC_CHECK_EQ(req.n_tracks, 1);
    CC_CHECK_EQ(parse("{\"type\":\"renegotiate\",\"for\":\"subscribe\","
                      "\"sdp\":\"v=0\"}"), 0);
    CC_CHECK_EQ(req.for_publish, 0);

    /* field errors */
    parse_err("{\"type\":\"publish\",\"sdp\":\"v=0\"}", "bad_request");
    parse_err("{\"type\":\"publish\",\"sdp\":\"v=0\",\"tracks\":{}}", "bad_request");
    parse_err("{\"type\":\"publish\",\"tracks\":{\"0\":\"camera\"}}", "bad_request");
    parse_err("{\"type\":\"publish\",\"sdp\":\"\",\"tracks\":{\"0\":\"camera\"}}",
              "bad_request");
    parse_err("{\"type\":\"publish\",\"sdp\":42,\"tracks\":{\"0\":\"camera\"}}",
              "bad_request");
    parse_err("{\"type\":\"publish\",\"sdp\":\"v=0\",\"tracks\":[\"camera\"]}",
              "bad_request");
    parse_err("{\"type\":\"publish\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"webcam\"}}",
              "bad_request");
    CC_CHECK(strstr(msg, "camera") != NULL);
    parse_err("{\"type\":\"publish\",\"sdp\":\"v=0\",\"tracks\":{\"0\":1}}",
              "bad_request");
    parse_err("{\"type\":\"publish\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"Camera\"}}",
              "bad_request");
    parse_err("{\"type\":\"publish\",\"sdp\":\"v=0\","
              "\"tracks\":{\"0\":\"camera\",\"1\":\"camera\"}}", "bad_request");
    parse_err("{\"type\":\"publish\",\"sdp\":\"v=0\",\"tracks\":{\"\":\"mic\"}}",
              "bad_request");
    parse_err("{\"type\":\"publish\",\"sdp\":\"v=0\",\"tracks\":{\"a b\":\"mic\"}}",
              "bad_request");
    parse_err("{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"camera\","
              "\"1\":\"screen\",\"2\":\"mic\",\"3\":\"x\",\"4\":\"x\",\"5\":\"x\","
              "\"6\":\"x\",\"7\":\"x\",\"8\":\"x\"}}", "bad_request");
    parse_err("{\"type\":\"renegotiate\",\"sdp\":\"v=0\"}", "bad_request");
    parse_err("{\"type\":\"renegotiate\",\"for\":\"both\",\"sdp\":\"v=0\"}",
              "bad_request");
    CC_CHECK(req.sdp == NULL); /* nothing leaks on failure */

    /* a long mid is refused, 63 bytes pass */
    char mid[80];
    memset(mid, 'x', 63);
    mid[63] = 0;
    snprintf(buf, sizeof buf, "{\"type\":\"subscribe\",\"sdp\":\"v\","
             "\"tracks\":{\"%s\":\"mic\"}}", mid);
    CC_CHECK_EQ(parse(buf), 0);
    CC_CHECK(strcmp(req.tracks[0].mid, mid) == 0);
    snprintf(buf, sizeof buf, "{\"type\":\"subscribe\",\"sdp\":\"v\","
             "\"tracks\":{\"%sx\":\"mic\"}}", mid);
    parse_err(buf, "bad_request");
}

static void test_field_errors(void)
{
    parse_err("{\"type\":\"create\"}", "bad_request");
    CC_CHECK_EQ(req.type, CC_PROTO_CREATE); /* ref of the error reply */
    parse_err("{\"type\":\"create\",\"name\":\"\"}", "bad_request");
    parse_err("{\"type\":\"create\",\"name\":\"   \"}", "bad_request");
    parse_err("{\"type\":\"create\",\"name\":42}", "bad_request");
    parse_err("{\"type\":\"create\",\"name\":null}", "bad_request");
    parse_err("{\"type\":\"create\",\"name\":[\"An\"]}", "bad_request");
    parse_err("{\"type\":\"create\",\"name\":\"An\",\"title\":5}", "bad_request");
    parse_err("{\"type\":\"create\",\"name\":\"A\\nB\"}", "bad_request");
    parse_err("{\"type\":\"join\",\"name\":\"An\"}", "bad_request");
    parse_err("{\"type\":\"join\",\"code\":482913,\"name\":\"An\"}", "bad_request");
    parse_err("{\"type\":\"join\",\"code\":\"48 29 13\",\"name\":\"An\"}",
              "bad_request");
    parse_err("{\"type\":\"join\",\"code\":\"12345678901234567\",\"name\":\"An\"}",
              "bad_request");
    parse_err("{\"type\":\"join\",\"code\":\"482913\"}", "bad_request");
    parse_err("{\"type\":\"resume\",\"code\":\"482913\"}", "bad_request");
    parse_err("{\"type\":\"resume\",\"code\":\"482913\",\"token\":\"a/b\"}",
              "bad_request");
    parse_err("{\"type\":\"resume\",\"code\":\"482913\",\"token\":true}",
              "bad_request");
    char buf[256];
    snprintf(buf, sizeof buf, "{\"type\":\"resume\",\"code\":\"1\",\"token\":"
             "\"%080d\"}", 0);
    parse_err(buf, "bad_request");
}

/* Name limits count Unicode code points: 64 Vietnamese letters of 3 bytes
 * (192 bytes) pass, 65 are refused; the same for title at 120. */
static void test_code_point_limits(void)
{
    char name[65 * 3 + 1], buf[1024];
    for (int i = 0; i < 65; i++)
        memcpy(name + 3 * i, "ễ", 3); /* U+1EC5 */
    name[64 * 3] = 0;
    snprintf(buf, sizeof buf, "{\"type\":\"join\",\"code\":\"1\",\"name\":\"%s\"}",
             name);
    CC_CHECK_EQ(parse(buf), 0);
    CC_CHECK_EQ(strlen(req.name), 192);
    name[64 * 3] = "ễ"[0];
    name[65 * 3] = 0;
    snprintf(buf, sizeof buf, "{\"type\":\"join\",\"code\":\"1\",\"name\":\"%s\"}",
             name);
    parse_err(buf, "bad_request");
    /* 4-byte code points (emoji) count once too */
    char emoji[64 * 4 + 1];
    for (int i = 0; i < 64; i++)
        memcpy(emoji + 4 * i, "\xF0\x9F\x98\x80", 4);
    emoji[256] = 0;
    snprintf(buf, sizeof buf, "{\"type\":\"create\",\"name\":\"%s\"}", emoji);
    CC_CHECK_EQ(parse(buf), 0);
    CC_CHECK_EQ(strlen(req.name), 256);
    /* 65 ASCII letters */
    snprintf(buf, sizeof buf, "{\"type\":\"create\",\"name\":\"%065d\"}", 0);
    parse_err(buf, "bad_request");

    char title[121 * 2 + 1];
    for (int i = 0; i < 121; i++)
        memcpy(title + 2 * i, "ơ", 2); /* U+01A1 */
    title[120 * 2] = 0;
    snprintf(buf, sizeof buf, "{\"type\":\"create\",\"name\":\"An\","
             "\"title\":\"%s\"}", title);
    CC_CHECK_EQ(parse(buf), 0);
    title[120 * 2] = "ơ"[0];
    title[121 * 2] = 0;
    snprintf(buf, sizeof buf, "{\"type\":\"create\",\"name\":\"An\","
             "\"title\":\"%s\"}", title);
    parse_err(buf, "bad_request");
    /* escaped code points count the same */
    CC_CHECK_EQ(parse("{\"type\":\"create\",\"name\":\"Nguy\\u1ec5n\"}"), 0);
    CC_CHECK(strcmp(req.name, "Nguyễn") == 0);
}

static void test_frame_errors(void)
{
    parse_err("", "bad_json");
    parse_err("hello", "bad_json");
    parse_err("{\"type\":\"ping\"", "bad_json");
    parse_err("[{\"type\":\"ping\"}]", "bad_json");
    parse_err("\"ping\"", "bad_json");
    parse_err("42", "bad_json");
    parse_err("null", "bad_json");
    parse_err("{\"type\":\"ping\"} {}", "bad_json");
    /* duplicate keys, at the top and nested */
    parse_err("{\"type\":\"ping\",\"type\":\"start\"}", "bad_json");
    parse_err("{\"type\":\"publish\",\"sdp\":\"v\",\"tracks\":{\"0\":\"camera\","
              "\"0\":\"mic\"}}", "bad_json");
    /* invalid UTF-8 (a lone Latin-1 byte) */
    parse_err("{\"type\":\"create\",\"name\":\"Nguy\xe9n\"}", "bad_json");
    /* NUL: escaped, raw inside a string, raw after the object */
    parse_err("{\"type\":\"create\",\"name\":\"A\\u0000B\"}", "bad_json");
    static const char raw[] = "{\"type\":\"create\",\"name\":\"A\0B\"}";
    cc_proto_req_free(&req);
    CC_CHECK(cc_proto_parse(raw, sizeof raw - 1, &req, &code, msg, sizeof msg) < 0);
    CC_CHECK(code && strcmp(code, "bad_json") == 0);
    static const char tail[] = "{\"type\":\"ping\"}\0";
    CC_CHECK(cc_proto_parse(tail, sizeof tail - 1, &req, &code, msg, sizeof msg) < 0);
    CC_CHECK(code && strcmp(code, "bad_json") == 0);
    /* jansson's error text quotes the input; the message stays ASCII so
     * that the error reply can be built (found by fuzz_proto) */
    parse_err("{\"id\":\"x\\\xe1\x91\xa3\xa3\"}", "bad_json");
    for (const char *p = msg; *p; p++)
        CC_CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7F);
    char *reply = cc_proto_build_error(code, msg, NULL, req.id);
    CC_CHECK(reply != NULL);
    free(reply);
    /* NULL text */
    CC_CHECK(cc_proto_parse(NULL, 0, &req, &code, msg, sizeof msg) < 0);

    /* type */
    parse_err("{}", "unknown_type");
    CC_CHECK_EQ(req.type, CC_PROTO_NONE);
    parse_err("{\"name\":\"An\"}", "unknown_type");
    parse_err("{\"type\":\"dance\"}", "unknown_type");
    parse_err("{\"type\":\"PING\"}", "unknown_type");
    parse_err("{\"type\":5}", "unknown_type");
    parse_err("{\"type\":null}", "unknown_type");
    parse_err("{\"type\":[\"ping\"]}", "unknown_type");

    /* size: over 64 KiB is too_big without parsing; exactly 64 KiB parses */
    size_t big = CC_PROTO_MAX_FRAME;
    char *b = malloc(big + 2);
    const char *head = "{\"type\":\"ping\",\"pad\":\"";
    memset(b, 'a', big + 1);
    memcpy(b, head, strlen(head));
    memcpy(b + big - 2, "\"}", 2);
    cc_proto_req_free(&req);
    CC_CHECK_EQ(cc_proto_parse(b, big, &req, &code, msg, sizeof msg), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_PING);
    memcpy(b + big - 1, "\"}", 2);
    CC_CHECK(cc_proto_parse(b, big + 1, &req, &code, msg, sizeof msg) < 0);
    CC_CHECK(code && strcmp(code, "too_big") == 0);
    CC_CHECK_EQ(req.type, CC_PROTO_NONE);
    CC_CHECK_EQ(req.id[0], 0);
    /* too_big wins even over garbage */
    memset(b, 0xff, big + 1);
    CC_CHECK(cc_proto_parse(b, big + 1, &req, &code, msg, sizeof msg) < 0);
    CC_CHECK(code && strcmp(code, "too_big") == 0);
    free(b);

    /* a small msg buffer is truncated, never overrun */
    char tiny[8];
    memset(tiny, 'Z', sizeof tiny);
    CC_CHECK(cc_proto_parse("[]", 2, &req, &code, tiny, 4) < 0);
    CC_CHECK_EQ(tiny[3], 0);
    CC_CHECK_EQ(tiny[4], 'Z');
    /* NULL err_code / msg are allowed */
    CC_CHECK(cc_proto_parse("[]", 2, &req, NULL, NULL, 0) < 0);
}

static void test_id(void)
{
    CC_CHECK_EQ(parse("{\"type\":\"ping\",\"id\":\"abc\"}"), 0);
    CC_CHECK(strcmp(req.id, "\"abc\"") == 0);
    CC_CHECK_EQ(parse("{\"type\":\"ping\",\"id\":42}"), 0);
    CC_CHECK(strcmp(req.id, "42") == 0);
    CC_CHECK_EQ(parse("{\"type\":\"ping\",\"id\":-9007199254740993}"), 0);
    CC_CHECK(strcmp(req.id, "-9007199254740993") == 0);
    CC_CHECK_EQ(parse("{\"type\":\"ping\",\"id\":\"\"}"), 0);
    CC_CHECK(strcmp(req.id, "\"\"") == 0);
    CC_CHECK_EQ(parse("{\"type\":\"ping\",\"id\":\"q\\\"\\\\\\n\"}"), 0);
    CC_CHECK(strcmp(req.id, "\"q\\\"\\\\\\n\"") == 0);

    /* 64 code points, each escaped to 6 bytes, fit; 65 do not */
    char buf[1024], id[65 * 6 + 1];
    for (int i = 0; i < 65; i++)
        memcpy(id + 6 * i, "\\u0001", 6);
    id[64 * 6] = 0;
    snprintf(buf, sizeof buf, "{\"type\":\"ping\",\"id\":\"%s\"}", id);
    CC_CHECK_EQ(parse(buf), 0);
    CC_CHECK_EQ(strlen(req.id), 64 * 6 + 2);
    id[64 * 6] = '\\';
    id[65 * 6] = 0;
    snprintf(buf, sizeof buf, "{\"type\":\"ping\",\"id\":\"%s\"}", id);
    parse_err(buf, "bad_request");
    CC_CHECK_EQ(req.type, CC_PROTO_PING);
    CC_CHECK_EQ(req.id[0], 0);

    parse_err("{\"type\":\"ping\",\"id\":1.5}", "bad_request");
    parse_err("{\"type\":\"ping\",\"id\":{}}", "bad_request");
    parse_err("{\"type\":\"ping\",\"id\":null}", "bad_request");
    parse_err("{\"type\":\"ping\",\"id\":true}", "bad_request");

    /* the id is kept when a later check fails, for the error reply */
    parse_err("{\"type\":\"dance\",\"id\":\"d1\"}", "unknown_type");
    CC_CHECK(strcmp(req.id, "\"d1\"") == 0);
    parse_err("{\"id\":9,\"type\":\"join\",\"code\":\"1\"}", "bad_request");
    CC_CHECK(strcmp(req.id, "9") == 0);
    CC_CHECK_EQ(req.type, CC_PROTO_JOIN);
}

static void test_slots(void)
{
    CC_CHECK(strcmp(cc_slot_name(CC_SLOT_CAMERA), "camera") == 0);
    CC_CHECK(strcmp(cc_slot_name(CC_SLOT_SCREEN), "screen") == 0);
    CC_CHECK(strcmp(cc_slot_name(CC_SLOT_MIC), "mic") == 0);
    CC_CHECK(cc_slot_name(CC_SLOT_COUNT) == NULL);
    CC_CHECK(cc_slot_name(-1) == NULL);
    for (int s = 0; s < CC_SLOT_COUNT; s++)
        CC_CHECK_EQ(cc_slot_from_name(cc_slot_name(s)), s);
    CC_CHECK_EQ(cc_slot_from_name("audio"), -1);
    CC_CHECK_EQ(cc_slot_from_name(""), -1);
    CC_CHECK_EQ(cc_slot_from_name(NULL), -1);
}

/* Re-parse a builder's output; returns the object (caller decrefs). */
static json_t *reparse(char *text, const char *type)
{
    CC_CHECK(text != NULL);
    if (!text)
        return NULL;
    CC_CHECK(strchr(text, '\n') == NULL && strstr(text, ", ") == NULL);
    json_error_t e;
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &e);
    free(text);
    CC_CHECK(json_is_object(o));
    CC_CHECK(o && strcmp(json_string_value(json_object_get(o, "type")), type) == 0);
    return o;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "(not a string)";
}

static void test_builders(void)
{
    json_t *o = reparse(cc_proto_build_error("bad_token", "The token is wrong.",
                                             "resume", "\"r1\""), "error");
    CC_CHECK(strcmp(str(o, "code"), "bad_token") == 0);
    CC_CHECK(strcmp(str(o, "message"), "The token is wrong.") == 0);
    CC_CHECK(strcmp(str(o, "ref"), "resume") == 0);
    CC_CHECK(strcmp(str(o, "id"), "r1") == 0);
    json_decref(o);

    /* an error for a frame without type: ref null, integer id echoed */
    o = reparse(cc_proto_build_error("unknown_type", "No.",
                                     cc_proto_type_name(CC_PROTO_NONE), "42"),
                "error");
    CC_CHECK(json_is_null(json_object_get(o, "ref")));
    CC_CHECK(json_integer_value(json_object_get(o, "id")) == 42);
    json_decref(o);
    o = reparse(cc_proto_build_error("too_big", "Big.", NULL, ""), "error");
    CC_CHECK(json_object_get(o, "id") == NULL);
    json_decref(o);
    o = reparse(cc_proto_build_error_wait("too_many_tries", "Wait.", "join", "\"j\"", 6),
                "error");
    CC_CHECK(strcmp(str(o, "code"), "too_many_tries") == 0);
    CC_CHECK(json_integer_value(json_object_get(o, "retry_after")) == 6);
    CC_CHECK(strcmp(str(o, "id"), "j") == 0);
    json_decref(o);

    /* round trip: a parsed request's id comes back unchanged */
    CC_CHECK_EQ(parse("{\"type\":\"ping\",\"id\":\"Lớp 5A \\\"x\\\"\"}"), 0);
    o = reparse(cc_proto_build_pong(req.id), "pong");
    CC_CHECK(strcmp(str(o, "id"), "Lớp 5A \"x\"") == 0);
    json_decref(o);
    CC_CHECK_EQ(parse("{\"type\":\"leave\",\"id\":123456789012}"), 0);
    o = reparse(cc_proto_build_ok(cc_proto_type_name(req.type), req.id), "ok");
    CC_CHECK(strcmp(str(o, "ref"), "leave") == 0);
    CC_CHECK(json_integer_value(json_object_get(o, "id")) == 123456789012LL);
    json_decref(o);
    o = reparse(cc_proto_build_pong(NULL), "pong");
    CC_CHECK_EQ(json_object_size(o), 1);
    json_decref(o);

    o = reparse(cc_proto_build_created("482913", "Toán", "TTTT", "VVVV", "m1", 1,
                                       "\"c\""), "created");
    CC_CHECK(json_is_true(json_object_get(o, "simulcast")));
    CC_CHECK(strcmp(str(o, "code"), "482913") == 0);
    CC_CHECK(strcmp(str(o, "title"), "Toán") == 0);
    CC_CHECK(strcmp(str(o, "token"), "TTTT") == 0);
    CC_CHECK(strcmp(str(o, "viewer_token"), "VVVV") == 0);
    CC_CHECK(strcmp(str(o, "member"), "m1") == 0);
    CC_CHECK(strcmp(str(o, "role"), "teacher") == 0);
    CC_CHECK(strcmp(str(o, "id"), "c") == 0);
    json_decref(o);

    o = reparse(cc_proto_build_joined("482913", "Toán", "Cô Hạnh", "waiting",
                                      "m2", "student", NULL, -1, 1, NULL), "joined");
    CC_CHECK(json_object_get(o, "simulcast") == NULL); /* a teacher's only */
    CC_CHECK(strcmp(str(o, "teacher"), "Cô Hạnh") == 0);
    CC_CHECK(strcmp(str(o, "state"), "waiting") == 0);
    CC_CHECK(strcmp(str(o, "member"), "m2") == 0);
    CC_CHECK(strcmp(str(o, "role"), "student") == 0);
    CC_CHECK(strcmp(str(o, "code"), "482913") == 0);
    CC_CHECK(strcmp(str(o, "title"), "Toán") == 0);
    /* No secret, no hand: the members are left out. */
    CC_CHECK(json_object_get(o, "rejoin") == NULL);
    CC_CHECK(json_object_get(o, "hand") == NULL);
    json_decref(o);
    /* A student's: its rejoin secret and its hand's place. */
    o = reparse(cc_proto_build_joined("482913", "Toán", "Cô Hạnh", "live", "m2", "student",
                                      "Xq3-_9aZbC0dEfGhIjKlMnOpQrStUvWxYz0123456ab", 2, 0,
                                      "\"j\""), "joined");
    CC_CHECK(strcmp(str(o, "rejoin"), "Xq3-_9aZbC0dEfGhIjKlMnOpQrStUvWxYz0123456ab") == 0);
    CC_CHECK_EQ(json_integer_value(json_object_get(o, "hand")), 2);
    CC_CHECK(strcmp(str(o, "id"), "j") == 0);
    json_decref(o);
    o = reparse(cc_proto_build_joined("482913", "Toán", "Cô Hạnh", "live", "m2", "student",
                                      "", 0, 0, NULL), "joined");
    CC_CHECK(json_object_get(o, "rejoin") == NULL);
    CC_CHECK_EQ(json_integer_value(json_object_get(o, "hand")), 0);
    json_decref(o);

    o = reparse(cc_proto_build_answer(1, "v=0\r\na=mid:0\r\n", "5"), "answer");
    CC_CHECK(strcmp(str(o, "for"), "publish") == 0);
    CC_CHECK(strcmp(str(o, "sdp"), "v=0\r\na=mid:0\r\n") == 0);
    CC_CHECK(json_integer_value(json_object_get(o, "id")) == 5);
    json_decref(o);
    o = reparse(cc_proto_build_answer(0, "v=0", NULL), "answer");
    CC_CHECK(strcmp(str(o, "for"), "subscribe") == 0);
    json_decref(o);

    o = reparse(cc_proto_build_lesson("live", "Toán", "Cô Hạnh"), "lesson");
    CC_CHECK(strcmp(str(o, "state"), "live") == 0);
    CC_CHECK(strcmp(str(o, "title"), "Toán") == 0);
    CC_CHECK(strcmp(str(o, "teacher"), "Cô Hạnh") == 0);
    json_decref(o);

    o = reparse(cc_proto_build_media(1, 0, 7), "media");
    CC_CHECK(json_is_true(json_object_get(o, "camera")));
    CC_CHECK(json_is_false(json_object_get(o, "screen")));
    CC_CHECK(json_is_true(json_object_get(o, "mic")));
    json_decref(o);

    o = reparse(cc_proto_build_transport(0, 1), "transport");
    CC_CHECK(strcmp(str(o, "for"), "subscribe") == 0);
    CC_CHECK(strcmp(str(o, "state"), "connected") == 0);
    json_decref(o);
    o = reparse(cc_proto_build_transport(1, 0), "transport");
    CC_CHECK(strcmp(str(o, "for"), "publish") == 0);
    CC_CHECK(strcmp(str(o, "state"), "closed") == 0);
    json_decref(o);

    /* invalid UTF-8 or NULL where a string is required: NULL, no crash */
    CC_CHECK(cc_proto_build_lesson("live", "\xff", "x") == NULL);
    CC_CHECK(cc_proto_build_answer(1, NULL, NULL) == NULL);
    CC_CHECK(cc_proto_build_ok("ping", "not json") == NULL);
}

static void test_members_builder(void)
{
    cc_lessons *r = cc_lessons_new(NULL);
    cc_lesson *l;
    cc_member *t, *s1, *s2;
    CC_CHECK_EQ(cc_lessons_create(r, "Cô Hạnh", "Toán", 1, 0, &l, &t), 0);
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "Nguyễn Thị Lan", 2, 0, NULL, &s1), 0);
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "Bình", 3, 0, NULL, &s2), 0);
    cc_lesson_set_flags(l, s2, CC_MEMBER_WATCHING | CC_MEMBER_WEAK_LINK);
    json_t *o = reparse(cc_proto_build_members(l, 0, 0), "members");
    json_t *a = json_object_get(o, "members");
    CC_CHECK(json_is_array(a));
    CC_CHECK_EQ(json_array_size(a), 3);
    json_t *m0 = json_array_get(a, 0), *m1 = json_array_get(a, 1),
           *m2 = json_array_get(a, 2);
    CC_CHECK(strcmp(str(m0, "id"), t->id_str) == 0);
    CC_CHECK(strcmp(str(m0, "role"), "teacher") == 0);
    CC_CHECK(strcmp(str(m1, "name"), "Nguyễn Thị Lan") == 0);
    CC_CHECK(strcmp(str(m1, "role"), "student") == 0);
    CC_CHECK(json_is_false(json_object_get(m1, "watching")));
    CC_CHECK(strcmp(str(m2, "id"), s2->id_str) == 0);
    CC_CHECK(json_is_true(json_object_get(m2, "watching")));
    CC_CHECK(json_is_true(json_object_get(m2, "weak_link")));
    CC_CHECK(json_is_false(json_object_get(m1, "weak_link")));
    json_decref(o);
    o = reparse(cc_proto_build_link(1), "link");
    CC_CHECK(json_is_true(json_object_get(o, "weak")));
    json_decref(o);
    o = reparse(cc_proto_build_link(0), "link");
    CC_CHECK(json_is_false(json_object_get(o, "weak")));
    json_decref(o);
    cc_lesson_leave(l, s1, 0);
    o = reparse(cc_proto_build_members(l, 0, 0), "members");
    CC_CHECK_EQ(json_array_size(json_object_get(o, "members")), 2);
    CC_CHECK_EQ(json_array_size(json_object_get(o, "left")), 1);
    json_decref(o);
    cc_lessons_free(r);
}

/* `quality` (a page says its pictures froze, or play again) and what the
 * teachers see of it: "frozen", join times and the members who left. */
static void test_quality(void)
{
    CC_CHECK_EQ(parse("{\"type\":\"quality\",\"frozen\":true,\"id\":\"q1\"}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_QUALITY);
    CC_CHECK_EQ(req.flag, 1);
    CC_CHECK(strcmp(req.id, "\"q1\"") == 0);
    CC_CHECK(strcmp(cc_proto_type_name(CC_PROTO_QUALITY), "quality") == 0);
    CC_CHECK_EQ(parse("{\"type\":\"quality\",\"frozen\":false,\"fps\":3}"), 0);
    CC_CHECK_EQ(req.flag, 0);
    static const char *const bad[] = {
        "{\"type\":\"quality\"}",
        "{\"type\":\"quality\",\"frozen\":1}",
        "{\"type\":\"quality\",\"frozen\":\"true\"}",
        "{\"type\":\"quality\",\"frozen\":null}",
        "{\"type\":\"quality\",\"frozen\":[true]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        parse_err(bad[i], "bad_request");
        CC_CHECK_EQ(req.type, CC_PROTO_QUALITY);
    }

    /* Times: the lesson's clock (microseconds) -> Unix milliseconds. */
    const int64_t T0 = 5000000, UNIX = 1733131200000; /* at now = T0 + 90 s */
    cc_lessons *r = cc_lessons_new(NULL);
    cc_lesson *l;
    cc_member *t, *a, *b, *w;
    CC_CHECK_EQ(cc_lessons_create(r, "Cô Hạnh", "Toán", 1, T0, &l, &t), 0);
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "Lò Thị Hương", 2, T0 + 10000000, NULL, &a), 0);
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "Bình", 3, T0 + 20000000, NULL, &b), 0);
    char a_id[12];
    snprintf(a_id, sizeof a_id, "%s", a->id_str);
    cc_lesson_set_flags(l, b, CC_MEMBER_WATCHING | CC_MEMBER_FROZEN);
    cc_lesson_leave(l, a, T0 + 30000000);
    l->waiting_room = 1; /* one who waits and goes is not listed as left */
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "Chi", 4, T0 + 40000000, NULL, &w), 0);
    cc_lesson_leave(l, w, T0 + 50000000);
    cc_lesson_leave(l, t, T0 + 60000000); /* nor is a teacher's tab */
    json_t *o = reparse(cc_proto_build_members(l, T0 + 90000000, UNIX), "members");
    json_t *ms = json_object_get(o, "members"), *left = json_object_get(o, "left");
    CC_CHECK_EQ(json_array_size(ms), 1);
    json_t *mb = json_array_get(ms, 0);
    CC_CHECK(strcmp(str(mb, "name"), "Bình") == 0);
    CC_CHECK(json_is_true(json_object_get(mb, "frozen")));
    CC_CHECK(json_is_true(json_object_get(mb, "watching")));
    CC_CHECK(json_integer_value(json_object_get(mb, "joined_at")) == UNIX - 70000);
    CC_CHECK_EQ(json_array_size(left), 1);
    json_t *d = json_array_get(left, 0);
    CC_CHECK(strcmp(str(d, "id"), a_id) == 0);
    CC_CHECK(strcmp(str(d, "name"), "Lò Thị Hương") == 0);
    CC_CHECK(strcmp(str(d, "role"), "student") == 0);
    CC_CHECK(json_integer_value(json_object_get(d, "joined_at")) == UNIX - 80000);
    CC_CHECK(json_integer_value(json_object_get(d, "left_at")) == UNIX - 60000);
    CC_CHECK_EQ(json_object_size(d), 5);
    json_decref(o);
    cc_lessons_free(r);
}

/* Local publishing on the classroom computer: capture_list / capture_start /
 * capture_stop. */
static void test_capture_requests(void)
{
    CC_CHECK_EQ(parse("{\"type\":\"capture_list\",\"id\":\"l1\"}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_CAPTURE_LIST);
    CC_CHECK(strcmp(cc_proto_type_name(req.type), "capture_list") == 0);
    CC_CHECK_EQ(parse("{\"type\":\"capture_stop\"}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_CAPTURE_STOP);

    CC_CHECK_EQ(parse("{\"type\":\"capture_start\",\"id\":3,"
                      "\"sources\":[\"screen\",\"mic\"]}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_CAPTURE_START);
    CC_CHECK_EQ(req.n_sources, 2);
    CC_CHECK(strcmp(req.sources[0], "screen") == 0);
    CC_CHECK(strcmp(req.sources[1], "mic") == 0);
    CC_CHECK_EQ(req.display[0], 0);
    CC_CHECK(strcmp(req.id, "3") == 0);

    /* a slot may be named; a display may be given */
    CC_CHECK_EQ(parse("{\"type\":\"capture_start\",\"sources\":[\"test-video:screen\","
                      "\"mic_alsa\",\"test-video\"],\"display\":\":99.0\"}"), 0);
    CC_CHECK_EQ(req.n_sources, 3);
    CC_CHECK(strcmp(req.sources[0], "test-video:screen") == 0);
    CC_CHECK(strcmp(req.sources[1], "mic_alsa") == 0);
    CC_CHECK(strcmp(req.display, ":99.0") == 0);

    /* a 63-character name passes, 64 do not */
    char name[80], buf[256];
    memset(name, 'a', 63);
    name[63] = 0;
    snprintf(buf, sizeof buf, "{\"type\":\"capture_start\",\"sources\":[\"%s:mic\"]}", name);
    CC_CHECK_EQ(parse(buf), 0);
    CC_CHECK(strncmp(req.sources[0], name, 63) == 0);
    snprintf(buf, sizeof buf, "{\"type\":\"capture_start\",\"sources\":[\"%sa\"]}", name);
    parse_err(buf, "bad_request");

    static const char *const bad[] = {
        "{\"type\":\"capture_start\"}",
        "{\"type\":\"capture_start\",\"sources\":\"screen,mic\"}",
        "{\"type\":\"capture_start\",\"sources\":[]}",
        "{\"type\":\"capture_start\",\"sources\":[\"a\",\"b\",\"c\",\"d\"]}",
        "{\"type\":\"capture_start\",\"sources\":[1]}",
        "{\"type\":\"capture_start\",\"sources\":[\"\"]}",
        "{\"type\":\"capture_start\",\"sources\":[\":mic\"]}",
        "{\"type\":\"capture_start\",\"sources\":[\"../etc/passwd\"]}",
        "{\"type\":\"capture_start\",\"sources\":[\"screen pattern=snow\"]}",
        "{\"type\":\"capture_start\",\"sources\":[\"screen!\"]}",
        "{\"type\":\"capture_start\",\"sources\":[\"Màn hình\"]}",
        "{\"type\":\"capture_start\",\"sources\":[\"screen:\"]}",
        "{\"type\":\"capture_start\",\"sources\":[\"screen:webcam\"]}",
        "{\"type\":\"capture_start\",\"sources\":[\"screen:screen:mic\"]}",
        "{\"type\":\"capture_start\",\"sources\":[\"screen\",\"screen\"]}",
        "{\"type\":\"capture_start\",\"sources\":[\"mic\"],\"display\":\"\"}",
        "{\"type\":\"capture_start\",\"sources\":[\"mic\"],\"display\":99}",
        "{\"type\":\"capture_start\",\"sources\":[\"mic\"],\"display\":\":0 ! fakesink\"}",
        "{\"type\":\"capture_start\",\"sources\":[\"mic\"],\"display\":\"${HOME}\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        parse_err(bad[i], "bad_request");
        CC_CHECK_EQ(req.type, CC_PROTO_CAPTURE_START); /* ref of the error */
    }
    /* a NUL inside a source name is refused by the JSON layer already */
    parse_err("{\"type\":\"capture_start\",\"sources\":[\"mic\\u0000x\"]}", "bad_json");
}

static void test_capture_builders(void)
{
    cc_proto_pipeline pl[3] = {
        {.name = "screen", .description = "screen: an X11 display", .slot = CC_SLOT_SCREEN},
        {.name = "test-video", .description = "", .slot = CC_SLOT_CAMERA},
        {.name = "mic", .description = "mic: “Micrô”", .slot = CC_SLOT_MIC},
    };
    cc_device dv[3] = {
        {.kind = CC_DEVICE_SCREEN, .id = ":99", .name = "X display :99", .api = "x11"},
        {.kind = CC_DEVICE_MIC, .id = "default", .name = "Default", .api = "alsa"},
        {.kind = CC_DEVICE_SCREEN, .id = ":0", .name = "X display :0", .api = "x11"},
    };
    json_t *o = reparse(cc_proto_build_capture_list(pl, 3, dv, 3, "test-video,test-audio:mic",
                                                    ":99", "\"l\""), "capture_list");
    json_t *a = json_object_get(o, "pipelines");
    CC_CHECK_EQ(json_array_size(a), 3);
    CC_CHECK(strcmp(str(json_array_get(a, 0), "name"), "screen") == 0);
    CC_CHECK(strcmp(str(json_array_get(a, 0), "slot"), "screen") == 0);
    CC_CHECK(strcmp(str(json_array_get(a, 0), "description"), "screen: an X11 display") == 0);
    CC_CHECK(strcmp(str(json_array_get(a, 1), "slot"), "camera") == 0);
    CC_CHECK(strcmp(str(json_array_get(a, 2), "description"), "mic: “Micrô”") == 0);
    json_t *d = json_object_get(o, "devices");
    CC_CHECK_EQ(json_array_size(json_object_get(d, "cameras")), 0);
    CC_CHECK(json_is_array(json_object_get(d, "cameras")));
    CC_CHECK_EQ(json_array_size(json_object_get(d, "microphones")), 1);
    json_t *scr = json_object_get(d, "screens");
    CC_CHECK_EQ(json_array_size(scr), 2);
    CC_CHECK(strcmp(str(json_array_get(scr, 1), "id"), ":0") == 0);
    CC_CHECK(strcmp(str(json_array_get(scr, 0), "name"), "X display :99") == 0);
    CC_CHECK(strcmp(str(json_array_get(scr, 0), "api"), "x11") == 0);
    json_t *run = json_object_get(o, "running");
    CC_CHECK_EQ(json_array_size(run), 2);
    CC_CHECK(strcmp(json_string_value(json_array_get(run, 1)), "test-audio:mic") == 0);
    CC_CHECK(strcmp(str(o, "display"), ":99") == 0);
    CC_CHECK(strcmp(str(o, "id"), "l") == 0);
    json_decref(o);

    /* nothing at all: empty arrays, no display */
    o = reparse(cc_proto_build_capture_list(NULL, 0, NULL, 0, NULL, NULL, NULL),
                "capture_list");
    CC_CHECK_EQ(json_array_size(json_object_get(o, "pipelines")), 0);
    CC_CHECK_EQ(json_array_size(json_object_get(o, "running")), 0);
    CC_CHECK(json_is_array(json_object_get(json_object_get(o, "devices"), "screens")));
    CC_CHECK(json_object_get(o, "display") == NULL);
    CC_CHECK(json_object_get(o, "id") == NULL);
    json_decref(o);

    o = reparse(cc_proto_build_capture_failed("source 'camera': cameras: none found",
                                              "camera", "7"), "error");
    CC_CHECK(strcmp(str(o, "code"), "capture_failed") == 0);
    CC_CHECK(strcmp(str(o, "ref"), "capture_start") == 0);
    CC_CHECK(strcmp(str(o, "source"), "camera") == 0);
    CC_CHECK(strstr(str(o, "message"), "none found") != NULL);
    CC_CHECK(json_integer_value(json_object_get(o, "id")) == 7);
    json_decref(o);
    o = reparse(cc_proto_build_capture_failed("no source named", "", NULL), "error");
    CC_CHECK(json_object_get(o, "source") == NULL);
    json_decref(o);
    /* invalid UTF-8 from a device name: NULL, no crash */
    cc_device badd = {.kind = CC_DEVICE_CAMERA, .id = "/dev/video0", .name = "\xff", .api = "v4l2"};
    CC_CHECK(cc_proto_build_capture_list(NULL, 0, &badd, 1, NULL, NULL, NULL) == NULL);
    CC_CHECK(cc_proto_build_capture_failed("\xff", NULL, NULL) == NULL);
}

/* ---- seminars: schools, the floor, chat (docs/protocol.md) ---- */

static void test_seminar_requests(void)
{
    /* create: kind */
    CC_CHECK_EQ(parse("{\"type\":\"create\",\"name\":\"Cô Hạnh\",\"title\":"
                      "\"Hội thảo Toán\",\"kind\":\"seminar\",\"id\":1}"), 0);
    CC_CHECK_EQ(req.seminar, 1);
    CC_CHECK(strcmp(req.title, "Hội thảo Toán") == 0);
    CC_CHECK_EQ(parse("{\"type\":\"create\",\"name\":\"An\",\"kind\":\"lesson\"}"), 0);
    CC_CHECK_EQ(req.seminar, 0);
    CC_CHECK_EQ(parse("{\"type\":\"create\",\"name\":\"An\"}"), 0);
    CC_CHECK_EQ(req.seminar, 0);

    /* join: optional invite */
    CC_CHECK_EQ(parse("{\"type\":\"join\",\"code\":\"482913\",\"name\":"
                      "\"THCS Chiềng Sinh\",\"invite\":"
                      "\"Xq3-_9aZbC0dEfGhIjKlMnOpQrStUvWxYz0123456ab\"}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_JOIN);
    CC_CHECK(strcmp(req.name, "THCS Chiềng Sinh") == 0);
    CC_CHECK(strcmp(req.invite, "Xq3-_9aZbC0dEfGhIjKlMnOpQrStUvWxYz0123456ab") == 0);
    CC_CHECK_EQ(parse("{\"type\":\"join\",\"code\":\"482913\",\"name\":\"Lan\"}"), 0);
    CC_CHECK_EQ(req.invite[0], 0);
    CC_CHECK_EQ(req.rejoin[0], 0);
    /* join: optional rejoin secret (coming back as the same member) */
    CC_CHECK_EQ(parse("{\"type\":\"join\",\"code\":\"482913\",\"name\":\"Lan\","
                      "\"rejoin\":\"Xq3-_9aZbC0dEfGhIjKlMnOpQrStUvWxYz0123456ab\"}"), 0);
    CC_CHECK(strcmp(req.rejoin, "Xq3-_9aZbC0dEfGhIjKlMnOpQrStUvWxYz0123456ab") == 0);
    CC_CHECK_EQ(req.invite[0], 0);
    CC_CHECK_EQ(parse("{\"type\":\"join\",\"code\":\"482913\",\"name\":\"T\",\"invite\":"
                      "\"abc\",\"rejoin\":\"def\"}"), 0);
    CC_CHECK(strcmp(req.invite, "abc") == 0 && strcmp(req.rejoin, "def") == 0);

    CC_CHECK_EQ(parse("{\"type\":\"hand\",\"up\":true,\"id\":\"h1\"}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_HAND);
    CC_CHECK_EQ(req.flag, 1);
    CC_CHECK(strcmp(req.id, "\"h1\"") == 0);
    CC_CHECK_EQ(parse("{\"type\":\"hand\",\"up\":false}"), 0);
    CC_CHECK_EQ(req.flag, 0);

    CC_CHECK_EQ(parse("{\"type\":\"floor\",\"member\":\"m7\",\"grant\":true}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_FLOOR);
    CC_CHECK(strcmp(req.member, "m7") == 0);
    CC_CHECK_EQ(req.member_id, 7);
    CC_CHECK_EQ(req.flag, 1);
    CC_CHECK_EQ(req.teacher_only, 0);
    CC_CHECK_EQ(parse("{\"type\":\"floor\",\"member\":\"m12\",\"grant\":true,"
                      "\"audience\":\"teacher\"}"), 0);
    CC_CHECK_EQ(req.teacher_only, 1);
    CC_CHECK_EQ(req.member_id, 12);
    CC_CHECK_EQ(parse("{\"type\":\"floor\",\"member\":\"m12\",\"grant\":false,"
                      "\"audience\":\"all\"}"), 0);
    CC_CHECK_EQ(req.teacher_only, 0);
    CC_CHECK_EQ(req.flag, 0);
    /* the largest member id */
    CC_CHECK_EQ(parse("{\"type\":\"admit\",\"member\":\"m4294967295\"}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_ADMIT);
    CC_CHECK_EQ(req.member_id, 4294967295u);
    CC_CHECK(strcmp(req.member, "m4294967295") == 0);

    CC_CHECK_EQ(parse("{\"type\":\"mute\",\"member\":\"m3\",\"muted\":true}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_MUTE);
    CC_CHECK_EQ(req.member_id, 3);
    CC_CHECK_EQ(req.flag, 1);

    CC_CHECK_EQ(parse("{\"type\":\"remove\",\"member\":\"m9\",\"reason\":"
                      "\"Vui lòng giữ trật tự.\"}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_REMOVE);
    CC_CHECK_EQ(req.member_id, 9);
    CC_CHECK(strcmp(req.reason, "Vui lòng giữ trật tự.") == 0);
    CC_CHECK_EQ(parse("{\"type\":\"remove\",\"member\":\"m9\"}"), 0);
    CC_CHECK_EQ(req.reason[0], 0);
    CC_CHECK_EQ(parse("{\"type\":\"refuse\",\"member\":\"m10\",\"reason\":\"\"}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_REFUSE);
    CC_CHECK_EQ(req.member_id, 10);
    CC_CHECK_EQ(req.reason[0], 0);

    CC_CHECK_EQ(parse("{\"type\":\"lock\",\"locked\":true}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_LOCK);
    CC_CHECK_EQ(req.flag, 1);
    CC_CHECK_EQ(parse("{\"type\":\"waiting_room\",\"on\":false}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_WAITING_ROOM);
    CC_CHECK_EQ(req.flag, 0);
    CC_CHECK_EQ(parse("{\"type\":\"chat_mode\",\"students\":true}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_CHAT_MODE);
    CC_CHECK_EQ(req.flag, 1);

    CC_CHECK_EQ(parse("{\"type\":\"last_n\",\"n\":0}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_LAST_N);
    CC_CHECK_EQ(req.n, 0);
    CC_CHECK_EQ(parse("{\"type\":\"last_n\",\"n\":8}"), 0);
    CC_CHECK_EQ(req.n, CC_PROTO_LAST_N_MAX);

    CC_CHECK_EQ(parse("{\"type\":\"chat\",\"text\":\"Em chào cô ạ!\\nEm có câu "
                      "hỏi.\",\"id\":\"c9\"}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_CHAT);
    CC_CHECK(strcmp(req.text, "Em chào cô ạ!\nEm có câu hỏi.") == 0);
    CC_CHECK_EQ(parse("{\"type\":\"chat\",\"text\":\"  ok \"}"), 0);
    CC_CHECK(strcmp(req.text, "  ok ") == 0);

    CC_CHECK_EQ(parse("{\"type\":\"invite_create\",\"label\":\"THCS Chiềng Sinh\"}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_INVITE_CREATE);
    CC_CHECK(strcmp(req.name, "THCS Chiềng Sinh") == 0);
    CC_CHECK_EQ(parse("{\"type\":\"invite_create\"}"), 0);
    CC_CHECK_EQ(req.name[0], 0);
    CC_CHECK_EQ(parse("{\"type\":\"invite_revoke\",\"invite\":\"i1\"}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_INVITE_REVOKE);
    CC_CHECK(strcmp(req.invite, "i1") == 0);
    CC_CHECK_EQ(parse("{\"type\":\"invite_revoke\",\"invite\":\"i9999\"}"), 0);
    CC_CHECK(strcmp(req.invite, "i9999") == 0);

    /* the wire names */
    static const struct { cc_proto_type t; const char *n; } names[] = {
        {CC_PROTO_HAND, "hand"}, {CC_PROTO_FLOOR, "floor"},
        {CC_PROTO_MUTE, "mute"}, {CC_PROTO_REMOVE, "remove"},
        {CC_PROTO_LOCK, "lock"}, {CC_PROTO_WAITING_ROOM, "waiting_room"},
        {CC_PROTO_ADMIT, "admit"}, {CC_PROTO_REFUSE, "refuse"},
        {CC_PROTO_LAST_N, "last_n"}, {CC_PROTO_CHAT_MODE, "chat_mode"},
        {CC_PROTO_CHAT, "chat"}, {CC_PROTO_INVITE_CREATE, "invite_create"},
        {CC_PROTO_INVITE_REVOKE, "invite_revoke"}, {CC_PROTO_QUALITY, "quality"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *n = cc_proto_type_name(names[i].t);
        CC_CHECK(n && strcmp(n, names[i].n) == 0);
    }
}

static void test_seminar_errors(void)
{
    static const char *const bad[] = {
        /* create kind */
        "{\"type\":\"create\",\"name\":\"An\",\"kind\":\"webinar\"}",
        "{\"type\":\"create\",\"name\":\"An\",\"kind\":1}",
        "{\"type\":\"create\",\"name\":\"An\",\"kind\":null}",
        "{\"type\":\"create\",\"name\":\"An\",\"kind\":\"Seminar\"}",
        /* join invite */
        "{\"type\":\"join\",\"code\":\"1\",\"name\":\"An\",\"invite\":\"\"}",
        "{\"type\":\"join\",\"code\":\"1\",\"name\":\"An\",\"invite\":\"a/b\"}",
        "{\"type\":\"join\",\"code\":\"1\",\"name\":\"An\",\"invite\":42}",
        "{\"type\":\"join\",\"code\":\"1\",\"name\":\"An\",\"invite\":null}",
        /* join rejoin */
        "{\"type\":\"join\",\"code\":\"1\",\"name\":\"An\",\"rejoin\":\"\"}",
        "{\"type\":\"join\",\"code\":\"1\",\"name\":\"An\",\"rejoin\":\"a b\"}",
        "{\"type\":\"join\",\"code\":\"1\",\"name\":\"An\",\"rejoin\":true}",
        "{\"type\":\"join\",\"code\":\"1\",\"name\":\"An\",\"rejoin\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
        /* bools: missing, wrong type */
        "{\"type\":\"hand\"}",
        "{\"type\":\"hand\",\"up\":1}",
        "{\"type\":\"hand\",\"up\":\"true\"}",
        "{\"type\":\"hand\",\"up\":null}",
        "{\"type\":\"lock\"}",
        "{\"type\":\"lock\",\"locked\":0}",
        "{\"type\":\"waiting_room\",\"on\":\"on\"}",
        "{\"type\":\"waiting_room\"}",
        "{\"type\":\"chat_mode\",\"students\":[]}",
        "{\"type\":\"chat_mode\"}",
        "{\"type\":\"mute\",\"member\":\"m3\"}",
        "{\"type\":\"mute\",\"member\":\"m3\",\"muted\":\"yes\"}",
        "{\"type\":\"floor\",\"member\":\"m3\"}",
        "{\"type\":\"floor\",\"member\":\"m3\",\"grant\":1}",
        /* floor audience */
        "{\"type\":\"floor\",\"member\":\"m3\",\"grant\":true,\"audience\":\"x\"}",
        "{\"type\":\"floor\",\"member\":\"m3\",\"grant\":true,\"audience\":\"\"}",
        "{\"type\":\"floor\",\"member\":\"m3\",\"grant\":true,\"audience\":true}",
        "{\"type\":\"floor\",\"member\":\"m3\",\"grant\":true,\"audience\":\"Teacher\"}",
        /* member ids */
        "{\"type\":\"floor\",\"grant\":true}",
        "{\"type\":\"admit\"}",
        "{\"type\":\"admit\",\"member\":7}",
        "{\"type\":\"admit\",\"member\":\"m0\"}",
        "{\"type\":\"admit\",\"member\":\"m01\"}",
        "{\"type\":\"admit\",\"member\":\"x7\"}",
        "{\"type\":\"admit\",\"member\":\"M7\"}",
        "{\"type\":\"admit\",\"member\":\"m\"}",
        "{\"type\":\"admit\",\"member\":\"\"}",
        "{\"type\":\"admit\",\"member\":\"7\"}",
        "{\"type\":\"admit\",\"member\":\"m-7\"}",
        "{\"type\":\"admit\",\"member\":\"m+7\"}",
        "{\"type\":\"admit\",\"member\":\"m7 \"}",
        "{\"type\":\"admit\",\"member\":\"m7a\"}",
        "{\"type\":\"admit\",\"member\":\"m4294967296\"}",
        "{\"type\":\"admit\",\"member\":\"m9999999999\"}",
        "{\"type\":\"admit\",\"member\":\"m12345678901\"}",
        "{\"type\":\"mute\",\"member\":\"m01\",\"muted\":true}",
        "{\"type\":\"remove\"}",
        "{\"type\":\"remove\",\"member\":\"x7\"}",
        "{\"type\":\"refuse\",\"member\":\"m0\"}",
        /* reasons */
        "{\"type\":\"remove\",\"member\":\"m7\",\"reason\":5}",
        "{\"type\":\"remove\",\"member\":\"m7\",\"reason\":\"a\\nb\"}",
        "{\"type\":\"refuse\",\"member\":\"m7\",\"reason\":\"\\u0007\"}",
        "{\"type\":\"refuse\",\"member\":\"m7\",\"reason\":null}",
        /* last_n */
        "{\"type\":\"last_n\"}",
        "{\"type\":\"last_n\",\"n\":9}",
        "{\"type\":\"last_n\",\"n\":-1}",
        "{\"type\":\"last_n\",\"n\":2.0}",
        "{\"type\":\"last_n\",\"n\":\"2\"}",
        "{\"type\":\"last_n\",\"n\":true}",
        "{\"type\":\"last_n\",\"n\":4294967298}",
        /* chat */
        "{\"type\":\"chat\"}",
        "{\"type\":\"chat\",\"text\":\"\"}",
        "{\"type\":\"chat\",\"text\":42}",
        "{\"type\":\"chat\",\"text\":[\"hi\"]}",
        "{\"type\":\"chat\",\"text\":\"ding\\u0007\"}",
        "{\"type\":\"chat\",\"text\":\"a\\tb\"}",
        "{\"type\":\"chat\",\"text\":\"a\\r\\nb\"}",
        "{\"type\":\"chat\",\"text\":\"a\\u007fb\"}",
        "{\"type\":\"chat\",\"text\":\"   \"}",
        "{\"type\":\"chat\",\"text\":\"\\n\"}",
        "{\"type\":\"chat\",\"text\":\" \\n \\n\"}",
        /* invites */
        "{\"type\":\"invite_create\",\"label\":7}",
        "{\"type\":\"invite_create\",\"label\":\"a\\u0001\"}",
        "{\"type\":\"invite_revoke\"}",
        "{\"type\":\"invite_revoke\",\"invite\":1}",
        "{\"type\":\"invite_revoke\",\"invite\":\"i\"}",
        "{\"type\":\"invite_revoke\",\"invite\":\"1\"}",
        "{\"type\":\"invite_revoke\",\"invite\":\"m1\"}",
        "{\"type\":\"invite_revoke\",\"invite\":\"i12345\"}",
        "{\"type\":\"invite_revoke\",\"invite\":\"i1x\"}",
        "{\"type\":\"invite_revoke\",\"invite\":\"Xq3-_9aZbC0dEfGhIjKlMnOp\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        parse_err(bad[i], "bad_request");
        CC_CHECK(req.type != CC_PROTO_NONE); /* ref of the error reply */
    }
    /* the failed request's type is kept for the error's ref */
    parse_err("{\"type\":\"last_n\",\"n\":9,\"id\":\"n\"}", "bad_request");
    CC_CHECK_EQ(req.type, CC_PROTO_LAST_N);
    CC_CHECK(strcmp(req.id, "\"n\"") == 0);
    CC_CHECK(strstr(msg, "\"n\"") != NULL);

    /* lengths in code points: reason 200, chat 500, label 64 */
    char text[501 * 3 + 1], buf[2048];
    for (int i = 0; i < 501; i++)
        memcpy(text + 3 * i, "ạ", 3); /* U+1EA1 */
    text[500 * 3] = 0;
    snprintf(buf, sizeof buf, "{\"type\":\"chat\",\"text\":\"%s\"}", text);
    CC_CHECK_EQ(parse(buf), 0);
    CC_CHECK_EQ(strlen(req.text), 1500);
    text[500 * 3] = "ạ"[0];
    text[501 * 3] = 0;
    snprintf(buf, sizeof buf, "{\"type\":\"chat\",\"text\":\"%s\"}", text);
    parse_err(buf, "bad_request");
    /* 500 four-byte code points fill the buffer exactly */
    char emoji[500 * 4 + 1], big[2200];
    for (int i = 0; i < 500; i++)
        memcpy(emoji + 4 * i, "\xF0\x9F\x98\x80", 4);
    emoji[2000] = 0;
    snprintf(big, sizeof big, "{\"type\":\"chat\",\"text\":\"%s\"}", emoji);
    CC_CHECK_EQ(parse(big), 0);
    CC_CHECK_EQ(strlen(req.text), 2000);

    text[200 * 3] = 0;
    snprintf(buf, sizeof buf, "{\"type\":\"remove\",\"member\":\"m2\","
             "\"reason\":\"%s\"}", text);
    CC_CHECK_EQ(parse(buf), 0);
    CC_CHECK_EQ(strlen(req.reason), 600);
    text[200 * 3] = "ạ"[0];
    text[201 * 3] = 0;
    snprintf(buf, sizeof buf, "{\"type\":\"refuse\",\"member\":\"m2\","
             "\"reason\":\"%s\"}", text);
    parse_err(buf, "bad_request");

    text[64 * 3] = 0;
    snprintf(buf, sizeof buf, "{\"type\":\"invite_create\",\"label\":\"%s\"}", text);
    CC_CHECK_EQ(parse(buf), 0);
    CC_CHECK_EQ(strlen(req.name), 192);
    text[64 * 3] = "ạ"[0];
    text[65 * 3] = 0;
    snprintf(buf, sizeof buf, "{\"type\":\"invite_create\",\"label\":\"%s\"}", text);
    parse_err(buf, "bad_request");

    /* invite tokens: 79 characters pass, 80 do not */
    char tok[81];
    memset(tok, 'k', 80);
    tok[79] = 0;
    snprintf(buf, sizeof buf, "{\"type\":\"join\",\"code\":\"1\",\"name\":\"An\","
             "\"invite\":\"%s\"}", tok);
    CC_CHECK_EQ(parse(buf), 0);
    CC_CHECK_EQ(strlen(req.invite), 79);
    tok[79] = 'k';
    tok[80] = 0;
    snprintf(buf, sizeof buf, "{\"type\":\"join\",\"code\":\"1\",\"name\":\"An\","
             "\"invite\":\"%s\"}", tok);
    parse_err(buf, "bad_request");
}

static void test_seminar_tracks(void)
{
    /* a school page subscribes to the teacher and to two schools */
    CC_CHECK_EQ(parse("{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":"
                      "{\"0\":\"camera\",\"1\":\"screen\",\"2\":\"mic\","
                      "\"3\":\"m7.camera\",\"4\":\"m7.mic\",\"5\":\"m12.camera\"}}"), 0);
    CC_CHECK_EQ(req.n_tracks, 6);
    CC_CHECK_EQ(req.tracks[0].owner, 0);
    CC_CHECK_EQ(req.tracks[0].slot, CC_SLOT_CAMERA);
    CC_CHECK_EQ(req.tracks[2].owner, 0);
    CC_CHECK_EQ(req.tracks[2].slot, CC_SLOT_MIC);
    CC_CHECK(strcmp(req.tracks[3].mid, "3") == 0);
    CC_CHECK_EQ(req.tracks[3].owner, 7);
    CC_CHECK_EQ(req.tracks[3].slot, CC_SLOT_CAMERA);
    CC_CHECK_EQ(req.tracks[4].owner, 7);
    CC_CHECK_EQ(req.tracks[4].slot, CC_SLOT_MIC);
    CC_CHECK_EQ(req.tracks[5].owner, 12);
    CC_CHECK_EQ(req.tracks[5].slot, CC_SLOT_CAMERA);

    CC_CHECK_EQ(parse("{\"type\":\"renegotiate\",\"for\":\"subscribe\",\"sdp\":\"v=0\","
                      "\"tracks\":{\"0\":\"camera\",\"6\":\"m4294967295.mic\"}}"), 0);
    CC_CHECK_EQ(req.n_tracks, 2);
    CC_CHECK_EQ(req.tracks[1].owner, 4294967295u);
    CC_CHECK_EQ(req.tracks[1].slot, CC_SLOT_MIC);

    /* a school publishes its own camera and mic: owner 0 */
    CC_CHECK_EQ(parse("{\"type\":\"publish\",\"sdp\":\"v=0\","
                      "\"tracks\":{\"0\":\"camera\",\"1\":\"mic\"}}"), 0);
    CC_CHECK_EQ(req.n_tracks, 2);
    CC_CHECK_EQ(req.tracks[0].owner, 0);
    CC_CHECK_EQ(req.tracks[1].owner, 0);

    static const char *const bad[] = {
        /* another member's track in a publish */
        "{\"type\":\"publish\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"m7.camera\"}}",
        "{\"type\":\"renegotiate\",\"for\":\"publish\",\"sdp\":\"v=0\","
        "\"tracks\":{\"0\":\"m7.mic\"}}",
        /* members have no screen */
        "{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"m7.screen\"}}",
        /* malformed member tracks */
        "{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"m0.camera\"}}",
        "{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"m07.camera\"}}",
        "{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"x7.camera\"}}",
        "{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"m7.\"}}",
        "{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"m7\"}}",
        "{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\".camera\"}}",
        "{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"m7.camera.x\"}}",
        "{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"m7.m8.camera\"}}",
        "{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"m7.Camera\"}}",
        "{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"m7-camera\"}}",
        "{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"m4294967296.mic\"}}",
        "{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"m12345678901.mic\"}}",
        /* duplicate (owner, slot) */
        "{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"m7.camera\","
        "\"1\":\"m7.camera\"}}",
        "{\"type\":\"renegotiate\",\"for\":\"subscribe\",\"sdp\":\"v=0\","
        "\"tracks\":{\"0\":\"mic\",\"1\":\"m3.mic\",\"2\":\"m3.mic\"}}",
        "{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"mic\","
        "\"1\":\"mic\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        parse_err(bad[i], "bad_request");
    parse_err("{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"m7.camera\","
              "\"1\":\"m7.camera\"}}", "bad_request");
    CC_CHECK(strstr(msg, "m7.camera") != NULL);
    parse_err("{\"type\":\"publish\",\"sdp\":\"v=0\",\"tracks\":{\"0\":\"m7.camera\"}}",
              "bad_request");
    CC_CHECK(req.sdp == NULL);
    /* same slot, different owners: fine */
    CC_CHECK_EQ(parse("{\"type\":\"subscribe\",\"sdp\":\"v=0\",\"tracks\":"
                      "{\"a\":\"mic\",\"b\":\"m3.mic\",\"c\":\"m4.mic\"}}"), 0);
    CC_CHECK_EQ(req.n_tracks, 3);

    /* 24 tracks pass, 25 do not */
    char buf[2048];
    int off = snprintf(buf, sizeof buf, "{\"type\":\"subscribe\",\"sdp\":\"v=0\","
                       "\"tracks\":{\"0\":\"camera\",\"1\":\"screen\",\"2\":\"mic\"");
    for (int i = 3; i < CC_PROTO_MAX_TRACKS; i++)
        off += snprintf(buf + off, sizeof buf - off, ",\"%d\":\"m%d.%s\"", i,
                        100 + i / 2, i % 2 ? "camera" : "mic");
    snprintf(buf + off, sizeof buf - off, "}}");
    CC_CHECK_EQ(parse(buf), 0);
    CC_CHECK_EQ(req.n_tracks, CC_PROTO_MAX_TRACKS);
    CC_CHECK_EQ(req.tracks[23].owner, 111);
    CC_CHECK_EQ(req.tracks[23].slot, CC_SLOT_CAMERA);
    snprintf(buf + off, sizeof buf - off, ",\"x\":\"m999.mic\"}}");
    parse_err(buf, "bad_request");
}

static cc_member *mk_member(uint32_t id, const char *name, cc_role role,
                            unsigned flags, int hand)
{
    cc_member *m = calloc(1, sizeof *m);
    m->id = id;
    snprintf(m->id_str, sizeof m->id_str, "m%u", (unsigned)id);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->role = role;
    m->flags = flags;
    m->hand = hand;
    m->invite = -1;
    return m;
}

static cc_lesson sem; /* large (the chat ring): not on the stack */

static void test_seminar_builders(void)
{
    cc_lesson *l = &sem;
    memset(l, 0, sizeof *l);
    snprintf(l->code, sizeof l->code, "482913");
    snprintf(l->title, sizeof l->title, "Hội thảo Toán");
    snprintf(l->teacher_name, sizeof l->teacher_name, "Cô Hạnh");
    l->state = CC_LESSON_LIVE;
    l->kind = CC_LESSON_KIND_SEMINAR;
    l->locked = 1;
    l->waiting_room = 0;
    l->last_n = 3;
    l->chat_students = 1;

    json_t *o = reparse(cc_proto_build_lesson_full(l), "lesson");
    CC_CHECK(strcmp(str(o, "state"), "live") == 0);
    CC_CHECK(strcmp(str(o, "title"), "Hội thảo Toán") == 0);
    CC_CHECK(strcmp(str(o, "teacher"), "Cô Hạnh") == 0);
    CC_CHECK(strcmp(str(o, "kind"), "seminar") == 0);
    CC_CHECK(json_is_true(json_object_get(o, "locked")));
    CC_CHECK(json_is_false(json_object_get(o, "waiting_room")));
    CC_CHECK(json_integer_value(json_object_get(o, "last_n")) == 3);
    CC_CHECK(json_is_integer(json_object_get(o, "last_n")));
    CC_CHECK(json_is_true(json_object_get(o, "chat_students")));
    CC_CHECK_EQ(json_object_size(o), 9);
    json_decref(o);
    l->kind = CC_LESSON_KIND_LESSON;
    l->state = CC_LESSON_WAITING;
    l->locked = 0;
    l->waiting_room = 1;
    l->chat_students = 0;
    o = reparse(cc_proto_build_lesson_full(l), "lesson");
    CC_CHECK(strcmp(str(o, "kind"), "lesson") == 0);
    CC_CHECK(strcmp(str(o, "state"), "waiting") == 0);
    CC_CHECK(json_is_false(json_object_get(o, "locked")));
    CC_CHECK(json_is_true(json_object_get(o, "waiting_room")));
    CC_CHECK(json_is_false(json_object_get(o, "chat_students")));
    json_decref(o);
    CC_CHECK(cc_proto_build_lesson_full(NULL) == NULL);

    /* members: every new field */
    l->n_members = 5;
    l->members = calloc((size_t)l->n_members, sizeof *l->members);
    l->members[0] = mk_member(1, "Cô Hạnh", CC_ROLE_TEACHER,
                              CC_MEMBER_WATCHING | CC_MEMBER_PUBLISHING |
                              CC_MEMBER_SPEAKING, 0);
    l->members[1] = mk_member(7, "THCS Chiềng Sinh", CC_ROLE_SCHOOL,
                              CC_MEMBER_WATCHING | CC_MEMBER_PUBLISHING |
                              CC_MEMBER_MUTED, 2);
    l->members[1]->invite = 0;
    l->members[2] = mk_member(9, "Lan", CC_ROLE_STUDENT,
                              CC_MEMBER_WATCHING | CC_MEMBER_FLOOR |
                              CC_MEMBER_TEACHER_ONLY | CC_MEMBER_PUBLISHING, 0);
    l->members[3] = mk_member(10, "Bình", CC_ROLE_STUDENT,
                              CC_MEMBER_WATCHING | CC_MEMBER_FLOOR |
                              CC_MEMBER_WEAK_LINK, 1);
    l->members[4] = mk_member(4294967295u, "Minh", CC_ROLE_STUDENT,
                              CC_MEMBER_WAITING, 0);
    o = reparse(cc_proto_build_members(l, 0, 0), "members");
    json_t *a = json_object_get(o, "members");
    CC_CHECK_EQ(json_array_size(a), 5);
    json_t *t = json_array_get(a, 0), *sc = json_array_get(a, 1),
           *s1 = json_array_get(a, 2), *s2 = json_array_get(a, 3),
           *w = json_array_get(a, 4);
    CC_CHECK(strcmp(str(t, "id"), "m1") == 0);
    CC_CHECK(strcmp(str(t, "name"), "Cô Hạnh") == 0);
    CC_CHECK(strcmp(str(t, "role"), "teacher") == 0);
    CC_CHECK(json_is_true(json_object_get(t, "watching")));
    CC_CHECK(json_is_false(json_object_get(t, "weak_link")));
    CC_CHECK(json_is_integer(json_object_get(t, "hand")));
    CC_CHECK(json_integer_value(json_object_get(t, "hand")) == 0);
    CC_CHECK(json_is_false(json_object_get(t, "floor")));
    CC_CHECK(json_object_get(t, "audience") == NULL);
    CC_CHECK(json_is_false(json_object_get(t, "muted")));
    CC_CHECK(json_is_false(json_object_get(t, "waiting")));
    CC_CHECK(json_is_true(json_object_get(t, "publishing")));
    CC_CHECK(json_is_true(json_object_get(t, "speaking")));
    CC_CHECK(json_is_false(json_object_get(t, "frozen")));
    CC_CHECK(json_is_integer(json_object_get(t, "joined_at")));
    CC_CHECK_EQ(json_object_size(t), 13);

    CC_CHECK(strcmp(str(sc, "id"), "m7") == 0);
    CC_CHECK(strcmp(str(sc, "role"), "school") == 0);
    CC_CHECK(strcmp(str(sc, "name"), "THCS Chiềng Sinh") == 0);
    CC_CHECK(json_integer_value(json_object_get(sc, "hand")) == 2);
    CC_CHECK(json_is_true(json_object_get(sc, "muted")));
    CC_CHECK(json_is_true(json_object_get(sc, "publishing")));
    CC_CHECK(json_is_false(json_object_get(sc, "speaking")));
    CC_CHECK(json_is_false(json_object_get(sc, "floor")));
    CC_CHECK(json_object_get(sc, "audience") == NULL);

    CC_CHECK(strcmp(str(s1, "role"), "student") == 0);
    CC_CHECK(json_is_true(json_object_get(s1, "floor")));
    CC_CHECK(strcmp(str(s1, "audience"), "teacher") == 0);
    CC_CHECK(json_is_false(json_object_get(s1, "muted")));
    CC_CHECK_EQ(json_object_size(s1), 14);

    CC_CHECK(json_is_true(json_object_get(s2, "floor")));
    CC_CHECK(strcmp(str(s2, "audience"), "all") == 0);
    CC_CHECK(json_is_true(json_object_get(s2, "weak_link")));
    CC_CHECK(json_integer_value(json_object_get(s2, "hand")) == 1);
    CC_CHECK(json_is_false(json_object_get(s2, "publishing")));

    CC_CHECK(strcmp(str(w, "id"), "m4294967295") == 0);
    CC_CHECK(json_is_true(json_object_get(w, "waiting")));
    CC_CHECK(json_is_false(json_object_get(w, "watching")));
    CC_CHECK(json_is_false(json_object_get(w, "publishing")));
    json_decref(o);

    /* waiting, floor, muted, removed, refused */
    o = reparse(cc_proto_build_waiting("482913", "Hội thảo Toán", "m9", NULL), "waiting");
    CC_CHECK(strcmp(str(o, "code"), "482913") == 0);
    CC_CHECK(strcmp(str(o, "title"), "Hội thảo Toán") == 0);
    CC_CHECK(strcmp(str(o, "member"), "m9") == 0);
    CC_CHECK_EQ(json_object_size(o), 4);
    json_decref(o);
    o = reparse(cc_proto_build_waiting("482913", NULL, "m9", "abc-_9"), "waiting");
    CC_CHECK(strcmp(str(o, "title"), "") == 0);
    CC_CHECK(strcmp(str(o, "rejoin"), "abc-_9") == 0);
    json_decref(o);

    o = reparse(cc_proto_build_floor(1, 0), "floor");
    CC_CHECK(json_is_true(json_object_get(o, "granted")));
    CC_CHECK(strcmp(str(o, "audience"), "all") == 0);
    json_decref(o);
    o = reparse(cc_proto_build_floor(5, 1), "floor");
    CC_CHECK(json_is_true(json_object_get(o, "granted")));
    CC_CHECK(strcmp(str(o, "audience"), "teacher") == 0);
    json_decref(o);
    o = reparse(cc_proto_build_floor(0, 0), "floor");
    CC_CHECK(json_is_false(json_object_get(o, "granted")));
    CC_CHECK(json_object_get(o, "audience") == NULL);
    json_decref(o);

    o = reparse(cc_proto_build_muted(1), "muted");
    CC_CHECK(json_is_true(json_object_get(o, "muted")));
    json_decref(o);
    o = reparse(cc_proto_build_muted(0), "muted");
    CC_CHECK(json_is_false(json_object_get(o, "muted")));
    json_decref(o);

    o = reparse(cc_proto_build_removed("Vui lòng giữ trật tự."), "removed");
    CC_CHECK(strcmp(str(o, "reason"), "Vui lòng giữ trật tự.") == 0);
    json_decref(o);
    o = reparse(cc_proto_build_removed(NULL), "removed");
    CC_CHECK(strcmp(str(o, "reason"), "") == 0);
    json_decref(o);
    o = reparse(cc_proto_build_refused("Lớp đã đủ."), "refused");
    CC_CHECK(strcmp(str(o, "reason"), "Lớp đã đủ.") == 0);
    json_decref(o);
    o = reparse(cc_proto_build_refused(""), "refused");
    CC_CHECK(strcmp(str(o, "reason"), "") == 0);
    json_decref(o);
    CC_CHECK(cc_proto_build_refused("\xff") == NULL);

    /* speakers: most recent first */
    uint32_t ids[3] = {7, 9, 4294967295u};
    o = reparse(cc_proto_build_speakers(ids, 3, 2), "speakers");
    CC_CHECK_EQ(json_integer_value(json_object_get(o, "recent")), 2);
    a = json_object_get(o, "members");
    CC_CHECK_EQ(json_array_size(a), 3);
    CC_CHECK(strcmp(json_string_value(json_array_get(a, 0)), "m7") == 0);
    CC_CHECK(strcmp(json_string_value(json_array_get(a, 1)), "m9") == 0);
    CC_CHECK(strcmp(json_string_value(json_array_get(a, 2)), "m4294967295") == 0);
    json_decref(o);
    o = reparse(cc_proto_build_speakers(NULL, 0, 3), "speakers");
    CC_CHECK_EQ(json_integer_value(json_object_get(o, "recent")), 0);
    CC_CHECK(json_is_array(json_object_get(o, "members")));
    CC_CHECK_EQ(json_array_size(json_object_get(o, "members")), 0);
    json_decref(o);

    /* streams */
    cc_proto_stream st[3] = {
        {.owner = 7, .slot = CC_SLOT_CAMERA, .name = "THCS Chiềng Sinh", .role = "school"},
        {.owner = 7, .slot = CC_SLOT_MIC, .name = "THCS Chiềng Sinh", .role = "school"},
        {.owner = 9, .slot = CC_SLOT_CAMERA, .name = "Lan", .role = "student"},
    };
    o = reparse(cc_proto_build_streams(st, 3), "streams");
    a = json_object_get(o, "streams");
    CC_CHECK_EQ(json_array_size(a), 3);
    json_t *e0 = json_array_get(a, 0), *e1 = json_array_get(a, 1),
           *e2 = json_array_get(a, 2);
    CC_CHECK(strcmp(str(e0, "id"), "m7.camera") == 0);
    CC_CHECK(strcmp(str(e0, "member"), "m7") == 0);
    CC_CHECK(strcmp(str(e0, "name"), "THCS Chiềng Sinh") == 0);
    CC_CHECK(strcmp(str(e0, "role"), "school") == 0);
    CC_CHECK(strcmp(str(e0, "kind"), "camera") == 0);
    CC_CHECK_EQ(json_object_size(e0), 5);
    CC_CHECK(strcmp(str(e1, "id"), "m7.mic") == 0);
    CC_CHECK(strcmp(str(e1, "kind"), "mic") == 0);
    CC_CHECK(strcmp(str(e2, "id"), "m9.camera") == 0);
    CC_CHECK(strcmp(str(e2, "role"), "student") == 0);
    json_decref(o);
    /* every stream id parses back as a subscribe track */
    CC_CHECK_EQ(parse("{\"type\":\"subscribe\",\"sdp\":\"v\",\"tracks\":"
                      "{\"0\":\"m7.camera\",\"1\":\"m7.mic\",\"2\":\"m9.camera\"}}"), 0);
    CC_CHECK_EQ(req.n_tracks, 3);
    o = reparse(cc_proto_build_streams(NULL, 0), "streams");
    CC_CHECK_EQ(json_array_size(json_object_get(o, "streams")), 0);
    json_decref(o);
    cc_proto_stream bad_st = {.owner = 7, .slot = CC_SLOT_SCREEN, .name = "x", .role = "school"};
    CC_CHECK(cc_proto_build_streams(&bad_st, 1) == NULL);
    bad_st.slot = CC_SLOT_CAMERA;
    bad_st.owner = 0;
    CC_CHECK(cc_proto_build_streams(&bad_st, 1) == NULL);

    /* chat: "at" is an integer of Unix milliseconds */
    cc_chat_msg cm = {.from = "m7", .name = "THCS Chiềng Sinh", .role = CC_ROLE_SCHOOL,
                      .text = strdup("Chào cả lớp!\nChúng em đã sẵn sàng."),
                      .at_ms = 1733131200123LL};
    o = reparse(cc_proto_build_chat(&cm), "chat");
    CC_CHECK(strcmp(str(o, "from"), "m7") == 0);
    CC_CHECK(strcmp(str(o, "name"), "THCS Chiềng Sinh") == 0);
    CC_CHECK(strcmp(str(o, "role"), "school") == 0);
    CC_CHECK(strcmp(str(o, "text"), "Chào cả lớp!\nChúng em đã sẵn sàng.") == 0);
    CC_CHECK(json_is_integer(json_object_get(o, "at")));
    CC_CHECK(json_integer_value(json_object_get(o, "at")) == 1733131200123LL);
    CC_CHECK_EQ(json_object_size(o), 6);
    json_decref(o);
    free(cm.text);
    CC_CHECK(cc_proto_build_chat(NULL) == NULL);

    /* history: a ring whose oldest message is at index 98, wrapping */
    static const char *const texts[3] = {"một", "hai", "ba"};
    for (int i = 0; i < 3; i++) {
        cc_chat_msg *m = &l->chat[(98 + i) % CC_LESSON_CHAT_HISTORY];
        snprintf(m->from, sizeof m->from, "m%u", 7u + (unsigned)i % 3u);
        snprintf(m->name, sizeof m->name, "Người %u", (unsigned)i % 3u);
        m->role = i == 0 ? CC_ROLE_TEACHER : CC_ROLE_STUDENT;
        m->text = strdup(texts[i]);
        m->at_ms = 1733131200000LL + i;
    }
    l->chat_head = 98;
    l->chat_len = 3;
    o = reparse(cc_proto_build_chat_history(l), "chat_history");
    a = json_object_get(o, "messages");
    CC_CHECK_EQ(json_array_size(a), 3);
    for (int i = 0; i < 3; i++) {
        json_t *m = json_array_get(a, (size_t)i);
        char from[16];
        snprintf(from, sizeof from, "m%d", 7 + i);
        CC_CHECK(strcmp(str(m, "text"), texts[i]) == 0);
        CC_CHECK(strcmp(str(m, "from"), from) == 0);
        CC_CHECK(strcmp(str(m, "role"), i == 0 ? "teacher" : "student") == 0);
        CC_CHECK(json_integer_value(json_object_get(m, "at")) == 1733131200000LL + i);
        CC_CHECK(json_object_get(m, "type") == NULL);
        CC_CHECK_EQ(json_object_size(m), 5);
    }
    CC_CHECK(strcmp(str(json_array_get(a, 1), "name"), "Người 1") == 0);
    json_decref(o);
    for (int i = 0; i < 3; i++)
        free(l->chat[(98 + i) % CC_LESSON_CHAT_HISTORY].text);
    /* a full ring: 100 messages, oldest first */
    for (int i = 0; i < CC_LESSON_CHAT_HISTORY; i++) {
        cc_chat_msg *m = &l->chat[i];
        snprintf(m->from, sizeof m->from, "m1");
        snprintf(m->name, sizeof m->name, "Cô Hạnh");
        m->role = CC_ROLE_TEACHER;
        char t[16];
        snprintf(t, sizeof t, "%d", i);
        m->text = strdup(t);
        m->at_ms = i;
    }
    l->chat_head = 40;
    l->chat_len = CC_LESSON_CHAT_HISTORY;
    o = reparse(cc_proto_build_chat_history(l), "chat_history");
    a = json_object_get(o, "messages");
    CC_CHECK_EQ(json_array_size(a), CC_LESSON_CHAT_HISTORY);
    CC_CHECK(strcmp(str(json_array_get(a, 0), "text"), "40") == 0);
    CC_CHECK(strcmp(str(json_array_get(a, 59), "text"), "99") == 0);
    CC_CHECK(strcmp(str(json_array_get(a, 60), "text"), "0") == 0);
    CC_CHECK(strcmp(str(json_array_get(a, 99), "text"), "39") == 0);
    json_decref(o);
    for (int i = 0; i < CC_LESSON_CHAT_HISTORY; i++) {
        free(l->chat[i].text);
        l->chat[i].text = NULL;
    }
    l->chat_len = 0;
    o = reparse(cc_proto_build_chat_history(l), "chat_history");
    CC_CHECK(json_is_array(json_object_get(o, "messages")));
    CC_CHECK_EQ(json_array_size(json_object_get(o, "messages")), 0);
    json_decref(o);

    /* invites: revoked ones are left out of the list */
    static const char *const labels[3] = {"THCS Chiềng Sinh", "", "TH Mường Bon"};
    for (int i = 0; i < 3; i++) {
        cc_invite *iv = &l->invites[i];
        snprintf(iv->id, sizeof iv->id, "i%u", (unsigned)i % 3u + 1u);
        snprintf(iv->label, sizeof iv->label, "%s", labels[i]);
        snprintf(iv->token, sizeof iv->token, "tok%u-Xq3_9aZbC0dEfGhIjKlMnOpQrStUvWxYz01", (unsigned)i % 3u);
        iv->uses = i * 2;
    }
    l->invites[1].revoked = 1;
    l->n_invites = 3;
    o = reparse(cc_proto_build_invite(&l->invites[0], "\"i\""), "invite");
    CC_CHECK(strcmp(str(o, "id"), "i") == 0);
    json_t *iv = json_object_get(o, "invite");
    CC_CHECK(json_is_object(iv));
    CC_CHECK(strcmp(str(iv, "id"), "i1") == 0);
    CC_CHECK(strcmp(str(iv, "label"), "THCS Chiềng Sinh") == 0);
    CC_CHECK(strcmp(str(iv, "token"), l->invites[0].token) == 0);
    CC_CHECK(json_is_integer(json_object_get(iv, "uses")));
    CC_CHECK(json_integer_value(json_object_get(iv, "uses")) == 0);
    CC_CHECK_EQ(json_object_size(iv), 4);
    CC_CHECK_EQ(json_object_size(o), 3); /* type, invite, id */
    json_decref(o);
    CC_CHECK(cc_proto_build_invite(NULL, NULL) == NULL);
    o = reparse(cc_proto_build_invites(l), "invites");
    a = json_object_get(o, "invites");
    CC_CHECK_EQ(json_array_size(a), 2);
    CC_CHECK(strcmp(str(json_array_get(a, 0), "id"), "i1") == 0);
    CC_CHECK(strcmp(str(json_array_get(a, 1), "id"), "i3") == 0);
    CC_CHECK(strcmp(str(json_array_get(a, 1), "label"), "TH Mường Bon") == 0);
    CC_CHECK(strcmp(str(json_array_get(a, 1), "token"), l->invites[2].token) == 0);
    CC_CHECK(json_integer_value(json_object_get(json_array_get(a, 1), "uses")) == 4);
    json_decref(o);
    /* an invite token parses back in a join */
    char buf[256];
    snprintf(buf, sizeof buf, "{\"type\":\"join\",\"code\":\"482913\",\"name\":"
             "\"TH Mường Bon\",\"invite\":\"%.43s\"}", l->invites[2].token);
    CC_CHECK_EQ(parse(buf), 0);
    CC_CHECK(strcmp(req.invite, l->invites[2].token) == 0);
    l->n_invites = 0;
    o = reparse(cc_proto_build_invites(l), "invites");
    CC_CHECK(json_is_array(json_object_get(o, "invites")));
    CC_CHECK_EQ(json_array_size(json_object_get(o, "invites")), 0);
    json_decref(o);

    for (int i = 0; i < l->n_members; i++)
        free(l->members[i]);
    free(l->members);
}

/* Lesson recording: record_start / record_stop (no fields; unknown ones
 * ignored), who may send them, and `recording` to the pages. */
static void test_recording(void)
{
    CC_CHECK_EQ(parse("{\"type\":\"record_start\",\"id\":\"r1\"}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_RECORD_START);
    CC_CHECK(strcmp(req.id, "\"r1\"") == 0);
    CC_CHECK(strcmp(cc_proto_type_name(CC_PROTO_RECORD_START), "record_start") == 0);
    CC_CHECK_EQ(parse("{\"type\":\"record_stop\",\"title\":[1,2],\"id\":3}"), 0);
    CC_CHECK_EQ(req.type, CC_PROTO_RECORD_STOP);
    CC_CHECK(strcmp(req.id, "3") == 0);
    CC_CHECK(strcmp(cc_proto_type_name(CC_PROTO_RECORD_STOP), "record_stop") == 0);
    parse_err("{\"type\":\"record_begin\"}", "unknown_type");
    parse_err("{\"type\":\"record_start\",\"id\":{\"x\":1}}", "bad_request");
    CC_CHECK_EQ(req.type, CC_PROTO_RECORD_START);

    /* a teacher only; stopping still works once the lesson has ended */
    cc_lessons *r = cc_lessons_new(NULL);
    cc_lesson *l;
    cc_member *t, *st;
    const char *e = NULL;
    CC_CHECK_EQ(cc_lessons_create(r, "Cô Hạnh", "Toán", 1, 0, &l, &t), 0);
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "An", 2, 0, NULL, &st), 0);
    CC_CHECK(cc_lesson_may(l, t, CC_PROTO_RECORD_START, 0, &e));
    CC_CHECK(cc_lesson_may(l, t, CC_PROTO_RECORD_STOP, 0, &e));
    CC_CHECK(!cc_lesson_may(l, st, CC_PROTO_RECORD_START, 0, &e));
    CC_CHECK(e && strcmp(e, "forbidden") == 0);
    CC_CHECK(!cc_lesson_may(l, st, CC_PROTO_RECORD_STOP, 0, &e));
    CC_CHECK(!cc_lesson_may(NULL, NULL, CC_PROTO_RECORD_START, 0, &e));
    CC_CHECK(e && strcmp(e, "not_joined") == 0);
    cc_lesson_end(l, 1);
    CC_CHECK(!cc_lesson_may(l, t, CC_PROTO_RECORD_START, 0, &e));
    CC_CHECK(e && strcmp(e, "lesson_ended") == 0);
    CC_CHECK(cc_lesson_may(l, t, CC_PROTO_RECORD_STOP, 0, &e));
    cc_lessons_free(r);

    json_t *o = reparse(cc_proto_build_recording(1, 1733131200000, NULL), "recording");
    CC_CHECK(json_is_true(json_object_get(o, "on")));
    CC_CHECK_EQ(json_integer_value(json_object_get(o, "started_at")), 1733131200000);
    CC_CHECK(json_object_get(o, "reason") == NULL);
    json_decref(o);
    o = reparse(cc_proto_build_recording(0, 5, "quota"), "recording");
    CC_CHECK(json_is_false(json_object_get(o, "on")));
    CC_CHECK(json_object_get(o, "started_at") == NULL);
    CC_CHECK(strcmp(json_string_value(json_object_get(o, "reason")), "quota") == 0);
    json_decref(o);
}

int main(void)
{
    CC_RUN(test_create_join_resume);
    CC_RUN(test_simple_types);
    CC_RUN(test_media_requests);
    CC_RUN(test_field_errors);
    CC_RUN(test_code_point_limits);
    CC_RUN(test_frame_errors);
    CC_RUN(test_id);
    CC_RUN(test_slots);
    CC_RUN(test_builders);
    CC_RUN(test_members_builder);
    CC_RUN(test_quality);
    CC_RUN(test_recording);
    CC_RUN(test_capture_requests);
    CC_RUN(test_capture_builders);
    CC_RUN(test_seminar_requests);
    CC_RUN(test_seminar_errors);
    CC_RUN(test_seminar_tracks);
    CC_RUN(test_seminar_builders);
    cc_proto_req_free(&req);
    CC_TEST_DONE();
}
