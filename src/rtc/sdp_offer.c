/* Client-side SDP: offers written with GstSDPMessage, answers read with
 * cc_sdp_parse (src/rtc/sdp.c) plus a small a=candidate reader. */
#include "classcast/sdp_offer.h"

#include <gst/sdp/sdp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classcast/err.h"
#include "classcast/rand.h"
#include "classcast/sdp.h"

static void add_attr(GstSDPMedia *m, const char *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_attr(GstSDPMedia *m, const char *k, const char *fmt, ...)
{
    char v[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    gst_sdp_media_add_attribute(m, k, v);
}

static void write_media(GstSDPMessage *msg, const cc_sdp_offer_params *p,
                        int video, const char *mid)
{
    GstSDPMedia gm;
    memset(&gm, 0, sizeof gm);
    gst_sdp_media_init(&gm);
    int pt = video ? CC_OFFER_PT_VP8 : CC_OFFER_PT_OPUS;
    char ptbuf[8];
    snprintf(ptbuf, sizeof ptbuf, "%d", pt);
    gst_sdp_media_set_media(&gm, video ? "video" : "audio");
    /* RFC 8829 5.2.1: port 9 and 0.0.0.0 until candidates say otherwise. */
    gst_sdp_media_set_port_info(&gm, 9, 1);
    gst_sdp_media_set_proto(&gm, "UDP/TLS/RTP/SAVPF");
    gst_sdp_media_add_format(&gm, ptbuf);
    gst_sdp_media_add_connection(&gm, "IN", "IP4", "0.0.0.0", 0, 0);
    gst_sdp_media_add_attribute(&gm, "mid", mid);
    gst_sdp_media_add_attribute(&gm, "ice-ufrag", p->ice_ufrag);
    gst_sdp_media_add_attribute(&gm, "ice-pwd", p->ice_pwd);
    add_attr(&gm, "fingerprint", "sha-256 %s", p->fingerprint);
    /* RFC 8842 section 5.2: an offer says actpass; a server answering
     * passive makes us the DTLS client. */
    gst_sdp_media_add_attribute(&gm, "setup", "actpass");
    gst_sdp_media_add_attribute(&gm, p->send ? "sendonly" : "recvonly", NULL);
    gst_sdp_media_add_attribute(&gm, "rtcp-mux", NULL);
    gst_sdp_media_add_attribute(&gm, "rtcp-rsize", NULL);
    add_attr(&gm, "extmap", "%d %s", CC_OFFER_EXT_MID, CC_EXT_URI_MID);
    add_attr(&gm, "extmap", "%d %s", CC_OFFER_EXT_ABS_SEND_TIME,
             CC_EXT_URI_ABS_SEND_TIME);
    /* draft-holmer-rmcat-transport-wide-cc-extensions-01 section 4: the
     * extension is negotiated with an extmap (one id for the whole BUNDLE
     * transport, RFC 8843 section 9.1, so the same on every line) and the
     * feedback with a=rtcp-fb:PT transport-cc. */
    if (p->transport_cc)
        add_attr(&gm, "extmap", "%d %s", CC_OFFER_EXT_TWCC, CC_EXT_URI_TWCC);
    /* RFC 8852 section 3 / RFC 8851 section 4: each simulcast stream is
     * tagged with its rid-id in the RtpStreamId extension. */
    int sim = video && p->send && p->n_rids >= 2;
    if (sim)
        add_attr(&gm, "extmap", "%d %s", CC_OFFER_EXT_RID, CC_EXT_URI_RID);
    if (video) {
        add_attr(&gm, "rtpmap", "%d VP8/90000", pt);
        if (p->transport_cc)
            add_attr(&gm, "rtcp-fb", "%d transport-cc", pt);
        add_attr(&gm, "rtcp-fb", "%d nack", pt);
        add_attr(&gm, "rtcp-fb", "%d nack pli", pt);
        add_attr(&gm, "rtcp-fb", "%d ccm fir", pt);
    } else {
        add_attr(&gm, "rtpmap", "%d opus/48000/2", pt);
        if (p->transport_cc)
            add_attr(&gm, "rtcp-fb", "%d transport-cc", pt);
        add_attr(&gm, "fmtp", "%d minptime=10;useinbandfec=1", pt);
    }
    if (p->send) {
        /* RFC 8830: every sent stream is signalled (docs/WEBRTC.md, 4). */
        const char *stream = p->stream_id ? p->stream_id : "classcast";
        const char *track = video ? "video" : "audio";
        uint32_t ssrc = video ? p->video_ssrc : p->audio_ssrc;
        add_attr(&gm, "msid", "%s %s", stream, track);
        if (sim) {
            /* RFC 8851 section 10: a=rid:<id> send per stream; RFC 8853
             * section 5.1: one a=simulcast:send list of them, each its own
             * stream (";"), lowest first as Chromium writes it. */
            char list[CC_OFFER_MAX_RIDS * 17] = "";
            for (int k = 0; k < p->n_rids && k < CC_OFFER_MAX_RIDS; k++) {
                add_attr(&gm, "rid", "%s send", p->rids[k]);
                if (k)
                    strcat(list, ";");
                strncat(list, p->rids[k], 16);
            }
            add_attr(&gm, "simulcast", "send %s", list);
        } else {
            add_attr(&gm, "ssrc", "%u cname:%s", ssrc, p->cname ? p->cname : "classcast");
            add_attr(&gm, "ssrc", "%u msid:%s %s", ssrc, stream, track);
        }
    }
    if (p->candidate && p->candidate->len) {
        char ip[64];
        cc_addr_ip_string(p->candidate, ip, sizeof ip);
        add_attr(&gm, "candidate", "1 1 udp 2130706431 %s %u typ host", ip,
                 cc_addr_port(p->candidate));
        gst_sdp_media_add_attribute(&gm, "end-of-candidates", NULL);
    }
    gst_sdp_message_add_media(msg, &gm); /* takes the contents */
}

/* RFC 8851 section 10: rid-id = 1*(alpha-numeric / "-" / "_"); ours are
 * at most 15 characters (CC_SDP_RID_LEN), distinct. */
static int rids_ok(const cc_sdp_offer_params *p)
{
    if (p->n_rids < 0 || p->n_rids > CC_OFFER_MAX_RIDS)
        return 0;
    for (int k = 0; p->n_rids >= 2 && k < p->n_rids; k++) {
        const char *r = p->rids[k];
        size_t n = r ? strlen(r) : 0;
        if (n == 0 || n > 15)
            return 0;
        for (size_t i = 0; i < n; i++)
            if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= 'A' && r[i] <= 'Z') ||
                  (r[i] >= '0' && r[i] <= '9') || r[i] == '-' || r[i] == '_'))
                return 0;
        for (int j = 0; j < k; j++)
            if (!strcmp(p->rids[j], r))
                return 0;
    }
    return 1;
}

int cc_sdp_offer_write(const cc_sdp_offer_params *p, char **out)
{
    *out = NULL;
    if (!p || !p->ice_ufrag || !p->ice_pwd || !p->fingerprint ||
        (!p->video && !p->audio) || !rids_ok(p))
        return CC_EINVAL;
    GstSDPMessage *msg = NULL;
    if (gst_sdp_message_new(&msg) != GST_SDP_OK)
        return CC_ENOMEM;
    uint64_t sid = 0;
    cc_rand_bytes(&sid, sizeof sid);
    sid &= 0x7fffffffffffffffull; /* RFC 8829 5.2.1: top bit zero */
    char sidbuf[24];
    snprintf(sidbuf, sizeof sidbuf, "%llu", (unsigned long long)(sid ? sid : 1));
    gst_sdp_message_set_version(msg, "0");
    gst_sdp_message_set_origin(msg, "-", sidbuf, "2", "IN", "IP4", "127.0.0.1");
    gst_sdp_message_set_session_name(msg, "-");
    gst_sdp_message_add_time(msg, "0", "0", NULL);
    char group[32];
    snprintf(group, sizeof group, "BUNDLE%s%s", p->video ? " 0" : "",
             p->audio ? (p->video ? " 1" : " 0") : "");
    gst_sdp_message_add_attribute(msg, "group", group);
    gst_sdp_message_add_attribute(msg, "msid-semantic", " WMS *");
    if (p->video)
        write_media(msg, p, 1, "0");
    if (p->audio)
        write_media(msg, p, 0, p->video ? "1" : "0");
    gchar *text = gst_sdp_message_as_text(msg);
    int rc = CC_ENOMEM;
    if (text) {
        *out = strdup(text);
        g_free(text);
        rc = *out ? 0 : CC_ENOMEM;
    }
    gst_sdp_message_free(msg);
    return rc;
}

/* RFC 8839 section 5.1: candidate-attribute = "candidate" ":" foundation SP
 * component-id SP transport SP priority SP connection-address SP port SP
 * "typ" SP cand-type ... */
static int parse_candidate(const char *line, size_t len, cc_addr *out,
                           int *is_host)
{
    char buf[512];
    if (len >= sizeof buf)
        return CC_EINVAL;
    memcpy(buf, line, len);
    buf[len] = 0;
    char found[64], transport[16], ip[64], typ[8], type[16];
    unsigned comp, port;
    unsigned long prio;
    if (sscanf(buf, "%63s %u %15s %lu %63s %u %7s %15s", found, &comp,
               transport, &prio, ip, &port, typ, type) != 8)
        return CC_EINVAL;
    if (comp != 1 || strcasecmp(transport, "udp") != 0 ||
        strcmp(typ, "typ") != 0 || port == 0 || port > 65535)
        return CC_EINVAL;
    if (cc_addr_from_string(out, ip, (uint16_t)port) != 0)
        return CC_EINVAL; /* mDNS names and the like */
    *is_host = strcmp(type, "host") == 0;
    return 0;
}

int cc_sdp_find_candidate(const char *text, size_t len, cc_addr *out)
{
    const char *p = text, *end = text + len;
    int have = 0;
    memset(out, 0, sizeof *out);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t ll = (size_t)(le - p);
        if (ll && p[ll - 1] == '\r')
            ll--;
        if (ll > 12 && memcmp(p, "a=candidate:", 12) == 0) {
            cc_addr a;
            int host = 0;
            if (parse_candidate(p + 12, ll - 12, &a, &host) == 0) {
                if (host) {
                    *out = a;
                    return 0;
                }
                if (!have) {
                    *out = a;
                    have = 1;
                }
            }
        }
        p = nl ? nl + 1 : end;
    }
    return have ? 0 : CC_ENOTFOUND;
}

static void read_media(const cc_sdp_offer *o, int i, cc_sdp_answer_media *am,
                       const char *codec)
{
    const cc_sdp_media *m = &o->media[i];
    memset(am, 0, sizeof *am);
    am->pt = -1;
    if (cc_sdp_media_rejected(o, i))
        return;
    const cc_sdp_codec *c = cc_sdp_find_codec(m, codec);
    if (!c)
        return;
    am->present = 1;
    snprintf(am->mid, sizeof am->mid, "%s", m->mid);
    am->pt = c->pt;
    am->clock_rate = c->clock_rate;
    am->fb = c->fb;
    am->ssrc = m->fid_primary ? m->fid_primary : (m->n_ssrcs ? m->ssrcs[0] : 0);
    am->ext_mid = cc_sdp_find_extmap(m, CC_EXT_URI_MID);
    am->ext_abs_send_time = cc_sdp_find_extmap(m, CC_EXT_URI_ABS_SEND_TIME);
    am->ext_twcc = cc_sdp_find_extmap(m, CC_EXT_URI_TWCC);
    am->direction = (int)m->direction;
    /* RFC 8853 section 5.3.2: the answerer's recv list names the streams
     * it takes (a "~" one it wants paused). */
    am->ext_rid = cc_sdp_find_extmap(m, CC_EXT_URI_RID);
    for (int k = 0; k < m->n_sim_recv && k < CC_SDP_MAX_SIM && k < CC_OFFER_MAX_RIDS; k++) {
        snprintf(am->sim[k], sizeof am->sim[k], "%s", m->sim_recv[k]);
        am->sim_paused[k] = m->sim_recv_paused[k];
        am->n_sim = k + 1;
    }
}

static int read_remote(const char *text, size_t len, cc_sdp_answer_info *info,
                       int is_offer)
{
    memset(info, 0, sizeof *info);
    info->video.pt = info->audio.pt = -1;
    cc_sdp_offer *o = calloc(1, sizeof *o);
    if (!o)
        return CC_ENOMEM;
    int rc = cc_sdp_parse(text, len, o);
    if (rc != 0) {
        snprintf(info->error, sizeof info->error, "bad SDP answer: %.140s", o->error);
        free(o);
        return CC_EINVAL;
    }
    info->ice_lite = o->ice_lite;
    /* A port-0 line is rejected unless it is bundle-only inside the BUNDLE
     * group (RFC 8843 section 7.3: an answerer may write its bundled lines
     * that way); such a line has no transport of its own. */
    const cc_sdp_media *first = NULL;
    for (int i = 0; i < o->n_media; i++) {
        const cc_sdp_media *m = &o->media[i];
        if (cc_sdp_media_rejected(o, i))
            continue;
        if (!first && m->port != 0)
            first = m;
        if (m->kind == CC_MEDIA_VIDEO && !info->video.present)
            read_media(o, i, &info->video, "VP8");
        else if (m->kind == CC_MEDIA_AUDIO && !info->audio.present)
            read_media(o, i, &info->audio, "opus");
    }
    rc = CC_EINVAL;
    if (!first) {
        snprintf(info->error, sizeof info->error, "the answer rejected every m-line");
    } else if (!info->video.present && !info->audio.present) {
        snprintf(info->error, sizeof info->error, "the answer has neither VP8 nor Opus");
    } else if (cc_sdp_find_candidate(text, len, &info->candidate) != 0) {
        snprintf(info->error, sizeof info->error, "the answer has no usable UDP candidate");
    } else {
        /* RFC 8843 section 7.1.3: the tagged m-line (the first with a
         * port) carries the transport's credentials and fingerprint. */
        snprintf(info->ice_ufrag, sizeof info->ice_ufrag, "%s", first->ice_ufrag);
        snprintf(info->ice_pwd, sizeof info->ice_pwd, "%s", first->ice_pwd);
        snprintf(info->fp_alg, sizeof info->fp_alg, "%s", first->fp_alg);
        snprintf(info->fp, sizeof info->fp, "%s", first->fp);
        snprintf(info->setup, sizeof info->setup, "%s", first->setup);
        if (!is_offer && strcmp(info->setup, "actpass") == 0)
            snprintf(info->error, sizeof info->error,
                     "the answer says a=setup:actpass (RFC 8842: must be active or passive)");
        else
            rc = 0;
    }
    free(o);
    return rc;
}

int cc_sdp_answer_read(const char *text, size_t len, cc_sdp_answer_info *info)
{
    return read_remote(text, len, info, 0);
}

int cc_sdp_remote_offer_read(const char *text, size_t len, cc_sdp_answer_info *info)
{
    return read_remote(text, len, info, 1);
}

/* The codec we receive on offered line i, or NULL to reject it: VP8 or
 * opus on a line the offer does not reject itself (a bundle-only line in
 * the BUNDLE group counts, RFC 8843 section 7.3) with a mid to bundle by. */
static const cc_sdp_codec *client_codec(const cc_sdp_offer *o, int i)
{
    const cc_sdp_media *m = &o->media[i];
    if (cc_sdp_media_rejected(o, i) || !m->mid[0])
        return NULL;
    if (m->kind == CC_MEDIA_VIDEO)
        return cc_sdp_find_codec(m, "VP8");
    if (m->kind == CC_MEDIA_AUDIO)
        return cc_sdp_find_codec(m, "opus");
    return NULL;
}

/* c: the codec accepted (client_codec), NULL to reject the line. */
static void answer_media(GstSDPMessage *msg, const cc_sdp_media *m,
                         const cc_sdp_codec *c,
                         const cc_sdp_client_answer_params *p, int *accepted)
{
    GstSDPMedia gm;
    memset(&gm, 0, sizeof gm);
    gst_sdp_media_init(&gm);
    gst_sdp_media_set_media(&gm, m->kind_name[0] ? m->kind_name : "application");
    gst_sdp_media_set_proto(&gm, m->proto[0] ? m->proto : "UDP/TLS/RTP/SAVPF");
    gst_sdp_media_add_connection(&gm, "IN", "IP4", "0.0.0.0", 0, 0);
    char ptbuf[16];
    if (!c) {
        /* RFC 8829 section 5.3.1: rejected, port 0, the offer's mid. */
        gst_sdp_media_set_port_info(&gm, 0, 1);
        snprintf(ptbuf, sizeof ptbuf, "%d", m->n_codecs ? m->codecs[0].pt : 0);
        gst_sdp_media_add_format(&gm, m->kind == CC_MEDIA_APPLICATION ? "webrtc-datachannel" : ptbuf);
        if (m->mid[0])
            gst_sdp_media_add_attribute(&gm, "mid", m->mid);
        gst_sdp_message_add_media(msg, &gm);
        return;
    }
    *accepted = 1;
    snprintf(ptbuf, sizeof ptbuf, "%d", c->pt);
    gst_sdp_media_set_port_info(&gm, 9, 1);
    gst_sdp_media_add_format(&gm, ptbuf);
    gst_sdp_media_add_attribute(&gm, "mid", m->mid);
    gst_sdp_media_add_attribute(&gm, "ice-ufrag", p->ice_ufrag);
    gst_sdp_media_add_attribute(&gm, "ice-pwd", p->ice_pwd);
    add_attr(&gm, "fingerprint", "sha-256 %s", p->fingerprint);
    gst_sdp_media_add_attribute(&gm, "setup", p->setup ? p->setup : "active");
    gst_sdp_media_add_attribute(&gm, "recvonly", NULL);
    gst_sdp_media_add_attribute(&gm, "rtcp-mux", NULL);
    if (m->kind == CC_MEDIA_VIDEO) {
        add_attr(&gm, "rtpmap", "%d VP8/%d", c->pt, c->clock_rate ? c->clock_rate : 90000);
        if (c->fb & CC_FB_NACK)
            add_attr(&gm, "rtcp-fb", "%d nack", c->pt);
        if (c->fb & CC_FB_PLI)
            add_attr(&gm, "rtcp-fb", "%d nack pli", c->pt);
        if (c->fb & CC_FB_FIR)
            add_attr(&gm, "rtcp-fb", "%d ccm fir", c->pt);
    } else {
        add_attr(&gm, "rtpmap", "%d opus/%d/2", c->pt, c->clock_rate ? c->clock_rate : 48000);
        if (c->fmtp[0])
            add_attr(&gm, "fmtp", "%d %s", c->pt, c->fmtp);
    }
    if (p->candidate && p->candidate->len) {
        char ip[64];
        cc_addr_ip_string(p->candidate, ip, sizeof ip);
        add_attr(&gm, "candidate", "1 1 udp 2130706431 %s %u typ host", ip,
                 cc_addr_port(p->candidate));
        gst_sdp_media_add_attribute(&gm, "end-of-candidates", NULL);
    }
    gst_sdp_message_add_media(msg, &gm);
}

int cc_sdp_client_answer_write(const char *offer, size_t len,
                        const cc_sdp_client_answer_params *p, char **out)
{
    *out = NULL;
    if (!offer || !p || !p->ice_ufrag || !p->ice_pwd || !p->fingerprint)
        return CC_EINVAL;
    cc_sdp_offer *o = calloc(1, sizeof *o);
    if (!o)
        return CC_ENOMEM;
    if (cc_sdp_parse(offer, len, o) != 0) {
        free(o);
        return CC_EINVAL;
    }
    GstSDPMessage *msg = NULL;
    if (gst_sdp_message_new(&msg) != GST_SDP_OK) {
        free(o);
        return CC_ENOMEM;
    }
    uint64_t sid = 0;
    cc_rand_bytes(&sid, sizeof sid);
    sid &= 0x7fffffffffffffffull;
    char sidbuf[24];
    snprintf(sidbuf, sizeof sidbuf, "%llu", (unsigned long long)(sid ? sid : 1));
    gst_sdp_message_set_version(msg, "0");
    gst_sdp_message_set_origin(msg, "-", sidbuf, "2", "IN", "IP4", "127.0.0.1");
    gst_sdp_message_set_session_name(msg, "-");
    gst_sdp_message_add_time(msg, "0", "0", NULL);
    /* What is accepted, and the tagged line that carries the transport
     * (RFC 8843 section 7.3.1: the first mid of the offered group with a
     * port that we keep). Without one no BUNDLE group can be made, and
     * bundle-only lines, which may not leave it, are rejected too
     * (sections 7.3.2, 7.3.3). */
    const cc_sdp_codec *codec[CC_SDP_MAX_MEDIA] = {0};
    cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
    memset(ch, 0, sizeof ch);
    for (int i = 0; i < o->n_media; i++) {
        codec[i] = client_codec(o, i);
        ch[i].accepted = codec[i] != NULL;
    }
    int tag = cc_sdp_settle_bundle(o, ch);
    /* BUNDLE: the accepted mids, the tagged one first (its BUNDLE-tag). */
    char group[CC_SDP_MAX_MEDIA * 66 + 8] = "BUNDLE";
    int n_acc = 0;
    for (int k = -1; k < o->n_media; k++) {
        int i = k < 0 ? tag : k;
        if (i < 0 || (k >= 0 && i == tag) || !ch[i].accepted)
            continue;
        strcat(group, " ");
        strcat(group, o->media[i].mid);
        n_acc++;
    }
    if (n_acc)
        gst_sdp_message_add_attribute(msg, "group", group);
    gst_sdp_message_add_attribute(msg, "msid-semantic", " WMS");
    int accepted = 0;
    for (int i = 0; i < o->n_media; i++)
        answer_media(msg, &o->media[i], ch[i].accepted ? codec[i] : NULL, p,
                     &accepted);
    free(o);
    int rc = CC_EINVAL;
    if (accepted) {
        gchar *text = gst_sdp_message_as_text(msg);
        rc = CC_ENOMEM;
        if (text) {
            *out = strdup(text);
            g_free(text);
            rc = *out ? 0 : CC_ENOMEM;
        }
    }
    gst_sdp_message_free(msg);
    return rc;
}
