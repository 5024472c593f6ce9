/*
 * A fake HAL for the agent core's tests: one device per class whose channels, values,
 * statuses and hardware thresholds a test sets directly, and which counts how often each
 * class was read. Each struct fake_hal is independent, so several agents in one process
 * can each read their own.
 */
#ifndef WARD_TESTS_FAKES_FAKE_HAL_H_
#define WARD_TESTS_FAKES_FAKE_HAL_H_

#include "ward/hal/hal.h"

#define FAKE_HAL_CHANNELS 8

struct fake_channel {
    struct ward_sensor_info info;
    struct ward_reading reading;
};

struct fake_class {
    unsigned n;
    unsigned reads; /* count() calls: one per sampling pass */
    struct fake_channel ch[FAKE_HAL_CHANNELS];
};

struct fake_nic {
    struct ward_nic_info info;
    struct ward_nic_reading reading;
};

struct fake_disk {
    struct ward_disk_info info;
    struct ward_smart smart;
};

struct fake_fs {
    struct ward_host_fs_info info;
    struct ward_host_fs fs;
};

struct fake_hal {
    struct fake_class temp;
    struct fake_class fan;
    struct fake_nic nic[2];
    unsigned n_nic;
    unsigned nic_reads;
    struct fake_disk disk[2];
    unsigned n_disk;
    unsigned disk_reads;
    struct ward_host_cpu cpu;
    struct ward_host_mem mem;
    struct fake_fs fs[2];
    unsigned n_fs;
    unsigned host_reads;
    struct ward_device temp_dev, fan_dev, nic_dev, disk_dev, host_dev;
    struct ward_hal hal;
};

/** Empty fake with one device per class (no channels yet). */
void fake_hal_init(struct fake_hal *f);

/** Add or update channel ch of temp/fan: id, value (status ok). */
void fake_hal_set(struct fake_class *c, unsigned ch, const char *id, int64_t value);

/** Make channel ch report a status instead of a value. */
void fake_hal_set_status(struct fake_class *c, unsigned ch, enum ward_status st,
                         enum ward_reason why);

/** Hardware-reported threshold of channel ch. */
void fake_hal_set_threshold(struct fake_class *c, unsigned ch, enum ward_threshold_kind k,
                            int64_t value);

/** Add or update NIC i: id ("nic:eth0") and one counter's value. */
void fake_hal_nic_counter(struct fake_hal *f, unsigned i, const char *id, enum ward_nic_counter c,
                          uint64_t value);

/** Add or update disk i with a verdict (status ok) or a status. */
void fake_hal_disk(struct fake_hal *f, unsigned i, const char *id, enum ward_disk_kind kind,
                   enum ward_smart_verdict verdict, enum ward_status st, enum ward_reason why);

/** Host: CPU ticks (user+system busy, idle), memory and one filesystem. */
void fake_hal_cpu(struct fake_hal *f, uint64_t busy_ticks, uint64_t idle_ticks);
void fake_hal_fs(struct fake_hal *f, unsigned i, const char *id, uint64_t total, uint64_t used);

#endif /* WARD_TESTS_FAKES_FAKE_HAL_H_ */
