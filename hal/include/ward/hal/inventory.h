/*
 * Hardware inventory: what the agent's host is made of (disks with model, serial and firmware,
 * NICs with MAC and driver, sensor chips with their sensor counts), read rarely (on start, on a
 * new connection, at a slow refresh) and sent in the heartbeat's sticky `inventory` member
 * (docs/protocol.md). A backend reads only what the OS already keeps: it never issues a command
 * to a disk, so reading the inventory never wakes a sleeping drive.
 *
 * Items are numbered 0..n-1 in a stable order (by name); an op returns -ENOENT past the last.
 * Lengths are the wire's bounds (docs/schemas/heartbeat.json) plus the NUL.
 */
#ifndef WARD_HAL_INVENTORY_H_
#define WARD_HAL_INVENTORY_H_

#include "ward/hal/device.h"

#define WARD_INV_NAME_LEN   32 /* disk, NIC and chip names: 31 characters */
#define WARD_INV_MODEL_LEN  64
#define WARD_INV_SERIAL_LEN 64
#define WARD_INV_FW_LEN     32
#define WARD_INV_MAC_LEN    18 /* "02:5e:1a:07:c3:11" */
#define WARD_INV_DRIVER_LEN 32

struct ward_inv_disk {
    char name[WARD_INV_NAME_LEN]; /* "sda", "nvme0" */
    char model[WARD_INV_MODEL_LEN];
    char serial[WARD_INV_SERIAL_LEN];
    char firmware[WARD_INV_FW_LEN];
};

struct ward_inv_nic {
    char name[WARD_INV_NAME_LEN]; /* "eth0" */
    char mac[WARD_INV_MAC_LEN];   /* lower-case, colon-separated; "" when unknown */
    char driver[WARD_INV_DRIVER_LEN];
};

struct ward_inv_chip {
    char name[WARD_INV_NAME_LEN]; /* "coretemp", "nct6779" */
    uint32_t sensors;             /* channels the chip offers */
};

struct ward_inventory_ops {
    /** The i-th disk. @return 0, -ENOENT past the last, -EINVAL, or a backend errno. */
    int (*disk)(const struct ward_device *dev, unsigned i, struct ward_inv_disk *out);
    /** The i-th NIC. @return as disk. */
    int (*nic)(const struct ward_device *dev, unsigned i, struct ward_inv_nic *out);
    /** The i-th sensor chip. @return as disk. */
    int (*chip)(const struct ward_device *dev, unsigned i, struct ward_inv_chip *out);
};

static inline int ward_inventory_disk(const struct ward_device *dev, unsigned i,
                                      struct ward_inv_disk *out)
{
    const struct ward_inventory_ops *ops = (const struct ward_inventory_ops *)dev->api;

    return ops->disk ? ops->disk(dev, i, out) : -ENOSYS;
}

static inline int ward_inventory_nic(const struct ward_device *dev, unsigned i,
                                     struct ward_inv_nic *out)
{
    const struct ward_inventory_ops *ops = (const struct ward_inventory_ops *)dev->api;

    return ops->nic ? ops->nic(dev, i, out) : -ENOSYS;
}

static inline int ward_inventory_chip(const struct ward_device *dev, unsigned i,
                                      struct ward_inv_chip *out)
{
    const struct ward_inventory_ops *ops = (const struct ward_inventory_ops *)dev->api;

    return ops->chip ? ops->chip(dev, i, out) : -ENOSYS;
}

#endif /* WARD_HAL_INVENTORY_H_ */
