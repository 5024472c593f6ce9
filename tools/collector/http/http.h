/*
 * A strict HTTP/1.1 request-head parser: the subset ward's agents and wardctl speak, and
 * nothing else.
 *
 * Accepted: `GET` or `POST`, an origin-form target, exactly `HTTP/1.1`, CRLF line ends, a
 * single Host header, at most one Content-Length made of digits. Refused, each with the
 * status the connection is answered with before it is closed: bare LF or CR, obs-fold,
 * whitespace before a colon, control characters, Transfer-Encoding (no chunked bodies, and no
 * Content-Length/Transfer-Encoding smuggling), `Expect`, duplicate Content-Length, Host or
 * Authorization, too many or too large headers, a body larger than the limit.
 *
 * The parser is a pure function over the bytes received so far: no allocation, no state
 * between calls, so the caller re-runs it as more bytes arrive (heads are small and bounded)
 * and the fuzzer can drive it directly. Strings in the result point into the caller's buffer.
 */
#ifndef WCOL_HTTP_HTTP_H_
#define WCOL_HTTP_HTTP_H_

#include <stdbool.h>
#include <stddef.h>

enum wcol_http_method {
    WCOL_HTTP_GET = 1,
    WCOL_HTTP_POST = 2,
};

struct wcol_http_limits {
    size_t max_head;      /* bytes of request line + headers + the blank line */
    size_t max_target;    /* bytes of the request target */
    size_t max_body;      /* largest Content-Length accepted */
    unsigned max_headers; /* header lines */
};

struct wcol_http_request {
    enum wcol_http_method method;
    const char *target; /* origin-form, not NUL-terminated */
    size_t target_len;
    const char *authorization; /* value of Authorization, or NULL */
    size_t authorization_len;
    const char *content_type; /* value of Content-Type, or NULL */
    size_t content_type_len;
    const char *accept; /* value of Accept, or NULL */
    size_t accept_len;
    /* For the browser dashboard (dash/): each NULL when absent, refused when repeated. */
    const char *host, *cookie, *origin, *csrf, *if_none_match; /* X-CSRF-Token: csrf */
    size_t host_len, cookie_len, origin_len, csrf_len, if_none_match_len;
    const char *last_event_id; /* Last-Event-ID of an event stream reconnecting, or NULL */
    size_t last_event_id_len;
    size_t content_length; /* 0 when absent */
    bool has_content_length;
    bool keep_alive; /* false after "Connection: close" */
    unsigned header_count;
    size_t head_len; /* bytes of the head, including the final CRLF CRLF */
    /* When parsing fails: the status to answer with and a one-line reason. */
    int status;
    const char *reason;
};

/**
 * Parse the request head at the start of buf[0..len).
 * @return 0 when a complete, valid head was parsed (req->head_len says how long it is);
 *         -EAGAIN when more bytes are needed (and len is still within the head limit);
 *         -EPROTO when the input is refused: req->status (400, 405, 411, 413, 414, 417, 431,
 *         501, 505) and req->reason say why;
 *         -EINVAL for NULL arguments.
 */
int wcol_http_parse_head(const char *buf, size_t len, const struct wcol_http_limits *limits,
                         struct wcol_http_request *req);

#endif /* WCOL_HTTP_HTTP_H_ */
