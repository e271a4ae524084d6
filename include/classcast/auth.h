/* classcast: the wire formats of signing in (docs/accounts.md): the
 * session cookie in a Cookie header (RFC 6265 section 4.2) and in a
 * Set-Cookie header (section 4.1), and the small request bodies of the
 * account API (/api/signin, /api/password, /api/teachers...), sent as
 * JSON or as an HTML form (application/x-www-form-urlencoded).
 * Pure: no I/O, no state; fuzzed (tests/fuzz/fuzz_auth.c).
 * Thread: any. */
#ifndef CLASSCAST_AUTH_H
#define CLASSCAST_AUTH_H

#include <stddef.h>
#include <stdint.h>

/* The session cookie's name. */
#define CC_AUTH_COOKIE "cc_session"

/* The value of the first cookie called `name` in a Cookie header
 * ("a=1; cc_session=xyz; b=2"), copied into out. Spaces around pairs are
 * skipped, a value in double quotes is unquoted (RFC 6265 section 4.1.1
 * allows them); nothing is decoded. 0, CC_ENOTFOUND, or CC_ENOSPC when the
 * value does not fit (out is then ""). header NULL: CC_ENOTFOUND. */
int cc_auth_cookie_value(const char *header, const char *name, char *out, size_t cap);

/* A Set-Cookie header value for the session cookie (RFC 6265 section
 * 4.1): token NULL or "" deletes it (empty value, Max-Age=0). Always
 * HttpOnly (no script may read it), SameSite=Strict (no other site's page
 * makes the browser send it: RFC 6265bis section 5.4.7) and Path=/;
 * Secure when the request came over TLS. 0 or CC_ENOSPC. */
int cc_auth_set_cookie(char *out, size_t cap, const char *token, int64_t max_age_s,
                       int secure);

/* One field a request body may carry. */
typedef struct cc_auth_field {
    const char *key;   /* in: the member / form name */
    char *out;         /* in: where its value goes (NUL-terminated) */
    size_t cap;        /* in: size of out */
    int found;         /* out: 1 if the body had it */
} cc_auth_field;

/* Parse a request body into the fields asked for; other members are
 * ignored. content_type: "application/json" (a JSON object; string values
 * as they are, true / false as "true" / "false", integers in decimal,
 * anything else refused) or "application/x-www-form-urlencoded" (the
 * WHATWG URL standard's form encoding: '&'-separated name=value, '+' is a
 * space, %XX escapes), parameters such as "; charset=utf-8" allowed.
 * Values must be valid UTF-8 without NUL. A key given twice is refused.
 * 0; CC_EUNSUPPORTED (another content type); CC_EINVAL (malformed, a
 * duplicate, bad UTF-8 or NUL, a JSON value of another type); CC_ENOSPC (a
 * value longer than its field). On failure every out is "" and found 0. */
int cc_auth_parse_fields(const char *content_type, const char *body, size_t len,
                         cc_auth_field *fields, int n);

/* "true", "1", "on" and "yes" are true (JSON booleans and HTML checkboxes
 * alike); everything else is false. */
int cc_auth_truthy(const char *value);

#endif
