/* docs/protocol.md "Roles" and "Lesson states": codes, tokens, joins,
 * role rules, timeouts with a manual clock, limits. */
#include "cc_test.h"
#include "classcast/clock.h"
#include "classcast/err.h"
#include "classcast/lesson.h"

#define SEC CC_USEC_PER_SEC
#define T0 ((cc_time_us)1000 * SEC)

static int is_digits6(const char *s)
{
    if (strlen(s) != 6)
        return 0;
    for (int i = 0; i < 6; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int is_b64url(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
              (c >= 'a' && c <= 'z') || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static void test_create_codes_tokens(void)
{
    cc_lessons *r = cc_lessons_new(NULL);
    enum { N = 500 };
    static cc_lesson *ls[N];
    int digit_seen[6][10] = {{0}};
    for (int i = 0; i < N; i++) {
        cc_member *m;
        CC_CHECK_EQ(cc_lessons_create(r, "Cô Hạnh", "Toán", (uint64_t)i + 1, T0,
                                      &ls[i], &m), 0);
        CC_CHECK(is_digits6(ls[i]->code));
        for (int k = 0; k < 6; k++)
            digit_seen[k][ls[i]->code[k] - '0']++;
        CC_CHECK(is_b64url(ls[i]->teacher_token, CC_LESSON_TOKEN_LEN));
        CC_CHECK(is_b64url(ls[i]->viewer_token, CC_LESSON_TOKEN_LEN));
        CC_CHECK(strcmp(ls[i]->teacher_token, ls[i]->viewer_token) != 0);
        CC_CHECK(ls[i]->room_id != 0);
        CC_CHECK_EQ(ls[i]->state, CC_LESSON_WAITING);
        CC_CHECK(strcmp(ls[i]->title, "Toán") == 0);
        CC_CHECK(strcmp(ls[i]->teacher_name, "Cô Hạnh") == 0);
        CC_CHECK_EQ(ls[i]->n_members, 1);
        CC_CHECK_EQ(ls[i]->n_teachers, 1);
        CC_CHECK_EQ(m->role, CC_ROLE_TEACHER);
        CC_CHECK_EQ(m->session, (uint64_t)i + 1);
        CC_CHECK(m->id_str[0] == 'm' && (uint32_t)atol(m->id_str + 1) == m->id);
        CC_CHECK(cc_lessons_find(r, ls[i]->code) == ls[i]);
        CC_CHECK(cc_lessons_find_room(r, ls[i]->room_id) == ls[i]);
    }
    CC_CHECK_EQ(cc_lessons_count(r), N);
    /* unique codes, tokens, room ids */
    int dup_code = 0, dup_tok = 0, dup_room = 0;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) {
            dup_code += strcmp(ls[i]->code, ls[j]->code) == 0;
            dup_tok += strcmp(ls[i]->teacher_token, ls[j]->teacher_token) == 0;
            dup_tok += strcmp(ls[i]->viewer_token, ls[j]->viewer_token) == 0;
            dup_room += ls[i]->room_id == ls[j]->room_id;
        }
    CC_CHECK_EQ(dup_code, 0);
    CC_CHECK_EQ(dup_tok, 0);
    CC_CHECK_EQ(dup_room, 0);
    /* random, not a counter: every digit value shows up in every position
     * (500 draws; the chance that one of 60 cells stays empty is ~1e-21) */
    int empty = 0;
    for (int k = 0; k < 6; k++)
        for (int d = 0; d < 10; d++)
            empty += digit_seen[k][d] == 0;
    CC_CHECK_EQ(empty, 0);

    cc_lesson *l;
    cc_member *m;
    CC_CHECK(cc_lessons_find(r, "nope") == NULL);
    CC_CHECK(cc_lessons_find(r, NULL) == NULL);
    CC_CHECK_EQ(cc_lessons_find_session(r, 17, &l, &m), 0);
    CC_CHECK(l == ls[16] && m->session == 17);
    CC_CHECK_EQ(cc_lessons_find_session(r, 99999, &l, &m), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_lessons_create(r, "", "x", 1, T0, &l, &m), CC_EINVAL);
    cc_lessons_free(r);
}

static void test_fixed(void)
{
    cc_lessons *r = cc_lessons_new(NULL);
    cc_lesson *l, *l2;
    CC_CHECK_EQ(cc_lessons_create_fixed(r, "demo", "classcast", "Demo", T0, &l), 0);
    CC_CHECK(strcmp(l->code, "demo") == 0);
    CC_CHECK(l->pinned);
    CC_CHECK_EQ(l->n_members, 0);
    CC_CHECK(cc_lessons_find(r, "demo") == l);
    CC_CHECK_EQ(cc_lessons_create_fixed(r, "demo", "x", "y", T0, &l2), CC_EINVAL);
    CC_CHECK_EQ(cc_lessons_create_fixed(r, "de mo", "x", "y", T0, &l2), CC_EINVAL);
    CC_CHECK_EQ(cc_lessons_create_fixed(r, "", "x", "y", T0, &l2), CC_EINVAL);
    CC_CHECK_EQ(cc_lessons_create_fixed(r, "12345678901234567", "x", "y", T0, &l2),
                CC_EINVAL);
    /* pinned: no teacher for hours, still waiting */
    CC_CHECK_EQ(cc_lessons_tick(r, T0 + 10 * 3600 * SEC, NULL, NULL), 0);
    CC_CHECK_EQ(l->state, CC_LESSON_WAITING);
    CC_CHECK_EQ(cc_lessons_deadline(r), CC_TIME_NEVER);
    /* the server resumes it with its token, like any lesson */
    cc_member *m;
    CC_CHECK_EQ(cc_lessons_resume(r, "demo", l->teacher_token, 5, T0, NULL, &m), 0);
    CC_CHECK(strcmp(m->name, "classcast") == 0);
    cc_lessons_free(r);
}

static void test_tokens(void)
{
    cc_lessons *r = cc_lessons_new(NULL);
    cc_lesson *l, *l2;
    cc_member *t, *m;
    CC_CHECK_EQ(cc_lessons_create(r, "Thầy Minh", "", 1, T0, &l, &t), 0);
    char tok[CC_LESSON_TOKEN_LEN + 2];
    strcpy(tok, l->teacher_token);
    CC_CHECK(cc_lesson_check_teacher(l, tok));
    CC_CHECK(!cc_lesson_check_viewer(l, tok));
    CC_CHECK(cc_lesson_check_viewer(l, l->viewer_token));
    CC_CHECK(!cc_lesson_check_teacher(l, l->viewer_token));
    /* one character off, at the start and the end */
    tok[0] = tok[0] == 'A' ? 'B' : 'A';
    CC_CHECK(!cc_lesson_check_teacher(l, tok));
    strcpy(tok, l->teacher_token);
    tok[CC_LESSON_TOKEN_LEN - 1] ^= 1;
    CC_CHECK(!cc_lesson_check_teacher(l, tok));
    /* prefix, extension, empty, NULL */
    strcpy(tok, l->teacher_token);
    tok[CC_LESSON_TOKEN_LEN - 1] = 0;
    CC_CHECK(!cc_lesson_check_teacher(l, tok));
    strcpy(tok, l->teacher_token);
    strcat(tok, "A");
    CC_CHECK(!cc_lesson_check_teacher(l, tok));
    CC_CHECK(!cc_lesson_check_teacher(l, ""));
    CC_CHECK(!cc_lesson_check_teacher(l, NULL));

    /* resume: wrong code, bad token, then the right one */
    CC_CHECK_EQ(cc_lessons_resume(r, "000000x", l->teacher_token, 2, T0, &l2, &m),
                CC_ENOTFOUND);
    CC_CHECK_EQ(cc_lessons_resume(r, l->code, l->viewer_token, 2, T0, &l2, &m),
                CC_EAUTH);
    CC_CHECK_EQ(cc_lessons_resume(r, l->code, "", 2, T0, &l2, &m), CC_EAUTH);
    CC_CHECK_EQ(l->n_members, 1);
    CC_CHECK_EQ(cc_lessons_resume(r, l->code, l->teacher_token, 2, T0, &l2, &m), 0);
    CC_CHECK(l2 == l);
    CC_CHECK_EQ(m->role, CC_ROLE_TEACHER);
    CC_CHECK(strcmp(m->name, "Thầy Minh") == 0);
    CC_CHECK(m->id != t->id);
    CC_CHECK_EQ(l->n_teachers, 2);
    CC_CHECK_EQ(strcmp(cc_lesson_err_code(CC_EAUTH), "bad_token"), 0);
    cc_lessons_free(r);
}

static void test_join_leave(void)
{
    cc_lessons *r = cc_lessons_new(NULL);
    cc_lesson *l, *l2;
    cc_member *t, *s1, *s2, *x;
    CC_CHECK_EQ(cc_lessons_create(r, "Cô Hạnh", "Toán", 1, T0, &l, &t), 0);
    char wrong[8];
    strcpy(wrong, l->code);
    wrong[5] = wrong[5] == '9' ? '0' : wrong[5] + 1;
    CC_CHECK_EQ(cc_lessons_join(r, wrong, "An", 2, T0, &l2, &x), CC_ENOTFOUND);
    CC_CHECK(strcmp(cc_lesson_err_code(CC_ENOTFOUND), "no_such_lesson") == 0);
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "Nguyễn Thị Lan", 2, T0, &l2, &s1), 0);
    CC_CHECK(l2 == l);
    CC_CHECK_EQ(s1->role, CC_ROLE_STUDENT);
    CC_CHECK(strcmp(s1->name, "Nguyễn Thị Lan") == 0);
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "Bình", 3, T0, NULL, &s2), 0);
    CC_CHECK_EQ(l->n_members, 3);
    CC_CHECK_EQ(l->n_students, 2);
    CC_CHECK(cc_lesson_member(l, s1->id) == s1);
    CC_CHECK(s1->id != s2->id && s1->id != t->id);

    /* flags and media report changes */
    CC_CHECK_EQ(cc_lesson_set_flags(l, s1, CC_MEMBER_WATCHING), 1);
    CC_CHECK_EQ(cc_lesson_set_flags(l, s1, CC_MEMBER_WATCHING), 0);
    CC_CHECK_EQ(s1->flags, CC_MEMBER_WATCHING);
    CC_CHECK_EQ(cc_lesson_set_media(l, 1u << CC_SLOT_SCREEN), 1);
    CC_CHECK_EQ(cc_lesson_set_media(l, 1u << CC_SLOT_SCREEN), 0);
    CC_CHECK_EQ(l->media, 1u << CC_SLOT_SCREEN);

    /* leave keeps join order */
    uint32_t id1 = s1->id;
    cc_lesson_leave(l, s1, T0);
    CC_CHECK(cc_lesson_member(l, id1) == NULL);
    CC_CHECK_EQ(l->n_members, 2);
    CC_CHECK(l->members[0] == t && l->members[1] == s2);
    CC_CHECK_EQ(l->n_students, 1);
    CC_CHECK_EQ(l->teacher_gone_at, CC_TIME_NEVER); /* a student left */

    /* states */
    CC_CHECK_EQ(cc_lesson_start(l, T0), 1);
    CC_CHECK_EQ(l->state, CC_LESSON_LIVE);
    CC_CHECK_EQ(cc_lesson_start(l, T0), 0);
    CC_CHECK_EQ(cc_lesson_end(l, T0 + SEC), 1);
    CC_CHECK_EQ(l->state, CC_LESSON_ENDED);
    CC_CHECK_EQ(cc_lesson_end(l, T0 + 2 * SEC), 0);
    CC_CHECK_EQ(l->ended_at, T0 + SEC);
    CC_CHECK_EQ(cc_lesson_start(l, T0), CC_ECLOSED);

    /* an ended lesson refuses joins (lesson_ended), and resumes after the
     * token check */
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "Cường", 4, T0, &l2, &x), CC_ECLOSED);
    CC_CHECK(strcmp(cc_lesson_err_code(CC_ECLOSED), "lesson_ended") == 0);
    CC_CHECK_EQ(cc_lessons_resume(r, l->code, "nope", 4, T0, &l2, &x), CC_EAUTH);
    CC_CHECK_EQ(cc_lessons_resume(r, l->code, l->teacher_token, 4, T0, &l2, &x),
                CC_ECLOSED);
    CC_CHECK_EQ(l->n_members, 2);
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "", 4, T0, &l2, &x), CC_ECLOSED);
    cc_lessons_free(r);
}

static void test_roles(void)
{
    cc_lessons *r = cc_lessons_new(NULL);
    cc_lesson *l;
    cc_member *t, *s;
    const char *code;
    CC_CHECK_EQ(cc_lessons_create(r, "Cô Hạnh", "", 1, T0, &l, &t), 0);
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "An", 2, T0, NULL, &s), 0);

    /* not joined: only create / join / resume / ping */
    static const cc_proto_type open[] = {CC_PROTO_CREATE, CC_PROTO_JOIN,
                                         CC_PROTO_RESUME, CC_PROTO_PING};
    for (size_t i = 0; i < 4; i++)
        CC_CHECK(cc_lesson_may(NULL, NULL, open[i], 0, &code));
    static const cc_proto_type closed[] = {
        CC_PROTO_START, CC_PROTO_END, CC_PROTO_PUBLISH, CC_PROTO_SUBSCRIBE,
        CC_PROTO_RENEGOTIATE, CC_PROTO_UNPUBLISH, CC_PROTO_LEAVE};
    for (size_t i = 0; i < sizeof closed / sizeof closed[0]; i++) {
        code = NULL;
        CC_CHECK(!cc_lesson_may(NULL, NULL, closed[i], 0, &code));
        CC_CHECK(code && strcmp(code, "not_joined") == 0);
    }
    /* joined: no second create / join / resume */
    for (size_t i = 0; i < 3; i++) {
        code = NULL;
        CC_CHECK(!cc_lesson_may(l, s, open[i], 0, &code));
        CC_CHECK(code && strcmp(code, "already_joined") == 0);
        CC_CHECK(!cc_lesson_may(l, t, open[i], 0, &code));
    }
    /* teacher may do everything else */
    for (size_t i = 0; i < sizeof closed / sizeof closed[0]; i++) {
        code = "x";
        CC_CHECK(cc_lesson_may(l, t, closed[i], 1, &code));
        CC_CHECK(code == NULL);
    }
    /* student: subscribe, renegotiate the subscription, leave, ping */
    CC_CHECK(cc_lesson_may(l, s, CC_PROTO_SUBSCRIBE, 0, &code));
    CC_CHECK(cc_lesson_may(l, s, CC_PROTO_RENEGOTIATE, 0, &code));
    CC_CHECK(cc_lesson_may(l, s, CC_PROTO_LEAVE, 0, &code));
    CC_CHECK(cc_lesson_may(l, s, CC_PROTO_PING, 0, &code));
    static const cc_proto_type teacher_only[] = {
        CC_PROTO_START, CC_PROTO_END, CC_PROTO_PUBLISH, CC_PROTO_UNPUBLISH,
        CC_PROTO_RENEGOTIATE};
    for (size_t i = 0; i < sizeof teacher_only / sizeof teacher_only[0]; i++) {
        code = NULL;
        CC_CHECK(!cc_lesson_may(l, s, teacher_only[i], 1, &code));
        CC_CHECK(code && strcmp(code, "forbidden") == 0);
    }
    /* ended: nothing new starts; end, unpublish, leave, ping still work;
     * a student publishing is still "forbidden" */
    cc_lesson_end(l, T0);
    static const cc_proto_type no_more[] = {CC_PROTO_START, CC_PROTO_PUBLISH,
                                            CC_PROTO_SUBSCRIBE,
                                            CC_PROTO_RENEGOTIATE};
    for (size_t i = 0; i < 4; i++) {
        code = NULL;
        CC_CHECK(!cc_lesson_may(l, t, no_more[i], 1, &code));
        CC_CHECK(code && strcmp(code, "lesson_ended") == 0);
    }
    CC_CHECK(!cc_lesson_may(l, s, CC_PROTO_SUBSCRIBE, 0, &code));
    CC_CHECK(code && strcmp(code, "lesson_ended") == 0);
    CC_CHECK(!cc_lesson_may(l, s, CC_PROTO_PUBLISH, 1, &code));
    CC_CHECK(code && strcmp(code, "forbidden") == 0);
    CC_CHECK(cc_lesson_may(l, t, CC_PROTO_END, 0, &code));
    CC_CHECK(cc_lesson_may(l, t, CC_PROTO_UNPUBLISH, 0, &code));
    CC_CHECK(cc_lesson_may(l, s, CC_PROTO_LEAVE, 0, &code));
    CC_CHECK(cc_lesson_may(l, s, CC_PROTO_PING, 0, &code));
    /* capture: stopping and listing stay harmless after the end, a new
     * start is refused; a student is refused as before */
    CC_CHECK(cc_lesson_may(l, t, CC_PROTO_CAPTURE_STOP, 0, &code));
    CC_CHECK(cc_lesson_may(l, t, CC_PROTO_CAPTURE_LIST, 0, &code));
    CC_CHECK(!cc_lesson_may(l, t, CC_PROTO_CAPTURE_START, 0, &code));
    CC_CHECK(code && strcmp(code, "lesson_ended") == 0);
    CC_CHECK(!cc_lesson_may(l, s, CC_PROTO_CAPTURE_STOP, 0, &code));
    CC_CHECK(code && strcmp(code, "forbidden") == 0);
    /* err_code may be NULL; unknown actions are refused */
    CC_CHECK(!cc_lesson_may(l, s, CC_PROTO_NONE, 0, NULL));
    CC_CHECK(!cc_lesson_may(l, s, CC_PROTO_TYPE_COUNT, 0, &code));
    cc_lessons_free(r);
}

/* capture_list / capture_start / capture_stop: teacher only, and only from
 * the classroom computer itself (a loopback connection). */
static void test_capture_roles(void)
{
    cc_lessons *r = cc_lessons_new(NULL);
    cc_lesson *l;
    cc_member *t, *s;
    const char *code;
    CC_CHECK_EQ(cc_lessons_create(r, "Cô Hạnh", "", 1, T0, &l, &t), 0);
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "An", 2, T0, NULL, &s), 0);
    static const cc_proto_type cap[] = {CC_PROTO_CAPTURE_LIST, CC_PROTO_CAPTURE_START,
                                        CC_PROTO_CAPTURE_STOP};
    for (size_t i = 0; i < 3; i++) {
        CC_CHECK(cc_lesson_is_capture(cap[i]));
        code = "x";
        CC_CHECK(cc_lesson_may(l, t, cap[i], 0, &code));
        CC_CHECK(code == NULL);
        CC_CHECK(!cc_lesson_may(l, s, cap[i], 0, &code));
        CC_CHECK(code && strcmp(code, "forbidden") == 0);
        CC_CHECK(!cc_lesson_may(NULL, NULL, cap[i], 0, &code));
        CC_CHECK(code && strcmp(code, "not_joined") == 0);
        /* the loopback rule */
        code = "x";
        CC_CHECK(cc_lesson_may_local(cap[i], 1, &code));
        CC_CHECK(code == NULL);
        CC_CHECK(!cc_lesson_may_local(cap[i], 0, &code));
        CC_CHECK(code && strcmp(code, "forbidden") == 0);
        CC_CHECK(!cc_lesson_may_local(cap[i], 0, NULL));
    }
    /* every other request is not concerned by where it comes from */
    for (int a = 0; a < CC_PROTO_TYPE_COUNT; a++) {
        if (cc_lesson_is_capture((cc_proto_type)a))
            continue;
        code = "x";
        CC_CHECK(cc_lesson_may_local((cc_proto_type)a, 0, &code));
        CC_CHECK(code == NULL);
    }
    CC_CHECK(!cc_lesson_is_capture(CC_PROTO_PUBLISH));
    CC_CHECK(!cc_lesson_is_capture(CC_PROTO_NONE));
    cc_lessons_free(r);
}

typedef struct events {
    int ended, forgot;
    cc_lesson *last;
    char last_code[CC_PROTO_CODE_CAP];
    int members_at_forget;
} events;

static void on_event(void *ud, cc_lesson *l, cc_lesson_event ev)
{
    events *e = ud;
    e->last = l;
    strcpy(e->last_code, l->code);
    if (ev == CC_LESSON_EV_ENDED) {
        e->ended++;
        CC_CHECK_EQ(l->state, CC_LESSON_ENDED);
    } else {
        e->forgot++;
        e->members_at_forget = l->n_members;
    }
}

static void test_timeouts(void)
{
    cc_clock clk;
    cc_clock_init_manual(&clk, T0);
    cc_lessons *r = cc_lessons_new(NULL);
    events ev = {0};
    cc_lesson *w, *v, *x;
    cc_member *tw, *tv, *tx, *sw, *m;
    char wcode[CC_PROTO_CODE_CAP];

    CC_CHECK_EQ(cc_lessons_create(r, "A", "waiting", 1, T0, &w, &tw), 0);
    CC_CHECK_EQ(cc_lessons_create(r, "B", "live", 2, T0, &v, &tv), 0);
    CC_CHECK_EQ(cc_lessons_create(r, "C", "comes back", 3, T0, &x, &tx), 0);
    CC_CHECK_EQ(cc_lessons_join(r, w->code, "An", 4, T0, NULL, &sw), 0);
    strcpy(wcode, w->code);
    CC_CHECK_EQ(cc_lesson_start(v, T0), 1);
    CC_CHECK_EQ(cc_lessons_deadline(r), CC_TIME_NEVER); /* teachers present */
    CC_CHECK_EQ(cc_lessons_tick(r, T0 + 3600 * SEC, on_event, &ev), 0);

    /* teachers disconnect at T0 + 10 s */
    cc_clock_advance(&clk, 10 * SEC);
    cc_time_us gone = cc_clock_now(&clk);
    cc_lesson_leave(w, tw, gone);
    cc_lesson_leave(v, tv, gone);
    cc_lesson_leave(x, tx, gone);
    CC_CHECK_EQ(w->teacher_gone_at, gone);
    CC_CHECK_EQ(cc_lessons_deadline(r), gone + 60 * SEC);

    /* x's teacher reloads the page 20 s later: clock stops */
    cc_clock_advance(&clk, 20 * SEC);
    CC_CHECK_EQ(cc_lessons_resume(r, x->code, x->teacher_token, 5,
                                  cc_clock_now(&clk), NULL, &m), 0);
    CC_CHECK_EQ(x->teacher_gone_at, CC_TIME_NEVER);

    /* 59.999999 s after: nothing; 60 s: the waiting lesson ends */
    cc_clock_advance(&clk, 40 * SEC - 1);
    CC_CHECK_EQ(cc_lessons_tick(r, cc_clock_now(&clk), on_event, &ev), 0);
    CC_CHECK_EQ(w->state, CC_LESSON_WAITING);
    cc_clock_advance(&clk, 1);
    CC_CHECK_EQ(cc_lessons_tick(r, cc_clock_now(&clk), on_event, &ev), 1);
    CC_CHECK_EQ(ev.ended, 1);
    CC_CHECK(ev.last == w);
    CC_CHECK_EQ(w->state, CC_LESSON_ENDED);
    CC_CHECK_EQ(w->ended_at, gone + 60 * SEC);
    CC_CHECK_EQ(v->state, CC_LESSON_LIVE); /* live: 30 min */
    CC_CHECK_EQ(x->state, CC_LESSON_WAITING);
    /* its student still sees it, new students get lesson_ended */
    CC_CHECK_EQ(w->n_members, 1);
    CC_CHECK_EQ(cc_lessons_join(r, wcode, "Bình", 6, cc_clock_now(&clk), NULL, &m),
                CC_ECLOSED);
    CC_CHECK_EQ(cc_lessons_deadline(r), gone + 60 * SEC + 10 * 60 * SEC);
    /* the code is not reused while the ended lesson exists */
    CC_CHECK(cc_lessons_find(r, wcode) == w);

    /* the ended waiting lesson is forgotten 10 min after it ended */
    cc_clock_advance(&clk, 10 * 60 * SEC - 1); /* now gone + 11 min - 1 us */
    CC_CHECK_EQ(cc_lessons_tick(r, cc_clock_now(&clk), on_event, &ev), 0);
    CC_CHECK(cc_lessons_find(r, wcode) == w);
    cc_clock_advance(&clk, 1);
    CC_CHECK_EQ(cc_lessons_tick(r, cc_clock_now(&clk), on_event, &ev), 1);
    CC_CHECK_EQ(ev.forgot, 1);
    CC_CHECK_EQ(ev.members_at_forget, 1); /* the server detaches them */
    CC_CHECK(cc_lessons_find(r, wcode) == NULL);
    CC_CHECK_EQ(cc_lessons_count(r), 2);
    CC_CHECK_EQ(cc_lessons_deadline(r), gone + 30 * 60 * SEC);

    /* the live lesson ends 30 min after its teacher left */
    cc_clock_advance(&clk, 19 * 60 * SEC - 1); /* gone + 30 min - 1 us */
    CC_CHECK_EQ(cc_lessons_tick(r, cc_clock_now(&clk), on_event, &ev), 0);
    CC_CHECK_EQ(v->state, CC_LESSON_LIVE);
    cc_clock_advance(&clk, 1);
    CC_CHECK_EQ(cc_lessons_tick(r, cc_clock_now(&clk), on_event, &ev), 1);
    CC_CHECK_EQ(ev.ended, 2);
    CC_CHECK(ev.last == v);
    CC_CHECK_EQ(v->state, CC_LESSON_ENDED);
    CC_CHECK_EQ(x->state, CC_LESSON_WAITING); /* its teacher came back */

    /* explicit end by the teacher 5 min later, forgotten 10 min after */
    cc_clock_advance(&clk, 5 * 60 * SEC);
    CC_CHECK_EQ(cc_lesson_end(x, cc_clock_now(&clk)), 1);
    cc_time_us x_end = cc_clock_now(&clk);
    char xcode[CC_PROTO_CODE_CAP];
    strcpy(xcode, x->code);
    cc_clock_advance(&clk, 5 * 60 * SEC); /* v forgotten */
    CC_CHECK_EQ(cc_lessons_tick(r, cc_clock_now(&clk), on_event, &ev), 1);
    CC_CHECK_EQ(ev.forgot, 2);
    CC_CHECK_EQ(cc_lessons_deadline(r), x_end + 10 * 60 * SEC);
    cc_clock_advance(&clk, 5 * 60 * SEC - 1);
    CC_CHECK_EQ(cc_lessons_tick(r, cc_clock_now(&clk), on_event, &ev), 0);
    CC_CHECK(cc_lessons_find(r, xcode) == x);
    cc_clock_advance(&clk, 1);
    CC_CHECK_EQ(cc_lessons_tick(r, cc_clock_now(&clk), on_event, &ev), 1);
    CC_CHECK(cc_lessons_find(r, xcode) == NULL);
    CC_CHECK(strcmp(ev.last_code, xcode) == 0);
    CC_CHECK_EQ(ev.forgot, 3);
    CC_CHECK_EQ(cc_lessons_count(r), 0);
    CC_CHECK_EQ(cc_lessons_deadline(r), CC_TIME_NEVER);
    cc_lessons_free(r);
}

/* A tick long after the deadline ends and forgets in one go, with the
 * 10 minutes counted from when the lesson should have ended. */
static void test_late_tick(void)
{
    cc_lessons *r = cc_lessons_new(NULL);
    cc_lesson *l;
    cc_member *t;
    events ev = {0};
    CC_CHECK_EQ(cc_lessons_create(r, "A", "", 1, T0, &l, &t), 0);
    cc_lesson_leave(l, t, T0);
    CC_CHECK_EQ(cc_lessons_tick(r, T0 + 11 * 60 * SEC, on_event, &ev), 2);
    CC_CHECK_EQ(ev.ended, 1);
    CC_CHECK_EQ(ev.forgot, 1);
    CC_CHECK_EQ(cc_lessons_count(r), 0);
    cc_lessons_free(r);
}

static void test_limits(void)
{
    cc_lessons_config cfg;
    cc_lessons_config_default(&cfg);
    CC_CHECK_EQ(cfg.waiting_grace, 60 * SEC);
    CC_CHECK_EQ(cfg.live_grace, 30 * 60 * SEC);
    CC_CHECK_EQ(cfg.ended_keep, 10 * 60 * SEC);
    cfg.max_lessons = 3;
    cfg.max_students = 2;
    cfg.max_teachers = 2;
    cc_lessons *r = cc_lessons_new(&cfg);
    cc_lesson *l[3], *x;
    cc_member *m, *s[3];
    for (int i = 0; i < 2; i++)
        CC_CHECK_EQ(cc_lessons_create(r, "T", "", (uint64_t)i, T0, &l[i], &m), 0);
    CC_CHECK_EQ(cc_lessons_create_fixed(r, "demo", "T", "", T0, &l[2]), 0);
    CC_CHECK_EQ(cc_lessons_create(r, "T", "", 9, T0, &x, &m), CC_ENOSPC);
    CC_CHECK(strcmp(cc_lesson_err_code(CC_ENOSPC), "server_busy") == 0);
    CC_CHECK_EQ(cc_lessons_create_fixed(r, "demo2", "T", "", T0, &x), CC_ENOSPC);
    CC_CHECK_EQ(cc_lessons_count(r), 3);

    CC_CHECK_EQ(cc_lessons_join(r, l[0]->code, "a", 10, T0, NULL, &s[0]), 0);
    CC_CHECK_EQ(cc_lessons_join(r, l[0]->code, "b", 11, T0, NULL, &s[1]), 0);
    CC_CHECK_EQ(cc_lessons_join(r, l[0]->code, "c", 12, T0, NULL, &s[2]), CC_ENOSPC);
    /* a full class does not lock the teacher out */
    CC_CHECK_EQ(cc_lessons_resume(r, l[0]->code, l[0]->teacher_token, 13, T0,
                                  NULL, &m), 0);
    CC_CHECK_EQ(cc_lessons_resume(r, l[0]->code, l[0]->teacher_token, 14, T0,
                                  NULL, &m), CC_ENOSPC);
    /* a place frees up when someone leaves */
    cc_lesson_leave(l[0], s[0], T0);
    CC_CHECK_EQ(cc_lessons_join(r, l[0]->code, "c", 12, T0, NULL, &s[2]), 0);
    /* other lessons have their own limit */
    CC_CHECK_EQ(cc_lessons_join(r, l[1]->code, "a", 20, T0, NULL, &m), 0);

    /* a forgotten lesson frees a place */
    cc_lesson_end(l[1], T0);
    cc_lessons_tick(r, T0 + 10 * 60 * SEC, NULL, NULL);
    CC_CHECK_EQ(cc_lessons_count(r), 2);
    CC_CHECK_EQ(cc_lessons_create(r, "T", "", 9, T0, &x, &m), 0);
    CC_CHECK(x->room_id != l[0]->room_id && x->room_id != l[2]->room_id);
    cc_lessons_free(r);
}

/* Ended lessons do not count toward the limit on open ones (a teacher who
 * ended a lesson may start the next at once); they have their own bound
 * until forgotten. Each owner has at most max_per_owner open lessons. */
static void test_open_limits(void)
{
    cc_lessons_config cfg;
    cc_lessons_config_default(&cfg);
    CC_CHECK_EQ(cfg.max_per_owner, 5);
    CC_CHECK_EQ(cfg.max_ended, 4000);
    cfg.max_lessons = 2;
    cfg.max_ended = 3;
    cfg.max_per_owner = 0;
    cc_lessons *r = cc_lessons_new(&cfg);
    cc_lesson *l[8], *x;
    cc_member *m;
    CC_CHECK_EQ(cc_lessons_create(r, "T", "", 1, T0, &l[0], &m), 0);
    CC_CHECK_EQ(cc_lessons_create(r, "T", "", 2, T0, &l[1], &m), 0);
    CC_CHECK_EQ(cc_lessons_create(r, "T", "", 3, T0, &x, &m), CC_ENOSPC);
    CC_CHECK_EQ(cc_lessons_count_open(r, 0), 2);
    /* Ending one frees its place right away, not 10 minutes later. */
    cc_lesson_end(l[0], T0);
    CC_CHECK_EQ(cc_lessons_count_open(r, 0), 1);
    CC_CHECK_EQ(cc_lessons_create(r, "T", "", 3, T0, &l[2], &m), 0);
    /* ... up to the allowance for ended lessons (2 open + 3 ended). */
    cc_lesson_end(l[1], T0);
    CC_CHECK_EQ(cc_lessons_create(r, "T", "", 4, T0, &l[3], &m), 0);
    cc_lesson_end(l[2], T0);
    CC_CHECK_EQ(cc_lessons_create(r, "T", "", 5, T0, &l[4], &m), 0);
    cc_lesson_end(l[3], T0);
    CC_CHECK_EQ(cc_lessons_count(r), 5);
    CC_CHECK_EQ(cc_lessons_count_open(r, 0), 1);
    CC_CHECK_EQ(cc_lessons_create(r, "T", "", 6, T0, &x, &m), CC_ENOSPC);
    /* Forgetting them makes room again. */
    cc_lessons_tick(r, T0 + 10 * 60 * SEC, NULL, NULL);
    CC_CHECK_EQ(cc_lessons_count(r), 1);
    CC_CHECK_EQ(cc_lessons_create(r, "T", "", 6, T0 + 10 * 60 * SEC, &x, &m), 0);
    cc_lessons_free(r);

    /* Per owner. */
    cc_lessons_config_default(&cfg);
    cfg.max_per_owner = 2;
    r = cc_lessons_new(&cfg);
    CC_CHECK_EQ(cc_lessons_create_owned(r, 7, "A", "", 1, T0, &l[0], &m), 0);
    CC_CHECK_EQ(l[0]->owner, 7);
    CC_CHECK_EQ(cc_lessons_create_owned(r, 7, "A", "", 2, T0, &l[1], &m), 0);
    CC_CHECK_EQ(cc_lessons_create_owned(r, 7, "A", "", 3, T0, &x, &m), CC_ELIMIT);
    CC_CHECK(strcmp(cc_lesson_err_code(CC_ELIMIT), "too_many_lessons") == 0);
    CC_CHECK_EQ(cc_lessons_count_open(r, 7), 2);
    /* Someone else, the local teacher, and no owner are not affected. */
    CC_CHECK_EQ(cc_lessons_create_owned(r, 8, "B", "", 4, T0, &l[2], &m), 0);
    CC_CHECK_EQ(cc_lessons_create_owned(r, CC_LESSON_OWNER_LOCAL, "L", "", 5, T0, &l[3], &m), 0);
    CC_CHECK_EQ(cc_lessons_create_owned(r, CC_LESSON_OWNER_LOCAL, "L", "", 6, T0, &l[4], &m), 0);
    CC_CHECK_EQ(cc_lessons_create_owned(r, CC_LESSON_OWNER_LOCAL, "L", "", 7, T0, &x, &m),
                CC_ELIMIT);
    for (int i = 0; i < 4; i++)
        CC_CHECK_EQ(cc_lessons_create(r, "N", "", (uint64_t)(10 + i), T0, &x, &m), 0);
    CC_CHECK_EQ(x->owner, 0);
    /* An ended lesson of the owner no longer counts. */
    cc_lesson_end(l[0], T0);
    CC_CHECK_EQ(cc_lessons_create_owned(r, 7, "A", "", 20, T0, &x, &m), 0);
    /* A failed create leaves nothing behind. */
    int before = cc_lessons_count(r);
    CC_CHECK_EQ(cc_lessons_create_owned(r, 7, "A", "", 21, T0, &x, &m), CC_ELIMIT);
    CC_CHECK_EQ(cc_lessons_count(r), before);
    cc_lessons_free(r);
}

static void test_names(void)
{
    CC_CHECK(strcmp(cc_lesson_state_name(CC_LESSON_WAITING), "waiting") == 0);
    CC_CHECK(strcmp(cc_lesson_state_name(CC_LESSON_LIVE), "live") == 0);
    CC_CHECK(strcmp(cc_lesson_state_name(CC_LESSON_ENDED), "ended") == 0);
    CC_CHECK(strcmp(cc_role_name(CC_ROLE_TEACHER), "teacher") == 0);
    CC_CHECK(strcmp(cc_role_name(CC_ROLE_STUDENT), "student") == 0);
    CC_CHECK(strcmp(cc_lesson_err_code(CC_EINVAL), "bad_request") == 0);
    CC_CHECK(strcmp(cc_lesson_err_code(CC_ENOMEM), "server_error") == 0);
}

/* docs/protocol.md "Seminars": invites, waiting room, lock, hands, the
 * floor in the role rules, chat history. */
static void test_seminar(void)
{
    cc_lessons *r = cc_lessons_new(NULL);
    cc_lesson *l, *l2;
    cc_member *t, *sch, *st, *st2, *w;
    const char *code;
    CC_CHECK_EQ(cc_lessons_create(r, "Cô Lan", "Hội thảo", 1, T0, &l, &t), 0);
    cc_lesson_set_kind(l, CC_LESSON_KIND_SEMINAR);
    CC_CHECK(l->waiting_room == 1);
    CC_CHECK_EQ(l->last_n, CC_LESSON_DEFAULT_LAST_N);
    CC_CHECK(l->chat_students == 1);

    /* invites: made, used, revoked; another lesson's token is no invite */
    cc_invite *iv = NULL, *iv2 = NULL;
    CC_CHECK_EQ(cc_lesson_invite_create(l, "THCS Chiềng Sinh", &iv), 0);
    CC_CHECK(strcmp(iv->id, "i1") == 0 && is_b64url(iv->token, CC_LESSON_TOKEN_LEN));
    CC_CHECK_EQ(cc_lesson_invite_create(l, "", &iv2), 0);
    char tok[64], tok2[64];
    snprintf(tok, sizeof tok, "%s", iv->token);
    snprintf(tok2, sizeof tok2, "%s", iv2->token);
    CC_CHECK_EQ(cc_lessons_create(r, "Thầy Nam", "", 2, T0, &l2, NULL), 0);
    CC_CHECK_EQ(cc_lessons_join_school(r, l2->code, tok, "X", 3, T0, NULL, NULL), CC_EAUTH);
    CC_CHECK_EQ(cc_lessons_join_school(r, l->code, "nope", "X", 3, T0, NULL, NULL), CC_EAUTH);
    CC_CHECK_EQ(cc_lessons_join_school(r, "000000x", tok, "X", 3, T0, NULL, NULL), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_lessons_join_school(r, l->code, tok, "THCS A", 3, T0, NULL, &sch), 0);
    CC_CHECK_EQ(sch->role, CC_ROLE_SCHOOL);
    CC_CHECK(strcmp(cc_role_name(sch->role), "school") == 0);
    CC_CHECK(sch->flags & CC_MEMBER_WAITING);
    CC_CHECK_EQ(l->invites[0].uses, 1);
    CC_CHECK_EQ(l->n_waiting, 1);
    /* a waiting member may only leave and ping */
    CC_CHECK(!cc_lesson_may(l, sch, CC_PROTO_SUBSCRIBE, 0, &code));
    CC_CHECK(strcmp(code, "not_admitted") == 0);
    CC_CHECK(!cc_lesson_may(l, sch, CC_PROTO_CHAT, 0, &code));
    CC_CHECK(cc_lesson_may(l, sch, CC_PROTO_LEAVE, 0, &code));
    CC_CHECK_EQ(cc_lesson_admit(l, sch), 0);
    CC_CHECK_EQ(cc_lesson_admit(l, sch), CC_ESTATE);
    CC_CHECK_EQ(l->n_waiting, 0);
    /* a school publishes, a student only with the floor */
    CC_CHECK(cc_lesson_may(l, sch, CC_PROTO_PUBLISH, 1, &code));
    CC_CHECK(cc_lesson_may(l, sch, CC_PROTO_HAND, 0, &code));
    CC_CHECK(!cc_lesson_may(l, sch, CC_PROTO_MUTE, 0, &code));
    CC_CHECK(strcmp(code, "forbidden") == 0);
    l->waiting_room = 0;
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "Em Hoa", 4, T0, NULL, &st), 0);
    CC_CHECK(!(st->flags & CC_MEMBER_WAITING));
    CC_CHECK(!cc_lesson_may(l, st, CC_PROTO_PUBLISH, 1, &code));
    CC_CHECK(strcmp(code, "forbidden") == 0);
    CC_CHECK(!cc_lesson_may(l, st, CC_PROTO_RENEGOTIATE, 1, &code));
    CC_CHECK(cc_lesson_may(l, st, CC_PROTO_RENEGOTIATE, 0, &code));
    cc_lesson_set_flags(l, st, st->flags | CC_MEMBER_FLOOR);
    CC_CHECK(cc_lesson_may(l, st, CC_PROTO_PUBLISH, 1, &code));
    CC_CHECK(cc_lesson_may(l, t, CC_PROTO_FLOOR, 0, &code));
    CC_CHECK(!cc_lesson_may(l, t, CC_PROTO_HAND, 0, &code));
    CC_CHECK(!cc_lesson_may(l, st, CC_PROTO_LOCK, 0, &code));
    CC_CHECK(!cc_lesson_may(l, st, CC_PROTO_INVITE_CREATE, 0, &code));

    /* hands keep their order as others go down */
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "Em Minh", 5, T0, NULL, &st2), 0);
    CC_CHECK_EQ(cc_lesson_hand(l, st2, 1), 1);
    CC_CHECK_EQ(cc_lesson_hand(l, sch, 1), 1);
    CC_CHECK_EQ(cc_lesson_hand(l, st, 1), 1);
    CC_CHECK_EQ(cc_lesson_hand(l, st, 1), 0);
    CC_CHECK(st2->hand == 1 && sch->hand == 2 && st->hand == 3);
    CC_CHECK_EQ(cc_lesson_hand(l, st2, 0), 1);
    CC_CHECK(st2->hand == 0 && sch->hand == 1 && st->hand == 2 && l->hands == 2);
    cc_lesson_leave(l, sch, T0); /* leaving lowers the hand */
    CC_CHECK(st->hand == 1 && l->hands == 1);

    /* revoked: refused, and its old token never matches again */
    CC_CHECK_EQ(cc_lesson_invite_revoke(l, "i1"), 0);
    CC_CHECK_EQ(cc_lesson_invite_revoke(l, "i1"), CC_ENOTFOUND);
    CC_CHECK_EQ(cc_lessons_join_school(r, l->code, tok, "THCS A", 6, T0, NULL, NULL), CC_EAUTH);
    CC_CHECK_EQ(cc_lessons_join_school(r, l->code, tok2, "THCS B", 6, T0, NULL, &w), 0);
    for (int i = 2; i < CC_LESSON_MAX_INVITES; i++)
        CC_CHECK_EQ(cc_lesson_invite_create(l, "", NULL), 0);
    CC_CHECK_EQ(cc_lesson_invite_create(l, "", NULL), CC_ELIMIT);

    /* lock: nobody joins; the waiting room has a limit */
    l->locked = 1;
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "Late", 7, T0, NULL, NULL), CC_ESTATE);
    CC_CHECK_EQ(cc_lessons_join_school(r, l->code, tok2, "Late", 7, T0, NULL, NULL), CC_ESTATE);
    l->locked = 0;
    l->waiting_room = 1;
    int ok = 0;
    for (int i = 0; i < CC_LESSON_MAX_WAITING + 5; i++)
        ok += cc_lessons_join(r, l->code, "W", (uint64_t)(100 + i), T0, NULL, NULL) == 0;
    CC_CHECK_EQ(ok, CC_LESSON_MAX_WAITING);
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "W", 999, T0, NULL, NULL), CC_ENOSPC);

    /* chat: a bounded history, oldest first */
    for (int i = 0; i < CC_LESSON_CHAT_HISTORY + 30; i++) {
        char text[32];
        snprintf(text, sizeof text, "tin %d", i);
        const cc_chat_msg *cm = NULL;
        CC_CHECK_EQ(cc_lesson_chat_add(l, st, text, 1000 + i, &cm), 0);
        CC_CHECK(cm && strcmp(cm->text, text) == 0 && strcmp(cm->from, st->id_str) == 0);
    }
    CC_CHECK_EQ(l->chat_len, CC_LESSON_CHAT_HISTORY);
    CC_CHECK(strcmp(cc_lesson_chat_at(l, 0)->text, "tin 30") == 0);
    CC_CHECK(strcmp(cc_lesson_chat_at(l, CC_LESSON_CHAT_HISTORY - 1)->text, "tin 129") == 0);
    CC_CHECK(cc_lesson_chat_at(l, CC_LESSON_CHAT_HISTORY) == NULL);
    /* long messages: the bytes cap drops the oldest first */
    char big[2001];
    memset(big, 'a', 2000);
    big[2000] = 0;
    for (int i = 0; i < 60; i++)
        CC_CHECK_EQ(cc_lesson_chat_add(l, st, big, 5000 + i, NULL), 0);
    CC_CHECK(l->chat_bytes <= CC_LESSON_CHAT_BYTES);
    CC_CHECK_EQ(l->chat_len, CC_LESSON_CHAT_BYTES / 2000);
    CC_CHECK_EQ(cc_lesson_chat_at(l, l->chat_len - 1)->at_ms, 5059);
    /* ending the lesson drops the history */
    CC_CHECK_EQ(cc_lesson_end(l2, T0), 1);
    CC_CHECK_EQ(cc_lesson_end(l, T0), 1);
    CC_CHECK_EQ(l->chat_len, 0);
    CC_CHECK_EQ(l->chat_bytes, 0);
    CC_CHECK(cc_lesson_member_by_str(l, st->id_str) == st);
    CC_CHECK(cc_lesson_member_by_str(l, "m999999") == NULL);
    cc_lessons_free(r); /* frees the chat texts too (ASan checks) */
}

/* Attendance for the teacher: join times, the members who left (bounded),
 * and who may report `quality`. */
static void test_departed(void)
{
    cc_lessons *r = cc_lessons_new(NULL);
    cc_lesson *l;
    cc_member *t, *a, *sch, *w;
    const char *code;
    CC_CHECK_EQ(cc_lessons_create(r, "Cô Lan", "Toán", 1, T0, &l, &t), 0);
    CC_CHECK_EQ(t->joined_at, T0);
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "Lò Thị Hương", 2, T0 + SEC, NULL, &a), 0);
    CC_CHECK_EQ(a->joined_at, T0 + SEC);
    cc_invite *iv;
    CC_CHECK_EQ(cc_lesson_invite_create(l, "", &iv), 0);
    CC_CHECK_EQ(cc_lessons_join_school(r, l->code, iv->token, "THCS A", 3, T0 + 2 * SEC, NULL,
                                       &sch), 0);
    CC_CHECK_EQ(sch->joined_at, T0 + 2 * SEC);

    /* quality: a student's or a school's, not a teacher's nor a waiting one's */
    CC_CHECK(cc_lesson_may(l, a, CC_PROTO_QUALITY, 0, &code));
    CC_CHECK(cc_lesson_may(l, sch, CC_PROTO_QUALITY, 0, &code));
    CC_CHECK(!cc_lesson_may(l, t, CC_PROTO_QUALITY, 0, &code));
    CC_CHECK(strcmp(code, "forbidden") == 0);
    CC_CHECK(!cc_lesson_may(NULL, NULL, CC_PROTO_QUALITY, 0, &code));
    CC_CHECK(strcmp(code, "not_joined") == 0);

    char a_id[12];
    snprintf(a_id, sizeof a_id, "%s", a->id_str);
    cc_lesson_leave(l, a, T0 + 5 * SEC);
    CC_CHECK_EQ(l->n_departed, 1);
    CC_CHECK(strcmp(l->departed[0].id_str, a_id) == 0);
    CC_CHECK(strcmp(l->departed[0].name, "Lò Thị Hương") == 0);
    CC_CHECK_EQ(l->departed[0].role, CC_ROLE_STUDENT);
    CC_CHECK_EQ(l->departed[0].joined_at, T0 + SEC);
    CC_CHECK_EQ(l->departed[0].left_at, T0 + 5 * SEC);
    /* a teacher's tab and a member that only waited are not kept */
    l->waiting_room = 1;
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "W", 4, T0, NULL, &w), 0);
    CC_CHECK(!cc_lesson_may(l, w, CC_PROTO_QUALITY, 0, &code));
    CC_CHECK(strcmp(code, "not_admitted") == 0);
    cc_lesson_leave(l, w, T0 + 6 * SEC);
    cc_lesson_leave(l, t, T0 + 6 * SEC);
    CC_CHECK_EQ(l->n_departed, 1);
    cc_lesson_leave(l, sch, T0 + 7 * SEC);
    CC_CHECK_EQ(l->n_departed, 2);
    CC_CHECK_EQ(l->departed[1].role, CC_ROLE_SCHOOL);

    /* bounded: the oldest go first */
    l->waiting_room = 0;
    for (int i = 0; i < CC_LESSON_MAX_DEPARTED + 10; i++) {
        cc_member *m;
        char name[16];
        snprintf(name, sizeof name, "S%d", i);
        CC_CHECK_EQ(cc_lessons_join(r, l->code, name, (uint64_t)(10 + i), T0, NULL, &m), 0);
        cc_lesson_leave(l, m, T0 + 10 * SEC + i);
    }
    CC_CHECK_EQ(l->n_departed, CC_LESSON_MAX_DEPARTED);
    CC_CHECK(l->cap_departed <= CC_LESSON_MAX_DEPARTED);
    CC_CHECK(strcmp(l->departed[0].name, "S10") == 0);
    char last[16];
    snprintf(last, sizeof last, "S%d", CC_LESSON_MAX_DEPARTED + 9);
    CC_CHECK(strcmp(l->departed[CC_LESSON_MAX_DEPARTED - 1].name, last) == 0);
    /* an ended lesson keeps no list, and adds nobody to it */
    cc_member *late;
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "Late", 999, T0, NULL, &late), 0);
    CC_CHECK_EQ(cc_lesson_end(l, T0 + 100 * SEC), 1);
    CC_CHECK_EQ(l->n_departed, 0);
    CC_CHECK(l->departed == NULL);
    cc_lesson_leave(l, late, T0 + 101 * SEC);
    CC_CHECK_EQ(l->n_departed, 0);
    /* a lesson forgotten with its list (ASan checks the free) */
    cc_lesson *l2;
    cc_member *t2, *s2;
    CC_CHECK_EQ(cc_lessons_create(r, "Cô Lan", "", 2000, T0, &l2, &t2), 0);
    CC_CHECK_EQ(cc_lessons_join(r, l2->code, "An", 2001, T0, NULL, &s2), 0);
    cc_lesson_leave(l2, s2, T0 + SEC);
    CC_CHECK_EQ(l2->n_departed, 1);
    cc_lessons_free(r);
}

/* docs/protocol.md "Coming back": a student or school returns with its
 * rejoin secret as the same member. */
static void test_rejoin(void)
{
    cc_lessons *r = cc_lessons_new(NULL);
    cc_lesson *l, *l2;
    cc_member *t, *a, *b, *c, *m;
    uint64_t old = 99;
    CC_CHECK_EQ(cc_lessons_create(r, "Cô Lan", "Toán", 1, T0, &l, &t), 0);
    CC_CHECK_EQ(t->has_rejoin, 0);
    CC_CHECK_EQ(t->rejoin[0], 0);
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "An", 2, T0, NULL, &a), 0);
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "Bình", 3, T0, NULL, &b), 0);
    CC_CHECK_EQ(cc_lessons_join(r, l->code, "Chi", 4, T0, NULL, &c), 0);
    CC_CHECK(is_b64url(a->rejoin, CC_LESSON_TOKEN_LEN));
    CC_CHECK(strcmp(a->rejoin, b->rejoin) != 0);
    uint32_t b_id = b->id;
    char b_secret[CC_LESSON_TOKEN_LEN + 1];
    memcpy(b_secret, b->rejoin, sizeof b_secret);
    /* Hands: An 1, Bình 2, Chi 3; Bình also muted with the floor. */
    cc_lesson_hand(l, a, 1);
    cc_lesson_hand(l, b, 1);
    cc_lesson_hand(l, c, 1);
    cc_lesson_set_flags(l, b, b->flags | CC_MEMBER_MUTED | CC_MEMBER_WATCHING);
    cc_lesson_leave(l, b, T0 + SEC);
    CC_CHECK_EQ(c->hand, 2);
    CC_CHECK_EQ(l->hands, 2);

    /* Wrong code, wrong or malformed secret: the caller joins as new. */
    CC_CHECK_EQ(cc_lessons_rejoin(r, "000000", b_secret, 5, T0, &l2, &m, &old), CC_ENOTFOUND);
    CC_CHECK_EQ(old, 0);
    CC_CHECK_EQ(cc_lessons_rejoin(r, l->code, a->rejoin + 1, 5, T0, &l2, &m, &old), CC_EAUTH);
    CC_CHECK_EQ(cc_lessons_rejoin(r, l->code, NULL, 5, T0, &l2, &m, &old), CC_EAUTH);
    char wrong[CC_LESSON_TOKEN_LEN + 1];
    memcpy(wrong, b_secret, sizeof wrong);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    CC_CHECK_EQ(cc_lessons_rejoin(r, l->code, wrong, 5, T0, &l2, &m, &old), CC_EAUTH);

    /* Locked, waiting room on: the member that was in comes back in, as
     * itself, its hand in its place (between An and Chi), still muted,
     * not watching (that was its old connection). */
    l->locked = 1;
    l->waiting_room = 1;
    CC_CHECK_EQ(cc_lessons_rejoin(r, l->code, b_secret, 5, T0 + 2 * SEC, &l2, &m, &old), 0);
    CC_CHECK(l2 == l);
    CC_CHECK_EQ(old, 0);
    CC_CHECK_EQ(m->id, b_id);
    CC_CHECK(strcmp(m->name, "Bình") == 0);
    CC_CHECK_EQ(m->role, CC_ROLE_STUDENT);
    CC_CHECK_EQ(m->session, 5);
    CC_CHECK_EQ(m->joined_at, T0);
    CC_CHECK_EQ(m->hand, 2);
    CC_CHECK_EQ(c->hand, 3);
    CC_CHECK_EQ(a->hand, 1);
    CC_CHECK_EQ(l->hands, 3);
    CC_CHECK(m->flags & CC_MEMBER_MUTED);
    CC_CHECK(!(m->flags & (CC_MEMBER_WATCHING | CC_MEMBER_WAITING)));
    CC_CHECK_EQ(l->n_departed, 0);
    CC_CHECK_EQ(l->n_students, 3);
    /* A new secret each time; the old one is spent. */
    CC_CHECK(is_b64url(m->rejoin, CC_LESSON_TOKEN_LEN));
    CC_CHECK(strcmp(m->rejoin, b_secret) != 0);
    CC_CHECK_EQ(cc_lessons_rejoin(r, l->code, b_secret, 6, T0, &l2, &m, &old), CC_EAUTH);
    /* Hands after a return renumber as before. */
    cc_lesson_hand(l, a, 0);
    CC_CHECK_EQ(m->hand, 1);
    CC_CHECK_EQ(c->hand, 2);

    /* Its old socket is still open (a network change): the member moves
     * to the new connection and the caller closes the old one. */
    cc_lesson_set_flags(l, m, m->flags | CC_MEMBER_WATCHING | CC_MEMBER_PUBLISHING);
    memcpy(b_secret, m->rejoin, sizeof b_secret);
    cc_member *again;
    CC_CHECK_EQ(cc_lessons_rejoin(r, l->code, b_secret, 7, T0, NULL, &again, &old), 0);
    CC_CHECK(again == m);
    CC_CHECK_EQ(old, 5);
    CC_CHECK_EQ(m->session, 7);
    CC_CHECK(!(m->flags & (CC_MEMBER_WATCHING | CC_MEMBER_PUBLISHING)));
    CC_CHECK(m->flags & CC_MEMBER_MUTED);
    CC_CHECK_EQ(l->n_students, 3);

    /* Removed by the teacher: the secret no longer brings it back. */
    memcpy(b_secret, m->rejoin, sizeof b_secret);
    cc_lesson_leave(l, m, T0 + 3 * SEC);
    cc_lesson_revoke_rejoin(l, b_id);
    CC_CHECK_EQ(l->n_departed, 1);
    CC_CHECK_EQ(cc_lessons_rejoin(r, l->code, b_secret, 8, T0, &l2, &m, &old), CC_EAUTH);

    /* A school keeps its invite and does not use it again. */
    l->locked = 0;
    l->waiting_room = 0;
    cc_invite *iv;
    cc_member *sch;
    CC_CHECK_EQ(cc_lesson_invite_create(l, "A", &iv), 0);
    CC_CHECK_EQ(cc_lessons_join_school(r, l->code, iv->token, "THCS A", 9, T0, NULL, &sch), 0);
    CC_CHECK(sch->has_rejoin);
    char s_secret[CC_LESSON_TOKEN_LEN + 1];
    memcpy(s_secret, sch->rejoin, sizeof s_secret);
    cc_lesson_leave(l, sch, T0 + 4 * SEC);
    CC_CHECK_EQ(cc_lesson_invite_revoke(l, iv->id), 0);
    CC_CHECK_EQ(cc_lessons_rejoin(r, l->code, s_secret, 10, T0, NULL, &sch, &old), 0);
    CC_CHECK_EQ(sch->role, CC_ROLE_SCHOOL);
    CC_CHECK_EQ(sch->invite, 0);
    CC_CHECK_EQ(l->invites[0].uses, 1);

    /* Full: no room even for a member coming back. */
    cc_lessons_config cfg;
    cc_lessons_config_default(&cfg);
    cfg.max_students = 1;
    cc_lessons *r2 = cc_lessons_new(&cfg);
    CC_CHECK_EQ(cc_lessons_create(r2, "Cô Lan", "Toán", 1, T0, &l2, &t), 0);
    CC_CHECK_EQ(cc_lessons_join(r2, l2->code, "An", 2, T0, NULL, &a), 0);
    memcpy(s_secret, a->rejoin, sizeof s_secret);
    cc_lesson_leave(l2, a, T0);
    CC_CHECK_EQ(cc_lessons_join(r2, l2->code, "Bình", 3, T0, NULL, &b), 0);
    CC_CHECK_EQ(cc_lessons_rejoin(r2, l2->code, s_secret, 4, T0, NULL, &m, &old), CC_ENOSPC);
    CC_CHECK_EQ(l2->n_departed, 1);
    /* Ended: lesson_ended, as for any join. */
    cc_lesson_end(l2, T0);
    CC_CHECK_EQ(cc_lessons_rejoin(r2, l2->code, s_secret, 4, T0, NULL, &m, &old), CC_ECLOSED);
    cc_lessons_free(r2);
    cc_lessons_free(r);
}

/* A lesson back from the store after a restart (values only). */
static void test_restore(void)
{
    cc_lessons *r = cc_lessons_new(NULL);
    cc_lesson *orig, *l;
    cc_member *t, *a;
    /* The lesson before the restart, for its tokens and a secret. */
    CC_CHECK_EQ(cc_lessons_create(r, "Cô Lan", "Toán", 1, T0, &orig, &t), 0);
    CC_CHECK_EQ(cc_lessons_join(r, orig->code, "An", 2, T0, NULL, &a), 0);
    char code[CC_PROTO_CODE_CAP], teacher[CC_LESSON_TOKEN_LEN + 1], viewer[CC_LESSON_TOKEN_LEN + 1];
    char secret[CC_LESSON_TOKEN_LEN + 1];
    snprintf(code, sizeof code, "%s", orig->code);
    memcpy(teacher, orig->teacher_token, sizeof teacher);
    memcpy(viewer, orig->viewer_token, sizeof viewer);
    memcpy(secret, a->rejoin, sizeof secret);
    cc_departed d = {0};
    d.id = 4000;
    snprintf(d.name, sizeof d.name, "%s", a->name);
    d.role = CC_ROLE_STUDENT;
    d.joined_at = T0 - 50 * SEC;
    d.left_at = T0 - 10 * SEC;
    d.flags = CC_MEMBER_FLOOR | CC_MEMBER_WATCHING;
    d.hand_seq = 7;
    d.invite = -1;
    d.has_rejoin = 1;
    memcpy(d.rejoin_hash, a->rejoin_hash, 32);
    unsigned char th[32], vh[32];
    memcpy(th, orig->teacher_hash, 32);
    memcpy(vh, orig->viewer_hash, 32);
    cc_lessons_free(r);

    r = cc_lessons_new(NULL);
    cc_lesson_saved s = {
        .code = code, .title = "Toán", .teacher_name = "Cô Lan",
        .kind = CC_LESSON_KIND_SEMINAR, .state = CC_LESSON_LIVE, .owner = 7,
        .teacher_hash = th, .viewer_hash = vh,
        .locked = 1, .waiting_room = 0, .last_n = 12, .chat_students = 0,
        .created_at = T0 - 60 * SEC, .teacher_gone_at = T0, .ended_at = CC_TIME_NEVER,
    };
    CC_CHECK_EQ(cc_lessons_restore(r, &s, &l), 0);
    CC_CHECK(strcmp(l->code, code) == 0);
    CC_CHECK(l->room_id != 0);
    CC_CHECK_EQ(l->state, CC_LESSON_LIVE);
    CC_CHECK_EQ(l->kind, CC_LESSON_KIND_SEMINAR);
    CC_CHECK_EQ(l->waiting_room, 0); /* as saved, not the seminar default */
    CC_CHECK_EQ(l->last_n, CC_LESSON_MAX_LAST_N);
    CC_CHECK_EQ(l->owner, 7);
    CC_CHECK_EQ(l->pinned, 0);
    CC_CHECK_EQ(l->teacher_token[0], 0);
    CC_CHECK(cc_lesson_check_teacher(l, teacher));
    CC_CHECK(cc_lesson_check_viewer(l, viewer));
    CC_CHECK(!cc_lesson_check_teacher(l, viewer));
    CC_CHECK(!cc_lesson_check_teacher(l, ""));
    CC_CHECK_EQ(cc_lessons_count_open(r, 7), 1);
    /* The same code twice, a bad one: refused. */
    CC_CHECK_EQ(cc_lessons_restore(r, &s, NULL), CC_EEXIST);
    s.code = "12 34";
    CC_CHECK_EQ(cc_lessons_restore(r, &s, NULL), CC_EINVAL);
    s.code = code;

    CC_CHECK_EQ(cc_lesson_restore_departed(r, l, &d), 0);
    CC_CHECK_EQ(cc_lesson_restore_departed(r, l, &d), CC_EEXIST);
    cc_departed bad = d;
    bad.id = 0;
    CC_CHECK_EQ(cc_lesson_restore_departed(r, l, &bad), CC_EINVAL);
    bad.id = 5;
    bad.role = CC_ROLE_TEACHER;
    CC_CHECK_EQ(cc_lesson_restore_departed(r, l, &bad), CC_EINVAL);
    CC_CHECK_EQ(l->n_departed, 1);
    CC_CHECK(strcmp(l->departed[0].id_str, "m4000") == 0);
    CC_CHECK_EQ(l->departed[0].flags, CC_MEMBER_FLOOR); /* kept flags only */

    cc_invite iv = {.id = "i1", .label = "THCS A", .uses = 2};
    memset(iv.token, 'x', CC_LESSON_TOKEN_LEN);
    CC_CHECK_EQ(cc_lesson_restore_invite(l, &iv), 0);
    cc_invite dead = iv;
    snprintf(dead.id, sizeof dead.id, "i2");
    dead.revoked = 1;
    CC_CHECK_EQ(cc_lesson_restore_invite(l, &dead), 0);
    CC_CHECK_EQ(l->n_invites, 2);
    CC_CHECK_EQ(l->invites[1].token[0], 0);
    cc_chat_msg cm = {.from = "m4000", .name = "An", .role = CC_ROLE_STUDENT,
                      .text = "xin chào", .at_ms = 123};
    CC_CHECK_EQ(cc_lesson_chat_restore(l, &cm), 0);
    CC_CHECK_EQ(l->chat_len, 1);
    CC_CHECK(strcmp(cc_lesson_chat_at(l, 0)->text, "xin chào") == 0);
    CC_CHECK(strcmp(cc_lesson_chat_at(l, 0)->from, "m4000") == 0);

    /* The teacher resumes with the old token; the student comes back with
     * its old secret as m4000, with the floor and its hand; a newcomer
     * gets an id above every restored one. */
    cc_member *m;
    CC_CHECK_EQ(cc_lessons_resume(r, code, teacher, 1, T0 + SEC, NULL, &t), 0);
    CC_CHECK_EQ(cc_lessons_rejoin(r, code, secret, 2, T0 + SEC, NULL, &m, NULL), 0);
    CC_CHECK_EQ(m->id, 4000);
    CC_CHECK(strcmp(m->id_str, "m4000") == 0);
    CC_CHECK(m->flags & CC_MEMBER_FLOOR);
    CC_CHECK_EQ(m->hand, 1);
    CC_CHECK_EQ(m->joined_at, T0 - 50 * SEC);
    CC_CHECK(t->id > 4000);
    l->locked = 0;
    cc_member *n;
    CC_CHECK_EQ(cc_lessons_join(r, code, "Newcomer", 3, T0, NULL, &n), 0);
    CC_CHECK(n->id > 4000 && n->id != t->id);
    cc_lesson_hand(l, n, 1);
    CC_CHECK_EQ(n->hand, 2);
    CC_CHECK(n->hand_seq > 7);

    /* Restored state and absence clock drive the timeouts as usual. */
    cc_lesson *w;
    cc_lesson_saved ws = s;
    ws.code = "111111";
    ws.state = CC_LESSON_WAITING;
    ws.teacher_gone_at = T0;
    CC_CHECK_EQ(cc_lessons_restore(r, &ws, &w), 0);
    cc_lesson *e;
    cc_lesson_saved es = s;
    es.code = "222222";
    es.state = CC_LESSON_ENDED;
    es.ended_at = T0;
    CC_CHECK_EQ(cc_lessons_restore(r, &es, &e), 0);
    CC_CHECK_EQ(cc_lessons_count_open(r, 0), 2);
    CC_CHECK_EQ(cc_lessons_tick(r, T0 + 59 * SEC, NULL, NULL), 0);
    CC_CHECK_EQ(cc_lessons_tick(r, T0 + 60 * SEC, NULL, NULL), 1);
    CC_CHECK_EQ(w->state, CC_LESSON_ENDED);
    CC_CHECK(cc_lessons_find(r, "222222") != NULL);
    cc_lessons_tick(r, T0 + 10 * 60 * SEC, NULL, NULL);
    CC_CHECK(cc_lessons_find(r, "222222") == NULL);
    cc_lessons_free(r);
}

int main(void)
{
    CC_RUN(test_create_codes_tokens);
    CC_RUN(test_fixed);
    CC_RUN(test_tokens);
    CC_RUN(test_join_leave);
    CC_RUN(test_roles);
    CC_RUN(test_capture_roles);
    CC_RUN(test_timeouts);
    CC_RUN(test_late_tick);
    CC_RUN(test_limits);
    CC_RUN(test_open_limits);
    CC_RUN(test_names);
    CC_RUN(test_seminar);
    CC_RUN(test_departed);
    CC_RUN(test_rejoin);
    CC_RUN(test_restore);
    CC_TEST_DONE();
}
