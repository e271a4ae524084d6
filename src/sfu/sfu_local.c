/* classcast SFU: a publisher inside the process (the media core's encoded
 * camera, screen and mic through an SPSC ring), and the lesson recording's
 * tap on a room (src/media/recorder.c). */
#include "sfu_priv.h"

/* ------------------------------------------------------------------ */
/* local publisher (the media core in this process)                     */
/* ------------------------------------------------------------------ */


void sfu_local_keyframe(sfu_peer *pub, int slot)
{
    if (pub->local->keyframe)
        pub->local->keyframe(pub->local->ud, slot);
}

static void local_drain(cc_worker *w, void *ud, cc_time_us now)
{
    sfu_local *lp = ud;
    cc_sfu *s = cc_worker_app_ud(w);
    uint64_t v;
    ssize_t r = read(lp->efd, &v, sizeof v);
    (void)r;
    cc_time_us wall_minus_mono = cc_clock_wall_us() - cc_clock_mono_us();
    cc_pkt *p;
    /* Bounded: whatever the producer pushes meanwhile waits for the next
     * wakeup, so one busy source cannot starve the socket. */
    for (int i = 0; i < 512 && (p = cc_ring_pop(lp->ring)); i++) {
        int slot = p->flags;
        sfu_in *in = slot >= 0 && slot < CC_SLOT_COUNT ? &lp->pp.in[slot] : NULL;
        if (in && in->active && lp->pp.room) {
            /* The capture clock is ours: map RTP time to wall time exactly
             * (what a remote publisher's SR tells), for lip sync in the
             * subscribers' SRs. */
            cc_rtp_hdr h;
            if (cc_rtp_parse(p->data, p->len, &h) == 0) {
                in->track->have_sr = 1;
                in->track->sr_rtp = h.ts;
                in->track->sr_unix_us = p->time + wall_minus_mono;
            }
            sfu_pub_on_rtp(w, s, &lp->pp, p->data, p->len, now);
        }
        cc_pkt_unref(p);
    }
    if (cc_ring_count(lp->ring) > 0) {
        uint64_t one = 1;
        r = write(lp->efd, &one, sizeof one); /* come back for the rest */
    }
    /* No worker tick for a local publisher: its media comes steadily. */
    if (lp->pp.room)
        sfu_pub_upkeep(w, s, &lp->pp, now);
}

static void do_local_attach(cc_worker *w, void *arg, cc_time_us now)
{
    cc_sfu_local_config *cfg = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_room *r = s ? sfu_room_find(s, cfg->room_id) : NULL;
    if (!r) {
        CC_WARN("sfu", "local publisher: room %u is not open", cfg->room_id);
        return;
    }
    sfu_local *lp = calloc(1, sizeof *lp);
    if (!lp)
        return;
    lp->ring = cfg->ring;
    lp->efd = cfg->efd;
    lp->keyframe = cfg->keyframe;
    lp->ud = cfg->ud;
    sfu_peer *pp = &lp->pp;
    pp->local = lp;
    pp->publisher = 1;
    pp->room_id = cfg->room_id;
    snprintf(pp->ufrag, sizeof pp->ufrag, "local");
    for (int i = 0; i < CC_SLOT_COUNT; i++) {
        if (!cfg->slots[i].active)
            continue;
        sfu_in *in = &pp->in[i];
        in->track = calloc(1, sizeof *in->track);
        if (!in->track)
            continue;
        cc_track_init(in->track, ++s->next_track_id, i, sfu_slot_is_video(i),
                      cfg->slots[i].clock_rate);
        in->track->ssrc = cfg->slots[i].ssrc;
        in->n_enc = 1;
        in->enc[0] = in->track;
        int n_sim = cfg->slots[i].n_sim;
        if (n_sim > SFU_SIM || n_sim > (int)(sizeof cfg->slots[i].sim_ssrc /
                                             sizeof cfg->slots[i].sim_ssrc[0]))
            n_sim = 0;
        if (n_sim >= 2 && sfu_slot_is_video(i)) {
            /* Simulcast from the media core: a track per encoding, smallest
             * first, bound by SSRC; the largest is in->track. */
            for (int k = 0; k < n_sim; k++) {
                cc_track *t = k == n_sim - 1 ? in->track : calloc(1, sizeof *t);
                if (!t)
                    break;
                if (t != in->track)
                    cc_track_init(t, ++s->next_track_id, i, 1, cfg->slots[i].clock_rate);
                t->ssrc = cfg->slots[i].sim_ssrc[k];
                in->enc[k] = t;
                in->n_enc = k + 1;
                snprintf(in->rid[k], sizeof in->rid[k], "%c", "lmh"[k + 3 - n_sim]);
            }
            if (in->n_enc != n_sim) {
                /* Out of memory half way: the largest alone. */
                for (int k = 0; k < in->n_enc; k++)
                    if (in->enc[k] != in->track) {
                        cc_track_clear(in->enc[k]);
                        free(in->enc[k]);
                    }
                in->n_enc = 1;
                in->enc[0] = in->track;
            }
            in->main_enc = in->n_enc - 1;
        }
        in->pt = cfg->slots[i].pt;
        in->feed = -1;
        in->active = 1;
        snprintf(in->mid, sizeof in->mid, "local-%s", sfu_slot_names[i]);
    }
    pp->room = r;
    pp->order = ++s->order;
    pp->next_report = now;
    sfu_list_add(&r->pubs, pp);
    INC(s, publishers);
    if (cc_worker_watch_fd(w, lp->efd, local_drain, lp) != 0) {
        CC_ERROR("sfu", "local publisher: cannot watch its eventfd");
        sfu_unlink_peer(s, pp);
        sfu_peer_state_free_tracks(pp);
        free(lp);
        return;
    }
    lp->next = s->locals;
    s->locals = lp;
    sfu_cache_rebalance(s);
    CC_INFO("sfu", "room %u: local publisher attached", r->id);
}

typedef struct local_detach {
    cc_ring *ring;
    sem_t done;
} local_detach;

static void do_local_detach(cc_worker *w, void *arg, cc_time_us now)
{
    (void)now;
    local_detach *d = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_local **pl = s ? &s->locals : NULL;
    while (pl && *pl && (*pl)->ring != d->ring)
        pl = &(*pl)->next;
    if (pl && *pl) {
        sfu_local *lp = *pl;
        *pl = lp->next;
        cc_worker_unwatch_fd(w, lp->efd);
        sfu_room *r = lp->pp.room;
        if (r) {
            sfu_unlink_peer(s, &lp->pp);
            for (int i = 0; i < CC_SLOT_COUNT; i++)
                sfu_slot_fallback(w, s, r, &lp->pp, i);
            sfu_room_update_mask(w, r, &lp->pp);
            sfu_cache_rebalance(s);
        }
        cc_pkt *p;
        while ((p = cc_ring_pop(lp->ring)))
            cc_pkt_unref(p);
        sfu_peer_state_free_tracks(&lp->pp);
        free(lp);
        CC_INFO("sfu", "local publisher detached");
    }
    sem_post(&d->done);
}

int cc_sfu_local_attach(cc_worker *w, const cc_sfu_local_config *cfg)
{
    cc_sfu_local_config *c = malloc(sizeof *c);
    if (!c)
        return CC_ENOMEM;
    *c = *cfg;
    return cc_worker_call(w, do_local_attach, c, free);
}

static void local_detach_nofree(void *arg) { (void)arg; }

int cc_sfu_local_detach(cc_worker *w, cc_ring *ring)
{
    local_detach d;
    d.ring = ring;
    sem_init(&d.done, 0, 0);
    int rc = cc_worker_call(w, do_local_detach, &d, local_detach_nofree);
    if (rc == 0)
        sem_wait(&d.done);
    sem_destroy(&d.done);
    return rc;
}

/* ------------------------------------------------------------------ */
/* lesson recording (src/media/recorder.c)                             */
/* ------------------------------------------------------------------ */

typedef struct record_call {
    uint32_t room_id;
    cc_rec_tap *tap;
    sem_t done;
} record_call;

static void do_record_attach(cc_worker *w, void *arg, cc_time_us now)
{
    (void)now;
    record_call *c = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_room *r = s ? sfu_room_find(s, c->room_id) : NULL;
    if (!r) {
        CC_WARN("sfu", "recording: room %u is not open", c->room_id);
        return;
    }
    if (!r->rec)
        INC(s, recordings);
    r->rec = c->tap;
    CC_INFO("sfu", "room %u: recording attached", r->id);
}

static void do_record_detach(cc_worker *w, void *arg, cc_time_us now)
{
    (void)now;
    record_call *c = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_room *r = s ? sfu_room_find(s, c->room_id) : NULL;
    if (r && r->rec == c->tap) {
        r->rec = NULL;
        DEC(s, recordings);
        CC_INFO("sfu", "room %u: recording detached", r->id);
    }
}

/* Runs after do_record_detach, and also when the worker stops before it
 * ran: the waiting caller is let go either way. */
static void record_call_release(void *arg) { sem_post(&((record_call *)arg)->done); }

int cc_sfu_record_attach(cc_worker *w, uint32_t room_id, cc_rec_tap *tap)
{
    record_call *c = calloc(1, sizeof *c);
    if (!c)
        return CC_ENOMEM;
    c->room_id = room_id;
    c->tap = tap;
    return cc_worker_call(w, do_record_attach, c, free);
}

int cc_sfu_record_detach(cc_worker *w, uint32_t room_id, cc_rec_tap *tap)
{
    record_call c = {.room_id = room_id, .tap = tap};
    sem_init(&c.done, 0, 0);
    int rc = cc_worker_call(w, do_record_detach, &c, record_call_release);
    if (rc == 0)
        sem_wait(&c.done);
    sem_destroy(&c.done);
    return rc;
}
