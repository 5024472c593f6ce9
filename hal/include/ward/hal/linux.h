/*
 * Linux backends. `root` is prepended to /sys, /proc and /dev paths so tests and
 * `ward-agent probe --root DIR` read fixture trees; NULL or "" means the real system.
 * Instances live in caller storage (struct ward_linux_hal), never on the heap.
 */
#ifndef WARD_HAL_LINUX_H_
#define WARD_HAL_LINUX_H_

#include <stdbool.h>
#include <stddef.h>

#include "ward/hal/hal.h"

struct ward_linux_hal; /* defined by hal/linux/ (hal/linux/include/...) */

/**
 * Discover hwmon chips, thermal zones, NICs and host-load sources under root and add
 * their devices to hal.
 * @return 0 (sources that cannot be read are listed as unavailable), -EINVAL, -ENAMETOOLONG,
 *         -ENOSPC when hal has no free temperature, fan or NIC slot or already has a host source.
 */
int ward_linux_hal_init(struct ward_linux_hal *lh, struct ward_hal *hal, const char *root);

/**
 * Discover ATA/SATA (SG_IO) and NVMe (admin ioctl) disks under root and add a disk device
 * to hal. Never wakes a drive in standby.
 * @return 0, -EINVAL, -ENOSPC when hal has no free disk slot.
 */
int ward_linux_disk_attach(struct ward_hal *hal, const char *root);

/**
 * Why the block device name (an entry of root/sys/block) is not among the disks
 * ward_linux_disk_attach() reads, as one phrase ("virtio disks have no SMART") in why.
 * @return true when it is left out, false when it is read (why is then "").
 */
bool ward_linux_disk_left_out(const char *root, const char *name, char *why, size_t len);

#endif /* WARD_HAL_LINUX_H_ */
