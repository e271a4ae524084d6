/* Lesson registry: see include/classcast/lesson.h and docs/protocol.md
 * ("Lesson states", "Roles"). Sizes are classroom-scale (hundreds of
 * lessons), so lookups are linear scans over an array of pointers. */
#include "classcast/lesson.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"
#include "classcast/rand.h"

struct cc_lessons {
    cc_lessons_config cfg;
    cc_lesson **lessons;
    int n, cap;
    uint32_t next_member_id;
    uint32_t next_room_id;
};

void cc_lessons_config_default(cc_lessons_config *cfg)
{
    cfg->max_lessons = 1000;
    cfg->max_ended = 4000;
    cfg->max_per_owner = 5;
    cfg->max_students = 200;
    cfg->max_teachers = 8;
    cfg->waiting_grace = 60 * CC_USEC_PER_SEC;
    cfg->live_grace = 30 * 60 * CC_USEC_PER_SEC;
    cfg->ended_keep = 10 * 60 * CC_USEC_PER_SEC;
}

cc_lessons *cc_lessons_new(const cc_lessons_config *cfg)
{
    cc_lessons *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (cfg)
        r->cfg = *cfg;
    else
        cc_lessons_config_default(&r->cfg);
    r->next_member_id = 1;
    r->next_room_id = 1;
    return r;
}

static void lesson_free(cc_lesson *l)
{
    for (int i = 0; i < l->n_members; i++)
        free(l->members[i]);
    for (int i = 0; i < CC_LESSON_CHAT_HISTORY; i++)
        free(l->chat[i].text);
    free(l->members);
    free(l->departed);
    free(l);
}

void cc_lessons_free(cc_lessons *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n; i++)
        lesson_free(r->lessons[i]);
    free(r->lessons);
    free(r);
}

int cc_lessons_count(const cc_lessons *r) { return r->n; }

cc_lesson *cc_lessons_at(cc_lessons *r, int i)
{
    return i >= 0 && i < r->n ? r->lessons[i] : NULL;
}

cc_lesson *cc_lessons_find(cc_lessons *r, const char *code)
{
    if (!code)
        return NULL;
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->lessons[i]->code, code) == 0)
            return r->lessons[i];
    return NULL;
}

cc_lesson *cc_lessons_find_room(cc_lessons *r, uint32_t room_id)
{
    for (int i = 0; i < r->n; i++)
        if (r->lessons[i]->room_id == room_id)
            return r->lessons[i];
    return NULL;
}

int cc_lessons_find_session(cc_lessons *r, uint64_t session,
                            cc_lesson **out_lesson, cc_member **out_member)
{
    for (int i = 0; i < r->n; i++) {
        cc_lesson *l = r->lessons[i];
        for (int j = 0; j < l->n_members; j++)
            if (l->members[j]->session == session) {
                if (out_lesson)
                    *out_lesson = l;
                if (out_member)
                    *out_member = l->members[j];
                return 0;
            }
    }
    return CC_ENOTFOUND;
}

/* ---- creation --------------------------------------------------------- */

/* 32 random bytes, unpadded base64url (RFC 4648 section 5): 43 chars. */
static int make_token(char out[CC_LESSON_TOKEN_LEN + 1])
{
    static const char b64url[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char b[33] = {0};
    if (cc_rand_bytes(b, 32) != 0)
        return CC_ECRYPTO;
    int o = 0;
    for (int i = 0; i < 33; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
        for (int k = 0; k < 4 && o < CC_LESSON_TOKEN_LEN; k++)
            out[o++] = b64url[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = 0;
    OPENSSL_cleanse(b, sizeof b);
    return 0;
}

/* 6 random digits, uniform (rejection sampling avoids the modulo bias),
 * not the code of any existing lesson (ended ones included). */
static int make_code(cc_lessons *r, char out[CC_PROTO_CODE_CAP])
{
    const uint32_t limit = UINT32_MAX - UINT32_MAX % 1000000u;
    for (int tries = 0; tries < 10000; tries++) {
        uint32_t v;
        if (cc_rand_bytes(&v, sizeof v) != 0)
            return CC_ECRYPTO;
        if (v >= limit)
            continue;
        snprintf(out, CC_PROTO_CODE_CAP, "%06u", (unsigned)(v % 1000000u));
        if (!cc_lessons_find(r, out))
            return 0;
    }
    return CC_ENOSPC;
}

static uint32_t make_room_id(cc_lessons *r)
{
    for (;;) {
        uint32_t id = r->next_room_id++;
        if (id != 0 && !cc_lessons_find_room(r, id))
            return id;
    }
}

static int valid_code(const char *code)
{
    size_t n = code ? strlen(code) : 0;
    if (n == 0 || n >= CC_PROTO_CODE_CAP)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = code[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
              (c >= 'a' && c <= 'z')))
            return 0;
    }
    return 1;
}

static int copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        return CC_EINVAL;
    memcpy(dst, src ? src : "", n + 1);
    return 0;
}

int cc_lessons_count_open(const cc_lessons *r, int64_t owner)
{
    int n = 0;
    for (int i = 0; i < r->n; i++)
        if (r->lessons[i]->state != CC_LESSON_ENDED && (owner == 0 || r->lessons[i]->owner == owner))
            n++;
    return n;
}

static int new_lesson(cc_lessons *r, const char *code, const char *teacher_name,
                      const char *title, cc_time_us now, cc_lesson **out)
{
    /* Open lessons are what the server serves; an ended one only waits to
     * be forgotten (10 minutes), in its own, larger allowance that bounds
     * memory when lessons are created and ended in a loop. */
    if (cc_lessons_count_open(r, 0) >= r->cfg.max_lessons ||
        r->n >= r->cfg.max_lessons + r->cfg.max_ended)
        return CC_ENOSPC;
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 16;
        cc_lesson **a = realloc(r->lessons, (size_t)cap * sizeof *a);
        if (!a)
            return CC_ENOMEM;
        r->lessons = a;
        r->cap = cap;
    }
    cc_lesson *l = calloc(1, sizeof *l);
    if (!l)
        return CC_ENOMEM;
    int rc;
    if ((rc = copy_str(l->teacher_name, sizeof l->teacher_name, teacher_name)) ||
        (rc = copy_str(l->title, sizeof l->title, title)))
        goto fail;
    if (code)
        rc = copy_str(l->code, sizeof l->code, code);
    else
        rc = make_code(r, l->code);
    if (rc || (rc = make_token(l->teacher_token)) ||
        (rc = make_token(l->viewer_token)))
        goto fail;
    cc_lesson_token_hash(l->teacher_token, l->teacher_hash);
    cc_lesson_token_hash(l->viewer_token, l->viewer_hash);
    l->state = CC_LESSON_WAITING;
    l->last_n = CC_LESSON_DEFAULT_LAST_N;
    l->chat_students = 1;
    l->room_id = make_room_id(r);
    l->created_at = now;
    /* No teacher yet: the creator is added by the caller right away, and a
     * fixed lesson is pinned, so this start of the clock never fires. */
    l->teacher_gone_at = now;
    l->ended_at = CC_TIME_NEVER;
    r->lessons[r->n++] = l;
    *out = l;
    return 0;
fail:
    free(l);
    return rc;
}

static void remove_lesson(cc_lessons *r, cc_lesson *l)
{
    for (int i = 0; i < r->n; i++)
        if (r->lessons[i] == l) {
            r->lessons[i] = r->lessons[--r->n];
            return;
        }
}

static int add_member(cc_lessons *r, cc_lesson *l, cc_role role,
                      const char *name, uint64_t session, cc_time_us now,
                      cc_member **out)
{
    if (role == CC_ROLE_TEACHER ? l->n_teachers >= r->cfg.max_teachers
                                : l->n_students >= r->cfg.max_students)
        return CC_ENOSPC;
    if (l->n_members == l->cap_members) {
        int cap = l->cap_members ? l->cap_members * 2 : 8;
        cc_member **a = realloc(l->members, (size_t)cap * sizeof *a);
        if (!a)
            return CC_ENOMEM;
        l->members = a;
        l->cap_members = cap;
    }
    cc_member *m = calloc(1, sizeof *m);
    if (!m)
        return CC_ENOMEM;
    if (copy_str(m->name, sizeof m->name, name) != 0) {
        free(m);
        return CC_EINVAL;
    }
    m->id = r->next_member_id++;
    if (m->id == 0) /* wrapped after 4 billion members */
        m->id = r->next_member_id++;
    snprintf(m->id_str, sizeof m->id_str, "m%u", (unsigned)m->id);
    m->role = role;
    m->session = session;
    m->invite = -1;
    m->joined_at = now;
    l->members[l->n_members++] = m;
    if (role == CC_ROLE_TEACHER) {
        l->n_teachers++;
        l->teacher_gone_at = CC_TIME_NEVER;
    } else {
        l->n_students++;
    }
    *out = m;
    return 0;
}

int cc_lessons_create(cc_lessons *r, const char *teacher_name,
                      const char *title, uint64_t session, cc_time_us now,
                      cc_lesson **out_lesson, cc_member **out_member)
{
    return cc_lessons_create_owned(r, 0, teacher_name, title, session, now, out_lesson,
                                   out_member);
}

int cc_lessons_create_owned(cc_lessons *r, int64_t owner, const char *teacher_name,
                            const char *title, uint64_t session, cc_time_us now,
                            cc_lesson **out_lesson, cc_member **out_member)
{
    cc_lesson *l;
    cc_member *m;
    if (!teacher_name || !teacher_name[0])
        return CC_EINVAL;
    /* One teacher, a handful of classes at once: more is a page stuck in a
     * loop or someone else using the account, not teaching. */
    if (owner != 0 && r->cfg.max_per_owner > 0 &&
        cc_lessons_count_open(r, owner) >= r->cfg.max_per_owner)
        return CC_ELIMIT;
    int rc = new_lesson(r, NULL, teacher_name, title, now, &l);
    if (rc)
        return rc;
    l->owner = owner;
    rc = add_member(r, l, CC_ROLE_TEACHER, teacher_name, session, now, &m);
    if (rc) {
        remove_lesson(r, l);
        lesson_free(l);
        return rc;
    }
    if (out_lesson)
        *out_lesson = l;
    if (out_member)
        *out_member = m;
    return 0;
}

int cc_lessons_create_fixed(cc_lessons *r, const char *code,
                            const char *teacher_name, const char *title,
                            cc_time_us now, cc_lesson **out_lesson)
{
    cc_lesson *l;
    if (!valid_code(code) || cc_lessons_find(r, code))
        return CC_EINVAL;
    int rc = new_lesson(r, code, teacher_name, title, now, &l);
    if (rc)
        return rc;
    l->pinned = 1;
    if (out_lesson)
        *out_lesson = l;
    return 0;
}

/* ---- tokens ----------------------------------------------------------- */

/* The length of our tokens is public (always 43); only their content is
 * secret, so a length mismatch may return early. */
static int token_eq(const char *want, const char *given)
{
    if (!given || strlen(given) != CC_LESSON_TOKEN_LEN)
        return 0;
    return CRYPTO_memcmp(want, given, CC_LESSON_TOKEN_LEN) == 0;
}

void cc_lesson_token_hash(const char *token, unsigned char out[32])
{
    unsigned int n = 0;
    const char *t = token ? token : "";
    if (EVP_Digest(t, strlen(t), out, &n, EVP_sha256(), NULL) != 1 || n != 32)
        memset(out, 0, 32); /* matches nothing a real token hashes to */
}

/* The token's SHA-256 against a kept one, in constant time. The lesson
 * may know only the hash (restored after a restart, docs/state.md). */
static int hash_eq(const unsigned char want[32], const char *given)
{
    if (!given || strlen(given) != CC_LESSON_TOKEN_LEN)
        return 0;
    unsigned char h[32];
    cc_lesson_token_hash(given, h);
    return CRYPTO_memcmp(want, h, 32) == 0;
}

void cc_lesson_set_tokens(cc_lesson *l, const char *teacher, const char *viewer)
{
    snprintf(l->teacher_token, sizeof l->teacher_token, "%s", teacher ? teacher : "");
    snprintf(l->viewer_token, sizeof l->viewer_token, "%s", viewer ? viewer : "");
    cc_lesson_token_hash(l->teacher_token, l->teacher_hash);
    cc_lesson_token_hash(l->viewer_token, l->viewer_hash);
}

int cc_lesson_check_teacher(const cc_lesson *l, const char *token)
{
    return hash_eq(l->teacher_hash, token);
}

int cc_lesson_check_viewer(const cc_lesson *l, const char *token)
{
    return hash_eq(l->viewer_hash, token);
}

/* ---- members ---------------------------------------------------------- */

int cc_lessons_resume(cc_lessons *r, const char *code, const char *token,
                      uint64_t session, cc_time_us now,
                      cc_lesson **out_lesson, cc_member **out_member)
{
    cc_lesson *l = cc_lessons_find(r, code);
    cc_member *m;
    if (!l)
        return CC_ENOTFOUND;
    if (!cc_lesson_check_teacher(l, token))
        return CC_EAUTH;
    if (l->state == CC_LESSON_ENDED)
        return CC_ECLOSED;
    int rc = add_member(r, l, CC_ROLE_TEACHER, l->teacher_name, session, now, &m);
    if (rc)
        return rc;
    if (out_lesson)
        *out_lesson = l;
    if (out_member)
        *out_member = m;
    return 0;
}

/* A student or school joins: refused while locked; waits for admission
 * while the waiting room is on. */
static int join_as(cc_lessons *r, cc_lesson *l, cc_role role, const char *name,
                   uint64_t session, cc_time_us now, cc_lesson **out_lesson,
                   cc_member **out_member)
{
    if (l->locked)
        return CC_ESTATE;
    if (l->waiting_room && l->n_waiting >= CC_LESSON_MAX_WAITING)
        return CC_ENOSPC;
    char secret[CC_LESSON_TOKEN_LEN + 1];
    if (make_token(secret) != 0)
        return CC_ECRYPTO;
    cc_member *m;
    int rc = add_member(r, l, role, name, session, now, &m);
    if (rc)
        return rc;
    memcpy(m->rejoin, secret, sizeof m->rejoin);
    cc_lesson_token_hash(secret, m->rejoin_hash);
    m->has_rejoin = 1;
    OPENSSL_cleanse(secret, sizeof secret);
    if (l->waiting_room) {
        m->flags |= CC_MEMBER_WAITING;
        l->n_waiting++;
    }
    if (out_lesson)
        *out_lesson = l;
    if (out_member)
        *out_member = m;
    return 0;
}

int cc_lessons_join(cc_lessons *r, const char *code, const char *name,
                    uint64_t session, cc_time_us now,
                    cc_lesson **out_lesson, cc_member **out_member)
{
    cc_lesson *l = cc_lessons_find(r, code);
    if (!l)
        return CC_ENOTFOUND;
    if (l->state == CC_LESSON_ENDED)
        return CC_ECLOSED;
    if (!name || !name[0])
        return CC_EINVAL;
    return join_as(r, l, CC_ROLE_STUDENT, name, session, now, out_lesson, out_member);
}

int cc_lessons_join_school(cc_lessons *r, const char *code, const char *invite,
                           const char *name, uint64_t session, cc_time_us now,
                           cc_lesson **out_lesson, cc_member **out_member)
{
    cc_lesson *l = cc_lessons_find(r, code);
    if (!l)
        return CC_ENOTFOUND;
    int k = -1;
    for (int i = 0; invite && i < l->n_invites; i++)
        if (!l->invites[i].revoked && token_eq(l->invites[i].token, invite))
            k = i;
    if (k < 0)
        return CC_EAUTH;
    if (l->state == CC_LESSON_ENDED)
        return CC_ECLOSED;
    if (!name || !name[0])
        return CC_EINVAL;
    cc_member *m = NULL;
    int rc = join_as(r, l, CC_ROLE_SCHOOL, name, session, now, out_lesson, &m);
    if (rc)
        return rc;
    m->invite = k;
    l->invites[k].uses++;
    if (out_member)
        *out_member = m;
    return 0;
}

/* A new entry at the end of l->departed (the oldest goes past the max),
 * zeroed; NULL out of memory. */
static cc_departed *push_departed(cc_lesson *l)
{
    if (l->n_departed == CC_LESSON_MAX_DEPARTED) {
        memmove(&l->departed[0], &l->departed[1],
                (size_t)(l->n_departed - 1) * sizeof *l->departed);
        l->n_departed--;
    }
    if (l->n_departed == l->cap_departed) {
        int cap = l->cap_departed ? l->cap_departed * 2 : 8;
        if (cap > CC_LESSON_MAX_DEPARTED)
            cap = CC_LESSON_MAX_DEPARTED;
        cc_departed *a = realloc(l->departed, (size_t)cap * sizeof *a);
        if (!a)
            return NULL;
        l->departed = a;
        l->cap_departed = cap;
    }
    cc_departed *d = &l->departed[l->n_departed++];
    memset(d, 0, sizeof *d);
    return d;
}

/* Keeps a student or school that was in the lesson for the member list
 * (and for coming back: cc_lessons_rejoin); out of memory it is simply not
 * kept. */
static void keep_departed(cc_lesson *l, const cc_member *m, cc_time_us now)
{
    if (m->role == CC_ROLE_TEACHER || (m->flags & CC_MEMBER_WAITING) ||
        l->state == CC_LESSON_ENDED)
        return;
    cc_departed *d = push_departed(l);
    if (!d)
        return;
    memcpy(d->id_str, m->id_str, sizeof d->id_str);
    memcpy(d->name, m->name, sizeof d->name);
    d->role = m->role;
    d->joined_at = m->joined_at;
    d->left_at = now;
    d->id = m->id;
    d->flags = m->flags & CC_MEMBER_KEPT;
    d->hand_seq = m->hand_seq;
    d->invite = m->invite;
    d->has_rejoin = m->has_rejoin;
    memcpy(d->rejoin_hash, m->rejoin_hash, sizeof d->rejoin_hash);
}

void cc_lesson_leave(cc_lesson *l, cc_member *m, cc_time_us now)
{
    for (int i = 0; i < l->n_members; i++) {
        if (l->members[i] != m)
            continue;
        /* keep join order for the member list */
        memmove(&l->members[i], &l->members[i + 1],
                (size_t)(l->n_members - i - 1) * sizeof *l->members);
        l->n_members--;
        if (m->role == CC_ROLE_TEACHER) {
            if (--l->n_teachers == 0)
                l->teacher_gone_at = now;
        } else {
            l->n_students--;
        }
        if (m->flags & CC_MEMBER_WAITING)
            l->n_waiting--;
        /* Its hand goes down here but keeps its place for coming back. */
        uint32_t seq = m->hand_seq;
        if (m->hand)
            cc_lesson_hand(l, m, 0);
        m->hand_seq = seq;
        keep_departed(l, m, now);
        free(m);
        return;
    }
}

cc_member *cc_lesson_member(cc_lesson *l, uint32_t member_id)
{
    for (int i = 0; i < l->n_members; i++)
        if (l->members[i]->id == member_id)
            return l->members[i];
    return NULL;
}

int cc_lesson_set_flags(cc_lesson *l, cc_member *m, unsigned flags)
{
    (void)l;
    if (m->flags == flags)
        return 0;
    m->flags = flags;
    return 1;
}

int cc_lesson_set_media(cc_lesson *l, unsigned media)
{
    media &= (1u << CC_SLOT_COUNT) - 1;
    if (l->media == media)
        return 0;
    l->media = media;
    return 1;
}

/* ---- seminars --------------------------------------------------------- */

void cc_lesson_set_kind(cc_lesson *l, cc_lesson_kind kind)
{
    l->kind = kind;
    if (kind == CC_LESSON_KIND_SEMINAR)
        l->waiting_room = 1;
}

int cc_lesson_admit(cc_lesson *l, cc_member *m)
{
    if (!(m->flags & CC_MEMBER_WAITING))
        return CC_ESTATE;
    m->flags &= ~CC_MEMBER_WAITING;
    l->n_waiting--;
    return 0;
}

int cc_lesson_hand(cc_lesson *l, cc_member *m, int up)
{
    if (up ? m->hand != 0 : m->hand == 0)
        return 0;
    if (up) {
        m->hand = ++l->hands;
        m->hand_seq = ++l->hand_next;
        return 1;
    }
    /* Those raised later move up one place. */
    for (int i = 0; i < l->n_members; i++)
        if (l->members[i]->hand > m->hand)
            l->members[i]->hand--;
    m->hand = 0;
    m->hand_seq = 0;
    l->hands--;
    return 1;
}

int cc_lesson_invite_create(cc_lesson *l, const char *label, cc_invite **out)
{
    if (l->n_invites >= CC_LESSON_MAX_INVITES)
        return CC_ELIMIT;
    cc_invite *iv = &l->invites[l->n_invites];
    memset(iv, 0, sizeof *iv);
    if (make_token(iv->token) != 0)
        return CC_ECRYPTO;
    if (copy_str(iv->label, sizeof iv->label, label ? label : "") != 0)
        return CC_EINVAL;
    snprintf(iv->id, sizeof iv->id, "i%d", (l->n_invites + 1) % 100);
    l->n_invites++;
    if (out)
        *out = iv;
    return 0;
}

int cc_lesson_invite_revoke(cc_lesson *l, const char *id)
{
    for (int i = 0; id && i < l->n_invites; i++)
        if (!l->invites[i].revoked && strcmp(l->invites[i].id, id) == 0) {
            l->invites[i].revoked = 1;
            /* The token can never match again. */
            OPENSSL_cleanse(l->invites[i].token, sizeof l->invites[i].token);
            return 0;
        }
    return CC_ENOTFOUND;
}

static void chat_drop_oldest(cc_lesson *l)
{
    cc_chat_msg *c = &l->chat[l->chat_head];
    l->chat_bytes -= c->text ? strlen(c->text) : 0;
    free(c->text);
    memset(c, 0, sizeof *c);
    l->chat_head = (l->chat_head + 1) % CC_LESSON_CHAT_HISTORY;
    l->chat_len--;
}

static int chat_push(cc_lesson *l, const char *from, const char *name, cc_role role,
                     const char *text, int64_t at_ms, const cc_chat_msg **out)
{
    char *copy = strdup(text ? text : "");
    if (!copy)
        return CC_ENOMEM;
    size_t n = strlen(copy);
    while (l->chat_len > 0 && (l->chat_len == CC_LESSON_CHAT_HISTORY ||
                               l->chat_bytes + n > CC_LESSON_CHAT_BYTES))
        chat_drop_oldest(l);
    int slot = (l->chat_head + l->chat_len) % CC_LESSON_CHAT_HISTORY;
    l->chat_len++;
    l->chat_bytes += n;
    cc_chat_msg *c = &l->chat[slot];
    memset(c, 0, sizeof *c);
    snprintf(c->from, sizeof c->from, "%s", from);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->role = role;
    c->text = copy;
    c->at_ms = at_ms;
    if (out)
        *out = c;
    return 0;
}

int cc_lesson_chat_add(cc_lesson *l, const cc_member *from, const char *text,
                       int64_t at_ms, const cc_chat_msg **out)
{
    return chat_push(l, from->id_str, from->name, from->role, text, at_ms, out);
}

int cc_lesson_chat_restore(cc_lesson *l, const cc_chat_msg *msg)
{
    return chat_push(l, msg->from, msg->name, msg->role, msg->text, msg->at_ms, NULL);
}

const cc_chat_msg *cc_lesson_chat_at(const cc_lesson *l, int i)
{
    if (i < 0 || i >= l->chat_len)
        return NULL;
    return &l->chat[(l->chat_head + i) % CC_LESSON_CHAT_HISTORY];
}

cc_member *cc_lesson_member_by_str(cc_lesson *l, const char *id_str)
{
    for (int i = 0; id_str && i < l->n_members; i++)
        if (strcmp(l->members[i]->id_str, id_str) == 0)
            return l->members[i];
    return NULL;
}

/* ---- states ----------------------------------------------------------- */

int cc_lesson_start(cc_lesson *l, cc_time_us now)
{
    (void)now;
    if (l->state == CC_LESSON_ENDED)
        return CC_ECLOSED;
    if (l->state == CC_LESSON_LIVE)
        return 0;
    l->state = CC_LESSON_LIVE;
    return 1;
}

int cc_lesson_end(cc_lesson *l, cc_time_us now)
{
    if (l->state == CC_LESSON_ENDED)
        return 0;
    l->state = CC_LESSON_ENDED;
    l->ended_at = now;
    /* Nobody reads it any more: an ended lesson only waits to be
     * forgotten. */
    while (l->chat_len > 0)
        chat_drop_oldest(l);
    /* The same for the members who left (the teacher pages keep what
     * they were shown; the attendance is in the database): an ended
     * lesson waiting to be forgotten holds no list of up to
     * CC_LESSON_MAX_DEPARTED. */
    free(l->departed);
    l->departed = NULL;
    l->n_departed = l->cap_departed = 0;
    return 1;
}

/* When lesson l next changes by itself (end or forget). */
static cc_time_us lesson_deadline(const cc_lessons_config *cfg,
                                  const cc_lesson *l)
{
    if (l->state == CC_LESSON_ENDED)
        return l->ended_at + cfg->ended_keep;
    if (l->pinned || l->n_teachers > 0 || l->teacher_gone_at == CC_TIME_NEVER)
        return CC_TIME_NEVER;
    return l->teacher_gone_at + (l->state == CC_LESSON_WAITING
                                     ? cfg->waiting_grace
                                     : cfg->live_grace);
}

cc_time_us cc_lessons_deadline(const cc_lessons *r)
{
    cc_time_us d = CC_TIME_NEVER;
    for (int i = 0; i < r->n; i++) {
        cc_time_us t = lesson_deadline(&r->cfg, r->lessons[i]);
        if (t < d)
            d = t;
    }
    return d;
}

int cc_lessons_tick(cc_lessons *r, cc_time_us now, cc_lesson_event_fn fn,
                    void *ud)
{
    int events = 0;
    for (int i = 0; i < r->n;) {
        cc_lesson *l = r->lessons[i];
        if (lesson_deadline(&r->cfg, l) > now) {
            i++;
            continue;
        }
        if (l->state != CC_LESSON_ENDED) {
            /* The teacher stayed away too long: ended as of the deadline, so
             * a late tick does not stretch the 10 minutes. */
            cc_lesson_end(l, lesson_deadline(&r->cfg, l));
            events++;
            if (fn)
                fn(ud, l, CC_LESSON_EV_ENDED);
            continue; /* look at it again: it may be due for forgetting */
        }
        r->lessons[i] = r->lessons[--r->n]; /* i now holds an unseen one */
        events++;
        if (fn)
            fn(ud, l, CC_LESSON_EV_FORGET);
        lesson_free(l);
    }
    return events;
}

/* ---- rules ------------------------------------------------------------ */

int cc_lesson_may(const cc_lesson *l, const cc_member *m, cc_proto_type action,
                  int for_publish, const char **err_code)
{
    const char *code = NULL;
    int waiting = m && (m->flags & CC_MEMBER_WAITING);
    switch (action) {
    case CC_PROTO_PING:
        break;
    case CC_PROTO_CREATE:
    case CC_PROTO_JOIN:
    case CC_PROTO_RESUME:
        if (m)
            code = "already_joined";
        break;
    case CC_PROTO_LEAVE:
        if (!m)
            code = "not_joined";
        break;
    case CC_PROTO_START:
    case CC_PROTO_END:
    case CC_PROTO_PUBLISH:
    case CC_PROTO_UNPUBLISH:
    case CC_PROTO_SUBSCRIBE:
    case CC_PROTO_RENEGOTIATE:
    case CC_PROTO_CAPTURE_LIST:
    case CC_PROTO_CAPTURE_START:
    case CC_PROTO_CAPTURE_STOP:
    case CC_PROTO_HAND:
    case CC_PROTO_FLOOR:
    case CC_PROTO_MUTE:
    case CC_PROTO_REMOVE:
    case CC_PROTO_LOCK:
    case CC_PROTO_WAITING_ROOM:
    case CC_PROTO_ADMIT:
    case CC_PROTO_REFUSE:
    case CC_PROTO_LAST_N:
    case CC_PROTO_CHAT_MODE:
    case CC_PROTO_CHAT:
    case CC_PROTO_INVITE_CREATE:
    case CC_PROTO_INVITE_REVOKE:
    case CC_PROTO_QUALITY:
    case CC_PROTO_RECORD_START:
    case CC_PROTO_RECORD_STOP: {
        int publishing = action == CC_PROTO_PUBLISH || action == CC_PROTO_UNPUBLISH ||
                         (action == CC_PROTO_RENEGOTIATE && for_publish);
        int anyone = action == CC_PROTO_SUBSCRIBE || action == CC_PROTO_CHAT ||
                     (action == CC_PROTO_RENEGOTIATE && !for_publish);
        /* Hands and what a page plays are a student's or school's. */
        int guest_ok = action == CC_PROTO_HAND || action == CC_PROTO_QUALITY;
        /* A school publishes its camera and microphone; a student only
         * while it has the floor (docs/protocol.md "Seminars"). */
        int may_publish = m && (m->role == CC_ROLE_TEACHER || m->role == CC_ROLE_SCHOOL ||
                                (m->role == CC_ROLE_STUDENT && (m->flags & CC_MEMBER_FLOOR)));
        /* After the end, nothing new may start; ending again, unpublishing
         * and stopping or listing capture are harmless. */
        int refused_when_ended = action != CC_PROTO_END &&
                                 action != CC_PROTO_RECORD_STOP &&
                                 action != CC_PROTO_UNPUBLISH &&
                                 action != CC_PROTO_CAPTURE_LIST &&
                                 action != CC_PROTO_CAPTURE_STOP;
        if (!m || !l)
            code = "not_joined";
        else if (waiting)
            code = "not_admitted";
        else if (publishing ? !may_publish
                            : guest_ok ? m->role == CC_ROLE_TEACHER
                                       : !anyone && m->role != CC_ROLE_TEACHER)
            code = "forbidden";
        else if (refused_when_ended && l->state == CC_LESSON_ENDED)
            code = "lesson_ended";
        break;
    }
    default:
        code = "unknown_type";
        break;
    }
    if (err_code)
        *err_code = code;
    return code == NULL;
}

int cc_lesson_is_capture(cc_proto_type action)
{
    return action == CC_PROTO_CAPTURE_LIST || action == CC_PROTO_CAPTURE_START ||
           action == CC_PROTO_CAPTURE_STOP;
}

int cc_lesson_may_local(cc_proto_type action, int from_loopback,
                        const char **err_code)
{
    const char *code = NULL;
    if (cc_lesson_is_capture(action) && !from_loopback)
        code = "forbidden";
    if (err_code)
        *err_code = code;
    return code == NULL;
}

const char *cc_lesson_err_code(int err)
{
    switch (err) {
    case CC_ENOTFOUND: return "no_such_lesson";
    case CC_EAUTH: return "bad_token";
    case CC_ECLOSED: return "lesson_ended";
    case CC_ENOSPC: return "server_busy";
    case CC_ELIMIT: return "too_many_lessons";
    case CC_EINVAL: return "bad_request";
    default: return "server_error";
    }
}

const char *cc_lesson_state_name(cc_lesson_state s)
{
    switch (s) {
    case CC_LESSON_WAITING: return "waiting";
    case CC_LESSON_LIVE: return "live";
    case CC_LESSON_ENDED: return "ended";
    }
    return "unknown";
}

const char *cc_role_name(cc_role r)
{
    return r == CC_ROLE_TEACHER ? "teacher" : r == CC_ROLE_SCHOOL ? "school" : "student";
}

/* ---- coming back, restoring (docs/state.md) ----------------------------- */

/* A hand back at its place in the raise order: those raised after it
 * (a larger hand_seq) move down one place. */
static void hand_back(cc_lesson *l, cc_member *m, uint32_t seq)
{
    int place = 1;
    for (int i = 0; i < l->n_members; i++) {
        cc_member *o = l->members[i];
        if (o == m || !o->hand)
            continue;
        if (o->hand_seq < seq)
            place++;
        else
            o->hand++;
    }
    m->hand = place;
    m->hand_seq = seq;
    l->hands++;
}

static int secret_eq(const unsigned char want[32], const unsigned char h[32])
{
    return CRYPTO_memcmp(want, h, 32) == 0;
}

/* The departed member with this secret's hash, or -1. */
static int departed_with(const cc_lesson *l, const unsigned char h[32])
{
    for (int i = 0; i < l->n_departed; i++)
        if (l->departed[i].has_rejoin && secret_eq(l->departed[i].rejoin_hash, h))
            return i;
    return -1;
}

/* A departed member back in the lesson as itself. */
static int bring_back(cc_lessons *r, cc_lesson *l, int k, uint64_t session, cc_time_us now,
                      cc_member **out)
{
    cc_departed d = l->departed[k];
    cc_member *m;
    int rc = add_member(r, l, d.role, d.name, session, now, &m);
    if (rc)
        return rc;
    memmove(&l->departed[k], &l->departed[k + 1],
            (size_t)(l->n_departed - k - 1) * sizeof *l->departed);
    l->n_departed--;
    m->id = d.id;
    memcpy(m->id_str, d.id_str, sizeof m->id_str);
    m->invite = d.invite;
    m->flags = d.flags & CC_MEMBER_KEPT;
    m->joined_at = d.joined_at;
    if (d.hand_seq)
        hand_back(l, m, d.hand_seq);
    *out = m;
    return 0;
}

int cc_lessons_rejoin(cc_lessons *r, const char *code, const char *secret,
                      uint64_t session, cc_time_us now, cc_lesson **out_lesson,
                      cc_member **out_member, uint64_t *replaced)
{
    if (replaced)
        *replaced = 0;
    cc_lesson *l = cc_lessons_find(r, code);
    if (!l)
        return CC_ENOTFOUND;
    if (l->state == CC_LESSON_ENDED)
        return CC_ECLOSED;
    if (!secret || strlen(secret) != CC_LESSON_TOKEN_LEN)
        return CC_EAUTH;
    unsigned char h[32];
    cc_lesson_token_hash(secret, h);
    char fresh[CC_LESSON_TOKEN_LEN + 1];
    if (make_token(fresh) != 0)
        return CC_ECRYPTO;
    cc_member *m = NULL;
    for (int i = 0; i < l->n_members && !m; i++)
        if (l->members[i]->has_rejoin && secret_eq(l->members[i]->rejoin_hash, h))
            m = l->members[i];
    if (m) {
        /* Its old connection has not closed yet (a half-open socket after
         * a network change): the member moves to the new one. */
        if (replaced)
            *replaced = m->session;
        m->session = session;
        m->flags &= ~(CC_MEMBER_WATCHING | CC_MEMBER_PUBLISHING | CC_MEMBER_WEAK_LINK |
                      CC_MEMBER_FROZEN);
        m->pub_kinds = 0;
    } else {
        int k = departed_with(l, h);
        if (k < 0)
            return CC_EAUTH;
        int rc = bring_back(r, l, k, session, now, &m);
        if (rc)
            return rc;
    }
    /* A secret works once: the next `joined` carries the next one. */
    memcpy(m->rejoin, fresh, sizeof m->rejoin);
    cc_lesson_token_hash(fresh, m->rejoin_hash);
    m->has_rejoin = 1;
    OPENSSL_cleanse(fresh, sizeof fresh);
    if (out_lesson)
        *out_lesson = l;
    if (out_member)
        *out_member = m;
    return 0;
}

void cc_lesson_revoke_rejoin(cc_lesson *l, uint32_t member_id)
{
    cc_member *m = cc_lesson_member(l, member_id);
    if (m) {
        m->has_rejoin = 0;
        OPENSSL_cleanse(m->rejoin, sizeof m->rejoin);
        memset(m->rejoin_hash, 0, sizeof m->rejoin_hash);
    }
    for (int i = 0; i < l->n_departed; i++)
        if (l->departed[i].id == member_id) {
            l->departed[i].has_rejoin = 0;
            memset(l->departed[i].rejoin_hash, 0, sizeof l->departed[i].rejoin_hash);
        }
}

int cc_lessons_restore(cc_lessons *r, const cc_lesson_saved *s, cc_lesson **out)
{
    if (!s || !valid_code(s->code) || !s->teacher_hash || !s->viewer_hash ||
        s->state < CC_LESSON_WAITING || s->state > CC_LESSON_ENDED ||
        (s->kind != CC_LESSON_KIND_LESSON && s->kind != CC_LESSON_KIND_SEMINAR))
        return CC_EINVAL;
    if (cc_lessons_find(r, s->code))
        return CC_EEXIST;
    cc_lesson *l;
    int rc = new_lesson(r, s->code, s->teacher_name, s->title, s->created_at, &l);
    if (rc)
        return rc;
    /* Only the hashes outlive a restart: the checks use them. */
    OPENSSL_cleanse(l->teacher_token, sizeof l->teacher_token);
    OPENSSL_cleanse(l->viewer_token, sizeof l->viewer_token);
    memcpy(l->teacher_hash, s->teacher_hash, 32);
    memcpy(l->viewer_hash, s->viewer_hash, 32);
    l->kind = s->kind;
    l->state = s->state;
    l->owner = s->owner;
    l->locked = !!s->locked;
    l->waiting_room = !!s->waiting_room;
    l->last_n = s->last_n < 0 ? 0 : s->last_n > CC_LESSON_MAX_LAST_N ? CC_LESSON_MAX_LAST_N
                                                                       : s->last_n;
    l->chat_students = !!s->chat_students;
    l->teacher_gone_at = s->teacher_gone_at;
    l->ended_at = s->state == CC_LESSON_ENDED ? s->ended_at : CC_TIME_NEVER;
    if (out)
        *out = l;
    return 0;
}

int cc_lesson_restore_departed(cc_lessons *r, cc_lesson *l, const cc_departed *d)
{
    if (!d || d->id == 0 || d->role == CC_ROLE_TEACHER || !d->name[0] ||
        !memchr(d->name, 0, sizeof d->name))
        return CC_EINVAL;
    if (cc_lesson_member(l, d->id))
        return CC_EEXIST;
    for (int i = 0; i < l->n_departed; i++)
        if (l->departed[i].id == d->id)
            return CC_EEXIST;
    cc_departed *p = push_departed(l);
    if (!p)
        return CC_ENOMEM;
    *p = *d;
    snprintf(p->id_str, sizeof p->id_str, "m%u", (unsigned)d->id);
    p->flags &= CC_MEMBER_KEPT;
    /* New members get ids above every restored one. */
    if (d->id >= r->next_member_id)
        r->next_member_id = d->id + 1;
    if (d->hand_seq > l->hand_next)
        l->hand_next = d->hand_seq;
    return 0;
}

int cc_lesson_restore_invite(cc_lesson *l, const cc_invite *iv)
{
    if (l->n_invites >= CC_LESSON_MAX_INVITES)
        return CC_ELIMIT;
    cc_invite *p = &l->invites[l->n_invites++];
    *p = *iv;
    p->id[sizeof p->id - 1] = 0;
    p->label[sizeof p->label - 1] = 0;
    p->token[sizeof p->token - 1] = 0;
    if (p->revoked)
        OPENSSL_cleanse(p->token, sizeof p->token);
    return 0;
}
