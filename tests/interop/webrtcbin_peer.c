/* webrtcbin_peer: a WHEP viewer or WHIP publisher built on GStreamer's
 * webrtcbin, a WebRTC stack independent of classcast and of Chromium, for
 * interoperability tests (tests/interop/whep_interop.sh,
 * tests/e2e/interop.test.mjs). A test program, not part of the server.
 *
 *   webrtcbin_peer --whep URL [--token T] [--bundle-policy P] [--frames N]
 *                  [--timeout S]
 *     recvonly VP8 video + Opus audio (RFC 9725-style WHEP: POST the offer,
 *     201 + Location + answer, DELETE at the end); decodes both and exits 0
 *     only when >= N video frames and some audio were decoded within S
 *     seconds.
 *   webrtcbin_peer --whip URL --token T [--bundle-policy P] [--duration S]
 *                  [--timeout S]
 *     sends a live moving test picture (VP8) and a test tone (Opus) for S
 *     seconds after the transport is up (or until SIGTERM / SIGINT), then
 *     DELETEs the resource; exits 0 when it connected and sent media.
 *
 * Both print one line of JSON with what they measured. Non-trickle: the
 * offer is POSTed once ICE gathering is complete, with its candidates
 * (RFC 9725 section 4.3.1 allows either).
 *
 * Loopback: libnice gathers no candidate on 127.0.0.1 unless told to, and
 * webrtcbin (GStreamer 1.22) has no property for that, so the NiceAgent
 * behind webrtcbin's ice-agent gets 127.0.0.1 as its only local address
 * before gathering starts. */
#include <curl/curl.h>
#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <nice/agent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PT_VP8 96
#define PT_OPUS 111
#define HTTP_TIMEOUT_S 10L

typedef enum { MODE_NONE, MODE_WHEP, MODE_WHIP } peer_mode;

typedef struct peer {
    peer_mode mode;
    const char *url;
    const char *token;
    const char *bundle_policy;
    int frames_wanted;
    double timeout_s;
    double duration_s;

    GMainLoop *loop;
    GstElement *pipe;
    GstElement *webrtc;
    gint64 t_start;          /* g_get_monotonic_time() at start */
    gint64 t_post;           /* when the offer was POSTed */
    gint64 t_first_frame;
    gint64 t_first_audio;
    int posted;
    int http_status;
    int delete_status;       /* HTTP status of the DELETE, 0 if none */
    char *location;          /* absolute resource URL from Location */
    const char *dump_offer;  /* file to write the offer to, or NULL */
    const char *dump_answer;
    char error[256];
    int done;
    int ok;

    /* webrtcbin's thread writes these, under lock; the main loop reads */
    GMutex lock;
    gint64 t_connected;      /* peer connection state "connected" */
    int failed;              /* peer connection state "failed" */
    char refused[256];       /* set-remote-description's error, or "" */

    /* streaming threads write these */
    gint video_frames;
    gint audio_buffers;
    gint width, height;
    gint rtp_video_out, rtp_audio_out;
} peer;

static gint64 now_us(void)
{
    return g_get_monotonic_time();
}

static double ms_since(gint64 t0, gint64 t)
{
    return t && t0 ? (double)(t - t0) / 1000.0 : -1.0;
}

static void finish(peer *p, int ok, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void finish(peer *p, int ok, const char *fmt, ...)
{
    if (p->done)
        return;
    p->done = 1;
    p->ok = ok;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        g_vsnprintf(p->error, sizeof p->error, fmt, ap);
        va_end(ap);
    }
    g_main_loop_quit(p->loop);
}

/* ---- HTTP (libcurl) ---------------------------------------------------- */

typedef struct http_resp {
    GString *body;
    char *location;
} http_resp;

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    http_resp *r = user;
    if (r->body->len + size * n > 1024 * 1024)
        return 0; /* an answer is a few KB: refuse anything huge */
    g_string_append_len(r->body, data, (gssize)(size * n));
    return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    http_resp *r = user;
    size_t len = size * n;
    if (len > 9 && g_ascii_strncasecmp(data, "location:", 9) == 0) {
        char *v = g_strndup(data + 9, len - 9);
        g_strstrip(v);
        g_free(r->location);
        r->location = v;
    }
    return len;
}

static struct curl_slist *auth_headers(const peer *p, int with_sdp)
{
    struct curl_slist *h = NULL;
    if (with_sdp)
        h = curl_slist_append(h, "Content-Type: application/sdp");
    if (p->token && p->token[0]) {
        char *a = g_strdup_printf("Authorization: Bearer %s", p->token);
        h = curl_slist_append(h, a);
        g_free(a);
    }
    return h;
}

/* Location may be relative (RFC 9110 section 10.2.2): resolve it against
 * the URL the offer went to. */
static char *resolve_location(const char *base, const char *loc)
{
    CURLU *u = curl_url();
    char *out = NULL, *s = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, loc, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) {
        out = g_strdup(s);
        curl_free(s);
    }
    if (u)
        curl_url_cleanup(u);
    return out;
}

/* POST the offer; on 201 returns the answer text (g_free) and sets
 * p->location. */
static char *post_offer(peer *p, const char *sdp)
{
    CURL *c = curl_easy_init();
    http_resp r = {g_string_new(NULL), NULL};
    struct curl_slist *h = auth_headers(p, 1);
    char *answer = NULL;
    long status = 0;
    if (!c) {
        g_snprintf(p->error, sizeof p->error, "curl_easy_init failed");
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, p->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, sdp);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(sdp));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, HTTP_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        g_snprintf(p->error, sizeof p->error, "POST %s: %s", p->url,
                   curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    p->http_status = (int)status;
    if (status != 201) {
        g_snprintf(p->error, sizeof p->error, "POST %s: HTTP %ld: %.150s",
                   p->url, status, r.body->str);
        goto out;
    }
    if (r.location)
        p->location = resolve_location(p->url, r.location);
    answer = g_strdup(r.body->str);
out:
    if (c)
        curl_easy_cleanup(c);
    curl_slist_free_all(h);
    g_string_free(r.body, TRUE);
    g_free(r.location);
    return answer;
}

static void delete_resource(peer *p)
{
    if (!p->location)
        return;
    CURL *c = curl_easy_init();
    if (!c)
        return;
    http_resp r = {g_string_new(NULL), NULL};
    struct curl_slist *h = auth_headers(p, 0);
    curl_easy_setopt(c, CURLOPT_URL, p->location);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    p->delete_status = (int)status;
    g_printerr("webrtcbin_peer: DELETE %s: HTTP %ld\n", p->location, status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    g_string_free(r.body, TRUE);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = path ? fopen(path, "w") : NULL;
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

/* ---- signalling -------------------------------------------------------- */

static void on_answer_set(GstPromise *pr, gpointer user)
{
    peer *p = user;
    const GstStructure *r = gst_promise_get_reply(pr);
    GError *err = NULL;
    if (r && gst_structure_has_field(r, "error"))
        gst_structure_get(r, "error", G_TYPE_ERROR, &err, NULL);
    if (err) {
        g_printerr("webrtcbin_peer: set-remote-description: %s\n", err->message);
        g_mutex_lock(&p->lock);
        g_snprintf(p->refused, sizeof p->refused, "%s", err->message);
        g_mutex_unlock(&p->lock);
        g_error_free(err);
    }
    gst_promise_unref(pr);
}

/* Gathering is complete: POST the offer with its candidates and apply the
 * answer. Runs on the main loop (idle), never on webrtcbin's thread. */
static gboolean send_offer(gpointer user)
{
    peer *p = user;
    GstWebRTCSessionDescription *local = NULL;
    if (p->posted || p->done)
        return G_SOURCE_REMOVE;
    p->posted = 1;
    g_object_get(p->webrtc, "local-description", &local, NULL);
    if (!local) {
        finish(p, 0, "no local description after gathering");
        return G_SOURCE_REMOVE;
    }
    gchar *sdp = gst_sdp_message_as_text(local->sdp);
    gst_webrtc_session_description_free(local);
    write_file(p->dump_offer, sdp);
    p->t_post = now_us();
    char *answer = post_offer(p, sdp);
    g_free(sdp);
    if (!answer) {
        finish(p, 0, NULL);
        return G_SOURCE_REMOVE;
    }
    write_file(p->dump_answer, answer);
    GstSDPMessage *msg = NULL;
    if (gst_sdp_message_new_from_text(answer, &msg) != GST_SDP_OK) {
        g_free(answer);
        finish(p, 0, "the answer is not SDP");
        return G_SOURCE_REMOVE;
    }
    g_free(answer);
    GstWebRTCSessionDescription *desc =
        gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, msg);
    GstPromise *pr = gst_promise_new_with_change_func(on_answer_set, p, NULL);
    g_signal_emit_by_name(p->webrtc, "set-remote-description", desc, pr);
    gst_webrtc_session_description_free(desc);
    return G_SOURCE_REMOVE;
}

static void on_gathering(GstElement *webrtc, GParamSpec *ps, gpointer user)
{
    (void)ps;
    peer *p = user;
    GstWebRTCICEGatheringState st;
    g_object_get(webrtc, "ice-gathering-state", &st, NULL);
    if (st == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
        g_idle_add(send_offer, p);
}

static void on_connection_state(GstElement *webrtc, GParamSpec *ps,
                                gpointer user)
{
    (void)ps;
    peer *p = user;
    GstWebRTCPeerConnectionState st;
    g_object_get(webrtc, "connection-state", &st, NULL);
    g_mutex_lock(&p->lock);
    if (st == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED && !p->t_connected)
        p->t_connected = now_us();
    if (st == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
        p->failed = 1;
    g_mutex_unlock(&p->lock);
}

/* When the peer connection came up (0: not yet). */
static gint64 connected_at(peer *p)
{
    g_mutex_lock(&p->lock);
    gint64 t = p->t_connected;
    g_mutex_unlock(&p->lock);
    return t;
}

static void on_offer_created(GstPromise *pr, gpointer user)
{
    peer *p = user;
    GstWebRTCSessionDescription *offer = NULL;
    const GstStructure *r = gst_promise_get_reply(pr);
    if (r)
        gst_structure_get(r, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                          &offer, NULL);
    gst_promise_unref(pr);
    if (!offer) {
        g_printerr("webrtcbin_peer: create-offer gave no offer\n");
        return;
    }
    g_signal_emit_by_name(p->webrtc, "set-local-description", offer, NULL);
    gst_webrtc_session_description_free(offer);
}

static void on_negotiation_needed(GstElement *webrtc, gpointer user)
{
    peer *p = user;
    static int once;
    if (once++)
        return;
    GstPromise *pr = gst_promise_new_with_change_func(on_offer_created, p, NULL);
    g_signal_emit_by_name(webrtc, "create-offer", NULL, pr);
}

/* ---- receiving (WHEP) --------------------------------------------------- */

static GstPadProbeReturn on_video_frame(GstPad *pad, GstPadProbeInfo *info,
                                        gpointer user)
{
    (void)info;
    peer *p = user;
    if (g_atomic_int_add(&p->video_frames, 1) == 0) {
        GstCaps *caps = gst_pad_get_current_caps(pad);
        if (caps) {
            const GstStructure *s = gst_caps_get_structure(caps, 0);
            gint w = 0, h = 0;
            gst_structure_get_int(s, "width", &w);
            gst_structure_get_int(s, "height", &h);
            g_atomic_int_set(&p->width, w);
            g_atomic_int_set(&p->height, h);
            gst_caps_unref(caps);
        }
    }
    return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn on_audio_buffer(GstPad *pad, GstPadProbeInfo *info,
                                         gpointer user)
{
    (void)pad;
    (void)info;
    peer *p = user;
    g_atomic_int_add(&p->audio_buffers, 1);
    return GST_PAD_PROBE_OK;
}

/* A new stream from webrtcbin: depayload and decode it, count the output. */
static void on_pad_added(GstElement *webrtc, GstPad *pad, gpointer user)
{
    (void)webrtc;
    peer *p = user;
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
        return;
    GstCaps *caps = gst_pad_get_current_caps(pad);
    if (!caps)
        caps = gst_pad_query_caps(pad, NULL);
    const GstStructure *s = gst_caps_get_structure(caps, 0);
    const char *enc = gst_structure_get_string(s, "encoding-name");
    const char *desc = NULL;
    int video = 0;
    if (enc && !g_ascii_strcasecmp(enc, "VP8")) {
        desc = "rtpvp8depay ! vp8dec name=dec ! fakesink sync=false async=false";
        video = 1;
    } else if (enc && !g_ascii_strcasecmp(enc, "OPUS")) {
        desc = "rtpopusdepay ! opusdec name=dec ! fakesink sync=false async=false";
    }
    g_printerr("webrtcbin_peer: incoming stream %s\n", enc ? enc : "?");
    gst_caps_unref(caps);
    if (!desc)
        desc = "fakesink sync=false async=false"; /* drain what we do not use */
    GError *err = NULL;
    GstElement *bin = gst_parse_bin_from_description(desc, TRUE, &err);
    if (!bin) {
        g_printerr("webrtcbin_peer: %s\n", err ? err->message : "parse failed");
        g_clear_error(&err);
        return;
    }
    gst_bin_add(GST_BIN(p->pipe), bin);
    GstElement *dec = gst_bin_get_by_name(GST_BIN(bin), "dec");
    if (dec) {
        GstPad *src = gst_element_get_static_pad(dec, "src");
        gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER,
                          video ? on_video_frame : on_audio_buffer, p, NULL);
        gst_object_unref(src);
        gst_object_unref(dec);
    }
    gst_element_sync_state_with_parent(bin);
    GstPad *sink = gst_element_get_static_pad(bin, "sink");
    if (gst_pad_link(pad, sink) != GST_PAD_LINK_OK)
        g_printerr("webrtcbin_peer: could not link the %s stream\n",
                   video ? "video" : "audio");
    gst_object_unref(sink);
}

/* ---- sending (WHIP) ----------------------------------------------------- */

/* Payloaders push single packets or lists of them (rtpvp8pay: a frame's
 * packets as one list). */
static GstPadProbeReturn on_rtp_out(GstPad *pad, GstPadProbeInfo *info,
                                    gpointer user)
{
    (void)pad;
    gint *n = user;
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
        g_atomic_int_add(n, (gint)gst_buffer_list_length(
                                GST_PAD_PROBE_INFO_BUFFER_LIST(info)));
    else
        g_atomic_int_add(n, 1);
    return GST_PAD_PROBE_OK;
}

static void set_sendonly(GstElement *webrtc)
{
    GArray *tr = NULL;
    g_signal_emit_by_name(webrtc, "get-transceivers", &tr);
    for (guint i = 0; tr && i < tr->len; i++) {
        GstWebRTCRTPTransceiver *t =
            g_array_index(tr, GstWebRTCRTPTransceiver *, i);
        g_object_set(t, "direction",
                     GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, NULL);
    }
    if (tr)
        g_array_unref(tr);
}

/* ---- set-up ------------------------------------------------------------- */

/* Give the NiceAgent behind webrtcbin 127.0.0.1 as its only local address
 * (libnice skips loopback when it picks interfaces itself). */
static int add_loopback(GstElement *webrtc)
{
    GObject *ice = NULL;
    NiceAgent *agent = NULL;
    g_object_get(webrtc, "ice-agent", &ice, NULL);
    if (!ice)
        return -1;
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent"))
        g_object_get(ice, "agent", &agent, NULL);
    g_object_unref(ice);
    if (!agent)
        return -1;
    NiceAddress a;
    nice_address_init(&a);
    int ok = nice_address_set_from_string(&a, "127.0.0.1") &&
             nice_agent_add_local_address(agent, &a);
    g_object_unref(agent);
    return ok ? 0 : -1;
}

static GstElement *build_pipeline(peer *p)
{
    GError *err = NULL;
    char *desc;
    if (p->mode == MODE_WHIP) {
        /* A live, moving picture (the ball) so every frame differs, with a
         * keyframe at least every second for late viewers; a 440 Hz tone. */
        desc = g_strdup_printf(
            "webrtcbin name=webrtc bundle-policy=%s "
            "videotestsrc is-live=true pattern=ball "
            "! video/x-raw,width=640,height=360,framerate=30/1 "
            "! videoconvert ! vp8enc deadline=1 cpu-used=8 "
            "target-bitrate=600000 keyframe-max-dist=30 "
            "! rtpvp8pay name=vpay pt=%d mtu=1200 picture-id-mode=15-bit "
            "! application/x-rtp,media=video,encoding-name=VP8,payload=%d,"
            "clock-rate=90000 ! webrtc. "
            "audiotestsrc is-live=true wave=sine freq=440 "
            "! audioconvert ! audioresample "
            "! audio/x-raw,rate=48000,channels=2 ! opusenc "
            "! rtpopuspay name=apay pt=%d "
            "! application/x-rtp,media=audio,encoding-name=OPUS,payload=%d,"
            "clock-rate=48000 ! webrtc.",
            p->bundle_policy, PT_VP8, PT_VP8, PT_OPUS, PT_OPUS);
    } else {
        /* Two elements at least, or gst_parse_launch returns the bare
         * webrtcbin instead of a pipeline; the fakesink is never linked. */
        desc = g_strdup_printf("webrtcbin name=webrtc bundle-policy=%s "
                               "fakesink name=unused async=false",
                               p->bundle_policy);
    }
    GstElement *pipe = gst_parse_launch(desc, &err);
    g_free(desc);
    if (!pipe) {
        g_printerr("webrtcbin_peer: pipeline: %s\n",
                   err ? err->message : "?");
        g_clear_error(&err);
        return NULL;
    }
    if (err) { /* a recoverable warning */
        g_printerr("webrtcbin_peer: pipeline: %s\n", err->message);
        g_clear_error(&err);
    }
    return pipe;
}

static void add_recv_transceivers(peer *p)
{
    GstWebRTCRTPTransceiver *t = NULL;
    GstCaps *vc = gst_caps_from_string(
        "application/x-rtp,media=video,encoding-name=VP8,payload=96,"
        "clock-rate=90000,rtcp-fb-nack=(boolean)true,"
        "rtcp-fb-nack-pli=(boolean)true,rtcp-fb-ccm-fir=(boolean)true");
    GstCaps *ac = gst_caps_from_string(
        "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,"
        "clock-rate=48000,encoding-params=(string)2");
    g_signal_emit_by_name(p->webrtc, "add-transceiver",
                          GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, vc, &t);
    if (t)
        gst_object_unref(t);
    t = NULL;
    g_signal_emit_by_name(p->webrtc, "add-transceiver",
                          GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, ac, &t);
    if (t)
        gst_object_unref(t);
    gst_caps_unref(vc);
    gst_caps_unref(ac);
}

static gboolean on_bus(GstBus *bus, GstMessage *m, gpointer user)
{
    (void)bus;
    peer *p = user;
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
        GError *err = NULL;
        gchar *dbg = NULL;
        gst_message_parse_error(m, &err, &dbg);
        g_printerr("webrtcbin_peer: error from %s: %s (%s)\n",
                   GST_OBJECT_NAME(m->src), err->message, dbg ? dbg : "");
        finish(p, 0, "pipeline error: %s", err->message);
        g_error_free(err);
        g_free(dbg);
    }
    return TRUE;
}

/* Every 100 ms: success, failure or timeout. */
static gboolean tick(gpointer user)
{
    peer *p = user;
    gint64 t = now_us();
    double el = (double)(t - p->t_start) / 1e6;
    if (p->done)
        return G_SOURCE_REMOVE;
    char refused[sizeof p->refused];
    g_mutex_lock(&p->lock);
    int failed = p->failed;
    gint64 t_connected = p->t_connected;
    memcpy(refused, p->refused, sizeof refused);
    g_mutex_unlock(&p->lock);
    if (refused[0]) {
        finish(p, 0, "webrtcbin refused the answer: %s", refused);
        return G_SOURCE_REMOVE;
    }
    if (failed) {
        finish(p, 0, "the peer connection failed");
        return G_SOURCE_REMOVE;
    }
    if (p->mode == MODE_WHEP) {
        int vf = g_atomic_int_get(&p->video_frames);
        int ab = g_atomic_int_get(&p->audio_buffers);
        if (vf > 0 && !p->t_first_frame)
            p->t_first_frame = t;
        if (ab > 0 && !p->t_first_audio)
            p->t_first_audio = t;
        if (vf >= p->frames_wanted && ab > 0) {
            finish(p, 1, NULL);
            return G_SOURCE_REMOVE;
        }
    } else if (t_connected &&
               (double)(t - t_connected) / 1e6 >= p->duration_s) {
        int ok = g_atomic_int_get(&p->rtp_video_out) > 0 &&
                 g_atomic_int_get(&p->rtp_audio_out) > 0;
        finish(p, ok, ok ? NULL : "no media was sent");
        return G_SOURCE_REMOVE;
    }
    if (el >= p->timeout_s) {
        finish(p, 0, "timeout after %.0f s", p->timeout_s);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* SIGTERM / SIGINT: a publisher that is sending ends as if its duration
 * were over (DELETE included); anything else ends as a failure. */
static gboolean on_signal(gpointer user)
{
    peer *p = user;
    if (p->mode == MODE_WHIP && connected_at(p) &&
        g_atomic_int_get(&p->rtp_video_out) > 0 &&
        g_atomic_int_get(&p->rtp_audio_out) > 0)
        finish(p, 1, NULL);
    else
        finish(p, 0, "stopped by a signal");
    return G_SOURCE_CONTINUE;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: webrtcbin_peer --whep URL [--token T] [--bundle-policy "
            "max-bundle|max-compat|balanced|none]\n"
            "                      [--frames N] [--timeout S] "
            "[--dump-offer FILE] [--dump-answer FILE]\n"
            "       webrtcbin_peer --whip URL --token T [--bundle-policy P] "
            "[--duration S] [--timeout S]\n");
}

static int parse_args(peer *p, int argc, char **argv)
{
    /* Options come in pairs: the name, then its value. */
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return -1;
        if (!v)
            return -1;
        if (!strcmp(a, "--whep")) {
            p->mode = MODE_WHEP;
            p->url = v;
        } else if (!strcmp(a, "--whip")) {
            p->mode = MODE_WHIP;
            p->url = v;
        } else if (!strcmp(a, "--token")) {
            p->token = v;
        } else if (!strcmp(a, "--bundle-policy")) {
            p->bundle_policy = v;
        } else if (!strcmp(a, "--frames")) {
            p->frames_wanted = atoi(v);
        } else if (!strcmp(a, "--timeout")) {
            p->timeout_s = atof(v);
        } else if (!strcmp(a, "--duration")) {
            p->duration_s = atof(v);
        } else if (!strcmp(a, "--dump-offer")) {
            p->dump_offer = v;
        } else if (!strcmp(a, "--dump-answer")) {
            p->dump_answer = v;
        } else {
            return -1;
        }
    }
    if (p->mode == MODE_NONE || p->frames_wanted < 1 || p->timeout_s <= 0 ||
        p->duration_s <= 0)
        return -1;
    if (strcmp(p->bundle_policy, "max-bundle") &&
        strcmp(p->bundle_policy, "max-compat") &&
        strcmp(p->bundle_policy, "balanced") && strcmp(p->bundle_policy, "none"))
        return -1;
    return 0;
}

/* The error text as a JSON string body (it may quote a server's reply). */
static void json_text(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 7 < cap; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)g_snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = 0;
}

static void print_result(peer *p)
{
    gint64 t0 = p->t_post, t_connected = connected_at(p);
    char err[sizeof p->error * 6 + 1];
    json_text(p->error, err, sizeof err);
    if (p->mode == MODE_WHEP) {
        printf("{\"mode\":\"whep\",\"ok\":%s,\"bundle_policy\":\"%s\","
               "\"frames\":%d,\"width\":%d,\"height\":%d,"
               "\"audio_buffers\":%d,\"http_status\":%d,"
               "\"delete_status\":%d,"
               "\"connected_ms\":%.0f,\"first_frame_ms\":%.0f,"
               "\"first_audio_ms\":%.0f,\"error\":\"%s\"}\n",
               p->ok ? "true" : "false", p->bundle_policy,
               g_atomic_int_get(&p->video_frames),
               g_atomic_int_get(&p->width),
               g_atomic_int_get(&p->height),
               g_atomic_int_get(&p->audio_buffers), p->http_status,
               p->delete_status, ms_since(t0, t_connected),
               ms_since(t0, p->t_first_frame), ms_since(t0, p->t_first_audio),
               err);
    } else {
        printf("{\"mode\":\"whip\",\"ok\":%s,\"bundle_policy\":\"%s\","
               "\"http_status\":%d,\"delete_status\":%d,"
               "\"connected_ms\":%.0f,"
               "\"video_rtp_packets\":%d,\"audio_rtp_packets\":%d,"
               "\"error\":\"%s\"}\n",
               p->ok ? "true" : "false", p->bundle_policy, p->http_status,
               p->delete_status, ms_since(t0, t_connected),
               g_atomic_int_get(&p->rtp_video_out),
               g_atomic_int_get(&p->rtp_audio_out), err);
    }
    fflush(stdout);
}

static void count_payloader(peer *p, const char *name, gint *counter)
{
    GstElement *e = gst_bin_get_by_name(GST_BIN(p->pipe), name);
    if (!e)
        return;
    GstPad *src = gst_element_get_static_pad(e, "src");
    gst_pad_add_probe(src,
                      GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                      on_rtp_out, counter, NULL);
    gst_object_unref(src);
    gst_object_unref(e);
}

int main(int argc, char **argv)
{
    peer p;
    memset(&p, 0, sizeof p);
    p.bundle_policy = "max-bundle";
    p.frames_wanted = 60;
    p.timeout_s = 30;
    p.duration_s = 10;
    g_mutex_init(&p.lock);
    gst_init(&argc, &argv);
    if (parse_args(&p, argc, argv) != 0) {
        usage();
        return 2;
    }
    if (p.mode == MODE_WHIP && p.timeout_s < p.duration_s + 10)
        p.timeout_s = p.duration_s + 10;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    p.loop = g_main_loop_new(NULL, FALSE);
    p.t_start = now_us();
    p.pipe = build_pipeline(&p);
    if (!p.pipe)
        return 1;
    p.webrtc = gst_bin_get_by_name(GST_BIN(p.pipe), "webrtc");
    if (add_loopback(p.webrtc) != 0) {
        g_printerr("webrtcbin_peer: no NiceAgent behind webrtcbin's ice-agent\n");
        return 1;
    }
    g_signal_connect(p.webrtc, "on-negotiation-needed",
                     G_CALLBACK(on_negotiation_needed), &p);
    g_signal_connect(p.webrtc, "notify::ice-gathering-state",
                     G_CALLBACK(on_gathering), &p);
    g_signal_connect(p.webrtc, "notify::connection-state",
                     G_CALLBACK(on_connection_state), &p);
    g_signal_connect(p.webrtc, "pad-added", G_CALLBACK(on_pad_added), &p);
    if (p.mode == MODE_WHEP) {
        add_recv_transceivers(&p);
    } else {
        count_payloader(&p, "vpay", &p.rtp_video_out);
        count_payloader(&p, "apay", &p.rtp_audio_out);
    }
    GstBus *bus = gst_element_get_bus(p.pipe);
    gst_bus_add_watch(bus, on_bus, &p);
    gst_object_unref(bus);

    /* Request pads are linked by now (gst_parse_launch): their transceivers
     * exist and only send. */
    if (p.mode == MODE_WHIP)
        set_sendonly(p.webrtc);
    if (gst_element_set_state(p.pipe, GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE) {
        g_printerr("webrtcbin_peer: the pipeline does not start\n");
        return 1;
    }
    g_timeout_add(100, tick, &p);
    g_unix_signal_add(SIGTERM, on_signal, &p);
    g_unix_signal_add(SIGINT, on_signal, &p);
    g_main_loop_run(p.loop);

    if (!p.done)
        finish(&p, 0, "stopped");
    /* WHEP/WHIP: the client ends the session by deleting its resource. */
    delete_resource(&p);
    print_result(&p);
    gst_element_set_state(p.pipe, GST_STATE_NULL);
    gst_object_unref(p.webrtc);
    gst_object_unref(p.pipe);
    g_main_loop_unref(p.loop);
    g_free(p.location);
    g_mutex_clear(&p.lock);
    curl_global_cleanup();
    if (!p.ok)
        g_printerr("webrtcbin_peer: FAILED: %s\n", p.error[0] ? p.error : "?");
    return p.ok ? 0 : 1;
}
