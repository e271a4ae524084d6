/* classcast: socket addresses (IPv4 and IPv6) as plain values.
 * Thread: any. */
#ifndef CLASSCAST_ADDR_H
#define CLASSCAST_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct cc_addr {
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } u;
    socklen_t len; /* 0 for "no address" */
} cc_addr;

/* "1.2.3.4" or "::1" plus port; returns 0 or CC_EINVAL. */
int cc_addr_from_string(cc_addr *a, const char *ip, uint16_t port);
/* "ip:port" or "[ip]:port" into buf (at least 64 bytes); returns buf. */
const char *cc_addr_to_string(const cc_addr *a, char *buf, size_t cap);
/* Numeric IP only (no port), for SDP candidates. */
const char *cc_addr_ip_string(const cc_addr *a, char *buf, size_t cap);
uint16_t cc_addr_port(const cc_addr *a);
/* Change the port of an IPv4 or IPv6 address (no-op on "no address"). */
void cc_addr_set_port(cc_addr *a, uint16_t port);
int cc_addr_family(const cc_addr *a);
/* 1 if same family, IP and port. */
int cc_addr_equal(const cc_addr *a, const cc_addr *b);
uint32_t cc_addr_hash(const cc_addr *a);
/* Copy a struct sockaddr of length len into a cc_addr (CC_EINVAL if not IP). */
int cc_addr_set(cc_addr *a, const struct sockaddr *sa, socklen_t len);

#endif
