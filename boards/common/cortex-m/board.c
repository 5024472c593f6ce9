#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ward/base/config.h"
#include "board.h"
#include "semihost.h"
#include "uart.h"

#define PRINT_LINE_MAX 160

void cm_uart_write(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n') {
            cm_uart_putc('\r');
        }
        cm_uart_putc(buf[i]);
    }
}

void cm_puts(const char *line)
{
    cm_uart_write(line, strlen(line));
    cm_uart_write("\n", 1);
}

__attribute__((format(printf, 2, 0))) static void vprint(const char *prefix, const char *fmt,
                                                         va_list ap)
{
    char buf[PRINT_LINE_MAX];
    int n;

    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    if (n < 0) {
        cm_puts("(unprintable message)");
        return;
    }
    if (prefix != NULL) {
        cm_uart_write(prefix, strlen(prefix));
    }
    cm_uart_write(buf, strlen(buf));
}

void cm_vprintf(const char *fmt, va_list ap)
{
    vprint(NULL, fmt, ap);
}

void cm_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprint(NULL, fmt, ap);
    va_end(ap);
}

void cm_exit(int status)
{
    if (IS_ENABLED(CONFIG_WARD_SEMIHOSTING)) {
        cm_semihost_exit(status);
    }
    __asm__ volatile("cpsid i");
    for (;;) {
        __asm__ volatile("wfi");
    }
}

void cm_panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprint("panic: ", fmt, ap);
    va_end(ap);
    cm_uart_write("\n", 1);
    cm_exit(CM_EXIT_CRASH);
}
