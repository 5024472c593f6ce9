/*
 * ward-sim.elf: the sim backend and the lwIP NIC device on a Cortex-M board, a test image.
 *
 * Plays boards/sim/scenarios/failing-fan.json (compiled in by ward_sim_embed_scenario())
 * into a struct ward_hal, steps its virtual clock through the story and reads FAN3 through
 * the generic fan ops, one line per step; then sends a UDP datagram through lwIP's lo0 and
 * reads the lwIP NIC device's counters, through the generic NIC ops, before and after.
 * ctest (target_sim_scenario) checks the lines against the scenario's documented story.
 *
 * Exit status (semihosting): 0 when everything could be read and the NIC counted the
 * datagram exactly, 1 otherwise. The sim's pools and parse arena (defconfig) do not fit the
 * product's RAM budget, so only this image links them.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <lwip/init.h>
#include <lwip/netif.h>

#include "ward/base/config.h"
#include "ward/hal/hal.h"
#include "ward/hal/lwip_nic.h"
#include "ward/hal/sim.h"
#include "ward/hal/sim_impl.h"
#include "ward/version.h"
#include "ward_scenario_failing_fan.h"
#include "board.h"
#include "clock.h"
#include "loopback.h"
#include "uart.h"

#define CONSOLE_BAUD 115200u

/* Story points of failing-fan.json: before the bearing fails, while FAN3 slows, past its
 * minimum, after its tachometer fault, and later. */
static const uint32_t s_steps_ms[] = { 0u, 20000u, 30000u, 45000u, 60000u };

static struct ward_sim s_sim;
static struct ward_lwip_nic s_nics;
static struct ward_hal s_hal;

/* The fan channel labelled label: its device and channel. @return 0, -ENOENT. */
static int find_fan(const char *label, const struct ward_device **dev, unsigned *ch)
{
    struct ward_sensor_info info;

    for (unsigned d = 0; d < s_hal.n_fan; d++) {
        int n = ward_fan_count(s_hal.fan[d]);

        for (int c = 0; c < n; c++) {
            if (ward_fan_info(s_hal.fan[d], (unsigned)c, &info) == 0 &&
                strcmp(info.label, label) == 0) {
                *dev = s_hal.fan[d];
                *ch = (unsigned)c;
                return 0;
            }
        }
    }
    return -ENOENT;
}

/* Channels, other than skip, not OK or raising their alarm; -1 when one cannot be read. */
static int count_others_alarmed(const struct ward_device *skip_dev, unsigned skip_ch)
{
    int alarmed = 0;

    for (unsigned d = 0; d < s_hal.n_temp; d++) {
        int n = ward_temp_count(s_hal.temp[d]);

        for (int c = 0; c < n; c++) {
            struct ward_temp_reading r;

            if (ward_temp_read(s_hal.temp[d], (unsigned)c, &r) != 0) {
                return -1;
            }
            alarmed += r.alarm || r.mdeg_c.status != WARD_STATUS_OK;
        }
    }
    for (unsigned d = 0; d < s_hal.n_fan; d++) {
        int n = ward_fan_count(s_hal.fan[d]);

        for (int c = 0; c < n; c++) {
            struct ward_fan_reading r;

            if (s_hal.fan[d] == skip_dev && (unsigned)c == skip_ch) {
                continue;
            }
            if (ward_fan_read(s_hal.fan[d], (unsigned)c, &r) != 0) {
                return -1;
            }
            alarmed += r.alarm || r.rpm.status != WARD_STATUS_OK;
        }
    }
    return alarmed;
}

/* One line per story point: "sim: t=<ms> FAN3 rpm=<n|-> pwm=<n|-> status=<s> alarm=<0|1>
 * others_alarmed=<n>". @return 0, or -1 when a read failed. */
static int play_failing_fan(void)
{
    const struct ward_device *fan = NULL;
    unsigned ch = 0;

    if (find_fan("FAN3", &fan, &ch) != 0) {
        cm_printf("sim: FAIL: no fan labelled FAN3 in the HAL\n");
        return -1;
    }
    for (size_t i = 0; i < sizeof(s_steps_ms) / sizeof(s_steps_ms[0]); i++) {
        struct ward_fan_reading r;
        char rpm[12] = "-";
        char pwm[12] = "-";
        int others;

        ward_sim_set_time(&s_sim, s_steps_ms[i]);
        if (ward_fan_read(fan, ch, &r) != 0) {
            cm_printf("sim: FAIL: FAN3 cannot be read at %lu ms\n", (unsigned long)s_steps_ms[i]);
            return -1;
        }
        others = count_others_alarmed(fan, ch);
        if (others < 0) {
            cm_printf("sim: FAIL: a channel cannot be read at %lu ms\n",
                      (unsigned long)s_steps_ms[i]);
            return -1;
        }
        if (r.rpm.status == WARD_STATUS_OK) {
            snprintf(rpm, sizeof(rpm), "%ld", (long)r.rpm.value);
        }
        if (r.pwm_percent.status == WARD_STATUS_OK) {
            snprintf(pwm, sizeof(pwm), "%ld", (long)r.pwm_percent.value);
        }
        cm_printf("sim: t=%lu FAN3 rpm=%s pwm=%s status=%s alarm=%d others_alarmed=%d\n",
                  (unsigned long)s_steps_ms[i], rpm, pwm, ward_status_name(r.rpm.status),
                  r.alarm ? 1 : 0, others);
    }
    return 0;
}

/* Channel of the lwIP NIC device named name; -ENOENT. */
static int find_nic(const struct ward_device *dev, const char *name)
{
    struct ward_nic_info info;
    int n = ward_nic_count(dev);

    for (int c = 0; c < n; c++) {
        if (ward_nic_info(dev, (unsigned)c, &info) == 0 && strcmp(info.name, name) == 0) {
            return c;
        }
    }
    return -ENOENT;
}

static int64_t delta(const struct ward_nic_reading *a, const struct ward_nic_reading *b,
                     enum ward_nic_counter c)
{
    if (a->counter[c].status != WARD_STATUS_OK || b->counter[c].status != WARD_STATUS_OK) {
        return -1;
    }
    return b->counter[c].value - a->counter[c].value;
}

/*
 * The lwIP NIC device, reached through the HAL beside the sim's devices: its lo0 channel
 * must count one datagram each way, and the IP packet's bytes (lwIP's MIB2 octet counters
 * count the IP header, 20 bytes, the UDP header, 8, and the payload).
 * Prints "nic lo0: tx_packets +N rx_packets +N tx_bytes +N rx_bytes +N (payload P bytes)".
 */
static int check_lwip_nic(void)
{
    static const char msg[] = "ward sim image";
    const int64_t ip_len = 20 + 8 + (int64_t)(sizeof(msg) - 1);
    const struct ward_device *dev = &s_nics.dev;
    struct ward_nic_reading before;
    struct ward_nic_reading after;
    const char *why;
    int64_t d[4];
    bool in_hal = false;
    int ch;

    for (unsigned i = 0; i < s_hal.n_nic; i++) {
        in_hal = in_hal || s_hal.nic[i] == dev;
    }
    if (!in_hal) {
        cm_printf("nic: FAIL: the lwIP NIC device is not in the HAL\n");
        return -1;
    }
    ch = find_nic(dev, "lo0");
    if (ch < 0) {
        cm_printf("nic: FAIL: the lwIP NIC device has no lo0 channel\n");
        return -1;
    }
    if (ward_nic_read(dev, (unsigned)ch, &before) != 0) {
        cm_printf("nic: FAIL: lo0 cannot be read\n");
        return -1;
    }
    why = cm_udp_loopback(msg, (uint16_t)(sizeof(msg) - 1));
    if (why != NULL) {
        cm_printf("nic: FAIL: UDP through lo0: %s\n", why);
        return -1;
    }
    ward_lwip_nic_poll(&s_nics);
    if (ward_nic_read(dev, (unsigned)ch, &after) != 0) {
        cm_printf("nic: FAIL: lo0 cannot be read\n");
        return -1;
    }
    d[0] = delta(&before, &after, WARD_NIC_TX_PACKETS);
    d[1] = delta(&before, &after, WARD_NIC_RX_PACKETS);
    d[2] = delta(&before, &after, WARD_NIC_TX_BYTES);
    d[3] = delta(&before, &after, WARD_NIC_RX_BYTES);
    cm_printf("nic lo0: tx_packets +%ld rx_packets +%ld tx_bytes +%ld rx_bytes +%ld "
              "(payload %u bytes)\n",
              (long)d[0], (long)d[1], (long)d[2], (long)d[3], (unsigned)(sizeof(msg) - 1));
    if (d[0] != 1 || d[1] != 1 || d[2] != ip_len || d[3] != ip_len) {
        cm_printf("nic: FAIL: expected +1 packet and +%ld bytes each way\n", (long)ip_len);
        return -1;
    }
    return 0;
}

int main(void)
{
    char banner[160];
    char err[160];
    int failed = 0;
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
    lwip_init(); /* also brings up lo0 (LWIP_HAVE_LOOPIF) */

    memset(&s_hal, 0, sizeof(s_hal));
    rc = ward_sim_init(&s_sim, &s_hal, ward_scenario_failing_fan, ward_scenario_failing_fan_len,
                       err, sizeof(err));
    if (rc != 0) {
        cm_printf("sim: FAIL: %s (%d)\n", err, rc);
        return CM_EXIT_FAIL;
    }
    cm_printf("sim: scenario %s, %lu ms; %u temp, %u fan, %u nic devices; struct ward_sim "
              "%lu bytes, parse arena %lu bytes\n",
              ward_sim_name(&s_sim), (unsigned long)ward_sim_duration_ms(&s_sim),
              (unsigned)s_hal.n_temp, (unsigned)s_hal.n_fan, (unsigned)s_hal.n_nic,
              (unsigned long)sizeof(s_sim), (unsigned long)CONFIG_WARD_SIM_ARENA_SIZE);
    rc = ward_lwip_nic_init(&s_nics, &s_hal, NULL, 0);
    if (rc != 0) {
        cm_printf("nic: FAIL: ward_lwip_nic_init: %d\n", rc);
        return CM_EXIT_FAIL;
    }
    failed |= play_failing_fan() != 0;
    failed |= check_lwip_nic() != 0;
    cm_printf("board: stack high-water mark %lu of %lu bytes; C heap %lu bytes used, "
              "%lu requests refused\n",
              (unsigned long)cm_stack_used(), (unsigned long)cm_stack_size(),
              (unsigned long)cm_heap_used(), (unsigned long)cm_heap_refusals());
    failed |= cm_heap_refusals() != 0;
    cm_printf("sim: %s\n", failed ? "FAIL" : "done");
    return failed ? CM_EXIT_FAIL : CM_EXIT_PASS;
}
