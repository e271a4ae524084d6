/* classcast-loadgen: a WHIP publisher and N WHEP subscribers in one
 * process, each a cc_client on its own UDP socket (the server binds a
 * subscriber to its 5-tuple, so subscribers cannot share a local port),
 * one epoll loop, recvmmsg/sendmmsg through cc_udp. */
#include "loadgen_int.h"


void cc_lg_hist_add(lat_hist *h, cc_time_us us)
{
    if (us < 0)
        us = 0;
    size_t i = us < 100000 ? (size_t)(us / 10)
                           : us < 10000000 ? H_FINE + (size_t)((us - 100000) / 1000)
                                           : H_N - 1;
    if (i >= H_N)
        i = H_N - 1;
    h->b[i]++;
    h->n++;
    h->sum += us;
    if (us > h->max)
        h->max = us;
}

/* Value (us) below which a fraction q of the samples lie. */
void cc_lg_hist_merge(lat_hist *into, const lat_hist *h)
{
    if (!into->b || !h->b)
        return;
    for (size_t b = 0; b < H_N; b++)
        into->b[b] += h->b[b];
    into->n += h->n;
    into->sum += h->sum;
    if (h->max > into->max)
        into->max = h->max;
}

double cc_lg_hist_q(const lat_hist *h, double q)
{
    if (!h->n)
        return 0;
    uint64_t want = (uint64_t)(q * (double)h->n);
    if (want >= h->n)
        want = h->n - 1;
    uint64_t acc = 0;
    for (size_t i = 0; i < H_N; i++) {
        acc += h->b[i];
        if (acc > want)
            return i < H_FINE ? (double)(i * 10 + 5)
                              : 100000.0 + (double)(i - H_FINE) * 1000 + 500;
    }
    return (double)h->max;
}
/* ---- latency: payload fingerprints ---- */

/* FNV-1a over the payload length and its last 32 bytes. The SFU rewrites
 * the RTP header and the VP8 PictureID at the start of the payload; the
 * tail is forwarded untouched. */
static uint64_t payload_key(const uint8_t *p, size_t len)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)len;
    size_t from = len > 32 ? len - 32 : 0;
    for (size_t i = from; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h ? h : 1;
}

static void on_pub_sent(void *ud, int stream, const uint8_t *pkt, size_t len,
                        int resend, cc_time_us now)
{
    lg *g = ud;
    (void)stream;
    g->pub_sent++;
    cc_rtp_hdr h;
    if (resend || cc_rtp_parse(pkt, len, &h) != 0 || h.payload_len < 8)
        return;
    uint64_t k = payload_key(h.payload, h.payload_len);
    lat_entry *e = &g->lat_table[k % LAT_TABLE];
    e->key = k;
    e->at = now;
}

/* ---- receive statistics ---- */

static int seen_get(const rx_stream *r, uint64_t e)
{
    return (r->seen[(e % SEQ_WIN) / 64] >> (e % 64)) & 1;
}

static void seen_set(rx_stream *r, uint64_t e, int v)
{
    uint64_t bit = 1ull << (e % 64);
    if (v)
        r->seen[(e % SEQ_WIN) / 64] |= bit;
    else
        r->seen[(e % SEQ_WIN) / 64] &= ~bit;
}

/* Returns 1 for a first arrival, 0 for a duplicate or a too-old packet. */
static int rx_on_seq(rx_stream *r, uint16_t seq, size_t bytes)
{
    r->packets++;
    r->bytes += bytes;
    if (!r->started) {
        r->started = 1;
        r->ext_base = r->ext_max = (1ull << 32) + seq; /* room below */
        seen_set(r, r->ext_max, 1);
        r->unique++;
        return 1;
    }
    int16_t d = (int16_t)(seq - (uint16_t)r->ext_max);
    uint64_t e = r->ext_max + (int64_t)d;
    if (d > 0) {
        uint64_t gap = e - r->ext_max;
        if (gap >= SEQ_WIN) {
            memset(r->seen, 0, sizeof r->seen);
        } else {
            for (uint64_t x = r->ext_max + 1; x < e; x++)
                seen_set(r, x, 0);
        }
        seen_set(r, e, 1);
        r->ext_max = e;
        r->unique++;
        return 1;
    }
    if (r->ext_max - e >= SEQ_WIN) {
        r->too_old++;
        return 0;
    }
    if (e < r->ext_base) {
        /* Reordered before the first packet we saw: it belongs to the
         * stream, so the expected range grows to include it. */
        for (uint64_t x = e + 1; x < r->ext_base; x++)
            seen_set(r, x, 0);
        r->ext_base = e;
        seen_set(r, e, 1);
        r->unique++;
        return 1;
    }
    if (seen_get(r, e)) {
        r->dups++;
        return 0;
    }
    seen_set(r, e, 1);
    r->unique++;
    return 1;
}

uint64_t cc_lg_rx_expected(const rx_stream *r)
{
    return r->started ? r->ext_max - r->ext_base + 1 : 0;
}

uint64_t cc_lg_rx_lost(const rx_stream *r)
{
    uint64_t exp = cc_lg_rx_expected(r);
    return exp > r->unique ? exp - r->unique : 0;
}

/* ---- endpoints ---- */

static int ep_open(lg *g, ep *e)
{
    e->rtcp_ssrc = cc_rand_u32() | 1;
    cc_rand_token(e->cname, 16);
    if (g->multi && !e->is_pub) {
        e->udp = g->multi;
        e->shared = 1;
        e->local = *cc_udp_local(g->multi);
        e->local.u.in4.sin_addr.s_addr = htonl(g->net_base + 1 + (uint32_t)e->idx);
        return 0;
    }
    cc_addr bind;
    if (cc_addr_from_string(&bind, g->cfg->bind ? g->cfg->bind : "127.0.0.1", 0) != 0)
        return CC_EINVAL;
    int rc = cc_udp_open(&e->udp, &bind);
    if (rc != 0)
        return rc;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = e};
    if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, cc_udp_fd(e->udp), &ev) != 0)
        return CC_EIO;
    e->local = *cc_udp_local(e->udp);
    return 0;
}

/* Queue a datagram from this endpoint's address. */
static void ep_commit(ep *e, size_t len, const cc_addr *to)
{
    if (e->shared)
        cc_udp_tx_commit_from(e->udp, len, to, &e->local);
    else
        cc_udp_tx_commit(e->udp, len, to);
}

void cc_lg_ep_close(lg *g, ep *e)
{
    if (e->udp && !e->shared) {
        epoll_ctl(g->epfd, EPOLL_CTL_DEL, cc_udp_fd(e->udp), NULL);
        cc_udp_close(e->udp);
    }
    cc_sender_free(e->sender);
    cc_client_free(e->client);
    free(e->lat.b);
    free(e->lat_read.b);
    free(e->offer);
    e->offer = NULL;
    cc_whipc_result_clear(&e->res);
    e->udp = NULL;
    e->sender = NULL;
    e->client = NULL;
    e->lat.b = NULL;
    e->lat_read.b = NULL;
}

/* cc_rtp_source over a recorded file. */
static int file_next(void *ud, cc_time_us now, uint8_t *buf, size_t cap,
                     size_t *len, cc_time_us *next_due)
{
    return cc_rtpfile_next(ud, now, buf, cap, len, next_due);
}

static void file_keyframe(void *ud) { cc_rtpfile_request_keyframe(((lg *)ud)->vfile); }

/* Video through a browser-like pacer (libwebrtc paces at 2.5x the target
 * rate): a keyframe leaves as a train of packets over tens of ms, not as
 * one burst, so the fan-out's added latency is the server's, not the
 * queue a 60-packet burst times N subscribers would build. The send time
 * used for latency is the paced one (on_sent). */
#define PACE_FACTOR 2.5
#define PACE_BURST_US (2 * CC_USEC_PER_MSEC)
static int video_next(void *ud, cc_time_us now, uint8_t *buf, size_t cap,
                      size_t *len, cc_time_us *next_due)
{
    lg *g = ud;
    if (g->pace_bps > 0 && now + PACE_BURST_US < g->pace_next) {
        *next_due = g->pace_next - PACE_BURST_US;
        return CC_EAGAIN;
    }
    int rc = cc_rtpfile_next(g->vfile, now, buf, cap, len, next_due);
    if (rc == 0 && g->pace_bps > 0) {
        if (g->pace_next < now)
            g->pace_next = now;
        g->pace_next += (cc_time_us)((double)*len * 8 * 1e6 / g->pace_bps);
    }
    return rc;
}

/* Socket, ICE credentials and the offer (no network I/O). */
int cc_lg_ep_prepare(lg *g, ep *e)
{
    int rc = ep_open(g, e);
    if (rc != 0) {
        snprintf(e->error, sizeof e->error, "cannot open a UDP socket: %s", cc_strerror(rc));
        return rc;
    }
    cc_ice_make_credentials(e->ufrag, e->pwd);
    e->vssrc = cc_rand_u32() | 2;
    e->assrc = cc_rand_u32() | 4;
    cc_sdp_offer_params op = {
        .ice_ufrag = e->ufrag, .ice_pwd = e->pwd,
        .fingerprint = cc_dtls_ctx_fingerprint(g->dtls),
        .send = e->is_pub,
        .video = !e->is_pub || g->vfile != NULL,
        .audio = !e->is_pub || g->afile != NULL,
        .video_ssrc = e->vssrc, .audio_ssrc = e->assrc,
        .cname = e->cname, .stream_id = "loadgen",
        .candidate = &e->local,
    };
    if ((rc = cc_sdp_offer_write(&op, &e->offer)) != 0) {
        snprintf(e->error, sizeof e->error, "could not write the offer");
        return rc;
    }
    return 0;
}


void cc_lg_ep_post(lg *g, ep *e)
{
    const char *url = e->is_pub ? g->cfg->whip_url : g->cfg->whep_url;
    const char *tok = e->is_pub ? g->cfg->whip_token : g->cfg->whep_token;
    e->post_at = cc_clock_mono_us();
    if (g->cfg->janus_url)
        e->post_rc = e->is_pub ? janus_pub_post(g, e) : janus_sub_post(g, e);
    else
        e->post_rc = cc_whipc_post(url, tok, e->offer, 10000, &e->res);
    e->answered_at = cc_clock_mono_us();
}

/* Answer -> client (and sender or receive state). Loop thread. */
int cc_lg_ep_finish(lg *g, ep *e)
{
    int rc = e->post_rc;
    cc_whipc_result res = e->res;
    memset(&e->res, 0, sizeof e->res);
    free(e->offer);
    e->offer = NULL;
    e->finished = 1;
    uint32_t vssrc = e->vssrc, assrc = e->assrc;
    const char *ufrag = e->ufrag, *pwd = e->pwd;
    if (rc != 0) {
        snprintf(e->error, sizeof e->error, "%.190s", res.error);
        cc_whipc_result_clear(&res);
        return rc;
    }
    snprintf(e->location, sizeof e->location, "%s", res.location);
    cc_sdp_answer_info *ai = calloc(1, sizeof *ai);
    if (!ai) {
        cc_whipc_result_clear(&res);
        return CC_ENOMEM;
    }
    /* Janus subscribers: the body is Janus's offer, which we answered
     * (a=setup:active): we are the DTLS client and, as the answerer of a
     * full-ICE offerer, the controlled ICE agent. A Janus in ICE-Lite mode
     * (nat.ice_lite, the fan-out benchmark's tuned run) says a=ice-lite
     * and never checks or nominates: then the full agent, we, controls
     * (RFC 8445 section 6.1.1). */
    int janus_sub = g->cfg->janus_url && !e->is_pub;
    rc = janus_sub ? cc_sdp_remote_offer_read(res.body, res.body_len, ai)
                   : cc_sdp_answer_read(res.body, res.body_len, ai);
    cc_whipc_result_clear(&res);
    if (rc != 0) {
        snprintf(e->error, sizeof e->error, "%.190s", ai->error);
        free(ai);
        return rc;
    }
    cc_client_config cc = {
        .dtls_ctx = g->dtls,
        .local_ufrag = ufrag, .local_pwd = pwd,
        .remote_ufrag = ai->ice_ufrag, .remote_pwd = ai->ice_pwd,
        .remote_fp_alg = ai->fp_alg, .remote_fp = ai->fp,
        .remote = ai->candidate,
        .dtls_server = !janus_sub && strcmp(ai->setup, "active") == 0,
        .controlled = janus_sub && !ai->ice_lite,
        .connect_timeout = (cc_time_us)((g->cfg->setup_timeout_s > 0 ? g->cfg->setup_timeout_s : 15) * CC_USEC_PER_SEC),
    };
    rc = cc_client_new(&e->client, &cc, e->answered_at);
    if (rc != 0) {
        snprintf(e->error, sizeof e->error, "bad answer credentials: %s", cc_strerror(rc));
        free(ai);
        return rc;
    }
    if (e->is_pub) {
        cc_sender_config sc = {.client = e->client, .cname = e->cname,
                               .on_sent = on_pub_sent, .ud = g};
        cc_sender_stream_config *v = &sc.streams[CC_SENDER_VIDEO];
        cc_sender_stream_config *a = &sc.streams[CC_SENDER_AUDIO];
        if (g->vfile && ai->video.present) {
            *v = (cc_sender_stream_config){
                .enabled = 1, .ssrc = vssrc, .pt = (uint8_t)ai->video.pt,
                .clock_rate = 90000, .mid = ai->video.mid,
                .ext_mid = ai->video.ext_mid,
                .ext_abs_send_time = ai->video.ext_abs_send_time,
                .src = {.ud = g,
                        .next = video_next, .keyframe = file_keyframe},
            };
        }
        if (g->afile && ai->audio.present) {
            *a = (cc_sender_stream_config){
                .enabled = 1, .ssrc = assrc, .pt = (uint8_t)ai->audio.pt,
                .clock_rate = 48000, .mid = ai->audio.mid,
                .ext_mid = ai->audio.ext_mid,
                .ext_abs_send_time = ai->audio.ext_abs_send_time,
                .src = {.ud = g->afile,
                        .next = file_next},
            };
        }
        rc = cc_sender_new(&e->sender, &sc, e->answered_at);
    } else {
        for (int k = 0; k < 2; k++) {
            const cc_sdp_answer_media *m = k == 0 ? &ai->video : &ai->audio;
            rx_stream *r = &e->rx[k];
            if (!m->present || !m->ssrc)
                continue;
            r->active = 1;
            r->ssrc = m->ssrc;
            r->video = k == 0;
            cc_track_init(&r->tr, 0, 0, r->video, k == 0 ? 90000 : 48000);
            r->tr.ssrc = m->ssrc;
            cc_nack_init(&r->nack, NULL);
        }
        e->next_rr = e->answered_at + RR_INTERVAL;
        if (e->verify && (!(e->lat.b = calloc(H_N, sizeof *e->lat.b)) ||
                          !(e->lat_read.b = calloc(H_N, sizeof *e->lat_read.b))))
            rc = CC_ENOMEM;
    }
    free(ai);
    return rc;
}

/* ---- packet path ---- */

static void sub_on_rtcp(ep *e, const uint8_t *buf, size_t len, cc_time_us now)
{
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    cc_rtcp_iter_init(&it, buf, len);
    while (cc_rtcp_next(&it, &p) == 1) {
        cc_rtcp_sr sr;
        if (p.pt != CC_RTCP_SR || cc_rtcp_parse_sr(&p, &sr) != 0)
            continue;
        e->sr_received++;
        for (int k = 0; k < 2; k++)
            if (e->rx[k].active && e->rx[k].ssrc == sr.ssrc)
                cc_track_on_sr(&e->rx[k].tr, sr.ntp, sr.rtp_ts, now);
    }
}

/* Join timing: the first complete VP8 keyframe of a subscriber's video
 * (every packet of its RTP timestamp, from the first, S=1 PID=0 keyframe
 * packet, to the one with the marker bit: RFC 7741 sections 4.1 and 4.3),
 * which is what a decoder needs for the first picture. A verified
 * subscriber reads the keyframe bit from the decrypted payload; one
 * counted by the header alone cannot (the payload is encrypted) and takes
 * its first video packet as the keyframe's start: an SFU starts a new
 * subscriber's video at a keyframe, nothing before one being decodable.
 * Called for first arrivals only. */
static void join_on_video(ep *e, const uint8_t *buf, size_t len, int decrypted,
                          uint16_t seq, uint32_t ts, cc_time_us now)
{
    if (!e->first_video_at)
        e->first_video_at = now;
    if (!e->kf_start_at) {
        if (decrypted) {
            cc_rtp_hdr h;
            cc_vp8_desc d;
            if (cc_rtp_parse(buf, len, &h) != 0 ||
                cc_vp8_parse(h.payload, h.payload_len, &d) != 0 || !d.keyframe)
                return;
        }
        e->kf_start_at = now;
        e->kf_ts = ts;
        e->kf_first = seq;
        e->kf_count = 0;
        e->kf_have_end = 0;
    }
    if (ts != e->kf_ts)
        return;
    e->kf_count++;
    if (buf[1] & 0x80) { /* marker: the keyframe's last packet */
        e->kf_have_end = 1;
        e->kf_end = seq;
    }
    if (e->kf_have_end && e->kf_count >= (uint32_t)(uint16_t)(e->kf_end - e->kf_first) + 1u)
        e->kf_done_at = now;
}

static void sub_on_rtp(lg *g, ep *e, const uint8_t *buf, size_t len,
                       int decrypted, cc_time_us now)
{
    if (len < CC_RTP_HEADER_MIN)
        return;
    uint32_t ssrc = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 |
                    (uint32_t)buf[10] << 8 | buf[11];
    uint16_t seq = (uint16_t)(buf[2] << 8 | buf[3]);
    uint32_t ts = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 |
                  (uint32_t)buf[6] << 8 | buf[7];
    rx_stream *r = NULL;
    for (int k = 0; k < 2; k++)
        if (e->rx[k].active && e->rx[k].ssrc == ssrc)
            r = &e->rx[k];
    if (!r) {
        e->unknown_ssrc++;
        return;
    }
    uint64_t max_before = r->ext_max;
    int first = rx_on_seq(r, seq, len);
    if (r->ext_max > max_before + 1)
        e->due = 0; /* a gap: the NACK timer needs looking at */
    cc_track_on_rtp(&r->tr, seq, ts, len, now);
    if (r->video)
        cc_nack_on_packet(&r->nack, seq, now);
    if (!e->first_rtp_at)
        e->first_rtp_at = now;
    if (r->video && first && !e->kf_done_at)
        join_on_video(e, buf, len, decrypted, seq, ts, now);
    if (!first || !decrypted || !e->lat.b || !g->measuring)
        return;
    cc_rtp_hdr h;
    if (cc_rtp_parse(buf, len, &h) != 0 || h.payload_len < 8)
        return;
    uint64_t k = payload_key(h.payload, h.payload_len);
    const lat_entry *le = &g->lat_table[k % LAT_TABLE];
    if (le->key == k && le->at && now - le->at < 10 * CC_USEC_PER_SEC) {
        /* The added latency is the server's: up to the kernel's receive
         * time here, not this loop's (it shares the cores with the server
         * under test and can read a batch late). Both are kept. */
        cc_time_us at = g->rx_at > le->at && g->rx_at <= now ? g->rx_at : now;
        cc_time_us d = at - le->at;
        cc_lg_hist_add(&e->lat, d);
        if (e->lat_read.b)
            cc_lg_hist_add(&e->lat_read, now - le->at);
        /* The bell: what a watcher (not a joiner) sees before and while
         * the joiners come in. */
        if (g->bell_mono && !e->joiner && g->lat_bell.b && g->lat_calm.b) {
            if (now < g->bell_mono)
                cc_lg_hist_add(&g->lat_calm, d);
            else if (now < g->bell_end)
                cc_lg_hist_add(&g->lat_bell, d);
        }
        int64_t sec = (now - g->measure_start) / CC_USEC_PER_SEC;
        if (g->lat_sec && sec >= 0 && sec < g->n_lat_sec) {
            lat_second *ls = &g->lat_sec[sec];
            ls->n++;
            ls->over5ms += d > 5 * CC_USEC_PER_MSEC;
            ls->over50ms += d > 50 * CC_USEC_PER_MSEC;
            if (d > ls->max)
                ls->max = d;
        }
    } else {
        e->lat_unmatched++;
    }
}

static void ep_on_dgram(lg *g, ep *e, cc_udp_dgram *d, cc_time_us now)
{
    if (d->truncated || !e->client)
        return;
    cc_demux_kind kind = cc_demux_classify(d->data, d->len);
    if (e->is_pub) {
        cc_sender_handle(e->sender, kind, d->data, d->len, &d->from, now);
        return;
    }
    /* Seeded impairment of received video (exercises NACK repair; audio is
     * left alone: the SFU does not keep audio for retransmission). */
    if (kind == CC_DEMUX_RTP && g->cfg->impair_loss_pct > 0 && d->len >= 12 &&
        e->rx[0].active && e->rx[0].started &&
        ((uint32_t)d->data[8] << 24 | (uint32_t)d->data[9] << 16 |
         (uint32_t)d->data[10] << 8 | d->data[11]) == e->rx[0].ssrc &&
        cc_prng_below(&g->impair, 10000) < (uint32_t)(g->cfg->impair_loss_pct * 100)) {
        e->impaired++;
        return;
    }
    if (kind != CC_DEMUX_RTP)
        e->due = 0; /* STUN, DTLS or RTCP may have queued a reply or
                     * moved a timer */
    if (kind == CC_DEMUX_RTP && !e->verify) {
        /* Counted by the cleartext header only; the SRTP tag is not
         * checked (the summary says how many subscribers are like this). */
        if (cc_client_get_state(e->client) == CC_CLIENT_CONNECTED &&
            cc_addr_equal(&d->from, cc_client_remote(e->client)))
            sub_on_rtp(g, e, d->data, d->len, 0, now);
        return;
    }
    size_t plain = 0;
    int rc = cc_client_handle(e->client, kind, d->data, d->len, &d->from, now, &plain);
    if (rc == CC_CLIENT_IN_RTP)
        sub_on_rtp(g, e, d->data, plain, 1, now);
    else if (rc == CC_CLIENT_IN_RTCP)
        sub_on_rtcp(e, d->data, plain, now);
    else if (rc < 0 && kind == CC_DEMUX_RTP)
        e->rtp_auth_fail++;
}

static void send_rtcp(ep *e, uint8_t *buf, size_t len)
{
    uint8_t *slot = cc_udp_tx_slot(e->udp);
    if (len + CC_SRTP_MAX_TRAILER > CC_UDP_TX_BUF)
        return;
    memcpy(slot, buf, len);
    size_t out;
    if (cc_client_protect_rtcp(e->client, slot, len, CC_UDP_TX_BUF, &out) == 0)
        ep_commit(e, out, cc_client_remote(e->client));
}

/* Browser-like feedback: NACKs as soon as cc_nack says (reorder delay, a
 * few retries), a receiver report + SDES every second. */
static void sub_feedback(ep *e, cc_time_us now)
{
    if (cc_client_get_state(e->client) != CC_CLIENT_CONNECTED)
        return;
    uint8_t buf[1200];
    rx_stream *v = &e->rx[0];
    if (v->active && cc_nack_deadline(&v->nack) <= now) {
        uint16_t seqs[64];
        size_t n = cc_nack_poll(&v->nack, now, seqs, 64);
        int l = n ? cc_rtcp_write_nack(buf, 512, e->rtcp_ssrc, v->ssrc, seqs, n) : 0;
        if (l > 0) {
            send_rtcp(e, buf, (size_t)l);
            e->nacks_sent++;
            e->nack_seqs += n;
        }
    }
    if (now < e->next_rr)
        return;
    e->next_rr = now + RR_INTERVAL;
    cc_rtcp_rr rr = {.ssrc = e->rtcp_ssrc};
    for (int k = 0; k < 2; k++)
        if (e->rx[k].active && cc_track_report(&e->rx[k].tr, now, &rr.reports[rr.n_reports]) == 0)
            rr.n_reports++;
    int a = cc_rtcp_write_rr(buf, 512, &rr);
    int b = a > 0 ? cc_rtcp_write_sdes_cname(buf + a, 512, e->rtcp_ssrc, e->cname) : -1;
    if (b > 0) {
        send_rtcp(e, buf, (size_t)(a + b));
        e->rr_sent++;
    }
}

void cc_lg_ep_service(ep *e, cc_time_us now, int paused)
{
    if (!e->client)
        return;
    if (e->sender) {
        cc_sender_set_paused(e->sender, paused);
        if (cc_sender_deadline(e->sender, now) <= now)
            cc_sender_handle_timeout(e->sender, now);
        size_t len;
        cc_addr to;
        for (int i = 0; i < 256; i++) {
            uint8_t *slot = cc_udp_tx_slot(e->udp);
            if (cc_sender_poll(e->sender, now, slot, CC_UDP_TX_BUF, &len, &to) != 0)
                break;
            ep_commit(e, len, &to);
        }
    } else {
        if (cc_client_deadline(e->client, now) <= now)
            cc_client_handle_timeout(e->client, now);
        size_t len;
        cc_addr to;
        for (int i = 0; i < 16; i++) {
            uint8_t *slot = cc_udp_tx_slot(e->udp);
            if (cc_client_poll_transmit(e->client, slot, CC_UDP_TX_BUF, &len, &to) != 0)
                break;
            ep_commit(e, len, &to);
        }
        sub_feedback(e, now);
        cc_time_us due = cc_client_deadline(e->client, now);
        if (e->rx[0].active) {
            cc_time_us nd = cc_nack_deadline(&e->rx[0].nack);
            if (nd < due)
                due = nd;
        }
        if (cc_client_get_state(e->client) == CC_CLIENT_CONNECTED && e->next_rr < due)
            due = e->next_rr;
        e->due = due;
    }
    if (!e->shared) /* the shared socket is flushed once per loop */
        cc_udp_flush(e->udp);
}

/* Subscriber of a datagram on the shared socket, by its destination. */
static ep *multi_owner(lg *g, const cc_udp_dgram *d)
{
    if (d->to.len == 0 || d->to.u.sa.sa_family != AF_INET)
        return NULL;
    uint32_t i = ntohl(d->to.u.in4.sin_addr.s_addr) - g->net_base - 1;
    return i < (uint32_t)g->n_subs ? &g->subs[i] : NULL;
}

/* Receive. A socket of its own is read until a batch comes back short
 * (recvmmsg returned all there was: no second syscall to learn that); the
 * shared socket, which carries every subscriber, up to 64 batches at a
 * time so the publisher's pacing is not held up. */
static void drain(lg *g, int timeout_ms)
{
    struct epoll_event evs[256];
    int n = epoll_wait(g->epfd, evs, 256, timeout_ms);
    for (int i = 0; i < n; i++) {
        int shared = g->multi && evs[i].data.ptr == (void *)g->multi;
        ep *e = shared ? NULL : evs[i].data.ptr;
        cc_udp *u = shared ? g->multi : e->udp;
        for (int round = 0; round < (shared ? 64 : 8); round++) {
            cc_udp_dgram *batch;
            int got = cc_udp_recv(u, &batch);
            if (got <= 0)
                break;
            cc_time_us now = cc_clock_mono_us();
            struct timespec rt;
            clock_gettime(CLOCK_REALTIME, &rt);
            /* realtime - monotonic, to put the kernel's receive times on
             * the monotonic clock the send times use */
            int64_t off_ns = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec - (int64_t)now * 1000;
            for (int k = 0; k < got; k++) {
                g->rx_at = batch[k].rx_realtime_ns ? (batch[k].rx_realtime_ns - off_ns) / 1000
                                                   : now;
                ep *owner = shared ? multi_owner(g, &batch[k]) : e;
                if (owner)
                    ep_on_dgram(g, owner, &batch[k], now);
                else
                    g->rx_unknown_dst++;
            }
            if (got < CC_UDP_BATCH)
                break;
        }
    }
    if (g->multi)
        cc_udp_flush(g->multi);
}

int cc_lg_connected(const ep *e)
{
    return e->client && cc_client_get_state(e->client) == CC_CLIENT_CONNECTED;
}

/* Ready to be measured: the transport is up and, for a subscriber, its video
 * has started. An SFU forwards a new subscriber's video only from a
 * keyframe on (RFC 7741 section 4.3: nothing before one is decodable), so
 * the packets before it are not losses: the window opens after it. */
int cc_lg_settled(const ep *e)
{
    if (!e->client)
        return 1;
    cc_client_state st = cc_client_get_state(e->client);
    if (st == CC_CLIENT_CHECKING || st == CC_CLIENT_DTLS)
        return 0;
    if (e->is_pub || st != CC_CLIENT_CONNECTED)
        return 1;
    return !e->rx[0].active || e->rx[0].started;
}

/* HTTP threads: POST (setup) or DELETE (teardown) subscribers by index. */
static void *http_thread(void *ud)
{
    lg *g = ud;
    for (;;) {
        int i = atomic_fetch_add(&g->http_next, 1);
        if (i >= g->n_subs)
            return NULL;
        ep *e = &g->subs[i];
        if (g->http_delete) {
            if (g->cfg->janus_url)
                janus_destroy(g->cfg->janus_url, e);
            else if (e->location[0])
                cc_whipc_delete(e->location, g->cfg->whep_token, 2000);
            continue;
        }
        if (e->joiner) {
            /* The bell: this one's POST waits for its turn (bounded: the
             * bell is at most 600 s ahead, checked at start). */
            cc_time_us wait = e->bell_due - cc_clock_mono_us();
            if (wait > 0) {
                struct timespec ts = {.tv_sec = (time_t)(wait / CC_USEC_PER_SEC),
                                      .tv_nsec = (long)(wait % CC_USEC_PER_SEC) * 1000};
                while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
                }
            }
        }
        if (e->offer)
            cc_lg_ep_post(g, e);
        atomic_store_explicit(&e->post_done, 1, memory_order_release);
    }
}

static int http_threads_start(lg *g, pthread_t *t, int n)
{
    int started = 0;
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[started], NULL, http_thread, g) == 0)
            started++;
    return started;
}

static void http_threads_join(pthread_t *t, int n)
{
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

cc_time_us cc_lg_thread_cpu_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (cc_time_us)ts.tv_sec * CC_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void raise_nofile(int need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)need + 256;
    if (rl.rlim_cur >= want)
        return;
    rl.rlim_cur = want <= rl.rlim_max ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
        CC_WARN(LG, "RLIMIT_NOFILE %llu is below the %d sockets needed",
                (unsigned long long)rl.rlim_cur, need);
}

/* --sub-net A.B.C.D/P: every subscriber gets its own IPv4 address in that
 * network (the first is .1 above the network address), all on one socket
 * bound to the wildcard address. Receiving for N subscribers then costs
 * one recvmmsg per 64 datagrams instead of about one syscall per datagram
 * on N sockets, which is what lets one core of the load generator keep up
 * with a fan-out to a thousand. The addresses must be local (a `local`
 * route, as scripts/bench/netns.sh adds; on lo, all of 127.0.0.0/8 is) and
 * routed back to this host by the server's side. */
static int multi_open(lg *g, const char *net, char *err, size_t cap)
{
    char ip[64];
    const char *slash = strchr(net, '/');
    int prefix = slash ? atoi(slash + 1) : -1;
    size_t l = slash ? (size_t)(slash - net) : 0;
    cc_addr a;
    if (!slash || l == 0 || l >= sizeof ip || prefix < 8 || prefix > 30) {
        snprintf(err, cap, "expected an IPv4 network like 10.232.0.0/16");
        return CC_EINVAL;
    }
    memcpy(ip, net, l);
    ip[l] = 0;
    if (cc_addr_from_string(&a, ip, 0) != 0 || cc_addr_family(&a) != AF_INET) {
        snprintf(err, cap, "'%s' is not an IPv4 address", ip);
        return CC_EINVAL;
    }
    uint32_t mask = prefix == 0 ? 0 : ~0u << (32 - prefix);
    g->net_base = ntohl(a.u.in4.sin_addr.s_addr) & mask;
    g->net_size = ~mask + 1u;
    if ((uint64_t)g->n_subs + 2 > g->net_size) {
        snprintf(err, cap, "too small for %d subscribers", g->n_subs);
        return CC_EINVAL;
    }
    /* 64 MiB: at 2000 subscribers the socket takes ~480k datagrams/s. */
    int rc = cc_udp_open_multi(&g->multi, &a, 64 << 20);
    if (rc != 0) {
        snprintf(err, cap, "cannot open the shared socket");
        return rc;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = g->multi};
    if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, cc_udp_fd(g->multi), &ev) != 0) {
        snprintf(err, cap, "epoll: %s", strerror(errno));
        return CC_EIO;
    }
    return 0;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int cc_loadgen_run(const cc_loadgen_config *cfg)
{
    lg g = {.cfg = cfg, .epfd = -1};
    int status = 2, setup_failed = 0;
    char err[256] = "";
    if ((!cfg->whep_url && !cfg->janus_url) || cfg->subscribers < 0 || cfg->subscribers > 5000 ||
        cfg->duration_s <= 0 || cfg->duration_s > 24 * 3600 || cfg->settle_s < 0 ||
        cfg->settle_s > 600) {
        fprintf(stderr, "loadgen: needs --whep URL, 0..5000 subscribers, a duration > 0, --settle 0..600\n");
        return 2;
    }
    if ((cfg->whip_url || cfg->janus_url) && !cfg->video_file && !cfg->audio_file) {
        fprintf(stderr, "loadgen: --whip/--janus need --video and/or --audio (recorded RTP files)\n");
        return 2;
    }
    if (cfg->churn_rate < 0 || cfg->churn_rate > 1000 ||
        (cfg->churn_rate > 0 && (cfg->janus_url || cfg->sub_net || cfg->subscribers < 1))) {
        /* --sub-net gives a slot a fixed address and port: a new life
         * would take over its predecessor's 5-tuple while the server may
         * still send that one's stream. */
        fprintf(stderr, "loadgen: --churn takes 0..1000 a second, at least one subscriber, "
                        "and neither --janus nor --sub-net\n");
        return 2;
    }
    if (cfg->bell_joiners < 0 || cfg->bell_joiners > cfg->subscribers ||
        (cfg->bell_joiners > 0 &&
         (cfg->churn_rate > 0 || cfg->bell_spread_s < 0 || cfg->bell_spread_s > 60 ||
          cfg->bell_watch_s < 0 || cfg->bell_watch_s > 600 ||
          cfg->bell_at_unix < unix_now() - 60 || cfg->bell_at_unix > unix_now() + 600))) {
        fprintf(stderr, "loadgen: --bell-joiners takes 0..N, a --bell-at within the next 600 s, "
                        "--bell-spread 0..60, --bell-watch 0..600, and no --churn\n");
        return 2;
    }
    cc_srtp_global_init();
    cc_whipc_global_init();
    g.n_subs = cfg->subscribers;
    g.n_watch = g.n_subs - cfg->bell_joiners;
    cc_prng_seed(&g.impair, 0x5eed1234);
    g.pace_bps = PACE_FACTOR * (cfg->video_kbps > 0 ? cfg->video_kbps : 1500) * 1000;
    g.subs = calloc((size_t)(g.n_subs ? g.n_subs : 1), sizeof *g.subs);
    g.lat_table = calloc(LAT_TABLE, sizeof *g.lat_table);
    g.n_lat_sec = cfg->duration_s < 3600 ? (int)cfg->duration_s + 2 : 3602;
    g.lat_sec = calloc((size_t)g.n_lat_sec, sizeof *g.lat_sec);
    g.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!g.subs || !g.lat_table || g.epfd < 0 || cc_dtls_ctx_new(&g.dtls) != 0) {
        fprintf(stderr, "loadgen: out of memory\n");
        goto out;
    }
    if (cfg->sub_net && multi_open(&g, cfg->sub_net, err, sizeof err) != 0) {
        fprintf(stderr, "loadgen: --sub-net %s: %s\n", cfg->sub_net, err);
        goto out;
    }
    /* The SRTP-verified sample (which also gives the latency) is spread
     * evenly over the subscribers: the server fans out in join order, so
     * the first K alone would see only the shortest delays. */
    int stride = cfg->verify_sample > 0 && g.n_subs > cfg->verify_sample
                     ? g.n_subs / cfg->verify_sample : 1;
    for (int i = 0, nv = 0; i < g.n_subs; i++) {
        g.subs[i].idx = i;
        g.subs[i].verify = nv < cfg->verify_sample && i % stride == 0;
        nv += g.subs[i].verify;
    }
    if (cfg->bell_joiners > 0) {
        /* The bell on the monotonic clock; joiner j's POST at bell +
         * spread * j / K. */
        g.bell_mono = cc_clock_mono_us() +
                      (cc_time_us)((cfg->bell_at_unix - unix_now()) * CC_USEC_PER_SEC);
        g.bell_end = g.bell_mono +
                     (cc_time_us)((cfg->bell_spread_s + (cfg->bell_watch_s > 0 ? cfg->bell_watch_s : 3)) *
                                  CC_USEC_PER_SEC);
        g.lat_calm.b = calloc(H_N, sizeof(uint32_t));
        g.lat_bell.b = calloc(H_N, sizeof(uint32_t));
        for (int j = 0; j < cfg->bell_joiners; j++) {
            ep *e = &g.subs[g.n_watch + j];
            e->joiner = 1;
            e->bell_due = g.bell_mono +
                          (cc_time_us)(cfg->bell_spread_s * CC_USEC_PER_SEC * j / cfg->bell_joiners);
        }
    }
    if (cfg->video_file &&
        cc_rtpfile_open(&g.vfile, cfg->video_file, 1, 90000, err, sizeof err) != 0) {
        fprintf(stderr, "loadgen: %s\n", err);
        goto out;
    }
    if (cfg->audio_file &&
        cc_rtpfile_open(&g.afile, cfg->audio_file, 0, 48000, err, sizeof err) != 0) {
        fprintf(stderr, "loadgen: %s\n", err);
        goto out;
    }
    raise_nofile(g.n_subs + 1);
    cc_time_us t0 = cc_clock_mono_us();
    cc_time_us setup_deadline = t0 + (cc_time_us)((cfg->setup_timeout_s > 0 ? cfg->setup_timeout_s : 15) * CC_USEC_PER_SEC);
    double cpu0 = cpu_seconds();
    if (cfg->whip_url || cfg->janus_url) {
        g.pub = calloc(1, sizeof *g.pub);
        if (!g.pub)
            goto out;
        g.pub->is_pub = 1;
        if (cc_lg_ep_prepare(&g, g.pub) == 0) {
            cc_lg_ep_post(&g, g.pub);
            cc_lg_ep_finish(&g, g.pub);
        }
        if (!g.pub->client || !g.pub->sender) {
            fprintf(stderr, "loadgen: publisher: %s\n", g.pub->error);
            goto out;
        }
        if (g.vfile)
            cc_rtpfile_start(g.vfile, t0);
        if (g.afile)
            cc_rtpfile_start(g.afile, t0);
        /* Publisher first, so subscribers join a running stream. */
        while (!cc_lg_settled(g.pub) && cc_clock_mono_us() < setup_deadline) {
            drain(&g, 2);
            cc_lg_ep_service(g.pub, cc_clock_mono_us(), 0);
        }
        if (!cc_lg_connected(g.pub)) {
            fprintf(stderr, "loadgen: publisher did not connect: %s\n",
                    g.pub->client ? cc_client_error(g.pub->client) : g.pub->error);
            goto out;
        }
        CC_INFO(LG, "publisher connected (%s)",
                cc_srtp_profile_name(cc_client_srtp_profile(g.pub->client)));
        if (cfg->janus_url)
            fprintf(stderr, "loadgen: Janus publisher connected (feed %lld)\n", g.janus_feed);
    }
    pthread_t ka_thread;
    int ka_started = cfg->janus_url && pthread_create(&ka_thread, NULL, janus_ka_thread, &g) == 0;
    /* Setup: sockets and offers here, the WHEP POSTs on HTTP_THREADS
     * threads; answers are applied in the loop as they come back. */
    for (int i = 0; i < g.n_subs; i++)
        if (cc_lg_ep_prepare(&g, &g.subs[i]) != 0)
            CC_WARN(LG, "subscriber %d: %s", i, g.subs[i].error);
    pthread_t threads[HTTP_THREADS];
    int n_threads = http_threads_start(&g, threads, HTTP_THREADS);
    if (n_threads == 0) { /* no threads: POST inline */
        for (int i = 0; i < g.n_subs; i++) {
            if (g.subs[i].offer)
                cc_lg_ep_post(&g, &g.subs[i]);
            atomic_store(&g.subs[i].post_done, 1);
        }
    }
    int threads_joined = 0, first_unfinished = 0;
    cc_time_us measure_start = 0, stop_at = 0, end_at = 0, next_service = 0, settled_at = 0;
    cc_time_us drained_at = 0, drained_cpu = 0, setup_timeout = setup_deadline - t0;
    for (;;) {
        cc_time_us before = cc_clock_mono_us();
        if (measure_start && drained_at && before - drained_at > g.loop_gap_max) {
            g.loop_gap_max = before - drained_at;
            g.loop_gap_at = before - measure_start;
            g.loop_gap_cpu = cc_lg_thread_cpu_us() - drained_cpu;
        }
        drain(&g, 1);
        cc_time_us now = cc_clock_mono_us();
        drained_at = now;
        if (measure_start)
            drained_cpu = cc_lg_thread_cpu_us();
        int paused = stop_at && now >= stop_at;
        if (g.pub)
            cc_lg_ep_service(g.pub, now, paused);
        /* Apply the answers that came back. */
        while (first_unfinished < g.n_subs && g.subs[first_unfinished].finished)
            first_unfinished++;
        for (int i = first_unfinished; i < g.n_subs; i++) {
            ep *e = &g.subs[i];
            if (e->finished || !atomic_load_explicit(&e->post_done, memory_order_acquire))
                continue;
            if (!e->offer) {
                e->finished = 1; /* prepare failed: error already set */
                continue;
            }
            if (cc_lg_ep_finish(&g, e) != 0)
                CC_WARN(LG, "subscriber %d: %s", e->idx, e->error);
            cc_lg_ep_service(e, cc_clock_mono_us(), paused); /* first checks now */
        }
        if (!threads_joined && first_unfinished == g.n_subs) {
            http_threads_join(threads, n_threads);
            threads_joined = 1;
        }
        /* Churn from the window's start, once setup's threads are done. */
        if (cfg->churn_rate > 0 && measure_start && threads_joined) {
            if (!g.churn && cc_lg_churn_start(&g) != 0) {
                fprintf(stderr, "loadgen: cannot start the churn threads\n");
                setup_failed = 1;
                break;
            }
            cc_lg_churn_step(&g, now, now < stop_at);
        }
        if (now < next_service && measure_start)
            goto checks;
        next_service = now + SERVICE_US;
        /* The bell's joiners are not waited for: the window opens once
         * the watchers are settled. */
        int all_settled = first_unfinished >= g.n_watch;
        for (int i = 0; i < g.n_subs; i++) {
            if (now >= g.subs[i].due)
                cc_lg_ep_service(&g.subs[i], now, paused);
            if (i < g.n_watch)
                all_settled &= cc_lg_settled(&g.subs[i]);
        }
        if (!settled_at && (all_settled || now >= setup_deadline))
            settled_at = now;
        if (!measure_start && settled_at &&
            now >= settled_at + (cc_time_us)(cfg->settle_s * CC_USEC_PER_SEC)) {
            measure_start = now;
            g.measure_start = now;
            g.measuring = 1;
            stop_at = now + (cc_time_us)(cfg->duration_s * CC_USEC_PER_SEC);
            end_at = stop_at + DRAIN_US;
            g.window_start_unix = unix_now();
            g.window_end_unix = g.window_start_unix + cfg->duration_s;
            g.setup_s = (double)(settled_at - t0) / 1e6;
            if (g.pub && g.pub->sender) {
                const cc_sender_stats *ps = cc_sender_get_stats(g.pub->sender);
                g.pub_w_packets = ps->packets[0] + ps->packets[1];
                g.pub_w_bytes[0] = ps->bytes[0];
                g.pub_w_bytes[1] = ps->bytes[1];
            }
            int nc = 0;
            for (int i = 0; i < g.n_subs; i++) {
                ep *e = &g.subs[i];
                nc += cc_lg_connected(e);
                for (int k = 0; k < 2; k++) {
                    e->rx[k].w_unique = e->rx[k].unique;
                    e->rx[k].w_expected = cc_lg_rx_expected(&e->rx[k]);
                    e->rx[k].w_dups = e->rx[k].dups;
                }
            }
            g.n_connected_at_start = nc;
            CC_INFO(LG, "%d/%d subscribers connected after %.2f s; measuring %.1f s", nc,
                    g.n_subs, g.setup_s, cfg->duration_s);
            fprintf(stderr, "loadgen: %d/%d subscribers connected after %.2f s; measuring %.1f s\n",
                    nc, g.n_subs, g.setup_s, cfg->duration_s);
            if (g.bell_mono) {
                g.bell_late = now > g.bell_mono;
                fprintf(stderr, "loadgen: the bell (%d joiners) %s %.2f s %s the window's start\n",
                        cfg->bell_joiners, g.bell_late ? "rang" : "rings",
                        (double)(g.bell_late ? now - g.bell_mono : g.bell_mono - now) / 1e6,
                        g.bell_late ? "before" : "after");
                if (g.bell_end > stop_at)
                    fprintf(stderr, "loadgen: warning: the window ends %.2f s before the bell's "
                                    "watch period does\n", (double)(g.bell_end - stop_at) / 1e6);
            }
        }
    checks:
        if (stop_at && now >= stop_at && !g.window_closed) {
            g.window_closed = 1;
            g.window_end_unix = unix_now();
            if (g.pub && g.pub->sender) {
                const cc_sender_stats *ps = cc_sender_get_stats(g.pub->sender);
                g.pub_w_packets = ps->packets[0] + ps->packets[1] - g.pub_w_packets;
                g.pub_w_bytes[0] = ps->bytes[0] - g.pub_w_bytes[0];
                g.pub_w_bytes[1] = ps->bytes[1] - g.pub_w_bytes[1];
            }
        }
        if (end_at && now >= end_at && (!g.churn || now >= end_at + setup_timeout))
            break;
        if (end_at && now >= end_at && cc_lg_churn_idle(&g)) {
            /* Churn: the last joins have their answer; wait until their
             * transports are up or failed, so a join is not counted as
             * failed just because the run ended. */
            int busy = 0;
            for (int i = 0; i < g.n_subs && !busy; i++) {
                cc_client *cl = g.subs[i].client;
                cc_client_state st = cl ? cc_client_get_state(cl) : CC_CLIENT_CLOSED;
                busy = st == CC_CLIENT_CHECKING || st == CC_CLIENT_DTLS;
            }
            if (!busy)
                break;
        }
        if (g.pub && !cc_lg_connected(g.pub)) {
            fprintf(stderr, "loadgen: publisher transport %s: %s\n",
                    cc_client_state_name(cc_client_get_state(g.pub->client)),
                    cc_client_error(g.pub->client));
            setup_failed = 1;
            break;
        }
    }
    if (!threads_joined)
        http_threads_join(threads, n_threads);
    cc_lg_churn_stop(&g, cc_clock_mono_us()); /* every life still running ends here */
    double cpu = cpu_seconds() - cpu0;
    double measured = measure_start ? (double)(stop_at - measure_start) / 1e6 : 0;
    /* Polite teardown: DELETE every session, on the HTTP threads. */
    atomic_store(&g.http_next, 0);
    g.http_delete = 1;
    n_threads = http_threads_start(&g, threads, HTTP_THREADS);
    if (n_threads == 0)
        for (int i = 0; i < g.n_subs; i++)
            if (g.subs[i].location[0])
                cc_whipc_delete(g.subs[i].location, cfg->whep_token, 2000);
    http_threads_join(threads, n_threads);
    if (g.pub && g.pub->location[0])
        cc_whipc_delete(g.pub->location, cfg->whip_token, 2000);
    if (cfg->janus_url && g.pub)
        janus_destroy(cfg->janus_url, g.pub);
    atomic_store(&g.ka_stop, 1);
    if (ka_started)
        pthread_join(ka_thread, NULL);
    status = g.churn ? cc_lg_churn_report(&g, measured, cpu, setup_failed)
                     : cc_lg_report(&g, measured, cpu, setup_failed);
    if (setup_failed && status == 0)
        status = 2; /* the publisher's transport failed: the run is void */
    if (!setup_failed && measure_start && !g.churn)
        cc_lg_print_contract_json(&g, measured, cpu);
    if (cfg->video_kbps > 0 && g.pub && measured > 0) {
        double vk = (double)g.pub_w_bytes[0] * 8 / 1000 / measured;
        if (vk < cfg->video_kbps * 0.75 || vk > cfg->video_kbps * 1.25)
            fprintf(stderr, "loadgen: warning: the video file plays at %.0f kbit/s, not the %.0f asked for\n",
                    vk, cfg->video_kbps);
    }
out:
    if (cfg->janus_url && g.pub)
        janus_destroy(cfg->janus_url, g.pub); /* frees the room's only publisher slot */
    cc_lg_churn_free(&g); /* its threads are gone before the slots go */
    if (g.pub)
        cc_lg_ep_close(&g, g.pub);
    free(g.pub);
    for (int i = 0; g.subs && i < g.n_subs; i++)
        cc_lg_ep_close(&g, &g.subs[i]);
    cc_udp_close(g.multi);
    free(g.lat_sec);
    free(g.lat_calm.b);
    free(g.lat_bell.b);
    free(g.subs);
    free(g.lat_table);
    cc_rtpfile_free(g.vfile);
    cc_rtpfile_free(g.afile);
    cc_dtls_ctx_free(g.dtls);
    if (g.epfd >= 0)
        close(g.epfd);
    cc_whipc_global_cleanup();
    return status;
}
