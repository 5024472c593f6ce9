/*
 * Disks and their SMART health, ATA and NVMe.
 *
 * A backend must never wake a drive: it checks the power mode first and reports a drive in
 * standby as WARD_STATUS_UNAVAILABLE / WARD_REASON_STANDBY without reading SMART.
 * Verdicts follow smartmontools: ATA fails when the drive itself says so (SMART RETURN
 * STATUS) or an attribute's normalized value <= its threshold (failing now); worst <=
 * threshold is "failed in the past"; a threshold of 0 is ignored. NVMe fails when any
 * Critical Warning bit is set.
 */
#ifndef WARD_HAL_DISK_H_
#define WARD_HAL_DISK_H_

#include "ward/hal/device.h"
#include "ward/hal/reading.h"

#define WARD_ATA_MAX_ATTRS     30 /* the SMART READ DATA page holds 30 attribute slots */
#define WARD_NVME_TEMP_SENSORS 8

enum ward_disk_kind {
    WARD_DISK_ATA = 0,
    WARD_DISK_NVME,
};

enum ward_smart_verdict {
    WARD_SMART_UNKNOWN = 0, /* not read (standby, no permission, unsupported) */
    WARD_SMART_PASSED,
    WARD_SMART_FAILED_PAST, /* ATA: some attribute's worst <= threshold; the drive is ok now */
    WARD_SMART_FAILING,     /* ATA: drive says failing or value <= threshold; NVMe: warning bit */
};

struct ward_disk_info {
    struct ward_sensor_info sensor; /* id "disk:<model>_<serial>" (stable across renumbering) */
    enum ward_disk_kind kind;
    char dev_name[32]; /* "sda", "nvme0" */
    char model[41];
    char serial[21];
    char firmware[9];
    uint64_t capacity_bytes;
};

struct ward_ata_attr {
    uint8_t id;
    uint16_t flags; /* bit 0: pre-failure (vs old-age) */
    uint8_t value;  /* normalized current */
    uint8_t worst;
    uint8_t threshold;
    uint64_t raw;    /* the 48-bit raw field, little-endian */
    int64_t decoded; /* raw decoded for the attribute's meaning (e.g. 194: milli-deg C) */
    bool has_decoded;
    bool has_temp_range; /* 190/194: the raw field also holds the drive's min/max */
    int8_t temp_min_c;
    int8_t temp_max_c;
    enum ward_smart_verdict verdict; /* UNKNOWN when the thresholds hold no entry for id */
};

struct ward_ata_smart {
    bool drive_says_failing; /* SMART RETURN STATUS */
    uint8_t n_attrs;
    struct ward_ata_attr attr[WARD_ATA_MAX_ATTRS];
    uint8_t selftest_last_status; /* high nibble of the newest self-test log entry, 0 = ok */
    uint16_t selftest_count;      /* self-test log entries */
    uint16_t error_count;         /* ATA error log count */
    bool has_selftest_log;        /* the two log fields above were read (else unknown) */
    bool has_error_log;
};

/* NVMe SMART / Health Information log (page 0x02); 128-bit counters as lo/hi halves. */
struct ward_nvme_health {
    uint8_t critical_warning; /* bit 0 spare, 1 temperature, 2 reliability, 3 read-only,
                                 4 volatile backup, 5 PMR unreliable */
    int64_t composite_temp_mdeg_c;
    uint8_t avail_spare_pct;
    uint8_t spare_threshold_pct;
    uint8_t percent_used;            /* may exceed 100 */
    uint8_t endurance_group_warning; /* byte 6 (NVMe 1.4): endurance group warning summary */
    bool has_composite_temp;         /* false when the drive reports 0 K */
    uint64_t data_units_read[2];     /* units of 512000 bytes; [0] low 64 bits, [1] high */
    uint64_t data_units_written[2];
    uint64_t host_reads[2];
    uint64_t host_writes[2];
    uint64_t busy_minutes[2]; /* controller busy time */
    uint64_t power_cycles[2];
    uint64_t power_on_hours[2];
    uint64_t unsafe_shutdowns[2];
    uint64_t media_errors[2];
    uint64_t error_log_entries[2];
    uint32_t warning_temp_minutes;
    uint32_t critical_temp_minutes;
    uint32_t tmt_transitions[2]; /* thermal management temperature 1/2 transition counts */
    uint32_t tmt_seconds[2];     /* total time spent throttled at TMT1/TMT2 */
    struct ward_reading temp_sensor_mdeg_c[WARD_NVME_TEMP_SENSORS]; /* unavailable if 0 */
    int64_t warning_temp_mdeg_c;  /* WCTEMP from Identify Controller, 0 when not reported */
    int64_t critical_temp_mdeg_c; /* CCTEMP */
};

struct ward_smart {
    enum ward_status status; /* UNAVAILABLE/STANDBY when the drive sleeps: SMART not read */
    enum ward_reason reason;
    enum ward_disk_kind kind;
    enum ward_smart_verdict verdict;
    union {
        struct ward_ata_smart ata;
        struct ward_nvme_health nvme;
    } u;
};

struct ward_disk_ops {
    int (*count)(const struct ward_device *dev);
    int (*info)(const struct ward_device *dev, unsigned i, struct ward_disk_info *info);
    /** Read SMART without waking the drive. @return 0 (status says the rest) or -EINVAL. */
    int (*smart)(const struct ward_device *dev, unsigned i, struct ward_smart *out);
};

static inline int ward_disk_count(const struct ward_device *dev)
{
    const struct ward_disk_ops *ops = (const struct ward_disk_ops *)dev->api;

    return ops->count ? ops->count(dev) : -ENOSYS;
}

static inline int ward_disk_info(const struct ward_device *dev, unsigned i,
                                 struct ward_disk_info *info)
{
    const struct ward_disk_ops *ops = (const struct ward_disk_ops *)dev->api;

    return ops->info ? ops->info(dev, i, info) : -ENOSYS;
}

static inline int ward_disk_smart(const struct ward_device *dev, unsigned i, struct ward_smart *out)
{
    const struct ward_disk_ops *ops = (const struct ward_disk_ops *)dev->api;

    return ops->smart ? ops->smart(dev, i, out) : -ENOSYS;
}

#endif /* WARD_HAL_DISK_H_ */
