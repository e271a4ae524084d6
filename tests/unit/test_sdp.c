/* Tests for src/rtc/sdp.c and sdp_answer.c: Chromium 156 offers captured in tests/vectors,
 * answers written for them and parsed back, and offers that must fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_test.h"
#include "classcast/err.h"
#include "classcast/sdp.h"
#include "classcast/sdp_offer.h"

static cc_sdp_offer g_offer, g_answer; /* large: keep them off the stack */

static char *load(const char *name, size_t *len)
{
    char *t = cc_test_read_file(cc_test_vector(name), len);
    if (!t)
        fprintf(stderr, "cannot read %s\n", cc_test_vector(name));
    return t;
}

/* Copy of text with every occurrence of `from` replaced by `to`. */
static char *replace_all(const char *text, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    for (const char *p = text; (p = strstr(p, from)); p += fl)
        n++;
    char *out = malloc(strlen(text) + n * (tl > fl ? tl - fl : 0) + 1);
    char *o = out;
    const char *p = text, *q;
    while ((q = strstr(p, from))) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
        p = q + fl;
    }
    strcpy(o, p);
    return out;
}

/* Copy of text without the lines that start with prefix. */
static char *without_lines(const char *text, const char *prefix)
{
    char *out = malloc(strlen(text) + 1), *o = out;
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p + 1) : strlen(p);
        if (strncmp(p, prefix, strlen(prefix)) != 0) {
            memcpy(o, p, n);
            o += n;
        }
        p += n;
    }
    *o = 0;
    return out;
}

static int parse_str(const char *s, cc_sdp_offer *o)
{
    return cc_sdp_parse(s, strlen(s), o);
}

static const char *k_fp =
    "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:"
    "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99";

static void init_params(cc_sdp_answer_params *p)
{
    memset(p, 0, sizeof *p);
    p->ice_ufrag = "srvU";
    p->ice_pwd = "0123456789abcdefghij+/";
    p->fingerprint = k_fp;
    p->cname = "classcast";
    cc_addr_from_string(&p->candidates[0], "127.0.0.1", 40000);
    cc_addr_from_string(&p->candidates[1], "::1", 40000);
    p->n_candidates = 2;
    p->want_rtx = 1;
    p->enable_twcc = 1;
}

/* Every line ends in CRLF (RFC 8866 5). */
static int all_crlf(const char *t)
{
    for (const char *p = t; *p; p++)
        if (*p == '\n' && (p == t || p[-1] != '\r'))
            return 0;
    return t[0] && t[strlen(t) - 1] == '\n';
}

static const char *k_pub_fp =
    "EE:E5:DE:0F:2F:EA:C9:10:E3:28:33:FC:FA:D9:92:0B:43:0B:9D:9F:34:C2:A0:F8:"
    "71:67:52:C8:9C:10:84:65";

static void test_parse_publisher(void)
{
    size_t len;
    char *t = load("chromium-offer-publisher.sdp", &len);
    CC_CHECK(t != NULL);
    if (!t)
        return;
    cc_sdp_offer *o = &g_offer;
    CC_CHECK_EQ(cc_sdp_parse(t, len, o), 0);
    CC_CHECK_EQ(o->n_media, 2);
    CC_CHECK_EQ(o->n_bundle, 2);
    CC_CHECK(!strcmp(o->bundle[0], "0") && !strcmp(o->bundle[1], "1"));
    CC_CHECK_EQ(o->ice_lite, 0);
    CC_CHECK_EQ(o->trickle, 1);

    const cc_sdp_media *a = &o->media[0], *v = &o->media[1];
    CC_CHECK_EQ(a->kind, CC_MEDIA_AUDIO);
    CC_CHECK(!strcmp(a->kind_name, "audio"));
    CC_CHECK(!strcmp(a->mid, "0"));
    CC_CHECK_EQ(a->port, 55947);
    CC_CHECK(!strcmp(a->proto, "UDP/TLS/RTP/SAVPF"));
    CC_CHECK_EQ(a->direction, CC_DIR_SENDONLY);
    CC_CHECK_EQ(a->rtcp_mux, 1);
    CC_CHECK_EQ(a->rtcp_rsize, 1);
    CC_CHECK(!strcmp(a->ice_ufrag, "KiQ/"));
    CC_CHECK(!strcmp(a->ice_pwd, "+5MHrvVs/BoSaBG6T3FngqdK"));
    CC_CHECK(!strcmp(a->fp_alg, "sha-256"));
    CC_CHECK(!strcmp(a->fp, k_pub_fp));
    CC_CHECK(!strcmp(a->setup, "actpass"));
    CC_CHECK_EQ(a->n_codecs, 8);
    CC_CHECK_EQ(a->codecs[0].pt, 111);
    const cc_sdp_codec *opus = cc_sdp_find_codec(a, "OPUS");
    CC_CHECK(opus != NULL);
    if (opus) {
        CC_CHECK_EQ(opus->pt, 111);
        CC_CHECK(!strcmp(opus->name, "opus"));
        CC_CHECK_EQ(opus->clock_rate, 48000);
        CC_CHECK_EQ(opus->channels, 2);
        CC_CHECK(!strcmp(opus->fmtp, "minptime=10;useinbandfec=1"));
        CC_CHECK_EQ(opus->fb, CC_FB_TWCC);
        CC_CHECK_EQ(opus->apt, -1);
    }
    const cc_sdp_codec *pcmu = cc_sdp_find_codec(a, "PCMU");
    CC_CHECK(pcmu && pcmu->pt == 0 && pcmu->clock_rate == 8000 &&
             pcmu->channels == 0);
    CC_CHECK(cc_sdp_find_codec(a, "red") == NULL); /* skipped by design */
    CC_CHECK_EQ(cc_sdp_find_extmap(a, CC_EXT_URI_AUDIO_LEVEL), 1);
    CC_CHECK_EQ(cc_sdp_find_extmap(a, CC_EXT_URI_ABS_SEND_TIME), 2);
    CC_CHECK_EQ(cc_sdp_find_extmap(a, CC_EXT_URI_TWCC), 3);
    CC_CHECK_EQ(cc_sdp_find_extmap(a, CC_EXT_URI_MID), 4);
    CC_CHECK_EQ(a->n_extmaps, 4);
    CC_CHECK_EQ(a->n_ssrcs, 1);
    CC_CHECK_EQ(a->ssrcs[0], 759283298u);
    CC_CHECK(!strcmp(a->cname, "UTzf322VeKdR/eJt"));
    CC_CHECK(!strcmp(a->msid, "f2ceaf85-ecec-493d-a8f0-20aaea1e5486 "
                              "4657d42a-0090-4f41-9ee9-07af8e705d90"));
    CC_CHECK_EQ(a->fid_primary, 0);
    CC_CHECK_EQ(a->n_rids, 0);

    CC_CHECK_EQ(v->kind, CC_MEDIA_VIDEO);
    CC_CHECK(!strcmp(v->mid, "1"));
    CC_CHECK_EQ(v->port, 55508);
    CC_CHECK_EQ(v->direction, CC_DIR_SENDONLY);
    CC_CHECK_EQ(v->n_codecs, 23);
    const cc_sdp_codec *vp8 = cc_sdp_find_codec(v, "vp8");
    CC_CHECK(vp8 != NULL);
    if (vp8) {
        CC_CHECK_EQ(vp8->pt, 96);
        CC_CHECK_EQ(vp8->clock_rate, 90000);
        CC_CHECK_EQ(vp8->fb, CC_FB_NACK | CC_FB_PLI | CC_FB_FIR | CC_FB_REMB |
                                 CC_FB_TWCC);
        CC_CHECK(!strcmp(vp8->fmtp, ""));
    }
    const cc_sdp_codec *rtx = cc_sdp_find_rtx(v, 96);
    CC_CHECK(rtx && rtx->pt == 97 && rtx->apt == 96 && rtx->fb == 0);
    CC_CHECK(cc_sdp_find_rtx(v, 102) && cc_sdp_find_rtx(v, 102)->pt == 103);
    CC_CHECK(cc_sdp_find_codec(v, "rtx") == NULL);
    const cc_sdp_codec *h264 = cc_sdp_find_codec(v, "H264");
    CC_CHECK(h264 && h264->pt == 102 &&
             strstr(h264->fmtp, "profile-level-id=42001f"));
    CC_CHECK_EQ(cc_sdp_find_extmap(v, CC_EXT_URI_MID), 4);
    CC_CHECK_EQ(cc_sdp_find_extmap(v, CC_EXT_URI_ABS_SEND_TIME), 2);
    CC_CHECK_EQ(cc_sdp_find_extmap(v, CC_EXT_URI_TWCC), 3);
    CC_CHECK_EQ(cc_sdp_find_extmap(v, CC_EXT_URI_AUDIO_LEVEL), 0);
    CC_CHECK_EQ(cc_sdp_find_extmap(v, "urn:ietf:params:rtp-hdrext:toffset"),
                14);
    CC_CHECK_EQ(v->n_extmaps, 11);
    CC_CHECK_EQ(v->n_ssrcs, 2);
    CC_CHECK_EQ(v->ssrcs[0], 3107795472u);
    CC_CHECK_EQ(v->ssrcs[1], 866922752u);
    CC_CHECK_EQ(v->fid_primary, 3107795472u);
    CC_CHECK_EQ(v->fid_rtx, 866922752u);
    CC_CHECK(!strcmp(v->cname, "UTzf322VeKdR/eJt"));
    CC_CHECK(!strcmp(v->fp, k_pub_fp));
    free(t);
}

static void test_parse_simulcast(void)
{
    size_t len;
    char *t = load("chromium-offer-simulcast.sdp", &len);
    CC_CHECK(t != NULL);
    if (!t)
        return;
    cc_sdp_offer *o = &g_offer;
    CC_CHECK_EQ(cc_sdp_parse(t, len, o), 0);
    CC_CHECK_EQ(o->n_media, 2);
    const cc_sdp_media *v = &o->media[0], *a = &o->media[1];
    CC_CHECK_EQ(v->kind, CC_MEDIA_VIDEO);
    CC_CHECK(!strcmp(v->mid, "0"));
    CC_CHECK_EQ(v->n_rids, 3);
    CC_CHECK(!strcmp(v->rids[0], "q") && !strcmp(v->rids[1], "h") &&
             !strcmp(v->rids[2], "f"));
    CC_CHECK(!v->rid_recv[0] && !v->rid_recv[1] && !v->rid_recv[2]);
    CC_CHECK_EQ(v->n_sim, 3);
    CC_CHECK(!strcmp(v->sim[0], "q") && !strcmp(v->sim[1], "h") &&
             !strcmp(v->sim[2], "f"));
    CC_CHECK(!v->sim_paused[0] && !v->sim_paused[1] && !v->sim_paused[2]);
    CC_CHECK_EQ(v->n_sim_recv, 0);
    CC_CHECK_EQ(cc_sdp_find_extmap(v, CC_EXT_URI_RID), 10);
    CC_CHECK_EQ(cc_sdp_find_extmap(v, CC_EXT_URI_RRID), 11);
    CC_CHECK_EQ(v->n_ssrcs, 0);
    CC_CHECK_EQ(v->n_extmaps, 13);
    CC_CHECK_EQ(cc_sdp_find_extmap(v, CC_EXT_URI_MID), 9);
    CC_CHECK_EQ(cc_sdp_find_extmap(v, CC_EXT_URI_TWCC), 4);
    CC_CHECK_EQ(cc_sdp_find_extmap(v, CC_EXT_URI_ABS_SEND_TIME), 2);
    CC_CHECK_EQ(cc_sdp_find_extmap(
                    v, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"),
                10);
    CC_CHECK(cc_sdp_find_codec(v, "VP8") &&
             cc_sdp_find_codec(v, "VP8")->pt == 96);
    CC_CHECK(!strcmp(v->ice_ufrag, "0hD0"));
    CC_CHECK(!strcmp(v->ice_pwd, "LmsgGiC6s89ODC4duSB7B5+u"));
    CC_CHECK(!strcmp(a->mid, "1"));
    CC_CHECK_EQ(a->n_rids, 0);
    CC_CHECK_EQ(a->n_sim, 0);
    CC_CHECK_EQ(cc_sdp_find_extmap(a, CC_EXT_URI_AUDIO_LEVEL), 12);
    CC_CHECK_EQ(cc_sdp_find_extmap(a, CC_EXT_URI_MID), 9);
    CC_CHECK(!strcmp(a->cname, "oD7CBMd6MYV1oAv+"));
    CC_CHECK_EQ(a->ssrcs[0], 3150088846u);
    free(t);
}

static void test_parse_viewer(void)
{
    size_t len;
    char *t = load("chromium-offer-viewer.sdp", &len);
    CC_CHECK(t != NULL);
    if (!t)
        return;
    cc_sdp_offer *o = &g_offer;
    CC_CHECK_EQ(cc_sdp_parse(t, len, o), 0);
    CC_CHECK_EQ(o->n_media, 2);
    const cc_sdp_media *v = &o->media[0], *a = &o->media[1];
    CC_CHECK_EQ(v->direction, CC_DIR_RECVONLY);
    CC_CHECK_EQ(a->direction, CC_DIR_RECVONLY);
    /* 34 payload types offered, 32 kept: VP8 and its rtx among them. */
    CC_CHECK_EQ(v->n_codecs, CC_SDP_MAX_CODECS);
    CC_CHECK_EQ(v->codecs[0].pt, 96);
    CC_CHECK(cc_sdp_find_codec(v, "VP8") &&
             cc_sdp_find_codec(v, "VP8")->pt == 96);
    CC_CHECK(cc_sdp_find_rtx(v, 96) && cc_sdp_find_rtx(v, 96)->pt == 97);
    CC_CHECK_EQ(v->n_ssrcs, 0);
    CC_CHECK(!strcmp(v->msid, ""));
    CC_CHECK(!strcmp(v->cname, ""));
    CC_CHECK_EQ(cc_sdp_find_extmap(v, CC_EXT_URI_MID), 9);
    CC_CHECK(!strcmp(v->ice_ufrag, "Yo/f"));
    CC_CHECK(!strcmp(v->setup, "actpass"));
    CC_CHECK(cc_sdp_find_codec(a, "opus") &&
             cc_sdp_find_codec(a, "opus")->pt == 111);
    CC_CHECK_EQ(cc_sdp_find_extmap(a, CC_EXT_URI_AUDIO_LEVEL), 14);
    free(t);
}

/* Checks shared by every answer: session lines, transport lines. */
static void check_answer_common(const char *ans, const cc_sdp_offer *ao,
                                const cc_sdp_answer_params *p)
{
    CC_CHECK(all_crlf(ans));
    CC_CHECK(!strncmp(ans, "v=0\r\no=- ", 9));
    CC_CHECK(strstr(ans, " 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                         "a=ice-lite\r\n") != NULL);
    CC_CHECK(strstr(ans, "a=msid-semantic: WMS *\r\n") != NULL);
    CC_CHECK(strstr(ans, "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ "
                         "host generation 0\r\n") != NULL);
    CC_CHECK(strstr(ans, "a=candidate:2 1 udp 2130706175 ::1 40000 typ host "
                         "generation 0\r\n") != NULL);
    CC_CHECK(strstr(ans, "a=end-of-candidates\r\n") != NULL);
    CC_CHECK(strstr(ans, "c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"));
    CC_CHECK(strstr(ans, "a=ice-options") == NULL);
    CC_CHECK_EQ(ao->ice_lite, 1);
    CC_CHECK_EQ(ao->trickle, 0);
    for (int i = 0; i < ao->n_media; i++) {
        const cc_sdp_media *m = &ao->media[i];
        if (m->port == 0)
            continue;
        CC_CHECK_EQ(m->port, 9);
        CC_CHECK(!strcmp(m->setup, "passive"));
        CC_CHECK(!strcmp(m->ice_ufrag, p->ice_ufrag));
        CC_CHECK(!strcmp(m->ice_pwd, p->ice_pwd));
        CC_CHECK(!strcmp(m->fp_alg, "sha-256"));
        CC_CHECK(!strcmp(m->fp, p->fingerprint));
        CC_CHECK_EQ(m->rtcp_mux, 1);
    }
}

/* The answer's m-line i uses the offer's payload types and extmap ids. */
static void check_answer_media(const cc_sdp_media *om, const cc_sdp_media *am,
                               const cc_sdp_choice *c)
{
    CC_CHECK(!strcmp(am->mid, om->mid));
    CC_CHECK_EQ(am->kind, om->kind);
    CC_CHECK_EQ(am->direction, c->direction);
    CC_CHECK_EQ(am->rtcp_rsize, om->rtcp_rsize);
    CC_CHECK_EQ(am->n_codecs, c->rtx_pt >= 0 ? 2 : 1);
    CC_CHECK_EQ(am->codecs[0].pt, c->pt);
    const cc_sdp_codec *oc = NULL;
    for (int i = 0; i < om->n_codecs; i++)
        if (om->codecs[i].pt == c->pt)
            oc = &om->codecs[i];
    CC_CHECK(oc != NULL);
    if (oc) {
        CC_CHECK(!strcmp(am->codecs[0].name, oc->name));
        CC_CHECK_EQ(am->codecs[0].clock_rate, oc->clock_rate);
        CC_CHECK_EQ(am->codecs[0].channels, oc->channels);
        CC_CHECK(!strcmp(am->codecs[0].fmtp, oc->fmtp));
    }
    CC_CHECK_EQ(am->codecs[0].fb, c->fb);
    if (c->rtx_pt >= 0) {
        CC_CHECK_EQ(am->codecs[1].pt, c->rtx_pt);
        CC_CHECK_EQ(am->codecs[1].apt, c->pt);
    }
    const char *uris[] = {CC_EXT_URI_MID, CC_EXT_URI_ABS_SEND_TIME,
                          CC_EXT_URI_TWCC, CC_EXT_URI_AUDIO_LEVEL,
                          CC_EXT_URI_RID, CC_EXT_URI_RRID};
    const int ids[] = {c->ext_mid, c->ext_abs_send_time, c->ext_twcc,
                       c->ext_audio_level, c->n_sim ? c->ext_rid : 0,
                       c->n_sim ? c->ext_rrid : 0};
    int n_ids = 0;
    for (int k = 0; k < 6; k++) {
        CC_CHECK_EQ(cc_sdp_find_extmap(am, uris[k]), ids[k]);
        if (ids[k])
            CC_CHECK_EQ(cc_sdp_find_extmap(om, uris[k]), ids[k]);
        n_ids += ids[k] != 0;
    }
    CC_CHECK_EQ(am->n_extmaps, n_ids);
    /* Simulcast (RFC 8853 section 5.3.2): the offer's send streams taken
     * come back as recv rids and a recv list, in the same order. */
    CC_CHECK_EQ(am->n_sim, 0);
    CC_CHECK_EQ(am->n_sim_recv, c->n_sim);
    CC_CHECK_EQ(am->n_rids, c->n_sim);
    for (int k = 0; k < c->n_sim && k < CC_SDP_MAX_SIM; k++) {
        CC_CHECK(!strcmp(am->sim_recv[k], c->sim[k]));
        CC_CHECK_EQ(am->sim_recv_paused[k], c->sim_paused[k]);
        CC_CHECK(!strcmp(am->rids[k], c->sim[k]));
        CC_CHECK_EQ(am->rid_recv[k], 1);
    }
}

static void test_answer_publisher(void)
{
    size_t len;
    char *t = load("chromium-offer-publisher.sdp", &len);
    if (!t) { CC_CHECK(0); return; }
    cc_sdp_offer *o = &g_offer;
    CC_CHECK_EQ(cc_sdp_parse(t, len, o), 0);
    cc_sdp_answer_params p;
    init_params(&p);
    cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    CC_CHECK(ch[0].accepted && ch[1].accepted);
    CC_CHECK_EQ(ch[0].pt, 111);
    CC_CHECK_EQ(ch[0].rtx_pt, -1);
    CC_CHECK_EQ(ch[0].fb, CC_FB_TWCC);
    CC_CHECK_EQ(ch[0].ext_audio_level, 1);
    CC_CHECK_EQ(ch[0].ext_mid, 4);
    CC_CHECK_EQ(ch[0].direction, CC_DIR_RECVONLY);
    CC_CHECK_EQ(ch[1].pt, 96);
    CC_CHECK_EQ(ch[1].rtx_pt, 97);
    CC_CHECK_EQ(ch[1].fb, CC_FB_NACK | CC_FB_PLI | CC_FB_FIR | CC_FB_TWCC);
    CC_CHECK_EQ(ch[1].ext_mid, 4);
    CC_CHECK_EQ(ch[1].ext_abs_send_time, 2);
    CC_CHECK_EQ(ch[1].ext_twcc, 3);
    CC_CHECK_EQ(ch[1].ext_audio_level, 0);
    CC_CHECK_EQ(ch[1].direction, CC_DIR_RECVONLY);
    CC_CHECK(!ch[2].accepted);

    char *ans = NULL;
    CC_CHECK_EQ(cc_sdp_write_answer(o, &p, ch, &ans), 0);
    CC_CHECK(ans != NULL);
    if (!ans) { free(t); return; }
    CC_CHECK(strstr(ans, "a=group:BUNDLE 0 1\r\n") != NULL);
    CC_CHECK(strstr(ans, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n") != NULL);
    CC_CHECK(strstr(ans, "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n") != NULL);
    CC_CHECK(strstr(ans, "a=fmtp:111 minptime=10;useinbandfec=1\r\n"));
    CC_CHECK(strstr(ans, "a=rtpmap:111 opus/48000/2\r\n"));
    CC_CHECK(strstr(ans, "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"));
    CC_CHECK(strstr(ans, "a=rtcp-fb:96 nack pli\r\n"));
    CC_CHECK(strstr(ans, "a=rtcp-fb:96 goog-remb") == NULL);
    CC_CHECK(strstr(ans, "a=setup:passive\r\n"));
    CC_CHECK(strstr(ans, "a=ssrc") == NULL);
    CC_CHECK(strstr(ans, "a=msid:") == NULL);
    CC_CHECK(strstr(ans, "toffset") == NULL);

    cc_sdp_offer *ao = &g_answer;
    CC_CHECK_EQ(parse_str(ans, ao), 0);
    CC_CHECK_EQ(ao->n_media, 2);
    CC_CHECK_EQ(ao->n_bundle, 2);
    check_answer_common(ans, ao, &p);
    check_answer_media(&o->media[0], &ao->media[0], &ch[0]);
    check_answer_media(&o->media[1], &ao->media[1], &ch[1]);
    CC_CHECK_EQ(ao->media[0].direction, CC_DIR_RECVONLY);
    CC_CHECK_EQ(ao->media[0].n_ssrcs, 0);
    free(ans);

    /* remb on: goog-remb kept; rtx off: only VP8. */
    p.enable_remb = 1;
    p.want_rtx = 0;
    p.enable_twcc = 0;
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    CC_CHECK_EQ(ch[1].rtx_pt, -1);
    CC_CHECK_EQ(ch[1].fb, CC_FB_NACK | CC_FB_PLI | CC_FB_FIR | CC_FB_REMB);
    CC_CHECK_EQ(ch[1].ext_twcc, 0);
    CC_CHECK_EQ(cc_sdp_write_answer(o, &p, ch, &ans), 0);
    if (ans) {
        CC_CHECK(strstr(ans, "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"));
        CC_CHECK(strstr(ans, "a=rtcp-fb:96 goog-remb\r\n"));
        CC_CHECK(strstr(ans, "transport-cc") == NULL);
        CC_CHECK_EQ(parse_str(ans, ao), 0);
        check_answer_media(&o->media[1], &ao->media[1], &ch[1]);
        free(ans);
    }
    free(t);
}

static void test_answer_viewer(void)
{
    size_t len;
    char *t = load("chromium-offer-viewer.sdp", &len);
    if (!t) { CC_CHECK(0); return; }
    cc_sdp_offer *o = &g_offer;
    CC_CHECK_EQ(cc_sdp_parse(t, len, o), 0);
    cc_sdp_answer_params p;
    init_params(&p);
    p.send[0] = p.send[1] = 1;
    p.streams[0] = (cc_sdp_send_stream){1111, 2222, "room1", "video1"};
    p.streams[1] = (cc_sdp_send_stream){3333, 4444, "room1", "audio1"};
    cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    CC_CHECK_EQ(ch[0].direction, CC_DIR_SENDONLY);
    CC_CHECK_EQ(ch[1].direction, CC_DIR_SENDONLY);
    CC_CHECK_EQ(ch[0].pt, 96);
    CC_CHECK_EQ(ch[0].rtx_pt, 97);
    CC_CHECK_EQ(ch[0].ext_mid, 9);
    CC_CHECK_EQ(ch[1].ext_audio_level, 14);
    char *ans = NULL;
    CC_CHECK_EQ(cc_sdp_write_answer(o, &p, ch, &ans), 0);
    if (!ans) { CC_CHECK(0); free(t); return; }
    CC_CHECK(strstr(ans, "a=sendonly\r\na=msid:room1 video1\r\n"));
    CC_CHECK(strstr(ans, "a=ssrc-group:FID 1111 2222\r\n"));
    CC_CHECK(strstr(ans, "a=ssrc:1111 cname:classcast\r\n"));
    CC_CHECK(strstr(ans, "a=ssrc:1111 msid:room1 video1\r\n"));
    CC_CHECK(strstr(ans, "a=ssrc:2222 cname:classcast\r\n"));
    CC_CHECK(strstr(ans, "a=ssrc:2222 msid:room1 video1\r\n"));
    /* no rtx negotiated for audio: its rtx ssrc is not signalled */
    CC_CHECK(strstr(ans, "a=ssrc:3333 msid:room1 audio1\r\n"));
    CC_CHECK(strstr(ans, "4444") == NULL);

    cc_sdp_offer *ao = &g_answer;
    CC_CHECK_EQ(parse_str(ans, ao), 0);
    check_answer_common(ans, ao, &p);
    check_answer_media(&o->media[0], &ao->media[0], &ch[0]);
    check_answer_media(&o->media[1], &ao->media[1], &ch[1]);
    const cc_sdp_media *v = &ao->media[0], *a = &ao->media[1];
    CC_CHECK_EQ(v->n_ssrcs, 2);
    CC_CHECK_EQ(v->ssrcs[0], 1111u);
    CC_CHECK_EQ(v->ssrcs[1], 2222u);
    CC_CHECK_EQ(v->fid_primary, 1111u);
    CC_CHECK_EQ(v->fid_rtx, 2222u);
    CC_CHECK(!strcmp(v->cname, "classcast"));
    CC_CHECK(!strcmp(v->msid, "room1 video1"));
    CC_CHECK_EQ(a->n_ssrcs, 1);
    CC_CHECK_EQ(a->ssrcs[0], 3333u);
    CC_CHECK_EQ(a->fid_primary, 0);
    free(ans);

    /* Not sending on a recvonly line: inactive. */
    p.send[1] = 0;
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    CC_CHECK_EQ(ch[1].direction, CC_DIR_INACTIVE);
    /* A sent stream needs ids. */
    p.streams[0].stream_id[0] = 0;
    CC_CHECK_EQ(cc_sdp_write_answer(o, &p, ch, &ans), CC_EINVAL);
    CC_CHECK(ans == NULL);
    free(t);
}

static void test_answer_echo(void)
{
    size_t len;
    char *t0 = load("chromium-offer-publisher.sdp", &len);
    if (!t0) { CC_CHECK(0); return; }
    char *t = replace_all(t0, "a=sendonly\r\n", "a=sendrecv\r\n");
    cc_sdp_offer *o = &g_offer;
    CC_CHECK_EQ(parse_str(t, o), 0);
    CC_CHECK_EQ(o->media[0].direction, CC_DIR_SENDRECV);
    CC_CHECK_EQ(o->media[1].direction, CC_DIR_SENDRECV);
    cc_sdp_answer_params p;
    init_params(&p);
    cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    CC_CHECK_EQ(ch[0].direction, CC_DIR_RECVONLY);
    p.send[0] = p.send[1] = 1;
    p.streams[0] = (cc_sdp_send_stream){5555, 0, "echo", "a0"};
    p.streams[1] = (cc_sdp_send_stream){6666, 7777, "echo", "v0"};
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    CC_CHECK_EQ(ch[0].direction, CC_DIR_SENDRECV);
    CC_CHECK_EQ(ch[1].direction, CC_DIR_SENDRECV);
    char *ans = NULL;
    CC_CHECK_EQ(cc_sdp_write_answer(o, &p, ch, &ans), 0);
    if (ans) {
        cc_sdp_offer *ao = &g_answer;
        CC_CHECK_EQ(parse_str(ans, ao), 0);
        check_answer_common(ans, ao, &p);
        check_answer_media(&o->media[0], &ao->media[0], &ch[0]);
        check_answer_media(&o->media[1], &ao->media[1], &ch[1]);
        CC_CHECK_EQ(ao->media[0].direction, CC_DIR_SENDRECV);
        CC_CHECK_EQ(ao->media[0].n_ssrcs, 1);
        CC_CHECK_EQ(ao->media[0].ssrcs[0], 5555u);
        CC_CHECK_EQ(ao->media[1].fid_primary, 6666u);
        CC_CHECK_EQ(ao->media[1].fid_rtx, 7777u);
        CC_CHECK(!strcmp(ao->media[1].msid, "echo v0"));
        free(ans);
    }
    free(t);
    free(t0);
}

static void test_answer_simulcast(void)
{
    size_t len;
    char *t = load("chromium-offer-simulcast.sdp", &len);
    if (!t) { CC_CHECK(0); return; }
    cc_sdp_offer *o = &g_offer;
    CC_CHECK_EQ(cc_sdp_parse(t, len, o), 0);
    cc_sdp_answer_params p;
    init_params(&p);
    cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    CC_CHECK_EQ(ch[0].pt, 96);
    CC_CHECK_EQ(ch[0].ext_mid, 9);
    CC_CHECK_EQ(ch[1].pt, 111);
    char *ans = NULL;
    CC_CHECK_EQ(cc_sdp_write_answer(o, &p, ch, &ans), 0);
    if (ans) {
        cc_sdp_offer *ao = &g_answer;
        CC_CHECK_EQ(parse_str(ans, ao), 0);
        check_answer_common(ans, ao, &p);
        check_answer_media(&o->media[0], &ao->media[0], &ch[0]);
        check_answer_media(&o->media[1], &ao->media[1], &ch[1]);
        CC_CHECK(strstr(ans, "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"));
        /* Without accept_simulcast nothing of it is answered: the offerer
         * then sends its first encoding alone (RFC 8853 section 5.3). */
        CC_CHECK_EQ(ch[0].n_sim, 0);
        CC_CHECK_EQ(ch[0].ext_rid, 0);
        CC_CHECK_EQ(ch[0].ext_rrid, 0);
        CC_CHECK(strstr(ans, "a=simulcast") == NULL);
        CC_CHECK(strstr(ans, "a=rid") == NULL);
        CC_CHECK(strstr(ans, "rtp-stream-id") == NULL);
        free(ans);
    }
    free(t);
}

/* Answers the simulcast offer `text` with accept_simulcast; the answer is
 * parsed back into g_answer and checked line by line. Returns the answer
 * (caller frees) or NULL. */
static char *answer_sim(const char *text, cc_sdp_choice ch[CC_SDP_MAX_MEDIA])
{
    cc_sdp_offer *o = &g_offer;
    CC_CHECK_EQ(parse_str(text, o), 0);
    cc_sdp_answer_params p;
    init_params(&p);
    p.accept_simulcast = 1;
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    char *ans = NULL;
    CC_CHECK_EQ(cc_sdp_write_answer(o, &p, ch, &ans), 0);
    if (!ans)
        return NULL;
    cc_sdp_offer *ao = &g_answer;
    CC_CHECK_EQ(parse_str(ans, ao), 0);
    check_answer_common(ans, ao, &p);
    CC_CHECK_EQ(ao->n_media, o->n_media);
    for (int i = 0; i < o->n_media && i < ao->n_media; i++)
        if (ch[i].accepted)
            check_answer_media(&o->media[i], &ao->media[i], &ch[i]);
    return ans;
}

static void test_answer_simulcast_accept(void)
{
    size_t len;
    char *t = load("chromium-offer-simulcast.sdp", &len);
    if (!t) { CC_CHECK(0); return; }
    cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
    char *ans = answer_sim(t, ch);
    CC_CHECK_EQ(ch[0].n_sim, 3);
    CC_CHECK(!strcmp(ch[0].sim[0], "q") && !strcmp(ch[0].sim[1], "h") &&
             !strcmp(ch[0].sim[2], "f"));
    CC_CHECK_EQ(ch[0].ext_rid, 10);
    CC_CHECK_EQ(ch[0].ext_rrid, 11);
    CC_CHECK_EQ(ch[0].ext_mid, 9);
    CC_CHECK_EQ(ch[0].direction, CC_DIR_RECVONLY);
    CC_CHECK_EQ(ch[1].n_sim, 0); /* audio */
    CC_CHECK_EQ(ch[1].ext_rid, 0);
    if (ans) {
        CC_CHECK(strstr(ans, "a=extmap:9 " CC_EXT_URI_MID "\r\n"
                             "a=extmap:10 " CC_EXT_URI_RID "\r\n"
                             "a=extmap:11 " CC_EXT_URI_RRID "\r\n"
                             "a=recvonly\r\n"));
        CC_CHECK(strstr(ans, "a=rid:q recv\r\na=rid:h recv\r\n"
                             "a=rid:f recv\r\na=simulcast:recv q;h;f\r\n"));
        /* Only the video line: one a=simulcast in all. */
        const char *s1 = strstr(ans, "a=simulcast");
        CC_CHECK(s1 && !strstr(s1 + 1, "a=simulcast"));
        CC_CHECK(strstr(strstr(ans, "m=audio"), "a=rid") == NULL);
        free(ans);
    }
    free(t);
}

/* The teacher page's offer with simulcast on: camera q;h;f, screen l;f. */
static void test_answer_simulcast_teacher(void)
{
    size_t len;
    char *t = load("chromium-offer-simulcast-teacher.sdp", &len);
    if (!t) { CC_CHECK(0); return; }
    cc_sdp_offer *o = &g_offer;
    CC_CHECK_EQ(cc_sdp_parse(t, len, o), 0);
    CC_CHECK_EQ(o->n_media, 3);
    CC_CHECK_EQ(o->media[0].n_sim, 3);
    CC_CHECK_EQ(o->media[1].n_sim, 2);
    CC_CHECK(!strcmp(o->media[1].sim[0], "l") &&
             !strcmp(o->media[1].sim[1], "f"));
    CC_CHECK_EQ(o->media[2].kind, CC_MEDIA_AUDIO);
    cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
    char *ans = answer_sim(t, ch);
    CC_CHECK_EQ(ch[0].n_sim, 3);
    CC_CHECK_EQ(ch[1].n_sim, 2);
    CC_CHECK(!strcmp(ch[1].sim[0], "l") && !strcmp(ch[1].sim[1], "f"));
    CC_CHECK_EQ(ch[2].n_sim, 0);
    CC_CHECK(ch[0].ext_rid > 0 && ch[0].ext_rid == ch[1].ext_rid);
    if (ans) {
        CC_CHECK(strstr(ans, "a=simulcast:recv q;h;f\r\n"));
        CC_CHECK(strstr(ans, "a=rid:l recv\r\na=rid:f recv\r\n"
                             "a=simulcast:recv l;f\r\n"));
        free(ans);
    }
    free(t);
}

/* Simulcast offers that are well formed but not (all) taken. */
static void test_simulcast_variants(void)
{
    size_t len;
    char *t = load("chromium-offer-simulcast.sdp", &len);
    if (!t) { CC_CHECK(0); return; }
    cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
    /* the video line's direction (the audio line's msid differs) */
#define VMSID "a=msid:f2ceaf85-ecec-493d-a8f0-20aaea1e5486 d07"
#define VSEND "a=sendonly\r\n" VMSID
    struct {
        const char *what, *from, *to;
        int n;               /* streams taken */
        const char *ids;     /* the rids taken, joined by ';' */
    } v[] = {
        /* a sender turned off keeps its envelope (see sdp_answer.c) */
        {"inactive", VSEND, "a=inactive\r\n" VMSID, 3, "q;h;f"},
        {"sendrecv", VSEND, "a=sendrecv\r\n" VMSID, 3, "q;h;f"},
        {"recvonly", VSEND, "a=recvonly\r\n" VMSID, 0, ""},
        {"paused", "send q;h;f", "send q;~h;f", 3, "q;h;f"},
        {"alternatives", "send q;h;f", "send q,h;f", 2, "q;f"},
        {"duplicate", "send q;h;f", "send q;q;f", 2, "q;f"},
        {"undeclared", "send q;h;f", "send q;x;f", 2, "q;f"},
        {"recv rid", "a=rid:h send", "a=rid:h recv", 2, "q;f"},
        {"all paused", "send q;h;f", "send ~q;~h;~f", 3, "q;h;f"},
        {"one left", "send q;h;f", "send q;x;y", 0, ""},
        {"one stream", "send q;h;f", "send f", 0, ""},
        {"four streams", "a=rid:f send\r\na=simulcast:send q;h;f",
         "a=rid:f send\r\na=rid:g send\r\na=simulcast:send q;h;f;g", 3,
         "q;h;f"},
        {"recv part too", "send q;h;f", "send q;h;f recv a;b", 3, "q;h;f"},
        {"recv first", "send q;h;f", "recv a send h;f", 2, "h;f"},
        {"restrictions", "a=rid:q send", "a=rid:q send pt=96;max-width=320", 3,
         "q;h;f"},
        {"no rid extmap", "a=extmap:10 " CC_EXT_URI_RID "\r\n", "", 0, ""},
        {"no simulcast", "a=simulcast:send q;h;f\r\n", "", 0, ""},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *x = replace_all(t, v[i].from, v[i].to);
        CC_CHECK(strcmp(x, t) != 0);
        char *ans = answer_sim(x, ch);
        char ids[64] = "";
        for (int k = 0; k < ch[0].n_sim; k++)
            snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%s",
                     k ? ";" : "", ch[0].sim[k]);
        if (ch[0].n_sim != v[i].n || strcmp(ids, v[i].ids) != 0) {
            fprintf(stderr, "%s: took %d \"%s\"\n", v[i].what, ch[0].n_sim,
                    ids);
            CC_CHECK(0);
        }
        CC_CHECK_EQ(ch[0].ext_rid, v[i].n ? 10 : 0);
        for (int k = 0; k < ch[0].n_sim; k++)
            CC_CHECK_EQ(ch[0].sim_paused[k],
                        !strcmp(v[i].what, "all paused") ||
                            (!strcmp(v[i].what, "paused") && k == 1));
        if (ans && !strcmp(v[i].what, "paused")) /* still paused */
            CC_CHECK(strstr(ans, "a=simulcast:recv q;~h;f\r\n") != NULL);
        if (ans && v[i].n == 0) {
            CC_CHECK(strstr(ans, "a=simulcast") == NULL);
            CC_CHECK(strstr(ans, "a=rid") == NULL);
            CC_CHECK(strstr(ans, "rtp-stream-id") == NULL);
        }
        free(ans);
        free(x);
    }
#undef VSEND
#undef VMSID
    /* More a=rid lines than kept: parsed, the rest ignored. */
    char *x = replace_all(t, "a=rid:f send\r\n",
                          "a=rid:f send\r\na=rid:g send\r\na=rid:i send\r\n"
                          "a=rid:j recv\r\n");
    CC_CHECK_EQ(parse_str(x, &g_offer), 0);
    CC_CHECK_EQ(g_offer.media[0].n_rids, CC_SDP_MAX_RIDS);
    CC_CHECK(!strcmp(g_offer.media[0].rids[3], "g"));
    free(x);
    /* Our own answer's recv lines parse back as such. */
    x = replace_all(t, "a=simulcast:send q;h;f", "a=simulcast:recv ~q;h");
    CC_CHECK_EQ(parse_str(x, &g_offer), 0);
    CC_CHECK_EQ(g_offer.media[0].n_sim, 0);
    CC_CHECK_EQ(g_offer.media[0].n_sim_recv, 2);
    CC_CHECK_EQ(g_offer.media[0].sim_recv_paused[0], 1);
    CC_CHECK(!strcmp(g_offer.media[0].sim_recv[1], "h"));
    free(x);

    /* The writer takes only simulcast choices cc_sdp_choose could make. */
    CC_CHECK_EQ(parse_str(t, &g_offer), 0);
    cc_sdp_answer_params p;
    init_params(&p);
    p.accept_simulcast = 1;
    CC_CHECK_EQ(cc_sdp_choose(&g_offer, &p, ch), 0);
    char *ans = NULL;
    cc_sdp_choice bad[CC_SDP_MAX_MEDIA];
    memcpy(bad, ch, sizeof bad);
    bad[0].n_sim = CC_SDP_MAX_SIM + 1;
    CC_CHECK_EQ(cc_sdp_write_answer(&g_offer, &p, bad, &ans), CC_EINVAL);
    memcpy(bad, ch, sizeof bad);
    bad[0].n_sim = -1;
    CC_CHECK_EQ(cc_sdp_write_answer(&g_offer, &p, bad, &ans), CC_EINVAL);
    memcpy(bad, ch, sizeof bad);
    strcpy(bad[0].sim[1], "h h");
    CC_CHECK_EQ(cc_sdp_write_answer(&g_offer, &p, bad, &ans), CC_EINVAL);
    memcpy(bad, ch, sizeof bad);
    memset(bad[0].sim[2], 'f', sizeof bad[0].sim[2]); /* no NUL */
    CC_CHECK_EQ(cc_sdp_write_answer(&g_offer, &p, bad, &ans), CC_EINVAL);
    memcpy(bad, ch, sizeof bad);
    bad[0].ext_rid = 9; /* the mid extension's id */
    CC_CHECK_EQ(cc_sdp_write_answer(&g_offer, &p, bad, &ans), CC_EINVAL);
    CC_CHECK(ans == NULL);
    free(t);
}

/* A small hand-written offer: session-level transport attributes, rtcp-fb
 * wildcard, an extmap with a direction, H264-only video. */
static const char *k_small =
    "v=0\r\n"
    "o=- 1 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE a v\r\n"
    "a=ice-ufrag:abcd\r\n"
    "a=ice-pwd:0123456789012345678901\r\n"
    "a=fingerprint:sha-1 AB:CD\r\n"
    "a=fingerprint:sha-256 12:34\r\n"
    "a=setup:actpass\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=mid:a\r\n"
    "a=rtcp-mux\r\n"
    "a=extmap:5/sendonly urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=rtcp-fb:* nack\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 102 103\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=mid:v\r\n"
    "a=rtcp-mux\r\n"
    "a=sendonly\r\n"
    "a=rtpmap:102 H264/90000\r\n"
    "a=rtcp-fb:102 nack pli\r\n"
    "a=rtpmap:103 rtx/90000\r\n"
    "a=fmtp:103 apt=102\r\n";

static void test_small_offer(void)
{
    cc_sdp_offer *o = &g_offer;
    CC_CHECK_EQ(parse_str(k_small, o), 0);
    const cc_sdp_media *a = &o->media[0], *v = &o->media[1];
    CC_CHECK(!strcmp(a->ice_ufrag, "abcd"));
    CC_CHECK(!strcmp(v->ice_pwd, "0123456789012345678901"));
    CC_CHECK(!strcmp(a->fp_alg, "sha-256") && !strcmp(a->fp, "12:34"));
    CC_CHECK(!strcmp(v->setup, "actpass"));
    CC_CHECK_EQ(a->direction, CC_DIR_SENDRECV);
    CC_CHECK_EQ(cc_sdp_find_extmap(a, CC_EXT_URI_MID), 5);
    CC_CHECK_EQ(a->codecs[0].fb, CC_FB_NACK);
    CC_CHECK_EQ(a->codecs[1].fb, CC_FB_NACK); /* '*' applies to PCMU too */
    CC_CHECK(!strcmp(a->codecs[1].name, "PCMU"));
    CC_CHECK_EQ(v->codecs[0].fb, CC_FB_PLI);
    CC_CHECK_EQ(v->codecs[1].apt, 102);
    CC_CHECK_EQ(a->rtcp_rsize, 0);

    cc_sdp_answer_params p;
    init_params(&p);
    cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    CC_CHECK(ch[0].accepted);
    CC_CHECK(!ch[1].accepted); /* H264 only: rejected */
    CC_CHECK_EQ(ch[0].fb, CC_FB_NACK);
    char *ans = NULL;
    CC_CHECK_EQ(cc_sdp_write_answer(o, &p, ch, &ans), 0);
    if (ans) {
        CC_CHECK(strstr(ans, "a=group:BUNDLE a\r\n"));
        CC_CHECK(strstr(ans, "m=video 0 UDP/TLS/RTP/SAVPF 102\r\n"));
        CC_CHECK(strstr(ans, "a=mid:v\r\n"));
        CC_CHECK(strstr(ans, "a=rtcp-rsize") == NULL);
        CC_CHECK(strstr(ans, "a=extmap:5 " CC_EXT_URI_MID "\r\n"));
        cc_sdp_offer *ao = &g_answer;
        CC_CHECK_EQ(parse_str(ans, ao), 0);
        CC_CHECK_EQ(ao->n_media, 2);
        CC_CHECK_EQ(ao->n_bundle, 1);
        CC_CHECK_EQ(ao->media[1].port, 0);
        CC_CHECK(!strcmp(ao->media[1].mid, "v"));
        check_answer_media(&o->media[0], &ao->media[0], &ch[0]);
        free(ans);
    }

    /* Only the H264 line: nothing usable. */
    char *only_v = replace_all(k_small, "a=group:BUNDLE a v", "a=group:BUNDLE v");
    char *cut = strstr(only_v, "m=audio");
    char *vline = strstr(only_v, "m=video");
    memmove(cut, vline, strlen(vline) + 1);
    CC_CHECK_EQ(parse_str(only_v, o), 0);
    CC_CHECK_EQ(o->n_media, 1);
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), CC_EUNSUPPORTED);
    free(only_v);

    /* Lines not in the BUNDLE group, or passive setup, are rejected. */
    char *nb = replace_all(k_small, "a=group:BUNDLE a v", "a=group:BUNDLE v");
    CC_CHECK_EQ(parse_str(nb, o), 0);
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), CC_EUNSUPPORTED);
    free(nb);
    char *pas = replace_all(k_small, "a=setup:actpass", "a=setup:passive");
    CC_CHECK_EQ(parse_str(pas, o), 0);
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), CC_EUNSUPPORTED);
    free(pas);
}

/* Copy of text without the lines that start with prefix inside the m-section
 * that starts with `section` (up to the next m= line). */
static char *without_lines_in(const char *text, const char *section,
                              const char *prefix)
{
    const char *s = strstr(text, section);
    if (!s)
        return strdup(text);
    const char *e = strstr(s + 1, "\r\nm=");
    e = e ? e + 2 : s + strlen(s);
    char *mid = strndup(s, (size_t)(e - s));
    char *cut = without_lines(mid, prefix);
    char *out = malloc(strlen(text) + 1);
    size_t a = (size_t)(s - text);
    memcpy(out, text, a);
    strcpy(out + a, cut);
    strcat(out, e);
    free(mid);
    free(cut);
    return out;
}

/* Params of a WHEP viewer subscription: we send on both lines. */
static void viewer_params(cc_sdp_answer_params *p)
{
    init_params(p);
    p->send[0] = p->send[1] = 1;
    p->streams[0] = (cc_sdp_send_stream){1111, 0, "lesson", "camera"};
    p->streams[1] = (cc_sdp_send_stream){3333, 0, "lesson", "mic"};
}

/* The offer GStreamer 1.22's webrtcbin sends as a WHEP viewer with
 * bundle-policy max-bundle: video with a port, audio port 0 +
 * a=bundle-only (RFC 8843 section 7.2). The answer accepts both into the
 * BUNDLE group, the video (the tagged m-section, section 7.3.1) first, and
 * writes the audio line like any bundled line (port 9, no bundle-only:
 * RFC 8829 section 5.3.1; webrtcbin 1.22 drops a port-0 answer line). */
static void test_webrtcbin_max_bundle(void)
{
    size_t len;
    char *t = load("webrtcbin-offer-viewer-max-bundle.sdp", &len);
    if (!t) { CC_CHECK(0); return; }
    cc_sdp_offer *o = &g_offer;
    CC_CHECK_EQ(cc_sdp_parse(t, len, o), 0);
    CC_CHECK_EQ(o->n_media, 2);
    CC_CHECK_EQ(o->n_bundle, 2);
    CC_CHECK(!strcmp(o->bundle[0], "video0") && !strcmp(o->bundle[1], "audio1"));
    const cc_sdp_media *v = &o->media[0], *a = &o->media[1];
    CC_CHECK_EQ(v->port, 9);
    CC_CHECK_EQ(v->bundle_only, 0);
    CC_CHECK_EQ(a->port, 0);
    CC_CHECK_EQ(a->bundle_only, 1);
    CC_CHECK_EQ(cc_sdp_media_rejected(o, 0), 0);
    CC_CHECK_EQ(cc_sdp_media_rejected(o, 1), 0);
    CC_CHECK_EQ(cc_sdp_media_rejected(o, 2), 1); /* out of range */
    CC_CHECK_EQ(a->direction, CC_DIR_RECVONLY);
    CC_CHECK(cc_sdp_find_codec(a, "opus") && cc_sdp_find_codec(a, "opus")->pt == 111);
    CC_CHECK(cc_sdp_find_codec(v, "VP8") && cc_sdp_find_codec(v, "VP8")->pt == 96);

    cc_sdp_answer_params p;
    viewer_params(&p);
    cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    CC_CHECK(ch[0].accepted && ch[1].accepted);
    CC_CHECK_EQ(ch[1].pt, 111);
    CC_CHECK_EQ(ch[0].direction, CC_DIR_SENDONLY);
    CC_CHECK_EQ(ch[1].direction, CC_DIR_SENDONLY);
    CC_CHECK_EQ(cc_sdp_bundle_tag(o, ch), 0);
    char *ans = NULL;
    CC_CHECK_EQ(cc_sdp_write_answer(o, &p, ch, &ans), 0);
    if (ans) {
        CC_CHECK(strstr(ans, "a=group:BUNDLE video0 audio1\r\n"));
        CC_CHECK(strstr(ans, "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"));
        CC_CHECK(strstr(ans, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"));
        CC_CHECK(strstr(ans, "a=bundle-only") == NULL);
        CC_CHECK(strstr(ans, "a=inactive") == NULL);
        CC_CHECK(strstr(ans, "a=ssrc:3333 msid:lesson mic\r\n"));
        cc_sdp_offer *ao = &g_answer;
        CC_CHECK_EQ(parse_str(ans, ao), 0);
        check_answer_common(ans, ao, &p);
        check_answer_media(v, &ao->media[0], &ch[0]);
        check_answer_media(a, &ao->media[1], &ch[1]);
        CC_CHECK_EQ(ao->media[1].port, 9);
        free(ans);
    }

    /* The same client with max-compat: real ports, the same answer. */
    size_t len2;
    char *t2 = load("webrtcbin-offer-viewer-max-compat.sdp", &len2);
    CC_CHECK(t2 != NULL);
    if (t2) {
        CC_CHECK_EQ(cc_sdp_parse(t2, len2, o), 0);
        CC_CHECK_EQ(o->media[1].port, 9);
        CC_CHECK_EQ(o->media[1].bundle_only, 0);
        CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
        CC_CHECK(ch[0].accepted && ch[1].accepted);
        CC_CHECK_EQ(cc_sdp_write_answer(o, &p, ch, &ans), 0);
        CC_CHECK(ans && strstr(ans, "a=group:BUNDLE video0 audio1\r\n"));
        free(ans);
        free(t2);
    }

    /* RFC 8843 section 7.1.3 to the letter: a bundle-only section carries
     * no TRANSPORT or IDENTICAL attributes; they are the tagged one's. */
    char *strict = strdup(t);
    const char *drop[] = {"a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:",
                          "a=setup:", "a=rtcp-mux", "a=rtcp-rsize"};
    for (size_t k = 0; k < sizeof drop / sizeof drop[0]; k++) {
        char *n = without_lines_in(strict, "m=audio", drop[k]);
        free(strict);
        strict = n;
    }
    CC_CHECK(strstr(strstr(strict, "m=audio"), "a=ice-ufrag") == NULL);
    CC_CHECK_EQ(parse_str(strict, o), 0);
    CC_CHECK_EQ(o->media[1].bundle_only, 1);
    CC_CHECK_EQ(o->media[1].ice_ufrag[0], 0);
    CC_CHECK_EQ(o->media[1].rtcp_mux, 0);
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    CC_CHECK(ch[0].accepted && ch[1].accepted);
    CC_CHECK_EQ(cc_sdp_bundle_tag(o, ch), 0);
    CC_CHECK(!strcmp(o->media[cc_sdp_bundle_tag(o, ch)].ice_ufrag,
                     o->media[0].ice_ufrag));
    CC_CHECK_EQ(cc_sdp_write_answer(o, &p, ch, &ans), 0);
    if (ans) {
        cc_sdp_offer *ao = &g_answer;
        CC_CHECK_EQ(parse_str(ans, ao), 0);
        check_answer_common(ans, ao, &p);
        /* rtcp-mux and rtcp-rsize come from the tagged line */
        CC_CHECK_EQ(ao->media[1].rtcp_mux, 1);
        CC_CHECK_EQ(ao->media[1].rtcp_rsize, 1);
        free(ans);
    }
    free(strict);
    free(t);
}

/* webrtcbin as a WHIP publisher with max-bundle: sendonly video with a
 * port, sendonly Opus bundle-only. Both are received (recvonly). */
static void test_webrtcbin_publisher(void)
{
    size_t len;
    char *t = load("webrtcbin-offer-publisher-max-bundle.sdp", &len);
    if (!t) { CC_CHECK(0); return; }
    cc_sdp_offer *o = &g_offer;
    CC_CHECK_EQ(cc_sdp_parse(t, len, o), 0);
    CC_CHECK_EQ(o->n_media, 2);
    CC_CHECK_EQ(o->media[1].bundle_only, 1);
    CC_CHECK_EQ(o->media[0].direction, CC_DIR_SENDONLY);
    CC_CHECK_EQ(o->media[1].direction, CC_DIR_SENDONLY);
    CC_CHECK(o->media[1].n_ssrcs >= 1); /* the sender signals its SSRC */
    cc_sdp_answer_params p;
    init_params(&p);
    p.enable_remb = 1;
    cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    CC_CHECK(ch[0].accepted && ch[1].accepted);
    CC_CHECK_EQ(ch[0].direction, CC_DIR_RECVONLY);
    CC_CHECK_EQ(ch[1].direction, CC_DIR_RECVONLY);
    char *ans = NULL;
    CC_CHECK_EQ(cc_sdp_write_answer(o, &p, ch, &ans), 0);
    if (ans) {
        CC_CHECK(strstr(ans, "a=group:BUNDLE video0 audio1\r\n"));
        CC_CHECK(strstr(ans, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"));
        cc_sdp_offer *ao = &g_answer;
        CC_CHECK_EQ(parse_str(ans, ao), 0);
        check_answer_common(ans, ao, &p);
        check_answer_media(&o->media[1], &ao->media[1], &ch[1]);
        free(ans);
    }
    free(t);
}

/* A port-0 line without a=bundle-only is disabled (RFC 8843 section
 * 7.5.3) and stays rejected; a bundle-only line outside the BUNDLE group
 * (malformed: RFC 8843 section 6) is rejected cleanly, the rest answered. */
static void test_bundle_only_rejected(void)
{
    size_t len;
    char *t = load("webrtcbin-offer-viewer-max-bundle.sdp", &len);
    if (!t) { CC_CHECK(0); return; }
    cc_sdp_offer *o = &g_offer;
    cc_sdp_answer_params p;
    viewer_params(&p);
    cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
    char *ans = NULL;

    char *plain0 = without_lines(t, "a=bundle-only");
    CC_CHECK_EQ(parse_str(plain0, o), 0);
    CC_CHECK_EQ(o->media[1].port, 0);
    CC_CHECK_EQ(o->media[1].bundle_only, 0);
    CC_CHECK_EQ(cc_sdp_media_rejected(o, 1), 1);
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    CC_CHECK(ch[0].accepted && !ch[1].accepted);
    CC_CHECK_EQ(cc_sdp_write_answer(o, &p, ch, &ans), 0);
    if (ans) {
        CC_CHECK(strstr(ans, "a=group:BUNDLE video0\r\n"));
        CC_CHECK(strstr(ans, "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n"));
        CC_CHECK(strstr(ans, "a=mid:audio1\r\na=inactive\r\n"));
        CC_CHECK(strstr(ans, "a=bundle-only") == NULL);
        free(ans);
    }
    free(plain0);

    /* bundle-only, but the group does not name it */
    char *outside = replace_all(t, "a=group:BUNDLE video0 audio1",
                                "a=group:BUNDLE video0");
    CC_CHECK_EQ(parse_str(outside, o), 0);
    CC_CHECK_EQ(o->media[1].bundle_only, 1);
    CC_CHECK_EQ(cc_sdp_media_rejected(o, 1), 1);
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    CC_CHECK(ch[0].accepted && !ch[1].accepted);
    CC_CHECK_EQ(cc_sdp_write_answer(o, &p, ch, &ans), 0);
    if (ans) {
        CC_CHECK(strstr(ans, "a=group:BUNDLE video0\r\n"));
        CC_CHECK(strstr(ans, "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n"));
        CC_CHECK(strstr(ans, "a=bundle-only") == NULL);
        cc_sdp_offer *ao = &g_answer;
        CC_CHECK_EQ(parse_str(ans, ao), 0);
        CC_CHECK_EQ(cc_sdp_media_rejected(ao, 1), 1);
        free(ans);
    }
    free(outside);

    /* no BUNDLE group at all */
    char *nogroup = without_lines(t, "a=group:");
    CC_CHECK_EQ(parse_str(nogroup, o), 0);
    CC_CHECK_EQ(o->n_bundle, 0);
    CC_CHECK_EQ(cc_sdp_media_rejected(o, 1), 1);
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    CC_CHECK(ch[0].accepted && !ch[1].accepted);
    free(nogroup);

    /* Only the bundle-only line is usable (video is H264 only): no line
     * with a port can carry the transport, so no BUNDLE group can be made
     * (RFC 8843 section 7.3.1) and the bundle-only line may not leave it:
     * nothing to answer. */
    char *h264 = replace_all(t, "VP8/90000", "H264/90000");
    CC_CHECK_EQ(parse_str(h264, o), 0);
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), CC_EUNSUPPORTED);
    CC_CHECK(!ch[0].accepted && !ch[1].accepted);
    CC_CHECK_EQ(cc_sdp_bundle_tag(o, ch), -1);
    free(h264);

    /* The caller drops the tagged line after choosing (the SFU does for
     * lines without a slot): settling drops the bundle-only one too. */
    CC_CHECK_EQ(parse_str(t, o), 0);
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    ch[0].accepted = 0;
    CC_CHECK_EQ(cc_sdp_settle_bundle(o, ch), -1);
    CC_CHECK(!ch[1].accepted);
    CC_CHECK_EQ(ch[1].pt, -1);
    /* Written without settling, the orphan line is rejected all the same. */
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    ch[0].accepted = 0;
    CC_CHECK_EQ(cc_sdp_write_answer(o, &p, ch, &ans), 0);
    if (ans) {
        CC_CHECK(strstr(ans, "a=group:") == NULL);
        CC_CHECK(strstr(ans, "m=audio 0 ") != NULL);
        free(ans);
    }
    free(t);
}

/* The first line of the group is bundle-only (an offerer must not suggest
 * it as the tagged one, RFC 8843 section 7.2.1): the answerer takes the
 * next mid of the group with a port as the tagged m-section (section
 * 7.3.1), names it first in the answer's group, and takes the transport
 * from it. Both lines bundle-only: nothing can carry the transport. */
static void test_bundle_only_first(void)
{
    size_t len;
    char *t = load("webrtcbin-offer-viewer-max-bundle.sdp", &len);
    if (!t) { CC_CHECK(0); return; }
    /* video: port 0 + bundle-only and no transport of its own; audio: a
     * port and the transport. */
    char *a = replace_all(t, "m=video 9 ", "m=video 0 ");
    char *b = replace_all(a, "a=rtcp-mux\r\na=rtcp-rsize\r\na=recvonly\r\na=rtpmap:96",
                          "a=bundle-only\r\na=rtcp-mux\r\na=rtcp-rsize\r\na=recvonly\r\na=rtpmap:96");
    char *c = replace_all(b, "m=audio 0 ", "m=audio 9 ");
    char *d = replace_all(c, "a=bundle-only\r\na=rtcp-mux\r\na=rtcp-rsize\r\na=recvonly\r\na=rtpmap:111",
                          "a=rtcp-mux\r\na=rtcp-rsize\r\na=recvonly\r\na=rtpmap:111");
    char *e = without_lines_in(d, "m=video", "a=ice-ufrag:");
    char *g = without_lines_in(e, "m=video", "a=ice-pwd:");
    cc_sdp_offer *o = &g_offer;
    CC_CHECK_EQ(parse_str(g, o), 0);
    CC_CHECK_EQ(o->media[0].bundle_only, 1);
    CC_CHECK_EQ(o->media[0].ice_ufrag[0], 0);
    CC_CHECK_EQ(o->media[1].bundle_only, 0);
    CC_CHECK_EQ(o->media[1].port, 9);
    cc_sdp_answer_params p;
    viewer_params(&p);
    cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), 0);
    CC_CHECK(ch[0].accepted && ch[1].accepted);
    CC_CHECK_EQ(cc_sdp_bundle_tag(o, ch), 1);
    CC_CHECK(o->media[1].ice_ufrag[0] != 0);
    char *ans = NULL;
    CC_CHECK_EQ(cc_sdp_write_answer(o, &p, ch, &ans), 0);
    if (ans) {
        CC_CHECK(strstr(ans, "a=group:BUNDLE audio1 video0\r\n"));
        CC_CHECK(strstr(ans, "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"));
        CC_CHECK(strstr(ans, "a=bundle-only") == NULL);
        cc_sdp_offer *ao = &g_answer;
        CC_CHECK_EQ(parse_str(ans, ao), 0);
        check_answer_common(ans, ao, &p);
        check_answer_media(&o->media[1], &ao->media[1], &ch[1]);
        free(ans);
    }

    /* Both bundle-only: no tagged m-section, nothing usable. */
    char *h = replace_all(g, "m=audio 9 ", "m=audio 0 ");
    char *k = replace_all(h, "a=rtcp-mux\r\na=rtcp-rsize\r\na=recvonly\r\na=rtpmap:111",
                          "a=bundle-only\r\na=rtcp-mux\r\na=rtcp-rsize\r\na=recvonly\r\na=rtpmap:111");
    CC_CHECK_EQ(parse_str(k, o), 0);
    CC_CHECK(o->media[0].bundle_only && o->media[1].bundle_only);
    CC_CHECK_EQ(cc_sdp_choose(o, &p, ch), CC_EUNSUPPORTED);
    CC_CHECK(!ch[0].accepted && !ch[1].accepted);
    free(k);
    free(h);
    free(g);
    free(e);
    free(d);
    free(c);
    free(b);
    free(a);
    free(t);
}

/* The client side (src/rtc/sdp_offer.c). An answer written to RFC 8843
 * section 7.3 (bundled lines other than the tagged one with port 0 and
 * a=bundle-only, no transport attributes of their own) is read with both
 * kinds present and the transport of the tagged line. Our own answer to a
 * webrtcbin max-bundle offer (as a WHEP-like offerer would send us)
 * accepts the bundle-only line into the group. */
static void test_client_bundle_only(void)
{
    static const char rfc_answer[] =
        "v=0\r\n"
        "o=- 1 2 IN IP4 127.0.0.1\r\n"
        "s=-\r\n"
        "t=0 0\r\n"
        "a=ice-lite\r\n"
        "a=group:BUNDLE v a\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
        "c=IN IP4 0.0.0.0\r\n"
        "a=mid:v\r\n"
        "a=ice-ufrag:srvU\r\n"
        "a=ice-pwd:0123456789abcdefghij+/\r\n"
        "a=fingerprint:sha-256 AB:CD\r\n"
        "a=setup:passive\r\n"
        "a=rtcp-mux\r\n"
        "a=sendonly\r\n"
        "a=rtpmap:96 VP8/90000\r\n"
        "a=ssrc:1111 cname:x\r\n"
        "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\n"
        "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n"
        "c=IN IP4 0.0.0.0\r\n"
        "a=mid:a\r\n"
        "a=bundle-only\r\n"
        "a=sendonly\r\n"
        "a=rtpmap:111 opus/48000/2\r\n"
        "a=ssrc:3333 cname:x\r\n";
    cc_sdp_answer_info *info = calloc(1, sizeof *info);
    if (!info) { CC_CHECK(0); return; }
    CC_CHECK_EQ(cc_sdp_answer_read(rfc_answer, sizeof rfc_answer - 1, info), 0);
    CC_CHECK(info->video.present && info->audio.present);
    CC_CHECK_EQ(info->audio.pt, 111);
    CC_CHECK_EQ(info->audio.ssrc, 3333u);
    CC_CHECK(!strcmp(info->ice_ufrag, "srvU"));
    CC_CHECK(!strcmp(info->setup, "passive"));
    /* Without a=bundle-only the port-0 audio line is a rejection. */
    char *rej = without_lines(rfc_answer, "a=bundle-only");
    CC_CHECK_EQ(cc_sdp_answer_read(rej, strlen(rej), info), 0);
    CC_CHECK(info->video.present && !info->audio.present);
    free(rej);
    free(info);

    size_t len;
    char *t = load("webrtcbin-offer-viewer-max-bundle.sdp", &len);
    if (!t) { CC_CHECK(0); return; }
    char *sendonly = replace_all(t, "a=recvonly", "a=sendonly");
    cc_sdp_client_answer_params cp = {
        .ice_ufrag = "cliU", .ice_pwd = "0123456789abcdefghij+/",
        .fingerprint = k_fp, .setup = NULL, .candidate = NULL,
    };
    char *ans = NULL;
    CC_CHECK_EQ(cc_sdp_client_answer_write(sendonly, strlen(sendonly), &cp, &ans), 0);
    if (ans) {
        CC_CHECK(strstr(ans, "a=group:BUNDLE video0 audio1\r\n"));
        CC_CHECK(strstr(ans, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"));
        CC_CHECK(strstr(ans, "a=bundle-only") == NULL);
        free(ans);
    }
    /* the bundle-only line outside the group: rejected, video kept */
    char *outside = replace_all(sendonly, "a=group:BUNDLE video0 audio1",
                                "a=group:BUNDLE video0");
    CC_CHECK_EQ(cc_sdp_client_answer_write(outside, strlen(outside), &cp, &ans), 0);
    if (ans) {
        CC_CHECK(strstr(ans, "a=group:BUNDLE video0\r\n"));
        CC_CHECK(strstr(ans, "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n"));
        free(ans);
    }
    free(outside);
    free(sendonly);
    free(t);
}

static void expect_fail(const char *what, const char *text, size_t len,
                        const char *in_error)
{
    cc_sdp_offer *o = &g_offer;
    int rc = cc_sdp_parse(text, len, o);
    CC_CHECK_EQ(rc, CC_EINVAL);
    CC_CHECK(o->error[0] != 0);
    CC_CHECK_EQ(o->n_media, 0);
    if (in_error && !strstr(o->error, in_error)) {
        fprintf(stderr, "%s: error \"%s\" lacks \"%s\"\n", what, o->error,
                in_error);
        CC_CHECK(0);
    }
}

static void test_negative(void)
{
    expect_fail("empty", "", 0, NULL);
    expect_fail("null", NULL, 5, NULL);
    expect_fail("garbage", "hello world\x01\xff", 13, NULL);
    expect_fail("v only", "v=0\r\n", 5, "m-line");
    expect_fail("v=1", "v=1\r\nm=audio 9 X 0\r\n", 20, "v=");
    static const char nul[] = "v=0\r\n\0m=audio 9 RTP/AVP 0\r\n";
    expect_fail("nul", nul, sizeof nul - 1, "NUL");

    size_t len;
    char *t = load("chromium-offer-publisher.sdp", &len);
    if (!t) { CC_CHECK(0); return; }
    char *x = without_lines(t, "a=fingerprint:");
    expect_fail("no fingerprint", x, strlen(x), "fingerprint");
    free(x);
    x = without_lines(t, "a=ice-ufrag:");
    expect_fail("no ufrag", x, strlen(x), "ice-ufrag");
    free(x);
    x = without_lines(t, "a=ice-pwd:");
    expect_fail("no pwd", x, strlen(x), "ice-pwd");
    free(x);

    char longv[400];
    memset(longv, 'A', sizeof longv);
    memcpy(longv, "a=ice-ufrag:", 12);
    memcpy(longv + 300, "\r\n", 3);
    x = replace_all(t, "a=ice-ufrag:KiQ/\r\n", longv);
    expect_fail("long ufrag", x, strlen(x), "too long");
    free(x);
    x = replace_all(t, "a=ice-ufrag:KiQ/", "a=ice-ufrag:K Q/");
    expect_fail("bad ufrag", x, strlen(x), "ice-ufrag");
    free(x);
    memcpy(longv, "a=mid:", 6);
    memcpy(longv + 6 + 64, "\r\n", 3);
    memset(longv + 6, 'm', 64);
    x = replace_all(t, "a=mid:1\r\n", longv);
    expect_fail("long mid", x, strlen(x), "mid");
    free(x);
    x = replace_all(t, "m=audio 55947", "m=audio 99999999999999999999999");
    expect_fail("huge port", x, strlen(x), "port");
    free(x);
    x = replace_all(t, "m=audio 55947", "m=audio 70000");
    expect_fail("port > 65535", x, strlen(x), "port");
    free(x);
    x = replace_all(t, "a=rtpmap:111 opus", "a=rtpmap:4294967297 opus");
    expect_fail("huge pt", x, strlen(x), "rtpmap");
    free(x);
    x = replace_all(t, "a=rtpmap:111 opus/48000/2",
                    "a=rtpmap:111 opus/99999999999999999999/2");
    expect_fail("huge rate", x, strlen(x), "clock");
    free(x);
    x = replace_all(t, "a=ssrc:759283298 cname", "a=ssrc:4294967296 cname");
    expect_fail("huge ssrc", x, strlen(x), "ssrc");
    free(x);
    x = replace_all(t, "a=extmap:4 urn", "a=extmap:1 urn");
    expect_fail("dup extmap id", x, strlen(x), "extmap");
    free(x);
    x = replace_all(t, "a=mid:1", "a=mid:0");
    expect_fail("dup mid", x, strlen(x), "mid");
    free(x);
    x = replace_all(t, "a=setup:actpass", "a=setup:sideways");
    expect_fail("bad setup", x, strlen(x), "setup");
    free(x);
    x = replace_all(t, "a=fingerprint:sha-256 EE:E5", "a=fingerprint:sha-256 EEE5");
    expect_fail("bad fingerprint", x, strlen(x), "fingerprint");
    free(x);
    x = replace_all(t, "a=fmtp:97 apt=96", "a=fmtp:97 apt=9999999999999");
    expect_fail("bad apt", x, strlen(x), "apt");
    free(x);
    free(t);

    /* Malformed a=rid (RFC 8851 section 10) and a=simulcast (RFC 8853
     * section 5.1) lines. */
    t = load("chromium-offer-simulcast.sdp", &len);
    if (!t) { CC_CHECK(0); return; }
    static const struct { const char *from, *to, *err; } bad[] = {
        {"a=rid:q send", "a=rid:q", "rid"},
        {"a=rid:q send", "a=rid:q sendrecv", "rid"},
        {"a=rid:q send", "a=rid:q! send", "rid"},
        {"a=rid:q send", "a=rid: send", "rid"},
        {"a=rid:q send", "a=rid:0123456789abcdef send", "rid"},
        {"a=rid:h send", "a=rid:q send", "rid"},
        {"a=simulcast:send q;h;f", "a=simulcast:", "simulcast"},
        {"a=simulcast:send q;h;f", "a=simulcast:send", "simulcast"},
        {"a=simulcast:send q;h;f", "a=simulcast:sned q;h;f", "simulcast"},
        {"a=simulcast:send q;h;f", "a=simulcast:send q;;f", "simulcast"},
        {"a=simulcast:send q;h;f", "a=simulcast:send q;h;", "simulcast"},
        {"a=simulcast:send q;h;f", "a=simulcast:send ;q", "simulcast"},
        {"a=simulcast:send q;h;f", "a=simulcast:send q,;h", "simulcast"},
        {"a=simulcast:send q;h;f", "a=simulcast:send ~", "simulcast"},
        {"a=simulcast:send q;h;f", "a=simulcast:send ~~q", "simulcast"},
        {"a=simulcast:send q;h;f", "a=simulcast:send q h", "simulcast"},
        {"a=simulcast:send q;h;f", "a=simulcast:send q;h recv", "simulcast"},
        {"a=simulcast:send q;h;f", "a=simulcast:send q send h", "simulcast"},
        {"a=simulcast:send q;h;f", "a=simulcast:send q;h!;f", "simulcast"},
        {"a=simulcast:send q;h;f", "a=simulcast:send rid=q;h", "simulcast"},
        {"a=simulcast:send q;h;f",
         "a=simulcast:send q;h;f;g;0123456789abcdef", "simulcast"},
        {"a=simulcast:send q;h;f",
         "a=simulcast:send q;h;f\r\na=simulcast:send q;h", "simulcast"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        x = replace_all(t, bad[i].from, bad[i].to);
        CC_CHECK(strcmp(x, t) != 0);
        expect_fail(bad[i].to, x, strlen(x), bad[i].err);
        free(x);
    }
    free(t);

    /* Too many m-lines. */
    char big[8192];
    int n = snprintf(big, sizeof big,
                     "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n");
    for (int i = 0; i <= CC_SDP_MAX_MEDIA; i++)
        n += snprintf(big + n, sizeof big - (size_t)n,
                      "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\na=mid:%d\r\n", i);
    expect_fail("17 m-lines", big, (size_t)n, "m-line");

    /* Too many ssrcs on one line. */
    n = snprintf(big, sizeof big,
                 "v=0\r\ns=-\r\nm=audio 0 UDP/TLS/RTP/SAVPF 0\r\n");
    for (int i = 1; i <= CC_SDP_MAX_SSRCS + 1; i++)
        n += snprintf(big + n, sizeof big - (size_t)n,
                      "a=ssrc:%d cname:x\r\n", i);
    expect_fail("9 ssrcs", big, (size_t)n, "ssrc");

    /* Rejected (port 0) lines need no transport attributes. */
    const char *rej = "v=0\r\ns=-\r\nm=video 0 RTP/AVP 31\r\n";
    CC_CHECK_EQ(parse_str(rej, &g_offer), 0);
    CC_CHECK_EQ(g_offer.media[0].port, 0);
    cc_sdp_answer_params p;
    init_params(&p);
    cc_sdp_choice ch[CC_SDP_MAX_MEDIA];
    CC_CHECK_EQ(cc_sdp_choose(&g_offer, &p, ch), CC_EUNSUPPORTED);

    /* Writer refuses bad parameters. */
    CC_CHECK_EQ(parse_str(k_small, &g_offer), 0);
    CC_CHECK_EQ(cc_sdp_choose(&g_offer, &p, ch), 0);
    char *ans = (char *)1;
    p.ice_ufrag = "ab";
    CC_CHECK_EQ(cc_sdp_write_answer(&g_offer, &p, ch, &ans), CC_EINVAL);
    CC_CHECK(ans == NULL);
    p.ice_ufrag = "srvU";
    p.fingerprint = "not a fingerprint";
    CC_CHECK_EQ(cc_sdp_write_answer(&g_offer, &p, ch, &ans), CC_EINVAL);
}

int main(void)
{
    CC_RUN(test_parse_publisher);
    CC_RUN(test_parse_simulcast);
    CC_RUN(test_parse_viewer);
    CC_RUN(test_answer_publisher);
    CC_RUN(test_answer_viewer);
    CC_RUN(test_answer_echo);
    CC_RUN(test_answer_simulcast);
    CC_RUN(test_answer_simulcast_accept);
    CC_RUN(test_answer_simulcast_teacher);
    CC_RUN(test_simulcast_variants);
    CC_RUN(test_small_offer);
    CC_RUN(test_negative);
    CC_RUN(test_webrtcbin_max_bundle);
    CC_RUN(test_webrtcbin_publisher);
    CC_RUN(test_bundle_only_rejected);
    CC_RUN(test_bundle_only_first);
    CC_RUN(test_client_bundle_only);
    CC_TEST_DONE();
}
