/* classcast control plane: the HTTP API (/stats, /metrics, /qr.svg, /echo,
 * WHIP and WHEP) and which handler an API request goes to. */
#include "control_priv.h"

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
                             (json_int_t)ctl_peer_count(c), "lessons",
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
    if (cc_accounts_identify(c->accounts, tok, 0, ctl_now_wall_s(), &w) != CC_WHO_NONE)
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

int ctl_server_full(cc_control *c)
{
    if (ctl_peer_count(c) < CONTROL_MAX_PEERS)
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
    if (ctl_server_full(c)) {
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
        ctl_remove_peer(c, rs->ufrag);
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
    cc_time_us now = ctl_now_us();
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
        ctl_count_wrong_try(c, key, now);
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
            ctl_count_wrong_try(c, key, now);
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
    int full = in_lesson < CONTROL_MAX_RESOURCES_PER_LESSON && ctl_server_full(c);
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
    if (ctl_open_transport(c, l, 0, publisher, rq->body, NULL, 0, 0, 0, NULL, &answer, ufrag, NULL,
                           NULL, err, sizeof err) != 0) {
        set_text(r, 400, err);
        return;
    }
    resource *rs = calloc(1, sizeof *rs);
    if (!rs) {
        ctl_remove_peer(c, ufrag);
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

int ctl_hook_is_api(void *ud, const char *method, const char *path)
{
    (void)ud;
    (void)method;
    return strcmp(path, "/echo") == 0 || strcmp(path, "/stats") == 0 ||
           strcmp(path, "/qr.svg") == 0 || strcmp(path, "/metrics") == 0 ||
           strcmp(path, "/healthz") == 0 || strncmp(path, "/whip/", 6) == 0 ||
           strncmp(path, "/whep/", 6) == 0 || cc_accounts_is_api(path);
}

void ctl_hook_api(void *ud, const cc_http_request *rq, cc_http_response *r)
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
        cc_recordings_api(c->rec, c->accounts, rq, r, ctl_now_wall_s());
    else if (cc_history_is_api(rq->path))
        cc_history_api(c->accounts, c->cfg.store, rq, r, ctl_now_wall_s());
    else if (cc_accounts_is_api(rq->path))
        cc_accounts_api(c->accounts, rq, r, ctl_now_wall_s(), ctl_now_us());
    else
        set_text(r, 404, "not found");
}
