/*
 * Storage of the sim backend. The caller owns a struct ward_sim (usually a static) and hands
 * it to ward_sim_init(); every table is a fixed pool sized by Kconfig, nothing is allocated.
 * Fields are private: use the ops tables (ward_temp_read() ...) and ward/hal/sim.h.
 *
 * A scenario's values are "signals": a base behaviour (constant, ramp, step, square, rate,
 * decay) plus optional seeded noise plus optional events (steps, bursts, stuck, unavailable,
 * fault, alarm windows). Sensors, counters and SMART fields refer to signals by index.
 */
#ifndef WARD_HAL_SIM_IMPL_H_
#define WARD_HAL_SIM_IMPL_H_

#include <stdbool.h>
#include <stdint.h>

#include "ward/base/config.h"
#include "ward/hal/hal.h"
#include "ward/hal/sim.h"

#define WARD_SIM_MAX_SENSORS CONFIG_WARD_SIM_MAX_SENSORS
#define WARD_SIM_MAX_NICS    CONFIG_WARD_SIM_MAX_NICS
#define WARD_SIM_MAX_DISKS   CONFIG_WARD_SIM_MAX_DISKS
#define WARD_SIM_MAX_BLK     CONFIG_WARD_SIM_MAX_BLK
#define WARD_SIM_MAX_FS      CONFIG_WARD_SIM_MAX_FS
#define WARD_SIM_MAX_SIGNALS CONFIG_WARD_SIM_MAX_SIGNALS
#define WARD_SIM_MAX_EVENTS  CONFIG_WARD_SIM_MAX_EVENTS
#define WARD_SIM_ARENA_SIZE  CONFIG_WARD_SIM_ARENA_SIZE

#define WARD_SIM_NAME_MAX 48

/* Signal references: an index into sim->signal, or one of these. */
typedef uint16_t ward_sim_sig_t;
#define WARD_SIM_SIG_ZERO 0xFFFEu /* not in the scenario: a constant 0 */
#define WARD_SIM_SIG_NONE 0xFFFFu /* not offered: read as unavailable / not-supported */

enum ward_sim_behaviour {
    WARD_SIM_CONSTANT = 0, /* p0 value */
    WARD_SIM_RAMP,         /* p0 from, p1 to, p2 at, p3 over */
    WARD_SIM_STEP,         /* p0 from, p1 to, p2 at */
    WARD_SIM_SQUARE,       /* p0 low, p1 high, p2 at, p3 period, p4 high_ms */
    WARD_SIM_RATE,         /* p0 start, p1 by, p2 at, p3 every */
    WARD_SIM_DECAY,        /* p0 from, p1 to, p2 at, p3 half_life */
};

enum ward_sim_event_kind {
    WARD_SIM_EV_ADD = 0,     /* a: amount added from at (until) */
    WARD_SIM_EV_RATE,        /* a: by, b: every; grows during [at, until) */
    WARD_SIM_EV_STUCK,       /* the value freezes at its value at time at */
    WARD_SIM_EV_UNAVAILABLE, /* reason */
    WARD_SIM_EV_FAULT,       /* status fault */
    WARD_SIM_EV_ALARM,       /* the chip's alarm flag */
    WARD_SIM_EV_STANDBY,     /* disk: in standby, SMART not read */
    WARD_SIM_EV_FAILING,     /* ATA disk: SMART RETURN STATUS says failing */
    WARD_SIM_EV_LINK_DOWN,   /* NIC: no carrier */
};

struct ward_sim_event {
    int64_t at;    /* virtual ms */
    int64_t until; /* INT64_MAX when open-ended */
    int64_t a;
    int64_t b;
    uint8_t kind; /* enum ward_sim_event_kind */
    uint8_t reason;
};

struct ward_sim_signal {
    int64_t p[5];
    int64_t lo, hi;      /* the field's range; readings are clamped into it */
    int64_t noise_amp;   /* uniform in [-amp, +amp], 0 = no noise */
    uint64_t noise_key;  /* stream key: seed mixed with owner id and field name */
    int64_t noise_every; /* ms between noise samples */
    uint16_t ev_first;   /* events [ev_first, ev_first + ev_count) */
    uint8_t ev_count;
    uint8_t behaviour; /* enum ward_sim_behaviour */
    bool counter;      /* monotonic: noise is interpolated between samples (rate base only) */
};

/* Temperatures and fans share one pool: temps first, then fans. */
struct ward_sim_sensor {
    struct ward_sensor_info info;
    ward_sim_sig_t value; /* temperature (milli-deg C) or fan RPM */
    ward_sim_sig_t pwm;   /* fan PWM percent, WARD_SIM_SIG_NONE when not controllable */
};

struct ward_sim_nic {
    struct ward_nic_info info;
    char driver[WARD_INV_DRIVER_LEN]; /* the inventory's driver name; "" when not given */
    ward_sim_sig_t counter[WARD_NIC_COUNTER_COUNT];
    int64_t speed_mbps; /* 0: unknown */
    uint8_t duplex;     /* enum ward_nic_duplex */
    uint8_t down_count; /* link-down windows: events [down_first, +down_count) */
    uint16_t down_first;
    int64_t flap_at;    /* flapping: from flap_at to flap_until, every flap_period ms the */
    int64_t flap_until; /* link goes down for flap_down ms; flap_period 0 = no flapping */
    int64_t flap_period;
    int64_t flap_down;
    uint32_t carrier_changes_base; /* carrier changes counted before virtual time 0 */
};

struct ward_sim_ata_attr {
    uint8_t id;
    uint8_t threshold;
    uint16_t flags;
    ward_sim_sig_t value;
    ward_sim_sig_t worst; /* WARD_SIM_SIG_NONE: the lowest value seen so far */
    ward_sim_sig_t raw;
    uint8_t worst_seen; /* running minimum for worst == NONE */
};

enum ward_sim_nvme_field {
    WARD_SIM_NVME_CRITICAL_WARNING = 0,
    WARD_SIM_NVME_COMPOSITE_TEMP,
    WARD_SIM_NVME_AVAIL_SPARE,
    WARD_SIM_NVME_PERCENT_USED,
    WARD_SIM_NVME_DATA_UNITS_READ,
    WARD_SIM_NVME_DATA_UNITS_WRITTEN,
    WARD_SIM_NVME_HOST_READS,
    WARD_SIM_NVME_HOST_WRITES,
    WARD_SIM_NVME_BUSY_MINUTES,
    WARD_SIM_NVME_POWER_CYCLES,
    WARD_SIM_NVME_POWER_ON_HOURS,
    WARD_SIM_NVME_UNSAFE_SHUTDOWNS,
    WARD_SIM_NVME_MEDIA_ERRORS,
    WARD_SIM_NVME_ERROR_LOG_ENTRIES,
    WARD_SIM_NVME_WARNING_TEMP_MINUTES,
    WARD_SIM_NVME_CRITICAL_TEMP_MINUTES,
    WARD_SIM_NVME_FIELD_COUNT,
};

struct ward_sim_disk {
    struct ward_disk_info info;
    uint16_t ev_first; /* standby / unavailable / failing windows */
    uint8_t ev_count;
    union {
        struct {
            struct ward_sim_ata_attr attr[WARD_ATA_MAX_ATTRS];
            uint8_t n_attrs;
            ward_sim_sig_t error_count;
            ward_sim_sig_t selftest_count;
            ward_sim_sig_t selftest_last_status;
            int64_t worst_ms; /* time the running minima were last updated */
        } ata;
        struct {
            ward_sim_sig_t field[WARD_SIM_NVME_FIELD_COUNT];
            ward_sim_sig_t temp_sensor[WARD_NVME_TEMP_SENSORS];
            uint8_t spare_threshold_pct;
            int64_t warning_temp_mdeg_c;
            int64_t critical_temp_mdeg_c;
        } nvme;
    } u;
};

enum ward_sim_mem_field {
    WARD_SIM_MEM_TOTAL = 0,
    WARD_SIM_MEM_AVAILABLE,
    WARD_SIM_MEM_FREE,
    WARD_SIM_MEM_BUFFERS,
    WARD_SIM_MEM_CACHED,
    WARD_SIM_MEM_SWAP_TOTAL,
    WARD_SIM_MEM_SWAP_FREE,
    WARD_SIM_MEM_FIELD_COUNT,
};

enum ward_sim_blk_field {
    WARD_SIM_BLK_READS = 0,
    WARD_SIM_BLK_WRITES,
    WARD_SIM_BLK_READ_BYTES,
    WARD_SIM_BLK_WRITTEN_BYTES,
    WARD_SIM_BLK_IO_MS,
    WARD_SIM_BLK_IN_FLIGHT,
    WARD_SIM_BLK_FIELD_COUNT,
};

enum ward_sim_fs_field {
    WARD_SIM_FS_TOTAL = 0,
    WARD_SIM_FS_FREE,
    WARD_SIM_FS_AVAIL,
    WARD_SIM_FS_FILES_TOTAL,
    WARD_SIM_FS_FILES_FREE,
    WARD_SIM_FS_FIELD_COUNT,
};

struct ward_sim_blk {
    struct ward_host_blk_info info;
    ward_sim_sig_t field[WARD_SIM_BLK_FIELD_COUNT];
};

struct ward_sim_fs {
    struct ward_host_fs_info info;
    ward_sim_sig_t field[WARD_SIM_FS_FIELD_COUNT];
};

/*
 * CPU time is the integral of the utilisation signals (percent of all CPUs), summed in
 * 1 s steps from time 0. The sum so far is cached so a clock moving forward costs one step
 * per virtual second; moving it backwards starts again from 0.
 */
struct ward_sim_cpu {
    uint32_t ncpu;
    uint32_t ticks_per_second;
    ward_sim_sig_t pct[WARD_CPU_STATE_COUNT]; /* [WARD_CPU_IDLE] unused: idle is the rest */
    int64_t done_ms;                          /* steps summed: [0, done_ms) */
    uint64_t ticks[WARD_CPU_STATE_COUNT];     /* whole ticks of the summed steps */
    uint32_t frac[WARD_CPU_STATE_COUNT];      /* remainder, in 1/100000 tick */
};

struct ward_sim_host {
    bool present;
    bool has_cpu;
    bool has_mem;
    uint8_t n_blk;
    uint8_t n_fs;
    struct ward_sim_cpu cpu;
    ward_sim_sig_t mem[WARD_SIM_MEM_FIELD_COUNT];
    struct ward_sim_blk blk[WARD_SIM_MAX_BLK];
    struct ward_sim_fs fs[WARD_SIM_MAX_FS];
};

struct ward_sim {
    int64_t now_ms;
    int64_t duration_ms;
    char name[WARD_SIM_NAME_MAX];
    bool ready;
    uint32_t arena_used; /* bytes of the parse arena this scenario needed */

    uint16_t n_signals;
    uint16_t n_events;
    uint16_t n_temp;
    uint16_t n_fan;
    uint8_t n_nic;
    uint8_t n_disk;

    struct ward_device dev_temp;
    struct ward_device dev_fan;
    struct ward_device dev_nic;
    struct ward_device dev_disk;
    struct ward_device dev_host;
    struct ward_device dev_inv;

    struct ward_sim_signal signal[WARD_SIM_MAX_SIGNALS];
    struct ward_sim_event event[WARD_SIM_MAX_EVENTS];
    struct ward_sim_sensor sensor[WARD_SIM_MAX_SENSORS];
    struct ward_sim_nic nic[WARD_SIM_MAX_NICS];
    struct ward_sim_disk disk[WARD_SIM_MAX_DISKS];
    struct ward_sim_host host;
};

#endif /* WARD_HAL_SIM_IMPL_H_ */
