/* The board half of lwIP's port: time, diagnostics, assertions and random numbers. */
#include <stdarg.h>
#include <stdbool.h>

#include <lwip/arch.h>
#include <lwip/sys.h>

#include "board.h"
#include "clock.h"
#include "entropy.h"

u32_t sys_now(void)
{
    return cm_clock_ms();
}

void ward_lwip_port_diag(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cm_vprintf(fmt, ap);
    va_end(ap);
}

void ward_lwip_port_assert(const char *msg, const char *file, int line)
{
    cm_panic("lwIP assertion \"%s\" failed at %s:%d", msg, file, line);
}

uint32_t ward_lwip_port_rand(void)
{
    static bool s_warned;
    uint32_t v;

    if (cm_entropy_read(&v, sizeof(v)) == 0) {
        return v;
    }
    if (!s_warned) {
        s_warned = true;
        cm_puts("lwip: no entropy source on this board: ephemeral ports start at a fixed "
                "value");
    }
    return 0;
}
