/* HTTP on libwebsockets. Static files are a file mount; the API routes are
 * callback mounts into one protocol handler. Request bodies are bounded
 * (CC_HTTP_MAX_BODY) and every error answers with a status and a plain-text
 * reason. */
#include "classcast/http.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"
#include "classcast/log.h"

struct cc_http {
    cc_http_config cfg;
    char web_root[1024];
    struct lws_context *ctx;
    struct lws_http_mount mounts[4];
    struct lws_protocols protocols[2];
    int port;
};

typedef enum { ROUTE_NONE, ROUTE_ECHO, ROUTE_STATS, ROUTE_HEALTH } route;

/* Per-request state (libwebsockets allocates per_session_data_size). */
typedef struct req {
    route r;
    int method_post;
    char *body;        /* request body, NUL-terminated */
    size_t body_len;
    int too_big;
    /* response */
    unsigned char *resp;   /* LWS_PRE bytes of headroom + body */
    size_t resp_len;
} req;

static cc_http *http_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

static void req_reset(req *q)
{
    free(q->body);
    free(q->resp);
    memset(q, 0, sizeof *q);
}

/* Queue a response: headers now, body when writable. */
static int respond(struct lws *wsi, req *q, unsigned status, const char *ctype,
                   const char *body, size_t len, const char *location)
{
    unsigned char hdr[LWS_PRE + 1024], *start = &hdr[LWS_PRE], *p = start,
                                       *end = &hdr[sizeof hdr - 1];
    free(q->resp);
    q->resp = malloc(LWS_PRE + len + 1);
    if (!q->resp)
        return -1;
    memcpy(q->resp + LWS_PRE, body, len);
    q->resp_len = len;
    if (lws_add_http_common_headers(wsi, status, ctype, (lws_filepos_t)len, &p, end))
        return -1;
    if (location &&
        lws_add_http_header_by_name(wsi, (const unsigned char *)"location:",
                                    (const unsigned char *)location,
                                    (int)strlen(location), &p, end))
        return -1;
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end))
        return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int respond_text(struct lws *wsi, req *q, unsigned status, const char *msg)
{
    return respond(wsi, q, status, "text/plain; charset=utf-8", msg, strlen(msg), NULL);
}

static int do_stats(struct lws *wsi, req *q)
{
    cc_http *h = http_of(wsi);
    cc_worker_counters c;
    cc_worker_get_counters(h->cfg.worker, &c);
    json_t *counters = json_object();
#define CC_X(name) json_object_set_new(counters, #name, json_integer((json_int_t)c.name));
    CC_WORKER_COUNTERS(CC_X)
#undef CC_X
    json_t *root = json_pack("{s:i, s:o}", "peers",
                             (json_int_t)cc_worker_peer_count(h->cfg.worker),
                             "counters", counters);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text)
        return respond_text(wsi, q, 500, "could not encode statistics");
    int rc = respond(wsi, q, 200, "application/json", text, strlen(text), NULL);
    free(text);
    return rc;
}

static int do_echo(struct lws *wsi, req *q)
{
    cc_http *h = http_of(wsi);
    if (q->too_big)
        return respond_text(wsi, q, 413, "SDP offer too large");
    if (!q->body || q->body_len == 0)
        return respond_text(wsi, q, 400, "empty body: POST an SDP offer");
    char *answer = NULL;
    cc_worker_msg_add *msg = NULL;
    char err[256] = "";
    int rc = cc_echo_prepare(q->body, q->body_len, &h->cfg.echo, &answer, &msg,
                             err, sizeof err);
    if (rc != 0) {
        CC_INFO("http", "POST /echo refused: %s", err);
        return respond_text(wsi, q, 400, err);
    }
    char location[300];
    snprintf(location, sizeof location, "/echo/%s", msg->local_ufrag);
    if (cc_worker_post(h->cfg.worker, &msg->hdr) != 0) {
        cc_msg_free(&msg->hdr);
        free(answer);
        return respond_text(wsi, q, 503, "server is shutting down");
    }
    rc = respond(wsi, q, 201, "application/sdp", answer, strlen(answer), location);
    free(answer);
    return rc;
}

static int http_cb(struct lws *wsi, enum lws_callback_reasons reason,
                   void *user, void *in, size_t len)
{
    req *q = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        req_reset(q);
        char uri[256];
        int is_post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
        if (lws_hdr_copy(wsi, uri, sizeof uri, is_post ? WSI_TOKEN_POST_URI
                                                       : WSI_TOKEN_GET_URI) < 0)
            uri[0] = 0;
        q->method_post = is_post;
        if (strcmp(uri, "/echo") == 0)
            q->r = ROUTE_ECHO;
        else if (strcmp(uri, "/stats") == 0)
            q->r = ROUTE_STATS;
        else if (strcmp(uri, "/healthz") == 0)
            q->r = ROUTE_HEALTH;
        if (q->r == ROUTE_ECHO && !is_post)
            return respond_text(wsi, q, 405, "use POST with an SDP offer");
        if (q->r == ROUTE_STATS && !is_post)
            return do_stats(wsi, q);
        if (q->r == ROUTE_HEALTH && !is_post)
            return respond_text(wsi, q, 200, "ok\n");
        if (q->r == ROUTE_NONE)
            return respond_text(wsi, q, 404, "not found");
        if (!is_post)
            return respond_text(wsi, q, 405, "method not allowed");
        if (q->r != ROUTE_ECHO)
            return respond_text(wsi, q, 405, "method not allowed");
        return 0; /* wait for the body */
    }
    case LWS_CALLBACK_HTTP_BODY:
        if (q->too_big || q->body_len + len > CC_HTTP_MAX_BODY) {
            q->too_big = 1;
            return 0;
        } else {
            char *nb = realloc(q->body, q->body_len + len + 1);
            if (!nb)
                return -1;
            q->body = nb;
            memcpy(q->body + q->body_len, in, len);
            q->body_len += len;
            q->body[q->body_len] = 0;
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (q->r == ROUTE_ECHO)
            return do_echo(wsi, q);
        return respond_text(wsi, q, 404, "not found");
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!q->resp)
            break;
        if (lws_write(wsi, q->resp + LWS_PRE, q->resp_len, LWS_WRITE_HTTP_FINAL) !=
            (int)q->resp_len)
            return -1;
        free(q->resp);
        q->resp = NULL;
        if (lws_http_transaction_completed(wsi))
            return -1;
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        req_reset(q);
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static void lws_log_emit(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    CC_LOG(level == LLL_ERR ? CC_LOG_ERROR : CC_LOG_WARN, "lws", "%.*s", (int)n, line);
}

int cc_http_new(cc_http **out, const cc_http_config *cfg)
{
    *out = NULL;
    cc_http *h = calloc(1, sizeof *h);
    if (!h)
        return CC_ENOMEM;
    h->cfg = *cfg;
    snprintf(h->web_root, sizeof h->web_root, "%s", cfg->web_root ? cfg->web_root : "web");
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);

    h->protocols[0] = (struct lws_protocols){
        .name = "http",
        .callback = http_cb,
        .per_session_data_size = sizeof(req),
    };
    /* API routes first (callback mounts), then the static web root. */
    static const char *api[] = {"/echo", "/stats", "/healthz"};
    for (int i = 0; i < 3; i++) {
        h->mounts[i] = (struct lws_http_mount){
            .mountpoint = api[i],
            .mountpoint_len = (unsigned char)strlen(api[i]),
            .origin = "http",
            .origin_protocol = LWSMPRO_CALLBACK,
            .mount_next = &h->mounts[i + 1],
        };
    }
    h->mounts[3] = (struct lws_http_mount){
        .mountpoint = "/",
        .mountpoint_len = 1,
        .origin = h->web_root,
        .def = "index.html",
        .origin_protocol = LWSMPRO_FILE,
    };
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->port;
    info.iface = cfg->bind;
    info.protocols = h->protocols;
    info.mounts = &h->mounts[0];
    info.user = h;
    info.options = LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
    h->ctx = lws_create_context(&info);
    if (!h->ctx) {
        CC_ERROR("http", "could not listen on %s:%d", cfg->bind, cfg->port);
        free(h);
        return CC_EIO;
    }
    struct lws_vhost *vh = lws_get_vhost_by_name(h->ctx, "default");
    h->port = vh ? lws_get_vhost_listen_port(vh) : cfg->port;
    *out = h;
    return 0;
}

int cc_http_port(const cc_http *h) { return h->port; }

int cc_http_run(cc_http *h, volatile int *stop)
{
    while (!*stop)
        if (lws_service(h->ctx, 0) < 0)
            return CC_EIO;
    return 0;
}

void cc_http_wake(cc_http *h) { lws_cancel_service(h->ctx); }

void cc_http_free(cc_http *h)
{
    if (!h)
        return;
    lws_context_destroy(h->ctx);
    free(h);
}
