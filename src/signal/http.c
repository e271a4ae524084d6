/* HTTP and WebSocket transport on libwebsockets. Static files are a file
 * mount; API routes and /ws go through one protocol callback. Bodies and
 * messages are bounded (CC_HTTP_MAX_BODY); a WebSocket that stops reading
 * is closed once CC_HTTP_MAX_QUEUE messages wait for it.
 *
 * One lws context holds one or two vhosts (LWS_SERVER_OPTION_EXPLICIT_VHOSTS)
 * sharing this callback, the connection limits and the counters:
 *   "http"   plain HTTP on cfg.port;
 *   "https"  HTTPS and WSS on cfg.tls.port (lws's OpenSSL TLS), only when a
 *            certificate is configured (docs/https.md).
 * With HTTPS on, the plain vhost is a gate: other computers get the CA page
 * and /ca.crt there and a redirect to HTTPS for everything else, so its
 * "/" is a callback mount that serves files itself (lws_serve_http_file)
 * only for requests it lets through. */
#include "classcast/http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <glib.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classcast/clock.h"
#include "classcast/err.h"
#include "classcast/log.h"
#include "classcast/origin.h"
#include "classcast/ratelimit.h"

#define CC_WS_MAX_BAD_FRAMES 100
#define N_MOUNTS 10

/* What the CA page (web/ca.html) loads: all that other computers get over
 * plain HTTP when HTTPS is on, besides /ca.crt and /ca.json. */
static const char *const plain_pages[] = {"/ca.html", "/style.css", "/i18n.js", "/js/ca.js"};

typedef struct out_msg {
    struct out_msg *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE headroom + message */
} out_msg;

/* Per-connection state: an HTTP request or a WebSocket session. */
typedef struct conn {
    int is_ws;
    /* HTTP */
    char method[8];
    char path[512];
    char text_arg[CC_HTTP_MAX_TEXT_ARG + 8]; /* "text=" + the value */
    const char *text;    /* into text_arg, "" if none or too long */
    char query[CC_HTTP_MAX_TEXT_ARG + 8]; /* the arguments again, "a=1&b=2" */
    char auth[512];
    char ctype[128];
    char *body;
    size_t body_len;
    int too_big;
    int close_after;    /* the request cannot be framed: close once answered */
    int from_loopback;
    int cross_origin;
    char peer_ip[64];
    char *cookie;        /* the Cookie header (malloc'd), NULL if none */
    int secure;          /* the request came over TLS */
    int redirect;        /* answer with a redirect to HTTPS once the body is in */
    unsigned char *resp; /* LWS_PRE + body */
    size_t resp_len;
    char range[80];      /* the Range header of an API request, "" none */
    int file_fd1;        /* a file being sent (cc_http_response.file): its
                          * descriptor + 1, 0 for none */
    uint64_t file_left;  /* bytes of it still to send */
    /* WebSocket */
    uint64_t sid;
    struct lws *wsi;
    char *rx;
    size_t rx_len;
    int rx_too_big;
    out_msg *q_head, *q_tail;
    int q_len;
    int closing;
    int bad_frames;
} conn;

struct cc_http {
    cc_http_config cfg;
    char web_root[1024];
    struct lws_context *ctx;
    struct lws_vhost *vh_http, *vh_https; /* vh_https: NULL without TLS */
    struct lws_http_mount mounts[N_MOUNTS], mounts_tls[N_MOUNTS];
    struct lws_protocols protocols[2];
    int port, https_port;
    uint64_t next_sid;
    GHashTable *sessions; /* sid -> conn* */
    lws_sorted_usec_list_t tick_sul;
    cc_http_counters counters;
    /* Open connections: total, and per peer address (key: the address as
     * text, value: count in the pointer); each accepted wsi -> its key. */
    int conns;
    GHashTable *per_ip;    /* char* (owned) -> count */
    GHashTable *conn_ip;   /* struct lws* -> char* (the key in per_ip) */
    cc_ratelimit *conn_rate; /* new connections per address */
    lws_retry_bo_t idle_policy;
};

#define HTTP_INC(h, f) ((h)->counters.f++)

static cc_http *http_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* The peer's address as text, an IPv4-mapped IPv6 address unwrapped. */
static void peer_ip_of(struct lws *wsi, char *out, size_t cap)
{
    char ip[64] = "";
    lws_get_peer_simple(wsi, ip, sizeof ip);
    snprintf(out, cap, "%s", strncmp(ip, "::ffff:", 7) == 0 ? ip + 7 : ip);
}

static int peer_is_loopback(struct lws *wsi)
{
    char ip[64] = "";
    lws_get_peer_simple(wsi, ip, sizeof ip);
    return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0 ||
           strncmp(ip, "::ffff:127.", 11) == 0;
}

static void conn_reset_http(conn *c)
{
    if (c->file_fd1)
        close(c->file_fd1 - 1);
    c->file_fd1 = 0;
    c->file_left = 0;
    c->range[0] = 0;
    free(c->body);
    free(c->resp);
    free(c->cookie);
    c->body = NULL;
    c->resp = NULL;
    c->cookie = NULL;
    c->secure = 0;
    c->body_len = c->resp_len = 0;
    c->too_big = 0;
    c->close_after = 0;
    c->redirect = 0;
}

/* The plain vhost while HTTPS is on: other computers are redirected. */
static int on_gate(cc_http *h, struct lws *wsi)
{
    return h->vh_https && lws_get_vhost(wsi) == h->vh_http;
}

static int add_header(struct lws *wsi, const char *name, const char *value,
                      unsigned char **p, unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value,
                                       (int)strlen(value), p, end);
}

void cc_http_reply_json(cc_http_response *r, int status, json_t *j)
{
    r->status = status;
    snprintf(r->content_type, sizeof r->content_type, "application/json");
    free(r->body);
    r->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    r->body_len = r->body ? strlen(r->body) : 0;
    json_decref(j);
    if (!r->body) {
        r->status = 500;
        snprintf(r->content_type, sizeof r->content_type, "text/plain; charset=utf-8");
    }
}

void cc_http_reply_error(cc_http_response *r, int status, const char *code,
                         const char *message)
{
    cc_http_reply_json(r, status, json_pack("{s:s, s:s}", "error", code, "message", message));
}

/* Headers now, body when writable. */
static int send_response(struct lws *wsi, conn *c, cc_http_response *r)
{
    unsigned char hdr[LWS_PRE + 2048], *start = &hdr[LWS_PRE], *p = start,
                                       *end = &hdr[sizeof hdr - 1];
    size_t len = r->body ? r->body_len : 0;
    free(c->resp);
    c->resp = malloc(LWS_PRE + len + 1);
    if (!c->resp)
        return -1;
    if (len)
        memcpy(c->resp + LWS_PRE, r->body, len);
    c->resp_len = len;
    const char *ct = r->content_type[0] ? r->content_type : "text/plain; charset=utf-8";
    if (lws_add_http_common_headers(wsi, (unsigned)r->status, ct, (lws_filepos_t)len, &p, end))
        return -1;
    if (r->location[0] && add_header(wsi, "location:", r->location, &p, end))
        return -1;
    if (r->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", r->retry_after);
        if (add_header(wsi, "retry-after:", ra, &p, end))
            return -1;
    }
    if (add_header(wsi, "cache-control:", "no-store", &p, end))
        return -1;
    /* The session cookie (RFC 6265 section 4.1), built by the application
     * (include/classcast/auth.h). */
    if (r->set_cookie[0] && add_header(wsi, "set-cookie:", r->set_cookie, &p, end))
        return -1;
    if (r->disposition[0] && add_header(wsi, "content-disposition:", r->disposition, &p, end))
        return -1;
    if (r->content_range[0] && add_header(wsi, "content-range:", r->content_range, &p, end))
        return -1;
    if (c->close_after && add_header(wsi, "connection:", "close", &p, end))
        return -1;
    if (r->cors) {
        /* RFC 9725 section 4.1 (WHIP) and the WHEP draft: browsers on another
         * origin need CORS, with Location exposed. */
        if (add_header(wsi, "access-control-allow-origin:", "*", &p, end) ||
            add_header(wsi, "access-control-allow-methods:", "POST, DELETE, OPTIONS", &p, end) ||
            add_header(wsi, "access-control-allow-headers:", "Authorization, Content-Type", &p, end) ||
            add_header(wsi, "access-control-expose-headers:", "Location", &p, end))
            return -1;
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

/* A file as the answer (cc_http_response.file: recordings): its bytes
 * [file_offset, file_offset + file_length) with status 200 or 206 (RFC 9110
 * section 14: the application parsed the Range), sent in pieces as the
 * socket drains (file_writeable). */
#define FILE_CHUNK 32768
static int refuse(struct lws *wsi, conn *c, int status, const char *text);
static int send_file(struct lws *wsi, conn *c, cc_http_response *r)
{
    int fd = open(r->file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return refuse(wsi, c, 404, "not found");
    }
    uint64_t size = (uint64_t)st.st_size, off = r->file_offset;
    uint64_t len = r->file_length ? r->file_length : size - (off < size ? off : size);
    if (off > size || len > size - off || lseek(fd, (off_t)off, SEEK_SET) < 0) {
        close(fd);
        return refuse(wsi, c, 416, "range not satisfiable");
    }
    unsigned char hdr[LWS_PRE + 1024], *start = &hdr[LWS_PRE], *p = start,
                                       *end = &hdr[sizeof hdr - 1];
    const char *ct = r->content_type[0] ? r->content_type : "application/octet-stream";
    if (lws_add_http_common_headers(wsi, (unsigned)r->status, ct, (lws_filepos_t)len, &p, end) ||
        add_header(wsi, "accept-ranges:", "bytes", &p, end) ||
        add_header(wsi, "cache-control:", "no-store", &p, end) ||
        (r->content_range[0] && add_header(wsi, "content-range:", r->content_range, &p, end)) ||
        (r->disposition[0] && add_header(wsi, "content-disposition:", r->disposition, &p, end)) ||
        lws_finalize_write_http_header(wsi, start, &p, end)) {
        close(fd);
        return -1;
    }
    c->file_fd1 = fd + 1;
    c->file_left = len;
    lws_callback_on_writable(wsi);
    return 0;
}

static int file_writeable(struct lws *wsi, conn *c)
{
    static unsigned char buf[LWS_PRE + FILE_CHUNK]; /* the control thread's only */
    size_t want = c->file_left < FILE_CHUNK ? (size_t)c->file_left : FILE_CHUNK;
    ssize_t n = want ? read(c->file_fd1 - 1, buf + LWS_PRE, want) : 0;
    if (want && n <= 0)
        return -1; /* the file shrank under us: end the connection */
    c->file_left -= (uint64_t)n;
    int fin = c->file_left == 0;
    if (lws_write(wsi, buf + LWS_PRE, (size_t)n, fin ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
        (int)n)
        return -1;
    if (!fin) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    close(c->file_fd1 - 1);
    c->file_fd1 = 0;
    if (lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

static int refuse(struct lws *wsi, conn *c, int status, const char *text)
{
    cc_http_response r = {.status = status};
    r.body = strdup(text);
    r.body_len = r.body ? strlen(r.body) : 0;
    int rc = send_response(wsi, c, &r);
    free(r.body);
    return rc;
}

static int dispatch_api(struct lws *wsi, conn *c)
{
    cc_http *h = http_of(wsi);
    cc_http_request rq = {
        .method = c->method,
        .path = c->path,
        .text = c->text ? c->text : "",
        .query = c->query,
        .authorization = c->auth,
        .content_type = c->ctype,
        .body = c->body ? c->body : "",
        .body_len = c->body_len,
        .body_too_big = c->too_big,
        .from_loopback = c->from_loopback,
        .cross_origin = c->cross_origin,
        .peer_ip = c->peer_ip,
        .cookie = c->cookie ? c->cookie : "",
        .range = c->range,
        .secure = c->secure,
    };
    cc_http_response r;
    memset(&r, 0, sizeof r);
    r.status = 500;
    if (h->cfg.hooks.api)
        h->cfg.hooks.api(h->cfg.hooks.ud, &rq, &r);
    int rc = r.file[0] && (r.status == 200 || r.status == 206) ? send_file(wsi, c, &r)
                                                                 : send_response(wsi, c, &r);
    free(r.body);
    /* The request body is done with; keep-alive connections may idle long. */
    free(c->body);
    free(c->cookie);
    c->body = NULL;
    c->cookie = NULL;
    c->body_len = 0;
    return rc;
}

static void copy_hdr(struct lws *wsi, char *dst, size_t cap, enum lws_token_indexes t)
{
    dst[0] = 0;
    if (lws_hdr_total_length(wsi, t) > 0 && lws_hdr_copy(wsi, dst, (int)cap, t) < 0)
        dst[0] = 0;
}

/* A header of any length lws accepted, malloc'd; NULL if absent. Cookie
 * headers grow with every site on the same host name (other ports share
 * cookies: RFC 6265 section 8.5), so no fixed buffer fits them all. */
static char *dup_hdr(struct lws *wsi, enum lws_token_indexes t)
{
    int n = lws_hdr_total_length(wsi, t);
    if (n <= 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s && lws_hdr_copy(wsi, s, n + 1, t) < 0) {
        free(s);
        s = NULL;
    }
    return s;
}

/* The query arguments as lws took them apart (URI_ARGS fragments, each
 * "name=value" percent-decoded), joined with '&'; "" if they do not fit. */
static void read_query(struct lws *wsi, conn *c)
{
    size_t n = 0;
    char frag[CC_HTTP_MAX_TEXT_ARG + 8];
    c->query[0] = 0;
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i) >= 0;
         i++) {
        size_t len = strlen(frag);
        if (n + len + 2 > sizeof c->query) {
            c->query[0] = 0;
            return;
        }
        if (n)
            c->query[n++] = '&';
        memcpy(c->query + n, frag, len + 1);
        n += len;
    }
}

/* Which method, and the path (without query). 0 if the request has none of
 * the methods classcast serves. */
/* A request body must be announced by Content-Length. This libwebsockets
 * serves HTTP/1.1 only here (ALPN http/1.1) and does not decode a chunked
 * request body (RFC 9112 section 7.1), so such a POST would wait for a
 * body that never completes: it is answered 411 Length Required (RFC 9110
 * section 15.5.12) at once instead. Browsers' fetch() always sends the
 * length of a string or JSON body. */
static int has_length(struct lws *wsi)
{
    return lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0;
}

static int read_request_line(struct lws *wsi, conn *c)
{
    static const struct {
        enum lws_token_indexes tok;
        const char *name;
    } methods[] = {
        {WSI_TOKEN_GET_URI, "GET"},
        {WSI_TOKEN_POST_URI, "POST"},
        {WSI_TOKEN_DELETE_URI, "DELETE"},
        {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (lws_hdr_total_length(wsi, methods[i].tok) > 0) {
            snprintf(c->method, sizeof c->method, "%s", methods[i].name);
            copy_hdr(wsi, c->path, sizeof c->path, methods[i].tok);
            char *q = strchr(c->path, '?');
            if (q)
                *q = 0;
            /* lws hands the query's arguments over percent-decoded. */
            c->text = lws_get_urlarg_by_name(wsi, "text=", c->text_arg, (int)sizeof c->text_arg);
            if (!c->text)
                c->text = "";
            read_query(wsi, c);
            return 1;
        }
    }
    return 0;
}

/* Where the request comes from (include/classcast/origin.h). Over HTTP/2
 * the Host header is the :authority pseudo-header (RFC 9113 section
 * 8.3.1). */
static cc_origin_verdict request_origin(struct lws *wsi, cc_http *h)
{
    char origin[300], host[300];
    copy_hdr(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
    copy_hdr(wsi, host, sizeof host, WSI_TOKEN_HOST);
    if (!host[0])
        copy_hdr(wsi, host, sizeof host, WSI_TOKEN_HTTP_COLON_AUTHORITY);
    cc_origin_verdict v = cc_origin_check(origin, host, lws_is_ssl(wsi),
                                          h->cfg.host_names, h->cfg.n_host_names);
    if (v == CC_ORIGIN_FOREIGN || v == CC_ORIGIN_BAD_HOST) {
        char ip[64] = "";
        lws_get_peer_simple(wsi, ip, sizeof ip);
        const char *shown = strncmp(ip, "::ffff:", 7) == 0 ? ip + 7 : ip; /* v4-mapped */
        CC_LOG_RL(CC_LOG_WARN, "http", "refused %s request from %s: Origin '%.80s', Host '%.80s'",
                  cc_origin_verdict_name(v), shown, origin, host);
    }
    return v;
}

/* ---- HTTPS: the CA page, redirects, files on the gate ---- */

static int plain_page(const char *path)
{
    for (size_t i = 0; i < sizeof plain_pages / sizeof plain_pages[0]; i++)
        if (strcmp(path, plain_pages[i]) == 0)
            return 1;
    return 0;
}

static int is_ca_route(const char *path)
{
    return strcmp(path, "/ca.crt") == 0 || strcmp(path, "/ca.json") == 0;
}

/* The school CA's certificate (never its key) and what the CA page shows
 * about it. application/x-x509-ca-cert is the type iPadOS Safari offers
 * to install as a profile and Android and Windows open as a certificate. */
static int serve_ca(struct lws *wsi, cc_http *h, conn *c)
{
    if (strcmp(c->method, "GET") != 0)
        return refuse(wsi, c, 405, "use GET");
    const cc_http_tls *t = &h->cfg.tls;
    cc_http_response r = {.status = 200};
    if (strcmp(c->path, "/ca.crt") == 0) {
        if (!h->vh_https || !t->ca_pem)
            return refuse(wsi, c, 404, "this server has no school CA");
        snprintf(r.content_type, sizeof r.content_type, "application/x-x509-ca-cert");
        r.body = (char *)t->ca_pem;
        r.body_len = t->ca_pem_len;
        return send_response(wsi, c, &r);
    }
    if (!h->vh_https)
        return refuse(wsi, c, 404, "this server does not use HTTPS");
    json_t *j = t->ca_pem ? json_pack("{s:i, s:s, s:s}", "https_port", h->https_port,
                                      "name", t->ca_name ? t->ca_name : "",
                                      "fingerprint", t->ca_fingerprint ? t->ca_fingerprint : "")
                          : json_pack("{s:i, s:b}", "https_port", h->https_port,
                                      "configured", 1);
    r.body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!r.body)
        return refuse(wsi, c, 500, "out of memory");
    r.body_len = strlen(r.body);
    snprintf(r.content_type, sizeof r.content_type, "application/json");
    int rc = send_response(wsi, c, &r);
    free(r.body);
    return rc;
}

/* The query string again, as lws took it apart (URI_ARGS fragments, each
 * "name=value" already percent-decoded), encoded anew. */
static void append_query(struct lws *wsi, GString *loc)
{
    int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
    if (total <= 0 || total > 900)
        return; /* none, or too long to carry over: the page alone */
    char frag[1024];
    for (int i = 0;
         lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i) >= 0; i++) {
        char *eq = strchr(frag, '=');
        if (eq)
            *eq = 0;
        char *k = g_uri_escape_string(frag, NULL, FALSE);
        char *v = eq ? g_uri_escape_string(eq + 1, NULL, FALSE) : NULL;
        g_string_append_printf(loc, "%c%s%s%s", i ? '&' : '?', k, v ? "=" : "", v ? v : "");
        g_free(k);
        g_free(v);
    }
}

/* The same page on HTTPS: same host, the HTTPS port, path and query
 * percent-encoded again (lws decoded them). 301 for GET (RFC 9110 section
 * 15.4.2; every browser, old iPads included, follows it), 308 for other
 * methods, which keeps method and body (section 15.4.9). Sent with
 * no-store, like every response here: a cached permanent redirect would
 * outlive a change of the HTTPS port. */
static int send_redirect(struct lws *wsi, cc_http *h, conn *c)
{
    char host[300], hostpart[300];
    copy_hdr(wsi, host, sizeof host, WSI_TOKEN_HOST);
    if (!host[0])
        copy_hdr(wsi, host, sizeof host, WSI_TOKEN_HTTP_COLON_AUTHORITY);
    if (cc_origin_host_of(host, hostpart, sizeof hostpart) != 0) {
        HTTP_INC(h, host_refused);
        return refuse(wsi, c, 421, "this server does not answer to that name");
    }
    cc_http_response r = {.status = strcmp(c->method, "GET") == 0 ? 301 : 308};
    GString *loc = g_string_new(NULL);
    g_string_printf(loc, "https://%s:%d", hostpart, h->https_port);
    char *path = g_uri_escape_string(c->path, G_URI_RESERVED_CHARS_ALLOWED_IN_PATH, FALSE);
    g_string_append(loc, path);
    g_free(path);
    append_query(wsi, loc);
    if (loc->len >= sizeof r.location)
        g_string_printf(loc, "https://%s:%d/", hostpart, h->https_port);
    snprintf(r.location, sizeof r.location, "%s", loc->str);
    g_string_prepend(loc, "This page is served over HTTPS: ");
    g_string_append_c(loc, '\n');
    r.body = loc->str;
    r.body_len = loc->len;
    HTTP_INC(h, https_redirects);
    int rc = send_response(wsi, c, &r);
    g_string_free(loc, TRUE);
    return rc;
}

/* A page or script from the web root, on the gate (the plain vhost while
 * HTTPS is on) for this computer and for the CA page. lws's URI parser
 * has already folded "." and ".." segments (and refuses bad escapes), so
 * the path cannot leave the web root; the check below is a second lock. */
static int serve_file(struct lws *wsi, cc_http *h, conn *c)
{
    if (strcmp(c->method, "GET") != 0)
        return refuse(wsi, c, 405, "method not allowed");
    size_t pl = strlen(c->path);
    if (pl == 0 || c->path[0] != '/' || strstr(c->path, "/.") || strstr(c->path, ".."))
        return refuse(wsi, c, 404, "not found");
    char file[1600];
    snprintf(file, sizeof file, "%s%s%s", h->web_root, c->path,
             c->path[pl - 1] == '/' ? "index.html" : "");
    struct stat st;
    if (stat(file, &st) != 0 || !S_ISREG(st.st_mode))
        return refuse(wsi, c, 404, "not found");
    const char *mime = lws_get_mimetype(file, NULL);
    int n = lws_serve_http_file(wsi, file, mime ? mime : "application/octet-stream", NULL, 0);
    if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
        return -1;
    return 0;
}

/* RFC 8446 section 6.2 (RFC 5246 section 7.2.2 for TLS 1.2): the alerts a
 * client sends when it does not accept the server's certificate. */
static int cert_alert(int desc)
{
    return desc == 42 /* bad_certificate */ || desc == 43 /* unsupported_certificate */ ||
           desc == 45 /* certificate_expired */ || desc == 46 /* certificate_unknown */ ||
           desc == 48 /* unknown_ca */;
}

/* ---- WebSocket sessions ---- */

static void ws_queue(conn *c, char *json)
{
    size_t len = strlen(json);
    out_msg *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m) {
        free(json);
        return;
    }
    m->next = NULL;
    m->len = len;
    memcpy(m->data + LWS_PRE, json, len);
    free(json);
    if (c->q_tail)
        c->q_tail->next = m;
    else
        c->q_head = m;
    c->q_tail = m;
    c->q_len++;
    if (c->q_len > CC_HTTP_MAX_QUEUE) {
        CC_WARN("http", "websocket %llu is not reading; closing it",
                (unsigned long long)c->sid);
        c->closing = 1;
    }
    lws_callback_on_writable(c->wsi);
}

static void ws_free_queue(conn *c)
{
    out_msg *m = c->q_head;
    while (m) {
        out_msg *n = m->next;
        free(m);
        m = n;
    }
    c->q_head = c->q_tail = NULL;
    c->q_len = 0;
    free(c->rx);
    c->rx = NULL;
    c->rx_len = 0;
}

void cc_http_ws_send(cc_http *h, uint64_t sid, char *json)
{
    if (!json)
        return;
    conn *c = g_hash_table_lookup(h->sessions, &sid);
    if (!c || c->closing) {
        free(json);
        return;
    }
    ws_queue(c, json);
}

void cc_http_ws_close(cc_http *h, uint64_t sid)
{
    conn *c = g_hash_table_lookup(h->sessions, &sid);
    if (!c)
        return;
    c->closing = 1;
    lws_callback_on_writable(c->wsi);
}

static int ws_receive(struct lws *wsi, conn *c, const void *in, size_t len)
{
    cc_http *h = http_of(wsi);
    if (!c->rx_too_big) {
        if (c->rx_len + len > CC_HTTP_MAX_BODY) {
            c->rx_too_big = 1;
            HTTP_INC(h, ws_too_big); /* refused with too_big */
            free(c->rx);
            c->rx = NULL;
            c->rx_len = 0;
        } else {
            char *nb = realloc(c->rx, c->rx_len + len + 1);
            if (!nb)
                return -1;
            c->rx = nb;
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
            c->rx[c->rx_len] = 0;
        }
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
        return 0;
    int bad = 0;
    if (lws_frame_is_binary(wsi) && !c->rx_too_big) {
        /* The protocol is JSON text; a binary frame is a bad frame. */
        bad = h->cfg.hooks.ws_message
                  ? h->cfg.hooks.ws_message(h->cfg.hooks.ud, c->sid, "", 0, 0)
                  : 1;
    } else if (h->cfg.hooks.ws_message) {
        bad = h->cfg.hooks.ws_message(h->cfg.hooks.ud, c->sid,
                                      c->rx ? c->rx : "", c->rx_len, c->rx_too_big);
    }
    free(c->rx);
    c->rx = NULL;
    c->rx_len = 0;
    c->rx_too_big = 0;
    if (bad && ++c->bad_frames > CC_WS_MAX_BAD_FRAMES) {
        CC_WARN("http", "websocket %llu sent too many bad frames; closing",
                (unsigned long long)c->sid);
        c->closing = 1;
        lws_callback_on_writable(wsi);
    }
    return 0;
}

static int ws_writeable(struct lws *wsi, conn *c)
{
    out_msg *m = c->q_head;
    if (m) {
        int n = lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT);
        if (n < (int)m->len)
            return -1;
        c->q_head = m->next;
        if (!c->q_head)
            c->q_tail = NULL;
        c->q_len--;
        free(m);
        if (c->q_head) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    if (c->closing) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
    }
    return 0;
}

static void tick_cb(lws_sorted_usec_list_t *sul)
{
    cc_http *h = lws_container_of(sul, cc_http, tick_sul);
    if (h->cfg.hooks.tick)
        h->cfg.hooks.tick(h->cfg.hooks.ud);
    lws_sul_schedule(h->ctx, 0, &h->tick_sul, tick_cb, LWS_US_PER_SEC);
}

/* ---- connection limits ---- */

static void ip_key(const struct sockaddr *sa, char *out, size_t cap)
{
    out[0] = 0;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6))
            inet_ntop(AF_INET, &a6->s6_addr[12], out, (socklen_t)cap);
        else
            inet_ntop(AF_INET6, a6, out, (socklen_t)cap);
    }
}

static int ip_count(cc_http *h, const char *key)
{
    return GPOINTER_TO_INT(g_hash_table_lookup(h->per_ip, key));
}

/* A new TCP connection, before anything is read from it: refuse it when
 * the server or this address already holds as many as allowed (idle
 * sockets must not lock everyone out). */
static int conn_filter(cc_http *h, const struct lws_filter_network_conn_args *a)
{
    char key[INET6_ADDRSTRLEN];
    ip_key((const struct sockaddr *)&a->cli_addr, key, sizeof key);
    if (h->conns >= h->cfg.max_conns) {
        HTTP_INC(h, conn_refused_total);
        CC_LOG_RL(CC_LOG_WARN, "http", "refused a connection from %s: %d open, the limit",
                  key, h->conns);
        return 1;
    }
    if (ip_count(h, key) >= h->cfg.max_conns_per_ip) {
        HTTP_INC(h, conn_refused_per_ip);
        CC_LOG_RL(CC_LOG_WARN, "http", "refused a connection from %s: %d open from it, the limit",
                  key, ip_count(h, key));
        return 1;
    }
    /* New connections per address and minute: each may cost a TLS
     * handshake (a signature and a key exchange) and a WebSocket upgrade.
     * A class of 40 tablets behind one address opening a page, its socket
     * and a few file requests at the bell stays below the burst. */
    char rkey[64];
    cc_ratelimit_key_of_ip(key, rkey, sizeof rkey);
    int wait = 0;
    cc_time_us now = cc_clock_mono_us();
    if (cc_ratelimit_check(h->conn_rate, rkey, now, &wait) != 0) {
        HTTP_INC(h, conn_refused_rate);
        CC_LOG_RL(CC_LOG_WARN, "http", "refused a connection from %s: more than %d new ones a "
                  "minute (again in %d s)", rkey, h->cfg.conn_rate_per_min, wait);
        return 1;
    }
    cc_ratelimit_fail(h->conn_rate, rkey, now); /* takes one */
    return 0;
}

static void conn_opened(cc_http *h, struct lws *wsi)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = (int)lws_get_socket_fd(wsi);
    char key[INET6_ADDRSTRLEN];
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    ip_key((const struct sockaddr *)&ss, key, sizeof key);
    gpointer k = NULL, v = NULL;
    if (g_hash_table_lookup_extended(h->per_ip, key, &k, &v)) {
        /* g_hash_table_insert keeps the stored key k and frees the copy. */
        g_hash_table_insert(h->per_ip, g_strdup(key), GINT_TO_POINTER(GPOINTER_TO_INT(v) + 1));
    } else {
        k = g_strdup(key);
        g_hash_table_insert(h->per_ip, k, GINT_TO_POINTER(1));
    }
    g_hash_table_insert(h->conn_ip, wsi, k);
    h->conns++;
}

static void conn_closed(cc_http *h, struct lws *wsi)
{
    char *k = g_hash_table_lookup(h->conn_ip, wsi);
    if (!k)
        return;
    g_hash_table_remove(h->conn_ip, wsi);
    h->conns--;
    int n = ip_count(h, k) - 1;
    if (n <= 0)
        g_hash_table_remove(h->per_ip, k); /* frees k */
    else
        g_hash_table_insert(h->per_ip, g_strdup(k), GINT_TO_POINTER(n));
}

static int http_cb(struct lws *wsi, enum lws_callback_reasons reason,
                   void *user, void *in, size_t len)
{
    conn *c = user;
    cc_http *h;
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        return conn_filter(http_of(wsi), user);
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        conn_opened(http_of(wsi), wsi);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (lws_context_user(lws_get_context(wsi)))
            conn_closed(http_of(wsi), wsi);
        break;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        /* WebSocket upgrades only on /ws, and only from this server's own
         * pages (or from a program that is no browser): a page of another
         * site must not drive a lesson, or capture, in the teacher's
         * browser. */
        char uri[64];
        h = http_of(wsi);
        copy_hdr(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
        if (strcmp(uri, "/ws") != 0)
            return -1;
        /* With HTTPS on, lessons travel over WSS only; plain ws:// is for
         * this computer's own pages (http://127.0.0.1). */
        if (on_gate(h, wsi) && !peer_is_loopback(wsi)) {
            HTTP_INC(h, plain_ws_refused);
            CC_LOG_RL(CC_LOG_WARN, "http",
                      "refused a plain ws:// upgrade from another computer (HTTPS is on)");
            return -1;
        }
        cc_origin_verdict v = request_origin(wsi, h);
        if (v == CC_ORIGIN_FOREIGN) {
            HTTP_INC(h, ws_origin_refused);
            return -1;
        }
        if (v == CC_ORIGIN_BAD_HOST) {
            HTTP_INC(h, host_refused);
            return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        h = http_of(wsi);
        memset(c, 0, sizeof *c);
        c->is_ws = 1;
        c->wsi = wsi;
        c->sid = ++h->next_sid;
        c->from_loopback = peer_is_loopback(wsi);
        g_hash_table_insert(h->sessions, &c->sid, c);
        peer_ip_of(wsi, c->peer_ip, sizeof c->peer_ip);
        if (h->cfg.hooks.ws_open) {
            /* The handshake's Cookie header says who is signed in; the
             * application keeps what it needs of it. */
            char *cookie = dup_hdr(wsi, WSI_TOKEN_HTTP_COOKIE);
            h->cfg.hooks.ws_open(h->cfg.hooks.ud, c->sid, c->from_loopback, c->peer_ip,
                                 cookie ? cookie : "");
            free(cookie);
        }
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return ws_receive(wsi, c, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ws_writeable(wsi, c);
    case LWS_CALLBACK_CLOSED:
        h = http_of(wsi);
        if (c && c->is_ws) {
            g_hash_table_remove(h->sessions, &c->sid);
            if (h->cfg.hooks.ws_close)
                h->cfg.hooks.ws_close(h->cfg.hooks.ud, c->sid);
            ws_free_queue(c);
            c->is_ws = 0;
        }
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        /* lws tells every vhost's protocols; wake the application once. */
        h = lws_context_user(lws_get_context(wsi));
        if (h && h->cfg.hooks.wake && lws_get_vhost(wsi) == h->vh_http)
            h->cfg.hooks.wake(h->cfg.hooks.ud);
        return 0;
    case LWS_CALLBACK_SSL_INFO: {
        /* A fatal alert the client sent (SSL_CB_READ; level 2 = fatal):
         * on a certificate alert, its device does not trust the school
         * CA (yet). Counted and logged, so whoever helps the teacher sees
         * why a tablet shows a warning. No per-connection data yet. */
        const struct lws_ssl_info *si = in;
        h = http_of(wsi);
        if (si && (si->where & SSL_CB_READ) && (si->ret >> 8) == 2 &&
            cert_alert(si->ret & 0xff)) {
            char ip[64] = "";
            peer_ip_of(wsi, ip, sizeof ip);
            HTTP_INC(h, tls_cert_refused);
            CC_LOG_RL(CC_LOG_WARN, "http",
                      "%s refused the server certificate (TLS alert %d, %s): that device "
                      "does not trust the school CA yet (see the CA page)",
                      ip, si->ret & 0xff, SSL_alert_desc_string_long(si->ret));
        }
        return 0;
    }
    case LWS_CALLBACK_HTTP: {
        h = http_of(wsi);
        conn_reset_http(c);
        c->is_ws = 0;
        if (!read_request_line(wsi, c))
            return refuse(wsi, c, 405, "method not allowed");
        c->from_loopback = peer_is_loopback(wsi);
        peer_ip_of(wsi, c->peer_ip, sizeof c->peer_ip);
        if (is_ca_route(c->path))
            return serve_ca(wsi, h, c);
        if (on_gate(h, wsi) && !c->from_loopback && !plain_page(c->path)) {
            /* Another computer over plain HTTP while HTTPS is on: to HTTPS,
             * on the host it asked for (if that is one of ours). */
            if (request_origin(wsi, h) == CC_ORIGIN_BAD_HOST) {
                HTTP_INC(h, host_refused);
                return refuse(wsi, c, 421, "this server does not answer to that name");
            }
            if (strcmp(c->method, "POST") == 0) {
                if (!has_length(wsi)) {
                    c->close_after = 1;
                    return refuse(wsi, c, 411, "a POST needs a Content-Length");
                }
                c->redirect = 1; /* after the body, which is dropped */
                return 0;
            }
            return send_redirect(wsi, h, c);
        }
        if (!h->cfg.hooks.is_api || !h->cfg.hooks.is_api(h->cfg.hooks.ud, c->method, c->path))
            return on_gate(h, wsi) ? serve_file(wsi, h, c) : refuse(wsi, c, 404, "not found");
        copy_hdr(wsi, c->auth, sizeof c->auth, WSI_TOKEN_HTTP_AUTHORIZATION);
        copy_hdr(wsi, c->ctype, sizeof c->ctype, WSI_TOKEN_HTTP_CONTENT_TYPE);
        copy_hdr(wsi, c->range, sizeof c->range, WSI_TOKEN_HTTP_RANGE);
        c->cookie = dup_hdr(wsi, WSI_TOKEN_HTTP_COOKIE);
        c->secure = lws_is_ssl(wsi);
        cc_origin_verdict v = request_origin(wsi, h);
        if (v == CC_ORIGIN_BAD_HOST) {
            HTTP_INC(h, host_refused);
            return refuse(wsi, c, 421, "this server does not answer to that name");
        }
        c->cross_origin = v == CC_ORIGIN_FOREIGN;
        if (c->cross_origin)
            HTTP_INC(h, cross_origin_requests);
        if (strcmp(c->method, "POST") == 0) {
            if (!has_length(wsi)) {
                HTTP_INC(h, length_required);
                c->close_after = 1; /* the rest of the body cannot be framed */
                return refuse(wsi, c, 411, "a POST needs a Content-Length");
            }
            return 0; /* wait for the body */
        }
        return dispatch_api(wsi, c);
    }
    case LWS_CALLBACK_HTTP_BODY:
        /* lws may call with no bytes (in NULL), e.g. for Content-Length: 0:
         * nothing to add, and memcpy must not see a NULL source. */
        if (c->redirect || len == 0)
            return 0;
        if (c->too_big || c->body_len + len > CC_HTTP_MAX_BODY) {
            if (!c->too_big)
                HTTP_INC(http_of(wsi), body_too_big); /* answered 413 */
            c->too_big = 1;
            return 0;
        } else {
            char *nb = realloc(c->body, c->body_len + len + 1);
            if (!nb)
                return -1;
            c->body = nb;
            memcpy(c->body + c->body_len, in, len);
            c->body_len += len;
            c->body[c->body_len] = 0;
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (c->redirect)
            return send_redirect(wsi, http_of(wsi), c);
        return dispatch_api(wsi, c);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (c->file_fd1)
            return file_writeable(wsi, c);
        if (!c->resp)
            break;
        if (lws_write(wsi, c->resp + LWS_PRE, c->resp_len, LWS_WRITE_HTTP_FINAL) !=
            (int)c->resp_len)
            return -1;
        free(c->resp);
        c->resp = NULL;
        if (c->close_after || lws_http_transaction_completed(wsi))
            return -1;
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        if (c && !c->is_ws)
            conn_reset_http(c);
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* API prefixes are callback mounts into http_cb, and so are /ca.crt and
 * /ca.json; "/" is the static web root, or (gate) the callback too. */
static void fill_mounts(cc_http *h, struct lws_http_mount *m, int root_is_callback)
{
    static const char *api[] = {"/echo", "/stats", "/healthz", "/whip", "/whep",
                                "/ca.crt", "/ca.json", "/api"};
    int n = (int)(sizeof api / sizeof api[0]);
    for (int i = 0; i < n; i++) {
        m[i] = (struct lws_http_mount){
            .mountpoint = api[i],
            .mountpoint_len = (unsigned char)strlen(api[i]),
            .origin = "classcast",
            .origin_protocol = LWSMPRO_CALLBACK,
            .mount_next = &m[i + 1],
        };
    }
    if (root_is_callback)
        m[n] = (struct lws_http_mount){
            .mountpoint = "/",
            .mountpoint_len = 1,
            .origin = "classcast",
            .origin_protocol = LWSMPRO_CALLBACK,
        };
    else
        m[n] = (struct lws_http_mount){
            .mountpoint = "/",
            .mountpoint_len = 1,
            .origin = h->web_root,
            .def = "index.html",
            .origin_protocol = LWSMPRO_FILE,
        };
}

/* The headers LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE
 * sends, on every answer, with one change: media-src 'self', so the
 * teacher page plays its recordings from /api/recordings (docs/
 * recording.md); a page of another site still cannot (frame-ancestors,
 * and the API refuses it). */
static const struct lws_protocol_vhost_options sec_headers[] = {
    {&sec_headers[1], NULL, "content-security-policy:",
     "default-src 'none'; img-src 'self' data: ; script-src 'self'; font-src 'self'; "
     "style-src 'self'; connect-src 'self' ws: wss:; media-src 'self'; "
     "frame-ancestors 'none'; base-uri 'none';form-action 'self';"},
    {&sec_headers[2], NULL, "x-content-type-options:", "nosniff"},
    {&sec_headers[3], NULL, "x-xss-protection:", "1; mode=block"},
    {&sec_headers[4], NULL, "x-frame-options:", "deny"},
    {NULL, NULL, "referrer-policy:", "no-referrer"},
};

/* One listening vhost; tls non-NULL: HTTPS with that certificate. */
static struct lws_vhost *make_vhost(cc_http *h, const char *name, int port,
                                    const struct lws_http_mount *mounts, const cc_http_tls *tls)
{
    struct lws_context_creation_info vi;
    memset(&vi, 0, sizeof vi);
    vi.vhost_name = name;
    vi.port = port;
    vi.iface = h->cfg.bind;
    vi.protocols = h->protocols;
    vi.mounts = mounts;
    /* No LWS_SERVER_OPTION_STS: HSTS (RFC 6797) holds for a host name on
     * every port, so a browser that saw it on :8443 would turn
     * http://<name>:8080/ca.html into https:// on the plain port. */
    vi.headers = sec_headers;
    vi.retry_and_idle_policy = &h->idle_policy;
    /* A connection that has not finished sending its headers within 10 s
     * (slowloris) is closed, so is an idle HTTP keep-alive after 5 s. */
    vi.timeout_secs_ah_idle = 10;
    vi.keepalive_timeout = 5;
    if (tls) {
        vi.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        vi.ssl_cert_filepath = tls->cert_file;
        vi.ssl_private_key_filepath = tls->key_file;
        /* TLS 1.2 and 1.3 only (RFC 8996 retires 1.0 and 1.1). */
        vi.ssl_options_set = SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
        /* HTTP/1.1 only: a WebSocket then stays an RFC 6455 upgrade on a
         * TCP connection of its own, as over plain HTTP, so the
         * per-address connection limits and idle timeouts mean the same
         * on both ports (HTTP/2 would carry WebSockets as RFC 8441
         * streams inside one connection). */
        vi.alpn = "http/1.1";
        vi.ssl_info_event_mask = SSL_CB_ALERT;
    }
    return lws_create_vhost(h->ctx, &vi);
}

static void lws_log_emit(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    CC_LOG(level == LLL_ERR ? CC_LOG_ERROR : CC_LOG_WARN, "lws", "%.*s", (int)n, line);
}

int cc_http_new(cc_http **out, const cc_http_config *cfg)
{
    *out = NULL;
    cc_http *h = calloc(1, sizeof *h);
    if (!h)
        return CC_ENOMEM;
    h->cfg = *cfg;
    snprintf(h->web_root, sizeof h->web_root, "%s", cfg->web_root ? cfg->web_root : "web");
    h->sessions = g_hash_table_new(g_int64_hash, g_int64_equal);
    h->per_ip = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    h->conn_ip = g_hash_table_new(g_direct_hash, g_direct_equal);
    if (h->cfg.conn_rate_per_min <= 0)
        h->cfg.conn_rate_per_min = CC_HTTP_CONN_RATE_PER_MIN;
    h->conn_rate = cc_ratelimit_new(CC_HTTP_CONN_RATE_KEYS, h->cfg.conn_rate_per_min,
                                    h->cfg.conn_rate_per_min);
    if (h->cfg.max_conns <= 0)
        h->cfg.max_conns = CC_HTTP_DEFAULT_MAX_CONNS;
    if (h->cfg.max_conns_per_ip <= 0)
        h->cfg.max_conns_per_ip = CC_HTTP_DEFAULT_MAX_CONNS_PER_IP;
    /* A WebSocket quiet for 20 s gets a ping; one that has sent nothing
     * valid, not even a pong, for 45 s is closed (RFC 6455 section 5.5.2:
     * browsers answer pings by themselves, so a live page never hits it). */
    h->idle_policy = (lws_retry_bo_t){
        .secs_since_valid_ping = 20,
        .secs_since_valid_hangup = 45,
    };
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);

    h->protocols[0] = (struct lws_protocols){
        .name = "classcast",
        .callback = http_cb,
        .per_session_data_size = sizeof(conn),
        .rx_buffer_size = 16384,
    };
    int tls = cfg->tls.cert_file != NULL;
    /* The plain vhost's "/" is the web root, or with HTTPS on the gate's
     * callback (see the top of this file). */
    fill_mounts(h, h->mounts, tls);
    fill_mounts(h, h->mounts_tls, 0);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = h->protocols;
    info.user = h;
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   (tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
    info.retry_and_idle_policy = &h->idle_policy;
    info.timeout_secs = 20;
    /* Sockets for the connections allowed, plus lws's own and some spare. */
    info.fd_limit_per_thread = (unsigned)h->cfg.max_conns + 64;
    h->ctx = lws_create_context(&info);
    if (h->ctx) {
        h->vh_http = make_vhost(h, "http", cfg->port, h->mounts, NULL);
        if (h->vh_http && tls)
            h->vh_https = make_vhost(h, "https", cfg->tls.port, h->mounts_tls, &cfg->tls);
    }
    if (!h->ctx || !h->vh_http || (tls && !h->vh_https)) {
        if (!h->vh_http)
            CC_ERROR("http", "could not listen on %s:%d", cfg->bind, cfg->port);
        else
            CC_ERROR("http", "could not serve HTTPS on %s:%d with %s and %s", cfg->bind,
                     cfg->tls.port, cfg->tls.cert_file,
                     cfg->tls.key_file ? cfg->tls.key_file : "no key");
        if (h->ctx)
            lws_context_destroy(h->ctx);
        g_hash_table_destroy(h->sessions);
        g_hash_table_destroy(h->conn_ip);
        g_hash_table_destroy(h->per_ip);
    cc_ratelimit_free(h->conn_rate);
        free(h);
        return CC_EIO;
    }
    h->port = lws_get_vhost_listen_port(h->vh_http);
    h->https_port = h->vh_https ? lws_get_vhost_listen_port(h->vh_https) : 0;
    lws_sul_schedule(h->ctx, 0, &h->tick_sul, tick_cb, LWS_US_PER_SEC);
    *out = h;
    return 0;
}

int cc_http_port(const cc_http *h) { return h->port; }

int cc_http_https_port(const cc_http *h) { return h->https_port; }

int cc_http_run(cc_http *h, volatile int *stop)
{
    while (!*stop)
        if (lws_service(h->ctx, 0) < 0)
            return CC_EIO;
    return 0;
}

void cc_http_wake(cc_http *h) { lws_cancel_service(h->ctx); }

void cc_http_get_counters(const cc_http *h, cc_http_counters *out)
{
    *out = h->counters;
    out->conns_open = (uint64_t)h->conns;
}

void cc_http_free(cc_http *h)
{
    if (!h)
        return;
    lws_context_destroy(h->ctx);
    g_hash_table_destroy(h->sessions);
    g_hash_table_destroy(h->conn_ip);
    g_hash_table_destroy(h->per_ip);
    cc_ratelimit_free(h->conn_rate);
    free(h);
}
