/*
 * Stable identities. A hwmon chip is named by its driver name and the bus address of the
 * device it sits on, found by following the hwmonN/device link and walking up past class
 * devices (nvme0, a thermal zone) to the nearest bus device (PCI function, platform/ISA
 * device, I2C client, SCSI device). hwmonN numbers never enter an id.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ident.h"
#include "internal.h"
#include "ward/hal/linux_parse.h"

/* readlink(dir/subsystem): "../../../bus/pci" or "../../../../class/nvme". */
static int subsystem_of(const char *dir, char *link, size_t len)
{
    char p[PATH_MAX];
    ssize_t n;

    if (strlen(dir) + sizeof("/subsystem") > sizeof(p)) {
        return -ENAMETOOLONG;
    }
    strcpy(p, dir);
    strcat(p, "/subsystem");
    n = readlink(p, link, len - 1);
    if (n < 0) {
        return -errno;
    }
    link[n] = '\0';
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');

    return s != NULL ? s + 1 : path;
}

/* The SCSI device's wwid as an id part, 0 when it has none. */
static size_t scsi_wwid(const char *dir, char *out, size_t len)
{
    char p[PATH_MAX], buf[LX_VALUE_MAX];
    ssize_t n;

    if (strlen(dir) + sizeof("/wwid") > sizeof(p)) {
        return 0;
    }
    strcpy(p, dir);
    strcat(p, "/wwid");
    n = lx_read_once(AT_FDCWD, p, buf, sizeof(buf));
    if (n <= 0) {
        return 0;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) {
        n--;
    }
    return ward_linux_wwid_id(out, len, buf, (size_t)n);
}

int lx_device_bus_id(const char *devices_root, const char *dev_link, char *out, size_t len)
{
    char p[PATH_MAX], link[PATH_MAX];
    size_t rootlen = strlen(devices_root);
    bool first = true;

    out[0] = '\0';
    if (realpath(dev_link, p) == NULL) {
        return errno == ENOENT ? LX_DEV_VIRTUAL : -errno;
    }
    for (int depth = 0; depth < 24; depth++, first = false) {
        char *slash;

        if (strncmp(p, devices_root, rootlen) != 0 || strlen(p) <= rootlen) {
            return LX_DEV_VIRTUAL; /* walked out of /sys/devices: no bus device */
        }
        if (subsystem_of(p, link, sizeof(link)) == 0) {
            const char *sub = base_name(link);

            if (strstr(link, "/class/") == NULL) {
                if (strcmp(sub, "scsi") == 0 && scsi_wwid(p, out, len) > 0) {
                    return LX_DEV_BUS;
                }
                ward_linux_bus_id(out, len, sub, base_name(p));
                return LX_DEV_BUS;
            }
            if (first && strcmp(sub, "thermal") == 0) {
                return LX_DEV_THERMAL_ZONE;
            }
        }
        slash = strrchr(p, '/');
        if (slash == NULL || slash == p) {
            break;
        }
        *slash = '\0';
    }
    return LX_DEV_VIRTUAL;
}

void lx_ids_dedupe(struct ward_sensor_info *first, size_t stride, size_t n)
{
    char *base = (char *)first;

    /* Backwards, so every earlier id is still unsuffixed when it is compared. */
    for (size_t i = n; i-- > 1;) {
        struct ward_sensor_info *a = (struct ward_sensor_info *)(void *)(base + i * stride);
        unsigned dup = 1;

        for (size_t j = 0; j < i; j++) {
            const struct ward_sensor_info *b =
                (const struct ward_sensor_info *)(const void *)(base + j * stride);

            dup += strcmp(a->id, b->id) == 0;
        }
        if (dup > 1) {
            char suffix[8];
            size_t sl = 0, al = strlen(a->id);

            suffix[sl++] = '~';
            for (unsigned div = 1000; div > 0; div /= 10) {
                if (dup >= div || sl > 1) {
                    suffix[sl++] = (char)('0' + (dup / div) % 10);
                }
            }
            if (al + sl >= WARD_SENSOR_ID_MAX) {
                al = WARD_SENSOR_ID_MAX - 1 - sl;
            }
            memcpy(a->id + al, suffix, sl);
            a->id[al + sl] = '\0';
        }
    }
}
