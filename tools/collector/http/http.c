#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "http/http.h"

/* RFC 9110 tchar: the characters of a token (method, header name). */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        return true;
    }
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field values: visible ASCII, space, tab and obs-text; never other control characters. */
static bool is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int refuse(struct wcol_http_request *req, int status, const char *reason)
{
    req->status = status;
    req->reason = reason;
    return -EPROTO;
}

static bool name_is(const char *name, size_t len, const char *want)
{
    size_t n = strlen(want);

    if (len != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];

        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != want[i]) {
            return false;
        }
    }
    return true;
}

/* Case-insensitive search for a token in a comma-separated list ("keep-alive, close"). */
static bool list_has_token(const char *v, size_t len, const char *token)
{
    size_t i = 0;

    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) {
            i++;
        }
        size_t start = i;

        while (i < len && v[i] != ',' && v[i] != ' ' && v[i] != '\t') {
            i++;
        }
        if (i > start && name_is(v + start, i - start, token)) {
            return true;
        }
    }
    return false;
}

/* Find CRLF CRLF within the head limit. Returns the head length, 0 if not yet present. */
static size_t find_head_end(const char *buf, size_t len)
{
    for (size_t i = 3; i < len; i++) {
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
            return i + 1;
        }
    }
    return 0;
}

static int parse_request_line(const char *line, size_t len, const struct wcol_http_limits *limits,
                              struct wcol_http_request *req)
{
    size_t i = 0;

    while (i < len && is_tchar((unsigned char)line[i])) {
        i++;
    }
    if (i == 0 || i >= len || line[i] != ' ') {
        return refuse(req, 400, "malformed request line");
    }
    if (i == 3 && memcmp(line, "GET", 3) == 0) {
        req->method = WCOL_HTTP_GET;
    } else if (i == 4 && memcmp(line, "POST", 4) == 0) {
        req->method = WCOL_HTTP_POST;
    } else {
        return refuse(req, 501, "method not implemented (only GET and POST)");
    }
    size_t t = ++i;

    while (i < len && line[i] != ' ') {
        unsigned char c = (unsigned char)line[i];

        if (c <= 0x20 || c >= 0x7f) {
            return refuse(req, 400, "invalid character in request target");
        }
        i++;
    }
    if (i == t || line[t] != '/') {
        return refuse(req, 400, "request target must be an absolute path");
    }
    if (i - t > limits->max_target) {
        return refuse(req, 414, "request target too long");
    }
    if (i >= len) {
        return refuse(req, 400, "malformed request line");
    }
    req->target = line + t;
    req->target_len = i - t;
    i++;
    if (len - i == 8 && memcmp(line + i, "HTTP/1.1", 8) == 0) {
        return 0;
    }
    if (len - i == 8 && memcmp(line + i, "HTTP/1.", 7) == 0) {
        return refuse(req, 505, "only HTTP/1.1 is supported");
    }
    return refuse(req, 400, "malformed HTTP version");
}

static int parse_content_length(const char *v, size_t len, const struct wcol_http_limits *limits,
                                struct wcol_http_request *req)
{
    uint64_t n = 0;

    if (req->has_content_length) {
        return refuse(req, 400, "duplicate Content-Length");
    }
    if (len == 0 || len > 19) {
        return refuse(req, 400, "invalid Content-Length");
    }
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return refuse(req, 400, "invalid Content-Length");
        }
        n = n * 10u + (uint64_t)(v[i] - '0');
    }
    if (n > limits->max_body) {
        return refuse(req, 413, "body larger than the collector accepts");
    }
    req->has_content_length = true;
    req->content_length = (size_t)n;
    return 0;
}

/* Headers kept once by pointer: a second copy is refused rather than guessed between. */
static int once(struct wcol_http_request *req, const char **at, size_t *at_len, const char *v,
                size_t vlen, const char *dup_reason)
{
    if (*at != NULL) {
        return refuse(req, 400, dup_reason);
    }
    *at = v;
    *at_len = vlen;
    return 0;
}

static int apply_browser_header(const char *name, size_t nlen, const char *v, size_t vlen,
                                struct wcol_http_request *req)
{
    if (name_is(name, nlen, "cookie")) {
        return once(req, &req->cookie, &req->cookie_len, v, vlen, "duplicate Cookie");
    }
    if (name_is(name, nlen, "origin")) {
        return once(req, &req->origin, &req->origin_len, v, vlen, "duplicate Origin");
    }
    if (name_is(name, nlen, "x-csrf-token")) {
        return once(req, &req->csrf, &req->csrf_len, v, vlen, "duplicate X-CSRF-Token");
    }
    if (name_is(name, nlen, "if-none-match")) {
        return once(req, &req->if_none_match, &req->if_none_match_len, v, vlen,
                    "duplicate If-None-Match");
    }
    if (name_is(name, nlen, "last-event-id")) { /* an EventSource reconnecting (dash/stream.h) */
        return once(req, &req->last_event_id, &req->last_event_id_len, v, vlen,
                    "duplicate Last-Event-ID");
    }
    return 0;
}

static int apply_header(const char *name, size_t nlen, const char *v, size_t vlen,
                        const struct wcol_http_limits *limits, struct wcol_http_request *req,
                        unsigned *hosts)
{
    if (name_is(name, nlen, "content-length")) {
        return parse_content_length(v, vlen, limits, req);
    }
    if (name_is(name, nlen, "transfer-encoding")) {
        return refuse(req, 501, "Transfer-Encoding is not supported; send Content-Length");
    }
    if (name_is(name, nlen, "expect")) {
        return refuse(req, 417, "Expect is not supported");
    }
    if (name_is(name, nlen, "host")) {
        if (++*hosts > 1) {
            return refuse(req, 400, "duplicate Host");
        }
        req->host = v;
        req->host_len = vlen;
    } else if (name_is(name, nlen, "connection")) {
        if (list_has_token(v, vlen, "close")) {
            req->keep_alive = false;
        }
    } else if (name_is(name, nlen, "authorization")) {
        if (req->authorization != NULL) {
            return refuse(req, 400, "duplicate Authorization");
        }
        req->authorization = v;
        req->authorization_len = vlen;
    } else if (name_is(name, nlen, "content-type")) {
        req->content_type = v;
        req->content_type_len = vlen;
    } else if (name_is(name, nlen, "accept")) {
        req->accept = v;
        req->accept_len = vlen;
    } else {
        return apply_browser_header(name, nlen, v, vlen, req);
    }
    return 0;
}

static int parse_header_line(const char *line, size_t len, const struct wcol_http_limits *limits,
                             struct wcol_http_request *req, unsigned *hosts)
{
    size_t i = 0;

    if (len > 0 && (line[0] == ' ' || line[0] == '\t')) {
        return refuse(req, 400, "obsolete header line folding");
    }
    while (i < len && is_tchar((unsigned char)line[i])) {
        i++;
    }
    if (i == 0 || i >= len || line[i] != ':') {
        return refuse(req, 400, "malformed header line");
    }
    size_t nlen = i++;

    while (i < len && (line[i] == ' ' || line[i] == '\t')) {
        i++;
    }
    size_t vstart = i;
    size_t vend = len;

    for (size_t k = vstart; k < len; k++) {
        if (!is_value_char((unsigned char)line[k])) {
            return refuse(req, 400, "control character in header value");
        }
    }
    while (vend > vstart && (line[vend - 1] == ' ' || line[vend - 1] == '\t')) {
        vend--;
    }
    if (++req->header_count > limits->max_headers) {
        return refuse(req, 431, "too many header lines");
    }
    return apply_header(line, nlen, line + vstart, vend - vstart, limits, req, hosts);
}

static int check_request(struct wcol_http_request *req, unsigned hosts)
{
    if (hosts != 1) {
        return refuse(req, 400, "HTTP/1.1 request without Host");
    }
    if (req->method == WCOL_HTTP_POST && !req->has_content_length) {
        return refuse(req, 411, "POST needs Content-Length");
    }
    if (req->method == WCOL_HTTP_GET && req->content_length != 0) {
        return refuse(req, 400, "GET with a body");
    }
    return 0;
}

int wcol_http_parse_head(const char *buf, size_t len, const struct wcol_http_limits *limits,
                         struct wcol_http_request *req)
{
    if (buf == NULL || limits == NULL || req == NULL) {
        return -EINVAL;
    }
    memset(req, 0, sizeof(*req));
    req->keep_alive = true;

    size_t scan = len < limits->max_head ? len : limits->max_head;
    size_t head = find_head_end(buf, scan);

    if (head == 0) {
        /* A bare LF anywhere so far is already fatal; say so now rather than at the limit. */
        for (size_t i = 0; i < scan; i++) {
            if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r')) {
                return refuse(req, 400, "bare LF in request head");
            }
        }
        if (len >= limits->max_head) {
            return refuse(req, 431, "request head too large");
        }
        return -EAGAIN;
    }

    unsigned hosts = 0;
    size_t pos = 0;
    bool first = true;

    /* Every line ends in CRLF; the head ends with an empty line. */
    while (pos < head - 2) {
        const char *line = buf + pos;
        const char *lf = memchr(line, '\n', head - pos);
        size_t llen = (size_t)(lf - line);

        if (llen == 0 || line[llen - 1] != '\r') {
            return refuse(req, 400, "bare LF in request head");
        }
        llen--;
        if (memchr(line, '\r', llen) != NULL) {
            return refuse(req, 400, "bare CR in request head");
        }
        int rc = first ? parse_request_line(line, llen, limits, req)
                       : parse_header_line(line, llen, limits, req, &hosts);

        if (rc != 0) {
            return rc;
        }
        first = false;
        pos += llen + 2;
    }
    if (first) {
        return refuse(req, 400, "empty request line");
    }
    int rc = check_request(req, hosts);

    if (rc != 0) {
        return rc;
    }
    req->head_len = head;
    return 0;
}
