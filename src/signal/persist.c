/* Lessons that outlive a restart: see include/classcast/persist.h and
 * docs/state.md. For each stored lesson this keeps a shadow of what the
 * store holds (the lesson row, each member's row and open attendance row,
 * the invites), so a sync writes only what differs: a speaker change or a
 * ping writes nothing. */
#include "classcast/persist.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"
#include "classcast/log.h"

/* What the store has of one member. */
typedef struct shadow_member {
    uint32_t id;
    int stored;             /* it has a row */
    int over;               /* past the cap: never recorded */
    int present;            /* connected (and admitted) at the last sync */
    unsigned kept;          /* its CC_MEMBER_KEPT flags as written */
    uint32_t hand;          /* hand_seq as written */
    int has_rejoin;
    unsigned char rejoin_hash[32];
    unsigned conn;          /* CC_MEMBER_WATCHING | CC_MEMBER_WEAK_LINK */
    cc_store_attend att;    /* its open attendance row (row 0: none) */
    unsigned gen;           /* the sync that last saw it connected */
} shadow_member;

/* What the store has of one lesson. */
typedef struct shadow {
    cc_store_lesson row;
    GHashTable *members;    /* member id -> shadow_member */
    int n_invites;
    int inv_uses[CC_LESSON_MAX_INVITES];
    int inv_revoked[CC_LESSON_MAX_INVITES];
    int n_members_db, n_attend_db;
    unsigned gen;
    int dirty;              /* a write failed: rewrite the rows next time */
} shadow;

struct cc_persist {
    cc_store *store;
    GHashTable *lessons;    /* room id -> shadow */
    int64_t next_heartbeat_ms;
    cc_persist_counters n;
};

#define CONN_BITS (CC_MEMBER_WATCHING | CC_MEMBER_WEAK_LINK)

/* Text between the lesson's and the store's buffers: both hold what the
 * protocol allows (64 or 120 code points); a longer one is cut. */
static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n > cap - 1)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = 0;
}

/* The lesson clock <-> Unix milliseconds, through one instant known on
 * both (now, now_ms). */
static int64_t wall_of(cc_time_us t, cc_time_us now, int64_t now_ms)
{
    return now_ms - (now - t) / CC_USEC_PER_MSEC;
}

static cc_time_us mono_of(int64_t ms, cc_time_us now, int64_t now_ms)
{
    return now - (now_ms - ms) * CC_USEC_PER_MSEC;
}

static void shadow_free(void *v)
{
    shadow *sh = v;
    if (sh->members)
        g_hash_table_destroy(sh->members);
    free(sh);
}

static shadow *shadow_new(void)
{
    shadow *sh = calloc(1, sizeof *sh);
    if (!sh)
        return NULL;
    sh->members = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, free);
    return sh;
}

int cc_persist_new(cc_persist **out, cc_store *store)
{
    cc_persist *p = calloc(1, sizeof *p);
    if (!p)
        return CC_ENOMEM;
    p->store = store;
    p->lessons = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, shadow_free);
    if (store && cc_store_set_server_mode(store) != 0)
        CC_WARN("persist", "could not set the database's server mode; going on");
    *out = p;
    return 0;
}

void cc_persist_free(cc_persist *p)
{
    if (!p)
        return;
    g_hash_table_destroy(p->lessons);
    free(p);
}

void cc_persist_get_counters(const cc_persist *p, cc_persist_counters *out)
{
    memset(out, 0, sizeof *out);
    if (p)
        *out = p->n;
}

/* ---- one transaction ---- */

static int begin(cc_persist *p)
{
    if (cc_store_begin(p->store) == 0)
        return 0;
    p->n.errors++;
    return CC_EIO;
}

/* Commit, or roll back if a statement failed (*err) or the commit does. */
static int finish(cc_persist *p, int err, const char *what)
{
    if (err == 0 && cc_store_commit(p->store) == 0) {
        p->n.writes++;
        return 0;
    }
    cc_store_rollback(p->store);
    p->n.errors++;
    CC_LOG_RL(CC_LOG_WARN, "persist", "%s: not written to the database (it is busy or "
              "failing); the lesson goes on", what);
    return CC_EIO;
}

/* ---- the lesson row ---- */

static void row_of(const cc_lesson *l, const cc_store_lesson *prev, cc_time_us now,
                   int64_t now_ms, cc_store_lesson *row)
{
    if (prev) {
        *row = *prev;
    } else {
        memset(row, 0, sizeof *row);
        copy_text(row->code, sizeof row->code, l->code);
        copy_text(row->title, sizeof row->title, l->title);
        copy_text(row->teacher_name, sizeof row->teacher_name, l->teacher_name);
        row->teacher_id = l->owner;
        memcpy(row->teacher_hash, l->teacher_hash, 32);
        memcpy(row->viewer_hash, l->viewer_hash, 32);
        row->created_ms = wall_of(l->created_at, now, now_ms);
    }
    row->kind = l->kind;
    row->locked = l->locked;
    row->waiting_room = l->waiting_room;
    row->last_n = l->last_n;
    row->chat_students = l->chat_students;
    row->state = l->state;
    if (!row->started_ms && l->state == CC_LESSON_LIVE)
        row->started_ms = now_ms;
    if (l->state == CC_LESSON_ENDED && !row->ended_ms)
        row->ended_ms = l->ended_at == CC_TIME_NEVER ? now_ms : wall_of(l->ended_at, now, now_ms);
    if (l->n_teachers > 0 || l->teacher_gone_at == CC_TIME_NEVER)
        row->teacher_gone_ms = 0;
    else if (!row->teacher_gone_ms)
        row->teacher_gone_ms = wall_of(l->teacher_gone_at, now, now_ms);
    row->heartbeat_ms = now_ms;
}

static int row_differs(const cc_store_lesson *a, const cc_store_lesson *b)
{
    return a->kind != b->kind || a->locked != b->locked || a->waiting_room != b->waiting_room ||
           a->last_n != b->last_n || a->chat_students != b->chat_students ||
           a->state != b->state || a->started_ms != b->started_ms ||
           a->ended_ms != b->ended_ms || a->teacher_gone_ms != b->teacher_gone_ms;
}

/* ---- members and attendance ---- */

typedef struct member_vals {
    cc_role role;
    const char *name;
    unsigned kept;
    uint32_t hand;
    int has_rejoin;
    const unsigned char *rejoin_hash;
    int invite;
    int64_t first_join_ms;
} member_vals;

static shadow_member *member_of(shadow *sh, uint32_t id, int create)
{
    shadow_member *sm = g_hash_table_lookup(sh->members, GUINT_TO_POINTER(id));
    if (sm || !create)
        return sm;
    sm = calloc(1, sizeof *sm);
    if (sm) {
        sm->id = id;
        g_hash_table_insert(sh->members, GUINT_TO_POINTER(id), sm);
    }
    return sm;
}

/* The member's row, if new or changed (or the shadow is dirty). */
static void member_write(cc_persist *p, shadow *sh, shadow_member *sm, const member_vals *v,
                         int *err)
{
    int fresh = !sm->stored;
    if (sm->over)
        return;
    if (fresh && sh->n_members_db >= CC_PERSIST_MAX_MEMBERS) {
        sm->over = 1;
        p->n.dropped++;
        CC_LOG_RL(CC_LOG_WARN, "persist", "lesson %s: %d members recorded, no more", sh->row.code,
                  CC_PERSIST_MAX_MEMBERS);
        return;
    }
    if (!fresh && !sh->dirty && sm->kept == v->kept && sm->hand == v->hand &&
        sm->has_rejoin == v->has_rejoin &&
        (!v->has_rejoin || memcmp(sm->rejoin_hash, v->rejoin_hash, 32) == 0))
        return;
    cc_store_member row = {.id = sm->id, .role = v->role, .has_rejoin = v->has_rejoin,
                           .invite = v->invite, .flags = v->kept, .hand = v->hand,
                           .first_join_ms = v->first_join_ms};
    copy_text(row.name, sizeof row.name, v->name);
    if (v->has_rejoin)
        memcpy(row.rejoin_hash, v->rejoin_hash, 32);
    if (cc_store_member_put(p->store, sh->row.id, &row) != 0) {
        *err = CC_EIO;
        return;
    }
    if (fresh)
        sh->n_members_db++;
    sm->stored = 1;
    sm->kept = v->kept;
    sm->hand = v->hand;
    sm->has_rejoin = v->has_rejoin;
    if (v->has_rejoin)
        memcpy(sm->rejoin_hash, v->rejoin_hash, 32);
    else
        memset(sm->rejoin_hash, 0, 32);
}

/* A connection begins: its attendance row. */
static void attend_open(cc_persist *p, shadow *sh, shadow_member *sm, int64_t now_ms, int *err)
{
    memset(&sm->att, 0, sizeof sm->att);
    sm->conn = 0;
    sm->present = 1;
    if (sh->n_attend_db >= CC_PERSIST_MAX_ATTENDANCE) {
        p->n.dropped++;
        CC_LOG_RL(CC_LOG_WARN, "persist", "lesson %s: %d connections recorded, no more",
                  sh->row.code, CC_PERSIST_MAX_ATTENDANCE);
        return;
    }
    if (cc_store_attend_open(p->store, sh->row.id, sm->id, now_ms, &sm->att.row) != 0) {
        *err = CC_EIO;
        sm->att.row = 0;
        return;
    }
    sh->n_attend_db++;
}

/* Watching and weak-link stretches: a stretch that begins is kept as its
 * start, one that ends is added to the total. */
static void attend_flags(cc_persist *p, shadow_member *sm, unsigned flags, int64_t now_ms,
                         int *err)
{
    unsigned conn = flags & CONN_BITS;
    if (!sm->att.row || conn == sm->conn)
        return;
    cc_store_attend *a = &sm->att;
    static const unsigned bits[2] = {CC_MEMBER_WATCHING, CC_MEMBER_WEAK_LINK};
    int64_t *total[2] = {&a->watching_ms, &a->weak_ms};
    int64_t *since[2] = {&a->watch_since_ms, &a->weak_since_ms};
    for (int k = 0; k < 2; k++) {
        int was = (sm->conn & bits[k]) != 0, is = (conn & bits[k]) != 0;
        if (is && !was) {
            *since[k] = now_ms;
        } else if (was && !is) {
            if (*since[k] > 0 && now_ms > *since[k])
                *total[k] += now_ms - *since[k];
            *since[k] = 0;
        }
    }
    sm->conn = conn;
    if (cc_store_attend_update(p->store, a) != 0)
        *err = CC_EIO;
}

static void attend_close(cc_persist *p, shadow_member *sm, int64_t at_ms, int *err)
{
    if (sm->att.row && cc_store_attend_close(p->store, &sm->att, at_ms) != 0)
        *err = CC_EIO;
    memset(&sm->att, 0, sizeof sm->att);
    sm->conn = 0;
}

static void sync_present(cc_persist *p, shadow *sh, cc_lesson *l, cc_time_us now,
                         int64_t now_ms, int *err)
{
    int ended = l->state == CC_LESSON_ENDED;
    for (int i = 0; i < l->n_members; i++) {
        cc_member *m = l->members[i];
        /* The waiting room is not the lesson: recorded once let in. */
        if (m->flags & CC_MEMBER_WAITING)
            continue;
        shadow_member *sm = member_of(sh, m->id, 1);
        if (!sm) {
            *err = CC_ENOMEM;
            return;
        }
        member_vals v = {.role = m->role, .name = m->name, .kept = m->flags & CC_MEMBER_KEPT,
                         .hand = m->hand_seq, .has_rejoin = m->has_rejoin,
                         .rejoin_hash = m->rejoin_hash, .invite = m->invite,
                         .first_join_ms = wall_of(m->joined_at, now, now_ms)};
        member_write(p, sh, sm, &v, err);
        sm->gen = sh->gen;
        if (!sm->stored)
            continue;
        if (!sm->present && !ended)
            attend_open(p, sh, sm, now_ms, err);
        attend_flags(p, sm, m->flags, now_ms, err);
    }
}

/* Members that left since the last sync, and changes to those away (a
 * removed member's secret revoked). */
static void sync_departed(cc_persist *p, shadow *sh, cc_lesson *l, int64_t now_ms, int *err)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, sh->members);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        shadow_member *sm = v;
        if (sm->present && sm->gen != sh->gen) {
            attend_close(p, sm, now_ms, err);
            sm->present = 0;
        }
    }
    for (int i = 0; i < l->n_departed; i++) {
        const cc_departed *d = &l->departed[i];
        shadow_member *sm = member_of(sh, d->id, 0);
        if (!sm || !sm->stored || sm->present)
            continue;
        member_vals mv = {.role = d->role, .name = d->name, .kept = d->flags,
                          .hand = d->hand_seq, .has_rejoin = d->has_rejoin,
                          .rejoin_hash = d->rejoin_hash, .invite = d->invite};
        /* first_join_ms is kept by the store on an update. */
        member_write(p, sh, sm, &mv, err);
    }
}

static void sync_invites(cc_persist *p, shadow *sh, const cc_lesson *l, int *err)
{
    for (int i = 0; i < l->n_invites && i < CC_LESSON_MAX_INVITES; i++) {
        const cc_invite *iv = &l->invites[i];
        if (!sh->dirty && i < sh->n_invites && sh->inv_uses[i] == iv->uses &&
            sh->inv_revoked[i] == iv->revoked)
            continue;
        cc_store_invite row = {.idx = i, .uses = iv->uses, .revoked = iv->revoked};
        copy_text(row.id, sizeof row.id, iv->id);
        copy_text(row.label, sizeof row.label, iv->label);
        copy_text(row.token, sizeof row.token, iv->token);
        if (cc_store_invite_put(p->store, sh->row.id, &row) != 0) {
            *err = CC_EIO;
            return;
        }
        sh->inv_uses[i] = iv->uses;
        sh->inv_revoked[i] = iv->revoked;
    }
    sh->n_invites = l->n_invites;
}

/* The lesson ended: its open rows close at its end, its chat goes (as it
 * does in memory). */
static void sync_end(cc_persist *p, shadow *sh, int *err)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, sh->members);
    while (g_hash_table_iter_next(&it, &k, &v))
        attend_close(p, v, sh->row.ended_ms, err);
    if (cc_store_chat_clear(p->store, sh->row.id) != 0)
        *err = CC_EIO;
}

/* The shadow of a lesson seen for the first time: its row inserted. */
static shadow *lesson_add(cc_persist *p, cc_lesson *l, cc_time_us now, int64_t now_ms)
{
    shadow *sh = shadow_new();
    if (!sh)
        return NULL;
    row_of(l, NULL, now, now_ms, &sh->row);
    if (cc_store_lesson_add(p->store, &sh->row) != 0) {
        shadow_free(sh);
        return NULL;
    }
    g_hash_table_insert(p->lessons, GUINT_TO_POINTER(l->room_id), sh);
    return sh;
}

void cc_persist_sync(cc_persist *p, cc_lesson *l, cc_time_us now, int64_t now_ms)
{
    /* The demo lesson comes from the command line at every start. */
    if (!p || !p->store || !l || l->pinned)
        return;
    shadow *sh = g_hash_table_lookup(p->lessons, GUINT_TO_POINTER(l->room_id));
    if (!sh && l->state == CC_LESSON_ENDED)
        return; /* never stored (a failed first write): nothing to end */
    if (begin(p) != 0)
        return;
    int err = 0, created = 0;
    if (!sh) {
        if (!(sh = lesson_add(p, l, now, now_ms))) {
            finish(p, CC_EIO, "a new lesson");
            return;
        }
        created = 1;
    } else {
        cc_store_lesson row;
        row_of(l, &sh->row, now, now_ms, &row);
        int ending = row.state == CC_LESSON_ENDED && sh->row.state != CC_LESSON_ENDED;
        if (sh->dirty || row_differs(&row, &sh->row)) {
            if (cc_store_lesson_update(p->store, &row) != 0)
                err = CC_EIO;
            sh->row = row;
        }
        if (ending)
            sync_end(p, sh, &err);
    }
    sh->gen++;
    sync_present(p, sh, l, now, now_ms, &err);
    sync_departed(p, sh, l, now_ms, &err);
    sync_invites(p, sh, l, &err);
    int rc = finish(p, err, l->code);
    if (rc != 0 && created) {
        /* The row was rolled back with the rest: try again next time. */
        g_hash_table_remove(p->lessons, GUINT_TO_POINTER(l->room_id));
        return;
    }
    sh->dirty = rc != 0;
}

void cc_persist_chat(cc_persist *p, cc_lesson *l, const cc_chat_msg *m)
{
    if (!p || !p->store || !l || !m || l->pinned)
        return;
    shadow *sh = g_hash_table_lookup(p->lessons, GUINT_TO_POINTER(l->room_id));
    if (!sh || begin(p) != 0)
        return;
    cc_store_chat row = {.role = m->role, .text = m->text, .at_ms = m->at_ms};
    copy_text(row.member, sizeof row.member, m->from);
    copy_text(row.name, sizeof row.name, m->name);
    finish(p, cc_store_chat_add(p->store, sh->row.id, &row, CC_LESSON_CHAT_HISTORY),
           "a chat message");
}

void cc_persist_forget(cc_persist *p, cc_lesson *l)
{
    if (p && l)
        g_hash_table_remove(p->lessons, GUINT_TO_POINTER(l->room_id));
}

void cc_persist_tick(cc_persist *p, int64_t now_ms)
{
    if (!p || !p->store || now_ms < p->next_heartbeat_ms)
        return;
    p->next_heartbeat_ms = now_ms + CC_PERSIST_HEARTBEAT_MS;
    if (g_hash_table_size(p->lessons) == 0)
        return;
    if (cc_store_lesson_heartbeat(p->store, now_ms) == 0) {
        p->n.writes++;
    } else {
        p->n.errors++;
        CC_LOG_RL(CC_LOG_WARN, "persist", "heartbeat not written (the database is busy)");
    }
}

void cc_persist_shutdown(cc_persist *p, int64_t now_ms)
{
    if (!p || !p->store || g_hash_table_size(p->lessons) == 0 || begin(p) != 0)
        return;
    int err = cc_store_lesson_heartbeat(p->store, now_ms);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, p->lessons);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        shadow *sh = v;
        if (sh->row.state != CC_LESSON_ENDED && cc_store_attend_close_lesson(p->store, sh->row.id,
                                                                             now_ms) < 0)
            err = CC_EIO;
    }
    if (finish(p, err, "the attendance at shutdown") == 0)
        CC_INFO("persist", "lessons saved: %u", g_hash_table_size(p->lessons));
}

/* ---- restoring ---- */

/* A restored lesson's absence clock (lesson clock) and, if its teacher
 * stayed away longer than the rules allow while the server was down, the
 * end it would have had (*ended_ms, else 0). */
static cc_time_us absence_of(const cc_store_lesson *row, const cc_lessons_config *cfg,
                             cc_time_us now, int64_t now_ms, int64_t *ended_ms)
{
    /* A teacher connected at the crash was cut off by it: away since. */
    int64_t away_ms = row->teacher_gone_ms ? row->teacher_gone_ms : row->heartbeat_ms;
    cc_time_us grace = row->state == CC_LESSON_WAITING ? cfg->waiting_grace : cfg->live_grace;
    int64_t deadline_ms = away_ms + grace / CC_USEC_PER_MSEC;
    *ended_ms = 0;
    if (now_ms > deadline_ms) {
        *ended_ms = deadline_ms > row->heartbeat_ms ? deadline_ms : row->heartbeat_ms;
        return mono_of(away_ms, now, now_ms);
    }
    /* Still within the rules: at least a minute from now to come back. */
    cc_time_us gone = mono_of(away_ms, now, now_ms);
    cc_time_us floor = now - grace + CC_PERSIST_RESTART_GRACE_US;
    return gone < floor ? floor : gone;
}

static void restore_members(cc_persist *p, cc_lessons *r, cc_lesson *l, shadow *sh,
                            cc_time_us now, int64_t now_ms)
{
    cc_store_member *ms = NULL;
    int n = 0;
    if (cc_store_member_load(p->store, sh->row.id, CC_LESSON_MAX_DEPARTED, &ms, &n) != 0)
        return;
    int64_t left_ms = sh->row.ended_ms ? sh->row.ended_ms : sh->row.heartbeat_ms;
    for (int i = 0; i < n; i++) {
        cc_departed d = {0};
        d.id = ms[i].id;
        copy_text(d.name, sizeof d.name, ms[i].name);
        d.role = ms[i].role == CC_ROLE_SCHOOL ? CC_ROLE_SCHOOL : CC_ROLE_STUDENT;
        d.joined_at = mono_of(ms[i].first_join_ms, now, now_ms);
        d.left_at = mono_of(left_ms, now, now_ms);
        d.flags = ms[i].flags & CC_MEMBER_KEPT;
        d.hand_seq = ms[i].hand;
        d.invite = ms[i].invite >= 0 && ms[i].invite < CC_LESSON_MAX_INVITES ? ms[i].invite : -1;
        d.has_rejoin = 1;
        memcpy(d.rejoin_hash, ms[i].rejoin_hash, 32);
        if (ms[i].role == CC_ROLE_TEACHER || cc_lesson_restore_departed(r, l, &d) != 0)
            continue;
        shadow_member *sm = member_of(sh, d.id, 1);
        if (!sm)
            break;
        sm->stored = 1;
        sm->kept = d.flags;
        sm->hand = d.hand_seq;
        sm->has_rejoin = 1;
        memcpy(sm->rejoin_hash, d.rejoin_hash, 32);
    }
    free(ms);
}

static void restore_extras(cc_persist *p, cc_lesson *l, shadow *sh)
{
    cc_store_invite *ivs = NULL;
    int n = 0;
    if (cc_store_invite_load(p->store, sh->row.id, &ivs, &n) == 0) {
        for (int i = 0; i < n && ivs[i].idx == l->n_invites; i++) {
            cc_invite iv = {.uses = ivs[i].uses, .revoked = ivs[i].revoked};
            copy_text(iv.id, sizeof iv.id, ivs[i].id);
            copy_text(iv.label, sizeof iv.label, ivs[i].label);
            copy_text(iv.token, sizeof iv.token, ivs[i].token);
            if (cc_lesson_restore_invite(l, &iv) != 0)
                break;
            sh->inv_uses[i] = iv.uses;
            sh->inv_revoked[i] = iv.revoked;
            sh->n_invites = l->n_invites;
        }
        free(ivs);
    }
    if (l->state == CC_LESSON_ENDED)
        return; /* an ended lesson keeps no chat */
    cc_store_chat *cm = NULL;
    if (cc_store_chat_load(p->store, sh->row.id, &cm, &n) != 0)
        return;
    for (int i = 0; i < n; i++) {
        cc_chat_msg msg = {.role = cm[i].role, .text = cm[i].text, .at_ms = cm[i].at_ms};
        copy_text(msg.from, sizeof msg.from, cm[i].member);
        copy_text(msg.name, sizeof msg.name, cm[i].name);
        cc_lesson_chat_restore(l, &msg);
    }
    cc_store_chat_free(cm, n);
}

/* One stored lesson back in r: 0, or a negative code (not restored). */
static int restore_one(cc_persist *p, cc_lessons *r, const cc_lessons_config *cfg,
                       cc_store_lesson *row, cc_time_us now, int64_t now_ms)
{
    cc_time_us gone = mono_of(row->teacher_gone_ms ? row->teacher_gone_ms : row->ended_ms,
                              now, now_ms);
    if (row->state != CC_LESSON_ENDED) {
        /* The crash (or stop) cut every connection at the last heartbeat. */
        if (cc_store_attend_close_lesson(p->store, row->id, row->heartbeat_ms) < 0)
            return CC_EIO;
        int64_t ended_ms = 0;
        gone = absence_of(row, cfg, now, now_ms, &ended_ms);
        if (ended_ms) {
            row->state = CC_LESSON_ENDED;
            row->ended_ms = ended_ms;
            if (cc_store_lesson_update(p->store, row) != 0 ||
                cc_store_chat_clear(p->store, row->id) != 0)
                return CC_EIO;
            CC_INFO("persist", "lesson %s ended while the server was down: its teacher was "
                    "away longer than the rules allow", row->code);
            if (ended_ms + cfg->ended_keep / CC_USEC_PER_MSEC < now_ms)
                return CC_ENOTFOUND;
        }
    }
    cc_lesson_saved s = {
        .code = row->code, .title = row->title, .teacher_name = row->teacher_name,
        .kind = row->kind == CC_LESSON_KIND_SEMINAR ? CC_LESSON_KIND_SEMINAR
                                                    : CC_LESSON_KIND_LESSON,
        .state = row->state, .owner = row->teacher_id,
        .teacher_hash = row->teacher_hash, .viewer_hash = row->viewer_hash,
        .locked = row->locked, .waiting_room = row->waiting_room, .last_n = row->last_n,
        .chat_students = row->chat_students,
        .created_at = mono_of(row->created_ms, now, now_ms),
        .teacher_gone_at = gone,
        .ended_at = row->state == CC_LESSON_ENDED ? mono_of(row->ended_ms, now, now_ms)
                                                  : CC_TIME_NEVER,
    };
    cc_lesson *l;
    int rc = cc_lessons_restore(r, &s, &l);
    if (rc != 0) {
        CC_WARN("persist", "lesson %s not restored: %s", row->code, cc_strerror(rc));
        return rc;
    }
    shadow *sh = shadow_new();
    if (!sh)
        return CC_ENOMEM;
    sh->row = *row;
    sh->n_members_db = cc_store_member_count(p->store, row->id);
    sh->n_attend_db = cc_store_attend_count(p->store, row->id);
    g_hash_table_insert(p->lessons, GUINT_TO_POINTER(l->room_id), sh);
    restore_members(p, r, l, sh, now, now_ms);
    restore_extras(p, l, sh);
    CC_INFO("persist", "lesson %s restored (%s, room %u): %d members may come back, %d chat "
            "messages, %d invites", l->code, cc_lesson_state_name(l->state), l->room_id,
            l->n_departed, l->chat_len, l->n_invites);
    return 0;
}

int cc_persist_restore(cc_persist *p, cc_lessons *r, const cc_lessons_config *cfg,
                       cc_time_us now, int64_t now_ms)
{
    if (!p || !p->store)
        return 0;
    cc_store_lesson *rows = NULL;
    int n = 0;
    int rc = cc_store_lesson_load(p->store, now_ms - cfg->ended_keep / CC_USEC_PER_MSEC, &rows,
                                  &n);
    if (rc != 0) {
        CC_WARN("persist", "cannot read the lessons of the last run: %s", cc_strerror(rc));
        return rc;
    }
    if (n == 0)
        return 0;
    if (begin(p) != 0) {
        free(rows);
        return CC_EIO;
    }
    int restored = 0, err = 0;
    for (int i = 0; i < n; i++) {
        rc = restore_one(p, r, cfg, &rows[i], now, now_ms);
        if (rc == 0)
            restored++;
        else if (rc == CC_EIO)
            err = rc;
    }
    free(rows);
    finish(p, err, "restoring lessons");
    p->n.restored = (uint64_t)restored;
    p->next_heartbeat_ms = 0; /* a fresh heartbeat at the first tick */
    CC_INFO("persist", "%d lessons restored from the database", restored);
    return restored;
}
