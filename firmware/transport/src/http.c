#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ward/base/fmt.h"
#include "ward/transport/config.h"
#include "ward/transport/http.h"

struct out {
    char *p;
    size_t cap;
    size_t len;
    bool overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->overflow || n > o->cap - o->len) {
        o->overflow = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void putu(struct out *o, uint64_t v)
{
    char num[WARD_FMT_INT64_MAX];
    int n = ward_fmt_u64(num, sizeof(num), v);

    put(o, num, n > 0 ? (size_t)n : 0);
}

/* Host names and paths go on the request line and in a header: no space, no control. */
static bool safe_token(const char *s)
{
    if (s == NULL || *s == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c <= 0x20 || c >= 0x7f) {
            return false;
        }
    }
    return true;
}

int ward_http_format_post(char *out, size_t cap, const char *host, uint16_t port, const char *path,
                          size_t content_length)
{
    struct out o = { .p = out, .cap = cap };
    bool v6 = host != NULL && strchr(host, ':') != NULL;

    if (out == NULL || !safe_token(host) || !safe_token(path) || path[0] != '/') {
        return -EINVAL;
    }
    puts_(&o, "POST ");
    puts_(&o, path);
    puts_(&o, " HTTP/1.1\r\nHost: ");
    puts_(&o, v6 ? "[" : "");
    puts_(&o, host);
    puts_(&o, v6 ? "]" : "");
    if (port != 443) {
        puts_(&o, ":");
        putu(&o, port);
    }
    /*
     * No Content-Type: the ingest body is JSON by protocol (docs/protocol.md), and the
     * 32 bytes are a tenth of a heartbeat on the wire.
     */
    puts_(&o, "\r\nContent-Length: ");
    putu(&o, content_length);
    puts_(&o, "\r\n\r\n");
    if (o.overflow || o.len > (size_t)INT32_MAX) {
        return -ENOSPC;
    }
    return (int)o.len;
}

void ward_http_resp_init(struct ward_http_resp *r, uint8_t *body, size_t body_cap)
{
    memset(r, 0, offsetof(struct ward_http_resp, line));
    r->phase = WARD_HTTP_STATUS;
    r->body = body;
    r->body_cap = body_cap;
}

static int fail(struct ward_http_resp *r, int err)
{
    r->phase = WARD_HTTP_ERROR;
    r->error = err;
    return err;
}

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Field-value and reason-phrase characters: HTAB, SP, VCHAR, obs-text. */
static bool is_text(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool ieq(const char *a, size_t alen, const char *b)
{
    size_t n = strlen(b);

    if (alen != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char x = a[i];

        if (x >= 'A' && x <= 'Z') {
            x = (char)(x - 'A' + 'a');
        }
        if (x != b[i]) {
            return false;
        }
    }
    return true;
}

static int parse_status(struct ward_http_resp *r, const char *l, size_t n)
{
    static const char version[] = "HTTP/1.1 ";
    const size_t vlen = sizeof(version) - 1u;

    if (n < vlen + 3u || memcmp(l, version, vlen) != 0) {
        return -EPROTO;
    }
    for (size_t i = vlen; i < vlen + 3u; i++) {
        if (l[i] < '0' || l[i] > '9') {
            return -EPROTO;
        }
    }
    r->status = (uint16_t)((l[vlen] - '0') * 100 + (l[vlen + 1] - '0') * 10 + (l[vlen + 2] - '0'));
    /* 1xx: the agent sends no Expect and no Upgrade, so an interim response is an error. */
    if (r->status < 200 || r->status > 599) {
        return -EPROTO;
    }
    if (n > vlen + 3u && l[vlen + 3u] != ' ') {
        return -EPROTO;
    }
    for (size_t i = vlen + 4u; i < n; i++) {
        if (!is_text((unsigned char)l[i])) {
            return -EPROTO;
        }
    }
    r->phase = WARD_HTTP_HEADERS;
    return 0;
}

static int parse_length(struct ward_http_resp *r, const char *v, size_t n)
{
    size_t value = 0;

    if (r->has_length || n == 0) {
        return -EPROTO; /* a second Content-Length, even an equal one, is refused */
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return -EPROTO;
        }
        if (value > (SIZE_MAX - 9u) / 10u) {
            return -EMSGSIZE;
        }
        value = value * 10u + (size_t)(v[i] - '0');
    }
    r->has_length = true;
    r->content_length = value;
    return 0;
}

static void parse_connection(struct ward_http_resp *r, const char *v, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t start;
        size_t end;

        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) {
            i++;
        }
        start = i;
        while (i < n && v[i] != ',') {
            i++;
        }
        end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t')) {
            end--;
        }
        if (ieq(v + start, end - start, "close")) {
            r->conn_close = true;
        }
    }
}

static int end_of_head(struct ward_http_resp *r)
{
    bool bodyless = r->status == 204 || r->status == 304;

    if (bodyless) {
        if (r->has_length && r->content_length != 0) {
            return -EPROTO;
        }
        r->content_length = 0;
    } else if (!r->has_length) {
        return -EPROTO; /* the agent needs Content-Length framing to reuse the connection */
    }
    if (r->content_length > r->body_cap) {
        return -EMSGSIZE;
    }
    r->phase = r->content_length == 0 ? WARD_HTTP_DONE : WARD_HTTP_BODY;
    return 0;
}

static int parse_header(struct ward_http_resp *r, const char *l, size_t n)
{
    size_t colon = 0;
    size_t vs;
    size_t ve = n;

    if (n == 0) {
        return end_of_head(r);
    }
    if (++r->n_headers > WARD_HTTP_MAX_HEADERS) {
        return -EMSGSIZE;
    }
    /* A leading space is obsolete line folding; a space before ':' is a smuggling vector. */
    while (colon < n && is_tchar((unsigned char)l[colon])) {
        colon++;
    }
    if (colon == 0 || colon == n || l[colon] != ':') {
        return -EPROTO;
    }
    for (size_t i = colon + 1u; i < n; i++) {
        if (!is_text((unsigned char)l[i])) {
            return -EPROTO;
        }
    }
    vs = colon + 1u;
    while (vs < n && (l[vs] == ' ' || l[vs] == '\t')) {
        vs++;
    }
    while (ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t')) {
        ve--;
    }
    if (ieq(l, colon, "content-length")) {
        return parse_length(r, l + vs, ve - vs);
    }
    if (ieq(l, colon, "transfer-encoding")) {
        return -EPROTO;
    }
    if (ieq(l, colon, "connection")) {
        parse_connection(r, l + vs, ve - vs);
    }
    return 0;
}

/* One byte of the head: collect a line, check CRLF, hand complete lines on. */
static int head_byte(struct ward_http_resp *r, uint8_t c)
{
    if (++r->head_bytes > WARD_HTTP_MAX_HEADER_BYTES) {
        return -EMSGSIZE;
    }
    if (c == '\n') {
        size_t n;

        if (r->line_len == 0 || r->line[r->line_len - 1] != '\r') {
            return -EPROTO; /* bare LF */
        }
        n = r->line_len - 1u;
        r->line_len = 0;
        return r->phase == WARD_HTTP_STATUS ? parse_status(r, r->line, n)
                                            : parse_header(r, r->line, n);
    }
    if (r->line_len > 0 && r->line[r->line_len - 1] == '\r') {
        return -EPROTO; /* CR not followed by LF */
    }
    if (r->line_len == sizeof(r->line)) {
        return -EMSGSIZE;
    }
    r->line[r->line_len++] = (char)c;
    return 0;
}

int ward_http_resp_feed(struct ward_http_resp *r, const uint8_t *data, size_t len, size_t *consumed)
{
    size_t i = 0;
    int rc = 0;

    while (i < len && rc == 0 && (r->phase == WARD_HTTP_STATUS || r->phase == WARD_HTTP_HEADERS)) {
        rc = head_byte(r, data[i++]);
    }
    if (rc == 0 && r->phase == WARD_HTTP_BODY && i < len) {
        size_t want = r->content_length - r->body_len;
        size_t n = len - i < want ? len - i : want;

        memcpy(r->body + r->body_len, data + i, n);
        r->body_len += n;
        i += n;
        if (r->body_len == r->content_length) {
            r->phase = WARD_HTTP_DONE;
        }
    }
    if (consumed != NULL) {
        *consumed = i;
    }
    if (rc < 0) {
        return fail(r, rc);
    }
    if (r->phase == WARD_HTTP_ERROR) {
        return r->error;
    }
    return r->phase == WARD_HTTP_DONE ? 1 : 0;
}
