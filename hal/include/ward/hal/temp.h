/* Temperature sensors: milli-degrees Celsius, signed (temperatures can be negative). */
#ifndef WARD_HAL_TEMP_H_
#define WARD_HAL_TEMP_H_

#include "ward/hal/device.h"
#include "ward/hal/reading.h"

struct ward_temp_reading {
    struct ward_reading mdeg_c; /* milli-degrees Celsius */
    bool alarm;                 /* the chip's own alarm flag (hwmon tempN_*_alarm) */
};

struct ward_temp_ops {
    /** @return number of channels (>= 0), or a negative errno. */
    int (*count)(const struct ward_device *dev);
    /** @return 0, -EINVAL for a bad channel, or a backend errno. */
    int (*info)(const struct ward_device *dev, unsigned ch, struct ward_sensor_info *info);
    /** Fill out; an unreadable sensor is a status, and still returns 0. @return 0 or -EINVAL. */
    int (*read)(const struct ward_device *dev, unsigned ch, struct ward_temp_reading *out);
};

static inline int ward_temp_count(const struct ward_device *dev)
{
    const struct ward_temp_ops *ops = (const struct ward_temp_ops *)dev->api;

    return ops->count ? ops->count(dev) : -ENOSYS;
}

static inline int ward_temp_info(const struct ward_device *dev, unsigned ch,
                                 struct ward_sensor_info *info)
{
    const struct ward_temp_ops *ops = (const struct ward_temp_ops *)dev->api;

    return ops->info ? ops->info(dev, ch, info) : -ENOSYS;
}

static inline int ward_temp_read(const struct ward_device *dev, unsigned ch,
                                 struct ward_temp_reading *out)
{
    const struct ward_temp_ops *ops = (const struct ward_temp_ops *)dev->api;

    return ops->read ? ops->read(dev, ch, out) : -ENOSYS;
}

#endif /* WARD_HAL_TEMP_H_ */
