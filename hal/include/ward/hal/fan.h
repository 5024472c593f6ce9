/* Fans: speed in RPM, drive in PWM percent. Thresholds: fanN_min -> lower_caution. */
#ifndef WARD_HAL_FAN_H_
#define WARD_HAL_FAN_H_

#include "ward/hal/device.h"
#include "ward/hal/reading.h"

struct ward_fan_reading {
    struct ward_reading rpm;         /* revolutions per minute */
    struct ward_reading pwm_percent; /* 0..100; unavailable when the fan has no PWM control */
    bool alarm;                      /* fanN_alarm */
};

struct ward_fan_ops {
    int (*count)(const struct ward_device *dev);
    int (*info)(const struct ward_device *dev, unsigned ch, struct ward_sensor_info *info);
    int (*read)(const struct ward_device *dev, unsigned ch, struct ward_fan_reading *out);
};

static inline int ward_fan_count(const struct ward_device *dev)
{
    const struct ward_fan_ops *ops = (const struct ward_fan_ops *)dev->api;

    return ops->count ? ops->count(dev) : -ENOSYS;
}

static inline int ward_fan_info(const struct ward_device *dev, unsigned ch,
                                struct ward_sensor_info *info)
{
    const struct ward_fan_ops *ops = (const struct ward_fan_ops *)dev->api;

    return ops->info ? ops->info(dev, ch, info) : -ENOSYS;
}

static inline int ward_fan_read(const struct ward_device *dev, unsigned ch,
                                struct ward_fan_reading *out)
{
    const struct ward_fan_ops *ops = (const struct ward_fan_ops *)dev->api;

    return ops->read ? ops->read(dev, ch, out) : -ENOSYS;
}

#endif /* WARD_HAL_FAN_H_ */
