/*
 * What every reading carries: a value in the unit its class fixes, and a status.
 * A sensor that cannot be read is WARD_STATUS_UNAVAILABLE with a reason, never a zero.
 */
#ifndef WARD_HAL_READING_H_
#define WARD_HAL_READING_H_

#include <stdint.h>

/* Stable sensor identity, "<class>:<source>:<channel>", e.g. "temp:coretemp.isa0000:package_id_0".
 */
#define WARD_SENSOR_ID_MAX    64
#define WARD_SENSOR_LABEL_MAX 32

enum ward_status {
    WARD_STATUS_OK = 0,
    WARD_STATUS_UNAVAILABLE, /* not readable now; see the reason */
    WARD_STATUS_FAULT,       /* the hardware reports the sensor itself as faulty */
};

enum ward_reason {
    WARD_REASON_NONE = 0,
    WARD_REASON_MISSING,       /* the source (file, device, channel) is gone */
    WARD_REASON_PERMISSION,    /* the agent lacks a privilege (e.g. CAP_SYS_RAWIO) */
    WARD_REASON_STANDBY,       /* a disk in standby: deliberately not read */
    WARD_REASON_DISABLED,      /* the hardware reports the channel disabled */
    WARD_REASON_NOT_SUPPORTED, /* the device does not offer this reading */
    WARD_REASON_IO_ERROR,      /* the read failed */
    WARD_REASON_BAD_DATA,      /* the read succeeded but the data is invalid (checksum, range) */
};

struct ward_reading {
    int64_t value; /* valid only when status == WARD_STATUS_OK */
    enum ward_status status;
    enum ward_reason reason; /* WARD_REASON_NONE when status == WARD_STATUS_OK */
};

/*
 * Thresholds the hardware reports, in the class's unit. Redfish/IPMI vocabulary; hwmon maps
 * _min -> lower_caution, _max -> upper_caution, _lcrit -> lower_critical,
 * _crit -> upper_critical, _emergency -> upper_fatal; NVMe WCTEMP -> upper_caution,
 * CCTEMP -> upper_critical; fanN_min -> lower_caution.
 */
enum ward_threshold_kind {
    WARD_THR_LOWER_CAUTION = 0,
    WARD_THR_UPPER_CAUTION,
    WARD_THR_LOWER_CRITICAL,
    WARD_THR_UPPER_CRITICAL,
    WARD_THR_LOWER_FATAL,
    WARD_THR_UPPER_FATAL,
    WARD_THR_COUNT,
};

struct ward_thresholds {
    uint8_t present; /* bit (1u << enum ward_threshold_kind) set when that value is known */
    int64_t value[WARD_THR_COUNT];
};

/* What a channel is, read once at discovery. */
struct ward_sensor_info {
    char id[WARD_SENSOR_ID_MAX];       /* stable identity, unique within the agent */
    char label[WARD_SENSOR_LABEL_MAX]; /* human label ("Package id 0", "CPU fan"), may be "" */
    struct ward_thresholds thresholds; /* hardware-reported, may be empty */
};

static inline void ward_reading_ok(struct ward_reading *r, int64_t value)
{
    r->value = value;
    r->status = WARD_STATUS_OK;
    r->reason = WARD_REASON_NONE;
}

static inline void ward_reading_unavailable(struct ward_reading *r, enum ward_reason why)
{
    r->value = 0;
    r->status = WARD_STATUS_UNAVAILABLE;
    r->reason = why;
}

/** Short lower-case name of a reason ("standby", "permission", ...). */
const char *ward_reason_name(enum ward_reason reason);

/** Name of a status: "ok", "unavailable", "fault" ("unknown" out of range). */
const char *ward_status_name(enum ward_status status);

/** Name of a threshold: "lower_caution", "upper_critical", ... ("unknown" out of range). */
const char *ward_threshold_kind_name(enum ward_threshold_kind kind);

#endif /* WARD_HAL_READING_H_ */
