/* classcast: the HTTP front door on libwebsockets: static files from the
 * web root, POST /echo (SDP offer in, SDP answer out: the transport proof),
 * GET /stats (the worker's counters as JSON), GET /healthz.
 * Thread: the control thread (libwebsockets service loop). */
#ifndef CLASSCAST_HTTP_H
#define CLASSCAST_HTTP_H

#include "classcast/echo.h"
#include "classcast/worker.h"

/* Largest request body accepted (an SDP offer is a few KiB). */
#define CC_HTTP_MAX_BODY (64 * 1024)

typedef struct cc_http cc_http;

typedef struct cc_http_config {
    const char *bind;        /* "127.0.0.1", "0.0.0.0" ... */
    int port;                /* 0: any */
    const char *web_root;    /* directory served at / */
    cc_worker *worker;
    cc_echo_params echo;     /* fingerprint + candidates for answers */
} cc_http_config;

int cc_http_new(cc_http **out, const cc_http_config *cfg);
/* The port actually bound. */
int cc_http_port(const cc_http *h);
/* Serve until *stop becomes non-zero (checked at least every 100 ms). */
int cc_http_run(cc_http *h, volatile int *stop);
/* Wake the service loop (any thread, signal-safe enough for SIGINT). */
void cc_http_wake(cc_http *h);
void cc_http_free(cc_http *h);

#endif
