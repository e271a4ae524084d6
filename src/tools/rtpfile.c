/* Recorded RTP (RFC 4571 framing) replayed in real time, looped. */
#include "classcast/rtpfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"
#include "classcast/rtp.h"
#include "classcast/vp8.h"

#define FILE_MAX (64u << 20)
#define MAX_LAG (100 * CC_USEC_PER_MSEC)

typedef struct frame {
    int first, n;          /* packet indexes */
    uint32_t dur;          /* RTP units until the next frame */
    int key;
} frame;

struct cc_rtpfile {
    uint8_t *data;
    size_t *off;           /* packet i at data + off[i], length len[i] */
    uint16_t *len;
    int n_pkts;
    frame *frames;
    int n_frames, n_keys;
    int clock_rate;
    int video;
    /* playback */
    cc_time_us start;
    uint64_t out_ts;       /* RTP units played since start */
    int cur;               /* current frame */
    int pkt;               /* next packet within it */
    int want_key;
};

static int load(const char *path, uint8_t **data, size_t *size, char *err,
                size_t errcap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errcap, "cannot open %s", path);
        return CC_EIO;
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            if (cap > FILE_MAX + 1) {
                snprintf(err, errcap, "%s is larger than 64 MiB", path);
                free(buf);
                fclose(f);
                return CC_EINVAL;
            }
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return CC_ENOMEM;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    *data = buf;
    *size = n;
    return 0;
}

int cc_rtpfile_open(cc_rtpfile **out, const char *path, int video,
                    int clock_rate, char *err, size_t errcap)
{
    *out = NULL;
    cc_rtpfile *f = calloc(1, sizeof *f);
    if (!f)
        return CC_ENOMEM;
    size_t size = 0;
    int rc = load(path, &f->data, &size, err, errcap);
    if (rc != 0)
        goto fail;
    rc = CC_ENOMEM;
    /* Count, then index (RFC 4571 section 2: 16-bit length prefix). */
    int n = 0;
    for (size_t p = 0; p + 2 <= size;) {
        size_t l = (size_t)f->data[p] << 8 | f->data[p + 1];
        if (l < CC_RTP_HEADER_MIN || p + 2 + l > size)
            break;
        n++;
        p += 2 + l;
    }
    f->off = calloc((size_t)n + 1, sizeof *f->off);
    f->len = calloc((size_t)n + 1, sizeof *f->len);
    f->frames = calloc((size_t)n + 1, sizeof *f->frames);
    if (!f->off || !f->len || !f->frames)
        goto fail;
    uint32_t prev_ts = 0;
    for (size_t p = 0; f->n_pkts < n;) {
        size_t l = (size_t)f->data[p] << 8 | f->data[p + 1];
        cc_rtp_hdr h;
        if (cc_rtp_parse(f->data + p + 2, l, &h) != 0)
            break;
        int i = f->n_pkts++;
        f->off[i] = p + 2;
        f->len[i] = (uint16_t)l;
        if (f->n_frames == 0 || h.ts != prev_ts) {
            frame *fr = &f->frames[f->n_frames++];
            fr->first = i;
            if (video) {
                cc_vp8_desc d;
                fr->key = h.payload_len && cc_vp8_parse(h.payload, h.payload_len, &d) == 0 &&
                          d.keyframe;
                f->n_keys += fr->key;
            }
            if (f->n_frames > 1)
                f->frames[f->n_frames - 2].dur = h.ts - prev_ts;
        }
        f->frames[f->n_frames - 1].n++;
        prev_ts = h.ts;
        p += 2 + l;
    }
    rc = CC_EINVAL;
    if (f->n_frames < 2 || (video && f->n_keys == 0)) {
        snprintf(err, errcap, "%s: %s", path,
                 f->n_pkts == 0 ? "no RFC 4571 RTP packets"
                                : f->n_frames < 2 ? "fewer than two frames"
                                                  : "no VP8 keyframe");
        goto fail;
    }
    /* The last frame lasts as long as the one before it. Durations that
     * are implausible (timestamp jumps) become that default too. */
    uint32_t def = f->frames[f->n_frames - 2].dur;
    for (int i = 0; i < f->n_frames; i++)
        if (f->frames[i].dur == 0 || f->frames[i].dur > (uint32_t)clock_rate)
            f->frames[i].dur = def ? def : (uint32_t)clock_rate / 50;
    f->clock_rate = clock_rate;
    f->video = video;
    *out = f;
    return 0;
fail:
    cc_rtpfile_free(f);
    return rc;
}

void cc_rtpfile_free(cc_rtpfile *f)
{
    if (!f)
        return;
    free(f->data);
    free(f->off);
    free(f->len);
    free(f->frames);
    free(f);
}

void cc_rtpfile_start(cc_rtpfile *f, cc_time_us now)
{
    f->start = now;
    f->out_ts = 0;
    f->cur = 0;
    f->pkt = 0;
}

static cc_time_us frame_due(const cc_rtpfile *f)
{
    return f->start + (cc_time_us)(f->out_ts * (uint64_t)CC_USEC_PER_SEC /
                                   (uint64_t)f->clock_rate);
}

int cc_rtpfile_next(cc_rtpfile *f, cc_time_us now, uint8_t *buf, size_t cap,
                    size_t *len, cc_time_us *next_due)
{
    if (f->pkt == 0) {
        if (f->want_key) {
            /* Latest keyframe at or before the frame about to start. */
            int k = f->cur;
            while (k > 0 && !f->frames[k].key)
                k--;
            f->cur = f->frames[k].key ? k : 0;
            f->want_key = 0;
        }
        cc_time_us due = frame_due(f);
        if (due > now) {
            *next_due = due;
            return CC_EAGAIN;
        }
        if (now - due > MAX_LAG) /* slip: no catch-up bursts */
            f->start += now - due;
    }
    const frame *fr = &f->frames[f->cur];
    int i = fr->first + f->pkt;
    if (f->len[i] > cap)
        return CC_ENOSPC;
    memcpy(buf, f->data + f->off[i], f->len[i]);
    *len = f->len[i];
    cc_rtp_set_ts(buf, (uint32_t)f->out_ts);
    if (++f->pkt >= fr->n) {
        f->pkt = 0;
        f->out_ts += fr->dur;
        f->cur = (f->cur + 1) % f->n_frames;
    }
    return 0;
}

void cc_rtpfile_request_keyframe(cc_rtpfile *f)
{
    if (f->video)
        f->want_key = 1;
}

int cc_rtpfile_packets(const cc_rtpfile *f) { return f->n_pkts; }
int cc_rtpfile_frames(const cc_rtpfile *f) { return f->n_frames; }
int cc_rtpfile_keyframes(const cc_rtpfile *f) { return f->n_keys; }

cc_time_us cc_rtpfile_duration(const cc_rtpfile *f)
{
    uint64_t t = 0;
    for (int i = 0; i < f->n_frames; i++)
        t += f->frames[i].dur;
    return (cc_time_us)(t * (uint64_t)CC_USEC_PER_SEC / (uint64_t)f->clock_rate);
}
