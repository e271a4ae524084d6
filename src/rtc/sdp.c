/* classcast: SDP offer parsing (RFC 8866 syntax) on top of GStreamer's
 * GstSDPMessage, and lookups in a parsed offer (the answer: sdp_answer.c).
 *
 * GstSDPMessage only splits the text into lines and fields, and it is very
 * lenient (it never fails, reads until a NUL whatever size it is given, and
 * atoi()s ports), so everything classcast relies on is validated here:
 * a pre-scan of the raw lines, then strict parsing of the attribute values we
 * use. Every string is copied with a bound; a value that does not fit is an
 * error (CC_EINVAL + offer->error), never a truncation.
 *
 * GstSDPMessage needs no gst_init(): it is plain GLib code (its debug macros
 * stay silent while the GStreamer debug system is uninitialised). */
#include "classcast/sdp.h"

#include <gst/sdp/sdp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classcast/err.h"

#include "sdp_priv.h"

/* A WebRTC offer is a few KB; 256 KiB leaves room for anything sane and
 * bounds the work an attacker can ask for. */
#define SDP_MAX_TEXT (256 * 1024)
#define SDP_MAX_PT 128          /* RTP payload types 0..127 (RFC 3550 5.1) */
#define SDP_MAX_EXT_ID 256      /* extmap ids 1..255 (RFC 8285 5) */

/* ------------------------------------------------------------------ */
/* small helpers                                                        */
/* ------------------------------------------------------------------ */

static int fail(cc_sdp_offer *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(cc_sdp_offer *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->error, sizeof o->error, fmt, ap);
    va_end(ap);
    return CC_EINVAL;
}

/* Copy n bytes of src into dst[cap] with a NUL; -1 if it does not fit. */
static int copy_n(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        return -1;
    memcpy(dst, src, n);
    dst[n] = 0;
    return 0;
}

static int copy_s(char *dst, size_t cap, const char *src)
{
    return copy_n(dst, cap, src, strlen(src));
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* Next whitespace-separated token of *p: sets tok/len and advances *p.
 * Returns 0 when there is none. */
static int next_tok(const char **p, const char **tok, size_t *len)
{
    const char *s = *p;
    while (is_ws(*s))
        s++;
    if (!*s) {
        *p = s;
        return 0;
    }
    const char *e = s;
    while (*e && !is_ws(*e))
        e++;
    *tok = s;
    *len = (size_t)(e - s);
    *p = e;
    return 1;
}

static int tok_is(const char *tok, size_t len, const char *word)
{
    return strlen(word) == len && strncmp(tok, word, len) == 0;
}

/* Unsigned decimal of exactly n bytes, digits only, <= max. Huge numbers are
 * rejected without overflow. */
static int parse_uint(const char *s, size_t n, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 10)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* RFC 8866 9 token-char: what a mid, codec name or msid id may contain. */
static int is_token_char(unsigned char c)
{
    if (c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b ||
        c == 0x2d || c == 0x2e || (c >= 0x30 && c <= 0x39) ||
        (c >= 0x41 && c <= 0x5a) || (c >= 0x5e && c <= 0x7e))
        return 1;
    return 0;
}

int sdp_is_token(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_token_char((unsigned char)s[i]))
            return 0;
    return 1;
}

/* RFC 8839 5.4 ice-char = ALPHA / DIGIT / "+" / "/". */
int sdp_is_ice_string(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '+' || c == '/'))
            return 0;
    }
    return 1;
}

/* RFC 8122 5: fingerprint = 2UHEX *(":" 2UHEX) (we accept lower case). */
int sdp_is_fingerprint(const char *s, size_t n)
{
    if (n < 2 || (n + 1) % 3 != 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (i % 3 == 2) {
            if (c != ':')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                     (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* ------------------------------------------------------------------ */
/* pre-scan of the raw text                                             */
/* ------------------------------------------------------------------ */

/* Walks the lines exactly as gst_sdp_message_parse_buffer() splits them
 * (leading whitespace skipped, "<type>=<value>" up to CR/LF) and checks what
 * GstSDPMessage does not: v=0 first and only once (RFC 8866 5.1), an m= port
 * that is a real 16-bit number (RFC 8866 5.14), at most CC_SDP_MAX_MEDIA
 * m-lines. */
static int prescan(const char *p, cc_sdp_offer *o)
{
    int seen_v = 0, n_m = 0, first = 1;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
               *p == '\f' || *p == '\v')
            p++;
        if (!*p)
            break;
        char type = *p++;
        const char *val = NULL;
        size_t vlen = 0;
        if (*p == '=') {
            val = ++p;
            while (*p && *p != '\n' && *p != '\r')
                p++;
            vlen = (size_t)(p - val);
        }
        while (*p && *p != '\n')
            p++;
        if (!val)
            continue; /* GstSDPMessage ignores it; so do we */
        if (first && type != 'v')
            return fail(o, "SDP must start with v=0");
        first = 0;
        if (type == 'v') {
            if (seen_v || vlen != 1 || val[0] != '0')
                return fail(o, "bad or repeated v= line (need v=0)");
            seen_v = 1;
        } else if (type == 'm') {
            if (++n_m > CC_SDP_MAX_MEDIA)
                return fail(o, "more than %d m-lines", CC_SDP_MAX_MEDIA);
            /* m=<media> <port>[/<n>] <proto> <fmt> ... */
            char line[64];
            size_t k = vlen < sizeof line - 1 ? vlen : sizeof line - 1;
            memcpy(line, val, k);
            line[k] = 0;
            const char *q = line, *tok;
            size_t tl;
            uint32_t port;
            if (!next_tok(&q, &tok, &tl) || !next_tok(&q, &tok, &tl))
                return fail(o, "m-line %d: no port", n_m - 1);
            const char *slash = memchr(tok, '/', tl);
            size_t plen = slash ? (size_t)(slash - tok) : tl;
            if (parse_uint(tok, plen, 65535, &port) != 0)
                return fail(o, "m-line %d: bad port", n_m - 1);
        }
    }
    if (!seen_v)
        return fail(o, "not SDP (no v=0)");
    if (n_m == 0)
        return fail(o, "no m-line");
    return 0;
}

/* ------------------------------------------------------------------ */
/* parsing one m-line                                                   */
/* ------------------------------------------------------------------ */

/* Scratch for one m-line: every payload type and extmap id the line may
 * carry, before the bounded selection into cc_sdp_media. */
typedef struct sdp_scratch {
    cc_sdp_codec codecs[SDP_MAX_PT];
    int n_codecs;
    int fmtp_seen[SDP_MAX_PT];
    cc_sdp_extmap ext[SDP_MAX_EXT_ID];
    int n_ext;
} sdp_scratch;

#define SDP_MAX_FPS 8

typedef struct sdp_session_defaults {
    const char *ufrag, *pwd, *setup;
    const char *fps[SDP_MAX_FPS];
    int n_fps;
    int has_dir;
    cc_direction dir;
} sdp_session_defaults;

static int codec_index(const sdp_scratch *s, int pt)
{
    for (int i = 0; i < s->n_codecs; i++)
        if (s->codecs[i].pt == pt)
            return i;
    return -1;
}

/* RFC 3551 6 static payload types, for m-lines that list them without an
 * a=rtpmap (Chromium writes rtpmaps for all, others may not). */
static void static_pt(cc_sdp_codec *c)
{
    static const struct { int pt; const char *name; int rate; int ch; } t[] = {
        {0, "PCMU", 8000, 1}, {3, "GSM", 8000, 1}, {4, "G723", 8000, 1},
        {8, "PCMA", 8000, 1}, {9, "G722", 8000, 1}, {13, "CN", 8000, 1},
        {18, "G729", 8000, 1}, {26, "JPEG", 90000, 0}, {31, "H261", 90000, 0},
        {32, "MPV", 90000, 0}, {34, "H263", 90000, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i].pt == c->pt) {
            snprintf(c->name, sizeof c->name, "%s", t[i].name);
            c->clock_rate = t[i].rate;
            c->channels = t[i].ch;
        }
}

static int is_repair_codec(const char *name)
{
    return strcasecmp(name, "rtx") == 0 || strcasecmp(name, "red") == 0 ||
           strcasecmp(name, "ulpfec") == 0 ||
           strncasecmp(name, "flexfec", 7) == 0;
}

/* a=rtpmap:<pt> <encoding name>/<clock rate>[/<channels>] (RFC 8866 6.6) */
static int parse_rtpmap(cc_sdp_offer *o, int mi, sdp_scratch *s, const char *v)
{
    const char *p = v, *tok;
    size_t tl;
    uint32_t pt;
    if (!next_tok(&p, &tok, &tl) || parse_uint(tok, tl, 127, &pt) != 0)
        return fail(o, "m-line %d: bad rtpmap payload type", mi);
    int ci = codec_index(s, (int)pt);
    if (ci < 0)
        return 0; /* not in the m-line's format list: ignored (RFC 8866 6.6) */
    cc_sdp_codec *c = &s->codecs[ci];
    if (!next_tok(&p, &tok, &tl))
        return fail(o, "m-line %d: rtpmap %u without encoding", mi, pt);
    const char *sl1 = memchr(tok, '/', tl);
    if (!sl1)
        return fail(o, "m-line %d: rtpmap %u without clock rate", mi, pt);
    size_t nlen = (size_t)(sl1 - tok);
    if (!sdp_is_token(tok, nlen) || memchr(tok, '/', nlen))
        return fail(o, "m-line %d: bad rtpmap %u encoding name", mi, pt);
    if (copy_n(c->name, sizeof c->name, tok, nlen) != 0)
        return fail(o, "m-line %d: rtpmap %u name too long", mi, pt);
    const char *rs = sl1 + 1, *end = tok + tl;
    const char *sl2 = memchr(rs, '/', (size_t)(end - rs));
    uint32_t rate, ch = 0;
    if (parse_uint(rs, (size_t)((sl2 ? sl2 : end) - rs), 0x7fffffff, &rate))
        return fail(o, "m-line %d: bad rtpmap %u clock rate", mi, pt);
    if (sl2 && parse_uint(sl2 + 1, (size_t)(end - sl2 - 1), 255, &ch) != 0)
        return fail(o, "m-line %d: bad rtpmap %u channels", mi, pt);
    c->clock_rate = (int)rate;
    c->channels = (int)ch;
    return 0;
}

/* a=fmtp:<pt> <params> (RFC 8866 6.15); apt= for rtx (RFC 4588 8.1). */
static int parse_fmtp(cc_sdp_offer *o, int mi, sdp_scratch *s, const char *v)
{
    const char *p = v, *tok;
    size_t tl;
    uint32_t pt;
    if (!next_tok(&p, &tok, &tl) || parse_uint(tok, tl, 127, &pt) != 0)
        return fail(o, "m-line %d: bad fmtp payload type", mi);
    int ci = codec_index(s, (int)pt);
    if (ci < 0 || s->fmtp_seen[pt])
        return 0;
    s->fmtp_seen[pt] = 1;
    while (is_ws(*p))
        p++;
    cc_sdp_codec *c = &s->codecs[ci];
    if (copy_s(c->fmtp, sizeof c->fmtp, p) != 0)
        return fail(o, "m-line %d: fmtp %u too long", mi, pt);
    /* apt=<pt> among ';'-separated parameters */
    const char *q = c->fmtp;
    while (*q) {
        while (*q == ' ' || *q == ';')
            q++;
        const char *e = q;
        while (*e && *e != ';')
            e++;
        if (!strcasecmp(c->name, "rtx") && (size_t)(e - q) > 4 &&
            strncasecmp(q, "apt=", 4) == 0) {
            const char *ve = e;
            while (ve > q + 4 && ve[-1] == ' ')
                ve--;
            uint32_t apt;
            if (parse_uint(q + 4, (size_t)(ve - q - 4), 127, &apt) != 0)
                return fail(o, "m-line %d: bad apt in fmtp %u", mi, pt);
            c->apt = (int)apt;
        }
        q = e;
    }
    return 0;
}

/* a=rtcp-fb:<pt>|* <type> [<param>] (RFC 4585 4.2, RFC 5104 7.1). */
static int parse_rtcp_fb(cc_sdp_offer *o, int mi, sdp_scratch *s,
                         const char *v)
{
    const char *p = v, *tok, *t2;
    size_t tl, l2;
    uint32_t pt = 0;
    int all = 0;
    if (!next_tok(&p, &tok, &tl))
        return fail(o, "m-line %d: empty rtcp-fb", mi);
    if (tok_is(tok, tl, "*"))
        all = 1;
    else if (parse_uint(tok, tl, 127, &pt) != 0)
        return fail(o, "m-line %d: bad rtcp-fb payload type", mi);
    if (!next_tok(&p, &tok, &tl))
        return 0;
    int has2 = next_tok(&p, &t2, &l2);
    unsigned flag = 0;
    if (tok_is(tok, tl, "nack") && !has2)
        flag = CC_FB_NACK;
    else if (tok_is(tok, tl, "nack") && tok_is(t2, l2, "pli"))
        flag = CC_FB_PLI;
    else if (tok_is(tok, tl, "ccm") && has2 && tok_is(t2, l2, "fir"))
        flag = CC_FB_FIR;
    else if (tok_is(tok, tl, "goog-remb"))
        flag = CC_FB_REMB;
    else if (tok_is(tok, tl, "transport-cc"))
        flag = CC_FB_TWCC;
    for (int i = 0; i < s->n_codecs; i++)
        if (all || s->codecs[i].pt == (int)pt)
            s->codecs[i].fb |= flag;
    return 0;
}

/* a=extmap:<id>[/<direction>] <URI> [<attributes>] (RFC 8285 5, 7). The
 * direction suffix is accepted and ignored. */
static int parse_extmap(cc_sdp_offer *o, int mi, sdp_scratch *s, const char *v)
{
    const char *p = v, *tok;
    size_t tl;
    uint32_t id;
    if (!next_tok(&p, &tok, &tl))
        return fail(o, "m-line %d: empty extmap", mi);
    const char *sl = memchr(tok, '/', tl);
    if (parse_uint(tok, sl ? (size_t)(sl - tok) : tl, 255, &id) != 0 ||
        id == 0 || id == 15)
        return fail(o, "m-line %d: bad extmap id", mi);
    if (!next_tok(&p, &tok, &tl))
        return fail(o, "m-line %d: extmap %u without URI", mi, id);
    for (int i = 0; i < s->n_ext; i++) {
        if (s->ext[i].id != (int)id)
            continue;
        if (strlen(s->ext[i].uri) == tl && !memcmp(s->ext[i].uri, tok, tl))
            return 0;
        return fail(o, "m-line %d: extmap id %u used twice", mi, id);
    }
    if (s->n_ext >= SDP_MAX_EXT_ID)
        return fail(o, "m-line %d: too many extmaps", mi);
    cc_sdp_extmap *e = &s->ext[s->n_ext];
    if (copy_n(e->uri, sizeof e->uri, tok, tl) != 0)
        return fail(o, "m-line %d: extmap %u URI too long", mi, id);
    e->id = (int)id;
    s->n_ext++;
    return 0;
}

static int add_ssrc(cc_sdp_offer *o, int mi, cc_sdp_media *m, uint32_t ssrc)
{
    for (int i = 0; i < m->n_ssrcs; i++)
        if (m->ssrcs[i] == ssrc)
            return 0;
    if (m->n_ssrcs >= CC_SDP_MAX_SSRCS)
        return fail(o, "m-line %d: more than %d ssrcs", mi, CC_SDP_MAX_SSRCS);
    m->ssrcs[m->n_ssrcs++] = ssrc;
    return 0;
}

/* a=ssrc:<ssrc> <attribute>[:<value>] (RFC 5576 4.1). */
static int parse_ssrc(cc_sdp_offer *o, int mi, cc_sdp_media *m, const char *v)
{
    const char *p = v, *tok;
    size_t tl;
    uint32_t ssrc;
    if (!next_tok(&p, &tok, &tl) ||
        parse_uint(tok, tl, 0xffffffffu, &ssrc) != 0)
        return fail(o, "m-line %d: bad ssrc", mi);
    int rc = add_ssrc(o, mi, m, ssrc);
    if (rc)
        return rc;
    while (is_ws(*p))
        p++;
    if (strncmp(p, "cname:", 6) == 0) {
        const char *cn = p + 6;
        size_t n = strlen(cn);
        while (n && is_ws(cn[n - 1]))
            n--;
        if (n >= sizeof m->cname)
            return fail(o, "m-line %d: cname too long", mi);
        if (!m->cname[0])
            copy_n(m->cname, sizeof m->cname, cn, n);
    }
    return 0;
}

/* a=ssrc-group:FID <primary> <rtx> (RFC 5576 4.2, RFC 4588 8.1). */
static int parse_ssrc_group(cc_sdp_offer *o, int mi, cc_sdp_media *m,
                            const char *v)
{
    const char *p = v, *tok;
    size_t tl;
    uint32_t ids[2];
    if (!next_tok(&p, &tok, &tl) || !tok_is(tok, tl, "FID"))
        return 0; /* SIM, FEC-FR ...: not used */
    for (int i = 0; i < 2; i++)
        if (!next_tok(&p, &tok, &tl) ||
            parse_uint(tok, tl, 0xffffffffu, &ids[i]) != 0)
            return fail(o, "m-line %d: bad ssrc-group:FID", mi);
    if (next_tok(&p, &tok, &tl))
        return fail(o, "m-line %d: ssrc-group:FID with more than 2", mi);
    if (m->fid_primary == 0 && m->fid_rtx == 0) {
        m->fid_primary = ids[0];
        m->fid_rtx = ids[1];
    }
    for (int i = 0; i < 2; i++) {
        int rc = add_ssrc(o, mi, m, ids[i]);
        if (rc)
            return rc;
    }
    return 0;
}

/* RFC 8851 section 10: rid-id = 1*(alpha-numeric / "-" / "_"). */
static int is_rid_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int sdp_is_rid(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_rid_char(s[i]))
            return 0;
    return 1;
}

/* a=rid:<rid-id> <direction> [<restrictions>] (RFC 8851 section 10):
 * rid-dir = "send" / "recv". The restrictions are not read (classcast
 * applies none). A rid-id names one RTP stream of the m-line (section 4),
 * so a second line with the same id is malformed. Lines past
 * CC_SDP_MAX_RIDS are checked and ignored. */
static int parse_rid(cc_sdp_offer *o, int mi, cc_sdp_media *m, const char *v)
{
    const char *p = v, *tok, *dir;
    size_t tl, dl;
    if (!next_tok(&p, &tok, &tl))
        return fail(o, "m-line %d: empty rid", mi);
    if (!sdp_is_rid(tok, tl))
        return fail(o, "m-line %d: bad rid id", mi);
    if (tl >= CC_SDP_RID_LEN)
        return fail(o, "m-line %d: rid too long", mi);
    if (!next_tok(&p, &dir, &dl) ||
        !(tok_is(dir, dl, "send") || tok_is(dir, dl, "recv")))
        return fail(o, "m-line %d: rid without send/recv", mi);
    for (int i = 0; i < m->n_rids; i++)
        if (tok_is(tok, tl, m->rids[i]))
            return fail(o, "m-line %d: rid %s twice", mi, m->rids[i]);
    if (m->n_rids >= CC_SDP_MAX_RIDS)
        return 0;
    copy_n(m->rids[m->n_rids], sizeof m->rids[0], tok, tl);
    m->rid_recv[m->n_rids] = tok_is(dir, dl, "recv");
    m->n_rids++;
    return 0;
}

/* One direction's stream list of a=simulcast (RFC 8853 section 5.1):
 *   sc-str-list = sc-alt-list *( ";" sc-alt-list )
 *   sc-alt-list = sc-id *( "," sc-id )
 *   sc-id       = [ "~" ] rid-id          ("~": paused, RFC 7728)
 * s[0..n) has no whitespace (a token). Keeps the first alternative of the
 * first CC_SDP_MAX_SIM streams; the rest is checked only. */
static int parse_sc_list(cc_sdp_offer *o, int mi, const char *s, size_t n,
                         char ids[][CC_SDP_RID_LEN], int *paused, int *count)
{
    size_t i = 0;
    int k = 0;
    for (;;) {
        /* one stream: its alternatives */
        for (int alt = 0;; alt++) {
            int pz = 0;
            if (i < n && s[i] == '~') {
                pz = 1;
                i++;
            }
            size_t st = i;
            while (i < n && is_rid_char(s[i]))
                i++;
            if (i == st)
                return fail(o, "m-line %d: bad simulcast stream list", mi);
            if (i - st >= CC_SDP_RID_LEN)
                return fail(o, "m-line %d: simulcast rid too long", mi);
            if (alt == 0 && k < CC_SDP_MAX_SIM) {
                copy_n(ids[k], CC_SDP_RID_LEN, s + st, i - st);
                paused[k] = pz;
            }
            if (i < n && s[i] == ',') {
                i++;
                continue;
            }
            break;
        }
        if (k < CC_SDP_MAX_SIM)
            k++;
        if (i == n)
            break;
        if (s[i] != ';')
            return fail(o, "m-line %d: bad simulcast stream list", mi);
        i++;
    }
    *count = k;
    return 0;
}

/* a=simulcast:<dir> <list> [<dir> <list>] (RFC 8853 section 5.1):
 *   sc-value = ( sc-send [SP sc-recv] ) / ( sc-recv [SP sc-send] )
 * At most one a=simulcast per m-line (section 5.1). */
static int parse_simulcast(cc_sdp_offer *o, int mi, cc_sdp_media *m,
                           const char *v, int *seen)
{
    const char *p = v, *dir, *lst;
    size_t dl, ll;
    int have_send = 0, have_recv = 0, rc;
    if ((*seen)++)
        return fail(o, "m-line %d: two a=simulcast", mi);
    while (next_tok(&p, &dir, &dl)) {
        int send = tok_is(dir, dl, "send");
        if (!send && !tok_is(dir, dl, "recv"))
            return fail(o, "m-line %d: bad simulcast direction", mi);
        if (send ? have_send++ : have_recv++)
            return fail(o, "m-line %d: simulcast direction twice", mi);
        if (!next_tok(&p, &lst, &ll))
            return fail(o, "m-line %d: simulcast without streams", mi);
        rc = send ? parse_sc_list(o, mi, lst, ll, m->sim, m->sim_paused,
                                  &m->n_sim)
                  : parse_sc_list(o, mi, lst, ll, m->sim_recv,
                                  m->sim_recv_paused, &m->n_sim_recv);
        if (rc)
            return rc;
    }
    if (!have_send && !have_recv)
        return fail(o, "m-line %d: empty simulcast", mi);
    return 0;
}

static int parse_fingerprint(cc_sdp_offer *o, int mi, const char *v,
                             char *alg, size_t alg_cap, char *fp,
                             size_t fp_cap)
{
    const char *p = v, *a, *f, *x;
    size_t al, fl, xl;
    if (!next_tok(&p, &a, &al) || !next_tok(&p, &f, &fl) ||
        next_tok(&p, &x, &xl) || !sdp_is_token(a, al))
        return fail(o, "m-line %d: bad fingerprint", mi);
    if (!sdp_is_fingerprint(f, fl))
        return fail(o, "m-line %d: bad fingerprint value", mi);
    if (copy_n(alg, alg_cap, a, al) != 0 || copy_n(fp, fp_cap, f, fl) != 0)
        return fail(o, "m-line %d: fingerprint too long", mi);
    return 0;
}

/* Fingerprint from a list of a=fingerprint values: sha-256 if present,
 * else the first (RFC 8122 5 allows several). Every one must be well formed. */
static int pick_fingerprint(cc_sdp_offer *o, int mi, const char *const *vals,
                            int n, char *alg, size_t alg_cap, char *fp,
                            size_t fp_cap)
{
    char a[16], f[160];
    int have = 0, have256 = 0;
    for (int i = 0; i < n; i++) {
        int rc = parse_fingerprint(o, mi, vals[i], a, sizeof a, f, sizeof f);
        if (rc)
            return rc;
        int is256 = strcasecmp(a, "sha-256") == 0;
        if (!have || (is256 && !have256)) {
            if (copy_s(alg, alg_cap, a) != 0 || copy_s(fp, fp_cap, f) != 0)
                return fail(o, "m-line %d: fingerprint too long", mi);
            have = 1;
            have256 = is256;
        }
    }
    return 0;
}

static int parse_ice_cred(cc_sdp_offer *o, int mi, const char *what,
                          const char *v, size_t min, char *dst, size_t cap)
{
    size_t n = strlen(v);
    /* RFC 8839 5.4: ufrag 4..256, pwd 22..256 ice-chars. */
    if (n >= cap)
        return fail(o, "m-line %d: %s too long", mi, what);
    if (n < min || !sdp_is_ice_string(v, n))
        return fail(o, "m-line %d: bad %s", mi, what);
    memcpy(dst, v, n + 1);
    return 0;
}

static int parse_setup(cc_sdp_offer *o, int mi, const char *v, char *dst,
                       size_t cap)
{
    /* RFC 4145 4: setup-value = active / passive / actpass / holdconn */
    if (strcmp(v, "actpass") && strcmp(v, "active") && strcmp(v, "passive") &&
        strcmp(v, "holdconn"))
        return fail(o, "m-line %d: bad setup value", mi);
    return copy_s(dst, cap, v) == 0 ? 0 : fail(o, "bad setup");
}

static int dir_of(const char *key, cc_direction *d)
{
    if (!strcmp(key, "sendrecv")) *d = CC_DIR_SENDRECV;
    else if (!strcmp(key, "sendonly")) *d = CC_DIR_SENDONLY;
    else if (!strcmp(key, "recvonly")) *d = CC_DIR_RECVONLY;
    else if (!strcmp(key, "inactive")) *d = CC_DIR_INACTIVE;
    else return 0;
    return 1;
}

static int has_trickle(const char *v)
{
    const char *p = v, *tok;
    size_t tl;
    while (next_tok(&p, &tok, &tl))
        if (tok_is(tok, tl, "trickle"))
            return 1;
    return 0;
}

/* Keep at most CC_SDP_MAX_CODECS of the line's payload types, in m-line
 * order. Chromium's recvonly video offers list ~34; when there are more
 * than fit, the ones classcast can use win (the first listed, VP8, opus and
 * their rtx), then the rest in m-line order. */
static void select_codecs(const sdp_scratch *s, cc_sdp_media *m)
{
    int keep[SDP_MAX_PT] = {0}, n = 0;
    for (int i = 0; i < s->n_codecs && n < CC_SDP_MAX_CODECS; i++) {
        const cc_sdp_codec *c = &s->codecs[i];
        if (i == 0 || !strcasecmp(c->name, "VP8") ||
            !strcasecmp(c->name, "opus")) {
            keep[i] = 1;
            n++;
        }
    }
    for (int i = 0; i < s->n_codecs && n < CC_SDP_MAX_CODECS; i++) {
        const cc_sdp_codec *c = &s->codecs[i];
        if (keep[i] || strcasecmp(c->name, "rtx") || c->apt < 0)
            continue;
        int a = codec_index(s, c->apt);
        if (a >= 0 && (!strcasecmp(s->codecs[a].name, "VP8") ||
                       !strcasecmp(s->codecs[a].name, "opus"))) {
            keep[i] = 1;
            n++;
        }
    }
    for (int i = 0; i < s->n_codecs && n < CC_SDP_MAX_CODECS; i++)
        if (!keep[i]) {
            keep[i] = 1;
            n++;
        }
    m->n_codecs = 0;
    for (int i = 0; i < s->n_codecs; i++)
        if (keep[i])
            m->codecs[m->n_codecs++] = s->codecs[i];
}

/* Same for header extensions: the ones classcast implements first. */
static void select_extmaps(const sdp_scratch *s, cc_sdp_media *m)
{
    static const char *const mine[] = {CC_EXT_URI_MID, CC_EXT_URI_ABS_SEND_TIME,
                                       CC_EXT_URI_TWCC, CC_EXT_URI_AUDIO_LEVEL,
                                       CC_EXT_URI_RID, CC_EXT_URI_RRID};
    int keep[SDP_MAX_EXT_ID] = {0}, n = 0;
    for (int i = 0; i < s->n_ext && n < CC_SDP_MAX_EXTMAPS; i++)
        for (size_t j = 0; j < sizeof mine / sizeof mine[0]; j++)
            if (!keep[i] && !strcmp(s->ext[i].uri, mine[j])) {
                keep[i] = 1;
                n++;
            }
    for (int i = 0; i < s->n_ext && n < CC_SDP_MAX_EXTMAPS; i++)
        if (!keep[i]) {
            keep[i] = 1;
            n++;
        }
    m->n_extmaps = 0;
    for (int i = 0; i < s->n_ext; i++)
        if (keep[i])
            m->extmaps[m->n_extmaps++] = s->ext[i];
}

static int parse_media(cc_sdp_offer *o, int mi, const GstSDPMedia *gm,
                       const sdp_session_defaults *def, sdp_scratch *s)
{
    cc_sdp_media *m = &o->media[mi];
    const char *kind = nz(gst_sdp_media_get_media(gm));
    const char *proto = nz(gst_sdp_media_get_proto(gm));
    int rc;

    memset(s, 0, sizeof *s);
    if (!sdp_is_token(kind, strlen(kind)) ||
        copy_s(m->kind_name, sizeof m->kind_name, kind) != 0)
        return fail(o, "m-line %d: bad media type", mi);
    if (!strcmp(kind, "audio")) m->kind = CC_MEDIA_AUDIO;
    else if (!strcmp(kind, "video")) m->kind = CC_MEDIA_VIDEO;
    else if (!strcmp(kind, "application")) m->kind = CC_MEDIA_APPLICATION;
    else m->kind = CC_MEDIA_OTHER;
    /* prescan() checked the port text; this guards the parsed value too. */
    guint port = gst_sdp_media_get_port(gm);
    if (port > 65535)
        return fail(o, "m-line %d: bad port", mi);
    m->port = (int)port;
    /* proto = token *("/" token) (RFC 8866 9) */
    int proto_ok = proto[0] && proto[0] != '/';
    for (const char *q = proto; *q && proto_ok; q++)
        if (!(is_token_char((unsigned char)*q) || (*q == '/' && q[1] != '/' &&
                                                    q[1] != 0)))
            proto_ok = 0;
    if (!proto_ok || copy_s(m->proto, sizeof m->proto, proto) != 0)
        return fail(o, "m-line %d: bad proto", mi);

    /* Format list: RTP payload types for RTP profiles (RFC 8866 5.14). */
    int is_rtp = strstr(proto, "RTP") != NULL;
    guint nf = gst_sdp_media_formats_len(gm);
    for (guint i = 0; i < nf && is_rtp; i++) {
        const char *f = nz(gst_sdp_media_get_format(gm, i));
        uint32_t pt;
        if (!*f)
            continue; /* GstSDPMessage adds "" for trailing spaces */
        if (parse_uint(f, strlen(f), 127, &pt) != 0)
            return fail(o, "m-line %d: bad payload type in m-line", mi);
        if (codec_index(s, (int)pt) >= 0)
            continue;
        cc_sdp_codec *c = &s->codecs[s->n_codecs++];
        c->pt = (int)pt;
        c->apt = -1;
        static_pt(c);
    }

    m->direction = def->has_dir ? def->dir : CC_DIR_SENDRECV;
    int has_dir = 0, bundle_only = 0, n_simulcast = 0;
    const char *ufrag = NULL, *pwd = NULL, *setup = NULL;
    const char *fps[SDP_MAX_FPS];
    int n_fps = 0;
    guint na = gst_sdp_media_attributes_len(gm);
    /* rtpmap first, so fmtp and rtcp-fb (even "*" before the rtpmaps) find
     * their codecs whatever the attribute order. */
    for (guint i = 0; i < na; i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(gm, i);
        if (a->key && !strcmp(a->key, "rtpmap") &&
            (rc = parse_rtpmap(o, mi, s, nz(a->value))))
            return rc;
    }
    for (guint i = 0; i < na; i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(gm, i);
        const char *k = nz(a->key), *v = nz(a->value);
        cc_direction d;
        rc = 0;
        if (!strcmp(k, "mid")) {
            if (m->mid[0])
                return fail(o, "m-line %d: two a=mid", mi);
            if (!sdp_is_token(v, strlen(v)) || copy_s(m->mid, sizeof m->mid, v))
                return fail(o, "m-line %d: bad or too long mid", mi);
        } else if (dir_of(k, &d)) {
            if (!has_dir)
                m->direction = d;
            has_dir = 1;
        } else if (!strcmp(k, "bundle-only")) {
            bundle_only = 1;
        } else if (!strcmp(k, "rtcp-mux")) {
            m->rtcp_mux = 1;
        } else if (!strcmp(k, "rtcp-rsize")) {
            m->rtcp_rsize = 1;
        } else if (!strcmp(k, "ice-ufrag")) {
            ufrag = ufrag ? ufrag : v;
        } else if (!strcmp(k, "ice-pwd")) {
            pwd = pwd ? pwd : v;
        } else if (!strcmp(k, "ice-options")) {
            if (has_trickle(v))
                o->trickle = 1;
        } else if (!strcmp(k, "fingerprint")) {
            if (n_fps >= (int)(sizeof fps / sizeof fps[0]))
                return fail(o, "m-line %d: too many fingerprints", mi);
            fps[n_fps++] = v;
        } else if (!strcmp(k, "setup")) {
            setup = setup ? setup : v;
        } else if (!strcmp(k, "fmtp")) {
            rc = parse_fmtp(o, mi, s, v);
        } else if (!strcmp(k, "rtcp-fb")) {
            rc = parse_rtcp_fb(o, mi, s, v);
        } else if (!strcmp(k, "extmap")) {
            rc = parse_extmap(o, mi, s, v);
        } else if (!strcmp(k, "ssrc")) {
            rc = parse_ssrc(o, mi, m, v);
        } else if (!strcmp(k, "ssrc-group")) {
            rc = parse_ssrc_group(o, mi, m, v);
        } else if (!strcmp(k, "msid")) {
            if (!m->msid[0] && copy_s(m->msid, sizeof m->msid, v) != 0)
                return fail(o, "m-line %d: msid too long", mi);
        } else if (!strcmp(k, "rid")) {
            rc = parse_rid(o, mi, m, v);
        } else if (!strcmp(k, "simulcast")) {
            rc = parse_simulcast(o, mi, m, v, &n_simulcast);
        }
        if (rc)
            return rc;
    }
    select_codecs(s, m);
    select_extmaps(s, m);

    /* Transport attributes: media level, else session level (RFC 8839 5.4,
     * RFC 8122 5, RFC 4145 4). */
    if (!ufrag) ufrag = def->ufrag;
    if (!pwd) pwd = def->pwd;
    if (!setup) setup = def->setup;
    if (ufrag && (rc = parse_ice_cred(o, mi, "ice-ufrag", ufrag, 4,
                                      m->ice_ufrag, sizeof m->ice_ufrag)))
        return rc;
    if (pwd && (rc = parse_ice_cred(o, mi, "ice-pwd", pwd, 22, m->ice_pwd,
                                    sizeof m->ice_pwd)))
        return rc;
    const char *const *fpl = n_fps ? fps : def->fps;
    int n_fpl = n_fps ? n_fps : def->n_fps;
    if (n_fpl && (rc = pick_fingerprint(o, mi, fpl, n_fpl, m->fp_alg,
                                        sizeof m->fp_alg, m->fp, sizeof m->fp)))
        return rc;
    if (setup && (rc = parse_setup(o, mi, setup, m->setup, sizeof m->setup)))
        return rc;
    /* RFC 8843 section 6: bundle-only is defined for a port-0 section
     * only; with a port it is ignored (the section is a usual one). */
    m->bundle_only = bundle_only && m->port == 0;
    /* A section with a port needs its own transport. A port-0 one is either
     * rejected or bundle-only, and RFC 8843 section 7.1.3 has an initial
     * offer leave the TRANSPORT and IDENTICAL attributes (ICE credentials,
     * fingerprint, setup, rtcp-mux) out of bundle-only sections: they come
     * from the tagged section (cc_sdp_bundle_tag). Present ones were
     * checked above all the same. */
    if (m->port != 0) {
        if (!m->ice_ufrag[0] || !m->ice_pwd[0])
            return fail(o, "m-line %d: no ice-ufrag/ice-pwd", mi);
        if (!m->fp[0])
            return fail(o, "m-line %d: no fingerprint", mi);
    }
    return 0;
}

/* a=group:BUNDLE <mid> ... (RFC 8843 7.1); the first BUNDLE group is used. */
static int parse_bundle(cc_sdp_offer *o, const char *v)
{
    const char *p = v, *tok;
    size_t tl;
    if (!next_tok(&p, &tok, &tl) || !tok_is(tok, tl, "BUNDLE") || o->n_bundle)
        return 0;
    while (next_tok(&p, &tok, &tl)) {
        if (o->n_bundle >= CC_SDP_MAX_MEDIA)
            return fail(o, "BUNDLE group too large");
        if (!sdp_is_token(tok, tl) ||
            copy_n(o->bundle[o->n_bundle], sizeof o->bundle[0], tok, tl))
            return fail(o, "bad or too long BUNDLE mid");
        o->n_bundle++;
    }
    return 0;
}

int cc_sdp_parse(const char *text, size_t len, cc_sdp_offer *offer)
{
    if (!offer)
        return CC_EINVAL;
    memset(offer, 0, sizeof *offer);
    if (!text || len == 0)
        return fail(offer, "empty SDP");
    if (len > SDP_MAX_TEXT)
        return fail(offer, "SDP larger than %d bytes", SDP_MAX_TEXT);
    if (memchr(text, 0, len))
        return fail(offer, "NUL byte in SDP");

    /* GstSDPMessage reads up to a NUL whatever size it is given: hand it a
     * terminated copy. */
    char *buf = malloc(len + 1);
    sdp_scratch *s = calloc(1, sizeof *s);
    GstSDPMessage *msg = NULL;
    int rc = 0;
    if (!buf || !s) {
        rc = CC_ENOMEM;
        snprintf(offer->error, sizeof offer->error, "out of memory");
        goto out;
    }
    memcpy(buf, text, len);
    buf[len] = 0;
    if ((rc = prescan(buf, offer)))
        goto out;
    if (gst_sdp_message_new(&msg) != GST_SDP_OK ||
        gst_sdp_message_parse_buffer((const guint8 *)buf, (guint)len, msg) !=
            GST_SDP_OK) {
        rc = fail(offer, "not SDP");
        goto out;
    }
    if (strcmp(nz(gst_sdp_message_get_version(msg)), "0") != 0) {
        rc = fail(offer, "not SDP version 0");
        goto out;
    }
    guint nm = gst_sdp_message_medias_len(msg);
    if (nm == 0 || nm > CC_SDP_MAX_MEDIA) {
        rc = fail(offer, nm ? "too many m-lines" : "no m-line");
        goto out;
    }

    sdp_session_defaults def = {0};
    guint na = gst_sdp_message_attributes_len(msg);
    for (guint i = 0; i < na; i++) {
        const GstSDPAttribute *a = gst_sdp_message_get_attribute(msg, i);
        const char *k = nz(a->key), *v = nz(a->value);
        cc_direction d;
        if (!strcmp(k, "group")) {
            if ((rc = parse_bundle(offer, v)))
                goto out;
        } else if (!strcmp(k, "ice-lite")) {
            offer->ice_lite = 1;
        } else if (!strcmp(k, "ice-options")) {
            if (has_trickle(v))
                offer->trickle = 1;
        } else if (!strcmp(k, "ice-ufrag")) {
            def.ufrag = def.ufrag ? def.ufrag : v;
        } else if (!strcmp(k, "ice-pwd")) {
            def.pwd = def.pwd ? def.pwd : v;
        } else if (!strcmp(k, "fingerprint")) {
            if (def.n_fps >= SDP_MAX_FPS) {
                rc = fail(offer, "too many fingerprints");
                goto out;
            }
            def.fps[def.n_fps++] = v;
        } else if (!strcmp(k, "setup")) {
            def.setup = def.setup ? def.setup : v;
        } else if (dir_of(k, &d) && !def.has_dir) {
            def.has_dir = 1;
            def.dir = d;
        }
    }
    for (guint i = 0; i < nm; i++) {
        if ((rc = parse_media(offer, (int)i, gst_sdp_message_get_media(msg, i),
                              &def, s)))
            goto out;
        offer->n_media++;
        /* RFC 8843 9.2: mids are unique in the description. */
        for (guint j = 0; j < i; j++)
            if (offer->media[i].mid[0] &&
                !strcmp(offer->media[i].mid, offer->media[j].mid)) {
                rc = fail(offer, "duplicate mid %s", offer->media[i].mid);
                goto out;
            }
    }

out:
    if (msg)
        gst_sdp_message_free(msg);
    free(s);
    free(buf);
    if (rc) {
        char err[CC_SDP_MAX_ERR];
        memcpy(err, offer->error, sizeof err);
        memset(offer, 0, sizeof *offer);
        memcpy(offer->error, err, sizeof err);
        if (!offer->error[0])
            snprintf(offer->error, sizeof offer->error, "%s", cc_strerror(rc));
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* lookups                                                              */
/* ------------------------------------------------------------------ */

const cc_sdp_codec *cc_sdp_find_codec(const cc_sdp_media *m, const char *name)
{
    if (!m || !name)
        return NULL;
    for (int i = 0; i < m->n_codecs && i < CC_SDP_MAX_CODECS; i++) {
        const cc_sdp_codec *c = &m->codecs[i];
        if (is_repair_codec(c->name))
            continue;
        if (!strcasecmp(c->name, name))
            return c;
    }
    return NULL;
}

const cc_sdp_codec *cc_sdp_find_rtx(const cc_sdp_media *m, int pt)
{
    if (!m)
        return NULL;
    for (int i = 0; i < m->n_codecs && i < CC_SDP_MAX_CODECS; i++)
        if (!strcasecmp(m->codecs[i].name, "rtx") && m->codecs[i].apt == pt)
            return &m->codecs[i];
    return NULL;
}

int cc_sdp_find_extmap(const cc_sdp_media *m, const char *uri)
{
    if (!m || !uri)
        return 0;
    for (int i = 0; i < m->n_extmaps && i < CC_SDP_MAX_EXTMAPS; i++)
        if (!strcmp(m->extmaps[i].uri, uri))
            return m->extmaps[i].id;
    return 0;
}
