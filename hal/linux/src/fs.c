/*
 * Filesystem use: the mounts of /proc/self/mounts (or /proc/mounts), without pseudo
 * filesystems, each read with statvfs(). A mount point mounted over is listed once (the top
 * mount is what statvfs sees); a block device mounted at several places (bind mounts) is
 * listed at its first mount point. Network filesystems are listed but not read: statvfs on a
 * dead server blocks.
 *
 * Under --root there is no real filesystem to ask, so sizes come from ROOT/ward-statvfs, a
 * fixture file in the format of ward_linux_parse_statvfs_line() (docs/probe.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "internal.h"
#include "ward/hal/linux_parse.h"

#define LX_FS_PROC_PATH 256

static struct ward_linux_fs *find_dir(struct ward_linux_hal *lh, const char *dir)
{
    for (unsigned i = 0; i < lh->n_fs; i++) {
        if (strcmp(lh->fs[i].path, dir) == 0) {
            return &lh->fs[i];
        }
    }
    return NULL;
}

static bool same_device_listed(const struct ward_linux_hal *lh, const struct ward_linux_mount *m)
{
    if (m->source[0] != '/') {
        return false; /* tmpfs and friends: every mount is its own filesystem */
    }
    for (unsigned i = 0; i < lh->n_fs; i++) {
        if (strncmp(lh->fs[i].info.source, m->source, sizeof(lh->fs[i].info.source) - 1) == 0 &&
            strcmp(lh->fs[i].info.fs_type, m->type) == 0) {
            return true;
        }
    }
    return false;
}

static void set_info(struct ward_linux_fs *f, const struct ward_linux_mount *m)
{
    size_t dl = strlen(m->dir);

    memset(&f->info, 0, sizeof(f->info));
    snprintf(f->path, sizeof(f->path), "%s", m->dir);
    ward_linux_make_id(f->info.sensor.id, "fs", m->dir, NULL);
    /* Long mount points keep their tail, the part that tells them apart. */
    if (dl < sizeof(f->info.mount_point)) {
        memcpy(f->info.mount_point, m->dir, dl + 1);
    } else {
        size_t keep = sizeof(f->info.mount_point) - 4;

        memcpy(f->info.mount_point, "...", 3);
        memcpy(f->info.mount_point + 3, m->dir + dl - keep, keep + 1);
    }
    ward_linux_label_clean(f->info.sensor.label, sizeof(f->info.sensor.label), f->info.mount_point,
                           strlen(f->info.mount_point));
    ward_linux_label_clean(f->info.fs_type, sizeof(f->info.fs_type), m->type, strlen(m->type));
    ward_linux_label_clean(f->info.source, sizeof(f->info.source), m->source, strlen(m->source));
    f->kind = ward_linux_fs_is_network(m->type) ? WARD_LINUX_FS_NETWORK : WARD_LINUX_FS_LOCAL;
}

static int open_mounts(struct ward_linux_hal *lh, char *path, size_t len)
{
    int fd = -ENAMETOOLONG;

    if (lx_path(lh, path, len, "/proc/self/mounts") == 0) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        fd = fd >= 0 ? fd : -errno;
    }
    if (fd == -ENOENT && lx_path(lh, path, len, "/proc/mounts") == 0) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        fd = fd >= 0 ? fd : -errno;
    }
    return fd;
}

void lx_fs_discover(struct ward_linux_hal *lh)
{
    char path[LX_FS_PROC_PATH];
    struct ward_linux_mount m;
    struct lx_lines l;
    const char *line;
    size_t len;
    unsigned lost = 0, too_long = 0;
    int fd = open_mounts(lh, path, sizeof(path)), rc;

    if (fd < 0) {
        lx_problem(lh, path, strlen(path), -fd, 1, NULL);
        return;
    }
    lx_lines_begin(&l, fd);
    while (lx_lines_next(&l, &line, &len) == 1) {
        struct ward_linux_fs *f;

        rc = ward_linux_parse_mount(line, len, &m);
        too_long += rc == -ENAMETOOLONG;
        if (rc != 0 || ward_linux_fs_is_pseudo(m.type)) {
            continue;
        }
        f = find_dir(lh, m.dir);
        if (f == NULL && same_device_listed(lh, &m)) {
            continue;
        }
        if (f == NULL && lh->n_fs >= WARD_LINUX_MAX_FILESYSTEMS) {
            lost++;
            continue;
        }
        if (f == NULL) {
            f = &lh->fs[lh->n_fs++];
        }
        set_info(f, &m);
    }
    close(fd);
    if (lost > 0) {
        lx_problem(lh, path, strlen(path), ENOSPC, lost,
                   "filesystem table full: raise CONFIG_WARD_LINUX_MAX_FILESYSTEMS");
    }
    if (too_long > 0) {
        lx_problem(lh, path, strlen(path), ENAMETOOLONG, too_long,
                   "mount points this long are not monitored");
    }
}

/* Sizes of the fixture's mount point dir from ROOT/ward-statvfs. */
static void fixture_statvfs(const struct ward_linux_hal *lh, const char *dir,
                            struct ward_host_fs *out)
{
    char path[LX_FS_PROC_PATH], d[WARD_LINUX_FS_PATH_MAX];
    struct lx_lines l;
    const char *line;
    size_t len;
    int fd, rc;

    out->status = WARD_STATUS_UNAVAILABLE;
    out->reason = WARD_REASON_MISSING;
    if (lx_path(lh, path, sizeof(path), "/ward-statvfs") != 0) {
        return;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        out->reason = WARD_REASON_NOT_SUPPORTED; /* no sizes for this fixture */
        return;
    }
    lx_lines_begin(&l, fd);
    while (lx_lines_next(&l, &line, &len) == 1) {
        struct ward_host_fs v;

        if (len == 0 || line[0] == '#') {
            continue;
        }
        if (ward_linux_parse_statvfs_line(line, len, d, sizeof(d), NULL) != 0 ||
            strcmp(d, dir) != 0) {
            continue;
        }
        rc = ward_linux_parse_statvfs_line(line, len, d, sizeof(d), &v);
        if (rc == 0) {
            *out = v;
            out->status = WARD_STATUS_OK;
            out->reason = WARD_REASON_NONE;
            break;
        }
    }
    close(fd);
}

int lx_fs_read(struct ward_linux_hal *lh, unsigned i, struct ward_host_fs *out)
{
    const struct ward_linux_fs *f = &lh->fs[i];
    struct statvfs sv;

    memset(out, 0, sizeof(*out));
    if (f->kind == WARD_LINUX_FS_NETWORK) {
        out->status = WARD_STATUS_UNAVAILABLE;
        out->reason = WARD_REASON_NOT_SUPPORTED;
        return 0;
    }
    if (lh->root[0] != '\0') {
        fixture_statvfs(lh, f->path, out);
        return 0;
    }
    if (statvfs(f->path, &sv) != 0) {
        out->status = WARD_STATUS_UNAVAILABLE;
        out->reason = lx_reason(-errno);
        return 0;
    }
    out->total_bytes = (uint64_t)sv.f_blocks * sv.f_frsize;
    out->free_bytes = (uint64_t)sv.f_bfree * sv.f_frsize;
    out->avail_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
    out->files_total = sv.f_files;
    out->files_free = sv.f_ffree;
    out->status = WARD_STATUS_OK;
    out->reason = WARD_REASON_NONE;
    return 0;
}
