/* classcast: the control plane's application logic: what HTTP API requests
 * and WebSocket messages mean (lessons, roles, publish/subscribe, WHIP/WHEP,
 * the echo self-test, statistics). It owns the lesson registry and talks to
 * the SFU worker through its mailbox and events. Transport (sockets, framing)
 * is src/signal/http.c.
 * Thread: the control thread only. */
#ifndef CLASSCAST_CONTROL_H
#define CLASSCAST_CONTROL_H

#include "classcast/echo.h"
#include "classcast/http.h"
#include "classcast/mailbox.h"
#include "classcast/store.h"
#include "classcast/worker.h"

typedef struct cc_control cc_control;

typedef struct cc_control_config {
    /* The data plane (dataplane.h): which worker each lesson's room is on.
     * NULL: the one `worker` (and its `sfu`) carries every room. */
    struct cc_dataplane *dp;
    cc_worker *worker;          /* the echo self-test's (with dp: worker 0) */
    void *sfu;                  /* cc_sfu*, the worker's app_ud */
    cc_mailbox *events;         /* worker -> control events */
    const char *fingerprint;    /* DTLS sha-256 for answers */
    cc_addr candidates[CC_SDP_MAX_CANDIDATES];
    int n_candidates;
    int demo_lesson;            /* open a lesson with code "demo" */
    const char *demo_token;     /* NULL, or its teacher + viewer token (tests) */
    /* Local publishing (capture_* requests, serve --source): */
    const char *pipelines_dir;  /* pipelines/<name>.pipe; NULL: "pipelines" */
    const char *display;        /* default X display for screen pipelines */
    int video_width, video_height; /* 0: 1280x720 */
    /* Teacher accounts (docs/accounts.md): only a signed-in teacher
     * creates lessons and captures. store NULL: nobody can sign in. */
    cc_store *store;
    /* `serve --local-teacher`: this computer's own browser (loopback,
     * this server's pages) counts as a signed-in teacher. */
    int local_teacher;
    /* Lesson recordings (recording.h): kept in <state_dir>/recordings
     * (NULL: the default state directory), all of them together at most
     * recording_quota_bytes (0: CC_RECORDINGS_DEFAULT_QUOTA). */
    const char *state_dir;
    uint64_t recording_quota_bytes;
    /* `serve --simulcast`: teacher pages send camera and screen as several
     * encodings (the created / joined reply says so). */
    int simulcast;
} cc_control_config;

int cc_control_new(cc_control **out, const cc_control_config *cfg);
/* The server must exist before messages flow: set it once created. */
void cc_control_set_http(cc_control *c, cc_http *h);
/* Hooks for cc_http_config (ud = the cc_control). */
cc_http_hooks cc_control_http_hooks(cc_control *c);
/* Room id of the demo lesson (0 without one). */
uint32_t cc_control_demo_room(cc_control *c);
/* Local publishing into the lesson with this code (`serve --source` for the
 * demo; the teacher page's capture_start goes the same way): replaces the
 * lesson's running capture. sources: "test-video,test-audio" (NAME:SLOT
 * allowed); display NULL: the configured default. On failure err says why
 * (for a missing device, which devices exist); the previous capture, if any,
 * was restarted as it was. Blocks while the pipelines start. */
int cc_control_capture_start(cc_control *c, const char *code, const char *sources,
                             const char *display, char *err, size_t errcap);
/* Stops every lesson's local publishing. Call while the worker still runs
 * (detaching waits on it), i.e. before cc_worker_stop; afterwards capture
 * requests are refused. cc_control_free calls it too. */
void cc_control_shutdown(cc_control *c);
void cc_control_free(cc_control *c);

#endif
