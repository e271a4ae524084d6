/* classcast control plane: seminars (docs/protocol.md "Seminars"): who
 * may send, the floor, mute, the waiting room, chat, invites, the speakers
 * shown, and the pages' quality reports. */
#include "control_priv.h"

/* ---- seminars: senders, the floor, chat (docs/protocol.md "Seminars") ---- */

/* The SFU's owner of a member's tracks: the teacher's tabs share owner 0. */
uint32_t ctl_owner_of(const cc_member *m)
{
    return m->role == CC_ROLE_TEACHER ? 0 : m->id;
}

/* May viewer v receive track (owner, slot)? Its own never; a student's
 * camera kept to the teacher only to teachers; a track nobody sends no. */
int ctl_stream_allowed(cc_lesson *l, const cc_member *v, uint32_t owner, int slot)
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
            if (slot == CC_SLOT_SCREEN || !ctl_stream_allowed(l, v, o->id, slot) ||
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

void ctl_broadcast_streams(cc_control *c, cc_lesson *l)
{
    for (int i = 0; i < l->n_members; i++) {
        cc_member *m = l->members[i];
        if (!(m->flags & CC_MEMBER_WAITING))
            ctl_send_json(c, m->session, streams_json(l, m));
    }
}

void ctl_send_invites(cc_control *c, cc_lesson *l)
{
    char *j = cc_proto_build_invites(l);
    ctl_broadcast(c, l, j, 1);
    free(j);
}

/* The guests whose cameras the pages show (ids[0..n)); the first n_recent
 * have spoken: those are "speaking" in the member list. */
void ctl_send_speakers(cc_control *c, cc_lesson *l, const uint32_t *ids, int n, int n_recent)
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
    ctl_broadcast(c, l, j, 0);
    free(j);
    if (changed)
        ctl_broadcast_members(c, l);
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

void ctl_handle_quality(cc_control *c, sess *s, cc_lesson *l, cc_member *m,
                        const cc_proto_req *rq, cc_time_us now)
{
    const char *ref = cc_proto_type_name(rq->type);
    if (!bucket_allowed(&s->quality_tokens, &s->quality_at, QUALITY_BURST, QUALITY_PER_S, now)) {
        c->quality_too_fast++;
        CC_LOG_RL(CC_LOG_WARN, "control", "lesson %s: %s sends quality reports too fast",
                  l->code, m->id_str);
        ctl_send_error(c, s->sid, "quality_too_fast",
                       "at most one quality report a second (10 at once)", ref, rq->id);
        return;
    }
    /* Only a member that is watching can be frozen: a report that
     * overtook its transport's close is dropped with it. */
    unsigned f = m->flags & ~CC_MEMBER_FROZEN;
    if (rq->flag && (m->flags & CC_MEMBER_WATCHING))
        f |= CC_MEMBER_FROZEN;
    ctl_send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
    if (cc_lesson_set_flags(l, m, f) == 1)
        ctl_broadcast_members(c, l);
}

/* After `joined`: what a seminar page needs besides the lesson state. */
void ctl_send_seminar_state(cc_control *c, uint64_t sid, cc_lesson *l, cc_member *m)
{
    ctl_send_json(c, sid, streams_json(l, m));
    ctl_send_json(c, sid, cc_proto_build_speakers(l->shown, l->shown_n, l->shown_recent));
    ctl_send_json(c, sid, cc_proto_build_chat_history(l));
    if (m->role == CC_ROLE_TEACHER)
        ctl_send_json(c, sid, cc_proto_build_invites(l));
    if (m->flags & CC_MEMBER_MUTED)
        ctl_send_json(c, sid, cc_proto_build_muted(1));
    /* A student that came back with the floor (docs/state.md). */
    if (m->flags & CC_MEMBER_FLOOR)
        ctl_send_json(c, sid, cc_proto_build_floor(1, !!(m->flags & CC_MEMBER_TEACHER_ONLY)));
}

/* The member named in a teacher's command, or NULL with the error sent. */
static cc_member *target_of(cc_control *c, sess *s, cc_lesson *l, const cc_proto_req *rq)
{
    cc_member *t = cc_lesson_member(l, rq->member_id);
    if (!t)
        ctl_send_error(c, s->sid, "no_such_member", "no member of this lesson has that id",
                       cc_proto_type_name(rq->type), rq->id);
    return t;
}

void ctl_handle_seminar(cc_control *c, sess *s, cc_lesson *l, cc_member *m,
                        cc_proto_req *rq, cc_time_us now)
{
    const char *ref = cc_proto_type_name(rq->type);
    cc_member *t = NULL;
    switch (rq->type) {
    case CC_PROTO_HAND:
        if (cc_lesson_hand(l, m, rq->flag))
            ctl_broadcast_members(c, l);
        ctl_send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        return;
    case CC_PROTO_FLOOR: {
        if (!(t = target_of(c, s, l, rq)))
            return;
        if (t->role != CC_ROLE_STUDENT || (t->flags & CC_MEMBER_WAITING)) {
            ctl_send_error(c, s->sid, "bad_state",
                           t->role == CC_ROLE_SCHOOL ? "a school may always speak: no floor needed"
                                                     : "only an admitted student can be given the floor",
                           ref, rq->id);
            return;
        }
        unsigned f = t->flags & ~(CC_MEMBER_FLOOR | CC_MEMBER_TEACHER_ONLY);
        if (rq->flag)
            f |= CC_MEMBER_FLOOR | (rq->teacher_only ? CC_MEMBER_TEACHER_ONLY : 0);
        cc_lesson_set_flags(l, t, f);
        cc_sfu_set_sender(ctl_room_w(c, l->room_id), l->room_id, t->id,
                          !!(t->flags & CC_MEMBER_MUTED), rq->flag && rq->teacher_only);
        sess *ts = g_hash_table_lookup(c->sessions, &t->session);
        if (rq->flag) {
            cc_lesson_hand(l, t, 0);
        } else if (ts) {
            /* Its tracks stop being forwarded now, not when it obeys. */
            ctl_close_transport(c, ts->pub_ufrag);
            ts->pub_kinds = 0;
            t->pub_kinds = 0;
            t->flags &= ~CC_MEMBER_PUBLISHING;
        }
        CC_INFO("control", "lesson %s: floor %s %s%s", l->code, rq->flag ? "given to" : "taken from",
                t->id_str, rq->flag && rq->teacher_only ? " (camera to the teacher only)" : "");
        ctl_send_json(c, t->session, cc_proto_build_floor(rq->flag, rq->flag && rq->teacher_only));
        ctl_send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        ctl_broadcast_members(c, l);
        ctl_broadcast_streams(c, l);
        return;
    }
    case CC_PROTO_MUTE: {
        if (!(t = target_of(c, s, l, rq)))
            return;
        unsigned f = rq->flag ? (t->flags | CC_MEMBER_MUTED) : (t->flags & ~CC_MEMBER_MUTED);
        cc_lesson_set_flags(l, t, f);
        cc_sfu_set_sender(ctl_room_w(c, l->room_id), l->room_id, ctl_owner_of(t), rq->flag,
                          !!(t->flags & CC_MEMBER_TEACHER_ONLY));
        CC_INFO("control", "lesson %s: %s %s", l->code, t->id_str, rq->flag ? "muted" : "unmuted");
        ctl_send_json(c, t->session, cc_proto_build_muted(rq->flag));
        ctl_send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        ctl_broadcast_members(c, l);
        return;
    }
    case CC_PROTO_REMOVE:
    case CC_PROTO_REFUSE:
        if (!(t = target_of(c, s, l, rq)))
            return;
        if (t->role == CC_ROLE_TEACHER) {
            ctl_send_error(c, s->sid, "forbidden", "a teacher cannot be removed", ref, rq->id);
            return;
        }
        if (rq->type == CC_PROTO_REFUSE && !(t->flags & CC_MEMBER_WAITING)) {
            ctl_send_error(c, s->sid, "bad_state", "that member is not in the waiting room", ref,
                           rq->id);
            return;
        }
        CC_INFO("control", "lesson %s: %s %s", l->code, t->id_str,
                rq->type == CC_PROTO_REMOVE ? "removed" : "refused");
        ctl_send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        ctl_kick(c, l, t, rq->type == CC_PROTO_REMOVE ? cc_proto_build_removed(rq->reason)
                                                       : cc_proto_build_refused(rq->reason));
        return;
    case CC_PROTO_ADMIT:
        if (!(t = target_of(c, s, l, rq)))
            return;
        if (cc_lesson_admit(l, t) != 0) {
            ctl_send_error(c, s->sid, "bad_state", "that member is not in the waiting room", ref,
                           rq->id);
            return;
        }
        ctl_send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        CC_INFO("control", "lesson %s: %s admitted", l->code, t->id_str);
        ctl_on_joined(c, t->session, l, t, NULL);
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
        ctl_send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        ctl_broadcast_lesson(c, l);
        return;
    case CC_PROTO_LAST_N:
        l->last_n = rq->n;
        cc_sfu_set_last_n(ctl_room_w(c, l->room_id), l->room_id, rq->n);
        ctl_send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        ctl_broadcast_lesson(c, l);
        return;
    case CC_PROTO_CHAT: {
        if (m->role == CC_ROLE_STUDENT && !l->chat_students) {
            ctl_send_error(c, s->sid, "chat_off", "the teacher has turned chat off for students",
                           ref, rq->id);
            return;
        }
        if (!chat_allowed(s, now)) {
            ctl_send_error(c, s->sid, "chat_too_fast", "too many messages: wait a moment", ref,
                           rq->id);
            return;
        }
        const cc_chat_msg *cm = NULL;
        if (cc_lesson_chat_add(l, m, rq->text, cc_clock_wall_us() / 1000, &cm) != 0) {
            ctl_send_error(c, s->sid, "server_error", "out of memory", ref, rq->id);
            return;
        }
        cc_persist_chat(c->persist, l, cm);
        ctl_send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        char *j = cc_proto_build_chat(cm);
        ctl_broadcast(c, l, j, 0);
        free(j);
        return;
    }
    case CC_PROTO_INVITE_CREATE: {
        cc_invite *iv = NULL;
        int rc = cc_lesson_invite_create(l, rq->name, &iv);
        if (rc != 0) {
            ctl_send_error(c, s->sid, rc == CC_ELIMIT ? "server_busy" : "server_error",
                           rc == CC_ELIMIT ? "a lesson has at most 20 invites" : "could not make an invite",
                           ref, rq->id);
            return;
        }
        ctl_send_json(c, s->sid, cc_proto_build_invite(iv, rq->id));
        ctl_send_invites(c, l);
        return;
    }
    case CC_PROTO_INVITE_REVOKE:
        if (cc_lesson_invite_revoke(l, rq->invite) != 0) {
            ctl_send_error(c, s->sid, "bad_request", "no such invite (or it was revoked already)",
                           ref, rq->id);
            return;
        }
        ctl_send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        ctl_send_invites(c, l);
        return;
    default:
        ctl_send_error(c, s->sid, "unknown_type", "unknown message type", ref, rq->id);
        return;
    }
}
