/* classcast: the school CA and the server certificate it signs, kept in a
 * state directory (docs/https.md).
 *
 * A classroom computer has no name a public CA would certify (a LAN
 * address, "<hostname>.local"), yet browsers let the teacher page use the
 * camera and the screen only in a secure context. So at first start
 * classcast makes its own certification authority, once, and a server
 * certificate for the machine's names and addresses signed by it; each
 * tablet trusts the CA once (web/ca.html) and every later server
 * certificate is trusted with it.
 *
 * Files in the directory (PEM; keys mode 0600, written atomically):
 *   ca.crt ca.key           the school CA: ECDSA P-256, 10 years
 *   server.crt server.key   the server certificate: at most 397 days
 *
 * cc_certs_ensure reuses what is there and re-issues the server
 * certificate (same CA) when the machine's names or addresses changed, when
 * it nears expiry, or when it does not verify against the CA. A missing,
 * unreadable or expired CA is made anew (tablets then trust it again).
 *
 * Pure apart from file I/O: the caller passes the names, the addresses and
 * the time, so tests drive every case. Thread: any (no shared state). */
#ifndef CLASSCAST_CERTS_H
#define CLASSCAST_CERTS_H

#include <stddef.h>
#include <stdint.h>

#define CC_CERTS_PATH_MAX 1024
/* Addresses a server certificate names at most (besides 127.0.0.1, ::1). */
#define CC_CERTS_MAX_ADDRS 32

/* Lifetimes, in days. Browsers refuse server certificates valid for more
 * than 398 days (Chrome, and Safari for certificates issued since
 * September 2020); 397 leaves a day's margin. */
#define CC_CERTS_CA_DAYS 3652
#define CC_CERTS_SERVER_DAYS 397
/* Re-issue when fewer days than this remain. */
#define CC_CERTS_RENEW_DAYS 30
/* notBefore lies this far back: a tablet whose clock runs behind must not
 * see a certificate that is "not yet valid". */
#define CC_CERTS_BACKDATE_S (24 * 3600)

typedef struct cc_certs_names {
    /* The machine's name ("" or NULL: none). The certificate names it,
     * "<hostname>.local" (mDNS) and "localhost"; a name that is not a
     * valid DNS name is left out. */
    const char *hostname;
    /* The machine's non-loopback addresses as text ("192.168.1.20",
     * "2001:db8::5"); 127.0.0.1 and ::1 are always added. */
    const char *const *addrs;
    size_t n_addrs;
} cc_certs_names;

typedef struct cc_certs {
    char ca_cert_path[CC_CERTS_PATH_MAX];
    char cert_path[CC_CERTS_PATH_MAX]; /* server certificate */
    char key_path[CC_CERTS_PATH_MAX];  /* its private key */
    char *ca_pem;                      /* the CA certificate, PEM (malloc'd) */
    size_t ca_pem_len;
    /* SHA-256 of the CA certificate (DER), "AB:CD:...:EF" (95 characters),
     * as phones and laptops show it in their certificate details. */
    char ca_fingerprint[96];
    char ca_name[80];                  /* the CA's common name */
    int64_t ca_not_after;              /* seconds since the epoch */
    int64_t cert_not_after;
    int ca_created;                    /* this call made a new CA */
    /* NULL if the server certificate was reused, else why it was issued
     * ("none yet", "addresses changed", "expires soon", ...). */
    const char *issued;
    char err[300];                     /* what failed, for the operator */
} cc_certs;

/* Make or reuse the CA and the server certificate in dir (created, mode
 * 0700, if missing) for names at time now (seconds since the epoch).
 * Fills *out (release it with cc_certs_release). 0, CC_EINVAL (bad
 * argument or address), CC_EIO (file system; out->err says what) or
 * CC_ECRYPTO. */
int cc_certs_ensure(const char *dir, const cc_certs_names *names, int64_t now,
                    cc_certs *out);
void cc_certs_release(cc_certs *c);

/* The default state directory: $XDG_STATE_HOME/classcast (if absolute),
 * else $HOME/.local/state/classcast, else for root /var/lib/classcast.
 * 0, CC_ENOTFOUND (no home to put it in) or CC_ENOSPC. */
int cc_certs_default_dir(char *out, size_t cap);

#endif
