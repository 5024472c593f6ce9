/*
 * The request head of a pull endpoint (GET /metrics, GET /health), parsed from untrusted
 * bytes without allocation: request line, then only the headers ward needs (Accept,
 * Authorization, Content-Length, Transfer-Encoding). Lines may end in CRLF or LF; a line
 * longer than WARD_HTTP_LINE_MAX is refused, as are folded headers and bytes that are not
 * allowed where they stand. The caller bounds the whole head (CONFIG_WARD_NMS_PROM_REQUEST_MAX).
 */
#ifndef WARD_NMS_HTTP_REQ_H_
#define WARD_NMS_HTTP_REQ_H_

#include <stdbool.h>
#include <stddef.h>

#define WARD_HTTP_LINE_MAX  1024
#define WARD_HTTP_TOKEN_MAX 128

enum ward_http_method {
    WARD_HTTP_GET = 0,
    WARD_HTTP_HEAD,
    WARD_HTTP_OTHER, /* answered 405 */
};

enum ward_http_target {
    WARD_HTTP_NOT_FOUND = 0,
    WARD_HTTP_METRICS, /* /metrics (a query string is ignored) */
    WARD_HTTP_HEALTH,  /* /health */
};

struct ward_http_req {
    enum ward_http_method method;
    enum ward_http_target target;
    bool openmetrics; /* Accept names application/openmetrics-text */
    bool has_body;    /* Content-Length other than 0, or Transfer-Encoding */
    bool has_bearer;  /* Authorization: Bearer <token> */
    bool token_too_long;
    size_t token_len;
    char token[WARD_HTTP_TOKEN_MAX];
};

/**
 * Parse the head at buf[0..len).
 * @return the head's length including its blank line (> 0) when complete; 0 when more bytes
 *         are needed; or minus the HTTP status to answer: -400 (malformed), -414 (request
 *         line too long), -431 (a header line too long), -505 (not HTTP/1.x).
 */
int ward_http_req_parse(const char *buf, size_t len, struct ward_http_req *out);

/** true when a and b (n bytes each) are equal; time depends on n only. */
bool ward_http_token_equal(const char *a, const char *b, size_t n);

#endif /* WARD_NMS_HTTP_REQ_H_ */
