/* The Linux backend's text parsers: sysfs values, /proc lines, ids. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ward/hal/linux_parse.h"

#define S(str) (str), (sizeof(str) - 1)

static void test_i64_accepts_kernel_forms(void **state)
{
    int64_t v = 0;

    (void)state;
    assert_int_equal(ward_linux_parse_i64(S("45000\n"), &v), 0);
    assert_int_equal(v, 45000);
    assert_int_equal(ward_linux_parse_i64(S("45000"), &v), 0);
    assert_int_equal(v, 45000);
    assert_int_equal(ward_linux_parse_i64(S("-12500\n"), &v), 0);
    assert_int_equal(v, -12500);
    assert_int_equal(ward_linux_parse_i64(S("-273150\n"), &v), 0);
    assert_int_equal(v, -273150);
    assert_int_equal(ward_linux_parse_i64(S("+7\n"), &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(ward_linux_parse_i64(S(" 0\n"), &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(ward_linux_parse_i64(S("9223372036854775807\n"), &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(ward_linux_parse_i64(S("-9223372036854775808\n"), &v), 0);
    assert_true(v == INT64_MIN);
}

static void test_i64_rejects_garbage_and_overflow(void **state)
{
    int64_t v = 99;

    (void)state;
    assert_int_equal(ward_linux_parse_i64(S("9223372036854775808\n"), &v), -ERANGE);
    assert_int_equal(ward_linux_parse_i64(S("-9223372036854775809\n"), &v), -ERANGE);
    assert_int_equal(ward_linux_parse_i64(S("99999999999999999999999\n"), &v), -ERANGE);
    assert_int_equal(ward_linux_parse_i64(S(""), &v), -EBADMSG);
    assert_int_equal(ward_linux_parse_i64(S("\n"), &v), -EBADMSG);
    assert_int_equal(ward_linux_parse_i64(S("-"), &v), -EBADMSG);
    assert_int_equal(ward_linux_parse_i64(S("abc\n"), &v), -EBADMSG);
    assert_int_equal(ward_linux_parse_i64(S("12abc\n"), &v), -EBADMSG);
    assert_int_equal(ward_linux_parse_i64(S("12 13\n"), &v), -EBADMSG);
    assert_int_equal(ward_linux_parse_i64(S("0x10\n"), &v), -EBADMSG);
    assert_int_equal(ward_linux_parse_i64(S("--5"), &v), -EBADMSG);
    assert_int_equal(ward_linux_parse_i64("12\0"
                                          "3",
                                          4, &v),
                     -EBADMSG);
    assert_int_equal(v, 99); /* untouched on failure */
}

static void test_u64_counters(void **state)
{
    uint64_t v = 0;

    (void)state;
    assert_int_equal(ward_linux_parse_u64(S("18446744073709551615\n"), &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(ward_linux_parse_u64(S("18446744073709551616\n"), &v), -ERANGE);
    assert_int_equal(ward_linux_parse_u64(S("-1\n"), &v), -EBADMSG);
    assert_int_equal(ward_linux_parse_u64(S("1234567890123\n"), &v), 0);
    assert_true(v == 1234567890123ull);
}

static void test_label_clean_and_normalize(void **state)
{
    char buf[32];

    (void)state;
    assert_int_equal(ward_linux_label_clean(buf, sizeof(buf), S("Package id 0\n")), 12);
    assert_string_equal(buf, "Package id 0");
    ward_linux_label_clean(buf, sizeof(buf), S("caf\xc3\xa9\t\n"));
    assert_string_equal(buf, "caf??");
    ward_linux_label_clean(buf, 5, S("abcdefgh"));
    assert_string_equal(buf, "abcd");

    ward_linux_normalize(buf, sizeof(buf), S("Package id 0\n"));
    assert_string_equal(buf, "package_id_0");
    ward_linux_normalize(buf, sizeof(buf), S("  PECI Agent 0 -- Calibration  "));
    assert_string_equal(buf, "peci_agent_0_calibration");
    ward_linux_normalize(buf, sizeof(buf), S("PCH_CHIP_TEMP"));
    assert_string_equal(buf, "pch_chip_temp");
    ward_linux_normalize(buf, sizeof(buf), S("\n\t-"));
    assert_string_equal(buf, "");
    /* A cut never leaves a trailing '_'. */
    ward_linux_normalize(buf, 6, S("abcd efgh"));
    assert_string_equal(buf, "abcd");
}

static void test_link_words(void **state)
{
    uint8_t mac[6];

    (void)state;
    assert_int_equal(ward_linux_parse_operstate(S("up\n")), WARD_NIC_OPER_UP);
    assert_int_equal(ward_linux_parse_operstate(S("down\n")), WARD_NIC_OPER_DOWN);
    assert_int_equal(ward_linux_parse_operstate(S("lowerlayerdown\n")), WARD_NIC_OPER_LOWER_DOWN);
    assert_int_equal(ward_linux_parse_operstate(S("dormant\n")), WARD_NIC_OPER_DORMANT);
    assert_int_equal(ward_linux_parse_operstate(S("notpresent\n")), WARD_NIC_OPER_NOT_PRESENT);
    assert_int_equal(ward_linux_parse_operstate(S("testing\n")), WARD_NIC_OPER_TESTING);
    assert_int_equal(ward_linux_parse_operstate(S("unknown\n")), WARD_NIC_OPER_UNKNOWN);
    assert_int_equal(ward_linux_parse_operstate(S("upx\n")), WARD_NIC_OPER_UNKNOWN);
    assert_int_equal(ward_linux_parse_duplex(S("full\n")), WARD_NIC_DUPLEX_FULL);
    assert_int_equal(ward_linux_parse_duplex(S("half\n")), WARD_NIC_DUPLEX_HALF);
    assert_int_equal(ward_linux_parse_duplex(S("unknown\n")), WARD_NIC_DUPLEX_UNKNOWN);

    assert_int_equal(ward_linux_parse_mac(S("3c:ec:EF:12:34:56\n"), mac), 0);
    assert_int_equal(mac[0], 0x3c);
    assert_int_equal(mac[2], 0xef);
    assert_int_equal(mac[5], 0x56);
    assert_int_equal(ward_linux_parse_mac(S("3c:ec:ef:12:34\n"), mac), -EBADMSG);
    assert_int_equal(ward_linux_parse_mac(S("3c-ec-ef-12-34-56\n"), mac), -EBADMSG);
    assert_int_equal(ward_linux_parse_mac(S("0.0.0.0\n"), mac), -EBADMSG);
}

static void test_proc_stat(void **state)
{
    uint64_t t[WARD_CPU_STATE_COUNT];

    (void)state;
    assert_int_equal(ward_linux_parse_stat_cpu(S("cpu  10 20 30 40 50 60 70 80 90 100"), t), 0);
    assert_true(t[WARD_CPU_USER] == 10 && t[WARD_CPU_NICE] == 20 && t[WARD_CPU_SYSTEM] == 30);
    assert_true(t[WARD_CPU_IDLE] == 40 && t[WARD_CPU_IOWAIT] == 50 && t[WARD_CPU_IRQ] == 60);
    assert_true(t[WARD_CPU_SOFTIRQ] == 70 && t[WARD_CPU_STEAL] == 80);
    /* A 2.4-era line has only four fields; the rest read 0. */
    assert_int_equal(ward_linux_parse_stat_cpu(S("cpu 1 2 3 4\n"), t), 0);
    assert_true(t[WARD_CPU_IDLE] == 4 && t[WARD_CPU_STEAL] == 0);
    assert_int_equal(ward_linux_parse_stat_cpu(S("cpu 1 2 3"), t), -EBADMSG);
    assert_int_equal(ward_linux_parse_stat_cpu(S("cpu0 1 2 3 4"), t), -EBADMSG);
    assert_int_equal(ward_linux_parse_stat_cpu(S("cpu 1 x 3 4"), t), -EBADMSG);
    assert_true(ward_linux_is_stat_cpun(S("cpu12 1 2 3 4")));
    assert_false(ward_linux_is_stat_cpun(S("cpu  1 2 3 4")));
    assert_false(ward_linux_is_stat_cpun(S("intr 1 2")));
}

static void test_meminfo(void **state)
{
    char key[32];
    uint64_t v;

    (void)state;
    assert_int_equal(
        ward_linux_parse_meminfo(S("MemTotal:       16318412 kB"), key, sizeof(key), &v), 0);
    assert_string_equal(key, "MemTotal");
    assert_true(v == 16318412ull * 1024u);
    assert_int_equal(ward_linux_parse_meminfo(S("HugePages_Total:       0"), key, sizeof(key), &v),
                     0);
    assert_true(v == 0);
    assert_int_equal(
        ward_linux_parse_meminfo(S("Active(anon):    1536000 kB\n"), key, sizeof(key), &v), 0);
    assert_string_equal(key, "Active(anon)");
    assert_int_equal(ward_linux_parse_meminfo(S("MemTotal 5 kB"), key, sizeof(key), &v), -EBADMSG);
    assert_int_equal(ward_linux_parse_meminfo(S("MemTotal: 5 MB"), key, sizeof(key), &v), -EBADMSG);
    assert_int_equal(
        ward_linux_parse_meminfo(S("MemTotal: 18014398509481984 kB"), key, sizeof(key), &v),
        -ERANGE);
}

static void test_diskstats(void **state)
{
    struct ward_linux_diskstat d;

    (void)state;
    /* Kernel 4.18-: 14 fields. */
    assert_int_equal(ward_linux_parse_diskstats(S("   8       0 sda 1 2 3 4 5 6 7 8 9 10 11"), &d),
                     0);
    assert_string_equal(d.name, "sda");
    assert_true(d.reads == 1 && d.read_sectors == 3 && d.writes == 5 && d.write_sectors == 7);
    assert_true(d.in_flight == 9 && d.io_ms == 10);
    /* Kernel 5.5+: 20 fields (discard and flush). */
    assert_int_equal(
        ward_linux_parse_diskstats(
            S(" 259       0 nvme0n1 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27\n"), &d),
        0);
    assert_string_equal(d.name, "nvme0n1");
    assert_true(d.reads == 11 && d.read_sectors == 13 && d.io_ms == 20);
    assert_int_equal(ward_linux_parse_diskstats(S("8 0 sda 1 2 3"), &d), -EBADMSG);
    assert_int_equal(ward_linux_parse_diskstats(S("x 0 sda 1 2 3 4 5 6 7 8 9 10 11"), &d),
                     -EBADMSG);
    assert_int_equal(ward_linux_parse_diskstats(
                         S("8 0 a_device_name_that_is_far_too_long_for_it 1 2 3 4 5 6 7 8 "
                           "9 10 11"),
                         &d),
                     -EBADMSG);
}

static void test_mounts(void **state)
{
    struct ward_linux_mount m;

    (void)state;
    assert_int_equal(ward_linux_parse_mount(S("/dev/sda1 /boot/efi vfat rw,relatime 0 0"), &m), 0);
    assert_string_equal(m.source, "/dev/sda1");
    assert_string_equal(m.dir, "/boot/efi");
    assert_string_equal(m.type, "vfat");
    assert_int_equal(
        ward_linux_parse_mount(S("/dev/x /srv/data\\040store\\011tab\\134 xfs rw 0 0\n"), &m), 0);
    assert_string_equal(m.dir, "/srv/data store\ttab\\");
    /* An escape that is not three octal digits stays as it is. */
    assert_int_equal(ward_linux_parse_mount(S("a /x\\9 ext4 rw 0 0"), &m), 0);
    assert_string_equal(m.dir, "/x\\9");
    assert_int_equal(ward_linux_parse_mount(S("a /x\\000y ext4 rw 0 0"), &m), -EBADMSG);
    assert_int_equal(ward_linux_parse_mount(S("a relative ext4 rw 0 0"), &m), -EBADMSG);
    assert_int_equal(ward_linux_parse_mount(S("a /x ext4"), &m), -EBADMSG);

    assert_true(ward_linux_fs_is_pseudo("proc"));
    assert_true(ward_linux_fs_is_pseudo("cgroup2"));
    assert_true(ward_linux_fs_is_pseudo("autofs"));
    assert_true(ward_linux_fs_is_pseudo("overlay"));
    assert_false(ward_linux_fs_is_pseudo("tmpfs"));
    assert_false(ward_linux_fs_is_pseudo("ext4"));
    assert_true(ward_linux_fs_is_network("nfs4"));
    assert_true(ward_linux_fs_is_network("cifs"));
    assert_false(ward_linux_fs_is_network("xfs"));
}

static void test_statvfs_fixture_line(void **state)
{
    struct ward_host_fs f;
    char dir[64];

    (void)state;
    assert_int_equal(ward_linux_parse_statvfs_line(S("/srv/a\\040b 4096 100 50 40 1000 900"), dir,
                                                   sizeof(dir), &f),
                     0);
    assert_string_equal(dir, "/srv/a b");
    assert_true(f.total_bytes == 409600 && f.free_bytes == 204800 && f.avail_bytes == 163840);
    assert_true(f.files_total == 1000 && f.files_free == 900);
    assert_int_equal(ward_linux_parse_statvfs_line(S("/ 4096 1 2 3 4"), dir, sizeof(dir), &f),
                     -EBADMSG);
    assert_int_equal(ward_linux_parse_statvfs_line(S("/ 4096 1 2 3 4 5 6"), dir, sizeof(dir), &f),
                     -EBADMSG);
    assert_int_equal(
        ward_linux_parse_statvfs_line(S("/ 4294967296 4294967296 0 0 0 0"), dir, sizeof(dir), &f),
        -ERANGE);
}

static void test_bus_ids(void **state)
{
    char b[64];

    (void)state;
    ward_linux_bus_id(b, sizeof(b), "platform", "coretemp.0");
    assert_string_equal(b, "isa0000");
    ward_linux_bus_id(b, sizeof(b), "platform", "nct6775.656");
    assert_string_equal(b, "isa0290");
    ward_linux_bus_id(b, sizeof(b), "platform", "1e786000.pwm-tacho-controller");
    assert_string_equal(b, "mmio1e786000");
    ward_linux_bus_id(b, sizeof(b), "platform", "acpi-fan");
    assert_string_equal(b, "platform-acpi-fan");
    ward_linux_bus_id(b, sizeof(b), "i2c", "0-0048");
    assert_string_equal(b, "i2c0-0048");
    ward_linux_bus_id(b, sizeof(b), "pci", "0000:3d:00.0");
    assert_string_equal(b, "pci0000-3d-00.0");
    ward_linux_bus_id(b, sizeof(b), "usb", "1-1.2:1.0");
    assert_string_equal(b, "usb-1-1.2-1.0");
    ward_linux_bus_id(b, 8, "pci", "0000:3d:00.0");
    assert_string_equal(b, "pci0000");

    ward_linux_wwid_id(b, sizeof(b), S("naa.5002538F4160A1B2"));
    assert_string_equal(b, "naa5002538f4160a1b2");
    ward_linux_wwid_id(b, sizeof(b), S("t10.ATA     Samsung SSD 870         S6PNNX0T123456"));
    assert_string_equal(b, "t10_ata_samsung_ssd_870_s6pnnx0t123456");
}

static void test_ids(void **state)
{
    char a[WARD_SENSOR_ID_MAX], b[WARD_SENSOR_ID_MAX];
    const char *long_src = "drivetemp.t10_ata_samsung_ssd_870_evo_4tb_s6pnnx0t123456a";

    (void)state;
    ward_linux_make_id(a, "temp", "coretemp.isa0000", "package_id_0");
    assert_string_equal(a, "temp:coretemp.isa0000:package_id_0");
    ward_linux_make_id(a, "fs", "/srv", NULL);
    assert_string_equal(a, "fs:/srv");
    /* Too long: a stable head plus a hash, and two near-identical long ids stay apart. */
    assert_int_equal(ward_linux_make_id(a, "temp", long_src, "temp1"), WARD_SENSOR_ID_MAX - 1);
    assert_int_equal(ward_linux_make_id(b, "temp", long_src, "temp2"), WARD_SENSOR_ID_MAX - 1);
    assert_string_not_equal(a, b);
    assert_memory_equal(a, b, WARD_SENSOR_ID_MAX - 10);
    assert_int_equal(a[WARD_SENSOR_ID_MAX - 10], '~');
    ward_linux_make_id(b, "temp", long_src, "temp1");
    assert_string_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_i64_accepts_kernel_forms),
        cmocka_unit_test(test_i64_rejects_garbage_and_overflow),
        cmocka_unit_test(test_u64_counters),
        cmocka_unit_test(test_label_clean_and_normalize),
        cmocka_unit_test(test_link_words),
        cmocka_unit_test(test_proc_stat),
        cmocka_unit_test(test_meminfo),
        cmocka_unit_test(test_diskstats),
        cmocka_unit_test(test_mounts),
        cmocka_unit_test(test_statvfs_fixture_line),
        cmocka_unit_test(test_bus_ids),
        cmocka_unit_test(test_ids),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
