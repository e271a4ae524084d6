/* Unit tests for src/signal/certs.c: the school CA and the server
 * certificate, made, read back with OpenSSL, verified as a TLS client
 * would (X509_verify_cert with the CA as the only trust anchor and the
 * address checked against the subjectAltName), reused, and re-issued when
 * an address is added, the name changes, the end nears, the file is
 * damaged or the CA is lost. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cc_test.h"
#include "classcast/certs.h"
#include "classcast/err.h"

#define DAY (24 * 3600)

static char g_dir[256];

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    size_t l = 0;
    char *s = cc_test_read_file(p, &l);
    if (len)
        *len = l;
    return s;
}

static X509 *load(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    if (!f)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

static int mode_of(const char *dir, const char *name)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static int64_t epoch(const ASN1_TIME *t)
{
    struct tm tm;
    if (ASN1_TIME_to_tm(t, &tm) != 1)
        return -1;
    return (int64_t)timegm(&tm);
}

/* Does cert verify under ca alone, at time now, for a TLS server at the
 * address ip (NULL: no name check)? As a browser's verifier would. */
static int verifies(X509 *ca, X509 *cert, int64_t now, const char *ip)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_add_cert(store, ca);
    X509_STORE_CTX_init(ctx, store, cert, NULL);
    X509_STORE_CTX_set_time(ctx, 0, (time_t)now);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    if (ip)
        X509_VERIFY_PARAM_set1_ip_asc(X509_STORE_CTX_get0_param(ctx), ip);
    int ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

static int verifies_host(X509 *ca, X509 *cert, int64_t now, const char *host)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_add_cert(store, ca);
    X509_STORE_CTX_init(ctx, store, cert, NULL);
    X509_STORE_CTX_set_time(ctx, 0, (time_t)now);
    X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), host, 0);
    int ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

/* The subjectAltName as "DNS:a IP:b ..." in certificate order. */
static void san_list(X509 *x, char *out, size_t cap)
{
    out[0] = 0;
    GENERAL_NAMES *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    size_t n = 0;
    for (int i = 0; g && i < sk_GENERAL_NAME_num(g); i++) {
        const GENERAL_NAME *e = sk_GENERAL_NAME_value(g, i);
        char v[300] = "?";
        if (e->type == GEN_DNS) {
            snprintf(v, sizeof v, "DNS:%.*s", ASN1_STRING_length(e->d.dNSName),
                     (const char *)ASN1_STRING_get0_data(e->d.dNSName));
        } else if (e->type == GEN_IPADD) {
            const unsigned char *d = ASN1_STRING_get0_data(e->d.iPAddress);
            char ip[64];
            inet_ntop(ASN1_STRING_length(e->d.iPAddress) == 4 ? AF_INET : AF_INET6, d, ip,
                      sizeof ip);
            snprintf(v, sizeof v, "IP:%s", ip);
        }
        n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? " " : "", v);
    }
    GENERAL_NAMES_free(g);
}

static int has(const char *list, const char *item)
{
    size_t l = strlen(item);
    for (const char *p = list; (p = strstr(p, item)); p += l)
        if ((p == list || p[-1] == ' ') && (p[l] == ' ' || p[l] == 0))
            return 1;
    return 0;
}

static int count_words(const char *s)
{
    int n = 0;
    for (const char *p = s; *p; p++)
        if (*p != ' ' && (p == s || p[-1] == ' '))
            n++;
    return n;
}

static const char *const addrs1[] = {"192.168.1.20", "2001:db8::5"};
static const cc_certs_names names1 = {"classroom-pc", addrs1, 2};
static int64_t t0;

static void test_first_start(void)
{
    cc_certs c;
    CC_CHECK_EQ(cc_certs_ensure(g_dir, &names1, t0, &c), 0);
    CC_CHECK_EQ(c.ca_created, 1);
    CC_CHECK(c.issued != NULL);
    CC_CHECK(c.ca_pem && strstr(c.ca_pem, "-----BEGIN CERTIFICATE-----") == c.ca_pem);

    /* Key files are owner-only; certificates are public. */
    CC_CHECK_EQ(mode_of(g_dir, "ca.key"), 0600);
    CC_CHECK_EQ(mode_of(g_dir, "server.key"), 0600);
    CC_CHECK_EQ(mode_of(g_dir, "ca.crt"), 0644);
    CC_CHECK_EQ(mode_of(g_dir, "server.crt"), 0644);
    /* Only the four files: no temporary file left behind. */
    DIR *d = opendir(g_dir);
    int files = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.')
            files++;
    if (d)
        closedir(d);
    CC_CHECK_EQ(files, 4);

    X509 *ca = load(g_dir, "ca.crt"), *srv = load(g_dir, "server.crt");
    CC_CHECK(ca && srv);
    if (!ca || !srv)
        return;
    /* The CA: a CA (critical basicConstraints), signs certificates, P-256,
     * ten years, named after the machine. */
    CC_CHECK(X509_check_ca(ca) >= 1);
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(ca, NID_basic_constraints, &crit, NULL);
    CC_CHECK(bc && bc->ca);
    CC_CHECK_EQ(crit, 1);
    BASIC_CONSTRAINTS_free(bc);
    CC_CHECK(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN);
    EVP_PKEY *pk = X509_get0_pubkey(ca);
    char group[32] = "";
    size_t gl = 0;
    CC_CHECK_EQ(EVP_PKEY_get_base_id(pk), EVP_PKEY_EC);
    EVP_PKEY_get_group_name(pk, group, sizeof group, &gl);
    CC_CHECK(strcmp(group, "prime256v1") == 0);
    char cn[128] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn, sizeof cn);
    CC_CHECK(strcmp(cn, "classcast school CA (classroom-pc)") == 0);
    CC_CHECK(strcmp(c.ca_name, cn) == 0);
    CC_CHECK_EQ(epoch(X509_get0_notAfter(ca)) - epoch(X509_get0_notBefore(ca)),
                (int64_t)CC_CERTS_CA_DAYS * DAY);
    CC_CHECK(X509_check_issued(ca, ca) == X509_V_OK); /* self-signed */

    /* The server certificate: the machine's names and every address. */
    char sans[1024];
    san_list(srv, sans, sizeof sans);
    printf("  SAN: %s\n", sans);
    CC_CHECK(has(sans, "DNS:classroom-pc"));
    CC_CHECK(has(sans, "DNS:classroom-pc.local"));
    CC_CHECK(has(sans, "DNS:localhost"));
    CC_CHECK(has(sans, "IP:192.168.1.20"));
    CC_CHECK(has(sans, "IP:2001:db8::5"));
    CC_CHECK(has(sans, "IP:127.0.0.1"));
    CC_CHECK(has(sans, "IP:::1"));
    CC_CHECK_EQ(count_words(sans), 7);
    CC_CHECK(!(X509_get_extension_flags(srv) & EXFLAG_CA));
    CC_CHECK(X509_get_extended_key_usage(srv) & XKU_SSL_SERVER);
    CC_CHECK(X509_get_key_usage(srv) & KU_DIGITAL_SIGNATURE);
    int64_t life = epoch(X509_get0_notAfter(srv)) - epoch(X509_get0_notBefore(srv));
    CC_CHECK(life <= 397LL * DAY && life > 390LL * DAY);
    CC_CHECK(epoch(X509_get0_notBefore(srv)) < t0); /* a slow tablet clock */
    CC_CHECK_EQ(c.cert_not_after, epoch(X509_get0_notAfter(srv)));

    /* The chain verifies for each name and address, and not for others. */
    CC_CHECK(verifies(ca, srv, t0, NULL));
    CC_CHECK(verifies(ca, srv, t0, "192.168.1.20"));
    CC_CHECK(verifies(ca, srv, t0, "2001:db8::5"));
    CC_CHECK(verifies(ca, srv, t0, "127.0.0.1"));
    CC_CHECK(!verifies(ca, srv, t0, "192.168.1.21"));
    CC_CHECK(verifies_host(ca, srv, t0, "classroom-pc.local"));
    CC_CHECK(!verifies_host(ca, srv, t0, "example.com"));
    CC_CHECK(!verifies(ca, srv, t0 + 400LL * DAY, NULL)); /* expired by then */
    /* ... and not under another CA with the same name (a negative
     * control: the check can fail). */
    char other[512];
    snprintf(other, sizeof other, "%s-other", g_dir);
    cc_certs o;
    CC_CHECK_EQ(cc_certs_ensure(other, &names1, t0, &o), 0);
    X509 *oca = load(other, "ca.crt");
    CC_CHECK(oca && !verifies(oca, srv, t0, NULL));
    CC_CHECK(strcmp(o.ca_fingerprint, c.ca_fingerprint) != 0);
    X509_free(oca);
    cc_certs_release(&o);

    /* The fingerprint is SHA-256 of the CA certificate, as devices show it. */
    unsigned char md[32];
    unsigned int ml = 0;
    X509_digest(ca, EVP_sha256(), md, &ml);
    char hex[96] = "";
    size_t o2 = 0;
    for (unsigned i = 0; i < ml; i++)
        o2 += (size_t)snprintf(hex + o2, sizeof hex - o2, i ? ":%02X" : "%02X", md[i]);
    CC_CHECK_EQ(strlen(c.ca_fingerprint), 95);
    CC_CHECK(strcmp(c.ca_fingerprint, hex) == 0);
    size_t pl = 0;
    char *pem = slurp(g_dir, "ca.crt", &pl);
    CC_CHECK(pem && pl == c.ca_pem_len && memcmp(pem, c.ca_pem, pl) == 0);
    free(pem);
    X509_free(ca);
    X509_free(srv);
    cc_certs_release(&c);
}

static void test_reuse(void)
{
    size_t l1, l2, k1, k2;
    char *ca1 = slurp(g_dir, "ca.crt", &l1), *s1 = slurp(g_dir, "server.crt", &k1);
    cc_certs c;
    CC_CHECK_EQ(cc_certs_ensure(g_dir, &names1, t0 + 3600, &c), 0);
    CC_CHECK_EQ(c.ca_created, 0);
    CC_CHECK(c.issued == NULL);
    /* The same names in another order are the same set. */
    static const char *const swapped[] = {"2001:db8::5", "192.168.1.20", "127.0.0.1"};
    cc_certs_names n2 = {"Classroom-PC", swapped, 3};
    cc_certs c2;
    CC_CHECK_EQ(cc_certs_ensure(g_dir, &n2, t0 + 7200, &c2), 0);
    CC_CHECK(c2.issued == NULL);
    char *ca2 = slurp(g_dir, "ca.crt", &l2), *s2 = slurp(g_dir, "server.crt", &k2);
    CC_CHECK(ca1 && ca2 && l1 == l2 && memcmp(ca1, ca2, l1) == 0);
    CC_CHECK(s1 && s2 && k1 == k2 && memcmp(s1, s2, k1) == 0);
    CC_CHECK(strcmp(c.ca_fingerprint, c2.ca_fingerprint) == 0);
    free(ca1), free(ca2), free(s1), free(s2);
    cc_certs_release(&c);
    cc_certs_release(&c2);
}

static void test_new_address(void)
{
    size_t l1, l2;
    char *ca1 = slurp(g_dir, "ca.crt", &l1), *s1 = slurp(g_dir, "server.crt", NULL);
    static const char *const addrs[] = {"192.168.1.20", "2001:db8::5", "10.0.0.7"};
    cc_certs_names n = {"classroom-pc", addrs, 3};
    cc_certs c;
    CC_CHECK_EQ(cc_certs_ensure(g_dir, &n, t0 + DAY, &c), 0);
    CC_CHECK_EQ(c.ca_created, 0);
    CC_CHECK(c.issued && strstr(c.issued, "addresses"));
    char *ca2 = slurp(g_dir, "ca.crt", &l2), *s2 = slurp(g_dir, "server.crt", NULL);
    CC_CHECK(l1 == l2 && memcmp(ca1, ca2, l1) == 0); /* the same CA */
    CC_CHECK(s1 && s2 && strcmp(s1, s2) != 0);
    X509 *ca = load(g_dir, "ca.crt"), *srv = load(g_dir, "server.crt");
    char sans[1024];
    san_list(srv, sans, sizeof sans);
    CC_CHECK(has(sans, "IP:10.0.0.7"));
    CC_CHECK_EQ(count_words(sans), 8);
    CC_CHECK(verifies(ca, srv, t0 + DAY, "10.0.0.7"));
    CC_CHECK_EQ(mode_of(g_dir, "server.key"), 0600);
    /* Back to the old set: issued again (an address went away). */
    cc_certs c2;
    CC_CHECK_EQ(cc_certs_ensure(g_dir, &names1, t0 + DAY, &c2), 0);
    CC_CHECK(c2.issued != NULL);
    /* A renamed machine. */
    cc_certs_names renamed = {"lab-2", addrs1, 2};
    cc_certs c3;
    CC_CHECK_EQ(cc_certs_ensure(g_dir, &renamed, t0 + DAY, &c3), 0);
    CC_CHECK(c3.issued != NULL && c3.ca_created == 0);
    X509 *srv3 = load(g_dir, "server.crt");
    CC_CHECK(verifies_host(ca, srv3, t0 + DAY, "lab-2.local"));
    CC_CHECK(!verifies_host(ca, srv3, t0 + DAY, "classroom-pc"));
    X509_free(srv3);
    X509_free(ca);
    X509_free(srv);
    free(ca1), free(ca2), free(s1), free(s2);
    cc_certs_release(&c);
    cc_certs_release(&c2);
    cc_certs_release(&c3);
    /* Leave names1's certificate for the next tests. */
    cc_certs c4;
    CC_CHECK_EQ(cc_certs_ensure(g_dir, &names1, t0 + DAY, &c4), 0);
    cc_certs_release(&c4);
}

static void test_expiry(void)
{
    cc_certs a, b, c;
    CC_CHECK_EQ(cc_certs_ensure(g_dir, &names1, t0 + 300LL * DAY, &a), 0);
    CC_CHECK(a.issued == NULL); /* 97 days left: kept */
    CC_CHECK_EQ(cc_certs_ensure(g_dir, &names1, t0 + 380LL * DAY, &b), 0);
    CC_CHECK(b.issued && strstr(b.issued, "expires"));
    CC_CHECK_EQ(b.ca_created, 0);
    CC_CHECK(b.cert_not_after > a.cert_not_after + 300LL * DAY);
    /* A server certificate never outlives its CA: near the CA's end the
     * CA is made anew (tablets must trust it again). */
    CC_CHECK_EQ(cc_certs_ensure(g_dir, &names1, t0 + 3640LL * DAY, &c), 0);
    CC_CHECK_EQ(c.ca_created, 1);
    CC_CHECK(c.cert_not_after <= c.ca_not_after);
    cc_certs_release(&a);
    cc_certs_release(&b);
    cc_certs_release(&c);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_damage(void)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s-damage", g_dir);
    cc_certs c;
    CC_CHECK_EQ(cc_certs_ensure(dir, &names1, t0, &c), 0);
    char fp[96];
    snprintf(fp, sizeof fp, "%s", c.ca_fingerprint);
    cc_certs_release(&c);

    /* A damaged server certificate is issued again under the same CA. */
    write_file(dir, "server.crt", "-----BEGIN CERTIFICATE-----\ngarbage\n");
    CC_CHECK_EQ(cc_certs_ensure(dir, &names1, t0, &c), 0);
    CC_CHECK(c.issued && !c.ca_created && strcmp(c.ca_fingerprint, fp) == 0);
    cc_certs_release(&c);
    /* A server key that is not the certificate's. */
    write_file(dir, "server.key", "");
    CC_CHECK_EQ(cc_certs_ensure(dir, &names1, t0, &c), 0);
    CC_CHECK(c.issued && strstr(c.issued, "key"));
    cc_certs_release(&c);
    /* A key file someone made readable to all is made owner-only. */
    char kp[600];
    snprintf(kp, sizeof kp, "%s/ca.key", dir);
    chmod(kp, 0644);
    CC_CHECK_EQ(cc_certs_ensure(dir, &names1, t0, &c), 0);
    CC_CHECK_EQ(mode_of(dir, "ca.key"), 0600);
    CC_CHECK(c.issued == NULL && !c.ca_created);
    cc_certs_release(&c);

    /* The CA key lost: a new CA, and a server certificate under it. */
    unlink(kp);
    CC_CHECK_EQ(cc_certs_ensure(dir, &names1, t0, &c), 0);
    CC_CHECK_EQ(c.ca_created, 1);
    CC_CHECK(c.issued != NULL);
    CC_CHECK(strcmp(c.ca_fingerprint, fp) != 0);
    X509 *ca = load(dir, "ca.crt"), *srv = load(dir, "server.crt");
    CC_CHECK(ca && srv && verifies(ca, srv, t0, "192.168.1.20"));
    X509_free(ca);
    X509_free(srv);
    cc_certs_release(&c);
}

static void test_bad_input(void)
{
    cc_certs c;
    static const char *const bad[] = {"192.168.1.20", "not-an-ip"};
    cc_certs_names n = {"classroom-pc", bad, 2};
    CC_CHECK_EQ(cc_certs_ensure(g_dir, &n, t0, &c), CC_EINVAL);
    CC_CHECK(c.err[0] != 0);
    static const char *const null_addr[] = {NULL};
    cc_certs_names n0 = {"x", null_addr, 1};
    CC_CHECK_EQ(cc_certs_ensure(g_dir, &n0, t0, &c), CC_EINVAL);
    CC_CHECK_EQ(cc_certs_ensure(NULL, &names1, t0, &c), CC_EINVAL);
    CC_CHECK_EQ(cc_certs_ensure("", &names1, t0, &c), CC_EINVAL);

    /* No names at all, or a host name that is no DNS name: loopback and
     * localhost only (a SAN dNSName must be a valid name). */
    char dir[512];
    snprintf(dir, sizeof dir, "%s-noname", g_dir);
    cc_certs_names weird = {"bad_host name,IP:1.2.3.4", NULL, 0};
    CC_CHECK_EQ(cc_certs_ensure(dir, &weird, t0, &c), 0);
    X509 *srv = load(dir, "server.crt");
    char sans[1024] = "";
    if (srv)
        san_list(srv, sans, sizeof sans);
    CC_CHECK(strcmp(sans, "DNS:localhost IP:127.0.0.1 IP:::1") == 0);
    CC_CHECK(strcmp(c.ca_name, "classcast school CA") == 0);
    X509_free(srv);
    cc_certs_release(&c);
    CC_CHECK_EQ(cc_certs_ensure(dir, NULL, t0, &c), 0);
    CC_CHECK(c.issued == NULL);
    cc_certs_release(&c);

    /* A directory that cannot be made: an error with a reason, no crash. */
    char file[512], under[600];
    snprintf(file, sizeof file, "%s-file", g_dir);
    FILE *f = fopen(file, "w");
    if (f)
        fclose(f);
    snprintf(under, sizeof under, "%s/state", file);
    CC_CHECK_EQ(cc_certs_ensure(under, &names1, t0, &c), CC_EIO);
    CC_CHECK(strstr(c.err, file) != NULL);
    CC_CHECK(c.ca_pem == NULL);
    unlink(file);
}

static void test_default_dir(void)
{
    char out[256];
    const char *home = getenv("HOME"), *xdg = getenv("XDG_STATE_HOME");
    char *h = home ? strdup(home) : NULL, *x = xdg ? strdup(xdg) : NULL;
    setenv("XDG_STATE_HOME", "/srv/state", 1);
    CC_CHECK_EQ(cc_certs_default_dir(out, sizeof out), 0);
    CC_CHECK(strcmp(out, "/srv/state/classcast") == 0);
    setenv("XDG_STATE_HOME", "relative/path", 1); /* invalid: ignored */
    setenv("HOME", "/home/co-hoa", 1);
    CC_CHECK_EQ(cc_certs_default_dir(out, sizeof out), 0);
    CC_CHECK(strcmp(out, "/home/co-hoa/.local/state/classcast") == 0);
    unsetenv("XDG_STATE_HOME");
    unsetenv("HOME");
    int rc = cc_certs_default_dir(out, sizeof out);
    if (geteuid() == 0)
        CC_CHECK(rc == 0 && strcmp(out, "/var/lib/classcast") == 0);
    else
        CC_CHECK_EQ(rc, CC_ENOTFOUND);
    setenv("HOME", "/home/co-hoa", 1);
    CC_CHECK_EQ(cc_certs_default_dir(out, 10), CC_ENOSPC);
    if (h)
        setenv("HOME", h, 1);
    else
        unsetenv("HOME");
    if (x)
        setenv("XDG_STATE_HOME", x, 1);
    free(h);
    free(x);
}

static void rm_rf(const char *dir)
{
    const char *names[] = {"ca.crt", "ca.key", "server.crt", "server.key"};
    char p[1024];
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

int main(void)
{
    char base[] = "/tmp/cc-test-certs-XXXXXX";
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    /* The state directory is made below the temporary one, as on a fresh
     * machine where ~/.local/state does not exist yet. */
    snprintf(g_dir, sizeof g_dir, "%s/state/classcast", base);
    t0 = (int64_t)time(NULL);
    CC_RUN(test_first_start);
    CC_RUN(test_reuse);
    CC_RUN(test_new_address);
    CC_RUN(test_expiry);
    CC_RUN(test_damage);
    CC_RUN(test_bad_input);
    CC_RUN(test_default_dir);
    const char *suffixes[] = {"", "-other", "-damage", "-noname"};
    for (size_t i = 0; i < 4; i++) {
        char d[512];
        snprintf(d, sizeof d, "%s%s", g_dir, suffixes[i]);
        rm_rf(d);
    }
    char p[1024];
    snprintf(p, sizeof p, "%s/state", base);
    rmdir(p);
    rmdir(base);
    CC_TEST_DONE();
}
