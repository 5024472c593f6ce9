/*
 * hwmon (Documentation/hwmon/sysfs-interface): every chip under /sys/class/hwmon, its tempN_*
 * channels (milli-degrees C) and fanN_* / pwmN channels (RPM, PWM 0..255 shown as percent),
 * with labels, thresholds, alarms, faults and enable flags.
 *
 * Chips are ordered by their stable source id and channels by their index, so the channel
 * numbers the backend hands out do not depend on hwmonN numbering either.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ident.h"
#include "internal.h"
#include "ward/hal/linux_parse.h"

#define LX_MAX_INDEX   256 /* highest tempN/fanN/pwmN index looked at, exclusive */
#define LX_SOURCE_MAX  100 /* chip name, '.', bus id; ids longer than that are hashed */
#define LX_CHIP_PATH   256
#define LX_HINT_ACCESS "run as root or give the agent read access"

struct chip {
    char source[LX_SOURCE_MAX]; /* "coretemp.isa0000" */
    char path[LX_CHIP_PATH];    /* ROOT/sys/class/hwmon/hwmonN, for messages */
    int attr_fd;                /* the directory holding name, tempN_input, ... */
};

/* Discovery scratch on the stack: keep the chip table small. */
_Static_assert(sizeof(struct chip) * WARD_LINUX_MAX_HWMON_CHIPS <= 96 * 1024,
               "hwmon discovery scratch too large for the stack");

struct idx_set {
    uint64_t bits[LX_MAX_INDEX / 64];
};

static const char *const s_temp_suffix[WARD_LINUX_T_FILES] = {
    [WARD_LINUX_T_INPUT] = "input",
    [WARD_LINUX_T_FAULT] = "fault",
    [WARD_LINUX_T_ENABLE] = "enable",
    [WARD_LINUX_T_ALARM] = "alarm",
    [WARD_LINUX_T_MIN_ALARM] = "min_alarm",
    [WARD_LINUX_T_MAX_ALARM] = "max_alarm",
    [WARD_LINUX_T_LCRIT_ALARM] = "lcrit_alarm",
    [WARD_LINUX_T_CRIT_ALARM] = "crit_alarm",
    [WARD_LINUX_T_EMERGENCY_ALARM] = "emergency_alarm",
};

static const char *const s_fan_suffix[WARD_LINUX_F_FILES] = {
    [WARD_LINUX_F_INPUT] = "input",
    [WARD_LINUX_F_FAULT] = "fault",
    [WARD_LINUX_F_ENABLE] = "enable",
    [WARD_LINUX_F_ALARM] = "alarm",
    [WARD_LINUX_F_MIN_ALARM] = "min_alarm",
    [WARD_LINUX_F_MAX_ALARM] = "max_alarm",
    [WARD_LINUX_F_PWM] = NULL, /* pwmN */
};

static const struct {
    const char *suffix;
    enum ward_threshold_kind kind;
} s_temp_thr[] = {
    { "min", WARD_THR_LOWER_CAUTION },     { "max", WARD_THR_UPPER_CAUTION },
    { "lcrit", WARD_THR_LOWER_CRITICAL },  { "crit", WARD_THR_UPPER_CRITICAL },
    { "emergency", WARD_THR_UPPER_FATAL },
};

static void attr_name(char *buf, size_t len, const char *kind, unsigned idx, const char *suffix)
{
    if (suffix == NULL) {
        snprintf(buf, len, "%s%u", kind, idx);
    } else {
        snprintf(buf, len, "%s%u_%s", kind, idx, suffix);
    }
}

/* N of "<prefix>N<suffix>" (suffix "" for pwmN), or -1. */
static int attr_index(const char *name, const char *prefix, const char *suffix)
{
    size_t pl = strlen(prefix);
    const char *p = name + pl;
    int v = 0;

    if (strncmp(name, prefix, pl) != 0 || *p < '0' || *p > '9') {
        return -1;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v >= LX_MAX_INDEX) {
            return -1;
        }
    }
    return strcmp(p, suffix) == 0 ? v : -1;
}

static void idx_add(struct idx_set *s, int i)
{
    if (i >= 0) {
        s->bits[i / 64] |= 1ull << (i % 64);
    }
}

static bool idx_has(const struct idx_set *s, unsigned i)
{
    return (s->bits[i / 64] >> (i % 64)) & 1u;
}

static void note_problem(struct ward_linux_hal *lh, const struct chip *c, const char *name, int err)
{
    char p[LX_CHIP_PATH + 40];
    const char *hint = (err == EACCES || err == EPERM) ? LX_HINT_ACCESS : NULL;

    snprintf(p, sizeof(p), "%s/%s", c->path, name);
    lx_problem(lh, p, strlen(c->path), err, 1, hint);
}

/* Open (and maybe keep) one channel file. @return true when the file exists. */
static bool open_file(struct ward_linux_hal *lh, const struct chip *c, const char *name, int *fd)
{
    int rc = lx_attr_open(lh, c->attr_fd, name, fd);

    if (rc == 0) {
        return true;
    }
    if (rc == -ENOENT) {
        return false;
    }
    note_problem(lh, c, name, -rc);
    return true; /* exists but unreadable: every read says why */
}

static void read_threshold(struct ward_linux_hal *lh, const struct chip *c, const char *name,
                           struct ward_thresholds *t, enum ward_threshold_kind k)
{
    int64_t v;
    int rc = lx_read_once_i64(c->attr_fd, name, &v);

    if (rc == 0) {
        t->present |= (uint8_t)(1u << k);
        t->value[k] = v;
    } else if (rc == -EACCES || rc == -EPERM) {
        note_problem(lh, c, name, -rc);
    }
}

/* Label into info->label; its normalized form (or fallback) into chan. */
static void read_label(const struct chip *c, const char *name, struct ward_sensor_info *info,
                       char *chan, size_t chan_len, const char *fallback)
{
    char buf[LX_VALUE_MAX];
    ssize_t n = lx_read_once(c->attr_fd, name, buf, sizeof(buf));

    info->label[0] = '\0';
    chan[0] = '\0';
    if (n > 0) {
        ward_linux_label_clean(info->label, sizeof(info->label), buf, (size_t)n);
        ward_linux_normalize(chan, chan_len, buf, (size_t)n);
    }
    if (chan[0] == '\0') {
        snprintf(chan, chan_len, "%s", fallback);
    }
}

static void add_temp(struct ward_linux_hal *lh, const struct chip *c, uint16_t dir, unsigned idx)
{
    struct ward_linux_temp *t = &lh->temp[lh->n_temp++];
    char name[40], chan[WARD_SENSOR_LABEL_MAX], fallback[16];

    memset(t, 0, sizeof(*t));
    t->kind = WARD_LINUX_TEMP_HWMON;
    t->index = (uint16_t)idx;
    t->dir = dir;
    attr_name(fallback, sizeof(fallback), "temp", idx, NULL);
    attr_name(name, sizeof(name), "temp", idx, "label");
    read_label(c, name, &t->info, chan, sizeof(chan), fallback);
    ward_linux_make_id(t->info.id, "temp", c->source, chan);
    for (size_t k = 0; k < sizeof(s_temp_thr) / sizeof(s_temp_thr[0]); k++) {
        attr_name(name, sizeof(name), "temp", idx, s_temp_thr[k].suffix);
        read_threshold(lh, c, name, &t->info.thresholds, s_temp_thr[k].kind);
    }
    for (unsigned f = 0; f < WARD_LINUX_T_FILES; f++) {
        attr_name(name, sizeof(name), "temp", idx, s_temp_suffix[f]);
        if (open_file(lh, c, name, &t->fd[f])) {
            t->present |= (uint16_t)(1u << f);
        }
    }
}

static void add_fan(struct ward_linux_hal *lh, const struct chip *c, uint16_t dir, unsigned idx,
                    bool tach, bool pwm)
{
    struct ward_linux_fan *f = &lh->fan[lh->n_fan++];
    char name[40], chan[WARD_SENSOR_LABEL_MAX], fallback[16];

    memset(f, 0, sizeof(*f));
    f->index = (uint16_t)idx;
    f->dir = dir;
    attr_name(fallback, sizeof(fallback), tach ? "fan" : "pwm", idx, NULL);
    attr_name(name, sizeof(name), "fan", idx, "label");
    read_label(c, name, &f->info, chan, sizeof(chan), fallback);
    ward_linux_make_id(f->info.id, "fan", c->source, chan);
    attr_name(name, sizeof(name), "fan", idx, "min");
    read_threshold(lh, c, name, &f->info.thresholds, WARD_THR_LOWER_CAUTION);
    attr_name(name, sizeof(name), "fan", idx, "max");
    read_threshold(lh, c, name, &f->info.thresholds, WARD_THR_UPPER_CAUTION);
    for (unsigned k = 0; k < WARD_LINUX_F_FILES; k++) {
        f->fd[k] = -1;
        if (k == WARD_LINUX_F_PWM ? !pwm : !tach) {
            continue;
        }
        attr_name(name, sizeof(name), k == WARD_LINUX_F_PWM ? "pwm" : "fan", idx, s_fan_suffix[k]);
        if (open_file(lh, c, name, &f->fd[k])) {
            f->present |= (uint16_t)(1u << k);
        }
    }
}

/* Two channels of one chip with the same label: both get "<label>_<tempN>" instead. */
static void disambiguate(struct ward_sensor_info *first, size_t stride, size_t n,
                         const uint16_t *index_of, size_t index_stride, const char *cls,
                         const char *source)
{
    char *base = (char *)first;
    const char *ib = (const char *)index_of;
    bool clash[LX_MAX_INDEX] = { false };

    for (size_t i = 0; i < n && i < LX_MAX_INDEX; i++) {
        for (size_t j = 0; j < n && !clash[i]; j++) {
            const struct ward_sensor_info *a = (const void *)(base + i * stride);
            const struct ward_sensor_info *b = (const void *)(base + j * stride);

            clash[i] = i != j && strcmp(a->id, b->id) == 0;
        }
    }
    for (size_t i = 0; i < n && i < LX_MAX_INDEX; i++) {
        struct ward_sensor_info *a = (void *)(base + i * stride);
        char chan[WARD_SENSOR_LABEL_MAX + 16], norm[WARD_SENSOR_LABEL_MAX];
        uint16_t idx;

        if (!clash[i]) {
            continue;
        }
        memcpy(&idx, ib + i * index_stride, sizeof(idx));
        ward_linux_normalize(norm, sizeof(norm), a->label, strlen(a->label));
        snprintf(chan, sizeof(chan), "%s_%s%u", norm, cls, idx);
        ward_linux_make_id(a->id, cls, source, chan);
    }
}

static void scan_chip_dir(int attr_fd, struct idx_set *temps, struct idx_set *fans,
                          struct idx_set *pwms)
{
    struct lx_dir_iter it;
    const char *name;

    lx_dir_begin(&it, attr_fd);
    while ((name = lx_dir_next(&it)) != NULL) {
        idx_add(temps, attr_index(name, "temp", "_input"));
        idx_add(temps, attr_index(name, "temp", "_label"));
        idx_add(fans, attr_index(name, "fan", "_input"));
        idx_add(fans, attr_index(name, "fan", "_label"));
        idx_add(pwms, attr_index(name, "pwm", ""));
    }
}

static void add_chip_channels(struct ward_linux_hal *lh, const struct chip *c, uint16_t dir)
{
    struct idx_set temps = { { 0 } }, fans = { { 0 } }, pwms = { { 0 } };
    unsigned t0 = lh->n_temp, f0 = lh->n_fan, lost_t = 0, lost_f = 0;

    scan_chip_dir(c->attr_fd, &temps, &fans, &pwms);
    for (unsigned i = 0; i < LX_MAX_INDEX; i++) {
        bool tach = idx_has(&fans, i), pwm = idx_has(&pwms, i);

        if (idx_has(&temps, i)) {
            if (lh->n_temp < WARD_LINUX_MAX_TEMPS) {
                add_temp(lh, c, dir, i);
            } else {
                lost_t++;
            }
        }
        if (tach || pwm) {
            if (lh->n_fan < WARD_LINUX_MAX_FANS) {
                add_fan(lh, c, dir, i, tach, pwm);
            } else {
                lost_f++;
            }
        }
    }
    if (lh->n_temp > t0) {
        disambiguate(&lh->temp[t0].info, sizeof(lh->temp[0]), lh->n_temp - t0, &lh->temp[t0].index,
                     sizeof(lh->temp[0]), "temp", c->source);
    }
    if (lh->n_fan > f0) {
        disambiguate(&lh->fan[f0].info, sizeof(lh->fan[0]), lh->n_fan - f0, &lh->fan[f0].index,
                     sizeof(lh->fan[0]), "fan", c->source);
    }
    if (lost_t > 0) {
        lx_problem(lh, c->path, strlen(c->path), ENOSPC, lost_t,
                   "temperature table full: raise CONFIG_WARD_LINUX_MAX_TEMPS");
    }
    if (lost_f > 0) {
        lx_problem(lh, c->path, strlen(c->path), ENOSPC, lost_f,
                   "fan table full: raise CONFIG_WARD_LINUX_MAX_FANS");
    }
}

/* Identify one /sys/class/hwmon entry. @return 0 (c filled), 1 to skip it, or -errno. */
static int identify_chip(struct ward_linux_hal *lh, int class_fd, const char *entry,
                         const char *devices_root, struct chip *c)
{
    char buf[LX_VALUE_MAX], chip_name[32], bus[64], link[LX_CHIP_PATH + 16];
    int entry_fd, kind;
    ssize_t n;

    if (snprintf(c->path, sizeof(c->path), "%s/sys/class/hwmon/%s", lh->root, entry) >=
        (int)sizeof(c->path)) {
        return -ENAMETOOLONG;
    }
    entry_fd = lx_open_dir(class_fd, entry);
    if (entry_fd < 0) {
        return entry_fd;
    }
    /* Old drivers keep their attributes in the device directory, not in hwmonN. */
    c->attr_fd = entry_fd;
    n = lx_read_once(entry_fd, "name", buf, sizeof(buf));
    if (n == -ENOENT) {
        c->attr_fd = lx_open_dir(entry_fd, "device");
        n = c->attr_fd >= 0 ? lx_read_once(c->attr_fd, "name", buf, sizeof(buf)) : c->attr_fd;
        if (c->attr_fd >= 0 && n < 0) {
            close(c->attr_fd);
        }
    }
    if (n < 0) {
        close(entry_fd);
        return (int)n;
    }
    if (c->attr_fd != entry_fd) {
        close(entry_fd);
    }
    if (ward_linux_normalize(chip_name, sizeof(chip_name), buf, (size_t)n) == 0) {
        snprintf(chip_name, sizeof(chip_name), "unnamed");
    }
    snprintf(link, sizeof(link), "%s/device", c->path);
    kind = lx_device_bus_id(devices_root, link, bus, sizeof(bus));
    if (kind == LX_DEV_THERMAL_ZONE) {
        close(c->attr_fd);
        return 1; /* the zone itself is read, with its trip points */
    }
    if (kind != LX_DEV_BUS) {
        snprintf(bus, sizeof(bus), "virtual");
    }
    snprintf(c->source, sizeof(c->source), "%s.%s", chip_name, bus);
    return 0;
}

static int chip_cmp(const void *a, const void *b)
{
    const struct chip *x = a, *y = b;
    int r = strcmp(x->source, y->source);

    return r != 0 ? r : strcmp(x->path, y->path);
}

/* Collect the chips of ROOT/sys/class/hwmon into chips[]. @return how many. */
static unsigned collect_chips(struct ward_linux_hal *lh, struct chip *chips)
{
    char cls[LX_CHIP_PATH], devroot[PATH_MAX], rel[LX_CHIP_PATH];
    unsigned n = 0, lost = 0;
    struct lx_dir_iter it;
    const char *name;
    int class_fd;

    if (lx_path(lh, cls, sizeof(cls), "/sys/class/hwmon") != 0 ||
        lx_path(lh, rel, sizeof(rel), "/sys/devices") != 0) {
        return 0;
    }
    class_fd = lx_open_dir(AT_FDCWD, cls);
    if (class_fd < 0) {
        lx_problem(lh, cls, strlen(cls), -class_fd, 1,
                   class_fd == -ENOENT ? "no hwmon driver is loaded here" : NULL);
        return 0;
    }
    if (realpath(rel, devroot) == NULL) {
        snprintf(devroot, sizeof(devroot), "%s", rel);
    }
    lx_dir_begin(&it, class_fd);
    while ((name = lx_dir_next(&it)) != NULL) {
        int rc;

        if (name[0] == '.') {
            continue;
        }
        if (n >= WARD_LINUX_MAX_HWMON_CHIPS) {
            lost++;
            continue;
        }
        rc = identify_chip(lh, class_fd, name, devroot, &chips[n]);
        if (rc == 0) {
            n++;
        } else if (rc < 0) {
            lx_problem(lh, chips[n].path, strlen(chips[n].path), -rc, 1,
                       rc == -EACCES ? LX_HINT_ACCESS : NULL);
        }
    }
    close(class_fd);
    if (lost > 0) {
        lx_problem(lh, cls, strlen(cls), ENOSPC, lost,
                   "hwmon chip table full: raise CONFIG_WARD_LINUX_MAX_HWMON_CHIPS");
    }
    return n;
}

void lx_hwmon_discover(struct ward_linux_hal *lh)
{
    struct chip chips[WARD_LINUX_MAX_HWMON_CHIPS];
    unsigned n = collect_chips(lh, chips);

    lx_sort(chips, n, sizeof(chips[0]), chip_cmp);
    for (unsigned i = 0; i < n; i++) {
        int dir = lx_dir_add(lh, chips[i].attr_fd);

        if (dir < 0) {
            lx_problem(lh, chips[i].path, strlen(chips[i].path), ENOSPC, 1,
                       "directory table full: raise CONFIG_WARD_LINUX_MAX_HWMON_CHIPS");
            continue;
        }
        lh->n_chips++;
        add_chip_channels(lh, &chips[i], (uint16_t)dir);
    }
}

/* ---- reads ---- */

static int temp_file_i64(struct ward_linux_hal *lh, struct ward_linux_temp *t, unsigned f,
                         int64_t *v)
{
    char name[40];
    const char *nm = NULL;

    if (t->fd[f] < 0) {
        attr_name(name, sizeof(name), "temp", t->index, s_temp_suffix[f]);
        nm = name;
    }
    return lx_attr_read_i64(lh, lh->dir_fd[t->dir], &t->fd[f], nm, v);
}

void lx_hwmon_temp_read(struct ward_linux_hal *lh, struct ward_linux_temp *t,
                        struct ward_temp_reading *out)
{
    int64_t v;
    int rc;

    if ((t->present & (1u << WARD_LINUX_T_ENABLE)) &&
        temp_file_i64(lh, t, WARD_LINUX_T_ENABLE, &v) == 0 && v == 0) {
        ward_reading_unavailable(&out->mdeg_c, WARD_REASON_DISABLED);
        return;
    }
    if ((t->present & (1u << WARD_LINUX_T_FAULT)) &&
        temp_file_i64(lh, t, WARD_LINUX_T_FAULT, &v) == 0 && v != 0) {
        out->mdeg_c.status = WARD_STATUS_FAULT;
        out->mdeg_c.reason = WARD_REASON_NONE;
        out->mdeg_c.value = 0;
    } else if (!(t->present & (1u << WARD_LINUX_T_INPUT))) {
        ward_reading_unavailable(&out->mdeg_c, WARD_REASON_MISSING);
    } else if ((rc = temp_file_i64(lh, t, WARD_LINUX_T_INPUT, &v)) == 0) {
        ward_reading_ok(&out->mdeg_c, v);
    } else {
        ward_reading_unavailable(&out->mdeg_c, lx_reason(rc));
    }
    for (unsigned f = WARD_LINUX_T_ALARM; f <= WARD_LINUX_T_EMERGENCY_ALARM && !out->alarm; f++) {
        out->alarm = (t->present & (1u << f)) && temp_file_i64(lh, t, f, &v) == 0 && v != 0;
    }
}

static int fan_file_i64(struct ward_linux_hal *lh, struct ward_linux_fan *f, unsigned k, int64_t *v)
{
    char name[40];
    const char *nm = NULL;

    if (f->fd[k] < 0) {
        attr_name(name, sizeof(name), k == WARD_LINUX_F_PWM ? "pwm" : "fan", f->index,
                  s_fan_suffix[k]);
        nm = name;
    }
    return lx_attr_read_i64(lh, lh->dir_fd[f->dir], &f->fd[k], nm, v);
}

static void fan_rpm(struct ward_linux_hal *lh, struct ward_linux_fan *f, struct ward_reading *r)
{
    int64_t v;
    int rc;

    if (!(f->present & (1u << WARD_LINUX_F_INPUT))) {
        ward_reading_unavailable(r, WARD_REASON_NOT_SUPPORTED); /* a PWM output without tach */
    } else if ((f->present & (1u << WARD_LINUX_F_ENABLE)) &&
               fan_file_i64(lh, f, WARD_LINUX_F_ENABLE, &v) == 0 && v == 0) {
        ward_reading_unavailable(r, WARD_REASON_DISABLED);
    } else if ((f->present & (1u << WARD_LINUX_F_FAULT)) &&
               fan_file_i64(lh, f, WARD_LINUX_F_FAULT, &v) == 0 && v != 0) {
        r->status = WARD_STATUS_FAULT;
        r->reason = WARD_REASON_NONE;
        r->value = 0;
    } else if ((rc = fan_file_i64(lh, f, WARD_LINUX_F_INPUT, &v)) != 0) {
        ward_reading_unavailable(r, lx_reason(rc));
    } else if (v < 0) {
        ward_reading_unavailable(r, WARD_REASON_BAD_DATA);
    } else {
        ward_reading_ok(r, v);
    }
}

void lx_hwmon_fan_read(struct ward_linux_hal *lh, struct ward_linux_fan *f,
                       struct ward_fan_reading *out)
{
    int64_t v;
    int rc;

    fan_rpm(lh, f, &out->rpm);
    if (!(f->present & (1u << WARD_LINUX_F_PWM))) {
        ward_reading_unavailable(&out->pwm_percent, WARD_REASON_NOT_SUPPORTED);
    } else if ((rc = fan_file_i64(lh, f, WARD_LINUX_F_PWM, &v)) != 0) {
        ward_reading_unavailable(&out->pwm_percent, lx_reason(rc));
    } else if (v < 0 || v > 255) {
        ward_reading_unavailable(&out->pwm_percent, WARD_REASON_BAD_DATA);
    } else {
        ward_reading_ok(&out->pwm_percent, (v * 100 + 127) / 255); /* pwmN is 0..255 */
    }
    for (unsigned k = WARD_LINUX_F_ALARM; k <= WARD_LINUX_F_MAX_ALARM && !out->alarm; k++) {
        out->alarm = (f->present & (1u << k)) && fan_file_i64(lh, f, k, &v) == 0 && v != 0;
    }
}
