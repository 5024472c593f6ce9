/*
 * Fuzz harness for the pull endpoints' request-head parser (firmware/nms/src/http_req.c).
 * Input: the bytes a client sends. Properties checked on every input:
 *  - the verdict is the same whether the head arrives whole or grows one byte at a time
 *    (the listener re-parses as bytes arrive): once a prefix is complete or refused, every
 *    longer input gives the same answer;
 *  - a complete head's length is within the input and ends in a blank line;
 *  - a refusal is one of the documented statuses; the token fits its buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/nms/http_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_one(const char *in, size_t len, int rc, const struct ward_http_req *r)
{
    if (rc > 0) {
        if ((size_t)rc > len || in[rc - 1] != '\n') {
            abort();
        }
        if (r->token_len >= sizeof(r->token) ||
            (r->has_bearer && !r->token_too_long && strlen(r->token) > r->token_len)) {
            abort();
        }
    } else if (rc < 0 && rc != -400 && rc != -414 && rc != -431 && rc != -505) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    struct ward_http_req whole;
    struct ward_http_req part;
    int rc = ward_http_req_parse(in, size, &whole);

    check_one(in, size, rc, &whole);
    /* Grow the input byte by byte: the first decided prefix must decide the same way. */
    for (size_t n = 0; n <= size && n <= 8192; n++) {
        int prc = ward_http_req_parse(in, n, &part);

        check_one(in, n, prc, &part);
        if (prc != 0) {
            if (prc != rc || (prc > 0 && memcmp(&part, &whole, sizeof(part)) != 0)) {
                abort();
            }
            break;
        }
    }
    return 0;
}
