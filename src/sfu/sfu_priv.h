/* classcast SFU: the types, constants and functions shared by the files of
 * the SFU application (sfu.c, sfu_mirror.c, sfu_feedback.c, sfu_negotiate.c,
 * sfu_local.c). Internal: not installed, not part of the API. */
#ifndef CLASSCAST_SFU_PRIV_H
#define CLASSCAST_SFU_PRIV_H

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
#include "classcast/resent.h"
#include "classcast/rtcp.h"
#include "classcast/ring.h"
#include "classcast/rtp.h"
#include "classcast/speakers.h"
#include "classcast/srtp.h"
#include "classcast/track.h"
#include "classcast/twcc.h"
#include "classcast/upbwe.h"
#include "classcast/udp.h"
#include "classcast/vp8.h"

#define SFU_ROOM_BUCKETS 64
/* RFC 3550 6.2 scales the interval with the session size; WebRTC endpoints
 * report about once a second (and so do we), which keeps RTT and A/V sync
 * fresh at a negligible cost. */
#define SFU_REPORT_INTERVAL CC_USEC_PER_SEC
/* NACK cache memory (docs/ARCHITECTURE.md, "NACK cache"): one packet pool
 * per worker that maps chunks of SFU_POOL_CHUNK packets as video tracks
 * come and unmaps them as they go, up to the configured cap; each video
 * track keeps at most its share of the cap (and of its room's
 * SFU_ROOM_CACHE_PKTS), never more than CC_TRACK_CACHE, and nothing older
 * than SFU_CACHE_AGE. */
#define SFU_POOL_CHUNK 256
#define SFU_ROOM_CACHE_PKTS 8192
#define SFU_CACHE_AGE (2 * CC_USEC_PER_SEC)
#define SFU_TX_CAP (CC_UDP_TX_BUF - CC_SRTP_MAX_TRAILER)
/* What a packet costs on the wire beyond its RTP bytes, for the bandwidth
 * estimate: the SRTP tag (16 bytes with AES-GCM, 10 with AES-CM: the
 * larger), UDP (8) and IPv4 (20). */
#define SFU_WIRE_OVERHEAD (16 + 8 + 20)
/* The uplink estimate of a publisher starts here (the REMB classcast
 * sent before it had one); it caps nothing until it has seen a limit. */
#define SFU_UPLINK_START_BPS 2500000u
/* A lower cap goes out at once, at most this often; the same or a
 * higher one with the receiver report, once a second. */
#define SFU_REMB_MIN_GAP (100 * CC_USEC_PER_MSEC)
/* The REMB that lifts a released cap: above anything a lesson sends. */
#define SFU_UPLINK_RELEASE_BPS 50000000u
/* Feedback entries expanded at once: a 50-100 ms feedback of a 5 Mbit/s
 * subscriber holds a few hundred. */
#define SFU_TWCC_SCRATCH 4096
/* Layer allocation from the estimate: four times a second (the estimate
 * moves on feedback every 50 ms; layers switch only at pictures). */
#define SFU_ALLOC_INTERVAL (250 * CC_USEC_PER_MSEC)
/* The simulcast encoding a subscriber is on counts as stopped after this
 * long without a packet while one beneath it goes on flowing
 * (sfu_enc_stopped): a browser whose uplink estimate fell leaves its top
 * encodings out, all at once. A still screen or a burst the browser's
 * pacer holds back silences every encoding alike, so the one beneath
 * flowing tells the two apart; before, a screen's students waited
 * SFU_ENC_STALE_SCREEN (3 s), then for a keyframe: 3.2-3.4 s without a
 * new picture each time the teacher's uplink was cut (scripts/bench/links
 * case 2). */
#define SFU_ENC_SILENT (300 * CC_USEC_PER_MSEC)
/* An encoding that comes back after such a silence takes new subscribers
 * only once it has flowed this long again (sub_alloc). Behind an
 * 800 kbit/s uplink the browser's own estimate read 1.4-3.7 Mbit/s now
 * and then (its probes through the shaper's bucket) and it sent its
 * 640x480 camera for 1-2 s each time: the students moved up and back
 * down, every move a keyframe request, and 21 requests in 10 s put
 * keyframes of every encoding on that uplink (scripts/bench/links case
 * 2, the students' latency 330-350 ms in 2 of 3 runs). */
#define SFU_ENC_RESUMED (2 * CC_USEC_PER_SEC)
#define SFU_ALLOC_HOLD_RUNS 4
/* ... and goes up only to what the lowest estimate of the last two
 * seconds carries (cc_alloc_run_band). */
#define SFU_ALLOC_UP_RUNS 8
/* Pacing of a subscriber's video: below this estimate, at this factor of
 * it, a queue of at most SFU_PACE_QUEUE packets, a burst of SFU_PACE_BURST
 * (at least the worker's 10 ms tick, which drains the queue). */
#define SFU_PACE_BELOW 4000000u
#define SFU_PACE_FACTOR 1.25
/* ... and at most this factor of the link's capacity (cc_bwe_capacity_bps,
 * what the link carried at its over-uses) once known. A subscriber sent
 * less than its link carries has an estimate up to 1.5 x what it gets
 * (1.4-1.5 Mbit/s on a 1 Mbit/s link): paced at 1.25 x that, a keyframe
 * burst (another student's join asks the teacher for keyframes of every
 * encoding) left at 1.75 Mbit/s, queued at the link, and the over-use
 * took its camera down for seconds (scripts/bench/links case 1). Above 1,
 * so what the link carries can still show more and the capacity grow. */
#define SFU_PACE_CAPACITY 1.1
#define SFU_PACE_QUEUE 384
/* A packet is sent again at most once per the subscriber's round trip
 * (sub_on_nack, resent.h): its estimate's, else SFU_RESEND_GAP; never
 * longer than SFU_RESEND_GAP_MAX (a receiver gives up on a packet after
 * about a second behind its playout). */
#define SFU_RESEND_GAP (100 * CC_USEC_PER_MSEC)
#define SFU_RESEND_GAP_MAX (1000 * CC_USEC_PER_MSEC)
#define SFU_PACE_BURST (20 * CC_USEC_PER_MSEC)
/* A packet that has waited this long in the queue is stale: what is
 * queued goes, and each stream it belonged to starts again at a keyframe
 * of what the allocation gives it now (sfu_sub_drain). Not again within
 * SFU_PACE_FLUSH_GAP: the keyframe that follows must get through even when
 * it alone takes longer than that on the link. */
#define SFU_PACE_MAX_WAIT (1500 * CC_USEC_PER_MSEC)
#define SFU_PACE_FLUSH_GAP (5 * CC_USEC_PER_SEC)
/* A subscriber held below its best layers probes for them after 3 s, then
 * with the gap doubling to 10 s while it stays held (a probe is 15 ms at
 * the best rate: a few kilobytes). */
#define SFU_PROBE_INTERVAL (3 * CC_USEC_PER_SEC)
#define SFU_PROBE_INTERVAL_MAX (10 * CC_USEC_PER_SEC)
/* Filling a subscriber's link (sub_fill): for SFU_FILL_US, to
 * SFU_FILL_OVER x the capacity a held-back step needs (what arrives of
 * it is measured: 5 % random loss took 5 % off); the first after
 * SFU_FILL_GAP, then with the gap doubling to SFU_FILL_GAP_MAX while they
 * do not lift the capacity; stopped early by a queue of SFU_FILL_QUEUE.
 * Which steps get a fill: cc_alloc_fill_want (alloc.h). */
#define SFU_FILL_US (2 * CC_USEC_PER_SEC)
#define SFU_FILL_OVER 1.1
#define SFU_FILL_GAP (3 * CC_USEC_PER_SEC)
#define SFU_FILL_GAP_MAX (24 * CC_USEC_PER_SEC)
#define SFU_FILL_QUEUE (60 * CC_USEC_PER_MSEC)
/* A fill stopped by its queue: for this long while it drains, the
 * estimate stays at what the link is known to carry (cc_bwe_own_queue). */
#define SFU_FILL_DRAIN_US (1 * CC_USEC_PER_SEC)

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
    int main_enc;         /* simulcast: the encoding recordings get
                           * (sfu_main_stream) */
    cc_time_us stop_kick_at[SFU_SIM]; /* sfu_enc_stop_kick last ran the
                           * allocations of this encoding's subscribers */
} sfu_in;

#define SFU_MAX_TRACKS (CC_SLOT_COUNT * SFU_SIM)
#define SFU_LEARNT 16

/* Every track of a publisher's active slots, into ts[0..SFU_MAX_TRACKS). */
int sfu_pub_tracks(const sfu_peer *pp, cc_track **ts);

/* Subscriber side: one outgoing stream (one m-line that carries a track). */
typedef struct sfu_out {
    /* What the fan-out reads per packet first (then fwd's start). */
    int active;
    int paused;           /* the allocation gives it nothing (a camera the
                           * subscriber's link cannot carry) */
    /* Simulcast source: the encoding (index, lowest first) the
     * allocation wants and the one being forwarded (-1: none yet); a
     * switch happens at a keyframe of the wanted one. */
    int8_t want_enc, cur_enc;
    cc_time_us wait_since; /* video: waiting for its first picture since
                            * (connect or renegotiation), 0 once it came */
    int slot;             /* the kind */
    uint32_t owner;       /* whose track: 0 the teacher's, else a member */
    cc_fwd fwd;
    char mid[64];
    cc_layerctl lc;       /* video: temporal layers this subscriber's link
                           * carries (its RRs and NACKs) */
    int alloc_below;      /* the allocation gives it less than its best
                           * (paused, a lower encoding or fewer layers) */
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

#define SFU_MAX_POLICIES 64

typedef struct sfu_local sfu_local;

/* Addresses a packet's send to a subscriber reads (cc_worker_tx_lines). */
#define SFU_TX_LINES 12

struct sfu_peer {
    /* What the fan-out reads per packet and subscriber comes first, so it
     * is a few cache lines that sfu_fanout prefetches for the next
     * subscriber while it sends to this one (with hundreds of
     * subscribers, each of them is otherwise a miss per packet). */
    sfu_peer *next;       /* in its room's list */
    sfu_out *out;         /* n_out of them (malloc'd: a subscriber of a
                           * big seminar has many, most have three) */
    cc_wpeer *wp;
    cc_pacedq *pq;
    cc_bwe *bwe;
    int pacing;
    int is_teacher;       /* subscriber: gets every guest camera */
    /* Subscriber with transport-cc (docs/bwe.md): the transport-wide
     * number of the next packet we send it (its feedback drives bwe). */
    uint16_t twcc_seq;
    uint64_t twcc_bytes;  /* ... and of all it was sent so (sub_fill) */
    /* feed index -> index in out[] (-1: this subscriber does not take it);
     * rebuilt when the room's feeds or the subscriber's outs change. */
    int8_t feed_out[CC_SFU_MAX_FEEDS];
    /* What sending it a packet reads beyond this (refreshed every tick:
     * a stale address is only a wasted prefetch). */
    int n_txl;
    const void *txl[SFU_TX_LINES];
    cc_time_us txl_at;    /* when txl was last refreshed */
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
    /* Publisher that sends abs-send-time and accepted goog-remb: the
     * receive-side estimate of its uplink (upbwe.h), the REMB cap it
     * gives, and when that was last sent. */
    int ext_abs;
    cc_upbwe *up;
    /* Packets with abs-send-time since the last debug line, and of them
     * padding-only ones (the browser's probes): a cap's cause, logged. */
    uint32_t up_pkts, up_pad;
    uint32_t remb_cap_sent;
    cc_time_us remb_cap_at;
    uint32_t up_discounted; /* cc_upbwe_stats.discounted last seen */
    int up_set_aside;       /* it grew since the cap last went out */
    int remb_capped;      /* a cap was sent (then a release follows) */
    /* The probe cluster being sent to a subscriber (padding on RTX). */
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
     * (pq, made the first time; `pacing` above), so a keyframe does not
     * overflow the queue of a slow link. */
    cc_pacer pacer;
    cc_time_us pace_flushed_at; /* the last stale-queue flush */
    int pace_replay;      /* pacing only for a kept chain (out_replay),
                           * until the queue has drained */
    cc_time_us next_alloc, next_probe_req;
    uint32_t tgt_hist[SFU_ALLOC_UP_RUNS]; /* estimates of the last runs,
                                           * the newest at tgt_i - 1 */
    uint32_t tgt_low;     /* the lowest of them (0: none; sub_pace) */
    int path_limited;     /* its estimate has shown a limit (sub_alloc) */
    cc_time_us rtt_min;   /* the least round trip its estimate has had */
    uint64_t overuses;    /* its estimate's over-uses seen */
    cc_time_us limit_at;  /* its link last showed a limit: an over-use or a
                           * standing queue (SFU_ALLOC_QUEUE) */
    cc_alloc_cut cut;     /* holding through a cut (sub_alloc) */
    unsigned tgt_i;
    cc_time_us probe_gap;
    /* Filling its link with padding to show whether it carries what a
     * held-back step needs (sub_fill; 0 fill_until: not filling). */
    cc_time_us fill_until, fill_last, fill_next, fill_gap;
    uint32_t fill_bps, fill_want, fill_cap0, fill_est0;
    /* Keyframes sent since kf_burst_at (sfu_sub_keyframe_out). */
    uint32_t kf_burst;
    cc_time_us kf_burst_at;
    /* Bytes on the wire of the keyframes, repairs and padding it was
     * sent; at the last debug line, twcc_bytes and each of them, and its
     * paced queue's bytes: what it was sent and offered in each second,
     * by kind. */
    uint64_t kf_bytes, rtx_bytes, pad_bytes;
    cc_resent *resent;    /* what it was sent again, and when (NULL until
                           * its first NACK) */
    uint64_t line_bytes[4], line_queued;
    cc_time_us line_at;
    uint64_t fill_tx, fill_overuses;
    double fill_tokens;
    int ext_level;        /* publisher: RFC 6464 audio level extension id */
    uint32_t owner;       /* 0: the teacher, else its member id */
    sfu_room *room;       /* NULL when not linked */
    uint64_t order;       /* connect order: the newest publisher wins a slot */
    sfu_peer *prev;
    cc_time_us next_report;
    sfu_in in[CC_SLOT_COUNT];
    int n_out;
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
     * workers"): whether it has a source, and an m-line standing for that
     * source: a track per simulcast encoding (its id, clock, SR, rates,
     * and references to the owner's packets for NACKs). */
    int mirror_live;
    sfu_in *shadow;
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

extern const char *const sfu_slot_names[CC_SLOT_COUNT];

/* What one file defines and the others call, by file (each is described
 * where it is defined). */

/* sfu.c */
void sfu_in_free_tracks(sfu_in *in);
int sfu_slot_is_video(int slot);
sfu_room *sfu_room_find(cc_sfu *s, uint32_t id);
void sfu_emit_ev(cc_worker *w, const sfu_peer *pp, int kind, unsigned active, int weak);
void sfu_room_update_mask(cc_worker *w, sfu_room *r, const sfu_peer *cause);
int sfu_feed_find(const sfu_room *r, uint32_t owner, int slot);
sfu_policy *sfu_policy_of(sfu_room *r, uint32_t owner, int create);
void sfu_sub_remap(const sfu_room *r, sfu_peer *sp);
void sfu_room_remap(sfu_room *r);
void sfu_room_update_shown(cc_worker *w, cc_sfu *s, sfu_room *r, const sfu_peer *cause);
void sfu_list_add(sfu_peer **head, sfu_peer *p);
void sfu_do_room_open(cc_worker *w, void *arg, cc_time_us now);
void sfu_unlink_peer(cc_sfu *s, sfu_peer *pp);
void sfu_cache_rebalance(cc_sfu *s);
cc_track *sfu_out_track(sfu_room *r, const sfu_out *o);
sfu_in *sfu_out_in(sfu_room *r, const sfu_out *o);
/* Encoding cur of `in` has sent nothing for SFU_ENC_SILENT while one
 * beneath it has sent since, at SFU_ENC_MIN_FPS or more. */
int sfu_enc_stopped(const sfu_in *in, int cur, cc_time_us now);
/* A packet of encoding enc of `in` (feed fi of r) arrived: every
 * subscriber on an encoding above it that has stopped has its allocation
 * run at the next tick rather than in up to SFU_ALLOC_INTERVAL (at most
 * once a second per encoding; counter sim_stopped). Once per packet, not
 * per subscriber: nothing is added to the fan-out loop. */
void sfu_enc_stop_kick(cc_sfu *s, sfu_room *r, int fi, sfu_in *in, int enc, cc_time_us now);
void sfu_out_keyframe(cc_worker *w, cc_sfu *s, sfu_room *r, const sfu_out *o,
                      cc_time_us now);
void sfu_bind_learnt(const sfu_peer *pp, sfu_in *in);
/* A publisher's packet into its transport-cc feedback. */
void sfu_pub_twcc_packet(cc_sfu *s, sfu_peer *pp, const cc_rtp_hdr *h, cc_time_us now);
/* A publisher's packet with abs-send-time into its uplink estimate (made
 * on the first); the REMB cap goes out from sfu_pub_tick. */
void sfu_pub_uplink_packet(cc_sfu *s, sfu_peer *pp, const cc_rtp_hdr *h, size_t len,
                           cc_time_us now);
void sfu_pub_on_rtp(cc_worker *w, cc_sfu *s, sfu_peer *pp, uint8_t *buf,
                    size_t len, cc_time_us now);
void sfu_sub_stamp(sfu_peer *sp, const sfu_out *o, uint8_t *buf, size_t n,
                   int probe_id, cc_time_us now);
int sfu_sub_emit(cc_worker *w, cc_sfu *s, sfu_peer *sp, sfu_out *o, uint8_t *buf, size_t n,
                 cc_time_us now);
void sfu_sub_drain(cc_worker *w, cc_sfu *s, sfu_peer *sp, cc_time_us now);
/* The last packet of a keyframe of kf_bytes went out to sp (or into its
 * pacer's queue). */
void sfu_sub_keyframe_out(cc_sfu *s, sfu_peer *sp, uint32_t kf_bytes, cc_time_us now);
/* Refreshes sp's txl (what a send to it reads, for sfu_fanout's prefetch). */
void sfu_sub_tx_lines(sfu_peer *sp);
int sfu_fanout(cc_worker *w, cc_sfu *s, sfu_room *r, int fi, const cc_fwd_pkt *fp, uint32_t kf_done,
               int gated, int enc, int n_enc, cc_time_us now);
int sfu_kf_stale_by_connect(const cc_track *t, int64_t max_age, cc_time_us now);
void sfu_peer_state_free_tracks(sfu_peer *pp);
void sfu_peer_state_free(void *arg);
void sfu_slot_fallback(cc_worker *w, cc_sfu *s, sfu_room *r, const sfu_peer *pp, int i);

/* sfu_mirror.c */
void sfu_mirror_feed(cc_sfu *s, sfu_room *r, int fi);
void sfu_mirror_sync_room(cc_sfu *s, sfu_room *r);
void sfu_mirror_rtp(cc_sfu *s, sfu_room *r, int fi, int enc, const cc_track *t, cc_pkt *copy,
                    const uint8_t *buf, size_t len, cc_time_us now);
void sfu_mirror_keyreq(cc_sfu *s, sfu_room *r, int fi, int enc, cc_time_us now);
cc_track *sfu_main_track(sfu_in *in);
int sfu_main_stream(cc_worker *w, cc_sfu *s, sfu_peer *pp, sfu_in *in, int enc,
                    int keyframe, cc_time_us now);

/* sfu_feedback.c */
void sfu_request_keyframe(cc_worker *w, cc_sfu *s, sfu_peer *pub,
                          cc_track *t, cc_time_us now);
void sfu_sub_on_rtcp(cc_worker *w, cc_sfu *s, sfu_peer *sp,
                     const cc_rtcp_pkt *p, cc_time_us now);
void sfu_pub_on_rtcp(sfu_peer *pp, const cc_rtcp_pkt *p, cc_time_us now);
void sfu_pub_upkeep(cc_worker *w, cc_sfu *s, sfu_peer *pp, cc_time_us now);
void sfu_pub_tick(cc_worker *w, cc_sfu *s, sfu_peer *pp, cc_time_us now);
void sfu_sub_tick(cc_worker *w, cc_sfu *s, sfu_peer *sp, cc_time_us now);

/* sfu_local.c */
void sfu_local_keyframe(sfu_peer *pub, int slot);

#endif
