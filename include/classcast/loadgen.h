/* classcast: the load generator (`classcast-loadgen`): one process that
 * runs an optional WHIP publisher (a recorded VP8 + Opus RTP stream, see
 * rtpfile.h) and N WHEP subscribers, each a full WebRTC client (ICE, DTLS
 * client, SRTP: cc_client) on its own UDP socket, all in one epoll loop.
 * Per subscriber it counts packets, bytes, losses (sequence gaps not filled
 * by reordering or NACK repair), duplicates, and the added latency
 * (publisher send -> subscriber receive on the same monotonic clock,
 * matched by a fingerprint of the RTP payload, which the SFU forwards
 * unchanged apart from the VP8 PictureID); it sends receiver reports every
 * second and NACKs for gaps, as a browser does.
 * Verification: the first `verify_sample` subscribers unprotect (SRTP
 * authenticate) every packet; the rest count packets by the cleartext RTP
 * header only (the report says which). Latency comes from the verified
 * ones (the payload is encrypted for the others).
 * Every loop is bounded: setup timeout + duration + a short drain.
 * With churn_rate, subscribers leave and join all through the window.
 * Joins: per subscriber, the time from its POST to the answer, ICE, SRTP
 * keys, the first RTP packet and the first complete VP8 keyframe (all its
 * packets in: what a decoder needs for a first picture).
 * Thread: the caller's (blocking). */
#ifndef CLASSCAST_LOADGEN_H
#define CLASSCAST_LOADGEN_H

typedef struct cc_loadgen_config {
    const char *whep_url;        /* required (unless janus_url) */
    /* Janus mode (docs/bench-janus.md): the VideoRoom HTTP API base URL
     * (http://HOST:8088/janus) and room; the publisher (needs video_file
     * and/or audio_file) joins and publishes, each subscriber gets its own
     * Janus session, joins the publisher's feed and answers Janus's offer
     * as the controlled ICE agent and DTLS client. whep/whip URLs unused. */
    const char *janus_url;
    long long janus_room;
    const char *whep_token;      /* may be NULL */
    const char *whip_url;        /* NULL: no publisher (someone else sends) */
    const char *whip_token;
    const char *video_file;      /* RFC 4571 RTP (rtpvp8pay ! rtpstreampay) */
    const char *audio_file;      /* RFC 4571 RTP (rtpopuspay ! rtpstreampay) */
    int subscribers;             /* N */
    double duration_s;           /* measured time after setup */
    double setup_timeout_s;      /* 0: 15 s */
    double settle_s;             /* wait this long after setup before the
                                  * window opens (the backlog of setup's
                                  * handshakes and keyframes drains) */
    const char *bind;            /* local address (default 127.0.0.1) */
    const char *sub_net;         /* "A.B.C.D/P": subscriber i at address
                                  * A.B.C.D + 1 + i, all on one socket
                                  * (see multi_open in loadgen.c); NULL:
                                  * one socket per subscriber on `bind` */
    int verify_sample;           /* K subscribers fully SRTP-checked */
    const char *json_path;       /* NULL: no JSON */
    int check;                   /* exit 1 if a subscriber failed, got no
                                  * video or audio, or lost packets */
    int per_subscriber;          /* print one line per subscriber */
    double impair_loss_pct;      /* drop this % of received video (seeded) */
    double video_kbps, audio_kbps; /* the rates the media files should have
                                  * (checked against what was sent; 0: any) */
    /* Churn (docs/loadgen.md, "Churn"): > 0: during the window, this many
     * times a second the oldest subscriber leaves (WHEP DELETE, transport
     * closed) and a new one joins in its place (new WHEP POST, new
     * transport): churn_rate joins and churn_rate leaves a second, N live.
     * Not with janus_url or sub_net. */
    double churn_rate;
    /* The class bell (scripts/bench/join, docs/loadgen.md "Joins"): > 0:
     * the last bell_joiners subscribers do not join with the others but
     * at bell_at_unix (CLOCK_REALTIME seconds), their WHEP POSTs spread
     * evenly over bell_spread_s; the window opens once the others (the
     * watchers) are settled. The summary gives each joiner's time from
     * its POST to its first complete keyframe, and the watchers' added
     * latency before and during the bell (from the bell to
     * bell_spread_s + bell_watch_s after it; bell_watch_s 0: 3 s). */
    double bell_at_unix;
    int bell_joiners;
    double bell_spread_s;
    double bell_watch_s;
} cc_loadgen_config;

/* Runs the test; prints the summary on stdout. Returns the process exit
 * status: 0 (ok), 1 (a --check failed), 2 (setup error). */
int cc_loadgen_run(const cc_loadgen_config *cfg);

#endif
