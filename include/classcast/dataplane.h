/* classcast: the data plane of `classcast serve` (docs/ARCHITECTURE.md,
 * "Threads"): W SFU workers, each a thread with its own UDP socket and its
 * own cc_sfu (rooms, NACK cache), and the DTLS handshake thread they share.
 * A lesson's room lives on one worker, chosen when the room is first used:
 * the one with the fewest rooms, then the fewest peers. Worker i listens on
 * the configured port + i (port 0: each on any free port), and an SDP
 * answer names the port of the worker that owns the room, so a browser's
 * checks reach that worker and ICE-lite finds the peer by ufrag there.
 *
 * Thread: everything here on the control thread (the workers run on
 * their own). Counters may be read from any thread. */
#ifndef CLASSCAST_DATAPLANE_H
#define CLASSCAST_DATAPLANE_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/addr.h"
#include "classcast/dtls.h"
#include "classcast/handshake.h"
#include "classcast/mailbox.h"
#include "classcast/sfu.h"
#include "classcast/worker.h"

#define CC_DATAPLANE_MAX_WORKERS CC_HS_MAX_LANES
/* A class of 40 stays on one worker: copying its packets to another
 * thread would cost more than it saves. */
#define CC_DATAPLANE_SPLIT_AT 100

typedef struct cc_dataplane cc_dataplane;

typedef struct cc_dataplane_config {
    cc_addr bind;              /* address, and the first worker's port */
    int workers;               /* 0: the online CPUs (at most the max) */
    int keyframe_replay;       /* CC_SFU_REPLAY_*: serve --[no-]keyframe-replay
                                * (cc_sfu_config) */
    size_t nack_cache_bytes;   /* for the whole server, split evenly over
                                * the workers (0: CC_SFU_DEFAULT_NACK_CACHE_MB
                                * each) */
    int max_handshakes;        /* per worker (cc_worker_config) */
    /* A lesson's subscribers stay on its room's worker until it has this
     * many (0: CC_DATAPLANE_SPLIT_AT); then each new one goes to the
     * worker with the fewest subscribers, in a mirror of the room. */
    int split_at;
    int inline_dtls;           /* 1: handshakes on the workers (no thread) */
    /* Events to the control thread (cc_worker_config). */
    cc_mailbox *events;
    void (*wake)(void *wake_ud);
    void *wake_ud;
} cc_dataplane_config;

/* Opens every worker's socket (err says which port failed). */
int cc_dataplane_new(cc_dataplane **out, const cc_dataplane_config *cfg, cc_dtls_ctx *dtls,
                     char *err, size_t errcap);
int cc_dataplane_start(cc_dataplane *dp);
/* Stops the threads (workers first, then the handshake thread). */
void cc_dataplane_stop(cc_dataplane *dp);
/* Stops, closes every peer (their events go out), frees workers, SFUs and
 * the handshake thread. */
void cc_dataplane_free(cc_dataplane *dp);

int cc_dataplane_workers(const cc_dataplane *dp);
cc_worker *cc_dataplane_worker(cc_dataplane *dp, int i);
cc_sfu *cc_dataplane_sfu(cc_dataplane *dp, int i);

/* The worker index that owns room_id, chosen at the first call. */
int cc_dataplane_room_index(cc_dataplane *dp, uint32_t room_id);
cc_worker *cc_dataplane_room_worker(cc_dataplane *dp, uint32_t room_id);
/* The room is closed: forget where it was (a later use chooses again). */
void cc_dataplane_room_forget(cc_dataplane *dp, uint32_t room_id);
/* Close the room on its worker and its mirrors, and forget it. */
int cc_dataplane_room_close(cc_dataplane *dp, uint32_t room_id);
/* Where a new subscriber of the room goes (a worker index): the room's
 * worker, or for a big lesson the least loaded one (opening a mirror of
 * the room there first). Then, once its local ufrag is known,
 * cc_dataplane_peer_placed; a renegotiation goes to
 * cc_dataplane_peer_worker; cc_dataplane_peer_gone when it closed. */
int cc_dataplane_place_subscriber(cc_dataplane *dp, uint32_t room_id);
void cc_dataplane_peer_placed(cc_dataplane *dp, const char *ufrag, uint32_t room_id,
                              int worker);
cc_worker *cc_dataplane_peer_worker(cc_dataplane *dp, uint32_t room_id, const char *ufrag);
void cc_dataplane_peer_gone(cc_dataplane *dp, const char *ufrag);
/* Remove the peer with this local ufrag, on whichever worker holds it. */
void cc_dataplane_remove_peer(cc_dataplane *dp, const char *local_ufrag);

/* Live peers of all workers. */
uint32_t cc_dataplane_peer_count(const cc_dataplane *dp);
/* The counters of every worker and SFU added up; gauges that are maxima
 * (heap_trim_max_us, first_picture_wait_max_us, nack_cache_quota) take the
 * largest. Either pointer may be NULL. */
void cc_dataplane_get_counters(const cc_dataplane *dp, cc_worker_counters *wc,
                               cc_sfu_stats *ss);
/* The handshake thread's (zeros with inline_dtls). */
void cc_dataplane_get_hs_stats(const cc_dataplane *dp, cc_hs_stats *out);
/* Rooms assigned to worker i now. */
int cc_dataplane_rooms_of(const cc_dataplane *dp, int i);

#endif
