/*
 * Network interfaces (Documentation/ABI/testing/sysfs-class-net and
 * sysfs-class-net-statistics): the statistics/ counters, carrier_changes, operstate, carrier,
 * speed, duplex, mtu and address of every entry of /sys/class/net, ordered by name.
 * The id is "nic:<name>": with predictable interface names (eno1, enp3s0) the name already is
 * the stable bus path, and it is the name operators use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "ward/hal/linux_parse.h"

#define LX_NIC_PATH 256
#define LX_IFNAME   16 /* IFNAMSIZ */

static const char *const s_link_file[WARD_LINUX_N_FILES - WARD_NIC_COUNTER_COUNT] = {
    "operstate",
    "carrier",
    "speed",
    "duplex",
};

/* The file's name relative to the interface's directory. */
static void nic_file(char *buf, size_t len, unsigned f)
{
    if (f == WARD_NIC_CARRIER_CHANGES) {
        snprintf(buf, len, "carrier_changes");
    } else if (f < WARD_NIC_COUNTER_COUNT) {
        snprintf(buf, len, "statistics/%s", ward_nic_counter_name((enum ward_nic_counter)f));
    } else {
        snprintf(buf, len, "%s", s_link_file[f - WARD_NIC_COUNTER_COUNT]);
    }
}

static void nic_info(struct ward_linux_nic *n, int fd, const char *name)
{
    char buf[LX_VALUE_MAX];
    ssize_t len;
    int64_t v;

    size_t nl = strnlen(name, sizeof(n->info.name) - 1); /* names are < IFNAMSIZ */

    memcpy(n->info.name, name, nl);
    n->info.name[nl] = '\0';
    memcpy(n->info.sensor.label, name, nl);
    n->info.sensor.label[nl] = '\0';
    memcpy(n->info.sensor.id, "nic:", 4);
    memcpy(n->info.sensor.id + 4, name, nl);
    n->info.sensor.id[4 + nl] = '\0';
    if (lx_read_once_i64(fd, "mtu", &v) == 0 && v > 0 && v <= UINT32_MAX) {
        n->info.mtu = (uint32_t)v;
    }
    len = lx_read_once(fd, "address", buf, sizeof(buf));
    n->info.has_mac = len > 0 && ward_linux_parse_mac(buf, (size_t)len, n->info.mac) == 0;
}

static void add_nic(struct ward_linux_hal *lh, int class_fd, const char *cls, const char *name)
{
    char path[LX_NIC_PATH], file[48];
    struct ward_linux_nic *n;
    int fd = lx_open_dir(class_fd, name), dir;

    if (fd == -ENOTDIR) {
        return; /* bonding_masters and other plain files */
    }
    if (snprintf(path, sizeof(path), "%s/%s", cls, name) >= (int)sizeof(path)) {
        path[0] = '\0';
    }
    if (fd < 0) {
        lx_problem(lh, path, strlen(path), -fd, 1, NULL);
        return;
    }
    dir = lx_dir_add(lh, fd);
    if (dir < 0) {
        lx_problem(lh, path, strlen(path), ENOSPC, 1,
                   "directory table full: raise CONFIG_WARD_LINUX_MAX_NICS");
        return;
    }
    n = &lh->nic[lh->n_nic++];
    memset(n, 0, sizeof(*n));
    n->dir = (uint16_t)dir;
    nic_info(n, fd, name);
    for (unsigned f = 0; f < WARD_LINUX_N_FILES; f++) {
        int rc;

        nic_file(file, sizeof(file), f);
        rc = lx_attr_open(lh, fd, file, &n->fd[f]);
        if (rc != -ENOENT) {
            n->present |= 1u << f;
        }
        if (rc == -EACCES || rc == -EPERM) {
            char p[LX_NIC_PATH + 48];

            snprintf(p, sizeof(p), "%s/%s", path, file);
            lx_problem(lh, p, strlen(path), -rc, 1, "run as root or give the agent read access");
        }
    }
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

void lx_nic_discover(struct ward_linux_hal *lh)
{
    char cls[LX_NIC_PATH];
    char names[WARD_LINUX_MAX_NICS][LX_IFNAME];
    unsigned n = 0, lost = 0;
    struct lx_dir_iter it;
    const char *name;
    int fd;

    if (lx_path(lh, cls, sizeof(cls), "/sys/class/net") != 0) {
        return;
    }
    fd = lx_open_dir(AT_FDCWD, cls);
    if (fd < 0) {
        lx_problem(lh, cls, strlen(cls), -fd, 1, NULL);
        return;
    }
    lx_dir_begin(&it, fd);
    while ((name = lx_dir_next(&it)) != NULL) {
        if (name[0] == '.' || strlen(name) >= LX_IFNAME) {
            continue;
        }
        if (n >= WARD_LINUX_MAX_NICS) {
            lost++;
            continue;
        }
        memcpy(names[n++], name, strlen(name) + 1);
    }
    lx_sort(names, n, sizeof(names[0]), name_cmp);
    for (unsigned i = 0; i < n; i++) {
        add_nic(lh, fd, cls, names[i]);
    }
    close(fd);
    if (lost > 0) {
        lx_problem(lh, cls, strlen(cls), ENOSPC, lost,
                   "interface table full: raise CONFIG_WARD_LINUX_MAX_NICS");
    }
}

static ssize_t nic_read(struct ward_linux_hal *lh, struct ward_linux_nic *n, unsigned f, char *buf,
                        size_t len)
{
    char name[48];
    const char *nm = NULL;

    if (!(n->present & (1u << f))) {
        return -ENOENT;
    }
    if (n->fd[f] < 0) {
        nic_file(name, sizeof(name), f);
        nm = name;
    }
    return lx_attr_read(lh, lh->dir_fd[n->dir], &n->fd[f], nm, buf, len);
}

static void read_counter(struct ward_linux_hal *lh, struct ward_linux_nic *n, unsigned c,
                         struct ward_reading *r)
{
    char buf[48];
    ssize_t len = nic_read(lh, n, c, buf, sizeof(buf));
    uint64_t v;
    int rc = len < 0 ? (int)len : ward_linux_parse_u64(buf, (size_t)len, &v);

    if (rc == 0) {
        ward_reading_ok(r, (int64_t)v); /* the interface's cast: counters are uint64_t */
    } else {
        ward_reading_unavailable(r, lx_reason(rc));
    }
}

/* IFF_UP from the interface's flags ("0x1003"); true when it cannot be read. */
static bool admin_up(const struct ward_linux_hal *lh, const struct ward_linux_nic *n)
{
    char buf[48];
    ssize_t len = lx_read_once(lh->dir_fd[n->dir], "flags", buf, sizeof(buf));
    unsigned long flags = 0;
    ssize_t i = 0;

    if (len < 3 || buf[0] != '0' || (buf[1] != 'x' && buf[1] != 'X')) {
        return true;
    }
    for (i = 2; i < len && i < 18; i++) {
        char c = buf[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

        if (d < 0) {
            break;
        }
        flags = flags << 4 | (unsigned long)d;
    }
    return (flags & 1u) != 0; /* IFF_UP */
}

/*
 * carrier and speed fail with EINVAL while the interface is administratively down (then the
 * reading is disabled); speed also fails with EINVAL on devices that have no link settings
 * (lo), which just do not offer it.
 */
static enum ward_reason link_reason(const struct ward_linux_hal *lh, const struct ward_linux_nic *n,
                                    int rc)
{
    if (rc != -EINVAL) {
        return lx_reason(rc);
    }
    return admin_up(lh, n) ? WARD_REASON_NOT_SUPPORTED : WARD_REASON_DISABLED;
}

static void read_link(struct ward_linux_hal *lh, struct ward_linux_nic *n,
                      struct ward_nic_reading *out)
{
    char buf[48];
    ssize_t len;
    int64_t v;
    int rc;

    len = nic_read(lh, n, WARD_LINUX_N_OPERSTATE, buf, sizeof(buf));
    out->oper = len > 0 ? ward_linux_parse_operstate(buf, (size_t)len) : WARD_NIC_OPER_UNKNOWN;
    len = nic_read(lh, n, WARD_LINUX_N_DUPLEX, buf, sizeof(buf));
    out->duplex = len > 0 ? ward_linux_parse_duplex(buf, (size_t)len) : WARD_NIC_DUPLEX_UNKNOWN;

    len = nic_read(lh, n, WARD_LINUX_N_CARRIER, buf, sizeof(buf));
    rc = len < 0 ? (int)len : ward_linux_parse_i64(buf, (size_t)len, &v);
    if (rc == 0 && (v == 0 || v == 1)) {
        ward_reading_ok(&out->carrier, v);
    } else {
        ward_reading_unavailable(&out->carrier,
                                 rc == 0 ? WARD_REASON_BAD_DATA : link_reason(lh, n, rc));
    }

    len = nic_read(lh, n, WARD_LINUX_N_SPEED, buf, sizeof(buf));
    rc = len < 0 ? (int)len : ward_linux_parse_i64(buf, (size_t)len, &v);
    if (rc == 0 && v > 0 && v < UINT32_MAX) {
        ward_reading_ok(&out->speed_mbps, v);
    } else {
        /* -1 (SPEED_UNKNOWN, or 4294967295 from old kernels): no link, or a virtual device. */
        ward_reading_unavailable(&out->speed_mbps,
                                 rc == 0 ? WARD_REASON_NOT_SUPPORTED : link_reason(lh, n, rc));
    }
}

void lx_nic_read(struct ward_linux_hal *lh, struct ward_linux_nic *n, struct ward_nic_reading *out)
{
    for (unsigned c = 0; c < WARD_NIC_COUNTER_COUNT; c++) {
        read_counter(lh, n, c, &out->counter[c]);
    }
    read_link(lh, n, out);
}
