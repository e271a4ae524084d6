/* classcast: command line. `serve` runs the signalling/HTTP control thread
 * (this one) and one SFU worker thread. */
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/dtls.h"
#include "classcast/err.h"
#include "classcast/control.h"
#include "classcast/http.h"
#include "classcast/publish.h"
#include "classcast/sfu.h"
#include "classcast/lesson.h"
#include "classcast/loadgen.h"
#include "classcast/log.h"
#include "classcast/srtp.h"
#include "classcast/worker.h"

#define CC_VERSION "0.1.0"

static volatile int g_stop;
static cc_http *g_http;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    if (g_http)
        cc_http_wake(g_http);
}

static void wake_http(void *ud)
{
    (void)ud;
    if (g_http)
        cc_http_wake(g_http);
}

/* --log-level for every command: 0, or prints why and returns 2. */
static int set_log_level(const char *cmd, const char *arg)
{
    cc_log_level lvl;
    if (cc_log_parse_level(arg, &lvl) != 0) {
        fprintf(stderr, "classcast %s: unknown log level '%s' (error, warn, info, debug)\n",
                cmd, arg);
        return 2;
    }
    cc_log_set_level(lvl);
    return 0;
}

/* --video-size WxH: even sizes from 16x16 to 7680x4320 (what libvpx and
 * I420 accept). 0, or prints why and returns 2. */
static int parse_video_size(const char *cmd, const char *arg, int *w, int *h)
{
    if (sscanf(arg, "%dx%d", w, h) != 2 || *w < 16 || *h < 16 || *w > 7680 ||
        *h > 4320 || (*w & 1) || (*h & 1)) {
        fprintf(stderr, "classcast %s: --video-size wants WxH with even sizes, e.g. 1280x720\n",
                cmd);
        return 2;
    }
    return 0;
}

/* SIGINT/SIGTERM end the command cleanly; SIGPIPE is ignored. */
static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void usage_serve(FILE *f)
{
    fprintf(f,
            "usage: classcast serve [options]\n"
            "\n"
            "Runs the classcast server: web pages and HTTP API on one TCP port,\n"
            "all WebRTC media on one UDP port.\n"
            "\n"
            "  --bind ADDR         address to listen on (default 127.0.0.1)\n"
            "  --http-port N       HTTP port (default 8080; 0 picks a free one)\n"
            "  --udp-port N        UDP media port (default 50000; 0 picks one)\n"
            "  --candidate ADDR    address to announce to browsers (repeatable;\n"
            "                      default: the bind address, or every interface\n"
            "                      address when bound to 0.0.0.0)\n"
            "  --web-root DIR      directory of the web pages (default ./web)\n"
            "  --log-level LEVEL   error, warn, info (default) or debug\n"
            "  --demo              open a demo lesson with the code 'demo' (WHEP\n"
            "                      without a token from localhost)\n"
            "  --source LIST       publish local media into the demo lesson (implies\n"
            "                      --demo): pipeline names from --pipelines, e.g.\n"
            "                      test-video,test-audio or screen,camera,mic;\n"
            "                      NAME:SLOT picks the slot (camera, screen, mic)\n"
            "  --pipelines DIR     capture pipeline files (default ./pipelines); the\n"
            "                      teacher page on this computer offers the same\n"
            "  --display DISPLAY   X display for screen capture (default $DISPLAY)\n"
            "  --video-size WxH    size of local video (default 1280x720)\n"
            "  --demo-token TOKEN  give the demo lesson this teacher and viewer token\n"
            "                      (43 of A-Z a-z 0-9 - _; tests WHIP into the demo)\n"
            "  -h, --help          this help\n");
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: classcast <command> [options]\n"
            "\n"
            "commands:\n"
            "  serve     run the server (classcast serve --help)\n"
            "  publish   send local camera/screen/mic to a WHIP endpoint\n"
            "  loadgen   WHIP publisher + N WHEP subscribers load test\n"
            "            (classcast loadgen --help)\n"
            "  version   print the version\n");
}

/* Candidates for a wildcard bind: every up, non-loopback IPv4 address, or
 * 127.0.0.1 if there is none. */
static void collect_candidates(cc_addr *cands, int *n, uint16_t port)
{
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) == 0) {
        for (struct ifaddrs *i = ifa; i && *n < CC_SDP_MAX_CANDIDATES; i = i->ifa_next) {
            if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
                !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
                continue;
            cc_addr a;
            if (cc_addr_set(&a, i->ifa_addr, sizeof(struct sockaddr_in)) == 0) {
                a.u.in4.sin_port = htons(port);
                cands[(*n)++] = a;
            }
        }
        freeifaddrs(ifa);
    }
    if (*n == 0)
        cc_addr_from_string(&cands[(*n)++], "127.0.0.1", port);
}

static int cmd_serve(int argc, char **argv)
{
    const char *bind = "127.0.0.1", *web_root = "web";
    const char *cands[CC_SDP_MAX_CANDIDATES];
    int n_cands = 0, http_port = 8080, udp_port = 50000, demo = 0;
    const char *demo_token = NULL;
    const char *sources = NULL, *pipelines = "pipelines", *display = getenv("DISPLAY");
    int vw = 1280, vh = 720;
    static const struct option opts[] = {
        {"bind", required_argument, 0, 'b'},
        {"http-port", required_argument, 0, 'p'},
        {"udp-port", required_argument, 0, 'u'},
        {"candidate", required_argument, 0, 'c'},
        {"web-root", required_argument, 0, 'w'},
        {"log-level", required_argument, 0, 'l'},
        {"demo", no_argument, 0, 'd'},
        {"source", required_argument, 0, 's'},
        {"pipelines", required_argument, 0, 'P'},
        {"display", required_argument, 0, 'X'},
        {"video-size", required_argument, 0, 'V'},
        {"demo-token", required_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'b': bind = optarg; break;
        case 'p': http_port = atoi(optarg); break;
        case 'u': udp_port = atoi(optarg); break;
        case 'w': web_root = optarg; break;
        case 'c':
            if (n_cands < CC_SDP_MAX_CANDIDATES)
                cands[n_cands++] = optarg;
            break;
        case 'l':
            if (set_log_level("serve", optarg) != 0)
                return 2;
            break;
        case 'd': demo = 1; break;
        case 's': sources = optarg; demo = 1; break;
        case 'P': pipelines = optarg; break;
        case 'X': display = optarg; break;
        case 'V':
            if (parse_video_size("serve", optarg, &vw, &vh) != 0)
                return 2;
            break;
        case 'T': {
            /* Lesson tokens are exactly CC_LESSON_TOKEN_LEN characters of
             * A-Z a-z 0-9 - _ (cc_lesson_check_* compare that length). */
            size_t tl = strlen(optarg);
            if (tl != CC_LESSON_TOKEN_LEN || strspn(optarg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                     "abcdefghijklmnopqrstuvwxyz"
                                                     "0123456789-_") != tl) {
                fprintf(stderr, "classcast: --demo-token must be %d of A-Z a-z 0-9 - _\n",
                        CC_LESSON_TOKEN_LEN);
                return 2;
            }
            demo_token = optarg;
            demo = 1;
            break;
        }
        case 'h': usage_serve(stdout); return 0;
        default: usage_serve(stderr); return 2;
        }
    }
    if (http_port < 0 || http_port > 65535 || udp_port < 0 || udp_port > 65535) {
        fprintf(stderr, "classcast: ports must be between 0 and 65535\n");
        return 2;
    }

    cc_mailbox *events = NULL;
    if (cc_mailbox_new(&events) != 0) {
        fprintf(stderr, "classcast: out of memory\n");
        return 1;
    }
    cc_sfu *sfu = NULL;
    if (cc_sfu_new(&sfu) != 0) {
        fprintf(stderr, "classcast: out of memory\n");
        return 1;
    }
    cc_worker_config wc = {.events = events, .wake = wake_http, .app_ud = sfu};
    if (cc_addr_from_string(&wc.bind, bind, (uint16_t)udp_port) != 0) {
        fprintf(stderr, "classcast: --bind '%s' is not an IP address\n", bind);
        return 2;
    }
    if (cc_srtp_global_init() != 0) {
        fprintf(stderr, "classcast: libsrtp failed to initialise\n");
        return 1;
    }
    cc_dtls_ctx *dtls = NULL;
    if (cc_dtls_ctx_new(&dtls) != 0) {
        fprintf(stderr, "classcast: could not create the DTLS certificate\n");
        return 1;
    }
    cc_worker *worker = NULL;
    int rc = cc_worker_new(&worker, &wc, dtls);
    if (rc != 0) {
        fprintf(stderr, "classcast: cannot open UDP %s:%d: %s\n", bind, udp_port, cc_strerror(rc));
        cc_dtls_ctx_free(dtls);
        return 1;
    }
    uint16_t real_udp = cc_addr_port(cc_worker_local(worker));

    cc_control_config cc = {.worker = worker, .events = events, .sfu = sfu,
                            .demo_lesson = demo,
                            .demo_token = demo_token,
                            .fingerprint = cc_dtls_ctx_fingerprint(dtls),
                            .pipelines_dir = pipelines, .display = display,
                            .video_width = vw, .video_height = vh};
    for (int i = 0; i < n_cands; i++) {
        if (cc_addr_from_string(&cc.candidates[cc.n_candidates], cands[i], real_udp) != 0) {
            fprintf(stderr, "classcast: --candidate '%s' is not an IP address\n", cands[i]);
            cc_worker_free(worker);
            cc_dtls_ctx_free(dtls);
            return 2;
        }
        cc.n_candidates++;
    }
    if (cc.n_candidates == 0) {
        const cc_addr *l = cc_worker_local(worker);
        int wildcard = (l->u.sa.sa_family == AF_INET && l->u.in4.sin_addr.s_addr == 0) ||
                       (l->u.sa.sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&l->u.in6.sin6_addr));
        if (wildcard)
            collect_candidates(cc.candidates, &cc.n_candidates, real_udp);
        else
            cc.candidates[cc.n_candidates++] = *l;
    }
    cc_control *control = NULL;
    if (cc_control_new(&control, &cc) != 0) {
        cc_worker_free(worker);
        cc_dtls_ctx_free(dtls);
        return 1;
    }
    cc_http_config hc = {.bind = bind, .port = http_port, .web_root = web_root,
                         .hooks = cc_control_http_hooks(control)};
    rc = cc_http_new(&g_http, &hc);
    if (rc != 0) {
        fprintf(stderr, "classcast: cannot listen for HTTP on %s:%d\n", bind, http_port);
        cc_control_free(control);
        cc_worker_free(worker);
        cc_dtls_ctx_free(dtls);
        return 1;
    }
    cc_control_set_http(control, g_http);
    install_signals();

    cc_worker_start(worker);
    if (sources) {
        /* The demo lesson's local publisher belongs to the control plane,
         * like one a teacher starts from the page (capture_start), so the
         * teacher page can stop or switch it. */
        char err[1024] = "";
        if (cc_control_capture_start(control, "demo", sources, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "classcast: %s\n", err);
            cc_control_shutdown(control);
            cc_worker_stop(worker);
            cc_http_free(g_http);
            g_http = NULL;
            cc_worker_free(worker);
            cc_control_free(control);
            cc_sfu_free(sfu);
            cc_mailbox_free(events);
            cc_dtls_ctx_free(dtls);
            return 1;
        }
    }
    char ub[64];
    fprintf(stderr, "classcast: listening http://%s:%d udp %s\n", bind,
            cc_http_port(g_http), cc_addr_to_string(cc_worker_local(worker), ub, sizeof ub));
    fflush(stderr);
    rc = cc_http_run(g_http, &g_stop);
    CC_INFO("main", "shutting down");
    /* Local publishers first, while the worker runs: detaching waits on it. */
    cc_control_shutdown(control);
    cc_worker_stop(worker);
    cc_http_free(g_http);
    g_http = NULL;
    cc_worker_free(worker);
    cc_control_free(control);
    cc_sfu_free(sfu);
    cc_mailbox_free(events);
    cc_dtls_ctx_free(dtls);
    return rc == 0 ? 0 : 1;
}

static void usage_loadgen(FILE *f)
{
    fprintf(f,
            "usage: classcast loadgen --whep URL [options]\n"
            "       classcast loadgen --janus URL --room ID --video F --audio F [options]\n"
            "\n"
            "One process: an optional WHIP publisher sending a recorded VP8 + Opus\n"
            "RTP stream, and N WHEP subscribers, each a full WebRTC peer (ICE, DTLS,\n"
            "SRTP) that counts packets, losses, duplicates and latency and sends\n"
            "receiver reports and NACKs like a browser. Stops by itself.\n"
            "\n"
            "  --whep URL          WHEP endpoint (e.g. http://127.0.0.1:8080/whep/demo)\n"
            "  --url BASE --lesson CODE\n"
            "                      classcast server: WHEP BASE/whep/CODE and WHIP\n"
            "                      BASE/whip/CODE (the publisher needs --video/--audio)\n"
            "  --janus URL         drive Janus's VideoRoom over its HTTP API instead\n"
            "                      (e.g. http://10.231.0.1:8088/janus): the publisher\n"
            "                      (--video/--audio) and N subscribers join --room\n"
            "  --room ID           the VideoRoom room (default 1234)\n"
            "  --token T           Bearer token for WHEP (viewer token)\n"
            "  --whip URL          also publish to this WHIP endpoint\n"
            "  --whip-token T      Bearer token for WHIP (default: --token)\n"
            "  --video FILE        recorded VP8 RTP, RFC 4571 framed\n"
            "                      (... ! rtpvp8pay ! rtpstreampay ! filesink)\n"
            "  --audio FILE        recorded Opus RTP, RFC 4571 framed\n"
            "  -n, --subscribers N subscribers (default 10)\n"
            "  --video-kbps K      the video file's bit rate (a check: warns when the\n"
            "                      publisher sent something else); --audio-kbps K too\n"
            "  --duration S        seconds to measure after setup (default 10)\n"
            "  --setup-timeout S   seconds allowed for all sessions to connect (15)\n"
            "  --settle S          seconds to wait after setup before measuring\n"
            "                      (default 0; lets setup's backlog drain)\n"
            "  --bind ADDR         local address for the sockets (127.0.0.1)\n"
            "  --sub-net NET/P     give subscriber i its own address NET+1+i and put\n"
            "                      them all on one socket (far cheaper to receive at\n"
            "                      N in the thousands); the addresses must be local\n"
            "                      (127.0.0.0/8 is; scripts/bench/netns.sh routes\n"
            "                      10.232.0.0/16)\n"
            "  --verify-sample K   SRTP-authenticate every packet of K subscribers;\n"
            "                      the rest are counted by RTP sequence only (default 1)\n"
            "  --json FILE         write the results as JSON\n"
            "  --check             exit 1 if a subscriber failed, got no video or\n"
            "                      audio, or lost any packet\n"
            "  --per-subscriber    one line per subscriber\n"
            "  --impair-loss PCT   drop PCT%% of received video on purpose (seeded),\n"
            "                      to exercise NACK repair\n"
            "  --log-level LEVEL   error, warn (default), info, debug\n"
            "  -h, --help          this help\n");
}

static int cmd_loadgen(int argc, char **argv)
{
    cc_loadgen_config c = {.subscribers = 10, .duration_s = 10, .verify_sample = 1,
                           .bind = "127.0.0.1"};
    static const struct option opts[] = {
        {"whep", required_argument, 0, 'e'},
        {"janus", required_argument, 0, 'J'},
        {"room", required_argument, 0, 'r'},
        {"url", required_argument, 0, 'U'},
        {"lesson", required_argument, 0, 'C'},
        {"subscribers", required_argument, 0, 'n'},
        {"video-kbps", required_argument, 0, 'R'},
        {"audio-kbps", required_argument, 0, 'A'},
        {"token", required_argument, 0, 't'},
        {"whip", required_argument, 0, 'i'},
        {"whip-token", required_argument, 0, 'k'},
        {"video", required_argument, 0, 'v'},
        {"audio", required_argument, 0, 'a'},
        {"duration", required_argument, 0, 'D'},
        {"setup-timeout", required_argument, 0, 'S'},
        {"bind", required_argument, 0, 'b'},
        {"verify-sample", required_argument, 0, 'K'},
        {"sub-net", required_argument, 0, 'N'},
        {"settle", required_argument, 0, 'T'},
        {"json", required_argument, 0, 'j'},
        {"check", no_argument, 0, 'c'},
        {"per-subscriber", no_argument, 0, 'P'},
        {"impair-loss", required_argument, 0, 'L'},
        {"log-level", required_argument, 0, 'l'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    cc_log_set_level(CC_LOG_WARN);
    const char *base = NULL, *lesson = NULL;
    static char whep_buf[1024], whip_buf[1024];
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "hn:", opts, NULL)) != -1) {
        switch (o) {
        case 'e': c.whep_url = optarg; break;
        case 'J': c.janus_url = optarg; break;
        case 'r': c.janus_room = atoll(optarg); break;
        case 'U': base = optarg; break;
        case 'C': lesson = optarg; break;
        case 'R': c.video_kbps = atof(optarg); break;
        case 'A': c.audio_kbps = atof(optarg); break;
        case 't': c.whep_token = optarg; break;
        case 'N': c.sub_net = optarg; break;
        case 'T': c.settle_s = atof(optarg); break;
        case 'i': c.whip_url = optarg; break;
        case 'k': c.whip_token = optarg; break;
        case 'v': c.video_file = optarg; break;
        case 'a': c.audio_file = optarg; break;
        case 'n': c.subscribers = atoi(optarg); break;
        case 'D': c.duration_s = atof(optarg); break;
        case 'S': c.setup_timeout_s = atof(optarg); break;
        case 'b': c.bind = optarg; break;
        case 'K': c.verify_sample = atoi(optarg); break;
        case 'j': c.json_path = optarg; break;
        case 'c': c.check = 1; break;
        case 'P': c.per_subscriber = 1; break;
        case 'L': c.impair_loss_pct = atof(optarg); break;
        case 'l':
            if (set_log_level("serve", optarg) != 0)
                return 2;
            break;
        case 'h': usage_loadgen(stdout); return 0;
        default: usage_loadgen(stderr); return 2;
        }
    }
    if (base) {
        size_t bl = strlen(base);
        while (bl > 0 && base[bl - 1] == '/')
            bl--;
        const char *code = lesson ? lesson : "demo";
        snprintf(whep_buf, sizeof whep_buf, "%.*s/whep/%s", (int)bl, base, code);
        snprintf(whip_buf, sizeof whip_buf, "%.*s/whip/%s", (int)bl, base, code);
        if (!c.whep_url)
            c.whep_url = whep_buf;
        if (!c.whip_url && (c.video_file || c.audio_file))
            c.whip_url = whip_buf;
    }
    if (!c.whep_url && !c.janus_url) {
        usage_loadgen(stderr);
        return 2;
    }
    if (c.janus_url && c.janus_room <= 0)
        c.janus_room = 1234;
    if (!c.whip_token)
        c.whip_token = c.whep_token;
    signal(SIGPIPE, SIG_IGN);
    return cc_loadgen_run(&c);
}

static void usage_publish(FILE *f)
{
    fprintf(f,
            "usage: classcast publish --whip URL [options]\n"
            "\n"
            "Captures local media (GStreamer pipelines), encodes it with libvpx and\n"
            "libopus, and sends it to a WHIP endpoint (classcast, or any other).\n"
            "\n"
            "  --whip URL          WHIP endpoint, e.g. http://127.0.0.1:8080/whip/482913\n"
            "  --token TOKEN       bearer token (a classcast lesson's teacher token)\n"
            "  --source LIST       at most one video and one audio pipeline, e.g.\n"
            "                      test-video,test-audio or screen,mic (default)\n"
            "  --pipelines DIR     capture pipeline files (default ./pipelines)\n"
            "  --display DISPLAY   X display for screen capture (default $DISPLAY)\n"
            "  --video-size WxH    video size (default 1280x720)\n"
            "  --video-kbps N      video bitrate (default 1500 screen, 1000 camera)\n"
            "  --duration S        stop after S seconds (default: run until Ctrl-C)\n"
            "  --bind ADDR         local UDP address (default 0.0.0.0)\n"
            "  --log-level LEVEL   error, warn, info (default) or debug\n");
}

static int cmd_publish(int argc, char **argv)
{
    cc_publish_config c = {.sources = "screen,mic", .pipelines_dir = "pipelines",
                           .display = getenv("DISPLAY"), .width = 1280, .height = 720,
                           .fps = 30, .stop = &g_stop};
    static const struct option opts[] = {
        {"whip", required_argument, 0, 'w'},
        {"token", required_argument, 0, 't'},
        {"source", required_argument, 0, 's'},
        {"pipelines", required_argument, 0, 'P'},
        {"display", required_argument, 0, 'X'},
        {"video-size", required_argument, 0, 'V'},
        {"video-kbps", required_argument, 0, 'k'},
        {"duration", required_argument, 0, 'D'},
        {"bind", required_argument, 0, 'b'},
        {"log-level", required_argument, 0, 'l'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'w': c.whip_url = optarg; break;
        case 't': c.token = optarg; break;
        case 's': c.sources = optarg; break;
        case 'P': c.pipelines_dir = optarg; break;
        case 'X': c.display = optarg; break;
        case 'V':
            if (parse_video_size("publish", optarg, &c.width, &c.height) != 0)
                return 2;
            break;
        case 'k': c.video_kbps = atoi(optarg); break;
        case 'D': c.duration_s = atof(optarg); break;
        case 'b': c.bind = optarg; break;
        case 'l':
            if (set_log_level("publish", optarg) != 0)
                return 2;
            break;
        case 'h': usage_publish(stdout); return 0;
        default: usage_publish(stderr); return 2;
        }
    }
    if (!c.whip_url) {
        usage_publish(stderr);
        return 2;
    }
    install_signals();
    return cc_publish_run(&c) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "loadgen") == 0)
        return cmd_loadgen(argc - 1, argv + 1);
    if (strcmp(argv[1], "publish") == 0)
        return cmd_publish(argc - 1, argv + 1);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("classcast %s\n", CC_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "classcast: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
