/*
 * The HTTP/1.1 response parser, byte-exact edge cases, and the request head writer. Every
 * case is also fed one byte at a time, which must give the same verdict.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ward/transport/config.h"
#include "ward/transport/http.h"

struct result {
    int rc;
    uint16_t status;
    size_t body_len;
    bool conn_close;
    size_t consumed;
    uint8_t body[256];
};

static struct result parse_with(const char *in, size_t len, size_t chunk, size_t cap)
{
    struct ward_http_resp r;
    struct result out;
    size_t pos = 0;

    memset(&out, 0, sizeof(out));
    ward_http_resp_init(&r, out.body, cap);
    out.rc = 0;
    while (pos < len && out.rc == 0) {
        size_t n = len - pos < chunk ? len - pos : chunk;
        size_t used = 0;

        out.rc = ward_http_resp_feed(&r, (const uint8_t *)in + pos, n, &used);
        assert_true(used <= n);
        pos += used;
        if (out.rc == 0) {
            assert_int_equal(used, n); /* incomplete: everything offered is taken */
        }
    }
    out.status = r.status;
    out.body_len = r.body_len;
    out.conn_close = r.conn_close;
    out.consumed = pos;
    return out;
}

/* Parse whole and byte by byte; both must agree. */
static struct result parse(const char *in, size_t cap)
{
    struct result a = parse_with(in, strlen(in), strlen(in) + 1, cap);
    struct result b = parse_with(in, strlen(in), 1, cap);

    assert_int_equal(a.rc, b.rc);
    assert_int_equal(a.status, b.status);
    assert_int_equal(a.body_len, b.body_len);
    assert_int_equal(a.consumed, b.consumed);
    assert_memory_equal(a.body, b.body, a.body_len);
    return a;
}

static void test_ok_response(void **state)
{
    struct result r = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhello", 64);

    (void)state;
    assert_int_equal(r.rc, 1);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 5);
    assert_memory_equal(r.body, "hello", 5);
    assert_false(r.conn_close);
}

static void test_reason_phrase_forms(void **state)
{
    (void)state;
    assert_int_equal(parse("HTTP/1.1 204 \r\n\r\n", 8).rc, 1);
    assert_int_equal(parse("HTTP/1.1 204\r\n\r\n", 8).rc, 1);
    assert_int_equal(parse("HTTP/1.1 204 No Content\tat all\r\n\r\n", 8).rc, 1);
    assert_int_equal(parse("HTTP/1.1 204X\r\n\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 204 a\x01\r\n\r\n", 8).rc, -EPROTO);
}

static void test_status_line_rejects(void **state)
{
    (void)state;
    assert_int_equal(parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse("http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 20 OK\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 2000 OK\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 100 Continue\r\n\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 600 Odd\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 099 Odd\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse(" HTTP/1.1 200 OK\r\n", 8).rc, -EPROTO);
}

static void test_line_endings(void **state)
{
    (void)state;
    assert_int_equal(parse("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\rContent-Length: 0\r\n\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nA: b\rc\r\nContent-Length: 0\r\n\r\n", 8).rc,
                     -EPROTO);
}

static void test_header_syntax(void **state)
{
    (void)state;
    /* obs-fold, space before colon, empty name, no colon, control in value */
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nA: b\r\n c\r\nContent-Length: 0\r\n\r\n", 8).rc,
                     -EPROTO);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\n: 0\r\n\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nA: b\x7f\r\nContent-Length: 0\r\n\r\n", 8).rc,
                     -EPROTO);
    /* obs-text in a value is allowed; the name is case-insensitive */
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nA: \xc3\xa9\r\ncOnTeNt-LeNgTh: 0\r\n\r\n", 8).rc, 1);
}

static void test_content_length_rules(void **state)
{
    (void)state;
    assert_int_equal(parse("HTTP/1.1 200 OK\r\n\r\n", 8).rc, -EPROTO); /* no framing */
    assert_int_equal(
        parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 1 1\r\n\r\nx", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 1,1\r\n\r\nx", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n123456789", 8).rc,
                     -EMSGSIZE);
    assert_int_equal(
        parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", 8).rc,
        -EMSGSIZE);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length:\t8 \r\n\r\n12345678", 8).rc, 1);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 008\r\n\r\n12345678", 8).rc, 1);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 204 OK\r\nContent-Length: 1\r\n\r\n", 8).rc, -EPROTO);
    assert_int_equal(parse("HTTP/1.1 304 OK\r\nContent-Length: 0\r\n\r\n", 8).rc, 1);
}

static void test_stops_at_end_of_response(void **state)
{
    const char *two = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n";
    struct result r = parse_with(two, strlen(two), strlen(two), 8);

    (void)state;
    assert_int_equal(r.rc, 1);
    assert_int_equal(r.consumed, strlen("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
}

static void test_connection_tokens(void **state)
{
    (void)state;
    assert_true(
        parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 8).conn_close);
    assert_true(parse("HTTP/1.1 200 OK\r\nConnection: x , CLOSE\r\nContent-Length: 0\r\n\r\n", 8)
                    .conn_close);
    assert_false(
        parse("HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 0\r\n\r\n", 8).conn_close);
    assert_false(parse("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", 8)
                     .conn_close);
}

static void test_bounds(void **state)
{
    char big[4096];
    size_t n;

    (void)state;
    /* a 300-byte header line does not fit the line buffer */
    n = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX: %0300d\r\n\r\n", 0);
    assert_int_equal(parse_with(big, n, n, 8).rc, -EMSGSIZE);
    /* too many fields */
    n = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i <= WARD_HTTP_MAX_HEADERS; i++) {
        n += (size_t)snprintf(big + n, sizeof(big) - n, "A%d: b\r\n", i);
    }
    n += (size_t)snprintf(big + n, sizeof(big) - n, "Content-Length: 0\r\n\r\n");
    assert_int_equal(parse_with(big, n, n, 8).rc, -EMSGSIZE);
    /* head larger than WARD_HTTP_MAX_HEADER_BYTES with few fields */
    n = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\n");
    for (int i = 0; n < WARD_HTTP_MAX_HEADER_BYTES + 10u && i < WARD_HTTP_MAX_HEADERS - 1; i++) {
        n += (size_t)snprintf(big + n, sizeof(big) - n, "X%02d: %0200d\r\n", i, 0);
    }
    n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n");
    assert_int_equal(parse_with(big, n, n, 8).rc, -EMSGSIZE);
}

static void test_error_is_sticky(void **state)
{
    struct ward_http_resp r;
    uint8_t body[8];
    size_t used;

    (void)state;
    ward_http_resp_init(&r, body, sizeof(body));
    assert_int_equal(ward_http_resp_feed(&r, (const uint8_t *)"HTTP/1.0", 8, &used), 0);
    assert_int_equal(ward_http_resp_feed(&r, (const uint8_t *)" 200 OK\r\n", 9, &used), -EPROTO);
    assert_int_equal(r.phase, WARD_HTTP_ERROR);
    assert_int_equal(ward_http_resp_feed(&r, (const uint8_t *)"x", 1, &used), -EPROTO);
}

static void test_format_post(void **state)
{
    char out[256];
    int n;

    (void)state;
    n = ward_http_format_post(out, sizeof(out), "c.example", 443, "/v1/ingest", 1234);
    assert_int_equal(n, (int)strlen("POST /v1/ingest HTTP/1.1\r\nHost: c.example\r\n"
                                    "Content-Length: 1234\r\n\r\n"));
    assert_memory_equal(out,
                        "POST /v1/ingest HTTP/1.1\r\nHost: c.example\r\n"
                        "Content-Length: 1234\r\n\r\n",
                        (size_t)n);
    n = ward_http_format_post(out, sizeof(out), "::1", 8443, "/v1/ingest", 0);
    assert_true(n > 0);
    assert_non_null(strstr(out, "Host: [::1]:8443\r\n"));
    assert_int_equal(ward_http_format_post(out, sizeof(out), "a b", 443, "/x", 0), -EINVAL);
    assert_int_equal(ward_http_format_post(out, sizeof(out), "a\r\nX: y", 443, "/x", 0), -EINVAL);
    assert_int_equal(ward_http_format_post(out, sizeof(out), "a", 443, "x", 0), -EINVAL);
    assert_int_equal(ward_http_format_post(out, sizeof(out), "", 443, "/x", 0), -EINVAL);
    assert_int_equal(ward_http_format_post(out, 20, "a", 443, "/x", 0), -ENOSPC);
    /* the fixed reserve covers the longest head: IPv6 brackets, a port, 20 digits */
    n = ward_http_format_post(out, sizeof(out), "::1", 65535, "/", SIZE_MAX);
    assert_true(n > 0 && (size_t)n <= WARD_HTTP_POST_HEAD_FIXED + 3u + 1u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_response),
        cmocka_unit_test(test_reason_phrase_forms),
        cmocka_unit_test(test_status_line_rejects),
        cmocka_unit_test(test_line_endings),
        cmocka_unit_test(test_header_syntax),
        cmocka_unit_test(test_content_length_rules),
        cmocka_unit_test(test_stops_at_end_of_response),
        cmocka_unit_test(test_connection_tokens),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_error_is_sticky),
        cmocka_unit_test(test_format_post),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
