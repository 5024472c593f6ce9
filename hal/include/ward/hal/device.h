/*
 * A HAL device: one backend instance (a Linux hwmon scanner, a sim scenario, an I2C chip)
 * that exposes the channels of one sensor class through a const ops table.
 *
 * Fixed settings (config) are separate from changing state (data) so instances are static
 * tables, never allocations. Channels are numbered 0..count-1 and keep their number for the
 * life of the device; their identity (ward_sensor_info.id) is stable across reboots.
 */
#ifndef WARD_HAL_DEVICE_H_
#define WARD_HAL_DEVICE_H_

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ward_device {
    const char *name;   /* instance name, for messages */
    const void *api;    /* the class's ops table: struct ward_<class>_ops */
    const void *config; /* backend's fixed settings, may be NULL */
    void *data;         /* backend's changing state, may be NULL */
};

#endif /* WARD_HAL_DEVICE_H_ */
