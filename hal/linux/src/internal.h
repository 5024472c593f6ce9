/* What the Linux backend's files share; not an interface for anyone else. */
#ifndef WARD_HAL_LINUX_SRC_INTERNAL_H_
#define WARD_HAL_LINUX_SRC_INTERNAL_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ward/hal/linux_impl.h"

/* Bytes read from one sysfs value (numbers, words, labels); longer values are cut. */
#define LX_VALUE_MAX 128

/** root + rel into buf. @return 0 or -ENAMETOOLONG. */
int lx_path(const struct ward_linux_hal *lh, char *buf, size_t len, const char *rel);

/** Open a directory read-only. @return the fd or a negative errno. */
int lx_open_dir(int at_fd, const char *path);

/** Remember a directory fd for per-read opens. @return its index, or -ENOSPC (fd closed). */
int lx_dir_add(struct ward_linux_hal *lh, int fd);

/**
 * Open attribute name of dir_fd to probe it and, within the budget, keep it open in *fd
 * (-1 otherwise). @return 0 when it exists and can be read, -ENOENT when it does not exist,
 * another negative errno (-EACCES) when it exists but cannot be opened.
 */
int lx_attr_open(struct ward_linux_hal *lh, int dir_fd, const char *name, int *fd);

/**
 * Read an attribute's text into buf (NUL-terminated): pread at offset 0 on the kept *fd, or
 * openat(dir_fd, name) + read + close when *fd < 0. A file that disappeared closes *fd.
 * @return bytes read or a negative errno.
 */
ssize_t lx_attr_read(struct ward_linux_hal *lh, int dir_fd, int *fd, const char *name, char *buf,
                     size_t len);

/** lx_attr_read() then ward_linux_parse_i64(). @return 0 or a negative errno (-EBADMSG). */
int lx_attr_read_i64(struct ward_linux_hal *lh, int dir_fd, int *fd, const char *name,
                     int64_t *out);

/** Read a file once (discovery: names, labels, thresholds). @return bytes or -errno. */
ssize_t lx_read_once(int dir_fd, const char *name, char *buf, size_t len);

/** lx_read_once() then ward_linux_parse_i64(). */
int lx_read_once_i64(int dir_fd, const char *name, int64_t *out);

/** Close a kept fd and give its slot back to the budget. */
void lx_fd_close(struct ward_linux_hal *lh, int *fd);

/** The reading reason for a negative errno from a read. */
enum ward_reason lx_reason(int err);

/**
 * Remember that source (the first source_len bytes of path) could not be read: err is a
 * positive errno; a repeat of the same source and err only counts.
 */
void lx_problem(struct ward_linux_hal *lh, const char *path, size_t source_len, int err,
                unsigned count, const char *hint);

/* Reads /proc files line by line through a fixed buffer, with pread on a kept fd. */
struct lx_lines {
    int fd;
    off_t off;
    size_t len;
    size_t pos;
    bool eof;
    char buf[2048];
};

/** Start reading fd from offset 0. */
void lx_lines_begin(struct lx_lines *l, int fd);

/**
 * Next line without its newline; lines longer than the buffer are skipped.
 * @return 1 with *line and *len set, 0 at the end, or a negative errno.
 */
int lx_lines_next(struct lx_lines *l, const char **line, size_t *len);

/* Lists a directory with getdents64 into a fixed buffer: opendir() would allocate. */
struct lx_dir_iter {
    int fd;
    size_t len;
    size_t pos;
    bool eof;
    _Alignas(8) char buf[4096];
};

/** Start listing dir_fd from its first entry. */
void lx_dir_begin(struct lx_dir_iter *it, int dir_fd);

/** Next entry's name ("." and ".." skipped), or NULL at the end or on an error. */
const char *lx_dir_next(struct lx_dir_iter *it);

/** Sort n elements of size bytes in place (insertion sort: small n, no heap, stable). */
void lx_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

/* Discovery, one per source; each records its own problems and never fails init. */
void lx_hwmon_discover(struct ward_linux_hal *lh);
void lx_thermal_discover(struct ward_linux_hal *lh);
void lx_nic_discover(struct ward_linux_hal *lh);
void lx_host_discover(struct ward_linux_hal *lh);
void lx_fs_discover(struct ward_linux_hal *lh);

/* Reads, per source; each fills a status for every field and never fails. */
void lx_hwmon_temp_read(struct ward_linux_hal *lh, struct ward_linux_temp *t,
                        struct ward_temp_reading *out);
void lx_hwmon_fan_read(struct ward_linux_hal *lh, struct ward_linux_fan *f,
                       struct ward_fan_reading *out);
void lx_nic_read(struct ward_linux_hal *lh, struct ward_linux_nic *n, struct ward_nic_reading *out);
int lx_host_cpu(struct ward_linux_hal *lh, struct ward_host_cpu *out);
int lx_host_mem(struct ward_linux_hal *lh, struct ward_host_mem *out);
int lx_host_blk_read(struct ward_linux_hal *lh, unsigned i, struct ward_host_blk *out);
int lx_fs_read(struct ward_linux_hal *lh, unsigned i, struct ward_host_fs *out);
void lx_thermal_read(struct ward_linux_hal *lh, struct ward_linux_temp *t,
                     struct ward_temp_reading *out);

/** Make every temperature (or fan) id unique by suffixing repeats with "~2", "~3", ... */
void lx_ids_dedupe(struct ward_sensor_info *first, size_t stride, size_t n);

/* The devices' ops; dev->data is the struct ward_linux_hal. */
extern const struct ward_temp_ops lx_temp_ops;
extern const struct ward_fan_ops lx_fan_ops;
extern const struct ward_nic_ops lx_nic_ops;
extern const struct ward_host_ops lx_host_ops;
extern const struct ward_inventory_ops lx_inventory_ops;

#endif /* WARD_HAL_LINUX_SRC_INTERNAL_H_ */
