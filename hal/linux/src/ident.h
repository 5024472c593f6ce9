/* Stable bus ids of devices behind hwmon chips (see ident.c). */
#ifndef WARD_HAL_LINUX_SRC_IDENT_H_
#define WARD_HAL_LINUX_SRC_IDENT_H_

#include <stddef.h>

enum lx_dev_kind {
    LX_DEV_BUS = 0,      /* out holds the bus id */
    LX_DEV_VIRTUAL,      /* no bus device (no device link, or only class devices) */
    LX_DEV_THERMAL_ZONE, /* a thermal zone's hwmon mirror: read through the zone */
};

/**
 * Resolve dev_link (".../hwmonN/device") to the bus id of the nearest bus device, for example
 * "isa0000", "pci0000-3d-00.0", "i2c0-0048", "naa5000c500a1b2c3d4" (SCSI wwid).
 * devices_root is the resolved ROOT/sys/devices. @return enum lx_dev_kind or a negative errno.
 */
int lx_device_bus_id(const char *devices_root, const char *dev_link, char *out, size_t len);

#endif /* WARD_HAL_LINUX_SRC_IDENT_H_ */
