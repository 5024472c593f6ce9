/*
 * Fuzz the sim scenario parser (hal/sim): any input either loads or is refused with a
 * one-line error that leaves the HAL untouched. A scenario that loads is then read at
 * several times, and the promises the parser makes are checked: counters never decrease,
 * readings stay in their class's range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/hal/sim.h"
#include "ward/hal/sim_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ward_sim s_sim;

static const uint64_t s_times[] = { 0,         1, 999, 1000, 15000, 60000, 3600000, UINT64_MAX / 2,
                                    UINT64_MAX };

#define N_TIMES (sizeof(s_times) / sizeof(s_times[0]))

static void check_nics(const struct ward_hal *hal)
{
    struct ward_nic_reading prev[WARD_SIM_MAX_NICS];

    for (size_t t = 0; t < N_TIMES; t++) {
        ward_sim_set_time(&s_sim, s_times[t]);
        for (int i = 0; i < ward_nic_count(hal->nic[0]); i++) {
            struct ward_nic_reading r;

            if (ward_nic_read(hal->nic[0], (unsigned)i, &r) != 0) {
                abort();
            }
            for (int c = 0; c < WARD_NIC_COUNTER_COUNT && t > 0; c++) {
                bool both = r.counter[c].status == WARD_STATUS_OK &&
                            prev[i].counter[c].status == WARD_STATUS_OK;

                if (both && r.counter[c].value < prev[i].counter[c].value) {
                    abort(); /* a counter went backwards */
                }
            }
            prev[i] = r;
        }
    }
}

static void check_others(const struct ward_hal *hal)
{
    for (size_t t = 0; t < N_TIMES; t++) {
        ward_sim_set_time(&s_sim, s_times[t]);
        for (unsigned i = 0; hal->temp[0] != NULL && i < (unsigned)ward_temp_count(hal->temp[0]);
             i++) {
            struct ward_temp_reading r;

            if (ward_temp_read(hal->temp[0], i, &r) != 0 || r.mdeg_c.value < -273150) {
                abort();
            }
        }
        for (unsigned i = 0; hal->fan[0] != NULL && i < (unsigned)ward_fan_count(hal->fan[0]);
             i++) {
            struct ward_fan_reading r;

            if (ward_fan_read(hal->fan[0], i, &r) != 0 || r.rpm.value < 0 ||
                r.pwm_percent.value > 100) {
                abort();
            }
        }
        for (unsigned i = 0; hal->disk[0] != NULL && i < (unsigned)ward_disk_count(hal->disk[0]);
             i++) {
            struct ward_smart s;

            if (ward_disk_smart(hal->disk[0], i, &s) != 0 ||
                (s.status != WARD_STATUS_OK && s.verdict != WARD_SMART_UNKNOWN)) {
                abort();
            }
        }
        if (hal->host != NULL) {
            struct ward_host_cpu c;
            struct ward_host_mem m;

            if (ward_host_cpu(hal->host, &c) != 0) {
                abort();
            }
            if (ward_host_mem(hal->host, &m) != 0 || m.available > m.total) {
                abort();
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ward_hal hal;
    struct ward_hal empty;
    char err[160];
    int rc;

    memset(&hal, 0, sizeof(hal));
    memset(&empty, 0, sizeof(empty));
    rc = ward_sim_init(&s_sim, &hal, (const char *)data, size, err, sizeof(err));
    if (rc != 0) {
        /* refused: a one-line message, nothing added to the HAL */
        if (err[0] == '\0' || strchr(err, '\n') != NULL || memcmp(&hal, &empty, sizeof(hal)) != 0) {
            abort();
        }
        return 0;
    }
    if (hal.nic[0] != NULL) {
        check_nics(&hal);
    }
    check_others(&hal);
    return 0;
}
