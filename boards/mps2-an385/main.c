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
#include <mbedtls/memory_buffer_alloc.h>

#include "ward/config.h"
#include "ward/selftest.h"
#include "ward/version.h"
#include "board.h"
#include "checks.h"
#include "clock.h"
#include "uart.h"

#define CONSOLE_BAUD 115200u

/*
 * Every mbedTLS allocation (bignums, parsed certificates, TLS record buffers) comes from
 * this arena, never from the C heap. A TLS 1.2 client with 4 KiB records, P-256 and a
 * short certificate chain needs roughly 20-25 KiB at its peak.
 */
#define TLS_ARENA_SIZE (32u * 1024u)

static unsigned char s_tls_arena[TLS_ARENA_SIZE];

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

__attribute__((noreturn)) static void main_loop(void)
{
    for (;;) {
        sys_check_timeouts();
        netif_poll_all();
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

    mbedtls_memory_buffer_alloc_init(s_tls_arena, sizeof(s_tls_arena));
    lwip_init(); /* also brings up lo0 (LWIP_HAVE_LOOPIF) */

    if (IS_ENABLED(CONFIG_WARD_SELFTEST)) {
        status = run_tests();
    }
    if (IS_ENABLED(CONFIG_WARD_SEMIHOSTING)) {
        return status;
    }
    main_loop();
}
