/*
 * The Linux disk device: ward_linux_disk_attach() finds the disks, keeps their device nodes
 * open, and adds one struct ward_device of class disk to the HAL. Reading SMART checks the
 * power mode first and sends nothing else to a drive in standby.
 *
 * The interface gives attach no caller storage, so the backend keeps one static set; a
 * second attach closes what the first opened and scans again.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "disk_internal.h"
#include "ward/hal/linux.h"

void lx_disk_reset(struct lx_disk_set *set)
{
    for (unsigned i = 0; i < set->n; i++) {
        if (set->disk[i].fd >= 0) {
            lx_disk_io()->close(set->disk[i].fd);
        }
    }
    set->n = 0;
    set->warned = false;
}

static struct lx_disk_set s_set;

struct lx_disk_set *lx_disk_state(void)
{
    return &s_set;
}

static struct lx_disk *disk_at(const struct ward_device *dev, unsigned i)
{
    struct lx_disk_set *set = dev != NULL ? dev->data : NULL;

    return set != NULL && i < set->n ? &set->disk[i] : NULL;
}

static int op_count(const struct ward_device *dev)
{
    const struct lx_disk_set *set = dev != NULL ? dev->data : NULL;

    return set != NULL ? (int)set->n : -EINVAL;
}

static int op_info(const struct ward_device *dev, unsigned i, struct ward_disk_info *info)
{
    const struct lx_disk *d = disk_at(dev, i);

    if (d == NULL || info == NULL) {
        return -EINVAL;
    }
    *info = d->info;
    return 0;
}

static int op_smart(const struct ward_device *dev, unsigned i, struct ward_smart *out)
{
    struct lx_disk *d = disk_at(dev, i);

    if (d == NULL || out == NULL) {
        return -EINVAL;
    }
    lx_disk_read_smart(dev->data, d, out);
    return 0;
}

static const struct ward_disk_ops s_ops = {
    .count = op_count,
    .info = op_info,
    .smart = op_smart,
};

static const struct ward_device s_dev = {
    .name = "linux-disk",
    .api = &s_ops,
    .config = NULL,
    .data = &s_set,
};

int ward_linux_disk_attach(struct ward_hal *hal, const char *root)
{
    bool present = false;
    int rc;

    if (hal == NULL) {
        return -EINVAL;
    }
    if (root == NULL) {
        root = "";
    }
    if (strlen(root) >= sizeof(s_set.root)) {
        return -ENAMETOOLONG;
    }
    for (unsigned i = 0; i < hal->n_disk && i < WARD_HAL_MAX_DEVICES_PER_CLASS; i++) {
        present |= hal->disk[i] == &s_dev;
    }
    if (!present && hal->n_disk >= WARD_HAL_MAX_DEVICES_PER_CLASS) {
        return -ENOSPC;
    }
    lx_disk_reset(&s_set);
    memcpy(s_set.root, root, strlen(root) + 1); /* length checked above */
    /* A root of "/" would make "//sys": harmless, but keep paths clean. */
    if (strcmp(s_set.root, "/") == 0) {
        s_set.root[0] = '\0';
    }
    rc = lx_disk_discover(&s_set);
    if (rc == -ENOSPC) {
        char line[128];

        (void)snprintf(line, sizeof(line), "ward: more than %d disks; those after %s are not read",
                       LX_DISK_MAX, s_set.disk[s_set.n - 1].info.dev_name);
        lx_disk_io()->warn(line);
    }
    for (unsigned i = 0; i < s_set.n; i++) {
        lx_disk_identify(&s_set, &s_set.disk[i]);
    }
    lx_disk_warn_permission(&s_set);
    if (!present) {
        hal->disk[hal->n_disk++] = &s_dev;
    }
    return 0;
}
