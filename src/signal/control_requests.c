/* classcast control plane: the requests of a WebSocket session (create,
 * join, resume, start, end, publish, subscribe, leave...) and what happens
 * as members join, come back, leave or are sent away. */
#include "control_priv.h"

/* ---- WebSocket requests ---- */

void ctl_member_left(cc_control *c, sess *s, cc_lesson *l, cc_member *m)
{
    int published = m->pub_kinds != 0;
    ctl_close_transport(c, s->pub_ufrag);
    ctl_close_transport(c, s->sub_ufrag);
    s->pub_kinds = 0;
    s->n_sub_outs = 0;
    cc_lesson_leave(l, m, ctl_now_us());
    ctl_broadcast_members(c, l);
    if (published)
        ctl_broadcast_streams(c, l);
}

void ctl_on_joined(cc_control *c, uint64_t sid, cc_lesson *l, cc_member *m,
                   const char *id)
{
    if (m->flags & CC_MEMBER_WAITING) {
        /* The teacher decides: only the teachers hear of it for now. */
        ctl_send_json(c, sid, cc_proto_build_waiting(l->code, l->title, m->id_str, m->rejoin));
        ctl_broadcast_members(c, l);
        return;
    }
    int guest = m->role != CC_ROLE_TEACHER;
    ctl_send_json(c, sid, cc_proto_build_joined(l->code, l->title, l->teacher_name,
                                                cc_lesson_state_name(l->state), m->id_str,
                                                cc_role_name(m->role), guest ? m->rejoin : NULL,
                                                guest ? m->hand : -1, c->cfg.simulcast, id));
    ctl_send_state(c, sid, l);
    ctl_send_seminar_state(c, sid, l, m);
    cc_recordings_joined(c->rec, l, m);
    ctl_broadcast_members(c, l);
    /* Its subscribe follows at once (the page builds its offer while the
     * join is in flight): a fresh keyframe is asked for now. */
    cc_worker *rw = guest && l->state == CC_LESSON_LIVE ? ctl_room_w(c, l->room_id) : NULL;
    if (rw)
        cc_sfu_expect_viewer(rw, l->room_id);
}

void ctl_kick(cc_control *c, cc_lesson *l, cc_member *t, char *json)
{
    uint64_t sid = t->session;
    /* Sent away: its rejoin secret no longer brings it back. */
    cc_lesson_revoke_rejoin(l, t->id);
    ctl_send_json(c, sid, json);
    sess *ts = g_hash_table_lookup(c->sessions, &sid);
    if (ts) {
        ctl_member_left(c, ts, l, t);
    } else {
        cc_lesson_leave(l, t, ctl_now_us());
        ctl_broadcast_members(c, l);
    }
    cc_http_ws_close(c->http, sid);
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
            ctl_close_transport(c, os->pub_ufrag);
            ctl_close_transport(c, os->sub_ufrag);
            os->pub_kinds = 0;
            os->n_sub_outs = 0;
        }
        cc_http_ws_close(c->http, replaced);
        ctl_broadcast_streams(c, l);
    }
    if (m->flags & (CC_MEMBER_MUTED | CC_MEMBER_TEACHER_ONLY))
        cc_sfu_set_sender(ctl_room_w(c, l->room_id), l->room_id, m->id,
                          !!(m->flags & CC_MEMBER_MUTED), !!(m->flags & CC_MEMBER_TEACHER_ONLY));
}

/* Only a signed-in teacher creates lessons and captures (docs/accounts.md).
 * 1 with *w filled, or 0 with the error sent, counted and logged. */
static int require_teacher(cc_control *c, sess *s, const char *ref, const char *id, cc_who *w)
{
    cc_accounts_identify(c->accounts, s->token, s->from_loopback, ctl_now_wall_s(), w);
    if (w->kind == CC_WHO_NONE) {
        c->not_signed_in++;
        CC_LOG_RL(CC_LOG_WARN, "control", "%s from %s refused: not signed in", ref, s->addr_key);
        ctl_send_error(c, s->sid, "not_signed_in",
                       "sign in as a teacher first (on the teacher page)", ref, id);
        return 0;
    }
    if (w->kind == CC_WHO_TEACHER && w->teacher.must_change_pw) {
        c->must_change_refused++;
        CC_LOG_RL(CC_LOG_WARN, "control", "%s by '%s' refused: must choose a password first",
                  ref, w->teacher.name);
        ctl_send_error(c, s->sid, "must_change_password",
                       "choose your own password first (the one you signed in with was for "
                       "one use)", ref, id);
        return 0;
    }
    return 1;
}

void ctl_handle_request(cc_control *c, sess *s, cc_proto_req *rq)
{
    const char *ref = cc_proto_type_name(rq->type);
    cc_lesson *l = NULL;
    cc_member *m = NULL;
    cc_time_us now = ctl_now_us();
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
        ctl_send_error(c, s->sid, ecode, msg, ref, rq->id);
        return;
    }
    if (!cc_lesson_may_local(rq->type, s->from_loopback, &ecode)) {
        ctl_send_error(c, s->sid, ecode,
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
        ctl_send_json(c, s->sid, cc_proto_build_pong(rq->id));
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
            ctl_send_error(c, s->sid, "too_many_lessons",
                           "you have as many open lessons as one teacher may: end one first", ref,
                           rq->id);
            return;
        }
        if (rc != 0) {
            ctl_send_error(c, s->sid, cc_lesson_err_code(rc), "could not create a lesson", ref,
                           rq->id);
            return;
        }
        cc_lesson_set_kind(l, rq->seminar ? CC_LESSON_KIND_SEMINAR : CC_LESSON_KIND_LESSON);
        cc_sfu_room_open(ctl_room_w(c, l->room_id), l->room_id);
        CC_INFO("control", "%s %s created by %s (room %u)", rq->seminar ? "seminar" : "lesson", l->code,
                who.kind == CC_WHO_LOCAL ? "the local teacher" : who.teacher.name, l->room_id);
        ctl_send_json(c, s->sid, cc_proto_build_created(l->code, l->title, l->teacher_token,
                                                        l->viewer_token, m->id_str,
                                                        c->cfg.simulcast, rq->id));
        ctl_send_state(c, s->sid, l);
        ctl_send_seminar_state(c, s->sid, l, m);
        cc_recordings_joined(c->rec, l, m);
        ctl_broadcast_members(c, l);
        return;
    case CC_PROTO_RESUME:
        if (ctl_refuse_if_too_many(c, s, now, ref, rq->id))
            return;
        rc = cc_lessons_resume(c->lessons, rq->code, rq->token, s->sid, now, &l, &m);
        if (rc == CC_EAUTH || rc == CC_ENOTFOUND)
            ctl_count_wrong_try(c, s->addr_key, now);
        if (rc != 0) {
            ctl_send_error(c, s->sid, cc_lesson_err_code(rc),
                           rc == CC_EAUTH ? "wrong teacher token" :
                           rc == CC_ENOTFOUND ? "no lesson has this code" :
                           "cannot resume this lesson",
                           ref, rq->id);
            return;
        }
        ctl_on_joined(c, s->sid, l, m, rq->id);
        return;
    case CC_PROTO_JOIN: {
        if (ctl_refuse_if_too_many(c, s, now, ref, rq->id))
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
            ctl_count_wrong_try(c, s->addr_key, now);
        if (rc == CC_ENOSPC) {
            c->lesson_full++;
            CC_LOG_RL(CC_LOG_WARN, "control", "join %s refused: the lesson is full", rq->code);
        }
        if (rc != 0) {
            ctl_send_error(c, s->sid,
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
            ctl_send_invites(c, l); /* its invite has one more use */
        }
        ctl_on_joined(c, s->sid, l, m, rq->id);
        return;
    }
    case CC_PROTO_START:
        rc = cc_lesson_start(l, now);
        if (rc < 0) {
            ctl_send_error(c, s->sid, "lesson_ended", "the lesson has ended", ref, rq->id);
            return;
        }
        ctl_send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        if (rc == 1)
            ctl_broadcast_lesson(c, l);
        if (rc == 1)
            cc_recordings_lesson_started(c->rec, ctl_room_w(c, l->room_id), l);
        return;
    case CC_PROTO_END:
        rc = cc_lesson_end(l, now);
        ctl_send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        if (rc == 1) {
            ctl_broadcast_lesson(c, l);
            ctl_capture_stop_room(c, l->room_id);
            cc_recordings_lesson_ended(c->rec, l);
            ctl_room_closed(c, l->room_id);
            CC_INFO("control", "lesson %s ended by the teacher", l->code);
        }
        return;
    case CC_PROTO_PUBLISH:
    case CC_PROTO_SUBSCRIBE:
    case CC_PROTO_RENEGOTIATE: {
        int publisher = rq->for_publish;
        char *answer = NULL, ufrag[CC_ICE_MAX_CRED], err[256] = "";
        if (!rq->sdp) {
            ctl_send_error(c, s->sid, "bad_request", "sdp is missing", ref, rq->id);
            return;
        }
        uint32_t owner = ctl_owner_of(m);
        int is_teacher = m->role == CC_ROLE_TEACHER;
        cc_proto_track tr[CC_PROTO_MAX_TRACKS];
        int nt = 0;
        unsigned kinds = 0;
        for (int i = 0; i < rq->n_tracks; i++) {
            const cc_proto_track *t = &rq->tracks[i];
            if (publisher) {
                if (!is_teacher && t->slot == CC_SLOT_SCREEN) {
                    ctl_send_error(c, s->sid, "forbidden",
                                   "only the teacher shares a screen: publish camera and mic", ref,
                                   rq->id);
                    return;
                }
                kinds |= 1u << t->slot;
            } else if (t->owner != 0 && !ctl_stream_allowed(l, m, t->owner, t->slot)) {
                continue; /* answered inactive until the page asks again */
            }
            tr[nt++] = *t;
        }
        if (publisher && !is_teacher && nt == 0) {
            ctl_send_error(c, s->sid, "bad_request", "\"tracks\" must name the camera and the mic",
                           ref, rq->id);
            return;
        }
        if (!publisher && rq->n_tracks > 0 && nt == 0) {
            ctl_send_error(c, s->sid, "bad_sdp", "none of these tracks can be received now", ref,
                           rq->id);
            return;
        }
        /* A browser renegotiating on the same RTCPeerConnection keeps its
         * ICE ufrag and DTLS session: update the live transport. */
        if (publisher ? s->pub_ufrag[0] && ctl_same_ice_session(rq->sdp, s->pub_remote)
                      : s->sub_ufrag[0] && ctl_same_ice_session(rq->sdp, s->sub_remote)) {
            rc = ctl_update_transport(c, s, l, m->id, publisher, tr, nt, rq->sdp, owner, is_teacher,
                                      &answer, err, sizeof err);
            if (rc != 0) {
                ctl_send_error(c, s->sid, "bad_sdp", err, ref, rq->id);
                return;
            }
            if (publisher && kinds != s->pub_kinds) {
                s->pub_kinds = kinds;
                if (m->flags & CC_MEMBER_PUBLISHING) {
                    m->pub_kinds = kinds;
                    ctl_broadcast_streams(c, l);
                }
            }
            ctl_send_json(c, s->sid, cc_proto_build_answer(publisher, answer, rq->id));
            free(answer);
            return;
        }
        /* Otherwise a new transport of the same kind replaces the old one
         * (a reloaded page, or a new RTCPeerConnection). */
        ctl_close_transport(c, publisher ? s->pub_ufrag : s->sub_ufrag);
        if (ctl_server_full(c)) {
            ctl_send_error(c, s->sid, "server_busy", "the server carries as many connections as "
                           "it may: try again later", ref, rq->id);
            return;
        }
        rc = ctl_open_transport(c, l, m->id, publisher, rq->sdp, tr, nt, owner, is_teacher, s,
                                &answer, ufrag, publisher ? s->pub_pwd : s->sub_pwd,
                                publisher ? s->pub_remote : s->sub_remote, err, sizeof err);
        if (rc != 0) {
            ctl_send_error(c, s->sid, rc == CC_ECLOSED ? "server_error" : "bad_sdp", err, ref,
                           rq->id);
            return;
        }
        if (publisher)
            s->pub_kinds = kinds ? kinds : 0x7u;
        snprintf(publisher ? s->pub_ufrag : s->sub_ufrag, CC_ICE_MAX_CRED, "%s", ufrag);
        ctl_send_json(c, s->sid, cc_proto_build_answer(publisher, answer, rq->id));
        free(answer);
        return;
    }
    case CC_PROTO_UNPUBLISH:
        ctl_close_transport(c, s->pub_ufrag);
        ctl_send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        return;
    case CC_PROTO_LEAVE:
        ctl_send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        ctl_member_left(c, s, l, m);
        cc_http_ws_close(c->http, s->sid);
        return;
    case CC_PROTO_CAPTURE_LIST:
    case CC_PROTO_CAPTURE_START:
    case CC_PROTO_CAPTURE_STOP:
        ctl_handle_capture(c, s, l, rq);
        return;
    case CC_PROTO_QUALITY:
        ctl_handle_quality(c, s, l, m, rq, now);
        return;
    case CC_PROTO_RECORD_START:
    case CC_PROTO_RECORD_STOP:
        cc_recordings_request(c->rec, ctl_room_w(c, l->room_id), s->sid, l, m, rq);
        return;
    default:
        ctl_handle_seminar(c, s, l, m, rq, now);
        return;
    }
}
