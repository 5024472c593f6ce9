#include <string.h>

#include "fake_hal.h"

static struct fake_hal *of(const struct ward_device *dev)
{
    return (struct fake_hal *)dev->data;
}

static int class_count(const struct ward_device *dev)
{
    struct fake_class *c = (struct fake_class *)dev->config;

    c->reads++;
    return (int)c->n;
}

static int class_info(const struct ward_device *dev, unsigned ch, struct ward_sensor_info *info)
{
    const struct fake_class *c = (const struct fake_class *)dev->config;

    if (ch >= c->n) {
        return -EINVAL;
    }
    *info = c->ch[ch].info;
    return 0;
}

static int temp_read(const struct ward_device *dev, unsigned ch, struct ward_temp_reading *out)
{
    const struct fake_class *c = (const struct fake_class *)dev->config;

    if (ch >= c->n) {
        return -EINVAL;
    }
    out->mdeg_c = c->ch[ch].reading;
    out->alarm = false;
    return 0;
}

static int fan_read(const struct ward_device *dev, unsigned ch, struct ward_fan_reading *out)
{
    const struct fake_class *c = (const struct fake_class *)dev->config;

    if (ch >= c->n) {
        return -EINVAL;
    }
    out->rpm = c->ch[ch].reading;
    ward_reading_unavailable(&out->pwm_percent, WARD_REASON_NOT_SUPPORTED);
    out->alarm = false;
    return 0;
}

static const struct ward_temp_ops s_temp_ops = { .count = class_count,
                                                 .info = class_info,
                                                 .read = temp_read };
static const struct ward_fan_ops s_fan_ops = { .count = class_count,
                                               .info = class_info,
                                               .read = fan_read };

static int nic_count(const struct ward_device *dev)
{
    of(dev)->nic_reads++;
    return (int)of(dev)->n_nic;
}

static int nic_info(const struct ward_device *dev, unsigned i, struct ward_nic_info *info)
{
    if (i >= of(dev)->n_nic) {
        return -EINVAL;
    }
    *info = of(dev)->nic[i].info;
    return 0;
}

static int nic_read(const struct ward_device *dev, unsigned i, struct ward_nic_reading *out)
{
    if (i >= of(dev)->n_nic) {
        return -EINVAL;
    }
    *out = of(dev)->nic[i].reading;
    return 0;
}

static const struct ward_nic_ops s_nic_ops = { .count = nic_count,
                                               .info = nic_info,
                                               .read = nic_read };

static int disk_count(const struct ward_device *dev)
{
    of(dev)->disk_reads++;
    return (int)of(dev)->n_disk;
}

static int disk_info(const struct ward_device *dev, unsigned i, struct ward_disk_info *info)
{
    if (i >= of(dev)->n_disk) {
        return -EINVAL;
    }
    *info = of(dev)->disk[i].info;
    return 0;
}

static int disk_smart(const struct ward_device *dev, unsigned i, struct ward_smart *out)
{
    if (i >= of(dev)->n_disk) {
        return -EINVAL;
    }
    *out = of(dev)->disk[i].smart;
    return 0;
}

static const struct ward_disk_ops s_disk_ops = { .count = disk_count,
                                                 .info = disk_info,
                                                 .smart = disk_smart };

static int host_cpu(const struct ward_device *dev, struct ward_host_cpu *out)
{
    of(dev)->host_reads++;
    *out = of(dev)->cpu;
    return 0;
}

static int host_mem(const struct ward_device *dev, struct ward_host_mem *out)
{
    *out = of(dev)->mem;
    return 0;
}

static int fs_count(const struct ward_device *dev)
{
    return (int)of(dev)->n_fs;
}

static int fs_info(const struct ward_device *dev, unsigned i, struct ward_host_fs_info *info)
{
    if (i >= of(dev)->n_fs) {
        return -EINVAL;
    }
    *info = of(dev)->fs[i].info;
    return 0;
}

static int fs_read(const struct ward_device *dev, unsigned i, struct ward_host_fs *out)
{
    if (i >= of(dev)->n_fs) {
        return -EINVAL;
    }
    *out = of(dev)->fs[i].fs;
    return 0;
}

static const struct ward_host_ops s_host_ops = {
    .cpu = host_cpu, .mem = host_mem, .fs_count = fs_count, .fs_info = fs_info, .fs_read = fs_read
};

void fake_hal_init(struct fake_hal *f)
{
    memset(f, 0, sizeof(*f));
    f->temp_dev = (struct ward_device){
        .name = "fake-temp", .api = &s_temp_ops, .config = &f->temp, .data = f
    };
    f->fan_dev =
        (struct ward_device){ .name = "fake-fan", .api = &s_fan_ops, .config = &f->fan, .data = f };
    f->nic_dev = (struct ward_device){ .name = "fake-nic", .api = &s_nic_ops, .data = f };
    f->disk_dev = (struct ward_device){ .name = "fake-disk", .api = &s_disk_ops, .data = f };
    f->host_dev = (struct ward_device){ .name = "fake-host", .api = &s_host_ops, .data = f };
    f->hal.temp[0] = &f->temp_dev;
    f->hal.fan[0] = &f->fan_dev;
    f->hal.nic[0] = &f->nic_dev;
    f->hal.disk[0] = &f->disk_dev;
    f->hal.host = &f->host_dev;
    f->hal.n_temp = f->hal.n_fan = f->hal.n_nic = f->hal.n_disk = 1;
    f->cpu.status = WARD_STATUS_UNAVAILABLE;
    f->cpu.reason = WARD_REASON_NOT_SUPPORTED;
    f->mem.status = WARD_STATUS_UNAVAILABLE;
    f->mem.reason = WARD_REASON_NOT_SUPPORTED;
}

void fake_hal_set(struct fake_class *c, unsigned ch, const char *id, int64_t value)
{
    if (ch >= FAKE_HAL_CHANNELS) {
        return;
    }
    strncpy(c->ch[ch].info.id, id, sizeof(c->ch[ch].info.id) - 1);
    ward_reading_ok(&c->ch[ch].reading, value);
    if (ch >= c->n) {
        c->n = ch + 1;
    }
}

void fake_hal_set_status(struct fake_class *c, unsigned ch, enum ward_status st,
                         enum ward_reason why)
{
    c->ch[ch].reading.status = st;
    c->ch[ch].reading.reason = why;
    c->ch[ch].reading.value = 0;
}

void fake_hal_set_threshold(struct fake_class *c, unsigned ch, enum ward_threshold_kind k,
                            int64_t value)
{
    c->ch[ch].info.thresholds.present |= (uint8_t)(1u << k);
    c->ch[ch].info.thresholds.value[k] = value;
}

void fake_hal_nic_counter(struct fake_hal *f, unsigned i, const char *id, enum ward_nic_counter c,
                          uint64_t value)
{
    struct fake_nic *n = &f->nic[i];

    if (i >= f->n_nic) {
        /* A new NIC offers only the counters a test sets. */
        for (unsigned k = 0; k < WARD_NIC_COUNTER_COUNT; k++) {
            ward_reading_unavailable(&n->reading.counter[k], WARD_REASON_NOT_SUPPORTED);
        }
        ward_reading_unavailable(&n->reading.carrier, WARD_REASON_NOT_SUPPORTED);
        ward_reading_unavailable(&n->reading.speed_mbps, WARD_REASON_NOT_SUPPORTED);
        f->n_nic = i + 1;
    }
    strncpy(n->info.sensor.id, id, sizeof(n->info.sensor.id) - 1);
    ward_reading_ok(&n->reading.counter[c], (int64_t)value);
}

void fake_hal_disk(struct fake_hal *f, unsigned i, const char *id, enum ward_disk_kind kind,
                   enum ward_smart_verdict verdict, enum ward_status st, enum ward_reason why)
{
    struct fake_disk *d = &f->disk[i];

    strncpy(d->info.sensor.id, id, sizeof(d->info.sensor.id) - 1);
    d->info.kind = kind;
    d->smart.kind = kind;
    d->smart.verdict = verdict;
    d->smart.status = st;
    d->smart.reason = why;
    if (i >= f->n_disk) {
        f->n_disk = i + 1;
    }
}

void fake_hal_cpu(struct fake_hal *f, uint64_t busy_ticks, uint64_t idle_ticks)
{
    memset(f->cpu.ticks, 0, sizeof(f->cpu.ticks));
    f->cpu.status = WARD_STATUS_OK;
    f->cpu.reason = WARD_REASON_NONE;
    f->cpu.ncpu = 1;
    f->cpu.ticks_per_second = 100;
    f->cpu.ticks[WARD_CPU_USER] = busy_ticks;
    f->cpu.ticks[WARD_CPU_IDLE] = idle_ticks;
}

void fake_hal_fs(struct fake_hal *f, unsigned i, const char *id, uint64_t total, uint64_t used)
{
    struct fake_fs *fs = &f->fs[i];

    strncpy(fs->info.sensor.id, id, sizeof(fs->info.sensor.id) - 1);
    fs->fs.status = WARD_STATUS_OK;
    fs->fs.total_bytes = total;
    fs->fs.free_bytes = total - used;
    fs->fs.avail_bytes = total - used;
    if (i >= f->n_fs) {
        f->n_fs = i + 1;
    }
}
