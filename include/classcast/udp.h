/* classcast: one non-blocking UDP socket shared by every peer of a worker,
 * read with recvmmsg and written with sendmmsg in batches.
 * Receive: cc_udp_recv fills a batch whose buffers stay valid (and writable,
 * for in-place SRTP) until the next cc_udp_recv. Send: take a slot, write the
 * datagram into it, commit it with its destination; a full batch or
 * cc_udp_flush sends everything with one sendmmsg.
 * Thread: the owning worker only. */
#ifndef CLASSCAST_UDP_H
#define CLASSCAST_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "classcast/addr.h"

#define CC_UDP_BATCH 64
/* Receive buffer per datagram. Anything longer is reported truncated and
 * dropped (MSG_TRUNC); WebRTC datagrams stay under the path MTU. */
#define CC_UDP_RX_BUF 2048
#define CC_UDP_TX_BUF 1536

typedef struct cc_udp cc_udp;

typedef struct cc_udp_dgram {
    uint8_t *data;
    size_t len;
    int truncated;   /* longer than CC_UDP_RX_BUF: must be dropped */
    cc_addr from;
    cc_addr to;      /* local address it was sent to: only on a socket
                      * opened with cc_udp_open_multi (else len 0) */
    int64_t rx_realtime_ns; /* when the kernel queued it to the socket
                             * (SO_TIMESTAMPNS, CLOCK_REALTIME): on a socket
                             * opened with cc_udp_open_multi or given
                             * cc_udp_rx_timestamps, else 0 */
} cc_udp_dgram;

typedef struct cc_udp_stats {
    uint64_t rx_packets, rx_bytes, rx_truncated, rx_syscalls;
    uint64_t tx_packets, tx_bytes, tx_syscalls;
    uint64_t tx_dropped;  /* EAGAIN / send error: socket buffer full */
} cc_udp_stats;

/* Bind (port 0: any) with large socket buffers, non-blocking. */
int cc_udp_open(cc_udp **out, const cc_addr *bind_addr);
/* One socket for many local addresses (a load generator's subscribers,
 * each with its own IP): bound to the wildcard address of bind_addr's
 * family at bind_addr's port, with IP_PKTINFO / IPV6_RECVPKTINFO so each
 * received datagram says which local address it was sent to (dgram.to),
 * and cc_udp_tx_commit_from picks the source address of each datagram.
 * rcvbuf_bytes: 0 for the default (8 MiB). */
int cc_udp_open_multi(cc_udp **out, const cc_addr *bind_addr, int rcvbuf_bytes);
/* Each datagram read from now on carries the kernel's receive time
 * (dgram.rx_realtime_ns). A multi socket has it from the start. CC_EIO
 * when the kernel refuses. */
int cc_udp_rx_timestamps(cc_udp *u);
void cc_udp_close(cc_udp *u);
int cc_udp_fd(const cc_udp *u);
const cc_addr *cc_udp_local(const cc_udp *u);

/* Up to CC_UDP_BATCH datagrams; returns the count (0 when none waiting) or
 * CC_EIO. */
int cc_udp_recv(cc_udp *u, cc_udp_dgram **batch);

/* A buffer of CC_UDP_TX_BUF bytes for the next datagram. */
uint8_t *cc_udp_tx_slot(cc_udp *u);
/* Queue the slot's first len bytes to `to`; flushes when the batch is full. */
void cc_udp_tx_commit(cc_udp *u, size_t len, const cc_addr *to);
/* As cc_udp_tx_commit, from local address `from` (its IP only; the port is
 * the socket's). Only on a cc_udp_open_multi socket; elsewhere `from` is
 * ignored. */
void cc_udp_tx_commit_from(cc_udp *u, size_t len, const cc_addr *to, const cc_addr *from);
/* Send every queued datagram (sendmmsg; a partial send is retried once,
 * then the rest is dropped and counted). */
void cc_udp_flush(cc_udp *u);
const cc_udp_stats *cc_udp_get_stats(const cc_udp *u);

#endif
