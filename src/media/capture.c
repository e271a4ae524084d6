#include "classcast/capture.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
/* Only the GstVideoMeta struct layout is used (a stable ABI), no function of
 * libgstvideo, so the library needs no extra link dependency. */
#include <gst/video/gstvideometa.h>

#include "classcast/devices.h"
#include "classcast/err.h"
#include "classcast/log.h"

#define MOD "capture"

#define BACKOFF_MIN_US (500 * CC_USEC_PER_MSEC)
#define BACKOFF_MAX_US (5 * CC_USEC_PER_SEC)
/* Bound on a state change of an X pipeline; past it the change is left to
 * finish (or park) on its helper thread. */
#define STATE_CHANGE_BOUND_US (3 * CC_USEC_PER_SEC)
/* Frames waiting for the encoder: 2, so a frame waits for at most one encode
 * and an encoder that falls behind drops the old ones (a live lesson wants
 * the newest picture, not a backlog; scripts/bench/media measured a 4-frame
 * queue adding ~65 ms median at 1080p when the encoder lagged). */
#define VIDEO_QUEUE_CAP 2
#define AUDIO_QUEUE_CAP 50 /* 10 ms buffers: 0.5 s */

/* ------------------------------------------------------------------------ */
/* Lost X connections.                                                      */

typedef struct _XDisplay Display;
typedef int (*x_io_handler_fn)(Display *);

static GMutex xl_lock;
static struct {
    char name[64];
    uint32_t count;
} xl_tab[16];
static char *(*p_XDisplayString)(Display *);

static void x_norm_name(const char *in, char *out, size_t cap)
{
    /* ":99.0" and ":99" are the same server. */
    snprintf(out, cap, "%s", in ? in : "");
    char *colon = strrchr(out, ':');
    char *dot = colon ? strchr(colon, '.') : NULL;
    if (dot) *dot = 0;
}

static uint32_t x_lost_count(const char *display)
{
    char n[64];
    x_norm_name(display, n, sizeof n);
    uint32_t v = 0;
    g_mutex_lock(&xl_lock);
    for (size_t i = 0; i < G_N_ELEMENTS(xl_tab); i++)
        if (xl_tab[i].name[0] && strcmp(xl_tab[i].name, n) == 0)
            v = xl_tab[i].count;
    g_mutex_unlock(&xl_lock);
    return v;
}

/* Xlib's IO error handler: the connection to an X server broke. Returning
 * (or not having this handler) makes Xlib exit() the whole process, and
 * libX11 has already read the per-display exit handler by the time we run,
 * so this thread must never return: record the loss and park. The
 * supervisor of the capture using that display sees the count change and
 * abandons the pipeline whose thread is parked here. */
static int x_io_error(Display *dpy)
{
    char n[64];
    x_norm_name(p_XDisplayString ? p_XDisplayString(dpy) : "", n, sizeof n);
    g_mutex_lock(&xl_lock);
    size_t slot = G_N_ELEMENTS(xl_tab);
    for (size_t i = 0; i < G_N_ELEMENTS(xl_tab); i++) {
        if (strcmp(xl_tab[i].name, n) == 0) { slot = i; break; }
        if (!xl_tab[i].name[0] && slot == G_N_ELEMENTS(xl_tab)) slot = i;
    }
    if (slot == G_N_ELEMENTS(xl_tab)) slot = 0; /* table full: reuse */
    if (strcmp(xl_tab[slot].name, n) != 0) {
        snprintf(xl_tab[slot].name, sizeof xl_tab[slot].name, "%s", n);
        xl_tab[slot].count = 0;
    }
    xl_tab[slot].count++;
    g_mutex_unlock(&xl_lock);
    CC_ERROR(MOD, "X display %s: connection lost; parking this thread "
             "(Xlib would exit the process)", n);
    for (;;) pause();
    return 0;
}

static void x_install_handler_once(void)
{
    static gsize done;
    if (!g_once_init_enter(&done)) return;
    /* The ximagesrc plugin linked libX11 when it loaded; look it up there
     * rather than linking classcast against X. */
    void *h = dlopen("libX11.so.6", RTLD_NOW | RTLD_NOLOAD);
    if (!h) h = dlopen("libX11.so.6", RTLD_NOW);
    x_io_handler_fn (*set_io)(x_io_handler_fn) = NULL;
    if (h) {
        *(void **)&set_io = dlsym(h, "XSetIOErrorHandler");
        *(void **)&p_XDisplayString = dlsym(h, "XDisplayString");
    }
    if (set_io && p_XDisplayString)
        set_io(x_io_error);
    else
        CC_WARN(MOD, "libX11 not found: losing an X display will end the process");
    g_once_init_leave(&done, 1);
}

static GMutex graveyard_lock;
static GPtrArray *graveyard;

/* Keep a pipeline whose streaming thread is parked: disposing it would free
 * what that thread still points at, and setting it to NULL would wait for
 * the thread forever. */
static void bury(GstElement *p)
{
    g_mutex_lock(&graveyard_lock);
    if (!graveyard) graveyard = g_ptr_array_new();
    g_ptr_array_add(graveyard, p);
    g_mutex_unlock(&graveyard_lock);
}

unsigned cc_capture_parked_pipelines(void)
{
    g_mutex_lock(&graveyard_lock);
    unsigned n = graveyard ? graveyard->len : 0;
    g_mutex_unlock(&graveyard_lock);
    return n;
}

/* ------------------------------------------------------------------------ */
/* Sample queue shared by the appsink callbacks of every pipeline instance  */
/* (refcounted: an abandoned instance may outlive the capture).             */

typedef struct sq_item {
    GstSample *sample;
    GstClockTime base_time;
    uint32_t gen;
} sq_item;

typedef struct sample_queue {
    GMutex lock;
    GCond cond;
    sq_item *items;
    size_t cap, head, len;
    int closed;
    uint32_t last_gen_in; /* generation of the newest buffer received */
    uint64_t buffers_in, dropped, popped;
} sample_queue;

static sample_queue *sq_new(size_t cap)
{
    sample_queue *q = g_atomic_rc_box_new0(sample_queue);
    q->items = g_new0(sq_item, cap);
    q->cap = cap;
    q->closed = 1;
    g_mutex_init(&q->lock);
    g_cond_init(&q->cond);
    return q;
}

static void sq_flush_locked(sample_queue *q)
{
    while (q->len) {
        gst_sample_unref(q->items[q->head].sample);
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
}

static void sq_clear(gpointer p)
{
    sample_queue *q = p;
    sq_flush_locked(q);
    g_free(q->items);
    g_mutex_clear(&q->lock);
    g_cond_clear(&q->cond);
}

static void sq_unref(sample_queue *q) { g_atomic_rc_box_release_full(q, sq_clear); }

typedef struct sink_ctx {
    sample_queue *q;
    uint32_t gen;
} sink_ctx;

static void sink_ctx_free(gpointer p)
{
    sink_ctx *x = p;
    sq_unref(x->q);
    g_free(x);
}

/* Streaming thread: move the sample into our queue at once, so drops are
 * ours to count (the oldest goes when the consumer is behind). */
static GstFlowReturn on_new_sample(GstAppSink *sink, gpointer user)
{
    sink_ctx *x = user;
    GstSample *s = gst_app_sink_pull_sample(sink);
    if (!s) return GST_FLOW_OK;
    GstClockTime base = gst_element_get_base_time(GST_ELEMENT(sink));
    sample_queue *q = x->q;
    g_mutex_lock(&q->lock);
    q->buffers_in++;
    q->last_gen_in = x->gen;
    if (q->closed) {
        q->dropped++;
        g_mutex_unlock(&q->lock);
        gst_sample_unref(s);
        return GST_FLOW_OK;
    }
    if (q->len == q->cap) {
        gst_sample_unref(q->items[q->head].sample);
        q->head = (q->head + 1) % q->cap;
        q->len--;
        q->dropped++;
    }
    sq_item *it = &q->items[(q->head + q->len) % q->cap];
    it->sample = s;
    it->base_time = base;
    it->gen = x->gen;
    q->len++;
    g_cond_signal(&q->cond);
    g_mutex_unlock(&q->lock);
    return GST_FLOW_OK;
}

/* ------------------------------------------------------------------------ */

struct cc_capture {
    char name[64];
    char *desc;           /* expanded gst-launch description */
    int kind;             /* cc_capture_kind, 0 if unknown */
    unsigned device_kind; /* CC_DEVICE_* mask for error listings; 0: none */
    char x_display[64];   /* display of an ximagesrc, "" if none */
    GstClock *clock;      /* private monotonic system clock */
    sample_queue *q;

    GMutex lock; /* guards everything below */
    GCond cond;
    GThread *thread;
    int started, stopping;
    GstElement *pipeline; /* current instance; NULL while waiting to retry */
    GstBus *bus;
    uint32_t x_lost_base; /* x_lost_count(x_display) when it was built */
    uint32_t generation;  /* of the current/last instance */
    cc_capture_state state;
    uint32_t restarts, errors;
    uint64_t seq, bad_format;
    char last_error[512];
};

static void set_err(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t cap, const char *fmt, ...)
{
    if (!err || !cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

const char *cc_capture_state_name(cc_capture_state s)
{
    switch (s) {
    case CC_CAPTURE_STOPPED: return "stopped";
    case CC_CAPTURE_STARTING: return "starting";
    case CC_CAPTURE_RUNNING: return "running";
    case CC_CAPTURE_RESTARTING: return "restarting";
    case CC_CAPTURE_FAILED: return "failed";
    }
    return "?";
}

static int valid_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return 0;
    return 1;
}

/* Characters a caller-given var value may hold: enough for device paths,
 * Pulse/ALSA names, X displays and numbers; never whitespace, '!', quotes
 * or anything else with meaning in gst-launch syntax. */
static int valid_value(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_.:/@+,-", *s)) return 0;
    return 1;
}

static int pipe_path(const char *dir, const char *name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s.pipe", dir, name);
    return n < 0 || (size_t)n >= cap ? CC_EINVAL : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cc_capture_list_pipelines(const char *dir, char *buf, size_t cap)
{
    if (!dir || !buf || !cap) return CC_EINVAL;
    buf[0] = 0;
    DIR *d = opendir(dir);
    if (!d) return CC_EIO;
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n > 5 && strcmp(de->d_name + n - 5, ".pipe") == 0) {
            char *nm = g_strndup(de->d_name, n - 5);
            if (valid_name(nm)) g_ptr_array_add(names, nm);
            else g_free(nm);
        }
    }
    closedir(d);
    qsort(names->pdata, names->len, sizeof(gpointer), cmp_str);
    size_t len = 0;
    for (guint i = 0; i < names->len; i++) {
        int w = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "",
                         (char *)names->pdata[i]);
        if (w < 0 || (size_t)w >= cap - len) break;
        len += (size_t)w;
    }
    int count = (int)names->len;
    g_ptr_array_free(names, TRUE);
    return count;
}

int cc_capture_describe_pipeline(const char *dir, const char *name, char *buf,
                                 size_t cap)
{
    if (!dir || !buf || !cap || !valid_name(name)) return CC_EINVAL;
    buf[0] = 0;
    char path[4096];
    if (pipe_path(dir, name, path, sizeof path)) return CC_EINVAL;
    gchar *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL)) return CC_ENOTFOUND;
    gchar **lines = g_strsplit(text, "\n", -1);
    for (gchar **l = lines; *l; l++) {
        const char *s = *l;
        while (*s == ' ' || *s == '\t') s++;
        if (*s != '#') continue;
        s++;
        while (*s == ' ') s++;
        snprintf(buf, cap, "%s", s);
        break;
    }
    g_strfreev(lines);
    g_free(text);
    return 0;
}

static const char *lookup_var(const cc_capture_config *cfg, const char *name,
                              size_t nlen)
{
    for (int i = 0; i < CC_CAPTURE_MAX_VARS && cfg->vars[i]; i++) {
        const char *v = cfg->vars[i];
        if (strncmp(v, name, nlen) == 0 && v[nlen] == '=') return v + nlen + 1;
    }
    return NULL;
}

/* Strip '#' lines, then replace ${NAME} / ${NAME:-default}. */
static int expand(const char *name, const char *text,
                  const cc_capture_config *cfg, char **out, char *err,
                  size_t errcap)
{
    GString *body = g_string_new(NULL);
    gchar **lines = g_strsplit(text, "\n", -1);
    for (gchar **l = lines; *l; l++) {
        const char *s = *l;
        while (*s == ' ' || *s == '\t' || *s == '\r') s++;
        if (*s == '#' || !*s) continue;
        g_string_append(body, *l);
        g_string_append_c(body, ' ');
    }
    g_strfreev(lines);

    GString *o = g_string_new(NULL);
    const char *p = body->str;
    int rc = 0;
    while (*p) {
        if (p[0] != '$' || p[1] != '{') {
            g_string_append_c(o, *p++);
            continue;
        }
        const char *n = p + 2, *e = n;
        while (isalnum((unsigned char)*e) || *e == '_') e++;
        size_t nlen = (size_t)(e - n);
        const char *def = NULL;
        size_t deflen = 0;
        if (e[0] == ':' && e[1] == '-') {
            def = e + 2;
            const char *c = strchr(def, '}');
            if (!c) { e = def + strlen(def); }
            else { deflen = (size_t)(c - def); e = c; }
        }
        if (nlen == 0 || *e != '}') {
            set_err(err, errcap, "pipeline '%s': malformed variable near \"%.20s\"",
                    name, p);
            rc = CC_EINVAL;
            break;
        }
        const char *v = lookup_var(cfg, n, nlen);
        if (v && *v) {
            if (!valid_value(v)) {
                set_err(err, errcap,
                        "pipeline '%s': value of %.*s has characters other than "
                        "letters, digits and _.:/@+,-", name, (int)nlen, n);
                rc = CC_EINVAL;
                break;
            }
            g_string_append(o, v);
        } else if (def) {
            g_string_append_len(o, def, (gssize)deflen);
        } else {
            set_err(err, errcap, "pipeline '%s' needs %.*s=<value> (not given)",
                    name, (int)nlen, n);
            rc = CC_EINVAL;
            break;
        }
        p = e + 1;
    }
    g_string_free(body, TRUE);
    if (rc) {
        g_string_free(o, TRUE);
        return rc;
    }
    *out = g_string_free(o, FALSE);
    return 0;
}

static const char *debian_package_of(const char *element)
{
    static const struct { const char *el, *pkg; } tab[] = {
        {"ximagesrc", "gstreamer1.0-plugins-good"},
        {"v4l2src", "gstreamer1.0-plugins-good"},
        {"pulsesrc", "gstreamer1.0-plugins-good"},
        {"alsasrc", "gstreamer1.0-alsa"},
        {"pipewiresrc", "gstreamer1.0-pipewire"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(tab); i++)
        if (strcmp(tab[i].el, element) == 0) return tab[i].pkg;
    return "gstreamer1.0-plugins-base or -good";
}

/* Facts about the source element(s) of a parsed pipeline. */
static void inspect_sources(GstElement *pipe, int *kind, unsigned *device_kind,
                            char *x_display, size_t xcap, char *dev_path,
                            size_t dcap)
{
    GstIterator *it = gst_bin_iterate_sources(GST_BIN(pipe));
    GValue v = G_VALUE_INIT;
    while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
        GstElement *e = g_value_get_object(&v);
        GstElementFactory *f = gst_element_get_factory(e);
        const char *fname = f ? GST_OBJECT_NAME(f) : "";
        const char *klass = gst_element_get_metadata(e, GST_ELEMENT_METADATA_KLASS);
        if (klass && strstr(klass, "Video")) *kind = CC_CAPTURE_VIDEO;
        else if (klass && strstr(klass, "Audio")) *kind = CC_CAPTURE_AUDIO;
        if (strcmp(fname, "ximagesrc") == 0) {
            *device_kind |= CC_DEVICE_SCREEN;
            gchar *dn = NULL;
            g_object_get(e, "display-name", &dn, NULL);
            const char *d = dn && *dn ? dn : getenv("DISPLAY");
            x_norm_name(d ? d : "", x_display, xcap);
            g_free(dn);
        } else if (strcmp(fname, "pipewiresrc") == 0) {
            *device_kind |= CC_DEVICE_SCREEN | CC_DEVICE_CAMERA;
        } else if (strcmp(fname, "v4l2src") == 0) {
            *device_kind |= CC_DEVICE_CAMERA;
        } else if (strcmp(fname, "pulsesrc") == 0 || strcmp(fname, "alsasrc") == 0) {
            *device_kind |= CC_DEVICE_MIC;
        }
        GParamSpec *ps = g_object_class_find_property(G_OBJECT_GET_CLASS(e), "device");
        if (ps && ps->value_type == G_TYPE_STRING && dev_path && !dev_path[0]) {
            gchar *dv = NULL;
            g_object_get(e, "device", &dv, NULL);
            if (dv && strncmp(dv, "/dev/", 5) == 0) snprintf(dev_path, dcap, "%s", dv);
            g_free(dv);
        }
        g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);
}

/* Parse one pipeline instance and hook its appsink to the queue. */
static int build(cc_capture *c, uint32_t gen, GstElement **out, char *err,
                 size_t errcap)
{
    GError *ge = NULL;
    GstElement *p = gst_parse_launch(c->desc, &ge);
    if (ge) {
        int rc = CC_EINVAL;
        if (g_error_matches(ge, GST_PARSE_ERROR, GST_PARSE_ERROR_NO_SUCH_ELEMENT)) {
            char el[64] = "";
            const char *q1 = strchr(ge->message, '"');
            const char *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
            if (q2 && (size_t)(q2 - q1 - 1) < sizeof el)
                memcpy(el, q1 + 1, (size_t)(q2 - q1 - 1));
            set_err(err, errcap,
                    "pipeline '%s': GStreamer element '%s' is not installed "
                    "(Debian package %s)", c->name, el[0] ? el : "?",
                    debian_package_of(el));
            rc = CC_EUNSUPPORTED;
        } else {
            set_err(err, errcap, "pipeline '%s': %s", c->name, ge->message);
        }
        g_error_free(ge);
        if (p) gst_object_unref(p);
        return rc;
    }
    if (!p || !GST_IS_PIPELINE(p)) {
        set_err(err, errcap, "pipeline '%s': not a pipeline of several elements",
                c->name);
        if (p) gst_object_unref(p);
        return CC_EINVAL;
    }
    GstElement *s = gst_bin_get_by_name(GST_BIN(p), "sink");
    if (!s || !GST_IS_APP_SINK(s)) {
        set_err(err, errcap, "pipeline '%s' must end in \"appsink name=sink\"",
                c->name);
        if (s) gst_object_unref(s);
        gst_object_unref(p);
        return CC_EINVAL;
    }
    /* sync=false: a live source already stamps capture time; waiting for
     * the clock would only add latency. */
    g_object_set(s, "sync", FALSE, "max-buffers", 2, "drop", TRUE,
                 "emit-signals", FALSE, NULL);
    GstAppSinkCallbacks cbs = {0};
    cbs.new_sample = on_new_sample;
    sink_ctx *x = g_new0(sink_ctx, 1);
    x->q = g_atomic_rc_box_acquire(c->q);
    x->gen = gen;
    gst_app_sink_set_callbacks(GST_APP_SINK(s), &cbs, x, sink_ctx_free);
    gst_object_unref(s);
    gst_pipeline_use_clock(GST_PIPELINE(p), c->clock);
    *out = p;
    return 0;
}

typedef struct sc_job {
    GMutex lock;
    GCond cond;
    GstElement *p;
    GstState target;
    GstStateChangeReturn ret;
    int done;
} sc_job;

static void sc_job_clear(gpointer p)
{
    sc_job *j = p;
    g_mutex_clear(&j->lock);
    g_cond_clear(&j->cond);
}

static gpointer sc_job_run(gpointer p)
{
    sc_job *j = p;
    GstStateChangeReturn r = gst_element_set_state(j->p, j->target);
    gst_object_unref(j->p);
    g_mutex_lock(&j->lock);
    j->ret = r;
    j->done = 1;
    g_cond_signal(&j->cond);
    g_mutex_unlock(&j->lock);
    g_atomic_rc_box_release_full(j, sc_job_clear);
    return NULL;
}

/* A state change of an X pipeline can hit a dead X connection, and then
 * the calling thread parks in x_io_error. Run it on a helper thread and
 * wait a bounded time, so the supervisor and the owner never park: *stuck
 * says the helper still holds it (it keeps its own reference). */
static GstStateChangeReturn set_state(cc_capture *c, GstElement *p,
                                      GstState st, int *stuck)
{
    *stuck = 0;
    if (!c->x_display[0]) return gst_element_set_state(p, st);
    sc_job *j = g_atomic_rc_box_new0(sc_job);
    g_mutex_init(&j->lock);
    g_cond_init(&j->cond);
    j->p = gst_object_ref(p);
    j->target = st;
    g_atomic_rc_box_acquire(j);
    GThread *t = g_thread_try_new("cc-cap-state", sc_job_run, j, NULL);
    if (!t) {
        g_atomic_rc_box_release_full(j, sc_job_clear);
        gst_object_unref(j->p);
        g_atomic_rc_box_release_full(j, sc_job_clear);
        return gst_element_set_state(p, st);
    }
    g_thread_unref(t);
    gint64 deadline = g_get_monotonic_time() + STATE_CHANGE_BOUND_US;
    g_mutex_lock(&j->lock);
    while (!j->done)
        if (!g_cond_wait_until(&j->cond, &j->lock, deadline)) break;
    GstStateChangeReturn r = j->done ? j->ret : GST_STATE_CHANGE_FAILURE;
    if (!j->done) *stuck = 1;
    g_mutex_unlock(&j->lock);
    g_atomic_rc_box_release_full(j, sc_job_clear);
    return r;
}

static void teardown(cc_capture *c, GstElement *p, uint32_t x_lost_base)
{
    if (!p) return;
    if (c->x_display[0] && x_lost_count(c->x_display) != x_lost_base) {
        CC_WARN(MOD, "%s: abandoning the pipeline instance whose thread is "
                "parked on the lost X display %s", c->name, c->x_display);
        bury(p);
        return;
    }
    int stuck;
    set_state(c, p, GST_STATE_NULL, &stuck);
    if (stuck)
        CC_WARN(MOD, "%s: pipeline did not stop within %d s; left to its "
                "helper thread", c->name, (int)(STATE_CHANGE_BOUND_US / CC_USEC_PER_SEC));
    gst_object_unref(p);
}

static int gerror_code(const GError *e)
{
    if (e && e->domain == GST_RESOURCE_ERROR &&
        (e->code == GST_RESOURCE_ERROR_NOT_FOUND ||
         e->code == GST_RESOURCE_ERROR_OPEN_READ ||
         e->code == GST_RESOURCE_ERROR_OPEN_READ_WRITE))
        return CC_ENOTFOUND;
    return CC_EIO;
}

/* "<element>: <message> (<debug>)" of an ERROR/WARNING message. */
static int message_text(GstMessage *m, char *buf, size_t cap)
{
    GError *e = NULL;
    gchar *dbg = NULL;
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR)
        gst_message_parse_error(m, &e, &dbg);
    else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_WARNING)
        gst_message_parse_warning(m, &e, &dbg);
    int rc = gerror_code(e);
    const char *src = GST_MESSAGE_SRC(m) ? GST_OBJECT_NAME(GST_MESSAGE_SRC(m)) : "?";
    /* The debug string is "file(line): func (): /object/path:" and, after a
     * newline, the detail (errno text ...): keep only the detail. */
    const char *d = dbg ? strrchr(dbg, '\n') : NULL;
    if (d && d[1]) {
        set_err(buf, cap, "%s: %s (%.200s)", src, e ? e->message : "error", d + 1);
    } else {
        set_err(buf, cap, "%s: %s", src, e ? e->message : "error");
    }
    if (e) g_error_free(e);
    g_free(dbg);
    return rc;
}

/* Set a new instance playing; on failure err says why (from the bus). */
static int play(cc_capture *c, GstElement *p, char *err, size_t cap)
{
    int stuck;
    GstStateChangeReturn r = set_state(c, p, GST_STATE_PLAYING, &stuck);
    if (r != GST_STATE_CHANGE_FAILURE) return 0;
    if (stuck) {
        set_err(err, cap, "pipeline did not start within %d s",
                (int)(STATE_CHANGE_BOUND_US / CC_USEC_PER_SEC));
        return CC_ETIMEOUT;
    }
    GstBus *bus = gst_element_get_bus(p);
    GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    int rc = CC_EIO;
    if (m) {
        rc = message_text(m, err, cap);
        gst_message_unref(m);
    } else {
        set_err(err, cap, "pipeline failed to start");
    }
    gst_object_unref(bus);
    return rc;
}

static void record_error(cc_capture *c, const char *text)
{
    snprintf(c->last_error, sizeof c->last_error, "%s", text);
}

static gpointer supervise(gpointer arg)
{
    cc_capture *c = arg;
    cc_time_us backoff = BACKOFF_MIN_US, retry_at = 0;
    char text[512];
    g_mutex_lock(&c->lock);
    while (!c->stopping) {
        if (!c->pipeline) {
            cc_time_us now = cc_clock_mono_us();
            if (now < retry_at) {
                g_cond_wait_until(&c->cond, &c->lock,
                                  g_get_monotonic_time() + (retry_at - now));
                continue;
            }
            c->restarts++;
            uint32_t gen = ++c->generation;
            uint32_t restarts = c->restarts;
            g_mutex_unlock(&c->lock);
            GstElement *p = NULL;
            uint32_t base = c->x_display[0] ? x_lost_count(c->x_display) : 0;
            int rc = build(c, gen, &p, text, sizeof text);
            if (!rc) rc = play(c, p, text, sizeof text);
            g_mutex_lock(&c->lock);
            if (rc || c->stopping) {
                if (rc) {
                    c->errors++;
                    record_error(c, text);
                    CC_LOG_RL(CC_LOG_WARN, MOD, "%s: restart %u failed: %s; next "
                              "try in %lld ms", c->name, restarts, text,
                              (long long)(backoff / CC_USEC_PER_MSEC));
                }
                g_mutex_unlock(&c->lock);
                teardown(c, p, base);
                g_mutex_lock(&c->lock);
                retry_at = cc_clock_mono_us() + backoff;
                backoff = MIN(backoff * 2, BACKOFF_MAX_US);
                continue;
            }
            CC_INFO(MOD, "%s: restart %u: pipeline playing again", c->name, restarts);
            c->pipeline = p;
            c->bus = gst_element_get_bus(p);
            c->x_lost_base = base;
            continue;
        }

        GstBus *bus = gst_object_ref(c->bus);
        g_mutex_unlock(&c->lock);
        GstMessage *m = gst_bus_timed_pop_filtered(
            bus, 100 * GST_MSECOND,
            GST_MESSAGE_ERROR | GST_MESSAGE_EOS | GST_MESSAGE_WARNING |
                GST_MESSAGE_APPLICATION);
        gst_object_unref(bus);
        g_mutex_lock(&c->lock);

        g_mutex_lock(&c->q->lock);
        int flowing = c->q->last_gen_in == c->generation && c->q->buffers_in;
        g_mutex_unlock(&c->q->lock);
        if (flowing) {
            if (c->state != CC_CAPTURE_RUNNING)
                c->state = CC_CAPTURE_RUNNING;
            backoff = BACKOFF_MIN_US;
        }

        int failed = 0;
        if (c->x_display[0] && x_lost_count(c->x_display) != c->x_lost_base) {
            snprintf(text, sizeof text, "X display %s: connection lost", c->x_display);
            failed = 1;
        }
        if (m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
            message_text(m, text, sizeof text);
            failed = 1;
        } else if (m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) {
            snprintf(text, sizeof text, "source ended (end of stream)");
            failed = 1;
        } else if (m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_WARNING) {
            char w[512];
            message_text(m, w, sizeof w);
            CC_LOG_RL(CC_LOG_WARN, MOD, "%s: %s", c->name, w);
        }
        if (m) gst_message_unref(m);
        if (!failed || c->stopping) continue;

        c->errors++;
        record_error(c, text);
        CC_ERROR(MOD, "%s: %s; restarting in %lld ms", c->name, text,
                 (long long)(backoff / CC_USEC_PER_MSEC));
        GstElement *p = c->pipeline;
        uint32_t base = c->x_lost_base;
        c->pipeline = NULL;
        gst_object_unref(c->bus);
        c->bus = NULL;
        c->state = CC_CAPTURE_RESTARTING;
        g_mutex_unlock(&c->lock);
        teardown(c, p, base);
        g_mutex_lock(&c->lock);
        retry_at = cc_clock_mono_us() + backoff;
        backoff = MIN(backoff * 2, BACKOFF_MAX_US);
    }
    g_mutex_unlock(&c->lock);
    return NULL;
}

/* For a source that names a device/display which is not there, an error
 * that lists what is there. 0 if nothing is known to be missing. */
static int check_device(cc_capture *c, const char *dev_path, char *err,
                        size_t errcap)
{
    char what[320] = "";
    if (dev_path[0] && access(dev_path, F_OK) != 0)
        snprintf(what, sizeof what, "device %s does not exist", dev_path);
    if (!what[0] && c->x_display[0] == ':') {
        char path[96];
        snprintf(path, sizeof path, "/tmp/.X11-unix/X%s", c->x_display + 1);
        if (access(path, F_OK) != 0)
            snprintf(what, sizeof what, "X display %s is not running", c->x_display);
    }
    if (!what[0]) return 0;
    char devs[1024];
    if (cc_devices_describe(c->device_kind ? c->device_kind : CC_DEVICE_ALL,
                            devs, sizeof devs))
        snprintf(devs, sizeof devs, "(device list unavailable)");
    set_err(err, errcap, "%s: %s; %s", c->name, what, devs);
    return CC_ENOTFOUND;
}

int cc_capture_new(cc_capture **out, const cc_capture_config *cfg, char *err,
                   size_t errcap)
{
    if (err && errcap) err[0] = 0;
    if (!out || !cfg || !cfg->pipelines_dir) {
        set_err(err, errcap, "capture: missing config");
        return CC_EINVAL;
    }
    *out = NULL;
    if (!valid_name(cfg->name)) {
        set_err(err, errcap, "capture: bad pipeline name (letters, digits, - and _)");
        return CC_EINVAL;
    }
    for (int i = 0; i < CC_CAPTURE_MAX_VARS && cfg->vars[i]; i++) {
        const char *eq = strchr(cfg->vars[i], '=');
        if (!eq || eq == cfg->vars[i]) {
            set_err(err, errcap, "capture: var \"%.40s\" is not KEY=value", cfg->vars[i]);
            return CC_EINVAL;
        }
    }
    GError *ge = NULL;
    if (!gst_is_initialized() && !gst_init_check(NULL, NULL, &ge)) {
        set_err(err, errcap, "capture: GStreamer init failed: %s",
                ge ? ge->message : "?");
        if (ge) g_error_free(ge);
        return CC_EUNSUPPORTED;
    }

    char path[4096];
    if (pipe_path(cfg->pipelines_dir, cfg->name, path, sizeof path)) {
        set_err(err, errcap, "capture: pipelines dir path too long");
        return CC_EINVAL;
    }
    gchar *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        char names[512];
        int n = cc_capture_list_pipelines(cfg->pipelines_dir, names, sizeof names);
        if (n > 0)
            set_err(err, errcap, "no capture pipeline '%s'; available: %s",
                    cfg->name, names);
        else
            set_err(err, errcap, "no capture pipeline '%s': no .pipe files in %s",
                    cfg->name, cfg->pipelines_dir);
        return CC_ENOTFOUND;
    }

    cc_capture *c = g_new0(cc_capture, 1);
    snprintf(c->name, sizeof c->name, "%s", cfg->name);
    g_mutex_init(&c->lock);
    g_cond_init(&c->cond);
    int rc = expand(c->name, text, cfg, &c->desc, err, errcap);
    g_free(text);
    if (rc) {
        cc_capture_free(c);
        return rc;
    }
    c->clock = g_object_new(GST_TYPE_SYSTEM_CLOCK, "clock-type",
                            GST_CLOCK_TYPE_MONOTONIC, NULL);
    gst_object_ref_sink(c->clock);

    /* A first parse, kept in NULL state: checks syntax and plugins now and
     * tells what kind of source this is; start() builds a fresh instance. */
    c->q = sq_new(VIDEO_QUEUE_CAP);
    GstElement *p = NULL;
    rc = build(c, 0, &p, err, errcap);
    if (rc) {
        cc_capture_free(c);
        return rc;
    }
    char dev_path[256] = "";
    inspect_sources(p, &c->kind, &c->device_kind, c->x_display,
                    sizeof c->x_display, dev_path, sizeof dev_path);
    gst_object_unref(p);
    if (c->kind == CC_CAPTURE_AUDIO) {
        sq_unref(c->q);
        c->q = sq_new(AUDIO_QUEUE_CAP);
    }
    if (c->x_display[0]) x_install_handler_once();
    rc = check_device(c, dev_path, err, errcap);
    if (rc) {
        cc_capture_free(c);
        return rc;
    }
    CC_DEBUG(MOD, "%s: %s", c->name, c->desc);
    *out = c;
    return 0;
}

int cc_capture_start(cc_capture *c)
{
    if (!c) return CC_EINVAL;
    g_mutex_lock(&c->lock);
    if (c->started) {
        g_mutex_unlock(&c->lock);
        return CC_ESTATE;
    }
    uint32_t gen = ++c->generation;
    g_mutex_unlock(&c->lock);

    g_mutex_lock(&c->q->lock);
    sq_flush_locked(c->q);
    c->q->closed = 0;
    g_mutex_unlock(&c->q->lock);

    char text[512];
    GstElement *p = NULL;
    uint32_t base = c->x_display[0] ? x_lost_count(c->x_display) : 0;
    int rc = build(c, gen, &p, text, sizeof text);
    if (!rc) rc = play(c, p, text, sizeof text);
    if (rc) {
        teardown(c, p, base);
        char devs[1024] = "";
        if (c->device_kind && cc_devices_describe(c->device_kind, devs, sizeof devs))
            devs[0] = 0;
        g_mutex_lock(&c->lock);
        c->errors++;
        set_err(c->last_error, sizeof c->last_error, "%s: cannot start: %s%s%s",
                 c->name, text, devs[0] ? "; " : "", devs);
        c->state = CC_CAPTURE_FAILED;
        CC_ERROR(MOD, "%s", c->last_error);
        g_mutex_unlock(&c->lock);
        g_mutex_lock(&c->q->lock);
        c->q->closed = 1;
        g_mutex_unlock(&c->q->lock);
        return rc;
    }
    g_mutex_lock(&c->lock);
    c->pipeline = p;
    c->bus = gst_element_get_bus(p);
    c->x_lost_base = base;
    c->started = 1;
    c->stopping = 0;
    c->state = CC_CAPTURE_STARTING;
    c->thread = g_thread_new("cc-capture", supervise, c);
    g_mutex_unlock(&c->lock);
    CC_INFO(MOD, "%s: started", c->name);
    return 0;
}

static int fill_sample(cc_capture *c, sq_item *it, cc_capture_sample *out)
{
    GstSample *s = it->sample;
    GstBuffer *buf = gst_sample_get_buffer(s);
    GstCaps *caps = gst_sample_get_caps(s);
    const GstStructure *st = caps && gst_caps_get_size(caps) ? gst_caps_get_structure(caps, 0) : NULL;
    if (!buf || !st) return CC_EPROTO;
    const char *media = gst_structure_get_name(st);
    const char *fmt = gst_structure_get_string(st, "format");
    G_STATIC_ASSERT(sizeof(GstMapInfo) <= sizeof(((cc_capture_sample *)0)->priv_map_));
    GstMapInfo *map = (GstMapInfo *)out->priv_map_;
    if (!gst_buffer_map(buf, map, GST_MAP_READ)) return CC_EPROTO;
    out->priv_mapped_ = 1;
    out->priv_sample_ = s;
    out->priv_buffer_ = buf;

    if (strcmp(media, "video/x-raw") == 0 && fmt && strcmp(fmt, "I420") == 0) {
        int w = 0, h = 0;
        if (!gst_structure_get_int(st, "width", &w) ||
            !gst_structure_get_int(st, "height", &h) || w <= 0 || h <= 0)
            return CC_EPROTO;
        /* The default I420 layout (as GstVideoInfo computes it), unless a
         * GstVideoMeta gives other offsets and strides. */
        size_t off[3];
        int stride[3];
        int cw = GST_ROUND_UP_2(w) / 2, ch = GST_ROUND_UP_2(h) / 2;
        stride[0] = GST_ROUND_UP_4(w);
        stride[1] = stride[2] = GST_ROUND_UP_4(cw);
        off[0] = 0;
        off[1] = (size_t)stride[0] * (size_t)GST_ROUND_UP_2(h);
        off[2] = off[1] + (size_t)stride[1] * (size_t)ch;
        GType api = g_type_from_name("GstVideoMetaAPI");
        GstVideoMeta *vm = api ? (GstVideoMeta *)gst_buffer_get_meta(buf, api) : NULL;
        if (vm && vm->n_planes == 3) {
            for (int i = 0; i < 3; i++) {
                off[i] = vm->offset[i];
                stride[i] = vm->stride[i];
            }
        }
        size_t need[3] = {off[0] + (size_t)stride[0] * (size_t)(h - 1) + (size_t)w,
                          off[1] + (size_t)stride[1] * (size_t)(ch - 1) + (size_t)cw,
                          off[2] + (size_t)stride[2] * (size_t)(ch - 1) + (size_t)cw};
        for (int i = 0; i < 3; i++)
            if (stride[i] <= 0 || need[i] > map->size) return CC_EPROTO;
        out->kind = CC_CAPTURE_VIDEO;
        out->width = w;
        out->height = h;
        for (int i = 0; i < 3; i++) {
            out->plane[i] = map->data + off[i];
            out->stride[i] = stride[i];
        }
    } else if (strcmp(media, "audio/x-raw") == 0 && fmt && strcmp(fmt, "S16LE") == 0) {
        int rate = 0, ch = 0;
        if (!gst_structure_get_int(st, "rate", &rate) ||
            !gst_structure_get_int(st, "channels", &ch) || rate <= 0 || ch <= 0)
            return CC_EPROTO;
        const char *layout = gst_structure_get_string(st, "layout");
        if (layout && strcmp(layout, "interleaved") != 0) return CC_EPROTO;
        out->kind = CC_CAPTURE_AUDIO;
        out->rate = rate;
        out->channels = ch;
        out->pcm = (const int16_t *)map->data;
        out->frames = map->size / (2u * (size_t)ch);
    } else {
        return CC_EPROTO;
    }

    GstClockTime pts = GST_BUFFER_PTS(buf);
    const GstSegment *seg = gst_sample_get_segment(s);
    guint64 rt = GST_CLOCK_TIME_NONE;
    if (seg && seg->format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID(pts))
        rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME, pts);
    if (GST_CLOCK_TIME_IS_VALID(rt) && GST_CLOCK_TIME_IS_VALID(it->base_time))
        out->capture_us = (cc_time_us)((it->base_time + rt) / GST_USECOND);
    else
        out->capture_us = cc_clock_mono_us();
    out->duration_us = GST_BUFFER_DURATION_IS_VALID(buf)
                           ? (cc_time_us)(GST_BUFFER_DURATION(buf) / GST_USECOND)
                           : 0;
    out->generation = it->gen;
    g_mutex_lock(&c->lock);
    out->seq = c->seq++;
    g_mutex_unlock(&c->lock);
    return 0;
}

void cc_capture_sample_release(cc_capture_sample *s)
{
    if (!s) return;
    if (s->priv_mapped_)
        gst_buffer_unmap((GstBuffer *)s->priv_buffer_, (GstMapInfo *)s->priv_map_);
    if (s->priv_sample_) gst_sample_unref((GstSample *)s->priv_sample_);
    memset(s, 0, sizeof *s);
}

int cc_capture_pull(cc_capture *c, cc_capture_sample *out, int timeout_ms)
{
    if (!c || !out) return CC_EINVAL;
    memset(out, 0, sizeof *out);
    gint64 deadline = g_get_monotonic_time() + (gint64)(timeout_ms > 0 ? timeout_ms : 0) * 1000;
    sample_queue *q = c->q;
    for (;;) {
        g_mutex_lock(&q->lock);
        while (!q->len && !q->closed)
            if (!g_cond_wait_until(&q->cond, &q->lock, deadline)) break;
        if (!q->len) {
            int closed = q->closed;
            g_mutex_unlock(&q->lock);
            return closed ? CC_ECLOSED : CC_ETIMEOUT;
        }
        sq_item it = q->items[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
        q->popped++;
        g_mutex_unlock(&q->lock);
        int rc = fill_sample(c, &it, out);
        if (rc == 0) return 0;
        /* fill_sample handed the sample to out; release drops it. */
        if (!out->priv_sample_) gst_sample_unref(it.sample);
        cc_capture_sample_release(out);
        g_mutex_lock(&c->lock);
        int first = c->bad_format++ == 0;
        g_mutex_unlock(&c->lock);
        if (first)
            CC_ERROR(MOD, "%s: dropping samples that are not I420 video or "
                     "S16LE interleaved audio (check the .pipe caps)", c->name);
    }
}

void cc_capture_get_status(cc_capture *c, cc_capture_status *out)
{
    memset(out, 0, sizeof *out);
    if (!c) return;
    g_mutex_lock(&c->lock);
    out->state = c->state;
    out->kind = c->kind;
    snprintf(out->name, sizeof out->name, "%s", c->name);
    out->restarts = c->restarts;
    out->errors = c->errors;
    out->bad_format = c->bad_format;
    snprintf(out->last_error, sizeof out->last_error, "%s", c->last_error);
    uint32_t gen = c->generation;
    int have_pipeline = c->pipeline != NULL;
    g_mutex_unlock(&c->lock);
    g_mutex_lock(&c->q->lock);
    out->buffers_in = c->q->buffers_in;
    out->samples = c->q->popped;
    out->dropped = c->q->dropped;
    /* The supervisor notices flow within 100 ms; say it at once. */
    if ((out->state == CC_CAPTURE_STARTING || out->state == CC_CAPTURE_RESTARTING) &&
        c->q->last_gen_in == gen && c->q->buffers_in && have_pipeline)
        out->state = CC_CAPTURE_RUNNING;
    g_mutex_unlock(&c->q->lock);
}

void cc_capture_stop(cc_capture *c)
{
    if (!c) return;
    g_mutex_lock(&c->lock);
    if (!c->started) {
        g_mutex_unlock(&c->lock);
        return;
    }
    c->stopping = 1;
    g_cond_broadcast(&c->cond);
    if (c->bus)
        gst_bus_post(c->bus, gst_message_new_application(
                                 NULL, gst_structure_new_empty("cc-capture-wake")));
    GThread *t = c->thread;
    c->thread = NULL;
    g_mutex_unlock(&c->lock);
    if (t) g_thread_join(t);

    g_mutex_lock(&c->lock);
    GstElement *p = c->pipeline;
    uint32_t base = c->x_lost_base;
    c->pipeline = NULL;
    if (c->bus) gst_object_unref(c->bus);
    c->bus = NULL;
    c->started = 0;
    c->stopping = 0;
    c->state = CC_CAPTURE_STOPPED;
    g_mutex_unlock(&c->lock);
    teardown(c, p, base);

    g_mutex_lock(&c->q->lock);
    c->q->closed = 1;
    sq_flush_locked(c->q);
    g_cond_broadcast(&c->q->cond);
    g_mutex_unlock(&c->q->lock);
    CC_INFO(MOD, "%s: stopped", c->name);
}

void cc_capture_free(cc_capture *c)
{
    if (!c) return;
    cc_capture_stop(c);
    if (c->q) sq_unref(c->q);
    if (c->clock) gst_object_unref(c->clock);
    g_free(c->desc);
    g_mutex_clear(&c->lock);
    g_cond_clear(&c->cond);
    g_free(c);
}
