/* classcast loadgen: types and functions shared by src/tools/loadgen.c
 * (WHIP/WHEP endpoints, receive statistics, the run loop),
 * src/tools/loadgen_report.c (the summary and the benchmark contract) and
 * src/tools/loadgen_janus.c (Janus VideoRoom signalling). Internal:
 * not installed, not part of the API. */
#ifndef CLASSCAST_LOADGEN_INT_H
#define CLASSCAST_LOADGEN_INT_H

#include "classcast/loadgen.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "classcast/client.h"
#include "classcast/demux.h"
#include "classcast/dtls.h"
#include "classcast/err.h"
#include "classcast/ice.h"
#include "classcast/log.h"
#include "classcast/nack.h"
#include "classcast/rand.h"
#include "classcast/rtcp.h"
#include "classcast/rtp.h"
#include "classcast/rtpfile.h"
#include "classcast/sdp.h"
#include "classcast/sdp_offer.h"
#include "classcast/sender.h"
#include "classcast/srtp.h"
#include "classcast/track.h"
#include "classcast/udp.h"
#include "classcast/vp8.h"
#include "classcast/whipc.h"

#define LG "loadgen"
#define SEQ_WIN 4096                    /* dup detection window (packets) */
#define RR_INTERVAL CC_USEC_PER_SEC
#define DRAIN_US (800 * CC_USEC_PER_MSEC)
/* Subscribers' timers (ICE/DTLS retransmits, consent, NACK, RR) are served
 * every SERVICE_US, not on every loop turn: with 2000 subscribers a full
 * pass per received batch would cost more than the receiving itself. */
#define SERVICE_US (2 * CC_USEC_PER_MSEC)
/* WHEP POSTs (and DELETEs) run on this many threads, blocking libcurl
 * each, so that setup of thousands of subscribers takes seconds. */
#define HTTP_THREADS 8
#define LAT_TABLE 32768                 /* payload fingerprint -> send time */
/* Latency histogram: 10 us buckets up to 100 ms, then 1 ms up to 10 s. */
#define H_FINE 10000
#define H_COARSE 9900
#define H_N (H_FINE + H_COARSE + 1)

typedef struct lat_hist {
    uint32_t *b;    /* H_N buckets */
    uint64_t n;
    cc_time_us max, sum;
} lat_hist;


/* One received stream (the server's SSRC for video or audio). */
typedef struct rx_stream {
    int active;
    uint32_t ssrc;
    int video;
    int started;
    uint64_t ext_base, ext_max;         /* extended sequence numbers */
    uint64_t seen[SEQ_WIN / 64];        /* bit per ext seq mod SEQ_WIN */
    uint64_t packets;                   /* every arrival, duplicates too */
    uint64_t unique;
    uint64_t dups;
    uint64_t too_old;                   /* older than the window: ignored */
    uint64_t w_unique, w_expected, w_dups; /* at the window's start */
    uint64_t bytes;
    cc_track tr;                        /* RR statistics (RFC 3550 A.3/A.8) */
    cc_nack nack;                       /* browser-like NACK generation */
} rx_stream;

typedef struct ep {
    int is_pub;
    int idx;
    int verify;                  /* SRTP-authenticate every packet */
    cc_udp *udp;                 /* its own, or the shared one (shared) */
    int shared;                  /* on lg.multi with its own address */
    cc_addr local;               /* its candidate: address and port */
    cc_client *client;
    cc_sender *sender;           /* publisher only */
    char location[CC_WHIPC_URL_MAX];
    char error[200];
    cc_time_us post_at, answered_at;
    /* Setup split across threads: prepared here (socket, credentials,
     * offer), POSTed on an HTTP thread, finished in the loop. */
    char ufrag[CC_ICE_UFRAG_LEN + 1], pwd[CC_ICE_PWD_LEN + 1];
    uint32_t vssrc, assrc;
    char *offer;
    atomic_int post_done;        /* set (release) by the HTTP thread */
    int post_rc, finished;
    cc_whipc_result res;
    long long jsession, jhandle;  /* Janus mode: our session and handle */
    unsigned jtx;                /* Janus transaction counter */
    uint32_t rtcp_ssrc;
    char cname[17];
    rx_stream rx[2];             /* 0 video, 1 audio */
    cc_time_us next_rr;
    cc_time_us due;              /* subscriber: next ep_service needed (0:
                                  * now); lets the loop skip idle ones */
    uint64_t nacks_sent, nack_seqs, rr_sent, sr_received, unknown_ssrc;
    uint64_t rtp_auth_fail, lat_unmatched, impaired;
    lat_hist lat;      /* publisher send -> the kernel queued it here */
    lat_hist lat_read; /* publisher send -> this loop read it */
    /* Join timing (mono us; 0: not yet): the first RTP packet, the first
     * video packet, the first keyframe's first packet and the moment all
     * of its packets were in (RTP timestamp kf_ts, sequence numbers
     * kf_first..kf_end, kf_count first arrivals). */
    cc_time_us first_rtp_at, first_video_at, kf_start_at, kf_done_at;
    uint32_t kf_ts, kf_count;
    uint16_t kf_first, kf_end;
    int kf_have_end;
    /* The bell (cfg->bell_joiners): this one joins at bell_due (mono). */
    int joiner;
    cc_time_us bell_due;
    /* --churn (loadgen_churn.c): the DELETE of this life's session, done
     * on an HTTP thread (read by the loop after the hand-back). */
    int del_rc;
    cc_time_us del_us;
} ep;

/* Latency samples of one second of the window: where in time the slow
 * ones are (a backlog left by setup drains in the first seconds; a steady
 * overload grows all along). */
typedef struct lat_second {
    uint64_t n, over5ms, over50ms;
    cc_time_us max;
} lat_second;

typedef struct lat_entry {
    uint64_t key;
    cc_time_us at;
} lat_entry;

typedef struct lg {
    const cc_loadgen_config *cfg;
    cc_dtls_ctx *dtls;
    int epfd;
    ep *pub;
    ep *subs;
    int n_subs, n_created;
    lat_entry *lat_table;
    cc_rtpfile *vfile, *afile;
    uint64_t pub_sent;
    cc_prng impair;  /* seeded: --impair-loss drops of received video */
    int measuring;   /* latency samples only once setup is over */
    cc_time_us rx_at; /* the datagram being handled: when the kernel
                       * received it (mono; the read time if unknown) */
    atomic_int http_next;        /* next subscriber index for the HTTP threads */
    int http_delete;             /* threads DELETE instead of POST */
    /* The measurement window (the fan-out benchmark's contract). */
    double window_start_unix, window_end_unix, setup_s;
    int window_closed, n_connected_at_start;
    uint64_t pub_w_packets, pub_w_bytes[2];
    double pace_bps;             /* video pacer rate (0: none) */
    cc_time_us pace_next;
    long long janus_feed;        /* Janus: the publisher's id (set before
                                  * the subscriber threads start) */
    atomic_int ka_stop;          /* Janus keepalive thread: stop */
    /* --sub-net: one socket for every subscriber, subscriber i at address
     * net_base + 1 + i (host order) on that socket's port. */
    cc_udp *multi;
    uint32_t net_base, net_size;
    uint64_t rx_unknown_dst;     /* datagrams to an address of no subscriber */
    cc_time_us measure_start;
    lat_second *lat_sec;         /* one per second of the window */
    int n_lat_sec;
    /* The longest the loop went without reading its sockets once the
     * window opened (a blocking call or a long pass shows here). */
    cc_time_us loop_gap_max, loop_gap_at;
    cc_time_us loop_gap_cpu;     /* of it, on the CPU (the rest: waiting
                                  * for a core on a busy machine) */
    struct lg_churn *churn;      /* --churn: loadgen_churn.c, else NULL */
    /* The bell: when (mono), its watch period's end, the watchers' added
     * latency before it (in the window) and during it; n_watch = the
     * subscribers that are not joiners. */
    cc_time_us bell_mono, bell_end;
    lat_hist lat_calm, lat_bell;
    int n_watch, bell_late;
} lg;


/* Janus VideoRoom (loadgen_janus.c): POST the publisher / a subscriber on
 * a setup thread (0 or a CC_E* code with e->error set), destroy its
 * session, and the keepalive thread (ud: the lg). */
int janus_pub_post(lg *g, ep *e);
int janus_sub_post(lg *g, ep *e);
void janus_destroy(const char *base, ep *e);
void *janus_ka_thread(void *ud);

/* loadgen.c, shared with loadgen_churn.c: the subscriber's life cycle
 * (prepare: socket and offer; post: the blocking WHEP POST, any thread;
 * finish: the answer into a client; service: timers and output; close:
 * everything freed), and its statistics (cc_lg_ep_state is in
 * loadgen_report.c). */
int cc_lg_ep_prepare(lg *g, ep *e);
void cc_lg_ep_post(lg *g, ep *e);
int cc_lg_ep_finish(lg *g, ep *e);
void cc_lg_ep_service(ep *e, cc_time_us now, int paused);
void cc_lg_ep_close(lg *g, ep *e);
int cc_lg_connected(const ep *e);
int cc_lg_settled(const ep *e);
const char *cc_lg_ep_state(const ep *e);
void cc_lg_hist_add(lat_hist *h, cc_time_us us);
double cc_lg_hist_q(const lat_hist *h, double q);
/* Adds h's samples into `into` (when both have buckets). */
void cc_lg_hist_merge(lat_hist *into, const lat_hist *h);
uint64_t cc_lg_rx_expected(const rx_stream *r);
uint64_t cc_lg_rx_lost(const rx_stream *r);
cc_time_us cc_lg_thread_cpu_us(void); /* this thread's CPU time */

/* loadgen_report.c: the run's summary (stdout, and --json when asked;
 * returns the exit status: 1 if --check failed, else 0), and the benchmark
 * contract's one JSON line on stdout (the measurement window only). */
int cc_lg_report(lg *g, double measured_s, double cpu_s, int setup_failed);
void cc_lg_print_contract_json(lg *g, double measured_s, double cpu_s);

/* --churn (loadgen_churn.c, docs/loadgen.md "Churn"). start: after the
 * initial setup (0, or a CC_E* code); step: every loop turn, hands back
 * finished HTTP jobs and, while `open`, starts the leaves that are due;
 * idle: 1 when no HTTP job is queued or running; stop: joins the threads
 * and counts every life still running as ended at `now`; report: the
 * summary (stdout, --json), returns the exit status like cc_lg_report(). */
int cc_lg_churn_start(lg *g);
void cc_lg_churn_step(lg *g, cc_time_us now, int open);
int cc_lg_churn_idle(const lg *g);
void cc_lg_churn_stop(lg *g, cc_time_us now);
int cc_lg_churn_report(lg *g, double measured_s, double cpu_s, int setup_failed);
void cc_lg_churn_free(lg *g);

#endif
