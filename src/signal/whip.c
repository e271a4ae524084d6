/* classcast: WHIP/WHEP paths and bearer tokens (see include/classcast/whip.h). */
#include "classcast/whip.h"

#include <string.h>
#include <strings.h>

#include "classcast/err.h"

static int alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* n bytes of letters and digits from s into out (cap bytes); 0 or -1. */
static int copy_alnum(const char *s, size_t n, char *out, size_t cap)
{
    if (n == 0 || n >= cap)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!alnum(s[i]))
            return -1;
    memcpy(out, s, n);
    out[n] = 0;
    return 0;
}

int cc_whip_parse_path(const char *path, cc_whip_target *out)
{
    memset(out, 0, sizeof *out);
    if (!path)
        return CC_ENOTFOUND;
    if (!strncmp(path, "/whip/", 6))
        out->publisher = 1;
    else if (strncmp(path, "/whep/", 6) != 0)
        return CC_ENOTFOUND;
    const char *code = path + 6;
    const char *slash = strchr(code, '/');
    size_t clen = slash ? (size_t)(slash - code) : strlen(code);
    if (copy_alnum(code, clen, out->code, sizeof out->code) != 0 ||
        (slash && copy_alnum(slash + 1, strlen(slash + 1), out->resource,
                             sizeof out->resource) != 0)) {
        memset(out, 0, sizeof *out); /* nothing half-parsed */
        return CC_ENOTFOUND;
    }
    return 0;
}

static int b64token_char(char c)
{
    return alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

const char *cc_whip_bearer(const char *auth)
{
    if (!auth || strncasecmp(auth, "Bearer", 6) != 0 || auth[6] != ' ')
        return NULL;
    const char *t = auth + 6;
    while (*t == ' ')
        t++;
    const char *p = t;
    while (b64token_char(*p))
        p++;
    if (p == t)
        return NULL;
    while (*p == '=')
        p++;
    return *p ? NULL : t;
}
