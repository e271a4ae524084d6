/* classcast SFU: feedback. Keyframe requests towards a publisher, RTCP from
 * subscribers and publishers (NACK repair, PLI/FIR, receiver reports,
 * transport-cc, REMB), and the ticks: a publisher's RR, NACKs and feedback,
 * a subscriber's pacing, probes, layer allocation and sender reports. */
#include "sfu_priv.h"

/* Keyframe requests to one publisher track: at most one per 300 ms. A
 * Chromium encoder answers a PLI with a keyframe within a frame or two; a
 * class of students joining within a second costs a few keyframes, not one
 * each. */
#define SFU_PLI_GAP (300 * CC_USEC_PER_MSEC)
/* classcast's own encoder (a local publisher) answers every request with
 * its next frame: its requests are coalesced over a shorter gap, so a
 * join whose early keyframe came too soon is not held for 300 ms. */
#define SFU_LOCAL_KF_GAP (100 * CC_USEC_PER_MSEC)
#define SFU_KF_GAP(pub) ((pub)->local ? SFU_LOCAL_KF_GAP : SFU_PLI_GAP)
/* REMB cap sent to a publisher (camera + screen together). Without
 * transport-cc feedback a Chromium sender has only its loss-based
 * estimate, which starts low and grows slowly; a REMB tells its bandwidth
 * estimator how much the receiver side can take, so the encoders ramp up
 * promptly to classroom quality, and the value also caps them so one
 * teacher cannot saturate a school's uplink. */
#define SFU_REMB_BPS 2500000u
#define SFU_REPLAY_REPAIR (5 * CC_USEC_PER_SEC)
/* Receiver reports this soon after a kept chain went out cover its burst:
 * its loss, and the NACKs a receiver repeats for it (Chromium asks again
 * every round trip, up to 10 times; a 300 kbit/s student's round trip
 * behind its queue was ~190 ms, and with a 1.5 s grace its first judged
 * report still held NACKs of as many packets as were sent). */
#define SFU_REPLAY_GRACE (3 * CC_USEC_PER_SEC)
#define SFU_ALLOC_LOSS 0.05 /* loss that counts as a limit of the path */
#define SFU_ALLOC_QUEUE (100 * CC_USEC_PER_MSEC) /* ... and a standing queue */
/* ... or a round trip this much over the least it has had. The one-way
 * queue estimate is the least of 200 ms, and a join's burst can leave a
 * moment in it: the 300 kbit/s student of scripts/bench/links had a round
 * trip of 371 ms (its first feedback's: ~10 ms for the others) with a
 * queue read at 99 ms, was taken as unlimited, moved onto the top
 * encodings, and lost 43 % of a second's packets. */
#define SFU_ALLOC_RTT_QUEUE (200 * CC_USEC_PER_MSEC)
/* The estimate must hold a camera down this long before the page hears
 * its link is weak (loss says it at once). */
#define SFU_WEAK_HOLD (4 * CC_USEC_PER_SEC)
/* Probe padding packets: the most RFC 3550 padding allows. */
#define SFU_PROBE_PAD 255

/* ------------------------------------------------------------------ */
/* feedback towards a publisher                                         */
/* ------------------------------------------------------------------ */

/* RFC 4585 section 6.3.1 PLI for one publisher track: sent now, or
 * coalesced with one in flight or due soon (cc_track_kf_want). */
static void send_keyframe_request(cc_worker *w, cc_sfu *s, sfu_peer *pub, cc_track *t)
{
    if (pub->local) {
        sfu_local_keyframe(pub, t->slot);
        INC(s, pli_sent);
        return;
    }
    uint8_t buf[16];
    int n = cc_rtcp_write_pli(buf, sizeof buf, pub->rtcp_ssrc, t->ssrc);
    if (n > 0 && cc_worker_send_rtcp(w, pub->wp, buf, (size_t)n) == 0)
        INC(s, pli_sent);
}

void sfu_request_keyframe(cc_worker *w, cc_sfu *s, sfu_peer *pub,
                          cc_track *t, cc_time_us now)
{
    if (!t || !t->video || !t->ssrc || (!pub->wp && !pub->local))
        return;
    if (cc_track_kf_want(t, now, SFU_KF_GAP(pub)))
        send_keyframe_request(w, s, pub, t);
    else
        INC(s, pli_coalesced);
}

/* A wait remembered by cc_track_kf_want whose time has come (no packet
 * need arrive: a still screen sends none). */
static void keyframe_due(cc_worker *w, cc_sfu *s, sfu_peer *pub, cc_time_us now)
{
    cc_track *ts[SFU_MAX_TRACKS];
    int nt = sfu_pub_tracks(pub, ts);
    for (int j = 0; j < nt; j++) {
        cc_track *t = ts[j];
        if (t->video && t->ssrc && t->kf_wanted && cc_track_kf_due(t, now, SFU_KF_GAP(pub)))
            send_keyframe_request(w, s, pub, t);
    }
}

/* The feedback that is due (every 50 ms, or sooner after a burst), each a
 * transport-cc RTPFB packet of its own (reduced size, RFC 5506, as NACKs). */
static void twcc_feedback(cc_worker *w, cc_sfu *s, sfu_peer *pp, cc_time_us now)
{
    uint8_t buf[1200];
    int n;
    for (int k = 0; k < 8 && (n = cc_twcc_recv_poll(pp->twcc, now, buf, sizeof buf)) > 0; k++)
        if (cc_worker_send_rtcp(w, pp->wp, buf, (size_t)n) == 0)
            INC(s, twcc_feedback_sent);
}

/* ------------------------------------------------------------------ */
/* RTCP                                                                 */
/* ------------------------------------------------------------------ */

static sfu_out *out_by_ssrc(sfu_peer *pp, uint32_t ssrc)
{
    for (int i = 0; i < pp->n_out; i++)
        if (pp->out[i].active && pp->out[i].fwd.cfg.ssrc == ssrc)
            return &pp->out[i];
    return NULL;
}

/* A repair of a packet of the kept chain o was started on gets the
 * timestamp it went out with (out_replay: one tick a picture from rp_ts),
 * counted again over the chain as the cache still holds it; into buf's
 * RTP header. CC_ENOTFOUND if a packet of the chain up to src_seq is gone. */
static int replay_ts(const cc_track *t, const sfu_out *o, uint16_t src_seq, uint8_t *buf)
{
    uint32_t pics = 0, prev = 0;
    uint16_t k = (uint16_t)(src_seq - o->rp_src_seq);
    for (uint16_t i = 0; i <= k; i++) {
        cc_pkt *p = cc_track_cache_get(t, (uint16_t)(o->rp_src_seq + i));
        cc_rtp_hdr h;
        if (!p || cc_rtp_parse(p->data, p->len, &h) != 0)
            return CC_ENOTFOUND;
        if (i > 0 && h.ts != prev)
            pics++;
        prev = h.ts;
    }
    uint32_t ts = o->rp_ts + pics;
    buf[4] = (uint8_t)(ts >> 24);
    buf[5] = (uint8_t)(ts >> 16);
    buf[6] = (uint8_t)(ts >> 8);
    buf[7] = (uint8_t)ts;
    return 0;
}

/* How long after sending a packet again sp's next NACK of it is taken as
 * one more: its round trip as its estimate measures it (from sending to
 * the feedback that reports it, so the feedback's own wait is in it),
 * else SFU_RESEND_GAP. */
static cc_time_us resend_gap(const sfu_peer *sp)
{
    cc_time_us gap = SFU_RESEND_GAP;
    if (sp->bwe) {
        cc_bwe_stats bs;
        cc_bwe_get_stats(sp->bwe, &bs);
        if (bs.rtt > 0)
            gap = bs.rtt;
    }
    return gap > SFU_RESEND_GAP_MAX ? SFU_RESEND_GAP_MAX : gap;
}

/* RFC 4585 section 6.2.1: each lost seq the subscriber reports is mapped
 * back to the source's seq, taken from the track's cache and sent again as
 * first sent: on the RTX stream if the subscriber took one (RFC 4588
 * section 4), else with the same SSRC and seq (libsrtp's allow_repeat_tx
 * lets the repeat through). */
static void sub_on_nack(cc_worker *w, cc_sfu *s, sfu_peer *sp,
                        const cc_rtcp_fb *fb, cc_time_us now)
{
    uint16_t lost[128];
    size_t n = 0;
    if (cc_rtcp_parse_nack(fb, lost, 128, &n) != 0)
        return;
    ADD(s, nack_received, n);
    sfu_out *o = out_by_ssrc(sp, fb->media_ssrc);
    if (o && o->fwd.cfg.video) {
        /* A NACK for a number the forwarder skipped (the source packet
         * never reached us: upstream loss) is not this link's loss; every
         * subscriber of the stream asks for it. */
        uint32_t own = 0;
        uint64_t rep = o->lc.nack_repeats;
        for (size_t i = 0; i < n; i++)
            if (!cc_fwd_is_gap(&o->fwd, lost[i])) {
                own++;
                cc_layerctl_on_nack_seq(&o->lc, lost[i], now);
            }
        ADD(s, nack_upstream, n - own);
        ADD(s, nack_repeated, o->lc.nack_repeats - rep);
    }
    cc_track *t = o ? sfu_out_track(sp->room, o) : NULL;
    if (!t) {
        ADD(s, nack_cache_miss, n);
        return;
    }
    uint64_t sent = 0, miss = 0, recent = 0;
    if (!sp->resent && !(sp->resent = cc_resent_new()))
        INC(s, cache_alloc_fail); /* then every NACK is answered */
    cc_time_us gap = resend_gap(sp);
    for (size_t i = 0; i < n; i++) {
        uint16_t src_seq;
        cc_pkt *p;
        cc_rtp_hdr h;
        if (cc_fwd_map_seq(&o->fwd, lost[i], &src_seq) != 0) {
            INC(s, nack_miss_unmapped); /* not a number of the current stream */
            miss++;
            continue;
        }
        /* Sent again less than a round trip ago: that repair is still on
         * its way (resent.h). */
        if (!cc_resent_may(sp->resent, (unsigned)(o - sp->out), lost[i], gap, now)) {
            recent++;
            continue;
        }
        if (!(p = cc_track_cache_get(t, src_seq)) ||
            cc_rtp_parse(p->data, p->len, &h) != 0) {
            INC(s, nack_miss_evicted); /* older than the cache keeps */
            miss++;
            continue;
        }
        cc_vp8_desc d;
        int has_d = t->video && h.payload_len > 0 &&
                    cc_vp8_parse(h.payload, h.payload_len, &d) == 0;
        cc_fwd_pkt fp = {.source = t->id, .buf = p->data, .h = &h,
                         .vp8 = has_d ? &d : NULL};
        size_t len;
        uint8_t *slotbuf = cc_worker_tx_begin(w);
        if (cc_fwd_write_again(&o->fwd, &fp, slotbuf, SFU_TX_CAP, &len) != 0) {
            miss++;
            continue;
        }
        if (o->rp_n && o->rp_track == t->id && now - o->rp_at < SFU_REPLAY_REPAIR &&
            (uint16_t)(src_seq - o->rp_src_seq) < o->rp_n &&
            replay_ts(t, o, src_seq, slotbuf) != 0) {
            miss++; /* the chain left the cache: its timestamp is lost */
            continue;
        }
        /* A thinned picture's packet went out as padding: an RTX packet
         * must carry a payload to repair (RFC 4588 section 4), so this
         * one is sent again as it was, on the media SSRC under its own
         * number (as to a subscriber without RTX), which fills the gap. */
        if (o->rtx_ssrc && !(slotbuf[0] & 0x20)) {
            if (cc_fwd_rtx_wrap(slotbuf, &len, SFU_TX_CAP, o->rtx_ssrc, o->rtx_pt,
                                o->rtx_seq) != 0) {
                miss++;
                continue;
            }
            o->rtx_seq++;
            INC(s, rtx_wrapped);
        }
        /* A retransmission is a new packet on the wire: its own number,
         * and on a paced link its turn in the queue (a burst of repairs
         * on a slow link only loses more). */
        if (sfu_sub_emit(w, s, sp, o, slotbuf, len, now)) {
            sent++;
            sp->rtx_bytes += len + SFU_WIRE_OVERHEAD;
        }
    }
    ADD(s, rtx_sent, sent);
    ADD(s, nack_cache_miss, miss);
    ADD(s, nack_within_rtt, recent);
}

/* A subscriber's PLI or FIR for one of its SSRCs becomes a throttled PLI to
 * the publisher feeding that slot (RFC 4585 6.3.1, RFC 5104 4.3.1). */
static void sub_keyframe_request(cc_worker *w, cc_sfu *s, sfu_peer *sp,
                                 uint32_t ssrc, cc_time_us now)
{
    INC(s, pli_received);
    sfu_out *o = out_by_ssrc(sp, ssrc);
    if (o)
        sfu_out_keyframe(w, s, sp->room, o, now);
}

/* The temporal cap of an out: the lower of what its loss allows
 * (layerctl, from receiver reports: Wi-Fi loss) and what its bandwidth
 * estimate carries (sub_alloc: congestion). */
static void out_apply_tid(sfu_out *o)
{
    uint8_t t = o->lc.layer < o->alloc_tid ? o->lc.layer : o->alloc_tid;
    cc_fwd_set_max_tid(&o->fwd, t);
}

/* The page and the teacher are told when the teacher's camera goes below
 * full rate (or is paused) for this subscriber and when it is back, not
 * on every step. */
static void sub_link_event(cc_worker *w, sfu_peer *sp, cc_time_us now)
{
    /* Loss (layerctl) says so at once; the estimate only once it has held
     * the camera down for SFU_WEAK_HOLD (the estimate starts low and
     * climbs in the first seconds, and a short dip is not worth a word). */
    int lossy = 0, limited = 0;
    for (int i = 0; i < sp->n_out; i++) {
        const sfu_out *o = &sp->out[i];
        if (!o->active || o->slot != CC_SLOT_CAMERA || o->owner != 0)
            continue;
        lossy |= o->lc.layer < CC_LAYERCTL_TOP;
        limited |= o->alloc_below;
    }
    if (!limited)
        sp->limited_since = 0;
    else if (!sp->limited_since)
        sp->limited_since = now;
    int weak = lossy || (limited && now - sp->limited_since >= SFU_WEAK_HOLD);
    if (weak != sp->link_weak) {
        sp->link_weak = weak;
        sfu_emit_ev(w, sp, CC_SFU_EV_LINK, 0, weak);
    }
}

/* A subscriber's receiver report: per video stream, the loss it reports
 * (and the NACKs since the last one), less what never reached the SFU
 * from the publisher, decide which temporal layers its link gets
 * (layerctl.h); the forwarder applies the cap at the next
 * picture. Audio and screen content are never thinned (the screen has one
 * layer; a source without layers is unaffected). */
static void sub_on_rr(cc_worker *w, cc_sfu *s, sfu_peer *sp, const cc_rtcp_pkt *p,
                      cc_time_us now)
{
    cc_rtcp_rr rr;
    if (cc_rtcp_parse_rr(p, &rr) != 0)
        return;
    for (int i = 0; i < rr.n_reports; i++) {
        sfu_out *o = out_by_ssrc(sp, rr.reports[i].ssrc);
        if (!o || !o->fwd.cfg.video)
            continue;
        uint8_t before = o->lc.layer;
        uint64_t disc = o->lc.discounted;
        /* What the forwarder skipped for lack of a source packet, up to
         * the report's highest number, is taken off the reported loss. */
        cc_layerctl_report lr = {
            .fraction_lost = rr.reports[i].fraction_lost,
            .ext_highest_seq = rr.reports[i].ext_highest_seq,
            .sent_total = o->fwd.packets,
            .upstream_lost = cc_fwd_upstream_lost(&o->fwd,
                                                  (uint16_t)rr.reports[i].ext_highest_seq),
            /* Started on the kept chain, sent at SFU_REPLAY_BPS whatever
             * the link: a 300 kbit/s student's first reports said 88-96 %
             * lost, and stepped it to the lowest layer for the hold that
             * follows (scripts/bench/links). Its estimate and the next
             * reports judge the link. */
            .own_burst = o->rp_n && now - o->rp_at < SFU_REPLAY_GRACE,
        };
        int changed = cc_layerctl_on_report(&o->lc, &lr, now);
        ADD(s, upstream_loss_discounted, o->lc.discounted - disc);
        if (!changed)
            continue;
        out_apply_tid(o);
        if (o->lc.layer < before)
            INC(s, layer_down);
        else
            INC(s, layer_up);
        sub_link_event(w, sp, now);
        /* A step down is rare and is what a teacher sees as "weak Wi-Fi":
         * the log says why (rate-limited against a flapping link). */
        if (o->lc.layer < before)
            CC_LOG_RL(CC_LOG_INFO, "sfu", "subscriber %s: video %s of %u down to temporal layer %u "
                      "(receiver report: %.1f%% lost, %.1f%% on its link)", sp->ufrag,
                      sfu_slot_names[o->slot], o->owner, o->lc.layer,
                      o->lc.last_reported * 100, o->lc.last_loss * 100);
        else
            CC_DEBUG("sfu", "subscriber %s: video %s of %u now up to temporal layer %u (loss %.1f%%)",
                     sp->ufrag, sfu_slot_names[o->slot], o->owner, o->lc.layer,
                     o->lc.last_loss * 100);
    }
}

void sfu_sub_on_rtcp(cc_worker *w, cc_sfu *s, sfu_peer *sp,
                     const cc_rtcp_pkt *p, cc_time_us now)
{
    cc_rtcp_fb fb;
    if (p->pt == CC_RTCP_RTPFB && p->count == CC_RTPFB_NACK) {
        if (cc_rtcp_parse_fb(p, &fb) == 0)
            sub_on_nack(w, s, sp, &fb, now);
    } else if (p->pt == CC_RTCP_PSFB && p->count == CC_PSFB_PLI) {
        if (cc_rtcp_parse_fb(p, &fb) == 0)
            sub_keyframe_request(w, s, sp, fb.media_ssrc, now);
    } else if (p->pt == CC_RTCP_PSFB && p->count == CC_PSFB_FIR) {
        cc_rtcp_fir_entry e[4];
        size_t n = 0;
        if (cc_rtcp_parse_fb(p, &fb) == 0 &&
            cc_rtcp_parse_fir(&fb, e, 4, &n) == 0)
            for (size_t i = 0; i < n; i++)
                sub_keyframe_request(w, s, sp, e[i].ssrc, now);
    }
    else if (p->pt == CC_RTCP_RR)
        sub_on_rr(w, s, sp, p, now);
    else if (p->pt == CC_RTCP_RTPFB && p->count == CC_RTPFB_TWCC && sp->bwe) {
        /* Transport-wide feedback on what we sent this subscriber. */
        cc_twcc_feedback f;
        if (cc_rtcp_parse_fb(p, &fb) == 0 &&
            cc_twcc_parse(&fb, &f, s->twcc_scratch, SFU_TWCC_SCRATCH) == 0 &&
            cc_bwe_on_feedback(sp->bwe, &f, s->twcc_scratch, f.n, now) == 0) {
            INC(s, twcc_feedback_received);
            cc_bwe_stats bs;
            cc_bwe_get_stats(sp->bwe, &bs);
            if (bs.rtt > 0 && (!sp->rtt_min || bs.rtt < sp->rtt_min))
                sp->rtt_min = bs.rtt;
            if (bs.overuses != sp->overuses || bs.queue_delay > SFU_ALLOC_QUEUE)
                sp->limit_at = now;
            sp->overuses = bs.overuses;
        } else
            INC(s, twcc_feedback_bad);
    } else if (p->pt == CC_RTCP_PSFB && p->count == CC_PSFB_AFB && sp->bwe) {
        /* REMB (draft-alvestrand-rmcat-remb): a cap on the estimate. */
        cc_rtcp_remb remb;
        if (cc_rtcp_parse_fb(p, &fb) == 0 && cc_rtcp_parse_remb(&fb, &remb) == 0) {
            cc_bwe_on_remb(sp->bwe, remb.bitrate_bps, now);
            INC(s, remb_received);
        }
    }
    /* SDES from a subscriber: not used. */
}

void sfu_pub_on_rtcp(sfu_peer *pp, const cc_rtcp_pkt *p, cc_time_us now)
{
    if (p->pt != CC_RTCP_SR)
        return;
    cc_rtcp_sr sr;
    if (cc_rtcp_parse_sr(p, &sr) != 0)
        return;
    cc_track *ts[SFU_MAX_TRACKS];
    int nt = sfu_pub_tracks(pp, ts);
    for (int j = 0; j < nt; j++)
        if (ts[j]->ssrc == sr.ssrc)
            cc_track_on_sr(ts[j], sr.ntp, sr.rtp_ts, now);
}

/* ------------------------------------------------------------------ */
/* ticks: reports, NACKs, pacing, probes and layers (sfu_on_tick)       */
/* ------------------------------------------------------------------ */

/* Upkeep of a publisher's tracks on every tick: keyframe requests that
 * came due, NACK cache packets past their use. */
void sfu_pub_upkeep(cc_worker *w, cc_sfu *s, sfu_peer *pp, cc_time_us now)
{
    keyframe_due(w, s, pp, now);
    /* Mirrors get the feeds' state every second (the SR mapping moves). */
    if (pp->room && pp->room->mirrors && now >= pp->room->next_sync) {
        sfu_mirror_sync_room(s, pp->room);
        pp->room->next_sync = now + CC_USEC_PER_SEC;
    }
    cc_track *ts[SFU_MAX_TRACKS];
    int nt = sfu_pub_tracks(pp, ts);
    for (int j = 0; j < nt; j++)
        if (ts[j]->cache_n)
            cc_track_cache_expire(ts[j], now, SFU_CACHE_AGE);
}

/* Transport-cc: every packet of the publisher's transport that carries a
 * transport-wide sequence number is recorded, whatever its stream, as the
 * draft's section 3 counts them. The feedback builder (16 KiB) is made on
 * the first such packet, on this worker. */
void sfu_pub_twcc_packet(cc_sfu *s, sfu_peer *pp, const cc_rtp_hdr *h, cc_time_us now)
{
    uint16_t seq;
    if (cc_twcc_ext_get(h, pp->ext_twcc, &seq) != 0)
        return;
    if (!pp->twcc) {
        pp->twcc = malloc(sizeof *pp->twcc);
        if (!pp->twcc) {
            INC(s, cache_alloc_fail);
            pp->ext_twcc = 0; /* the browser falls back on loss alone */
            return;
        }
        cc_twcc_recv_config cfg = {.sender_ssrc = pp->rtcp_ssrc, .media_ssrc = h->ssrc};
        cc_twcc_recv_init(pp->twcc, &cfg, now);
        INC(s, twcc_publishers);
    }
    cc_twcc_recv_on_packet(pp->twcc, seq, now);
}

/* abs-send-time (3 bytes, 6.18 fixed-point seconds) into the uplink
 * estimate; its REMB cap goes out from sfu_pub_tick. */
void sfu_pub_uplink_packet(cc_sfu *s, sfu_peer *pp, const cc_rtp_hdr *h, size_t len,
                           cc_time_us now)
{
    const uint8_t *v;
    size_t n;
    if (cc_rtp_find_ext(h, pp->ext_abs, &v, &n) != 0 || n != 3)
        return;
    if (!pp->up) {
        pp->up = cc_upbwe_new(SFU_UPLINK_START_BPS, 0, now);
        if (!pp->up) {
            INC(s, cache_alloc_fail);
            pp->ext_abs = 0;
            return;
        }
    }
    cc_upbwe_on_packet(pp->up, (uint32_t)v[0] << 16 | (uint32_t)v[1] << 8 | v[2],
                       len + SFU_WIRE_OVERHEAD, now);
    pp->up_pkts++;
    pp->up_pad += h->payload_len == 0;
}

/* The video SSRCs of pp's tracks (what a REMB names). */
static int pub_video_ssrcs(cc_track *const *ts, int nt, uint32_t *video)
{
    int nv = 0;
    for (int j = 0; j < nt; j++)
        if (ts[j]->ssrc && ts[j]->video)
            video[nv++] = ts[j]->ssrc;
    return nv;
}

/* The REMB value for publisher pp now, 0 for none: the uplink's cap while
 * it shows a limit, and once a cap was sent and released, a value that
 * caps nothing (a browser keeps the last REMB it got); a publisher without
 * transport-cc (REMB is all its estimator has) gets SFU_REMB_BPS, or the
 * cap if lower. */
static uint32_t pub_remb_bps(sfu_peer *pp, cc_time_us now)
{
    uint32_t cap = cc_upbwe_cap_bps(pp->up, now);
    if (pp->ext_twcc)
        return cap ? cap : pp->remb_capped ? SFU_UPLINK_RELEASE_BPS : 0;
    return cap && cap < SFU_REMB_BPS ? cap : SFU_REMB_BPS;
}

static void note_remb(cc_sfu *s, sfu_peer *pp, uint32_t bps, cc_time_us now)
{
    int cap = cc_upbwe_cap_bps(pp->up, now) != 0;
    if (cap && !pp->remb_cap_sent && pp->ext_twcc)
        CC_INFO("sfu", "publisher %u (%s): its uplink showed a limit; REMB %u kbit/s "
                "(%u of the %u packets since the last estimate line were padding)",
                pp->member_id, pp->ufrag, bps / 1000, pp->up_pad, pp->up_pkts);
    else if (!cap && pp->remb_cap_sent && pp->ext_twcc && pp->up_set_aside)
        CC_INFO("sfu", "publisher %u (%s): that limit was the sender's own delay (its packets "
                "came late, then all at once); REMB released", pp->member_id, pp->ufrag);
    else if (!cap && pp->remb_cap_sent && pp->ext_twcc)
        CC_INFO("sfu", "publisher %u (%s): no limit of its uplink seen for %d s; REMB "
                "released", pp->member_id, pp->ufrag, (int)(CC_UPBWE_HOLD_US / CC_USEC_PER_SEC));
    if (cap) {
        INC(s, remb_uplink);
        pp->remb_capped = 1;
    }
    pp->up_set_aside = 0;
    pp->remb_cap_sent = cap ? bps : 0;
    pp->remb_cap_at = now;
}

/* RR + SDES (+ REMB) to a publisher; NACKs for its losses. */
void sfu_pub_tick(cc_worker *w, cc_sfu *s, sfu_peer *pp, cc_time_us now)
{
    sfu_pub_upkeep(w, s, pp, now);
    if (pp->twcc)
        twcc_feedback(w, s, pp, now);
    cc_track *ts[SFU_MAX_TRACKS];
    int nt = sfu_pub_tracks(pp, ts);
    for (int j = 0; j < nt; j++) {
        cc_track *t = ts[j];
        if (!t->nack_enabled || !t->ssrc || cc_nack_deadline(&t->nack) > now)
            continue;
        uint16_t seqs[64];
        size_t n = cc_nack_poll(&t->nack, now, seqs, 64);
        uint8_t buf[512];
        int len = n ? cc_rtcp_write_nack(buf, sizeof buf, pp->rtcp_ssrc,
                                         t->ssrc, seqs, n)
                    : 0;
        if (len > 0 && cc_worker_send_rtcp(w, pp->wp, buf, (size_t)len) == 0)
            ADD(s, nack_sent, n);
    }
    if (pp->up) {
        cc_upbwe_tick(pp->up, now);
        cc_upbwe_stats us;
        cc_upbwe_get_stats(pp->up, &us);
        if (us.discounted != pp->up_discounted) {
            pp->up_discounted = us.discounted;
            pp->up_set_aside = 1;
        }
        /* A cap lower than the last sent goes out now (reduced size,
         * RFC 5506, as NACKs): the queue in front of the uplink's shaper
         * grows meanwhile. */
        uint32_t bps = pp->remb ? cc_upbwe_cap_bps(pp->up, now) : 0;
        uint32_t video[SFU_MAX_TRACKS];
        int nv = pub_video_ssrcs(ts, nt, video);
        /* A cap set aside (the sender's own delay, upbwe.c) is released
         * now too, not with the next report: the browser leaves its top
         * encodings out meanwhile. */
        uint32_t send_bps = bps && (!pp->remb_cap_sent || bps < pp->remb_cap_sent * 0.9) ? bps
                            : !bps && pp->remb_cap_sent && pp->ext_twcc && pp->up_set_aside
                                ? SFU_UPLINK_RELEASE_BPS
                                : 0;
        if (send_bps && nv > 0 && now - pp->remb_cap_at >= SFU_REMB_MIN_GAP) {
            uint8_t rb[64];
            int c = cc_rtcp_write_remb(rb, sizeof rb, pp->rtcp_ssrc, send_bps, video, nv);
            if (c > 0 && cc_worker_send_rtcp(w, pp->wp, rb, (size_t)c) == 0) {
                INC(s, remb_sent);
                note_remb(s, pp, send_bps, now);
            }
        }
    }
    if (now < pp->next_report)
        return;
    pp->next_report = now + SFU_REPORT_INTERVAL;
    cc_rtcp_rr rr = {.ssrc = pp->rtcp_ssrc};
    uint32_t video[SFU_MAX_TRACKS];
    int nv = pub_video_ssrcs(ts, nt, video);
    for (int j = 0; j < nt; j++) {
        cc_track *t = ts[j];
        if (t->ssrc && rr.n_reports < CC_RTCP_MAX_REPORTS &&
            cc_track_report(t, now, &rr.reports[rr.n_reports]) == 0)
            rr.n_reports++;
    }
    if (pp->up && CC_LOG_DEBUG <= cc_log_get_level()) {
        cc_upbwe_stats us;
        cc_upbwe_get_stats(pp->up, &us);
        CC_DEBUG("sfu", "publisher %s: uplink estimate %u kbit/s, %u over-uses (%u set aside "
                 "for %u catch-ups of the sender), REMB cap %u kbit/s; %u packets, %u of them "
                 "padding", pp->ufrag, us.estimate_bps / 1000, us.overuses, us.discounted,
                 us.catchups, cc_upbwe_cap_bps(pp->up, now) / 1000, pp->up_pkts, pp->up_pad);
    }
    pp->up_pkts = pp->up_pad = 0;
    /* RFC 3550 6.1: a compound starts with SR/RR and carries SDES CNAME. */
    uint8_t buf[512];
    int a = cc_rtcp_write_rr(buf, sizeof buf, &rr);
    int b = a > 0 ? cc_rtcp_write_sdes_cname(buf + a, sizeof buf - (size_t)a,
                                             pp->rtcp_ssrc, pp->cname)
                  : -1;
    if (b <= 0)
        return;
    size_t len = (size_t)(a + b);
    uint32_t remb = pp->remb && nv > 0 ? pub_remb_bps(pp, now) : 0;
    if (remb) {
        int c = cc_rtcp_write_remb(buf + len, sizeof buf - len, pp->rtcp_ssrc, remb, video, nv);
        if (c > 0)
            len += (size_t)c;
        else
            remb = 0;
    }
    if (cc_worker_send_rtcp(w, pp->wp, buf, len) == 0) {
        INC(s, rr_sent);
        if (remb) {
            INC(s, remb_sent);
            note_remb(s, pp, remb, now);
        }
    }
}

/* Pacing on or off for sp by its estimate, at the rate it gives. */
static void sub_pace(cc_sfu *s, sfu_peer *sp, cc_time_us now)
{
    /* Only once the estimate has shown a limit of the path (before that
     * the allocation sends every stream at its best, sub_alloc), and
     * never below what the allocation sends (its cheapest choice can be
     * above the estimate: the screen is never paused). */
    uint32_t target = sp->bwe && sp->path_limited ? cc_bwe_target_bps(sp->bwe) : 0;
    /* ... at the lasting estimate (the lowest of the last two seconds),
     * not a moment's: a probe through a shaper's burst lifts the estimate
     * for a moment, and a keyframe paced at that rate overflows the
     * queue behind the shaper. */
    if (target && sp->tgt_low && sp->tgt_low < target)
        target = sp->tgt_low;
    if (target && sp->alloc.total_bps > target)
        target = sp->alloc.total_bps;
    int want = target > 0 && target < SFU_PACE_BELOW;
    uint64_t rate = (uint64_t)(target * SFU_PACE_FACTOR);
    uint32_t cap = sp->bwe ? cc_bwe_capacity_bps(sp->bwe, now) : 0;
    if (cap && rate > (uint64_t)(cap * SFU_PACE_CAPACITY))
        rate = (uint64_t)(cap * SFU_PACE_CAPACITY);
    /* Never under what the allocation sends, but that is measured over
     * the last second, keyframes and all: after a join asked the teacher
     * for a keyframe in every encoding it read 1475 kbit/s for the 1
     * Mbit/s student of scripts/bench/links, the pacer let the keyframes
     * through at that rate, the link's queue passed its 300 ms and lost 8 %
     * of the packets. With a capacity known, no more than the pacing
     * factor over the most the link has carried. */
    uint64_t need = sp->alloc.total_bps;
    if (cap) {
        uint32_t shown = cc_bwe_shown_bps(sp->bwe, now);
        uint64_t most = (uint64_t)((shown > cap ? shown : cap) * SFU_PACE_CAPACITY);
        if (need > most)
            need = most;
    }
    if (rate < need)
        rate = need;
    if (!want && sp->pace_replay && sp->pq && cc_pacedq_len(sp->pq))
        return; /* a kept chain still leaves at SFU_REPLAY_BPS */
    sp->pace_replay = 0;
    if (want && !sp->pq) {
        if (cc_pacedq_new(&sp->pq, SFU_PACE_QUEUE) != 0) {
            INC(s, cache_alloc_fail);
            return;
        }
        cc_pacer_init(&sp->pacer, rate, SFU_PACE_BURST, now);
        INC(s, paced_subscribers);
    }
    if (want)
        cc_pacer_set_rate(&sp->pacer, rate, now);
    else if (sp->pacing)
        cc_pacer_init(&sp->pacer, 0, SFU_PACE_BURST, now);
    sp->pacing = want;
}

/* RTP timestamp for an SR of a subscriber's stream. With a sender report
 * from the publisher for the current source, map through it: the
 * publisher's SRs of audio and video share one clock, so every
 * subscriber's audio and video SRs keep the capture-time relation Chromium
 * needs for lip sync (RFC 3550 6.4.1), whatever the offset between the
 * publisher's clock and ours. Else (or if the mapping is implausible)
 * extrapolate from the last packet sent. */
static uint32_t sr_rtp_ts(const cc_fwd *f, const cc_track *t, cc_time_us now,
                          cc_time_us wall)
{
    uint32_t extrap = cc_fwd_sr_ts(f, now);
    if (!t || !t->have_sr || t->id != f->source || f->waiting)
        return extrap;
    int64_t dt = (wall - t->sr_unix_us) * (int64_t)t->clock_rate / CC_USEC_PER_SEC;
    uint32_t mapped = t->sr_rtp + f->ts_off + (uint32_t)dt;
    int32_t diff = (int32_t)(mapped - extrap);
    if (diff > 5 * t->clock_rate || diff < -5 * t->clock_rate)
        return extrap;
    return mapped;
}

/* The first video out that can carry probe padding: one with an RTX
 * stream whose media has started (the padding takes its timestamp). */
static sfu_out *probe_out(sfu_peer *sp)
{
    for (int i = 0; i < sp->n_out; i++)
        if (sp->out[i].active && sp->out[i].rtx_ssrc && sp->out[i].fwd.started)
            return &sp->out[i];
    return NULL;
}

/* One padding packet on o's RTX stream (probe_id: the probe cluster it
 * belongs to, 0 for none), counted in *sent if the worker took it: its
 * bytes on the wire, 0 if it could not be written. */
static size_t pad_one(cc_worker *w, sfu_peer *sp, sfu_out *o, int probe_id, uint64_t *sent,
                      cc_time_us now)
{
    uint8_t *slotbuf = cc_worker_tx_begin(w);
    size_t n;
    if (cc_fwd_write_rtx_padding(&o->fwd, o->rtx_ssrc, o->rtx_pt, o->rtx_seq, SFU_PROBE_PAD,
                                 slotbuf, SFU_TX_CAP, &n) != 0)
        return 0;
    o->rtx_seq++;
    sfu_sub_stamp(sp, o, slotbuf, n, probe_id, now);
    sp->pad_bytes += n + SFU_WIRE_OVERHEAD;
    if (cc_worker_tx_commit_rtp(w, sp->wp, n) == 0)
        (*sent)++;
    return n + SFU_WIRE_OVERHEAD;
}

/* Send the probe cluster due at its rate (docs/bwe.md section 3): padding
 * packets on the RTX stream, as many as the elapsed time at the cluster's
 * rate allows on this tick, until its bytes and packets are out. */
static void sub_probe(cc_worker *w, cc_sfu *s, sfu_peer *sp, cc_time_us now)
{
    if (!sp->probe.id) {
        if (!cc_bwe_probe_poll(sp->bwe, now, &sp->probe))
            return;
        sp->probe_start = now;
        sp->probe_bytes = 0;
        sp->probe_pkts = 0;
        INC(s, probe_clusters);
    }
    sfu_out *o = probe_out(sp);
    if (!o || !sp->probe_pkts) {
        /* Nothing to send it on yet (the first picture has not come):
         * the cluster waits, from the start; after 2 s it is given up
         * and the estimate grows by itself, more slowly. */
        if (!o && now - sp->probe_start > 2 * CC_USEC_PER_SEC)
            sp->probe.id = 0;
        if (!o)
            return;
        if (!sp->probe_bytes)
            sp->probe_start = now;
    }
    /* One tick ahead of the clock, so the cluster is not cut into a
     * packet per tick at low rates. */
    size_t allowed = (size_t)((uint64_t)sp->probe.bps *
                              (uint64_t)(now - sp->probe_start + 10 * CC_USEC_PER_MSEC) /
                              (8 * CC_USEC_PER_SEC));
    uint64_t sent = 0;
    while ((sp->probe_bytes < sp->probe.min_bytes || sp->probe_pkts < sp->probe.min_packets) &&
           sp->probe_bytes < allowed) {
        size_t b = pad_one(w, sp, o, sp->probe.id, &sent, now);
        if (!b)
            break;
        sp->probe_bytes += b;
        sp->probe_pkts++;
    }
    ADD(s, probe_packets, sent);
    if (sp->probe_bytes >= sp->probe.min_bytes && sp->probe_pkts >= sp->probe.min_packets)
        sp->probe.id = 0;
}

/* Fill the link (docs/bwe.md section 5, "Filling the link"). A step up
 * that costs a keyframe goes only under the link's capacity, what it
 * carried at its over-uses (cc_alloc.keyframe_cap_bps). One read while
 * the subscriber was sent little (the screen alone, its camera paused)
 * kept that camera paused for 37 s on a link that carried it: nothing it
 * was sent could show more (scripts/bench/links, the 1 Mbit/s student).
 * So padding on RTX goes out on top of its media up to a little more
 * than the step needs, for SFU_FILL_US: either what arrives over a second
 * raises the capacity (bwe.c, the ceiling) and the step goes, or the link
 * queues, the fill stops, and the over-use measures the capacity at that
 * rate. A token bucket at the fill's rate that the media also draws from:
 * padding only in what the media leaves. */
/* Where the allocation keeps its keyframe-costing steps (alloc.h,
 * keyframe_cap_bps): under the link's capacity once an over-use measured
 * it. Before that, once the path has shown a limit (a standing queue,
 * loss), under what it has shown it carries over a second: a probe's
 * 15 ms cluster passes a token bucket at the line's rate, and the 300
 * kbit/s student of scripts/bench/links read 614 kbit/s on one before any
 * over-use; two seconds later its screen stepped up to 960x540, the
 * keyframe waited 1.5 s in its queue and half its packets were lost. */
static uint32_t sub_kf_cap(const sfu_peer *sp, cc_time_us now)
{
    if (!sp->bwe)
        return 0;
    uint32_t cap = cc_bwe_capacity_bps(sp->bwe, now);
    if (!cap && sp->path_limited)
        cap = cc_bwe_shown_bps(sp->bwe, now);
    return cap;
}

/* What any step up of the allocation stays within (alloc.h,
 * carried_bps): once the path has shown a limit, the most its link has
 * carried, a measured capacity or what arrived over a second. */
static uint32_t sub_carried(const sfu_peer *sp, cc_time_us now)
{
    if (!sp->bwe || !sp->path_limited)
        return 0;
    uint32_t cap = cc_bwe_capacity_bps(sp->bwe, now);
    uint32_t shown = cc_bwe_shown_bps(sp->bwe, now);
    return cap > shown ? cap : shown;
}

/* A keyframe is the largest burst a subscriber is sent, and it comes
 * when anyone asks: a browser's simulcast encoder answers a request for
 * one encoding with a keyframe in every encoding (libvpx's
 * multi-resolution encoder), so a weak student's join, or its pacer's
 * overflow, puts a keyframe of each of its streams on every other
 * student's link at once. On a link its layers fill to 90-95 %, the queue
 * that leaves behind the link's shaper drains slowly and the delay
 * detector calls over-use; cut to 0.85 x what arrived, the estimate fell
 * under what the layers had carried for seconds, the camera went down a
 * layer or paused, and additive increase took 5-12 s to bring it back
 * (the 1 Mbit/s student of scripts/bench/links after the 300 kbit/s
 * student's join: 10-14 KB of keyframes, 5-11 over-use signals in 2 s).
 * The queue is the SFU's own and ends once the keyframes have passed:
 * from the last packet of the keyframes sent within SFU_KF_BURST_GAP of
 * each other, for four times their time on the link and a second more
 * (within SFU_KF_FLOOR_MIN..MAX), the estimate is not cut under what it
 * was, at most the link's measured capacity (cc_bwe_own_queue). Only for
 * keyframes that take SFU_KF_BURST_MIN or more of the link together, once
 * an over-use has measured the capacity, and not while the link loses
 * packets (a link that got slower shows it by loss, and its estimate is
 * then cut as ever). */
#define SFU_KF_BURST_GAP (500 * CC_USEC_PER_MSEC)
#define SFU_KF_BURST_MIN (50 * CC_USEC_PER_MSEC)
#define SFU_KF_FLOOR_MIN (1500 * CC_USEC_PER_MSEC)
#define SFU_KF_FLOOR_MAX (3 * CC_USEC_PER_SEC)
#define SFU_KF_FLOOR_LOSS 0.02

void sfu_sub_keyframe_out(cc_sfu *s, sfu_peer *sp, uint32_t kf_bytes, cc_time_us now)
{
    sp->kf_bytes += kf_bytes;
    if (!sp->bwe || !sp->path_limited)
        return;
    if (!sp->kf_burst_at || now - sp->kf_burst_at > SFU_KF_BURST_GAP)
        sp->kf_burst = 0;
    sp->kf_burst = sp->kf_burst > UINT32_MAX - kf_bytes ? UINT32_MAX : sp->kf_burst + kf_bytes;
    sp->kf_burst_at = now;
    uint32_t cap = cc_bwe_capacity_bps(sp->bwe, now);
    if (!cap)
        return;
    cc_time_us link = (cc_time_us)((uint64_t)sp->kf_burst * 8 * CC_USEC_PER_SEC / cap);
    if (link < SFU_KF_BURST_MIN)
        return;
    cc_bwe_stats bs;
    cc_bwe_get_stats(sp->bwe, &bs);
    if (bs.loss > SFU_KF_FLOOR_LOSS)
        return;
    uint32_t floor = bs.target_bps < cap ? bs.target_bps : cap;
    cc_time_us hold = 4 * link + CC_USEC_PER_SEC;
    if (hold < SFU_KF_FLOOR_MIN)
        hold = SFU_KF_FLOOR_MIN;
    if (hold > SFU_KF_FLOOR_MAX)
        hold = SFU_KF_FLOOR_MAX;
    cc_bwe_own_queue(sp->bwe, floor, now + hold, now);
    INC(s, kf_floors);
    CC_DEBUG("sfu", "subscriber %s: keyframes of %u bytes (%lld ms of its link): estimate "
             "not under %u kbit/s for %lld ms", sp->ufrag, sp->kf_burst,
             (long long)(link / 1000), floor / 1000, (long long)(hold / 1000));
}

static void fill_end(cc_sfu *s, sfu_peer *sp, uint32_t cap, int failed, const char *why,
                     cc_time_us now)
{
    if (cap >= sp->fill_want)
        INC(s, fills_lifted);
    /* The gap doubles after a fill that queued, or ran out its time
     * without lifting the capacity a tenth; not after one the allocation
     * no longer needs (its estimate dipped). */
    if (failed && cap >= sp->fill_cap0 * 1.1)
        failed = 0;
    if (!failed)
        sp->fill_gap = SFU_FILL_GAP;
    else if (sp->fill_gap * 2 > SFU_FILL_GAP_MAX)
        sp->fill_gap = SFU_FILL_GAP_MAX;
    else
        sp->fill_gap *= 2;
    sp->fill_next = now + sp->fill_gap;
    CC_DEBUG("sfu", "subscriber %s: filled to %u kbit/s for %lld ms (%s): capacity %u -> %u "
             "kbit/s, %u needed", sp->ufrag, sp->fill_bps / 1000,
             (long long)((now - (sp->fill_until - SFU_FILL_US)) / 1000), why,
             sp->fill_cap0 / 1000, cap / 1000, sp->fill_want / 1000);
    sp->fill_until = 0;
}

static void fill_start(cc_sfu *s, sfu_peer *sp, cc_time_us now)
{
    if (!sp->bwe || sp->fill_until || !sp->alloc.cap_want_bps || now < sp->fill_next ||
        !probe_out(sp))
        return;
    uint32_t cap = sub_kf_cap(sp, now);
    /* Which steps get one, and to what (tried and not kept, 2026-12-05:
     * filling for steps beyond CC_ALLOC_FILL_STEP x the capacity in steps
     * of 1.25 x; it sent the 1 Mbit/s student's link padding to 1.34
     * Mbit/s every few seconds for a 640x480 camera it cannot carry, the
     * queue outlasted the floor below and its camera lost a temporal
     * layer). */
    cc_alloc_link l = {.want_bps = sp->alloc.cap_want_bps,
                       .capacity_bps = cc_bwe_capacity_bps(sp->bwe, now),
                       .shown_bps = cc_bwe_shown_bps(sp->bwe, now),
                       .carried_bps = sub_carried(sp, now),
                       .limit_age = sp->limit_at ? now - sp->limit_at : -1};
    if (!cap || !(sp->fill_want = cc_alloc_fill_want(&l)))
        return;
    cc_bwe_stats bs;
    cc_bwe_get_stats(sp->bwe, &bs);
    /* What arrives is measured: over a lossy link, send that much more
     * (1 packet in 12 lost left a fill at 1.1 x what was needed short). */
    double lost = bs.loss < 0.25 ? bs.loss : 0.25;
    sp->fill_bps = (uint32_t)(sp->fill_want * SFU_FILL_OVER / (1 - lost));
    sp->fill_cap0 = cap;
    sp->fill_est0 = cc_bwe_target_bps(sp->bwe);
    sp->fill_until = now + SFU_FILL_US;
    sp->fill_last = now;
    sp->fill_tx = sp->twcc_bytes;
    sp->fill_tokens = 0;
    sp->fill_overuses = bs.overuses;
    INC(s, fills);
}

static void sub_fill(cc_worker *w, cc_sfu *s, sfu_peer *sp, cc_time_us now)
{
    if (!sp->fill_until)
        return;
    cc_bwe_stats bs;
    cc_bwe_get_stats(sp->bwe, &bs);
    uint32_t cap = sub_kf_cap(sp, now);
    sfu_out *o = probe_out(sp);
    int done = cap >= sp->fill_want || !sp->alloc.cap_want_bps;
    if (done || now >= sp->fill_until || !o || bs.overuses != sp->fill_overuses ||
        bs.queue_delay > SFU_FILL_QUEUE) {
        fill_end(s, sp, cap, !done,
                 cap >= sp->fill_want ? "shown"
                 : done               ? "no longer needed"
                 : now >= sp->fill_until ? "time"
                 : !o                 ? "no stream"
                                      : "queue",
                 now);
        /* Whatever ended it, a queue of its padding may be in front of
         * the link, and that padding stops here: the media under it went
         * through before, and the cut an over-use makes of it (0.85 x what
         * arrived, padding and all) would pause or thin it for nothing.
         * The 1 Mbit/s student of scripts/bench/links fell from 1112 to
         * 856 kbit/s on a fill that queued, under its media (858), and its
         * camera lost a temporal layer for 9 s; after one that showed
         * what was needed, the same over-use paused its camera. The
         * estimate stays at what the link is known to carry, no higher
         * than it was, while that queue drains. */
        uint32_t known = cap > sp->fill_cap0 ? cap : sp->fill_cap0;
        cc_bwe_own_queue(sp->bwe, sp->fill_est0 < known ? sp->fill_est0 : known,
                         now + SFU_FILL_DRAIN_US, now);
        return;
    }
    double rate = sp->fill_bps / 8.0; /* bytes a second */
    double t = sp->fill_tokens + rate * (double)(now - sp->fill_last) / CC_USEC_PER_SEC -
               (double)(sp->twcc_bytes - sp->fill_tx);
    double burst = rate * (double)SFU_PACE_BURST / CC_USEC_PER_SEC;
    if (t > burst)
        t = burst;
    if (t < -rate / 4)
        t = -rate / 4; /* a keyframe's burst holds the padding back a while */
    uint64_t sent = 0;
    while (t > 0) {
        size_t b = pad_one(w, sp, o, 0, &sent, now);
        if (!b)
            break;
        t -= (double)b;
    }
    ADD(s, fill_packets, sent);
    sp->fill_tokens = t;
    sp->fill_tx = sp->twcc_bytes;
    sp->fill_last = now;
}

/* The layers each of the subscriber's streams gets from its estimate
 * (alloc.h: audio, then the screen, then cameras), applied through the
 * forwarder's temporal cap (from the next picture) or a pause (the
 * stream holds; it resumes at a keyframe, numbering without a gap). */
/* A simulcast encoding counts as flowing while its last packet is this
 * recent. A browser that leaves an encoding out (its own estimate fell)
 * sends nothing more on it; but a screen's encoder can also be silent for
 * seconds after a large keyframe without having stopped (5.1 s on the
 * 1080p screen in scripts/bench/links), and moving its students to the
 * other encoding and back costs a keyframe of it each time, which makes
 * the next silence. */
#define SFU_ENC_STALE_CAMERA (1 * CC_USEC_PER_SEC)
#define SFU_ENC_STALE_SCREEN (3 * CC_USEC_PER_SEC)
/* A subscriber moves to another encoding only while it sends at least
 * this many pictures a second. A browser whose uplink got too slow for
 * its 1080p screen still answered each keyframe request on it (0.1
 * frames/s, one 150 KB keyframe after another, scripts/bench/links case
 * 2): every student that moved to it on one such packet waited for the
 * next, asked for it, and the 800 kbit/s uplink carried little else.
 * Measured there: 11 switches and 10 keyframe requests in 10 s, a 3.4 s
 * gap in every student's screen. */
#define SFU_ENC_MIN_FPS 2.0

int sfu_enc_stopped(const sfu_in *in, int cur, cc_time_us now)
{
    if (!in || cur <= 0 || cur >= in->n_enc || cur >= SFU_SIM || !in->enc[cur])
        return 0;
    for (int e = 0; e < cur; e++)
        if (cc_track_stopped_beside(in->enc[cur], in->enc[e], SFU_ENC_SILENT, SFU_ENC_MIN_FPS,
                                    now))
            return 1;
    return 0;
}

void sfu_enc_stop_kick(cc_sfu *s, sfu_room *r, int fi, sfu_in *in, int enc, cc_time_us now)
{
    for (int c = enc + 1; c < in->n_enc && c < SFU_SIM; c++) {
        if (now - in->stop_kick_at[c] <= CC_USEC_PER_SEC || !sfu_enc_stopped(in, c, now))
            continue;
        in->stop_kick_at[c] = now;
        for (sfu_peer *sp = r->subs; sp; sp = sp->next) {
            int oi = sp->feed_out[fi];
            if (oi >= 0 && sp->out[oi].cur_enc == c) {
                sp->next_alloc = now;
                INC(s, sim_stopped);
            }
        }
    }
}

static void sub_alloc(cc_worker *w, cc_sfu *s, sfu_peer *sp, cc_time_us now)
{
    cc_alloc_stream in[CC_ALLOC_MAX_STREAMS];
    cc_alloc_choice out[CC_ALLOC_MAX_STREAMS];
    sfu_out *outs[CC_ALLOC_MAX_STREAMS];
    int n = 0;
    for (int i = 0; i < sp->n_out && n < CC_ALLOC_MAX_STREAMS; i++) {
        sfu_out *o = &sp->out[i];
        cc_track *t = o->active ? sfu_out_track(sp->room, o) : NULL;
        if (!t)
            continue;
        /* A camera this subscriber is not sent now (a member outside the
         * last N speakers, or kept to the teacher) or a muted feed takes
         * no share; it starts unpaused when it is shown again. */
        int fi = sfu_feed_find(sp->room, o->owner, o->slot);
        const sfu_feed *f = fi >= 0 ? &sp->room->feeds[fi] : NULL;
        if (f && (f->muted || (t->video && f->owner != 0 && (!f->visible || f->teacher_only) &&
                               !sp->is_teacher))) {
            o->paused = 0;
            continue;
        }
        cc_alloc_stream *a = &in[n];
        memset(a, 0, sizeof *a);
        a->id = (uint32_t)i;
        a->kind = o->slot == CC_SLOT_MIC ? CC_ALLOC_AUDIO
                  : o->slot == CC_SLOT_SCREEN ? CC_ALLOC_SCREEN : CC_ALLOC_CAMERA;
        /* Simulcast: each encoding is a spatial layer, available while it
         * flows (a browser drops its top encoding when its own uplink
         * estimate is low). */
        const sfu_in *src = sfu_out_in(sp->room, o);
        int ne = src && src->n_enc > 1 ? src->n_enc : 1;
        a->n_spatial = ne;
        cc_time_us stale = o->slot == CC_SLOT_SCREEN ? SFU_ENC_STALE_SCREEN
                                                     : SFU_ENC_STALE_CAMERA;
        int recent[CC_ALLOC_SPATIAL], steady = 0;
        int stopped = ne > 1 && o->cur_enc > 0 && sfu_enc_stopped(src, o->cur_enc, now);
        for (int e = 0; e < ne; e++) {
            const cc_track *et = ne > 1 ? src->enc[e] : t;
            for (int k = 0; k < CC_ALLOC_TEMPORAL; k++) {
                a->layer[e].bps[k] = cc_ratemeter_bps(&et->rate, k, now);
                a->layer[e].fps[k] = (float)cc_ratemeter_fps(&et->rate, k, now);
            }
            a->layer[e].kf_bytes = et->kf_bytes;
            recent[e] = et->rx.started && now - et->last_media_rx < stale &&
                        !(stopped && e >= o->cur_enc);
            /* To move to an encoding it must flow, not just have sent a
             * packet lately: the one this subscriber is on stays while
             * recent. */
            int flows = recent[e] && (e == o->want_enc || e == o->cur_enc ||
                                      (a->layer[e].fps[CC_ALLOC_TEMPORAL - 1] >= SFU_ENC_MIN_FPS &&
                                       now - et->resumed_at >= SFU_ENC_RESUMED));
            a->layer[e].available = ne == 1 || flows;
            steady += flows;
        }
        if (ne > 1 && !steady) /* none flows steadily: any that is recent */
            for (int e = 0; e < ne; e++)
                a->layer[e].available = recent[e];
        outs[n++] = o;
    }
    /* The allocation holds what the highest estimate of the last second
     * (SFU_ALLOC_HOLD_RUNS runs) carries: a dip shorter than that (a busy
     * CPU at either end delays feedback as a queue would) changes no
     * layer; the pacer follows the estimate itself meanwhile. It goes up
     * only to what the lowest of the last two seconds (SFU_ALLOC_UP_RUNS)
     * carries: a probe's burst through a shaper's bucket lifts the
     * estimate for a moment, until the queue behind it shows; a layer
     * taken up on that moment overflows the queue. */
    uint32_t target = sp->bwe ? cc_bwe_target_bps(sp->bwe) : 0;
    /* Optimistic start: every stream at its best until the path has shown
     * a limit (an over-use, a cut for lack of feedback, loss, or a
     * standing queue). An
     * estimate from a sender limited by its own media only climbs a step
     * above what that media carries, so it says nothing about a limit
     * before one is seen; a tablet on a good link gets the full picture
     * at once, one on a weak link within the first second of trouble. */
    if (sp->bwe && !sp->path_limited) {
        cc_bwe_stats bs;
        cc_bwe_get_stats(sp->bwe, &bs);
        /* A standing queue too: the join's kept chain and its first
         * second of the smallest encodings stood 183-285 ms deep before
         * the 300 kbit/s link of scripts/bench/links (rtt 350-386 ms) with
         * no over-use yet at the first allocation, in 3 of 6 runs. */
        sp->path_limited = bs.overuses > 0 || bs.timeouts > 0 || bs.loss > SFU_ALLOC_LOSS ||
                           bs.queue_delay > SFU_ALLOC_QUEUE ||
                           (sp->rtt_min && bs.rtt > sp->rtt_min + SFU_ALLOC_RTT_QUEUE);
        if (!sp->path_limited)
            target = 0;
        else /* the runs before held no limit, not a measured one */
            for (int k = 0; k < SFU_ALLOC_UP_RUNS; k++)
                sp->tgt_hist[k] = target;
    }
    sp->tgt_hist[sp->tgt_i++ % SFU_ALLOC_UP_RUNS] = target;
    uint32_t up_target = target;
    for (int k = 1; k <= SFU_ALLOC_UP_RUNS; k++) { /* 0: no limit */
        uint32_t h = sp->tgt_hist[(sp->tgt_i - k) % SFU_ALLOC_UP_RUNS];
        if (k <= SFU_ALLOC_HOLD_RUNS && target && (!h || h > target))
            target = h;
        if (h && (!up_target || h < up_target))
            up_target = h;
    }
    sp->tgt_low = up_target;
    /* An estimate's cut that the link does not bear out is held through
     * for a while (alloc.h, cc_alloc_cut_target). */
    if (sp->bwe && sp->path_limited && target) {
        cc_bwe_stats cs;
        cc_bwe_get_stats(sp->bwe, &cs);
        uint64_t holds = sp->cut.holds;
        uint32_t held = cc_alloc_cut_target(&sp->cut, target, sp->alloc.total_bps,
                                            cc_bwe_shown_bps(sp->bwe, now), cs.queue_delay,
                                            cs.loss, now);
        if (sp->cut.holds != holds) {
            INC(s, cut_holds);
            CC_DEBUG("sfu", "subscriber %s: estimate cut to %u kbit/s under the %u sent, which "
                     "its link carried: held for up to %lld ms", sp->ufrag, target / 1000,
                     sp->alloc.total_bps / 1000, (long long)(CC_ALLOC_CUT_HOLD / 1000));
        }
        target = held;
    }
    /* Once a second, at debug level: what this subscriber's link is
     * estimated at and what it is given (scripts/bench/links reads it). */
    if (sp->bwe && (sp->tgt_i % 4 == 0 || sp->tgt_i == 1) && CC_LOG_DEBUG <= cc_log_get_level()) {
        cc_bwe_stats bs;
        cc_bwe_get_stats(sp->bwe, &bs);
        /* What it was sent since the last line, by kind, and what it was
         * offered: that plus what its paced queue grew by (counted here,
         * not per packet; packets a flush dropped are not in it). */
        uint64_t queued = sp->pq ? cc_pacedq_bytes(sp->pq) +
                                       (uint64_t)cc_pacedq_len(sp->pq) * SFU_WIRE_OVERHEAD
                                 : 0;
        uint64_t now_b[4] = {sp->twcc_bytes, sp->kf_bytes, sp->rtx_bytes, sp->pad_bytes};
        unsigned kbps[4] = {0}, offered = 0;
        cc_time_us dt = now - sp->line_at;
        if (sp->line_at && dt > 0) {
            for (int k = 0; k < 4; k++)
                kbps[k] = (unsigned)((now_b[k] - sp->line_bytes[k]) * 8 * 1000 / (uint64_t)dt);
            int64_t in = (int64_t)(now_b[0] - sp->line_bytes[0]) + (int64_t)queued -
                         (int64_t)sp->line_queued;
            offered = in > 0 ? (unsigned)((uint64_t)in * 8 * 1000 / (uint64_t)dt) : 0;
        }
        memcpy(sp->line_bytes, now_b, sizeof now_b);
        sp->line_queued = queued;
        sp->line_at = now;
        CC_DEBUG("sfu", "subscriber %s: estimate %u kbit/s (delay %u, loss %u, acked %u; "
                 "allocation at %u, up to %u, capacity %u, shown %u), rtt %lld ms, queue %lld ms, "
                 "loss %.1f%% (%llu of %llu since the start), over-uses %llu; allocated %u kbit/s; "
                 "paced at %u kbit/s, %d queued; offered %u, sent %u kbit/s (keyframes %u, "
                 "repairs %u, padding %u)",
                 sp->ufrag, bs.target_bps / 1000, bs.delay_bps / 1000, bs.loss_bps / 1000,
                 bs.acked_bps / 1000, target / 1000, up_target / 1000,
                 cc_bwe_capacity_bps(sp->bwe, now) / 1000, cc_bwe_shown_bps(sp->bwe, now) / 1000,
                 (long long)(bs.rtt / 1000), (long long)(bs.queue_delay / 1000), bs.loss * 100,
                 (unsigned long long)bs.lost, (unsigned long long)(bs.acked + bs.lost),
                 (unsigned long long)bs.overuses, sp->alloc.total_bps / 1000,
                 sp->pacing ? (unsigned)(sp->pacer.rate_bps / 1000) : 0,
                 sp->pq ? (int)cc_pacedq_len(sp->pq) : 0, offered, kbps[0], kbps[1], kbps[2],
                 kbps[3]);
    }
    sp->alloc.keyframe_cap_bps = sub_kf_cap(sp, now);
    sp->alloc.carried_bps = sub_carried(sp, now);
    if (cc_alloc_run_band(&sp->alloc, target, up_target, in, n, out, now) <= 0)
        goto probe;
    for (int k = 0; k < n; k++) {
        sfu_out *o = outs[k];
        if (in[k].kind != CC_ALLOC_AUDIO) {
            /* Its best: the highest encoding that flows, with every
             * temporal layer it has. */
            int best_s = 0, best_t = 0;
            for (int e = 0; e < in[k].n_spatial; e++)
                if (in[k].layer[e].available)
                    best_s = e;
            for (int l = 0; l < CC_ALLOC_TEMPORAL; l++)
                if (in[k].layer[best_s].bps[l] > in[k].layer[best_s].bps[l > 0 ? l - 1 : 0] ||
                    l == 0)
                    best_t = l;
            o->alloc_below = out[k].spatial < 0 || out[k].spatial < best_s ||
                             (out[k].spatial == best_s && out[k].temporal < best_t);
        }
        if (!out[k].changed || in[k].kind == CC_ALLOC_AUDIO)
            continue;
        uint8_t before = o->alloc_tid;
        int was_paused = o->paused;
        o->paused = out[k].spatial < 0;
        int enc_before = o->want_enc;
        if (!o->paused) {
            o->alloc_tid = (uint8_t)out[k].temporal;
            o->want_enc = (int8_t)out[k].spatial;
            out_apply_tid(o);
        }
        /* Resuming, or another encoding: it starts at a keyframe. */
        if ((was_paused && !o->paused) ||
            (!o->paused && in[k].n_spatial > 1 && o->want_enc != enc_before &&
             o->want_enc != o->cur_enc))
            sfu_out_keyframe(w, s, sp->room, o, now);
        if (o->paused > was_paused || o->alloc_tid < before)
            INC(s, alloc_down);
        else
            INC(s, alloc_up);
        if (o->paused > was_paused)
            INC(s, alloc_paused);
        if (o->paused != was_paused)
            CC_INFO("sfu", "subscriber %u (%s): %s of %u %s (estimate %u kbit/s, %u of %u "
                    "kbit/s used)", sp->member_id, sp->ufrag, sfu_slot_names[o->slot], o->owner,
                    o->paused ? "paused" : "resumed", target / 1000,
                    sp->alloc.total_bps / 1000, sp->alloc.full_bps / 1000);
        else
            CC_DEBUG("sfu", "subscriber %s: %s of %u: encoding %d, temporal layers up to %d "
                     "(estimate %u kbit/s, %u of %u kbit/s used)", sp->ufrag,
                     sfu_slot_names[o->slot], o->owner, out[k].spatial, out[k].temporal,
                     target / 1000, sp->alloc.total_bps / 1000, sp->alloc.full_bps / 1000);
    }
    sub_link_event(w, sp, now);
probe:
    /* Held below its best: find out whether the path carries more. */
    if (sp->bwe && sp->alloc.limited && sp->alloc.full_bps > target && now >= sp->next_probe_req) {
        if (cc_bwe_probe_request(sp->bwe, sp->alloc.full_bps, now)) {
            sp->next_probe_req = now + sp->probe_gap;
            sp->probe_gap = sp->probe_gap * 2 > SFU_PROBE_INTERVAL_MAX
                                ? SFU_PROBE_INTERVAL_MAX : sp->probe_gap * 2;
        }
    } else if (!sp->alloc.limited) {
        sp->probe_gap = SFU_PROBE_INTERVAL;
    }
    fill_start(s, sp, now);
}

void sfu_sub_tick(cc_worker *w, cc_sfu *s, sfu_peer *sp, cc_time_us now)
{
    if (sp->bwe) {
        cc_bwe_tick(sp->bwe, now);
        sub_pace(s, sp, now);
        sub_probe(w, s, sp, now);
        sub_fill(w, s, sp, now);
    }
    if (sp->pq)
        sfu_sub_drain(w, s, sp, now);
    /* Not paced and nothing waiting (a kept chain sent, or the link got
     * fast): the queue goes. Every packet to this subscriber looks at it
     * while it exists, and in a fan-out to hundreds that is a cache miss
     * per subscriber per packet (3 % of the worker's time in a 400-viewer
     * profile, docs/bench-fanout.md); the packets a replayed chain put in
     * it also stay resident. */
    if (sp->pq && !sp->pacing && !cc_pacedq_len(sp->pq)) {
        cc_pacedq_free(sp->pq);
        sp->pq = NULL;
    }
    /* Without an estimate the allocation still picks the best encoding
     * that flows (target 0: every stream at its best). */
    if (now >= sp->next_alloc) {
        sp->next_alloc = now + SFU_ALLOC_INTERVAL;
        sub_alloc(w, s, sp, now);
    }
    if (now < sp->next_report)
        return;
    sp->next_report = now + SFU_REPORT_INTERVAL;
    cc_time_us wall = cc_clock_wall_us();
    for (int i = 0; i < sp->n_out; i++) {
        sfu_out *o = &sp->out[i];
        if (!o->active || !o->fwd.started)
            continue;
        const cc_track *src = sfu_out_track(sp->room, o);
        cc_rtcp_sr sr = {0};
        sr.ssrc = o->fwd.cfg.ssrc;
        sr.ntp = cc_clock_ntp_from_unix_us(wall);
        sr.rtp_ts = sr_rtp_ts(&o->fwd, src, now, wall);
        sr.packet_count = o->fwd.packets;
        sr.octet_count = o->fwd.octets;
        uint8_t buf[256];
        int a = cc_rtcp_write_sr(buf, sizeof buf, &sr);
        int b = a > 0 ? cc_rtcp_write_sdes_cname(buf + a, sizeof buf - (size_t)a,
                                                 sr.ssrc, sp->cname)
                      : -1;
        if (b > 0 && cc_worker_send_rtcp(w, sp->wp, buf, (size_t)(a + b)) == 0)
            INC(s, sr_sent);
    }
}
