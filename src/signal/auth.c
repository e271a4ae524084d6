/* Sign-in wire formats: cookies (RFC 6265) and the account API's bodies;
 * see include/classcast/auth.h. JSON goes through jansson; only the form
 * encoding and the Cookie header are taken apart here, on bounded input,
 * without allocation. */
#include "classcast/auth.h"

#include <glib.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "classcast/err.h"

/* RFC 6265 section 5.4 sends "name=value" pairs separated by "; "; some
 * clients send ";" alone or extra spaces, which section 5.2's lenient
 * parsing takes as well. */
int cc_auth_cookie_value(const char *header, const char *name, char *out, size_t cap)
{
    if (cap)
        out[0] = 0;
    if (!header || !name || !name[0] || cap == 0)
        return CC_ENOTFOUND;
    size_t nl = strlen(name);
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *pair = p;
        size_t plen = strcspn(p, ";");
        p += plen;
        const char *eq = memchr(pair, '=', plen);
        if (!eq)
            continue;
        /* name, without trailing blanks */
        size_t klen = (size_t)(eq - pair);
        while (klen && (pair[klen - 1] == ' ' || pair[klen - 1] == '\t'))
            klen--;
        if (klen != nl || memcmp(pair, name, nl) != 0)
            continue;
        const char *v = eq + 1;
        size_t vlen = plen - (size_t)(v - pair);
        while (vlen && (*v == ' ' || *v == '\t')) {
            v++;
            vlen--;
        }
        while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            vlen--;
        if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
            v++;
            vlen -= 2;
        }
        if (vlen >= cap)
            return CC_ENOSPC;
        memcpy(out, v, vlen);
        out[vlen] = 0;
        return 0;
    }
    return CC_ENOTFOUND;
}

int cc_auth_set_cookie(char *out, size_t cap, const char *token, int64_t max_age_s,
                       int secure)
{
    int del = !token || !token[0];
    if (del || max_age_s < 0)
        max_age_s = 0;
    /* Max-Age (RFC 6265 section 5.2.2) rather than Expires: a classroom
     * tablet's clock may be wrong, a duration is not. */
    int n = snprintf(out, cap, "%s=%s; Max-Age=%lld; Path=/; HttpOnly; SameSite=Strict%s",
                     CC_AUTH_COOKIE, del ? "" : token, (long long)max_age_s,
                     secure ? "; Secure" : "");
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            out[0] = 0;
        return CC_ENOSPC;
    }
    return 0;
}

int cc_auth_truthy(const char *v)
{
    return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "on") == 0 ||
                 strcmp(v, "yes") == 0);
}

/* The media type without parameters, compared case-insensitively (RFC
 * 9110 section 8.3.1). */
static int media_type_is(const char *ct, const char *want)
{
    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return n == strlen(want) && strncasecmp(ct, want, n) == 0;
}

static void clear_fields(cc_auth_field *f, int n)
{
    for (int i = 0; i < n; i++) {
        if (f[i].out && f[i].cap)
            f[i].out[0] = 0;
        f[i].found = 0;
    }
}

static cc_auth_field *field_for(cc_auth_field *f, int n, const char *key, size_t klen)
{
    for (int i = 0; i < n; i++)
        if (f[i].key && strlen(f[i].key) == klen && memcmp(f[i].key, key, klen) == 0)
            return &f[i];
    return NULL;
}

static int put(cc_auth_field *f, const char *v, size_t vlen)
{
    if (f->found)
        return CC_EINVAL; /* a key given twice */
    if (memchr(v, 0, vlen) || !g_utf8_validate(v, (gssize)vlen, NULL))
        return CC_EINVAL;
    if (!f->out || vlen >= f->cap)
        return CC_ENOSPC;
    memcpy(f->out, v, vlen);
    f->out[vlen] = 0;
    f->found = 1;
    return 0;
}

static int parse_json(const char *body, size_t len, cc_auth_field *f, int n)
{
    json_error_t je;
    /* Duplicate members refused, as on the WebSocket (docs/protocol.md);
     * "\u0000" is refused by jansson unless JSON_ALLOW_NUL. */
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return CC_EINVAL;
    }
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (!f[i].key)
            continue;
        json_t *v = json_object_get(root, f[i].key);
        if (!v || json_is_null(v))
            continue;
        char num[32];
        if (json_is_string(v)) {
            rc = put(&f[i], json_string_value(v), json_string_length(v));
        } else if (json_is_boolean(v)) {
            const char *b = json_is_true(v) ? "true" : "false";
            rc = put(&f[i], b, strlen(b));
        } else if (json_is_integer(v)) {
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            rc = put(&f[i], num, strlen(num));
        } else {
            rc = CC_EINVAL;
        }
    }
    json_decref(root);
    return rc;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..len) into out (cap bytes, NUL added): '+' is a
 * space (the form encoding, not RFC 3986). CC_EINVAL on a bad escape,
 * CC_ENOSPC if it does not fit. */
static int form_decode(const char *s, size_t len, char *out, size_t cap, size_t *olen)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= len)
                return CC_EINVAL;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return CC_EINVAL;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (o + 1 >= cap)
            return CC_ENOSPC;
        out[o++] = c;
    }
    out[o] = 0;
    *olen = o;
    return 0;
}

/* Largest decoded key or value of a form body we look at. */
#define FORM_VALUE_MAX 2048

static int parse_form_in(const char *body, size_t len, cc_auth_field *f, int n, char *val,
                         size_t valcap)
{
    char key[128];
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        if (end > i) {
            const char *eq = memchr(body + i, '=', end - i);
            size_t kraw = eq ? (size_t)(eq - (body + i)) : end - i;
            size_t klen = 0, vlen = 0;
            int rc = form_decode(body + i, kraw, key, sizeof key, &klen);
            if (rc == CC_ENOSPC) {
                i = end + 1; /* a key longer than any we know: not ours */
                continue;
            }
            if (rc != 0)
                return rc;
            cc_auth_field *fld = memchr(key, 0, klen) ? NULL : field_for(f, n, key, klen);
            if (fld) {
                const char *v = eq ? eq + 1 : body + end;
                rc = form_decode(v, (size_t)(body + end - v), val, valcap, &vlen);
                if (rc != 0)
                    return rc;
                rc = put(fld, val, vlen);
                if (rc != 0)
                    return rc;
            }
        }
        i = end + 1;
    }
    return 0;
}

static int parse_form(const char *body, size_t len, cc_auth_field *f, int n)
{
    /* The decoded value may be a password: wiped before returning. */
    char val[FORM_VALUE_MAX + 1];
    int rc = parse_form_in(body, len, f, n, val, sizeof val);
    OPENSSL_cleanse(val, sizeof val);
    return rc;
}

int cc_auth_parse_fields(const char *content_type, const char *body, size_t len,
                         cc_auth_field *fields, int n)
{
    clear_fields(fields, n);
    if (!body)
        body = "";
    int rc;
    if (media_type_is(content_type, "application/json"))
        rc = parse_json(body, len, fields, n);
    else if (media_type_is(content_type, "application/x-www-form-urlencoded"))
        rc = parse_form(body, len, fields, n);
    else
        return CC_EUNSUPPORTED;
    if (rc != 0)
        clear_fields(fields, n);
    return rc;
}
