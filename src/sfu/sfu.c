/* classcast: the SFU application (issue "SFU data plane"): lesson rooms on a
 * worker, publishers feeding three slots, every subscriber receiving each
 * slot on its own fixed SSRC. See include/classcast/sfu.h.
 *
 * Packet path (worker thread, no malloc, no GLib, no jansson):
 *   publisher RTP -> parse once (RTP header, VP8 descriptor) -> receive stats
 *   + loss tracking + NACK cache (one cc_pkt copy) -> for every subscriber of
 *   the room: cc_fwd_write straight into the socket's next send slot ->
 *   cc_worker_tx_commit_rtp (SRTP in place, queued for the worker's one
 *   sendmmsg after the receive batch).
 * Ownership: worker > sfu > room > (publisher list, subscriber list). The
 * per-peer state (sfu_peer) is the worker peer's app_state: made by the
 * prepare functions on the control thread, owned by the worker afterwards,
 * freed in on_closed, which also unlinks it from its room.
 *
 * This file: the sfu object, rooms and feeds, the NACK cache shares, the
 * fan-out and the worker callbacks. Rooms over several workers are in
 * sfu_mirror.c, RTCP and the ticks in sfu_feedback.c, offers and answers in
 * sfu_negotiate.c, the local publisher and recording in sfu_local.c. */
#include "sfu_priv.h"

/* A track never gets less than this share (a cap too small for the tracks
 * then shows as cache_alloc_fail and reused buffers, not as no cache). */
#define SFU_CACHE_MIN_QUOTA 32
/* The longest kept chain a new subscriber is started on (out_replay): a
 * still screen's keyframe and what followed fit; a camera's chain of
 * seconds of moving pictures is not worth decoding in a burst. */
#define SFU_REPLAY_MAX 256
/* ... and paced at this rate (bit/s): its link is not known yet, and a
 * still 1080p screen's chain (60-250 KB) at line rate would overflow a
 * Wi-Fi queue or a socket buffer on the way; at 10 Mbit/s it takes
 * 50-200 ms. */
#define SFU_REPLAY_BPS 10000000u

const char *const sfu_slot_names[CC_SLOT_COUNT] = {"camera", "screen", "mic"};

int sfu_pub_tracks(const sfu_peer *pp, cc_track **ts)
{
    int n = 0;
    for (int i = 0; i < CC_SLOT_COUNT; i++)
        for (int k = 0; pp->in[i].active && k < pp->in[i].n_enc; k++)
            if (pp->in[i].enc[k])
                ts[n++] = pp->in[i].enc[k];
    return n;
}

/* Free a slot's tracks (all its encodings). */
void sfu_in_free_tracks(sfu_in *in)
{
    for (int k = 0; k < SFU_SIM; k++)
        if (in->enc[k] && in->enc[k] != in->track) {
            cc_track_clear(in->enc[k]);
            free(in->enc[k]);
        }
    if (in->track) {
        cc_track_clear(in->track);
        free(in->track);
    }
    in->track = NULL;
    memset(in->enc, 0, sizeof in->enc);
    in->n_enc = 0;
}

int sfu_slot_is_video(int slot) { return slot != CC_SLOT_MIC; }

/* ------------------------------------------------------------------ */
/* sfu object and room table                                           */
/* ------------------------------------------------------------------ */

static int64_t replay_age_of(int mode)
{
    return mode == CC_SFU_REPLAY_OFF   ? 0
           : mode == CC_SFU_REPLAY_ANY ? INT64_MAX
                                       : (int64_t)CC_SFU_REPLAY_FRESH_US;
}

void cc_sfu_set_keyframe_replay(cc_sfu *s, int mode)
{
    __atomic_store_n(&s->replay_age, replay_age_of(mode), __ATOMIC_RELAXED);
}

int cc_sfu_new_config(cc_sfu **out, const cc_sfu_config *cfg)
{
    *out = NULL;
    cc_sfu *s = calloc(1, sizeof *s);
    if (!s)
        return CC_ENOMEM;
    s->cache_bytes = cfg && cfg->nack_cache_bytes
                         ? cfg->nack_cache_bytes
                         : (size_t)CC_SFU_DEFAULT_NACK_CACHE_MB << 20;
    size_t pkts = s->cache_bytes / sizeof(cc_pkt);
    if (pkts < SFU_POOL_CHUNK)
        pkts = SFU_POOL_CHUNK;
    if (pkts > UINT32_MAX / 2)
        pkts = UINT32_MAX / 2;
    s->cache_pkts = (uint32_t)(pkts / SFU_POOL_CHUNK * SFU_POOL_CHUNK);
    s->cache_quota = CC_TRACK_CACHE;
    s->twcc_scratch = calloc(SFU_TWCC_SCRATCH, sizeof *s->twcc_scratch);
    int rc = s->twcc_scratch ? cc_pkt_pool_new_growable(&s->pool, SFU_POOL_CHUNK,
                                                         s->cache_pkts)
                             : CC_ENOMEM;
    if (rc != 0) {
        free(s->twcc_scratch);
        free(s);
        return rc;
    }
    s->replay_age = replay_age_of(cfg ? cfg->keyframe_replay : CC_SFU_REPLAY_FRESH);
    *out = s;
    return 0;
}

int cc_sfu_new(cc_sfu **out) { return cc_sfu_new_config(out, NULL); }

/* A mirror's shadow tracks hold references to the owner worker's packets. */
static void room_drop_shadows(sfu_room *r)
{
    for (int i = 0; i < CC_SFU_MAX_FEEDS; i++)
        if (r->feeds[i].shadow) {
            sfu_in_free_tracks(r->feeds[i].shadow);
            free(r->feeds[i].shadow);
            r->feeds[i].shadow = NULL;
        }
}

static void room_free(sfu_room *r)
{
    room_drop_shadows(r);
    free(r);
}

void cc_sfu_release_shared(cc_sfu *s)
{
    for (int b = 0; s && b < SFU_ROOM_BUCKETS; b++)
        for (sfu_room *r = s->rooms[b]; r; r = r->next)
            room_drop_shadows(r);
    /* and what the other workers sent that nobody read */
    for (int k = 0; s && k < s->n_workers; k++) {
        cc_pkt *p;
        while (s->xfrom[k] && (p = cc_ring_pop(s->xfrom[k])))
            cc_pkt_unref(p);
    }
}

void cc_sfu_free(cc_sfu *s)
{
    if (!s)
        return;
    for (int b = 0; b < SFU_ROOM_BUCKETS; b++) {
        sfu_room *r = s->rooms[b];
        while (r) {
            sfu_room *n = r->next;
            /* Peers are the worker's and already gone (cc_worker_free). */
            room_free(r);
            r = n;
        }
    }
    /* Local publishers never detached: release what their rings hold. */
    while (s->locals) {
        sfu_local *lp = s->locals;
        s->locals = lp->next;
        cc_pkt *p;
        while ((p = cc_ring_pop(lp->ring)))
            cc_pkt_unref(p);
        sfu_peer_state_free_tracks(&lp->pp);
        free(lp);
    }
    cc_pkt_pool_free(s->pool);
    free(s->twcc_scratch);
    free(s);
}

void cc_sfu_get_stats(const cc_sfu *s, cc_sfu_stats *out)
{
#define CC_X(name) out->name = __atomic_load_n(&s->c.name, __ATOMIC_RELAXED);
    CC_SFU_COUNTERS(CC_X)
#undef CC_X
    cc_pkt_pool_stats ps;
    cc_pkt_pool_get_stats(s->pool, &ps);
    out->nack_cache_pkts = ps.in_use;
    out->nack_cache_bytes = (uint64_t)ps.capacity * sizeof(cc_pkt);
    out->nack_cache_cap_bytes = (uint64_t)s->cache_pkts * sizeof(cc_pkt);
}

sfu_room *sfu_room_find(cc_sfu *s, uint32_t id)
{
    for (sfu_room *r = s->rooms[id % SFU_ROOM_BUCKETS]; r; r = r->next)
        if (r->id == id)
            return r;
    return NULL;
}

void sfu_emit_ev(cc_worker *w, const sfu_peer *pp, int kind, unsigned active, int weak)
{
    /* Rare (connect, close, a slot appearing, a link turning weak or
     * good): allocation is fine here. */
    cc_sfu_event *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->hdr.type = CC_SFU_EVENT;
    e->kind = kind;
    e->room_id = pp->room_id;
    e->member_id = pp->member_id;
    e->publisher = pp->publisher;
    snprintf(e->ufrag, sizeof e->ufrag, "%s", pp->ufrag);
    e->active_slots = active;
    e->weak = weak;
    cc_worker_emit(w, &e->hdr);
}

static void emit(cc_worker *w, const sfu_peer *pp, int kind, unsigned active)
{
    sfu_emit_ev(w, pp, kind, active, 0);
}

static unsigned room_mask(const sfu_room *r)
{
    unsigned m = 0;
    for (int s = 0; s < CC_SLOT_COUNT; s++)
        if (r->feeds[s].src || r->feeds[s].mirror_live)
            m |= 1u << s;
    return m;
}

void sfu_room_update_mask(cc_worker *w, sfu_room *r, const sfu_peer *cause)
{
    unsigned m = room_mask(r);
    if (m != r->active) {
        r->active = m;
        emit(w, cause, CC_SFU_EV_MEDIA, m);
    }
}

/* ---- feeds ---- */

int sfu_feed_find(const sfu_room *r, uint32_t owner, int slot)
{
    if (slot < 0 || slot >= CC_SLOT_COUNT)
        return -1;
    if (owner == 0)
        return slot;
    for (int i = CC_SLOT_COUNT; i < CC_SFU_MAX_FEEDS; i++)
        if (r->feeds[i].used && r->feeds[i].owner == owner && r->feeds[i].slot == slot)
            return i;
    return -1;
}

sfu_policy *sfu_policy_of(sfu_room *r, uint32_t owner, int create)
{
    for (int i = 0; i < r->n_policy; i++)
        if (r->policy[i].owner == owner)
            return &r->policy[i];
    if (!create || r->n_policy >= SFU_MAX_POLICIES)
        return NULL;
    sfu_policy *p = &r->policy[r->n_policy++];
    memset(p, 0, sizeof *p);
    p->owner = owner;
    return p;
}

/* Which out of a subscriber each feed goes to. */
void sfu_sub_remap(const sfu_room *r, sfu_peer *sp)
{
    memset(sp->feed_out, -1, sizeof sp->feed_out);
    for (int i = 0; i < sp->n_out; i++) {
        const sfu_out *o = &sp->out[i];
        int f = o->active ? sfu_feed_find(r, o->owner, o->slot) : -1;
        if (f >= 0)
            sp->feed_out[f] = (int8_t)i;
    }
}

void sfu_room_remap(sfu_room *r)
{
    for (sfu_peer *sp = r->subs; sp; sp = sp->next)
        sfu_sub_remap(r, sp);
}

static int owner_visible(const sfu_room *r, uint32_t owner)
{
    for (int i = 0; i < r->n_shown; i++)
        if (r->shown[i] == owner)
            return 1;
    return 0;
}

/* The feed (owner, slot), made if needed: a free entry, else one whose
 * sender has gone. -1 when the room has CC_SFU_MAX_FEEDS live feeds. */
static int feed_get(sfu_room *r, uint32_t owner, int slot)
{
    int f = sfu_feed_find(r, owner, slot);
    if (f >= 0 || owner == 0)
        return f;
    for (int i = CC_SLOT_COUNT; i < CC_SFU_MAX_FEEDS && f < 0; i++)
        if (!r->feeds[i].used)
            f = i;
    for (int i = CC_SLOT_COUNT; i < CC_SFU_MAX_FEEDS && f < 0; i++)
        if (!r->feeds[i].src)
            f = i;
    if (f < 0)
        return -1;
    sfu_feed *fd = &r->feeds[f];
    memset(fd, 0, sizeof *fd);
    fd->used = 1;
    fd->owner = owner;
    fd->slot = slot;
    const sfu_policy *p = sfu_policy_of(r, owner, 0);
    fd->muted = p ? p->muted : 0;
    fd->teacher_only = p ? p->teacher_only : 0;
    fd->visible = owner_visible(r, owner);
    sfu_room_remap(r);
    return f;
}

/* Which guest cameras flow to non-teachers: the last N speakers, and
 * while fewer than N have spoken, the other guests that send a camera
 * (in the order they came), so a seminar with two schools shows both
 * before anyone speaks. When the set changes: the feeds' flags, and an
 * event for the control thread (the pages' `speakers`). */
void sfu_room_update_shown(cc_worker *w, cc_sfu *s, sfu_room *r, const sfu_peer *cause)
{
    r->speakers_version = cc_speakers_version(&r->speakers);
    uint32_t ids[CC_SFU_MAX_LAST_N], spoke[CC_SFU_MAX_LAST_N];
    int ns = cc_speakers_recent(&r->speakers, spoke, CC_SFU_MAX_LAST_N), n = 0;
    /* A camera kept to the teacher takes no place among the shown. */
    for (int k = 0; k < ns && n < r->last_n; k++) {
        int f = sfu_feed_find(r, spoke[k], CC_SLOT_CAMERA);
        if (f < 0 || !r->feeds[f].teacher_only)
            ids[n++] = spoke[k];
    }
    int recent = n;
    for (int i = CC_SLOT_COUNT; i < CC_SFU_MAX_FEEDS && n < r->last_n; i++) {
        const sfu_feed *f = &r->feeds[i];
        if (!f->used || f->slot != CC_SLOT_CAMERA || !f->src || f->teacher_only)
            continue;
        int dup = 0;
        for (int k = 0; k < n; k++)
            dup |= ids[k] == f->owner;
        if (!dup)
            ids[n++] = f->owner;
    }
    if (n == r->n_shown && recent == r->n_recent &&
        memcmp(ids, r->shown, (size_t)n * sizeof ids[0]) == 0)
        return;
    memcpy(r->shown, ids, (size_t)n * sizeof ids[0]);
    r->n_shown = n;
    r->n_recent = recent;
    for (int i = CC_SLOT_COUNT; i < CC_SFU_MAX_FEEDS; i++)
        if (r->feeds[i].used)
            r->feeds[i].visible = owner_visible(r, r->feeds[i].owner);
    sfu_mirror_sync_room(s, r);
    INC(s, speaker_changes);
    /* The schools' cameras the students see change with who speaks: worth
     * a line when a seminar's picture is asked about (a few a minute). */
    char list[CC_SFU_MAX_LAST_N * 11 + 1];
    size_t o = 0;
    list[0] = '\0';
    for (int k = 0; k < n && o < sizeof list; k++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%u", k ? "," : "", ids[k]);
    CC_INFO("sfu", "room %u: cameras shown %s (the first %d have spoken)",
            r->id, n ? list : "none", recent);
    cc_sfu_event *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->hdr.type = CC_SFU_EVENT;
    e->kind = CC_SFU_EV_SPEAKERS;
    e->room_id = r->id;
    e->member_id = cause ? cause->member_id : 0;
    memcpy(e->speakers, ids, (size_t)n * sizeof ids[0]);
    e->n_speakers = n;
    e->n_recent = recent;
    cc_worker_emit(w, &e->hdr);
}

void sfu_list_add(sfu_peer **head, sfu_peer *p)
{
    p->prev = NULL;
    p->next = *head;
    if (*head)
        (*head)->prev = p;
    *head = p;
}

static void list_del(sfu_peer **head, sfu_peer *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        *head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->next = p->prev = NULL;
}

typedef struct room_call {
    uint32_t id;
} room_call;

void sfu_do_room_open(cc_worker *w, void *arg, cc_time_us now)
{
    (void)now;
    cc_sfu *s = cc_worker_app_ud(w);
    uint32_t id = ((room_call *)arg)->id;
    if (!s || sfu_room_find(s, id))
        return;
    sfu_room *r = calloc(1, sizeof *r);
    if (!r) {
        CC_ERROR("sfu", "room %u: out of memory", id);
        return;
    }
    r->id = id;
    for (int i = 0; i < CC_SLOT_COUNT; i++) {
        r->feeds[i].used = 1;
        r->feeds[i].slot = i;
    }
    r->last_n = 2;
    cc_speakers_init(&r->speakers);
    r->speakers_version = cc_speakers_version(&r->speakers);
    r->next = s->rooms[id % SFU_ROOM_BUCKETS];
    s->rooms[id % SFU_ROOM_BUCKETS] = r;
    INC(s, rooms);
    CC_INFO("sfu", "room %u open", id);
}

void sfu_unlink_peer(cc_sfu *s, sfu_peer *pp)
{
    sfu_room *r = pp->room;
    if (!r)
        return;
    if (pp->publisher) {
        list_del(&r->pubs, pp);
        DEC(s, publishers);
    } else {
        list_del(&r->subs, pp);
        DEC(s, subscribers);
    }
    pp->room = NULL;
}

static void do_room_close(cc_worker *w, void *arg, cc_time_us now)
{
    (void)now;
    cc_sfu *s = cc_worker_app_ud(w);
    uint32_t id = ((room_call *)arg)->id;
    sfu_room **pr = s ? &s->rooms[id % SFU_ROOM_BUCKETS] : NULL;
    while (pr && *pr && (*pr)->id != id)
        pr = &(*pr)->next;
    if (!pr || !*pr)
        return;
    sfu_room *r = *pr;
    *pr = r->next;
    sfu_peer *lists[2] = {r->pubs, r->subs};
    for (int k = 0; k < 2; k++) {
        for (sfu_peer *p = lists[k], *n; p; p = n) {
            n = p->next;
            sfu_unlink_peer(s, p);
            if (p->wp)
                cc_worker_close_peer(w, p->wp);
            /* a local publisher stays attached to its ring, roomless,
             * until it is detached; its cache goes now */
            for (int i = 0; p->local && i < CC_SLOT_COUNT; i++)
                for (int k = 0; k < p->in[i].n_enc; k++)
                    if (p->in[i].enc[k])
                        cc_track_clear(p->in[i].enc[k]);
        }
    }
    if (r->rec)
        DEC(s, recordings); /* the recorder detaches later: nothing to do */
    if (r->mirror_of)
        DEC(s, mirror_rooms);
    else
        DEC(s, rooms);
    room_free(r);
    sfu_cache_rebalance(s);
    CC_INFO("sfu", "room %u closed", id);
}

static int room_call_post(cc_worker *w, uint32_t id, cc_worker_fn fn)
{
    room_call *c = malloc(sizeof *c);
    if (!c)
        return CC_ENOMEM;
    c->id = id;
    return cc_worker_call(w, fn, c, free);
}

int cc_sfu_room_open(cc_worker *w, uint32_t room_id)
{
    return room_call_post(w, room_id, sfu_do_room_open);
}

int cc_sfu_room_close(cc_worker *w, uint32_t room_id)
{
    return room_call_post(w, room_id, do_room_close);
}

/* ------------------------------------------------------------------ */
/* NACK cache shares                                                    */
/* ------------------------------------------------------------------ */

static int room_cache_tracks(const sfu_room *r)
{
    int n = 0;
    cc_track *ts[SFU_MAX_TRACKS];
    for (const sfu_peer *p = r->pubs; p; p = p->next) {
        int nt = sfu_pub_tracks(p, ts);
        for (int j = 0; j < nt; j++)
            n += ts[j]->video;
    }
    return n;
}

/* Each video track's share of the cache: the worker's cap split evenly
 * over its video tracks, and its room's SFU_ROOM_CACHE_PKTS over the
 * room's, at most CC_TRACK_CACHE. Run when publishers come, go or
 * renegotiate: a few rooms of a few publishers each. A track over its new
 * share gives back its oldest packets at its next put. */
void sfu_cache_rebalance(cc_sfu *s)
{
    unsigned total = 0;
    for (int b = 0; b < SFU_ROOM_BUCKETS; b++)
        for (sfu_room *r = s->rooms[b]; r; r = r->next)
            total += (unsigned)room_cache_tracks(r);
    unsigned q = total ? s->cache_pkts / total : CC_TRACK_CACHE;
    if (q > CC_TRACK_CACHE)
        q = CC_TRACK_CACHE;
    for (int b = 0; b < SFU_ROOM_BUCKETS; b++)
        for (sfu_room *r = s->rooms[b]; r; r = r->next) {
            int n = room_cache_tracks(r);
            unsigned rq = n ? SFU_ROOM_CACHE_PKTS / (unsigned)n : CC_TRACK_CACHE;
            if (rq > q)
                rq = q;
            if (rq < SFU_CACHE_MIN_QUOTA)
                rq = SFU_CACHE_MIN_QUOTA;
            cc_track *ts[SFU_MAX_TRACKS];
            for (sfu_peer *p = r->pubs; p; p = p->next) {
                int nt = sfu_pub_tracks(p, ts);
                for (int j = 0; j < nt; j++)
                    if (ts[j]->video)
                        cc_track_cache_set_quota(ts[j], rq);
            }
        }
    __atomic_store_n(&s->c.nack_cache_quota, (uint64_t)q, __ATOMIC_RELAXED);
    __atomic_store_n(&s->c.nack_cache_tracks, (uint64_t)total, __ATOMIC_RELAXED);
    /* Said once when the cap starts to bite (rate-limited, in case a track
     * comes and goes at the boundary), and when it stops. */
    int capped = q < CC_TRACK_CACHE;
    if (capped && !s->cache_capped)
        CC_LOG_RL(CC_LOG_WARN, "sfu", "NACK cache cap reached: %u video tracks share "
                  "%zu MiB (nack-cache-mb), so each keeps its last %u packets, not %u "
                  "(about %.1f s of a 1.5 Mbit/s camera), fewer as more come: losses "
                  "older than that are not repaired; more memory for nack-cache-mb "
                  "lifts it", total, s->cache_bytes >> 20, q, CC_TRACK_CACHE, q / 180.0);
    else if (capped && q != s->cache_quota)
        CC_DEBUG("sfu", "NACK cache: %u video tracks, %u packets each", total, q);
    else if (!capped && s->cache_capped)
        CC_LOG_RL(CC_LOG_INFO, "sfu", "NACK cache: %u video tracks, under the cap again: "
                  "each keeps up to %u packets", total, CC_TRACK_CACHE);
    s->cache_capped = capped;
    s->cache_quota = q;
}

/* ------------------------------------------------------------------ */
/* RTP from a publisher: fan-out                                         */
/* ------------------------------------------------------------------ */

/* The m-line feeding an out (owner: the publisher's; mirror: the feed's
 * shadow), or NULL. */
sfu_in *sfu_out_in(sfu_room *r, const sfu_out *o)
{
    int f = r ? sfu_feed_find(r, o->owner, o->slot) : -1;
    if (f < 0)
        return NULL;
    if (r->mirror_of) {
        sfu_in *in = r->feeds[f].mirror_live ? r->feeds[f].shadow : NULL;
        return in && in->n_enc > 0 ? in : NULL;
    }
    sfu_peer *pub = r->feeds[f].src;
    return pub && pub->in[o->slot].active ? &pub->in[o->slot] : NULL;
}

/* The track a subscriber's out gets its packets from now, or NULL. */
cc_track *sfu_out_track(sfu_room *r, const sfu_out *o)
{
    const sfu_in *in = sfu_out_in(r, o);
    if (!in)
        return NULL;
    if (in->n_enc > 1 && o->cur_enc >= 0)
        return in->enc[o->cur_enc < in->n_enc ? o->cur_enc : in->n_enc - 1];
    return in->track;
}

/* The encoding an out wants of in. */
static int want_enc(const sfu_in *in, const sfu_out *o)
{
    return o->want_enc < in->n_enc ? o->want_enc : in->n_enc - 1;
}

static void first_picture(cc_sfu *s, const sfu_peer *sub, sfu_out *o, cc_time_us now);

/* Instant picture: a subscriber that just connected gets the source's last
 * keyframe and every packet after it from the cache, at once, instead of
 * waiting for the publisher to answer a keyframe request (a browser
 * sharing a still screen answers only with its next captured frame, up to
 * a second later). The replayed pictures are given timestamps one tick
 * apart ending where live pictures continue, so the receiver decodes
 * them in a burst and shows the newest now rather than playing the past
 * again (RFC 3550 5.1: the timestamp is the sampling instant; a receiver
 * schedules display from it). 1 if the out started this way, 0 if it
 * must wait for a keyframe (no complete chain cached, a held feed). */
static int out_replay(cc_worker *w, cc_sfu *s, sfu_room *r, sfu_peer *sub, sfu_out *o,
                      cc_time_us now)
{
    sfu_in *in = sfu_out_in(r, o);
    int64_t max_age = __atomic_load_n(&s->replay_age, __ATOMIC_RELAXED);
    if (!in || o->paused || o->fwd.started || !o->fwd.cfg.video || max_age <= 0)
        return 0;
    int fi = sfu_feed_find(r, o->owner, o->slot);
    if (fi < 0)
        return 0;
    const sfu_feed *f = &r->feeds[fi]; /* a mirror's: its shadow keeps the chain */
    if (f->muted)
        return 0;
    if (f->owner != 0 && (!f->visible || f->teacher_only) && !sub->is_teacher)
        return 0; /* a member's camera the subscriber may not see now */
    /* The best encoding up to the wanted one that flows now and has a
     * complete chain (a browser leaves out its top encodings while its
     * own estimate of its uplink is low). */
    int enc = want_enc(in, o);
    cc_track *t = NULL;
    unsigned n = 0;
    for (; enc >= 0; enc--) {
        t = in->enc[enc];
        if (t && t->rx.started &&
            (in->n_enc == 1 || now - t->last_media_rx < 2 * CC_USEC_PER_SEC) &&
            now - t->last_keyframe <= max_age &&
            (n = cc_track_kf_chain(t)) > 0 && n <= SFU_REPLAY_MAX)
            break;
        n = 0;
    }
    if (enc < 0 || n == 0)
        return 0;
    if (!sub->pacing) {
        /* The chain goes through the pacing queue at SFU_REPLAY_BPS; live
         * packets queue behind it until it has drained (sfu_sub_drain). */
        if (!sub->pq && cc_pacedq_new(&sub->pq, SFU_PACE_QUEUE) != 0) {
            INC(s, cache_alloc_fail);
            return 0;
        }
        cc_pacer_init(&sub->pacer, SFU_REPLAY_BPS, SFU_PACE_BURST, now);
        sub->pacing = 1;
        sub->pace_replay = 1;
    }
    uint32_t out_kf = 0, prev_in_ts = 0, pics = 0;
    uint64_t sent = 0;
    for (unsigned i = 0; i < n; i++) {
        cc_pkt *p = cc_track_cache_get(t, (uint16_t)(t->kf_seq + i));
        cc_rtp_hdr h;
        cc_vp8_desc d;
        if (!p || cc_rtp_parse(p->data, p->len, &h) != 0)
            return 0; /* checked by cc_track_kf_chain: not reached */
        int has_d = h.payload_len > 0 && cc_vp8_parse(h.payload, h.payload_len, &d) == 0;
        cc_fwd_pkt fp = {.source = t->id, .buf = p->data, .h = &h, .vp8 = has_d ? &d : NULL,
                         .keyframe = has_d && d.keyframe};
        if (i > 0 && h.ts != prev_in_ts)
            pics++;
        prev_in_ts = h.ts;
        uint8_t *slotbuf = cc_worker_tx_begin(w);
        size_t len;
        int rc = cc_fwd_write(&o->fwd, &fp, now, slotbuf, SFU_TX_CAP, &len);
        if (i == 0 && rc != CC_FWD_SEND)
            return 0; /* the forwarder did not take it as a keyframe */
        if (i == 0)
            out_kf = h.ts + o->fwd.ts_off;
        if (rc != CC_FWD_SEND)
            continue;
        uint32_t ts = out_kf + pics;
        slotbuf[4] = (uint8_t)(ts >> 24);
        slotbuf[5] = (uint8_t)(ts >> 16);
        slotbuf[6] = (uint8_t)(ts >> 8);
        slotbuf[7] = (uint8_t)ts;
        if (sfu_sub_emit(w, s, sub, o, slotbuf, len, now))
            sent++;
    }
    o->rp_track = t->id;
    o->rp_ts = out_kf;
    o->rp_src_seq = t->kf_seq;
    o->rp_n = (uint16_t)n;
    o->rp_at = now;
    /* Live pictures continue from the newest replayed one. */
    o->fwd.ts_off = out_kf + pics - prev_in_ts;
    o->fwd.last_ts = out_kf + pics;
    if (in->n_enc > 1)
        o->cur_enc = (int8_t)enc;
    ADD(s, rtp_out, sent);
    INC(s, replays);
    ADD(s, replay_packets, n);
    if (o->wait_since)
        first_picture(s, sub, o, now);
    return 1;
}

/* A subscriber's out needs a keyframe from its source. */
void sfu_out_keyframe(cc_worker *w, cc_sfu *s, sfu_room *r, const sfu_out *o,
                      cc_time_us now)
{
    int f = r ? sfu_feed_find(r, o->owner, o->slot) : -1;
    if (f < 0)
        return;
    const sfu_in *in = sfu_out_in(r, o);
    if (in && r->mirror_of)
        sfu_mirror_keyreq(s, r, f, want_enc(in, o), now);
    else if (in)
        sfu_request_keyframe(w, s, r->feeds[f].src, in->enc[want_enc(in, o)], now);
}

/* Remembers that (mid, rid) of pp is `ssrc` (rid "" without simulcast);
 * the oldest entry goes when the table is full. */
static void learn_ssrc(sfu_peer *pp, const char *mid, const char *rid, uint32_t ssrc)
{
    int i = 0;
    while (i < pp->n_learnt &&
           (strcmp(pp->learnt[i].mid, mid) != 0 || strcmp(pp->learnt[i].rid, rid) != 0))
        i++;
    if (i == pp->n_learnt) {
        if (pp->n_learnt == SFU_LEARNT) {
            memmove(&pp->learnt[0], &pp->learnt[1], sizeof pp->learnt[0] * (SFU_LEARNT - 1));
            i = SFU_LEARNT - 1;
        } else {
            pp->n_learnt++;
        }
        snprintf(pp->learnt[i].mid, sizeof pp->learnt[i].mid, "%s", mid);
        snprintf(pp->learnt[i].rid, sizeof pp->learnt[i].rid, "%s", rid);
    }
    pp->learnt[i].ssrc = ssrc;
}

/* Binds the unbound encodings of `in` from what pp learnt before. */
void sfu_bind_learnt(const sfu_peer *pp, sfu_in *in)
{
    for (int k = 0; k < in->n_enc; k++) {
        if (in->enc[k]->ssrc)
            continue;
        const char *rid = in->n_enc > 1 ? in->rid[k] : "";
        for (int i = 0; i < pp->n_learnt; i++)
            if (strcmp(pp->learnt[i].mid, in->mid) == 0 && strcmp(pp->learnt[i].rid, rid) == 0)
                in->enc[k]->ssrc = pp->learnt[i].ssrc;
    }
}

static sfu_in *find_in(cc_sfu *s, sfu_peer *pp, const cc_rtp_hdr *h, int *enc)
{
    for (int i = 0; i < CC_SLOT_COUNT; i++)
        for (int k = 0; pp->in[i].active && k < pp->in[i].n_enc; k++)
            if (pp->in[i].enc[k]->ssrc == h->ssrc) {
                *enc = k;
                return &pp->in[i];
            }
    /* Not signalled with a=ssrc: bind by the RFC 8843 section 15 mid
     * header extension of the first packet, and for a simulcast m-line by
     * its RFC 8852 rid element too (the encodings share the mid). */
    const uint8_t *v = NULL, *rv = NULL;
    size_t vl = 0, rl = 0;
    int has_mid = pp->ext_mid && cc_rtp_find_ext(h, pp->ext_mid, &v, &vl) == 0;
    int has_rid = pp->ext_rid && cc_rtp_find_ext(h, pp->ext_rid, &rv, &rl) == 0;
    if (!has_mid && !has_rid)
        return NULL;
    for (int i = 0; i < CC_SLOT_COUNT; i++) {
        sfu_in *in = &pp->in[i];
        if (!in->active || (has_mid && (strlen(in->mid) != vl || memcmp(in->mid, v, vl) != 0)))
            continue;
        if (in->n_enc == 1 && has_mid && in->track->ssrc == 0) {
            in->track->ssrc = h->ssrc;
            learn_ssrc(pp, in->mid, "", h->ssrc);
            *enc = 0;
            return in;
        }
        for (int k = 0; has_rid && in->n_enc > 1 && k < in->n_enc; k++)
            /* Unbound, or bound from memory but silent (the SSRC
             * changed): the rid says which encoding this is. */
            if ((in->enc[k]->ssrc == 0 || !in->enc[k]->rx.started) &&
                strlen(in->rid[k]) == rl &&
                memcmp(in->rid[k], rv, rl) == 0) {
                in->enc[k]->ssrc = h->ssrc;
                learn_ssrc(pp, in->mid, in->rid[k], h->ssrc);
                INC(s, sim_bound);
                CC_DEBUG("sfu", "member %u: mid %s rid %s (encoding %d of %d) is ssrc %u",
                         pp->member_id, in->mid, in->rid[k], k + 1, in->n_enc, h->ssrc);
                *enc = k;
                return in;
            }
    }
    return NULL;
}

/* The feed `in` of pp may feed now, or NULL. Takes the feed over when
 * it is free or pp connected after the current source's publisher (a
 * reloaded teacher page replaces the old one). */
static sfu_feed *claim_feed(cc_worker *w, cc_sfu *s, sfu_room *r, sfu_peer *pp,
                            sfu_in *in)
{
    int slot = in->track->slot;
    if (in->feed < 0 || !r->feeds[in->feed].used || r->feeds[in->feed].owner != pp->owner ||
        r->feeds[in->feed].slot != slot)
        in->feed = feed_get(r, pp->owner, slot);
    if (in->feed < 0) {
        INC(s, drop_no_feed);
        return NULL;
    }
    sfu_feed *f = &r->feeds[in->feed];
    if (f->src == pp)
        return f;
    if (f->src && f->src->order > pp->order) {
        INC(s, drop_superseded);
        return NULL;
    }
    f->src = pp;
    INC(s, source_switches);
    if (r->mirrors)
        sfu_mirror_feed(s, r, (int)(f - r->feeds)); /* before its first packet */
    CC_INFO("sfu", "room %u: %s of %u now from member %u (ssrc %u)", r->id, sfu_slot_names[slot],
            f->owner, pp->member_id, in->track->ssrc);
    if (f->owner == 0)
        sfu_room_update_mask(w, r, pp);
    else if (slot == CC_SLOT_CAMERA)
        sfu_room_update_shown(w, s, r, pp);
    return f;
}

/* A subscriber's video stream sends its first picture: how long it waited
 * since it asked (connect or renegotiation), for the join figures. */
static void first_picture(cc_sfu *s, const sfu_peer *sub, sfu_out *o, cc_time_us now)
{
    cc_time_us waited = now - o->wait_since;
    o->wait_since = 0;
    INC(s, first_pictures);
    ADD(s, first_picture_wait_us, (uint64_t)waited);
    if ((uint64_t)waited > s->c.first_picture_wait_max_us)
        __atomic_store_n(&s->c.first_picture_wait_max_us, (uint64_t)waited, __ATOMIC_RELAXED);
    CC_INFO("sfu", "room %u: subscriber %u (%s): first %s picture of %u %.1f ms after it asked%s",
            sub->room_id, sub->member_id, sub->ufrag, sfu_slot_names[o->slot], o->owner,
            waited / 1000.0, o->rp_n && o->rp_at == now ? " (the kept keyframe)" : "");
}

/* The lesson recording gets a copy of each of the teacher's packets as
 * received (publisher numbering; the recorder makes one stream of them):
 * one ring pop, a memcpy and a ring push, never a wait (a full ring is
 * counted as rec_drop). A key frame it asks for is a PLI like any other. */
static void record_rtp(cc_worker *w, cc_sfu *s, sfu_room *r, sfu_peer *pp, sfu_in *in,
                       const uint8_t *buf, size_t len, cc_time_us now)
{
    int slot = in->track->slot;
    if (cc_rec_tap_push(r->rec, slot, room_mask(r), buf, len, now) == 0)
        INC(s, rec_pkts);
    else
        INC(s, rec_drop);
    if (slot != CC_SLOT_MIC && cc_rec_tap_keyframe_wanted(r->rec, slot))
        sfu_request_keyframe(w, s, pp, sfu_main_track(in), now);
}

void sfu_pub_on_rtp(cc_worker *w, cc_sfu *s, sfu_peer *pp, uint8_t *buf,
                    size_t len, cc_time_us now)
{
    sfu_room *r = pp->room;
    if (!r) {
        INC(s, drop_no_room);
        return;
    }
    cc_rtp_hdr h;
    if (cc_rtp_parse(buf, len, &h) != 0) {
        INC(s, drop_malformed);
        cc_worker_count_drop(w, CC_DROP_RTP_MALFORMED);
        return;
    }
    /* Arrival times for the estimates of the teacher's uplink: when the
     * packet reached this machine, not when this thread got to it. */
    cc_time_us arrived = cc_worker_rx_at(w, now);
    if (pp->ext_twcc)
        sfu_pub_twcc_packet(s, pp, &h, arrived);
    if (pp->ext_abs && pp->remb)
        sfu_pub_uplink_packet(s, pp, &h, len, arrived);
    int enc = 0;
    sfu_in *in = find_in(s, pp, &h, &enc);
    if (!in || h.pt != in->pt) {
        if (s->c.drop_unknown_ssrc % 500 == 0) {
            const uint8_t *mv = NULL, *rv = NULL;
            size_t ml = 0, rl = 0;
            int hm = pp->ext_mid && cc_rtp_find_ext(&h, pp->ext_mid, &mv, &ml) == 0;
            int hr = pp->ext_rid && cc_rtp_find_ext(&h, pp->ext_rid, &rv, &rl) == 0;
            CC_DEBUG("sfu", "member %u: RTP ssrc %u pt %u not bound (in %d pt %d, mid %.*s, rid %.*s)",
                     pp->member_id, h.ssrc, h.pt, in != NULL, in ? in->pt : -1, hm ? (int)ml : 1,
                     hm ? (const char *)mv : "-", hr ? (int)rl : 1, hr ? (const char *)rv : "-");
        }
        INC(s, drop_unknown_ssrc);
        cc_worker_count_drop(w, CC_DROP_RTP_UNKNOWN_SSRC);
        return;
    }
    cc_track *t = in->enc[enc];
    cc_pkt *copy = NULL; /* a reference for the mirrors */
    cc_vp8_desc d;
    const cc_vp8_desc *dp = NULL;
    if (t->video && h.payload_len > 0) {
        if (cc_vp8_parse(h.payload, h.payload_len, &d) != 0) {
            INC(s, drop_malformed);
            cc_worker_count_drop(w, CC_DROP_RTP_MALFORMED);
            return;
        }
        dp = &d;
    }
    cc_track_on_rtp(t, h.seq, h.ts, len, now);
    uint32_t kf_done = 0; /* this packet ends a keyframe of that many bytes */
    if (h.payload_len > 0) {
        if (t->rx.started && t->last_media_rx && now - t->last_media_rx >= SFU_ENC_SILENT)
            t->resumed_at = now;
        t->last_media_rx = now;
        /* As the subscribers' estimates count it (sfu_sub_stamp): on the
         * wire, with SRTP's tag and the UDP/IP headers. Without them a
         * 300 kbit/s link's allocation was short by a third of its audio
         * (50 packets a second of ~120 bytes) and ~4 % of its video. */
        cc_track_on_layer(t, dp && dp->has_tid ? dp->tid : 0, len + SFU_WIRE_OVERHEAD,
                          dp ? dp->start && dp->partition == 0 : 1, now);
        if (dp)
            kf_done = cc_track_on_frame_bytes(t, h.ts, len, dp->keyframe, h.marker);
    }
    if (t->nack_enabled)
        cc_nack_on_packet(&t->nack, h.seq, now);
    if (dp && dp->keyframe)
        cc_track_kf_seen_seq(t, h.seq, now); /* every waiting subscriber starts on it */
    if (t->video) {
        /* Keep a copy for subscribers' NACKs: the receive buffer is reused
         * by the next recvmmsg. Audio is not cached: Opus has in-band FEC
         * and a late audio packet is useless to the jitter buffer anyway.
         * At the cap, the track's own oldest packet is reused. */
        cc_pkt *p = cc_pkt_alloc(s->pool);
        if (!p) {
            INC(s, cache_alloc_fail);
            if (!s->cache_full_logged) {
                s->cache_full_logged = 1;
                CC_WARN("sfu", "NACK cache: all %zu MiB (nack-cache-mb) in use; tracks "
                        "reuse their oldest packets", s->cache_bytes >> 20);
            }
            p = cc_track_cache_take_oldest(t);
        }
        if (p) {
            memcpy(p->data, buf, len <= CC_PKT_CAP ? len : CC_PKT_CAP);
            p->len = (uint16_t)(len <= CC_PKT_CAP ? len : CC_PKT_CAP);
            p->time = now;
            if (r->mirrors)
                copy = cc_pkt_ref(p); /* the same copy goes to the mirrors */
            cc_track_cache_put(t, h.seq, p);
        }
    }
    INC(s, rtp_in);
    if (dp && dp->has_tid)
        INC(s, rtp_in_layered); /* the source marks temporal layers */
    sfu_feed *f = claim_feed(w, s, r, pp, in);
    if (!f) {
        cc_pkt_unref(copy);
        return;
    }
    int fi = (int)(f - r->feeds);
    /* RFC 6464: a guest's speech decides whose camera the room sees. */
    if (!t->video && f->owner != 0 && pp->ext_level && !f->muted) {
        int level, voice;
        if (cc_speakers_parse_level(&h, pp->ext_level, &level, &voice) == 0) {
            cc_speakers_on_level_ts(&r->speakers, f->owner, level, voice,
                                    h.ts, (uint32_t)(t->clock_rate > 0 ? t->clock_rate : 48000),
                                    now);
            if (cc_speakers_version(&r->speakers) != r->speakers_version)
                sfu_room_update_shown(w, s, r, pp);
        }
    }
    /* A guest camera goes to teachers always, to everyone else only while
     * its sender is among the last N speakers and not kept to the teacher. */
    int gated = t->video && f->owner != 0 && (!f->visible || f->teacher_only);
    if (f->muted) {
        /* Every subscriber's forwarder was held when the mute came
         * (do_set_sender): nothing to do per subscriber. */
        INC(s, drop_muted);
        cc_pkt_unref(copy);
        return;
    }
    if (r->rec && f->owner == 0 &&
        sfu_main_stream(w, s, pp, in, enc, dp && dp->keyframe, now))
        record_rtp(w, s, r, pp, in, buf, len, now);
    /* Other workers' subscribers first: they work while this one sends.
     * Every encoding: each of them gets the one its link carries. */
    if (r->mirrors)
        sfu_mirror_rtp(s, r, fi, enc, t, copy, buf, len, now);
    cc_pkt_unref(copy);
    copy = NULL;
    cc_fwd_pkt fp = {
        .source = t->id,
        .buf = buf,
        .h = &h,
        .vp8 = dp,
        .keyframe = dp ? dp->keyframe : 0,
    };
    if (in->n_enc > 1 && enc < in->n_enc - 1)
        sfu_enc_stop_kick(s, r, fi, in, enc, now);
    if (sfu_fanout(w, s, r, fi, &fp, kf_done, gated, enc, in->n_enc, now)) {
        INC(s, keyframe_waits);
        sfu_request_keyframe(w, s, pp, t, now);
    }
}

/* A packet for subscriber sp was written into buf[0..n) and goes out now:
 * give it the transport's next transport-wide number (the forwarder left
 * the element's place, CC_FWD_TWCC_SEQ_OFF) and tell the estimator. */
inline void sfu_sub_stamp(sfu_peer *sp, const sfu_out *o, uint8_t *buf, size_t n,
                          int probe_id, cc_time_us now)
{
    if (!o->fwd.cfg.ext_twcc)
        return;
    uint16_t seq = sp->twcc_seq++;
    buf[CC_FWD_TWCC_SEQ_OFF] = (uint8_t)(seq >> 8);
    buf[CC_FWD_TWCC_SEQ_OFF + 1] = (uint8_t)seq;
    sp->twcc_bytes += n + SFU_WIRE_OVERHEAD;
    if (sp->bwe)
        cc_bwe_on_sent(sp->bwe, seq, n + SFU_WIRE_OVERHEAD, probe_id, now);
}

/* A media packet written for out o of sp into buf[0..n) (the worker's
 * send slot) goes out now, or joins sp's paced queue: video while it is
 * paced and over its budget, or behind packets already queued (order
 * kept). 1 if sent or queued. */
int sfu_sub_emit(cc_worker *w, cc_sfu *s, sfu_peer *sp, sfu_out *o, uint8_t *buf, size_t n,
                 cc_time_us now)
{
    if (sp->pq && o->fwd.cfg.video &&
        (cc_pacedq_len(sp->pq) || (sp->pacing && !cc_pacer_may_send(&sp->pacer, now)))) {
        if (cc_pacedq_push(sp->pq, buf, n, (uint32_t)(o - sp->out), now) != 0) {
            INC(s, pace_drop);
            return 0;
        }
        INC(s, pace_queued);
        return 1;
    }
    sfu_sub_stamp(sp, o, buf, n, 0, now);
    if (sp->pacing)
        cc_pacer_on_sent(&sp->pacer, n + SFU_WIRE_OVERHEAD, now);
    return cc_worker_tx_commit_rtp(w, sp->wp, n) == 0;
}

/* The front of sp's paced queue has waited SFU_PACE_MAX_WAIT: the link
 * took less than was queued for it (a join's burst of the top layers
 * before the estimate showed the limit, or a keyframe of a layer since
 * given up). Sending the rest late only delays what comes behind it by as
 * much; instead every stream with packets queued drops them and waits for
 * a keyframe (the forwarder holds), and one is asked for. The receiver
 * NACKs the numbers that never came; unanswerable, they are forgotten at
 * the keyframe. */
static void sub_pace_flush(cc_worker *w, cc_sfu *s, sfu_peer *sp, cc_time_us now)
{
    uint64_t dropped = 0;
    while (cc_pacedq_len(sp->pq)) {
        size_t n;
        uint32_t tag;
        cc_time_us at;
        cc_pacedq_peek(sp->pq, &n, &tag, &at);
        sfu_out *o = tag < (uint32_t)sp->n_out ? &sp->out[tag] : NULL;
        if (o && o->active && !o->fwd.waiting) {
            cc_fwd_hold(&o->fwd);
            sfu_out_keyframe(w, s, sp->room, o, now);
        }
        cc_pacedq_pop(sp->pq);
        dropped++;
    }
    ADD(s, pace_drop, dropped);
    INC(s, pace_flushes);
    sp->pace_flushed_at = now;
    CC_LOG_RL(CC_LOG_INFO, "sfu", "subscriber %u (%s): %llu packets waited over %d ms for "
              "its link (%u kbit/s paced): dropped, each stream starts again at a keyframe",
              sp->member_id, sp->ufrag, (unsigned long long)dropped,
              (int)(SFU_PACE_MAX_WAIT / CC_USEC_PER_MSEC),
              (unsigned)(sp->pacer.rate_bps / 1000));
}

/* Sends what sp's paced queue may send now (all of it once not paced). */
void sfu_sub_drain(cc_worker *w, cc_sfu *s, sfu_peer *sp, cc_time_us now)
{
    uint64_t sent = 0;
    cc_time_us worst = 0;
    if (sp->pacing && !sp->pace_replay && cc_pacedq_len(sp->pq) &&
        (!sp->pace_flushed_at || now - sp->pace_flushed_at >= SFU_PACE_FLUSH_GAP)) {
        size_t n;
        uint32_t tag;
        cc_time_us at;
        cc_pacedq_peek(sp->pq, &n, &tag, &at);
        if (now - at > SFU_PACE_MAX_WAIT)
            sub_pace_flush(w, s, sp, now);
    }
    while (cc_pacedq_len(sp->pq) && (!sp->pacing || cc_pacer_may_send(&sp->pacer, now))) {
        size_t n;
        uint32_t tag;
        cc_time_us at;
        const uint8_t *p = cc_pacedq_peek(sp->pq, &n, &tag, &at);
        sfu_out *o = tag < (uint32_t)sp->n_out ? &sp->out[tag] : NULL;
        if (o && o->active) {
            uint8_t *slot = cc_worker_tx_begin(w);
            memcpy(slot, p, n);
            sfu_sub_stamp(sp, o, slot, n, 0, now);
            if (sp->pacing)
                cc_pacer_on_sent(&sp->pacer, n + SFU_WIRE_OVERHEAD, now);
            if (cc_worker_tx_commit_rtp(w, sp->wp, n) == 0)
                sent++;
            if (now - at > worst)
                worst = now - at;
        }
        cc_pacedq_pop(sp->pq);
    }
    ADD(s, rtp_out, sent);
    if (sp->pace_replay && !cc_pacedq_len(sp->pq)) {
        sp->pace_replay = 0;
        sp->pacing = 0;
        cc_pacer_init(&sp->pacer, 0, SFU_PACE_BURST, now);
    }
    if ((uint64_t)worst > s->c.pace_delay_max_us)
        __atomic_store_n(&s->c.pace_delay_max_us, (uint64_t)worst, __ATOMIC_RELAXED);
}

void sfu_sub_tx_lines(sfu_peer *sp)
{
    sp->n_txl = sp->wp ? cc_worker_tx_lines(sp->wp, sp->txl, SFU_TX_LINES) : 0;
}

/* The start of sp that the fan-out reads (sfu_peer's first members). */
static inline void sub_prefetch_head(const sfu_peer *sp)
{
    const char *p = (const char *)sp;
    for (size_t off = 0; off < offsetof(sfu_peer, txl_at); off += 64)
        __builtin_prefetch(p + off, 1);
    __builtin_prefetch(p + offsetof(sfu_peer, txl_at) - 1, 1);
}

/* What sending packet fp of feed fi to sp will read beyond sp's start:
 * its out (the first lines, and the forwarder's PictureID record for this
 * sequence number) and its transport (sfu_sub_tx_lines). sp's start must
 * be in the cache already (sub_prefetch_head one subscriber earlier), or
 * this waits for it. */
static inline void sub_prefetch_tx(const sfu_peer *sp, int fi, const cc_fwd_pkt *fp)
{
    int oi = sp->feed_out[fi];
    if (oi < 0)
        return;
    const sfu_out *o = &sp->out[oi];
    const char *p = (const char *)o;
    for (size_t off = 0; off < offsetof(sfu_out, fwd) + offsetof(cc_fwd, thin); off += 64)
        __builtin_prefetch(p + off, 1);
    if (fp->vp8)
        __builtin_prefetch(&o->fwd.pid_at[fp->h->seq % sizeof o->fwd.pid_at], 1);
    for (int i = 0; i < sp->n_txl; i++)
        __builtin_prefetch(sp->txl[i], 1);
}

/* One packet of feed fi (encoding enc of n_enc) to every subscriber of
 * the room on this worker (owner or mirror); kf_done: the packet ends a
 * keyframe of that many bytes (0: it does not). 1 if a subscriber waits
 * for a keyframe of this packet's encoding.
 * Hand-tuned: this loop is the SFU's per-packet cost. Each subscriber's
 * state is its own heap memory, so with hundreds of them every read here
 * was a cache miss (a perf profile of 400 subscribers had most of the
 * loop's time on the first load from each structure); the next
 * subscriber's memory is prefetched while this one's packet is written
 * and encrypted, two steps deep (its start, then what its start points
 * to). */
int sfu_fanout(cc_worker *w, cc_sfu *s, sfu_room *r, int fi, const cc_fwd_pkt *fp, uint32_t kf_done,
               int gated, int enc, int n_enc, cc_time_us now)
{
    int want_key = 0;
    uint64_t sent = 0, held = 0;
    if (r->subs) {
        sub_prefetch_head(r->subs);
        if (r->subs->next)
            sub_prefetch_head(r->subs->next);
        sub_prefetch_tx(r->subs, fi, fp);
    }
    for (sfu_peer *sub = r->subs; sub; sub = sub->next) {
        const sfu_peer *nx = sub->next;
        if (nx) {
            if (nx->next)
                sub_prefetch_head(nx->next);
            sub_prefetch_tx(nx, fi, fp);
        }
        int oi = sub->feed_out[fi];
        if (oi < 0)
            continue;
        sfu_out *o = &sub->out[oi];
        if ((gated && !sub->is_teacher) || o->paused) {
            cc_fwd_hold(&o->fwd);
            held++;
            continue;
        }
        if (n_enc > 1 && enc != o->cur_enc) {
            /* Simulcast: only the encoding forwarded now; the wanted one
             * takes over at its keyframe (the forwarder re-bases there,
             * so the subscriber sees one stream). */
            int want = o->want_enc < n_enc ? o->want_enc : n_enc - 1;
            if (enc != want)
                continue;
            if (!fp->keyframe) {
                want_key = 1;
                continue;
            }
            if (o->cur_enc >= 0)
                INC(s, sim_switches);
            o->cur_enc = (int8_t)enc;
        }
        uint8_t *slotbuf = cc_worker_tx_begin(w);
        size_t n;
        int rc = cc_fwd_write(&o->fwd, fp, now, slotbuf, SFU_TX_CAP, &n);
        if (rc == CC_FWD_SEND) {
            if (sfu_sub_emit(w, s, sub, o, slotbuf, n, now))
                sent++;
            if (kf_done)
                sfu_sub_keyframe_out(s, sub, kf_done, now);
            if (o->wait_since)
                first_picture(s, sub, o, now);
        } else if (rc == CC_FWD_WAIT_KEYFRAME) {
            want_key = 1;
        }
    }
    if (sent)
        ADD(s, rtp_out, sent);
    if (held)
        ADD(s, held_last_n, held);
    return want_key;
}

/* ------------------------------------------------------------------ */
/* worker callbacks                                                     */
/* ------------------------------------------------------------------ */

static void sfu_on_rtp(cc_worker *w, cc_wpeer *wp, uint8_t *buf, size_t len,
                       cc_time_us now)
{
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_peer *pp = cc_wpeer_app_state(wp);
    if (!pp->publisher) {
        /* A student may not publish: never forwarded (the answer said
         * sendonly, so a browser should not even send). */
        INC(s, drop_from_subscriber);
        return;
    }
    sfu_pub_on_rtp(w, s, pp, buf, len, now);
}

static void sfu_on_rtcp(cc_worker *w, cc_wpeer *wp, uint8_t *buf, size_t len,
                        cc_time_us now)
{
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_peer *pp = cc_wpeer_app_state(wp);
    if (!pp->room)
        return;
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    int rc;
    cc_rtcp_iter_init(&it, buf, len);
    while ((rc = cc_rtcp_next(&it, &p)) == 1) {
        if (pp->publisher)
            sfu_pub_on_rtcp(pp, &p, now);
        else
            sfu_sub_on_rtcp(w, s, pp, &p, now);
    }
    if (rc < 0)
        cc_worker_count_drop(w, CC_DROP_RTCP_MALFORMED);
}

/* With fresh-only replay (max_age below "any"), a keyframe older than
 * half the allowed age will be too old to start a subscriber on by the
 * time its browser has connected: a new one is asked for now. */
int sfu_kf_stale_by_connect(const cc_track *t, int64_t max_age, cc_time_us now)
{
    return max_age < INT64_MAX && now - t->last_keyframe > max_age / 2;
}

/* A subscriber's answer went out: while its browser runs ICE and DTLS
 * (100-800 ms on a busy tablet), every video stream it will get that has
 * no kept chain short enough to start it on (out_replay: a moving screen
 * or camera whose keyframe is seconds old) asks its publisher for a
 * keyframe now (coalesced, sfu_request_keyframe). The keyframe usually
 * arrives before the subscriber connects and starts a short chain that
 * out_replay sends at once; else the forwarder waits for it as before,
 * sooner by the time the handshake took. */
static void sfu_on_added(cc_worker *w, cc_wpeer *wp, cc_time_us now)
{
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_peer *pp = cc_wpeer_app_state(wp);
    sfu_room *r = s && pp && !pp->publisher ? sfu_room_find(s, pp->room_id) : NULL;
    int64_t max_age = s ? __atomic_load_n(&s->replay_age, __ATOMIC_RELAXED) : 0;
    if (!r || max_age <= 0)
        return;
    for (int i = 0; i < pp->n_out; i++) {
        sfu_out *o = &pp->out[i];
        cc_track *t = o->active ? sfu_out_track(r, o) : NULL;
        if (!t || !t->video)
            continue;
        unsigned n = cc_track_kf_chain(t);
        if (n == 0 || n > SFU_REPLAY_MAX || sfu_kf_stale_by_connect(t, max_age, now)) {
            sfu_out_keyframe(w, s, r, o, now);
            INC(s, early_keyframe_requests);
        }
    }
}

static void sfu_on_connected(cc_worker *w, cc_wpeer *wp, cc_time_us now)
{
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_peer *pp = cc_wpeer_app_state(wp);
    pp->wp = wp;
    sfu_sub_tx_lines(pp);
    sfu_room *r = s ? sfu_room_find(s, pp->room_id) : NULL;
    if (!r) {
        CC_WARN("sfu", "peer %s: room %u is not open; closing", pp->ufrag,
                pp->room_id);
        if (s)
            INC(s, drop_no_room);
        cc_worker_close_peer(w, wp);
        return;
    }
    pp->room = r;
    pp->order = ++s->order;
    /* Spread the reports of peers that connect together. */
    pp->next_report = now + SFU_REPORT_INTERVAL / 2 +
                      (cc_time_us)(cc_rand_u32() % (SFU_REPORT_INTERVAL / 2));
    if (pp->publisher) {
        cc_track *ts[SFU_MAX_TRACKS];
        int nt = sfu_pub_tracks(pp, ts);
        for (int j = 0; j < nt; j++)
            ts[j]->id = ++s->next_track_id;
        sfu_list_add(&r->pubs, pp);
        INC(s, publishers);
        sfu_cache_rebalance(s);
    } else {
        sfu_list_add(&r->subs, pp);
        INC(s, subscribers);
        sfu_sub_remap(r, pp);
        cc_alloc_init(&pp->alloc);
        pp->next_alloc = now + SFU_ALLOC_INTERVAL;
        if (pp->ext_twcc && !pp->bwe) {
            /* docs/bwe.md: a send-side estimate from its feedback. */
            cc_bwe_config bc;
            cc_bwe_config_default(&bc);
            pp->bwe = cc_bwe_new(&bc, now);
            if (pp->bwe)
                INC(s, twcc_subscribers);
            /* The first allocation after the start-up probes had a chance
             * (about a second); until then every stream gets its best. */
            pp->next_alloc = now + CC_USEC_PER_SEC;
            pp->probe_gap = SFU_PROBE_INTERVAL;
            pp->next_probe_req = now + SFU_PROBE_INTERVAL;
            pp->fill_gap = SFU_FILL_GAP;
            pp->fill_next = now + SFU_FILL_GAP;
        }
        /* Keyframe on join: every video forwarder starts on the cached
         * last keyframe, or waits for a new one. */
        for (int i = 0; i < pp->n_out; i++) {
            cc_track *t = pp->out[i].active ? sfu_out_track(r, &pp->out[i]) : NULL;
            if (t && t->video)
                pp->out[i].wait_since = now;
            if (t && !(t->video && out_replay(w, s, r, pp, &pp->out[i], now)))
                sfu_out_keyframe(w, s, r, &pp->out[i], now);
        }
    }
    /* The stages of the join on this side: the peer was added when the
     * answer went out; then the browser's first check; then DTLS. */
    const cc_peer_stats *ps = cc_peer_get_stats(cc_wpeer_peer(wp));
    CC_INFO("sfu", "room %u: %s %u connected (%s): first check %.1f ms after the answer, "
            "keys %.1f ms after it", r->id, pp->publisher ? "publisher" : "subscriber",
            pp->member_id, pp->ufrag, (ps->ice_at - ps->created_at) / 1000.0,
            (ps->connected_at - ps->ice_at) / 1000.0);
    emit(w, pp, CC_SFU_EV_CONNECTED, room_mask(r));
}

static void sfu_on_tick(cc_worker *w, cc_wpeer *wp, cc_time_us now)
{
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_peer *pp = cc_wpeer_app_state(wp);
    if (!pp->room)
        return;
    if (pp->publisher) {
        sfu_pub_tick(w, s, pp, now);
    } else {
        /* The addresses change only when the transport does (a new SRTP
         * session, a new nominated address), and reading them costs
         * misses of their own: once a second. */
        if (!pp->n_txl || now - pp->txl_at >= CC_USEC_PER_SEC) {
            sfu_sub_tx_lines(pp);
            pp->txl_at = now;
        }
        sfu_sub_tick(w, s, pp, now);
    }
}

void sfu_peer_state_free_tracks(sfu_peer *pp)
{
    for (int i = 0; i < CC_SLOT_COUNT; i++)
        sfu_in_free_tracks(&pp->in[i]);
}

void sfu_peer_state_free(void *arg)
{
    sfu_peer *pp = arg;
    if (!pp)
        return;
    sfu_peer_state_free_tracks(pp);
    free(pp->twcc);
    cc_upbwe_free(pp->up);
    cc_bwe_free(pp->bwe);
    cc_pacedq_free(pp->pq);
    cc_resent_free(pp->resent);
    free(pp->out);
    free(pp);
}

static int in_started(const sfu_in *in)
{
    for (int k = 0; k < in->n_enc; k++)
        if (in->enc[k] && in->enc[k]->rx.started)
            return 1;
    return 0;
}

/* Slot i of pp no longer feeds: its feed falls back to the newest other
 * publisher of the same sender that has sent on it, else goes quiet
 * (subscribers' streams freeze, keeping their SSRCs; a guest that stopped
 * publishing leaves the speakers). */
void sfu_slot_fallback(cc_worker *w, cc_sfu *s, sfu_room *r, const sfu_peer *pp, int i)
{
    int fi = sfu_feed_find(r, pp->owner, i);
    if (fi < 0 || r->feeds[fi].src != pp)
        return;
    sfu_peer *best = NULL;
    for (sfu_peer *q = r->pubs; q; q = q->next)
        if (q != pp && q->owner == pp->owner && q->in[i].active &&
            in_started(&q->in[i]) && (!best || q->order > best->order))
            best = q;
    r->feeds[fi].src = best;
    if (r->mirrors)
        sfu_mirror_feed(s, r, fi);
    if (best)
        INC(s, source_switches);
    else if (pp->owner != 0 && i == CC_SLOT_MIC)
        cc_speakers_remove(&r->speakers, pp->owner);
    if (!best && pp->owner != 0)
        sfu_room_update_shown(w, s, r, pp);
}

static void sfu_on_closed(cc_worker *w, cc_wpeer *wp)
{
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_peer *pp = cc_wpeer_app_state(wp);
    if (!pp)
        return;
    sfu_room *r = pp->room;
    if (r && s) {
        sfu_unlink_peer(s, pp);
        if (pp->publisher) {
            /* Slots this publisher fed fall back to the newest other
             * publisher that has sent on them, else go quiet
             * (subscribers' streams freeze, keeping their SSRCs). */
            for (int i = 0; i < CC_SLOT_COUNT; i++)
                sfu_slot_fallback(w, s, r, pp, i);
            sfu_room_update_mask(w, r, pp);
            sfu_cache_rebalance(s);
        }
        CC_INFO("sfu", "room %u: %s %u closed", r->id,
                pp->publisher ? "publisher" : "subscriber", pp->member_id);
    }
    emit(w, pp, CC_SFU_EV_CLOSED, r ? room_mask(r) : 0);
    sfu_peer_state_free(pp);
}

const cc_worker_app cc_sfu_app = {
    .on_rtp = sfu_on_rtp,
    .on_rtcp = sfu_on_rtcp,
    .on_connected = sfu_on_connected,
    .on_added = sfu_on_added,
    .on_tick = sfu_on_tick,
    .on_closed = sfu_on_closed,
};
