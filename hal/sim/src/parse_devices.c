/* Scenario sections for disks (ATA attributes, NVMe health) and host load. */
#include <errno.h>
#include <string.h>

#include "ward/base/fmt.h"
#include "ward/hal/smart.h"

#include "parse_util.h"

#define MDEG_MIN (-273150)
#define MDEG_MAX (1000 * 1000)
#define U48_MAX  (((int64_t)1 << 48) - 1)

static int parse_attr(struct sim_parse *p, const cJSON *obj, struct ward_sim_ata_attr *a)
{
    static const char *const keys[] = { "id",    "name",      "prefail", "value",
                                        "worst", "threshold", "raw",     NULL };
    char field[3][16];
    int64_t v = 0;
    bool prefail = false;
    int rc = sim_check_keys(p, obj, keys);

    if (rc == 0) {
        rc = sim_get_int(p, obj, "id", 1, 255, true, 0, &v);
        a->id = (uint8_t)v;
    }
    if (rc == 0) {
        rc = sim_get_int(p, obj, "threshold", 0, 255, false, 0, &v);
        a->threshold = (uint8_t)v;
    }
    if (rc == 0) {
        rc = sim_get_bool(p, obj, "prefail", false, &prefail);
        a->flags = prefail ? 1u : 0u;
    }
    if (rc == 0 && cJSON_GetObjectItemCaseSensitive(obj, "name") != NULL &&
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "name"))) {
        size_t mark = sim_path_key(p, "name");

        rc = sim_fail(p, -EINVAL, "expected a string");
        sim_path_pop(p, mark);
    }
    /* Noise streams are keyed by attribute id, not position: reordering changes nothing. */
    for (int i = 0; i < 3; i++) {
        char num[WARD_FMT_INT64_MAX];

        (void)ward_fmt_u64(num, sizeof(num), a->id);
        memcpy(field[i], "attr", 5);
        strcat(field[i], num);
    }
    strcat(field[0], ".value");
    strcat(field[1], ".worst");
    strcat(field[2], ".raw");
    if (rc == 0) {
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "value");
        struct sim_sig_spec s = { .field = field[0], .lo = 0, .hi = 255, .events = SIM_EV_SHAPE };
        size_t mark = sim_path_key(p, "value");

        rc = it != NULL ? sim_signal(p, it, &s, &a->value) : sim_fail(p, -EINVAL, "missing");
        sim_path_pop(p, mark);
    }
    if (rc == 0) {
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "worst");
        struct sim_sig_spec s = { .field = field[1], .lo = 0, .hi = 255, .events = SIM_EV_SHAPE };
        size_t mark = sim_path_key(p, "worst");

        a->worst = WARD_SIM_SIG_NONE;
        rc = it != NULL ? sim_signal(p, it, &s, &a->worst) : 0;
        sim_path_pop(p, mark);
    }
    if (rc == 0) {
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "raw");
        struct sim_sig_spec s = {
            .field = field[2], .lo = 0, .hi = U48_MAX, .events = SIM_EV_SHAPE
        };
        size_t mark = sim_path_key(p, "raw");

        a->raw = WARD_SIM_SIG_ZERO;
        rc = it != NULL ? sim_signal(p, it, &s, &a->raw) : 0;
        sim_path_pop(p, mark);
    }
    return rc;
}

static int parse_attrs(struct sim_parse *p, const cJSON *obj, struct ward_sim_disk *d)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "attributes");
    const cJSON *it;
    size_t mark = sim_path_key(p, "attributes");
    unsigned i = 0;
    int rc = 0;

    if (arr == NULL) {
        rc = sim_fail(p, -EINVAL, "missing (an ATA disk lists its SMART attributes)");
    } else if (!cJSON_IsArray(arr)) {
        rc = sim_fail(p, -EINVAL, "expected an array");
    } else if (cJSON_GetArraySize(arr) > WARD_ATA_MAX_ATTRS) {
        rc = sim_fail(p, -EINVAL, "more than 30 attributes (the SMART data page has 30 slots)");
    }
    for (it = arr != NULL ? arr->child : NULL; rc == 0 && it != NULL; it = it->next) {
        struct ward_sim_ata_attr *a = &d->u.ata.attr[i];
        size_t m2 = sim_path_index(p, i++);

        rc = parse_attr(p, it, a);
        for (unsigned j = 0; rc == 0 && j + 1 < i; j++) {
            if (d->u.ata.attr[j].id == a->id) {
                rc = sim_fail(p, -EINVAL, "attribute id listed twice");
            }
        }
        if (rc == 0) {
            d->u.ata.n_attrs = (uint8_t)i;
            sim_path_pop(p, m2);
        }
    }
    if (rc == 0) {
        sim_path_pop(p, mark);
    }
    return rc;
}

static int parse_ata(struct sim_parse *p, const cJSON *obj, struct ward_sim_disk *d)
{
    static const struct sim_sig_spec errors = {
        .field = "error_count", .lo = 0, .hi = 65535, .counter = true, .events = SIM_EV_SHAPE
    };
    static const struct sim_sig_spec st_count = {
        .field = "selftest_count", .lo = 0, .hi = 65535, .events = SIM_EV_SHAPE
    };
    static const struct sim_sig_spec st_status = {
        .field = "selftest_last_status", .lo = 0, .hi = 15, .events = SIM_EV_SHAPE
    };
    int rc = parse_attrs(p, obj, d);

    if (rc == 0) {
        rc = sim_get_signal(p, obj, &errors, &d->u.ata.error_count);
    }
    if (rc == 0) {
        rc = sim_get_signal(p, obj, &st_count, &d->u.ata.selftest_count);
    }
    return rc != 0 ? rc : sim_get_signal(p, obj, &st_status, &d->u.ata.selftest_last_status);
}

/* NVMe health fields, in enum ward_sim_nvme_field order. */
static const struct sim_sig_spec s_nvme[WARD_SIM_NVME_FIELD_COUNT] = {
    { .field = "critical_warning", .lo = 0, .hi = 255, .events = SIM_EV_SHAPE },
    { .field = "composite_temp_mdeg_c",
      .lo = MDEG_MIN,
      .hi = MDEG_MAX,
      .required = true,
      .events = SIM_EV_SHAPE },
    { .field = "avail_spare_pct",
      .lo = 0,
      .hi = 100,
      .has_default = true,
      .def = 100,
      .events = SIM_EV_SHAPE },
    { .field = "percent_used", .lo = 0, .hi = 255, .events = SIM_EV_SHAPE },
    { .field = "data_units_read",
      .lo = 0,
      .hi = INT64_MAX,
      .counter = true,
      .events = SIM_EV_SHAPE },
    { .field = "data_units_written",
      .lo = 0,
      .hi = INT64_MAX,
      .counter = true,
      .events = SIM_EV_SHAPE },
    { .field = "host_reads", .lo = 0, .hi = INT64_MAX, .counter = true, .events = SIM_EV_SHAPE },
    { .field = "host_writes", .lo = 0, .hi = INT64_MAX, .counter = true, .events = SIM_EV_SHAPE },
    { .field = "busy_minutes", .lo = 0, .hi = INT64_MAX, .counter = true, .events = SIM_EV_SHAPE },
    { .field = "power_cycles", .lo = 0, .hi = INT64_MAX, .counter = true, .events = SIM_EV_SHAPE },
    { .field = "power_on_hours",
      .lo = 0,
      .hi = INT64_MAX,
      .counter = true,
      .events = SIM_EV_SHAPE },
    { .field = "unsafe_shutdowns",
      .lo = 0,
      .hi = INT64_MAX,
      .counter = true,
      .events = SIM_EV_SHAPE },
    { .field = "media_errors", .lo = 0, .hi = INT64_MAX, .counter = true, .events = SIM_EV_SHAPE },
    { .field = "error_log_entries",
      .lo = 0,
      .hi = INT64_MAX,
      .counter = true,
      .events = SIM_EV_SHAPE },
    { .field = "warning_temp_minutes",
      .lo = 0,
      .hi = UINT32_MAX,
      .counter = true,
      .events = SIM_EV_SHAPE },
    { .field = "critical_temp_minutes",
      .lo = 0,
      .hi = UINT32_MAX,
      .counter = true,
      .events = SIM_EV_SHAPE },
};

static int parse_nvme_temps(struct sim_parse *p, const cJSON *h, struct ward_sim_disk *d)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(h, "temp_sensors");
    const cJSON *it;
    size_t mark = sim_path_key(p, "temp_sensors");
    unsigned i = 0;
    int rc = 0;

    for (int k = 0; k < WARD_NVME_TEMP_SENSORS; k++) {
        d->u.nvme.temp_sensor[k] = WARD_SIM_SIG_NONE;
    }
    if (arr != NULL && (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > WARD_NVME_TEMP_SENSORS)) {
        rc = sim_fail(p, -EINVAL, "expected an array of at most 8 temperatures");
    }
    for (it = arr != NULL ? arr->child : NULL; rc == 0 && it != NULL; it = it->next) {
        static const char *const names[WARD_NVME_TEMP_SENSORS] = { "ts1", "ts2", "ts3", "ts4",
                                                                   "ts5", "ts6", "ts7", "ts8" };
        struct sim_sig_spec s = { .field = names[i],
                                  .lo = MDEG_MIN,
                                  .hi = MDEG_MAX,
                                  .nullable = true,
                                  .events = SIM_EV_SHAPE };
        size_t m2 = sim_path_index(p, i);

        rc = sim_signal(p, it, &s, &d->u.nvme.temp_sensor[i++]);
        if (rc == 0) {
            sim_path_pop(p, m2);
        }
    }
    if (rc == 0) {
        sim_path_pop(p, mark);
    }
    return rc;
}

static int parse_nvme(struct sim_parse *p, const cJSON *obj, struct ward_sim_disk *d)
{
    static const char *const keys[] = { "critical_warning",
                                        "composite_temp_mdeg_c",
                                        "avail_spare_pct",
                                        "percent_used",
                                        "data_units_read",
                                        "data_units_written",
                                        "host_reads",
                                        "host_writes",
                                        "busy_minutes",
                                        "power_cycles",
                                        "power_on_hours",
                                        "unsafe_shutdowns",
                                        "media_errors",
                                        "error_log_entries",
                                        "warning_temp_minutes",
                                        "critical_temp_minutes",
                                        "spare_threshold_pct",
                                        "warning_temp_mdeg_c",
                                        "critical_temp_mdeg_c",
                                        "temp_sensors",
                                        NULL };
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(obj, "health");
    size_t mark = sim_path_key(p, "health");
    int64_t v = 0;
    int rc = h != NULL ? sim_check_keys(p, h, keys) : sim_fail(p, -EINVAL, "missing");

    for (int f = 0; rc == 0 && f < WARD_SIM_NVME_FIELD_COUNT; f++) {
        rc = sim_get_signal(p, h, &s_nvme[f], &d->u.nvme.field[f]);
    }
    if (rc == 0) {
        rc = sim_get_int(p, h, "spare_threshold_pct", 0, 100, false, 10, &v);
        d->u.nvme.spare_threshold_pct = (uint8_t)v;
    }
    if (rc == 0) {
        rc = sim_get_int(p, h, "warning_temp_mdeg_c", 0, MDEG_MAX, false, 0,
                         &d->u.nvme.warning_temp_mdeg_c);
    }
    if (rc == 0) {
        rc = sim_get_int(p, h, "critical_temp_mdeg_c", 0, MDEG_MAX, false, 0,
                         &d->u.nvme.critical_temp_mdeg_c);
    }
    if (rc == 0) {
        rc = parse_nvme_temps(p, h, d);
    }
    if (rc == 0) {
        sim_path_pop(p, mark);
    }
    return rc;
}

static int disk_identity(struct sim_parse *p, const cJSON *obj, struct ward_sim_disk *d)
{
    struct ward_disk_info *in = &d->info;
    int64_t cap = 0;
    int rc = sim_get_str(p, obj, "dev", true, in->dev_name, sizeof(in->dev_name));

    if (rc == 0) {
        rc = sim_get_str(p, obj, "model", true, in->model, sizeof(in->model));
    }
    if (rc == 0) {
        rc = sim_get_str(p, obj, "serial", true, in->serial, sizeof(in->serial));
    }
    if (rc == 0) {
        rc = sim_get_str(p, obj, "firmware", false, in->firmware, sizeof(in->firmware));
    }
    if (rc == 0) {
        rc = sim_get_int(p, obj, "capacity_bytes", 0, WARD_SIM_INT_MAX, true, 0, &cap);
        in->capacity_bytes = (uint64_t)cap;
    }
    if (rc == 0) {
        rc = sim_get_str(p, obj, "id", false, in->sensor.id, sizeof(in->sensor.id));
    }
    if (rc == 0 && in->sensor.id[0] == '\0') {
        /* the id the Linux backend gives the same drive */
        rc = ward_smart_disk_id(in->sensor.id, sizeof(in->sensor.id), in->model, in->serial);
        if (rc != 0) {
            /* neither string has a letter, digit, '.' or '-' to build the Linux backend's id */
            rc = sim_fail(p, -EINVAL,
                          "model and serial give no id (no letter or digit): set \"id\"");
        }
    }
    if (rc == 0) {
        p->owner = in->sensor.id;
        rc = sim_check_id(p, in->sensor.id);
    }
    return rc != 0
               ? rc
               : sim_get_str(p, obj, "label", false, in->sensor.label, sizeof(in->sensor.label));
}

static int disk_item(struct sim_parse *p, const cJSON *obj, void *slot)
{
    static const char *const ata_keys[] = { "kind",
                                            "dev",
                                            "id",
                                            "label",
                                            "model",
                                            "serial",
                                            "firmware",
                                            "capacity_bytes",
                                            "events",
                                            "attributes",
                                            "error_count",
                                            "selftest_count",
                                            "selftest_last_status",
                                            NULL };
    static const char *const nvme_keys[] = { "kind",   "dev",    "id",       "label",
                                             "model",  "serial", "firmware", "capacity_bytes",
                                             "events", "health", NULL };
    struct ward_sim_disk *d = slot;
    const cJSON *events;
    char kind[8];
    int rc = sim_expect_object(p, obj);

    if (rc == 0) {
        rc = sim_get_str(p, obj, "kind", true, kind, sizeof(kind));
    }
    if (rc == 0 && strcmp(kind, "ata") != 0 && strcmp(kind, "nvme") != 0) {
        size_t mark = sim_path_key(p, "kind");

        rc = sim_fail(p, -EINVAL, "expected \"ata\" or \"nvme\"");
        sim_path_pop(p, mark);
    }
    if (rc != 0) {
        return rc;
    }
    d->info.kind = kind[0] == 'a' ? WARD_DISK_ATA : WARD_DISK_NVME;
    rc = sim_check_keys(p, obj, d->info.kind == WARD_DISK_ATA ? ata_keys : nvme_keys);
    if (rc == 0) {
        rc = disk_identity(p, obj, d);
    }
    events = cJSON_GetObjectItemCaseSensitive(obj, "events");
    d->ev_first = p->sim->n_events;
    if (rc == 0 && events != NULL) {
        size_t mark = sim_path_key(p, "events");
        unsigned allowed = SIM_EV_DISK;

        if (d->info.kind == WARD_DISK_NVME) {
            /* NVMe has no SMART RETURN STATUS: its verdict is health.critical_warning */
            allowed &= ~SIM_EV(WARD_SIM_EV_FAILING);
        }
        rc = sim_events(p, events, allowed, false, &d->ev_first, &d->ev_count);
        if (rc == 0) {
            sim_path_pop(p, mark);
        }
    }
    if (rc == 0) {
        rc = d->info.kind == WARD_DISK_ATA ? parse_ata(p, obj, d) : parse_nvme(p, obj, d);
    }
    return rc;
}

int sim_parse_disks(struct sim_parse *p, const cJSON *root)
{
    unsigned n = 0;
    int rc = sim_parse_array(p, root, "disks", p->sim->disk, sizeof(p->sim->disk[0]),
                             WARD_SIM_MAX_DISKS, "CONFIG_WARD_SIM_MAX_DISKS", disk_item, &n);

    p->sim->n_disk = (uint8_t)n;
    return rc;
}

static int parse_cpu(struct sim_parse *p, const cJSON *host, struct ward_sim_host *h)
{
    static const char *const keys[] = { "ncpu", "ticks_per_second", "user",
                                        "nice", "system",           "iowait",
                                        "irq",  "softirq",          "steal",
                                        NULL };
    /* enum ward_cpu_state order; idle is what is left */
    static const char *const states[WARD_CPU_STATE_COUNT] = {
        "user", "nice", "system", NULL, "iowait", "irq", "softirq", "steal"
    };
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(host, "cpu");
    size_t mark = sim_path_key(p, "cpu");
    int64_t v = 0;
    int rc;

    if (c == NULL) {
        sim_path_pop(p, mark);
        return 0;
    }
    h->has_cpu = true;
    rc = sim_check_keys(p, c, keys);
    if (rc == 0) {
        rc = sim_get_int(p, c, "ncpu", 1, 65536, true, 0, &v);
        h->cpu.ncpu = (uint32_t)v;
    }
    if (rc == 0) {
        rc = sim_get_int(p, c, "ticks_per_second", 1, 100000, false, 100, &v);
        h->cpu.ticks_per_second = (uint32_t)v;
    }
    h->cpu.pct[WARD_CPU_IDLE] = WARD_SIM_SIG_NONE;
    for (int s = 0; rc == 0 && s < WARD_CPU_STATE_COUNT; s++) {
        struct sim_sig_spec spec = {
            .field = states[s], .lo = 0, .hi = 100, .events = SIM_EV_VALUE
        };

        if (s != WARD_CPU_IDLE) {
            rc = sim_get_signal(p, c, &spec, &h->cpu.pct[s]);
        }
    }
    if (rc == 0) {
        sim_path_pop(p, mark);
    }
    return rc;
}

static int parse_mem(struct sim_parse *p, const cJSON *host, struct ward_sim_host *h)
{
    static const char *const keys[] = { "total",  "available",  "free",      "buffers",
                                        "cached", "swap_total", "swap_free", NULL };
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(host, "mem");
    size_t mark = sim_path_key(p, "mem");
    int64_t total = 0, swap = 0;
    int rc;

    if (m == NULL) {
        sim_path_pop(p, mark);
        return 0;
    }
    h->has_mem = true;
    rc = sim_check_keys(p, m, keys);
    if (rc == 0) {
        rc = sim_get_int(p, m, "total", 1, WARD_SIM_INT_MAX, true, 0, &total);
    }
    if (rc == 0) {
        rc = sim_get_int(p, m, "swap_total", 0, WARD_SIM_INT_MAX, false, 0, &swap);
    }
    if (rc == 0) {
        rc = sim_const_signal(p, total, 0, total, &h->mem[WARD_SIM_MEM_TOTAL]);
    }
    if (rc == 0) {
        rc = sim_const_signal(p, swap, 0, swap, &h->mem[WARD_SIM_MEM_SWAP_TOTAL]);
    }
    for (int f = WARD_SIM_MEM_AVAILABLE; rc == 0 && f < WARD_SIM_MEM_FIELD_COUNT; f++) {
        static const char *const names[WARD_SIM_MEM_FIELD_COUNT] = {
            NULL, "available", "free", "buffers", "cached", NULL, "swap_free"
        };
        struct sim_sig_spec spec = { .field = names[f],
                                     .lo = 0,
                                     .hi = total,
                                     .required = f == WARD_SIM_MEM_AVAILABLE,
                                     .events = SIM_EV_VALUE };

        if (f == WARD_SIM_MEM_SWAP_TOTAL) {
            continue;
        }
        if (f == WARD_SIM_MEM_SWAP_FREE) {
            spec.hi = swap;
            spec.has_default = true;
            spec.def = swap;
        }
        if (f == WARD_SIM_MEM_FREE && cJSON_GetObjectItemCaseSensitive(m, "free") == NULL) {
            h->mem[f] = h->mem[WARD_SIM_MEM_AVAILABLE]; /* free defaults to available */
            continue;
        }
        rc = sim_get_signal(p, m, &spec, &h->mem[f]);
    }
    if (rc == 0) {
        sim_path_pop(p, mark);
    }
    return rc;
}

static int blk_item(struct sim_parse *p, const cJSON *obj, void *slot)
{
    static const char *const keys[] = { "id",        "name",       "label",         "reads",
                                        "writes",    "read_bytes", "written_bytes", "io_ms",
                                        "in_flight", NULL };
    struct ward_sim_blk *b = slot;
    int rc = sim_check_keys(p, obj, keys);

    if (rc == 0) {
        rc = sim_get_str(p, obj, "name", true, b->info.name, sizeof(b->info.name));
    }
    if (rc == 0) {
        rc = sim_get_str(p, obj, "id", false, b->info.sensor.id, sizeof(b->info.sensor.id));
    }
    if (rc == 0 && b->info.sensor.id[0] == '\0') {
        rc = sim_default_id(p, b->info.sensor.id, "blk:", b->info.name);
    }
    if (rc == 0) {
        p->owner = b->info.sensor.id;
        rc = sim_check_id(p, b->info.sensor.id);
    }
    if (rc == 0) {
        rc =
            sim_get_str(p, obj, "label", false, b->info.sensor.label, sizeof(b->info.sensor.label));
    }
    for (int f = 0; rc == 0 && f < WARD_SIM_BLK_FIELD_COUNT; f++) {
        /* keys[3 + f] is the field's name, in enum ward_sim_blk_field order */
        struct sim_sig_spec spec = { .field = keys[3 + f],
                                     .lo = 0,
                                     .hi = INT64_MAX,
                                     .counter = f != WARD_SIM_BLK_IN_FLIGHT,
                                     .events = SIM_EV_VALUE };

        if (f == WARD_SIM_BLK_IN_FLIGHT) {
            spec.hi = 1000000;
        }
        rc = sim_get_signal(p, obj, &spec, &b->field[f]);
    }
    return rc;
}

static int fs_item(struct sim_parse *p, const cJSON *obj, void *slot)
{
    static const char *const keys[] = { "id",          "mount_point", "label",      "fs_type",
                                        "source",      "total_bytes", "free_bytes", "avail_bytes",
                                        "files_total", "files_free",  NULL };
    struct ward_sim_fs *f = slot;
    struct ward_host_fs_info *in = &f->info;
    int64_t total = 0, files = 0;
    int rc = sim_check_keys(p, obj, keys);

    if (rc == 0) {
        rc = sim_get_str(p, obj, "mount_point", true, in->mount_point, sizeof(in->mount_point));
    }
    if (rc == 0) {
        rc = sim_get_str(p, obj, "id", false, in->sensor.id, sizeof(in->sensor.id));
    }
    if (rc == 0 && in->sensor.id[0] == '\0') {
        rc = sim_default_id(p, in->sensor.id, "fs:", in->mount_point);
    }
    if (rc == 0) {
        p->owner = in->sensor.id;
        rc = sim_check_id(p, in->sensor.id);
    }
    if (rc == 0) {
        rc = sim_get_str(p, obj, "label", false, in->sensor.label, sizeof(in->sensor.label));
    }
    if (rc == 0) {
        rc = sim_get_str(p, obj, "fs_type", false, in->fs_type, sizeof(in->fs_type));
    }
    if (rc == 0) {
        rc = sim_get_str(p, obj, "source", false, in->source, sizeof(in->source));
    }
    if (rc == 0) {
        rc = sim_get_int(p, obj, "total_bytes", 0, WARD_SIM_INT_MAX, true, 0, &total);
    }
    if (rc == 0) {
        rc = sim_get_int(p, obj, "files_total", 0, WARD_SIM_INT_MAX, false, 0, &files);
    }
    if (rc == 0) {
        rc = sim_const_signal(p, total, 0, total, &f->field[WARD_SIM_FS_TOTAL]);
    }
    if (rc == 0) {
        rc = sim_const_signal(p, files, 0, files, &f->field[WARD_SIM_FS_FILES_TOTAL]);
    }
    if (rc == 0) {
        struct sim_sig_spec s = {
            .field = "avail_bytes", .lo = 0, .hi = total, .required = true, .events = SIM_EV_VALUE
        };

        rc = sim_get_signal(p, obj, &s, &f->field[WARD_SIM_FS_AVAIL]);
    }
    if (rc == 0) {
        struct sim_sig_spec s = {
            .field = "free_bytes", .lo = 0, .hi = total, .events = SIM_EV_VALUE
        };

        f->field[WARD_SIM_FS_FREE] = f->field[WARD_SIM_FS_AVAIL]; /* default: no reserve */
        if (cJSON_GetObjectItemCaseSensitive(obj, "free_bytes") != NULL) {
            rc = sim_get_signal(p, obj, &s, &f->field[WARD_SIM_FS_FREE]);
        }
    }
    if (rc == 0) {
        struct sim_sig_spec s = { .field = "files_free",
                                  .lo = 0,
                                  .hi = files,
                                  .has_default = true,
                                  .def = files,
                                  .events = SIM_EV_VALUE };

        rc = sim_get_signal(p, obj, &s, &f->field[WARD_SIM_FS_FILES_FREE]);
    }
    return rc;
}

int sim_parse_host(struct sim_parse *p, const cJSON *root)
{
    static const char *const keys[] = { "cpu", "mem", "blk", "fs", NULL };
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(root, "host");
    struct ward_sim_host *h = &p->sim->host;
    size_t mark = sim_path_key(p, "host");
    unsigned n = 0;
    int rc;

    if (host == NULL) {
        sim_path_pop(p, mark);
        return 0;
    }
    h->present = true;
    rc = sim_check_keys(p, host, keys);
    if (rc == 0) {
        rc = parse_cpu(p, host, h);
    }
    if (rc == 0) {
        rc = parse_mem(p, host, h);
    }
    if (rc == 0) {
        rc = sim_parse_array(p, host, "blk", h->blk, sizeof(h->blk[0]), WARD_SIM_MAX_BLK,
                             "CONFIG_WARD_SIM_MAX_BLK", blk_item, &n);
        h->n_blk = (uint8_t)n;
    }
    if (rc == 0) {
        n = 0;
        rc = sim_parse_array(p, host, "fs", h->fs, sizeof(h->fs[0]), WARD_SIM_MAX_FS,
                             "CONFIG_WARD_SIM_MAX_FS", fs_item, &n);
        h->n_fs = (uint8_t)n;
    }
    if (rc == 0) {
        sim_path_pop(p, mark);
    }
    return rc;
}
