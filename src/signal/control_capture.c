/* classcast control plane: local publishing, capture on the classroom
 * computer (a lesson's local publisher, the capture_* requests). */
#include "control_priv.h"

/* A lesson's local publisher (capture on the classroom computer). */
#define CAPTURE_SOURCES_CAP (CC_PROTO_MAX_SOURCES * (CC_PROTO_SOURCE_CAP + 1))
typedef struct capture_run {
    cc_localpub *lp;
    char sources[CAPTURE_SOURCES_CAP];  /* "screen,test-audio" */
    char display[CC_PROTO_DISPLAY_CAP]; /* "" : the default */
} capture_run;

/* ---- local publishing (capture on the classroom computer) ---- */

void ctl_capture_run_free(void *p)
{
    capture_run *r = p;
    /* Detaching waits for the worker: it must still be running. */
    cc_localpub_stop(r->lp);
    free(r);
}

static capture_run *capture_of(cc_control *c, uint32_t room_id)
{
    return c->captures ? g_hash_table_lookup(c->captures, GUINT_TO_POINTER(room_id)) : NULL;
}

/* Stop the lesson's capture, if any. 1 if one ran. */
int ctl_capture_stop_room(cc_control *c, uint32_t room_id)
{
    if (!capture_of(c, room_id))
        return 0;
    g_hash_table_remove(c->captures, GUINT_TO_POINTER(room_id));
    CC_INFO("control", "room %u: local capture stopped", room_id);
    return 1;
}

static int capture_launch(cc_control *c, uint32_t room_id, const char *sources,
                          const char *display, cc_localpub **out, char *err, size_t errcap)
{
    cc_localpub_config lc = {
        .worker = ctl_room_w(c, room_id),
        .room_id = room_id,
        .pipelines_dir = c->cfg.pipelines_dir ? c->cfg.pipelines_dir : "pipelines",
        .sources = sources,
        .display = display && display[0] ? display : c->cfg.display,
        .width = c->cfg.video_width > 0 ? c->cfg.video_width : 1280,
        .height = c->cfg.video_height > 0 ? c->cfg.video_height : 720,
        .fps = 30,
        /* `serve --simulcast`: the camera in three sizes here too, as the
         * teacher page sends it in two. */
        .camera_encodings = c->cfg.simulcast ? 3 : 0,
    };
    return cc_localpub_start(out, &lc, err, errcap);
}

/* Replace the room's capture with `sources`. On failure the previous one is
 * started again as it was (best effort) and err says what failed. */
int ctl_capture_replace(cc_control *c, uint32_t room_id, const char *sources,
                        const char *display, char *err, size_t errcap)
{
    if (c->shut) {
        snprintf(err, errcap, "the server is shutting down");
        return CC_ECLOSED;
    }
    capture_run *old = capture_of(c, room_id);
    char old_sources[CAPTURE_SOURCES_CAP] = "", old_display[CC_PROTO_DISPLAY_CAP] = "";
    if (old) {
        snprintf(old_sources, sizeof old_sources, "%s", old->sources);
        snprintf(old_display, sizeof old_display, "%s", old->display);
        /* The new sources may want the same devices: stop first. */
        ctl_capture_stop_room(c, room_id);
    }
    capture_run *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errcap, "out of memory");
        return CC_ENOMEM;
    }
    snprintf(r->sources, sizeof r->sources, "%s", sources);
    snprintf(r->display, sizeof r->display, "%s", display ? display : "");
    int rc = capture_launch(c, room_id, sources, display, &r->lp, err, errcap);
    if (rc != 0) {
        CC_WARN("control", "room %u: capture %s failed: %s", room_id, sources, err);
        snprintf(r->sources, sizeof r->sources, "%s", old_sources);
        snprintf(r->display, sizeof r->display, "%s", old_display);
        char err2[512];
        if (!old_sources[0] ||
            capture_launch(c, room_id, old_sources, old_display, &r->lp, err2, sizeof err2) != 0) {
            if (old_sources[0]) {
                size_t el = strlen(err);
                snprintf(err + el, errcap - el, " (the previous sources %s did not restart: %s)",
                         old_sources, err2);
            }
            free(r);
            return rc;
        }
        CC_INFO("control", "room %u: previous capture %s restarted", room_id, old_sources);
        size_t el = strlen(err);
        snprintf(err + el, errcap - el, " (still publishing the previous sources: %s)",
                 old_sources);
        g_hash_table_replace(c->captures, GUINT_TO_POINTER(room_id), r);
        return rc;
    }
    g_hash_table_replace(c->captures, GUINT_TO_POINTER(room_id), r);
    CC_INFO("control", "room %u: local capture %s started", room_id, sources);
    return 0;
}

/* The pipeline named in a localpub error ("source 'camera': ..."), or "". */
static void failed_source(const char *err, char *out, size_t cap)
{
    out[0] = 0;
    const char *p = strstr(err, "source '");
    if (!p)
        return;
    p += 8;
    size_t n = strcspn(p, "'");
    if (p[n] == '\'' && n > 0 && n < cap) {
        memcpy(out, p, n);
        out[n] = 0;
    }
}

#define CAPTURE_MAX_PIPELINES 32
#define CAPTURE_MAX_DEVICES 32

static char *capture_list_json(cc_control *c, uint32_t room_id, const char *id)
{
    const char *dir = c->cfg.pipelines_dir ? c->cfg.pipelines_dir : "pipelines";
    cc_proto_pipeline *pl = calloc(CAPTURE_MAX_PIPELINES, sizeof *pl);
    cc_device *dv = calloc(CAPTURE_MAX_DEVICES, sizeof *dv);
    char names[2048] = "";
    int np = 0;
    size_t nd = 0;
    char *out = NULL;
    if (!pl || !dv)
        goto done;
    if (cc_capture_list_pipelines(dir, names, sizeof names) < 0)
        CC_WARN("control", "capture_list: cannot read the pipelines directory %s", dir);
    /* "camera, mic, screen" */
    char *save = NULL;
    for (char *tok = strtok_r(names, ", ", &save); tok && np < CAPTURE_MAX_PIPELINES;
         tok = strtok_r(NULL, ", ", &save)) {
        cc_proto_pipeline *p = &pl[np];
        if (strlen(tok) >= sizeof p->name)
            continue;
        snprintf(p->name, sizeof p->name, "%s", tok);
        if (cc_capture_describe_pipeline(dir, tok, p->description, sizeof p->description) != 0)
            p->description[0] = 0;
        p->slot = cc_source_default_slot(tok);
        np++;
    }
    if (cc_devices_list(CC_DEVICE_ALL, dv, CAPTURE_MAX_DEVICES, &nd) != 0)
        nd = 0;
    if (nd > CAPTURE_MAX_DEVICES)
        nd = CAPTURE_MAX_DEVICES;
    capture_run *r = capture_of(c, room_id);
    out = cc_proto_build_capture_list(pl, np, dv, nd, r ? r->sources : NULL, c->cfg.display, id);
done:
    free(pl);
    free(dv);
    return out;
}

void ctl_handle_capture(cc_control *c, sess *s, cc_lesson *l, cc_proto_req *rq)
{
    const char *ref = cc_proto_type_name(rq->type);
    if (rq->type == CC_PROTO_CAPTURE_LIST) {
        char *j = capture_list_json(c, l->room_id, rq->id);
        if (!j)
            ctl_send_error(c, s->sid, "server_error", "could not list the capture pipelines", ref,
                           rq->id);
        ctl_send_json(c, s->sid, j);
        return;
    }
    if (rq->type == CC_PROTO_CAPTURE_STOP) {
        ctl_capture_stop_room(c, l->room_id);
        ctl_send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
        return;
    }
    char sources[CAPTURE_SOURCES_CAP] = "";
    size_t used = 0;
    for (int i = 0; i < rq->n_sources; i++)
        used += (size_t)snprintf(sources + used, sizeof sources - used, "%s%s", i ? "," : "",
                                 rq->sources[i]);
    char err[1024] = "";
    int rc = ctl_capture_replace(c, l->room_id, sources, rq->display, err, sizeof err);
    if (rc != 0) {
        char src[CC_PROTO_PIPELINE_CAP];
        failed_source(err, src, sizeof src);
        ctl_send_json(c, s->sid, cc_proto_build_capture_failed(err, src, rq->id));
        return;
    }
    ctl_send_json(c, s->sid, cc_proto_build_ok(ref, rq->id));
}
