/* The only place datagrams touch a socket (docs/ARCHITECTURE.md, "Rules
 * the code keeps": only src/net does socket I/O). Batching with
 * recvmmsg/sendmmsg is what keeps a fan-out's syscall cost per packet
 * small. */
#include "classcast/udp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "classcast/err.h"
#include "classcast/log.h"

/* Room for one IP_PKTINFO or IPV6_PKTINFO control message, and on the
 * receive side an SCM_TIMESTAMPNS one. */
typedef union udp_ctl {
    struct cmsghdr align;
    uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct timespec))];
} udp_ctl;

struct cc_udp {
    int fd;
    int multi; /* cc_udp_open_multi: pktinfo in and out */
    int rx_ts; /* SO_TIMESTAMPNS on */
    cc_addr local;
    /* receive batch */
    struct mmsghdr rx_msgs[CC_UDP_BATCH];
    struct iovec rx_iov[CC_UDP_BATCH];
    struct sockaddr_storage rx_names[CC_UDP_BATCH];
    cc_udp_dgram rx_dgrams[CC_UDP_BATCH];
    uint8_t rx_buf[CC_UDP_BATCH][CC_UDP_RX_BUF];
    /* send batch */
    struct mmsghdr tx_msgs[CC_UDP_BATCH];
    struct iovec tx_iov[CC_UDP_BATCH];
    cc_addr tx_to[CC_UDP_BATCH];
    uint8_t tx_buf[CC_UDP_BATCH][CC_UDP_TX_BUF];
    int tx_n;
    cc_udp_stats stats;
    /* control messages: pktinfo (multi), receive times (rx_ts) */
    udp_ctl rx_ctl[CC_UDP_BATCH], tx_ctl[CC_UDP_BATCH];
};

static void set_buffer(int fd, int opt, int force_opt, int bytes)
{
    /* The *FORCE variants pass rmem_max/wmem_max when running as root. */
    if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) != 0)
        setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

static int udp_open(cc_udp **out, const cc_addr *bind_addr, int multi, int rcvbuf)
{
    *out = NULL;
    cc_udp *u = calloc(1, sizeof *u);
    if (!u)
        return CC_ENOMEM;
    int fam = bind_addr->u.sa.sa_family;
    u->multi = multi;
    u->fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd < 0) {
        free(u);
        return CC_EIO;
    }
    set_buffer(u->fd, SO_RCVBUF, SO_RCVBUFFORCE, rcvbuf > 0 ? rcvbuf : 8 << 20);
    set_buffer(u->fd, SO_SNDBUF, SO_SNDBUFFORCE, 8 << 20);
    /* Don't Fragment: WebRTC datagrams are kept under the path MTU (1200
     * bytes of payload), so fragmenting is never wanted, and with DF set
     * the kernel gives an unconnected socket's datagrams IP ID 0 instead
     * of hashing one per packet (RFC 6864 section 4.1: an atomic
     * datagram's ID carries no meaning), about 4 % of a fan-out's CPU.
     * A datagram over the path MTU fails with EMSGSIZE and is counted. */
    int pmtu = fam == AF_INET ? IP_PMTUDISC_DO : IPV6_PMTUDISC_DO;
    setsockopt(u->fd, fam == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
               fam == AF_INET ? IP_MTU_DISCOVER : IPV6_MTU_DISCOVER, &pmtu, sizeof pmtu);
    cc_addr b = *bind_addr;
    if (multi) {
        /* The wildcard address receives for every local address; pktinfo
         * says which one (RFC 3542 section 6 for IPv6). */
        int one = 1;
        int ok = fam == AF_INET
                     ? setsockopt(u->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one)
                     : setsockopt(u->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
        /* The kernel's receive time of each datagram: a load generator
         * then measures when a packet reached it, not when its own
         * (busy) loop got round to reading it. */
        if (ok == 0 && setsockopt(u->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0)
            CC_WARN("udp", "SO_TIMESTAMPNS: %s", strerror(errno));
        else if (ok == 0)
            u->rx_ts = 1;
        if (ok != 0) {
            CC_ERROR("udp", "pktinfo: %s", strerror(errno));
            close(u->fd);
            free(u);
            return CC_EIO;
        }
        if (fam == AF_INET)
            b.u.in4.sin_addr.s_addr = htonl(INADDR_ANY);
        else
            b.u.in6.sin6_addr = in6addr_any;
    }
    if (bind(u->fd, &b.u.sa, b.len) != 0) {
        CC_ERROR("udp", "bind failed: %s", strerror(errno));
        close(u->fd);
        free(u);
        return CC_EIO;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(u->fd, (struct sockaddr *)&ss, &sl);
    cc_addr_set(&u->local, (struct sockaddr *)&ss, sl);
    for (int i = 0; i < CC_UDP_BATCH; i++) {
        u->rx_iov[i].iov_base = u->rx_buf[i];
        u->rx_iov[i].iov_len = CC_UDP_RX_BUF;
        u->tx_iov[i].iov_base = u->tx_buf[i];
    }
    *out = u;
    return 0;
}

int cc_udp_open(cc_udp **out, const cc_addr *bind_addr)
{
    return udp_open(out, bind_addr, 0, 0);
}

int cc_udp_open_multi(cc_udp **out, const cc_addr *bind_addr, int rcvbuf_bytes)
{
    return udp_open(out, bind_addr, 1, rcvbuf_bytes);
}

int cc_udp_rx_timestamps(cc_udp *u)
{
    int one = 1;
    if (setsockopt(u->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0)
        return CC_EIO;
    u->rx_ts = 1;
    return 0;
}

void cc_udp_close(cc_udp *u)
{
    if (!u)
        return;
    close(u->fd);
    free(u);
}

int cc_udp_fd(const cc_udp *u) { return u->fd; }
const cc_addr *cc_udp_local(const cc_udp *u) { return &u->local; }
const cc_udp_stats *cc_udp_get_stats(const cc_udp *u) { return &u->stats; }

/* The destination address of a received datagram from its pktinfo, and
 * the kernel's receive time. */
static void pktinfo_read(const cc_udp *u, struct msghdr *h, cc_addr *to, int64_t *rx_ns)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            *rx_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
            continue;
        }
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            *to = u->local;
            to->u.in4.sin_addr = pi.ipi_addr;
            continue;
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            *to = u->local;
            to->u.in6.sin6_addr = pi.ipi6_addr;
            continue;
        }
    }
}

int cc_udp_recv(cc_udp *u, cc_udp_dgram **batch)
{
    for (int i = 0; i < CC_UDP_BATCH; i++) {
        struct msghdr *h = &u->rx_msgs[i].msg_hdr;
        memset(h, 0, sizeof *h);
        h->msg_name = &u->rx_names[i];
        h->msg_namelen = sizeof u->rx_names[i];
        h->msg_iov = &u->rx_iov[i];
        h->msg_iovlen = 1;
        if (u->multi || u->rx_ts) {
            h->msg_control = u->rx_ctl[i].b;
            h->msg_controllen = sizeof u->rx_ctl[i].b;
        }
    }
    int n = recvmmsg(u->fd, u->rx_msgs, CC_UDP_BATCH, MSG_DONTWAIT, NULL);
    u->stats.rx_syscalls++;
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0;
        return CC_EIO;
    }
    for (int i = 0; i < n; i++) {
        cc_udp_dgram *d = &u->rx_dgrams[i];
        struct msghdr *h = &u->rx_msgs[i].msg_hdr;
        d->data = u->rx_buf[i];
        d->len = u->rx_msgs[i].msg_len;
        d->truncated = (h->msg_flags & MSG_TRUNC) != 0;
        if (cc_addr_set(&d->from, (struct sockaddr *)&u->rx_names[i], h->msg_namelen) != 0)
            memset(&d->from, 0, sizeof d->from);
        d->to.len = 0;
        d->rx_realtime_ns = 0;
        if (u->multi || u->rx_ts)
            pktinfo_read(u, h, &d->to, &d->rx_realtime_ns);
        u->stats.rx_packets++;
        u->stats.rx_bytes += d->len;
        if (d->truncated)
            u->stats.rx_truncated++;
    }
    *batch = u->rx_dgrams;
    return n;
}

uint8_t *cc_udp_tx_slot(cc_udp *u)
{
    if (u->tx_n == CC_UDP_BATCH)
        cc_udp_flush(u);
    return u->tx_buf[u->tx_n];
}

void cc_udp_tx_commit(cc_udp *u, size_t len, const cc_addr *to)
{
    cc_udp_tx_commit_from(u, len, to, NULL);
}

/* Source address selection by an IP_PKTINFO / IPV6_PKTINFO control message
 * (ip(7) ipi_spec_dst; RFC 3542 section 6.1). */
static void pktinfo_write(cc_udp *u, int i, struct msghdr *h, const cc_addr *from)
{
    udp_ctl *ctl = &u->tx_ctl[i];
    memset(ctl, 0, sizeof *ctl);
    h->msg_control = ctl->b;
    struct cmsghdr *c = (struct cmsghdr *)ctl->b;
    if (from->u.sa.sa_family == AF_INET) {
        struct in_pktinfo pi = {.ipi_spec_dst = from->u.in4.sin_addr};
        h->msg_controllen = CMSG_SPACE(sizeof pi);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof pi);
        memcpy(CMSG_DATA(c), &pi, sizeof pi);
    } else {
        struct in6_pktinfo pi = {.ipi6_addr = from->u.in6.sin6_addr};
        h->msg_controllen = CMSG_SPACE(sizeof pi);
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof pi);
        memcpy(CMSG_DATA(c), &pi, sizeof pi);
    }
}

void cc_udp_tx_commit_from(cc_udp *u, size_t len, const cc_addr *to, const cc_addr *from)
{
    if (len == 0 || len > CC_UDP_TX_BUF || to->len == 0) {
        u->stats.tx_dropped++;
        return;
    }
    int i = u->tx_n;
    u->tx_to[i] = *to;
    u->tx_iov[i].iov_len = len;
    struct msghdr *h = &u->tx_msgs[i].msg_hdr;
    memset(h, 0, sizeof *h);
    h->msg_name = &u->tx_to[i].u.sa;
    h->msg_namelen = u->tx_to[i].len;
    h->msg_iov = &u->tx_iov[i];
    h->msg_iovlen = 1;
    if (u->multi && from && from->len && from->u.sa.sa_family == u->local.u.sa.sa_family)
        pktinfo_write(u, i, h, from);
    u->tx_n++;
    if (u->tx_n == CC_UDP_BATCH)
        cc_udp_flush(u);
}

void cc_udp_flush(cc_udp *u)
{
    int off = 0, tries = 0;
    while (off < u->tx_n && tries < 2) {
        int n = sendmmsg(u->fd, u->tx_msgs + off, (unsigned)(u->tx_n - off), MSG_DONTWAIT);
        u->stats.tx_syscalls++;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                /* One bad destination (e.g. EINVAL, ENETUNREACH) must not
                 * stall the rest of the batch: skip it. */
                CC_LOG_RL(CC_LOG_WARN, "udp", "sendmmsg: %s", strerror(errno));
                u->stats.tx_dropped++;
                off++;
                continue;
            }
            tries++;
            continue;
        }
        for (int i = off; i < off + n; i++) {
            u->stats.tx_packets++;
            u->stats.tx_bytes += u->tx_iov[i].iov_len;
        }
        off += n;
    }
    if (off < u->tx_n)
        u->stats.tx_dropped += (uint64_t)(u->tx_n - off);
    u->tx_n = 0;
}
