/* libFuzzer target for src/rtc/stun.c and src/rtc/ice.c.
 *
 * Every input goes through the parser, the integrity and fingerprint checks,
 * address decoding and the ICE-lite handler of a fixed agent. Then the
 * parsed attributes are re-signed with the agent's password (new
 * MESSAGE-INTEGRITY and FINGERPRINT) and handed to the agent again, so the
 * fuzzer reaches the code behind authentication without having to forge an
 * HMAC. Invariants (a success always produces a response that verifies) trap
 * so the fuzzer reports them like crashes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "classcast/addr.h"
#include "classcast/err.h"
#include "classcast/ice.h"
#include "classcast/log.h"
#include "classcast/stun.h"

#define F_UFRAG "Fz0+"
#define F_PWD "fuzzfuzzfuzzfuzzfuzzfuzz"
#define F_REMOTE "cl1E"

#define INVARIANT(c)                                                           \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

static void check_response(const uint8_t *resp, size_t n, const uint8_t *txid,
                           const cc_addr *from)
{
    cc_stun_msg r;
    INVARIANT(cc_stun_parse(&r, resp, n) == 0);
    INVARIANT(r.type == CC_STUN_BINDING_SUCCESS);
    INVARIANT(memcmp(r.txid, txid, 12) == 0);
    INVARIANT(cc_stun_check_integrity(&r, (const uint8_t *)F_PWD,
                                      strlen(F_PWD)) == 0);
    INVARIANT(cc_stun_check_fingerprint(&r) == 0);
    const cc_stun_attr *a = cc_stun_find(&r, CC_STUN_ATTR_XOR_MAPPED_ADDRESS);
    INVARIANT(a != NULL);
    cc_addr got;
    INVARIANT(cc_stun_get_xor_address(&r, a, &got) == 0);
    INVARIANT(cc_addr_equal(&got, from));
}

static void run_agent(const uint8_t *pkt, size_t len, const cc_addr *from,
                      size_t cap)
{
    cc_ice_lite ice;
    /* remote ufrag set: both halves of USERNAME are compared */
    if (cc_ice_lite_init(&ice, F_UFRAG, F_PWD, F_REMOTE, "", 0) != 0)
        __builtin_trap();
    uint8_t out[256];
    if (cap > sizeof out)
        cap = sizeof out;
    size_t out_len = 12345;
    int rc = cc_ice_lite_handle(&ice, pkt, len, from, 1000, out, cap, &out_len);
    INVARIANT(out_len <= cap);
    if (rc == 0) {
        INVARIANT(out_len > 0);
        INVARIANT(ice.stats.requests_ok == 1);
        INVARIANT(ice.state == CC_ICE_CONNECTED || ice.state == CC_ICE_NOMINATED);
        check_response(out, out_len, pkt + 8, from);
    } else {
        INVARIANT(out_len == 0);
        INVARIANT(ice.stats.requests_ok == 0);
    }
    cc_ice_lite_handle_timeout(&ice, 1000 + CC_ICE_CONSENT_TIMEOUT_US);
    INVARIANT(ice.state == CC_ICE_CLOSED);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        once = 1;
        cc_log_set_level(CC_LOG_ERROR); /* drops are expected here */
    }
    cc_addr v4, v6;
    cc_addr_from_string(&v4, "198.51.100.7", 49152);
    cc_addr_from_string(&v6, "2001:db8::c0:ffee", 3478);

    (void)cc_stun_is_stun(data, size);
    cc_stun_msg m;
    int prc = cc_stun_parse(&m, data, size);
    if (prc == 0) {
        INVARIANT(m.raw_len == size && m.n_attrs <= CC_STUN_MAX_ATTRS);
        INVARIANT(cc_stun_is_stun(data, size));
        (void)cc_stun_check_integrity(&m, (const uint8_t *)F_PWD, strlen(F_PWD));
        (void)cc_stun_check_integrity(&m, NULL, 0);
        (void)cc_stun_check_fingerprint(&m);
        for (int i = 0; i < m.n_attrs; i++) {
            const cc_stun_attr *a = &m.attrs[i];
            INVARIANT(a->value >= data && a->value + a->len <= data + size);
            cc_addr ad;
            (void)cc_stun_get_xor_address(&m, a, &ad);
        }
        char u[CC_ICE_MAX_CRED];
        (void)cc_ice_username_local(&m, u, sizeof u);
        (void)cc_ice_username_local(&m, u, 3);
    }

    run_agent(data, size, &v4, 256);

    if (prc != 0)
        return 0;
    /* Re-sign: same type, txid and attributes up to MESSAGE-INTEGRITY,
     * then a fresh MI with the agent's pwd and a FINGERPRINT. */
    uint8_t buf[2048];
    cc_stun_builder b;
    cc_stun_build_start(&b, buf, sizeof buf, m.type, m.txid);
    int copied = 0;
    for (int i = 0; i < m.n_attrs; i++) {
        const cc_stun_attr *a = &m.attrs[i];
        if (a->type == CC_STUN_ATTR_MESSAGE_INTEGRITY ||
            a->type == CC_STUN_ATTR_FINGERPRINT)
            continue;
        cc_stun_build_attr(&b, a->type, a->value, a->len);
        copied++;
    }
    cc_stun_build_integrity(&b, (const uint8_t *)F_PWD, strlen(F_PWD));
    /* the last byte of the input decides whether FINGERPRINT is added */
    if (size == 0 || (data[size - 1] & 1) == 0)
        cc_stun_build_fingerprint(&b);
    size_t n = 0;
    if (cc_stun_build_finish(&b, &n) != 0)
        return 0;
    cc_stun_msg m2;
    int rc2 = cc_stun_parse(&m2, buf, n);
    /* Re-signing can only fail to parse if MI and FINGERPRINT push the
     * count past what the parser indexes. */
    if (copied + 2 > CC_STUN_MAX_ATTRS)
        return 0;
    INVARIANT(rc2 == 0);
    INVARIANT(cc_stun_check_integrity(&m2, (const uint8_t *)F_PWD,
                                      strlen(F_PWD)) == 0);
    run_agent(buf, n, &v6, 256);
    /* and once with an output buffer that is almost always too small */
    run_agent(buf, n, &v4, size % 64);
    return 0;
}
