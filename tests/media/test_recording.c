/* Lesson recordings on the control plane (src/signal/recording.c) with a
 * real store in a temporary state directory: the API's paths; what a
 * crash left is settled at start (done with the file's size, or failed
 * without a file) and handed to the repair thread; the HTTP API answers
 * only the recording's own teacher (a session cookie, or the local
 * teacher), refuses other sites' pages, serves the file, deletes it and
 * keeps the record-by-default setting. A media test: the repair of what a
 * crash left runs GStreamer (suppressions for its libraries apply).
 * Recording itself (the recorder and
 * the SFU hand-off) is tests/media/test_recorder.c and the e2e test. */
#include "../unit/cc_test.h"

#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classcast/auth.h"
#include "classcast/clock.h"
#include "classcast/err.h"
#include "classcast/recording.h"

static char g_dir[128];

static void test_routes(void)
{
    int64_t id = -1;
    CC_CHECK_EQ(cc_recordings_route("/api/recordings", &id), CC_RECROUTE_LIST);
    CC_CHECK_EQ(cc_recordings_route("/api/recordings/settings", &id), CC_RECROUTE_SETTINGS);
    CC_CHECK_EQ(cc_recordings_route("/api/recordings/42.webm", &id), CC_RECROUTE_FILE);
    CC_CHECK_EQ(id, 42);
    CC_CHECK_EQ(cc_recordings_route("/api/recordings/7", &id), CC_RECROUTE_ITEM);
    CC_CHECK_EQ(id, 7);
    static const char *const bad[] = {
        "/api/recordings/", "/api/recordings/0", "/api/recordings/0.webm",
        "/api/recordings/-1", "/api/recordings/1.webm.txt", "/api/recordings/1/x",
        "/api/recordings/../../classcast.db", "/api/recordingsx", "/api/record",
        "/api/recordings/1234567890123456.webm", "/api/recordings/12a", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CC_CHECK_EQ(cc_recordings_route(bad[i], &id), -1);
        CC_CHECK_EQ(id, 0);
    }
    /* Range (RFC 9110 section 14.1.2) */
    uint64_t off = 9, len = 9;
    CC_CHECK_EQ(cc_recordings_range("", 1000, &off, &len), 0);
    CC_CHECK(off == 0 && len == 0);
    CC_CHECK_EQ(cc_recordings_range("bytes=0-", 1000, &off, &len), 1);
    CC_CHECK(off == 0 && len == 1000);
    CC_CHECK_EQ(cc_recordings_range("bytes=100-199", 1000, &off, &len), 1);
    CC_CHECK(off == 100 && len == 100);
    CC_CHECK_EQ(cc_recordings_range("bytes=900-5000", 1000, &off, &len), 1);
    CC_CHECK(off == 900 && len == 100);
    CC_CHECK_EQ(cc_recordings_range("bytes=-300", 1000, &off, &len), 1);
    CC_CHECK(off == 700 && len == 300);
    CC_CHECK_EQ(cc_recordings_range("bytes=-3000", 1000, &off, &len), 1);
    CC_CHECK(off == 0 && len == 1000);
    CC_CHECK_EQ(cc_recordings_range("bytes=1000-", 1000, &off, &len), -1);
    CC_CHECK_EQ(cc_recordings_range("bytes=-0", 1000, &off, &len), -1);
    CC_CHECK_EQ(cc_recordings_range("bytes=0-", 0, &off, &len), -1);
    static const char *const ignored[] = {
        "bytes=0-1,5-6", "bytes=5-1", "bytes=-", "items=0-1", "bytes=a-b", "bytes= 0-1",
        "bytes=99999999999999999999999-", "bytes=0-1x",
    };
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        CC_CHECK_EQ(cc_recordings_range(ignored[i], 1000, &off, &len), 0);
    CC_CHECK(cc_recordings_is_api("/api/recordings/x"));
    CC_CHECK(!cc_recordings_is_api("/api/lessons"));
}

static void write_file(const char *path, size_t n)
{
    FILE *f = fopen(path, "wb");
    CC_CHECK(f != NULL);
    for (size_t i = 0; f && i < n; i++)
        fputc('x', f);
    if (f)
        fclose(f);
}

static cc_recordings *open_rs(cc_store *st, cc_mailbox *mb)
{
    cc_recordings_config c = {.store = st, .state_dir = g_dir, .quota_bytes = 10000,
                              .events = mb};
    return cc_recordings_new(&c);
}

static void test_crash_recovery(void)
{
    char err[256];
    cc_store *st = NULL;
    CC_CHECK_EQ(cc_store_open(&st, g_dir, err, sizeof err), 0);
    if (!st)
        return;
    cc_store_recording a = {.teacher_id = 5, .started_ms = 1000}, b = a;
    snprintf(a.code, sizeof a.code, "482913");
    snprintf(b.code, sizeof b.code, "482914");
    CC_CHECK_EQ(cc_store_recording_add(st, &a), 0);
    CC_CHECK_EQ(cc_store_recording_add(st, &b), 0);
    char dir[200], path[300];
    snprintf(dir, sizeof dir, "%s/%s", g_dir, CC_RECORDINGS_DIR);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/%s", dir, a.file_name);
    write_file(path, 1234); /* b's file was never written */
    cc_mailbox *mb = NULL;
    CC_CHECK_EQ(cc_mailbox_new(&mb), 0);
    cc_recordings *rs = open_rs(st, mb);
    CC_CHECK(rs != NULL);
    cc_store_recording got;
    CC_CHECK_EQ(cc_store_recording_get(st, a.id, &got), 0);
    CC_CHECK_EQ(got.state, CC_STORE_REC_DONE);
    CC_CHECK_EQ(got.bytes, 1234);
    CC_CHECK(got.ended_ms > 0);
    CC_CHECK_EQ(cc_store_recording_get(st, b.id, &got), 0);
    CC_CHECK_EQ(got.state, CC_STORE_REC_FAILED);
    /* The repair thread tries a's file (not a real WebM: it stays as it
     * is) and reports. */
    cc_msg *m = NULL;
    for (int i = 0; i < 3000 && !m; i++) {
        m = cc_mailbox_drain(mb);
        if (!m)
            usleep(2000);
    }
    CC_CHECK(m != NULL);
    while (m) {
        cc_msg *n = m->next;
        CC_CHECK_EQ(m->type, CC_RECORDING_EVENT);
        cc_recordings_on_event(rs, m);
        cc_msg_free(m);
        m = n;
    }
    cc_recordings_counters c;
    cc_recordings_get_counters(rs, &c);
    CC_CHECK_EQ(c.repaired, 0);
    struct stat sb;
    CC_CHECK(stat(path, &sb) == 0 && sb.st_size == 1234); /* kept as it was */
    cc_recordings_free(rs);
    cc_mailbox_free(mb);
    cc_store_close(st);
}

typedef struct req {
    cc_http_request rq;
    cc_http_response r;
    char cookie[128];
} req;

static void call(cc_recordings *rs, cc_accounts *acc, req *q, const char *method,
                 const char *path, const char *token, int loopback, int cross, const char *body)
{
    memset(&q->r, 0, sizeof q->r);
    snprintf(q->cookie, sizeof q->cookie, "%s%s%s", token ? CC_AUTH_COOKIE "=" : "",
             token ? token : "", "");
    q->rq = (cc_http_request){.method = method, .path = path, .text = "", .query = "",
                              .authorization = "", .content_type = "application/json",
                              .body = body ? body : "", .body_len = body ? strlen(body) : 0,
                              .from_loopback = loopback, .cross_origin = cross,
                              .peer_ip = loopback ? "127.0.0.1" : "192.0.2.7",
                              .cookie = q->cookie};
    cc_recordings_api(rs, acc, &q->rq, &q->r, cc_clock_wall_us() / CC_USEC_PER_SEC);
}

static json_t *body_json(req *q)
{
    json_t *o = q->r.body ? json_loadb(q->r.body, q->r.body_len, 0, NULL) : NULL;
    free(q->r.body);
    q->r.body = NULL;
    return o;
}

static void test_api(void)
{
    char err[256];
    cc_store *st = NULL;
    CC_CHECK_EQ(cc_store_open(&st, g_dir, err, sizeof err), 0);
    if (!st)
        return;
    cc_teacher lan, minh;
    CC_CHECK_EQ(cc_store_teacher_add(st, "lan", NULL, "correct horse battery", 0, 1, &lan), 0);
    CC_CHECK_EQ(cc_store_teacher_add(st, "minh", NULL, "correct horse battery", 0, 1, &minh), 0);
    int64_t now = cc_clock_wall_us() / CC_USEC_PER_SEC;
    char tok[CC_STORE_TOKEN_CAP], tok2[CC_STORE_TOKEN_CAP];
    int64_t exp;
    CC_CHECK_EQ(cc_store_session_new(st, lan.id, now, tok, &exp), 0);
    CC_CHECK_EQ(cc_store_session_new(st, minh.id, now, tok2, &exp), 0);
    cc_mailbox *mb = NULL;
    CC_CHECK_EQ(cc_mailbox_new(&mb), 0);
    cc_recordings *rs = open_rs(st, mb);
    cc_accounts *acc = cc_accounts_new(st, 1);
    cc_store_recording mine = {.teacher_id = lan.id, .started_ms = 5000};
    snprintf(mine.code, sizeof mine.code, "482913");
    snprintf(mine.title, sizeof mine.title, "Toán");
    CC_CHECK_EQ(cc_store_recording_add(st, &mine), 0);
    char path[300];
    snprintf(path, sizeof path, "%s/%s/%s", g_dir, CC_RECORDINGS_DIR, mine.file_name);
    write_file(path, 3000);
    CC_CHECK_EQ(cc_store_recording_finish(st, mine.id, CC_STORE_REC_DONE, 65000, 60000, 3000), 0);
    cc_store_recording theirs = mine;
    theirs.teacher_id = minh.id;
    CC_CHECK_EQ(cc_store_recording_add(st, &theirs), 0);

    req q;
    char url[80];
    /* the list: mine only, with disk use and the quota */
    call(rs, acc, &q, "GET", "/api/recordings", tok, 0, 0, NULL);
    CC_CHECK_EQ(q.r.status, 200);
    json_t *o = body_json(&q);
    json_t *arr = json_object_get(o, "recordings");
    CC_CHECK_EQ(json_array_size(arr), 1);
    json_t *row = json_array_get(arr, 0);
    CC_CHECK_EQ(json_integer_value(json_object_get(row, "id")), mine.id);
    CC_CHECK(strcmp(json_string_value(json_object_get(row, "state")), "done") == 0);
    CC_CHECK_EQ(json_integer_value(json_object_get(row, "duration_ms")), 60000);
    CC_CHECK_EQ(json_integer_value(json_object_get(o, "used_bytes")), 3000);
    CC_CHECK_EQ(json_integer_value(json_object_get(o, "quota_bytes")), 10000);
    CC_CHECK(json_is_false(json_object_get(o, "record_default")));
    CC_CHECK(json_is_true(json_object_get(o, "record_default_available")));
    json_decref(o);

    /* who may ask */
    call(rs, acc, &q, "GET", "/api/recordings", NULL, 0, 0, NULL);
    CC_CHECK_EQ(q.r.status, 401);
    free(q.r.body);
    call(rs, acc, &q, "GET", "/api/recordings", tok, 0, 1, NULL);
    CC_CHECK_EQ(q.r.status, 403);
    free(q.r.body);
    call(rs, acc, &q, "POST", "/api/recordings", tok, 0, 0, "{}");
    CC_CHECK_EQ(q.r.status, 405);
    free(q.r.body);

    /* the file: mine is served, another teacher's looks like none */
    snprintf(url, sizeof url, "/api/recordings/%lld.webm", (long long)mine.id);
    call(rs, acc, &q, "GET", url, tok, 0, 0, NULL);
    CC_CHECK_EQ(q.r.status, 200);
    CC_CHECK(strcmp(q.r.file, path) == 0);
    CC_CHECK(strcmp(q.r.content_type, "video/webm") == 0);
    CC_CHECK(strncmp(q.r.disposition, "inline; filename=\"classcast-482913-", 35) == 0);
    free(q.r.body);
    call(rs, acc, &q, "GET", url, tok2, 0, 0, NULL);
    CC_CHECK_EQ(q.r.status, 404);
    CC_CHECK(q.r.file[0] == 0);
    free(q.r.body);
    snprintf(url, sizeof url, "/api/recordings/%lld.webm", (long long)theirs.id);
    call(rs, acc, &q, "GET", url, tok, 0, 0, NULL);
    CC_CHECK_EQ(q.r.status, 404);
    free(q.r.body);
    /* the local teacher (this computer, --local-teacher) is nobody's owner */
    snprintf(url, sizeof url, "/api/recordings/%lld.webm", (long long)mine.id);
    call(rs, acc, &q, "GET", url, NULL, 1, 0, NULL);
    CC_CHECK_EQ(q.r.status, 404);
    free(q.r.body);

    /* the setting */
    call(rs, acc, &q, "POST", "/api/recordings/settings", tok, 0, 0, "{\"record_default\":true}");
    CC_CHECK_EQ(q.r.status, 200);
    o = body_json(&q);
    CC_CHECK(json_is_true(json_object_get(o, "record_default")));
    json_decref(o);
    int on = 0;
    CC_CHECK_EQ(cc_store_teacher_record_default(st, lan.id, &on), 0);
    CC_CHECK_EQ(on, 1);
    call(rs, acc, &q, "POST", "/api/recordings/settings", tok, 0, 0, "{\"record_default\":1}");
    CC_CHECK_EQ(q.r.status, 400);
    free(q.r.body);
    call(rs, acc, &q, "POST", "/api/recordings/settings", tok, 0, 0, "not json");
    CC_CHECK_EQ(q.r.status, 400);
    free(q.r.body);
    call(rs, acc, &q, "POST", "/api/recordings/settings", NULL, 1, 0, "{\"record_default\":true}");
    CC_CHECK_EQ(q.r.status, 409);
    free(q.r.body);

    /* delete: not someone else's; mine goes with its file */
    snprintf(url, sizeof url, "/api/recordings/%lld", (long long)mine.id);
    call(rs, acc, &q, "DELETE", url, tok2, 0, 0, NULL);
    CC_CHECK_EQ(q.r.status, 404);
    free(q.r.body);
    call(rs, acc, &q, "DELETE", url, tok, 0, 1, NULL);
    CC_CHECK_EQ(q.r.status, 403);
    free(q.r.body);
    CC_CHECK(access(path, F_OK) == 0);
    call(rs, acc, &q, "DELETE", url, tok, 0, 0, NULL);
    CC_CHECK_EQ(q.r.status, 200);
    o = body_json(&q);
    CC_CHECK_EQ(json_array_size(json_object_get(o, "recordings")), 0);
    json_decref(o);
    CC_CHECK(access(path, F_OK) != 0);
    CC_CHECK_EQ(cc_store_recording_get(st, mine.id, NULL), CC_ENOTFOUND);
    call(rs, acc, &q, "DELETE", url, tok, 0, 0, NULL);
    CC_CHECK_EQ(q.r.status, 404);
    free(q.r.body);
    cc_recordings_counters c;
    cc_recordings_get_counters(rs, &c);
    CC_CHECK_EQ(c.downloads, 1);
    CC_CHECK_EQ(c.deleted, 1);

    cc_accounts_free(acc);
    cc_recordings_free(rs);
    cc_mailbox_free(mb);
    cc_store_close(st);
}

/* Without a store nothing is kept, and the API says so. */
static void test_unavailable(void)
{
    cc_recordings_config c = {0};
    cc_recordings *rs = cc_recordings_new(&c);
    CC_CHECK(rs != NULL);
    req q;
    call(rs, NULL, &q, "GET", "/api/recordings", NULL, 1, 0, NULL);
    CC_CHECK_EQ(q.r.status, 503);
    free(q.r.body);
    cc_recordings_free(rs);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/cc-test-recording-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    CC_RUN(test_routes);
    CC_RUN(test_crash_recovery);
    CC_RUN(test_api);
    CC_RUN(test_unavailable);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    CC_TEST_DONE();
}
