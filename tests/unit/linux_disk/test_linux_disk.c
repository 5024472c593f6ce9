/*
 * The Linux disk backend (hal/linux/disk) on the fixture sysfs trees of tests/fixtures/disk,
 * with fake drives (tests/fakes/fake_disk_io.c) answering SG_IO and the NVMe admin ioctl
 * from the fixture pages: CDB building, sense parsing, discovery, stable ids, the command
 * sequence, never waking a sleeping drive, permissions, bad pages.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "disk_internal.h"
#include "fake_disk_io.h"
#include "ward/hal/hal.h"
#include "ward/hal/linux.h"

#define SERVER WARD_DISK_FIXTURES "/server"
#define EMPTY  WARD_DISK_FIXTURES "/empty"

static struct ward_hal s_hal;
static struct fake_disk *s_sda, *s_sdb, *s_nvme0, *s_nvme1;

/* The server fixture's drives: sda a healthy SSD, sdb the dying HDD, two NVMe controllers. */
static int setup(void **state)
{
    (void)state;
    fake_disk_reset();
    memset(&s_hal, 0, sizeof(s_hal));
    s_sda = fake_disk_add("sda", false);
    fake_disk_load(s_sda->identify, 512, "ata-identify-ssd.bin");
    fake_disk_load(s_sda->data, 512, "ata-ssd-healthy.data.bin");
    fake_disk_load(s_sda->thresh, 512, "ata-ssd-healthy.thresh.bin");
    fake_disk_load(s_sda->selftest, 512, "ata-selftest-ok.bin");
    fake_disk_load(s_sda->errlog, 512, "ata-errlog-none.bin");
    s_sdb = fake_disk_add("sdb", false);
    fake_disk_load(s_sdb->identify, 512, "ata-identify-hdd.bin");
    fake_disk_load(s_sdb->data, 512, "ata-hdd-dying.data.bin");
    fake_disk_load(s_sdb->thresh, 512, "ata-hdd-dying.thresh.bin");
    fake_disk_load(s_sdb->selftest, 512, "ata-selftest-readfail.bin");
    fake_disk_load(s_sdb->errlog, 512, "ata-errlog-27.bin");
    s_nvme0 = fake_disk_add("nvme0", true);
    fake_disk_load(s_nvme0->nvme_id, 4096, "nvme-identify-samsung.bin");
    fake_disk_load(s_nvme0->nvme_log, 512, "nvme-healthy.bin");
    s_nvme1 = fake_disk_add("nvme1", true);
    fake_disk_load(s_nvme1->nvme_id, 4096, "nvme-identify-qemu.bin");
    fake_disk_load(s_nvme1->nvme_log, 512, "nvme-qemu.bin");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lx_disk_reset(lx_disk_state());
    assert_int_equal(fake_disk_open_fds(), 0); /* every fd the backend opened was closed */
    lx_disk_set_io(NULL);
    return 0;
}

static const struct ward_device *attach(const char *root)
{
    assert_int_equal(ward_linux_disk_attach(&s_hal, root), 0);
    assert_int_equal(s_hal.n_disk, 1);
    return s_hal.disk[0];
}

/* The ATA commands (command, SMART feature or 0, log address) sent since the log was cleared. */
static size_t ata_cmds(const char *dev, uint32_t *out, size_t max)
{
    const struct fake_cmd *c;
    size_t n = fake_disk_log(&c), k = 0;

    for (size_t i = 0; i < n; i++) {
        if (!c[i].nvme && strcmp(c[i].dev, dev) == 0 && k < max) {
            out[k++] = (uint32_t)c[i].command << 16 |
                       (c[i].command == 0xb0 ? (uint32_t)(c[i].feature & 0xff) << 8 : 0) |
                       (c[i].command == 0xb0 && c[i].feature == 0xd5 ? c[i].lba_low : 0);
        }
    }
    return k;
}

static void test_cdb(void **state)
{
    static const uint8_t power[16] = { 0x85, 0x06, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xe5 };
    static const uint8_t read_log[16] = { 0x85, 0x08, 0x0e, 0x00, 0xd5, 0x00, 0x01, 0x00,
                                          0x06, 0x00, 0x4f, 0x00, 0xc2, 0x00, 0xb0, 0x00 };
    struct ward_ata_tf tf = { .command = 0xe5 };
    uint8_t cdb[16];

    (void)state;
    lx_disk_ata_cdb(cdb, &tf, false, true);
    assert_memory_equal(cdb, power, 16);
    tf = (struct ward_ata_tf){ .feature = 0xd5, .count = 1, .lba = 0xc24f06, .command = 0xb0 };
    lx_disk_ata_cdb(cdb, &tf, true, false);
    assert_memory_equal(cdb, read_log, 16);
    /* SAT's interleave: 7 LBA 31:24, 8 LBA 7:0, 9 LBA 39:32, 10 LBA 15:8, 11 LBA 47:40, 12
     * LBA 23:16. */
    tf = (struct ward_ata_tf){ .feature = 0x1234, .count = 0x5678, .lba = 0xa1b2c3d4e5f6ull };
    lx_disk_ata_cdb(cdb, &tf, false, false);
    assert_int_equal(cdb[3], 0x12);
    assert_int_equal(cdb[4], 0x34);
    assert_int_equal(cdb[5], 0x56);
    assert_int_equal(cdb[6], 0x78);
    assert_int_equal(cdb[7], 0xc3);
    assert_int_equal(cdb[8], 0xf6);
    assert_int_equal(cdb[9], 0xb2);
    assert_int_equal(cdb[10], 0xe5);
    assert_int_equal(cdb[11], 0xa1);
    assert_int_equal(cdb[12], 0xd4);
}

static void test_sense(void **state)
{
    /* Descriptor sense: an unrelated descriptor (02h, sense-key specific) first, then 09h. */
    static const uint8_t desc[] = { 0x72, 0x01, 0x00, 0x1d, 0,    0,    0,    22,   0x02, 0x06,
                                    0,    0,    0,    0,    0,    0,    0x09, 12,   0x00, 0x00,
                                    0x00, 0xff, 0x00, 0x00, 0x00, 0xf4, 0,    0x2c, 0xa0, 0x50 };
    /* Fixed sense, 00h/1Dh: error, status, device, count in INFORMATION; LBA 23:0 after. */
    static const uint8_t fixed[18] = { 0x70, 0,    0x01, 0x04, 0x51, 0x40, 0x80, 10, 0,
                                       0x01, 0x4f, 0xc2, 0x00, 0x1d, 0,    0,    0,  0 };
    static const uint8_t fixed_other[18] = { 0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20 };
    struct ward_ata_tf tf;

    (void)state;
    memset(&tf, 0, sizeof(tf));
    assert_int_equal(lx_disk_ata_sense(desc, sizeof(desc), &tf), 1);
    assert_int_equal(tf.count, 0xff);
    assert_int_equal((tf.lba >> 8) & 0xff, 0xf4);
    assert_int_equal((tf.lba >> 16) & 0xff, 0x2c);
    assert_int_equal(tf.command, 0x50); /* status */
    assert_int_equal(tf.device, 0xa0);
    memset(&tf, 0, sizeof(tf));
    assert_int_equal(lx_disk_ata_sense(fixed, sizeof(fixed), &tf), 1);
    assert_int_equal(tf.feature, 0x04);
    assert_int_equal(tf.command, 0x51);
    assert_int_equal(tf.count, 0x80);
    assert_int_equal(tf.lba, 0xc24f01);
    assert_int_equal(lx_disk_ata_sense(fixed_other, sizeof(fixed_other), &tf), -ENODATA);
    /* Cut short: the descriptor claims more than arrived. */
    assert_int_equal(lx_disk_ata_sense(desc, 20, &tf), -ENODATA);
    assert_int_equal(lx_disk_ata_sense(desc, 4, &tf), -ENODATA);
    assert_int_equal(lx_disk_ata_sense(NULL, 32, &tf), -ENODATA);
}

static void test_discovery(void **state)
{
    const struct ward_device *dev;
    struct ward_disk_info info;
    const struct fake_cmd *c;

    (void)state;
    dev = attach(SERVER);
    assert_int_equal(ward_disk_count(dev), 4); /* sdc (SAS), sdd (USB stick), loop0 skipped */
    assert_int_equal(ward_disk_info(dev, 0, &info), 0);
    assert_string_equal(info.dev_name, "sda");
    assert_int_equal(info.kind, WARD_DISK_ATA);
    assert_string_equal(info.sensor.id, "disk:Samsung_SSD_860_EVO_500GB_S3Z2NB0K123456A");
    assert_string_equal(info.firmware, "RVT04B6Q");
    assert_int_equal(info.capacity_bytes, 976773168ull * 512);
    assert_int_equal(ward_disk_info(dev, 1, &info), 0);
    assert_string_equal(info.dev_name, "sdb");
    assert_string_equal(info.sensor.id, "disk:ST3000DM001-1CH166_Z1F2ABCD");
    assert_int_equal(ward_disk_info(dev, 2, &info), 0);
    assert_string_equal(info.dev_name, "nvme0");
    assert_int_equal(info.kind, WARD_DISK_NVME);
    assert_string_equal(info.sensor.id, "disk:Samsung_SSD_970_EVO_Plus_1TB_S4EWNX0R123456A");
    assert_int_equal(info.capacity_bytes, 1000204886016ull); /* TNVMCAP */
    assert_int_equal(info.sensor.thresholds.value[WARD_THR_UPPER_CAUTION], 84850);
    /* nvme1n1 hangs off nvme-subsys1 (native multipath): its controller is nvme1. */
    assert_int_equal(ward_disk_info(dev, 3, &info), 0);
    assert_string_equal(info.dev_name, "nvme1");
    assert_string_equal(info.sensor.id, "disk:QEMU_NVMe_Ctrl_WARDNVME0001");
    assert_int_equal(info.capacity_bytes, 2097152ull * 512); /* no TNVMCAP: the namespace */
    assert_int_equal(ward_disk_info(dev, 4, &info), -EINVAL);
    /* Identify Controller was sent once per controller, never per namespace. */
    size_t n = fake_disk_log(&c), identifies = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].nvme) {
            assert_int_equal(c[i].opcode, 0x06);
            assert_int_equal(c[i].cdw10, 1);
            identifies++;
        }
    }
    assert_int_equal(identifies, 2);
    assert_int_equal(fake_disk_open_fds(), 4);
    assert_int_equal(fake_disk_warnings(NULL), 0);
}

static void test_ata_healthy_sequence(void **state)
{
    const struct ward_device *dev = attach(SERVER);
    static const uint32_t want[] = { 0xe50000, 0xb0da00, 0xb0d000, 0xb0d100, 0xb0d506, 0xb0d501 };
    struct ward_smart s;
    uint32_t got[16];

    (void)state;
    fake_disk_clear_log();
    assert_int_equal(ward_disk_smart(dev, 0, &s), 0);
    assert_int_equal(s.status, WARD_STATUS_OK);
    assert_int_equal(s.kind, WARD_DISK_ATA);
    assert_int_equal(s.verdict, WARD_SMART_PASSED);
    assert_false(s.u.ata.drive_says_failing);
    assert_int_equal(s.u.ata.n_attrs, 14);
    assert_true(s.u.ata.has_selftest_log);
    assert_int_equal(s.u.ata.selftest_count, 2);
    assert_true(s.u.ata.has_error_log);
    assert_int_equal(s.u.ata.error_count, 0);
    assert_int_equal(ata_cmds("sda", got, 16), 6);
    assert_memory_equal(got, want, sizeof(want));
}

static void test_drive_says_failing(void **state)
{
    const struct ward_device *dev;
    struct ward_smart s;

    (void)state;
    fake_disk_load(s_sda->data, 512, "ata-hdd-healthy.data.bin");
    fake_disk_load(s_sda->thresh, 512, "ata-hdd-healthy.thresh.bin");
    s_sda->says_failing = true;
    dev = attach(SERVER);
    assert_int_equal(ward_disk_smart(dev, 0, &s), 0);
    assert_int_equal(s.status, WARD_STATUS_OK);
    assert_true(s.u.ata.drive_says_failing);
    for (unsigned i = 0; i < s.u.ata.n_attrs; i++) {
        assert_int_equal(s.u.ata.attr[i].verdict, WARD_SMART_PASSED);
    }
    assert_int_equal(s.verdict, WARD_SMART_FAILING);
    /* The same with libata's fixed-format sense (D_SENSE off, kernel 6.10 and later). */
    s_sda->sense = FAKE_SENSE_FIXED;
    assert_int_equal(ward_disk_smart(dev, 0, &s), 0);
    assert_true(s.u.ata.drive_says_failing);
    assert_int_equal(s.verdict, WARD_SMART_FAILING);
    s_sda->says_failing = false;
    assert_int_equal(ward_disk_smart(dev, 0, &s), 0);
    assert_int_equal(s.verdict, WARD_SMART_PASSED);
}

static void test_dying_hdd(void **state)
{
    const struct ward_device *dev = attach(SERVER);
    struct ward_smart s;

    (void)state;
    assert_int_equal(ward_disk_smart(dev, 1, &s), 0);
    assert_int_equal(s.status, WARD_STATUS_OK);
    assert_int_equal(s.verdict, WARD_SMART_FAILING);
    assert_false(s.u.ata.drive_says_failing);
    assert_int_equal(s.u.ata.selftest_last_status, 7);
    assert_int_equal(s.u.ata.error_count, 27);
}

static void test_standby_sends_nothing_else(void **state)
{
    const struct ward_device *dev;
    struct ward_disk_info info;
    struct ward_smart s;
    uint32_t got[16];
    size_t n;

    (void)state;
    s_sdb->standby = true;
    dev = attach(SERVER);
    /* At discovery: CHECK POWER MODE, and nothing after it. */
    n = ata_cmds("sdb", got, 16);
    assert_int_equal(n, 1);
    assert_int_equal(got[0], 0xe50000);
    /* Named without a command: the USB dock has no libata cache, so the 16-character
     * INQUIRY model and VPD page 80h serial. */
    assert_int_equal(ward_disk_info(dev, 1, &info), 0);
    assert_string_equal(info.sensor.id, "disk:ST3000DM001-1CH1_Z1F2ABCD");
    assert_string_equal(info.firmware, "CC27");
    assert_int_equal(info.capacity_bytes, 5860533168ull * 512);

    for (int cycle = 0; cycle < 3; cycle++) {
        fake_disk_clear_log();
        assert_int_equal(ward_disk_smart(dev, 1, &s), 0);
        assert_int_equal(s.status, WARD_STATUS_UNAVAILABLE);
        assert_int_equal(s.reason, WARD_REASON_STANDBY);
        assert_int_equal(s.verdict, WARD_SMART_UNKNOWN);
        n = ata_cmds("sdb", got, 16);
        assert_int_equal(n, 1);
        assert_int_equal(got[0], 0xe50000); /* no IDENTIFY, no SMART */
    }

    /* Awake again: IDENTIFY once for the SMART flags, then SMART; the id does not move. */
    s_sdb->standby = false;
    fake_disk_clear_log();
    assert_int_equal(ward_disk_smart(dev, 1, &s), 0);
    assert_int_equal(s.status, WARD_STATUS_OK);
    assert_int_equal(s.verdict, WARD_SMART_FAILING);
    n = ata_cmds("sdb", got, 16);
    assert_int_equal(got[0], 0xe50000);
    assert_int_equal(got[1], 0xec0000);
    assert_int_equal(got[2], 0xb0da00);
    assert_int_equal(n, 7);
    assert_int_equal(ward_disk_info(dev, 1, &info), 0);
    assert_string_equal(info.sensor.id, "disk:ST3000DM001-1CH1_Z1F2ABCD");
    fake_disk_clear_log();
    assert_int_equal(ward_disk_smart(dev, 1, &s), 0);
    n = ata_cmds("sdb", got, 16);
    assert_int_equal(n, 6); /* the flags are known now: no second IDENTIFY */
}

static void test_standby_at_attach_uses_libata_cache(void **state)
{
    const struct ward_device *dev;
    struct ward_disk_info info;
    uint32_t got[16];

    (void)state;
    s_sda->standby = true;
    dev = attach(SERVER);
    assert_int_equal(ata_cmds("sda", got, 16), 1);
    assert_int_equal(ward_disk_info(dev, 0, &info), 0);
    /* The cached IDENTIFY names it exactly as the drive would. */
    assert_string_equal(info.sensor.id, "disk:Samsung_SSD_860_EVO_500GB_S3Z2NB0K123456A");
    assert_string_equal(info.firmware, "RVT04B6Q");
}

static void test_permission(void **state)
{
    const struct ward_device *dev;
    struct ward_disk_info info;
    struct ward_smart s;
    const char *line;

    (void)state;
    s_sda->deny_errno = EPERM;
    s_sdb->deny_errno = EPERM;
    s_nvme0->deny_errno = EACCES;
    dev = attach(SERVER);
    assert_int_equal(fake_disk_warnings(&line), 1);
    assert_non_null(strstr(line, "sda, sdb, nvme0"));
    assert_non_null(strstr(line, "CAP_SYS_RAWIO on ATA"));
    assert_non_null(strstr(line, "CAP_SYS_ADMIN on NVMe"));
    assert_null(strchr(line, '\n'));
    /* Identity still comes from what needs no privilege, and is the same. */
    assert_int_equal(ward_disk_info(dev, 0, &info), 0);
    assert_string_equal(info.sensor.id, "disk:Samsung_SSD_860_EVO_500GB_S3Z2NB0K123456A");
    assert_int_equal(ward_disk_info(dev, 2, &info), 0);
    assert_string_equal(info.sensor.id, "disk:Samsung_SSD_970_EVO_Plus_1TB_S4EWNX0R123456A");
    assert_string_equal(info.firmware, "2B2QEXM7");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ward_disk_smart(dev, 0, &s), 0);
        assert_int_equal(s.status, WARD_STATUS_UNAVAILABLE);
        assert_int_equal(s.reason, WARD_REASON_PERMISSION);
        assert_int_equal(ward_disk_smart(dev, 2, &s), 0);
        assert_int_equal(s.reason, WARD_REASON_PERMISSION);
    }
    /* The others still work. */
    assert_int_equal(ward_disk_smart(dev, 3, &s), 0);
    assert_int_equal(s.status, WARD_STATUS_OK);
    assert_int_equal(fake_disk_warnings(NULL), 1); /* one line, not one per cycle */
}

static void test_permission_only_for_log_page(void **state)
{
    const struct ward_device *dev;
    struct ward_smart s;
    const char *line;

    (void)state;
    s_nvme1->deny_log_errno = EACCES; /* recent kernels allow Identify without privilege */
    dev = attach(SERVER);
    assert_int_equal(fake_disk_warnings(NULL), 0);
    assert_int_equal(ward_disk_smart(dev, 3, &s), 0);
    assert_int_equal(s.reason, WARD_REASON_PERMISSION);
    assert_int_equal(fake_disk_warnings(&line), 1);
    assert_non_null(strstr(line, "nvme1"));
    assert_null(strstr(line, "RAWIO"));
    assert_int_equal(ward_disk_smart(dev, 3, &s), 0);
    assert_int_equal(fake_disk_warnings(NULL), 1);
}

static void test_open_denied(void **state)
{
    const struct ward_device *dev;
    struct ward_smart s;

    (void)state;
    s_sdb->deny_open = EACCES;
    dev = attach(SERVER);
    assert_int_equal(fake_disk_warnings(NULL), 1);
    assert_int_equal(ward_disk_smart(dev, 1, &s), 0);
    assert_int_equal(s.status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(s.reason, WARD_REASON_PERMISSION);
    assert_int_equal(ward_disk_smart(dev, 0, &s), 0);
    assert_int_equal(s.status, WARD_STATUS_OK);
}

static void test_nvme(void **state)
{
    const struct ward_device *dev = attach(SERVER);
    const struct fake_cmd *c;
    struct ward_smart s;
    size_t n;

    (void)state;
    fake_disk_clear_log();
    assert_int_equal(ward_disk_smart(dev, 2, &s), 0);
    assert_int_equal(s.status, WARD_STATUS_OK);
    assert_int_equal(s.kind, WARD_DISK_NVME);
    assert_int_equal(s.verdict, WARD_SMART_PASSED);
    assert_int_equal(s.u.nvme.composite_temp_mdeg_c, 37850);
    assert_int_equal(s.u.nvme.warning_temp_mdeg_c, 84850);
    assert_int_equal(s.u.nvme.critical_temp_mdeg_c, 84850);
    assert_int_equal(s.u.nvme.power_on_hours[0], 5678);
    n = fake_disk_log(&c);
    assert_int_equal(n, 1);
    assert_true(c[0].nvme);
    assert_int_equal(c[0].opcode, 0x02);
    assert_int_equal(c[0].nsid, 0xffffffffu);
    assert_int_equal(c[0].cdw10, 0x007f0002u);
    assert_int_equal(c[0].data_len, 512);

    assert_int_equal(ward_disk_smart(dev, 3, &s), 0);
    assert_int_equal(s.u.nvme.composite_temp_mdeg_c, 49850); /* QEMU's 323 K */
    assert_int_equal(s.u.nvme.warning_temp_mdeg_c, 69850);
    assert_int_equal(s.verdict, WARD_SMART_PASSED);
    /* A Critical Warning bit set at run time (QEMU: qom-set smart_critical_warning). */
    s_nvme1->nvme_log[0] = WARD_NVME_CW_RELIABILITY;
    assert_int_equal(ward_disk_smart(dev, 3, &s), 0);
    assert_int_equal(s.verdict, WARD_SMART_FAILING);
    assert_int_equal(s.u.nvme.critical_warning, WARD_NVME_CW_RELIABILITY);
}

static void test_bad_page_from_drive(void **state)
{
    const struct ward_device *dev = attach(SERVER);
    struct ward_smart s;

    (void)state;
    fake_disk_load(s_sda->data, 512, "ata-badsum.data.bin");
    assert_int_equal(ward_disk_smart(dev, 0, &s), 0);
    assert_int_equal(s.status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(s.reason, WARD_REASON_BAD_DATA);
    assert_int_equal(s.verdict, WARD_SMART_UNKNOWN);
    assert_int_equal(s.u.ata.n_attrs, 0);
    /* The drive's own word still counts when the pages are bad. */
    s_sda->says_failing = true;
    assert_int_equal(ward_disk_smart(dev, 0, &s), 0);
    assert_int_equal(s.reason, WARD_REASON_BAD_DATA);
    assert_int_equal(s.verdict, WARD_SMART_FAILING);
    /* A bad log page is left out, the rest stands. */
    s_sda->says_failing = false;
    fake_disk_load(s_sda->data, 512, "ata-ssd-healthy.data.bin");
    fake_disk_load(s_sda->selftest, 512, "ata-badsum.data.bin");
    assert_int_equal(ward_disk_smart(dev, 0, &s), 0);
    assert_int_equal(s.status, WARD_STATUS_OK);
    assert_false(s.u.ata.has_selftest_log);
    assert_true(s.u.ata.has_error_log);
    /* A short transfer is an I/O error, not a page. */
    s_sda->short_transfer = true;
    assert_int_equal(ward_disk_smart(dev, 0, &s), 0);
    assert_int_equal(s.reason, WARD_REASON_IO_ERROR);
}

static void test_drive_refusals(void **state)
{
    const struct ward_device *dev;
    struct ward_smart s;
    uint32_t got[16];

    (void)state;
    s_sdb->abort_thresholds = true;
    dev = attach(SERVER);
    assert_int_equal(ward_disk_smart(dev, 1, &s), 0);
    assert_int_equal(s.status, WARD_STATUS_OK);
    for (unsigned i = 0; i < s.u.ata.n_attrs; i++) {
        assert_int_equal(s.u.ata.attr[i].verdict, WARD_SMART_UNKNOWN);
    }
    assert_int_equal(s.verdict, WARD_SMART_PASSED);

    /* SMART switched off (IDENTIFY word 85 bit 0 clear): no SMART command at all. */
    s_sda->identify[85 * 2] &= (uint8_t)~0x01;
    s_sda->identify[511] = (uint8_t)(s_sda->identify[511] + 1);
    dev = attach(SERVER);
    fake_disk_clear_log();
    assert_int_equal(ward_disk_smart(dev, 0, &s), 0);
    assert_int_equal(s.status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(s.reason, WARD_REASON_DISABLED);
    assert_int_equal(ata_cmds("sda", got, 16), 1);

    /* A SATL that does not pass ATA through. */
    s_sda->refuse_ata16 = true;
    assert_int_equal(ward_disk_smart(dev, 0, &s), 0);
    assert_int_equal(s.reason, WARD_REASON_NOT_SUPPORTED);
}

static void test_fds_stay_open(void **state)
{
    const struct ward_device *dev = attach(SERVER);
    struct ward_smart s;
    int opens = fake_disk_opens();

    (void)state;
    for (int cycle = 0; cycle < 5; cycle++) {
        for (int i = 0; i < ward_disk_count(dev); i++) {
            assert_int_equal(ward_disk_smart(dev, (unsigned)i, &s), 0);
        }
    }
    assert_int_equal(fake_disk_opens(), opens);
    assert_int_equal(fake_disk_open_fds(), 4);
    /* A second attach closes the first one's fds and adds no second device. */
    dev = attach(SERVER);
    assert_int_equal(fake_disk_open_fds(), 4);
    assert_int_equal(ward_disk_smart(dev, 9, &s), -EINVAL);
    assert_int_equal(ward_disk_smart(dev, 0, NULL), -EINVAL);
}

static void test_no_disks(void **state)
{
    const struct ward_device *dev;

    (void)state;
    dev = attach(EMPTY);
    assert_int_equal(ward_disk_count(dev), 0);
    dev = attach(WARD_DISK_FIXTURES "/does-not-exist");
    assert_int_equal(ward_disk_count(dev), 0);
    assert_int_equal(fake_disk_opens(), 0);
}

static void test_attach_arguments(void **state)
{
    char long_root[300];
    struct ward_device other = { 0 };

    (void)state;
    assert_int_equal(ward_linux_disk_attach(NULL, EMPTY), -EINVAL);
    memset(long_root, 'a', sizeof(long_root) - 1);
    long_root[sizeof(long_root) - 1] = '\0';
    assert_int_equal(ward_linux_disk_attach(&s_hal, long_root), -ENAMETOOLONG);
    for (int i = 0; i < WARD_HAL_MAX_DEVICES_PER_CLASS; i++) {
        s_hal.disk[s_hal.n_disk++] = &other;
    }
    assert_int_equal(ward_linux_disk_attach(&s_hal, EMPTY), -ENOSPC);
}

static void test_reason_map(void **state)
{
    (void)state;
    assert_int_equal(lx_disk_reason(-EPERM), WARD_REASON_PERMISSION);
    assert_int_equal(lx_disk_reason(EACCES), WARD_REASON_PERMISSION);
    assert_int_equal(lx_disk_reason(-ENOENT), WARD_REASON_MISSING);
    assert_int_equal(lx_disk_reason(-EBADMSG), WARD_REASON_BAD_DATA);
    assert_int_equal(lx_disk_reason(-EOPNOTSUPP), WARD_REASON_NOT_SUPPORTED);
    assert_int_equal(lx_disk_reason(-EIO), WARD_REASON_IO_ERROR);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_cdb),
        T(test_sense),
        T(test_discovery),
        T(test_ata_healthy_sequence),
        T(test_drive_says_failing),
        T(test_dying_hdd),
        T(test_standby_sends_nothing_else),
        T(test_standby_at_attach_uses_libata_cache),
        T(test_permission),
        T(test_permission_only_for_log_page),
        T(test_open_denied),
        T(test_nvme),
        T(test_bad_page_from_drive),
        T(test_drive_refusals),
        T(test_fds_stay_open),
        T(test_no_disks),
        T(test_attach_arguments),
        T(test_reason_map),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
