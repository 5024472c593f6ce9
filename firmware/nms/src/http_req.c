/*
 * Request head parser (ward/nms/http_req.h). Bottom up: character classes, one line, the
 * request line, one header, the head.
 */
#include "ward/nms/http_req.h"

#include <stdint.h>
#include <string.h>

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Case-insensitive: does s[0..n) equal word? */
static bool word_is(const char *s, size_t n, const char *word)
{
    size_t i = 0;

    for (; i < n && word[i] != '\0'; i++) {
        if (lower(s[i]) != word[i]) {
            return false;
        }
    }
    return i == n && word[i] == '\0';
}

/* Case-insensitive: does s[0..n) contain word? */
static bool contains(const char *s, size_t n, const char *word)
{
    size_t wl = strlen(word);

    for (size_t i = 0; i + wl <= n; i++) {
        if (word_is(s + i, wl, word)) {
            return true;
        }
    }
    return false;
}

/* End of the line at buf[at..len): index of its '\n', or len when not there yet. */
static size_t line_end(const char *buf, size_t at, size_t len)
{
    const char *nl = memchr(buf + at, '\n', len - at);

    return nl != NULL ? (size_t)(nl - buf) : len;
}

static int request_line(const char *s, size_t n, struct ward_http_req *r)
{
    const char *sp1 = memchr(s, ' ', n);
    const char *sp2;
    size_t plen;

    if (sp1 == NULL || sp1 == s) {
        return -400;
    }
    for (const char *p = s; p < sp1; p++) {
        if (!tchar(*p)) {
            return -400;
        }
    }
    sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - s));
    if (sp2 == NULL || sp2 == sp1 + 1 || sp1[1] != '/') {
        return -400;
    }
    for (const char *p = sp1 + 1; p < sp2; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            return -400;
        }
    }
    if ((size_t)(s + n - (sp2 + 1)) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        return (size_t)(s + n - (sp2 + 1)) == 8 && memcmp(sp2 + 1, "HTTP/", 5) == 0 ? -505 : -400;
    }
    if (sp2[8] != '0' && sp2[8] != '1') {
        return -505;
    }
    r->method = (sp1 - s == 3 && memcmp(s, "GET", 3) == 0)    ? WARD_HTTP_GET
                : (sp1 - s == 4 && memcmp(s, "HEAD", 4) == 0) ? WARD_HTTP_HEAD
                                                              : WARD_HTTP_OTHER;
    plen = (size_t)(sp2 - (sp1 + 1));
    {
        const char *q = memchr(sp1 + 1, '?', plen);

        plen = q != NULL ? (size_t)(q - (sp1 + 1)) : plen;
    }
    r->target = (plen == 8 && memcmp(sp1 + 1, "/metrics", 8) == 0)  ? WARD_HTTP_METRICS
                : (plen == 7 && memcmp(sp1 + 1, "/health", 7) == 0) ? WARD_HTTP_HEALTH
                                                                    : WARD_HTTP_NOT_FOUND;
    return 0;
}

static void bearer(const char *v, size_t n, struct ward_http_req *r)
{
    if (n < 7 || !word_is(v, 6, "bearer") || v[6] != ' ') {
        return;
    }
    v += 7;
    n -= 7;
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    r->has_bearer = true;
    if (n >= sizeof(r->token)) {
        r->token_too_long = true;
        return;
    }
    memcpy(r->token, v, n);
    r->token[n] = '\0';
    r->token_len = n;
}

static int header(const char *s, size_t n, struct ward_http_req *r)
{
    const char *colon = memchr(s, ':', n);
    size_t nl;
    const char *v;
    size_t vl;

    if (colon == NULL || colon == s) {
        return -400; /* also a folded line: it starts with white space, not a name */
    }
    nl = (size_t)(colon - s);
    for (size_t i = 0; i < nl; i++) {
        if (!tchar(s[i])) {
            return -400;
        }
    }
    v = colon + 1;
    vl = n - nl - 1;
    while (vl > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vl--;
    }
    while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) {
        vl--;
    }
    for (size_t i = 0; i < vl; i++) {
        if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f) {
            return -400;
        }
    }
    if (word_is(s, nl, "accept")) {
        r->openmetrics = r->openmetrics || contains(v, vl, "application/openmetrics-text");
    } else if (word_is(s, nl, "authorization")) {
        bearer(v, vl, r);
    } else if (word_is(s, nl, "content-length")) {
        r->has_body = r->has_body || !(vl == 1 && v[0] == '0');
    } else if (word_is(s, nl, "transfer-encoding")) {
        r->has_body = true;
    }
    return 0;
}

int ward_http_req_parse(const char *buf, size_t len, struct ward_http_req *out)
{
    size_t at = 0;
    bool first = true;

    if (buf == NULL || out == NULL) {
        return -400;
    }
    memset(out, 0, sizeof(*out));
    for (;;) {
        size_t end = line_end(buf, at, len);
        size_t n = end - at;
        int rc;

        if (n > WARD_HTTP_LINE_MAX) {
            return first ? -414 : -431;
        }
        if (end == len) {
            return 0; /* the line is not complete yet */
        }
        if (n > 0 && buf[end - 1] == '\r') {
            n--;
        }
        if (memchr(buf + at, '\0', n) != NULL || memchr(buf + at, '\r', n) != NULL) {
            return -400;
        }
        if (n == 0 && !first) {
            return end + 1 > (size_t)INT32_MAX ? -431 : (int)(end + 1);
        }
        rc = first ? request_line(buf + at, n, out) : header(buf + at, n, out);
        if (rc != 0) {
            return rc;
        }
        first = false;
        at = end + 1;
    }
}

bool ward_http_token_equal(const char *a, const char *b, size_t n)
{
    volatile uint8_t diff = 0;

    for (size_t i = 0; i < n; i++) {
        diff |= (uint8_t)(a[i] ^ b[i]);
    }
    return diff == 0;
}
