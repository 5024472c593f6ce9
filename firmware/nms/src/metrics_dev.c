/*
 * Device families (metrics_internal.h): disks and SMART, NICs, host load. Each family is a
 * loop over one cache table; fields picked by offset tables so that a family is one line.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ward/base/fmt.h"

#include "metrics_internal.h"

/* ---- disks ---- */

static bool smart_read(const struct ward_nms_disk *d)
{
    return d->t_ms != 0 && d->smart.status == WARD_STATUS_OK;
}

static void disk_info(struct ward_prom *w, const struct ward_nms_cache *c)
{
    ward_prom_family(w, "ward_disk_info", WARD_PROM_GAUGE,
                     "A disk ward watches: model, serial, firmware, kernel name (always 1).");
    for (unsigned i = 0; i < c->n_disks; i++) {
        const struct ward_disk_info *d = &c->disk[i].info;
        struct ward_prom_label l[6] = {
            L("disk", d->sensor.id),    L("type", d->kind == WARD_DISK_NVME ? "nvme" : "ata"),
            L("model", d->model),       L("serial", d->serial),
            L("firmware", d->firmware), L("device", d->dev_name)
        };

        ward_prom_sample(w, l, 6, ward_prom_int(1));
    }
    ward_prom_family(w, "ward_disk_capacity_bytes", WARD_PROM_GAUGE, "Disk capacity.");
    for (unsigned i = 0; i < c->n_disks; i++) {
        struct ward_prom_label l[1] = { L("disk", c->disk[i].info.sensor.id) };

        if (c->disk[i].info.capacity_bytes != 0) {
            ward_prom_sample(w, l, 1, ward_prom_uint(c->disk[i].info.capacity_bytes));
        }
    }
    ward_prom_family(w, "ward_disk_smart_healthy", WARD_PROM_GAUGE,
                     "1 when SMART says the disk is healthy now (an ATA attribute that failed "
                     "in the past only still counts as healthy), 0 when it is failing.");
    for (unsigned i = 0; i < c->n_disks; i++) {
        struct ward_prom_label l[1] = { L("disk", c->disk[i].info.sensor.id) };
        enum ward_smart_verdict v = c->disk[i].smart.verdict;

        if (smart_read(&c->disk[i]) && v != WARD_SMART_UNKNOWN) {
            ward_prom_sample(w, l, 1, ward_prom_int(v == WARD_SMART_FAILING ? 0 : 1));
        }
    }
}

enum ata_field { ATA_VALUE, ATA_WORST, ATA_THRESHOLD, ATA_RAW };

static void ata_attrs(struct ward_prom *w, const struct ward_nms_cache *c, enum ata_field f)
{
    static const char *const names[] = { "ward_disk_smart_attribute_value",
                                         "ward_disk_smart_attribute_worst",
                                         "ward_disk_smart_attribute_threshold",
                                         "ward_disk_smart_attribute_raw" };
    static const char *const helps[] = {
        "ATA SMART attribute, normalized current value.",
        "ATA SMART attribute, worst normalized value seen.",
        "ATA SMART attribute, failure threshold of the normalized value (0: none).",
        "ATA SMART attribute, the 48-bit raw field as an integer."
    };

    ward_prom_family(w, names[f], WARD_PROM_GAUGE, helps[f]);
    for (unsigned i = 0; i < c->n_disks; i++) {
        const struct ward_smart *s = &c->disk[i].smart;

        if (!smart_read(&c->disk[i]) || s->kind != WARD_DISK_ATA) {
            continue;
        }
        for (unsigned k = 0; k < s->u.ata.n_attrs && k < WARD_ATA_MAX_ATTRS; k++) {
            const struct ward_ata_attr *at = &s->u.ata.attr[k];
            char id[4];
            struct ward_prom_label l[2] = { L("disk", c->disk[i].info.sensor.id),
                                            L("attribute_id", id) };
            uint64_t v = f == ATA_VALUE       ? at->value
                         : f == ATA_WORST     ? at->worst
                         : f == ATA_THRESHOLD ? at->threshold
                                              : (at->raw & 0xffffffffffffull);

            (void)ward_fmt_u64(id, sizeof(id), at->id);
            ward_prom_sample(w, l, 2, ward_prom_uint(v));
        }
    }
}

static void nvme_warning(struct ward_prom *w, const struct ward_nms_cache *c)
{
    static const char *const bits[] = { "spare",     "temperature",     "reliability",
                                        "read_only", "volatile_backup", "pmr_unreliable" };

    ward_prom_family(w, "ward_disk_nvme_critical_warning", WARD_PROM_GAUGE,
                     "NVMe Critical Warning (log page 0x02 byte 0), one series per bit: 1 set.");
    for (unsigned i = 0; i < c->n_disks; i++) {
        const struct ward_smart *s = &c->disk[i].smart;

        if (!smart_read(&c->disk[i]) || s->kind != WARD_DISK_NVME) {
            continue;
        }
        for (unsigned b = 0; b < sizeof(bits) / sizeof(bits[0]); b++) {
            struct ward_prom_label l[2] = { L("disk", c->disk[i].info.sensor.id),
                                            L("bit", bits[b]) };

            ward_prom_sample(w, l, 2, ward_prom_int((s->u.nvme.critical_warning >> b) & 1u));
        }
    }
}

/* NVMe health values: one family each, value = field (low 64 bits) * mul / den. */
struct nvme_family {
    const char *name;
    enum ward_prom_type type;
    const char *help;
    size_t off;
    uint8_t size; /* 1, 4 or 8 (the low half of a 128-bit counter) */
    uint32_t mul;
    uint32_t den;
};

#define NV(f)                                                                                      \
    offsetof(struct ward_nvme_health, f), (uint8_t)sizeof(((struct ward_nvme_health *)0)->f)
#define NV128(f) offsetof(struct ward_nvme_health, f), 8u

static const struct nvme_family s_nvme[] = {
    { "ward_disk_nvme_percentage_used_ratio", WARD_PROM_GAUGE,
      "NVMe Percentage Used as a ratio (may exceed 1).", NV(percent_used), 1, 100 },
    { "ward_disk_nvme_available_spare_ratio", WARD_PROM_GAUGE, "NVMe Available Spare as a ratio.",
      NV(avail_spare_pct), 1, 100 },
    { "ward_disk_nvme_available_spare_threshold_ratio", WARD_PROM_GAUGE,
      "NVMe Available Spare Threshold as a ratio.", NV(spare_threshold_pct), 1, 100 },
    { "ward_disk_nvme_media_errors", WARD_PROM_COUNTER, "NVMe Media and Data Integrity Errors.",
      NV128(media_errors), 1, 1 },
    { "ward_disk_nvme_error_log_entries", WARD_PROM_COUNTER,
      "NVMe Number of Error Information Log Entries.", NV128(error_log_entries), 1, 1 },
    { "ward_disk_nvme_unsafe_shutdowns", WARD_PROM_COUNTER, "NVMe Unsafe Shutdowns.",
      NV128(unsafe_shutdowns), 1, 1 },
    { "ward_disk_nvme_power_cycles", WARD_PROM_COUNTER, "NVMe Power Cycles.", NV128(power_cycles),
      1, 1 },
    { "ward_disk_nvme_power_on_seconds", WARD_PROM_COUNTER, "NVMe Power On Hours, in seconds.",
      NV128(power_on_hours), 3600, 1 },
    { "ward_disk_nvme_read_bytes", WARD_PROM_COUNTER, "NVMe Data Units Read, in bytes.",
      NV128(data_units_read), 512000, 1 },
    { "ward_disk_nvme_written_bytes", WARD_PROM_COUNTER, "NVMe Data Units Written, in bytes.",
      NV128(data_units_written), 512000, 1 },
};

static uint64_t field(const void *base, size_t off, unsigned size)
{
    const uint8_t *p = (const uint8_t *)base + off;
    uint32_t v32;
    uint64_t v64;

    if (size == 1) {
        return *p;
    }
    if (size == 4) {
        memcpy(&v32, p, 4);
        return v32;
    }
    memcpy(&v64, p, 8);
    return v64;
}

static void nvme_values(struct ward_prom *w, const struct ward_nms_cache *c)
{
    for (unsigned f = 0; f < sizeof(s_nvme) / sizeof(s_nvme[0]); f++) {
        ward_prom_family(w, s_nvme[f].name, s_nvme[f].type, s_nvme[f].help);
        for (unsigned i = 0; i < c->n_disks; i++) {
            const struct ward_smart *s = &c->disk[i].smart;
            struct ward_prom_label l[1] = { L("disk", c->disk[i].info.sensor.id) };

            if (smart_read(&c->disk[i]) && s->kind == WARD_DISK_NVME) {
                uint64_t v = field(&s->u.nvme, s_nvme[f].off, s_nvme[f].size) * s_nvme[f].mul;

                ward_prom_sample(w, l, 1,
                                 s_nvme[f].den == 1 ? ward_prom_uint(v)
                                                    : ward_prom_frac((int64_t)v, s_nvme[f].den));
            }
        }
    }
}

void ward_nms_disks(struct ward_prom *w, const struct ward_nms_cache *c)
{
    disk_info(w, c);
    for (unsigned f = ATA_VALUE; f <= ATA_RAW; f++) {
        ata_attrs(w, c, (enum ata_field)f);
    }
    nvme_warning(w, c);
    nvme_values(w, c);
}

/* ---- NICs ---- */

static const char *const s_nic_names[WARD_NIC_COUNTER_COUNT] = {
    [WARD_NIC_RX_BYTES] = "ward_nic_receive_bytes",
    [WARD_NIC_TX_BYTES] = "ward_nic_transmit_bytes",
    [WARD_NIC_RX_PACKETS] = "ward_nic_receive_packets",
    [WARD_NIC_TX_PACKETS] = "ward_nic_transmit_packets",
    [WARD_NIC_RX_ERRORS] = "ward_nic_receive_errors",
    [WARD_NIC_TX_ERRORS] = "ward_nic_transmit_errors",
    [WARD_NIC_RX_DROPPED] = "ward_nic_receive_drops",
    [WARD_NIC_TX_DROPPED] = "ward_nic_transmit_drops",
    [WARD_NIC_RX_CRC_ERRORS] = "ward_nic_receive_crc_errors",
    [WARD_NIC_RX_FRAME_ERRORS] = "ward_nic_receive_frame_errors",
    [WARD_NIC_COLLISIONS] = "ward_nic_collisions",
    [WARD_NIC_CARRIER_CHANGES] = "ward_nic_carrier_changes",
};

static void nic_counters(struct ward_prom *w, const struct ward_nms_cache *c)
{
    for (unsigned k = 0; k < WARD_NIC_COUNTER_COUNT; k++) {
        ward_prom_family(w, s_nic_names[k], WARD_PROM_COUNTER,
                         "NIC counter as the kernel keeps it (sysfs statistics).");
        for (unsigned i = 0; i < c->n_nics; i++) {
            const struct ward_reading *r = &c->nic[i].r.counter[k];
            struct ward_prom_label l[1] = { L("nic", c->nic[i].info.sensor.id) };

            if (r->status == WARD_STATUS_OK) {
                ward_prom_sample(w, l, 1, ward_prom_uint((uint64_t)r->value));
            }
        }
    }
}

static void nic_link(struct ward_prom *w, const struct ward_nms_cache *c)
{
    ward_prom_family(w, "ward_nic_info", WARD_PROM_GAUGE,
                     "A NIC ward watches: kernel name and duplex (always 1).");
    for (unsigned i = 0; i < c->n_nics; i++) {
        struct ward_prom_label l[3] = { L("nic", c->nic[i].info.sensor.id),
                                        L("device", c->nic[i].info.name),
                                        L("duplex", ward_nic_duplex_name(c->nic[i].r.duplex)) };

        ward_prom_sample(w, l, 3, ward_prom_int(1));
    }
    ward_prom_family(w, "ward_nic_oper_state", WARD_PROM_GAUGE,
                     "Operational state (RFC 2863) as a state set: 1 for the current state.");
    for (unsigned i = 0; i < c->n_nics; i++) {
        for (unsigned s = WARD_NIC_OPER_UNKNOWN; s <= WARD_NIC_OPER_TESTING; s++) {
            struct ward_prom_label l[2] = { L("nic", c->nic[i].info.sensor.id),
                                            L("state", ward_nic_oper_name((enum ward_nic_oper)s)) };

            ward_prom_sample(w, l, 2, ward_prom_int(c->nic[i].r.oper == s ? 1 : 0));
        }
    }
    ward_prom_family(w, "ward_nic_carrier", WARD_PROM_GAUGE, "1 when the link has carrier.");
    for (unsigned i = 0; i < c->n_nics; i++) {
        struct ward_prom_label l[1] = { L("nic", c->nic[i].info.sensor.id) };

        if (c->nic[i].r.carrier.status == WARD_STATUS_OK) {
            ward_prom_sample(w, l, 1, ward_prom_int(c->nic[i].r.carrier.value != 0));
        }
    }
    ward_prom_family(w, "ward_nic_speed_bytes", WARD_PROM_GAUGE,
                     "Link speed in bytes per second (absent when the link is down).");
    for (unsigned i = 0; i < c->n_nics; i++) {
        struct ward_prom_label l[1] = { L("nic", c->nic[i].info.sensor.id) };
        const struct ward_reading *r = &c->nic[i].r.speed_mbps;

        if (r->status == WARD_STATUS_OK && r->value >= 0) {
            ward_prom_sample(w, l, 1, ward_prom_uint((uint64_t)r->value * 125000u));
        }
    }
}

void ward_nms_nics(struct ward_prom *w, const struct ward_nms_cache *c)
{
    nic_counters(w, c);
    nic_link(w, c);
}

/* ---- host ---- */

static void host_cpu(struct ward_prom *w, const struct ward_nms_cache *c)
{
    bool ok = c->has_cpu && c->cpu.status == WARD_STATUS_OK && c->cpu.ticks_per_second != 0;

    ward_prom_family(w, "ward_host_cpu_seconds", WARD_PROM_COUNTER,
                     "CPU time of all CPUs together by mode, in seconds.");
    for (unsigned m = 0; ok && m < WARD_CPU_STATE_COUNT; m++) {
        struct ward_prom_label l[1] = { L("mode", ward_cpu_state_name((enum ward_cpu_state)m)) };

        ward_prom_sample(w, l, 1,
                         ward_prom_frac((int64_t)c->cpu.ticks[m], c->cpu.ticks_per_second));
    }
    ward_prom_family(w, "ward_host_cpus", WARD_PROM_GAUGE, "Online CPUs.");
    if (ok) {
        ward_prom_sample(w, NULL, 0, ward_prom_uint(c->cpu.ncpu));
    }
}

#define MEM(f) offsetof(struct ward_host_mem, f)

static void host_mem(struct ward_prom *w, const struct ward_nms_cache *c)
{
    static const struct {
        const char *name;
        const char *help;
        size_t off;
    } f[] = {
        { "ward_host_memory_total_bytes", "Memory installed (MemTotal).", MEM(total) },
        { "ward_host_memory_available_bytes", "Memory available without swapping (MemAvailable).",
          MEM(available) },
        { "ward_host_memory_free_bytes", "Memory unused (MemFree).", MEM(free) },
        { "ward_host_memory_buffers_bytes", "Memory in buffers.", MEM(buffers) },
        { "ward_host_memory_cached_bytes", "Memory in the page cache.", MEM(cached) },
        { "ward_host_swap_total_bytes", "Swap space.", MEM(swap_total) },
        { "ward_host_swap_free_bytes", "Swap space unused.", MEM(swap_free) },
    };
    bool ok = c->has_mem && c->mem.status == WARD_STATUS_OK;

    for (unsigned i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        ward_prom_family(w, f[i].name, WARD_PROM_GAUGE, f[i].help);
        if (ok) {
            ward_prom_sample(w, NULL, 0, ward_prom_uint(field(&c->mem, f[i].off, 8)));
        }
    }
}

#define FS(f) offsetof(struct ward_host_fs, f)

static void host_fs(struct ward_prom *w, const struct ward_nms_cache *c)
{
    static const struct {
        const char *name;
        const char *help;
        size_t off;
    } f[] = {
        { "ward_host_filesystem_size_bytes", "Filesystem size.", FS(total_bytes) },
        { "ward_host_filesystem_free_bytes", "Filesystem free space, root's reserve included.",
          FS(free_bytes) },
        { "ward_host_filesystem_avail_bytes", "Filesystem space available to unprivileged users.",
          FS(avail_bytes) },
        { "ward_host_filesystem_files", "Filesystem inodes.", FS(files_total) },
        { "ward_host_filesystem_files_free", "Filesystem inodes free.", FS(files_free) },
    };

    for (unsigned k = 0; k < sizeof(f) / sizeof(f[0]); k++) {
        ward_prom_family(w, f[k].name, WARD_PROM_GAUGE, f[k].help);
        for (unsigned i = 0; i < c->n_fs; i++) {
            const struct ward_host_fs_info *in = &c->fs[i].info;
            struct ward_prom_label l[4] = { L("filesystem", in->sensor.id),
                                            L("mountpoint", in->mount_point),
                                            L("fstype", in->fs_type), L("device", in->source) };

            if (c->fs[i].fs.status == WARD_STATUS_OK) {
                ward_prom_sample(w, l, 4, ward_prom_uint(field(&c->fs[i].fs, f[k].off, 8)));
            }
        }
    }
}

void ward_nms_host(struct ward_prom *w, const struct ward_nms_cache *c)
{
    host_cpu(w, c);
    host_mem(w, c);
    host_fs(w, c);
}
