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
#include "classcast/worker.h"

typedef struct cc_control cc_control;

typedef struct cc_control_config {
    cc_worker *worker;
    void *sfu;                  /* cc_sfu*, the worker's app_ud */
    cc_mailbox *events;         /* worker -> control events */
    const char *fingerprint;    /* DTLS sha-256 for answers */
    cc_addr candidates[CC_SDP_MAX_CANDIDATES];
    int n_candidates;
    int demo_lesson;            /* open a lesson with code "demo" */
    const char *demo_token;     /* NULL, or its teacher + viewer token (tests) */
} cc_control_config;

int cc_control_new(cc_control **out, const cc_control_config *cfg);
/* The server must exist before messages flow: set it once created. */
void cc_control_set_http(cc_control *c, cc_http *h);
/* Hooks for cc_http_config (ud = the cc_control). */
cc_http_hooks cc_control_http_hooks(cc_control *c);
/* Room id of the demo lesson (0 without one). */
uint32_t cc_control_demo_room(cc_control *c);
void cc_control_free(cc_control *c);

#endif
