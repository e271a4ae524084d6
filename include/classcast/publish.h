/* classcast: `classcast-publish`: the media core as a WHIP client (RFC 9725).
 * Captures, encodes and packetizes local sources (src/media/source.c) and
 * sends them to any WHIP endpoint over classcast's own client transport
 * (ICE, DTLS client, SRTP; src/rtc/client.c, src/tools/sender.c).
 * Thread: the caller's (a blocking run loop), plus one thread per source. */
#ifndef CLASSCAST_PUBLISH_H
#define CLASSCAST_PUBLISH_H

typedef struct cc_publish_config {
    const char *whip_url;
    const char *token;          /* Bearer token, or NULL */
    const char *sources;        /* "test-video,test-audio", "screen,mic" ... */
    const char *pipelines_dir;
    const char *display;
    const char *bind;           /* local UDP address (default 0.0.0.0) */
    int width, height, fps;
    int video_kbps;             /* 0: default; with simulcast the total,
                                   shared 60/28/12 (include/classcast/vp8enc.h) */
    /* Camera simulcast encodings (RFC 8853): 1..3, 0 the default (3 for a
     * camera of at least 640x360 whose sizes halve evenly, else 1). The
     * screen is always one. Without a=simulcast in the answer: one. */
    int simulcast;
    double duration_s;          /* 0: until interrupted */
    volatile int *stop;         /* set non-zero (e.g. by SIGINT) to end */
} cc_publish_config;

/* Runs until the duration passes, *stop is set or the transport fails;
 * DELETEs the session at the end. Returns 0, or a negative code after
 * printing why on stderr. */
int cc_publish_run(const cc_publish_config *cfg);

#endif
