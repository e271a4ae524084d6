/* Unit tests for src/signal/persist.c (docs/state.md): a lesson registry
 * written to a real SQLite store in a temporary directory, then "a
 * restart": the registry and the persister are thrown away (nothing
 * flushed: a crash), and new ones load what the store has. Both clocks
 * are manual: T (the registry's monotonic clock) and W (Unix ms) move
 * together, and a restart moves W on by the downtime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cc_test.h"
#include "classcast/err.h"
#include "classcast/lesson.h"
#include "classcast/persist.h"
#include "classcast/store.h"

#define SEC CC_USEC_PER_SEC
#define T0 ((cc_time_us)5000 * SEC)
#define W0 ((int64_t)1767225600000) /* 2026-01-01T00:00:00Z */
#define OWNER 7

static char g_dir[64];

/* One run of the server: a registry, its persister, its store. */
typedef struct run {
    cc_store *store;
    cc_lessons *lessons;
    cc_persist *p;
    cc_time_us t;   /* this run's clock */
    int64_t w;      /* the same instant, Unix ms */
} run;

static int run_start(run *r, int64_t w)
{
    char err[256];
    memset(r, 0, sizeof *r);
    if (cc_store_open(&r->store, g_dir, err, sizeof err) != 0) {
        fprintf(stderr, "open: %s\n", err);
        return -1;
    }
    r->lessons = cc_lessons_new(NULL);
    r->t = T0; /* a new process: its monotonic clock starts anywhere */
    r->w = w;
    return cc_persist_new(&r->p, r->store);
}

/* The process dies: nothing more is written. */
static void run_crash(run *r)
{
    cc_persist_free(r->p);
    cc_lessons_free(r->lessons);
    cc_store_close(r->store);
    memset(r, 0, sizeof *r);
}

static void advance(run *r, int secs)
{
    r->t += secs * SEC;
    r->w += secs * 1000;
}

static void sync_l(run *r, cc_lesson *l) { cc_persist_sync(r->p, l, r->t, r->w); }

static int restore(run *r)
{
    cc_lessons_config cfg;
    cc_lessons_config_default(&cfg);
    return cc_persist_restore(r->p, r->lessons, &cfg, r->t, r->w);
}

static void test_crash_and_restore(void)
{
    run a;
    if (run_start(&a, W0) != 0)
        return;
    cc_lesson *l;
    cc_member *t, *an, *binh, *sch;
    CC_CHECK_EQ(cc_lessons_create_owned(a.lessons, OWNER, "Cô Hạnh", "Toán 7A", 1, a.t, &l, &t), 0);
    cc_lesson_set_kind(l, CC_LESSON_KIND_SEMINAR);
    l->waiting_room = 0;
    sync_l(&a, l);
    char code[CC_PROTO_CODE_CAP], token[CC_LESSON_TOKEN_LEN + 1], viewer[CC_LESSON_TOKEN_LEN + 1];
    snprintf(code, sizeof code, "%s", l->code);
    memcpy(token, l->teacher_token, sizeof token);
    memcpy(viewer, l->viewer_token, sizeof viewer);

    /* An joins and watches from +2 s; weak from +3 s to +5 s. */
    advance(&a, 1);
    CC_CHECK_EQ(cc_lessons_join(a.lessons, code, "Lò Thị Hương", 2, a.t, NULL, &an), 0);
    uint32_t an_id = an->id;
    char an_secret[CC_LESSON_TOKEN_LEN + 1];
    memcpy(an_secret, an->rejoin, sizeof an_secret);
    sync_l(&a, l);
    advance(&a, 1);
    cc_lesson_set_flags(l, an, an->flags | CC_MEMBER_WATCHING);
    sync_l(&a, l);
    advance(&a, 1);
    cc_lesson_set_flags(l, an, an->flags | CC_MEMBER_WEAK_LINK);
    sync_l(&a, l);
    advance(&a, 2);
    cc_lesson_set_flags(l, an, an->flags & ~CC_MEMBER_WEAK_LINK);
    sync_l(&a, l);
    /* Bình joins, raises a hand, is muted; a school joins by an invite. */
    CC_CHECK_EQ(cc_lessons_join(a.lessons, code, "Bình", 3, a.t, NULL, &binh), 0);
    uint32_t binh_id = binh->id;
    char binh_secret[CC_LESSON_TOKEN_LEN + 1];
    memcpy(binh_secret, binh->rejoin, sizeof binh_secret);
    cc_lesson_hand(l, binh, 1);
    cc_lesson_set_flags(l, binh, binh->flags | CC_MEMBER_MUTED);
    cc_invite *iv;
    CC_CHECK_EQ(cc_lesson_invite_create(l, "THCS Chiềng Sinh", &iv), 0);
    char invite[CC_LESSON_TOKEN_LEN + 1];
    memcpy(invite, iv->token, sizeof invite);
    CC_CHECK_EQ(cc_lessons_join_school(a.lessons, code, invite, "THCS Chiềng Sinh", 4, a.t, NULL,
                                       &sch), 0);
    cc_lesson_start(l, a.t);
    sync_l(&a, l);
    const cc_chat_msg *cm;
    CC_CHECK_EQ(cc_lesson_chat_add(l, binh, "Em chào cô ạ", a.w, &cm), 0);
    cc_persist_chat(a.p, l, cm);
    /* The school leaves; the heartbeat at +7 s; the crash at +9 s. */
    advance(&a, 1);
    cc_lesson_leave(l, sch, a.t);
    sync_l(&a, l);
    advance(&a, 1);
    cc_persist_tick(a.p, a.w);
    int64_t heartbeat = a.w;
    advance(&a, 2);
    cc_persist_counters n;
    cc_persist_get_counters(a.p, &n);
    CC_CHECK_EQ(n.errors, 0);
    CC_CHECK(n.writes > 5);
    int64_t crash_w = a.w;
    run_crash(&a);

    /* Down 20 s. */
    run b;
    if (run_start(&b, crash_w + 20000) != 0)
        return;
    CC_CHECK_EQ(restore(&b), 1);
    l = cc_lessons_find(b.lessons, code);
    CC_CHECK(l != NULL);
    if (!l)
        goto out;
    CC_CHECK_EQ(l->state, CC_LESSON_LIVE);
    CC_CHECK_EQ(l->kind, CC_LESSON_KIND_SEMINAR);
    CC_CHECK_EQ(l->owner, OWNER);
    CC_CHECK(strcmp(l->title, "Toán 7A") == 0);
    CC_CHECK(cc_lesson_check_teacher(l, token));
    CC_CHECK(cc_lesson_check_viewer(l, viewer));
    CC_CHECK_EQ(l->n_members, 0);
    CC_CHECK_EQ(l->n_departed, 3);
    CC_CHECK_EQ(l->chat_len, 1);
    CC_CHECK(strcmp(cc_lesson_chat_at(l, 0)->text, "Em chào cô ạ") == 0);
    CC_CHECK_EQ(l->n_invites, 1);
    CC_CHECK_EQ(l->invites[0].uses, 1);
    CC_CHECK(strcmp(l->invites[0].token, invite) == 0);

    /* What the store says: An's connection closed at the last heartbeat,
     * 5 s watching (+2 .. +7), 2 s of them weak; the teacher's too. */
    cc_store_attendance *rows = NULL;
    int nrows = 0;
    CC_CHECK_EQ(cc_store_attendance_list(b.store, OWNER, code, NULL, &rows, &nrows), 0);
    CC_CHECK_EQ(nrows, 4);
    for (int i = 0; i < nrows; i++) {
        if (rows[i].role == 0)
            CC_CHECK_EQ(rows[i].left_at, heartbeat / 1000);
        if (strcmp(rows[i].name, "Lò Thị Hương") == 0) {
            CC_CHECK_EQ(rows[i].joined_at, (W0 + 1000) / 1000);
            CC_CHECK_EQ(rows[i].left_at, heartbeat / 1000);
            CC_CHECK_EQ(rows[i].watching_s, 5);
            CC_CHECK_EQ(rows[i].weak_s, 2);
        }
        if (rows[i].role == 2) /* the school left before the crash */
            CC_CHECK_EQ(rows[i].left_at, (W0 + 6000) / 1000);
    }
    free(rows);

    /* The teacher resumes with the old token; Bình comes back as itself
     * (its hand, muted); An too; a wrong secret joins as new. */
    cc_member *m;
    CC_CHECK_EQ(cc_lessons_resume(b.lessons, code, token, 1, b.t, NULL, &t), 0);
    CC_CHECK_EQ(cc_lessons_rejoin(b.lessons, code, binh_secret, 3, b.t, NULL, &m, NULL), 0);
    CC_CHECK_EQ(m->id, binh_id);
    CC_CHECK_EQ(m->hand, 1);
    CC_CHECK(m->flags & CC_MEMBER_MUTED);
    CC_CHECK_EQ(cc_lessons_rejoin(b.lessons, code, an_secret, 2, b.t, NULL, &an, NULL), 0);
    CC_CHECK_EQ(an->id, an_id);
    CC_CHECK(strcmp(an->name, "Lò Thị Hương") == 0);
    CC_CHECK_EQ(cc_lessons_rejoin(b.lessons, code, token, 5, b.t, NULL, &m, NULL), CC_EAUTH);
    CC_CHECK(t->id > binh_id && t->id > an_id);
    sync_l(&b, l);
    CC_CHECK_EQ(cc_store_attendance_list(b.store, OWNER, code, NULL, &rows, &nrows), 0);
    CC_CHECK_EQ(nrows, 7);
    int open = 0;
    for (int i = 0; i < nrows; i++)
        open += rows[i].left_at == 0;
    CC_CHECK_EQ(open, 3);
    free(rows);

    /* A clean stop: the open rows close at its time. */
    advance(&b, 30);
    cc_persist_shutdown(b.p, b.w);
    CC_CHECK_EQ(cc_store_attendance_list(b.store, OWNER, code, NULL, &rows, &nrows), 0);
    for (int i = 0; i < nrows; i++)
        CC_CHECK(rows[i].left_at != 0);
    free(rows);
    /* After the stop, the secrets just made still bring them back. */
    crash_w = b.w;
    char an_secret2[CC_LESSON_TOKEN_LEN + 1];
    memcpy(an_secret2, an->rejoin, sizeof an_secret2);
    run_crash(&b);
    if (run_start(&b, crash_w + 2000) != 0)
        return;
    CC_CHECK_EQ(restore(&b), 1);
    CC_CHECK_EQ(cc_lessons_rejoin(b.lessons, code, an_secret2, 2, b.t, NULL, &m, NULL), 0);
    CC_CHECK_EQ(m->id, an_id);
    /* The old secret was spent by the first return. */
    CC_CHECK_EQ(cc_lessons_rejoin(b.lessons, code, an_secret, 9, b.t, NULL, &m, NULL), CC_EAUTH);
out:
    run_crash(&b);
}

/* The absence rules across a restart: the time the server was down counts,
 * but a lesson still within them gets at least a minute. */
static void test_absence(void)
{
    run a;
    if (run_start(&a, W0 + 3600000) != 0)
        return;
    cc_lesson *wl, *ll, *gone;
    cc_member *t1, *t2, *t3;
    CC_CHECK_EQ(cc_lessons_create_owned(a.lessons, OWNER, "A", "waiting", 1, a.t, &wl, &t1), 0);
    CC_CHECK_EQ(cc_lessons_create_owned(a.lessons, OWNER, "B", "live", 2, a.t, &ll, &t2), 0);
    CC_CHECK_EQ(cc_lessons_create_owned(a.lessons, OWNER, "C", "ended", 3, a.t, &gone, &t3), 0);
    cc_lesson_start(ll, a.t);
    char wcode[CC_PROTO_CODE_CAP], lcode[CC_PROTO_CODE_CAP], gcode[CC_PROTO_CODE_CAP];
    snprintf(wcode, sizeof wcode, "%s", wl->code);
    snprintf(lcode, sizeof lcode, "%s", ll->code);
    snprintf(gcode, sizeof gcode, "%s", gone->code);
    sync_l(&a, wl);
    sync_l(&a, ll);
    sync_l(&a, gone);
    /* The live lesson's teacher left 20 minutes before the crash. */
    cc_lesson_leave(ll, t2, a.t);
    sync_l(&a, ll);
    advance(&a, 20 * 60);
    /* The third ended just before the crash. */
    cc_lesson_end(gone, a.t);
    sync_l(&a, gone);
    cc_persist_tick(a.p, a.w);
    int64_t crash_w = a.w;
    run_crash(&a);

    /* Down 50 s: the waiting lesson (its teacher cut off by the crash)
     * has 10 s of its 60 left by the rules, so it gets the minute; the
     * live one had 10 of its 30 minutes left, minus the 50 s. */
    run b;
    if (run_start(&b, crash_w + 50000) != 0)
        return;
    CC_CHECK_EQ(restore(&b), 3);
    wl = cc_lessons_find(b.lessons, wcode);
    ll = cc_lessons_find(b.lessons, lcode);
    gone = cc_lessons_find(b.lessons, gcode);
    CC_CHECK(wl && ll && gone);
    if (!wl || !ll || !gone) {
        run_crash(&b);
        return;
    }
    CC_CHECK_EQ(wl->state, CC_LESSON_WAITING);
    CC_CHECK_EQ(ll->state, CC_LESSON_LIVE);
    CC_CHECK_EQ(gone->state, CC_LESSON_ENDED); /* kept to answer lesson_ended */
    CC_CHECK_EQ(cc_lessons_join(b.lessons, gcode, "An", 9, b.t, NULL, NULL), CC_ECLOSED);
    advance(&b, 59);
    CC_CHECK_EQ(cc_lessons_tick(b.lessons, b.t, NULL, NULL), 0);
    advance(&b, 1);
    CC_CHECK_EQ(cc_lessons_tick(b.lessons, b.t, NULL, NULL), 1);
    CC_CHECK_EQ(wl->state, CC_LESSON_ENDED);
    CC_CHECK_EQ(ll->state, CC_LESSON_LIVE);
    sync_l(&b, wl);
    /* The live one: 10 min minus the 50 s down, after the restart. */
    advance(&b, 10 * 60 - 50 - 60 - 1);
    cc_lessons_tick(b.lessons, b.t, NULL, NULL);
    CC_CHECK_EQ(ll->state, CC_LESSON_LIVE);
    advance(&b, 1);
    cc_lessons_tick(b.lessons, b.t, NULL, NULL);
    CC_CHECK_EQ(ll->state, CC_LESSON_ENDED);
    sync_l(&b, ll);
    /* The third was forgotten meanwhile, 10 min after its end. */
    CC_CHECK(cc_lessons_find(b.lessons, gcode) == NULL);
    crash_w = b.w;
    run_crash(&b);
    /* Up again at once: the two that ended in this run come back ended
     * (to answer lesson_ended), the third has been ended too long. */
    if (run_start(&b, crash_w + 1000) != 0)
        return;
    CC_CHECK_EQ(restore(&b), 2);
    wl = cc_lessons_find(b.lessons, wcode);
    CC_CHECK(wl && wl->state == CC_LESSON_ENDED);
    run_crash(&b);

    /* Down long enough: a waiting lesson whose teacher has been gone over
     * a minute ends while the server is down, and once ended longer than
     * the ended keep (10 min), nothing is loaded at all. */
    run c;
    if (run_start(&c, W0) != 0)
        return;
    CC_CHECK_EQ(cc_lessons_create_owned(c.lessons, OWNER, "D", "w", 1, c.t, &wl, &t1), 0);
    snprintf(wcode, sizeof wcode, "%s", wl->code);
    sync_l(&c, wl);
    cc_persist_tick(c.p, c.w);
    crash_w = c.w;
    run_crash(&c);
    if (run_start(&c, crash_w + 61000) != 0)
        return;
    CC_CHECK(restore(&c) >= 1);
    wl = cc_lessons_find(c.lessons, wcode);
    CC_CHECK(wl && wl->state == CC_LESSON_ENDED);
    run_crash(&c);
    if (run_start(&c, crash_w + 61000 + 11 * 60 * 1000) != 0)
        return;
    restore(&c);
    CC_CHECK(cc_lessons_find(c.lessons, wcode) == NULL);
    run_crash(&c);
}

/* The demo lesson (pinned) is never written; a store that is not there
 * makes every call a no-op. */
static void test_pinned_and_none(void)
{
    run a;
    if (run_start(&a, W0) != 0)
        return;
    cc_lesson *l;
    CC_CHECK_EQ(cc_lessons_create_fixed(a.lessons, "demo", "T", "Demo", a.t, &l), 0);
    sync_l(&a, l);
    cc_persist_counters n;
    cc_persist_get_counters(a.p, &n);
    CC_CHECK_EQ(n.writes, 0);
    cc_store_lesson *rows = NULL;
    int nrows = -1;
    CC_CHECK_EQ(cc_store_lesson_load(a.store, 0, &rows, &nrows), 0);
    free(rows);
    int had = nrows;
    run_crash(&a);

    cc_persist *p = NULL;
    CC_CHECK_EQ(cc_persist_new(&p, NULL), 0);
    cc_lessons *r = cc_lessons_new(NULL);
    cc_member *t;
    CC_CHECK_EQ(cc_lessons_create(r, "T", "x", 1, T0, &l, &t), 0);
    cc_persist_sync(p, l, T0, W0);
    cc_persist_tick(p, W0);
    cc_lessons_config cfg;
    cc_lessons_config_default(&cfg);
    CC_CHECK_EQ(cc_persist_restore(p, r, &cfg, T0, W0), 0);
    cc_persist_shutdown(p, W0);
    cc_persist_free(p);
    cc_lessons_free(r);
    /* No demo row was added by the first run. */
    if (run_start(&a, W0) == 0) {
        CC_CHECK_EQ(cc_store_lesson_load(a.store, 0, &rows, &nrows), 0);
        CC_CHECK_EQ(nrows, had);
        free(rows);
        run_crash(&a);
    }
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/cc-test-persist-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    CC_RUN(test_crash_and_restore);
    /* Each test on a database of its own. */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -f '%s'/classcast.db*", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not clear %s\n", g_dir);
    CC_RUN(test_absence);
    if (system(cmd) != 0)
        fprintf(stderr, "could not clear %s\n", g_dir);
    CC_RUN(test_pinned_and_none);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    CC_TEST_DONE();
}
