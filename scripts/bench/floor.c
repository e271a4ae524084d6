/* bench_floor: the least a forwarded packet can cost on this machine.
 *
 * One sender thread does, per packet, what an SFU must do at the very least to
 * forward one RTP packet to one subscriber:
 *   protect: write the RTP header (per-destination SSRC and sequence number),
 *            copy the payload into the output slot, and protect it with
 *            AEAD_AES_128_GCM (one key per destination, as each subscriber
 *            has its own keys), with either implementation (--protect):
 *              libsrtp: srtp_protect() through libsrtp (one SRTP session
 *                       per destination; Debian's libsrtp runs on NSS);
 *              evp:     OpenSSL EVP AES-128-GCM directly (RFC 7714 section
 *                       8: IV = salt XOR SSRC/ROC/SEQ, AAD = the header,
 *                       16-byte tag), one EVP_CIPHER_CTX keyed once per
 *                       destination and only the IV set per packet: the
 *                       cheapest protect available here, and what
 *                       classcast's own outbound RTP path does
 *                       (src/rtc/srtp.c);
 *   send:    its share of a sendmmsg() batch (default 64 datagrams, one to each
 *            of 64 destinations) from one UDP socket.
 * Receiver thread(s) drain the 64 destination sockets with recvmmsg().
 *
 * The sender thread's CPU time (CLOCK_THREAD_CPUTIME_ID) is split into the
 * protect and send phases and divided by the packets sent. Loopback delivery
 * (and veth delivery into the peer namespace) is charged to the sender, which
 * is what a real SFU pays too, so run it over the same path as the fan-out
 * run it is compared with.
 *
 * Roles:
 *   --role both (default): sender and receivers in one process. With
 *       --recv-netns NAME the receiver threads first enter the network
 *       namespace /var/run/netns/NAME (setns is per thread for network
 *       namespaces), so `ip netns exec cc-srv bench_floor --recv-netns cc-sub
 *       --dest 10.231.0.2 --bind 10.231.0.1` sends across the veth pair.
 *   --role send / --role recv: two processes (e.g. one per namespace, under
 *       `ip netns exec`); the receiver stops after --idle-ms without packets
 *       once the first one has arrived, or at --max-seconds.
 *
 * Output: human text on stderr, then one line of JSON on stdout.
 *
 * Bounded: stops after --count packets or --max-seconds, whichever is first.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <srtp2/srtp.h>

#define MAX_DESTS 1024
#define MAX_BATCH 1024
#define MAX_SIZE 1500
#define MAX_RECV_THREADS 8
#define RECV_VLEN 64

enum role { ROLE_BOTH, ROLE_SEND, ROLE_RECV };
enum protect_impl { PROTECT_LIBSRTP, PROTECT_EVP };

static struct {
    enum role role;
    enum protect_impl protect;
    const char *dest;       /* receivers' address (where datagrams go) */
    const char *bind;       /* sender's source address */
    const char *recv_netns; /* namespace the receiver threads enter */
    int port;               /* first receiver port */
    int dests;
    int batch;
    int size;               /* RTP packet before protection, header included */
    long long count;        /* packets to send */
    long long warmup;       /* packets sent before measuring */
    double max_seconds;
    long long rate;         /* packets per second, 0 = as fast as possible */
    int recv_threads;
    int idle_ms;
    int bufsize;            /* SO_SNDBUF / SO_RCVBUF */
    int quiet;
} opt = {
    .role = ROLE_BOTH,
    .protect = PROTECT_LIBSRTP,
    .dest = "127.0.0.1",
    .bind = NULL,
    .recv_netns = NULL,
    .port = 41000,
    .dests = 64,
    .batch = 64,
    .size = 1200,
    .count = 1000000,
    .warmup = 20000,
    .max_seconds = 20.0,
    .rate = 0,
    .recv_threads = 1,
    .idle_ms = 1000,
    .bufsize = 8 << 20,
    .quiet = 0,
};

static atomic_int g_sender_done;
static atomic_int g_stop;
static atomic_int g_recv_ready;
static atomic_int g_recv_failed;

static double now_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&g_stop, 1);
}

static int parse_ipv4(const char *s, struct in_addr *out)
{
    return inet_pton(AF_INET, s, out) == 1 ? 0 : -1;
}

static void set_bufs(int fd, int which)
{
    int v = opt.bufsize;
    /* As root the FORCE variants pass net.core.[rw]mem_max; fall back quietly. */
    if (which == SO_RCVBUF) {
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) != 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    } else {
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) != 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    }
}

/* ---------------------------------------------------------------- receiver */

typedef struct {
    int idx;
    int first, n;             /* its share of the destination sockets */
    int fds[MAX_DESTS];
    long long received;
    long long bytes;
    long long bad;            /* datagrams of an unexpected size */
    double cpu_s;             /* thread CPU time while receiving */
    double first_rx, last_rx; /* CLOCK_MONOTONIC */
} recv_ctx;

static int enter_netns(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "/var/run/netns/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "bench_floor: open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (setns(fd, CLONE_NEWNET) != 0) {
        fprintf(stderr, "bench_floor: setns %s: %s\n", name, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static void *recv_main(void *arg)
{
    recv_ctx *rc = arg;
    struct in_addr a;
    int ep = -1;

    if (opt.recv_netns && enter_netns(opt.recv_netns) != 0)
        goto fail;
    if (parse_ipv4(opt.dest, &a) != 0) {
        fprintf(stderr, "bench_floor: --dest '%s' is not an IPv4 address\n", opt.dest);
        goto fail;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        goto fail;
    for (int i = 0; i < rc->n; i++) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            goto fail;
        rc->fds[i] = fd;
        set_bufs(fd, SO_RCVBUF);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = a,
                                 .sin_port = htons((uint16_t)(opt.port + rc->first + i))};
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            fprintf(stderr, "bench_floor: bind %s:%d: %s\n", opt.dest,
                    opt.port + rc->first + i, strerror(errno));
            goto fail;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
            goto fail;
    }
    atomic_fetch_add(&g_recv_ready, 1);

    unsigned char (*bufs)[MAX_SIZE + 64] = malloc(RECV_VLEN * sizeof *bufs);
    if (!bufs)
        goto fail;
    struct mmsghdr msgs[RECV_VLEN];
    struct iovec iov[RECV_VLEN];
    for (int i = 0; i < RECV_VLEN; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof bufs[i];
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    double cpu0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    double start = now_s(CLOCK_MONOTONIC);
    double done_at = 0;
    for (;;) {
        double t = now_s(CLOCK_MONOTONIC);
        if (atomic_load(&g_stop))
            break;
        if (t - start > opt.max_seconds + (double)opt.idle_ms / 1000.0 + 1.0)
            break;
        if (opt.role == ROLE_RECV) {
            if (rc->received > 0 && t - rc->last_rx > (double)opt.idle_ms / 1000.0)
                break;
        } else if (atomic_load(&g_sender_done)) {
            /* sender finished and nothing arrived for 200 ms: drained */
            if (done_at == 0)
                done_at = t;
            if (t - (rc->last_rx > done_at ? rc->last_rx : done_at) > 0.2)
                break;
        }
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 50);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int e = 0; e < n; e++) {
            int fd = rc->fds[evs[e].data.u32];
            for (;;) {
                int got = recvmmsg(fd, msgs, RECV_VLEN, MSG_DONTWAIT, NULL);
                if (got <= 0)
                    break;
                double tr = now_s(CLOCK_MONOTONIC);
                if (rc->received == 0)
                    rc->first_rx = tr;
                rc->last_rx = tr;
                for (int k = 0; k < got; k++) {
                    unsigned len = msgs[k].msg_len;
                    rc->bytes += len;
                    if (len < (unsigned)opt.size || len > (unsigned)opt.size + SRTP_MAX_TRAILER_LEN)
                        rc->bad++;
                }
                rc->received += got;
                if (got < RECV_VLEN)
                    break;
            }
        }
    }
    rc->cpu_s = now_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    free(bufs);
    for (int i = 0; i < rc->n; i++)
        close(rc->fds[i]);
    close(ep);
    return NULL;
fail:
    atomic_store(&g_recv_failed, 1);
    atomic_fetch_add(&g_recv_ready, 1);
    if (ep >= 0)
        close(ep);
    return NULL;
}

/* ------------------------------------------------------------------ sender */

typedef struct {
    long long sent;           /* all packets handed to the kernel */
    long long measured;       /* of which measured (after warm-up) */
    long long send_errors;    /* datagrams sendmmsg did not take */
    double protect_cpu_s;     /* measured phases, thread CPU time */
    double send_cpu_s;
    double wall_s;            /* measured part, CLOCK_MONOTONIC */
    double total_wall_s;
    int ok;
} send_result;

static int srtp_sessions_new(srtp_t *sess, uint32_t *ssrc)
{
    unsigned char key[SRTP_AES_GCM_128_KEY_LEN_WSALT];
    for (int d = 0; d < opt.dests; d++) {
        srtp_policy_t pol;
        memset(&pol, 0, sizeof pol);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
        for (size_t i = 0; i < sizeof key; i++)
            key[i] = (unsigned char)(i * 31 + d * 7 + 1);
        ssrc[d] = 0x10000000u + (uint32_t)d * 0x01010101u;
        pol.ssrc.type = ssrc_specific;
        pol.ssrc.value = ssrc[d];
        pol.key = key;
        pol.window_size = 1024;
        pol.allow_repeat_tx = 0;
        pol.next = NULL;
        srtp_err_status_t st = srtp_create(&sess[d], &pol);
        if (st != srtp_err_status_ok) {
            fprintf(stderr, "bench_floor: srtp_create failed (%d)\n", (int)st);
            return -1;
        }
    }
    return 0;
}

/* --protect evp: per destination a context keyed once and the salt. */
#define EVP_TAG_LEN 16
#define EVP_SALT_LEN 12
typedef struct {
    EVP_CIPHER_CTX *ctx;
    unsigned char salt[EVP_SALT_LEN];
} evp_session;

static int evp_sessions_new(evp_session *sess, uint32_t *ssrc)
{
    for (int d = 0; d < opt.dests; d++) {
        unsigned char key[16];
        for (size_t i = 0; i < sizeof key; i++)
            key[i] = (unsigned char)(i * 31 + d * 7 + 1);
        for (size_t i = 0; i < EVP_SALT_LEN; i++)
            sess[d].salt[i] = (unsigned char)(i * 17 + d * 3 + 2);
        ssrc[d] = 0x10000000u + (uint32_t)d * 0x01010101u;
        sess[d].ctx = EVP_CIPHER_CTX_new();
        if (!sess[d].ctx ||
            EVP_EncryptInit_ex(sess[d].ctx, EVP_aes_128_gcm(), NULL, NULL, NULL) != 1 ||
            EVP_CIPHER_CTX_ctrl(sess[d].ctx, EVP_CTRL_GCM_SET_IVLEN, EVP_SALT_LEN, NULL) != 1 ||
            EVP_EncryptInit_ex(sess[d].ctx, NULL, NULL, key, NULL) != 1) {
            fprintf(stderr, "bench_floor: EVP AES-128-GCM setup failed\n");
            return -1;
        }
    }
    return 0;
}

/* RFC 7714 section 8.1: IV = salt XOR (00 00 || SSRC || ROC || SEQ); the
 * 12-byte header is the AAD; ciphertext in place, tag appended. The ROC
 * stays 0 here (a run wraps no sequence number space it checks). Returns
 * the protected length or -1. */
static int evp_protect(evp_session *s, unsigned char *p, int len)
{
    unsigned char iv[EVP_SALT_LEN] = {0, 0, p[8], p[9], p[10], p[11], 0, 0, 0, 0, p[2], p[3]};
    for (int i = 0; i < EVP_SALT_LEN; i++)
        iv[i] ^= s->salt[i];
    int l = 0, l2 = 0;
    if (EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, iv) != 1 ||
        EVP_EncryptUpdate(s->ctx, NULL, &l, p, 12) != 1 ||
        EVP_EncryptUpdate(s->ctx, p + 12, &l, p + 12, len - 12) != 1 ||
        EVP_EncryptFinal_ex(s->ctx, p + 12 + l, &l2) != 1 ||
        EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_GET_TAG, EVP_TAG_LEN, p + len) != 1)
        return -1;
    return len + EVP_TAG_LEN;
}

static void run_sender(send_result *r)
{
    static evp_session esess[MAX_DESTS];
    static srtp_t sess[MAX_DESTS];
    static uint32_t ssrc[MAX_DESTS];
    static uint16_t seq[MAX_DESTS];
    static uint32_t ts[MAX_DESTS];
    static unsigned char slots[MAX_BATCH][MAX_SIZE + SRTP_MAX_TRAILER_LEN];
    static struct mmsghdr msgs[MAX_BATCH];
    static struct iovec iov[MAX_BATCH];
    static struct sockaddr_in dst[MAX_DESTS];
    unsigned char payload[MAX_SIZE];
    struct in_addr da, ba;

    memset(r, 0, sizeof *r);
    if (parse_ipv4(opt.dest, &da) != 0) {
        fprintf(stderr, "bench_floor: --dest '%s' is not an IPv4 address\n", opt.dest);
        return;
    }
    if (opt.bind) {
        if (parse_ipv4(opt.bind, &ba) != 0) {
            fprintf(stderr, "bench_floor: --bind '%s' is not an IPv4 address\n", opt.bind);
            return;
        }
    } else {
        ba.s_addr = htonl(INADDR_ANY);
    }
    if (opt.protect == PROTECT_EVP ? evp_sessions_new(esess, ssrc) != 0
                                   : srtp_sessions_new(sess, ssrc) != 0)
        return;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("bench_floor: socket");
        return;
    }
    set_bufs(fd, SO_SNDBUF);
    /* Don't Fragment, as classcast's own socket (src/net/udp.c) and WebRTC
     * senders set it: the kernel then skips the IP ID hash per datagram. */
    int pmtu = getenv("FLOOR_NO_DF") ? IP_PMTUDISC_WANT : IP_PMTUDISC_DO;
    setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = ba, .sin_port = 0};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "bench_floor: bind sender to %s: %s\n",
                opt.bind ? opt.bind : "0.0.0.0", strerror(errno));
        close(fd);
        return;
    }
    for (int d = 0; d < opt.dests; d++) {
        dst[d].sin_family = AF_INET;
        dst[d].sin_addr = da;
        dst[d].sin_port = htons((uint16_t)(opt.port + d));
        seq[d] = (uint16_t)(d * 1000);
        ts[d] = (uint32_t)d * 90000u;
    }
    for (int i = 0; i < opt.size; i++)
        payload[i] = (unsigned char)(i * 13 + 5);
    payload[12] = 0x90; /* a VP8 payload descriptor's first byte, for looks */

    int hdr = 12;
    double prot = 0, snd = 0;
    double t_start = now_s(CLOCK_MONOTONIC), t_meas = -1;
    long long next_dest = 0;
    int64_t pace_t0 = now_ns(CLOCK_MONOTONIC);
    long long paced = 0;

    while (r->sent < opt.count && !atomic_load(&g_stop)) {
        double wall = now_s(CLOCK_MONOTONIC);
        if (wall - t_start > opt.max_seconds)
            break;
        int measuring = r->sent >= opt.warmup;
        if (measuring && t_meas < 0) {
            t_meas = wall;
        }
        long long left = opt.count - r->sent;
        int nb = opt.batch < left ? opt.batch : (int)left;

        /* protect phase */
        double c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
        int built = 0;
        for (int k = 0; k < nb; k++) {
            int d = (int)((next_dest + k) % opt.dests);
            unsigned char *p = slots[k];
            p[0] = 0x80;
            p[1] = 96 | ((seq[d] & 7) == 0 ? 0x80 : 0); /* marker now and then */
            p[2] = (unsigned char)(seq[d] >> 8);
            p[3] = (unsigned char)seq[d];
            p[4] = (unsigned char)(ts[d] >> 24);
            p[5] = (unsigned char)(ts[d] >> 16);
            p[6] = (unsigned char)(ts[d] >> 8);
            p[7] = (unsigned char)ts[d];
            p[8] = (unsigned char)(ssrc[d] >> 24);
            p[9] = (unsigned char)(ssrc[d] >> 16);
            p[10] = (unsigned char)(ssrc[d] >> 8);
            p[11] = (unsigned char)ssrc[d];
            memcpy(p + hdr, payload + hdr, (size_t)(opt.size - hdr));
            int len = opt.size;
            if (opt.protect == PROTECT_EVP) {
                len = evp_protect(&esess[d], p, len);
                if (len < 0) {
                    fprintf(stderr, "bench_floor: EVP AES-GCM protect failed\n");
                    goto out;
                }
            } else {
                srtp_err_status_t st = srtp_protect(sess[d], p, &len);
                if (st != srtp_err_status_ok) {
                    fprintf(stderr, "bench_floor: srtp_protect failed (%d)\n", (int)st);
                    goto out;
                }
            }
            seq[d]++;
            if ((seq[d] & 7) == 0)
                ts[d] += 3000;
            iov[k].iov_base = p;
            iov[k].iov_len = (size_t)len;
            memset(&msgs[k].msg_hdr, 0, sizeof msgs[k].msg_hdr);
            msgs[k].msg_hdr.msg_name = &dst[d];
            msgs[k].msg_hdr.msg_namelen = sizeof dst[d];
            msgs[k].msg_hdr.msg_iov = &iov[k];
            msgs[k].msg_hdr.msg_iovlen = 1;
            built++;
        }
        double c1 = now_s(CLOCK_THREAD_CPUTIME_ID);

        /* send phase */
        int off = 0;
        while (off < built) {
            int s = sendmmsg(fd, msgs + off, (unsigned)(built - off), 0);
            if (s < 0) {
                if (errno == EINTR)
                    continue;
                /* ENOBUFS/ECONNREFUSED etc: count the datagram as lost, go on */
                r->send_errors++;
                off++;
                continue;
            }
            off += s;
        }
        double c2 = now_s(CLOCK_THREAD_CPUTIME_ID);

        next_dest += nb;
        r->sent += nb;
        if (measuring) {
            prot += c1 - c0;
            snd += c2 - c1;
            r->measured += nb;
        }
        if (opt.rate > 0) {
            paced += nb;
            int64_t due = pace_t0 + paced * 1000000000LL / opt.rate;
            int64_t nowt = now_ns(CLOCK_MONOTONIC);
            if (due > nowt) {
                struct timespec sl = {.tv_sec = (time_t)((due - nowt) / 1000000000LL),
                                      .tv_nsec = (long)((due - nowt) % 1000000000LL)};
                nanosleep(&sl, NULL);
            }
        }
    }
    r->ok = 1;
out:
    {
        double t_end = now_s(CLOCK_MONOTONIC);
        r->wall_s = t_meas >= 0 ? t_end - t_meas : 0;
        r->total_wall_s = t_end - t_start;
    }
    r->protect_cpu_s = prot;
    r->send_cpu_s = snd;
    for (int d = 0; d < opt.dests; d++) {
        if (opt.protect == PROTECT_EVP)
            EVP_CIPHER_CTX_free(esess[d].ctx);
        else
            srtp_dealloc(sess[d]);
    }
    close(fd);
}

/* ------------------------------------------------------------------- main */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: bench_floor [options]\n"
        "\n"
        "Measures the least a forwarded packet can cost: one AES-GCM SRTP protect\n"
        "(AEAD_AES_128_GCM) plus its share of a sendmmsg batch, with receivers\n"
        "draining the datagrams. Prints text on stderr and one JSON line on stdout.\n"
        "\n"
        "  --protect libsrtp|evp  srtp_protect() of libsrtp (default), or OpenSSL\n"
        "                         EVP AES-128-GCM directly (RFC 7714; the cheapest\n"
        "                         protect, as classcast's own RTP path uses)\n"
        "  --role both|send|recv  sender and receivers in one process (default),\n"
        "                         or only one side (run the other side elsewhere)\n"
        "  --dest ADDR            receivers' IPv4 address (default 127.0.0.1)\n"
        "  --bind ADDR            sender's source IPv4 address (default any)\n"
        "  --recv-netns NAME      receiver threads enter /var/run/netns/NAME first\n"
        "  --port N               first receiver UDP port (default 41000)\n"
        "  --dests N              destinations, one socket each (default 64)\n"
        "  --batch N              datagrams per sendmmsg (default 64)\n"
        "  --size N               RTP packet bytes before protection, header\n"
        "                         included (default 1200; +16 tag on the wire)\n"
        "  --count N              packets to send (default 1000000)\n"
        "  --warmup N             packets sent before measuring (default 20000)\n"
        "  --max-seconds S        stop sending after S seconds (default 20)\n"
        "  --rate PPS             pace to PPS packets/s (default 0: flat out)\n"
        "  --recv-threads N       receiver threads (default 1)\n"
        "  --idle-ms MS           recv role: stop after MS idle (default 1000)\n"
        "  --quiet                JSON only\n"
        "  -h, --help             this help\n");
}

static long long parse_ll(const char *s, const char *what, long long lo, long long hi)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) {
        fprintf(stderr, "bench_floor: %s must be an integer in [%lld, %lld]\n", what, lo, hi);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"role", required_argument, 0, 'r'},
        {"protect", required_argument, 0, 'P'},
        {"dest", required_argument, 0, 'd'},
        {"bind", required_argument, 0, 'b'},
        {"recv-netns", required_argument, 0, 'N'},
        {"port", required_argument, 0, 'p'},
        {"dests", required_argument, 0, 'D'},
        {"batch", required_argument, 0, 'B'},
        {"size", required_argument, 0, 's'},
        {"count", required_argument, 0, 'c'},
        {"warmup", required_argument, 0, 'w'},
        {"max-seconds", required_argument, 0, 't'},
        {"rate", required_argument, 0, 'R'},
        {"recv-threads", required_argument, 0, 'T'},
        {"idle-ms", required_argument, 0, 'i'},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (o) {
        case 'r':
            if (strcmp(optarg, "both") == 0) opt.role = ROLE_BOTH;
            else if (strcmp(optarg, "send") == 0) opt.role = ROLE_SEND;
            else if (strcmp(optarg, "recv") == 0) opt.role = ROLE_RECV;
            else { usage(stderr); return 2; }
            break;
        case 'P':
            if (strcmp(optarg, "libsrtp") == 0) opt.protect = PROTECT_LIBSRTP;
            else if (strcmp(optarg, "evp") == 0) opt.protect = PROTECT_EVP;
            else { usage(stderr); return 2; }
            break;
        case 'd': opt.dest = optarg; break;
        case 'b': opt.bind = optarg; break;
        case 'N': opt.recv_netns = optarg; break;
        case 'p': opt.port = (int)parse_ll(optarg, "--port", 1, 65535); break;
        case 'D': opt.dests = (int)parse_ll(optarg, "--dests", 1, MAX_DESTS); break;
        case 'B': opt.batch = (int)parse_ll(optarg, "--batch", 1, MAX_BATCH); break;
        case 's': opt.size = (int)parse_ll(optarg, "--size", 16, MAX_SIZE); break;
        case 'c': opt.count = parse_ll(optarg, "--count", 1, 1000000000LL); break;
        case 'w': opt.warmup = parse_ll(optarg, "--warmup", 0, 1000000000LL); break;
        case 't':
            opt.max_seconds = atof(optarg);
            if (!(opt.max_seconds > 0 && opt.max_seconds <= 3600)) {
                fprintf(stderr, "bench_floor: --max-seconds must be in (0, 3600]\n");
                return 2;
            }
            break;
        case 'R': opt.rate = parse_ll(optarg, "--rate", 0, 100000000LL); break;
        case 'T': opt.recv_threads = (int)parse_ll(optarg, "--recv-threads", 1, MAX_RECV_THREADS); break;
        case 'i': opt.idle_ms = (int)parse_ll(optarg, "--idle-ms", 10, 60000); break;
        case 'q': opt.quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    if (opt.port + opt.dests - 1 > 65535) {
        fprintf(stderr, "bench_floor: --port + --dests exceeds 65535\n");
        return 2;
    }
    if (opt.warmup >= opt.count)
        opt.warmup = opt.count / 10;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (srtp_init() != srtp_err_status_ok) {
        fprintf(stderr, "bench_floor: srtp_init failed\n");
        return 1;
    }

    /* receivers */
    static recv_ctx rcs[MAX_RECV_THREADS];
    pthread_t rth[MAX_RECV_THREADS];
    int nrt = 0;
    if (opt.role != ROLE_SEND) {
        nrt = opt.recv_threads < opt.dests ? opt.recv_threads : opt.dests;
        int per = opt.dests / nrt, extra = opt.dests % nrt, first = 0;
        for (int i = 0; i < nrt; i++) {
            rcs[i].idx = i;
            rcs[i].first = first;
            rcs[i].n = per + (i < extra ? 1 : 0);
            first += rcs[i].n;
            if (pthread_create(&rth[i], NULL, recv_main, &rcs[i]) != 0) {
                fprintf(stderr, "bench_floor: pthread_create failed\n");
                return 1;
            }
        }
        double t0 = now_s(CLOCK_MONOTONIC);
        while (atomic_load(&g_recv_ready) < nrt && now_s(CLOCK_MONOTONIC) - t0 < 5.0)
            usleep(1000);
        if (atomic_load(&g_recv_failed) || atomic_load(&g_recv_ready) < nrt) {
            atomic_store(&g_stop, 1);
            for (int i = 0; i < nrt; i++)
                pthread_join(rth[i], NULL);
            fprintf(stderr, "bench_floor: receivers failed to start\n");
            return 1;
        }
        if (!opt.quiet && opt.role == ROLE_RECV)
            fprintf(stderr, "bench_floor: receiving on %s:%d..%d\n", opt.dest,
                    opt.port, opt.port + opt.dests - 1);
    }

    send_result sr;
    memset(&sr, 0, sizeof sr);
    if (opt.role != ROLE_RECV) {
        run_sender(&sr);
        atomic_store(&g_sender_done, 1);
        if (!sr.ok) {
            atomic_store(&g_stop, 1);
            for (int i = 0; i < nrt; i++)
                pthread_join(rth[i], NULL);
            return 1;
        }
    }

    long long received = 0, bad = 0, rbytes = 0;
    double rcpu = 0, first_rx = 0, last_rx = 0;
    for (int i = 0; i < nrt; i++) {
        pthread_join(rth[i], NULL);
        received += rcs[i].received;
        bad += rcs[i].bad;
        rbytes += rcs[i].bytes;
        rcpu += rcs[i].cpu_s;
        if (rcs[i].received) {
            if (first_rx == 0 || rcs[i].first_rx < first_rx)
                first_rx = rcs[i].first_rx;
            if (rcs[i].last_rx > last_rx)
                last_rx = rcs[i].last_rx;
        }
    }

    const char *role = opt.role == ROLE_BOTH ? "both" : opt.role == ROLE_SEND ? "send" : "recv";
    int wire = opt.size + 16; /* AES-GCM tag */
    double m = sr.measured > 0 ? (double)sr.measured : 1;
    double protect_us = sr.protect_cpu_s / m * 1e6;
    double send_us = sr.send_cpu_s / m * 1e6;
    double pps = sr.wall_s > 0 ? (double)sr.measured / sr.wall_s : 0;
    double recv_us = received > 0 ? rcpu / (double)received * 1e6 : 0;
    long long lost = opt.role == ROLE_BOTH ? sr.sent - received : 0;
    if (lost < 0)
        lost = 0;

    if (!opt.quiet) {
        if (opt.role != ROLE_RECV) {
            fprintf(stderr,
                    "bench_floor: %lld packets of %d bytes (%d on the wire) to %d destinations at %s,"
                    " batches of %d, from %s%s%s\n",
                    sr.sent, opt.size, wire, opt.dests, opt.dest, opt.batch,
                    opt.bind ? opt.bind : "any",
                    opt.recv_netns ? ", receivers in netns " : "",
                    opt.recv_netns ? opt.recv_netns : "");
            fprintf(stderr,
                    "  sender CPU per packet (%lld measured after %lld warm-up):\n"
                    "    protect (AEAD_AES_128_GCM, header + copy + %-12s): %.3f us\n"
                    "    send (share of sendmmsg):                                  %.3f us\n"
                    "    floor (protect + send):                                    %.3f us\n"
                    "  sender rate %.0f packets/s (%.1f Mbit/s)%s\n",
                    sr.measured, opt.warmup < sr.sent ? opt.warmup : sr.sent,
                    opt.protect == PROTECT_EVP ? "EVP_Encrypt*" : "srtp_protect", protect_us, send_us, protect_us + send_us, pps,
                    pps * wire * 8 / 1e6, sr.send_errors ? ", with send errors" : "");
        }
        if (opt.role != ROLE_SEND)
            fprintf(stderr,
                    "  receivers: %lld received (%lld bad size), %.3f us CPU per packet%s\n",
                    received, bad, recv_us, opt.role == ROLE_BOTH ? "" : "");
        if (opt.role == ROLE_BOTH)
            fprintf(stderr, "  lost: %lld of %lld (%.3f%%)\n", lost, sr.sent,
                    sr.sent ? 100.0 * (double)lost / (double)sr.sent : 0.0);
    }

    printf("{\"bench\":\"floor\",\"role\":\"%s\",\"cipher\":\"AEAD_AES_128_GCM\",\"protect_impl\":\"%s\","
           "\"dest\":\"%s\",\"bind\":\"%s\",\"recv_netns\":\"%s\","
           "\"dests\":%d,\"batch\":%d,\"size\":%d,\"wire_size\":%d,"
           "\"packets_sent\":%lld,\"packets_measured\":%lld,\"send_errors\":%lld,"
           "\"protect_us\":%.4f,\"send_us\":%.4f,\"floor_us\":%.4f,"
           "\"sender_pps\":%.0f,\"wall_s\":%.3f,"
           "\"packets_received\":%lld,\"bad_size\":%lld,\"bytes_received\":%lld,"
           "\"recv_us\":%.4f,\"recv_threads\":%d,\"lost\":%lld}\n",
           role, opt.protect == PROTECT_EVP ? "openssl-evp" : "libsrtp", opt.dest, opt.bind ? opt.bind : "", opt.recv_netns ? opt.recv_netns : "",
           opt.dests, opt.batch, opt.size, wire,
           sr.sent, sr.measured, sr.send_errors,
           protect_us, send_us, protect_us + send_us, pps, sr.total_wall_s,
           received, bad, rbytes, recv_us, nrt, lost);
    fflush(stdout);
    srtp_shutdown();
    return 0;
}
