/* classcast SFU: rooms over several workers (see docs/ARCHITECTURE.md):
 * an owner room copies its feeds' state and every packet of every
 * simulcast encoding to mirror rooms on other workers over SPSC rings; a
 * mirror's subscribers each get the encoding their own allocation picks,
 * as on the owner, and a mirror asks the owner for keyframes of the
 * encoding they wait for. Also the one encoding of a simulcast m-line
 * that recordings take. */
#include "sfu_priv.h"

/* The main encoding of a simulcast m-line that sent nothing this long has
 * stopped (the browser left it out): a lower one takes over. */
#define SFU_MAIN_STALE (500 * CC_USEC_PER_MSEC)

/* ------------------------------------------------------------------ */
/* rooms over several workers                                           */
/* ------------------------------------------------------------------ */

/* What crosses between workers is a cc_pkt on the SPSC ring from one to
 * the other (cc_pkt.flags: kind | feed << 8 | encoding << 13; meta[0]:
 * the room):
 * - XF_RTP, owner -> mirror: a publisher packet as it came (decrypted),
 *   meta[1] the track id of its encoding. For video it is the very buffer
 *   the owner keeps for NACKs: the mirror keeps a reference for its own.
 * - XF_FEED, owner -> mirror: a feed's state (xf_feed in data), sent
 *   before the first packet of a new source, when mute or last-N change,
 *   and every second (sender report mappings, the encodings).
 * - XF_KEYREQ, mirror -> owner: a subscriber there waits for a keyframe
 *   of that encoding.
 * One ring each way per pair of workers, so a feed's state and packets
 * arrive in order. */
enum { XF_RTP = 1, XF_FEED, XF_KEYREQ };
#define XF_FEED_SHIFT 8
#define XF_ENC_SHIFT 13
_Static_assert(CC_SFU_MAX_FEEDS <= 1 << (XF_ENC_SHIFT - XF_FEED_SHIFT), "feed bits");
_Static_assert(SFU_SIM <= 1 << (16 - XF_ENC_SHIFT), "encoding bits");
/* A mirror asks the owner for a keyframe at most this often per encoding
 * (the owner coalesces: SFU_PLI_GAP). */
#define SFU_XF_KEYREQ_GAP (50 * CC_USEC_PER_MSEC)
#define SFU_XF_BATCH 512

typedef struct xf_enc {
    uint32_t id;           /* its track id at the owner */
    unsigned quota;        /* the owner's NACK cache share for it */
    int have_sr;
    uint32_t sr_rtp;
    cc_time_us sr_unix_us;
} xf_enc;

typedef struct xf_feed {
    uint8_t used, slot, video, live, muted, teacher_only, visible;
    uint8_t n_enc;         /* encodings of its source now (0: none) */
    uint32_t owner;        /* the sender (0: the teacher) */
    int clock_rate;
    xf_enc enc[SFU_SIM];   /* lowest first, as sfu_in */
} xf_feed;

int cc_sfu_set_links(cc_sfu *s, int self, int n, cc_ring *const *to, cc_ring *const *from,
                     const int *efds)
{
    if (self < 0 || n < 1 || n > CC_SFU_MAX_WORKERS || self >= n)
        return CC_EINVAL;
    s->self = self;
    s->n_workers = n;
    for (int i = 0; i < n; i++) {
        s->xto[i] = to[i];
        s->xfrom[i] = from[i];
        s->xefd[i] = efds[i];
    }
    return 0;
}

/* Hand p (the caller's reference) to worker k. */
static void xfer_push(cc_sfu *s, int k, cc_pkt *p)
{
    cc_ring *ring = s->xto[k];
    if (!ring || cc_ring_push(ring, p) != 0) {
        cc_pkt_unref(p);
        INC(s, xfer_drop);
        return;
    }
    INC(s, xfer_out);
    /* After every push: the reader reads the eventfd, then drains, so a
     * push it did not see always leaves the eventfd readable (skipping
     * the write when the ring looked non-empty would race with a reader
     * that is just emptying it). A system call per packet and mirror,
     * against a fan-out of hundreds. */
    uint64_t one = 1;
    ssize_t wr = write(s->xefd[k], &one, sizeof one);
    (void)wr;
}

static cc_pkt *xf_msg(cc_sfu *s, int kind, uint32_t room_id, int fi, int enc)
{
    cc_pkt *p = cc_pkt_alloc(s->pool);
    if (!p) {
        INC(s, xfer_drop);
        return NULL;
    }
    p->flags = (uint16_t)(kind | fi << XF_FEED_SHIFT | enc << XF_ENC_SHIFT);
    p->meta[0] = room_id;
    return p;
}

/* Owner: feed fi's state to every mirror of the room. */
void sfu_mirror_feed(cc_sfu *s, sfu_room *r, int fi)
{
    const sfu_feed *f = &r->feeds[fi];
    xf_feed x = {.used = (uint8_t)f->used, .slot = (uint8_t)f->slot,
                 .video = (uint8_t)sfu_slot_is_video(f->slot), .live = f->src != NULL,
                 .muted = (uint8_t)f->muted, .teacher_only = (uint8_t)f->teacher_only,
                 .visible = (uint8_t)f->visible, .owner = f->owner};
    const sfu_in *in = f->src && f->slot >= 0 && f->slot < CC_SLOT_COUNT &&
                               f->src->in[f->slot].active
                           ? &f->src->in[f->slot]
                           : NULL;
    for (int e = 0; in && e < in->n_enc && e < SFU_SIM; e++) {
        const cc_track *t = in->enc[e];
        x.clock_rate = t->clock_rate;
        x.enc[e] = (xf_enc){.id = t->id, .quota = t->cache_quota, .have_sr = t->have_sr,
                            .sr_rtp = t->sr_rtp, .sr_unix_us = t->sr_unix_us};
        x.n_enc = (uint8_t)(e + 1);
    }
    for (int k = 0; k < s->n_workers; k++) {
        if (!(r->mirrors >> k & 1))
            continue;
        cc_pkt *p = xf_msg(s, XF_FEED, r->id, fi, 0);
        if (!p)
            return;
        memcpy(p->data, &x, sizeof x);
        p->len = sizeof x;
        xfer_push(s, k, p);
    }
}

void sfu_mirror_sync_room(cc_sfu *s, sfu_room *r)
{
    if (!r->mirrors)
        return;
    for (int i = 0; i < CC_SFU_MAX_FEEDS; i++)
        if (r->feeds[i].used)
            sfu_mirror_feed(s, r, i);
}

/* Owner: a publisher packet of feed fi (encoding enc, track t) to the
 * mirrors. copy: the cached copy (video), else one is made. */
void sfu_mirror_rtp(cc_sfu *s, sfu_room *r, int fi, int enc, const cc_track *t, cc_pkt *copy,
                    const uint8_t *buf, size_t len, cc_time_us now)
{
    cc_pkt *p = copy;
    if (!p) {
        if (len > CC_PKT_CAP || !(p = cc_pkt_alloc(s->pool))) {
            INC(s, xfer_drop);
            return;
        }
        memcpy(p->data, buf, len);
        p->len = (uint16_t)len;
        p->time = now;
    } else {
        cc_pkt_ref(p);
    }
    p->flags = (uint16_t)(XF_RTP | fi << XF_FEED_SHIFT | enc << XF_ENC_SHIFT);
    p->meta[0] = r->id;
    p->meta[1] = t->id;
    for (int k = 0; k < s->n_workers; k++)
        if (r->mirrors >> k & 1)
            xfer_push(s, k, cc_pkt_ref(p));
    cc_pkt_unref(p);
}

/* Mirror: ask the owner for a keyframe of encoding enc of feed fi. */
void sfu_mirror_keyreq(cc_sfu *s, sfu_room *r, int fi, int enc, cc_time_us now)
{
    sfu_in *in = r->feeds[fi].shadow;
    cc_track *t = in && enc >= 0 && enc < in->n_enc ? in->enc[enc] : NULL;
    if (!t || !t->video || now - t->last_pli < SFU_XF_KEYREQ_GAP)
        return;
    t->last_pli = now;
    cc_pkt *p = xf_msg(s, XF_KEYREQ, r->id, fi, enc);
    if (p)
        xfer_push(s, r->mirror_of - 1, p);
}

/* Mirror: the shadow of feed f with n encodings (0: none), its tracks
 * made or freed to match. 0, or CC_ENOMEM (then it has fewer). */
static int shadow_encodings(sfu_feed *f, int n, int video, int clock_rate)
{
    if (!f->shadow && n > 0 && !(f->shadow = calloc(1, sizeof *f->shadow)))
        return CC_ENOMEM;
    sfu_in *in = f->shadow;
    if (!in)
        return 0;
    while (in->n_enc > n) {
        cc_track *t = in->enc[--in->n_enc];
        cc_track_clear(t); /* its references to the owner's packets */
        free(t);
        in->enc[in->n_enc] = NULL;
    }
    int rc = 0;
    while (in->n_enc < n) {
        cc_track *t = calloc(1, sizeof *t);
        if (!t) {
            rc = CC_ENOMEM;
            break;
        }
        cc_track_init(t, 0, f->slot, video, clock_rate);
        in->enc[in->n_enc++] = t;
    }
    in->track = in->n_enc ? in->enc[in->n_enc - 1] : NULL;
    return rc;
}

/* Mirror: encoding e of the shadow is now the owner's track `id`: another
 * source's packets go. */
static void shadow_bind(cc_track *t, uint32_t id, int clock_rate)
{
    if (!id || t->id == id)
        return;
    cc_track_clear(t);
    t->id = id;
    if (clock_rate > 0)
        t->clock_rate = clock_rate;
}

/* Mirror: a feed's state from the owner. */
static void on_xf_feed(cc_sfu *s, sfu_room *r, int fi, const cc_pkt *p)
{
    xf_feed x;
    if (p->len != sizeof x)
        return;
    memcpy(&x, p->data, sizeof x);
    if (x.n_enc > SFU_SIM)
        return;
    sfu_feed *f = &r->feeds[fi];
    int remap = !f->used != !x.used || f->owner != x.owner || f->slot != x.slot;
    /* Muted from now on: the owner stops sending its packets; hold every
     * subscriber's stream here, as the owner does for its own. */
    if (x.muted && !f->muted)
        for (sfu_peer *sp = r->subs; sp; sp = sp->next)
            if (sp->feed_out[fi] >= 0)
                cc_fwd_hold(&sp->out[sp->feed_out[fi]].fwd);
    f->used = x.used;
    f->owner = x.owner;
    f->slot = x.slot;
    f->muted = x.muted;
    f->teacher_only = x.teacher_only;
    f->visible = x.visible;
    f->mirror_live = x.live;
    /* A source gone keeps its encodings' tracks (and kept packets) until
     * the next one says how many it has. */
    if (x.used && x.n_enc && shadow_encodings(f, x.n_enc, x.video, x.clock_rate) != 0)
        INC(s, xfer_drop);
    for (int e = 0; f->shadow && e < f->shadow->n_enc && e < x.n_enc; e++) {
        cc_track *t = f->shadow->enc[e];
        shadow_bind(t, x.enc[e].id, x.clock_rate);
        if (x.enc[e].quota)
            cc_track_cache_set_quota(t, x.enc[e].quota);
        t->have_sr = x.enc[e].have_sr;
        t->sr_rtp = x.enc[e].sr_rtp;
        t->sr_unix_us = x.enc[e].sr_unix_us;
    }
    if (remap)
        sfu_room_remap(r);
}

/* Mirror: a publisher packet of encoding enc from the owner, to this
 * worker's subscribers: each gets it if it is on that encoding, as on
 * the owner (sfu_fanout). */
static void on_xf_rtp(cc_worker *w, cc_sfu *s, sfu_room *r, int fi, int enc, cc_pkt *p,
                      cc_time_us now)
{
    sfu_feed *f = &r->feeds[fi];
    sfu_in *in = f->shadow;
    cc_rtp_hdr h;
    if (!f->used || !in || cc_rtp_parse(p->data, p->len, &h) != 0) {
        INC(s, xfer_drop);
        return;
    }
    /* Packets of an encoding the feed's state has not announced yet (a
     * renegotiation added one): its track is made now. */
    if (enc >= in->n_enc &&
        shadow_encodings(f, enc + 1, sfu_slot_is_video(f->slot),
                         in->track ? in->track->clock_rate : 0) != 0) {
        INC(s, xfer_drop);
        return;
    }
    cc_track *t = in->enc[enc];
    shadow_bind(t, p->meta[1], 0);
    cc_track_on_rtp(t, h.seq, h.ts, p->len, now);
    cc_vp8_desc d;
    const cc_vp8_desc *dp = NULL;
    uint32_t kf_done = 0;
    if (h.payload_len > 0) {
        if (t->video && cc_vp8_parse(h.payload, h.payload_len, &d) != 0)
            return; /* the owner checked it */
        dp = t->video ? &d : NULL;
        /* As sfu_pub_on_rtp keeps them at the owner: what the
         * allocation of this worker's subscribers reads. */
        if (t->rx.started && t->last_media_rx && now - t->last_media_rx >= SFU_ENC_SILENT)
            t->resumed_at = now;
        t->last_media_rx = now;
        cc_track_on_layer(t, dp && d.has_tid ? d.tid : 0, p->len + SFU_WIRE_OVERHEAD,
                          dp ? d.start && d.partition == 0 : 1, now); /* wire bytes */
    }
    if (dp)
        kf_done = cc_track_on_frame_bytes(t, h.ts, p->len, d.keyframe, h.marker);
    if (t->video) {
        cc_track_cache_expire(t, now, SFU_CACHE_AGE);
        cc_track_cache_put(t, h.seq, cc_pkt_ref(p));
        if (dp && d.keyframe)
            cc_track_kf_seen_seq(t, h.seq, now);
    }
    int gated = t->video && f->owner != 0 && (!f->visible || f->teacher_only);
    cc_fwd_pkt fp = {.source = t->id, .buf = p->data, .h = &h, .vp8 = dp,
                     .keyframe = dp ? dp->keyframe : 0};
    if (in->n_enc > 1 && enc < in->n_enc - 1)
        sfu_enc_stop_kick(s, r, fi, in, enc, now);
    if (sfu_fanout(w, s, r, fi, &fp, kf_done, gated, enc, in->n_enc, now)) {
        INC(s, keyframe_waits);
        sfu_mirror_keyreq(s, r, fi, enc, now);
    }
}

/* The track of in's main encoding (the only one without simulcast). */
cc_track *sfu_main_track(sfu_in *in)
{
    return in->n_enc > 1 && in->main_enc >= 0 && in->main_enc < in->n_enc ? in->enc[in->main_enc]
                                                                           : in->track;
}

/* Owner: a mirror's subscriber waits for a keyframe of encoding enc. */
static void on_xf_keyreq(cc_worker *w, cc_sfu *s, sfu_room *r, int fi, int enc, cc_time_us now)
{
    sfu_feed *f = &r->feeds[fi];
    sfu_in *in = f->used && f->src && f->slot >= 0 && f->slot < CC_SLOT_COUNT &&
                         f->src->in[f->slot].active
                     ? &f->src->in[f->slot]
                     : NULL;
    if (in)
        sfu_request_keyframe(w, s, f->src, enc < in->n_enc ? in->enc[enc] : in->track, now);
}

/* Recordings take one encoding of a simulcast m-line, the best that
 * flows: 1 if this packet (encoding enc) is of it. They move to a higher
 * encoding that flows at its keyframe (asked for), and to the best
 * remaining one when theirs stops. */
int sfu_main_stream(cc_worker *w, cc_sfu *s, sfu_peer *pp, sfu_in *in, int enc,
                    int keyframe, cc_time_us now)
{
    if (in->n_enc <= 1 || enc == in->main_enc)
        return 1;
    int cur = in->main_enc;
    int cur_flows = cur >= 0 && cur < in->n_enc && in->enc[cur]->rx.started &&
                    now - in->enc[cur]->last_media_rx < SFU_MAIN_STALE;
    if (cur_flows && enc < cur)
        return 0;
    if (!cur_flows) {
        /* Only the best of those that flow takes over. */
        for (int e = enc + 1; e < in->n_enc; e++)
            if (in->enc[e]->rx.started && now - in->enc[e]->last_media_rx < SFU_MAIN_STALE)
                return 0;
    }
    if (!keyframe) {
        sfu_request_keyframe(w, s, pp, in->enc[enc], now);
        return 0;
    }
    in->main_enc = enc;
    CC_DEBUG("sfu", "member %u: %s main encoding now %d (%s)", pp->member_id,
             sfu_slot_names[in->track->slot], enc, in->rid[enc]);
    return 1;
}

/* Worker: what the other workers sent (its eventfd is readable). */
static void xfer_drain(cc_worker *w, void *ud, cc_time_us now)
{
    cc_sfu *s = ud;
    uint64_t v;
    ssize_t rd = read(s->xefd[s->self], &v, sizeof v);
    (void)rd;
    int more = 0;
    for (int k = 0; k < s->n_workers; k++) {
        cc_ring *ring = s->xfrom[k];
        cc_pkt *p;
        int n = 0;
        for (; ring && n < SFU_XF_BATCH && (p = cc_ring_pop(ring)); n++) {
            INC(s, xfer_in);
            int kind = p->flags & 0xff;
            int fi = p->flags >> XF_FEED_SHIFT & ((1 << (XF_ENC_SHIFT - XF_FEED_SHIFT)) - 1);
            int enc = p->flags >> XF_ENC_SHIFT;
            sfu_room *r = fi < CC_SFU_MAX_FEEDS && enc < SFU_SIM ? sfu_room_find(s, p->meta[0])
                                                                 : NULL;
            if (r && r->mirror_of && kind == XF_RTP)
                on_xf_rtp(w, s, r, fi, enc, p, now);
            else if (r && r->mirror_of && kind == XF_FEED)
                on_xf_feed(s, r, fi, p);
            else if (r && !r->mirror_of && kind == XF_KEYREQ)
                on_xf_keyreq(w, s, r, fi, enc, now);
            cc_pkt_unref(p); /* a room closed meanwhile: dropped */
        }
        more |= n == SFU_XF_BATCH;
    }
    if (more) { /* come back after the socket had a turn */
        uint64_t one = 1;
        ssize_t wr = write(s->xefd[s->self], &one, sizeof one);
        (void)wr;
    }
}

void cc_sfu_links_attach(cc_worker *w, void *arg, cc_time_us now)
{
    (void)arg;
    (void)now;
    cc_sfu *s = cc_worker_app_ud(w);
    if (s && s->n_workers > 1 && cc_worker_watch_fd(w, s->xefd[s->self], xfer_drain, s) != 0)
        CC_ERROR("sfu", "worker %d: cannot watch the other workers' rings", s->self);
}

typedef struct link_call {
    uint32_t room_id;
    int other;
} link_call;

static void do_room_link(cc_worker *w, void *arg, cc_time_us now)
{
    link_call *c = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_room *r = s ? sfu_room_find(s, c->room_id) : NULL;
    if (!r || r->mirror_of || c->other < 0 || c->other >= s->n_workers || c->other == s->self)
        return;
    if (!(r->mirrors >> c->other & 1))
        CC_INFO("sfu", "room %u: subscribers on worker %d too", r->id, c->other);
    r->mirrors |= 1ull << c->other;
    sfu_mirror_sync_room(s, r);
    r->next_sync = now + CC_USEC_PER_SEC;
}

int cc_sfu_room_link(cc_worker *owner, uint32_t room_id, int mirror)
{
    link_call *c = malloc(sizeof *c);
    if (!c)
        return CC_ENOMEM;
    *c = (link_call){.room_id = room_id, .other = mirror};
    return cc_worker_call(owner, do_room_link, c, free);
}

static void do_room_open_mirror(cc_worker *w, void *arg, cc_time_us now)
{
    link_call *c = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    if (!s || sfu_room_find(s, c->room_id))
        return;
    sfu_do_room_open(w, &c->room_id, now);
    sfu_room *r = sfu_room_find(s, c->room_id);
    if (!r)
        return;
    r->mirror_of = c->other + 1;
    DEC(s, rooms);
    INC(s, mirror_rooms);
    CC_INFO("sfu", "room %u: mirror of worker %d's", r->id, c->other);
}

int cc_sfu_room_open_mirror(cc_worker *w, uint32_t room_id, int owner_index)
{
    link_call *c = malloc(sizeof *c);
    if (!c)
        return CC_ENOMEM;
    *c = (link_call){.room_id = room_id, .other = owner_index};
    return cc_worker_call(w, do_room_open_mirror, c, free);
}
