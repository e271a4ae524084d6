/* The sending side of a WHIP publisher: pacing is the source's, feedback
 * handling, header rewriting and the send-side estimate's bookkeeping are
 * here (docs/bwe.md section 5, "classcast's own encoder"). */
#include "classcast/sender.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/rand.h"
#include "classcast/rtcp.h"
#include "classcast/rtp.h"
#include "classcast/twcc.h"

#define HISTORY 1024          /* video packets kept for NACKs (~3 s) */
#define PKT_MAX 1400          /* plain packets we send stay below this */
#define RESEND_MAX 128
#define SR_INTERVAL CC_USEC_PER_SEC
/* cc_bwe_tick at least every 100 ms (bwe.h); every 25 ms, as often as
 * libwebrtc's congestion controller runs its periodic work. */
#define BWE_TICK (25 * CC_USEC_PER_MSEC)
/* Feedback entries expanded at once: one feedback of the server's (every
 * 50 ms, or after CC_TWCC_DEFAULT_MAX_PENDING = 100 packets) fits many
 * times over; entries beyond it are not used. */
#define TWCC_SCRATCH 2048
/* Probe padding: the most one RTP packet can carry (RFC 3550 section 5.1:
 * the last octet counts the padding octets, itself included). */
#define PROBE_PAD 255
/* A probe cluster that finds no video to pad is dropped after this. */
#define PROBE_WAIT_MAX (2 * CC_USEC_PER_SEC)
/* Probe packets go out one tick ahead of the cluster's rate, so a low
 * rate is not cut into a packet per poll (the SFU's sub_probe does the
 * same). */
#define PROBE_AHEAD (10 * CC_USEC_PER_MSEC)
/* Resends with an estimate (they go into the same path as the media, which
 * already gets the whole target): a packet is not sent again within an
 * RTT of its last resend (the SFU retries a NACK every 40 ms or RTT,
 * src/rtp/nack.c; with a standing queue the first resend is still on
 * its way), and resends together stay within RESEND_SHARE of the target,
 * RESEND_BURST of it at once. libwebrtc caps them at the target. */
#define RESEND_SHARE 0.5
#define RESEND_BURST (250 * CC_USEC_PER_MSEC)

typedef struct hist {
    uint16_t seq;
    uint16_t len;
    uint8_t valid;
    cc_time_us resent_at;      /* 0: not yet */
    uint8_t data[PKT_MAX];
} hist;

/* One RTP stream on the wire: the stream's only one, or one simulcast
 * encoding of it (RFC 8853). */
typedef struct lane {
    uint32_t ssrc;
    uint32_t src_ssrc;         /* simulcast: the source's SSRC of it */
    char rid[17];              /* simulcast: its rid-id */
    uint16_t seq;
    int sent_any;
    uint32_t last_ts;
    cc_time_us last_at;
    uint32_t packets, octets;  /* for SR (RFC 3550 6.4.1) */
    hist *history;             /* video: kept for NACKs */
} lane;

typedef struct stream {
    cc_sender_stream_config cfg;
    char mid[17];
    uint32_t ts_off;           /* one RTP clock for all its lanes */
    cc_time_us next_due;
    int ended;
    int sim;                   /* lanes chosen by the source's SSRC */
    int n_lane;
    lane l[CC_SENDER_MAX_ENC];
} stream;

typedef struct resend_req {
    uint16_t seq;
    uint8_t lane;
} resend_req;

struct cc_sender {
    cc_sender_config cfg;
    cc_client *client;
    stream st[CC_SENDER_STREAMS];
    int rr;                    /* round robin between streams */
    int paused;
    resend_req resend[RESEND_MAX]; /* video */
    int n_resend;
    cc_time_us next_sr;
    uint8_t scratch[2048];
    cc_sender_stats stats;
    /* transport-cc: one counter for the whole transport (the draft's
     * section 2 numbers every packet of the transport, whatever its
     * stream), the estimate with its feedback scratch, and the probe
     * cluster being sent. */
    cc_bwe *bwe;
    uint16_t twcc_seq;         /* the next packet's number */
    cc_twcc_pkt *twcc_pkts;
    cc_time_us next_tick;
    cc_bwe_probe probe;        /* id 0: none */
    cc_time_us probe_start;    /* its first packet (while it waits for
                                  video: when it was taken) */
    size_t probe_bytes;
    int probe_pkts;
    double resend_tokens;      /* bytes resends may still use */
    cc_time_us resend_refill;
};

void cc_sender_free(cc_sender *s)
{
    if (!s)
        return;
    cc_bwe_free(s->bwe);
    free(s->twcc_pkts);
    for (int k = 0; k < CC_SENDER_MAX_ENC; k++)
        free(s->st[CC_SENDER_VIDEO].l[k].history);
    free(s);
}

int cc_sender_new(cc_sender **out, const cc_sender_config *cfg, cc_time_us now)
{
    *out = NULL;
    if (!cfg || !cfg->client)
        return CC_EINVAL;
    cc_sender *s = calloc(1, sizeof *s);
    if (!s)
        return CC_ENOMEM;
    s->cfg = *cfg;
    s->client = cfg->client;
    int twcc = 0;
    for (int i = 0; i < CC_SENDER_STREAMS; i++) {
        stream *t = &s->st[i];
        t->cfg = cfg->streams[i];
        if (!t->cfg.enabled || !t->cfg.src.next)
            t->cfg.enabled = 0;
        /* RFC 8285 section 4.2: one-byte ids are 1..14. */
        if (!t->cfg.enabled || t->cfg.ext_twcc < 1 || t->cfg.ext_twcc > 14)
            t->cfg.ext_twcc = 0;
        twcc |= t->cfg.ext_twcc != 0;
        snprintf(t->mid, sizeof t->mid, "%s", t->cfg.mid ? t->cfg.mid : "");
        /* Simulcast: the encodings as given, each needing a rid-id for
         * the RFC 8852 element (1..16 bytes, RFC 8285 section 4.2) and
         * the extension to carry it. */
        int n = t->cfg.enabled ? t->cfg.n_enc : 0;
        if (n >= 2) {
            if (n > CC_SENDER_MAX_ENC || t->cfg.ext_rid < 1 || t->cfg.ext_rid > 14) {
                cc_sender_free(s);
                return CC_EINVAL;
            }
            for (int k = 0; k < n; k++) {
                const char *rid = t->cfg.enc[k].rid;
                if (!rid || !rid[0] || strlen(rid) > 16 || !t->cfg.enc[k].ssrc) {
                    cc_sender_free(s);
                    return CC_EINVAL;
                }
                t->l[k].ssrc = t->cfg.enc[k].ssrc;
                t->l[k].src_ssrc = t->cfg.enc[k].src_ssrc;
                snprintf(t->l[k].rid, sizeof t->l[k].rid, "%s", rid);
            }
            t->sim = 1;
        } else {
            n = 1;
            t->l[0].ssrc = t->cfg.ssrc;
        }
        t->n_lane = n;
        /* RFC 3550 5.1: random initial sequence numbers and timestamp. */
        for (int k = 0; k < n; k++) {
            t->l[k].seq = (uint16_t)cc_rand_u32();
            if (i == CC_SENDER_VIDEO && t->cfg.enabled &&
                !(t->l[k].history = calloc(HISTORY, sizeof(hist)))) {
                cc_sender_free(s);
                return CC_ENOMEM;
            }
        }
        t->ts_off = cc_rand_u32();
        t->next_due = now;
    }
    s->next_sr = now + SR_INTERVAL;
    if (twcc) {
        s->twcc_pkts = calloc(TWCC_SCRATCH, sizeof *s->twcc_pkts);
        s->bwe = s->twcc_pkts ? cc_bwe_new(&cfg->bwe, now) : NULL;
        if (!s->bwe) {
            int bad = s->twcc_pkts && cfg->bwe.min_bps > cfg->bwe.max_bps && cfg->bwe.max_bps;
            cc_sender_free(s);
            return bad ? CC_EINVAL : CC_ENOMEM;
        }
        /* The draft (section 2) leaves the first number open; random, as
         * our RTP sequence numbers, so a wrap is exercised early. */
        s->twcc_seq = (uint16_t)cc_rand_u32();
        s->next_tick = now + BWE_TICK;
        s->stats.target_bps = cc_bwe_target_bps(s->bwe);
    }
    *out = s;
    return 0;
}

/* The stream that sends `ssrc` (and in *lane_out which of its lanes),
 * or -1. */
static int find_stream(const cc_sender *s, uint32_t ssrc, int *lane_out)
{
    for (int i = 0; i < CC_SENDER_STREAMS; i++)
        for (int k = 0; s->st[i].cfg.enabled && k < s->st[i].n_lane; k++)
            if (s->st[i].l[k].ssrc == ssrc) {
                if (lane_out)
                    *lane_out = k;
                return i;
            }
    return -1;
}

/* RFC 4585 section 6.2.1: the lost packets of the media source named,
 * resent from that SSRC's history (each simulcast encoding its own). */
static void on_nack(cc_sender *s, const cc_rtcp_fb *fb)
{
    uint16_t lost[256];
    size_t n = 0;
    int k = 0;
    if (cc_rtcp_parse_nack(fb, lost, 256, &n) != 0)
        return;
    s->stats.nack_received += n;
    if (find_stream(s, fb->media_ssrc, &k) != CC_SENDER_VIDEO) {
        s->stats.resend_miss += n;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (s->n_resend < RESEND_MAX)
            s->resend[s->n_resend++] = (resend_req){.seq = lost[i], .lane = (uint8_t)k};
        else
            s->stats.resend_miss++;
    }
}

static void keyframe(cc_sender *s, uint32_t ssrc)
{
    s->stats.pli_received++;
    /* Any encoding's SSRC: the source codes a keyframe in all of them. */
    int i = find_stream(s, ssrc, NULL);
    if (i >= 0 && s->st[i].cfg.src.keyframe)
        s->st[i].cfg.src.keyframe(s->st[i].cfg.src.ud);
}

/* Transport-wide feedback (draft section 3.1, RTPFB FMT 15) on what this
 * transport sent: every packet's arrival time, for the estimate. */
static void on_twcc_feedback(cc_sender *s, const cc_rtcp_pkt *p, cc_time_us now)
{
    cc_rtcp_fb fb;
    cc_twcc_feedback f;
    if (!s->bwe)
        return; /* not negotiated: not ours to read */
    if (cc_rtcp_parse_fb(p, &fb) == 0 &&
        cc_twcc_parse(&fb, &f, s->twcc_pkts, TWCC_SCRATCH) == 0 &&
        cc_bwe_on_feedback(s->bwe, &f, s->twcc_pkts, f.n, now) == 0) {
        s->stats.twcc_feedback++;
        s->stats.target_bps = cc_bwe_target_bps(s->bwe);
    } else {
        s->stats.twcc_feedback_bad++;
    }
}

static void on_rtcp(cc_sender *s, const uint8_t *buf, size_t len, cc_time_us now)
{
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    cc_rtcp_fb fb;
    cc_rtcp_iter_init(&it, buf, len);
    while (cc_rtcp_next(&it, &p) == 1) {
        if (p.pt == CC_RTCP_RTPFB && p.count == CC_RTPFB_NACK) {
            if (cc_rtcp_parse_fb(&p, &fb) == 0)
                on_nack(s, &fb);
        } else if (p.pt == CC_RTCP_RTPFB && p.count == CC_RTPFB_TWCC) {
            on_twcc_feedback(s, &p, now);
        } else if (p.pt == CC_RTCP_PSFB && p.count == CC_PSFB_AFB) {
            /* REMB (draft-alvestrand-rmcat-remb section 2.2): a cap on the
             * estimate. Other AFB messages do not parse as REMB. */
            cc_rtcp_remb remb;
            if (s->bwe && cc_rtcp_parse_fb(&p, &fb) == 0 &&
                cc_rtcp_parse_remb(&fb, &remb) == 0) {
                s->stats.remb_received++;
                cc_bwe_on_remb(s->bwe, remb.bitrate_bps, now);
                s->stats.target_bps = cc_bwe_target_bps(s->bwe);
            }
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
                int k = find_stream(s, b[i].ssrc, NULL);
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
        on_rtcp(s, buf, plain, now);
    return rc;
}

/* Room for our extension elements: mid and rid (1 + 16 each),
 * abs-send-time (4), transport-wide sequence number (3). */
#define EXT_MAX 48

/* The RFC 8285 one-byte elements (section 4.2) of our extension block,
 * into ext[0..EXT_MAX): mid, a simulcast lane's rid (RFC 8852 section 3:
 * on every packet, as the receiver may bind the SSRC from any of them),
 * abs-send-time with the send time, and the
 * transport-wide sequence number (draft section 2: 16 bits, network
 * order) this packet will have if it leaves (s->twcc_seq; the counter
 * moves on only when it does, so the receiver sees no gap that is not a
 * loss). Returns the length. */
static size_t build_ext(const cc_sender *s, const stream *t, const lane *ln,
                        cc_time_us now, uint8_t ext[EXT_MAX])
{
    size_t el = 0;
    size_t ml = strlen(t->mid);
    if (t->cfg.ext_mid > 0 && t->cfg.ext_mid < 15 && ml > 0 && ml <= 16) {
        ext[el++] = (uint8_t)(t->cfg.ext_mid << 4 | (ml - 1));
        memcpy(ext + el, t->mid, ml);
        el += ml;
    }
    size_t rl = strlen(ln->rid);
    if (t->sim && rl > 0 && rl <= 16) {
        ext[el++] = (uint8_t)(t->cfg.ext_rid << 4 | (rl - 1));
        memcpy(ext + el, ln->rid, rl);
        el += rl;
    }
    if (t->cfg.ext_abs_send_time > 0 && t->cfg.ext_abs_send_time < 15) {
        uint32_t v = cc_abs_send_time_from_us(now);
        ext[el++] = (uint8_t)(t->cfg.ext_abs_send_time << 4 | 2);
        ext[el++] = (uint8_t)(v >> 16);
        ext[el++] = (uint8_t)(v >> 8);
        ext[el++] = (uint8_t)v;
    }
    if (t->cfg.ext_twcc) {
        ext[el++] = (uint8_t)(t->cfg.ext_twcc << 4 | 1);
        ext[el++] = (uint8_t)(s->twcc_seq >> 8);
        ext[el++] = (uint8_t)s->twcc_seq;
    }
    return el;
}

/* 12 header bytes with our SSRC/PT/seq, then the extension block if any
 * (RFC 8285 section 4.2: 0xBEDE, its length in 32-bit words, the
 * elements, zero padding to the word). Returns the header length, 0 if it
 * does not fit in cap. */
static size_t write_header(const stream *t, const lane *ln, int marker, uint32_t ts,
                           int padding, const uint8_t *ext, size_t el, uint8_t *out,
                           size_t cap)
{
    size_t ext_words = (el + 3) / 4;
    size_t hl = 12 + (el ? 4 + ext_words * 4 : 0);
    if (hl > cap)
        return 0;
    cc_rtp_write_header(out, cap, t->cfg.pt, marker, ln->seq, ts, ln->ssrc);
    if (padding)
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
    return hl;
}

/* Rebuild the header: our SSRC/PT/seq with the source's marker and
 * timestamp (+ our random offset) and our extensions, then the source's
 * payload and padding unchanged. *payload_len: the payload alone. */
static int rewrite(cc_sender *s, stream *t, lane *ln, const cc_rtp_hdr *hp,
                   const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                   cc_time_us now, size_t *out_len, size_t *payload_len)
{
    const cc_rtp_hdr h = *hp;
    size_t body = in_len - (size_t)(h.payload - in); /* payload + padding */
    uint8_t ext[EXT_MAX];
    size_t el = build_ext(s, t, ln, now, ext);
    size_t hl = write_header(t, ln, h.marker, h.ts + t->ts_off, h.padding, ext, el, out, cap);
    if (!hl || hl + body > cap || hl + body > PKT_MAX)
        return CC_ENOSPC;
    memcpy(out + hl, h.payload, body);
    ln->last_ts = h.ts + t->ts_off;
    ln->last_at = now;
    *out_len = hl + body;
    *payload_len = h.payload_len;
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

/* A packet of stream i that carried the transport-wide number s->twcc_seq
 * (if the stream numbers) left now with `wire` bytes: the estimate learns
 * of it (cc_bwe_on_sent, bytes as the bottleneck carries them) and the
 * counter moves on. */
static void sent(cc_sender *s, int i, size_t wire, int probe_id, cc_time_us now)
{
    s->stats.wire_bytes[i] += wire;
    if (!s->st[i].cfg.ext_twcc || !s->bwe)
        return;
    cc_bwe_on_sent(s->bwe, s->twcc_seq, wire, probe_id, now);
    s->twcc_seq++;
    s->stats.twcc_numbered++;
}

/* With an estimate: may this packet be resent now (RESEND_SHARE)? */
static int resend_allowed(cc_sender *s, const hist *hp, cc_time_us now)
{
    if (!s->bwe)
        return 1;
    cc_bwe_stats bs;
    cc_bwe_get_stats(s->bwe, &bs);
    if (hp->resent_at && bs.rtt > 0 && now - hp->resent_at < bs.rtt) {
        s->stats.resend_suppressed++;
        return 0;
    }
    double rate = RESEND_SHARE * cc_bwe_target_bps(s->bwe) / 8.0; /* bytes/s */
    double burst = rate * (double)RESEND_BURST / CC_USEC_PER_SEC;
    if (burst < PKT_MAX + CC_SENDER_WIRE_OVERHEAD + CC_SRTP_MAX_TRAILER)
        burst = PKT_MAX + CC_SENDER_WIRE_OVERHEAD + CC_SRTP_MAX_TRAILER;
    if (!s->resend_refill)
        s->resend_tokens = burst;
    else
        s->resend_tokens += rate * (double)(now - s->resend_refill) / CC_USEC_PER_SEC;
    if (s->resend_tokens > burst)
        s->resend_tokens = burst;
    s->resend_refill = now;
    if (s->resend_tokens < (double)hp->len + CC_SENDER_WIRE_OVERHEAD) {
        s->stats.resend_budget++;
        return 0;
    }
    return 1;
}

static int poll_resend(cc_sender *s, cc_time_us now, uint8_t *buf, size_t cap,
                       size_t *len, cc_addr *to)
{
    stream *v = &s->st[CC_SENDER_VIDEO];
    while (s->n_resend > 0) {
        resend_req rq = s->resend[0];
        memmove(s->resend, s->resend + 1, (size_t)(--s->n_resend) * sizeof s->resend[0]);
        uint16_t seq = rq.seq;
        if (rq.lane >= v->n_lane || !v->l[rq.lane].history) {
            s->stats.resend_miss++;
            continue;
        }
        hist *hp = &v->l[rq.lane].history[seq % HISTORY];
        if (!hp->valid || hp->seq != seq || (size_t)hp->len + CC_SRTP_MAX_TRAILER > cap) {
            s->stats.resend_miss++;
            continue;
        }
        if (!resend_allowed(s, hp, now))
            continue;
        memcpy(buf, hp->data, hp->len);
        size_t plen = hp->len;
        /* A resend is a new packet on the transport: it gets a number of
         * its own (draft section 2), in place of the first send's. */
        if (v->cfg.ext_twcc &&
            cc_twcc_ext_put(buf, plen, cap - CC_SRTP_MAX_TRAILER, v->cfg.ext_twcc,
                            s->twcc_seq, &plen) != 0) {
            s->stats.resend_miss++;
            continue;
        }
        if (s->cfg.on_sent)
            s->cfg.on_sent(s->cfg.ud, CC_SENDER_VIDEO, buf, plen, 1, now);
        /* Same SSRC and seq: libsrtp's allow_repeat_tx (cc_srtp) lets the
         * repeat through (docs/WEBRTC.md, section 3, "SRTP details"). */
        if (send_protected(s, buf, plen, cap, len, to, 0) == 0) {
            s->stats.resent++;
            if (v->sim)
                s->stats.enc_resent[rq.lane]++;
            hp->resent_at = now;
            if (s->bwe)
                s->resend_tokens -= (double)(*len + CC_SENDER_WIRE_OVERHEAD);
            sent(s, CC_SENDER_VIDEO, *len + CC_SENDER_WIRE_OVERHEAD, 0, now);
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
        /* Every SSRC that has sent, each simulcast encoding too: its
         * own counts and its timestamp now on the shared RTP clock. */
        for (int k = 0; t->cfg.enabled && k < t->n_lane; k++) {
            lane *ln = &t->l[k];
            if (!ln->sent_any)
                continue;
            cc_rtcp_sr sr = {0};
            sr.ssrc = ln->ssrc;
            sr.ntp = cc_clock_ntp_from_unix_us(wall);
            sr.rtp_ts = ln->last_ts + (uint32_t)((now - ln->last_at) *
                                                 (int64_t)t->cfg.clock_rate / CC_USEC_PER_SEC);
            sr.packet_count = ln->packets;
            sr.octet_count = ln->octets;
            int n = cc_rtcp_write_sr(buf + off, cap - off - CC_SRTP_MAX_TRAILER, &sr);
            if (n <= 0)
                return CC_EAGAIN;
            off += (size_t)n;
            if (!first)
                first = ln->ssrc;
        }
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

/* Probing (docs/bwe.md): the estimate's cluster as padding-only packets
 * on the video stream (the classcast SFU negotiates no RTX with
 * publishers, so there is no repair stream to carry them; receivers skip
 * padding, RFC 3550 section 5.1, and the SFU forwards it as such), each
 * with the next video sequence number and the last video timestamp,
 * paced at the cluster's rate until its bytes and packets are out. */
static int probe_ready(const cc_sender *s)
{
    const stream *v = &s->st[CC_SENDER_VIDEO];
    return v->cfg.enabled && v->cfg.ext_twcc && v->l[v->n_lane - 1].sent_any;
}

static int poll_probe(cc_sender *s, cc_time_us now, uint8_t *buf, size_t cap,
                      size_t *len, cc_addr *to)
{
    if (!s->bwe)
        return CC_EAGAIN;
    if (!s->probe.id) {
        if (!cc_bwe_probe_poll(s->bwe, now, &s->probe))
            return CC_EAGAIN;
        s->probe_start = now;
        s->probe_bytes = 0;
        s->probe_pkts = 0;
        s->stats.probe_clusters++;
    }
    if (!probe_ready(s)) {
        /* No picture has gone out yet (or no video at all): the cluster
         * waits; the estimate gives it up after its own timeout. */
        if (now - s->probe_start > PROBE_WAIT_MAX)
            s->probe.id = 0;
        return CC_EAGAIN;
    }
    if (!s->probe_pkts)
        s->probe_start = now;
    size_t allowed = (size_t)((uint64_t)s->probe.bps *
                              (uint64_t)(now - s->probe_start + PROBE_AHEAD) /
                              (8 * CC_USEC_PER_SEC));
    if (s->probe_bytes >= allowed)
        return CC_EAGAIN;
    stream *v = &s->st[CC_SENDER_VIDEO];
    lane *ln = &v->l[v->n_lane - 1]; /* the largest encoding */
    uint8_t ext[EXT_MAX];
    size_t el = build_ext(s, v, ln, now, ext);
    size_t hl = write_header(v, ln, 0, ln->last_ts, 1, ext, el, buf, cap);
    if (!hl || hl + PROBE_PAD + CC_SRTP_MAX_TRAILER > cap) {
        s->probe.id = 0;
        return CC_EAGAIN;
    }
    memset(buf + hl, 0, PROBE_PAD - 1);
    buf[hl + PROBE_PAD - 1] = PROBE_PAD;
    if (send_protected(s, buf, hl + PROBE_PAD, cap, len, to, 0) != 0) {
        s->probe.id = 0;
        return CC_EAGAIN;
    }
    /* Not kept for NACKs: a lost padding packet needs no repair. An RTP
     * data packet for the SR's count, with no payload octets (RFC 3550
     * section 6.4.1). */
    ln->seq++;
    ln->packets++;
    size_t wire = *len + CC_SENDER_WIRE_OVERHEAD;
    sent(s, CC_SENDER_VIDEO, wire, s->probe.id, now);
    s->probe_bytes += wire;
    s->probe_pkts++;
    s->stats.probe_packets++;
    s->stats.probe_bytes += wire;
    if (s->probe_bytes >= s->probe.min_bytes && s->probe_pkts >= s->probe.min_packets)
        s->probe.id = 0;
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
        int skipped = 0;
    again:;
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
        cc_rtp_hdr h;
        int e = 0;
        if (cc_rtp_parse(s->scratch, in_len, &h) != 0)
            e = -1; /* an unusable source packet: skipped */
        while (e >= 0 && t->sim && e < t->n_lane && t->l[e].src_ssrc != h.ssrc)
            e++;
        if (e == t->n_lane) {
            /* An encoding the answer did not take (RFC 8853 section
             * 5.3.2): not sent. */
            s->stats.enc_unsent++;
            e = -1;
        }
        lane *ln = e >= 0 ? &t->l[e] : NULL;
        size_t pl, payload;
        if (!ln || rewrite(s, t, ln, &h, s->scratch, in_len, buf, cap - CC_SRTP_MAX_TRAILER,
                           now, &pl, &payload) != 0) {
            /* The source's next packet, a few at most in one go. */
            if (++skipped < 64)
                goto again;
            continue;
        }
        if (ln->history) {
            hist *hp = &ln->history[ln->seq % HISTORY];
            hp->seq = ln->seq;
            hp->len = (uint16_t)pl;
            hp->valid = 1;
            hp->resent_at = 0;
            memcpy(hp->data, buf, pl);
        }
        if (s->cfg.on_sent)
            s->cfg.on_sent(s->cfg.ud, i, buf, pl, 0, now);
        ln->seq++;
        ln->sent_any = 1;
        ln->packets++;
        ln->octets += (uint32_t)(pl - 12);
        if (t->sim)
            s->stats.enc_packets[e]++;
        s->stats.packets[i]++;
        s->stats.bytes[i] += pl;
        s->stats.payload_bytes[i] += payload;
        s->rr = (i + 1) % CC_SENDER_STREAMS;
        if (send_protected(s, buf, pl, cap, len, to, 0) == 0) {
            sent(s, i, *len + CC_SENDER_WIRE_OVERHEAD, 0, now);
            return 0;
        }
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
    if (poll_probe(s, now, buf, cap, len, to) == 0)
        return 0;
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
    if (s->bwe && s->next_tick < d)
        d = s->next_tick;
    if (s->paused)
        return d;
    if (s->bwe && s->probe.id && probe_ready(s) && s->probe.bps > 0) {
        /* When the cluster's rate allows the next packet. */
        cc_time_us at = s->probe_pkts
                            ? s->probe_start - PROBE_AHEAD +
                                  (cc_time_us)((uint64_t)s->probe_bytes * 8 * CC_USEC_PER_SEC /
                                               s->probe.bps) + 1
                            : now;
        if (at < now)
            at = now;
        if (at < d)
            d = at;
    }
    for (int i = 0; i < CC_SENDER_STREAMS; i++)
        if (s->st[i].cfg.enabled && !s->st[i].ended && s->st[i].next_due < d)
            d = s->st[i].next_due;
    return d;
}

void cc_sender_handle_timeout(cc_sender *s, cc_time_us now)
{
    cc_client_handle_timeout(s->client, now);
    if (s->bwe && now >= s->next_tick) {
        /* A tick late by more than one period restarts the schedule. */
        s->next_tick += BWE_TICK;
        if (s->next_tick <= now)
            s->next_tick = now + BWE_TICK;
        cc_bwe_tick(s->bwe, now);
        s->stats.target_bps = cc_bwe_target_bps(s->bwe);
    }
}

const cc_sender_stats *cc_sender_get_stats(const cc_sender *s) { return &s->stats; }

void cc_sender_set_paused(cc_sender *s, int paused) { s->paused = paused ? 1 : 0; }

uint32_t cc_sender_target_bps(const cc_sender *s)
{
    return s->bwe ? cc_bwe_target_bps(s->bwe) : 0;
}

int cc_sender_get_bwe_stats(const cc_sender *s, cc_bwe_stats *out)
{
    if (!s->bwe)
        return CC_ENOTFOUND;
    cc_bwe_get_stats(s->bwe, out);
    return 0;
}

int cc_sender_probe_request(cc_sender *s, uint32_t bps, cc_time_us now)
{
    return s->bwe ? cc_bwe_probe_request(s->bwe, bps, now) : 0;
}
