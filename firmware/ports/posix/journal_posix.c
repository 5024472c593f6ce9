#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal_posix.h"

#define JOURNAL "journal"
#define TMP     "journal.tmp"

static int fsync_parent(const char *dir)
{
    char parent[PATH_MAX];
    char *slash;
    int fd;
    int rc = 0;

    if (snprintf(parent, sizeof(parent), "%s", dir) >= (int)sizeof(parent)) {
        return -ENAMETOOLONG;
    }
    while ((slash = strrchr(parent, '/')) != NULL && slash[1] == '\0' && slash != parent) {
        *slash = '\0'; /* ignore trailing slashes */
    }
    slash = strrchr(parent, '/');
    if (slash == NULL) {
        strcpy(parent, ".");
    } else if (slash == parent) {
        parent[1] = '\0';
    } else {
        *slash = '\0';
    }
    fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    if (fsync(fd) != 0) {
        rc = -errno;
    }
    close(fd);
    return rc;
}

static int open_dir(struct ward_store_posix *s, const char *dir)
{
    if (mkdir(dir, 0700) == 0) {
        int rc = fsync_parent(dir);

        if (rc != 0) {
            return rc;
        }
    } else if (errno != EEXIST) {
        return -errno;
    }
    s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0) {
        return -errno;
    }
    if (flock(s->dirfd, LOCK_EX | LOCK_NB) != 0) {
        return errno == EWOULDBLOCK ? -EBUSY : -errno;
    }
    return 0;
}

static int open_journal(struct ward_store_posix *s)
{
    struct stat st;
    bool created = false;

    s->fd = openat(s->dirfd, JOURNAL, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (s->fd >= 0) {
        created = true;
    } else if (errno == EEXIST) {
        s->fd = openat(s->dirfd, JOURNAL, O_RDWR | O_APPEND | O_CLOEXEC);
    }
    if (s->fd < 0 || fstat(s->fd, &st) != 0) {
        return -errno;
    }
    if (!S_ISREG(st.st_mode)) {
        return -EINVAL;
    }
    s->size = (uint64_t)st.st_size;
    /* The new file's directory entry must survive a power cut as much as its contents. */
    if (created && (fsync(s->fd) != 0 || fsync(s->dirfd) != 0)) {
        return -errno;
    }
    return 0;
}

int ward_store_posix_open(struct ward_store_posix *s, const char *dir)
{
    int rc;

    memset(s, 0, sizeof(*s));
    s->dirfd = -1;
    s->fd = -1;
    rc = open_dir(s, dir);
    if (rc == 0) {
        /* A compaction interrupted by a crash: the old journal is intact, drop the copy. */
        if (unlinkat(s->dirfd, TMP, 0) != 0 && errno != ENOENT) {
            rc = -errno;
        }
    }
    if (rc == 0) {
        rc = open_journal(s);
    }
    if (rc != 0) {
        ward_store_posix_close(s);
    }
    return rc;
}

void ward_store_posix_close(struct ward_store_posix *s)
{
    if (s->fd >= 0) {
        close(s->fd);
    }
    if (s->dirfd >= 0) {
        close(s->dirfd); /* releases the flock */
    }
    s->fd = -1;
    s->dirfd = -1;
}

static int sp_size(void *ctx, uint64_t *size)
{
    *size = ((struct ward_store_posix *)ctx)->size;
    return 0;
}

static int sp_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct ward_store_posix *s = ctx;
    size_t got = 0;

    if (len > INT32_MAX) {
        len = INT32_MAX;
    }
    while (got < len) {
        ssize_t n = pread(s->fd, (uint8_t *)buf + got, len - got, (off_t)(off + got));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -EIO;
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    return (int)got;
}

static int write_all(int fd, const void *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = write(fd, (const uint8_t *)buf + done, len - done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return errno == ENOSPC || errno == EDQUOT ? -ENOSPC : -EIO;
        }
        done += (size_t)n;
    }
    return 0;
}

static int sp_append(void *ctx, const void *buf, size_t len)
{
    struct ward_store_posix *s = ctx;
    int rc = write_all(s->fd, buf, len);

    if (rc != 0) {
        /* Never leave part of a record behind (the journal would cut it at recovery
         * anyway, but only after the next restart). */
        if (ftruncate(s->fd, (off_t)s->size) != 0) {
            return -EIO; /* the torn tail is cut at the next recovery instead */
        }
        return rc;
    }
    s->size += len;
    return 0;
}

static int sp_truncate(void *ctx, uint64_t len)
{
    struct ward_store_posix *s = ctx;

    if (ftruncate(s->fd, (off_t)len) != 0) {
        return -EIO;
    }
    s->size = len;
    return 0;
}

static int sp_sync(void *ctx)
{
    struct ward_store_posix *s = ctx;

    if (fdatasync(s->fd) != 0) {
        return -EIO;
    }
    s->fsyncs++;
    return 0;
}

static int sp_rewrite(void *ctx, ward_store_next_fn next, void *arg)
{
    struct ward_store_posix *s = ctx;
    int tfd = openat(s->dirfd, TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    uint64_t written = 0;
    const void *rec;
    size_t len;
    int rc;

    if (tfd < 0) {
        return -errno;
    }
    while ((rc = next(arg, &rec, &len)) == 1) {
        rc = write_all(tfd, rec, len);
        if (rc != 0) {
            break;
        }
        written += len;
    }
    if (rc == 0 && fdatasync(tfd) != 0) {
        rc = -EIO;
    }
    if (rc == 0 && renameat(s->dirfd, TMP, s->dirfd, JOURNAL) != 0) {
        rc = -errno;
    }
    close(tfd);
    if (rc != 0) {
        (void)unlinkat(s->dirfd, TMP, 0);
        return rc;
    }
    /* The rename is durable once the directory is; then switch to the new file. */
    if (fsync(s->dirfd) != 0) {
        rc = -EIO;
    }
    close(s->fd);
    s->fd = openat(s->dirfd, JOURNAL, O_RDWR | O_APPEND | O_CLOEXEC);
    if (s->fd < 0) {
        return -errno;
    }
    s->size = written;
    s->rewrites++;
    return rc;
}

static const struct ward_store_ops s_posix_store_ops = {
    .size = sp_size,
    .read = sp_read,
    .append = sp_append,
    .truncate = sp_truncate,
    .sync = sp_sync,
    .rewrite = sp_rewrite,
};

struct ward_store ward_store_posix(struct ward_store_posix *s)
{
    struct ward_store st = { .ops = &s_posix_store_ops, .ctx = s };

    return st;
}
