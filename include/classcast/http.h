/* classcast: the HTTP and WebSocket front door on libwebsockets: static files
 * from the web root, the WebSocket /ws, and every other request (API routes)
 * handed to the application through cc_http_hooks. This module is transport
 * only; what requests mean lives in src/signal/control*.c.
 * Thread: the control thread (libwebsockets service loop); cc_http_wake from
 * any thread. */
#ifndef CLASSCAST_HTTP_H
#define CLASSCAST_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* Largest request body and WebSocket message accepted. */
#define CC_HTTP_MAX_BODY (64 * 1024)
/* Connections in all and from one address (a classroom behind one NAT:
 * 40 tablets with a socket and a few HTTP connections each). */
#define CC_HTTP_DEFAULT_MAX_CONNS 4000
#define CC_HTTP_DEFAULT_MAX_CONNS_PER_IP 300
/* New connections per address: 600 at once, then 600 a minute (IPv6: per
 * /64); addresses remembered at once. */
#define CC_HTTP_CONN_RATE_PER_MIN 600
#define CC_HTTP_CONN_RATE_KEYS 20000
/* Messages queued to one WebSocket before it counts as stuck and is closed. */
#define CC_HTTP_MAX_QUEUE 512

typedef struct cc_http cc_http;

/* Longest `text` query argument passed to the API (a longer one is cut by
 * lws and refused by the handler as too long). */
#define CC_HTTP_MAX_TEXT_ARG 600

typedef struct cc_http_request {
    const char *method;        /* "GET", "POST", "DELETE", "OPTIONS" */
    const char *path;          /* without the query string */
    const char *text;          /* the query argument `text` (percent-
                                * decoded; GET /qr.svg), "" if none */
    const char *query;         /* every query argument, "a=1&b=2", each
                                * percent-decoded (so a value may hold
                                * '&'); "" if none or too long */
    const char *authorization; /* "" if absent */
    const char *content_type;  /* "" if absent */
    const char *body;          /* NUL-terminated, may be "" */
    size_t body_len;
    int body_too_big;          /* body exceeded CC_HTTP_MAX_BODY (dropped) */
    int from_loopback;         /* peer address is 127.0.0.0/8 or ::1 */
    int cross_origin;          /* a browser page of another site sent it
                                * (Origin not this server's; origin.h) */
    const char *peer_ip;       /* "192.0.2.7", "2001:db8::1" ("" unknown) */
    const char *cookie;        /* the Cookie header, "" if absent (RFC 6265
                                * section 5.4) */
    const char *range;         /* the Range header, "" if absent (RFC 9110
                                * section 14.2), for API file answers */
    int secure;                /* it came over TLS (lws_is_ssl) */
} cc_http_request;

typedef struct cc_http_response {
    int status;
    char content_type[64];
    char location[1024];       /* "" for none */
    char *body;                /* malloc'd; freed by the server */
    size_t body_len;
    int cors;                  /* add CORS headers (WHIP/WHEP) */
    int retry_after;           /* > 0: a Retry-After header, in seconds
                                * (RFC 9110 section 10.2.3, with 429:
                                * RFC 6585 section 4) */
    char set_cookie[256];      /* "" for none, else a Set-Cookie header
                                * value (RFC 6265 section 4.1) */
    char disposition[128];     /* "" for none, else a Content-Disposition
                                * header value (RFC 6266) */
    char file[1100];           /* "" for none, else a file to send as the
                                * body (status 200 or 206, content_type;
                                * body ignored): large downloads such as
                                * recordings, sent as the socket takes it */
    uint64_t file_offset;      /* the part of it to send (206: a range) */
    uint64_t file_length;      /* 0: to its end */
    char content_range[64];    /* "" for none, else a Content-Range value
                                * (RFC 9110 section 14.4): 206 and 416 */
} cc_http_response;

struct json_t;
/* The answer is this JSON value (taken: it is freed here), with
 * Content-Type application/json; a value that cannot be written becomes a
 * plain 500. */
void cc_http_reply_json(cc_http_response *r, int status, struct json_t *j);
/* {"error": code, "message": message}: how every /api endpoint refuses. */
void cc_http_reply_error(cc_http_response *r, int status, const char *code,
                         const char *message);

typedef struct cc_http_hooks {
    void *ud;
    /* 1 if the path is an API route (handled by api()), 0 for static files. */
    int (*is_api)(void *ud, const char *method, const char *path);
    void (*api)(void *ud, const cc_http_request *rq, cc_http_response *resp);
    /* peer_ip: the address as text, IPv4-mapped IPv6 unwrapped; cookie:
     * the handshake's Cookie header ("" if none), which says who signed
     * in (docs/accounts.md). */
    void (*ws_open)(void *ud, uint64_t sid, int from_loopback, const char *peer_ip,
                    const char *cookie);
    /* One whole text message (too_big: it was over the limit and dropped).
     * Returns 1 if it was a bad frame (counted; too many closes the socket). */
    int (*ws_message)(void *ud, uint64_t sid, const char *text, size_t len,
                      int too_big);
    void (*ws_close)(void *ud, uint64_t sid);
    void (*wake)(void *ud);   /* after cc_http_wake: drain cross-thread events */
    void (*tick)(void *ud);   /* about once a second */
} cc_http_hooks;

/* Refusals at the front door; names match GET /stats ("http").
 * With HTTPS on (docs/https.md): https_redirects counts plain-HTTP requests
 * from other computers sent to HTTPS; plain_ws_refused their WebSocket
 * upgrades over plain HTTP, refused; tls_cert_refused the TLS handshakes a
 * client ended with a certificate alert (its device does not trust the
 * school CA yet: RFC 8446 section 6.2, unknown_ca and the like);
 * length_required the POSTs to the API refused 411 for carrying no
 * Content-Length (a chunked body). */
#define CC_HTTP_COUNTERS(X)                                                    \
    X(ws_origin_refused) X(host_refused) X(cross_origin_requests)              \
    X(conn_refused_total) X(conn_refused_per_ip) X(conn_refused_rate) X(conns_open)                 \
    X(https_redirects) X(plain_ws_refused) X(tls_cert_refused)                 \
    X(body_too_big) X(ws_too_big) X(length_required)

typedef struct cc_http_counters {
#define CC_X(name) uint64_t name;
    CC_HTTP_COUNTERS(CC_X)
#undef CC_X
} cc_http_counters;

/* HTTPS and WSS (docs/https.md). When cert_file is set the server listens
 * twice: HTTPS on `port` here, with every page, API and WebSocket, and
 * plain HTTP on cc_http_config.port, which serves other computers only the
 * CA page (/ca.html and what it loads, /ca.crt, /ca.json) and redirects
 * everything else to HTTPS; requests from this computer itself (loopback)
 * get everything over plain HTTP as before (http://127.0.0.1 is a secure
 * context to browsers). */
typedef struct cc_http_tls {
    const char *cert_file;   /* certificate (chain), PEM; NULL: no HTTPS */
    const char *key_file;    /* its private key, PEM */
    int port;                /* HTTPS port; 0: any */
    /* The school CA (certs.h), served at /ca.crt (never its key), its
     * SHA-256 fingerprint and name at /ca.json; NULL when the certificate
     * was configured and there is no school CA. */
    const char *ca_pem;
    size_t ca_pem_len;
    const char *ca_fingerprint;
    const char *ca_name;
} cc_http_tls;

typedef struct cc_http_config {
    const char *bind;        /* "127.0.0.1", "0.0.0.0" ... */
    /* Host names this server answers to besides IP literals and
     * "localhost" (e.g. the machine's name); others are refused
     * (DNS rebinding, origin.h). */
    const char *const *host_names;
    size_t n_host_names;
    int port;                /* 0: any */
    const char *web_root;    /* directory served at / */
    /* Open TCP connections allowed in all and from one address; 0: the
     * defaults below. A new one past either is closed at once and
     * counted (conn_refused_total / conn_refused_per_ip). */
    int max_conns, max_conns_per_ip;
    /* New connections one address may open a minute (the burst is the
     * same); 0: CC_HTTP_CONN_RATE_PER_MIN. Counted: conn_refused_rate. */
    int conn_rate_per_min;
    cc_http_tls tls;
    cc_http_hooks hooks;
} cc_http_config;

int cc_http_new(cc_http **out, const cc_http_config *cfg);
/* The plain-HTTP port, and the HTTPS port (0 without HTTPS). */
int cc_http_port(const cc_http *h);
int cc_http_https_port(const cc_http *h);
/* Serve until *stop becomes non-zero. */
int cc_http_run(cc_http *h, volatile int *stop);
/* Wake the service loop; calls hooks.wake on the control thread. Any thread. */
void cc_http_wake(cc_http *h);
/* Queue a text message to a WebSocket (takes ownership of json, a malloc'd
 * NUL-terminated string); unknown sid: freed and ignored. */
void cc_http_ws_send(cc_http *h, uint64_t sid, char *json);
/* Close a WebSocket after its queued messages are sent. */
void cc_http_ws_close(cc_http *h, uint64_t sid);
/* Control thread only (the counters are plain integers). */
void cc_http_get_counters(const cc_http *h, cc_http_counters *out);
void cc_http_free(cc_http *h);

#endif
