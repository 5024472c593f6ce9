/*
 * The agent's last readings, kept for pull endpoints (Prometheus /metrics, SNMP): filled by
 * sampling through the agent's observe hook (struct ward_agent_hooks), read by the writers,
 * so a request never touches a device or sysfs. Static tables sized by Kconfig
 * (CONFIG_WARD_NMS_MAX_*); entries are found by their stable sensor id and keep their slot
 * for the life of the agent. A device whose slot cannot be found or made is counted in
 * `full` and left out.
 *
 *   static struct ward_nms_cache s_cache;
 *   ward_nms_cache_init(&s_cache);
 *   cfg.hooks.observe = ward_nms_cache_observe; cfg.hooks.observe_user = &s_cache;
 */
#ifndef WARD_NMS_CACHE_H_
#define WARD_NMS_CACHE_H_

#include <stdbool.h>
#include <stdint.h>

#include "ward/agent.h"
#include "ward/base/config.h"
#include "ward/hal/hal.h"

enum ward_nms_kind {
    WARD_NMS_TEMP = 0,
    WARD_NMS_FAN,
};

struct ward_nms_sensor {
    char id[WARD_SENSOR_ID_MAX];
    char label[WARD_SENSOR_LABEL_MAX];
    uint8_t kind;              /* enum ward_nms_kind */
    struct ward_reading value; /* milli-degrees Celsius or RPM */
    int64_t t_ms;
};

struct ward_nms_nic {
    struct ward_nic_info info;
    struct ward_nic_reading r;
    int64_t t_ms;
};

struct ward_nms_disk {
    struct ward_disk_info info;
    struct ward_smart smart;
    int64_t t_ms;
};

struct ward_nms_fs {
    struct ward_host_fs_info info;
    struct ward_host_fs fs;
};

struct ward_nms_cache {
    struct ward_nms_sensor sensor[WARD_NMS_MAX_SENSORS];
    struct ward_nms_nic nic[WARD_NMS_MAX_NICS];
    struct ward_nms_disk disk[WARD_NMS_MAX_DISKS];
    struct ward_nms_fs fs[WARD_NMS_MAX_FS];
    struct ward_host_cpu cpu;
    struct ward_host_mem mem;
    uint16_t n_sensors;
    uint16_t n_nics;
    uint16_t n_disks;
    uint16_t n_fs;
    bool has_cpu;
    bool has_mem;
    uint32_t full; /* observations left out: a table was full */
};

/** Empty every table. */
void ward_nms_cache_init(struct ward_nms_cache *c);

/** The agent's observe hook: user is the struct ward_nms_cache. */
void ward_nms_cache_observe(const struct ward_observation *obs, int64_t now_ms, void *user);

/** @return the cached temperature or fan channel with this id, or NULL. */
const struct ward_nms_sensor *ward_nms_cache_sensor(const struct ward_nms_cache *c, const char *id);

#endif /* WARD_NMS_CACHE_H_ */
