/* The control plane's application logic (see control.h). */
#include "classcast/control.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <glib.h>

#include "classcast/accounts.h"
#include "classcast/capture.h"
#include "classcast/clock.h"
#include "classcast/dataplane.h"
#include "classcast/devices.h"
#include "classcast/err.h"
#include "classcast/history.h"
#include "classcast/lesson.h"
#include "classcast/localpub.h"
#include "classcast/log.h"
#include "classcast/metrics.h"
#include "classcast/persist.h"
#include "classcast/proto.h"
#include "classcast/qr.h"
#include "classcast/rand.h"
#include "classcast/ratelimit.h"
#include "classcast/recording.h"
#include "classcast/whip.h"
#include "classcast/sfu.h"
#include "classcast/source.h"

/* A WebSocket session as the control plane sees it. The member it stands
 * for is found through the lesson registry (cc_member.session == sid). */
typedef struct sess {
    uint64_t sid;
    int from_loopback;
    char addr_key[64];                /* cc_ratelimit_key_of_ip of its peer */
    char pub_ufrag[CC_ICE_MAX_CRED];  /* current publish transport, "" none */
    char pub_pwd[CC_ICE_MAX_CRED];    /* its local ICE password */
    char pub_remote[CC_ICE_MAX_CRED]; /* the browser's ufrag on it */
    char sub_ufrag[CC_ICE_MAX_CRED];  /* current subscribe transport */
    char sub_pwd[CC_ICE_MAX_CRED];
    char sub_remote[CC_ICE_MAX_CRED];
    /* Its streams as last answered (kept SSRCs on an in-place update). */
    cc_sfu_out_info sub_outs[CC_SDP_MAX_MEDIA];
    int n_sub_outs;
    unsigned pub_kinds;               /* what its publish transport sends */
    /* Chat: a token bucket (CHAT_BURST, CHAT_PER_S). */
    double chat_tokens;
    cc_time_us chat_at;
    /* `quality` reports: another (QUALITY_BURST, QUALITY_PER_S). */
    double quality_tokens;
    cc_time_us quality_at;
    /* The session token of the handshake's cookie ("" none): who is
     * signed in is looked up again when it matters (create, capture), so
     * a sign-out or a disabled account counts at once. */
    char token[CC_STORE_TOKEN_CAP];
} sess;

/* A WHIP or WHEP session (no WebSocket behind it). */
typedef struct resource {
    /* The URL's last segment: letters and digits only. ICE ufrags may hold
     * '+' and '/' (RFC 8839 ice-char), which do not survive a URL path. */
    char id[24];
    char ufrag[CC_ICE_MAX_CRED];
    char code[CC_PROTO_CODE_CAP];
    uint32_t room_id;
    int publisher;
} resource;

/* A lesson's local publisher (capture on the classroom computer). */
#define CAPTURE_SOURCES_CAP (CC_PROTO_MAX_SOURCES * (CC_PROTO_SOURCE_CAP + 1))
typedef struct capture_run {
    cc_localpub *lp;
    char sources[CAPTURE_SOURCES_CAP];  /* "screen,test-audio" */
    char display[CC_PROTO_DISPLAY_CAP]; /* "" : the default */
} capture_run;

struct cc_control {
    cc_control_config cfg;
    cc_http *http;
    cc_echo_params echo;
    cc_sfu_params sfu;
    cc_sfu_params sfu_room;   /* sfu with the candidates' port of a room's worker */
    cc_lessons *lessons;
    /* Wrong lesson codes and tokens per address (/ws join and resume,
     * WHIP/WHEP): enumerating 6-digit codes must not be practical. */
    cc_ratelimit *bad_tries;
    uint64_t wrong_tries, tries_refused; /* /stats "control" */
    /* Who may create lessons and capture (accounts.h), and what they were
     * refused: /stats "control" too. */
    cc_accounts *accounts;
    uint64_t not_signed_in, must_change_refused, too_many_lessons;
    /* Refused because a lesson or the server is full (server_busy / 503). */
    uint64_t lesson_full, peers_full;
    /* `quality` reports refused for coming too fast. */
    uint64_t quality_too_fast;
    /* Lessons in the database (persist.h): what outlives a restart. */
    cc_persist *persist;
    cc_recordings *rec;     /* lesson recordings (recording.h) */
    GHashTable *sessions;   /* sid -> sess* */
    GHashTable *resources;  /* resource id -> resource* */
    GHashTable *captures;   /* room_id -> capture_run* (at most one a lesson) */
    int shut;               /* cc_control_shutdown ran: no new capture */
};

static cc_time_us now_us(void) { return cc_clock_mono_us(); }

static int64_t now_wall_ms(void) { return cc_clock_wall_us() / CC_USEC_PER_MSEC; }
/* Sessions expire in wall-clock time (they outlive a restart). */
static int64_t now_wall_s(void) { return cc_clock_wall_us() / CC_USEC_PER_SEC; }

/* ---- the data plane: which worker a transport is on (dataplane.h) ---- */

/* A room's publishers (and its capture, mute, last-N) are on its worker. */
static cc_worker *room_w(cc_control *c, uint32_t room_id)
{
    return c->cfg.dp ? cc_dataplane_room_worker(c->cfg.dp, room_id) : c->cfg.worker;
}

/* A subscriber transport is where the data plane placed it. */
static cc_worker *sub_w(cc_control *c, uint32_t room_id, const char *ufrag)
{
    return c->cfg.dp ? cc_dataplane_peer_worker(c->cfg.dp, room_id, ufrag) : c->cfg.worker;
}

/* The answer's candidates name the port of the transport's worker: the
 * browser's checks must reach that worker's socket. */
static const cc_sfu_params *worker_params(cc_control *c, cc_worker *w)
{
    if (!c->cfg.dp)
        return &c->sfu;
    c->sfu_room = c->sfu;
    uint16_t port = cc_addr_port(cc_worker_local(w));
    for (int i = 0; i < c->sfu_room.n_candidates; i++)
        cc_addr_set_port(&c->sfu_room.candidates[i], port);
    return &c->sfu_room;
}

static void room_closed(cc_control *c, uint32_t room_id)
{
    if (c->cfg.dp)
        cc_dataplane_room_close(c->cfg.dp, room_id); /* its mirrors too */
    else
        cc_sfu_room_close(c->cfg.worker, room_id);
}

static void remove_peer(cc_control *c, const char *ufrag)
{
    if (c->cfg.dp)
        cc_dataplane_remove_peer(c->cfg.dp, ufrag);
    else
        cc_worker_remove_peer(c->cfg.worker, ufrag);
}

static uint32_t peer_count(cc_control *c)
{
    return c->cfg.dp ? cc_dataplane_peer_count(c->cfg.dp) : cc_worker_peer_count(c->cfg.worker);
}

/* Whatever changed in lesson l goes to the database (NULL: nothing). */
static void persist_sync(cc_control *c, cc_lesson *l)
{
    if (l)
        cc_persist_sync(c->persist, l, now_us(), now_wall_ms());
}

/* ---- sending ---- */

static void send_json(cc_control *c, uint64_t sid, char *json)
{
    if (json)
        cc_http_ws_send(c->http, sid, json);
}

static void send_error(cc_control *c, uint64_t sid, const char *code,
                       const char *message, const char *ref, const char *id)
{
    send_json(c, sid, cc_proto_build_error(code, message, ref, id));
}

/* Wrong lesson codes and tokens: 10 tries per address, then one more every
 * 6 s (10 a minute). A whole school behind one address mistyping a code
 * now and then stays far below that; walking the million 6-digit codes
 * would take almost 70 days. */
#define BAD_TRY_BURST 10
#define BAD_TRY_PER_MIN 10
#define BAD_TRY_KEYS 10000

static void count_wrong_try(cc_control *c, const char *key, cc_time_us now)
{
    c->wrong_tries++;
    cc_ratelimit_fail(c->bad_tries, key, now);
}

/* 1 (and the error sent) when this session's address must wait. */
static int refuse_if_too_many(cc_control *c, sess *s, cc_time_us now, const char *ref,
                              const char *id)
{
    int wait = 0;
    if (cc_ratelimit_check(c->bad_tries, s->addr_key, now, &wait) == 0)
        return 0;
    c->tries_refused++;
    CC_LOG_RL(CC_LOG_WARN, "control", "too many wrong codes or tokens from %s: %s refused for %d s",
              s->addr_key, ref, wait);
    char msg[128];
    snprintf(msg, sizeof msg, "too many wrong codes from this network: wait %d seconds", wait);
    send_json(c, s->sid, cc_proto_build_error_wait("too_many_tries", msg, ref, id, wait));
    return 1;
}

/* To every member of the lesson (teachers_only: the member list); members
 * in the waiting room get nothing of the lesson. */
static void broadcast(cc_control *c, cc_lesson *l, const char *json, int teachers_only)
{
    if (!json)
        return;
    for (int i = 0; i < l->n_members; i++) {
        cc_member *m = l->members[i];
        if ((teachers_only && m->role != CC_ROLE_TEACHER) || (m->flags & CC_MEMBER_WAITING))
            continue;
        send_json(c, m->session, strdup(json));
    }
}

static void broadcast_members(cc_control *c, cc_lesson *l)
{
    /* Member times are on the monotonic clock; pages get Unix time. */
    char *j = cc_proto_build_members(l, now_us(), cc_clock_wall_us() / 1000);
    broadcast(c, l, j, 1);
    free(j);
}

static void broadcast_lesson(cc_control *c, cc_lesson *l)
{
    char *j = cc_proto_build_lesson_full(l);
    broadcast(c, l, j, 0);
    free(j);
}

static void broadcast_media(cc_control *c, cc_lesson *l)
{
    char *j = cc_proto_build_media(!!(l->media & (1u << CC_SLOT_CAMERA)),
                                   !!(l->media & (1u << CC_SLOT_SCREEN)),
                                   !!(l->media & (1u << CC_SLOT_MIC)));
    broadcast(c, l, j, 0);
    free(j);
}

/* After joined/created: where the lesson stands. */
static void send_state(cc_control *c, uint64_t sid, cc_lesson *l)
{
    send_json(c, sid, cc_proto_build_lesson_full(l));
    send_json(c, sid, cc_proto_build_media(!!(l->media & (1u << CC_SLOT_CAMERA)),
                                           !!(l->media & (1u << CC_SLOT_SCREEN)),
                                           !!(l->media & (1u << CC_SLOT_MIC))));
}

static void set_text(cc_http_response *r, int status, const char *msg)
{
    r->status = status;
    snprintf(r->content_type, sizeof r->content_type, "text/plain; charset=utf-8");
    free(r->body);
    r->body = strdup(msg);
    r->body_len = r->body ? strlen(r->body) : 0;
}

static void set_body(cc_http_response *r, int status, const char *ctype, char *body)
{
    r->status = status;
    snprintf(r->content_type, sizeof r->content_type, "%s", ctype);
    free(r->body);
    r->body = body;
    r->body_len = body ? strlen(body) : 0;
}

/* `counters` and `sfu` of /stats add up every worker; `workers` says what
 * each one carries (docs/ARCHITECTURE.md, "Threads"), `handshake` what the
 * DTLS handshake thread did. */
static void dataplane_json(cc_dataplane *dp, json_t *root)
{
    json_t *ws = json_array();
    for (int i = 0; i < cc_dataplane_workers(dp); i++) {
        cc_worker *w = cc_dataplane_worker(dp, i);
        cc_worker_counters wc;
        cc_sfu_stats ss;
        cc_worker_get_counters(w, &wc);
        cc_sfu_get_stats(cc_dataplane_sfu(dp, i), &ss);
        json_array_append_new(
            ws, json_pack("{s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "udp_port",
                          (int)cc_addr_port(cc_worker_local(w)), "rooms",
                          cc_dataplane_rooms_of(dp, i), "mirror_rooms",
                          (json_int_t)ss.mirror_rooms, "peers",
                          (json_int_t)cc_worker_peer_count(w), "publishers",
                          (json_int_t)ss.publishers, "subscribers", (json_int_t)ss.subscribers,
                          "udp_rx", (json_int_t)wc.udp_rx, "udp_tx", (json_int_t)wc.udp_tx,
                          "rtp_forwarded", (json_int_t)wc.rtp_forwarded, "drops_total",
                          (json_int_t)wc.drops_total));
    }
    json_object_set_new(root, "workers", ws);
    cc_hs_stats hs;
    cc_dataplane_get_hs_stats(dp, &hs);
    json_object_set_new(
        root, "handshake",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "sessions", (json_int_t)hs.sessions,
                  "connected", (json_int_t)hs.connected, "failed", (json_int_t)hs.failed,
                  "released", (json_int_t)hs.released, "expired", (json_int_t)hs.expired,
                  "live", (json_int_t)hs.live, "unknown", (json_int_t)hs.unknown, "busy_us",
                  (json_int_t)hs.busy_us));
}

/* The counters of GET /stats (and /metrics), as a new JSON object. */
static json_t *stats_json(cc_control *c)
{
    cc_worker_counters wc;
    cc_sfu_stats ss;
    if (c->cfg.dp)
        cc_dataplane_get_counters(c->cfg.dp, &wc, &ss);
    else
        cc_worker_get_counters(c->cfg.worker, &wc);
    json_t *counters = json_object();
#define CC_X(name) json_object_set_new(counters, #name, json_integer((json_int_t)wc.name));
    CC_WORKER_COUNTERS(CC_X)
#undef CC_X
    json_t *sfu = json_object();
    if (c->cfg.dp || c->cfg.sfu) {
        if (!c->cfg.dp)
            cc_sfu_get_stats(c->cfg.sfu, &ss);
#define CC_X(name) json_object_set_new(sfu, #name, json_integer((json_int_t)ss.name));
        CC_SFU_COUNTERS(CC_X)
#undef CC_X
    }
    json_t *http = json_object();
    if (c->http) {
        cc_http_counters hc;
        cc_http_get_counters(c->http, &hc);
#define CC_X(name) json_object_set_new(http, #name, json_integer((json_int_t)hc.name));
        CC_HTTP_COUNTERS(CC_X)
#undef CC_X
    }
    json_t *control = json_pack("{s:I, s:I, s:I, s:I, s:I}", "wrong_tries",
                                (json_int_t)c->wrong_tries, "tries_refused",
                                (json_int_t)c->tries_refused, "not_signed_in",
                                (json_int_t)c->not_signed_in, "must_change_refused",
                                (json_int_t)c->must_change_refused, "too_many_lessons",
                                (json_int_t)c->too_many_lessons);
    json_object_set_new(control, "lesson_full", json_integer((json_int_t)c->lesson_full));
    json_object_set_new(control, "peers_full", json_integer((json_int_t)c->peers_full));
    cc_persist_counters pc;
    cc_persist_get_counters(c->persist, &pc);
    json_object_set_new(control, "persist_writes", json_integer((json_int_t)pc.writes));
    json_object_set_new(control, "persist_errors", json_integer((json_int_t)pc.errors));
    json_object_set_new(control, "persist_dropped", json_integer((json_int_t)pc.dropped));
    json_object_set_new(control, "lessons_restored", json_integer((json_int_t)pc.restored));
    json_object_set_new(control, "quality_too_fast",
                        json_integer((json_int_t)c->quality_too_fast));
    cc_recordings_counters rc;
    cc_recordings_get_counters(c->rec, &rc);
#define CC_X(name) json_object_set_new(control, "recordings_" #name, json_integer((json_int_t)rc.name));
    CC_RECORDINGS_COUNTERS(CC_X)
#undef CC_X
    cc_accounts_counters ac;
    cc_accounts_get_counters(c->accounts, &ac);
#define CC_X(name) json_object_set_new(control, #name, json_integer((json_int_t)ac.name));
    CC_ACCOUNTS_COUNTERS(CC_X)
#undef CC_X
    json_t *root = json_pack("{s:i, s:i, s:o, s:o, s:o, s:o}", "peers",
                             (json_int_t)peer_count(c), "lessons",
                             (json_int_t)cc_lessons_count(c->lessons), "counters", counters,
                             "sfu", sfu, "http", http, "control", control);
    if (root && c->cfg.dp)
        dataplane_json(c->cfg.dp, root);
    return root;
}

static void api_stats(cc_control *c, cc_http_response *r)
{
    json_t *root = stats_json(c);
    set_body(r, 200, "application/json", root ? json_dumps(root, JSON_COMPACT) : NULL);
    json_decref(root);
    if (!r->body)
        set_text(r, 500, "could not encode statistics");
}

/* 1 if the request comes from this computer or a signed-in teacher, else
 * 0 with a 403 set, counted and logged (what: "GET /metrics"). */
static int local_or_teacher(cc_control *c, const cc_http_request *rq, cc_http_response *r,
                            const char *what, const char *refusal)
{
    if (rq->from_loopback)
        return 1;
    char tok[CC_STORE_TOKEN_CAP];
    cc_who w;
    cc_accounts_token_of(rq->cookie, tok);
    if (cc_accounts_identify(c->accounts, tok, 0, now_wall_s(), &w) != CC_WHO_NONE)
        return 1;
    c->not_signed_in++;
    CC_LOG_RL(CC_LOG_WARN, "control", "%s from %s refused: not on this computer and not "
              "signed in", what, rq->peer_ip);
    set_text(r, 403, refusal);
    return 0;
}

/* GET /metrics: Prometheus text (metrics.h). Off this computer only for a
 * signed-in teacher, like the self-test: lesson sizes are nobody else's
 * business. */
static void api_metrics(cc_control *c, const cc_http_request *rq, cc_http_response *r)
{
    if (rq->cross_origin) {
        set_text(r, 403, "metrics are not for other sites' pages");
        return;
    }
    if (!local_or_teacher(c, rq, r, "GET /metrics",
                          "metrics are for this computer or a signed-in teacher"))
        return;
    int n = cc_lessons_count(c->lessons);
    cc_metrics_lesson *ls = calloc((size_t)(n > 0 ? n : 1), sizeof *ls);
    json_t *root = stats_json(c);
    char *text = NULL;
    if (ls && root) {
        for (int i = 0; i < n; i++) {
            const cc_lesson *l = cc_lessons_at(c->lessons, i);
            cc_metrics_lesson *m = &ls[i];
            m->room_id = l->room_id;
            m->state = cc_lesson_state_name(l->state);
            for (int k = 0; k < l->n_members; k++) {
                const cc_member *mb = l->members[k];
                if (mb->flags & CC_MEMBER_WAITING) {
                    m->waiting++;
                    continue;
                }
                m->teachers += mb->role == CC_ROLE_TEACHER;
                m->students += mb->role == CC_ROLE_STUDENT;
                m->schools += mb->role == CC_ROLE_SCHOOL;
                m->publishing += !!(mb->flags & CC_MEMBER_PUBLISHING);
                m->watching += !!(mb->flags & CC_MEMBER_WATCHING);
                m->weak_link += !!(mb->flags & CC_MEMBER_WEAK_LINK);
                m->frozen += !!(mb->flags & CC_MEMBER_FROZEN);
            }
        }
        text = cc_metrics_text(root, ls, n);
    }
    json_decref(root);
    free(ls);
    if (!text) {
        set_text(r, 500, "could not build the metrics");
        return;
    }
    set_body(r, 200, "text/plain; version=0.0.4; charset=utf-8", text);
}

/* Transports (peers) the server holds at most: each costs a DTLS session
 * while it connects and its share of the worker. */
#define CONTROL_MAX_PEERS 6000
/* WHIP/WHEP sessions one lesson may hold: a WHEP viewer is often a
 * screen in another room or a recorder, but one lesson may also be
 * watched by a whole district (the fan-out benchmark watches one lesson
 * with 2000): the server-wide cap is what protects the machine. */
#define CONTROL_MAX_RESOURCES_PER_LESSON 4000

static int server_full(cc_control *c)
{
    if (peer_count(c) < CONTROL_MAX_PEERS)
        return 0;
    c->peers_full++;
    return 1;
}

/* GET /qr.svg?text=...: the QR code of a link the teacher page shows. */
static void api_qr(const cc_http_request *rq, cc_http_response *r)
{
    if (rq->cross_origin) {
        set_text(r, 403, "QR codes are drawn for classcast's own pages only");
        return;
    }
    char *svg = NULL;
    if (cc_qr_svg(rq->text, &svg) != 0) {
        set_text(r, 400, "give the text to encode as ?text=... (at most 512 bytes)");
        return;
    }
    set_body(r, 200, "image/svg+xml", svg);
}

static void api_echo(cc_control *c, const cc_http_request *rq, cc_http_response *r)
{
    if (strcmp(rq->method, "POST") != 0) {
        set_text(r, 405, "use POST with an SDP offer");
        return;
    }
    if (rq->cross_origin) {
        /* No token guards the self-test: only this server's own page (or a
         * program that is no browser) may open a transport with it. */
        set_text(r, 403, "only classcast's own self-test page may use /echo");
        return;
    }
    /* Off this computer, a transport is for a signed-in teacher only:
     * anyone else on the network could otherwise make the server hold them
     * (docs/limits.md). */
    if (!local_or_teacher(c, rq, r, "POST /echo",
                          "the connection self-test is for this computer or a signed-in teacher"))
        return;
    if (rq->body_too_big) {
        set_text(r, 413, "SDP offer too large");
        return;
    }
    if (rq->body_len == 0) {
        set_text(r, 400, "empty body: POST an SDP offer");
        return;
    }
    if (server_full(c)) {
        set_text(r, 503, "too many connections: try again later");
        r->retry_after = 30;
        return;
    }
    char *answer = NULL;
    cc_worker_msg_add *msg = NULL;
    char err[256] = "";
    if (cc_echo_prepare(rq->body, rq->body_len, &c->echo, &answer, &msg, err, sizeof err) != 0) {
        CC_INFO("control", "POST /echo refused: %s", err);
        set_text(r, 400, err);
        return;
    }
    snprintf(r->location, sizeof r->location, "/echo/%.64s", msg->local_ufrag);
    if (cc_worker_post(c->cfg.worker, &msg->hdr) != 0) {
        cc_msg_free(&msg->hdr);
        free(answer);
        set_text(r, 503, "server is shutting down");
        return;
    }
    set_body(r, 201, "application/sdp", answer);
}


/* ---- transports ---- */


static void close_transport(cc_control *c, char *ufrag)
{
    if (ufrag[0]) {
        remove_peer(c, ufrag);
        ufrag[0] = 0;
    }
}

static int tracks_to_map(const cc_proto_track *tracks, int n_tracks, cc_sfu_track_map *map)
{
    int n = 0;
    for (int i = 0; i < n_tracks && i < CC_PROTO_MAX_TRACKS; i++, n++) {
        _Static_assert(sizeof map[n].mid == sizeof tracks[i].mid, "mid sizes");
        memcpy(map[n].mid, tracks[i].mid, sizeof map[n].mid);
        map[n].mid[sizeof map[n].mid - 1] = 0;
        map[n].slot = tracks[i].slot;
        map[n].owner = tracks[i].owner;
    }
    return n;
}

/* Publish or subscribe: SDP offer -> answer, peer handed to the worker.
 * owner / is_teacher: who sends (publisher) or receives (subscriber); s
 * (NULL for WHIP / WHEP) keeps the subscriber's streams. Returns 0 and
 * *answer, or a negative code with err filled. */
static int open_transport(cc_control *c, cc_lesson *l, uint32_t member_id,
                          int publisher, const char *sdp,
                          const cc_proto_track *tracks, int n_tracks,
                          uint32_t owner, int is_teacher, sess *s,
                          char **answer, char *ufrag_out, char *pwd_out,
                          char *remote_out, char *err, size_t errcap)
{
    cc_sfu_track_map map[CC_PROTO_MAX_TRACKS];
    int n_map = tracks_to_map(tracks, n_tracks, map);
    cc_worker_msg_add *msg = NULL;
    size_t len = strlen(sdp);
    /* A big lesson's subscribers spread over the workers (dataplane.h). */
    int placed = !publisher && c->cfg.dp ? cc_dataplane_place_subscriber(c->cfg.dp, l->room_id)
                                         : -1;
    cc_worker *w = placed >= 0 ? cc_dataplane_worker(c->cfg.dp, placed) : room_w(c, l->room_id);
    const cc_sfu_params *sp = worker_params(c, w);
    int rc = publisher
                 ? cc_sfu_prepare_publisher(sdp, len, sp, l->room_id, member_id,
                                            n_map ? map : NULL, n_map, answer,
                                            &msg, err, errcap)
                 : cc_sfu_prepare_subscriber(sdp, len, sp, l->room_id, member_id,
                                             n_map ? map : NULL, n_map, answer,
                                             &msg, err, errcap);
    if (rc != 0)
        return rc;
    cc_sfu_msg_set_member(msg, owner, is_teacher);
    if (s && !publisher)
        s->n_sub_outs = cc_sfu_msg_outs(msg, s->sub_outs, CC_SDP_MAX_MEDIA);
    snprintf(ufrag_out, CC_ICE_MAX_CRED, "%s", msg->local_ufrag);
    if (pwd_out)
        snprintf(pwd_out, CC_ICE_MAX_CRED, "%s", msg->local_pwd);
    if (remote_out)
        snprintf(remote_out, CC_ICE_MAX_CRED, "%s", msg->remote_ufrag);
    if (placed >= 0)
        cc_dataplane_peer_placed(c->cfg.dp, msg->local_ufrag, l->room_id, placed);
    if (cc_worker_post(w, &msg->hdr) != 0) {
        cc_msg_free(&msg->hdr);
        free(*answer);
        *answer = NULL;
        snprintf(err, errcap, "the server is shutting down");
        return CC_ECLOSED;
    }
    return 0;
}

/* 1 if the offer continues the ICE session whose remote ufrag is `remote`
 * (RFC 8839 section 4.4.1.1: a changed ufrag means an ICE restart). */
static int same_ice_session(const char *sdp, const char *remote)
{
    if (!remote[0])
        return 0;
    cc_sdp_offer *o = calloc(1, sizeof *o);
    int same = 0;
    if (o && cc_sdp_parse(sdp, strlen(sdp), o) == 0) {
        /* The transport's ufrag is on a line with a port: a bundle-only
         * line may carry none (RFC 8843 section 7.1.3). */
        for (int i = 0; i < o->n_media && !same; i++)
            if (o->media[i].port != 0)
                same = strcmp(o->media[i].ice_ufrag, remote) == 0;
    }
    free(o);
    return same;
}

/* A renegotiation on the member's live transport (the browser added or
 * removed tracks on the same RTCPeerConnection): for a subscriber, the
 * streams it keeps flow on undisturbed (their SSRCs from sess). */
static int update_transport(cc_control *c, sess *s, cc_lesson *l, uint32_t member_id,
                            int publisher, const cc_proto_track *tracks, int n_tracks,
                            const char *sdp, uint32_t owner, int is_teacher, char **answer,
                            char *err, size_t errcap)
{
    cc_sfu_track_map map[CC_PROTO_MAX_TRACKS];
    int n_map = tracks_to_map(tracks, n_tracks, map);
    cc_worker_msg_add *msg = NULL;
    size_t len = strlen(sdp);
    cc_worker *w = publisher ? room_w(c, l->room_id) : sub_w(c, l->room_id, s->sub_ufrag);
    const cc_sfu_params *sp = worker_params(c, w);
    int rc = publisher
                 ? cc_sfu_prepare_publisher_update(sdp, len, sp, l->room_id, member_id,
                                                   n_map ? map : NULL, n_map, s->pub_ufrag,
                                                   s->pub_pwd, answer, &msg, err, errcap)
                 : cc_sfu_prepare_subscriber_update(sdp, len, sp, l->room_id, member_id,
                                                    n_map ? map : NULL, n_map, s->sub_ufrag,
                                                    s->sub_pwd, s->sub_outs, s->n_sub_outs,
                                                    answer, &msg, err, errcap);
    if (rc != 0)
        return rc;
    cc_sfu_msg_set_member(msg, owner, is_teacher);
    if (!publisher)
        s->n_sub_outs = cc_sfu_msg_outs(msg, s->sub_outs, CC_SDP_MAX_MEDIA);
    rc = publisher ? cc_sfu_update_publisher(w, msg) : cc_sfu_update_subscriber(w, msg);
    if (rc != 0) {
        free(*answer);
        *answer = NULL;
        snprintf(err, errcap, "the server is shutting down");
    }
    return rc;
}

/* ---- local publishing (capture on the classroom computer) ---- */

static void capture_run_free(void *p)
{
    capture_run *r = p;
    /* Detaching waits for the worker: it must still be running. */
    cc_localpub_stop(r->lp);
    free(r);
}

static capture_run *capture_of(cc_control *c, uint32_t room_id)
{
    return c->captures ? g_hash_table_lookup(c->captures, GUINT_TO_POINTER(room_id)) : NULL;
}

/* Stop the lesson's capture, if any. 1 if one ran. */
static int capture_stop_room(cc_control *c, uint32_t room_id)
{
    if (!capture_of(c, room_id))
        return 0;
    g_hash_table_remove(c->captures, GUINT_TO_POINTER(room_id));
    CC_INFO("control", "room %u: local capture stopped", room_id);
    return 1;
}

static int capture_launch(cc_control *c, uint32_t room_id, const char *sources,
                          const char *display, cc_localpub **out, char *err, size_t errcap)
{
    cc_localpub_config lc = {
        .worker = room_w(c, room_id),
        .room_id = room_id,
        .pipelines_dir = c->cfg.pipelines_dir ? c->cfg.pipelines_dir : "pipelines",
        .sources = sources,
        .display = display && display[0] ? display : c->cfg.display,
        .width = c->cfg.video_width > 0 ? c->cfg.video_width : 1280,
        .height = c->cfg.video_height > 0 ? c->cfg.video_height : 720,
        .fps = 30,
        /* `serve --simulcast`: the camera in three sizes here too, as the
         * teacher page sends it in two. */
        .camera_encodings = c->cfg.simulcast ? 3 : 0,
    };
    return cc_localpub_start(out, &lc, err, errcap);
}

/* Replace the room's capture with `sources`. On failure the previous one is
 * started again as it was (best effort) and err says what failed. */
static int capture_replace(cc_control *c, uint32_t room_id, const char *sources,
                           const char *display, char *err, size_t errcap)
{
    if (c->shut) {
        snprintf(err, errcap, "the server is shutting down");
        return CC_ECLOSED;
    }
    capture_run *old = capture_of(c, room_id);
    char old_sources[CAPTURE_SOURCES_CAP] = "", old_display[CC_PROTO_DISPLAY_CAP] = "";
    if (old) {
        snprintf(old_sources, sizeof old_sources, "%s", old->sources);
        snprintf(old_display, sizeof old_display, "%s", old->display);
        /* The new sources may want the same devices: stop first. */
        capture_stop_room(c, room_id);
    }
    capture_run *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errcap, "out of memory");
        return CC_ENOMEM;
    }
    snprintf(r->sources, sizeof r->sources, "%s", sources);
    snprintf(r->display, sizeof r->display, "%s", display ? display : "");
    int rc = capture_launch(c, room_id, sources, display, &r->lp, err, errcap);
    if (rc != 0) {
        CC_WARN("control", "room %u: capture %s failed: %s", room_id, sources, err);
        snprintf(r->sources, sizeof r->sources, "%s", old_sources);
        snprintf(r->display, sizeof r->display, "%s", old_display);
        char err2[512];
        if (!old_sources[0] ||
            capture_launch(c, room_id, old_sources, old_display, &r->lp, err2, sizeof err2) != 0) {
            if (old_sources[0]) {
                size_t el = strlen(err);
                snprintf(err + el, errcap - el, " (the previous sources %s did not restart: %s)",
                         old_sources, err2);
            }
            free(r);
            return rc;
        }
        CC_INFO("control", "room %u: previous capture %s restarted", room_id, old_sources);
        size_t el = strlen(err);
        snprintf(err + el, errcap - el, " (still publishing the previous sources: %s)",
                 old_sources);
        g_hash_table_replace(c->captures, GUINT_TO_POINTER(room_id), r);
        return rc;
    }
    g_hash_table_replace(c->captures, GUINT_TO_POINTER(room_id), r);
    CC_INFO("control", "room %u: local capture %s started", room_id, sources);
    return 0;
}

/* The pipeline named in a localpub error ("source 'camera': ..."), or "". */
static void failed_source(const char *err, char *out, size_t cap)
{
    out[0] = 0;
    const char *p = strstr(err, "source '");
    if (!p)
        return;
    p += 8;
    size_t n = strcspn(p, "'");
    if (p[n] == '\'' && n > 0 && n < cap) {
        memcpy(out, p, n);
        out[n] = 0;
    }
}

#define CAPTURE_MAX_PIPELINES 32
#define CAPTURE_MAX_DEVICES 32

static char *capture_list_json(cc_control *c, uint32_t room_id, const char *id)
{
    const char *dir = c->cfg.pipelines_dir ? c->cfg.pipelines_dir : "pipelines";
    cc_proto_pipeline *pl = calloc(CAPTURE_MAX_PIPELINES, sizeof *pl);
    cc_device *dv = calloc(CAPTURE_MAX_DEVICES, sizeof *dv);
    char names[2048] = "";
    int np = 0;
    size_t nd = 0;
    char *out = NULL;
    if (!pl || !dv)
        goto done;
    if (cc_capture_list_pipelines(dir, names, sizeof names) < 0)
        CC_WARN("control", "capture_list: cannot read the pipelines directory %s", dir);
    /* "camera, mic, screen" */
    char *save = NULL;
    for (char *tok = strtok_r(names, ", ", &save); tok && np < CAPTURE_MAX_PIPELINES;
         tok = strtok_r(NULL, ", ", &save)) {
        cc_proto_pipeline *p = &pl[np];
        if (strlen(tok) >= sizeof p->name)
            continue;
        snprintf(p->name, sizeof p->name, "%s", tok);
        if (cc_capture_describe_pipeline(dir, tok, p->description, sizeof p->description) != 0)
            p->description[0] = 0;
        p->slot = cc_source_default_slot(tok);
        np++;
    }
    if (cc_devices_list(CC_DEVICE_ALL, dv, CAPTURE_MAX_DEVICES, &nd) != 0)
        nd = 0;
    if (nd > CAPTURE_MAX_DEVICES)
        nd = CAPTURE_MAX_DEVICES;
    capture_run *r = capture_of(c, room_id);
    out = cc_proto_build_capture_list(pl, np, dv, nd, r ? r->sources : NULL, c->cfg.display, id);
done:
    free(pl);
    free(dv);
    return out;
}

static void handle_capture(cc_control *c, sess *s, cc_lesson *l, cc_proto_req *rq)
{
    const char *ref = cc_proto_type_name(rq->type);
    if (rq->type == CC_PROTO_CAPTURE_LIST) {
        char *j = capture_list_json(c, l->room_id, rq->id);
        if (!j)
            send_error(c, s->sid, "server_error", "could not list the capture pipelines", ref,
                       rq->id);
        send_json(c, s->sid, j);
        return;
    }
    if (rq->type == CC_PROTO_CAPTURE_STOP) {
        capture_stop_room(c, l->room_id);
        send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        return;
    }
    char sources[CAPTURE_SOURCES_CAP] = "";
    size_t used = 0;
    for (int i = 0; i < rq->n_sources; i++)
        used += (size_t)snprintf(sources + used, sizeof sources - used, "%s%s", i ? "," : "",
                                 rq->sources[i]);
    char err[1024] = "";
    int rc = capture_replace(c, l->room_id, sources, rq->display, err, sizeof err);
    if (rc != 0) {
        char src[CC_PROTO_PIPELINE_CAP];
        failed_source(err, src, sizeof src);
        send_json(c, s->sid, cc_proto_build_capture_failed(err, src, rq->id));
        return;
    }
    send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
}

/* ---- WebSocket requests ---- */

static void broadcast_streams(cc_control *c, cc_lesson *l);
static void send_seminar_state(cc_control *c, uint64_t sid, cc_lesson *l, cc_member *m);

static void member_left(cc_control *c, sess *s, cc_lesson *l, cc_member *m)
{
    int published = m->pub_kinds != 0;
    close_transport(c, s->pub_ufrag);
    close_transport(c, s->sub_ufrag);
    s->pub_kinds = 0;
    s->n_sub_outs = 0;
    cc_lesson_leave(l, m, now_us());
    broadcast_members(c, l);
    if (published)
        broadcast_streams(c, l);
}

static void on_joined(cc_control *c, uint64_t sid, cc_lesson *l, cc_member *m,
                      const char *id)
{
    if (m->flags & CC_MEMBER_WAITING) {
        /* The teacher decides: only the teachers hear of it for now. */
        send_json(c, sid, cc_proto_build_waiting(l->code, l->title, m->id_str, m->rejoin));
        broadcast_members(c, l);
        return;
    }
    int guest = m->role != CC_ROLE_TEACHER;
    send_json(c, sid, cc_proto_build_joined(l->code, l->title, l->teacher_name,
                                            cc_lesson_state_name(l->state), m->id_str,
                                            cc_role_name(m->role), guest ? m->rejoin : NULL,
                                            guest ? m->hand : -1, c->cfg.simulcast, id));
    send_state(c, sid, l);
    send_seminar_state(c, sid, l, m);
    cc_recordings_joined(c->rec, l, m);
    broadcast_members(c, l);
    /* Its subscribe follows at once (the page builds its offer while the
     * join is in flight): a fresh keyframe is asked for now. */
    cc_worker *rw = guest && l->state == CC_LESSON_LIVE ? room_w(c, l->room_id) : NULL;
    if (rw)
        cc_sfu_expect_viewer(rw, l->room_id);
}

static void kick(cc_control *c, cc_lesson *l, cc_member *t, char *json)
{
    uint64_t sid = t->session;
    /* Sent away: its rejoin secret no longer brings it back. */
    cc_lesson_revoke_rejoin(l, t->id);
    send_json(c, sid, json);
    sess *ts = g_hash_table_lookup(c->sessions, &sid);
    if (ts) {
        member_left(c, ts, l, t);
    } else {
        cc_lesson_leave(l, t, now_us());
        broadcast_members(c, l);
    }
    cc_http_ws_close(c->http, sid);
}

/* ---- seminars: senders, the floor, chat (docs/protocol.md "Seminars") ---- */

/* The SFU's owner of a member's tracks: the teacher's tabs share owner 0. */
static uint32_t owner_of(const cc_member *m)
{
    return m->role == CC_ROLE_TEACHER ? 0 : m->id;
}

/* May viewer v receive track (owner, slot)? Its own never; a student's
 * camera kept to the teacher only to teachers; a track nobody sends no. */
static int stream_allowed(cc_lesson *l, const cc_member *v, uint32_t owner, int slot)
{
    if (owner == 0)
        return 1;
    cc_member *o = cc_lesson_member(l, owner);
    if (!o || o == v || o->role == CC_ROLE_TEACHER || (o->flags & CC_MEMBER_WAITING))
        return 0;
    if (!(o->pub_kinds & (1u << slot)))
        return 0;
    if (slot == CC_SLOT_CAMERA && (o->flags & CC_MEMBER_TEACHER_ONLY) &&
        v->role != CC_ROLE_TEACHER)
        return 0;
    return 1;
}

static char *streams_json(cc_lesson *l, const cc_member *v)
{
    cc_proto_stream st[CC_PROTO_MAX_TRACKS];
    int n = 0;
    for (int i = 0; i < l->n_members && n + 2 <= CC_PROTO_MAX_TRACKS; i++) {
        cc_member *o = l->members[i];
        for (int slot = 0; slot < CC_SLOT_COUNT; slot++) {
            if (slot == CC_SLOT_SCREEN || !stream_allowed(l, v, o->id, slot) ||
                o->role == CC_ROLE_TEACHER)
                continue;
            st[n].owner = o->id;
            st[n].slot = slot;
            st[n].name = o->name;
            st[n].role = cc_role_name(o->role);
            n++;
        }
    }
    return cc_proto_build_streams(st, n);
}

static void broadcast_streams(cc_control *c, cc_lesson *l)
{
    for (int i = 0; i < l->n_members; i++) {
        cc_member *m = l->members[i];
        if (!(m->flags & CC_MEMBER_WAITING))
            send_json(c, m->session, streams_json(l, m));
    }
}

static void send_invites(cc_control *c, cc_lesson *l)
{
    char *j = cc_proto_build_invites(l);
    broadcast(c, l, j, 1);
    free(j);
}

/* The guests whose cameras the pages show (ids[0..n)); the first n_recent
 * have spoken: those are "speaking" in the member list. */
static void send_speakers(cc_control *c, cc_lesson *l, const uint32_t *ids, int n, int n_recent)
{
    int changed = 0;
    l->shown_n = 0;
    for (int k = 0; k < n && k < CC_PROTO_LAST_N_MAX; k++)
        l->shown[l->shown_n++] = ids[k];
    l->shown_recent = n_recent;
    for (int i = 0; i < l->n_members; i++) {
        cc_member *m = l->members[i];
        int sp = 0;
        for (int k = 0; k < n_recent && k < n; k++)
            sp |= ids[k] == m->id;
        unsigned f = sp ? (m->flags | CC_MEMBER_SPEAKING) : (m->flags & ~CC_MEMBER_SPEAKING);
        changed |= cc_lesson_set_flags(l, m, f);
    }
    char *j = cc_proto_build_speakers(ids, n, n_recent);
    broadcast(c, l, j, 0);
    free(j);
    if (changed)
        broadcast_members(c, l);
}

/* Chat: 60 messages at once, then 2 a second, per connection. */
#define CHAT_BURST 60.0
#define CHAT_PER_S 2.0

/* A connection's token bucket: burst at once, then per_s a second. */
static int bucket_allowed(double *tokens, cc_time_us *at, double burst, double per_s,
                          cc_time_us now)
{
    if (*at == 0)
        *tokens = burst;
    else
        *tokens += (double)(now - *at) / CC_USEC_PER_SEC * per_s;
    if (*tokens > burst)
        *tokens = burst;
    *at = now;
    if (*tokens < 1.0)
        return 0;
    *tokens -= 1.0;
    return 1;
}

static int chat_allowed(sess *s, cc_time_us now)
{
    return bucket_allowed(&s->chat_tokens, &s->chat_at, CHAT_BURST, CHAT_PER_S, now);
}

/* `quality`: a page reports a change (frozen after 2 s without a decoded
 * frame, and back), so a well-behaved one sends well under one a second
 * on average; 10 at once, then 1 a second, bound what a broken or hostile
 * one makes every teacher page redraw. */
#define QUALITY_BURST 10.0
#define QUALITY_PER_S 1.0

static void handle_quality(cc_control *c, sess *s, cc_lesson *l, cc_member *m,
                           const cc_proto_req *rq, cc_time_us now)
{
    const char *ref = cc_proto_type_name(rq->type);
    if (!bucket_allowed(&s->quality_tokens, &s->quality_at, QUALITY_BURST, QUALITY_PER_S, now)) {
        c->quality_too_fast++;
        CC_LOG_RL(CC_LOG_WARN, "control", "lesson %s: %s sends quality reports too fast",
                  l->code, m->id_str);
        send_error(c, s->sid, "quality_too_fast",
                   "at most one quality report a second (10 at once)", ref, rq->id);
        return;
    }
    /* Only a member that is watching can be frozen: a report that
     * overtook its transport's close is dropped with it. */
    unsigned f = m->flags & ~CC_MEMBER_FROZEN;
    if (rq->flag && (m->flags & CC_MEMBER_WATCHING))
        f |= CC_MEMBER_FROZEN;
    send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
    if (cc_lesson_set_flags(l, m, f) == 1)
        broadcast_members(c, l);
}

/* After `joined`: what a seminar page needs besides the lesson state. */
static void send_seminar_state(cc_control *c, uint64_t sid, cc_lesson *l, cc_member *m)
{
    send_json(c, sid, streams_json(l, m));
    send_json(c, sid, cc_proto_build_speakers(l->shown, l->shown_n, l->shown_recent));
    send_json(c, sid, cc_proto_build_chat_history(l));
    if (m->role == CC_ROLE_TEACHER)
        send_json(c, sid, cc_proto_build_invites(l));
    if (m->flags & CC_MEMBER_MUTED)
        send_json(c, sid, cc_proto_build_muted(1));
    /* A student that came back with the floor (docs/state.md). */
    if (m->flags & CC_MEMBER_FLOOR)
        send_json(c, sid, cc_proto_build_floor(1, !!(m->flags & CC_MEMBER_TEACHER_ONLY)));
}

/* The member named in a teacher's command, or NULL with the error sent. */
static cc_member *target_of(cc_control *c, sess *s, cc_lesson *l, const cc_proto_req *rq)
{
    cc_member *t = cc_lesson_member(l, rq->member_id);
    if (!t)
        send_error(c, s->sid, "no_such_member", "no member of this lesson has that id",
                   cc_proto_type_name(rq->type), rq->id);
    return t;
}

static void kick(cc_control *c, cc_lesson *l, cc_member *t, char *json);

static void handle_seminar(cc_control *c, sess *s, cc_lesson *l, cc_member *m,
                           cc_proto_req *rq, cc_time_us now)
{
    const char *ref = cc_proto_type_name(rq->type);
    cc_member *t = NULL;
    switch (rq->type) {
    case CC_PROTO_HAND:
        if (cc_lesson_hand(l, m, rq->flag))
            broadcast_members(c, l);
        send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        return;
    case CC_PROTO_FLOOR: {
        if (!(t = target_of(c, s, l, rq)))
            return;
        if (t->role != CC_ROLE_STUDENT || (t->flags & CC_MEMBER_WAITING)) {
            send_error(c, s->sid, "bad_state",
                       t->role == CC_ROLE_SCHOOL ? "a school may always speak: no floor needed"
                                                 : "only an admitted student can be given the floor",
                       ref, rq->id);
            return;
        }
        unsigned f = t->flags & ~(CC_MEMBER_FLOOR | CC_MEMBER_TEACHER_ONLY);
        if (rq->flag)
            f |= CC_MEMBER_FLOOR | (rq->teacher_only ? CC_MEMBER_TEACHER_ONLY : 0);
        cc_lesson_set_flags(l, t, f);
        cc_sfu_set_sender(room_w(c, l->room_id), l->room_id, t->id, !!(t->flags & CC_MEMBER_MUTED),
                          rq->flag && rq->teacher_only);
        sess *ts = g_hash_table_lookup(c->sessions, &t->session);
        if (rq->flag) {
            cc_lesson_hand(l, t, 0);
        } else if (ts) {
            /* Its tracks stop being forwarded now, not when it obeys. */
            close_transport(c, ts->pub_ufrag);
            ts->pub_kinds = 0;
            t->pub_kinds = 0;
            t->flags &= ~CC_MEMBER_PUBLISHING;
        }
        CC_INFO("control", "lesson %s: floor %s %s%s", l->code, rq->flag ? "given to" : "taken from",
                t->id_str, rq->flag && rq->teacher_only ? " (camera to the teacher only)" : "");
        send_json(c, t->session, cc_proto_build_floor(rq->flag, rq->flag && rq->teacher_only));
        send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        broadcast_members(c, l);
        broadcast_streams(c, l);
        return;
    }
    case CC_PROTO_MUTE: {
        if (!(t = target_of(c, s, l, rq)))
            return;
        unsigned f = rq->flag ? (t->flags | CC_MEMBER_MUTED) : (t->flags & ~CC_MEMBER_MUTED);
        cc_lesson_set_flags(l, t, f);
        cc_sfu_set_sender(room_w(c, l->room_id), l->room_id, owner_of(t), rq->flag,
                          !!(t->flags & CC_MEMBER_TEACHER_ONLY));
        CC_INFO("control", "lesson %s: %s %s", l->code, t->id_str, rq->flag ? "muted" : "unmuted");
        send_json(c, t->session, cc_proto_build_muted(rq->flag));
        send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        broadcast_members(c, l);
        return;
    }
    case CC_PROTO_REMOVE:
    case CC_PROTO_REFUSE:
        if (!(t = target_of(c, s, l, rq)))
            return;
        if (t->role == CC_ROLE_TEACHER) {
            send_error(c, s->sid, "forbidden", "a teacher cannot be removed", ref, rq->id);
            return;
        }
        if (rq->type == CC_PROTO_REFUSE && !(t->flags & CC_MEMBER_WAITING)) {
            send_error(c, s->sid, "bad_state", "that member is not in the waiting room", ref,
                       rq->id);
            return;
        }
        CC_INFO("control", "lesson %s: %s %s", l->code, t->id_str,
                rq->type == CC_PROTO_REMOVE ? "removed" : "refused");
        send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        kick(c, l, t, rq->type == CC_PROTO_REMOVE ? cc_proto_build_removed(rq->reason)
                                                   : cc_proto_build_refused(rq->reason));
        return;
    case CC_PROTO_ADMIT:
        if (!(t = target_of(c, s, l, rq)))
            return;
        if (cc_lesson_admit(l, t) != 0) {
            send_error(c, s->sid, "bad_state", "that member is not in the waiting room", ref,
                       rq->id);
            return;
        }
        send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        CC_INFO("control", "lesson %s: %s admitted", l->code, t->id_str);
        on_joined(c, t->session, l, t, NULL);
        return;
    case CC_PROTO_LOCK:
    case CC_PROTO_WAITING_ROOM:
    case CC_PROTO_CHAT_MODE:
        if (rq->type == CC_PROTO_LOCK)
            l->locked = rq->flag;
        else if (rq->type == CC_PROTO_WAITING_ROOM)
            l->waiting_room = rq->flag;
        else
            l->chat_students = rq->flag;
        send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        broadcast_lesson(c, l);
        return;
    case CC_PROTO_LAST_N:
        l->last_n = rq->n;
        cc_sfu_set_last_n(room_w(c, l->room_id), l->room_id, rq->n);
        send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        broadcast_lesson(c, l);
        return;
    case CC_PROTO_CHAT: {
        if (m->role == CC_ROLE_STUDENT && !l->chat_students) {
            send_error(c, s->sid, "chat_off", "the teacher has turned chat off for students",
                       ref, rq->id);
            return;
        }
        if (!chat_allowed(s, now)) {
            send_error(c, s->sid, "chat_too_fast", "too many messages: wait a moment", ref,
                       rq->id);
            return;
        }
        const cc_chat_msg *cm = NULL;
        if (cc_lesson_chat_add(l, m, rq->text, cc_clock_wall_us() / 1000, &cm) != 0) {
            send_error(c, s->sid, "server_error", "out of memory", ref, rq->id);
            return;
        }
        cc_persist_chat(c->persist, l, cm);
        send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        char *j = cc_proto_build_chat(cm);
        broadcast(c, l, j, 0);
        free(j);
        return;
    }
    case CC_PROTO_INVITE_CREATE: {
        cc_invite *iv = NULL;
        int rc = cc_lesson_invite_create(l, rq->name, &iv);
        if (rc != 0) {
            send_error(c, s->sid, rc == CC_ELIMIT ? "server_busy" : "server_error",
                       rc == CC_ELIMIT ? "a lesson has at most 20 invites" : "could not make an invite",
                       ref, rq->id);
            return;
        }
        send_json(c, s->sid, cc_proto_build_invite(iv, rq->id));
        send_invites(c, l);
        return;
    }
    case CC_PROTO_INVITE_REVOKE:
        if (cc_lesson_invite_revoke(l, rq->invite) != 0) {
            send_error(c, s->sid, "bad_request", "no such invite (or it was revoked already)",
                       ref, rq->id);
            return;
        }
        send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        send_invites(c, l);
        return;
    default:
        send_error(c, s->sid, "unknown_type", "unknown message type", ref, rq->id);
        return;
    }
}

/* A member back with its rejoin secret: the connection it had (if the
 * server still thought it open) is closed, and the SFU applies the
 * teacher's mute and camera rule to it again (after a restart the room
 * is new). */
static void came_back(cc_control *c, cc_lesson *l, cc_member *m, uint64_t replaced)
{
    if (replaced) {
        sess *os = g_hash_table_lookup(c->sessions, &replaced);
        if (os) {
            close_transport(c, os->pub_ufrag);
            close_transport(c, os->sub_ufrag);
            os->pub_kinds = 0;
            os->n_sub_outs = 0;
        }
        cc_http_ws_close(c->http, replaced);
        broadcast_streams(c, l);
    }
    if (m->flags & (CC_MEMBER_MUTED | CC_MEMBER_TEACHER_ONLY))
        cc_sfu_set_sender(room_w(c, l->room_id), l->room_id, m->id, !!(m->flags & CC_MEMBER_MUTED),
                          !!(m->flags & CC_MEMBER_TEACHER_ONLY));
}

/* Only a signed-in teacher creates lessons and captures (docs/accounts.md).
 * 1 with *w filled, or 0 with the error sent, counted and logged. */
static int require_teacher(cc_control *c, sess *s, const char *ref, const char *id, cc_who *w)
{
    cc_accounts_identify(c->accounts, s->token, s->from_loopback, now_wall_s(), w);
    if (w->kind == CC_WHO_NONE) {
        c->not_signed_in++;
        CC_LOG_RL(CC_LOG_WARN, "control", "%s from %s refused: not signed in", ref, s->addr_key);
        send_error(c, s->sid, "not_signed_in",
                   "sign in as a teacher first (on the teacher page)", ref, id);
        return 0;
    }
    if (w->kind == CC_WHO_TEACHER && w->teacher.must_change_pw) {
        c->must_change_refused++;
        CC_LOG_RL(CC_LOG_WARN, "control", "%s by '%s' refused: must choose a password first",
                  ref, w->teacher.name);
        send_error(c, s->sid, "must_change_password",
                   "choose your own password first (the one you signed in with was for "
                   "one use)", ref, id);
        return 0;
    }
    return 1;
}

static void handle_request(cc_control *c, sess *s, cc_proto_req *rq)
{
    const char *ref = cc_proto_type_name(rq->type);
    cc_lesson *l = NULL;
    cc_member *m = NULL;
    cc_time_us now = now_us();
    const char *ecode = NULL;
    cc_lessons_find_session(c->lessons, s->sid, &l, &m);
    if (!cc_lesson_may(l, m, rq->type, rq->for_publish, &ecode)) {
        static const char *why[][2] = {
            {"not_joined", "create, join or resume a lesson first"},
            {"already_joined", "this connection is already in a lesson"},
            {"forbidden", "your role may not do that in this lesson"},
            {"lesson_ended", "the lesson has ended"},
            {"not_admitted", "wait until the teacher lets you in"},
        };
        const char *msg = "request refused";
        for (size_t i = 0; i < sizeof why / sizeof why[0]; i++)
            if (strcmp(why[i][0], ecode) == 0)
                msg = why[i][1];
        send_error(c, s->sid, ecode, msg, ref, rq->id);
        return;
    }
    if (!cc_lesson_may_local(rq->type, s->from_loopback, &ecode)) {
        send_error(c, s->sid, ecode,
                   "capture runs only on the classroom computer itself: open the teacher "
                   "page in a browser on the computer that runs classcast",
                   ref, rq->id);
        return;
    }
    cc_who who;
    if (cc_lesson_is_capture(rq->type) && !require_teacher(c, s, ref, rq->id, &who))
        return;
    int rc;
    switch (rq->type) {
    case CC_PROTO_PING:
        send_json(c, s->sid, cc_proto_build_pong(rq->id));
        return;
    case CC_PROTO_CREATE:
        if (!require_teacher(c, s, ref, rq->id, &who))
            return;
        rc = cc_lessons_create_owned(c->lessons, who.owner, rq->name, rq->title, s->sid, now,
                                     &l, &m);
        if (rc == CC_ELIMIT) {
            c->too_many_lessons++;
            CC_LOG_RL(CC_LOG_WARN, "control", "create by %s refused: too many open lessons",
                      who.kind == CC_WHO_LOCAL ? "the local teacher" : who.teacher.name);
            send_error(c, s->sid, "too_many_lessons",
                       "you have as many open lessons as one teacher may: end one first", ref,
                       rq->id);
            return;
        }
        if (rc != 0) {
            send_error(c, s->sid, cc_lesson_err_code(rc), "could not create a lesson", ref, rq->id);
            return;
        }
        cc_lesson_set_kind(l, rq->seminar ? CC_LESSON_KIND_SEMINAR : CC_LESSON_KIND_LESSON);
        cc_sfu_room_open(room_w(c, l->room_id), l->room_id);
        CC_INFO("control", "%s %s created by %s (room %u)", rq->seminar ? "seminar" : "lesson", l->code,
                who.kind == CC_WHO_LOCAL ? "the local teacher" : who.teacher.name, l->room_id);
        send_json(c, s->sid, cc_proto_build_created(l->code, l->title, l->teacher_token,
                                                    l->viewer_token, m->id_str, c->cfg.simulcast,
                                                    rq->id));
        send_state(c, s->sid, l);
        send_seminar_state(c, s->sid, l, m);
        cc_recordings_joined(c->rec, l, m);
        broadcast_members(c, l);
        return;
    case CC_PROTO_RESUME:
        if (refuse_if_too_many(c, s, now, ref, rq->id))
            return;
        rc = cc_lessons_resume(c->lessons, rq->code, rq->token, s->sid, now, &l, &m);
        if (rc == CC_EAUTH || rc == CC_ENOTFOUND)
            count_wrong_try(c, s->addr_key, now);
        if (rc != 0) {
            send_error(c, s->sid, cc_lesson_err_code(rc),
                       rc == CC_EAUTH ? "wrong teacher token" :
                       rc == CC_ENOTFOUND ? "no lesson has this code" : "cannot resume this lesson",
                       ref, rq->id);
            return;
        }
        on_joined(c, s->sid, l, m, rq->id);
        return;
    case CC_PROTO_JOIN: {
        if (refuse_if_too_many(c, s, now, ref, rq->id))
            return;
        /* Coming back (docs/protocol.md): a rejoin secret that names no
         * member of the lesson is no error, the joiner is simply new. */
        uint64_t replaced = 0;
        rc = rq->rejoin[0] ? cc_lessons_rejoin(c->lessons, rq->code, rq->rejoin, s->sid, now,
                                               &l, &m, &replaced)
                           : CC_EAUTH;
        int back = rc == 0;
        if (rc == CC_EAUTH)
            rc = rq->invite[0]
                     ? cc_lessons_join_school(c->lessons, rq->code, rq->invite, rq->name,
                                              s->sid, now, &l, &m)
                     : cc_lessons_join(c->lessons, rq->code, rq->name, s->sid, now, &l, &m);
        if (rc == CC_ENOTFOUND || rc == CC_EAUTH)
            count_wrong_try(c, s->addr_key, now);
        if (rc == CC_ENOSPC) {
            c->lesson_full++;
            CC_LOG_RL(CC_LOG_WARN, "control", "join %s refused: the lesson is full", rq->code);
        }
        if (rc != 0) {
            send_error(c, s->sid,
                       rc == CC_EAUTH ? "bad_invite" : rc == CC_ESTATE ? "lesson_locked"
                                                                       : cc_lesson_err_code(rc),
                       rc == CC_ENOTFOUND ? "no lesson has this code" :
                       rc == CC_EAUTH ? "this invite is not valid (revoked, or for another lesson)" :
                       rc == CC_ESTATE ? "the teacher has locked the lesson" :
                       rc == CC_ECLOSED ? "the lesson has ended" : "cannot join this lesson",
                       ref, rq->id);
            return;
        }
        CC_INFO("control", "lesson %s: %s %s %s%s", l->code, cc_role_name(m->role), m->id_str,
                back ? "came back" : "joined",
                (m->flags & CC_MEMBER_WAITING) ? " (waiting room)" : "");
        if (back) {
            came_back(c, l, m, replaced);
        } else if (m->role == CC_ROLE_SCHOOL) {
            send_invites(c, l); /* its invite has one more use */
        }
        on_joined(c, s->sid, l, m, rq->id);
        return;
    }
    case CC_PROTO_START:
        rc = cc_lesson_start(l, now);
        if (rc < 0) {
            send_error(c, s->sid, "lesson_ended", "the lesson has ended", ref, rq->id);
            return;
        }
        send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        if (rc == 1)
            broadcast_lesson(c, l);
        if (rc == 1)
            cc_recordings_lesson_started(c->rec, room_w(c, l->room_id), l);
        return;
    case CC_PROTO_END:
        rc = cc_lesson_end(l, now);
        send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        if (rc == 1) {
            broadcast_lesson(c, l);
            capture_stop_room(c, l->room_id);
            cc_recordings_lesson_ended(c->rec, l);
            room_closed(c, l->room_id);
            CC_INFO("control", "lesson %s ended by the teacher", l->code);
        }
        return;
    case CC_PROTO_PUBLISH:
    case CC_PROTO_SUBSCRIBE:
    case CC_PROTO_RENEGOTIATE: {
        int publisher = rq->for_publish;
        char *answer = NULL, ufrag[CC_ICE_MAX_CRED], err[256] = "";
        if (!rq->sdp) {
            send_error(c, s->sid, "bad_request", "sdp is missing", ref, rq->id);
            return;
        }
        uint32_t owner = owner_of(m);
        int is_teacher = m->role == CC_ROLE_TEACHER;
        cc_proto_track tr[CC_PROTO_MAX_TRACKS];
        int nt = 0;
        unsigned kinds = 0;
        for (int i = 0; i < rq->n_tracks; i++) {
            const cc_proto_track *t = &rq->tracks[i];
            if (publisher) {
                if (!is_teacher && t->slot == CC_SLOT_SCREEN) {
                    send_error(c, s->sid, "forbidden",
                               "only the teacher shares a screen: publish camera and mic", ref,
                               rq->id);
                    return;
                }
                kinds |= 1u << t->slot;
            } else if (t->owner != 0 && !stream_allowed(l, m, t->owner, t->slot)) {
                continue; /* answered inactive until the page asks again */
            }
            tr[nt++] = *t;
        }
        if (publisher && !is_teacher && nt == 0) {
            send_error(c, s->sid, "bad_request", "\"tracks\" must name the camera and the mic",
                       ref, rq->id);
            return;
        }
        if (!publisher && rq->n_tracks > 0 && nt == 0) {
            send_error(c, s->sid, "bad_sdp", "none of these tracks can be received now", ref,
                       rq->id);
            return;
        }
        /* A browser renegotiating on the same RTCPeerConnection keeps its
         * ICE ufrag and DTLS session: update the live transport. */
        if (publisher ? s->pub_ufrag[0] && same_ice_session(rq->sdp, s->pub_remote)
                      : s->sub_ufrag[0] && same_ice_session(rq->sdp, s->sub_remote)) {
            rc = update_transport(c, s, l, m->id, publisher, tr, nt, rq->sdp, owner, is_teacher,
                                  &answer, err, sizeof err);
            if (rc != 0) {
                send_error(c, s->sid, "bad_sdp", err, ref, rq->id);
                return;
            }
            if (publisher && kinds != s->pub_kinds) {
                s->pub_kinds = kinds;
                if (m->flags & CC_MEMBER_PUBLISHING) {
                    m->pub_kinds = kinds;
                    broadcast_streams(c, l);
                }
            }
            send_json(c, s->sid, cc_proto_build_answer(publisher, answer, rq->id));
            free(answer);
            return;
        }
        /* Otherwise a new transport of the same kind replaces the old one
         * (a reloaded page, or a new RTCPeerConnection). */
        close_transport(c, publisher ? s->pub_ufrag : s->sub_ufrag);
        if (server_full(c)) {
            send_error(c, s->sid, "server_busy", "the server carries as many connections as "
                       "it may: try again later", ref, rq->id);
            return;
        }
        rc = open_transport(c, l, m->id, publisher, rq->sdp, tr, nt, owner, is_teacher, s,
                            &answer, ufrag, publisher ? s->pub_pwd : s->sub_pwd,
                            publisher ? s->pub_remote : s->sub_remote, err, sizeof err);
        if (rc != 0) {
            send_error(c, s->sid, rc == CC_ECLOSED ? "server_error" : "bad_sdp", err, ref, rq->id);
            return;
        }
        if (publisher)
            s->pub_kinds = kinds ? kinds : 0x7u;
        snprintf(publisher ? s->pub_ufrag : s->sub_ufrag, CC_ICE_MAX_CRED, "%s", ufrag);
        send_json(c, s->sid, cc_proto_build_answer(publisher, answer, rq->id));
        free(answer);
        return;
    }
    case CC_PROTO_UNPUBLISH:
        close_transport(c, s->pub_ufrag);
        send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        return;
    case CC_PROTO_LEAVE:
        send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        member_left(c, s, l, m);
        cc_http_ws_close(c->http, s->sid);
        return;
    case CC_PROTO_CAPTURE_LIST:
    case CC_PROTO_CAPTURE_START:
    case CC_PROTO_CAPTURE_STOP:
        handle_capture(c, s, l, rq);
        return;
    case CC_PROTO_QUALITY:
        handle_quality(c, s, l, m, rq, now);
        return;
    case CC_PROTO_RECORD_START:
    case CC_PROTO_RECORD_STOP:
        cc_recordings_request(c->rec, room_w(c, l->room_id), s->sid, l, m, rq);
        return;
    default:
        handle_seminar(c, s, l, m, rq, now);
        return;
    }
}

/* ---- events from the SFU worker ---- */

static gboolean resource_has_ufrag(gpointer key, gpointer value, gpointer ufrag)
{
    (void)key;
    return strcmp(((resource *)value)->ufrag, ufrag) == 0;
}

static void handle_sfu_event(cc_control *c, const cc_sfu_event *ev)
{
    /* A WHIP/WHEP session whose transport closed (consent lost, lesson
     * ended) is gone: forget its resource URL too. */
    if (ev->kind == CC_SFU_EV_CLOSED && ev->member_id == 0)
        g_hash_table_foreach_remove(c->resources, resource_has_ufrag, (gpointer)ev->ufrag);
    if (ev->kind == CC_SFU_EV_CLOSED && !ev->publisher && c->cfg.dp)
        cc_dataplane_peer_gone(c->cfg.dp, ev->ufrag); /* no longer counts where it was */
    cc_lesson *l = cc_lessons_find_room(c->lessons, ev->room_id);
    CC_DEBUG("control", "sfu event %d room %u member %u %s slots 0x%x%s", ev->kind,
             ev->room_id, ev->member_id, ev->ufrag, ev->active_slots, l ? "" : " (no lesson)");
    if (!l)
        return;
    if (ev->kind == CC_SFU_EV_MEDIA) {
        if (cc_lesson_set_media(l, ev->active_slots) == 1)
            broadcast_media(c, l);
        return;
    }
    if (ev->kind == CC_SFU_EV_SPEAKERS) {
        send_speakers(c, l, ev->speakers, ev->n_speakers, ev->n_recent);
        return;
    }
    cc_member *m = ev->member_id ? cc_lesson_member(l, ev->member_id) : NULL;
    if (!m)
        return;
    sess *s = g_hash_table_lookup(c->sessions, &m->session);
    if (ev->kind == CC_SFU_EV_LINK) {
        if (!s || strcmp(s->sub_ufrag, ev->ufrag) != 0)
            return; /* a transport that was replaced meanwhile */
        send_json(c, m->session, cc_proto_build_link(ev->weak));
        unsigned f = ev->weak ? (m->flags | CC_MEMBER_WEAK_LINK) : (m->flags & ~CC_MEMBER_WEAK_LINK);
        if (cc_lesson_set_flags(l, m, f) == 1)
            broadcast_members(c, l);
        return;
    }
    const char *cur = s ? (ev->publisher ? s->pub_ufrag : s->sub_ufrag) : "";
    int current = s && strcmp(cur, ev->ufrag) == 0;
    int connected = ev->kind == CC_SFU_EV_CONNECTED;
    if (!current && connected)
        return; /* a transport that was replaced meanwhile */
    if (current) {
        send_json(c, m->session, cc_proto_build_transport(ev->publisher, connected));
        if (!connected)
            (ev->publisher ? s->pub_ufrag : s->sub_ufrag)[0] = 0;
    }
    unsigned bit = ev->publisher ? CC_MEMBER_PUBLISHING : CC_MEMBER_WATCHING;
    unsigned flags = connected ? (m->flags | bit) : (current ? (m->flags & ~bit) : m->flags);
    /* A new transport starts at full rate, and its page has not said
     * anything about its pictures yet. */
    if (!ev->publisher && (connected || current))
        flags &= ~(CC_MEMBER_WEAK_LINK | CC_MEMBER_FROZEN);
    if (cc_lesson_set_flags(l, m, flags) == 1)
        broadcast_members(c, l);
    /* A school's or speaking student's tracks are there (or gone): every
     * page learns which streams it may subscribe. */
    if (ev->publisher && current && m->role != CC_ROLE_TEACHER) {
        unsigned kinds = connected ? s->pub_kinds : 0;
        if (kinds != m->pub_kinds) {
            m->pub_kinds = kinds;
            broadcast_streams(c, l);
        }
    }
}

static void on_lesson_event(void *ud, cc_lesson *l, cc_lesson_event ev)
{
    cc_control *c = ud;
    if (ev == CC_LESSON_EV_ENDED) {
        CC_INFO("control", "lesson %s ended: the teacher did not come back", l->code);
        broadcast_lesson(c, l);
        capture_stop_room(c, l->room_id);
        cc_recordings_lesson_ended(c->rec, l);
        room_closed(c, l->room_id);
        persist_sync(c, l);
    } else if (ev == CC_LESSON_EV_FORGET) {
        capture_stop_room(c, l->room_id);
        cc_recordings_lesson_ended(c->rec, l);
        cc_persist_forget(c->persist, l);
    }
}

/* ---- WHIP / WHEP (RFC 9725 and the WHEP draft) ---- */

static void api_whip_whep(cc_control *c, const cc_http_request *rq, cc_http_response *r)
{
    cc_whip_target target;
    r->cors = 1;
    if (cc_whip_parse_path(rq->path, &target) != 0) {
        set_text(r, 404, "no such lesson");
        return;
    }
    int publisher = target.publisher;
    const char *code = target.code, *res = target.resource;
    if (strcmp(rq->method, "OPTIONS") == 0) {
        set_text(r, 204, "");
        return;
    }
    if (strcmp(rq->method, "DELETE") == 0) {
        resource *rs = res[0] ? g_hash_table_lookup(c->resources, res) : NULL;
        if (!rs || strcmp(rs->code, code) != 0 || rs->publisher != publisher) {
            set_text(r, 404, "no such session");
            return;
        }
        remove_peer(c, rs->ufrag);
        g_hash_table_remove(c->resources, res);
        set_text(r, 200, "session ended\n");
        return;
    }
    if (strcmp(rq->method, "POST") != 0 || res[0]) {
        set_text(r, 405, "use POST with an SDP offer, DELETE on the session URL");
        return;
    }
    if (rq->body_too_big) {
        set_text(r, 413, "SDP offer too large");
        return;
    }
    if (strncasecmp(rq->content_type, "application/sdp", 15) != 0) {
        set_text(r, 415, "the offer must be sent as application/sdp");
        return;
    }
    cc_time_us now = now_us();
    char key[64];
    cc_ratelimit_key_of_ip(rq->peer_ip, key, sizeof key);
    int wait = 0;
    if (cc_ratelimit_check(c->bad_tries, key, now, &wait) != 0) {
        c->tries_refused++;
        CC_LOG_RL(CC_LOG_WARN, "control", "too many wrong codes or tokens from %s: %s %s refused for %d s",
                  key, rq->method, rq->path, wait);
        set_text(r, 429, "too many wrong lesson codes or tokens from this address: wait and try again");
        r->retry_after = wait;
        return;
    }
    cc_lesson *l = cc_lessons_find(c->lessons, code);
    if (!l) {
        count_wrong_try(c, key, now);
        CC_LOG_RL(CC_LOG_INFO, "control", "%s %s from %s refused: no lesson has this code",
                  rq->method, rq->path, key);
        set_text(r, 404, "no lesson has this code");
        return;
    }
    if (l->state == CC_LESSON_ENDED) {
        /* Its tokens ended with it. */
        CC_LOG_RL(CC_LOG_INFO, "control", "%s %s from %s refused: the lesson has ended",
                  rq->method, rq->path, key);
        set_text(r, 404, "the lesson has ended");
        return;
    }
    const char *tok = cc_whip_bearer(rq->authorization);
    /* The demo lesson is watched without a token from this computer, but
     * not by a page of another site open in its browser. */
    int open_demo = !publisher && l->pinned && rq->from_loopback && !rq->cross_origin;
    int ok = tok && (publisher ? cc_lesson_check_teacher(l, tok) : cc_lesson_check_viewer(l, tok));
    if (!ok && !open_demo) {
        if (tok)
            count_wrong_try(c, key, now);
        /* A token is one lesson's and one role's (teacher: WHIP, viewer or
         * teacher: WHEP): another lesson's, or a viewer's on WHIP, is wrong. */
        CC_LOG_RL(CC_LOG_INFO, "control", "%s %s from %s refused: %s", rq->method, rq->path,
                  key, tok ? "wrong token for this lesson and role" : "no bearer token");
        set_text(r, 401, tok ? "wrong token" : "an Authorization: Bearer token is required");
        return;
    }
    /* WHIP/WHEP sessions of one lesson: as many as its students. */
    int in_lesson = 0;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, c->resources);
    while (g_hash_table_iter_next(&it, &k, &v))
        in_lesson += ((resource *)v)->room_id == l->room_id;
    int full = in_lesson < CONTROL_MAX_RESOURCES_PER_LESSON && server_full(c);
    if (in_lesson >= CONTROL_MAX_RESOURCES_PER_LESSON || full) {
        if (!full)
            c->lesson_full++;
        CC_LOG_RL(CC_LOG_WARN, "control", "%s %s from %s refused: %s", rq->method, rq->path, key,
                  full ? "the server is full" : "the lesson has as many sessions as it may");
        set_text(r, 503, "too many sessions: try again later");
        r->retry_after = 30;
        return;
    }
    char *answer = NULL, ufrag[CC_ICE_MAX_CRED], err[256] = "";
    if (open_transport(c, l, 0, publisher, rq->body, NULL, 0, 0, 0, NULL, &answer, ufrag, NULL,
                       NULL, err, sizeof err) != 0) {
        set_text(r, 400, err);
        return;
    }
    resource *rs = calloc(1, sizeof *rs);
    if (!rs) {
        remove_peer(c, ufrag);
        free(answer);
        set_text(r, 500, "out of memory");
        return;
    }
    cc_rand_token(rs->id, 16);
    snprintf(rs->ufrag, sizeof rs->ufrag, "%s", ufrag);
    snprintf(rs->code, sizeof rs->code, "%s", code);
    rs->room_id = l->room_id;
    rs->publisher = publisher;
    g_hash_table_replace(c->resources, rs->id, rs);
    snprintf(r->location, sizeof r->location, "/%s/%.16s/%s", publisher ? "whip" : "whep",
             code, rs->id);
    set_body(r, 201, "application/sdp", answer);
}

static int hook_is_api(void *ud, const char *method, const char *path)
{
    (void)ud;
    (void)method;
    return strcmp(path, "/echo") == 0 || strcmp(path, "/stats") == 0 ||
           strcmp(path, "/qr.svg") == 0 || strcmp(path, "/metrics") == 0 ||
           strcmp(path, "/healthz") == 0 || strncmp(path, "/whip/", 6) == 0 ||
           strncmp(path, "/whep/", 6) == 0 || cc_accounts_is_api(path);
}

static void hook_api(void *ud, const cc_http_request *rq, cc_http_response *r)
{
    cc_control *c = ud;
    if (strcmp(rq->path, "/echo") == 0)
        api_echo(c, rq, r);
    else if (strcmp(rq->path, "/stats") == 0 && strcmp(rq->method, "GET") == 0)
        api_stats(c, r);
    else if (strcmp(rq->path, "/healthz") == 0 && strcmp(rq->method, "GET") == 0)
        set_text(r, 200, "ok\n");
    else if (strcmp(rq->path, "/qr.svg") == 0 && strcmp(rq->method, "GET") == 0)
        api_qr(rq, r);
    else if (strcmp(rq->path, "/metrics") == 0 && strcmp(rq->method, "GET") == 0)
        api_metrics(c, rq, r);
    else if (strncmp(rq->path, "/whip/", 6) == 0 || strncmp(rq->path, "/whep/", 6) == 0)
        api_whip_whep(c, rq, r);
    else if (cc_recordings_is_api(rq->path))
        cc_recordings_api(c->rec, c->accounts, rq, r, now_wall_s());
    else if (cc_history_is_api(rq->path))
        cc_history_api(c->accounts, c->cfg.store, rq, r, now_wall_s());
    else if (cc_accounts_is_api(rq->path))
        cc_accounts_api(c->accounts, rq, r, now_wall_s(), now_us());
    else
        set_text(r, 404, "not found");
}

static void hook_ws_open(void *ud, uint64_t sid, int from_loopback, const char *peer_ip,
                         const char *cookie)
{
    cc_control *c = ud;
    sess *s = calloc(1, sizeof *s);
    if (!s)
        return;
    s->sid = sid;
    s->from_loopback = from_loopback;
    cc_accounts_token_of(cookie, s->token);
    cc_ratelimit_key_of_ip(peer_ip, s->addr_key, sizeof s->addr_key);
    g_hash_table_replace(c->sessions, &s->sid, s);
}

static int hook_ws_message(void *ud, uint64_t sid, const char *text, size_t len, int too_big)
{
    cc_control *c = ud;
    sess *s = g_hash_table_lookup(c->sessions, &sid);
    if (!s)
        return 1;
    if (too_big) {
        send_error(c, sid, "too_big", "messages are limited to 64 KiB", NULL, NULL);
        return 1;
    }
    cc_proto_req rq;
    const char *ecode = NULL;
    char msg[256];
    int bad = 0;
    if (cc_proto_parse(text, len, &rq, &ecode, msg, sizeof msg) != 0) {
        send_error(c, sid, ecode, msg, cc_proto_type_name(rq.type), rq.id);
        bad = 1;
    } else {
        /* The lesson before and after (create, join, leave): whatever the
         * request changed goes to the database in one transaction. */
        cc_lesson *before = NULL, *after = NULL;
        cc_lessons_find_session(c->lessons, sid, &before, NULL);
        handle_request(c, s, &rq);
        cc_lessons_find_session(c->lessons, sid, &after, NULL);
        persist_sync(c, before);
        if (after != before)
            persist_sync(c, after);
    }
    cc_proto_req_free(&rq);
    return bad;
}

static void hook_ws_close(void *ud, uint64_t sid)
{
    cc_control *c = ud;
    sess *s = g_hash_table_lookup(c->sessions, &sid);
    if (!s)
        return;
    cc_lesson *l;
    cc_member *m;
    if (cc_lessons_find_session(c->lessons, sid, &l, &m) == 0) {
        member_left(c, s, l, m);
        persist_sync(c, l);
    } else {
        close_transport(c, s->pub_ufrag);
        close_transport(c, s->sub_ufrag);
    }
    g_hash_table_remove(c->sessions, &sid);
}

static void hook_wake(void *ud)
{
    cc_control *c = ud;
    if (!c->cfg.events)
        return;
    for (cc_msg *m = cc_mailbox_drain(c->cfg.events); m;) {
        cc_msg *next = m->next;
        if (m->type == CC_SFU_EVENT) {
            const cc_sfu_event *ev = (const cc_sfu_event *)m;
            handle_sfu_event(c, ev);
            /* Watching and weak-link stretches for the attendance. */
            persist_sync(c, cc_lessons_find_room(c->lessons, ev->room_id));
        } else if (m->type == CC_RECORDING_EVENT) {
            cc_recordings_on_event(c->rec, m);
        }
        cc_msg_free(m);
        m = next;
    }
}

static void hook_tick(void *ud)
{
    cc_control *c = ud;
    cc_lessons_tick(c->lessons, now_us(), on_lesson_event, c);
    cc_accounts_tick(c->accounts, now_wall_s());
    cc_persist_tick(c->persist, now_wall_ms());
    cc_recordings_tick(c->rec);
}

/* The lessons of the last run (docs/state.md), each with its SFU room. */
static void restore_lessons(cc_control *c)
{
    cc_lessons_config lc;
    cc_lessons_config_default(&lc);
    if (cc_persist_restore(c->persist, c->lessons, &lc, now_us(), now_wall_ms()) <= 0)
        return;
    for (int i = 0; i < cc_lessons_count(c->lessons); i++) {
        cc_lesson *l = cc_lessons_at(c->lessons, i);
        if (l->state != CC_LESSON_ENDED) {
            cc_sfu_room_open(room_w(c, l->room_id), l->room_id);
            if (l->last_n != CC_LESSON_DEFAULT_LAST_N)
                cc_sfu_set_last_n(room_w(c, l->room_id), l->room_id, l->last_n);
        }
    }
}

int cc_control_new(cc_control **out, const cc_control_config *cfg)
{
    *out = NULL;
    cc_control *c = calloc(1, sizeof *c);
    if (!c)
        return CC_ENOMEM;
    c->cfg = *cfg;
    c->echo.fingerprint = cfg->fingerprint;
    c->echo.n_candidates = cfg->n_candidates;
    memcpy(c->echo.candidates, cfg->candidates, sizeof c->echo.candidates);
    c->sfu.fingerprint = cfg->fingerprint;
    c->sfu.n_candidates = cfg->n_candidates;
    memcpy(c->sfu.candidates, cfg->candidates, sizeof c->sfu.candidates);
    c->lessons = cc_lessons_new(NULL);
    c->bad_tries = cc_ratelimit_new(BAD_TRY_KEYS, BAD_TRY_BURST, BAD_TRY_PER_MIN);
    c->accounts = cc_accounts_new(cfg->store, cfg->local_teacher);
    c->sessions = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, free);
    c->resources = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free);
    c->captures = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, capture_run_free);
    cc_recordings_config rcfg = {.store = cfg->store, .state_dir = cfg->state_dir,
                                 .quota_bytes = cfg->recording_quota_bytes,
                                 .lessons = c->lessons, .events = cfg->events};
    c->rec = c->lessons ? cc_recordings_new(&rcfg) : NULL;
    if (!c->lessons || !c->bad_tries || !c->accounts || !c->rec ||
        cc_persist_new(&c->persist, cfg->store) != 0) {
        cc_control_free(c);
        return CC_ENOMEM;
    }
    restore_lessons(c);
    if (cfg->demo_lesson) {
        cc_lesson *l;
        if (cc_lessons_create_fixed(c->lessons, "demo", "Giáo viên", "Lớp học mẫu / Demo class",
                                    now_us(), &l) == 0) {
            /* `serve --demo-token`: known tokens so a test can WHIP in. */
            if (cfg->demo_token)
                cc_lesson_set_tokens(l, cfg->demo_token, cfg->demo_token);
            cc_lesson_start(l, now_us());
            cc_sfu_room_open(room_w(c, l->room_id), l->room_id);
        }
    }
    *out = c;
    return 0;
}

void cc_control_set_http(cc_control *c, cc_http *h)
{
    c->http = h;
    cc_recordings_set_http(c->rec, h);
}

uint32_t cc_control_demo_room(cc_control *c)
{
    cc_lesson *l = cc_lessons_find(c->lessons, "demo");
    return l ? l->room_id : 0;
}

int cc_control_capture_start(cc_control *c, const char *code, const char *sources,
                             const char *display, char *err, size_t errcap)
{
    cc_lesson *l = cc_lessons_find(c->lessons, code);
    if (!l || l->state == CC_LESSON_ENDED) {
        snprintf(err, errcap, "no open lesson has the code '%s'", code);
        return CC_ENOTFOUND;
    }
    return capture_replace(c, l->room_id, sources, display, err, errcap);
}

void cc_control_shutdown(cc_control *c)
{
    if (!c)
        return;
    c->shut = 1;
    if (c->captures)
        g_hash_table_remove_all(c->captures);
    cc_recordings_shutdown(c->rec); /* detaching waits on the workers */
}

cc_http_hooks cc_control_http_hooks(cc_control *c)
{
    cc_http_hooks h = {
        .ud = c,
        .is_api = hook_is_api,
        .api = hook_api,
        .ws_open = hook_ws_open,
        .ws_message = hook_ws_message,
        .ws_close = hook_ws_close,
        .wake = hook_wake,
        .tick = hook_tick,
    };
    return h;
}

void cc_control_free(cc_control *c)
{
    if (!c)
        return;
    cc_control_shutdown(c);
    if (c->captures)
        g_hash_table_destroy(c->captures);
    /* Stopping: the connections end now, as far as attendance goes. */
    cc_persist_shutdown(c->persist, now_wall_ms());
    cc_persist_free(c->persist);
    cc_recordings_free(c->rec);
    cc_lessons_free(c->lessons);
    cc_ratelimit_free(c->bad_tries);
    cc_accounts_free(c->accounts);
    if (c->sessions)
        g_hash_table_destroy(c->sessions);
    if (c->resources)
        g_hash_table_destroy(c->resources);
    free(c);
}
