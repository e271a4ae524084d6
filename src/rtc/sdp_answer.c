/* classcast: the SDP answer to a parsed offer (sdp.c): which m-lines to
 * accept and how (RFC 8829 JSEP rules, RFC 8843 BUNDLE, RFC 8853
 * simulcast), and the answer text written with GStreamer's GstSDPMessage. */
#include "classcast/sdp.h"

#include <gst/sdp/sdp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"
#include "classcast/rand.h"

#include "sdp_priv.h"

/* Visible ASCII without spaces: cname (RFC 7022 cnames are opaque). */
static int is_visible(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

static const cc_sdp_codec *codec_by_pt(const cc_sdp_media *m, int pt)
{
    for (int i = 0; i < m->n_codecs && i < CC_SDP_MAX_CODECS; i++)
        if (m->codecs[i].pt == pt)
            return &m->codecs[i];
    return NULL;
}

/* ------------------------------------------------------------------ */
/* choosing                                                             */
/* ------------------------------------------------------------------ */

static int in_bundle(const cc_sdp_offer *o, const char *mid)
{
    for (int i = 0; i < o->n_bundle && i < CC_SDP_MAX_MEDIA; i++)
        if (!strcmp(o->bundle[i], mid))
            return 1;
    return 0;
}

int cc_sdp_media_rejected(const cc_sdp_offer *o, int i)
{
    if (!o || i < 0 || i >= o->n_media || i >= CC_SDP_MAX_MEDIA)
        return 1;
    const cc_sdp_media *m = &o->media[i];
    if (m->port != 0)
        return 0;
    /* RFC 8843 section 7.3: port 0 without bundle-only disables the
     * section (7.5.3); bundle-only asks for it inside the BUNDLE group
     * only (section 6), so outside one there is nothing to accept. */
    return !(m->bundle_only && m->mid[0] && in_bundle(o, m->mid));
}

/* Index of the m-line whose mid is `mid`, or -1. */
static int media_by_mid(const cc_sdp_offer *o, const char *mid)
{
    for (int i = 0; i < o->n_media && i < CC_SDP_MAX_MEDIA; i++)
        if (o->media[i].mid[0] && !strcmp(o->media[i].mid, mid))
            return i;
    return -1;
}

int cc_sdp_bundle_tag(const cc_sdp_offer *offer,
                      const cc_sdp_choice choices[CC_SDP_MAX_MEDIA])
{
    if (!offer || !choices)
        return -1;
    /* RFC 8843 section 7.3.1: the suggested offerer tagged m-section (the
     * first mid of the group) if the answerer keeps it and it has a port;
     * else the next mid of the list under the same test. */
    for (int k = 0; k < offer->n_bundle && k < CC_SDP_MAX_MEDIA; k++) {
        int i = media_by_mid(offer, offer->bundle[k]);
        if (i >= 0 && choices[i].accepted && offer->media[i].port != 0)
            return i;
    }
    if (offer->n_bundle > 0)
        return -1;
    for (int i = 0; i < offer->n_media && i < CC_SDP_MAX_MEDIA; i++)
        if (choices[i].accepted && offer->media[i].port != 0)
            return i;
    return -1;
}

int cc_sdp_settle_bundle(const cc_sdp_offer *offer,
                         cc_sdp_choice choices[CC_SDP_MAX_MEDIA])
{
    int tag = cc_sdp_bundle_tag(offer, choices);
    if (tag >= 0 || !offer || !choices)
        return tag;
    /* No tagged m-section: the answer may not make the BUNDLE group
     * (RFC 8843 section 7.3.1), and a bundle-only m-line may not be moved
     * out of it (section 7.3.2): reject those (section 7.3.3). */
    for (int i = 0; i < offer->n_media && i < CC_SDP_MAX_MEDIA; i++)
        if (offer->media[i].bundle_only && choices[i].accepted) {
            memset(&choices[i], 0, sizeof choices[i]);
            choices[i].pt = -1;
            choices[i].rtx_pt = -1;
            choices[i].direction = CC_DIR_INACTIVE;
        }
    return -1;
}

static int rid_index(const cc_sdp_media *m, const char *id)
{
    for (int i = 0; i < m->n_rids && i < CC_SDP_MAX_RIDS; i++)
        if (!strcmp(m->rids[i], id))
            return i;
    return -1;
}

/* Simulcast the offerer sends on an accepted m-line (RFC 8853 section
 * 5.3.2, RFC 8851 section 6.2): a stream is kept if its first alternative
 * is a rid-id with an a=rid line of direction send (section 5.1: a rid-id
 * of the send list names a send rid), once. A paused one ("~") is kept
 * too, flagged: it is part of the envelope (Chromium offers an encoding
 * with active false that way, and one left out of the answer is gone for
 * the rest of the session), and the layer numbers stay as offered. The
 * offerer must
 * tag each stream with the RtpStreamId header extension (RFC 8851 section
 * 4), so without that extmap there is nothing to tell the streams apart
 * by. Fewer than two streams left: no simulcast.
 * An inactive m-line is answered with its simulcast too: a sender turned
 * off (the page's camera button) is offered inactive with its
 * a=simulcast:send still there, and an answer without it would end the
 * simulcast for good (Chromium drops all encodings but the first, then
 * refuses its own next offer for lack of the rid extension: measured). */
static void choose_simulcast(const cc_sdp_media *m, cc_sdp_choice *c)
{
    if (m->kind != CC_MEDIA_VIDEO || m->direction == CC_DIR_RECVONLY)
        return;
    int ext_rid = cc_sdp_find_extmap(m, CC_EXT_URI_RID);
    if (!ext_rid)
        return;
    int n = 0;
    for (int i = 0; i < m->n_sim && i < CC_SDP_MAX_SIM; i++) {
        int r = rid_index(m, m->sim[i]);
        if (r < 0 || m->rid_recv[r])
            continue;
        int dup = 0;
        for (int j = 0; j < n; j++)
            dup |= !strcmp(c->sim[j], m->sim[i]);
        if (dup)
            continue;
        memcpy(c->sim[n], m->sim[i], sizeof c->sim[0]);
        c->sim_paused[n++] = m->sim_paused[i];
    }
    if (n < 2) {
        memset(c->sim, 0, sizeof c->sim);
        memset(c->sim_paused, 0, sizeof c->sim_paused);
        return;
    }
    c->n_sim = n;
    c->ext_rid = ext_rid;
    c->ext_rrid = cc_sdp_find_extmap(m, CC_EXT_URI_RRID);
}

int cc_sdp_choose(const cc_sdp_offer *offer, const cc_sdp_answer_params *p,
                  cc_sdp_choice choices[CC_SDP_MAX_MEDIA])
{
    if (!offer || !p || !choices || offer->n_media < 0 ||
        offer->n_media > CC_SDP_MAX_MEDIA)
        return CC_EINVAL;
    int n_ok = 0;
    for (int i = 0; i < CC_SDP_MAX_MEDIA; i++) {
        cc_sdp_choice *c = &choices[i];
        memset(c, 0, sizeof *c);
        c->pt = -1;
        c->rtx_pt = -1;
        c->direction = CC_DIR_INACTIVE;
        if (i >= offer->n_media)
            continue;
        const cc_sdp_media *m = &offer->media[i];
        /* Reasons to answer port 0 (RFC 8829 5.3.1, RFC 3264 6):
         * - the offerer itself rejected it (port 0 without bundle-only), or
         *   made it bundle-only outside the BUNDLE group
         *   (cc_sdp_media_rejected);
         * - not audio/video over UDP/TLS/RTP/SAVPF (no data channels);
         * - no mid to BUNDLE it by, or not in the offer's BUNDLE group
         *   (RFC 8843 7.3: the answer may only bundle offered mids); without
         *   any offered BUNDLE group only one m-line fits our one transport;
         * - no rtcp-mux: a bundled line must mux (RFC 8843 9.2); a
         *   bundle-only line may leave it to the tagged one (RFC 8843
         *   7.1.3: rtcp-mux is an IDENTICAL attribute), which needs it;
         * - a=setup:passive: classcast is always the DTLS server
         *   (RFC 5763 5, RFC 4145 4);
         * - neither VP8 (video) nor opus (audio) offered.
         * A bundle-only line is accepted into the group (RFC 8843 7.3)
         * only if some line with a port is accepted to carry the
         * transport (cc_sdp_settle_bundle below). */
        if (cc_sdp_media_rejected(offer, i) ||
            strcmp(m->proto, "UDP/TLS/RTP/SAVPF") != 0 ||
            (m->kind != CC_MEDIA_AUDIO && m->kind != CC_MEDIA_VIDEO) ||
            !m->mid[0] || (!m->rtcp_mux && !m->bundle_only) ||
            !strcmp(m->setup, "passive"))
            continue;
        if (offer->n_bundle ? !in_bundle(offer, m->mid) : n_ok > 0)
            continue;
        const cc_sdp_codec *codec = cc_sdp_find_codec(
            m, m->kind == CC_MEDIA_VIDEO ? "VP8" : "opus");
        if (!codec)
            continue;
        c->accepted = 1;
        c->pt = codec->pt;
        if (m->kind == CC_MEDIA_VIDEO && p->want_rtx) {
            const cc_sdp_codec *rtx = cc_sdp_find_rtx(m, codec->pt);
            if (rtx)
                c->rtx_pt = rtx->pt;
        }
        unsigned fb_ok = CC_FB_NACK | CC_FB_PLI | CC_FB_FIR;
        if (p->enable_twcc)
            fb_ok |= CC_FB_TWCC;
        if (p->enable_remb)
            fb_ok |= CC_FB_REMB;
        c->fb = codec->fb & fb_ok;
        /* RFC 8285 6: the answer uses the offer's ids for what it keeps. */
        c->ext_mid = cc_sdp_find_extmap(m, CC_EXT_URI_MID);
        c->ext_abs_send_time = cc_sdp_find_extmap(m, CC_EXT_URI_ABS_SEND_TIME);
        c->ext_twcc = p->enable_twcc ? cc_sdp_find_extmap(m, CC_EXT_URI_TWCC)
                                     : 0;
        c->ext_audio_level =
            m->kind == CC_MEDIA_AUDIO
                ? cc_sdp_find_extmap(m, CC_EXT_URI_AUDIO_LEVEL)
                : 0;
        /* RFC 8829 5.3.1 / RFC 3264 6.1: direction mirrors the offer. */
        switch (m->direction) {
        case CC_DIR_SENDRECV:
            c->direction = p->send[i] ? CC_DIR_SENDRECV : CC_DIR_RECVONLY;
            break;
        case CC_DIR_RECVONLY:
            c->direction = p->send[i] ? CC_DIR_SENDONLY : CC_DIR_INACTIVE;
            break;
        case CC_DIR_SENDONLY:
            c->direction = CC_DIR_RECVONLY;
            break;
        default:
            c->direction = CC_DIR_INACTIVE;
            break;
        }
        if (p->accept_simulcast)
            choose_simulcast(m, c);
        n_ok++;
    }
    if (n_ok && cc_sdp_settle_bundle(offer, choices) < 0)
        n_ok = 0; /* only bundle-only lines were left: none can stay */
    return n_ok ? 0 : CC_EUNSUPPORTED;
}

/* ------------------------------------------------------------------ */
/* writing the answer                                                   */
/* ------------------------------------------------------------------ */

static void add_attr(GstSDPMedia *gm, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_attr(GstSDPMedia *gm, const char *key, const char *fmt, ...)
{
    if (!fmt) {
        gst_sdp_media_add_attribute(gm, key, NULL);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *v = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    gst_sdp_media_add_attribute(gm, key, v);
    g_free(v);
}

static const char *dir_name(cc_direction d)
{
    switch (d) {
    case CC_DIR_SENDRECV: return "sendrecv";
    case CC_DIR_SENDONLY: return "sendonly";
    case CC_DIR_RECVONLY: return "recvonly";
    default: return "inactive";
    }
}

static void add_rtpmap(GstSDPMedia *gm, const cc_sdp_codec *c)
{
    if (c->channels > 0)
        add_attr(gm, "rtpmap", "%d %s/%d/%d", c->pt, c->name, c->clock_rate,
                 c->channels);
    else
        add_attr(gm, "rtpmap", "%d %s/%d", c->pt, c->name, c->clock_rate);
}

static int valid_params(const cc_sdp_answer_params *p)
{
    size_t n;
    if (!p->ice_ufrag || !p->ice_pwd || !p->fingerprint)
        return 0;
    n = strlen(p->ice_ufrag);
    if (n < 4 || n > 255 || !sdp_is_ice_string(p->ice_ufrag, n))
        return 0;
    n = strlen(p->ice_pwd);
    if (n < 22 || n > 255 || !sdp_is_ice_string(p->ice_pwd, n))
        return 0;
    n = strlen(p->fingerprint);
    if (n > 159 || !sdp_is_fingerprint(p->fingerprint, n))
        return 0;
    if (p->n_candidates < 0 || p->n_candidates > CC_SDP_MAX_CANDIDATES)
        return 0;
    for (int i = 0; i < p->n_candidates; i++) {
        int fam = cc_addr_family(&p->candidates[i]);
        if (fam != AF_INET && fam != AF_INET6)
            return 0;
    }
    return 1;
}

static int valid_id(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    return n > 0 && n < cap && sdp_is_token(s, n);
}

/* One accepted m-line: RFC 8829 5.3.1 (initial answer) with the transport
 * attributes repeated in every bundled section, which Chromium accepts and
 * GStreamer 1.22's webrtcbin requires (it refuses an answer with a section
 * that lacks a fingerprint, ICE credentials or a=setup).
 *
 * A line the offer made bundle-only (RFC 8843 section 6) and that is
 * accepted into the BUNDLE group is written like any other bundled line:
 * port 9, no a=bundle-only, as RFC 8829 section 5.3.1 has an answerer do
 * ("no m= sections in the answer should have an a=bundle-only line").
 * RFC 8843 section 7.3 would give it port 0 and a=bundle-only instead, but
 * webrtcbin 1.22 skips every port-0 section of an answer as rejected, so
 * its transceiver for that line is never set up and its media cannot be
 * routed (measured: it asserts and crashes on the first audio packet).
 * rtcp-rsize is an IDENTICAL attribute that a bundle-only offer leaves to
 * the tagged line (RFC 8843 section 7.1.3): `tagged` supplies it. */
static int write_accepted(GstSDPMedia *gm, const cc_sdp_media *m,
                          const cc_sdp_answer_params *p,
                          const cc_sdp_choice *c, int idx,
                          const cc_sdp_media *tagged)
{
    const cc_sdp_codec *codec = codec_by_pt(m, c->pt);
    const cc_sdp_codec *rtx = c->rtx_pt >= 0 ? codec_by_pt(m, c->rtx_pt) : NULL;
    char pt[8];
    if (!codec || (c->rtx_pt >= 0 && !rtx) || !m->mid[0])
        return CC_EINVAL;
    /* Simulcast as cc_sdp_choose makes it: rid-ids, and the offer's own
     * RtpStreamId extmap to carry them. */
    if (c->n_sim < 0 || c->n_sim > CC_SDP_MAX_SIM)
        return CC_EINVAL;
    if (c->n_sim > 0 && (c->ext_rid <= 0 ||
                         cc_sdp_find_extmap(m, CC_EXT_URI_RID) != c->ext_rid))
        return CC_EINVAL;
    for (int k = 0; k < c->n_sim; k++) {
        size_t n = strnlen(c->sim[k], CC_SDP_RID_LEN);
        if (n >= CC_SDP_RID_LEN || !sdp_is_rid(c->sim[k], n))
            return CC_EINVAL;
    }
    int sending = c->direction == CC_DIR_SENDRECV ||
                  c->direction == CC_DIR_SENDONLY;
    const cc_sdp_send_stream *st = &p->streams[idx];
    if (sending) {
        if (!valid_id(st->stream_id, sizeof st->stream_id) ||
            !valid_id(st->track_id, sizeof st->track_id))
            return CC_EINVAL;
        if (st->ssrc &&
            (!p->cname || !is_visible(p->cname, strlen(p->cname)) ||
             strlen(p->cname) >= 128))
            return CC_EINVAL;
    }

    gst_sdp_media_set_media(gm, m->kind_name);
    /* Port 9 / 0.0.0.0 (RFC 8829 5.2.1 "discard" defaults); the real
     * addresses are in the a=candidate lines (RFC 8839 5.1). */
    gst_sdp_media_set_port_info(gm, 9, 0);
    gst_sdp_media_set_proto(gm, "UDP/TLS/RTP/SAVPF");
    snprintf(pt, sizeof pt, "%d", codec->pt);
    gst_sdp_media_add_format(gm, pt);
    if (rtx) {
        snprintf(pt, sizeof pt, "%d", rtx->pt);
        gst_sdp_media_add_format(gm, pt);
    }
    gst_sdp_media_add_connection(gm, "IN", "IP4", "0.0.0.0", 0, 0);
    add_attr(gm, "rtcp", "9 IN IP4 0.0.0.0");
    /* RFC 8839 5.4 credentials; RFC 8122 5 fingerprint; RFC 5763 5 /
     * RFC 4145 4: the answerer to actpass is passive, i.e. DTLS server. */
    add_attr(gm, "ice-ufrag", "%s", p->ice_ufrag);
    add_attr(gm, "ice-pwd", "%s", p->ice_pwd);
    add_attr(gm, "fingerprint", "sha-256 %s", p->fingerprint);
    add_attr(gm, "setup", "passive");
    add_attr(gm, "mid", "%s", m->mid);
    /* RFC 8285 6: echo only what we implement, with the offer's ids, in the
     * offer's order. */
    for (int i = 0; i < m->n_extmaps && i < CC_SDP_MAX_EXTMAPS; i++) {
        int id = m->extmaps[i].id;
        if (id > 0 && (id == c->ext_mid || id == c->ext_abs_send_time ||
                       id == c->ext_twcc || id == c->ext_audio_level ||
                       (c->n_sim > 0 &&
                        (id == c->ext_rid || id == c->ext_rrid))))
            add_attr(gm, "extmap", "%d %s", id, m->extmaps[i].uri);
    }
    add_attr(gm, dir_name(c->direction), NULL);
    if (sending)
        add_attr(gm, "msid", "%s %s", st->stream_id, st->track_id);
    add_attr(gm, "rtcp-mux", NULL);
    if (m->rtcp_rsize || (m->bundle_only && tagged && tagged->rtcp_rsize))
        add_attr(gm, "rtcp-rsize", NULL); /* RFC 5506 5 */
    add_rtpmap(gm, codec);
    unsigned fb = c->fb & codec->fb;
    if (fb & CC_FB_REMB)
        add_attr(gm, "rtcp-fb", "%d goog-remb", codec->pt);
    if (fb & CC_FB_TWCC)
        add_attr(gm, "rtcp-fb", "%d transport-cc", codec->pt);
    if (fb & CC_FB_FIR)
        add_attr(gm, "rtcp-fb", "%d ccm fir", codec->pt);
    if (fb & CC_FB_NACK)
        add_attr(gm, "rtcp-fb", "%d nack", codec->pt);
    if (fb & CC_FB_PLI)
        add_attr(gm, "rtcp-fb", "%d nack pli", codec->pt);
    if (codec->fmtp[0])
        add_attr(gm, "fmtp", "%d %s", codec->pt, codec->fmtp);
    if (rtx) {
        add_rtpmap(gm, rtx);
        add_attr(gm, "fmtp", "%d apt=%d", rtx->pt, codec->pt); /* RFC 4588 8 */
    }
    /* RFC 8851 section 6.2 / RFC 8853 section 5.3.2: the streams taken, as
     * recv rids and a recv simulcast list in the offer's order, a paused
     * one still paused: Chromium takes the answer's "~" as the encoding's
     * active flag, so an answer without it would turn back on what the
     * page turned off (measured). */
    if (c->n_sim > 0) {
        GString *sl = g_string_new(NULL);
        for (int k = 0; k < c->n_sim; k++) {
            add_attr(gm, "rid", "%s recv", c->sim[k]);
            g_string_append_printf(sl, "%s%s%s", k ? ";" : "",
                                   c->sim_paused[k] ? "~" : "", c->sim[k]);
        }
        add_attr(gm, "simulcast", "recv %s", sl->str);
        g_string_free(sl, TRUE);
    }
    /* RFC 8830 2 / RFC 5576 4: signal every SSRC we send. */
    if (sending && st->ssrc) {
        uint32_t ss[2] = {st->ssrc, rtx && st->rtx_ssrc ? st->rtx_ssrc : 0};
        if (ss[1])
            add_attr(gm, "ssrc-group", "FID %u %u", ss[0], ss[1]);
        for (int k = 0; k < 2 && ss[k]; k++) {
            add_attr(gm, "ssrc", "%u cname:%s", ss[k], p->cname);
            add_attr(gm, "ssrc", "%u msid:%s %s", ss[k], st->stream_id,
                     st->track_id);
        }
    }
    /* RFC 8839 5.1 host candidates; priority per RFC 8445 5.1.2.1 with
     * type preference 126 and a local preference that falls with the
     * index, component 1. */
    for (int i = 0; i < p->n_candidates; i++) {
        char ip[64];
        uint32_t prio = (126u << 24) | ((uint32_t)(65535 - i) << 8) | 255u;
        cc_addr_ip_string(&p->candidates[i], ip, sizeof ip);
        add_attr(gm, "candidate", "%d 1 udp %u %s %u typ host generation 0",
                 i + 1, prio, ip, (unsigned)cc_addr_port(&p->candidates[i]));
    }
    if (p->n_candidates > 0)
        add_attr(gm, "end-of-candidates", NULL); /* RFC 8840 8.2 */
    return 0;
}

/* A rejected m-line: port 0, the offer's proto and first format, a=mid kept
 * so the offerer can match it (RFC 8829 5.3.1, RFC 3264 6). */
static void write_rejected(GstSDPMedia *gm, const cc_sdp_media *m)
{
    char pt[8];
    gst_sdp_media_set_media(gm, m->kind_name[0] ? m->kind_name : "audio");
    gst_sdp_media_set_port_info(gm, 0, 0);
    gst_sdp_media_set_proto(gm, m->proto[0] ? m->proto : "UDP/TLS/RTP/SAVPF");
    if (m->n_codecs > 0) {
        snprintf(pt, sizeof pt, "%d", m->codecs[0].pt);
        gst_sdp_media_add_format(gm, pt);
    } else if (strstr(m->proto, "SCTP")) {
        gst_sdp_media_add_format(gm, "webrtc-datachannel");
    } else {
        gst_sdp_media_add_format(gm, "0");
    }
    gst_sdp_media_add_connection(gm, "IN", "IP4", "0.0.0.0", 0, 0);
    if (m->mid[0])
        add_attr(gm, "mid", "%s", m->mid);
    add_attr(gm, "inactive", NULL);
}

int cc_sdp_write_answer(const cc_sdp_offer *offer,
                        const cc_sdp_answer_params *p,
                        const cc_sdp_choice choices[CC_SDP_MAX_MEDIA],
                        char **out)
{
    if (out)
        *out = NULL;
    if (!offer || !p || !choices || !out || offer->n_media <= 0 ||
        offer->n_media > CC_SDP_MAX_MEDIA || !valid_params(p))
        return CC_EINVAL;

    GstSDPMessage *msg = NULL;
    int rc = 0;
    if (gst_sdp_message_new(&msg) != GST_SDP_OK)
        return CC_ENOMEM;

    /* RFC 8829 5.2.1: sess-id is a 64-bit number with the top bit zero. */
    uint64_t sid = 0;
    if (cc_rand_bytes(&sid, sizeof sid) != 0)
        sid = (uint64_t)g_get_real_time() * 2654435761u;
    sid &= 0x7fffffffffffffffull;
    if (sid == 0)
        sid = 1;
    char sidbuf[24];
    snprintf(sidbuf, sizeof sidbuf, "%llu", (unsigned long long)sid);
    gst_sdp_message_set_version(msg, "0");
    gst_sdp_message_set_origin(msg, "-", sidbuf, "2", "IN", "IP4",
                               "127.0.0.1");
    gst_sdp_message_set_session_name(msg, "-");
    gst_sdp_message_add_time(msg, "0", "0", NULL);
    /* RFC 8445 2.5 / RFC 8839 5.3: we are a lite agent. */
    gst_sdp_message_add_attribute(msg, "ice-lite", NULL);

    /* RFC 8843 7.3: BUNDLE group of the accepted mids, the answerer tagged
     * m-section first (its BUNDLE-tag, section 7.3.1), the rest in offer
     * order. A bundle-only line accepted without a tagged section (the
     * caller did not settle, cc_sdp_settle_bundle) is written rejected. */
    int tag = cc_sdp_bundle_tag(offer, choices);
    int accepted[CC_SDP_MAX_MEDIA];
    for (int i = 0; i < offer->n_media; i++)
        accepted[i] = choices[i].accepted &&
                      (!offer->media[i].bundle_only || tag >= 0);
    GString *group = g_string_new("BUNDLE");
    int n_acc = 0;
    if (tag >= 0 && offer->media[tag].mid[0]) {
        g_string_append_printf(group, " %s", offer->media[tag].mid);
        n_acc++;
    }
    for (int i = 0; i < offer->n_media; i++)
        if (i != tag && accepted[i] && offer->media[i].mid[0]) {
            g_string_append_printf(group, " %s", offer->media[i].mid);
            n_acc++;
        }
    if (n_acc > 0 && offer->n_bundle > 0)
        gst_sdp_message_add_attribute(msg, "group", group->str);
    g_string_free(group, TRUE);
    /* RFC 8830 appendix: Chromium still expects the WMS semantic line. */
    gst_sdp_message_add_attribute(msg, "msid-semantic", " WMS *");

    for (int i = 0; i < offer->n_media; i++) {
        GstSDPMedia gm;
        memset(&gm, 0, sizeof gm);
        gst_sdp_media_init(&gm);
        if (accepted[i]) {
            rc = write_accepted(&gm, &offer->media[i], p, &choices[i], i,
                                tag >= 0 ? &offer->media[tag] : NULL);
            if (rc) {
                gst_sdp_media_uninit(&gm);
                goto out;
            }
        } else {
            write_rejected(&gm, &offer->media[i]);
        }
        gst_sdp_message_add_media(msg, &gm); /* takes the contents */
    }

    gchar *text = gst_sdp_message_as_text(msg);
    if (!text) {
        rc = CC_ENOMEM;
        goto out;
    }
    *out = strdup(text);
    g_free(text);
    if (!*out)
        rc = CC_ENOMEM;
out:
    gst_sdp_message_free(msg);
    return rc;
}
