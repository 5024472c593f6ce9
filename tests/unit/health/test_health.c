/*
 * The health engine, rule kind by rule kind: thresholds with hysteresis and dwell, rates on
 * counters (wrap, reset), sustained conditions, SMART verdicts and NVMe warning bits,
 * unavailable/standby/fault readings, severities, threshold precedence, and no heap.
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
#include "ward/health.h"

static struct ward_health s_h;
static struct ward_rule s_rules[WARD_HEALTH_MAX_RULES];
static struct ward_rule s_board[4];
static struct ward_transition s_tr;

/* Engine with the given rules file (runtime rules) and optional board rules. */
static void engine(const char *rules_json, size_t n_board)
{
    struct ward_rules_error err;
    int n = ward_rules_parse(rules_json, strlen(rules_json), s_rules, WARD_HEALTH_MAX_RULES, NULL,
                             &err);

    if (n < 0) {
        fail_msg("rules did not parse: %s", err.msg);
    }
    assert_int_equal(ward_health_init(&s_h, n_board ? s_board : NULL, n_board), 0);
    assert_int_equal(ward_health_set_rules(&s_h, s_rules, (size_t)n), 0);
}

static int feed(const char *id, int64_t v, int64_t t)
{
    struct ward_reading r;

    ward_reading_ok(&r, v);
    memset(&s_tr, 0, sizeof(s_tr));
    return ward_health_feed(&s_h, id, &r, t, &s_tr);
}

static int feed_status(const char *id, enum ward_status st, enum ward_reason why, int64_t t)
{
    struct ward_reading r = { .value = 0, .status = st, .reason = why };

    memset(&s_tr, 0, sizeof(s_tr));
    return ward_health_feed(&s_h, id, &r, t, &s_tr);
}

static unsigned state_of(const char *id)
{
    int i = ward_health_find(&s_h, id);

    assert_true(i >= 0);
    return ward_health_sensor_at(&s_h, (unsigned)i)->state;
}

static void expect(unsigned from, unsigned to, unsigned sev)
{
    assert_int_equal(s_tr.from, from);
    assert_int_equal(s_tr.to, to);
    assert_int_equal(s_tr.severity, sev);
}

#define TEMP_RULES                                                                                 \
    "{\"rules\":[{\"sensor\":\"temp:cpu0\",\"upper_caution\":80000,\"upper_critical\":90000,"      \
    "\"upper_fatal\":100000,\"hysteresis\":2000}]}"

static void test_first_ok_reading_is_silent(void **state)
{
    (void)state;
    engine(TEMP_RULES, 0);
    assert_int_equal(feed("temp:cpu0", 71000, 0), 0);
    assert_int_equal(state_of("temp:cpu0"), WARD_STATE_OK);
    /* A sensor no rule names is evaluated by status only. */
    assert_int_equal(feed("temp:other", 150000, 0), 0);
    assert_int_equal(state_of("temp:other"), WARD_STATE_OK);
}

static void test_threshold_levels_and_severities(void **state)
{
    (void)state;
    engine(TEMP_RULES, 0);
    assert_int_equal(feed("temp:cpu0", 80000, 0), 0); /* at the threshold is not past it */
    assert_int_equal(feed("temp:cpu0", 80001, 1), 1);
    expect(WARD_STATE_OK, WARD_STATE_CAUTION, WARD_SEV_LOW);
    assert_int_equal(s_tr.value, 80001);
    assert_true(s_tr.has_value);
    assert_int_equal(feed("temp:cpu0", 95000, 2), 1);
    expect(WARD_STATE_CAUTION, WARD_STATE_CRITICAL, WARD_SEV_MEDIUM);
    assert_int_equal(feed("temp:cpu0", 100500, 3), 1);
    expect(WARD_STATE_CRITICAL, WARD_STATE_FATAL, WARD_SEV_HIGH);
    /* Clearing is as important as raising: fatal -> ok is high. */
    assert_int_equal(feed("temp:cpu0", 50000, 4), 1);
    expect(WARD_STATE_FATAL, WARD_STATE_OK, WARD_SEV_HIGH);
    /* A jump straight to fatal is one event. */
    assert_int_equal(feed("temp:cpu0", 120000, 5), 1);
    expect(WARD_STATE_OK, WARD_STATE_FATAL, WARD_SEV_HIGH);
}

static unsigned oscillate(const char *rules)
{
    unsigned events = 0;

    engine(rules, 0);
    for (int i = 0; i < 100; i++) {
        int rc = feed("temp:cpu0", (i % 2) ? 80100 : 79900, i * 1000);

        assert_true(rc >= 0);
        events += (unsigned)rc;
    }
    return events;
}

static void test_oscillation_with_hysteresis_is_one_event(void **state)
{
    (void)state;
    assert_int_equal(oscillate(TEMP_RULES), 1);
    assert_int_equal(state_of("temp:cpu0"), WARD_STATE_CAUTION);
    /* The same readings without hysteresis flap on every sample: the test can fail. */
    assert_int_equal(oscillate("{\"rules\":[{\"sensor\":\"temp:cpu0\",\"upper_caution\":80000}]}"),
                     99);
}

static void test_hysteresis_clears_only_past_threshold(void **state)
{
    (void)state;
    engine(TEMP_RULES, 0);
    assert_int_equal(feed("temp:cpu0", 80500, 0), 1);
    assert_int_equal(feed("temp:cpu0", 78001, 1), 0); /* within 2000 of 80000: stays */
    assert_int_equal(feed("temp:cpu0", 78000, 2), 1); /* back past it by the hysteresis */
    expect(WARD_STATE_CAUTION, WARD_STATE_OK, WARD_SEV_LOW);
    /* Critical drops to caution, not ok, while caution still holds. */
    assert_int_equal(feed("temp:cpu0", 91000, 3), 1);
    assert_int_equal(feed("temp:cpu0", 88500, 4), 0);
    assert_int_equal(feed("temp:cpu0", 87000, 5), 1);
    expect(WARD_STATE_CRITICAL, WARD_STATE_CAUTION, WARD_SEV_MEDIUM);
}

#define DWELL_RULES                                                                                \
    "{\"rules\":[{\"sensor\":\"temp:cpu0\",\"upper_caution\":80000,\"upper_critical\":90000,"      \
    "\"dwell_ms\":10000}]}"

static void test_dwell_not_yet_met(void **state)
{
    (void)state;
    engine(DWELL_RULES, 0);
    assert_int_equal(feed("temp:cpu0", 85000, 0), 0);
    assert_int_equal(feed("temp:cpu0", 85000, 5000), 0);
    assert_int_equal(feed("temp:cpu0", 85000, 9999), 0);
    assert_int_equal(state_of("temp:cpu0"), WARD_STATE_OK);
    assert_int_equal(feed("temp:cpu0", 85000, 10000), 1);
    expect(WARD_STATE_OK, WARD_STATE_CAUTION, WARD_SEV_LOW);
}

static void test_dwell_restarts_when_condition_breaks(void **state)
{
    (void)state;
    engine(DWELL_RULES, 0);
    assert_int_equal(feed("temp:cpu0", 85000, 0), 0);
    assert_int_equal(feed("temp:cpu0", 70000, 5000), 0); /* broken: the timer restarts */
    assert_int_equal(feed("temp:cpu0", 85000, 8000), 0);
    assert_int_equal(feed("temp:cpu0", 85000, 15000), 0);
    assert_int_equal(feed("temp:cpu0", 85000, 18000), 1);
}

static void test_dwell_is_per_level(void **state)
{
    (void)state;
    engine(DWELL_RULES, 0);
    /* Wandering between caution and critical: "at least caution" holds throughout. */
    assert_int_equal(feed("temp:cpu0", 95000, 0), 0);
    assert_int_equal(feed("temp:cpu0", 85000, 5000), 0);
    assert_int_equal(feed("temp:cpu0", 95000, 8000), 0);
    assert_int_equal(feed("temp:cpu0", 95000, 10000), 1);
    expect(WARD_STATE_OK, WARD_STATE_CAUTION, WARD_SEV_LOW);
    assert_int_equal(feed("temp:cpu0", 95000, 17999), 0);
    assert_int_equal(feed("temp:cpu0", 95000, 18000), 1);
    expect(WARD_STATE_CAUTION, WARD_STATE_CRITICAL, WARD_SEV_MEDIUM);
}

static void test_clear_dwell(void **state)
{
    (void)state;
    engine("{\"rules\":[{\"sensor\":\"fan:cpu\",\"lower_critical\":500,\"clear_dwell_ms\":3000}]}",
           0);
    assert_int_equal(feed("fan:cpu", 400, 0), 1);
    expect(WARD_STATE_OK, WARD_STATE_CRITICAL, WARD_SEV_MEDIUM);
    assert_int_equal(feed("fan:cpu", 1200, 1000), 0);
    assert_int_equal(feed("fan:cpu", 1200, 3999), 0);
    assert_int_equal(feed("fan:cpu", 1200, 4000), 1);
    expect(WARD_STATE_CRITICAL, WARD_STATE_OK, WARD_SEV_MEDIUM);
}

static void test_lower_thresholds_and_negative_values(void **state)
{
    (void)state;
    engine("{\"rules\":[{\"sensor\":\"temp:inlet\",\"lower_caution\":-10000,"
           "\"lower_critical\":-20000,\"upper_caution\":40000,\"hysteresis\":1000}]}",
           0);
    assert_int_equal(feed("temp:inlet", -5000, 0), 0);
    assert_int_equal(feed("temp:inlet", -10001, 1), 1);
    expect(WARD_STATE_OK, WARD_STATE_CAUTION, WARD_SEV_LOW);
    assert_int_equal(feed("temp:inlet", -25000, 2), 1);
    expect(WARD_STATE_CAUTION, WARD_STATE_CRITICAL, WARD_SEV_MEDIUM);
    assert_int_equal(feed("temp:inlet", -19500, 3), 0); /* within hysteresis of -20000 */
    assert_int_equal(feed("temp:inlet", -19000, 4), 1);
    expect(WARD_STATE_CRITICAL, WARD_STATE_CAUTION, WARD_SEV_MEDIUM);
}

static int64_t value_of(const char *id)
{
    int i = ward_health_find(&s_h, id);

    assert_true(i >= 0);
    return ward_health_sensor_at(&s_h, (unsigned)i)->value;
}

#define RATE_RULES(bits)                                                                           \
    "{\"rules\":[{\"sensor\":\"nic:eth0:rx_crc_errors\",\"kind\":\"rate\",\"window_ms\":60000,"    \
    "\"counter_bits\":" #bits ",\"upper_caution\":5,\"upper_critical\":1000}]}"

static void test_rate_per_minute(void **state)
{
    (void)state;
    engine(RATE_RULES(64), 0);
    assert_int_equal(feed("nic:eth0:rx_crc_errors", 1000, 0), 0); /* baseline: no rate yet */
    assert_int_equal(value_of("nic:eth0:rx_crc_errors"), 0);
    /* 2 errors per 10 s = 12 per minute, once the window is covered. */
    for (int t = 1; t <= 12; t++) {
        assert_true(feed("nic:eth0:rx_crc_errors", 1000 + 2 * t, t * 10000) >= 0);
    }
    assert_int_equal(value_of("nic:eth0:rx_crc_errors"), 12);
    assert_int_equal(state_of("nic:eth0:rx_crc_errors"), WARD_STATE_CAUTION);
    /* The counter stops: once the window passes the rate is 0 and the caution clears. */
    for (int t = 13; t <= 26; t++) {
        feed("nic:eth0:rx_crc_errors", 1024, t * 10000);
    }
    assert_int_equal(value_of("nic:eth0:rx_crc_errors"), 0);
    assert_int_equal(state_of("nic:eth0:rx_crc_errors"), WARD_STATE_OK);
}

static void test_rate_rounds_up(void **state)
{
    (void)state;
    engine("{\"rules\":[{\"sensor\":\"c\",\"kind\":\"rate\",\"window_ms\":600000,"
           "\"upper_caution\":0}]}",
           0);
    assert_int_equal(feed("c", 7, 0), 0);
    /* One error in a ten-minute window is 0.1 per minute: reads as 1, never as 0. */
    assert_int_equal(feed("c", 8, 10000), 1);
    assert_int_equal(s_tr.value, 1);
    expect(WARD_STATE_OK, WARD_STATE_CAUTION, WARD_SEV_LOW);
}

static void test_counter_wrap_32(void **state)
{
    (void)state;
    engine(RATE_RULES(32), 0);
    assert_int_equal(feed("nic:eth0:rx_crc_errors", 4294967290LL, 0), 0);
    /* 4294967290 -> 5 on a 32-bit counter is +11, not a reset and not 4 billion. */
    assert_int_equal(feed("nic:eth0:rx_crc_errors", 5, 60000), 1);
    assert_int_equal(value_of("nic:eth0:rx_crc_errors"), 11);
    assert_int_equal(s_h.rate[0].wraps, 1);
    assert_int_equal(s_h.rate[0].resets, 0);
}

static void test_counter_wrap_64(void **state)
{
    (void)state;
    engine(RATE_RULES(64), 0);
    /* The HAL passes uint64 counters as int64: 2^64 - 3 arrives as -3. */
    assert_int_equal(feed("nic:eth0:rx_crc_errors", (int64_t)(UINT64_MAX - 2u), 0), 0);
    assert_int_equal(feed("nic:eth0:rx_crc_errors", 2, 60000), 0);
    assert_int_equal(value_of("nic:eth0:rx_crc_errors"), 5);
    assert_int_equal(s_h.rate[0].wraps, 1);
}

static void test_counter_reset(void **state)
{
    (void)state;
    engine(RATE_RULES(64), 0);
    assert_int_equal(feed("nic:eth0:rx_crc_errors", 1000000, 0), 0);
    assert_int_equal(feed("nic:eth0:rx_crc_errors", 1000000, 30000), 0);
    /* Driver reload: the counter restarts. Neither a huge nor a negative rate. */
    assert_int_equal(feed("nic:eth0:rx_crc_errors", 3, 60000), 0);
    assert_int_equal(value_of("nic:eth0:rx_crc_errors"), 3);
    assert_int_equal(s_h.rate[0].resets, 1);
    assert_int_equal(s_h.rate[0].wraps, 0);
    /* A 32-bit counter far from its top going backwards is a reset too. */
    engine(RATE_RULES(32), 0);
    feed("nic:eth0:rx_crc_errors", 2000000000, 0);
    feed("nic:eth0:rx_crc_errors", 10, 60000);
    assert_int_equal(value_of("nic:eth0:rx_crc_errors"), 10);
    assert_int_equal(s_h.rate[0].resets, 1);
}

static void test_unavailable_is_a_state(void **state)
{
    (void)state;
    engine(TEMP_RULES, 0);
    assert_int_equal(feed("temp:cpu0", 70000, 0), 0);
    assert_int_equal(feed_status("temp:cpu0", WARD_STATUS_UNAVAILABLE, WARD_REASON_MISSING, 1), 1);
    expect(WARD_STATE_OK, WARD_STATE_UNAVAILABLE, WARD_SEV_MEDIUM);
    assert_int_equal(s_tr.reason, WARD_REASON_MISSING);
    assert_false(s_tr.has_value);
    /* Still unavailable: no repeat. */
    assert_int_equal(feed_status("temp:cpu0", WARD_STATUS_UNAVAILABLE, WARD_REASON_IO_ERROR, 2), 0);
    /* Back, and past a threshold: one event straight to the level. */
    assert_int_equal(feed("temp:cpu0", 85000, 3), 1);
    expect(WARD_STATE_UNAVAILABLE, WARD_STATE_CAUTION, WARD_SEV_MEDIUM);
    /* A first reading that is unavailable is an event too. */
    assert_int_equal(feed_status("temp:new", WARD_STATUS_UNAVAILABLE, WARD_REASON_PERMISSION, 4),
                     1);
    expect(WARD_STATE_OK, WARD_STATE_UNAVAILABLE, WARD_SEV_MEDIUM);
}

static void test_unavailable_then_dwell(void **state)
{
    (void)state;
    engine(DWELL_RULES, 0);
    assert_int_equal(feed_status("temp:cpu0", WARD_STATUS_UNAVAILABLE, WARD_REASON_MISSING, 0), 1);
    /* Back with a reading past caution: leaves unavailable at once, raises after the dwell. */
    assert_int_equal(feed("temp:cpu0", 85000, 1000), 1);
    expect(WARD_STATE_UNAVAILABLE, WARD_STATE_OK, WARD_SEV_MEDIUM);
    assert_int_equal(feed("temp:cpu0", 85000, 11000), 1);
    expect(WARD_STATE_OK, WARD_STATE_CAUTION, WARD_SEV_LOW);
}

static void test_standby_keeps_state_and_fault_fails(void **state)
{
    (void)state;
    engine(TEMP_RULES, 0);
    assert_int_equal(feed("temp:cpu0", 85000, 0), 1);
    assert_int_equal(feed_status("temp:cpu0", WARD_STATUS_UNAVAILABLE, WARD_REASON_STANDBY, 1), 0);
    assert_int_equal(state_of("temp:cpu0"), WARD_STATE_CAUTION);
    assert_true(ward_health_sensor_at(&s_h, 0)->flags & WARD_SENSOR_STANDBY);
    assert_int_equal(feed_status("temp:cpu0", WARD_STATUS_FAULT, WARD_REASON_NONE, 2), 1);
    expect(WARD_STATE_CAUTION, WARD_STATE_FAILED, WARD_SEV_HIGH);
    assert_false(ward_health_sensor_at(&s_h, 0)->flags & WARD_SENSOR_STANDBY);
}

static void test_smart_verdicts(void **state)
{
    (void)state;
    engine("{\"rules\":[{\"sensor\":\"disk:*:smart\",\"kind\":\"smart\"},"
           "{\"sensor\":\"disk:quiet:smart\",\"kind\":\"smart\",\"failed_past\":\"ok\"}]}",
           0);
    assert_int_equal(feed("disk:a:smart", WARD_SMART_PASSED, 0), 0);
    assert_int_equal(feed("disk:a:smart", WARD_SMART_FAILED_PAST, 1), 1);
    expect(WARD_STATE_OK, WARD_STATE_CAUTION, WARD_SEV_LOW);
    assert_int_equal(feed("disk:a:smart", WARD_SMART_FAILING, 2), 1);
    expect(WARD_STATE_CAUTION, WARD_STATE_FAILED, WARD_SEV_HIGH);
    assert_int_equal(feed("disk:quiet:smart", WARD_SMART_FAILED_PAST, 3), 0);
    /* A value that is no verdict is bad data, not ok. */
    assert_int_equal(feed("disk:b:smart", 42, 4), 1);
    expect(WARD_STATE_OK, WARD_STATE_UNAVAILABLE, WARD_SEV_MEDIUM);
    assert_int_equal(s_tr.reason, WARD_REASON_BAD_DATA);
}

static void test_nvme_critical_warning(void **state)
{
    (void)state;
    engine("{\"rules\":[{\"sensor\":\"disk:*:critical_warning\",\"kind\":"
           "\"nvme_critical_warning\"},"
           "{\"sensor\":\"disk:t:critical_warning\",\"kind\":\"nvme_critical_warning\","
           "\"mask\":2,\"state\":\"critical\"}]}",
           0);
    assert_int_equal(feed("disk:n:critical_warning", 0, 0), 0);
    assert_int_equal(feed("disk:n:critical_warning", 0x08, 1), 1); /* read-only */
    expect(WARD_STATE_OK, WARD_STATE_FAILED, WARD_SEV_HIGH);
    assert_int_equal(feed("disk:n:critical_warning", 0, 2), 1);
    expect(WARD_STATE_FAILED, WARD_STATE_OK, WARD_SEV_HIGH);
    /* Only the temperature bit counts for t, and it maps to critical. */
    assert_int_equal(feed("disk:t:critical_warning", 0x01, 3), 0);
    assert_int_equal(feed("disk:t:critical_warning", 0x02, 4), 1);
    expect(WARD_STATE_OK, WARD_STATE_CRITICAL, WARD_SEV_MEDIUM);
}

static void test_sustained_cpu(void **state)
{
    (void)state;
    engine("{\"rules\":[{\"sensor\":\"host:cpu_busy_pct\",\"kind\":\"sustained\",\"above\":80,"
           "\"for_ms\":300000,\"hysteresis\":5}]}",
           0);
    for (int64_t t = 0; t < 300000; t += 10000) {
        assert_int_equal(feed("host:cpu_busy_pct", 95, t), 0);
    }
    assert_int_equal(feed("host:cpu_busy_pct", 95, 300000), 1);
    expect(WARD_STATE_OK, WARD_STATE_CAUTION, WARD_SEV_LOW);
    assert_int_equal(feed("host:cpu_busy_pct", 78, 310000), 0); /* within the hysteresis */
    assert_int_equal(feed("host:cpu_busy_pct", 75, 320000), 1);
    /* A filesystem above 90 % for an hour is critical. */
    engine("{\"rules\":[{\"sensor\":\"fs:*:used_pct\",\"kind\":\"sustained\",\"above\":90,"
           "\"for_ms\":3600000,\"state\":\"critical\"}]}",
           0);
    assert_int_equal(feed("fs:/:used_pct", 91, 0), 0);
    assert_int_equal(feed("fs:/:used_pct", 91, 3600000), 1);
    expect(WARD_STATE_OK, WARD_STATE_CRITICAL, WARD_SEV_MEDIUM);
}

static void test_severity_override(void **state)
{
    (void)state;
    engine("{\"rules\":[{\"sensor\":\"temp:cpu0\",\"upper_caution\":80000,"
           "\"severity\":{\"caution\":\"high\",\"unavailable\":\"low\"}}]}",
           0);
    assert_int_equal(feed("temp:cpu0", 81000, 0), 1);
    expect(WARD_STATE_OK, WARD_STATE_CAUTION, WARD_SEV_HIGH);
    assert_int_equal(ward_health_sensor_severity(&s_h, 0), WARD_SEV_HIGH);
    assert_int_equal(feed_status("temp:cpu0", WARD_STATUS_UNAVAILABLE, WARD_REASON_MISSING, 1), 1);
    expect(WARD_STATE_CAUTION, WARD_STATE_UNAVAILABLE, WARD_SEV_HIGH); /* the higher of both */
    assert_int_equal(feed("temp:cpu0", 1000, 2), 1);
    expect(WARD_STATE_UNAVAILABLE, WARD_STATE_OK, WARD_SEV_LOW);
}

static void test_threshold_precedence(void **state)
{
    struct ward_thresholds hw = { 0 };

    (void)state;
    /* Board default: upper_caution 75000 and a hysteresis for every temperature. */
    ward_rule_init(&s_board[0], WARD_RULE_THRESHOLD, "temp:*");
    s_board[0].thr[WARD_THR_UPPER_CAUTION] = 75000;
    s_board[0].thr_set = 1u << WARD_THR_UPPER_CAUTION;
    s_board[0].hysteresis = 3000;
    s_board[0].param_set = WARD_RULE_SET_HYSTERESIS;
    /* Hardware: caution 70000, critical 90000. Runtime: caution 80000 for cpu0 only. */
    hw.present = (1u << WARD_THR_UPPER_CAUTION) | (1u << WARD_THR_UPPER_CRITICAL);
    hw.value[WARD_THR_UPPER_CAUTION] = 70000;
    hw.value[WARD_THR_UPPER_CRITICAL] = 90000;
    engine("{\"rules\":[{\"sensor\":\"temp:cpu0\",\"upper_caution\":80000}]}", 1);
    assert_int_equal(ward_health_set_hw_thresholds(&s_h, "temp:cpu0", &hw), 0);
    assert_int_equal(ward_health_set_hw_thresholds(&s_h, "temp:cpu1", &hw), 0);

    assert_int_equal(feed("temp:cpu0", 78000, 0), 0); /* runtime 80000 beats board and hw */
    assert_int_equal(feed("temp:cpu0", 80500, 1), 1);
    assert_int_equal(feed("temp:cpu0", 91000, 2), 1); /* critical only the hardware knows */
    expect(WARD_STATE_CAUTION, WARD_STATE_CRITICAL, WARD_SEV_MEDIUM);
    assert_int_equal(feed("temp:cpu0", 88000, 3), 0); /* board hysteresis 3000 applies */
    assert_int_equal(feed("temp:cpu1", 74000, 4), 0); /* board 75000 beats hw 70000 */
    assert_int_equal(feed("temp:cpu1", 76000, 5), 1);
    /* Without board defaults the hardware's caution counts. */
    engine("{\"rules\":[]}", 0);
    assert_int_equal(ward_health_set_hw_thresholds(&s_h, "temp:cpu1", &hw), 0);
    assert_int_equal(feed("temp:cpu1", 71000, 0), 1);
    expect(WARD_STATE_OK, WARD_STATE_CAUTION, WARD_SEV_LOW);
}

static void test_exact_rule_beats_glob(void **state)
{
    (void)state;
    engine("{\"rules\":[{\"sensor\":\"temp:*\",\"upper_caution\":50000},"
           "{\"sensor\":\"temp:cpu0\",\"upper_caution\":90000}]}",
           0);
    assert_int_equal(feed("temp:cpu0", 60000, 0), 0);
    assert_int_equal(feed("temp:cpu1", 60000, 0), 1);
    assert_true(ward_health_has_rule(&s_h, "temp:anything"));
    assert_false(ward_health_has_rule(&s_h, "fan:cpu"));
}

static void test_tables_full(void **state)
{
    char id[16];

    (void)state;
    engine("{\"rules\":[{\"sensor\":\"r*\",\"kind\":\"rate\"}]}", 0);
    for (unsigned i = 0; i < WARD_HEALTH_MAX_SENSORS; i++) {
        snprintf(id, sizeof(id), "s%u", i);
        assert_int_equal(feed(id, 1, 0), 0);
    }
    assert_int_equal(feed("one-more", 1, 0), -ENOSPC);
    assert_int_equal(s_h.refused, 1);
    assert_int_equal(feed("", 1, 0), -EINVAL);
    assert_int_equal(feed("bad\nid", 1, 0), -EINVAL);

    engine("{\"rules\":[{\"sensor\":\"r*\",\"kind\":\"rate\"}]}", 0);
    for (unsigned i = 0; i < WARD_HEALTH_MAX_RATES; i++) {
        snprintf(id, sizeof(id), "r%u", i);
        assert_int_equal(feed(id, 1, 0), 0);
    }
    assert_int_equal(feed("r-extra", 1, 0), -ENOSPC);
    assert_int_equal(s_h.rates_high_water, WARD_HEALTH_MAX_RATES);
}

static void test_new_rules_keep_state(void **state)
{
    (void)state;
    engine(TEMP_RULES, 0);
    assert_int_equal(feed("temp:cpu0", 85000, 0), 1);
    /* Stricter rules: the state moves on the next reading, not at the swap. */
    static const char stricter[] = "{\"rules\":[{\"sensor\":\"temp:cpu0\","
                                   "\"upper_caution\":60000,\"upper_critical\":70000}]}";

    assert_int_equal(
        ward_rules_parse(stricter, strlen(stricter), s_rules, WARD_HEALTH_MAX_RULES, NULL, NULL),
        1);
    assert_int_equal(ward_health_set_rules(&s_h, s_rules, 1), 0);
    assert_int_equal(state_of("temp:cpu0"), WARD_STATE_CAUTION);
    assert_int_equal(feed("temp:cpu0", 85000, 1), 1);
    expect(WARD_STATE_CAUTION, WARD_STATE_CRITICAL, WARD_SEV_MEDIUM);
}

static void test_overall(void **state)
{
    enum ward_severity sev;
    unsigned not_ok;

    (void)state;
    engine(TEMP_RULES, 0);
    assert_int_equal(ward_health_overall(&s_h, &sev, &not_ok), WARD_STATE_OK);
    assert_int_equal(sev, WARD_SEV_NONE);
    feed("temp:cpu0", 95000, 0);
    feed_status("temp:x", WARD_STATUS_UNAVAILABLE, WARD_REASON_MISSING, 0);
    feed("temp:y", 1, 0);
    /* critical and unavailable are both medium: critical ranks below unavailable. */
    assert_int_equal(ward_health_overall(&s_h, &sev, &not_ok), WARD_STATE_UNAVAILABLE);
    assert_int_equal(sev, WARD_SEV_MEDIUM);
    assert_int_equal(not_ok, 2);
}

static void test_no_heap(void **state)
{
    char id[16];

    (void)state;
    heap_count_start();
    engine("{\"rules\":[{\"sensor\":\"temp:*\",\"upper_caution\":80000,\"hysteresis\":1000,"
           "\"dwell_ms\":1000},{\"sensor\":\"c*\",\"kind\":\"rate\",\"upper_caution\":3},"
           "{\"sensor\":\"d\",\"kind\":\"smart\"}]}",
           0);
    for (int64_t t = 0; t < 200000; t += 1000) {
        for (unsigned i = 0; i < 8; i++) {
            snprintf(id, sizeof(id), "temp:%u", i);
            feed(id, 70000 + (t / 1000 % 20) * 1000, t);
            snprintf(id, sizeof(id), "c%u", i);
            feed(id, t / 100, t);
        }
        feed("d", WARD_SMART_PASSED + (t / 1000) % 3, t);
        feed_status("gone", WARD_STATUS_UNAVAILABLE, WARD_REASON_MISSING, t);
    }
    assert_int_equal(heap_count_stop(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_ok_reading_is_silent),
        cmocka_unit_test(test_threshold_levels_and_severities),
        cmocka_unit_test(test_oscillation_with_hysteresis_is_one_event),
        cmocka_unit_test(test_hysteresis_clears_only_past_threshold),
        cmocka_unit_test(test_dwell_not_yet_met),
        cmocka_unit_test(test_dwell_restarts_when_condition_breaks),
        cmocka_unit_test(test_dwell_is_per_level),
        cmocka_unit_test(test_clear_dwell),
        cmocka_unit_test(test_lower_thresholds_and_negative_values),
        cmocka_unit_test(test_rate_per_minute),
        cmocka_unit_test(test_rate_rounds_up),
        cmocka_unit_test(test_counter_wrap_32),
        cmocka_unit_test(test_counter_wrap_64),
        cmocka_unit_test(test_counter_reset),
        cmocka_unit_test(test_unavailable_is_a_state),
        cmocka_unit_test(test_unavailable_then_dwell),
        cmocka_unit_test(test_standby_keeps_state_and_fault_fails),
        cmocka_unit_test(test_smart_verdicts),
        cmocka_unit_test(test_nvme_critical_warning),
        cmocka_unit_test(test_sustained_cpu),
        cmocka_unit_test(test_severity_override),
        cmocka_unit_test(test_threshold_precedence),
        cmocka_unit_test(test_exact_rule_beats_glob),
        cmocka_unit_test(test_tables_full),
        cmocka_unit_test(test_new_rules_keep_state),
        cmocka_unit_test(test_overall),
        cmocka_unit_test(test_no_heap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
