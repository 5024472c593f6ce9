/*
 * Fuzz harness for the agent's HTTP/1.1 response parser (firmware/transport/src/http.c).
 * Input: byte 0 picks the body buffer size, byte 1 the chunk size the response arrives in;
 * the rest is the response. Properties checked on every input:
 *  - the verdict, status, body and bytes consumed do not depend on how the input is chunked;
 *  - the parser never consumes more than it is given nor writes past the body buffer;
 *  - a complete response has exactly Content-Length body bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/transport/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
    int rc;
    uint16_t status;
    size_t consumed;
    size_t body_len;
};

static struct outcome run(const uint8_t *in, size_t len, size_t chunk, uint8_t *body, size_t cap)
{
    struct ward_http_resp r;
    struct outcome o = { 0 };

    ward_http_resp_init(&r, body, cap);
    while (o.consumed < len && o.rc == 0) {
        size_t n = len - o.consumed < chunk ? len - o.consumed : chunk;
        size_t used = 0;

        o.rc = ward_http_resp_feed(&r, in + o.consumed, n, &used);
        if (used > n || (o.rc == 0 && used != n) || r.body_len > cap) {
            abort();
        }
        o.consumed += used;
    }
    if (o.rc == 1 && r.body_len != r.content_length) {
        abort();
    }
    o.status = r.status;
    o.body_len = r.body_len;
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t body_a[1024];
    static uint8_t body_b[1024];
    size_t cap;
    size_t chunk;
    struct outcome whole;
    struct outcome split;

    if (size < 2) {
        return 0;
    }
    cap = (size_t)data[0] * 4u;
    chunk = 1u + data[1] % 17u;
    whole = run(data + 2, size - 2, size, body_a, cap);
    split = run(data + 2, size - 2, chunk, body_b, cap);
    if (whole.rc != split.rc || whole.status != split.status || whole.consumed != split.consumed ||
        whole.body_len != split.body_len || memcmp(body_a, body_b, whole.body_len) != 0) {
        abort();
    }
    return 0;
}
