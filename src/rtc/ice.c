/* classcast: ICE-lite agent (RFC 8445 sections 2.5 and 7.3) with consent
 * freshness (RFC 7675).
 *
 * classcast always answers with a=ice-lite, so the browser is the
 * controlling full agent (RFC 8445 section 6.1.1) and does all the
 * checking and nominating. This side only validates Binding requests and
 * answers them; a valid request is also the consent signal that keeps the
 * session alive. */
#include "classcast/ice.h"

#include <string.h>

#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/rand.h"

#define ICE_LOG "ice"

void cc_ice_make_credentials(char ufrag[CC_ICE_UFRAG_LEN + 1],
                             char pwd[CC_ICE_PWD_LEN + 1])
{
    /* RFC 8839 section 5.4: ufrag >= 24 bits and pwd >= 128 bits of
     * randomness; 8 and 24 ice-chars give 48 and 144 bits. */
    cc_rand_ice_string(ufrag, CC_ICE_UFRAG_LEN);
    cc_rand_ice_string(pwd, CC_ICE_PWD_LEN);
}

static int copy_cred(char dst[CC_ICE_MAX_CRED], const char *src)
{
    if (!src)
        src = "";
    size_t n = strlen(src);
    if (n >= CC_ICE_MAX_CRED)
        return CC_EINVAL;
    memcpy(dst, src, n + 1);
    return 0;
}

int cc_ice_lite_init(cc_ice_lite *ice, const char *local_ufrag,
                     const char *local_pwd, const char *remote_ufrag,
                     const char *remote_pwd, cc_time_us now)
{
    if (!ice)
        return CC_EINVAL;
    memset(ice, 0, sizeof *ice);
    /* Without local credentials no request could ever authenticate. */
    if (!local_ufrag || !local_ufrag[0] || !local_pwd || !local_pwd[0])
        return CC_EINVAL;
    if (copy_cred(ice->local_ufrag, local_ufrag) ||
        copy_cred(ice->local_pwd, local_pwd) ||
        copy_cred(ice->remote_ufrag, remote_ufrag) ||
        copy_cred(ice->remote_pwd, remote_pwd)) {
        memset(ice, 0, sizeof *ice);
        return CC_EINVAL;
    }
    ice->state = CC_ICE_NEW;
    ice->created = now;
    ice->last_consent = now;
    ice->consent_timeout = CC_ICE_CONSENT_TIMEOUT_US;
    return 0;
}

/* RFC 8445 section 7.3 (by reference to 7.2.2 / RFC 8489 9.1.3): the
 * USERNAME of a check sent to us is "<our ufrag>:<their ufrag>". The remote
 * half is only compared when the offer told us the browser's ufrag. */
static int username_ok(const cc_ice_lite *ice, const cc_stun_attr *u)
{
    const uint8_t *v = u->value;
    const uint8_t *colon = memchr(v, ':', u->len);
    if (!colon)
        return 0;
    size_t llen = (size_t)(colon - v);
    size_t rlen = u->len - llen - 1;
    size_t want_l = strlen(ice->local_ufrag);
    if (llen != want_l || memcmp(v, ice->local_ufrag, llen) != 0)
        return 0;
    if (ice->remote_ufrag[0]) {
        size_t want_r = strlen(ice->remote_ufrag);
        if (rlen != want_r || memcmp(colon + 1, ice->remote_ufrag, rlen) != 0)
            return 0;
    }
    return 1;
}

static cc_time_us consent_base(const cc_ice_lite *ice)
{
    /* Before the first valid check the clock runs from creation, so a peer
     * that never completes ICE is reclaimed on the same schedule. */
    return ice->state == CC_ICE_NEW ? ice->created : ice->last_consent;
}

cc_time_us cc_ice_lite_deadline(const cc_ice_lite *ice)
{
    if (!ice || ice->state == CC_ICE_CLOSED)
        return CC_TIME_NEVER;
    cc_time_us base = consent_base(ice);
    cc_time_us to = ice->consent_timeout;
    if (to < 0)
        to = 0;
    if (base > CC_TIME_NEVER - to) /* saturate instead of overflowing */
        return CC_TIME_NEVER;
    return base + to;
}

cc_ice_state cc_ice_lite_handle_timeout(cc_ice_lite *ice, cc_time_us now)
{
    if (!ice)
        return CC_ICE_CLOSED;
    /* RFC 7675 section 5.1: no successful consent check for the consent
     * timeout (30 s) means consent is lost and we must stop sending. */
    if (ice->state != CC_ICE_CLOSED && now >= cc_ice_lite_deadline(ice)) {
        CC_DEBUG(ICE_LOG, "consent expired (ufrag %s)", ice->local_ufrag);
        ice->state = CC_ICE_CLOSED;
    }
    return ice->state;
}

int cc_ice_lite_handle(cc_ice_lite *ice, const uint8_t *pkt, size_t len,
                       const cc_addr *from, cc_time_us now, uint8_t *out,
                       size_t cap, size_t *out_len)
{
    if (out_len)
        *out_len = 0;
    if (!ice || !from || !out_len || (!out && cap))
        return CC_EINVAL;

    /* A late timer must not let an expired session be revived by a packet
     * that arrives after the deadline: consent is lost at the deadline
     * (RFC 7675 section 5.1), whenever we get round to noticing. */
    if (cc_ice_lite_handle_timeout(ice, now) == CC_ICE_CLOSED)
        return CC_ECLOSED;

    if (!cc_stun_is_stun(pkt, len)) {
        ice->stats.drop_not_stun++;
        CC_LOG_RL(CC_LOG_DEBUG, ICE_LOG, "drop: not STUN (%zu bytes)", len);
        return CC_EINVAL;
    }
    cc_stun_msg m;
    int rc = cc_stun_parse(&m, pkt, len);
    if (rc) {
        ice->stats.drop_malformed++;
        CC_LOG_RL(CC_LOG_DEBUG, ICE_LOG, "drop: malformed STUN: %s",
                  cc_strerror(rc));
        return rc;
    }
    /* An ICE-lite agent sends no checks (RFC 8445 section 2.5), so it never
     * expects responses, and it has no use for indications (the browser's
     * Binding indications are keepalives that need no answer) or for any
     * other method. */
    if (m.type != CC_STUN_BINDING_REQUEST) {
        ice->stats.drop_not_request++;
        CC_LOG_RL(CC_LOG_DEBUG, ICE_LOG, "drop: STUN type 0x%04x", m.type);
        return CC_EUNSUPPORTED;
    }
    /* RFC 8445 section 7.3 via RFC 8489 section 7.3: a FINGERPRINT that is
     * present must be right; a wrong one means this is not really STUN. */
    rc = cc_stun_check_fingerprint(&m);
    if (rc != 0 && rc != CC_ENOTFOUND) {
        ice->stats.drop_bad_fingerprint++;
        CC_LOG_RL(CC_LOG_DEBUG, ICE_LOG, "drop: bad FINGERPRINT");
        return CC_EAUTH;
    }
    /* RFC 8489 section 9.1.3: a request without USERNAME, or with one we
     * do not know, gets no success response (a full agent would send
     * 400/401; silently dropping is what ICE-lite servers do and avoids
     * being a reflector). */
    const cc_stun_attr *user = cc_stun_find(&m, CC_STUN_ATTR_USERNAME);
    if (!user || !username_ok(ice, user)) {
        ice->stats.drop_bad_username++;
        CC_LOG_RL(CC_LOG_DEBUG, ICE_LOG, "drop: bad USERNAME");
        return CC_EAUTH;
    }
    /* RFC 8445 section 7.3 / 7.2.2: short-term credential, the key is our
     * ice-pwd as given in the answer. */
    rc = cc_stun_check_integrity(&m, (const uint8_t *)ice->local_pwd,
                                 strlen(ice->local_pwd));
    if (rc != 0) {
        ice->stats.drop_bad_integrity++;
        CC_LOG_RL(CC_LOG_DEBUG, ICE_LOG, "drop: bad MESSAGE-INTEGRITY");
        return CC_EAUTH;
    }
    /* RFC 8489 section 6.3.1: unknown comprehension-required attributes
     * (checked after authentication, as in 9.1.3) make the request fail
     * with 420; we do not send error responses, we just drop it.
     * Comprehension-optional ones (Chromium's GOOG-NETWORK-INFO 0xC057)
     * were never counted and are ignored. */
    if (m.n_unknown_required > 0) {
        ice->stats.drop_unknown_required++;
        CC_LOG_RL(CC_LOG_DEBUG, ICE_LOG,
                  "drop: %d unknown comprehension-required attributes",
                  m.n_unknown_required);
        return CC_EUNSUPPORTED;
    }

    /* RFC 8445 section 7.3: answer with the request's transaction id and
     * the source transport address in XOR-MAPPED-ADDRESS; RFC 8445 7.3 and
     * RFC 8489 9.1.3 want MESSAGE-INTEGRITY (same key) and FINGERPRINT. */
    cc_stun_builder b;
    cc_stun_build_start(&b, out, cap, CC_STUN_BINDING_SUCCESS, m.txid);
    cc_stun_build_xor_address(&b, CC_STUN_ATTR_XOR_MAPPED_ADDRESS, from);
    cc_stun_build_integrity(&b, (const uint8_t *)ice->local_pwd,
                            strlen(ice->local_pwd));
    cc_stun_build_fingerprint(&b);
    size_t n = 0;
    rc = cc_stun_build_finish(&b, &n);
    if (rc) {
        /* Caller's buffer or address is unusable: not the peer's fault, so
         * no drop counter and no state change; the caller sees the code. */
        CC_LOG_RL(CC_LOG_WARN, ICE_LOG, "cannot build Binding response: %s",
                  cc_strerror(rc));
        return rc;
    }

    ice->stats.requests_ok++;
    ice->last_valid = *from;
    /* RFC 8445 section 7.3.1.5 (controlled agent): USE-CANDIDATE on a
     * valid check nominates that pair; a later nomination of another
     * address replaces it (the browser may renominate). */
    if (cc_stun_find(&m, CC_STUN_ATTR_USE_CANDIDATE)) {
        if (ice->state != CC_ICE_NOMINATED ||
            !cc_addr_equal(&ice->selected, from)) {
            char a[64];
            CC_DEBUG(ICE_LOG, "nominated %s (ufrag %s)",
                     cc_addr_to_string(from, a, sizeof a), ice->local_ufrag);
        }
        ice->selected = *from;
        ice->state = CC_ICE_NOMINATED;
    } else if (ice->state == CC_ICE_NEW) {
        ice->state = CC_ICE_CONNECTED;
    }
    /* RFC 7675 consent is per candidate pair. Once a pair is selected only
     * checks on that pair refresh it: the browser keeps pinging other pairs
     * at a low rate, and those must not keep a dead selected path alive.
     * Before nomination any valid check counts. */
    if (ice->state != CC_ICE_NOMINATED || cc_addr_equal(&ice->selected, from))
        ice->last_consent = now;
    *out_len = n;
    return 0;
}

int cc_ice_username_local(const cc_stun_msg *m, char *out, size_t cap)
{
    if (out && cap)
        out[0] = 0;
    const cc_stun_attr *u = cc_stun_find(m, CC_STUN_ATTR_USERNAME);
    if (!u)
        return CC_ENOTFOUND;
    const uint8_t *colon = memchr(u->value, ':', u->len);
    if (!colon)
        return CC_ENOTFOUND;
    size_t llen = (size_t)(colon - u->value);
    /* An empty local part or one with a NUL cannot name any of our peers
     * and would not survive as a C string. */
    if (llen == 0 || memchr(u->value, 0, llen))
        return CC_ENOTFOUND;
    if (!out || llen + 1 > cap)
        return CC_ENOSPC;
    memcpy(out, u->value, llen);
    out[llen] = 0;
    return 0;
}
