/* The control plane's application logic (see control.h): the control
 * object and its HTTP hooks, which worker a transport is on, sending to
 * sessions, the transports (SDP offer -> answer) and the SFU's events. What
 * the other control_*.c files share with this one is in control_priv.h. */
#include "control_priv.h"

cc_time_us ctl_now_us(void) { return cc_clock_mono_us(); }

static int64_t now_wall_ms(void) { return cc_clock_wall_us() / CC_USEC_PER_MSEC; }
/* Sessions expire in wall-clock time (they outlive a restart). */
int64_t ctl_now_wall_s(void) { return cc_clock_wall_us() / CC_USEC_PER_SEC; }

/* ---- the data plane: which worker a transport is on (dataplane.h) ---- */

/* A room's publishers (and its capture, mute, last-N) are on its worker. */
cc_worker *ctl_room_w(cc_control *c, uint32_t room_id)
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

void ctl_room_closed(cc_control *c, uint32_t room_id)
{
    if (c->cfg.dp)
        cc_dataplane_room_close(c->cfg.dp, room_id); /* its mirrors too */
    else
        cc_sfu_room_close(c->cfg.worker, room_id);
}

void ctl_remove_peer(cc_control *c, const char *ufrag)
{
    if (c->cfg.dp)
        cc_dataplane_remove_peer(c->cfg.dp, ufrag);
    else
        cc_worker_remove_peer(c->cfg.worker, ufrag);
}

uint32_t ctl_peer_count(cc_control *c)
{
    return c->cfg.dp ? cc_dataplane_peer_count(c->cfg.dp) : cc_worker_peer_count(c->cfg.worker);
}

/* Whatever changed in lesson l goes to the database (NULL: nothing). */
static void persist_sync(cc_control *c, cc_lesson *l)
{
    if (l)
        cc_persist_sync(c->persist, l, ctl_now_us(), now_wall_ms());
}

/* ---- sending ---- */

void ctl_send_json(cc_control *c, uint64_t sid, char *json)
{
    if (json)
        cc_http_ws_send(c->http, sid, json);
}

void ctl_send_error(cc_control *c, uint64_t sid, const char *code,
                    const char *message, const char *ref, const char *id)
{
    ctl_send_json(c, sid, cc_proto_build_error(code, message, ref, id));
}

/* Wrong lesson codes and tokens: 10 tries per address, then one more every
 * 6 s (10 a minute). A whole school behind one address mistyping a code
 * now and then stays far below that; walking the million 6-digit codes
 * would take almost 70 days. */
#define BAD_TRY_BURST 10
#define BAD_TRY_PER_MIN 10
#define BAD_TRY_KEYS 10000

void ctl_count_wrong_try(cc_control *c, const char *key, cc_time_us now)
{
    c->wrong_tries++;
    cc_ratelimit_fail(c->bad_tries, key, now);
}

/* 1 (and the error sent) when this session's address must wait. */
int ctl_refuse_if_too_many(cc_control *c, sess *s, cc_time_us now, const char *ref,
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
    ctl_send_json(c, s->sid, cc_proto_build_error_wait("too_many_tries", msg, ref, id, wait));
    return 1;
}

/* To every member of the lesson (teachers_only: the member list); members
 * in the waiting room get nothing of the lesson. */
void ctl_broadcast(cc_control *c, cc_lesson *l, const char *json, int teachers_only)
{
    if (!json)
        return;
    for (int i = 0; i < l->n_members; i++) {
        cc_member *m = l->members[i];
        if ((teachers_only && m->role != CC_ROLE_TEACHER) || (m->flags & CC_MEMBER_WAITING))
            continue;
        ctl_send_json(c, m->session, strdup(json));
    }
}

void ctl_broadcast_members(cc_control *c, cc_lesson *l)
{
    /* Member times are on the monotonic clock; pages get Unix time. */
    char *j = cc_proto_build_members(l, ctl_now_us(), cc_clock_wall_us() / 1000);
    ctl_broadcast(c, l, j, 1);
    free(j);
}

void ctl_broadcast_lesson(cc_control *c, cc_lesson *l)
{
    char *j = cc_proto_build_lesson_full(l);
    ctl_broadcast(c, l, j, 0);
    free(j);
}

static void broadcast_media(cc_control *c, cc_lesson *l)
{
    char *j = cc_proto_build_media(!!(l->media & (1u << CC_SLOT_CAMERA)),
                                   !!(l->media & (1u << CC_SLOT_SCREEN)),
                                   !!(l->media & (1u << CC_SLOT_MIC)));
    ctl_broadcast(c, l, j, 0);
    free(j);
}

/* After joined/created: where the lesson stands. */
void ctl_send_state(cc_control *c, uint64_t sid, cc_lesson *l)
{
    ctl_send_json(c, sid, cc_proto_build_lesson_full(l));
    ctl_send_json(c, sid, cc_proto_build_media(!!(l->media & (1u << CC_SLOT_CAMERA)),
                                               !!(l->media & (1u << CC_SLOT_SCREEN)),
                                               !!(l->media & (1u << CC_SLOT_MIC))));
}

/* ---- transports ---- */


void ctl_close_transport(cc_control *c, char *ufrag)
{
    if (ufrag[0]) {
        ctl_remove_peer(c, ufrag);
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
int ctl_open_transport(cc_control *c, cc_lesson *l, uint32_t member_id,
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
    cc_worker *w = placed >= 0 ? cc_dataplane_worker(c->cfg.dp, placed) : ctl_room_w(c, l->room_id);
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
int ctl_same_ice_session(const char *sdp, const char *remote)
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
int ctl_update_transport(cc_control *c, sess *s, cc_lesson *l, uint32_t member_id,
                         int publisher, const cc_proto_track *tracks, int n_tracks,
                         const char *sdp, uint32_t owner, int is_teacher, char **answer,
                         char *err, size_t errcap)
{
    cc_sfu_track_map map[CC_PROTO_MAX_TRACKS];
    int n_map = tracks_to_map(tracks, n_tracks, map);
    cc_worker_msg_add *msg = NULL;
    size_t len = strlen(sdp);
    cc_worker *w = publisher ? ctl_room_w(c, l->room_id) : sub_w(c, l->room_id, s->sub_ufrag);
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
        ctl_send_speakers(c, l, ev->speakers, ev->n_speakers, ev->n_recent);
        return;
    }
    cc_member *m = ev->member_id ? cc_lesson_member(l, ev->member_id) : NULL;
    if (!m)
        return;
    sess *s = g_hash_table_lookup(c->sessions, &m->session);
    if (ev->kind == CC_SFU_EV_LINK) {
        if (!s || strcmp(s->sub_ufrag, ev->ufrag) != 0)
            return; /* a transport that was replaced meanwhile */
        ctl_send_json(c, m->session, cc_proto_build_link(ev->weak));
        unsigned f = ev->weak ? (m->flags | CC_MEMBER_WEAK_LINK) : (m->flags & ~CC_MEMBER_WEAK_LINK);
        if (cc_lesson_set_flags(l, m, f) == 1)
            ctl_broadcast_members(c, l);
        return;
    }
    const char *cur = s ? (ev->publisher ? s->pub_ufrag : s->sub_ufrag) : "";
    int current = s && strcmp(cur, ev->ufrag) == 0;
    int connected = ev->kind == CC_SFU_EV_CONNECTED;
    if (!current && connected)
        return; /* a transport that was replaced meanwhile */
    if (current) {
        ctl_send_json(c, m->session, cc_proto_build_transport(ev->publisher, connected));
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
        ctl_broadcast_members(c, l);
    /* A school's or speaking student's tracks are there (or gone): every
     * page learns which streams it may subscribe. */
    if (ev->publisher && current && m->role != CC_ROLE_TEACHER) {
        unsigned kinds = connected ? s->pub_kinds : 0;
        if (kinds != m->pub_kinds) {
            m->pub_kinds = kinds;
            ctl_broadcast_streams(c, l);
        }
    }
}

static void on_lesson_event(void *ud, cc_lesson *l, cc_lesson_event ev)
{
    cc_control *c = ud;
    if (ev == CC_LESSON_EV_ENDED) {
        CC_INFO("control", "lesson %s ended: the teacher did not come back", l->code);
        ctl_broadcast_lesson(c, l);
        ctl_capture_stop_room(c, l->room_id);
        cc_recordings_lesson_ended(c->rec, l);
        ctl_room_closed(c, l->room_id);
        persist_sync(c, l);
    } else if (ev == CC_LESSON_EV_FORGET) {
        ctl_capture_stop_room(c, l->room_id);
        cc_recordings_lesson_ended(c->rec, l);
        cc_persist_forget(c->persist, l);
    }
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
        ctl_send_error(c, sid, "too_big", "messages are limited to 64 KiB", NULL, NULL);
        return 1;
    }
    cc_proto_req rq;
    const char *ecode = NULL;
    char msg[256];
    int bad = 0;
    if (cc_proto_parse(text, len, &rq, &ecode, msg, sizeof msg) != 0) {
        ctl_send_error(c, sid, ecode, msg, cc_proto_type_name(rq.type), rq.id);
        bad = 1;
    } else {
        /* The lesson before and after (create, join, leave): whatever the
         * request changed goes to the database in one transaction. */
        cc_lesson *before = NULL, *after = NULL;
        cc_lessons_find_session(c->lessons, sid, &before, NULL);
        ctl_handle_request(c, s, &rq);
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
        ctl_member_left(c, s, l, m);
        persist_sync(c, l);
    } else {
        ctl_close_transport(c, s->pub_ufrag);
        ctl_close_transport(c, s->sub_ufrag);
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
    cc_lessons_tick(c->lessons, ctl_now_us(), on_lesson_event, c);
    cc_accounts_tick(c->accounts, ctl_now_wall_s());
    cc_persist_tick(c->persist, now_wall_ms());
    cc_recordings_tick(c->rec);
}

/* The lessons of the last run (docs/state.md), each with its SFU room. */
static void restore_lessons(cc_control *c)
{
    cc_lessons_config lc;
    cc_lessons_config_default(&lc);
    if (cc_persist_restore(c->persist, c->lessons, &lc, ctl_now_us(), now_wall_ms()) <= 0)
        return;
    for (int i = 0; i < cc_lessons_count(c->lessons); i++) {
        cc_lesson *l = cc_lessons_at(c->lessons, i);
        if (l->state != CC_LESSON_ENDED) {
            cc_sfu_room_open(ctl_room_w(c, l->room_id), l->room_id);
            if (l->last_n != CC_LESSON_DEFAULT_LAST_N)
                cc_sfu_set_last_n(ctl_room_w(c, l->room_id), l->room_id, l->last_n);
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
    c->sfu.no_simulcast = !cfg->simulcast;
    memcpy(c->sfu.candidates, cfg->candidates, sizeof c->sfu.candidates);
    c->lessons = cc_lessons_new(NULL);
    c->bad_tries = cc_ratelimit_new(BAD_TRY_KEYS, BAD_TRY_BURST, BAD_TRY_PER_MIN);
    c->accounts = cc_accounts_new(cfg->store, cfg->local_teacher);
    c->sessions = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, free);
    c->resources = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free);
    c->captures = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, ctl_capture_run_free);
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
                                    ctl_now_us(), &l) == 0) {
            /* `serve --demo-token`: known tokens so a test can WHIP in. */
            if (cfg->demo_token)
                cc_lesson_set_tokens(l, cfg->demo_token, cfg->demo_token);
            cc_lesson_start(l, ctl_now_us());
            cc_sfu_room_open(ctl_room_w(c, l->room_id), l->room_id);
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
    return ctl_capture_replace(c, l->room_id, sources, display, err, errcap);
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
        .is_api = ctl_hook_is_api,
        .api = ctl_hook_api,
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
