/* classcast-loadgen: driving Janus 1.1.2 VideoRoom over its HTTP API for the
 * side-by-side fan-out benchmark (docs/bench-janus.md). Split from
 * loadgen.c: the WHIP/WHEP load generator does not need any of it. */
#include "loadgen_int.h"

/* ---- Janus VideoRoom signalling (docs/bench-janus.md) ----
 * Blocking libcurl calls on the setup threads: one Janus session per
 * endpoint (as a browser has), long-polled only while waiting for the
 * reply event of a request; a keepalive thread keeps every session alive
 * (60 s session_timeout). */

#define JANUS_BODY_MAX (1024 * 1024)
#define JANUS_EVENT_WAIT_US (20 * CC_USEC_PER_SEC)
#define JANUS_KEEPALIVE_US (25 * CC_USEC_PER_SEC)

typedef struct jbuf {
    char *p;
    size_t n;
} jbuf;

static size_t jbuf_write(char *data, size_t size, size_t n, void *ud)
{
    jbuf *b = ud;
    size_t add = size * n;
    if (b->n + add > JANUS_BODY_MAX)
        return 0;
    char *nb = realloc(b->p, b->n + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + b->n, data, add);
    b->n += add;
    nb[b->n] = 0;
    b->p = nb;
    return add;
}

/* POST `body` (or GET when NULL) to url; the parsed JSON reply or NULL
 * with err set. */
static json_t *janus_http(const char *url, json_t *body, long timeout_ms,
                          char *err, size_t errcap)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errcap, "curl_easy_init failed");
        return NULL;
    }
    jbuf b = {0};
    char *txt = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, jbuf_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (txt) {
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, txt);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(txt));
    }
    CURLcode cr = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    json_t *reply = NULL;
    if (cr != CURLE_OK) {
        snprintf(err, errcap, "%s %s: %s", txt ? "POST" : "GET", url, curl_easy_strerror(cr));
    } else if (status != 200 || !b.p) {
        snprintf(err, errcap, "%s %s: HTTP %ld", txt ? "POST" : "GET", url, status);
    } else {
        json_error_t je;
        reply = json_loadb(b.p, b.n, 0, &je);
        if (!reply)
            snprintf(err, errcap, "bad JSON from %s: %s", url, je.text);
    }
    free(b.p);
    free(txt);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return reply;
}

static void janus_tx(ep *e, char *out, size_t cap)
{
    snprintf(out, cap, "lg%d-%u", e->is_pub ? -1 : e->idx, ++e->jtx);
}

/* One request; the reply must be `want` ("success" or "ack"). Steals req. */
static json_t *janus_req(const char *url, json_t *req, const char *want,
                         char *err, size_t errcap)
{
    json_t *r = janus_http(url, req, 10000, err, errcap);
    json_decref(req);
    if (!r)
        return NULL;
    const char *j = json_string_value(json_object_get(r, "janus"));
    if (!j || strcmp(j, want) != 0) {
        const char *reason = json_string_value(json_object_get(json_object_get(r, "error"), "reason"));
        snprintf(err, errcap, "Janus replied %s%s%s", j ? j : "?", reason ? ": " : "",
                 reason ? reason : "");
        json_decref(r);
        return NULL;
    }
    return r;
}

/* Long-poll the session until the event of `tx` arrives (or the deadline).
 * Other events are dropped (one session per endpoint: nothing else
 * waits for them). Returns the event (a new reference) or NULL. */
static json_t *janus_wait(const char *base, long long session, const char *tx,
                          cc_time_us deadline, char *err, size_t errcap)
{
    char url[CC_WHIPC_URL_MAX + 64];
    for (int polls = 0; polls < 64; polls++) {
        cc_time_us now = cc_clock_mono_us();
        if (now >= deadline)
            break;
        long left_ms = (long)((deadline - now) / 1000) + 1000;
        snprintf(url, sizeof url, "%s/%lld?maxev=10&rid=%lld", base, session, (long long)now);
        json_t *r = janus_http(url, NULL, left_ms < 40000 ? left_ms : 40000, err, errcap);
        if (!r)
            return NULL;
        json_t *arr = json_is_array(r) ? r : NULL;
        size_t n = arr ? json_array_size(arr) : 1;
        for (size_t i = 0; i < n; i++) {
            json_t *ev = arr ? json_array_get(arr, i) : r;
            const char *t = json_string_value(json_object_get(ev, "transaction"));
            if (t && strcmp(t, tx) == 0) {
                json_incref(ev);
                json_decref(r);
                return ev;
            }
        }
        json_decref(r);
    }
    snprintf(err, errcap, "no Janus event for transaction %s in time", tx);
    return NULL;
}

/* plugindata.data of an event, and its error (if any) in err. */
static json_t *janus_data(json_t *ev, char *err, size_t errcap)
{
    json_t *d = json_object_get(json_object_get(ev, "plugindata"), "data");
    if (!d) {
        snprintf(err, errcap, "Janus event without plugindata");
        return NULL;
    }
    if (json_object_get(d, "error_code")) {
        snprintf(err, errcap, "VideoRoom error %lld: %s",
                 (long long)json_integer_value(json_object_get(d, "error_code")),
                 json_string_value(json_object_get(d, "error")) ? json_string_value(json_object_get(d, "error")) : "?");
        return NULL;
    }
    return d;
}

/* create + attach janus.plugin.videoroom. */
static int janus_open(const char *base, ep *e, char *err, size_t errcap)
{
    char tx[32], url[CC_WHIPC_URL_MAX + 64];
    janus_tx(e, tx, sizeof tx);
    json_t *r = janus_req(base, json_pack("{s:s,s:s}", "janus", "create", "transaction", tx),
                         "success", err, errcap);
    if (!r)
        return CC_EPROTO;
    e->jsession = json_integer_value(json_object_get(json_object_get(r, "data"), "id"));
    json_decref(r);
    janus_tx(e, tx, sizeof tx);
    snprintf(url, sizeof url, "%s/%lld", base, e->jsession);
    r = janus_req(url, json_pack("{s:s,s:s,s:s}", "janus", "attach", "plugin",
                                 "janus.plugin.videoroom", "transaction", tx),
                  "success", err, errcap);
    if (!r)
        return CC_EPROTO;
    e->jhandle = json_integer_value(json_object_get(json_object_get(r, "data"), "id"));
    json_decref(r);
    return e->jsession && e->jhandle ? 0 : CC_EPROTO;
}

/* A plugin message (body, optional jsep: both stolen); waits for its event. */
static json_t *janus_message(const char *base, ep *e, json_t *body, json_t *jsep,
                             char *err, size_t errcap)
{
    char tx[32], url[CC_WHIPC_URL_MAX + 64];
    janus_tx(e, tx, sizeof tx);
    snprintf(url, sizeof url, "%s/%lld/%lld", base, e->jsession, e->jhandle);
    json_t *req = json_pack("{s:s,s:s,s:o}", "janus", "message", "transaction", tx, "body", body);
    if (req && jsep)
        json_object_set_new(req, "jsep", jsep);
    else
        json_decref(jsep);
    json_t *r = janus_req(url, req, "ack", err, errcap);
    if (!r)
        return NULL;
    json_decref(r);
    return janus_wait(base, e->jsession, tx, cc_clock_mono_us() + JANUS_EVENT_WAIT_US, err, errcap);
}

static int set_sdp_result(ep *e, json_t *ev, const char *type)
{
    json_t *jsep = json_object_get(ev, "jsep");
    const char *t = json_string_value(json_object_get(jsep, "type"));
    const char *sdp = json_string_value(json_object_get(jsep, "sdp"));
    if (!t || !sdp || strcmp(t, type) != 0) {
        snprintf(e->res.error, sizeof e->res.error, "Janus event without a jsep %s", type);
        return CC_EPROTO;
    }
    e->res.body = strdup(sdp);
    e->res.body_len = e->res.body ? strlen(sdp) : 0;
    e->res.status = 200;
    return e->res.body ? 0 : CC_ENOMEM;
}

/* Publisher: join, publish our offer, Janus's answer -> e->res.body. */
int janus_pub_post(lg *g, ep *e)
{
    const char *base = g->cfg->janus_url;
    char *err = e->res.error;
    size_t ec = sizeof e->res.error;
    int rc = janus_open(base, e, err, ec);
    if (rc != 0)
        return rc;
    json_t *ev = janus_message(base, e,
                               json_pack("{s:s,s:s,s:I,s:s}", "request", "join", "ptype", "publisher",
                                         "room", (json_int_t)g->cfg->janus_room, "display", "loadgen-pub"),
                               NULL, err, ec);
    json_t *d = ev ? janus_data(ev, err, ec) : NULL;
    if (!d) {
        json_decref(ev);
        return CC_EPROTO;
    }
    g->janus_feed = json_integer_value(json_object_get(d, "id"));
    json_decref(ev);
    ev = janus_message(base, e,
                       json_pack("{s:s,s:b,s:b,s:i}", "request", "publish", "audio", g->afile != NULL,
                                 "video", g->vfile != NULL, "bitrate", 2500000),
                       json_pack("{s:s,s:s}", "type", "offer", "sdp", e->offer), err, ec);
    d = ev ? janus_data(ev, err, ec) : NULL;
    rc = d ? set_sdp_result(e, ev, "answer") : CC_EPROTO;
    json_decref(ev);
    return rc;
}

/* Subscriber: join the feed (retrying while Janus says 428 "No such
 * feed": the publisher's PeerConnection may not be up on Janus's side
 * yet), answer Janus's offer (recvonly, a=setup:active) with "start".
 * Janus's OFFER -> e->res.body. */
int janus_sub_post(lg *g, ep *e)
{
    const char *base = g->cfg->janus_url;
    char *err = e->res.error;
    size_t ec = sizeof e->res.error;
    int rc = janus_open(base, e, err, ec);
    if (rc != 0)
        return rc;
    json_t *ev = NULL;
    for (int attempt = 0; attempt < 40; attempt++) {
        ev = janus_message(base, e,
                           json_pack("{s:s,s:s,s:I,s:[{s:I}]}", "request", "join", "ptype", "subscriber",
                                     "room", (json_int_t)g->cfg->janus_room, "streams",
                                     "feed", (json_int_t)g->janus_feed),
                           NULL, err, ec);
        json_t *d = json_object_get(json_object_get(ev, "plugindata"), "data");
        if (!ev || json_integer_value(json_object_get(d, "error_code")) != 428)
            break;
        json_decref(ev);
        ev = NULL;
        usleep(250000);
    }
    if (!ev || !janus_data(ev, err, ec) || set_sdp_result(e, ev, "offer") != 0) {
        json_decref(ev);
        return CC_EPROTO;
    }
    json_decref(ev);
    cc_sdp_client_answer_params ap = {
        .ice_ufrag = e->ufrag, .ice_pwd = e->pwd,
        .fingerprint = cc_dtls_ctx_fingerprint(g->dtls), .setup = "active",
        .candidate = &e->local,
    };
    char *answer = NULL;
    if (cc_sdp_client_answer_write(e->res.body, e->res.body_len, &ap, &answer) != 0) {
        snprintf(err, ec, "could not answer Janus's offer");
        return CC_EPROTO;
    }
    ev = janus_message(base, e, json_pack("{s:s}", "request", "start"),
                       json_pack("{s:s,s:s}", "type", "answer", "sdp", answer), err, ec);
    free(answer);
    json_t *d = ev ? janus_data(ev, err, ec) : NULL;
    json_decref(ev);
    return d ? 0 : CC_EPROTO;
}

void janus_destroy(const char *base, ep *e)
{
    if (!e->jsession)
        return;
    char tx[32], url[CC_WHIPC_URL_MAX + 64], err[200];
    janus_tx(e, tx, sizeof tx);
    snprintf(url, sizeof url, "%s/%lld", base, e->jsession);
    json_decref(janus_http(url, json_pack("{s:s,s:s}", "janus", "destroy", "transaction", tx),
                           2000, err, sizeof err));
    e->jsession = 0;
}

static void janus_keepalive(const char *base, ep *e)
{
    char tx[32], url[CC_WHIPC_URL_MAX + 64], err[200];
    snprintf(tx, sizeof tx, "ka%d", e->idx);
    snprintf(url, sizeof url, "%s/%lld", base, e->jsession);
    json_decref(janus_http(url, json_pack("{s:s,s:s}", "janus", "keepalive", "transaction", tx),
                           5000, err, sizeof err));
}

/* Every 25 s a keepalive for each session; bounded by ka_stop and by the
 * run's longest possible length. */
void *janus_ka_thread(void *ud)
{
    lg *g = ud;
    const cc_loadgen_config *cfg = g->cfg;
    double max_s = (cfg->setup_timeout_s > 0 ? cfg->setup_timeout_s : 15) + cfg->duration_s + 600;
    cc_time_us start = cc_clock_mono_us(), next = start + JANUS_KEEPALIVE_US;
    for (long i = 0; i < (long)(max_s * 5) && !atomic_load(&g->ka_stop); i++) {
        usleep(200000);
        cc_time_us now = cc_clock_mono_us();
        if (now < next)
            continue;
        next = now + JANUS_KEEPALIVE_US;
        if (g->pub && g->pub->jsession)
            janus_keepalive(cfg->janus_url, g->pub);
        for (int k = 0; k < g->n_subs && !atomic_load(&g->ka_stop); k++) {
            ep *e = &g->subs[k];
            if (atomic_load_explicit(&e->post_done, memory_order_acquire) && e->jsession)
                janus_keepalive(cfg->janus_url, e);
        }
    }
    return NULL;
}

/* The blocking HTTP round trip: safe on any thread (touches only e). */
