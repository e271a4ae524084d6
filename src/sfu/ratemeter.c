/* classcast: per-layer bitrate of an incoming stream. See ratemeter.h. */
#include "classcast/ratemeter.h"

#include <string.h>

#define B CC_RATEMETER_BUCKET_US
#define N CC_RATEMETER_BUCKETS
#define T CC_RATEMETER_TIDS

/* Bucket number of a time, rounding down also before 0. */
static int64_t bucket_of(cc_time_us t)
{
    int64_t q = t / B;
    if (t % B < 0)
        q--;
    return q;
}

static unsigned slot_of(int64_t idx)
{
    int64_t s = idx % N;
    return (unsigned)(s < 0 ? s + N : s);
}

void cc_ratemeter_init(cc_ratemeter *m)
{
    memset(m, 0, sizeof *m);
    for (unsigned i = 0; i < N; i++)
        m->idx[i] = INT64_MIN; /* in no window */
    m->cur_end = INT64_MIN;    /* the first packet rolls */
}

/* `now` is past the current bucket: move to the bucket holding it and
 * empty the ones skipped. Once per 100 ms at most, so the division here
 * is off the per-packet path. */
static void roll(cc_ratemeter *m, cc_time_us now)
{
    int64_t idx = bucket_of(now);
    int64_t gap = m->started ? idx - m->cur_idx : N;
    if (gap >= N) {
        /* Silence of a whole window (or the first packet): start over, and
         * measure the span from this packet on. */
        memset(m->bytes, 0, sizeof m->bytes);
        memset(m->frames, 0, sizeof m->frames);
        for (unsigned i = 0; i < N; i++)
            m->idx[i] = INT64_MIN;
        m->since = now;
        m->started = 1;
    } else {
        for (int64_t k = m->cur_idx + 1; k < idx; k++) {
            unsigned s = slot_of(k);
            memset(m->bytes[s], 0, sizeof m->bytes[s]);
            memset(m->frames[s], 0, sizeof m->frames[s]);
            m->idx[s] = k;
        }
    }
    unsigned s = slot_of(idx);
    memset(m->bytes[s], 0, sizeof m->bytes[s]);
    memset(m->frames[s], 0, sizeof m->frames[s]);
    m->idx[s] = idx;
    m->cur = s;
    m->cur_idx = idx;
    m->cur_end = idx < INT64_MAX / B - 1 ? (idx + 1) * B : INT64_MAX;
}

void cc_ratemeter_on_packet(cc_ratemeter *m, int tid, size_t bytes,
                            int frame_start, cc_time_us now)
{
    /* A time before the current bucket (a clock that stepped back) counts
     * in the current one. */
    if (now >= m->cur_end)
        roll(m, now);
    unsigned t = (unsigned)tid;
    if (t >= T)
        t = tid < 0 ? 0 : T - 1;
    m->bytes[m->cur][t] += bytes;
    m->frames[m->cur][t] += frame_start != 0;
    m->total_bytes[t] += bytes;
    m->total_packets++;
}

/* Sum of the window at `now` for layers 0..T-1 into bytes[]/frames[]
 * (per layer, not cumulative); returns the span it covers in us (>= one
 * bucket), or 0 if nothing is in the window. */
static cc_time_us window(const cc_ratemeter *m, cc_time_us now,
                         uint64_t bytes[T], uint64_t frames[T])
{
    memset(bytes, 0, T * sizeof bytes[0]);
    memset(frames, 0, T * sizeof frames[0]);
    if (!m->started)
        return 0;
    int64_t hi = bucket_of(now), lo = hi - (N - 1);
    int any = 0;
    for (unsigned i = 0; i < N; i++) {
        if (m->idx[i] < lo || m->idx[i] > hi)
            continue;
        for (unsigned t = 0; t < T; t++) {
            bytes[t] += m->bytes[i][t];
            frames[t] += m->frames[i][t];
        }
        any = 1;
    }
    if (!any)
        return 0;
    cc_time_us start = lo * B;
    if (m->since > start)
        start = m->since;
    cc_time_us span = now - start;
    /* Right after the first packet the span is tiny: count at least one
     * bucket so one packet does not read as a huge rate. */
    return span < B ? B : span;
}

static unsigned top_of(int max_tid)
{
    return max_tid >= T ? T - 1 : (unsigned)max_tid;
}

static uint32_t to_bps(uint64_t bytes, cc_time_us span)
{
    double bps = (double)bytes * 8.0 * 1e6 / (double)span;
    return bps >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)(bps + 0.5);
}

void cc_ratemeter_rates(const cc_ratemeter *m, cc_time_us now,
                        uint32_t bps[CC_RATEMETER_TIDS])
{
    uint64_t bytes[T], frames[T];
    cc_time_us span = window(m, now, bytes, frames);
    uint64_t sum = 0;
    for (unsigned t = 0; t < T; t++) {
        sum += bytes[t];
        bps[t] = span ? to_bps(sum, span) : 0;
    }
}

uint32_t cc_ratemeter_bps(const cc_ratemeter *m, int max_tid, cc_time_us now)
{
    if (max_tid < 0)
        return 0;
    uint32_t bps[T];
    cc_ratemeter_rates(m, now, bps);
    return bps[top_of(max_tid)];
}

double cc_ratemeter_fps(const cc_ratemeter *m, int max_tid, cc_time_us now)
{
    if (max_tid < 0)
        return 0;
    uint64_t bytes[T], frames[T];
    cc_time_us span = window(m, now, bytes, frames);
    if (!span)
        return 0;
    uint64_t sum = 0;
    for (unsigned t = 0; t <= top_of(max_tid); t++)
        sum += frames[t];
    return (double)sum * 1e6 / (double)span;
}
