/* The data plane: workers, their SFUs, the handshake thread, and which
 * worker owns which room (see include/classcast/dataplane.h). */
#include "classcast/dataplane.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/ring.h"

#define DP_ROOM_BUCKETS 256
#define DP_PEER_BUCKETS 4096
/* Messages each way between two workers (one ring per ordered pair): a
 * room's packets, once per mirror, and feed state. */
#define DP_XFER_RING 4096
/* Handshake messages each way per worker: a ClientHello and a client's
 * second flight (2-3 datagrams) for each of the worker's
 * CC_WORKER_DEFAULT_MAX_HANDSHAKES_HS handshakes. */
#define DP_HS_RING 4096

typedef struct dp_room {
    uint32_t id;
    int worker;
    uint64_t mirrors;       /* workers with a mirror of it */
    int subs;               /* subscribers placed, on any worker */
    struct dp_room *next;
} dp_room;

/* A subscriber transport and the worker it was placed on. */
typedef struct dp_peer {
    char ufrag[CC_ICE_MAX_CRED];
    uint32_t room_id;
    int worker;
    struct dp_peer *next;
} dp_peer;

struct cc_dataplane {
    int n;
    int split_at;
    cc_worker *w[CC_DATAPLANE_MAX_WORKERS];
    cc_sfu *sfu[CC_DATAPLANE_MAX_WORKERS];
    int rooms[CC_DATAPLANE_MAX_WORKERS]; /* rooms assigned to each */
    int placed[CC_DATAPLANE_MAX_WORKERS]; /* subscribers placed on each */
    cc_ring **xring;        /* n x n: [i * n + j] carries i -> j */
    int xefd[CC_DATAPLANE_MAX_WORKERS];
    cc_hs *hs;
    int started;
    dp_room *room[DP_ROOM_BUCKETS];
    dp_peer *peer[DP_PEER_BUCKETS];
};

static uint32_t str_hash(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

static dp_room *room_get(cc_dataplane *dp, uint32_t room_id)
{
    for (dp_room *r = dp->room[room_id % DP_ROOM_BUCKETS]; r; r = r->next)
        if (r->id == room_id)
            return r;
    return NULL;
}

/* The workers' rings to and from each other, and the eventfds that wake
 * them (sfu.h, cc_sfu_set_links). */
static int links_new(cc_dataplane *dp)
{
    int n = dp->n;
    for (int i = 0; i < CC_DATAPLANE_MAX_WORKERS; i++)
        dp->xefd[i] = -1;
    if (n < 2)
        return 0;
    dp->xring = calloc((size_t)n * (size_t)n, sizeof *dp->xring);
    if (!dp->xring)
        return CC_ENOMEM;
    for (int i = 0; i < n; i++) {
        dp->xefd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (dp->xefd[i] < 0)
            return CC_EIO;
        for (int j = 0; j < n; j++)
            if (i != j && cc_ring_new(&dp->xring[i * n + j], DP_XFER_RING) != 0)
                return CC_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        cc_ring *to[CC_DATAPLANE_MAX_WORKERS], *from[CC_DATAPLANE_MAX_WORKERS];
        for (int j = 0; j < n; j++) {
            to[j] = dp->xring[i * n + j];
            from[j] = dp->xring[j * n + i];
        }
        int rc = cc_sfu_set_links(dp->sfu[i], i, n, to, from, dp->xefd);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int cc_dataplane_new(cc_dataplane **out, const cc_dataplane_config *cfg, cc_dtls_ctx *dtls,
                     char *err, size_t errcap)
{
    *out = NULL;
    int n = cfg->workers;
    if (n <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 0 ? (int)cpus : 1;
    }
    if (n > CC_DATAPLANE_MAX_WORKERS)
        n = CC_DATAPLANE_MAX_WORKERS;
    cc_dataplane *dp = calloc(1, sizeof *dp);
    if (!dp)
        return CC_ENOMEM;
    for (int i = 0; i < CC_DATAPLANE_MAX_WORKERS; i++)
        dp->xefd[i] = -1;
    int rc = 0;
    if (!cfg->inline_dtls)
        rc = cc_hs_new(&dp->hs, dtls, n, DP_HS_RING);
    size_t cache = cfg->nack_cache_bytes ? cfg->nack_cache_bytes / (size_t)n : 0;
    CC_INFO("dataplane", "%d media workers; a joining subscriber %s", n,
            cfg->keyframe_replay == CC_SFU_REPLAY_ANY
                ? "starts on the kept keyframe, however old"
            : cfg->keyframe_replay == CC_SFU_REPLAY_OFF
                ? "waits for a new keyframe (no keyframe replay)"
                : "starts on a keyframe kept in the last 600 ms, asked for as it joins");
    uint16_t port0 = cc_addr_port(&cfg->bind);
    for (int i = 0; i < n && rc == 0; i++) {
        cc_sfu_config sc = {.nack_cache_bytes = cache, .keyframe_replay = cfg->keyframe_replay};
        rc = cc_sfu_new_config(&dp->sfu[i], &sc);
        if (rc != 0)
            break;
        cc_worker_config wc = {.bind = cfg->bind, .app_ud = dp->sfu[i],
                               .max_handshakes = cfg->max_handshakes,
                               .events = cfg->events, .wake = cfg->wake,
                               .wake_ud = cfg->wake_ud, .hs = dp->hs, .hs_lane = i};
        if (port0 != 0) {
            if ((int)port0 + i > 65535) {
                rc = CC_EINVAL;
                snprintf(err, errcap, "UDP port %d + %d workers is past 65535", port0, n);
                break;
            }
            cc_addr_set_port(&wc.bind, (uint16_t)(port0 + i));
        }
        rc = cc_worker_new(&dp->w[i], &wc, dtls);
        if (rc != 0) {
            snprintf(err, errcap, "cannot open UDP port %d for worker %d: %s",
                     port0 ? port0 + i : 0, i, cc_strerror(rc));
            break;
        }
        dp->n = i + 1;
    }
    dp->split_at = cfg->split_at > 0 ? cfg->split_at : CC_DATAPLANE_SPLIT_AT;
    if (rc == 0)
        rc = links_new(dp);
    if (rc != 0) {
        if (!err[0])
            snprintf(err, errcap, "%s", cc_strerror(rc));
        cc_dataplane_free(dp);
        return rc;
    }
    *out = dp;
    return 0;
}

int cc_dataplane_start(cc_dataplane *dp)
{
    if (dp->hs && cc_hs_start(dp->hs) != 0)
        return CC_EIO;
    for (int i = 0; i < dp->n; i++) {
        /* first in its mailbox: read the other workers' rings */
        if (dp->n > 1 && cc_worker_call(dp->w[i], cc_sfu_links_attach, NULL, NULL) != 0)
            return CC_EIO;
        if (cc_worker_start(dp->w[i]) != 0)
            return CC_EIO;
    }
    dp->started = 1;
    return 0;
}

void cc_dataplane_stop(cc_dataplane *dp)
{
    if (!dp)
        return;
    for (int i = 0; i < dp->n; i++)
        cc_worker_stop(dp->w[i]);
    cc_hs_stop(dp->hs);
}

void cc_dataplane_free(cc_dataplane *dp)
{
    if (!dp)
        return;
    cc_dataplane_stop(dp);
    /* Workers before their SFUs (closing peers uses them) and before the
     * handshake thread's rings (closing peers posts releases there). */
    for (int i = 0; i < CC_DATAPLANE_MAX_WORKERS; i++)
        cc_worker_free(dp->w[i]);
    /* Packets of one worker's pool held by another (mirrors, rings) go
     * back before any pool does. */
    for (int i = 0; i < CC_DATAPLANE_MAX_WORKERS; i++)
        cc_sfu_release_shared(dp->sfu[i]);
    for (int i = 0; i < CC_DATAPLANE_MAX_WORKERS; i++)
        cc_sfu_free(dp->sfu[i]);
    cc_hs_free(dp->hs);
    if (dp->xring) {
        for (int i = 0; i < dp->n * dp->n; i++)
            cc_ring_free(dp->xring[i]);
        free(dp->xring);
    }
    for (int i = 0; i < CC_DATAPLANE_MAX_WORKERS; i++)
        if (dp->xefd[i] >= 0)
            close(dp->xefd[i]);
    for (int b = 0; b < DP_ROOM_BUCKETS; b++)
        while (dp->room[b]) {
            dp_room *r = dp->room[b];
            dp->room[b] = r->next;
            free(r);
        }
    for (int b = 0; b < DP_PEER_BUCKETS; b++)
        while (dp->peer[b]) {
            dp_peer *p = dp->peer[b];
            dp->peer[b] = p->next;
            free(p);
        }
    free(dp);
}

int cc_dataplane_workers(const cc_dataplane *dp) { return dp->n; }
cc_worker *cc_dataplane_worker(cc_dataplane *dp, int i)
{
    return i >= 0 && i < dp->n ? dp->w[i] : NULL;
}
cc_sfu *cc_dataplane_sfu(cc_dataplane *dp, int i)
{
    return i >= 0 && i < dp->n ? dp->sfu[i] : NULL;
}

int cc_dataplane_room_index(cc_dataplane *dp, uint32_t room_id)
{
    dp_room **head = &dp->room[room_id % DP_ROOM_BUCKETS];
    for (dp_room *r = *head; r; r = r->next)
        if (r->id == room_id)
            return r->worker;
    /* The fewest rooms, then the fewest peers: a new lesson goes where
     * there is the least to do. */
    int best = 0;
    for (int i = 1; i < dp->n; i++)
        if (dp->rooms[i] < dp->rooms[best] ||
            (dp->rooms[i] == dp->rooms[best] &&
             cc_worker_peer_count(dp->w[i]) < cc_worker_peer_count(dp->w[best])))
            best = i;
    dp_room *r = calloc(1, sizeof *r);
    if (!r)
        return best; /* not remembered: the next call may choose again */
    r->id = room_id;
    r->worker = best;
    r->next = *head;
    *head = r;
    dp->rooms[best]++;
    if (dp->n > 1)
        CC_INFO("dataplane", "room %u on worker %d (UDP %u)", room_id, best,
                cc_addr_port(cc_worker_local(dp->w[best])));
    return best;
}

cc_worker *cc_dataplane_room_worker(cc_dataplane *dp, uint32_t room_id)
{
    return dp->w[cc_dataplane_room_index(dp, room_id)];
}

void cc_dataplane_room_forget(cc_dataplane *dp, uint32_t room_id)
{
    for (dp_room **pp = &dp->room[room_id % DP_ROOM_BUCKETS]; *pp; pp = &(*pp)->next)
        if ((*pp)->id == room_id) {
            dp_room *r = *pp;
            *pp = r->next;
            dp->rooms[r->worker]--;
            free(r);
            break;
        }
    for (int b = 0; b < DP_PEER_BUCKETS; b++)
        for (dp_peer **pp = &dp->peer[b]; *pp;) {
            if ((*pp)->room_id == room_id) {
                dp_peer *p = *pp;
                *pp = p->next;
                dp->placed[p->worker]--;
                free(p);
            } else {
                pp = &(*pp)->next;
            }
        }
}

int cc_dataplane_room_close(cc_dataplane *dp, uint32_t room_id)
{
    dp_room *r = room_get(dp, room_id);
    int rc = cc_sfu_room_close(cc_dataplane_room_worker(dp, room_id), room_id);
    for (int i = 0; r && i < dp->n; i++)
        if (r->mirrors >> i & 1)
            cc_sfu_room_close(dp->w[i], room_id);
    cc_dataplane_room_forget(dp, room_id);
    return rc;
}

int cc_dataplane_place_subscriber(cc_dataplane *dp, uint32_t room_id)
{
    int owner = cc_dataplane_room_index(dp, room_id);
    dp_room *r = room_get(dp, room_id);
    if (!r || dp->n < 2 || r->subs < dp->split_at)
        return owner;
    /* A big lesson: the worker with the fewest subscribers placed (this
     * side's count: the workers' own counts lag behind a burst of joins). */
    int best = owner;
    for (int i = 0; i < dp->n; i++)
        if (dp->placed[i] < dp->placed[best])
            best = i;
    if (best != owner && !(r->mirrors >> best & 1)) {
        /* The mirror opens before the subscriber's add-peer (one mailbox,
         * in order), and the owner starts copying to it. */
        if (cc_sfu_room_open_mirror(dp->w[best], room_id, owner) != 0 ||
            cc_sfu_room_link(dp->w[owner], room_id, best) != 0)
            return owner;
        r->mirrors |= 1ull << best;
        CC_INFO("dataplane", "room %u (%d subscribers): more on worker %d", room_id, r->subs,
                best);
    }
    return best;
}

void cc_dataplane_peer_placed(cc_dataplane *dp, const char *ufrag, uint32_t room_id, int worker)
{
    dp_peer *p = calloc(1, sizeof *p);
    if (!p)
        return;
    snprintf(p->ufrag, sizeof p->ufrag, "%s", ufrag);
    p->room_id = room_id;
    p->worker = worker;
    uint32_t b = str_hash(ufrag) % DP_PEER_BUCKETS;
    p->next = dp->peer[b];
    dp->peer[b] = p;
    dp->placed[worker]++;
    CC_DEBUG("dataplane", "peer %s of room %u on worker %d", ufrag, room_id, worker);
    dp_room *r = room_get(dp, room_id);
    if (r)
        r->subs++;
}

cc_worker *cc_dataplane_peer_worker(cc_dataplane *dp, uint32_t room_id, const char *ufrag)
{
    for (dp_peer *p = dp->peer[str_hash(ufrag) % DP_PEER_BUCKETS]; p; p = p->next)
        if (strcmp(p->ufrag, ufrag) == 0)
            return dp->w[p->worker];
    return cc_dataplane_room_worker(dp, room_id);
}

void cc_dataplane_peer_gone(cc_dataplane *dp, const char *ufrag)
{
    for (dp_peer **pp = &dp->peer[str_hash(ufrag) % DP_PEER_BUCKETS]; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->ufrag, ufrag) == 0) {
            dp_peer *p = *pp;
            *pp = p->next;
            dp->placed[p->worker]--;
            dp_room *r = room_get(dp, p->room_id);
            if (r)
                r->subs--;
            free(p);
            return;
        }
}

void cc_dataplane_remove_peer(cc_dataplane *dp, const char *local_ufrag)
{
    /* Cheaper than keeping every peer's worker on this side: a remove for
     * a ufrag a worker does not hold is a lookup and nothing. */
    for (int i = 0; i < dp->n; i++)
        cc_worker_remove_peer(dp->w[i], local_ufrag);
    cc_dataplane_peer_gone(dp, local_ufrag);
}

uint32_t cc_dataplane_peer_count(const cc_dataplane *dp)
{
    uint32_t n = 0;
    for (int i = 0; i < dp->n; i++)
        n += cc_worker_peer_count(dp->w[i]);
    return n;
}

void cc_dataplane_get_counters(const cc_dataplane *dp, cc_worker_counters *wc,
                               cc_sfu_stats *ss)
{
    if (wc)
        memset(wc, 0, sizeof *wc);
    if (ss)
        memset(ss, 0, sizeof *ss);
    for (int i = 0; i < dp->n; i++) {
        if (wc) {
            cc_worker_counters c;
            cc_worker_get_counters(dp->w[i], &c);
            uint64_t max_trim = wc->heap_trim_max_us > c.heap_trim_max_us
                                    ? wc->heap_trim_max_us : c.heap_trim_max_us;
#define CC_X(name) wc->name += c.name;
            CC_WORKER_COUNTERS(CC_X)
#undef CC_X
            wc->heap_trim_max_us = max_trim;
        }
        if (ss) {
            cc_sfu_stats c;
            cc_sfu_get_stats(dp->sfu[i], &c);
            uint64_t mw = ss->first_picture_wait_max_us > c.first_picture_wait_max_us
                              ? ss->first_picture_wait_max_us : c.first_picture_wait_max_us;
            uint64_t mq = i == 0 || c.nack_cache_quota < ss->nack_cache_quota
                              ? c.nack_cache_quota : ss->nack_cache_quota;
#define CC_X(name) ss->name += c.name;
            CC_SFU_COUNTERS(CC_X)
#undef CC_X
            ss->first_picture_wait_max_us = mw;
            ss->nack_cache_quota = mq; /* the tightest share */
        }
    }
}

void cc_dataplane_get_hs_stats(const cc_dataplane *dp, cc_hs_stats *out)
{
    if (dp->hs)
        cc_hs_get_stats(dp->hs, out);
    else
        memset(out, 0, sizeof *out);
}

int cc_dataplane_rooms_of(const cc_dataplane *dp, int i)
{
    return i >= 0 && i < dp->n ? dp->rooms[i] : 0;
}
