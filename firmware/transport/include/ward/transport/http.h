/*
 * The HTTP/1.1 subset the agent speaks: it writes one kind of request (a POST with a
 * Content-Length) and reads responses strictly, incrementally, within fixed bounds.
 *
 * Accepted response: "HTTP/1.1 SP 3DIGIT [SP reason] CRLF", header fields
 * "token ':' OWS value OWS CRLF", an empty line, then exactly Content-Length body bytes.
 * Refused (-EPROTO): other versions, 1xx responses (the agent never sends Expect), bare LF,
 * obsolete line folding, whitespace before the colon, control characters, a
 * Transfer-Encoding (the agent needs Content-Length framing to keep the connection), a
 * missing Content-Length on a response that has a body, duplicate or malformed
 * Content-Length. Refused (-EMSGSIZE): a head above WARD_HTTP_MAX_HEADER_BYTES, more than
 * WARD_HTTP_MAX_HEADERS fields, a body larger than the caller's buffer.
 */
#ifndef WARD_TRANSPORT_HTTP_H_
#define WARD_TRANSPORT_HTTP_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Longest request head ward_http_format_post() can need beyond host and path: "POST " 5,
 * " HTTP/1.1\r\nHost: " 17, IPv6 brackets 2, ":65535" 6, "\r\nContent-Length: " 18,
 * 20 digits, "\r\n\r\n" 4. Exact: what it reserves the request buffer's body cannot use.
 */
#define WARD_HTTP_POST_HEAD_FIXED 72u

/**
 * Write "POST path HTTP/1.1", Host, Content-Type: application/json and Content-Length.
 * @return bytes written (no NUL is counted), -EINVAL for a NULL or unsafe host/path (spaces,
 *         control characters), -ENOSPC when it does not fit.
 */
int ward_http_format_post(char *out, size_t cap, const char *host, uint16_t port, const char *path,
                          size_t content_length);

enum ward_http_phase {
    WARD_HTTP_STATUS,
    WARD_HTTP_HEADERS,
    WARD_HTTP_BODY,
    WARD_HTTP_DONE,
    WARD_HTTP_ERROR,
};

struct ward_http_resp {
    enum ward_http_phase phase;
    uint16_t status;
    bool has_length;
    bool conn_close; /* "Connection: close": the server ends the connection */
    size_t content_length;
    size_t head_bytes; /* bytes of status line and headers seen */
    uint32_t n_headers;
    size_t line_len; /* bytes of the current line collected in line[] */
    uint8_t *body;   /* caller's buffer */
    size_t body_cap;
    size_t body_len;
    int error;      /* the negative errno once phase is WARD_HTTP_ERROR */
    char line[256]; /* the header line being assembled (longer lines are refused) */
};

/** Start parsing a new response into body (body_cap bytes). */
void ward_http_resp_init(struct ward_http_resp *r, uint8_t *body, size_t body_cap);

/**
 * Feed bytes as they arrive; never reads past the end of the response.
 * @return 1 when the response is complete, 0 when more bytes are needed, -EPROTO or
 *         -EMSGSIZE (see above; the parser then stays in WARD_HTTP_ERROR).
 *         *consumed is set to the bytes used (leftover bytes belong to no request).
 */
int ward_http_resp_feed(struct ward_http_resp *r, const uint8_t *data, size_t len,
                        size_t *consumed);

#endif /* WARD_TRANSPORT_HTTP_H_ */
