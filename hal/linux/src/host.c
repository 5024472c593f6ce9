/*
 * Host load from procfs: CPU ticks (/proc/stat), memory (/proc/meminfo) and block-device I/O
 * (/proc/diskstats, whole disks only: partitions, loop and RAM disks are left out).
 * The three files stay open and are re-read with pread; /proc/stat is read only as far as the
 * per-CPU lines, never through its long interrupt lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "ward/hal/linux_parse.h"

#define LX_PROC_PATH 256

static void open_proc(struct ward_linux_hal *lh, const char *rel, int *fd, enum ward_reason *why)
{
    char path[LX_PROC_PATH];
    int rc = lx_path(lh, path, sizeof(path), rel);

    *fd = -1;
    *why = WARD_REASON_NONE;
    if (rc == 0) {
        rc = lx_attr_open(lh, AT_FDCWD, path, fd);
    }
    if (rc != 0) {
        *why = lx_reason(rc);
        lx_problem(lh, path, strlen(path), -rc, 1,
                   rc == -EACCES ? "run as root or give the agent read access" : NULL);
    }
}

/* The fd to read rel from now: the kept one, or a fresh one left in *tmp for the caller. */
static int proc_fd(const struct ward_linux_hal *lh, int kept, const char *rel, int *tmp)
{
    char path[LX_PROC_PATH];
    int fd;

    *tmp = -1;
    if (kept >= 0) {
        return kept;
    }
    if (lx_path(lh, path, sizeof(path), rel) != 0) {
        return -ENAMETOOLONG;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    *tmp = fd;
    return fd;
}

static void proc_done(int tmp)
{
    if (tmp >= 0) {
        close(tmp);
    }
}

static bool skipped_blk(const char *name)
{
    static const char *const prefixes[] = { "loop", "ram", "zram", "fd" };

    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t l = strlen(prefixes[i]);

        if (strncmp(name, prefixes[i], l) == 0 && name[l] >= '0' && name[l] <= '9') {
            return true;
        }
    }
    return false;
}

/* Whole disks are the entries of /sys/block; without it, every non-skipped name counts. */
static bool whole_disk(int block_fd, const char *name)
{
    struct stat st;

    if (skipped_blk(name)) {
        return false;
    }
    return block_fd < 0 || fstatat(block_fd, name, &st, 0) == 0;
}

static void blk_discover(struct ward_linux_hal *lh)
{
    char path[LX_PROC_PATH];
    struct lx_lines l;
    const char *line;
    size_t len;
    unsigned lost = 0;
    int block_fd = -1, tmp, fd;

    if (lx_path(lh, path, sizeof(path), "/sys/block") == 0) {
        block_fd = lx_open_dir(AT_FDCWD, path);
    }
    fd = proc_fd(lh, lh->diskstats_fd, "/proc/diskstats", &tmp);
    if (fd >= 0) {
        lx_lines_begin(&l, fd);
        while (lx_lines_next(&l, &line, &len) == 1) {
            struct ward_linux_diskstat ds;

            if (ward_linux_parse_diskstats(line, len, &ds) != 0 || !whole_disk(block_fd, ds.name)) {
                continue;
            }
            if (lh->n_blk >= WARD_LINUX_MAX_BLOCK_DEVICES) {
                lost++;
                continue;
            }
            struct ward_linux_blk *b = &lh->blk[lh->n_blk++];

            memset(b, 0, sizeof(*b));
            snprintf(b->info.name, sizeof(b->info.name), "%s", ds.name);
            snprintf(b->info.sensor.id, sizeof(b->info.sensor.id), "blk:%s", ds.name);
            snprintf(b->info.sensor.label, sizeof(b->info.sensor.label), "%s", ds.name);
        }
    }
    proc_done(tmp);
    if (block_fd >= 0) {
        close(block_fd);
    }
    if (lost > 0 && lx_path(lh, path, sizeof(path), "/proc/diskstats") == 0) {
        lx_problem(lh, path, strlen(path), ENOSPC, lost,
                   "block device table full: raise CONFIG_WARD_LINUX_MAX_BLOCK_DEVICES");
    }
}

void lx_host_discover(struct ward_linux_hal *lh)
{
    open_proc(lh, "/proc/stat", &lh->stat_fd, &lh->stat_reason);
    open_proc(lh, "/proc/meminfo", &lh->meminfo_fd, &lh->meminfo_reason);
    open_proc(lh, "/proc/diskstats", &lh->diskstats_fd, &lh->diskstats_reason);
    if (lh->diskstats_reason == WARD_REASON_NONE) {
        blk_discover(lh);
    }
}

int lx_host_cpu(struct ward_linux_hal *lh, struct ward_host_cpu *out)
{
    struct lx_lines l;
    const char *line;
    size_t len;
    int tmp, fd, rc;
    bool have_total = false;
    long hz = sysconf(_SC_CLK_TCK);

    memset(out, 0, sizeof(*out));
    out->ticks_per_second = hz > 0 ? (uint64_t)hz : 100u;
    fd = proc_fd(lh, lh->stat_fd, "/proc/stat", &tmp);
    if (fd < 0) {
        out->status = WARD_STATUS_UNAVAILABLE;
        out->reason = lh->stat_reason != WARD_REASON_NONE ? lh->stat_reason : lx_reason(fd);
        return 0;
    }
    lx_lines_begin(&l, fd);
    while ((rc = lx_lines_next(&l, &line, &len)) == 1) {
        if (ward_linux_is_stat_cpun(line, len)) {
            out->ncpu++;
        } else if (!have_total && ward_linux_parse_stat_cpu(line, len, out->ticks) == 0) {
            have_total = true;
        } else {
            break; /* the per-CPU lines come first; the rest is not needed */
        }
    }
    proc_done(tmp);
    out->status = have_total ? WARD_STATUS_OK : WARD_STATUS_UNAVAILABLE;
    out->reason = have_total ? WARD_REASON_NONE : rc < 0 ? lx_reason(rc) : WARD_REASON_BAD_DATA;
    return 0;
}

static const struct {
    const char *key;
    size_t offset;
} s_mem_keys[] = {
    { "MemTotal", offsetof(struct ward_host_mem, total) },
    { "MemFree", offsetof(struct ward_host_mem, free) },
    { "MemAvailable", offsetof(struct ward_host_mem, available) },
    { "Buffers", offsetof(struct ward_host_mem, buffers) },
    { "Cached", offsetof(struct ward_host_mem, cached) },
    { "SwapTotal", offsetof(struct ward_host_mem, swap_total) },
    { "SwapFree", offsetof(struct ward_host_mem, swap_free) },
};

#define LX_MEM_KEYS     (sizeof(s_mem_keys) / sizeof(s_mem_keys[0]))
#define LX_MEM_OPTIONAL (1u << 2) /* MemAvailable: only since Linux 3.14 */

int lx_host_mem(struct ward_linux_hal *lh, struct ward_host_mem *out)
{
    struct lx_lines l;
    const char *line;
    size_t len;
    unsigned found = 0, seen = 0;
    int tmp, fd, rc = 0;

    memset(out, 0, sizeof(*out));
    fd = proc_fd(lh, lh->meminfo_fd, "/proc/meminfo", &tmp);
    if (fd < 0) {
        out->status = WARD_STATUS_UNAVAILABLE;
        out->reason = lh->meminfo_reason != WARD_REASON_NONE ? lh->meminfo_reason : lx_reason(fd);
        return 0;
    }
    lx_lines_begin(&l, fd);
    while (seen < LX_MEM_KEYS && (rc = lx_lines_next(&l, &line, &len)) == 1) {
        size_t kl = ward_linux_meminfo_key(line, len);
        char key[32];
        uint64_t v;

        for (unsigned k = 0; k < LX_MEM_KEYS; k++) {
            /* Only the wanted keys' numbers are parsed. */
            if ((found & (1u << k)) || kl != strlen(s_mem_keys[k].key) ||
                memcmp(line, s_mem_keys[k].key, kl) != 0) {
                continue;
            }
            if (ward_linux_parse_meminfo(line, len, key, sizeof(key), &v) == 0) {
                memcpy((char *)out + s_mem_keys[k].offset, &v, sizeof(v));
                found |= 1u << k;
            }
            seen++;
            break;
        }
    }
    proc_done(tmp);
    /*
     * A read that failed part way, or a file that ended early, is not a reading: the numbers
     * seen so far would pass for the whole (MemAvailable made up from the others). Every key
     * but MemAvailable is in every kernel's meminfo, so a file without one of them is cut short.
     */
    if (rc < 0 || (found | LX_MEM_OPTIONAL) != (1u << LX_MEM_KEYS) - 1u) {
        memset(out, 0, sizeof(*out));
        out->status = WARD_STATUS_UNAVAILABLE;
        out->reason = rc < 0 ? lx_reason(rc) : WARD_REASON_BAD_DATA;
        return 0;
    }
    if (!(found & LX_MEM_OPTIONAL)) {
        /* Kernels before 3.14 have no MemAvailable: the old free + buffers + cached. */
        out->available = out->free + out->buffers + out->cached;
    }
    out->status = WARD_STATUS_OK;
    out->reason = WARD_REASON_NONE;
    return 0;
}

/* Read /proc/diskstats once into every entry's snapshot and mark them fresh. */
static void blk_refresh(struct ward_linux_hal *lh)
{
    struct lx_lines l;
    const char *line;
    size_t len;
    int tmp, fd, rc = 0;

    for (unsigned i = 0; i < lh->n_blk; i++) {
        memset(&lh->blk[i].snap, 0, sizeof(lh->blk[i].snap));
        lh->blk[i].snap.status = WARD_STATUS_UNAVAILABLE;
        lh->blk[i].snap.reason = WARD_REASON_MISSING; /* until its line is seen */
        lh->blk[i].fresh = true;
    }
    fd = proc_fd(lh, lh->diskstats_fd, "/proc/diskstats", &tmp);
    if (fd >= 0) {
        lx_lines_begin(&l, fd);
        while ((rc = lx_lines_next(&l, &line, &len)) == 1) {
            struct ward_linux_diskstat ds;
            const char *name;
            size_t nl;

            /* Match the name first: partitions and loop devices are most of the lines. */
            if (ward_linux_diskstats_name(line, len, &name, &nl) != 0) {
                continue;
            }
            for (unsigned i = 0; i < lh->n_blk; i++) {
                struct ward_host_blk *s = &lh->blk[i].snap;

                if (strncmp(lh->blk[i].info.name, name, nl) != 0 ||
                    lh->blk[i].info.name[nl] != '\0' ||
                    ward_linux_parse_diskstats(line, len, &ds) != 0) {
                    continue;
                }
                s->reads = ds.reads;
                s->writes = ds.writes;
                s->read_bytes = ds.read_sectors * 512u; /* always 512-byte units */
                s->written_bytes = ds.write_sectors * 512u;
                s->io_ms = ds.io_ms;
                s->in_flight = ds.in_flight;
                s->status = WARD_STATUS_OK;
                s->reason = WARD_REASON_NONE;
                break;
            }
        }
    }
    proc_done(tmp);
    if (fd < 0 || rc < 0) {
        for (unsigned i = 0; i < lh->n_blk; i++) {
            memset(&lh->blk[i].snap, 0, sizeof(lh->blk[i].snap));
            lh->blk[i].snap.status = WARD_STATUS_UNAVAILABLE;
            lh->blk[i].snap.reason = lx_reason(fd < 0 ? fd : rc);
        }
    }
}

int lx_host_blk_read(struct ward_linux_hal *lh, unsigned i, struct ward_host_blk *out)
{
    /*
     * One read of /proc/diskstats serves a whole walk over the disks: a snapshot is handed
     * out once, and asking again for a disk already handed out reads the file anew.
     */
    if (!lh->blk[i].fresh) {
        blk_refresh(lh);
    }
    *out = lh->blk[i].snap;
    lh->blk[i].fresh = false;
    return 0;
}
