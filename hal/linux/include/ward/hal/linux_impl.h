/*
 * The Linux backend's instance storage: struct ward_linux_hal holds every table the backend
 * fills at discovery (hwmon chips, temperature and fan channels, thermal zones, NICs, block
 * devices, filesystems), sized by Kconfig and owned by the caller, typically as a static.
 * Fields are private to hal/linux/; they sit here only so the storage can be allocated
 * without the heap.
 *
 * Files that are read every cycle stay open (pread at offset 0 re-reads a sysfs or procfs
 * file) up to a budget; the rest are opened for each read through their directory's fd.
 */
#ifndef WARD_HAL_LINUX_IMPL_H_
#define WARD_HAL_LINUX_IMPL_H_

#include <stdbool.h>
#include <stdint.h>

#include "ward/hal/hal.h"
#include "ward/hal/linux.h"
#include "ward/hal/linux_config.h"

#define WARD_LINUX_ROOT_MAX         200 /* bytes of the --root prefix, NUL included */
#define WARD_LINUX_PROBLEM_PATH_MAX 232
#define WARD_LINUX_FS_PATH_MAX      256
#define WARD_LINUX_DIRS_MAX                                                                        \
    (WARD_LINUX_MAX_HWMON_CHIPS + WARD_LINUX_MAX_THERMAL_ZONES + WARD_LINUX_MAX_NICS)

/* Files a temperature channel reads every cycle (hwmon tempN_<suffix>, or a zone's temp/mode). */
enum ward_linux_temp_file {
    WARD_LINUX_T_INPUT = 0,
    WARD_LINUX_T_FAULT,
    WARD_LINUX_T_ENABLE,
    WARD_LINUX_T_ALARM,
    WARD_LINUX_T_MIN_ALARM,
    WARD_LINUX_T_MAX_ALARM,
    WARD_LINUX_T_LCRIT_ALARM,
    WARD_LINUX_T_CRIT_ALARM,
    WARD_LINUX_T_EMERGENCY_ALARM,
    WARD_LINUX_T_FILES,
};

enum ward_linux_fan_file {
    WARD_LINUX_F_INPUT = 0,
    WARD_LINUX_F_FAULT,
    WARD_LINUX_F_ENABLE,
    WARD_LINUX_F_ALARM,
    WARD_LINUX_F_MIN_ALARM,
    WARD_LINUX_F_MAX_ALARM,
    WARD_LINUX_F_PWM,
    WARD_LINUX_F_FILES,
};

/* A NIC's files: the counters (enum ward_nic_counter), then the link facts. */
enum ward_linux_nic_file {
    WARD_LINUX_N_OPERSTATE = WARD_NIC_COUNTER_COUNT,
    WARD_LINUX_N_CARRIER,
    WARD_LINUX_N_SPEED,
    WARD_LINUX_N_DUPLEX,
    WARD_LINUX_N_FILES,
};

enum ward_linux_temp_kind {
    WARD_LINUX_TEMP_HWMON = 0,
    WARD_LINUX_TEMP_THERMAL,
};

struct ward_linux_temp {
    struct ward_sensor_info info;
    int fd[WARD_LINUX_T_FILES]; /* kept open, or -1: opened per read (or absent) */
    uint16_t present;           /* bit per enum ward_linux_temp_file that exists */
    uint16_t index;             /* N of hwmon tempN_* */
    uint16_t dir;               /* index into ward_linux_hal.dir_fd */
    uint8_t kind;               /* enum ward_linux_temp_kind */
};

struct ward_linux_fan {
    struct ward_sensor_info info;
    int fd[WARD_LINUX_F_FILES];
    uint16_t present; /* bit per enum ward_linux_fan_file that exists */
    uint16_t index;   /* N of fanN_* and pwmN */
    uint16_t dir;
};

struct ward_linux_nic {
    struct ward_nic_info info;
    int fd[WARD_LINUX_N_FILES];
    uint32_t present; /* bit per enum ward_linux_nic_file that exists */
    uint16_t dir;
};

struct ward_linux_blk {
    struct ward_host_blk_info info;
    struct ward_host_blk snap; /* from the last read of /proc/diskstats */
    bool fresh;                /* snap not yet handed out since that read */
};

enum ward_linux_fs_kind {
    WARD_LINUX_FS_LOCAL = 0,
    WARD_LINUX_FS_NETWORK, /* listed, but statvfs() could hang on a dead server: not read */
};

struct ward_linux_fs {
    struct ward_host_fs_info info;
    char path[WARD_LINUX_FS_PATH_MAX]; /* full mount point (info's copy may be shortened) */
    uint8_t kind;                      /* enum ward_linux_fs_kind */
};

/* A source that could not be read (or did not fit), remembered for `probe` and the agent. */
struct ward_linux_problem {
    char path[WARD_LINUX_PROBLEM_PATH_MAX]; /* the first file or directory that failed */
    uint16_t source_len;                    /* leading bytes of path that name the source */
    uint16_t count;                         /* files (or channels) of that source affected */
    int err;                                /* positive errno; ENOSPC: a table was full */
    const char *hint;                       /* what to do about it (static text) */
};

struct ward_linux_hal {
    char root[WARD_LINUX_ROOT_MAX]; /* "" for the real system */
    bool keep_open;
    uint16_t open_files; /* files kept open now */
    uint16_t open_budget;

    struct ward_device temp_dev;
    struct ward_device fan_dev;
    struct ward_device nic_dev;
    struct ward_device host_dev;
    struct ward_device inv_dev; /* the inventory, read from sysfs (src/inventory.c) */

    int dir_fd[WARD_LINUX_DIRS_MAX]; /* hwmon attribute dirs, zones, NICs */
    uint16_t n_dirs;
    uint16_t n_chips;

    struct ward_linux_temp temp[WARD_LINUX_MAX_TEMPS];
    uint16_t n_temp;
    struct ward_linux_fan fan[WARD_LINUX_MAX_FANS];
    uint16_t n_fan;
    struct ward_linux_nic nic[WARD_LINUX_MAX_NICS];
    uint16_t n_nic;
    struct ward_linux_blk blk[WARD_LINUX_MAX_BLOCK_DEVICES];
    uint16_t n_blk;
    struct ward_linux_fs fs[WARD_LINUX_MAX_FILESYSTEMS];
    uint16_t n_fs;

    int stat_fd; /* /proc/stat, /proc/meminfo, /proc/diskstats, kept open */
    int meminfo_fd;
    int diskstats_fd;
    enum ward_reason stat_reason; /* why a /proc file could not be opened at discovery */
    enum ward_reason meminfo_reason;
    enum ward_reason diskstats_reason;

    struct ward_linux_problem problem[WARD_LINUX_MAX_PROBLEMS];
    uint8_t n_problems;
    uint16_t problems_dropped; /* problems that did not fit the table */
};

/** Close every file the backend keeps open. lh may be initialised again afterwards. */
void ward_linux_hal_close(struct ward_linux_hal *lh);

/**
 * Close the files kept open between reads; from then on every read opens its file through
 * the directory fd. (The benchmark measures both ways; a board may also call it to give fds
 * back.)
 */
void ward_linux_hal_close_files(struct ward_linux_hal *lh);

/** Number of problems recorded (see ward_linux_problem_format()). */
unsigned ward_linux_problem_count(const struct ward_linux_hal *lh);

/** Problem i, or NULL. */
const struct ward_linux_problem *ward_linux_problem_get(const struct ward_linux_hal *lh,
                                                        unsigned i);

/**
 * One line (no newline) describing problem i, e.g.
 * "/sys/class/hwmon/hwmon3/temp1_input: permission denied (4 files); run as root or ...".
 * @return 0, -EINVAL for a bad index.
 */
int ward_linux_problem_format(const struct ward_linux_hal *lh, unsigned i, char *buf, size_t len);

#endif /* WARD_HAL_LINUX_IMPL_H_ */
