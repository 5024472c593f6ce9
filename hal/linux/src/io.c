/*
 * File access for the Linux backend: kept fds re-read with pread at offset 0 (sysfs and
 * seq_file procfs regenerate their text on every read from offset 0), per-read opens through
 * a directory fd when a file is not kept, and errno -> reason mapping.
 */
#define _GNU_SOURCE /* getdents64 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "ward/hal/linux_parse.h"

#define LX_EINTR_RETRIES 4

int lx_path(const struct ward_linux_hal *lh, char *buf, size_t len, const char *rel)
{
    size_t rl = strlen(lh->root), l = strlen(rel);

    if (rl + l + 1 > len) {
        return -ENAMETOOLONG;
    }
    memcpy(buf, lh->root, rl);
    memcpy(buf + rl, rel, l + 1);
    return 0;
}

int lx_open_dir(int at_fd, const char *path)
{
    int fd = openat(at_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    return fd >= 0 ? fd : -errno;
}

int lx_dir_add(struct ward_linux_hal *lh, int fd)
{
    if (lh->n_dirs >= WARD_LINUX_DIRS_MAX) {
        close(fd);
        return -ENOSPC;
    }
    lh->dir_fd[lh->n_dirs] = fd;
    return lh->n_dirs++;
}

static int open_retry(int dir_fd, const char *name)
{
    int fd, tries = 0;

    do {
        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    } while (fd < 0 && errno == EINTR && ++tries < LX_EINTR_RETRIES);
    return fd >= 0 ? fd : -errno;
}

int lx_attr_open(struct ward_linux_hal *lh, int dir_fd, const char *name, int *fd)
{
    int f = open_retry(dir_fd, name);

    *fd = -1;
    if (f < 0) {
        return f;
    }
    if (lh->keep_open && lh->open_files < lh->open_budget) {
        *fd = f;
        lh->open_files++;
    } else {
        close(f);
    }
    return 0;
}

void lx_fd_close(struct ward_linux_hal *lh, int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
        if (lh->open_files > 0) {
            lh->open_files--;
        }
    }
}

static ssize_t read_retry(int fd, char *buf, size_t len, off_t off, bool positional)
{
    ssize_t n;
    int tries = 0;

    do {
        n = positional ? pread(fd, buf, len, off) : read(fd, buf, len);
    } while (n < 0 && errno == EINTR && ++tries < LX_EINTR_RETRIES);
    return n >= 0 ? n : -errno;
}

ssize_t lx_attr_read(struct ward_linux_hal *lh, int dir_fd, int *fd, const char *name, char *buf,
                     size_t len)
{
    ssize_t n;

    if (len == 0) {
        return -EINVAL;
    }
    if (*fd >= 0) {
        n = read_retry(*fd, buf, len - 1, 0, true);
        /* The device went away under a kept fd: drop it; the next read reopens by name. */
        if (n == -ENODEV || n == -ENXIO) {
            lx_fd_close(lh, fd);
        }
    } else if (name == NULL) {
        return -EINVAL;
    } else {
        int f = open_retry(dir_fd, name);

        if (f < 0) {
            return f;
        }
        n = read_retry(f, buf, len - 1, 0, false);
        close(f);
    }
    if (n >= 0) {
        buf[n] = '\0';
    }
    return n;
}

int lx_attr_read_i64(struct ward_linux_hal *lh, int dir_fd, int *fd, const char *name, int64_t *out)
{
    char buf[48];
    ssize_t n = lx_attr_read(lh, dir_fd, fd, name, buf, sizeof(buf));

    return n < 0 ? (int)n : ward_linux_parse_i64(buf, (size_t)n, out);
}

ssize_t lx_read_once(int dir_fd, const char *name, char *buf, size_t len)
{
    int f;
    ssize_t n;

    if (len == 0) {
        return -EINVAL;
    }
    f = open_retry(dir_fd, name);
    if (f < 0) {
        return f;
    }
    n = read_retry(f, buf, len - 1, 0, false);
    close(f);
    if (n >= 0) {
        buf[n] = '\0';
    }
    return n;
}

int lx_read_once_i64(int dir_fd, const char *name, int64_t *out)
{
    char buf[48];
    ssize_t n = lx_read_once(dir_fd, name, buf, sizeof(buf));

    return n < 0 ? (int)n : ward_linux_parse_i64(buf, (size_t)n, out);
}

enum ward_reason lx_reason(int err)
{
    switch (err) {
    case -ENOENT:
    case -ENODEV:
    case -ENXIO:
    case -ENOTDIR:
        return WARD_REASON_MISSING;
    case -EACCES:
    case -EPERM:
        return WARD_REASON_PERMISSION;
    case -EOPNOTSUPP:
    case -ENOSYS:
        return WARD_REASON_NOT_SUPPORTED;
    case -EBADMSG:
    case -ERANGE:
        return WARD_REASON_BAD_DATA;
    default:
        /* EIO, and the ENODATA / EAGAIN / EBUSY / ETIMEDOUT drivers return while a
         * sensor has no fresh value: not readable now. */
        return WARD_REASON_IO_ERROR;
    }
}

void lx_problem(struct ward_linux_hal *lh, const char *path, size_t source_len, int err,
                unsigned count, const char *hint)
{
    size_t pl = strlen(path);

    if (source_len > pl) {
        source_len = pl;
    }
    for (unsigned i = 0; i < lh->n_problems; i++) {
        struct ward_linux_problem *p = &lh->problem[i];

        if (p->err == err && p->source_len == source_len &&
            strncmp(p->path, path, source_len) == 0) {
            p->count = (uint16_t)(p->count + count > UINT16_MAX ? UINT16_MAX : p->count + count);
            return;
        }
    }
    if (lh->n_problems >= WARD_LINUX_MAX_PROBLEMS) {
        if (lh->problems_dropped < UINT16_MAX) {
            lh->problems_dropped++;
        }
        return;
    }
    struct ward_linux_problem *p = &lh->problem[lh->n_problems++];

    if (pl >= sizeof(p->path)) {
        /* Keep the tail: it names the file; "..." marks the cut. */
        memcpy(p->path, "...", 3);
        memcpy(p->path + 3, path + pl - (sizeof(p->path) - 4), sizeof(p->path) - 3);
        source_len = 0;
    } else {
        memcpy(p->path, path, pl + 1);
    }
    p->source_len = (uint16_t)source_len;
    p->count = (uint16_t)(count > UINT16_MAX ? UINT16_MAX : count);
    p->err = err;
    p->hint = hint;
}

void lx_lines_begin(struct lx_lines *l, int fd)
{
    l->fd = fd;
    l->off = 0;
    l->len = 0;
    l->pos = 0;
    l->eof = false;
}

/* Move the unread tail to the front and read more after it. */
static int lines_fill(struct lx_lines *l)
{
    ssize_t n;

    if (l->pos > 0) {
        memmove(l->buf, l->buf + l->pos, l->len - l->pos);
        l->len -= l->pos;
        l->pos = 0;
    }
    n = read_retry(l->fd, l->buf + l->len, sizeof(l->buf) - l->len, l->off, true);
    if (n < 0) {
        return (int)n;
    }
    if (n == 0) {
        l->eof = true;
    }
    l->off += n;
    l->len += (size_t)n;
    return 0;
}

int lx_lines_next(struct lx_lines *l, const char **line, size_t *len)
{
    bool skipping = false;

    for (;;) {
        char *start = l->buf + l->pos;
        char *nl = memchr(start, '\n', l->len - l->pos);
        int rc;

        if (nl != NULL) {
            l->pos = (size_t)(nl - l->buf) + 1;
            if (skipping) {
                skipping = false;
                continue;
            }
            *line = start;
            *len = (size_t)(nl - start);
            return 1;
        }
        if (l->eof) {
            if (l->pos < l->len && !skipping) { /* a last line without newline */
                *line = start;
                *len = l->len - l->pos;
                l->pos = l->len;
                return 1;
            }
            return 0;
        }
        if (l->pos == 0 && l->len == sizeof(l->buf)) {
            /* A line longer than the buffer (e.g. /proc/stat "intr"): drop it. */
            l->len = 0;
            skipping = true;
        }
        rc = lines_fill(l);
        if (rc < 0) {
            return rc;
        }
    }
}

void lx_dir_begin(struct lx_dir_iter *it, int dir_fd)
{
    it->fd = dir_fd;
    it->len = 0;
    it->pos = 0;
    it->eof = lseek(dir_fd, 0, SEEK_SET) != 0;
}

const char *lx_dir_next(struct lx_dir_iter *it)
{
    for (;;) {
        if (it->pos >= it->len) {
            ssize_t n;

            if (it->eof) {
                return NULL;
            }
            n = getdents64(it->fd, it->buf, sizeof(it->buf));
            if (n <= 0) {
                it->eof = true;
                return NULL;
            }
            it->len = (size_t)n;
            it->pos = 0;
        }
        struct dirent64 *d = (struct dirent64 *)(void *)(it->buf + it->pos);

        if (d->d_reclen == 0 || it->pos + d->d_reclen > it->len) {
            it->eof = true; /* a malformed record: stop rather than loop */
            it->len = 0;
            return NULL;
        }
        it->pos += d->d_reclen;
        if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0) {
            return d->d_name;
        }
    }
}

static void swap_bytes(unsigned char *a, unsigned char *b, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        unsigned char t = a[i];

        a[i] = b[i];
        b[i] = t;
    }
}

void lx_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    unsigned char *p = base;

    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0 && cmp(p + (j - 1) * size, p + j * size) > 0; j--) {
            swap_bytes(p + (j - 1) * size, p + j * size, size);
        }
    }
}
