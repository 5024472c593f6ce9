/*
 * probe's JSON output (schema: docs/probe.md), streamed with printf: the document grows with
 * the machine, so it is never built in memory. Numbers are exact integers in the interface's
 * units; every string goes through one escaper that keeps the output valid UTF-8 JSON whatever
 * bytes a driver or a disk reports.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "probe.h"
#include "ward/hal/reading.h"
#include "ward/hal/smart.h"

#define JW_MAX_DEPTH 12

struct jw {
    FILE *f;
    int depth;
    bool pretty; /* --pretty: one value per line, indented by two spaces a level */
    bool first[JW_MAX_DEPTH];
};

static void jw_newline(struct jw *w, int depth)
{
    if (w->pretty) {
        fprintf(w->f, "\n%*s", 2 * depth, "");
    }
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp, min;

    if (s[0] < 0x80) {
        return 1;
    } else if ((s[0] & 0xe0) == 0xc0) {
        len = 2, cp = s[0] & 0x1fu, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3, cp = s[0] & 0x0fu, min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4, cp = s[0] & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0; /* overlong, beyond Unicode, or a surrogate */
    }
    return len;
}

static void jw_string(struct jw *w, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str);

    fputc('"', w->f);
    for (size_t i = 0; i < n;) {
        size_t l = utf8_len(s + i, n - i);

        if (l == 0) {
            fputs("\\ufffd", w->f); /* not UTF-8: the replacement character */
            i++;
        } else if (l > 1) {
            fwrite(s + i, 1, l, w->f);
            i += l;
        } else if (s[i] == '"' || s[i] == '\\') {
            fprintf(w->f, "\\%c", s[i++]);
        } else if (s[i] < 0x20 || s[i] == 0x7f) {
            fprintf(w->f, "\\u%04x", s[i++]);
        } else {
            fputc(s[i++], w->f);
        }
    }
    fputc('"', w->f);
}

/* Separator and key before a value; key is NULL inside arrays. */
static void jw_pre(struct jw *w, const char *key)
{
    if (!w->first[w->depth]) {
        fputc(',', w->f);
    }
    if (w->depth > 0 || !w->first[0]) {
        jw_newline(w, w->depth);
    }
    w->first[w->depth] = false;
    if (key != NULL) {
        jw_string(w, key);
        fputs(w->pretty ? ": " : ":", w->f);
    }
}

static void jw_open(struct jw *w, const char *key, char c)
{
    jw_pre(w, key);
    fputc(c, w->f);
    if (w->depth + 1 < JW_MAX_DEPTH) {
        w->depth++;
    }
    w->first[w->depth] = true;
}

static void jw_close(struct jw *w, char c)
{
    if (!w->first[w->depth]) { /* an empty [] or {} stays on its line */
        jw_newline(w, w->depth > 0 ? w->depth - 1 : 0);
    }
    fputc(c, w->f);
    if (w->depth > 0) {
        w->depth--;
    }
}

static void jw_str(struct jw *w, const char *key, const char *v)
{
    jw_pre(w, key);
    jw_string(w, v);
}

static void jw_i64(struct jw *w, const char *key, int64_t v)
{
    jw_pre(w, key);
    fprintf(w->f, "%" PRId64, v);
}

static void jw_u64(struct jw *w, const char *key, uint64_t v)
{
    jw_pre(w, key);
    fprintf(w->f, "%" PRIu64, v);
}

static void jw_u128(struct jw *w, const char *key, const uint64_t v[2])
{
    char buf[48];

    jw_pre(w, key);
    fputs(ward_smart_u128_dec(buf, sizeof(buf), v) > 0 ? buf : "null", w->f);
}

static void jw_bool(struct jw *w, const char *key, bool v)
{
    jw_pre(w, key);
    fputs(v ? "true" : "false", w->f);
}

static void jw_null(struct jw *w, const char *key)
{
    jw_pre(w, key);
    fputs("null", w->f);
}

/* {"status":"ok","value":N} / {"status":"unavailable","reason":"missing","value":null} */
static void jw_reading(struct jw *w, const char *key, const struct ward_reading *r)
{
    jw_open(w, key, '{');
    jw_str(w, "status", ward_status_name(r->status));
    if (r->status == WARD_STATUS_UNAVAILABLE) {
        jw_str(w, "reason", ward_reason_name(r->reason));
    }
    if (r->status == WARD_STATUS_OK) {
        jw_i64(w, "value", r->value);
    } else {
        jw_null(w, "value");
    }
    jw_close(w, '}');
}

static void jw_status(struct jw *w, enum ward_status s, enum ward_reason why)
{
    jw_str(w, "status", ward_status_name(s));
    if (s == WARD_STATUS_UNAVAILABLE) {
        jw_str(w, "reason", ward_reason_name(why));
    }
}

static void jw_thresholds(struct jw *w, const struct ward_thresholds *t)
{
    jw_open(w, "thresholds", '{');
    for (unsigned k = 0; k < WARD_THR_COUNT; k++) {
        if (t->present & (1u << k)) {
            jw_i64(w, ward_threshold_kind_name((enum ward_threshold_kind)k), t->value[k]);
        }
    }
    jw_close(w, '}');
}

static void json_temps(struct jw *w, const struct ward_hal *hal)
{
    jw_open(w, "temperatures", '[');
    for (unsigned d = 0; d < hal->n_temp; d++) {
        int n = ward_temp_count(hal->temp[d]);

        for (int i = 0; i < n; i++) {
            struct ward_sensor_info info;
            struct ward_temp_reading r;

            if (ward_temp_info(hal->temp[d], (unsigned)i, &info) != 0 ||
                ward_temp_read(hal->temp[d], (unsigned)i, &r) != 0) {
                continue;
            }
            jw_open(w, NULL, '{');
            jw_str(w, "id", info.id);
            jw_str(w, "label", info.label);
            jw_reading(w, "mdeg_c", &r.mdeg_c);
            jw_bool(w, "alarm", r.alarm);
            jw_thresholds(w, &info.thresholds);
            jw_close(w, '}');
        }
    }
    jw_close(w, ']');
}

static void json_fans(struct jw *w, const struct ward_hal *hal)
{
    jw_open(w, "fans", '[');
    for (unsigned d = 0; d < hal->n_fan; d++) {
        int n = ward_fan_count(hal->fan[d]);

        for (int i = 0; i < n; i++) {
            struct ward_sensor_info info;
            struct ward_fan_reading r;

            if (ward_fan_info(hal->fan[d], (unsigned)i, &info) != 0 ||
                ward_fan_read(hal->fan[d], (unsigned)i, &r) != 0) {
                continue;
            }
            jw_open(w, NULL, '{');
            jw_str(w, "id", info.id);
            jw_str(w, "label", info.label);
            jw_reading(w, "rpm", &r.rpm);
            jw_reading(w, "pwm_percent", &r.pwm_percent);
            jw_bool(w, "alarm", r.alarm);
            jw_thresholds(w, &info.thresholds);
            jw_close(w, '}');
        }
    }
    jw_close(w, ']');
}

static void json_ata(struct jw *w, const struct ward_ata_smart *a)
{
    jw_open(w, "ata", '{');
    jw_bool(w, "drive_says_failing", a->drive_says_failing);
    jw_u64(w, "error_count", a->error_count);
    jw_u64(w, "selftest_count", a->selftest_count);
    jw_u64(w, "selftest_last_status", a->selftest_last_status);
    jw_open(w, "attributes", '[');
    for (unsigned i = 0; i < a->n_attrs && i < WARD_ATA_MAX_ATTRS; i++) {
        const struct ward_ata_attr *t = &a->attr[i];

        jw_open(w, NULL, '{');
        jw_u64(w, "id", t->id);
        jw_str(w, "name", ward_smart_ata_attr_name(t->id));
        jw_u64(w, "flags", t->flags);
        jw_bool(w, "prefailure", (t->flags & 1u) != 0);
        jw_u64(w, "value", t->value);
        jw_u64(w, "worst", t->worst);
        jw_u64(w, "threshold", t->threshold);
        jw_u64(w, "raw", t->raw);
        if (t->has_decoded) {
            jw_i64(w, "decoded", t->decoded);
        } else {
            jw_null(w, "decoded");
        }
        jw_str(w, "verdict", ward_smart_verdict_name(t->verdict));
        jw_close(w, '}');
    }
    jw_close(w, ']');
    jw_close(w, '}');
}

static void json_nvme(struct jw *w, const struct ward_nvme_health *h)
{
    jw_open(w, "nvme", '{');
    jw_u64(w, "critical_warning", h->critical_warning);
    jw_i64(w, "composite_temp_mdeg_c", h->composite_temp_mdeg_c);
    jw_u64(w, "avail_spare_pct", h->avail_spare_pct);
    jw_u64(w, "spare_threshold_pct", h->spare_threshold_pct);
    jw_u64(w, "percent_used", h->percent_used);
    jw_u128(w, "data_units_read", h->data_units_read);
    jw_u128(w, "data_units_written", h->data_units_written);
    jw_u128(w, "host_reads", h->host_reads);
    jw_u128(w, "host_writes", h->host_writes);
    jw_u128(w, "power_cycles", h->power_cycles);
    jw_u128(w, "power_on_hours", h->power_on_hours);
    jw_u128(w, "unsafe_shutdowns", h->unsafe_shutdowns);
    jw_u128(w, "media_errors", h->media_errors);
    jw_u128(w, "error_log_entries", h->error_log_entries);
    jw_u64(w, "warning_temp_minutes", h->warning_temp_minutes);
    jw_u64(w, "critical_temp_minutes", h->critical_temp_minutes);
    jw_i64(w, "warning_temp_mdeg_c", h->warning_temp_mdeg_c);
    jw_i64(w, "critical_temp_mdeg_c", h->critical_temp_mdeg_c);
    jw_open(w, "temp_sensors_mdeg_c", '[');
    for (unsigned s = 0; s < WARD_NVME_TEMP_SENSORS; s++) {
        jw_reading(w, NULL, &h->temp_sensor_mdeg_c[s]);
    }
    jw_close(w, ']');
    jw_close(w, '}');
}

static const char *power_mode(const struct ward_smart *s)
{
    if (s->status == WARD_STATUS_OK) {
        return "active"; /* answered CHECK POWER MODE as active or idle, and was read */
    }
    return s->reason == WARD_REASON_STANDBY ? "standby" : "unknown";
}

static void json_disk(struct jw *w, const struct ward_device *dev, unsigned i)
{
    struct ward_disk_info info;
    struct ward_smart s;

    if (ward_disk_info(dev, i, &info) != 0) {
        return;
    }
    jw_open(w, NULL, '{');
    jw_str(w, "id", info.sensor.id);
    jw_str(w, "dev_name", info.dev_name);
    jw_str(w, "kind", info.kind == WARD_DISK_NVME ? "nvme" : "ata");
    jw_str(w, "model", info.model);
    jw_str(w, "serial", info.serial);
    jw_str(w, "firmware", info.firmware);
    jw_u64(w, "capacity_bytes", info.capacity_bytes);
    jw_thresholds(w, &info.sensor.thresholds);
    jw_open(w, "smart", '{');
    if (ward_disk_smart(dev, i, &s) != 0) {
        jw_status(w, WARD_STATUS_UNAVAILABLE, WARD_REASON_IO_ERROR);
    } else {
        jw_status(w, s.status, s.reason);
        if (info.kind == WARD_DISK_ATA) {
            jw_str(w, "power_mode", power_mode(&s));
        }
        jw_str(w, "verdict", ward_smart_verdict_name(s.verdict));
        if (s.status == WARD_STATUS_OK && s.kind == WARD_DISK_ATA) {
            json_ata(w, &s.u.ata);
        } else if (s.status == WARD_STATUS_OK) {
            json_nvme(w, &s.u.nvme);
        }
    }
    jw_close(w, '}');
    jw_close(w, '}');
}

static void json_disks(struct jw *w, const struct ward_hal *hal)
{
    jw_open(w, "disks", '[');
    for (unsigned d = 0; d < hal->n_disk; d++) {
        int n = ward_disk_count(hal->disk[d]);

        for (int i = 0; i < n; i++) {
            json_disk(w, hal->disk[d], (unsigned)i);
        }
    }
    jw_close(w, ']');
}

static void json_left_out(struct jw *w, const struct probe_report *rep)
{
    jw_open(w, "left_out", '[');
    for (unsigned i = 0; i < rep->n_left_out; i++) {
        jw_open(w, NULL, '{');
        jw_str(w, "name", rep->left_out[i].name);
        jw_str(w, "reason", rep->left_out[i].why);
        jw_close(w, '}');
    }
    jw_close(w, ']');
}

static void json_nic(struct jw *w, const struct ward_device *dev, unsigned i)
{
    struct ward_nic_info info;
    struct ward_nic_reading r;
    char mac[24];

    if (ward_nic_info(dev, i, &info) != 0 || ward_nic_read(dev, i, &r) != 0) {
        return;
    }
    jw_open(w, NULL, '{');
    jw_str(w, "id", info.sensor.id);
    jw_str(w, "name", info.name);
    if (info.has_mac) {
        snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", info.mac[0], info.mac[1],
                 info.mac[2], info.mac[3], info.mac[4], info.mac[5]);
        jw_str(w, "mac", mac);
    } else {
        jw_null(w, "mac");
    }
    jw_u64(w, "mtu", info.mtu);
    jw_str(w, "oper", ward_nic_oper_name(r.oper));
    jw_reading(w, "carrier", &r.carrier);
    jw_reading(w, "speed_mbps", &r.speed_mbps);
    jw_str(w, "duplex", ward_nic_duplex_name(r.duplex));
    jw_open(w, "counters", '{');
    for (unsigned c = 0; c < WARD_NIC_COUNTER_COUNT; c++) {
        jw_open(w, ward_nic_counter_name((enum ward_nic_counter)c), '{');
        jw_status(w, r.counter[c].status, r.counter[c].reason);
        if (r.counter[c].status == WARD_STATUS_OK) {
            jw_u64(w, "value", (uint64_t)r.counter[c].value); /* counters are uint64_t */
        } else {
            jw_null(w, "value");
        }
        jw_close(w, '}');
    }
    jw_close(w, '}');
    jw_close(w, '}');
}

static void json_nics(struct jw *w, const struct ward_hal *hal)
{
    jw_open(w, "nics", '[');
    for (unsigned d = 0; d < hal->n_nic; d++) {
        int n = ward_nic_count(hal->nic[d]);

        for (int i = 0; i < n; i++) {
            json_nic(w, hal->nic[d], (unsigned)i);
        }
    }
    jw_close(w, ']');
}

static void json_cpu_mem(struct jw *w, const struct ward_device *h)
{
    struct ward_host_cpu cpu;
    struct ward_host_mem m;

    memset(&cpu, 0, sizeof(cpu));
    memset(&m, 0, sizeof(m));
    jw_open(w, "cpu", '{');
    if (ward_host_cpu(h, &cpu) != 0) {
        cpu.status = WARD_STATUS_UNAVAILABLE;
        cpu.reason = WARD_REASON_NOT_SUPPORTED;
    }
    jw_status(w, cpu.status, cpu.reason);
    if (cpu.status == WARD_STATUS_OK) {
        jw_u64(w, "ncpu", cpu.ncpu);
        jw_u64(w, "ticks_per_second", cpu.ticks_per_second);
        jw_open(w, "ticks", '{');
        for (unsigned s = 0; s < WARD_CPU_STATE_COUNT; s++) {
            jw_u64(w, ward_cpu_state_name((enum ward_cpu_state)s), cpu.ticks[s]);
        }
        jw_close(w, '}');
    }
    jw_close(w, '}');
    jw_open(w, "memory", '{');
    if (ward_host_mem(h, &m) != 0) {
        m.status = WARD_STATUS_UNAVAILABLE;
        m.reason = WARD_REASON_NOT_SUPPORTED;
    }
    jw_status(w, m.status, m.reason);
    if (m.status == WARD_STATUS_OK) {
        jw_u64(w, "total_bytes", m.total);
        jw_u64(w, "available_bytes", m.available);
        jw_u64(w, "free_bytes", m.free);
        jw_u64(w, "buffers_bytes", m.buffers);
        jw_u64(w, "cached_bytes", m.cached);
        jw_u64(w, "swap_total_bytes", m.swap_total);
        jw_u64(w, "swap_free_bytes", m.swap_free);
    }
    jw_close(w, '}');
}

static void json_blk(struct jw *w, const struct ward_device *h)
{
    int n = ward_host_blk_count(h);

    jw_open(w, "block_devices", '[');
    for (int i = 0; i < n; i++) {
        struct ward_host_blk_info info;
        struct ward_host_blk b;

        if (ward_host_blk_info(h, (unsigned)i, &info) != 0 ||
            ward_host_blk_read(h, (unsigned)i, &b) != 0) {
            continue;
        }
        jw_open(w, NULL, '{');
        jw_str(w, "id", info.sensor.id);
        jw_str(w, "name", info.name);
        jw_status(w, b.status, b.reason);
        if (b.status == WARD_STATUS_OK) {
            jw_u64(w, "reads", b.reads);
            jw_u64(w, "writes", b.writes);
            jw_u64(w, "read_bytes", b.read_bytes);
            jw_u64(w, "written_bytes", b.written_bytes);
            jw_u64(w, "io_ms", b.io_ms);
            jw_u64(w, "in_flight", b.in_flight);
        }
        jw_close(w, '}');
    }
    jw_close(w, ']');
}

static void json_fs(struct jw *w, const struct ward_device *h)
{
    int n = ward_host_fs_count(h);

    jw_open(w, "filesystems", '[');
    for (int i = 0; i < n; i++) {
        struct ward_host_fs_info info;
        struct ward_host_fs s;

        if (ward_host_fs_info(h, (unsigned)i, &info) != 0 ||
            ward_host_fs_read(h, (unsigned)i, &s) != 0) {
            continue;
        }
        jw_open(w, NULL, '{');
        jw_str(w, "id", info.sensor.id);
        jw_str(w, "mount_point", info.mount_point);
        jw_str(w, "type", info.fs_type);
        jw_str(w, "source", info.source);
        jw_status(w, s.status, s.reason);
        if (s.status == WARD_STATUS_OK) {
            jw_u64(w, "total_bytes", s.total_bytes);
            jw_u64(w, "free_bytes", s.free_bytes);
            jw_u64(w, "avail_bytes", s.avail_bytes);
            jw_u64(w, "files_total", s.files_total);
            jw_u64(w, "files_free", s.files_free);
        }
        jw_close(w, '}');
    }
    jw_close(w, ']');
}

static void json_problems(struct jw *w, const struct probe_report *rep)
{
    jw_open(w, "problems", '[');
    for (unsigned i = 0; i < rep->n_problems; i++) {
        const struct probe_problem *p = &rep->problem[i];

        jw_open(w, NULL, '{');
        jw_str(w, "path", p->path);
        jw_str(w, "error", strerror(p->err));
        jw_u64(w, "errno", (uint64_t)p->err);
        jw_u64(w, "count", p->count);
        jw_str(w, "message", p->message);
        jw_close(w, '}');
    }
    jw_close(w, ']');
}

void probe_print_json(FILE *f, const struct probe_report *rep, bool pretty)
{
    struct jw w = { .f = f, .depth = 0, .pretty = pretty };
    const struct ward_hal *hal = &rep->hal;

    w.first[0] = true;
    jw_open(&w, NULL, '{');
    jw_u64(&w, "probe_schema", PROBE_SCHEMA);
    jw_str(&w, "backend", rep->backend);
    if (rep->scenario != NULL) {
        jw_str(&w, "scenario", rep->scenario);
        jw_str(&w, "scenario_name", rep->scenario_name != NULL ? rep->scenario_name : "");
        jw_u64(&w, "at_ms", rep->at_ms);
    } else {
        jw_str(&w, "root", rep->root);
    }
    json_temps(&w, hal);
    json_fans(&w, hal);
    json_disks(&w, hal);
    json_left_out(&w, rep);
    json_nics(&w, hal);
    jw_open(&w, "host", '{');
    if (hal->host != NULL) {
        json_cpu_mem(&w, hal->host);
        json_blk(&w, hal->host);
        json_fs(&w, hal->host);
    }
    jw_close(&w, '}');
    json_problems(&w, rep);
    jw_close(&w, '}');
    fputc('\n', f);
}
