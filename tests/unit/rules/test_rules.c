/*
 * The rules file parser: every rule kind as docs/config.md documents it, and errors that
 * name the line and the rule. Also the JSON scanner underneath and the trace-line parser.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "heap_count.h"
#include "ward/hal/disk.h"
#include "ward/base/jscan.h"
#include "ward/rules.h"
#include "ward/trace.h"

static struct ward_rule s_r[WARD_HEALTH_MAX_RULES];
static struct ward_rules_error s_err;

static int parse(const char *text)
{
    memset(s_r, 0x5a, sizeof(s_r));
    return ward_rules_parse(text, strlen(text), s_r, WARD_HEALTH_MAX_RULES, NULL, &s_err);
}

/* The rules must fail with rc, on line `line`, with a message containing `needle`. */
static void bad(const char *text, int rc, unsigned line, const char *needle)
{
    int got = parse(text);

    if (got != rc || s_err.line != line || strstr(s_err.msg, needle) == NULL) {
        fail_msg("want %d line %u \"%s\"; got %d: %s", rc, line, needle, got, s_err.msg);
    }
}

static void test_threshold_rule(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"rules\": [{\"sensor\": \"temp:cpu0\", \"upper_caution\": 80000,\n"
                           "  \"upper_critical\": 90000, \"upper_fatal\": 100000, \"hysteresis\": "
                           "2000, \"dwell_ms\": 10000}]}"),
                     1);
    assert_string_equal(s_r[0].sensor, "temp:cpu0");
    assert_false(s_r[0].glob);
    assert_int_equal(s_r[0].kind, WARD_RULE_THRESHOLD);
    assert_int_equal(s_r[0].thr[WARD_THR_UPPER_CAUTION], 80000);
    assert_int_equal(s_r[0].thr[WARD_THR_UPPER_FATAL], 100000);
    assert_int_equal(s_r[0].thr_set, (1u << WARD_THR_UPPER_CAUTION) |
                                         (1u << WARD_THR_UPPER_CRITICAL) |
                                         (1u << WARD_THR_UPPER_FATAL));
    assert_int_equal(s_r[0].hysteresis, 2000);
    assert_int_equal(s_r[0].dwell_ms, 10000);
    assert_int_equal(s_r[0].param_set, WARD_RULE_SET_HYSTERESIS | WARD_RULE_SET_DWELL);
    assert_int_equal(s_r[0].severity[WARD_STATE_CAUTION], WARD_RULE_SEV_DEFAULT);
}

static void test_every_kind(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{\"version\":1,\"rules\":[\n"
              "{\"sensor\":\"nic:*:rx_crc_errors\",\"kind\":\"rate\",\"window_ms\":60000,"
              "\"counter_bits\":32,\"upper_caution\":1,\"upper_critical\":100},\n"
              "{\"sensor\":\"host:cpu_busy_pct\",\"kind\":\"sustained\",\"above\":80,"
              "\"for_ms\":300000},\n"
              "{\"sensor\":\"fan:*\",\"kind\":\"sustained\",\"below\":600,\"for_ms\":5000,"
              "\"state\":\"critical\",\"clear_dwell_ms\":2000},\n"
              "{\"sensor\":\"disk:*:smart\",\"kind\":\"smart\",\"failed_past\":\"ok\"},\n"
              "{\"sensor\":\"disk:*:critical_warning\",\"kind\":\"nvme_critical_warning\","
              "\"mask\":6,\"state\":\"fatal\",\"severity\":{\"fatal\":\"medium\"}}\n"
              "],\"intervals_ms\":{\"temp\":2000,\"heartbeat\":30000}}"),
        5);
    assert_int_equal(s_r[0].kind, WARD_RULE_RATE);
    assert_true(s_r[0].glob);
    assert_int_equal(s_r[0].window_ms, 60000);
    assert_int_equal(s_r[0].counter_bits, 32);
    assert_int_equal(s_r[1].kind, WARD_RULE_SUSTAINED);
    assert_int_equal(s_r[1].thr_set, 1u << WARD_THR_UPPER_CAUTION);
    assert_int_equal(s_r[1].thr[WARD_THR_UPPER_CAUTION], 80);
    assert_int_equal(s_r[1].dwell_ms, 300000);
    assert_int_equal(s_r[2].thr_set, 1u << WARD_THR_LOWER_CRITICAL);
    assert_int_equal(s_r[2].thr[WARD_THR_LOWER_CRITICAL], 600);
    assert_int_equal(s_r[2].clear_dwell_ms, 2000);
    assert_int_equal(s_r[3].kind, WARD_RULE_SMART);
    assert_int_equal(s_r[3].mapped_state, WARD_STATE_OK);
    assert_int_equal(s_r[4].kind, WARD_RULE_NVME);
    assert_int_equal(s_r[4].nvme_mask, 6);
    assert_int_equal(s_r[4].mapped_state, WARD_STATE_FATAL);
    assert_int_equal(s_r[4].severity[WARD_STATE_FATAL], WARD_SEV_MEDIUM);
    /* Defaults of each kind. */
    assert_int_equal(parse("{\"rules\":[{\"sensor\":\"a\",\"kind\":\"rate\"},{\"sensor\":\"b\","
                           "\"kind\":\"smart\"},{\"sensor\":\"c\",\"kind\":"
                           "\"nvme_critical_warning\"}]}"),
                     3);
    assert_int_equal(s_r[0].window_ms, WARD_RULE_WINDOW_DEFAULT_MS);
    assert_int_equal(s_r[0].counter_bits, 64);
    assert_int_equal(s_r[1].mapped_state, WARD_STATE_CAUTION);
    assert_int_equal(s_r[2].nvme_mask, 0xff);
    assert_int_equal(s_r[2].mapped_state, WARD_STATE_FAILED);
}

static void test_intervals(void **state)
{
    static const char text[] = "{\"rules\":[],\"intervals_ms\":{\"disk\":600000}}";
    uint32_t iv[WARD_CLASS_COUNT];

    (void)state;
    assert_int_equal(ward_rules_parse(text, strlen(text), NULL, 4, iv, NULL), 0);
    assert_int_equal(iv[WARD_CLASS_DISK], 600000);
    assert_int_equal(iv[WARD_CLASS_TEMP], 0);
    bad("{\"rules\":[],\n\"intervals_ms\":{\"tmp\":1000}}", -EINVAL, 2, "unknown class \"tmp\"");
    bad("{\"rules\":[],\"intervals_ms\":{\"temp\":10}}", -ERANGE, 1, "interval out of range");
}

static void test_errors_name_line_and_rule(void **state)
{
    (void)state;
    bad("{\"rules\":[\n{\"sensor\":\"a\"},\n{\"sensor\":\"temp:*\",\n\"uper_caution\":3}]}",
        -EINVAL, 4, "rule 1 (temp:*): unknown key \"uper_caution\"");
    bad("{\"rules\":[{\"sensor\":\"a\",\n\"upper_caution\":80.5}]}", -EPROTO, 2,
        "\"upper_caution\": number must be an integer");
    bad("{\"rules\":[{\"sensor\":\"a\",\"upper_caution\":\"80\"}]}", -EPROTO, 1,
        "expected an integer");
    bad("{\"rules\":[{\"sensor\":\"a\",\"upper_caution\":9,\"upper_critical\":8}]}", -EINVAL, 1,
        "thresholds out of order");
    bad("{\"rules\":[{\"sensor\":\"a\",\"lower_caution\":9,\"upper_caution\":9}]}", -EINVAL, 1,
        "thresholds out of order");
    bad("{\"rules\":[{\"sensor\":\"a\",\"kind\":\"sustained\",\"above\":1}]}", -EINVAL, 1,
        "needs for_ms");
    bad("{\"rules\":[{\"sensor\":\"a\",\"kind\":\"sustained\",\"above\":1,\"below\":0,"
        "\"for_ms\":1}]}",
        -EINVAL, 1, "exactly one of above, below");
    bad("{\"rules\":[{\"sensor\":\"a\",\"kind\":\"smart\",\"upper_caution\":1}]}", -EINVAL, 1,
        "key not used by this kind of rule: \"upper_caution\"");
    bad("{\"rules\":[{\"sensor\":\"a\",\"window_ms\":1000}]}", -EINVAL, 1, "\"window_ms\"");
    bad("{\"rules\":[{\"sensor\":\"a\",\"kind\":\"magic\"}]}", -EINVAL, 1,
        "unknown kind \"magic\"");
    bad("{\"rules\":[{\"sensor\":\"a\",\"severity\":{\"caution\":\"urgent\"}}]}", -EINVAL, 1,
        "severity must be low, medium or high");
    bad("{\"rules\":[{\"sensor\":\"a\",\"severity\":{\"ok\":\"low\"}}]}", -EINVAL, 1,
        "not a state with a severity");
    bad("{\"rules\":[{\"upper_caution\":1}]}", -EINVAL, 1, "missing \"sensor\"");
    bad("{\"rules\":[{\"sensor\":\"a\",\"hysteresis\":-1}]}", -ERANGE, 1,
        "\"hysteresis\" out of range");
    bad("{\"rules\":[{\"sensor\":\"a\",\"sensor\":\"b\"}]}", -EINVAL, 1, "duplicate key");
    bad("{\"rules\":[{\"sensor\":\"a\",\"kind\":\"rate\",\"counter_bits\":65}]}", -ERANGE, 1,
        "\"counter_bits\" out of range (1..64)");
    bad("{\"rules\":[{\"sensor\":\"a\",\"kind\":\"nvme_critical_warning\",\"state\":"
        "\"unavailable\"}]}",
        -EINVAL, 1, "must be ok, caution, critical, fatal or failed");
    bad("{\"rules\":[{\"sensor\":\"\"}]}", -EINVAL, 1, "printable ASCII");
    bad("{\"rules\":[{\"sensor\":\"a\"}],\"rules\":[]}", -EINVAL, 1, "unknown or duplicate key");
    bad("{\"version\":2,\"rules\":[]}", -EINVAL, 1, "unsupported version");
    bad("{}", -EINVAL, 1, "missing \"rules\"");
    bad("\n\n{\"rules\":[{\"sensor\":\"a\"},]}", -EPROTO, 3, "trailing comma");
    bad("{\"rules\":[{\"sensor\":\"a\"}]} x", -EPROTO, 1, "unexpected text after the value");
    bad("{\"rules\":[{\"sensor\":\"a\"}\n", -EPROTO, 2, "");
    bad("[]", -EPROTO, 1, "a rules file is a JSON object");
}

static void test_sensor_too_long_and_too_many(void **state)
{
    char text[600];
    char id[WARD_HEALTH_ID_MAX + 8];
    size_t n = 0;

    (void)state;
    memset(id, 'x', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    snprintf(text, sizeof(text), "{\"rules\":[{\"sensor\":\"%s\"}]}", id);
    bad(text, -ENAMETOOLONG, 1, "CONFIG_WARD_HEALTH_ID_MAX");

    static char many[64 * (WARD_HEALTH_MAX_RULES + 2)];

    n += (size_t)snprintf(many + n, sizeof(many) - n, "{\"rules\":[");
    for (unsigned i = 0; i <= WARD_HEALTH_MAX_RULES; i++) {
        n += (size_t)snprintf(many + n, sizeof(many) - n, "%s\n{\"sensor\":\"s%u\"}", i ? "," : "",
                              i);
    }
    snprintf(many + n, sizeof(many) - n, "]}");
    bad(many, -ENOSPC, WARD_HEALTH_MAX_RULES + 2u, "too many rules");
}

static void test_validate_only_writes_nothing(void **state)
{
    static const char text[] = "{\"rules\":[{\"sensor\":\"temp:*\",\"upper_caution\":1}]}";
    struct ward_rule untouched[2];

    (void)state;
    memset(untouched, 0x33, sizeof(untouched));
    assert_int_equal(ward_rules_parse(text, strlen(text), NULL, 2, NULL, NULL), 1);
    for (size_t i = 0; i < sizeof(untouched); i++) {
        assert_int_equal(((uint8_t *)untouched)[i], 0x33);
    }
}

static void test_glob(void **state)
{
    (void)state;
    assert_true(ward_glob_match("temp:*", "temp:cpu0"));
    assert_true(ward_glob_match("temp:*", "temp:"));
    assert_false(ward_glob_match("temp:*", "tem"));
    assert_true(ward_glob_match("nic:*:rx_*errors", "nic:eth0:rx_crc_errors"));
    assert_true(ward_glob_match("nic:*:rx_*errors", "nic:eth0:rx_errors"));
    assert_false(ward_glob_match("nic:*:rx_*errors", "nic:eth0:tx_errors"));
    assert_true(ward_glob_match("disk:?:smart", "disk:a:smart"));
    assert_false(ward_glob_match("disk:?:smart", "disk:ab:smart"));
    assert_true(ward_glob_match("*", ""));
    assert_true(ward_glob_match("a*b*c", "aXXbYYbZZc"));
    assert_false(ward_glob_match("a*b*c", "aXXbYYbZZ"));
    assert_true(ward_glob_match("exact", "exact"));
    assert_false(ward_glob_match("exact", "exact2"));
}

static void test_jscan_values(void **state)
{
    static const char text[] = "{\"s\":\"a\\\"b\\\\\\/\\n\\u00e9\\ud83d\\ude00\",\"min\":"
                               "-9223372036854775808,\"max\":9223372036854775807,\"u\":"
                               "18446744073709551615,\"t\":true,\"n\":null,\"a\":[1,[],{}]}";
    struct ward_jscan s;
    char key[8];
    char str[32];
    int64_t v;
    bool b;

    (void)state;
    ward_jscan_init(&s, text, strlen(text));
    assert_int_equal(ward_jscan_object(&s), 0);
    assert_int_equal(ward_jscan_member(&s, key, sizeof(key)), 1);
    assert_int_equal(ward_jscan_string(&s, str, sizeof(str)), 12);
    assert_string_equal(str, "a\"b\\/\n\xc3\xa9\xf0\x9f\x98\x80");
    assert_int_equal(ward_jscan_member(&s, key, sizeof(key)), 1);
    assert_string_equal(key, "min");
    assert_int_equal(s.key_len, 3); /* the decoders tell names apart by length first */
    assert_int_equal(ward_jscan_int64(&s, &v), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(ward_jscan_member(&s, key, sizeof(key)), 1);
    assert_int_equal(ward_jscan_int64(&s, &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(ward_jscan_member(&s, key, sizeof(key)), 1);
    assert_int_equal(ward_jscan_counter(&s, &v), 0);
    assert_true((uint64_t)v == UINT64_MAX);
    assert_int_equal(ward_jscan_member(&s, key, sizeof(key)), 1);
    assert_int_equal(ward_jscan_bool(&s, &b), 0);
    assert_true(b);
    assert_int_equal(ward_jscan_member(&s, key, sizeof(key)), 1);
    assert_true(ward_jscan_null(&s));
    assert_int_equal(ward_jscan_member(&s, key, sizeof(key)), 1);
    assert_int_equal(ward_jscan_array(&s), 0);
    assert_int_equal(ward_jscan_element(&s), 1);
    assert_int_equal(ward_jscan_int64(&s, &v), 0);
    assert_int_equal(ward_jscan_element(&s), 1);
    assert_int_equal(ward_jscan_array(&s), 0);
    assert_int_equal(ward_jscan_element(&s), 0);
    assert_int_equal(ward_jscan_element(&s), 1);
    assert_int_equal(ward_jscan_object(&s), 0);
    assert_int_equal(ward_jscan_member(&s, key, sizeof(key)), 0);
    assert_int_equal(ward_jscan_element(&s), 0);
    assert_int_equal(ward_jscan_member(&s, key, sizeof(key)), 0);
    assert_int_equal(ward_jscan_end(&s), 0);
}

static int scan_int(const char *text, int64_t *v, bool counter)
{
    struct ward_jscan s;
    int rc;

    ward_jscan_init(&s, text, strlen(text));
    rc = counter ? ward_jscan_counter(&s, v) : ward_jscan_int64(&s, v);
    return rc != 0 ? rc : ward_jscan_end(&s);
}

static int scan_str(const char *text, char *buf, size_t len)
{
    struct ward_jscan s;
    int rc;

    ward_jscan_init(&s, text, strlen(text));
    rc = ward_jscan_string(&s, buf, len);
    return rc < 0 ? rc : ward_jscan_end(&s);
}

static void test_jscan_rejects(void **state)
{
    int64_t v;
    char buf[8];

    (void)state;
    assert_int_equal(scan_int("9223372036854775808", &v, false), -ERANGE);
    assert_int_equal(scan_int("-9223372036854775809", &v, false), -ERANGE);
    assert_int_equal(scan_int("18446744073709551616", &v, true), -ERANGE);
    assert_int_equal(scan_int("1.0", &v, false), -EPROTO);
    assert_int_equal(scan_int("1e3", &v, false), -EPROTO);
    assert_int_equal(scan_int("01", &v, false), -EPROTO);
    assert_int_equal(scan_int("-", &v, false), -EPROTO);
    assert_int_equal(scan_int("+1", &v, false), -EPROTO);
    assert_int_equal(scan_int("-0", &v, false), 0);
    assert_int_equal(scan_str("\"a\tb\"", buf, sizeof(buf)), -EPROTO);
    assert_int_equal(scan_str("\"\\x\"", buf, sizeof(buf)), -EPROTO);
    assert_int_equal(scan_str("\"\\ud800\"", buf, sizeof(buf)), -EPROTO);
    assert_int_equal(scan_str("\"\\udc00\"", buf, sizeof(buf)), -EPROTO);
    assert_int_equal(scan_str("\"\\u0000\"", buf, sizeof(buf)), -EPROTO);
    assert_int_equal(scan_str("\"\\u00g0\"", buf, sizeof(buf)), -EPROTO);
    assert_int_equal(scan_str("\"abcdefgh\"", buf, sizeof(buf)), -ENAMETOOLONG);
    assert_int_equal(scan_str("\"abc", buf, sizeof(buf)), -EPROTO);
    assert_int_equal(scan_str("\"abc\"\0x", buf, sizeof(buf)), 0); /* strlen stops at NUL */
    {
        static const char nul_after[] = "\"ab\"\0";
        struct ward_jscan s;

        ward_jscan_init(&s, nul_after, sizeof(nul_after) - 1);
        assert_int_equal(ward_jscan_string(&s, buf, sizeof(buf)), 2);
        assert_int_equal(ward_jscan_end(&s), -EPROTO);
    }
    {
        static const char deep[] = "[[[[[[[[[[1]]]]]]]]]]";
        struct ward_jscan s;
        int rc = 0;

        ward_jscan_init(&s, deep, strlen(deep));
        for (int i = 0; i < 10 && rc == 0; i++) {
            rc = ward_jscan_array(&s);
            if (rc == 0) {
                ward_jscan_element(&s);
            }
        }
        assert_int_equal(rc, -EPROTO);
        assert_string_equal(s.why, "nested too deeply");
    }
}

static int trace(const char *line, struct ward_trace_rec *rec, const char **why)
{
    return ward_trace_parse_line(line, strlen(line), rec, why);
}

static void test_trace_lines(void **state)
{
    struct ward_trace_rec rec;
    const char *why = NULL;

    (void)state;
    assert_int_equal(
        trace("{\"t_ms\": 0, \"sensor\": \"temp:cpu0\", \"value\": 71000}\n", &rec, &why), 0);
    assert_int_equal(rec.t_ms, 0);
    assert_string_equal(rec.sensor, "temp:cpu0");
    assert_int_equal(rec.reading.status, WARD_STATUS_OK);
    assert_int_equal(rec.reading.value, 71000);
    assert_int_equal(
        trace("{\"t_ms\":5,\"sensor\":\"c\",\"value\":18446744073709551615}", &rec, &why), 0);
    assert_true((uint64_t)rec.reading.value == UINT64_MAX);
    assert_int_equal(trace("{\"t_ms\":5,\"sensor\":\"t\",\"status\":\"unavailable\"}", &rec, &why),
                     0);
    assert_int_equal(rec.reading.status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(rec.reading.reason, WARD_REASON_MISSING);
    assert_int_equal(trace("{\"sensor\":\"d\",\"status\":\"unavailable\",\"reason\":\"standby\","
                           "\"t_ms\":9}",
                           &rec, &why),
                     0);
    assert_int_equal(rec.reading.reason, WARD_REASON_STANDBY);
    assert_int_equal(trace("{\"t_ms\":1,\"sensor\":\"f\",\"status\":\"fault\"}", &rec, &why), 0);
    assert_int_equal(rec.reading.status, WARD_STATUS_FAULT);
    assert_int_equal(
        trace("{\"t_ms\":1,\"sensor\":\"f\",\"status\":\"ok\",\"value\":-40000}", &rec, &why), 0);
    assert_int_equal(rec.reading.value, -40000);
    assert_int_equal(trace("   \r\n", &rec, &why), -ENODATA);
    assert_int_equal(trace("", &rec, &why), -ENODATA);
}

static void trace_bad(const char *line, int rc, const char *needle)
{
    struct ward_trace_rec rec;
    const char *why = NULL;
    int got = trace(line, &rec, &why);

    if (got != rc || why == NULL || strstr(why, needle) == NULL) {
        fail_msg("%s: want %d \"%s\", got %d \"%s\"", line, rc, needle, got, why ? why : "(null)");
    }
}

static void test_trace_errors(void **state)
{
    (void)state;
    trace_bad("{\"t_ms\":0,\"sensor\":\"a\",\"value\":1.5}", -EPROTO, "integer");
    trace_bad("{\"t_ms\":0,\"sensor\":\"a\"}", -EINVAL, "needs a value");
    trace_bad("{\"t_ms\":0,\"value\":1}", -EINVAL, "needs t_ms and sensor");
    trace_bad("{\"t_ms\":-1,\"sensor\":\"a\",\"value\":1}", -ERANGE, "negative");
    trace_bad("{\"t_ms\":0,\"sensor\":\"a\",\"value\":1,\"vlaue\":2}", -EINVAL, "unknown key");
    trace_bad("{\"t_ms\":0,\"sensor\":\"a\",\"value\":1,\"t_ms\":2}", -EINVAL, "duplicate");
    trace_bad("{\"t_ms\":0,\"sensor\":\"a\",\"status\":\"broken\"}", -EINVAL, "status must be");
    trace_bad("{\"t_ms\":0,\"sensor\":\"a\",\"status\":\"unavailable\",\"value\":3}", -EINVAL,
              "has no value");
    trace_bad("{\"t_ms\":0,\"sensor\":\"a\",\"status\":\"unavailable\",\"reason\":\"tired\"}",
              -EINVAL, "unknown reason");
    trace_bad("{\"t_ms\":0,\"sensor\":\"a\",\"value\":1,\"reason\":\"missing\"}", -EINVAL,
              "reason applies only");
    trace_bad("{\"t_ms\":0,\"sensor\":\"a\\u0001\",\"value\":1}", -EINVAL, "printable ASCII");
    trace_bad("{\"t_ms\":0,\"sensor\":\"a\",\"value\":1} {}", -EPROTO, "unexpected text");
    trace_bad("[1]", -EPROTO, "JSON object");
    trace_bad("{\"t_ms\":0,\"sensor\":\"a\",\"value\":99999999999999999999}", -ERANGE,
              "out of range");
}

static void test_parsers_use_no_heap(void **state)
{
    static const char rules[] = "{\"rules\":[{\"sensor\":\"temp:*\",\"upper_caution\":80000,"
                                "\"severity\":{\"caution\":\"high\"}}],\"intervals_ms\":{\"fan\":"
                                "1000}}";
    struct ward_trace_rec rec;

    (void)state;
    heap_count_start();
    assert_int_equal(parse(rules), 1);
    assert_int_equal(trace("{\"t_ms\":0,\"sensor\":\"a\",\"value\":1}", &rec, NULL), 0);
    assert_int_equal(heap_count_stop(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threshold_rule),
        cmocka_unit_test(test_every_kind),
        cmocka_unit_test(test_intervals),
        cmocka_unit_test(test_errors_name_line_and_rule),
        cmocka_unit_test(test_sensor_too_long_and_too_many),
        cmocka_unit_test(test_validate_only_writes_nothing),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_jscan_values),
        cmocka_unit_test(test_jscan_rejects),
        cmocka_unit_test(test_trace_lines),
        cmocka_unit_test(test_trace_errors),
        cmocka_unit_test(test_parsers_use_no_heap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
