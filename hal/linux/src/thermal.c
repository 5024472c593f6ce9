/*
 * Thermal zones (/sys/class/thermal/thermal_zoneN: type, temp, mode, trip_point_K_*).
 * A zone is a temperature channel "temp:thermal:<type>[_<device>]". Its trip points become
 * thresholds: the lowest passive trip (the kernel starts throttling) is upper_caution, the
 * lowest hot trip upper_critical and the lowest critical trip (the kernel shuts the machine
 * down) upper_fatal. Active trips only switch cooling devices and are not thresholds.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "ward/hal/linux_parse.h"

#define LX_MAX_TRIPS 32
#define LX_ZONE_PATH 256

static void add_trip(struct ward_thresholds *t, enum ward_threshold_kind k, int64_t v)
{
    /*
     * THERMAL_TEMP_INVALID and below mean "no trip"; so does 0, which is what drivers such as
     * x86_pkg_temp report for trips nobody has programmed.
     */
    if (v <= 0) {
        return;
    }
    if (!(t->present & (1u << k)) || v < t->value[k]) {
        t->present |= (uint8_t)(1u << k);
        t->value[k] = v;
    }
}

static void read_trips(int zone_fd, struct ward_thresholds *t)
{
    for (unsigned k = 0; k < LX_MAX_TRIPS; k++) {
        char name[40], type[LX_VALUE_MAX];
        ssize_t n;
        int64_t v;

        snprintf(name, sizeof(name), "trip_point_%u_type", k);
        n = lx_read_once(zone_fd, name, type, sizeof(type));
        if (n < 0) {
            break;
        }
        snprintf(name, sizeof(name), "trip_point_%u_temp", k);
        if (lx_read_once_i64(zone_fd, name, &v) != 0) {
            continue;
        }
        if (strncmp(type, "passive", 7) == 0) {
            add_trip(t, WARD_THR_UPPER_CAUTION, v);
        } else if (strncmp(type, "hot", 3) == 0) {
            add_trip(t, WARD_THR_UPPER_CRITICAL, v);
        } else if (strncmp(type, "critical", 8) == 0) {
            add_trip(t, WARD_THR_UPPER_FATAL, v);
        }
    }
}

/* "<type>" plus "_<device>" when the zone has a device link (ACPI LNXTHERM:00, ...). */
static void zone_channel(const char *zone_path, const char *type, size_t type_len, char *chan,
                         size_t len)
{
    char link[LX_ZONE_PATH + 16], dev[PATH_MAX];
    size_t n = ward_linux_normalize(chan, len, type, type_len);

    if (n == 0) {
        n = (size_t)snprintf(chan, len, "zone");
    }
    snprintf(link, sizeof(link), "%s/device", zone_path);
    if (n + 2 < len && realpath(link, dev) != NULL) {
        const char *b = strrchr(dev, '/');

        b = b != NULL ? b + 1 : dev;
        chan[n] = '_';
        if (ward_linux_normalize(chan + n + 1, len - n - 1, b, strlen(b)) == 0) {
            chan[n] = '\0';
        }
    }
}

static void add_zone(struct ward_linux_hal *lh, int class_fd, const char *entry, unsigned zone)
{
    char path[LX_ZONE_PATH], type[LX_VALUE_MAX], chan[WARD_SENSOR_LABEL_MAX + 24];
    struct ward_linux_temp *t;
    int fd, dir, rc;
    ssize_t n;

    if (snprintf(path, sizeof(path), "%s/sys/class/thermal/%s", lh->root, entry) >=
        (int)sizeof(path)) {
        return;
    }
    fd = lx_open_dir(class_fd, entry);
    if (fd < 0) {
        lx_problem(lh, path, strlen(path), -fd, 1, NULL);
        return;
    }
    n = lx_read_once(fd, "type", type, sizeof(type));
    if (n < 0) {
        n = 0;
    }
    dir = lx_dir_add(lh, fd);
    if (dir < 0) {
        lx_problem(lh, path, strlen(path), ENOSPC, 1,
                   "directory table full: raise CONFIG_WARD_LINUX_MAX_THERMAL_ZONES");
        return;
    }
    t = &lh->temp[lh->n_temp++];
    memset(t, 0, sizeof(*t));
    t->kind = WARD_LINUX_TEMP_THERMAL;
    t->index = (uint16_t)zone; /* only orders zones that share an id */
    t->dir = (uint16_t)dir;
    ward_linux_label_clean(t->info.label, sizeof(t->info.label), type, (size_t)n);
    zone_channel(path, type, (size_t)n, chan, sizeof(chan));
    ward_linux_make_id(t->info.id, "temp", "thermal", chan);
    read_trips(fd, &t->info.thresholds);
    for (unsigned f = 0; f < WARD_LINUX_T_FILES; f++) {
        t->fd[f] = -1;
    }
    rc = lx_attr_open(lh, fd, "temp", &t->fd[WARD_LINUX_T_INPUT]);
    if (rc != -ENOENT) {
        t->present |= 1u << WARD_LINUX_T_INPUT;
    }
    if (rc != 0 && rc != -ENOENT) {
        char p[LX_ZONE_PATH + 8];

        snprintf(p, sizeof(p), "%s/temp", path);
        lx_problem(lh, p, strlen(path), -rc, 1,
                   rc == -EACCES ? "run as root or give the agent read access" : NULL);
    }
    if (lx_attr_open(lh, fd, "mode", &t->fd[WARD_LINUX_T_ENABLE]) != -ENOENT) {
        t->present |= 1u << WARD_LINUX_T_ENABLE;
    }
}

static int zone_cmp(const void *a, const void *b)
{
    const struct ward_linux_temp *x = a, *y = b;
    int r = strcmp(x->info.id, y->info.id);

    return r != 0 ? r : (int)x->index - (int)y->index;
}

void lx_thermal_discover(struct ward_linux_hal *lh)
{
    char cls[LX_ZONE_PATH];
    unsigned first = lh->n_temp, zones = 0, lost = 0;
    struct lx_dir_iter it;
    const char *name;
    int fd;

    if (lx_path(lh, cls, sizeof(cls), "/sys/class/thermal") != 0) {
        return;
    }
    fd = lx_open_dir(AT_FDCWD, cls);
    if (fd < 0) {
        if (fd != -ENOENT) { /* no thermal zones is normal on servers and VMs */
            lx_problem(lh, cls, strlen(cls), -fd, 1, NULL);
        }
        return;
    }
    lx_dir_begin(&it, fd);
    while ((name = lx_dir_next(&it)) != NULL) {
        unsigned zone;
        char tail;

        if (sscanf(name, "thermal_zone%u%c", &zone, &tail) != 1) {
            continue;
        }
        if (zones >= WARD_LINUX_MAX_THERMAL_ZONES || lh->n_temp >= WARD_LINUX_MAX_TEMPS) {
            lost++;
            continue;
        }
        add_zone(lh, fd, name, zone);
        zones++;
    }
    close(fd);
    lx_sort(&lh->temp[first], lh->n_temp - first, sizeof(lh->temp[0]), zone_cmp);
    if (lost > 0) {
        lx_problem(lh, cls, strlen(cls), ENOSPC, lost,
                   "thermal zone table full: raise CONFIG_WARD_LINUX_MAX_THERMAL_ZONES or "
                   "CONFIG_WARD_LINUX_MAX_TEMPS");
    }
}

void lx_thermal_read(struct ward_linux_hal *lh, struct ward_linux_temp *t,
                     struct ward_temp_reading *out)
{
    int dir = lh->dir_fd[t->dir];
    char buf[48];
    int64_t v;
    int rc;

    if (t->present & (1u << WARD_LINUX_T_ENABLE)) {
        ssize_t n = lx_attr_read(lh, dir, &t->fd[WARD_LINUX_T_ENABLE],
                                 t->fd[WARD_LINUX_T_ENABLE] < 0 ? "mode" : NULL, buf, sizeof(buf));

        if (n > 0 && strncmp(buf, "disabled", 8) == 0) {
            ward_reading_unavailable(&out->mdeg_c, WARD_REASON_DISABLED);
            return;
        }
    }
    if (!(t->present & (1u << WARD_LINUX_T_INPUT))) {
        ward_reading_unavailable(&out->mdeg_c, WARD_REASON_MISSING);
        return;
    }
    rc = lx_attr_read_i64(lh, dir, &t->fd[WARD_LINUX_T_INPUT],
                          t->fd[WARD_LINUX_T_INPUT] < 0 ? "temp" : NULL, &v);
    if (rc == 0) {
        ward_reading_ok(&out->mdeg_c, v);
    } else {
        ward_reading_unavailable(&out->mdeg_c, lx_reason(rc));
    }
}
