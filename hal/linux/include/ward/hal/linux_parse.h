/*
 * Parsers for the text the Linux backend reads: sysfs attribute values and the lines of
 * /proc/stat, /proc/meminfo, /proc/diskstats and /proc/self/mounts. No I/O here, so one fuzz
 * harness (tests/fuzz/fuzz_sysfs_value.c) and the unit tests drive them directly.
 *
 * Inputs are byte ranges (buf, len) that need not be NUL-terminated.
 */
#ifndef WARD_HAL_LINUX_PARSE_H_
#define WARD_HAL_LINUX_PARSE_H_

#include <stddef.h>
#include <stdint.h>

#include "ward/hal/host.h"
#include "ward/hal/nic.h"

/**
 * A sysfs integer as the kernel prints it: optional sign, decimal digits, optional trailing
 * whitespace (the newline). Leading blanks are tolerated.
 * @return 0, -EBADMSG for anything else (empty, garbage, trailing junk), -ERANGE when the value
 *         does not fit.
 */
int ward_linux_parse_i64(const char *buf, size_t len, int64_t *out);

/** As ward_linux_parse_i64() for unsigned 64-bit counters ("-1" is -EBADMSG). */
int ward_linux_parse_u64(const char *buf, size_t len, uint64_t *out);

/**
 * A human label ("Package id 0\n") cleaned for display: trailing whitespace dropped, bytes
 * outside printable ASCII replaced by '?', truncated to fit. Always NUL-terminates a
 * non-empty dst. @return the length written.
 */
size_t ward_linux_label_clean(char *dst, size_t dst_len, const char *src, size_t len);

/**
 * An identifier part: lower case, [a-z0-9_] only, every other run of bytes becomes one '_',
 * no leading or trailing '_' ("Package id 0" -> "package_id_0"). @return the length written.
 */
size_t ward_linux_normalize(char *dst, size_t dst_len, const char *src, size_t len);

/** "up", "down", "lowerlayerdown", ... as in sysfs-class-net operstate. */
enum ward_nic_oper ward_linux_parse_operstate(const char *buf, size_t len);

/** "full", "half", anything else unknown. */
enum ward_nic_duplex ward_linux_parse_duplex(const char *buf, size_t len);

/** "aa:bb:cc:dd:ee:ff". @return 0, -EBADMSG for any other form (other link types' lengths). */
int ward_linux_parse_mac(const char *buf, size_t len, uint8_t mac[6]);

/**
 * The aggregate "cpu  user nice system idle iowait irq softirq steal ..." line of /proc/stat.
 * Fields a kernel does not print are left 0 (iowait and later appeared over time).
 * @return 0, -EBADMSG when the line is not that line or has fewer than 4 numbers.
 */
int ward_linux_parse_stat_cpu(const char *line, size_t len, uint64_t ticks[WARD_CPU_STATE_COUNT]);

/** true when the line is one CPU's line ("cpu0 ...", "cpu17 ..."). */
int ward_linux_is_stat_cpun(const char *line, size_t len);

/** The key of a /proc/meminfo line ("MemTotal"). @return its length, 0 when there is none. */
size_t ward_linux_meminfo_key(const char *line, size_t len);

/**
 * One /proc/meminfo line, "MemTotal:       16318412 kB", into its key and value in bytes.
 * @return 0, -EBADMSG for a malformed line, -ERANGE on overflow.
 */
int ward_linux_parse_meminfo(const char *line, size_t len, char *key, size_t key_len,
                             uint64_t *bytes);

struct ward_linux_diskstat {
    char name[32];
    uint64_t reads;
    uint64_t read_sectors; /* 512-byte units, whatever the device's sector size */
    uint64_t writes;
    uint64_t write_sectors;
    uint64_t in_flight;
    uint64_t io_ms;
};

/**
 * The device name of a /proc/diskstats line (third field), without parsing the counters, so a
 * reader can skip the lines it does not want. @return 0, -EBADMSG.
 */
int ward_linux_diskstats_name(const char *line, size_t len, const char **name, size_t *name_len);

/** One /proc/diskstats line (14 or more fields). @return 0, -EBADMSG, -ERANGE. */
int ward_linux_parse_diskstats(const char *line, size_t len, struct ward_linux_diskstat *out);

struct ward_linux_mount {
    char source[128];
    char dir[256]; /* octal escapes (\040 ...) decoded */
    char type[32];
};

/**
 * One /proc/self/mounts line: "source dir type options freq passno".
 * @return 0, -EBADMSG for a malformed line, -ENAMETOOLONG when a field does not fit.
 */
int ward_linux_parse_mount(const char *line, size_t len, struct ward_linux_mount *out);

/**
 * true for filesystems with no storage of their own (proc, sysfs, cgroup, ...), and for
 * autofs (statvfs would trigger the automount) and read-only images (squashfs, iso9660).
 */
int ward_linux_fs_is_pseudo(const char *type);

/** true for network filesystems, which ward lists but does not statvfs(). */
int ward_linux_fs_is_network(const char *type);

/**
 * A stable bus id from a device's bus ("platform", "i2c", "pci", ...) and its kernel name:
 *   platform "coretemp.0"        -> "isa0000"   (libsensors' naming: the id in hex)
 *   platform "nct6775.656"       -> "isa0290"
 *   platform "1e786000.pwm-tacho" -> "mmio1e786000" (device tree unit address)
 *   i2c "0-0048"                 -> "i2c0-0048"
 *   pci "0000:3d:00.0"           -> "pci0000-3d-00.0"
 *   anything else                -> "<bus>-<name>" normalized
 * Output holds only [a-z0-9_.-]. @return the length written.
 */
size_t ward_linux_bus_id(char *dst, size_t dst_len, const char *bus, const char *name);

/**
 * A SCSI device's wwid ("naa.5000c500a1b2c3d4", "t10.ATA     Model  SERIAL") as an id part:
 * "naa5000c500a1b2c3d4", "t10_ata_model_serial". @return the length written (0: unusable).
 */
size_t ward_linux_wwid_id(char *dst, size_t dst_len, const char *wwid, size_t len);

/**
 * Compose "<cls>:<source>:<channel>" (or "<cls>:<source>" when channel is NULL) into id
 * (WARD_SENSOR_ID_MAX bytes). An id that does not fit keeps its head and ends in "~" and 8 hex
 * digits of a hash of the whole, so it stays unique and stable. @return the length written.
 */
size_t ward_linux_make_id(char *id, const char *cls, const char *source, const char *channel);

/**
 * One line of the filesystem-size fixture that replaces statvfs() under --root
 * (ROOT/ward-statvfs, see docs/probe.md): "<mount point> <frsize> <blocks> <bfree> <bavail>
 * <files> <ffree>", the mount point escaped as in /proc/self/mounts. Sizes become bytes.
 * With out NULL only the mount point is decoded, to find a line cheaply.
 * @return 0, -EBADMSG, -ERANGE, -ENAMETOOLONG.
 */
int ward_linux_parse_statvfs_line(const char *line, size_t len, char *dir, size_t dir_len,
                                  struct ward_host_fs *out);

#endif /* WARD_HAL_LINUX_PARSE_H_ */
