/*
 * Fuzz the collector's HTTP/1.1 request-head parser (tools/collector/http/http.c). The input is
 * copied to a buffer of exactly its size, so a read past the end is caught by ASan under
 * libFuzzer. Invariants that fail abort():
 *  - a parsed head lies inside the input, its target is an absolute path inside the head,
 *    its Content-Length within the limit, its Authorization/Content-Type inside the head;
 *  - a refusal names a 4xx/5xx status and a reason;
 *  - parsing is incremental: every proper prefix of an accepted head is "need more" or a
 *    refusal, never an accepted request (no request is cut short);
 *  - the parser never asks for more than the head limit.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct wcol_http_limits s_limits = {
    .max_head = 1024, .max_target = 256, .max_body = 65536, .max_headers = 16
};

static int in_head(const char *p, size_t n, const char *buf, size_t head)
{
    return p == NULL || (p >= buf && p + n <= buf + head);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    struct wcol_http_request req;

    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    int rc = wcol_http_parse_head(buf, size, &s_limits, &req);

    if (rc == 0) {
        if (req.head_len == 0 || req.head_len > size || req.head_len > s_limits.max_head ||
            req.content_length > s_limits.max_body || req.target_len == 0 ||
            req.target_len > s_limits.max_target || req.target[0] != '/' ||
            !in_head(req.target, req.target_len, buf, req.head_len) ||
            !in_head(req.authorization, req.authorization_len, buf, req.head_len) ||
            !in_head(req.content_type, req.content_type_len, buf, req.head_len) ||
            (req.method != WCOL_HTTP_GET && req.method != WCOL_HTTP_POST)) {
            abort();
        }
        size_t head = req.head_len;

        /* A proper prefix is never a complete request. */
        for (size_t cut = head > 64 ? head - 64 : 0; cut < head; cut++) {
            if (wcol_http_parse_head(buf, cut, &s_limits, &req) == 0) {
                abort();
            }
        }
    } else if (rc == -EPROTO) {
        if (req.status < 400 || req.status > 505 || req.reason == NULL) {
            abort();
        }
    } else if (rc == -EAGAIN) {
        if (size >= s_limits.max_head) {
            abort(); /* must have been refused with 431 by now */
        }
    } else {
        abort();
    }
    free(buf);
    return 0;
}
