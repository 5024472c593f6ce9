/*
 * probe's text output: temperatures and fans like `sensors`, disks like `smartctl -H -A`,
 * interfaces like `ip -s link`, then host load and the sources that could not be read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "probe.h"
#include "ward/hal/reading.h"
#include "ward/hal/smart.h"

enum unit {
    UNIT_MDEG_C,
    UNIT_RPM,
    UNIT_PERCENT,
    UNIT_MBPS,
    UNIT_NONE,
};

static void fmt_mdeg(char *buf, size_t len, int64_t v)
{
    /* One decimal, rounded half away from zero, as sensors prints. */
    int64_t tenths = (v >= 0 ? v + 50 : v - 50) / 100;
    uint64_t mag = tenths < 0 ? (uint64_t)0 - (uint64_t)tenths : (uint64_t)tenths;

    snprintf(buf, len, "%c%" PRIu64 ".%" PRIu64 " C", tenths < 0 ? '-' : '+', mag / 10, mag % 10);
}

static void fmt_bytes(char *buf, size_t len, uint64_t v)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    unsigned u = 0;
    uint64_t scaled = v, rem = 0;

    while (scaled >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        rem = scaled % 1024;
        scaled /= 1024;
        u++;
    }
    if (u == 0) {
        snprintf(buf, len, "%" PRIu64 " B", v);
    } else {
        snprintf(buf, len, "%" PRIu64 ".%" PRIu64 " %s", scaled, rem * 10 / 1024, units[u]);
    }
}

static void fmt_value(char *buf, size_t len, int64_t v, enum unit u)
{
    switch (u) {
    case UNIT_MDEG_C:
        fmt_mdeg(buf, len, v);
        break;
    case UNIT_RPM:
        snprintf(buf, len, "%" PRId64 " RPM", v);
        break;
    case UNIT_PERCENT:
        snprintf(buf, len, "%" PRId64 "%%", v);
        break;
    case UNIT_MBPS:
        snprintf(buf, len, "%" PRId64 " Mb/s", v);
        break;
    case UNIT_NONE:
        snprintf(buf, len, "%" PRId64, v);
        break;
    }
}

static void fmt_reading(char *buf, size_t len, const struct ward_reading *r, enum unit u)
{
    if (r->status == WARD_STATUS_OK) {
        fmt_value(buf, len, r->value, u);
    } else if (r->status == WARD_STATUS_FAULT) {
        snprintf(buf, len, "FAULT");
    } else {
        snprintf(buf, len, "n/a (%s)", ward_reason_name(r->reason));
    }
}

static void fmt_thresholds(char *buf, size_t len, const struct ward_thresholds *t, enum unit u)
{
    static const struct {
        enum ward_threshold_kind k;
        const char *name;
    } order[] = {
        { WARD_THR_LOWER_FATAL, "fatal low" }, { WARD_THR_LOWER_CRITICAL, "crit low" },
        { WARD_THR_LOWER_CAUTION, "low" },     { WARD_THR_UPPER_CAUTION, "high" },
        { WARD_THR_UPPER_CRITICAL, "crit" },   { WARD_THR_UPPER_FATAL, "fatal" },
    };
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && n < len; i++) {
        char v[32];
        int w;

        if (!(t->present & (1u << order[i].k))) {
            continue;
        }
        fmt_value(v, sizeof(v), t->value[order[i].k], u);
        w = snprintf(buf + n, len - n, "%s%s %s", n ? ", " : "(", order[i].name, v);
        n += w > 0 ? (size_t)w : 0;
    }
    if (n > 0 && n + 1 < len) {
        buf[n] = ')';
        buf[n + 1] = '\0';
    }
}

static void print_temps(FILE *f, const struct ward_hal *hal)
{
    int total = 0;

    for (unsigned d = 0; d < hal->n_temp; d++) {
        int n = ward_temp_count(hal->temp[d]);

        total += n > 0 ? n : 0;
    }
    fprintf(f, "\nTemperatures (%d)\n", total);
    for (unsigned d = 0; d < hal->n_temp; d++) {
        int n = ward_temp_count(hal->temp[d]);

        for (int i = 0; i < n; i++) {
            struct ward_sensor_info info;
            struct ward_temp_reading r;
            char val[48], thr[160];

            if (ward_temp_info(hal->temp[d], (unsigned)i, &info) != 0 ||
                ward_temp_read(hal->temp[d], (unsigned)i, &r) != 0) {
                continue;
            }
            fmt_reading(val, sizeof(val), &r.mdeg_c, UNIT_MDEG_C);
            fmt_thresholds(thr, sizeof(thr), &info.thresholds, UNIT_MDEG_C);
            fprintf(f, "  %-44s %-16s %-18s %s%s\n", info.id, info.label, val, thr,
                    r.alarm ? "  ALARM" : "");
        }
    }
}

static void print_fans(FILE *f, const struct ward_hal *hal)
{
    int total = 0;

    for (unsigned d = 0; d < hal->n_fan; d++) {
        int n = ward_fan_count(hal->fan[d]);

        total += n > 0 ? n : 0;
    }
    fprintf(f, "\nFans (%d)\n", total);
    for (unsigned d = 0; d < hal->n_fan; d++) {
        int n = ward_fan_count(hal->fan[d]);

        for (int i = 0; i < n; i++) {
            struct ward_sensor_info info;
            struct ward_fan_reading r;
            char rpm[48], pwm[48], thr[160];

            if (ward_fan_info(hal->fan[d], (unsigned)i, &info) != 0 ||
                ward_fan_read(hal->fan[d], (unsigned)i, &r) != 0) {
                continue;
            }
            fmt_reading(rpm, sizeof(rpm), &r.rpm, UNIT_RPM);
            fmt_reading(pwm, sizeof(pwm), &r.pwm_percent, UNIT_PERCENT);
            fmt_thresholds(thr, sizeof(thr), &info.thresholds, UNIT_RPM);
            fprintf(f, "  %-44s %-16s %-18s pwm %-18s %s%s\n", info.id, info.label, rpm, pwm, thr,
                    r.alarm ? "  ALARM" : "");
        }
    }
}

static void print_ata(FILE *f, const struct ward_ata_smart *a)
{
    fprintf(f,
            "    drive's own verdict (RETURN STATUS): %s; error log: %u errors; self-test log: "
            "%u entries, newest %s\n",
            a->drive_says_failing ? "FAILING" : "ok", a->error_count, a->selftest_count,
            a->selftest_count ? ward_smart_selftest_status_name(a->selftest_last_status) : "none");
    fprintf(f, "    ID# %-24s %-6s %5s %5s %6s %-8s %-16s %-12s %s\n", "ATTRIBUTE_NAME", "FLAG",
            "VALUE", "WORST", "THRESH", "TYPE", "RAW_VALUE", "DECODED", "STATE");
    for (unsigned i = 0; i < a->n_attrs && i < WARD_ATA_MAX_ATTRS; i++) {
        const struct ward_ata_attr *t = &a->attr[i];
        char dec[32] = "-";

        if (t->has_decoded) {
            if (t->id == 190 || t->id == 194) {
                fmt_mdeg(dec, sizeof(dec), t->decoded);
            } else {
                snprintf(dec, sizeof(dec), "%" PRId64, t->decoded);
            }
        }
        fprintf(f, "    %3u %-24s 0x%04x %5u %5u %6u %-8s %-16" PRIu64 " %-12s %s\n", t->id,
                ward_smart_ata_attr_name(t->id), t->flags, t->value, t->worst, t->threshold,
                (t->flags & 1u) ? "Pre-fail" : "Old_age", t->raw, dec,
                ward_smart_verdict_name(t->verdict));
    }
}

static void print_nvme(FILE *f, const struct ward_nvme_health *h)
{
    static const char *const bits[] = { "spare",     "temperature",     "reliability",
                                        "read-only", "volatile-backup", "pmr" };
    char t[32], w[32], c[32], dr[48], dw[48], pc[48], poh[48], us[48], me[48], el[48];

    fprintf(f, "    critical warning 0x%02x", h->critical_warning);
    for (unsigned b = 0; b < 6; b++) {
        if (h->critical_warning & (1u << b)) {
            fprintf(f, " %s", bits[b]);
        }
    }
    fmt_mdeg(t, sizeof(t), h->composite_temp_mdeg_c);
    fmt_mdeg(w, sizeof(w), h->warning_temp_mdeg_c);
    fmt_mdeg(c, sizeof(c), h->critical_temp_mdeg_c);
    fprintf(f,
            "\n    composite temperature %s (warning %s, critical %s); available spare %u%% "
            "(threshold %u%%); percentage used %u%%\n",
            t, h->warning_temp_mdeg_c ? w : "n/a", h->critical_temp_mdeg_c ? c : "n/a",
            h->avail_spare_pct, h->spare_threshold_pct, h->percent_used);
    ward_smart_u128_dec(dr, sizeof(dr), h->data_units_read);
    ward_smart_u128_dec(dw, sizeof(dw), h->data_units_written);
    ward_smart_u128_dec(pc, sizeof(pc), h->power_cycles);
    ward_smart_u128_dec(poh, sizeof(poh), h->power_on_hours);
    ward_smart_u128_dec(us, sizeof(us), h->unsafe_shutdowns);
    ward_smart_u128_dec(me, sizeof(me), h->media_errors);
    ward_smart_u128_dec(el, sizeof(el), h->error_log_entries);
    fprintf(f,
            "    data units read %s, written %s (x 512000 bytes); power cycles %s; power-on "
            "hours %s\n",
            dr, dw, pc, poh);
    fprintf(f,
            "    unsafe shutdowns %s; media errors %s; error log entries %s; warning/critical "
            "temperature time %u/%u min\n",
            us, me, el, h->warning_temp_minutes, h->critical_temp_minutes);
    for (unsigned s = 0; s < WARD_NVME_TEMP_SENSORS; s++) {
        if (h->temp_sensor_mdeg_c[s].status == WARD_STATUS_OK) {
            fmt_mdeg(t, sizeof(t), h->temp_sensor_mdeg_c[s].value);
            fprintf(f, "    temperature sensor %u: %s\n", s + 1, t);
        }
    }
}

static void print_disk(FILE *f, const struct ward_device *dev, unsigned i)
{
    struct ward_disk_info info;
    struct ward_smart s;
    char cap[32];

    if (ward_disk_info(dev, i, &info) != 0) {
        return;
    }
    fmt_bytes(cap, sizeof(cap), info.capacity_bytes);
    fprintf(f, "  %-8s %-4s %s\n    model \"%s\", serial \"%s\", firmware \"%s\", capacity %s\n",
            info.dev_name, info.kind == WARD_DISK_NVME ? "NVMe" : "ATA", info.sensor.id, info.model,
            info.serial, info.firmware, info.capacity_bytes ? cap : "n/a");
    if (ward_disk_smart(dev, i, &s) != 0) {
        fprintf(f, "    SMART: not read\n");
        return;
    }
    if (s.status != WARD_STATUS_OK) {
        fprintf(f, "    SMART not read: %s%s\n", ward_reason_name(s.reason),
                s.reason == WARD_REASON_STANDBY ? " (the drive sleeps; ward does not wake it)"
                                                : "");
        return;
    }
    fprintf(f, "    SMART overall-health: %s\n", ward_smart_verdict_name(s.verdict));
    if (s.kind == WARD_DISK_ATA) {
        print_ata(f, &s.u.ata);
    } else {
        print_nvme(f, &s.u.nvme);
    }
}

static void print_disks(FILE *f, const struct ward_hal *hal)
{
    int total = 0;

    for (unsigned d = 0; d < hal->n_disk; d++) {
        int n = ward_disk_count(hal->disk[d]);

        total += n > 0 ? n : 0;
    }
    fprintf(f, "\nDisks (%d)\n", total);
    for (unsigned d = 0; d < hal->n_disk; d++) {
        int n = ward_disk_count(hal->disk[d]);

        for (int i = 0; i < n; i++) {
            print_disk(f, hal->disk[d], (unsigned)i);
        }
    }
}

/* Not problems: block devices that are no drive to read (a virtio disk, a RAID array). */
static void print_left_out(FILE *f, const struct probe_report *rep)
{
    fprintf(f, "\nDisks left out (%u)\n", rep->n_left_out + rep->n_left_out_more);
    for (unsigned i = 0; i < rep->n_left_out; i++) {
        fprintf(f, "  %s: left out: %s\n", rep->left_out[i].name, rep->left_out[i].why);
    }
    if (rep->n_left_out_more > 0) {
        fprintf(f, "  ... and %u more\n", rep->n_left_out_more);
    }
}

static void counter_cell(char *buf, size_t len, const struct ward_reading *r)
{
    if (r->status == WARD_STATUS_OK) {
        snprintf(buf, len, "%" PRIu64, (uint64_t)r->value);
    } else {
        snprintf(buf, len, "-");
    }
}

static void print_counter_rows(FILE *f, const struct ward_nic_reading *r, const char *title,
                               const enum ward_nic_counter *cs, unsigned n)
{
    char cell[32];

    fprintf(f, "      %s", title);
    for (unsigned i = 0; i < n; i++) {
        const char *name = ward_nic_counter_name(cs[i]);

        bool prefixed = strncmp(name, "rx_", 3) == 0 || strncmp(name, "tx_", 3) == 0;

        fprintf(f, " %-16s", prefixed ? name + 3 : name);
    }
    fprintf(f, "\n         ");
    for (unsigned i = 0; i < n; i++) {
        counter_cell(cell, sizeof(cell), &r->counter[cs[i]]);
        fprintf(f, " %-16s", cell);
    }
    fprintf(f, "\n");
}

static void print_nic(FILE *f, const struct ward_device *dev, unsigned i)
{
    static const enum ward_nic_counter rx[] = { WARD_NIC_RX_BYTES,      WARD_NIC_RX_PACKETS,
                                                WARD_NIC_RX_ERRORS,     WARD_NIC_RX_DROPPED,
                                                WARD_NIC_RX_CRC_ERRORS, WARD_NIC_RX_FRAME_ERRORS };
    static const enum ward_nic_counter tx[] = { WARD_NIC_TX_BYTES,   WARD_NIC_TX_PACKETS,
                                                WARD_NIC_TX_ERRORS,  WARD_NIC_TX_DROPPED,
                                                WARD_NIC_COLLISIONS, WARD_NIC_CARRIER_CHANGES };
    struct ward_nic_info info;
    struct ward_nic_reading r;
    char carrier[48], speed[48], mac[24] = "n/a";
    bool first = true;

    if (ward_nic_info(dev, i, &info) != 0 || ward_nic_read(dev, i, &r) != 0) {
        return;
    }
    if (info.has_mac) {
        snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", info.mac[0], info.mac[1],
                 info.mac[2], info.mac[3], info.mac[4], info.mac[5]);
    }
    fmt_reading(carrier, sizeof(carrier), &r.carrier, UNIT_NONE);
    fmt_reading(speed, sizeof(speed), &r.speed_mbps, UNIT_MBPS);
    fprintf(f, "  %s: state %s, carrier %s, speed %s, duplex %s, mtu %u, mac %s  [%s]\n", info.name,
            ward_nic_oper_name(r.oper), carrier, speed, ward_nic_duplex_name(r.duplex), info.mtu,
            mac, info.sensor.id);
    print_counter_rows(f, &r, "RX:", rx, sizeof(rx) / sizeof(rx[0]));
    print_counter_rows(f, &r, "TX:", tx, sizeof(tx) / sizeof(tx[0]));
    for (unsigned c = 0; c < WARD_NIC_COUNTER_COUNT; c++) {
        if (r.counter[c].status != WARD_STATUS_OK) {
            fprintf(f, "%s %s (%s)", first ? "      unavailable:" : ",",
                    ward_nic_counter_name((enum ward_nic_counter)c),
                    ward_reason_name(r.counter[c].reason));
            first = false;
        }
    }
    if (!first) {
        fprintf(f, "\n");
    }
}

static void print_nics(FILE *f, const struct ward_hal *hal)
{
    int total = 0;

    for (unsigned d = 0; d < hal->n_nic; d++) {
        int n = ward_nic_count(hal->nic[d]);

        total += n > 0 ? n : 0;
    }
    fprintf(f, "\nNetwork interfaces (%d)\n", total);
    for (unsigned d = 0; d < hal->n_nic; d++) {
        int n = ward_nic_count(hal->nic[d]);

        for (int i = 0; i < n; i++) {
            print_nic(f, hal->nic[d], (unsigned)i);
        }
    }
}

static void print_cpu_mem(FILE *f, const struct ward_device *h)
{
    /* A backend without the op (-ENOSYS) fills nothing: the "n/a" lines still read a reason. */
    struct ward_host_cpu cpu = { .reason = WARD_REASON_NOT_SUPPORTED };
    struct ward_host_mem m = { .reason = WARD_REASON_NOT_SUPPORTED };
    char a[32], b[32], c[32], d[32], e[32], g[32], k[32];

    if (ward_host_cpu(h, &cpu) == 0 && cpu.status == WARD_STATUS_OK) {
        fprintf(f, "  cpu: %u CPUs; ticks at %" PRIu64 "/s:", cpu.ncpu, cpu.ticks_per_second);
        for (unsigned s = 0; s < WARD_CPU_STATE_COUNT; s++) {
            fprintf(f, " %s %" PRIu64, ward_cpu_state_name((enum ward_cpu_state)s), cpu.ticks[s]);
        }
        fprintf(f, "\n");
    } else {
        fprintf(f, "  cpu: n/a (%s)\n", ward_reason_name(cpu.reason));
    }
    if (ward_host_mem(h, &m) == 0 && m.status == WARD_STATUS_OK) {
        fmt_bytes(a, sizeof(a), m.total);
        fmt_bytes(b, sizeof(b), m.available);
        fmt_bytes(c, sizeof(c), m.free);
        fmt_bytes(d, sizeof(d), m.buffers);
        fmt_bytes(e, sizeof(e), m.cached);
        fmt_bytes(g, sizeof(g), m.swap_total);
        fmt_bytes(k, sizeof(k), m.swap_free);
        fprintf(f,
                "  memory: total %s, available %s, free %s, buffers %s, cached %s; swap %s, "
                "free %s\n",
                a, b, c, d, e, g, k);
    } else {
        fprintf(f, "  memory: n/a (%s)\n", ward_reason_name(m.reason));
    }
}

static void print_blk(FILE *f, const struct ward_device *h)
{
    int n = ward_host_blk_count(h);

    fprintf(f, "  block devices (%d):\n", n > 0 ? n : 0);
    for (int i = 0; i < n; i++) {
        struct ward_host_blk_info info;
        struct ward_host_blk b;
        char rb[32], wb[32];

        if (ward_host_blk_info(h, (unsigned)i, &info) != 0 ||
            ward_host_blk_read(h, (unsigned)i, &b) != 0) {
            continue;
        }
        if (b.status != WARD_STATUS_OK) {
            fprintf(f, "    %-12s n/a (%s)\n", info.name, ward_reason_name(b.reason));
            continue;
        }
        fmt_bytes(rb, sizeof(rb), b.read_bytes);
        fmt_bytes(wb, sizeof(wb), b.written_bytes);
        fprintf(f,
                "    %-12s reads %" PRIu64 " (%s), writes %" PRIu64 " (%s), busy %" PRIu64
                " ms, in flight %" PRIu64 "\n",
                info.name, b.reads, rb, b.writes, wb, b.io_ms, b.in_flight);
    }
}

/* part/whole in percent, rounded up; without overflow for any 64-bit sizes. */
static uint64_t pct_up(uint64_t part, uint64_t whole)
{
    if (whole == 0) {
        return 0;
    }
    if (part <= UINT64_MAX / 100) {
        return (part * 100 + whole - 1) / whole;
    }
    return part / (whole / 100); /* whole >= part > 1.8e17 here, so whole / 100 > 0 */
}

/* Characters on screen (UTF-8 code points), not bytes: the padding of a text column. */
static size_t text_width(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        n += ((unsigned char)*s & 0xc0u) != 0x80u;
    }
    return n;
}

static void print_cell(FILE *f, const char *s, size_t width)
{
    size_t w = text_width(s);

    fprintf(f, "%s%*s ", s, (int)(width > w ? width - w : 0), "");
}

/* The widths of the mount point, type and source columns: the longest of each. */
static void fs_widths(const struct ward_device *h, int n, size_t width[3])
{
    width[0] = width[1] = width[2] = 0;
    for (int i = 0; i < n; i++) {
        struct ward_host_fs_info info;

        if (ward_host_fs_info(h, (unsigned)i, &info) == 0) {
            size_t w[3] = { text_width(info.mount_point), text_width(info.fs_type),
                            text_width(info.source) };

            for (unsigned c = 0; c < 3; c++) {
                width[c] = w[c] > width[c] ? w[c] : width[c];
            }
        }
    }
}

static void print_fs(FILE *f, const struct ward_device *h)
{
    int n = ward_host_fs_count(h);
    size_t width[3];

    fprintf(f, "  filesystems (%d):\n", n > 0 ? n : 0);
    fs_widths(h, n, width);
    for (int i = 0; i < n; i++) {
        struct ward_host_fs_info info;
        struct ward_host_fs s;
        char tot[32], av[32];
        uint64_t used, room;

        if (ward_host_fs_info(h, (unsigned)i, &info) != 0 ||
            ward_host_fs_read(h, (unsigned)i, &s) != 0) {
            continue;
        }
        fputs("    ", f);
        print_cell(f, info.mount_point, width[0]);
        print_cell(f, info.fs_type, width[1]);
        print_cell(f, info.source, width[2]);
        if (s.status != WARD_STATUS_OK) {
            fprintf(f, "n/a (%s)\n", ward_reason_name(s.reason));
            continue;
        }
        /* As df: used over what unprivileged users can fill (used + available), rounded up. */
        used = s.total_bytes >= s.free_bytes ? s.total_bytes - s.free_bytes : 0;
        room = used + s.avail_bytes;
        fmt_bytes(tot, sizeof(tot), s.total_bytes);
        fmt_bytes(av, sizeof(av), s.avail_bytes);
        fprintf(f,
                "size %s, available %s, used %" PRIu64 "%%, inodes free %" PRIu64 "/%" PRIu64 "\n",
                tot, av, pct_up(used, room), s.files_free, s.files_total);
    }
}

void probe_print_text(FILE *f, const struct probe_report *rep)
{
    const struct ward_hal *hal = &rep->hal;

    if (rep->scenario != NULL) {
        fprintf(f, "ward-agent probe: backend %s, scenario %s (\"%s\") at %" PRIu64 " ms\n",
                rep->backend, rep->scenario, rep->scenario_name, rep->at_ms);
    } else {
        fprintf(f, "ward-agent probe: backend %s, root %s\n", rep->backend, rep->root);
    }
    print_temps(f, hal);
    print_fans(f, hal);
    print_disks(f, hal);
    print_left_out(f, rep);
    print_nics(f, hal);
    fprintf(f, "\nHost\n");
    if (hal->host != NULL) {
        print_cpu_mem(f, hal->host);
        print_blk(f, hal->host);
        print_fs(f, hal->host);
    } else {
        fprintf(f, "  n/a (no host-load source)\n");
    }
    fprintf(f, "\nUnavailable sources (%u)\n", rep->n_problems);
    for (unsigned i = 0; i < rep->n_problems; i++) {
        fprintf(f, "  %s\n", rep->problem[i].message);
    }
}
