/* classcast: command line. `serve` runs the signalling/HTTP control thread
 * (this one), the SFU workers and the DTLS handshake thread (dataplane.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "classcast/certs.h"
#include "classcast/cli.h"
#include "classcast/dtls.h"
#include "classcast/ini.h"
#include "classcast/err.h"
#include "classcast/control.h"
#include "classcast/http.h"
#include "classcast/dataplane.h"
#include "classcast/sfu.h"
#include "classcast/lesson.h"
#include "classcast/log.h"
#include "classcast/srtp.h"
#include "classcast/store.h"
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
            "Runs the classcast server: web pages and HTTP API on one TCP port\n"
            "(two when HTTPS is on), WebRTC media on one UDP port per worker.\n"
            "\n"
            "Bound to anything but loopback, classcast serves HTTPS and WSS: with\n"
            "--tls-cert/--tls-key, or with a school CA and a server certificate it\n"
            "makes at first start in the state directory. Plain HTTP then serves\n"
            "other computers only the CA page (/ca.html) and redirects the rest.\n"
            "\n"
            "  --config FILE       read these options from FILE first ([server]\n"
            "                      section, one 'option = value' a line, without\n"
            "                      the dashes; docs/config.md); the command line\n"
            "                      overrides it\n"
            "  --bind ADDR         address to listen on (default 127.0.0.1)\n"
            "  --http-port N       HTTP port (default 8080; 0 picks a free one)\n"
            "  --https-port N      HTTPS port (default 8443; 0 picks a free one)\n"
            "  --tls-cert FILE     HTTPS certificate (chain), PEM; with --tls-key,\n"
            "                      also on loopback; no school CA is made\n"
            "  --tls-key FILE      its private key, PEM\n"
            "  --state-dir DIR     where teacher accounts, the school CA and the server\n"
            "                      certificate live (default $XDG_STATE_HOME/classcast, else\n"
            "                      ~/.local/state/classcast; root without HOME:\n"
            "                      /var/lib/classcast)\n"
            "  --udp-port N        UDP media port of the first worker (default 50000;\n"
            "                      worker i uses N + i; 0 picks free ones)\n"
            "  --workers N         media forwarding threads, each with its own UDP\n"
            "                      port (default: one per CPU)\n"
            "  --split-at N        a lesson stays on one worker until N watch it,\n"
            "                      then its students spread over all (default 100)\n"
            "  --nack-cache-mb N   memory for the packets kept to repair students'\n"
            "                      losses, all workers together (default 128 each)\n"
            "  --recording-quota-gb N  disk space all lesson recordings may take\n"
            "                      together, in GB (default 20; docs/recording.md)\n"
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
            "  --local-teacher     the teacher page opened on this computer itself\n"
            "                      (127.0.0.1) is signed in as its built-in teacher;\n"
            "                      from anywhere else a teacher signs in (accounts:\n"
            "                      classcast teacher --help); scripts/run.sh uses it\n"
            "  --no-simulcast      teacher pages send camera and screen in one size\n"
            "                      each, a --source camera and WHIP publishers too\n"
            "                      (answered without simulcast); by default: two\n"
            "                      sizes each from a teacher page, three of a --source\n"
            "                      camera, and each student gets the one its link\n"
            "                      carries (docs/bwe.md)\n"
            "  --keyframe-replay   a student who joins starts at once on the last\n"
            "                      keyframe the server kept, however old (by default\n"
            "                      only on one of the last 600 ms, asked for as the\n"
            "                      student joins: docs/ARCHITECTURE.md)\n"
            "  --no-keyframe-replay  a joining student waits for a new keyframe\n"
            "  --max-connections N         open HTTP/WebSocket connections in all\n"
            "                              (default 4000)\n"
            "  --max-connections-per-address N  ... from one address (default 300)\n"            "  --connection-rate N new connections one address may open a minute\n"
            "                      (default 600; the load benchmarks raise it)\n"

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

static void set_port(cc_addr *a, int port)
{
    if (a->u.sa.sa_family == AF_INET6)
        a->u.in6.sin6_port = htons((uint16_t)port);
    else
        a->u.in4.sin_port = htons((uint16_t)port);
}

/* How a tablet or a laptop comes to trust the school CA, next to the
 * links; web/ca.html says the same in Vietnamese and English. */
static void print_trust(const char *ca_page, const cc_certs *ca)
{
    printf("\nBefore the https pages open without a warning, each tablet and computer\n"
           "must trust this server's school CA once. Open the CA page there:\n\n"
           "  CA page:        %s\n"
           "  CA:             %s\n"
           "  SHA-256:        %s\n\n",
           ca_page, ca->ca_name, ca->ca_fingerprint);
    printf("  iPad (Safari):  on the CA page tap \"Download the CA certificate\" and\n"
           "                  Allow; Settings > Profile Downloaded > Install; then\n"
           "                  Settings > General > About > Certificate Trust Settings:\n"
           "                  turn on \"%s\".\n"
           "  Android/Chrome: download it on the CA page; Settings > Security >\n"
           "                  Encryption & credentials > Install a certificate >\n"
           "                  CA certificate > Install anyway, pick ca.crt.\n"
           "  Windows:        open the downloaded ca.crt > Install Certificate >\n"
           "                  Current User > Place all certificates in the following\n"
           "                  store: Trusted Root Certification Authorities; restart\n"
           "                  the browser.\n"
           "  Chromebook:     Settings > Privacy and security > Security > Manage\n"
           "                  certificates > Authorities > Import ca.crt, tick \"Trust\n"
           "                  this certificate for identifying websites\".\n"
           "Compare the SHA-256 fingerprint the device shows with the one above.\n",
           ca->ca_name);
}

/* Who may start lessons: only a signed-in teacher (docs/accounts.md), or
 * with --local-teacher the browser on this computer itself. */
static void print_accounts(const cc_control_config *cc, int http_port)
{
    int n = cc->store ? cc_store_teacher_count(cc->store, NULL) : 0;
    if (cc->local_teacher)
        printf("\nOn this computer the teacher page (http://127.0.0.1:%d/teacher.html) is\n"
               "signed in as its built-in teacher: no password needed.\n", http_port);
    if (n <= 0)
        printf("%s\n"
               "Add one, an admin who can add the others on the web page (admin.html):\n"
               "  classcast teacher add NAME --admin\n",
               cc->local_teacher ? "Teachers on other computers sign in with an account; there is "
                                   "none yet."
                                 : "\nNo teacher accounts yet, and only a signed-in teacher can "
                                   "start a lesson.");
    else
        printf("%sTeachers sign in on the teacher page (accounts: classcast teacher list).\n",
               cc->local_teacher ? "" : "\n");
}

/* The pages a person opens, on stdout (the log goes to stderr). A browser
 * lets a page use the camera, microphone and screen only in a secure
 * context: https, or http from the computer itself (127.0.0.1). Without
 * HTTPS (bound to loopback) every page is on this computer; with HTTPS
 * (https_port > 0) teacher and students alike use the network address,
 * and ca (NULL when the certificate was configured) is the school CA
 * their devices must trust, shown with its page on plain HTTP. */
static void print_links(const cc_addr *bound, const cc_control_config *cc,
                        int http_port, int https_port, const cc_certs *ca, int demo)
{
    cc_addr teacher = *bound, student = *bound;
    int wildcard = addr_is_wildcard(bound);
    if (wildcard) {
        cc_addr_from_string(&teacher, "127.0.0.1", 0);
        student = teacher;
        for (int i = 0; i < cc->n_candidates; i++) {
            if (!addr_is_loopback(&cc->candidates[i])) {
                student = cc->candidates[i];
                break;
            }
        }
    }
    if (https_port)
        teacher = student; /* HTTPS: a secure context on any computer */
    cc_addr ca_page = student;
    set_port(&teacher, https_port ? https_port : http_port);
    set_port(&student, https_port ? https_port : http_port);
    set_port(&ca_page, http_port);
    char t[80], s[80], c[80], ca_url[120];
    const char *scheme = https_port ? "https" : "http";
    cc_addr_to_string(&teacher, t, sizeof t);
    cc_addr_to_string(&student, s, sizeof s);
    cc_addr_to_string(&ca_page, c, sizeof c);
    printf("\nclasscast is running. Open these pages in a browser:\n\n");
    printf("  Teacher page:   %s://%s/teacher.html\n", scheme, t);
    if (https_port && wildcard)
        printf("                  (on this computer also http://127.0.0.1:%d/teacher.html)\n",
               http_port);
    if (demo)
        printf("  Student page:   %s://%s/student.html?code=demo\n", scheme, s);
    printf("  Join page:      %s://%s/\n", scheme, s);
    /* The connection self-test answers this computer, or a signed-in
     * teacher elsewhere (docs/limits.md). */
    if (!https_port)
        printf("  Self-test:      http://%s/echo.html\n", t);
    else if (wildcard)
        printf("  Self-test:      http://127.0.0.1:%d/echo.html\n", http_port);
    else
        printf("  Self-test:      https://%s/echo.html (for a signed-in teacher)\n", t);
    printf("  Counters:       %s://%s/stats\n", scheme, t);
    if (https_port && ca) {
        snprintf(ca_url, sizeof ca_url, "http://%s/ca.html", c);
        print_trust(ca_url, ca);
    }
    print_accounts(cc, http_port);
    printf("\nPress Ctrl-C to stop.\n");
    fflush(stdout);
}

/* The machine's addresses a server certificate names: every up,
 * non-loopback IPv4 and IPv6 address except IPv6 link-local ones (fe80::/10
 * needs a zone in a URL, which browsers do not take). */
static size_t collect_cert_addrs(char out[][INET6_ADDRSTRLEN], size_t max)
{
    struct ifaddrs *ifa = NULL;
    size_t n = 0;
    if (getifaddrs(&ifa) != 0)
        return 0;
    for (struct ifaddrs *i = ifa; i && n < max; i = i->ifa_next) {
        if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
            continue;
        if (i->ifa_addr->sa_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out[n++],
                      INET6_ADDRSTRLEN);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            const struct in6_addr *a6 = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
            if (IN6_IS_ADDR_LINKLOCAL(a6) || IN6_IS_ADDR_LOOPBACK(a6))
                continue;
            inet_ntop(AF_INET6, a6, out[n++], INET6_ADDRSTRLEN);
        }
    }
    freeifaddrs(ifa);
    return n;
}

/* The school CA and the server certificate (certs.h) for this machine's
 * name and addresses, made or reused in the state directory. */
static int school_certs(const char *state_dir, const char *host_name, cc_certs *out)
{
    char dir[CC_CERTS_PATH_MAX];
    if (state_dir) {
        snprintf(dir, sizeof dir, "%s", state_dir);
    } else if (cc_certs_default_dir(dir, sizeof dir) != 0) {
        fprintf(stderr, "classcast: no state directory for the school CA (HOME is not set); "
                "give one with --state-dir, or a certificate with --tls-cert and --tls-key\n");
        return -1;
    }
    static char addrs[CC_CERTS_MAX_ADDRS][INET6_ADDRSTRLEN];
    const char *ap[CC_CERTS_MAX_ADDRS];
    size_t n = collect_cert_addrs(addrs, CC_CERTS_MAX_ADDRS);
    for (size_t i = 0; i < n; i++)
        ap[i] = addrs[i];
    cc_certs_names names = {.hostname = host_name, .addrs = ap, .n_addrs = n};
    int rc = cc_certs_ensure(dir, &names, (int64_t)time(NULL), out);
    if (rc != 0) {
        fprintf(stderr, "classcast: cannot make the school CA and certificate in %s: %s\n", dir,
                out->err[0] ? out->err : cc_strerror(rc));
        return -1;
    }
    if (out->ca_created)
        fprintf(stderr, "classcast: made a new school CA in %s: \"%s\", SHA-256 %s; "
                "tablets and computers must trust it once (the CA page)\n",
                dir, out->ca_name, out->ca_fingerprint);
    if (out->issued) {
        char until[32] = "?";
        time_t na = (time_t)out->cert_not_after;
        struct tm tm;
        if (gmtime_r(&na, &tm))
            strftime(until, sizeof until, "%Y-%m-%d", &tm);
        fprintf(stderr, "classcast: issued the server certificate %s (%s), valid until %s\n",
                out->cert_path, out->issued, until);
    }
    return 0;
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

/* --http-port and the like: a whole number 0..65535 (0: any free one). */
static int parse_port(const char *name, const char *arg, int *out)
{
    char *end = NULL;
    long v = strtol(arg, &end, 10);
    if (!*arg || !end || *end || v < 0 || v > 65535) {
        fprintf(stderr, "classcast: --%s wants a port number from 0 to 65535, not '%s'\n",
                name, arg);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* ---- --config FILE (docs/config.md) ----
 * The file's [server] settings are the long options of `serve` without the
 * dashes. They become argv entries placed before the command line's own
 * (so the command line wins), each remembered with its file and line for
 * error messages. Kept until exit (options point into them) and freed by
 * an atexit handler, which runs before LeakSanitizer's check. */
static struct {
    char **argv;
    const char **where;
    int argc;
    cc_ini_entry *entries;
    char **owned; /* the "--key" and "from FILE, line N" strings */
    int n_owned;
} g_conf;

static void config_release(void)
{
    for (int i = 0; i < g_conf.n_owned; i++)
        free(g_conf.owned[i]);
    free(g_conf.owned);
    free(g_conf.argv);
    free(g_conf.where);
    free(g_conf.entries);
    memset(&g_conf, 0, sizeof g_conf);
}

static void config_free(char **argv, const char **where, cc_ini_entry *e)
{
    (void)argv; (void)where; (void)e; /* all of it lives in g_conf */
    config_release();
}

/* A string the configuration keeps until exit; NULL when out of memory. */
static char *conf_keep(const char *text)
{
    char *s = strdup(text);
    if (s)
        g_conf.owned[g_conf.n_owned++] = s;
    return s;
}

/* 1 for true/yes/on/1, 0 for false/no/off/0, -1 otherwise. */
static int parse_bool(const char *v)
{
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i])) return 1;
        if (!strcasecmp(v, no[i])) return 0;
    }
    return -1;
}

#define CONF_MAX_BYTES (1024 * 1024)

static int config_argv(int argc, char **argv, const struct option *opts,
                       int *out_argc, char ***out_argv, const char ***out_where,
                       cc_ini_entry **out_entries)
{
    *out_argv = NULL;
    *out_where = NULL;
    *out_entries = NULL;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            path = argv[i + 1];
        else if (!strncmp(argv[i], "--config=", 9))
            path = argv[i] + 9;
    }
    if (!path)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "classcast: cannot read the configuration file %s: %s\n", path,
                strerror(errno));
        return 2;
    }
    char *text = malloc(CONF_MAX_BYTES + 1);
    size_t len = text ? fread(text, 1, CONF_MAX_BYTES + 1, f) : 0;
    fclose(f);
    if (!text || len > CONF_MAX_BYTES) {
        fprintf(stderr, "classcast: %s: %s\n", path,
                text ? "larger than 1 MiB: not a configuration file" : "out of memory");
        free(text);
        return 2;
    }
    cc_ini_entry *e = NULL;
    int n = 0, line = 0;
    char err[200];
    int rc = cc_ini_parse(text, len, &e, &n, &line, err, sizeof err);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "classcast: %s, line %d: %s\n", path, line, err);
        return 2;
    }
    /* Each entry gives at most two argv slots; then the command line. */
    int cap = 1 + 2 * n + argc;
    g_conf.entries = e;
    g_conf.argv = calloc((size_t)cap + 1, sizeof *g_conf.argv);
    g_conf.where = calloc((size_t)cap + 1, sizeof *g_conf.where);
    g_conf.owned = calloc((size_t)(2 * n) + 1, sizeof *g_conf.owned);
    atexit(config_release);
    char **av = g_conf.argv;
    const char **wh = g_conf.where;
    if (!av || !wh || !g_conf.owned) {
        fprintf(stderr, "classcast: out of memory\n");
        return 2;
    }
    int k = 0;
    av[k++] = argv[0];
    for (int i = 0; i < n; i++) {
        const cc_ini_entry *x = &e[i];
        const struct option *opt = NULL;
        if (strcmp(x->section, "server") != 0) {
            fprintf(stderr, "classcast: %s, line %d: '%s' is in %s%s%s; the settings of "
                    "classcast serve go under [server] (docs/config.md)\n", path, x->line,
                    x->key, x->section[0] ? "[" : "no section", x->section,
                    x->section[0] ? "]" : "");
            return 2;
        }
        for (const struct option *op = opts; op->name; op++)
            if (!strcmp(op->name, x->key) && strcmp(op->name, "config") &&
                strcmp(op->name, "help"))
                opt = op;
        if (!opt) {
            fprintf(stderr, "classcast: %s, line %d: unknown setting '%s' in [server] "
                    "(the settings are the options of classcast serve --help, without "
                    "the dashes; docs/config.md)\n", path, x->line, x->key);
            return 2;
        }
        char buf[1200];
        snprintf(buf, sizeof buf, "from %s, line %d, '%s'", path, x->line, x->key);
        const char *from = conf_keep(buf);
        snprintf(buf, sizeof buf, "--%s", x->key);
        char *flag = conf_keep(buf);
        if (!from || !flag) {
            fprintf(stderr, "classcast: out of memory\n");
            return 2;
        }
        if (opt->has_arg == no_argument) {
            int b = parse_bool(x->value);
            if (b < 0) {
                fprintf(stderr, "classcast: %s, line %d: '%s' is true or false, not '%s'\n",
                        path, x->line, x->key, x->value);
                return 2;
            }
            if (!b) {
                /* An on-by-default setting turned off: its --no- form. */
                snprintf(buf, sizeof buf, "no-%s", x->key);
                int has_no = 0;
                for (const struct option *op = opts; op->name; op++)
                    has_no |= !strcmp(op->name, buf);
                if (!has_no)
                    continue;
                snprintf(buf, sizeof buf, "--no-%s", x->key);
                if (!(flag = conf_keep(buf))) {
                    fprintf(stderr, "classcast: out of memory\n");
                    return 2;
                }
            }
            wh[k] = from;
            av[k++] = flag;
        } else {
            if (!x->value[0]) {
                fprintf(stderr, "classcast: %s, line %d: '%s' needs a value\n", path, x->line,
                        x->key);
                return 2;
            }
            wh[k] = from;
            av[k++] = flag;
            wh[k] = from;
            av[k++] = (char *)x->value;
        }
    }
    for (int i = 1; i < argc; i++)
        av[k++] = argv[i];
    av[k] = NULL;
    g_conf.argc = k;
    *out_argc = k;
    *out_argv = av;
    *out_where = wh;
    *out_entries = e;
    return 0;
}

static int cmd_serve(int argc, char **argv)
{
    const char *bind = "127.0.0.1", *web_root = "web";
    const char *cands[CC_SDP_MAX_CANDIDATES];
    int n_cands = 0, http_port = 8080, https_port = 8443, udp_port = 50000, demo = 0;
    const char *tls_cert = NULL, *tls_key = NULL, *state_dir = NULL;
    const char *demo_token = NULL;
    int local_teacher = 0, simulcast = 1, keyframe_replay = CC_SFU_REPLAY_FRESH;
    const char *sources = NULL, *pipelines = "pipelines", *display = getenv("DISPLAY");
    int vw = 1280, vh = 720;
    int max_conns = CC_HTTP_DEFAULT_MAX_CONNS, max_conns_ip = CC_HTTP_DEFAULT_MAX_CONNS_PER_IP;
    int conn_rate = CC_HTTP_CONN_RATE_PER_MIN;
    int workers = 0, nack_cache_mb = 0, split_at = 0;
    uint64_t rec_quota = 0;
    static const struct option opts[] = {
        {"bind", required_argument, 0, 'b'},
        {"http-port", required_argument, 0, 'p'},
        {"https-port", required_argument, 0, 'S'},
        {"tls-cert", required_argument, 0, 'C'},
        {"tls-key", required_argument, 0, 'K'},
        {"state-dir", required_argument, 0, 'D'},
        {"udp-port", required_argument, 0, 'u'},
        {"workers", required_argument, 0, 'W'},
        {"nack-cache-mb", required_argument, 0, 'N'},
        {"split-at", required_argument, 0, 'Y'},
        {"recording-quota-gb", required_argument, 0, 'Q'},
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
        {"connection-rate", required_argument, 0, 'R'},
        {"local-teacher", no_argument, 0, 'L'},
        {"simulcast", no_argument, 0, 'G'},
        {"no-simulcast", no_argument, 0, 'g'},
        {"keyframe-replay", no_argument, 0, 'J'},
        {"no-keyframe-replay", no_argument, 0, 'j'},
        {"config", required_argument, 0, 'F'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    /* --config FILE: its settings become options placed before the command
     * line's, so the command line wins; where[i] says which file line
     * argv[i] came from, for errors. */
    char **cargv = NULL;
    const char **where = NULL;
    cc_ini_entry *conf = NULL;
    int cargc = 0;
    int crc = config_argv(argc, argv, opts, &cargc, &cargv, &where, &conf);
    if (crc != 0)
        return crc;
    if (cargv) {
        argc = cargc;
        argv = cargv;
    }
    int o, at;
#define OPT_FAIL()                                                             \
    do {                                                                       \
        if (where && at < argc && where[at])                                   \
            fprintf(stderr, "classcast: (that value is %s)\n", where[at]);    \
        config_free(cargv, where, conf);                                       \
        return 2;                                                              \
    } while (0)
    optind = 1;
    while ((at = optind, o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'b': bind = optarg; break;
        case 'p': if (parse_port("http-port", optarg, &http_port) != 0) OPT_FAIL(); break;
        case 'S': if (parse_port("https-port", optarg, &https_port) != 0) OPT_FAIL(); break;
        case 'C': tls_cert = optarg; break;
        case 'K': tls_key = optarg; break;
        case 'D': state_dir = optarg; break;
        case 'u': if (parse_port("udp-port", optarg, &udp_port) != 0) OPT_FAIL(); break;
        case 'w': web_root = optarg; break;
        case 'c':
            if (n_cands < CC_SDP_MAX_CANDIDATES)
                cands[n_cands++] = optarg;
            break;
        case 'l':
            if (cc_cli_log_level("classcast", optarg) != 0)
                OPT_FAIL();
            break;
        case 'd': demo = 1; break;
        case 's': sources = optarg; demo = 1; break;
        case 'P': pipelines = optarg; break;
        case 'X': display = optarg; break;
        case 'V':
            if (cc_cli_video_size("classcast", optarg, &vw, &vh) != 0)
                OPT_FAIL();
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
                OPT_FAIL();
            }
            demo_token = optarg;
            demo = 1;
            break;
        }
        case 'M':
        case 'A':
        case 'R': {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (!end || *end || v < 1 || v > 1000000) {
                fprintf(stderr, "classcast: --%s wants a number from 1 to 1000000\n",
                        o == 'M' ? "max-connections"
                        : o == 'A' ? "max-connections-per-address" : "connection-rate");
                OPT_FAIL();
            }
            *(o == 'M' ? &max_conns : o == 'A' ? &max_conns_ip : &conn_rate) = (int)v;
            break;
        }
        case 'W':
        case 'N':
        case 'Y': {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            long max = o == 'W' ? CC_DATAPLANE_MAX_WORKERS : o == 'N' ? 65536 : 100000;
            const char *name = o == 'W' ? "workers" : o == 'N' ? "nack-cache-mb" : "split-at";
            if (!end || *end || v < 1 || v > max) {
                fprintf(stderr, "classcast: --%s wants a number from 1 to %ld\n", name, max);
                OPT_FAIL();
            }
            *(o == 'W' ? &workers : o == 'N' ? &nack_cache_mb : &split_at) = (int)v;
            break;
        }
        case 'Q': {
            char *end = NULL;
            double v = strtod(optarg, &end);
            if (!end || *end || !(v > 0) || v > 1e6) {
                fprintf(stderr, "classcast: --recording-quota-gb wants a number of GB "
                        "above 0 (e.g. 20 or 0.5)\n");
                OPT_FAIL();
            }
            rec_quota = (uint64_t)(v * 1e9);
            break;
        }
        case 'L': local_teacher = 1; break;
        case 'G': simulcast = 1; break;
        case 'g': simulcast = 0; break;
        case 'J': keyframe_replay = CC_SFU_REPLAY_ANY; break;
        case 'j': keyframe_replay = CC_SFU_REPLAY_OFF; break;
        case 'F': break; /* read before the loop (config_argv) */
        case 'h': usage_serve(stdout); config_free(cargv, where, conf); return 0;
        default: usage_serve(stderr); config_free(cargv, where, conf); return 2;
        }
    }
#undef OPT_FAIL
    if (raise_fd_limit(&max_conns) != 0)
        return 1;
    if (http_port < 0 || http_port > 65535 || udp_port < 0 || udp_port > 65535 ||
        https_port < 0 || https_port > 65535) {
        fprintf(stderr, "classcast: ports must be between 0 and 65535\n");
        return 2;
    }
    if (!tls_cert != !tls_key) {
        fprintf(stderr, "classcast: --tls-cert and --tls-key go together\n");
        return 2;
    }

    /* Everything below is freed at `out` (one cleanup path). */
    int ret = 1, worker_started = 0;
    cc_mailbox *events = NULL;
    cc_sfu *sfu = NULL;
    cc_store *store = NULL;
    cc_dtls_ctx *dtls = NULL;
    cc_dataplane *dp = NULL;
    cc_worker *worker = NULL; /* the first of the data plane's */
    cc_control *control = NULL;
    static cc_certs school;
    cc_dataplane_config wc = {.wake = wake_http, .workers = workers, .split_at = split_at,
                              .nack_cache_bytes = (size_t)nack_cache_mb << 20,
                              .keyframe_replay = keyframe_replay};
    if (cc_addr_from_string(&wc.bind, bind, (uint16_t)udp_port) != 0) {
        fprintf(stderr, "classcast: --bind '%s' is not an IP address\n", bind);
        ret = 2;
        goto out;
    }
    if (cc_mailbox_new(&events) != 0) {
        fprintf(stderr, "classcast: out of memory\n");
        goto out;
    }
    wc.events = events;
    /* Names a browser may use for this machine besides its addresses and
     * "localhost"; anything else in Host is refused (DNS rebinding). The
     * school CA's server certificate names the same. */
    char host_name[256] = "", host_local[300] = "";
    if (gethostname(host_name, sizeof host_name - 1) != 0)
        host_name[0] = 0;
    snprintf(host_local, sizeof host_local, "%s.local", host_name);
    const char *host_names[] = {host_name, host_local};
    /* HTTPS whenever other computers can connect: off loopback a browser
     * gives the teacher page camera and screen only over HTTPS. */
    int tls = tls_cert != NULL || !addr_is_loopback(&wc.bind);
    if (tls && http_port != 0 && http_port == https_port) {
        fprintf(stderr, "classcast: --http-port and --https-port must differ\n");
        ret = 2;
        goto out;
    }
    if (tls_cert && (access(tls_cert, R_OK) != 0 || access(tls_key, R_OK) != 0)) {
        fprintf(stderr, "classcast: cannot read --tls-cert %s or --tls-key %s: %s\n", tls_cert,
                tls_key, strerror(errno));
        ret = 2;
        goto out;
    }
    if (tls && !tls_cert) {
        if (school_certs(state_dir, host_name, &school) != 0)
            goto out;
        tls_cert = school.cert_path;
        tls_key = school.key_path;
    }
    /* Teacher accounts (docs/accounts.md): only a signed-in teacher
     * creates lessons, so without the database there is no server. */
    char store_err[1200];
    if (cc_store_open(&store, state_dir, store_err, sizeof store_err) != 0) {
        fprintf(stderr, "classcast: teacher accounts: %s\n", store_err);
        goto out;
    }
    if (cc_srtp_global_init() != 0) {
        fprintf(stderr, "classcast: libsrtp failed to initialise\n");
        goto out;
    }
    if (cc_dtls_ctx_new(&dtls) != 0) {
        fprintf(stderr, "classcast: could not create the DTLS certificate\n");
        goto out;
    }
    char dp_err[256] = "";
    int rc = cc_dataplane_new(&dp, &wc, dtls, dp_err, sizeof dp_err);
    if (rc != 0) {
        fprintf(stderr, "classcast: cannot open UDP on %s: %s\n", bind, dp_err);
        goto out;
    }
    worker = cc_dataplane_worker(dp, 0);
    sfu = cc_dataplane_sfu(dp, 0);
    uint16_t real_udp = cc_addr_port(cc_worker_local(worker));

    cc_control_config cc = {.dp = dp, .worker = worker, .events = events, .sfu = sfu,
                            .demo_lesson = demo,
                            .demo_token = demo_token,
                            .fingerprint = cc_dtls_ctx_fingerprint(dtls),
                            .pipelines_dir = pipelines, .display = display,
                            .video_width = vw, .video_height = vh,
                            .store = store, .local_teacher = local_teacher, .simulcast = simulcast,
                            .state_dir = state_dir, .recording_quota_bytes = rec_quota};
    for (int i = 0; i < n_cands; i++) {
        if (cc_addr_from_string(&cc.candidates[cc.n_candidates], cands[i], real_udp) != 0) {
            fprintf(stderr, "classcast: --candidate '%s' is not an IP address\n", cands[i]);
            ret = 2;
            goto out;
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
    if (cc_control_new(&control, &cc) != 0)
        goto out;
    cc_http_config hc = {.bind = bind, .port = http_port, .web_root = web_root,
                         .host_names = host_names,
                         .max_conns = max_conns, .max_conns_per_ip = max_conns_ip,
                         .conn_rate_per_min = conn_rate,
                         .n_host_names = host_name[0] ? 2 : 0,
                         .hooks = cc_control_http_hooks(control)};
    if (tls)
        hc.tls = (cc_http_tls){.cert_file = tls_cert, .key_file = tls_key, .port = https_port,
                               .ca_pem = school.ca_pem, .ca_pem_len = school.ca_pem_len,
                               .ca_fingerprint = school.ca_fingerprint,
                               .ca_name = school.ca_name};
    rc = cc_http_new(&g_http, &hc);
    if (rc != 0) {
        if (tls)
            fprintf(stderr, "classcast: cannot listen for HTTP on %s:%d and HTTPS on %s:%d "
                    "(is a port taken, or the certificate or key unreadable?)\n",
                    bind, http_port, bind, https_port);
        else
            fprintf(stderr, "classcast: cannot listen for HTTP on %s:%d\n", bind, http_port);
        goto out;
    }
    cc_control_set_http(control, g_http);
    cc_cli_on_stop(&g_stop, wake_http_now);

    if (cc_dataplane_start(dp) != 0) {
        fprintf(stderr, "classcast: cannot start the media threads\n");
        goto out;
    }
    worker_started = 1;
    if (sources) {
        /* The demo lesson's local publisher belongs to the control plane,
         * like one a teacher starts from the page (capture_start), so the
         * teacher page can stop or switch it. */
        char err[1024] = "";
        if (cc_control_capture_start(control, "demo", sources, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "classcast: %s\n", err);
            goto out;
        }
    }
    char ub[64], hs[64] = "";
    if (tls)
        snprintf(hs, sizeof hs, " https://%s:%d", bind, cc_http_https_port(g_http));
    fprintf(stderr, "classcast: listening http://%s:%d udp %s%s\n", bind,
            cc_http_port(g_http), cc_addr_to_string(cc_worker_local(worker), ub, sizeof ub), hs);
    int nw = cc_dataplane_workers(dp);
    if (nw > 1)
        fprintf(stderr, "classcast: %d media workers on UDP ports %u to %u\n", nw,
                cc_addr_port(cc_worker_local(worker)),
                cc_addr_port(cc_worker_local(cc_dataplane_worker(dp, nw - 1))));
    fflush(stderr);
    print_links(cc_worker_local(worker), &cc, cc_http_port(g_http), cc_http_https_port(g_http),
                school.ca_pem ? &school : NULL, demo);
    rc = cc_http_run(g_http, &g_stop);
    CC_INFO("main", "shutting down");
    ret = rc == 0 ? 0 : 1;
out:
    /* Local publishers first, while the worker runs: detaching waits on it. */
    if (control)
        cc_control_shutdown(control);
    if (worker_started)
        cc_dataplane_stop(dp);
    cc_http_free(g_http);
    g_http = NULL;
    cc_dataplane_free(dp); /* workers (their peers' events), SFUs, handshakes */
    cc_control_free(control);
    cc_mailbox_free(events);
    cc_dtls_ctx_free(dtls);
    cc_certs_release(&school);
    cc_store_close(store);
    config_release();
    return ret;
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
