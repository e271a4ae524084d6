/* Layer controller: steps down on loss (from RR fraction lost or from the
 * share of NACKed packets), not faster than every 500 ms, not below TL0;
 * steps up after 4 s of clean reports, one layer at a time; a failed step
 * up doubles the wait (to 32 s); middling loss neither drops nor climbs.
 * Loss the SFU never got from the publisher (upstream) does not count. */
#include "cc_test.h"
#include "classcast/layerctl.h"
#include "classcast/rand.h"

#define S CC_USEC_PER_SEC
#define MS CC_USEC_PER_MSEC

/* One report a second with `frac` (x/256) and `nacks` of 200 packets,
 * no upstream loss. */
static int report(cc_layerctl *c, uint64_t *sent, cc_time_us t, uint8_t frac, uint32_t nacks)
{
    *sent += 200;
    cc_layerctl_on_nack(c, nacks);
    cc_layerctl_report r = {.fraction_lost = frac, .ext_highest_seq = (uint32_t)*sent,
                            .sent_total = *sent};
    return cc_layerctl_on_report(c, &r, t);
}

/* A stream as the SFU and one receiver see it: per report, `expected`
 * sequence numbers, `up` of them never reached the SFU (skipped), and the
 * receiver lost `own` of the rest on its link. The receiver's fraction is
 * RFC 3550 A.3's (truncated); it NACKs every number it misses, and the
 * caller passes on only the NACKs of packets that were sent. */
typedef struct stream {
    uint64_t sent, up;
    uint32_t ext;
} stream;

static int report_up(cc_layerctl *c, stream *s, cc_time_us t, uint32_t expected, uint32_t up,
                     uint32_t own)
{
    s->sent += expected - up;
    s->up += up;
    s->ext += expected;
    cc_layerctl_on_nack(c, own);
    uint32_t frac = ((up + own) << 8) / expected;
    cc_layerctl_report r = {.fraction_lost = (uint8_t)(frac > 255 ? 255 : frac),
                            .ext_highest_seq = s->ext, .sent_total = s->sent,
                            .upstream_lost = s->up};
    return cc_layerctl_on_report(c, &r, t);
}

/* The teacher's uplink loses 30 % (then 100 % for a while, then 66 %)
 * before the SFU; the student's own link loses nothing. Its reports say
 * 30-100 % lost, all of it upstream: it keeps every layer. */
static void test_upstream_only(void)
{
    cc_layerctl c;
    stream s = {.ext = 40000};
    cc_time_us t = 10 * S;
    cc_layerctl_init(&c, t);
    for (int i = 0; i < 10; i++)
        CC_CHECK_EQ(report_up(&c, &s, t += S, 200, 60, 0), 0);
    for (int i = 0; i < 3; i++) /* nothing at all comes through */
        CC_CHECK_EQ(report_up(&c, &s, t += S, 150, 150, 0), 0);
    for (int i = 0; i < 10; i++)
        CC_CHECK_EQ(report_up(&c, &s, t += S, 150, 100, 0), 0);
    CC_CHECK_EQ(c.layer, CC_LAYERCTL_TOP);
    CC_CHECK_EQ(c.downs, 0);
    CC_CHECK(c.last_reported > 0.6);
    CC_CHECK(c.last_loss < 0.02);
    /* The truncated fraction gives back at most one packet a report. */
    uint64_t total_up = 10 * 60 + 3 * 150 + 10 * 100;
    CC_CHECK(c.discounted <= total_up && c.discounted + 23 >= total_up);
    /* A report across a wrap of the extended sequence number. */
    s.ext = 0xFFFFFFF0u;
    report_up(&c, &s, t += S, 200, 60, 0);
    CC_CHECK_EQ(report_up(&c, &s, t += S, 200, 60, 0), 0);
    CC_CHECK(c.last_loss < 0.02);
}

/* Upstream loss and loss of its own: the own share decides. 11 % and not
 * 10 %: the receiver truncates the fraction (RFC 3550 A.3), so exactly
 * 10 % of its own comes out just under the threshold. */
static void test_upstream_and_own(void)
{
    cc_layerctl c;
    stream s = {.ext = 1000};
    cc_time_us t = 10 * S;
    cc_layerctl_init(&c, t);
    CC_CHECK_EQ(report_up(&c, &s, t += S, 1000, 300, 0), 0);
    /* 300 upstream + 77 of the 700 sent (11 %). */
    CC_CHECK_EQ(report_up(&c, &s, t += S, 1000, 300, 77), 1);
    CC_CHECK_EQ(c.layer, 1);
    CC_CHECK(c.last_loss > 0.10 && c.last_loss < 0.12);
    /* 5 % of its own: neither down nor good. */
    for (int i = 0; i < 8; i++)
        CC_CHECK_EQ(report_up(&c, &s, t += S, 1000, 300, 35), 0);
    CC_CHECK_EQ(c.layer, 1);
    /* Its own link clean again (the upstream loss stays): back up. */
    int up = 0;
    for (int i = 0; i < 6; i++)
        up += report_up(&c, &s, t += S, 1000, 300, 0);
    CC_CHECK_EQ(up, 1);
    CC_CHECK_EQ(c.layer, 2);
    /* NACKs of packets that were sent count as before: 11 % NACKed with
     * a report that shows only the upstream share (repaired in time). */
    cc_layerctl_on_nack(&c, 77);
    s.sent += 700;
    s.up += 300;
    s.ext += 1000;
    cc_layerctl_report r = {.fraction_lost = (uint8_t)((300 << 8) / 1000),
                            .ext_highest_seq = s.ext, .sent_total = s.sent,
                            .upstream_lost = s.up};
    CC_CHECK_EQ(cc_layerctl_on_report(&c, &r, t += S), 1);
    CC_CHECK_EQ(c.layer, 1);
}

/* No upstream loss: 10 % reported (26/256) steps down as it always did. */
static void test_own_only(void)
{
    cc_layerctl c;
    stream s = {.ext = 500};
    cc_time_us t = 10 * S;
    cc_layerctl_init(&c, t);
    CC_CHECK_EQ(report_up(&c, &s, t += S, 200, 0, 0), 0);
    CC_CHECK_EQ(report_up(&c, &s, t += S, 256, 0, 26), 1);
    CC_CHECK_EQ(c.layer, 1);
    CC_CHECK_EQ(c.discounted, 0);
    /* The same with upstream loss but no own loss: stays. */
    CC_CHECK_EQ(report_up(&c, &s, t += S, 256, 26, 0), 0);
    CC_CHECK_EQ(c.layer, 1);
}

/* Reports over the sender's own burst (a kept chain at join) are not
 * the link's: no step down, whatever they say; the next one judges. */
static void test_own_burst(void)
{
    cc_layerctl c;
    cc_time_us t = 100 * S;
    cc_layerctl_init(&c, t);
    uint64_t sent = 0;
    for (int i = 0; i < 2; i++) {
        sent += 200;
        cc_layerctl_on_nack(&c, 180);
        cc_layerctl_report r = {.fraction_lost = 240, .ext_highest_seq = (uint32_t)sent,
                                .sent_total = sent, .own_burst = 1};
        t += S;
        CC_CHECK_EQ(cc_layerctl_on_report(&c, &r, t), 0);
        CC_CHECK_EQ(c.layer, CC_LAYERCTL_TOP);
    }
    /* Clean afterwards: stays; the burst's NACKs are not carried over. */
    t += S;
    CC_CHECK_EQ(report(&c, &sent, t, 0, 0), 0);
    CC_CHECK_EQ(c.layer, CC_LAYERCTL_TOP);
    /* Real loss later is judged as before. */
    t += S;
    CC_CHECK_EQ(report(&c, &sent, t, 60, 0), 1);
    CC_CHECK(c.layer < CC_LAYERCTL_TOP);
}

/* Reports too small to judge are summed; a burst of the sender's own
 * drops what was summed before it, so 60 packets before the burst and
 * 20 lossy ones after it are not judged as one stretch. */
static void test_own_burst_drops_sums(void)
{
    cc_layerctl c;
    cc_time_us t = 100 * S;
    cc_layerctl_init(&c, t);
    stream s = {0};
    report_up(&c, &s, t += S, 20, 0, 0); /* the first: judged alone, sets the marks */
    for (int i = 0; i < 3; i++)
        CC_CHECK_EQ(report_up(&c, &s, t += S, 20, 0, 0), 0);
    s.sent += 200;
    s.ext += 200;
    cc_layerctl_report r = {.fraction_lost = 240, .ext_highest_seq = s.ext,
                            .sent_total = s.sent, .own_burst = 1};
    CC_CHECK_EQ(cc_layerctl_on_report(&c, &r, t += S), 0);
    CC_CHECK_EQ(report_up(&c, &s, t += S, 20, 0, 5), 0); /* 25 %, 20 packets: not yet */
    CC_CHECK_EQ(c.layer, CC_LAYERCTL_TOP);
    for (int i = 0; i < 3; i++)
        report_up(&c, &s, t += S, 20, 0, 5);
    CC_CHECK(c.layer < CC_LAYERCTL_TOP); /* 80 packets at 25 %: down */
}

/* A receiver behind a deep queue asks again, every round trip, for each
 * packet still missing. 3 of 200 lost per second (1.5 %), each NACKed 10
 * times: 30 NACKed numbers a second, 15 % of what was sent if counted
 * raw, which would step down. Counted once each, it stays; 30 new losses
 * of 200 (15 %) still step down. */
static void test_nack_repeats(void)
{
    cc_layerctl c;
    cc_time_us t = 100 * S;
    cc_layerctl_init(&c, t);
    uint64_t sent = 0;
    uint16_t seq = 65000; /* wraps during the test */
    uint16_t missing[8];
    int n_missing = 0;
    for (int sec = 0; sec < 6; sec++) {
        for (int k = 0; k < 10; k++) { /* a NACK every 100 ms */
            t += 100 * MS;
            if (k == 0) { /* this second's three new losses */
                n_missing = 0;
                for (int j = 0; j < 3; j++)
                    missing[n_missing++] = (uint16_t)(seq + 50 * j + 7);
            }
            for (int j = 0; j < n_missing; j++)
                cc_layerctl_on_nack_seq(&c, missing[j], t);
        }
        seq = (uint16_t)(seq + 200);
        sent += 200;
        cc_layerctl_report r = {.fraction_lost = 4, .ext_highest_seq = (uint32_t)sent,
                                .sent_total = sent};
        CC_CHECK_EQ(cc_layerctl_on_report(&c, &r, t), 0);
        CC_CHECK_EQ(c.layer, CC_LAYERCTL_TOP);
    }
    CC_CHECK_EQ(c.nack_repeats, 6u * 3u * 9u);
    CC_CHECK(c.last_loss < CC_LAYERCTL_LOSS_HIGH);
    /* 30 new numbers of 200, each asked for once: 15 %, down. */
    for (int j = 0; j < 30; j++)
        cc_layerctl_on_nack_seq(&c, (uint16_t)(seq + 5 * j + 1), t);
    seq = (uint16_t)(seq + 200);
    sent += 200;
    t += S;
    cc_layerctl_report r = {.fraction_lost = 4, .ext_highest_seq = (uint32_t)sent,
                            .sent_total = sent};
    CC_CHECK_EQ(cc_layerctl_on_report(&c, &r, t), 1);
    CC_CHECK_EQ(c.layer, CC_LAYERCTL_TOP - 1);
    /* A mark left 5 s without a new loss does not hide a lower number. */
    t += 6 * S;
    uint64_t before = c.nacked;
    cc_layerctl_on_nack_seq(&c, (uint16_t)(c.nack_high - 40000), t);
    CC_CHECK_EQ(c.nacked, before + 1);
}

static void test_down_and_up(void)
{
    cc_layerctl c;
    uint64_t sent = 0;
    cc_time_us t = 100 * S;
    cc_layerctl_init(&c, t);
    CC_CHECK_EQ(c.layer, CC_LAYERCTL_TOP);
    CC_CHECK_EQ(report(&c, &sent, t += S, 0, 0), 0);          /* first: sets the mark */
    CC_CHECK_EQ(report(&c, &sent, t += S, 64, 0), 1);         /* 25 % lost */
    CC_CHECK_EQ(c.layer, 1);
    CC_CHECK_EQ(report(&c, &sent, t += 100 * MS, 64, 0), 0);  /* too soon */
    CC_CHECK_EQ(c.layer, 1);
    CC_CHECK_EQ(report(&c, &sent, t += S, 0, 40), 1);         /* 20 % NACKed */
    CC_CHECK_EQ(c.layer, 0);
    CC_CHECK_EQ(report(&c, &sent, t += S, 128, 0), 0);        /* floor: TL0 */
    CC_CHECK_EQ(c.layer, 0);
    CC_CHECK_EQ(c.downs, 2);
    /* Middling loss (5 %): stays. */
    for (int i = 0; i < 10; i++)
        CC_CHECK_EQ(report(&c, &sent, t += S, 13, 0), 0);
    CC_CHECK_EQ(c.layer, 0);
    /* Clean: up after 4 s, then again 4 s later. */
    int ups_at[2] = {0, 0}, n = 0;
    for (int i = 1; i <= 12; i++)
        if (report(&c, &sent, t += S, 0, 0) && n < 2)
            ups_at[n++] = i;
    CC_CHECK_EQ(c.layer, 2);
    CC_CHECK_EQ(ups_at[0], 5); /* good from report 1, 4 s later at report 5 */
    CC_CHECK_EQ(ups_at[1], 9);
    CC_CHECK_EQ(c.ups, 2);
}

static void test_backoff(void)
{
    cc_layerctl c;
    uint64_t sent = 0;
    cc_time_us t = 0;
    cc_layerctl_init(&c, t);
    report(&c, &sent, t += S, 0, 0);
    CC_CHECK_EQ(report(&c, &sent, t += S, 60, 0), 1); /* 2 -> 1 */
    /* A link that carries TL0+TL1 but not TL2: every step up fails. */
    cc_time_us waits[4];
    for (int k = 0; k < 4; k++) {
        cc_time_us good_from = t;
        while (!report(&c, &sent, t += S, 0, 0))
            ;
        waits[k] = t - good_from;
        CC_CHECK_EQ(c.layer, 2);
        CC_CHECK_EQ(report(&c, &sent, t += S, 60, 0), 1); /* and down again */
        CC_CHECK_EQ(c.layer, 1);
    }
    CC_CHECK(waits[0] <= 5 * S);
    CC_CHECK(waits[1] >= 8 * S && waits[1] <= 9 * S);
    CC_CHECK(waits[2] >= 16 * S && waits[2] <= 17 * S);
    CC_CHECK(waits[3] >= 32 * S && waits[3] <= 33 * S); /* capped */
    /* Sent counter that did not move: the NACK share is ignored. */
    cc_layerctl_on_nack(&c, 50);
    cc_layerctl_report r = {.ext_highest_seq = (uint32_t)sent, .sent_total = sent};
    CC_CHECK_EQ(cc_layerctl_on_report(&c, &r, t += S), 0);
}

/* A sparse stream (a screen at a few pictures a second: 25 packets a
 * report, one report a second) over Wi-Fi that loses packets at random:
 * at 5 % no step down in a minute (each report alone read over 10 % about
 * one time in eight: RFC 3550 A.3's fraction of 25); at 25 % it still
 * goes down within 10 s. The receiver NACKs what it misses. */
static int sparse_downs(double p, int reports, int *first_down)
{
    cc_layerctl c;
    cc_prng rng;
    cc_prng_seed(&rng, 4242);
    stream s = {0};
    cc_time_us t = 100 * CC_USEC_PER_SEC;
    cc_layerctl_init(&c, t);
    *first_down = -1;
    for (int i = 0; i < reports; i++) {
        uint32_t own = 0; /* the first report clean: it sets the marks */
        for (int k = 0; i > 0 && k < 25; k++)
            own += cc_prng_below(&rng, 1000) < (uint32_t)(p * 1000);
        if (report_up(&c, &s, t += CC_USEC_PER_SEC, 25, 0, own) && c.downs == 1)
            *first_down = i;
    }
    return (int)c.downs;
}

static void test_sparse_random_loss(void)
{
    int first;
    int at5 = sparse_downs(0.05, 60, &first);
    int at25 = sparse_downs(0.25, 10, &first);
    printf("sparse stream: %d steps down in 60 s at 5 %% loss; at 25 %%, %d in 10 s, the first "
           "at report %d\n", at5, at25, first);
    CC_CHECK_EQ(at5, 0);
    CC_CHECK(at25 >= 1);
    CC_CHECK(first >= 0 && first < 6);
}

int main(void)
{
    CC_RUN(test_down_and_up);
    CC_RUN(test_backoff);
    CC_RUN(test_upstream_only);
    CC_RUN(test_upstream_and_own);
    CC_RUN(test_own_only);
    CC_RUN(test_own_burst);
    CC_RUN(test_own_burst_drops_sums);
    CC_RUN(test_nack_repeats);
    CC_RUN(test_sparse_random_loss);
    CC_TEST_DONE();
}
