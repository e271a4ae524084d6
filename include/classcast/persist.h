/* classcast: lessons that outlive a restart (docs/state.md). The control
 * thread's bridge between the lesson registry (lesson.h, pure) and the
 * store (store.h, SQLite):
 *
 * - after anything changed a lesson (a request, an SFU event, a timeout),
 *   cc_persist_sync writes what differs from what the store has, in one
 *   transaction: the lesson's settings and state, its members and their
 *   rejoin secrets (hashes), attendance rows (opened when a member
 *   connects, watching and weak-link stretches, closed when it leaves or
 *   the lesson ends), invites;
 * - every 10 s a heartbeat bounds what a crash can lose;
 * - at start, cc_persist_restore loads the lessons that were waiting or
 *   live, and ended ones still within the ended keep, closes the
 *   attendance rows a crash left open, and ends the lessons whose teacher
 *   was away longer than the rules allow (the time the server was down
 *   counts as absence, but every lesson kept gets at least a minute).
 *
 * Nothing here runs on the SFU worker: the data plane never waits for
 * SQLite. A failed write is counted and logged, never retried in a loop;
 * the lesson goes on in memory.
 * Thread: the control thread only. */
#ifndef CLASSCAST_PERSIST_H
#define CLASSCAST_PERSIST_H

#include <stdint.h>

#include "classcast/clock.h"
#include "classcast/lesson.h"
#include "classcast/store.h"

typedef struct cc_persist cc_persist;

/* How often the heartbeat is written. */
#define CC_PERSIST_HEARTBEAT_MS 10000
/* After a restart, a restored lesson's teacher has at least this long to
 * come back before the absence rules can end it. */
#define CC_PERSIST_RESTART_GRACE_US (60 * CC_USEC_PER_SEC)
/* Rows one lesson may add at most (a page that reconnects in a loop must
 * not fill the disk); past them new members and connections are not
 * recorded (counted in `dropped`). */
#define CC_PERSIST_MAX_MEMBERS 5000
#define CC_PERSIST_MAX_ATTENDANCE 20000

typedef struct cc_persist_counters {
    uint64_t writes;      /* transactions committed */
    uint64_t errors;      /* transactions that failed (rolled back) */
    uint64_t dropped;     /* members or connections past the caps above */
    uint64_t restored;    /* lessons loaded at start */
} cc_persist_counters;

/* store NULL: every call does nothing. The store is put in server mode
 * (cc_store_set_server_mode). 0 or CC_ENOMEM. */
int cc_persist_new(cc_persist **out, cc_store *store);
void cc_persist_free(cc_persist *p);

/* Load into r what the store has (see above); cfg: the registry's rules.
 * now: r's clock; now_ms: the same instant as Unix milliseconds. Returns
 * the number of lessons restored (ended ones included), or a negative
 * CC_E* code when the store could not be read (r is then unchanged or
 * partly filled; the server starts anyway). */
int cc_persist_restore(cc_persist *p, cc_lessons *r, const cc_lessons_config *cfg,
                       cc_time_us now, int64_t now_ms);
/* Write what changed in l since the last call. */
void cc_persist_sync(cc_persist *p, cc_lesson *l, cc_time_us now, int64_t now_ms);
/* The message just added to l's chat. */
void cc_persist_chat(cc_persist *p, cc_lesson *l, const cc_chat_msg *m);
/* l is about to be freed (cc_lessons_tick FORGET). */
void cc_persist_forget(cc_persist *p, cc_lesson *l);
/* From the control thread's 1 s tick: the heartbeat, every
 * CC_PERSIST_HEARTBEAT_MS. */
void cc_persist_tick(cc_persist *p, int64_t now_ms);
/* The server stops: the open attendance rows close at now_ms. */
void cc_persist_shutdown(cc_persist *p, int64_t now_ms);
void cc_persist_get_counters(const cc_persist *p, cc_persist_counters *out);

#endif
