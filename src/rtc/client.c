/* A WebRTC client transport: full ICE (controlling or controlled) towards
 * one host candidate,
 * consent freshness, DTLS-SRTP. No I/O, no clock (docs/ARCHITECTURE.md,
 * "Rules the code keeps"): the owner feeds datagrams and time and sends
 * what cc_client_poll_transmit returns. */
#include "classcast/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/rand.h"
#include "classcast/stun.h"

#define STUN_OUT_SLOTS 4
#define STUN_OUT_MAX 512
#define TX_KEEP 4 /* outstanding transaction ids we still accept answers to */

/* RFC 8489 section 6.2.1 retransmits at RTO, 2*RTO ...; on a LAN/loopback
 * towards one candidate a short first RTO gets media going quickly. */
#define CHECK_RTO_FIRST (100 * CC_USEC_PER_MSEC)
#define CHECK_RTO_MAX (800 * CC_USEC_PER_MSEC)
#define CHECK_TX_SENDS 7 /* Rc: sends per transaction before a fresh txid */

struct cc_client {
    cc_client_state state;
    char local_ufrag[CC_ICE_MAX_CRED], local_pwd[CC_ICE_MAX_CRED];
    char remote_ufrag[CC_ICE_MAX_CRED], remote_pwd[CC_ICE_MAX_CRED];
    char username[2 * CC_ICE_MAX_CRED + 2]; /* "remote:local" */
    cc_addr remote;
    uint64_t tie_breaker;
    uint32_t priority;
    int controlling;            /* RFC 8445 role; may flip on a 487 */
    int check_ok;               /* controlled: our check succeeded */
    int nominated;              /* controlled: USE-CANDIDATE received */
    int dtls_server;
    cc_dtls *dtls;
    cc_srtp *srtp;
    cc_srtp_profile profile;
    /* ICE checks */
    uint8_t txids[TX_KEEP][12];
    int n_txids;                /* ring of the latest ids (slot n % TX_KEEP) */
    int tx_sends;               /* sends of the current transaction */
    cc_time_us rto;
    cc_time_us next_check;      /* next Binding request (check or consent) */
    cc_time_us last_response;   /* latest valid response (consent) */
    cc_time_us created;
    cc_time_us consent_interval, consent_timeout, connect_timeout;
    int send_now;               /* a request is waiting in stun_out */
    struct {
        uint8_t data[STUN_OUT_MAX];
        size_t len;
    } stun_out[STUN_OUT_SLOTS];
    int stun_head, stun_count;
    char error[160];
    cc_client_stats stats;
};

static int copy_cred(char dst[CC_ICE_MAX_CRED], const char *src)
{
    if (!src || !src[0] || strlen(src) >= CC_ICE_MAX_CRED)
        return CC_EINVAL;
    strcpy(dst, src);
    return 0;
}

int cc_client_new(cc_client **out, const cc_client_config *cfg, cc_time_us now)
{
    *out = NULL;
    if (!cfg || !cfg->dtls_ctx || !cfg->remote_fp_alg || !cfg->remote_fp ||
        !cfg->remote.len)
        return CC_EINVAL;
    cc_client *c = calloc(1, sizeof *c);
    if (!c)
        return CC_ENOMEM;
    int rc = CC_EINVAL;
    if (copy_cred(c->local_ufrag, cfg->local_ufrag) ||
        copy_cred(c->local_pwd, cfg->local_pwd) ||
        copy_cred(c->remote_ufrag, cfg->remote_ufrag) ||
        copy_cred(c->remote_pwd, cfg->remote_pwd))
        goto fail;
    /* RFC 8445 section 7.2.2: USERNAME is "<remote ufrag>:<local ufrag>". */
    snprintf(c->username, sizeof c->username, "%s:%s", c->remote_ufrag,
             c->local_ufrag);
    c->remote = cfg->remote;
    c->dtls_server = cfg->dtls_server ? 1 : 0;
    rc = cc_dtls_new(&c->dtls, cfg->dtls_ctx, c->dtls_server,
                     cfg->remote_fp_alg, cfg->remote_fp);
    if (rc != 0)
        goto fail;
    c->controlling = cfg->controlled ? 0 : 1;
    c->tie_breaker = cfg->tie_breaker;
    while (c->tie_breaker == 0)
        c->tie_breaker = ((uint64_t)cc_rand_u32() << 32) | cc_rand_u32();
    /* RFC 8445 section 5.1.2.1: host type preference 126, local pref 65535,
     * component 1. */
    c->priority = cfg->priority ? cfg->priority
                                : (126u << 24) | (65535u << 8) | (256u - 1);
    c->consent_interval = cfg->consent_interval > 0 ? cfg->consent_interval
                                                    : CC_CLIENT_CONSENT_INTERVAL_US;
    c->consent_timeout = cfg->consent_timeout > 0 ? cfg->consent_timeout
                                                  : CC_CLIENT_CONSENT_TIMEOUT_US;
    c->connect_timeout = cfg->connect_timeout > 0 ? cfg->connect_timeout
                                                  : 20 * CC_USEC_PER_SEC;
    c->created = now;
    c->last_response = now;
    c->rto = CHECK_RTO_FIRST;
    c->next_check = now; /* the first check goes out at once */
    c->state = CC_CLIENT_CHECKING;
    *out = c;
    return 0;
fail:
    cc_client_free(c);
    return rc;
}

void cc_client_free(cc_client *c)
{
    if (!c)
        return;
    cc_dtls_free(c->dtls);
    cc_srtp_free(c->srtp);
    memset(c, 0, sizeof *c); /* credentials */
    free(c);
}

static void fail(cc_client *c, cc_client_state st, const char *why)
{
    if (c->state == CC_CLIENT_FAILED || c->state == CC_CLIENT_CLOSED)
        return;
    c->state = st;
    snprintf(c->error, sizeof c->error, "%s", why);
    CC_DEBUG("client", "%s: %s: %s", c->local_ufrag,
             cc_client_state_name(st), why);
}

static void queue_stun(cc_client *c, const uint8_t *data, size_t len)
{
    if (len > STUN_OUT_MAX)
        return;
    if (c->stun_count == STUN_OUT_SLOTS) { /* drop the oldest */
        c->stun_head = (c->stun_head + 1) % STUN_OUT_SLOTS;
        c->stun_count--;
    }
    int i = (c->stun_head + c->stun_count) % STUN_OUT_SLOTS;
    memcpy(c->stun_out[i].data, data, len);
    c->stun_out[i].len = len;
    c->stun_count++;
}

/* One Binding request (RFC 8445 section 7.2.2 / 7.2.4): USERNAME, PRIORITY,
 * ICE-CONTROLLING + USE-CANDIDATE (aggressive nomination: every check
 * nominates, and we have a single pair) or, controlled, ICE-CONTROLLED
 * alone; MESSAGE-INTEGRITY keyed with the remote password, FINGERPRINT.
 * `fresh` starts a new transaction. */
static void send_check(cc_client *c, int fresh)
{
    if (fresh || c->n_txids == 0) {
        uint8_t *id = c->txids[c->n_txids % TX_KEEP];
        cc_rand_bytes(id, 12);
        c->n_txids++;
        c->tx_sends = 0;
    }
    const uint8_t *txid = c->txids[(c->n_txids - 1) % TX_KEEP];
    uint8_t buf[STUN_OUT_MAX];
    cc_stun_builder b;
    cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_REQUEST, txid);
    cc_stun_build_attr(&b, CC_STUN_ATTR_USERNAME, c->username,
                       (uint16_t)strlen(c->username));
    cc_stun_build_u32(&b, CC_STUN_ATTR_PRIORITY, c->priority);
    if (c->controlling) {
        cc_stun_build_u64(&b, CC_STUN_ATTR_ICE_CONTROLLING, c->tie_breaker);
        cc_stun_build_attr(&b, CC_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    } else {
        cc_stun_build_u64(&b, CC_STUN_ATTR_ICE_CONTROLLED, c->tie_breaker);
    }
    cc_stun_build_integrity(&b, (const uint8_t *)c->remote_pwd,
                            strlen(c->remote_pwd));
    cc_stun_build_fingerprint(&b);
    size_t len = 0;
    if (cc_stun_build_finish(&b, &len) != 0)
        return;
    queue_stun(c, buf, len);
    c->tx_sends++;
    c->stats.checks_sent++;
}

static int known_txid(const cc_client *c, const uint8_t txid[12])
{
    int n = c->n_txids < TX_KEEP ? c->n_txids : TX_KEEP;
    for (int i = 0; i < n; i++)
        if (memcmp(c->txids[i], txid, 12) == 0)
            return 1;
    return 0;
}

static void install_keys(cc_client *c, cc_time_us now)
{
    cc_srtp_keys keys;
    if (cc_dtls_get_srtp_keys(c->dtls, &keys) != 0 ||
        cc_srtp_new(&c->srtp, &keys) != 0) {
        fail(c, CC_CLIENT_FAILED, "could not install SRTP keys");
        return;
    }
    c->profile = keys.profile;
    memset(&keys, 0, sizeof keys);
    c->state = CC_CLIENT_CONNECTED;
    c->stats.connected_at = now;
}

static void after_dtls(cc_client *c, cc_time_us now)
{
    cc_dtls_state ds = cc_dtls_get_state(c->dtls);
    if (ds == CC_DTLS_CONNECTED && c->state == CC_CLIENT_DTLS)
        install_keys(c, now);
    else if (ds == CC_DTLS_FAILED)
        fail(c, CC_CLIENT_FAILED, cc_dtls_error(c->dtls));
    else if (ds == CC_DTLS_CLOSED && c->state == CC_CLIENT_CONNECTED)
        fail(c, CC_CLIENT_CLOSED, "DTLS close_notify received");
}

/* The pair is selected (RFC 8445 section 8.1.1 controlling, 7.3.1.5
 * controlled); RFC 5763 section 5: the active side starts DTLS now.
 * Consent checks follow every ~5 s. */
static void select_pair(cc_client *c, cc_time_us now)
{
    if (c->state != CC_CLIENT_CHECKING)
        return;
    c->state = CC_CLIENT_DTLS;
    c->stats.ice_done_at = now;
    uint32_t jitter = cc_rand_u32() % 400; /* 0.8 .. 1.2 x interval */
    c->next_check = now + c->consent_interval * (800 + (int64_t)jitter) / 1000;
    if (!c->dtls_server)
        cc_dtls_start(c->dtls, now);
}

static uint64_t attr_u64(const cc_stun_attr *a)
{
    uint64_t v = 0;
    if (a && a->len == 8)
        for (int i = 0; i < 8; i++)
            v = v << 8 | a->value[i];
    return v;
}

/* Error response 487 (Role Conflict), RFC 8445 section 7.3.1.1. */
static void send_role_conflict(cc_client *c, const cc_stun_msg *m)
{
    static const char reason[] = "Role Conflict";
    uint8_t val[4 + sizeof reason - 1] = {0, 0, 4, 87};
    memcpy(val + 4, reason, sizeof reason - 1);
    uint8_t buf[STUN_OUT_MAX];
    cc_stun_builder b;
    cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_ERROR, m->txid);
    cc_stun_build_attr(&b, CC_STUN_ATTR_ERROR_CODE, val, (uint16_t)sizeof val);
    cc_stun_build_integrity(&b, (const uint8_t *)c->local_pwd,
                            strlen(c->local_pwd));
    cc_stun_build_fingerprint(&b);
    size_t len = 0;
    if (cc_stun_build_finish(&b, &len) == 0)
        queue_stun(c, buf, len);
    c->stats.role_conflicts++;
}

/* A Binding request from the peer: a full agent answers it (RFC 8445
 * section 7.3). classcast is ICE-lite and never sends one; a full agent
 * (Janus) does. USERNAME must be "local:remote", integrity with our
 * password. Controlled, a USE-CANDIDATE in it nominates our single pair. */
static int answer_request(cc_client *c, const cc_stun_msg *m,
                          const cc_addr *from, cc_time_us now)
{
    const cc_stun_attr *u = cc_stun_find(m, CC_STUN_ATTR_USERNAME);
    size_t ll = strlen(c->local_ufrag);
    if (!u || u->len <= ll || memcmp(u->value, c->local_ufrag, ll) != 0 ||
        u->value[ll] != ':' ||
        cc_stun_check_integrity(m, (const uint8_t *)c->local_pwd,
                                strlen(c->local_pwd)) != 0) {
        c->stats.drop_stun++;
        return CC_EAUTH;
    }
    /* RFC 8445 section 7.3.1.1: both sides claim the same role. The larger
     * tie-breaker stays controlling; the other side switches or gets 487. */
    const cc_stun_attr *ing = cc_stun_find(m, CC_STUN_ATTR_ICE_CONTROLLING);
    const cc_stun_attr *ed = cc_stun_find(m, CC_STUN_ATTR_ICE_CONTROLLED);
    if (c->controlling && ing) {
        if (c->tie_breaker >= attr_u64(ing)) {
            send_role_conflict(c, m);
            return CC_CLIENT_IN_NONE;
        }
        c->controlling = 0;
        c->stats.role_conflicts++;
    } else if (!c->controlling && ed) {
        if (c->tie_breaker >= attr_u64(ed)) {
            c->controlling = 1;
            c->stats.role_conflicts++;
            if (c->state == CC_CLIENT_CHECKING)
                c->next_check = now; /* nominate at once */
        } else {
            send_role_conflict(c, m);
            return CC_CLIENT_IN_NONE;
        }
    }
    uint8_t buf[STUN_OUT_MAX];
    cc_stun_builder b;
    cc_stun_build_start(&b, buf, sizeof buf, CC_STUN_BINDING_SUCCESS, m->txid);
    cc_stun_build_xor_address(&b, CC_STUN_ATTR_XOR_MAPPED_ADDRESS, from);
    cc_stun_build_integrity(&b, (const uint8_t *)c->local_pwd,
                            strlen(c->local_pwd));
    cc_stun_build_fingerprint(&b);
    size_t len = 0;
    if (cc_stun_build_finish(&b, &len) == 0)
        queue_stun(c, buf, len);
    c->stats.stun_requests_in++;
    if (!c->controlling && c->state == CC_CLIENT_CHECKING &&
        cc_addr_equal(from, &c->remote)) {
        if (cc_stun_find(m, CC_STUN_ATTR_USE_CANDIDATE))
            c->nominated = 1;
        if (c->check_ok && c->nominated)
            select_pair(c, now);
        else if (!c->check_ok)
            c->next_check = now; /* triggered check (section 7.3.1.4) */
    }
    return CC_CLIENT_IN_NONE;
}

static int handle_stun(cc_client *c, const uint8_t *buf, size_t len,
                       const cc_addr *from, cc_time_us now)
{
    cc_stun_msg m;
    if (cc_stun_parse(&m, buf, len) != 0) {
        c->stats.drop_stun++;
        return CC_EINVAL;
    }
    if (cc_stun_find(&m, CC_STUN_ATTR_FINGERPRINT) &&
        cc_stun_check_fingerprint(&m) != 0) {
        c->stats.drop_stun++;
        return CC_EAUTH;
    }
    if (m.type == CC_STUN_BINDING_REQUEST)
        return answer_request(c, &m, from, now);
    /* RFC 8445 section 7.2.5.2.1: the response must come from where the
     * request went (symmetric addresses), answer one of our transactions
     * and carry the remote password's MESSAGE-INTEGRITY. */
    if ((m.type != CC_STUN_BINDING_SUCCESS && m.type != CC_STUN_BINDING_ERROR) ||
        !known_txid(c, m.txid) || !cc_addr_equal(from, &c->remote) ||
        cc_stun_check_integrity(&m, (const uint8_t *)c->remote_pwd,
                                strlen(c->remote_pwd)) != 0) {
        c->stats.drop_stun++;
        return CC_EAUTH;
    }
    if (m.type == CC_STUN_BINDING_ERROR) {
        /* RFC 8445 section 7.2.5.1: 487 Role Conflict: switch role and
         * check again at once. Any other error: keep checking until the
         * timeout. */
        const cc_stun_attr *ec = cc_stun_find(&m, CC_STUN_ATTR_ERROR_CODE);
        if (ec && ec->len >= 4 && (ec->value[2] & 7) == 4 && ec->value[3] == 87) {
            c->controlling = !c->controlling;
            c->stats.role_conflicts++;
            if (c->state == CC_CLIENT_CHECKING) {
                send_check(c, 1);
                c->next_check = now + c->rto;
            }
            return CC_CLIENT_IN_NONE;
        }
        c->stats.drop_stun++;
        return CC_EPROTO;
    }
    c->stats.check_responses++;
    c->last_response = now;
    if (c->state == CC_CLIENT_CHECKING) {
        if (c->controlling) {
            /* The nominating check succeeded: selected (section 8.1.1). */
            select_pair(c, now);
        } else {
            c->check_ok = 1;
            if (c->nominated)
                select_pair(c, now);
            else /* wait for the peer's nomination; no more retransmits */
                c->next_check = now + c->consent_interval;
        }
    }
    return CC_CLIENT_IN_NONE;
}

int cc_client_handle(cc_client *c, cc_demux_kind kind, uint8_t *buf,
                     size_t len, const cc_addr *from, cc_time_us now,
                     size_t *plain_len)
{
    *plain_len = 0;
    if (c->state == CC_CLIENT_CLOSED || c->state == CC_CLIENT_FAILED)
        return CC_ECLOSED;
    switch (kind) {
    case CC_DEMUX_STUN:
        return handle_stun(c, buf, len, from, now);
    case CC_DEMUX_DTLS: {
        c->stats.dtls_rx++;
        if (c->state == CC_CLIENT_CHECKING || !cc_addr_equal(from, &c->remote)) {
            c->stats.drop_dtls++;
            return CC_ESTATE;
        }
        int rc = cc_dtls_handle_input(c->dtls, buf, len, now);
        if (rc != 0)
            c->stats.drop_dtls++;
        after_dtls(c, now);
        return rc != 0 ? rc : CC_CLIENT_IN_NONE;
    }
    case CC_DEMUX_RTP:
    case CC_DEMUX_RTCP: {
        int is_rtp = kind == CC_DEMUX_RTP;
        if (is_rtp)
            c->stats.rtp_rx++;
        else
            c->stats.rtcp_rx++;
        if (!c->srtp) {
            c->stats.drop_before_keys++;
            return CC_ESTATE;
        }
        size_t out = 0;
        int rc = is_rtp ? cc_srtp_unprotect_rtp(c->srtp, buf, len, &out)
                        : cc_srtp_unprotect_rtcp(c->srtp, buf, len, &out);
        if (rc != 0) {
            c->stats.drop_srtp_auth++;
            return rc;
        }
        *plain_len = out;
        return is_rtp ? CC_CLIENT_IN_RTP : CC_CLIENT_IN_RTCP;
    }
    default:
        return CC_EINVAL;
    }
}

int cc_client_poll_transmit(cc_client *c, uint8_t *buf, size_t cap,
                            size_t *len, cc_addr *to)
{
    if (c->stun_count > 0) {
        int i = c->stun_head;
        if (c->stun_out[i].len > cap)
            return CC_ENOSPC;
        memcpy(buf, c->stun_out[i].data, c->stun_out[i].len);
        *len = c->stun_out[i].len;
        *to = c->remote;
        c->stun_head = (c->stun_head + 1) % STUN_OUT_SLOTS;
        c->stun_count--;
        return 0;
    }
    if (c->state != CC_CLIENT_CHECKING && c->state != CC_CLIENT_FAILED &&
        cc_dtls_poll_output(c->dtls, buf, cap, len) == 0) {
        *to = c->remote;
        return 0;
    }
    return CC_EAGAIN;
}

static int protect(cc_client *c, int rtp, uint8_t *buf, size_t len,
                   size_t cap, size_t *out_len)
{
    if (c->state != CC_CLIENT_CONNECTED || !c->srtp)
        return CC_ESTATE;
    int rc = rtp ? cc_srtp_protect_rtp(c->srtp, buf, len, cap, out_len)
                 : cc_srtp_protect_rtcp(c->srtp, buf, len, cap, out_len);
    if (rc != 0)
        c->stats.drop_protect++;
    else if (rtp)
        c->stats.rtp_tx++;
    else
        c->stats.rtcp_tx++;
    return rc;
}

int cc_client_protect_rtp(cc_client *c, uint8_t *buf, size_t len, size_t cap,
                          size_t *out_len)
{
    return protect(c, 1, buf, len, cap, out_len);
}

int cc_client_protect_rtcp(cc_client *c, uint8_t *buf, size_t len, size_t cap,
                           size_t *out_len)
{
    return protect(c, 0, buf, len, cap, out_len);
}

const cc_addr *cc_client_remote(const cc_client *c) { return &c->remote; }

cc_time_us cc_client_deadline(const cc_client *c, cc_time_us now)
{
    if (c->state == CC_CLIENT_CLOSED || c->state == CC_CLIENT_FAILED)
        return CC_TIME_NEVER;
    cc_time_us d = c->next_check;
    if (c->state != CC_CLIENT_CONNECTED) {
        cc_time_us t = c->created + c->connect_timeout;
        if (t < d)
            d = t;
    }
    if (c->state != CC_CLIENT_CHECKING) {
        cc_time_us t = c->last_response + c->consent_timeout;
        if (t < d)
            d = t;
        t = cc_dtls_deadline(c->dtls, now);
        if (t < d)
            d = t;
    }
    return d;
}

void cc_client_handle_timeout(cc_client *c, cc_time_us now)
{
    if (c->state == CC_CLIENT_CLOSED || c->state == CC_CLIENT_FAILED)
        return;
    if (c->state != CC_CLIENT_CONNECTED &&
        now >= c->created + c->connect_timeout) {
        fail(c, CC_CLIENT_FAILED, c->state == CC_CLIENT_CHECKING
                                      ? "no ICE response before the timeout"
                                      : "DTLS did not finish before the timeout");
        return;
    }
    /* RFC 7675 section 5.1: no response for 30 s: consent is lost. */
    if (c->state != CC_CLIENT_CHECKING &&
        now >= c->last_response + c->consent_timeout) {
        fail(c, CC_CLIENT_CLOSED, "consent expired (no STUN response for 30 s)");
        return;
    }
    if (now >= c->next_check) {
        if (c->state == CC_CLIENT_CHECKING) {
            /* Retransmit the check (same txid, doubling RTO), or start a new
             * transaction after Rc sends. */
            send_check(c, c->tx_sends >= CHECK_TX_SENDS);
            c->next_check = now + c->rto;
            c->rto = c->rto * 2 > CHECK_RTO_MAX ? CHECK_RTO_MAX : c->rto * 2;
        } else {
            /* RFC 7675 section 5.1: a fresh transaction each time,
             * randomised interval. */
            send_check(c, 1);
            c->stats.consent_sent++;
            uint32_t jitter = cc_rand_u32() % 400;
            c->next_check = now + c->consent_interval * (800 + (int64_t)jitter) / 1000;
        }
    }
    if (c->state != CC_CLIENT_CHECKING && cc_dtls_deadline(c->dtls, now) <= now) {
        cc_dtls_handle_timeout(c->dtls, now);
        after_dtls(c, now);
    }
}

cc_client_state cc_client_get_state(const cc_client *c) { return c->state; }

const char *cc_client_state_name(cc_client_state s)
{
    static const char *names[] = {"checking", "dtls", "connected", "failed",
                                  "closed"};
    return (unsigned)s < 5 ? names[s] : "?";
}

void cc_client_close(cc_client *c)
{
    if (c->state == CC_CLIENT_CONNECTED)
        cc_dtls_close(c->dtls);
    fail(c, CC_CLIENT_CLOSED, "closed");
}

const cc_client_stats *cc_client_get_stats(const cc_client *c) { return &c->stats; }
cc_srtp_profile cc_client_srtp_profile(const cc_client *c) { return c->profile; }
const char *cc_client_error(const cc_client *c) { return c->error; }
int cc_client_is_controlling(const cc_client *c) { return c->controlling; }
