/* Network interfaces: monotonic 64-bit counters plus link facts. The core handles wrap/reset. */
#ifndef WARD_HAL_NIC_H_
#define WARD_HAL_NIC_H_

#include "ward/hal/device.h"
#include "ward/hal/reading.h"

enum ward_nic_counter {
    WARD_NIC_RX_BYTES = 0,
    WARD_NIC_TX_BYTES,
    WARD_NIC_RX_PACKETS,
    WARD_NIC_TX_PACKETS,
    WARD_NIC_RX_ERRORS,
    WARD_NIC_TX_ERRORS,
    WARD_NIC_RX_DROPPED,
    WARD_NIC_TX_DROPPED,
    WARD_NIC_RX_CRC_ERRORS,
    WARD_NIC_RX_FRAME_ERRORS,
    WARD_NIC_COLLISIONS,
    WARD_NIC_CARRIER_CHANGES,
    WARD_NIC_COUNTER_COUNT,
};

enum ward_nic_oper {
    WARD_NIC_OPER_UNKNOWN = 0,
    WARD_NIC_OPER_UP,
    WARD_NIC_OPER_DOWN,
    WARD_NIC_OPER_DORMANT,
    WARD_NIC_OPER_LOWER_DOWN,
    WARD_NIC_OPER_NOT_PRESENT,
    WARD_NIC_OPER_TESTING,
};

enum ward_nic_duplex {
    WARD_NIC_DUPLEX_UNKNOWN = 0,
    WARD_NIC_DUPLEX_HALF,
    WARD_NIC_DUPLEX_FULL,
};

struct ward_nic_info {
    struct ward_sensor_info sensor; /* id "nic:<name>" (or a stable bus path when known) */
    char name[16];                  /* kernel interface name, e.g. "eth0" */
    uint8_t mac[6];
    bool has_mac;
    uint32_t mtu;
};

struct ward_nic_reading {
    /* Each counter has its own status: drivers expose different subsets. */
    struct ward_reading counter[WARD_NIC_COUNTER_COUNT]; /* value cast from uint64_t */
    enum ward_nic_oper oper;
    struct ward_reading carrier;    /* 1 = carrier, 0 = none */
    struct ward_reading speed_mbps; /* unavailable when unknown (link down, virtual) */
    enum ward_nic_duplex duplex;
};

struct ward_nic_ops {
    int (*count)(const struct ward_device *dev);
    int (*info)(const struct ward_device *dev, unsigned ch, struct ward_nic_info *info);
    int (*read)(const struct ward_device *dev, unsigned ch, struct ward_nic_reading *out);
};

static inline int ward_nic_count(const struct ward_device *dev)
{
    const struct ward_nic_ops *ops = (const struct ward_nic_ops *)dev->api;

    return ops->count ? ops->count(dev) : -ENOSYS;
}

static inline int ward_nic_info(const struct ward_device *dev, unsigned ch,
                                struct ward_nic_info *info)
{
    const struct ward_nic_ops *ops = (const struct ward_nic_ops *)dev->api;

    return ops->info ? ops->info(dev, ch, info) : -ENOSYS;
}

static inline int ward_nic_read(const struct ward_device *dev, unsigned ch,
                                struct ward_nic_reading *out)
{
    const struct ward_nic_ops *ops = (const struct ward_nic_ops *)dev->api;

    return ops->read ? ops->read(dev, ch, out) : -ENOSYS;
}

/** Counter's name as in sysfs statistics ("rx_bytes", "rx_crc_errors", ...). */
const char *ward_nic_counter_name(enum ward_nic_counter c);

/** Operational state as sysfs operstate spells it ("up", "lowerlayerdown", ...). */
const char *ward_nic_oper_name(enum ward_nic_oper oper);

/** "full", "half" or "unknown". */
const char *ward_nic_duplex_name(enum ward_nic_duplex duplex);

#endif /* WARD_HAL_NIC_H_ */
