/* Active speakers: RFC 6464 level parsing from RFC 8285 extensions; a
 * sender that talks for 450 ms of a second becomes the current speaker, a
 * cough never does; turns reorder the recency list once each; two people
 * talking at once do not swap places on every packet; remove, the sender
 * limit, time going backwards and pure silence. */
#include "cc_test.h"
#include "classcast/err.h"
#include "classcast/speakers.h"

#define S CC_USEC_PER_SEC
#define MS CC_USEC_PER_MSEC
#define LOUD 30
#define QUIET 127

static int parse_hex(const char *hex, int id, int *level, int *voice)
{
    static uint8_t buf[256];
    size_t n = cc_test_hex(hex, buf, sizeof buf);
    cc_rtp_hdr h;
    if (cc_rtp_parse(buf, n, &h) != 0)
        return 999;
    return cc_speakers_parse_level(&h, id, level, voice);
}

static void test_parse_level(void)
{
    int level = -1, voice = -1;
    /* One-byte form (0xBEDE): element id 1, L=0 (one byte) = 0xAA:
     * V=1, level 42. */
    CC_CHECK_EQ(parse_hex("9060 0001 00000002 cafebabe bede 0001 10aa 0000"
                          "00112233", 1, &level, &voice), 0);
    CC_CHECK_EQ(level, 42);
    CC_CHECK_EQ(voice, 1);
    /* After another element (id 3, abs-send-time, 3 bytes) and a padding
     * byte: id 1 = 0x7f, V=0, level 127 (silence / muted track). */
    CC_CHECK_EQ(parse_hex("9060 0002 00000003 cafebabe bede 0002 "
                          "32 010203 00 107f 0000 00112233", 1, &level, &voice), 0);
    CC_CHECK_EQ(level, 127);
    CC_CHECK_EQ(voice, 0);
    /* Same packet, element 3 is not one byte long. */
    CC_CHECK_EQ(parse_hex("9060 0002 00000003 cafebabe bede 0002 "
                          "32 010203 00 107f 0000 00112233", 3, &level, &voice),
                CC_EINVAL);
    /* Negotiated id not in the packet. */
    CC_CHECK_EQ(parse_hex("9060 0001 00000002 cafebabe bede 0001 10aa 0000"
                          "00112233", 2, &level, &voice), CC_ENOTFOUND);
    /* No extension at all (X=0), and no negotiated id (0). */
    CC_CHECK_EQ(parse_hex("8060 0001 00000002 cafebabe 00112233", 1, &level, &voice),
                CC_ENOTFOUND);
    CC_CHECK_EQ(parse_hex("9060 0001 00000002 cafebabe bede 0001 10aa 0000"
                          "00112233", 0, &level, &voice), CC_ENOTFOUND);
    /* Two-byte form (0x1000): id 5, length 1, 0x85: V=1, level 5. */
    CC_CHECK_EQ(parse_hex("9060 0001 00000002 cafebabe 1000 0001 0501 8500"
                          "00112233", 5, &level, &voice), 0);
    CC_CHECK_EQ(level, 5);
    CC_CHECK_EQ(voice, 1);
    /* Corrupt one-byte block: id 1 claims 4 bytes in a 4-byte block. */
    CC_CHECK_EQ(parse_hex("9060 0001 00000002 cafebabe bede 0001 13aa 0000"
                          "00112233", 1, &level, &voice), CC_EINVAL);
    /* Zero-length two-byte element: not an RFC 6464 value. */
    CC_CHECK_EQ(parse_hex("9060 0001 00000002 cafebabe 1000 0001 0500 0000"
                          "00112233", 5, &level, &voice), CC_EINVAL);
    CC_CHECK_EQ(cc_speakers_parse_level(NULL, 1, &level, &voice), CC_EINVAL);
}

static int front(const cc_speakers *s)
{
    uint32_t ids[CC_SPEAKERS_MAX];
    return cc_speakers_recent(s, ids, CC_SPEAKERS_MAX) > 0 ? (int)ids[0] : 0;
}

static void test_single_speaker(void)
{
    cc_speakers s;
    cc_speakers_init(&s);
    cc_time_us t0 = 5 * S + 7 * MS, promoted = -1;
    for (cc_time_us t = t0; t < t0 + S; t += 20 * MS) {
        int r = cc_speakers_on_level(&s, 7, LOUD, 1, t);
        CC_CHECK(r == 0 || r == 1);
        if (r == 1) {
            CC_CHECK_EQ(promoted, -1); /* only once */
            promoted = t - t0;
        }
    }
    CC_CHECK(promoted >= CC_SPEAKERS_SPEECH_US - 40 * MS &&
             promoted <= CC_SPEAKERS_SPEECH_US + 100 * MS);
    CC_CHECK_EQ(front(&s), 7);
    CC_CHECK_EQ(cc_speakers_version(&s), 1);
    int level, voice;
    CC_CHECK_EQ(cc_speakers_last(&s, 7, &level, &voice), 0);
    CC_CHECK_EQ(level, LOUD);
    CC_CHECK_EQ(voice, 1);
    CC_CHECK_EQ(cc_speakers_last(&s, 8, &level, &voice), CC_ENOTFOUND);
    /* Bad arguments. */
    CC_CHECK_EQ(cc_speakers_on_level(&s, 0, LOUD, 1, t0), CC_EINVAL);
    CC_CHECK_EQ(cc_speakers_on_level(&s, 7, 128, 1, t0), CC_EINVAL);
    CC_CHECK_EQ(cc_speakers_on_level(&s, 7, -1, 1, t0), CC_EINVAL);
}

static void test_cough(void)
{
    cc_speakers s;
    cc_speakers_init(&s);
    cc_time_us t = 0;
    /* A's turn: A is the current speaker. */
    for (int i = 0; i < 75; i++, t += 20 * MS) {
        cc_speakers_on_level(&s, 1, LOUD, 1, t);
        cc_speakers_on_level(&s, 2, QUIET, 0, t);
    }
    CC_CHECK_EQ(front(&s), 1);
    uint32_t v = cc_speakers_version(&s);
    /* A keeps talking, B coughs 200 ms every second for 5 s. */
    for (int i = 0; i < 250; i++, t += 20 * MS) {
        cc_speakers_on_level(&s, 1, LOUD, 1, t);
        CC_CHECK_EQ(cc_speakers_on_level(&s, 2, i % 50 < 10 ? 10 : QUIET, 1, t), 0);
    }
    /* Then A falls silent and B coughs again. */
    for (int i = 0; i < 100; i++, t += 20 * MS) {
        cc_speakers_on_level(&s, 1, QUIET, 0, t);
        CC_CHECK_EQ(cc_speakers_on_level(&s, 2, i < 10 ? 10 : QUIET, 1, t), 0);
    }
    CC_CHECK_EQ(cc_speakers_version(&s), v);
    uint32_t ids[4];
    CC_CHECK_EQ(cc_speakers_recent(&s, ids, 4), 1);
    CC_CHECK_EQ(ids[0], 1);
}

static void test_turns(void)
{
    cc_speakers s;
    cc_speakers_init(&s);
    const uint32_t id[4] = {11, 22, 33, 44};
    cc_time_us t = 1000 * S;
    uint32_t v = cc_speakers_version(&s);
    /* Two rounds: 11, 22, 33, 44, then 22, 11, 44, 33. */
    const int turn_of[8] = {0, 1, 2, 3, 1, 0, 3, 2};
    for (int k = 0; k < 8; k++) {
        int who = turn_of[k];
        cc_time_us start = t, switched = -1;
        int changes = 0;
        for (int i = 0; i < 75; i++, t += 20 * MS) {
            for (int j = 0; j < 4; j++) {
                int r = cc_speakers_on_level(&s, id[j], j == who ? LOUD : QUIET,
                                             j == who, t);
                CC_CHECK(r == 0 || r == 1);
                if (r == 1) {
                    changes++;
                    switched = t - start;
                }
            }
        }
        CC_CHECK_EQ(changes, 1);
        CC_CHECK(switched >= CC_SPEAKERS_SPEECH_US - 100 * MS &&
                 switched <= CC_SPEAKERS_SPEECH_US + 100 * MS);
        CC_CHECK_EQ(cc_speakers_version(&s), v + 1);
        v = cc_speakers_version(&s);
        CC_CHECK_EQ(front(&s), id[who]);
        if (k == 3) {
            uint32_t ids[8];
            CC_CHECK_EQ(cc_speakers_recent(&s, ids, 8), 4);
            CC_CHECK_EQ(ids[0], 44);
            CC_CHECK_EQ(ids[1], 33);
            CC_CHECK_EQ(ids[2], 22);
            CC_CHECK_EQ(ids[3], 11);
            /* Last-2. */
            CC_CHECK_EQ(cc_speakers_recent(&s, ids, 2), 2);
            CC_CHECK_EQ(ids[1], 33);
        }
    }
    uint32_t ids[8];
    CC_CHECK_EQ(cc_speakers_recent(&s, ids, 8), 4);
    CC_CHECK_EQ(ids[0], 33);
    CC_CHECK_EQ(ids[1], 44);
    CC_CHECK_EQ(ids[2], 11);
    CC_CHECK_EQ(ids[3], 22);

    /* remove(): the front leaves. */
    CC_CHECK_EQ(cc_speakers_remove(&s, 33), 1);
    CC_CHECK_EQ(cc_speakers_version(&s), v + 1);
    CC_CHECK_EQ(cc_speakers_recent(&s, ids, 8), 3);
    CC_CHECK_EQ(ids[0], 44);
    CC_CHECK_EQ(ids[1], 11);
    CC_CHECK_EQ(ids[2], 22);
    /* Unknown id, and a silent sender never listed: no change. */
    CC_CHECK_EQ(cc_speakers_remove(&s, 33), 0);
    CC_CHECK_EQ(cc_speakers_on_level(&s, 55, QUIET, 0, t), 0);
    CC_CHECK_EQ(cc_speakers_remove(&s, 55), 0);
    CC_CHECK_EQ(cc_speakers_version(&s), v + 1);
    /* The others still work after the slots moved. */
    for (int i = 0; i < 75; i++, t += 20 * MS) {
        cc_speakers_on_level(&s, 22, LOUD, 1, t);
        cc_speakers_on_level(&s, 11, QUIET, 0, t);
        cc_speakers_on_level(&s, 44, QUIET, 0, t);
    }
    CC_CHECK_EQ(cc_speakers_recent(&s, ids, 8), 3);
    CC_CHECK_EQ(ids[0], 22);
    CC_CHECK_EQ(ids[1], 44);
    CC_CHECK_EQ(ids[2], 11);
    CC_CHECK_EQ(cc_speakers_remove(&s, 11), 1);
    CC_CHECK_EQ(cc_speakers_remove(&s, 22), 1);
    CC_CHECK_EQ(cc_speakers_remove(&s, 44), 1);
    CC_CHECK_EQ(cc_speakers_recent(&s, ids, 8), 0);
    CC_CHECK_EQ(s.n, 0);
}

static void test_overlap(void)
{
    cc_speakers s;
    cc_speakers_init(&s);
    cc_time_us t = 0;
    for (int i = 0; i < 50; i++, t += 20 * MS) {
        cc_speakers_on_level(&s, 1, LOUD, 1, t);
        cc_speakers_on_level(&s, 2, QUIET, 0, t);
    }
    CC_CHECK_EQ(front(&s), 1);
    uint32_t v = cc_speakers_version(&s);
    /* Both talk for 5 s, A with a short pause now and then: B joins the
     * list second, once; nobody flaps. */
    for (int i = 0; i < 250; i++, t += 20 * MS) {
        cc_speakers_on_level(&s, 1, i % 25 == 0 ? QUIET : LOUD, 1, t);
        cc_speakers_on_level(&s, 2, 20, 1, t);
    }
    CC_CHECK_EQ(cc_speakers_version(&s), v + 1);
    uint32_t ids[4];
    CC_CHECK_EQ(cc_speakers_recent(&s, ids, 4), 2);
    CC_CHECK_EQ(ids[0], 1);
    CC_CHECK_EQ(ids[1], 2);
    /* 5 s more, each pausing 40 ms in every 200 ms, out of step: their
     * windows keep crossing, the list stays put. */
    for (int i = 0; i < 250; i++, t += 20 * MS) {
        cc_speakers_on_level(&s, 1, i % 10 < 2 ? QUIET : LOUD, 1, t);
        cc_speakers_on_level(&s, 2, i % 10 >= 5 && i % 10 < 7 ? QUIET : LOUD, 1, t);
    }
    CC_CHECK_EQ(cc_speakers_version(&s), v + 1);
    CC_CHECK_EQ(front(&s), 1);
    /* A stops: B takes the front within a few hundred ms. */
    cc_time_us stop = t, took = -1;
    for (int i = 0; i < 50; i++, t += 20 * MS) {
        cc_speakers_on_level(&s, 1, QUIET, 0, t);
        if (cc_speakers_on_level(&s, 2, 20, 1, t) == 1 && took < 0)
            took = t - stop;
    }
    CC_CHECK(took >= 0 && took <= 600 * MS);
    CC_CHECK_EQ(front(&s), 2);
    CC_CHECK_EQ(cc_speakers_version(&s), v + 2);
}

static void test_limit(void)
{
    cc_speakers s;
    cc_speakers_init(&s);
    for (uint32_t id = 1; id <= CC_SPEAKERS_MAX; id++)
        CC_CHECK_EQ(cc_speakers_on_level(&s, id, QUIET, 0, 0), 0);
    CC_CHECK_EQ(cc_speakers_on_level(&s, 1000, LOUD, 1, 0), CC_ELIMIT);
    CC_CHECK_EQ(cc_speakers_last(&s, 1000, NULL, NULL), CC_ENOTFOUND);
    /* Known senders still count. */
    CC_CHECK_EQ(cc_speakers_on_level(&s, 5, LOUD, 1, 20 * MS), 0);
    /* Every one of the 32 can be listed. */
    cc_time_us t = 10 * S;
    for (uint32_t id = 1; id <= CC_SPEAKERS_MAX; id++)
        for (int i = 0; i < 40; i++, t += 20 * MS)
            cc_speakers_on_level(&s, id, LOUD, 1, t);
    uint32_t ids[CC_SPEAKERS_MAX + 1];
    CC_CHECK_EQ(cc_speakers_recent(&s, ids, CC_SPEAKERS_MAX + 1), CC_SPEAKERS_MAX);
    CC_CHECK_EQ(ids[0], CC_SPEAKERS_MAX);
    CC_CHECK_EQ(ids[CC_SPEAKERS_MAX - 1], 1);
    /* A place frees up when one leaves. */
    CC_CHECK_EQ(cc_speakers_remove(&s, 3), 1);
    CC_CHECK_EQ(cc_speakers_on_level(&s, 1000, LOUD, 1, t), 0);
    CC_CHECK_EQ(cc_speakers_on_level(&s, 1001, LOUD, 1, t), CC_ELIMIT);
}

static void test_time_backwards(void)
{
    cc_speakers s;
    cc_speakers_init(&s);
    cc_time_us t = 50 * S;
    /* 400 ms of speech, time steps back 300 ms, 300 ms more: the window
     * restarted, so no promotion (700 ms would have been enough). */
    for (int i = 0; i < 20; i++, t += 20 * MS)
        CC_CHECK_EQ(cc_speakers_on_level(&s, 1, LOUD, 1, t), 0);
    t -= 300 * MS;
    for (int i = 0; i < 15; i++, t += 20 * MS)
        CC_CHECK_EQ(cc_speakers_on_level(&s, 1, LOUD, 1, t), 0);
    /* A clock that jumps back and forth. */
    for (int i = 0; i < 200; i++)
        CC_CHECK_EQ(cc_speakers_on_level(&s, 1, LOUD, 1,
                                         t + (i % 2 ? 20 * MS * i : -S)), 0);
    /* Extreme values: no overflow (UBSan), no promotion. */
    CC_CHECK_EQ(cc_speakers_on_level(&s, 2, LOUD, 1, INT64_MAX), 0);
    CC_CHECK_EQ(cc_speakers_on_level(&s, 2, LOUD, 1, INT64_MIN), 0);
    CC_CHECK_EQ(cc_speakers_on_level(&s, 2, LOUD, 1, INT64_MAX), 0);
    CC_CHECK_EQ(cc_speakers_on_level(&s, 3, LOUD, 1, -7 * MS), 0);
    CC_CHECK_EQ(cc_speakers_on_level(&s, 3, LOUD, 1, INT64_MIN + 1), 0);
    CC_CHECK_EQ(cc_speakers_version(&s), 0);
    uint32_t ids[4];
    CC_CHECK_EQ(cc_speakers_recent(&s, ids, 4), 0);
    /* Negative times work like any others. */
    cc_speakers_init(&s);
    int changed = 0;
    for (t = -S - 3 * MS; t < 0; t += 20 * MS)
        changed += cc_speakers_on_level(&s, 9, LOUD, 1, t) == 1;
    CC_CHECK_EQ(changed, 1);
    CC_CHECK_EQ(front(&s), 9);
}

static void test_gap(void)
{
    cc_speakers s;
    cc_speakers_init(&s);
    cc_time_us t = 0;
    /* 400 ms of speech, 1.05 s without packets, then 22 packets (440 ms):
     * the window restarted and the first packet after the gap counts 20
     * ms, not 60, so not qualified yet. */
    for (int i = 0; i < 20; i++, t += 20 * MS)
        cc_speakers_on_level(&s, 1, LOUD, 1, t);
    t += 1050 * MS;
    int changed = 0;
    for (int i = 0; i < 22; i++, t += 20 * MS)
        changed += cc_speakers_on_level(&s, 1, LOUD, 1, t);
    CC_CHECK_EQ(changed, 0);
    /* Then it goes on talking and qualifies. */
    for (int i = 0; i < 10; i++, t += 20 * MS)
        changed += cc_speakers_on_level(&s, 1, LOUD, 1, t);
    CC_CHECK_EQ(changed, 1);
    /* Sparse packets (every 200 ms) count at most 60 ms each: never. */
    cc_speakers_init(&s);
    changed = 0;
    for (int i = 0; i < 50; i++, t += 200 * MS)
        changed += cc_speakers_on_level(&s, 2, LOUD, 1, t);
    CC_CHECK_EQ(changed, 0);
}

static void test_silence(void)
{
    cc_speakers s;
    cc_speakers_init(&s);
    for (cc_time_us t = 0; t < 5 * S; t += 20 * MS)
        for (uint32_t id = 1; id <= 5; id++)
            /* Just above the speech level, with the V flag set. */
            CC_CHECK_EQ(cc_speakers_on_level(&s, id, id == 5 ? 51 : QUIET, 1, t), 0);
    uint32_t ids[8];
    CC_CHECK_EQ(cc_speakers_recent(&s, ids, 8), 0);
    CC_CHECK_EQ(cc_speakers_version(&s), 0);
    CC_CHECK_EQ(cc_speakers_recent(&s, ids, 0), 0);
}

/* Random packets, removals and clock steps (a fixed seed): the list only
 * ever holds known, distinct senders, and version moves with it. */
static void test_random(void)
{
    cc_speakers s;
    cc_speakers_init(&s);
    uint64_t x = 0x9e3779b97f4a7c15u;
    cc_time_us t = 0;
    for (int i = 0; i < 100000; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        uint32_t r = (uint32_t)(x >> 33);
        /* Half the packets from a few talkers that change now and then. */
        uint32_t id = r & 1 ? 1 + (r >> 1) % 40 : 1 + (uint32_t)(i / 3000 + (r >> 1) % 2) % 40;
        uint32_t before[CC_SPEAKERS_MAX], after[CC_SPEAKERS_MAX];
        int nb = cc_speakers_recent(&s, before, CC_SPEAKERS_MAX);
        uint32_t v = cc_speakers_version(&s);
        int ret;
        if ((r >> 8) % 500 == 0) {
            ret = cc_speakers_remove(&s, id);
        } else {
            t += (r >> 12) % 1000 == 0 ? -(cc_time_us)((r >> 16) % 2000) * MS
                                       : (cc_time_us)((r >> 16) % 12) * MS;
            ret = cc_speakers_on_level(&s, id, (r >> 20) % 3 ? (int)((r >> 22) % 40)
                                                              : QUIET, 1, t);
            CC_CHECK(ret == 0 || ret == 1 || ret == CC_ELIMIT);
        }
        int na = cc_speakers_recent(&s, after, CC_SPEAKERS_MAX);
        int same = na == nb && memcmp(before, after, sizeof before[0] * (size_t)na) == 0;
        if (ret == 1) {
            CC_CHECK(!same);
            CC_CHECK_EQ(cc_speakers_version(&s), v + 1);
        } else {
            CC_CHECK(same);
            CC_CHECK_EQ(cc_speakers_version(&s), v);
        }
        CC_CHECK(s.n <= CC_SPEAKERS_MAX && s.n_order <= s.n);
        for (int a = 0; a < na; a++) {
            CC_CHECK(after[a] != 0);
            CC_CHECK_EQ(cc_speakers_last(&s, after[a], NULL, NULL), 0);
            for (int b = a + 1; b < na; b++)
                CC_CHECK(after[a] != after[b]);
        }
    }
    CC_CHECK(cc_speakers_version(&s) > 20);
    printf("random: version %u, %d senders, %d listed\n", cc_speakers_version(&s), s.n, s.n_order);
}

/* A busy sender or a busy worker delivers the packets in bursts: five
 * 20 ms packets at one instant every 100 ms, or ten every 200 ms. By
 * arrival time a burst counts at most one packet's cap (60 ms of 200), so
 * the sender never qualifies; by RTP timestamp it qualifies as fast as a
 * steady one. A sender whose timestamps race ahead of its packets is held
 * to what a bucket may hold, and reordered packets add nothing. */
static void test_bursts(void)
{
    for (int per = 5; per <= 10; per += 5) {
        cc_speakers by_ts, by_arrival;
        cc_speakers_init(&by_ts);
        cc_speakers_init(&by_arrival);
        cc_time_us t0 = 3 * S, t = t0, promoted = -1;
        uint32_t ts = 1234567u;
        for (int burst = 0; burst < 20; burst++, t += per * 20 * MS) {
            for (int k = 0; k < per; k++, ts += 960) {
                if (cc_speakers_on_level_ts(&by_ts, 9, LOUD, 1, ts, 48000, t) == 1 &&
                    promoted < 0)
                    promoted = t - t0;
                cc_speakers_on_level(&by_arrival, 9, LOUD, 1, t);
            }
        }
        CC_CHECK_EQ(front(&by_ts), 9);
        CC_CHECK(promoted >= 0 && promoted <= CC_SPEAKERS_SPEECH_US + 200 * MS);
        if (per == 10)
            CC_CHECK_EQ(front(&by_arrival), 0); /* the old rule's failure */
    }
    /* Timestamps 60 ms apart at 1000 packets a second: no more than a
     * bucket may hold is credited, and nothing overflows. */
    cc_speakers s;
    cc_speakers_init(&s);
    uint32_t ts = 0;
    for (int i = 0; i < 100000; i++, ts += 2880)
        cc_speakers_on_level_ts(&s, 4, LOUD, 1, ts, 48000, S + i);
    CC_CHECK(s.slot[0].sum_us <= (uint32_t)CC_SPEAKERS_BUCKETS *
                                     CC_SPEAKERS_BUCKET_FULL_US);
    /* Reordered and repeated packets add nothing: one packet of 20 ms
     * then the same timestamp 50 times, then older ones. */
    cc_speakers_init(&s);
    cc_time_us t = 2 * S;
    ts = 1000;
    cc_speakers_on_level_ts(&s, 4, LOUD, 1, ts, 48000, t);
    for (int i = 0; i < 50; i++)
        cc_speakers_on_level_ts(&s, 4, LOUD, 1, ts - (uint32_t)(i % 2) * 960, 48000, t + i * 10 * MS);
    CC_CHECK_EQ(s.slot[0].sum_us, (uint32_t)CC_SPEAKERS_FIRST_US);
    CC_CHECK_EQ(front(&s), 0);
    /* The sender publishes again: a new SSRC whose random first timestamp
     * lies behind the old one. Its speech counts from the next packet
     * (by the old timestamps it would never count again). */
    cc_speakers_init(&s);
    t = 4 * S;
    ts = 3000000000u;
    for (int i = 0; i < 10; i++, t += 20 * MS, ts += 960)
        cc_speakers_on_level_ts(&s, 6, QUIET, 0, ts, 48000, t);
    ts = 2900000000u;
    cc_time_us from = t, listed = -1;
    for (int i = 0; i < 50; i++, t += 20 * MS, ts += 960)
        if (cc_speakers_on_level_ts(&s, 6, LOUD, 1, ts, 48000, t) == 1 && listed < 0)
            listed = t - from;
    CC_CHECK_EQ(front(&s), 6);
    CC_CHECK(listed >= 0 && listed <= CC_SPEAKERS_SPEECH_US + 100 * MS);
}

int main(void)
{
    CC_RUN(test_parse_level);
    CC_RUN(test_single_speaker);
    CC_RUN(test_cough);
    CC_RUN(test_turns);
    CC_RUN(test_overlap);
    CC_RUN(test_limit);
    CC_RUN(test_time_backwards);
    CC_RUN(test_gap);
    CC_RUN(test_silence);
    CC_RUN(test_random);
    CC_RUN(test_bursts);
    CC_TEST_DONE();
}
