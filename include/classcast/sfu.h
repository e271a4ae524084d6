/* classcast: the SFU application of a worker: lesson rooms, each with three
 * slots (camera, screen, mic) that a publisher (the teacher) feeds and every
 * subscriber (students, the teacher's own preview, WHEP viewers) receives.
 *
 * Threads:
 * - cc_sfu_new / cc_sfu_free / cc_sfu_prepare_* / cc_sfu_room_open/close /
 *   cc_sfu_get_stats: the control thread.
 * - cc_sfu_app callbacks: the worker thread that owns the rooms.
 * A cc_sfu is the worker's cc_worker_config.app_ud.
 *
 * Life cycle: cc_sfu_new, cc_worker_new(.app_ud = sfu), start; per lesson
 * cc_sfu_room_open, then for each offer cc_sfu_prepare_* + cc_worker_post of
 * the add-peer message; cc_sfu_room_close at the end. Shut down with
 * cc_worker_stop AND cc_worker_free (it closes the remaining peers, whose
 * on_closed still uses the sfu and emits events), then cc_sfu_free. */
#ifndef CLASSCAST_SFU_H
#define CLASSCAST_SFU_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/ice.h"
#include "classcast/sdp.h"
#include "classcast/slot.h" /* cc_slot: camera, screen, mic */
#include "classcast/worker.h"

typedef struct cc_sfu cc_sfu; /* lives on the worker: cc_worker_config.app_ud */

/* NACK cache cap of one worker's SFU, default (serve --nack-cache-mb
 * gives the whole server's, split over its workers). */
#define CC_SFU_DEFAULT_NACK_CACHE_MB 128

typedef struct cc_sfu_config {
    /* Memory for the packets kept to answer subscribers' NACKs (0: the
     * default). The pool grows with the video tracks up to this and gives
     * memory back as they go; at the cap every track keeps an equal share
     * (a log line says so). */
    size_t nack_cache_bytes;
    /* Start a new subscriber on the kept keyframe (docs/ARCHITECTURE.md
     * "Keyframes on join"): CC_SFU_REPLAY_FRESH (0, the default), _ANY
     * or _OFF. */
    int keyframe_replay;
} cc_sfu_config;

/* Which kept keyframes a subscriber that connects is started on:
 * - FRESH: one that came at most CC_SFU_REPLAY_FRESH_US ago, with what
 *   followed it (asked for when the subscriber's answer went out, so it
 *   usually comes while the browser runs ICE and DTLS); older ones are
 *   not replayed, a new keyframe is asked for;
 * - ANY: any kept chain of at most 256 packets (a still screen's keyframe
 *   of a minute ago and the few pictures after it);
 * - OFF: none; the subscriber waits for the keyframe asked for when it
 *   connects. */
enum { CC_SFU_REPLAY_FRESH = 0, CC_SFU_REPLAY_ANY = 1, CC_SFU_REPLAY_OFF = 2 };
#define CC_SFU_REPLAY_FRESH_US (600 * CC_USEC_PER_MSEC)

int cc_sfu_new(cc_sfu **out);
int cc_sfu_new_config(cc_sfu **out, const cc_sfu_config *cfg); /* cfg NULL: defaults */
void cc_sfu_free(cc_sfu *s); /* after cc_worker_free */
/* Which kept keyframes a subscriber that connects starts on
 * (CC_SFU_REPLAY_FRESH, _ANY, _OFF; cc_sfu_config.keyframe_replay). Any
 * thread. */
void cc_sfu_set_keyframe_replay(cc_sfu *s, int mode);

/* The worker app of every room peer (set in the add-peer message by the
 * prepare functions; exposed for tests). */
extern const cc_worker_app cc_sfu_app;

typedef struct cc_sfu_params {
    const char *fingerprint;                   /* our DTLS sha-256 */
    cc_addr candidates[CC_SDP_MAX_CANDIDATES];
    int n_candidates;
    /* `serve --no-simulcast`: publishers' offers are answered without
     * a=simulcast (RFC 8853 section 5.3: they send one stream). */
    int no_simulcast;
} cc_sfu_params;

/* A sender's track in a room is a "feed": (owner, kind). Owner 0 is the
 * teacher (whichever of its tabs, WHIP session or the local capture sends
 * it: the newest source wins); any other owner is a member id (a school,
 * or a student with the floor), which has a camera and a mic. */
typedef struct cc_sfu_track_map {
    char mid[64];
    int slot;       /* cc_slot, or -1 to reject that m-line */
    uint32_t owner; /* subscribe: whose track (0: the teacher's) */
} cc_sfu_track_map;

/* At most this many feeds per room: the teacher's 3 and 2 per guest. */
#define CC_SFU_MAX_FEEDS 32
/* Guest cameras (owner != 0) among the N most recent speakers flow to
 * non-teacher subscribers; teachers get every camera. */
#define CC_SFU_MAX_LAST_N 8

/* Control thread: parse the offer, choose codecs, write the answer (*answer
 * malloc'd) and build the add-peer message (msg->app = cc_sfu_app,
 * msg->app_state = the peer's state). map may be NULL / n_map 0: default
 * mapping by m-line order (first video camera, second video screen, first
 * audio mic); with a map, m-lines whose mid it does not name are rejected.
 * An m-line whose kind does not fit its slot, a slot used twice, or a
 * direction that cannot carry media the right way is rejected (port 0).
 * On error: negative code + English reason in err. */
int cc_sfu_prepare_publisher(const char *offer, size_t len,
                             const cc_sfu_params *p, uint32_t room_id,
                             uint32_t member_id, const cc_sfu_track_map *map,
                             int n_map, char **answer, cc_worker_msg_add **msg,
                             char *err, size_t errcap);
/* Renegotiation on the same transport (a browser that added or removed a
 * track on its RTCPeerConnection keeps its ICE and DTLS session): answers
 * with the transport's existing credentials, and *msg carries the new
 * publisher state for cc_sfu_update_publisher. RFC 8829 section 5.3.2:
 * the ICE credentials stay unless the offer restarts ICE. */
int cc_sfu_prepare_publisher_update(const char *offer, size_t len,
                                    const cc_sfu_params *p, uint32_t room_id,
                                    uint32_t member_id,
                                    const cc_sfu_track_map *map, int n_map,
                                    const char *local_ufrag,
                                    const char *local_pwd, char **answer,
                                    cc_worker_msg_add **msg, char *err,
                                    size_t errcap);
/* Control thread -> worker: apply an update built above to the live
 * publisher peer msg->local_ufrag (slots kept by mid keep their state; new
 * ones start; removed ones fall back or go quiet). Takes ownership of msg. */
int cc_sfu_update_publisher(cc_worker *w, cc_worker_msg_add *msg);
/* A publisher inside this process (the media core: `serve --source`):
 * plaintext RTP as cc_pkt (pkt->flags = the cc_slot) pushed by one media
 * thread into `ring`, which writes `efd` (an eventfd) after pushing. No
 * SRTP, no ICE. Keyframe requests for it call keyframe(ud, slot) on the
 * worker thread (keep it to setting a flag). */
typedef struct cc_sfu_local_config {
    uint32_t room_id;
    struct {
        int active;
        uint32_t ssrc;
        int pt;
        int clock_rate;
        /* Simulcast (the camera as 2 or 3 encodings): every encoding's
         * SSRC, smallest first; ssrc is then the largest's. 0: one. */
        int n_sim;
        uint32_t sim_ssrc[3];
    } slots[CC_SLOT_COUNT];
    struct cc_ring *ring;
    int efd;
    void (*keyframe)(void *ud, int slot);
    void *ud;
} cc_sfu_local_config;
/* Control thread -> worker. attach: the ring starts feeding the room.
 * detach: blocks until the worker stopped reading the ring and released
 * what was left in it; the caller may then free the ring. */
int cc_sfu_local_attach(cc_worker *w, const cc_sfu_local_config *cfg);
int cc_sfu_local_detach(cc_worker *w, struct cc_ring *ring);
/* A lesson recording (include/classcast/recorder.h) of the room's teacher
 * feeds: camera, screen and mic packets as received go into the tap.
 * Control thread -> worker. attach: from the worker's next turn (a room
 * that is not open is logged and ignored). detach: returns once the worker
 * no longer touches the tap (also if the worker has stopped); the caller
 * may then finish and free the recorder. A closed room drops its tap. */
struct cc_rec_tap;
int cc_sfu_record_attach(cc_worker *w, uint32_t room_id, struct cc_rec_tap *tap);
int cc_sfu_record_detach(cc_worker *w, uint32_t room_id, struct cc_rec_tap *tap);
/* Who a prepared peer is (call before posting msg; default: owner 0, not
 * a teacher). Publisher: its tracks are the feeds (owner, kind).
 * Subscriber: a teacher receives every guest camera; owner lets the SFU
 * leave out a member's own feeds. */
void cc_sfu_msg_set_member(cc_worker_msg_add *msg, uint32_t owner, int is_teacher);
/* A subscriber's outgoing streams as prepared (for a later in-place
 * update): one entry per m-line that carries a track. */
typedef struct cc_sfu_out_info {
    char mid[64];
    int slot;
    uint32_t owner;
    uint32_t ssrc;
    uint32_t rtx_ssrc;   /* 0: no RTX */
} cc_sfu_out_info;
int cc_sfu_msg_outs(const cc_worker_msg_add *msg, cc_sfu_out_info *out, int max);
/* Renegotiation of a subscriber on the same transport: like
 * cc_sfu_prepare_subscriber, but answers with the transport's credentials,
 * and an m-line whose mid keeps the same (owner, kind) as in `prev` keeps
 * its SSRC (the worker keeps its rewrite state: the browser sees no change
 * on it). Apply with cc_sfu_update_subscriber. */
int cc_sfu_prepare_subscriber_update(const char *offer, size_t len,
                                     const cc_sfu_params *p, uint32_t room_id,
                                     uint32_t member_id, const cc_sfu_track_map *map,
                                     int n_map, const char *local_ufrag,
                                     const char *local_pwd, const cc_sfu_out_info *prev,
                                     int n_prev, char **answer, cc_worker_msg_add **msg,
                                     char *err, size_t errcap);
int cc_sfu_update_subscriber(cc_worker *w, cc_worker_msg_add *msg);
/* Control thread -> worker: per-sender policy of a room, kept also for
 * feeds that appear later. muted: its mic is not forwarded;
 * teacher_only: its camera goes to teacher subscribers only. */
int cc_sfu_set_sender(cc_worker *w, uint32_t room_id, uint32_t owner, int muted,
                      int teacher_only);
/* How many guest cameras (0..CC_SFU_MAX_LAST_N) non-teachers receive. */
int cc_sfu_set_last_n(cc_worker *w, uint32_t room_id, int n);
/* A member joined the room's lesson and will subscribe in a moment: with
 * CC_SFU_REPLAY_FRESH, the teacher's video streams get a keyframe request
 * now if their last keyframe would be too old to start it on by the time
 * it connects (docs/ARCHITECTURE.md "Keyframes on join"). */
int cc_sfu_expect_viewer(cc_worker *w, uint32_t room_id);
int cc_sfu_prepare_subscriber(const char *offer, size_t len,
                              const cc_sfu_params *p, uint32_t room_id,
                              uint32_t member_id, const cc_sfu_track_map *map,
                              int n_map, char **answer,
                              cc_worker_msg_add **msg, char *err,
                              size_t errcap);

/* Control thread -> worker (cc_worker_call). Open a room before posting its
 * peers (the mailbox keeps order); a peer whose room does not exist when it
 * connects is closed and counted (drop_no_room). */
int cc_sfu_room_open(cc_worker *w, uint32_t room_id);
/* Closes every connected peer of the room and forgets the room (owner or
 * mirror). */
int cc_sfu_room_close(cc_worker *w, uint32_t room_id);

/* Rooms over several workers (docs/ARCHITECTURE.md, "Threads"): a room's
 * publishers and feeds live on its owner worker; subscribers may live on
 * other workers, in a mirror room there. The owner hands each publisher
 * packet (a cc_pkt reference: one decrypted copy) to every mirror through
 * a lock-free SPSC ring; each worker protects and sends for its own
 * subscribers, and keyframe requests travel back the same way. Feed state
 * (source, mute, last-N, SR) follows the packets on the same ring.
 * cc_sfu_set_links: control thread, before the workers start: worker
 * `self` of n, rings[i][j] carries i -> j, efds[i] wakes worker i. */
#define CC_SFU_MAX_WORKERS 64
int cc_sfu_set_links(cc_sfu *s, int self, int n, struct cc_ring *const *to,
                     struct cc_ring *const *from, const int *efds);
/* Worker thread: start reading the rings (cc_worker_call it before the
 * worker starts; dataplane.c does). */
void cc_sfu_links_attach(cc_worker *w, void *arg, cc_time_us now);
/* After every worker stopped, before any cc_sfu_free: let go of the
 * references to other workers' packets (mirrors, rings). */
void cc_sfu_release_shared(cc_sfu *s);
/* Control thread -> owner worker: copy the room's packets to worker
 * `mirror` from now on (and its feeds at once). */
int cc_sfu_room_link(cc_worker *owner, uint32_t room_id, int mirror);
/* Control thread -> worker: open a mirror of the room owned by worker
 * `owner_index` (post it before the subscribers placed there). */
int cc_sfu_room_open_mirror(cc_worker *w, uint32_t room_id, int owner_index);

/* Events to the control thread (cc_worker_emit into config.events). */
enum { CC_SFU_EVENT = 100 };
enum {
    CC_SFU_EV_CONNECTED = 1, /* ICE + DTLS done: media flows */
    CC_SFU_EV_CLOSED,        /* the peer is gone (any reason) */
    CC_SFU_EV_MEDIA,         /* the room's set of live slots changed */
    CC_SFU_EV_LINK,          /* a subscriber's link became weak (its camera
                              * thinned to fewer temporal layers) or good
                              * again: `weak` */
    CC_SFU_EV_SPEAKERS,      /* the guests whose cameras non-teachers get
                              * changed: speakers[0..n_speakers), the
                              * n_recent most recent speakers first (newest
                              * first), then guests that have not spoken */
};

typedef struct cc_sfu_event {
    cc_msg hdr;
    int kind;                   /* CC_SFU_EV_* */
    uint32_t room_id, member_id;
    int publisher;
    char ufrag[CC_ICE_MAX_CRED]; /* the peer's local ufrag (msg->local_ufrag) */
    /* MEDIA: bitmask (1 << cc_slot) of slots with a live source; member_id /
     * ufrag are the publisher whose change caused it. */
    unsigned active_slots;
    int weak;                   /* LINK: 1 weak, 0 good again */
    uint32_t speakers[CC_SFU_MAX_LAST_N];
    int n_speakers, n_recent;
} cc_sfu_event;

/* Worker-side counters, readable from any thread (relaxed atomics). */
#define CC_SFU_COUNTERS(X)                                                     \
    X(rooms) X(publishers) X(subscribers) X(rtp_in) X(rtp_out)                 \
    X(nack_received) X(rtx_sent) X(nack_cache_miss) X(nack_sent) X(pli_sent)   \
    X(keyframe_waits) X(drop_from_subscriber) X(drop_no_room)                  \
    X(drop_unknown_ssrc) X(drop_superseded) X(drop_malformed)                  \
    X(cache_alloc_fail) X(source_switches) X(sr_sent) X(rr_sent)               \
    X(remb_sent) X(pli_received) X(layer_down) X(layer_up) X(rtp_in_layered)   \
    X(drop_muted) X(drop_no_feed) X(held_last_n) X(speaker_changes)           \
    X(pli_coalesced) X(first_pictures) X(first_picture_wait_us)                \
    X(first_picture_wait_max_us) X(nack_cache_pkts) X(nack_cache_bytes)        \
    X(nack_cache_cap_bytes) X(nack_cache_tracks) X(nack_cache_quota)         \
    X(xfer_out) X(xfer_in) X(xfer_drop) X(mirror_rooms)                     \
    X(rec_pkts) X(rec_drop) X(recordings)                                      \
    X(twcc_publishers) X(twcc_feedback_sent) X(twcc_subscribers)            \
    X(twcc_feedback_received) X(twcc_feedback_bad) X(remb_received)            \
    X(probe_packets) X(probe_clusters) X(rtx_wrapped) X(alloc_down)             \
    X(alloc_up) X(alloc_paused) X(sim_switches) X(replays) X(replay_packets)    \
    X(sim_bound) X(upstream_loss_discounted) X(nack_upstream)                  \
    X(nack_miss_unmapped) X(nack_miss_evicted) X(nack_repeated)               \
    X(nack_within_rtt)                                                         \
    X(early_keyframe_requests)                                                 \
    X(paced_subscribers) X(pace_queued) X(pace_drop) X(pace_delay_max_us)        \
    X(pace_flushes) X(sim_stopped) X(remb_uplink)    \
    X(fills) X(fill_packets) X(fills_lifted) X(kf_floors) X(cut_holds)

typedef struct cc_sfu_stats {
#define CC_X(name) uint64_t name;
    CC_SFU_COUNTERS(CC_X)
#undef CC_X
} cc_sfu_stats;

void cc_sfu_get_stats(const cc_sfu *s, cc_sfu_stats *out);

#endif
