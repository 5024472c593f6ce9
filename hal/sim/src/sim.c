/*
 * The sim backend's entry points and its temperature and fan devices. A scenario becomes
 * one device per class it describes, added to the caller's struct ward_hal only once the
 * whole scenario has been checked.
 */
#include <errno.h>
#include <string.h>

#include "sim_internal.h"

static struct ward_sim *sim_of(const struct ward_device *dev)
{
    return (struct ward_sim *)dev->data;
}

static int hal_room(const struct ward_sim *sim, const struct ward_hal *hal, char *err,
                    size_t err_len)
{
    const char *full = NULL;

    if (sim->n_temp > 0 && hal->n_temp >= WARD_HAL_MAX_DEVICES_PER_CLASS) {
        full = "temperature";
    } else if (sim->n_fan > 0 && hal->n_fan >= WARD_HAL_MAX_DEVICES_PER_CLASS) {
        full = "fan";
    } else if (sim->n_nic > 0 && hal->n_nic >= WARD_HAL_MAX_DEVICES_PER_CLASS) {
        full = "nic";
    } else if (sim->n_disk > 0 && hal->n_disk >= WARD_HAL_MAX_DEVICES_PER_CLASS) {
        full = "disk";
    } else if (sim->host.present && hal->host != NULL) {
        full = "host";
    }
    if (full == NULL) {
        return 0;
    }
    if (err != NULL && err_len > 0) {
        static const char pre[] = "sim: the HAL has no free ";
        static const char post[] = " device slot for the scenario";
        size_t n = 0;

        for (const char *s = pre; *s != '\0' && n + 1 < err_len; s++) {
            err[n++] = *s;
        }
        for (const char *s = full; *s != '\0' && n + 1 < err_len; s++) {
            err[n++] = *s;
        }
        for (const char *s = post; *s != '\0' && n + 1 < err_len; s++) {
            err[n++] = *s;
        }
        err[n] = '\0';
    }
    return -ENOSPC;
}

static void add_device(struct ward_sim *sim, struct ward_device *dev, const char *name,
                       const void *api)
{
    dev->name = name;
    dev->api = api;
    dev->config = NULL;
    dev->data = sim;
}

/* The running minimum of each ATA attribute whose worst the scenario leaves to the drive. */
static void init_worst(struct ward_sim *sim)
{
    struct ward_sim_sample s;

    for (unsigned d = 0; d < sim->n_disk; d++) {
        struct ward_sim_disk *disk = &sim->disk[d];

        if (disk->info.kind != WARD_DISK_ATA) {
            continue;
        }
        for (unsigned i = 0; i < disk->u.ata.n_attrs; i++) {
            ward_sim_eval(sim, disk->u.ata.attr[i].value, 0, &s);
            disk->u.ata.attr[i].worst_seen = (uint8_t)s.value;
        }
    }
}

int ward_sim_init(struct ward_sim *sim, struct ward_hal *hal, const char *text, size_t len,
                  char *err, size_t err_len)
{
    int rc;

    if (err != NULL && err_len > 0) {
        err[0] = '\0';
    }
    if (sim == NULL || hal == NULL || text == NULL) {
        return -EINVAL;
    }
    memset(sim, 0, sizeof(*sim));
    rc = ward_sim_parse(sim, text, len, err, err_len);
    if (rc == 0) {
        rc = hal_room(sim, hal, err, err_len);
    }
    if (rc != 0) {
        memset(sim, 0, sizeof(*sim));
        return rc;
    }
    init_worst(sim);
    if (sim->n_temp > 0) {
        add_device(sim, &sim->dev_temp, "sim-temp", &ward_sim_temp_ops);
        hal->temp[hal->n_temp++] = &sim->dev_temp;
    }
    if (sim->n_fan > 0) {
        add_device(sim, &sim->dev_fan, "sim-fan", &ward_sim_fan_ops);
        hal->fan[hal->n_fan++] = &sim->dev_fan;
    }
    if (sim->n_nic > 0) {
        add_device(sim, &sim->dev_nic, "sim-nic", &ward_sim_nic_ops);
        hal->nic[hal->n_nic++] = &sim->dev_nic;
    }
    if (sim->n_disk > 0) {
        add_device(sim, &sim->dev_disk, "sim-disk", &ward_sim_disk_ops);
        hal->disk[hal->n_disk++] = &sim->dev_disk;
    }
    if (sim->host.present) {
        add_device(sim, &sim->dev_host, "sim-host", &ward_sim_host_ops);
        hal->host = &sim->dev_host;
    }
    if (hal->inventory == NULL) {
        add_device(sim, &sim->dev_inv, "sim-inventory", &ward_sim_inventory_ops);
        hal->inventory = &sim->dev_inv;
    }
    sim->ready = true;
    return 0;
}

void ward_sim_set_time(struct ward_sim *sim, uint64_t now_ms)
{
    if (sim != NULL) {
        sim->now_ms = now_ms > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)now_ms;
    }
}

const char *ward_sim_name(const struct ward_sim *sim)
{
    return sim != NULL ? sim->name : "";
}

uint64_t ward_sim_duration_ms(const struct ward_sim *sim)
{
    return sim != NULL ? (uint64_t)sim->duration_ms : 0;
}

static int temp_count(const struct ward_device *dev)
{
    return sim_of(dev)->n_temp;
}

static int temp_info(const struct ward_device *dev, unsigned ch, struct ward_sensor_info *info)
{
    const struct ward_sim *sim = sim_of(dev);

    if (ch >= sim->n_temp || info == NULL) {
        return -EINVAL;
    }
    *info = sim->sensor[ch].info;
    return 0;
}

/* What the chip's own alarm flag would say: outside a threshold it reports. */
static bool crosses(const struct ward_thresholds *t, int64_t v)
{
    static const uint8_t upper = (1u << WARD_THR_UPPER_CAUTION) | (1u << WARD_THR_UPPER_CRITICAL) |
                                 (1u << WARD_THR_UPPER_FATAL);

    for (int k = 0; k < WARD_THR_COUNT; k++) {
        if ((t->present & (1u << k)) == 0) {
            continue;
        }
        if ((upper & (1u << k)) != 0 ? v > t->value[k] : v < t->value[k]) {
            return true;
        }
    }
    return false;
}

static void to_reading(const struct ward_sim_sample *s, struct ward_reading *r)
{
    r->value = s->value;
    r->status = s->status;
    r->reason = s->reason;
}

static int temp_read(const struct ward_device *dev, unsigned ch, struct ward_temp_reading *out)
{
    const struct ward_sim *sim = sim_of(dev);
    struct ward_sim_sample s;

    if (ch >= sim->n_temp || out == NULL) {
        return -EINVAL;
    }
    ward_sim_eval(sim, sim->sensor[ch].value, sim->now_ms, &s);
    to_reading(&s, &out->mdeg_c);
    out->alarm = s.alarm ||
                 (s.status == WARD_STATUS_OK && crosses(&sim->sensor[ch].info.thresholds, s.value));
    return 0;
}

const struct ward_temp_ops ward_sim_temp_ops = {
    .count = temp_count,
    .info = temp_info,
    .read = temp_read,
};

static int fan_count(const struct ward_device *dev)
{
    return sim_of(dev)->n_fan;
}

static int fan_info(const struct ward_device *dev, unsigned ch, struct ward_sensor_info *info)
{
    const struct ward_sim *sim = sim_of(dev);

    if (ch >= sim->n_fan || info == NULL) {
        return -EINVAL;
    }
    *info = sim->sensor[sim->n_temp + ch].info;
    return 0;
}

static int fan_read(const struct ward_device *dev, unsigned ch, struct ward_fan_reading *out)
{
    const struct ward_sim *sim = sim_of(dev);
    const struct ward_sim_sensor *f;
    struct ward_sim_sample s;

    if (ch >= sim->n_fan || out == NULL) {
        return -EINVAL;
    }
    f = &sim->sensor[sim->n_temp + ch];
    ward_sim_eval(sim, f->value, sim->now_ms, &s);
    to_reading(&s, &out->rpm);
    out->alarm = s.alarm || (s.status == WARD_STATUS_OK && crosses(&f->info.thresholds, s.value));
    ward_sim_eval(sim, f->pwm, sim->now_ms, &s);
    to_reading(&s, &out->pwm_percent);
    return 0;
}

const struct ward_fan_ops ward_sim_fan_ops = {
    .count = fan_count,
    .info = fan_info,
    .read = fan_read,
};
