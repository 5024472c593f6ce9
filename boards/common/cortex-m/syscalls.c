/*
 * The system calls newlib-nano expects from a bare-metal port. Only three do anything:
 * _write sends stdout and stderr to UART0, _sbrk hands out at most
 * CONFIG_WARD_HEAP_AT_START_SIZE bytes (0 on this board, so every malloc fails and is
 * counted), and _exit ends the run. Everything else fails with an errno, because there
 * are no files, processes or clocks behind them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#include "board.h"
#include "uart.h"

/* newlib declares these only while compiling itself; "used" keeps them through LTO, since newlib
 * (not LTO) calls them after the link-time optimiser has run. */
__attribute__((used)) int _close(int fd);
__attribute__((used)) int _fstat(int fd, struct stat *st);
__attribute__((used)) int _getpid(void);
__attribute__((used)) int _gettimeofday(struct timeval *tv, void *tz);
__attribute__((used)) int _isatty(int fd);
__attribute__((used)) int _kill(int pid, int sig);
__attribute__((used)) off_t _lseek(int fd, off_t offset, int whence);
__attribute__((used)) int _open(const char *path, int flags, ...);
__attribute__((used)) int _read(int fd, void *buf, size_t len);
__attribute__((used)) int _write(int fd, const void *buf, size_t len);
__attribute__((used)) void *_sbrk(ptrdiff_t incr);
__attribute__((used)) void __assert_func(const char *file, int line, const char *func,
                                         const char *expr);

/* From the board's linker script: the heap region, CONFIG_WARD_HEAP_AT_START_SIZE bytes long. */
extern char __ward_heap_start[];
extern char __ward_heap_end[];

static char *s_brk = __ward_heap_start;
static uint32_t s_refusals;

void *_sbrk(ptrdiff_t incr)
{
    char *prev = s_brk;
    ptrdiff_t room = __ward_heap_end - s_brk;
    ptrdiff_t used = s_brk - __ward_heap_start;

    if (incr > room || -incr > used) {
        s_refusals++;
        errno = ENOMEM;
        return (void *)-1;
    }
    s_brk += incr;
    return prev;
}

size_t cm_heap_used(void)
{
    return (size_t)(s_brk - __ward_heap_start);
}

uint32_t cm_heap_refusals(void)
{
    return s_refusals;
}

int _write(int fd, const void *buf, size_t len)
{
    if (fd != STDOUT_FILENO && fd != STDERR_FILENO) {
        errno = EBADF;
        return -1;
    }
    cm_uart_write(buf, len);
    return (int)len;
}

__attribute__((used)) void _exit(int status)
{
    cm_exit(status);
}

/* assert() in the libraries: report it like any other crash, not as a test failure. */
void __assert_func(const char *file, int line, const char *func, const char *expr)
{
    cm_panic("assertion \"%s\" failed in %s at %s:%d", expr, func != NULL ? func : "?", file, line);
}

int _read(int fd, void *buf, size_t len)
{
    (void)fd;
    (void)buf;
    (void)len;
    errno = ENOSYS;
    return -1;
}

int _close(int fd)
{
    (void)fd;
    errno = EBADF;
    return -1;
}

int _fstat(int fd, struct stat *st)
{
    (void)fd;
    (void)st;
    errno = ENOSYS;
    return -1;
}

int _isatty(int fd)
{
    /* The UART is a terminal; newlib asks to choose line buffering for stdout. */
    if (fd == STDOUT_FILENO || fd == STDERR_FILENO) {
        return 1;
    }
    errno = EBADF;
    return 0;
}

off_t _lseek(int fd, off_t offset, int whence)
{
    (void)fd;
    (void)offset;
    (void)whence;
    errno = ESPIPE;
    return -1;
}

int _open(const char *path, int flags, ...)
{
    (void)path;
    (void)flags;
    errno = ENOSYS;
    return -1;
}

int _getpid(void)
{
    return 1;
}

int _kill(int pid, int sig)
{
    /* Only raise() gets here (abort() among them); the default action ends the program. */
    if (pid == _getpid()) {
        cm_panic("signal %d raised (abort?)", sig);
    }
    errno = ESRCH;
    return -1;
}

int _gettimeofday(struct timeval *tv, void *tz)
{
    /* No real-time clock here; wall-clock time must come from the network. */
    (void)tv;
    (void)tz;
    errno = ENOSYS;
    return -1;
}
