/* Local publishing glue: source threads -> rings -> the SFU worker. */
#include "classcast/localpub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/ring.h"
#include "classcast/sfu.h"
#include "classcast/slot.h"
#include "classcast/source.h"

#define LP_MAX 4
#define LP_RING 1024
#define LP_POOL 4096

typedef struct lp_source {
    cc_source *src;
    cc_ring *ring;
    int efd;
    int attached;
    uint64_t ring_full; /* packets dropped: the worker fell behind */
} lp_source;

struct cc_localpub {
    cc_localpub_config cfg;
    cc_pkt_pool *pool;
    lp_source s[LP_MAX];
    int n;
};

/* Source thread: hand one packet to the worker. */
static void lp_emit(void *ud, cc_pkt *p)
{
    lp_source *ls = ud;
    if (cc_ring_push(ls->ring, p) != 0) {
        ls->ring_full++;
        cc_pkt_unref(p);
        return;
    }
    uint64_t one = 1;
    ssize_t r = write(ls->efd, &one, sizeof one);
    (void)r;
}

/* Worker thread: a subscriber needs a keyframe. */
static void lp_keyframe(void *ud, int slot)
{
    (void)slot;
    cc_source_request_keyframe(((lp_source *)ud)->src);
}

static int parse_slot(const char *name)
{
    for (int i = 0; i < CC_SLOT_COUNT; i++)
        if (cc_slot_name(i) && strcmp(cc_slot_name(i), name) == 0)
            return i;
    return -1;
}

int cc_localpub_start(cc_localpub **out, const cc_localpub_config *cfg,
                      char *err, size_t errcap)
{
    *out = NULL;
    cc_localpub *lp = calloc(1, sizeof *lp);
    if (!lp)
        return CC_ENOMEM;
    lp->cfg = *cfg;
    int rc = cc_pkt_pool_new(&lp->pool, LP_POOL);
    if (rc != 0) {
        free(lp);
        return rc;
    }
    char list[512];
    snprintf(list, sizeof list, "%s", cfg->sources ? cfg->sources : "");
    unsigned used = 0;
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!*tok)
            continue;
        if (lp->n == LP_MAX) {
            snprintf(err, errcap, "at most %d sources", LP_MAX);
            rc = CC_EINVAL;
            goto fail;
        }
        char *colon = strchr(tok, ':');
        int slot;
        if (colon) {
            *colon = 0;
            slot = parse_slot(colon + 1);
            if (slot < 0) {
                snprintf(err, errcap, "unknown slot '%s' (camera, screen, mic)", colon + 1);
                rc = CC_EINVAL;
                goto fail;
            }
        } else {
            slot = cc_source_default_slot(tok);
        }
        if (used & (1u << slot)) {
            snprintf(err, errcap, "two sources for the %s slot", cc_slot_name(slot));
            rc = CC_EINVAL;
            goto fail;
        }
        used |= 1u << slot;
        lp_source *ls = &lp->s[lp->n];
        if ((rc = cc_ring_new(&ls->ring, LP_RING)) != 0)
            goto fail;
        ls->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (ls->efd < 0) {
            rc = CC_EIO;
            goto fail;
        }
        lp->n++;
        char dispvar[300];
        cc_source_config sc = {
            .pipelines_dir = cfg->pipelines_dir,
            .name = tok,
            .slot = slot,
            .width = cfg->width,
            .height = cfg->height,
            .fps = cfg->fps,
            .encodings = slot == CC_SLOT_CAMERA ? cfg->camera_encodings : 0,
            .pool = lp->pool,
            .emit = lp_emit,
            .ud = ls,
        };
        if (cfg->display) {
            snprintf(dispvar, sizeof dispvar, "DISPLAY=%s", cfg->display);
            sc.vars[0] = dispvar;
        }
        char serr[1024] = "";
        rc = cc_source_new(&ls->src, &sc, serr, sizeof serr);
        if (rc != 0) {
            snprintf(err, errcap, "source '%s': %s", tok, serr);
            goto fail;
        }
        cc_sfu_local_config lc = {
            .room_id = cfg->room_id,
            .ring = ls->ring,
            .efd = ls->efd,
            .keyframe = lp_keyframe,
            .ud = ls,
        };
        lc.slots[slot].active = 1;
        lc.slots[slot].ssrc = cc_source_ssrc(ls->src);
        lc.slots[slot].pt = cc_source_pt(ls->src);
        lc.slots[slot].clock_rate = cc_source_clock_rate(ls->src);
        uint32_t sim[3];
        int n_sim = cc_source_ssrcs(ls->src, sim, 3);
        if (n_sim > 1) {
            lc.slots[slot].n_sim = n_sim;
            memcpy(lc.slots[slot].sim_ssrc, sim, sizeof sim);
        }
        if ((rc = cc_sfu_local_attach(cfg->worker, &lc)) != 0) {
            snprintf(err, errcap, "cannot attach source '%s'", tok);
            goto fail;
        }
        ls->attached = 1;
        if ((rc = cc_source_start(ls->src)) != 0) {
            cc_source_stats st;
            cc_source_get_stats(ls->src, &st);
            snprintf(err, errcap, "source '%s' did not start: %s", tok,
                     st.capture.last_error[0] ? st.capture.last_error : cc_strerror(rc));
            goto fail;
        }
        CC_INFO("localpub", "source %s publishing as the %s of room %u", tok,
                cc_slot_name(slot), cfg->room_id);
    }
    if (lp->n == 0) {
        snprintf(err, errcap, "no source named");
        rc = CC_EINVAL;
        goto fail;
    }
    *out = lp;
    return 0;
fail:
    cc_localpub_stop(lp);
    return rc;
}

void cc_localpub_stop(cc_localpub *lp)
{
    if (!lp)
        return;
    for (int i = 0; i < lp->n; i++) {
        lp_source *ls = &lp->s[i];
        cc_source_stop(ls->src);
        if (ls->attached)
            cc_sfu_local_detach(lp->cfg.worker, ls->ring);
        cc_pkt *p;
        while (ls->ring && (p = cc_ring_pop(ls->ring)))
            cc_pkt_unref(p);
        cc_source_free(ls->src);
        cc_ring_free(ls->ring);
        if (ls->efd >= 0)
            close(ls->efd);
    }
    cc_pkt_pool_free(lp->pool);
    free(lp);
}
