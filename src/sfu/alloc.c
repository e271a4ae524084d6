/* classcast: layer allocation for one subscriber. See alloc.h for the
 * policy. Each stream's options form a ladder ordered by preference
 * (screen: spatial then temporal; camera: bitrate); a choice is a
 * position on it, and the streams are served one after the other in
 * priority order from what the ones before them left. */
#include "classcast/alloc.h"

#include <string.h>

#include "classcast/err.h"

#define NOPT (CC_ALLOC_SPATIAL * CC_ALLOC_TEMPORAL)

/* Temporal caps 0, 1, 2 as shares of all three layers (VP8 L1T3 at the
 * usual 1:1:2 split of pictures with a heavier base layer). */
static const double TSHARE[CC_ALLOC_TEMPORAL] = {0.4, 0.6, 1.0};
/* A stream with no measured rate at all: bit/s per pixel of its layer
 * (about 1.5 Mbit/s for a 1280x720 camera or a 1920x1080 screen), or this
 * rate for its top layer when its size is unknown too. */
#define CAMERA_BPS_PER_PIXEL 1.6
#define SCREEN_BPS_PER_PIXEL 0.75
#define DEFAULT_TOP_BPS 1500000.0

typedef struct opt {
    int8_t s, t;
    uint32_t bps;
} opt;

typedef struct ladder {
    opt o[NOPT];
    int n;
} ladder;

typedef struct work {
    ladder L;
    int fresh;                /* not in the last run */
    int prev;                 /* position of the last choice, -1 paused */
    int exact;                /* the last choice is on the ladder as it was */
    int held;                 /* went down less than hold_us ago */
    int pos;                  /* the new choice, -1 paused */
    uint32_t audio_bps;
    int has_best;             /* best: its top option, keyframes not weighed */
    opt best;
    double kf_bits[CC_ALLOC_SPATIAL]; /* a switch to each layer, as a rate
                                       * over a second (keyframe_cap_bps) */
    const cc_alloc_stream *in;
} work;

void cc_alloc_init(cc_alloc *a)
{
    memset(a, 0, sizeof *a);
    a->cfg.up_margin = CC_ALLOC_UP_MARGIN;
    a->cfg.hold_us = CC_ALLOC_HOLD_US;
    a->cfg.camera_after_screen = 1;
    a->cfg.kf_max_us = CC_ALLOC_KF_MAX_US;
}

/* ---- rates: fill in the unknown ones ---------------------------------- */

static double pixels(const cc_alloc_layer *l)
{
    return (double)l->width * (double)l->height;
}

static void estimate(const cc_alloc_stream *in, double est[CC_ALLOC_SPATIAL][CC_ALLOC_TEMPORAL])
{
    int ns = in->n_spatial;
    int known[CC_ALLOC_SPATIAL] = {0};
    int any = 0;
    memset(est, 0, sizeof(double) * CC_ALLOC_SPATIAL * CC_ALLOC_TEMPORAL);

    /* Within a spatial layer: from the nearest known temporal cap. */
    for (int s = 0; s < ns; s++) {
        const uint32_t *b = in->layer[s].bps;
        for (int t = 0; t < CC_ALLOC_TEMPORAL; t++)
            known[s] |= b[t] != 0;
        if (!known[s])
            continue;
        any = 1;
        for (int t = 0; t < CC_ALLOC_TEMPORAL; t++) {
            if (b[t]) {
                est[s][t] = b[t];
                continue;
            }
            int k = -1;
            for (int d = 1; d < CC_ALLOC_TEMPORAL && k < 0; d++) {
                if (t + d < CC_ALLOC_TEMPORAL && b[t + d])
                    k = t + d;
                else if (t - d >= 0 && b[t - d])
                    k = t - d;
            }
            est[s][t] = b[k] * TSHARE[t] / TSHARE[k];
        }
    }
    /* Across spatial layers: from the nearest layer with a rate. */
    for (int s = 0; s < ns; s++) {
        if (known[s])
            continue;
        int j = -1;
        if (any) {
            for (int d = 1; d < ns && j < 0; d++) {
                if (s + d < ns && known[s + d])
                    j = s + d;
                else if (s - d >= 0 && known[s - d])
                    j = s - d;
            }
        }
        double scale, top;
        if (j >= 0) {
            double ps = pixels(&in->layer[s]), pj = pixels(&in->layer[j]);
            if (ps > 0 && pj > 0) {
                scale = ps / pj;
            } else {
                scale = 1;
                for (int k = s; k < j; k++)
                    scale /= 4;
                for (int k = j; k < s; k++)
                    scale *= 4;
            }
            for (int t = 0; t < CC_ALLOC_TEMPORAL; t++)
                est[s][t] = est[j][t] * scale;
            continue;
        }
        /* Nothing measured on the whole stream. */
        double px = pixels(&in->layer[s]);
        if (px > 0) {
            top = px * (in->kind == CC_ALLOC_SCREEN ? SCREEN_BPS_PER_PIXEL
                                                    : CAMERA_BPS_PER_PIXEL);
        } else {
            top = DEFAULT_TOP_BPS;
            for (int k = s; k < ns - 1; k++)
                top /= 4;
        }
        for (int t = 0; t < CC_ALLOC_TEMPORAL; t++)
            est[s][t] = top * TSHARE[t];
    }
    /* Cumulative rates never fall with more layers. */
    for (int s = 0; s < ns; s++)
        for (int t = 1; t < CC_ALLOC_TEMPORAL; t++)
            if (est[s][t] < est[s][t - 1])
                est[s][t] = est[s][t - 1];
}

static uint32_t to_u32(double v)
{
    if (v < 1)
        return 1; /* an option is never free */
    if (v >= (double)UINT32_MAX)
        return UINT32_MAX;
    return (uint32_t)(v + 0.5);
}

/* ---- ladders ---------------------------------------------------------- */

/* A thinned option (s, t < top) of a screen whose pictures are sparse
 * (alloc.h, rule 3) moves below the best option of the available layer
 * beneath s, keeping the order among the moved ones. Sparse: under
 * CC_ALLOC_SCREEN_MIN_FPS while its layer sends at least twice that, or
 * while the layer beneath sends at least that. The second: when a
 * teacher's uplink was cut, the browser lowered its full-size screen to a
 * few frames a second, its TL0 came once a second, and a 300 kbit/s
 * student was moved onto it from the half-size screen at 5 frames/s
 * (pictures 1 s apart, scripts/bench/links case 2). */
static int sparse(const cc_alloc_layer *l, const cc_alloc_layer *below, int t)
{
    const float top = l->fps[CC_ALLOC_TEMPORAL - 1];
    const float low = below->fps[CC_ALLOC_TEMPORAL - 1];
    return t < CC_ALLOC_TEMPORAL - 1 && l->fps[t] > 0 && l->fps[t] < CC_ALLOC_SCREEN_MIN_FPS &&
           (top >= 2 * CC_ALLOC_SCREEN_MIN_FPS || low >= CC_ALLOC_SCREEN_MIN_FPS) &&
           low > l->fps[t];
}

static void demote_sparse(const cc_alloc_stream *in, ladder *L)
{
    ladder out = {.n = 0};
    int moved[NOPT] = {0};
    /* L is (s, t) ascending, available layers only. */
    for (int p = 0; p < L->n; p++) {
        if (moved[p])
            continue;
        const opt o = L->o[p];
        int is_top_of_s = p + 1 == L->n || L->o[p + 1].s != o.s;
        if (is_top_of_s) {
            /* Before this layer's best option: the sparse options of the
             * next available layer up, if this layer is the one beneath. */
            int q = p + 1;
            for (; q < L->n; q++) {
                const opt x = L->o[q];
                if (sparse(&in->layer[x.s], &in->layer[o.s], x.t)) {
                    out.o[out.n++] = x;
                    moved[q] = 1;
                }
                if (q + 1 < L->n && L->o[q + 1].s != x.s)
                    break; /* only the next layer up */
            }
        }
        out.o[out.n++] = o;
    }
    *L = out;
}

static void build(const cc_alloc_stream *in, ladder *L)
{
    double est[CC_ALLOC_SPATIAL][CC_ALLOC_TEMPORAL];
    estimate(in, est);
    L->n = 0;
    /* (spatial, temporal) ascending: the screen's order of preference. */
    for (int s = 0; s < in->n_spatial; s++) {
        if (!in->layer[s].available)
            continue;
        for (int t = 0; t < CC_ALLOC_TEMPORAL; t++)
            L->o[L->n++] = (opt){(int8_t)s, (int8_t)t, to_u32(est[s][t])};
    }
    if (in->kind == CC_ALLOC_SCREEN)
        demote_sparse(in, L);
    if (in->kind != CC_ALLOC_CAMERA)
        return;
    /* Camera: by bitrate; a stable insertion sort keeps (s, t) order
     * between equal rates, so the better of two equal options is later. */
    for (int i = 1; i < L->n; i++) {
        opt x = L->o[i];
        int j = i - 1;
        while (j >= 0 && L->o[j].bps > x.bps) {
            L->o[j + 1] = L->o[j];
            j--;
        }
        L->o[j + 1] = x;
    }
}

/* Leaves out the options whose spatial layer's last keyframe is over
 * kf_bits (its size unknown: kept), except the stream's lowest available
 * layer: the rates alone decide about it (a keyframe's lag is better than
 * no picture, and a camera with one layer is not paused for it). The
 * ladder's order is kept. */
static void drop_heavy_keyframes(const cc_alloc_stream *in, ladder *L, double kf_bits)
{
    int keep = -1;
    for (int s = 0; s < in->n_spatial && keep < 0; s++)
        if (in->layer[s].available)
            keep = s;
    int n = 0;
    for (int p = 0; p < L->n; p++) {
        const cc_alloc_layer *l = &in->layer[L->o[p].s];
        if (L->o[p].s == keep || !l->kf_bytes || 8.0 * l->kf_bytes <= kf_bits)
            L->o[n++] = L->o[p];
    }
    L->n = n;
}

/* Position of the last choice (s, t) on the ladder; if it is gone, the
 * best option no higher in either dimension (*exact = 0). */
static int locate(const ladder *L, int s, int t, int *exact)
{
    int best = -1;
    *exact = 0;
    for (int p = 0; p < L->n; p++) {
        if (L->o[p].s == s && L->o[p].t == t) {
            *exact = 1;
            return p;
        }
        if (L->o[p].s <= s && L->o[p].t <= t)
            best = p;
    }
    return best < 0 ? 0 : best;
}

/* The most preferred position <= cap whose rate is at most `limit`, or -1. */
static int best_fit(const ladder *L, int cap, double limit)
{
    for (int p = cap; p >= 0; p--)
        if ((double)L->o[p].bps <= limit)
            return p;
    return -1;
}

/* Option a of a camera has clearly fewer pictures a second than option b
 * (both measured): a temporal layer less, give or take the measurement. */
static int fewer_fps(const work *w, const opt *a, const opt *b)
{
    float fa = w->in->layer[a->s].fps[a->t], fb = w->in->layer[b->s].fps[b->t];
    return fa > 0 && fb > 0 && fa < CC_ALLOC_FEWER_FPS * fb;
}

/* One stream's upgrade step: `base` is what everything else holds so far,
 * `up_base` what it must leave room for to go up (the screens: also the
 * floors of the cameras that are on).
 * Down at once to the best option that fits the target; up only to one
 * that fits up_target / (1 + margin), and not while held. */
/* A camera's ladder is by bitrate, so the next step up can be another
 * encoding at about the same rate (320x180 at 30 frames/s and 640x360 at
 * 15 of a still-ish picture). That step costs a keyframe, and a stall
 * until it arrives, for almost nothing: another encoding only for
 * CC_ALLOC_SPATIAL_GAIN more bits, else a step within the current one.
 * Nor to one with fewer pictures a second: a camera traded 320x240 at 10
 * frames/s for 640x480 at 5 and back with each swing of a 1 Mbit/s
 * student's estimate, a keyframe for every student each time
 * (scripts/bench/links). */
static int camera_step_worth(const work *w, int q, int p)
{
    const ladder *L = &w->L;
    return L->o[q].s == L->o[p].s ||
           ((double)L->o[q].bps >= (double)L->o[p].bps * (1 + CC_ALLOC_SPATIAL_GAIN) &&
            !fewer_fps(w, &L->o[q], &L->o[p]));
}

/* A step up held back by the keyframe limit alone (the estimate allows
 * it, kf_limit is from the capacity): the least total it needs, in
 * *cap_need (cc_alloc.cap_want_bps). */
static void note_cap_need(double need, double up_limit, double *cap_need)
{
    if (need <= up_limit && (*cap_need <= 0 || need < *cap_need))
        *cap_need = need;
}

static int choose(const work *w, int allow_up, int camera, double base, double up_base,
                  double target, double up_target, double margin, double kf_limit,
                  double carry_limit, double *cap_need)
{
    const ladder *L = &w->L;
    int p = w->prev < 0 ? 0 : w->prev;
    int cap = L->n - 1;
    if (!allow_up)
        cap = w->fresh ? 0 : p;
    else if (w->held && !w->fresh)
        cap = p;
    int hi = best_fit(L, cap, target - base);
    int lo = best_fit(L, cap, up_target / (1 + margin) - up_base);
    if (hi < 0)
        hi = 0;
    if (lo < 0)
        lo = 0;
    /* Any step up stays within what the link has carried (alloc.h,
     * carried_bps); one held back by that alone is noted for a fill. The
     * limit has no margin, so neither has the fill: what it must show is
     * the step's total itself (cap_want_bps adds the margin back). */
    while (lo > p && (double)L->o[lo].bps + up_base > carry_limit) {
        /* Another spatial layer also needs its keyframe under the
         * keyframe limit (below): the fill must show that much. */
        double need = (double)L->o[lo].bps + up_base;
        note_cap_need(L->o[lo].s != L->o[p].s ? need + w->kf_bits[L->o[lo].s] : need / (1 + margin),
                      up_target / (1 + margin), cap_need);
        lo--;
    }
    if (w->fresh)
        return lo;
    if (p > hi && camera && L->o[hi].s != L->o[p].s) {
        /* Down by bitrate can land on another encoding at about the
         * rate (640x480 at 5 frames/s below 320x240 at 20): a keyframe
         * and a stall to save little. The best of its own that fits,
         * unless that has fewer pictures a second than the other (a
         * lossy link's 640x360 at 7.5 against 320x180 at 30: there the
         * smaller encoding is the better picture, and its smaller frames
         * lose fewer packets). */
        for (int q = hi - 1; q >= 0; q--)
            if (L->o[q].s == L->o[p].s) {
                float fq = w->in->layer[L->o[q].s].fps[L->o[q].t];
                float fh = w->in->layer[L->o[hi].s].fps[L->o[hi].t];
                return fq > 0 && fh > 0 && fq < fh ? hi : q;
            }
    }
    if (p > hi && camera && L->o[hi].s == L->o[p].s) {
        /* Down within its own encoding, unless another encoding has an
         * option that fits with more pictures a second: the choice a
         * step up would make from there (choose's camera rule), so that
         * where a camera settles does not hang on the way it came. The
         * 1 Mbit/s student of scripts/bench/links, on 640x480 while its
         * link showed no limit, went down to 640x480 at 10 frames/s and
         * stayed there, where coming up it stops at 320x240 at 20. */
        for (int q = hi - 1; q >= 0; q--)
            if (L->o[q].s != L->o[p].s && fewer_fps(w, &L->o[hi], &L->o[q]))
                return q;
    }
    if (p > hi)
        return hi;
    /* Another spatial layer up costs a keyframe: only within kf_limit,
     * with the keyframe's burst counted as a second of more rate. */
    while (lo > p && L->o[lo].s != L->o[p].s &&
           (double)L->o[lo].bps + w->kf_bits[L->o[lo].s] > kf_limit - up_base) {
        if (!camera || camera_step_worth(w, lo, p))
            note_cap_need((double)L->o[lo].bps + w->kf_bits[L->o[lo].s] + up_base,
                          up_target / (1 + margin), cap_need);
        lo--;
    }
    if (lo > p && camera) {
        /* The best step up within the current encoding, or to another
         * one worth its keyframe and with as many pictures a second as
         * the best of the current one that fits: a camera just resumed
         * at 320x240 and 5 frames/s took 640x480 at 5 (as many as it
         * had) where 320x240 at 20 fitted, and the 1 Mbit/s student of
         * scripts/bench/links watched 8 frames/s instead of 20. */
        int own = p;
        for (int q = lo; q > p; q--)
            if (L->o[q].s == L->o[p].s) {
                own = q;
                break;
            }
        for (int q = lo; q > p; q--)
            if (camera_step_worth(w, q, p) &&
                (L->o[q].s == L->o[p].s || !fewer_fps(w, &L->o[q], &L->o[own])))
                return q;
        return p;
    }
    if (lo > p)
        return lo;
    return p;
}

static uint32_t cost(const work *w)
{
    return w->pos < 0 ? 0 : w->L.o[w->pos].bps;
}

/* ---- the run ---------------------------------------------------------- */

static int check(const cc_alloc_stream *in, int n)
{
    for (int i = 0; i < n; i++) {
        if (in[i].kind != CC_ALLOC_AUDIO && in[i].kind != CC_ALLOC_SCREEN &&
            in[i].kind != CC_ALLOC_CAMERA)
            return CC_EINVAL;
        if (in[i].kind != CC_ALLOC_AUDIO &&
            (in[i].n_spatial < 0 || in[i].n_spatial > CC_ALLOC_SPATIAL))
            return CC_EINVAL;
        for (int j = 0; j < i; j++)
            if (in[j].id == in[i].id)
                return CC_EINVAL;
    }
    return 0;
}

static const cc_alloc_state *find_state(const cc_alloc *a, uint32_t id)
{
    for (int i = 0; i < a->n; i++)
        if (a->st[i].id == id)
            return &a->st[i];
    return NULL;
}

int cc_alloc_run(cc_alloc *a, uint32_t target_bps, const cc_alloc_stream *in,
                 int n, cc_alloc_choice *out, cc_time_us now)
{
    return cc_alloc_run_band(a, target_bps, target_bps, in, n, out, now);
}

int cc_alloc_run_band(cc_alloc *a, uint32_t target_bps, uint32_t up_bps,
                      const cc_alloc_stream *in, int n, cc_alloc_choice *out,
                      cc_time_us now)
{
    if (!a || n < 0 || n > CC_ALLOC_MAX_STREAMS || (n > 0 && (!in || !out)))
        return CC_EINVAL;
    if (check(in, n) < 0)
        return CC_EINVAL;

    work w[CC_ALLOC_MAX_STREAMS];
    double margin = a->cfg.up_margin > 0 ? a->cfg.up_margin : 0;
    double target = target_bps;
    double up_target = up_bps > 0 && up_bps < target_bps ? up_bps : target;
    double committed = 0;
    uint64_t full = 0;
    double kf_need = 0;
    double cap_need = 0; /* note_cap_need */

    for (int i = 0; i < n; i++) {
        work *x = &w[i];
        memset(x, 0, sizeof *x);
        x->in = &in[i];
        const cc_alloc_state *st = find_state(a, in[i].id);
        x->fresh = st == NULL;
        x->exact = 1;
        if (in[i].kind == CC_ALLOC_AUDIO) {
            x->audio_bps = in[i].layer[0].bps[0] ? in[i].layer[0].bps[0]
                                                 : CC_ALLOC_AUDIO_DEFAULT_BPS;
            committed += x->audio_bps;
            full += x->audio_bps;
            continue;
        }
        /* Its best whatever the keyframes weigh: what a probe aims at, and
         * a target that carries that keyframe too. */
        build(&in[i], &x->L);
        if (x->L.n > 0) {
            x->has_best = 1;
            x->best = x->L.o[x->L.n - 1];
            full += x->best.bps;
            if (a->cfg.kf_max_us > 0) {
                double need = 8.0 * in[i].layer[x->best.s].kf_bytes * CC_USEC_PER_SEC /
                              (double)a->cfg.kf_max_us;
                if (need > kf_need)
                    kf_need = need;
            }
        }
        if (target_bps && a->cfg.kf_max_us > 0)
            drop_heavy_keyframes(&in[i], &x->L,
                                 target * (double)a->cfg.kf_max_us / CC_USEC_PER_SEC);
        if (st) {
            x->prev = st->spatial < 0 ? -1 : locate(&x->L, st->spatial, st->temporal, &x->exact);
            x->held = st->have_down && now - st->last_down < (st->hold ? st->hold : a->cfg.hold_us);
        }
        x->pos = -1;
    }
    if (kf_need > (double)full)
        full = (uint64_t)kf_need;

    if (target_bps == 0) {
        /* No estimate yet: everything at its best. */
        for (int i = 0; i < n; i++) {
            work *x = &w[i];
            if (in[i].kind == CC_ALLOC_AUDIO || x->L.n == 0)
                continue;
            x->pos = x->L.n - 1;
            if (in[i].kind != CC_ALLOC_CAMERA)
                continue;
            /* A camera's ladder is by bitrate. Encodings that send about
             * the same (a still picture, where a larger encoding
             * undershoots its budget) would trade the top place with
             * every measurement, a keyframe and a stall each time
             * (equal-size encodings in test_sfu changed every 250 ms).
             * Its best is the largest picture among the options within
             * CC_ALLOC_SPATIAL_GAIN of the top rate and with as many
             * pictures a second: for the same bits, the sharper one. */
            const opt *top = &x->L.o[x->L.n - 1];
            double floor = (double)top->bps / (1 + CC_ALLOC_SPATIAL_GAIN);
            for (int p = 0; p < x->L.n; p++) {
                const opt *o = &x->L.o[p], *c = &x->L.o[x->pos];
                if ((double)o->bps >= floor && !fewer_fps(x, o, top) &&
                    (o->s > c->s || (o->s == c->s && o->t > c->t)))
                    x->pos = p;
            }
            x->best = x->L.o[x->pos];
        }
    } else {
        double up_limit = up_target / (1 + margin);
        double kf_limit = up_limit;
        double carry_limit = a->carried_bps ? (double)a->carried_bps : 1e18;
        if (a->keyframe_cap_bps) {
            if (a->keyframe_cap_bps / (1 + margin) < kf_limit)
                kf_limit = a->keyframe_cap_bps / (1 + margin);
            for (int i = 0; i < n; i++)
                for (int l = 0; in[i].kind != CC_ALLOC_AUDIO && l < in[i].n_spatial; l++)
                    w[i].kf_bits[l] = 8.0 * in[i].layer[l].kf_bytes;
        }
        /* Every screen's floor, then the screens up: a screen's layers
         * come before any camera's (alloc.h, rules 2 to 4). A screen
         * never goes down for a camera; it goes up only by what the
         * cameras that are on leave, so a step up of the screen does
         * not pause a camera that is shown (each pause and resume costs
         * the student a keyframe and a stall). */
        double cam_floors = 0;
        for (int i = 0; i < n; i++)
            if (in[i].kind == CC_ALLOC_CAMERA && w[i].L.n > 0 && !w[i].fresh && w[i].prev >= 0)
                cam_floors += w[i].L.o[0].bps;
        for (int i = 0; i < n; i++) {
            if (in[i].kind == CC_ALLOC_SCREEN && w[i].L.n > 0) {
                w[i].pos = 0;
                committed += cost(&w[i]);
            }
        }
        int all_top = 1;
        for (int i = 0; i < n; i++) {
            work *x = &w[i];
            if (in[i].kind != CC_ALLOC_SCREEN || x->pos < 0)
                continue;
            double base = committed - cost(x);
            /* A screen held on a sparse option (under
             * CC_ALLOC_SCREEN_MIN_FPS) steps up into the shown cameras'
             * floors all the same: a board that changes once a second is
             * worth more than a camera (alloc.h, rule 4). */
            const opt *now_o = &x->L.o[x->prev > 0 ? x->prev : 0];
            float fps = in[i].layer[now_o->s].fps[now_o->t];
            double floors = fps > 0 && fps < CC_ALLOC_SCREEN_MIN_FPS ? 0 : cam_floors;
            x->pos = choose(x, 1, 0, base, base + floors, target, up_target, margin, kf_limit,
                            carry_limit, &cap_need);
            committed = base + cost(x);
            all_top &= x->pos == x->L.n - 1;
        }
        /* Each camera's floor from what the screens left, if it fits. */
        for (int i = 0; i < n; i++) {
            work *x = &w[i];
            if (in[i].kind != CC_ALLOC_CAMERA || x->L.n == 0)
                continue;
            double need = committed + x->L.o[0].bps;
            int fits = need <= target, fits_up = need <= up_limit;
            double kf = x->kf_bits[x->L.o[0].s];
            int carried = need <= carry_limit, kf_fits = need + kf <= kf_limit;
            int on = x->fresh      ? fits_up && carried
                     : x->prev < 0 ? fits_up && carried && kf_fits && !x->held
                                   : fits;
            /* Held back by the keyframe's limit, or else by what the link
             * has carried (as in choose). */
            if (!x->fresh && x->prev < 0 && fits_up && !x->held && !on)
                note_cap_need(kf_fits ? need / (1 + margin) : need + kf, up_limit, &cap_need);
            if (on) {
                x->pos = 0;
                committed = need;
            }
        }
        int allow = all_top || !a->cfg.camera_after_screen;
        for (int i = 0; i < n; i++) {
            work *x = &w[i];
            if (in[i].kind != CC_ALLOC_CAMERA || x->pos < 0)
                continue;
            double base = committed - cost(x);
            x->pos = choose(x, allow, 1, base, base, target, up_target, margin, kf_limit,
                            carry_limit, &cap_need);
            committed = base + cost(x);
        }
    }

    /* Results, changes, new state. */
    cc_alloc_state st[CC_ALLOC_MAX_STREAMS];
    int changed = 0, limited = 0;
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        work *x = &w[i];
        const cc_alloc_state *old = find_state(a, in[i].id);
        cc_alloc_choice *c = &out[i];
        if (in[i].kind == CC_ALLOC_AUDIO) {
            c->spatial = 0;
            c->temporal = 0;
            c->bps = x->audio_bps;
        } else if (x->pos < 0) {
            c->spatial = -1;
            c->temporal = -1;
            c->bps = 0;
        } else {
            c->spatial = x->L.o[x->pos].s;
            c->temporal = x->L.o[x->pos].t;
            c->bps = x->L.o[x->pos].bps;
        }
        if (in[i].kind != CC_ALLOC_AUDIO && x->has_best &&
            (x->pos < 0 || c->spatial != x->best.s || c->temporal != x->best.t))
            limited = 1;
        total += c->bps;
        c->changed = !old || old->spatial != c->spatial ||
                     (c->spatial >= 0 && old->temporal != c->temporal);
        changed += c->changed;

        memset(&st[i], 0, sizeof st[i]);
        st[i].id = in[i].id;
        st[i].spatial = (int8_t)c->spatial;
        st[i].temporal = (int8_t)c->temporal;
        if (old) {
            st[i].have_down = old->have_down;
            st[i].last_down = old->last_down;
            st[i].have_up = old->have_up;
            st[i].last_up = old->last_up;
            st[i].hold = old->hold;
        }
        if (old && c->changed) {
            if (x->pos < x->prev || !x->exact || x->pos < 0) {
                /* Down soon after a step up: that step failed, wait twice
                 * as long before the next (see the header). */
                cc_time_us h = old->hold ? old->hold : a->cfg.hold_us;
                /* A pause is judged over a longer window: each resume
                 * costs every student a keyframe (alloc.h). */
                cc_time_us failed = x->pos < 0 ? CC_ALLOC_PAUSE_FAILED_US : a->cfg.hold_us;
                if (old->have_up && now - old->last_up < failed)
                    h = h * 2 > CC_ALLOC_HOLD_MAX_US ? CC_ALLOC_HOLD_MAX_US : h * 2;
                else
                    h = a->cfg.hold_us;
                st[i].hold = h;
                st[i].have_down = 1;
                st[i].last_down = now;
                a->downs++;
            } else {
                st[i].have_up = 1;
                st[i].last_up = now;
                a->ups++;
            }
        }
    }
    memcpy(a->st, st, sizeof st[0] * (size_t)n);
    a->n = n;
    a->target_bps = target_bps;
    a->total_bps = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
    a->full_bps = full > UINT32_MAX ? UINT32_MAX : (uint32_t)full;
    a->limited = limited;
    a->cap_want_bps = (a->keyframe_cap_bps || a->carried_bps) && cap_need > 0
                          ? (uint32_t)(cap_need * (1 + margin)) : 0;
    return changed;
}

uint32_t cc_alloc_cut_target(cc_alloc_cut *c, uint32_t target_bps, uint32_t sending_bps,
                             uint32_t shown_bps, cc_time_us queue_us, double loss,
                             cc_time_us now)
{
    if (!target_bps || target_bps >= sending_bps) {
        c->since = 0;
        c->level = 0;
        return target_bps;
    }
    /* What is sent swings by a few percent (a keyframe is in its layers'
     * rates for a second): within the slack of what the link showed. */
    int carried = sending_bps <= shown_bps * (1 + CC_ALLOC_CUT_SLACK) &&
                  queue_us <= CC_ALLOC_CUT_QUEUE && loss <= CC_ALLOC_CUT_LOSS;
    if (!c->since) {
        c->since = now;
        c->level = carried ? sending_bps : 0;
        c->holds += carried;
    }
    if (c->level && (!carried || now - c->since >= CC_ALLOC_CUT_HOLD))
        c->level = 0; /* over for this cut */
    if (!c->level)
        return target_bps;
    if (sending_bps > c->level)
        c->level = sending_bps;
    double held = c->level * (1 + CC_ALLOC_CUT_SLACK);
    return held > target_bps ? (uint32_t)held : target_bps;
}

uint32_t cc_alloc_fill_want(const cc_alloc_link *l)
{
    /* Without a measured capacity the link is known by what it showed. */
    uint32_t cap = l->capacity_bps ? l->capacity_bps : l->shown_bps;
    if (!l->want_bps || !cap)
        return 0;
    if (l->carried_bps && l->want_bps < l->carried_bps * CC_ALLOC_FILL_MIN_STEP)
        return 0;
    if (l->limit_age >= 0 && l->limit_age < CC_ALLOC_FILL_QUIET &&
        l->shown_bps >= cap * CC_ALLOC_FILL_SHOWN_SHARE)
        return 0; /* at a limit it has shown */
    if (!l->capacity_bps) /* a step at a time */
        return l->want_bps > cap * CC_ALLOC_FILL_STEP_SHOWN
                   ? (uint32_t)(cap * CC_ALLOC_FILL_STEP_SHOWN)
                   : l->want_bps;
    if (l->want_bps > cap * CC_ALLOC_FILL_STEP || l->want_bps < cap * CC_ALLOC_FILL_MIN_STEP)
        return 0;
    return l->want_bps;
}
