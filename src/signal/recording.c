/* Lesson recordings on the control plane; see include/classcast/recording.h
 * and docs/recording.md. */
#include "classcast/recording.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classcast/clock.h"
#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/paths.h"
#include "classcast/recorder.h"
#include "classcast/sfu.h"

#define MOD "recording"

/* One running recording (a slot of a fixed table: bounded). */
typedef struct active_rec {
    int used;
    struct cc_recordings *rs;
    int64_t id;               /* the store's row */
    int64_t owner;            /* the lesson's owner: whose recording */
    uint32_t room_id;
    char code[CC_STORE_CODE_CAP];
    char path[CC_PATHS_MAX + 64];
    cc_worker *w;             /* the worker its room is on */
    cc_recorder *rec;
    int64_t started_ms;
    int stopping;             /* finish asked; waiting for its report */
    int64_t stopped_ms;
    uint64_t size;            /* the file's size at the last tick */
} active_rec;

enum { EV_FINISHED = 1, EV_REPAIRED };

typedef struct rec_event {
    cc_msg hdr;
    int kind;
    int64_t id;
    cc_recorder_result res;
} rec_event;

/* Rows a crash left: repaired one by one on their own thread. */
typedef struct repair_job {
    int64_t id;
    char path[CC_PATHS_MAX + 64];
    int finished;       /* control thread: its EV_REPAIRED came */
} repair_job;

struct cc_recordings {
    cc_recordings_config cfg;
    /* Set by the control thread, read by the recorders' and the repair
     * thread to wake it (atomic loads and stores). */
    cc_http *http;
    char dir[CC_PATHS_MAX + 32];
    int ok;                   /* store and directory are there */
    int shut;
    uint64_t quota;
    int max_active;
    active_rec active[CC_RECORDINGS_MAX_ACTIVE];
    cc_recordings_counters c;
    pthread_t repair_thread;
    int repair_started;
    atomic_int repair_stop;
    repair_job *jobs;
    int n_jobs;
};

static int64_t now_ms(void) { return cc_clock_wall_us() / CC_USEC_PER_MSEC; }

/* ---- messages ---- */

static cc_http *http_of(cc_recordings *rs) { return __atomic_load_n(&rs->http, __ATOMIC_ACQUIRE); }

static void wake(cc_recordings *rs)
{
    cc_http *h = http_of(rs);
    if (h)
        cc_http_wake(h);
}

static void send_json(cc_recordings *rs, uint64_t sid, char *json)
{
    cc_http *h = http_of(rs);
    if (json && h)
        cc_http_ws_send(h, sid, json);
    else
        free(json);
}

static void send_error(cc_recordings *rs, uint64_t sid, const char *code, const char *msg,
                       const cc_proto_req *rq)
{
    send_json(rs, sid, cc_proto_build_error(code, msg, rq ? cc_proto_type_name(rq->type) : NULL,
                                            rq ? rq->id : NULL));
}

static active_rec *active_of_room(cc_recordings *rs, uint32_t room_id)
{
    for (int i = 0; i < rs->max_active; i++)
        if (rs->active[i].used && !rs->active[i].stopping && rs->active[i].room_id == room_id)
            return &rs->active[i];
    return NULL;
}

static active_rec *active_by_id(cc_recordings *rs, int64_t id)
{
    for (int i = 0; i < rs->max_active; i++)
        if (rs->active[i].used && rs->active[i].id == id)
            return &rs->active[i];
    return NULL;
}

/* `recording` to every member of the lesson that is in it. */
static void broadcast_state(cc_recordings *rs, cc_lesson *l, const active_rec *a,
                            const char *reason)
{
    if (!l)
        return;
    char *j = cc_proto_build_recording(a != NULL, a ? a->started_ms : 0, reason);
    for (int i = 0; j && i < l->n_members; i++) {
        cc_member *m = l->members[i];
        if (!(m->flags & CC_MEMBER_WAITING))
            send_json(rs, m->session, strdup(j));
    }
    free(j);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Bytes of recordings (owner 0: everyone's): the finished rows plus the
 * files being written. */
static int64_t used_bytes(cc_recordings *rs, int64_t owner)
{
    int64_t total = 0;
    if (cc_store_recording_bytes(rs->cfg.store, owner, &total) != 0)
        total = 0;
    for (int i = 0; i < rs->max_active; i++) {
        active_rec *a = &rs->active[i];
        if (a->used && (owner == 0 || a->owner == owner))
            total += (int64_t)a->size;
    }
    return total;
}

/* A crash-left file still being remuxed (recover(), repair_main): it is
 * replaced when that ends, so it is neither served nor deleted before. */
static int repairing(const cc_recordings *rs, int64_t id)
{
    for (int i = 0; i < rs->n_jobs; i++)
        if (rs->jobs[i].id == id)
            return !rs->jobs[i].finished;
    return 0;
}

static const char *state_name(int st)
{
    return st == CC_STORE_REC_DONE ? "done" : st == CC_STORE_REC_FAILED ? "failed" : "recording";
}

/* {"type":"recordings","recordings":[...],"used_bytes","total_bytes",
 *  "quota_bytes","record_default","record_default_available","recording"}:
 * what the teacher page and GET /api/recordings show. */
static char *list_json(cc_recordings *rs, int64_t owner)
{
    cc_store_recording *rows = NULL;
    int n = 0;
    if (cc_store_recording_list(rs->cfg.store, owner, &rows, &n) != 0)
        return NULL;
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++) {
        const cc_store_recording *r = &rows[i];
        const active_rec *a = active_by_id(rs, r->id);
        char url[64];
        snprintf(url, sizeof url, "/api/recordings/%lld.webm", (long long)r->id);
        json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s}", "id",
                              (json_int_t)r->id, "code", r->code, "title", r->title,
                              "started_at", (json_int_t)r->started_ms, "ended_at",
                              (json_int_t)r->ended_ms, "duration_ms",
                              (json_int_t)(a ? now_ms() - a->started_ms : r->duration_ms),
                              "bytes", (json_int_t)(a ? (int64_t)a->size : r->bytes), "state",
                              a                      ? "recording"
                              : repairing(rs, r->id) ? "repairing"
                                                     : state_name(r->state),
                              "url", url);
        if (o)
            json_array_append_new(arr, o);
    }
    free(rows);
    int def = 0;
    if (owner > 0 && cc_store_teacher_record_default(rs->cfg.store, owner, &def) != 0)
        def = 0;
    json_t *root = json_pack("{s:s, s:o, s:I, s:I, s:I, s:b, s:b}", "type", "recordings",
                             "recordings", arr ? arr : json_array(), "used_bytes",
                             (json_int_t)used_bytes(rs, owner), "total_bytes",
                             (json_int_t)used_bytes(rs, 0), "quota_bytes",
                             (json_int_t)rs->quota, "record_default", def,
                             "record_default_available", owner > 0);
    char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return s;
}

/* The owner's teachers in lesson l get the list again. */
static void send_lists(cc_recordings *rs, cc_lesson *l)
{
    if (!l || !l->owner)
        return;
    char *j = NULL;
    for (int i = 0; i < l->n_members; i++) {
        cc_member *m = l->members[i];
        if (m->role != CC_ROLE_TEACHER)
            continue;
        if (!j && !(j = list_json(rs, l->owner)))
            return;
        send_json(rs, m->session, strdup(j));
    }
    free(j);
}

/* ---- start and stop ---- */

/* The recorder's thread: the file is done (or failed). */
static void recorder_done(void *ud, const cc_recorder_result *res)
{
    active_rec *a = ud;
    cc_recordings *rs = a->rs;
    rec_event *e = calloc(1, sizeof *e);
    if (!e)
        return; /* shutdown waits for the thread and reads the result itself */
    e->hdr.type = CC_RECORDING_EVENT;
    e->kind = EV_FINISHED;
    e->id = a->id;
    e->res = *res;
    if (!rs->cfg.events || cc_mailbox_post(rs->cfg.events, &e->hdr) != 0) {
        free(e);
        return;
    }
    wake(rs);
}

/* 0, or an error code for the teacher with a sentence in msg. */
static const char *start(cc_recordings *rs, cc_worker *w, cc_lesson *l, char *msg, size_t cap)
{
    if (!rs->ok) {
        snprintf(msg, cap, "this server cannot keep recordings (see its log)");
        return "recording_unavailable";
    }
    if (!l->owner) {
        snprintf(msg, cap, "this lesson has no teacher account to keep its recordings");
        return "recording_unavailable";
    }
    if (rs->shut) {
        snprintf(msg, cap, "the server is stopping");
        return "server_busy";
    }
    active_rec *a = NULL;
    for (int i = 0; i < rs->max_active && !a; i++)
        if (!rs->active[i].used)
            a = &rs->active[i];
    if (!a) {
        rs->c.refused_busy++;
        CC_LOG_RL(CC_LOG_WARN, MOD, "lesson %s: recording refused: %d recordings run already",
                  l->code, rs->max_active);
        snprintf(msg, cap, "this server records as many lessons at once as it may (%d): try "
                 "again when one has stopped", rs->max_active);
        return "server_busy";
    }
    int64_t used = used_bytes(rs, 0);
    if ((uint64_t)used >= rs->quota) {
        rs->c.refused_quota++;
        CC_LOG_RL(CC_LOG_WARN, MOD, "lesson %s: recording refused: recordings use %lld of "
                  "%llu bytes", l->code, (long long)used, (unsigned long long)rs->quota);
        snprintf(msg, cap, "the recordings already use all the space set aside for them "
                 "(%.1f of %.1f GB): delete old recordings first",
                 used / 1e9, rs->quota / 1e9);
        return "recording_quota";
    }
    cc_store_recording row = {.teacher_id = l->owner, .started_ms = now_ms()};
    snprintf(row.code, sizeof row.code, "%s", l->code);
    /* 120 code points: at most 480 bytes of UTF-8, which fit */
    snprintf(row.title, sizeof row.title, "%.*s", (int)sizeof row.title - 1, l->title);
    if (cc_store_recording_add(rs->cfg.store, &row) != 0) {
        snprintf(msg, cap, "the recording could not be written down");
        return "server_error";
    }
    memset(a, 0, sizeof *a);
    a->rs = rs;
    a->id = row.id;
    a->owner = l->owner;
    a->room_id = l->room_id;
    a->w = w;
    a->started_ms = row.started_ms;
    snprintf(a->code, sizeof a->code, "%s", l->code);
    snprintf(a->path, sizeof a->path, "%s/%s", rs->dir, row.file_name);
    cc_recorder_config rc = {.path = a->path, .done = recorder_done, .ud = a};
    char err[256] = "";
    if (cc_recorder_start(&a->rec, &rc, err, sizeof err) != 0) {
        CC_ERROR(MOD, "lesson %s: cannot record: %s", l->code, err);
        cc_store_recording_finish(rs->cfg.store, row.id, CC_STORE_REC_FAILED, now_ms(), 0, 0);
        unlink(a->path);
        a->rec = NULL;
        rs->c.failed++;
        snprintf(msg, cap, "the recording could not start: %s", err);
        return "server_error";
    }
    a->used = 1;
    if (cc_sfu_record_attach(w, l->room_id, cc_recorder_tap(a->rec)) != 0)
        CC_WARN(MOD, "lesson %s: the media worker did not take the recording", l->code);
    rs->c.started++;
    rs->c.active++;
    CC_INFO(MOD, "lesson %s: recording %lld started (%s)", l->code, (long long)a->id, a->path);
    return NULL;
}

/* The worker lets go of the tap at once; the recorder finishes the file
 * on its own thread and reports (recorder_done). */
static void stop(cc_recordings *rs, active_rec *a, const char *reason)
{
    if (!a || a->stopping)
        return;
    cc_sfu_record_detach(a->w, a->room_id, cc_recorder_tap(a->rec));
    cc_recorder_finish(a->rec);
    a->stopping = 1;
    a->stopped_ms = now_ms();
    CC_INFO(MOD, "lesson %s: recording %lld stops%s%s", a->code, (long long)a->id,
            reason ? ": " : "", reason ? reason : "");
    cc_lesson *l = rs->cfg.lessons ? cc_lessons_find_room(rs->cfg.lessons, a->room_id) : NULL;
    broadcast_state(rs, l, NULL, reason);
}

/* The file is done: its row says how it went; the slot is free again. */
static void settle(cc_recordings *rs, active_rec *a, const cc_recorder_result *res)
{
    int ok = res->ok && res->bytes > 0;
    cc_store_recording_finish(rs->cfg.store, a->id, ok ? CC_STORE_REC_DONE : CC_STORE_REC_FAILED,
                              a->stopped_ms ? a->stopped_ms : now_ms(), res->duration_ms,
                              (int64_t)res->bytes);
    if (ok)
        rs->c.finished++;
    else
        rs->c.failed++;
    if (!ok)
        CC_WARN(MOD, "recording %lld failed: %s", (long long)a->id, res->error);
    cc_recorder_free(a->rec);
    uint32_t room = a->room_id;
    memset(a, 0, sizeof *a);
    if (rs->c.active)
        rs->c.active--;
    cc_lesson *l = rs->cfg.lessons ? cc_lessons_find_room(rs->cfg.lessons, room) : NULL;
    send_lists(rs, l);
}

void cc_recordings_request(cc_recordings *rs, cc_worker *w, uint64_t sid, cc_lesson *l,
                           cc_member *m, const cc_proto_req *rq)
{
    (void)m;
    const char *ref = cc_proto_type_name(rq->type);
    active_rec *a = active_of_room(rs, l->room_id);
    if (rq->type == CC_PROTO_RECORD_STOP) {
        if (a)
            stop(rs, a, NULL);
        send_json(rs, sid, cc_proto_build_ok(ref, rq->id));
        return;
    }
    if (a) { /* already recording: say so again */
        send_json(rs, sid, cc_proto_build_ok(ref, rq->id));
        send_json(rs, sid, cc_proto_build_recording(1, a->started_ms, NULL));
        return;
    }
    char msg[300];
    const char *code = start(rs, w, l, msg, sizeof msg);
    if (code) {
        send_error(rs, sid, code, msg, rq);
        return;
    }
    send_json(rs, sid, cc_proto_build_ok(ref, rq->id));
    broadcast_state(rs, l, active_of_room(rs, l->room_id), NULL);
    send_lists(rs, l);
}

void cc_recordings_lesson_started(cc_recordings *rs, cc_worker *w, cc_lesson *l)
{
    int on = 0;
    if (!rs || !rs->ok || l->owner <= 0 || active_of_room(rs, l->room_id) ||
        cc_store_teacher_record_default(rs->cfg.store, l->owner, &on) != 0 || !on)
        return;
    char msg[300];
    const char *code = start(rs, w, l, msg, sizeof msg);
    if (code) {
        /* The teacher's tabs learn why the lesson is not recorded. */
        for (int i = 0; i < l->n_members; i++)
            if (l->members[i]->role == CC_ROLE_TEACHER)
                send_json(rs, l->members[i]->session,
                          cc_proto_build_error(code, msg, "record_start", NULL));
        return;
    }
    broadcast_state(rs, l, active_of_room(rs, l->room_id), NULL);
    send_lists(rs, l);
}

void cc_recordings_lesson_ended(cc_recordings *rs, cc_lesson *l)
{
    if (rs)
        stop(rs, active_of_room(rs, l->room_id), NULL);
}

void cc_recordings_joined(cc_recordings *rs, cc_lesson *l, cc_member *m)
{
    if (!rs)
        return;
    active_rec *a = active_of_room(rs, l->room_id);
    if (a)
        send_json(rs, m->session, cc_proto_build_recording(1, a->started_ms, NULL));
    if (m->role == CC_ROLE_TEACHER && rs->ok && l->owner)
        send_json(rs, m->session, list_json(rs, l->owner));
}

void cc_recordings_on_event(cc_recordings *rs, const cc_msg *m)
{
    const rec_event *e = (const rec_event *)m;
    if (!rs || m->type != CC_RECORDING_EVENT)
        return;
    if (e->kind == EV_REPAIRED) {
        for (int i = 0; i < rs->n_jobs; i++)
            if (rs->jobs[i].id == e->id)
                rs->jobs[i].finished = 1;
        if (e->res.ok) {
            cc_store_recording row;
            if (cc_store_recording_get(rs->cfg.store, e->id, &row) == 0)
                cc_store_recording_finish(rs->cfg.store, e->id, CC_STORE_REC_DONE, row.ended_ms,
                                          e->res.duration_ms, (int64_t)e->res.bytes);
            rs->c.repaired++;
        }
        return;
    }
    /* The recorder's thread is past its last step (done() was it): freeing
     * it joins at once. */
    active_rec *a = active_by_id(rs, e->id);
    if (a && a->rec && a->stopping)
        settle(rs, a, &e->res);
}

void cc_recordings_tick(cc_recordings *rs)
{
    if (!rs || !rs->ok)
        return;
    int over = 0;
    for (int i = 0; i < rs->max_active; i++) {
        active_rec *a = &rs->active[i];
        if (a->used && a->stopping && cc_recorder_finished(a->rec) &&
            now_ms() - a->stopped_ms > 5000) {
            /* finished, but its report never came (out of memory) */
            cc_recorder_result res;
            cc_recorder_wait(a->rec, &res);
            settle(rs, a, &res);
            continue;
        }
        if (!a->used || a->stopping)
            continue;
        a->size = file_size(a->path);
        if (cc_recorder_failed(a->rec))
            stop(rs, a, "failed");
    }
    if ((uint64_t)used_bytes(rs, 0) > rs->quota)
        over = 1;
    for (int i = 0; over && i < rs->max_active; i++) {
        active_rec *a = &rs->active[i];
        if (a->used && !a->stopping) {
            rs->c.stopped_quota++;
            CC_WARN(MOD, "lesson %s: recording stopped: the recordings reached the quota "
                    "(%llu bytes)", a->code, (unsigned long long)rs->quota);
            stop(rs, a, "quota");
        }
    }
}

/* ---- start-up: what a crash left ---- */

static void *repair_main(void *arg)
{
    cc_recordings *rs = arg;
    for (int i = 0; i < rs->n_jobs && !atomic_load(&rs->repair_stop); i++) {
        rec_event *e = calloc(1, sizeof *e);
        if (!e)
            continue;
        e->hdr.type = CC_RECORDING_EVENT;
        e->kind = EV_REPAIRED;
        e->id = rs->jobs[i].id;
        if (cc_recorder_repair(rs->jobs[i].path, &e->res) == 0)
            CC_INFO(MOD, "recording %lld repaired: %.1f s, %llu bytes", (long long)e->id,
                    e->res.duration_ms / 1000.0, (unsigned long long)e->res.bytes);
        else
            CC_WARN(MOD, "recording %lld could not be repaired (%s): it plays as it is",
                    (long long)e->id, e->res.error);
        if (!rs->cfg.events || cc_mailbox_post(rs->cfg.events, &e->hdr) != 0) {
            free(e);
            continue;
        }
        wake(rs);
    }
    return NULL;
}

/* Rows still 'recording' belong to a server that died: each is done with
 * whatever its file holds (all but about its last second); the files are
 * remuxed on a thread so they get a duration and seek. */
static void recover(cc_recordings *rs)
{
    cc_store_recording *rows = NULL;
    int n = 0;
    if (cc_store_recording_unfinished(rs->cfg.store, &rows, &n) != 0 || n == 0) {
        free(rows);
        return;
    }
    rs->jobs = calloc((size_t)n, sizeof *rs->jobs);
    for (int i = 0; i < n; i++) {
        char path[sizeof rs->jobs[0].path];
        snprintf(path, sizeof path, "%s/%s", rs->dir, rows[i].file_name);
        struct stat st;
        int have = rows[i].file_name[0] && stat(path, &st) == 0 && st.st_size > 0;
        int64_t ended = have ? (int64_t)st.st_mtime * 1000 : rows[i].started_ms;
        cc_store_recording_finish(rs->cfg.store, rows[i].id,
                                  have ? CC_STORE_REC_DONE : CC_STORE_REC_FAILED, ended,
                                  have ? ended - rows[i].started_ms : 0,
                                  have ? (int64_t)st.st_size : 0);
        CC_WARN(MOD, "recording %lld of lesson %s was cut off by a stop of the server: kept "
                "%s", (long long)rows[i].id, rows[i].code, have ? "what was written" : "nothing");
        if (have && rs->jobs) {
            rs->jobs[rs->n_jobs].id = rows[i].id;
            snprintf(rs->jobs[rs->n_jobs].path, sizeof rs->jobs[0].path, "%s", path);
            rs->n_jobs++;
        }
    }
    free(rows);
    if (rs->n_jobs && pthread_create(&rs->repair_thread, NULL, repair_main, rs) == 0)
        rs->repair_started = 1;
}

cc_recordings *cc_recordings_new(const cc_recordings_config *cfg)
{
    cc_recordings *rs = calloc(1, sizeof *rs);
    if (!rs)
        return NULL;
    rs->cfg = *cfg;
    rs->quota = cfg->quota_bytes ? cfg->quota_bytes : CC_RECORDINGS_DEFAULT_QUOTA;
    rs->max_active = cfg->max_active > 0 && cfg->max_active < CC_RECORDINGS_MAX_ACTIVE
                         ? cfg->max_active
                         : CC_RECORDINGS_MAX_ACTIVE;
    atomic_init(&rs->repair_stop, 0);
    char base[CC_PATHS_MAX];
    if (!cfg->store)
        return rs;
    if (cfg->state_dir)
        snprintf(base, sizeof base, "%s", cfg->state_dir);
    else if (cc_paths_state_dir(base, sizeof base) != 0) {
        CC_WARN(MOD, "no state directory: lessons cannot be recorded");
        return rs;
    }
    snprintf(rs->dir, sizeof rs->dir, "%s/%s", base, CC_RECORDINGS_DIR);
    if (cc_paths_make_private_dir(rs->dir) != 0) {
        CC_WARN(MOD, "cannot create %s (%s): lessons cannot be recorded", rs->dir,
                strerror(errno));
        return rs;
    }
    rs->ok = 1;
    recover(rs);
    return rs;
}

void cc_recordings_set_http(cc_recordings *rs, cc_http *http)
{
    if (rs)
        __atomic_store_n(&rs->http, http, __ATOMIC_RELEASE);
}

void cc_recordings_shutdown(cc_recordings *rs)
{
    if (!rs)
        return;
    rs->shut = 1;
    for (int i = 0; i < rs->max_active; i++) {
        active_rec *a = &rs->active[i];
        if (!a->used)
            continue;
        if (!a->stopping) {
            cc_sfu_record_detach(a->w, a->room_id, cc_recorder_tap(a->rec));
            a->stopping = 1;
            a->stopped_ms = now_ms();
        }
        cc_recorder_result res;
        cc_recorder_wait(a->rec, &res);
        CC_INFO(MOD, "lesson %s: recording %lld finished as the server stops", a->code,
                (long long)a->id);
        __atomic_store_n(&rs->http, NULL, __ATOMIC_RELEASE); /* no pages to tell */
        settle(rs, a, &res);
    }
}

void cc_recordings_free(cc_recordings *rs)
{
    if (!rs)
        return;
    cc_recordings_shutdown(rs);
    atomic_store(&rs->repair_stop, 1);
    if (rs->repair_started)
        pthread_join(rs->repair_thread, NULL);
    free(rs->jobs);
    free(rs);
}

void cc_recordings_get_counters(const cc_recordings *rs, cc_recordings_counters *out)
{
    if (rs)
        *out = rs->c;
    else
        memset(out, 0, sizeof *out);
}

/* ---- HTTP ---- */

int cc_recordings_route(const char *path, int64_t *id)
{
    static const char base[] = "/api/recordings";
    *id = 0;
    if (!path || strncmp(path, base, sizeof base - 1) != 0)
        return -1;
    const char *p = path + sizeof base - 1;
    if (!*p)
        return CC_RECROUTE_LIST;
    if (*p++ != '/')
        return -1;
    if (strcmp(p, "settings") == 0)
        return CC_RECROUTE_SETTINGS;
    int64_t v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        if (++digits > 15)
            return -1; /* ids stay far below 2^53 */
        v = v * 10 + (*p++ - '0');
    }
    if (!digits || v == 0)
        return -1;
    *id = v;
    if (!*p)
        return CC_RECROUTE_ITEM;
    if (strcmp(p, ".webm") == 0)
        return CC_RECROUTE_FILE;
    *id = 0;
    return -1;
}

/* RFC 9110 section 14.1.2: "bytes=first-last", "bytes=first-" or
 * "bytes=-suffix"; one range only (a server may ignore a Range it does not
 * serve, section 14.2: several ranges get the whole file). */
int cc_recordings_range(const char *hdr, uint64_t size, uint64_t *off, uint64_t *len)
{
    *off = 0;
    *len = 0;
    if (!hdr || strncmp(hdr, "bytes=", 6) != 0)
        return 0;
    const char *p = hdr + 6;
    uint64_t a = 0, b = 0;
    int have_a = 0, have_b = 0;
    while (*p >= '0' && *p <= '9') {
        if (a > UINT64_MAX / 10 - 10)
            return 0;
        a = a * 10 + (uint64_t)(*p++ - '0');
        have_a = 1;
    }
    if (*p++ != '-')
        return 0;
    while (*p >= '0' && *p <= '9') {
        if (b > UINT64_MAX / 10 - 10)
            return 0;
        b = b * 10 + (uint64_t)(*p++ - '0');
        have_b = 1;
    }
    if (*p || (!have_a && !have_b))
        return 0; /* several ranges, or not a range: the whole file */
    if (!have_a) { /* the last b bytes */
        if (b == 0 || size == 0)
            return -1;
        *off = b >= size ? 0 : size - b;
        *len = size - *off;
        return 1;
    }
    if (have_b && b < a)
        return 0; /* invalid: ignored */
    if (a >= size)
        return -1;
    uint64_t last = have_b && b < size - 1 ? b : size - 1;
    *off = a;
    *len = last - a + 1;
    return 1;
}

int cc_recordings_is_api(const char *path)
{
    int64_t id;
    return strncmp(path, "/api/recordings", 15) == 0 &&
           (cc_recordings_route(path, &id) >= 0 || path[15] == '/' || path[15] == 0);
}

static void fail(cc_http_response *r, int status, const char *code, const char *message)
{
    cc_http_reply_error(r, status, code, message);
}

static void answer_json(cc_http_response *r, char *body)
{
    if (!body) {
        fail(r, 500, "server_error", "the recordings could not be read");
        return;
    }
    r->status = 200;
    snprintf(r->content_type, sizeof r->content_type, "application/json");
    free(r->body);
    r->body = body;
    r->body_len = strlen(body);
}

void cc_recordings_api(cc_recordings *rs, cc_accounts *accounts, const cc_http_request *rq,
                       cc_http_response *r, int64_t now)
{
    int64_t id = 0;
    int route = cc_recordings_route(rq->path, &id);
    if (route < 0) {
        fail(r, 404, "not_found", "no such recording");
        return;
    }
    int get = strcmp(rq->method, "GET") == 0, post = strcmp(rq->method, "POST") == 0,
        del = strcmp(rq->method, "DELETE") == 0;
    if ((route == CC_RECROUTE_LIST && !get) || (route == CC_RECROUTE_FILE && !get) ||
        (route == CC_RECROUTE_SETTINGS && !post) || (route == CC_RECROUTE_ITEM && !del)) {
        fail(r, 405, "bad_method",
             route == CC_RECROUTE_SETTINGS ? "use POST" : route == CC_RECROUTE_ITEM ? "use DELETE"
                                                                                   : "use GET");
        return;
    }
    /* A teacher's recordings are personal data, and DELETE and settings
     * change state: never for another site's page. */
    if (rq->cross_origin) {
        CC_LOG_RL(CC_LOG_WARN, MOD, "refused %s %s from another site's page (%s)", rq->method,
                  rq->path, rq->peer_ip);
        fail(r, 403, "cross_origin", "only classcast's own pages may use this");
        return;
    }
    if (!rs || !rs->ok) {
        fail(r, 503, "recording_unavailable", "this server keeps no recordings");
        return;
    }
    char token[CC_STORE_TOKEN_CAP];
    cc_who w;
    cc_accounts_token_of(rq->cookie, token);
    if (cc_accounts_identify(accounts, token, rq->from_loopback, now, &w) == CC_WHO_NONE) {
        CC_LOG_RL(CC_LOG_WARN, MOD, "%s %s from %s refused: not signed in", rq->method, rq->path,
                  rq->peer_ip);
        fail(r, 401, "not_signed_in", "sign in as a teacher first");
        return;
    }
    if (w.kind == CC_WHO_TEACHER && w.teacher.must_change_pw) {
        fail(r, 403, "must_change_password", "choose your own password first");
        return;
    }
    if (route == CC_RECROUTE_LIST) {
        answer_json(r, list_json(rs, w.owner));
        return;
    }
    if (route == CC_RECROUTE_SETTINGS) {
        if (w.owner <= 0) {
            fail(r, 409, "no_account", "the built-in local teacher has no account to keep "
                                       "settings in");
            return;
        }
        json_error_t je;
        json_t *b = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &je);
        json_t *v = json_is_object(b) ? json_object_get(b, "record_default") : NULL;
        if (!json_is_boolean(v) || rq->body_too_big) {
            json_decref(b);
            fail(r, 400, "bad_request", "send {\"record_default\": true or false}");
            return;
        }
        int on = json_is_true(v);
        json_decref(b);
        if (cc_store_teacher_set_record_default(rs->cfg.store, w.owner, on) != 0) {
            fail(r, 500, "server_error", "the setting could not be saved");
            return;
        }
        CC_INFO(MOD, "teacher %lld: record every lesson %s", (long long)w.owner,
                on ? "on" : "off");
        answer_json(r, list_json(rs, w.owner));
        return;
    }
    cc_store_recording row;
    if (cc_store_recording_get(rs->cfg.store, id, &row) != 0 || row.teacher_id != w.owner) {
        fail(r, 404, "no_such_recording", "you have no recording with this number");
        return;
    }
    char path[sizeof rs->dir + 40];
    snprintf(path, sizeof path, "%s/%s", rs->dir, row.file_name);
    if (repairing(rs, id)) {
        fail(r, 409, "repairing", "this recording is being repaired after a stop of the "
             "server: try again in a moment");
        return;
    }
    if (route == CC_RECROUTE_ITEM) {
        if (active_by_id(rs, id)) {
            fail(r, 409, "recording", "this recording is still running: stop it first");
            return;
        }
        if (cc_store_recording_delete(rs->cfg.store, w.owner, id) != 0) {
            fail(r, 500, "server_error", "the recording could not be deleted");
            return;
        }
        if (unlink(path) != 0 && errno != ENOENT)
            CC_WARN(MOD, "recording %lld: cannot remove %s: %s", (long long)id, path,
                    strerror(errno));
        rs->c.deleted++;
        CC_INFO(MOD, "recording %lld deleted by its teacher", (long long)id);
        answer_json(r, list_json(rs, w.owner));
        return;
    }
    if (file_size(path) == 0) {
        fail(r, 404, "no_such_recording", "the file of this recording is gone");
        return;
    }
    uint64_t size = file_size(path), off, len;
    int part = cc_recordings_range(rq->range, size, &off, &len);
    if (part < 0) {
        fail(r, 416, "bad_range", "that part of the file does not exist");
        snprintf(r->content_range, sizeof r->content_range, "bytes */%llu",
                 (unsigned long long)size);
        return;
    }
    if (off == 0)
        rs->c.downloads++; /* a player's later ranges are the same download */
    r->status = part ? 206 : 200;
    if (part) {
        r->file_offset = off;
        r->file_length = len;
        snprintf(r->content_range, sizeof r->content_range, "bytes %llu-%llu/%llu",
                 (unsigned long long)off, (unsigned long long)(off + len - 1),
                 (unsigned long long)size);
    }
    snprintf(r->content_type, sizeof r->content_type, "video/webm");
    snprintf(r->file, sizeof r->file, "%s", path);
    /* RFC 6266 section 4.1: an ASCII file name. Inline plays in the page;
     * ?download=1 saves it. */
    int dl = rq->query && strstr(rq->query, "download=1") != NULL;
    snprintf(r->disposition, sizeof r->disposition, "%s; filename=\"classcast-%s-%lld.webm\"",
             dl ? "attachment" : "inline", row.code, (long long)row.id);
}
