/*
 * The bottom of the disk backend: the system calls it goes through (replaceable by tests,
 * lx_disk_set_io()), errno to reason mapping and the one permission warning. Every other
 * disk file calls down into this one and nothing here calls up.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "disk_internal.h"

static int real_open(const char *path, int flags)
{
    return open(path, flags);
}

static int real_ioctl(int fd, unsigned long req, void *arg)
{
    return ioctl(fd, req, arg);
}

static void real_warn(const char *line)
{
    fprintf(stderr, "%s\n", line);
}

static const struct lx_disk_io s_real_io = {
    .open = real_open,
    .ioctl = real_ioctl,
    .close = close,
    .warn = real_warn,
};
static const struct lx_disk_io *s_io = &s_real_io;

void lx_disk_set_io(const struct lx_disk_io *io)
{
    s_io = io != NULL ? io : &s_real_io;
}

const struct lx_disk_io *lx_disk_io(void)
{
    return s_io;
}

enum ward_reason lx_disk_reason(int err)
{
    switch (err < 0 ? -err : err) {
    case EACCES:
    case EPERM:
        return WARD_REASON_PERMISSION;
    case ENOENT:
    case ENODEV:
    case ENXIO:
        return WARD_REASON_MISSING;
    case EOPNOTSUPP:
        return WARD_REASON_NOT_SUPPORTED;
    case EBADMSG:
    case EMSGSIZE:
    case EPROTO:
        return WARD_REASON_BAD_DATA;
    default:
        return WARD_REASON_IO_ERROR;
    }
}

void lx_disk_warn_permission(struct lx_disk_set *set)
{
    char line[400], names[160] = "";
    bool ata = false, nvme = false;
    size_t o = 0;

    if (set->warned) {
        return;
    }
    for (unsigned i = 0; i < set->n; i++) {
        const struct lx_disk *d = &set->disk[i];

        if (!d->denied) {
            continue;
        }
        ata |= d->info.kind == WARD_DISK_ATA;
        nvme |= d->info.kind == WARD_DISK_NVME;
        if (o + strlen(d->info.dev_name) + 3 < sizeof(names)) {
            int w = snprintf(names + o, sizeof(names) - o, "%s%s", o ? ", " : "", d->info.dev_name);

            o += w > 0 ? (size_t)w : 0;
        }
    }
    if (!ata && !nvme) {
        return;
    }
    (void)snprintf(line, sizeof(line),
                   "ward: SMART not read on %s: permission denied; SMART needs %s%s%s (run as root "
                   "or grant it); the other readings are not affected",
                   names, ata ? "CAP_SYS_RAWIO on ATA" : "", ata && nvme ? " and " : "",
                   nvme ? "CAP_SYS_ADMIN on NVMe" : "");
    s_io->warn(line);
    set->warned = true;
}
