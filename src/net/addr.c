#include "classcast/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "classcast/err.h"

int cc_addr_from_string(cc_addr *a, const char *ip, uint16_t port)
{
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, ip, &a->u.in4.sin_addr) == 1) {
        a->u.in4.sin_family = AF_INET;
        a->u.in4.sin_port = htons(port);
        a->len = sizeof a->u.in4;
        return 0;
    }
    if (inet_pton(AF_INET6, ip, &a->u.in6.sin6_addr) == 1) {
        a->u.in6.sin6_family = AF_INET6;
        a->u.in6.sin6_port = htons(port);
        a->len = sizeof a->u.in6;
        return 0;
    }
    return CC_EINVAL;
}

const char *cc_addr_ip_string(const cc_addr *a, char *buf, size_t cap)
{
    if (cap == 0)
        return buf;
    buf[0] = 0;
    if (a->len && a->u.sa.sa_family == AF_INET)
        inet_ntop(AF_INET, &a->u.in4.sin_addr, buf, (socklen_t)cap);
    else if (a->len && a->u.sa.sa_family == AF_INET6)
        inet_ntop(AF_INET6, &a->u.in6.sin6_addr, buf, (socklen_t)cap);
    return buf;
}

const char *cc_addr_to_string(const cc_addr *a, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    cc_addr_ip_string(a, ip, sizeof ip);
    if (a->len && a->u.sa.sa_family == AF_INET6)
        snprintf(buf, cap, "[%s]:%u", ip, cc_addr_port(a));
    else if (a->len)
        snprintf(buf, cap, "%s:%u", ip, cc_addr_port(a));
    else
        snprintf(buf, cap, "(none)");
    return buf;
}

uint16_t cc_addr_port(const cc_addr *a)
{
    if (a->len && a->u.sa.sa_family == AF_INET)
        return ntohs(a->u.in4.sin_port);
    if (a->len && a->u.sa.sa_family == AF_INET6)
        return ntohs(a->u.in6.sin6_port);
    return 0;
}

void cc_addr_set_port(cc_addr *a, uint16_t port)
{
    if (a->len && a->u.sa.sa_family == AF_INET)
        a->u.in4.sin_port = htons(port);
    else if (a->len && a->u.sa.sa_family == AF_INET6)
        a->u.in6.sin6_port = htons(port);
}

int cc_addr_family(const cc_addr *a) { return a->len ? a->u.sa.sa_family : 0; }

int cc_addr_equal(const cc_addr *a, const cc_addr *b)
{
    if (a->len != b->len || a->u.sa.sa_family != b->u.sa.sa_family)
        return 0;
    if (a->u.sa.sa_family == AF_INET)
        return a->u.in4.sin_port == b->u.in4.sin_port &&
               a->u.in4.sin_addr.s_addr == b->u.in4.sin_addr.s_addr;
    if (a->u.sa.sa_family == AF_INET6)
        return a->u.in6.sin6_port == b->u.in6.sin6_port &&
               memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
    return 0;
}

uint32_t cc_addr_hash(const cc_addr *a)
{
    /* FNV-1a over the address bytes and port. */
    uint32_t h = 2166136261u;
    const uint8_t *p;
    size_t n;
    uint16_t port = cc_addr_port(a);
    if (a->u.sa.sa_family == AF_INET) {
        p = (const uint8_t *)&a->u.in4.sin_addr;
        n = 4;
    } else if (a->u.sa.sa_family == AF_INET6) {
        p = (const uint8_t *)&a->u.in6.sin6_addr;
        n = 16;
    } else {
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    h = (h ^ (port & 0xff)) * 16777619u;
    h = (h ^ (port >> 8)) * 16777619u;
    return h;
}

int cc_addr_set(cc_addr *a, const struct sockaddr *sa, socklen_t len)
{
    memset(a, 0, sizeof *a);
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof a->u.in4) {
        memcpy(&a->u.in4, sa, sizeof a->u.in4);
        a->len = sizeof a->u.in4;
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof a->u.in6) {
        memcpy(&a->u.in6, sa, sizeof a->u.in6);
        a->len = sizeof a->u.in6;
        return 0;
    }
    return CC_EINVAL;
}
