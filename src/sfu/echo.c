/* Echo: the transport core's end-to-end proof (issue "transport core").
 * Each incoming stream is mapped to one outgoing SSRC announced in the
 * answer; packets keep sequence numbers, timestamps, payload types and
 * header extensions (same m-line, same negotiated ids) and only change SSRC.
 * NACK retransmissions arrive on the original SSRC (no RTX negotiated) and
 * are echoed like any packet, which is why libsrtp's allow_repeat_tx is on. */
#include "classcast/echo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/rand.h"
#include "classcast/rtcp.h"
#include "classcast/rtp.h"

#define ECHO_MAX_STREAMS CC_SDP_MAX_MEDIA

typedef struct echo_stream {
    char mid[64];
    uint32_t in_ssrc;     /* 0 until known (from a=ssrc or the mid ext) */
    uint32_t out_ssrc;
    int clock_rate;
    int seen;
    uint16_t max_seq;
    uint32_t last_ts;
    cc_time_us last_time;
    uint32_t packets, octets;
} echo_stream;

typedef struct echo_state {
    int n;
    echo_stream s[ECHO_MAX_STREAMS];
    int ext_mid;          /* BUNDLE: one id space for the whole transport */
    char cname[32];
    cc_time_us next_report;
} echo_state;

static echo_stream *by_in_ssrc(echo_state *st, uint32_t ssrc)
{
    for (int i = 0; i < st->n; i++)
        if (st->s[i].in_ssrc == ssrc && ssrc != 0)
            return &st->s[i];
    return NULL;
}

static echo_stream *by_out_ssrc(echo_state *st, uint32_t ssrc)
{
    for (int i = 0; i < st->n; i++)
        if (st->s[i].out_ssrc == ssrc)
            return &st->s[i];
    return NULL;
}

/* A stream whose SSRC the offer did not signal is bound on its first packet
 * through the RFC 8843 section 15 mid header extension. */
static echo_stream *bind_by_mid(echo_state *st, const cc_rtp_hdr *h)
{
    const uint8_t *v;
    size_t vl;
    if (!st->ext_mid || cc_rtp_find_ext(h, st->ext_mid, &v, &vl) != 0)
        return NULL;
    for (int i = 0; i < st->n; i++) {
        echo_stream *s = &st->s[i];
        if (s->in_ssrc == 0 && strlen(s->mid) == vl && memcmp(s->mid, v, vl) == 0) {
            s->in_ssrc = h->ssrc;
            return s;
        }
    }
    return NULL;
}

static void echo_on_rtp(cc_worker *w, cc_wpeer *wp, uint8_t *buf, size_t len,
                        cc_time_us now)
{
    echo_state *st = cc_wpeer_app_state(wp);
    cc_rtp_hdr h;
    if (cc_rtp_parse(buf, len, &h) != 0) {
        cc_worker_count_drop(w, CC_DROP_RTP_MALFORMED);
        return;
    }
    echo_stream *s = by_in_ssrc(st, h.ssrc);
    if (!s)
        s = bind_by_mid(st, &h);
    if (!s) {
        cc_worker_count_drop(w, CC_DROP_RTP_UNKNOWN_SSRC);
        return;
    }
    if (!s->seen || cc_seq_newer(h.seq, s->max_seq)) {
        s->seen = 1;
        s->max_seq = h.seq;
        s->last_ts = h.ts;
        s->last_time = now;
    }
    s->packets++;
    s->octets += (uint32_t)h.payload_len;
    cc_rtp_set_ssrc(buf, s->out_ssrc);
    cc_worker_send_rtp(w, wp, buf, len);
}

/* Forward feedback about our SSRC to the browser's matching sender. */
static void forward_fb(cc_worker *w, cc_wpeer *wp, echo_state *st,
                       const cc_rtcp_pkt *p)
{
    cc_rtcp_fb fb;
    if (cc_rtcp_parse_fb(p, &fb) != 0) {
        cc_worker_count_drop(w, CC_DROP_RTCP_MALFORMED);
        return;
    }
    uint32_t media = fb.media_ssrc;
    if (p->pt == CC_RTCP_PSFB && fb.fmt == CC_PSFB_FIR) {
        /* RFC 5104 section 4.3.1.2: media SSRC is 0, the target is in the
         * FCI entries. */
        cc_rtcp_fir_entry e[4];
        size_t n = 0;
        if (cc_rtcp_parse_fir(&fb, e, 4, &n) != 0 || n == 0)
            return;
        media = e[0].ssrc;
    }
    echo_stream *s = by_out_ssrc(st, media);
    if (!s || !s->in_ssrc)
        return;
    uint8_t out[1500];
    if (p->len > sizeof out)
        return;
    memcpy(out, p->data, p->len);
    cc_rtcp_fb_set_sender(out, s->out_ssrc);
    cc_rtcp_fb_set_media(out, p->len, s->in_ssrc);
    cc_worker_send_rtcp(w, wp, out, p->len);
}

static void echo_on_rtcp(cc_worker *w, cc_wpeer *wp, uint8_t *buf, size_t len,
                         cc_time_us now)
{
    (void)now;
    echo_state *st = cc_wpeer_app_state(wp);
    if (cc_log_get_level() >= CC_LOG_DEBUG) {
        /* Debug aid: the decrypted compound in hex, for captured vectors. */
        char hex[2 * 1500 + 1];
        size_t n = len < 1500 ? len : 1500;
        for (size_t i = 0; i < n; i++)
            snprintf(hex + 2 * i, 3, "%02x", buf[i]);
        CC_DEBUG("echo", "rtcp in %s", hex);
    }
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    int rc;
    cc_rtcp_iter_init(&it, buf, len);
    while ((rc = cc_rtcp_next(&it, &p)) == 1) {
        if (p.pt == CC_RTCP_PSFB &&
            (p.count == CC_PSFB_PLI || p.count == CC_PSFB_FIR))
            forward_fb(w, wp, st, &p);
        else if (p.pt == CC_RTCP_RTPFB && p.count == CC_RTPFB_NACK)
            forward_fb(w, wp, st, &p);
    }
    if (rc < 0)
        cc_worker_count_drop(w, CC_DROP_RTCP_MALFORMED);
}

/* RFC 3550 section 6.4.1: a sender report per outgoing stream, here about
 * once a second, with an SDES CNAME (section 6.1 compound rules). */
static void echo_on_tick(cc_worker *w, cc_wpeer *wp, cc_time_us now)
{
    echo_state *st = cc_wpeer_app_state(wp);
    if (now < st->next_report)
        return;
    st->next_report = now + CC_USEC_PER_SEC;
    cc_time_us wall = cc_clock_wall_us();
    for (int i = 0; i < st->n; i++) {
        echo_stream *s = &st->s[i];
        if (!s->seen || s->clock_rate <= 0)
            continue;
        cc_rtcp_sr sr = {0};
        sr.ssrc = s->out_ssrc;
        sr.ntp = cc_clock_ntp_from_unix_us(wall);
        sr.rtp_ts = s->last_ts + (uint32_t)((now - s->last_time) * s->clock_rate /
                                            CC_USEC_PER_SEC);
        sr.packet_count = s->packets;
        sr.octet_count = s->octets;
        uint8_t out[512];
        int a = cc_rtcp_write_sr(out, sizeof out, &sr);
        if (a < 0)
            continue;
        int b = cc_rtcp_write_sdes_cname(out + a, sizeof out - (size_t)a,
                                         s->out_ssrc, st->cname);
        if (b < 0)
            continue;
        cc_worker_send_rtcp(w, wp, out, (size_t)(a + b));
    }
}

static void echo_on_closed(cc_worker *w, cc_wpeer *wp)
{
    (void)w;
    free(cc_wpeer_app_state(wp));
}

const cc_worker_app cc_echo_app = {
    .on_rtp = echo_on_rtp,
    .on_rtcp = echo_on_rtcp,
    .on_tick = echo_on_tick,
    .on_closed = echo_on_closed,
};

static uint32_t fresh_ssrc(const echo_state *st, const cc_sdp_offer *o)
{
    for (;;) {
        uint32_t v = cc_rand_u32();
        int clash = v == 0;
        for (int i = 0; i < st->n; i++)
            clash |= st->s[i].out_ssrc == v;
        for (int m = 0; m < o->n_media; m++)
            for (int k = 0; k < o->media[m].n_ssrcs; k++)
                clash |= o->media[m].ssrcs[k] == v;
        if (!clash)
            return v;
    }
}

int cc_echo_prepare(const char *offer_text, size_t len, const cc_echo_params *p,
                    char **answer, cc_worker_msg_add **msg_out, char *err,
                    size_t errcap)
{
    *answer = NULL;
    *msg_out = NULL;
    cc_sdp_offer *offer = calloc(1, sizeof *offer);
    cc_sdp_answer_params *ap = calloc(1, sizeof *ap);
    echo_state *st = calloc(1, sizeof *st);
    cc_worker_msg_add *msg = cc_worker_msg_add_new();
    cc_sdp_choice choices[CC_SDP_MAX_MEDIA];
    char ufrag[CC_ICE_UFRAG_LEN + 1], pwd[CC_ICE_PWD_LEN + 1];
    int rc = CC_ENOMEM;
    if (!offer || !ap || !st || !msg) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    rc = cc_sdp_parse(offer_text, len, offer);
    if (rc != 0) {
        snprintf(err, errcap, "bad SDP offer: %s", offer->error);
        goto out;
    }
    cc_ice_make_credentials(ufrag, pwd);
    cc_rand_token(st->cname, 16);
    ap->ice_ufrag = ufrag;
    ap->ice_pwd = pwd;
    ap->fingerprint = p->fingerprint;
    ap->cname = st->cname;
    ap->n_candidates = p->n_candidates;
    memcpy(ap->candidates, p->candidates, sizeof ap->candidates);
    /* Echo sends on every audio/video m-line the browser sends on. */
    for (int i = 0; i < offer->n_media && i < CC_SDP_MAX_MEDIA; i++) {
        const cc_sdp_media *m = &offer->media[i];
        int browser_sends = m->direction == CC_DIR_SENDRECV || m->direction == CC_DIR_SENDONLY;
        ap->send[i] = browser_sends && m->direction == CC_DIR_SENDRECV &&
                      (m->kind == CC_MEDIA_AUDIO || m->kind == CC_MEDIA_VIDEO);
    }
    rc = cc_sdp_choose(offer, ap, choices);
    if (rc != 0) {
        snprintf(err, errcap, "the offer has no VP8 video or Opus audio to echo");
        goto out;
    }
    for (int i = 0; i < offer->n_media && i < CC_SDP_MAX_MEDIA; i++) {
        const cc_sdp_media *m = &offer->media[i];
        if (!choices[i].accepted || !ap->send[i])
            continue;
        echo_stream *s = &st->s[st->n];
        snprintf(s->mid, sizeof s->mid, "%s", m->mid);
        s->in_ssrc = m->fid_primary ? m->fid_primary : (m->n_ssrcs ? m->ssrcs[0] : 0);
        s->out_ssrc = fresh_ssrc(st, offer);
        for (int c = 0; c < m->n_codecs; c++)
            if (m->codecs[c].pt == choices[i].pt)
                s->clock_rate = m->codecs[c].clock_rate;
        if (choices[i].ext_mid)
            st->ext_mid = choices[i].ext_mid;
        ap->streams[i].ssrc = s->out_ssrc;
        snprintf(ap->streams[i].stream_id, sizeof ap->streams[i].stream_id, "echo-%s", st->cname);
        snprintf(ap->streams[i].track_id, sizeof ap->streams[i].track_id, "echo-%s-%s",
                 m->kind == CC_MEDIA_VIDEO ? "video" : "audio", m->mid);
        st->n++;
    }
    rc = cc_sdp_write_answer(offer, ap, choices, answer);
    if (rc != 0) {
        snprintf(err, errcap, "could not write the SDP answer: %s", cc_strerror(rc));
        goto out;
    }
    rc = cc_worker_msg_add_transport(msg, ufrag, pwd, offer, choices, err, errcap);
    if (rc != 0)
        goto out;
    msg->app = &cc_echo_app;
    msg->app_state = st;
    msg->free_app_state = free;
    st = NULL;
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
    free(st);
    if (msg)
        cc_msg_free(&msg->hdr);
    return rc;
}
