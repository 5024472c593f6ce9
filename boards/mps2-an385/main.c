/*
 * ward on the MPS2 AN385: start the board, print the banner, bring up lwIP, run the core's
 * self-tests and this board's checks, and report the result.
 *
 * Under QEMU (CONFIG_WARD_SEMIHOSTING) main() returns the result, which becomes the
 * emulator's exit status: AN385_EXIT_PASS or AN385_EXIT_FAIL (a crash exits with
 * AN385_EXIT_CRASH from the fault handlers). Without semihosting the board stays in the
 * main loop, serving lwIP's timers and loopback.
 */
#include <lwip/init.h>
#include <lwip/netif.h>
#include <lwip/timeouts.h>

#include "ward/base/config.h"
#include "ward/selftest.h"
#include "ward/version.h"
#include "app.h"
#include "board.h"
#include "checks.h"
#include "clock.h"
#include "uart.h"

#define CONSOLE_BAUD 115200u

static void print_selftest_line(void *ctx, const char *line)
{
    (void)ctx;
    an385_printf("selftest: %s\n", line);
}

static void print_board_line(void *ctx, const char *line)
{
    (void)ctx;
    an385_printf("board: %s\n", line);
}

/* Both suites print every result even after a failure; the return says whether all passed. */
static int run_tests(void)
{
    int failed = 0;

    if (ward_selftest_run(print_selftest_line, NULL, NULL) != 0) {
        failed = 1;
    }
    if (an385_checks_run(print_board_line, NULL, NULL) != 0) {
        failed = 1;
    }
    an385_printf("board: stack high-water mark %lu of %lu bytes; C heap %lu bytes used, "
                 "%lu requests refused\n",
                 (unsigned long)an385_stack_used(), (unsigned long)an385_stack_size(),
                 (unsigned long)an385_heap_used(), (unsigned long)an385_heap_refusals());
    return failed ? AN385_EXIT_FAIL : AN385_EXIT_PASS;
}

/* The SysTick clock is 32 bits of milliseconds; the agent's clock must not wrap. */
static int64_t now_ms(void)
{
    static uint32_t s_last;
    static int64_t s_total;
    uint32_t ms = an385_clock_ms();

    s_total += (int64_t)(uint32_t)(ms - s_last);
    s_last = ms;
    return s_total;
}

__attribute__((noreturn)) static void main_loop(void)
{
    for (;;) {
        sys_check_timeouts();
        netif_poll_all();
        an385_app_poll(now_ms());
        __asm__ volatile("wfi"); /* SysTick wakes the core every millisecond */
    }
}

int main(void)
{
    char banner[160];
    int status = AN385_EXIT_PASS;
    int rc;

    an385_clock_init();
    if (an385_uart_init(CONSOLE_BAUD) != 0) {
        return AN385_EXIT_CRASH; /* no console to say so on */
    }
    rc = ward_banner_format(banner, sizeof(banner));
    if (rc < 0) {
        an385_printf("ward: cannot format the banner (error %d)\n", rc);
        return AN385_EXIT_FAIL;
    }
    an385_puts(banner);

    /* Every mbedTLS allocation comes from the transport's static pool, never the C heap. */
    if (an385_tls_pool_init() != 0) {
        an385_printf("ward: cannot route mbedTLS to its static pool\n");
        return AN385_EXIT_FAIL;
    }
    lwip_init(); /* also brings up lo0 (LWIP_HAVE_LOOPIF) */

    if (IS_ENABLED(CONFIG_WARD_SELFTEST)) {
        status = run_tests();
    }
    /* No LAN9118 driver yet: the NIC device exposes lwIP's netifs as they are (lo0). */
    (void)an385_app_start(NULL, now_ms());
    if (IS_ENABLED(CONFIG_WARD_SEMIHOSTING)) {
        return status;
    }
    main_loop();
}
