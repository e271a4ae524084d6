/* The SFU data path in memory with a manual clock and seeded loss: one
 * publisher (VP8, 30 fps, 3 packets a frame) feeds a server-side track
 * (cache, receive stats, NACK towards the publisher); three subscriber
 * forwarders fan it out over lossy links and repair their losses with NACKs
 * answered from the track cache. A subscriber joins late (keyframe wait and
 * a keyframe request), and the teacher "reloads": a new source with
 * unrelated SSRC/seq/ts/PictureID takes over. Each subscriber must see one
 * SSRC, gap-free sequence numbers (after repair), monotonic timestamps,
 * PictureIDs that go up by one per frame across the switch, a keyframe
 * first, and payloads identical to what the publisher sent.
 * Each subscriber also sends receiver reports (RFC 3550 A.3, once a
 * second) and NACKs that drive its own layer controller as the SFU does
 * (sfu_feedback.c): loss the publisher's uplink caused must not step a
 * subscriber down, loss on its own link must. */
#include "../unit/cc_test.h"
#include "classcast/err.h"
#include "classcast/forwarder.h"
#include "classcast/layerctl.h"
#include "classcast/nack.h"
#include "classcast/rand.h"
#include "classcast/rtp.h"
#include "classcast/track.h"
#include "classcast/vp8.h"

#define MS CC_USEC_PER_MSEC
#define NSUB 3
#define PKTS_PER_FRAME 3
#define MAX_OUT 20000

typedef struct publisher {
    uint32_t source;       /* track id on the server */
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts;
    uint16_t pid;
    uint8_t tl0;
    int want_key;
    uint32_t frames;
} publisher;

typedef struct rx_pkt {
    uint16_t seq;
    uint32_t ts;
    uint16_t pid;
    int key;
    int start;
    uint8_t payload0; /* first payload octet after the descriptor */
} rx_pkt;

typedef struct subscriber {
    cc_fwd fwd;
    cc_nack nack;            /* the subscriber's own loss tracking */
    int joined;
    uint32_t ssrc_seen;
    int bad_ssrc;
    int got_any;
    int first_was_key;
    /* Received packets by out seq (delivered or repaired). */
    uint8_t have[65536];
    rx_pkt rx[65536];
    uint16_t first_seq, last_seq;
    uint64_t delivered, repaired, lost_link;
    uint32_t down_loss;      /* percent, its own link */
    cc_track rxs;            /* its receive statistics, for its RRs */
    cc_layerctl lc;          /* on the server: what its link carries */
    uint64_t nacks_own, nacks_gap;
} subscriber;

typedef struct world {
    cc_prng rng;
    cc_time_us now;
    cc_pkt_pool *pool;
    cc_track *track[2];      /* A and B on the server */
    publisher pub[2];
    int cur;                 /* which publisher is live */
    subscriber sub[NSUB];
    uint32_t up_loss;        /* percent, publisher -> SFU */
    int up_repair;           /* the SFU NACKs the publisher's losses */
    /* Publisher-side history so a server NACK can be answered. */
    uint8_t hist[2][1024][256];
    size_t hist_len[2][1024];
    uint64_t plis, nacks_up, keyframe_waits, rtx_down, cache_miss;
} world;

static int lose(world *w, uint32_t pct)
{
    return pct && cc_prng_below(&w->rng, 100) < pct;
}

static size_t build_pkt(publisher *p, uint8_t *buf, int key, int first, int last,
                        uint16_t seq)
{
    int n = cc_rtp_write_header(buf, 256, 100, last, seq, p->ts, p->ssrc);
    uint8_t *d = buf + n;
    /* X, S (first packet), I with M, L, T. */
    d[0] = (uint8_t)(0x80 | (first ? 0x10 : 0));
    d[1] = 0xe0;
    d[2] = (uint8_t)(0x80 | (p->pid >> 8));
    d[3] = (uint8_t)p->pid;
    d[4] = p->tl0;
    d[5] = 0;
    size_t off = (size_t)n + 6;
    if (first && key) {
        static const uint8_t t[] = {0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a};
        memcpy(buf + off, t, sizeof t);
    } else {
        static const uint8_t t[] = {0x31, 0x42, 0x00, 0x11, 0x22, 0x33};
        memcpy(buf + off, t, sizeof t);
    }
    /* Tag the payload with (source, seq) so subscribers can check it. */
    buf[off + 6] = (uint8_t)(p->source * 16 + (seq & 15));
    memset(buf + off + 7, 0x5a, 100);
    return off + 107;
}

/* Subscriber side: a rewritten packet arrives (maybe). */
static void sub_receive(world *w, subscriber *s, const uint8_t *buf, size_t len,
                        int repair)
{
    if (!repair && lose(w, s->down_loss)) {
        s->lost_link++;
        return;
    }
    cc_rtp_hdr h;
    CC_CHECK_EQ(cc_rtp_parse(buf, len, &h), 0);
    cc_vp8_desc d;
    CC_CHECK_EQ(cc_vp8_parse(h.payload, h.payload_len, &d), 0);
    CC_CHECK_EQ(h.header_len, 12);
    if (!s->got_any) {
        s->got_any = 1;
        s->ssrc_seen = h.ssrc;
        s->first_was_key = d.keyframe;
        s->first_seq = h.seq;
        s->last_seq = h.seq;
    }
    if (h.ssrc != s->ssrc_seen)
        s->bad_ssrc++;
    if (cc_seq_newer(h.seq, s->last_seq))
        s->last_seq = h.seq;
    if (repair && !s->have[h.seq])
        s->repaired++;
    s->have[h.seq] = 1;
    s->rx[h.seq] = (rx_pkt){.seq = h.seq, .ts = h.ts, .pid = d.picture_id,
                            .key = d.keyframe, .start = d.start,
                            .payload0 = h.payload[d.len + 6]};
    s->delivered++;
    cc_nack_on_packet(&s->nack, h.seq, w->now);
    cc_track_on_rtp(&s->rxs, h.seq, h.ts, len, w->now);
}

/* Server: a publisher packet arrives; cache, stats, fan-out. */
static void server_rtp(world *w, int pi, const uint8_t *buf, size_t len)
{
    cc_track *t = w->track[pi];
    cc_rtp_hdr h;
    CC_CHECK_EQ(cc_rtp_parse(buf, len, &h), 0);
    cc_vp8_desc d;
    CC_CHECK_EQ(cc_vp8_parse(h.payload, h.payload_len, &d), 0);
    cc_track_on_rtp(t, h.seq, h.ts, len, w->now);
    cc_nack_on_packet(&t->nack, h.seq, w->now);
    cc_pkt *p = cc_pkt_alloc(w->pool);
    CC_CHECK(p != NULL);
    if (!p)
        return;
    memcpy(p->data, buf, len);
    p->len = (uint16_t)len;
    cc_track_cache_put(t, h.seq, p);
    if (pi != w->cur)
        return; /* superseded source */
    cc_fwd_pkt fp = {.source = t->id, .buf = buf, .h = &h, .vp8 = &d,
                     .keyframe = d.keyframe};
    for (int i = 0; i < NSUB; i++) {
        subscriber *s = &w->sub[i];
        if (!s->joined)
            continue;
        uint8_t out[1500];
        size_t n;
        int rc = cc_fwd_write(&s->fwd, &fp, w->now, out, sizeof out, &n);
        if (rc == CC_FWD_SEND)
            sub_receive(w, s, out, n, 0);
        else if (rc == CC_FWD_WAIT_KEYFRAME) {
            w->keyframe_waits++;
            if (cc_track_pli_allowed(t, w->now, 300 * MS)) {
                w->plis++;
                if (!lose(w, w->up_loss))
                    w->pub[pi].want_key = 1;
            }
        }
    }
}

static void publisher_send(world *w, int pi, uint16_t seq, const uint8_t *buf,
                           size_t len)
{
    memcpy(w->hist[pi][seq & 1023], buf, len);
    w->hist_len[pi][seq & 1023] = len;
    if (lose(w, w->up_loss))
        return;
    server_rtp(w, pi, buf, len);
}

static void publisher_frame(world *w, int pi)
{
    publisher *p = &w->pub[pi];
    int key = p->frames == 0 || p->want_key || p->frames % 150 == 0;
    p->want_key = 0;
    if (key)
        p->tl0++;
    for (int k = 0; k < PKTS_PER_FRAME; k++) {
        uint8_t buf[256];
        uint16_t seq = p->seq++;
        size_t n = build_pkt(p, buf, key, k == 0, k == PKTS_PER_FRAME - 1, seq);
        publisher_send(w, pi, seq, buf, n);
    }
    p->frames++;
    p->pid = (uint16_t)((p->pid + 1) & 0x7fff);
    p->ts += 3000;
}

/* Loss repair both ways, run every millisecond. */
static void repair(world *w)
{
    uint16_t seqs[64];
    /* Server -> publisher NACKs (nack.c), answered from its history. */
    for (int pi = 0; pi < 2; pi++) {
        cc_track *t = w->track[pi];
        size_t n = cc_nack_poll(&t->nack, w->now, seqs, 64);
        if (!w->up_repair)
            n = 0;
        w->nacks_up += n;
        for (size_t i = 0; i < n; i++) {
            if (lose(w, w->up_loss))
                continue; /* the NACK itself lost */
            size_t len = w->hist_len[pi][seqs[i] & 1023];
            const uint8_t *b = w->hist[pi][seqs[i] & 1023];
            if (len && ((b[2] << 8) | b[3]) == seqs[i])
                publisher_send(w, pi, seqs[i], b, len);
        }
    }
    /* Subscriber NACKs -> map -> cache -> resend as first sent. */
    for (int i = 0; i < NSUB; i++) {
        subscriber *s = &w->sub[i];
        if (!s->joined)
            continue;
        size_t n = cc_nack_poll(&s->nack, w->now, seqs, 64);
        for (size_t k = 0; k < n; k++) {
            uint16_t src;
            cc_pkt *p;
            cc_rtp_hdr h;
            cc_vp8_desc d;
            cc_track *t = w->track[w->cur];
            /* The SFU's side of a NACK (sfu_feedback.c sub_on_nack): one
             * for a number the forwarder skipped is not the link's. */
            if (cc_fwd_is_gap(&s->fwd, seqs[k])) {
                s->nacks_gap++;
            } else {
                s->nacks_own++;
                cc_layerctl_on_nack(&s->lc, 1);
            }
            if (cc_fwd_map_seq(&s->fwd, seqs[k], &src) != 0 ||
                !(p = cc_track_cache_get(t, src))) {
                w->cache_miss++;
                continue;
            }
            CC_CHECK_EQ(cc_rtp_parse(p->data, p->len, &h), 0);
            CC_CHECK_EQ(cc_vp8_parse(h.payload, h.payload_len, &d), 0);
            cc_fwd_pkt fp = {.source = t->id, .buf = p->data, .h = &h, .vp8 = &d};
            uint8_t out[1500];
            size_t len;
            if (cc_fwd_write_again(&s->fwd, &fp, out, sizeof out, &len) != 0) {
                w->cache_miss++;
                continue;
            }
            CC_CHECK_EQ(((out[2] << 8) | out[3]), seqs[k]);
            w->rtx_down++;
            if (!lose(w, s->down_loss))
                sub_receive(w, s, out, len, 1);
        }
    }
}

/* A subscriber's receiver report reaches the SFU (sfu_feedback.c
 * sub_on_rr): its layer controller takes the reported loss less the
 * upstream gaps up to the report's highest number. */
static void receiver_report(world *w, subscriber *s)
{
    cc_rtcp_report_block rb;
    if (cc_track_report(&s->rxs, w->now, &rb) != 0)
        return;
    cc_layerctl_report r = {
        .fraction_lost = rb.fraction_lost,
        .ext_highest_seq = rb.ext_highest_seq,
        .sent_total = s->fwd.packets,
        .upstream_lost = cc_fwd_upstream_lost(&s->fwd, (uint16_t)rb.ext_highest_seq),
    };
    cc_layerctl_on_report(&s->lc, &r, w->now);
}

static void check_subscriber(world *w, subscriber *s, int idx)
{
    (void)w;
    CC_CHECK(s->got_any);
    CC_CHECK_EQ(s->bad_ssrc, 0);
    CC_CHECK_EQ(s->ssrc_seen, s->fwd.cfg.ssrc);
    CC_CHECK(s->first_was_key);
    /* Gap-free after repair, except for the last few packets still in
     * flight of being repaired. */
    uint16_t span = (uint16_t)(s->last_seq - s->first_seq);
    uint32_t holes = 0;
    for (uint16_t k = 0; k + 10 < span; k++)
        holes += !s->have[(uint16_t)(s->first_seq + k)];
    /* Give-ups after 3 lost repairs only, besides what never reached the
     * SFU (the gaps it never filled). */
    uint64_t unfilled = s->fwd.gaps - s->fwd.gaps_filled;
    if (holes > unfilled)
        fprintf(stderr, "subscriber %d: %u holes in %u, %llu never reached the SFU\n", idx,
                holes, span, (unsigned long long)unfilled);
    CC_CHECK(holes <= span / 200 + unfilled);
    /* Timestamps never go back; PictureID +0 within a frame, +1 at a frame
     * start; the payload tag matches the seq of its source. */
    int have_prev = 0;
    rx_pkt prev = {0};
    int pid_bad = 0, ts_bad = 0;
    for (uint16_t k = 0; k <= span; k++) {
        uint16_t seq = (uint16_t)(s->first_seq + k);
        if (!s->have[seq]) {
            have_prev = 0;
            continue;
        }
        rx_pkt *r = &s->rx[seq];
        if (have_prev) {
            if ((int32_t)(r->ts - prev.ts) < 0)
                ts_bad++;
            uint16_t want = r->start ? (uint16_t)((prev.pid + 1) & 0x7fff) : prev.pid;
            if (r->pid != want)
                pid_bad++;
        }
        prev = *r;
        have_prev = 1;
    }
    CC_CHECK_EQ(ts_bad, 0);
    CC_CHECK_EQ(pid_bad, 0);
    printf("subscriber %d: ssrc %08x, %u packets span, %llu delivered, "
           "%llu repaired, %llu lost on link, %u epochs; %llu upstream gaps (%llu filled), "
           "NACKs %llu own %llu of gaps, layer %u (%u down), %llu lost reported taken as "
           "upstream\n",
           idx, s->ssrc_seen, span + 1, (unsigned long long)s->delivered,
           (unsigned long long)s->repaired, (unsigned long long)s->lost_link,
           s->fwd.epochs, (unsigned long long)s->fwd.gaps,
           (unsigned long long)s->fwd.gaps_filled, (unsigned long long)s->nacks_own,
           (unsigned long long)s->nacks_gap, s->lc.layer, s->lc.downs,
           (unsigned long long)s->lc.discounted);
}

/* Returns the world for the caller's checks (free with world_free). */
static world *run_ex(uint64_t seed, uint32_t up_loss, int up_repair,
                     const uint32_t down_loss[NSUB])
{
    world *w = calloc(1, sizeof *w);
    cc_prng_seed(&w->rng, seed);
    w->up_loss = up_loss;
    w->up_repair = up_repair;
    w->now = 5 * CC_USEC_PER_SEC;
    CC_CHECK_EQ(cc_pkt_pool_new(&w->pool, 2 * CC_TRACK_CACHE + 16), 0);
    for (int pi = 0; pi < 2; pi++) {
        w->track[pi] = calloc(1, sizeof(cc_track));
        cc_track_init(w->track[pi], (uint32_t)pi + 1, 0, 1, 90000);
        publisher *p = &w->pub[pi];
        p->source = (uint32_t)pi + 1;
        p->ssrc = (uint32_t)cc_prng_next(&w->rng);
        p->seq = (uint16_t)cc_prng_next(&w->rng);
        p->ts = (uint32_t)cc_prng_next(&w->rng);
        p->pid = (uint16_t)(cc_prng_next(&w->rng) & 0x7fff);
        p->tl0 = (uint8_t)cc_prng_next(&w->rng);
        w->track[pi]->ssrc = p->ssrc;
    }
    for (int i = 0; i < NSUB; i++) {
        /* Start subscriber 0's numbers right at the wrap points. */
        cc_fwd_config c = {.ssrc = 0x1000u + (uint32_t)i, .pt = 96, .video = 1,
                           .clock_rate = 90000,
                           .initial_seq = i == 0 ? 65500 : (uint16_t)cc_prng_next(&w->rng),
                           .initial_ts = i == 0 ? 0xFFFF0000u : (uint32_t)cc_prng_next(&w->rng),
                           .initial_picture_id = i == 0 ? 0x7ff0 : 5,
                           .initial_tl0 = 250};
        cc_fwd_init(&w->sub[i].fwd, &c);
        cc_nack_init(&w->sub[i].nack, NULL);
        w->sub[i].down_loss = down_loss[i];
        cc_track_init(&w->sub[i].rxs, 100u + (uint32_t)i, 0, 1, 90000);
        cc_layerctl_init(&w->sub[i].lc, w->now);
    }
    w->sub[0].joined = w->sub[1].joined = 1;
    w->cur = 0;
    int frame_ms = 0;
    for (int ms = 0; ms < 20000; ms++) {
        if (ms == 3000)
            w->sub[2].joined = 1; /* late joiner: waits for a keyframe */
        if (ms == 10000)
            w->cur = 1;           /* teacher reload: source B takes over */
        if (ms >= frame_ms) {
            frame_ms += 33;
            /* A keeps sending a little after B started (old tab closing). */
            if (ms < 10500)
                publisher_frame(w, 0);
            if (ms >= 9800)
                publisher_frame(w, 1);
        }
        repair(w);
        if (ms % 1000 == 999)
            for (int i = 0; i < NSUB; i++)
                if (w->sub[i].joined)
                    receiver_report(w, &w->sub[i]);
        w->now += MS;
    }
    /* Let the last repairs complete. */
    for (int ms = 0; ms < 1500; ms++) {
        repair(w);
        w->now += MS;
    }
    for (int i = 0; i < NSUB; i++)
        check_subscriber(w, &w->sub[i], i);
    CC_CHECK(w->plis > 0);
    CC_CHECK(w->sub[0].fwd.epochs == 2 && w->sub[2].fwd.epochs == 2);
    if (up_loss && up_repair)
        CC_CHECK(w->nacks_up > 0);
    if (down_loss[0] || down_loss[1] || down_loss[2])
        CC_CHECK(w->rtx_down > 0);
    /* Server receive stats saw the publisher's loss (RR material). */
    cc_rtcp_report_block rb;
    CC_CHECK_EQ(cc_track_report(w->track[0], w->now, &rb), 0);
    CC_CHECK_EQ(rb.ssrc, w->pub[0].ssrc);
    printf("seed %llu loss %u/%u/%u/%u: %llu PLIs, %llu NACKed upstream, %llu resent "
           "downstream, %llu cache misses, %llu keyframe waits\n",
           (unsigned long long)seed, up_loss, down_loss[0], down_loss[1], down_loss[2],
           (unsigned long long)w->plis, (unsigned long long)w->nacks_up,
           (unsigned long long)w->rtx_down, (unsigned long long)w->cache_miss,
           (unsigned long long)w->keyframe_waits);
    return w;
}

static void world_free(world *w)
{
    for (int i = 0; i < NSUB; i++)
        cc_track_clear(&w->sub[i].rxs);
    for (int pi = 0; pi < 2; pi++) {
        cc_track_clear(w->track[pi]);
        free(w->track[pi]);
    }
    cc_pkt_pool_stats st;
    cc_pkt_pool_get_stats(w->pool, &st);
    CC_CHECK_EQ(st.in_use, 0);
    cc_pkt_pool_free(w->pool);
    free(w);
}

static void run(uint64_t seed, uint32_t up_loss, uint32_t down_loss)
{
    const uint32_t d[NSUB] = {down_loss, down_loss, down_loss};
    world_free(run_ex(seed, up_loss, 1, d));
}

static void test_clean(void) { run(1, 0, 0); }
static void test_lossy(void) { run(7, 3, 5); }
static void test_lossy_other_seed(void) { run(12345, 5, 2); }

/* The teacher's uplink loses 30 % and the SFU does not get the packets
 * back (no NACKs to the publisher): every subscriber reports about 30 %
 * lost and NACKs every gap, and none of them is stepped down. */
static void test_upstream_loss(void)
{
    static const uint32_t d[NSUB] = {0, 0, 0};
    world *w = run_ex(99, 30, 0, d);
    for (int i = 0; i < NSUB; i++) {
        const subscriber *s = &w->sub[i];
        CC_CHECK_EQ(s->lc.layer, CC_LAYERCTL_TOP);
        CC_CHECK_EQ(s->lc.downs, 0);
        CC_CHECK(s->lc.last_reported > 0.2);   /* what it reported */
        CC_CHECK(s->lc.last_loss < 0.02);      /* its link's share */
        CC_CHECK(s->fwd.gaps > 300);
        CC_CHECK(s->lc.discounted > 300);
        CC_CHECK(s->nacks_gap > 300);
        CC_CHECK_EQ(s->nacks_own, 0);
    }
    world_free(w);
}

/* 20 % upstream loss, repaired by the SFU's NACKs to the publisher (the
 * repairs are forwarded late, filling the gaps), and one subscriber whose
 * own link loses 15 %: it alone steps down. */
static void test_upstream_and_own_loss(void)
{
    static const uint32_t d[NSUB] = {0, 15, 0};
    world *w = run_ex(4242, 20, 1, d);
    CC_CHECK_EQ(w->sub[0].lc.layer, CC_LAYERCTL_TOP);
    CC_CHECK_EQ(w->sub[0].lc.downs, 0);
    CC_CHECK_EQ(w->sub[2].lc.layer, CC_LAYERCTL_TOP);
    CC_CHECK_EQ(w->sub[2].lc.downs, 0);
    CC_CHECK(w->sub[1].lc.downs > 0);
    CC_CHECK(w->sub[1].lc.layer < CC_LAYERCTL_TOP);
    CC_CHECK(w->sub[0].fwd.gaps_filled > 0);
    world_free(w);
}

int main(void)
{
    CC_RUN(test_clean);
    CC_RUN(test_lossy);
    CC_RUN(test_lossy_other_seed);
    CC_RUN(test_upstream_loss);
    CC_RUN(test_upstream_and_own_loss);
    CC_TEST_DONE();
}
