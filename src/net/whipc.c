/* WHIP/WHEP client on libcurl (blocking; setup and teardown only). */
#include "classcast/whipc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classcast/err.h"

#define BODY_MAX (256 * 1024)

typedef struct sink {
    char *buf;
    size_t len;
    int overflow;
    char location[CC_WHIPC_URL_MAX];
} sink;

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    sink *s = ud;
    size_t add = size * n;
    if (s->len + add > BODY_MAX) {
        s->overflow = 1;
        return 0; /* aborts the transfer */
    }
    char *nb = realloc(s->buf, s->len + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + s->len, data, add);
    s->len += add;
    nb[s->len] = 0;
    s->buf = nb;
    return add;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    sink *s = ud;
    size_t len = size * n;
    if (len > 9 && strncasecmp(data, "Location:", 9) == 0) {
        const char *v = data + 9;
        size_t vl = len - 9;
        while (vl && (*v == ' ' || *v == '\t')) {
            v++;
            vl--;
        }
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl < sizeof s->location) {
            memcpy(s->location, v, vl);
            s->location[vl] = 0;
        }
    }
    return len;
}

int cc_whipc_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : CC_EIO;
}

static char *g_ca_file; /* cc_whipc_set_ca_file; NULL: the system's CAs */

void cc_whipc_global_cleanup(void)
{
    free(g_ca_file);
    g_ca_file = NULL;
    curl_global_cleanup();
}

/* RFC 9725 section 4.2: Location may be relative to the endpoint URL. */
static void resolve(const char *base, const char *loc, char *out, size_t cap)
{
    out[0] = 0;
    CURLU *u = curl_url();
    char *full = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, loc, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK)
        snprintf(out, cap, "%s", full);
    curl_free(full);
    curl_url_cleanup(u);
}

int cc_whipc_set_ca_file(const char *pem_path)
{
    char *copy = NULL;
    if (pem_path && !(copy = strdup(pem_path)))
        return CC_ENOMEM;
    free(g_ca_file);
    g_ca_file = copy;
    return 0;
}

static CURL *make(const char *url, const char *token, long timeout_ms,
                  struct curl_slist **hdrs, sink *s, const char *ctype)
{
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    *hdrs = NULL;
    if (ctype)
        *hdrs = curl_slist_append(*hdrs, ctype);
    if (token && token[0]) {
        char auth[256];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        *hdrs = curl_slist_append(*hdrs, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
    /* Only HTTP(S): a URL is user input. */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    /* Certificates are always verified (CURLOPT_SSL_VERIFYPEER stays on);
     * a school CA is trusted only when the caller names it. */
    if (g_ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, g_ca_file);
    return c;
}

int cc_whipc_post(const char *url, const char *token, const char *offer,
                  long timeout_ms, cc_whipc_result *r)
{
    memset(r, 0, sizeof *r);
    sink s = {0};
    struct curl_slist *h = NULL;
    CURL *c = make(url, token, timeout_ms, &h, &s, "Content-Type: application/sdp");
    if (!c) {
        snprintf(r->error, sizeof r->error, "curl_easy_init failed");
        return CC_ENOMEM;
    }
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, offer);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(offer));
    CURLcode cr = curl_easy_perform(c);
    int rc = 0;
    if (cr != CURLE_OK) {
        snprintf(r->error, sizeof r->error, "POST %s: %s%s", url,
                 curl_easy_strerror(cr), s.overflow ? " (answer too large)" : "");
        rc = CC_EIO;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        if (r->status != 201) {
            snprintf(r->error, sizeof r->error, "POST %s: HTTP %ld: %.160s", url,
                     r->status, s.buf ? s.buf : "");
            rc = CC_EPROTO;
        } else if (!s.buf || !s.location[0]) {
            snprintf(r->error, sizeof r->error, "POST %s: 201 without %s", url,
                     s.buf ? "Location" : "an SDP answer");
            rc = CC_EPROTO;
        } else {
            resolve(url, s.location, r->location, sizeof r->location);
            if (!r->location[0]) {
                snprintf(r->error, sizeof r->error, "bad Location '%.100s'", s.location);
                rc = CC_EPROTO;
            }
        }
    }
    r->body = s.buf;
    r->body_len = s.len;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc;
}

int cc_whipc_delete(const char *resource_url, const char *token, long timeout_ms)
{
    sink s = {0};
    struct curl_slist *h = NULL;
    CURL *c = make(resource_url, token, timeout_ms, &h, &s, NULL);
    if (!c)
        return CC_ENOMEM;
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    CURLcode cr = curl_easy_perform(c);
    long status = 0;
    if (cr == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    free(s.buf);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (cr != CURLE_OK)
        return CC_EIO;
    return status >= 200 && status < 300 ? 0 : CC_EPROTO;
}

void cc_whipc_result_clear(cc_whipc_result *r)
{
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}
