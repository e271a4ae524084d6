/* The control plane's application logic (see control.h). */
#include "classcast/control.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/clock.h"
#include "classcast/err.h"
#include "classcast/log.h"

struct cc_control {
    cc_control_config cfg;
    cc_http *http;
    cc_echo_params echo;
};

static void set_text(cc_http_response *r, int status, const char *msg)
{
    r->status = status;
    snprintf(r->content_type, sizeof r->content_type, "text/plain; charset=utf-8");
    free(r->body);
    r->body = strdup(msg);
    r->body_len = r->body ? strlen(r->body) : 0;
}

static void set_body(cc_http_response *r, int status, const char *ctype, char *body)
{
    r->status = status;
    snprintf(r->content_type, sizeof r->content_type, "%s", ctype);
    free(r->body);
    r->body = body;
    r->body_len = body ? strlen(body) : 0;
}

static void api_stats(cc_control *c, cc_http_response *r)
{
    cc_worker_counters wc;
    cc_worker_get_counters(c->cfg.worker, &wc);
    json_t *counters = json_object();
#define CC_X(name) json_object_set_new(counters, #name, json_integer((json_int_t)wc.name));
    CC_WORKER_COUNTERS(CC_X)
#undef CC_X
    json_t *root = json_pack("{s:i, s:o}", "peers",
                             (json_int_t)cc_worker_peer_count(c->cfg.worker),
                             "counters", counters);
    set_body(r, 200, "application/json", json_dumps(root, JSON_COMPACT));
    json_decref(root);
    if (!r->body)
        set_text(r, 500, "could not encode statistics");
}

static void api_echo(cc_control *c, const cc_http_request *rq, cc_http_response *r)
{
    if (strcmp(rq->method, "POST") != 0) {
        set_text(r, 405, "use POST with an SDP offer");
        return;
    }
    if (rq->body_too_big) {
        set_text(r, 413, "SDP offer too large");
        return;
    }
    if (rq->body_len == 0) {
        set_text(r, 400, "empty body: POST an SDP offer");
        return;
    }
    char *answer = NULL;
    cc_worker_msg_add *msg = NULL;
    char err[256] = "";
    if (cc_echo_prepare(rq->body, rq->body_len, &c->echo, &answer, &msg, err, sizeof err) != 0) {
        CC_INFO("control", "POST /echo refused: %s", err);
        set_text(r, 400, err);
        return;
    }
    snprintf(r->location, sizeof r->location, "/echo/%.64s", msg->local_ufrag);
    if (cc_worker_post(c->cfg.worker, &msg->hdr) != 0) {
        cc_msg_free(&msg->hdr);
        free(answer);
        set_text(r, 503, "server is shutting down");
        return;
    }
    set_body(r, 201, "application/sdp", answer);
}

static int hook_is_api(void *ud, const char *method, const char *path)
{
    (void)ud;
    (void)method;
    return strcmp(path, "/echo") == 0 || strcmp(path, "/stats") == 0 ||
           strcmp(path, "/healthz") == 0 || strncmp(path, "/whip/", 6) == 0 ||
           strncmp(path, "/whep/", 6) == 0;
}

static void hook_api(void *ud, const cc_http_request *rq, cc_http_response *r)
{
    cc_control *c = ud;
    if (strcmp(rq->path, "/echo") == 0)
        api_echo(c, rq, r);
    else if (strcmp(rq->path, "/stats") == 0 && strcmp(rq->method, "GET") == 0)
        api_stats(c, r);
    else if (strcmp(rq->path, "/healthz") == 0 && strcmp(rq->method, "GET") == 0)
        set_text(r, 200, "ok\n");
    else
        set_text(r, 404, "not found");
}

static void hook_ws_open(void *ud, uint64_t sid, int from_loopback)
{
    (void)ud;
    (void)sid;
    (void)from_loopback;
}

static int hook_ws_message(void *ud, uint64_t sid, const char *text, size_t len, int too_big)
{
    cc_control *c = ud;
    (void)text;
    (void)len;
    (void)too_big;
    cc_http_ws_send(c->http, sid, strdup("{\"type\":\"error\",\"code\":\"server_error\",\"message\":\"lessons are not available yet\",\"ref\":null}"));
    return 1;
}

static void hook_ws_close(void *ud, uint64_t sid)
{
    (void)ud;
    (void)sid;
}

static void hook_wake(void *ud)
{
    cc_control *c = ud;
    if (!c->cfg.events)
        return;
    for (cc_msg *m = cc_mailbox_drain(c->cfg.events); m;) {
        cc_msg *next = m->next;
        cc_msg_free(m);
        m = next;
    }
}

static void hook_tick(void *ud) { (void)ud; }

int cc_control_new(cc_control **out, const cc_control_config *cfg)
{
    *out = NULL;
    cc_control *c = calloc(1, sizeof *c);
    if (!c)
        return CC_ENOMEM;
    c->cfg = *cfg;
    c->echo.fingerprint = cfg->fingerprint;
    c->echo.n_candidates = cfg->n_candidates;
    memcpy(c->echo.candidates, cfg->candidates, sizeof c->echo.candidates);
    *out = c;
    return 0;
}

void cc_control_set_http(cc_control *c, cc_http *h) { c->http = h; }

cc_http_hooks cc_control_http_hooks(cc_control *c)
{
    cc_http_hooks h = {
        .ud = c,
        .is_api = hook_is_api,
        .api = hook_api,
        .ws_open = hook_ws_open,
        .ws_message = hook_ws_message,
        .ws_close = hook_ws_close,
        .wake = hook_wake,
        .tick = hook_tick,
    };
    return h;
}

void cc_control_free(cc_control *c)
{
    free(c);
}
