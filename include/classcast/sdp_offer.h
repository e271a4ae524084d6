/* classcast: the client side of SDP (RFC 8829, RFC 8866): the offer a WHIP
 * publisher or WHEP viewer sends (written with GStreamer's GstSDPMessage)
 * and what it needs from the server's answer (read with cc_sdp_parse, plus
 * the a=candidate lines, which cc_sdp_parse does not keep).
 * Pure: text in, structs out. Thread: any (uses GLib allocation). */
#ifndef CLASSCAST_SDP_OFFER_H
#define CLASSCAST_SDP_OFFER_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/addr.h"

/* Payload types and extension ids this offer uses (the answer must echo
 * the offer's, RFC 8829 section 5.3.1). */
#define CC_OFFER_PT_VP8 96
#define CC_OFFER_PT_OPUS 111
#define CC_OFFER_EXT_MID 1
#define CC_OFFER_EXT_ABS_SEND_TIME 2
#define CC_OFFER_EXT_TWCC 3        /* only with transport_cc = 1 */
#define CC_OFFER_EXT_RID 4         /* only with n_rids >= 2 */
#define CC_OFFER_MAX_RIDS 3

typedef struct cc_sdp_offer_params {
    const char *ice_ufrag;      /* >= 4 ice-chars */
    const char *ice_pwd;        /* >= 22 ice-chars */
    const char *fingerprint;    /* sha-256 "AB:CD:..." of our certificate */
    int send;                   /* 1: sendonly (WHIP), 0: recvonly (WHEP) */
    int video, audio;           /* m-lines to include (video first) */
    /* send == 1: the streams, signalled with a=msid and a=ssrc. */
    uint32_t video_ssrc, audio_ssrc;
    const char *cname;
    const char *stream_id;
    /* Our host candidate (optional: an ICE-lite server needs none). */
    const cc_addr *candidate;
    /* 1: offer transport-wide congestion control
     * (draft-holmer-rmcat-transport-wide-cc-extensions-01): the extmap
     * CC_EXT_URI_TWCC as CC_OFFER_EXT_TWCC and a=rtcp-fb:PT transport-cc
     * on both codecs. Only for a sender that numbers its packets and
     * reads the feedback (classcast-publish); a receiver offering it
     * would be expected to send feedback. */
    int transport_cc;
    /* send == 1: the video as n_rids >= 2 simulcast encodings (RFC 8853),
     * their rid-ids lowest first (the order Chromium writes and the
     * classcast SFU reads). The video m-line then carries a=rid:<id> send
     * each (RFC 8851 section 10), a=simulcast:send <id>;<id>... and the
     * extmap CC_EXT_URI_RID as CC_OFFER_EXT_RID, and, as Chromium's, no
     * a=ssrc (the receiver binds SSRCs by the mid and rid header
     * extensions, RFC 8852 section 3). 0 or 1: one encoding. */
    int n_rids;
    const char *rids[CC_OFFER_MAX_RIDS];
} cc_sdp_offer_params;

/* Writes a BUNDLE offer: a=setup:actpass (RFC 8842 section 5.2), rtcp-mux,
 * rtcp-rsize, VP8 with nack / nack pli / ccm fir, Opus with
 * minptime=10;useinbandfec=1, extmaps mid and abs-send-time (and
 * transport-cc, see transport_cc). *out is
 * malloc'd; the caller frees it. 0, CC_EINVAL or CC_ENOMEM. */
int cc_sdp_offer_write(const cc_sdp_offer_params *p, char **out);

/* One m-line of the answer, as the client needs it. */
typedef struct cc_sdp_answer_media {
    int present;                /* accepted (port != 0) */
    char mid[64];
    int pt;                     /* VP8 / opus as answered, -1 none */
    int clock_rate;
    unsigned fb;                /* CC_FB_* for pt */
    uint32_t ssrc;              /* the server's a=ssrc (recvonly offer) */
    int ext_mid;                /* 0: not negotiated */
    int ext_abs_send_time;
    int ext_twcc;               /* transport-wide seq id; usable only with
                                   CC_FB_TWCC in fb */
    int direction;              /* cc_direction of the answer */
    /* The answer's a=simulcast:recv (RFC 8853 section 5.3): the streams it
     * takes, in its order, each by the rid-id of its first alternative;
     * sim_paused[i]: written "~id". n_sim 0: none. ext_rid: the extmap id
     * of CC_EXT_URI_RID in the answer (0: not kept, then the streams
     * cannot be told apart and simulcast is off). */
    int n_sim;
    char sim[CC_OFFER_MAX_RIDS][16];
    int sim_paused[CC_OFFER_MAX_RIDS];
    int ext_rid;
} cc_sdp_answer_media;

typedef struct cc_sdp_answer_info {
    char ice_ufrag[256], ice_pwd[256];
    char fp_alg[16], fp[160];
    char setup[16];             /* "passive" (usual) or "active" */
    int ice_lite;
    cc_addr candidate;          /* first UDP host candidate, component 1 */
    cc_sdp_answer_media video, audio;
    char error[160];
} cc_sdp_answer_info;

/* Parse an answer to an offer from cc_sdp_offer_write. Returns 0, or
 * CC_EINVAL with info->error set (unparsable, no accepted m-line, no
 * usable candidate ...). */
int cc_sdp_answer_read(const char *text, size_t len, cc_sdp_answer_info *info);

/* Read a remote OFFER (Janus's VideoRoom subscriber offer: Janus offers,
 * we answer) into the same struct: credentials, fingerprint, setup
 * (actpass allowed), candidate, per kind the VP8/opus PT and the first
 * a=ssrc (or the FID group's primary). 0 or CC_EINVAL with info->error. */
int cc_sdp_remote_offer_read(const char *text, size_t len, cc_sdp_answer_info *info);

/* Our answer to a remote offer: receive-only. */
typedef struct cc_sdp_client_answer_params {
    const char *ice_ufrag;      /* >= 4 ice-chars */
    const char *ice_pwd;        /* >= 22 ice-chars */
    const char *fingerprint;    /* sha-256 of our certificate */
    const char *setup;          /* NULL: "active" (we are the DTLS client) */
    const cc_addr *candidate;   /* our host candidate (a full-ICE offerer
                                 * needs one to check); NULL: none */
} cc_sdp_client_answer_params;

/* Writes a minimal recvonly answer to `offer` (RFC 8829 section 5.3): one
 * m-line per offered m-line, in order, with the offer's mids; audio (opus)
 * and video (VP8) accepted with the offer's payload types (VP8 keeps nack,
 * nack pli, ccm fir if offered; no rtx), everything else rejected (port
 * 0); BUNDLE of the accepted mids, rtcp-mux, our credentials, fingerprint,
 * a=setup, candidate + end-of-candidates. *out is malloc'd. 0, CC_EINVAL
 * (unparsable offer, nothing to accept) or CC_ENOMEM. */
int cc_sdp_client_answer_write(const char *offer, size_t len,
                        const cc_sdp_client_answer_params *p, char **out);

/* The first "a=candidate:" line with component 1, transport UDP and an
 * IPv4/IPv6 address (typ host preferred, else the first). 0 or
 * CC_ENOTFOUND. */
int cc_sdp_find_candidate(const char *text, size_t len, cc_addr *out);

#endif
