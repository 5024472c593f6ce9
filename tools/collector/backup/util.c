#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "backup/util.h"

/* Per thread: the scheduled backup's thread and a CLI backup never share a flag. */
static _Thread_local const atomic_bool *s_stop;

void wbk_cancel_set(const atomic_bool *stop)
{
    s_stop = stop;
}

bool wbk_cancelled(void)
{
    return s_stop != NULL && atomic_load_explicit(s_stop, memory_order_relaxed);
}

int wbk_say(char *err, size_t cap, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    /* The line can quote what a backup holds (names, SQLite's error about a bad schema): only
     * printable ASCII leaves, anything else is '?'. */
    for (char *c = err; cap > 0 && *c != '\0'; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) {
            *c = '?';
        }
    }
    return rc;
}

int wbk_write_all(int fd, const void *p, size_t n)
{
    const unsigned char *b = p;

    while (n > 0) {
        ssize_t k = write(fd, b, n);

        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return k < 0 ? -errno : -EIO;
        }
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

ssize_t wbk_read_full(int fd, void *p, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t k = read(fd, (unsigned char *)p + got, n - got);

        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0) {
            return -errno;
        }
        if (k == 0) {
            break;
        }
        got += (size_t)k;
    }
    return (ssize_t)got;
}
