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
 * freed in on_closed, which also unlinks it from its room. */
#include "classcast/sfu.h"

#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classcast/alloc.h"
#include "classcast/bwe.h"
#include "classcast/pacer.h"
#include "classcast/pacedq.h"
#include "classcast/err.h"
#include "classcast/forwarder.h"
#include "classcast/layerctl.h"
#include "classcast/log.h"
#include "classcast/rand.h"
#include "classcast/recorder.h"
#include "classcast/rtcp.h"
#include "classcast/ring.h"
#include "classcast/rtp.h"
#include "classcast/speakers.h"
#include "classcast/srtp.h"
#include "classcast/track.h"
#include "classcast/twcc.h"
#include "classcast/udp.h"
#include "classcast/vp8.h"

#define SFU_ROOM_BUCKETS 64
/* Keyframe requests to one publisher track: at most one per 300 ms. A
 * Chromium encoder answers a PLI with a keyframe within a frame or two; a
 * class of students joining within a second costs a few keyframes, not one
 * each. */
#define SFU_PLI_GAP (300 * CC_USEC_PER_MSEC)
/* classcast's own encoder (a local publisher) answers every request with
 * its next frame: its requests are coalesced over a shorter gap, so a
 * join whose early keyframe came too soon is not held for 300 ms. */
#define SFU_LOCAL_KF_GAP (100 * CC_USEC_PER_MSEC)
#define SFU_KF_GAP(pub) ((pub)->local ? SFU_LOCAL_KF_GAP : SFU_PLI_GAP)
/* RFC 3550 6.2 scales the interval with the session size; WebRTC endpoints
 * report about once a second (and so do we), which keeps RTT and A/V sync
 * fresh at a negligible cost. */
#define SFU_REPORT_INTERVAL CC_USEC_PER_SEC
/* REMB cap sent to a publisher (camera + screen together). Without
 * transport-cc feedback a Chromium sender has only its loss-based
 * estimate, which starts low and grows slowly; a REMB tells its bandwidth
 * estimator how much the receiver side can take, so the encoders ramp up
 * promptly to classroom quality, and the value also caps them so one
 * teacher cannot saturate a school's uplink. */
#define SFU_REMB_BPS 2500000u
/* NACK cache memory (docs/ARCHITECTURE.md, "NACK cache"): one packet pool
 * per worker that maps chunks of SFU_POOL_CHUNK packets as video tracks
 * come and unmaps them as they go, up to the configured cap; each video
 * track keeps at most its share of the cap (and of its room's
 * SFU_ROOM_CACHE_PKTS), never more than CC_TRACK_CACHE, and nothing older
 * than SFU_CACHE_AGE. */
#define SFU_POOL_CHUNK 256
#define SFU_ROOM_CACHE_PKTS 8192
#define SFU_CACHE_AGE (2 * CC_USEC_PER_SEC)
/* A track never gets less than this share (a cap too small for the tracks
 * then shows as cache_alloc_fail and reused buffers, not as no cache). */
#define SFU_CACHE_MIN_QUOTA 32
#define SFU_TX_CAP (CC_UDP_TX_BUF - CC_SRTP_MAX_TRAILER)
/* What a packet costs on the wire beyond its RTP bytes, for the bandwidth
 * estimate: the SRTP tag (16 bytes with AES-GCM, 10 with AES-CM: the
 * larger), UDP (8) and IPv4 (20). */
#define SFU_WIRE_OVERHEAD (16 + 8 + 20)
/* Feedback entries expanded at once: a 50-100 ms feedback of a 5 Mbit/s
 * subscriber holds a few hundred. */
#define SFU_TWCC_SCRATCH 4096
/* Layer allocation from the estimate: four times a second (the estimate
 * moves on feedback every 50 ms; layers switch only at pictures). */
#define SFU_ALLOC_INTERVAL (250 * CC_USEC_PER_MSEC)
#define SFU_ALLOC_HOLD_RUNS 4
/* ... and goes up only to what the lowest estimate of the last two
 * seconds carries (cc_alloc_run_band). */
#define SFU_ALLOC_UP_RUNS 8
/* The longest kept chain a new subscriber is started on (out_replay): a
 * still screen's keyframe and what followed fit; a camera's chain of
 * seconds of moving pictures is not worth decoding in a burst. */
#define SFU_REPLAY_MAX 256
/* ... and paced at this rate (bit/s): its link is not known yet, and a
 * still 1080p screen's chain (60-250 KB) at line rate would overflow a
 * Wi-Fi queue or a socket buffer on the way; at 10 Mbit/s it takes
 * 50-200 ms. */
#define SFU_REPLAY_BPS 10000000u
#define SFU_REPLAY_REPAIR (5 * CC_USEC_PER_SEC)
#define SFU_ALLOC_LOSS 0.05 /* loss that counts as a limit of the path */
/* Pacing of a subscriber's video: below this estimate, at this factor of
 * it, a queue of at most SFU_PACE_QUEUE packets, a burst of SFU_PACE_BURST
 * (at least the worker's 10 ms tick, which drains the queue). */
#define SFU_PACE_BELOW 4000000u
#define SFU_PACE_FACTOR 1.25
#define SFU_PACE_QUEUE 384
#define SFU_PACE_BURST (20 * CC_USEC_PER_MSEC)
/* The estimate must hold a camera down this long before the page hears
 * its link is weak (loss says it at once). */
#define SFU_WEAK_HOLD (4 * CC_USEC_PER_SEC)
/* A subscriber held below its best layers probes for them after 3 s, then
 * with the gap doubling to 10 s while it stays held (a probe is 15 ms at
 * the best rate: a few kilobytes). */
#define SFU_PROBE_INTERVAL (3 * CC_USEC_PER_SEC)
#define SFU_PROBE_INTERVAL_MAX (10 * CC_USEC_PER_SEC)
/* Probe padding packets: the most RFC 3550 padding allows. */
#define SFU_PROBE_PAD 255

typedef struct sfu_room sfu_room;
typedef struct sfu_peer sfu_peer;

/* Simulcast encodings of one m-line (RFC 8853) the SFU takes. */
#define SFU_SIM CC_SDP_MAX_SIM

/* Publisher side: one incoming m-line (a slot). Without simulcast it has
 * one track; with it, one track per encoding (RFC 8851 rid), lowest
 * first, each with its own SSRC, receive state and NACK cache. */
typedef struct sfu_in {
    int active;
    char mid[64];
    int pt;
    int feed;             /* index in the room's feeds, -1 none (yet) */
    cc_track *track;      /* the top (or only) encoding: enc[n_enc - 1] */
    int n_enc;
    cc_track *enc[SFU_SIM];
    char rid[SFU_SIM][CC_SDP_RID_LEN];
    int main_enc;         /* simulcast: the encoding recordings and other
                           * workers' subscribers get (main_stream) */
} sfu_in;

/* The main encoding of a simulcast m-line that sent nothing this long has
 * stopped (the browser left it out): a lower one takes over. */
#define SFU_MAIN_STALE (500 * CC_USEC_PER_MSEC)

#define SFU_MAX_TRACKS (CC_SLOT_COUNT * SFU_SIM)
#define SFU_LEARNT 16

/* Every track of a publisher's active slots, into ts[0..SFU_MAX_TRACKS). */
static int pub_tracks(const sfu_peer *pp, cc_track **ts);

/* Subscriber side: one outgoing stream (one m-line that carries a track). */
typedef struct sfu_out {
    int active;
    char mid[64];
    int slot;             /* the kind */
    uint32_t owner;       /* whose track: 0 the teacher's, else a member */
    cc_fwd fwd;
    cc_layerctl lc;       /* video: temporal layers this subscriber's link
                           * carries (its RRs and NACKs) */
    cc_time_us wait_since; /* video: waiting for its first picture since
                            * (connect or renegotiation), 0 once it came */
    int paused;           /* the allocation gives it nothing (a camera the
                           * subscriber's link cannot carry) */
    int alloc_below;      /* the allocation gives it less than its best
                           * (paused, a lower encoding or fewer layers) */
    /* Simulcast source: the encoding (index, lowest first) the
     * allocation wants and the one being forwarded (-1: none yet); a
     * switch happens at a keyframe of the wanted one. */
    int8_t want_enc, cur_enc;
    uint8_t alloc_tid;    /* highest temporal layer its estimate carries
                           * (CC_FWD_ALL_LAYERS without an estimate); the
                           * cap is the lower of it and lc.layer */
    uint32_t rtx_ssrc;    /* RTX stream (RFC 4588) if the subscriber took
                           * it: retransmissions and probes; 0 none */
    uint8_t rtx_pt;
    uint16_t rtx_seq;
    /* The kept chain it was started on (out_replay): rp_n packets of
     * track rp_track from source seq rp_src_seq, whose pictures went out
     * one tick apart from rp_ts. A NACK inside it is repaired with that
     * timestamp, not the live mapping, for SFU_REPLAY_REPAIR (later, a
     * seq in the range is a newer packet after wrap-around). rp_n 0: none. */
    cc_time_us rp_at;
    uint32_t rp_track, rp_ts;
    uint16_t rp_src_seq, rp_n;
} sfu_out;

#define SFU_MAX_OUTS CC_SDP_MAX_MEDIA
#define SFU_MAX_POLICIES 64

typedef struct sfu_local sfu_local;

struct sfu_peer {
    sfu_local *local;     /* a publisher inside the process, else NULL */
    uint32_t room_id, member_id;
    int publisher;
    char ufrag[CC_ICE_MAX_CRED];
    char cname[24];
    int link_weak;        /* subscriber: last LINK event said weak */
    cc_time_us limited_since; /* its estimate holds the camera down since */
    uint32_t rtcp_ssrc;   /* publisher: our SSRC for RR/PLI/NACK/REMB */
    int ext_mid;          /* BUNDLE: one extension id space per transport */
    int ext_rid;          /* publisher with simulcast: RFC 8852 rid id */
    /* Publisher: SSRCs learnt from the mid / rid header extensions, by
     * (mid, rid). A browser stops sending those extensions once our
     * receiver reports acknowledge the SSRC, so when a renegotiation
     * brings an m-line back (a camera turned off and on again keeps its
     * transceiver and SSRCs) its encodings are bound from here. */
    struct {
        char mid[64];
        char rid[CC_SDP_RID_LEN];
        uint32_t ssrc;
    } learnt[SFU_LEARNT];
    int n_learnt;
    int remb;             /* the publisher accepted goog-remb */
    int ext_twcc;         /* transport-wide seq extension id, 0: no
                           * transport-cc (publisher: then REMB, if
                           * accepted; subscriber: loss-based layers) */
    cc_twcc_recv *twcc;   /* publisher with transport-cc: its feedback */
    /* Subscriber with transport-cc (docs/bwe.md): the transport-wide
     * numbers of the packets we send it, the estimate its feedback
     * drives, and the probe cluster being sent (padding on RTX). */
    uint16_t twcc_seq;
    cc_bwe *bwe;
    cc_bwe_probe probe;
    cc_time_us probe_start;
    size_t probe_bytes;
    int probe_pkts;
    /* Which layers of each out its estimate carries (alloc.h), run every
     * SFU_ALLOC_INTERVAL; when it holds the subscriber below its best,
     * a probe at the best rate every SFU_PROBE_INTERVAL (doubling while
     * they fail). */
    cc_alloc alloc;
    /* Pacing (docs/bwe.md): while its estimate is below SFU_PACE_BELOW,
     * its video leaves at SFU_PACE_FACTOR x the estimate through a queue
     * (made the first time), so a keyframe does not overflow the queue
     * of a slow link. */
    cc_pacedq *pq;
    cc_pacer pacer;
    int pacing;
    int pace_replay;      /* pacing only for a kept chain (out_replay),
                           * until the queue has drained */
    cc_time_us next_alloc, next_probe_req;
    uint32_t tgt_hist[SFU_ALLOC_UP_RUNS]; /* estimates of the last runs,
                                           * the newest at tgt_i - 1 */
    uint32_t tgt_low;     /* the lowest of them (0: none; sub_pace) */
    int path_limited;     /* its estimate has shown a limit (sub_alloc) */
    unsigned tgt_i;
    cc_time_us probe_gap;
    int ext_level;        /* publisher: RFC 6464 audio level extension id */
    uint32_t owner;       /* 0: the teacher, else its member id */
    int is_teacher;       /* subscriber: gets every guest camera */
    cc_wpeer *wp;
    sfu_room *room;       /* NULL when not linked */
    uint64_t order;       /* connect order: the newest publisher wins a slot */
    sfu_peer *next, *prev;
    cc_time_us next_report;
    sfu_in in[CC_SLOT_COUNT];
    sfu_out *out;         /* n_out of them (malloc'd: a subscriber of a
                           * big seminar has many, most have three) */
    int n_out;
    /* feed index -> index in out[] (-1: this subscriber does not take it);
     * rebuilt when the room's feeds or the subscriber's outs change. */
    int8_t feed_out[CC_SFU_MAX_FEEDS];
};

struct sfu_local {
    sfu_peer pp;
    cc_ring *ring;
    int efd;
    void (*keyframe)(void *ud, int slot);
    void *ud;
    sfu_local *next;
};

/* One sender's track in a room: (owner, kind) and the publisher peer
 * whose packets it forwards now. Feeds 0..2 are the teacher's camera,
 * screen and mic; guests' are allocated from 3 on. */
typedef struct sfu_feed {
    int used;
    uint32_t owner;
    int slot;
    sfu_peer *src;
    int muted;            /* mic: not forwarded */
    int teacher_only;     /* camera: to teacher subscribers only */
    int visible;          /* guest camera: among the last N speakers */
    /* A mirror room's copy of the owner's feed (see "Rooms over several
     * workers"): whether it has a source, and a track standing for that
     * source (its id, clock, SR, and references to the owner's packets
     * for NACKs). */
    int mirror_live;
    cc_track *shadow;
} sfu_feed;

/* What the teacher decided about a sender, also for feeds to come. */
typedef struct sfu_policy {
    uint32_t owner;
    int muted, teacher_only;
} sfu_policy;

struct sfu_room {
    uint32_t id;
    sfu_peer *pubs, *subs;
    sfu_feed feeds[CC_SFU_MAX_FEEDS];
    sfu_policy policy[SFU_MAX_POLICIES];
    int n_policy;
    int last_n;
    cc_speakers speakers;
    uint32_t speakers_version;
    /* Guests whose cameras non-teachers get now: the most recent speakers
     * first (n_recent of them), then guests with a camera who have not
     * spoken, up to last_n. */
    uint32_t shown[CC_SFU_MAX_LAST_N];
    int n_shown, n_recent;
    unsigned active;      /* last MEDIA mask emitted */
    cc_rec_tap *rec;      /* a recording of the teacher's feeds (the
                           * recorder's; cc_sfu_record_attach), or NULL */
    /* Rooms over several workers: an owner copies every publisher packet
     * to the workers in `mirrors` (a bit per worker); a mirror room
     * (mirror_of = owner's index + 1) has only subscribers and the feeds
     * as the owner says. */
    uint64_t mirrors;
    int mirror_of;
    cc_time_us next_sync;
    sfu_room *next;
};

struct cc_sfu {
    sfu_local *locals;    /* local publishers attached (worker thread) */
    cc_pkt_pool *pool;    /* NACK cache packets (growable to cache_pkts) */
    uint32_t cache_pkts;  /* the cap, in packets */
    size_t cache_bytes;   /* the cap as configured */
    unsigned cache_quota; /* per-track share now (CC_TRACK_CACHE: no limit) */
    int cache_capped;     /* the cap limits the tracks' caches (logged) */
    int cache_full_logged; /* the pool ran dry once (logged once) */
    int64_t replay_age;   /* cc_sfu_set_keyframe_replay: the oldest kept
                           * keyframe a join starts on (0: none; atomic) */
    /* Other workers (cc_sfu_set_links): rings to and from each, their
     * eventfds; ours is efds[self]. */
    int self, n_workers;
    cc_ring *xto[CC_SFU_MAX_WORKERS], *xfrom[CC_SFU_MAX_WORKERS];
    int xefd[CC_SFU_MAX_WORKERS];
    sfu_room *rooms[SFU_ROOM_BUCKETS];
    uint64_t order;
    uint32_t next_track_id;
    cc_twcc_pkt *twcc_scratch; /* SFU_TWCC_SCRATCH entries */
    cc_sfu_stats c;
};

/* Single writer (the worker), any reader: relaxed atomic stores. */
#define ADD(s, f, n) __atomic_store_n(&(s)->c.f, (s)->c.f + (n), __ATOMIC_RELAXED)
#define INC(s, f) ADD(s, f, 1)
#define DEC(s, f) __atomic_store_n(&(s)->c.f, (s)->c.f - 1, __ATOMIC_RELAXED)

static const char *const slot_names[CC_SLOT_COUNT] = {"camera", "screen", "mic"};

static int pub_tracks(const sfu_peer *pp, cc_track **ts)
{
    int n = 0;
    for (int i = 0; i < CC_SLOT_COUNT; i++)
        for (int k = 0; pp->in[i].active && k < pp->in[i].n_enc; k++)
            if (pp->in[i].enc[k])
                ts[n++] = pp->in[i].enc[k];
    return n;
}

/* Free a slot's tracks (all its encodings). */
static void in_free_tracks(sfu_in *in)
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

static int slot_is_video(int slot) { return slot != CC_SLOT_MIC; }

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

static void peer_state_free_tracks(sfu_peer *pp);
static void cache_rebalance(cc_sfu *s);
static void mirror_sync_room(cc_sfu *s, sfu_room *r);
static void mirror_feed(cc_sfu *s, sfu_room *r, int fi);

/* A mirror's shadow tracks hold references to the owner worker's packets. */
static void room_drop_shadows(sfu_room *r)
{
    for (int i = 0; i < CC_SFU_MAX_FEEDS; i++)
        if (r->feeds[i].shadow) {
            cc_track_clear(r->feeds[i].shadow);
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
        peer_state_free_tracks(&lp->pp);
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

static sfu_room *room_find(cc_sfu *s, uint32_t id)
{
    for (sfu_room *r = s->rooms[id % SFU_ROOM_BUCKETS]; r; r = r->next)
        if (r->id == id)
            return r;
    return NULL;
}

static void emit_ev(cc_worker *w, const sfu_peer *pp, int kind, unsigned active, int weak)
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
    emit_ev(w, pp, kind, active, 0);
}

static unsigned room_mask(const sfu_room *r)
{
    unsigned m = 0;
    for (int s = 0; s < CC_SLOT_COUNT; s++)
        if (r->feeds[s].src || r->feeds[s].mirror_live)
            m |= 1u << s;
    return m;
}

static void room_update_mask(cc_worker *w, sfu_room *r, const sfu_peer *cause)
{
    unsigned m = room_mask(r);
    if (m != r->active) {
        r->active = m;
        emit(w, cause, CC_SFU_EV_MEDIA, m);
    }
}

/* ---- feeds ---- */

static int feed_find(const sfu_room *r, uint32_t owner, int slot)
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

static sfu_policy *policy_of(sfu_room *r, uint32_t owner, int create)
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
static void sub_remap(const sfu_room *r, sfu_peer *sp)
{
    memset(sp->feed_out, -1, sizeof sp->feed_out);
    for (int i = 0; i < sp->n_out; i++) {
        const sfu_out *o = &sp->out[i];
        int f = o->active ? feed_find(r, o->owner, o->slot) : -1;
        if (f >= 0)
            sp->feed_out[f] = (int8_t)i;
    }
}

static void room_remap(sfu_room *r)
{
    for (sfu_peer *sp = r->subs; sp; sp = sp->next)
        sub_remap(r, sp);
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
    int f = feed_find(r, owner, slot);
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
    const sfu_policy *p = policy_of(r, owner, 0);
    fd->muted = p ? p->muted : 0;
    fd->teacher_only = p ? p->teacher_only : 0;
    fd->visible = owner_visible(r, owner);
    room_remap(r);
    return f;
}

/* Which guest cameras flow to non-teachers: the last N speakers, and
 * while fewer than N have spoken, the other guests that send a camera
 * (in the order they came), so a seminar with two schools shows both
 * before anyone speaks. When the set changes: the feeds' flags, and an
 * event for the control thread (the pages' `speakers`). */
static void room_update_shown(cc_worker *w, cc_sfu *s, sfu_room *r, const sfu_peer *cause)
{
    r->speakers_version = cc_speakers_version(&r->speakers);
    uint32_t ids[CC_SFU_MAX_LAST_N], spoke[CC_SFU_MAX_LAST_N];
    int ns = cc_speakers_recent(&r->speakers, spoke, CC_SFU_MAX_LAST_N), n = 0;
    /* A camera kept to the teacher takes no place among the shown. */
    for (int k = 0; k < ns && n < r->last_n; k++) {
        int f = feed_find(r, spoke[k], CC_SLOT_CAMERA);
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
    mirror_sync_room(s, r);
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

static void list_add(sfu_peer **head, sfu_peer *p)
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

static void do_room_open(cc_worker *w, void *arg, cc_time_us now)
{
    (void)now;
    cc_sfu *s = cc_worker_app_ud(w);
    uint32_t id = ((room_call *)arg)->id;
    if (!s || room_find(s, id))
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

static void unlink_peer(cc_sfu *s, sfu_peer *pp)
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
            unlink_peer(s, p);
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
    cache_rebalance(s);
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
    return room_call_post(w, room_id, do_room_open);
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
        int nt = pub_tracks(p, ts);
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
static void cache_rebalance(cc_sfu *s)
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
                int nt = pub_tracks(p, ts);
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
/* feedback towards a publisher                                         */
/* ------------------------------------------------------------------ */

/* RFC 4585 section 6.3.1 PLI for one publisher track: sent now, or
 * coalesced with one in flight or due soon (cc_track_kf_want). */
static void local_keyframe(sfu_peer *pub, int slot);

static void send_keyframe_request(cc_worker *w, cc_sfu *s, sfu_peer *pub, cc_track *t)
{
    if (pub->local) {
        local_keyframe(pub, t->slot);
        INC(s, pli_sent);
        return;
    }
    uint8_t buf[16];
    int n = cc_rtcp_write_pli(buf, sizeof buf, pub->rtcp_ssrc, t->ssrc);
    if (n > 0 && cc_worker_send_rtcp(w, pub->wp, buf, (size_t)n) == 0)
        INC(s, pli_sent);
}

static void request_keyframe(cc_worker *w, cc_sfu *s, sfu_peer *pub,
                             cc_track *t, cc_time_us now)
{
    if (!t || !t->video || !t->ssrc || (!pub->wp && !pub->local))
        return;
    if (cc_track_kf_want(t, now, SFU_KF_GAP(pub)))
        send_keyframe_request(w, s, pub, t);
    else
        INC(s, pli_coalesced);
}

/* A wait remembered by cc_track_kf_want whose time has come (no packet
 * need arrive: a still screen sends none). */
static void keyframe_due(cc_worker *w, cc_sfu *s, sfu_peer *pub, cc_time_us now)
{
    cc_track *ts[SFU_MAX_TRACKS];
    int nt = pub_tracks(pub, ts);
    for (int j = 0; j < nt; j++) {
        cc_track *t = ts[j];
        if (t->video && t->ssrc && t->kf_wanted && cc_track_kf_due(t, now, SFU_KF_GAP(pub)))
            send_keyframe_request(w, s, pub, t);
    }
}

/* ------------------------------------------------------------------ */
/* rooms over several workers                                           */
/* ------------------------------------------------------------------ */

/* What crosses between workers is a cc_pkt on the SPSC ring from one to
 * the other (cc_pkt.flags: kind | feed << 8; meta[0]: the room):
 * - XF_RTP, owner -> mirror: a publisher packet as it came (decrypted),
 *   meta[1] the source's track id. For video it is the very buffer the
 *   owner keeps for NACKs: the mirror keeps a reference for its own.
 * - XF_FEED, owner -> mirror: a feed's state (xf_feed in data), sent
 *   before the first packet of a new source, when mute or last-N change,
 *   and every second (sender report mapping).
 * - XF_KEYREQ, mirror -> owner: a subscriber there waits for a keyframe.
 * One ring each way per pair of workers, so a feed's state and packets
 * arrive in order. */
enum { XF_RTP = 1, XF_FEED, XF_KEYREQ };
/* A mirror asks the owner for a keyframe at most this often per feed (the
 * owner coalesces: SFU_PLI_GAP). */
#define SFU_XF_KEYREQ_GAP (50 * CC_USEC_PER_MSEC)
#define SFU_XF_BATCH 512

typedef struct xf_feed {
    uint8_t used, slot, video, live, muted, teacher_only, visible;
    uint32_t owner;        /* the sender (0: the teacher) */
    uint32_t source;       /* track id of its source now (0: none) */
    int clock_rate;
    unsigned quota;        /* the owner's NACK cache share for it */
    int have_sr;
    uint32_t sr_rtp;
    cc_time_us sr_unix_us;
} xf_feed;

static int fanout(cc_worker *w, cc_sfu *s, sfu_room *r, int fi, const cc_fwd_pkt *fp,
                  int gated, int enc, int n_enc, cc_time_us now);

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

static cc_pkt *xf_msg(cc_sfu *s, int kind, uint32_t room_id, int fi)
{
    cc_pkt *p = cc_pkt_alloc(s->pool);
    if (!p) {
        INC(s, xfer_drop);
        return NULL;
    }
    p->flags = (uint16_t)(kind | fi << 8);
    p->meta[0] = room_id;
    return p;
}

/* Owner: feed fi's state to every mirror of the room. */
static void mirror_feed(cc_sfu *s, sfu_room *r, int fi)
{
    const sfu_feed *f = &r->feeds[fi];
    xf_feed x = {.used = (uint8_t)f->used, .slot = (uint8_t)f->slot,
                 .video = (uint8_t)slot_is_video(f->slot), .live = f->src != NULL,
                 .muted = (uint8_t)f->muted, .teacher_only = (uint8_t)f->teacher_only,
                 .visible = (uint8_t)f->visible, .owner = f->owner};
    const cc_track *t = f->src && f->slot >= 0 && f->slot < CC_SLOT_COUNT &&
                                f->src->in[f->slot].active
                            ? f->src->in[f->slot].track
                            : NULL;
    if (t) {
        x.source = t->id;
        x.clock_rate = t->clock_rate;
        x.quota = t->cache_quota;
        x.have_sr = t->have_sr;
        x.sr_rtp = t->sr_rtp;
        x.sr_unix_us = t->sr_unix_us;
    }
    for (int k = 0; k < s->n_workers; k++) {
        if (!(r->mirrors >> k & 1))
            continue;
        cc_pkt *p = xf_msg(s, XF_FEED, r->id, fi);
        if (!p)
            return;
        memcpy(p->data, &x, sizeof x);
        p->len = sizeof x;
        xfer_push(s, k, p);
    }
}

static void mirror_sync_room(cc_sfu *s, sfu_room *r)
{
    if (!r->mirrors)
        return;
    for (int i = 0; i < CC_SFU_MAX_FEEDS; i++)
        if (r->feeds[i].used)
            mirror_feed(s, r, i);
}

/* Owner: a publisher packet of feed fi to the mirrors. copy: the cached
 * copy (video), else one is made. */
static void mirror_rtp(cc_sfu *s, sfu_room *r, int fi, const cc_track *t, cc_pkt *copy,
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
    p->flags = (uint16_t)(XF_RTP | fi << 8);
    p->meta[0] = r->id;
    p->meta[1] = t->id;
    for (int k = 0; k < s->n_workers; k++)
        if (r->mirrors >> k & 1)
            xfer_push(s, k, cc_pkt_ref(p));
    cc_pkt_unref(p);
}

/* Mirror: ask the owner for a keyframe of feed fi. */
static void mirror_keyreq(cc_sfu *s, sfu_room *r, int fi, cc_time_us now)
{
    sfu_feed *f = &r->feeds[fi];
    if (!f->shadow || !f->shadow->video || now - f->shadow->last_pli < SFU_XF_KEYREQ_GAP)
        return;
    f->shadow->last_pli = now;
    cc_pkt *p = xf_msg(s, XF_KEYREQ, r->id, fi);
    if (p)
        xfer_push(s, r->mirror_of - 1, p);
}

/* Mirror: a feed's state from the owner. */
static void on_xf_feed(sfu_room *r, int fi, const cc_pkt *p)
{
    xf_feed x;
    if (p->len != sizeof x)
        return;
    memcpy(&x, p->data, sizeof x);
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
    if (x.used && !f->shadow) {
        f->shadow = calloc(1, sizeof *f->shadow);
        if (f->shadow)
            cc_track_init(f->shadow, 0, x.slot, x.video, x.clock_rate);
    }
    if (f->shadow) {
        if (x.source && f->shadow->id != x.source) {
            cc_track_clear(f->shadow); /* another source's packets */
            f->shadow->id = x.source;
            f->shadow->clock_rate = x.clock_rate > 0 ? x.clock_rate : f->shadow->clock_rate;
        }
        if (x.quota)
            cc_track_cache_set_quota(f->shadow, x.quota);
        f->shadow->have_sr = x.have_sr;
        f->shadow->sr_rtp = x.sr_rtp;
        f->shadow->sr_unix_us = x.sr_unix_us;
    }
    if (remap)
        room_remap(r);
}

/* Mirror: a publisher packet from the owner, to this worker's
 * subscribers. */
static void on_xf_rtp(cc_worker *w, cc_sfu *s, sfu_room *r, int fi, cc_pkt *p,
                      cc_time_us now)
{
    sfu_feed *f = &r->feeds[fi];
    cc_track *t = f->shadow;
    cc_rtp_hdr h;
    if (!f->used || !t || cc_rtp_parse(p->data, p->len, &h) != 0) {
        INC(s, xfer_drop);
        return;
    }
    t->id = p->meta[1];
    cc_vp8_desc d;
    const cc_vp8_desc *dp = NULL;
    if (t->video && h.payload_len > 0) {
        if (cc_vp8_parse(h.payload, h.payload_len, &d) != 0)
            return; /* the owner checked it */
        dp = &d;
        cc_track_on_layer(t, d.has_tid ? d.tid : 0, p->len, d.start && d.partition == 0, now);
        cc_track_on_frame_bytes(t, h.ts, p->len, d.keyframe, h.marker);
        cc_track_cache_expire(t, now, SFU_CACHE_AGE);
        cc_track_cache_put(t, h.seq, cc_pkt_ref(p));
        if (d.keyframe)
            cc_track_kf_seen(t, now);
    }
    int gated = t->video && f->owner != 0 && (!f->visible || f->teacher_only);
    cc_fwd_pkt fp = {.source = t->id, .buf = p->data, .h = &h, .vp8 = dp,
                     .keyframe = dp ? dp->keyframe : 0};
    if (fanout(w, s, r, fi, &fp, gated, 0, 1, now)) {
        INC(s, keyframe_waits);
        mirror_keyreq(s, r, fi, now);
    }
}

/* Owner: a mirror's subscriber waits for a keyframe. */
/* The track of in's main encoding (the only one without simulcast). */
static cc_track *main_track(sfu_in *in)
{
    return in->n_enc > 1 && in->main_enc >= 0 && in->main_enc < in->n_enc ? in->enc[in->main_enc]
                                                                           : in->track;
}

static void on_xf_keyreq(cc_worker *w, cc_sfu *s, sfu_room *r, int fi, cc_time_us now)
{
    sfu_feed *f = &r->feeds[fi];
    if (f->used && f->src && f->slot >= 0 && f->slot < CC_SLOT_COUNT &&
        f->src->in[f->slot].active)
        request_keyframe(w, s, f->src, main_track(&f->src->in[f->slot]), now);
}

/* Recordings and other workers' subscribers take one encoding of a
 * simulcast m-line, the best that flows: 1 if this packet (encoding enc)
 * is of it. They move to a higher encoding that flows at its keyframe
 * (asked for), and to the best remaining one when theirs stops. */
static int main_stream(cc_worker *w, cc_sfu *s, sfu_peer *pp, sfu_in *in, int enc,
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
        request_keyframe(w, s, pp, in->enc[enc], now);
        return 0;
    }
    in->main_enc = enc;
    CC_DEBUG("sfu", "member %u: %s main encoding now %d (%s)", pp->member_id,
             slot_names[in->track->slot], enc, in->rid[enc]);
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
            int kind = p->flags & 0xff, fi = p->flags >> 8;
            sfu_room *r = fi < CC_SFU_MAX_FEEDS ? room_find(s, p->meta[0]) : NULL;
            if (r && r->mirror_of && kind == XF_RTP)
                on_xf_rtp(w, s, r, fi, p, now);
            else if (r && r->mirror_of && kind == XF_FEED)
                on_xf_feed(r, fi, p);
            else if (r && !r->mirror_of && kind == XF_KEYREQ)
                on_xf_keyreq(w, s, r, fi, now);
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
    sfu_room *r = s ? room_find(s, c->room_id) : NULL;
    if (!r || r->mirror_of || c->other < 0 || c->other >= s->n_workers || c->other == s->self)
        return;
    if (!(r->mirrors >> c->other & 1))
        CC_INFO("sfu", "room %u: subscribers on worker %d too", r->id, c->other);
    r->mirrors |= 1ull << c->other;
    mirror_sync_room(s, r);
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

static void do_room_open(cc_worker *w, void *arg, cc_time_us now);

static void do_room_open_mirror(cc_worker *w, void *arg, cc_time_us now)
{
    link_call *c = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    if (!s || room_find(s, c->room_id))
        return;
    do_room_open(w, &c->room_id, now);
    sfu_room *r = room_find(s, c->room_id);
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

/* The track a subscriber's out gets its packets from now (owner: the
 * publisher's; mirror: the feed's shadow), or NULL. */
static cc_track *out_track(sfu_room *r, const sfu_out *o)
{
    int f = r ? feed_find(r, o->owner, o->slot) : -1;
    if (f < 0)
        return NULL;
    if (r->mirror_of)
        return r->feeds[f].mirror_live ? r->feeds[f].shadow : NULL;
    sfu_peer *pub = r->feeds[f].src;
    if (!pub || !pub->in[o->slot].active)
        return NULL;
    const sfu_in *in = &pub->in[o->slot];
    if (in->n_enc > 1 && o->cur_enc >= 0)
        return in->enc[o->cur_enc < in->n_enc ? o->cur_enc : in->n_enc - 1];
    return in->track;
}

/* The publisher's m-line feeding an out (owner rooms; NULL on a mirror,
 * which gets the top encoding only). */
static sfu_in *out_in(sfu_room *r, const sfu_out *o)
{
    int f = r && !r->mirror_of ? feed_find(r, o->owner, o->slot) : -1;
    sfu_peer *pub = f >= 0 ? r->feeds[f].src : NULL;
    return pub && pub->in[o->slot].active ? &pub->in[o->slot] : NULL;
}

/* The encoding an out wants of in. */
static int want_enc(const sfu_in *in, const sfu_out *o)
{
    return o->want_enc < in->n_enc ? o->want_enc : in->n_enc - 1;
}

static inline void sub_stamp(sfu_peer *sp, const sfu_out *o, uint8_t *buf, size_t n,
                             int probe_id, cc_time_us now);
static int sub_emit(cc_worker *w, cc_sfu *s, sfu_peer *sp, sfu_out *o, uint8_t *buf, size_t n,
                    cc_time_us now);
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
 * must wait for a keyframe (no complete chain cached, a mirror room, a
 * held feed). */
static int out_replay(cc_worker *w, cc_sfu *s, sfu_room *r, sfu_peer *sub, sfu_out *o,
                      cc_time_us now)
{
    sfu_in *in = out_in(r, o);
    int64_t max_age = __atomic_load_n(&s->replay_age, __ATOMIC_RELAXED);
    if (!in || o->paused || o->fwd.started || !o->fwd.cfg.video || max_age <= 0)
        return 0;
    int fi = feed_find(r, o->owner, o->slot);
    if (fi < 0 || !r->feeds[fi].src)
        return 0;
    const sfu_feed *f = &r->feeds[fi];
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
         * packets queue behind it until it has drained (sub_drain). */
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
        if (sub_emit(w, s, sub, o, slotbuf, len, now))
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
static void out_keyframe(cc_worker *w, cc_sfu *s, sfu_room *r, const sfu_out *o,
                         cc_time_us now)
{
    int f = r ? feed_find(r, o->owner, o->slot) : -1;
    if (f < 0)
        return;
    if (r->mirror_of) {
        if (r->feeds[f].mirror_live)
            mirror_keyreq(s, r, f, now);
        return;
    }
    sfu_peer *pub = r->feeds[f].src;
    if (pub && pub->in[o->slot].active) {
        const sfu_in *in = &pub->in[o->slot];
        request_keyframe(w, s, pub, in->enc[want_enc(in, o)], now);
    }
}

/* ------------------------------------------------------------------ */
/* RTP from a publisher: fan-out                                         */
/* ------------------------------------------------------------------ */

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
static void bind_learnt(const sfu_peer *pp, sfu_in *in)
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

static sfu_in *find_in(sfu_peer *pp, const cc_rtp_hdr *h, int *enc)
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
        mirror_feed(s, r, (int)(f - r->feeds)); /* before its first packet */
    CC_INFO("sfu", "room %u: %s of %u now from member %u (ssrc %u)", r->id, slot_names[slot],
            f->owner, pp->member_id, in->track->ssrc);
    if (f->owner == 0)
        room_update_mask(w, r, pp);
    else if (slot == CC_SLOT_CAMERA)
        room_update_shown(w, s, r, pp);
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
            sub->room_id, sub->member_id, sub->ufrag, slot_names[o->slot], o->owner,
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
        request_keyframe(w, s, pp, main_track(in), now);
}

/* Transport-cc: every packet of the publisher's transport that carries a
 * transport-wide sequence number is recorded, whatever its stream, as the
 * draft's section 3 counts them. The feedback builder (16 KiB) is made on
 * the first such packet, on this worker. */
static void twcc_on_packet(cc_sfu *s, sfu_peer *pp, const cc_rtp_hdr *h, cc_time_us now)
{
    uint16_t seq;
    if (cc_twcc_ext_get(h, pp->ext_twcc, &seq) != 0)
        return;
    if (!pp->twcc) {
        pp->twcc = malloc(sizeof *pp->twcc);
        if (!pp->twcc) {
            INC(s, cache_alloc_fail);
            pp->ext_twcc = 0; /* the browser falls back on loss alone */
            return;
        }
        cc_twcc_recv_config cfg = {.sender_ssrc = pp->rtcp_ssrc, .media_ssrc = h->ssrc};
        cc_twcc_recv_init(pp->twcc, &cfg, now);
        INC(s, twcc_publishers);
    }
    cc_twcc_recv_on_packet(pp->twcc, seq, now);
}

/* The feedback that is due (every 50 ms, or sooner after a burst), each a
 * transport-cc RTPFB packet of its own (reduced size, RFC 5506, as NACKs). */
static void twcc_feedback(cc_worker *w, cc_sfu *s, sfu_peer *pp, cc_time_us now)
{
    uint8_t buf[1200];
    int n;
    for (int k = 0; k < 8 && (n = cc_twcc_recv_poll(pp->twcc, now, buf, sizeof buf)) > 0; k++)
        if (cc_worker_send_rtcp(w, pp->wp, buf, (size_t)n) == 0)
            INC(s, twcc_feedback_sent);
}

static void pub_on_rtp(cc_worker *w, cc_sfu *s, sfu_peer *pp, uint8_t *buf,
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
    if (pp->ext_twcc)
        twcc_on_packet(s, pp, &h, now);
    int enc = 0;
    sfu_in *in = find_in(pp, &h, &enc);
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
    if (h.payload_len > 0) {
        t->last_media_rx = now;
        cc_track_on_layer(t, dp && dp->has_tid ? dp->tid : 0, len,
                          dp ? dp->start && dp->partition == 0 : 1, now);
        if (dp)
            cc_track_on_frame_bytes(t, h.ts, len, dp->keyframe, h.marker);
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
                room_update_shown(w, s, r, pp);
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
    int main = (!r->rec && !r->mirrors) ||
               main_stream(w, s, pp, in, enc, dp && dp->keyframe, now);
    if (r->rec && f->owner == 0 && main)
        record_rtp(w, s, r, pp, in, buf, len, now);
    /* Other workers' subscribers first: they work while this one sends. */
    if (r->mirrors && main)
        mirror_rtp(s, r, fi, t, copy, buf, len, now);
    cc_pkt_unref(copy);
    copy = NULL;
    cc_fwd_pkt fp = {
        .source = t->id,
        .buf = buf,
        .h = &h,
        .vp8 = dp,
        .keyframe = dp ? dp->keyframe : 0,
    };
    if (fanout(w, s, r, fi, &fp, gated, enc, in->n_enc, now)) {
        INC(s, keyframe_waits);
        request_keyframe(w, s, pp, t, now);
    }
}

/* A packet for subscriber sp was written into buf[0..n) and goes out now:
 * give it the transport's next transport-wide number (the forwarder left
 * the element's place, CC_FWD_TWCC_SEQ_OFF) and tell the estimator. */
static inline void sub_stamp(sfu_peer *sp, const sfu_out *o, uint8_t *buf, size_t n,
                             int probe_id, cc_time_us now)
{
    if (!o->fwd.cfg.ext_twcc)
        return;
    uint16_t seq = sp->twcc_seq++;
    buf[CC_FWD_TWCC_SEQ_OFF] = (uint8_t)(seq >> 8);
    buf[CC_FWD_TWCC_SEQ_OFF + 1] = (uint8_t)seq;
    if (sp->bwe)
        cc_bwe_on_sent(sp->bwe, seq, n + SFU_WIRE_OVERHEAD, probe_id, now);
}

/* A media packet written for out o of sp into buf[0..n) (the worker's
 * send slot) goes out now, or joins sp's paced queue: video while it is
 * paced and over its budget, or behind packets already queued (order
 * kept). 1 if sent or queued. */
static int sub_emit(cc_worker *w, cc_sfu *s, sfu_peer *sp, sfu_out *o, uint8_t *buf, size_t n,
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
    sub_stamp(sp, o, buf, n, 0, now);
    if (sp->pacing)
        cc_pacer_on_sent(&sp->pacer, n + SFU_WIRE_OVERHEAD, now);
    return cc_worker_tx_commit_rtp(w, sp->wp, n) == 0;
}

/* Sends what sp's paced queue may send now (all of it once not paced). */
static void sub_drain(cc_worker *w, cc_sfu *s, sfu_peer *sp, cc_time_us now)
{
    uint64_t sent = 0;
    cc_time_us worst = 0;
    while (cc_pacedq_len(sp->pq) && (!sp->pacing || cc_pacer_may_send(&sp->pacer, now))) {
        size_t n;
        uint32_t tag;
        cc_time_us at;
        const uint8_t *p = cc_pacedq_peek(sp->pq, &n, &tag, &at);
        sfu_out *o = tag < (uint32_t)sp->n_out ? &sp->out[tag] : NULL;
        if (o && o->active) {
            uint8_t *slot = cc_worker_tx_begin(w);
            memcpy(slot, p, n);
            sub_stamp(sp, o, slot, n, 0, now);
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

/* Pacing on or off for sp by its estimate, at the rate it gives. */
static void sub_pace(cc_sfu *s, sfu_peer *sp, cc_time_us now)
{
    /* Only once the estimate has shown a limit of the path (before that
     * the allocation sends every stream at its best, sub_alloc), and
     * never below what the allocation sends (its cheapest choice can be
     * above the estimate: the screen is never paused). */
    uint32_t target = sp->bwe && sp->path_limited ? cc_bwe_target_bps(sp->bwe) : 0;
    /* ... at the lasting estimate (the lowest of the last two seconds),
     * not a moment's: a probe through a shaper's burst lifts the estimate
     * for a moment, and a keyframe paced at that rate overflows the
     * queue behind the shaper. */
    if (target && sp->tgt_low && sp->tgt_low < target)
        target = sp->tgt_low;
    if (target && sp->alloc.total_bps > target)
        target = sp->alloc.total_bps;
    int want = target > 0 && target < SFU_PACE_BELOW;
    if (!want && sp->pace_replay && sp->pq && cc_pacedq_len(sp->pq))
        return; /* a kept chain still leaves at SFU_REPLAY_BPS */
    sp->pace_replay = 0;
    if (want && !sp->pq) {
        if (cc_pacedq_new(&sp->pq, SFU_PACE_QUEUE) != 0) {
            INC(s, cache_alloc_fail);
            return;
        }
        cc_pacer_init(&sp->pacer, (uint64_t)(target * SFU_PACE_FACTOR), SFU_PACE_BURST, now);
        INC(s, paced_subscribers);
    }
    if (want)
        cc_pacer_set_rate(&sp->pacer, (uint64_t)(target * SFU_PACE_FACTOR), now);
    else if (sp->pacing)
        cc_pacer_init(&sp->pacer, 0, SFU_PACE_BURST, now);
    sp->pacing = want;
}

/* One packet of feed fi (encoding enc of n_enc) to every subscriber of
 * the room on this worker (owner or mirror). 1 if a subscriber waits for
 * a keyframe of this packet's encoding. */
static int fanout(cc_worker *w, cc_sfu *s, sfu_room *r, int fi, const cc_fwd_pkt *fp,
                  int gated, int enc, int n_enc, cc_time_us now)
{
    int want_key = 0;
    uint64_t sent = 0, held = 0;
    for (sfu_peer *sub = r->subs; sub; sub = sub->next) {
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
            if (sub_emit(w, s, sub, o, slotbuf, n, now))
                sent++;
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
/* RTCP                                                                 */
/* ------------------------------------------------------------------ */

static sfu_out *out_by_ssrc(sfu_peer *pp, uint32_t ssrc)
{
    for (int i = 0; i < pp->n_out; i++)
        if (pp->out[i].active && pp->out[i].fwd.cfg.ssrc == ssrc)
            return &pp->out[i];
    return NULL;
}

/* A repair of a packet of the kept chain o was started on gets the
 * timestamp it went out with (out_replay: one tick a picture from rp_ts),
 * counted again over the chain as the cache still holds it; into buf's
 * RTP header. CC_ENOTFOUND if a packet of the chain up to src_seq is gone. */
static int replay_ts(const cc_track *t, const sfu_out *o, uint16_t src_seq, uint8_t *buf)
{
    uint32_t pics = 0, prev = 0;
    uint16_t k = (uint16_t)(src_seq - o->rp_src_seq);
    for (uint16_t i = 0; i <= k; i++) {
        cc_pkt *p = cc_track_cache_get(t, (uint16_t)(o->rp_src_seq + i));
        cc_rtp_hdr h;
        if (!p || cc_rtp_parse(p->data, p->len, &h) != 0)
            return CC_ENOTFOUND;
        if (i > 0 && h.ts != prev)
            pics++;
        prev = h.ts;
    }
    uint32_t ts = o->rp_ts + pics;
    buf[4] = (uint8_t)(ts >> 24);
    buf[5] = (uint8_t)(ts >> 16);
    buf[6] = (uint8_t)(ts >> 8);
    buf[7] = (uint8_t)ts;
    return 0;
}

/* RFC 4585 section 6.2.1: each lost seq the subscriber reports is mapped
 * back to the source's seq, taken from the track's cache and sent again as
 * first sent: on the RTX stream if the subscriber took one (RFC 4588
 * section 4), else with the same SSRC and seq (libsrtp's allow_repeat_tx
 * lets the repeat through). */
static void sub_on_nack(cc_worker *w, cc_sfu *s, sfu_peer *sp,
                        const cc_rtcp_fb *fb, cc_time_us now)
{
    uint16_t lost[128];
    size_t n = 0;
    if (cc_rtcp_parse_nack(fb, lost, 128, &n) != 0)
        return;
    ADD(s, nack_received, n);
    sfu_out *o = out_by_ssrc(sp, fb->media_ssrc);
    if (o && o->fwd.cfg.video)
        cc_layerctl_on_nack(&o->lc, (uint32_t)n);
    cc_track *t = o ? out_track(sp->room, o) : NULL;
    if (!t) {
        ADD(s, nack_cache_miss, n);
        return;
    }
    uint64_t sent = 0, miss = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t src_seq;
        cc_pkt *p;
        cc_rtp_hdr h;
        if (cc_fwd_map_seq(&o->fwd, lost[i], &src_seq) != 0 ||
            !(p = cc_track_cache_get(t, src_seq)) ||
            cc_rtp_parse(p->data, p->len, &h) != 0) {
            miss++;
            continue;
        }
        cc_vp8_desc d;
        int has_d = t->video && h.payload_len > 0 &&
                    cc_vp8_parse(h.payload, h.payload_len, &d) == 0;
        cc_fwd_pkt fp = {.source = t->id, .buf = p->data, .h = &h,
                         .vp8 = has_d ? &d : NULL};
        size_t len;
        uint8_t *slotbuf = cc_worker_tx_begin(w);
        if (cc_fwd_write_again(&o->fwd, &fp, slotbuf, SFU_TX_CAP, &len) != 0) {
            miss++;
            continue;
        }
        if (o->rp_n && o->rp_track == t->id && now - o->rp_at < SFU_REPLAY_REPAIR &&
            (uint16_t)(src_seq - o->rp_src_seq) < o->rp_n &&
            replay_ts(t, o, src_seq, slotbuf) != 0) {
            miss++; /* the chain left the cache: its timestamp is lost */
            continue;
        }
        /* A thinned picture's packet went out as padding: an RTX packet
         * must carry a payload to repair (RFC 4588 section 4), so this
         * one is sent again as it was, on the media SSRC under its own
         * number (as to a subscriber without RTX), which fills the gap. */
        if (o->rtx_ssrc && !(slotbuf[0] & 0x20)) {
            if (cc_fwd_rtx_wrap(slotbuf, &len, SFU_TX_CAP, o->rtx_ssrc, o->rtx_pt,
                                o->rtx_seq) != 0) {
                miss++;
                continue;
            }
            o->rtx_seq++;
            INC(s, rtx_wrapped);
        }
        /* A retransmission is a new packet on the wire: its own number,
         * and on a paced link its turn in the queue (a burst of repairs
         * on a slow link only loses more). */
        if (sub_emit(w, s, sp, o, slotbuf, len, now))
            sent++;
    }
    ADD(s, rtx_sent, sent);
    ADD(s, nack_cache_miss, miss);
}

/* A subscriber's PLI or FIR for one of its SSRCs becomes a throttled PLI to
 * the publisher feeding that slot (RFC 4585 6.3.1, RFC 5104 4.3.1). */
static void sub_keyframe_request(cc_worker *w, cc_sfu *s, sfu_peer *sp,
                                 uint32_t ssrc, cc_time_us now)
{
    INC(s, pli_received);
    sfu_out *o = out_by_ssrc(sp, ssrc);
    if (o)
        out_keyframe(w, s, sp->room, o, now);
}

/* The temporal cap of an out: the lower of what its loss allows
 * (layerctl, from receiver reports: Wi-Fi loss) and what its bandwidth
 * estimate carries (sub_alloc: congestion). */
static void out_apply_tid(sfu_out *o)
{
    uint8_t t = o->lc.layer < o->alloc_tid ? o->lc.layer : o->alloc_tid;
    cc_fwd_set_max_tid(&o->fwd, t);
}

/* The page and the teacher are told when the teacher's camera goes below
 * full rate (or is paused) for this subscriber and when it is back, not
 * on every step. */
static void sub_link_event(cc_worker *w, sfu_peer *sp, cc_time_us now)
{
    /* Loss (layerctl) says so at once; the estimate only once it has held
     * the camera down for SFU_WEAK_HOLD (the estimate starts low and
     * climbs in the first seconds, and a short dip is not worth a word). */
    int lossy = 0, limited = 0;
    for (int i = 0; i < sp->n_out; i++) {
        const sfu_out *o = &sp->out[i];
        if (!o->active || o->slot != CC_SLOT_CAMERA || o->owner != 0)
            continue;
        lossy |= o->lc.layer < CC_LAYERCTL_TOP;
        limited |= o->alloc_below;
    }
    if (!limited)
        sp->limited_since = 0;
    else if (!sp->limited_since)
        sp->limited_since = now;
    int weak = lossy || (limited && now - sp->limited_since >= SFU_WEAK_HOLD);
    if (weak != sp->link_weak) {
        sp->link_weak = weak;
        emit_ev(w, sp, CC_SFU_EV_LINK, 0, weak);
    }
}

/* A subscriber's receiver report: per video stream, the loss it reports
 * (and the NACKs since the last one) decide which temporal layers its
 * link gets (layerctl.h); the forwarder applies the cap at the next
 * picture. Audio and screen content are never thinned (the screen has one
 * layer; a source without layers is unaffected). */
static void sub_on_rr(cc_worker *w, cc_sfu *s, sfu_peer *sp, const cc_rtcp_pkt *p,
                      cc_time_us now)
{
    cc_rtcp_rr rr;
    if (cc_rtcp_parse_rr(p, &rr) != 0)
        return;
    for (int i = 0; i < rr.n_reports; i++) {
        sfu_out *o = out_by_ssrc(sp, rr.reports[i].ssrc);
        if (!o || !o->fwd.cfg.video)
            continue;
        uint8_t before = o->lc.layer;
        if (!cc_layerctl_on_report(&o->lc, rr.reports[i].fraction_lost, o->fwd.packets, now))
            continue;
        out_apply_tid(o);
        if (o->lc.layer < before)
            INC(s, layer_down);
        else
            INC(s, layer_up);
        sub_link_event(w, sp, now);
        /* A step down is rare and is what a teacher sees as "weak Wi-Fi":
         * the log says why (rate-limited against a flapping link). */
        if (o->lc.layer < before)
            CC_LOG_RL(CC_LOG_INFO, "sfu", "subscriber %s: video %s of %u down to temporal layer %u "
                      "(receiver report: %.1f%% lost)", sp->ufrag, slot_names[o->slot], o->owner,
                      o->lc.layer, o->lc.last_loss * 100);
        else
            CC_DEBUG("sfu", "subscriber %s: video %s of %u now up to temporal layer %u (loss %.1f%%)",
                     sp->ufrag, slot_names[o->slot], o->owner, o->lc.layer, o->lc.last_loss * 100);
    }
}

static void sub_on_rtcp(cc_worker *w, cc_sfu *s, sfu_peer *sp,
                        const cc_rtcp_pkt *p, cc_time_us now)
{
    cc_rtcp_fb fb;
    if (p->pt == CC_RTCP_RTPFB && p->count == CC_RTPFB_NACK) {
        if (cc_rtcp_parse_fb(p, &fb) == 0)
            sub_on_nack(w, s, sp, &fb, now);
    } else if (p->pt == CC_RTCP_PSFB && p->count == CC_PSFB_PLI) {
        if (cc_rtcp_parse_fb(p, &fb) == 0)
            sub_keyframe_request(w, s, sp, fb.media_ssrc, now);
    } else if (p->pt == CC_RTCP_PSFB && p->count == CC_PSFB_FIR) {
        cc_rtcp_fir_entry e[4];
        size_t n = 0;
        if (cc_rtcp_parse_fb(p, &fb) == 0 &&
            cc_rtcp_parse_fir(&fb, e, 4, &n) == 0)
            for (size_t i = 0; i < n; i++)
                sub_keyframe_request(w, s, sp, e[i].ssrc, now);
    }
    else if (p->pt == CC_RTCP_RR)
        sub_on_rr(w, s, sp, p, now);
    else if (p->pt == CC_RTCP_RTPFB && p->count == CC_RTPFB_TWCC && sp->bwe) {
        /* Transport-wide feedback on what we sent this subscriber. */
        cc_twcc_feedback f;
        if (cc_rtcp_parse_fb(p, &fb) == 0 &&
            cc_twcc_parse(&fb, &f, s->twcc_scratch, SFU_TWCC_SCRATCH) == 0 &&
            cc_bwe_on_feedback(sp->bwe, &f, s->twcc_scratch, f.n, now) == 0)
            INC(s, twcc_feedback_received);
        else
            INC(s, twcc_feedback_bad);
    } else if (p->pt == CC_RTCP_PSFB && p->count == CC_PSFB_AFB && sp->bwe) {
        /* REMB (draft-alvestrand-rmcat-remb): a cap on the estimate. */
        cc_rtcp_remb remb;
        if (cc_rtcp_parse_fb(p, &fb) == 0 && cc_rtcp_parse_remb(&fb, &remb) == 0) {
            cc_bwe_on_remb(sp->bwe, remb.bitrate_bps, now);
            INC(s, remb_received);
        }
    }
    /* SDES from a subscriber: not used. */
}

static void pub_on_rtcp(sfu_peer *pp, const cc_rtcp_pkt *p, cc_time_us now)
{
    if (p->pt != CC_RTCP_SR)
        return;
    cc_rtcp_sr sr;
    if (cc_rtcp_parse_sr(p, &sr) != 0)
        return;
    cc_track *ts[SFU_MAX_TRACKS];
    int nt = pub_tracks(pp, ts);
    for (int j = 0; j < nt; j++)
        if (ts[j]->ssrc == sr.ssrc)
            cc_track_on_sr(ts[j], sr.ntp, sr.rtp_ts, now);
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
    pub_on_rtp(w, s, pp, buf, len, now);
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
            pub_on_rtcp(pp, &p, now);
        else
            sub_on_rtcp(w, s, pp, &p, now);
    }
    if (rc < 0)
        cc_worker_count_drop(w, CC_DROP_RTCP_MALFORMED);
}

/* With fresh-only replay (max_age below "any"), a keyframe older than
 * half the allowed age will be too old to start a subscriber on by the
 * time its browser has connected: a new one is asked for now. */
static int kf_stale_by_connect(const cc_track *t, int64_t max_age, cc_time_us now)
{
    return max_age < INT64_MAX && now - t->last_keyframe > max_age / 2;
}

/* A subscriber's answer went out: while its browser runs ICE and DTLS
 * (100-800 ms on a busy tablet), every video stream it will get that has
 * no kept chain short enough to start it on (out_replay: a moving screen
 * or camera whose keyframe is seconds old) asks its publisher for a
 * keyframe now (coalesced, request_keyframe). The keyframe usually
 * arrives before the subscriber connects and starts a short chain that
 * out_replay sends at once; else the forwarder waits for it as before,
 * sooner by the time the handshake took. */
static void sfu_on_added(cc_worker *w, cc_wpeer *wp, cc_time_us now)
{
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_peer *pp = cc_wpeer_app_state(wp);
    sfu_room *r = s && pp && !pp->publisher ? room_find(s, pp->room_id) : NULL;
    int64_t max_age = s ? __atomic_load_n(&s->replay_age, __ATOMIC_RELAXED) : 0;
    if (!r || max_age <= 0)
        return;
    for (int i = 0; i < pp->n_out; i++) {
        sfu_out *o = &pp->out[i];
        cc_track *t = o->active ? out_track(r, o) : NULL;
        if (!t || !t->video)
            continue;
        unsigned n = cc_track_kf_chain(t);
        if (n == 0 || n > SFU_REPLAY_MAX || kf_stale_by_connect(t, max_age, now)) {
            out_keyframe(w, s, r, o, now);
            INC(s, early_keyframe_requests);
        }
    }
}

static void sfu_on_connected(cc_worker *w, cc_wpeer *wp, cc_time_us now)
{
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_peer *pp = cc_wpeer_app_state(wp);
    pp->wp = wp;
    sfu_room *r = s ? room_find(s, pp->room_id) : NULL;
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
        int nt = pub_tracks(pp, ts);
        for (int j = 0; j < nt; j++)
            ts[j]->id = ++s->next_track_id;
        list_add(&r->pubs, pp);
        INC(s, publishers);
        cache_rebalance(s);
    } else {
        list_add(&r->subs, pp);
        INC(s, subscribers);
        sub_remap(r, pp);
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
        }
        /* Keyframe on join: every video forwarder starts on the cached
         * last keyframe, or waits for a new one. */
        for (int i = 0; i < pp->n_out; i++) {
            cc_track *t = pp->out[i].active ? out_track(r, &pp->out[i]) : NULL;
            if (t && t->video)
                pp->out[i].wait_since = now;
            if (t && !(t->video && out_replay(w, s, r, pp, &pp->out[i], now)))
                out_keyframe(w, s, r, &pp->out[i], now);
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

/* Upkeep of a publisher's tracks on every tick: keyframe requests that
 * came due, NACK cache packets past their use. */
static void pub_upkeep(cc_worker *w, cc_sfu *s, sfu_peer *pp, cc_time_us now)
{
    keyframe_due(w, s, pp, now);
    /* Mirrors get the feeds' state every second (the SR mapping moves). */
    if (pp->room && pp->room->mirrors && now >= pp->room->next_sync) {
        mirror_sync_room(s, pp->room);
        pp->room->next_sync = now + CC_USEC_PER_SEC;
    }
    cc_track *ts[SFU_MAX_TRACKS];
    int nt = pub_tracks(pp, ts);
    for (int j = 0; j < nt; j++)
        if (ts[j]->cache_n)
            cc_track_cache_expire(ts[j], now, SFU_CACHE_AGE);
}

/* RR + SDES (+ REMB) to a publisher; NACKs for its losses. */
static void pub_tick(cc_worker *w, cc_sfu *s, sfu_peer *pp, cc_time_us now)
{
    pub_upkeep(w, s, pp, now);
    if (pp->twcc)
        twcc_feedback(w, s, pp, now);
    cc_track *ts[SFU_MAX_TRACKS];
    int nt = pub_tracks(pp, ts);
    for (int j = 0; j < nt; j++) {
        cc_track *t = ts[j];
        if (!t->nack_enabled || !t->ssrc || cc_nack_deadline(&t->nack) > now)
            continue;
        uint16_t seqs[64];
        size_t n = cc_nack_poll(&t->nack, now, seqs, 64);
        uint8_t buf[512];
        int len = n ? cc_rtcp_write_nack(buf, sizeof buf, pp->rtcp_ssrc,
                                         t->ssrc, seqs, n)
                    : 0;
        if (len > 0 && cc_worker_send_rtcp(w, pp->wp, buf, (size_t)len) == 0)
            ADD(s, nack_sent, n);
    }
    if (now < pp->next_report)
        return;
    pp->next_report = now + SFU_REPORT_INTERVAL;
    cc_rtcp_rr rr = {.ssrc = pp->rtcp_ssrc};
    uint32_t video[SFU_MAX_TRACKS];
    int nv = 0;
    for (int j = 0; j < nt; j++) {
        cc_track *t = ts[j];
        if (t->ssrc && rr.n_reports < CC_RTCP_MAX_REPORTS &&
            cc_track_report(t, now, &rr.reports[rr.n_reports]) == 0)
            rr.n_reports++;
        if (t->ssrc && t->video)
            video[nv++] = t->ssrc;
    }
    /* RFC 3550 6.1: a compound starts with SR/RR and carries SDES CNAME. */
    uint8_t buf[512];
    int a = cc_rtcp_write_rr(buf, sizeof buf, &rr);
    int b = a > 0 ? cc_rtcp_write_sdes_cname(buf + a, sizeof buf - (size_t)a,
                                             pp->rtcp_ssrc, pp->cname)
                  : -1;
    if (b <= 0)
        return;
    size_t len = (size_t)(a + b);
    int remb = 0;
    if (pp->remb && nv > 0) {
        int c = cc_rtcp_write_remb(buf + len, sizeof buf - len, pp->rtcp_ssrc,
                                   SFU_REMB_BPS, video, nv);
        if (c > 0) {
            len += (size_t)c;
            remb = 1;
        }
    }
    if (cc_worker_send_rtcp(w, pp->wp, buf, len) == 0) {
        INC(s, rr_sent);
        if (remb)
            INC(s, remb_sent);
    }
}

/* RTP timestamp for an SR of a subscriber's stream. With a sender report
 * from the publisher for the current source, map through it: the
 * publisher's SRs of audio and video share one clock, so every
 * subscriber's audio and video SRs keep the capture-time relation Chromium
 * needs for lip sync (RFC 3550 6.4.1), whatever the offset between the
 * publisher's clock and ours. Else (or if the mapping is implausible)
 * extrapolate from the last packet sent. */
static uint32_t sr_rtp_ts(const cc_fwd *f, const cc_track *t, cc_time_us now,
                          cc_time_us wall)
{
    uint32_t extrap = cc_fwd_sr_ts(f, now);
    if (!t || !t->have_sr || t->id != f->source || f->waiting)
        return extrap;
    int64_t dt = (wall - t->sr_unix_us) * (int64_t)t->clock_rate / CC_USEC_PER_SEC;
    uint32_t mapped = t->sr_rtp + f->ts_off + (uint32_t)dt;
    int32_t diff = (int32_t)(mapped - extrap);
    if (diff > 5 * t->clock_rate || diff < -5 * t->clock_rate)
        return extrap;
    return mapped;
}

/* The first video out that can carry probe padding: one with an RTX
 * stream whose media has started (the padding takes its timestamp). */
static sfu_out *probe_out(sfu_peer *sp)
{
    for (int i = 0; i < sp->n_out; i++)
        if (sp->out[i].active && sp->out[i].rtx_ssrc && sp->out[i].fwd.started)
            return &sp->out[i];
    return NULL;
}

/* Send the probe cluster due at its rate (docs/bwe.md section 3): padding
 * packets on the RTX stream, as many as the elapsed time at the cluster's
 * rate allows on this tick, until its bytes and packets are out. */
static void sub_probe(cc_worker *w, cc_sfu *s, sfu_peer *sp, cc_time_us now)
{
    if (!sp->probe.id) {
        if (!cc_bwe_probe_poll(sp->bwe, now, &sp->probe))
            return;
        sp->probe_start = now;
        sp->probe_bytes = 0;
        sp->probe_pkts = 0;
        INC(s, probe_clusters);
    }
    sfu_out *o = probe_out(sp);
    if (!o || !sp->probe_pkts) {
        /* Nothing to send it on yet (the first picture has not come):
         * the cluster waits, from the start; after 2 s it is given up
         * and the estimate grows by itself, more slowly. */
        if (!o && now - sp->probe_start > 2 * CC_USEC_PER_SEC)
            sp->probe.id = 0;
        if (!o)
            return;
        if (!sp->probe_bytes)
            sp->probe_start = now;
    }
    /* One tick ahead of the clock, so the cluster is not cut into a
     * packet per tick at low rates. */
    size_t allowed = (size_t)((uint64_t)sp->probe.bps *
                              (uint64_t)(now - sp->probe_start + 10 * CC_USEC_PER_MSEC) /
                              (8 * CC_USEC_PER_SEC));
    uint64_t sent = 0;
    while ((sp->probe_bytes < sp->probe.min_bytes || sp->probe_pkts < sp->probe.min_packets) &&
           sp->probe_bytes < allowed) {
        uint8_t *slotbuf = cc_worker_tx_begin(w);
        size_t n;
        if (cc_fwd_write_rtx_padding(&o->fwd, o->rtx_ssrc, o->rtx_pt, o->rtx_seq,
                                     SFU_PROBE_PAD, slotbuf, SFU_TX_CAP, &n) != 0)
            break;
        o->rtx_seq++;
        sub_stamp(sp, o, slotbuf, n, sp->probe.id, now);
        sp->probe_bytes += n + SFU_WIRE_OVERHEAD;
        sp->probe_pkts++;
        if (cc_worker_tx_commit_rtp(w, sp->wp, n) == 0)
            sent++;
    }
    ADD(s, probe_packets, sent);
    if (sp->probe_bytes >= sp->probe.min_bytes && sp->probe_pkts >= sp->probe.min_packets)
        sp->probe.id = 0;
}

/* The layers each of the subscriber's streams gets from its estimate
 * (alloc.h: audio, then the screen, then cameras), applied through the
 * forwarder's temporal cap (from the next picture) or a pause (the
 * stream holds; it resumes at a keyframe, numbering without a gap). */
static void sub_alloc(cc_worker *w, cc_sfu *s, sfu_peer *sp, cc_time_us now)
{
    cc_alloc_stream in[CC_ALLOC_MAX_STREAMS];
    cc_alloc_choice out[CC_ALLOC_MAX_STREAMS];
    sfu_out *outs[CC_ALLOC_MAX_STREAMS];
    int n = 0;
    for (int i = 0; i < sp->n_out && n < CC_ALLOC_MAX_STREAMS; i++) {
        sfu_out *o = &sp->out[i];
        cc_track *t = o->active ? out_track(sp->room, o) : NULL;
        if (!t)
            continue;
        /* A camera this subscriber is not sent now (a member outside the
         * last N speakers, or kept to the teacher) or a muted feed takes
         * no share; it starts unpaused when it is shown again. */
        int fi = feed_find(sp->room, o->owner, o->slot);
        const sfu_feed *f = fi >= 0 ? &sp->room->feeds[fi] : NULL;
        if (f && (f->muted || (t->video && f->owner != 0 && (!f->visible || f->teacher_only) &&
                               !sp->is_teacher))) {
            o->paused = 0;
            continue;
        }
        cc_alloc_stream *a = &in[n];
        memset(a, 0, sizeof *a);
        a->id = (uint32_t)i;
        a->kind = o->slot == CC_SLOT_MIC ? CC_ALLOC_AUDIO
                  : o->slot == CC_SLOT_SCREEN ? CC_ALLOC_SCREEN : CC_ALLOC_CAMERA;
        /* Simulcast: each encoding is a spatial layer, available while it
         * flows (a browser drops its top encoding when its own uplink
         * estimate is low). */
        const sfu_in *src = out_in(sp->room, o);
        int ne = src && src->n_enc > 1 ? src->n_enc : 1;
        a->n_spatial = ne;
        for (int e = 0; e < ne; e++) {
            const cc_track *et = ne > 1 ? src->enc[e] : t;
            a->layer[e].available = ne == 1 || (et->rx.started &&
                                                now - et->last_media_rx < CC_USEC_PER_SEC);
            for (int k = 0; k < CC_ALLOC_TEMPORAL; k++)
                a->layer[e].bps[k] = cc_ratemeter_bps(&et->rate, k, now);
            a->layer[e].kf_bytes = et->kf_bytes;
        }
        outs[n++] = o;
    }
    /* The allocation holds what the highest estimate of the last second
     * (SFU_ALLOC_HOLD_RUNS runs) carries: a dip shorter than that (a busy
     * CPU at either end delays feedback as a queue would) changes no
     * layer; the pacer follows the estimate itself meanwhile. It goes up
     * only to what the lowest of the last two seconds (SFU_ALLOC_UP_RUNS)
     * carries: a probe's burst through a shaper's bucket lifts the
     * estimate for a moment, until the queue behind it shows; a layer
     * taken up on that moment overflows the queue. */
    uint32_t target = sp->bwe ? cc_bwe_target_bps(sp->bwe) : 0;
    /* Optimistic start: every stream at its best until the path has shown
     * a limit (an over-use, a cut for lack of feedback, or loss). An
     * estimate from a sender limited by its own media only climbs a step
     * above what that media carries, so it says nothing about a limit
     * before one is seen; a tablet on a good link gets the full picture
     * at once, one on a weak link within the first second of trouble. */
    if (sp->bwe && !sp->path_limited) {
        cc_bwe_stats bs;
        cc_bwe_get_stats(sp->bwe, &bs);
        sp->path_limited = bs.overuses > 0 || bs.timeouts > 0 || bs.loss > SFU_ALLOC_LOSS;
        if (!sp->path_limited)
            target = 0;
    }
    sp->tgt_hist[sp->tgt_i++ % SFU_ALLOC_UP_RUNS] = target;
    uint32_t up_target = target;
    for (int k = 1; k <= SFU_ALLOC_UP_RUNS; k++) { /* 0: no limit */
        uint32_t h = sp->tgt_hist[(sp->tgt_i - k) % SFU_ALLOC_UP_RUNS];
        if (k <= SFU_ALLOC_HOLD_RUNS && target && (!h || h > target))
            target = h;
        if (h && (!up_target || h < up_target))
            up_target = h;
    }
    sp->tgt_low = up_target;
    if (cc_alloc_run_band(&sp->alloc, target, up_target, in, n, out, now) <= 0)
        goto probe;
    for (int k = 0; k < n; k++) {
        sfu_out *o = outs[k];
        if (in[k].kind != CC_ALLOC_AUDIO) {
            /* Its best: the highest encoding that flows, with every
             * temporal layer it has. */
            int best_s = 0, best_t = 0;
            for (int e = 0; e < in[k].n_spatial; e++)
                if (in[k].layer[e].available)
                    best_s = e;
            for (int l = 0; l < CC_ALLOC_TEMPORAL; l++)
                if (in[k].layer[best_s].bps[l] > in[k].layer[best_s].bps[l > 0 ? l - 1 : 0] ||
                    l == 0)
                    best_t = l;
            o->alloc_below = out[k].spatial < 0 || out[k].spatial < best_s ||
                             (out[k].spatial == best_s && out[k].temporal < best_t);
        }
        if (!out[k].changed || in[k].kind == CC_ALLOC_AUDIO)
            continue;
        uint8_t before = o->alloc_tid;
        int was_paused = o->paused;
        o->paused = out[k].spatial < 0;
        int enc_before = o->want_enc;
        if (!o->paused) {
            o->alloc_tid = (uint8_t)out[k].temporal;
            o->want_enc = (int8_t)out[k].spatial;
            out_apply_tid(o);
        }
        /* Resuming, or another encoding: it starts at a keyframe. */
        if ((was_paused && !o->paused) ||
            (!o->paused && in[k].n_spatial > 1 && o->want_enc != enc_before &&
             o->want_enc != o->cur_enc))
            out_keyframe(w, s, sp->room, o, now);
        if (o->paused > was_paused || o->alloc_tid < before)
            INC(s, alloc_down);
        else
            INC(s, alloc_up);
        if (o->paused > was_paused)
            INC(s, alloc_paused);
        if (o->paused != was_paused)
            CC_INFO("sfu", "subscriber %u (%s): %s of %u %s (estimate %u kbit/s, %u of %u "
                    "kbit/s used)", sp->member_id, sp->ufrag, slot_names[o->slot], o->owner,
                    o->paused ? "paused" : "resumed", target / 1000,
                    sp->alloc.total_bps / 1000, sp->alloc.full_bps / 1000);
        else
            CC_DEBUG("sfu", "subscriber %s: %s of %u: encoding %d, temporal layers up to %d "
                     "(estimate %u kbit/s, %u of %u kbit/s used)", sp->ufrag,
                     slot_names[o->slot], o->owner, out[k].spatial, out[k].temporal,
                     target / 1000, sp->alloc.total_bps / 1000, sp->alloc.full_bps / 1000);
    }
    sub_link_event(w, sp, now);
probe:
    /* Held below its best: find out whether the path carries more. */
    if (sp->bwe && sp->alloc.limited && sp->alloc.full_bps > target && now >= sp->next_probe_req) {
        if (cc_bwe_probe_request(sp->bwe, sp->alloc.full_bps, now)) {
            sp->next_probe_req = now + sp->probe_gap;
            sp->probe_gap = sp->probe_gap * 2 > SFU_PROBE_INTERVAL_MAX
                                ? SFU_PROBE_INTERVAL_MAX : sp->probe_gap * 2;
        }
    } else if (!sp->alloc.limited) {
        sp->probe_gap = SFU_PROBE_INTERVAL;
    }
}

static void sub_tick(cc_worker *w, cc_sfu *s, sfu_peer *sp, cc_time_us now)
{
    if (sp->bwe) {
        cc_bwe_tick(sp->bwe, now);
        sub_pace(s, sp, now);
        sub_probe(w, s, sp, now);
    }
    if (sp->pq)
        sub_drain(w, s, sp, now);
    /* Not paced and nothing waiting (a kept chain sent, or the link got
     * fast): the queue goes. Every packet to this subscriber looks at it
     * while it exists, and in a fan-out to hundreds that is a cache miss
     * per subscriber per packet (3 % of the worker's time in a 400-viewer
     * profile, docs/bench-fanout.md); the packets a replayed chain put in
     * it also stay resident. */
    if (sp->pq && !sp->pacing && !cc_pacedq_len(sp->pq)) {
        cc_pacedq_free(sp->pq);
        sp->pq = NULL;
    }
    /* Without an estimate the allocation still picks the best encoding
     * that flows (target 0: every stream at its best). */
    if (now >= sp->next_alloc) {
        sp->next_alloc = now + SFU_ALLOC_INTERVAL;
        sub_alloc(w, s, sp, now);
    }
    if (now < sp->next_report)
        return;
    sp->next_report = now + SFU_REPORT_INTERVAL;
    cc_time_us wall = cc_clock_wall_us();
    for (int i = 0; i < sp->n_out; i++) {
        sfu_out *o = &sp->out[i];
        if (!o->active || !o->fwd.started)
            continue;
        const cc_track *src = out_track(sp->room, o);
        cc_rtcp_sr sr = {0};
        sr.ssrc = o->fwd.cfg.ssrc;
        sr.ntp = cc_clock_ntp_from_unix_us(wall);
        sr.rtp_ts = sr_rtp_ts(&o->fwd, src, now, wall);
        sr.packet_count = o->fwd.packets;
        sr.octet_count = o->fwd.octets;
        uint8_t buf[256];
        int a = cc_rtcp_write_sr(buf, sizeof buf, &sr);
        int b = a > 0 ? cc_rtcp_write_sdes_cname(buf + a, sizeof buf - (size_t)a,
                                                 sr.ssrc, sp->cname)
                      : -1;
        if (b > 0 && cc_worker_send_rtcp(w, sp->wp, buf, (size_t)(a + b)) == 0)
            INC(s, sr_sent);
    }
}

static void sfu_on_tick(cc_worker *w, cc_wpeer *wp, cc_time_us now)
{
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_peer *pp = cc_wpeer_app_state(wp);
    if (!pp->room)
        return;
    if (pp->publisher)
        pub_tick(w, s, pp, now);
    else
        sub_tick(w, s, pp, now);
}

static void peer_state_free_tracks(sfu_peer *pp)
{
    for (int i = 0; i < CC_SLOT_COUNT; i++)
        in_free_tracks(&pp->in[i]);
}

static void peer_state_free(void *arg)
{
    sfu_peer *pp = arg;
    if (!pp)
        return;
    peer_state_free_tracks(pp);
    free(pp->twcc);
    cc_bwe_free(pp->bwe);
    cc_pacedq_free(pp->pq);
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
static void slot_fallback(cc_worker *w, cc_sfu *s, sfu_room *r, const sfu_peer *pp, int i)
{
    int fi = feed_find(r, pp->owner, i);
    if (fi < 0 || r->feeds[fi].src != pp)
        return;
    sfu_peer *best = NULL;
    for (sfu_peer *q = r->pubs; q; q = q->next)
        if (q != pp && q->owner == pp->owner && q->in[i].active &&
            in_started(&q->in[i]) && (!best || q->order > best->order))
            best = q;
    r->feeds[fi].src = best;
    if (r->mirrors)
        mirror_feed(s, r, fi);
    if (best)
        INC(s, source_switches);
    else if (pp->owner != 0 && i == CC_SLOT_MIC)
        cc_speakers_remove(&r->speakers, pp->owner);
    if (!best && pp->owner != 0)
        room_update_shown(w, s, r, pp);
}

static void sfu_on_closed(cc_worker *w, cc_wpeer *wp)
{
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_peer *pp = cc_wpeer_app_state(wp);
    if (!pp)
        return;
    sfu_room *r = pp->room;
    if (r && s) {
        unlink_peer(s, pp);
        if (pp->publisher) {
            /* Slots this publisher fed fall back to the newest other
             * publisher that has sent on them, else go quiet
             * (subscribers' streams freeze, keeping their SSRCs). */
            for (int i = 0; i < CC_SLOT_COUNT; i++)
                slot_fallback(w, s, r, pp, i);
            room_update_mask(w, r, pp);
            cache_rebalance(s);
        }
        CC_INFO("sfu", "room %u: %s %u closed", r->id,
                pp->publisher ? "publisher" : "subscriber", pp->member_id);
    }
    emit(w, pp, CC_SFU_EV_CLOSED, r ? room_mask(r) : 0);
    peer_state_free(pp);
}

const cc_worker_app cc_sfu_app = {
    .on_rtp = sfu_on_rtp,
    .on_rtcp = sfu_on_rtcp,
    .on_connected = sfu_on_connected,
    .on_added = sfu_on_added,
    .on_tick = sfu_on_tick,
    .on_closed = sfu_on_closed,
};

/* ------------------------------------------------------------------ */
/* control thread: offers and answers                                   */
/* ------------------------------------------------------------------ */

static uint32_t fresh_ssrc(const sfu_peer *pp, const cc_sdp_offer *o,
                           const cc_sfu_out_info *prev, int n_prev)
{
    for (;;) {
        uint32_t v = cc_rand_u32();
        int clash = v == 0;
        for (int i = 0; i < pp->n_out; i++) /* the one being made too */
            clash |= pp->out[i].fwd.cfg.ssrc == v || pp->out[i].rtx_ssrc == v;
        for (int i = 0; i < n_prev; i++)
            clash |= prev[i].ssrc == v || prev[i].rtx_ssrc == v;
        clash |= pp->rtcp_ssrc == v;
        for (int m = 0; m < o->n_media; m++)
            for (int k = 0; k < o->media[m].n_ssrcs; k++)
                clash |= o->media[m].ssrcs[k] == v;
        if (!clash)
            return v;
    }
}

/* Which track an m-line feeds (publisher) or receives (subscriber):
 * slot_of -1 to reject it. A (owner, slot) pair is used at most once. */
static void map_slots(const cc_sdp_offer *o, int publisher,
                      const cc_sfu_track_map *map, int n_map,
                      int slot_of[CC_SDP_MAX_MEDIA], uint32_t owner_of[CC_SDP_MAX_MEDIA])
{
    int nvideo = 0, naudio = 0;
    for (int i = 0; i < CC_SDP_MAX_MEDIA; i++) {
        slot_of[i] = -1;
        owner_of[i] = 0;
    }
    for (int i = 0; i < o->n_media && i < CC_SDP_MAX_MEDIA; i++) {
        const cc_sdp_media *m = &o->media[i];
        int slot = -1;
        uint32_t owner = 0;
        if (map && n_map > 0) {
            for (int k = 0; k < n_map; k++)
                if (strcmp(map[k].mid, m->mid) == 0) {
                    slot = map[k].slot;
                    owner = publisher ? 0 : map[k].owner;
                }
        } else if (m->kind == CC_MEDIA_VIDEO) {
            slot = nvideo == 0 ? CC_SLOT_CAMERA : nvideo == 1 ? CC_SLOT_SCREEN : -1;
        } else if (m->kind == CC_MEDIA_AUDIO) {
            slot = naudio == 0 ? CC_SLOT_MIC : -1;
        }
        if (m->kind == CC_MEDIA_VIDEO)
            nvideo++;
        else if (m->kind == CC_MEDIA_AUDIO)
            naudio++;
        if (slot < 0 || slot >= CC_SLOT_COUNT)
            continue;
        int dup = 0;
        for (int k = 0; k < i; k++)
            dup |= slot_of[k] == slot && owner_of[k] == owner;
        if (dup)
            continue;
        int video = m->kind == CC_MEDIA_VIDEO, audio = m->kind == CC_MEDIA_AUDIO;
        if (slot_is_video(slot) ? !video : !audio)
            continue;
        /* The browser must send on a published line and receive on a
         * subscribed one (RFC 3264 6.1). */
        int ok = publisher ? (m->direction == CC_DIR_SENDONLY ||
                              m->direction == CC_DIR_SENDRECV)
                           : (m->direction == CC_DIR_RECVONLY ||
                              m->direction == CC_DIR_SENDRECV);
        if (!ok || (m->port == 0 && !m->bundle_only))
            continue;
        slot_of[i] = slot;
        owner_of[i] = owner;
    }
}

static int prepare(int publisher, const char *offer_text, size_t len,
                   const cc_sfu_params *p, uint32_t room_id,
                   uint32_t member_id, const cc_sfu_track_map *map, int n_map,
                   const char *reuse_ufrag, const char *reuse_pwd,
                   const cc_sfu_out_info *prev, int n_prev,
                   char **answer, cc_worker_msg_add **msg_out, char *err,
                   size_t errcap)
{
    *answer = NULL;
    *msg_out = NULL;
    if (errcap)
        err[0] = 0;
    cc_sdp_offer *offer = calloc(1, sizeof *offer);
    cc_sdp_answer_params *ap = calloc(1, sizeof *ap);
    sfu_peer *pp = calloc(1, sizeof *pp);
    cc_worker_msg_add *msg = cc_worker_msg_add_new();
    cc_sdp_choice choices[CC_SDP_MAX_MEDIA];
    int slot_of[CC_SDP_MAX_MEDIA];
    uint32_t owner_of[CC_SDP_MAX_MEDIA];
    char ufrag[CC_ICE_MAX_CRED], pwd[CC_ICE_MAX_CRED];
    int rc = CC_ENOMEM;
    if (!offer || !ap || !pp || !msg) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    if (!p || !p->fingerprint || !offer_text) {
        rc = CC_EINVAL;
        snprintf(err, errcap, "missing offer or server parameters");
        goto out;
    }
    rc = cc_sdp_parse(offer_text, len, offer);
    if (rc != 0) {
        snprintf(err, errcap, "bad SDP offer: %s", offer->error);
        goto out;
    }
    pp->publisher = publisher;
    pp->room_id = room_id;
    pp->member_id = member_id;
    if (reuse_ufrag && reuse_pwd) {
        snprintf(ufrag, sizeof ufrag, "%s", reuse_ufrag);
        snprintf(pwd, sizeof pwd, "%s", reuse_pwd);
    } else {
        char u[CC_ICE_UFRAG_LEN + 1], pw[CC_ICE_PWD_LEN + 1];
        cc_ice_make_credentials(u, pw);
        snprintf(ufrag, sizeof ufrag, "%s", u);
        snprintf(pwd, sizeof pwd, "%s", pw);
    }
    cc_rand_token(pp->cname, 16);
    snprintf(pp->ufrag, sizeof pp->ufrag, "%s", ufrag);
    ap->ice_ufrag = ufrag;
    ap->ice_pwd = pwd;
    ap->fingerprint = p->fingerprint;
    ap->cname = pp->cname;
    ap->n_candidates = p->n_candidates;
    memcpy(ap->candidates, p->candidates, sizeof ap->candidates);
    /* Publishers: REMB (see SFU_REMB_BPS); no RTX: losses are repaired by
     * NACK on the media SSRC. Subscribers: RTX where offered (RFC 4588:
     * retransmissions and bandwidth probes on their own stream), else
     * retransmissions reuse the subscriber's SSRC and seq. */
    ap->enable_remb = publisher;
    ap->want_rtx = !publisher;
    /* Publishers may send camera and screen as simulcast encodings
     * (RFC 8853); each subscriber gets the one its link carries. */
    ap->accept_simulcast = publisher;
    /* transport-cc (draft-holmer-rmcat-transport-wide-cc-extensions-01):
     * publishers get feedback so the browser's own send-side estimator
     * sees the real uplink (the fixed REMB stays only for senders that do
     * not offer it); subscribers send us feedback that drives their
     * estimate (docs/bwe.md). */
    ap->enable_twcc = 1;
    map_slots(offer, publisher, map, n_map, slot_of, owner_of);
    for (int i = 0; i < offer->n_media && i < CC_SDP_MAX_MEDIA; i++)
        ap->send[i] = !publisher && slot_of[i] >= 0;
    rc = cc_sdp_choose(offer, ap, choices);
    if (rc == 0)
        cc_sdp_settle_bundle(offer, choices);
    int n_ok = 0;
    for (int i = 0; rc == 0 && i < offer->n_media && i < CC_SDP_MAX_MEDIA; i++) {
        if (!choices[i].accepted) {
            slot_of[i] = -1;
            continue;
        }
        /* Forwarded packets carry no header extensions (ids are per
         * transport and must not leak from the publisher's to a
         * subscriber's), so do not promise abs-send-time/audio-level;
         * mid stays (a publisher's unsignalled SSRCs bind by it). */
        choices[i].ext_abs_send_time = 0;
        if (!(choices[i].fb & CC_FB_TWCC))
            choices[i].ext_twcc = 0;
        if (slot_of[i] < 0) {
            /* A usable line with no slot (a camera the teacher turned
             * off, a line more than the lesson has) stays in the BUNDLE
             * group, marked inactive (RFC 3264 section 6), rather than
             * rejected: it may be the line that carries the group's
             * transport, and Chromium refuses an answer that rejects
             * that one while it keeps the others (it cannot move the
             * transport, RFC 8843 section 7.3.3). */
            choices[i].direction = CC_DIR_INACTIVE;
            choices[i].ext_audio_level = 0;
            continue;
        }
        n_ok++;
        if (!publisher) {
            choices[i].ext_audio_level = 0;
            /* RFC 3264 6.1: a sendrecv offer may be answered sendonly: a
             * student's browser then sends nothing. */
            choices[i].direction = CC_DIR_SENDONLY;
        }
    }
    if (rc == 0) {
        /* One extension id space per BUNDLE transport (RFC 8843 section
         * 9.1): the first accepted line that has it names it. With
         * transport-cc the fixed REMB would cap a publishing browser's
         * estimate: not promised, not sent. A subscriber's lines that did
         * not offer it send without the element (their packets are then
         * outside the estimate). */
        for (int i = 0; i < offer->n_media && i < CC_SDP_MAX_MEDIA; i++)
            if (choices[i].accepted && slot_of[i] >= 0 && choices[i].ext_twcc && !pp->ext_twcc)
                pp->ext_twcc = choices[i].ext_twcc;
        for (int i = 0; pp->ext_twcc && i < offer->n_media && i < CC_SDP_MAX_MEDIA; i++) {
            if (publisher)
                choices[i].fb &= ~(unsigned)CC_FB_REMB;
            if (choices[i].ext_twcc && choices[i].ext_twcc != pp->ext_twcc)
                choices[i].ext_twcc = 0;
        }
    }
    if (rc != 0 || n_ok == 0) {
        rc = CC_EUNSUPPORTED;
        snprintf(err, errcap,
                 publisher ? "the offer has no sendable VP8 video or Opus audio "
                             "m-line for the camera, screen or mic slot"
                           : "the offer has no receivable VP8 video or Opus "
                             "audio m-line for the camera, screen or mic slot");
        goto out;
    }
    if (publisher)
        pp->rtcp_ssrc = fresh_ssrc(pp, offer, prev, n_prev);
    for (int i = 0; i < CC_SLOT_COUNT; i++)
        pp->in[i].feed = -1;
    for (int i = 0; i < offer->n_media && i < CC_SDP_MAX_MEDIA; i++) {
        int slot = slot_of[i];
        if (slot < 0)
            continue;
        const cc_sdp_media *m = &offer->media[i];
        int clock_rate = 0;
        for (int c = 0; c < m->n_codecs; c++)
            if (m->codecs[c].pt == choices[i].pt)
                clock_rate = m->codecs[c].clock_rate;
        if (choices[i].ext_mid)
            pp->ext_mid = choices[i].ext_mid;
        if (publisher && m->kind == CC_MEDIA_AUDIO && choices[i].ext_audio_level)
            pp->ext_level = choices[i].ext_audio_level;
        if (publisher) {
            sfu_in *in = &pp->in[slot];
            in->track = calloc(1, sizeof *in->track);
            if (!in->track) {
                rc = CC_ENOMEM;
                snprintf(err, errcap, "out of memory");
                goto out;
            }
            in->active = 1;
            in->pt = choices[i].pt;
            snprintf(in->mid, sizeof in->mid, "%s", m->mid);
            cc_track_init(in->track, 0, slot, slot_is_video(slot), clock_rate);
            in->track->ssrc = m->fid_primary ? m->fid_primary
                                             : (m->n_ssrcs ? m->ssrcs[0] : 0);
            in->track->nack_enabled = (choices[i].fb & CC_FB_NACK) != 0;
            in->n_enc = 1;
            in->enc[0] = in->track;
            if (choices[i].n_sim >= 2 && choices[i].ext_rid) {
                /* Simulcast (RFC 8853): a track per encoding, lowest
                 * first as the offer lists them; SSRCs bind by rid. */
                int n = choices[i].n_sim > SFU_SIM ? SFU_SIM : choices[i].n_sim;
                in->track->ssrc = 0;
                in->enc[0] = NULL;
                for (int k = 0; k < n; k++) {
                    cc_track *t = k == n - 1 ? in->track : calloc(1, sizeof *t);
                    if (!t) {
                        rc = CC_ENOMEM;
                        snprintf(err, errcap, "out of memory");
                        goto out;
                    }
                    if (t != in->track) {
                        cc_track_init(t, 0, slot, 1, clock_rate);
                        t->nack_enabled = in->track->nack_enabled;
                    }
                    in->enc[k] = t;
                    in->n_enc = k + 1;
                    snprintf(in->rid[k], sizeof in->rid[k], "%s", choices[i].sim[k]);
                }
                pp->ext_rid = choices[i].ext_rid;
            }
            if (choices[i].fb & CC_FB_REMB)
                pp->remb = 1;
        } else {
            if (!pp->out) {
                pp->out = calloc(SFU_MAX_OUTS, sizeof *pp->out);
                if (!pp->out) {
                    rc = CC_ENOMEM;
                    snprintf(err, errcap, "out of memory");
                    goto out;
                }
            }
            if (pp->n_out >= SFU_MAX_OUTS)
                continue;
            uint32_t owner = owner_of[i];
            /* The same mid carrying the same track keeps its SSRC (an
             * in-place renegotiation: the browser sees no change). */
            uint32_t keep = 0, keep_rtx = 0;
            for (int k = 0; k < n_prev; k++)
                if (strcmp(prev[k].mid, m->mid) == 0 && prev[k].slot == slot &&
                    prev[k].owner == owner) {
                    keep = prev[k].ssrc;
                    keep_rtx = prev[k].rtx_ssrc;
                }
            sfu_out *o = &pp->out[pp->n_out++];
            cc_fwd_config fc = {
                .ssrc = keep ? keep : fresh_ssrc(pp, offer, prev, n_prev),
                .pt = (uint8_t)choices[i].pt,
                .video = slot_is_video(slot),
                .clock_rate = clock_rate,
                .initial_seq = (uint16_t)cc_rand_u32(),
                .initial_ts = cc_rand_u32(),
                .initial_picture_id = (uint16_t)(cc_rand_u32() & 0x7fff),
                .initial_tl0 = (uint8_t)cc_rand_u32(),
                .ext_twcc = (uint8_t)(choices[i].ext_twcc ? pp->ext_twcc : 0),
            };
            cc_fwd_init(&o->fwd, &fc);
            cc_layerctl_init(&o->lc, 0);
            o->alloc_tid = CC_FWD_ALL_LAYERS;
            o->want_enc = SFU_SIM - 1; /* the top, until allocated */
            o->cur_enc = -1;
            if (choices[i].rtx_pt >= 0 && fc.video) {
                o->rtx_pt = (uint8_t)choices[i].rtx_pt;
                o->rtx_ssrc = keep_rtx ? keep_rtx : fresh_ssrc(pp, offer, prev, n_prev);
                o->rtx_seq = (uint16_t)cc_rand_u32();
                ap->streams[i].rtx_ssrc = o->rtx_ssrc;
            } else {
                choices[i].rtx_pt = -1;
            }
            o->active = 1;
            o->slot = slot;
            o->owner = owner;
            snprintf(o->mid, sizeof o->mid, "%s", m->mid);
            /* RFC 8830: one MediaStream per sender (the lesson's for the
             * teacher), so the browser synchronises its camera and mic
             * (one sync group). */
            ap->streams[i].ssrc = fc.ssrc;
            if (owner)
                snprintf(ap->streams[i].stream_id, sizeof ap->streams[i].stream_id,
                         "lesson-%u-m%u", room_id, owner);
            else
                snprintf(ap->streams[i].stream_id, sizeof ap->streams[i].stream_id,
                         "lesson-%u", room_id);
            if (owner)
                snprintf(ap->streams[i].track_id, sizeof ap->streams[i].track_id,
                         "m%u-%s", owner, slot_names[slot]);
            else
                snprintf(ap->streams[i].track_id, sizeof ap->streams[i].track_id,
                         "%s", slot_names[slot]);
        }
    }
    rc = cc_sdp_write_answer(offer, ap, choices, answer);
    if (rc != 0) {
        snprintf(err, errcap, "could not write the SDP answer: %s", cc_strerror(rc));
        goto out;
    }
    rc = cc_worker_msg_add_transport(msg, ufrag, pwd, offer, choices, err, errcap);
    if (rc != 0)
        goto out;
    msg->app = &cc_sfu_app;
    msg->app_state = pp;
    msg->free_app_state = peer_state_free;
    pp = NULL;
    *msg_out = msg;
    msg = NULL;
    rc = 0;
out:
    if (rc != 0) {
        free(*answer);
        *answer = NULL;
    }
    free(offer);
    free(ap);
    peer_state_free(pp);
    if (msg)
        cc_msg_free(&msg->hdr);
    return rc;
}

int cc_sfu_prepare_publisher(const char *offer, size_t len,
                             const cc_sfu_params *p, uint32_t room_id,
                             uint32_t member_id, const cc_sfu_track_map *map,
                             int n_map, char **answer, cc_worker_msg_add **msg,
                             char *err, size_t errcap)
{
    return prepare(1, offer, len, p, room_id, member_id, map, n_map, NULL,
                   NULL, NULL, 0, answer, msg, err, errcap);
}

int cc_sfu_prepare_publisher_update(const char *offer, size_t len,
                                    const cc_sfu_params *p, uint32_t room_id,
                                    uint32_t member_id,
                                    const cc_sfu_track_map *map, int n_map,
                                    const char *local_ufrag,
                                    const char *local_pwd, char **answer,
                                    cc_worker_msg_add **msg, char *err,
                                    size_t errcap)
{
    if (!local_ufrag || !local_pwd) {
        snprintf(err, errcap, "no transport to renegotiate");
        return CC_EINVAL;
    }
    return prepare(1, offer, len, p, room_id, member_id, map, n_map,
                   local_ufrag, local_pwd, NULL, 0, answer, msg, err, errcap);
}

/* Worker: merge a renegotiated publisher state into the live one. */
static void do_update_publisher(cc_worker *w, void *arg, cc_time_us now)
{
    (void)now;
    cc_worker_msg_add *msg = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_peer *np = msg->app_state;
    cc_wpeer *wp = cc_worker_find_peer(w, msg->local_ufrag);
    sfu_peer *op = wp ? cc_wpeer_app_state(wp) : NULL;
    if (!s || !np || !op || !op->publisher || op->room_id != np->room_id) {
        CC_INFO("sfu", "update for %s: no such live publisher", msg->local_ufrag);
        return;
    }
    sfu_room *r = op->room;
    for (int i = 0; i < CC_SLOT_COUNT; i++) {
        sfu_in *o = &op->in[i], *n = &np->in[i];
        if (o->active && n->active && strcmp(o->mid, n->mid) == 0 && o->n_enc == n->n_enc) {
            o->pt = n->pt; /* same m-line: keep its tracks and source state */
            for (int k = 0; k < o->n_enc; k++)
                o->enc[k]->nack_enabled = n->enc[k]->nack_enabled;
            continue;
        }
        if (o->active) {
            if (r)
                slot_fallback(w, s, r, op, i);
            in_free_tracks(o);
            memset(o, 0, sizeof *o);
        }
        if (n->active) {
            *o = *n;
            memset(n, 0, sizeof *n);
            bind_learnt(op, o);
            for (int k = 0; r && k < o->n_enc; k++)
                o->enc[k]->id = ++s->next_track_id;
        }
    }
    op->ext_mid = np->ext_mid;
    op->ext_rid = np->ext_rid;
    op->ext_level = np->ext_level;
    op->remb = np->remb;
    /* Same transport, same transport-wide numbers: the feedback state
     * stays; a renegotiation that drops transport-cc drops it. */
    op->ext_twcc = np->ext_twcc;
    if (!op->ext_twcc) {
        free(op->twcc);
        op->twcc = NULL;
    }
    if (r) {
        room_update_mask(w, r, op);
        cache_rebalance(s);
        mirror_sync_room(s, r);
    }
    CC_INFO("sfu", "room %u: publisher %u renegotiated (%s)", op->room_id,
            op->member_id, op->ufrag);
}

static void free_update_msg(void *arg) { cc_msg_free(&((cc_worker_msg_add *)arg)->hdr); }

int cc_sfu_update_publisher(cc_worker *w, cc_worker_msg_add *msg)
{
    return cc_worker_call(w, do_update_publisher, msg, free_update_msg);
}

int cc_sfu_prepare_subscriber(const char *offer, size_t len,
                              const cc_sfu_params *p, uint32_t room_id,
                              uint32_t member_id, const cc_sfu_track_map *map,
                              int n_map, char **answer,
                              cc_worker_msg_add **msg, char *err, size_t errcap)
{
    return prepare(0, offer, len, p, room_id, member_id, map, n_map, NULL,
                   NULL, NULL, 0, answer, msg, err, errcap);
}

int cc_sfu_prepare_subscriber_update(const char *offer, size_t len,
                                     const cc_sfu_params *p, uint32_t room_id,
                                     uint32_t member_id, const cc_sfu_track_map *map,
                                     int n_map, const char *local_ufrag,
                                     const char *local_pwd, const cc_sfu_out_info *prev,
                                     int n_prev, char **answer, cc_worker_msg_add **msg,
                                     char *err, size_t errcap)
{
    if (!local_ufrag || !local_pwd) {
        snprintf(err, errcap, "no transport to renegotiate");
        return CC_EINVAL;
    }
    return prepare(0, offer, len, p, room_id, member_id, map, n_map, local_ufrag,
                   local_pwd, prev, n_prev, answer, msg, err, errcap);
}

void cc_sfu_msg_set_member(cc_worker_msg_add *msg, uint32_t owner, int is_teacher)
{
    sfu_peer *pp = msg ? msg->app_state : NULL;
    if (!pp)
        return;
    pp->owner = owner;
    pp->is_teacher = is_teacher;
}

int cc_sfu_msg_outs(const cc_worker_msg_add *msg, cc_sfu_out_info *out, int max)
{
    const sfu_peer *pp = msg ? msg->app_state : NULL;
    int n = 0;
    for (int i = 0; pp && i < pp->n_out && n < max; i++) {
        const sfu_out *o = &pp->out[i];
        if (!o->active)
            continue;
        snprintf(out[n].mid, sizeof out[n].mid, "%s", o->mid);
        out[n].slot = o->slot;
        out[n].owner = o->owner;
        out[n].ssrc = o->fwd.cfg.ssrc;
        out[n].rtx_ssrc = o->rtx_ssrc;
        n++;
    }
    return n;
}

/* Worker: a renegotiated subscriber state replaces the live one; outs
 * that keep their mid and SSRC keep their rewrite and layer state. */
static void do_update_subscriber(cc_worker *w, void *arg, cc_time_us now)
{
    cc_worker_msg_add *msg = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_peer *np = msg->app_state;
    cc_wpeer *wp = cc_worker_find_peer(w, msg->local_ufrag);
    sfu_peer *op = wp ? cc_wpeer_app_state(wp) : NULL;
    if (!s || !np || !op || op->publisher || op->room_id != np->room_id) {
        CC_INFO("sfu", "update for %s: no such live subscriber", msg->local_ufrag);
        return;
    }
    if (op->pq) {
        /* The queue names outs by index: it goes before they change. */
        int pacing = op->pacing;
        op->pacing = 0;
        sub_drain(w, s, op, now);
        op->pacing = pacing;
    }
    for (int i = 0; i < np->n_out; i++) {
        sfu_out *n = &np->out[i];
        for (int k = 0; k < op->n_out; k++) {
            sfu_out *o = &op->out[k];
            if (o->active && strcmp(o->mid, n->mid) == 0 &&
                o->fwd.cfg.ssrc == n->fwd.cfg.ssrc && o->owner == n->owner &&
                o->slot == n->slot) {
                /* The payload types may change, and the extension id. */
                cc_fwd_config fc = n->fwd.cfg;
                uint32_t rtx_ssrc = n->rtx_ssrc;
                uint8_t rtx_pt = n->rtx_pt;
                *n = *o;
                n->fwd.cfg.pt = fc.pt;
                n->fwd.cfg.ext_twcc = fc.ext_twcc;
                if (rtx_ssrc != n->rtx_ssrc) {
                    n->rtx_ssrc = rtx_ssrc;
                    n->rtx_seq = (uint16_t)cc_rand_u32();
                }
                n->rtx_pt = rtx_pt;
                break;
            }
        }
    }
    op->ext_twcc = np->ext_twcc;
    /* The new array is taken over; the old one goes with np. */
    sfu_out *old = op->out;
    op->out = np->out;
    op->n_out = np->n_out;
    np->out = old;
    np->n_out = 0;
    if (op->room) {
        sub_remap(op->room, op);
        for (int i = 0; i < op->n_out; i++) {
            cc_track *t = !op->out[i].fwd.started ? out_track(op->room, &op->out[i]) : NULL;
            if (t && t->video && !op->out[i].wait_since)
                op->out[i].wait_since = now;
            if (t)
                out_keyframe(w, s, op->room, &op->out[i], now);
        }
    }
    CC_INFO("sfu", "room %u: subscriber %u renegotiated (%s): %d streams", op->room_id,
            op->member_id, op->ufrag, op->n_out);
}

int cc_sfu_update_subscriber(cc_worker *w, cc_worker_msg_add *msg)
{
    return cc_worker_call(w, do_update_subscriber, msg, free_update_msg);
}

typedef struct sender_call {
    uint32_t room_id, owner;
    int muted, teacher_only, last_n;
} sender_call;

static void do_set_sender(cc_worker *w, void *arg, cc_time_us now)
{
    (void)now;
    sender_call *c = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_room *r = s ? room_find(s, c->room_id) : NULL;
    if (!r)
        return;
    sfu_policy *p = policy_of(r, c->owner, 1);
    if (p) {
        p->muted = c->muted;
        p->teacher_only = c->teacher_only;
    }
    for (int i = 0; i < CC_SFU_MAX_FEEDS; i++)
        if (r->feeds[i].used && r->feeds[i].owner == c->owner) {
            int mute = c->muted && r->feeds[i].slot == CC_SLOT_MIC;
            /* From now on its packets stop before the fan-out: hold every
             * subscriber's stream once, so the numbers continue on unmute. */
            if (mute && !r->feeds[i].muted)
                for (sfu_peer *sp = r->subs; sp; sp = sp->next)
                    if (sp->feed_out[i] >= 0)
                        cc_fwd_hold(&sp->out[sp->feed_out[i]].fwd);
            r->feeds[i].muted = mute;
            r->feeds[i].teacher_only = c->teacher_only && r->feeds[i].slot == CC_SLOT_CAMERA;
        }
    /* A muted sender is not speaking. */
    if (c->muted && c->owner)
        cc_speakers_remove(&r->speakers, c->owner);
    mirror_sync_room(s, r);
    room_update_shown(w, s, r, NULL);
    CC_INFO("sfu", "room %u: sender %u%s%s", r->id, c->owner, c->muted ? " muted" : "",
            c->teacher_only ? " (camera to teachers only)" : "");
}

int cc_sfu_set_sender(cc_worker *w, uint32_t room_id, uint32_t owner, int muted,
                      int teacher_only)
{
    sender_call *c = calloc(1, sizeof *c);
    if (!c)
        return CC_ENOMEM;
    *c = (sender_call){.room_id = room_id, .owner = owner, .muted = muted,
                       .teacher_only = teacher_only};
    return cc_worker_call(w, do_set_sender, c, free);
}

static void do_set_last_n(cc_worker *w, void *arg, cc_time_us now)
{
    (void)now;
    sender_call *c = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_room *r = s ? room_find(s, c->room_id) : NULL;
    if (!r || r->last_n == c->last_n)
        return;
    r->last_n = c->last_n;
    room_update_shown(w, s, r, NULL);
}

/* A member joined and will subscribe within a few tens of milliseconds:
 * the teacher's video streams whose last keyframe will be too old to
 * start it on by then are asked for one now (coalesced as any request),
 * so that it is kept, fresh, when the subscriber connects (out_replay).
 * Earlier than sfu_on_added (the answer) by the page's offer and the
 * subscribe's round trip: the local encoder's keyframe takes one frame
 * interval and its encode, 40-100 ms, about as long as ICE and DTLS. */
static void do_expect_viewer(cc_worker *w, void *arg, cc_time_us now)
{
    const sender_call *c = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_room *r = s ? room_find(s, c->room_id) : NULL;
    int64_t max_age = s ? __atomic_load_n(&s->replay_age, __ATOMIC_RELAXED) : 0;
    if (!r || r->mirror_of || max_age <= 0)
        return;
    for (int slot = 0; slot < CC_SLOT_COUNT; slot++) {
        const sfu_feed *f = &r->feeds[feed_find(r, 0, slot)];
        if (!f->used || !f->src || f->muted || !f->src->in[slot].active)
            continue;
        cc_track *t = main_track(&f->src->in[slot]);
        if (t && t->video && kf_stale_by_connect(t, max_age, now)) {
            request_keyframe(w, s, f->src, t, now);
            INC(s, early_keyframe_requests);
        }
    }
}

int cc_sfu_expect_viewer(cc_worker *w, uint32_t room_id)
{
    sender_call *c = calloc(1, sizeof *c);
    if (!c)
        return CC_ENOMEM;
    c->room_id = room_id;
    return cc_worker_call(w, do_expect_viewer, c, free);
}

int cc_sfu_set_last_n(cc_worker *w, uint32_t room_id, int n)
{
    if (n < 0 || n > CC_SFU_MAX_LAST_N)
        return CC_EINVAL;
    sender_call *c = calloc(1, sizeof *c);
    if (!c)
        return CC_ENOMEM;
    c->room_id = room_id;
    c->last_n = n;
    return cc_worker_call(w, do_set_last_n, c, free);
}

/* ------------------------------------------------------------------ */
/* local publisher (the media core in this process)                     */
/* ------------------------------------------------------------------ */


static void local_keyframe(sfu_peer *pub, int slot)
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
            pub_on_rtp(w, s, &lp->pp, p->data, p->len, now);
        }
        cc_pkt_unref(p);
    }
    if (cc_ring_count(lp->ring) > 0) {
        uint64_t one = 1;
        r = write(lp->efd, &one, sizeof one); /* come back for the rest */
    }
    /* No worker tick for a local publisher: its media comes steadily. */
    if (lp->pp.room)
        pub_upkeep(w, s, &lp->pp, now);
}

static void do_local_attach(cc_worker *w, void *arg, cc_time_us now)
{
    cc_sfu_local_config *cfg = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_room *r = s ? room_find(s, cfg->room_id) : NULL;
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
        cc_track_init(in->track, ++s->next_track_id, i, slot_is_video(i),
                      cfg->slots[i].clock_rate);
        in->track->ssrc = cfg->slots[i].ssrc;
        in->n_enc = 1;
        in->enc[0] = in->track;
        int n_sim = cfg->slots[i].n_sim;
        if (n_sim > SFU_SIM || n_sim > (int)(sizeof cfg->slots[i].sim_ssrc /
                                             sizeof cfg->slots[i].sim_ssrc[0]))
            n_sim = 0;
        if (n_sim >= 2 && slot_is_video(i)) {
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
        snprintf(in->mid, sizeof in->mid, "local-%s", slot_names[i]);
    }
    pp->room = r;
    pp->order = ++s->order;
    pp->next_report = now;
    list_add(&r->pubs, pp);
    INC(s, publishers);
    if (cc_worker_watch_fd(w, lp->efd, local_drain, lp) != 0) {
        CC_ERROR("sfu", "local publisher: cannot watch its eventfd");
        unlink_peer(s, pp);
        peer_state_free_tracks(pp);
        free(lp);
        return;
    }
    lp->next = s->locals;
    s->locals = lp;
    cache_rebalance(s);
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
            unlink_peer(s, &lp->pp);
            for (int i = 0; i < CC_SLOT_COUNT; i++)
                slot_fallback(w, s, r, &lp->pp, i);
            room_update_mask(w, r, &lp->pp);
            cache_rebalance(s);
        }
        cc_pkt *p;
        while ((p = cc_ring_pop(lp->ring)))
            cc_pkt_unref(p);
        peer_state_free_tracks(&lp->pp);
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
    sfu_room *r = s ? room_find(s, c->room_id) : NULL;
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
    sfu_room *r = s ? room_find(s, c->room_id) : NULL;
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
