/*
 * The reading cache (ward/nms/cache.h): one slot per stable id, found by a linear search
 * (tens of entries, once per sample), copied whole so that writers read a consistent entry.
 */
#include "ward/nms/cache.h"

#include <string.h>

void ward_nms_cache_init(struct ward_nms_cache *c)
{
    memset(c, 0, sizeof(*c));
}

/* Index of id among n entries of size stride whose id is at the start, or n when absent. */
static unsigned find(const void *base, size_t stride, unsigned n, const char *id)
{
    for (unsigned i = 0; i < n; i++) {
        if (strcmp((const char *)base + (size_t)i * stride, id) == 0) {
            return i;
        }
    }
    return n;
}

/* Slot for id: the existing one, a new one, or -1 (counted) when the table is full. */
static int slot(struct ward_nms_cache *c, const void *base, size_t stride, uint16_t *n,
                unsigned cap, const char *id)
{
    unsigned i = find(base, stride, *n, id);

    if (i < *n) {
        return (int)i;
    }
    if (*n >= cap) {
        c->full++;
        return -1;
    }
    return (int)(*n)++;
}

static void keep_sensor(struct ward_nms_cache *c, const struct ward_sensor_info *info,
                        enum ward_nms_kind kind, const struct ward_reading *r, int64_t now)
{
    int i = slot(c, c->sensor, sizeof(c->sensor[0]), &c->n_sensors, WARD_NMS_MAX_SENSORS, info->id);
    struct ward_nms_sensor *s;

    if (i < 0) {
        return;
    }
    s = &c->sensor[i];
    memcpy(s->id, info->id, sizeof(s->id));
    memcpy(s->label, info->label, sizeof(s->label));
    s->id[sizeof(s->id) - 1] = '\0';
    s->label[sizeof(s->label) - 1] = '\0';
    s->kind = (uint8_t)kind;
    s->value = *r;
    s->t_ms = now;
}

static void keep_nic(struct ward_nms_cache *c, const struct ward_observation *o, int64_t now)
{
    int i =
        slot(c, c->nic, sizeof(c->nic[0]), &c->n_nics, WARD_NMS_MAX_NICS, o->nic_info->sensor.id);

    if (i >= 0) {
        c->nic[i].info = *o->nic_info;
        c->nic[i].r = *o->nic;
        c->nic[i].t_ms = now;
    }
}

static void keep_disk(struct ward_nms_cache *c, const struct ward_observation *o, int64_t now)
{
    int i = slot(c, c->disk, sizeof(c->disk[0]), &c->n_disks, WARD_NMS_MAX_DISKS,
                 o->disk_info->sensor.id);

    if (i < 0) {
        return;
    }
    c->disk[i].info = *o->disk_info;
    /* A drive in standby was deliberately not read: keep its last SMART data, note the sleep. */
    if (o->smart->status == WARD_STATUS_UNAVAILABLE && o->smart->reason == WARD_REASON_STANDBY &&
        c->disk[i].t_ms != 0) {
        return;
    }
    c->disk[i].smart = *o->smart;
    c->disk[i].t_ms = now;
}

static void keep_fs(struct ward_nms_cache *c, const struct ward_observation *o)
{
    int i = slot(c, c->fs, sizeof(c->fs[0]), &c->n_fs, WARD_NMS_MAX_FS, o->fs_info->sensor.id);

    if (i >= 0) {
        c->fs[i].info = *o->fs_info;
        c->fs[i].fs = *o->fs;
    }
}

void ward_nms_cache_observe(const struct ward_observation *o, int64_t now_ms, void *user)
{
    struct ward_nms_cache *c = user;

    if (c == NULL || o == NULL) {
        return;
    }
    switch (o->kind) {
    case WARD_OBSERVED_TEMP:
        keep_sensor(c, o->sensor, WARD_NMS_TEMP, &o->temp->mdeg_c, now_ms);
        break;
    case WARD_OBSERVED_FAN:
        keep_sensor(c, o->sensor, WARD_NMS_FAN, &o->fan->rpm, now_ms);
        break;
    case WARD_OBSERVED_NIC:
        keep_nic(c, o, now_ms);
        break;
    case WARD_OBSERVED_DISK:
        keep_disk(c, o, now_ms);
        break;
    case WARD_OBSERVED_CPU:
        c->cpu = *o->cpu;
        c->has_cpu = true;
        break;
    case WARD_OBSERVED_MEM:
        c->mem = *o->mem;
        c->has_mem = true;
        break;
    case WARD_OBSERVED_FS:
        keep_fs(c, o);
        break;
    default:
        break;
    }
}

const struct ward_nms_sensor *ward_nms_cache_sensor(const struct ward_nms_cache *c, const char *id)
{
    unsigned i = find(c->sensor, sizeof(c->sensor[0]), c->n_sensors, id);

    return i < c->n_sensors ? &c->sensor[i] : NULL;
}
