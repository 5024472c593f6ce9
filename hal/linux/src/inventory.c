/*
 * The Linux inventory (ward/hal/inventory.h), from sysfs only: attributes the kernel read once
 * when it found the device and keeps, so reading them never sends a command to a disk and
 * never wakes one in standby.
 *
 *   disks  ROOT/sys/block/NAME/device/{vendor,model,rev,serial|vpd_pg80} (SCSI, ATA, virtio's
 *          ROOT/sys/block/NAME/serial), and ROOT/sys/class/nvme/nvmeK/{model,serial,firmware_rev}
 *   NICs   ROOT/sys/class/net/NAME/address and the name of its device/driver link; only
 *          interfaces with a device (no lo, bridges, veths)
 *   chips  ROOT/sys/class/hwmon/hwmonN/name and the number of its *_input files
 *
 * Each call lists the directory again (the inventory is read rarely) into a bounded table on
 * the stack, sorted by name, and picks the i-th entry.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define INV_LIST_MAX 64 /* the wire's bound on each list (docs/schemas/heartbeat.json) */
#define INV_ENTRY    32

#define LH(dev) ((struct ward_linux_hal *)(dev)->data)

struct inv_entry {
    char name[INV_ENTRY];
    char dir[INV_ENTRY]; /* the sysfs directory's own name (hwmonN for a chip) */
    uint8_t src;         /* which listed directory it came from */
};

struct inv_list {
    struct inv_entry e[INV_LIST_MAX];
    unsigned n;
};

static int entry_cmp(const void *a, const void *b)
{
    const struct inv_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c != 0 ? c : strcmp(x->dir, y->dir);
}

/* Cut at the first control character and trim blanks on both ends, in place. */
static void trim(char *s)
{
    size_t n = 0, start = 0;

    while (s[n] != '\0' && (unsigned char)s[n] >= 0x20 && s[n] != 0x7f) {
        n++;
    }
    while (n > 0 && s[n - 1] == ' ') {
        n--;
    }
    while (start < n && s[start] == ' ') {
        start++;
    }
    memmove(s, s + start, n - start);
    s[n - start] = '\0';
}

/* src into dst (cap bytes), cut to fit. */
static void copy_cut(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    n = n < cap - 1 ? n : cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Read attribute name of dir_fd into out, trimmed; "" when it cannot be read. */
static void attr(int dir_fd, const char *name, char *out, size_t len)
{
    if (lx_read_once(dir_fd, name, out, len) < 0) {
        out[0] = '\0';
    }
    trim(out);
}

static int open_rel(const struct ward_linux_hal *lh, const char *rel)
{
    char path[WARD_LINUX_ROOT_MAX + 32];

    if (lx_path(lh, path, sizeof(path), rel) != 0) {
        return -ENAMETOOLONG;
    }
    return lx_open_dir(AT_FDCWD, path);
}

/* Add dir's entries that have sub (a "device" link, a "name" file) to the list. */
static void list_dir(const struct ward_linux_hal *lh, const char *rel, const char *sub,
                     const char *skip_prefix, uint8_t src, struct inv_list *l)
{
    struct lx_dir_iter it;
    const char *name;
    int fd = open_rel(lh, rel);

    if (fd < 0) {
        return;
    }
    lx_dir_begin(&it, fd);
    while ((name = lx_dir_next(&it)) != NULL && l->n < INV_LIST_MAX) {
        char probe[INV_ENTRY + 16];

        if (strlen(name) >= INV_ENTRY ||
            (skip_prefix != NULL && strncmp(name, skip_prefix, strlen(skip_prefix)) == 0)) {
            continue;
        }
        snprintf(probe, sizeof(probe), "%s/%s", name, sub);
        if (faccessat(fd, probe, F_OK, 0) != 0) {
            continue;
        }
        struct inv_entry *e = &l->e[l->n++];

        copy_cut(e->name, sizeof(e->name), name);
        copy_cut(e->dir, sizeof(e->dir), name);
        e->src = src;
    }
    close(fd);
}

/* The i-th entry by name; *fd the directory of its source list opened, @return it or NULL. */
static const struct inv_entry *pick(struct inv_list *l, unsigned i)
{
    lx_sort(l->e, l->n, sizeof(l->e[0]), entry_cmp);
    return i < l->n ? &l->e[i] : NULL;
}

static int open_entry(const struct ward_linux_hal *lh, const char *rel, const char *entry)
{
    char sub[96];
    int n = snprintf(sub, sizeof(sub), "%s/%s", rel, entry);

    if (n < 0 || (size_t)n >= sizeof(sub)) {
        return -ENAMETOOLONG; /* never open a cut name: it could be another entry */
    }
    return open_rel(lh, sub);
}

/* A SCSI/ATA disk's serial: the device's own attribute, else VPD page 80h (4-byte header). */
static void scsi_serial(int dev_fd, char *out, size_t len)
{
    char vpd[WARD_INV_SERIAL_LEN + 4];
    ssize_t n;

    attr(dev_fd, "serial", out, len);
    if (out[0] != '\0') {
        return;
    }
    n = lx_read_once(dev_fd, "vpd_pg80", vpd, sizeof(vpd));
    if (n > 4) {
        size_t k = (size_t)n - 4 < len - 1 ? (size_t)n - 4 : len - 1;

        memcpy(out, vpd + 4, k);
        out[k] = '\0';
        trim(out);
    }
}

static void block_disk(const struct ward_linux_hal *lh, const char *name, struct ward_inv_disk *o)
{
    char vendor[WARD_INV_MODEL_LEN], model[WARD_INV_MODEL_LEN];
    int blk = open_entry(lh, "/sys/block", name);
    int dev = blk >= 0 ? lx_open_dir(blk, "device") : -ENOENT;

    if (dev >= 0) {
        attr(dev, "vendor", vendor, sizeof(vendor));
        attr(dev, "model", model, sizeof(model));
        /* libata reports every drive's vendor as "ATA": the model alone names it */
        if (vendor[0] != '\0' && strcmp(vendor, "ATA") != 0 && model[0] != '\0') {
            snprintf(o->model, sizeof(o->model), "%.31s %.31s", vendor, model);
        } else {
            snprintf(o->model, sizeof(o->model), "%s", model);
        }
        attr(dev, "rev", o->firmware, sizeof(o->firmware));
        scsi_serial(dev, o->serial, sizeof(o->serial));
        close(dev);
    }
    if (blk >= 0 && o->serial[0] == '\0') {
        attr(blk, "serial", o->serial, sizeof(o->serial)); /* virtio-blk */
    }
    if (blk >= 0) {
        close(blk);
    }
}

static void nvme_disk(const struct ward_linux_hal *lh, const char *name, struct ward_inv_disk *o)
{
    int fd = open_entry(lh, "/sys/class/nvme", name);

    if (fd < 0) {
        return;
    }
    attr(fd, "model", o->model, sizeof(o->model));
    attr(fd, "serial", o->serial, sizeof(o->serial));
    attr(fd, "firmware_rev", o->firmware, sizeof(o->firmware));
    close(fd);
}

static int inv_disk(const struct ward_device *dev, unsigned i, struct ward_inv_disk *out)
{
    struct inv_list l = { .n = 0 };
    const struct inv_entry *e;

    if (out == NULL) {
        return -EINVAL;
    }
    /* NVMe namespaces (nvme0n1) are listed as their controller (nvme0), which has the ids */
    list_dir(LH(dev), "/sys/block", "device", "nvme", 0, &l);
    list_dir(LH(dev), "/sys/class/nvme", "serial", NULL, 1, &l);
    e = pick(&l, i);
    if (e == NULL) {
        return -ENOENT;
    }
    memset(out, 0, sizeof(*out));
    copy_cut(out->name, sizeof(out->name), e->name);
    if (e->src == 0) {
        block_disk(LH(dev), e->name, out);
    } else {
        nvme_disk(LH(dev), e->name, out);
    }
    return 0;
}

/* The last path component of the link rel under dir_fd ("e1000e"), or "". */
static void link_name(int dir_fd, const char *rel, char *out, size_t len)
{
    char target[256];
    ssize_t n = readlinkat(dir_fd, rel, target, sizeof(target) - 1);
    const char *base;

    out[0] = '\0';
    if (n <= 0) {
        return;
    }
    target[n] = '\0';
    base = strrchr(target, '/');
    copy_cut(out, len, base != NULL ? base + 1 : target);
    trim(out);
}

static int inv_nic(const struct ward_device *dev, unsigned i, struct ward_inv_nic *out)
{
    struct inv_list l = { .n = 0 };
    const struct inv_entry *e;
    int fd;

    if (out == NULL) {
        return -EINVAL;
    }
    list_dir(LH(dev), "/sys/class/net", "device", NULL, 0, &l);
    e = pick(&l, i);
    if (e == NULL) {
        return -ENOENT;
    }
    memset(out, 0, sizeof(*out));
    copy_cut(out->name, sizeof(out->name), e->name);
    fd = open_entry(LH(dev), "/sys/class/net", e->name);
    if (fd >= 0) {
        attr(fd, "address", out->mac, sizeof(out->mac));
        link_name(fd, "device/driver", out->driver, sizeof(out->driver));
        close(fd);
    }
    return 0;
}

static bool is_input(const char *f)
{
    static const char *const kinds[] = {
        "temp", "fan", "in", "power", "curr", "humidity", "energy"
    };
    size_t n = strlen(f);

    if (n < 7 || strcmp(f + n - 6, "_input") != 0) {
        return false;
    }
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        size_t kl = strlen(kinds[k]);

        if (strncmp(f, kinds[k], kl) == 0 && f[kl] >= '0' && f[kl] <= '9') {
            return true;
        }
    }
    return false;
}

static uint32_t count_inputs(int fd)
{
    struct lx_dir_iter it;
    const char *f;
    uint32_t n = 0;

    lx_dir_begin(&it, fd);
    while ((f = lx_dir_next(&it)) != NULL && n < UINT16_MAX) {
        n += is_input(f);
    }
    return n;
}

/* Chips by their hwmon name; repeats of a name (two sockets' coretemp) as "~2", "~3". */
static int inv_chip(const struct ward_device *dev, unsigned i, struct ward_inv_chip *out)
{
    struct inv_list l = { .n = 0 };
    const struct inv_entry *e;
    unsigned same = 1;
    int fd;

    if (out == NULL) {
        return -EINVAL;
    }
    list_dir(LH(dev), "/sys/class/hwmon", "name", NULL, 0, &l);
    for (unsigned k = 0; k < l.n; k++) {
        int cf = open_entry(LH(dev), "/sys/class/hwmon", l.e[k].dir);

        if (cf >= 0) {
            attr(cf, "name", l.e[k].name, WARD_INV_NAME_LEN - 3);
            close(cf);
        }
        if (l.e[k].name[0] == '\0') {
            copy_cut(l.e[k].name, sizeof(l.e[k].name), l.e[k].dir);
        }
    }
    e = pick(&l, i);
    if (e == NULL) {
        return -ENOENT;
    }
    while (same <= i && strcmp(l.e[i - same].name, e->name) == 0) {
        same++;
    }
    memset(out, 0, sizeof(*out));
    copy_cut(out->name, sizeof(out->name), e->name);
    if (same > 1) {
        char suffix[8];

        snprintf(suffix, sizeof(suffix), "~%u", same & 0xffu); /* same <= INV_LIST_MAX */
        out->name[sizeof(out->name) - 1 - strlen(suffix)] = '\0';
        memcpy(out->name + strlen(out->name), suffix, strlen(suffix) + 1);
    }
    fd = open_entry(LH(dev), "/sys/class/hwmon", e->dir);
    if (fd >= 0) {
        out->sensors = count_inputs(fd);
        close(fd);
    }
    return 0;
}

const struct ward_inventory_ops lx_inventory_ops = {
    .disk = inv_disk,
    .nic = inv_nic,
    .chip = inv_chip,
};
