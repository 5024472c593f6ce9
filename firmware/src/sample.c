/*
 * Sampling: walk the board's HAL devices of one class, turn what they report into
 * readings with stable sensor ids, and feed them to the engine. Only HAL interfaces are
 * used (ops tables); no backend is named here.
 *
 * Sensor ids (docs/protocol.md lists them): the HAL's own id for temperatures and fans;
 * "<nic id>:<counter>" ("nic:eth0:rx_crc_errors"), "<nic id>:carrier" and
 * "<nic id>:speed_mbps" only when a rule names them; "host:cpu_busy_pct",
 * "host:mem_used_pct", "<fs id>:used_pct"; "<disk id>:smart" (the verdict),
 * "<disk id>:temp", and, when a rule names them, "<disk id>:critical_warning",
 * "<disk id>:percent_used", "<disk id>:media_errors", "<disk id>:reallocated",
 * "<disk id>:pending", "<disk id>:uncorrectable"; "agent:loop_lag_ms" and
 * "agent:events_dropped". Readings the HAL marks not-supported are skipped for sensors
 * never seen: this platform simply lacks them.
 */
#include <errno.h>
#include <string.h>

#include "ward/agent.h"

int ward_sensor_id_join(char *out, size_t len, const char *base, const char *suffix)
{
    static const char hexdigits[] = "0123456789abcdef";
    size_t nb;
    size_t ns;

    if (out == NULL || base == NULL || suffix == NULL || len < 16) {
        return -EINVAL;
    }
    nb = strlen(base);
    ns = strlen(suffix);
    if (ns + 10 >= len) {
        return -EINVAL;
    }
    if (nb + 1 + ns < len) {
        memcpy(out, base, nb);
    } else {
        uint32_t h = 2166136261u; /* FNV-1a of the whole base: stable across runs */

        for (size_t i = 0; i < nb; i++) {
            h = (h ^ (uint8_t)base[i]) * 16777619u;
        }
        nb = len - 1 - ns - 1 - 7; /* room for "~" + 6 hex digits */
        memcpy(out, base, nb);
        out[nb++] = '~';
        for (int i = 5; i >= 0; i--) {
            out[nb++] = hexdigits[(h >> (4 * i)) & 0xf];
        }
    }
    out[nb++] = ':';
    memcpy(out + nb, suffix, ns + 1);
    return 0;
}

/* Hand what a device reported to the pull endpoints' cache (ward_agent_hooks.observe). */
static void observe(const struct ward_agent *a, const struct ward_observation *obs, int64_t now)
{
    if (IS_ENABLED(CONFIG_WARD_NMS) && a->hooks.observe != NULL && !a->drill_sampling) {
        a->hooks.observe(obs, now, a->hooks.observe_user);
    }
}

/*
 * The id a reading goes under: its own, or while a drill's HAL is walked "drill:<id>"
 * (ward/drill.h), so the drill's sensors sit beside the real ones. NULL when it won't fit.
 */
static const char *sensor_key(const struct ward_agent *a, const char *id,
                              char buf[WARD_HEALTH_ID_MAX])
{
    size_t n = strlen(id);

    if (!a->drill_sampling) {
        return id;
    }
    if (WARD_DRILL_PREFIX_LEN + n >= WARD_HEALTH_ID_MAX) {
        return NULL;
    }
    memcpy(buf, WARD_DRILL_PREFIX, sizeof(WARD_DRILL_PREFIX));
    memcpy(buf + WARD_DRILL_PREFIX_LEN, id, n + 1);
    return buf;
}

static void feed(struct ward_agent *a, const char *id, const struct ward_reading *r, int64_t now)
{
    char buf[WARD_HEALTH_ID_MAX];

    id = sensor_key(a, id, buf);
    if (id == NULL) {
        a->feed_errors++;
        return;
    }
    /* A reading this platform does not offer at all is no sensor, not a lost one. */
    if (r->status == WARD_STATUS_UNAVAILABLE && r->reason == WARD_REASON_NOT_SUPPORTED &&
        ward_health_find(&a->health, id) < 0) {
        return;
    }
    (void)ward_agent_feed(a, id, r, now); /* refusals are counted in feed_errors */
}

static void feed_value(struct ward_agent *a, const char *id, int64_t v, int64_t now)
{
    struct ward_reading r;

    ward_reading_ok(&r, v);
    feed(a, id, &r, now);
}

/* Feed "<base>:<suffix>", only when a rule names it unless always. */
static void feed_sub(struct ward_agent *a, const char *base, const char *suffix,
                     const struct ward_reading *r, bool always, int64_t now)
{
    char id[WARD_HEALTH_ID_MAX];

    if (ward_sensor_id_join(id, sizeof(id), base, suffix) != 0) {
        a->feed_errors++;
        return;
    }
    if (always || ward_health_has_rule(&a->health, id)) {
        feed(a, id, r, now);
    }
}

static void set_hw_thresholds(struct ward_agent *a, const char *real_id,
                              const struct ward_thresholds *thr)
{
    char buf[WARD_HEALTH_ID_MAX];
    const char *id = sensor_key(a, real_id, buf);
    int i = id != NULL ? ward_health_find(&a->health, id) : -1;

    /* Only when they changed: the table slot is created by the first reading. */
    if (id == NULL || (thr->present == 0 && i < 0)) {
        return;
    }
    /* A difference in padding only re-applies the same thresholds */
    // NOLINTNEXTLINE(bugprone-suspicious-memory-comparison,bugprone-suspicious-string-compare,cert-exp42-c,cert-flp37-c)
    if (i < 0 || memcmp(&a->health.sensor[i].hw, thr, sizeof(*thr))) {
        if (ward_health_set_hw_thresholds(&a->health, id, thr) != 0) {
            a->feed_errors++;
        }
    }
}

static void hw_thresholds(struct ward_agent *a, const struct ward_sensor_info *info)
{
    set_hw_thresholds(a, info->id, &info->thresholds);
}

static void sample_temp(struct ward_agent *a, const struct ward_device *dev, int64_t now)
{
    struct ward_sensor_info info;
    struct ward_temp_reading r;
    int n = ward_temp_count(dev);

    for (int ch = 0; ch < n; ch++) {
        if (ward_temp_info(dev, (unsigned)ch, &info) != 0 ||
            ward_temp_read(dev, (unsigned)ch, &r) != 0) {
            a->hal_errors++;
            continue;
        }
        hw_thresholds(a, &info);
        struct ward_observation obs = { .kind = WARD_OBSERVED_TEMP, .sensor = &info, .temp = &r };

        observe(a, &obs, now);
        feed(a, info.id, &r.mdeg_c, now);
    }
    a->hal_errors += n < 0 ? 1u : 0u;
}

static void sample_fan(struct ward_agent *a, const struct ward_device *dev, int64_t now)
{
    struct ward_sensor_info info;
    struct ward_fan_reading r;
    int n = ward_fan_count(dev);

    for (int ch = 0; ch < n; ch++) {
        if (ward_fan_info(dev, (unsigned)ch, &info) != 0 ||
            ward_fan_read(dev, (unsigned)ch, &r) != 0) {
            a->hal_errors++;
            continue;
        }
        hw_thresholds(a, &info);
        struct ward_observation obs = { .kind = WARD_OBSERVED_FAN, .sensor = &info, .fan = &r };

        observe(a, &obs, now);
        feed(a, info.id, &r.rpm, now);
    }
    a->hal_errors += n < 0 ? 1u : 0u;
}

static void sample_nic(struct ward_agent *a, const struct ward_device *dev, int64_t now)
{
    struct ward_nic_info info;
    struct ward_nic_reading r;
    int n = ward_nic_count(dev);

    for (int ch = 0; ch < n; ch++) {
        if (ward_nic_info(dev, (unsigned)ch, &info) != 0 ||
            ward_nic_read(dev, (unsigned)ch, &r) != 0) {
            a->hal_errors++;
            continue;
        }
        struct ward_observation obs = { .kind = WARD_OBSERVED_NIC, .nic_info = &info, .nic = &r };

        observe(a, &obs, now);
        for (unsigned c = 0; c < WARD_NIC_COUNTER_COUNT; c++) {
            feed_sub(a, info.sensor.id, ward_nic_counter_name((enum ward_nic_counter)c),
                     &r.counter[c], false, now);
        }
        feed_sub(a, info.sensor.id, "carrier", &r.carrier, false, now);
        feed_sub(a, info.sensor.id, "speed_mbps", &r.speed_mbps, false, now);
    }
    a->hal_errors += n < 0 ? 1u : 0u;
}

/* Percent rounded to nearest, 0 when the whole is 0. */
static int64_t pct(uint64_t part, uint64_t whole)
{
    if (whole == 0) {
        return 0;
    }
    if (part > whole) {
        part = whole;
    }
    /* Scale down huge values so part * 100 cannot overflow. */
    while (whole > UINT64_MAX / 200u) {
        whole >>= 1;
        part >>= 1;
    }
    return (int64_t)((part * 200u + whole) / (2u * whole));
}

static void sample_cpu(struct ward_agent *a, const struct ward_device *host, int64_t now)
{
    struct ward_host_cpu cpu;
    uint64_t total = 0;
    uint64_t idle;

    if (ward_host_cpu(host, &cpu) != 0) {
        a->hal_errors++;
        return;
    }
    struct ward_observation obs = { .kind = WARD_OBSERVED_CPU, .cpu = &cpu };

    observe(a, &obs, now);
    if (cpu.status != WARD_STATUS_OK) {
        struct ward_reading r = { .value = 0, .status = cpu.status, .reason = cpu.reason };

        a->cpu_prev_valid = false;
        feed(a, "host:cpu_busy_pct", &r, now);
        return;
    }
    for (unsigned i = 0; i < WARD_CPU_STATE_COUNT; i++) {
        total += cpu.ticks[i] - (a->cpu_prev_valid ? a->cpu_prev[i] : 0u);
    }
    idle = cpu.ticks[WARD_CPU_IDLE] + cpu.ticks[WARD_CPU_IOWAIT];
    if (a->cpu_prev_valid) {
        idle -= a->cpu_prev[WARD_CPU_IDLE] + a->cpu_prev[WARD_CPU_IOWAIT];
    }
    /* The first sample has no interval to average over; ticks going backwards neither. */
    bool usable = a->cpu_prev_valid && total != 0 && total < (UINT64_MAX >> 1) && idle <= total;

    memcpy(a->cpu_prev, cpu.ticks, sizeof(a->cpu_prev));
    a->cpu_prev_valid = true;
    if (usable) {
        feed_value(a, "host:cpu_busy_pct", pct(total - idle, total), now);
    }
}

_Static_assert(sizeof(((struct ward_agent *)0)->cpu_prev) ==
                   sizeof(((struct ward_host_cpu *)0)->ticks),
               "cpu_prev holds one value per CPU state");

static void sample_host(struct ward_agent *a, int64_t now)
{
    const struct ward_device *host = a->hal->host;
    struct ward_host_mem mem;
    struct ward_host_fs_info info;
    struct ward_host_fs fs;
    int n;

    if (host == NULL) {
        return;
    }
    sample_cpu(a, host, now);
    if (ward_host_mem(host, &mem) == 0) {
        struct ward_reading r = { .value = 0, .status = mem.status, .reason = mem.reason };
        struct ward_observation obs = { .kind = WARD_OBSERVED_MEM, .mem = &mem };

        observe(a, &obs, now);
        if (mem.status == WARD_STATUS_OK) {
            ward_reading_ok(&r,
                            pct(mem.total - (mem.available < mem.total ? mem.available : mem.total),
                                mem.total));
        }
        feed(a, "host:mem_used_pct", &r, now);
    }
    n = ward_host_fs_count(host);
    for (int i = 0; i < n; i++) {
        struct ward_reading r;

        if (ward_host_fs_info(host, (unsigned)i, &info) != 0 ||
            ward_host_fs_read(host, (unsigned)i, &fs) != 0) {
            a->hal_errors++;
            continue;
        }
        struct ward_observation obs = { .kind = WARD_OBSERVED_FS, .fs_info = &info, .fs = &fs };

        observe(a, &obs, now);
        if (fs.status == WARD_STATUS_OK) {
            /* As df(1): used / (used + available to users). */
            uint64_t used =
                fs.total_bytes - (fs.free_bytes < fs.total_bytes ? fs.free_bytes : fs.total_bytes);

            ward_reading_ok(&r, pct(used, used + fs.avail_bytes));
        } else {
            r = (struct ward_reading){ .value = 0, .status = fs.status, .reason = fs.reason };
        }
        feed_sub(a, info.sensor.id, "used_pct", &r, true, now);
    }
}

static const struct {
    uint8_t id;
    const char *suffix;
} s_ata_attrs[] = {
    { 5, "reallocated" },
    { 197, "pending" },
    { 198, "uncorrectable" },
};

static void sample_ata(struct ward_agent *a, const char *base, const struct ward_ata_smart *ata,
                       int64_t now)
{
    struct ward_reading r;

    for (unsigned i = 0; i < ata->n_attrs && i < WARD_ATA_MAX_ATTRS; i++) {
        const struct ward_ata_attr *at = &ata->attr[i];

        if ((at->id == 194 || at->id == 190) && at->has_decoded) {
            ward_reading_ok(&r, at->decoded);
            feed_sub(a, base, "temp", &r, true, now);
        }
        for (unsigned k = 0; k < sizeof(s_ata_attrs) / sizeof(s_ata_attrs[0]); k++) {
            if (at->id == s_ata_attrs[k].id) {
                ward_reading_ok(&r, (int64_t)(at->raw & 0xffffffffffffull));
                feed_sub(a, base, s_ata_attrs[k].suffix, &r, false, now);
            }
        }
    }
}

static void sample_nvme(struct ward_agent *a, const char *base, const struct ward_nvme_health *nv,
                        int64_t now)
{
    struct ward_reading r;
    char id[WARD_HEALTH_ID_MAX];
    char buf[WARD_HEALTH_ID_MAX];

    ward_reading_ok(&r, nv->critical_warning);
    feed_sub(a, base, "critical_warning", &r, false, now);
    ward_reading_ok(&r, nv->percent_used);
    feed_sub(a, base, "percent_used", &r, false, now);
    ward_reading_ok(&r, (int64_t)nv->media_errors[0]);
    feed_sub(a, base, "media_errors", &r, false, now);
    if (ward_sensor_id_join(id, sizeof(id), base, "temp") == 0) {
        struct ward_thresholds thr = { 0 };

        /* WCTEMP and CCTEMP are the drive's own caution and critical levels. */
        if (nv->warning_temp_mdeg_c != 0) {
            thr.present |= 1u << WARD_THR_UPPER_CAUTION;
            thr.value[WARD_THR_UPPER_CAUTION] = nv->warning_temp_mdeg_c;
        }
        if (nv->critical_temp_mdeg_c != 0) {
            thr.present |= 1u << WARD_THR_UPPER_CRITICAL;
            thr.value[WARD_THR_UPPER_CRITICAL] = nv->critical_temp_mdeg_c;
        }
        const char *key = sensor_key(a, id, buf);

        if (thr.present != 0 && key != NULL && ward_health_find(&a->health, key) < 0) {
            ward_health_set_hw_thresholds(&a->health, key, &thr);
        }
        ward_reading_ok(&r, nv->composite_temp_mdeg_c);
        feed(a, id, &r, now);
    }
}

static void sample_disk(struct ward_agent *a, const struct ward_device *dev, int64_t now)
{
    /* About 1.3 KiB with 30 ATA attributes: scratch on the stack, never agent state. */
    struct ward_smart smart;
    struct ward_disk_info info;
    struct ward_reading r;
    int n = ward_disk_count(dev);

    for (int i = 0; i < n; i++) {
        if (ward_disk_info(dev, (unsigned)i, &info) != 0 ||
            ward_disk_smart(dev, (unsigned)i, &smart) != 0) {
            a->hal_errors++;
            continue;
        }
        struct ward_observation obs = { .kind = WARD_OBSERVED_DISK,
                                        .disk_info = &info,
                                        .smart = &smart };

        observe(a, &obs, now);
        if (smart.status != WARD_STATUS_OK) {
            /* Standby keeps every state as it is: the drive was deliberately not read. */
            r = (struct ward_reading){ .value = 0, .status = smart.status, .reason = smart.reason };
            feed_sub(a, info.sensor.id, "smart", &r, true, now);
            continue;
        }
        ward_reading_ok(&r, smart.verdict);
        feed_sub(a, info.sensor.id, "smart", &r, true, now);
        if (smart.kind == WARD_DISK_NVME) {
            sample_nvme(a, info.sensor.id, &smart.u.nvme, now);
        } else {
            sample_ata(a, info.sensor.id, &smart.u.ata, now);
        }
    }
    a->hal_errors += n < 0 ? 1u : 0u;
}

static void sample_self(struct ward_agent *a, int64_t now)
{
    feed_value(a, "agent:loop_lag_ms", a->lag_sample_ms, now);
    a->lag_sample_ms = 0;
    feed_value(a, "agent:events_dropped", (int64_t)ward_evlog_dropped_total(&a->log), now);
}

static void sample_hal(struct ward_agent *a, const struct ward_hal *hal, enum ward_class cls,
                       int64_t now_ms);

int ward_agent_sample(struct ward_agent *a, enum ward_class cls, int64_t now_ms)
{
    if (a == NULL || (unsigned)cls >= WARD_CLASS_COUNT) {
        return -EINVAL;
    }
    if (cls == WARD_CLASS_AGENT) {
        sample_self(a, now_ms);
        return 0;
    }
    if (a->hal != NULL) {
        sample_hal(a, a->hal, cls, now_ms);
    }
    /* A drill's scenario plays beside the real devices (ward/drill.h); host figures are the
     * machine's own and are not drilled. */
    if (IS_ENABLED(CONFIG_WARD_DRILLS) && a->drill_hal != NULL && cls != WARD_CLASS_HOST) {
        a->drill_sampling = true;
        sample_hal(a, a->drill_hal, cls, now_ms);
        a->drill_sampling = false;
    }
    return 0;
}

static void sample_hal(struct ward_agent *a, const struct ward_hal *hal, enum ward_class cls,
                       int64_t now_ms)
{
    switch (cls) {
    case WARD_CLASS_TEMP:
        for (unsigned i = 0; i < hal->n_temp && i < WARD_HAL_MAX_DEVICES_PER_CLASS; i++) {
            sample_temp(a, hal->temp[i], now_ms);
        }
        break;
    case WARD_CLASS_FAN:
        for (unsigned i = 0; i < hal->n_fan && i < WARD_HAL_MAX_DEVICES_PER_CLASS; i++) {
            sample_fan(a, hal->fan[i], now_ms);
        }
        break;
    case WARD_CLASS_NIC:
        for (unsigned i = 0; i < hal->n_nic && i < WARD_HAL_MAX_DEVICES_PER_CLASS; i++) {
            sample_nic(a, hal->nic[i], now_ms);
        }
        break;
    case WARD_CLASS_DISK:
        for (unsigned i = 0; i < hal->n_disk && i < WARD_HAL_MAX_DEVICES_PER_CLASS; i++) {
            sample_disk(a, hal->disk[i], now_ms);
        }
        break;
    case WARD_CLASS_HOST:
        sample_host(a, now_ms);
        break;
    default:
        break;
    }
}
