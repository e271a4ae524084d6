/* classcast: Opus encoder on libopus. See include/classcast/opusenc.h. */
#include "classcast/opusenc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>

#include "classcast/err.h"
#include "classcast/log.h"

#define MOD "opusenc"

struct cc_opusenc {
    OpusEncoder *enc;
    cc_opusenc_config cfg;
    int bitrate_bps;           /* in force (encoder thread) */
    atomic_int pending_bps;    /* 0: none */
    atomic_int cur_bps;
    atomic_uint_fast64_t frames, bytes_out, errors;
};

void cc_opusenc_config_default(cc_opusenc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->channels = 1;
    cfg->bitrate_bps = 32000;
    cfg->loss_perc = 10;
}

static int valid_bps(int bps)
{
    return bps >= 6000 && bps <= 510000;
}

int cc_opusenc_new(cc_opusenc **out, const cc_opusenc_config *cfg)
{
    if (!out || !cfg)
        return CC_EINVAL;
    *out = NULL;
    if ((cfg->channels != 1 && cfg->channels != 2) ||
        !valid_bps(cfg->bitrate_bps) || cfg->loss_perc > 100 ||
        cfg->complexity < 0 || cfg->complexity > 10)
        return CC_EINVAL;
    cc_opusenc *e = calloc(1, sizeof *e);
    if (!e)
        return CC_ENOMEM;
    e->cfg = *cfg;
    int oerr = OPUS_OK;
    e->enc = opus_encoder_create(CC_OPUS_RATE, cfg->channels,
                                 cfg->music ? OPUS_APPLICATION_AUDIO
                                            : OPUS_APPLICATION_VOIP,
                                 &oerr);
    if (!e->enc || oerr != OPUS_OK) {
        CC_ERROR(MOD, "create: %s", opus_strerror(oerr));
        free(e);
        return oerr == OPUS_ALLOC_FAIL ? CC_ENOMEM : CC_EUNSUPPORTED;
    }
    int loss = cfg->loss_perc < 0 ? 0 : cfg->loss_perc;
    /* In-band FEC (RFC 6716 section 2.1.7) carries a low-rate copy of the
     * previous frame; libopus only spends bits on it when it expects loss,
     * hence the loss percentage. */
    if (opus_encoder_ctl(e->enc, OPUS_SET_BITRATE(cfg->bitrate_bps)) ||
        opus_encoder_ctl(e->enc, OPUS_SET_INBAND_FEC(1)) ||
        opus_encoder_ctl(e->enc, OPUS_SET_PACKET_LOSS_PERC(loss)) ||
        opus_encoder_ctl(e->enc, OPUS_SET_VBR(1)) ||
        opus_encoder_ctl(e->enc, OPUS_SET_DTX(cfg->dtx ? 1 : 0)) ||
        opus_encoder_ctl(e->enc, OPUS_SET_COMPLEXITY(
                                     cfg->complexity ? cfg->complexity : 8)) ||
        opus_encoder_ctl(e->enc, OPUS_SET_SIGNAL(cfg->music ? OPUS_SIGNAL_MUSIC
                                                            : OPUS_SIGNAL_VOICE))) {
        CC_ERROR(MOD, "encoder ctl failed");
        cc_opusenc_free(e);
        return CC_EUNSUPPORTED;
    }
    e->bitrate_bps = cfg->bitrate_bps;
    atomic_store(&e->cur_bps, cfg->bitrate_bps);
    *out = e;
    return 0;
}

void cc_opusenc_free(cc_opusenc *e)
{
    if (!e)
        return;
    if (e->enc)
        opus_encoder_destroy(e->enc);
    free(e);
}

int cc_opusenc_set_bitrate(cc_opusenc *e, int bps)
{
    if (!e || !valid_bps(bps))
        return CC_EINVAL;
    atomic_store(&e->pending_bps, bps);
    return 0;
}

void cc_opusenc_get_stats(cc_opusenc *e, cc_opusenc_stats *s)
{
    memset(s, 0, sizeof *s);
    if (!e)
        return;
    s->frames = atomic_load(&e->frames);
    s->bytes_out = atomic_load(&e->bytes_out);
    s->errors = atomic_load(&e->errors);
    s->bitrate_bps = atomic_load(&e->cur_bps);
}

int cc_opusenc_encode(cc_opusenc *e, const int16_t *pcm, uint8_t *out,
                      size_t cap, size_t *out_len)
{
    if (!e || !pcm || !out || !out_len || cap < 3)
        return CC_EINVAL;
    *out_len = 0;
    int bps = atomic_exchange(&e->pending_bps, 0);
    if (bps > 0 && bps != e->bitrate_bps) {
        if (opus_encoder_ctl(e->enc, OPUS_SET_BITRATE(bps)) == OPUS_OK) {
            e->bitrate_bps = bps;
            atomic_store(&e->cur_bps, bps);
        } else {
            atomic_fetch_add(&e->errors, 1);
        }
    }
    opus_int32 max = cap > CC_OPUS_MAX_PACKET ? CC_OPUS_MAX_PACKET
                                              : (opus_int32)cap;
    opus_int32 n = opus_encode(e->enc, pcm, CC_OPUS_FRAME_SAMPLES, out, max);
    if (n < 0) {
        CC_LOG_RL(CC_LOG_WARN, MOD, "encode: %s", opus_strerror(n));
        atomic_fetch_add(&e->errors, 1);
        return n == OPUS_BUFFER_TOO_SMALL ? CC_ENOSPC : CC_EIO;
    }
    *out_len = (size_t)n;
    atomic_fetch_add(&e->frames, 1);
    atomic_fetch_add(&e->bytes_out, (uint64_t)n);
    return 0;
}
