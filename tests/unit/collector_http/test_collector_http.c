/*
 * The collector's request-head parser: what it accepts, the status of every refusal, and
 * incremental parsing (a head arriving in pieces).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/http.h"

static const struct wcol_http_limits s_lim = {
    .max_head = 512, .max_target = 64, .max_body = 4096, .max_headers = 8
};

static int parse(const char *text, struct wcol_http_request *r)
{
    return wcol_http_parse_head(text, strlen(text), &s_lim, r);
}

static void expect_refused(const char *text, int status)
{
    struct wcol_http_request r;

    assert_int_equal(parse(text, &r), -EPROTO);
    assert_int_equal(r.status, status);
    assert_non_null(r.reason);
}

static void test_post_accepted(void **state)
{
    const char *t = "POST /v1/ingest HTTP/1.1\r\nHost: c:8443\r\nContent-Type: application/json"
                    "\r\nContent-Length: 17\r\n\r\n{\"body follows\"}";
    struct wcol_http_request r;

    (void)state;
    assert_int_equal(parse(t, &r), 0);
    assert_int_equal(r.method, WCOL_HTTP_POST);
    assert_int_equal(r.target_len, 10);
    assert_memory_equal(r.target, "/v1/ingest", 10);
    assert_int_equal(r.content_length, 17);
    assert_true(r.keep_alive);
    assert_int_equal(r.content_type_len, 16);
    assert_memory_equal(r.content_type, "application/json", 16);
    assert_int_equal(r.head_len, strlen(t) - strlen("{\"body follows\"}"));
    assert_null(r.authorization);
}

static void test_get_with_token_and_close(void **state)
{
    const char *t = "GET /v1/events?since=3 HTTP/1.1\r\nhost: x\r\nAUTHORIZATION:  Bearer abc  \r\n"
                    "Connection: keep-alive, Close\r\n\r\n";
    struct wcol_http_request r;

    (void)state;
    assert_int_equal(parse(t, &r), 0);
    assert_int_equal(r.method, WCOL_HTTP_GET);
    assert_false(r.keep_alive);
    assert_int_equal(r.authorization_len, 10); /* surrounding spaces trimmed */
    assert_memory_equal(r.authorization, "Bearer abc", 10);
    assert_int_equal(r.content_length, 0);
}

static void test_incremental(void **state)
{
    const char *t = "POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n";
    size_t n = strlen(t);
    struct wcol_http_request r;

    (void)state;
    for (size_t cut = 0; cut < n; cut++) {
        assert_int_equal(wcol_http_parse_head(t, cut, &s_lim, &r), -EAGAIN);
    }
    assert_int_equal(wcol_http_parse_head(t, n, &s_lim, &r), 0);
    assert_int_equal(r.head_len, n);
}

static void test_refusals(void **state)
{
    (void)state;
    expect_refused("GET / HTTP/1.1\nHost: x\n\n", 400);                  /* bare LF */
    expect_refused("GET / HTTP/1.1\nHost: x", 400);                      /* early */
    expect_refused("GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n", 400);         /* bare CR */
    expect_refused("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400); /* obs-fold */
    expect_refused("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);           /* space, colon */
    expect_refused("GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400);        /* control */
    expect_refused("GET / HTTP/1.1\r\n\r\n", 400);                       /* no Host */
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400); /* two Hosts */
    expect_refused("GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);    /* absolute */
    expect_refused("GET / HTTP/1.0\r\nHost: x\r\n\r\n", 505);
    expect_refused("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 400);
    expect_refused("PUT / HTTP/1.1\r\nHost: x\r\n\r\n", 501);
    expect_refused("POST / HTTP/1.1\r\nHost: x\r\n\r\n", 411);
    expect_refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501);
    expect_refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
                   400);
    expect_refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n", 400);
    expect_refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4097\r\n\r\n", 413);
    expect_refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
                   400);
    expect_refused("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n", 417);
    expect_refused("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n", 400);
    expect_refused("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n",
                   400);
    expect_refused("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
                   "HTTP/1.1\r\nHost: x\r\n\r\n",
                   414);
}

/* What the dashboard reads (dash/dash.c): Host, Cookie, Origin, X-CSRF-Token, If-None-Match,
 * each once. */
static void test_browser_headers(void **state)
{
    const char *t = "POST /ui/logout HTTP/1.1\r\nHost: h:1\r\ncookie: a=1; b=2\r\n"
                    "Origin: https://h:1\r\nX-CSRF-Token: abc\r\nIf-None-Match: \"e\"\r\n"
                    "Content-Length: 0\r\n\r\n";
    struct wcol_http_request r;

    (void)state;
    assert_int_equal(parse(t, &r), 0);
    assert_int_equal(r.host_len, 3);
    assert_memory_equal(r.host, "h:1", 3);
    assert_int_equal(r.cookie_len, 8);
    assert_memory_equal(r.cookie, "a=1; b=2", 8);
    assert_int_equal(r.origin_len, 11);
    assert_memory_equal(r.origin, "https://h:1", 11);
    assert_int_equal(r.csrf_len, 3);
    assert_memory_equal(r.csrf, "abc", 3);
    assert_int_equal(r.if_none_match_len, 3);
    expect_refused("GET / HTTP/1.1\r\nHost: x\r\nCookie: a\r\nCookie: b\r\n\r\n", 400);
    expect_refused("GET / HTTP/1.1\r\nHost: x\r\nOrigin: a\r\nOrigin: b\r\n\r\n", 400);
    expect_refused("GET / HTTP/1.1\r\nHost: x\r\nX-CSRF-Token: a\r\nx-csrf-token: b\r\n\r\n", 400);
}

static void test_limits(void **state)
{
    char big[1024];
    int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: x\r\n");

    (void)state;
    for (int i = 0; i < 8; i++) {
        n += snprintf(big + n, sizeof(big) - (size_t)n, "X-%d: y\r\n", i);
    }
    snprintf(big + n, sizeof(big) - (size_t)n, "\r\n");
    expect_refused(big, 431); /* Host + 8 more: 9 header lines, limit 8 */
    /* No end of head within max_head bytes: 431 as soon as the limit is reached. */
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    struct wcol_http_request r;

    assert_int_equal(wcol_http_parse_head(big, 511, &s_lim, &r), -EAGAIN);
    assert_int_equal(wcol_http_parse_head(big, 512, &s_lim, &r), -EPROTO);
    assert_int_equal(r.status, 431);
    assert_int_equal(wcol_http_parse_head(NULL, 0, &s_lim, &r), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_accepted), cmocka_unit_test(test_get_with_token_and_close),
        cmocka_unit_test(test_incremental),   cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_limits),        cmocka_unit_test(test_browser_headers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
