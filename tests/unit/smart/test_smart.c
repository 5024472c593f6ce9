/*
 * The portable SMART decoders against the fixture pages of tests/fixtures/smart (built by
 * gen.py from the ATA and NVMe specifications): every decode path, verdict rule, raw
 * decoding and rejection.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ward/hal/smart.h"

#ifndef WARD_SMART_FIXTURES
#error "WARD_SMART_FIXTURES must name tests/fixtures/smart"
#endif

/* Bytes of fixture name into buf; fails the test when the file cannot be read. */
static size_t load(const char *name, uint8_t *buf, size_t max)
{
    char path[512];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", WARD_SMART_FIXTURES, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open fixture %s", path);
    }
    n = fread(buf, 1, max, f);
    fclose(f);
    return n;
}

static struct ward_ata_smart s_ata;
static uint8_t s_data[WARD_NVME_IDENTIFY_SIZE + 1];
static uint8_t s_thresh[WARD_SMART_PAGE_SIZE + 1];

static int decode_ata(const char *base)
{
    char d[128], t[128];
    size_t dn, tn;

    snprintf(d, sizeof(d), "%s.data.bin", base);
    snprintf(t, sizeof(t), "%s.thresh.bin", base);
    dn = load(d, s_data, sizeof(s_data));
    tn = load(t, s_thresh, sizeof(s_thresh));
    memset(&s_ata, 0, sizeof(s_ata));
    return ward_smart_ata_decode(s_data, dn, s_thresh, tn, &s_ata);
}

static const struct ward_ata_attr *attr(uint8_t id)
{
    for (unsigned i = 0; i < s_ata.n_attrs; i++) {
        if (s_ata.attr[i].id == id) {
            return &s_ata.attr[i];
        }
    }
    fail_msg("attribute %u not decoded", id);
    return NULL;
}

static void test_checksum(void **state)
{
    (void)state;
    load("ata-ssd-healthy.data.bin", s_data, sizeof(s_data));
    assert_true(ward_smart_ata_checksum_ok(s_data));
    s_data[100] ^= 0x80;
    assert_false(ward_smart_ata_checksum_ok(s_data));
    /* Any change that keeps the sum passes: the byte-511 rule, nothing stronger. */
    s_data[101] ^= 0x80;
    assert_true(ward_smart_ata_checksum_ok(s_data));
    assert_false(ward_smart_ata_checksum_ok(NULL));
}

static void test_ssd_healthy(void **state)
{
    (void)state;
    assert_int_equal(decode_ata("ata-ssd-healthy"), 0);
    assert_int_equal(s_ata.n_attrs, 14);
    assert_int_equal(attr(5)->value, 100);
    assert_int_equal(attr(5)->threshold, 10);
    assert_int_equal(attr(5)->flags, 0x0033);
    assert_int_equal(attr(5)->verdict, WARD_SMART_PASSED);
    assert_int_equal(attr(9)->decoded, 13442);
    assert_int_equal(attr(12)->decoded, 412);
    assert_int_equal(attr(177)->decoded, 23);
    assert_int_equal(attr(241)->raw, 31338227813ull);
    assert_int_equal(attr(241)->decoded, 31338227813ll);
    assert_true(attr(190)->has_decoded);
    assert_int_equal(attr(190)->decoded, 33000);
    assert_false(attr(190)->has_temp_range);
    assert_false(attr(235)->has_decoded); /* not one of the decoded ids */
    assert_int_equal(ward_smart_ata_verdict(&s_ata), WARD_SMART_PASSED);
}

static void test_hdd_dying(void **state)
{
    (void)state;
    assert_int_equal(decode_ata("ata-hdd-dying"), 0);
    assert_int_equal(attr(5)->verdict, WARD_SMART_FAILING);
    assert_int_equal(attr(5)->decoded, 3904);
    assert_int_equal(attr(9)->decoded, 33575); /* milliseconds above bit 32 ignored */
    assert_int_equal(attr(9)->raw, (0x2A1Cull << 32) | 33575);
    assert_int_equal(attr(188)->raw, 4295032853ull);
    assert_int_equal(attr(188)->decoded, 21);
    assert_int_equal(attr(187)->decoded, 1120);
    assert_int_equal(attr(197)->decoded, 48);
    assert_int_equal(attr(198)->decoded, 48);
    assert_int_equal(attr(199)->decoded, 0);
    assert_int_equal(attr(242)->decoded, 93211582129ll);
    /* 190: Seagate "00 00 HH LL xx TT" */
    assert_int_equal(attr(190)->decoded, 36000);
    assert_true(attr(190)->has_temp_range);
    assert_int_equal(attr(190)->temp_min_c, 22);
    assert_int_equal(attr(190)->temp_max_c, 55);
    assert_int_equal(attr(190)->verdict, WARD_SMART_PASSED);
    /* 194: "36 (0 14 0 0 0)" has no range smartctl recognizes: the low byte alone */
    assert_int_equal(attr(194)->decoded, 36000);
    assert_false(attr(194)->has_temp_range);
    assert_int_equal(attr(10)->verdict, WARD_SMART_PASSED);
    assert_int_equal(ward_smart_ata_verdict(&s_ata), WARD_SMART_FAILING);
}

static void test_failed_past_and_drive_says(void **state)
{
    (void)state;
    assert_int_equal(decode_ata("ata-hdd-failed-past"), 0);
    assert_int_equal(attr(190)->verdict, WARD_SMART_FAILED_PAST);
    assert_int_equal(attr(190)->decoded, 31000);
    assert_int_equal(ward_smart_ata_verdict(&s_ata), WARD_SMART_FAILED_PAST);
    s_ata.drive_says_failing = true;
    assert_int_equal(ward_smart_ata_verdict(&s_ata), WARD_SMART_FAILING);

    assert_int_equal(decode_ata("ata-hdd-healthy"), 0);
    assert_int_equal(ward_smart_ata_verdict(&s_ata), WARD_SMART_PASSED);
    s_ata.drive_says_failing = true;
    assert_int_equal(ward_smart_ata_verdict(&s_ata), WARD_SMART_FAILING);
    assert_int_equal(ward_smart_ata_verdict(NULL), WARD_SMART_UNKNOWN);
}

static void test_wdc_temperature_layout(void **state)
{
    (void)state;
    assert_int_equal(decode_ata("ata-hdd-healthy"), 0);
    /* WDC "00 00 00 HH LL TT" */
    assert_int_equal(attr(194)->decoded, 34000);
    assert_true(attr(194)->has_temp_range);
    assert_int_equal(attr(194)->temp_min_c, 18);
    assert_int_equal(attr(194)->temp_max_c, 46);
}

static void test_threshold_edges(void **state)
{
    (void)state;
    assert_int_equal(decode_ata("ata-edges"), 0);
    assert_int_equal(attr(1)->verdict, WARD_SMART_PASSED);  /* threshold 0 */
    assert_int_equal(attr(2)->verdict, WARD_SMART_FAILING); /* threshold 0xff */
    assert_int_equal(attr(3)->threshold, 0xfe);
    assert_int_equal(attr(3)->verdict, WARD_SMART_PASSED);  /* 0xff > 0xfe */
    assert_int_equal(attr(4)->verdict, WARD_SMART_FAILING); /* value 0 <= 1 */
    assert_int_equal(attr(7)->verdict, WARD_SMART_UNKNOWN); /* no threshold entry */
    assert_int_equal(attr(8)->threshold, 50);               /* found in another slot */
    assert_int_equal(attr(8)->verdict, WARD_SMART_FAILING);
    assert_int_equal(attr(10)->threshold, 50);
    assert_int_equal(attr(10)->verdict, WARD_SMART_FAILED_PAST);
    assert_int_equal(attr(11)->verdict, WARD_SMART_PASSED);
    assert_int_equal(attr(13)->flags & 1, 0);                /* old-age... */
    assert_int_equal(attr(13)->verdict, WARD_SMART_FAILING); /* ...fails now all the same */
    assert_int_equal(ward_smart_ata_verdict(&s_ata), WARD_SMART_FAILING);
}

static void test_max_raw(void **state)
{
    const uint64_t max48 = (1ull << 48) - 1;

    (void)state;
    assert_int_equal(decode_ata("ata-max-raw"), 0);
    assert_int_equal(s_ata.n_attrs, 14);
    for (unsigned i = 0; i < s_ata.n_attrs; i++) {
        assert_int_equal(s_ata.attr[i].raw, max48);
    }
    assert_int_equal(attr(5)->decoded, 0xffff);
    assert_int_equal(attr(188)->decoded, 0xffff);
    assert_int_equal(attr(9)->decoded, 0xffffffffll);
    assert_int_equal(attr(12)->decoded, (int64_t)max48);
    assert_int_equal(attr(241)->decoded, (int64_t)max48);
    assert_int_equal(attr(242)->decoded, (int64_t)max48);
    /* ff ff ff ff ff ff is no temperature layout and 255 is no temperature */
    assert_false(attr(190)->has_decoded);
    assert_false(attr(194)->has_decoded);
    assert_int_equal(attr(231)->decoded, 100);
}

static void test_negative_temperatures(void **state)
{
    (void)state;
    assert_int_equal(decode_ata("ata-ssd-cold"), 0);
    assert_int_equal(attr(194)->decoded, -10000);
    assert_true(attr(194)->has_temp_range);
    assert_int_equal(attr(194)->temp_min_c, -20);
    assert_int_equal(attr(194)->temp_max_c, 5);
    assert_int_equal(attr(190)->decoded, -15000);
    assert_false(attr(190)->has_temp_range);
    assert_int_equal(attr(231)->decoded, 97);
}

static void test_bad_pages_change_nothing(void **state)
{
    size_t dn, tn;

    (void)state;
    assert_int_equal(decode_ata("ata-hdd-dying"), 0);
    assert_int_equal(s_ata.n_attrs, 21);

    tn = load("ata-ssd-healthy.thresh.bin", s_thresh, sizeof(s_thresh));
    dn = load("ata-badsum.data.bin", s_data, sizeof(s_data));
    assert_int_equal(ward_smart_ata_decode(s_data, dn, s_thresh, tn, &s_ata), -EBADMSG);
    dn = load("ata-ssd-healthy.data.bin", s_data, sizeof(s_data));
    tn = load("ata-badsum.thresh.bin", s_thresh, sizeof(s_thresh));
    assert_int_equal(ward_smart_ata_decode(s_data, dn, s_thresh, tn, &s_ata), -EBADMSG);
    dn = load("ata-truncated.data.bin", s_data, sizeof(s_data));
    assert_int_equal(dn, 511);
    assert_int_equal(ward_smart_ata_decode(s_data, dn, NULL, 0, &s_ata), -EMSGSIZE);
    dn = load("ata-oversize.data.bin", s_data, sizeof(s_data));
    assert_int_equal(dn, 513);
    assert_int_equal(ward_smart_ata_decode(s_data, dn, NULL, 0, &s_ata), -EMSGSIZE);
    dn = load("empty.bin", s_data, sizeof(s_data));
    assert_int_equal(ward_smart_ata_decode(s_data, dn, NULL, 0, &s_ata), -EMSGSIZE);
    assert_int_equal(ward_smart_ata_decode(NULL, 512, NULL, 0, &s_ata), -EINVAL);
    assert_int_equal(ward_smart_ata_decode(s_data, 512, NULL, 0, NULL), -EINVAL);
    /* The previous good decode is still there. */
    assert_int_equal(s_ata.n_attrs, 21);
    assert_int_equal(attr(5)->decoded, 3904);
}

static void test_no_thresholds(void **state)
{
    size_t dn;

    (void)state;
    dn = load("ata-hdd-dying.data.bin", s_data, sizeof(s_data));
    memset(&s_ata, 0, sizeof(s_ata));
    assert_int_equal(ward_smart_ata_decode(s_data, dn, NULL, 0, &s_ata), 0);
    for (unsigned i = 0; i < s_ata.n_attrs; i++) {
        assert_int_equal(s_ata.attr[i].verdict, WARD_SMART_UNKNOWN);
        assert_int_equal(s_ata.attr[i].threshold, 0);
    }
    assert_int_equal(ward_smart_ata_verdict(&s_ata), WARD_SMART_PASSED);
}

static void test_decode_keeps_other_sources(void **state)
{
    size_t dn, tn;

    (void)state;
    memset(&s_ata, 0, sizeof(s_ata));
    s_ata.drive_says_failing = true;
    s_ata.has_error_log = true;
    s_ata.error_count = 7;
    dn = load("ata-ssd-healthy.data.bin", s_data, sizeof(s_data));
    tn = load("ata-ssd-healthy.thresh.bin", s_thresh, sizeof(s_thresh));
    assert_int_equal(ward_smart_ata_decode(s_data, dn, s_thresh, tn, &s_ata), 0);
    assert_true(s_ata.drive_says_failing);
    assert_true(s_ata.has_error_log);
    assert_int_equal(s_ata.error_count, 7);
}

static void test_caps(void **state)
{
    struct ward_ata_smart_caps caps;
    size_t n;

    (void)state;
    n = load("ata-ssd-healthy.data.bin", s_data, sizeof(s_data));
    assert_int_equal(ward_smart_ata_caps(s_data, n, &caps), 0);
    assert_int_equal(caps.revision, 16);
    assert_true(caps.selftest_supported);
    assert_true(caps.errlog_supported);
    assert_int_equal(caps.short_test_minutes, 2);
    assert_int_equal(caps.ext_test_minutes, 320); /* 0xff in byte 373: word 375 */
    assert_int_equal(ward_smart_ata_caps(s_data, n, NULL), -EINVAL);
    n = load("ata-badsum.data.bin", s_data, sizeof(s_data));
    assert_int_equal(ward_smart_ata_caps(s_data, n, &caps), -EBADMSG);
}

static void test_selftest_log(void **state)
{
    size_t n;

    (void)state;
    memset(&s_ata, 0, sizeof(s_ata));
    n = load("ata-selftest-readfail.bin", s_data, sizeof(s_data));
    assert_int_equal(ward_smart_ata_selftest_decode(s_data, n, &s_ata), 0);
    assert_true(s_ata.has_selftest_log);
    assert_int_equal(s_ata.selftest_count, 3);
    assert_int_equal(s_ata.selftest_last_status, 7);
    assert_string_equal(ward_smart_selftest_status_name(s_ata.selftest_last_status),
                        "read-failure");

    n = load("ata-selftest-ok.bin", s_data, sizeof(s_data));
    assert_int_equal(ward_smart_ata_selftest_decode(s_data, n, &s_ata), 0);
    assert_int_equal(s_ata.selftest_count, 2);
    assert_int_equal(s_ata.selftest_last_status, 0);

    n = load("ata-selftest-none.bin", s_data, sizeof(s_data));
    s_ata.selftest_last_status = 9;
    assert_int_equal(ward_smart_ata_selftest_decode(s_data, n, &s_ata), 0);
    assert_int_equal(s_ata.selftest_count, 0);
    assert_int_equal(s_ata.selftest_last_status, 0);

    n = load("ata-selftest-badindex.bin", s_data, sizeof(s_data));
    assert_int_equal(ward_smart_ata_selftest_decode(s_data, n, &s_ata), -EPROTO);
    n = load("ata-badsum.data.bin", s_data, sizeof(s_data));
    assert_int_equal(ward_smart_ata_selftest_decode(s_data, n, &s_ata), -EBADMSG);
    assert_int_equal(ward_smart_ata_selftest_decode(s_data, 100, &s_ata), -EMSGSIZE);
    assert_string_equal(ward_smart_selftest_status_name(0x0f), "in-progress");
}

static void test_error_log(void **state)
{
    size_t n;

    (void)state;
    memset(&s_ata, 0, sizeof(s_ata));
    n = load("ata-errlog-27.bin", s_data, sizeof(s_data));
    assert_int_equal(ward_smart_ata_errlog_decode(s_data, n, &s_ata), 0);
    assert_true(s_ata.has_error_log);
    assert_int_equal(s_ata.error_count, 27);
    n = load("ata-errlog-none.bin", s_data, sizeof(s_data));
    assert_int_equal(ward_smart_ata_errlog_decode(s_data, n, &s_ata), 0);
    assert_int_equal(s_ata.error_count, 0);
    s_data[1] = 6; /* index past the five entries, checksum fixed up */
    s_data[511] = (uint8_t)(s_data[511] - 6);
    assert_int_equal(ward_smart_ata_errlog_decode(s_data, n, &s_ata), -EPROTO);
    s_data[1] = 0;
    assert_int_equal(ward_smart_ata_errlog_decode(s_data, n, &s_ata), -EBADMSG);
    assert_int_equal(ward_smart_ata_errlog_decode(s_data, n, NULL), -EBADMSG);
}

static void test_ata_identify(void **state)
{
    struct ward_disk_info info;
    struct ward_ata_identify x;
    size_t n;

    (void)state;
    memset(&info, 0, sizeof(info));
    n = load("ata-identify-ssd.bin", s_data, sizeof(s_data));
    assert_int_equal(ward_ata_identify_decode(s_data, n, &info, &x), 0);
    assert_string_equal(info.model, "Samsung SSD 860 EVO 500GB");
    assert_string_equal(info.serial, "S3Z2NB0K123456A");
    assert_string_equal(info.firmware, "RVT04B6Q");
    assert_int_equal(info.capacity_bytes, 976773168ull * 512);
    assert_string_equal(info.sensor.id, "disk:Samsung_SSD_860_EVO_500GB_S3Z2NB0K123456A");
    assert_string_equal(info.sensor.label, "Samsung SSD 860 EVO 500GB");
    assert_true(x.smart_supported);
    assert_true(x.smart_enabled);
    assert_true(x.selftest_supported);
    assert_true(x.errlog_supported);
    assert_true(x.lba48);
    assert_int_equal(x.rotation_rate, 1);
    assert_int_equal(x.logical_sector_bytes, 512);

    n = load("ata-identify-hdd.bin", s_data, sizeof(s_data));
    assert_int_equal(ward_ata_identify_decode(s_data, n, &info, NULL), 0);
    assert_string_equal(info.model, "ST3000DM001-1CH166");
    assert_string_equal(info.firmware, "CC27");
    assert_int_equal(info.capacity_bytes, 5860533168ull * 512);
    assert_string_equal(info.sensor.id, "disk:ST3000DM001-1CH166_Z1F2ABCD");

    n = load("ata-identify-4kn.bin", s_data, sizeof(s_data));
    assert_int_equal(ward_ata_identify_decode(s_data, n, &info, &x), 0);
    assert_int_equal(x.logical_sector_bytes, 4096);
    assert_int_equal(x.rotation_rate, 7200);
    assert_int_equal(info.capacity_bytes, 2929721344ull * 4096);
    assert_string_equal(info.model, "WDC  WUH721212AL4204");
    assert_string_equal(info.sensor.id, "disk:WDC_WUH721212AL4204_8CGABCDE");

    n = load("ata-identify-badsum.bin", s_data, sizeof(s_data));
    assert_int_equal(ward_ata_identify_decode(s_data, n, &info, NULL), -EBADMSG);
    assert_int_equal(ward_ata_identify_decode(s_data, 100, &info, NULL), -EMSGSIZE);
    memset(s_data, 0, WARD_SMART_PAGE_SIZE);
    assert_int_equal(ward_ata_identify_decode(s_data, 512, &info, NULL), -ENODATA);
}

static struct ward_nvme_health s_nvme;

static int decode_nvme(const char *name)
{
    size_t n = load(name, s_data, sizeof(s_data));

    return ward_smart_nvme_decode(s_data, n, &s_nvme);
}

static void test_nvme_healthy(void **state)
{
    char dec[48];

    (void)state;
    memset(&s_nvme, 0, sizeof(s_nvme));
    assert_int_equal(decode_nvme("nvme-healthy.bin"), 0);
    assert_int_equal(s_nvme.critical_warning, 0);
    assert_true(s_nvme.has_composite_temp);
    assert_int_equal(s_nvme.composite_temp_mdeg_c, 37850);
    assert_int_equal(s_nvme.avail_spare_pct, 100);
    assert_int_equal(s_nvme.spare_threshold_pct, 10);
    assert_int_equal(s_nvme.percent_used, 2);
    assert_int_equal(s_nvme.data_units_read[0], 12345678);
    assert_int_equal(s_nvme.data_units_read[1], 0);
    assert_int_equal(s_nvme.data_units_written[0], 23456789);
    assert_int_equal(s_nvme.host_reads[0], 123456789);
    assert_int_equal(s_nvme.host_writes[0], 234567890);
    assert_int_equal(s_nvme.busy_minutes[0], 1234);
    assert_int_equal(s_nvme.power_cycles[0], 456);
    assert_int_equal(s_nvme.power_on_hours[0], 5678);
    assert_int_equal(s_nvme.unsafe_shutdowns[0], 23);
    assert_int_equal(s_nvme.media_errors[0], 0);
    assert_int_equal(s_nvme.error_log_entries[0], 789);
    assert_int_equal(s_nvme.temp_sensor_mdeg_c[0].status, WARD_STATUS_OK);
    assert_int_equal(s_nvme.temp_sensor_mdeg_c[0].value, 37850);
    assert_int_equal(s_nvme.temp_sensor_mdeg_c[1].value, 42850);
    for (unsigned i = 2; i < WARD_NVME_TEMP_SENSORS; i++) {
        assert_int_equal(s_nvme.temp_sensor_mdeg_c[i].status, WARD_STATUS_UNAVAILABLE);
        assert_int_equal(s_nvme.temp_sensor_mdeg_c[i].reason, WARD_REASON_NOT_SUPPORTED);
    }
    assert_int_equal(ward_smart_nvme_verdict(&s_nvme), WARD_SMART_PASSED);
    /* 12345678 units of 512000 bytes */
    uint64_t bytes[2];
    assert_true(ward_smart_u128_mul(bytes, s_nvme.data_units_read, 512000));
    assert_int_equal(ward_smart_u128_dec(dec, sizeof(dec), bytes), 13);
    assert_string_equal(dec, "6320987136000");
}

static void test_nvme_qemu(void **state)
{
    (void)state;
    assert_int_equal(decode_nvme("nvme-qemu.bin"), 0);
    assert_int_equal(s_nvme.composite_temp_mdeg_c, 49850); /* 323 K */
    assert_int_equal(s_nvme.avail_spare_pct, 0);
    assert_int_equal(s_nvme.spare_threshold_pct, 0);
    assert_int_equal(ward_smart_nvme_verdict(&s_nvme), WARD_SMART_PASSED);
}

static void test_nvme_critical_warning_bits(void **state)
{
    static const char *const files[] = {
        "nvme-cw-spare.bin",    "nvme-cw-temperature.bin", "nvme-cw-reliability.bin",
        "nvme-cw-readonly.bin", "nvme-cw-volatile.bin",    "nvme-cw-pmr.bin",
    };

    (void)state;
    for (unsigned bit = 0; bit < 6; bit++) {
        assert_int_equal(decode_nvme(files[bit]), 0);
        assert_int_equal(s_nvme.critical_warning, 1u << bit);
        assert_int_equal(ward_smart_nvme_verdict(&s_nvme), WARD_SMART_FAILING);
    }
    assert_int_equal(decode_nvme("nvme-cw-temperature.bin"), 0);
    assert_int_equal(s_nvme.critical_warning, WARD_NVME_CW_TEMPERATURE);
    assert_int_equal(s_nvme.composite_temp_mdeg_c, 85850);
    assert_int_equal(s_nvme.warning_temp_minutes, 123);
    assert_int_equal(s_nvme.critical_temp_minutes, 4);
    assert_int_equal(decode_nvme("nvme-cw-spare.bin"), 0);
    assert_int_equal(s_nvme.avail_spare_pct, 5);
    assert_int_equal(decode_nvme("nvme-cw-reliability.bin"), 0);
    assert_int_equal(s_nvme.media_errors[0], 12);
    /* A reserved bit fails the drive too, as smartctl -H says. */
    assert_int_equal(decode_nvme("nvme-cw-reserved7.bin"), 0);
    assert_int_equal(s_nvme.critical_warning, 0x80);
    assert_int_equal(ward_smart_nvme_verdict(&s_nvme), WARD_SMART_FAILING);
    assert_int_equal(ward_smart_nvme_verdict(NULL), WARD_SMART_UNKNOWN);
}

static void test_nvme_max(void **state)
{
    char dec[48];
    uint64_t bytes[2];

    (void)state;
    assert_int_equal(decode_nvme("nvme-max.bin"), 0);
    assert_int_equal(s_nvme.composite_temp_mdeg_c, 65535 * 1000ll - 273150);
    assert_int_equal(s_nvme.percent_used, 255);
    assert_int_equal(s_nvme.endurance_group_warning, 255);
    assert_int_equal(s_nvme.warning_temp_minutes, UINT32_MAX);
    assert_int_equal(s_nvme.tmt_transitions[1], UINT32_MAX);
    assert_int_equal(s_nvme.tmt_seconds[0], UINT32_MAX);
    const uint64_t *counters[] = {
        s_nvme.data_units_read,   s_nvme.data_units_written, s_nvme.host_reads,
        s_nvme.host_writes,       s_nvme.busy_minutes,       s_nvme.power_cycles,
        s_nvme.power_on_hours,    s_nvme.unsafe_shutdowns,   s_nvme.media_errors,
        s_nvme.error_log_entries,
    };
    for (unsigned i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        assert_int_equal(counters[i][0], UINT64_MAX);
        assert_int_equal(counters[i][1], UINT64_MAX);
        assert_int_equal(ward_smart_u128_dec(dec, sizeof(dec), counters[i]), 39);
        assert_string_equal(dec, "340282366920938463463374607431768211455");
    }
    assert_int_equal(s_nvme.temp_sensor_mdeg_c[7].value, 65535 * 1000ll - 273150);
    assert_false(ward_smart_u128_mul(bytes, s_nvme.data_units_read, 512000));
}

static void test_nvme_negative_temperatures(void **state)
{
    (void)state;
    assert_int_equal(decode_nvme("nvme-cold.bin"), 0);
    assert_int_equal(s_nvme.composite_temp_mdeg_c, -10150);
    assert_int_equal(s_nvme.temp_sensor_mdeg_c[0].value, -20150);
    assert_int_equal(s_nvme.temp_sensor_mdeg_c[1].value, -150); /* 273 K is below 0 C */
    assert_int_equal(s_nvme.temp_sensor_mdeg_c[1].status, WARD_STATUS_OK);
    assert_int_equal(s_nvme.temp_sensor_mdeg_c[2].value, -1150);
    assert_int_equal(s_nvme.temp_sensor_mdeg_c[3].status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(s_nvme.temp_sensor_mdeg_c[4].value, -272150);
}

static void test_nvme_bad_input(void **state)
{
    (void)state;
    assert_int_equal(decode_nvme("nvme-healthy.bin"), 0);
    assert_int_equal(decode_nvme("nvme-truncated.bin"), -EMSGSIZE);
    assert_int_equal(decode_nvme("empty.bin"), -EMSGSIZE);
    assert_int_equal(decode_nvme("ata-oversize.data.bin"), -EMSGSIZE);
    assert_int_equal(ward_smart_nvme_decode(NULL, 512, &s_nvme), -EINVAL);
    assert_int_equal(ward_smart_nvme_decode(s_data, 512, NULL), -EINVAL);
    assert_int_equal(s_nvme.power_on_hours[0], 5678); /* untouched */
    /* A composite temperature of 0 K is "not reported", not -273 C. */
    memset(s_data, 0, WARD_SMART_PAGE_SIZE);
    assert_int_equal(ward_smart_nvme_decode(s_data, 512, &s_nvme), 0);
    assert_false(s_nvme.has_composite_temp);
}

static void test_nvme_identify(void **state)
{
    struct ward_disk_info info;
    size_t n;

    (void)state;
    memset(&info, 0, sizeof(info));
    n = load("nvme-identify-samsung.bin", s_data, sizeof(s_data));
    assert_int_equal(n, WARD_NVME_IDENTIFY_SIZE);
    assert_int_equal(ward_smart_nvme_identify_decode(s_data, n, &info), 0);
    assert_string_equal(info.model, "Samsung SSD 970 EVO Plus 1TB");
    assert_string_equal(info.serial, "S4EWNX0R123456A");
    assert_string_equal(info.firmware, "2B2QEXM7");
    assert_int_equal(info.capacity_bytes, 1000204886016ull);
    assert_string_equal(info.sensor.id, "disk:Samsung_SSD_970_EVO_Plus_1TB_S4EWNX0R123456A");
    assert_true(info.sensor.thresholds.present & (1u << WARD_THR_UPPER_CAUTION));
    assert_int_equal(info.sensor.thresholds.value[WARD_THR_UPPER_CAUTION], 84850);
    assert_int_equal(info.sensor.thresholds.value[WARD_THR_UPPER_CRITICAL], 84850);

    n = load("nvme-identify-qemu.bin", s_data, sizeof(s_data));
    assert_int_equal(ward_smart_nvme_identify_decode(s_data, n, &info), 0);
    assert_string_equal(info.model, "QEMU NVMe Ctrl");
    assert_string_equal(info.serial, "WARDNVME0001");
    assert_string_equal(info.firmware, "1.0");
    assert_int_equal(info.capacity_bytes, 0);
    assert_string_equal(info.sensor.id, "disk:QEMU_NVMe_Ctrl_WARDNVME0001");
    memset(&s_nvme, 0, sizeof(s_nvme));
    ward_smart_nvme_apply_limits(&s_nvme, &info);
    assert_int_equal(s_nvme.warning_temp_mdeg_c, 69850);
    assert_int_equal(s_nvme.critical_temp_mdeg_c, 99850);
    /* The limits survive the next health decode. */
    assert_int_equal(decode_nvme("nvme-qemu.bin"), 0);
    assert_int_equal(s_nvme.warning_temp_mdeg_c, 69850);

    /* WCTEMP 0: not reported, no threshold. */
    n = load("nvme-identify-qemu.bin", s_data, sizeof(s_data));
    s_data[266] = s_data[267] = 0;
    assert_int_equal(ward_smart_nvme_identify_decode(s_data, n, &info), 0);
    assert_false(info.sensor.thresholds.present & (1u << WARD_THR_UPPER_CAUTION));
    assert_true(info.sensor.thresholds.present & (1u << WARD_THR_UPPER_CRITICAL));
    assert_int_equal(ward_smart_nvme_identify_decode(s_data, 512, &info), -EMSGSIZE);
    assert_int_equal(ward_smart_nvme_identify_decode(NULL, n, &info), -EINVAL);
    memset(s_data, ' ', WARD_NVME_IDENTIFY_SIZE);
    assert_int_equal(ward_smart_nvme_identify_decode(s_data, n, &info), -ENODATA);
}

static void test_disk_id(void **state)
{
    char id[WARD_SENSOR_ID_MAX];
    const char *long_model = "Extremely Long Vendor Model Name That Fills All Forty";

    (void)state;
    assert_int_equal(ward_smart_disk_id(id, sizeof(id), " WDC  WD40EFRX-68N32N0 ", "WD-123"), 0);
    assert_string_equal(id, "disk:WDC_WD40EFRX-68N32N0_WD-123");
    assert_int_equal(ward_smart_disk_id(id, sizeof(id), "a/b\\c\"d", "x y"), 0);
    assert_string_equal(id, "disk:a_b_c_d_x_y");
    assert_int_equal(ward_smart_disk_id(id, sizeof(id), long_model, "SERIAL0123456789ABCD"), 0);
    assert_int_equal(strlen(id), WARD_SENSOR_ID_MAX - 1);
    /* The serial is kept whole; the model gives way. */
    assert_string_equal(id + strlen(id) - 21, "_SERIAL0123456789ABCD");
    assert_memory_equal(id, "disk:Extremely_Long", 19);
    assert_int_equal(ward_smart_disk_id(id, sizeof(id), "Model", ""), 0);
    assert_string_equal(id, "disk:Model");
    assert_int_equal(ward_smart_disk_id(id, sizeof(id), "", "S1"), 0);
    assert_string_equal(id, "disk:S1");
    assert_int_equal(ward_smart_disk_id(id, sizeof(id), " ", "??"), -ENODATA);
    assert_int_equal(ward_smart_disk_id(id, 4, "a", "b"), -EINVAL);
    assert_int_equal(ward_smart_disk_id(id, 9, "Model", "S"), 0);
    assert_string_equal(id, "disk:M_S");
}

static void test_u128(void **state)
{
    char dec[48];
    const uint64_t zero[2] = { 0, 0 }, two64[2] = { 0, 1 }, units[2] = { 1000, 0 };
    uint64_t r[2];

    (void)state;
    assert_int_equal(ward_smart_u128_dec(dec, sizeof(dec), zero), 1);
    assert_string_equal(dec, "0");
    assert_int_equal(ward_smart_u128_dec(dec, sizeof(dec), two64), 20);
    assert_string_equal(dec, "18446744073709551616");
    assert_int_equal(ward_smart_u128_dec(dec, 20, two64), -ENOSPC);
    assert_int_equal(ward_smart_u128_dec(NULL, 20, two64), -EINVAL);
    assert_true(ward_smart_u128_mul(r, units, 512000));
    assert_int_equal(r[0], 512000000);
    assert_true(ward_smart_u128_mul(r, two64, 3));
    assert_int_equal(r[0], 0);
    assert_int_equal(r[1], 3);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(ward_smart_ata_attr_name(5), "Reallocated_Sector_Ct");
    assert_string_equal(ward_smart_ata_attr_name(194), "Temperature_Celsius");
    assert_string_equal(ward_smart_ata_attr_name(241), "Total_LBAs_Written");
    assert_string_equal(ward_smart_ata_attr_name(6), "Unknown_Attribute");
    assert_string_equal(ward_smart_verdict_name(WARD_SMART_FAILED_PAST), "failed-past");
    assert_string_equal(ward_smart_verdict_name(WARD_SMART_FAILING), "failing");
    assert_string_equal(ward_smart_verdict_name((enum ward_smart_verdict)77), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum),
        cmocka_unit_test(test_ssd_healthy),
        cmocka_unit_test(test_hdd_dying),
        cmocka_unit_test(test_failed_past_and_drive_says),
        cmocka_unit_test(test_wdc_temperature_layout),
        cmocka_unit_test(test_threshold_edges),
        cmocka_unit_test(test_max_raw),
        cmocka_unit_test(test_negative_temperatures),
        cmocka_unit_test(test_bad_pages_change_nothing),
        cmocka_unit_test(test_no_thresholds),
        cmocka_unit_test(test_decode_keeps_other_sources),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_selftest_log),
        cmocka_unit_test(test_error_log),
        cmocka_unit_test(test_ata_identify),
        cmocka_unit_test(test_nvme_healthy),
        cmocka_unit_test(test_nvme_qemu),
        cmocka_unit_test(test_nvme_critical_warning_bits),
        cmocka_unit_test(test_nvme_max),
        cmocka_unit_test(test_nvme_negative_temperatures),
        cmocka_unit_test(test_nvme_bad_input),
        cmocka_unit_test(test_nvme_identify),
        cmocka_unit_test(test_disk_id),
        cmocka_unit_test(test_u128),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
