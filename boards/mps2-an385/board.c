#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ward/base/config.h"
#include "board.h"
#include "semihost.h"
#include "uart.h"

#define PRINT_LINE_MAX 160

void an385_puts(const char *line)
{
    an385_uart_write(line, strlen(line));
    an385_uart_write("\n", 1);
}

__attribute__((format(printf, 2, 0))) static void vprint(const char *prefix, const char *fmt,
                                                         va_list ap)
{
    char buf[PRINT_LINE_MAX];
    int n;

    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    if (n < 0) {
        an385_puts("(unprintable message)");
        return;
    }
    if (prefix != NULL) {
        an385_uart_write(prefix, strlen(prefix));
    }
    an385_uart_write(buf, strlen(buf));
}

void an385_vprintf(const char *fmt, va_list ap)
{
    vprint(NULL, fmt, ap);
}

void an385_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprint(NULL, fmt, ap);
    va_end(ap);
}

void an385_exit(int status)
{
    if (IS_ENABLED(CONFIG_WARD_SEMIHOSTING)) {
        an385_semihost_exit(status);
    }
    __asm__ volatile("cpsid i");
    for (;;) {
        __asm__ volatile("wfi");
    }
}

void an385_panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprint("panic: ", fmt, ap);
    va_end(ap);
    an385_uart_write("\n", 1);
    an385_exit(AN385_EXIT_CRASH);
}
