/*
 * The set of HAL devices an agent reads, by class. A board (or a command such as
 * `ward-agent probe --root DIR`) builds one; the core only walks it.
 */
#ifndef WARD_HAL_HAL_H_
#define WARD_HAL_HAL_H_

#include "ward/hal/device.h"
#include "ward/hal/disk.h"
#include "ward/hal/fan.h"
#include "ward/hal/host.h"
#include "ward/hal/inventory.h"
#include "ward/hal/nic.h"
#include "ward/hal/reading.h"
#include "ward/hal/temp.h"

#define WARD_HAL_MAX_DEVICES_PER_CLASS 4

struct ward_hal {
    const struct ward_device *temp[WARD_HAL_MAX_DEVICES_PER_CLASS];
    const struct ward_device *fan[WARD_HAL_MAX_DEVICES_PER_CLASS];
    const struct ward_device *nic[WARD_HAL_MAX_DEVICES_PER_CLASS];
    const struct ward_device *disk[WARD_HAL_MAX_DEVICES_PER_CLASS];
    const struct ward_device *host;      /* at most one host-load source */
    const struct ward_device *inventory; /* at most one; NULL: chips from the devices above */
    uint8_t n_temp;
    uint8_t n_fan;
    uint8_t n_nic;
    uint8_t n_disk;
};

#endif /* WARD_HAL_HAL_H_ */
