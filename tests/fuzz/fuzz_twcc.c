/* libFuzzer target for transport-wide congestion control: src/rtp/twcc.c,
 * the transport-cc parts of src/rtp/rtcp.c, cc_rtp_set_ext (src/rtp/rtp.c)
 * and the estimator's feedback path (src/sfu/bwe.c). The first byte picks
 * what the rest is:
 *  0: RTCP bytes. Every transport-cc packet is expanded by cc_twcc_parse
 *     (with a cap from the second byte), which must agree with
 *     cc_rtcp_parse_twcc on accept/reject and on every delta; an accepted
 *     one is rebuilt by cc_rtcp_write_twcc and must parse to the same
 *     packets and arrival times.
 *  1: a receiver script, records of [seq step (int8)][time step][flags]:
 *     packets fed to a cc_twcc_recv, polled into feedback of 64..1200
 *     bytes, every feedback parsed back. No number is reported twice, a
 *     packet reported received arrived and carries its first arrival time
 *     (250 us grid), and at the end every recorded packet was reported.
 *  2: an RTP packet: the transport-wide sequence number is written with
 *     cc_twcc_ext_put (ids 1..16, so both element forms) and read back;
 *     payload, padding and every other element stay as they were.
 *  3: RTCP bytes fed to a cc_bwe that sent the packets they describe: no
 *     crash, the target stays within its bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/bwe.h"
#include "classcast/err.h"
#include "classcast/rtcp.h"
#include "classcast/rtp.h"
#include "classcast/twcc.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cc_twcc_pkt full[65536], back[65536];
static int32_t deltas[65536], deltas2[65536];
static uint8_t out[200000];

/* ---- 0: parse, cross-check, rebuild ---- */

static void parse_one(const cc_rtcp_fb *fb, size_t cap)
{
    cc_twcc_feedback f, f2;
    cc_rtcp_twcc old = {.deltas = deltas2, .cap = 65536};
    int rc_old = cc_rtcp_parse_twcc(fb, &old);
    int rc = cc_twcc_parse(fb, &f, full, 65536);
    CHECK(rc == 0 || rc == CC_ETRUNC || rc == CC_EINVAL);
    CHECK((rc == 0) == (rc_old == 0));
    if (rc != 0) {
        CHECK(f.n == 0 && f.status_count == 0);
        return;
    }
    CHECK(f.n == f.status_count && f.n == old.n);
    CHECK(f.base_seq == old.base_seq);
    CHECK(f.reference_time == ((uint32_t)old.reference_time & 0xFFFFFF));
    int64_t t = (int64_t)f.reference_time * 64000;
    size_t got = 0;
    for (size_t i = 0; i < f.n; i++) {
        CHECK(full[i].seq == (uint16_t)(f.base_seq + i));
        if (deltas2[i] == CC_TWCC_NOT_RECEIVED) {
            CHECK(!full[i].received);
            deltas[i] = CC_TWCC_NOT_RECEIVED;
            continue;
        }
        CHECK(full[i].received == 1);
        CHECK(full[i].delta_us == deltas2[i] * 250);
        t += full[i].delta_us;
        CHECK(full[i].arrival_us == t);
        deltas[i] = deltas2[i];
        got++;
    }
    CHECK(f.received == got);

    /* A smaller cap gives the same first entries. */
    CHECK(cc_twcc_parse(fb, &f2, back, cap) == 0);
    CHECK(f2.n == (cap < f.n ? cap : f.n));
    for (size_t i = 0; i < f2.n; i++)
        CHECK(back[i].received == full[i].received &&
              back[i].arrival_us == full[i].arrival_us);

    /* Rebuild and parse again: the same packets at the same times. */
    cc_rtcp_twcc tw = {.base_seq = f.base_seq,
                       .reference_time = (int32_t)f.reference_time,
                       .fb_pkt_count = f.fb_pkt_count,
                       .deltas = deltas,
                       .n = f.n};
    int len = cc_rtcp_write_twcc(out, sizeof out, fb->sender_ssrc,
                                 fb->media_ssrc, &tw);
    CHECK(len > 0 && len % 4 == 0);
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    cc_rtcp_fb fb2;
    cc_rtcp_iter_init(&it, out, (size_t)len);
    CHECK(cc_rtcp_next(&it, &p) == 1 && p.len == (size_t)len);
    CHECK(cc_rtcp_parse_fb(&p, &fb2) == 0);
    CHECK(fb2.sender_ssrc == fb->sender_ssrc &&
          fb2.media_ssrc == fb->media_ssrc);
    CHECK(cc_twcc_parse(&fb2, &f2, back, 65536) == 0);
    CHECK(f2.n == f.n && f2.base_seq == f.base_seq &&
          f2.reference_time == f.reference_time &&
          f2.fb_pkt_count == f.fb_pkt_count && f2.received == f.received);
    for (size_t i = 0; i < f.n; i++)
        CHECK(back[i].received == full[i].received &&
              back[i].arrival_us == full[i].arrival_us);
}

static void do_parse(const uint8_t *d, size_t n)
{
    size_t cap = n ? d[0] : 0;
    if (n)
        d++, n--;
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    cc_rtcp_iter_init(&it, d, n);
    int guard = 0;
    while (cc_rtcp_next(&it, &p) == 1 && ++guard < 64) {
        cc_rtcp_fb fb;
        if (p.pt != CC_RTCP_RTPFB || cc_rtcp_parse_fb(&p, &fb) != 0)
            continue;
        if (fb.fmt == CC_RTPFB_TWCC) {
            parse_one(&fb, cap);
        } else {
            cc_twcc_feedback f;
            CHECK(cc_twcc_parse(&fb, &f, full, 16) == CC_EINVAL);
        }
    }
}

/* ---- 1: receiver script ---- */

static cc_twcc_recv rx;
static cc_time_us first_arr[65536];
static uint8_t reported[65536];

static void check_feedback(const uint8_t *b, int len, size_t cap,
                           cc_time_us now)
{
    CHECK(len > 0 && (size_t)len <= cap && len % 4 == 0);
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    cc_rtcp_fb fb;
    cc_twcc_feedback f;
    cc_rtcp_iter_init(&it, b, (size_t)len);
    CHECK(cc_rtcp_next(&it, &p) == 1 && p.len == (size_t)len);
    CHECK(cc_rtcp_parse_fb(&p, &fb) == 0);
    CHECK(fb.sender_ssrc == 1 && fb.media_ssrc == 2);
    CHECK(cc_twcc_parse(&fb, &f, full, 65536) == 0);
    CHECK(f.n == f.status_count && f.n > 0);
    /* It ends on a received packet (unless only losses fitted). */
    CHECK(full[f.n - 1].received || f.received == 0);
    for (size_t i = 0; i < f.n; i++) {
        uint16_t s = full[i].seq;
        CHECK(!reported[s]); /* never twice */
        reported[s] = 1;
        if (full[i].received) {
            CHECK(first_arr[s] != 0 && first_arr[s] <= now);
            /* first arrival, on the 250 us grid, modulo 2^24 x 64 ms */
            const int64_t m = (int64_t)64000 << 24;
            int64_t diff = (first_arr[s] - full[i].arrival_us) % m;
            if (diff < -m / 2)
                diff += m;
            if (diff > m / 2)
                diff -= m;
            CHECK(diff >= 0 && diff < 250);
        } else {
            CHECK(first_arr[s] == 0);
        }
    }
}

static void do_recv(const uint8_t *d, size_t n)
{
    cc_twcc_recv_config cfg = {.sender_ssrc = 1, .media_ssrc = 2};
    if (n)
        cfg.max_pending = d[0];
    /* d[1] << 32 reaches past 2^24 x 64 ms: reference time wraps. */
    cc_time_us t = 1000000 + (n > 1 ? (cc_time_us)d[1] << 32 : 0);
    cc_twcc_recv_init(&rx, &cfg, t);
    memset(first_arr, 0, sizeof first_arr);
    memset(reported, 0, sizeof reported);
    uint16_t seq = 1000;
    uint8_t b[1200];
    size_t events = 0;
    /* At most 250 steps of at most 127: the numbers stay within half the
     * 16-bit space, so a number names one packet. */
    for (size_t i = 2; i + 3 <= n && events < 250; i += 3, events++) {
        int8_t step = (int8_t)d[i];
        uint8_t dt = d[i + 1], fl = d[i + 2];
        seq = (uint16_t)(seq + step);
        t += (fl & 1) ? (cc_time_us)dt * 100000 : (cc_time_us)dt * 200;
        cc_twcc_recv_on_packet(&rx, seq, t);
        if (first_arr[seq] == 0 && !reported[seq])
            first_arr[seq] = t;
        if (fl & 2) {
            size_t cap = 64 + (size_t)(fl >> 2) * 18; /* 64..1198 */
            int len;
            while ((len = cc_twcc_recv_poll(&rx, t, b, cap)) > 0)
                check_feedback(b, len, cap, t);
            CHECK(len == 0);
        }
        CHECK(rx.max - rx.start < CC_TWCC_RECV_WINDOW);
    }
    /* Flush: everything recorded gets reported. */
    int len, guard = 0;
    t += 10 * CC_USEC_PER_SEC;
    while ((len = cc_twcc_recv_poll(&rx, t, b, sizeof b)) > 0) {
        check_feedback(b, len, sizeof b, t);
        CHECK(++guard < 10000);
    }
    CHECK(cc_twcc_recv_deadline(&rx) == CC_TIME_NEVER);
    if (rx.stats.overflow == 0) {
        uint64_t rec = 0;
        for (size_t s = 0; s < 65536; s++)
            if (reported[s] && first_arr[s])
                rec++;
        CHECK(rec == rx.stats.packets);
    }
}

/* ---- 2: the header extension ---- */

static uint8_t pkt[70000], pkt2[70000];

static void do_ext(const uint8_t *d, size_t n)
{
    if (n < 3 || n > 65536)
        return;
    int id = 1 + d[0] % 16;
    uint16_t val = (uint16_t)(d[1] << 8 | d[2]);
    d += 3;
    n -= 3;
    cc_rtp_hdr h, h2;
    if (cc_rtp_parse(d, n, &h) != 0)
        return;
    memcpy(pkt, d, n);
    size_t nl = 0;
    int rc = cc_twcc_ext_put(pkt, n, n + 64, id, val, &nl);
    if (rc != 0) {
        CHECK(rc == CC_EUNSUPPORTED || rc == CC_EINVAL || rc == CC_ENOSPC);
        CHECK(memcmp(pkt, d, n) == 0); /* untouched */
        return;
    }
    CHECK(nl >= n && nl <= n + 64);
    CHECK(cc_rtp_parse(pkt, nl, &h2) == 0);
    uint16_t got = 0;
    CHECK(cc_twcc_ext_get(&h2, id, &got) == 0 && got == val);
    CHECK(h2.extension && h2.seq == h.seq && h2.ssrc == h.ssrc &&
          h2.ts == h.ts && h2.pt == h.pt && h2.marker == h.marker &&
          h2.csrc_count == h.csrc_count);
    CHECK(h2.payload_len == h.payload_len &&
          memcmp(h2.payload, h.payload, h.payload_len) == 0);
    CHECK(h2.padding_len == h.padding_len);
    /* Every other element is still there with the same bytes. */
    for (int e = 1; e <= 255; e++) {
        if (e == id)
            continue;
        const uint8_t *v1, *v2;
        size_t l1, l2;
        int r1 = cc_rtp_find_ext(&h, e, &v1, &l1);
        if (r1 != 0)
            continue;
        CHECK(cc_rtp_find_ext(&h2, e, &v2, &l2) == 0);
        CHECK(l1 == l2 && memcmp(v1, v2, l1) == 0);
    }
    /* Written again: in place, same length. */
    memcpy(pkt2, pkt, nl);
    size_t nl2 = 0;
    CHECK(cc_twcc_ext_put(pkt2, nl, nl, id, (uint16_t)~val, &nl2) == 0);
    CHECK(nl2 == nl);
}

/* ---- 3: feedback into the estimator ---- */

static void do_bwe(const uint8_t *d, size_t n)
{
    cc_bwe *b = cc_bwe_new(NULL, 0);
    if (!b)
        return;
    cc_time_us now = 1000000;
    cc_rtcp_iter it;
    cc_rtcp_pkt p;
    cc_rtcp_iter_init(&it, d, n);
    int guard = 0;
    while (cc_rtcp_next(&it, &p) == 1 && ++guard < 16) {
        cc_rtcp_fb fb;
        cc_twcc_feedback f;
        if (p.pt != CC_RTCP_RTPFB || cc_rtcp_parse_fb(&p, &fb) != 0 ||
            cc_twcc_parse(&fb, &f, full, 65536) != 0)
            continue;
        /* The packets it describes (and a few before) were sent, 1 ms
         * apart; the feedback comes 100 ms after the last. */
        size_t k = f.n < 3000 ? f.n : 3000;
        for (size_t i = 0; i < k + 5; i++) {
            cc_bwe_on_sent(b, (uint16_t)(f.base_seq - 5 + i),
                           200 + (i * 37) % 1000, (int)(i % 3), now);
            now += 1000;
        }
        now += 100000;
        CHECK(cc_bwe_on_feedback(b, &f, full, f.n, now) == 0);
        cc_bwe_tick(b, now);
        cc_bwe_probe pr;
        while (cc_bwe_probe_poll(b, now, &pr))
            CHECK(pr.id > 0 && pr.bps >= 50000 && pr.bps <= 5000000);
        uint32_t t = cc_bwe_target_bps(b);
        CHECK(t >= 50000 && t <= 5000000);
        CHECK(cc_bwe_pacing_bps(b) >= t);
    }
    cc_bwe_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0: do_parse(data + 1, size - 1); break;
    case 1: do_recv(data + 1, size - 1); break;
    case 2: do_ext(data + 1, size - 1); break;
    default: do_bwe(data + 1, size - 1); break;
    }
    return 0;
}
