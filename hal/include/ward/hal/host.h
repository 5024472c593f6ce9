/*
 * Host load: CPU time, memory, block-device I/O and filesystem use. Counters are cumulative
 * and monotonic (the core computes rates); sizes are bytes.
 */
#ifndef WARD_HAL_HOST_H_
#define WARD_HAL_HOST_H_

#include "ward/hal/device.h"
#include "ward/hal/reading.h"

enum ward_cpu_state {
    WARD_CPU_USER = 0,
    WARD_CPU_NICE,
    WARD_CPU_SYSTEM,
    WARD_CPU_IDLE,
    WARD_CPU_IOWAIT,
    WARD_CPU_IRQ,
    WARD_CPU_SOFTIRQ,
    WARD_CPU_STEAL,
    WARD_CPU_STATE_COUNT,
};

struct ward_host_cpu {
    enum ward_status status;
    enum ward_reason reason;
    uint32_t ncpu;                        /* online CPUs counted */
    uint64_t ticks[WARD_CPU_STATE_COUNT]; /* all CPUs together, in clock ticks */
    uint64_t ticks_per_second;            /* USER_HZ on Linux */
};

struct ward_host_mem {
    enum ward_status status;
    enum ward_reason reason;
    uint64_t total;     /* bytes */
    uint64_t available; /* bytes the kernel estimates can be allocated without swapping */
    uint64_t free;
    uint64_t buffers;
    uint64_t cached;
    uint64_t swap_total;
    uint64_t swap_free;
};

struct ward_host_blk_info {
    struct ward_sensor_info sensor; /* id "blk:<name>" */
    char name[32];                  /* kernel name, e.g. "sda", "nvme0n1" */
};

struct ward_host_blk {
    enum ward_status status;
    enum ward_reason reason;
    uint64_t reads;  /* completed */
    uint64_t writes; /* completed */
    uint64_t read_bytes;
    uint64_t written_bytes;
    uint64_t io_ms;     /* time spent doing I/O */
    uint64_t in_flight; /* a gauge, not a counter */
};

struct ward_host_fs_info {
    struct ward_sensor_info sensor; /* id "fs:<mount point>" */
    char mount_point[64];
    char fs_type[16];
    char source[48];
};

struct ward_host_fs {
    enum ward_status status;
    enum ward_reason reason;
    uint64_t total_bytes;
    uint64_t free_bytes;  /* including blocks reserved for root */
    uint64_t avail_bytes; /* available to unprivileged users */
    uint64_t files_total;
    uint64_t files_free;
};

struct ward_host_ops {
    int (*cpu)(const struct ward_device *dev, struct ward_host_cpu *out);
    int (*mem)(const struct ward_device *dev, struct ward_host_mem *out);
    int (*blk_count)(const struct ward_device *dev);
    int (*blk_info)(const struct ward_device *dev, unsigned i, struct ward_host_blk_info *info);
    int (*blk_read)(const struct ward_device *dev, unsigned i, struct ward_host_blk *out);
    int (*fs_count)(const struct ward_device *dev);
    int (*fs_info)(const struct ward_device *dev, unsigned i, struct ward_host_fs_info *info);
    int (*fs_read)(const struct ward_device *dev, unsigned i, struct ward_host_fs *out);
};

#define WARD_HOST_OPS(dev) ((const struct ward_host_ops *)(dev)->api)

static inline int ward_host_cpu(const struct ward_device *dev, struct ward_host_cpu *out)
{
    return WARD_HOST_OPS(dev)->cpu ? WARD_HOST_OPS(dev)->cpu(dev, out) : -ENOSYS;
}

static inline int ward_host_mem(const struct ward_device *dev, struct ward_host_mem *out)
{
    return WARD_HOST_OPS(dev)->mem ? WARD_HOST_OPS(dev)->mem(dev, out) : -ENOSYS;
}

static inline int ward_host_blk_count(const struct ward_device *dev)
{
    return WARD_HOST_OPS(dev)->blk_count ? WARD_HOST_OPS(dev)->blk_count(dev) : -ENOSYS;
}

static inline int ward_host_blk_info(const struct ward_device *dev, unsigned i,
                                     struct ward_host_blk_info *info)
{
    return WARD_HOST_OPS(dev)->blk_info ? WARD_HOST_OPS(dev)->blk_info(dev, i, info) : -ENOSYS;
}

static inline int ward_host_blk_read(const struct ward_device *dev, unsigned i,
                                     struct ward_host_blk *out)
{
    return WARD_HOST_OPS(dev)->blk_read ? WARD_HOST_OPS(dev)->blk_read(dev, i, out) : -ENOSYS;
}

static inline int ward_host_fs_count(const struct ward_device *dev)
{
    return WARD_HOST_OPS(dev)->fs_count ? WARD_HOST_OPS(dev)->fs_count(dev) : -ENOSYS;
}

static inline int ward_host_fs_info(const struct ward_device *dev, unsigned i,
                                    struct ward_host_fs_info *info)
{
    return WARD_HOST_OPS(dev)->fs_info ? WARD_HOST_OPS(dev)->fs_info(dev, i, info) : -ENOSYS;
}

static inline int ward_host_fs_read(const struct ward_device *dev, unsigned i,
                                    struct ward_host_fs *out)
{
    return WARD_HOST_OPS(dev)->fs_read ? WARD_HOST_OPS(dev)->fs_read(dev, i, out) : -ENOSYS;
}

/** A CPU state's name as in /proc/stat's documentation ("user", "iowait", ...). */
const char *ward_cpu_state_name(enum ward_cpu_state state);

#endif /* WARD_HAL_HOST_H_ */
