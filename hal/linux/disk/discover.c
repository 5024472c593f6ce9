/*
 * Finding disks and naming them without waking them.
 *
 * Disks come from ROOT/sys/block: sdX whose SCSI vendor is "ATA" (libata, or a SAT bridge
 * that says so) are read with ATA PASS-THROUGH on /dev/sdX; nvmeXnY namespaces lead to their
 * controller /dev/nvmeK (through the namespace's device link, which with native multipath
 * points at the subsystem), read once per controller.
 *
 * Identity ("disk:<model>_<serial>"), in order of preference:
 *  ATA:  IDENTIFY DEVICE from the drive, only when CHECK POWER MODE says it is awake;
 *        else libata's cached IDENTIFY (ata_device/devN.M/id, no command at all);
 *        else the INQUIRY model (cut to 16 characters by the SATL) and the serial of VPD
 *        page 80h, marked partial.
 *  NVMe: Identify Controller; else the kernel's copy in /sys/class/nvme/nvmeK/{model,serial,
 *        firmware_rev}, which is the same text.
 */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disk_internal.h"
#include "ward/hal/linux.h"

#define NAME_MAX_LEN 32
#define SCAN_MAX     256
#define PATH_LEN     512

/* printf into a path buffer. @return 0, or -ENAMETOOLONG when it did not fit (then unused). */
__attribute__((format(printf, 3, 4))) static int pathf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* Copy src into dst, cut to fit (names and labels are allowed to be shortened). */
static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Read a small sysfs file into buf (NUL-terminated). @return bytes read or -errno. */
static ssize_t read_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        return -errno;
    }
    n = read(fd, buf, size - 1);
    if (n < 0) {
        n = -errno;
    } else {
        buf[n] = '\0';
    }
    close(fd);
    return n;
}

/* Text attribute with surrounding whitespace removed; "" when absent. */
static void read_attr(const char *path, char *out, size_t size)
{
    char buf[128];
    ssize_t n = read_file(path, buf, sizeof(buf));
    size_t start = 0, end;

    out[0] = '\0';
    if (n <= 0) {
        return;
    }
    end = (size_t)n;
    /* read_file() filled buf[0..n) and end <= n */
    // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
    while (start < end && (buf[start] == ' ' || buf[start] == '\t' || buf[start] == '\n')) {
        start++;
    }
    while (end > start && (buf[end - 1] == ' ' || buf[end - 1] == '\n' || buf[end - 1] == '\t')) {
        end--;
    }
    if (end - start >= size) {
        end = start + size - 1;
    }
    memcpy(out, buf + start, end - start);
    out[end - start] = '\0';
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

static bool is_sd(const char *n)
{
    if (strncmp(n, "sd", 2) != 0 || n[2] == '\0') {
        return false;
    }
    for (n += 2; *n != '\0'; n++) {
        if (*n < 'a' || *n > 'z') {
            return false;
        }
    }
    return true;
}

static bool is_nvme_ctrl(const char *n)
{
    return strncmp(n, "nvme", 4) == 0 && all_digits(n + 4, strlen(n + 4));
}

/* nvme<X>n<Y>, not the hidden per-path nvme<X>c<C>n<Y> of native multipath. */
static bool is_nvme_ns(const char *n)
{
    const char *p = strchr(n + 4, 'n');

    return strncmp(n, "nvme", 4) == 0 && p != NULL && all_digits(n + 4, (size_t)(p - n - 4)) &&
           all_digits(p + 1, strlen(p + 1));
}

static unsigned long number_at(const char **p)
{
    unsigned long v = 0;

    while (**p >= '0' && **p <= '9') {
        v = v * 10 + (unsigned long)(**p - '0');
        (*p)++;
    }
    return v;
}

/* "sdb" < "sdaa", "nvme2n1" < "nvme10n1": digits compare as numbers, shorter names first. */
static int natural_cmp(const void *pa, const void *pb)
{
    const char *a = pa, *b = pb;

    while (*a != '\0' && *b != '\0') {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            unsigned long x = number_at(&a), y = number_at(&b);

            if (x != y) {
                return x < y ? -1 : 1;
            }
            continue;
        }
        if (*a != *b) {
            size_t la = strlen(a), lb = strlen(b);

            return la != lb ? (la < lb ? -1 : 1) : (*a < *b ? -1 : 1);
        }
        a++;
        b++;
    }
    return *a != '\0' ? 1 : (*b != '\0' ? -1 : 0);
}

static uint64_t block_bytes(const char *root, const char *name)
{
    char path[PATH_LEN], buf[32];

    if (pathf(path, sizeof(path), "%s/sys/block/%s/size", root, name) != 0 ||
        read_file(path, buf, sizeof(buf)) <= 0) {
        return 0;
    }
    return strtoull(buf, NULL, 10) * 512u; /* always 512-byte units, whatever the LBA size */
}

/* The controller (nvmeK) behind namespace block device ns. */
static void nvme_controller(const char *root, const char *ns, char *ctrl, size_t len)
{
    char path[PATH_LEN], link[PATH_MAX];
    const char *base;

    ctrl[0] = '\0';
    if (pathf(path, sizeof(path), "%s/sys/block/%s/device", root, ns) == 0 &&
        realpath(path, link) != NULL) {
        base = strrchr(link, '/') != NULL ? strrchr(link, '/') + 1 : link;
        if (is_nvme_ctrl(base)) {
            copy_str(ctrl, len, base);
            return;
        }
        /* Native multipath: the head's device is nvme-subsysN, which lists its controllers. */
        DIR *d = opendir(path);
        struct dirent *e;
        unsigned long best = ULONG_MAX;

        while (d != NULL && (e = readdir(d)) != NULL) {
            if (is_nvme_ctrl(e->d_name) && strtoul(e->d_name + 4, NULL, 10) < best) {
                best = strtoul(e->d_name + 4, NULL, 10);
            }
        }
        if (d != NULL) {
            closedir(d);
        }
        if (best != ULONG_MAX) {
            (void)pathf(ctrl, len, "nvme%lu", best);
            return;
        }
    }
    /* No link to follow (a bare fixture): nvmeXnY belongs to nvmeX. */
    (void)pathf(ctrl, len, "%.*s", (int)(strchr(ns + 4, 'n') - ns), ns);
}

static struct lx_disk *find(struct lx_disk_set *set, const char *dev_name)
{
    for (unsigned i = 0; i < set->n; i++) {
        if (strcmp(set->disk[i].info.dev_name, dev_name) == 0) {
            return &set->disk[i];
        }
    }
    return NULL;
}

static struct lx_disk *add(struct lx_disk_set *set, const char *dev_name, enum ward_disk_kind kind)
{
    char path[PATH_LEN];
    struct lx_disk *d;
    int flags = O_RDONLY | O_CLOEXEC | (kind == WARD_DISK_ATA ? O_NONBLOCK : 0);

    if (set->n >= LX_DISK_MAX) {
        return NULL;
    }
    d = &set->disk[set->n++];
    memset(d, 0, sizeof(*d));
    d->info.kind = kind;
    copy_str(d->info.dev_name, sizeof(d->info.dev_name), dev_name);
    if (pathf(path, sizeof(path), "%s/dev/%s", set->root, dev_name) == 0) {
        errno = 0;
        d->fd = lx_disk_io()->open(path, flags);
        d->open_err = d->fd < 0 ? (errno != 0 ? errno : EIO) : 0;
    } else {
        d->fd = -1;
        d->open_err = ENAMETOOLONG;
    }
    d->denied = d->open_err == EACCES || d->open_err == EPERM;
    return d;
}

int lx_disk_discover(struct lx_disk_set *set)
{
    static char names[SCAN_MAX][NAME_MAX_LEN];
    char path[PATH_LEN], buf[64], ctrl[NAME_MAX_LEN];
    unsigned n = 0;
    struct dirent *e;
    DIR *dir;
    int rc = 0;

    dir = pathf(path, sizeof(path), "%s/sys/block", set->root) == 0 ? opendir(path) : NULL;
    if (dir == NULL) {
        return 0; /* no block devices: no disks */
    }
    while ((e = readdir(dir)) != NULL && n < SCAN_MAX) {
        if ((is_sd(e->d_name) || is_nvme_ns(e->d_name)) && strlen(e->d_name) < NAME_MAX_LEN) {
            copy_str(names[n++], NAME_MAX_LEN, e->d_name);
        }
    }
    closedir(dir);
    qsort(names, n, NAME_MAX_LEN, natural_cmp);

    for (unsigned i = 0; i < n; i++) {
        struct lx_disk *d;

        if (is_sd(names[i])) {
            buf[0] = '\0';
            if (pathf(path, sizeof(path), "%s/sys/block/%s/device/vendor", set->root, names[i]) ==
                0) {
                read_attr(path, buf, sizeof(buf));
            }
            if (strncmp(buf, "ATA", 3) != 0) {
                continue; /* SAS, USB mass storage, virtual disks: not ATA */
            }
            d = add(set, names[i], WARD_DISK_ATA);
        } else {
            nvme_controller(set->root, names[i], ctrl, sizeof(ctrl));
            d = find(set, ctrl);
            if (d == NULL) {
                d = add(set, ctrl, WARD_DISK_NVME);
            }
        }
        if (d == NULL) {
            rc = -ENOSPC;
            break;
        }
        d->info.capacity_bytes += block_bytes(set->root, names[i]);
    }
    return rc;
}

/* nvme<X>c<C>n<Y>: one path of a native-multipath namespace (the kernel hides it). */
static bool is_nvme_path(const char *n)
{
    const char *c = strncmp(n, "nvme", 4) == 0 ? strchr(n + 4, 'c') : NULL;
    const char *ns = c != NULL ? strchr(c + 1, 'n') : NULL;

    return ns != NULL && all_digits(n + 4, (size_t)(c - n - 4)) &&
           all_digits(c + 1, (size_t)(ns - c - 1)) && all_digits(ns + 1, strlen(ns + 1));
}

/* Block devices that are never a drive with SMART, by the name the kernel gives them. */
static const struct {
    const char *prefix;
    const char *why;
} k_not_drives[] = {
    { "vd", "virtio disks have no SMART" },
    { "xvd", "Xen virtual disks have no SMART" },
    { "dm-", "device-mapper: SMART is read from the disks under it" },
    { "md", "software RAID: SMART is read from the disks under it" },
    { "mmcblk", "MMC and SD storage has no SMART" },
    { "mtdblock", "raw flash (MTD) has no SMART" },
    { "nbd", "network block devices have no SMART" },
    { "sr", "optical drives are not read" },
    { "loop", "loop devices are files, not disks" },
    { "zram", "RAM disks have no SMART" },
    { "ram", "RAM disks have no SMART" },
};

bool ward_linux_disk_left_out(const char *root, const char *name, char *why, size_t len)
{
    char path[PATH_LEN], vendor[64] = "";

    if (why == NULL || len == 0 || name == NULL) {
        return false;
    }
    why[0] = '\0';
    root = root != NULL && strcmp(root, "/") != 0 ? root : "";
    if (is_nvme_ns(name)) {
        return false;
    }
    if (is_sd(name)) {
        if (pathf(path, sizeof(path), "%s/sys/block/%s/device/vendor", root, name) == 0) {
            read_attr(path, vendor, sizeof(vendor));
        }
        if (strncmp(vendor, "ATA", 3) == 0) {
            return false;
        }
        (void)snprintf(why, len, "SCSI vendor \"%s\" is not ATA: only ATA disks are read", vendor);
        return true;
    }
    if (is_nvme_path(name)) {
        (void)snprintf(why, len,
                       "a path of a multipath NVMe namespace: read through its "
                       "controller");
        return true;
    }
    for (size_t i = 0; i < sizeof(k_not_drives) / sizeof(k_not_drives[0]); i++) {
        if (strncmp(name, k_not_drives[i].prefix, strlen(k_not_drives[i].prefix)) == 0) {
            (void)snprintf(why, len, "%s", k_not_drives[i].why);
            return true;
        }
    }
    (void)snprintf(why, len, "not an ATA or NVMe disk");
    return true;
}

/* libata's cached IDENTIFY: ".../ataN/linkL/devN.M/ata_device/devN.M/id", 256 hex words. */
static int cached_identify_path(const char *root, const char *name, char *out, size_t len)
{
    char path[PATH_LEN], real[PATH_MAX], *ata;
    unsigned found = 0;
    DIR *links;
    struct dirent *l;

    if (pathf(path, sizeof(path), "%s/sys/block/%s/device", root, name) != 0 ||
        realpath(path, real) == NULL) {
        return -ENOENT;
    }
    /* .../ataN/hostH/targetH:C:T/H:C:T:L: cut after the ataN component */
    for (ata = strstr(real, "/ata"); ata != NULL; ata = strstr(ata + 1, "/ata")) {
        size_t digits = strspn(ata + 4, "0123456789");

        if (digits > 0 && ata[4 + digits] == '/') {
            ata[4 + digits] = '\0';
            break;
        }
    }
    if (ata == NULL || (links = opendir(real)) == NULL) {
        return -ENOENT;
    }
    while ((l = readdir(links)) != NULL) {
        char lpath[PATH_LEN];
        DIR *devs;
        struct dirent *dv;

        if (strncmp(l->d_name, "link", 4) != 0) {
            continue;
        }
        devs = pathf(lpath, sizeof(lpath), "%s/%s", real, l->d_name) == 0 ? opendir(lpath) : NULL;
        while (devs != NULL && (dv = readdir(devs)) != NULL) {
            if (strncmp(dv->d_name, "dev", 3) == 0 && found++ == 0 &&
                pathf(out, len, "%s/%s/ata_device/%s/id", lpath, dv->d_name, dv->d_name) != 0) {
                found++; /* unusable: counts as ambiguous */
            }
        }
        if (devs != NULL) {
            closedir(devs);
        }
    }
    closedir(links);
    /* Behind a port multiplier or on a PATA master/slave pair the mapping is not 1:1. */
    return found == 1 ? 0 : -ENOENT;
}

static int cached_identify(const char *root, const char *name, uint8_t id[512])
{
    char path[PATH_LEN], text[2048], *p;
    unsigned words = 0;
    ssize_t n;

    if (cached_identify_path(root, name, path, sizeof(path)) != 0) {
        return -ENOENT;
    }
    n = read_file(path, text, sizeof(text));
    if (n <= 0) {
        return n < 0 ? (int)n : -ENODATA;
    }
    for (p = text; words < 256;) {
        char *end;
        unsigned long w = strtoul(p, &end, 16);

        if (end == p || w > 0xffff) {
            break;
        }
        id[2 * words] = (uint8_t)w;
        id[2 * words + 1] = (uint8_t)(w >> 8);
        words++;
        p = end;
    }
    return words == 256 ? 0 : -EPROTO;
}

/* INQUIRY model (16 characters at most through a SATL) and VPD page 80h serial. */
static void partial_identity(const char *root, struct lx_disk *d)
{
    char path[PATH_LEN], vpd[80];
    ssize_t n;

    d->info.model[0] = d->info.firmware[0] = '\0';
    if (pathf(path, sizeof(path), "%s/sys/block/%s/device/model", root, d->info.dev_name) == 0) {
        read_attr(path, d->info.model, sizeof(d->info.model));
    }
    if (pathf(path, sizeof(path), "%s/sys/block/%s/device/rev", root, d->info.dev_name) == 0) {
        read_attr(path, d->info.firmware, sizeof(d->info.firmware));
    }
    n = pathf(path, sizeof(path), "%s/sys/block/%s/device/vpd_pg80", root, d->info.dev_name) == 0
            ? read_file(path, vpd, sizeof(vpd))
            : -ENAMETOOLONG;
    d->info.serial[0] = '\0';
    /* read_file() filled vpd[0..n) and n > 4 */
    // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
    if (n > 4 && (uint8_t)vpd[1] == 0x80) {
        size_t len = ((size_t)(uint8_t)vpd[2] << 8) | (uint8_t)vpd[3];
        size_t start = 4, end;

        end = 4 + len < (size_t)n ? 4 + len : (size_t)n;
        while (start < end && vpd[start] == ' ') {
            start++;
        }
        while (end > start && (vpd[end - 1] == ' ' || vpd[end - 1] == '\0')) {
            end--;
        }
        if (end - start >= sizeof(d->info.serial)) {
            end = start + sizeof(d->info.serial) - 1;
        }
        memcpy(d->info.serial, vpd + start, end - start);
        d->info.serial[end - start] = '\0';
    }
    copy_str(d->info.sensor.label, sizeof(d->info.sensor.label), d->info.model);
    if (ward_smart_disk_id(d->info.sensor.id, sizeof(d->info.sensor.id), d->info.model,
                           d->info.serial) == 0) {
        d->ident = LX_DISK_ID_SYSFS_PARTIAL;
    }
}

static void identify_ata(struct lx_disk_set *set, struct lx_disk *d)
{
    uint8_t id[512];
    uint64_t sysfs_bytes = d->info.capacity_bytes;
    enum lx_disk_power pm;
    bool from_drive = false;

    if (d->fd >= 0) {
        int rc = lx_disk_ata_power(d->fd, &pm);

        if (rc == 0 && pm == LX_DISK_ACTIVE) {
            rc = lx_disk_ata_identify(d->fd, id);
            from_drive = rc == 0;
        }
        d->denied = rc == -EPERM || rc == -EACCES;
    }
    if ((from_drive || cached_identify(set->root, d->info.dev_name, id) == 0) &&
        ward_ata_identify_decode(id, sizeof(id), &d->info, &d->ata) == 0) {
        d->ident = LX_DISK_ID_FULL;
        d->have_ata_flags = true;
    } else {
        partial_identity(set->root, d);
    }
    if (d->info.capacity_bytes == 0) {
        d->info.capacity_bytes = sysfs_bytes;
    }
}

static void identify_nvme(struct lx_disk_set *set, struct lx_disk *d)
{
    uint8_t id[WARD_NVME_IDENTIFY_SIZE];
    uint64_t sysfs_bytes = d->info.capacity_bytes;
    char path[PATH_LEN];
    const char *c = d->info.dev_name;

    int rc = d->fd >= 0 ? lx_disk_nvme_identify(d->fd, id) : -EBADF;

    d->denied = rc == -EPERM || rc == -EACCES;
    if (rc == 0 && ward_smart_nvme_identify_decode(id, sizeof(id), &d->info) == 0) {
        d->ident = LX_DISK_ID_FULL;
    } else {
        static const char *const attrs[] = { "model", "serial", "firmware_rev" };
        char *dst[] = { d->info.model, d->info.serial, d->info.firmware };
        const size_t size[] = { sizeof(d->info.model), sizeof(d->info.serial),
                                sizeof(d->info.firmware) };

        for (unsigned k = 0; k < 3; k++) {
            dst[k][0] = '\0';
            if (pathf(path, sizeof(path), "%s/sys/class/nvme/%s/%s", set->root, c, attrs[k]) == 0) {
                read_attr(path, dst[k], size[k]);
            }
        }
        copy_str(d->info.sensor.label, sizeof(d->info.sensor.label), d->info.model);
        if (ward_smart_disk_id(d->info.sensor.id, sizeof(d->info.sensor.id), d->info.model,
                               d->info.serial) == 0) {
            d->ident = LX_DISK_ID_FULL; /* the kernel's copy of the same strings */
        }
    }
    if (d->info.capacity_bytes == 0) {
        d->info.capacity_bytes = sysfs_bytes; /* TNVMCAP not reported: the namespaces */
    }
}

void lx_disk_identify(struct lx_disk_set *set, struct lx_disk *d)
{
    if (d->info.kind == WARD_DISK_ATA) {
        identify_ata(set, d);
    } else {
        identify_nvme(set, d);
    }
    if (d->ident == LX_DISK_ID_NONE) {
        /* Nothing names the drive: fall back to the kernel name, which is not stable. */
        (void)pathf(d->info.sensor.id, sizeof(d->info.sensor.id), "disk:%s", d->info.dev_name);
    }
    if (d->info.sensor.label[0] == '\0') {
        copy_str(d->info.sensor.label, sizeof(d->info.sensor.label), d->info.dev_name);
    }
}
