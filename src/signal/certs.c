/* classcast: the school CA and the server certificate (see
 * include/classcast/certs.h), made with OpenSSL's X509 APIs. Section
 * numbers are RFC 5280's unless said otherwise. */
#include "classcast/certs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "classcast/err.h"
#include "classcast/paths.h"
#include "classcast/rand.h"

#define DAY_S (24 * 3600)
#define MAX_DNS 3
#define MAX_IPS (CC_CERTS_MAX_ADDRS + 2)

/* The names a server certificate must carry. */
typedef struct want {
    char dns[MAX_DNS][256]; /* lower case */
    size_t n_dns;
    unsigned char ip[MAX_IPS][16];
    int ip_len[MAX_IPS];    /* 4 or 16 */
    size_t n_ip;
} want;

/* What failed, for the operator (a long path is cut short). */
static void set_err(cc_certs *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(cc_certs *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

/* ---- names ---- */

/* A host name in the preferred name syntax (section 4.2.1.6 requires it
 * for dNSName; RFC 1123 section 2.1): labels of letters, digits and '-',
 * 1 to 63 characters, not starting or ending with '-'. */
static int dns_name_ok(const char *s)
{
    size_t len = strlen(s), label = 0;
    if (len == 0 || len > 253)
        return 0;
    for (size_t i = 0; i <= len; i++) {
        char ch = s[i];
        if (ch == '.' || ch == 0) {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9');
        if (!alnum && !(ch == '-' && label > 0))
            return 0;
        label++;
    }
    return 1;
}

static void add_dns(want *w, const char *name)
{
    if (w->n_dns >= MAX_DNS || !dns_name_ok(name))
        return;
    char low[256];
    size_t i = 0;
    for (; name[i] && i < sizeof low - 1; i++)
        low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    low[i] = 0;
    for (size_t k = 0; k < w->n_dns; k++)
        if (strcmp(w->dns[k], low) == 0)
            return;
    memcpy(w->dns[w->n_dns++], low, i + 1);
}

static int add_ip(want *w, const char *text)
{
    unsigned char b[16];
    int len;
    if (inet_pton(AF_INET, text, b) == 1)
        len = 4;
    else if (inet_pton(AF_INET6, text, b) == 1)
        len = 16;
    else
        return CC_EINVAL;
    for (size_t k = 0; k < w->n_ip; k++)
        if (w->ip_len[k] == len && memcmp(w->ip[k], b, (size_t)len) == 0)
            return 0;
    if (w->n_ip >= MAX_IPS)
        return 0; /* a machine with dozens of addresses: the first ones */
    memcpy(w->ip[w->n_ip], b, (size_t)len);
    w->ip_len[w->n_ip++] = len;
    return 0;
}

static int build_want(const cc_certs_names *names, want *w)
{
    memset(w, 0, sizeof *w);
    const char *host = names && names->hostname ? names->hostname : "";
    if (host[0]) {
        add_dns(w, host);
        /* mDNS (RFC 6762): tablets on the same Wi-Fi may reach the machine
         * as <hostname>.local. */
        size_t hl = strlen(host);
        if (hl < 200 && !(hl > 6 && strcasecmp(host + hl - 6, ".local") == 0)) {
            char local[256];
            snprintf(local, sizeof local, "%s.local", host);
            add_dns(w, local);
        }
    }
    add_dns(w, "localhost");
    /* Loopback first: always there, whatever else does not fit. */
    add_ip(w, "127.0.0.1");
    add_ip(w, "::1");
    for (size_t i = 0; names && i < names->n_addrs; i++)
        if (!names->addrs[i] || add_ip(w, names->addrs[i]) != 0)
            return CC_EINVAL;
    return 0;
}

/* subjectAltName in OpenSSL's configuration syntax ("DNS:a,IP:b"). Safe to
 * build as text: names passed dns_name_ok and addresses come from
 * inet_ntop, so no ',' or ':' other than an IPv6 address's can appear. */
static int san_text(const want *w, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < w->n_dns; i++) {
        int k = snprintf(out + n, cap - n, "%sDNS:%s", n ? "," : "", w->dns[i]);
        if (k < 0 || (size_t)k >= cap - n)
            return CC_ENOSPC;
        n += (size_t)k;
    }
    for (size_t i = 0; i < w->n_ip; i++) {
        char ip[INET6_ADDRSTRLEN];
        inet_ntop(w->ip_len[i] == 4 ? AF_INET : AF_INET6, w->ip[i], ip, sizeof ip);
        int k = snprintf(out + n, cap - n, "%sIP:%s", n ? "," : "", ip);
        if (k < 0 || (size_t)k >= cap - n)
            return CC_ENOSPC;
        n += (size_t)k;
    }
    return 0;
}

/* 1 if the certificate's subjectAltName is exactly the wanted set. */
static int san_matches(X509 *x, const want *w)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    if (!gens)
        return 0;
    int n = sk_GENERAL_NAME_num(gens), ok = n == (int)(w->n_dns + w->n_ip);
    for (int i = 0; ok && i < n; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        int found = 0;
        if (g->type == GEN_DNS) {
            const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
            int len = ASN1_STRING_length(g->d.dNSName);
            for (size_t k = 0; k < w->n_dns && !found; k++)
                found = (size_t)len == strlen(w->dns[k]) &&
                        strncasecmp((const char *)d, w->dns[k], (size_t)len) == 0;
        } else if (g->type == GEN_IPADD) {
            const unsigned char *d = ASN1_STRING_get0_data(g->d.iPAddress);
            int len = ASN1_STRING_length(g->d.iPAddress);
            for (size_t k = 0; k < w->n_ip && !found; k++)
                found = len == w->ip_len[k] && memcmp(d, w->ip[k], (size_t)len) == 0;
        }
        ok = found;
    }
    GENERAL_NAMES_free(gens);
    return ok;
}

/* ---- certificates ---- */

static int64_t asn1_epoch(const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

/* Section 4.1.2.2: a positive serial of at most 20 octets, unique per CA;
 * 16 random octets (top bit clear) make collisions negligible. */
static int set_serial(X509 *x)
{
    unsigned char b[16];
    if (cc_rand_bytes(b, sizeof b) != 0)
        return 0;
    b[0] = (unsigned char)((b[0] & 0x7f) | 0x01);
    BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!e)
        return 0;
    int ok = X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

static int set_validity(X509 *x, int64_t from, int64_t to)
{
    time_t f = (time_t)from, t = (time_t)to;
    return X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &f) &&
           X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &t);
}

static int set_cn(X509_NAME *n, const char *cn)
{
    return X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                                      (const unsigned char *)"classcast", -1, -1, 0) == 1 &&
           X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
                                      (const unsigned char *)cn, -1, -1, 0) == 1;
}

/* The CA's common name, at most 64 characters (ub-common-name, appendix
 * A.1). */
static void ca_cn(const char *host, char *out, size_t cap)
{
    if (host && host[0] && dns_name_ok(host))
        snprintf(out, cap, "classcast school CA (%.40s)", host);
    else
        snprintf(out, cap, "classcast school CA");
}

static int make_ca(const char *host, int64_t now, EVP_PKEY **out_key, X509 **out_x)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    char cn[80];
    ca_cn(host, cn, sizeof cn);
    int64_t from = now - CC_CERTS_BACKDATE_S;
    int ok = key && x && X509_set_version(x, X509_VERSION_3) && set_serial(x) &&
             set_validity(x, from, from + (int64_t)CC_CERTS_CA_DAYS * DAY_S) &&
             set_cn(X509_get_subject_name(x), cn) &&
             X509_set_issuer_name(x, X509_get_subject_name(x)) &&
             X509_set_pubkey(x, key) &&
             /* Section 4.2.1.9: a CA says so, critical; pathLen 0: it signs
              * server certificates only, never another CA. */
             add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
             /* Section 4.2.1.3: it signs certificates and nothing else. */
             add_ext(x, x, NID_key_usage, "critical,keyCertSign") &&
             /* Section 4.2.1.2: CA certificates carry a key identifier. */
             add_ext(x, x, NID_subject_key_identifier, "hash") &&
             X509_sign(x, key, EVP_sha256()) > 0;
    if (!ok) {
        EVP_PKEY_free(key);
        X509_free(x);
        return CC_ECRYPTO;
    }
    *out_key = key;
    *out_x = x;
    return 0;
}

static int make_server(EVP_PKEY *ca_key, X509 *ca, const char *host, const want *w,
                       int64_t now, EVP_PKEY **out_key, X509 **out_x)
{
    char san[4096];
    if (san_text(w, san, sizeof san) != 0)
        return CC_ENOSPC;
    int64_t from = now - CC_CERTS_BACKDATE_S;
    int64_t to = from + (int64_t)CC_CERTS_SERVER_DAYS * DAY_S;
    /* Never past the CA's own end (section 6.1.3 checks every
     * certificate of the path for validity at the time of use). */
    int64_t ca_end = asn1_epoch(X509_get0_notAfter(ca));
    if (to > ca_end)
        to = ca_end;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    /* The subject's CN is for people reading it; browsers match the
     * subjectAltName only (RFC 6125 section 6.4.4). */
    const char *cn = host && host[0] && dns_name_ok(host) ? host : "classcast";
    int ok = key && x && X509_set_version(x, X509_VERSION_3) && set_serial(x) &&
             set_validity(x, from, to) &&
             set_cn(X509_get_subject_name(x), cn) &&
             X509_set_issuer_name(x, X509_get_subject_name(ca)) &&
             X509_set_pubkey(x, key) &&
             add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") &&
             /* Section 4.2.1.3: an ECDHE-ECDSA server key signs the
              * handshake (digitalSignature) and does nothing else. */
             add_ext(x, ca, NID_key_usage, "critical,digitalSignature") &&
             /* Section 4.2.1.12: TLS server only; Apple platforms require
              * the extension to be present. */
             add_ext(x, ca, NID_ext_key_usage, "serverAuth") &&
             add_ext(x, ca, NID_subject_key_identifier, "hash") &&
             /* Section 4.2.1.1: present in all but self-signed certificates. */
             add_ext(x, ca, NID_authority_key_identifier, "keyid:always") &&
             /* Section 4.2.1.6: the names and addresses it is valid for. */
             add_ext(x, ca, NID_subject_alt_name, san) &&
             X509_sign(x, ca_key, EVP_sha256()) > 0;
    if (!ok) {
        EVP_PKEY_free(key);
        X509_free(x);
        return CC_ECRYPTO;
    }
    *out_key = key;
    *out_x = x;
    return 0;
}

/* 1 if cert chains to ca (the only trust anchor) at time now, for a TLS
 * server (section 6: path validation). */
static int chain_ok(X509 *ca, X509 *cert, int64_t now)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok = 0;
    if (store && ctx && X509_STORE_add_cert(store, ca) == 1 &&
        X509_STORE_CTX_init(ctx, store, cert, NULL) == 1) {
        X509_STORE_CTX_set_time(ctx, 0, (time_t)now);
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
        ok = X509_verify_cert(ctx) == 1;
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

/* ---- files ---- */

static int mkdir_p(const char *dir, cc_certs *c)
{
    char p[CC_CERTS_PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
        return CC_ENOSPC;
    for (char *s = p + 1; ; s++) {
        if (*s != '/' && *s != 0)
            continue;
        char was = *s;
        *s = 0;
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            set_err(c, "cannot create the directory %s: %s", p, strerror(errno));
            return CC_EIO;
        }
        *s = was;
        if (!was)
            break;
    }
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
        set_err(c, "%s is not a directory", p);
        return CC_EIO;
    }
    return 0;
}

/* Write path so that a reader (or a crash) sees the old file or the new
 * one, never half of one: a temporary file beside it, flushed, renamed
 * over it (rename(2) is atomic within a file system), then the directory
 * flushed so the rename itself survives a power cut. */
static int write_atomic(const char *path, const char *data, size_t len, mode_t mode,
                        cc_certs *c)
{
    char tmp[CC_CERTS_PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        set_err(c, "cannot write %s: %s", tmp, strerror(errno));
        return CC_EIO;
    }
    /* The umask can take permissions away but never adds any; the key
     * must be exactly owner-only either way. */
    int ok = fchmod(fd, mode) == 0;
    for (size_t off = 0; ok && off < len;) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        if (ok)
            off += (size_t)n;
    }
    ok = ok && fsync(fd) == 0;
    int e = errno;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        e = ok ? errno : e;
        unlink(tmp);
        set_err(c, "cannot write %s: %s", path, strerror(e));
        return CC_EIO;
    }
    char dir[CC_CERTS_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        int dfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    return 0;
}

static X509 *read_cert(const char *path)
{
    BIO *b = BIO_new_file(path, "r");
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    return x;
}

static EVP_PKEY *read_key(const char *path)
{
    /* A key readable by others is made owner-only again: whoever holds
     * the CA key can impersonate any site to every tablet that trusts it. */
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        (void)chmod(path, 0600);
    BIO *b = BIO_new_file(path, "r");
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    return k;
}

/* PEM text of a certificate or a key (PKCS#8), malloc'd, NUL-terminated. */
static char *to_pem(X509 *x, EVP_PKEY *k, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b && (x ? PEM_write_bio_X509(b, x)
                : PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL))) {
        char *data;
        long n = BIO_get_mem_data(b, &data);
        out = n > 0 ? malloc((size_t)n + 1) : NULL;
        if (out) {
            memcpy(out, data, (size_t)n);
            out[n] = 0;
            *len = (size_t)n;
        }
    }
    BIO_free(b);
    return out;
}

/* Key first, then certificate: a crash between the two leaves a key that
 * does not match the old certificate, which the next start re-issues. */
static int save_pair(const char *key_path, const char *cert_path, EVP_PKEY *k, X509 *x,
                     cc_certs *c)
{
    size_t kl = 0, cl = 0;
    char *kp = to_pem(NULL, k, &kl), *cp = to_pem(x, NULL, &cl);
    int rc = kp && cp ? 0 : CC_ENOMEM;
    if (rc == 0)
        rc = write_atomic(key_path, kp, kl, 0600, c);
    if (rc == 0)
        rc = write_atomic(cert_path, cp, cl, 0644, c);
    if (kp)
        OPENSSL_cleanse(kp, kl);
    free(kp);
    free(cp);
    return rc;
}

static void fingerprint(X509 *x, char *out, size_t cap)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = 0;
    if (X509_digest(x, EVP_sha256(), md, &n) != 1)
        return;
    size_t o = 0;
    for (unsigned i = 0; i < n && o + 4 <= cap; i++)
        o += (size_t)snprintf(out + o, cap - o, i ? ":%02X" : "%02X", md[i]);
}

/* ---- the whole ---- */

/* The CA in the directory is usable: both files, a matching key, a CA
 * certificate, and still valid for longer than a server certificate's
 * renewal window. */
static int ca_usable(X509 *ca, EVP_PKEY *key, int64_t now)
{
    return ca && key && X509_check_private_key(ca, key) == 1 && X509_check_ca(ca) >= 1 &&
           asn1_epoch(X509_get0_notBefore(ca)) <= now &&
           asn1_epoch(X509_get0_notAfter(ca)) - now > (int64_t)CC_CERTS_RENEW_DAYS * DAY_S;
}

int cc_certs_ensure(const char *dir, const cc_certs_names *names, int64_t now,
                    cc_certs *out)
{
    memset(out, 0, sizeof *out);
    if (!dir || !dir[0])
        return CC_EINVAL;
    want w;
    if (build_want(names, &w) != 0) {
        set_err(out, "not an IP address among the machine's addresses");
        return CC_EINVAL;
    }
    if (snprintf(out->ca_cert_path, sizeof out->ca_cert_path, "%s/ca.crt", dir) >=
            (int)sizeof out->ca_cert_path ||
        snprintf(out->cert_path, sizeof out->cert_path, "%s/server.crt", dir) >=
            (int)sizeof out->cert_path ||
        snprintf(out->key_path, sizeof out->key_path, "%s/server.key", dir) >=
            (int)sizeof out->key_path)
        return CC_ENOSPC;
    char ca_key_path[CC_CERTS_PATH_MAX + 16];
    snprintf(ca_key_path, sizeof ca_key_path, "%s/ca.key", dir);
    int rc = mkdir_p(dir, out);
    if (rc != 0)
        return rc;

    const char *host = names && names->hostname ? names->hostname : "";
    X509 *ca = read_cert(out->ca_cert_path), *cert = NULL;
    EVP_PKEY *ca_key = read_key(ca_key_path), *key = NULL;
    if (!ca_usable(ca, ca_key, now)) {
        X509_free(ca);
        EVP_PKEY_free(ca_key);
        ca = NULL;
        ca_key = NULL;
        rc = make_ca(host, now, &ca_key, &ca);
        if (rc == 0)
            rc = save_pair(ca_key_path, out->ca_cert_path, ca_key, ca, out);
        if (rc != 0)
            goto done;
        out->ca_created = 1;
    }

    cert = read_cert(out->cert_path);
    key = read_key(out->key_path);
    if (!cert)
        out->issued = "none yet";
    else if (!key || X509_check_private_key(cert, key) != 1)
        out->issued = "its key is missing or does not match";
    else if (!chain_ok(ca, cert, now))
        out->issued = "not valid under the current CA";
    else if (!san_matches(cert, &w))
        out->issued = "the machine's names or addresses changed";
    else if (asn1_epoch(X509_get0_notAfter(cert)) - now < (int64_t)CC_CERTS_RENEW_DAYS * DAY_S)
        out->issued = "it expires soon";
    if (out->issued) {
        X509_free(cert);
        EVP_PKEY_free(key);
        cert = NULL;
        key = NULL;
        rc = make_server(ca_key, ca, host, &w, now, &key, &cert);
        if (rc == 0)
            rc = save_pair(out->key_path, out->cert_path, key, cert, out);
        if (rc != 0)
            goto done;
    }

    out->ca_pem = to_pem(ca, NULL, &out->ca_pem_len);
    if (!out->ca_pem) {
        rc = CC_ENOMEM;
        goto done;
    }
    fingerprint(ca, out->ca_fingerprint, sizeof out->ca_fingerprint);
    X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, out->ca_name,
                              sizeof out->ca_name);
    out->ca_not_after = asn1_epoch(X509_get0_notAfter(ca));
    out->cert_not_after = asn1_epoch(X509_get0_notAfter(cert));
done:
    if (rc == CC_ECRYPTO)
        set_err(out, "OpenSSL could not make a certificate");
    X509_free(ca);
    X509_free(cert);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    ERR_clear_error();
    if (rc != 0)
        cc_certs_release(out);
    return rc;
}

void cc_certs_release(cc_certs *c)
{
    if (!c)
        return;
    free(c->ca_pem);
    c->ca_pem = NULL;
    c->ca_pem_len = 0;
}

int cc_certs_default_dir(char *out, size_t cap)
{
    /* One definition of the state directory for every user of it (the
     * accounts database lives there too): include/classcast/paths.h. */
    return cc_paths_state_dir(out, cap);
}
