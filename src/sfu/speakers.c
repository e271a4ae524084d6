/* classcast: active speakers from RFC 6464 audio levels, last-N recency
 * list. See speakers.h for the rule. Runs on the SFU worker's packet path:
 * no allocation, no I/O, explicit clock. */
#include "classcast/speakers.h"

#include <string.h>

#include "classcast/err.h"

/* Bucket number of `t`, rounding down also for negative times (a manual
 * clock may start anywhere). */
static int64_t bucket_of(cc_time_us t)
{
    int64_t b = t / CC_SPEAKERS_BUCKET_US;
    if (t % CC_SPEAKERS_BUCKET_US < 0)
        b--;
    return b;
}

static unsigned bucket_index(int64_t b)
{
    int64_t i = b % CC_SPEAKERS_BUCKETS;
    return (unsigned)(i < 0 ? i + CC_SPEAKERS_BUCKETS : i);
}

static void window_clear(cc_speaker *p, int64_t head)
{
    memset(p->bucket_us, 0, sizeof p->bucket_us);
    p->sum_us = 0;
    p->head = head;
}

/* Slide the window forward to bucket `b`: the buckets it passes expire.
 * A `b` at or before the head (time went backwards) leaves it alone. */
static void window_age(cc_speaker *p, int64_t b)
{
    if (b <= p->head)
        return;
    if ((uint64_t)b - (uint64_t)p->head >= CC_SPEAKERS_BUCKETS) {
        window_clear(p, b);
        return;
    }
    while (p->head < b) {
        p->head++;
        unsigned i = bucket_index(p->head);
        p->sum_us -= p->bucket_us[i];
        p->bucket_us[i] = 0;
    }
}

static int find_slot(const cc_speakers *s, uint32_t id)
{
    for (int i = 0; i < s->n; i++)
        if (s->slot[i].id == id)
            return i;
    return -1;
}

static int order_pos(const cc_speakers *s, int slot)
{
    for (int i = 0; i < s->n_order; i++)
        if (s->order[i] == slot)
            return i;
    return -1;
}

/* Y holds its place against X (see speakers.h). */
static int holds(cc_speaker *y, const cc_speaker *x, int64_t b, cc_time_us now)
{
    /* Only someone still talking holds: a sender whose latest packet is
     * silence, or who has sent nothing for a while, has stopped, and the
     * one who took over goes in front at once. */
    if (now - y->last_speech > CC_SPEAKERS_STOPPED_US)
        return 0;
    window_age(y, b);
    return (uint64_t)y->sum_us + (uint64_t)CC_SPEAKERS_MARGIN_US >
           (uint64_t)x->sum_us;
}

/* Qualified sender in `slot` (list position q, or -1 if not listed): move
 * it past the entries ahead of it that do not hold against it. 1 if the
 * list changed. */
static int promote(cc_speakers *s, int slot, int64_t b, cc_time_us now)
{
    cc_speaker *x = &s->slot[slot];
    int q = x->listed ? order_pos(s, slot) : -1;
    int end = q >= 0 ? q : s->n_order;
    int p = 0;
    while (p < end && holds(&s->slot[s->order[p]], x, b, now))
        p++;
    if (p == end && q >= 0)
        return 0; /* every entry ahead holds: stays where it is */
    if (q < 0) {
        /* New to the list: insert at p (appended if everyone holds). */
        memmove(&s->order[p + 1], &s->order[p], (size_t)(s->n_order - p));
        s->n_order++;
        x->listed = 1;
    } else {
        memmove(&s->order[p + 1], &s->order[p], (size_t)(q - p));
    }
    s->order[p] = (uint8_t)slot;
    s->version++;
    return 1;
}

void cc_speakers_init(cc_speakers *s)
{
    memset(s, 0, sizeof *s);
}

int cc_speakers_parse_level(const cc_rtp_hdr *h, int ext_id, int *level,
                            int *voice)
{
    if (!h || !level || !voice)
        return CC_EINVAL;
    const uint8_t *val;
    size_t len;
    int r = cc_rtp_find_ext(h, ext_id, &val, &len);
    if (r < 0)
        return r;
    /* RFC 6464 section 3: exactly one byte, V(1) level(7). */
    if (len != 1)
        return CC_EINVAL;
    *voice = val[0] >> 7;
    *level = val[0] & 0x7f;
    return 0;
}

int cc_speakers_on_level(cc_speakers *s, uint32_t id, int level, int voice,
                         cc_time_us now)
{
    return cc_speakers_on_level_ts(s, id, level, voice, 0, 0, now);
}

int cc_speakers_on_level_ts(cc_speakers *s, uint32_t id, int level,
                            int voice, uint32_t rtp_ts, uint32_t clock_hz,
                            cc_time_us now)
{
    if (!s || id == 0 || level < 0 || level > 127)
        return CC_EINVAL;
    int64_t b = bucket_of(now);
    int slot = find_slot(s, id);
    cc_speaker *p;
    cc_time_us credit;
    int fresh = 1; /* a new sender, or the first packet after a gap */
    if (slot < 0) {
        if (s->n >= CC_SPEAKERS_MAX)
            return CC_ELIMIT;
        slot = s->n++;
        p = &s->slot[slot];
        memset(p, 0, sizeof *p);
        p->id = id;
        window_clear(p, b);
        credit = CC_SPEAKERS_FIRST_US;
    } else {
        p = &s->slot[slot];
        /* Unsigned difference: no overflow for any pair of times. */
        if (now < p->last ||
            (uint64_t)now - (uint64_t)p->last > (uint64_t)CC_SPEAKERS_GAP_US) {
            /* Time went backwards, or the sender paused for long: what the
             * window holds no longer describes the last second. */
            window_clear(p, b);
            credit = CC_SPEAKERS_FIRST_US;
        } else {
            fresh = 0;
            credit = now - p->last;
            if (clock_hz > 0 && p->has_ts) {
                /* Serial-number difference (RFC 3550 section 5.1): the
                 * media time this packet adds; <= 0 for a repeat or a
                 * packet that came late. A jump of more than a second
                 * either way is a new timeline (the sender published again
                 * with a new SSRC and a random first timestamp): it starts
                 * from this packet, credited by its arrival. */
                int32_t d = (int32_t)(rtp_ts - p->last_ts);
                if (d > (int32_t)clock_hz || d < -(int32_t)clock_hz)
                    fresh = 1;
                else
                    credit = d <= 0 ? 0
                                    : (cc_time_us)((int64_t)d * CC_USEC_PER_SEC /
                                                   clock_hz);
            }
            if (credit > CC_SPEAKERS_PACKET_CAP_US)
                credit = CC_SPEAKERS_PACKET_CAP_US;
            window_age(p, b);
        }
    }
    p->last = now;
    if (clock_hz > 0) {
        /* A late packet does not move it back; after a discontinuity any
         * timestamp starts afresh. */
        if (fresh || !p->has_ts || (int32_t)(rtp_ts - p->last_ts) > 0)
            p->last_ts = rtp_ts;
        p->has_ts = 1;
    }
    p->level = (uint8_t)level;
    p->voice = voice ? 1 : 0;

    if (level > CC_SPEAKERS_SPEECH_LEVEL)
        return 0;
    p->last_speech = now;
    /* Credited to the bucket of its arrival. A burst puts more than the
     * bucket's 100 ms into it; a sender whose timestamps race ahead of
     * its packets is held to CC_SPEAKERS_BUCKET_FULL_US a bucket (no
     * overflow, whatever it sends). */
    uint32_t *bk = &p->bucket_us[bucket_index(p->head)];
    if (*bk + (uint32_t)credit > (uint32_t)CC_SPEAKERS_BUCKET_FULL_US)
        credit = *bk >= (uint32_t)CC_SPEAKERS_BUCKET_FULL_US
                     ? 0
                     : (cc_time_us)(CC_SPEAKERS_BUCKET_FULL_US - *bk);
    *bk += (uint32_t)credit;
    p->sum_us += (uint32_t)credit;
    if (p->sum_us < (uint32_t)CC_SPEAKERS_SPEECH_US)
        return 0;
    if (p->listed && s->order[0] == slot)
        return 0; /* already the current speaker: the common case */
    return promote(s, slot, b, now);
}

int cc_speakers_remove(cc_speakers *s, uint32_t id)
{
    if (!s || id == 0)
        return 0;
    int slot = find_slot(s, id);
    if (slot < 0)
        return 0;
    int changed = 0;
    if (s->slot[slot].listed) {
        int q = order_pos(s, slot);
        memmove(&s->order[q], &s->order[q + 1], (size_t)(s->n_order - q - 1));
        s->n_order--;
        s->version++;
        changed = 1;
    }
    /* Keep slot[0..n) dense: the last slot moves into the hole. */
    int last = s->n - 1;
    if (slot != last) {
        s->slot[slot] = s->slot[last];
        if (s->slot[slot].listed)
            s->order[order_pos(s, last)] = (uint8_t)slot;
    }
    memset(&s->slot[last], 0, sizeof s->slot[last]);
    s->n--;
    return changed;
}

int cc_speakers_recent(const cc_speakers *s, uint32_t *ids, int max)
{
    if (!s || !ids || max <= 0)
        return 0;
    int n = s->n_order < max ? s->n_order : max;
    for (int i = 0; i < n; i++)
        ids[i] = s->slot[s->order[i]].id;
    return n;
}

uint32_t cc_speakers_version(const cc_speakers *s)
{
    return s ? s->version : 0;
}

int cc_speakers_last(const cc_speakers *s, uint32_t id, int *level,
                     int *voice)
{
    if (!s || id == 0)
        return CC_ENOTFOUND;
    int slot = find_slot(s, id);
    if (slot < 0)
        return CC_ENOTFOUND;
    if (level)
        *level = s->slot[slot].level;
    if (voice)
        *voice = s->slot[slot].voice;
    return 0;
}
