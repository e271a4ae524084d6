/* classcast SFU: the control thread's side. SDP offers of publishers and
 * subscribers answered with the peer state for the worker, renegotiations
 * merged into the live state on the worker, and the teacher's decisions
 * about senders (mute, camera to teachers only, last N). */
#include "sfu_priv.h"

#define SFU_MAX_OUTS CC_SDP_MAX_MEDIA

/* ------------------------------------------------------------------ */
/* control thread: offers and answers                                   */
/* ------------------------------------------------------------------ */

static uint32_t fresh_ssrc(const sfu_peer *pp, const cc_sdp_offer *o,
                           const cc_sfu_out_info *prev, int n_prev)
{
    for (;;) {
        uint32_t v = cc_rand_u32();
        int clash = v == 0;
        for (int i = 0; i < pp->n_out; i++) /* the one being made too */
            clash |= pp->out[i].fwd.cfg.ssrc == v || pp->out[i].rtx_ssrc == v;
        for (int i = 0; i < n_prev; i++)
            clash |= prev[i].ssrc == v || prev[i].rtx_ssrc == v;
        clash |= pp->rtcp_ssrc == v;
        for (int m = 0; m < o->n_media; m++)
            for (int k = 0; k < o->media[m].n_ssrcs; k++)
                clash |= o->media[m].ssrcs[k] == v;
        if (!clash)
            return v;
    }
}

/* Which track an m-line feeds (publisher) or receives (subscriber):
 * slot_of -1 to reject it. A (owner, slot) pair is used at most once. */
static void map_slots(const cc_sdp_offer *o, int publisher,
                      const cc_sfu_track_map *map, int n_map,
                      int slot_of[CC_SDP_MAX_MEDIA], uint32_t owner_of[CC_SDP_MAX_MEDIA])
{
    int nvideo = 0, naudio = 0;
    for (int i = 0; i < CC_SDP_MAX_MEDIA; i++) {
        slot_of[i] = -1;
        owner_of[i] = 0;
    }
    for (int i = 0; i < o->n_media && i < CC_SDP_MAX_MEDIA; i++) {
        const cc_sdp_media *m = &o->media[i];
        int slot = -1;
        uint32_t owner = 0;
        if (map && n_map > 0) {
            for (int k = 0; k < n_map; k++)
                if (strcmp(map[k].mid, m->mid) == 0) {
                    slot = map[k].slot;
                    owner = publisher ? 0 : map[k].owner;
                }
        } else if (m->kind == CC_MEDIA_VIDEO) {
            slot = nvideo == 0 ? CC_SLOT_CAMERA : nvideo == 1 ? CC_SLOT_SCREEN : -1;
        } else if (m->kind == CC_MEDIA_AUDIO) {
            slot = naudio == 0 ? CC_SLOT_MIC : -1;
        }
        if (m->kind == CC_MEDIA_VIDEO)
            nvideo++;
        else if (m->kind == CC_MEDIA_AUDIO)
            naudio++;
        if (slot < 0 || slot >= CC_SLOT_COUNT)
            continue;
        int dup = 0;
        for (int k = 0; k < i; k++)
            dup |= slot_of[k] == slot && owner_of[k] == owner;
        if (dup)
            continue;
        int video = m->kind == CC_MEDIA_VIDEO, audio = m->kind == CC_MEDIA_AUDIO;
        if (sfu_slot_is_video(slot) ? !video : !audio)
            continue;
        /* The browser must send on a published line and receive on a
         * subscribed one (RFC 3264 6.1). */
        int ok = publisher ? (m->direction == CC_DIR_SENDONLY ||
                              m->direction == CC_DIR_SENDRECV)
                           : (m->direction == CC_DIR_RECVONLY ||
                              m->direction == CC_DIR_SENDRECV);
        if (!ok || (m->port == 0 && !m->bundle_only))
            continue;
        slot_of[i] = slot;
        owner_of[i] = owner;
    }
}

static int prepare(int publisher, const char *offer_text, size_t len,
                   const cc_sfu_params *p, uint32_t room_id,
                   uint32_t member_id, const cc_sfu_track_map *map, int n_map,
                   const char *reuse_ufrag, const char *reuse_pwd,
                   const cc_sfu_out_info *prev, int n_prev,
                   char **answer, cc_worker_msg_add **msg_out, char *err,
                   size_t errcap)
{
    *answer = NULL;
    *msg_out = NULL;
    if (errcap)
        err[0] = 0;
    cc_sdp_offer *offer = calloc(1, sizeof *offer);
    cc_sdp_answer_params *ap = calloc(1, sizeof *ap);
    sfu_peer *pp = calloc(1, sizeof *pp);
    cc_worker_msg_add *msg = cc_worker_msg_add_new();
    cc_sdp_choice choices[CC_SDP_MAX_MEDIA];
    int slot_of[CC_SDP_MAX_MEDIA];
    uint32_t owner_of[CC_SDP_MAX_MEDIA];
    char ufrag[CC_ICE_MAX_CRED], pwd[CC_ICE_MAX_CRED];
    int rc = CC_ENOMEM;
    if (!offer || !ap || !pp || !msg) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    if (!p || !p->fingerprint || !offer_text) {
        rc = CC_EINVAL;
        snprintf(err, errcap, "missing offer or server parameters");
        goto out;
    }
    rc = cc_sdp_parse(offer_text, len, offer);
    if (rc != 0) {
        snprintf(err, errcap, "bad SDP offer: %s", offer->error);
        goto out;
    }
    pp->publisher = publisher;
    pp->room_id = room_id;
    pp->member_id = member_id;
    if (reuse_ufrag && reuse_pwd) {
        snprintf(ufrag, sizeof ufrag, "%s", reuse_ufrag);
        snprintf(pwd, sizeof pwd, "%s", reuse_pwd);
    } else {
        char u[CC_ICE_UFRAG_LEN + 1], pw[CC_ICE_PWD_LEN + 1];
        cc_ice_make_credentials(u, pw);
        snprintf(ufrag, sizeof ufrag, "%s", u);
        snprintf(pwd, sizeof pwd, "%s", pw);
    }
    cc_rand_token(pp->cname, 16);
    snprintf(pp->ufrag, sizeof pp->ufrag, "%s", ufrag);
    ap->ice_ufrag = ufrag;
    ap->ice_pwd = pwd;
    ap->fingerprint = p->fingerprint;
    ap->cname = pp->cname;
    ap->n_candidates = p->n_candidates;
    memcpy(ap->candidates, p->candidates, sizeof ap->candidates);
    /* Publishers: REMB (see SFU_REMB_BPS); no RTX: losses are repaired by
     * NACK on the media SSRC. Subscribers: RTX where offered (RFC 4588:
     * retransmissions and bandwidth probes on their own stream), else
     * retransmissions reuse the subscriber's SSRC and seq. */
    ap->enable_remb = publisher;
    ap->want_rtx = !publisher;
    /* Publishers may send camera and screen as simulcast encodings
     * (RFC 8853); each subscriber gets the one its link carries. Not
     * with `--no-simulcast`: one encoding of each, as the teacher pages
     * are told, whatever a WHIP client offers. */
    ap->accept_simulcast = publisher && !p->no_simulcast;
    /* transport-cc (draft-holmer-rmcat-transport-wide-cc-extensions-01):
     * publishers get feedback so the browser's own send-side estimator
     * sees the real uplink (the fixed REMB stays only for senders that do
     * not offer it); subscribers send us feedback that drives their
     * estimate (docs/bwe.md). */
    ap->enable_twcc = 1;
    map_slots(offer, publisher, map, n_map, slot_of, owner_of);
    for (int i = 0; i < offer->n_media && i < CC_SDP_MAX_MEDIA; i++)
        ap->send[i] = !publisher && slot_of[i] >= 0;
    rc = cc_sdp_choose(offer, ap, choices);
    if (rc == 0)
        cc_sdp_settle_bundle(offer, choices);
    int n_ok = 0;
    for (int i = 0; rc == 0 && i < offer->n_media && i < CC_SDP_MAX_MEDIA; i++) {
        if (!choices[i].accepted) {
            slot_of[i] = -1;
            continue;
        }
        /* Forwarded packets carry no header extensions (ids are per
         * transport and must not leak from the publisher's to a
         * subscriber's), so do not promise abs-send-time/audio-level to
         * a subscriber; mid stays (a publisher's unsignalled SSRCs bind
         * by it). A publisher's abs-send-time feeds the estimate of its
         * uplink (upbwe.h). */
        if (!publisher)
            choices[i].ext_abs_send_time = 0;
        if (!(choices[i].fb & CC_FB_TWCC))
            choices[i].ext_twcc = 0;
        if (slot_of[i] < 0) {
            /* A usable line with no slot (a camera the teacher turned
             * off, a line more than the lesson has) stays in the BUNDLE
             * group, marked inactive (RFC 3264 section 6), rather than
             * rejected: it may be the line that carries the group's
             * transport, and Chromium refuses an answer that rejects
             * that one while it keeps the others (it cannot move the
             * transport, RFC 8843 section 7.3.3). */
            choices[i].direction = CC_DIR_INACTIVE;
            choices[i].ext_audio_level = 0;
            continue;
        }
        n_ok++;
        if (!publisher) {
            choices[i].ext_audio_level = 0;
            /* RFC 3264 6.1: a sendrecv offer may be answered sendonly: a
             * student's browser then sends nothing. */
            choices[i].direction = CC_DIR_SENDONLY;
        }
    }
    if (rc == 0) {
        /* One extension id space per BUNDLE transport (RFC 8843 section
         * 9.1): the first accepted line that has it names it. With
         * transport-cc a fixed REMB would cap a publishing browser's
         * estimate: REMB is promised to such a publisher only when it
         * also sends abs-send-time, and then carries the cap of the
         * uplink estimate, once that has seen a limit (sfu_pub_tick). A
         * subscriber's lines that did not offer transport-cc send
         * without the element (their packets are then outside the
         * estimate). */
        for (int i = 0; i < offer->n_media && i < CC_SDP_MAX_MEDIA; i++) {
            if (!choices[i].accepted || slot_of[i] < 0)
                continue;
            if (choices[i].ext_twcc && !pp->ext_twcc)
                pp->ext_twcc = choices[i].ext_twcc;
            if (publisher && choices[i].ext_abs_send_time && !pp->ext_abs)
                pp->ext_abs = choices[i].ext_abs_send_time;
        }
        for (int i = 0; i < offer->n_media && i < CC_SDP_MAX_MEDIA; i++) {
            if (choices[i].ext_abs_send_time && choices[i].ext_abs_send_time != pp->ext_abs)
                choices[i].ext_abs_send_time = 0;
            if (!pp->ext_twcc)
                continue;
            if (publisher && !pp->ext_abs)
                choices[i].fb &= ~(unsigned)CC_FB_REMB;
            if (choices[i].ext_twcc && choices[i].ext_twcc != pp->ext_twcc)
                choices[i].ext_twcc = 0;
        }
    }
    if (rc != 0 || n_ok == 0) {
        rc = CC_EUNSUPPORTED;
        snprintf(err, errcap,
                 publisher ? "the offer has no sendable VP8 video or Opus audio "
                             "m-line for the camera, screen or mic slot"
                           : "the offer has no receivable VP8 video or Opus "
                             "audio m-line for the camera, screen or mic slot");
        goto out;
    }
    if (publisher)
        pp->rtcp_ssrc = fresh_ssrc(pp, offer, prev, n_prev);
    for (int i = 0; i < CC_SLOT_COUNT; i++)
        pp->in[i].feed = -1;
    for (int i = 0; i < offer->n_media && i < CC_SDP_MAX_MEDIA; i++) {
        int slot = slot_of[i];
        if (slot < 0)
            continue;
        const cc_sdp_media *m = &offer->media[i];
        int clock_rate = 0;
        for (int c = 0; c < m->n_codecs; c++)
            if (m->codecs[c].pt == choices[i].pt)
                clock_rate = m->codecs[c].clock_rate;
        if (choices[i].ext_mid)
            pp->ext_mid = choices[i].ext_mid;
        if (publisher && m->kind == CC_MEDIA_AUDIO && choices[i].ext_audio_level)
            pp->ext_level = choices[i].ext_audio_level;
        if (publisher) {
            sfu_in *in = &pp->in[slot];
            in->track = calloc(1, sizeof *in->track);
            if (!in->track) {
                rc = CC_ENOMEM;
                snprintf(err, errcap, "out of memory");
                goto out;
            }
            in->active = 1;
            in->pt = choices[i].pt;
            snprintf(in->mid, sizeof in->mid, "%s", m->mid);
            cc_track_init(in->track, 0, slot, sfu_slot_is_video(slot), clock_rate);
            in->track->ssrc = m->fid_primary ? m->fid_primary
                                             : (m->n_ssrcs ? m->ssrcs[0] : 0);
            in->track->nack_enabled = (choices[i].fb & CC_FB_NACK) != 0;
            in->n_enc = 1;
            in->enc[0] = in->track;
            if (choices[i].n_sim >= 2 && choices[i].ext_rid) {
                /* Simulcast (RFC 8853): a track per encoding, lowest
                 * first as the offer lists them; SSRCs bind by rid. */
                int n = choices[i].n_sim > SFU_SIM ? SFU_SIM : choices[i].n_sim;
                in->track->ssrc = 0;
                in->enc[0] = NULL;
                for (int k = 0; k < n; k++) {
                    cc_track *t = k == n - 1 ? in->track : calloc(1, sizeof *t);
                    if (!t) {
                        rc = CC_ENOMEM;
                        snprintf(err, errcap, "out of memory");
                        goto out;
                    }
                    if (t != in->track) {
                        cc_track_init(t, 0, slot, 1, clock_rate);
                        t->nack_enabled = in->track->nack_enabled;
                    }
                    in->enc[k] = t;
                    in->n_enc = k + 1;
                    snprintf(in->rid[k], sizeof in->rid[k], "%s", choices[i].sim[k]);
                }
                pp->ext_rid = choices[i].ext_rid;
            }
            if (choices[i].fb & CC_FB_REMB)
                pp->remb = 1;
        } else {
            if (!pp->out) {
                pp->out = calloc(SFU_MAX_OUTS, sizeof *pp->out);
                if (!pp->out) {
                    rc = CC_ENOMEM;
                    snprintf(err, errcap, "out of memory");
                    goto out;
                }
            }
            if (pp->n_out >= SFU_MAX_OUTS)
                continue;
            uint32_t owner = owner_of[i];
            /* The same mid carrying the same track keeps its SSRC (an
             * in-place renegotiation: the browser sees no change). */
            uint32_t keep = 0, keep_rtx = 0;
            for (int k = 0; k < n_prev; k++)
                if (strcmp(prev[k].mid, m->mid) == 0 && prev[k].slot == slot &&
                    prev[k].owner == owner) {
                    keep = prev[k].ssrc;
                    keep_rtx = prev[k].rtx_ssrc;
                }
            sfu_out *o = &pp->out[pp->n_out++];
            cc_fwd_config fc = {
                .ssrc = keep ? keep : fresh_ssrc(pp, offer, prev, n_prev),
                .pt = (uint8_t)choices[i].pt,
                .video = sfu_slot_is_video(slot),
                .clock_rate = clock_rate,
                .initial_seq = (uint16_t)cc_rand_u32(),
                .initial_ts = cc_rand_u32(),
                .initial_picture_id = (uint16_t)(cc_rand_u32() & 0x7fff),
                .initial_tl0 = (uint8_t)cc_rand_u32(),
                .ext_twcc = (uint8_t)(choices[i].ext_twcc ? pp->ext_twcc : 0),
            };
            cc_fwd_init(&o->fwd, &fc);
            cc_layerctl_init(&o->lc, 0);
            o->alloc_tid = CC_FWD_ALL_LAYERS;
            /* Until allocated: a subscriber with a send-side estimate
             * (transport-cc) starts on the lowest encoding and is moved up
             * as its link shows room (sfu_feedback.c, sub_alloc); one
             * without starts on the top, where its allocation (no
             * estimate: every stream at its best) would take it anyway.
             * Starting low spares the others: a browser answers a
             * keyframe request for any encoding with a keyframe in every
             * encoding (libwebrtc's VP8 simulcast encoder), so a weak
             * tablet that started on the top kept asking for keyframes it
             * could not carry (its replay overflowing, its switch down),
             * and each put a 1080p screen keyframe in front of every
             * student on the top encoding (docs/bwe.md, section 5,
             * "Start"). */
            o->want_enc = pp->ext_twcc ? 0 : SFU_SIM - 1;
            o->cur_enc = -1;
            if (choices[i].rtx_pt >= 0 && fc.video) {
                o->rtx_pt = (uint8_t)choices[i].rtx_pt;
                o->rtx_ssrc = keep_rtx ? keep_rtx : fresh_ssrc(pp, offer, prev, n_prev);
                o->rtx_seq = (uint16_t)cc_rand_u32();
                ap->streams[i].rtx_ssrc = o->rtx_ssrc;
            } else {
                choices[i].rtx_pt = -1;
            }
            o->active = 1;
            o->slot = slot;
            o->owner = owner;
            snprintf(o->mid, sizeof o->mid, "%s", m->mid);
            /* RFC 8830: one MediaStream per sender (the lesson's for the
             * teacher), so the browser synchronises its camera and mic
             * (one sync group). */
            ap->streams[i].ssrc = fc.ssrc;
            if (owner)
                snprintf(ap->streams[i].stream_id, sizeof ap->streams[i].stream_id,
                         "lesson-%u-m%u", room_id, owner);
            else
                snprintf(ap->streams[i].stream_id, sizeof ap->streams[i].stream_id,
                         "lesson-%u", room_id);
            if (owner)
                snprintf(ap->streams[i].track_id, sizeof ap->streams[i].track_id,
                         "m%u-%s", owner, sfu_slot_names[slot]);
            else
                snprintf(ap->streams[i].track_id, sizeof ap->streams[i].track_id,
                         "%s", sfu_slot_names[slot]);
        }
    }
    rc = cc_sdp_write_answer(offer, ap, choices, answer);
    if (rc != 0) {
        snprintf(err, errcap, "could not write the SDP answer: %s", cc_strerror(rc));
        goto out;
    }
    rc = cc_worker_msg_add_transport(msg, ufrag, pwd, offer, choices, err, errcap);
    if (rc != 0)
        goto out;
    msg->app = &cc_sfu_app;
    msg->app_state = pp;
    msg->free_app_state = sfu_peer_state_free;
    pp = NULL;
    *msg_out = msg;
    msg = NULL;
    rc = 0;
out:
    if (rc != 0) {
        free(*answer);
        *answer = NULL;
    }
    free(offer);
    free(ap);
    sfu_peer_state_free(pp);
    if (msg)
        cc_msg_free(&msg->hdr);
    return rc;
}

int cc_sfu_prepare_publisher(const char *offer, size_t len,
                             const cc_sfu_params *p, uint32_t room_id,
                             uint32_t member_id, const cc_sfu_track_map *map,
                             int n_map, char **answer, cc_worker_msg_add **msg,
                             char *err, size_t errcap)
{
    return prepare(1, offer, len, p, room_id, member_id, map, n_map, NULL,
                   NULL, NULL, 0, answer, msg, err, errcap);
}

int cc_sfu_prepare_publisher_update(const char *offer, size_t len,
                                    const cc_sfu_params *p, uint32_t room_id,
                                    uint32_t member_id,
                                    const cc_sfu_track_map *map, int n_map,
                                    const char *local_ufrag,
                                    const char *local_pwd, char **answer,
                                    cc_worker_msg_add **msg, char *err,
                                    size_t errcap)
{
    if (!local_ufrag || !local_pwd) {
        snprintf(err, errcap, "no transport to renegotiate");
        return CC_EINVAL;
    }
    return prepare(1, offer, len, p, room_id, member_id, map, n_map,
                   local_ufrag, local_pwd, NULL, 0, answer, msg, err, errcap);
}

/* Worker: merge a renegotiated publisher state into the live one. */
static void do_update_publisher(cc_worker *w, void *arg, cc_time_us now)
{
    (void)now;
    cc_worker_msg_add *msg = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_peer *np = msg->app_state;
    cc_wpeer *wp = cc_worker_find_peer(w, msg->local_ufrag);
    sfu_peer *op = wp ? cc_wpeer_app_state(wp) : NULL;
    if (!s || !np || !op || !op->publisher || op->room_id != np->room_id) {
        CC_INFO("sfu", "update for %s: no such live publisher", msg->local_ufrag);
        return;
    }
    sfu_room *r = op->room;
    for (int i = 0; i < CC_SLOT_COUNT; i++) {
        sfu_in *o = &op->in[i], *n = &np->in[i];
        if (o->active && n->active && strcmp(o->mid, n->mid) == 0 && o->n_enc == n->n_enc) {
            o->pt = n->pt; /* same m-line: keep its tracks and source state */
            for (int k = 0; k < o->n_enc; k++)
                o->enc[k]->nack_enabled = n->enc[k]->nack_enabled;
            continue;
        }
        if (o->active) {
            if (r)
                sfu_slot_fallback(w, s, r, op, i);
            sfu_in_free_tracks(o);
            memset(o, 0, sizeof *o);
        }
        if (n->active) {
            *o = *n;
            memset(n, 0, sizeof *n);
            sfu_bind_learnt(op, o);
            for (int k = 0; r && k < o->n_enc; k++)
                o->enc[k]->id = ++s->next_track_id;
        }
    }
    op->ext_mid = np->ext_mid;
    op->ext_rid = np->ext_rid;
    op->ext_level = np->ext_level;
    op->remb = np->remb;
    op->ext_abs = np->ext_abs; /* same transport: the estimate stays */
    /* Same transport, same transport-wide numbers: the feedback state
     * stays; a renegotiation that drops transport-cc drops it. */
    op->ext_twcc = np->ext_twcc;
    if (!op->ext_twcc) {
        free(op->twcc);
        op->twcc = NULL;
    }
    if (r) {
        sfu_room_update_mask(w, r, op);
        sfu_cache_rebalance(s);
        sfu_mirror_sync_room(s, r);
    }
    CC_INFO("sfu", "room %u: publisher %u renegotiated (%s)", op->room_id,
            op->member_id, op->ufrag);
}

static void free_update_msg(void *arg) { cc_msg_free(&((cc_worker_msg_add *)arg)->hdr); }

int cc_sfu_update_publisher(cc_worker *w, cc_worker_msg_add *msg)
{
    return cc_worker_call(w, do_update_publisher, msg, free_update_msg);
}

int cc_sfu_prepare_subscriber(const char *offer, size_t len,
                              const cc_sfu_params *p, uint32_t room_id,
                              uint32_t member_id, const cc_sfu_track_map *map,
                              int n_map, char **answer,
                              cc_worker_msg_add **msg, char *err, size_t errcap)
{
    return prepare(0, offer, len, p, room_id, member_id, map, n_map, NULL,
                   NULL, NULL, 0, answer, msg, err, errcap);
}

int cc_sfu_prepare_subscriber_update(const char *offer, size_t len,
                                     const cc_sfu_params *p, uint32_t room_id,
                                     uint32_t member_id, const cc_sfu_track_map *map,
                                     int n_map, const char *local_ufrag,
                                     const char *local_pwd, const cc_sfu_out_info *prev,
                                     int n_prev, char **answer, cc_worker_msg_add **msg,
                                     char *err, size_t errcap)
{
    if (!local_ufrag || !local_pwd) {
        snprintf(err, errcap, "no transport to renegotiate");
        return CC_EINVAL;
    }
    return prepare(0, offer, len, p, room_id, member_id, map, n_map, local_ufrag,
                   local_pwd, prev, n_prev, answer, msg, err, errcap);
}

void cc_sfu_msg_set_member(cc_worker_msg_add *msg, uint32_t owner, int is_teacher)
{
    sfu_peer *pp = msg ? msg->app_state : NULL;
    if (!pp)
        return;
    pp->owner = owner;
    pp->is_teacher = is_teacher;
}

int cc_sfu_msg_outs(const cc_worker_msg_add *msg, cc_sfu_out_info *out, int max)
{
    const sfu_peer *pp = msg ? msg->app_state : NULL;
    int n = 0;
    for (int i = 0; pp && i < pp->n_out && n < max; i++) {
        const sfu_out *o = &pp->out[i];
        if (!o->active)
            continue;
        snprintf(out[n].mid, sizeof out[n].mid, "%s", o->mid);
        out[n].slot = o->slot;
        out[n].owner = o->owner;
        out[n].ssrc = o->fwd.cfg.ssrc;
        out[n].rtx_ssrc = o->rtx_ssrc;
        n++;
    }
    return n;
}

/* Worker: a renegotiated subscriber state replaces the live one; outs
 * that keep their mid and SSRC keep their rewrite and layer state. */
static void do_update_subscriber(cc_worker *w, void *arg, cc_time_us now)
{
    cc_worker_msg_add *msg = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_peer *np = msg->app_state;
    cc_wpeer *wp = cc_worker_find_peer(w, msg->local_ufrag);
    sfu_peer *op = wp ? cc_wpeer_app_state(wp) : NULL;
    if (!s || !np || !op || op->publisher || op->room_id != np->room_id) {
        CC_INFO("sfu", "update for %s: no such live subscriber", msg->local_ufrag);
        return;
    }
    if (op->pq) {
        /* The queue names outs by index: it goes before they change. */
        int pacing = op->pacing;
        op->pacing = 0;
        sfu_sub_drain(w, s, op, now);
        op->pacing = pacing;
    }
    for (int i = 0; i < np->n_out; i++) {
        sfu_out *n = &np->out[i];
        for (int k = 0; k < op->n_out; k++) {
            sfu_out *o = &op->out[k];
            if (o->active && strcmp(o->mid, n->mid) == 0 &&
                o->fwd.cfg.ssrc == n->fwd.cfg.ssrc && o->owner == n->owner &&
                o->slot == n->slot) {
                /* The payload types may change, and the extension id. */
                cc_fwd_config fc = n->fwd.cfg;
                uint32_t rtx_ssrc = n->rtx_ssrc;
                uint8_t rtx_pt = n->rtx_pt;
                *n = *o;
                n->fwd.cfg.pt = fc.pt;
                n->fwd.cfg.ext_twcc = fc.ext_twcc;
                if (rtx_ssrc != n->rtx_ssrc) {
                    n->rtx_ssrc = rtx_ssrc;
                    n->rtx_seq = (uint16_t)cc_rand_u32();
                }
                n->rtx_pt = rtx_pt;
                break;
            }
        }
    }
    op->ext_twcc = np->ext_twcc;
    /* The new array is taken over; the old one goes with np. */
    sfu_out *old = op->out;
    op->out = np->out;
    op->n_out = np->n_out;
    np->out = old;
    np->n_out = 0;
    if (op->room) {
        sfu_sub_remap(op->room, op);
        for (int i = 0; i < op->n_out; i++) {
            cc_track *t = !op->out[i].fwd.started ? sfu_out_track(op->room, &op->out[i]) : NULL;
            if (t && t->video && !op->out[i].wait_since)
                op->out[i].wait_since = now;
            if (t)
                sfu_out_keyframe(w, s, op->room, &op->out[i], now);
        }
    }
    CC_INFO("sfu", "room %u: subscriber %u renegotiated (%s): %d streams", op->room_id,
            op->member_id, op->ufrag, op->n_out);
}

int cc_sfu_update_subscriber(cc_worker *w, cc_worker_msg_add *msg)
{
    return cc_worker_call(w, do_update_subscriber, msg, free_update_msg);
}

typedef struct sender_call {
    uint32_t room_id, owner;
    int muted, teacher_only, last_n;
} sender_call;

static void do_set_sender(cc_worker *w, void *arg, cc_time_us now)
{
    (void)now;
    sender_call *c = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_room *r = s ? sfu_room_find(s, c->room_id) : NULL;
    if (!r)
        return;
    sfu_policy *p = sfu_policy_of(r, c->owner, 1);
    if (p) {
        p->muted = c->muted;
        p->teacher_only = c->teacher_only;
    }
    for (int i = 0; i < CC_SFU_MAX_FEEDS; i++)
        if (r->feeds[i].used && r->feeds[i].owner == c->owner) {
            int mute = c->muted && r->feeds[i].slot == CC_SLOT_MIC;
            /* From now on its packets stop before the fan-out: hold every
             * subscriber's stream once, so the numbers continue on unmute. */
            if (mute && !r->feeds[i].muted)
                for (sfu_peer *sp = r->subs; sp; sp = sp->next)
                    if (sp->feed_out[i] >= 0)
                        cc_fwd_hold(&sp->out[sp->feed_out[i]].fwd);
            r->feeds[i].muted = mute;
            r->feeds[i].teacher_only = c->teacher_only && r->feeds[i].slot == CC_SLOT_CAMERA;
        }
    /* A muted sender is not speaking. */
    if (c->muted && c->owner)
        cc_speakers_remove(&r->speakers, c->owner);
    sfu_mirror_sync_room(s, r);
    sfu_room_update_shown(w, s, r, NULL);
    CC_INFO("sfu", "room %u: sender %u%s%s", r->id, c->owner, c->muted ? " muted" : "",
            c->teacher_only ? " (camera to teachers only)" : "");
}

int cc_sfu_set_sender(cc_worker *w, uint32_t room_id, uint32_t owner, int muted,
                      int teacher_only)
{
    sender_call *c = calloc(1, sizeof *c);
    if (!c)
        return CC_ENOMEM;
    *c = (sender_call){.room_id = room_id, .owner = owner, .muted = muted,
                       .teacher_only = teacher_only};
    return cc_worker_call(w, do_set_sender, c, free);
}

static void do_set_last_n(cc_worker *w, void *arg, cc_time_us now)
{
    (void)now;
    sender_call *c = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_room *r = s ? sfu_room_find(s, c->room_id) : NULL;
    if (!r || r->last_n == c->last_n)
        return;
    r->last_n = c->last_n;
    sfu_room_update_shown(w, s, r, NULL);
}

/* A member joined and will subscribe within a few tens of milliseconds:
 * the teacher's video streams whose last keyframe will be too old to
 * start it on by then are asked for one now (coalesced as any request),
 * so that it is kept, fresh, when the subscriber connects (out_replay).
 * Earlier than sfu_on_added (the answer) by the page's offer and the
 * subscribe's round trip: the local encoder's keyframe takes one frame
 * interval and its encode, 40-100 ms, about as long as ICE and DTLS. */
static void do_expect_viewer(cc_worker *w, void *arg, cc_time_us now)
{
    const sender_call *c = arg;
    cc_sfu *s = cc_worker_app_ud(w);
    sfu_room *r = s ? sfu_room_find(s, c->room_id) : NULL;
    int64_t max_age = s ? __atomic_load_n(&s->replay_age, __ATOMIC_RELAXED) : 0;
    if (!r || r->mirror_of || max_age <= 0)
        return;
    for (int slot = 0; slot < CC_SLOT_COUNT; slot++) {
        const sfu_feed *f = &r->feeds[sfu_feed_find(r, 0, slot)];
        if (!f->used || !f->src || f->muted || !f->src->in[slot].active)
            continue;
        cc_track *t = sfu_main_track(&f->src->in[slot]);
        if (t && t->video && sfu_kf_stale_by_connect(t, max_age, now)) {
            sfu_request_keyframe(w, s, f->src, t, now);
            INC(s, early_keyframe_requests);
        }
    }
}

int cc_sfu_expect_viewer(cc_worker *w, uint32_t room_id)
{
    sender_call *c = calloc(1, sizeof *c);
    if (!c)
        return CC_ENOMEM;
    c->room_id = room_id;
    return cc_worker_call(w, do_expect_viewer, c, free);
}

int cc_sfu_set_last_n(cc_worker *w, uint32_t room_id, int n)
{
    if (n < 0 || n > CC_SFU_MAX_LAST_N)
        return CC_EINVAL;
    sender_call *c = calloc(1, sizeof *c);
    if (!c)
        return CC_ENOMEM;
    c->room_id = room_id;
    c->last_n = n;
    return cc_worker_call(w, do_set_last_n, c, free);
}
