/* The sending side of a WHIP publisher: pacing is the source's, feedback
 * handling and header rewriting are here. */
#include "classcast/sender.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/rand.h"
#include "classcast/rtcp.h"
#include "classcast/rtp.h"

#define HISTORY 1024          /* video packets kept for NACKs (~3 s) */
#define PKT_MAX 1400          /* plain packets we send stay below this */
#define RESEND_MAX 128
#define SR_INTERVAL CC_USEC_PER_SEC

typedef struct hist {
    uint16_t seq;
    uint16_t len;
    uint8_t valid;
    uint8_t data[PKT_MAX];
} hist;

typedef struct stream {
    cc_sender_stream_config cfg;
    char mid[17];
    uint16_t seq;
    uint32_t ts_off;
    cc_time_us next_due;
    int ended;
    int sent_any;
    uint32_t last_ts;
    cc_time_us last_at;
    uint32_t packets, octets;  /* for SR (RFC 3550 6.4.1) */
} stream;

struct cc_sender {
    cc_sender_config cfg;
    cc_client *client;
    stream st[CC_SENDER_STREAMS];
    int rr;                    /* round robin between streams */
    int paused;
    hist *history;             /* video */
    uint16_t resend[RESEND_MAX];
    int n_resend;
    cc_time_us next_sr;
    uint8_t scratch[2048];
    cc_sender_stats stats;
};

int cc_sender_new(cc_sender **out, const cc_sender_config *cfg, cc_time_us now)
{
    *out = NULL;
    if (!cfg || !cfg->client)
        return CC_EINVAL;
    cc_sender *s = calloc(1, sizeof *s);
    if (!s)
        return CC_ENOMEM;
    s->history = calloc(HISTORY, sizeof *s->history);
    if (!s->history) {
        free(s);
        return CC_ENOMEM;
    }
    s->cfg = *cfg;
    s->client = cfg->client;
    for (int i = 0; i < CC_SENDER_STREAMS; i++) {
        stream *t = &s->st[i];
        t->cfg = cfg->streams[i];
        if (!t->cfg.enabled || !t->cfg.src.next)
            t->cfg.enabled = 0;
        snprintf(t->mid, sizeof t->mid, "%s", t->cfg.mid ? t->cfg.mid : "");
        /* RFC 3550 5.1: random initial sequence number and timestamp. */
        t->seq = (uint16_t)cc_rand_u32();
        t->ts_off = cc_rand_u32();
        t->next_due = now;
    }
    s->next_sr = now + SR_INTERVAL;
    *out = s;
    return 0;
}

void cc_sender_free(cc_sender *s)
{
    if (!s)
        return;
    free(s->history);
    free(s);
}

static int find_stream(const cc_sender *s, uint32_t ssrc)
{
    for (int i = 0; i < CC_SENDER_STREAMS; i++)
        if (s->st[i].cfg.enabled && s->st[i].cfg.ssrc == ssrc)
            return i;
    return -1;
}

static void on_nack(cc_sender *s, const cc_rtcp_fb *fb)
{
    uint16_t lost[256];
    size_t n = 0;
    if (cc_rtcp_parse_nack(fb, lost, 256, &n) != 0)
        return;
    s->stats.nack_received += n;
    if (find_stream(s, fb->media_ssrc) != CC_SENDER_VIDEO) {
        s->stats.resend_miss += n;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (s->n_resend < RESEND_MAX)
            s->resend[s->n_resend++] = lost[i];
        else
            s->stats.resend_miss++;
    }
}

static void keyframe(cc_sender *s, uint32_t ssrc)
{
    s->stats.pli_received++;
    int i = find_stream(s, ssrc);
    if (i >= 0 && s->st[i].cfg.src.keyframe)
        s->st[i].cfg.src.keyframe(s->st[i].cfg.src.ud);
}

static void on_rtcp(cc_sender *s, const uint8_t *buf, size_t len)
{
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    cc_rtcp_fb fb;
    cc_rtcp_iter_init(&it, buf, len);
    while (cc_rtcp_next(&it, &p) == 1) {
        if (p.pt == CC_RTCP_RTPFB && p.count == CC_RTPFB_NACK) {
            if (cc_rtcp_parse_fb(&p, &fb) == 0)
                on_nack(s, &fb);
        } else if (p.pt == CC_RTCP_PSFB && p.count == CC_PSFB_PLI) {
            if (cc_rtcp_parse_fb(&p, &fb) == 0)
                keyframe(s, fb.media_ssrc);
        } else if (p.pt == CC_RTCP_PSFB && p.count == CC_PSFB_FIR) {
            cc_rtcp_fir_entry e[4];
            size_t n = 0;
            if (cc_rtcp_parse_fb(&p, &fb) == 0 && cc_rtcp_parse_fir(&fb, e, 4, &n) == 0)
                for (size_t i = 0; i < n; i++)
                    keyframe(s, e[i].ssrc);
        } else if (p.pt == CC_RTCP_RR || p.pt == CC_RTCP_SR) {
            cc_rtcp_rr rr;
            cc_rtcp_sr sr;
            const cc_rtcp_report_block *b = NULL;
            int nb = 0;
            if (p.pt == CC_RTCP_RR && cc_rtcp_parse_rr(&p, &rr) == 0) {
                b = rr.reports;
                nb = rr.n_reports;
            } else if (p.pt == CC_RTCP_SR && cc_rtcp_parse_sr(&p, &sr) == 0) {
                b = sr.reports;
                nb = sr.n_reports;
            }
            s->stats.rr_received++;
            for (int i = 0; i < nb; i++) {
                int k = find_stream(s, b[i].ssrc);
                if (k >= 0)
                    s->stats.last_rr_cumulative_lost[k] =
                        (uint32_t)(b[i].cumulative_lost < 0 ? 0 : b[i].cumulative_lost);
            }
        }
    }
}

int cc_sender_handle(cc_sender *s, cc_demux_kind kind, uint8_t *buf,
                     size_t len, const cc_addr *from, cc_time_us now)
{
    size_t plain = 0;
    int rc = cc_client_handle(s->client, kind, buf, len, from, now, &plain);
    if (rc == CC_CLIENT_IN_RTCP)
        on_rtcp(s, buf, plain);
    return rc;
}

/* Rebuild the header: 12 bytes with our SSRC/PT/seq and the source's
 * marker and timestamp (+ our random offset), then an RFC 8285 one-byte
 * extension block with mid and abs-send-time when negotiated, then the
 * source's payload and padding unchanged. */
static int rewrite(cc_sender *s, stream *t, const uint8_t *in, size_t in_len,
                   uint8_t *out, size_t cap, cc_time_us now, size_t *out_len)
{
    cc_rtp_hdr h;
    if (cc_rtp_parse(in, in_len, &h) != 0)
        return CC_EINVAL;
    (void)s;
    size_t body = in_len - (size_t)(h.payload - in); /* payload + padding */
    uint8_t ext[32];
    size_t el = 0;
    size_t ml = strlen(t->mid);
    if (t->cfg.ext_mid > 0 && t->cfg.ext_mid < 15 && ml > 0 && ml <= 16) {
        ext[el++] = (uint8_t)(t->cfg.ext_mid << 4 | (ml - 1));
        memcpy(ext + el, t->mid, ml);
        el += ml;
    }
    if (t->cfg.ext_abs_send_time > 0 && t->cfg.ext_abs_send_time < 15) {
        uint32_t v = cc_abs_send_time_from_us(now);
        ext[el++] = (uint8_t)(t->cfg.ext_abs_send_time << 4 | 2);
        ext[el++] = (uint8_t)(v >> 16);
        ext[el++] = (uint8_t)(v >> 8);
        ext[el++] = (uint8_t)v;
    }
    size_t ext_words = (el + 3) / 4;
    size_t hl = 12 + (el ? 4 + ext_words * 4 : 0);
    if (hl + body > cap || hl + body > PKT_MAX)
        return CC_ENOSPC;
    cc_rtp_write_header(out, cap, t->cfg.pt, h.marker, t->seq, h.ts + t->ts_off,
                        t->cfg.ssrc);
    if (h.padding)
        out[0] |= 0x20;
    if (el) {
        out[0] |= 0x10;
        out[12] = 0xBE;
        out[13] = 0xDE;
        out[14] = (uint8_t)(ext_words >> 8);
        out[15] = (uint8_t)ext_words;
        memset(out + 16, 0, ext_words * 4);
        memcpy(out + 16, ext, el);
    }
    memcpy(out + hl, h.payload, body);
    t->last_ts = h.ts + t->ts_off;
    t->last_at = now;
    *out_len = hl + body;
    return 0;
}

static int send_protected(cc_sender *s, uint8_t *buf, size_t len, size_t cap,
                          size_t *out_len, cc_addr *to, int rtcp)
{
    int rc = rtcp ? cc_client_protect_rtcp(s->client, buf, len, cap, out_len)
                  : cc_client_protect_rtp(s->client, buf, len, cap, out_len);
    if (rc != 0)
        return rc;
    *to = *cc_client_remote(s->client);
    return 0;
}

static int poll_resend(cc_sender *s, cc_time_us now, uint8_t *buf, size_t cap,
                       size_t *len, cc_addr *to)
{
    while (s->n_resend > 0) {
        uint16_t seq = s->resend[0];
        memmove(s->resend, s->resend + 1, (size_t)(--s->n_resend) * sizeof s->resend[0]);
        hist *hp = &s->history[seq % HISTORY];
        if (!hp->valid || hp->seq != seq || (size_t)hp->len + CC_SRTP_MAX_TRAILER > cap) {
            s->stats.resend_miss++;
            continue;
        }
        memcpy(buf, hp->data, hp->len);
        if (s->cfg.on_sent)
            s->cfg.on_sent(s->cfg.ud, CC_SENDER_VIDEO, buf, hp->len, 1, now);
        /* Same SSRC and seq: libsrtp's allow_repeat_tx (cc_srtp) lets the
         * repeat through (docs/WEBRTC.md, section 3, "SRTP details"). */
        if (send_protected(s, buf, hp->len, cap, len, to, 0) == 0) {
            s->stats.resent++;
            return 0;
        }
    }
    return CC_EAGAIN;
}

static int poll_sr(cc_sender *s, cc_time_us now, uint8_t *buf, size_t cap,
                   size_t *len, cc_addr *to)
{
    if (now < s->next_sr)
        return CC_EAGAIN;
    s->next_sr = now + SR_INTERVAL;
    /* One compound: an SR per stream that has sent, then SDES CNAME
     * (RFC 3550 6.1). */
    size_t off = 0;
    uint32_t first = 0;
    cc_time_us wall = cc_clock_wall_us();
    for (int i = 0; i < CC_SENDER_STREAMS; i++) {
        stream *t = &s->st[i];
        if (!t->cfg.enabled || !t->sent_any)
            continue;
        cc_rtcp_sr sr = {0};
        sr.ssrc = t->cfg.ssrc;
        sr.ntp = cc_clock_ntp_from_unix_us(wall);
        sr.rtp_ts = t->last_ts + (uint32_t)((now - t->last_at) *
                                            (int64_t)t->cfg.clock_rate / CC_USEC_PER_SEC);
        sr.packet_count = t->packets;
        sr.octet_count = t->octets;
        int n = cc_rtcp_write_sr(buf + off, cap - off - CC_SRTP_MAX_TRAILER, &sr);
        if (n <= 0)
            return CC_EAGAIN;
        off += (size_t)n;
        if (!first)
            first = t->cfg.ssrc;
    }
    if (!off)
        return CC_EAGAIN;
    int n = cc_rtcp_write_sdes_cname(buf + off, cap - off - CC_SRTP_MAX_TRAILER, first,
                                     s->cfg.cname ? s->cfg.cname : "classcast");
    if (n <= 0)
        return CC_EAGAIN;
    off += (size_t)n;
    if (send_protected(s, buf, off, cap, len, to, 1) != 0)
        return CC_EAGAIN;
    s->stats.sr_sent++;
    return 0;
}

static int poll_media(cc_sender *s, cc_time_us now, uint8_t *buf, size_t cap,
                      size_t *len, cc_addr *to)
{
    for (int k = 0; k < CC_SENDER_STREAMS; k++) {
        int i = (s->rr + k) % CC_SENDER_STREAMS;
        stream *t = &s->st[i];
        if (!t->cfg.enabled || t->ended || now < t->next_due)
            continue;
        size_t in_len = 0;
        cc_time_us due = now;
        int rc = t->cfg.src.next(t->cfg.src.ud, now, s->scratch, sizeof s->scratch,
                                 &in_len, &due);
        if (rc == CC_EAGAIN) {
            t->next_due = due;
            continue;
        }
        if (rc != 0) {
            t->ended = 1;
            continue;
        }
        size_t pl;
        if (rewrite(s, t, s->scratch, in_len, buf, cap - CC_SRTP_MAX_TRAILER, now, &pl) != 0)
            continue; /* an unusable source packet: skipped */
        if (i == CC_SENDER_VIDEO) {
            hist *hp = &s->history[t->seq % HISTORY];
            hp->seq = t->seq;
            hp->len = (uint16_t)pl;
            hp->valid = 1;
            memcpy(hp->data, buf, pl);
        }
        if (s->cfg.on_sent)
            s->cfg.on_sent(s->cfg.ud, i, buf, pl, 0, now);
        t->seq++;
        t->sent_any = 1;
        t->packets++;
        t->octets += (uint32_t)(pl - 12);
        s->stats.packets[i]++;
        s->stats.bytes[i] += pl;
        s->rr = (i + 1) % CC_SENDER_STREAMS;
        if (send_protected(s, buf, pl, cap, len, to, 0) == 0)
            return 0;
    }
    return CC_EAGAIN;
}

int cc_sender_poll(cc_sender *s, cc_time_us now, uint8_t *buf, size_t cap,
                   size_t *len, cc_addr *to)
{
    if (cc_client_poll_transmit(s->client, buf, cap, len, to) == 0)
        return 0;
    if (cc_client_get_state(s->client) != CC_CLIENT_CONNECTED)
        return CC_EAGAIN;
    if (poll_resend(s, now, buf, cap, len, to) == 0)
        return 0;
    if (poll_sr(s, now, buf, cap, len, to) == 0)
        return 0;
    if (s->paused)
        return CC_EAGAIN;
    return poll_media(s, now, buf, cap, len, to);
}

cc_time_us cc_sender_deadline(const cc_sender *s, cc_time_us now)
{
    cc_time_us d = cc_client_deadline(s->client, now);
    if (cc_client_get_state(s->client) != CC_CLIENT_CONNECTED)
        return d;
    if (s->n_resend)
        return now;
    if (s->next_sr < d)
        d = s->next_sr;
    if (s->paused)
        return d;
    for (int i = 0; i < CC_SENDER_STREAMS; i++)
        if (s->st[i].cfg.enabled && !s->st[i].ended && s->st[i].next_due < d)
            d = s->st[i].next_due;
    return d;
}

void cc_sender_handle_timeout(cc_sender *s, cc_time_us now)
{
    cc_client_handle_timeout(s->client, now);
}

const cc_sender_stats *cc_sender_get_stats(const cc_sender *s) { return &s->stats; }

void cc_sender_set_paused(cc_sender *s, int paused) { s->paused = paused ? 1 : 0; }
