/* classcast: lesson recordings on the control plane (docs/recording.md):
 * the teacher's record_start / record_stop, the `recording` and
 * `recordings` messages, the rows in the store, the files in
 * <state dir>/recordings/, the quota, and the HTTP API:
 *
 *   GET    /api/recordings             the signed-in teacher's recordings,
 *                                      disk use and quota (JSON)
 *   GET    /api/recordings/{id}.webm   download (only its teacher; one
 *                                      Range, so a player seeks)
 *   DELETE /api/recordings/{id}        delete (only its teacher)
 *   POST   /api/recordings/settings    {"record_default": true|false}:
 *                                      record every lesson from its start
 *
 * A recording belongs to the lesson's owner (cc_lesson.owner: a teacher
 * account, or the local teacher); another teacher's recording answers 404
 * like one that does not exist, and pages of other sites get 403.
 *
 * Each recording is a cc_recorder (its own thread and pipeline) fed by the
 * room's SFU worker through the recorder's tap (cc_sfu_record_attach). A
 * stop detaches the tap at once (the worker stops copying) and lets the
 * recorder finish the file on its thread; it reports back through the
 * control mailbox (CC_RECORDING_EVENT), and only then is the row marked
 * done and the recorder freed, so the control thread never waits for a
 * file to be written. At start, rows a crash left 'recording' are marked
 * done with the file's size, and their files are repaired (a duration and
 * cues written) on a thread of their own.
 * Thread: the control thread, except where said. */
#ifndef CLASSCAST_RECORDING_H
#define CLASSCAST_RECORDING_H

#include <stdint.h>

#include "classcast/accounts.h"
#include "classcast/http.h"
#include "classcast/lesson.h"
#include "classcast/mailbox.h"
#include "classcast/proto.h"
#include "classcast/store.h"
#include "classcast/worker.h"

/* Mailbox message type of the recorders' reports (CC_SFU_EVENT is 100). */
enum { CC_RECORDING_EVENT = 101 };

/* Bytes all recordings may take together, unless configured (serve
 * --recording-quota-gb): 20 GB, about 18 hours of a 2.5 Mbit/s lesson. */
#define CC_RECORDINGS_DEFAULT_QUOTA ((uint64_t)20000000000)
/* Recordings running at once on one server (each is a thread, a pipeline
 * and about 3 MB of packet slots). */
#define CC_RECORDINGS_MAX_ACTIVE 8
/* The subdirectory of the state directory. */
#define CC_RECORDINGS_DIR "recordings"

typedef struct cc_recordings cc_recordings;

typedef struct cc_recordings_config {
    cc_store *store;          /* NULL: recording is unavailable */
    const char *state_dir;    /* NULL: the default (paths.h) */
    uint64_t quota_bytes;     /* 0: CC_RECORDINGS_DEFAULT_QUOTA */
    int max_active;           /* 0: CC_RECORDINGS_MAX_ACTIVE */
    cc_lessons *lessons;      /* to tell a lesson's pages */
    cc_mailbox *events;       /* the control thread's mailbox */
} cc_recordings_config;

/* Makes the directory, settles what a crash left behind. NULL when out of
 * memory (a store or directory problem only disables recording, logged). */
cc_recordings *cc_recordings_new(const cc_recordings_config *cfg);
/* Where messages go (and what wakes the control thread). */
void cc_recordings_set_http(cc_recordings *rs, cc_http *http);
/* Finish every running recording and wait for the files (the server is
 * stopping): call while the SFU workers still run. Later starts are
 * refused. */
void cc_recordings_shutdown(cc_recordings *rs);
void cc_recordings_free(cc_recordings *rs);

/* record_start / record_stop from teacher m of lesson l (the socket sid);
 * w: the worker that owns the lesson's room. Answers ok or an error
 * (recording_quota, server_busy, recording_unavailable ...). */
void cc_recordings_request(cc_recordings *rs, cc_worker *w, uint64_t sid, cc_lesson *l,
                           cc_member *m, const cc_proto_req *rq);
/* The lesson went live: its teacher may want every lesson recorded. */
void cc_recordings_lesson_started(cc_recordings *rs, cc_worker *w, cc_lesson *l);
/* The lesson ended (or is forgotten): its recording stops. */
void cc_recordings_lesson_ended(cc_recordings *rs, cc_lesson *l);
/* m joined l: it learns whether the lesson records (and a teacher gets
 * its recordings). */
void cc_recordings_joined(cc_recordings *rs, cc_lesson *l, cc_member *m);
/* A CC_RECORDING_EVENT drained from the mailbox (not freed here). */
void cc_recordings_on_event(cc_recordings *rs, const cc_msg *m);
/* About once a second: the quota, failed recorders. */
void cc_recordings_tick(cc_recordings *rs);

/* The HTTP API above. now: Unix seconds (sessions). */
int cc_recordings_is_api(const char *path);
void cc_recordings_api(cc_recordings *rs, cc_accounts *accounts, const cc_http_request *rq,
                       cc_http_response *r, int64_t now);

/* Which endpoint a path is (pure, fuzzed): CC_RECROUTE_LIST
 * "/api/recordings", _SETTINGS "/api/recordings/settings", _FILE
 * "/api/recordings/{id}.webm", _ITEM "/api/recordings/{id}", with *id
 * 1..2^53; -1 for anything else. */
enum { CC_RECROUTE_LIST = 0, CC_RECROUTE_SETTINGS, CC_RECROUTE_FILE, CC_RECROUTE_ITEM };
int cc_recordings_route(const char *path, int64_t *id);
/* The Range header of a download (pure, fuzzed; RFC 9110 section 14.1.2):
 * 1 with the part *off, *len of a file of `size` bytes; 0: the whole file
 * (no header, or one this server ignores: several ranges, bad syntax);
 * -1: nothing of the file is in the range (416). */
int cc_recordings_range(const char *hdr, uint64_t size, uint64_t *off, uint64_t *len);

/* Counters for GET /stats ("recordings"). */
#define CC_RECORDINGS_COUNTERS(X)                                              \
    X(started) X(finished) X(failed) X(refused_quota) X(refused_busy)          \
    X(stopped_quota) X(repaired) X(downloads) X(deleted) X(active)

typedef struct cc_recordings_counters {
#define CC_X(name) uint64_t name;
    CC_RECORDINGS_COUNTERS(CC_X)
#undef CC_X
} cc_recordings_counters;

void cc_recordings_get_counters(const cc_recordings *rs, cc_recordings_counters *out);

#endif
