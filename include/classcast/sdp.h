/* classcast: SDP offers and answers for WebRTC (RFC 8829, RFC 8866), parsed
 * and written with GStreamer's GstSDPMessage. Pure: text in, structs out.
 * Thread: control plane (any thread; uses GLib allocation). */
#ifndef CLASSCAST_SDP_H
#define CLASSCAST_SDP_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/addr.h"

#define CC_SDP_MAX_MEDIA 32
#define CC_SDP_MAX_CODECS 32
#define CC_SDP_MAX_EXTMAPS 16
#define CC_SDP_MAX_SSRCS 8
#define CC_SDP_MAX_CANDIDATES 8
#define CC_SDP_MAX_ERR 160
#define CC_SDP_MAX_RIDS 4        /* a=rid lines kept per m-line */
#define CC_SDP_MAX_SIM 3         /* simulcast streams kept per direction */
#define CC_SDP_RID_LEN 16        /* rid-id storage, NUL included */

/* rtcp-fb capabilities of a codec (bit flags). */
#define CC_FB_NACK 0x01      /* a=rtcp-fb:PT nack */
#define CC_FB_PLI 0x02       /* a=rtcp-fb:PT nack pli */
#define CC_FB_FIR 0x04       /* a=rtcp-fb:PT ccm fir */
#define CC_FB_REMB 0x08      /* a=rtcp-fb:PT goog-remb */
#define CC_FB_TWCC 0x10      /* a=rtcp-fb:PT transport-cc */

/* Header extensions classcast implements (RFC 8285 URIs). */
#define CC_EXT_URI_MID "urn:ietf:params:rtp-hdrext:sdes:mid"
#define CC_EXT_URI_ABS_SEND_TIME \
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define CC_EXT_URI_TWCC \
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define CC_EXT_URI_AUDIO_LEVEL "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
/* RFC 8852 section 4: RtpStreamId and RepairedRtpStreamId SDES items as
 * header extensions (the rid of a simulcast stream, RFC 8851). */
#define CC_EXT_URI_RID "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
#define CC_EXT_URI_RRID "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"

typedef enum {
    CC_MEDIA_AUDIO = 0,
    CC_MEDIA_VIDEO,
    CC_MEDIA_APPLICATION,
    CC_MEDIA_OTHER,
} cc_media_kind;

typedef enum {
    CC_DIR_SENDRECV = 0,
    CC_DIR_SENDONLY,
    CC_DIR_RECVONLY,
    CC_DIR_INACTIVE,
} cc_direction;

typedef struct cc_sdp_codec {
    int pt;
    char name[32];      /* as written: "VP8", "opus", "rtx" ... */
    int clock_rate;
    int channels;       /* 0 if not given */
    char fmtp[256];     /* raw a=fmtp parameters, "" if none */
    int apt;            /* for rtx: the associated payload type, else -1 */
    unsigned fb;        /* CC_FB_* */
} cc_sdp_codec;

typedef struct cc_sdp_extmap {
    int id;
    char uri[160];
} cc_sdp_extmap;

typedef struct cc_sdp_media {
    cc_media_kind kind;
    char kind_name[16];          /* "audio", "video", "application" ... */
    char mid[64];
    int port;                    /* 0: rejected, unless bundle_only */
    int bundle_only;             /* a=bundle-only on a port-0 section: to be
                                  * accepted only inside the BUNDLE group
                                  * (RFC 8843 section 6); its transport is
                                  * the tagged section's */
    char proto[48];              /* "UDP/TLS/RTP/SAVPF" */
    cc_direction direction;
    int rtcp_mux;
    int rtcp_rsize;
    char ice_ufrag[256];         /* media-level, else copied from session */
    char ice_pwd[256];
    char fp_alg[16];             /* media-level, else copied from session */
    char fp[160];
    char setup[16];              /* "actpass", "active", "passive" */
    cc_sdp_codec codecs[CC_SDP_MAX_CODECS];
    int n_codecs;
    cc_sdp_extmap extmaps[CC_SDP_MAX_EXTMAPS];
    int n_extmaps;
    uint32_t ssrcs[CC_SDP_MAX_SSRCS];   /* a=ssrc ids, in order, unique */
    int n_ssrcs;
    uint32_t fid_primary;        /* a=ssrc-group:FID primary, 0 if none */
    uint32_t fid_rtx;
    char msid[160];              /* a=msid value, "" if none */
    char cname[128];             /* cname of the first a=ssrc, "" if none */
    /* a=rid:<id> <send|recv> [restrictions] (RFC 8851 section 10), in
     * order; restrictions are not read. Lines past CC_SDP_MAX_RIDS are
     * checked and ignored. */
    int n_rids;
    char rids[CC_SDP_MAX_RIDS][CC_SDP_RID_LEN];
    int rid_recv[CC_SDP_MAX_RIDS];   /* 1: direction recv, 0: send */
    /* a=simulcast (RFC 8853 section 5.1): the streams of its send and recv
     * lists in the order written, each by the rid-id of its first
     * alternative; sim_paused[i]: that alternative had the "~" prefix.
     * Streams past CC_SDP_MAX_SIM are checked and ignored. */
    int n_sim;
    char sim[CC_SDP_MAX_SIM][CC_SDP_RID_LEN];
    int sim_paused[CC_SDP_MAX_SIM];
    int n_sim_recv;
    char sim_recv[CC_SDP_MAX_SIM][CC_SDP_RID_LEN];
    int sim_recv_paused[CC_SDP_MAX_SIM];
} cc_sdp_media;

typedef struct cc_sdp_offer {
    int n_media;
    cc_sdp_media media[CC_SDP_MAX_MEDIA];
    char bundle[CC_SDP_MAX_MEDIA][64];   /* a=group:BUNDLE mids */
    int n_bundle;
    int ice_lite;
    int trickle;                          /* a=ice-options:trickle */
    char error[CC_SDP_MAX_ERR];           /* why parsing failed */
} cc_sdp_offer;

/* Parse an offer (any SDP really). Returns 0 or CC_EINVAL with
 * offer->error set: not SDP, no m-line, missing ice-ufrag/ice-pwd or
 * fingerprint for an m-line with a port (a bundle-only section may leave
 * them out, RFC 8843 section 7.1.3), more than the limits above ... */
int cc_sdp_parse(const char *text, size_t len, cc_sdp_offer *offer);

/* 1 if m-line i is rejected or disabled by the SDP itself: port 0 without
 * a=bundle-only (RFC 3264 section 6, RFC 8843 section 7.5.3), or a
 * bundle-only section that is not in the BUNDLE group (malformed: bundle-only
 * means "only inside the group", RFC 8843 section 6). Every "port == 0"
 * test on a parsed description goes through this. */
int cc_sdp_media_rejected(const cc_sdp_offer *o, int i);

/* Codec of a media by name (case-insensitive), the first in m-line order,
 * skipping rtx/red/ulpfec; NULL if none. */
const cc_sdp_codec *cc_sdp_find_codec(const cc_sdp_media *m, const char *name);
/* rtx codec whose apt is `pt`, or NULL. */
const cc_sdp_codec *cc_sdp_find_rtx(const cc_sdp_media *m, int pt);
/* Extmap id for a URI, or 0 if absent. */
int cc_sdp_find_extmap(const cc_sdp_media *m, const char *uri);

/* What classcast chose for one m-line of the offer. */
typedef struct cc_sdp_choice {
    int accepted;      /* 0: answered with port 0 */
    int pt;            /* VP8 for video, opus for audio */
    int rtx_pt;        /* rtx for pt if offered and wanted, else -1 */
    unsigned fb;       /* fb of pt we keep: nack, nack pli, ccm fir (+ remb,
                        * transport-cc if enable_twcc/enable_remb) */
    int ext_mid, ext_abs_send_time, ext_twcc, ext_audio_level; /* 0 = none */
    cc_direction direction;  /* of the answer */
    /* Simulcast received on this m-line (only with accept_simulcast): the
     * rids accepted, in the offer's a=simulcast:send order (the order the
     * publisher chose; classcast's teacher page lists the lowest layer
     * first). n_sim is 0 (no simulcast) or 2..CC_SDP_MAX_SIM. ext_rid /
     * ext_rrid: the offer's extmap ids of CC_EXT_URI_RID / CC_EXT_URI_RRID,
     * kept in the answer; ext_rid is never 0 when n_sim > 0, ext_rrid is 0
     * if not offered. */
    int n_sim;
    char sim[CC_SDP_MAX_SIM][CC_SDP_RID_LEN];
    int sim_paused[CC_SDP_MAX_SIM];  /* offered paused ("~"): no packets
                                      * until the sender resumes it */
    int ext_rid, ext_rrid;
} cc_sdp_choice;

/* One stream classcast sends on an m-line (signalled with a=msid/a=ssrc). */
typedef struct cc_sdp_send_stream {
    uint32_t ssrc;
    uint32_t rtx_ssrc;   /* 0: no RTX */
    char stream_id[64];
    char track_id[64];
} cc_sdp_send_stream;

typedef struct cc_sdp_answer_params {
    const char *ice_ufrag;
    const char *ice_pwd;
    const char *fingerprint;      /* sha-256, "AB:CD:..." */
    const char *cname;
    cc_addr candidates[CC_SDP_MAX_CANDIDATES]; /* host candidates (IP+port) */
    int n_candidates;
    int want_rtx;                 /* keep rtx for VP8 when offered */
    int enable_twcc;              /* keep transport-cc ext + fb */
    int enable_remb;              /* keep goog-remb fb */
    int accept_simulcast;         /* take a=simulcast:send on video m-lines
                                   * (see cc_sdp_choose) */
    /* Per offer m-line index: will classcast send on it, and what. */
    int send[CC_SDP_MAX_MEDIA];
    cc_sdp_send_stream streams[CC_SDP_MAX_MEDIA];
} cc_sdp_answer_params;

/* Choose codecs and extensions for every m-line: VP8 for video, opus for
 * audio, by the offer's own payload types; m-lines with neither (or
 * application / unknown kinds) are rejected. Direction mirrors the offer:
 * offer sendrecv -> sendrecv if send[i] else recvonly; offer recvonly ->
 * sendonly if send[i] else inactive; offer sendonly -> recvonly;
 * inactive -> inactive.
 * With accept_simulcast, an accepted video m-line that the offer sends on
 * or has turned off (sendonly, sendrecv, inactive: a sender turned off
 * keeps its simulcast, see sdp_answer.c) with a=simulcast:send and the rid
 * extension gets
 * the streams whose first alternative is a rid declared "send", paused
 * ones included and flagged (duplicates and streams past CC_SDP_MAX_SIM
 * dropped) if 2 or more remain: choices[i].n_sim / sim / sim_paused /
 * ext_rid / ext_rrid; otherwise n_sim 0
 * and the m-line is answered as without simulcast (the offerer then sends
 * one stream: RFC 8853 section 5.3). Without accept_simulcast n_sim is 0.
 * Returns 0, or CC_EUNSUPPORTED if nothing usable. */
int cc_sdp_choose(const cc_sdp_offer *offer, const cc_sdp_answer_params *p,
                  cc_sdp_choice choices[CC_SDP_MAX_MEDIA]);

/* RFC 8843 section 7.3.1: the offerer tagged m-section of the answer, i.e.
 * the first mid of the offer's BUNDLE group whose m-line is accepted and
 * has a port (never a bundle-only one); without a BUNDLE group, the first
 * accepted m-line with a port. Its index, or -1 if there is none. Its
 * ICE credentials, fingerprint and setup are the transport's. */
int cc_sdp_bundle_tag(const cc_sdp_offer *offer,
                      const cc_sdp_choice choices[CC_SDP_MAX_MEDIA]);

/* After the caller changed choices[].accepted (the SFU drops m-lines it has
 * no slot for): if no tagged m-section is left, no BUNDLE group can be made
 * and the bundle-only m-lines, which may not leave it, are rejected too
 * (RFC 8843 sections 7.3.1, 7.3.2). cc_sdp_choose does this itself.
 * Returns cc_sdp_bundle_tag. */
int cc_sdp_settle_bundle(const cc_sdp_offer *offer,
                         cc_sdp_choice choices[CC_SDP_MAX_MEDIA]);

/* Write the answer: session a=ice-lite, a=group:BUNDLE of accepted mids,
 * a=msid-semantic; per m-line a=mid, a=ice-ufrag/pwd, a=fingerprint:sha-256,
 * a=setup:passive, a=rtcp-mux, a=rtcp-rsize if offered, direction, rtpmap /
 * fmtp / rtcp-fb of the chosen payloads, extmaps chosen, a=msid + a=ssrc
 * cname/msid (+ a=ssrc-group:FID) for streams sent, for an m-line with
 * n_sim > 0 a=rid:<id> recv per stream and a=simulcast:recv <id>;<id>...
 * ("~<id>" for sim_paused; RFC 8851 section 6.2, RFC 8853 section 5.3:
 * the direction reversed),
 * host candidates and
 * a=end-of-candidates. The tagged m-section (cc_sdp_bundle_tag) is named
 * first in the BUNDLE group (RFC 8843 section 7.3.1); an accepted m-line
 * the offer made bundle-only is in the group and written like the others,
 * port 9 and no a=bundle-only (RFC 8829 section 5.3.1; see sdp_answer.c for why
 * not RFC 8843 section 7.3's port 0). *out is malloc'd, NUL-terminated;
 * caller frees. */
int cc_sdp_write_answer(const cc_sdp_offer *offer,
                        const cc_sdp_answer_params *p,
                        const cc_sdp_choice choices[CC_SDP_MAX_MEDIA],
                        char **out);

#endif
