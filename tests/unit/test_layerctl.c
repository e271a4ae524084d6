/* Layer controller: steps down on loss (from RR fraction lost or from the
 * share of NACKed packets), not faster than every 500 ms, not below TL0;
 * steps up after 4 s of clean reports, one layer at a time; a failed step
 * up doubles the wait (to 32 s); middling loss neither drops nor climbs. */
#include "cc_test.h"
#include "classcast/layerctl.h"

#define S CC_USEC_PER_SEC
#define MS CC_USEC_PER_MSEC

/* One report a second with `frac` (x/256) and `nacks` of 200 packets. */
static int report(cc_layerctl *c, uint64_t *sent, cc_time_us t, uint8_t frac, uint32_t nacks)
{
    *sent += 200;
    cc_layerctl_on_nack(c, nacks);
    return cc_layerctl_on_report(c, frac, *sent, t);
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
    CC_CHECK_EQ(cc_layerctl_on_report(&c, 0, sent, t += S), 0);
}

int main(void)
{
    CC_RUN(test_down_and_up);
    CC_RUN(test_backoff);
    CC_TEST_DONE();
}
