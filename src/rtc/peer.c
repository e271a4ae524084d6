/* A transport peer: glue between ICE-lite, DTLS and SRTP. No I/O, no clock:
 * the worker feeds datagrams and time, and sends what cc_peer_poll_transmit
 * returns (docs/ARCHITECTURE.md, "Rules the code keeps"). */
#include "classcast/peer.h"

#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"
#include "classcast/log.h"

#define STUN_OUT_SLOTS 4
#define STUN_OUT_MAX 512

struct cc_peer {
    cc_peer_state state;
    cc_ice_lite ice;
    cc_dtls *dtls;
    cc_srtp *srtp;
    cc_srtp_profile profile;
    int dtls_client;
    int dtls_external;        /* no session here: the owner runs DTLS */
    int dtls_started;
    cc_addr dtls_addr;        /* where DTLS flights go: last DTLS source */
    cc_time_us created;
    cc_time_us connect_timeout;
    /* STUN responses waiting to be sent (a small ring: consent checks come
     * seconds apart, so 4 is plenty; overflow drops the oldest). */
    struct {
        uint8_t data[STUN_OUT_MAX];
        size_t len;
        cc_addr to;
    } stun_out[STUN_OUT_SLOTS];
    int stun_head, stun_count;
    cc_peer_stats stats;
};

int cc_peer_new(cc_peer **out, const cc_peer_config *cfg, cc_time_us now)
{
    *out = NULL;
    if (!cfg || !cfg->dtls_ctx || !cfg->local_ufrag || !cfg->local_pwd ||
        !cfg->remote_fp_alg || !cfg->remote_fp)
        return CC_EINVAL;
    cc_peer *p = calloc(1, sizeof *p);
    if (!p)
        return CC_ENOMEM;
    int rc = cc_ice_lite_init(&p->ice, cfg->local_ufrag, cfg->local_pwd,
                              cfg->remote_ufrag ? cfg->remote_ufrag : "",
                              cfg->remote_pwd ? cfg->remote_pwd : "", now);
    if (rc == 0 && cfg->consent_timeout > 0)
        p->ice.consent_timeout = cfg->consent_timeout;
    if (rc == 0 && cfg->dtls_external && cfg->dtls_client)
        rc = CC_EINVAL;
    if (rc == 0 && !cfg->dtls_external)
        rc = cc_dtls_new(&p->dtls, cfg->dtls_ctx, !cfg->dtls_client,
                         cfg->remote_fp_alg, cfg->remote_fp);
    if (rc != 0) {
        cc_peer_free(p);
        return rc;
    }
    p->dtls_client = cfg->dtls_client;
    p->dtls_external = cfg->dtls_external;
    p->created = now;
    p->stats.created_at = now;
    p->connect_timeout = cfg->connect_timeout > 0 ? cfg->connect_timeout
                                                  : 30 * CC_USEC_PER_SEC;
    p->state = CC_PEER_NEW;
    *out = p;
    return 0;
}

void cc_peer_free(cc_peer *p)
{
    if (!p)
        return;
    cc_dtls_free(p->dtls);
    cc_srtp_free(p->srtp);
    free(p);
}

static void queue_stun(cc_peer *p, const uint8_t *data, size_t len,
                       const cc_addr *to)
{
    if (len > STUN_OUT_MAX)
        return;
    if (p->stun_count == STUN_OUT_SLOTS) { /* drop the oldest */
        p->stun_head = (p->stun_head + 1) % STUN_OUT_SLOTS;
        p->stun_count--;
    }
    int i = (p->stun_head + p->stun_count) % STUN_OUT_SLOTS;
    memcpy(p->stun_out[i].data, data, len);
    p->stun_out[i].len = len;
    p->stun_out[i].to = *to;
    p->stun_count++;
}

static void install_keys(cc_peer *p, cc_time_us now)
{
    cc_srtp_keys keys;
    if (cc_dtls_get_srtp_keys(p->dtls, &keys) != 0 ||
        cc_srtp_new(&p->srtp, &keys) != 0) {
        CC_WARN("peer", "%s: could not install SRTP keys", p->ice.local_ufrag);
        p->state = CC_PEER_FAILED;
        return;
    }
    p->profile = keys.profile;
    memset(&keys, 0, sizeof keys); /* no key copies left on the stack */
    p->state = CC_PEER_CONNECTED;
    p->stats.connected_at = now;
    CC_INFO("peer", "%s: connected (%s)", p->ice.local_ufrag,
            cc_srtp_profile_name(p->profile));
}

static void after_dtls(cc_peer *p, cc_time_us now)
{
    if (!p->dtls)
        return;
    cc_dtls_state ds = cc_dtls_get_state(p->dtls);
    if (ds == CC_DTLS_CONNECTED && p->state != CC_PEER_CONNECTED &&
        p->state != CC_PEER_CLOSED && p->state != CC_PEER_FAILED)
        install_keys(p, now);
    else if (ds == CC_DTLS_FAILED && p->state != CC_PEER_FAILED) {
        CC_WARN("peer", "%s: DTLS failed: %s", p->ice.local_ufrag,
                cc_dtls_error(p->dtls));
        p->state = CC_PEER_FAILED;
    } else if (ds == CC_DTLS_CLOSED && p->state == CC_PEER_CONNECTED) {
        p->state = CC_PEER_CLOSED;
    }
}

static int handle_stun(cc_peer *p, const uint8_t *buf, size_t len,
                       const cc_addr *from, cc_time_us now)
{
    uint8_t resp[STUN_OUT_MAX];
    size_t rlen = 0;
    p->stats.stun_rx++;
    int rc = cc_ice_lite_handle(&p->ice, buf, len, from, now, resp,
                                sizeof resp, &rlen);
    if (rc != 0 || rlen == 0) {
        p->stats.drop_stun++;
        /* A check that arrives after the consent deadline, before the
         * owner ran the timeout, finds ICE closed: consent was lost at the
         * deadline (RFC 7675 section 5.1). Close the peer with it, or it
         * would stay connected with no deadline left to close it (ICE's
         * is CC_TIME_NEVER once closed). */
        if (p->ice.state == CC_ICE_CLOSED)
            p->state = CC_PEER_CLOSED;
        return rc != 0 ? rc : CC_EPROTO;
    }
    queue_stun(p, resp, rlen, from);
    if (p->state == CC_PEER_NEW) {
        p->state = CC_PEER_CONNECTING;
        p->stats.ice_at = now;
        /* RFC 5763 section 5: the active side starts DTLS once ICE works. */
        if (p->dtls_client && !p->dtls_started) {
            p->dtls_addr = *from;
            p->dtls_started = 1;
            cc_dtls_start(p->dtls, now);
        }
    }
    return CC_PEER_IN_NONE;
}

static int handle_dtls(cc_peer *p, const uint8_t *buf, size_t len,
                       const cc_addr *from, cc_time_us now)
{
    p->stats.dtls_rx++;
    /* DTLS only from an address that passed an ICE check (RFC 8445
     * section 7.3: media and DTLS ride on validated pairs). */
    if (p->state == CC_PEER_NEW) {
        p->stats.drop_dtls++;
        return CC_ESTATE;
    }
    if (p->dtls_external) {
        /* After the release nothing reads it (cc_dtls_release says why). */
        if (p->stats.dtls_released) {
            p->stats.drop_dtls++;
            return CC_ESTATE;
        }
        return CC_PEER_IN_DTLS;
    }
    /* Reply to the source of each DTLS datagram OpenSSL read, as ICE does
     * for STUN (docs/WEBRTC.md, section 2, "Where to send"). One refused
     * unread (not DTLS framing, or after the release) says nothing about
     * where the peer is and must not redirect our flights. */
    uint64_t read_before = cc_dtls_get_stats(p->dtls)->in_datagrams;
    int rc = cc_dtls_handle_input(p->dtls, buf, len, now);
    if (cc_dtls_get_stats(p->dtls)->in_datagrams != read_before)
        p->dtls_addr = *from;
    if (rc != 0)
        p->stats.drop_dtls++;
    after_dtls(p, now);
    return rc != 0 ? rc : CC_PEER_IN_NONE;
}

int cc_peer_handle(cc_peer *p, cc_demux_kind kind, uint8_t *buf, size_t len,
                   const cc_addr *from, cc_time_us now, size_t *plain_len)
{
    *plain_len = 0;
    if (p->state == CC_PEER_CLOSED || p->state == CC_PEER_FAILED)
        return CC_ECLOSED;
    switch (kind) {
    case CC_DEMUX_STUN:
        return handle_stun(p, buf, len, from, now);
    case CC_DEMUX_DTLS: {
        int rc = handle_dtls(p, buf, len, from, now);
        if (rc == CC_PEER_IN_DTLS)
            *plain_len = len;
        return rc;
    }
    case CC_DEMUX_RTP:
    case CC_DEMUX_RTCP: {
        int is_rtp = kind == CC_DEMUX_RTP;
        if (is_rtp)
            p->stats.rtp_rx++;
        else
            p->stats.rtcp_rx++;
        if (!p->srtp) {
            p->stats.drop_before_keys++;
            return CC_ESTATE;
        }
        size_t out = 0;
        int rc = is_rtp ? cc_srtp_unprotect_rtp(p->srtp, buf, len, &out)
                        : cc_srtp_unprotect_rtcp(p->srtp, buf, len, &out);
        if (rc != 0) {
            p->stats.drop_srtp_auth++;
            return rc;
        }
        /* Authenticated media from the peer: it has the keys, so its side
         * of the handshake is over and our DTLS session will not be needed
         * again; its memory goes back (cc_dtls_release says why). */
        if (!p->stats.dtls_released && (!p->dtls || cc_dtls_release(p->dtls) == 0))
            p->stats.dtls_released = 1;
        *plain_len = out;
        return is_rtp ? CC_PEER_IN_RTP : CC_PEER_IN_RTCP;
    }
    default:
        /* The owner demultiplexes by RFC 7983 section 7; anything else
         * (ZRTP, TURN channel data, unassigned first bytes) is not ours. */
        p->stats.drop_kind++;
        return CC_EINVAL;
    }
}

int cc_peer_poll_transmit(cc_peer *p, uint8_t *buf, size_t cap, size_t *len,
                          cc_addr *to)
{
    if (p->stun_count > 0) {
        int i = p->stun_head;
        if (p->stun_out[i].len > cap)
            return CC_ENOSPC;
        memcpy(buf, p->stun_out[i].data, p->stun_out[i].len);
        *len = p->stun_out[i].len;
        *to = p->stun_out[i].to;
        p->stun_head = (p->stun_head + 1) % STUN_OUT_SLOTS;
        p->stun_count--;
        return 0;
    }
    if (p->dtls && p->dtls_addr.len &&
        cc_dtls_poll_output(p->dtls, buf, cap, len) == 0) {
        *to = p->dtls_addr;
        return 0;
    }
    return CC_EAGAIN;
}

int cc_peer_protect_rtp(cc_peer *p, uint8_t *buf, size_t len, size_t cap,
                        size_t *out_len)
{
    if (p->state != CC_PEER_CONNECTED || !p->srtp)
        return CC_ESTATE;
    int rc = cc_srtp_protect_rtp(p->srtp, buf, len, cap, out_len);
    if (rc != 0)
        p->stats.drop_protect++;
    else
        p->stats.rtp_tx++;
    return rc;
}

int cc_peer_protect_rtcp(cc_peer *p, uint8_t *buf, size_t len, size_t cap,
                         size_t *out_len)
{
    if (p->state != CC_PEER_CONNECTED || !p->srtp)
        return CC_ESTATE;
    int rc = cc_srtp_protect_rtcp(p->srtp, buf, len, cap, out_len);
    if (rc != 0)
        p->stats.drop_protect++;
    else
        p->stats.rtcp_tx++;
    return rc;
}

const cc_addr *cc_peer_media_addr(const cc_peer *p)
{
    if (p->ice.state == CC_ICE_NOMINATED && p->ice.selected.len)
        return &p->ice.selected;
    if (p->ice.last_valid.len)
        return &p->ice.last_valid;
    return NULL;
}

int cc_peer_tx_lines(const cc_peer *p, const void **v, int max)
{
    const cc_addr *to = p ? cc_peer_media_addr(p) : NULL;
    if (!p || p->state != CC_PEER_CONNECTED || !p->srtp || !to || max < 5)
        return 0;
    int n = 0;
    v[n++] = p;
    v[n++] = &p->ice.state;
    v[n++] = to;
    v[n++] = &p->srtp;
    v[n++] = &p->stats.rtp_tx;
    return n + cc_srtp_tx_lines(p->srtp, v + n, max - n);
}

cc_time_us cc_peer_deadline(const cc_peer *p, cc_time_us now)
{
    if (p->state == CC_PEER_CLOSED || p->state == CC_PEER_FAILED)
        return CC_TIME_NEVER;
    cc_time_us d = cc_ice_lite_deadline(&p->ice);
    if (p->state != CC_PEER_CONNECTED) {
        cc_time_us c = p->created + p->connect_timeout;
        if (c < d)
            d = c;
    }
    if (p->dtls) {
        cc_time_us t = cc_dtls_deadline(p->dtls, now);
        if (t < d)
            d = t;
    }
    return d;
}

void cc_peer_handle_timeout(cc_peer *p, cc_time_us now)
{
    if (p->state == CC_PEER_CLOSED || p->state == CC_PEER_FAILED)
        return;
    if (cc_ice_lite_handle_timeout(&p->ice, now) == CC_ICE_CLOSED) {
        CC_INFO("peer", "%s: consent expired, closing", p->ice.local_ufrag);
        p->state = CC_PEER_CLOSED;
        return;
    }
    if (p->state != CC_PEER_CONNECTED && now >= p->created + p->connect_timeout) {
        CC_INFO("peer", "%s: not connected after %lld s, closing",
                p->ice.local_ufrag, (long long)(p->connect_timeout / CC_USEC_PER_SEC));
        p->state = CC_PEER_CLOSED;
        return;
    }
    if (p->dtls && cc_dtls_deadline(p->dtls, now) <= now) {
        cc_dtls_handle_timeout(p->dtls, now);
        after_dtls(p, now);
    }
}

cc_peer_state cc_peer_get_state(const cc_peer *p) { return p->state; }

const char *cc_peer_state_name(cc_peer_state s)
{
    static const char *names[] = {"new", "connecting", "connected", "failed",
                                  "closed"};
    return (unsigned)s < 5 ? names[s] : "?";
}

void cc_peer_close(cc_peer *p) { p->state = CC_PEER_CLOSED; }

int cc_peer_set_keys(cc_peer *p, const cc_srtp_keys *keys, cc_time_us now)
{
    if (!p->dtls_external || p->state != CC_PEER_CONNECTING || p->srtp)
        return CC_ESTATE;
    int rc = cc_srtp_new(&p->srtp, keys);
    if (rc != 0) {
        CC_WARN("peer", "%s: could not install SRTP keys", p->ice.local_ufrag);
        p->state = CC_PEER_FAILED;
        return rc;
    }
    p->profile = keys->profile;
    p->state = CC_PEER_CONNECTED;
    p->stats.connected_at = now;
    CC_INFO("peer", "%s: connected (%s)", p->ice.local_ufrag,
            cc_srtp_profile_name(p->profile));
    return 0;
}

void cc_peer_fail(cc_peer *p, const char *reason)
{
    if (p->state == CC_PEER_CLOSED || p->state == CC_PEER_FAILED)
        return;
    CC_WARN("peer", "%s: DTLS failed: %s", p->ice.local_ufrag, reason ? reason : "");
    p->state = CC_PEER_FAILED;
}
const cc_peer_stats *cc_peer_get_stats(const cc_peer *p) { return &p->stats; }
const cc_ice_lite *cc_peer_get_ice(const cc_peer *p) { return &p->ice; }
cc_srtp_profile cc_peer_srtp_profile(const cc_peer *p) { return p->profile; }
const char *cc_peer_local_ufrag(const cc_peer *p) { return p->ice.local_ufrag; }
