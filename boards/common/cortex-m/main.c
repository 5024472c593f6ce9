/*
 * ward on a Cortex-M board (cm_port.h): start the board, print the banner, bring up lwIP, run the
 * core's self-tests and this board's checks, and report the result.
 *
 * Under QEMU (CONFIG_WARD_SEMIHOSTING) main() returns the result, which becomes the
 * emulator's exit status: CM_EXIT_PASS or CM_EXIT_FAIL (a crash exits with
 * CM_EXIT_CRASH from the fault handlers). Without semihosting the board stays in the
 * main loop: lwIP's timers, the Ethernet controller, the agent's reporting.
 *
 * Order of the start-up: the entropy seed is rewritten (cm_entropy_init) before lwIP picks
 * its first port and before any boot id or handshake; an image that is not provisioned, or
 * whose seed is blank, says so and never reports.
 */
#include <stdbool.h>
#include <string.h>

#include <lwip/init.h>
#include <lwip/netif.h>
#include <lwip/timeouts.h>

#include "ward/base/config.h"
#include "ward/selftest.h"
#include "ward/version.h"
#include "app.h"
#include "board.h"
#include "checks.h"
#include "cm_port.h"
#include "clock.h"
#include "entropy.h"
#include "provision.h"
#include "scenario.h"
#include "uart.h"

#define CONSOLE_BAUD 115200u

static void print_selftest_line(void *ctx, const char *line)
{
    (void)ctx;
    cm_printf("selftest: %s\n", line);
}

static void print_board_line(void *ctx, const char *line)
{
    (void)ctx;
    cm_printf("board: %s\n", line);
}

/* Both suites print every result even after a failure; the return says whether all passed. */
static int run_tests(void)
{
    int failed = 0;

    if (ward_selftest_run(print_selftest_line, NULL, NULL) != 0) {
        failed = 1;
    }
    if (cm_checks_run(print_board_line, NULL, NULL) != 0) {
        failed = 1;
    }
    cm_printf("board: stack high-water mark %lu of %lu bytes; C heap %lu bytes used, "
              "%lu requests refused\n",
              (unsigned long)cm_stack_used(), (unsigned long)cm_stack_size(),
              (unsigned long)cm_heap_used(), (unsigned long)cm_heap_refusals());
    return failed ? CM_EXIT_FAIL : CM_EXIT_PASS;
}

/* The SysTick clock is 32 bits of milliseconds; the agent's clock must not wrap. */
static int64_t now_ms(void)
{
    static uint32_t s_last;
    static int64_t s_total;
    uint32_t ms = cm_clock_ms();

    s_total += (int64_t)(uint32_t)(ms - s_last);
    s_last = ms;
    return s_total;
}

static struct netif s_eth;
static bool s_eth_up;

__attribute__((noreturn)) static void main_loop(void)
{
    for (;;) {
        if (s_eth_up) {
            cm_eth_poll(&s_eth);
        }
        sys_check_timeouts();
        netif_poll_all();
        cm_scenario_step(now_ms());
        cm_app_poll(now_ms());
        __asm__ volatile("wfi"); /* SysTick wakes the core every millisecond */
    }
}

/* Four address bytes as lwIP's u32 in network byte order. */
static uint32_t net32(const uint8_t b[4])
{
    uint32_t v;

    memcpy(&v, b, sizeof(v));
    return v;
}

static void start_reporting(const struct cm_prov_view *pv)
{
    const struct cm_provision *p = pv->hdr;
    int rc = cm_eth_init(&s_eth, net32(p->ip), net32(p->netmask), net32(p->gateway));

    if (rc != 0) {
        cm_printf("ward: no " CM_NIC_NAME " (%d): reporting disabled\n", rc);
        return;
    }
    s_eth_up = true;
    cm_printf("ward: en0 %u.%u.%u.%u/%u.%u.%u.%u up\n", p->ip[0], p->ip[1], p->ip[2], p->ip[3],
              p->netmask[0], p->netmask[1], p->netmask[2], p->netmask[3]);
    if (cm_scenario_start(cm_app_hal()) == 0) {
        (void)cm_app_start(pv, &s_eth, now_ms());
    }
}

int main(void)
{
    char banner[160];
    struct cm_prov_view pv;
    bool provisioned;
    bool entropy_ok;
    int status = CM_EXIT_PASS;
    int rc;

    cm_clock_init();
    if (cm_uart_init(CONSOLE_BAUD) != 0) {
        return CM_EXIT_CRASH; /* no console to say so on */
    }
    rc = ward_banner_format(banner, sizeof(banner));
    if (rc < 0) {
        cm_printf("ward: cannot format the banner (error %d)\n", rc);
        return CM_EXIT_FAIL;
    }
    cm_puts(banner);

    /* Every mbedTLS allocation comes from the transport's static pool, never the C heap. */
    if (cm_tls_pool_init() != 0) {
        cm_printf("ward: cannot route mbedTLS to its static pool\n");
        return CM_EXIT_FAIL;
    }
    provisioned = cm_provision_get(&pv) == 0;
    if (!provisioned) {
        cm_printf("ward: not provisioned (no credentials, collector or seed in the "
                  "provisioning block): reporting disabled\n");
    }
    entropy_ok = cm_entropy_init(provisioned ? pv.hdr->nv_seed : NULL) == 0;
    lwip_init(); /* also brings up lo0 (LWIP_HAVE_LOOPIF) */

    if (IS_ENABLED(CONFIG_WARD_SELFTEST)) {
        status = run_tests();
    }
    if (provisioned && entropy_ok) {
        start_reporting(&pv);
    }
    if (IS_ENABLED(CONFIG_WARD_SEMIHOSTING)) {
        return status;
    }
    main_loop();
}
