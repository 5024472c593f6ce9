/*
 * The Linux backend's entry point and ops tables: discovery fills the caller's struct
 * ward_linux_hal and adds four devices (temperatures, fans, NICs, host load) to the hal.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "internal.h"

#define LH(dev) ((struct ward_linux_hal *)(dev)->data)

static int temp_count(const struct ward_device *dev)
{
    return LH(dev)->n_temp;
}

static int temp_info(const struct ward_device *dev, unsigned ch, struct ward_sensor_info *info)
{
    if (info == NULL || ch >= LH(dev)->n_temp) {
        return -EINVAL;
    }
    *info = LH(dev)->temp[ch].info;
    return 0;
}

static int temp_read(const struct ward_device *dev, unsigned ch, struct ward_temp_reading *out)
{
    struct ward_linux_hal *lh = LH(dev);

    if (out == NULL || ch >= lh->n_temp) {
        return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    if (lh->temp[ch].kind == WARD_LINUX_TEMP_THERMAL) {
        lx_thermal_read(lh, &lh->temp[ch], out);
    } else {
        lx_hwmon_temp_read(lh, &lh->temp[ch], out);
    }
    return 0;
}

const struct ward_temp_ops lx_temp_ops = {
    .count = temp_count,
    .info = temp_info,
    .read = temp_read,
};

static int fan_count(const struct ward_device *dev)
{
    return LH(dev)->n_fan;
}

static int fan_info(const struct ward_device *dev, unsigned ch, struct ward_sensor_info *info)
{
    if (info == NULL || ch >= LH(dev)->n_fan) {
        return -EINVAL;
    }
    *info = LH(dev)->fan[ch].info;
    return 0;
}

static int fan_read(const struct ward_device *dev, unsigned ch, struct ward_fan_reading *out)
{
    if (out == NULL || ch >= LH(dev)->n_fan) {
        return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    lx_hwmon_fan_read(LH(dev), &LH(dev)->fan[ch], out);
    return 0;
}

const struct ward_fan_ops lx_fan_ops = {
    .count = fan_count,
    .info = fan_info,
    .read = fan_read,
};

static int nic_count(const struct ward_device *dev)
{
    return LH(dev)->n_nic;
}

static int nic_info(const struct ward_device *dev, unsigned ch, struct ward_nic_info *info)
{
    if (info == NULL || ch >= LH(dev)->n_nic) {
        return -EINVAL;
    }
    *info = LH(dev)->nic[ch].info;
    return 0;
}

static int nic_read(const struct ward_device *dev, unsigned ch, struct ward_nic_reading *out)
{
    if (out == NULL || ch >= LH(dev)->n_nic) {
        return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    lx_nic_read(LH(dev), &LH(dev)->nic[ch], out);
    return 0;
}

const struct ward_nic_ops lx_nic_ops = {
    .count = nic_count,
    .info = nic_info,
    .read = nic_read,
};

static int host_cpu(const struct ward_device *dev, struct ward_host_cpu *out)
{
    return out == NULL ? -EINVAL : lx_host_cpu(LH(dev), out);
}

static int host_mem(const struct ward_device *dev, struct ward_host_mem *out)
{
    return out == NULL ? -EINVAL : lx_host_mem(LH(dev), out);
}

static int blk_count(const struct ward_device *dev)
{
    return LH(dev)->n_blk;
}

static int blk_info(const struct ward_device *dev, unsigned i, struct ward_host_blk_info *info)
{
    if (info == NULL || i >= LH(dev)->n_blk) {
        return -EINVAL;
    }
    *info = LH(dev)->blk[i].info;
    return 0;
}

static int blk_read(const struct ward_device *dev, unsigned i, struct ward_host_blk *out)
{
    if (out == NULL || i >= LH(dev)->n_blk) {
        return -EINVAL;
    }
    return lx_host_blk_read(LH(dev), i, out);
}

static int fs_count(const struct ward_device *dev)
{
    return LH(dev)->n_fs;
}

static int fs_info(const struct ward_device *dev, unsigned i, struct ward_host_fs_info *info)
{
    if (info == NULL || i >= LH(dev)->n_fs) {
        return -EINVAL;
    }
    *info = LH(dev)->fs[i].info;
    return 0;
}

static int fs_read(const struct ward_device *dev, unsigned i, struct ward_host_fs *out)
{
    if (out == NULL || i >= LH(dev)->n_fs) {
        return -EINVAL;
    }
    return lx_fs_read(LH(dev), i, out);
}

const struct ward_host_ops lx_host_ops = {
    .cpu = host_cpu,
    .mem = host_mem,
    .blk_count = blk_count,
    .blk_info = blk_info,
    .blk_read = blk_read,
    .fs_count = fs_count,
    .fs_info = fs_info,
    .fs_read = fs_read,
};

/* Keep at most half of the process's fd limit, so sockets and the rest never starve. */
static uint16_t open_budget(void)
{
    struct rlimit rl;
    uint64_t budget = WARD_LINUX_MAX_OPEN_FILES;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur / 2 < budget) {
        budget = rl.rlim_cur / 2;
    }
    return (uint16_t)(budget > UINT16_MAX ? UINT16_MAX : budget);
}

static void set_device(struct ward_device *dev, const char *name, const void *api,
                       struct ward_linux_hal *lh)
{
    dev->name = name;
    dev->api = api;
    dev->config = NULL;
    dev->data = lh;
}

int ward_linux_hal_init(struct ward_linux_hal *lh, struct ward_hal *hal, const char *root)
{
    size_t rl = root != NULL ? strlen(root) : 0;

    if (lh == NULL || hal == NULL) {
        return -EINVAL;
    }
    while (rl > 0 && root[rl - 1] == '/') {
        rl--; /* "/" is the real system; "dir/" is "dir" */
    }
    if (rl >= sizeof(lh->root)) {
        return -ENAMETOOLONG;
    }
    if (hal->n_temp >= WARD_HAL_MAX_DEVICES_PER_CLASS ||
        hal->n_fan >= WARD_HAL_MAX_DEVICES_PER_CLASS ||
        hal->n_nic >= WARD_HAL_MAX_DEVICES_PER_CLASS || hal->host != NULL) {
        return -ENOSPC;
    }
    memset(lh, 0, sizeof(*lh));
    memcpy(lh->root, root != NULL ? root : "", rl);
    lh->root[rl] = '\0';
    lh->stat_fd = lh->meminfo_fd = lh->diskstats_fd = -1;
    lh->open_budget = open_budget();
    lh->keep_open = lh->open_budget > 0;

    lx_hwmon_discover(lh);
    lx_thermal_discover(lh);
    lx_ids_dedupe(&lh->temp[0].info, sizeof(lh->temp[0]), lh->n_temp);
    lx_ids_dedupe(&lh->fan[0].info, sizeof(lh->fan[0]), lh->n_fan);
    lx_nic_discover(lh);
    lx_host_discover(lh);
    lx_fs_discover(lh);

    set_device(&lh->temp_dev, "linux-temp", &lx_temp_ops, lh);
    set_device(&lh->fan_dev, "linux-fan", &lx_fan_ops, lh);
    set_device(&lh->nic_dev, "linux-nic", &lx_nic_ops, lh);
    set_device(&lh->host_dev, "linux-host", &lx_host_ops, lh);
    hal->temp[hal->n_temp++] = &lh->temp_dev;
    hal->fan[hal->n_fan++] = &lh->fan_dev;
    hal->nic[hal->n_nic++] = &lh->nic_dev;
    hal->host = &lh->host_dev;
    if (hal->inventory == NULL) {
        set_device(&lh->inv_dev, "linux-inventory", &lx_inventory_ops, lh);
        hal->inventory = &lh->inv_dev;
    }
    return 0;
}

void ward_linux_hal_close_files(struct ward_linux_hal *lh)
{
    for (unsigned i = 0; i < lh->n_temp; i++) {
        for (unsigned f = 0; f < WARD_LINUX_T_FILES; f++) {
            lx_fd_close(lh, &lh->temp[i].fd[f]);
        }
    }
    for (unsigned i = 0; i < lh->n_fan; i++) {
        for (unsigned f = 0; f < WARD_LINUX_F_FILES; f++) {
            lx_fd_close(lh, &lh->fan[i].fd[f]);
        }
    }
    for (unsigned i = 0; i < lh->n_nic; i++) {
        for (unsigned f = 0; f < WARD_LINUX_N_FILES; f++) {
            lx_fd_close(lh, &lh->nic[i].fd[f]);
        }
    }
    lx_fd_close(lh, &lh->stat_fd);
    lx_fd_close(lh, &lh->meminfo_fd);
    lx_fd_close(lh, &lh->diskstats_fd);
    lh->keep_open = false;
}

void ward_linux_hal_close(struct ward_linux_hal *lh)
{
    if (lh == NULL) {
        return;
    }
    ward_linux_hal_close_files(lh);
    for (unsigned i = 0; i < lh->n_dirs; i++) {
        close(lh->dir_fd[i]);
    }
    lh->n_dirs = 0;
    lh->n_temp = lh->n_fan = lh->n_nic = lh->n_blk = lh->n_fs = 0;
}

unsigned ward_linux_problem_count(const struct ward_linux_hal *lh)
{
    return lh->n_problems;
}

const struct ward_linux_problem *ward_linux_problem_get(const struct ward_linux_hal *lh, unsigned i)
{
    return i < lh->n_problems ? &lh->problem[i] : NULL;
}

int ward_linux_problem_format(const struct ward_linux_hal *lh, unsigned i, char *buf, size_t len)
{
    const struct ward_linux_problem *p = ward_linux_problem_get(lh, i);
    const char *what;
    int n;

    if (p == NULL || buf == NULL || len == 0) {
        return -EINVAL;
    }
    switch (p->err) {
    case EACCES:
    case EPERM:
        what = "permission denied";
        break;
    case ENOENT:
        what = "missing";
        break;
    case ENOSPC:
        what = "not monitored";
        break;
    default:
        what = strerror(p->err);
        break;
    }
    if (p->err == ENOSPC) {
        n = snprintf(buf, len, "%s: %u %s", p->path, p->count, what);
    } else if (p->count > 1) {
        n = snprintf(buf, len, "%s: %s (%u files of this source)", p->path, what, p->count);
    } else {
        n = snprintf(buf, len, "%s: %s", p->path, what);
    }
    if (n >= 0 && (size_t)n < len && p->hint != NULL) {
        snprintf(buf + n, len - (size_t)n, "; %s", p->hint);
    }
    return 0;
}
