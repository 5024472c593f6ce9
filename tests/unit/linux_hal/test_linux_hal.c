/*
 * The Linux backend (hal/linux/) against the fixture trees of tests/fixtures/ and against
 * small trees built here for the error cases: every class, thresholds, statuses, stable ids
 * across hwmon renumbering, counters, files kept open or not, and this machine's real lo.
 *
 * Driver errors that a file cannot produce (ENODATA, EAGAIN, ENODEV, EINVAL) come from a
 * wrapped pread64 (-Wl,--wrap): the backend re-reads kept files with pread.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ward/hal/linux_impl.h"

#ifndef WARD_LINUX_FIXTURES
#error "the build passes WARD_LINUX_FIXTURES (tests/fixtures)"
#endif

/* ---- heap: every allocation of the process is counted while a window is open ---- */

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void __libc_free(void *p);

static volatile int s_heap_window;
static volatile unsigned s_heap_calls;

void *malloc(size_t size)
{
    s_heap_calls += s_heap_window;
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    s_heap_calls += s_heap_window;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    s_heap_calls += s_heap_window;
    return __libc_realloc(p, size);
}

void free(void *p)
{
    __libc_free(p);
}

static void heap_window_open(void)
{
    s_heap_calls = 0;
    s_heap_window = 1;
}

static unsigned heap_window_close(void)
{
    s_heap_window = 0;
    return s_heap_calls;
}

/* ---- pread fault injection ---- */

ssize_t __real_pread64(int fd, void *buf, size_t n, int64_t off);
ssize_t __wrap_pread64(int fd, void *buf, size_t n, int64_t off);
ssize_t __real_pread(int fd, void *buf, size_t n, long off);
ssize_t __wrap_pread(int fd, void *buf, size_t n, long off);

static const char *s_fail_suffix; /* preads of a file whose path ends so fail with s_fail_errno */
static int s_fail_errno;
static unsigned s_fail_skip; /* ... after this many of them succeeded */
static unsigned s_preads;

static int injected(int fd)
{
    char link[64], path[512];
    ssize_t n;
    size_t sl;

    s_preads++;
    if (s_fail_suffix == NULL) {
        return 0;
    }
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof(path) - 1);
    if (n < 0) {
        return 0;
    }
    path[n] = '\0';
    sl = strlen(s_fail_suffix);
    if ((size_t)n >= sl && strcmp(path + n - sl, s_fail_suffix) == 0) {
        if (s_fail_skip > 0) {
            s_fail_skip--;
            return 0;
        }
        errno = s_fail_errno;
        return 1;
    }
    return 0;
}

ssize_t __wrap_pread64(int fd, void *buf, size_t n, int64_t off)
{
    return injected(fd) ? -1 : __real_pread64(fd, buf, n, off);
}

ssize_t __wrap_pread(int fd, void *buf, size_t n, long off)
{
    return injected(fd) ? -1 : __real_pread(fd, buf, n, off);
}

static void inject(const char *suffix, int err)
{
    s_fail_suffix = suffix;
    s_fail_errno = err;
    s_fail_skip = 0;
}

/* ---- helpers ---- */

static struct ward_linux_hal s_lh;
static struct ward_linux_hal s_lh2;

static void init_at(struct ward_linux_hal *lh, struct ward_hal *hal, const char *root)
{
    memset(hal, 0, sizeof(*hal));
    assert_int_equal(ward_linux_hal_init(lh, hal, root), 0);
    assert_int_equal(hal->n_temp, 1);
    assert_int_equal(hal->n_fan, 1);
    assert_int_equal(hal->n_nic, 1);
    assert_non_null(hal->host);
}

static void init_fixture(struct ward_linux_hal *lh, struct ward_hal *hal, const char *name)
{
    char root[512];

    snprintf(root, sizeof(root), "%s/%s", WARD_LINUX_FIXTURES, name);
    init_at(lh, hal, root);
}

static int find_temp(const struct ward_hal *hal, const char *id, struct ward_sensor_info *info)
{
    int n = ward_temp_count(hal->temp[0]);

    for (int i = 0; i < n; i++) {
        assert_int_equal(ward_temp_info(hal->temp[0], (unsigned)i, info), 0);
        if (strcmp(info->id, id) == 0) {
            return i;
        }
    }
    fail_msg("no temperature %s", id);
    return -1;
}

static int find_fan(const struct ward_hal *hal, const char *id, struct ward_sensor_info *info)
{
    int n = ward_fan_count(hal->fan[0]);

    for (int i = 0; i < n; i++) {
        assert_int_equal(ward_fan_info(hal->fan[0], (unsigned)i, info), 0);
        if (strcmp(info->id, id) == 0) {
            return i;
        }
    }
    fail_msg("no fan %s", id);
    return -1;
}

static int find_nic(const struct ward_hal *hal, const char *name, struct ward_nic_info *info)
{
    int n = ward_nic_count(hal->nic[0]);

    for (int i = 0; i < n; i++) {
        assert_int_equal(ward_nic_info(hal->nic[0], (unsigned)i, info), 0);
        if (strcmp(info->name, name) == 0) {
            return i;
        }
    }
    fail_msg("no nic %s", name);
    return -1;
}

static struct ward_temp_reading temp_of(const struct ward_hal *hal, const char *id)
{
    struct ward_sensor_info info;
    struct ward_temp_reading r;

    assert_int_equal(ward_temp_read(hal->temp[0], (unsigned)find_temp(hal, id, &info), &r), 0);
    return r;
}

static void assert_ok(struct ward_reading r, int64_t value)
{
    if (r.status != WARD_STATUS_OK || r.value != value) {
        fail_msg("reading status %d reason %d value %" PRId64 ", wanted ok %" PRId64, r.status,
                 r.reason, r.value, value);
    }
    assert_int_equal(r.reason, WARD_REASON_NONE);
}

static void assert_unavailable(struct ward_reading r, enum ward_reason why)
{
    if (r.status != WARD_STATUS_UNAVAILABLE || r.reason != why) {
        fail_msg("reading status %d reason %d, wanted unavailable %d", r.status, r.reason, why);
    }
}

static void assert_thr(const struct ward_thresholds *t, enum ward_threshold_kind k, int64_t v)
{
    assert_true(t->present & (1u << k));
    assert_true(t->value[k] == v);
}

/* ---- fixture trees ---- */

static void test_intel_temperatures(void **state)
{
    struct ward_hal hal;
    struct ward_sensor_info info;
    struct ward_temp_reading r;

    (void)state;
    init_fixture(&s_lh, &hal, "intel-server");
    /* 2 x coretemp (5), nct6776 (5), nvme (3), drivetemp (1), 4 thermal zones. */
    assert_int_equal(ward_temp_count(hal.temp[0]), 23);

    find_temp(&hal, "temp:coretemp.isa0000:package_id_0", &info);
    assert_string_equal(info.label, "Package id 0");
    assert_int_equal(info.thresholds.present,
                     (1u << WARD_THR_UPPER_CAUTION) | (1u << WARD_THR_UPPER_CRITICAL));
    assert_thr(&info.thresholds, WARD_THR_UPPER_CAUTION, 86000);
    assert_thr(&info.thresholds, WARD_THR_UPPER_CRITICAL, 96000);
    r = temp_of(&hal, "temp:coretemp.isa0000:package_id_0");
    assert_ok(r.mdeg_c, 45000);
    assert_false(r.alarm);
    /* Two packages: same chip name, different platform ids. Core 3 of package 1 alarms. */
    r = temp_of(&hal, "temp:coretemp.isa0001:core_3");
    assert_ok(r.mdeg_c, 48000);
    assert_true(r.alarm);
    assert_ok(temp_of(&hal, "temp:coretemp.isa0000:core_5").mdeg_c, 46000);

    /* Super I/O: negative temperature, labels normalized. */
    assert_ok(temp_of(&hal, "temp:nct6776.isa0290:auxtin").mdeg_c, -27000);
    assert_ok(temp_of(&hal, "temp:nct6776.isa0290:peci_agent_0").mdeg_c, 45000);
    find_temp(&hal, "temp:nct6776.isa0290:systin", &info);
    assert_int_equal(info.thresholds.present, 1u << WARD_THR_UPPER_CAUTION);

    /* NVMe: the id names the PCI function, not nvme0. */
    find_temp(&hal, "temp:nvme.pci0000-3d-00.0:composite", &info);
    assert_thr(&info.thresholds, WARD_THR_LOWER_CAUTION, -273150);
    assert_thr(&info.thresholds, WARD_THR_UPPER_CAUTION, 81850);
    assert_thr(&info.thresholds, WARD_THR_UPPER_CRITICAL, 84850);
    assert_ok(temp_of(&hal, "temp:nvme.pci0000-3d-00.0:sensor_2").mdeg_c, 47850);

    /* drivetemp: named by the disk's wwid; lcrit is negative. */
    find_temp(&hal, "temp:drivetemp.naa5002538f4160a1b2:temp1", &info);
    assert_thr(&info.thresholds, WARD_THR_LOWER_CRITICAL, -40000);
    assert_thr(&info.thresholds, WARD_THR_LOWER_CAUTION, 0);
    assert_thr(&info.thresholds, WARD_THR_UPPER_CAUTION, 70000);
    assert_thr(&info.thresholds, WARD_THR_UPPER_CRITICAL, 85000);
    assert_false(info.thresholds.present & (1u << WARD_THR_UPPER_FATAL));

    /* Thermal zones: trips as thresholds (active ignored), the acpitz hwmon mirror skipped. */
    find_temp(&hal, "temp:thermal:acpitz_lnxtherm_00", &info);
    assert_string_equal(info.label, "acpitz");
    assert_int_equal(info.thresholds.present, (1u << WARD_THR_UPPER_CAUTION) |
                                                  (1u << WARD_THR_UPPER_CRITICAL) |
                                                  (1u << WARD_THR_UPPER_FATAL));
    assert_thr(&info.thresholds, WARD_THR_UPPER_CAUTION, 90000);
    assert_thr(&info.thresholds, WARD_THR_UPPER_CRITICAL, 95000);
    assert_thr(&info.thresholds, WARD_THR_UPPER_FATAL, 105000);
    assert_ok(temp_of(&hal, "temp:thermal:acpitz_lnxtherm_00").mdeg_c, 27800);
    for (int i = 0; i < ward_temp_count(hal.temp[0]); i++) {
        ward_temp_info(hal.temp[0], (unsigned)i, &info);
        assert_null(strstr(info.id, "acpitz.virtual"));
        assert_null(strstr(info.id, "hwmon"));
    }
    assert_unavailable(temp_of(&hal, "temp:thermal:pch_cannonlake").mdeg_c, WARD_REASON_DISABLED);
    find_temp(&hal, "temp:thermal:x86_pkg_temp", &info);
    assert_int_equal(info.thresholds.present, 0); /* trips at 0: not programmed */
    assert_ok(temp_of(&hal, "temp:thermal:x86_pkg_temp").mdeg_c, 45000);
    assert_ok(temp_of(&hal, "temp:thermal:x86_pkg_temp~2").mdeg_c, 47000);

    assert_int_equal(ward_temp_read(hal.temp[0], 23, &r), -EINVAL);
    assert_int_equal(ward_temp_info(hal.temp[0], 23, &info), -EINVAL);
    assert_int_equal(ward_linux_problem_count(&s_lh), 0);
    ward_linux_hal_close(&s_lh);
}

static void test_intel_fans(void **state)
{
    struct ward_hal hal;
    struct ward_sensor_info info;
    struct ward_fan_reading f;

    (void)state;
    init_fixture(&s_lh, &hal, "intel-server");
    assert_int_equal(ward_fan_count(hal.fan[0]), 4);

    assert_int_equal(
        ward_fan_read(hal.fan[0], (unsigned)find_fan(&hal, "fan:nct6776.isa0290:fan1", &info), &f),
        0);
    assert_int_equal(info.thresholds.present, 1u << WARD_THR_LOWER_CAUTION);
    assert_thr(&info.thresholds, WARD_THR_LOWER_CAUTION, 300);
    assert_ok(f.rpm, 1205);
    assert_ok(f.pwm_percent, 50); /* 128/255 */
    assert_false(f.alarm);

    ward_fan_read(hal.fan[0], (unsigned)find_fan(&hal, "fan:nct6776.isa0290:fan2", &info), &f);
    assert_ok(f.rpm, 0);
    assert_ok(f.pwm_percent, 100);
    assert_true(f.alarm);

    ward_fan_read(hal.fan[0], (unsigned)find_fan(&hal, "fan:nct6776.isa0290:fan3", &info), &f);
    assert_ok(f.rpm, 860);
    assert_ok(f.pwm_percent, 30); /* 77/255 = 30.2 */
    assert_thr(&info.thresholds, WARD_THR_LOWER_CAUTION, 0);

    /* pwm4 drives no tach input: a fan output without speed. */
    ward_fan_read(hal.fan[0], (unsigned)find_fan(&hal, "fan:nct6776.isa0290:pwm4", &info), &f);
    assert_unavailable(f.rpm, WARD_REASON_NOT_SUPPORTED);
    assert_ok(f.pwm_percent, 0);
    ward_linux_hal_close(&s_lh);
}

/* The same machine with every hwmonN and thermal_zoneN number changed: same ids, same order,
 * same values. */
static void test_ids_survive_renumbering(void **state)
{
    struct ward_hal a, b;
    char l1[256], l2[256], p[512];
    ssize_t n;
    int nt, nf;

    (void)state;
    /* The trees really differ: hwmon1 is coretemp.0 in one and nvme in the other. */
    snprintf(p, sizeof(p), "%s/intel-server/sys/class/hwmon/hwmon1", WARD_LINUX_FIXTURES);
    n = readlink(p, l1, sizeof(l1) - 1);
    assert_true(n > 0);
    l1[n] = '\0';
    snprintf(p, sizeof(p), "%s/intel-server-renumbered/sys/class/hwmon/hwmon1",
             WARD_LINUX_FIXTURES);
    n = readlink(p, l2, sizeof(l2) - 1);
    assert_true(n > 0);
    l2[n] = '\0';
    assert_string_not_equal(l1, l2);

    init_fixture(&s_lh, &a, "intel-server");
    init_fixture(&s_lh2, &b, "intel-server-renumbered");
    nt = ward_temp_count(a.temp[0]);
    nf = ward_fan_count(a.fan[0]);
    assert_int_equal(ward_temp_count(b.temp[0]), nt);
    assert_int_equal(ward_fan_count(b.fan[0]), nf);
    for (int i = 0; i < nt; i++) {
        struct ward_sensor_info ia, ib;
        struct ward_temp_reading ra, rb;

        ward_temp_info(a.temp[0], (unsigned)i, &ia);
        ward_temp_info(b.temp[0], (unsigned)i, &ib);
        assert_string_equal(ia.id, ib.id);
        assert_memory_equal(&ia.thresholds, &ib.thresholds, sizeof(ia.thresholds));
        ward_temp_read(a.temp[0], (unsigned)i, &ra);
        ward_temp_read(b.temp[0], (unsigned)i, &rb);
        assert_memory_equal(&ra, &rb, sizeof(ra));
    }
    for (int i = 0; i < nf; i++) {
        struct ward_sensor_info ia, ib;

        ward_fan_info(a.fan[0], (unsigned)i, &ia);
        ward_fan_info(b.fan[0], (unsigned)i, &ib);
        assert_string_equal(ia.id, ib.id);
    }
    ward_linux_hal_close(&s_lh);
    ward_linux_hal_close(&s_lh2);
}

/* Chips with the same name on different buses, and ids unique across the whole agent. */
static void test_same_name_chips_stay_apart(void **state)
{
    struct ward_hal hal;
    struct ward_sensor_info info, other;

    (void)state;
    init_fixture(&s_lh, &hal, "amd-server");
    assert_int_equal(ward_temp_count(hal.temp[0]), 9);
    assert_ok(temp_of(&hal, "temp:nvme.pci0000-01-00.0:composite").mdeg_c, 35850);
    assert_ok(temp_of(&hal, "temp:nvme.pci0000-41-00.0:composite").mdeg_c, 41850);
    assert_ok(temp_of(&hal, "temp:jc42.i2c0-0018:temp1").mdeg_c, 31250);
    assert_ok(temp_of(&hal, "temp:jc42.i2c0-0019:temp1").mdeg_c, 32500);
    find_temp(&hal, "temp:k10temp.pci0000-00-18.3:tctl", &info);
    assert_thr(&info.thresholds, WARD_THR_UPPER_CAUTION, 70000);
    assert_thr(&info.thresholds, WARD_THR_UPPER_CRITICAL, 95000);
    find_temp(&hal, "temp:nvme.pci0000-01-00.0:composite", &info);
    assert_thr(&info.thresholds, WARD_THR_LOWER_CAUTION, -5150);
    for (int i = 0; i < ward_temp_count(hal.temp[0]); i++) {
        for (int j = i + 1; j < ward_temp_count(hal.temp[0]); j++) {
            ward_temp_info(hal.temp[0], (unsigned)i, &info);
            ward_temp_info(hal.temp[0], (unsigned)j, &other);
            assert_string_not_equal(info.id, other.id);
        }
    }
    /* No thermal class in this tree: not a problem worth reporting. */
    assert_int_equal(ward_linux_problem_count(&s_lh), 0);
    ward_linux_hal_close(&s_lh);
}

static void test_bmc_statuses(void **state)
{
    struct ward_hal hal;
    struct ward_sensor_info info;
    struct ward_fan_reading f;
    struct ward_temp_reading r;

    (void)state;
    init_fixture(&s_lh, &hal, "bmc-ast2500");
    assert_ok(temp_of(&hal, "temp:lm75.i2c0-0048:temp1").mdeg_c, -12500);
    assert_ok(temp_of(&hal, "temp:lm75.i2c1-0048:temp1").mdeg_c, 38000);
    assert_ok(temp_of(&hal, "temp:tmp421.i2c2-004c:local").mdeg_c, 41000);
    r = temp_of(&hal, "temp:tmp421.i2c2-004c:cpu_diode");
    assert_int_equal(r.mdeg_c.status, WARD_STATUS_FAULT);
    assert_unavailable(temp_of(&hal, "temp:tmp421.i2c2-004c:psu_diode").mdeg_c,
                       WARD_REASON_DISABLED);

    assert_int_equal(ward_fan_count(hal.fan[0]), 8);
    ward_fan_read(hal.fan[0],
                  (unsigned)find_fan(&hal, "fan:aspeed_pwm_tacho.mmio1e786000:fan1", &info), &f);
    assert_ok(f.rpm, 5400);
    assert_ok(f.pwm_percent, 40); /* 102/255 */
    assert_int_equal(info.thresholds.present, 0);
    assert_string_equal(info.label, "");
    ward_fan_read(hal.fan[0],
                  (unsigned)find_fan(&hal, "fan:aspeed_pwm_tacho.mmio1e786000:fan7", &info), &f);
    assert_ok(f.rpm, 0);
    assert_unavailable(f.pwm_percent, WARD_REASON_NOT_SUPPORTED);
    assert_int_equal(ward_linux_problem_count(&s_lh), 0);
    ward_linux_hal_close(&s_lh);
}

/* A counter's value straight from the fixture file, to compare the backend with. */
static uint64_t fixture_u64(const char *tree, const char *nic, const char *file)
{
    char p[512], buf[64];
    FILE *f;
    unsigned long long v = 0;

    snprintf(p, sizeof(p), "%s/%s/sys/class/net/%s/%s", WARD_LINUX_FIXTURES, tree, nic, file);
    f = fopen(p, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_int_equal(sscanf(buf, "%llu", &v), 1);
    return v;
}

static void check_counters(const struct ward_hal *hal, const char *tree, const char *name)
{
    struct ward_nic_info info;
    struct ward_nic_reading r;
    char file[64];

    assert_int_equal(ward_nic_read(hal->nic[0], (unsigned)find_nic(hal, name, &info), &r), 0);
    for (unsigned c = 0; c < WARD_NIC_COUNTER_COUNT; c++) {
        const char *cn = ward_nic_counter_name((enum ward_nic_counter)c);

        snprintf(file, sizeof(file), c == WARD_NIC_CARRIER_CHANGES ? "%s" : "statistics/%s", cn);
        assert_ok(r.counter[c], (int64_t)fixture_u64(tree, name, file));
    }
}

static void test_nics(void **state)
{
    struct ward_hal hal;
    struct ward_nic_info info;
    struct ward_nic_reading r;
    static const uint8_t mac[6] = { 0x3c, 0xec, 0xef, 0x12, 0x34, 0x56 };

    (void)state;
    init_fixture(&s_lh, &hal, "intel-server");
    assert_int_equal(ward_nic_count(hal.nic[0]), 3); /* bonding_masters is not an interface */
    ward_nic_info(hal.nic[0], 0, &info);
    assert_string_equal(info.name, "eno1"); /* by name */
    for (const char *const *n = (const char *const[]){ "eno1", "eno2", "lo", NULL }; *n; n++) {
        check_counters(&hal, "intel-server", *n);
    }

    ward_nic_read(hal.nic[0], (unsigned)find_nic(&hal, "eno1", &info), &r);
    assert_string_equal(info.sensor.id, "nic:eno1");
    assert_true(info.has_mac);
    assert_memory_equal(info.mac, mac, 6);
    assert_int_equal(info.mtu, 1500);
    assert_int_equal(r.oper, WARD_NIC_OPER_UP);
    assert_int_equal(r.duplex, WARD_NIC_DUPLEX_FULL);
    assert_ok(r.carrier, 1);
    assert_ok(r.speed_mbps, 1000);
    assert_ok(r.counter[WARD_NIC_RX_BYTES], 9876543210124);

    ward_nic_read(hal.nic[0], (unsigned)find_nic(&hal, "eno2", &info), &r);
    assert_int_equal(r.oper, WARD_NIC_OPER_DOWN);
    assert_int_equal(r.duplex, WARD_NIC_DUPLEX_UNKNOWN);
    assert_ok(r.carrier, 0);
    assert_unavailable(r.speed_mbps, WARD_REASON_NOT_SUPPORTED); /* -1: unknown */

    ward_nic_read(hal.nic[0], (unsigned)find_nic(&hal, "lo", &info), &r);
    assert_int_equal(info.mtu, 65536);
    assert_int_equal(r.oper, WARD_NIC_OPER_UNKNOWN);
    assert_unavailable(r.speed_mbps, WARD_REASON_MISSING);
    ward_linux_hal_close(&s_lh);

    init_fixture(&s_lh, &hal, "bmc-ast2500");
    for (const char *const *n = (const char *const[]){ "eth0", "eth1", "usb0", "lo", NULL }; *n;
         n++) {
        check_counters(&hal, "bmc-ast2500", *n);
    }
    ward_linux_hal_close(&s_lh);
}

static void test_host(void **state)
{
    struct ward_hal hal;
    struct ward_host_cpu cpu;
    struct ward_host_mem mem;
    struct ward_host_blk blk;
    struct ward_host_blk_info bi;
    struct ward_host_fs fs;
    struct ward_host_fs_info fi;
    static const char *const mounts[] = {
        "/run", "/", "/dev/shm", "/boot/efi", "/srv/data store", "/mnt/backup", "/run/user/1000"
    };

    (void)state;
    init_fixture(&s_lh, &hal, "intel-server");
    assert_int_equal(ward_host_cpu(hal.host, &cpu), 0);
    assert_int_equal(cpu.status, WARD_STATUS_OK);
    assert_int_equal(cpu.ncpu, 8);
    assert_true(cpu.ticks[WARD_CPU_USER] == 16028000 && cpu.ticks[WARD_CPU_IDLE] == 16028888);
    assert_true(cpu.ticks[WARD_CPU_STEAL] == 16030072);
    assert_true(cpu.ticks_per_second > 0);

    assert_int_equal(ward_host_mem(hal.host, &mem), 0);
    assert_int_equal(mem.status, WARD_STATUS_OK);
    assert_true(mem.total == 65742108ull * 1024 && mem.available == 59883400ull * 1024);
    assert_true(mem.free == 48120332ull * 1024 && mem.cached == 10204880ull * 1024);
    assert_true(mem.buffers == 612100ull * 1024 && mem.swap_total == 8388604ull * 1024);

    /* Whole disks only: loop0 and the partitions are left out. */
    assert_int_equal(ward_host_blk_count(hal.host), 3);
    ward_host_blk_info(hal.host, 0, &bi);
    assert_string_equal(bi.sensor.id, "blk:sda");
    ward_host_blk_read(hal.host, 0, &blk);
    assert_int_equal(blk.status, WARD_STATUS_OK);
    /* sda's line: reads 200, sectors 218, writes 244, sectors 278, in flight 320, io 344 ms */
    assert_true(blk.reads == 200 && blk.read_bytes == 218u * 512 && blk.writes == 244);
    assert_true(blk.written_bytes == 278u * 512 && blk.in_flight == 320 && blk.io_ms == 344);
    ward_host_blk_info(hal.host, 2, &bi);
    assert_string_equal(bi.name, "dm-0");

    /* Pseudo filesystems, autofs, overlay and the bind mount of one device are left out. */
    assert_int_equal(ward_host_fs_count(hal.host), 7);
    for (unsigned i = 0; i < 7; i++) {
        ward_host_fs_info(hal.host, i, &fi);
        assert_string_equal(fi.mount_point, mounts[i]);
    }
    ward_host_fs_info(hal.host, 1, &fi);
    assert_string_equal(fi.sensor.id, "fs:/");
    assert_string_equal(fi.fs_type, "ext4");
    assert_string_equal(fi.source, "/dev/mapper/vg0-root");
    ward_host_fs_read(hal.host, 1, &fs);
    assert_int_equal(fs.status, WARD_STATUS_OK);
    assert_true(fs.total_bytes == 24379392ull * 4096 && fs.avail_bytes == 14479360ull * 4096);
    assert_true(fs.free_bytes == 15728640ull * 4096 && fs.files_free == 5812210);
    ward_host_fs_read(hal.host, 4, &fs);
    assert_int_equal(fs.status, WARD_STATUS_OK);
    assert_true(fs.total_bytes == 468843264ull * 4096);
    ward_host_fs_read(hal.host, 5, &fs); /* nfs4: listed, never statvfs'd */
    assert_int_equal(fs.status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(fs.reason, WARD_REASON_NOT_SUPPORTED);
    ward_linux_hal_close(&s_lh);

    /* /proc/mounts when there is no /proc/self; no size fixture: sizes not supported. */
    init_fixture(&s_lh, &hal, "amd-server");
    assert_int_equal(ward_host_fs_count(hal.host), 2);
    ward_host_fs_read(hal.host, 0, &fs);
    assert_int_equal(fs.status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(fs.reason, WARD_REASON_NOT_SUPPORTED);
    ward_host_cpu(hal.host, &cpu);
    assert_int_equal(cpu.ncpu, 32);
    ward_linux_hal_close(&s_lh);
}

/* ---- trees built here ---- */

static char s_tmp[128];

/* s_tmp/rel into p, with rel's parent directories made. */
static void tmp_path(char *p, size_t len, const char *rel)
{
    snprintf(p, len, "%s/%s", s_tmp, rel);
    for (char *s = strchr(p + strlen(s_tmp) + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
        *s = '\0';
        mkdir(p, 0755);
        *s = '/';
    }
}

static void put(const char *rel, const char *content)
{
    char p[512];
    FILE *f;

    tmp_path(p, sizeof(p), rel);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void put_link(const char *rel, const char *target)
{
    char p[512];

    tmp_path(p, sizeof(p), rel);
    assert_int_equal(symlink(target, p), 0);
}

static void put_dir(const char *rel)
{
    char p[512];

    tmp_path(p, sizeof(p), rel);
    assert_int_equal(mkdir(p, 0755), 0);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static int tmp_setup(void **state)
{
    (void)state;
    snprintf(s_tmp, sizeof(s_tmp), "/tmp/ward-test-linux-hal-XXXXXX");
    if (mkdtemp(s_tmp) == NULL) {
        return -1;
    }
    return chmod(s_tmp, 0755); /* the permission test runs as nobody */
}

static int tmp_teardown(void **state)
{
    (void)state;
    inject(NULL, 0);
    return nftw(s_tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#define CHIP "sys/devices/platform/testchip.0/hwmon/hwmon0/"

/* One chip with every kind of broken, odd or flagged channel. */
static void build_test_chip(void)
{
    put_link("sys/devices/platform/testchip.0/subsystem", "../../../bus/platform");
    put_dir("sys/bus/platform");
    put(CHIP "name", "testchip\n");
    put_link(CHIP "device", "../../../testchip.0");
    put_dir("sys/class/hwmon");
    put_link("sys/class/hwmon/hwmon0", "../../devices/platform/testchip.0/hwmon/hwmon0");
    put(CHIP "temp1_label", "no input\n");
    put_dir(CHIP "temp2_input"); /* reads fail: EISDIR */
    put(CHIP "temp3_input", "abc\n");
    put(CHIP "temp4_input", "99999999999999999999\n");
    put(CHIP "temp5_input", "");
    put(CHIP "temp6_input", "-5000\n");
    put(CHIP "temp6_max", "garbage\n");
    put(CHIP "temp6_min", "-10000\n");
    put(CHIP "temp7_input", "7000\n");
    put(CHIP "temp8_input", "1000\n");
    put(CHIP "temp8_enable", "0\n");
    put(CHIP "temp9_input", "1000\n");
    put(CHIP "temp9_fault", "1\n");
    put(CHIP "temp10_input", "2000\n");
    put(CHIP "temp10_fault", "0\n");
    put(CHIP "temp10_enable", "1\n");
    put(CHIP "temp10_max_alarm", "1\n");
    put(CHIP "temp11_input", "11000\n");
    put(CHIP "temp11_label", "AUXTIN\n");
    put(CHIP "temp12_input", "12000\n");
    put(CHIP "temp12_label", "AUXTIN\n");
    put(CHIP "fan1_input", "abc\n");
    put(CHIP "fan2_input", "-1\n");
    put(CHIP "pwm2", "300\n");
    put(CHIP "fan3_input", "900\n");
    put(CHIP "fan3_fault", "1\n");
    put(CHIP "fan4_input", "700\n");
    put(CHIP "fan4_enable", "0\n");
    put(CHIP "fan5_label", "Rear\n");
    put(CHIP "fan5_input", "1500\n");
    put(CHIP "fan5_min", "500\n");
    put(CHIP "fan5_min_alarm", "1\n");
    put(CHIP "in0_input", "1200\n");
    /* A chip without a name (the ABI requires one) and a virtual chip without a device. */
    put("sys/devices/virtual/hwmon/hwmon1/temp1_input", "1\n");
    put_link("sys/class/hwmon/hwmon1", "../../devices/virtual/hwmon/hwmon1");
    put("sys/devices/virtual/hwmon/hwmon2/name", "virt\n");
    put("sys/devices/virtual/hwmon/hwmon2/temp1_input", "21000\n");
    put_link("sys/class/hwmon/hwmon2", "../../devices/virtual/hwmon/hwmon2");
}

static void test_statuses_of_broken_channels(void **state)
{
    struct ward_hal hal;
    struct ward_sensor_info info;
    struct ward_fan_reading f;
    struct ward_temp_reading r;
    char line[400];

    (void)state;
    build_test_chip();
    init_at(&s_lh, &hal, s_tmp);
    assert_unavailable(temp_of(&hal, "temp:testchip.isa0000:no_input").mdeg_c, WARD_REASON_MISSING);
    assert_unavailable(temp_of(&hal, "temp:testchip.isa0000:temp2").mdeg_c, WARD_REASON_IO_ERROR);
    assert_unavailable(temp_of(&hal, "temp:testchip.isa0000:temp3").mdeg_c, WARD_REASON_BAD_DATA);
    assert_unavailable(temp_of(&hal, "temp:testchip.isa0000:temp4").mdeg_c, WARD_REASON_BAD_DATA);
    assert_unavailable(temp_of(&hal, "temp:testchip.isa0000:temp5").mdeg_c, WARD_REASON_BAD_DATA);
    assert_ok(temp_of(&hal, "temp:testchip.isa0000:temp6").mdeg_c, -5000);
    find_temp(&hal, "temp:testchip.isa0000:temp6", &info);
    assert_int_equal(info.thresholds.present, 1u << WARD_THR_LOWER_CAUTION); /* max unreadable */
    assert_thr(&info.thresholds, WARD_THR_LOWER_CAUTION, -10000);
    assert_unavailable(temp_of(&hal, "temp:testchip.isa0000:temp8").mdeg_c, WARD_REASON_DISABLED);
    r = temp_of(&hal, "temp:testchip.isa0000:temp9");
    assert_int_equal(r.mdeg_c.status, WARD_STATUS_FAULT);
    r = temp_of(&hal, "temp:testchip.isa0000:temp10");
    assert_ok(r.mdeg_c, 2000);
    assert_true(r.alarm);
    /* Two channels with one label: told apart by their channel name. */
    assert_ok(temp_of(&hal, "temp:testchip.isa0000:auxtin_temp11").mdeg_c, 11000);
    assert_ok(temp_of(&hal, "temp:testchip.isa0000:auxtin_temp12").mdeg_c, 12000);
    assert_ok(temp_of(&hal, "temp:virt.virtual:temp1").mdeg_c, 21000);

    ward_fan_read(hal.fan[0], (unsigned)find_fan(&hal, "fan:testchip.isa0000:fan1", &info), &f);
    assert_unavailable(f.rpm, WARD_REASON_BAD_DATA);
    ward_fan_read(hal.fan[0], (unsigned)find_fan(&hal, "fan:testchip.isa0000:fan2", &info), &f);
    assert_unavailable(f.rpm, WARD_REASON_BAD_DATA);
    assert_unavailable(f.pwm_percent, WARD_REASON_BAD_DATA);
    ward_fan_read(hal.fan[0], (unsigned)find_fan(&hal, "fan:testchip.isa0000:fan3", &info), &f);
    assert_int_equal(f.rpm.status, WARD_STATUS_FAULT);
    ward_fan_read(hal.fan[0], (unsigned)find_fan(&hal, "fan:testchip.isa0000:fan4", &info), &f);
    assert_unavailable(f.rpm, WARD_REASON_DISABLED);
    ward_fan_read(hal.fan[0], (unsigned)find_fan(&hal, "fan:testchip.isa0000:rear", &info), &f);
    assert_string_equal(info.label, "Rear");
    assert_ok(f.rpm, 1500);
    assert_true(f.alarm);
    assert_thr(&info.thresholds, WARD_THR_LOWER_CAUTION, 500);

    /* The nameless chip is the one problem; this tree has no thermal class or /proc. */
    assert_int_equal(ward_linux_problem_get(&s_lh, 0)->err, ENOENT);
    assert_int_equal(ward_linux_problem_format(&s_lh, 0, line, sizeof(line)), 0);
    assert_non_null(strstr(line, "/sys/class/hwmon/hwmon1: missing"));
    assert_int_equal(ward_linux_problem_format(&s_lh, 99, line, sizeof(line)), -EINVAL);
    ward_linux_hal_close(&s_lh);
}

/* Run as a user who may not read temp7_input: one problem, one channel, the rest reads. */
static int unprivileged_child(void)
{
    struct ward_hal hal;
    struct ward_sensor_info info;
    struct ward_temp_reading r;
    char line[400];
    int n, found = 0;

    memset(&hal, 0, sizeof(hal));
    if (ward_linux_hal_init(&s_lh, &hal, s_tmp) != 0) {
        return 10;
    }
    n = ward_temp_count(hal.temp[0]);
    for (int i = 0; i < n; i++) {
        ward_temp_info(hal.temp[0], (unsigned)i, &info);
        ward_temp_read(hal.temp[0], (unsigned)i, &r);
        if (strcmp(info.id, "temp:testchip.isa0000:temp7") == 0) {
            found = 1;
            if (r.mdeg_c.status != WARD_STATUS_UNAVAILABLE ||
                r.mdeg_c.reason != WARD_REASON_PERMISSION) {
                return 11;
            }
        } else if (strcmp(info.id, "temp:testchip.isa0000:temp6") == 0 &&
                   (r.mdeg_c.status != WARD_STATUS_OK || r.mdeg_c.value != -5000)) {
            return 12;
        }
    }
    if (!found) {
        return 13;
    }
    for (unsigned i = 0; i < ward_linux_problem_count(&s_lh); i++) {
        ward_linux_problem_format(&s_lh, i, line, sizeof(line));
        if (strstr(line, "hwmon/hwmon0/temp7_input: permission denied; run as root") != NULL) {
            return 0;
        }
    }
    return 14;
}

static void test_permission_denied(void **state)
{
    char p[512];
    pid_t pid;
    int status;

    (void)state;
    build_test_chip();
    snprintf(p, sizeof(p), "%s/" CHIP "temp7_input", s_tmp);
    assert_int_equal(chmod(p, 0), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 &&
            (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) {
            _exit(20);
        }
        _exit(unprivileged_child());
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Errors a driver returns from a read: ENODATA and EAGAIN (no fresh value), EIO, ENODEV
 * (device gone: the kept fd is dropped, later reads open the file by name). */
static void test_driver_errors(void **state)
{
    struct ward_hal hal;
    struct ward_nic_info ni;
    struct ward_nic_reading nr;
    unsigned open_before;
    const char *id = "temp:nct6776.isa0290:systin";

    (void)state;
    init_fixture(&s_lh, &hal, "intel-server");
    assert_ok(temp_of(&hal, id).mdeg_c, 36000);
    inject("/hwmon3/temp1_input", ENODATA);
    assert_unavailable(temp_of(&hal, id).mdeg_c, WARD_REASON_IO_ERROR);
    inject("/hwmon3/temp1_input", EAGAIN);
    assert_unavailable(temp_of(&hal, id).mdeg_c, WARD_REASON_IO_ERROR);
    inject("/hwmon3/temp1_input", EIO);
    assert_unavailable(temp_of(&hal, id).mdeg_c, WARD_REASON_IO_ERROR);
    inject("/hwmon3/temp1_input", EACCES);
    assert_unavailable(temp_of(&hal, id).mdeg_c, WARD_REASON_PERMISSION);
    /* An alarm flag that cannot be read does not hide the value. */
    inject("/hwmon3/temp1_alarm", EIO);
    assert_ok(temp_of(&hal, id).mdeg_c, 36000);

    open_before = s_lh.open_files;
    inject("/hwmon3/temp1_input", ENODEV);
    assert_unavailable(temp_of(&hal, id).mdeg_c, WARD_REASON_MISSING);
    assert_int_equal(s_lh.open_files, open_before - 1);
    inject(NULL, 0);
    assert_ok(temp_of(&hal, id).mdeg_c, 36000); /* opened by name now */

    /* speed fails with EINVAL: on an interface that is up, speed is just not offered. */
    inject("/net/eno1/speed", EINVAL);
    ward_nic_read(hal.nic[0], (unsigned)find_nic(&hal, "eno1", &ni), &nr);
    assert_unavailable(nr.speed_mbps, WARD_REASON_NOT_SUPPORTED);
    assert_ok(nr.carrier, 1);
    inject("/statistics/rx_crc_errors", ENODATA);
    ward_nic_read(hal.nic[0], (unsigned)find_nic(&hal, "eno1", &ni), &nr);
    assert_unavailable(nr.counter[WARD_NIC_RX_CRC_ERRORS], WARD_REASON_IO_ERROR);
    assert_ok(nr.counter[WARD_NIC_RX_FRAME_ERRORS], 1110);
    inject(NULL, 0);
    ward_linux_hal_close(&s_lh);

    /* ... and on one that is administratively down, carrier and speed are disabled. */
    init_fixture(&s_lh, &hal, "amd-server");
    inject("/net/enp65s0f1np1/carrier", EINVAL);
    ward_nic_read(hal.nic[0], (unsigned)find_nic(&hal, "enp65s0f1np1", &ni), &nr);
    assert_unavailable(nr.carrier, WARD_REASON_DISABLED);
    inject("/net/enp65s0f1np1/speed", EINVAL);
    ward_nic_read(hal.nic[0], (unsigned)find_nic(&hal, "enp65s0f1np1", &ni), &nr);
    assert_unavailable(nr.speed_mbps, WARD_REASON_DISABLED);
    inject(NULL, 0);
    ward_linux_hal_close(&s_lh);
}

/* /proc/meminfo as the kernel writes it: MemTotal and MemFree first, MemAvailable (since 3.14)
 * third, Buffers, Cached, then more than the line reader's 2 KiB buffer before SwapTotal and
 * SwapFree, so it takes more than one pread. */
static void put_meminfo(bool available, const char *last)
{
    char text[4096];
    size_t n = 0;

    n += (size_t)snprintf(text + n, sizeof(text) - n,
                          "MemTotal:       16000000 kB\n"
                          "MemFree:         1000000 kB\n");
    if (available) {
        n += (size_t)snprintf(text + n, sizeof(text) - n, "MemAvailable:    9000000 kB\n");
    }
    n += (size_t)snprintf(text + n, sizeof(text) - n,
                          "Buffers:          200000 kB\n"
                          "Cached:          3000000 kB\n");
    for (unsigned i = 0; i < 80; i++) {
        n += (size_t)snprintf(text + n, sizeof(text) - n, "Field%02u:         %7u kB\n", i, i);
    }
    assert_true(n > 2048 && n < sizeof(text) - 128);
    snprintf(text + n, sizeof(text) - n, "SwapTotal:       500000 kB\n%s", last);
    put("proc/meminfo", text);
}

/* The memory reading of a tree whose only file is that meminfo. */
static void mem_of_meminfo(bool available, const char *last, struct ward_host_mem *mem)
{
    struct ward_hal hal;

    put_meminfo(available, last);
    init_at(&s_lh, &hal, s_tmp);
    assert_int_equal(ward_host_mem(hal.host, mem), 0);
    ward_linux_hal_close(&s_lh);
}

/* A meminfo read that fails or ends part way is unavailable, never a partial reading. */
static void test_meminfo_partial_read(void **state)
{
    struct ward_hal hal;
    struct ward_host_mem mem;

    (void)state;
    put_meminfo(true, "SwapFree:        400000 kB\n");
    init_at(&s_lh, &hal, s_tmp);
    assert_int_equal(ward_host_mem(hal.host, &mem), 0);
    assert_int_equal(mem.status, WARD_STATUS_OK);
    assert_true(mem.total == 16000000ull * 1024 && mem.available == 9000000ull * 1024);
    assert_true(mem.swap_total == 500000ull * 1024 && mem.swap_free == 400000ull * 1024);

    /* The first pread (MemTotal .. Cached) succeeds, the second fails. */
    inject("/proc/meminfo", EIO);
    s_fail_skip = 1;
    assert_int_equal(ward_host_mem(hal.host, &mem), 0);
    assert_int_equal(mem.status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(mem.reason, WARD_REASON_IO_ERROR);
    assert_true(mem.total == 0 && mem.available == 0);
    inject(NULL, 0);
    ward_host_mem(hal.host, &mem);
    assert_int_equal(mem.status, WARD_STATUS_OK);
    ward_linux_hal_close(&s_lh);

    /* Cut short before SwapFree (a key every kernel writes): bad data. */
    mem_of_meminfo(true, "", &mem);
    assert_int_equal(mem.status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(mem.reason, WARD_REASON_BAD_DATA);

    /* A kernel before 3.14: no MemAvailable, which is then free + buffers + cached. */
    mem_of_meminfo(false, "SwapFree:        400000 kB\n", &mem);
    assert_int_equal(mem.status, WARD_STATUS_OK);
    assert_true(mem.available == (1000000ull + 200000 + 3000000) * 1024);
}

/* Files kept open or opened per read: the same readings; no heap either way. */
static void test_kept_and_reopened_files_agree(void **state)
{
    static struct ward_temp_reading t1[WARD_LINUX_MAX_TEMPS], t2[WARD_LINUX_MAX_TEMPS];
    static struct ward_nic_reading n1[WARD_LINUX_MAX_NICS], n2[WARD_LINUX_MAX_NICS];
    struct ward_fan_reading f1[8], f2[8];
    struct ward_host_fs fs1, fs2;
    struct ward_host_mem m1, m2;
    struct ward_hal hal;
    unsigned nt, nn, nf, preads;

    (void)state;
    heap_window_open();
    init_fixture(&s_lh, &hal, "intel-server");
    assert_true(s_lh.open_files > 50);
    nt = (unsigned)ward_temp_count(hal.temp[0]);
    nn = (unsigned)ward_nic_count(hal.nic[0]);
    nf = (unsigned)ward_fan_count(hal.fan[0]);
    preads = s_preads;
    for (unsigned i = 0; i < nt; i++) {
        ward_temp_read(hal.temp[0], i, &t1[i]);
    }
    for (unsigned i = 0; i < nn; i++) {
        ward_nic_read(hal.nic[0], i, &n1[i]);
    }
    for (unsigned i = 0; i < nf; i++) {
        ward_fan_read(hal.fan[0], i, &f1[i]);
    }
    ward_host_mem(hal.host, &m1);
    ward_host_fs_read(hal.host, 1, &fs1);
    assert_true(s_preads - preads > nt + nn * 12); /* kept files are re-read with pread */

    ward_linux_hal_close_files(&s_lh);
    assert_int_equal(s_lh.open_files, 0);
    preads = s_preads;
    for (unsigned i = 0; i < nt; i++) {
        ward_temp_read(hal.temp[0], i, &t2[i]);
    }
    for (unsigned i = 0; i < nn; i++) {
        ward_nic_read(hal.nic[0], i, &n2[i]);
    }
    for (unsigned i = 0; i < nf; i++) {
        ward_fan_read(hal.fan[0], i, &f2[i]);
    }
    ward_host_mem(hal.host, &m2);
    ward_host_fs_read(hal.host, 1, &fs2);
    assert_true(s_preads - preads < 8); /* only the /proc line reader uses pread now */
    assert_int_equal(s_lh.open_files, 0);
    assert_memory_equal(t1, t2, sizeof(t1[0]) * nt);
    assert_memory_equal(n1, n2, sizeof(n1[0]) * nn);
    assert_memory_equal(f1, f2, sizeof(f1[0]) * nf);
    assert_memory_equal(&m1, &m2, sizeof(m1));
    assert_memory_equal(&fs1, &fs2, sizeof(fs1));
    ward_linux_hal_close(&s_lh);
    assert_int_equal(heap_window_close(), 0);
}

static void test_heap_counter_counts(void **state)
{
    FILE *f;

    (void)state;
    /* The zero above means something only if this window sees libc's own allocations. */
    heap_window_open();
    f = fopen("/proc/self/stat", "r");
    assert_non_null(f);
    fclose(f);
    assert_true(heap_window_close() > 0);
}

static void test_blk_walk_reads_one_snapshot(void **state)
{
    struct ward_hal hal;
    struct ward_host_blk b;

    (void)state;
    put_dir("sys/block/sda");
    put_dir("sys/block/sdb");
    put("proc/diskstats", "8 0 sda 1 0 2 0 3 0 4 0 0 5 0\n8 16 sdb 10 0 20 0 30 0 40 0 0 50 0\n");
    init_at(&s_lh, &hal, s_tmp);
    assert_int_equal(ward_host_blk_count(hal.host), 2);
    ward_host_blk_read(hal.host, 0, &b);
    assert_true(b.reads == 1 && b.read_bytes == 1024);
    put("proc/diskstats", "8 0 sda 7 0 8 0 9 0 10 0 0 11 0\n8 16 sdb 70 0 80 0 90 0 99 0 0 5 0\n");
    ward_host_blk_read(hal.host, 1, &b); /* same walk: the snapshot taken with sda */
    assert_true(b.reads == 10 && b.writes == 30);
    ward_host_blk_read(hal.host, 0, &b); /* a new walk reads the file again */
    assert_true(b.reads == 7 && b.writes == 9);
    ward_host_blk_read(hal.host, 1, &b);
    assert_true(b.reads == 70 && b.written_bytes == 99u * 512);
    put("proc/diskstats", "8 0 sda 7 0 8 0 9 0 10 0 0 11 0\n"); /* sdb was removed */
    ward_host_blk_read(hal.host, 0, &b);
    ward_host_blk_read(hal.host, 1, &b);
    assert_int_equal(b.status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(b.reason, WARD_REASON_MISSING);
    ward_linux_hal_close(&s_lh);
}

static void test_table_full_is_reported(void **state)
{
    struct ward_hal hal;
    char rel[64], line[400];
    unsigned i;

    (void)state;
    for (i = 0; i < WARD_LINUX_MAX_NICS + 2; i++) {
        snprintf(rel, sizeof(rel), "sys/class/net/if%03u/operstate", i);
        put(rel, "up\n");
    }
    init_at(&s_lh, &hal, s_tmp);
    assert_int_equal(ward_nic_count(hal.nic[0]), WARD_LINUX_MAX_NICS);
    for (i = 0; i < ward_linux_problem_count(&s_lh); i++) {
        const struct ward_linux_problem *p = ward_linux_problem_get(&s_lh, i);

        if (p->err == ENOSPC) {
            assert_int_equal(p->count, 2);
            ward_linux_problem_format(&s_lh, i, line, sizeof(line));
            assert_non_null(strstr(line, "raise CONFIG_WARD_LINUX_MAX_NICS"));
            break;
        }
    }
    assert_true(i < ward_linux_problem_count(&s_lh));
    ward_linux_hal_close(&s_lh);
}

static void test_init_arguments(void **state)
{
    struct ward_hal hal, full;
    char longroot[WARD_LINUX_ROOT_MAX + 8];
    char root[512];

    (void)state;
    memset(&hal, 0, sizeof(hal));
    assert_int_equal(ward_linux_hal_init(NULL, &hal, NULL), -EINVAL);
    assert_int_equal(ward_linux_hal_init(&s_lh, NULL, NULL), -EINVAL);
    memset(longroot, 'a', sizeof(longroot) - 1);
    longroot[sizeof(longroot) - 1] = '\0';
    assert_int_equal(ward_linux_hal_init(&s_lh, &hal, longroot), -ENAMETOOLONG);
    memset(&full, 0, sizeof(full));
    full.n_temp = WARD_HAL_MAX_DEVICES_PER_CLASS;
    assert_int_equal(ward_linux_hal_init(&s_lh, &full, NULL), -ENOSPC);

    /* "DIR/" is DIR; a root that does not exist gives empty classes and problems. */
    snprintf(root, sizeof(root), "%s/intel-server//", WARD_LINUX_FIXTURES);
    init_at(&s_lh, &hal, root);
    assert_int_equal(ward_temp_count(hal.temp[0]), 23);
    ward_linux_hal_close(&s_lh);
    init_at(&s_lh, &hal, "/nonexistent/ward-root");
    assert_int_equal(ward_temp_count(hal.temp[0]), 0);
    assert_int_equal(ward_nic_count(hal.nic[0]), 0);
    assert_true(ward_linux_problem_count(&s_lh) >= 3);
    ward_linux_hal_close(&s_lh);
}

/* ---- this machine's loopback: sysfs statistics agree with /proc/net/dev ---- */

struct netdev_lo {
    uint64_t rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop;
    uint64_t colls;
};

static int read_proc_net_dev_lo(struct netdev_lo *out)
{
    char line[512];
    FILE *f = fopen("/proc/net/dev", "r");
    int found = 0;

    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *colon = strchr(line, ':');
        unsigned long long v[16];
        char *s = line;

        while (*s == ' ') {
            s++;
        }
        if (colon == NULL || strncmp(s, "lo:", 3) != 0) {
            continue;
        }
        if (sscanf(colon + 1,
                   "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
                   "%llu",
                   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10],
                   &v[11], &v[12], &v[13], &v[14], &v[15]) == 16) {
            /* Receive: bytes packets errs drop fifo frame compressed multicast;
             * Transmit: bytes packets errs drop fifo colls carrier compressed. */
            *out = (struct netdev_lo){ v[0], v[1], v[2], v[3], v[8], v[9], v[10], v[11], v[13] };
            found = 1;
        }
    }
    fclose(f);
    return found ? 0 : -1;
}

/* Some traffic of a size that keeps bytes and packets apart. */
static void loopback_traffic(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    char buf[333] = { 0 };
    int s = socket(AF_INET, SOCK_DGRAM, 0);

    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(sendto(s, buf, sizeof(buf), 0, (struct sockaddr *)&a, sizeof(a)),
                         (ssize_t)sizeof(buf));
        assert_int_equal(recv(s, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
    }
    close(s);
}

static void assert_between(uint64_t lo, int64_t mid, uint64_t hi, const char *what)
{
    if (mid < 0 || (uint64_t)mid < lo || (uint64_t)mid > hi) {
        fail_msg("lo %s: sysfs %" PRId64 " not within /proc/net/dev's %" PRIu64 "..%" PRIu64, what,
                 mid, lo, hi);
    }
}

static void test_real_lo_matches_proc_net_dev(void **state)
{
    struct netdev_lo before, after;
    struct ward_nic_reading r;
    struct ward_nic_info info;
    struct ward_hal hal;
    int i, n;

    (void)state;
    if (access("/sys/class/net/lo/statistics/rx_bytes", R_OK) != 0 ||
        read_proc_net_dev_lo(&before) != 0) {
        skip(); /* no sysfs or procfs here (a bare container) */
    }
    init_at(&s_lh, &hal, NULL);
    n = ward_nic_count(hal.nic[0]);
    for (i = 0; i < n; i++) {
        ward_nic_info(hal.nic[0], (unsigned)i, &info);
        if (strcmp(info.name, "lo") == 0) {
            break;
        }
    }
    assert_true(i < n);
    assert_string_equal(info.sensor.id, "nic:lo");
    loopback_traffic();
    assert_int_equal(read_proc_net_dev_lo(&before), 0);
    assert_int_equal(ward_nic_read(hal.nic[0], (unsigned)i, &r), 0);
    assert_int_equal(read_proc_net_dev_lo(&after), 0);
    assert_true(before.rx_bytes != before.rx_packets);
    assert_between(before.rx_bytes, r.counter[WARD_NIC_RX_BYTES].value, after.rx_bytes, "rx_bytes");
    assert_between(before.rx_packets, r.counter[WARD_NIC_RX_PACKETS].value, after.rx_packets,
                   "rx_packets");
    assert_between(before.rx_errs, r.counter[WARD_NIC_RX_ERRORS].value, after.rx_errs, "rx_errors");
    assert_between(before.rx_drop, r.counter[WARD_NIC_RX_DROPPED].value, after.rx_drop,
                   "rx_dropped");
    assert_between(before.tx_bytes, r.counter[WARD_NIC_TX_BYTES].value, after.tx_bytes, "tx_bytes");
    assert_between(before.tx_packets, r.counter[WARD_NIC_TX_PACKETS].value, after.tx_packets,
                   "tx_packets");
    assert_between(before.tx_errs, r.counter[WARD_NIC_TX_ERRORS].value, after.tx_errs, "tx_errors");
    assert_between(before.tx_drop, r.counter[WARD_NIC_TX_DROPPED].value, after.tx_drop,
                   "tx_dropped");
    assert_between(before.colls, r.counter[WARD_NIC_COLLISIONS].value, after.colls, "collisions");
    for (unsigned c = 0; c < WARD_NIC_COUNTER_COUNT; c++) {
        assert_int_equal(r.counter[c].status, WARD_STATUS_OK);
    }
    assert_int_equal(info.mtu, 65536);
    ward_linux_hal_close(&s_lh);
}

/* The inventory from sysfs only (hal/linux/src/inventory.c): disks, NICs with a device and
 * their driver, hwmon chips with their input counts, each list by name. */
static void test_inventory(void **state)
{
    struct ward_hal hal;
    struct ward_inv_disk d;
    struct ward_inv_nic n;
    struct ward_inv_chip c;
    static const struct {
        const char *name;
        uint32_t sensors;
    } chips[] = { { "acpitz", 1 },    { "coretemp", 5 }, { "coretemp~2", 5 },
                  { "drivetemp", 1 }, { "nct6776", 10 }, { "nvme", 3 } };

    (void)state;
    init_fixture(&s_lh, &hal, "intel-server");
    assert_non_null(hal.inventory);
    /* nvme0n1 is listed as its controller; dm-0 and loop0 have no device */
    assert_int_equal(ward_inventory_disk(hal.inventory, 0, &d), 0);
    assert_string_equal(d.name, "nvme0");
    assert_string_equal(d.model, "SAMSUNG MZQL2960HCJR-00A07");
    assert_string_equal(d.serial, "S64FNE0R812345");
    assert_string_equal(d.firmware, "GDC5302Q");
    assert_int_equal(ward_inventory_disk(hal.inventory, 1, &d), 0);
    assert_string_equal(d.name, "sda");
    assert_string_equal(d.model, "Samsung SSD 870");  /* vendor "ATA" left out, blanks trimmed */
    assert_string_equal(d.serial, "S6PNNX0T123456A"); /* VPD page 80h */
    assert_string_equal(d.firmware, "2B6Q");
    assert_int_equal(ward_inventory_disk(hal.inventory, 2, &d), -ENOENT);
    /* lo has no device; bonding_masters is a file */
    assert_int_equal(ward_inventory_nic(hal.inventory, 0, &n), 0);
    assert_string_equal(n.name, "eno1");
    assert_string_equal(n.mac, "3c:ec:ef:12:34:56");
    assert_string_equal(n.driver, "igb");
    assert_int_equal(ward_inventory_nic(hal.inventory, 1, &n), 0);
    assert_string_equal(n.name, "eno2");
    assert_string_equal(n.driver, "");
    assert_int_equal(ward_inventory_nic(hal.inventory, 2, &n), -ENOENT);
    for (unsigned i = 0; i < sizeof(chips) / sizeof(chips[0]); i++) {
        assert_int_equal(ward_inventory_chip(hal.inventory, i, &c), 0);
        assert_string_equal(c.name, chips[i].name);
        assert_int_equal(c.sensors, chips[i].sensors);
    }
    assert_int_equal(ward_inventory_chip(hal.inventory, 6, &c), -ENOENT);
    ward_linux_hal_close(&s_lh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intel_temperatures),
        cmocka_unit_test(test_intel_fans),
        cmocka_unit_test(test_ids_survive_renumbering),
        cmocka_unit_test(test_same_name_chips_stay_apart),
        cmocka_unit_test(test_bmc_statuses),
        cmocka_unit_test(test_nics),
        cmocka_unit_test(test_inventory),
        cmocka_unit_test(test_host),
        cmocka_unit_test_setup_teardown(test_statuses_of_broken_channels, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_permission_denied, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_driver_errors, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_meminfo_partial_read, tmp_setup, tmp_teardown),
        cmocka_unit_test(test_kept_and_reopened_files_agree),
        cmocka_unit_test(test_heap_counter_counts),
        cmocka_unit_test_setup_teardown(test_blk_walk_reads_one_snapshot, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_table_full_is_reported, tmp_setup, tmp_teardown),
        cmocka_unit_test(test_init_arguments),
        cmocka_unit_test(test_real_lo_matches_proc_net_dev),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
