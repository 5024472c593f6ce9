/*
 * firmware/nms: the exposition writer (both formats, escaping, exact decimals, a full
 * buffer with and without a flush), the request-head parser and the token compare, and the
 * families written from a cache filled through the agent's observe hook. No heap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "heap_count.h"
#include "ward/nms/cache.h"
#include "ward/nms/http_req.h"
#include "ward/nms/metrics.h"
#include "ward/nms/prom.h"

static char s_buf[65536];

static void test_text_and_escaping(void **state)
{
    struct ward_prom w;
    struct ward_prom_label l[2] = { { "sensor", "a\"b\\c\nd" }, { "label", "bad\xff\x01ok" } };

    (void)state;
    heap_count_start();
    ward_prom_init(&w, WARD_PROM_TEXT, s_buf, sizeof(s_buf), NULL, NULL);
    ward_prom_family(&w, "x_celsius", WARD_PROM_GAUGE, "Help with \\ and\nnewline.");
    ward_prom_sample(&w, l, 2, ward_prom_frac(-27500, 1000));
    ward_prom_family(&w, "x_bytes", WARD_PROM_COUNTER, "Bytes.");
    ward_prom_sample(&w, NULL, 0, ward_prom_uint(UINT64_MAX));
    ward_prom_sample(&w, NULL, 0, ward_prom_frac(862, 100));
    ward_prom_sample(&w, NULL, 0, ward_prom_int(INT64_MIN));
    assert_true(ward_prom_finish(&w) > 0);
    assert_int_equal(heap_count_stop(), 0);
    s_buf[w.len] = '\0';
    assert_string_equal(s_buf, "# HELP x_celsius Help with \\\\ and\\nnewline.\n"
                               "# TYPE x_celsius gauge\n"
                               "x_celsius{sensor=\"a\\\"b\\\\c\\nd\",label=\"bad??ok\"} -27.5\n"
                               "# HELP x_bytes_total Bytes.\n"
                               "# TYPE x_bytes_total counter\n"
                               "x_bytes_total 18446744073709551615\n"
                               "x_bytes_total 8.62\n"
                               "x_bytes_total -9223372036854775808\n");
}

static void test_openmetrics(void **state)
{
    struct ward_prom w;

    (void)state;
    ward_prom_init(&w, WARD_PROM_OPENMETRICS, s_buf, sizeof(s_buf), NULL, NULL);
    ward_prom_family(&w, "x_bytes", WARD_PROM_COUNTER, "Say \"bytes\".");
    ward_prom_sample(&w, NULL, 0, ward_prom_int(5));
    assert_true(ward_prom_finish(&w) > 0);
    s_buf[w.len] = '\0';
    assert_string_equal(s_buf, "# HELP x_bytes Say \\\"bytes\\\".\n# TYPE x_bytes counter\n"
                               "x_bytes_total 5\n# EOF\n");
}

struct chunks {
    char all[256];
    size_t len;
    unsigned calls;
};

static int collect(void *user, const char *data, size_t len)
{
    struct chunks *c = user;

    memcpy(c->all + c->len, data, len);
    c->len += len;
    c->calls++;
    return 0;
}

static void test_full_buffer(void **state)
{
    char small[64];
    struct ward_prom w;
    struct chunks c = { .len = 0 };

    (void)state;
    ward_prom_init(&w, WARD_PROM_TEXT, small, sizeof(small), NULL, NULL);
    ward_prom_family(&w, "a_very_long_family_name_that_will_not_fit", WARD_PROM_GAUGE,
                     "A help text long enough to overflow sixty-four bytes of buffer.");
    assert_int_equal(ward_prom_finish(&w), -ENOSPC);
    ward_prom_init(&w, WARD_PROM_TEXT, small, sizeof(small), collect, &c);
    ward_prom_family(&w, "a_very_long_family_name_that_will_not_fit", WARD_PROM_GAUGE,
                     "A help text long enough to overflow sixty-four bytes of buffer.");
    long n = ward_prom_finish(&w);

    assert_int_equal(n, (long)c.len);
    assert_true(c.calls >= 2);
    c.all[c.len] = '\0';
    assert_non_null(strstr(c.all, "# TYPE a_very_long_family_name_that_will_not_fit gauge\n"));
}

static void test_request_parser(void **state)
{
    struct ward_http_req r;
    static const char ok[] = "GET /metrics?x HTTP/1.1\r\nAccept: Application/OpenMetrics-Text\r\n"
                             "authorization:  Bearer  tok123 \r\n\r\nrest";

    (void)state;
    assert_int_equal(ward_http_req_parse(ok, sizeof(ok) - 1, &r), (int)sizeof(ok) - 1 - 4);
    assert_int_equal(r.method, WARD_HTTP_GET);
    assert_int_equal(r.target, WARD_HTTP_METRICS);
    assert_true(r.openmetrics && r.has_bearer && !r.has_body);
    assert_string_equal(r.token, "tok123");
    for (size_t n = 0; n < sizeof(ok) - 5; n++) {
        assert_int_equal(ward_http_req_parse(ok, n, &r), 0); /* incomplete: more bytes */
    }
    assert_int_equal(ward_http_req_parse("PUT /health HTTP/1.0\n\n", 22, &r), 22);
    assert_int_equal(r.method, WARD_HTTP_OTHER);
    assert_int_equal(r.target, WARD_HTTP_HEALTH);
    static const char body[] = "GET /x HTTP/1.1\r\nContent-Length: 3\r\n\r\n";

    assert_int_equal(ward_http_req_parse(body, sizeof(body) - 1, &r), (int)sizeof(body) - 1);
    assert_true(r.has_body && r.target == WARD_HTTP_NOT_FOUND);
    assert_int_equal(ward_http_req_parse("GET /metrics HTTP/3.0\r\n\r\n", 25, &r), -505);
    assert_int_equal(ward_http_req_parse("GET metrics HTTP/1.1\r\n\r\n", 24, &r), -400);
    assert_int_equal(ward_http_req_parse("GET / HTTP/1.1\r\n x: y\r\n\r\n", 25, &r), -400);
    memset(s_buf, 'a', 2000);
    memcpy(s_buf, "GET /", 5);
    assert_int_equal(ward_http_req_parse(s_buf, 2000, &r), -414);
    memcpy(s_buf, "GET / HTTP/1.1\r\nX: ", 19);
    assert_int_equal(ward_http_req_parse(s_buf, 2000, &r), -431);
    assert_true(ward_http_token_equal("abc", "abc", 3));
    assert_false(ward_http_token_equal("abc", "abd", 3));
}

static struct ward_nms_cache s_cache;
static struct ward_agent s_agent;

static void test_families_from_cache(void **state)
{
    static const uint8_t boot[WARD_BOOT_ID_LEN] = { 1 };
    struct ward_agent_config cfg = { .device_id = "dev-1", .boot_id = boot };
    struct ward_sensor_info info = { .id = "temp:chip:t1", .label = "CPU" };
    struct ward_temp_reading t = { .mdeg_c = { 61250, WARD_STATUS_OK, WARD_REASON_NONE } };
    struct ward_observation obs = { .kind = WARD_OBSERVED_TEMP, .sensor = &info, .temp = &t };
    struct ward_nms_agent_stats st = { .config_digest = "00ff" };
    struct ward_prom w;

    (void)state;
    info.thresholds.present = 1u << WARD_THR_UPPER_CRITICAL;
    info.thresholds.value[WARD_THR_UPPER_CRITICAL] = 95000;
    assert_int_equal(ward_agent_init(&s_agent, &cfg, 0), 0);
    ward_nms_cache_init(&s_cache);
    ward_nms_cache_observe(&obs, 10, &s_cache);
    assert_int_equal(ward_health_set_hw_thresholds(&s_agent.health, info.id, &info.thresholds), 0);
    assert_int_equal(ward_agent_feed(&s_agent, info.id, &t.mdeg_c, 10), 0);
    heap_count_start();
    ward_prom_init(&w, WARD_PROM_TEXT, s_buf, sizeof(s_buf) - 1, NULL, NULL);
    assert_true(ward_nms_write_metrics(&w, &s_agent, &s_cache, &st, 20) > 0);
    assert_int_equal(heap_count_stop(), 0);
    s_buf[w.len] = '\0';
    assert_non_null(strstr(s_buf, "ward_temperature_celsius{sensor=\"temp:chip:t1\",label=\"CPU\"} "
                                  "61.25\n"));
    assert_non_null(strstr(s_buf, "ward_temperature_threshold_celsius{sensor=\"temp:chip:t1\","
                                  "level=\"upper_critical\"} 95\n"));
    assert_non_null(strstr(s_buf, "ward_sensor_state{sensor=\"temp:chip:t1\",state=\"ok\"} 1\n"));
    assert_non_null(
        strstr(s_buf, "ward_sensor_state{sensor=\"temp:chip:t1\",state=\"fatal\"} 0\n"));
    assert_non_null(strstr(s_buf, "config_digest=\"00ff\"} 1\n"));
    ward_prom_init(&w, WARD_PROM_TEXT, s_buf, sizeof(s_buf) - 1, NULL, NULL);
    assert_true(ward_nms_write_health(&w, &s_agent, &st, 20) > 0);
    s_buf[w.len] = '\0';
    assert_non_null(strstr(s_buf, "{\"device_id\":\"dev-1\","));
    assert_non_null(strstr(s_buf, "\"sensors\":[{\"id\":\"temp:chip:t1\",\"state\":\"ok\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_and_escaping),   cmocka_unit_test(test_openmetrics),
        cmocka_unit_test(test_full_buffer),         cmocka_unit_test(test_request_parser),
        cmocka_unit_test(test_families_from_cache),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
