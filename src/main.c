/* classcast: command line. `serve` runs the signalling/HTTP control thread
 * (this one) and one SFU worker thread. */
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classcast/cli.h"
#include "classcast/dtls.h"
#include "classcast/err.h"
#include "classcast/control.h"
#include "classcast/http.h"
#include "classcast/sfu.h"
#include "classcast/lesson.h"
#include "classcast/log.h"
#include "classcast/srtp.h"
#include "classcast/teacher_cmd.h"
#include "classcast/worker.h"

#define CC_VERSION "0.1.0"

static volatile int g_stop;
static cc_http *g_http;

/* Async-signal-safe: lws_cancel_service writes to a pipe. */
static void wake_http_now(void)
{
    if (g_http)
        cc_http_wake(g_http);
}

static void wake_http(void *ud)
{
    (void)ud;
    wake_http_now();
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
            "  --max-connections N         open HTTP/WebSocket connections in all\n"
            "                              (default 4000)\n"
            "  --max-connections-per-address N  ... from one address (default 300)\n"
            "  -h, --help          this help\n");
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: classcast <command> [options]\n"
            "\n"
            "commands:\n"
            "  serve     run the server (classcast serve --help)\n"
            "  teacher   teacher accounts: add, passwd, list, disable, enable\n"
            "            (classcast teacher --help)\n"
            "  version   print the version\n"
            "\n"
            "Tools built beside it: classcast-publish (send local camera, screen\n"
            "and microphone to a WHIP endpoint) and classcast-loadgen (a WHIP\n"
            "publisher and N WHEP subscribers, for load tests).\n");
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

static int addr_is_loopback(const cc_addr *a)
{
    if (a->u.sa.sa_family == AF_INET)
        return (ntohl(a->u.in4.sin_addr.s_addr) >> 24) == 127;
    return a->u.sa.sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a->u.in6.sin6_addr);
}

static int addr_is_wildcard(const cc_addr *a)
{
    return (a->u.sa.sa_family == AF_INET && a->u.in4.sin_addr.s_addr == 0) ||
           (a->u.sa.sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a->u.in6.sin6_addr));
}

/* The pages a person opens, on stdout (the log goes to stderr). A browser
 * lets a page use the camera, microphone and screen only in a secure
 * context: https, or http from the computer itself (127.0.0.1). Until
 * classcast serves HTTPS the teacher page is therefore printed with
 * 127.0.0.1 whenever the server listens there too (loopback or every
 * address); students only watch and may come over the network. */
static void print_links(const cc_addr *bound, const cc_control_config *cc,
                        int http_port, int demo)
{
    cc_addr teacher = *bound, student = *bound;
    if (addr_is_wildcard(bound)) {
        cc_addr_from_string(&teacher, "127.0.0.1", 0);
        student = teacher;
        for (int i = 0; i < cc->n_candidates; i++) {
            if (!addr_is_loopback(&cc->candidates[i])) {
                student = cc->candidates[i];
                break;
            }
        }
    }
    char t[80], s[80];
    if (teacher.u.sa.sa_family == AF_INET6)
        teacher.u.in6.sin6_port = htons((uint16_t)http_port);
    else
        teacher.u.in4.sin_port = htons((uint16_t)http_port);
    if (student.u.sa.sa_family == AF_INET6)
        student.u.in6.sin6_port = htons((uint16_t)http_port);
    else
        student.u.in4.sin_port = htons((uint16_t)http_port);
    cc_addr_to_string(&teacher, t, sizeof t);
    cc_addr_to_string(&student, s, sizeof s);
    printf("\nclasscast is running. Open these pages in a browser:\n\n");
    printf("  Teacher page:   http://%s/teacher.html\n", t);
    if (demo)
        printf("  Student page:   http://%s/student.html?code=demo\n", s);
    printf("  Join page:      http://%s/\n", s);
    printf("  Self-test:      http://%s/echo.html\n", t);
    printf("  Counters:       http://%s/stats\n", t);
    if (!addr_is_loopback(&student))
        printf("\nTablets on the classroom network open the student or join page above.\n"
               "The teacher page must stay on this computer (at the 127.0.0.1 address):\n"
               "browsers allow camera, microphone and screen sharing only there until\n"
               "classcast serves HTTPS.\n");
    printf("\nPress Ctrl-C to stop.\n");
    fflush(stdout);
}

/* Open files the server needs: one per connection allowed, plus the UDP
 * socket, epoll, timer and event descriptors, capture pipelines, the web
 * files being sent and the log: FD_SPARE covers those. The soft limit
 * (often 1024) is raised as far as the hard one allows; when even that is
 * too low, the connection limit shrinks to fit and the operator is told. */
#define FD_SPARE 256

static int raise_fd_limit(int *max_conns)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    rlim_t want = (rlim_t)*max_conns + FD_SPARE;
    if (rl.rlim_cur < want) {
        rlim_t to = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
        struct rlimit nl = {.rlim_cur = to, .rlim_max = rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
            rl.rlim_cur = to;
    }
    if (rl.rlim_cur < want) {
        if (rl.rlim_cur <= FD_SPARE + 16) {
            fprintf(stderr, "classcast: only %llu open files allowed (ulimit -n); at least %d needed\n",
                    (unsigned long long)rl.rlim_cur, FD_SPARE + 16);
            return -1;
        }
        int fit = (int)(rl.rlim_cur - FD_SPARE);
        fprintf(stderr, "classcast: open files are limited to %llu (ulimit -n): "
                "serving at most %d connections instead of %d\n",
                (unsigned long long)rl.rlim_cur, fit, *max_conns);
        *max_conns = fit;
    }
    return 0;
}

static int cmd_serve(int argc, char **argv)
{
    const char *bind = "127.0.0.1", *web_root = "web";
    const char *cands[CC_SDP_MAX_CANDIDATES];
    int n_cands = 0, http_port = 8080, udp_port = 50000, demo = 0;
    const char *demo_token = NULL;
    const char *sources = NULL, *pipelines = "pipelines", *display = getenv("DISPLAY");
    int vw = 1280, vh = 720;
    int max_conns = CC_HTTP_DEFAULT_MAX_CONNS, max_conns_ip = CC_HTTP_DEFAULT_MAX_CONNS_PER_IP;
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
        {"max-connections", required_argument, 0, 'M'},
        {"max-connections-per-address", required_argument, 0, 'A'},
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
            if (cc_cli_log_level("classcast", optarg) != 0)
                return 2;
            break;
        case 'd': demo = 1; break;
        case 's': sources = optarg; demo = 1; break;
        case 'P': pipelines = optarg; break;
        case 'X': display = optarg; break;
        case 'V':
            if (cc_cli_video_size("classcast", optarg, &vw, &vh) != 0)
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
        case 'M':
        case 'A': {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (!end || *end || v < 1 || v > 1000000) {
                fprintf(stderr, "classcast: --%s wants a number from 1 to 1000000\n",
                        o == 'M' ? "max-connections" : "max-connections-per-address");
                return 2;
            }
            *(o == 'M' ? &max_conns : &max_conns_ip) = (int)v;
            break;
        }
        case 'h': usage_serve(stdout); return 0;
        default: usage_serve(stderr); return 2;
        }
    }
    if (raise_fd_limit(&max_conns) != 0)
        return 1;
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
        if (addr_is_wildcard(l))
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
    /* Names a browser may use for this machine besides its addresses and
     * "localhost"; anything else in Host is refused (DNS rebinding). */
    char host_name[256] = "", host_local[300] = "";
    if (gethostname(host_name, sizeof host_name - 1) != 0)
        host_name[0] = 0;
    snprintf(host_local, sizeof host_local, "%s.local", host_name);
    const char *host_names[] = {host_name, host_local};
    cc_http_config hc = {.bind = bind, .port = http_port, .web_root = web_root,
                         .host_names = host_names,
                         .max_conns = max_conns, .max_conns_per_ip = max_conns_ip,
                         .n_host_names = host_name[0] ? 2 : 0,
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
    cc_cli_on_stop(&g_stop, wake_http_now);

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
    print_links(cc_worker_local(worker), &cc, cc_http_port(g_http), demo);
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

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "teacher") == 0)
        return cc_teacher_cmd(argc - 1, argv + 1);
    if (strcmp(argv[1], "loadgen") == 0 || strcmp(argv[1], "publish") == 0) {
        fprintf(stderr, "classcast: '%s' is a program of its own now: classcast-%s\n",
                argv[1], argv[1]);
        return 2;
    }
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
