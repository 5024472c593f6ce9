/*
 * The sim backend: every behaviour, composition, determinism, the scenario errors, the
 * shipped scenarios and their stories, and no heap use. Scenarios in this file are written
 * with ' for " to stay readable; sim_load() swaps them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "heap_count.h"
#include "ward/hal/sim.h"
#include "ward/hal/sim_impl.h"
#include "ward/hal/smart.h"
#include "ward_scenario_healthy_server.h"

static struct ward_sim s_sim;
static struct ward_sim s_sim2;
static struct ward_hal s_hal;
static struct ward_hal s_hal2;
static char s_err[256];
static char s_text[1 << 18];

/* A scenario written with ' for ", as JSON in s_text; returns its length. */
static size_t quote(const char *text)
{
    size_t n = strlen(text);

    assert_true(n < sizeof(s_text));
    for (size_t i = 0; i < n; i++) {
        s_text[i] = text[i] == '\'' ? '"' : text[i];
    }
    return n;
}

/* Load a scenario into sim and an empty hal. */
static int sim_load_into(struct ward_sim *sim, struct ward_hal *hal, const char *text)
{
    size_t n = quote(text);

    memset(hal, 0, sizeof(*hal));
    return ward_sim_init(sim, hal, s_text, n, s_err, sizeof(s_err));
}

static int sim_load(const char *text)
{
    return sim_load_into(&s_sim, &s_hal, text);
}

static void load_ok(const char *text)
{
    int rc = sim_load(text);

    if (rc != 0) {
        fail_msg("scenario rejected (%d): %s", rc, s_err);
    }
}

static struct ward_temp_reading temp_at(unsigned ch, uint64_t t)
{
    struct ward_temp_reading r;

    ward_sim_set_time(&s_sim, t);
    assert_int_equal(ward_temp_read(s_hal.temp[0], ch, &r), 0);
    return r;
}

static int64_t temp_value(unsigned ch, uint64_t t)
{
    struct ward_temp_reading r = temp_at(ch, t);

    assert_int_equal(r.mdeg_c.status, WARD_STATUS_OK);
    return r.mdeg_c.value;
}

static struct ward_nic_reading nic_at(unsigned ch, uint64_t t)
{
    struct ward_nic_reading r;

    ward_sim_set_time(&s_sim, t);
    assert_int_equal(ward_nic_read(s_hal.nic[0], ch, &r), 0);
    return r;
}

static struct ward_smart smart_at(unsigned i, uint64_t t)
{
    struct ward_smart s;

    ward_sim_set_time(&s_sim, t);
    assert_int_equal(ward_disk_smart(s_hal.disk[0], i, &s), 0);
    return s;
}

static const struct ward_ata_attr *attr(const struct ward_smart *s, uint8_t id)
{
    for (unsigned i = 0; i < s->u.ata.n_attrs; i++) {
        if (s->u.ata.attr[i].id == id) {
            return &s->u.ata.attr[i];
        }
    }
    fail_msg("attribute %u missing", id);
    return NULL;
}

static void test_constant(void **state)
{
    struct ward_sensor_info info;

    (void)state;
    load_ok("{'temps': [{'id': 'temp:a:1', 'label': 'CPU', 'value': 42500},"
            "            {'id': 'temp:a:2', 'value': {'value': -40000}},"
            "            {'id': 'temp:a:3', 'value': {'behaviour': 'constant', 'value': 7}}]}");
    assert_int_equal(s_hal.n_temp, 1);
    assert_int_equal(ward_temp_count(s_hal.temp[0]), 3);
    assert_int_equal(ward_temp_info(s_hal.temp[0], 0, &info), 0);
    assert_string_equal(info.id, "temp:a:1");
    assert_string_equal(info.label, "CPU");
    assert_int_equal(info.thresholds.present, 0);
    assert_int_equal(temp_value(0, 0), 42500);
    assert_int_equal(temp_value(0, 999999), 42500);
    assert_int_equal(temp_value(1, 5), -40000);
    assert_int_equal(temp_value(2, 5), 7);
    assert_int_equal(ward_temp_info(s_hal.temp[0], 3, &info), -EINVAL);
    assert_null(s_hal.fan[0]);
    assert_null(s_hal.host);
}

static void test_ramp(void **state)
{
    (void)state;
    load_ok("{'temps': [{'id': 't', 'value': {'behaviour': 'ramp', 'from': -40000, 'to': 60000,"
            "                                  'at': 1000, 'over': 10000}}]}");
    assert_int_equal(temp_value(0, 0), -40000);
    assert_int_equal(temp_value(0, 1000), -40000);
    assert_int_equal(temp_value(0, 1001), -39990);
    assert_int_equal(temp_value(0, 6000), 10000);
    assert_int_equal(temp_value(0, 11000), 60000);
    assert_int_equal(temp_value(0, 500000), 60000);
}

static void test_ramp_exact_for_large_values(void **state)
{
    (void)state;
    /* 2^53 over 2^40 ms: the product needs 93 bits, the result must still be exact. */
    load_ok("{'host': {'fs': [{'mount_point': '/', 'total_bytes': 9007199254740992,"
            "  'avail_bytes': {'behaviour': 'ramp', 'from': 0, 'to': 9007199254740992,"
            "                  'over': 1099511627776}}]}}");
    struct ward_host_fs fs;

    ward_sim_set_time(&s_sim, (uint64_t)1 << 39);
    assert_int_equal(ward_host_fs_read(s_hal.host, 0, &fs), 0);
    assert_true(fs.avail_bytes == (uint64_t)1 << 52);
    ward_sim_set_time(&s_sim, ((uint64_t)1 << 40) - 1);
    assert_int_equal(ward_host_fs_read(s_hal.host, 0, &fs), 0);
    assert_true(fs.avail_bytes == ((uint64_t)1 << 53) - 8192);
}

static void test_step_square_decay(void **state)
{
    (void)state;
    load_ok("{'temps': [{'id': 's', 'value': {'behaviour': 'step', 'from': 1, 'to': 2, 'at': 500}},"
            " {'id': 'q', 'value': {'behaviour': 'square', 'low': 0, 'high': 10, 'at': 100,"
            "                       'period': 1000, 'duty': 25}},"
            " {'id': 'd', 'value': {'behaviour': 'decay', 'from': 8000, 'to': 1000, 'at': 0,"
            "                       'half_life': 100}}]}");
    assert_int_equal(temp_value(0, 499), 1);
    assert_int_equal(temp_value(0, 500), 2);
    assert_int_equal(temp_value(1, 99), 0);   /* low before at */
    assert_int_equal(temp_value(1, 100), 10); /* high first, for 250 ms */
    assert_int_equal(temp_value(1, 349), 10);
    assert_int_equal(temp_value(1, 350), 0);
    assert_int_equal(temp_value(1, 1099), 0);
    assert_int_equal(temp_value(1, 1100), 10);
    assert_int_equal(temp_value(2, 0), 8000);
    assert_int_equal(temp_value(2, 100), 1000 + 3500); /* the distance halves each 100 ms */
    assert_int_equal(temp_value(2, 150), 1000 + 2625); /* linear within a half-life */
    assert_int_equal(temp_value(2, 200), 1000 + 1750);
    assert_int_equal(temp_value(2, 100000), 1000); /* reaches `to` exactly */
}

static void test_rate_counter(void **state)
{
    struct ward_nic_reading r;

    (void)state;
    load_ok("{'nics': [{'name': 'eth0', 'counters': {"
            "  'rx_bytes': {'behaviour': 'rate', 'start': 1000, 'by': 125000000},"
            "  'rx_dropped': {'behaviour': 'rate', 'by': 1, 'every': 4000, 'at': 2000},"
            "  'collisions': null}}]}");
    r = nic_at(0, 0);
    assert_int_equal(r.counter[WARD_NIC_RX_BYTES].value, 1000);
    assert_int_equal(r.counter[WARD_NIC_TX_BYTES].status, WARD_STATUS_OK); /* absent: 0 */
    assert_int_equal(r.counter[WARD_NIC_TX_BYTES].value, 0);
    assert_int_equal(r.counter[WARD_NIC_COLLISIONS].status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(r.counter[WARD_NIC_COLLISIONS].reason, WARD_REASON_NOT_SUPPORTED);
    r = nic_at(0, 1500);
    assert_int_equal(r.counter[WARD_NIC_RX_BYTES].value, 1000 + 187500000);
    assert_int_equal(r.counter[WARD_NIC_RX_DROPPED].value, 0);
    r = nic_at(0, 2000 + 3999);
    assert_int_equal(r.counter[WARD_NIC_RX_DROPPED].value, 0);
    r = nic_at(0, 2000 + 4000);
    assert_int_equal(r.counter[WARD_NIC_RX_DROPPED].value, 1);
    r = nic_at(0, 2000 + 40000);
    assert_int_equal(r.counter[WARD_NIC_RX_DROPPED].value, 10);
}

#define NOISY_SCENARIO(seed)                                                                       \
    "{'seed': " seed ", 'temps': ["                                                                \
    " {'id': 'temp:x:a', 'value': {'value': 50000, 'noise': {'amplitude': 2000, 'every': 500}}},"  \
    " {'id': 'temp:x:b', 'value': {'value': 50000, 'noise': {'amplitude': 2000, 'every': 500}}}]}"

static void test_noise_deterministic(void **state)
{
    int64_t a[64], b[64];
    int same_other_sensor = 0, same_other_seed = 0, distinct = 0;

    (void)state;
    load_ok(NOISY_SCENARIO("7"));
    for (int i = 0; i < 64; i++) {
        a[i] = temp_value(0, (uint64_t)i * 500);
        b[i] = temp_value(1, (uint64_t)i * 500);
        assert_true(a[i] >= 48000 && a[i] <= 52000);
        same_other_sensor += a[i] == b[i];
        distinct += i > 0 && a[i] != a[i - 1];
        /* constant within one noise interval */
        assert_int_equal(temp_value(0, (uint64_t)i * 500 + 499), a[i]);
    }
    assert_true(distinct > 50);         /* it is noise, not a constant */
    assert_true(same_other_sensor < 8); /* independent streams per sensor */

    /* Same seed, new instance, reads in a different order: identical values. */
    load_ok(NOISY_SCENARIO("7"));
    for (int i = 63; i >= 0; i--) {
        assert_int_equal(temp_value(0, (uint64_t)i * 500 + 17), a[i]);
    }
    /* Another seed: another stream. */
    load_ok(NOISY_SCENARIO("8"));
    for (int i = 0; i < 64; i++) {
        same_other_seed += temp_value(0, (uint64_t)i * 500) == a[i];
    }
    assert_true(same_other_seed < 8);
}

static void test_noise_on_counter_stays_monotonic(void **state)
{
    int64_t prev = -1;

    (void)state;
    /* amplitude at its limit: by * noise.every / (2 * every) = 1000 * 250 / 2000 = 125 */
    load_ok("{'nics': [{'name': 'eth0', 'counters': {'rx_packets': {'behaviour': 'rate',"
            "  'by': 1000, 'every': 1000, 'noise': {'amplitude': 125, 'every': 250}}}}]}");
    for (uint64_t t = 0; t < 20000; t += 7) {
        struct ward_nic_reading r = nic_at(0, t);

        assert_true(r.counter[WARD_NIC_RX_PACKETS].value >= prev);
        prev = r.counter[WARD_NIC_RX_PACKETS].value;
    }
    assert_int_equal(sim_load("{'nics': [{'name': 'eth0', 'counters': {'rx_packets': {"
                              "'behaviour': 'rate', 'by': 1000, 'noise': {'amplitude': 126,"
                              " 'every': 250}}}}]}"),
                     -EINVAL);
    assert_non_null(strstr(s_err, "never decreases"));
}

static void test_stuck_unavailable_fault_alarm(void **state)
{
    struct ward_temp_reading r;
    int64_t frozen;

    (void)state;
    load_ok("{'temps': [{'id': 't', 'thresholds': {'upper_caution': 90000},"
            " 'value': {'behaviour': 'ramp', 'from': 0, 'to': 100000, 'over': 100000,"
            "  'noise': {'amplitude': 300},"
            "  'events': [{'at': 20000, 'until': 30000, 'stuck': true},"
            "             {'at': 40000, 'until': 45000, 'unavailable': 'io-error'},"
            "             {'at': 50000, 'until': 55000, 'fault': true},"
            "             {'at': 60000, 'until': 61000, 'alarm': true}]}}]}");
    frozen = temp_value(0, 20000);
    assert_true(frozen >= 19700 && frozen <= 20300);
    assert_int_equal(temp_value(0, 25000), frozen);
    assert_int_equal(temp_value(0, 29999), frozen);
    assert_true(temp_value(0, 30000) >= 29700); /* moves again */
    r = temp_at(0, 40000);
    assert_int_equal(r.mdeg_c.status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(r.mdeg_c.reason, WARD_REASON_IO_ERROR);
    assert_string_equal(ward_reason_name(r.mdeg_c.reason), "io-error");
    r = temp_at(0, 52000);
    assert_int_equal(r.mdeg_c.status, WARD_STATUS_FAULT);
    r = temp_at(0, 55000);
    assert_int_equal(r.mdeg_c.status, WARD_STATUS_OK);
    assert_false(r.alarm);
    assert_true(temp_at(0, 60500).alarm);  /* explicit alarm event */
    assert_false(temp_at(0, 61000).alarm); /* 61 C: below the caution threshold */
    assert_true(temp_at(0, 91000).alarm);  /* above upper_caution, like the chip's flag */
}

static void test_failing_fan(void **state)
{
    struct ward_fan_reading f;
    struct ward_sensor_info info;

    (void)state;
    load_ok("{'fans': [{'id': 'fan:c:fan3', 'label': 'FAN3', 'thresholds': {'lower_caution': 1200},"
            "  'rpm': {'behaviour': 'decay', 'from': 6000, 'at': 10000, 'half_life': 5000,"
            "          'events': [{'at': 80000, 'fault': true}]}, 'pwm': 40},"
            " {'id': 'fan:c:fan4', 'rpm': 5000}]}");
    assert_null(s_hal.temp[0]);
    assert_int_equal(ward_fan_count(s_hal.fan[0]), 2);
    assert_int_equal(ward_fan_info(s_hal.fan[0], 0, &info), 0);
    assert_int_equal(info.thresholds.value[WARD_THR_LOWER_CAUTION], 1200);
    ward_sim_set_time(&s_sim, 0);
    assert_int_equal(ward_fan_read(s_hal.fan[0], 0, &f), 0);
    assert_int_equal(f.rpm.value, 6000);
    assert_int_equal(f.pwm_percent.value, 40);
    assert_false(f.alarm);
    ward_sim_set_time(&s_sim, 20000);
    assert_int_equal(ward_fan_read(s_hal.fan[0], 0, &f), 0);
    assert_int_equal(f.rpm.value, 1500);
    assert_false(f.alarm);
    ward_sim_set_time(&s_sim, 25000);
    assert_int_equal(ward_fan_read(s_hal.fan[0], 0, &f), 0);
    assert_int_equal(f.rpm.value, 750);
    assert_true(f.alarm); /* below fanN_min */
    ward_sim_set_time(&s_sim, 59999);
    assert_int_equal(ward_fan_read(s_hal.fan[0], 0, &f), 0);
    assert_int_equal(f.rpm.value, 6); /* 6000 / 2^9 = 11 going to 6000 / 2^10 = 5 */
    ward_sim_set_time(&s_sim, 75000);
    assert_int_equal(ward_fan_read(s_hal.fan[0], 0, &f), 0);
    assert_int_equal(f.rpm.value, 0); /* 6000 / 2^13 is 0: stopped */
    ward_sim_set_time(&s_sim, 80000);
    assert_int_equal(ward_fan_read(s_hal.fan[0], 0, &f), 0);
    assert_int_equal(f.rpm.status, WARD_STATUS_FAULT);
    assert_int_equal(ward_fan_read(s_hal.fan[0], 1, &f), 0);
    assert_int_equal(f.pwm_percent.status, WARD_STATUS_UNAVAILABLE); /* no PWM given */
    assert_int_equal(ward_fan_read(s_hal.fan[0], 2, &f), -EINVAL);
}

static void test_composition(void **state)
{
    (void)state;
    /* base ramp + add (step event) + rate burst; then the same with noise on top */
    load_ok("{'temps': [{'id': 'a', 'value': {'behaviour': 'ramp', 'from': 0, 'to': 10000,"
            "  'over': 10000, 'events': [{'at': 2000, 'until': 8000, 'add': 500},"
            "                            {'at': 4000, 'until': 6000, 'rate': {'by': 100}}]}},"
            " {'id': 'b', 'value': {'behaviour': 'ramp', 'from': 0, 'to': 10000,"
            "  'over': 10000, 'noise': {'amplitude': 50},"
            "  'events': [{'at': 2000, 'until': 8000, 'add': 500},"
            "             {'at': 4000, 'until': 6000, 'rate': {'by': 100}}]}}]}");
    assert_int_equal(temp_value(0, 1000), 1000);
    assert_int_equal(temp_value(0, 2000), 2500);
    assert_int_equal(temp_value(0, 5000), 5000 + 500 + 100);
    assert_int_equal(temp_value(0, 7000), 7000 + 500 + 200);
    assert_int_equal(temp_value(0, 9000), 9000 + 200);
    for (uint64_t t = 0; t < 12000; t += 250) {
        int64_t d = temp_value(1, t) - temp_value(0, t);

        assert_true(d >= -50 && d <= 50);
    }
}

static void test_muldiv_saturates(void **state)
{
    (void)state;
    /* A rate that would overflow 64 bits after a long time saturates instead of wrapping. */
    load_ok("{'nics': [{'name': 'eth0', 'counters': {'rx_bytes': {'behaviour': 'rate',"
            " 'start': 9007199254740992, 'by': 9007199254740992, 'every': 1}}}]}");
    struct ward_nic_reading r = nic_at(0, UINT64_MAX);

    assert_true(r.counter[WARD_NIC_RX_BYTES].value == INT64_MAX);
}

static const char s_ata[] =
    "{'disks': [{'kind': 'ata', 'dev': 'sdb', 'model': 'ST8000NM000A-2KE101', 'serial': 'WKD3',"
    " 'capacity_bytes': 8001563222016, 'events': [{'at': 50000, 'failing': true},"
    "   {'at': 70000, 'until': 80000, 'standby': true}],"
    " 'error_count': {'behaviour': 'rate', 'start': 2, 'by': 1, 'every': 1000, 'at': 10000},"
    " 'selftest_last_status': {'behaviour': 'step', 'from': 0, 'to': 7, 'at': 30000},"
    " 'attributes': ["
    "  {'id': 5, 'prefail': true, 'threshold': 10,"
    "   'value': {'behaviour': 'ramp', 'from': 100, 'to': 5, 'at': 10000, 'over': 30000},"
    "   'raw': {'behaviour': 'rate', 'start': 8, 'by': 2, 'at': 10000}},"
    "  {'id': 7, 'prefail': true, 'threshold': 45, 'value': 86, 'worst': 40, 'raw': 1},"
    "  {'id': 194, 'value': 34, 'worst': 48, 'raw': {'behaviour': 'step', 'from': 34,"
    "   'to': 251, 'at': 20000}}]}]}";

static void test_smart_ata(void **state)
{
    struct ward_smart s;
    struct ward_disk_info info;

    (void)state;
    load_ok(s_ata);
    assert_int_equal(ward_disk_count(s_hal.disk[0]), 1);
    assert_int_equal(ward_disk_info(s_hal.disk[0], 0, &info), 0);
    assert_string_equal(info.sensor.id, "disk:ST8000NM000A-2KE101_WKD3");
    assert_int_equal(info.kind, WARD_DISK_ATA);
    assert_true(info.capacity_bytes == 8001563222016ull);
    s = smart_at(0, 0);
    assert_int_equal(s.status, WARD_STATUS_OK);
    assert_int_equal(s.u.ata.n_attrs, 3);
    /* attribute 7's worst is below its threshold: failed in the past */
    assert_int_equal(attr(&s, 7)->verdict, WARD_SMART_FAILED_PAST);
    assert_int_equal(s.verdict, WARD_SMART_FAILED_PAST);
    assert_int_equal(attr(&s, 5)->raw, 8);
    assert_true(attr(&s, 5)->has_decoded);
    assert_int_equal(attr(&s, 194)->decoded, 34000);
    assert_int_equal(s.u.ata.error_count, 2);
    assert_true(s.u.ata.has_error_log);
    s = smart_at(0, 20000);
    assert_int_equal(attr(&s, 5)->raw, 8 + 20);         /* sectors reallocated so far */
    assert_int_equal(attr(&s, 5)->value, 100 - 95 / 3); /* 69 */
    assert_int_equal(attr(&s, 5)->worst, 100 - 95 / 3); /* the drive keeps the lowest */
    assert_int_equal(attr(&s, 194)->decoded, -5000);    /* raw byte 251 is -5 C */
    assert_int_equal(s.u.ata.error_count, 12);
    assert_int_equal(s.u.ata.selftest_last_status, 0);
    s = smart_at(0, 36900);
    assert_int_equal(attr(&s, 5)->value, 15);
    assert_int_equal(attr(&s, 5)->verdict, WARD_SMART_PASSED);
    assert_int_equal(s.u.ata.selftest_last_status, 7);
    s = smart_at(0, 38500);
    assert_int_equal(attr(&s, 5)->value, 10); /* <= threshold 10: failing now */
    assert_int_equal(attr(&s, 5)->verdict, WARD_SMART_FAILING);
    assert_int_equal(s.verdict, WARD_SMART_FAILING);
    assert_false(s.u.ata.drive_says_failing);
    s = smart_at(0, 50000);
    assert_true(s.u.ata.drive_says_failing);
    /* standby: reported, never read */
    s = smart_at(0, 70000);
    assert_int_equal(s.status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(s.reason, WARD_REASON_STANDBY);
    assert_int_equal(s.verdict, WARD_SMART_UNKNOWN);
    assert_int_equal(s.u.ata.n_attrs, 0);
    s = smart_at(0, 80000);
    assert_int_equal(s.status, WARD_STATUS_OK);
    assert_int_equal(s.verdict, WARD_SMART_FAILING);
    /* going back in time: the running worst starts again */
    s = smart_at(0, 5000);
    assert_int_equal(attr(&s, 5)->worst, 100);
    assert_int_equal(ward_disk_smart(s_hal.disk[0], 1, &s), -EINVAL);
}

static void test_smart_nvme(void **state)
{
    struct ward_smart s;

    (void)state;
    load_ok("{'disks': [{'kind': 'nvme', 'dev': 'nvme1', 'model': 'SAMSUNG MZQL23T8HCLS-00A07',"
            " 'serial': 'S64H', 'capacity_bytes': 3840755982336,"
            " 'events': [{'at': 90000, 'unavailable': 'permission'}],"
            " 'health': {'composite_temp_mdeg_c': {'behaviour': 'ramp', 'from': 39850,"
            "     'to': 79850, 'at': 40000, 'over': 40000},"
            "   'warning_temp_mdeg_c': 74850, 'critical_temp_mdeg_c': 79850,"
            "   'temp_sensors': [-5150, null, 41400],"
            "   'avail_spare_pct': {'behaviour': 'ramp', 'from': 14, 'to': 6, 'over': 8000},"
            "   'percent_used': {'behaviour': 'ramp', 'from': 98, 'to': 104, 'over': 6000},"
            "   'media_errors': {'behaviour': 'rate', 'by': 1, 'every': 2000},"
            "   'data_units_written': {'behaviour': 'rate', 'start': 301223993, 'by': 120},"
            "   'critical_warning': {'behaviour': 'step', 'from': 0, 'to': 4, 'at': 30000}}}]}");
    s = smart_at(0, 0);
    assert_int_equal(s.kind, WARD_DISK_NVME);
    assert_int_equal(s.verdict, WARD_SMART_PASSED);
    assert_int_equal(s.u.nvme.critical_warning, 0);
    assert_int_equal(s.u.nvme.composite_temp_mdeg_c, 39850);
    assert_int_equal(s.u.nvme.temp_sensor_mdeg_c[0].value, -5150);
    assert_int_equal(s.u.nvme.temp_sensor_mdeg_c[1].status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(s.u.nvme.temp_sensor_mdeg_c[2].value, 41850); /* nearest kelvin: 315 K */
    assert_int_equal(s.u.nvme.temp_sensor_mdeg_c[3].status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(s.u.nvme.avail_spare_pct, 14);
    assert_int_equal(s.u.nvme.spare_threshold_pct, 10);
    assert_int_equal(s.u.nvme.warning_temp_mdeg_c, 74850);
    s = smart_at(0, 6000);
    assert_int_equal(s.u.nvme.percent_used, 104);
    assert_true(s.u.nvme.media_errors[0] == 3 && s.u.nvme.media_errors[1] == 0);
    assert_true(s.u.nvme.data_units_written[0] == 301223993ull + 720);
    assert_int_equal(s.u.nvme.avail_spare_pct, 8); /* below 10: the controller sets bit 0 */
    assert_int_equal(s.u.nvme.critical_warning, WARD_NVME_CW_SPARE);
    assert_int_equal(s.verdict, WARD_SMART_FAILING);
    s = smart_at(0, 30000);
    assert_int_equal(s.u.nvme.critical_warning, WARD_NVME_CW_SPARE | WARD_NVME_CW_RELIABILITY);
    s = smart_at(0, 74000);
    assert_int_equal(s.u.nvme.composite_temp_mdeg_c, 73850);
    assert_int_equal(s.u.nvme.critical_warning & WARD_NVME_CW_TEMPERATURE, 0);
    s = smart_at(0, 75000);
    assert_int_equal(s.u.nvme.composite_temp_mdeg_c, 74850); /* at WCTEMP: bit 1 */
    assert_true((s.u.nvme.critical_warning & WARD_NVME_CW_TEMPERATURE) != 0);
    s = smart_at(0, 90000);
    assert_int_equal(s.status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(s.reason, WARD_REASON_PERMISSION);
    assert_int_equal(s.verdict, WARD_SMART_UNKNOWN);
}

static void test_nic_bursts_and_flapping(void **state)
{
    struct ward_nic_reading r;
    struct ward_nic_info info;
    int64_t prev_crc = 0;

    (void)state;
    load_ok("{'nics': [{'name': 'eno2', 'mac': '02:5E:1a:07:c3:11', 'mtu': 9000,"
            " 'link': {'speed_mbps': 10000, 'duplex': 'full', 'carrier_changes': 3,"
            "   'down': [{'at': 1000, 'until': 2000}],"
            "   'flap': {'at': 10000, 'until': 31000, 'period': 6000, 'down': 1500}},"
            " 'counters': {'rx_errors': 4,"
            "   'rx_crc_errors': {'value': 0, 'events': [{'at': 12000, 'until': 48000,"
            "                                              'rate': {'by': 40}}]},"
            "   'rx_frame_errors': {'value': 0, 'events': [{'at': 12000, 'add': 5}]}}}]}");
    assert_int_equal(ward_nic_info(s_hal.nic[0], 0, &info), 0);
    assert_string_equal(info.sensor.id, "nic:eno2");
    assert_true(info.has_mac);
    assert_int_equal(info.mac[1], 0x5e);
    assert_int_equal(info.mac[5], 0x11);
    assert_int_equal(info.mtu, 9000);
    r = nic_at(0, 0);
    assert_int_equal(r.carrier.value, 1);
    assert_int_equal(r.oper, WARD_NIC_OPER_UP);
    assert_int_equal(r.speed_mbps.value, 10000);
    assert_int_equal(r.duplex, WARD_NIC_DUPLEX_FULL);
    assert_int_equal(r.counter[WARD_NIC_CARRIER_CHANGES].value, 3);
    r = nic_at(0, 1000);
    assert_int_equal(r.carrier.value, 0);
    assert_int_equal(r.oper, WARD_NIC_OPER_DOWN);
    assert_int_equal(r.speed_mbps.status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(r.duplex, WARD_NIC_DUPLEX_UNKNOWN);
    assert_int_equal(r.counter[WARD_NIC_CARRIER_CHANGES].value, 4);
    assert_int_equal(nic_at(0, 2000).counter[WARD_NIC_CARRIER_CHANGES].value, 5);
    /* flapping: down at 10000, 16000, 22000, 28000 for 1500 ms; cut short at 31000 */
    assert_int_equal(nic_at(0, 9999).carrier.value, 1);
    assert_int_equal(nic_at(0, 10000).carrier.value, 0);
    assert_int_equal(nic_at(0, 10000).counter[WARD_NIC_CARRIER_CHANGES].value, 6);
    assert_int_equal(nic_at(0, 11499).carrier.value, 0);
    assert_int_equal(nic_at(0, 11500).carrier.value, 1);
    assert_int_equal(nic_at(0, 11500).counter[WARD_NIC_CARRIER_CHANGES].value, 7);
    assert_int_equal(nic_at(0, 16000).counter[WARD_NIC_CARRIER_CHANGES].value, 8);
    assert_int_equal(nic_at(0, 29000).carrier.value, 0);
    assert_int_equal(nic_at(0, 29000).counter[WARD_NIC_CARRIER_CHANGES].value, 5 + 7);
    assert_int_equal(nic_at(0, 31000).carrier.value, 1);
    assert_int_equal(nic_at(0, 31000).counter[WARD_NIC_CARRIER_CHANGES].value, 5 + 8);
    assert_int_equal(nic_at(0, 99000).counter[WARD_NIC_CARRIER_CHANGES].value, 5 + 8);
    /* CRC errors rise only in their window, never fall; rx_errors includes them */
    for (uint64_t t = 0; t < 60000; t += 500) {
        r = nic_at(0, t);
        assert_true(r.counter[WARD_NIC_RX_CRC_ERRORS].value >= prev_crc);
        if (t <= 12000) {
            assert_int_equal(r.counter[WARD_NIC_RX_CRC_ERRORS].value, 0);
        }
        prev_crc = r.counter[WARD_NIC_RX_CRC_ERRORS].value;
        assert_int_equal(r.counter[WARD_NIC_RX_ERRORS].value,
                         4 + r.counter[WARD_NIC_RX_CRC_ERRORS].value +
                             r.counter[WARD_NIC_RX_FRAME_ERRORS].value);
    }
    assert_int_equal(prev_crc, 36 * 40);
    assert_int_equal(nic_at(0, 30000).counter[WARD_NIC_RX_CRC_ERRORS].value, 18 * 40);
}

static void test_host(void **state)
{
    struct ward_host_cpu c;
    struct ward_host_mem m;
    struct ward_host_blk b;
    struct ward_host_blk_info bi;
    struct ward_host_fs f;
    struct ward_host_fs_info fi;

    (void)state;
    load_ok("{'host': {'cpu': {'ncpu': 4, 'user': 25, 'system': {'behaviour': 'step', 'from': 0,"
            "                   'to': 50, 'at': 10000}},"
            " 'mem': {'total': 1000, 'available': {'behaviour': 'ramp', 'from': 800, 'to': 200,"
            "         'over': 60000}, 'swap_total': 64},"
            " 'blk': [{'name': 'sda', 'reads': {'behaviour': 'rate', 'by': 40}, 'in_flight': 3}],"
            " 'fs': [{'mount_point': '/var/lib/data', 'fs_type': 'xfs', 'total_bytes': 1000,"
            "         'avail_bytes': 400, 'files_total': 10}]}}");
    assert_non_null(s_hal.host);
    ward_sim_set_time(&s_sim, 10000);
    assert_int_equal(ward_host_cpu(s_hal.host, &c), 0);
    assert_int_equal(c.status, WARD_STATUS_OK);
    assert_int_equal(c.ncpu, 4);
    assert_int_equal(c.ticks_per_second, 100);
    /* 10 s x 4 CPUs x 100 ticks: 4000 ticks, a quarter of them user */
    assert_int_equal(c.ticks[WARD_CPU_USER], 1000);
    assert_int_equal(c.ticks[WARD_CPU_SYSTEM], 0);
    assert_int_equal(c.ticks[WARD_CPU_IDLE], 3000);
    ward_sim_set_time(&s_sim, 12500);
    assert_int_equal(ward_host_cpu(s_hal.host, &c), 0);
    assert_int_equal(c.ticks[WARD_CPU_USER], 1250);
    assert_int_equal(c.ticks[WARD_CPU_SYSTEM], 500);
    assert_int_equal(c.ticks[WARD_CPU_IDLE], 3250);
    /* back in time: recomputed, not remembered */
    ward_sim_set_time(&s_sim, 5000);
    assert_int_equal(ward_host_cpu(s_hal.host, &c), 0);
    assert_int_equal(c.ticks[WARD_CPU_USER], 500);
    /* far in the future: bounded work, still exact for a constant load */
    ward_sim_set_time(&s_sim, (uint64_t)1 << 40);
    assert_int_equal(ward_host_cpu(s_hal.host, &c), 0);
    assert_true(c.ticks[WARD_CPU_USER] == (((uint64_t)1 << 40) / 10));
    ward_sim_set_time(&s_sim, UINT64_MAX);
    assert_int_equal(ward_host_cpu(s_hal.host, &c), 0);
    assert_true(c.ticks[WARD_CPU_USER] > ((uint64_t)1 << 58));
    ward_sim_set_time(&s_sim, 30000);
    assert_int_equal(ward_host_mem(s_hal.host, &m), 0);
    assert_true(m.total == 1000 && m.available == 500 && m.free == 500);
    assert_true(m.swap_total == 64 && m.swap_free == 64);
    assert_int_equal(ward_host_blk_count(s_hal.host), 1);
    assert_int_equal(ward_host_blk_info(s_hal.host, 0, &bi), 0);
    assert_string_equal(bi.sensor.id, "blk:sda");
    assert_int_equal(ward_host_blk_read(s_hal.host, 0, &b), 0);
    assert_true(b.reads == 1200 && b.writes == 0 && b.in_flight == 3);
    assert_int_equal(ward_host_fs_info(s_hal.host, 0, &fi), 0);
    assert_string_equal(fi.sensor.id, "fs:/var/lib/data");
    assert_string_equal(fi.fs_type, "xfs");
    assert_int_equal(ward_host_fs_read(s_hal.host, 0, &f), 0);
    assert_true(f.total_bytes == 1000 && f.avail_bytes == 400 && f.free_bytes == 400);
    assert_true(f.files_total == 10 && f.files_free == 10);
    assert_int_equal(ward_host_fs_read(s_hal.host, 1, &f), -EINVAL);
}

struct bad_case {
    int rc;
    const char *expect; /* substring of the one-line error */
    const char *text;
};

static const struct bad_case s_bad[] = {
    { -EINVAL, "JSON syntax error at line 2, column", "{'temps': [\n  {'id' 't'}]}" },
    { -EINVAL, "unexpected text after the JSON document",
      "{'temps': [{'id': 't', 'value': 1}]} x" },
    { -EINVAL, "expected a JSON object at the top level", "[1]" },
    { -EINVAL, "nothing to simulate", "{}" },
    { -EINVAL, "scenario: unknown key \"tmeps\" (allowed: name", "{'tmeps': []}" },
    { -EINVAL, "key \"seed\" appears twice", "{'seed': 1, 'seed': 2}" },
    { -EINVAL, "scenario temps: expected an array", "{'temps': {}}" },
    { -EINVAL, "temps[0].id: missing", "{'temps': [{'value': 1}]}" },
    { -EINVAL, "temps[0].value (\"temp:a\"): missing", "{'temps': [{'id': 'temp:a'}]}" },
    { -EINVAL, "temps[1].value (\"temp:b\"): expected a number or a behaviour object",
      "{'temps': [{'id': 'temp:a', 'value': 1}, {'id': 'temp:b', 'value': '40'}]}" },
    { -EINVAL, "temps[0].value.behaviour (\"t\"): unknown behaviour \"rmap\"; one of: constant",
      "{'temps': [{'id': 't', 'value': {'behaviour': 'rmap', 'from': 1}}]}" },
    { -EINVAL, "temps[0].value.over (\"t\"): missing",
      "{'temps': [{'id': 't', 'value': {'behaviour': 'ramp', 'from': 1, 'to': 2}}]}" },
    { -EINVAL, "temps[0].value.behaviour (\"t\"): missing; one of:",
      "{'temps': [{'id': 't', 'value': {'from': 1}}]}" },
    { -EINVAL, "temps[0].value.to (\"t\"): expected an integer in [-273150, 1000000]",
      "{'temps': [{'id': 't', 'value': {'behaviour': 'ramp', 'from': 1, 'to': 2e9, 'over': 5}}]}" },
    { -EINVAL, "temps[0].value (\"t\"): expected an integer in",
      "{'temps': [{'id': 't', 'value': 1.5}]}" },
    { -EINVAL, "fans[0].rpm.noise (\"f\"): unknown key \"amp\" (allowed: amplitude every seed)",
      "{'fans': [{'id': 'f', 'rpm': {'value': 1, 'noise': {'amp': 3}}}]}" },
    { -EINVAL, "id \"x\" is already used by another device",
      "{'temps': [{'id': 'x', 'value': 1}], 'fans': [{'id': 'x', 'rpm': 1}]}" },
    { -EINVAL, "counters.rx_bytes (\"nic:eth0\"): a counter never decreases",
      "{'nics': [{'name': 'eth0', 'counters': {'rx_bytes': {'behaviour': 'ramp', 'from': 9,"
      " 'to': 1, 'over': 5}}}]}" },
    { -EINVAL, "a counter never decreases: use constant, ramp, step or rate",
      "{'nics': [{'name': 'eth0', 'counters': {'rx_bytes': {'behaviour': 'square', 'low': 0,"
      " 'high': 1, 'period': 10}}}]}" },
    { -EINVAL, "an add on a counter has no until",
      "{'nics': [{'name': 'eth0', 'counters': {'tx_bytes': {'value': 0, 'events': [{'at': 1,"
      " 'until': 2, 'add': 5}]}}}]}" },
    { -EINVAL, "counters (\"nic:eth0\"): unknown key \"carrier_changes\"",
      "{'nics': [{'name': 'eth0', 'counters': {'carrier_changes': 1}}]}" },
    { -EINVAL,
      "value.events[0] (\"t\"): an event needs exactly one of: add rate stuck unavailable fault "
      "alarm",
      "{'temps': [{'id': 't', 'value': {'value': 1, 'events': [{'at': 1, 'add': 1,"
      " 'fault': true}]}}]}" },
    { -EINVAL, "value.events[0] (\"t\"): unknown key \"standby\" (allowed: at until add rate",
      "{'temps': [{'id': 't', 'value': {'value': 1, 'events': [{'at': 1, 'standby': true}]}}]}" },
    { -EINVAL, "events[0].until (\"t\"): must be later than at",
      "{'temps': [{'id': 't', 'value': {'value': 1, 'events': [{'at': 5, 'until': 5,"
      " 'fault': true}]}}]}" },
    { -EINVAL, "events[0].stuck (\"t\"): expected true",
      "{'temps': [{'id': 't', 'value': {'value': 1, 'events': [{'at': 5, 'stuck': 1}]}}]}" },
    { -EINVAL, "unavailable (\"t\"): expected a reason: missing permission standby",
      "{'temps': [{'id': 't', 'value': {'value': 1, 'events': [{'at': 5,"
      " 'unavailable': 'gone'}]}}]}" },
    { -EINVAL, "nics[0].mac (\"nic:eth0\"): expected six hex bytes",
      "{'nics': [{'name': 'eth0', 'mac': '02:00:5e:10:00:zz'}]}" },
    { -EINVAL, "nics[0].link.down[1] (\"nic:eth0\"): overlaps an earlier down window",
      "{'nics': [{'name': 'eth0', 'link': {'down': [{'at': 10, 'until': 20},"
      " {'at': 15, 'until': 30}]}}]}" },
    { -EINVAL, "link.flap (\"nic:eth0\"): overlaps a down window",
      "{'nics': [{'name': 'eth0', 'link': {'down': [{'at': 10, 'until': 20}],"
      " 'flap': {'at': 0, 'period': 10, 'down': 2}}}]}" },
    { -EINVAL, "link.flap.down (\"nic:eth0\"): expected an integer in [1, 9]",
      "{'nics': [{'name': 'eth0', 'link': {'flap': {'at': 0, 'period': 10, 'down': 10}}}]}" },
    { -EINVAL, "disks[0].kind: expected \"ata\" or \"nvme\"",
      "{'disks': [{'kind': 'scsi', 'dev': 'sda'}]}" },
    { -EINVAL, "disks[0].model: missing", "{'disks': [{'kind': 'ata', 'dev': 'sda'}]}" },
    /* found by the scenario fuzzer: refused, but with an empty message */
    { -EINVAL, "scenario disks[0]: model and serial give no id (no letter or digit): set \"id\"",
      "{'disks': [{'kind': 'ata', 'dev': 'sda', 'model': '(+)', 'serial': '$ _',"
      " 'capacity_bytes': 1}]}" },
    { -EINVAL, "attributes[1] (\"disk:M_S\"): attribute id listed twice",
      "{'disks': [{'kind': 'ata', 'dev': 'sda', 'model': 'M', 'serial': 'S', 'capacity_bytes': 1,"
      " 'attributes': [{'id': 5, 'value': 100}, {'id': 5, 'value': 100}]}]}" },
    { -EINVAL,
      "disks[0].events[0] (\"disk:M_S\"): unknown key \"failing\" (allowed: at until unavailable "
      "standby)",
      "{'disks': [{'kind': 'nvme', 'dev': 'nvme0', 'model': 'M', 'serial': 'S',"
      " 'capacity_bytes': 1, 'events': [{'at': 1, 'failing': true}],"
      " 'health': {'composite_temp_mdeg_c': 40000}}]}" },
    { -EINVAL, "disks[0].health (\"disk:M_S\"): missing",
      "{'disks': [{'kind': 'nvme', 'dev': 'nvme0', 'model': 'M', 'serial': 'S',"
      " 'capacity_bytes': 1}]}" },
    { -EINVAL, "host.mem.available: missing", "{'host': {'mem': {'total': 100}}}" },
    { -EINVAL, "host.fs[0].avail_bytes (\"fs:/\"): expected an integer in [0, 100]",
      "{'host': {'fs': [{'mount_point': '/', 'total_bytes': 100, 'avail_bytes': 101}]}}" },
    { -EINVAL, "host.cpu.user: expected an integer in [0, 100]",
      "{'host': {'cpu': {'ncpu': 2, 'user': 101}}}" },
};

static void test_bad_scenarios(void **state)
{
    unsigned failed = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(s_bad) / sizeof(s_bad[0]); i++) {
        int rc = sim_load(s_bad[i].text);

        if (rc != s_bad[i].rc || strstr(s_err, s_bad[i].expect) == NULL ||
            strchr(s_err, '\n') != NULL || strncmp(s_err, "scenario", 8) != 0) {
            print_error("case %zu: rc %d, error \"%s\"; wanted %d and \"%s\"\n", i, rc, s_err,
                        s_bad[i].rc, s_bad[i].expect);
            failed++;
        }
        assert_false(s_sim.ready);
        assert_int_equal(s_sim.n_signals, 0);
        assert_int_equal(s_hal.n_temp + s_hal.n_fan + s_hal.n_nic + s_hal.n_disk, 0);
        assert_null(s_hal.host);
    }
    assert_int_equal(failed, 0);
    /* the empty text, and a NULL error buffer */
    memset(&s_hal, 0, sizeof(s_hal));
    assert_int_equal(ward_sim_init(&s_sim, &s_hal, "", 0, s_err, sizeof(s_err)), -EINVAL);
    assert_string_equal(s_err, "scenario: empty");
    assert_int_equal(ward_sim_init(&s_sim, &s_hal, "{}", 2, NULL, 0), -EINVAL);
    assert_int_equal(ward_sim_init(NULL, &s_hal, "{}", 2, s_err, sizeof(s_err)), -EINVAL);
}

static void test_error_truncated_safely(void **state)
{
    char small[24];

    (void)state;
    memset(small, 'x', sizeof(small));
    memset(&s_hal, 0, sizeof(s_hal));
    assert_int_equal(ward_sim_init(&s_sim, &s_hal, "{\"tmeps\": []}", 13, small, 16), -EINVAL);
    assert_int_equal(strlen(small), 15);
    assert_int_equal(small[16], 'x');
}

/* A scenario with n temperature sensors, each a behaviour with k events. */
static const char *many_sensors(unsigned n, unsigned k, bool behaviour)
{
    static char buf[1 << 16];
    size_t pos = 0;

    pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "{'temps': [");
    for (unsigned i = 0; i < n; i++) {
        pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos,
                                "%s{'id': 'temp:s:%u', 'value': ", i ? ", " : "", i);
        if (!behaviour) {
            pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "%u}", i);
            continue;
        }
        pos +=
            (size_t)snprintf(buf + pos, sizeof(buf) - pos,
                             "{'behaviour': 'step', 'from': %u, 'to': 1, 'at': 5, 'events': [", i);
        for (unsigned e = 0; e < k; e++) {
            pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "%s{'at': %u, 'add': 1}",
                                    e ? ", " : "", e);
        }
        pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "]}}");
    }
    snprintf(buf + pos, sizeof(buf) - pos, "]}");
    return buf;
}

static void test_pools_exhausted(void **state)
{
    (void)state;
    load_ok(many_sensors(WARD_SIM_MAX_SENSORS, 0, false));
    assert_int_equal(sim_load(many_sensors(WARD_SIM_MAX_SENSORS + 1, 0, false)), -ENOSPC);
    assert_non_null(strstr(s_err, "scenario temps: too many entries"));
    assert_non_null(strstr(s_err, "CONFIG_WARD_SIM_MAX_SENSORS"));
    assert_int_equal(sim_load(many_sensors(2, WARD_SIM_MAX_EVENTS / 2 + 1, true)), -ENOSPC);
    assert_non_null(strstr(s_err, "CONFIG_WARD_SIM_MAX_EVENTS"));
    assert_false(s_sim.ready);
}

static void test_signals_exhausted(void **state)
{
    static char buf[1 << 18];
    unsigned disks = WARD_SIM_MAX_SIGNALS / (3 * WARD_ATA_MAX_ATTRS) + 1;
    size_t pos = 0;

    (void)state;
    /* ATA disks whose every attribute field is a behaviour: more than the pool holds */
    assert_true(disks <= WARD_SIM_MAX_DISKS);
    pos += (size_t)snprintf(buf, sizeof(buf), "{'disks': [");
    for (unsigned d = 0; d < disks; d++) {
        pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos,
                                "%s{'kind': 'ata', 'dev': 'sd%u', 'model': 'M', 'serial': 'S%u',"
                                " 'capacity_bytes': 1, 'attributes': [",
                                d ? ", " : "", d, d);
        for (unsigned a = 1; a <= WARD_ATA_MAX_ATTRS; a++) {
            pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos,
                                    "%s{'id': %u, 'value': {'behaviour': 'rate', 'by': 0},"
                                    " 'worst': {'behaviour': 'rate', 'by': 0},"
                                    " 'raw': {'behaviour': 'rate', 'by': %u}}",
                                    a > 1 ? ", " : "", a, a);
        }
        pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "]}");
    }
    snprintf(buf + pos, sizeof(buf) - pos, "]}");
    assert_int_equal(sim_load(buf), -ENOSPC);
    if (strstr(s_err, "too many values with a behaviour (CONFIG_WARD_SIM_MAX_SIGNALS=") == NULL) {
        fail_msg("unexpected error: %s", s_err);
    }
    assert_false(s_sim.ready);
}

static void test_arena_exhausted(void **state)
{
    static char buf[WARD_SIM_ARENA_SIZE + 64];
    size_t pos = 0;

    (void)state;
    /* a syntactically fine document far larger than the arena: -ENOSPC, not a crash */
    pos += (size_t)snprintf(buf, sizeof(buf), "{'description': [");
    while (pos + 8 < sizeof(buf)) {
        pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "[1],");
    }
    snprintf(buf + pos - 1, sizeof(buf) - pos + 1, "]}");
    assert_true(strlen(buf) < sizeof(s_text));
    assert_int_equal(sim_load(buf), -ENOSPC);
    assert_non_null(strstr(s_err, "CONFIG_WARD_SIM_ARENA_SIZE"));
}

static void test_failure_leaves_hal_untouched(void **state)
{
    struct ward_hal before;
    struct ward_device other = { .name = "other" };

    (void)state;
    memset(&s_hal, 0, sizeof(s_hal));
    for (int i = 0; i < WARD_HAL_MAX_DEVICES_PER_CLASS; i++) {
        s_hal.temp[i] = &other;
    }
    s_hal.n_temp = WARD_HAL_MAX_DEVICES_PER_CLASS;
    before = s_hal;
    /* a valid scenario, but the HAL has no free temperature slot */
    assert_int_equal(ward_sim_init(&s_sim, &s_hal, s_text,
                                   quote("{'temps': [{'id': 't', 'value': 1}]}"), s_err,
                                   sizeof(s_err)),
                     -ENOSPC);
    assert_non_null(strstr(s_err, "no free temperature device slot"));
    assert_memory_equal(&s_hal, &before, sizeof(s_hal));
    assert_false(s_sim.ready);
    /* a malformed one after a good one: the HAL keeps only the good one */
    memset(&s_hal, 0, sizeof(s_hal));
    assert_int_equal(sim_load_into(&s_sim, &s_hal, "{'fans': [{'id': 'f', 'rpm': 1}]}"), 0);
    before = s_hal;
    assert_int_equal(
        ward_sim_init(&s_sim2, &s_hal, s_text, quote("{'fans': 1}"), s_err, sizeof(s_err)),
        -EINVAL);
    assert_memory_equal(&s_hal, &before, sizeof(s_hal));
    /* two scenarios side by side in one HAL */
    assert_int_equal(ward_sim_init(&s_sim2, &s_hal, s_text,
                                   quote("{'fans': [{'id': 'g', 'rpm': 2}]}"), s_err,
                                   sizeof(s_err)),
                     0);
    assert_int_equal(s_hal.n_fan, 2);
}

/* ---- shipped scenarios ---- */

static const char *const s_shipped[] = { "healthy-server", "overheating", "failing-fan",
                                         "dying-disk", "flapping-link" };

static size_t read_scenario(const char *name, char *buf, size_t cap)
{
    char path[512];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s.json", WARD_SCENARIO_DIR, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    n = fread(buf, 1, cap, f);
    fclose(f);
    assert_true(n > 0 && n < cap);
    return n;
}

static void load_shipped(const char *name)
{
    static char buf[1 << 17];
    size_t n = read_scenario(name, buf, sizeof(buf));

    memset(&s_hal, 0, sizeof(s_hal));
    if (ward_sim_init(&s_sim, &s_hal, buf, n, s_err, sizeof(s_err)) != 0) {
        fail_msg("%s: %s", name, s_err);
    }
    assert_string_equal(ward_sim_name(&s_sim), name);
}

/* The brief every shipped scenario meets: a realistic 2-socket server. */
static void test_shipped_scenarios_load(void **state)
{
    (void)state;
    print_message("struct ward_sim: %zu bytes\n", sizeof(struct ward_sim));
    for (size_t i = 0; i < sizeof(s_shipped) / sizeof(s_shipped[0]); i++) {
        int ata = 0, nvme = 0;

        load_shipped(s_shipped[i]);
        assert_true(ward_sim_duration_ms(&s_sim) >= 60000);
        assert_true(ward_temp_count(s_hal.temp[0]) >= 10);
        assert_int_equal(ward_fan_count(s_hal.fan[0]), 6);
        assert_int_equal(ward_nic_count(s_hal.nic[0]), 2);
        for (int d = 0; d < ward_disk_count(s_hal.disk[0]); d++) {
            struct ward_disk_info info;

            assert_int_equal(ward_disk_info(s_hal.disk[0], (unsigned)d, &info), 0);
            ata += info.kind == WARD_DISK_ATA;
            nvme += info.kind == WARD_DISK_NVME;
        }
        assert_true(ata >= 1 && nvme >= 1 && ata + nvme >= 2 && ata + nvme <= 4);
        assert_non_null(s_hal.host);
        assert_true(s_sim.arena_used <= WARD_SIM_ARENA_SIZE);
        print_message("%-15s signals %u/%u, events %u/%u, parse arena %u of %u bytes\n",
                      s_shipped[i], s_sim.n_signals, WARD_SIM_MAX_SIGNALS, s_sim.n_events,
                      WARD_SIM_MAX_EVENTS, (unsigned)s_sim.arena_used, WARD_SIM_ARENA_SIZE);
    }
}

static void test_embedded_scenario(void **state)
{
    static char buf[1 << 17];
    size_t n = read_scenario("healthy-server", buf, sizeof(buf));

    (void)state;
    assert_int_equal(ward_scenario_healthy_server_len, n);
    assert_memory_equal(ward_scenario_healthy_server, buf, n);
    assert_int_equal(ward_scenario_healthy_server[n], '\0');
    memset(&s_hal, 0, sizeof(s_hal));
    assert_int_equal(ward_sim_init(&s_sim, &s_hal, ward_scenario_healthy_server,
                                   ward_scenario_healthy_server_len, s_err, sizeof(s_err)),
                     0);
}

static int find_temp(const char *id)
{
    for (int i = 0; i < ward_temp_count(s_hal.temp[0]); i++) {
        struct ward_sensor_info info;

        assert_int_equal(ward_temp_info(s_hal.temp[0], (unsigned)i, &info), 0);
        if (strcmp(info.id, id) == 0) {
            return i;
        }
    }
    fail_msg("no sensor %s", id);
    return -1;
}

static int find_disk(const char *dev)
{
    for (int i = 0; i < ward_disk_count(s_hal.disk[0]); i++) {
        struct ward_disk_info info;

        assert_int_equal(ward_disk_info(s_hal.disk[0], (unsigned)i, &info), 0);
        if (strcmp(info.dev_name, dev) == 0) {
            return i;
        }
    }
    fail_msg("no disk %s", dev);
    return -1;
}

/* Whether any threshold of a temperature is crossed (or it is not ok). */
static bool temp_tripped(unsigned ch, uint64_t t, enum ward_threshold_kind k)
{
    struct ward_sensor_info info;
    struct ward_temp_reading r = temp_at(ch, t);

    assert_int_equal(ward_temp_info(s_hal.temp[0], ch, &info), 0);
    return r.mdeg_c.status == WARD_STATUS_OK && (info.thresholds.present & (1u << k)) != 0 &&
           r.mdeg_c.value > info.thresholds.value[k];
}

static void test_story_healthy(void **state)
{
    int sdb;
    struct ward_nic_reading first[2];

    (void)state;
    load_shipped("healthy-server");
    sdb = find_disk("sdb");
    for (int n = 0; n < 2; n++) {
        first[n] = nic_at((unsigned)n, 0);
    }
    for (uint64_t t = 0; t <= 120000; t += 1000) {
        for (int i = 0; i < ward_temp_count(s_hal.temp[0]); i++) {
            struct ward_temp_reading r = temp_at((unsigned)i, t);

            assert_int_equal(r.mdeg_c.status, WARD_STATUS_OK);
            assert_false(r.alarm);
        }
        for (int i = 0; i < ward_fan_count(s_hal.fan[0]); i++) {
            struct ward_fan_reading f;

            assert_int_equal(ward_fan_read(s_hal.fan[0], (unsigned)i, &f), 0);
            assert_int_equal(f.rpm.status, WARD_STATUS_OK);
            assert_false(f.alarm);
        }
        for (int d = 0; d < ward_disk_count(s_hal.disk[0]); d++) {
            struct ward_smart s = smart_at((unsigned)d, t);
            bool sleeping = d == sdb && t >= 30000 && t < 75000;

            assert_int_equal(s.verdict, sleeping ? WARD_SMART_UNKNOWN : WARD_SMART_PASSED);
            assert_int_equal(s.reason, sleeping ? WARD_REASON_STANDBY : WARD_REASON_NONE);
        }
        for (int n = 0; n < 2; n++) {
            struct ward_nic_reading r = nic_at((unsigned)n, t);

            assert_int_equal(r.carrier.value, 1);
            for (int c = WARD_NIC_RX_ERRORS; c <= WARD_NIC_CARRIER_CHANGES; c++) {
                if (c != WARD_NIC_RX_DROPPED && c != WARD_NIC_TX_DROPPED) {
                    assert_int_equal(r.counter[c].value, first[n].counter[c].value);
                }
            }
        }
    }
}

static void test_story_overheating(void **state)
{
    unsigned pkg0, pkg1, dimm;
    int nvme0;

    (void)state;
    load_shipped("overheating");
    pkg0 = (unsigned)find_temp("temp:coretemp.isa0000:package_id_0");
    pkg1 = (unsigned)find_temp("temp:coretemp.isa0001:package_id_1");
    dimm = (unsigned)find_temp("temp:jc42.0-001b:temp1");
    nvme0 = find_disk("nvme0");
    assert_false(temp_tripped(pkg0, 0, WARD_THR_UPPER_CAUTION));
    assert_false(temp_tripped(pkg1, 20000, WARD_THR_UPPER_CAUTION));
    assert_true(temp_tripped(pkg0, 35000, WARD_THR_UPPER_CAUTION));
    assert_true(temp_tripped(pkg1, 35000, WARD_THR_UPPER_CAUTION));
    assert_true(temp_tripped(pkg0, 58000, WARD_THR_UPPER_CRITICAL));
    assert_true(temp_tripped(pkg1, 58000, WARD_THR_UPPER_CRITICAL));
    assert_true(temp_at(pkg0, 58000).alarm);
    assert_int_equal(smart_at((unsigned)nvme0, 0).verdict, WARD_SMART_PASSED);
    assert_int_equal(smart_at((unsigned)nvme0, 58000).verdict, WARD_SMART_FAILING);
    assert_int_equal(smart_at((unsigned)nvme0, 58000).u.nvme.critical_warning,
                     WARD_NVME_CW_TEMPERATURE);
    assert_int_equal(temp_at(dimm, 51999).mdeg_c.status, WARD_STATUS_OK);
    assert_int_equal(temp_at(dimm, 52000).mdeg_c.status, WARD_STATUS_UNAVAILABLE);
}

static void test_story_failing_fan(void **state)
{
    struct ward_fan_reading f;

    (void)state;
    load_shipped("failing-fan");
    for (uint64_t t = 0; t <= 90000; t += 1000) {
        ward_sim_set_time(&s_sim, t);
        for (unsigned i = 0; i < 6; i++) {
            assert_int_equal(ward_fan_read(s_hal.fan[0], i, &f), 0);
            if (i != 2) {
                assert_false(f.alarm);
                assert_int_equal(f.rpm.status, WARD_STATUS_OK);
            } else if (t < 20000) {
                assert_false(f.alarm);
            } else if (t >= 30000 && t < 40000) {
                assert_true(f.alarm); /* below its minimum */
            } else if (t >= 40000) {
                assert_int_equal(f.rpm.status, WARD_STATUS_FAULT);
            }
        }
        for (int i = 0; i < ward_temp_count(s_hal.temp[0]); i++) {
            assert_false(temp_at((unsigned)i, t).alarm); /* warmer, within limits */
        }
    }
}

static void test_story_dying_disk(void **state)
{
    int sda, sdb, nvme1;
    uint64_t prev = 0;

    (void)state;
    load_shipped("dying-disk");
    sda = find_disk("sda");
    sdb = find_disk("sdb");
    nvme1 = find_disk("nvme1");
    assert_int_equal(smart_at((unsigned)sdb, 0).verdict, WARD_SMART_PASSED);
    assert_int_equal(smart_at((unsigned)nvme1, 0).verdict, WARD_SMART_PASSED);
    for (uint64_t t = 0; t <= 90000; t += 1000) {
        struct ward_smart s = smart_at((unsigned)sdb, t);

        assert_true(attr(&s, 5)->raw >= prev);
        prev = attr(&s, 5)->raw;
        assert_int_equal(smart_at((unsigned)sda, t).verdict, WARD_SMART_PASSED);
    }
    assert_true(prev > 100);
    assert_int_equal(smart_at((unsigned)sdb, 58000).verdict, WARD_SMART_FAILING);
    assert_true(smart_at((unsigned)sdb, 58000).u.ata.drive_says_failing);
    assert_int_equal(smart_at((unsigned)sdb, 35000).u.ata.selftest_last_status, 7);
    assert_int_equal(smart_at((unsigned)nvme1, 40000).verdict, WARD_SMART_FAILING);
    assert_true(smart_at((unsigned)nvme1, 40000).u.nvme.percent_used > 100);
}

static void test_story_flapping_link(void **state)
{
    struct ward_nic_reading r0, r;
    unsigned downs = 0;

    (void)state;
    load_shipped("flapping-link");
    r0 = nic_at(1, 0);
    for (uint64_t t = 0; t <= 75000; t += 500) {
        r = nic_at(1, t);
        downs += r.carrier.value == 0;
        assert_int_equal(nic_at(0, t).carrier.value, 1);
    }
    assert_true(downs >= 20);
    r = nic_at(1, 60000);
    assert_true(r.counter[WARD_NIC_CARRIER_CHANGES].value >=
                r0.counter[WARD_NIC_CARRIER_CHANGES].value + 14);
    assert_true(r.counter[WARD_NIC_RX_CRC_ERRORS].value >= 1000);
    assert_int_equal(nic_at(1, 11000).counter[WARD_NIC_RX_CRC_ERRORS].value, 0);
    assert_int_equal(nic_at(0, 60000).counter[WARD_NIC_RX_CRC_ERRORS].value, 0);
}

/* Two instances of one scenario give bit-identical readings of every class. */
static void test_scenario_deterministic(void **state)
{
    static char buf[1 << 17];
    size_t n = read_scenario("overheating", buf, sizeof(buf));

    (void)state;
    memset(&s_hal, 0, sizeof(s_hal));
    memset(&s_hal2, 0, sizeof(s_hal2));
    assert_int_equal(ward_sim_init(&s_sim, &s_hal, buf, n, s_err, sizeof(s_err)), 0);
    assert_int_equal(ward_sim_init(&s_sim2, &s_hal2, buf, n, s_err, sizeof(s_err)), 0);
    for (uint64_t t = 0; t <= 90000; t += 3700) {
        ward_sim_set_time(&s_sim, t);
        ward_sim_set_time(&s_sim2, t);
        for (unsigned i = 0; i < (unsigned)ward_temp_count(s_hal.temp[0]); i++) {
            struct ward_temp_reading a, b;

            memset(&a, 0, sizeof(a));
            memset(&b, 0, sizeof(b));
            ward_temp_read(s_hal.temp[0], i, &a);
            ward_temp_read(s_hal2.temp[0], i, &b);
            assert_memory_equal(&a, &b, sizeof(a));
        }
        for (unsigned i = 0; i < (unsigned)ward_disk_count(s_hal.disk[0]); i++) {
            struct ward_smart a, b;

            ward_disk_smart(s_hal.disk[0], i, &a);
            ward_disk_smart(s_hal2.disk[0], i, &b);
            assert_memory_equal(&a, &b, sizeof(a));
        }
        for (unsigned i = 0; i < 2; i++) {
            struct ward_nic_reading a, b;

            memset(&a, 0, sizeof(a));
            memset(&b, 0, sizeof(b));
            ward_nic_read(s_hal.nic[0], i, &a);
            ward_nic_read(s_hal2.nic[0], i, &b);
            assert_memory_equal(&a, &b, sizeof(a));
        }
    }
}

static void test_no_heap(void **state)
{
    static char bufs[5][1 << 17];
    size_t len[5];

    (void)state;
    for (int i = 0; i < 5; i++) {
        len[i] = read_scenario(s_shipped[i], bufs[i], sizeof(bufs[i]));
    }
    heap_count_start();
    for (int i = 0; i < 5; i++) {
        struct ward_host_cpu c;

        memset(&s_hal, 0, sizeof(s_hal));
        if (ward_sim_init(&s_sim, &s_hal, bufs[i], len[i], s_err, sizeof(s_err)) != 0) {
            break;
        }
        for (uint64_t t = 0; t <= 60000; t += 10000) {
            struct ward_smart s;
            struct ward_nic_reading r;
            struct ward_temp_reading tr;

            ward_sim_set_time(&s_sim, t);
            ward_disk_smart(s_hal.disk[0], 0, &s);
            ward_nic_read(s_hal.nic[0], 0, &r);
            ward_temp_read(s_hal.temp[0], 0, &tr);
            ward_host_cpu(s_hal.host, &c);
        }
    }
    /* and the error paths */
    (void)ward_sim_init(&s_sim, &s_hal, "{\"temps\": [{\"id\": 1}]}", 22, s_err, sizeof(s_err));
    (void)ward_sim_init(&s_sim, &s_hal, "{\"temps\": [", 11, s_err, sizeof(s_err));
    assert_int_equal(heap_count_stop(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant),
        cmocka_unit_test(test_ramp),
        cmocka_unit_test(test_ramp_exact_for_large_values),
        cmocka_unit_test(test_step_square_decay),
        cmocka_unit_test(test_rate_counter),
        cmocka_unit_test(test_noise_deterministic),
        cmocka_unit_test(test_noise_on_counter_stays_monotonic),
        cmocka_unit_test(test_stuck_unavailable_fault_alarm),
        cmocka_unit_test(test_failing_fan),
        cmocka_unit_test(test_composition),
        cmocka_unit_test(test_muldiv_saturates),
        cmocka_unit_test(test_smart_ata),
        cmocka_unit_test(test_smart_nvme),
        cmocka_unit_test(test_nic_bursts_and_flapping),
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_bad_scenarios),
        cmocka_unit_test(test_error_truncated_safely),
        cmocka_unit_test(test_pools_exhausted),
        cmocka_unit_test(test_signals_exhausted),
        cmocka_unit_test(test_arena_exhausted),
        cmocka_unit_test(test_failure_leaves_hal_untouched),
        cmocka_unit_test(test_shipped_scenarios_load),
        cmocka_unit_test(test_embedded_scenario),
        cmocka_unit_test(test_story_healthy),
        cmocka_unit_test(test_story_overheating),
        cmocka_unit_test(test_story_failing_fan),
        cmocka_unit_test(test_story_dying_disk),
        cmocka_unit_test(test_story_flapping_link),
        cmocka_unit_test(test_scenario_deterministic),
        cmocka_unit_test(test_no_heap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
